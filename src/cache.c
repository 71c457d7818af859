/*
 * cache.c -- upstream results kept in LMDB (see cache.h for the contract).
 *
 * Record encoding (the LMDB value of a subject's key), little endian:
 *
 *   header, 8 bytes:  version (1) | entry count (<= CACHE_MAX_ENT) |
 *                     2 zero bytes | atime u32
 *   entry, 24 bytes + 4 per code + optional TXT:
 *     0  src u64        8 stored u32      12 expires u32    16 ttl u32
 *     20 status u8      21 na u8          22 flags u8 (1: TXT follows)
 *     23 txt_len u8     24 codes, na x u32
 *     then with flag 1: txt_expires u32, txt_len bytes of TXT
 *
 * A LISTED entry has 1..UPRESP_MAX_A codes, a NOT_LISTED one none. A
 * record read back is walked against its length before use: one that
 * does not parse exactly is garbage (a miss, deleted by the writer).
 *
 * Writes: cache_put()/cache_touch() append an operation to the fill
 * half of a double buffer (bounded in bytes and operations); the writer
 * swaps the halves and applies the drained one in write transactions of
 * a few operations each, read-modify-write per record. Every write
 * transaction of this process is taken under wmu, which also guards the
 * write-side scratch buffers and the purge position.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>

#include "answer.h"
#include "cache.h"
#include "cache_int.h"
#include "conf.h"
#include "err.h"
#include "log.h"
/* ---- encoding ------------------------------------------------------- */


/*
 * ent_len - length of the entry at off in b[len], 0 if it is garbage;
 * inline: a cache hit walks a record's entries once per upstream
 */
static inline size_t
ent_len(const uint8_t *b, size_t len, size_t off)
{
	const uint8_t *e = b + off;
	size_t n;

	if (off > len || len - off < ENT_FIXED)
		return 0;
	if (e[E_FLAGS] & ~EF_TXT)
		return 0;
	if (e[E_STATUS] == CACHE_LISTED) {
		if (e[E_NA] == 0 || e[E_NA] > UPRESP_MAX_A)
			return 0;
	} else if (e[E_STATUS] != CACHE_NOT_LISTED || e[E_NA] != 0)
		return 0;
	n = ENT_FIXED + 4U * e[E_NA];
	if (e[E_FLAGS] & EF_TXT)
		n += 4U + e[E_TXTLEN];
	else if (e[E_TXTLEN] != 0)
		return 0;
	return len - off < n ? 0 : n;
}

size_t
cache_ent_len(const uint8_t *b, size_t len, size_t off)
{
	return ent_len(b, len, off);
}

/*
 * rec_walk - the number of entries of b[len] when it parses exactly as
 * a record, else -1; with src and off, where each entry starts and
 * whose it is
 */
static int
rec_walk(const uint8_t *restrict b, size_t len, uint64_t *restrict src,
    uint16_t *restrict off)
{
	size_t o = REC_HDR, n, i, nent;

	if (len < REC_HDR || len > CACHE_REC_MAX || b[0] != REC_VERSION ||
	    b[1] > CACHE_MAX_ENT || b[2] != 0 || b[3] != 0)
		return -1;
	nent = b[1];
	for (i = 0; i < nent; i++, o += n) {
		if ((n = ent_len(b, len, o)) == 0)
			return -1;
		if (src != NULL) {
			src[i] = get64(b + o + E_SRC);
			off[i] = (uint16_t)o;
		}
	}
	return o == len ? (int)nent : -1;
}

/* cache_rec_valid - b[len] parses exactly as a record */
bool
cache_rec_valid(const uint8_t *b, size_t len)
{
	return rec_walk(b, len, NULL, NULL) >= 0;
}

