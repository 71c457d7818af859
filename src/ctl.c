/*
 * ctl.c -- control socket server.
 *
 * A client is read until its command line is whole, the command is
 * carried out into a growing buffer, and the answer is written as fast as
 * the client reads it, without ever blocking the loop. A "reload" client
 * waits with its request number until a reload that covers it ends. Once
 * the answer is written, our side is shut down and what the client still
 * sends is read and dropped until it closes (bounded): a close() with
 * input unread would reset the connection under the answer.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <ev.h>

#include "answer.h"
#include "cache.h"
#include "ctl.h"
#include "dyn.h"
#include "export.h"
#include "health.h"
#include "pending.h"
#include "upstream.h"
#include "err.h"
#include "escal.h"
#include "gen.h"
#include "log.h"
#include "view.h"

#define STR(x)		STR2(x)
#define STR2(x)		#x
#define OUT_FIRST	4096	/* first allocation of an answer */
#define OUT_RESERVE	160	/* kept free for the "left out" line */
#define ACCEPT_BATCH	16	/* clients taken per wake-up */
#define ACCEPT_PAUSE	0.1	/* out of descriptors: wait this long */

enum cl_state {
	CL_READ,		/* collecting the command line */
	CL_WAIT,		/* waiting for a reload */
	CL_WRITE,		/* writing the answer */
	CL_DRAIN,		/* answered: dropping input until the end */
};

struct ctl_client {
	ev_io		 io;		/* first */
	ev_timer	 timer;		/* read or write deadline */
	struct ctl	*ctl;
	int		 fd;
	enum cl_state	 state;
	bool		 eof;		/* the client will send no more */
	size_t		 dropped;	/* CL_DRAIN: input bytes dropped */
	uint64_t	 ticket;	/* CL_WAIT: reload request number */
	struct export_job *job;		/* CL_WAIT: an export being written */
	char		 line[CTL_LINE_MAX + 1];
	size_t		 len;
	const char	*head;		/* "OK\n" or "ERROR\n" */
	const char	*text;		/* the answer after head */
	size_t		 textlen;
	size_t		 sent;		/* bytes of head and text written */
	struct ctl_out	 out;
	struct ctl_stream stream;	/* the rest of the answer, when
					   stream.next is set */
	struct ctl_client *prev, *next;
};

struct ctl {
	ev_io			 io;	/* first */
	ev_timer		 pause;	/* accepting again after EMFILE */
	struct ev_loop		*loop;
	int			 fd;
	char			*path;
	dev_t			 dev;	/* the socket file we created */
	ino_t			 ino;
	struct ctl_hooks	 hooks;
	struct ctl_client	*clients;
	unsigned		 nclients;
	uint64_t		 asked;	/* reload requests so far */
};

static void	ctl_accept_cb(struct ev_loop *, ev_io *, int);
static void	ctl_resume_cb(struct ev_loop *, ev_timer *, int);
static void	client_io_cb(struct ev_loop *, ev_io *, int);
static bool	ctl_export(struct ctl_client *, int, char **);
static void	client_timer_cb(struct ev_loop *, ev_timer *, int);

/* out_room - make room for n more bytes, keeping OUT_RESERVE free */
static bool
out_room(struct ctl_out *o, size_t n)
{
	size_t need = o->len + n + 1 + OUT_RESERVE, ncap;
	char *p;

	if (need <= o->cap)
		return true;
	if (need > CTL_OUT_MAX)
		return false;
	for (ncap = o->cap ? o->cap : OUT_FIRST; ncap < need; ncap *= 2)
		;
	if (ncap > CTL_OUT_MAX)
		ncap = CTL_OUT_MAX;
	if ((p = realloc(o->buf, ncap)) == NULL) {
		o->nomem = true;
		return false;
	}
	o->buf = p;
	o->cap = ncap;
	return true;
}

/* ctl_printf - append to an answer, or count what does not fit */
void
ctl_printf(struct ctl_out *o, const char *fmt, ...)
{
	va_list ap;
	size_t room = o->cap > o->len + OUT_RESERVE ?
	    o->cap - o->len - OUT_RESERVE : 0;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (o->lost == 0 && (size_t)n < room) {
		o->len += (size_t)n;
		return;
	}
	if (o->lost == 0 && out_room(o, (size_t)n)) {
		va_start(ap, fmt);
		vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		o->len += (size_t)n;
		return;
	}
	if (o->buf != NULL)
		o->buf[o->len] = '\0';	/* drop a clipped attempt */
	o->lost += (size_t)n;
}

/* ctl_out_free - release an answer's text */
void
ctl_out_free(struct ctl_out *o)
{
	free(o->buf);
	memset(o, 0, sizeof(*o));
}

