/*
 * list.h -- local lists in rbldnsd's data file syntax.
 *
 * A list is loaded from one or more files (treated as one logical file, as
 * rbldnsd does with "type:file1,file2") into an immutable in-memory index
 * and is then only read. Four formats:
 *   LIST_IP4SET   rbldnsd ip4set: addresses, prefixes ("127.0.0"), CIDR,
 *                 ranges incl. short forms ("127.16-31"), "!" exclusions;
 *                 lookup semantics identical to rbldnsd (entries expanded
 *                 to /32, /24, /16, /8 granularity; the most specific
 *                 granularity holding the address decides; an exclusion
 *                 at that granularity wins; several values at that
 *                 granularity are all returned).
 *   LIST_IP4TRIE  rbldnsd ip4trie: CIDR only, longest prefix match.
 *   LIST_IP6TRIE  rbldnsd ip6trie: IPv6 CIDR, longest prefix match, "!".
 *   LIST_DNSET    rbldnsd dnset: names, "*.x" (subdomains), ".x" (both), "!".
 * Common syntax: ":A:TXT" default-value lines, per-entry values, "$TTL",
 * "$n text" substitutions, "$=" base template, "$SOA"/"$NS" (parsed and
 * recorded), "$MAXRANGE4", "$TIMESTAMP", "#"/";" comments.
 *
 * Where rbldnsd's behaviour is not obvious it is followed as measured
 * against rbldnsd 1.0pre (20210120): the last $TTL applies to the whole
 * list; the first $n/$= definition wins and is applied when the load
 * finishes; a default line lasts to the end of its file; ":2" means
 * 127.0.0.2 and ":1.2" means 1.0.0.2; TXT text is cut to 255 bytes as
 * read and to 254 once expanded; duplicate trie prefixes keep the first.
 * Deliberate differences: CR counts as blank (CRLF files work), lines
 * with NUL bytes or longer than 64 KiB are reported and skipped, gzip
 * files are not read.
 *
 * Problems are reported through the warn callback with file:line, each
 * with a severity: an error is a line (or file) whose data could not be
 * used -- a key or value that does not parse, an invalid special, a
 * binary or overlong line: the signs of a broken download; the line is
 * skipped. A warning is a line that was used as well as it can be, or
 * that adds nothing: a repeated trie prefix (the first one counts), a
 * TXT cut to 255 bytes, a range beyond $MAXRANGE4, a $TIMESTAMP in the
 * future, a TTL clamped to 2^31-1 (RFC 2181 8). Nothing in a data file
 * can crash the loader. Lookups never allocate and are O(log n).
 *
 * Only regular files are read (a FIFO or a device is refused at once,
 * without blocking), and a file whose size or modification time changes
 * while it is read fails the load with RBLMUX_ECHANGED: it was being
 * rewritten in place and must be read again.
 *
 * Memory: a load holds at most about twice the memory of the list it
 * builds, plus a small constant (duplicate blocks, keys and values are
 * dropped while reading, not at the end); opts->max_memory bounds the
 * list's data.
 *
 * Thread safety: list_load() may run in any thread; a loaded list is
 * immutable and may be read from any number of threads.
 */
#ifndef RBLMUX_LIST_H
#define RBLMUX_LIST_H

#include <sys/socket.h>
#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

enum list_type {
	LIST_IP4SET = 0,
	LIST_IP4TRIE,
	LIST_IP6TRIE,
	LIST_DNSET,
};

/* rbldnsd's longest TXT answer; list_txt_expand() with this bufsz gives
   the same text */
#define LIST_TXT_LEN	254

/* What a listing answers with. Owned by the list; valid while it lives. */
struct list_value {
	uint32_t	 lv_a;		/* A record, host byte order */
	uint32_t	 lv_ttl;	/* the list's last $TTL (rbldnsd applies
					   it to every entry), else
					   opts->default_ttl; at most
					   LIST_TTL_MAX */
	const char	*lv_txt;	/* TXT template with $n and $= already
					   resolved; "$" still stands for the
					   subject, "$$" for a dollar sign.
					   NULL: no TXT record */
};

