/*
 * test_dyn.c -- dynamic list entries on a real LMDB in a temporary
 * directory: add, refresh, delete, expiry with time passed in, longest
 * prefix, IPv6, names and wildcards, reopening (durability), a store
 * that cannot be opened, bad input that changes nothing, the change
 * hooks, and the answer path over a view bound to the store (an entry
 * deleted between the decision and the written answer).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <ldns/ldns.h>
#include <lmdb.h>

#include "answer.h"
#include "conf.h"
#include "dnsmsg.h"
#include "dyn.h"
#include "err.h"
#include "view.h"

#include "query_testlib.h"

#define T0	((time_t)1700000000)
#define A(s)	(ntohl(inet_addr(s)))

static void
rm_rf(const char *d)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", d);
	assert_int_equal(system(cmd), 0);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_dyn.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	rm_rf(dir);
	return 0;
}

static struct dyn *
open_store(void)
{
	struct dyn *d = NULL;
	size_t bad = 99;

	assert_int_equal(dyn_open(dir, &d, &bad), 0);
	assert_non_null(d);
	assert_null(dyn_error(d));
	assert_int_equal(bad, 0);
	return d;
}

/* add - dyn_add() of one entry; its return code */
static int
add(struct dyn *d, const char *list, enum list_type t, const char *entry,
    uint32_t ttl, const char *reason, uint32_t value, time_t now)
{
	struct dyn_req r = { list, t, entry, ttl, reason, value };
	char err[256];

	err[0] = '\0';
	return dyn_add(d, &r, now, err, sizeof(err));
}

static const struct list_value *
get4(struct dyn *d, const char *list, const char *addr, time_t now)
{
	const struct list_value *v = NULL;
	int n = dyn_lookup_ip4(dyn_list_find(d, list), A(addr), now, &v, 1);

	assert_true(n == 0 || n == 1);
	return n == 1 ? v : NULL;
}

static const struct list_value *
get6(struct dyn *d, const char *list, const char *addr, time_t now)
{
	const struct list_value *v = NULL;
	uint8_t a[16];
	int n;

	assert_int_equal(inet_pton(AF_INET6, addr, a), 1);
	n = dyn_lookup_ip6(dyn_list_find(d, list), a, now, &v, 1);
	return n == 1 ? v : NULL;
}

static const struct list_value *
getn(struct dyn *d, const char *list, const char *name, time_t now,
    size_t *off)
{
	const struct list_value *v = NULL;
	int n = dyn_lookup_name(dyn_list_find(d, list), name, strlen(name), now,
	    &v, 1, off);

	return n == 1 ? v : NULL;
}

/* prefixes: the longest live one answers, at any length */
static void
prefix_longest(void **state)
{
	struct dyn *d = open_store();
	const struct list_value *v;

	(void)state;
	assert_int_equal(add(d, "local", LIST_IP4SET, "192.0.0.0/16", 100,
	    "net $", 0x7f000003U, T0), 1);
	assert_int_equal(add(d, "local", LIST_IP4SET, "192.0.2.0/24", 50,
	    NULL, 0x7f000004U, T0), 1);
	assert_int_equal(add(d, "local", LIST_IP4SET, "192.0.2.7", 10,
	    "host", 0, T0), 1);
	v = get4(d, "local", "192.0.2.7", T0);
	assert_non_null(v);
	assert_int_equal(v->lv_a, 0x7f000002U);
	assert_string_equal(v->lv_txt, "host");
	assert_int_equal(get4(d, "local", "192.0.2.8", T0)->lv_a, 0x7f000004U);
	assert_null(get4(d, "local", "192.0.2.8", T0)->lv_txt);
	assert_int_equal(get4(d, "local", "192.0.9.9", T0)->lv_a, 0x7f000003U);
	assert_string_equal(get4(d, "local", "192.0.9.9", T0)->lv_txt,
	    "net $");
	assert_null(get4(d, "local", "198.51.100.1", T0));
	assert_null(get4(d, "other", "192.0.2.7", T0));
	/* the /32 expired: the /24 answers, then the /16 */
	assert_int_equal(get4(d, "local", "192.0.2.7", T0 + 10)->lv_a,
	    0x7f000004U);
	assert_int_equal(get4(d, "local", "192.0.2.7", T0 + 60)->lv_a,
	    0x7f000003U);
	assert_null(get4(d, "local", "192.0.2.7", T0 + 100));
	/* time 0: every entry still indexed */
	assert_int_equal(get4(d, "local", "192.0.2.7", 0)->lv_a, 0x7f000002U);
	/* counting only */
	assert_int_equal(dyn_lookup_ip4(dyn_list_find(d, "local"),
	    A("192.0.2.7"), T0, NULL, 0), 1);
	assert_int_equal(dyn_list_find(d, "local")->n, 3);
	dyn_close(d);
}

