/*
 * upstream_lookup.c -- one question to one upstream on the wire: UDP
 * tries over the timeout, TCP after TC=1, the in-flight table that
 * coalesces identical questions, the answer cached and delivered to
 * every waiting query, the stale entry on failure.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "answer.h"
#include "cache.h"
#include "err.h"
#include "health.h"
#include "pending.h"
#include "stats.h"
#include "upresp.h"
#include "upstream.h"
#include "upstream_int.h"
#include "view.h"

static void	fail(struct lookup *, bool);
static void	io_cb(struct ev_loop *, ev_io *, int);
static void	timer_cb(struct ev_loop *, ev_timer *, int);

/* upc_random16 - a query ID nobody can guess (RFC 5452) */
uint16_t
upc_random16(void)
{
	uint16_t v;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v))
		v = (uint16_t)random();
	return v;
}

/*
 * map_codes - r (status LISTED, ttl set) from the codes a[na] and the
 * reason txt of upstream cu, for its result `code`: every code that
 * lists the result (a mirror answers each); not listed when none does
 */
static void
map_codes(const struct conf_upstream *cu, int code, const uint32_t *a,
    unsigned na, const char *txt, size_t txt_len, struct answer_result *r)
{
	uint32_t c;
	unsigned i;

	r->na = 0;
	if (code >= 0 && (size_t)code >= cu->ncodes)
		code = -1;
	for (i = 0; i < na && r->na < ANSWER_RES_MAX_A; i++)
		if ((c = code < 0 ? a[i] : upresp_code_listed(cu, code,
		    &a[i], 1)) != 0)
			r->a[r->na++] = c;
	if (r->na == 0)
		r->status = ANSWER_RES_NOT_LISTED;
	/* answer_complete() copies txt_len bytes: never from NULL */
	r->txt = txt != NULL ? txt : "";
	r->txt_len = txt != NULL ? txt_len : 0;
}

/* upc_map - what outcome o says for result `code` of upstream cu */
void
upc_map(const struct conf_upstream *cu, int code, const struct outcome *o,
    struct answer_result *r)
{
	memset(r, 0, sizeof(*r));
	r->status = o->status;
	r->ttl = o->ttl;
	if (o->status == ANSWER_RES_LISTED)
		map_codes(cu, code, o->a, o->na, o->txt, o->txt_len, r);
}

/* upc_map_entry - what cache entry e says for result `code` of cu, with
   TTL ttl: upc_map() of upc_from_entry(), without the outcome between */
void
upc_map_entry(const struct conf_upstream *cu, int code,
    const struct cache_ent *e, uint32_t ttl, struct answer_result *r)
{
	r->ttl = ttl;
	r->na = 0;
	r->txt = NULL;
	r->txt_len = 0;
	if (e->status != CACHE_LISTED) {
		r->status = ANSWER_RES_NOT_LISTED;
		return;
	}
	r->status = ANSWER_RES_LISTED;
	map_codes(cu, code, e->a, e->na > UPRESP_MAX_A ? UPRESP_MAX_A : e->na,
	    e->has_txt ? e->txt : NULL, e->txt_len, r);
}

/* upc_from_entry - the outcome a cache entry says, with TTL ttl */
void
upc_from_entry(const struct cache_ent *e, uint32_t ttl, bool txt,
    struct outcome *o)
{
	memset(o, 0, sizeof(*o));
	o->ttl = ttl;
	if (e->status != CACHE_LISTED) {
		o->status = ANSWER_RES_NOT_LISTED;
		return;
	}
	o->status = ANSWER_RES_LISTED;
	o->na = e->na > UPRESP_MAX_A ? UPRESP_MAX_A : e->na;
	memcpy(o->a, e->a, sizeof(o->a));
	if (txt && e->has_txt) {
		o->txt = e->txt;
		o->txt_len = e->txt_len;
	}
}

/* upc_stale_ok - may expired entry e still serve at now? */
bool
upc_stale_ok(const struct cache_ent *e, uint32_t serve_stale, time_t now)
{
	return serve_stale > 0 && now <= (time_t)e->expires +
	    (time_t)serve_stale;
}

