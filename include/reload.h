/*
 * reload.h -- loading the config and lists, and replacing the view while
 * the server runs.
 *
 * A reload (SIGHUP, "rblmuxctl reload", or a list file that changed)
 * builds a new view in a background thread and hands it to the event
 * loop through an ev_async; the loop swaps it in between iterations and
 * applies what follows the config (the TCP limits compiled into the view,
 * the check interval). On any problem the old view keeps serving. One
 * reload runs at a time: asking for more while one runs queues one more
 * of the kind asked (several requests count as one). A full reload
 * answers the "rblmuxctl reload" requests made before it read the config.
 * A reload that failed for a passing reason (no memory or descriptors, a
 * file rewritten while read) runs again at the next check.
 *
 * Everything here but the build thread runs in the event loop. The log
 * lines and the text handed to the control socket are the daemon's own:
 * scripts and the tests read them.
 */
#ifndef RBLMUX_RELOAD_H
#define RBLMUX_RELOAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "list.h"

struct conf;
struct ctl;
struct query_ctx;
struct srv;
struct stats;
struct view;

/* Collected problem text, for "rblmuxctl reload" and -n. */
struct reload_report {
	char		 text[8192];
	size_t		 len;
	unsigned	 count;		/* errors and warnings */
	unsigned	 errors;	/* what kept something from loading */
	int		 to_log;	/* also log each problem */
};

struct reload_job;

/* The reload state of the daemon; fill the first block, then reload_init(). */
struct reload {
	struct ev_loop	*loop;
	const char	*conf_path;
	struct view	*view;		/* current (one reference) */
	struct srv	*srv;		/* takes the TCP limits of a new view */
	struct ctl	*ctl;		/* told when a reload is done */
	struct query_ctx *qctx;		/* answers from the current view */
	struct stats	*st;		/* the loop's counters (reloads) */

	ev_timer	 check;		/* poll list files */
	ev_async	 done;		/* a job finished */
	struct reload_job *job;		/* running */
	bool		 again_full;	/* another reload was asked for */
	bool		 again_lists;
	bool		 retry_full;	/* a reload failed for a passing
					   reason: again at the next check */
	pthread_mutex_t	 lock;		/* job hand-over */
	struct reload_job *finished;
};

/*
 * view_report_fn for a reload_report: "file:line: message", a warning
 * saying so; logged too when to_log is set.
 */
void	 reload_report_cb(void *arg, enum list_severity sev, const char *file,
	    unsigned line, const char *msg);

/* "2 errors, 1 warning" into buf; returns buf. */
const char *reload_report_counts(const struct reload_report *r, char *buf,
	    size_t bufsz);

/*
 * Load the config at path and its lists (start-up and -n); NULL when
 * something kept them from loading, the problems in rep.
 */
struct view *reload_load(const char *path, struct reload_report *rep);

/* Log which configured features this version does not run. */
void	 reload_not_yet(const struct conf *c);

/*
 * The TCP client cap to use for want: at most what the open file limit
 * allows (logged when it is less).
 */
unsigned reload_clamp_clients(unsigned want);

/*
 * Start watching: the hand-over from the build thread and the check
 * timer of r->view's config. r->loop, r->conf_path, r->view, r->srv,
 * r->ctl, r->qctx and r->st must be set.
 */
void	 reload_init(struct reload *r);

/* Begin a reload (full: the config too), or queue it behind one running. */
void	 reload_start(struct reload *r, bool full);

/* Is a reload running? */
bool	 reload_running(const struct reload *r);

#endif /* RBLMUX_RELOAD_H */
