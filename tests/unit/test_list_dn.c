/*
 * test_list_dn.c -- the dnset list format: exact names, "*." and "."
 * wildcards, exclusions and their precedence, several values, the "$"
 * subject, name syntax, list_has_below(). Expected answers were checked
 * against rbldnsd 1.0pre (20210120) on the same data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "list.h"
#include "list_testlib.h"

/* answer - "A \"TXT\"; ..." for name, "$" being the matched entry */
static const char *
answer(const struct list *l, const char *name)
{
	static char out[2048];
	const struct list_value *v[8];
	size_t off = 9999, used = 0;
	int n, i;

	n = list_lookup_name_subject(l, name, strlen(name), v, 8, &off);
	out[0] = '\0';
	if (n > 0)
		assert_true(off <= strlen(name));
	for (i = 0; i < n; i++) {
		char txt[LIST_TXT_LEN + 1];
		size_t tl = 0;
		uint32_t a = v[i]->lv_a;

		if (v[i]->lv_txt != NULL)
			tl = list_txt_expand(v[i]->lv_txt, name + off, txt,
			    LIST_TXT_LEN);
		txt[tl] = '\0';
		used += (size_t)snprintf(out + used, sizeof(out) - used,
		    "%s%u.%u.%u.%u%s%s%s", i ? "; " : "", a >> 24,
		    (a >> 16) & 255, (a >> 8) & 255, a & 255,
		    v[i]->lv_txt ? " \"" : "", v[i]->lv_txt ? txt : "",
		    v[i]->lv_txt ? "\"" : "");
	}
	/* the plain call agrees */
	assert_int_equal(list_lookup_name(l, name, strlen(name), v, 8), n);
	return out;
}

/* check_probes - every probe (a name) against answer() */
static void
check_probes(const char *label, const struct list *l,
    const struct probe *p)
{
	check_probes_by(label, l, p, answer);
}

/* -------------------------------------------------------------------- */

static void
test_dnset_matching(void **state)
{
	static const char text[] =
	    "example.com :3:exact $\n"
	    "*.example.com :4:wild $\n"
	    "!sub.example.com\n"
	    ".other.org :5:both $\n"
	    "!*.deep.other.org\n"
	    "x.deep.other.org :6:\n"
	    "*.a.b.c :7:\n"
	    "*.b.c :8:\n"
	    "dup.test :9:one\n"
	    "dup.test :10:two\n"
	    "!dup.test\n"
	    "dup2.test :11:one\n"
	    "dup2.test :12:two\n"
	    "dup2.test :11:one\n"
	    "UPPER.Case.TEST\n"
	    "trail.dot.\n"
	    "*.wild.test\n"
	    "wild.test :13:\n"
	    ".both.test\n"
	    "!.both.test\n"
	    "a..b\n"
	    "*\n"
	    "a.com:3:x\n"
	    "semi.com;c\n"
	    "hash.com #c\n"
	    "!excl.com :bad:\n";
	static const struct probe p[] = {
		/* an exact entry decides before any wildcard */
		{ "example.com", "127.0.0.3 \"exact example.com\"" },
		{ "sub.example.com", "" },
		/* "$" is the entry that matched, not the query */
		{ "a.sub.example.com", "127.0.0.4 \"wild example.com\"" },
		{ "x.example.com", "127.0.0.4 \"wild example.com\"" },
		{ "X.Example.COM", "127.0.0.4 \"wild Example.COM\"" },
		{ "other.org", "127.0.0.5 \"both other.org\"" },
		{ "a.other.org", "127.0.0.5 \"both other.org\"" },
		/* the wildcard exclusion covers names below, not itself */
		{ "deep.other.org", "127.0.0.5 \"both other.org\"" },
		{ "a.deep.other.org", "" },
		{ "x.deep.other.org", "127.0.0.6" },
		{ "y.x.deep.other.org", "" },
		/* the nearest wildcard wins */
		{ "x.a.b.c", "127.0.0.7" },
		{ "x.y.a.b.c", "127.0.0.7" },
		{ "a.b.c", "127.0.0.8" },
		{ "b.c", "" },
		{ "c", "" },
		{ "dup.test", "" },
		{ "dup2.test", "127.0.0.11 \"one\"; 127.0.0.12 \"two\"" },
		{ "upper.case.test", "127.0.0.2" },
		{ "trail.dot", "127.0.0.2" },
		{ "x.wild.test", "127.0.0.2" },
		{ "wild.test", "127.0.0.13" },
		{ "both.test", "" },
		{ "x.both.test", "" },
		{ "a.b", "127.0.0.2" },
		{ "*", "127.0.0.2" },
		{ "anything", "" },
		{ "a.com:3:x", "127.0.0.2" },
		{ "a.com", "" },
		{ "semi.com;c", "127.0.0.2" },
		{ "hash.com", "127.0.0.2" },
		{ "excl.com", "" },
		{ "", "" },
		{ NULL, NULL },
	};
	struct list *l;

	(void)state;
	l = load_text(LIST_DNSET, text);
	assert_int_equal(nwarns, 0);
	check_probes("dnset", l, p);
	assert_int_equal(list_entries(l), 26);
	assert_int_equal(list_type(l), LIST_DNSET);
	assert_int_equal(list_lookup_ip4(l, 0x7f000002, NULL, 0), 0);
	/* a trailing dot on the query is ignored */
	assert_string_equal(answer(l, "example.com."),
	    "127.0.0.3 \"exact example.com.\"");
	/* max 0 counts */
	assert_int_equal(list_lookup_name(l, "dup2.test", 9, NULL, 0), 2);
	list_free(l);
}

