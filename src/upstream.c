/*
 * upstream.c -- the upstream DNSBL client: per-upstream state (health,
 * budget, counters) bound by name across views, the cache in front of
 * the lookups (fill), coalescing, and the pending_source that parks
 * client queries on them; apply, status, stop. The lookups on the wire
 * are upstream_lookup.c's, the health probes upstream_probe.c's.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <ev.h>

#include "answer.h"
#include "cache.h"
#include "err.h"
#include "health.h"
#include "log.h"
#include "pending.h"
#include "stats.h"
#include "upresp.h"
#include "upstream.h"
#include "upstream_int.h"
#include "view.h"

struct upclient *upclient_main;

/* upc_state_free - forget up: its timer, its place, its config */
void
upc_state_free(struct upstate *up)
{
	struct upclient *uc = up->uc;
	size_t i;

	ev_timer_stop(uc->loop, &up->probe_t);
	for (i = 0; i < uc->nups; i++)
		if (uc->ups[i] == up) {
			uc->ups[i] = uc->ups[--uc->nups];
			break;
		}
	vconf_unref(up->vc);
	free(up->name);
	free(up);
}

/* upc_release - a lookup is done with up */
void
upc_release(struct upstate *up)
{
	if (--up->refs == 0 && up->removed && up->probe == NULL)
		upc_state_free(up);
}

/* upstate_find - the state of the upstream named name, or NULL */
static struct upstate *
upstate_find(struct upclient *uc, const char *name)
{
	size_t i;

	for (i = 0; i < uc->nups; i++)
		if (strcmp(uc->ups[i]->name, name) == 0)
			return uc->ups[i];
	return NULL;
}

/* upstate_of - the state of upstream index idx of v's config (inline:
   asked for every upstream source of every query) */
static inline struct upstate *
upstate_of(struct upclient *uc, const struct view *v, int idx)
{
	if (idx < 0 || (size_t)idx >= v->conf->nupstreams)
		return NULL;
	if (uc->vc != NULL && v->conf == uc->vc->c && uc->map != NULL &&
	    (size_t)idx < uc->nmap)
		return uc->map[idx];
	return upstate_find(uc, v->conf->upstreams[idx].name);
}

/* upc_server - where up asks: its own server: list, else the resolver */
size_t
upc_server(const struct upstate *up, size_t k, struct sockaddr_storage *sa,
    socklen_t *len)
{
	const struct upclient *uc = up->uc;
	size_t n;

	if (up->cu->nservers > 0) {
		n = up->cu->nservers;
		memcpy(sa, &up->cu->servers[k % n].sa,
		    up->cu->servers[k % n].salen);
		*len = up->cu->servers[k % n].salen;
		return n;
	}
	if ((n = uc->nres) > 0) {
		memcpy(sa, &uc->res[k % n], uc->reslen[k % n]);
		*len = uc->reslen[k % n];
	}
	return n;
}

/* add_waiter - pq waits for lk with the sources in bits */
static struct waiter *
add_waiter(struct lookup *lk, struct pending_query *pq,
    const struct conf_upstream *cu, uint64_t bits, bool txt,
    const int16_t *code)
{
	struct waiter *w = calloc(1, sizeof(*w));
	void **head = pending_source_data(pq);

	if (w == NULL)
		return NULL;
	w->lk = lk;
	w->pq = pq;
	w->cu = cu;
	w->bits = bits;
	w->want_txt = txt;
	memcpy(w->code, code, sizeof(w->code));
	w->next = lk->waiters;
	if (lk->waiters != NULL)
		lk->waiters->prev = w;
	lk->waiters = w;
	w->pq_next = *head;
	*head = w;
	return w;
}

/* want_txt - does the client's type ask for TXT? (ANY gets the A
   records alone, RFC 8482: no TXT is fetched for it) */
static bool
want_txt(uint16_t qtype)
{
	return qtype == DNS_TYPE_TXT;
}

/* family_fits - can upstream cu be asked about subject s at all? */
static bool
family_fits(const struct conf_upstream *cu, const struct subject *s)
{
	switch (cu->family) {
	case FAMILY_IP6:
		return s->kind == SUBJ_IP6;
	case FAMILY_NAME:
		return s->kind == SUBJ_NAME;
	default:
		return s->kind == SUBJ_IP4;
	}
}

