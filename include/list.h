/*
 * list.h -- local lists in rbldnsd's data file syntax.
 *
 * A list is loaded from one or more files (treated as one logical file, as
 * rbldnsd does with "type:file1,file2") into an immutable in-memory index
 * and is then only read. Three formats:
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
 * recorded), "#"/";" comments.
 *
 * Bad lines are reported through the warn callback with file:line and
 * skipped; nothing in a data file can crash the loader. Lookups never
 * allocate and are O(log n).
 *
 * Thread safety: list_load() may run in any thread; a loaded list is
 * immutable and may be read from any number of threads.
 */
#ifndef RBLMUX_LIST_H
#define RBLMUX_LIST_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum list_type {
	LIST_IP4SET = 0,
	LIST_IP4TRIE,
	LIST_IP6TRIE,
	LIST_DNSET,
};

/* What a listing answers with. Owned by the list; valid while it lives. */
struct list_value {
	uint32_t	 lv_a;		/* A record, host byte order */
	uint32_t	 lv_ttl;	/* TTL in effect for the entry ($TTL) */
	const char	*lv_txt;	/* TXT template with $n and $= already
					   resolved; "$" still stands for the
					   subject, "$$" for a dollar sign.
					   NULL: no TXT record */
};

/* Called once per problem found while loading; line 0 = whole file. */
typedef void list_warn_fn(void *arg, const char *file, unsigned line,
    const char *msg);

struct list_opts {
	const char		 *name;		/* for messages */
	enum list_type		  type;
	const char *const	 *files;	/* files, read in this order */
	size_t			  nfiles;
	uint32_t		  default_ttl;	/* when no $TTL; 0 = 2100 s */
	list_warn_fn		 *warn;		/* may be NULL */
	void			 *warn_arg;
};

struct list;

/*
 * Load a list. On success stores a new list in *out (free with list_free())
 * and returns 0; bad lines were reported and skipped. Returns RBLMUX_EIO
 * when a file cannot be opened or read (reported through warn too),
 * RBLMUX_ENOMEM on allocation failure; *out is then untouched.
 */
int	 list_load(const struct list_opts *opts, struct list **out);

/* Release a list. Accepts NULL. */
void	 list_free(struct list *l);

/*
 * Lookups. Each stores up to max pointers to the values listing the
 * subject in vals[] and returns how many there are (0: not listed, or
 * excluded). The pointers stay valid while the list lives. A lookup of
 * the wrong family on a list returns 0.
 */
int	 list_lookup_ip4(const struct list *l, uint32_t addr,
	    const struct list_value **vals, int max);
int	 list_lookup_ip6(const struct list *l, const uint8_t addr[16],
	    const struct list_value **vals, int max);
/* name: lower-case, dot-separated, no trailing dot ("mail.example.com") */
int	 list_lookup_name(const struct list *l, const char *name, size_t len,
	    const struct list_value **vals, int max);

/*
 * For dnset lists: 1 if some entry lies strictly below name (so name is an
 * empty non-terminal when not itself listed), else 0.
 */
int	 list_has_below(const struct list *l, const char *name, size_t len);

/*
 * Expand a TXT template for subject (the queried address in text form or
 * the queried name): "$" becomes subject, "$$" becomes "$". Writes at most
 * bufsz bytes (no NUL terminator) and returns the expanded length, which
 * is capped at bufsz.
 */
size_t	 list_txt_expand(const char *tmpl, const char *subject, char *buf,
	    size_t bufsz);

enum list_type	 list_type(const struct list *l);
size_t		 list_entries(const struct list *l);	/* data lines kept */
size_t		 list_memory(const struct list *l);	/* bytes held */
time_t		 list_mtime(const struct list *l);	/* newest file mtime */

/* Text form of a type ("ip4set", ...); list_type_parse returns -1 if unknown */
const char	*list_type_name(enum list_type t);
int		 list_type_parse(const char *s);

#endif /* RBLMUX_LIST_H */
