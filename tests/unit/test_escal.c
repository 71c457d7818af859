/*
 * test_escal.c -- escalation counts: file entries, dynamic entries and
 * sightings within the window (time passed in), distinct hosts across
 * sources, exclusions, IPv6 networks, thresholds, the TXT template.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include "escal.h"

#define T0	1764590400	/* 2025-12-01 12:00 UTC */

static struct escal_rule *
rule(unsigned prefix, unsigned prefix6, unsigned threshold, uint32_t window)
{
	struct escal_params p = { prefix, prefix6, threshold, window };
	struct escal_rule *r = escal_rule_new(&p);

	assert_non_null(r);
	return r;
}

/* addr - family and bytes of a text address */
static int
addr(const char *text, uint8_t *b)
{
	memset(b, 0, 16);
	if (inet_pton(AF_INET, text, b) == 1)
		return AF_INET;
	assert_int_equal(inet_pton(AF_INET6, text, b), 1);
	return AF_INET6;
}

static void
file(struct escal_rule *r, const char *text, unsigned plen, bool excl)
{
	uint8_t b[16];
	int fam = addr(text, b);

	assert_int_equal(escal_file_add(r, fam, b, plen, excl), 0);
}

static void
dyn(struct escal_rule *r, unsigned src, const char *text, unsigned plen,
    bool present)
{
	uint8_t b[16];
	int fam = addr(text, b);

	assert_int_equal(escal_dyn_change(r, src, fam, b, plen, present), 0);
}

static void
seen(struct escal_rule *r, const char *text, time_t now)
{
	uint8_t b[16];
	int fam = addr(text, b);

	assert_int_equal(escal_seen(r, fam, b, now), 0);
}

/* look - is text listed at now; *count its network's count */
static bool
look(struct escal_rule *r, const char *text, time_t now, uint32_t *count)
{
	struct escal_hit h;
	uint8_t b[16];
	int fam = addr(text, b);
	bool listed = escal_lookup(r, fam, b, now, &h);

	if (count != NULL)
		*count = h.count;
	return listed;
}

static uint32_t
count_of(struct escal_rule *r, const char *text, time_t now)
{
	uint32_t c;

	look(r, text, now, &c);
	return c;
}

static void
files_count_distinct(void **state)
{
	struct escal_rule *r = rule(24, 64, 2, 0);

	(void)state;
	file(r, "203.0.113.7", 32, false);
	assert_int_equal(escal_file_done(r), 0);
	assert_false(look(r, "203.0.113.7", T0, NULL));
	assert_false(look(r, "203.0.113.99", T0, NULL));
	assert_int_equal(count_of(r, "203.0.113.99", T0), 1);
	escal_rule_free(r);

	/* the same host from two lists counts once; a second one escalates */
	r = rule(24, 64, 2, 0);
	file(r, "203.0.113.7", 32, false);
	file(r, "203.0.113.7", 32, false);
	file(r, "198.51.100.1", 32, false);
	assert_int_equal(escal_file_done(r), 0);
	assert_int_equal(escal_file_entries(r), 2);
	assert_int_equal(count_of(r, "203.0.113.1", T0), 1);
	assert_false(look(r, "203.0.113.1", T0, NULL));
	escal_rule_free(r);

	r = rule(24, 64, 2, 0);
	file(r, "203.0.113.7", 32, false);
	file(r, "203.0.113.9", 32, false);
	file(r, "203.0.112.9", 32, false);	/* the /24 next to it */
	assert_int_equal(escal_file_done(r), 0);
	assert_true(look(r, "203.0.113.200", T0, NULL));
	assert_true(look(r, "203.0.113.0", T0, NULL));
	assert_true(look(r, "203.0.113.255", T0, NULL));
	assert_int_equal(count_of(r, "203.0.113.200", T0), 2);
	assert_false(look(r, "203.0.112.1", T0, NULL));
	assert_false(look(r, "203.0.114.1", T0, NULL));
	escal_rule_free(r);
}

