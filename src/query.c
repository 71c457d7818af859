/*
 * query.c -- from a datagram or TCP message to a reply.
 *
 * The ladder (after Unbound's worker_check_request): access control
 * (deny = silence, refuse = REFUSED), then the wire parser (drop
 * responses and garbage silently, FORMERR/NOTIMP/BADVERS as RCODEs), then
 * the answer -- now, or later when a source must be waited for (the
 * query is parked, pending.h). A UDP reply, now or later, is charged to
 * the loop's rate limiter before it is sent (rrl.h: dropped or
 * truncated over rate-limit). Malformed input never logs above debug
 * level.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "acl.h"
#include "answer.h"
#include "dnsmsg.h"
#include "err.h"
#include "log.h"
#include "pending.h"
#include "query.h"
#include "rrl.h"
#include "stats.h"
#include "view.h"
#include "xfr.h"

/* query_count - tally the reply we are about to send */
void
query_count(struct stats *st, const uint8_t *out, size_t len, int rcode)
{
	if (len < DNS_HDRLEN)
		return;
	if (rcode == DNS_RCODE_BADVERS)
		st->badvers++;
	else
		st->rcode[rcode & 15]++;
	if (out[2] & 0x02)
		st->truncated++;
	else if (rcode == DNS_RCODE_NOERROR && (out[6] | out[7]) != 0)
		st->answers_listed++;
}

/* query_limit - response rate limiting of one UDP reply */
size_t
query_limit(struct rrl *r, struct stats *st, const struct sockaddr *peer,
    const char *zone, uint8_t *out, size_t n)
{
	struct timespec ts;
	uint64_t now_ms;

	if (r == NULL || !rrl_enabled(r) || n < DNS_HDRLEN)
		return n;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	switch (rrl_check(r, peer, rrl_classify(out, n), zone, now_ms)) {
	case RRL_DROP:
		st->rrl_dropped++;
		return 0;
	case RRL_SLIP:
		st->rrl_slipped++;
		return rrl_slip_reply(out, n);
	default:
		return n;
	}
}

/* query_zone - the name of the zone st was decided in, or NULL */
const char *
query_zone(const struct view *v, const struct answer_state *st)
{
	return st->kind == ANSWER_REFUSED || st->zone >= v->nzones ? NULL :
	    v->zones[st->zone].name;
}

/* query_log_allow - the per-query log rate limiter */
bool
query_log_allow(struct query_loglimit *ll, time_t now, unsigned *skipped)
{
	*skipped = 0;
	if (now != ll->second) {
		*skipped = ll->skipped;
		ll->second = now;
		ll->lines = ll->skipped = 0;
	}
	if (ll->lines++ >= QUERY_LOG_PER_SEC) {
		ll->skipped++;
		return false;
	}
	return true;
}

/*
 * log_query - per-query debug line, at most QUERY_LOG_PER_SEC a second
 * so that a flood cannot turn into a log flood.
 */
static void
log_query(struct query_loglimit *ll, time_t now, const struct dns_query *q,
    int rcode, size_t n, bool tcp)
{
	char name[DNS_MAXNAME + 1];
	size_t len = 0;
	unsigned i, l, skipped;
	bool ok = query_log_allow(ll, now, &skipped);

	if (skipped > 0)
		log_debug("%u query log lines skipped", skipped);
	if (!ok)
		return;
	for (i = 0; i < q->nlabels; i++) {
		const uint8_t *p = dnsmsg_label(q, i, &l);

		for (unsigned j = 0; j < l && len < sizeof(name) - 2; j++)
			name[len++] = p[j] > 32 && p[j] < 127 ? (char)p[j] : '?';
		name[len++] = '.';
	}
	name[len] = '\0';
	log_debug("query %s type %u class %u: rcode %d, %zu bytes%s",
	    len ? name : ".", q->qtype, q->qclass, rcode, n, tcp ? ", tcp" : "");
}