/* prefetch - refresh s's entry of up in the background */
static void
prefetch(struct upclient *uc, struct upstate *up, const struct subject *s)
{
	struct lookup *lk;
	bool joined;

	if (uc->stopping || (lk = upc_lookup_client(uc, up, s, false,
	    &joined)) == NULL || joined)
		return;
	if (!budget_take(&up->b, time(NULL))) {
		upc_unhash(lk);
		upc_lookup_free(lk);
		return;
	}
	uc->st->cache_prefetches++;
	uc->st->upstream_lookups++;
	up->n.lookups++;
	upc_lookup_go(lk);
}

/* upclient_on_listed - who is told of listings */
void
upclient_on_listed(struct upclient *uc, upclient_listed_fn *fn,
    upclient_listed_wants_fn *wants, void *arg)
{
	uc->on_listed = fn;
	uc->on_listed_wants = wants;
	uc->on_listed_arg = arg;
}

/* upc_listed - an upstream listed an address: tell on_listed */
void
upc_listed(struct upclient *uc, const struct conf_upstream *cu,
    const uint32_t *a, size_t na, const struct cache_key *k, time_t now,
    bool later)
{
	struct upc_seen *s;

	if (uc->on_listed == NULL || na == 0)
		return;
	/* no rule counts this upstream's results: nothing to queue */
	if (uc->on_listed_wants != NULL &&
	    !uc->on_listed_wants(uc->on_listed_arg, cu))
		return;
	if (later) {
		if (uc->nseen == UPC_SEEN_MAX || k->len > 17)
			return;
		s = &uc->seen[uc->nseen++];
		s->cu = cu;
		s->na = na < UPRESP_MAX_A ? na : UPRESP_MAX_A;
		memcpy(s->a, a, s->na * sizeof(*a));
		s->key.len = k->len;
		memcpy(s->key.b, k->b, k->len);
		s->now = now;
		return;
	}
	if (k->len == 5 && k->b[0] == CACHE_KEY_IP4)
		uc->on_listed(uc->on_listed_arg, cu, a, na, AF_INET, k->b + 1,
		    now);
	else if (k->len == 17 && k->b[0] == CACHE_KEY_IP6)
		uc->on_listed(uc->on_listed_arg, cu, a, na, AF_INET6,
		    k->b + 1, now);
}

/* upc_listed_flush - tell the listings fill() used */
void
upc_listed_flush(struct upclient *uc)
{
	size_t i, n = uc->nseen;

	uc->nseen = 0;
	for (i = 0; i < n; i++)
		upc_listed(uc, uc->seen[i].cu, uc->seen[i].a, uc->seen[i].na,
		    &uc->seen[i].key, uc->seen[i].now, false);
}

/* complete - source i (result code of cu) from outcome o */
static void
complete(struct answer_state *st, size_t i, const struct conf_upstream *cu,
    int code, const struct outcome *o)
{
	struct answer_result r;

	upc_map(cu, code, o, &r);
	answer_complete(st, i, &r);
}

/*
 * upc_fill - complete from the cache what it holds fresh; fail what will
 * not be waited for; serve stale entries of upstreams that are down.
 * quiet: only look (the control socket's lookup): no counter moves, no
 * prefetch starts, no access time is refreshed.
 */
