/*
 * test_health.c -- an upstream's health state machine and its query
 * budget, with the time passed in.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "health.h"

#define T0	1764590400	/* 2025-12-01 12:00 UTC */

static void
start_unknown(void **state)
{
	struct health h;

	(void)state;
	health_init(&h, T0);
	assert_int_equal(h.state, HEALTH_UNKNOWN);
	assert_int_equal(h.next_probe, T0);	/* probe at once */
	assert_int_equal(h.since, T0);
	assert_int_equal(h.last_good_probe, 0);
	/* start-up never waits: lookups go to it, its results count */
	assert_true(health_usable(&h));
	assert_true(health_trusted(&h));
	assert_string_equal(health_state_name(h.state), "unknown");
	assert_string_equal(health_state_name(HEALTH_UP), "up");
	assert_string_equal(health_state_name(HEALTH_DOWN), "down");
	assert_string_equal(health_state_name(HEALTH_DISABLED), "disabled");
}

static void
up_by_probe_and_by_lookup(void **state)
{
	struct health h;

	(void)state;
	health_init(&h, T0);
	assert_true(health_event(&h, HEV_PROBE_GOOD, T0 + 1, NULL));
	assert_int_equal(h.state, HEALTH_UP);
	assert_int_equal(h.since, T0 + 1);
	assert_int_equal(h.last_good_probe, T0 + 1);
	assert_int_equal(h.next_probe, T0 + 1 + HEALTH_PROBE_UP);
	/* no change, no log line: false */
	assert_false(health_event(&h, HEV_PROBE_GOOD, T0 + 301, NULL));
	assert_int_equal(h.next_probe, T0 + 301 + HEALTH_PROBE_UP);
	assert_int_equal(h.since, T0 + 1);
	assert_false(health_event(&h, HEV_QUERY_OK, T0 + 302, NULL));

	/* a lookup answered before the first probe: UP, the probe still
	   goes out when due */
	health_init(&h, T0);
	assert_true(health_event(&h, HEV_QUERY_OK, T0 + 2, NULL));
	assert_int_equal(h.state, HEALTH_UP);
	assert_int_equal(h.next_probe, T0);
	assert_int_equal(h.last_good_probe, 0);
}

static void
down_by_probe(void **state)
{
	struct health h;

	(void)state;
	health_init(&h, T0);
	assert_true(health_event(&h, HEV_PROBE_SILENT, T0 + 2, NULL));
	assert_int_equal(h.state, HEALTH_DOWN);
	assert_string_equal(h.reason, "no answer to probe");
	assert_int_equal(h.next_probe, T0 + 2 + HEALTH_PROBE_BAD);
	/* no lookup waits for it, its cached results still count */
	assert_false(health_usable(&h));
	assert_true(health_trusted(&h));
	/* silent again: no change */
	assert_false(health_event(&h, HEV_PROBE_SILENT, T0 + 32, "3 tries"));
	assert_string_equal(h.reason, "no answer to probe: 3 tries");
	assert_int_equal(h.next_probe, T0 + 32 + HEALTH_PROBE_BAD);
	assert_int_equal(h.since, T0 + 2);
	/* back at the first good probe */
	assert_true(health_event(&h, HEV_PROBE_GOOD, T0 + 62, NULL));
	assert_int_equal(h.state, HEALTH_UP);
	assert_string_equal(h.reason, "");
	assert_int_equal(h.next_probe, T0 + 62 + HEALTH_PROBE_UP);

	/* UP, then a silent probe */
	assert_true(health_event(&h, HEV_PROBE_SILENT, T0 + 400, NULL));
	assert_int_equal(h.state, HEALTH_DOWN);
	/* ... and a lookup answered after all brings it back */
	assert_true(health_event(&h, HEV_QUERY_OK, T0 + 401, NULL));
	assert_int_equal(h.state, HEALTH_UP);

	/* a list that answers nothing (127.0.0.2 not listed) is down, its
	   results still trusted, back at the first good probe */
	assert_true(health_event(&h, HEV_PROBE_EMPTY, T0 + 700,
	    "test point 127.0.0.2 not listed"));
	assert_int_equal(h.state, HEALTH_DOWN);
	assert_string_equal(h.reason,
	    "answers nothing: test point 127.0.0.2 not listed");
	assert_true(health_trusted(&h));
	assert_int_equal(h.next_probe, T0 + 700 + HEALTH_PROBE_BAD);
	assert_true(health_event(&h, HEV_PROBE_GOOD, T0 + 730, NULL));
	assert_int_equal(h.state, HEALTH_UP);
}

