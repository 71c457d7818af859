/*
 * pending.h -- queries answered later (parked).
 *
 A query whose answer state (answer.h) misses remote results that the
 * registered source can provide (an upstream DNSBL, or in the test
 * binary a delayed one) is parked: it owns its answer state (values and
 * statuses, no pointer), its parsed question and a copy of the packet up
 * to the end of the question (what answer_write() reads: a query padded
 * to 64 KB costs no more than any other), where to answer it (struct srv_addr: peer, socket or
 * connection, PKTINFO destination), a reference to the view it was read
 * under (a reload frees nothing it uses), the reply size limit and a
 * deadline. The source delivers each result through pending_complete()
 * (answer_complete()); when none is missing any more, or at the
 * deadline (the missing ones contributing nothing: fail-open), the
 * reply is written by answer_write() and sent through srv_reply();
 * pending_stop() answers every parked query that way at once (graceful
 * shutdown). The view the answer comes from is the one the query was
 * read under.
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
struct answer_state;
struct dns_query;
struct answer_result;
struct subject;
struct pending;
struct pending_query;
struct rrl;

/*
 * What the query path asks of a source of remote results (an upstream
 * DNSBL; in the test binary a delayed one). It delivers one result per
 * source index of the query's answer state through pending_complete().
 */
struct pending_source {
	/*
	 * Complete now, through answer_complete(), every missing result of
	 * st (decided under v for subject s, asked with qtype at time now)
	 * that is at hand without waiting (a cache), and mark as failed
	 * those the source will not wait for. Returns st->missing
	 * afterwards. May be NULL.
	 */
	uint64_t (*fill)(void *arg, const struct view *v,
		    struct answer_state *st, const struct subject *s,
		    uint16_t qtype, time_t now);
	/*
	 * Can this source provide every result st (decided under v) is
	 * missing? Returns the most seconds the query may wait for them
	 * (its deadline from now), or 0: answer now, the missing results
	 * contributing nothing.
	 */
	double	(*wants)(void *arg, const struct view *v,
		    const struct answer_state *st);
	/*
	 * Begin the work for pq, whose state asks for the results of
	 * subject s (v, st and s valid during the call only); later call
	 * pending_complete(pq, ...) once for each missing source, never
	 * from within start(). Returns 0, or a negative RBLMUX_E* code: pq
	 * is then answered at once with what is known.
	 */
	int	(*start)(void *arg, struct ev_loop *loop,
		    struct pending_query *pq, const struct view *v,
		    const struct answer_state *st, const struct subject *s);
	/* pq is answered without the rest of the source's part: forget it. */
	void	(*cancel)(void *arg, struct pending_query *pq);
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

/*
 * Limit the answers to parked UDP queries with r (rrl.h; NULL = none):
 * a limited answer is dropped or sent truncated, as an immediate one.
 */
void	 pending_set_rrl(struct pending *p, struct rrl *r);

/* Change the cap (reload); queries parked over a lower one stay. */
void	 pending_set_max(struct pending *p, unsigned max);

/*
 * Park the message msg, parsed as q, whose answer state st (missing
 * remote results, for subject s) was decided under v; from tells where
 * to answer, limit bounds the reply and wait (seconds, > 0) the wait for
 * the source. The state, q and msg up to q->question_end are copied.
 * Returns 0 (the caller returns
 * SRV_PARKED), RBLMUX_ERANGE at the cap (drop the query), or another
 * negative RBLMUX_E* code (stopping, no memory, the source failed):
 * answer now with what is known.
 */
int	 pending_park(struct pending *p, struct view *v,
	    const struct answer_state *st, const struct subject *s,
	    const struct dns_query *q, const uint8_t *msg,
	    const struct srv_origin *from, size_t limit, double wait);

/*
 * Source index i's result r for pq (answer_complete()). When nothing is
 * missing any more pq is answered and freed: the source must not use it
 * again. Returns 0, or RBLMUX_EINVAL (i waits for no result, r is not
 * one; pq is kept).
 */
int	 pending_complete(struct pending_query *pq, size_t i,
	    const struct answer_result *r);

/* The results still missing for pq (bit i: source index i). */
uint64_t pending_missing(const struct pending_query *pq);

/* A pointer the source may keep with pq (NULL at first). */
void	**pending_source_data(struct pending_query *pq);

/* The type the client asked for (A, TXT, ANY, ...). */
uint16_t pending_qtype(const struct pending_query *pq);

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
