/*
 * test_ctl.c -- the control socket's answer buffer: text grows as it is
 * appended, and past CTL_OUT_MAX it is cut at a piece boundary with every
 * byte left out counted, never clipped mid-piece or silently.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ctl.h"

/* small pieces land in order, NUL-terminated, nothing lost */
static void
appends(void **state)
{
	struct ctl_out o = { 0 };
	size_t i;

	ctl_printf(&o, "status: %s\n", "up");
	for (i = 0; i < 1000; i++)
		ctl_printf(&o, "zone z%04zu.test\n", i);
	assert_non_null(o.buf);
	assert_int_equal(o.lost, 0);
	assert_int_equal(o.len, strlen(o.buf));
	assert_int_equal(o.len, strlen("status: up\n") + 1000 * 16);
	assert_memory_equal(o.buf, "status: up\nzone z0000.test\n", 27);
	assert_string_equal(o.buf + o.len - 16, "zone z0999.test\n");
	ctl_out_free(&o);
	assert_null(o.buf);
	assert_int_equal(o.len, 0);
	(void)state;
}

/* over the limit: whole pieces only, the rest counted in lost */
static void
cut_at_limit(void **state)
{
	struct ctl_out o = { 0 };
	size_t piece = 100000, total = 0, kept;
	char *big = malloc(piece + 1);
	int i;

	assert_non_null(big);
	memset(big, 'x', piece);
	big[piece] = '\0';
	for (i = 0; i < 200; i++) {	/* 20 MB asked for */
		big[0] = (char)('a' + i % 26);
		ctl_printf(&o, "%s", big);
		total += piece;
	}
	kept = o.len;
	assert_true(kept <= CTL_OUT_MAX);
	assert_true(kept > CTL_OUT_MAX - 2 * piece);
	assert_int_equal(kept % piece, 0);
	assert_false(o.nomem);
	assert_int_equal(o.lost, total - kept);
	assert_int_equal(strlen(o.buf), kept);
	/* the last piece kept is whole and is the one appended in order */
	assert_int_equal(o.buf[kept - piece], 'a' + (int)(kept / piece - 1) % 26);
	/* once cut, nothing after gets in, however small */
	ctl_printf(&o, "tail\n");
	assert_int_equal(o.len, kept);
	assert_int_equal(o.lost, total - kept + 5);
	/* room is left for the closing line saying what was left out */
	assert_true(o.cap - o.len > 100);
	ctl_out_free(&o);
	free(big);
	(void)state;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(appends),
		cmocka_unit_test(cut_at_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
