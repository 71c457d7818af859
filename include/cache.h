/*
 * cache.h -- upstream results kept in LMDB.
 *
 * One LMDB environment (the file CACHE_FILE in cache-dir, opened with
 * MDB_NOSUBDIR so state-dir may be the same directory) shared by every
 * event loop of the process; it survives restarts and is disposable:
 * nothing in it is needed to answer.
 *
 * Layout: one record per subject (struct cache_key: family byte + the
 * address, or the lower-case name), holding one entry per upstream zone
 * (struct cache_ent, keyed by cache_src_id() of the zone name) with its
 * own expiry. A query thus costs one LMDB get however many upstreams its
 * zone has, and changing a zone's members needs no flush: an entry is
 * the upstream's raw, validated answer, mapped to results at read time.
 * Errors are never stored.
 *
 * Readers: each loop has a struct cache_reader (a read transaction kept
 * reset between lookups, renewed for one get, or held for one loop
 * iteration: short read transactions, MDB_NOTLS so any thread may hold
 * one). A lookup copies the record out.
 *
 * Writers: cache_put() and cache_touch() only queue (bounded; a full
 * queue drops and counts); a writer thread applies the queue in batches,
 * one write transaction each, merging an entry into the subject's
 * record. The answer path never waits for a write. The same thread
 * purges expired entries (past expiry + serve-stale) in bounded batches
 * and keeps the file under cache-max-size: when the map is over its
 * high-water mark, or a put meets MDB_MAP_FULL, it drops expired entries
 * and then the least recently used records (approximate LRU: a record's
 * access time, refreshed by cache_touch() at most once a minute) and
 * retries. A full cache is never a reason not to answer.
 *
 * Opening: mdb_reader_check() clears readers of dead processes; a file
 * LMDB refuses (corrupt, wrong version) is moved aside
 * (CACHE_FILE.corrupt-UNIXTIME) and an empty cache started, and the
 * error says so. After kill -9 the file opens intact (LMDB's commits are
 * atomic; the environment runs with MDB_NOSYNC: a system crash may lose
 * the last writes, which the cache can afford).
 *
 * The flush functions and cache_purge()/cache_evict() take the write
 * transaction themselves and may be called from any thread (the loop's
 * control socket, tests); they wait for the writer thread's current
 * batch. Time is always passed in.
 */
#ifndef RBLMUX_CACHE_H
#define RBLMUX_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "upresp.h"

#define CACHE_FILE		"cache.mdb"
#define CACHE_MAX_ENT		32	/* upstream entries per record */

/* A subject as a key: family byte, then 4 or 16 bytes, or the name */
#define CACHE_KEY_IP4		4
#define CACHE_KEY_IP6		6
#define CACHE_KEY_NAME		'n'
struct cache_key {
	uint16_t	 len;
	uint8_t		 b[1 + 255];
};

enum cache_status {
	CACHE_NONE = 0,		/* no entry */
	CACHE_LISTED,
	CACHE_NOT_LISTED,
};

/* One upstream zone's answer for a subject. */
struct cache_ent {
	uint64_t	 src;		/* cache_src_id() of the zone */
	uint8_t		 status;	/* enum cache_status */
	uint8_t		 na;
	uint32_t	 a[UPRESP_MAX_A];	/* LISTED: codes, host order */
	uint32_t	 ttl;		/* as answered (clamped) */
	uint32_t	 stored;	/* unix time written */
	uint32_t	 expires;	/* unix time */
	bool		 has_txt;	/* txt below was fetched */
	uint32_t	 txt_expires;
	uint16_t	 txt_len;
	char		 txt[UPRESP_MAX_TXT + 1];
};

/*
 * A record as read: its bytes, decoded per entry on demand, and where
 * each entry starts (cache_rec_index), so finding one upstream's entry
 * costs no walk over the others.
 */
#define CACHE_REC_MAX		(CACHE_MAX_ENT * 320 + 16)
struct cache_rec {
	size_t		 len;
	uint32_t	 atime;		/* last access (approximate) */
	unsigned	 n;		/* entries indexed below */
	uint64_t	 src[CACHE_MAX_ENT];
	uint16_t	 off[CACHE_MAX_ENT];
	uint8_t		 b[CACHE_REC_MAX];
};

struct cache_opts {
	const char	*dir;		/* cache-dir (created if missing) */
	uint64_t	 max_size;	/* cache-max-size, bytes */
	uint32_t	 serve_stale;	/* seconds kept past expiry */
	bool		 writer;	/* start the writer thread (tests may
					   run without: then cache_sync()
					   applies the queue in the caller) */
};

