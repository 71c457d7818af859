/*
 * test_list_walk.c -- list_walk() visits every entry of each format once,
 * in the documented order, with the values a lookup answers and
 * exclusions marked; packed tables (16384 blocks and more) alike.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>

#include "err.h"
#include "list.h"
#include "list_testlib.h"

#define MAXSEEN	64

/* What a walk saw, one line per entry. */
struct seen {
	char	 line[MAXSEEN][160];
	size_t	 n;
	size_t	 total;
	int	 stop_at;	/* return 7 at this entry, -1 never */
};

/* entry_text - an entry as "key/plen[!] A:TXT ..." */
static void
entry_text(const struct list_entry *e, char *buf, size_t cap)
{
	char a[INET6_ADDRSTRLEN];
	size_t i, n;

	if (e->family == AF_UNSPEC)
		n = (size_t)snprintf(buf, cap, "%s%.*s", e->wild ? "*." : "",
		    (int)e->name_len, e->name);
	else {
		inet_ntop(e->family, e->key, a, sizeof(a));
		n = (size_t)snprintf(buf, cap, "%s/%u", a, e->plen);
	}
	if (e->excluded)
		n += (size_t)snprintf(buf + n, cap - n, "!");
	for (i = 0; i < e->nvals && n < cap; i++) {
		uint32_t v = e->vals[i]->lv_a;

		n += (size_t)snprintf(buf + n, cap - n, " %u:%s",
		    (unsigned)(v & 0xff), e->vals[i]->lv_txt != NULL ?
		    e->vals[i]->lv_txt : "-");
	}
}

/* record - list_walk_fn keeping what it saw */
static int
record(void *arg, const struct list_entry *e)
{
	struct seen *s = arg;

	if (s->stop_at >= 0 && (size_t)s->stop_at == s->total)
		return 7;
	if (s->n < MAXSEEN)
		entry_text(e, s->line[s->n++], sizeof(s->line[0]));
	s->total++;
	return 0;
}

/* expect_walk - walk list text of type and compare with want[] */
static void
expect_walk(enum list_type type, const char *text, const char *const *want,
    size_t nwant)
{
	struct list *l = load_text(type, text);
	struct seen s = { .stop_at = -1 };
	size_t i;

	assert_int_equal(list_walk(l, record, &s), 0);
	for (i = 0; i < s.n; i++)
		print_message("  %s\n", s.line[i]);
	assert_int_equal(s.total, nwant);
	for (i = 0; i < nwant; i++)
		assert_string_equal(s.line[i], want[i]);
	list_free(l);
}

/* ip4set: blocks by granularity, /8 first; exclusion wins its key */
static void
test_ip4set(void **state)
{
	static const char *const want[] = {
		"10.0.0.0/8 2:-",
		"1.2.0.0/16 2:-",
		"1.2.3.0/24 3:-",
		"1.2.4.0/24 2:-",
		"1.2.5.0/24 2:-",
		"1.2.3.4/32 2:- 4:four",
		"1.2.3.5/32!",
		"198.51.100.9/32 2:-",
	};

	(void)state;
	expect_walk(LIST_IP4SET,
	    "198.51.100.9\n"
	    "1.2.3.4\n"
	    "1.2.3.4 :4:four\n"
	    "1.2.3.0/24 :3:\n"
	    "1.2.3.5\n"
	    "!1.2.3.5\n"
	    "1.2.0.0/16\n"
	    "10/8\n"
	    "1.2.4.0-1.2.5.255\n", want, sizeof(want) / sizeof(want[0]));
}

/* ip4trie: by prefix length, then key */
static void
test_ip4trie(void **state)
{
	static const char *const want[] = {
		"10.0.0.0/8 2:-",
		"192.0.0.0/20!",
		"192.0.2.64/26 5:-",
		"192.0.2.1/32 2:-",
	};

	(void)state;
	expect_walk(LIST_IP4TRIE,
	    "192.0.2.1\n"
	    "192.0.2.64/26 :5:\n"
	    "!192.0.0.0/20\n"
	    "10.0.0.0/8\n", want, sizeof(want) / sizeof(want[0]));
}

/* ip6trie: by prefix length, then key */
static void
test_ip6trie(void **state)
{
	static const char *const want[] = {
		"2001:db8::/32 2:-",
		"2001:db8:1::/48!",
		"2001:db8::2/128 6:six",
		"2001:db8::7/128 2:-",
	};

	(void)state;
	expect_walk(LIST_IP6TRIE,
	    "2001:db8::7\n"
	    "2001:db8::2 :6:six\n"
	    "!2001:db8:1::/48\n"
	    "2001:db8::/32\n", want, sizeof(want) / sizeof(want[0]));
}

/* dnset: exact names, then wildcards; ".x" is both */
static void
test_dnset(void **state)
{
	static const char *const want[] = {
		"example.com 2:-",
		"mail.example.com!",
		"example.net 3:-",
		"*.example.com 2:-",
		"*.example.net 3:-",
	};

	(void)state;
	expect_walk(LIST_DNSET,
	    "*.Example.COM\n"
	    "example.com\n"
	    ".example.net :3:\n"
	    "!mail.example.com\n", want, sizeof(want) / sizeof(want[0]));
}

/* a callback's non-zero return stops the walk and is returned */
static void
test_stop(void **state)
{
	struct list *l = load_text(LIST_IP4SET,
	    "192.0.2.1\n192.0.2.2\n192.0.2.3\n");
	struct seen s = { .stop_at = 1 };

	(void)state;
	assert_int_equal(list_walk(l, record, &s), 7);
	assert_int_equal(s.total, 1);
	assert_int_equal(list_walk(NULL, record, &s), 0);
	list_free(l);
}

/* What a walk over a big list collected. */
struct big {
	uint32_t	*keys;
	size_t		 n;
	unsigned	 plen_bad;
};

static int
collect_keys(void *arg, const struct list_entry *e)
{
	struct big *b = arg;

	if (e->plen != 32 || e->nvals != 1 || e->excluded)
		b->plen_bad++;
	b->keys[b->n++] = (uint32_t)e->key[0] << 24 | e->key[1] << 16 |
	    e->key[2] << 8 | e->key[3];
	return 0;
}

/* packed /32 tables (an index on the top 16 bits) walk in key order */
static void
test_packed(void **state)
{
	const size_t n = 40000;
	char *text = malloc(n * 20);
	struct big b = { .keys = calloc(n, sizeof(uint32_t)) };
	struct list *l;
	size_t i, len = 0;

	(void)state;
	assert_non_null(text);
	assert_non_null(b.keys);
	/* spread over many /16s, written out of order */
	for (i = 0; i < n; i++) {
		uint32_t k = (uint32_t)((i * 7919) % n);

		len += (size_t)sprintf(text + len, "10.%u.%u.%u\n",
		    (unsigned)(k / 1000), (unsigned)(k % 1000 / 4),
		    (unsigned)(k % 4 + 1));
	}
	l = load_text(LIST_IP4SET, text);
	assert_int_equal(list_walk(l, collect_keys, &b), 0);
	assert_int_equal(b.n, n);
	assert_int_equal(b.plen_bad, 0);
	for (i = 1; i < n; i++)
		assert_true(b.keys[i - 1] < b.keys[i]);
	for (i = 0; i < n; i += 997)
		assert_int_equal(list_lookup_ip4(l, b.keys[i], NULL, 0), 1);
	list_free(l);
	free(text);
	free(b.keys);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip4set),
		cmocka_unit_test(test_ip4trie),
		cmocka_unit_test(test_ip6trie),
		cmocka_unit_test(test_dnset),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_packed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
