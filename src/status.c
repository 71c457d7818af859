/*
 * status.c -- the "status" text of the control socket.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "ctl.h"
#include "dyn.h"
#include "err.h"
#include "escal.h"
#include "rrl.h"
#include "status.h"
#include "upstream.h"
#include "view.h"

/* status_kept_why - why a list serves the data of an earlier load */
const char *
status_kept_why(const struct vlist *vl)
{
	return vl->kept_err == RBLMUX_EPARSE ? "files broken" :
	    rblmux_strerror(vl->kept_err);
}

/*
 * status_upstreams - one line per upstream (upstream.c words them), then
 * the cache: records, bytes, hit rate over every upstream
 */
static void
status_upstreams(struct ctl_out *o, const struct status_info *si,
    time_t now)
{
	const struct conf *c = si->view->conf;
	struct cache *cache;
	struct cache_info ci;
	struct upinfo ui;
	uint64_t hits = 0, stale = 0, misses = 0;
	char *buf;
	size_t i, cap = 512 * (c->nupstreams + 1);

	if (si->uc == NULL) {
		for (i = 0; i < c->nupstreams; i++)
			ctl_printf(o, "upstream %s: down (no upstream client)"
			    "\n", c->upstreams[i].name);
		ctl_printf(o, "cache: not in use\n");
		return;
	}
	if ((buf = malloc(cap)) != NULL) {
		upclient_status(si->uc, now, buf, cap);
		ctl_printf(o, "%s", buf);
		free(buf);
	}
	for (i = 0; i < c->nupstreams; i++)
		if (upclient_info(si->uc, c->upstreams[i].name, now, &ui)) {
			hits += ui.hits;
			stale += ui.stale;
			misses += ui.misses;
		}
	if ((cache = upclient_cache(si->uc)) == NULL) {
		ctl_printf(o, "cache: not in use\n");
		return;
	}
	cache_get_info(cache, &ci);
	ctl_printf(o, "cache: %llu records, %llu bytes used of %llu, file "
	    "%llu bytes, hit rate %.1f%% (%llu hits, %llu stale, %llu "
	    "misses), %llu evicted%s\n", (unsigned long long)ci.records,
	    (unsigned long long)ci.used, (unsigned long long)ci.map_size,
	    (unsigned long long)ci.file_size, hits + stale + misses == 0 ?
	    0. : 100. * (double)(hits + stale) / (double)(hits + stale +
	    misses), (unsigned long long)hits, (unsigned long long)stale,
	    (unsigned long long)misses, (unsigned long long)ci.evicted,
	    ci.moved_aside ? ", a corrupt file was moved aside at start" :
	    "");
}

/* status_dyn - the dynamic entries: how many, or why none can be stored */
static void
status_dyn(struct ctl_out *o)
{
	const struct dyn_list *dl;
	size_t n = 0, nl = 0;

	for (dl = dyn_lists(dyn_main); dl != NULL; dl = dl->next) {
		n += dl->n;
		nl += dl->n > 0;
	}
	if (dyn_error(dyn_main) != NULL)
		ctl_printf(o, "dynamic: %zu entries; cannot store: %s\n", n,
		    dyn_error(dyn_main));
	else
		ctl_printf(o, "dynamic: %zu entr%s in %zu list%s\n", n,
		    n == 1 ? "y" : "ies", nl, nl == 1 ? "" : "s");
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
	if (si->rrl != NULL && rrl_enabled(si->rrl)) {
		struct rrl_info ri;

		rrl_get_info(si->rrl, &ri);
		OUT("rate-limit: %u/s, slip %u, /%u and /%u buckets, %zu of "
		    "%zu used, %zu exempt prefix%s\n", ri.rate, ri.slip,
		    ri.prefix4, ri.prefix6, ri.used, ri.size, ri.nexempt,
		    ri.nexempt == 1 ? "" : "es");
	}
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
	for (i = 0; i < v->nescal; i++) {
		const struct vescal *ve = &v->escal[i];

		if (ve->rule == NULL)
			continue;
		OUT("escalation %s: /%u and /%u networks, threshold %u, "
		    "%zu file entries in %zu networks, %zu dynamic or seen, "
		    "%zu bytes, counted in %.3fs\n", ve->ce->name,
		    ve->ce->prefix, ve->ce->prefix6, ve->ce->threshold,
		    escal_file_entries(ve->rule), escal_networks(ve->rule),
		    escal_live_entries(ve->rule), escal_memory(ve->rule),
		    ve->build_secs);
	}
	status_dyn(o);
	status_upstreams(o, si, now);
#undef OUT
}
