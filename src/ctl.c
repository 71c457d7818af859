/*
 * ctl.c -- control socket server.
 *
 * Commands are read whole (one line, at most CTL_LINE bytes, within a
 * few seconds) before anything is done; the answer is written with a
 * send timeout so a stuck client cannot hold the event loop for long.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <ev.h>

#include "answer.h"
#include "ctl.h"
#include "log.h"
#include "view.h"

#define CTL_LINE	4096
#define CTL_OUT		(256 * 1024)

struct ctl_client {
	ev_io		 io;		/* first */
	ev_timer	 timer;
	struct ctl	*ctl;
	int		 fd;
	char		 line[CTL_LINE];
	size_t		 len;
	struct ctl_client *next;	/* waiting for a reload */
};

struct ctl {
	ev_io			 io;	/* first */
	struct ev_loop		*loop;
	int			 fd;
	char			*path;
	struct ctl_hooks	 hooks;
	struct ctl_client	*waiting;
};

static void	ctl_accept_cb(struct ev_loop *, ev_io *, int);
static void	client_read_cb(struct ev_loop *, ev_io *, int);
static void	client_timer_cb(struct ev_loop *, ev_timer *, int);

/* ctl_open - listen on the control socket */
struct ctl *
ctl_open(struct ev_loop *loop, const char *path, const struct ctl_hooks *h)
{
	struct sockaddr_un sun;
	struct ctl *c;
	mode_t old;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("control socket path too long: %s", path);
		return NULL;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_warn("control socket");
		return NULL;
	}
	unlink(path);
	old = umask(0077);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		umask(old);
		log_warn("control socket %s", path);
		close(fd);
		return NULL;
	}
	umask(old);
	chmod(path, 0600);
	if (listen(fd, 16) != 0) {
		log_warn("control socket %s: listen", path);
		close(fd);
		unlink(path);
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->path = strdup(path)) == NULL) {
		free(c);
		close(fd);
		unlink(path);
		return NULL;
	}
	c->loop = loop;
	c->fd = fd;
	c->hooks = *h;
	ev_io_init(&c->io, ctl_accept_cb, fd, EV_READ);
	ev_io_start(loop, &c->io);
	return c;
}

/* client_free - hang up on a client */
static void
client_free(struct ctl_client *cl)
{
	ev_io_stop(cl->ctl->loop, &cl->io);
	ev_timer_stop(cl->ctl->loop, &cl->timer);
	close(cl->fd);
	free(cl);
}

/* reply - send the whole answer and hang up */
static void
reply(struct ctl_client *cl, bool ok, const char *text)
{
	const char *head = ok ? "OK\n" : "ERROR\n";
	struct timeval tv = { 2, 0 };
	size_t len = strlen(text), off = 0;
	int fl;

	/* a short blocking write: answers are small, clients are local */
	fl = fcntl(cl->fd, F_GETFL);
	fcntl(cl->fd, F_SETFL, fl & ~O_NONBLOCK);
	setsockopt(cl->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (send(cl->fd, head, strlen(head), MSG_NOSIGNAL) > 0) {
		while (off < len) {
			ssize_t n = send(cl->fd, text + off, len - off,
			    MSG_NOSIGNAL);

			if (n <= 0)
				break;
			off += (size_t)n;
		}
	}
	client_free(cl);
}

/* ctl_accept_cb - a new control client */
static void
ctl_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl *c = (struct ctl *)w;
	struct ctl_client *cl;
	int fd;

	fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if ((cl = calloc(1, sizeof(*cl))) == NULL) {
		close(fd);
		return;
	}
	cl->ctl = c;
	cl->fd = fd;
	ev_io_init(&cl->io, client_read_cb, fd, EV_READ);
	ev_timer_init(&cl->timer, client_timer_cb, 5., 0.);
	ev_io_start(loop, &cl->io);
	ev_timer_start(loop, &cl->timer);
	(void)revents;
}

/* client_timer_cb - too slow to send its command */
static void
client_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ctl_client *cl = (struct ctl_client *)((char *)w -
	    offsetof(struct ctl_client, timer));

	client_free(cl);
	(void)loop;
	(void)revents;
}

