/*
 * upstream_int.h -- what the parts of the upstream client share: the
 * per-upstream state, lookups and their waiters, probes, the client.
 *
 *   upstream.c         per-upstream state across views, the
 *                      pending_source (fill, wants, start, cancel),
 *                      apply, status, stop;
 *   upstream_lookup.c  one question on the wire: UDP tries, TCP after
 *                      TC=1, the in-flight table, caching an answer and
 *                      delivering it to the waiting queries;
 *   upstream_probe.c   health: probes and what a change of state does.
 *
 * Private to those three files. Event loop thread only.
 */
#ifndef RBLMUX_UPSTREAM_INT_H
#define RBLMUX_UPSTREAM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <ev.h>

#include "answer.h"
#include "cache.h"
#include "conf.h"
#include "dnsmsg.h"
#include "health.h"
#include "pending.h"
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
#define LINGER_SECS	2.		/* a finished lookup answers repeats */
#define LINGER_MAX	4096		/* ... at most this many kept */

struct lookup;
struct waiter;
struct probe;

/* What an answer or a cache entry says, before mapping to a source */
struct outcome {
	enum answer_result_status status;
	uint32_t		 a[UPRESP_MAX_A];
	unsigned		 na;
	uint32_t		 ttl;
	const char		*txt;
	size_t			 txt_len;
};

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
	const struct conf_upstream *cu;	/* of the query's view: what its
					   code indices refer to */
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
	uint64_t		 src;		/* cache_src_id() of the zone
						   qname is in (a reload may
						   change the upstream's) */
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
	bool			 lingering;	/* done, kept a moment so a
						   repeat need not wait for
						   the cache's write */
	struct outcome		 done;		/* ... what it found */
	time_t			 done_at;
};

/* The three questions of one health probe. */
struct probe {
	struct upstate		*up;
	unsigned		 left;
	enum upresp_kind	 res[3];
	bool			 silent[3];
	char			 subj[3][64];	/* as text, for the reason */
	char			 why[96];
	bool			 unsent[3];	/* could not be sent (no
						   socket, in-flight cap):
						   says nothing of the
						   upstream */
};

/* A listing fill() used, for on_listed. */
#define UPC_SEEN_MAX	256
struct upc_seen {
	const struct conf_upstream *cu;
	uint32_t		 a[UPRESP_MAX_A];
	size_t			 na;
	struct cache_key	 key;
	time_t			 now;
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
	size_t			 lingering;
	bool			 stopping;
	struct pending_source	 source;
	ev_prepare		 release;	/* ends the reader's snapshot
						   before the loop waits */
	struct cache_rec	 rec;		/* fill()'s one record */
	upclient_listed_fn	*on_listed;	/* upclient_on_listed() */
	upclient_listed_wants_fn *on_listed_wants;
	void			*on_listed_arg;
	struct upc_seen		 seen[UPC_SEEN_MAX];	/* listings fill()
						   used, told before the loop
						   waits (no allocation while
						   answering) */
	size_t			 nseen;
};


/* upstream.c */

/* Free up (removed from the config, nothing uses it any more). */
void	 upc_state_free(struct upstate *up);
/* A lookup is done with up: free it when removed and unused. */
void	 upc_release(struct upstate *up);
/*
 * Server k (modulo their number) of up's list -- its own server:
 * addresses, else the resolver's -- into *sa; returns how many there
 * are (0: none, *sa untouched).
 */
size_t	 upc_server(const struct upstate *up, size_t k,
	    struct sockaddr_storage *sa, socklen_t *len);

/*
 * An upstream (clause cu) listed the subject of cache key k with codes
 * a[0..na-1] at now: tell upclient_on_listed()'s function, if any; with
 * later, after the loop's iteration (upc_listed_flush(): while a query
 * is answered nothing may allocate), or never when UPC_SEEN_MAX wait.
 */
void	 upc_listed(struct upclient *uc, const struct conf_upstream *cu,
	    const uint32_t *a, size_t na, const struct cache_key *k,
	    time_t now, bool later);
void	 upc_listed_flush(struct upclient *uc);

/* upstream_lookup.c */

/* A random query ID (getrandom()). */
uint16_t upc_random16(void);
/* What outcome o says for result `code` of upstream cu (-1: its own). */
void	 upc_map(const struct conf_upstream *cu, int code,
	    const struct outcome *o, struct answer_result *r);
/* The same for cache entry e with TTL ttl (upc_map of upc_from_entry). */
void	 upc_map_entry(const struct conf_upstream *cu, int code,
	    const struct cache_ent *e, uint32_t ttl, struct answer_result *r);
/* The outcome cache entry e says, with TTL ttl (its TXT when txt). */
void	 upc_from_entry(const struct cache_ent *e, uint32_t ttl, bool txt,
	    struct outcome *o);
/* May the expired entry e serve at now (serve-stale; 0: never)? */
bool	 upc_stale_ok(const struct cache_ent *e, uint32_t serve_stale,
	    time_t now);
/*
 * A lookup of qname for up, not sent, not in the in-flight table; NULL
 * when out of memory or at UPSTREAM_MAX_INFLIGHT.
 */
struct lookup *upc_lookup_new(struct upclient *uc, struct upstate *up,
	    const uint8_t *qname, size_t qlen, bool txt);
/*
 * The lookup in flight for (up, s, txt) -- *joined set -- or a new one
 * in the in-flight table, not sent yet; NULL as upc_lookup_new(), or
 * when s has no name in up's zone.
 */
struct lookup *upc_lookup_client(struct upclient *uc, struct upstate *up,
	    const struct subject *s, bool txt, bool *joined);
/* A TXT lookup whose listing the cache holds fresh asks the TXT alone. */
void	 upc_txt_only(struct lookup *lk, time_t now);
/* Send the first try; a lookup that cannot fails from the loop. */
void	 upc_lookup_go(struct lookup *lk);
/*
 * A lookup of (up, s, txt) that finished a moment ago (its answer may
 * not be in the cache yet): its outcome into *o, TTL as left at now.
 */
bool	 upc_recent(struct upclient *uc, struct upstate *up,
	    const struct subject *s, bool txt, time_t now, struct outcome *o);
/* Take lk out of the in-flight table (nothing joins it any more). */
void	 upc_unhash(struct lookup *lk);
void	 upc_lookup_free(struct lookup *lk);
/* o to every waiter of lk (with a_only, those not waiting for TXT). */
void	 upc_deliver_all(struct lookup *lk, const struct outcome *o,
	    bool a_only);
/* Take w off its lookup and its query's list (not freed). */
void	 upc_unlink_waiter(struct waiter *w);

/* upstream_probe.c */

/* The probe timer of up to its health's next_probe. */
void	 upc_arm_probe(struct upstate *up, time_t now);
/* Health event e: one log line on a change; disabled drops positives. */
void	 upc_set_health(struct upstate *up, enum health_event e, time_t now,
	    const char *detail);
/*
 * Answer i of probe p is in: kind k (silent: none, or SERVFAIL and the
 * like), why the validator's reason. The last one decides and frees p.
 */
void	 upc_probe_done(struct probe *p, int i, enum upresp_kind k,
	    bool silent, const char *why);
void	 upc_probe_cb(struct ev_loop *loop, ev_timer *w, int revents);

#endif /* RBLMUX_UPSTREAM_INT_H */
