/*
 * test_rrl.c -- response rate limiting: the token bucket with time
 * passed in, slip, buckets per source prefix, class and zone, exempt
 * prefixes, slots taken over on collision, the fixed table, the slip
 * reply, and settings changed on reload.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "err.h"
#include "rrl.h"
#include "peer_testlib.h"

#define T0	1000000		/* ms: any start will do */

/* settings - server: with rate-limit rate and slip, the defaults else */
static struct conf_server
settings(unsigned rate, unsigned slip)
{
	struct conf_server cs;

	memset(&cs, 0, sizeof(cs));
	cs.rate_limit = rate;
	cs.rate_limit_slip = slip;
	cs.rate_limit_ipv4_prefix = 24;
	cs.rate_limit_ipv6_prefix = 56;
	cs.rate_limit_size = 65536;
	return cs;
}

static struct rrl *
limiter(const struct conf_server *cs)
{
	struct rrl *r = rrl_new(0x5eed);

	assert_non_null(r);
	assert_int_equal(rrl_configure(r, cs), 0);
	return r;
}

/* check - one positive answer in zone "a.example" from addr at t */
static enum rrl_verdict
check(struct rrl *r, const char *addr, uint64_t t)
{
	struct sockaddr_storage ss = peer(addr);

	return rrl_check(r, (struct sockaddr *)&ss, RRL_POSITIVE,
	    "a.example", t);
}

/* spend - n answers from addr at t, all sent */
static void
spend(struct rrl *r, const char *addr, unsigned n, uint64_t t)
{
	while (n-- > 0)
		assert_int_equal(check(r, addr, t), RRL_SEND);
}

/* rate: N sent in a second, the next limited, credit back with time */
static void
rate(void **state)
{
	struct conf_server cs = settings(5, 0);
	struct rrl *r = limiter(&cs);

	spend(r, "192.0.2.1", 5, T0);
	assert_int_equal(check(r, "192.0.2.1", T0), RRL_DROP);
	assert_int_equal(check(r, "192.0.2.1", T0 + 199), RRL_DROP);
	/* 5 a second: one more after 200 ms, and only one */
	assert_int_equal(check(r, "192.0.2.1", T0 + 200), RRL_SEND);
	assert_int_equal(check(r, "192.0.2.1", T0 + 200), RRL_DROP);
	/* a long pause buys one second's worth, no more */
	spend(r, "192.0.2.1", 5, T0 + 60000);
	assert_int_equal(check(r, "192.0.2.1", T0 + 60000), RRL_DROP);
	/* credit left over does not add up past a second's worth */
	spend(r, "192.0.2.1", 1, T0 + 60800);		/* 4 earned, 3 left */
	spend(r, "192.0.2.1", 5, T0 + 61600);	/* 3 + 4, capped at 5 */
	assert_int_equal(check(r, "192.0.2.1", T0 + 61600), RRL_DROP);
	/* steady at the rate: never limited */
	for (unsigned i = 1; i <= 50; i++)
		assert_int_equal(check(r, "192.0.2.1", T0 + 61600 + i * 200),
		    RRL_SEND);
	/* time going back charges without refilling */
	assert_int_equal(check(r, "192.0.2.1", T0), RRL_DROP);
	rrl_free(r);
	(void)state;
}

/* slip_every - the verdicts of 12 limited answers under slip */
static void
slip_every(unsigned slip, const char *want)
{
	struct conf_server cs = settings(3, slip);
	struct rrl *r = limiter(&cs);
	char got[13];
	unsigned i;

	spend(r, "198.51.100.7", 3, T0);
	for (i = 0; i < 12; i++)
		got[i] = check(r, "198.51.100.7", T0) == RRL_SLIP ? 'S' : 'D';
	got[12] = '\0';
	assert_string_equal(got, want);
	rrl_free(r);
}

static void
slip(void **state)
{
	slip_every(0, "DDDDDDDDDDDD");
	slip_every(1, "SSSSSSSSSSSS");
	slip_every(2, "DSDSDSDSDSDS");
	slip_every(3, "DDSDDSDDSDDS");
	(void)state;
}