/* clamp_ttl - the TTL a valid answer is cached with */
static uint32_t
clamp_ttl(const struct upclient *uc, bool listed, uint32_t ttl)
{
	const struct conf_server *cs = &uc->vc->c->server;

	if (!listed) {
		/* 0: no limit beyond the SOA (as the zones' own answers) */
		if (cs->negative_ttl_max != 0 && ttl > cs->negative_ttl_max)
			ttl = cs->negative_ttl_max;
		return ttl;
	}
	if (ttl < cs->ttl_min)
		ttl = cs->ttl_min;
	if (cs->ttl_max > 0 && ttl > cs->ttl_max)
		ttl = cs->ttl_max;
	return ttl;
}

/* lk_hash - the in-flight bucket of (up, qname, txt) */
static size_t
lk_hash(const struct upstate *up, const uint8_t *qname, size_t qlen,
    bool txt)
{
	uint32_t h = view_zhash(qname, qlen);

	h ^= (uint32_t)((uintptr_t)up >> 4) * 0x9e3779b9U;
	return (h ^ (txt ? 0x5bd1e995U : 0)) & (LK_BUCKETS - 1);
}

/* lk_find - the identical lookup in flight, or NULL */
static struct lookup *
lk_find(struct upclient *uc, const struct upstate *up, const uint8_t *qname,
    size_t qlen, bool txt)
{
	struct lookup *lk;

	for (lk = uc->tab[lk_hash(up, qname, qlen, txt)]; lk != NULL;
	    lk = lk->hnext)
		if (lk->up == up && lk->want_txt == txt && lk->qlen == qlen &&
		    memcmp(lk->qname, qname, qlen) == 0)
			return lk;
	return NULL;
}

/* upc_unhash - nothing joins lk any more */
void
upc_unhash(struct lookup *lk)
{
	struct lookup **pp;

	if (!lk->hashed)
		return;
	for (pp = &lk->uc->tab[lk_hash(lk->up, lk->qname, lk->qlen,
	    lk->want_txt)]; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == lk) {
			*pp = lk->hnext;
			break;
		}
	lk->hashed = false;
}

/* close_fd - this try's socket is done with */
static void
close_fd(struct lookup *lk)
{
	if (lk->fd < 0)
		return;
	ev_io_stop(lk->uc->loop, &lk->io);
	close(lk->fd);
	lk->fd = -1;
}

/* upc_lookup_free - lk and all it holds (its waiters are gone) */
void
upc_lookup_free(struct lookup *lk)
{
	struct upclient *uc = lk->uc;

	close_fd(lk);
	ev_timer_stop(uc->loop, &lk->t);
	upc_unhash(lk);
	if (lk->aprev != NULL)
		lk->aprev->anext = lk->anext;
	else
		uc->all = lk->anext;
	if (lk->anext != NULL)
		lk->anext->aprev = lk->aprev;
	free(lk->tbuf);
	if (lk->lingering)
		uc->lingering--;
	else
		uc->inflight--;
	upc_release(lk->up);
	free(lk);
}

/* watch - fd carries lk's query now: count it, wait for events */
static void
watch(struct lookup *lk, int fd, int events)
{
	lk->fd = fd;
	lk->up->n.queries++;
	lk->uc->st->upstream_queries++;
	ev_io_init(&lk->io, io_cb, fd, events);
	lk->io.data = lk;
	ev_io_start(lk->uc->loop, &lk->io);
}

/*
 * send_udp - try k: the next server, a new socket (kernel-chosen source
 * port) connected to it, a new ID. Returns 0 or a negative code.
 */
static int
send_udp(struct lookup *lk)
{
	uint16_t qtype = lk->phase == PH_TXT ? DNS_TYPE_TXT : DNS_TYPE_A;
	int fd;

	close_fd(lk);
	if (upc_server(lk->up, lk->attempt, &lk->sa, &lk->salen) == 0)
		return RBLMUX_ENOENT;
	lk->id = upc_random16();
	lk->qsz = upresp_query(lk->q + 2, sizeof(lk->q) - 2, lk->id,
	    lk->qname, lk->qlen, qtype);
	if (lk->qsz == 0)
		return RBLMUX_ESPACE;
	fd = socket(lk->sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&lk->sa, lk->salen) != 0 ||
	    send(fd, lk->q + 2, lk->qsz, 0) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	watch(lk, fd, EV_READ);
	return 0;
}