static uint64_t
upc_fill(struct upclient *uc, const struct view *v, struct answer_state *st,
    const struct subject *s, uint16_t qtype, time_t now, bool quiet)
{
	static const struct outcome o_not = { .status = ANSWER_RES_NOT_LISTED },
	    o_fail = { .status = ANSWER_RES_FAILED };
	struct cache_key key;
	struct cache_ent e;
	struct outcome o;
	struct answer_result r;
	const struct upstate *eup = NULL;	/* whose entry e is */
	uint64_t todo = st->missing;
	bool looked = false, have = false, found = false;
	bool txt = want_txt(qtype);
	size_t i;

	for (i = 0; todo != 0; i++, todo >>= 1) {
		const struct vsource *src;
		const struct conf_upstream *cu;
		struct upstate *up;
		bool usable, over;

		if (!(todo & 1))
			continue;
		src = answer_src_of(v, st, i);
		if (src->kind != VSRC_UPSTREAM)
			continue;
		up = upstate_of(uc, v, src->upstream);
		cu = &v->conf->upstreams[src->upstream];
		if (!family_fits(cu, s)) {
			/* an IPv4 list is never asked about a name (and so
			   on): it cannot list it */
			complete(st, i, cu, -1, &o_not);
			continue;
		}
		if (up == NULL || !health_trusted(&up->h) || (s->kind ==
		    SUBJ_NAME && s->name_len + 1 + strlen(up->cu->zone) >
		    CONF_DNAME_MAX)) {
			complete(st, i, cu, -1, &o_fail);
			continue;
		}
		if (!looked) {
			looked = true;
			have = uc->reader != NULL &&
			    cache_key_subject(s, &key) == 0 &&
			    cache_lookup(uc->reader, &key, &uc->rec) == 0;
			if (have && !quiet && uc->cache != NULL &&
			    (time_t)uc->rec.atime + TOUCH_EVERY < now)
				cache_touch(uc->cache, &key, now);
		}
		over = up->b.max != 0 && budget_exhausted(&up->b, now);
		usable = health_usable(&up->h) && !over;
		if (have && up != eup) {
			/* decoded once for all the results of an upstream */
			eup = up;
			found = cache_rec_get(&uc->rec, up->src, &e);
		}
		if (have && found) {
			if ((time_t)e.expires > now && !(txt && usable &&
			    e.status == CACHE_LISTED && (!e.has_txt ||
			    (time_t)e.txt_expires <= now))) {
				uint32_t ttl = (uint32_t)(e.expires - now);

				if (src->code < 0 && !e.has_txt &&
				    (e.status != CACHE_LISTED || e.na == 1))
					answer_complete_code(st, i, e.status ==
					    CACHE_LISTED && e.a[0] != 0,
					    e.a[0], ttl);
				else {
					upc_map_entry(cu, src->code, &e, ttl,
					    &r);
					answer_complete(st, i, &r);
				}
				if (quiet)
					continue;
				if (e.status == CACHE_LISTED)
					upc_listed(uc, cu, e.a, e.na >
					    UPRESP_MAX_A ? UPRESP_MAX_A : e.na,
					    &key, now, true);
				up->n.hits++;
				uc->st->cache_hits++;
				if (usable && e.ttl >= PREFETCH_DIV &&
				    (time_t)e.expires - now <=
				    (time_t)(e.ttl / PREFETCH_DIV))
					prefetch(uc, up, s);
				continue;
			}
			if (!usable && upc_stale_ok(&e,
			    v->conf->server.serve_stale, now)) {
				upc_map_entry(cu, src->code, &e,
				    UPSTREAM_STALE_TTL, &r);
				answer_complete(st, i, &r);
				if (!quiet) {
					up->n.stale++;
					uc->st->cache_stale++;
				}
				continue;
			}
		}
		if (upc_recent(uc, up, s, txt, now, &o)) {
			complete(st, i, cu, src->code, &o);
			if (!quiet) {
				up->n.hits++;
				uc->st->cache_hits++;
			}
			continue;
		}
		if (!usable) {
			if (over && !quiet) {
				up->n.skipped++;
				uc->st->upstream_skipped++;
			}
			complete(st, i, cu, -1, &o_fail);
		}
	}
	return st->missing;
}

static uint64_t
src_fill(void *arg, const struct view *v, struct answer_state *st,
    const struct subject *s, uint16_t qtype, time_t now)
{
	return upc_fill(arg, v, st, s, qtype, now, false);
}

/* upclient_peek - what fill() would complete for an A query, quietly */
uint64_t
upclient_peek(struct upclient *uc, const struct view *v,
    struct answer_state *st, const struct subject *s, time_t now)
{
	return upc_fill(uc, v, st, s, DNS_TYPE_A, now, true);
}

/* upstream_only_missing - is every result st misses an upstream's? */
bool
upstream_only_missing(const struct view *v, const struct answer_state *st)
{
	size_t i;

	for (i = 0; i < st->nsrc; i++)
		if ((st->missing >> i & 1) &&
		    answer_src_of(v, st, i)->kind != VSRC_UPSTREAM)
			return false;
	return true;
}

/* src_wants - the resolver timeout, when only upstream results miss */
static double
src_wants(void *arg, const struct view *v, const struct answer_state *st)
{
	(void)arg;
	return upstream_only_missing(v, st) ?
	    v->conf->resolver.timeout_ms / 1000. : 0;
}

/* src_cancel - pq is answered: it waits for nothing any more */
static void
src_cancel(void *arg, struct pending_query *pq)
{
	struct waiter *w;

	(void)arg;
	while ((w = *pending_source_data(pq)) != NULL) {
		upc_unlink_waiter(w);
		free(w);
	}
}

/*
 * src_start - per upstream still missing, join the identical lookup in
 * flight or start one; what cannot be asked fails from the loop
 */