/* prefix4: one bucket per /24, /32 when so set */
static void
prefix4(void **state)
{
	struct conf_server cs = settings(2, 0);
	struct rrl *r = limiter(&cs);

	spend(r, "192.0.2.1", 2, T0);
	assert_int_equal(check(r, "192.0.2.254", T0), RRL_DROP);
	assert_int_equal(check(r, "::ffff:192.0.2.9", T0), RRL_DROP);
	spend(r, "192.0.3.1", 2, T0);
	spend(r, "198.51.100.1", 2, T0);
	rrl_free(r);

	cs.rate_limit_ipv4_prefix = 32;
	r = limiter(&cs);
	spend(r, "192.0.2.1", 2, T0);
	assert_int_equal(check(r, "192.0.2.1", T0), RRL_DROP);
	spend(r, "192.0.2.2", 2, T0);
	rrl_free(r);

	cs.rate_limit_ipv4_prefix = 20;		/* 203.0.112.0 - 203.0.127.255 */
	r = limiter(&cs);
	spend(r, "203.0.113.1", 2, T0);
	assert_int_equal(check(r, "203.0.127.200", T0), RRL_DROP);
	spend(r, "203.0.128.1", 2, T0);
	rrl_free(r);
	(void)state;
}

/* prefix6: one bucket per /56 */
static void
prefix6(void **state)
{
	struct conf_server cs = settings(2, 0);
	struct rrl *r = limiter(&cs);

	spend(r, "2001:db8:0:1::1", 2, T0);
	assert_int_equal(check(r, "2001:db8:0:ff:ffff::9", T0), RRL_DROP);
	spend(r, "2001:db8:0:100::1", 2, T0);
	spend(r, "2001:db8:1::1", 2, T0);
	/* the IPv4 bucket of 0.0.0.0/24 is not ::/56 */
	spend(r, "::1", 2, T0);
	spend(r, "0.0.0.1", 2, T0);
	rrl_free(r);
	(void)state;
}

/* class_zone: one bucket per class and per zone */
static void
class_zone(void **state)
{
	struct conf_server cs = settings(2, 0);
	struct rrl *r = limiter(&cs);
	struct sockaddr_storage ss = peer("192.0.2.1");
	const struct sockaddr *sa = (struct sockaddr *)&ss;
	static const char *const zones[] = { "a.example", "b.example",
	    NULL };
	enum rrl_class c;
	size_t z;

	for (z = 0; z < 3; z++)
		for (c = RRL_POSITIVE; c <= RRL_ERROR; c++) {
			assert_int_equal(rrl_check(r, sa, c, zones[z], T0),
			    RRL_SEND);
			assert_int_equal(rrl_check(r, sa, c, zones[z], T0),
			    RRL_SEND);
			assert_int_equal(rrl_check(r, sa, c, zones[z], T0),
			    RRL_DROP);
		}
	rrl_free(r);
	(void)state;
}

/* exempt: sources in the exempt prefixes are never limited */
static void
exempt(void **state)
{
	struct conf_server cs = settings(2, 1);
	struct conf_prefix ex[2];
	struct rrl *r;

	memset(ex, 0, sizeof(ex));
	ex[0].family = AF_INET;
	inet_pton(AF_INET, "192.0.2.0", ex[0].addr);
	ex[0].plen = 25;
	ex[1].family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::", ex[1].addr);
	ex[1].plen = 64;
	cs.rate_limit_exempt = ex;
	cs.nrate_limit_exempt = 2;
	r = limiter(&cs);
	memset(ex, 0, sizeof(ex));	/* the limiter keeps its own copy */
	spend(r, "192.0.2.1", 1000, T0);
	spend(r, "2001:db8::53", 1000, T0);
	spend(r, "192.0.2.200", 2, T0);		/* same /24, not exempt */
	assert_int_equal(check(r, "192.0.2.200", T0), RRL_SLIP);
	spend(r, "2001:db8:0:1::1", 2, T0);
	assert_int_equal(check(r, "2001:db8:0:1::1", T0), RRL_SLIP);
	rrl_free(r);
	(void)state;
}