/* claim - make way for our socket at path, or say why not */
static int
claim(const char *path, const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		rc = -errno;
		log_warn("control socket %s", path);
		return rc;
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_warnx("control socket %s: the path exists and is not a "
		    "socket; not replacing it", path);
		return -EEXIST;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0) {
		rc = -errno;
		log_warn("control socket %s", path);
		return rc;
	}
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0 ?
	    0 : errno;
	close(fd);
	if (rc == 0 || rc == EAGAIN || rc == EINPROGRESS) {
		log_warnx("control socket %s: a running server answers on it; "
		    "not taking it over", path);
		return -EADDRINUSE;
	}
	if (rc != ECONNREFUSED) {
		log_warnx("control socket %s: cannot tell whether a server "
		    "answers on it: %s", path, strerror(rc));
		return -rc;
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		rc = -errno;
		log_warn("control socket %s: removing the stale socket", path);
		return rc;
	}
	log_info("control socket %s: replaced a stale socket", path);
	return 0;
}

/* ctl_open - create and listen on the control socket */
int
ctl_open(const char *path, const struct ctl_hooks *h, struct ctl **out)
{
	struct sockaddr_un sun;
	struct stat st;
	struct ctl *c;
	mode_t old;
	int fd, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("control socket %s: path too long (at most %zu "
		    "bytes)", path, sizeof(sun.sun_path) - 1);
		return RBLMUX_EINVAL;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((rc = claim(path, &sun)) != 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		log_warn("control socket %s", path);
		return rc;
	}
	old = umask(0077);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 ? 0 : -errno;
	umask(old);
	if (rc != 0) {
		log_warnx("control socket %s: %s", path, strerror(-rc));
		close(fd);
		return rc;
	}
	if (chmod(path, 0600) != 0 || lstat(path, &st) != 0 ||
	    listen(fd, 16) != 0) {
		rc = -errno;
		log_warn("control socket %s", path);
		close(fd);
		unlink(path);
		return rc;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->path = strdup(path)) == NULL) {
		log_warnx("control socket %s: out of memory", path);
		free(c);
		close(fd);
		unlink(path);
		return RBLMUX_ENOMEM;
	}
	c->fd = fd;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->hooks = *h;
	ev_io_init(&c->io, ctl_accept_cb, fd, EV_READ);
	ev_init(&c->pause, ctl_resume_cb);
	*out = c;
	return 0;
}

/* ctl_start - serve the socket from the event loop */
void
ctl_start(struct ctl *c, struct ev_loop *loop)
{
	if (c == NULL)
		return;
	c->loop = loop;
	ev_io_start(loop, &c->io);
}

/* client_free - hang up on a client */
static void
client_free(struct ctl_client *cl)
{
	struct ctl *c = cl->ctl;

	ev_io_stop(c->loop, &cl->io);
	ev_timer_stop(c->loop, &cl->timer);
	close(cl->fd);
	if (cl->prev != NULL)
		cl->prev->next = cl->next;
	else
		c->clients = cl->next;
	if (cl->next != NULL)
		cl->next->prev = cl->prev;
	c->nclients--;
	export_cancel(cl->job);
	if (cl->stream.next != NULL)
		cl->stream.done(cl->stream.arg);
	ctl_out_free(&cl->out);
	free(cl);
}

/*
 * client_done - the answer is written. Closing now, with input the
 * client sent after its command unread (the rest of a command too long
 * to read), would reset the connection: the client's write would fail
 * and it might never read the answer. Instead send FIN after the answer
 * and drop the input until the client closes, for at most CTL_DRAIN_MAX
 * bytes and CTL_DRAIN_SECS.
 */
static void
client_done(struct ctl_client *cl)
{
	struct ev_loop *loop = cl->ctl->loop;

	if (cl->eof || shutdown(cl->fd, SHUT_WR) != 0) {
		client_free(cl);
		return;
	}
	cl->state = CL_DRAIN;
	cl->dropped = 0;
	ev_io_stop(loop, &cl->io);
	ev_io_set(&cl->io, cl->fd, EV_READ);
	ev_io_start(loop, &cl->io);
	/* from the end of the answer; bytes that come do not extend it */
	ev_timer_stop(loop, &cl->timer);
	ev_timer_set(&cl->timer, CTL_DRAIN_SECS, 0.);
	ev_timer_start(loop, &cl->timer);
}

/*
 * client_drop - read and drop input after the command: while a reload
 * is awaited, to notice a client that hangs up; once answered, until
 * the client closes (client_done()).
 */