/* query_handle - answer one message (srv_handler_fn) */
size_t
query_handle(void *arg, const uint8_t *msg, size_t len,
    const struct sockaddr *peer, bool tcp, const struct srv_origin *from,
    uint8_t *out, size_t cap)
{
	struct query_ctx *ctx = arg;
	const struct conf_server *cs = &ctx->view->conf->server;
	struct stats *st = ctx->st;
	struct dns_query q;
	struct answer_state ast;
	struct answer_work wk;
	enum conf_acl_action act;
	size_t limit, n;
	double wait;
	int rc, rcode;
	time_t now;

	if (tcp)
		st->queries_tcp++;
	else
		st->queries_udp++;

	act = acl_check(ctx->view->acl, peer);
	if (act == ACL_DENY) {
		st->acl_dropped++;
		return 0;
	}
	rc = dnsmsg_parse_query(msg, len, &q);
	if (rc == DNSMSG_DROP) {
		st->dropped++;
		return 0;
	}
	if (act == ACL_REFUSE) {
		st->acl_refused++;
		rc = DNS_RCODE_REFUSED;
	}
	/* zone transfers (an IXFR's SOA reads as FORMERR to the parser) */
	if (xfr_main != NULL && (rc == DNSMSG_OK ||
	    rc == DNS_RCODE_FORMERR) && q.question_end > 0 &&
	    (q.qtype == DNS_TYPE_AXFR || q.qtype == DNS_TYPE_IXFR)) {
		n = xfr_query(xfr_main, ctx->view, &q, rc, msg, len, peer,
		    tcp, from, out, cap, st);
		/* over UDP an IXFR is answered at once (its SOA) */
		return tcp || n > cap ? n :
		    query_limit(ctx->rrl, st, peer, NULL, out, n);
	}
	if (rc != DNSMSG_OK) {
		n = dnsmsg_error_reply(msg, len, &q, rc, out, cap);
		if (!tcp)
			n = query_limit(ctx->rrl, st, peer, NULL, out, n);
		query_count(st, out, n, rc);
		return n;
	}

	/* RFC 6891 6.2.3-6.2.5: below 512 counts as 512; we cap at ours */
	limit = tcp ? cap : dnsmsg_udp_limit(&q, cs->edns_buffer_size);
	if (limit > cap)
		limit = cap;

	now = time(NULL);
	/*
	 * Remote results missing (never for an allowlisted subject or a
	 * test point) and a source that provides them: park the query with
	 * its state; over max-pending drop it, as Unbound does. Else the
	 * missing results contribute nothing.
	 */
	if (answer_decide(ctx->view, &q, now, &ast, &wk) != 0 &&
	    pending_source != NULL && (pending_source->fill == NULL ||
	    pending_source->fill(pending_source->arg, ctx->view, &ast,
	    &wk.s, q.qtype, now) != 0) && (wait = pending_source->wants(
	    pending_source->arg, ctx->view, &ast)) > 0) {
		rc = pending_park(ctx->pend, ctx->view, &ast, &wk.s, &q, msg,
		    from, limit, wait);
		if (rc == 0)
			return SRV_PARKED;
		if (rc == RBLMUX_ERANGE)
			return 0;
	}
	n = answer_write(ctx->view, &q, msg, len, &ast, &wk, out, cap, limit,
	    &rcode);
	if (!tcp)
		n = query_limit(ctx->rrl, st, peer, query_zone(ctx->view, &ast),
		    out, n);
	query_count(st, out, n, rcode);
	if (cs->log_queries && log_getverbose() > 0)
		log_query(&ctx->loglimit, now, &q, rcode, n, tcp);
	return n;
}

/* query_accept - keep denied clients off the TCP slots (srv_accept_fn) */
bool
query_accept(void *arg, const struct sockaddr *peer)
{
	struct query_ctx *ctx = arg;

	return acl_check(ctx->view->acl, peer) != ACL_DENY;
}
