/*
 * delay_source.c -- a source of upstream results that answers later, for
 * the test daemon only (build/tests/rblmuxd-test; bin/rblmuxd does not
 * contain it).
 *
 * It stands in for every upstream: a query whose answer state misses
 * only upstream results is parked, and after a delay on a libev timer
 * each of those results is delivered through pending_complete() (an
 * upstream with code: lines gets the same result for each of them).
 * RBLMUX_TEST_UPSTREAM="ADDR=RESULT[@MS],..." says what the upstream
 * answers for an IPv4 subject ADDR ("*": every other subject): RESULT
 * is a code (an IPv4 address: listed), "none" (not listed) or "never"
 * (no answer: the query waits for its deadline); MS is the delay in
 * milliseconds (default 0). A subject named nowhere is not listed, at
 * once. RBLMUX_TEST_DEADLINE_MS (default 1000) is the deadline.
 * Registered from a constructor, before main() runs, when
 * RBLMUX_TEST_UPSTREAM is set.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "answer.h"
#include "err.h"
#include "pending.h"
#include "upstream.h"
#include "view.h"

#define MAX_RULES	16
#define RES_NONE	0
#define RES_NEVER	1
#define RES_LISTED	2

struct held {
	ev_timer		 t;		/* first: the callback casts */
	struct pending_query	*pq;
	struct answer_result	 r;
};

static struct rule {
	uint32_t	 addr;		/* host order */
	bool		 any;		/* "*" */
	int		 res;		/* RES_* */
	uint32_t	 code;		/* RES_LISTED, host order */
	double		 delay;		/* seconds */
} rules[MAX_RULES];
static size_t nrules;
static double deadline = 1.;
static struct ev_loop *the_loop;

/* wants - the deadline when every missing result is an upstream's */
static double
wants(void *arg, const struct view *v, const struct answer_state *st)
{
	(void)arg;
	return upstream_only_missing(v, st) ? deadline : 0;
}

/* ready_cb - the delay is over: deliver every missing result */
static void
ready_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct held *h = (struct held *)w;
	struct pending_query *pq = h->pq;
	struct answer_result r = h->r;
	uint64_t missing = pending_missing(pq);
	size_t i;

	*pending_source_data(pq) = NULL;
	free(h);
	/* the last one answers and frees pq */
	for (i = 0; missing != 0; i++, missing >>= 1)
		if (missing & 1)
			pending_complete(pq, i, &r);
	(void)loop;
	(void)revents;
}

/* find - the rule for subject s, or NULL */
static const struct rule *
find(const struct subject *s)
{
	size_t i;

	for (i = 0; i < nrules; i++)
		if (s->kind == SUBJ_IP4 && !rules[i].any &&
		    rules[i].addr == s->ip4)
			return &rules[i];
	for (i = 0; i < nrules; i++)
		if (rules[i].any)
			return &rules[i];
	return NULL;
}

/* start - deliver the subject's upstream results after its delay */
static int
start(void *arg, struct ev_loop *loop, struct pending_query *pq,
    const struct view *v, const struct answer_state *st,
    const struct subject *s)
{
	static const struct rule none = { 0, true, RES_NONE, 0, 0 };
	const struct rule *ru = find(s);
	struct held *h;

	(void)arg;
	(void)v;
	(void)st;
	if (ru == NULL)
		ru = &none;
	the_loop = loop;
	if (ru->res == RES_NEVER)
		return 0;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return RBLMUX_ENOMEM;
	h->pq = pq;
	h->r.ttl = 300;
	if (ru->res == RES_LISTED) {
		h->r.status = ANSWER_RES_LISTED;
		h->r.a[0] = ru->code;
		h->r.na = 1;
		h->r.txt = "listed upstream";
		h->r.txt_len = strlen(h->r.txt);
	} else
		h->r.status = ANSWER_RES_NOT_LISTED;
	*pending_source_data(pq) = h;
	ev_timer_init(&h->t, ready_cb, ru->delay, 0.);
	ev_timer_start(loop, &h->t);
	return 0;
}

/* cancel - the query was answered without us */
static void
cancel(void *arg, struct pending_query *pq)
{
	struct held *h = *pending_source_data(pq);

	(void)arg;
	if (h == NULL)
		return;
	ev_timer_stop(the_loop, &h->t);
	free(h);
	*pending_source_data(pq) = NULL;
}

static const struct pending_source source = { NULL, wants, start, cancel,
    NULL };

/* parse_rule - "ADDR=RESULT[@MS]" into *ru; false when malformed */
static bool
parse_rule(char *tok, struct rule *ru)
{
	char *eq = strchr(tok, '='), *at;
	struct in_addr in;

	if (eq == NULL)
		return false;
	*eq++ = '\0';
	memset(ru, 0, sizeof(*ru));
	if ((at = strchr(eq, '@')) != NULL) {
		*at++ = '\0';
		ru->delay = atof(at) / 1000.;
	}
	if (strcmp(tok, "*") == 0)
		ru->any = true;
	else if (inet_pton(AF_INET, tok, &in) == 1)
		ru->addr = ntohl(in.s_addr);
	else
		return false;
	if (strcmp(eq, "none") == 0)
		ru->res = RES_NONE;
	else if (strcmp(eq, "never") == 0)
		ru->res = RES_NEVER;
	else if (inet_pton(AF_INET, eq, &in) == 1) {
		ru->res = RES_LISTED;
		ru->code = ntohl(in.s_addr);
	} else
		return false;
	return true;
}

void	delay_source_init(void) __attribute__((constructor));

/* delay_source_init - read the environment and register */
void
delay_source_init(void)
{
	const char *env = getenv("RBLMUX_TEST_UPSTREAM");
	const char *dl = getenv("RBLMUX_TEST_DEADLINE_MS");
	char buf[1024], *tok, *save = NULL;

	if (dl != NULL)
		deadline = atof(dl) / 1000.;
	if (env == NULL || strlen(env) >= sizeof(buf))
		return;
	strcpy(buf, env);
	for (tok = strtok_r(buf, ",", &save); tok != NULL &&
	    nrules < MAX_RULES; tok = strtok_r(NULL, ",", &save))
		if (parse_rule(tok, &rules[nrules]))
			nrules++;
	pending_set_source(&source);
}