/* How much a problem found while loading matters (see above). */
enum list_severity {
	LIST_WARNING = 0,	/* reported; the line was used or adds nothing */
	LIST_ERROR,		/* a line or file whose data could not be used */
};

/* Called once per problem found while loading; line 0 = whole file. */
typedef void list_warn_fn(void *arg, enum list_severity sev,
    const char *file, unsigned line, const char *msg);

/* What a list file was when it was opened, to notice a later change. */
struct list_file_id {
	dev_t		 dev;
	ino_t		 ino;		/* 0: missing */
	off_t		 size;
	struct timespec	 mtime;
};

/* TTLs are clamped to this (RFC 2181 8) */
#define LIST_TTL_MAX		0x7fffffffU
/* max_memory when a list does not set one */
#define LIST_MAX_MEMORY_DEFAULT	((uint64_t)1 << 30)

struct list_opts {
	const char		 *name;		/* for messages */
	enum list_type		  type;
	const char *const	 *files;	/* files, read in this order */
	size_t			  nfiles;
	uint32_t		  default_ttl;	/* when no $TTL; 0 = 2100 s */
	uint64_t		  max_memory;	/* bytes of list data; 0 = no
						   limit */
	list_warn_fn		 *warn;		/* may be NULL */
	void			 *warn_arg;
	struct list_file_id	 *ids;		/* NULL, or nfiles entries: each
						   file opened gets its identity
						   at open time; the others are
						   left as they were */
};

struct list;

/*
 * Load a list. On success stores a new list in *out (free with list_free())
 * and returns 0; bad lines were reported (errors and warnings) and
 * skipped. Otherwise *out is untouched and the cause was reported through
 * warn, with the file's name, as an error (except for RBLMUX_EINVAL and
 * RBLMUX_ENOMEM: see list_load_reported()); the code says why:
 *   -ENOENT, -EACCES, -EISDIR, ...	a file cannot be opened (the errno
 *			of open(2) or fstat(2))
 *   RBLMUX_ENOTREG	a file is not a regular file (a FIFO, a device)
 *   -EIO, ...		reading a file failed (the errno of read(2))
 *   RBLMUX_ECHANGED	a file changed while it was read
 *   -EFBIG		the data needs more than opts->max_memory (reported
 *			at the line where it went past)
 *   -EMFILE, -ENFILE, -ENOBUFS	opening a file failed for lack of
 *			resources
 *   RBLMUX_ENOMEM	no memory (to allocate, or to open a file)
 *   RBLMUX_EINVAL	a bad type, or open(2) found the name invalid
 * list_load_transient() tells which of these may go away by themselves.
 */
int	 list_load(const struct list_opts *opts, struct list **out);

/*
 * Did list_load() report its failure rc through warn? Only lack of
 * memory and a bad type (RBLMUX_ENOMEM, RBLMUX_EINVAL) are left for the
 * caller to say.
 */
bool	 list_load_reported(int rc);

/*
 * Is rc a list_load() failure that says nothing about the files (lack of
 * memory or descriptors, a file rewritten while read), so that the same
 * files may well load when read again?
 */
bool	 list_load_transient(int rc);

/*
 * As list_load(), but the data is the len bytes at buf, read as one file
 * named opts->name (or "-"); opts->files is ignored. For tests and fuzzing.
 */
int	 list_load_mem(const struct list_opts *opts, const char *buf,
	    size_t len, struct list **out);

/* Release a list. Accepts NULL. */
void	 list_free(struct list *l);

/*
 * Lookups. Each stores up to max pointers to the values listing the
 * subject in vals[] and returns how many it stored (0: not listed, or
 * excluded); with max <= 0 nothing is stored and the number of values is
 * returned. Distinct values come in the order they were first seen in
 * the files (the built-in 127.0.0.2 without TXT counting as the first).
 * The pointers stay valid while the list lives. A lookup of the wrong
 * family on a list returns 0. addr is in host byte order for IPv4,
 * network order (as on the wire) for IPv6.
 */