static void
client_drop(struct ctl_client *cl)
{
	char sink[4096];
	ssize_t n;
	int i;

	for (i = 0; i < 16; i++) {
		n = recv(cl->fd, sink, sizeof(sink), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0 || (n == 0 && cl->state == CL_DRAIN)) {
			client_free(cl);
			return;
		}
		if (n == 0) {
			cl->eof = true;
			ev_io_stop(cl->ctl->loop, &cl->io);
			return;
		}
		cl->dropped += (size_t)n;
		if (cl->state == CL_DRAIN && cl->dropped > CTL_DRAIN_MAX) {
			client_free(cl);
			return;
		}
	}
}

/*
 * stream_chunk - the next chunk of a streamed answer as the text to
 * write; false when the client is gone (a failed stream resets it)
 */
static bool
stream_chunk(struct ctl_client *cl)
{
	struct ctl_out *o = &cl->out;
	struct linger lg = { 1, 0 };
	int rc;

	o->len = o->lost = 0;
	o->nomem = false;
	if (o->buf != NULL)
		o->buf[0] = '\0';
	rc = cl->stream.next(cl->stream.arg, o);
	if (rc <= 0) {
		cl->stream.done(cl->stream.arg);
		cl->stream.next = NULL;
	}
	if (rc < 0 || o->lost > 0) {
		/* cut short: a reset tells the client so */
		(void)setsockopt(cl->fd, SOL_SOCKET, SO_LINGER, &lg,
		    sizeof(lg));
		client_free(cl);
		return false;
	}
	cl->text = o->buf != NULL ? o->buf : "";
	cl->textlen = o->len;
	cl->sent = strlen(cl->head);
	return true;
}

/* client_send - write what the client will take; finish when done */
static void
client_send(struct ctl_client *cl)
{
	struct ev_loop *loop = cl->ctl->loop;
	size_t hl = strlen(cl->head);
	struct iovec iov[2];
	struct msghdr mh;
	bool chunked = false;
	ssize_t n;

	for (;;) {
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		if (cl->sent < hl) {
			iov[0].iov_base = (void *)(uintptr_t)(cl->head + cl->sent);
			iov[0].iov_len = hl - cl->sent;
			iov[1].iov_base = (void *)(uintptr_t)cl->text;
			iov[1].iov_len = cl->textlen;
			mh.msg_iovlen = 2;
		} else if (cl->sent < hl + cl->textlen) {
			iov[0].iov_base = (void *)(uintptr_t)(cl->text +
			    (cl->sent - hl));
			iov[0].iov_len = hl + cl->textlen - cl->sent;
			mh.msg_iovlen = 1;
		} else if (cl->stream.next != NULL) {
			if (chunked)
				break;		/* the next one next iteration */
			if (!stream_chunk(cl))
				return;
			chunked = true;
			continue;
		} else {
			client_done(cl);
			return;
		}
		n = sendmsg(cl->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			client_free(cl);
			return;
		}
		cl->sent += (size_t)n;
		/* the deadline runs from the last write that went out */
		ev_timer_again(loop, &cl->timer);
	}
	if (!ev_is_active(&cl->io)) {
		ev_io_set(&cl->io, cl->fd, EV_WRITE);
		ev_io_start(loop, &cl->io);
	}
	if (!ev_is_active(&cl->timer))
		ev_timer_again(loop, &cl->timer);
}

/*
 * reply - answer with head and text (NULL: the client's out buffer), then
 * hang up. An answer that was cut is an error, and its last line says
 * what was left out.
 */
static void
reply(struct ctl_client *cl, bool ok, const char *text)
{
	struct ctl_out *o = &cl->out;

	ev_io_stop(cl->ctl->loop, &cl->io);
	ev_timer_stop(cl->ctl->loop, &cl->timer);
	cl->state = CL_WRITE;
	cl->timer.repeat = CTL_WRITE_SECS;
	if (text == NULL && o->lost > 0) {
		ok = false;
		/* out_room() kept OUT_RESERVE bytes for this line */
		if (o->buf != NULL && o->nomem)
			o->len += (size_t)snprintf(o->buf + o->len,
			    o->cap - o->len, "(answer cut here: %zu more bytes "
			    "left out, out of memory)\n", o->lost);
		else if (o->buf != NULL)
			o->len += (size_t)snprintf(o->buf + o->len,
			    o->cap - o->len, "(answer cut here: %zu more bytes "
			    "left out, over the limit of %u bytes)\n", o->lost,
			    CTL_OUT_MAX);
	}
	if (text == NULL && o->buf != NULL) {
		cl->text = o->buf;
		cl->textlen = o->len;
	} else {
		cl->text = text != NULL ? text : o->lost ? "out of memory\n" :
		    "";
		cl->textlen = strlen(cl->text);
	}
	cl->head = ok ? "OK\n" : "ERROR\n";
	cl->sent = 0;
	client_send(cl);
}

