/*
 * main.c -- rblmuxd: command line, start-up, signals, the loop, shutdown.
 *
 * Start-up loads and checks the config and every list, opens the control
 * socket, binds the listeners and runs the libev loop. Reloads are
 * reload.c's (a new view built in a background thread, swapped in
 * between loop iterations), the "status" text is status.c's.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "cache.h"
#include "conf.h"
#include "ctl.h"
#include "dyn.h"
#include "err.h"
#include "escal.h"
#include "log.h"
#include "pending.h"
#include "query.h"
#include "reload.h"
#include "rrl.h"
#include "srv.h"
#include "stats.h"
#include "status.h"
#include "upstream.h"
#include "view.h"
#include "xfr.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc/rblmux"
#endif

/* The loops that answer queries (one in this version). */
#define NLOOPS	1

struct daemon {
	struct ev_loop	*loop;
	const char	*conf_path;
	struct srv	*srv;
	struct pending	*pend;		/* parked queries */
	struct cache	*cache;		/* upstream results, or NULL */
	struct upclient	*uc;		/* the upstream client */
	struct ctl	*ctl;
	struct stats	 st[NLOOPS];	/* each loop's own counters */
	struct query_ctx qctx;
	struct reload	 rl;		/* owns the current view */
	time_t		 started;
	ev_signal	 sighup, sigterm, sigint, sigusr1;
	ev_timer	 drain;		/* shutdown: wait for TCP replies */
	ev_tstamp	 drain_until;
};

static void	usage(void) __attribute__((noreturn));

static void
usage(void)
{
	fprintf(stderr, "usage: rblmuxd [-c FILE] [-f] [-n] [-d] [-p PIDFILE]\n");
	exit(2);
}

static void
sighup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = (struct daemon *)((char *)w -
	    offsetof(struct daemon, sighup));

	reload_start(&d->rl, true);
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
	upclient_stop(d->uc);
	pending_stop(d->pend);
	srv_drain(d->srv);
	d->drain_until = ev_now(loop) + 2.;
	ev_timer_init(&d->drain, drain_cb, 0., 0.05);
	ev_timer_start(loop, &d->drain);
	(void)revents;
}

/* stats_total - the counters of every loop, summed, as text */
static void
stats_total(const struct daemon *d, char *buf, size_t cap)
{
	const struct stats *loops[NLOOPS];
	struct stats sum;
	size_t i;

	for (i = 0; i < NLOOPS; i++)
		loops[i] = &d->st[i];
	stats_sum(&sum, loops, NLOOPS);
	stats_format(&sum, buf, cap);
}

static void
sigusr1_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = (struct daemon *)((char *)w -
	    offsetof(struct daemon, sigusr1));
	char buf[4096], *line, *save = NULL;

	stats_total(d, buf, sizeof(buf));
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

/*
 * start_rrl - the UDP rate limiter of the loop, for immediate and
 * parked answers; its hash seed is secret so that no client can aim at
 * another's bucket
 */
static void
start_rrl(struct daemon *d)
{
	uint64_t seed;
	struct timespec ts;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(seed)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		seed = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^
		    (uint64_t)getpid();
	}
	if ((d->qctx.rrl = rrl_new(seed)) == NULL ||
	    rrl_configure(d->qctx.rrl, &d->rl.view->conf->server) != 0)
		fatalx("rate-limit: out of memory");
	pending_set_rrl(d->pend, d->qctx.rrl);
}

/* ctl hooks */
static struct view *
hook_view(void *arg)
{
	return ((struct daemon *)arg)->rl.view;
}

static void
hook_stats(void *arg, struct ctl_out *o)
{
	char buf[4096];

	stats_total(arg, buf, sizeof(buf));
	ctl_printf(o, "%s", buf);
}

static void
hook_reload(void *arg)
{
	reload_start(&((struct daemon *)arg)->rl, true);
}

/* hook_status - the "status" text */
static void
hook_status(void *arg, struct ctl_out *o)
{
	struct daemon *d = arg;
	struct status_info si;

	si.view = d->rl.view;
	si.started = d->started;
	si.reloading = reload_running(&d->rl);
	si.tcp_clients = srv_tcp_clients(d->srv);
	si.tcp_stalled = srv_tcp_stalled(d->srv);
	si.uc = d->uc;
	si.rrl = d->qctx.rrl;
	status_write(o, &si, time(NULL));
}