/* re-adding refreshes: one entry, new expiry, reason and value updated */
static void
refresh(void **state)
{
	struct dyn *d = open_store();
	const struct dyn_info *di;
	const struct list_value *v;

	(void)state;
	assert_int_equal(add(d, "local", LIST_IP4TRIE, "203.0.113.7", 10,
	    "first", 0, T0), 1);
	assert_int_equal(add(d, "local", LIST_IP4TRIE, "203.0.113.7/32", 20,
	    NULL, 0, T0 + 5), 2);
	v = get4(d, "local", "203.0.113.7", T0 + 15);
	assert_non_null(v);
	assert_string_equal(v->lv_txt, "first");	/* kept */
	di = dyn_value_info(v);
	assert_int_equal(di->added, T0);
	assert_int_equal(di->refreshed, T0 + 5);
	assert_int_equal(di->expires, T0 + 25);
	assert_string_equal(di->text, "203.0.113.7");
	assert_string_equal(di->list, "local");
	assert_int_equal(add(d, "local", LIST_IP4TRIE, "203.0.113.7", DYN_NEVER,
	    "second", 0x7f000005U, T0 + 6), 2);
	v = get4(d, "local", "203.0.113.7", T0 + 1000000);
	assert_non_null(v);
	assert_string_equal(v->lv_txt, "second");
	assert_int_equal(v->lv_a, 0x7f000005U);
	assert_int_equal(dyn_value_info(v)->expires, 0);
	assert_int_equal(dyn_list_find(d, "local")->n, 1);
	/* the same address in another list is another entry */
	assert_int_equal(add(d, "other", LIST_IP4TRIE, "203.0.113.7", 10,
	    NULL, 0, T0), 1);
	assert_int_equal(dyn_list_find(d, "local")->n, 1);
	dyn_close(d);
}

/* delete: gone at once; deleting what is absent says so */
static void
del(void **state)
{
	struct dyn *d = open_store();
	char err[256];

	(void)state;
	assert_int_equal(add(d, "local", LIST_IP4SET, "192.0.2.0/24", 10, NULL,
	    0, T0), 1);
	assert_int_equal(add(d, "local", LIST_IP4SET, "192.0.2.1", 10, NULL,
	    0, T0), 1);
	assert_int_equal(dyn_del(d, "local", LIST_IP4SET, "192.0.2.1", err,
	    sizeof(err)), 0);
	assert_int_equal(get4(d, "local", "192.0.2.1", T0)->lv_a,
	    0x7f000002U);	/* the /24 */
	assert_int_equal(dyn_del(d, "local", LIST_IP4SET, "192.0.2.1", err,
	    sizeof(err)), RBLMUX_ENOENT);
	assert_non_null(strstr(err, "no dynamic entry 192.0.2.1"));
	assert_int_equal(dyn_del(d, "nolist", LIST_IP4SET, "192.0.2.1", err,
	    sizeof(err)), RBLMUX_ENOENT);
	assert_int_equal(dyn_del(d, "local", LIST_IP4SET, "192.0.2.0/24", err,
	    sizeof(err)), 0);
	assert_null(get4(d, "local", "192.0.2.1", T0));
	assert_int_equal(dyn_list_find(d, "local")->n, 0);
	assert_int_equal(dyn_list_find(d, "local")->lens4, 0);
	dyn_close(d);
	/* and gone from the file */
	d = open_store();
	assert_null(dyn_list_find(d, "local"));
	dyn_close(d);
}

/* expiry: lookups stop at the expiry; dyn_expire() removes, bounded */
static void
expiry(void **state)
{
	struct dyn *d = open_store();
	char e[32];
	int i;

	(void)state;
	assert_int_equal(add(d, "local", LIST_IP4SET, "203.0.113.1", 10, NULL,
	    0, T0), 1);
	assert_non_null(get4(d, "local", "203.0.113.1", T0 + 9));
	assert_null(get4(d, "local", "203.0.113.1", T0 + 10));
	assert_int_equal(dyn_expire(d, T0 + 9, 100), 0);
	assert_int_equal(dyn_list_find(d, "local")->n, 1);
	assert_int_equal(dyn_expire(d, T0 + 10, 100), 1);
	assert_int_equal(dyn_list_find(d, "local")->n, 0);
	/* 300 entries, expiring one a second; one never */
	for (i = 0; i < 300; i++) {
		snprintf(e, sizeof(e), "10.0.%d.%d", i / 256, i % 256);
		assert_int_equal(add(d, "local", LIST_IP4SET, e,
		    (uint32_t)(300 - i), NULL, 0, T0), 1);
	}
	assert_int_equal(add(d, "local", LIST_IP4SET, "10.9.9.9", DYN_NEVER,
	    NULL, 0, T0), 1);
	/* the earliest first: at T0+100 those with ttl <= 100 */
	assert_int_equal(dyn_expire(d, T0 + 100, 1000), 100);
	assert_null(get4(d, "local", "10.0.0.250", 0));	/* ttl 50 */
	assert_non_null(get4(d, "local", "10.0.0.199", 0));	/* ttl 101 */
	/* bounded batches */
	assert_int_equal(dyn_expire(d, T0 + 1000, 150), 150);
	assert_int_equal(dyn_expire(d, T0 + 1000, 1000), 50);
	assert_int_equal(dyn_expire(d, T0 + 1000, 1000), 0);
	assert_int_equal(dyn_list_find(d, "local")->n, 1);
	dyn_close(d);
	d = open_store();
	assert_int_equal(dyn_list_find(d, "local")->n, 1);
	assert_non_null(get4(d, "local", "10.9.9.9", T0 + 100000000));
	dyn_close(d);
}

