/*
 * upstream.c -- the upstream DNSBL client: per-upstream state (health,
 * budget, counters), the cache in front, lookups on the wire (UDP with
 * retries, TCP after TC=1), coalescing, probes, and the pending_source
 * that parks client queries on them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "answer.h"
#include "cache.h"
#include "conf.h"
#include "dnsmsg.h"
#include "err.h"
#include "health.h"
#include "log.h"
#include "pending.h"
#include "stats.h"
#include "upresp.h"
#include "upstream.h"
#include "view.h"

#define RESOLV_CONF	"/etc/resolv.conf"
#define MAX_RESOLVERS	8
#define LK_BUCKETS	1024		/* in-flight table (power of two) */
#define TOUCH_EVERY	60		/* cache access time, seconds */
#define PREFETCH_DIV	10		/* refresh in the last tenth of a TTL */
#define UDP_READS	16		/* datagrams read per wake-up */
#define TCP_MAX		(2 + 65535)
#define QBUF		(DNS_HDRLEN + DNS_MAXNAME + 4 + 11)

struct lookup;
struct waiter;
struct probe;

/* One upstream, by name, across views. */
struct upstate {
	struct upclient		*uc;
	char			*name;		/* owned */
	struct vconf		*vc;		/* referenced: cu lives in it */
	const struct conf_upstream *cu;	/* codes, error codes, servers */
	uint64_t		 src;		/* cache_src_id(zone) */
	struct health		 h;
	struct budget		 b;
	struct upinfo		 n;		/* counters (name etc. unset) */
	ev_timer		 probe_t;
	struct probe		*probe;		/* in flight, or NULL */
	unsigned		 refs;		/* lookups using it */
	bool			 removed;	/* not in the current config */
	bool			 seen;		/* apply: in the new config */
};

/* A client query waiting for one lookup. */
struct waiter {
	struct waiter		*next, *prev;	/* of the lookup */
	struct waiter		*pq_next;	/* of the pending query */
	struct lookup		*lk;
	struct pending_query	*pq;
	uint64_t		 bits;		/* its source indices */
	bool			 want_txt;
	int16_t			 code[ANSWER_MAX_SRC];	/* per index */
};

enum lk_phase {
	PH_A = 0,
	PH_TXT,
	PH_DONE,
};

/* One question to one upstream, in flight. */
struct lookup {
	struct upclient		*uc;
	struct upstate		*up;
	struct lookup		*hnext;		/* in-flight table */
	struct lookup		*anext, *aprev;	/* every lookup */
	bool			 hashed;
	struct waiter		*waiters;
	struct probe		*probe;		/* a probe's, or NULL */
	int			 pidx;
	bool			 want_txt;	/* TXT after a listing */
	bool			 has_key;
	struct cache_key	 key;
	uint8_t			 qname[DNS_MAXNAME];
	size_t			 qlen;
	enum lk_phase		 phase;
	struct upresp		 ares;		/* the A answer (PH_TXT) */
	unsigned		 attempt;	/* next attempt to send */
	unsigned		 attempts;
	ev_tstamp		 t0, step, end;
	int			 fd;
	bool			 tcp;
	uint16_t		 id;
	uint8_t			 q[QBUF + 2];	/* the query (TCP: framed) */
	size_t			 qsz;
	uint8_t			*tbuf;		/* TCP reply */
	size_t			 toff, tsent;
	struct sockaddr_storage	 sa;		/* the server of this try */
	socklen_t		 salen;
	ev_io			 io;
	ev_timer		 t;
};

/* The three questions of one health probe. */
struct probe {
	struct upstate		*up;
	unsigned		 left;
	enum upresp_kind	 res[3];
	bool			 silent[3];
	char			 subj[3][64];	/* as text, for the reason */
	char			 why[96];
};

struct upclient {
	struct ev_loop		*loop;
	struct cache		*cache;
	struct cache_reader	*reader;
	struct stats		*st;
	struct vconf		*vc;		/* referenced: the current conf */
	struct upstate		**ups;
	size_t			 nups;
	struct upstate		**map;		/* per vc->c->upstreams */
	size_t			 nmap;
	struct sockaddr_storage	 res[MAX_RESOLVERS];
	socklen_t		 reslen[MAX_RESOLVERS];
	size_t			 nres;
	struct lookup		*tab[LK_BUCKETS];
	struct lookup		*all;		/* every lookup in flight */
	size_t			 inflight;
	bool			 stopping;
	struct pending_source	 source;
	struct cache_rec	 rec;		/* fill()'s one record */
};