/* send_tcp - the same question over TCP (TC=1), within the time left */
static int
send_tcp(struct lookup *lk)
{
	int fd;

	close_fd(lk);
	if (lk->tbuf == NULL && (lk->tbuf = malloc(TCP_MAX)) == NULL)
		return RBLMUX_ENOMEM;
	fd = socket(lk->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&lk->sa, lk->salen) != 0 &&
	    errno != EINPROGRESS) {
		int e = -errno;

		close(fd);
		return e;
	}
	lk->q[0] = (uint8_t)(lk->qsz >> 8);
	lk->q[1] = (uint8_t)lk->qsz;
	lk->tcp = true;
	lk->tsent = lk->toff = 0;
	lk->uc->st->upstream_tcp++;
	watch(lk, fd, EV_WRITE);
	return 0;
}

/* arm - the timer to the next attempt, or to the end */
static void
arm(struct lookup *lk)
{
	ev_tstamp now = ev_now(lk->uc->loop), at = lk->end;

	if (!lk->tcp && lk->attempt < lk->attempts)
		at = lk->t0 + lk->attempt * lk->step;
	if (at > lk->end)
		at = lk->end;
	ev_timer_stop(lk->uc->loop, &lk->t);
	ev_timer_set(&lk->t, at > now ? at - now : 0., 0.);
	ev_timer_start(lk->uc->loop, &lk->t);
}

/* try_next - send the next attempt now; false when none is left */
static bool
try_next(struct lookup *lk)
{
	while (lk->attempt < lk->attempts) {
		int rc = send_udp(lk);

		lk->attempt++;
		if (rc == 0) {
			arm(lk);
			return true;
		}
		if (rc == RBLMUX_ENOENT || rc == RBLMUX_ESPACE ||
		    rc == -EMFILE || rc == -ENFILE || rc == -ENOBUFS ||
		    rc == -ENOMEM)
			break;
	}
	return false;
}

/* upc_unlink_waiter - take w off its lookup and its query's list */
void
upc_unlink_waiter(struct waiter *w)
{
	struct waiter **pp;

	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		w->lk->waiters = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	for (pp = (struct waiter **)pending_source_data(w->pq); *pp != NULL;
	    pp = &(*pp)->pq_next)
		if (*pp == w) {
			*pp = w->pq_next;
			break;
		}
}

/* deliver - w's results from o; w is freed (and maybe its query) */
static void
deliver(struct waiter *w, const struct outcome *o)
{
	const struct conf_upstream *cu = w->cu;
	struct pending_query *pq = w->pq;
	struct answer_result r;
	uint64_t bits = w->bits;
	int16_t code[ANSWER_MAX_SRC];
	size_t i;

	memcpy(code, w->code, sizeof(code));
	upc_unlink_waiter(w);
	free(w);
	while (bits != 0) {
		bool last;

		i = (size_t)__builtin_ctzll(bits);
		bits &= bits - 1;
		last = pending_missing(pq) == UINT64_C(1) << i;
		upc_map(cu, code[i], o, &r);
		pending_complete(pq, i, &r);
		if (last)
			break;		/* pq was answered and freed */
	}
}

/* upc_deliver_all - o to every waiter (only those not waiting for TXT) */
void
upc_deliver_all(struct lookup *lk, const struct outcome *o, bool a_only)
{
	struct waiter *w, *next;

	for (w = lk->waiters; w != NULL; w = next) {
		next = w->next;
		if (!a_only || !w->want_txt)
			deliver(w, o);
	}
}

/*
 * stale - the cached entry to serve when a lookup fails, if any, into *e
 * (which o's TXT points into: it must live as long as o)
 */
static bool
stale(struct lookup *lk, time_t now, struct cache_ent *e, struct outcome *o)
{
	struct upclient *uc = lk->uc;

	if (uc->reader == NULL || !lk->has_key || uc->vc == NULL ||
	    cache_lookup(uc->reader, &lk->key, &uc->rec) != 0 ||
	    !cache_rec_get(&uc->rec, lk->src, e) ||
	    !upc_stale_ok(e, uc->vc->c->server.serve_stale, now))
		return false;
	upc_from_entry(e, UPSTREAM_STALE_TTL, true, o);
	return true;
}

/*
 * lookup_finish - the lookup is over: deliver o to every waiter (or,
 * with try_stale, the stale entry when the cache has one), free the
 * lookup. A probe's lookup that ends here got no usable answer.
 */
