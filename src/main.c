/*
 * main.c -- rblmuxd: command line, start-up, signals, reload, shutdown.
 *
 * Start-up loads and checks the config and every list, opens the control
 * socket, binds the listeners and runs the libev loop. A reload
 * (SIGHUP, "rblmuxctl reload", or a list file that changed) builds a new
 * view in a background thread and swaps it in between loop iterations;
 * on any problem the old view keeps serving.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "acl.h"
#include "conf.h"
#include "ctl.h"
#include "err.h"
#include "log.h"
#include "pending.h"
#include "query.h"
#include "srv.h"
#include "stats.h"
#include "view.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc/rblmux"
#endif
#define RBLMUX_VERSION "0.1"

/* Collected problem text, for "rblmuxctl reload" and -n. */
struct report {
	char		 text[8192];
	size_t		 len;
	unsigned	 count;		/* errors and warnings */
	unsigned	 errors;	/* what kept something from loading */
	int		 to_log;	/* also log each problem */
};

/* A reload in progress. */
struct reload_job {
	struct daemon	*d;
	bool		 full;		/* re-read the config too */
	struct vconf	*vc;		/* lists-only: the current config */
	struct view	*old;		/* referenced */
	struct view	*result;	/* NULL: failed */
	struct acl	*acl;		/* full: built from the new config */
	uint64_t	 covers;	/* answers "rblmuxctl reload" up to this
					   request number (0: lists only) */
	int		 rc;		/* why it failed (RBLMUX_E*, -errno) */
	struct report	 rep;
};

struct daemon {
	struct ev_loop	*loop;
	const char	*conf_path;
	struct view	*view;
	struct acl	*acl;
	struct srv	*srv;
	struct pending	*pend;		/* parked queries */
	struct ctl	*ctl;
	struct stats	 st;
	struct query_ctx qctx;
	time_t		 started;
	ev_signal	 sighup, sigterm, sigint, sigusr1;
	ev_timer	 check;
	ev_timer	 drain;		/* shutdown: wait for TCP replies */
	ev_tstamp	 drain_until;
	ev_async	 reload_done;
	struct reload_job *job;		/* running */
	bool		 again_full;	/* another reload was asked for */
	bool		 again_lists;
	bool		 retry_full;	/* a reload failed for a passing
					   reason: again at the next check */
	pthread_mutex_t	 lock;		/* job hand-over */
	struct reload_job *finished;
};

static void	usage(void) __attribute__((noreturn));
static unsigned	clamp_clients(unsigned);

static void
usage(void)
{
	fprintf(stderr, "usage: rblmuxd [-c FILE] [-f] [-n] [-d] [-p PIDFILE]\n");
	exit(2);
}

/*
 * report_cb - a config or list problem, as "file:line: message"; a
 * warning (something used as well as it could be) says so
 */
static void
report_cb(void *arg, enum list_severity sev, const char *file, unsigned line,
    const char *msg)
{
	struct report *r = arg;
	const char *w = sev == LIST_WARNING ? "warning: " : "";
	char one[1024];
	int n;

	if (file != NULL && line > 0)
		n = snprintf(one, sizeof(one), "%s:%u: %s%s\n", file, line, w,
		    msg);
	else if (file != NULL)
		n = snprintf(one, sizeof(one), "%s: %s%s\n", file, w, msg);
	else
		n = snprintf(one, sizeof(one), "%s%s\n", w, msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(one))
		n = sizeof(one) - 1;
	r->count++;
	if (sev == LIST_ERROR)
		r->errors++;
	if (r->to_log)
		log_warnx("%.*s", n - 1, one);
	if (r->len + (size_t)n < sizeof(r->text)) {
		memcpy(r->text + r->len, one, (size_t)n);
		r->len += (size_t)n;
		r->text[r->len] = '\0';
	}
}

/* conf_report_cb - every config problem is an error */
static void
conf_report_cb(void *arg, const char *file, unsigned line, const char *msg)
{
	report_cb(arg, LIST_ERROR, file, line, msg);
}

/* report_counts - "2 errors, 1 warning" */
static const char *
report_counts(const struct report *r, char *buf, size_t bufsz)
{
	unsigned w = r->count - r->errors;

	snprintf(buf, bufsz, "%u error%s, %u warning%s", r->errors,
	    r->errors == 1 ? "" : "s", w, w == 1 ? "" : "s");
	return buf;
}

