/*
 * srv.c -- UDP and TCP listeners (libev).
 *
 * UDP: one socket per listen address, drained in batches of BATCH
 * datagrams with recvmmsg() and answered with one sendmmsg(). A wildcard
 * address (0.0.0.0, ::) asks the kernel for the destination address of
 * each datagram (IP_PKTINFO / IPV6_RECVPKTINFO) and answers from it, so
 * multi-homed hosts reply from the address that was asked.
 *
 * TCP (RFC 7766): each connection has a read buffer that holds at least
 * one whole message, an output queue of framed replies (pipelined
 * queries are answered in order, but a message the handler parks is
 * answered when ready, in any order: RFC 7766 6.2.1.1) and one timer.
 * The work per wake-up is bounded: at most TCP_READ bytes are read, and
 * messages are answered one at a time while fewer than TCP_OUT_CAP reply
 * bytes wait for the client; at the cap, answering and reading pause
 * until the client reads.
 * While SRV_TCP_PARKED_MAX messages are parked, answering and reading
 * pause too: each parked message may add one reply when it is answered.
 * So a connection holds at most its read buffer plus TCP_OUT_CAP and
 * SRV_TCP_PARKED_MAX + 1 replies, and no client can keep the loop from
 * the UDP sockets.
 *
 * A parked message keeps a struct srv_addr: for UDP the peer, the
 * socket and the destination address (PKTINFO), for TCP the
 * connection's slot and the slot's generation, which changes when the
 * connection closes, so a late answer finds it gone and is dropped.
 *
 * The timer closes a connection idle for tcp-idle-timeout since its last
 * answered message or last reply bytes written, or one whose partial
 * message is not whole tcp-message-timeout after we began waiting for
 * its rest (bytes that trickle in do not count as activity).
 *
 * Each connection is on one of four lists, by what it waits for: idle
 * (nothing: no reply queued, no message waiting), busy (us: messages
 * waiting for their share of the next iteration), stalled (the client:
 * the kernel's buffer is full of replies it has not read, and more
 * replies or messages wait behind them) and waiting (a source: it has
 * parked messages and nothing we could answer or write now). Idle,
 * stalled and waiting ones are kept in order of last activity -- for a
 * stalled one, when it stalled or last read. When every slot is taken, a
 * new client closes the head of the idle list (RFC 7766 6.2.3), else the
 * head of the stalled list: a client that does not read its replies is
 * the one to give way, so clients that pipeline and never read cannot
 * lock others out; else the head of the waiting list, whose parked
 * answers are then dropped, so clients that keep a query parked on
 * every connection cannot lock others out either. A busy connection is
 * never closed to make room.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/sockios.h>

#include <ev.h>

#include "err.h"
#include "log.h"
#include "srv.h"
#include "stats.h"

#define BATCH		32		/* datagrams per recvmmsg */
#define UDP_MAX		4096		/* largest query/reply we handle */
#define TCP_MAX		65535		/* largest TCP message */
#define TCP_READ	4096		/* bytes read per wake-up */
#define TCP_OUT_CAP	16384		/* queued reply bytes that pause answering */
#define OUT_MAX		(TCP_OUT_CAP + \
			 (SRV_TCP_PARKED_MAX + 1) * (2 + TCP_MAX)) /* largest queue */
#define TCP_SNDBUF	65536		/* SO_SNDBUF (the kernel doubles it) */
#define UDP_RCVBUF	(4 << 20)	/* SO_RCVBUF of the UDP listeners */
#define TCP_SHARE	256		/* messages per loop iteration, shared */
#define TCP_SHARE_MIN	2		/* ... but this many for each connection */
#define MAX_ROUNDS	8		/* batches per wakeup, for fairness */
#define LOAD_WINDOW	0.1		/* seconds the UDP rate is taken over */
#define BUSY_RATE	20000.0		/* datagrams/s from which wake-ups wait */
#define GATHER		(3 * BATCH)	/* ... to find about this many, */
#define GATHER_MAX	0.00075		/* ... at most this long, seconds */

struct srv;

/* what a TCP connection waits for; it sits on the list of that name */
enum conn_state {
	CONN_IDLE,		/* nothing: we owe it no answer or reply */
	CONN_BUSY,		/* us: messages wait for their share */
	CONN_STALLED,		/* the client: to read, so we can write */
	CONN_WAITING,		/* a source: only parked messages are owed */
	CONN_NSTATES
};

struct udp_sock {
	ev_io		 io;		/* first: callbacks cast back */
	struct srv	*srv;
	uint32_t	 idx;		/* in srv->udp */
	int		 fd;
	int		 family;
	bool		 pktinfo;	/* wildcard bind: track destination */
};