/* refuse - turn a new client away with a one-line reason */
static void
refuse(int fd, const char *why)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg), "ERROR\n%s\n", why);

	/* a new socket's buffer is empty: this never blocks nor fails */
	if (n > 0)
		(void)send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

/* ctl_accept_cb - new control clients, within the cap */
static void
ctl_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl *c = (struct ctl *)w;
	struct ctl_client *cl;
	int fd, i;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (fd < 0) {
			/*
			 * Out of descriptors the socket stays readable and
			 * would spin the loop: stop accepting for a moment.
			 */
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				ev_io_stop(loop, &c->io);
				/* a timer that ran keeps a spent "after": reset */
				ev_timer_set(&c->pause, ACCEPT_PAUSE, 0.);
				ev_timer_start(loop, &c->pause);
			}
			return;
		}
		if (c->nclients >= CTL_MAX_CLIENTS) {
			refuse(fd, "too many control clients at once (at most "
			    STR(CTL_MAX_CLIENTS) "); try again later");
			continue;
		}
		if ((cl = calloc(1, sizeof(*cl))) == NULL) {
			refuse(fd, "out of memory");
			continue;
		}
		cl->ctl = c;
		cl->fd = fd;
		cl->state = CL_READ;
		cl->next = c->clients;
		if (c->clients != NULL)
			c->clients->prev = cl;
		c->clients = cl;
		c->nclients++;
		ev_io_init(&cl->io, client_io_cb, fd, EV_READ);
		ev_timer_init(&cl->timer, client_timer_cb, CTL_READ_SECS, 0.);
		ev_io_start(loop, &cl->io);
		ev_timer_start(loop, &cl->timer);
	}
	(void)revents;
}

/* ctl_resume_cb - accept again after running out of descriptors */
static void
ctl_resume_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ctl *c = (struct ctl *)((char *)w - offsetof(struct ctl, pause));

	ev_io_start(loop, &c->io);
	(void)revents;
}

/* client_timer_cb - too slow to send its command or to read the answer */
static void
client_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ctl_client *cl = (struct ctl_client *)((char *)w -
	    offsetof(struct ctl_client, timer));

	client_free(cl);
	(void)loop;
	(void)revents;
}

/*
 * split - cut a command line into words; returns the count, or -1 when
 * there are more than max or a quote is not closed. A word may be
 * quoted ("two words", with \" and \\ inside): rblmuxctl sends so an
 * argument that is empty or holds blanks, quotes or backslashes.
 */
static int
split(char *line, char **argv, int max)
{
	int argc = 0;
	char *p = line, *w;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return argc;
		if (argc == max)
			return -1;
		argv[argc++] = w = p;
		if (*p == '"') {
			for (p++; *p != '"'; p++) {
				if (*p == '\0')
					return -1;
				if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
					p++;
				*w++ = *p;
			}
			p++;
			if (*p != '\0' && *p != ' ' && *p != '\t')
				return -1;
		} else {
			while (*p != '\0' && *p != ' ' && *p != '\t')
				p++;
			w = p;
		}
		if (*p != '\0')
			p++;
		*w = '\0';
	}
}

static const char *const answer_names[] = { "bitmask", "each", "score" };

/* The upstream client lookup and flush read (NULL: none) */
static struct upclient *ctl_uc;
static struct cache_reader *ctl_reader;

void
ctl_set_upclient(struct upclient *uc)
{
	cache_reader_free(ctl_reader);
	ctl_reader = NULL;
	ctl_uc = uc;
}

/* ctl_cache - the cache and this module's reader of it, or NULL */
static struct cache *
ctl_cache(void)
{
	struct cache *c = ctl_uc != NULL ? upclient_cache(ctl_uc) : NULL;

	if (c != NULL && ctl_reader == NULL)
		ctl_reader = cache_reader_new(c);
	return ctl_reader != NULL ? c : NULL;
}

/* fmt_codes - "127.0.0.2,127.0.0.4" */
static const char *
fmt_codes(const uint32_t *a, unsigned na, char *buf, size_t cap)
{
	size_t len = 0;
	unsigned i;

	buf[0] = '\0';
	for (i = 0; i < na && len + 17 < cap; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%u.%u.%u.%u",
		    i ? "," : "", a[i] >> 24, (a[i] >> 16) & 255,
		    (a[i] >> 8) & 255, a[i] & 255);
	return buf;
}

/*
 * explain_upstream - one upstream result of a lookup: what the reply
 * uses (st, after the cache was read), the upstream's state, and its
 * raw cache entry with the time left
 */