/* not_yet - say which configured features this version does not run */
static void
not_yet(const struct conf *c)
{
	const struct conf_server *s = &c->server;
	size_t i;

	for (i = 0; i < c->nupstreams; i++)
		log_warnx("upstream %s (%s): upstream queries are not "
		    "available in this version; its results contribute "
		    "nothing", c->upstreams[i].name, c->upstreams[i].zone);
	for (i = 0; i < c->nescalations; i++)
		log_warnx("escalation %s: escalation rules are not available "
		    "in this version; it lists nothing", c->escalations[i].name);
	for (i = 0; i < c->nzones; i++)
		if (c->zones[i].nallow_transfer > 0)
			log_warnx("zone %s: allow-transfer: zone transfers are "
			    "not available in this version", c->zones[i].name);
	if (c->nupstreams > 0 || c->resolver.nforward > 0)
		log_warnx("cache-dir, cache-max-size, serve-stale and the "
		    "resolver: clause take effect once upstream queries are "
		    "available");
	if (s->metrics != NULL)
		log_warnx("metrics: %s: the metrics listener is not available "
		    "in this version", s->metrics->text);
	if (s->workers > 1)
		log_warnx("workers: %u: only one worker runs in this version",
		    s->workers);
	if (s->username != NULL && s->username[0] != '\0')
		log_warnx("username: %s: dropping privileges is not available "
		    "in this version", s->username);
}

/* load_view - config and lists, for start-up and -n */
static struct view *
load_view(const char *path, struct report *rep)
{
	struct conf *c;
	struct vconf *vc;
	struct view *v = NULL;

	if (conf_load(path, conf_report_cb, rep, &c) != 0)
		return NULL;
	vc = vconf_new(c);
	if (view_build(vc, NULL, report_cb, rep, &v) != 0)
		v = NULL;
	vconf_unref(vc);
	return v;
}

/* reload_thread - build the next view off the event loop */
static void *
reload_thread(void *arg)
{
	struct reload_job *job = arg;
	struct daemon *d = job->d;
	struct conf *c;
	struct vconf *vc = NULL;

	if (!job->full) {
		vc = job->vc;
		job->vc = NULL;
	} else if ((job->rc = conf_load(d->conf_path, conf_report_cb,
	    &job->rep, &c)) == 0) {
		/* built here: when it fails, the old config keeps serving */
		if ((job->rc = acl_new(c->server.acl, c->server.nacl,
		    &job->acl)) == 0) {
			if ((vc = vconf_new(c)) == NULL)
				job->rc = RBLMUX_ENOMEM;
		} else {
			report_cb(&job->rep, LIST_ERROR, c->path, 0,
			    "out of memory");
			conf_free(c);
		}
	}
	if (vc != NULL) {
		if ((job->rc = view_build(vc, job->old, report_cb, &job->rep,
		    &job->result)) != 0)
			job->result = NULL;
		vconf_unref(vc);
	}
	if (job->result == NULL) {
		acl_free(job->acl);
		job->acl = NULL;
	}
	pthread_mutex_lock(&d->lock);
	d->finished = job;
	pthread_mutex_unlock(&d->lock);
	ev_async_send(d->loop, &d->reload_done);
	return NULL;
}

/*
 * start_reload - begin a reload unless one runs; then queue it. A full
 * reload answers the "rblmuxctl reload" requests made before it starts
 * (it reads the config after); later ones wait for the next.
 */
static void
start_reload(struct daemon *d, bool full)
{
	struct reload_job *job;
	pthread_attr_t attr;
	pthread_t tid;

	if (d->job != NULL) {
		if (full)
			d->again_full = true;
		else
			d->again_lists = true;
		return;
	}
	if ((job = calloc(1, sizeof(*job))) == NULL) {
		log_warnx("reload: out of memory; the previous config and "
		    "lists keep serving");
		d->st.reload_failures++;
		ctl_reload_done(d->ctl, ctl_reload_asked(d->ctl), false,
		    "reload not started: out of memory\n");
		return;
	}
	job->d = d;
	job->full = full;
	job->covers = full ? ctl_reload_asked(d->ctl) : 0;
	job->rep.to_log = 1;
	job->old = d->view;
	view_ref(job->old);
	if (!full) {
		job->vc = d->view->vc;
		atomic_fetch_add(&job->vc->refs, 1);
	}
	log_info("reloading %s", full ? "config and lists" : "lists");
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &attr, reload_thread, job) != 0) {
		log_warn("reload thread");
		view_unref(job->old);
		vconf_unref(job->vc);
		free(job);
		d->st.reload_failures++;
		ctl_reload_done(d->ctl, ctl_reload_asked(d->ctl), false,
		    "reload not started: no thread\n");
	} else
		d->job = job;
	pthread_attr_destroy(&attr);
}

