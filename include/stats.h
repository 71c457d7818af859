/*
 * stats.h -- cumulative counters, never reset while the server runs.
 *
 * Each event loop owns one struct stats and is the only one to update it
 * (no locking, no atomics on the query path); the counter sites reach it
 * through their loop's context. The control socket ("stats") and SIGUSR1
 * show the sum over the loops (stats_sum()). Every member is a uint64_t.
 */
#ifndef RBLMUX_STATS_H
#define RBLMUX_STATS_H

#include <stddef.h>
#include <stdint.h>

struct stats {
	uint64_t	 queries_udp;		/* packets received over UDP */
	uint64_t	 queries_tcp;		/* messages received over TCP */
	uint64_t	 rcode[16];		/* replies sent, by RCODE */
	uint64_t	 badvers;		/* BADVERS replies */
	uint64_t	 answers_listed;	/* NOERROR with data */
	uint64_t	 truncated;		/* TC=1 replies */
	uint64_t	 dropped;		/* malformed or responses, dropped */
	uint64_t	 acl_refused;		/* REFUSED by access-control */
	uint64_t	 acl_dropped;		/* dropped by access-control deny */
	uint64_t	 tcp_accepted;		/* TCP connections accepted */
	uint64_t	 tcp_rejected;		/* over tcp-max-clients, all busy */
	uint64_t	 tcp_denied;		/* closed at accept: access-control deny */
	uint64_t	 tcp_evicted;		/* closed to make room */
	uint64_t	 tcp_evicted_stalled;	/* ... of them, not reading */
	uint64_t	 tcp_timeouts;		/* closed idle or mid-message */
	uint64_t	 tcp_queued_peak;	/* most reply bytes queued, one conn */
	uint64_t	 send_errors;		/* replies that could not be sent */
	uint64_t	 pending_parked;	/* queries parked to answer later */
	uint64_t	 pending_exceeded;	/* dropped: max-pending reached */
	uint64_t	 pending_expired;	/* answered at their deadline */
	uint64_t	 pending_answered;	/* parked queries answered, by any path */
	uint64_t	 pending_now;		/* parked at this moment (a gauge: loops add up) */
	uint64_t	 pending_gone;		/* answers dropped: connection closed */
	uint64_t	 pending_peak;		/* most queries parked at once */
	uint64_t	 reloads;		/* views swapped in */
	uint64_t	 reload_failures;	/* reloads that kept the old view */
	uint64_t	 upstream_lookups;	/* lookups started for client queries
						   (prefetches included) */
	uint64_t	 upstream_queries;	/* datagrams and TCP queries sent
						   (retries and probes included) */
	uint64_t	 upstream_timeouts;	/* lookups with no answer in time */
	uint64_t	 upstream_errors;	/* lookups answered with an error */
	uint64_t	 upstream_mismatched;	/* datagrams discarded (RFC 5452) */
	uint64_t	 upstream_tcp;		/* TC=1: asked again over TCP */
	uint64_t	 upstream_coalesced;	/* queries joined to a lookup */
	uint64_t	 upstream_skipped;	/* not asked: over budget */
	uint64_t	 upstream_failed;	/* lookups that could not start
						   (sockets, in-flight cap) */
	uint64_t	 cache_hits;		/* fresh entries used */
	uint64_t	 cache_misses;		/* no usable entry: asked */
	uint64_t	 cache_stale;		/* expired entries served */
	uint64_t	 cache_prefetches;	/* refreshed before expiry */
	uint64_t	 rrl_dropped;		/* UDP replies not sent: over
						   rate-limit */
	uint64_t	 rrl_slipped;		/* ... sent truncated instead
						   (also in truncated) */
};

/*
 * Add the counters of src to dst; peaks (tcp_queued_peak) take the
 * larger of the two.
 */
void	 stats_add(struct stats *dst, const struct stats *src);

/* total = the sum (stats_add()) of the n loops' counters. */
void	 stats_sum(struct stats *total, const struct stats *const *loops,
	    size_t n);

/*
 * Write "name: value" lines into buf (cap bytes, NUL-terminated).
 * Returns the length.
 */
size_t	 stats_format(const struct stats *st, char *buf, size_t cap);

#endif /* RBLMUX_STATS_H */
