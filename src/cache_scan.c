/*
 * cache_scan.c -- the scans over every record of the cache: purge of
 * expired entries, the flushes, and eviction of the least recently used
 * records (see cache_int.h). Each runs in write transactions under wmu.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "cache.h"
#include "cache_int.h"
#include "err.h"

/* keycmp - LMDB's default order of keys */
static int
keycmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	int d = memcmp(a, b, al < bl ? al : bl);

	if (d != 0)
		return d;
	return al < bl ? -1 : al > bl;
}

/* ---- scans: purge, flushes, eviction -------------------------------- */

/* Which entries a scan removes: 1 the entry, 2 only its TXT, 0 none */
typedef int (*drop_fn)(const uint8_t *ent, const void *arg);

/*
 * rec_filter - record o[olen] without the entries drop() names (at most
 * budget of them) into c->wbuf. Returns the entries removed; *len is
 * the new length, 0 when nothing is left, SIZE_MAX when unchanged.
 */
static size_t
rec_filter(struct cache *c, const uint8_t *o, size_t olen, drop_fn drop,
    const void *arg, size_t budget, size_t *len)
{
	uint8_t *w = c->wbuf;
	size_t i, off, n, pos = REC_HDR, cnt = 0, removed = 0;
	bool changed = false;

	for (i = 0, off = REC_HDR; i < o[1]; i++, off += n) {
		int d = drop(o + off, arg);

		n = cache_ent_len(o, olen, off);
		if (d == 1 && removed < budget) {
			removed++;
			changed = true;
			continue;
		}
		memcpy(w + pos, o + off, n);
		if (d == 2) {
			w[pos + E_FLAGS] = 0;
			w[pos + E_TXTLEN] = 0;
			n -= 4U + o[off + E_TXTLEN];
			changed = true;
		}
		pos += n;
		cnt++;
	}
	memcpy(w, o, REC_HDR);
	w[1] = (uint8_t)cnt;
	*len = !changed ? SIZE_MAX : cnt == 0 ? 0 : pos;
	return removed;
}

struct scan {
	drop_fn		 drop;
	const void	*arg;
	size_t		 max;		/* entries to remove at most */
	size_t		 max_scan;	/* records to visit at most */
	const struct cache_key *from;	/* start here, or NULL: the first */
	bool		 wrap;		/* from the first again, up to from */
	struct cache_key *last;		/* the last record visited */
	size_t		 removed;
	bool		 complete;	/* every record was visited */
};

/* scan - remove entries as s says in one write transaction */
static int
scan(struct cache *c, struct scan *s)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val key, val;
	uint8_t kb[sizeof(((struct cache_key *)0)->b)];
	size_t klen, nlen, visited = 0;
	bool wrapped = s->from == NULL;
	int rc;

	s->removed = 0;
	s->complete = false;
	if ((rc = mdb_txn_begin(c->env, NULL, 0, &txn)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, c->dbi, &cur)) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	if (s->from != NULL) {
		key.mv_data = (void *)(uintptr_t)s->from->b;
		key.mv_size = s->from->len;
		rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	} else
		rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
	while (s->removed < s->max && visited < s->max_scan) {
		if (rc == MDB_NOTFOUND && !wrapped && s->wrap) {
			wrapped = true;
			rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
		}
		if (rc != 0)
			break;
		if (s->wrap && wrapped && s->from != NULL && keycmp(key.mv_data,
		    key.mv_size, s->from->b, s->from->len) >= 0) {
			rc = MDB_NOTFOUND;
			break;
		}
		visited++;
		klen = key.mv_size <= sizeof(kb) ? key.mv_size : sizeof(kb);
		memcpy(kb, key.mv_data, klen);
		if (s->last != NULL) {
			memcpy(s->last->b, kb, klen);
			s->last->len = (uint16_t)klen;
		}
		if (!cache_rec_valid(val.mv_data, val.mv_size))
			nlen = 0;
		else
			s->removed += rec_filter(c, val.mv_data, val.mv_size,
			    s->drop, s->arg, s->max - s->removed, &nlen);
		if (nlen == 0)
			rc = mdb_cursor_del(cur, 0);
		else if (nlen != SIZE_MAX) {
			key.mv_data = kb;
			key.mv_size = klen;
			val.mv_data = c->wbuf;
			val.mv_size = nlen;
			rc = mdb_cursor_put(cur, &key, &val, MDB_CURRENT);
		}
		if (rc != 0)
			break;
		rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return rc;
	}
	s->complete = rc == MDB_NOTFOUND;
	return mdb_txn_commit(txn);
}

