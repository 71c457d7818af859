/*
 * test_cache.c -- the LMDB cache on a real environment in a temporary
 * directory: entries per upstream in one record per subject, TXT kept
 * across A-only answers, purge, flushes, reopening, a corrupt file
 * moved aside, eviction under a small map, garbage records, the writer
 * thread and a writer killed without closing. Time is passed in.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "answer.h"
#include "cache.h"
#include "err.h"

#define T0	1700000000U
#define MB	(1024U * 1024)

struct fix {
	char		 dir[64];
	struct cache	*c;
	struct cache_reader *r;
};

/* rmdir_all - the files of dir, then dir */
static void
rmdir_all(const char *dir)
{
	char p[512];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_cache.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	*state = f;
	return 0;
}

static void
fix_close(struct fix *f)
{
	cache_reader_free(f->r);
	cache_close(f->c);
	f->r = NULL;
	f->c = NULL;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	fix_close(f);
	rmdir_all(f->dir);
	free(f);
	return 0;
}

/* fix_open - open the cache of f (and a reader); cache_open's code */
static int
fix_open(struct fix *f, uint64_t max_size, uint32_t stale, bool writer,
    char *msg, size_t msgcap)
{
	struct cache_opts o = { f->dir, max_size, stale, writer };
	char buf[512];
	int rc;

	if (msg == NULL) {
		msg = buf;
		msgcap = sizeof(buf);
	}
	rc = cache_open(&o, &f->c, msg, msgcap);
	if (rc == 0) {
		f->r = cache_reader_new(f->c);
		assert_non_null(f->r);
	}
	return rc;
}

static struct cache_key
key(const char *text)
{
	struct cache_key k;

	assert_int_equal(cache_key_text(text, &k), 0);
	return k;
}

/* ip - the key of 198.51.x.y for i < 65536, scattered over the keys */
static struct cache_key
ip(unsigned i)
{
	char t[32];
	unsigned h = i * 40503U & 0xffff;	/* odd: one h per i */

	snprintf(t, sizeof(t), "198.51.%u.%u", h >> 8, h & 255);
	return key(t);
}

static struct cache_ent
ent(uint64_t src, int status, uint32_t code, uint32_t stored, uint32_t ttl,
    const char *txt)
{
	struct cache_ent e;

	memset(&e, 0, sizeof(e));
	e.src = src;
	e.status = (uint8_t)status;
	if (status == CACHE_LISTED) {
		e.na = 1;
		e.a[0] = code;
	}
	e.ttl = ttl;
	e.stored = stored;
	e.expires = stored + ttl;
	if (txt != NULL) {
		e.has_txt = true;
		e.txt_expires = stored + ttl;
		e.txt_len = (uint16_t)strlen(txt);
		memcpy(e.txt, txt, e.txt_len + 1);
	}
	return e;
}

static void
put(struct fix *f, const struct cache_key *k, const struct cache_ent *e)
{
	assert_int_equal(cache_put(f->c, k, e), 0);
}

/* get - src's entry of k: true when the record and the entry exist */
static bool
get(struct fix *f, const struct cache_key *k, uint64_t src,
    struct cache_ent *e)
{
	struct cache_rec rec;
	int rc = cache_lookup(f->r, k, &rec);

	if (rc == RBLMUX_ENOENT)
		return false;
	assert_int_equal(rc, 0);
	return cache_rec_get(&rec, src, e);
}

static bool
present(struct fix *f, const struct cache_key *k)
{
	struct cache_rec rec;
	int rc = cache_lookup(f->r, k, &rec);

	assert_true(rc == 0 || rc == RBLMUX_ENOENT);
	return rc == 0;
}

#define SRC_A	cache_src_id("zen.example.net")
#define SRC_B	cache_src_id("bl.example.org")
#define SRC_C	cache_src_id("dnsbl.example.com")
#define L(x)	(0x7f000000U | (x))
#define GOOD_SRC	0x0807060504030201ULL