/* IPv6 addresses and prefixes, longest first */
static void
ipv6(void **state)
{
	struct dyn *d = open_store();
	const struct list_value *v;

	(void)state;
	assert_int_equal(add(d, "six", LIST_IP6TRIE, "2001:db8::/32", 10,
	    "wide", 0, T0), 1);
	assert_int_equal(add(d, "six", LIST_IP6TRIE, "2001:db8:1:2::/63", 10,
	    "narrow", 0, T0), 1);
	assert_int_equal(add(d, "six", LIST_IP6TRIE, "2001:DB8:1:2::7", 10,
	    "host", 0, T0), 1);
	assert_string_equal(get6(d, "six", "2001:db8:1:2::7", T0)->lv_txt,
	    "host");
	assert_string_equal(get6(d, "six", "2001:db8:1:3::1", T0)->lv_txt,
	    "narrow");
	assert_string_equal(get6(d, "six", "2001:db8:1:4::1", T0)->lv_txt,
	    "wide");
	assert_null(get6(d, "six", "2001:db9::1", T0));
	v = get6(d, "six", "2001:db8:1:2::7", T0);
	assert_string_equal(dyn_value_info(v)->text, "2001:db8:1:2::7");
	assert_int_equal(add(d, "six", LIST_IP6TRIE, "2001:db8:1:2::/64", 10,
	    NULL, 0, T0), 1);
	assert_int_equal(add(d, "six", LIST_IP6TRIE, "2001:db8:1:2::/128", 10,
	    NULL, 0, T0), 1);
	assert_int_equal(add(d, "six", LIST_IP6TRIE, "::/0", 10, NULL, 0, T0),
	    RBLMUX_EPARSE);
	dyn_close(d);
}

/* names: exact first, else the nearest enclosing wildcard */
static void
names(void **state)
{
	struct dyn *d = open_store();
	const struct list_value *v;
	char err[128];
	size_t off;

	(void)state;
	assert_int_equal(add(d, "dom", LIST_DNSET, "*.example.org", 10,
	    "wide $", 0, T0), 1);
	assert_int_equal(add(d, "dom", LIST_DNSET, "*.b.example.org", 10,
	    "b $", 0, T0), 1);
	assert_int_equal(add(d, "dom", LIST_DNSET, "Mail.Example.ORG.", 10,
	    "exact", 0, T0), 1);
	v = getn(d, "dom", "mail.example.org", T0, &off);
	assert_string_equal(v->lv_txt, "exact");
	assert_int_equal(off, 0);
	v = getn(d, "dom", "x.mail.example.org", T0, &off);
	assert_string_equal(v->lv_txt, "wide $");
	assert_int_equal(off, strlen("x.mail."));
	v = getn(d, "dom", "a.b.example.org", T0, &off);
	assert_string_equal(v->lv_txt, "b $");
	assert_int_equal(off, 2);
	/* a wildcard lists the names below it, not itself */
	assert_null(getn(d, "dom", "example.org", T0, &off));
	assert_string_equal(getn(d, "dom", "b.example.org", T0,
	    &off)->lv_txt, "wide $");
	assert_null(getn(d, "dom", "example.com", T0, &off));
	assert_int_equal(dyn_value_info(getn(d, "dom", "q.example.org", T0,
	    &off))->text[0], '*');
	/* the names with entries below them: empty non-terminals */
	assert_true(dyn_has_below(dyn_list_find(d, "dom"), "example.org", 11));
	assert_true(dyn_has_below(dyn_list_find(d, "dom"), "org", 3));
	assert_true(dyn_has_below(dyn_list_find(d, "dom"), "b.example.org",
	    13));
	assert_false(dyn_has_below(dyn_list_find(d, "dom"),
	    "mail.example.org", 16));
	assert_false(dyn_has_below(dyn_list_find(d, "dom"), "example.com",
	    11));
	assert_int_equal(dyn_del(d, "dom", LIST_DNSET, "*.b.example.org", err,
	    sizeof(err)), 0);
	assert_false(dyn_has_below(dyn_list_find(d, "dom"), "b.example.org",
	    13));
	assert_int_equal(dyn_del(d, "dom", LIST_DNSET, "*.example.org", err,
	    sizeof(err)), 0);
	assert_true(dyn_has_below(dyn_list_find(d, "dom"), "example.org", 11));
	assert_int_equal(dyn_del(d, "dom", LIST_DNSET, "mail.example.org",
	    err, sizeof(err)), 0);
	assert_false(dyn_has_below(dyn_list_find(d, "dom"), "example.org",
	    11));
	assert_false(dyn_has_below(dyn_list_find(d, "dom"), "org", 3));
	assert_int_equal(add(d, "dom", LIST_DNSET, "bad name", 10, NULL, 0,
	    T0), RBLMUX_EPARSE);
	assert_int_equal(add(d, "dom", LIST_DNSET, "*.", 10, NULL, 0, T0),
	    RBLMUX_EPARSE);
	dyn_close(d);
}

