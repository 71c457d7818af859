/*
 * ctl.h -- the control socket (rblmuxctl's peer).
 *
 * A unix stream socket, mode 0600. A client sends one command line; the
 * server answers "OK" or "ERROR" on the first line, then text, then
 * closes. Commands: status, stats, lookup SUBJECT [ZONE], reload. A
 * reload answers when the new view is in place (or was rejected).
 * Runs in the event loop.
 */
#ifndef RBLMUX_CTL_H
#define RBLMUX_CTL_H

#include <stdbool.h>
#include <stddef.h>

struct ev_loop;
struct view;
struct ctl;

struct ctl_hooks {
	void		*arg;
	/* the view answering now (borrowed) */
	struct view	*(*view)(void *arg);
	/* "status" text: NUL-terminated into buf */
	size_t		 (*status)(void *arg, char *buf, size_t cap);
	/* "stats" text */
	size_t		 (*stats)(void *arg, char *buf, size_t cap);
	/* start a reload; main.c calls ctl_reload_done() when it ends */
	void		 (*reload)(void *arg);
};

/*
 * Listen on path (an old socket file there is replaced). Returns NULL and
 * logs on failure.
 */
struct ctl	*ctl_open(struct ev_loop *loop, const char *path,
		    const struct ctl_hooks *hooks);

/* A reload finished: answer the clients waiting for it. */
void		 ctl_reload_done(struct ctl *c, bool ok, const char *text);

/* Close the socket and remove its file. Accepts NULL. */
void		 ctl_close(struct ctl *c);

/*
 * Describe how zone z (NULL: every zone fitting the subject) answers
 * subject, as the "lookup" command shows it. NUL-terminated into buf.
 */
size_t		 ctl_lookup(const struct view *v, const char *subject,
		    const char *zone, char *buf, size_t cap);

#endif /* RBLMUX_CTL_H */
