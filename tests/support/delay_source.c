/*
 * delay_source.c -- a source that answers later, for the test daemon
 * only (build/tests/rblmuxd-test; bin/rblmuxd does not contain it).
 *
 * RBLMUX_TEST_DELAY="ZONE=MS[,ZONE=MS...]" holds every query for a
 * listed zone for MS milliseconds on a libev timer; then the query is
 * answered from the zone's lists as usual. RBLMUX_TEST_DEADLINE_MS
 * (default 1000) is the deadline: a query still held then is answered
 * as if the delayed lists contributed nothing -- NXDOMAIN with the
 * zone's SOA. Registered from a constructor, before main() runs.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ev.h>

#include "answer.h"
#include "dnsmsg.h"
#include "err.h"
#include "pending.h"
#include "view.h"

#define MAX_ZONES	8

struct held {
	ev_timer		 t;		/* first: the callback casts */
	struct pending_query	*pq;
};

static struct {
	char		 zone[DNS_MAXNAME + 1];
	double		 delay;			/* seconds */
} zones[MAX_ZONES];
static size_t nzones;
static double deadline = 1.;

/* wants - the deadline when q's zone is delayed, else 0 */
static double
wants(void *arg, const struct view *v, const struct dns_query *q)
{
	const struct vzone *z = answer_find_zone(v, q);
	size_t i;

	if (z == NULL)
		return 0;
	for (i = 0; i < nzones; i++)
		if (strcasecmp(zones[i].zone, z->name) == 0)
			return deadline;
	(void)arg;
	return 0;
}

/* ready_cb - the delay is over: the query has its answer */
static void
ready_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct held *h = (struct held *)w;
	struct pending_query *pq = h->pq;

	*pending_source_data(pq) = NULL;
	free(h);
	pending_ready(pq);
	(void)loop;
	(void)revents;
}

static struct ev_loop *the_loop;

/* start - hold the query for its zone's delay on a timer */
static int
start(void *arg, struct ev_loop *loop, struct pending_query *pq,
    const struct view *v, const struct dns_query *q)
{
	const struct vzone *z = answer_find_zone(v, q);
	struct held *h;
	double delay = 0;
	size_t i;

	for (i = 0; z != NULL && i < nzones; i++)
		if (strcasecmp(zones[i].zone, z->name) == 0)
			delay = zones[i].delay;
	if ((h = malloc(sizeof(*h))) == NULL)
		return RBLMUX_ENOMEM;
	the_loop = loop;
	h->pq = pq;
	*pending_source_data(pq) = h;
	ev_timer_init(&h->t, ready_cb, delay, 0.);
	ev_timer_start(loop, &h->t);
	(void)arg;
	return 0;
}

/* cancel - the query was answered without us */
static void
cancel(void *arg, struct pending_query *pq)
{
	struct held *h = *pending_source_data(pq);

	if (h == NULL)
		return;
	ev_timer_stop(the_loop, &h->t);
	free(h);
	*pending_source_data(pq) = NULL;
	(void)arg;
}

/* answer_cb - as usual, or NXDOMAIN with the SOA when cut short */
static size_t
answer_cb(void *arg, const struct view *v, const struct dns_query *q,
    const uint8_t *pkt, size_t pktlen, time_t now, bool complete,
    uint8_t *out, size_t cap, size_t limit, int *rcode)
{
	const struct vzone *z = answer_find_zone(v, q);
	struct dns_writer w;

	(void)arg;
	if (complete || z == NULL)
		return answer_query(v, q, pkt, pktlen, now, out, cap, limit,
		    rcode);
	*rcode = DNS_RCODE_NXDOMAIN;
	if (dnsmsg_writer_init(&w, out, cap, limit, q, pkt,
	    v->conf->server.edns_buffer_size) != 0)
		return 0;
	dnsmsg_add_rr(&w, DNS_SEC_AUTHORITY, q->nlabels - z->apex_labels,
	    DNS_TYPE_SOA, z->neg_ttl, z->soa_rdata, z->soa_rdlen);
	return dnsmsg_finish(&w, DNS_RCODE_NXDOMAIN, true);
}

static const struct pending_source source = {
	wants, start, cancel, answer_cb, NULL
};

void	delay_source_init(void) __attribute__((constructor));

/* delay_source_init - read the environment and register */
void
delay_source_init(void)
{
	const char *env = getenv("RBLMUX_TEST_DELAY");
	const char *dl = getenv("RBLMUX_TEST_DEADLINE_MS");
	char buf[1024], *tok, *save = NULL, *eq;

	if (dl != NULL)
		deadline = atof(dl) / 1000.;
	if (env == NULL || strlen(env) >= sizeof(buf))
		return;
	strcpy(buf, env);
	for (tok = strtok_r(buf, ",", &save); tok != NULL &&
	    nzones < MAX_ZONES; tok = strtok_r(NULL, ",", &save)) {
		if ((eq = strchr(tok, '=')) == NULL ||
		    (size_t)(eq - tok) > DNS_MAXNAME)
			continue;
		memcpy(zones[nzones].zone, tok, (size_t)(eq - tok));
		zones[nzones].zone[eq - tok] = '\0';
		zones[nzones].delay = atof(eq + 1) / 1000.;
		nzones++;
	}
	pending_set_source(&source);
}
