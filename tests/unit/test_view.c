/*
 * test_view.c -- what a view compiles from its config besides the lists:
 * the name index that binds result names (lists, upstreams, codes), the
 * upstream index each upstream source carries, the access control and
 * the TCP limits. Real files in a temporary directory, a real config
 * through conf_load().
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "acl.h"
#include "conf.h"
#include "err.h"
#include "list.h"
#include "view.h"
#include "list_testlib.h"

static char	 dir[] = "/tmp/test_view.XXXXXX";

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	write_file(dir, "a.ip4set", "127.0.0.2\n");
	write_file(dir, "b.ip4set", "127.0.0.3\n");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return remove_tree(dir);
}

/* build - the view of the config text (written to dir/rblmux.conf) */
static struct view *
build(const char *text)
{
	char path[300];
	struct conf *c = NULL;
	struct vconf *vc;
	struct view *v = NULL;

	write_file(dir, "rblmux.conf", text);
	snprintf(path, sizeof(path), "%s/rblmux.conf", dir);
	assert_int_equal(conf_load(path, conf_fail, NULL, &c), 0);
	vc = vconf_new(c);
	assert_non_null(vc);
	assert_int_equal(view_build(vc, NULL, NULL, NULL, &v), 0);
	vconf_unref(vc);
	return v;
}

/* source - the source called name of zone z */
static const struct vsource *
source(const struct vzone *z, const char *name)
{
	size_t i;

	for (i = 0; i < z->nsrc; i++)
		if (strcmp(z->src[i].name, name) == 0)
			return &z->src[i];
	fail_msg("no source %s in zone %s", name, z->name);
	return NULL;
}

/*
 * Each upstream source carries the index of its upstream in the config,
 * and of its code for a code-mapped result; lists stay lists.
 */
static void
test_upstream_index(void **state)
{
	char text[2048];
	struct view *v;
	const struct vzone *z;
	const struct vsource *s;

	(void)state;
	snprintf(text, sizeof(text),
	    "server:\n  directory: %s\n"
	    "upstream:\n  name: first\n  zone: first.example\n"
	    "upstream:\n  name: rats\n  zone: rats.example\n  weight: 2\n"
	    "  code: 127.0.0.36 dyna\n  code: 127.0.0.38 spam\n"
	    "upstream:\n  name: six\n  zone: six.example\n  family: ip6\n"
	    "  weight: 3\n"
	    "local-list:\n  name: a\n  file: a.ip4set\n"
	    "local-list:\n  name: b\n  file: b.ip4set\n"
	    "zone:\n  name: agg.test\n  answer: score\n"
	    "  result: spam\n  result: b\n  result: six\n  result: dyna\n"
	    "  result: first\n", dir);
	v = build(text);
	z = view_zone(v, "agg.test");
	assert_non_null(z);

	s = source(z, "spam");
	assert_int_equal(s->kind, VSRC_UPSTREAM);
	assert_int_equal(s->upstream, 1);
	assert_int_equal(s->code, 1);
	assert_int_equal(s->weight, 2);
	s = source(z, "dyna");
	assert_int_equal(s->kind, VSRC_UPSTREAM);
	assert_int_equal(s->upstream, 1);
	assert_int_equal(s->code, 0);
	s = source(z, "six");
	assert_int_equal(s->kind, VSRC_UPSTREAM);
	assert_int_equal(s->upstream, 2);
	assert_int_equal(s->code, -1);
	assert_int_equal(s->weight, 3);
	s = source(z, "first");
	assert_int_equal(s->upstream, 0);
	assert_int_equal(s->code, -1);
	s = source(z, "b");
	assert_int_equal(s->kind, VSRC_LIST);
	assert_int_equal(s->upstream, -1);
	assert_ptr_equal(s->vl, v->lists[1]);
	/* the ip6 upstream and the ip4 ones */
	assert_int_equal(z->families, VFAM_IP4 | VFAM_IP6);
	view_unref(v);
}

/*
 * Every name of a large config is found through the index, with what it
 * stands for; names that are not there, or differ in case, are not.
 */
