/*
 * ctl.h -- the control socket (rblmuxctl's peer).
 *
 * A unix stream socket, mode 0600. A client sends one command line (at
 * most CTL_LINE_MAX bytes with its newline; CRLF is accepted); the server
 * answers "OK" or "ERROR" on the first line, then text, then closes.
 * Words are separated by blanks; a word may be quoted ("a b", with \"
 * and \\ inside). Commands: status, stats, lookup SUBJECT [ZONE], flush,
 * reload, list add|del|show (dyn.h), export, gen CLIENT ZONE (gen.h). A reload
 * answers when a reload that started after the request has put its view
 * in place (or was rejected).
 *
 * Runs in the event loop and never blocks it: answers are written without
 * blocking from a per-client buffer. At most CTL_MAX_CLIENTS clients are
 * served at once (one more is told so and closed); a client that sends no
 * full command within CTL_READ_SECS, or reads nothing of its answer for
 * CTL_WRITE_SECS, is disconnected. An answer holds at most CTL_OUT_MAX
 * bytes; a longer one is an ERROR whose last line says how much was left
 * out. A streamed answer (struct ctl_stream: "list show") has no such
 * cap: after its first line it is made a chunk at a time, one chunk a
 * loop iteration and only once the client has taken the last one; a
 * stream that fails halfway resets the connection, so the client sees
 * an answer cut short. After the answer the server shuts down its side and reads and
 * drops what the client still sends (at most CTL_DRAIN_MAX bytes, for at
 * most CTL_DRAIN_SECS) until the client closes: closing with that input
 * unread would reset the connection, and a client still writing the
 * rest of a command too long might never read its ERROR.
 */
#ifndef RBLMUX_CTL_H
#define RBLMUX_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_LINE_MAX	4096		/* command line, newline included */
#define CTL_MAX_CLIENTS	32
#define CTL_READ_SECS	5.
#define CTL_WRITE_SECS	10.
#define CTL_DRAIN_MAX	(1024 * 1024)	/* input dropped after an answer */
#define CTL_DRAIN_SECS	2.
#define CTL_OUT_MAX	(16u * 1024 * 1024)

struct ev_loop;
struct view;
struct ctl;

/*
 * A growing answer text. Once a piece does not fit (CTL_OUT_MAX reached,
 * or no memory), it and every later piece are only counted in lost, so an
 * answer is cut at a piece boundary and says by how much.
 */
struct ctl_out {
	char		*buf;		/* NUL-terminated; NULL while empty */
	size_t		 len;
	size_t		 cap;
	size_t		 lost;		/* bytes left out */
	bool		 nomem;		/* left out for want of memory */
};

/*
 * An answer made a chunk at a time (see above): next() appends the next
 * chunk to o (emptied before) and returns 1 while more are to come, 0
 * with the last one, or a negative code (the connection is reset);
 * done() releases arg, at the end or when the client goes first.
 */
struct ctl_stream {
	int		 (*next)(void *arg, struct ctl_out *o);
	void		 (*done)(void *arg);
	void		*arg;
};

/* Append printf-style text to o (see struct ctl_out). */
void		 ctl_printf(struct ctl_out *o, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/* Release o's text and empty it. */
void		 ctl_out_free(struct ctl_out *o);

struct ctl_hooks {
	void		*arg;
	/* the view answering now (borrowed) */
	struct view	*(*view)(void *arg);
	/* "status" text */
	void		 (*status)(void *arg, struct ctl_out *o);
	/* "stats" text */
	void		 (*stats)(void *arg, struct ctl_out *o);
	/*
	 * A reload was asked for (ctl_reload_asked() has counted it): start
	 * one, or queue one to start after the running one. main.c calls
	 * ctl_reload_done() when a reload ends.
	 */
	void		 (*reload)(void *arg);
};

/*
 * Create the control socket at path and listen (not yet served: see
 * ctl_start()). An existing socket that no one answers on is replaced;
 * a path that is not a socket, or a socket that some process answers on
 * (another rblmuxd), is refused. Returns 0 and *out, or a negative
 * RBLMUX_E* / -errno code after logging why, naming the path.
 */
int		 ctl_open(const char *path, const struct ctl_hooks *hooks,
		    struct ctl **out);

/* Serve the socket from loop. Accepts NULL. */
void		 ctl_start(struct ctl *c, struct ev_loop *loop);

/*
 * The number of reload requests made so far (0 for NULL). A reload that
 * starts now, before it reads the config, covers every request up to
 * this number.
 */
uint64_t	 ctl_reload_asked(const struct ctl *c);

/*
 * A reload ended: answer the clients waiting with a request number up to
 * covers (see ctl_reload_asked()); later ones keep waiting. Accepts NULL.
 */
void		 ctl_reload_done(struct ctl *c, uint64_t covers, bool ok,
		    const char *text);

/*
 * Close the socket and every client (waiting ones are told the server is
 * stopping) and remove the socket file if it is still the one created.
 * Accepts NULL.
 */
void		 ctl_close(struct ctl *c);

/*
 * Append how zone (NULL: every zone fitting the subject) answers subject,
 * as the "lookup" command shows it. Returns false, with the reason in o,
 * when subject is neither an address nor a domain name.
 */
/*
 * The upstream client whose health and cache "lookup" shows and
 * "flush" empties (NULL: none). Before ctl_start().
 */
struct upclient;
void		 ctl_set_upclient(struct upclient *uc);

bool		 ctl_lookup(const struct view *v, const char *subject,
		    const char *zone, struct ctl_out *o);

#endif /* RBLMUX_CTL_H */
