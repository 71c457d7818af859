/*
 * test_merge.c -- merge of listing results into bitmask / each / score
 * answers, TTL clamping and the TXT text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "merge.h"

#define A(x)	(0x7f000000U | (x))

struct mcase {
	const char		*label;
	enum conf_answer	 mode;
	struct merge_hit	 hits[4];
	size_t			 n;
	uint32_t		 ttl_min, ttl_max;
	int			 listed;
	uint32_t		 a[4];
	int			 na;
	uint32_t		 ttl;
};

static const struct mcase cases[] = {
	{ "bitmask: nothing listed", ANSWER_BITMASK, { { 0 } }, 0, 60, 86400,
	    0, { 0 }, 0, 0 },
	{ "bitmask: one list", ANSWER_BITMASK,
	    { { "local", 32, 0, 1, A(2), 2100, NULL, 0 } }, 1, 60, 86400,
	    1, { A(32) }, 1, 2100 },
	{ "bitmask: bits OR together, ttl is the minimum", ANSWER_BITMASK,
	    { { "spam", 8, 0, 1, A(38), 900, NULL, 0 },
	      { "local", 32, 0, 1, A(2), 2100, NULL, 0 },
	      { "local24", 64, 0, 1, A(2), 300, NULL, 0 } }, 3, 60, 86400,
	    1, { A(104) }, 1, 300 },
	{ "bitmask: bits past 128 grow into 127.0.x.y", ANSWER_BITMASK,
	    { { "a", 256, 0, 1, A(2), 600, NULL, 0 },
	      { "b", 2, 0, 1, A(2), 600, NULL, 0 } }, 2, 60, 86400,
	    1, { 0x7f000102U }, 1, 600 },
	{ "bitmask: a hit without a bit is not a listing", ANSWER_BITMASK,
	    { { "x", 0, 0, 1, A(2), 600, NULL, 0 } }, 1, 60, 86400,
	    0, { 0 }, 0, 0 },
	{ "bitmask: bit 1 never shows (127.0.0.1 is reserved)", ANSWER_BITMASK,
	    { { "x", 1, 0, 1, A(2), 600, NULL, 0 } }, 1, 60, 86400,
	    0, { 0 }, 0, 0 },
	{ "ttl clamped up to ttl-min", ANSWER_BITMASK,
	    { { "a", 2, 0, 1, A(2), 5, NULL, 0 } }, 1, 60, 86400,
	    1, { A(2) }, 1, 60 },
	{ "ttl clamped down to ttl-max", ANSWER_BITMASK,
	    { { "a", 2, 0, 1, A(2), 999999, NULL, 0 } }, 1, 60, 86400,
	    1, { A(2) }, 1, 86400 },
	{ "each: configured values, own value as fallback", ANSWER_EACH,
	    { { "sbl", 0, A(2), 1, A(99), 600, NULL, 0 },
	      { "xbl", 0, 0, 1, A(4), 300, NULL, 0 } }, 2, 60, 86400,
	    1, { A(2), A(4) }, 2, 300 },
	{ "each: equal values collapse", ANSWER_EACH,
	    { { "a", 0, A(10), 1, A(2), 600, NULL, 0 },
	      { "b", 0, A(10), 1, A(2), 600, NULL, 0 } }, 2, 60, 86400,
	    1, { A(10) }, 1, 600 },
	{ "score: weights add up", ANSWER_SCORE,
	    { { "a", 0, 0, 3, A(2), 600, NULL, 0 },
	      { "b", 0, 0, 2, A(2), 600, NULL, 0 } }, 2, 60, 86400,
	    1, { A(5) }, 1, 600 },
	{ "score: allowlist weight subtracts", ANSWER_SCORE,
	    { { "a", 0, 0, 3, A(2), 600, NULL, 0 },
	      { "allow", 0, 0, -1, A(2), 600, NULL, 0 } }, 2, 60, 86400,
	    1, { A(2) }, 1, 600 },
	{ "score: net zero or less is not listed", ANSWER_SCORE,
	    { { "a", 0, 0, 3, A(2), 600, NULL, 0 },
	      { "allow", 0, 0, -5, A(2), 600, NULL, 0 } }, 2, 60, 86400,
	    0, { 0 }, 0, 0 },
	{ "score: ceiling 255", ANSWER_SCORE,
	    { { "a", 0, 0, 200, A(2), 600, NULL, 0 },
	      { "b", 0, 0, 100, A(2), 600, NULL, 0 } }, 2, 60, 86400,
	    1, { A(255) }, 1, 600 },
};

/* run_cases - every merge case, labelled */
static void
run_cases(void **state)
{
	size_t i;
	int k;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct mcase *c = &cases[i];
		struct merge_out out;
		int listed;

		memset(&out, 0xa5, sizeof(out));
		listed = merge_answer(c->mode, c->hits, c->n, c->ttl_min,
		    c->ttl_max, &out);
		if (listed != c->listed)
			fail_msg("%s: listed %d, want %d", c->label, listed,
			    c->listed);
		if (!listed)
			continue;
		if (out.na != c->na)
			fail_msg("%s: %d A records, want %d", c->label, out.na,
			    c->na);
		for (k = 0; k < c->na; k++)
			if (out.a[k] != c->a[k])
				fail_msg("%s: A[%d] %08x, want %08x", c->label,
				    k, out.a[k], c->a[k]);
		if (out.ttl != c->ttl)
			fail_msg("%s: ttl %u, want %u", c->label, out.ttl,
			    c->ttl);
	}
}

static void
clamp(void **state)
{
	(void)state;
	assert_int_equal(merge_clamp_ttl(10, 60, 3600), 60);
	assert_int_equal(merge_clamp_ttl(7200, 60, 3600), 3600);
	assert_int_equal(merge_clamp_ttl(300, 60, 3600), 300);
	assert_int_equal(merge_clamp_ttl(999999, 0, 0), 999999);
}

static void
txt_text(void **state)
{
	struct merge_hit h[3] = {
		{ "spam", 8, 0, 1, A(38), 600, "SpamRATS spam source", 20 },
		{ "local", 32, 0, 1, A(2), 600, NULL, 0 },
		{ "local24", 64, 0, 1, A(2), 600, "Entire /24 listed", 17 },
	};
	char buf[256];
	size_t len;

	(void)state;
	len = merge_txt(h, 3, buf, sizeof(buf));
	buf[len] = '\0';
	assert_string_equal(buf, "spam: SpamRATS spam source; local: listed; "
	    "local24: Entire /24 listed");
	/* clipped at the buffer, never beyond */
	len = merge_txt(h, 3, buf, 10);
	assert_int_equal(len, 10);
	assert_memory_equal(buf, "spam: Spam", 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(run_cases),
		cmocka_unit_test(clamp),
		cmocka_unit_test(txt_text),
	};

	return cmocka_run_group_tests_name("merge", tests, NULL, NULL);
}