static void
blocks_and_wide_entries(void **state)
{
	struct escal_rule *r = rule(24, 64, 2, 0);

	(void)state;
	/* a /28 inside the /24 counts once; a /24 or a /16 count nothing */
	file(r, "203.0.113.16", 28, false);
	file(r, "203.0.113.0", 24, false);
	file(r, "203.0.0.0", 16, false);
	assert_int_equal(escal_file_done(r), 0);
	assert_int_equal(count_of(r, "203.0.113.1", T0), 1);
	assert_false(look(r, "203.0.113.1", T0, NULL));
	/* the same block added at run time is the file's: still one */
	dyn(r, 0, "203.0.113.16", 28, true);
	assert_int_equal(count_of(r, "203.0.113.1", T0), 1);
	dyn(r, 0, "203.0.113.32", 28, true);
	assert_true(look(r, "203.0.113.1", T0, NULL));
	escal_rule_free(r);

	/* a /16 rule counts the /24 blocks inside */
	r = rule(16, 64, 2, 0);
	file(r, "203.0.113.0", 24, false);
	file(r, "203.0.7.0", 24, false);
	assert_int_equal(escal_file_done(r), 0);
	assert_true(look(r, "203.0.200.1", T0, NULL));
	escal_rule_free(r);
}

static void
thresholds(void **state)
{
	struct escal_rule *r = rule(24, 64, 3, 0);

	(void)state;
	file(r, "192.0.2.1", 32, false);
	file(r, "192.0.2.2", 32, false);
	assert_int_equal(escal_file_done(r), 0);
	assert_false(look(r, "192.0.2.9", T0, NULL));	/* 2 < 3 */
	dyn(r, 0, "192.0.2.3", 32, true);
	assert_true(look(r, "192.0.2.9", T0, NULL));	/* 3 >= 3 */
	escal_rule_free(r);

	/* threshold 1: one host escalates its network */
	r = rule(24, 64, 1, 0);
	file(r, "192.0.2.1", 32, false);
	assert_int_equal(escal_file_done(r), 0);
	assert_true(look(r, "192.0.2.200", T0, NULL));
	escal_rule_free(r);

	/* a /32 rule: nothing is narrower, nothing counts */
	r = rule(32, 128, 1, 3600);
	file(r, "192.0.2.1", 32, false);
	assert_int_equal(escal_file_done(r), 0);
	seen(r, "192.0.2.1", T0);
	assert_false(look(r, "192.0.2.1", T0, NULL));
	escal_rule_free(r);
}

static void
exclusions(void **state)
{
	struct escal_rule *r = rule(24, 64, 2, 0);
	struct escal_hit h;
	uint8_t b[16];

	(void)state;
	file(r, "203.0.113.7", 32, false);
	file(r, "203.0.113.9", 32, false);
	file(r, "203.0.113.11", 32, true);	/* "!" counts nothing */
	file(r, "203.0.113.64", 26, true);	/* nor does a range of them */
	assert_int_equal(escal_file_done(r), 0);
	assert_int_equal(count_of(r, "203.0.113.1", T0), 2);
	assert_true(look(r, "203.0.113.1", T0, NULL));
	/* an excluded address stays unlisted inside the escalated /24 */
	assert_false(look(r, "203.0.113.11", T0, NULL));
	assert_false(look(r, "203.0.113.100", T0, NULL));
	assert_true(look(r, "203.0.113.128", T0, NULL));
	escal_lookup(r, addr("203.0.113.11", b), b, T0, &h);
	assert_true(h.escalated);
	assert_true(h.excluded);
	escal_rule_free(r);

	/* an exclusion alone escalates nothing */
	r = rule(24, 64, 1, 0);
	file(r, "203.0.113.11", 32, true);
	assert_int_equal(escal_file_done(r), 0);
	assert_false(look(r, "203.0.113.1", T0, NULL));
	escal_rule_free(r);
}