static int
src_start(void *arg, struct ev_loop *loop, struct pending_query *pq,
    const struct view *v, const struct answer_state *st,
    const struct subject *s)
{
	struct upclient *uc = arg;
	struct upstate *ups[ANSWER_MAX_SRC];
	uint64_t done = 0, bits;
	int16_t code[ANSWER_MAX_SRC];
	bool txt = want_txt(pending_qtype(pq)), joined;
	time_t now = time(NULL);
	size_t i, j;

	(void)loop;
	for (i = 0; i < st->nsrc; i++) {
		ups[i] = NULL;
		if (st->missing >> i & 1 && answer_src_of(v, st, i)->kind ==
		    VSRC_UPSTREAM)
			ups[i] = upstate_of(uc, v, answer_src_of(v, st, i)->upstream);
	}
	for (i = 0; i < st->nsrc; i++) {
		struct upstate *up = ups[i];
		struct lookup *lk;

		if (up == NULL || (done >> i & 1))
			continue;
		bits = 0;
		memset(code, 0, sizeof(code));
		for (j = i; j < st->nsrc; j++)
			if (ups[j] == up) {
				bits |= UINT64_C(1) << j;
				code[j] = (int16_t)answer_src_of(v, st, j)->code;
			}
		done |= bits;
		lk = upc_lookup_client(uc, up, s, txt, &joined);
		if (lk != NULL && joined) {
			up->n.coalesced++;
			uc->st->upstream_coalesced++;
		} else if (lk != NULL && !budget_take(&up->b, now)) {
			up->n.skipped++;
			uc->st->upstream_skipped++;
			upc_unhash(lk);		/* fails from the loop */
			ev_timer_set(&lk->t, 0., 0.);
			ev_timer_start(uc->loop, &lk->t);
		} else if (lk != NULL) {
			up->n.lookups++;
			up->n.misses++;
			uc->st->upstream_lookups++;
			uc->st->cache_misses++;
			if (txt)
				upc_txt_only(lk, now);
			upc_lookup_go(lk);
		} else {
			/* no memory, or UPSTREAM_MAX_INFLIGHT: answer now */
			uc->st->upstream_failed++;
			src_cancel(uc, pq);
			return RBLMUX_ENOMEM;
		}
		if (add_waiter(lk, pq, &v->conf->upstreams[answer_src_of(v, st,
		    i)->upstream], bits, txt, code) == NULL) {
			src_cancel(uc, pq);
			return RBLMUX_ENOMEM;
		}
	}
	return 0;
}

/* release_cb - the loop is about to wait: let the cache's writer reuse
   what the iteration's lookups read */
static void
release_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct upclient *uc = w->data;

	upc_listed_flush(uc);
	cache_reader_release(uc->reader);
	(void)loop;
	(void)revents;
}

/* upclient_new - an empty client on loop */
struct upclient *
upclient_new(struct ev_loop *loop, struct cache *c, struct stats *st)
{
	struct upclient *uc = calloc(1, sizeof(*uc));

	if (uc == NULL)
		return NULL;
	uc->loop = loop;
	uc->cache = c;
	uc->st = st;
	if (c != NULL && (uc->reader = cache_reader_new(c)) == NULL)
		log_warnx("cache: no reader; answering without the cache");
	if (uc->reader != NULL) {
		/* one snapshot per loop iteration, not one per query */
		cache_reader_hold(uc->reader, true);
		ev_prepare_init(&uc->release, release_cb);
		uc->release.data = uc;
		ev_prepare_start(loop, &uc->release);
		ev_unref(loop);
	}
	uc->source.fill = src_fill;
	uc->source.wants = src_wants;
	uc->source.start = src_start;
	uc->source.cancel = src_cancel;
	uc->source.arg = uc;
	return uc;
}

/* upclient_source - what pending_set_source() takes */
const struct pending_source *
upclient_source(struct upclient *uc)
{
	return &uc->source;
}

/* upclient_cache - the cache the client reads and fills */
struct cache *
upclient_cache(struct upclient *uc)
{
	return uc == NULL ? NULL : uc->cache;
}

