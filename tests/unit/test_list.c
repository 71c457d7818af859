/*
 * test_list.c -- local lists: common syntax, values, templates, specials,
 * file handling, and the ip4set format. Expected answers were checked
 * against rbldnsd 1.0pre (20210120) on the same data.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "list.h"
#include "list_testlib.h"

/* answer4 - "A \"TXT\"; A" for what l answers about ip */
static const char *
answer4(const struct list *l, const char *ip)
{
	static char out[2048];
	const struct list_value *v[16];
	struct in_addr a;
	size_t used = 0;
	int n, i;

	assert_int_equal(inet_pton(AF_INET, ip, &a), 1);
	n = list_lookup_ip4(l, ntohl(a.s_addr), v, 16);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		struct in_addr x = { htonl(v[i]->lv_a) };
		char txt[LIST_TXT_LEN + 1];
		size_t tl = 0;

		if (v[i]->lv_txt != NULL)
			tl = list_txt_expand(v[i]->lv_txt, ip, txt,
			    LIST_TXT_LEN);
		txt[tl] = '\0';
		used += (size_t)snprintf(out + used, sizeof(out) - used,
		    "%s%s%s%s%s", i ? "; " : "", inet_ntoa(x),
		    v[i]->lv_txt ? " \"" : "", v[i]->lv_txt ? txt : "",
		    v[i]->lv_txt ? "\"" : "");
	}
	return out;
}

/* check_probes - every probe against this file's answer text */
static void
check_probes(const char *label, const struct list *l,
    const struct probe *p)
{
	check_probes_by(label, l, p, answer4);
}

/* -------------------------------------------------------------------- */

static void
test_type_names(void **state)
{
	static const struct {
		const char	*text;
		enum list_type	 type;
	} ok[] = {
		{ "ip4set", LIST_IP4SET }, { "ip4trie", LIST_IP4TRIE },
		{ "ip6trie", LIST_IP6TRIE }, { "dnset", LIST_DNSET },
		{ "IP4SET", LIST_IP4SET }, { "DnSet", LIST_DNSET },
	};
	enum list_type t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		t = (enum list_type)99;
		assert_true(list_type_parse(ok[i].text, &t));
		assert_int_equal(t, ok[i].type);
	}
	t = LIST_DNSET;
	assert_false(list_type_parse("ip4tset", &t));
	assert_false(list_type_parse("", &t));
	assert_false(list_type_parse(NULL, &t));
	assert_int_equal(t, LIST_DNSET);	/* untouched */
	assert_string_equal(list_type_name(LIST_DNSET), "dnset");
	assert_string_equal(list_type_name(LIST_IP6TRIE), "ip6trie");
	assert_string_equal(list_type_name((enum list_type)42), "unknown");
}

/* Every spelling of one range in the man page gives the same answers. */
static void
test_ip4set_spellings(void **state)
{
	static const char *const net24[] = {
		"127.0.0.0/24", "127.0.0", "127/24", "127.0.0.0-127.0.0.255",
		"127.0.0.0-255", "127.0.0-127.0.0", "127.0.0.0/024", NULL,
	};
	static const struct probe p24[] = {
		{ "127.0.0.0", "127.0.0.2" },
		{ "127.0.0.1", "127.0.0.2" },
		{ "127.0.0.255", "127.0.0.2" },
		{ "126.255.255.255", "" },
		{ "127.0.1.0", "" },
		{ NULL, NULL },
	};
	static const char *const net12[] = {
		"127.16.0.0-127.31.255.255", "127.16.0-127.31.255",
		"127.16-127.31", "127.16-31", "127.16.0.0/12", "127.16.0/12",
		"127.16/12", NULL,
	};
	static const struct probe p12[] = {
		{ "127.16.0.0", "127.0.0.2" },
		{ "127.20.5.5", "127.0.0.2" },
		{ "127.31.255.255", "127.0.0.2" },
		{ "127.15.255.255", "" },
		{ "127.32.0.0", "" },
		{ NULL, NULL },
	};
	char buf[128];
	int i;

	(void)state;
	for (i = 0; net24[i] != NULL; i++) {
		struct list *l;

		snprintf(buf, sizeof(buf), "%s\n", net24[i]);
		l = load_text(LIST_IP4SET, buf);
		assert_int_equal(nwarns, 0);
		check_probes(net24[i], l, p24);
		list_free(l);
	}
	for (i = 0; net12[i] != NULL; i++) {
		struct list *l;

		snprintf(buf, sizeof(buf), "%s\n", net12[i]);
		l = load_text(LIST_IP4SET, buf);
		assert_int_equal(nwarns, 0);
		check_probes(net12[i], l, p12);
		list_free(l);
	}
}