static void
dynamic_entries(void **state)
{
	struct escal_rule *r = rule(24, 64, 2, 0);

	(void)state;
	file(r, "203.0.113.7", 32, false);
	assert_int_equal(escal_file_done(r), 0);
	/* a dynamic entry the file holds already counts once */
	dyn(r, 0, "203.0.113.7", 32, true);
	assert_false(look(r, "203.0.113.1", T0, NULL));
	assert_int_equal(count_of(r, "203.0.113.1", T0), 1);
	/* a new one escalates, its deletion undoes it */
	dyn(r, 0, "203.0.113.8", 32, true);
	assert_true(look(r, "203.0.113.1", T0, NULL));
	dyn(r, 0, "203.0.113.8", 32, true);		/* refresh: the same */
	assert_int_equal(count_of(r, "203.0.113.1", T0), 2);
	dyn(r, 0, "203.0.113.8", 32, false);
	assert_false(look(r, "203.0.113.1", T0, NULL));
	assert_int_equal(count_of(r, "203.0.113.1", T0), 1);
	assert_int_equal(escal_live_entries(r), 1);
	/* listed by two sources: gone only when both dropped it */
	dyn(r, 0, "203.0.113.9", 32, true);
	dyn(r, 1, "203.0.113.9", 32, true);
	assert_int_equal(count_of(r, "203.0.113.1", T0), 2);
	dyn(r, 0, "203.0.113.9", 32, false);
	assert_true(look(r, "203.0.113.1", T0, NULL));
	dyn(r, 1, "203.0.113.9", 32, false);
	assert_false(look(r, "203.0.113.1", T0, NULL));
	/* deleting what is not there changes nothing */
	dyn(r, 0, "203.0.113.50", 32, false);
	dyn(r, 0, "203.0.113.7", 32, false);
	assert_int_equal(count_of(r, "203.0.113.1", T0), 1);
	assert_int_equal(escal_dyn_change(r, ESCAL_MAX_SRC, AF_INET,
	    (const uint8_t *)"\xcb\x00\x71\x01", 32, true), -22);
	escal_rule_free(r);
}

static void
many_dynamic(void **state)
{
	struct escal_rule *r = rule(24, 64, 200, 0);
	char a[32];
	unsigned i, j;

	(void)state;
	assert_int_equal(escal_file_done(r), 0);
	/* tables grow and shrink back through deletions */
	for (j = 0; j < 40; j++)
		for (i = 0; i < 200; i++) {
			snprintf(a, sizeof(a), "10.%u.%u.%u", j, i / 250,
			    i % 250);
			dyn(r, 3, a, 32, true);
		}
	assert_true(look(r, "10.7.0.1", T0, NULL));
	assert_int_equal(count_of(r, "10.39.0.1", T0), 200);
	for (j = 0; j < 40; j += 2)
		for (i = 0; i < 200; i++) {
			snprintf(a, sizeof(a), "10.%u.%u.%u", j, i / 250,
			    i % 250);
			dyn(r, 3, a, 32, false);
		}
	for (j = 0; j < 40; j++) {
		snprintf(a, sizeof(a), "10.%u.0.77", j);
		assert_int_equal(count_of(r, a, T0), j % 2 ? 200 : 0);
	}
	assert_int_equal(escal_live_entries(r), 20 * 200);
	escal_rule_free(r);
}