/* same_listen - would the new config bind the same sockets? */
static bool
same_listen(const struct conf *a, const struct conf *b)
{
	size_t i;

	if (a->server.nlisten != b->server.nlisten)
		return false;
	for (i = 0; i < a->server.nlisten; i++)
		if (strcmp(a->server.listen[i].text,
		    b->server.listen[i].text) != 0)
			return false;
	return true;
}

/*
 * apply_conf - settings that follow the config on reload; acl was built
 * from c by the reload thread and is taken over
 */
static void
apply_conf(struct daemon *d, const struct conf *c, struct acl *acl)
{
	acl_free(d->acl);
	d->acl = acl;
	d->qctx.acl = d->acl;
	srv_set_limits(d->srv, clamp_clients(c->server.tcp_max_clients),
	    c->server.tcp_idle_timeout_ms / 1000.,
	    c->server.tcp_message_timeout_ms / 1000.);
	pending_set_max(d->pend, c->server.max_pending);
	ev_timer_stop(d->loop, &d->check);
	if (c->server.check_interval > 0) {
		ev_timer_set(&d->check, c->server.check_interval,
		    c->server.check_interval);
		ev_timer_start(d->loop, &d->check);
	}
}

/* kept_why - why a list serves the data of an earlier load */
static const char *
kept_why(const struct vlist *vl)
{
	return vl->kept_err == RBLMUX_EPARSE ? "files broken" :
	    rblmux_strerror(vl->kept_err);
}

/*
 * kept_note - name the lists still answering from earlier data (broken
 * files, or a failure to be tried again), so a reload that did not
 * parse them again (unchanged since) still says so.
 */
static void
kept_note(const struct view *v, struct report *rep)
{
	size_t i;
	int n;

	for (i = 0; i < v->nlists; i++) {
		if (v->lists[i]->kept == NULL)
			continue;
		n = snprintf(rep->text + rep->len, sizeof(rep->text) - rep->len,
		    "list %s: %s, the previous data keeps serving%s\n",
		    v->lists[i]->name, kept_why(v->lists[i]),
		    v->lists[i]->retry ? " (read again at the next check)" :
		    "");
		if (n > 0 && rep->len + (size_t)n < sizeof(rep->text))
			rep->len += (size_t)n;
		else
			rep->text[rep->len] = '\0';	/* drop a clipped line */
	}
}

/* reload_done_cb - swap in the new view (event loop) */
static void
reload_done_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct daemon *d = (struct daemon *)((char *)w -
	    offsetof(struct daemon, reload_done));
	struct reload_job *job;
	char msg[256], counts[64];

	pthread_mutex_lock(&d->lock);
	job = d->finished;
	d->finished = NULL;
	pthread_mutex_unlock(&d->lock);
	if (job == NULL)
		return;
	d->job = NULL;
	if (job->result != NULL) {
		struct view *old = d->view;
		bool newconf = job->result->vc != old->vc;

		if (newconf && !same_listen(old->conf, job->result->conf))
			log_warnx("listen: addresses changed; restart rblmuxd "
			    "to bind the new ones");
		d->view = job->result;
		d->qctx.view = d->view;
		if (newconf) {
			apply_conf(d, d->view->conf, job->acl);
			job->acl = NULL;
			not_yet(d->view->conf);
		}
		view_unref(old);
		d->st.reloads++;
		if (job->full)
			d->retry_full = false;
		kept_note(d->view, &job->rep);
		snprintf(msg, sizeof(msg), "reloaded; %s\n",
		    report_counts(&job->rep, counts, sizeof(counts)));
		log_info("%.*s", (int)strlen(msg) - 1, msg);
		if (job->rep.len + strlen(msg) < sizeof(job->rep.text))
			strcat(job->rep.text, msg);
		ctl_reload_done(d->ctl, job->covers, true, job->rep.text);
	} else {
		d->st.reload_failures++;
		log_warnx("reload failed; the previous config and lists keep "
		    "serving");
		ctl_reload_done(d->ctl, job->covers, false, job->rep.len ?
		    job->rep.text : "reload failed\n");
		/*
		 * Out of memory or descriptors, or a new list's file being
		 * rewritten: it may work the next time without anyone asking.
		 */
		if (list_load_transient(job->rc)) {
			d->retry_full = job->full;
			log_warnx("%s; reloading again at the next check",
			    rblmux_strerror(job->rc));
		}
	}
	view_unref(job->old);
	vconf_unref(job->vc);
	acl_free(job->acl);
	free(job);
	if (d->again_full || d->again_lists) {
		bool full = d->again_full;

		d->again_full = d->again_lists = false;
		start_reload(d, full);
	}
	(void)loop;
	(void)revents;
}

