/*
 * health.c -- an upstream's health state machine and query budget.
 * Pure: the time comes in, decisions go out. See health.h.
 */
#include <stdio.h>
#include <string.h>

#include "health.h"

void
health_init(struct health *h, time_t now)
{
	memset(h, 0, sizeof(*h));
	h->state = HEALTH_UNKNOWN;
	h->since = now;
	h->next_probe = now;
	snprintf(h->reason, sizeof(h->reason), "not probed yet");
}

/* set_reason - h->reason from what and detail (may be NULL) */
static void
set_reason(struct health *h, const char *what, const char *detail)
{
	if (detail != NULL && detail[0] != '\0')
		snprintf(h->reason, sizeof(h->reason), "%s: %s", what, detail);
	else
		snprintf(h->reason, sizeof(h->reason), "%s", what);
}

/* enter - move h to state s at now; returns whether it changed */
static bool
enter(struct health *h, enum health_state s, time_t now)
{
	if (h->state == s)
		return false;
	h->state = s;
	h->since = now;
	h->timeouts = 0;
	h->good_probes = 0;
	if (s == HEALTH_DISABLED)
		h->disabled_at = now;
	if (s == HEALTH_UP)
		h->reason[0] = '\0';
	return true;
}

/* good_probe - a probe that found the test points right */
static bool
good_probe(struct health *h, time_t now)
{
	h->last_good_probe = now;
	h->timeouts = 0;
	if (h->state == HEALTH_DISABLED &&
	    ++h->good_probes < HEALTH_REENABLE_AFTER)
		return false;
	return enter(h, HEALTH_UP, now);
}

/*
 * distrust - lost trust: DISABLED, reason what[: detail], or detail
 * alone when it says it all (the validator's reason names the code)
 */
static bool
distrust(struct health *h, time_t now, const char *what, const char *detail,
    bool detail_alone)
{
	bool changed = enter(h, HEALTH_DISABLED, now);

	/* a bad probe while DISABLED starts the count of good ones again */
	h->good_probes = 0;
	if (detail_alone && detail != NULL && detail[0] != '\0')
		set_reason(h, detail, NULL);
	else
		set_reason(h, what, detail);
	return changed;
}

/* interval - seconds to the next probe in state s */
static time_t
interval(enum health_state s)
{
	return s == HEALTH_UP || s == HEALTH_UNKNOWN ? HEALTH_PROBE_UP :
	    HEALTH_PROBE_BAD;
}

bool
health_event(struct health *h, enum health_event e, time_t now,
    const char *detail)
{
	bool changed = false;

	switch (e) {
	case HEV_PROBE_GOOD:
		changed = good_probe(h, now);
		break;
	case HEV_PROBE_WORLD:
		changed = distrust(h, now, "lists the world", detail, false);
		break;
	case HEV_PROBE_ERROR:
		changed = distrust(h, now, "bad probe answer", detail, true);
		break;
	case HEV_PROBE_SILENT:
	case HEV_PROBE_EMPTY:
		if (h->state == HEALTH_DISABLED) {
			/* silence is no good probe either */
			h->good_probes = 0;
			break;
		}
		changed = enter(h, HEALTH_DOWN, now);
		set_reason(h, e == HEV_PROBE_SILENT ? "no answer to probe" :
		    "answers nothing", detail);
		break;
	case HEV_QUERY_OK:
		h->timeouts = 0;
		if (h->state == HEALTH_UNKNOWN || h->state == HEALTH_DOWN)
			changed = enter(h, HEALTH_UP, now);
		break;
	case HEV_QUERY_TIMEOUT:
		if ((h->state == HEALTH_UNKNOWN || h->state == HEALTH_UP) &&
		    ++h->timeouts >= HEALTH_DOWN_AFTER) {
			changed = enter(h, HEALTH_DOWN, now);
			snprintf(h->reason, sizeof(h->reason), "%u lookups in "
			    "a row got no answer", HEALTH_DOWN_AFTER);
		}
		break;
	case HEV_QUERY_ERROR:
		changed = distrust(h, now, "error code", detail, true);
		break;
	default:
		return false;
	}
	if (e <= HEV_PROBE_EMPTY)
		h->next_probe = now + interval(h->state);
	else if (h->next_probe > now + interval(h->state))
		/* a lookup never delays a probe that is due, only hastens it */
		h->next_probe = now + interval(h->state);
	return changed;
}

const char *
health_state_name(enum health_state s)
{
	switch (s) {
	case HEALTH_UNKNOWN:
		return "unknown";
	case HEALTH_UP:
		return "up";
	case HEALTH_DOWN:
		return "down";
	case HEALTH_DISABLED:
		return "disabled";
	}
	return "?";
}

void
budget_init(struct budget *b, uint64_t max, uint32_t period)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
	b->period = period;
}

/* window_over - has b's current window ended by now (or none begun)? */
static bool
window_over(const struct budget *b, time_t now)
{
	return b->window == 0 || now - b->window >= (time_t)b->period ||
	    now < b->window;
}

bool
budget_exhausted(const struct budget *b, time_t now)
{
	if (b->max == 0 || window_over(b, now))
		return false;
	return b->used >= b->max;
}

bool
budget_take(struct budget *b, time_t now)
{
	if (b->max == 0) {
		b->used++;
		return true;
	}
	if (window_over(b, now)) {
		b->window = now;
		b->used = 0;
	}
	if (b->used >= b->max) {
		b->skipped++;
		return false;
	}
	b->used++;
	return true;
}
