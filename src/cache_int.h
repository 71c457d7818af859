/*
 * cache_int.h -- private interface between cache.c (encoding, open,
 * readers, the queue and its writer) and cache_scan.c (purge, flushes,
 * eviction: the scans over every record). Nothing here is visible
 * outside the cache module.
 */
#ifndef RBLMUX_CACHE_INT_H
#define RBLMUX_CACHE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <time.h>

#include <lmdb.h>

#include "cache.h"

#define REC_VERSION	1
#define REC_HDR		8
#define ENT_FIXED	24
#define E_SRC		0
#define E_STORED	8
#define E_EXPIRES	12
#define E_TTL		16
#define E_STATUS	20
#define E_NA		21
#define E_FLAGS		22
#define E_TXTLEN	23
#define EF_TXT		0x01
#define ENT_MAX		(ENT_FIXED + 4 * UPRESP_MAX_A + 4 + UPRESP_MAX_TXT)

_Static_assert(REC_HDR + CACHE_MAX_ENT * ENT_MAX <= CACHE_REC_MAX,
    "a full record fits struct cache_rec");
_Static_assert(UPRESP_MAX_TXT <= 255, "txt_len is one byte");

/* The queue: two halves of QBYTES, at most QMAX_OPS operations each */
#define QBYTES		(4U * 1024 * 1024)
#define QMAX_OPS	65536
#define OP_HDR		6	/* type, 0, key length u16, payload u16 */
enum { OP_PUT = 1, OP_TOUCH, OP_DEL };

#define CHUNK_MAX	4096	/* operations per write transaction */
#define MAINT_SECS	2	/* writer: purge and size check period */
#define PURGE_BATCH	4096	/* entries per periodic purge */
#define PURGE_SCAN	65536	/* records visited per purge call */
#define PURGE_STEP	2048	/* writer: records visited per period, at least */
#define PURGE_SWEEP	300	/* writer: seconds to visit every record, at most */
#define EVICT_SAMPLE	65536	/* access times sampled per eviction */
#define EVICT_CHUNK	256	/* records deleted per transaction */

struct qbuf {
	uint8_t		*b;
	size_t		 len;
	size_t		 nops;
};

struct cache {
	MDB_env		*env;
	MDB_dbi		 dbi;
	char		 path[PATH_MAX];
	uint32_t	 serve_stale;
	bool		 writer;

	pthread_mutex_t	 qmu;
	pthread_cond_t	 qwork;		/* queue not empty, or stop */
	pthread_cond_t	 qdone;		/* done_seq moved */
	struct qbuf	 q[2];		/* q[qcur] fills */
	int		 qcur;
	uint64_t	 enq_seq;	/* operations queued */
	uint64_t	 done_seq;	/* of those, applied */
	bool		 stop;
	bool		 running;
	pthread_t	 thread;

	pthread_mutex_t	 wmu;		/* write transactions, below */
	size_t		 chunk;		/* operations per transaction */
	size_t		 chunk_max;
	uint64_t	 hw, lw;	/* evict over hw bytes down to lw */
	uint32_t	 last_now;	/* latest time operations carried */
	uint64_t	 evict_mark;	/* records when last found full */
	struct cache_key purge_pos;	/* where the last purge stopped */
	uint8_t		 wbuf[CACHE_REC_MAX];

	_Atomic uint64_t puts, put_dropped, purged, evicted, map_full, errors;
	_Atomic uint32_t flushes;	/* flushes committed: held readers
					   renew at their next lookup */
	atomic_bool	 logged;
	bool		 moved_aside;
};

struct cache_reader {
	struct cache	*c;
	MDB_txn		*txn;
	bool		 hold;		/* keep txn between lookups ... */
	bool		 live;		/* ... and it is renewed now, */
	uint32_t	 flushes;	/* ... when c->flushes was this */
};

/* Little-endian fields of records and queued operations */
static inline uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static inline void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline uint64_t
get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static inline void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static inline bool
cache_key_ok(const struct cache_key *k)
{
	return k->len > 0 && k->len <= sizeof(k->b);
}

/* The length of the entry at off in b[len], 0 if it is garbage */
size_t	 cache_ent_len(const uint8_t *b, size_t len, size_t off);
/* b[len] parses exactly as a record */
bool	 cache_rec_valid(const uint8_t *b, size_t len);
/* Count an LMDB error, log the first; the RBLMUX_E* code */
int	 cache_lmdb_err(struct cache *c, const char *what, int rc);

/* The pages the data uses, in bytes; its record count in *records */
uint64_t cache_used_bytes(struct cache *c, uint64_t *records);

/* With wmu held: as cache_purge(), from where the last purge stopped */
long	 cache_purge_locked(struct cache *c, time_t now, size_t max,
	    size_t max_scan);
/* With wmu held: as cache_evict() */
long	 cache_evict_locked(struct cache *c, time_t now, uint64_t target);
/* With wmu held: as cache_flush_all() */
long	 cache_flush_all_locked(struct cache *c);

#endif /* RBLMUX_CACHE_INT_H */