static void
down_by_lookups(void **state)
{
	struct health h;
	unsigned i;

	(void)state;
	health_init(&h, T0);
	health_event(&h, HEV_PROBE_GOOD, T0, NULL);
	/* timeouts in a row, one short: still UP */
	for (i = 1; i < HEALTH_DOWN_AFTER; i++)
		assert_false(health_event(&h, HEV_QUERY_TIMEOUT, T0 + i,
		    NULL));
	/* a lookup answered breaks the row */
	assert_false(health_event(&h, HEV_QUERY_OK, T0 + 10, NULL));
	for (i = 1; i < HEALTH_DOWN_AFTER; i++)
		assert_false(health_event(&h, HEV_QUERY_TIMEOUT, T0 + 10 + i,
		    NULL));
	assert_int_equal(h.state, HEALTH_UP);
	assert_int_equal(h.next_probe, T0 + HEALTH_PROBE_UP);
	/* the one that completes the row */
	assert_true(health_event(&h, HEV_QUERY_TIMEOUT, T0 + 20, NULL));
	assert_int_equal(h.state, HEALTH_DOWN);
	assert_string_equal(h.reason, "3 lookups in a row got no answer");
	/* the next probe comes sooner */
	assert_int_equal(h.next_probe, T0 + 20 + HEALTH_PROBE_BAD);
	/* more timeouts: no change, no new line */
	assert_false(health_event(&h, HEV_QUERY_TIMEOUT, T0 + 21, NULL));
	assert_int_equal(h.state, HEALTH_DOWN);

	/* from UNKNOWN too */
	health_init(&h, T0);
	for (i = 1; i < HEALTH_DOWN_AFTER; i++)
		assert_false(health_event(&h, HEV_QUERY_TIMEOUT, T0, NULL));
	assert_true(health_event(&h, HEV_QUERY_TIMEOUT, T0, NULL));
	assert_int_equal(h.state, HEALTH_DOWN);
	/* a due probe is not put off */
	assert_int_equal(h.next_probe, T0);
}

static void
disabled_and_reenabled(void **state)
{
	struct health h;
	unsigned i;
	time_t t;

	(void)state;
	health_init(&h, T0);
	health_event(&h, HEV_PROBE_GOOD, T0, NULL);
	assert_true(health_event(&h, HEV_PROBE_WORLD, T0 + 300,
	    "127.0.0.1 listed (127.0.0.2)"));
	assert_int_equal(h.state, HEALTH_DISABLED);
	assert_string_equal(h.reason,
	    "lists the world: 127.0.0.1 listed (127.0.0.2)");
	assert_int_equal(h.disabled_at, T0 + 300);
	assert_int_equal(h.last_good_probe, T0);
	assert_int_equal(h.next_probe, T0 + 300 + HEALTH_PROBE_BAD);
	assert_false(health_usable(&h));
	assert_false(health_trusted(&h));

	/* good probes in a row, one short: still disabled, no change */
	for (i = 1, t = T0 + 330; i < HEALTH_REENABLE_AFTER; i++, t += 30) {
		assert_false(health_event(&h, HEV_PROBE_GOOD, t, NULL));
		assert_int_equal(h.good_probes, i);
		assert_int_equal(h.next_probe, t + HEALTH_PROBE_BAD);
	}
	/* a bad one starts the count again */
	assert_false(health_event(&h, HEV_PROBE_ERROR, t, "error code "
	    "127.255.255.254"));
	assert_int_equal(h.good_probes, 0);
	assert_string_equal(h.reason, "error code 127.255.255.254");
	assert_int_equal(h.disabled_at, T0 + 300);
	for (i = 1; i < HEALTH_REENABLE_AFTER; i++) {
		t += 30;
		assert_false(health_event(&h, HEV_PROBE_GOOD, t, NULL));
	}
	/* ... and so does silence */
	assert_false(health_event(&h, HEV_PROBE_SILENT, t += 30, NULL));
	assert_int_equal(h.state, HEALTH_DISABLED);
	assert_int_equal(h.good_probes, 0);
	for (i = 1; i < HEALTH_REENABLE_AFTER; i++)
		assert_false(health_event(&h, HEV_PROBE_GOOD, t += 30, NULL));
	assert_true(health_event(&h, HEV_PROBE_GOOD, t += 30, NULL));
	assert_int_equal(h.state, HEALTH_UP);
	assert_int_equal(h.since, t);
	assert_int_equal(h.next_probe, t + HEALTH_PROBE_UP);
	assert_true(health_trusted(&h));
	/* a lookup neither re-enables it nor marks it down */
	health_event(&h, HEV_PROBE_ERROR, t += 300, NULL);
	assert_string_equal(h.reason, "bad probe answer");
	assert_false(health_event(&h, HEV_QUERY_OK, t + 1, NULL));
	for (i = 0; i < HEALTH_DOWN_AFTER; i++)
		assert_false(health_event(&h, HEV_QUERY_TIMEOUT, t + 2, NULL));
	assert_int_equal(h.state, HEALTH_DISABLED);
}