/* Addresses and names as keys, from text and from a subject alike. */
static void
test_keys(void **state)
{
	struct cache_key k, k2;
	struct subject s;
	char big[300];

	(void)state;
	k = key("192.0.2.1");
	assert_int_equal(k.len, 5);
	assert_memory_equal(k.b, "\x04\xc0\x00\x02\x01", 5);
	memset(&s, 0, sizeof(s));
	s.kind = SUBJ_IP4;
	s.ip4 = 0xc0000201U;
	assert_int_equal(cache_key_subject(&s, &k2), 0);
	assert_int_equal(k2.len, 5);
	assert_memory_equal(k.b, k2.b, 5);

	k = key("2001:db8::1");
	assert_int_equal(k.len, 17);
	assert_int_equal(k.b[0], CACHE_KEY_IP6);
	assert_int_equal(k.b[1], 0x20);
	assert_int_equal(k.b[16], 0x01);
	s.kind = SUBJ_IP6;
	memcpy(s.ip6, k.b + 1, 16);
	assert_int_equal(cache_key_subject(&s, &k2), 0);
	assert_int_equal(k2.len, 17);
	assert_memory_equal(k.b, k2.b, 17);

	k = key("Mail.Example.COM.");
	assert_int_equal(k.len, 1 + 16);
	assert_memory_equal(k.b, "nmail.example.com", 17);
	s.kind = SUBJ_NAME;
	strcpy(s.name, "mail.example.com");
	s.name_len = 16;
	assert_int_equal(cache_key_subject(&s, &k2), 0);
	assert_int_equal(k2.len, k.len);
	assert_memory_equal(k.b, k2.b, k.len);

	assert_int_equal(cache_key_text("", &k), RBLMUX_EINVAL);
	assert_int_equal(cache_key_text(".", &k), RBLMUX_EINVAL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(cache_key_text(big, &k), RBLMUX_EINVAL);
	s.kind = SUBJ_APEX;
	assert_int_equal(cache_key_subject(&s, &k), RBLMUX_EINVAL);

	assert_true(cache_src_id("Zen.Example.NET.") == SRC_A);
	assert_true(SRC_A != SRC_B);
}

/* Several upstreams' entries in one record, each read back alone. */
static void
test_put_get_several(void **state)
{
	struct fix *f = *state;
	struct cache_key k = key("192.0.2.10"), other = key("192.0.2.11");
	struct cache_ent a = ent(SRC_A, CACHE_LISTED, L(2), T0, 600, NULL);
	struct cache_ent b = ent(SRC_B, CACHE_NOT_LISTED, 0, T0 + 1, 300,
	    NULL);
	struct cache_ent c = ent(SRC_C, CACHE_LISTED, L(4), T0 + 2, 900,
	    "spam source");
	struct cache_ent e;
	struct cache_rec rec;

	a.na = 2;
	a.a[1] = L(10);
	assert_int_equal(fix_open(f, 16 * MB, 0, false, NULL, 0), 0);
	put(f, &k, &a);
	put(f, &k, &b);
	put(f, &k, &c);
	cache_sync(f->c);

	assert_int_equal(cache_lookup(f->r, &k, &rec), 0);
	assert_int_equal(rec.atime, T0 + 2);
	assert_true(cache_rec_get(&rec, SRC_A, &e));
	assert_int_equal(e.status, CACHE_LISTED);
	assert_int_equal(e.na, 2);
	assert_int_equal(e.a[0], L(2));
	assert_int_equal(e.a[1], L(10));
	assert_int_equal(e.ttl, 600);
	assert_int_equal(e.stored, T0);
	assert_int_equal(e.expires, T0 + 600);
	assert_false(e.has_txt);
	assert_true(cache_rec_get(&rec, SRC_B, &e));
	assert_int_equal(e.status, CACHE_NOT_LISTED);
	assert_int_equal(e.na, 0);
	assert_int_equal(e.expires, T0 + 301);
	assert_true(cache_rec_get(&rec, SRC_C, &e));
	assert_int_equal(e.a[0], L(4));
	assert_true(e.has_txt);
	assert_int_equal(e.txt_len, 11);
	assert_string_equal(e.txt, "spam source");
	assert_int_equal(e.txt_expires, T0 + 902);
	assert_false(cache_rec_get(&rec, cache_src_id("x.example"), &e));
	assert_int_equal(cache_lookup(f->r, &other, &rec), RBLMUX_ENOENT);

	/* a new answer replaces that upstream's entry only */
	a = ent(SRC_A, CACHE_NOT_LISTED, 0, T0 + 50, 120, NULL);
	put(f, &k, &a);
	cache_sync(f->c);
	assert_true(get(f, &k, SRC_A, &e));
	assert_int_equal(e.status, CACHE_NOT_LISTED);
	assert_int_equal(e.expires, T0 + 170);
	assert_true(get(f, &k, SRC_B, &e));
	assert_true(get(f, &k, SRC_C, &e));
	assert_string_equal(e.txt, "spam source");

	/* the cache returns expired entries: the caller decides */
	assert_true(get(f, &k, SRC_B, &e));
	assert_true(e.expires < T0 + 1000);
	/* no entry is not an entry */
	e = ent(SRC_A, CACHE_NONE, 0, T0, 1, NULL);
	assert_int_equal(cache_put(f->c, &k, &e), RBLMUX_EINVAL);
	e = ent(SRC_A, CACHE_LISTED, 0, T0, 1, NULL);
	e.na = 0;
	assert_int_equal(cache_put(f->c, &k, &e), RBLMUX_EINVAL);
}

/* An A-only answer keeps the TXT fetched before while the codes hold. */
static void
test_txt_kept(void **state)
{
	struct fix *f = *state;
	struct cache_key k = key("listed.example.com");
	struct cache_ent e = ent(SRC_A, CACHE_LISTED, L(2), T0, 600,
	    "see https://example.net/why");

	assert_int_equal(fix_open(f, 16 * MB, 0, false, NULL, 0), 0);
	put(f, &k, &e);
	cache_sync(f->c);
	e = ent(SRC_A, CACHE_LISTED, L(2), T0 + 100, 600, NULL);
	put(f, &k, &e);
	cache_sync(f->c);
	assert_true(get(f, &k, SRC_A, &e));
	assert_int_equal(e.stored, T0 + 100);
	assert_int_equal(e.expires, T0 + 700);
	assert_true(e.has_txt);
	assert_string_equal(e.txt, "see https://example.net/why");
	assert_int_equal(e.txt_expires, T0 + 600);

	/* other codes: the old reason no longer applies */
	e = ent(SRC_A, CACHE_LISTED, L(3), T0 + 200, 600, NULL);
	put(f, &k, &e);
	cache_sync(f->c);
	assert_true(get(f, &k, SRC_A, &e));
	assert_int_equal(e.a[0], L(3));
	assert_false(e.has_txt);
	assert_int_equal(e.txt_len, 0);
}

/* Purge removes entries past expiry + serve-stale, and empty records. */
static void
test_purge(void **state)
{
	struct fix *f = *state;
	struct cache_key k1 = key("192.0.2.20"), k2 = key("192.0.2.21");
	struct cache_ent e;
	unsigned i;

	assert_int_equal(fix_open(f, 16 * MB, 100, false, NULL, 0), 0);
	e = ent(SRC_A, CACHE_LISTED, L(2), T0, 1000, NULL);	/* T0+1000 */
	put(f, &k1, &e);
	e = ent(SRC_B, CACHE_NOT_LISTED, 0, T0, 2000, NULL);	/* T0+2000 */
	put(f, &k1, &e);
	e = ent(SRC_A, CACHE_LISTED, L(2), T0, 1000, NULL);
	put(f, &k2, &e);
	/* a TXT that expires before its entry */
	e = ent(SRC_C, CACHE_LISTED, L(4), T0, 3000, "reason");
	e.txt_expires = T0 + 500;
	put(f, &k1, &e);
	cache_sync(f->c);

	/* within serve-stale nothing goes */
	assert_int_equal(cache_purge(f->c, T0 + 1100, 1000), 0);
	assert_true(get(f, &k1, SRC_A, &e));
	assert_true(get(f, &k2, SRC_A, &e));
	assert_true(get(f, &k1, SRC_C, &e));
	assert_false(e.has_txt);	/* its TXT went, not counted */
	assert_int_equal(e.expires, T0 + 3000);

	assert_int_equal(cache_purge(f->c, T0 + 1101, 1000), 2);
	assert_false(get(f, &k1, SRC_A, &e));
	assert_true(get(f, &k1, SRC_B, &e));
	assert_false(present(f, &k2));

	/* at most max at a time */
	for (i = 0; i < 5; i++) {
		struct cache_key k = ip(i);

		e = ent(SRC_A, CACHE_LISTED, L(2), T0, 10, NULL);
		put(f, &k, &e);
	}
	cache_sync(f->c);
	assert_int_equal(cache_purge(f->c, T0 + 200, 3), 3);
	assert_int_equal(cache_purge(f->c, T0 + 200, 3), 2);
	assert_int_equal(cache_purge(f->c, T0 + 200, 3), 0);
	for (i = 0; i < 5; i++) {
		struct cache_key k = ip(i);

		assert_false(present(f, &k));
	}
	assert_true(get(f, &k1, SRC_B, &e));
}

/* put_many - n subjects 2001:db8::base+i, every other one expired */
static void
put_many(struct fix *f, unsigned base, unsigned n)
{
	struct cache_ent e;
	char t[64];
	unsigned i;

	for (i = 0; i < n; i++) {
		struct cache_key k;

		snprintf(t, sizeof(t), "2001:db8::%x:%x", (base + i) >> 16,
		    (base + i) & 0xffff);
		k = key(t);
		e = ent(SRC_A, CACHE_NOT_LISTED, 0, T0, i % 2 ? 100 : 86400,
		    NULL);
		put(f, &k, &e);
		if (i % 20000 == 19999)
			cache_sync(f->c);
	}
	cache_sync(f->c);
}

/* Purge visits a bounded number of records a call, resuming; eviction
   purges every record. */
static void
test_purge_many(void **state)
{
	struct fix *f = *state;
	struct cache_info ci;
	long n, sum, calls = 1;

	assert_int_equal(fix_open(f, 64 * MB, 0, false, NULL, 0), 0);
	put_many(f, 0, 140000);
	sum = cache_purge(f->c, T0 + 1000, SIZE_MAX);
	assert_true(sum > 0 && sum < 70000);	/* not every record */
	while ((n = cache_purge(f->c, T0 + 1000, SIZE_MAX)) > 0) {
		sum += n;
		calls++;
	}
	assert_int_equal(sum, 70000);
	assert_true(calls >= 2 && calls <= 4);
	cache_get_info(f->c, &ci);
	assert_int_equal(ci.records, 70000);
	assert_int_equal(ci.purged, 70000);

	put_many(f, 200000, 140000);
	assert_int_equal(cache_evict(f->c, T0 + 1000, UINT64_MAX), 0);
	cache_get_info(f->c, &ci);
	assert_int_equal(ci.records, 140000);
	assert_int_equal(ci.purged, 140000);
}

/* Flushes by key, by upstream, positives since a time, everything. */
static void
test_flush(void **state)
{
	struct fix *f = *state;
	struct cache_key k[4] = { key("192.0.2.30"), key("192.0.2.31"),
	    key("2001:db8::31"), key("spam.example.com") };
	struct cache_ent e;
	struct cache_info ci;
	unsigned i;

	assert_int_equal(fix_open(f, 16 * MB, 0, false, NULL, 0), 0);
	for (i = 0; i < 4; i++) {
		e = ent(SRC_A, CACHE_LISTED, L(2), T0 + i * 100, 3600, NULL);
		put(f, &k[i], &e);
		e = ent(SRC_B, i % 2 ? CACHE_LISTED : CACHE_NOT_LISTED, L(2),
		    T0 + i * 100, 3600, NULL);
		put(f, &k[i], &e);
		e = ent(SRC_C, CACHE_LISTED, L(2), T0, 3600, NULL);
		put(f, &k[i], &e);
	}
	cache_sync(f->c);
	cache_get_info(f->c, &ci);
	assert_int_equal(ci.records, 4);
	assert_int_equal(ci.puts, 12);

	assert_int_equal(cache_flush_key(f->c, &k[0]), 3);
	assert_false(present(f, &k[0]));
	assert_int_equal(cache_flush_key(f->c, &k[0]), 0);

	assert_int_equal(cache_flush_src(f->c, SRC_C), 3);
	for (i = 1; i < 4; i++) {
		assert_false(get(f, &k[i], SRC_C, &e));
		assert_true(get(f, &k[i], SRC_A, &e));
	}

	/* SRC_A's positives stored at T0+200 or later: k[2], k[3] */
	assert_int_equal(cache_drop_positives(f->c, SRC_A, T0 + 200), 2);
	assert_true(get(f, &k[1], SRC_A, &e));
	assert_false(get(f, &k[2], SRC_A, &e));
	assert_false(get(f, &k[3], SRC_A, &e));
	/* SRC_B: k[1], k[3] listed; k[2] not listed stays */
	assert_int_equal(cache_drop_positives(f->c, SRC_B, T0), 2);
	assert_true(get(f, &k[2], SRC_B, &e));
	assert_false(present(f, &k[3]));	/* emptied: removed */

	/* left: SRC_A's entry of k[1], SRC_B's of k[2] */
	assert_int_equal(cache_flush_all(f->c), 2);
	for (i = 0; i < 4; i++)
		assert_false(present(f, &k[i]));
	cache_get_info(f->c, &ci);
	assert_int_equal(ci.records, 0);
	assert_int_equal(cache_flush_all(f->c), 0);

	/* records rewritten in place while the scan walks on */
	for (i = 0; i < 5000; i++) {
		struct cache_key kk = ip(i);

		e = ent(SRC_A, CACHE_LISTED, L(2), T0, 3600, NULL);
		put(f, &kk, &e);
		e = ent(SRC_B, CACHE_LISTED, L(2), T0, 3600,
		    "a reason long enough to fill the pages of the map quickly");
		put(f, &kk, &e);
		e = ent(SRC_C, CACHE_NOT_LISTED, 0, T0, 3600, NULL);
		put(f, &kk, &e);
	}
	cache_sync(f->c);
	assert_int_equal(cache_flush_src(f->c, SRC_B), 5000);
	assert_int_equal(cache_drop_positives(f->c, SRC_A, T0), 5000);
	for (i = 0; i < 5000; i++) {
		struct cache_key kk = ip(i);

		assert_false(get(f, &kk, SRC_A, &e));
		assert_false(get(f, &kk, SRC_B, &e));
		assert_true(get(f, &kk, SRC_C, &e));
	}
	cache_get_info(f->c, &ci);
	assert_int_equal(ci.records, 5000);
	assert_int_equal(cache_flush_all(f->c), 5000);
}

/*
 * A flush takes what was queued before it too: a positive put just
 * before its upstream lost trust is dropped, not written a moment
 * after the drop (and so with every flush).
 */
static void
test_flush_queued(void **state)
{
	struct fix *f = *state;
	struct cache_key k = key("192.0.2.40"), k2 = key("192.0.2.41");
	struct cache_ent e;

	assert_int_equal(fix_open(f, 16 * MB, 0, false, NULL, 0), 0);
	e = ent(SRC_A, CACHE_LISTED, L(2), T0, 3600, NULL);
	put(f, &k, &e);			/* queued, not written */
	assert_int_equal(cache_drop_positives(f->c, SRC_A, T0), 1);
	cache_sync(f->c);
	assert_false(present(f, &k));

	put(f, &k, &e);
	put(f, &k2, &e);
	assert_int_equal(cache_flush_key(f->c, &k), 1);
	assert_int_equal(cache_flush_src(f->c, SRC_A), 1);
	put(f, &k, &e);
	assert_int_equal(cache_flush_all(f->c), 1);
	cache_sync(f->c);
	assert_false(present(f, &k));
	assert_false(present(f, &k2));
}

/* What was written is there after close and open. */
static void
test_reopen(void **state)
{
	struct fix *f = *state;
	struct cache_key k = key("2001:db8::40");
	struct cache_ent e = ent(SRC_B, CACHE_LISTED, L(9), T0, 600, "x");
	struct cache_info ci;

	assert_int_equal(fix_open(f, 16 * MB, 0, false, NULL, 0), 0);
	put(f, &k, &e);
	fix_close(f);	/* close applies the queue */
	assert_int_equal(fix_open(f, 16 * MB, 0, false, NULL, 0), 0);
	memset(&e, 0, sizeof(e));
	assert_true(get(f, &k, SRC_B, &e));
	assert_int_equal(e.a[0], L(9));
	assert_string_equal(e.txt, "x");
	cache_get_info(f->c, &ci);
	assert_int_equal(ci.records, 1);
	assert_true(ci.map_size >= 16 * MB);
	assert_true(ci.used > 0 && ci.used <= ci.file_size);
	assert_false(ci.moved_aside);
}

/* A corrupt file is moved aside; the cache starts empty and works. */
static void
test_corrupt_moved_aside(void **state)
{
	struct fix *f = *state;
	struct cache_key k = key("192.0.2.50");
	struct cache_ent e = ent(SRC_A, CACHE_LISTED, L(2), T0, 600, NULL);
	struct cache_info ci;
	char path[512], msg[512];
	unsigned char junk[65536];
	struct dirent *de;
	DIR *d;
	FILE *fp;
	size_t i;
	int aside = 0;

	assert_int_equal(fix_open(f, 16 * MB, 0, false, NULL, 0), 0);
	put(f, &k, &e);
	fix_close(f);
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 2654435761U >> 13);
	snprintf(path, sizeof(path), "%s/%s", f->dir, CACHE_FILE);
	assert_non_null(fp = fopen(path, "r+"));
	assert_int_equal(fwrite(junk, 1, sizeof(junk), fp), sizeof(junk));
	fclose(fp);

	assert_int_equal(fix_open(f, 16 * MB, 0, false, msg, sizeof(msg)),
	    0);
	assert_non_null(strstr(msg, "moved"));
	cache_get_info(f->c, &ci);
	assert_true(ci.moved_aside);
	assert_int_equal(ci.records, 0);
	assert_false(present(f, &k));
	assert_non_null(d = opendir(f->dir));
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, CACHE_FILE ".corrupt-",
		    sizeof(CACHE_FILE ".corrupt-") - 1) == 0)
			aside++;
	closedir(d);
	assert_int_equal(aside, 1);
	put(f, &k, &e);
	cache_sync(f->c);
	assert_true(get(f, &k, SRC_A, &e));
}