struct tcp_listener {
	ev_io		 io;
	ev_timer	 pause;		/* out of descriptors: retry later */
	struct srv	*srv;
	int		 fd;
};

struct conn {
	ev_io		 rio;		/* first */
	ev_io		 wio;
	ev_timer	 timer;		/* idle or partial-message deadline */
	struct srv	*srv;
	int		 fd;
	bool		 eof;		/* the client will send no more */
	bool		 lingering;	/* stopping: FIN sent, input discarded */
	enum conn_state	 state;		/* and the list it is on */
	double		 last;		/* last message answered or bytes sent */
	double		 listed;	/* last, when put on its list */
	double		 partial;	/* waiting for a message's rest since */
	double		 armed;		/* when the timer fires */
	uint32_t	 slot;		/* in srv->slots */
	unsigned	 parked;	/* messages the handler answers later */
	unsigned	 iter;		/* loop iteration of the share below */
	unsigned	 share;		/* messages it may still answer in it */
	struct sockaddr_storage peer;
	struct srv_stream stream;	/* a reply of many messages, when
					   stream.next is set */
	size_t		 inoff, inlen;	/* unanswered input: in[inoff, inlen) */
	uint8_t		*out;		/* framed replies queued */
	size_t		 outlen, outoff, outcap;
	struct conn	*prev, *next;
	uint8_t		 in[2 + TCP_MAX];	/* last: not cleared at accept */
};

/* A connection's place for srv_addr handles; gen counts its closes */
struct conn_slot {
	struct conn	*c;		/* NULL: free */
	uint32_t	 gen;
	uint32_t	 next;		/* free list: next free index + 1 */
};

/* The origin of the message being handled (srv_origin_save) */
struct srv_origin {
	struct udp_sock	*u;		/* UDP, or NULL */
	struct msghdr	*rh;		/* UDP: the datagram's header */
	struct conn	*c;		/* TCP */
};

struct conn_list {
	struct conn	*head, *tail;
	unsigned	 n;
};

struct srv {
	struct ev_loop	*loop;
	srv_handler_fn	*handler;
	srv_accept_fn	*accept;
	void		*ctx;
	struct stats	*st;
	unsigned	 max_clients;
	double		 idle;		/* tcp-idle-timeout, seconds */
	double		 msg;		/* tcp-message-timeout, seconds */
	struct udp_sock	**udp;
	size_t		 nudp;
	struct tcp_listener **tcp;
	size_t		 ntcp;
	struct conn_list conns[CONN_NSTATES];	/* by state; but busy:
						   oldest first */
	unsigned	 nconns;
	struct conn_slot *slots;
	uint32_t	 nslots;
	uint32_t	 free_slot;	/* first free index + 1, 0 = none */
	bool		 draining;	/* stopping: no new queries */
	double		 load_since;	/* UDP rate: window start, */
	unsigned long	 load_n;	/* ... datagrams in it */
	double		 gather;	/* the loop's io collect interval */
	/* UDP batch buffers, reused for every batch */
	struct mmsghdr	 rmsg[BATCH], smsg[BATCH];
	struct iovec	 riov[BATCH], siov[BATCH];
	struct sockaddr_storage peers[BATCH];
	uint8_t		 rctl[BATCH][64], sctl[BATCH][64];
	uint8_t		 rbuf[BATCH][UDP_MAX];
	uint8_t		 sbuf[BATCH][UDP_MAX];
	uint8_t		 tbuf[TCP_MAX];		/* one TCP reply */
};

static void	udp_cb(struct ev_loop *, ev_io *, int);
static void	accept_cb(struct ev_loop *, ev_io *, int);
static void	accept_resume_cb(struct ev_loop *, ev_timer *, int);
static void	conn_read_cb(struct ev_loop *, ev_io *, int);
static void	conn_write_cb(struct ev_loop *, ev_io *, int);
static void	conn_timer_cb(struct ev_loop *, ev_timer *, int);

/* srv_new - a server with no sockets yet */
struct srv *
srv_new(const struct srv_opts *o)
{
	struct srv *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->loop = o->loop;
	s->handler = o->handler;
	s->accept = o->accept;
	s->ctx = o->ctx;
	s->st = o->stats;
	srv_set_limits(s, o->tcp_max_clients, o->tcp_idle_timeout,
	    o->tcp_message_timeout);
	return s;
}

/* is_wildcard - bound to every address of its family? */
static bool
is_wildcard(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)sa)
		    ->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(
	    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
}