/*
 * start_upstreams - the cache and the upstream client, after the fork
 * (the cache's writer thread would not survive it). A cache that cannot
 * be opened is logged and the server runs without one. The test daemon's
 * delayed source, when it registered itself, stays the source.
 */
static void
start_upstreams(struct daemon *d)
{
	const struct conf *c = d->rl.view->conf;
	struct cache_opts co;
	char msg[512], *dir;
	int rc;

	if (pending_source != NULL)
		return;
	if (c->nupstreams > 0) {
		memset(&co, 0, sizeof(co));
		if ((dir = conf_path(c, c->server.cache_dir)) == NULL)
			fatalx("cache-dir: out of memory");
		co.dir = dir;
		co.max_size = c->server.cache_max_size;
		co.serve_stale = c->server.serve_stale;
		co.writer = true;
		msg[0] = '\0';
		rc = cache_open(&co, &d->cache, msg, sizeof(msg));
		if (rc != 0) {
			log_warnx("cache %s: %s; running without a cache", dir,
			    msg[0] ? msg : rblmux_strerror(rc));
			d->cache = NULL;
		} else if (msg[0] != '\0')
			log_warnx("cache %s: %s", dir, msg);
		free(dir);
	}
	if ((d->uc = upclient_new(d->loop, d->cache, &d->st[0])) == NULL)
		fatal("upclient_new");
	upclient_main = d->uc;
	/* escalation rules count the listings it sees */
	upclient_on_listed(d->uc, escal_view_listed_hook,
	    escal_view_listed_wants, &d->rl.view);
	upclient_apply(d->uc, d->rl.view);
	pending_set_source(upclient_source(d->uc));
}

/*
 * start_dyn - the store of dynamic entries, after the fork (no LMDB
 * environment may cross it), bound to the first view before it answers.
 * A store that cannot be used is logged and the lists answer from their
 * files; "list add" says why.
 */