/* check_cb - poll list files for changes */
static void
check_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = (struct daemon *)((char *)w -
	    offsetof(struct daemon, check));

	if (d->job != NULL)
		return;
	if (d->retry_full) {
		d->retry_full = false;
		start_reload(d, true);
	} else if (view_lists_changed(d->view))
		start_reload(d, false);
	(void)loop;
	(void)revents;
}

static void
sighup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = (struct daemon *)((char *)w -
	    offsetof(struct daemon, sighup));

	start_reload(d, true);
	(void)loop;
	(void)revents;
}

/* drain_cb - stop once the queued TCP replies are out, or at the deadline */
static void
drain_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = (struct daemon *)((char *)w -
	    offsetof(struct daemon, drain));

	if (srv_tcp_clients(d->srv) == 0 || ev_now(loop) >= d->drain_until)
		ev_break(loop, EVBREAK_ALL);
	(void)revents;
}

/*
 * sigterm_cb - graceful stop: answer every parked query now with what
 * is known, take no new queries, let replies already queued for TCP
 * clients go out, for at most two seconds.
 */
static void
sigterm_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = (struct daemon *)((char *)w -
	    (w->signum == SIGINT ? offsetof(struct daemon, sigint) :
	    offsetof(struct daemon, sigterm)));

	if (ev_is_active(&d->drain)) {
		ev_break(loop, EVBREAK_ALL);	/* second signal: now */
		return;
	}
	log_info("signal %d: stopping", w->signum);
	pending_stop(d->pend);
	srv_drain(d->srv);
	d->drain_until = ev_now(loop) + 2.;
	ev_timer_init(&d->drain, drain_cb, 0., 0.05);
	ev_timer_start(loop, &d->drain);
	(void)revents;
}

static void
sigusr1_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = (struct daemon *)((char *)w -
	    offsetof(struct daemon, sigusr1));
	char buf[4096], *line, *save = NULL;

	stats_format(&d->st, buf, sizeof(buf));
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		log_info("stats %s", line);
	(void)loop;
	(void)revents;
}

/*
 * Signals before the event loop takes them over. rblmuxd handles every
 * signal it knows from its first moment: start-up (reading the config and
 * lists) can take seconds, and a default action there would kill it.
 */
static const int handled[] = { SIGHUP, SIGTERM, SIGINT, SIGUSR1 };
static volatile sig_atomic_t early_hup, early_usr1, early_stop;

/* early_cb - remember a signal that came during start-up */
static void
early_cb(int sig)
{
	if (sig == SIGHUP)
		early_hup = 1;
	else if (sig == SIGUSR1)
		early_usr1 = 1;
	else if (early_stop == 0)
		early_stop = sig;
}

