/*
 * upstream.h -- the upstream DNSBL client: fan-out, coalescing, health,
 * budgets, and the cache in front of them.
 *
 * One struct upclient per process, created at start-up before the first
 * view and kept across reloads: the cache, each upstream's health and
 * budget (bound to the config by upstream name), the in-flight lookups
 * and their sockets outlive views. upclient_apply() binds a new view's
 * upstream: clauses (new ones start UNKNOWN and are probed at once;
 * removed ones are forgotten once nothing waits for them) and resolver
 * addresses (`forward:`, else the nameservers of /etc/resolv.conf).
 *
 * It is the pending_source (pending.h) of bin/rblmuxd:
 *
 *   fill()   one cache get per query: every missing upstream result
 *            that the cache holds fresh is completed at once (mapped
 *            to the source's code); an upstream that is DISABLED
 *            contributes nothing; one of another family than the
 *            subject is never asked (not listed); one that is DOWN or over its budget
 *            contributes its stale entry (within serve-stale, short
 *            TTL) or nothing, and is not waited for;
 *   wants()  the resolver timeout: the one deadline of the query;
 *   start()  one lookup per upstream zone still missing (A; TXT as well
 *            when the client asks TXT for a listed subject), joined to
 *            an identical lookup already in flight (coalescing);
 *   cancel() the query is answered: it stops waiting.
 *
 * A lookup: a fresh UDP socket connected to the server (kernel-chosen
 * random source port; datagrams from another address or port never
 * reach it), a random ID, `attempts` tries spread over `timeout` across
 * the servers, TC=1 retried over TCP; each datagram read goes through
 * upresp_parse(): a MISMATCH is discarded and the wait goes on. A valid
 * answer is cached (positive TTL from the answer, negative from the SOA,
 * clamped to ttl-min/ttl-max and negative-ttl-max), counted in the
 * upstream's health, and delivered to every query waiting for it. An
 * error (rcode, error code, invalid code) or silence delivers "failed"
 * (or the stale entry within serve-stale), is never cached, and counts
 * against health. Entries hit shortly before expiry are refreshed in
 * the background (prefetch).
 *
 * Event loop thread only (the one loop given at creation).
 */
#ifndef RBLMUX_UPSTREAM_H
#define RBLMUX_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct ev_loop;
struct cache;
struct cache_key;
struct stats;
struct view;
struct subject;
struct pending_source;
struct upclient;
struct answer_state;

/* Short TTL of a stale answer (RFC 8767 suggests 30 s) */
#define UPSTREAM_STALE_TTL	30
/* Lookups in flight at most; beyond, a lookup fails at once */
#define UPSTREAM_MAX_INFLIGHT	8192

/*
 * A client for loop, with the cache c (may be NULL: no cache), counting
 * in st. Returns NULL when out of memory.
 */
struct upclient *upclient_new(struct ev_loop *loop, struct cache *c,
	    struct stats *st);

/*
 * Bind v's upstreams and resolver (called when v is swapped in, and
 * before the first query). Never fails: an upstream that cannot be set
 * up is DOWN with the reason.
 */
void	 upclient_apply(struct upclient *uc, const struct view *v);

/*
 * The client of bin/rblmuxd's loop, or NULL (none yet, or the test
 * daemon's delayed source answers instead): what the control socket
 * reads status and lookups from. Set and read on the loop thread.
 */
extern struct upclient *upclient_main;

/*
 * Is every result st (decided under v) misses an upstream's? A query
 * missing another kind (escalation) is answered at once.
 */
bool	 upstream_only_missing(const struct view *v,
	    const struct answer_state *st);

/*
 * Told each time uc stores an upstream's listing of an address (a lookup
 * answered) or uses one fresh from the cache: the upstream (its clause,
 * in the config it was asked under), the codes, the address (family
 * AF_INET: 4 bytes, AF_INET6: 16). Names are not told. What a query
 * used from the cache is told once the loop's iteration ends (at most
 * UPC_SEEN_MAX a time, more are not told), so that answering allocates
 * nothing. Escalation rules
 * count these sightings. One function per client; NULL turns it off.
 */
struct conf_upstream;
typedef void upclient_listed_fn(void *arg, const struct conf_upstream *cu,
    const uint32_t *a, size_t na, int family, const uint8_t *addr,
    time_t now);
/* Is a listing of cu to be told at all (NULL: always)? Asked first. */
typedef bool upclient_listed_wants_fn(void *arg,
    const struct conf_upstream *cu);
void	 upclient_on_listed(struct upclient *uc, upclient_listed_fn *fn,
	    upclient_listed_wants_fn *wants, void *arg);

/* The pending_source of uc. */
const struct pending_source *upclient_source(struct upclient *uc);

/*
 * What fill() would complete of st (decided under v for subject s) for
 * an A query at time now, without its side effects: no counter moves,
 * no prefetch starts, no access time is refreshed (the control socket's
 * lookup). Returns the results still missing.
 */
uint64_t upclient_peek(struct upclient *uc, const struct view *v,
	    struct answer_state *st, const struct subject *s, time_t now);

/* Append the status lines of every upstream to buf; returns the length
   written (at most cap - 1, NUL-terminated). */
size_t	 upclient_status(struct upclient *uc, time_t now, char *buf,
	    size_t cap);

/* What status and lookup show of one upstream. */
struct upinfo {
	const char	*name;		/* valid until the next apply */
	const char	*zone;
	uint64_t	 src;		/* cache_src_id(zone) */
	int		 state;		/* enum health_state */
	char		 reason[128];
	time_t		 since;		/* in this state since */
	uint64_t	 queries;	/* sent (attempts, TCP retries and
					   probes included) */
	uint64_t	 lookups;	/* started for client queries */
	uint64_t	 coalesced;	/* client queries joined to one */
	uint64_t	 timeouts;	/* lookups with no answer in time */
	uint64_t	 errors;	/* lookups answered with an error */
	uint64_t	 hits;		/* fresh cache entries used */
	uint64_t	 stale;		/* stale entries served */
	uint64_t	 misses;	/* no usable entry: asked */
	uint64_t	 skipped;	/* not asked: over budget */
	uint64_t	 budget_used;	/* in the current window */
	uint64_t	 budget_max;	/* 0 = unlimited */
	uint32_t	 budget_period;	/* seconds */
	bool		 over_budget;
};

/* The info of upstream `name` at now into *out; false when unknown. */
bool	 upclient_info(struct upclient *uc, const char *name, time_t now,
	    struct upinfo *out);

/*
 * After a flush: a lookup that finished a moment ago no longer answers
 * repeats (fill() looks there after the cache) for the subject k (NULL:
 * any) of the upstream whose cache source id is src (0: any), so the
 * next query asks the upstream again.
 */
void	 upclient_forget(struct upclient *uc, const struct cache_key *k,
	    uint64_t src);

/* The cache uc uses (NULL: none). */
struct cache *upclient_cache(struct upclient *uc);

/* Answer every waiting query and close every socket (shutdown). */
void	 upclient_stop(struct upclient *uc);
void	 upclient_free(struct upclient *uc);		/* accepts NULL */

#endif /* RBLMUX_UPSTREAM_H */