static void
lookup_finish(struct lookup *lk, const struct outcome *o, bool try_stale)
{
	struct upclient *uc = lk->uc;
	struct upstate *up = lk->up;
	struct cache_ent se;
	struct outcome so;

	lk->phase = PH_DONE;
	upc_unhash(lk);
	close_fd(lk);
	ev_timer_stop(uc->loop, &lk->t);
	if (lk->probe != NULL) {
		struct sockaddr_storage sa;
		socklen_t len;
		bool noserver = upc_server(up, 0, &sa, &len) == 0;

		if (lk->t0 == 0 && !noserver)
			lk->probe->unsent[lk->pidx] = true;
		upc_probe_done(lk->probe, lk->pidx, UPRESP_MISMATCH, true,
		    noserver ? "no server address (resolver forward:, "
		    RESOLV_CONF ")" : NULL);
		lk->probe = NULL;
	} else if (try_stale && lk->waiters != NULL &&
	    stale(lk, time(NULL), &se, &so)) {
		up->n.stale++;
		uc->st->cache_stale++;
		o = &so;
	}
	upc_deliver_all(lk, o, false);
	upc_lookup_free(lk);
}

/* failed_outcome - contributes nothing */
static const struct outcome *
failed_outcome(void)
{
	static const struct outcome o = { ANSWER_RES_FAILED, { 0 }, 0, 0,
	    NULL, 0 };

	return &o;
}

/* fail - no answer in time (timeout), or no way to ask */
static void
fail(struct lookup *lk, bool timeout)
{
	struct outcome o;

	if (lk->phase == PH_TXT && health_trusted(&lk->up->h)) {
		/* the listing is known: deliver it without its reason (unless
		   the upstream was disabled meanwhile) */
		memset(&o, 0, sizeof(o));
		o.status = ANSWER_RES_LISTED;
		o.na = lk->ares.na;
		memcpy(o.a, lk->ares.a, sizeof(o.a));
		o.ttl = lk->ares.ttl;
		lookup_finish(lk, &o, false);
		return;
	}
	if (timeout && lk->probe == NULL) {
		lk->up->n.timeouts++;
		lk->uc->st->upstream_timeouts++;
		upc_set_health(lk->up, HEV_QUERY_TIMEOUT, time(NULL),
		    "lookups not answered in time");
	}
	lookup_finish(lk, failed_outcome(), timeout);
}

/* put - cache what lookup lk found (o), at now */
static void
put(struct lookup *lk, const struct outcome *o, time_t now)
{
	struct cache_ent e;

	if (!lk->has_key || !health_trusted(&lk->up->h))
		return;
	if (o->status == ANSWER_RES_LISTED)
		upc_listed(lk->uc, lk->up->cu, o->a, o->na, &lk->key, now,
		    false);
	if (lk->uc->cache == NULL)
		return;
	memset(&e, 0, sizeof(e));
	e.src = lk->src;
	e.status = o->status == ANSWER_RES_LISTED ? CACHE_LISTED :
	    CACHE_NOT_LISTED;
	e.na = (uint8_t)o->na;
	memcpy(e.a, o->a, sizeof(e.a));
	e.ttl = o->ttl;
	e.stored = (uint32_t)now;
	e.expires = (uint32_t)(now + o->ttl);
	if (lk->phase == PH_TXT) {
		e.has_txt = true;
		e.txt_expires = e.expires;
		e.txt_len = (uint16_t)o->txt_len;
		if (o->txt_len > 0)
			memcpy(e.txt, o->txt, o->txt_len);
	}
	cache_put(lk->uc->cache, &lk->key, &e);
}

/*
 * linger - a valid answer: deliver it, and keep the lookup in the
 * in-flight table a moment, so a repeat is answered at once while the
 * cache's writer thread stores the answer
 */
