/*
 * test_acl.c -- most specific access-control rule wins; loopback default.
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

/* peer - a sockaddr for a text address */
static struct sockaddr_storage
peer(const char *text)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, text, &s4->sin_addr), 1);
	}
	return ss;
}

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
	struct acl *a = acl_new(NULL, 0);

	(void)state;
	check(a, c, sizeof(c) / sizeof(c[0]));
	acl_free(a);
}

static void
most_specific(void **state)
{
	struct conf_acl r[] = {
		rule("192.0.2.0", 24, ACL_ALLOW),
		rule("192.0.2.128", 25, ACL_DENY),
		rule("192.0.2.130", 32, ACL_REFUSE),
		rule("127.0.0.0", 8, ACL_REFUSE),	/* overrides default */
		rule("2001:db8::", 32, ACL_ALLOW),
		rule("2001:db8:1::", 48, ACL_DENY),
		rule("198.51.100.0", 23, ACL_ALLOW),
	};
	static const struct acase c[] = {
		{ "192.0.2.1", ACL_ALLOW }, { "192.0.2.200", ACL_DENY },
		{ "192.0.2.130", ACL_REFUSE }, { "192.0.3.1", ACL_REFUSE },
		{ "127.0.0.1", ACL_REFUSE }, { "::1", ACL_ALLOW },
		{ "2001:db8:2::1", ACL_ALLOW }, { "2001:db8:1::5", ACL_DENY },
		{ "::ffff:192.0.2.200", ACL_DENY },
		{ "198.51.101.255", ACL_ALLOW }, { "198.51.102.0", ACL_REFUSE },
	};
	struct acl *a = acl_new(r, sizeof(r) / sizeof(r[0]));

	(void)state;
	check(a, c, sizeof(c) / sizeof(c[0]));
	acl_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),
		cmocka_unit_test(most_specific),
	};

	return cmocka_run_group_tests_name("acl", tests, NULL, NULL);
}
