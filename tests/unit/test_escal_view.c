/*
 * test_escal_view.c -- escalation rules in a view built from a real
 * config and real list files: file counts, the rule's TTL, dynamic
 * entries routed by list name, upstream listings by code, the live
 * counts carried to the next view, and the walk for publishing (the
 * TXT as a template that gives itself back).
 */
#include <arpa/inet.h>
#include <sys/socket.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf.h"
#include "escal.h"
#include "list.h"
#include "view.h"
#include "list_testlib.h"

#define T0	1764590400

static char	 dir[] = "/tmp/test_escal_view.XXXXXX";

static const char *conf_text =
    "local-list:\n name: a\n file: a.ip4set\n"
    "local-list:\n name: b\n file: b.ip4set\n"
    "upstream:\n name: up\n zone: up.test\n"
    "    code: 127.0.0.4 spam\n code: 127.0.0.5 other\n"
    "escalation:\n name: r24\n source: a spam\n threshold: 2\n"
    "    txt: \"$count in $prefix costs $$5\"\n"
    "zone:\n name: all.test\n answer: bitmask\n bit: 2 r24\n bit: 4 b\n";

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	write_file(dir, "a.ip4set", "$TTL 600\n203.0.113.7\n203.0.113.9\n"
	    "!203.0.113.11\n198.51.100.1\n");
	write_file(dir, "b.ip4set", "192.0.2.1\n192.0.2.2\n");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return remove_tree(dir);
}

static struct view *
build(void)
{
	char path[300], text[2048];
	struct conf *c = NULL;
	struct vconf *vc;
	struct view *v = NULL;

	snprintf(text, sizeof(text), "server:\n directory: %s\n%s", dir,
	    conf_text);
	write_file(dir, "rblmux.conf", text);
	snprintf(path, sizeof(path), "%s/rblmux.conf", dir);
	assert_int_equal(conf_load(path, conf_fail, NULL, &c), 0);
	vc = vconf_new(c);
	assert_non_null(vc);
	assert_int_equal(view_build(vc, NULL, NULL, NULL, &v), 0);
	vconf_unref(vc);
	return v;
}

static bool
listed(const struct view *v, const char *text, uint32_t *count)
{
	struct escal_hit h;
	uint8_t b[4];
	bool l;

	assert_int_equal(inet_pton(AF_INET, text, b), 1);
	l = escal_view_lookup(v, 0, AF_INET, b, T0, &h);
	if (count != NULL)
		*count = h.count;
	return l;
}

static void
entry(struct list_entry *e, const char *text)
{
	memset(e, 0, sizeof(*e));
	e->family = AF_INET;
	e->plen = 32;
	assert_int_equal(inet_pton(AF_INET, text, e->key), 1);
}

static void
files_and_ttl(void **state)
{
	struct view *v = build();
	uint32_t n;

	(void)state;
	assert_int_equal(v->nescal, 1);
	assert_int_equal(v->escal[0].ttl, 600);	/* the list's $TTL */
	assert_true(listed(v, "203.0.113.99", &n));
	assert_int_equal(n, 2);
	assert_false(listed(v, "203.0.113.11", NULL));	/* excluded */
	assert_false(listed(v, "198.51.100.2", NULL));
	/* list b is no source of the rule */
	assert_false(listed(v, "192.0.2.3", NULL));
	/* the zone's source is bound to the rule */
	assert_int_equal(v->zones[0].src[0].kind, VSRC_ESCALATION);
	assert_int_equal(v->zones[0].src[0].escal, 0);
	assert_int_equal(escal_view_index(v, "r24"), 0);
	assert_int_equal(escal_view_index(v, "a"), -1);
	view_unref(v);
}

static void
dynamic_and_carry(void **state)
{
	struct view *v = build(), *v2;
	struct list_entry e;

	(void)state;
	assert_int_equal(escal_view_feed(v, NULL, T0), 0);
	entry(&e, "198.51.100.2");
	assert_int_equal(escal_view_dyn(v, "b", &e, true), 0);
	assert_false(listed(v, "198.51.100.3", NULL));	/* b: no source */
	assert_int_equal(escal_view_dyn(v, "a", &e, true), 0);
	assert_true(listed(v, "198.51.100.3", NULL));
	/* the next view of the same rule counts it; the old one no more */
	v2 = build();
	assert_int_equal(escal_view_carry(v2, v), 0);
	assert_true(listed(v2, "198.51.100.3", NULL));
	assert_false(listed(v, "198.51.100.3", NULL));
	assert_true(v2->escal[0].live);
	assert_int_equal(escal_view_dyn(v2, "a", &e, false), 0);
	assert_false(listed(v2, "198.51.100.3", NULL));
	view_unref(v);
	view_unref(v2);
}