/* split - cut a command line into words; returns the count */
static int
split(char *line, char **argv, int max)
{
	int argc = 0;
	char *p = line;

	while (*p != '\0' && argc < max) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		argv[argc++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		if (*p != '\0')
			*p++ = '\0';
	}
	return argc;
}

/* fmt_a - dotted form of a host-order IPv4 value */
static const char *
fmt_a(uint32_t a, char *buf, size_t cap)
{
	snprintf(buf, cap, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255,
	    (a >> 8) & 255, a & 255);
	return buf;
}

#define OUT(...) do {							\
	int n_ = snprintf(buf + len, cap - len, __VA_ARGS__);		\
	if (n_ < 0 || (size_t)n_ >= cap - len) { len = cap - 1; goto full; } \
	len += (size_t)n_;						\
} while (0)

static const char *const answer_names[] = { "bitmask", "each", "score" };

/* explain_zone - the lookup text for one zone */
static size_t
explain_zone(const struct view *v, const struct vzone *z,
    struct subject *s, char *buf, size_t cap)
{
	struct verdict vd;
	char txt[4096], a[16], mt[1024];
	size_t len = 0, i;
	int k;

	if (cap == 0)
		return 0;
	answer_verdict(v, z, s, time(NULL), true, txt, sizeof(txt), &vd);
	OUT("zone %s (%s)\n", z->name, z->serve ? "serve" :
	    answer_names[z->answer]);
	for (i = 0; i < vd.nsrc; i++) {
		const struct verdict_src *vs = &vd.src[i];
		const struct vsource *src = vs->src;

		if (src->kind == VSRC_UPSTREAM) {
			OUT("  %-12s upstream result: not queried (upstream "
			    "queries are not available in this version)\n",
			    src->name);
			continue;
		}
		if (src->kind == VSRC_ESCALATION) {
			OUT("  %-12s escalation: not evaluated (escalation is "
			    "not available in this version)\n", src->name);
			continue;
		}
		if (vs->nvals == 0) {
			OUT("  %-12s local list: %s\n", src->name, vs->expired ?
			    "data expired, not asked" : "not listed");
			continue;
		}
		for (k = 0; k < vs->nvals; k++) {
			const struct list_value *lv = vs->vals[k];
			size_t tl = 0;

			if (lv->lv_txt != NULL)
				tl = list_txt_expand(lv->lv_txt, vs->subject, mt,
				    sizeof(mt) - 1);
			mt[tl] = '\0';
			OUT("  %-12s local list: listed %s ttl %u%s%s%s\n",
			    src->name, fmt_a(lv->lv_a, a, sizeof(a)),
			    lv->lv_ttl, lv->lv_txt ? " \"" : "", mt,
			    lv->lv_txt ? "\"" : "");
		}
	}
	for (i = 0; i < z->nexempt; i++)
		OUT("  %-12s allowlist: %s\n", z->exempt[i]->name,
		    vd.exempted_by == z->exempt[i] ? "listed (exempts)" :
		    "not listed");
	OUT("  cache: not used (local lists only)\n");
	if (vd.testpoint)
		OUT("  RFC 5782 test point\n");
	if (!vd.listed) {
		OUT("  answer: %s\n", vd.expired ?
		    "SERVFAIL (zone data expired)" : "NXDOMAIN");
		return len;
	}
	if (z->serve) {
		OUT("  answer: listed (the lists' own values above)\n");
		return len;
	}
	OUT("  answer:");
	for (k = 0; k < vd.merged.na; k++)
		OUT(" %s", fmt_a(vd.merged.a[k], a, sizeof(a)));
	OUT(" ttl %u\n", vd.merged.ttl);
	{
		size_t tl = merge_txt(vd.hits, vd.nhits, mt, sizeof(mt) - 1);

		mt[tl] = '\0';
		OUT("  txt: \"%s\"\n", mt);
	}
	return len;
full:
	buf[len] = '\0';
	return len;
}

/* ctl_lookup - every zone's view of one subject */
size_t
ctl_lookup(const struct view *v, const char *subject, const char *zone,
    char *buf, size_t cap)
{
	size_t len = 0, i;
	int shown = 0, bad = 0;

	if (cap == 0)
		return 0;
	buf[0] = '\0';
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
		len += explain_zone(v, z, &s, buf + len, cap - len);
		shown++;
	}
	if (!shown && bad)
		OUT("not an address or domain name: %.256s\n", subject);
	else if (!shown)
		OUT("no zone %s %s\n", zone ? zone : "answers",
		    zone ? "is served" : subject);