/* what a close and a reopen find: every entry as it was added */
static void
durable(void **state)
{
	struct dyn *d = open_store();
	const struct list_value *v;
	size_t off;

	(void)state;
	assert_int_equal(add(d, "local", LIST_IP4SET, "192.0.2.7", 100,
	    "kept \"as\" is $", 0x7f000009U, T0), 1);
	assert_int_equal(add(d, "local", LIST_IP4SET, "192.0.2.7", 200,
	    NULL, 0, T0 + 3), 2);
	assert_int_equal(add(d, "six", LIST_IP6TRIE, "2001:db8::/48",
	    DYN_NEVER, NULL, 0, T0), 1);
	assert_int_equal(add(d, "dom", LIST_DNSET, "*.example.net", 100,
	    "w", 0, T0), 1);
	assert_int_equal(add(d, "other", LIST_IP4SET, "192.0.2.7", 100,
	    NULL, 0, T0), 1);
	dyn_close(d);
	d = open_store();
	v = get4(d, "local", "192.0.2.7", T0 + 150);
	assert_non_null(v);
	assert_string_equal(v->lv_txt, "kept \"as\" is $");
	assert_int_equal(v->lv_a, 0x7f000009U);
	assert_int_equal(dyn_value_info(v)->added, T0);
	assert_int_equal(dyn_value_info(v)->refreshed, T0 + 3);
	assert_int_equal(dyn_value_info(v)->expires, T0 + 203);
	assert_non_null(get6(d, "six", "2001:db8:0:1::1", T0 + 999999));
	assert_non_null(getn(d, "dom", "a.example.net", T0, &off));
	assert_non_null(get4(d, "other", "192.0.2.7", T0));
	assert_int_equal(dyn_list_find(d, "local")->n, 1);
	/* the expiry heap came back too */
	assert_int_equal(dyn_expire(d, T0 + 150, 100), 2);
	assert_int_equal(dyn_expire(d, T0 + 250, 100), 1);
	dyn_close(d);
}

/* a store LMDB refuses, or a state-dir that cannot be made */
static void
unusable(void **state)
{
	struct dyn *d = NULL;
	char path[128], err[256];
	struct dyn_req r = { "local", LIST_IP4SET, "192.0.2.1", 10, NULL, 0 };
	FILE *f;
	int i;

	(void)state;
	snprintf(path, sizeof(path), "%s/" DYN_FILE, dir);
	f = fopen(path, "w");
	assert_non_null(f);
	for (i = 0; i < 64 * 1024; i++)
		fputc("garbage\n"[i % 8], f);
	fclose(f);
	assert_int_equal(dyn_open(dir, &d, NULL), 0);
	assert_non_null(d);
	assert_non_null(dyn_error(d));
	assert_non_null(strstr(dyn_error(d), DYN_FILE));
	assert_true(dyn_add(d, &r, T0, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "cannot be stored"));
	assert_null(get4(d, "local", "192.0.2.1", T0));
	assert_int_equal(dyn_expire(d, T0, 10), 0);
	dyn_close(d);
	/* the file was left alone: its content must be kept */
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fgetc(f), 'g');
	fclose(f);
	/* a state-dir below a regular file */
	snprintf(path, sizeof(path), "%s/" DYN_FILE "/sub", dir);
	assert_int_equal(dyn_open(path, &d, NULL), 0);
	assert_non_null(dyn_error(d));
	assert_non_null(strstr(dyn_error(d), "state-dir"));
	assert_true(dyn_add(d, &r, T0, err, sizeof(err)) < 0);
	dyn_close(d);
}

/*
 * a damaged store: every leaf node of the file marked as holding
 * duplicates (F_DUPDATA), which the store's database never has, so
 * reading crashes inside LMDB. The server opens it all the same, says
 * why and answers from its files; the file is left as it was.
 */