static void
upstream_codes(void **state)
{
	struct view *v = build();
	const struct conf_upstream *cu = &v->conf->upstreams[0];
	uint32_t other = 0x7f000005U, spam = 0x7f000004U;
	uint8_t b[4] = { 198, 51, 100, 9 };

	(void)state;
	/* a code of another result than the rule's source counts nothing */
	assert_int_equal(escal_view_seen(v, cu, &other, 1, AF_INET, b, T0),
	    0);
	assert_false(listed(v, "198.51.100.3", NULL));
	assert_int_equal(escal_view_seen(v, cu, &spam, 1, AF_INET, b, T0), 0);
	assert_true(listed(v, "198.51.100.3", NULL));
	view_unref(v);
}

/*
 * A listing of an upstream is told only when a rule counts its results:
 * a cache hit queues no sighting otherwise.
 */
static void
counts_upstream(void **state)
{
	const char *saved = conf_text;
	struct view *v = build(), *v2, *cur;

	(void)state;
	assert_true(escal_view_counts(v, &v->conf->upstreams[0]));
	cur = v;
	assert_true(escal_view_listed_wants(&cur, &v->conf->upstreams[0]));
	cur = NULL;
	assert_false(escal_view_listed_wants(&cur, &v->conf->upstreams[0]));
	/* the same upstream, the rule counting a local list alone */
	conf_text = "local-list:\n name: a\n file: a.ip4set\n"
	    "upstream:\n name: up\n zone: up.test\n"
	    "escalation:\n name: r24\n source: a\n threshold: 2\n"
	    "zone:\n name: all.test\n answer: bitmask\n bit: 2 r24\n"
	    "    bit: 4 up\n";
	v2 = build();
	conf_text = saved;
	assert_false(escal_view_counts(v2, &v2->conf->upstreams[0]));
	cur = v2;
	assert_false(escal_view_listed_wants(&cur, &v2->conf->upstreams[0]));
	/* asked under another config: found by name */
	assert_false(escal_view_counts(v2, &v->conf->upstreams[0]));
	assert_true(escal_view_counts(v, &v2->conf->upstreams[0]));
	view_unref(v);
	view_unref(v2);
}

struct walked {
	char	 net[8][80];
	char	 txt[8][300];
	uint32_t a[8], ttl[8];
	size_t	 n;
};

static int
walk_cb(void *arg, const struct list_entry *e, const struct escal_hit *h)
{
	struct walked *w = arg;
	char t[64];
	size_t len;

	assert_true(w->n < 8);
	assert_non_null(inet_ntop(e->family, e->key, t, sizeof(t)));
	snprintf(w->net[w->n], sizeof(w->net[0]), "%s/%u", t, e->plen);
	assert_int_equal(e->nvals, 1);
	w->a[w->n] = e->vals[0]->lv_a;
	w->ttl[w->n] = e->vals[0]->lv_ttl;
	len = list_txt_expand(e->vals[0]->lv_txt, "subject", w->txt[w->n],
	    sizeof(w->txt[0]) - 1);
	w->txt[w->n][len] = '\0';
	assert_int_equal(h->count, 2);
	w->n++;
	return 0;
}

static void
walk_for_publishing(void **state)
{
	struct view *v = build();
	struct walked w;

	(void)state;
	memset(&w, 0, sizeof(w));
	assert_int_equal(escal_view_walk(v, 0, T0, walk_cb, &w), 0);
	assert_int_equal(w.n, 1);
	assert_string_equal(w.net[0], "203.0.113.0/24");
	assert_int_equal(w.a[0], 0x7f000002U);
	assert_int_equal(w.ttl[0], 600);
	/* the TXT comes back as the rule wrote it, "$" and all */
	assert_string_equal(w.txt[0], "2 in 203.0.113.0/24 costs $5");
	assert_int_equal(escal_view_walk(v, 7, T0, walk_cb, &w), 0);
	view_unref(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(files_and_ttl),
		cmocka_unit_test(dynamic_and_carry),
		cmocka_unit_test(upstream_codes),
		cmocka_unit_test(counts_upstream),
		cmocka_unit_test(walk_for_publishing),
	};

	return cmocka_run_group_tests_name("escal_view", tests, setup,
	    teardown);
}