static void
many_file_entries(void **state)
{
	struct escal_rule *r = rule(24, 64, 50, 0);
	uint32_t x = 12345, net, host;
	char a[32];
	unsigned i;

	(void)state;
	/* 60 hosts in each of 100 /24s, every one twice, in random order */
	for (i = 0; i < 12000; i++) {
		x = x * 1103515245u + 12345u;
		net = (x >> 8) % 100;
		host = (x >> 20) % 60;
		snprintf(a, sizeof(a), "10.%u.%u.%u", net / 10, net % 10, host);
		file(r, a, 32, false);
		file(r, a, 32, false);
	}
	for (i = 0; i < 6000; i++) {
		snprintf(a, sizeof(a), "10.%u.%u.%u", i / 600, i / 60 % 10,
		    i % 60);
		file(r, a, 32, false);
	}
	file(r, "10.0.0.64", 26, false);
	assert_int_equal(escal_file_done(r), 0);
	assert_int_equal(escal_file_entries(r), 6001);
	for (i = 0; i < 100; i++) {
		snprintf(a, sizeof(a), "10.%u.%u.200", i / 10, i % 10);
		assert_int_equal(count_of(r, a, T0), i == 0 ? 61 : 60);
		assert_true(look(r, a, T0, NULL));
	}
	/* what the files hold counts once */
	dyn(r, 0, "10.9.9.59", 32, true);
	dyn(r, 0, "10.0.0.64", 26, true);
	assert_int_equal(count_of(r, "10.9.9.1", T0), 60);
	assert_int_equal(count_of(r, "10.0.0.1", T0), 61);
	dyn(r, 0, "10.9.9.60", 32, true);
	assert_int_equal(count_of(r, "10.9.9.1", T0), 61);
	escal_rule_free(r);
}

static void
sightings_expire(void **state)
{
	struct escal_rule *r = rule(24, 64, 2, 3600);

	(void)state;
	assert_int_equal(escal_file_done(r), 0);
	seen(r, "198.51.100.1", T0);
	seen(r, "198.51.100.2", T0 + 10);
	assert_true(look(r, "198.51.100.3", T0 + 10, NULL));
	assert_true(look(r, "198.51.100.3", T0 + 3599, NULL));
	/* the first one counts for its window, not one second more */
	assert_false(look(r, "198.51.100.3", T0 + 3600, NULL));
	assert_int_equal(count_of(r, "198.51.100.3", T0 + 3600), 1);
	assert_int_equal(count_of(r, "198.51.100.3", T0 + 3610), 0);
	assert_int_equal(escal_live_entries(r), 0);
	escal_rule_free(r);

	/* seen again: the window starts again */
	r = rule(24, 64, 2, 3600);
	assert_int_equal(escal_file_done(r), 0);
	seen(r, "198.51.100.1", T0);
	seen(r, "198.51.100.2", T0);
	seen(r, "198.51.100.1", T0 + 1800);
	assert_true(look(r, "198.51.100.3", T0 + 3599, NULL));
	assert_int_equal(count_of(r, "198.51.100.3", T0 + 3600), 1);
	assert_int_equal(count_of(r, "198.51.100.3", T0 + 5399), 1);
	assert_int_equal(count_of(r, "198.51.100.3", T0 + 5400), 0);
	escal_rule_free(r);

	/* a sighting of a dynamic entry: gone when both are */
	r = rule(24, 64, 2, 60);
	assert_int_equal(escal_file_done(r), 0);
	dyn(r, 0, "198.51.100.1", 32, true);
	seen(r, "198.51.100.1", T0);
	seen(r, "198.51.100.2", T0);
	assert_true(look(r, "198.51.100.3", T0, NULL));
	dyn(r, 0, "198.51.100.1", 32, false);
	assert_true(look(r, "198.51.100.3", T0 + 59, NULL));
	assert_int_equal(count_of(r, "198.51.100.3", T0 + 60), 0);
	escal_rule_free(r);

	/* window 0: sightings never count */
	r = rule(24, 64, 1, 0);
	assert_int_equal(escal_file_done(r), 0);
	seen(r, "198.51.100.1", T0);
	assert_false(look(r, "198.51.100.3", T0, NULL));
	escal_rule_free(r);
}

