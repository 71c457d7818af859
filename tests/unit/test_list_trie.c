/*
 * test_list_trie.c -- the ip4trie and ip6trie list formats: key syntax,
 * longest prefix match, exclusions, repeated prefixes. Expected answers
 * were checked against rbldnsd 1.0pre (20210120) on the same data.
 */
#include <arpa/inet.h>
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

/*
 * answer - "A \"TXT\"" for what l answers about an address in text form
 * ("" = not listed); the subject of "$" is the address as given.
 */
static const char *
answer(const struct list *l, const char *ip)
{
	static char out[1024];
	const struct list_value *v[4];
	struct in_addr a4;
	uint8_t a6[16];
	char txt[LIST_TXT_LEN + 1];
	size_t tl = 0;
	int n;

	if (inet_pton(AF_INET, ip, &a4) == 1)
		n = list_lookup_ip4(l, ntohl(a4.s_addr), v, 4);
	else {
		assert_int_equal(inet_pton(AF_INET6, ip, a6), 1);
		n = list_lookup_ip6(l, a6, v, 4);
	}
	if (n == 0)
		return "";
	assert_int_equal(n, 1);
	{
		struct in_addr x = { htonl(v[0]->lv_a) };

		if (v[0]->lv_txt != NULL)
			tl = list_txt_expand(v[0]->lv_txt, ip, txt,
			    LIST_TXT_LEN);
		txt[tl] = '\0';
		snprintf(out, sizeof(out), "%s%s%s%s", inet_ntoa(x),
		    v[0]->lv_txt ? " \"" : "", v[0]->lv_txt ? txt : "",
		    v[0]->lv_txt ? "\"" : "");
	}
	return out;
}

/* check_probes - every probe against this file's answer text */
static void
check_probes(const char *label, const struct list *l,
    const struct probe *p)
{
	check_probes_by(label, l, p, answer);
}

/* -------------------------------------------------------------------- */

static void
test_ip4trie(void **state)
{
	static const char text[] =
	    "1.2.0.0/16 :3:sixteen\n"		/* 1 */
	    "1.2.3.0/24 :4:tf\n"		/* 2 */
	    "1.2.3.0/24 :5:dup\n"		/* 3: first one wins */
	    "!1.2.3.128/25\n"			/* 4 */
	    "1.2.3.200 :6:host $\n"		/* 5 */
	    "1.2.3\n"				/* 6: same as line 2 */
	    "1.2.3.0-1.2.3.255\n"		/* 7: no ranges */
	    "1.2.3.4/24\n"			/* 8 */
	    "10.0.0.0/8 :7:\n"			/* 9 */
	    "10.1.0.0/16\n"			/* 10 */
	    "!10.1.2.0/24\n"			/* 11 */
	    "!10.1.2.0/24\n"			/* 12 */
	    "0/0 :9:all\n"			/* 13 */
	    "1.2.3.128/25 :8:\n"		/* 14: the exclusion stays */
	    "5.6.7.0/24 ;c\n"			/* 15 */
	    "5.6.7.8:3:c\n"			/* 16 */
	    "127\n"				/* 17 */
	    "1.2.3.4/33\n"			/* 18 */
	    "1.2.3.4 :bad:\n"			/* 19 */
	    "1.2/24\n";				/* 20 */
	static const struct probe p[] = {
		{ "1.2.1.1", "127.0.0.3 \"sixteen\"" },
		{ "1.2.3.1", "127.0.0.4 \"tf\"" },
		{ "1.2.3.129", "" },
		{ "1.2.3.200", "127.0.0.6 \"host 1.2.3.200\"" },
		{ "10.0.0.1", "127.0.0.7" },
		{ "10.1.0.1", "127.0.0.2" },
		{ "10.1.2.1", "" },
		{ "10.1.3.1", "127.0.0.2" },
		{ "1.1.1.2", "127.0.0.9 \"all\"" },
		{ "5.6.7.1", "127.0.0.2" },
		{ "5.6.7.8", "127.0.0.3 \"c\"" },
		{ "1.2.0.1", "127.0.0.2" },
		{ NULL, NULL },
	};
	static const struct {
		unsigned		 line;
		enum list_severity	 sev;
		const char		*msg;
	} w[] = {
		{ 3, LIST_WARNING, "duplicated entry for 1.2.3.0/24" },
		{ 6, LIST_WARNING, "duplicated entry" },
		{ 7, LIST_ERROR, "invalid address" },
		{ 8, LIST_ERROR, "non-zero host part" },
		{ 12, LIST_WARNING, "duplicated entry" },
		{ 14, LIST_WARNING, "duplicated entry" },
		{ 17, LIST_ERROR, "invalid address" },
		{ 18, LIST_ERROR, "invalid address" },
		{ 19, LIST_ERROR, "invalid A value" },
	};
	struct list *l;
	size_t i;

	(void)state;
	l = load_text(LIST_IP4TRIE, text);
	check_probes("ip4trie", l, p);
	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if (!has_sev(w[i].sev, w[i].line, w[i].msg)) {
			dump_warns();
			fail_msg("line %u: no warning '%s'", w[i].line,
			    w[i].msg);
		}
	assert_int_equal(nwarns, (int)(sizeof(w) / sizeof(w[0])));
	assert_int_equal(list_entries(l), 11);
	assert_int_equal(list_type(l), LIST_IP4TRIE);
	assert_int_equal(list_lookup_ip4(l, 0x01020301, NULL, 0), 1);
	list_free(l);

	/* no /0: nothing outside the prefixes; $MAXRANGE4 applies */
	l = load_text(LIST_IP4TRIE, "$MAXRANGE4 /24\n1.0.0.0/16\n"
	    "2.0.0.0/24\n2.0.0.0/32 :3:\n");
	assert_int_equal(nwarns, 1);
	assert_true(has_warn(2, "too large range (65536)"));
	assert_string_equal(answer(l, "1.0.0.1"), "");
	assert_string_equal(answer(l, "2.0.0.1"), "127.0.0.2");
	assert_string_equal(answer(l, "2.0.0.0"), "127.0.0.3");
	assert_string_equal(answer(l, "2.0.1.0"), "");
	list_free(l);
}

