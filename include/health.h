/*
 * health.h -- what one upstream has earned: trust and reachability, and
 * its query budget.
 *
 * Pure state machines with the time passed in; the upstream client
 * (upstream.c) feeds them and acts on what they say. No I/O, no clock,
 * no globals.
 *
 * Health. An upstream is probed at start and every few minutes with its
 * test points: 127.0.0.2 must be listed, 127.0.0.1 must not, nor a
 * TEST-NET canary (192.0.2.x). The states:
 *
 *   UNKNOWN   not probed yet: queries go to it (start-up never waits);
 *   UP        answering and trusted;
 *   DOWN      silent (a probe timed out, or HEALTH_DOWN_AFTER client
 *             lookups in a row did), or empty (its test point 127.0.0.2
 *             answered not listed): no client waits for it, its cache
 *             keeps serving (stale entries within serve-stale); the
 *             first good probe brings it back UP;
 *   DISABLED  lost trust: a probe found it listing 127.0.0.1 or the
 *             canary ("lists the world") or answering error codes;
 *             or a client lookup got an error
 *             code. Its results are not used, its cached positives
 *             stored since the last good probe are to be dropped, and
 *             HEALTH_REENABLE_AFTER good probes in a row enable it
 *             again.
 *
 * health_event() returns true when the state changed: the caller logs
 * one line then (never one per query) and acts (drop positives on
 * entering DISABLED).
 *
 * Budget. max-queries COUNT/PERIOD: at most COUNT upstream queries in
 * each PERIOD-long window (windows start at the first query after the
 * previous one ended); past it the upstream is skipped until the window
 * ends.
 */
#ifndef RBLMUX_HEALTH_H
#define RBLMUX_HEALTH_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define HEALTH_DOWN_AFTER	3	/* client lookups timed out in a row */
#define HEALTH_REENABLE_AFTER	3	/* good probes in a row */
#define HEALTH_PROBE_UP		300	/* seconds between probes when UP */
#define HEALTH_PROBE_BAD	30	/* ... when DOWN or DISABLED */

enum health_state {
	HEALTH_UNKNOWN = 0,
	HEALTH_UP,
	HEALTH_DOWN,
	HEALTH_DISABLED,
};

enum health_event {
	HEV_PROBE_GOOD = 0,	/* .2 listed, .1 and canary not */
	HEV_PROBE_WORLD,	/* .1 or the canary listed */
	HEV_PROBE_ERROR,	/* error code / invalid answer */
	HEV_PROBE_SILENT,	/* a probe got no answer in time */
	HEV_PROBE_EMPTY,	/* 127.0.0.2 answered not listed, nothing
				   else wrong: a list or resolver that
				   answers nothing (an expired zone, no
				   internet) -- down, not distrusted */
	HEV_QUERY_OK,		/* a client lookup got a valid answer */
	HEV_QUERY_TIMEOUT,	/* ... got none in time (or SERVFAIL/REFUSED) */
	HEV_QUERY_ERROR,	/* ... got an error code: lost trust */
};

struct health {
	enum health_state state;
	char		 reason[128];	/* why (not UP), for status and logs */
	time_t		 since;		/* in this state since */
	time_t		 last_good_probe; /* 0 = none */
	time_t		 disabled_at;	/* entering DISABLED */
	time_t		 next_probe;	/* when to probe next */
	unsigned	 good_probes;	/* in a row, while DISABLED */
	unsigned	 timeouts;	/* client lookups timed out in a row */
};

/* A new upstream's health at time now: UNKNOWN, probe at once. */
void	 health_init(struct health *h, time_t now);

/*
 * Event e at time now; detail (may be NULL) says more for the reason
 * ("lists the world: DETAIL", "no answer to probe: DETAIL"); for
 * HEV_PROBE_ERROR and HEV_QUERY_ERROR it is the reason itself (the
 * validator's, naming the code). Returns true when h->state changed.
 * Sets next_probe: a probe result to now + HEALTH_PROBE_UP (UP,
 * UNKNOWN) or HEALTH_PROBE_BAD (DOWN, DISABLED); a lookup result only
 * brings a later one forward to that.
 */
bool	 health_event(struct health *h, enum health_event e, time_t now,
	    const char *detail);

/* Do client lookups go to it (UNKNOWN or UP)? (inline: asked for
   every source of every query) */
static inline bool
health_usable(const struct health *h)
{
	return h->state == HEALTH_UNKNOWN || h->state == HEALTH_UP;
}

/* Do its results (fresh or cached) count (not DISABLED)? */
static inline bool
health_trusted(const struct health *h)
{
	return h->state != HEALTH_DISABLED;
}

/* "unknown", "up", "down", "disabled" */
const char *health_state_name(enum health_state s);

struct budget {
	uint64_t	 max;		/* 0 = unlimited */
	uint32_t	 period;	/* seconds */
	time_t		 window;	/* current window's start, 0 = none */
	uint64_t	 used;		/* queries in it */
	uint64_t	 skipped;	/* lookups skipped over the budget */
};

void	 budget_init(struct budget *b, uint64_t max, uint32_t period);

/*
 * May one more query go out at now? Counts it when yes; counts a skip
 * when not.
 */
bool	 budget_take(struct budget *b, time_t now);

/* Is it over the budget at now (without taking)? */
bool	 budget_exhausted(const struct budget *b, time_t now);

#endif /* RBLMUX_HEALTH_H */