static void
linger(struct lookup *lk, const struct outcome *o, time_t now)
{
	struct upclient *uc = lk->uc;

	lk->phase = PH_DONE;
	close_fd(lk);
	ev_timer_stop(uc->loop, &lk->t);
	upc_deliver_all(lk, o, false);
	if (!lk->hashed || uc->lingering >= LINGER_MAX || uc->stopping) {
		upc_lookup_free(lk);
		return;
	}
	lk->done = *o;
	lk->done.txt = NULL;
	lk->done.txt_len = 0;
	if (o->txt != NULL && o->txt_len > 0) {
		lk->done.txt_len = o->txt_len < UPRESP_MAX_TXT ? o->txt_len :
		    UPRESP_MAX_TXT;
		memmove(lk->ares.txt, o->txt, lk->done.txt_len);
		lk->done.txt = lk->ares.txt;
	}
	lk->done_at = now;
	lk->lingering = true;
	uc->inflight--;
	uc->lingering++;
	ev_timer_set(&lk->t, LINGER_SECS, 0.);
	ev_timer_start(uc->loop, &lk->t);
}

/* upclient_forget - flushed: no finished lookup answers for k or src */
void
upclient_forget(struct upclient *uc, const struct cache_key *k, uint64_t src)
{
	struct lookup *lk, *next;

	for (lk = uc->all; lk != NULL; lk = next) {
		next = lk->anext;
		if (!lk->lingering || (src != 0 && lk->up->src != src) ||
		    (k != NULL && (!lk->has_key || lk->key.len != k->len ||
		    memcmp(lk->key.b, k->b, k->len) != 0)))
			continue;
		upc_lookup_free(lk);
	}
}

/* upc_recent - the outcome of an identical lookup finished a moment ago */
bool
upc_recent(struct upclient *uc, struct upstate *up, const struct subject *s,
    bool txt, time_t now, struct outcome *o)
{
	uint8_t qname[DNS_MAXNAME];
	size_t qlen = upresp_qname(s, up->cu->zone, qname);
	struct lookup *lk;
	int t;

	for (t = txt ? 1 : 0; qlen != 0 && t < 2; t++)
		if ((lk = lk_find(uc, up, qname, qlen, t == 1)) != NULL &&
		    lk->lingering && lk->done_at + (time_t)lk->done.ttl >
		    now) {
			*o = lk->done;
			o->ttl -= (uint32_t)(now - lk->done_at);
			return true;
		}
	return false;
}

/*
 * answered - an answer r (not MISMATCH or TRUNCATED) to the lookup's
 * current question. Returns true when the lookup is over (freed).
 */
static bool
answered(struct lookup *lk, const struct upresp *r)
{
	struct upclient *uc = lk->uc;
	struct upstate *up = lk->up;
	struct outcome o;
	time_t now = time(NULL);
	bool listed;

	if (lk->probe != NULL) {
		upc_probe_done(lk->probe, lk->pidx, r->kind, r->kind ==
		    UPRESP_ERROR && r->rcode != 0, r->why);
		lk->probe = NULL;
		lookup_finish(lk, failed_outcome(), false);
		return true;
	}
	if (r->kind == UPRESP_ERROR && lk->phase == PH_TXT) {
		fail(lk, false);	/* the A listing still counts */
		return true;
	}
	if (r->kind == UPRESP_ERROR) {
		up->n.errors++;
		uc->st->upstream_errors++;
		/* SERVFAIL/REFUSED: failing, not lying (stale may serve) */
		upc_set_health(up, r->rcode != 0 ? HEV_QUERY_TIMEOUT :
		    HEV_QUERY_ERROR, now, r->why);
		lookup_finish(lk, failed_outcome(), r->rcode != 0);
		return true;
	}
	upc_set_health(up, HEV_QUERY_OK, now, NULL);
	if (!health_trusted(&up->h)) {
		/* disabled while it was asked: its answers do not count */
		lookup_finish(lk, failed_outcome(), false);
		return true;
	}
	memset(&o, 0, sizeof(o));
	if (lk->phase == PH_A) {
		listed = r->kind == UPRESP_LISTED;
		o.status = listed ? ANSWER_RES_LISTED : ANSWER_RES_NOT_LISTED;
		o.na = listed ? r->na : 0;
		memcpy(o.a, r->a, sizeof(o.a));
		o.ttl = clamp_ttl(uc, listed, r->ttl);
		if (listed && lk->want_txt) {
			/* the A now to those not asking TXT; then the TXT */
			lk->ares = *r;
			lk->ares.ttl = o.ttl;
			upc_deliver_all(lk, &o, true);
			lk->phase = PH_TXT;
			lk->tcp = false;
			lk->attempt = 0;
			lk->t0 = ev_now(uc->loop);
			lk->step = (lk->end - lk->t0) / lk->attempts;
			if (try_next(lk))
				return false;
			fail(lk, false);
			return true;
		}
	} else {
		o.status = ANSWER_RES_LISTED;
		o.na = lk->ares.na;
		memcpy(o.a, lk->ares.a, sizeof(o.a));
		o.ttl = lk->ares.ttl;
		if (r->kind == UPRESP_LISTED) {
			o.txt = r->txt;
			o.txt_len = r->txt_len;
		}
	}
	put(lk, &o, now);
	linger(lk, &o, now);
	return true;
}