/* Address forms beyond the man page examples. */
static void
test_ip4set_forms(void **state)
{
	static const struct {
		const char	*label;
		const char	*text;
		struct probe	 p[6];
	} cases[] = {
		{ "short suffix keeps the prefix", "127.16.0-31\n", {
		    { "127.16.0.0", "127.0.0.2" },
		    { "127.16.31.255", "127.0.0.2" },
		    { "127.16.32.0", "" }, { NULL, NULL } } },
		{ "suffix on a full address", "10.0.0.1-3\n", {
		    { "10.0.0.0", "" }, { "10.0.0.1", "127.0.0.2" },
		    { "10.0.0.3", "127.0.0.2" }, { "10.0.0.4", "" },
		    { NULL, NULL } } },
		{ "single octet range", "1-2\n", {
		    { "0.255.255.255", "" }, { "1.0.0.0", "127.0.0.2" },
		    { "2.255.255.255", "127.0.0.2" }, { "3.0.0.0", "" },
		    { NULL, NULL } } },
		{ "leading zeros", "01.002.3.0004\n", {
		    { "1.2.3.4", "127.0.0.2" }, { NULL, NULL } } },
		{ "unaligned range", "10.1.0.250-10.1.2.5\n", {
		    { "10.1.0.249", "" }, { "10.1.0.250", "127.0.0.2" },
		    { "10.1.1.77", "127.0.0.2" }, { "10.1.2.5", "127.0.0.2" },
		    { "10.1.2.6", "" }, { NULL, NULL } } },
		{ "CIDR below /24", "1.2.3.128/25\n", {
		    { "1.2.3.127", "" }, { "1.2.3.128", "127.0.0.2" },
		    { "1.2.3.255", "127.0.0.2" }, { NULL, NULL } } },
		{ "whole space", "0-255\n", {
		    { "0.0.0.0", "127.0.0.2" },
		    { "255.255.255.255", "127.0.0.2" }, { NULL, NULL } } },
		{ "value right after the address", "1.2.3.4:3:x\n", {
		    { "1.2.3.4", "127.0.0.3 \"x\"" }, { NULL, NULL } } },
		{ "comment right after the address", "1.2.3.4;x\n1.2.3.5#y\n", {
		    { "1.2.3.4", "127.0.0.2" }, { "1.2.3.5", "127.0.0.2" },
		    { NULL, NULL } } },
		{ "blank between address and text", "1.2.3.4 - 1.2.3.5\n", {
		    { "1.2.3.4", "127.0.0.2 \"- 1.2.3.5\"" },
		    { "1.2.3.5", "" }, { NULL, NULL } } },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct list *l = load_text(LIST_IP4SET, cases[i].text);

		if (nwarns != 0) {
			dump_warns();
			fail_msg("%s: unexpected warning", cases[i].label);
		}
		check_probes(cases[i].label, l, cases[i].p);
		list_free(l);
	}
}

/* Each bad line is reported at its line and skipped; the rest loads. */
static void
test_ip4set_bad_lines(void **state)
{
	static const struct {
		const char	*line;
		const char	*msg;
	} bad[] = {
		{ "300.1.2.3", "invalid address '300.1.2.3'" },
		{ "1.2.3.256", "invalid address" },
		{ "1.2.3.4.5", "invalid address" },
		{ "127", "invalid address" },
		{ "1.2.3.4/33", "invalid address" },
		{ "0/0", "invalid address" },
		{ "1.2.3.4/", "invalid address" },
		{ "10.0.0.1/24", "non-zero host part" },
		{ "1.2/8", "non-zero host part" },
		{ "1.2.3.4-1.2.3.3", "invalid address" },
		{ "1.2.3.4-1.2.5", "invalid address" },
		{ "127-127.0.0", "invalid address" },
		{ "1.2.3.4-300", "invalid address" },
		{ "1.2.3.4x", "invalid address" },
		{ "1.2.3.4,x", "invalid address" },
		{ "1.2.", "invalid address" },
		{ "-1.2.3.4", "invalid address" },
		{ "!!1.2.3.4", "invalid address" },
		{ "0x01020304", "invalid address" },
		{ "1.2.3.4 :0:x", "invalid A value" },
		{ "1.2.3.4 :256:x", "invalid A value" },
		{ "1.2.3.4 : 2:x", "invalid A value" },
		{ "1.2.3.4 ::x", "invalid A value" },
		{ "1.2.3.4 :", "invalid A value" },
		{ "1.2.3.4 :2 x", "unrecognized value" },
		{ "1.2.3.4 :1.2.3.4.:x", "unrecognized value" },
		{ "$FOO bar", "invalid or unrecognized special entry '$FOO bar'" },
		{ "$TTL abc", "invalid or unrecognized special" },
		{ "$TTL", "invalid or unrecognized special" },
		{ "$3", "invalid or unrecognized special" },
		{ "$=x", "invalid or unrecognized special" },
		{ ":junk", "invalid A value" },
	};
	char text[4096];
	size_t i, used = 0;
	struct list *l;

	(void)state;
	/* good, bad, good, bad, ... so line numbers are easy: bad i at 2i+2 */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used,
		    "9.9.%zu.1\n%s\n", i, bad[i].line);
	used += (size_t)snprintf(text + used, sizeof(text) - used,
	    "9.9.250.1\n");
	l = load_text(LIST_IP4SET, text);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!has_warn((unsigned)(2 * i + 2), bad[i].msg)) {
			dump_warns();
			fail_msg("line %zu [%s]: no warning '%s'", 2 * i + 2,
			    bad[i].line, bad[i].msg);
		}
	}
	assert_int_equal(nwarns, (int)(sizeof(bad) / sizeof(bad[0])));
	/* none of these lines could be used: every one is an error */
	assert_int_equal(nerrors, nwarns);
	assert_string_equal(warns[0].file, "t.txt");
	/* the good lines all loaded, nothing of the bad ones */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "9.9.%zu.1", i);
		assert_string_equal(answer4(l, ip), "127.0.0.2");
	}
	assert_string_equal(answer4(l, "9.9.250.1"), "127.0.0.2");
	assert_string_equal(answer4(l, "1.2.3.4"), "");
	assert_string_equal(answer4(l, "10.0.0.1"), "");
	assert_int_equal(list_entries(l), sizeof(bad) / sizeof(bad[0]) + 1);
	list_free(l);
}