/* A tiny map fills: eviction keeps it working, recent records stay. */
static void
test_evict_small_map(void **state)
{
	struct fix *f = *state;
	struct cache_info ci;
	struct cache_ent e;
	unsigned i, j, hot = 0, cold = 0, recent = 0;
	const unsigned n = 50000, batch = 500;

	assert_int_equal(fix_open(f, 1 * MB, 0, false, NULL, 0), 0);
	for (i = 0; i < n; i += batch) {
		uint32_t now = T0 + i / batch;

		for (j = i; j < i + batch; j++) {
			struct cache_key k = ip(j);

			e = ent(SRC_A, CACHE_LISTED, L(2), now, 86400, NULL);
			put(f, &k, &e);
		}
		/* 0..199 are asked for all along; 200..399 never again */
		for (j = 0; j < 200 && i > 0; j++) {
			struct cache_key k = ip(j);

			assert_int_equal(cache_touch(f->c, &k, now), 0);
		}
		cache_sync(f->c);
	}
	cache_get_info(f->c, &ci);
	assert_int_equal(ci.errors, 0);
	assert_int_equal(ci.put_dropped, 0);
	assert_true(ci.evicted > 0);
	assert_true(ci.records < n);
	assert_true(ci.records > 1000);
	assert_true(ci.used <= ci.map_size);
	for (j = 0; j < 200; j++) {
		struct cache_key kh = ip(j), kc = ip(200 + j),
		    kr = ip(n - 1 - j);

		hot += present(f, &kh);
		cold += present(f, &kc);
		recent += present(f, &kr);
	}
	print_message("records %llu evicted %llu map_full %llu hot %u "
	    "cold %u recent %u\n", (unsigned long long)ci.records,
	    (unsigned long long)ci.evicted, (unsigned long long)ci.map_full,
	    hot, cold, recent);
	assert_true(hot > 180);
	assert_true(cold < 20);
	assert_true(recent > 180);
}

