/*
 * dyn.h -- dynamic list entries: added and deleted at run time
 * ("rblmuxctl list add/del"), answered beside a local list's files at
 * once, without a reload.
 *
 * Entries. An entry belongs to a list NAME and is one of: an IPv4 or
 * IPv6 address or prefix ("203.0.113.7", "192.0.2.0/24", "2001:db8::/48";
 * bits past the length must be zero, as in list files and the config),
 * or for dnset lists a name ("mail.example.com") or a wildcard
 * ("*.example.com": the names below, not the name itself). Each has an
 * A value (127.0.0.2 unless given), an optional reason (its TXT, "$"
 * standing for the subject as in list files), when it was added and last
 * refreshed, and when it expires (DYN_TTL_DEFAULT after the last add
 * unless given; DYN_NEVER: never). Adding an entry that exists refreshes
 * it (Backscatterer model): a new expiry, and the reason and value when
 * given. An IPv4/IPv6 lookup answers the longest live prefix holding the
 * address (one entry, one value); a name lookup the exact name, else the
 * wildcard of the nearest enclosing name.
 *
 * Durable store. LMDB file dyn.mdb in state-dir (MDB_NOSUBDIR, commits
 * synced: an entry is on disk before dyn_add() or dyn_del() returns, and
 * survives a restart or kill -9). One record per entry; the key is text,
 * "LIST ENTRY" ("local 203.0.113.7", "local 192.0.2.0/24", "names
 * *.example.com"), so mdb_dump -p reads well and one address may be in
 * several lists; the value a little-endian record (version, value,
 * added, refreshed, expires, reason). dyn_open() reads every record into
 * the index, after a child process has read it whole (LMDB trusts its
 * pages: a damaged file can crash the reader). A store that cannot be
 * opened (unwritable directory, a file LMDB refuses, a file whose
 * reading crashed the child) is never moved aside or replaced:
 * dyn_open() still returns a store, which answers nothing and whose
 * dyn_add()/dyn_del() fail saying why (dyn_error()), so the server
 * answers from its files.
 *
 * Index. One struct dyn_list per list name, created on first use and
 * kept until dyn_close(), so its address is stable: entries outlive
 * reloads, and a list that leaves the config keeps its entries (they
 * answer again when it comes back). dyn_bind() stores in each vlist of
 * a view the dyn_list of its name (vl->dyn); the loop calls it for every
 * view it swaps in, before the view answers. Other modules reach a
 * list's entries through vl->dyn or dyn_list_find(dyn_main, name), and
 * visit them with dyn_walk(). Lookups read the index
 * with no allocation, no lock, no I/O; a list without entries costs the
 * query path one check (dyn_any()).
 *
 * Expiry. A lookup ignores an entry whose expiry is not after the time
 * it is given, so an entry stops answering at once; dyn_expire() (a
 * timer started by dyn_start(), every DYN_EXPIRE_SECS) removes expired
 * entries from LMDB and the index, at most DYN_EXPIRE_BATCH per
 * transaction, earliest first.
 *
 * Change hooks. dyn_on_change() registers a function called in the loop
 * after each add, refresh, delete and expiry, with the list name and the
 * entry (struct list_entry, as list_walk() gives a file's entries), so
 * escalation counts and served zones' serials can follow.
 *
 * Threads: everything runs in the event loop thread (the control socket,
 * the timer, the query path); nothing is locked. dyn_main is the
 * server's store (NULL in tools and tests that do not open one).
 */
#ifndef RBLMUX_DYN_H
#define RBLMUX_DYN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "list.h"

struct ev_loop;
struct view;
struct dyn;
struct dyn_ent;
struct dyn_anc;

#define DYN_TTL_DEFAULT		(7u * 86400)	/* expiry when not given */
#define DYN_NEVER		UINT32_MAX	/* a ttl: never expires */
#define DYN_REASON_MAX		LIST_TXT_LEN	/* reason bytes, "$" expanded
						   with the entry */
#define DYN_VALUE_DEFAULT	0x7f000002U	/* 127.0.0.2 */
#define DYN_EXPIRE_SECS		1.		/* expiry timer period */
#define DYN_EXPIRE_BATCH	256		/* removals per transaction */
#define DYN_HOOKS_MAX		8
#define DYN_MAP_SIZE		((size_t)1 << 30)	/* LMDB map: 1 GiB */
#define DYN_FILE		"dyn.mdb"

/*
 * One list name's entries. Only n is for other modules (through
 * dyn_any()); the rest belongs to dyn.c.
 */