/* A values: rbldnsd completes short forms from the right. */
static void
test_a_values(void **state)
{
	static const struct {
		const char	*value;
		const char	*want;
	} cases[] = {
		{ ":2", "127.0.0.2" },
		{ ":255:", "127.0.0.255" },
		{ ":1.2:x", "1.0.0.2 \"x\"" },
		{ ":127.1:", "127.0.0.1" },
		{ ":1.2.3:", "1.2.0.3" },
		{ ":1.2.3.4:", "1.2.3.4" },
		{ ":01.002.3.4:", "1.2.3.4" },
		{ ":0.0.0.1:", "0.0.0.1" },
		{ ":127.0.0.0:", "127.0.0.0" },
		{ ":7.0.0.0:", "7.0.0.0" },
		{ ":2 :x", "127.0.0.2 \"x\"" },
		{ ":2::x", "127.0.0.2 \":x\"" },
		{ ":2:x:y", "127.0.0.2 \"x:y\"" },
		{ ":6:  spaced   ", "127.0.0.6 \"spaced\"" },
	};
	char text[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct list *l;

		snprintf(text, sizeof(text), "1.2.3.4 %s\n", cases[i].value);
		l = load_text(LIST_IP4SET, text);
		if (nwarns != 0 ||
		    strcmp(answer4(l, "1.2.3.4"), cases[i].want) != 0) {
			dump_warns();
			fail_msg("value [%s]: got [%s], want [%s]",
			    cases[i].value, answer4(l, "1.2.3.4"),
			    cases[i].want);
		}
		list_free(l);
	}
}

/* The man page's example of default and per-entry values. */
static void
test_values_and_defaults(void **state)
{
	static const char text[] =
	    "# default A value and TXT template\n"
	    ":127.0.0.2:IP address $ is listed\n"
	    "127.0.0.4\n"
	    "127.0.0.5 :5\n"
	    "127.0.0.6 :6:\n"
	    "127.0.0.7 IP address $ running an open relay\n"
	    "127.0.0.8 # default, the comment is no TXT\n"
	    "127.0.0.9 ; also a comment\n"
	    "127.0.0.10 text ; not a comment\n"
	    ":3\n"
	    "127.0.0.11\n"
	    "::bad default, ignored\n"
	    "127.0.0.12\n"
	    ":4:four\n"
	    "127.0.0.13 :5\n";
	static const struct probe p[] = {
		{ "127.0.0.4", "127.0.0.2 \"IP address 127.0.0.4 is listed\"" },
		{ "127.0.0.5", "127.0.0.5 \"IP address 127.0.0.5 is listed\"" },
		{ "127.0.0.6", "127.0.0.6" },
		{ "127.0.0.7",
		    "127.0.0.2 \"IP address 127.0.0.7 running an open relay\"" },
		{ "127.0.0.8", "127.0.0.2 \"IP address 127.0.0.8 is listed\"" },
		{ "127.0.0.9", "127.0.0.2 \"IP address 127.0.0.9 is listed\"" },
		{ "127.0.0.10", "127.0.0.2 \"text ; not a comment\"" },
		/* ":3" as a default takes no TXT from the previous one */
		{ "127.0.0.11", "127.0.0.3" },
		{ "127.0.0.12", "127.0.0.3" },
		{ "127.0.0.13", "127.0.0.5 \"four\"" },
		{ NULL, NULL },
	};
	struct list *l;

	(void)state;
	l = load_text(LIST_IP4SET, text);
	check_probes("man page values", l, p);
	assert_int_equal(nwarns, 1);
	assert_true(has_sev(LIST_ERROR, 12, "invalid A value"));
	assert_int_equal(list_entries(l), 10);
	list_free(l);
}