/* scan_locked - scan as s says; removed entries, or an error */
static long
scan_locked(struct cache *c, struct scan *s, const char *what)
{
	int rc = scan(c, s);

	if (rc == MDB_MAP_FULL)
		atomic_fetch_add(&c->map_full, 1);
	else if (rc != 0)
		return cache_lmdb_err(c, what, rc);
	return rc != 0 ? RBLMUX_ESPACE : (long)s->removed;
}

struct purge_arg {
	uint64_t	 now;
	uint64_t	 stale;
};

static int
drop_expired(const uint8_t *e, const void *arg)
{
	const struct purge_arg *pa = arg;

	if (get32(e + E_EXPIRES) + pa->stale < pa->now)
		return 1;
	if ((e[E_FLAGS] & EF_TXT) && get32(e + ENT_FIXED + 4U * e[E_NA]) +
	    pa->stale < pa->now)
		return 2;
	return 0;
}

/*
 * purge_from - remove at most max expired entries, visiting at most
 * max_scan records from *pos (len 0: the first record), going round to
 * it again when wrap; *pos becomes where
 * this one stopped (that record is seen again), len 0 when it went
 * through. Returns the entries removed or an error.
 */
static long
purge_from(struct cache *c, time_t now, size_t max, size_t max_scan,
    struct cache_key *pos, bool wrap)
{
	struct purge_arg pa = { (uint64_t)now, c->serve_stale };
	struct cache_key from = *pos;
	struct scan s = { .drop = drop_expired, .arg = &pa, .max = max,
	    .max_scan = max_scan, .from = from.len > 0 ? &from : NULL,
	    .wrap = wrap, .last = pos };
	long n;

	if (now < 0)
		return RBLMUX_EINVAL;
	n = scan_locked(c, &s, "purge");
	if (n >= 0)
		atomic_fetch_add(&c->purged, (uint64_t)n);
	if (n < 0 || s.complete)
		pos->len = 0;
	return n;
}

long
cache_purge_locked(struct cache *c, time_t now, size_t max, size_t max_scan)
{
	return purge_from(c, now, max, max_scan, &c->purge_pos, true);
}

long
cache_purge(struct cache *c, time_t now, size_t max)
{
	long n;

	pthread_mutex_lock(&c->wmu);
	n = cache_purge_locked(c, now, max, PURGE_SCAN);
	pthread_mutex_unlock(&c->wmu);
	return n;
}

struct src_arg {
	uint64_t	 src;
	uint64_t	 since;
	bool		 positives;
};

static int
drop_src(const uint8_t *e, const void *arg)
{
	const struct src_arg *sa = arg;

	if (get64(e + E_SRC) != sa->src)
		return 0;
	if (!sa->positives)
		return 1;
	return e[E_STATUS] == CACHE_LISTED &&
	    get32(e + E_STORED) >= sa->since;
}

static long
flush_scan(struct cache *c, const struct src_arg *sa)
{
	struct scan s = { .drop = drop_src, .arg = sa, .max = SIZE_MAX,
	    .max_scan = SIZE_MAX };
	long n;

	cache_sync(c);		/* what was queued before goes too */
	pthread_mutex_lock(&c->wmu);
	n = scan_locked(c, &s, "flush");
	atomic_fetch_add(&c->flushes, 1);
	pthread_mutex_unlock(&c->wmu);
	return n;
}

long
cache_flush_src(struct cache *c, uint64_t src)
{
	struct src_arg sa = { src, 0, false };

	return flush_scan(c, &sa);
}

