/*
 * reload.c -- load the config and lists; build the next view in a
 * background thread and swap it in from the event loop.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <ev.h>

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

/* A reload in progress. */
struct reload_job {
	struct reload	*r;
	bool		 full;		/* re-read the config too */
	struct vconf	*vc;		/* lists-only: the current config */
	struct view	*old;		/* referenced */
	struct view	*result;	/* NULL: failed */
	uint64_t	 covers;	/* answers "rblmuxctl reload" up to this
					   request number (0: lists only) */
	int		 rc;		/* why it failed (RBLMUX_E*, -errno) */
	struct reload_report rep;
};

/*
 * reload_report_cb - a config or list problem, as "file:line: message";
 * a warning (something used as well as it could be) says so
 */
void
reload_report_cb(void *arg, enum list_severity sev, const char *file,
    unsigned line, const char *msg)
{
	struct reload_report *r = arg;
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
	reload_report_cb(arg, LIST_ERROR, file, line, msg);
}

/* reload_report_counts - "2 errors, 1 warning" */
const char *
reload_report_counts(const struct reload_report *r, char *buf, size_t bufsz)
{
	unsigned w = r->count - r->errors;

	snprintf(buf, bufsz, "%u error%s, %u warning%s", r->errors,
	    r->errors == 1 ? "" : "s", w, w == 1 ? "" : "s");
	return buf;
}

/* named_escalation - is name an escalation rule of c? */
static bool
named_escalation(const struct conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nescalations; i++)
		if (strcmp(c->escalations[i].name, name) == 0)
			return true;
	return false;
}