static void
explain_upstream(const struct view *v, const struct vsource *src,
    const struct answer_src *as, const struct cache_rec *rec, bool have,
    time_t now, struct ctl_out *o)
{
	const struct conf_upstream *u = &v->conf->upstreams[src->upstream];
	struct upinfo ui;
	struct cache_ent e;
	char a[16], codes[UPRESP_MAX_A * 17];
	const char *use;

	switch (as->status) {
	case ASRC_LISTED:
		use = "listed";
		break;
	case ASRC_NOT_LISTED:
		use = "not listed";
		break;
	case ASRC_FAILED:
		use = "nothing (upstream not used now)";
		break;
	case ASRC_NOT_ASKED:
		use = "not needed";
		break;
	default:
		use = "to be asked";
		break;
	}
	ctl_printf(o, "  %-12s upstream %s (%s, %s): %s", src->name, u->name,
	    u->zone, ctl_uc != NULL && upclient_info(ctl_uc, u->name, now,
	    &ui) ? health_state_name((enum health_state)ui.state) :
	    "not running", use);
	if (as->status == ASRC_LISTED)
		ctl_printf(o, " %s ttl %u", list_fmt_a(as->a, a, sizeof(a)),
		    as->ttl);
	if (!have || !cache_rec_get(rec, cache_src_id(u->zone), &e) ||
	    e.status == CACHE_NONE) {
		ctl_printf(o, "; cache: miss\n");
		return;
	}
	if ((time_t)e.expires > now)
		ctl_printf(o, "; cache: fresh, %lds left", (long)(e.expires -
		    now));
	else
		ctl_printf(o, "; cache: stale, expired %lds ago",
		    (long)(now - e.expires));
	if (e.status == CACHE_LISTED)
		ctl_printf(o, ", raw %s", fmt_codes(e.a, e.na, codes,
		    sizeof(codes)));
	else
		ctl_printf(o, ", raw not listed");
	if (e.has_txt)
		ctl_printf(o, " \"%.*s\"", (int)e.txt_len, e.txt);
	ctl_printf(o, "\n");
}

/* explain_escalation - an escalation rule's count for the subject */
static void
explain_escalation(const struct view *v, const struct vsource *src,
    const struct answer_src *as, const struct subject *s, time_t now,
    struct ctl_out *o)
{
	struct escal_hit h;
	char pfx[64], txt[ESCAL_TXT_LEN + 1], a[16];
	size_t n;

	escal_view_subject(v, src->escal, s, now, &h);
	if (h.family == 0) {
		ctl_printf(o, "  %-12s escalation: not listed (names do not "
		    "escalate)\n", src->name);
		return;
	}
	escal_prefix_text(&h, pfx, sizeof(pfx));
	ctl_printf(o, "  %-12s escalation: %u listed in %s (threshold %u)",
	    src->name, h.count, pfx,
	    v->escal[src->escal].ce->threshold);
	if (as->status == ASRC_LISTED) {
		n = escal_view_txt(v, src->escal, &h, txt, sizeof(txt) - 1);
		txt[n] = '\0';
		ctl_printf(o, ": listed %s ttl %u \"%s\"\n",
		    list_fmt_a(as->a, a, sizeof(a)), as->ttl, txt);
	} else
		ctl_printf(o, ": %s\n", !h.escalated ? "not listed" :
		    h.excluded ? "not listed (excluded)" :
		    "not listed (not asked)");
}

/* dyn_of - the dynamic entry of vl behind value lv for s, or NULL */
static const struct dyn_info *
dyn_of(const struct vlist *vl, const struct subject *s, time_t now,
    const struct list_value *lv)
{
	const struct dyn_list *dl = vl != NULL ? vl->dyn : NULL;
	const struct list_value *dv = NULL;
	size_t off;

	if (!dyn_any(dl))
		return NULL;
	if (s->kind == SUBJ_IP4)
		dyn_lookup_ip4(dl, s->ip4, now, &dv, 1);
	else if (s->kind == SUBJ_IP6)
		dyn_lookup_ip6(dl, s->ip6, now, &dv, 1);
	else if (s->kind == SUBJ_NAME)
		dyn_lookup_name(dl, s->name, s->name_len, now, &dv, 1, &off);
	return dv != NULL && (lv == NULL || dv == lv) ? dyn_value_info(dv) :
	    NULL;
}

/* dyn_note - " (dynamic entry E, expires in ...)" for a value of di */
static void
dyn_note(const struct dyn_info *di, time_t now, struct ctl_out *o)
{
	char ex[96];

	if (di != NULL)
		ctl_printf(o, " (dynamic entry %s, %s)", di->text,
		    dyn_ctl_expiry(di, now, ex, sizeof(ex)));
}

