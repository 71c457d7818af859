/*
 * srv.h -- UDP and TCP listeners on libev.
 *
 * Knows bytes and peers, not DNS: every received message goes to the
 * handler, which writes a reply into the buffer it is given and returns
 * its length (0 = say nothing). UDP is read and answered in batches
 * (recvmmsg/sendmmsg). TCP follows RFC 7766: two-byte length framing,
 * several (pipelined) queries per connection answered in order, an idle
 * timeout, and a cap on connections (new ones beyond it are closed at
 * once, so slow TCP clients can never starve UDP).
 */
#ifndef RBLMUX_SRV_H
#define RBLMUX_SRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct ev_loop;
struct stats;
struct srv;

/*
 * Handle one message from peer. tcp tells the transport. Write the reply
 * into out (cap bytes) and return its length, or 0 to send nothing.
 */
typedef size_t srv_handler_fn(void *ctx, const uint8_t *msg, size_t len,
    const struct sockaddr *peer, bool tcp, uint8_t *out, size_t cap);

struct srv_opts {
	struct ev_loop	*loop;
	srv_handler_fn	*handler;
	void		*ctx;
	struct stats	*stats;			/* TCP counters */
	unsigned	 tcp_max_clients;
	double		 tcp_idle_timeout;	/* seconds */
};

/* Create a server (no sockets yet). Returns NULL on failure. */
struct srv	*srv_new(const struct srv_opts *opts);

/*
 * Bind UDP and TCP sockets on sa and start serving. Returns 0 or a
 * negative RBLMUX_E* code (errno-based) with nothing left open.
 */
int	 srv_listen(struct srv *s, const struct sockaddr *sa, socklen_t salen);

/* Change the TCP limits (on reload). */
void	 srv_set_limits(struct srv *s, unsigned tcp_max_clients,
	    double tcp_idle_timeout);

/* Stop reading new queries and close every connection. */
void	 srv_stop(struct srv *s);

/*
 * Stop reading new queries (graceful shutdown): idle TCP connections
 * close now, those with replies queued once the replies are written.
 * srv_tcp_clients() tells how many are left.
 */
void	 srv_drain(struct srv *s);

unsigned srv_tcp_clients(const struct srv *s);

/* Close everything. Accepts NULL. */
void	 srv_free(struct srv *s);

#endif /* RBLMUX_SRV_H */
