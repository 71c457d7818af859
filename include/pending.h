/*
 * pending.h -- queries answered later (parked).
 *
 * A query that waits for a source (an upstream DNSBL, or in the test
 * binary a delayed list) is parked: it owns a copy of its packet, where
 * to answer it (struct srv_addr: peer, socket or connection, PKTINFO
 * destination), a reference to the view it was read under (a reload
 * frees nothing it uses), the reply size limit and a deadline. It is
 * answered through srv_reply() when the source calls pending_ready(),
 * or at its deadline with what is known, as if the source contributed
 * nothing; pending_stop() answers every parked query that way at once
 * (graceful shutdown). The view the answer comes from is the one the
 * query was read under.
 *
 * Parked queries are capped (max-pending): over the cap a new query is
 * dropped and counted (pending.exceeded), as Unbound does when its
 * request list is full -- the client retries, usually at another
 * server. Nothing is allocated unless a query is parked.
 *
 * One source may be registered, before start-up (pending_set_source);
 * without one no query is ever parked. Event loop thread only.
 */
#ifndef RBLMUX_PENDING_H
#define RBLMUX_PENDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "srv.h"

struct ev_loop;
struct stats;
struct view;
struct dns_query;
struct pending;
struct pending_query;

/* What the query path asks of a source that answers later. */
struct pending_source {
	/*
	 * Does q (read under v) wait for this source? Returns the most
	 * seconds it may wait (its deadline from now), or 0: nothing to
	 * wait for, answer now.
	 */
	double	(*wants)(void *arg, const struct view *v,
		    const struct dns_query *q);
	/*
	 * Begin the work for pq, the query q read under v (both valid
	 * during the call only); call pending_ready(pq) once it is done.
	 * Returns 0, or a negative RBLMUX_E* code: pq is then answered at
	 * once with what is known.
	 */
	int	(*start)(void *arg, struct ev_loop *loop,
		    struct pending_query *pq, const struct view *v,
		    const struct dns_query *q);
	/* pq is answered without the source's part: forget it. */
	void	(*cancel)(void *arg, struct pending_query *pq);
	/*
	 * Write the answer to q (parsed from pkt) from v at now into out
	 * (cap bytes, limit for the reply): with the source's part
	 * (complete) or as if it contributed nothing. Stores the RCODE in
	 * *rcode; returns the length, 0 = send nothing.
	 */
	size_t	(*answer)(void *arg, const struct view *v,
		    const struct dns_query *q, const uint8_t *pkt,
		    size_t pktlen, time_t now, bool complete, uint8_t *out,
		    size_t cap, size_t limit, int *rcode);
	void	*arg;
};

/* The registered source, or NULL (then nothing is ever parked). */
extern const struct pending_source *pending_source;

/* Register the source (NULL: none). Before start-up only. */
void	 pending_set_source(const struct pending_source *src);

/*
 * A set of parked queries answered through s on loop, counting in st.
 * max: the cap (max-pending). Returns NULL when out of memory.
 */
struct pending	*pending_new(struct ev_loop *loop, struct srv *s,
		    struct stats *st, unsigned max);

/* Change the cap (reload); queries parked over a lower one stay. */
void	 pending_set_max(struct pending *p, unsigned max);

/*
 * Park the message msg (len bytes; q was parsed from it) read under v,
 * which from tells where to answer; limit bounds the reply and wait
 * (seconds, > 0) the wait for the source. Returns 0 (the caller
 * returns SRV_PARKED), RBLMUX_ERANGE at the cap (drop the query), or
 * another negative RBLMUX_E* code (stopping, no memory, the source
 * failed): answer now with what is known.
 */
int	 pending_park(struct pending *p, struct view *v,
	    const struct dns_query *q, const uint8_t *msg, size_t len,
	    const struct srv_origin *from, size_t limit, double wait);

/* The source's part of pq is ready: answer it now. */
void	 pending_ready(struct pending_query *pq);

/* A pointer the source may keep with pq (NULL at first). */
void	**pending_source_data(struct pending_query *pq);

/* How many queries are parked. */
unsigned pending_count(const struct pending *p);

/*
 * Stop: answer every parked query now with what is known, and park no
 * more (pending_park() then says to answer at once).
 */
void	 pending_stop(struct pending *p);

/* Drop every parked query unanswered and free p. Accepts NULL. */
void	 pending_free(struct pending *p);

#endif /* RBLMUX_PENDING_H */
