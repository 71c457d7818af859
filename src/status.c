/*
 * status.c -- the "status" text of the control socket.
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "err.h"
#include "status.h"
#include "view.h"

/* status_kept_why - why a list serves the data of an earlier load */
const char *
status_kept_why(const struct vlist *vl)
{
	return vl->kept_err == RBLMUX_EPARSE ? "files broken" :
	    rblmux_strerror(vl->kept_err);
}

/* status_write - the "status" text */
void
status_write(struct ctl_out *o, const struct status_info *si, time_t now)
{
	const struct view *v = si->view;
	const struct conf *c = v->conf;
	size_t i;
	char when[32];
	struct tm tm;
	time_t exp;

#define OUT(...) ctl_printf(o, __VA_ARGS__)
	OUT("status: up\n");
	OUT("version: %s\n", RBLMUX_VERSION);
	OUT("pid: %ld\n", (long)getpid());
	OUT("uptime: %lds\n", (long)(now - si->started));
	OUT("config: %s\n", c->path);
	OUT("reload: %s\n", si->reloading ? "running" : "idle");
	OUT("tcp-clients: %u\n", si->tcp_clients);
	OUT("tcp-stalled: %u\n", si->tcp_stalled);
	for (i = 0; i < v->nzones; i++) {
		const struct vzone *z = &v->zones[i];

		OUT("zone %s: %s, %zu source%s, serial %u\n", z->name,
		    z->serve ? "serve" : z->answer == ANSWER_BITMASK ?
		    "bitmask" : z->answer == ANSWER_EACH ? "each" : "score",
		    z->nsrc, z->nsrc == 1 ? "" : "s", z->serial);
	}
	for (i = 0; i < v->nlists; i++) {
		const struct vlist *vl = v->lists[i];

		OUT("list %s: %s, %zu entries, %zu bytes, loaded in %.3fs, "
		    "%u error%s, %u warning%s%s%s%s\n", vl->name,
		    list_type_name(vl->type),
		    vl->data ? list_entries(vl->data) : 0,
		    vl->data ? list_memory(vl->data) : 0, vl->load_secs,
		    vl->errors, vl->errors == 1 ? "" : "s", vl->warnings,
		    vl->warnings == 1 ? "" : "s", vl->kept ? " (" : "",
		    vl->kept ? status_kept_why(vl) : "", !vl->kept ? "" :
		    vl->retry ?
		    ": previous data kept, read again at the next check)" :
		    ": previous data kept)");
		if ((exp = view_list_expired(vl, now)) != 0 &&
		    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC",
		    gmtime_r(&exp, &tm)) > 0)
			OUT("list %s: data expired %s ($TIMESTAMP): serve: "
			    "zones over it answer SERVFAIL, aggregate zones "
			    "leave it out\n", vl->name, when);
	}
	for (i = 0; i < c->nupstreams; i++)
		OUT("upstream %s: down (upstream queries are not available "
		    "in this version)\n", c->upstreams[i].name);
	OUT("cache: not in use (no upstream queries in this version)\n");
#undef OUT
}