/* Eviction takes expired entries first, then the oldest access times. */
static void
test_evict_order(void **state)
{
	struct fix *f = *state;
	struct cache_info ci;
	struct cache_ent e;
	unsigned i, kept_old = 0, kept_new = 0;
	long n;

	assert_int_equal(fix_open(f, 16 * MB, 60, false, NULL, 0), 0);
	for (i = 0; i < 1000; i++) {
		struct cache_key k = ip(i);

		/* 0..99 expired past serve-stale at T0+1000 */
		e = ent(SRC_A, CACHE_LISTED, L(2), T0, i < 100 ? 100 : 86400,
		    NULL);
		put(f, &k, &e);
		assert_int_equal(cache_touch(f->c, &k, T0 + i), 0);
	}
	cache_sync(f->c);
	cache_get_info(f->c, &ci);
	assert_int_equal(ci.records, 1000);

	/* under the target only the expired go */
	assert_int_equal(cache_evict(f->c, T0 + 1000, ci.used), 0);
	cache_get_info(f->c, &ci);
	assert_int_equal(ci.records, 900);
	assert_int_equal(ci.purged, 100);
	assert_int_equal(ci.evicted, 0);

	/* half the bytes: about half the records, the least recent */
	n = cache_evict(f->c, T0 + 1000, ci.used / 2);
	assert_true(n >= 400 && n <= 500);
	cache_get_info(f->c, &ci);
	assert_int_equal(ci.records, 900 - (unsigned long)n);
	assert_int_equal(ci.evicted, (unsigned long)n);
	for (i = 100; i < 1000; i++) {
		struct cache_key k = ip(i);

		if (present(f, &k)) {
			kept_old += i < 100 + (unsigned)n;
			kept_new += i >= 100 + (unsigned)n;
		}
	}
	assert_int_equal(kept_old, 0);
	assert_int_equal(kept_new, 900 - (unsigned)n);
}