/* collision: with one slot every key takes it over, with a full bucket */
static void
collision(void **state)
{
	struct conf_server cs = settings(3, 0);
	struct rrl_info ri;
	struct rrl *r;

	cs.rate_limit_size = 1;
	r = limiter(&cs);
	spend(r, "192.0.2.1", 3, T0);
	assert_int_equal(check(r, "192.0.2.1", T0), RRL_DROP);
	spend(r, "198.51.100.1", 3, T0);	/* takes the slot */
	assert_int_equal(check(r, "198.51.100.1", T0), RRL_DROP);
	spend(r, "192.0.2.1", 3, T0);		/* and back: full again */
	assert_int_equal(check(r, "192.0.2.1", T0), RRL_DROP);
	rrl_get_info(r, &ri);
	assert_int_equal(ri.size, 1);
	assert_int_equal(ri.used, 1);
	rrl_free(r);
	(void)state;
}

/* table: never more buckets than rate-limit-size, however many clients */
static void
table(void **state)
{
	struct conf_server cs = settings(1, 0);
	struct rrl_info ri;
	struct rrl *r;
	char addr[32];
	unsigned i, sent = 0;

	cs.rate_limit_size = 64;
	r = limiter(&cs);
	for (i = 0; i < 4096; i++) {
		snprintf(addr, sizeof(addr), "10.%u.%u.1", i >> 8, i & 255);
		sent += check(r, addr, T0) == RRL_SEND;
	}
	rrl_get_info(r, &ri);
	assert_int_equal(ri.size, 64);
	assert_true(ri.used > 32 && ri.used <= 64);
	assert_int_equal(sent, 4096);	/* each a new key: a full bucket */
	rrl_free(r);
	(void)state;
}

/* reload: the same size keeps the buckets, another starts empty, 0 = off */
static void
reload(void **state)
{
	struct conf_server cs = settings(2, 0);
	struct rrl_info ri;
	struct rrl *r = limiter(&cs);

	assert_true(rrl_enabled(r));
	spend(r, "192.0.2.1", 2, T0);
	cs.rate_limit_slip = 1;
	assert_int_equal(rrl_configure(r, &cs), 0);
	assert_int_equal(check(r, "192.0.2.1", T0), RRL_SLIP);
	rrl_get_info(r, &ri);
	assert_int_equal(ri.used, 1);

	cs.rate_limit_size = 1024;
	assert_int_equal(rrl_configure(r, &cs), 0);
	rrl_get_info(r, &ri);
	assert_int_equal(ri.used, 0);
	spend(r, "192.0.2.1", 2, T0);
	assert_int_equal(check(r, "192.0.2.1", T0), RRL_SLIP);

	cs.rate_limit = 0;
	assert_int_equal(rrl_configure(r, &cs), 0);
	assert_false(rrl_enabled(r));
	spend(r, "192.0.2.1", 100, T0);
	rrl_get_info(r, &ri);
	assert_int_equal(ri.size, 0);
	rrl_free(r);

	r = rrl_new(1);		/* new: off */
	assert_false(rrl_enabled(r));
	spend(r, "192.0.2.1", 100, T0);
	rrl_free(r);
	(void)state;
}

/* classify: the class from the reply's header */
static void
classify(void **state)
{
	uint8_t h[12] = { 0 };

	h[3] = 0;
	h[7] = 1;
	assert_int_equal(rrl_classify(h, sizeof(h)), RRL_POSITIVE);
	h[7] = 0;
	assert_int_equal(rrl_classify(h, sizeof(h)), RRL_NODATA);
	h[3] = 3;
	assert_int_equal(rrl_classify(h, sizeof(h)), RRL_NXDOMAIN);
	h[3] = 5;
	assert_int_equal(rrl_classify(h, sizeof(h)), RRL_ERROR);
	h[3] = 1;
	assert_int_equal(rrl_classify(h, sizeof(h)), RRL_ERROR);
	h[3] = 2;
	assert_int_equal(rrl_classify(h, sizeof(h)), RRL_ERROR);
	h[3] = 4;
	assert_int_equal(rrl_classify(h, sizeof(h)), RRL_ERROR);
	(void)state;
}