/* ent_encode - e into out[ENT_MAX]; its length, 0 when e is no entry */
static size_t
ent_encode(const struct cache_ent *e, uint8_t *out)
{
	size_t n = ENT_FIXED, tl, i;
	unsigned na = e->na;

	if (e->status == CACHE_LISTED) {
		if (na == 0)
			return 0;
		if (na > UPRESP_MAX_A)
			na = UPRESP_MAX_A;
	} else if (e->status == CACHE_NOT_LISTED)
		na = 0;
	else
		return 0;
	tl = e->has_txt ? e->txt_len : 0;
	if (tl > UPRESP_MAX_TXT)
		tl = UPRESP_MAX_TXT;
	put64(out + E_SRC, e->src);
	put32(out + E_STORED, e->stored);
	put32(out + E_EXPIRES, e->expires);
	put32(out + E_TTL, e->ttl);
	out[E_STATUS] = e->status;
	out[E_NA] = (uint8_t)na;
	out[E_FLAGS] = e->has_txt ? EF_TXT : 0;
	out[E_TXTLEN] = (uint8_t)tl;
	for (i = 0; i < na; i++, n += 4)
		put32(out + n, e->a[i]);
	if (e->has_txt) {
		put32(out + n, e->txt_expires);
		memcpy(out + n + 4, e->txt, tl);
		n += 4 + tl;
	}
	return n;
}

/* ent_decode - the valid entry at b into *e */
static void
ent_decode(const uint8_t *b, struct cache_ent *e)
{
	size_t n = ENT_FIXED, i;

	memset(e, 0, offsetof(struct cache_ent, txt) + 1);
	e->src = get64(b + E_SRC);
	e->stored = get32(b + E_STORED);
	e->expires = get32(b + E_EXPIRES);
	e->ttl = get32(b + E_TTL);
	e->status = b[E_STATUS];
	e->na = b[E_NA];
	for (i = 0; i < e->na; i++, n += 4)
		e->a[i] = get32(b + n);
	if (b[E_FLAGS] & EF_TXT) {
		e->has_txt = true;
		e->txt_expires = get32(b + n);
		e->txt_len = b[E_TXTLEN];
		memcpy(e->txt, b + n + 4, e->txt_len);
		e->txt[e->txt_len] = '\0';
	}
}

/* same_codes - two valid entries answer the same status and codes */
static bool
same_codes(const uint8_t *x, const uint8_t *y)
{
	return x[E_STATUS] == y[E_STATUS] && x[E_NA] == y[E_NA] &&
	    memcmp(x + ENT_FIXED, y + ENT_FIXED, 4U * x[E_NA]) == 0;
}

/* ---- keys ----------------------------------------------------------- */

uint64_t
cache_src_id(const char *zone)
{
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a */
	size_t len = strlen(zone), i;

	while (len > 0 && zone[len - 1] == '.')
		len--;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)zone[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (unsigned char)(ch - 'A' + 'a');
		h = (h ^ ch) * 0x100000001b3ULL;
	}
	return h;
}

/* key_name - name[len] lower-cased, without trailing dots, into k */
static int
key_name(const char *name, size_t len, struct cache_key *k)
{
	size_t i;

	while (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > sizeof(k->b) - 1)
		return RBLMUX_EINVAL;
	k->b[0] = CACHE_KEY_NAME;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (unsigned char)(ch - 'A' + 'a');
		k->b[1 + i] = ch;
	}
	k->len = (uint16_t)(1 + len);
	return 0;
}

int
cache_key_subject(const struct subject *s, struct cache_key *k)
{
	switch (s->kind) {
	case SUBJ_IP4:
		k->b[0] = CACHE_KEY_IP4;
		k->b[1] = (uint8_t)(s->ip4 >> 24);	/* network order */
		k->b[2] = (uint8_t)(s->ip4 >> 16);
		k->b[3] = (uint8_t)(s->ip4 >> 8);
		k->b[4] = (uint8_t)s->ip4;
		k->len = 5;
		return 0;
	case SUBJ_IP6:
		k->b[0] = CACHE_KEY_IP6;
		memcpy(k->b + 1, s->ip6, 16);
		k->len = 17;
		return 0;
	case SUBJ_NAME:
		return key_name(s->name, s->name_len, k);
	default:
		return RBLMUX_EINVAL;
	}
}

int
cache_key_text(const char *text, struct cache_key *k)
{
	char *name;
	int rc;

	if (inet_pton(AF_INET, text, k->b + 1) == 1) {
		k->b[0] = CACHE_KEY_IP4;
		k->len = 5;
		return 0;
	}
	if (inet_pton(AF_INET6, text, k->b + 1) == 1) {
		k->b[0] = CACHE_KEY_IP6;
		k->len = 17;
		return 0;
	}
	if ((rc = conf_parse_dname(text, &name)) != 0)
		return rc == RBLMUX_ENOMEM ? rc : RBLMUX_EINVAL;
	rc = key_name(name, strlen(name), k);
	free(name);
	return rc;
}