/* ip6trie keys, as rbldnsd reads them */
static void
test_ip6_keys(void **state)
{
	static const struct {
		const char	*line;
		const char	*in;	/* inside, "" if rejected */
		const char	*out;	/* just outside, or NULL */
		const char	*want;	/* answer for in */
	} cases[] = {
		{ "2001:21ab:c000/36", "2001:21ab:cfff:ffff::1",
		    "2001:21ab:d000::", "127.0.0.2" },
		{ "2001:21ab:def7:4242", "2001:21ab:def7:4242:ffff::",
		    "2001:21ab:def7:4243::", "127.0.0.2" },
		{ "2605:6001:42::/52", "2605:6001:42:fff::1",
		    "2605:6001:42:1000::", "127.0.0.2" },
		{ "::1", "::1", "::2", "127.0.0.2" },
		{ "::", "::", "::1", "127.0.0.2" },
		{ "::/0", "ffff::1", NULL, "127.0.0.2" },
		{ "0/0", "ffff::1", NULL, "127.0.0.2" },
		{ "2001:DB8::/32", "2001:db8:ffff::", "2001:db9::",
		    "127.0.0.2" },
		{ "2001:db8:1", "2001:db8:1::5", "2001:db8:2::", "127.0.0.2" },
		{ "2001/32", "2001::1", "2001:1::", "127.0.0.2" },
		{ "2000/3", "3fff::", "4000::", "127.0.0.2" },
		{ "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:ffff", "1:2:3:4:5:6:8::",
		    "127.0.0.2" },
		{ "1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:1",
		    "127.0.0.2" },
		{ "1:2:3::", "1:2:3::", "1:2:3::1", "127.0.0.2" },
		{ "00001::", "1::", "1::1", "127.0.0.2" },
		{ "f:F:ab:AB::", "f:f:ab:ab::", NULL, "127.0.0.2" },
		{ "2001:db8::/032", "2001:db8::1", NULL, "127.0.0.2" },
		/* a ninth group or a second "::" starts the value */
		{ "2001:db8:0:0:0:0:0:0:1", "2001:db8::", NULL, "127.0.0.1" },
		{ "1::2::7", "1::2", NULL, "127.0.0.7" },
		{ ":::1", "::", NULL, "127.0.0.1" },
		{ "1:::2", "1::", NULL, "127.0.0.2" },
		{ "1::2: :5:x", "1::2", NULL, "127.0.0.5 \"x\"" },
		{ "1::2: x", "1::2", NULL, "127.0.0.2 \"x\"" },
		{ "1:2:3:4::/64:7", "1:2:3:4::9", NULL, "127.0.0.7" },
		{ "2001:db8::/64 :3:txt $", "2001:db8::8",
		    "2001:db8:0:1::", "127.0.0.3 \"txt 2001:db8::8\"" },
		{ "2001:db8::/48;c", "2001:db8::1", NULL, "127.0.0.2" },
		/* rejected */
		{ "1::2:x", "", NULL, NULL },
		{ "12345::", "", NULL, NULL },
		{ "1:", "", NULL, NULL },
		{ "1:2:3:", "", NULL, NULL },
		{ "2001:db8:/32", "", NULL, NULL },
		{ "1::2:3:4:5:6:7:8", "", NULL, NULL },
		{ "1:2:3:4:5:6:7::9", "", NULL, NULL },
		{ "::ffff:1.2.3.4", "", NULL, NULL },
		{ "g::", "", NULL, NULL },
		{ "2001:db8::/129", "", NULL, NULL },
		{ "2001:db8::/", "", NULL, NULL },
		{ "2001:db8::1/64", "", NULL, NULL },
		{ "2001:db8:1/32", "", NULL, NULL },
		{ "1:2:3:4:5:6:7:8/64", "", NULL, NULL },
		{ "1:2:3:4:5:6:7:8:", "", NULL, NULL },
		{ "1.2.3.4", "", NULL, NULL },
	};
	char text[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct list *l;

		snprintf(text, sizeof(text), "%s\n", cases[i].line);
		l = load_text(LIST_IP6TRIE, text);
		if (cases[i].in[0] == '\0') {
			if (nwarns != 1 || list_entries(l) != 0)
				fail_msg("[%s]: accepted", cases[i].line);
			list_free(l);
			continue;
		}
		if (nwarns != 0) {
			dump_warns();
			fail_msg("[%s]: rejected", cases[i].line);
		}
		if (strcmp(answer(l, cases[i].in), cases[i].want) != 0)
			fail_msg("[%s]: %s: got [%s], want [%s]",
			    cases[i].line, cases[i].in,
			    answer(l, cases[i].in), cases[i].want);
		if (cases[i].out != NULL &&
		    strcmp(answer(l, cases[i].out), "") != 0)
			fail_msg("[%s]: %s listed", cases[i].line,
			    cases[i].out);
		list_free(l);
	}
}