static void
start_dyn(struct daemon *d)
{
	const struct conf *c = d->rl.view->conf;
	const struct dyn_list *dl;
	char *dir;
	size_t bad = 0, n = 0;

	if ((dir = conf_path(c, c->server.state_dir)) == NULL ||
	    dyn_open(dir, &dyn_main, &bad) != 0)
		fatalx("state-dir: out of memory");
	if (dyn_error(dyn_main) != NULL)
		log_warnx("dynamic entries: %s; lists answer from their files "
		    "only and list add fails", dyn_error(dyn_main));
	if (bad > 0)
		log_warnx("dynamic entries: %s/" DYN_FILE ": %zu records that "
		    "do not parse skipped", dir, bad);
	for (dl = dyn_lists(dyn_main); dl != NULL; dl = dl->next)
		n += dl->n;
	if (n > 0)
		log_info("dynamic entries: %zu", n);
	free(dir);
	dyn_bind(dyn_main, d->rl.view);
	/* escalation rules count the entries, and follow their changes */
	if (escal_view_feed(d->rl.view, dyn_main, time(NULL)) != 0 ||
	    dyn_on_change(dyn_main, escal_view_dyn_hook, &d->rl.view) != 0)
		fatalx("escalation: out of memory");
	/* served zones: a new serial and NOTIFY (after the counts) */
	if (dyn_on_change(dyn_main, xfr_dyn_hook, &d->rl.view) != 0)
		fatalx("dynamic entries: out of memory");
	dyn_start(dyn_main, d->loop);
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

int
main(int argc, char *argv[])
{
	/* static: a reload thread may still hold it while main returns */
	static struct daemon d;
	struct reload_report rep;
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

		d.rl.view = reload_load(d.conf_path, &rep);
		if (rep.len > 0)
			fputs(rep.text, stderr);
		if (d.rl.view == NULL && rep.errors == 0) {
			rep.count++;		/* a failure nobody reported */
			rep.errors++;
		}
		reload_report_counts(&rep, counts, sizeof(counts));
		if (d.rl.view == NULL || rep.errors > 0) {
			fprintf(stderr, "%s: %s\n", d.conf_path, counts);
			view_unref(d.rl.view);
			return 1;
		}
		if (rep.count > 0)
			printf("%s: OK, %s\n", d.conf_path, counts);
		else
			printf("%s: OK\n", d.conf_path);
		view_unref(d.rl.view);
		return 0;
	}

	early_signals();
	rep.to_log = 1;
	d.rl.view = reload_load(d.conf_path, &rep);
	if (early_stop != 0) {
		/* told to stop while loading: nothing is bound or written yet */
		log_info("signal %d: stopping", (int)early_stop);
		view_unref(d.rl.view);
		log_info("stopped");
		return 0;
	}
	if (d.rl.view == NULL)
		fatalx("%s: not started: %u error%s", d.conf_path,
		    rep.errors ? rep.errors : 1, rep.errors > 1 ? "s" : "");
	reload_not_yet(d.rl.view->conf);

	/*
	 * The control socket first: a second server started on the same
	 * config stops here, before it binds anything.
	 */
	{
		struct ctl_hooks h = { &d, hook_view, hook_status, hook_stats,
		    hook_reload };
		char *path = conf_path(d.rl.view->conf,
		    d.rl.view->conf->server.control_socket);
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

	if ((xfr_main = xfr_new(d.loop)) == NULL)
		fatal("xfr_new");
	xfr_apply(xfr_main, d.rl.view);
	xfr_watch_sightings(xfr_main, &d.rl.view);
	d.qctx.view = d.rl.view;
	d.qctx.st = &d.st[0];
	{
		struct srv_opts so;
		const struct conf_server *cs = &d.rl.view->conf->server;
		const struct vtcp *tcp = &d.rl.view->tcp;

		memset(&so, 0, sizeof(so));
		so.loop = d.loop;
		so.handler = query_handle;
		so.accept = query_accept;
		so.ctx = &d.qctx;
		so.stats = &d.st[0];
		so.tcp_max_clients = reload_clamp_clients(tcp->max_clients);
		so.tcp_idle_timeout = tcp->idle_timeout;
		so.tcp_message_timeout = tcp->message_timeout;
		if ((d.srv = srv_new(&so)) == NULL)
			fatal("srv_new");
		if ((d.pend = pending_new(d.loop, d.srv, &d.st[0],
		    cs->max_pending)) == NULL)
			fatal("pending_new");
		d.qctx.pend = d.pend;
		start_rrl(&d);
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
		pidfile = d.rl.view->conf->server.pidfile;
	if (pidfile != NULL)
		write_pidfile(pidfile);
	ev_loop_fork(d.loop);
	ctl_start(d.ctl, d.loop);
	start_dyn(&d);
	start_upstreams(&d);
	ctl_set_upclient(d.uc);

	d.rl.loop = d.loop;
	d.rl.conf_path = d.conf_path;
	d.rl.srv = d.srv;
	d.rl.ctl = d.ctl;
	d.rl.qctx = &d.qctx;
	d.rl.st = &d.st[0];
	reload_init(&d.rl);

	handover_signals(&d);

	log_info("rblmuxd %s started, %zu zone%s", RBLMUX_VERSION,
	    d.rl.view->nzones, d.rl.view->nzones == 1 ? "" : "s");
	ev_run(d.loop, 0);

	/*
	 * Queries still parked (a second signal cut the drain short) are
	 * dropped; a reload thread still running is left to finish on its
	 * own as the process exits.
	 */
	pending_free(d.pend);
	rrl_free(d.qctx.rrl);
	ctl_set_upclient(NULL);		/* its cache reader goes first */
	upclient_free(d.uc);
	upclient_main = NULL;
	cache_close(d.cache);
	dyn_close(dyn_main);
	dyn_main = NULL;
	srv_free(d.srv);		/* transfers end with their connections */
	xfr_free(xfr_main);
	xfr_main = NULL;
	ctl_close(d.ctl);
	if (pidfile != NULL)
		unlink(pidfile);
	if (!reload_running(&d.rl))
		view_unref(d.rl.view);
	log_info("stopped");
	return 0;
}