/* slip_reply: TC=1, the question and the OPT (RFC 6891 6.1.1), no more */
static void
slip_reply(void **state)
{
	/* id 0x1234, QR AA RD, NOERROR, 1 question, 1 answer, 1 additional */
	static const uint8_t reply[] = {
		0x12, 0x34, 0x85, 0x00, 0, 1, 0, 1, 0, 0, 0, 1,
		1, '2', 1, '0', 3, 'b', 'l', 'x', 0, 0, 1, 0, 1,
		0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 2,
		0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0,
	};
	uint8_t m[sizeof(reply)];
	size_t n;

	memcpy(m, reply, sizeof(m));
	n = rrl_slip_reply(m, sizeof(m));
	assert_int_equal(n, 12 + 9 + 4 + 11);
	assert_memory_equal(m, "\x12\x34\x87\x00\0\1\0\0\0\0\0\1", 12);
	assert_memory_equal(m + 12, reply + 12, 13);
	assert_memory_equal(m + 25, reply + sizeof(reply) - 11, 11);

	/* no OPT: the question alone */
	memcpy(m, reply, sizeof(m));
	n = rrl_slip_reply(m, sizeof(m) - 11);
	assert_int_equal(n, 12 + 9 + 4);
	assert_int_equal(m[11], 0);
	/* a last record that is no OPT of ours (options, other owner) */
	memcpy(m, reply, sizeof(m));
	m[sizeof(m) - 1] = 4;
	assert_int_equal(rrl_slip_reply(m, sizeof(m)), 12 + 9 + 4);
	memcpy(m, reply, sizeof(m));
	m[sizeof(m) - 11] = 0xc0;
	assert_int_equal(rrl_slip_reply(m, sizeof(m)), 12 + 9 + 4);
	/* an additional count of 0 says there is none */
	memcpy(m, reply, sizeof(m));
	m[11] = 0;
	assert_int_equal(rrl_slip_reply(m, sizeof(m)), 12 + 9 + 4);

	/* a question that does not read: the header (and the OPT) alone */
	memcpy(m, reply, sizeof(m));
	m[12] = 0xc0;
	assert_int_equal(rrl_slip_reply(m, sizeof(m)), 12 + 11);
	assert_int_equal(m[5], 0);
	assert_int_equal(m[2] & 0x02, 0x02);
	assert_memory_equal(m + 12, reply + sizeof(reply) - 11, 11);
	memcpy(m, reply, sizeof(m));
	assert_int_equal(rrl_slip_reply(m, 20), 12);	/* cut short */
	memcpy(m, reply, sizeof(m));
	m[5] = 0;					/* no question */
	assert_int_equal(rrl_slip_reply(m, sizeof(m)), 12 + 11);
	/* an OPT that would overlap the question is none */
	memcpy(m, reply, sizeof(m));
	assert_int_equal(rrl_slip_reply(m, 12 + 9 + 4 + 10), 12 + 9 + 4);
	assert_int_equal(rrl_slip_reply(m, 11), 0);
	(void)state;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rate),
		cmocka_unit_test(slip),
		cmocka_unit_test(prefix4),
		cmocka_unit_test(prefix6),
		cmocka_unit_test(class_zone),
		cmocka_unit_test(exempt),
		cmocka_unit_test(collision),
		cmocka_unit_test(table),
		cmocka_unit_test(reload),
		cmocka_unit_test(classify),
		cmocka_unit_test(slip_reply),
	};

	return cmocka_run_group_tests_name("rrl", tests, NULL, NULL);
}