long
cache_drop_positives(struct cache *c, uint64_t src, time_t since)
{
	struct src_arg sa = { src, since < 0 ? 0 : (uint64_t)since, true };

	return flush_scan(c, &sa);
}

long
cache_flush_key(struct cache *c, const struct cache_key *k)
{
	MDB_txn *txn;
	MDB_val key, val;
	long n = 0;
	int rc;

	if (!cache_key_ok(k))
		return RBLMUX_EINVAL;
	key.mv_data = (void *)(uintptr_t)k->b;
	key.mv_size = k->len;
	cache_sync(c);
	pthread_mutex_lock(&c->wmu);
	if ((rc = mdb_txn_begin(c->env, NULL, 0, &txn)) == 0) {
		rc = mdb_get(txn, c->dbi, &key, &val);
		if (rc == 0) {
			if (cache_rec_valid(val.mv_data, val.mv_size))
				n = ((const uint8_t *)val.mv_data)[1];
			rc = mdb_del(txn, c->dbi, &key, NULL);
		}
		if (rc == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
	}
	atomic_fetch_add(&c->flushes, 1);
	pthread_mutex_unlock(&c->wmu);
	if (rc == MDB_NOTFOUND)
		return 0;
	return rc != 0 ? cache_lmdb_err(c, "flush", rc) : n;
}

/* flush_all_locked - drop every record; the entries dropped */
long
cache_flush_all_locked(struct cache *c)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val key, val;
	long n = 0;
	int rc;

	if ((rc = mdb_txn_begin(c->env, NULL, 0, &txn)) == 0) {
		if ((rc = mdb_cursor_open(txn, c->dbi, &cur)) == 0) {
			while ((rc = mdb_cursor_get(cur, &key, &val,
			    MDB_NEXT)) == 0)
				if (cache_rec_valid(val.mv_data, val.mv_size))
					n += ((const uint8_t *)val.mv_data)[1];
			mdb_cursor_close(cur);
		}
		if (rc == MDB_NOTFOUND)
			rc = mdb_drop(txn, c->dbi, 0);
		if (rc == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
	}
	atomic_fetch_add(&c->flushes, 1);
	c->purge_pos.len = 0;
	return rc != 0 ? cache_lmdb_err(c, "flush", rc) : n;
}

long
cache_flush_all(struct cache *c)
{
	long n;

	cache_sync(c);
	pthread_mutex_lock(&c->wmu);
	n = cache_flush_all_locked(c);
	pthread_mutex_unlock(&c->wmu);
	return n;
}

/* used_bytes - the pages of the data; its record count in *records */
uint64_t
cache_used_bytes(struct cache *c, uint64_t *records)
{
	MDB_stat st;

	if (mdb_env_stat(c->env, &st) != 0) {
		if (records != NULL)
			*records = 0;
		return 0;
	}
	if (records != NULL)
		*records = st.ms_entries;
	return ((uint64_t)st.ms_branch_pages + st.ms_leaf_pages +
	    st.ms_overflow_pages) * st.ms_psize;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* lru_threshold - the access time below which about want records lie */
static int
lru_threshold(struct cache *c, uint64_t records, uint64_t want,
    uint32_t *thr)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val key, val;
	uint64_t stride = records / EVICT_SAMPLE + 1, i = 0;
	uint32_t *s;
	size_t ns = 0;
	int rc;

	if ((s = malloc(EVICT_SAMPLE * sizeof(*s) + sizeof(*s))) == NULL)
		return ENOMEM;
	if ((rc = mdb_txn_begin(c->env, NULL, MDB_RDONLY, &txn)) != 0) {
		free(s);
		return rc;
	}
	if ((rc = mdb_cursor_open(txn, c->dbi, &cur)) == 0) {
		while (ns <= EVICT_SAMPLE && (rc = mdb_cursor_get(cur, &key,
		    &val, MDB_NEXT)) == 0) {
			if (i++ % stride != 0)
				continue;
			s[ns++] = cache_rec_valid(val.mv_data, val.mv_size) ?
			    get32((const uint8_t *)val.mv_data + 4) : 0;
		}
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	if (rc == MDB_NOTFOUND || rc == 0) {
		rc = 0;
		if (ns == 0)
			*thr = 0;
		else {
			/* the want-th smallest of the sample's share */
			size_t at = (size_t)(want * ns / (records ? records : 1));

			at -= at > 0;
			qsort(s, ns, sizeof(*s), cmp_u32);
			*thr = s[at < ns ? at : ns - 1];
		}
	}
	free(s);
	return rc;
}

/*
 * evict_lru - delete about want records with the oldest access times
 * (below thr; at thr while fewer than want went), a chunk of them per
 * write transaction so that each commit frees pages the next may use.
 */
static int
evict_lru(struct cache *c, uint64_t want, uint32_t thr, uint64_t *gone)
{
	struct cache_key pos;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val key, val;
	size_t chunk = EVICT_CHUNK, n;
	bool more = true;
	int rc = 0;

	pos.len = 0;
	*gone = 0;
	while (more && *gone < want) {
		if ((rc = mdb_txn_begin(c->env, NULL, 0, &txn)) != 0)
			return rc;
		if ((rc = mdb_cursor_open(txn, c->dbi, &cur)) != 0) {
			mdb_txn_abort(txn);
			return rc;
		}
		key.mv_data = pos.b;
		key.mv_size = pos.len;
		rc = mdb_cursor_get(cur, &key, &val, pos.len > 0 ?
		    MDB_SET_RANGE : MDB_FIRST);
		for (n = 0; rc == 0 && n < chunk && *gone + n < want;
		    rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
			uint32_t at = cache_rec_valid(val.mv_data, val.mv_size) ?
			    get32((const uint8_t *)val.mv_data + 4) : 0;

			pos.len = (uint16_t)(key.mv_size <= sizeof(pos.b) ?
			    key.mv_size : sizeof(pos.b));
			memcpy(pos.b, key.mv_data, pos.len);
			if (at > thr)
				continue;
			if ((rc = mdb_cursor_del(cur, 0)) != 0)
				break;
			n++;
		}
		more = rc == 0;
		mdb_cursor_close(cur);
		if (rc == MDB_NOTFOUND)
			rc = 0;
		if (rc == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
		if (rc == MDB_MAP_FULL && chunk > 1) {
			chunk = 1;	/* the smallest step frees a page */
			more = true;
			continue;
		}
		if (rc != 0)
			return rc;
		*gone += n;
		if (chunk < EVICT_CHUNK)
			chunk *= 2;
	}
	return 0;
}

long
cache_evict_locked(struct cache *c, time_t now, uint64_t target)
{
	uint64_t records, used, want, gone = 0;
	uint32_t thr;
	struct cache_key pos;
	int rc;

	/* expired entries first, every record, a batch per transaction */
	pos.len = 0;
	do {
		if (purge_from(c, now, EVICT_CHUNK * 4, PURGE_SCAN, &pos,
		    false) < 0)
			break;
	} while (pos.len > 0);
	used = cache_used_bytes(c, &records);
	c->evict_mark = records;
	if (used <= target || records == 0)
		return 0;
	want = (records * (used - target) + used - 1) / used;
	if ((rc = lru_threshold(c, records, want, &thr)) == 0)
		rc = evict_lru(c, want, thr, &gone);
	atomic_fetch_add(&c->evicted, gone);
	if (rc == MDB_MAP_FULL && gone == 0) {
		/* not even one record at a time: start over empty */
		if (cache_flush_all_locked(c) >= 0) {
			atomic_fetch_add(&c->evicted, records);
			return (long)records;
		}
		return RBLMUX_ESPACE;
	}
	if (rc != 0 && gone == 0)
		return cache_lmdb_err(c, "evict", rc);
	return (long)gone;
}

long
cache_evict(struct cache *c, time_t now, uint64_t target)
{
	long n;

	pthread_mutex_lock(&c->wmu);
	n = cache_evict_locked(c, now, target);
	pthread_mutex_unlock(&c->wmu);
	return n;
}