/* explain_zone - the lookup text for one zone at time now */
static void
explain_zone(const struct view *v, const struct vzone *z,
    const struct subject *s, time_t now, struct ctl_out *o)
{
	struct answer_work wk;
	struct answer_state st;
	struct merge_hit hits[ANSWER_MAX_SRC];
	struct merge_out merged;
	char txt[4096], a[16], mt[1024];
	static struct cache_rec rec;
	struct cache_key key;
	bool have = false;
	size_t i, nhits;
	int k;

	wk.s = *s;
	/* the remote results the cache holds, as a query would use them */
	if (answer_decide_subject(v, z, now, ANSWER_ALL_LOCAL, &st, &wk) &&
	    ctl_uc != NULL)
		upclient_peek(ctl_uc, v, &st, s, now);
	if (ctl_cache() != NULL && cache_key_subject(s, &key) == 0)
		have = cache_lookup(ctl_reader, &key, &rec) == 0;
	answer_merge(v, &st, &wk, true, txt, sizeof(txt), hits, &nhits,
	    &merged);
	ctl_printf(o, "zone %s (%s)\n", z->name, z->serve ? "serve" :
	    answer_names[z->answer]);
	for (i = 0; i < st.nsrc; i++) {
		const struct answer_src *as = &st.src[i];
		const struct vsource *src = s->only != NULL ? s->only :
		    &z->src[i];

		if (src->kind == VSRC_UPSTREAM) {
			explain_upstream(v, src, as, &rec, have, now, o);
			continue;
		}
		if (src->kind == VSRC_ESCALATION) {
			explain_escalation(v, src, as, s, now, o);
			continue;
		}
		if (as->status != ASRC_LISTED) {
			ctl_printf(o, "  %-12s local list: %s\n", src->name,
			    as->status == ASRC_EXPIRED ?
			    "data expired, not asked" : "not listed");
			continue;
		}
		for (k = 0; k < as->nvals; k++) {
			const struct list_value *lv = wk.vals[wk.voff[i] + k];
			size_t tl = 0;

			if (lv->lv_txt != NULL)
				tl = list_txt_expand(lv->lv_txt,
				    wk.s.text + as->subj_off, mt,
				    sizeof(mt) - 1);
			mt[tl] = '\0';
			ctl_printf(o, "  %-12s local list: listed %s ttl %u%s%s"
			    "%s", src->name, list_fmt_a(lv->lv_a, a, sizeof(a)),
			    lv->lv_ttl, lv->lv_txt ? " \"" : "", mt,
			    lv->lv_txt ? "\"" : "");
			dyn_note(dyn_of(src->vl, &wk.s, now, lv), now, o);
			ctl_printf(o, "\n");
		}
	}
	for (i = 0; i < z->nexempt; i++) {
		ctl_printf(o, "  %-12s allowlist: %s", z->exempt[i]->name,
		    st.exempted_by == i + 1 ? "listed (exempts)" :
		    "not listed");
		if (st.exempted_by == i + 1)
			dyn_note(dyn_of(z->exempt[i], s, now, NULL), now, o);
		ctl_printf(o, "\n");
	}
	if (st.testpoint > 0)
		ctl_printf(o, "  RFC 5782 test point\n");
	if (!st.listed) {
		ctl_printf(o, "  answer: %s\n", st.kind == ANSWER_SERVFAIL ?
		    "SERVFAIL (zone data expired)" : "NXDOMAIN");
		return;
	}
	if (z->serve) {
		ctl_printf(o, "  answer: listed (the lists' own values "
		    "above)\n");
		return;
	}
	ctl_printf(o, "  answer:");
	for (k = 0; k < merged.na; k++)
		ctl_printf(o, " %s", list_fmt_a(merged.a[k], a, sizeof(a)));
	ctl_printf(o, " ttl %u\n", merged.ttl);
	{
		size_t tl = merge_txt(hits, nhits, mt, sizeof(mt) - 1);

		mt[tl] = '\0';
		ctl_printf(o, "  txt: \"%s\"\n", mt);
	}
}

/* ctl_lookup - every zone's view of one subject */
bool
ctl_lookup(const struct view *v, const char *subject, const char *zone,
    struct ctl_out *o)
{
	time_t now = time(NULL);
	size_t i;
	int shown = 0, bad = 0;

	for (i = 0; i < v->nzones; i++) {
		const struct vzone *z = &v->zones[i];
		struct subject s;
		unsigned fam;

		if (zone != NULL && view_zone(v, zone) != z)
			continue;
		if (answer_subject_parse(z, subject, &s) != 0) {
			bad = 1;
			continue;
		}
		fam = s.kind == SUBJ_IP4 ? VFAM_IP4 : s.kind == SUBJ_IP6 ?
		    VFAM_IP6 : VFAM_NAME;
		if (zone == NULL && !(z->families & fam))
			continue;
		explain_zone(v, z, &s, now, o);
		shown++;
	}
	if (!shown && bad) {
		ctl_printf(o, "not an address or domain name: %.64s%s\n",
		    subject, strlen(subject) > 64 ? "..." : "");
		return false;
	}
	if (!shown)
		ctl_printf(o, "no zone %s %s\n", zone ? zone : "answers",
		    zone ? "is served" : subject);
	return true;
}