/* The man page example plus longest prefix match and exclusions. */
static void
test_ip6trie(void **state)
{
	static const char text[] =
	    "# Default A and TXT template valuse\n"
	    ":127.0.1.2: Listed, see http://example.com/lookup?$\n"
	    "\n"
	    "# A listing, note that trailing :0s can be omitted\n"
	    "2001:21ab:c000/36\n"
	    "\n"
	    "# /64 range with non-default A and TXT values\n"
	    "2001:21ab:def7:4242 :127.0.1.3: This one smells funny\n"
	    "\n"
	    "# compressed notation\n"
	    "2605:6001:42::/52\n"
	    "::1                     # localhost\n"
	    "!2605:6001:42::bead   # exclusion\n"
	    "2001:db8::/32 :4:x\n"
	    "!2001:db8:1::/48\n"
	    "2001:db8:1:2::/64 :5:\n"
	    "2001:db8:1:2::/64 :6:\n"
	    "2001:db8:1:2::5 :7:\n";
	static const struct probe p[] = {
		{ "2001:21ab:c123::1", "127.0.1.2 \"Listed, see "
		    "http://example.com/lookup?2001:21ab:c123::1\"" },
		{ "2001:21ab:def7:4242::7",
		    "127.0.1.3 \"This one smells funny\"" },
		{ "2001:21ab:def7:4243::7", "" },
		{ "2001:21ab:c000::", "127.0.1.2 \"Listed, see "
		    "http://example.com/lookup?2001:21ab:c000::\"" },
		{ "2605:6001:42::beae", "127.0.1.2 \"Listed, see "
		    "http://example.com/lookup?2605:6001:42::beae\"" },
		{ "2605:6001:42::bead", "" },
		{ "::1", "127.0.1.2 \"Listed, see "
		    "http://example.com/lookup?::1\"" },
		{ "::2", "" },
		{ "2001:db8::1", "127.0.0.4 \"x\"" },
		{ "2001:db8:1::1", "" },
		{ "2001:db8:1:2::1", "127.0.0.5" },
		{ "2001:db8:1:2::5", "127.0.0.7" },
		{ "2001:db8:1:3::1", "" },
		{ "2001:db8:2::1", "127.0.0.4 \"x\"" },
		{ NULL, NULL },
	};
	struct list *l;

	(void)state;
	l = load_text(LIST_IP6TRIE, text);
	assert_int_equal(nwarns, 1);
	/* the first entry for a prefix counts; the repeat is a warning */
	assert_true(has_sev(LIST_WARNING, 17, "duplicated entry"));
	check_probes("ip6trie", l, p);
	assert_int_equal(list_entries(l), 9);
	assert_int_equal(list_type(l), LIST_IP6TRIE);
	/* wrong family */
	assert_int_equal(list_lookup_ip4(l, 0x7f000001, NULL, 0), 0);
	assert_int_equal(list_lookup_name(l, "a.b", 3, NULL, 0), 0);
	list_free(l);
}

