/*
 * query.h -- the server's message handler: access control, parsing,
 * protocol rules, answering, counting.
 *
 * Sits between srv.c (bytes and peers) and answer.c (DNSBL semantics).
 * Runs in the event loop; the view pointer is swapped by main.c between
 * loop iterations, never while a query is being handled.
 */
#ifndef RBLMUX_QUERY_H
#define RBLMUX_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct view;
struct acl;
struct stats;
struct pending;
struct srv_origin;

struct query_ctx {
	struct view	*view;		/* current view (borrowed) */
	struct acl	*acl;		/* current access control (borrowed) */
	struct stats	*st;
	struct pending	*pend;		/* parked queries */
};

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
 * srv_accept_fn: may peer hold a TCP connection? False for clients that
 * access-control denies (they would get no answer anyway); refused
 * clients are taken, to be answered REFUSED.
 */
bool	 query_accept(void *ctx, const struct sockaddr *peer);

#endif /* RBLMUX_QUERY_H */