static void
ipv6_networks(void **state)
{
	struct escal_rule *r = rule(24, 48, 2, 600);
	struct escal_hit h;
	uint8_t b[16];
	char t[64];

	(void)state;
	file(r, "2001:db8:1:2::7", 128, false);
	file(r, "2001:db8:1:3::", 64, false);	/* a /64 inside: one */
	file(r, "2001:db8::", 32, false);		/* wider: nothing */
	file(r, "2001:db8:1:ffff::5", 128, true);
	file(r, "2001:db8:1:eeee::100", 120, true);
	assert_int_equal(escal_file_done(r), 0);
	assert_false(look(r, "2001:db8:1:eeee::1ff", T0, NULL));
	assert_true(look(r, "2001:db8:1:eeee::200", T0, NULL));
	assert_true(look(r, "2001:db8:1:9999::1", T0, NULL));
	assert_false(look(r, "2001:db8:1:ffff::5", T0, NULL));
	assert_false(look(r, "2001:db8:2::1", T0, NULL));
	assert_true(escal_lookup(r, addr("2001:db8:1::1", b), b, T0, &h));
	assert_int_equal(h.count, 2);
	assert_int_equal(h.plen, 48);
	escal_prefix_text(&h, t, sizeof(t));
	assert_string_equal(t, "2001:db8:1::/48");
	/* sightings of /128s in another /48 */
	seen(r, "2001:db8:5::1", T0);
	seen(r, "2001:db8:5::2", T0);
	assert_true(look(r, "2001:db8:5:1::1", T0, NULL));
	assert_false(look(r, "2001:db8:5:1::1", T0 + 600, NULL));
	escal_rule_free(r);

	/* /64: two hosts of one /64 escalate it, not its neighbour */
	r = rule(24, 64, 2, 0);
	file(r, "2001:db8:0:1::a", 128, false);
	file(r, "2001:db8:0:1::b", 128, false);
	file(r, "2001:db8:0:2::a", 128, false);
	assert_int_equal(escal_file_done(r), 0);
	assert_true(look(r, "2001:db8:0:1:ffff::1", T0, NULL));
	assert_false(look(r, "2001:db8:0:2::1", T0, NULL));
	dyn(r, 0, "2001:db8:0:2::b", 128, true);
	assert_true(look(r, "2001:db8:0:2::1", T0, NULL));
	/* IPv4 and IPv6 never mix */
	assert_false(look(r, "32.1.13.184", T0, NULL));
	escal_rule_free(r);
}

static void
carry_to_next_view(void **state)
{
	struct escal_rule *a = rule(24, 64, 2, 3600), *b;

	(void)state;
	assert_int_equal(escal_file_done(a), 0);
	dyn(a, 0, "203.0.113.1", 32, true);
	seen(a, "203.0.113.2", T0);
	assert_true(look(a, "203.0.113.3", T0, NULL));
	/* the next view's files hold one of them: still two, not three */
	b = rule(24, 64, 2, 3600);
	file(b, "203.0.113.1", 32, false);
	file(b, "203.0.113.5", 32, false);
	assert_int_equal(escal_file_done(b), 0);
	assert_int_equal(escal_carry(b, a), 0);
	assert_int_equal(count_of(b, "203.0.113.3", T0), 3);
	assert_int_equal(count_of(a, "203.0.113.3", T0), 0);
	assert_int_equal(count_of(b, "203.0.113.3", T0 + 3600), 2);
	dyn(b, 0, "203.0.113.1", 32, false);	/* the file keeps it */
	assert_int_equal(count_of(b, "203.0.113.3", T0 + 3600), 2);
	escal_rule_free(a);
	escal_rule_free(b);
}

struct walked {
	char	 text[8][64];
	uint32_t count[8];
	size_t	 n;
};

static int
walk_cb(void *arg, const struct escal_hit *h)
{
	struct walked *w = arg;

	if (w->n == 8)
		return 1;
	escal_prefix_text(h, w->text[w->n], sizeof(w->text[0]));
	w->count[w->n++] = h->count;
	return 0;
}

