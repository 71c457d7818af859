/*
 * test_stats.c -- the counters of several loops shown as one: every
 * counter is summed, peaks take the largest, the text is the sum's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stats.h"

/* fill - a distinct value in every counter of st, from base */
static void
fill(struct stats *st, uint64_t base)
{
	uint64_t *c = (uint64_t *)(void *)st;
	size_t i;

	for (i = 0; i < sizeof(*st) / sizeof(*c); i++)
		c[i] = base + i;
}

/* Every counter of three loops adds up, whatever its place. */
static void
test_sum_every_counter(void **state)
{
	struct stats a, b, c, sum;
	const struct stats *loops[] = { &a, &b, &c };
	const uint64_t *s = (const uint64_t *)(const void *)&sum;
	size_t i, n = sizeof(sum) / sizeof(*s);
	size_t peak = offsetof(struct stats, tcp_queued_peak) / sizeof(*s);

	(void)state;
	fill(&a, 1000);
	fill(&b, 2000);
	fill(&c, 30);
	memset(&sum, 0xff, sizeof(sum));	/* overwritten, not added to */
	stats_sum(&sum, loops, 3);
	for (i = 0; i < n; i++) {
		if (i == peak)
			assert_int_equal(s[i], 2000 + i);
		else
			assert_int_equal(s[i], 3030 + 3 * i);
	}
	assert_int_equal(sum.queries_udp, a.queries_udp + b.queries_udp +
	    c.queries_udp);
	assert_int_equal(sum.reload_failures, a.reload_failures +
	    b.reload_failures + c.reload_failures);
}

/* One loop sums to itself; none to zero; the text shows the sum. */
static void
test_sum_one_and_none(void **state)
{
	struct stats a, b, sum;
	const struct stats *loops[] = { &a, &b };
	char text[4096];

	(void)state;
	memset(&a, 0, sizeof(a));
	a.queries_udp = 5;
	a.rcode[3] = 2;
	a.tcp_queued_peak = 700;
	stats_sum(&sum, loops, 1);
	assert_memory_equal(&sum, &a, sizeof(a));
	stats_sum(&sum, loops, 0);
	memset(&b, 0, sizeof(b));
	assert_memory_equal(&sum, &b, sizeof(b));

	b.queries_udp = 7;
	b.rcode[3] = 1;
	b.tcp_queued_peak = 300;
	stats_sum(&sum, loops, 2);
	stats_format(&sum, text, sizeof(text));
	assert_non_null(strstr(text, "queries.udp: 12\n"));
	assert_non_null(strstr(text, "answers.nxdomain: 3\n"));
	assert_non_null(strstr(text, "tcp.queued.peak: 700\n"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sum_every_counter),
		cmocka_unit_test(test_sum_one_and_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