/* handle_reply - one reply read; returns true when the lookup is over */
static bool
handle_reply(struct lookup *lk, const uint8_t *pkt, size_t len)
{
	struct upresp r;
	struct conf_upstream loose;
	const struct conf_upstream *cu = lk->up->cu;
	uint16_t qtype = lk->phase == PH_TXT ? DNS_TYPE_TXT : DNS_TYPE_A;

	if (lk->probe != NULL) {
		/* a test point may answer any code outside the error codes */
		loose = *cu;
		loose.codes = NULL;
		loose.ncodes = 0;
		cu = &loose;
	}
	upresp_parse(pkt, len, lk->id, lk->qname, lk->qlen, qtype, cu, &r);
	switch (r.kind) {
	case UPRESP_MISMATCH:
		lk->uc->st->upstream_mismatched++;
		if (lk->tcp)
			close_fd(lk);	/* wait for the end */
		return false;
	case UPRESP_TRUNCATED:
		if (lk->tcp || send_tcp(lk) != 0)
			close_fd(lk);
		arm(lk);
		return false;
	default:
		return answered(lk, &r);
	}
}

/* udp_read - the datagrams waiting on this try's socket */
static void
udp_read(struct lookup *lk)
{
	uint8_t buf[DNS_MAXMSG];
	ssize_t n;
	int i;

	for (i = 0; i < UDP_READS && lk->fd >= 0 && !lk->tcp; i++) {
		n = recv(lk->fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				return;
			/* refused (ICMP): this try is over, the next now */
			close_fd(lk);
			if (!try_next(lk))
				fail(lk, true);
			return;
		}
		if (handle_reply(lk, buf, (size_t)n))
			return;		/* freed */
	}
}

/* tcp_io - connect, send the framed query, read one framed reply */
static void
tcp_io(struct lookup *lk, int revents)
{
	size_t want;
	ssize_t n;
	int err = 0;
	socklen_t el = sizeof(err);

	if (revents & EV_WRITE) {
		if (lk->tsent == 0 && (getsockopt(lk->fd, SOL_SOCKET,
		    SO_ERROR, &err, &el) != 0 || err != 0))
			goto drop;
		n = send(lk->fd, lk->q + lk->tsent, lk->qsz + 2 - lk->tsent,
		    MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			goto drop;
		}
		lk->tsent += (size_t)n;
		if (lk->tsent == lk->qsz + 2) {
			ev_io_stop(lk->uc->loop, &lk->io);
			ev_io_set(&lk->io, lk->fd, EV_READ);
			ev_io_start(lk->uc->loop, &lk->io);
		}
		return;
	}
	want = lk->toff < 2 ? 2 : 2 + ((size_t)lk->tbuf[0] << 8 |
	    lk->tbuf[1]);
	n = recv(lk->fd, lk->tbuf + lk->toff, want - lk->toff, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0)
		goto drop;
	lk->toff += (size_t)n;
	if (lk->toff == 2 && (lk->tbuf[0] | lk->tbuf[1]) == 0)
		goto drop;
	if (lk->toff < 2 || lk->toff < 2 + ((size_t)lk->tbuf[0] << 8 |
	    lk->tbuf[1]))
		return;
	handle_reply(lk, lk->tbuf + 2, lk->toff - 2);
	return;
drop:
	close_fd(lk);		/* the end timer decides */
}

/* io_cb - the socket of a try is ready */
static void
io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct lookup *lk = w->data;

	if (lk->tcp)
		tcp_io(lk, revents);
	else
		udp_read(lk);
	(void)loop;
}

