/*
 * test_query_log.c -- the per-query log rate limiter: QUERY_LOG_PER_SEC
 * lines a second, the count of those refused passed on once when the
 * second changes, with the time given by the caller (no clock read).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "query.h"

/* allowed - ask n times at now; how many were allowed */
static unsigned
allowed(struct query_loglimit *ll, time_t now, unsigned n,
    unsigned *first_skipped)
{
	unsigned i, ok = 0, skipped;

	for (i = 0; i < n; i++) {
		if (query_log_allow(ll, now, &skipped))
			ok++;
		if (i == 0)
			*first_skipped = skipped;
		else
			assert_int_equal(skipped, 0);
	}
	return ok;
}

/* A flood is cut at the limit each second; the rest is counted once. */
static void
test_limit_per_second(void **state)
{
	struct query_loglimit ll;
	unsigned skipped;

	(void)state;
	memset(&ll, 0, sizeof(ll));
	assert_int_equal(allowed(&ll, 1000, QUERY_LOG_PER_SEC + 30,
	    &skipped), QUERY_LOG_PER_SEC);
	assert_int_equal(skipped, 0);
	/* the same second again: nothing more */
	assert_int_equal(allowed(&ll, 1000, 5, &skipped), 0);
	/* the next second: the 35 refused are reported, the count restarts */
	assert_int_equal(allowed(&ll, 1001, QUERY_LOG_PER_SEC, &skipped),
	    QUERY_LOG_PER_SEC);
	assert_int_equal(skipped, 35);
	/* a quiet second after that reports nothing */
	assert_int_equal(allowed(&ll, 1005, 1, &skipped), 1);
	assert_int_equal(skipped, 0);
}

/* Time is the caller's: going back is another second too. */
static void
test_time_passed_in(void **state)
{
	struct query_loglimit a, b;
	unsigned skipped;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	assert_int_equal(allowed(&a, 50, QUERY_LOG_PER_SEC + 1, &skipped),
	    QUERY_LOG_PER_SEC);
	/* two limiters (two loops) count apart */
	assert_int_equal(allowed(&b, 50, 3, &skipped), 3);
	assert_int_equal(allowed(&a, 49, 2, &skipped), 2);
	assert_int_equal(skipped, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit_per_second),
		cmocka_unit_test(test_time_passed_in),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
