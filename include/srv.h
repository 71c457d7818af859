/*
 * srv.h -- UDP and TCP listeners on libev.
 *
 * Knows bytes and peers, not DNS: every received message goes to the
 * handler, which writes a reply into the buffer it is given and returns
 * its length (0 = say nothing). UDP is read and answered in batches
 * (recvmmsg/sendmmsg). TCP follows RFC 7766: two-byte length framing,
 * several (pipelined) queries per connection, answered in order unless
 * the handler parks some (those are answered when ready, in any order,
 * RFC 7766 6.2.1.1; at most SRV_TCP_PARKED_MAX at once), an idle
 * timeout from the last answered message, a deadline for a partial
 * message, and a cap on connections: at the cap a new client closes the
 * connection idle the longest, else the one that has left its replies
 * unread the longest (stalled: the kernel's buffer for it is full), else
 * the one waiting longest with only parked messages owed (their late
 * answers are dropped), and is closed at once only when every
 * connection is busy being answered.
 * Each connection reads and answers a bounded amount per wake-up and
 * pauses while 16 KB of replies wait for the client, so TCP clients can
 * neither starve UDP, make the server buffer without bound, nor lock
 * other clients out by not reading.
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

/* Where a message came from, valid during the handler call only. */
struct srv_origin;

/*
 * Where to send an answer later: an owned copy of the origin (the peer,
 * for a wildcard UDP listener the address the query was sent to, the
 * socket or connection). A connection is named by slot and generation,
 * so an answer for one that has closed meanwhile finds it gone.
 */
struct srv_addr {
	struct sockaddr_storage peer;
	socklen_t	 peerlen;
	bool		 tcp;
	uint32_t	 sock;		/* UDP: the listener's index */
	uint32_t	 slot;		/* TCP: the connection's slot */
	uint32_t	 gen;		/* ... and its generation there */
	size_t		 ctllen;	/* UDP: IP(V6)_PKTINFO to answer from */
	uint8_t		 ctl[64];
};

/*
 * Handle one message from peer (from: its origin, for srv_origin_save).
 * tcp tells the transport. Write the reply into out (cap bytes) and
 * return its length; 0 to send nothing; SRV_PARKED when the message is
 * answered later: the handler has saved its origin and calls
 * srv_reply() once for it, with an answer or without (len 0).
 */
typedef size_t srv_handler_fn(void *ctx, const uint8_t *msg, size_t len,
    const struct sockaddr *peer, bool tcp, const struct srv_origin *from,
    uint8_t *out, size_t cap);
#define SRV_PARKED	((size_t)-1)

/*
 * A reply of many messages (a zone transfer): next() writes the next
 * message into out (cap bytes) and returns its length, 0 when the reply
 * is complete, or -1 to close the connection; done() releases arg, at
 * the end or when the connection closes first. The connection asks for
 * a message only while fewer than 16 KB of its replies wait for the
 * client, and one per loop iteration (making one costs hundreds of
 * lookups; UDP is read in between), so a
 * transfer goes at the pace the client reads and a client that stops
 * reading holds nothing but its own connection (it is then stalled: the
 * idle timeout and the client cap apply). Messages after the one that
 * started it are answered once it is complete.
 */
struct srv_stream {
	size_t		(*next)(void *arg, uint8_t *out, size_t cap, int *err);
	void		(*done)(void *arg);
	void		*arg;
};

/*
 * From the handler of a TCP message: answer it with st (copied) and
 * return SRV_STREAMING. RBLMUX_EINVAL over UDP.
 */
int	 srv_stream_start(const struct srv_origin *from,
	    const struct srv_stream *st);
#define SRV_STREAMING	((size_t)-2)

/* Answers a TCP connection may owe at once (parked messages) */
#define SRV_TCP_PARKED_MAX	16

/* Copy the origin of the message being handled into *to. */
void	 srv_origin_save(const struct srv_origin *from, struct srv_addr *to);

/*
 * Send the answer (len bytes; 0 = none) of a message the handler parked,
 * to where to says: over UDP from the socket and address it was sent
 * to, over TCP queued on its connection, which then reads and answers
 * again if the parked messages held it. Returns 0, RBLMUX_ENOENT when
 * the connection has closed (the answer is dropped), or -errno when a
 * datagram could not be sent (counted in send_errors).
 */
int	 srv_reply(struct srv *s, const struct srv_addr *to,
	    const uint8_t *msg, size_t len);

/*
 * Decide at accept whether peer may hold a TCP connection: false closes
 * it at once, before it counts against the cap. NULL = everyone may.
 */
typedef bool srv_accept_fn(void *ctx, const struct sockaddr *peer);

struct srv_opts {
	struct ev_loop	*loop;
	srv_handler_fn	*handler;
	srv_accept_fn	*accept;		/* NULL = accept everyone */
	void		*ctx;			/* for handler and accept */
	struct stats	*stats;			/* TCP counters */
	unsigned	 tcp_max_clients;
	double		 tcp_idle_timeout;	/* seconds */
	double		 tcp_message_timeout;	/* seconds for a partial message */
};

/* Create a server (no sockets yet). Returns NULL on failure. */
struct srv	*srv_new(const struct srv_opts *opts);

/*
 * Bind UDP and TCP sockets on sa and start serving. Returns 0 or a
 * negative RBLMUX_E* code (errno-based) with nothing left open.
 */
int	 srv_listen(struct srv *s, const struct sockaddr *sa, socklen_t salen);

/*
 * Change the TCP limits (on reload). Open connections follow the new
 * timeouts; a lower cap closes none of them at once.
 */
void	 srv_set_limits(struct srv *s, unsigned tcp_max_clients,
	    double tcp_idle_timeout, double tcp_message_timeout);

/* Stop reading new queries and close every connection. */
void	 srv_stop(struct srv *s);

/*
 * Stop reading new queries (graceful shutdown): idle TCP connections
 * close now; the others once the messages already read are answered
 * and every reply is written. srv_tcp_clients() tells how many are left.
 */
void	 srv_drain(struct srv *s);

unsigned srv_tcp_clients(const struct srv *s);

/* Of those, how many have replies waiting that the client does not read. */
unsigned srv_tcp_stalled(const struct srv *s);

/* Close everything. Accepts NULL. */
void	 srv_free(struct srv *s);

#endif /* RBLMUX_SRV_H */