/* reload_not_yet - say which configured features this version does not run */
void
reload_not_yet(const struct conf *c)
{
	const struct conf_server *s = &c->server;
	size_t i, j;

	for (i = 0; i < c->nescalations; i++)
		for (j = 0; j < c->escalations[i].nsources; j++)
			if (c->escalations[i].sources[j] != NULL &&
			    named_escalation(c,
			    c->escalations[i].sources[j]))
				log_warnx("escalation %s: source %s is an "
				    "escalation, whose networks count nothing "
				    "in this version", c->escalations[i].name,
				    c->escalations[i].sources[j]);
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

/* reload_load - config and lists, for start-up and -n */
struct view *
reload_load(const char *path, struct reload_report *rep)
{
	struct conf *c;
	struct vconf *vc;
	struct view *v = NULL;

	if (conf_load(path, conf_report_cb, rep, &c) != 0)
		return NULL;
	vc = vconf_new(c);
	if (view_build(vc, NULL, reload_report_cb, rep, &v) != 0)
		v = NULL;
	vconf_unref(vc);
	return v;
}

/* reload_clamp_clients - keep the TCP cap within the descriptors we may open */
unsigned
reload_clamp_clients(unsigned want)
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

/* reload_thread - build the next view off the event loop */
static void *
reload_thread(void *arg)
{
	struct reload_job *job = arg;
	struct reload *r = job->r;
	struct conf *c;
	struct vconf *vc = NULL;

	if (!job->full) {
		vc = job->vc;
		job->vc = NULL;
	} else if ((job->rc = conf_load(r->conf_path, conf_report_cb,
	    &job->rep, &c)) == 0 && (vc = vconf_new(c)) == NULL)
		job->rc = RBLMUX_ENOMEM;
	if (vc != NULL) {
		/* the access control and TCP limits are built with it */
		if ((job->rc = view_build(vc, job->old, reload_report_cb,
		    &job->rep, &job->result)) != 0)
			job->result = NULL;
		vconf_unref(vc);
	}
	pthread_mutex_lock(&r->lock);
	r->finished = job;
	pthread_mutex_unlock(&r->lock);
	ev_async_send(r->loop, &r->done);
	return NULL;
}

/*
 * reload_start - begin a reload unless one runs; then queue it. A full
 * reload answers the "rblmuxctl reload" requests made before it starts
 * (it reads the config after); later ones wait for the next.
 */
void
reload_start(struct reload *r, bool full)
{
	struct reload_job *job;
	pthread_attr_t attr;
	pthread_t tid;

	if (r->job != NULL) {
		if (full)
			r->again_full = true;
		else
			r->again_lists = true;
		return;
	}
	if ((job = calloc(1, sizeof(*job))) == NULL) {
		log_warnx("reload: out of memory; the previous config and "
		    "lists keep serving");
		r->st->reload_failures++;
		ctl_reload_done(r->ctl, ctl_reload_asked(r->ctl), false,
		    "reload not started: out of memory\n");
		return;
	}
	job->r = r;
	job->full = full;
	job->covers = full ? ctl_reload_asked(r->ctl) : 0;
	job->rep.to_log = 1;
	job->old = r->view;
	view_ref(job->old);
	if (!full) {
		job->vc = r->view->vc;
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
		r->st->reload_failures++;
		ctl_reload_done(r->ctl, ctl_reload_asked(r->ctl), false,
		    "reload not started: no thread\n");
	} else
		r->job = job;
	pthread_attr_destroy(&attr);
}

/* reload_running - is a job out? */
bool
reload_running(const struct reload *r)
{
	return r->job != NULL;
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

/* arm_check - poll list files every check-interval of c */
static void
arm_check(struct reload *r, const struct conf *c)
{
	ev_timer_stop(r->loop, &r->check);
	if (c->server.check_interval > 0) {
		ev_timer_set(&r->check, c->server.check_interval,
		    c->server.check_interval);
		ev_timer_start(r->loop, &r->check);
	}
}

/*
 * apply_view - settings that follow the config on reload: the TCP
 * limits compiled into v, the cap on parked queries, the rate limiter,
 * the check interval (the access control is part of v itself)
 */
static void
apply_view(struct reload *r, const struct view *v)
{
	srv_set_limits(r->srv, reload_clamp_clients(v->tcp.max_clients),
	    v->tcp.idle_timeout, v->tcp.message_timeout);
	if (r->qctx->pend != NULL)
		pending_set_max(r->qctx->pend, v->conf->server.max_pending);
	if (r->qctx->rrl != NULL &&
	    rrl_configure(r->qctx->rrl, &v->conf->server) != 0)
		log_warnx("rate-limit: out of memory: the previous settings "
		    "stay");
	arm_check(r, v->conf);
	if (upclient_main != NULL)
		upclient_apply(upclient_main, v);
}

/*
 * kept_note - name the lists still answering from earlier data (broken
 * files, or a failure to be tried again), so a reload that did not
 * parse them again (unchanged since) still says so.
 */
static void
kept_note(const struct view *v, struct reload_report *rep)
{
	size_t i;
	int n;

	for (i = 0; i < v->nlists; i++) {
		if (v->lists[i]->kept == NULL)
			continue;
		n = snprintf(rep->text + rep->len, sizeof(rep->text) - rep->len,
		    "list %s: %s, the previous data keeps serving%s\n",
		    v->lists[i]->name, status_kept_why(v->lists[i]),
		    v->lists[i]->retry ? " (read again at the next check)" :
		    "");
		if (n > 0 && rep->len + (size_t)n < sizeof(rep->text))
			rep->len += (size_t)n;
		else
			rep->text[rep->len] = '\0';	/* drop a clipped line */
	}
}

/* swap_in - the job built a view: serve it */
static void
swap_in(struct reload *r, struct reload_job *job)
{
	struct view *old = r->view;
	bool newconf = job->result->vc != old->vc;
	char msg[256], counts[64];

	if (newconf && !same_listen(old->conf, job->result->conf))
		log_warnx("listen: addresses changed; restart rblmuxd "
		    "to bind the new ones");
	/* the dynamic entries and sightings the rules count move on */
	if (escal_view_carry(job->result, old) != 0)
		log_warnx("escalation: out of memory: some dynamic entries "
		    "and upstream sightings are no longer counted");
	r->view = job->result;
	job->result = NULL;
	dyn_bind(dyn_main, r->view);	/* before it answers */
	if (escal_view_feed(r->view, dyn_main, time(NULL)) != 0)
		log_warnx("escalation: out of memory: some dynamic entries "
		    "are not counted");
	if (xfr_main != NULL)
		xfr_apply(xfr_main, r->view);	/* serials, before it answers */
	r->qctx->view = r->view;
	if (newconf) {
		apply_view(r, r->view);
		reload_not_yet(r->view->conf);
	}
	view_unref(old);
	r->st->reloads++;
	if (job->full)
		r->retry_full = false;
	kept_note(r->view, &job->rep);
	snprintf(msg, sizeof(msg), "reloaded; %s\n",
	    reload_report_counts(&job->rep, counts, sizeof(counts)));
	log_info("%.*s", (int)strlen(msg) - 1, msg);
	if (job->rep.len + strlen(msg) < sizeof(job->rep.text))
		strcat(job->rep.text, msg);
	ctl_reload_done(r->ctl, job->covers, true, job->rep.text);
}

/* done_cb - a job finished: swap in its view, or keep the old one */
static void
done_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct reload *r = (struct reload *)((char *)w -
	    offsetof(struct reload, done));
	struct reload_job *job;

	pthread_mutex_lock(&r->lock);
	job = r->finished;
	r->finished = NULL;
	pthread_mutex_unlock(&r->lock);
	if (job == NULL)
		return;
	r->job = NULL;
	if (job->result != NULL)
		swap_in(r, job);
	else {
		r->st->reload_failures++;
		log_warnx("reload failed; the previous config and lists keep "
		    "serving");
		ctl_reload_done(r->ctl, job->covers, false, job->rep.len ?
		    job->rep.text : "reload failed\n");
		/*
		 * Out of memory or descriptors, or a new list's file being
		 * rewritten: it may work the next time without anyone asking.
		 */
		if (list_load_transient(job->rc)) {
			r->retry_full = job->full;
			log_warnx("%s; reloading again at the next check",
			    rblmux_strerror(job->rc));
		}
	}
	view_unref(job->old);
	vconf_unref(job->vc);
	free(job);
	if (r->again_full || r->again_lists) {
		bool full = r->again_full;

		r->again_full = r->again_lists = false;
		reload_start(r, full);
	}
	(void)loop;
	(void)revents;
}

/* check_cb - poll list files for changes */
static void
check_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct reload *r = (struct reload *)((char *)w -
	    offsetof(struct reload, check));

	if (r->job != NULL)
		return;
	if (r->retry_full) {
		r->retry_full = false;
		reload_start(r, true);
	} else if (view_lists_changed(r->view))
		reload_start(r, false);
	(void)loop;
	(void)revents;
}

/* reload_init - take the hand-over and the check timer into the loop */
void
reload_init(struct reload *r)
{
	pthread_mutex_init(&r->lock, NULL);
	ev_async_init(&r->done, done_cb);
	ev_async_start(r->loop, &r->done);
	ev_init(&r->check, check_cb);
	arm_check(r, r->view->conf);
}
