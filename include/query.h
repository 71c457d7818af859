/*
 * query.h -- the server's message handler: access control, parsing,
 * protocol rules, answering, counting.
 *
 * Sits between srv.c (bytes and peers) and answer.c (DNSBL semantics).
 * Runs in the event loop; the view pointer is swapped by reload.c between
 * loop iterations, never while a query is being handled. Each loop has
 * its own query_ctx: counters and log limiter are not shared.
 */
#ifndef RBLMUX_QUERY_H
#define RBLMUX_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

struct answer_state;
struct view;
struct stats;
struct pending;
struct rrl;
struct srv_origin;

/* Per-query log lines allowed in one second. */
#define QUERY_LOG_PER_SEC	50

/* The per-query log rate limiter of one loop. */
struct query_loglimit {
	time_t		 second;	/* the second being counted */
	unsigned	 lines;		/* asked for in it */
	unsigned	 skipped;	/* refused in it */
};

/* One loop's query state. */
struct query_ctx {
	struct view	*view;		/* current view (borrowed); its access
					   control decides who is answered */
	struct stats	*st;		/* the loop's counters */
	struct pending	*pend;		/* the loop's parked queries */
	struct rrl	*rrl;		/* the loop's UDP rate limiter, or
					   NULL */
	struct query_loglimit loglimit;
};

/*
 * May one more per-query log line be written at now? True for the
 * first QUERY_LOG_PER_SEC asked for in each second. When now is another
 * second than the last one asked about, *skipped is set to the number
 * refused in that last one (to be logged once), else to 0.
 */
bool	 query_log_allow(struct query_loglimit *ll, time_t now,
	    unsigned *skipped);

/*
 * srv_handler_fn: answer one message; returns the reply length or 0, or
 * SRV_PARKED when a source must be waited for (pending.h): the query is
 * answered later from the same view.
 */
size_t	 query_handle(void *ctx, const uint8_t *msg, size_t len,
	    const struct sockaddr *peer, bool tcp, const struct srv_origin *from,
	    uint8_t *out, size_t cap);

/* Count the reply out (len bytes, RCODE rcode) in st. */
void	 query_count(struct stats *st, const uint8_t *out, size_t len,
	    int rcode);

/*
 * Response rate limiting of the UDP reply out (n bytes) to peer, for a
 * query that fell in zone (NULL = none): returns n to send it as it is,
 * 0 to drop it, or the length of its truncated form (rrl.h), counted in
 * st. r may be NULL or off: then n.
 */
size_t	 query_limit(struct rrl *r, struct stats *st,
	    const struct sockaddr *peer, const char *zone, uint8_t *out,
	    size_t n);

/* The zone a query decided as st under v fell in, or NULL. */
const char *query_zone(const struct view *v, const struct answer_state *st);

/*
 * srv_accept_fn: may peer hold a TCP connection? False for clients that
 * access-control denies (they would get no answer anyway); refused
 * clients are taken, to be answered REFUSED.
 */
bool	 query_accept(void *ctx, const struct sockaddr *peer);

#endif /* RBLMUX_QUERY_H */