struct dyn_list {
	size_t		  n;		/* entries indexed (some may have
					   expired and wait for removal) */
	char		 *name;
	uint32_t	  ttl;		/* answer TTL: the list's ttl: */
	unsigned	  fams;		/* DYN_FAM_* its type answers */
	struct dyn_ent	**tab;		/* open addressing, NULL = free */
	size_t		  mask;		/* slots - 1; 0 when no table */
	uint32_t	  len4[33];	/* IPv4 entries per prefix length */
	uint32_t	  len6[129];
	uint64_t	  lens4;	/* bit l: some IPv4 entry of length l */
	uint64_t	  lens6[3];
	size_t		  nnames, nwild;
	struct dyn_anc	 *anc;		/* names with entries below them */
	size_t		  amask, nanc;
	struct dyn_list	 *next;
};

#define DYN_FAM_IP4	0x1
#define DYN_FAM_IP6	0x2
#define DYN_FAM_NAME	0x4

/* Does dl (a vlist's dyn, may be NULL) hold any entry? */
static inline bool
dyn_any(const struct dyn_list *dl)
{
	return dl != NULL && dl->n != 0;
}

/* The server's store, or NULL */
extern struct dyn *dyn_main;

/*
 * Open (create when missing) dir/dyn.mdb and index every entry in it;
 * dir is created (0700) when missing. Returns 0 and *out. When the store
 * cannot be used, still returns 0 and a store holding no entries whose
 * dyn_error() says why (the caller logs it); only RBLMUX_ENOMEM leaves
 * *out unset. Records that do not parse are skipped and counted in
 * *bad (may be NULL).
 */
int	 dyn_open(const char *dir, struct dyn **out, size_t *bad);

/* Close the store (stops the timer) and free every list. Accepts NULL. */
void	 dyn_close(struct dyn *d);

/* Why the store cannot store (NULL: it can). Valid while d lives. */
const char *dyn_error(const struct dyn *d);

/* Start the expiry timer in loop (event loop thread). */
void	 dyn_start(struct dyn *d, struct ev_loop *loop);

/*
 * The list of this name, created when missing (NULL: out of memory).
 * dyn_list_find() never creates.
 */
struct dyn_list *dyn_list_get(struct dyn *d, const char *name);
struct dyn_list *dyn_list_find(const struct dyn *d, const char *name);

/*
 * Bind every vlist of v to the dyn_list of its name (vl->dyn) and give
 * each list the TTL of its config (its values' lv_ttl) and the family
 * its type answers (entries of another family, added before the type
 * changed, stay in the store but answer nothing). A list whose
 * dyn_list cannot be made (out of memory) keeps vl->dyn NULL: it answers
 * from its files. Accepts d NULL (binds nothing).
 */
void	 dyn_bind(struct dyn *d, struct view *v);

/*
 * Lookups, as list_lookup_ip4/ip6/name(): store at most max value
 * pointers (max <= 0: only count) and return how many. The value of the
 * longest live match: lv_a the entry's value, lv_ttl the list's TTL,
 * lv_txt its reason (a template: "$" is the subject) or NULL. An entry
 * answers when its expiry lies after now; now 0 answers every entry
 * still indexed (for an answer written after a wait, whose entries were
 * live when it was decided). Pointers are valid until the next add, del
 * or expiry (never across a return to the loop). addr: IPv4 host order,
 * IPv6 network order. name: lower case, no trailing dot; *subj_off gets
 * the offset in name of the matching entry's name ("$" in a name list).
 */
int	 dyn_lookup_ip4(const struct dyn_list *dl, uint32_t addr, time_t now,
	    const struct list_value **vals, int max);
int	 dyn_lookup_ip6(const struct dyn_list *dl, const uint8_t addr[16],
	    time_t now, const struct list_value **vals, int max);
int	 dyn_lookup_name(const struct dyn_list *dl, const char *name,
	    size_t len, time_t now, const struct list_value **vals, int max,
	    size_t *subj_off);

/*
 * 1 when some name entry of dl lies strictly below name, or a wildcard
 * entry covers name's children ("*.name" or above), so that name, not
 * listed itself, is an empty non-terminal (as list_has_below()); else
 * 0. Counts entries still indexed, expired or not.
 */
int	 dyn_has_below(const struct dyn_list *dl, const char *name,
	    size_t len);

/* What the store knows of an entry beyond its key and value. */
struct dyn_info {
	const char	*list;		/* list name */
	const char	*text;		/* entry as shown and keyed:
					   "203.0.113.7", "192.0.2.0/24",
					   "*.example.com" */
	uint32_t	 value;		/* A, host order */
	const char	*reason;	/* NULL: none */
	time_t		 added;		/* first added */
	time_t		 refreshed;	/* last added (== added at first) */
	time_t		 expires;	/* 0: never */
};

/*
 * The entry behind e (given by dyn_walk() or a change hook), or behind
 * lv (a value a dyn lookup returned). Valid as long as e / lv.
 */
const struct dyn_info *dyn_entry_info(const struct list_entry *e);
const struct dyn_info *dyn_value_info(const struct list_value *lv);