/* read_resolv - the nameserver lines of /etc/resolv.conf */
static void
read_resolv(struct upclient *uc)
{
	FILE *f = fopen(RESOLV_CONF, "r");
	char line[256], addr[128], *pct;

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL && uc->nres <
	    MAX_RESOLVERS) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)
		    &uc->res[uc->nres];
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)
		    &uc->res[uc->nres];

		if (sscanf(line, " nameserver %127s", addr) != 1)
			continue;
		if ((pct = strchr(addr, '%')) != NULL)
			*pct = '\0';
		memset(&uc->res[uc->nres], 0, sizeof(uc->res[0]));
		if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
			s4->sin_family = AF_INET;
			s4->sin_port = htons(53);
			uc->reslen[uc->nres++] = sizeof(*s4);
		} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(53);
			uc->reslen[uc->nres++] = sizeof(*s6);
		}
	}
	fclose(f);
}

/* upstate_new - the state of a new upstream named name */
static struct upstate *
upstate_new(struct upclient *uc, const char *name, time_t now)
{
	struct upstate *up = calloc(1, sizeof(*up)), **n;

	if (up == NULL || (up->name = strdup(name)) == NULL ||
	    (n = realloc(uc->ups, (uc->nups + 1) * sizeof(*n))) == NULL) {
		if (up != NULL)
			free(up->name);
		free(up);
		return NULL;
	}
	uc->ups = n;
	uc->ups[uc->nups++] = up;
	up->uc = uc;
	health_init(&up->h, now);
	ev_timer_init(&up->probe_t, upc_probe_cb, 0., 0.);
	up->probe_t.data = up;
	return up;
}

/* upclient_apply - bind v's upstreams and resolver */
void
upclient_apply(struct upclient *uc, const struct view *v)
{
	const struct conf *c = v->conf;
	struct upstate **map;
	time_t now = time(NULL);
	size_t i;

	upc_listed_flush(uc);	/* while their clauses live */
	if (uc->vc == v->vc)
		return;
	atomic_fetch_add(&v->vc->refs, 1);
	vconf_unref(uc->vc);
	uc->vc = v->vc;

	uc->nres = 0;
	for (i = 0; i < c->resolver.nforward && i < MAX_RESOLVERS; i++) {
		memcpy(&uc->res[i], &c->resolver.forward[i].sa,
		    c->resolver.forward[i].salen);
		uc->reslen[i] = c->resolver.forward[i].salen;
		uc->nres++;
	}
	if (uc->nres == 0 && c->nupstreams > 0)
		read_resolv(uc);

	for (i = 0; i < uc->nups; i++)
		uc->ups[i]->seen = false;
	map = calloc(c->nupstreams + 1, sizeof(*map));
	free(uc->map);
	uc->map = map;
	uc->nmap = map != NULL ? c->nupstreams : 0;
	for (i = 0; i < c->nupstreams; i++) {
		const struct conf_upstream *cu = &c->upstreams[i];
		struct upstate *up = upstate_find(uc, cu->name);
		bool fresh = up == NULL;

		if (up == NULL && (up = upstate_new(uc, cu->name, now)) ==
		    NULL) {
			log_warnx("upstream %s: out of memory; its results "
			    "contribute nothing", cu->name);
			continue;
		}
		if (up->cu == NULL || strcmp(up->cu->zone, cu->zone) != 0)
			up->src = cache_src_id(cu->zone);
		if (fresh || up->b.max != cu->max_queries ||
		    up->b.period != cu->max_queries_period) {
			uint64_t used = up->b.used;
			time_t window = up->b.window;

			budget_init(&up->b, cu->max_queries,
			    cu->max_queries_period);
			up->b.used = used;
			up->b.window = window;
		}
		atomic_fetch_add(&v->vc->refs, 1);
		vconf_unref(up->vc);
		up->vc = v->vc;
		up->cu = cu;
		up->seen = true;
		if (up->removed) {
			up->removed = false;
			health_init(&up->h, now);
		}
		if (map != NULL)
			map[i] = up;
		if (up->cu->nservers == 0 && uc->nres == 0)
			snprintf(up->h.reason, sizeof(up->h.reason),
			    "no resolver address (resolver: forward:, "
			    RESOLV_CONF ")");
		if (!ev_is_active(&up->probe_t) && up->probe == NULL)
			upc_arm_probe(up, now);
	}
	for (i = 0; i < uc->nups; ) {
		struct upstate *up = uc->ups[i];

		if (up->seen) {
			i++;
			continue;
		}
		up->removed = true;
		ev_timer_stop(uc->loop, &up->probe_t);
		if (up->refs == 0 && up->probe == NULL)
			upc_state_free(up);	/* moves the last one here */
		else
			i++;
	}
}

