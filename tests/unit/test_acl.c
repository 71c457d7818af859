/*
 * test_acl.c -- most specific access-control rule wins; loopback default;
 * out of memory at any allocation fails cleanly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "acl.h"
#include "err.h"
#include "failalloc.h"
#include "peer_testlib.h"

/* rule - an access-control line */
static struct conf_acl
rule(const char *text, unsigned plen, enum conf_acl_action act)
{
	struct conf_acl r;

	memset(&r, 0, sizeof(r));
	if (strchr(text, ':') != NULL) {
		r.prefix.family = AF_INET6;
		inet_pton(AF_INET6, text, r.prefix.addr);
	} else {
		r.prefix.family = AF_INET;
		inet_pton(AF_INET, text, r.prefix.addr);
	}
	r.prefix.plen = (uint8_t)plen;
	r.action = act;
	return r;
}

struct acase {
	const char		*peer;
	enum conf_acl_action	 want;
};

static void
check(const struct acl *a, const struct acase *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct sockaddr_storage ss = peer(c[i].peer);
		enum conf_acl_action got = acl_check(a,
		    (struct sockaddr *)&ss);

		if (got != c[i].want)
			fail_msg("%s: action %d, want %d", c[i].peer, got,
			    c[i].want);
	}
}

static void
defaults(void **state)
{
	static const struct acase c[] = {
		{ "127.0.0.1", ACL_ALLOW }, { "127.9.9.9", ACL_ALLOW },
		{ "::1", ACL_ALLOW }, { "::ffff:127.0.0.1", ACL_ALLOW },
		{ "192.0.2.1", ACL_REFUSE }, { "2001:db8::1", ACL_REFUSE },
		{ "::2", ACL_REFUSE },
	};
	struct acl *a = NULL;

	(void)state;
	assert_int_equal(acl_new(NULL, 0, &a), 0);
	check(a, c, sizeof(c) / sizeof(c[0]));
	acl_free(a);
}

#define NSAMPLE	7

/* sample - the rules most_specific and out_of_memory use */
static void
sample(struct conf_acl *r)
{
	r[0] = rule("192.0.2.0", 24, ACL_ALLOW);
	r[1] = rule("192.0.2.128", 25, ACL_DENY);
	r[2] = rule("192.0.2.130", 32, ACL_REFUSE);
	r[3] = rule("127.0.0.0", 8, ACL_REFUSE);	/* overrides default */
	r[4] = rule("2001:db8::", 32, ACL_ALLOW);
	r[5] = rule("2001:db8:1::", 48, ACL_DENY);
	r[6] = rule("198.51.100.0", 23, ACL_ALLOW);
}

static void
most_specific(void **state)
{
	struct conf_acl r[NSAMPLE];
	static const struct acase c[] = {
		{ "192.0.2.1", ACL_ALLOW }, { "192.0.2.200", ACL_DENY },
		{ "192.0.2.130", ACL_REFUSE }, { "192.0.3.1", ACL_REFUSE },
		{ "127.0.0.1", ACL_REFUSE }, { "::1", ACL_ALLOW },
		{ "2001:db8:2::1", ACL_ALLOW }, { "2001:db8:1::5", ACL_DENY },
		{ "::ffff:192.0.2.200", ACL_DENY },
		{ "198.51.101.255", ACL_ALLOW }, { "198.51.102.0", ACL_REFUSE },
	};
	struct acl *a = NULL;

	(void)state;
	sample(r);
	assert_int_equal(acl_new(r, NSAMPLE, &a), 0);
	check(a, c, sizeof(c) / sizeof(c[0]));
	acl_free(a);
}

/*
 * out_of_memory - each allocation of acl_new() fails once in turn: it
 * returns RBLMUX_ENOMEM with *out untouched (ASan: nothing leaks), until
 * it needs no more than were let through and works.
 */
static void
out_of_memory(void **state)
{
	static const struct acase c[] = {
		{ "192.0.2.200", ACL_DENY }, { "127.0.0.1", ACL_REFUSE },
		{ "::1", ACL_ALLOW },
	};
	struct conf_acl r[NSAMPLE];
	struct acl *a;
	unsigned long n, calls = 0;
	int rc = -1;

	(void)state;
	sample(r);
	for (n = 1; n < 100; n++) {
		a = (struct acl *)&a;
		failalloc_arm(n, 0);
		rc = acl_new(r, NSAMPLE, &a);
		calls = failalloc_disarm();
		if (rc == 0)
			break;
		assert_int_equal(rc, RBLMUX_ENOMEM);
		assert_true(a == (struct acl *)&a);
	}
	assert_int_equal(rc, 0);
	assert_true(calls < n);
	if (n < 3)
		fail_msg("acl_new made %lu allocations, at least 2 expected",
		    n - 1);
	check(a, c, sizeof(c) / sizeof(c[0]));
	acl_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),
		cmocka_unit_test(most_specific),
		cmocka_unit_test(out_of_memory),
	};

	return cmocka_run_group_tests_name("acl", tests, NULL, NULL);
}
