/*
 * status.h -- the text of "rblmuxctl status".
 *
 * One "key: value" or "zone|list|upstream NAME: ..." line each; scripts
 * and the tests read them, so the wording stays as it is.
 */
#ifndef RBLMUX_STATUS_H
#define RBLMUX_STATUS_H

#include <stdbool.h>
#include <time.h>

#define RBLMUX_VERSION "0.1"

struct ctl_out;
struct rrl;
struct upclient;
struct view;
struct vlist;

/* What the status text reports besides the view. */
struct status_info {
	const struct view *view;	/* current */
	time_t		 started;
	bool		 reloading;
	unsigned	 tcp_clients;	/* summed over the loops */
	unsigned	 tcp_stalled;
	struct upclient	*uc;		/* upstreams and cache, or NULL */
	const struct rrl *rrl;		/* the rate limiter, or NULL */
};

/* Write the status text for si at now to o. */
void		 status_write(struct ctl_out *o, const struct status_info *si,
		    time_t now);

/* Why a list serves the data of an earlier load, in a few words. */
const char	*status_kept_why(const struct vlist *vl);

#endif /* RBLMUX_STATUS_H */