/* Counters of the whole cache (atomic inside; any thread) */
struct cache_info {
	uint64_t	 records;	/* subjects stored */
	uint64_t	 map_size;	/* bytes LMDB may use */
	uint64_t	 used;		/* bytes in use (pages) */
	uint64_t	 file_size;	/* bytes on disk */
	uint64_t	 puts;		/* entries written */
	uint64_t	 put_dropped;	/* queue full */
	uint64_t	 purged;	/* expired entries removed */
	uint64_t	 evicted;	/* records removed for room */
	uint64_t	 map_full;	/* MDB_MAP_FULL met (then evicted) */
	uint64_t	 errors;	/* LMDB errors, logged */
	bool		 moved_aside;	/* a corrupt file was moved at open */
};

struct cache;
struct cache_reader;
struct subject;

/*
 * Open the cache of o. Returns 0 and *out, or a negative RBLMUX_E* code
 * with msg (msgcap bytes) saying why; msg also says when a corrupt file
 * was moved aside (then 0 is returned).
 */
int	 cache_open(const struct cache_opts *o, struct cache **out,
	    char *msg, size_t msgcap);

/* Apply what is queued, stop the writer, close. Accepts NULL. */
void	 cache_close(struct cache *c);

/* The id of an upstream zone (lower case, no trailing dot). */
uint64_t cache_src_id(const char *zone);

/* The key of a subject (kind IP4, IP6 or NAME). Returns 0 or
   RBLMUX_EINVAL. */
int	 cache_key_subject(const struct subject *s, struct cache_key *k);

/* Parse "192.0.2.1", "2001:db8::1" or "example.com" (a domain name as
   conf_parse_dname() accepts it) into a key. Returns 0, RBLMUX_EINVAL
   or RBLMUX_ENOMEM. */
int	 cache_key_text(const char *text, struct cache_key *k);

struct cache_reader *cache_reader_new(struct cache *c);
void	 cache_reader_free(struct cache_reader *r);	/* accepts NULL */

/*
 * Held, a reader keeps its read transaction from one lookup to the next
 * until cache_reader_release(): a loop iteration's lookups then share
 * one snapshot and one renewal. A flush (cache_flush_*(),
 * cache_drop_positives()) is seen at once all the same: the next lookup
 * after it takes a new snapshot. Not held (the default), each lookup
 * reads the newest data.
 */
void	 cache_reader_hold(struct cache_reader *r, bool hold);
void	 cache_reader_release(struct cache_reader *r);	/* accepts NULL */

/*
 * One LMDB get: the record of k into *rec. Returns 0, RBLMUX_ENOENT
 * (no record), or another negative code (an LMDB error: counted, and
 * the caller treats it as a miss).
 */
int	 cache_lookup(struct cache_reader *r, const struct cache_key *k,
	    struct cache_rec *rec);

/* Check rec->b[rec->len] and index its entries: false (and nothing
   indexed) when it is no record. cache_lookup() does it. */
bool	 cache_rec_index(struct cache_rec *rec);

/* Upstream src's entry in rec (indexed) into *e. Returns false when
   none; a rec holding garbage yields none. */
bool	 cache_rec_get(const struct cache_rec *rec, uint64_t src,
	    struct cache_ent *e);

/*
 * Queue e as src e->src's entry of k (replacing the one stored; an
 * entry without TXT keeps the stored TXT when the codes are the same).
 * Returns 0, or RBLMUX_ESPACE (queue full: dropped, counted).
 */
int	 cache_put(struct cache *c, const struct cache_key *k,
	    const struct cache_ent *e);

/* Queue an access-time update of k to now (callers do it at most once
   a minute per record: when rec->atime is older). */
int	 cache_touch(struct cache *c, const struct cache_key *k, time_t now);

/* Wait until everything queued before the call is written. */
void	 cache_sync(struct cache *c);

/* Flushes; each returns the number of entries removed, or a negative
   RBLMUX_E* code. What was queued before the call is written first and
   flushed with the rest (so a flush never leaves an entry put just
   before it to reappear a moment later). */
long	 cache_flush_key(struct cache *c, const struct cache_key *k);
long	 cache_flush_src(struct cache *c, uint64_t src);
long	 cache_flush_all(struct cache *c);
/* src's LISTED entries stored at or after since (a list lost trust) */
long	 cache_drop_positives(struct cache *c, uint64_t src, time_t since);

/*
 * Remove at most max entries expired before now - serve_stale. Returns
 * how many, or a negative code.
 */
long	 cache_purge(struct cache *c, time_t now, size_t max);

/*
 * Remove expired entries, then least recently used records, until the
 * data uses at most target bytes. Returns records removed, or a
 * negative code.
 */
long	 cache_evict(struct cache *c, time_t now, uint64_t target);

void	 cache_get_info(struct cache *c, struct cache_info *ci);

#endif /* RBLMUX_CACHE_H */