/* mdb_put_raw - store raw bytes as the record of k, behind the cache */
static void
mdb_put_raw(const char *dir, const struct cache_key *k, const void *b,
    size_t len)
{
	char path[512];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val key = { k->len, (void *)(uintptr_t)k->b };
	MDB_val val = { len, (void *)(uintptr_t)b };

	snprintf(path, sizeof(path), "%s/%s", dir, CACHE_FILE);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_mapsize(env, 16 * MB), 0);
	assert_int_equal(mdb_env_open(env, path, MDB_NOSUBDIR, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &key, &val, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* a good record: one NOT_LISTED entry, of source GOOD_SRC */
static const uint8_t good[8 + 24] = { 1, 1, 0, 0, 1, 0, 0, 0,
    1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 0, 0, 0 };

/* order_key - key i of test_key_order: lengths 1 to 40, shared
   prefixes, bytes 0x00 and 0xff among others */
static struct cache_key
order_key(unsigned i)
{
	static const uint8_t pick[] = { 0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff,
	    'a', 'n' };
	struct cache_key k;
	unsigned h = i * 2654435761U, j;

	k.len = (uint16_t)(1 + h % 40);
	for (j = 0; j < k.len; j++) {
		h = h * 1103515245U + 12345U;
		/* the first bytes mostly alike: long common prefixes */
		k.b[j] = j < (i % 9) ? pick[j % 8] : pick[h >> 16 & 7];
	}
	return k;
}

/*
 * The cache orders keys as LMDB does by default (bytes, then the shorter
 * first): a file written in that order reads back whole, and one the
 * cache wrote reads back whole through LMDB's default order.
 */
static void
test_key_order(void **state)
{
	struct fix *f = *state;
	char path[512];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val key, val;
	struct cache_rec rec;
	struct cache_ent e;
	unsigned i, n = 3000;

	snprintf(path, sizeof(path), "%s/%s", f->dir, CACHE_FILE);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_mapsize(env, 16 * MB), 0);
	assert_int_equal(mdb_env_open(env, path, MDB_NOSUBDIR, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
	for (i = 0; i < n; i++) {
		struct cache_key k = order_key(i);

		key.mv_data = k.b;
		key.mv_size = k.len;
		val.mv_data = (void *)(uintptr_t)good;
		val.mv_size = sizeof(good);
		assert_int_equal(mdb_put(txn, dbi, &key, &val, 0), 0);
	}
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);

	assert_int_equal(fix_open(f, 16 * MB, 0, false, NULL, 0), 0);
	for (i = 0; i < n; i++) {
		struct cache_key k = order_key(i);

		assert_int_equal(cache_lookup(f->r, &k, &rec), 0);
		e = ent(SRC_A, CACHE_LISTED, L(2), T0, 3600, NULL);
		k.b[0] ^= 0x55;		/* more keys, the cache's own */
		put(f, &k, &e);
	}
	fix_close(f);

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_mapsize(env, 16 * MB), 0);
	assert_int_equal(mdb_env_open(env, path, MDB_NOSUBDIR, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
	for (i = 0; i < n; i++) {
		struct cache_key k = order_key(i);

		key.mv_data = k.b;
		key.mv_size = k.len;
		assert_int_equal(mdb_get(txn, dbi, &key, &val), 0);
		k.b[0] ^= 0x55;
		assert_int_equal(mdb_get(txn, dbi, &key, &val), 0);
	}
	mdb_txn_abort(txn);
	mdb_env_close(env);
}

/* Garbage record bytes are a miss (and removed), never a crash. */
static void
test_garbage_records(void **state)
{
	struct fix *f = *state;
	uint8_t bad[12][CACHE_REC_MAX + 8];
	size_t blen[12], nbad = 0, i;
	struct cache_ent e;
	struct cache_rec rec;
	struct cache_info ci;
	char t[32];

	/* the good one reads back */
	assert_int_equal(fix_open(f, 16 * MB, 0, false, NULL, 0), 0);
	fix_close(f);
	{
		struct cache_key k = key("192.0.2.99");

		mdb_put_raw(f->dir, &k, good, sizeof(good));
	}
#define BAD(len)	(blen[nbad] = (len), memcpy(bad[nbad], good, \
			    sizeof(good)), bad[nbad++])
	BAD(1);				/* shorter than a header */
	BAD(7);
	BAD(sizeof(good))[0] = 9;	/* unknown version */
	BAD(sizeof(good))[1] = 200;	/* more entries than allowed */
	BAD(sizeof(good))[1] = 2;	/* an entry missing */
	BAD(sizeof(good) - 1);		/* entry cut short */
	BAD(sizeof(good) + 3);		/* trailing bytes */
	BAD(sizeof(good))[8 + 20] = 7;	/* unknown status */
	BAD(sizeof(good))[8 + 21] = 200;	/* na past the record */
	BAD(sizeof(good))[8 + 22] = 1;	/* TXT flag, no TXT */
	BAD(sizeof(good))[8 + 23] = 250;	/* txt_len without flag */
	memset(BAD(CACHE_REC_MAX + 8), 0xff, CACHE_REC_MAX + 8);
#undef BAD
	for (i = 0; i < nbad; i++) {
		struct cache_key k;

		snprintf(t, sizeof(t), "192.0.2.%zu", 100 + i);
		k = key(t);
		mdb_put_raw(f->dir, &k, bad[i], blen[i]);
	}

	assert_int_equal(fix_open(f, 16 * MB, 0, false, NULL, 0), 0);
	{
		struct cache_key k = key("192.0.2.99");

		assert_true(get(f, &k, GOOD_SRC, &e));
	}
	for (i = 0; i < nbad; i++) {
		struct cache_key k;

		snprintf(t, sizeof(t), "192.0.2.%zu", 100 + i);
		k = key(t);
		assert_int_equal(cache_lookup(f->r, &k, &rec), RBLMUX_ENOENT);
	}
	cache_sync(f->c);	/* the misses queued their removal */
	cache_get_info(f->c, &ci);
	assert_int_equal(ci.records, 1);

	/* a record handed in with garbage decodes nothing */
	memset(&rec, 0xff, sizeof(rec));
	assert_false(cache_rec_get(&rec, SRC_A, &e));
	rec.len = sizeof(good);
	memcpy(rec.b, good, sizeof(good));
	rec.b[1] = 3;
	assert_false(cache_rec_get(&rec, SRC_A, &e));

	/* nor does an index over bytes changed since: a LISTED entry
	   claiming more codes than an entry holds */
	memset(&rec, 0, sizeof(rec));
	rec.len = sizeof(good);
	memcpy(rec.b, good, sizeof(good));
	assert_true(cache_rec_index(&rec));
	assert_true(cache_rec_get(&rec, GOOD_SRC, &e));
	rec.b[8 + 20] = CACHE_LISTED;
	rec.b[8 + 21] = 200;
	assert_false(cache_rec_get(&rec, GOOD_SRC, &e));
}

/*
 * A held reader keeps one snapshot from lookup to lookup: a put written
 * meanwhile is seen once it is released. A flush is seen by the very
 * next lookup, held or not.
 */
static void
test_held_reader(void **state)
{
	struct fix *f = *state;
	struct cache_key k = key("192.0.2.50");
	struct cache_ent e, ea, eb;

	assert_int_equal(fix_open(f, 16 * MB, 0, false, NULL, 0), 0);
	ea = ent(SRC_A, CACHE_LISTED, L(2), T0, 3600, NULL);
	eb = ent(SRC_B, CACHE_LISTED, L(4), T0, 3600, NULL);
	put(f, &k, &ea);
	cache_sync(f->c);
	cache_reader_hold(f->r, true);
	assert_true(get(f, &k, SRC_A, &e));

	put(f, &k, &eb);
	cache_sync(f->c);
	assert_false(get(f, &k, SRC_B, &e));	/* the snapshot held */
	cache_reader_release(f->r);
	assert_true(get(f, &k, SRC_B, &e));

	assert_int_equal(cache_flush_key(f->c, &k), 2);
	assert_false(present(f, &k));

	put(f, &k, &ea);
	put(f, &k, &eb);
	cache_sync(f->c);
	assert_true(get(f, &k, SRC_A, &e));
	assert_int_equal(cache_flush_src(f->c, SRC_A), 1);
	assert_false(get(f, &k, SRC_A, &e));
	assert_true(get(f, &k, SRC_B, &e));
	assert_int_equal(cache_drop_positives(f->c, SRC_B, T0), 1);
	assert_false(present(f, &k));

	put(f, &k, &ea);
	cache_sync(f->c);
	assert_true(present(f, &k));
	assert_int_equal(cache_flush_all(f->c), 1);
	assert_false(present(f, &k));

	put(f, &k, &ea);
	cache_sync(f->c);
	cache_reader_hold(f->r, false);
	assert_true(present(f, &k));
}

/* The writer thread applies what is queued; sync waits for it. */
static void
test_writer_thread(void **state)
{
	struct fix *f = *state;
	struct cache_ent e;
	struct cache_info ci;
	/* the thread purges by the clock: entries that are not expired */
	uint32_t now = (uint32_t)time(NULL);
	unsigned i;

	assert_int_equal(fix_open(f, 16 * MB, 0, true, NULL, 0), 0);
	for (i = 0; i < 3000; i++) {
		struct cache_key k = ip(i);

		e = ent(SRC_A, CACHE_LISTED, L(2), now, 86400, NULL);
		put(f, &k, &e);
	}
	cache_sync(f->c);
	cache_get_info(f->c, &ci);
	assert_int_equal(ci.puts, 3000);
	assert_int_equal(ci.records, 3000);
	for (i = 0; i < 3000; i++) {
		struct cache_key k = ip(i);

		assert_true(get(f, &k, SRC_A, &e));
	}
	/* closing applies what is still queued */
	for (i = 3000; i < 4000; i++) {
		struct cache_key k = ip(i);

		e = ent(SRC_B, CACHE_NOT_LISTED, 0, now, 86400, NULL);
		put(f, &k, &e);
	}
	fix_close(f);
	assert_int_equal(fix_open(f, 16 * MB, 0, false, NULL, 0), 0);
	for (i = 3000; i < 4000; i++) {
		struct cache_key k = ip(i);

		assert_true(get(f, &k, SRC_B, &e));
	}
}

/* The writer thread purges expired entries by itself, by the clock. */
static void
test_writer_purges(void **state)
{
	struct fix *f = *state;
	struct cache_key old = key("192.0.2.70"), fresh = key("192.0.2.71");
	uint32_t now = (uint32_t)time(NULL);
	struct cache_ent e;
	int i;

	assert_int_equal(fix_open(f, 16 * MB, 60, true, NULL, 0), 0);
	e = ent(SRC_A, CACHE_LISTED, L(2), now - 1000, 10, NULL);
	put(f, &old, &e);
	e = ent(SRC_A, CACHE_LISTED, L(2), now, 86400, NULL);
	put(f, &fresh, &e);
	cache_sync(f->c);
	assert_true(present(f, &old));
	for (i = 0; i < 300 && present(f, &old); i++)	/* 30 s at most */
		usleep(100 * 1000);
	assert_false(present(f, &old));
	assert_true(present(f, &fresh));
}

/* A full queue drops and counts; nothing waits. */
static void
test_queue_full(void **state)
{
	struct fix *f = *state;
	struct cache_key k = key("192.0.2.60");
	struct cache_ent e = ent(SRC_A, CACHE_LISTED, L(2), T0, 600, NULL);
	struct cache_info ci;
	unsigned i, ok = 0;

	assert_int_equal(fix_open(f, 16 * MB, 0, false, NULL, 0), 0);
	for (i = 0; i < 70000; i++)
		ok += cache_put(f->c, &k, &e) == 0;
	assert_int_equal(cache_touch(f->c, &k, T0), RBLMUX_ESPACE);
	cache_get_info(f->c, &ci);
	assert_int_equal(ok, 65536);
	assert_int_equal(ci.put_dropped, 70000 - 65536 + 1);
	cache_sync(f->c);
	assert_int_equal(cache_put(f->c, &k, &e), 0);
}

/* A writer killed without closing leaves a file that opens intact. */
static void
test_killed_writer(void **state)
{
	struct fix *f = *state;
	struct cache_ent e;
	pid_t pid;
	int st;
	unsigned i;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct fix ch = *f;
		struct cache_rec rec;

		if (fix_open(&ch, 16 * MB, 0, false, NULL, 0) != 0)
			_exit(2);
		for (i = 0; i < 500; i++) {
			struct cache_key k = ip(i);

			e = ent(SRC_A, CACHE_LISTED, L(2), T0, 600, NULL);
			cache_put(ch.c, &k, &e);
		}
		cache_sync(ch.c);
		(void)cache_lookup(ch.r, &(struct cache_key){ 5,
		    { 4, 198, 51, 0, 1 } }, &rec);
		/* queued, never written: lost, the rest intact */
		e = ent(SRC_B, CACHE_LISTED, L(2), T0, 600, NULL);
		cache_put(ch.c, &(struct cache_key){ 5, { 4, 198, 51, 0, 1 } },
		    &e);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(fix_open(f, 16 * MB, 0, false, NULL, 0), 0);
	for (i = 0; i < 500; i++) {
		struct cache_key k = ip(i);

		assert_true(get(f, &k, SRC_A, &e));
	}
	e = ent(SRC_A, CACHE_LISTED, L(3), T0 + 1, 600, NULL);
	put(f, &(struct cache_key){ 5, { 4, 198, 51, 0, 1 } }, &e);
	cache_sync(f->c);
	assert_true(get(f, &(struct cache_key){ 5, { 4, 198, 51, 0, 1 } },
	    SRC_A, &e));
	assert_int_equal(e.a[0], L(3));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test_setup_teardown(test_put_get_several, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_txt_kept, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_purge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_purge_many, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_queued, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_moved_aside,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_evict_small_map, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_evict_order, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_key_order, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_held_reader, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_garbage_records, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_writer_thread, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_writer_purges, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_queue_full, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_killed_writer, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