/*
 * ctl_flush - "flush IP|NAME", "flush --source NAME", "flush --all":
 * remove cached upstream results
 */
static bool
ctl_flush(int argc, char **argv, struct ctl_out *o)
{
	struct cache *c = ctl_cache();
	struct cache_key key;
	struct upinfo ui;
	const char *what;
	bool all;
	long n;

	if (argc == 2 && strcmp(argv[1], "--all") == 0) {
		what = "the whole cache";
	} else if (argc == 3 && strcmp(argv[1], "--source") == 0) {
		if (ctl_uc == NULL || !upclient_info(ctl_uc, argv[2],
		    time(NULL), &ui)) {
			ctl_printf(o, "no such upstream: %.64s\n", argv[2]);
			return false;
		}
		what = argv[2];
	} else if (argc == 2 && argv[1][0] != '-') {
		if (cache_key_text(argv[1], &key) != 0) {
			ctl_printf(o, "not an address or domain name: "
			    "%.64s\n", argv[1]);
			return false;
		}
		what = argv[1];
	} else {
		ctl_printf(o, "usage: flush IP|NAME | flush --source NAME | "
		    "flush --all\n");
		return false;
	}
	if (c == NULL) {
		ctl_printf(o, "no cache in use\n");
		return false;
	}
	all = strcmp(argv[1], "--all") == 0;
	n = argc == 3 ? cache_flush_src(c, ui.src) : all ?
	    cache_flush_all(c) : cache_flush_key(c, &key);
	upclient_forget(ctl_uc, argc == 2 && !all ? &key : NULL,
	    argc == 3 ? ui.src : 0);
	if (n < 0) {
		ctl_printf(o, "flush %.64s: %s\n", what,
		    rblmux_strerror((int)n));
		return false;
	}
	ctl_printf(o, "flushed %.64s: %ld entr%s\n", what, n,
	    n == 1 ? "y" : "ies");
	return true;
}

/* run - carry out one command */
static void
run(struct ctl_client *cl)
{
	struct ctl *c = cl->ctl;
	struct ctl_out *o = &cl->out;
	char *argv[16];
	int argc;
	bool ok = true;

	argc = split(cl->line, argv, 16);
	if (argc < 0) {
		reply(cl, false, "too many arguments, or a quote not closed\n");
		return;
	}
	if (argc == 0) {
		reply(cl, false, "empty command\n");
		return;
	}
	if (strcmp(argv[0], "reload") == 0 && argc == 1) {
		/* keep reading only to notice a client that hangs up */
		ev_timer_stop(c->loop, &cl->timer);
		cl->state = CL_WAIT;
		cl->ticket = ++c->asked;
		c->hooks.reload(c->hooks.arg);	/* may answer cl at once */
		return;
	}
	if (strcmp(argv[0], "status") == 0 && argc == 1)
		c->hooks.status(c->hooks.arg, o);
	else if (strcmp(argv[0], "stats") == 0 && argc == 1)
		c->hooks.stats(c->hooks.arg, o);
	else if (strcmp(argv[0], "lookup") == 0 && (argc == 2 || argc == 3)) {
		const struct view *v = c->hooks.view(c->hooks.arg);

		if (argc == 3 && view_zone(v, argv[2]) == NULL) {
			ctl_printf(o, "no such zone: %.256s\n", argv[2]);
			ok = false;
		} else
			ok = ctl_lookup(v, argv[1], argc == 3 ? argv[2] : NULL,
			    o);
	} else if (strcmp(argv[0], "lookup") == 0) {
		ctl_printf(o, "usage: lookup IP|NAME [ZONE]\n");
		ok = false;
	} else if (strcmp(argv[0], "flush") == 0) {
		ok = ctl_flush(argc, argv, o);
	} else if (strcmp(argv[0], "list") == 0) {
		ok = dyn_ctl(dyn_main, c->hooks.view(c->hooks.arg), argc, argv,
		    time(NULL), o, &cl->stream);
	} else if (strcmp(argv[0], "export") == 0) {
		if (ctl_export(cl, argc, argv))
			return;		/* answered when the file is written */
		ok = false;
	} else if (strcmp(argv[0], "gen") == 0) {
		ok = gen_command(c->hooks.view(c->hooks.arg), argc, argv, o);
	} else {
		ctl_printf(o, "unknown command: %.64s (commands: status, stats, "
		    "lookup, flush, reload, list, export, gen)\n", argv[0]);
		ok = false;
	}
	reply(cl, ok, NULL);
}