/* fill_info - what status and lookup show of up */
static void
fill_info(struct upstate *up, time_t now, struct upinfo *out)
{
	*out = up->n;
	out->name = up->name;
	out->zone = up->cu->zone;
	out->src = up->src;
	out->state = (int)up->h.state;
	snprintf(out->reason, sizeof(out->reason), "%s", up->h.reason);
	out->since = up->h.since;
	out->skipped = up->n.skipped;
	out->budget_max = up->b.max;
	out->budget_period = up->b.period;
	out->over_budget = budget_exhausted(&up->b, now);
	out->budget_used = up->b.window != 0 && up->b.period != 0 &&
	    now >= up->b.window + (time_t)up->b.period ? 0 : up->b.used;
}

/* upclient_info - one upstream of the current config */
bool
upclient_info(struct upclient *uc, const char *name, time_t now,
    struct upinfo *out)
{
	struct upstate *up;

	if (uc == NULL || (up = upstate_find(uc, name)) == NULL ||
	    up->removed)
		return false;
	fill_info(up, now, out);
	return true;
}

/* upclient_status - one line per upstream, in config order */
size_t
upclient_status(struct upclient *uc, time_t now, char *buf, size_t cap)
{
	const struct conf *c;
	struct upinfo in;
	struct tm tm;
	char since[32], budget[64];
	size_t len = 0, i;
	int n;

	if (cap == 0)
		return 0;
	buf[0] = '\0';
	if (uc == NULL || uc->vc == NULL)
		return 0;
	c = uc->vc->c;
	for (i = 0; i < c->nupstreams; i++) {
		if (!upclient_info(uc, c->upstreams[i].name, now, &in))
			continue;
		gmtime_r(&in.since, &tm);
		strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (in.budget_max > 0)
			snprintf(budget, sizeof(budget), "%" PRIu64 "/%" PRIu64
			    "/%" PRIu32 "s%s", in.budget_used, in.budget_max,
			    in.budget_period, in.over_budget ?
			    " over budget" : "");
		else
			snprintf(budget, sizeof(budget), "%" PRIu64
			    "/unlimited", in.budget_used);
		n = snprintf(buf + len, cap - len, "upstream %s %s: %s%s%s%s "
		    "since %s; lookups %" PRIu64 ", coalesced %" PRIu64
		    ", hits/stale/misses %" PRIu64 "/%" PRIu64 "/%" PRIu64
		    ", timeouts/errors %" PRIu64 "/%" PRIu64 ", skipped %"
		    PRIu64 ", budget %s\n", in.name, in.zone,
		    health_state_name((enum health_state)in.state),
		    in.reason[0] ? " (" : "", in.reason, in.reason[0] ? ")" :
		    "", since, in.lookups, in.coalesced, in.hits, in.stale,
		    in.misses, in.timeouts, in.errors, in.skipped, budget);
		if (n < 0 || (size_t)n >= cap - len) {
			buf[len] = '\0';
			break;
		}
		len += (size_t)n;
	}
	return len;
}

/* upclient_stop - answer every waiting query; close every socket */
void
upclient_stop(struct upclient *uc)
{
	struct outcome o;
	size_t i;

	if (uc == NULL)
		return;
	uc->stopping = true;
	if (ev_is_active(&uc->release)) {
		ev_ref(uc->loop);
		ev_prepare_stop(uc->loop, &uc->release);
		/* no watcher ends snapshots any more: each lookup its own */
		cache_reader_hold(uc->reader, false);
	}
	memset(&o, 0, sizeof(o));
	o.status = ANSWER_RES_FAILED;
	for (i = 0; i < uc->nups; i++)
		ev_timer_stop(uc->loop, &uc->ups[i]->probe_t);
	while (uc->all != NULL) {
		struct lookup *lk = uc->all;

		if (lk->probe != NULL) {
			struct probe *p = lk->probe;
			struct lookup *l2;

			for (l2 = lk; l2 != NULL; l2 = l2->anext)
				if (l2->probe == p)
					l2->probe = NULL;
			p->up->probe = NULL;
			free(p);
		}
		upc_deliver_all(lk, &o, false);
		upc_lookup_free(lk);
	}
}

/* upclient_free - after stop: what is still in flight is dropped */
void
upclient_free(struct upclient *uc)
{
	if (uc == NULL)
		return;
	upclient_stop(uc);
	while (uc->nups > 0)
		upc_state_free(uc->ups[0]);
	free(uc->ups);
	free(uc->map);
	vconf_unref(uc->vc);
	cache_reader_free(uc->reader);
	free(uc);
}