full:
	buf[len] = '\0';
	return len;
}
#undef OUT

/* run - carry out one command */
static void
run(struct ctl_client *cl)
{
	struct ctl *c = cl->ctl;
	char *argv[8], *out;
	int argc;
	bool ok = true;

	argc = split(cl->line, argv, 8);
	if (argc == 0) {
		reply(cl, false, "empty command\n");
		return;
	}
	if (strcmp(argv[0], "reload") == 0 && argc == 1) {
		ev_io_stop(c->loop, &cl->io);
		ev_timer_stop(c->loop, &cl->timer);
		cl->next = c->waiting;
		c->waiting = cl;
		c->hooks.reload(c->hooks.arg);
		return;
	}
	if ((out = malloc(CTL_OUT)) == NULL) {
		reply(cl, false, "out of memory\n");
		return;
	}
	out[0] = '\0';
	if (strcmp(argv[0], "status") == 0 && argc == 1)
		c->hooks.status(c->hooks.arg, out, CTL_OUT);
	else if (strcmp(argv[0], "stats") == 0 && argc == 1)
		c->hooks.stats(c->hooks.arg, out, CTL_OUT);
	else if (strcmp(argv[0], "lookup") == 0 && (argc == 2 || argc == 3)) {
		const struct view *v = c->hooks.view(c->hooks.arg);

		if (argc == 3 && view_zone(v, argv[2]) == NULL) {
			snprintf(out, CTL_OUT, "no such zone: %s\n", argv[2]);
			ok = false;
		} else
			ctl_lookup(v, argv[1], argc == 3 ? argv[2] : NULL,
			    out, CTL_OUT);
	} else if (strcmp(argv[0], "lookup") == 0) {
		snprintf(out, CTL_OUT, "usage: lookup IP|NAME [ZONE]\n");
		ok = false;
	} else if (strcmp(argv[0], "flush") == 0 ||
	    strcmp(argv[0], "list") == 0 || strcmp(argv[0], "export") == 0 ||
	    strcmp(argv[0], "gen") == 0) {
		snprintf(out, CTL_OUT, "%s: not available in this version\n",
		    argv[0]);
		ok = false;
	} else {
		snprintf(out, CTL_OUT, "unknown command: %.64s (commands: "
		    "status, stats, lookup, reload)\n", argv[0]);
		ok = false;
	}
	reply(cl, ok, out);
	free(out);
}

/* client_read_cb - collect the command line */
static void
client_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_client *cl = (struct ctl_client *)w;
	char *nl;
	ssize_t n;

	n = recv(cl->fd, cl->line + cl->len, sizeof(cl->line) - 1 - cl->len,
	    0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_free(cl);
		return;
	}
	cl->len += (size_t)n;
	cl->line[cl->len] = '\0';
	if ((nl = memchr(cl->line, '\n', cl->len)) == NULL) {
		if (cl->len == sizeof(cl->line) - 1)
			reply(cl, false, "command too long\n");
		return;
	}
	*nl = '\0';
	if (nl > cl->line && nl[-1] == '\r')
		nl[-1] = '\0';
	if (strlen(cl->line) != (size_t)(nl - cl->line)) {
		reply(cl, false, "command contains a NUL byte\n");
		return;
	}
	run(cl);
	(void)loop;
	(void)revents;
}

/* ctl_reload_done - tell waiting clients how the reload went */
void
ctl_reload_done(struct ctl *c, bool ok, const char *text)
{
	struct ctl_client *cl;

	if (c == NULL)
		return;
	while ((cl = c->waiting) != NULL) {
		c->waiting = cl->next;
		reply(cl, ok, text);
	}
}

/* ctl_close - stop listening and remove the socket file */
void
ctl_close(struct ctl *c)
{
	if (c == NULL)
		return;
	ctl_reload_done(c, false, "server stopping\n");
	ev_io_stop(c->loop, &c->io);
	close(c->fd);
	unlink(c->path);
	free(c->path);
	free(c);
}
