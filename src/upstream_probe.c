/*
 * upstream_probe.c -- upstream health: probes with the RFC 5782 test
 * points and a TEST-NET canary, and what a change of state does (one
 * log line; disabled drops the upstream's recent cached positives).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "answer.h"
#include "cache.h"
#include "health.h"
#include "log.h"
#include "upresp.h"
#include "upstream.h"
#include "upstream_int.h"

static void	probe_start(struct upstate *);

/* upc_arm_probe - the probe timer to h.next_probe */
void
upc_arm_probe(struct upstate *up, time_t now)
{
	struct upclient *uc = up->uc;

	if (up->removed || up->probe != NULL || uc->stopping)
		return;
	ev_timer_stop(uc->loop, &up->probe_t);
	ev_timer_set(&up->probe_t, up->h.next_probe > now ?
	    (double)(up->h.next_probe - now) : 0., 0.);
	ev_timer_start(uc->loop, &up->probe_t);
}

/* upc_set_health - feed an event; log a change (one line) and act on it */
void
upc_set_health(struct upstate *up, enum health_event e, time_t now,
    const char *detail)
{
	struct upclient *uc = up->uc;
	time_t since = up->h.last_good_probe;
	enum health_state old = up->h.state;

	if (!health_event(&up->h, e, now, detail))
		return;
	if (up->h.state == HEALTH_UP)
		log_info("upstream %s: up%s", up->name,
		    old == HEALTH_UNKNOWN ? "" : " again");
	else
		log_warnx("upstream %s: %s (%s)", up->name,
		    health_state_name(up->h.state), up->h.reason);
	if (up->h.state == HEALTH_DISABLED && uc->cache != NULL)
		cache_drop_positives(uc->cache, up->src, since);
	upc_arm_probe(up, now);
}

/* upc_probe_done - one of a probe's three answers (kind k) is in */
void
upc_probe_done(struct probe *p, int i, enum upresp_kind k, bool silent,
    const char *why)
{
	struct upstate *up = p->up;
	time_t now = time(NULL);
	enum health_event e = HEV_PROBE_GOOD;
	char detail[128];
	bool unsent = false;
	int j;

	p->res[i] = k;
	p->silent[i] = silent;
	if ((k == UPRESP_ERROR || silent) && why != NULL && why[0] != '\0' &&
	    p->why[0] == '\0')
		snprintf(p->why, sizeof(p->why), "%s", why);
	if (--p->left > 0)
		return;
	detail[0] = '\0';
	for (j = 0; j < 3; j++)
		unsent |= p->unsent[j];
	for (j = 0; j < 3 && e == HEV_PROBE_GOOD; j++)
		if (p->silent[j] && !p->unsent[j]) {
			e = HEV_PROBE_SILENT;
			snprintf(detail, sizeof(detail), "%s%s%s", p->subj[j],
			    p->why[0] ? ": " : "", p->why);
		}
	for (j = 1; j < 3 && e == HEV_PROBE_GOOD; j++)
		if (p->res[j] == UPRESP_LISTED) {
			e = HEV_PROBE_WORLD;
			snprintf(detail, sizeof(detail), "%s listed",
			    p->subj[j]);
		}
	for (j = 0; j < 3 && e == HEV_PROBE_GOOD; j++)
		if (p->res[j] == UPRESP_ERROR) {
			e = HEV_PROBE_ERROR;
			snprintf(detail, sizeof(detail), "%s", p->why[0] != '\0' ?
			    p->why : "error answer");
		}
	/* 127.0.0.2 not listed, nothing wrong else: it answers nothing */
	if (e == HEV_PROBE_GOOD && !p->unsent[0] && p->res[0] != UPRESP_LISTED) {
		e = HEV_PROBE_EMPTY;
		snprintf(detail, sizeof(detail), "test point %s not listed",
		    p->subj[0]);
	}
	up->probe = NULL;
	free(p);
	if (up->removed) {
		if (up->refs == 0)
			upc_state_free(up);
		return;
	}
	if (e == HEV_PROBE_GOOD && unsent) {
		/* out of sockets or lookups here, not a word against the
		   upstream: no good probe either; ask again later */
		up->h.next_probe = now + HEALTH_PROBE_BAD;
		upc_arm_probe(up, now);
		return;
	}
	upc_set_health(up, e, now, detail[0] != '\0' ? detail : NULL);
	upc_arm_probe(up, now);
}