static void
walk_escalated(void **state)
{
	struct escal_rule *r = rule(24, 48, 2, 0);
	struct walked w;

	(void)state;
	memset(&w, 0, sizeof(w));
	file(r, "192.0.2.1", 32, false);
	file(r, "192.0.2.2", 32, false);
	file(r, "198.51.100.1", 32, false);
	file(r, "2001:db8:7::1", 128, false);
	file(r, "2001:db8:7::2", 128, false);
	assert_int_equal(escal_file_done(r), 0);
	dyn(r, 0, "198.51.100.9", 32, true);	/* with the file's one */
	dyn(r, 0, "203.0.113.1", 32, true);	/* live only */
	dyn(r, 0, "203.0.113.2", 32, true);
	dyn(r, 0, "10.0.0.1", 32, true);	/* one: not escalated */
	assert_int_equal(escal_walk(r, T0, walk_cb, &w), 0);
	assert_int_equal(w.n, 4);
	assert_string_equal(w.text[0], "192.0.2.0/24");
	assert_string_equal(w.text[1], "198.51.100.0/24");
	assert_string_equal(w.text[2], "2001:db8:7::/48");
	assert_string_equal(w.text[3], "203.0.113.0/24");
	assert_int_equal(w.count[1], 2);
	/* a non-zero return stops the walk */
	w.n = 8;
	assert_int_equal(escal_walk(r, T0, walk_cb, &w), 1);
	escal_rule_free(r);
}

static void
txt_template(void **state)
{
	struct escal_hit h;
	char buf[300], big[400];
	size_t n;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.family = AF_INET;
	memcpy(h.prefix, "\xcb\x00\x71\x00", 4);
	h.plen = 24;
	h.count = 2;
	n = escal_txt("Entire /24 listed: $count hosts listed in $prefix", &h,
	    buf, sizeof(buf));
	assert_int_equal(n, strlen("Entire /24 listed: 2 hosts listed in "
	    "203.0.113.0/24"));
	assert_memory_equal(buf, "Entire /24 listed: 2 hosts listed in "
	    "203.0.113.0/24", n);
	/* "$$" is a dollar sign; another "$" stays as written */
	n = escal_txt("$$count costs $5 at $prefix$", &h, buf, sizeof(buf));
	assert_int_equal(n, strlen("$count costs $5 at 203.0.113.0/24$"));
	assert_memory_equal(buf, "$count costs $5 at 203.0.113.0/24$", n);
	/* cut at the buffer, also in the middle of a variable */
	n = escal_txt("ab$prefix", &h, buf, 6);
	assert_int_equal(n, 6);
	assert_memory_equal(buf, "ab203.", 6);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big + 250, "$count", 6);
	n = escal_txt(big, &h, buf, ESCAL_TXT_LEN);
	assert_int_equal(n, ESCAL_TXT_LEN);
	assert_memory_equal(buf + 250, "2xxx", 4);
	/* IPv6 */
	memset(&h, 0, sizeof(h));
	h.family = AF_INET6;
	memcpy(h.prefix, "\x20\x01\x0d\xb8\x00\x01", 6);
	h.plen = 48;
	h.count = 1000000;
	n = escal_txt("$count in $prefix", &h, buf, sizeof(buf));
	assert_memory_equal(buf, "1000000 in 2001:db8:1::/48", n);
	assert_int_equal(n, strlen("1000000 in 2001:db8:1::/48"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(files_count_distinct),
		cmocka_unit_test(blocks_and_wide_entries),
		cmocka_unit_test(thresholds),
		cmocka_unit_test(exclusions),
		cmocka_unit_test(dynamic_entries),
		cmocka_unit_test(many_dynamic),
		cmocka_unit_test(many_file_entries),
		cmocka_unit_test(sightings_expire),
		cmocka_unit_test(ipv6_networks),
		cmocka_unit_test(carry_to_next_view),
		cmocka_unit_test(walk_escalated),
		cmocka_unit_test(txt_template),
	};

	return cmocka_run_group_tests_name("escal", tests, NULL, NULL);
}