/* open_socket - socket, options, bind; -errno on failure */
static int
open_socket(const struct sockaddr *sa, socklen_t salen, int type)
{
	int fd, on = 1, rcvbuf = UDP_RCVBUF;

	fd = socket(sa->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (type == SOCK_DGRAM)		/* absorb bursts (capped by rmem_max) */
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, sa, salen) != 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

/* srv_listen - UDP and TCP on one address */
int
srv_listen(struct srv *s, const struct sockaddr *sa, socklen_t salen)
{
	struct udp_sock *u = NULL;
	struct tcp_listener *t = NULL;
	void *p;
	int ufd, tfd, on = 1, rc;

	ufd = open_socket(sa, salen, SOCK_DGRAM);
	if (ufd < 0)
		return ufd;
	tfd = open_socket(sa, salen, SOCK_STREAM);
	if (tfd < 0) {
		close(ufd);
		return tfd;
	}
	if (listen(tfd, 128) != 0) {
		rc = -errno;
		goto fail;
	}
	u = calloc(1, sizeof(*u));
	t = calloc(1, sizeof(*t));
	if (u == NULL || t == NULL) {
		rc = RBLMUX_ENOMEM;
		goto fail;
	}
	u->srv = t->srv = s;
	u->idx = (uint32_t)s->nudp;
	u->fd = ufd;
	t->fd = tfd;
	u->family = sa->sa_family;
	if (is_wildcard(sa)) {
		u->pktinfo = true;
		if (sa->sa_family == AF_INET)
			setsockopt(ufd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
		else
			setsockopt(ufd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on,
			    sizeof(on));
	}
	if ((p = realloc(s->udp, (s->nudp + 1) * sizeof(*s->udp))) == NULL) {
		rc = RBLMUX_ENOMEM;
		goto fail;
	}
	s->udp = p;
	if ((p = realloc(s->tcp, (s->ntcp + 1) * sizeof(*s->tcp))) == NULL) {
		rc = RBLMUX_ENOMEM;
		goto fail;
	}
	s->tcp = p;
	s->udp[s->nudp++] = u;
	s->tcp[s->ntcp++] = t;
	ev_io_init(&u->io, udp_cb, ufd, EV_READ);
	ev_io_start(s->loop, &u->io);
	ev_io_init(&t->io, accept_cb, tfd, EV_READ);
	ev_timer_init(&t->pause, accept_resume_cb, 0.1, 0.);
	ev_io_start(s->loop, &t->io);
	return 0;
fail:
	free(u);
	free(t);
	close(ufd);
	close(tfd);
	return rc;
}

/* copy_pktinfo - answer from the address the query was sent to */
static size_t
copy_pktinfo(struct msghdr *rh, uint8_t *ctl, size_t cap)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(rh); c != NULL; c = CMSG_NXTHDR(rh, c)) {
		if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) ||
		    (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO)) {
			if (c->cmsg_len > cap)
				return 0;
			memcpy(ctl, c, c->cmsg_len);
			if (c->cmsg_level == IPPROTO_IP) {
				struct in_pktinfo *pi = (struct in_pktinfo *)
				    (void *)CMSG_DATA((struct cmsghdr *)(void *)ctl);

				pi->ipi_spec_dst = pi->ipi_addr;
				pi->ipi_ifindex = 0;
			}
			return CMSG_SPACE(c->cmsg_len - CMSG_LEN(0));
		}
	}
	return 0;
}

/*
 * udp_pace - count n datagrams; once per LOAD_WINDOW, set how long the
 * loop waits before each poll. Busy, it waits to find about GATHER
 * datagrams per wake-up (at most GATHER_MAX), so the wake-up and the
 * system calls are shared by many queries; otherwise it does not wait,
 * and a lone query is answered at once.
 */
static void
udp_pace(struct srv *s, unsigned n)
{
	double now = ev_now(s->loop), dt = now - s->load_since, rate, wait;

	s->load_n += n;
	if (dt < LOAD_WINDOW)
		return;
	rate = (double)s->load_n / dt;
	wait = 0.;
	if (rate >= BUSY_RATE) {
		wait = GATHER / rate;
		if (wait > GATHER_MAX)
			wait = GATHER_MAX;
	}
	if (wait != s->gather) {
		ev_set_io_collect_interval(s->loop, wait);
		s->gather = wait;
	}
	s->load_since = now;
	s->load_n = 0;
}