static void
test_name_index(void **state)
{
	enum { NUP = 300 };
	size_t cap = 64 * NUP + 1024, len = 0, i;
	char *text = malloc(cap), name[32];
	const struct vname *n;
	struct view *v;

	(void)state;
	assert_non_null(text);
	len += (size_t)snprintf(text + len, cap - len, "server:\n  directory: "
	    "%s\nlocal-list:\n  name: zz\n  file: a.ip4set\n"
	    "local-list:\n  name: aa\n  file: b.ip4set\n", dir);
	/* written in an order that is not sorted */
	for (i = 0; i < NUP; i++)
		len += (size_t)snprintf(text + len, cap - len, "upstream:\n"
		    "  name: u%03zu\n  zone: u%zu.example\n",
		    (i * 7) % NUP, i);
	len += (size_t)snprintf(text + len, cap - len,
	    "upstream:\n  name: coded\n  zone: c.example\n"
	    "  code: 127.0.0.2 mid\n  code: 127.0.0.3 zzz\n"
	    "zone:\n  name: bl.test\n  serve: aa zz\n");
	assert_true(len < cap);
	v = build(text);
	free(text);
	assert_int_equal(v->nnames, 2 + NUP + 2);

	for (i = 0; i < NUP; i++) {
		snprintf(name, sizeof(name), "u%03zu", (i * 7) % NUP);
		n = view_name(v, name);
		assert_non_null(n);
		assert_string_equal(n->name, name);
		assert_int_equal(n->kind, VSRC_UPSTREAM);
		assert_int_equal(n->index, (int)i);
		assert_int_equal(n->code, -1);
	}
	n = view_name(v, "zz");
	assert_non_null(n);
	assert_int_equal(n->kind, VSRC_LIST);
	assert_int_equal(n->index, 0);
	n = view_name(v, "aa");
	assert_non_null(n);
	assert_int_equal(n->index, 1);
	n = view_name(v, "zzz");
	assert_non_null(n);
	assert_int_equal(n->kind, VSRC_UPSTREAM);
	assert_int_equal(n->index, NUP);
	assert_int_equal(n->code, 1);
	/* an upstream with codes is not a result itself */
	assert_null(view_name(v, "coded"));
	assert_null(view_name(v, "u300"));
	assert_null(view_name(v, "AA"));
	assert_null(view_name(v, ""));
	view_unref(v);
}

/* peer4 - an IPv4 client address */
static const struct sockaddr *
peer4(struct sockaddr_in *sin, const char *addr)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, addr, &sin->sin_addr), 1);
	return (const struct sockaddr *)sin;
}

/*
 * The access control and the TCP limits are the view's own: two views
 * of two configs answer each by its config.
 */
static void
test_acl_and_limits(void **state)
{
	char text[1024];
	struct sockaddr_in sin;
	struct view *v1, *v2;

	(void)state;
	snprintf(text, sizeof(text),
	    "server:\n  directory: %s\n"
	    "  access-control: 10.0.0.0/8 deny\n"
	    "  access-control: 192.0.2.0/24 allow\n"
	    "  tcp-max-clients: 7\n  tcp-idle-timeout: 3s\n"
	    "  tcp-message-timeout: 1500ms\n"
	    "local-list:\n  name: a\n  file: a.ip4set\n"
	    "zone:\n  name: bl.test\n  serve: a\n", dir);
	v1 = build(text);
	snprintf(text, sizeof(text),
	    "server:\n  directory: %s\n"
	    "local-list:\n  name: a\n  file: a.ip4set\n"
	    "zone:\n  name: bl.test\n  serve: a\n", dir);
	v2 = build(text);

	assert_non_null(v1->acl);
	assert_int_equal(acl_check(v1->acl, peer4(&sin, "10.1.2.3")), ACL_DENY);
	assert_int_equal(acl_check(v1->acl, peer4(&sin, "192.0.2.9")),
	    ACL_ALLOW);
	assert_int_equal(acl_check(v1->acl, peer4(&sin, "127.0.0.1")),
	    ACL_ALLOW);
	assert_int_equal(acl_check(v2->acl, peer4(&sin, "10.1.2.3")),
	    ACL_REFUSE);
	assert_int_equal(acl_check(v2->acl, peer4(&sin, "192.0.2.9")),
	    ACL_REFUSE);

	assert_int_equal(v1->tcp.max_clients, 7);
	assert_true(v1->tcp.idle_timeout == 3.);
	assert_true(v1->tcp.message_timeout == 1.5);
	assert_int_equal(v2->tcp.max_clients, 100);
	assert_true(v2->tcp.idle_timeout == 10.);
	assert_true(v2->tcp.message_timeout == 2.);
	view_unref(v1);
	view_unref(v2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_upstream_index),
		cmocka_unit_test(test_name_index),
		cmocka_unit_test(test_acl_and_limits),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