int	 list_lookup_ip4(const struct list *l, uint32_t addr,
	    const struct list_value **vals, int max);
int	 list_lookup_ip6(const struct list *l, const uint8_t addr[16],
	    const struct list_value **vals, int max);
/*
 * name: dot-separated, no trailing dot ("mail.example.com"); upper case
 * is folded. rbldnsd expands "$" in a dnset TXT to the name of the entry
 * that matched (for "*.example.com" queried as "a.b.example.com":
 * "example.com"), always a suffix of the queried name:
 * list_lookup_name_subject() stores its offset in name in *subj_off.
 */
int	 list_lookup_name(const struct list *l, const char *name, size_t len,
	    const struct list_value **vals, int max);
int	 list_lookup_name_subject(const struct list *l, const char *name,
	    size_t len, const struct list_value **vals, int max,
	    size_t *subj_off);

/*
 * For dnset lists: 1 if some name strictly below name is listed (so name
 * is an empty non-terminal when not itself listed), else 0: an entry
 * below it that is not an exclusion, or a wildcard at or above it that
 * covers its children. 0 for other list types.
 */
int	 list_has_below(const struct list *l, const char *name, size_t len);

/*
 * One entry of a list as loaded, for list_walk(): an address block or a
 * name with its distinct values, or an exclusion.
 */
struct list_entry {
	int			 family;	/* AF_INET, AF_INET6, or
						   AF_UNSPEC for a name */
	uint8_t			 key[16];	/* address, network byte order
						   (AF_INET: the first 4) */
	unsigned		 plen;		/* prefix length; ip4set: its
						   blocks, 8, 16, 24 or 32 */
	const char		*name;		/* dnset: dotted, lower case,
						   no trailing dot */
	size_t			 name_len;
	bool			 wild;		/* dnset: the names below name
						   ("*.name"), not name */
	bool			 excluded;	/* "!": not listed, no values */
	const struct list_value *const *vals;	/* the entry's values, in
						   list order */
	size_t			 nvals;
};

/*
 * Called once per entry; a non-zero return stops the walk. e and what
 * it points to are valid during the call only (the values themselves
 * while the list lives).
 */
typedef int list_walk_fn(void *arg, const struct list_entry *e);

/*
 * Visit every entry of l (may be NULL: nothing): one call per distinct
 * block (ip4set: prefix lengths 8, 16, 24, 32 in that order, each by
 * key), prefix (ip4trie, ip6trie: by prefix length, then key) or name
 * and kind (dnset: exact names, then wildcards, each in the list's own
 * order: labels compared from the root). A key whose entries hold an
 * exclusion is visited once as excluded, as lookups treat it. Returns 0,
 * fn's non-zero value, or RBLMUX_ENOMEM.
 */
int	 list_walk(const struct list *l, list_walk_fn *fn, void *arg);

/*
 * Expand a TXT template for subject (the queried address in text form,
 * or the matched name, see list_lookup_name_subject): "$" becomes
 * subject, "$$" becomes "$". Writes at most bufsz bytes (no NUL
 * terminator) and returns the expanded length, which is capped at bufsz.
 * rbldnsd cuts the result at LIST_TXT_LEN (254) bytes: pass that for the
 * same answers. rbldnsd writes an IPv6 subject as inet_ntop() does, but
 * IPv4-mapped ones in hex groups ("::ffff:102:304").
 */
size_t	 list_txt_expand(const char *tmpl, const char *subject, char *buf,
	    size_t bufsz);

/*
 * Order of two byte-string keys (a name list's, the zone dump's): their
 * common length byte by byte, then the shorter first.
 */
static inline int
list_keycmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* The dotted form of a host-order A value (lv_a) in buf; returns buf. */
const char	*list_fmt_a(uint32_t a, char *buf, size_t cap);