struct upclient *upclient_main;

/* What an answer or a cache entry says, before mapping to a source */
struct outcome {
	enum answer_result_status status;
	uint32_t		 a[UPRESP_MAX_A];
	unsigned		 na;
	uint32_t		 ttl;
	const char		*txt;
	size_t			 txt_len;
};

static void	fail(struct lookup *, bool);
static void	io_cb(struct ev_loop *, ev_io *, int);
static void	timer_cb(struct ev_loop *, ev_timer *, int);
static void	probe_start(struct upstate *);
static void	probe_cb(struct ev_loop *, ev_timer *, int);

static uint16_t
random16(void)
{
	uint16_t v;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v))
		v = (uint16_t)random();
	return v;
}

/* --- per-upstream state ------------------------------------------------ */

static void
upstate_free(struct upstate *up)
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

/* upstate_release - a lookup is done with up */
static void
upstate_release(struct upstate *up)
{
	if (--up->refs == 0 && up->removed && up->probe == NULL)
		upstate_free(up);
}

static struct upstate *
upstate_find(struct upclient *uc, const char *name)
{
	size_t i;

	for (i = 0; i < uc->nups; i++)
		if (strcmp(uc->ups[i]->name, name) == 0)
			return uc->ups[i];
	return NULL;
}

/* upstate_of - the state of upstream index idx of v's config */
static struct upstate *
upstate_of(struct upclient *uc, const struct view *v, int idx)
{
	if (idx < 0 || (size_t)idx >= v->conf->nupstreams)
		return NULL;
	if (uc->vc != NULL && v->conf == uc->vc->c && uc->map != NULL &&
	    (size_t)idx < uc->nmap)
		return uc->map[idx];
	return upstate_find(uc, v->conf->upstreams[idx].name);
}

/* arm_probe - the probe timer to h.next_probe */
static void
arm_probe(struct upstate *up, time_t now)
{
	struct upclient *uc = up->uc;

	if (up->removed || up->probe != NULL || uc->stopping)
		return;
	ev_timer_stop(uc->loop, &up->probe_t);
	ev_timer_set(&up->probe_t, up->h.next_probe > now ?
	    (double)(up->h.next_probe - now) : 0., 0.);
	ev_timer_start(uc->loop, &up->probe_t);
}

/* set_health - feed an event; log a change (one line) and act on it */
static void
set_health(struct upstate *up, enum health_event e, time_t now,
    const char *detail)
{
	struct upclient *uc = up->uc;
	time_t since = up->h.last_good_probe;
	enum health_state old = up->h.state;

	if (!health_event(&up->h, e, now, detail))
		return;
	if (up->h.state == HEALTH_UP)
		log_info("upstream %s: up%s", up->name,
		    old == HEALTH_UNKNOWN ? "" : " again");
	else
		log_warnx("upstream %s: %s (%s)", up->name,
		    health_state_name(up->h.state), up->h.reason);
	if (up->h.state == HEALTH_DISABLED && uc->cache != NULL)
		cache_drop_positives(uc->cache, up->src, since);
	arm_probe(up, now);
}