/* udp_cb - drain a UDP socket in batches */
static void
udp_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct udp_sock *u = (struct udp_sock *)w;
	struct srv *s = u->srv;
	int round, n, i, nout, sent;

	for (round = 0; round < MAX_ROUNDS; round++) {
		for (i = 0; i < BATCH; i++) {
			struct msghdr *h = &s->rmsg[i].msg_hdr;

			s->riov[i].iov_base = s->rbuf[i];
			s->riov[i].iov_len = UDP_MAX;
			memset(h, 0, sizeof(*h));
			h->msg_name = &s->peers[i];
			h->msg_namelen = sizeof(s->peers[i]);
			h->msg_iov = &s->riov[i];
			h->msg_iovlen = 1;
			if (u->pktinfo) {
				h->msg_control = s->rctl[i];
				h->msg_controllen = sizeof(s->rctl[i]);
			}
		}
		n = recvmmsg(u->fd, s->rmsg, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		udp_pace(s, (unsigned)n);
		nout = 0;
		for (i = 0; i < n; i++) {
			struct msghdr *rh = &s->rmsg[i].msg_hdr;
			struct msghdr *sh = &s->smsg[nout].msg_hdr;
			struct srv_origin from = { u, rh, NULL };
			size_t len;

			if (rh->msg_flags & MSG_TRUNC)
				continue;	/* no real query is that big */
			len = s->handler(s->ctx, s->rbuf[i], s->rmsg[i].msg_len,
			    (struct sockaddr *)&s->peers[i], false, &from,
			    s->sbuf[nout], UDP_MAX);
			if (len == 0 || len == SRV_PARKED)
				continue;
			memset(sh, 0, sizeof(*sh));
			s->siov[nout].iov_base = s->sbuf[nout];
			s->siov[nout].iov_len = len;
			sh->msg_name = &s->peers[i];
			sh->msg_namelen = rh->msg_namelen;
			sh->msg_iov = &s->siov[nout];
			sh->msg_iovlen = 1;
			if (u->pktinfo) {
				size_t cl = copy_pktinfo(rh, s->sctl[nout],
				    sizeof(s->sctl[nout]));

				if (cl > 0) {
					sh->msg_control = s->sctl[nout];
					sh->msg_controllen = cl;
				}
			}
			nout++;
		}
		for (i = 0; i < nout; i += sent) {
			sent = sendmmsg(u->fd, s->smsg + i, nout - i,
			    MSG_DONTWAIT);
			if (sent <= 0) {
				/* a full socket buffer drops one reply, not all */
				if (s->st != NULL)
					s->st->send_errors++;
				sent = 1;
			}
		}
		if (n < BATCH)
			return;
	}
	(void)loop;
	(void)revents;
}

/* list_add - append c to the tail of l */
static void
list_add(struct conn_list *l, struct conn *c)
{
	c->next = NULL;
	c->prev = l->tail;
	if (l->tail != NULL)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
	l->n++;
}

/* list_del - take c off l */
static void
list_del(struct conn_list *l, struct conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		l->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		l->tail = c->prev;
	c->prev = c->next = NULL;
	l->n--;
}

/* conn_close - end a TCP connection */
static void
conn_close(struct conn *c)
{
	struct srv *s = c->srv;

	ev_io_stop(s->loop, &c->rio);
	ev_io_stop(s->loop, &c->wio);
	ev_timer_stop(s->loop, &c->timer);
	close(c->fd);
	s->slots[c->slot].c = NULL;
	s->slots[c->slot].gen++;	/* late answers find it gone */
	s->slots[c->slot].next = s->free_slot;
	s->free_slot = c->slot + 1;
	list_del(&s->conns[c->state], c);
	s->nconns--;
	if (c->stream.next != NULL)
		c->stream.done(c->stream.arg);
	free(c->out);
	free(c);
}

/* queued - reply bytes not yet handed to the kernel */
static size_t
queued(const struct conn *c)
{
	return c->outlen - c->outoff;
}

/* msg_ready - is a whole message waiting in the read buffer? */
static bool
msg_ready(const struct conn *c)
{
	size_t have = c->inlen - c->inoff;

	return have >= 2 && have - 2 >=
	    ((size_t)c->in[c->inoff] << 8 | c->in[c->inoff + 1]);
}

/* can_answer - is a whole message waiting that serve() may answer? */
static bool
can_answer(const struct conn *c)
{
	return c->stream.next != NULL ||
	    (c->parked < SRV_TCP_PARKED_MAX && msg_ready(c));
}

/*
 * conn_deadline - when the connection's timer should close it; never
 * idle while answers are owed to it
 */
static double
conn_deadline(const struct conn *c)
{
	if (c->partial > 0)
		return c->partial + c->srv->msg;
	if (c->parked > 0)
		return ev_now(c->srv->loop) + c->srv->idle;
	return c->last + c->srv->idle;
}

/*
 * conn_arm - make the timer fire no later than the deadline. A later
 * deadline leaves it alone: conn_timer_cb looks again when it fires.
 */
static void
conn_arm(struct conn *c)
{
	struct ev_loop *loop = c->srv->loop;
	double at = conn_deadline(c);

	if (ev_is_active(&c->timer) && c->armed <= at)
		return;
	ev_timer_stop(loop, &c->timer);
	ev_timer_set(&c->timer, at - ev_now(loop), 0.);
	ev_timer_start(loop, &c->timer);
	c->armed = at;
}