/*
 * Visit dl's entries live at now (now 0: every entry indexed), in no
 * particular order, as struct list_entry (one value; excluded false). fn
 * returning non-zero stops the walk and dyn_walk() returns it; fn must
 * not add or delete entries.
 */
int	 dyn_walk(const struct dyn_list *dl, time_t now, list_walk_fn *fn,
	    void *arg);

/* Every list of the store (linked by next), newest first. */
struct dyn_list *dyn_lists(const struct dyn *d);

/* A parsed entry, as dyn_parse() gives it. */
struct dyn_key {
	int		 family;	/* AF_INET, AF_INET6, AF_UNSPEC (name) */
	uint8_t		 key[16];	/* network order */
	unsigned	 plen;
	bool		 wild;		/* "*.name" */
	char		 name[254];	/* lower case, no "*." */
	char		 text[264];	/* canonical text (see dyn_info) */
};

/*
 * Parse an entry for a list of type t: an address or prefix of the
 * list's family (ip4set, ip4trie: IPv4; ip6trie: IPv6), or a name or
 * "*.name" for dnset. 0, or RBLMUX_EPARSE with the reason in err.
 */
int	 dyn_parse(enum list_type t, const char *text, struct dyn_key *k,
	    char *err, size_t errsz);

/* The list type whose entries look like text: by its form */
enum list_type dyn_type_of(const char *text);

/* The entry of list with key k, or NULL */
const struct dyn_info *dyn_find(const struct dyn *d, const char *list,
	    const struct dyn_key *k);

/* What to add. */
struct dyn_req {
	const char	*list;		/* name (as in the config) */
	enum list_type	 type;		/* the list's type */
	const char	*entry;		/* as dyn_parse() takes it */
	uint32_t	 ttl;		/* seconds from now, >= 1, or
					   DYN_NEVER */
	const char	*reason;	/* NULL: none (a refresh keeps the
					   old one) */
	uint32_t	 value;		/* host order; 0: 127.0.0.2 (a
					   refresh keeps the old one) */
};

/*
 * Add or refresh an entry at time now, durably (the LMDB commit is
 * synced before this returns), then update the index and call the
 * change hooks. Returns 1 when added, 2 when refreshed, or a negative
 * RBLMUX_E* code with the reason in err (bad entry, reason too long or
 * with control characters, a value outside 127.0.0.0/8 or 127.0.0.0 or
 * 127.0.0.1, * no memory, the store unusable or its write failing); on error nothing
 * changed.
 */
int	 dyn_add(struct dyn *d, const struct dyn_req *r, time_t now,
	    char *err, size_t errsz);

/*
 * Delete an entry (as dyn_parse() takes it) of list, durably, then call
 * the hooks. 0, RBLMUX_ENOENT when list holds no such entry (err says
 * so), or another negative code with the reason in err.
 */
int	 dyn_del(struct dyn *d, const char *list, enum list_type type,
	    const char *entry, char *err, size_t errsz);

/*
 * Remove at most max entries expired at now (earliest first) from LMDB
 * and the index, calling the hooks. Returns how many, or a negative code
 * when the LMDB write failed (the entries stay; the next call tries
 * again).
 */
int	 dyn_expire(struct dyn *d, time_t now, size_t max);

enum dyn_change {
	DYN_ADDED = 0,
	DYN_REFRESHED,		/* new expiry; value and reason may differ */
	DYN_DELETED,		/* removed by dyn_del() */
	DYN_EXPIRED,		/* removed by dyn_expire() */
};

/* present: the entry answers after this change */
#define DYN_PRESENT(what)	((what) <= DYN_REFRESHED)

/*
 * Called after the change, in the loop thread; e and its dyn_info are
 * valid during the call only (for DYN_DELETED / DYN_EXPIRED the entry is
 * already out of the index and LMDB).
 */
typedef void dyn_change_fn(void *arg, const char *list,
    const struct list_entry *e, enum dyn_change what);

/* Register a hook (at most DYN_HOOKS_MAX). 0 or RBLMUX_ENOMEM. */
int	 dyn_on_change(struct dyn *d, dyn_change_fn *fn, void *arg);

struct ctl_out;
struct ctl_stream;

/*
 * The control socket's "list add|del|show" (argv[0] is "list") on the
 * local lists of v at time now: the answer in o; false for an error.
 * "list show" of many entries answers true with st set: the entries'
 * keys are taken and sorted now, each chunk of lines made from the
 * entries as they are then (one deleted meanwhile is left out, one
 * added meanwhile not shown), the count last.
 */
bool	 dyn_ctl(struct dyn *d, const struct view *v, int argc, char **argv,
	    time_t now, struct ctl_out *o, struct ctl_stream *st);

/* "expires in 6d23h at 2026-12-08 18:20:00 UTC", "never expires" */
const char *dyn_ctl_expiry(const struct dyn_info *di, time_t now, char *buf,
	    size_t cap);

#endif /* RBLMUX_DYN_H */