static void
test_dnset_bad_names(void **state)
{
	char text[2048];
	size_t n = 0;
	int i;
	struct list *l;

	(void)state;
	n += (size_t)snprintf(text + n, sizeof(text) - n, "ok.com\n");
	n += (size_t)snprintf(text + n, sizeof(text) - n, "*.\n");	/* 2 */
	n += (size_t)snprintf(text + n, sizeof(text) - n, ".\n");	/* 3 */
	n += (size_t)snprintf(text + n, sizeof(text) - n, "%0*d.com\n",
	    64, 0);							/* 4 */
	n += (size_t)snprintf(text + n, sizeof(text) - n, "%0*d.com\n",
	    63, 0);							/* 5 */
	/* 253 characters is the longest name, 254 too long */
	for (i = 0; i < 25; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "abcdefghi.");
	n += (size_t)snprintf(text + n, sizeof(text) - n, "abc\n");	/* 6 */
	for (i = 0; i < 25; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "abcdefghi.");
	n += (size_t)snprintf(text + n, sizeof(text) - n, "abcd\n");	/* 7 */
	n += (size_t)snprintf(text + n, sizeof(text) - n, "x.com :0:\n");
	n += (size_t)snprintf(text + n, sizeof(text) - n, "!\n");	/* 9 */
	l = load_text(LIST_DNSET, text);
	assert_int_equal(nwarns, 6);
	assert_true(has_warn(9, "invalid domain name"));
	assert_true(has_warn(2, "invalid domain name '*.'"));
	assert_true(has_warn(3, "invalid domain name"));
	assert_true(has_warn(4, "invalid domain name"));
	assert_true(has_warn(7, "invalid domain name"));
	assert_true(has_warn(8, "invalid A value"));
	assert_int_equal(nerrors, 6);		/* no name could be used */
	assert_int_equal(list_entries(l), 3);
	assert_string_equal(answer(l, "ok.com"), "127.0.0.2");
	list_free(l);
}

