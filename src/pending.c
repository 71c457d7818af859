/*
 * pending.c -- parked queries: their answer states and packet copies, a
 * deadline timer each, the remote results filled in as they come, and
 * the answer through srv_reply() once none is missing or time is up.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>

#include "answer.h"
#include "dnsmsg.h"
#include "err.h"
#include "pending.h"
#include "query.h"
#include "stats.h"
#include "view.h"

struct pending_query {
	ev_timer		 deadline;	/* first: the callback casts */
	struct pending		*p;
	struct pending_query	*prev, *next;
	struct view		*view;		/* referenced */
	struct srv_addr		 to;
	size_t			 limit;
	void			*src_data;	/* the source's */
	struct answer_state	 st;		/* what is known so far */
	struct dns_query	 q;		/* the question, parsed */
	uint8_t			 pkt[];		/* the message up to the end
						   of its question */
};

struct pending {
	struct ev_loop		*loop;
	struct srv		*srv;
	struct stats		*st;
	struct rrl		*rrl;		/* UDP answers, or NULL */
	unsigned		 max;
	unsigned		 n;
	bool			 stopping;
	struct pending_query	*head;
	uint8_t			 out[DNS_MAXMSG];	/* one answer */
};

const struct pending_source *pending_source;

static void	deadline_cb(struct ev_loop *, ev_timer *, int);

/* pending_set_source - the one source that parks queries */
void
pending_set_source(const struct pending_source *src)
{
	pending_source = src;
}

/* pending_new - an empty set of parked queries */
struct pending *
pending_new(struct ev_loop *loop, struct srv *s, struct stats *st,
    unsigned max)
{
	struct pending *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->loop = loop;
	p->srv = s;
	p->st = st;
	p->max = max;
	return p;
}

/* pending_set_rrl - the rate limiter of UDP answers */
void
pending_set_rrl(struct pending *p, struct rrl *r)
{
	p->rrl = r;
}

/* pending_set_max - a new cap */
void
pending_set_max(struct pending *p, unsigned max)
{
	p->max = max;
}

/* release - take pq off the list, stop its timer, release what it holds */
static void
release(struct pending_query *pq)
{
	struct pending *p = pq->p;

	ev_timer_stop(p->loop, &pq->deadline);
	if (pq->prev != NULL)
		pq->prev->next = pq->next;
	else
		p->head = pq->next;
	if (pq->next != NULL)
		pq->next->prev = pq->prev;
	p->n--;
	p->st->pending_now--;
	view_unref(pq->view);
	free(pq);
}

/*
 * answer - write pq's answer from its view and state (a result still
 * missing contributes nothing), send it, count it, release pq
 */
static void
answer(struct pending_query *pq)
{
	struct pending *p = pq->p;
	const struct pending_source *src = pending_source;
	size_t n;
	int rcode = DNS_RCODE_SERVFAIL;

	if (pq->st.missing != 0 && src->cancel != NULL)
		src->cancel(src->arg, pq);
	n = answer_write(pq->view, &pq->q, pq->pkt, pq->q.question_end,
	    &pq->st, NULL, p->out, sizeof(p->out), pq->limit, &rcode);
	if (!pq->to.tcp)
		n = query_limit(p->rrl, p->st, (struct sockaddr *)&pq->to.peer,
		    query_zone(pq->view, &pq->st), p->out, n);
	query_count(p->st, p->out, n, rcode);
	p->st->pending_answered++;
	if (srv_reply(p->srv, &pq->to, p->out, n) == RBLMUX_ENOENT)
		p->st->pending_gone++;
	release(pq);
}

/* deadline_cb - time is up: answer with what is known */
static void
deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pending_query *pq = (struct pending_query *)w;

	pq->p->st->pending_expired++;
	answer(pq);
	(void)loop;
	(void)revents;
}

/* pending_park - keep a query until its source is ready */
int
pending_park(struct pending *p, struct view *v, const struct answer_state *st,
    const struct subject *s, const struct dns_query *q, const uint8_t *msg,
    const struct srv_origin *from, size_t limit, double wait)
{
	const struct pending_source *src = pending_source;
	struct pending_query *pq;

	if (p == NULL || p->stopping || src == NULL)
		return RBLMUX_EINVAL;
	if (p->n >= p->max) {
		p->st->pending_exceeded++;
		return RBLMUX_ERANGE;
	}
	/* the rest (additional records, EDNS options) is never read again */
	if ((pq = malloc(sizeof(*pq) + q->question_end)) == NULL)
		return RBLMUX_ENOMEM;
	memset(pq, 0, sizeof(*pq));
	pq->p = p;
	pq->q = *q;
	memcpy(pq->pkt, msg, q->question_end);
	pq->limit = limit;
	pq->st = *st;
	srv_origin_save(from, &pq->to);
	if (src->start(src->arg, p->loop, pq, v, st, s) != 0) {
		free(pq);
		return RBLMUX_EIO;
	}
	view_ref(v);
	pq->view = v;
	ev_timer_init(&pq->deadline, deadline_cb, wait, 0.);
	ev_timer_start(p->loop, &pq->deadline);
	pq->next = p->head;
	if (p->head != NULL)
		p->head->prev = pq;
	p->head = pq;
	p->n++;
	p->st->pending_now++;
	p->st->pending_parked++;
	if (p->n > p->st->pending_peak)
		p->st->pending_peak = p->n;
	return 0;
}

/* pending_complete - one remote result; answer once none is missing */
int
pending_complete(struct pending_query *pq, size_t i,
    const struct answer_result *r)
{
	int rc = answer_complete(&pq->st, i, r);

	if (rc == 0 && pq->st.missing == 0)
		answer(pq);
	return rc;
}

uint64_t
pending_missing(const struct pending_query *pq)
{
	return pq->st.missing;
}

void **
pending_source_data(struct pending_query *pq)
{
	return &pq->src_data;
}

uint16_t
pending_qtype(const struct pending_query *pq)
{
	return pq->q.qtype;
}

unsigned
pending_count(const struct pending *p)
{
	return p == NULL ? 0 : p->n;
}

/* pending_stop - answer everything now, park nothing more */
void
pending_stop(struct pending *p)
{
	if (p == NULL)
		return;
	p->stopping = true;
	while (p->head != NULL)
		answer(p->head);
}

/* pending_free - drop whatever is still parked */
void
pending_free(struct pending *p)
{
	const struct pending_source *src = pending_source;

	if (p == NULL)
		return;
	while (p->head != NULL) {
		if (src != NULL && src->cancel != NULL)
			src->cancel(src->arg, p->head);
		release(p->head);
	}
	free(p);
}