/* watch - start or stop an I/O watcher */
static void
watch(struct ev_loop *loop, ev_io *w, bool on)
{
	if (on && !ev_is_active(w))
		ev_io_start(loop, w);
	else if (!on && ev_is_active(w))
		ev_io_stop(loop, w);
}

/*
 * conn_finish - stopping, and every reply is with the kernel. A close()
 * with unread input would reset the connection and drop the replies the
 * kernel has not sent yet: while it holds some, send FIN after them and
 * read and discard until the client closes (the stop deadline in
 * main.c bounds the wait).
 */
static void
conn_finish(struct conn *c)
{
	int unsent = 0;

	if (c->eof || ioctl(c->fd, SIOCOUTQ, &unsent) != 0 || unsent == 0 ||
	    shutdown(c->fd, SHUT_WR) != 0) {
		conn_close(c);
		return;
	}
	c->lingering = true;
	c->inoff = c->inlen = 0;
	watch(c->srv->loop, &c->wio, false);
	watch(c->srv->loop, &c->rio, true);
}

/* writable - would the kernel take more reply bytes now? */
static bool
writable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int n = poll(&p, 1, 0);

	/* an error: let the write watcher find out what it is */
	return n < 0 || (n == 1 && (p.revents & POLLOUT) != 0);
}

/*
 * conn_state_now - what the connection waits for. serve() has tried to
 * write every reply before it stopped, so replies still queued are ones
 * the kernel refused: its buffer is full of replies the client has not
 * read. Messages waiting with nothing queued wait for their share of the
 * next iteration -- or for the same full buffer, which a write watcher
 * would wait for without end. Parked messages alone wait for their
 * source.
 */
static enum conn_state
conn_state_now(const struct conn *c)
{
	if (queued(c) > 0)
		return CONN_STALLED;
	if (can_answer(c))
		return writable(c->fd) ? CONN_BUSY : CONN_STALLED;
	return c->parked > 0 ? CONN_WAITING : CONN_IDLE;
}

/*
 * conn_settle - after any event: finish a connection that is done, pick
 * the watchers, the list and the deadline for its state.
 */
static void
conn_settle(struct conn *c)
{
	struct srv *s = c->srv;
	bool waiting = msg_ready(c), busy = can_answer(c) || queued(c) > 0;
	enum conn_state state;

	if (!busy && !waiting && c->parked == 0 && (c->eof || s->draining)) {
		conn_finish(c);
		return;
	}
	/*
	 * Read only while no whole message waits. One waits at the cap, or
	 * when the iteration's share ran out: then the write watcher brings
	 * us back in the next iteration; or while SRV_TCP_PARKED_MAX are
	 * parked: then the next parked answer does (srv_reply).
	 */
	watch(s->loop, &c->rio, !c->eof && !s->draining && !waiting &&
	    queued(c) < TCP_OUT_CAP);
	watch(s->loop, &c->wio, busy);
	/* bytes the client reads move a stalled one to the tail again */
	state = conn_state_now(c);
	if (state != c->state ||
	    (state != CONN_BUSY && c->listed != c->last)) {
		list_del(&s->conns[c->state], c);
		list_add(&s->conns[state], c);
		c->state = state;
		c->listed = c->last;
	}
	if (busy || waiting || c->inlen == c->inoff)
		c->partial = 0;
	else if (c->partial == 0)
		c->partial = ev_now(s->loop);
	conn_arm(c);
}

/* conn_timer_cb - RFC 7766 6.2.3: close connections that sit idle */
static void
conn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct conn *c = (struct conn *)((char *)w -
	    offsetof(struct conn, timer));

	if (conn_deadline(c) > ev_now(loop)) {
		conn_arm(c);		/* activity since it was set */
		return;
	}
	if (c->srv->st != NULL)
		c->srv->st->tcp_timeouts++;
	conn_close(c);
	(void)revents;
}

/* slot_take - a free slot for a new connection; false when out of memory */
static bool
slot_take(struct srv *s, struct conn *c)
{
	struct conn_slot *p;
	uint32_t i, n;

	if (s->free_slot == 0) {
		n = s->nslots ? s->nslots * 2 : 64;
		if ((p = realloc(s->slots, n * sizeof(*p))) == NULL)
			return false;
		for (i = s->nslots; i < n; i++) {
			p[i].c = NULL;
			p[i].gen = 0;
			p[i].next = i + 1 < n ? i + 2 : 0;
		}
		s->slots = p;
		s->free_slot = s->nslots + 1;
		s->nslots = n;
	}
	c->slot = s->free_slot - 1;
	s->free_slot = s->slots[c->slot].next;
	s->slots[c->slot].c = c;
	return true;
}