/* Longest prefix match over every length against a brute force. */
static void
test_ip6trie_lpm(void **state)
{
	struct pfx {
		uint8_t		 a[16];
		unsigned	 len;
		int		 excl;
	} pfx[300];
	char *text, addr[64];
	size_t used = 0, i;
	uint32_t seed = 1;
	unsigned q;
	struct list *l;

	(void)state;
	text = malloc(300 * 80);
	assert_non_null(text);
	/* nested random prefixes under 2001:db8::/32 */
	for (i = 0; i < 300; i++) {
		unsigned b;

		memset(pfx[i].a, 0, 16);
		pfx[i].a[0] = 0x20;
		pfx[i].a[1] = 0x01;
		pfx[i].a[2] = 0x0d;
		pfx[i].a[3] = 0xb8;
		for (b = 4; b < 16; b++) {
			seed = seed * 1103515245 + 12345;
			pfx[i].a[b] = (uint8_t)((seed >> 16) & 0x3);
		}
		seed = seed * 1103515245 + 12345;
		pfx[i].len = 32 + (seed >> 16) % 97;
		for (b = pfx[i].len; b < 128; b++)
			pfx[i].a[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
		pfx[i].excl = (seed >> 8) % 5 == 0;
		inet_ntop(AF_INET6, pfx[i].a, addr, sizeof(addr));
		used += (size_t)snprintf(text + used, 300 * 80 - used,
		    "%s%s/%u :%zu:\n", pfx[i].excl ? "!" : "", addr,
		    pfx[i].len, i % 200 + 1);
	}
	l = load_text(LIST_IP6TRIE, text);
	for (q = 0; q < 5000; q++) {
		uint8_t a[16];
		const struct list_value *v[1];
		int best = -1, n, b;

		memcpy(a, pfx[q % 300].a, 16);
		for (b = 4; b < 16; b++) {
			seed = seed * 1103515245 + 12345;
			if ((seed >> 16) % 3 == 0)
				a[b] = (uint8_t)((seed >> 20) & 0x3);
		}
		for (i = 0; i < 300; i++) {
			unsigned bit;
			int match = 1;

			for (bit = 0; bit < pfx[i].len && match; bit++)
				match = ((a[bit / 8] ^ pfx[i].a[bit / 8]) &
				    (0x80 >> (bit % 8))) == 0;
			/* the first of equal prefixes counts */
			if (match && (best < 0 || pfx[i].len > pfx[best].len))
				best = (int)i;
		}
		n = list_lookup_ip6(l, a, v, 1);
		if (best < 0 || pfx[best].excl)
			assert_int_equal(n, 0);
		else {
			assert_int_equal(n, 1);
			assert_int_equal(v[0]->lv_a,
			    0x7f000000U + (uint32_t)best % 200 + 1);
		}
	}
	list_free(l);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip4trie),
		cmocka_unit_test(test_ip6_keys),
		cmocka_unit_test(test_ip6trie),
		cmocka_unit_test(test_ip6trie_lpm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