static void
damaged(void **state)
{
	struct dyn *d = open_store();
	struct dyn_req r = { "local", LIST_IP4SET, "192.0.2.1", 10, NULL, 0 };
	char path[128], ip[32], err[256];
	long psize = sysconf(_SC_PAGESIZE), size, pg, marked = 0;
	unsigned char *b;
	unsigned i, n;
	FILE *f;

	(void)state;
	for (i = 0; i < 2000; i++) {
		snprintf(ip, sizeof(ip), "198.51.%u.%u", 100 + i / 256,
		    i % 256);
		assert_int_equal(add(d, "local", LIST_IP4SET, ip, 100, NULL,
		    0, T0), 1);
	}
	dyn_close(d);
	snprintf(path, sizeof(path), "%s/" DYN_FILE, dir);
	f = fopen(path, "r+b");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	b = malloc((size_t)size);
	assert_non_null(b);
	rewind(f);
	assert_int_equal(fread(b, 1, (size_t)size, f), (size_t)size);
	/* page header: pgno u64, pad u16, flags u16, lower u16, upper u16,
	   then the u16 offsets of the nodes; a node: 2 u16 of data size,
	   flags u16, key size u16 */
	for (pg = 2; (pg + 1) * psize <= size; pg++) {
		unsigned char *p = b + pg * psize;
		unsigned flags = p[10] | p[11] << 8, lower = p[12] | p[13] << 8;

		if (!(flags & 0x02) || (flags & 0x04) || lower < 16)
			continue;		/* not a leaf page */
		for (n = 0; n < (lower - 16) / 2; n++) {
			unsigned off = p[16 + 2 * n] | p[17 + 2 * n] << 8;

			if (off >= 16 && off + 8 <= psize) {
				p[off + 4] = 0x04;
				p[off + 5] = 0;
				marked++;
			}
		}
	}
	assert_true(marked >= 2000);
	rewind(f);
	assert_int_equal(fwrite(b, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	assert_int_equal(dyn_open(dir, &d, NULL), 0);
	assert_non_null(dyn_error(d));
	assert_non_null(strstr(dyn_error(d), "damaged"));
	assert_null(get4(d, "local", "198.51.100.1", T0));
	assert_true(dyn_add(d, &r, T0, err, sizeof(err)) < 0);
	dyn_close(d);
	/* left as it was */
	f = fopen(path, "rb");
	assert_non_null(f);
	for (pg = 0; pg < size; pg++)
		if (fgetc(f) != b[pg])
			break;
	fclose(f);
	assert_int_equal(pg, size);
	free(b);
}

/* records that do not parse are skipped and counted */
static void
garbage_records(void **state)
{
	struct dyn *d = open_store();
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k, v;
	char path[128];
	size_t bad = 0;

	(void)state;
	assert_int_equal(add(d, "local", LIST_IP4SET, "192.0.2.7", 100, NULL,
	    0, T0), 1);
	dyn_close(d);
	snprintf(path, sizeof(path), "%s/" DYN_FILE, dir);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_open(env, path, MDB_NOSUBDIR, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
	k.mv_data = "local 192.0.2.8";
	k.mv_size = strlen(k.mv_data);
	v.mv_data = "short";
	v.mv_size = 5;
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	k.mv_data = "nospace";
	k.mv_size = strlen(k.mv_data);
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	assert_int_equal(dyn_open(dir, &d, &bad), 0);
	assert_null(dyn_error(d));
	assert_int_equal(bad, 2);
	assert_non_null(get4(d, "local", "192.0.2.7", T0));
	assert_null(get4(d, "local", "192.0.2.8", T0));
	dyn_close(d);
}

/* bad input: an error saying why, and nothing changed */
static void
bad_input(void **state)
{
	static const struct {
		enum list_type	 t;
		const char	*entry;
		uint32_t	 ttl;
		const char	*reason;
		uint32_t	 value;
		const char	*why;
	} bad[] = {
		{ LIST_IP4SET, "192.0.2.1/24", 10, NULL, 0, "bits past /24" },
		{ LIST_IP4SET, "192.0.2.256", 10, NULL, 0, "not an IPv4" },
		{ LIST_IP4SET, "192.0.2.0/33", 10, NULL, 0, "prefix length" },
		{ LIST_IP4SET, "192.0.2.0/024", 10, NULL, 0, "prefix length" },
		{ LIST_IP4SET, "0.0.0.0/0", 10, NULL, 0, "every address" },
		{ LIST_IP4SET, "2001:db8::1", 10, NULL, 0, "not an IPv4" },
		{ LIST_IP6TRIE, "192.0.2.1", 10, NULL, 0, "not an IPv6" },
		{ LIST_IP6TRIE, "2001:db8::1/32", 10, NULL, 0, "bits past" },
		{ LIST_DNSET, "a..b", 10, NULL, 0, "not a domain name" },
		{ LIST_DNSET, "", 10, NULL, 0, "not a domain name" },
		{ LIST_IP4SET, "192.0.2.1", 0, NULL, 0, "ttl of 0" },
		{ LIST_IP4SET, "192.0.2.1", 10, "tab\there", 0, "control" },
		{ LIST_IP4SET, "192.0.2.1", 10, NULL, 0x0a000001U, "127.0.0.0/8" },
		{ LIST_IP4SET, "192.0.2.1", 10, NULL, 0x7f000001U, "127.0.0.0/8" },
	};
	struct dyn *d = open_store();
	char err[256], reason[400];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct dyn_req r = { "local", bad[i].t, bad[i].entry,
		    bad[i].ttl, bad[i].reason, bad[i].value };

		err[0] = '\0';
		assert_true(dyn_add(d, &r, T0, err, sizeof(err)) < 0);
		if (strstr(err, bad[i].why) == NULL)
			fail_msg("%s: \"%s\" does not say \"%s\"", bad[i].entry,
			    err, bad[i].why);
	}
	/* a reason of 254 bytes is fine; "$" makes it longer */
	memset(reason, 'r', 254);
	reason[254] = '\0';
	assert_int_equal(add(d, "local", LIST_IP4SET, "192.0.2.1", 10, reason,
	    0, T0), 1);
	reason[0] = '$';
	assert_int_equal(add(d, "local", LIST_IP4SET, "192.0.2.1", 10, reason,
	    0, T0 + 1), RBLMUX_EINVAL);
	assert_int_equal(add(d, "BAD NAME", LIST_IP4SET, "192.0.2.1", 10, NULL,
	    0, T0), RBLMUX_EINVAL);
	/* the refresh that failed changed nothing */
	assert_int_equal(dyn_value_info(get4(d, "local", "192.0.2.1",
	    T0))->refreshed, T0);
	assert_int_equal(dyn_list_find(d, "local")->n, 1);
	dyn_close(d);
	d = open_store();
	assert_int_equal(dyn_list_find(d, "local")->n, 1);
	assert_int_equal(dyn_value_info(get4(d, "local", "192.0.2.1",
	    T0))->refreshed, T0);
	dyn_close(d);
}

/* the change hooks see every add, refresh, delete and expiry */
struct seen {
	char		 log[1024];
	size_t		 len;
};

static void
hook(void *arg, const char *list, const struct list_entry *e,
    enum dyn_change what)
{
	static const char *const names[] = { "added", "refreshed", "deleted",
	    "expired" };
	struct seen *s = arg;
	const struct dyn_info *di = dyn_entry_info(e);

	assert_string_equal(list, di->list);
	assert_int_equal(e->nvals, 1);
	assert_int_equal(e->vals[0]->lv_a, di->value);
	s->len += (size_t)snprintf(s->log + s->len, sizeof(s->log) - s->len,
	    "%s %s %s/%u%s%s%s;", names[what], list, di->text, e->plen,
	    e->family == AF_UNSPEC ? " name " : "",
	    e->family == AF_UNSPEC ? e->name : "",
	    DYN_PRESENT(what) ? " +" : " -");
}

static void
hooks(void **state)
{
	struct dyn *d = open_store();
	struct seen s1 = { "", 0 }, s2 = { "", 0 };
	char err[128];

	(void)state;
	assert_int_equal(dyn_on_change(d, hook, &s1), 0);
	assert_int_equal(dyn_on_change(d, hook, &s2), 0);
	assert_int_equal(add(d, "local", LIST_IP4SET, "192.0.2.0/24", 10,
	    NULL, 0, T0), 1);
	assert_int_equal(add(d, "local", LIST_IP4SET, "192.0.2.0/24", 20,
	    NULL, 0, T0), 2);
	assert_int_equal(add(d, "dom", LIST_DNSET, "*.example.org", 5,
	    NULL, 0, T0), 1);
	assert_int_equal(dyn_del(d, "local", LIST_IP4SET, "192.0.2.0/24",
	    err, sizeof(err)), 0);
	assert_int_equal(dyn_expire(d, T0 + 5, 10), 1);
	/* failures call nothing */
	assert_true(dyn_del(d, "local", LIST_IP4SET, "192.0.2.0/24", err,
	    sizeof(err)) < 0);
	assert_true(add(d, "local", LIST_IP4SET, "192.0.2.1/24", 10, NULL, 0,
	    T0) < 0);
	assert_string_equal(s1.log,
	    "added local 192.0.2.0/24/24 +;"
	    "refreshed local 192.0.2.0/24/24 +;"
	    "added dom *.example.org/0 name example.org +;"
	    "deleted local 192.0.2.0/24/24 -;"
	    "expired dom *.example.org/0 name example.org -;");
	assert_string_equal(s1.log, s2.log);
	dyn_close(d);
}

/* walk: live entries as struct list_entry */
static int
count_cb(void *arg, const struct list_entry *e)
{
	(*(int *)arg)++;
	assert_int_equal(e->family, AF_INET);
	return dyn_entry_info(e)->text[0] == 's' ? 7 : 0;
}

static void
walk(void **state)
{
	struct dyn *d = open_store();
	int n = 0;

	(void)state;
	assert_int_equal(add(d, "local", LIST_IP4SET, "192.0.2.1", 10, NULL, 0,
	    T0), 1);
	assert_int_equal(add(d, "local", LIST_IP4SET, "192.0.2.2", 20, NULL, 0,
	    T0), 1);
	assert_int_equal(add(d, "local", LIST_IP4SET, "192.0.2.3", 30, NULL, 0,
	    T0), 1);
	assert_int_equal(dyn_walk(dyn_list_find(d, "local"), T0, count_cb, &n),
	    0);
	assert_int_equal(n, 3);
	n = 0;
	assert_int_equal(dyn_walk(dyn_list_find(d, "local"), T0 + 15,
	    count_cb, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(dyn_walk(NULL, T0, count_cb, &n), 0);
	dyn_close(d);
}

/* ---- the answer path over a bound view ------------------------------ */

static void
report(void *arg, enum list_severity sev, const char *file, unsigned line,
    const char *msg)
{
	(void)arg;
	(void)sev;
	print_message("%s:%u: %s\n", file ? file : "-", line, msg);
}

static void
report_conf(void *arg, const char *file, unsigned line, const char *msg)
{
	report(arg, LIST_ERROR, file, line, msg);
}

static struct view *
make_view(void)
{
	char conf[2048], path[256];
	struct conf *c;
	struct vconf *vc;
	struct view *v = NULL;

	put("local.ip4set", "198.51.100.1\n");
	put("allow.ip4set", "198.51.100.2\n");
	put("names.dn", "file.example\n");
	snprintf(conf, sizeof(conf),
	    "server:\n  directory: %s\n"
	    "local-list:\n  name: local\n  file: local.ip4set\n  ttl: 600\n"
	    "local-list:\n  name: mynets\n  file: allow.ip4set\n  allow: yes\n"
	    "local-list:\n  name: names\n  type: dnset\n  file: names.dn\n"
	    "upstream:\n  name: up\n  zone: up.example\n"
	    "zone:\n  name: all.test\n  answer: bitmask\n"
	    "  bit: 2 local\n  bit: 4 names\n  bit: 8 up\n  exempt: mynets\n"
	    "zone:\n  name: bl.test\n  serve: local\n"
	    "zone:\n  name: dbl.test\n  serve: names\n", dir);
	put("rblmux.conf", conf);
	snprintf(path, sizeof(path), "%s/rblmux.conf", dir);
	assert_int_equal(conf_load(path, report_conf, NULL, &c), 0);
	vc = vconf_new(c);
	assert_int_equal(view_build(vc, NULL, report, NULL, &v), 0);
	vconf_unref(vc);
	return v;
}

/* ask - the reply to name/type at now: rcode, first A or TXT in buf */
static int
ask(const struct view *v, const char *name, uint16_t type, time_t now,
    char *buf, size_t cap)
{
	static uint8_t out[DNS_MAXMSG];
	uint8_t q[512];
	struct dns_query dq;
	ldns_pkt *pkt = NULL;
	ldns_rr_list *an;
	size_t len, n;
	int rcode;

	len = mkquery(q, name, type, 0);
	assert_int_equal(dnsmsg_parse_query(q, len, &dq), DNSMSG_OK);
	n = answer_query(v, &dq, q, len, now, out, sizeof(out), 512, &rcode);
	assert_int_equal(ldns_wire2pkt(&pkt, out, n), LDNS_STATUS_OK);
	buf[0] = '\0';
	an = ldns_pkt_answer(pkt);
	if (ldns_rr_list_rr_count(an) > 0) {
		char *s = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(an, 0), 0));

		snprintf(buf, cap, "%s", s);
		free(s);
	}
	ldns_pkt_free(pkt);
	return rcode;
}

static void
answers(void **state)
{
	struct view *v = make_view();
	struct dyn *d = open_store();
	char b[512];

	(void)state;
	dyn_bind(d, v);
	/* no entries: the files alone */
	assert_int_equal(ask(v, "1.100.51.198.all.test", DNS_TYPE_A, T0, b,
	    sizeof(b)), 0);
	assert_string_equal(b, "127.0.0.2");
	assert_int_equal(ask(v, "7.113.0.203.all.test", DNS_TYPE_A, T0, b,
	    sizeof(b)), 3);
	assert_int_equal(add(d, "local", LIST_IP4SET, "203.0.113.0/24", 100,
	    "dyn $", 0x7f000005U, T0), 1);
	/* the aggregate zone: the list's bit; served: the value and TXT */
	assert_int_equal(ask(v, "7.113.0.203.all.test", DNS_TYPE_A, T0, b,
	    sizeof(b)), 0);
	assert_string_equal(b, "127.0.0.2");
	assert_int_equal(ask(v, "7.113.0.203.all.test", DNS_TYPE_TXT, T0, b,
	    sizeof(b)), 0);
	assert_string_equal(b, "\"local: dyn 203.0.113.7\"");
	assert_int_equal(ask(v, "7.113.0.203.bl.test", DNS_TYPE_A, T0, b,
	    sizeof(b)), 0);
	assert_string_equal(b, "127.0.0.5");
	assert_int_equal(ask(v, "7.113.0.203.bl.test", DNS_TYPE_TXT, T0, b,
	    sizeof(b)), 0);
	assert_string_equal(b, "\"dyn 203.0.113.7\"");
	/* the per-result subzone */
	assert_int_equal(ask(v, "7.113.0.203.local.all.test", DNS_TYPE_A, T0,
	    b, sizeof(b)), 0);
	assert_string_equal(b, "127.0.0.5");
	/* TTL: the list's */
	assert_int_equal(get4(d, "local", "203.0.113.7", T0)->lv_ttl, 600);
	/* expired: not answered, even before the timer removes it */
	assert_int_equal(ask(v, "7.113.0.203.bl.test", DNS_TYPE_A, T0 + 100,
	    b, sizeof(b)), 3);
	/* an allowlist entry exempts */
	assert_int_equal(add(d, "mynets", LIST_IP4SET, "203.0.113.7", 100,
	    NULL, 0, T0), 1);
	assert_int_equal(ask(v, "7.113.0.203.all.test", DNS_TYPE_A, T0, b,
	    sizeof(b)), 3);
	assert_int_equal(ask(v, "8.113.0.203.all.test", DNS_TYPE_A, T0, b,
	    sizeof(b)), 0);
	/* names, with "$" the matching entry */
	assert_int_equal(add(d, "names", LIST_DNSET, "*.evil.example", 100,
	    "name $", 0, T0), 1);
	assert_int_equal(ask(v, "a.b.evil.example.dbl.test", DNS_TYPE_TXT, T0,
	    b, sizeof(b)), 0);
	assert_string_equal(b, "\"name evil.example\"");
	assert_int_equal(ask(v, "a.evil.example.all.test", DNS_TYPE_A, T0, b,
	    sizeof(b)), 0);
	assert_string_equal(b, "127.0.0.4");
	assert_int_equal(ask(v, "file.example.dbl.test", DNS_TYPE_A, T0, b,
	    sizeof(b)), 0);
	/* above a dynamic name: no data, not NXDOMAIN (RFC 8020) */
	assert_int_equal(ask(v, "evil.example.dbl.test", DNS_TYPE_A, T0, b,
	    sizeof(b)), 0);
	assert_string_equal(b, "");
	assert_int_equal(ask(v, "example.all.test", DNS_TYPE_A, T0, b,
	    sizeof(b)), 0);
	assert_int_equal(ask(v, "other.example.dbl.test", DNS_TYPE_A, T0, b,
	    sizeof(b)), 3);
	dyn_close(d);
	view_unref(v);
}

/*
 * A query that waited (an upstream result to come) is written after its
 * dynamic entry was deleted: the answer reads only what it finds then.
 */
static void
deleted_while_waiting(void **state)
{
	static uint8_t out[DNS_MAXMSG];
	struct view *v = make_view();
	struct dyn *d = open_store();
	struct answer_state st, kept;
	struct answer_work *wk = malloc(sizeof(*wk));
	struct dns_query dq;
	ldns_pkt *pkt = NULL;
	uint8_t q[512];
	char err[128];
	size_t len, n;
	int rcode, pass;

	(void)state;
	assert_non_null(wk);
	dyn_bind(d, v);
	for (pass = 0; pass < 2; pass++) {
		uint16_t qt = pass ? DNS_TYPE_TXT : DNS_TYPE_A;

		assert_int_equal(add(d, "local", LIST_IP4SET, "203.0.113.7",
		    100, "gone", 0, T0), 1);
		len = mkquery(q, "7.113.0.203.all.test", qt, 0);
		assert_int_equal(dnsmsg_parse_query(q, len, &dq), DNSMSG_OK);
		assert_int_not_equal(answer_decide(v, &dq, T0, &st, wk), 0);
		assert_int_equal(st.src[0].status, ASRC_LISTED);
		memcpy(&kept, &st, sizeof(kept));
		memset(wk, 0xa5, sizeof(*wk));
		assert_int_equal(dyn_del(d, "local", LIST_IP4SET,
		    "203.0.113.7", err, sizeof(err)), 0);
		n = answer_write(v, &dq, q, len, &kept, NULL, out, sizeof(out),
		    512, &rcode);
		assert_true(n >= 12);
		assert_int_equal(ldns_wire2pkt(&pkt, out, n), LDNS_STATUS_OK);
		ldns_pkt_free(pkt);
		assert_int_equal(rcode, 3);
	}
	free(wk);
	dyn_close(d);
	view_unref(v);
}

/* a list that leaves the view keeps its entries; bound again by name */
static void
rebind(void **state)
{
	struct view *v = make_view(), *v2;
	struct dyn *d = open_store();
	char b[64];

	(void)state;
	assert_int_equal(add(d, "gone", LIST_IP4SET, "203.0.113.9", 100, NULL,
	    0, T0), 1);
	dyn_bind(d, v);
	assert_ptr_equal(v->lists[0]->dyn, dyn_list_find(d, "local"));
	assert_int_equal(add(d, "local", LIST_IP4SET, "203.0.113.9", 100,
	    NULL, 0, T0), 1);
	v2 = make_view();
	dyn_bind(d, v2);
	assert_ptr_equal(v2->lists[0]->dyn, v->lists[0]->dyn);
	assert_int_equal(ask(v2, "9.113.0.203.bl.test", DNS_TYPE_A, T0, b,
	    sizeof(b)), 0);
	assert_int_equal(dyn_list_find(d, "gone")->n, 1);
	/* an entry of a family the list's type does not take (the type
	   changed since) answers nothing, and stays */
	assert_int_equal(add(d, "names", LIST_IP4SET, "203.0.113.9", 100,
	    NULL, 0, T0), 1);
	assert_null(get4(d, "names", "203.0.113.9", T0));
	assert_int_equal(ask(v2, "9.113.0.203.all.test", DNS_TYPE_A, T0, b,
	    sizeof(b)), 0);
	assert_string_equal(b, "127.0.0.2");	/* local alone */
	assert_int_equal(dyn_list_find(d, "names")->n, 1);
	dyn_close(d);
	view_unref(v);
	view_unref(v2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(prefix_longest, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(refresh, setup, teardown),
		cmocka_unit_test_setup_teardown(del, setup, teardown),
		cmocka_unit_test_setup_teardown(expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(ipv6, setup, teardown),
		cmocka_unit_test_setup_teardown(names, setup, teardown),
		cmocka_unit_test_setup_teardown(durable, setup, teardown),
		cmocka_unit_test_setup_teardown(unusable, setup, teardown),
		cmocka_unit_test_setup_teardown(damaged, setup, teardown),
		cmocka_unit_test_setup_teardown(garbage_records, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(hooks, setup, teardown),
		cmocka_unit_test_setup_teardown(walk, setup, teardown),
		cmocka_unit_test_setup_teardown(answers, setup, teardown),
		cmocka_unit_test_setup_teardown(deleted_while_waiting, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(rebind, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