/* early_signals - catch signals until the event loop runs */
static void
early_signals(void)
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sigfillset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = early_cb;
	for (i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		sigaction(handled[i], &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/*
 * handover_signals - give the signals to libev and replay those that came
 * during start-up: a stop as a stop, any number of HUPs as one reload.
 * They are blocked meanwhile, so none arrives between the two handlers.
 */
static void
handover_signals(struct daemon *d)
{
	sigset_t set, old;
	size_t i;

	sigemptyset(&set);
	for (i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		sigaddset(&set, handled[i]);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	ev_signal_init(&d->sighup, sighup_cb, SIGHUP);
	ev_signal_init(&d->sigterm, sigterm_cb, SIGTERM);
	ev_signal_init(&d->sigint, sigterm_cb, SIGINT);
	ev_signal_init(&d->sigusr1, sigusr1_cb, SIGUSR1);
	ev_signal_start(d->loop, &d->sighup);
	ev_signal_start(d->loop, &d->sigterm);
	ev_signal_start(d->loop, &d->sigint);
	ev_signal_start(d->loop, &d->sigusr1);
	if (early_usr1)
		ev_feed_signal_event(d->loop, SIGUSR1);
	if (early_stop != 0)
		ev_feed_signal_event(d->loop, early_stop);
	else if (early_hup)
		ev_feed_signal_event(d->loop, SIGHUP);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* ctl hooks */
static struct view *
hook_view(void *arg)
{
	return ((struct daemon *)arg)->view;
}

static void
hook_stats(void *arg, struct ctl_out *o)
{
	char buf[4096];

	stats_format(&((struct daemon *)arg)->st, buf, sizeof(buf));
	ctl_printf(o, "%s", buf);
}

static void
hook_reload(void *arg)
{
	start_reload(arg, true);
}

/* hook_status - the "status" text */
static void
hook_status(void *arg, struct ctl_out *o)
{
	struct daemon *d = arg;
	const struct view *v = d->view;
	const struct conf *c = v->conf;
	size_t i;
	char when[32];
	struct tm tm;
	time_t exp;

#define OUT(...) ctl_printf(o, __VA_ARGS__)
	OUT("status: up\n");
	OUT("version: %s\n", RBLMUX_VERSION);
	OUT("pid: %ld\n", (long)getpid());
	OUT("uptime: %lds\n", (long)(time(NULL) - d->started));
	OUT("config: %s\n", c->path);
	OUT("reload: %s\n", d->job ? "running" : "idle");
	OUT("tcp-clients: %u\n", srv_tcp_clients(d->srv));
	OUT("tcp-stalled: %u\n", srv_tcp_stalled(d->srv));
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
		    vl->kept ? kept_why(vl) : "", !vl->kept ? "" : vl->retry ?
		    ": previous data kept, read again at the next check)" :
		    ": previous data kept)");
		if ((exp = view_list_expired(vl, time(NULL))) != 0 &&
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

/* write_pidfile - record our pid */
static void
write_pidfile(const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		log_warn("pidfile %s", path);
		return;
	}
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
}

/* clamp_clients - keep the TCP cap within the descriptors we may open */
static unsigned
clamp_clients(unsigned want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return want;
	if (rl.rlim_cur < 64)
		return 1;
	if (want > rl.rlim_cur - 32) {
		log_warnx("tcp-max-clients: %u is more than the open file limit "
		    "allows; using %lu", want, (unsigned long)(rl.rlim_cur - 32));
		return (unsigned)(rl.rlim_cur - 32);
	}
	return want;
}

int
main(int argc, char *argv[])
{
	/* static: a reload thread may still hold it while main returns */
	static struct daemon d;
	struct report rep;
	const char *pidfile = NULL;
	bool foreground = false, check = false;
	int verbose = 0, ch;
	size_t i;

	memset(&d, 0, sizeof(d));
	d.conf_path = SYSCONFDIR "/rblmux.conf";
	while ((ch = getopt(argc, argv, "c:fndp:h")) != -1) {
		switch (ch) {
		case 'c':
			d.conf_path = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'n':
			check = true;
			break;
		case 'd':
			verbose++;
			break;
		case 'p':
			pidfile = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	log_init("rblmuxd", foreground || check, verbose);
	memset(&rep, 0, sizeof(rep));

	if (check) {
		/*
		 * -n: every problem on stderr with file:line; exit 1 when
		 * something would not load (an error), 0 with warnings only
		 */
		char counts[64];

		d.view = load_view(d.conf_path, &rep);
		if (rep.len > 0)
			fputs(rep.text, stderr);
		if (d.view == NULL && rep.errors == 0) {
			rep.count++;		/* a failure nobody reported */
			rep.errors++;
		}
		report_counts(&rep, counts, sizeof(counts));
		if (d.view == NULL || rep.errors > 0) {
			fprintf(stderr, "%s: %s\n", d.conf_path, counts);
			view_unref(d.view);
			return 1;
		}
		if (rep.count > 0)
			printf("%s: OK, %s\n", d.conf_path, counts);
		else
			printf("%s: OK\n", d.conf_path);
		view_unref(d.view);
		return 0;
	}

	early_signals();
	rep.to_log = 1;
	d.view = load_view(d.conf_path, &rep);
	if (early_stop != 0) {
		/* told to stop while loading: nothing is bound or written yet */
		log_info("signal %d: stopping", (int)early_stop);
		view_unref(d.view);
		log_info("stopped");
		return 0;
	}
	if (d.view == NULL)
		fatalx("%s: not started: %u error%s", d.conf_path,
		    rep.errors ? rep.errors : 1, rep.errors > 1 ? "s" : "");
	not_yet(d.view->conf);

	/*
	 * The control socket first: a second server started on the same
	 * config stops here, before it binds anything.
	 */
	{
		struct ctl_hooks h = { &d, hook_view, hook_status, hook_stats,
		    hook_reload };
		char *path = conf_path(d.view->conf,
		    d.view->conf->server.control_socket);
		int rc;

		if (path == NULL)
			fatalx("control-socket: out of memory");
		rc = ctl_open(path, &h, &d.ctl);
		if (rc == -EADDRINUSE)
			fatalx("%s: not started: another server is running on "
			    "control socket %s", d.conf_path, path);
		if (rc != 0)
			fatalx("%s: not started: no control socket", d.conf_path);
		free(path);
	}
	d.loop = ev_default_loop(EVFLAG_AUTO);
	if (d.loop == NULL)
		fatalx("cannot create the event loop");
	d.started = time(NULL);
	pthread_mutex_init(&d.lock, NULL);

	if (acl_new(d.view->conf->server.acl, d.view->conf->server.nacl,
	    &d.acl) != 0)
		fatalx("access-control: out of memory");
	d.qctx.view = d.view;
	d.qctx.acl = d.acl;
	d.qctx.st = &d.st;
	{
		struct srv_opts so;
		const struct conf_server *cs = &d.view->conf->server;

		memset(&so, 0, sizeof(so));
		so.loop = d.loop;
		so.handler = query_handle;
		so.accept = query_accept;
		so.ctx = &d.qctx;
		so.stats = &d.st;
		so.tcp_max_clients = clamp_clients(cs->tcp_max_clients);
		so.tcp_idle_timeout = cs->tcp_idle_timeout_ms / 1000.;
		so.tcp_message_timeout = cs->tcp_message_timeout_ms / 1000.;
		if ((d.srv = srv_new(&so)) == NULL)
			fatal("srv_new");
		if ((d.pend = pending_new(d.loop, d.srv, &d.st,
		    cs->max_pending)) == NULL)
			fatal("pending_new");
		d.qctx.pend = d.pend;
		for (i = 0; i < cs->nlisten; i++) {
			int rc = srv_listen(d.srv,
			    (struct sockaddr *)&cs->listen[i].sa,
			    cs->listen[i].salen);

			if (rc != 0) {
				ctl_close(d.ctl);	/* leave no socket behind */
				fatalx("listen %s: %s", cs->listen[i].text,
				    rblmux_strerror(rc));
			}
			log_info("listening on %s (udp, tcp)",
			    cs->listen[i].text);
		}
	}

	if (!foreground && daemon(1, 0) != 0)
		fatal("daemon");
	if (pidfile == NULL)
		pidfile = d.view->conf->server.pidfile;
	if (pidfile != NULL)
		write_pidfile(pidfile);
	ev_loop_fork(d.loop);
	ctl_start(d.ctl, d.loop);

	ev_async_init(&d.reload_done, reload_done_cb);
	ev_async_start(d.loop, &d.reload_done);
	ev_init(&d.check, check_cb);
	if (d.view->conf->server.check_interval > 0) {
		ev_timer_set(&d.check, d.view->conf->server.check_interval,
		    d.view->conf->server.check_interval);
		ev_timer_start(d.loop, &d.check);
	}

	handover_signals(&d);

	log_info("rblmuxd %s started, %zu zone%s", RBLMUX_VERSION,
	    d.view->nzones, d.view->nzones == 1 ? "" : "s");
	ev_run(d.loop, 0);

	/*
	 * Queries still parked (a second signal cut the drain short) are
	 * dropped; a reload thread still running is left to finish on its
	 * own as the process exits.
	 */
	pending_free(d.pend);
	srv_free(d.srv);
	ctl_close(d.ctl);
	if (pidfile != NULL)
		unlink(pidfile);
	if (d.job == NULL) {
		view_unref(d.view);
		acl_free(d.acl);
	}
	log_info("stopped");
	return 0;
}