/* servers - where up's queries go: its own server: list, else the resolver */
static size_t
servers(const struct upstate *up, size_t k, struct sockaddr_storage *sa,
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

/* --- results ----------------------------------------------------------- */

/* map - what outcome o says for result `code` of up */
static void
map(const struct upstate *up, int code, const struct outcome *o,
    struct answer_result *r)
{
	uint32_t a;

	memset(r, 0, sizeof(*r));
	r->status = o->status;
	r->ttl = o->ttl;
	if (o->status != ANSWER_RES_LISTED)
		return;
	if (code >= 0 && (size_t)code >= up->cu->ncodes)
		code = -1;
	a = upresp_code_listed(up->cu, code, o->a, o->na);
	if (a == 0) {
		r->status = ANSWER_RES_NOT_LISTED;
		return;
	}
	r->a[0] = a;
	r->na = 1;
	/* answer_complete() copies txt_len bytes: never from NULL */
	r->txt = o->txt != NULL ? o->txt : "";
	r->txt_len = o->txt != NULL ? o->txt_len : 0;
}

/* from_entry - the outcome a cache entry says, with TTL ttl */
static void
from_entry(const struct cache_ent *e, uint32_t ttl, bool txt,
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

/* zsrc - the vsource of state index i */
static const struct vsource *
zsrc(const struct view *v, const struct answer_state *st, size_t i)
{
	const struct vzone *z = &v->zones[st->zone];

	return &z->src[st->only != 0 ? st->only - 1u : i];
}

/* clamp_ttl - the TTL a valid answer is cached with */
static uint32_t
clamp_ttl(const struct upclient *uc, bool listed, uint32_t ttl)
{
	const struct conf_server *cs = &uc->vc->c->server;

	if (!listed) {
		if (ttl > cs->negative_ttl_max)
			ttl = cs->negative_ttl_max;
		return ttl;
	}
	if (ttl < cs->ttl_min)
		ttl = cs->ttl_min;
	if (cs->ttl_max > 0 && ttl > cs->ttl_max)
		ttl = cs->ttl_max;
	return ttl;
}

/* --- the in-flight table ----------------------------------------------- */

static size_t
lk_hash(const struct upstate *up, const uint8_t *qname, size_t qlen,
    bool txt)
{
	uint32_t h = view_zhash(qname, qlen);

	h ^= (uint32_t)((uintptr_t)up >> 4) * 0x9e3779b9U;
	return (h ^ (txt ? 0x5bd1e995U : 0)) & (LK_BUCKETS - 1);
}

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

static void
lk_unhash(struct lookup *lk)
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

/* --- sockets ------------------------------------------------------------ */

static void
close_fd(struct lookup *lk)
{
	if (lk->fd < 0)
		return;
	ev_io_stop(lk->uc->loop, &lk->io);
	close(lk->fd);
	lk->fd = -1;
}

static void
lookup_free(struct lookup *lk)
{
	struct upclient *uc = lk->uc;

	close_fd(lk);
	ev_timer_stop(uc->loop, &lk->t);
	lk_unhash(lk);
	if (lk->aprev != NULL)
		lk->aprev->anext = lk->anext;
	else
		uc->all = lk->anext;
	if (lk->anext != NULL)
		lk->anext->aprev = lk->aprev;
	free(lk->tbuf);
	uc->inflight--;
	upstate_release(lk->up);
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
	if (servers(lk->up, lk->attempt, &lk->sa, &lk->salen) == 0)
		return RBLMUX_ENOENT;
	lk->id = random16();
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

/* --- delivery ----------------------------------------------------------- */

/* unlink_waiter - take w off its lookup and its query's list */
static void
unlink_waiter(struct waiter *w)
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
	const struct upstate *up = w->lk->up;
	struct pending_query *pq = w->pq;
	struct answer_result r;
	uint64_t bits = w->bits;
	int16_t code[ANSWER_MAX_SRC];
	size_t i;

	memcpy(code, w->code, sizeof(code));
	unlink_waiter(w);
	free(w);
	while (bits != 0) {
		bool last;

		i = (size_t)__builtin_ctzll(bits);
		bits &= bits - 1;
		last = pending_missing(pq) == UINT64_C(1) << i;
		map(up, code[i], o, &r);
		pending_complete(pq, i, &r);
		if (last)
			break;		/* pq was answered and freed */
	}
}

/* deliver_all - o to every waiter (only those not waiting for TXT) */
static void
deliver_all(struct lookup *lk, const struct outcome *o, bool a_only)
{
	struct waiter *w, *next;

	for (w = lk->waiters; w != NULL; w = next) {
		next = w->next;
		if (!a_only || !w->want_txt)
			deliver(w, o);
	}
}

/* stale - the cached entry to serve when a lookup fails, if any */
static bool
stale(struct lookup *lk, time_t now, struct outcome *o)
{
	struct upclient *uc = lk->uc;
	struct cache_ent e;

	if (uc->reader == NULL || !lk->has_key || uc->vc == NULL ||
	    cache_lookup(uc->reader, &lk->key, &uc->rec) != 0 ||
	    !cache_rec_get(&uc->rec, lk->up->src, &e) ||
	    (time_t)e.expires + (time_t)uc->vc->c->server.serve_stale < now)
		return false;
	from_entry(&e, UPSTREAM_STALE_TTL, true, o);
	return true;
}

/* probe_done - one of a probe's three answers (kind k) is in */
static void
probe_done(struct probe *p, int i, enum upresp_kind k, bool silent,
    const char *why)
{
	struct upstate *up = p->up;
	time_t now = time(NULL);
	enum health_event e = HEV_PROBE_GOOD;
	char detail[128];
	int j;

	p->res[i] = k;
	p->silent[i] = silent;
	if ((k == UPRESP_ERROR || silent) && why != NULL && why[0] != '\0' &&
	    p->why[0] == '\0')
		snprintf(p->why, sizeof(p->why), "%s", why);
	if (--p->left > 0)
		return;
	detail[0] = '\0';
	for (j = 0; j < 3 && e == HEV_PROBE_GOOD; j++)
		if (p->silent[j]) {
			e = HEV_PROBE_SILENT;
			snprintf(detail, sizeof(detail), "%s%s%s", p->subj[j],
			    p->why[0] ? ": " : "", p->why);
		}
	for (j = 1; j < 3 && e == HEV_PROBE_GOOD; j++)
		if (p->res[j] == UPRESP_LISTED) {
			e = HEV_PROBE_WORLD;
			snprintf(detail, sizeof(detail), "%s listed",
			    p->subj[j]);
		}
	for (j = 0; j < 3 && e == HEV_PROBE_GOOD; j++)
		if (p->res[j] == UPRESP_ERROR || (j == 0 &&
		    p->res[j] != UPRESP_LISTED)) {
			e = HEV_PROBE_ERROR;
			if (p->res[j] == UPRESP_ERROR && p->why[0] != '\0')
				snprintf(detail, sizeof(detail), "%s", p->why);
			else
				snprintf(detail, sizeof(detail), "test point "
				    "%s not listed", p->subj[j]);
		}
	up->probe = NULL;
	free(p);
	if (up->removed) {
		if (up->refs == 0)
			upstate_free(up);
		return;
	}
	set_health(up, e, now, detail[0] != '\0' ? detail : NULL);
	arm_probe(up, now);
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
	struct outcome so;

	lk->phase = PH_DONE;
	lk_unhash(lk);
	close_fd(lk);
	ev_timer_stop(uc->loop, &lk->t);
	if (lk->probe != NULL) {
		struct sockaddr_storage sa;
		socklen_t len;

		probe_done(lk->probe, lk->pidx, UPRESP_MISMATCH, true,
		    servers(up, 0, &sa, &len) == 0 ? "no server address "
		    "(resolver forward:, " RESOLV_CONF ")" : NULL);
		lk->probe = NULL;
	} else if (try_stale && lk->waiters != NULL &&
	    stale(lk, time(NULL), &so)) {
		up->n.stale++;
		uc->st->cache_stale++;
		o = &so;
	}
	deliver_all(lk, o, false);
	lookup_free(lk);
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

	if (lk->phase == PH_TXT) {
		/* the listing is known: deliver it without its reason */
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
		set_health(lk->up, HEV_QUERY_TIMEOUT, time(NULL),
		    "lookups not answered in time");
	}
	lookup_finish(lk, failed_outcome(), timeout);
}

/* put - cache what lookup lk found (o), at now */
static void
put(struct lookup *lk, const struct outcome *o, time_t now)
{
	struct cache_ent e;

	if (lk->uc->cache == NULL || !lk->has_key ||
	    !health_trusted(&lk->up->h))
		return;
	memset(&e, 0, sizeof(e));
	e.src = lk->up->src;
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
		probe_done(lk->probe, lk->pidx, r->kind, r->kind ==
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
		set_health(up, r->rcode != 0 ? HEV_QUERY_TIMEOUT :
		    HEV_QUERY_ERROR, now, r->why);
		lookup_finish(lk, failed_outcome(), r->rcode != 0);
		return true;
	}
	set_health(up, HEV_QUERY_OK, now, NULL);
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
			deliver_all(lk, &o, true);
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
	lookup_finish(lk, &o, false);
	return true;
}

/* --- I/O ---------------------------------------------------------------- */

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

	if (lk->fd < 0 && lk->attempt == 0 && lk->phase == PH_A &&
	    lk->t0 == 0) {
		fail(lk, false);	/* could not start */
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

/* --- starting lookups --------------------------------------------------- */

/*
 * lookup_new - a lookup of qname for up (not sent yet). Returns NULL
 * when out of memory or at the in-flight cap.
 */
static struct lookup *
lookup_new(struct upclient *uc, struct upstate *up, const uint8_t *qname,
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

/* lookup_go - send the first try; on failure fail soon (from the loop) */
static void
lookup_go(struct lookup *lk)
{
	struct upclient *uc = lk->uc;
	const struct conf_resolver *rs = &uc->vc->c->resolver;
	double timeout = rs->timeout_ms / 1000.;

	lk->attempts = rs->attempts > 0 ? rs->attempts : 1;
	lk->t0 = ev_now(uc->loop);
	lk->end = lk->t0 + timeout;
	lk->step = timeout / lk->attempts;
	if (try_next(lk))
		return;
	uc->st->upstream_failed++;
	lk->t0 = 0;
	lk->attempt = 0;
	ev_timer_set(&lk->t, 0., 0.);
	ev_timer_start(uc->loop, &lk->t);
}

/* lookup_client - find or start the lookup for (up, qname, txt) */
static struct lookup *
lookup_client(struct upclient *uc, struct upstate *up,
    const struct subject *s, bool txt, bool *joined)
{
	uint8_t qname[DNS_MAXNAME];
	size_t qlen = upresp_qname(s, up->cu->zone, qname);
	struct lookup *lk;

	*joined = false;
	if (qlen == 0)
		return NULL;
	if ((lk = lk_find(uc, up, qname, qlen, txt)) != NULL ||
	    (!txt && (lk = lk_find(uc, up, qname, qlen, true)) != NULL)) {
		*joined = true;
		return lk;
	}
	if ((lk = lookup_new(uc, up, qname, qlen, txt)) == NULL)
		return NULL;
	lk->has_key = cache_key_subject(s, &lk->key) == 0;
	lk->hnext = uc->tab[lk_hash(up, qname, qlen, txt)];
	uc->tab[lk_hash(up, qname, qlen, txt)] = lk;
	lk->hashed = true;
	return lk;
}

/*
 * txt_only - a TXT lookup whose listing the cache holds fresh asks the
 * TXT alone
 */
static void
txt_only(struct lookup *lk, time_t now)
{
	struct upclient *uc = lk->uc;
	struct cache_ent e;

	if (uc->reader == NULL || !lk->has_key ||
	    cache_lookup(uc->reader, &lk->key, &uc->rec) != 0 ||
	    !cache_rec_get(&uc->rec, lk->up->src, &e) ||
	    e.status != CACHE_LISTED || (time_t)e.expires <= now || e.na == 0)
		return;
	lk->phase = PH_TXT;
	lk->ares.kind = UPRESP_LISTED;
	lk->ares.na = e.na > UPRESP_MAX_A ? UPRESP_MAX_A : e.na;
	memcpy(lk->ares.a, e.a, sizeof(lk->ares.a));
	lk->ares.ttl = (uint32_t)(e.expires - now);
}

/* add_waiter - pq waits for lk with the sources in bits */
static struct waiter *
add_waiter(struct lookup *lk, struct pending_query *pq, uint64_t bits,
    bool txt, const int16_t *code)
{
	struct waiter *w = calloc(1, sizeof(*w));
	void **head = pending_source_data(pq);

	if (w == NULL)
		return NULL;
	w->lk = lk;
	w->pq = pq;
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

/* want_txt - does the client's type ask for TXT? */
static bool
want_txt(uint16_t qtype)
{
	return qtype == DNS_TYPE_TXT || qtype == DNS_TYPE_ANY;
}

/* prefetch - refresh s's entry of up in the background */
static void
prefetch(struct upclient *uc, struct upstate *up, const struct subject *s)
{
	struct lookup *lk;
	bool joined;

	if (uc->stopping || (lk = lookup_client(uc, up, s, false,
	    &joined)) == NULL || joined)
		return;
	if (!budget_take(&up->b, time(NULL))) {
		lk_unhash(lk);
		lookup_free(lk);
		return;
	}
	uc->st->cache_prefetches++;
	uc->st->upstream_lookups++;
	up->n.lookups++;
	lookup_go(lk);
}

/*
 * fill - complete from the cache what it holds fresh; fail what will
 * not be waited for; serve stale entries of upstreams that are down
 */
static uint64_t
src_fill(void *arg, const struct view *v, struct answer_state *st,
    const struct subject *s, uint16_t qtype, time_t now)
{
	struct upclient *uc = arg;
	struct cache_key key;
	struct cache_ent e;
	struct outcome o;
	struct answer_result r;
	uint64_t todo = st->missing;
	bool looked = false, have = false, txt = want_txt(qtype);
	size_t i;

	for (i = 0; todo != 0; i++, todo >>= 1) {
		const struct vsource *src;
		struct upstate *up;
		bool usable, over;

		if (!(todo & 1))
			continue;
		src = zsrc(v, st, i);
		if (src->kind != VSRC_UPSTREAM)
			continue;
		up = upstate_of(uc, v, src->upstream);
		memset(&o, 0, sizeof(o));
		o.status = ANSWER_RES_FAILED;
		if (up == NULL || !health_trusted(&up->h) || (s->kind ==
		    SUBJ_NAME && s->name_len + 1 + strlen(up->cu->zone) >
		    CONF_DNAME_MAX)) {
			map(up, -1, &o, &r);
			answer_complete(st, i, &r);
			continue;
		}
		if (!looked) {
			looked = true;
			have = uc->reader != NULL &&
			    cache_key_subject(s, &key) == 0 &&
			    cache_lookup(uc->reader, &key, &uc->rec) == 0;
			if (have && uc->cache != NULL &&
			    (time_t)uc->rec.atime + TOUCH_EVERY < now)
				cache_touch(uc->cache, &key, now);
		}
		over = budget_exhausted(&up->b, now);
		usable = health_usable(&up->h) && !over;
		if (have && cache_rec_get(&uc->rec, up->src, &e)) {
			if ((time_t)e.expires > now && !(txt && usable &&
			    e.status == CACHE_LISTED && (!e.has_txt ||
			    (time_t)e.txt_expires <= now))) {
				from_entry(&e, (uint32_t)(e.expires - now),
				    true, &o);
				map(up, src->code, &o, &r);
				answer_complete(st, i, &r);
				up->n.hits++;
				uc->st->cache_hits++;
				if (usable && e.ttl >= PREFETCH_DIV &&
				    (time_t)e.expires - now <=
				    (time_t)(e.ttl / PREFETCH_DIV))
					prefetch(uc, up, s);
				continue;
			}
			if (!usable && (time_t)e.expires +
			    (time_t)v->conf->server.serve_stale >= now) {
				from_entry(&e, UPSTREAM_STALE_TTL, true, &o);
				map(up, src->code, &o, &r);
				answer_complete(st, i, &r);
				up->n.stale++;
				uc->st->cache_stale++;
				continue;
			}
		}
		if (!usable) {
			if (over) {
				up->n.skipped++;
				uc->st->upstream_skipped++;
			}
			map(up, -1, &o, &r);
			answer_complete(st, i, &r);
		}
	}
	return st->missing;
}

/* upstream_only_missing - is every result st misses an upstream's? */
bool
upstream_only_missing(const struct view *v, const struct answer_state *st)
{
	size_t i;

	for (i = 0; i < st->nsrc; i++)
		if ((st->missing >> i & 1) &&
		    zsrc(v, st, i)->kind != VSRC_UPSTREAM)
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
		unlink_waiter(w);
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
		if (st->missing >> i & 1 && zsrc(v, st, i)->kind ==
		    VSRC_UPSTREAM)
			ups[i] = upstate_of(uc, v, zsrc(v, st, i)->upstream);
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
				code[j] = (int16_t)zsrc(v, st, j)->code;
			}
		done |= bits;
		lk = lookup_client(uc, up, s, txt, &joined);
		if (lk != NULL && joined) {
			up->n.coalesced++;
			uc->st->upstream_coalesced++;
		} else if (lk != NULL && !budget_take(&up->b, now)) {
			up->n.skipped++;
			uc->st->upstream_skipped++;
			lk_unhash(lk);		/* fails from the loop */
			ev_timer_set(&lk->t, 0., 0.);
			ev_timer_start(uc->loop, &lk->t);
		} else if (lk != NULL) {
			up->n.lookups++;
			up->n.misses++;
			uc->st->upstream_lookups++;
			uc->st->cache_misses++;
			if (txt)
				txt_only(lk, now);
			lookup_go(lk);
		} else {
			/* no memory, or UPSTREAM_MAX_INFLIGHT: answer now */
			uc->st->upstream_failed++;
			src_cancel(uc, pq);
			return RBLMUX_ENOMEM;
		}
		if (add_waiter(lk, pq, bits, txt, code) == NULL) {
			src_cancel(uc, pq);
			return RBLMUX_ENOMEM;
		}
	}
	return 0;
}

/* --- health probes ------------------------------------------------------ */

/* probe_subject - the i-th test subject of a family (RFC 5782) */
static void
probe_subject(enum conf_family f, int i, struct subject *s)
{
	static const char *const names[3] = { "test", "invalid", NULL };
	uint16_t r = random16();

	memset(s, 0, sizeof(*s));
	switch (f) {
	case FAMILY_IP6:
		s->kind = SUBJ_IP6;
		if (i == 2) {
			/* 2001:db8::x (RFC 3849) */
			s->ip6[0] = 0x20;
			s->ip6[1] = 0x01;
			s->ip6[2] = 0x0d;
			s->ip6[3] = 0xb8;
			s->ip6[14] = (uint8_t)(r >> 8);
			s->ip6[15] = (uint8_t)(r | 1);
		} else {
			s->ip6[10] = s->ip6[11] = 0xff;
			s->ip6[12] = 127;
			s->ip6[15] = i == 0 ? 2 : 1;
		}
		break;
	case FAMILY_NAME:
		s->kind = SUBJ_NAME;
		if (names[i] != NULL)
			snprintf(s->name, sizeof(s->name), "%s", names[i]);
		else	/* a name under example.com (RFC 2606) */
			snprintf(s->name, sizeof(s->name),
			    "rblmux-%04x.example.com", r);
		s->name_len = strlen(s->name);
		break;
	default:
		s->kind = SUBJ_IP4;
		/* 127.0.0.2, 127.0.0.1, 192.0.2.x (RFC 5737) */
		s->ip4 = i == 0 ? 0x7f000002U : i == 1 ? 0x7f000001U :
		    0xc0000200U | (uint32_t)(1 + r % 254);
		break;
	}
}

/* subject_text - s as text (reasons) */
static void
subject_text(const struct subject *s, char *buf, size_t cap)
{
	uint32_t a = htonl(s->ip4);

	if (s->kind == SUBJ_IP4)
		inet_ntop(AF_INET, &a, buf, (socklen_t)cap);
	else if (s->kind == SUBJ_IP6)
		inet_ntop(AF_INET6, s->ip6, buf, (socklen_t)cap);
	else
		snprintf(buf, cap, "%s", s->name);
}

/* probe_start - three lookups, neither cached nor budgeted */
static void
probe_start(struct upstate *up)
{
	struct upclient *uc = up->uc;
	struct probe *p;
	struct subject s;
	uint8_t qname[DNS_MAXNAME];
	size_t qlen;
	int i;

	if (up->probe != NULL || up->removed || uc->stopping)
		return;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		up->h.next_probe = time(NULL) + HEALTH_PROBE_BAD;
		arm_probe(up, time(NULL));
		return;
	}
	p->up = up;
	p->left = 3;
	up->probe = p;
	for (i = 0; i < 3; i++) {
		struct lookup *lk;

		probe_subject(up->cu->family, i, &s);
		subject_text(&s, p->subj[i], sizeof(p->subj[i]));
		qlen = upresp_qname(&s, up->cu->zone, qname);
		lk = qlen != 0 ? lookup_new(uc, up, qname, qlen, false) : NULL;
		if (lk == NULL) {
			probe_done(p, i, UPRESP_MISMATCH, true, NULL);
			continue;
		}
		lk->probe = p;
		lk->pidx = i;
		lookup_go(lk);
	}
}

static void
probe_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	probe_start(w->data);
	(void)loop;
	(void)revents;
}

/* --- the client --------------------------------------------------------- */

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
	uc->source.fill = src_fill;
	uc->source.wants = src_wants;
	uc->source.start = src_start;
	uc->source.cancel = src_cancel;
	uc->source.arg = uc;
	return uc;
}

const struct pending_source *
upclient_source(struct upclient *uc)
{
	return &uc->source;
}

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
	ev_timer_init(&up->probe_t, probe_cb, 0., 0.);
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
			arm_probe(up, now);
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
			upstate_free(up);	/* moves the last one here */
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
		deliver_all(lk, &o, false);
		lookup_free(lk);
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
		upstate_free(uc->ups[0]);
	free(uc->ups);
	free(uc->map);
	vconf_unref(uc->vc);
	cache_reader_free(uc->reader);
	free(uc);
}