/*
 * Positions of an address list's data in tree order, for publishing it
 * as DNS records: every octet-aligned (IPv4: /8, /16, /24, /32) or
 * nibble-aligned (IPv6: /4 ... /128) block that some entry, listed or
 * "!" excluded, covers at that granularity. An ip4set gives its blocks
 * as they are; a trie prefix not on a boundary gives the blocks of the
 * next boundary down that it covers (a /20: 16 /24 blocks). Ordered by
 * address, a shorter block before the longer ones at the same address
 * (a name's parent before its children). Each block is given once;
 * what it answers is the lookup's business (list_lookup_ip4/ip6 at an
 * address in it). A position holds no pointer, so a walk can stop and
 * go on later from the position it reached; the list must live.
 */
struct list_pos {
	uint8_t		 key[16];	/* network order; IPv4 in key[0..3] */
	unsigned	 plen;		/* block length */
};

/*
 * Store the position after *pos in *pos and return 1, or return 0 at
 * the end (*pos untouched). first: the first position (*pos ignored).
 * 0 for dnset lists. O(log n) per call; no allocation.
 */
int	 list_next_pos(const struct list *l, bool first, struct list_pos *pos);

/*
 * Sort n records of size bytes by their first klen bytes (byte order,
 * the first byte most significant): a byte-wise radix sort, linear in
 * n, skipping the bytes all records share; for the positions and
 * entries that a transfer or a listing sorts in the loop. Stable. 0 or
 * RBLMUX_ENOMEM (a buffer of n records).
 */
int	 list_sort_records(void *base, size_t n, size_t size, size_t klen);

/*
 * The names of a dnset list in tree order, for publishing them: each name
 * that has entries (exact, wildcard, "!"), once, as its labels from the
 * root separated by NUL bytes ("com\0example\0mail"): byte order of
 * these keys is the list's own order, a name before the names below it.
 * What a name answers is the lookup's business. A position holds no
 * pointer, as list_next_pos()'s.
 */
struct list_npos {
	uint8_t		 key[256];
	size_t		 klen;
};

/*
 * Store the name after *pos in *pos and return 1, or return 0 at the end
 * (*pos untouched). first: the first name. 0 for address lists.
 * O(log n) per call; no allocation.
 */
int	 list_next_name(const struct list *l, bool first,
	    struct list_npos *pos);

/* $SOA of a list (the first valid one), serial 0 already replaced */
struct list_soa {
	uint32_t	 ls_ttl;		/* 0 = list TTL */
	const char	*ls_mname;		/* as written */
	const char	*ls_rname;
	uint32_t	 ls_serial;
	uint32_t	 ls_refresh;
	uint32_t	 ls_retry;
	uint32_t	 ls_expire;
	uint32_t	 ls_minttl;
};

/* $NS of a list (the first valid one; "-name" entries dropped) */
struct list_ns {
	uint32_t	 ln_ttl;		/* 0 = list TTL */
	size_t		 ln_count;
	const char	*ln_names[32];		/* as written */
};

/* NULL when the files had none. Valid while the list lives. */
const struct list_soa	*list_soa(const struct list *l);
const struct list_ns	*list_ns(const struct list *l);

/*
 * $TIMESTAMP: when the data was made and when it expires (0 = not
 * given). rbldnsd stops answering from a list past its expiry.
 */
time_t		 list_stamp(const struct list *l);
time_t		 list_expires(const struct list *l);

enum list_type	 list_type(const struct list *l);
size_t		 list_entries(const struct list *l);	/* data lines kept */
size_t		 list_memory(const struct list *l);	/* bytes held */
time_t		 list_mtime(const struct list *l);	/* newest file mtime */

/* Text form of a type ("ip4set", ...); list_type_parse ignores case,
   stores the type and returns true, or returns false if unknown */
const char	*list_type_name(enum list_type t);
bool		 list_type_parse(const char *s, enum list_type *out);

#endif /* RBLMUX_LIST_H */