/* ---- errors --------------------------------------------------------- */

/* lmdb_err - count an LMDB error, log the first; the RBLMUX_E* code */
int
cache_lmdb_err(struct cache *c, const char *what, int rc)
{
	if (rc == MDB_NOTFOUND)
		return RBLMUX_ENOENT;
	atomic_fetch_add(&c->errors, 1);
	if (!atomic_exchange(&c->logged, true))
		log_warnx("cache: %s: %s (further LMDB errors are only "
		    "counted)", what, mdb_strerror(rc));
	return rc == ENOMEM ? RBLMUX_ENOMEM : RBLMUX_EIO;
}

static bool
corrupt_code(int rc)
{
	return rc == MDB_INVALID || rc == MDB_CORRUPTED ||
	    rc == MDB_VERSION_MISMATCH || rc == MDB_PANIC;
}

/* ---- open and close ------------------------------------------------- */

/* mkdirs - dir and its missing parents, mode 0700 */
static int
mkdirs(const char *dir)
{
	char p[PATH_MAX];
	size_t i, len = strlen(dir);

	if (len == 0 || len >= sizeof(p))
		return RBLMUX_EINVAL;
	memcpy(p, dir, len + 1);
	for (i = 1; i <= len; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0700) == -1 && errno != EEXIST)
			return -errno;
		p[i] = dir[i];
	}
	return 0;
}

/*
 * key_cmp - LMDB's own key order (bytes, then the shorter first), without
 * a call to memcmp() for keys of a few bytes: it is where a lookup spends
 * its comparisons. The order is the default one, so LMDB's tools read
 * and write the file as they are.
 */
static int
key_cmp(const MDB_val *a, const MDB_val *b)
{
	const uint8_t *x = a->mv_data, *y = b->mv_data;
	size_t n = a->mv_size < b->mv_size ? a->mv_size : b->mv_size, i;
	uint32_t p, q;

	/* four bytes at a time, read big-endian whatever the host's
	   order: still the bytes' order */
	for (i = 0; i + 4 <= n; i += 4) {
		memcpy(&p, x + i, 4);
		memcpy(&q, y + i, 4);
		if (p != q)
			return be32toh(p) < be32toh(q) ? -1 : 1;
	}
	for (; i < n; i++)
		if (x[i] != y[i])
			return (int)x[i] - (int)y[i];
	return a->mv_size < b->mv_size ? -1 : a->mv_size > b->mv_size;
}