static void
disabled_by_lookup(void **state)
{
	struct health h;

	(void)state;
	health_init(&h, T0);
	/* from UNKNOWN, UP and DOWN alike */
	assert_true(health_event(&h, HEV_QUERY_ERROR, T0 + 5,
	    "error code 127.255.255.254"));
	assert_int_equal(h.state, HEALTH_DISABLED);
	assert_string_equal(h.reason, "error code 127.255.255.254");
	assert_int_equal(h.disabled_at, T0 + 5);
	assert_int_equal(h.next_probe, T0);	/* the start probe stays due */
	assert_false(health_event(&h, HEV_QUERY_ERROR, T0 + 6, NULL));
	assert_string_equal(h.reason, "error code");
	assert_int_equal(h.disabled_at, T0 + 5);

	health_init(&h, T0);
	health_event(&h, HEV_PROBE_GOOD, T0, NULL);
	assert_true(health_event(&h, HEV_QUERY_ERROR, T0 + 7, NULL));
	assert_int_equal(h.next_probe, T0 + 7 + HEALTH_PROBE_BAD);

	health_init(&h, T0);
	health_event(&h, HEV_PROBE_SILENT, T0, NULL);
	assert_true(health_event(&h, HEV_QUERY_ERROR, T0 + 8, NULL));
	assert_int_equal(h.state, HEALTH_DISABLED);

	/* a world-listing probe from UNKNOWN and from DOWN */
	health_init(&h, T0);
	assert_true(health_event(&h, HEV_PROBE_WORLD, T0, NULL));
	assert_int_equal(h.state, HEALTH_DISABLED);
	health_init(&h, T0);
	health_event(&h, HEV_PROBE_SILENT, T0, NULL);
	assert_true(health_event(&h, HEV_PROBE_ERROR, T0 + 30, NULL));
	assert_int_equal(h.state, HEALTH_DISABLED);
	assert_int_equal(h.disabled_at, T0 + 30);
}

static void
budget_windows(void **state)
{
	struct budget b;
	unsigned i;

	(void)state;
	budget_init(&b, 3, 3600);
	assert_false(budget_exhausted(&b, T0));
	for (i = 0; i < 3; i++)
		assert_true(budget_take(&b, T0 + 10 + i));
	assert_int_equal(b.window, T0 + 10);	/* from the first query */
	assert_int_equal(b.used, 3);
	assert_true(budget_exhausted(&b, T0 + 100));
	/* past the budget: skipped and counted */
	assert_false(budget_take(&b, T0 + 100));
	assert_false(budget_take(&b, T0 + 10 + 3599));
	assert_int_equal(b.skipped, 2);
	assert_int_equal(b.used, 3);
	/* the window ends an hour after its first query */
	assert_false(budget_exhausted(&b, T0 + 10 + 3600));
	assert_true(budget_take(&b, T0 + 10 + 3600));
	assert_int_equal(b.window, T0 + 10 + 3600);
	assert_int_equal(b.used, 1);
	assert_int_equal(b.skipped, 2);	/* skips are a running count */

	/* quiet for a long time: the next window starts at the next query,
	   not on a fixed grid */
	assert_true(budget_take(&b, T0 + 5 * 3600 + 7));
	assert_int_equal(b.window, T0 + 5 * 3600 + 7);
	assert_int_equal(b.used, 1);
	assert_true(budget_take(&b, T0 + 6 * 3600 + 6));
	assert_true(budget_take(&b, T0 + 6 * 3600 + 6));
	assert_false(budget_take(&b, T0 + 6 * 3600 + 6));
	assert_true(budget_take(&b, T0 + 6 * 3600 + 7));

	/* no budget: never skipped */
	budget_init(&b, 0, 0);
	for (i = 0; i < 1000; i++)
		assert_true(budget_take(&b, T0));
	assert_false(budget_exhausted(&b, T0));
	assert_int_equal(b.skipped, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(start_unknown),
		cmocka_unit_test(up_by_probe_and_by_lookup),
		cmocka_unit_test(down_by_probe),
		cmocka_unit_test(down_by_lookups),
		cmocka_unit_test(disabled_and_reenabled),
		cmocka_unit_test(disabled_by_lookup),
		cmocka_unit_test(budget_windows),
	};

	return cmocka_run_group_tests_name("health", tests, NULL, NULL);
}