/* conn_new - set up an accepted connection; NULL when out of memory */
static struct conn *
conn_new(struct srv *s, int fd, const struct sockaddr_storage *peer)
{
	struct conn *c = malloc(sizeof(*c));
	int sndbuf = TCP_SNDBUF;

	if (c == NULL)
		return NULL;
	memset(c, 0, offsetof(struct conn, in));
	if (!slot_take(s, c)) {
		free(c);
		return NULL;
	}
	/* the kernel's share of what a client that does not read costs */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	c->srv = s;
	c->fd = fd;
	c->peer = *peer;
	c->last = c->listed = ev_now(s->loop);
	c->iter = ev_iteration(s->loop) - 1;	/* a fresh share in serve() */
	c->state = CONN_IDLE;
	list_add(&s->conns[CONN_IDLE], c);
	s->nconns++;
	ev_io_init(&c->rio, conn_read_cb, fd, EV_READ);
	ev_io_init(&c->wio, conn_write_cb, fd, EV_WRITE);
	ev_init(&c->timer, conn_timer_cb);
	ev_io_start(s->loop, &c->rio);
	conn_arm(c);
	return c;
}

/*
 * make_room - at the cap, close the connections idle the longest, then
 * those stalled the longest, then those waiting the longest for parked
 * answers, until one slot is free; false when only busy connections are
 * left.
 */
static bool
make_room(struct srv *s)
{
	struct conn *c;

	while (s->nconns >= s->max_clients) {
		if ((c = s->conns[CONN_IDLE].head) == NULL &&
		    (c = s->conns[CONN_STALLED].head) == NULL &&
		    (c = s->conns[CONN_WAITING].head) == NULL)
			return false;
		if (s->st != NULL) {
			s->st->tcp_evicted++;
			if (c->state == CONN_STALLED)
				s->st->tcp_evicted_stalled++;
		}
		conn_close(c);
	}
	return true;
}

/* accept_cb - take new TCP clients, within the cap */
static void
accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tcp_listener *t = (struct tcp_listener *)w;
	struct srv *s = t->srv;
	struct sockaddr_storage peer;
	socklen_t plen;
	int fd, i;

	for (i = 0; i < 64; i++) {
		plen = sizeof(peer);
		fd = accept4(t->fd, (struct sockaddr *)&peer, &plen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			/*
			 * Out of descriptors the listener stays readable and
			 * would spin the loop: pause accepting for a moment.
			 */
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				ev_io_stop(loop, &t->io);
				/* a fired timer keeps a spent delay: set it anew */
				ev_timer_set(&t->pause, 0.1, 0.);
				ev_timer_start(loop, &t->pause);
			}
			return;
		}
		if (s->accept != NULL &&
		    !s->accept(s->ctx, (struct sockaddr *)&peer)) {
			if (s->st != NULL)
				s->st->tcp_denied++;
			close(fd);
			continue;
		}
		if (!make_room(s) || conn_new(s, fd, &peer) == NULL) {
			if (s->st != NULL)
				s->st->tcp_rejected++;
			close(fd);
			continue;
		}
		if (s->st != NULL)
			s->st->tcp_accepted++;
	}
	(void)revents;
}

/* accept_resume_cb - accept again after running out of descriptors */
static void
accept_resume_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tcp_listener *t = (struct tcp_listener *)((char *)w -
	    offsetof(struct tcp_listener, pause));

	if (!t->srv->draining)
		ev_io_start(loop, &t->io);
	(void)revents;
}

/*
 * queue_reply - frame a reply and append it to the output queue. The
 * queue is below TCP_OUT_CAP when serve() adds one, and each parked
 * message adds at most one, so it never grows past OUT_MAX bytes.
 */
static int
queue_reply(struct conn *c, const uint8_t *msg, size_t len)
{
	struct stats *st = c->srv->st;

	if (c->outoff > 0) {
		memmove(c->out, c->out + c->outoff, queued(c));
		c->outlen -= c->outoff;
		c->outoff = 0;
	}
	if (c->outlen + len + 2 > c->outcap) {
		size_t ncap = c->outcap ? c->outcap : 4096;
		uint8_t *p;

		if (c->outlen + len + 2 > OUT_MAX)
			return -1;		/* serve() keeps below the cap */
		while (ncap < c->outlen + len + 2)
			ncap *= 2;
		if (ncap > OUT_MAX)
			ncap = OUT_MAX;
		if ((p = realloc(c->out, ncap)) == NULL)
			return -1;
		c->out = p;
		c->outcap = ncap;
	}
	c->out[c->outlen] = (uint8_t)(len >> 8);
	c->out[c->outlen + 1] = (uint8_t)len;
	memcpy(c->out + c->outlen + 2, msg, len);
	c->outlen += len + 2;
	if (st != NULL && c->outlen > st->tcp_queued_peak)
		st->tcp_queued_peak = c->outlen;
	return 0;
}