static void
test_dnset_has_below(void **state)
{
	static const char text[] =
	    "mail.example.com\n"
	    "*.wild.net\n"
	    "!only.excluded.org\n"
	    "!*.x.excluded.org\n"
	    "*.covered.biz\n"
	    "!*.deep.covered.biz\n"
	    "!hole.covered.biz\n"
	    "listed.dup.info :3:\n"
	    "!listed.dup.info\n";
	static const struct {
		const char	*name;
		int		 want;
	} cases[] = {
		{ "example.com", 1 },
		{ "com", 1 },
		{ "mail.example.com", 0 },
		{ "xexample.com", 0 },
		{ "ample.com", 0 },
		{ "wild.net", 1 },		/* *.wild.net lists children */
		{ "a.wild.net", 1 },		/* so do they */
		{ "net", 1 },
		{ "excluded.org", 0 },		/* exclusions list nothing */
		{ "x.excluded.org", 0 },
		{ "org", 0 },
		{ "covered.biz", 1 },
		{ "hole.covered.biz", 1 },	/* its children still listed */
		{ "deep.covered.biz", 0 },
		{ "a.deep.covered.biz", 0 },
		{ "dup.info", 0 },
		{ "info", 0 },
		{ "", 1 },
		{ "nothing.here", 0 },
	};
	struct list *l;
	size_t i;

	(void)state;
	l = load_text(LIST_DNSET, text);
	assert_int_equal(nwarns, 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (list_has_below(l, cases[i].name, strlen(cases[i].name)) !=
		    cases[i].want)
			fail_msg("has_below(%s) != %d", cases[i].name,
			    cases[i].want);
	list_free(l);

	/* only exclusions: nothing below anything */
	l = load_text(LIST_DNSET, "!a.b.c\n!*.b.c\n");
	assert_int_equal(list_has_below(l, "", 0), 0);
	assert_int_equal(list_has_below(l, "c", 1), 0);
	list_free(l);

	/* many exclusions under one name: the answer errs towards yes */
	{
		char *big = malloc(200 * 32);
		size_t n = 0;

		assert_non_null(big);
		for (i = 0; i < 200; i++)
			n += (size_t)snprintf(big + n, 200 * 32 - n,
			    "!h%zu.many.net\n", i);
		l = load_text(LIST_DNSET, big);
		assert_int_equal(list_has_below(l, "many.net", 8), 1);
		assert_int_equal(list_lookup_name(l, "h5.many.net", 11, NULL,
		    0), 0);
		list_free(l);
		free(big);
	}
}

/* Many names: every one found, none of a disjoint set. */
static void
test_dnset_many(void **state)
{
	size_t cap = 20000 * 40, n = 0, i;
	char *text = malloc(cap), name[64];
	struct list *l;

	(void)state;
	assert_non_null(text);
	for (i = 0; i < 20000; i++)
		n += (size_t)snprintf(text + n, cap - n, "%sh%zu.d%zu.example"
		    " :%zu:\n", i % 7 == 0 ? "." : "", i, i % 97, i % 250 + 1);
	l = load_text(LIST_DNSET, text);
	assert_int_equal(nwarns, 0);
	for (i = 0; i < 20000; i++) {
		const struct list_value *v[2];
		int k;

		snprintf(name, sizeof(name), "h%zu.d%zu.example", i, i % 97);
		k = list_lookup_name(l, name, strlen(name), v, 2);
		assert_int_equal(k, 1);
		assert_int_equal(v[0]->lv_a, 0x7f000000U + i % 250 + 1);
		snprintf(name, sizeof(name), "q.h%zu.d%zu.example", i, i % 97);
		k = list_lookup_name(l, name, strlen(name), v, 2);
		assert_int_equal(k, i % 7 == 0 ? 1 : 0);
		snprintf(name, sizeof(name), "h%zu.d%zu.example", i,
		    i % 97 + 1);
		assert_int_equal(list_lookup_name(l, name, strlen(name), v,
		    2), 0);
	}
	assert_int_equal(list_has_below(l, "d5.example", 10), 1);
	assert_int_equal(list_has_below(l, "d97.example", 11), 0);
	list_free(l);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dnset_matching),
		cmocka_unit_test(test_dnset_bad_names),
		cmocka_unit_test(test_dnset_has_below),
		cmocka_unit_test(test_dnset_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