/* Granularity precedence, exclusions, several values at one key. */
static void
test_ip4set_precedence(void **state)
{
	static const char text[] =
	    "1.2.3.0/24 :3:net\n"
	    "1.2.3.4 :4:host\n"
	    "1.2.3.4 :5:host5\n"
	    "1.2.3.4 :4:host\n"
	    "1.2.0.0/16 :6:sixteen\n"
	    "!1.2.3.9\n"
	    "1.2.3.9 :7:x\n"
	    "!1.2.4.0/24\n"
	    "1.2.4.5\n"
	    "1.2.5.0/24 :8:a\n"
	    "1.2.5.0/24\n"
	    "!1.2.5.0-1.2.5.255\n"
	    "1.3.0.0/16\n"
	    "!1.3.0.0/24\n"
	    "1.3.0.1 :9:\n"
	    "!5.0.0.0/8 :3:ignored value\n"
	    "5.1.0.0/16\n"
	    "6.0.0.0/8 :2:a\n"
	    "6.0.0.0/8 :3:b\n"
	    "6.0.0.0/8 :2:a\n"
	    "6.0.0.0/8\n";
	static const struct probe p[] = {
		/* /32 wins over /24 and /16; duplicates answered once */
		{ "1.2.3.4", "127.0.0.4 \"host\"; 127.0.0.5 \"host5\"" },
		{ "1.2.3.5", "127.0.0.3 \"net\"" },
		/* an exclusion among the entries of a key wins */
		{ "1.2.3.9", "" },
		{ "1.2.4.1", "" },
		/* a less specific exclusion does not touch a /32 */
		{ "1.2.4.5", "127.0.0.2" },
		{ "1.2.5.1", "" },
		{ "1.2.7.1", "127.0.0.6 \"sixteen\"" },
		{ "1.3.0.1", "127.0.0.9" },
		{ "1.3.0.2", "" },
		{ "1.3.1.1", "127.0.0.2" },
		{ "5.0.0.1", "" },
		{ "5.1.2.3", "127.0.0.2" },
		/* the built-in default value counts as seen first */
		{ "6.7.8.9", "127.0.0.2; 127.0.0.2 \"a\"; 127.0.0.3 \"b\"" },
		{ NULL, NULL },
	};
	const struct list_value *v[4];
	struct list *l;

	(void)state;
	l = load_text(LIST_IP4SET, text);
	assert_int_equal(nwarns, 0);
	check_probes("precedence", l, p);
	/* max bounds what is stored; max 0 counts */
	assert_int_equal(list_lookup_ip4(l, 0x06070809, v, 1), 1);
	assert_int_equal(v[0]->lv_a, 0x7f000002);
	assert_null(v[0]->lv_txt);
	assert_int_equal(list_lookup_ip4(l, 0x06070809, NULL, 0), 3);
	assert_int_equal(list_lookup_ip4(l, 0x01020309, NULL, 0), 0);
	/* wrong family */
	assert_int_equal(list_lookup_ip6(l, (const uint8_t *)
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\1", v, 4), 0);
	assert_int_equal(list_lookup_name(l, "example.com", 11, v, 4), 0);
	assert_int_equal(list_has_below(l, "com", 3), 0);
	list_free(l);
}

/* $n, $$, $= and "=" as rbldnsd expands them. */
static void
test_substitutions(void **state)
{
	static const struct {
		const char	*label;
		const char	*text;
		struct probe	 p[8];
	} cases[] = {
		{ "man page $n example",
		    "$1 See http://www.example.com/bl\n"
		    "$2 for details\n"
		    "127.0.0.2  $1/spammer/$ $2\n"
		    "127.0.0.3  $1/relay/$ $2\n"
		    "127.0.0.4  This spammer wants some $$$$.  $1/$\n", {
		    { "127.0.0.2", "127.0.0.2 \"See http://www.example.com/bl/"
			"spammer/127.0.0.2 for details\"" },
		    { "127.0.0.3", "127.0.0.2 \"See http://www.example.com/bl/"
			"relay/127.0.0.3 for details\"" },
		    { "127.0.0.4", "127.0.0.2 \"This spammer wants some $$.  "
			"See http://www.example.com/bl/127.0.0.4\"" },
		    { NULL, NULL } } },
		{ "man page $= example",
		    "$= See http://www.example.com/bl?$= ($) for details\n"
		    "127.0.0.2    r123\n"
		    "127.0.0.3\n"
		    "127.0.0.4    =See other blocklists for details about $\n", {
		    { "127.0.0.2", "127.0.0.2 \"See http://www.example.com/"
			"bl?r123 (127.0.0.2) for details\"" },
		    { "127.0.0.3", "127.0.0.2 \"See http://www.example.com/"
			"bl?127.0.0.3 (127.0.0.3) for details\"" },
		    { "127.0.0.4", "127.0.0.2 \"See other blocklists for "
			"details about 127.0.0.4\"" },
		    { NULL, NULL } } },
		{ "variables are taken verbatim, undefined ones stay",
		    ":2:def $1 [$=]\n"
		    "$1 one $ $1 $$ $2 $=\n"
		    "$2 two\n"
		    "1.0.0.1\n"
		    "1.0.0.2 a$1b $2 $3 $a $- $$ $$$ x$\n"
		    "1.0.0.4 $=\n"
		    "1.0.0.5 =$= z\n"
		    "1.0.0.7 $$$$\n"
		    "1.0.0.9 =\n", {
		    { "1.0.0.1", "127.0.0.2 \"def one $ $1 $$ $2 $= "
			"[def $1 [$=]]\"" },
		    { "1.0.0.2", "127.0.0.2 \"aone $ $1 $$ $2 $=b two $3 "
			"1.0.0.2a 1.0.0.2- $ $1.0.0.2 x1.0.0.2\"" },
		    { "1.0.0.4", "127.0.0.2 \"$=\"" },
		    { "1.0.0.5", "127.0.0.2 \"$= z z\"" },
		    { "1.0.0.7", "127.0.0.2 \"$$\"" },
		    { "1.0.0.9", "127.0.0.2" },
		    { NULL, NULL } } },
		{ "first definition wins, applied after the load",
		    "1.0.0.1 [$1]\n"
		    "$1 first\n"
		    "$1 second\n"
		    "$0\tzero\n"
		    "1.0.0.2 [$0$1]\n", {
		    { "1.0.0.1", "127.0.0.2 \"[first]\"" },
		    { "1.0.0.2", "127.0.0.2 \"[zerofirst]\"" },
		    { NULL, NULL } } },
		{ "base template reaches entries without TXT",
		    "1.0.0.1\n"
		    "1.0.0.2 :3:\n"
		    "1.0.0.3 $1 raw\n"
		    "$1 one\n"
		    "$= base[$=]($)\n"
		    "$= ignored\n"
		    "1.0.0.4 =eq $1 $ $=\n", {
		    { "1.0.0.1", "127.0.0.2 \"base[1.0.0.1](1.0.0.1)\"" },
		    { "1.0.0.2", "127.0.0.3 \"base[1.0.0.2](1.0.0.2)\"" },
		    { "1.0.0.3", "127.0.0.2 \"base[$1 raw](1.0.0.3)\"" },
		    { "1.0.0.4", "127.0.0.2 \"eq one 1.0.0.4 eq $1 $ $=\"" },
		    { NULL, NULL } } },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct list *l = load_text(LIST_IP4SET, cases[i].text);

		check_probes(cases[i].label, l, cases[i].p);
		list_free(l);
	}
}

static void
test_txt_expand(void **state)
{
	static const struct {
		const char	*tmpl;
		const char	*subject;
		size_t		 bufsz;
		const char	*want;
	} cases[] = {
		{ "plain", "1.2.3.4", 64, "plain" },
		{ "$", "1.2.3.4", 64, "1.2.3.4" },
		{ "a$b", "x", 64, "axb" },
		{ "$$", "x", 64, "$" },
		{ "$$$", "x", 64, "$x" },
		{ "$$$$", "x", 64, "$$" },
		{ "[$] [$]", "s", 64, "[s] [s]" },
		{ "", "x", 64, "" },
		{ "abcdef", "x", 3, "abc" },
		{ "ab$", "xyz", 4, "abxy" },
		{ "$$", "x", 0, "" },
		{ "x$", "", 64, "x" },
	};
	char buf[128];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(buf, '#', sizeof(buf));
		n = list_txt_expand(cases[i].tmpl, cases[i].subject, buf,
		    cases[i].bufsz);
		if (n != strlen(cases[i].want) ||
		    memcmp(buf, cases[i].want, n) != 0)
			fail_msg("[%s] with [%s]: got [%.*s]", cases[i].tmpl,
			    cases[i].subject, (int)n, buf);
		assert_int_equal(buf[n], '#');	/* no terminator written */
	}
	assert_int_equal(list_txt_expand(NULL, "x", buf, sizeof(buf)), 0);
}

/* TXT is cut to 255 bytes as read and 254 once expanded. */
static void
test_txt_limits(void **state)
{
	char text[4096], want[300];
	struct list *l;
	const char *got;
	int n;

	(void)state;
	memset(want, 0, sizeof(want));
	n = snprintf(text, sizeof(text), "1.0.0.1 %0300d\n", 0);
	n += snprintf(text + n, sizeof(text) - (size_t)n, "1.0.0.2 $$%0253d\n",
	    0);
	n += snprintf(text + n, sizeof(text) - (size_t)n, "$1 %0200d\n", 0);
	snprintf(text + n, sizeof(text) - (size_t)n, "1.0.0.3 $1$1$1$1$1\n");
	l = load_text(LIST_IP4SET, text);
	assert_int_equal(nwarns, 1);
	/* used, cut as rbldnsd cuts it: a warning */
	assert_true(has_sev(LIST_WARNING, 1, "TXT truncated to 255 bytes"));
	got = answer4(l, "1.0.0.1");
	/* 127.0.0.2 "000...": 254 zeros */
	assert_int_equal(strlen(got), strlen("127.0.0.2 \"\"") + 254);
	got = answer4(l, "1.0.0.2");
	assert_int_equal(strlen(got), strlen("127.0.0.2 \"\"") + 254);
	assert_int_equal(got[11], '$');
	got = answer4(l, "1.0.0.3");
	assert_int_equal(strlen(got), strlen("127.0.0.2 \"\"") + 254);
	list_free(l);
}

/* $TTL, $MAXRANGE4, $SOA, $NS, $TIMESTAMP and the special prefixes. */
static void
test_specials(void **state)
{
	static const char text[] =
	    "$TTL 100\n"
	    "1.0.0.1\n"
	    "#$TTL 1h\n"
	    "  $ttl\t2m\n"
	    "$SOA 0 ns1.x. host.x. 7 1h 1h 1w 1m\n"
	    "$SOA 1 ignored. ignored. 1 2 3 4 5\n"
	    "$NS 1d ns1.x -ns2.x ns3.x\n"
	    "$NS 2d ignored.x\n"
	    "$TTL 99999999999\n"
	    "$TTL 1h30m\n"
	    ":$TTL 5w\n"
	    "# $TTL 7\n";
	const struct list_value *v[2];
	const struct list_soa *soa;
	const struct list_ns *ns;
	struct list *l;

	(void)state;
	l = load_text(LIST_IP4SET, text);
	assert_int_equal(nwarns, 2);
	assert_true(has_sev(LIST_ERROR, 9, "special"));
	assert_true(has_sev(LIST_ERROR, 10, "special"));
	/* the last valid $TTL applies to every entry */
	assert_int_equal(list_lookup_ip4(l, 0x01000001, v, 2), 1);
	assert_int_equal(v[0]->lv_ttl, 5 * 604800);
	soa = list_soa(l);
	assert_non_null(soa);
	assert_string_equal(soa->ls_mname, "ns1.x.");
	assert_string_equal(soa->ls_rname, "host.x.");
	assert_int_equal(soa->ls_ttl, 0);
	assert_int_equal(soa->ls_serial, 7);
	assert_int_equal(soa->ls_refresh, 3600);
	assert_int_equal(soa->ls_expire, 604800);
	assert_int_equal(soa->ls_minttl, 60);
	ns = list_ns(l);
	assert_non_null(ns);
	assert_int_equal(ns->ln_ttl, 86400);
	assert_int_equal(ns->ln_count, 2);
	assert_string_equal(ns->ln_names[0], "ns1.x");
	assert_string_equal(ns->ln_names[1], "ns3.x");
	assert_int_equal(list_stamp(l), 0);
	list_free(l);

	/* $TTL 0 means the default; the default comes from the options */
	l = load_text(LIST_IP4SET, "$TTL 0\n1.0.0.1\n");
	assert_int_equal(list_lookup_ip4(l, 0x01000001, v, 2), 1);
	assert_int_equal(v[0]->lv_ttl, 2100);
	assert_null(list_soa(l));
	assert_null(list_ns(l));
	list_free(l);

	/* $TIMESTAMP */
	l = load_text(LIST_IP4SET, "$TIMESTAMP 2020:01:01 +1d\n"
	    "$TIMESTAMP 2099:01:01\n$TIMESTAMP garbage\n");
	assert_int_equal(nwarns, 2);
	/* a clock behind the source's is no reason to stop a reload */
	assert_true(has_sev(LIST_WARNING, 2, "future"));
	assert_true(has_sev(LIST_ERROR, 3, "special"));
	assert_int_equal(list_stamp(l), 1577836800);
	assert_int_equal(list_expires(l), 1577836800 + 86400);
	list_free(l);
	l = load_text(LIST_IP4SET, "$TIMESTAMP 2020-01-01-12-30 "
	    "20200102\n");
	assert_int_equal(nwarns, 0);
	assert_int_equal(list_stamp(l), 1577836800 + 12 * 3600 + 30 * 60);
	assert_int_equal(list_expires(l), 1577836800 + 86400);
	list_free(l);
}

static void
test_maxrange4(void **state)
{
	static const char text[] =
	    "$MAXRANGE4 /24\n"
	    "1.2.3.0/24\n"
	    "1.2.4.0/23\n"
	    "1.3.0.0-1.3.1.0\n"
	    "$MAXRANGE4 /16\n"
	    "2.0.0.0/16\n"
	    "$MAXRANGE4 255\n"
	    "3.0.0.0/24\n"
	    "3.1.0.0-3.1.0.254\n"
	    "!3.1.0.0/24\n"
	    "$MAXRANGE4 0\n"
	    "$MAXRANGE4 /33\n";
	static const struct probe p[] = {
		{ "1.2.3.1", "127.0.0.2" },
		{ "1.2.4.1", "" },
		{ "1.3.0.1", "" },
		{ "2.0.0.1", "" },
		{ "3.0.0.1", "" },
		{ "3.1.0.1", "127.0.0.2" },
		{ NULL, NULL },
	};
	struct list *l;

	(void)state;
	l = load_text(LIST_IP4SET, text);
	check_probes("maxrange", l, p);
	/* the file's own limit, applied as asked: warnings */
	assert_true(has_sev(LIST_WARNING, 3,
	    "too large range (512) ignored (256 max)"));
	assert_true(has_sev(LIST_WARNING, 4, "too large range (257)"));
	assert_true(has_sev(LIST_WARNING, 5,
	    "increase $MAXRANGE4 from 256 to 65536"));
	assert_true(has_sev(LIST_WARNING, 6, "too large range"));
	assert_true(has_sev(LIST_WARNING, 8,
	    "too large range (256) ignored (255 max)"));
	assert_true(has_sev(LIST_WARNING, 10, "too large range"));
	assert_true(has_sev(LIST_ERROR, 11, "special"));
	assert_true(has_sev(LIST_ERROR, 12, "special"));
	assert_int_equal(nwarns, 8);
	assert_int_equal(nerrors, 2);
	list_free(l);
}

/* Comments, blanks, CRLF, NUL bytes, long lines, no final newline. */
static void
test_line_handling(void **state)
{
	static const char text[] =
	    "# comment\n"
	    "; comment\n"
	    "\n"
	    "   \t  \n"
	    "  1.0.0.1  \n"
	    "1.0.0.2 x\r\n"
	    "1.0.0.3\r\n"
	    "1.0.0.4 a\0b\n"
	    "1.0.0.5";
	struct list_opts o;
	struct list *l;
	char *big;
	size_t n;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.name = "t.txt";
	o.type = LIST_IP4SET;
	o.warn = collect;
	reset_warns();
	assert_int_equal(list_load_mem(&o, text, sizeof(text) - 1, &l), 0);
	assert_int_equal(nwarns, 1);
	assert_true(has_sev(LIST_ERROR, 8, "NUL byte"));
	assert_string_equal(answer4(l, "1.0.0.1"), "127.0.0.2");
	assert_string_equal(answer4(l, "1.0.0.2"), "127.0.0.2 \"x\"");
	assert_string_equal(answer4(l, "1.0.0.3"), "127.0.0.2");
	assert_string_equal(answer4(l, "1.0.0.4"), "");
	assert_string_equal(answer4(l, "1.0.0.5"), "127.0.0.2");
	assert_int_equal(list_entries(l), 4);
	list_free(l);

	/* a 100000-byte line is skipped, the lines around it are kept */
	n = 100000;
	big = malloc(n + 64);
	assert_non_null(big);
	memcpy(big, "1.0.0.1\n1.0.0.2 ", 16);
	memset(big + 16, 'a', n);
	memcpy(big + 16 + n, "\n1.0.0.3\n", 10);
	reset_warns();
	assert_int_equal(list_load_mem(&o, big, strlen(big), &l), 0);
	assert_int_equal(nwarns, 1);
	assert_true(has_sev(LIST_ERROR, 2, "line longer than"));
	assert_string_equal(answer4(l, "1.0.0.1"), "127.0.0.2");
	assert_string_equal(answer4(l, "1.0.0.2"), "");
	assert_string_equal(answer4(l, "1.0.0.3"), "127.0.0.2");
	list_free(l);

	/* the same at the very end, without a newline */
	big[16 + n] = '\0';
	reset_warns();
	assert_int_equal(list_load_mem(&o, big, strlen(big), &l), 0);
	assert_int_equal(nwarns, 1);
	assert_true(has_warn(2, "line longer than"));
	assert_string_equal(answer4(l, "1.0.0.1"), "127.0.0.2");
	list_free(l);
	free(big);

	/* empty input */
	reset_warns();
	assert_int_equal(list_load_mem(&o, "", 0, &l), 0);
	assert_int_equal(list_entries(l), 0);
	assert_string_equal(answer4(l, "1.0.0.1"), "");
	list_free(l);
}

/* Several files make one list; defaults end with their file. */
static void
test_files(void **state)
{
	char dir[] = "/tmp/test_list.XXXXXX";
	const char *files[3];
	struct list_opts o;
	struct list *l = NULL, *keep;
	struct stat st;
	int rc;

	(void)state;
	assert_non_null(mkdtemp(dir));
	files[0] = write_file(dir, "a", "$1 one\n:4:first $1\n1.0.0.1\n"
	    "$TTL 300\n$MAXRANGE4 /24\n");
	files[1] = write_file(dir, "b", "1.0.0.2\n1.0.0.0/16\nbad\n");
	memset(&o, 0, sizeof(o));
	o.name = "two";
	o.type = LIST_IP4SET;
	o.files = files;
	o.nfiles = 2;
	o.default_ttl = 77;
	o.warn = collect;
	reset_warns();
	assert_int_equal(list_load(&o, &l), 0);
	assert_string_equal(answer4(l, "1.0.0.1"), "127.0.0.4 \"first one\"");
	assert_string_equal(answer4(l, "1.0.0.2"), "127.0.0.2");
	/* $MAXRANGE4 carries over to the next file; warnings name it */
	assert_int_equal(nwarns, 2);
	assert_true(has_sev(LIST_WARNING, 2, "too large range"));
	assert_true(has_sev(LIST_ERROR, 3, "invalid address 'bad'"));
	assert_string_equal(warns[0].file, files[1]);
	assert_int_equal(stat(files[1], &st), 0);
	assert_true(list_mtime(l) >= st.st_mtime);
	assert_true(list_memory(l) > 0);
	assert_int_equal(list_type(l), LIST_IP4SET);
	{
		const struct list_value *v[1];

		assert_int_equal(list_lookup_ip4(l, 0x01000002, v, 1), 1);
		assert_int_equal(v[0]->lv_ttl, 300);
	}
	keep = l;

	/* a missing file fails the load, reported at line 0 */
	files[2] = "/nonexistent/rblmux-list";
	o.nfiles = 3;
	reset_warns();
	rc = list_load(&o, &l);
	assert_int_equal(rc, -ENOENT);		/* the reason, as a code */
	assert_ptr_equal(l, keep);		/* untouched */
	assert_true(has_sev(LIST_ERROR, 0, "cannot open"));
	assert_string_equal(warns[nwarns - 1].file, files[2]);

	/* so does a directory */
	files[2] = dir;
	reset_warns();
	assert_int_equal(list_load(&o, &l), -EISDIR);
	assert_true(has_warn(0, "cannot open"));

	/* no $TTL: the default from the options */
	o.nfiles = 1;
	files[0] = files[1];
	assert_int_equal(list_load(&o, &l), 0);
	{
		const struct list_value *v[1];

		assert_int_equal(list_lookup_ip4(l, 0x01000002, v, 1), 1);
		assert_int_equal(v[0]->lv_ttl, 77);
	}
	list_free(l);
	list_free(keep);

	/* an unknown type */
	o.type = (enum list_type)99;
	assert_int_equal(list_load(&o, &l), RBLMUX_EINVAL);

	unlink(write_file(dir, "a", ""));
	unlink(write_file(dir, "b", ""));
	assert_int_equal(rmdir(dir), 0);
	list_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_ip4set_spellings),
		cmocka_unit_test(test_ip4set_forms),
		cmocka_unit_test(test_ip4set_bad_lines),
		cmocka_unit_test(test_a_values),
		cmocka_unit_test(test_values_and_defaults),
		cmocka_unit_test(test_ip4set_precedence),
		cmocka_unit_test(test_substitutions),
		cmocka_unit_test(test_txt_expand),
		cmocka_unit_test(test_txt_limits),
		cmocka_unit_test(test_specials),
		cmocka_unit_test(test_maxrange4),
		cmocka_unit_test(test_line_handling),
		cmocka_unit_test(test_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