/* flush - write queued replies; -1 on a dead connection */
static int
flush(struct conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff,
		    c->outlen - c->outoff, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		c->outoff += (size_t)n;
		c->last = ev_now(c->srv->loop);
	}
	c->outoff = c->outlen = 0;
	if (c->outcap > TCP_OUT_CAP) {
		/* a big reply went out: do not keep its buffer */
		free(c->out);
		c->out = NULL;
		c->outcap = 0;
	}
	return 0;
}

/*
 * serve - answer the messages in the read buffer in order, one at a
 * time, while fewer than TCP_OUT_CAP reply bytes wait, fewer than
 * SRV_TCP_PARKED_MAX are parked and the connection's share of this
 * loop iteration lasts (the rest waits for
 * the next iteration, so the loop gets back to the UDP sockets soon);
 * write what the socket takes. -1 on a dead connection.
 */
static int
serve(struct conn *c)
{
	struct srv *s = c->srv;
	unsigned iter = ev_iteration(s->loop);

	if (c->iter != iter) {
		c->iter = iter;
		c->share = TCP_SHARE / s->nconns;
		if (c->share < TCP_SHARE_MIN)
			c->share = TCP_SHARE_MIN;
	}
	for (;;) {
		size_t mlen, rlen;

		struct srv_origin from = { NULL, NULL, c };

		if (queued(c) >= TCP_OUT_CAP || c->share == 0 ||
		    !can_answer(c)) {
			if (flush(c) != 0)
				return -1;
			if (queued(c) >= TCP_OUT_CAP || c->share == 0 ||
			    !can_answer(c))
				break;
		}
		if (c->stream.next != NULL) {
			/* the next message of a reply of many */
			int err = 0;

			rlen = c->stream.next(c->stream.arg, s->tbuf,
			    sizeof(s->tbuf), &err);
			if (err != 0)
				return -1;
			if (rlen == 0) {
				c->stream.done(c->stream.arg);
				c->stream.next = NULL;
			} else if (queue_reply(c, s->tbuf, rlen) != 0)
				return -1;
			c->last = ev_now(s->loop);
			/* one a loop iteration: making one costs a few hundred
			   lookups */
			c->share = 0;
			continue;
		}
		mlen = (size_t)c->in[c->inoff] << 8 | c->in[c->inoff + 1];
		rlen = s->handler(s->ctx, c->in + c->inoff + 2, mlen,
		    (struct sockaddr *)&c->peer, true, &from, s->tbuf,
		    sizeof(s->tbuf));
		if (rlen == SRV_PARKED)
			c->parked++;
		else if (rlen != SRV_STREAMING && rlen > 0 &&
		    queue_reply(c, s->tbuf, rlen) != 0)
			return -1;
		c->inoff += 2 + mlen;
		c->last = ev_now(s->loop);
		c->share--;
	}
	if (c->inoff == c->inlen)
		c->inoff = c->inlen = 0;
	return 0;
}

/* conn_read_cb - read a bounded amount, answer, write back what we can */
static void
conn_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = (struct conn *)w;
	size_t want;
	ssize_t n;

	if (c->lingering) {
		n = recv(c->fd, c->in, sizeof(c->in), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN &&
		    errno != EWOULDBLOCK && errno != EINTR))
			conn_close(c);
		return;
	}
	if (c->inoff > 0) {
		memmove(c->in, c->in + c->inoff, c->inlen - c->inoff);
		c->inlen -= c->inoff;
		c->inoff = 0;
	}
	want = sizeof(c->in) - c->inlen;	/* > 0: no whole message here */
	if (want > TCP_READ)
		want = TCP_READ;
	n = recv(c->fd, c->in + c->inlen, want, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (n < 0) {
		conn_close(c);
		return;
	}
	if (n == 0)
		c->eof = true;		/* half-close: still answer */
	c->inlen += (size_t)n;
	if (serve(c) != 0) {
		conn_close(c);
		return;
	}
	conn_settle(c);
	(void)loop;
	(void)revents;
}

/* conn_write_cb - the socket can take more of the queued replies */
static void
conn_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = (struct conn *)((char *)w -
	    offsetof(struct conn, wio));

	if (serve(c) != 0) {
		conn_close(c);
		return;
	}
	conn_settle(c);
	(void)loop;
	(void)revents;
}

/* srv_stream_start - answer the TCP message being handled with a stream */
int
srv_stream_start(const struct srv_origin *from, const struct srv_stream *st)
{
	if (from->c == NULL || from->c->stream.next != NULL)
		return RBLMUX_EINVAL;
	from->c->stream = *st;
	return 0;
}