/* env_open - open c->path; an LMDB code */
static int
env_open(struct cache *c, uint64_t max_size)
{
	MDB_txn *txn;
	int rc, dead;

	if ((rc = mdb_env_create(&c->env)) != 0)
		return rc;
	if ((rc = mdb_env_set_mapsize(c->env, (size_t)max_size)) != 0 ||
	    (rc = mdb_env_set_maxreaders(c->env, 512)) != 0 ||
	    (rc = mdb_env_open(c->env, c->path, MDB_NOSUBDIR | MDB_NOTLS |
	    MDB_NOSYNC | MDB_NORDAHEAD, 0600)) != 0 ||
	    (rc = mdb_reader_check(c->env, &dead)) != 0 ||
	    (rc = mdb_txn_begin(c->env, NULL, 0, &txn)) != 0)
		goto fail;
	if ((rc = mdb_dbi_open(txn, NULL, 0, &c->dbi)) != 0 ||
	    (rc = mdb_set_compare(txn, c->dbi, key_cmp)) != 0) {
		mdb_txn_abort(txn);
		goto fail;
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		goto fail;
	return 0;
fail:
	mdb_env_close(c->env);
	c->env = NULL;
	return rc;
}

/* move_aside - rename the file LMDB refused and its lock file */
static int
move_aside(struct cache *c, char *to, size_t tocap)
{
	char lock[PATH_MAX + 8], lockto[PATH_MAX + 40];
	long t = (long)time(NULL);

	snprintf(to, tocap, "%s.corrupt-%ld", c->path, t);
	snprintf(lock, sizeof(lock), "%s-lock", c->path);
	snprintf(lockto, sizeof(lockto), "%s-lock.corrupt-%ld", c->path, t);
	if (rename(c->path, to) == -1 && errno != ENOENT)
		return -errno;
	if (rename(lock, lockto) == -1 && errno != ENOENT)
		return -errno;
	return 0;
}

static void *writer_main(void *arg);

/*
 * size_marks - operations per transaction and the high and low water
 * marks: a transaction copies the pages it changes, so the map keeps
 * room for two chunks (and a tenth of itself) over the data. A file
 * that has grown larger (a smaller cache-max-size than before) is
 * brought back under max_size.
 */
static void
size_marks(struct cache *c, uint64_t max_size)
{
	MDB_envinfo ei;
	MDB_stat st;
	uint64_t pages, reserve;

	mdb_env_info(c->env, &ei);
	mdb_env_stat(c->env, &st);
	if (ei.me_mapsize < max_size)
		max_size = ei.me_mapsize;
	pages = max_size / st.ms_psize;
	c->chunk = pages / 16 < 8 ? 8 : pages / 16 > CHUNK_MAX ? CHUNK_MAX :
	    pages / 16;
	c->chunk_max = c->chunk;
	reserve = 2 * c->chunk + 16;
	if (reserve < pages / 10)
		reserve = pages / 10;
	if (reserve > pages / 2)
		reserve = pages / 2;
	c->hw = (pages - reserve) * st.ms_psize;
	c->lw = c->hw - pages * 15 / 100 * st.ms_psize;
}

int
cache_open(const struct cache_opts *o, struct cache **out, char *msg,
    size_t msgcap)
{
	struct cache *c;
	char aside[PATH_MAX + 32];
	int rc;

	*out = NULL;
	if (msgcap > 0)
		msg[0] = '\0';
	if (o->dir == NULL || o->max_size == 0 || o->max_size > SIZE_MAX) {
		snprintf(msg, msgcap, "cache: no directory or size");
		return RBLMUX_EINVAL;
	}
	if ((rc = mkdirs(o->dir)) != 0) {
		snprintf(msg, msgcap, "cache: %s: %s", o->dir,
		    rblmux_strerror(rc));
		return rc;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(msg, msgcap, "cache: out of memory");
		return RBLMUX_ENOMEM;
	}
	if (snprintf(c->path, sizeof(c->path), "%s/%s", o->dir, CACHE_FILE) >=
	    (int)sizeof(c->path)) {
		free(c);
		snprintf(msg, msgcap, "cache: %s: path too long", o->dir);
		return RBLMUX_EINVAL;
	}
	c->serve_stale = o->serve_stale;
	c->writer = o->writer;
	c->chunk = CHUNK_MAX;
	pthread_mutex_init(&c->qmu, NULL);
	pthread_mutex_init(&c->wmu, NULL);
	pthread_cond_init(&c->qwork, NULL);
	pthread_cond_init(&c->qdone, NULL);

	rc = env_open(c, o->max_size);
	if (corrupt_code(rc)) {
		const char *why = mdb_strerror(rc);

		if ((rc = move_aside(c, aside, sizeof(aside))) != 0) {
			snprintf(msg, msgcap, "cache: %s is unusable (%s) and "
			    "cannot be moved aside: %s", c->path, why,
			    rblmux_strerror(rc));
			cache_close(c);
			return rc;
		}
		c->moved_aside = true;
		snprintf(msg, msgcap, "cache: %s was unusable (%s): moved to "
		    "%s, starting empty", c->path, why, aside);
		rc = env_open(c, o->max_size);
	}
	if (rc != 0) {
		snprintf(msg, msgcap, "cache: %s: %s", c->path,
		    mdb_strerror(rc));
		cache_close(c);
		return rc == ENOMEM ? RBLMUX_ENOMEM : RBLMUX_EIO;
	}
	size_marks(c, o->max_size);
	if ((c->q[0].b = malloc(QBYTES)) == NULL ||
	    (c->q[1].b = malloc(QBYTES)) == NULL) {
		snprintf(msg, msgcap, "cache: out of memory");
		cache_close(c);
		return RBLMUX_ENOMEM;
	}
	if (c->writer) {
		sigset_t all, old;

		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		rc = pthread_create(&c->thread, NULL, writer_main, c);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (rc != 0) {
			snprintf(msg, msgcap, "cache: writer thread: %s",
			    strerror(rc));
			cache_close(c);
			return -rc;
		}
		c->running = true;
	}
	*out = c;
	return 0;
}

static void drain(struct cache *c);

void
cache_close(struct cache *c)
{
	if (c == NULL)
		return;
	if (c->running) {
		pthread_mutex_lock(&c->qmu);
		c->stop = true;
		pthread_cond_signal(&c->qwork);
		pthread_mutex_unlock(&c->qmu);
		pthread_join(c->thread, NULL);
		c->running = false;
	}
	if (c->env != NULL) {
		if (c->q[0].b != NULL && c->q[1].b != NULL)
			drain(c);
		mdb_env_close(c->env);
	}
	free(c->q[0].b);
	free(c->q[1].b);
	pthread_cond_destroy(&c->qwork);
	pthread_cond_destroy(&c->qdone);
	pthread_mutex_destroy(&c->qmu);
	pthread_mutex_destroy(&c->wmu);
	free(c);
}

/* ---- readers -------------------------------------------------------- */

struct cache_reader *
cache_reader_new(struct cache *c)
{
	struct cache_reader *r;
	int rc;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->c = c;
	if ((rc = mdb_txn_begin(c->env, NULL, MDB_RDONLY, &r->txn)) != 0) {
		cache_lmdb_err(c, "read transaction", rc);
		free(r);
		return NULL;
	}
	mdb_txn_reset(r->txn);
	return r;
}

void
cache_reader_free(struct cache_reader *r)
{
	if (r == NULL)
		return;
	mdb_txn_abort(r->txn);
	free(r);
}

void
cache_reader_release(struct cache_reader *r)
{
	if (r != NULL && r->live) {
		mdb_txn_reset(r->txn);
		r->live = false;
	}
}

void
cache_reader_hold(struct cache_reader *r, bool hold)
{
	r->hold = hold;
	if (!hold)
		cache_reader_release(r);
}

static int q_push(struct cache *c, int type, const struct cache_key *k,
	    const uint8_t *payload, size_t plen);

int
cache_lookup(struct cache_reader *r, const struct cache_key *k,
    struct cache_rec *rec)
{
	MDB_val key, val;
	bool valid;
	int rc;

	if (!cache_key_ok(k))
		return RBLMUX_EINVAL;
	/* a flush is seen at once, even by a snapshot held from before */
	if (r->live && r->flushes != atomic_load(&r->c->flushes))
		cache_reader_release(r);
	if (!r->live) {
		r->flushes = atomic_load(&r->c->flushes);
		if ((rc = mdb_txn_renew(r->txn)) != 0)
			return cache_lmdb_err(r->c, "read transaction", rc);
		r->live = true;
	}
	key.mv_data = (void *)(uintptr_t)k->b;
	key.mv_size = k->len;
	rc = mdb_get(r->txn, r->c->dbi, &key, &val);
	valid = false;
	if (rc == 0 && val.mv_size <= CACHE_REC_MAX) {
		memcpy(rec->b, val.mv_data, val.mv_size);
		rec->len = val.mv_size;
		valid = cache_rec_index(rec);
	}
	if (!r->hold || rc != 0)
		cache_reader_release(r);
	if (rc != 0)
		return cache_lmdb_err(r->c, "get", rc);
	if (!valid) {
		/* garbage: a miss, and the writer removes it */
		(void)q_push(r->c, OP_DEL, k, NULL, 0);
		return RBLMUX_ENOENT;
	}
	return 0;
}

bool
cache_rec_index(struct cache_rec *rec)
{
	int n = rec_walk(rec->b, rec->len, rec->src, rec->off);

	rec->n = n < 0 ? 0 : (unsigned)n;
	if (n < 0)
		return false;
	rec->atime = get32(rec->b + 4);
	return true;
}

bool
cache_rec_get(const struct cache_rec *rec, uint64_t src,
    struct cache_ent *e)
{
	unsigned i;

	if (rec->n > CACHE_MAX_ENT || rec->len > CACHE_REC_MAX)
		return false;
	for (i = 0; i < rec->n; i++)
		if (rec->src[i] == src) {
			/* cache_rec_index() checked the entry; checked
			   again, a garbage rec (bytes or index) decodes
			   nothing: an entry's codes and TXT are sized by
			   its own bytes */
			if (ent_len(rec->b, rec->len, rec->off[i]) == 0)
				return false;
			ent_decode(rec->b + rec->off[i], e);
			return true;
		}
	return false;
}

/* ---- the queue ------------------------------------------------------ */

static int
q_push(struct cache *c, int type, const struct cache_key *k,
    const uint8_t *payload, size_t plen)
{
	struct qbuf *q;
	size_t need = OP_HDR + k->len + plen;
	uint8_t *p;

	pthread_mutex_lock(&c->qmu);
	q = &c->q[c->qcur];
	if (q->len + need > QBYTES || q->nops >= QMAX_OPS) {
		pthread_mutex_unlock(&c->qmu);
		atomic_fetch_add(&c->put_dropped, 1);
		return RBLMUX_ESPACE;
	}
	p = q->b + q->len;
	p[0] = (uint8_t)type;
	p[1] = 0;
	p[2] = (uint8_t)k->len;
	p[3] = (uint8_t)(k->len >> 8);
	p[4] = (uint8_t)plen;
	p[5] = (uint8_t)(plen >> 8);
	memcpy(p + OP_HDR, k->b, k->len);
	if (plen > 0)
		memcpy(p + OP_HDR + k->len, payload, plen);
	q->len += need;
	if (q->nops++ == 0 && c->running)
		pthread_cond_signal(&c->qwork);
	c->enq_seq++;
	pthread_mutex_unlock(&c->qmu);
	return 0;
}

int
cache_put(struct cache *c, const struct cache_key *k,
    const struct cache_ent *e)
{
	uint8_t b[ENT_MAX];
	size_t n;

	if (!cache_key_ok(k) || (n = ent_encode(e, b)) == 0)
		return RBLMUX_EINVAL;
	return q_push(c, OP_PUT, k, b, n);
}

int
cache_touch(struct cache *c, const struct cache_key *k, time_t now)
{
	uint8_t b[4];

	if (!cache_key_ok(k))
		return RBLMUX_EINVAL;
	put32(b, (uint32_t)now);
	return q_push(c, OP_TOUCH, k, b, sizeof(b));
}

/* ---- applying operations (under wmu) ------------------------------- */

/*
 * rec_merge - old record o[olen] (NULL: none) with the encoded entry
 * e[elen] merged in, into c->wbuf. Returns the new length.
 */
static size_t
rec_merge(struct cache *c, const uint8_t *o, size_t olen, const uint8_t *e,
    size_t elen)
{
	uint8_t *w = c->wbuf;
	uint64_t src = get64(e + E_SRC);
	const uint8_t *keep_txt = NULL;
	size_t off, n, i, cnt = 0, pos = REC_HDR, oldest = SIZE_MAX;
	uint32_t atime = get32(e + E_STORED), ost = UINT32_MAX;
	bool found = false;

	if (o != NULL) {
		if (get32(o + 4) > atime)
			atime = get32(o + 4);
		for (i = 0, off = REC_HDR; i < o[1]; i++, off += n) {
			n = cache_ent_len(o, olen, off);
			if (get64(o + off + E_SRC) == src) {
				found = true;
				if (!(e[E_FLAGS] & EF_TXT) &&
				    (o[off + E_FLAGS] & EF_TXT) &&
				    same_codes(o + off, e))
					keep_txt = o + off;
			} else if (get32(o + off + E_STORED) < ost) {
				ost = get32(o + off + E_STORED);
				oldest = i;
			}
		}
		if (found || o[1] < CACHE_MAX_ENT)
			oldest = SIZE_MAX;
		for (i = 0, off = REC_HDR; i < o[1]; i++, off += n) {
			n = cache_ent_len(o, olen, off);
			if (i == oldest || get64(o + off + E_SRC) == src)
				continue;
			memcpy(w + pos, o + off, n);
			pos += n;
			cnt++;
		}
	}
	memcpy(w + pos, e, elen);
	if (keep_txt != NULL) {
		size_t tl = keep_txt[E_TXTLEN];

		w[pos + E_FLAGS] |= EF_TXT;
		w[pos + E_TXTLEN] = (uint8_t)tl;
		memcpy(w + pos + elen, keep_txt + ENT_FIXED +
		    4U * keep_txt[E_NA], 4 + tl);
		elen += 4 + tl;
	}
	pos += elen;
	w[0] = REC_VERSION;
	w[1] = (uint8_t)(cnt + 1);
	w[2] = w[3] = 0;
	put32(w + 4, atime);
	return pos;
}

/* apply_op - one queued operation in txn; an LMDB code */
static int
apply_op(struct cache *c, MDB_txn *txn, const uint8_t *p)
{
	MDB_val key, val;
	size_t klen = p[2] | (size_t)p[3] << 8;
	size_t plen = p[4] | (size_t)p[5] << 8;
	const uint8_t *pl = p + OP_HDR + klen;
	bool valid;
	uint32_t t;
	int rc;

	key.mv_data = (void *)(uintptr_t)(p + OP_HDR);
	key.mv_size = klen;
	rc = mdb_get(txn, c->dbi, &key, &val);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	valid = rc == 0 && cache_rec_valid(val.mv_data, val.mv_size);
	switch (p[0]) {
	case OP_PUT:
		t = get32(pl + E_STORED);
		if (t > c->last_now)
			c->last_now = t;
		val.mv_size = rec_merge(c, valid ? val.mv_data : NULL,
		    valid ? val.mv_size : 0, pl, plen);
		val.mv_data = c->wbuf;
		if ((rc = mdb_put(txn, c->dbi, &key, &val, 0)) == 0)
			atomic_fetch_add(&c->puts, 1);
		return rc;
	case OP_TOUCH:
		t = get32(pl);
		if (t > c->last_now)
			c->last_now = t;
		if (!valid || get32((const uint8_t *)val.mv_data + 4) >= t)
			break;
		memcpy(c->wbuf, val.mv_data, val.mv_size);
		put32(c->wbuf + 4, t);
		val.mv_data = c->wbuf;
		return mdb_put(txn, c->dbi, &key, &val, 0);
	}
	if (rc == 0 && !valid)		/* garbage read back: remove it */
		return mdb_del(txn, c->dbi, &key, NULL);
	return 0;
}

/* op_next - the offset after the operation at off */
static size_t
op_next(const uint8_t *b, size_t off)
{
	const uint8_t *p = b + off;

	return off + OP_HDR + (p[2] | (size_t)p[3] << 8) +
	    (p[4] | (size_t)p[5] << 8);
}


static time_t
evict_now(struct cache *c)
{
	return c->writer ? time(NULL) : (time_t)c->last_now;
}

/* make_room - after MDB_MAP_FULL: free at least a fifth of the data */
static void
make_room(struct cache *c)
{
	uint64_t used = cache_used_bytes(c, NULL), target = c->lw;

	atomic_fetch_add(&c->map_full, 1);
	if (target > used - used / 5)
		target = used - used / 5;
	(void)cache_evict_locked(c, evict_now(c), target);
}

/*
 * high_water - evict when the data is over the high water mark and has
 * grown back to the records it had when last evicted: records removed
 * here and there leave room in their pages without freeing them.
 */
static void
high_water(struct cache *c, time_t now)
{
	uint64_t records, used = cache_used_bytes(c, &records);

	if (used > c->hw && records >= c->evict_mark)
		(void)cache_evict_locked(c, now, c->lw);
}

/* apply - the operations of q, a chunk per write transaction */
static void
apply(struct cache *c, const struct qbuf *q)
{
	size_t off = 0, end, n;
	int tries = 0, rc;
	MDB_txn *txn;

	while (off < q->len) {
		for (end = off, n = 0; end < q->len && n < c->chunk; n++)
			end = op_next(q->b, end);
		if ((rc = mdb_txn_begin(c->env, NULL, 0, &txn)) == 0) {
			size_t p;

			for (p = off; p < end && rc == 0; p = op_next(q->b, p))
				rc = apply_op(c, txn, q->b + p);
			if (rc == 0)
				rc = mdb_txn_commit(txn);
			else
				mdb_txn_abort(txn);
		}
		if (rc == 0) {
			off = end;
			tries = 0;
			if (c->chunk < c->chunk_max)
				c->chunk++;
			high_water(c, evict_now(c));
			continue;
		}
		if ((rc == MDB_MAP_FULL || rc == MDB_TXN_FULL) && tries < 2) {
			make_room(c);
			if (c->chunk > 1)
				c->chunk /= 2;
			tries++;
			continue;
		}
		if (rc == MDB_MAP_FULL || rc == MDB_TXN_FULL)
			atomic_fetch_add(&c->put_dropped, n);
		else
			cache_lmdb_err(c, "write", rc);
		off = end;
		tries = 0;
	}
}

/* drain - apply everything queued so far (one drain at a time) */
static void
drain(struct cache *c)
{
	struct qbuf *q;
	uint64_t seq;

	pthread_mutex_lock(&c->wmu);
	pthread_mutex_lock(&c->qmu);
	q = &c->q[c->qcur];
	seq = c->enq_seq;
	if (q->nops > 0)
		c->qcur ^= 1;
	pthread_mutex_unlock(&c->qmu);
	if (q->nops > 0) {
		apply(c, q);
		q->len = q->nops = 0;
	}
	pthread_mutex_lock(&c->qmu);
	c->done_seq = seq;
	pthread_cond_broadcast(&c->qdone);
	pthread_mutex_unlock(&c->qmu);
	pthread_mutex_unlock(&c->wmu);
}

static void *
writer_main(void *arg)
{
	struct cache *c = arg;
	time_t last = time(NULL), now;
	struct timespec ts;
	bool stop;

	for (;;) {
		pthread_mutex_lock(&c->qmu);
		if (!c->stop && c->q[c->qcur].nops == 0) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&c->qwork, &c->qmu, &ts);
		}
		stop = c->stop;
		pthread_mutex_unlock(&c->qmu);
		drain(c);
		if (stop)
			break;
		now = time(NULL);
		if (now - last >= MAINT_SECS || now < last) {
			uint64_t records;

			last = now;
			pthread_mutex_lock(&c->wmu);
			/* a share of the records per period, so that every
			   one is seen within PURGE_SWEEP seconds: readers
			   never use an expired entry, the purge only gives
			   its room back, and a full pass every period would
			   cost the whole file's worth of reading each time */
			(void)cache_used_bytes(c, &records);
			records = records / (PURGE_SWEEP / MAINT_SECS) + 1;
			(void)cache_purge_locked(c, now, PURGE_BATCH,
			    records > PURGE_STEP ? (size_t)records :
			    PURGE_STEP);
			high_water(c, now);
			pthread_mutex_unlock(&c->wmu);
		}
	}
	return NULL;
}

void
cache_sync(struct cache *c)
{
	uint64_t target;

	if (!c->running) {
		drain(c);
		return;
	}
	pthread_mutex_lock(&c->qmu);
	target = c->enq_seq;
	pthread_cond_signal(&c->qwork);
	while (c->done_seq < target)
		pthread_cond_wait(&c->qdone, &c->qmu);
	pthread_mutex_unlock(&c->qmu);
}

void
cache_get_info(struct cache *c, struct cache_info *ci)
{
	MDB_envinfo ei;
	struct stat sb;

	memset(ci, 0, sizeof(*ci));
	ci->used = cache_used_bytes(c, &ci->records);
	if (mdb_env_info(c->env, &ei) == 0)
		ci->map_size = ei.me_mapsize;
	if (stat(c->path, &sb) == 0)
		ci->file_size = (uint64_t)sb.st_size;
	ci->puts = atomic_load(&c->puts);
	ci->put_dropped = atomic_load(&c->put_dropped);
	ci->purged = atomic_load(&c->purged);
	ci->evicted = atomic_load(&c->evicted);
	ci->map_full = atomic_load(&c->map_full);
	ci->errors = atomic_load(&c->errors);
	ci->moved_aside = c->moved_aside;
}