/* timer_cb - the next attempt, or the end */
static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct lookup *lk = w->data;

	if (lk->lingering) {
		upc_lookup_free(lk);
		return;
	}
	if (lk->fd < 0 && lk->attempt == 0 && lk->t0 == 0) {
		fail(lk, false);	/* could not start (either phase) */
		return;
	}
	if (ev_now(loop) < lk->end - 1e-6 && !lk->tcp && try_next(lk))
		return;
	if (ev_now(loop) < lk->end - 1e-6) {
		arm(lk);
		return;
	}
	fail(lk, true);
	(void)revents;
}

/*
 * upc_lookup_new - a lookup of qname for up (not sent yet). Returns NULL
 * when out of memory or at the in-flight cap.
 */
struct lookup *
upc_lookup_new(struct upclient *uc, struct upstate *up, const uint8_t *qname,
    size_t qlen, bool txt)
{
	struct lookup *lk;

	if (uc->inflight >= UPSTREAM_MAX_INFLIGHT ||
	    (lk = calloc(1, sizeof(*lk))) == NULL)
		return NULL;
	lk->uc = uc;
	lk->up = up;
	lk->fd = -1;
	lk->want_txt = txt;
	lk->src = up->src;
	memcpy(lk->qname, qname, qlen);
	lk->qlen = qlen;
	ev_timer_init(&lk->t, timer_cb, 0., 0.);
	lk->t.data = lk;
	up->refs++;
	uc->inflight++;
	lk->anext = uc->all;
	if (uc->all != NULL)
		uc->all->aprev = lk;
	uc->all = lk;
	return lk;
}

/* upc_lookup_go - send the first try; on failure fail soon (from the loop) */
void
upc_lookup_go(struct lookup *lk)
{
	struct upclient *uc = lk->uc;
	const struct conf_resolver *rs = &uc->vc->c->resolver;
	double timeout = rs->timeout_ms / 1000.;

	lk->attempts = rs->attempts > 0 ? rs->attempts : 1;
	lk->t0 = ev_now(uc->loop);
	/* end a moment before the query's deadline: a stale entry served
	   on failure gets there in time */
	lk->end = lk->t0 + timeout - (timeout > 0.1 ? 0.005 : timeout / 20);
	lk->step = timeout / lk->attempts;
	if (try_next(lk))
		return;
	uc->st->upstream_failed++;
	lk->t0 = 0;
	lk->attempt = 0;
	ev_timer_set(&lk->t, 0., 0.);
	ev_timer_start(uc->loop, &lk->t);
}

/* upc_lookup_client - find or start the lookup for (up, qname, txt) */
struct lookup *
upc_lookup_client(struct upclient *uc, struct upstate *up,
    const struct subject *s, bool txt, bool *joined)
{
	uint8_t qname[DNS_MAXNAME];
	size_t qlen = upresp_qname(s, up->cu->zone, qname);
	struct lookup *lk;
	int t;

	*joined = false;
	if (qlen == 0)
		return NULL;
	/* a lookup asking TXT as well answers one for the A alone */
	for (t = txt ? 1 : 0; t < 2; t++)
		if ((lk = lk_find(uc, up, qname, qlen, t == 1)) != NULL &&
		    !lk->lingering) {
			*joined = true;
			return lk;
		}
	if ((lk = upc_lookup_new(uc, up, qname, qlen, txt)) == NULL)
		return NULL;
	lk->has_key = cache_key_subject(s, &lk->key) == 0;
	lk->hnext = uc->tab[lk_hash(up, qname, qlen, txt)];
	uc->tab[lk_hash(up, qname, qlen, txt)] = lk;
	lk->hashed = true;
	return lk;
}

/*
 * upc_txt_only - a TXT lookup whose listing the cache holds fresh asks the
 * TXT alone
 */
void
upc_txt_only(struct lookup *lk, time_t now)
{
	struct upclient *uc = lk->uc;
	struct cache_ent e;

	if (uc->reader == NULL || !lk->has_key ||
	    cache_lookup(uc->reader, &lk->key, &uc->rec) != 0 ||
	    !cache_rec_get(&uc->rec, lk->src, &e) ||
	    e.status != CACHE_LISTED || (time_t)e.expires <= now || e.na == 0)
		return;
	lk->phase = PH_TXT;
	lk->ares.kind = UPRESP_LISTED;
	lk->ares.na = e.na > UPRESP_MAX_A ? UPRESP_MAX_A : e.na;
	memcpy(lk->ares.a, e.a, sizeof(lk->ares.a));
	lk->ares.ttl = (uint32_t)(e.expires - now);
}