/* srv_origin_save - where to answer the message being handled */
void
srv_origin_save(const struct srv_origin *from, struct srv_addr *to)
{
	memset(to, 0, offsetof(struct srv_addr, ctl));
	if (from->c != NULL) {
		to->tcp = true;
		to->peer = from->c->peer;
		to->peerlen = sizeof(to->peer);
		to->slot = from->c->slot;
		to->gen = from->c->srv->slots[from->c->slot].gen;
		return;
	}
	to->sock = from->u->idx;
	to->peerlen = from->rh->msg_namelen;
	if (to->peerlen > sizeof(to->peer))
		to->peerlen = sizeof(to->peer);
	memcpy(&to->peer, from->rh->msg_name, to->peerlen);
	if (from->u->pktinfo)
		to->ctllen = copy_pktinfo(from->rh, to->ctl, sizeof(to->ctl));
}

/* srv_reply_udp - one datagram, from the address the query was sent to */
static int
srv_reply_udp(struct srv *s, const struct srv_addr *to, const uint8_t *msg,
    size_t len)
{
	struct iovec iov = { (void *)(uintptr_t)msg, len };
	struct msghdr h;

	if (to->sock >= s->nudp)
		return RBLMUX_EINVAL;
	memset(&h, 0, sizeof(h));
	h.msg_name = (void *)(uintptr_t)&to->peer;
	h.msg_namelen = to->peerlen;
	h.msg_iov = &iov;
	h.msg_iovlen = 1;
	if (to->ctllen > 0) {
		h.msg_control = (void *)(uintptr_t)to->ctl;
		h.msg_controllen = to->ctllen;
	}
	if (sendmsg(s->udp[to->sock]->fd, &h, MSG_DONTWAIT) < 0) {
		int e = errno;

		if (s->st != NULL)
			s->st->send_errors++;
		return -e;
	}
	return 0;
}

/* srv_reply - the answer to a parked message */
int
srv_reply(struct srv *s, const struct srv_addr *to, const uint8_t *msg,
    size_t len)
{
	struct conn *c;

	if (!to->tcp)
		return len > 0 ? srv_reply_udp(s, to, msg, len) : 0;
	if (to->slot >= s->nslots || (c = s->slots[to->slot].c) == NULL ||
	    s->slots[to->slot].gen != to->gen)
		return RBLMUX_ENOENT;
	if (c->parked > 0)
		c->parked--;
	c->last = ev_now(s->loop);
	if ((len > 0 && queue_reply(c, msg, len) != 0) || serve(c) != 0) {
		conn_close(c);
		return 0;
	}
	conn_settle(c);
	return 0;
}

/* srv_set_limits - apply new TCP limits */
void
srv_set_limits(struct srv *s, unsigned max_clients, double idle, double msg)
{
	s->max_clients = max_clients;
	s->idle = idle;
	s->msg = msg;
}

/* srv_stop - stop taking queries; connections still open are closed */
void
srv_stop(struct srv *s)
{
	int i;

	srv_drain(s);
	for (i = 0; i < CONN_NSTATES; i++)
		while (s->conns[i].head != NULL)
			conn_close(s->conns[i].head);
}

/*
 * srv_drain - stop reading queries; TCP connections that are owed
 * nothing close now, the others once the messages already read are
 * answered and every reply is written.
 */
void
srv_drain(struct srv *s)
{
	struct conn *c, *next;
	size_t i;
	int k;

	s->draining = true;
	for (i = 0; i < s->nudp; i++)
		ev_io_stop(s->loop, &s->udp[i]->io);
	for (i = 0; i < s->ntcp; i++) {
		ev_io_stop(s->loop, &s->tcp[i]->io);
		ev_timer_stop(s->loop, &s->tcp[i]->pause);
	}
	for (c = s->conns[CONN_IDLE].head; c != NULL; c = next) {
		next = c->next;
		conn_finish(c);
	}
	/* one may move to the other list: next was taken first */
	for (k = CONN_BUSY; k < CONN_NSTATES; k++)
		for (c = s->conns[k].head; c != NULL; c = next) {
			next = c->next;
			conn_settle(c);
		}
}

unsigned
srv_tcp_clients(const struct srv *s)
{
	return s->nconns;
}

unsigned
srv_tcp_stalled(const struct srv *s)
{
	return s->conns[CONN_STALLED].n;
}

/* srv_free - close every socket */
void
srv_free(struct srv *s)
{
	size_t i;

	if (s == NULL)
		return;
	srv_stop(s);
	for (i = 0; i < s->nudp; i++) {
		close(s->udp[i]->fd);
		free(s->udp[i]);
	}
	for (i = 0; i < s->ntcp; i++) {
		close(s->tcp[i]->fd);
		free(s->tcp[i]);
	}
	free(s->udp);
	free(s->tcp);
	free(s->slots);
	free(s);
}