/* export_done - the export's file is written (or not): answer */
static void
export_done(void *arg, bool ok, const char *text)
{
	struct ctl_client *cl = arg;

	cl->job = NULL;
	ctl_printf(&cl->out, "%s", text);
	reply(cl, ok, NULL);
}

/*
 * ctl_export - export NAME FORMAT PATH: written by a thread, answered
 * when done (false: not started, the reason in the client's answer)
 */
static bool
ctl_export(struct ctl_client *cl, int argc, char **argv)
{
	struct ctl *c = cl->ctl;
	struct view *v = c->hooks.view(c->hooks.arg);
	const struct vzone *z;
	char err[512];
	int rc;

	if (argc != 4) {
		ctl_printf(&cl->out, "usage: export LIST|ZONE rbldnsd|zone "
		    "FILE\n");
		return false;
	}
	z = view_zone(v, argv[1]);
	rc = export_start(c->loop, v, argv[1], argv[2], argv[3],
	    z != NULL ? z->serial : 0, export_done, cl, &cl->job, err,
	    sizeof(err));
	if (rc != 0) {
		ctl_printf(&cl->out, "%s\n", rc == RBLMUX_EINVAL ? err :
		    rblmux_strerror(rc));
		return false;
	}
	/* keep reading only to notice a client that hangs up */
	ev_timer_stop(c->loop, &cl->timer);
	cl->state = CL_WAIT;
	cl->ticket = UINT64_MAX;	/* no reload answers it */
	return true;
}

/* client_line - collect the command line; run it once whole */
static void
client_line(struct ctl_client *cl)
{
	char *nl, *end;
	ssize_t n;

	n = recv(cl->fd, cl->line + cl->len, CTL_LINE_MAX - cl->len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0 || (n == 0 && cl->len == 0)) {
		client_free(cl);
		return;
	}
	cl->len += (size_t)n;
	cl->line[cl->len] = '\0';
	if (n == 0) {
		/* the client shut down its side: the line ends here */
		cl->eof = true;
		ev_io_stop(cl->ctl->loop, &cl->io);
		nl = cl->line + cl->len;
	} else if ((nl = memchr(cl->line, '\n', cl->len)) == NULL) {
		if (cl->len == CTL_LINE_MAX) {
			ctl_printf(&cl->out, "command too long (at most %d "
			    "bytes before the newline)\n", CTL_LINE_MAX - 1);
			reply(cl, false, NULL);
		}
		return;
	}
	end = nl > cl->line && nl[-1] == '\r' ? nl - 1 : nl;
	if (memchr(cl->line, '\0', (size_t)(end - cl->line)) != NULL) {
		reply(cl, false, "command contains a NUL byte\n");
		return;
	}
	*end = '\0';
	run(cl);
}

/* client_io_cb - the client's socket is readable or writable */
static void
client_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_client *cl = (struct ctl_client *)w;

	switch (cl->state) {
	case CL_READ:
		client_line(cl);
		break;
	case CL_WAIT:
	case CL_DRAIN:
		/* input after the command is dropped; a reset is not */
		client_drop(cl);
		break;
	case CL_WRITE:
		client_send(cl);
		break;
	}
	(void)loop;
	(void)revents;
}

/* ctl_reload_asked - reload requests so far */
uint64_t
ctl_reload_asked(const struct ctl *c)
{
	return c != NULL ? c->asked : 0;
}

/* ctl_reload_done - tell the clients this reload covers how it went */
void
ctl_reload_done(struct ctl *c, uint64_t covers, bool ok, const char *text)
{
	struct ctl_client *cl, *next;

	if (c == NULL)
		return;
	for (cl = c->clients; cl != NULL; cl = next) {
		next = cl->next;	/* reply() may free cl, never another */
		if (cl->state != CL_WAIT || cl->ticket > covers)
			continue;
		ctl_printf(&cl->out, "%s", text);
		reply(cl, ok, NULL);
	}
}

/* ctl_close - stop listening, drop the clients, remove our socket file */
void
ctl_close(struct ctl *c)
{
	struct stat st;

	if (c == NULL)
		return;
	if (c->loop != NULL) {
		ctl_reload_done(c, c->asked, false, "server stopping\n");
		/* exports end now (no temporary file left) and answer */
		export_stop_all();
		while (c->clients != NULL)
			client_free(c->clients);
		ev_io_stop(c->loop, &c->io);
		ev_timer_stop(c->loop, &c->pause);
	}
	close(c->fd);
	/* a socket someone else put there since is not ours to remove */
	if (lstat(c->path, &st) == 0 && st.st_dev == c->dev &&
	    st.st_ino == c->ino)
		unlink(c->path);
	free(c->path);
	free(c);
}