/* probe_subject - the i-th test subject of a family (RFC 5782) */
static void
probe_subject(enum conf_family f, int i, struct subject *s)
{
	static const char *const names[3] = { "test", "invalid", NULL };
	uint16_t r = upc_random16();

	memset(s, 0, sizeof(*s));
	switch (f) {
	case FAMILY_IP6:
		s->kind = SUBJ_IP6;
		if (i == 2) {
			/* 2001:db8::x (RFC 3849) */
			s->ip6[0] = 0x20;
			s->ip6[1] = 0x01;
			s->ip6[2] = 0x0d;
			s->ip6[3] = 0xb8;
			s->ip6[14] = (uint8_t)(r >> 8);
			s->ip6[15] = (uint8_t)(r | 1);
		} else {
			s->ip6[10] = s->ip6[11] = 0xff;
			s->ip6[12] = 127;
			s->ip6[15] = i == 0 ? 2 : 1;
		}
		break;
	case FAMILY_NAME:
		s->kind = SUBJ_NAME;
		if (names[i] != NULL)
			snprintf(s->name, sizeof(s->name), "%s", names[i]);
		else	/* a name under example.com (RFC 2606) */
			snprintf(s->name, sizeof(s->name),
			    "rblmux-%04x.example.com", r);
		s->name_len = strlen(s->name);
		break;
	default:
		s->kind = SUBJ_IP4;
		/* 127.0.0.2, 127.0.0.1, 192.0.2.x (RFC 5737) */
		s->ip4 = i == 0 ? 0x7f000002U : i == 1 ? 0x7f000001U :
		    0xc0000200U | (uint32_t)(1 + r % 254);
		break;
	}
}

/* subject_text - s as text (reasons) */
static void
subject_text(const struct subject *s, char *buf, size_t cap)
{
	uint32_t a = htonl(s->ip4);

	if (s->kind == SUBJ_IP4)
		inet_ntop(AF_INET, &a, buf, (socklen_t)cap);
	else if (s->kind == SUBJ_IP6)
		inet_ntop(AF_INET6, s->ip6, buf, (socklen_t)cap);
	else
		snprintf(buf, cap, "%s", s->name);
}

/* probe_start - three lookups, neither cached nor budgeted */
static void
probe_start(struct upstate *up)
{
	struct upclient *uc = up->uc;
	struct probe *p;
	struct subject s;
	uint8_t qname[DNS_MAXNAME];
	size_t qlen;
	int i;

	if (up->probe != NULL || up->removed || uc->stopping)
		return;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		up->h.next_probe = time(NULL) + HEALTH_PROBE_BAD;
		upc_arm_probe(up, time(NULL));
		return;
	}
	p->up = up;
	p->left = 3;
	up->probe = p;
	for (i = 0; i < 3; i++) {
		struct lookup *lk;

		probe_subject(up->cu->family, i, &s);
		subject_text(&s, p->subj[i], sizeof(p->subj[i]));
		qlen = upresp_qname(&s, up->cu->zone, qname);
		lk = qlen != 0 ? upc_lookup_new(uc, up, qname, qlen, false) : NULL;
		if (lk == NULL) {
			p->unsent[i] = qlen != 0;	/* no memory, or the cap */
			upc_probe_done(p, i, UPRESP_MISMATCH, true, NULL);
			continue;
		}
		lk->probe = p;
		lk->pidx = i;
		upc_lookup_go(lk);
	}
}

/* upc_probe_cb - time to probe (the per-upstream timer) */
void
upc_probe_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	probe_start(w->data);
	(void)loop;
	(void)revents;
}
