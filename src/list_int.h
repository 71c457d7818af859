/*
 * list_int.h -- private interface between list.c and the list_*.c formats.
 *
 * list.c reads the files, splits lines, handles comments, "$" specials,
 * default-value lines and per-entry values (the value table), and resolves
 * TXT templates when the load finishes. Each format (list_ip4.c,
 * list_ip6.c, list_dn.c) parses its own keys through a struct list_ops and
 * builds its own immutable index; entries refer to values by index.
 * Nothing here is visible outside the list module.
 */
#ifndef RBLMUX_LIST_INT_H
#define RBLMUX_LIST_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "list.h"

#define LIST_VEXCL	UINT32_MAX	/* value index of an exclusion */
#define LIST_TXT_MAX	255		/* TXT bytes, as one DNS string */
#define LIST_LINE_MAX	65536		/* longer lines are skipped */
#define LIST_NSUBST	11		/* $0..$9 and $= */
#define LIST_SUBST_BASE	10		/* index of $= */
#define LIST_NS_MAX	32		/* $NS names kept */

struct list_loader;

/*
 * A walk in progress: the format fills e (family, key, plen or name,
 * wild, excluded) and calls list_walk_emit() with the entry's value
 * indexes.
 */
struct list_walker {
	list_walk_fn		*fn;
	void			*arg;
	struct list_entry	 e;
	const struct list_value	**vals;		/* grown as needed */
	size_t			 cap;
	char			 name[256];	/* dnset: e.name (KEY_MAX + 1) */
};

/* One list format (rbldnsd's dstype). */
struct list_ops {
	enum list_type	  lo_type;
	const char	 *lo_name;
	/* start building; set ld->ld_tdata */
	int		(*lo_begin)(struct list_loader *ld);
	/* one data line: trimmed, not empty, not a comment/special/default */
	int		(*lo_line)(struct list_loader *ld, char *line);
	/* a file ends (may be NULL): report what was held back for it */
	int		(*lo_file_end)(struct list_loader *ld);
	/* turn ld->ld_tdata into l->l_data; always frees the builder and
	   sets ld_tdata to NULL, also when it fails */
	int		(*lo_build)(struct list_loader *ld, struct list *l);
	/* free a partial builder (ld->ld_tdata) after a failed load */
	void		(*lo_abort)(struct list_loader *ld);
	/* free l->l_data */
	void		(*lo_free)(void *data);
	/* bytes held by l->l_data */
	size_t		(*lo_memory)(const void *data);
	int		(*lo_lookup_ip4)(const struct list *l, uint32_t addr,
			    const struct list_value **vals, int max);
	int		(*lo_lookup_ip6)(const struct list *l,
			    const uint8_t addr[16],
			    const struct list_value **vals, int max);
	int		(*lo_lookup_name)(const struct list *l,
			    const char *name, size_t len,
			    const struct list_value **vals, int max,
			    size_t *subj_off);
	int		(*lo_has_below)(const struct list *l, const char *name,
			    size_t len);
	/* list_walk(); w holds a value buffer the format may fill */
	int		(*lo_walk)(const struct list *l, struct list_walker *w);
};

/* A loaded list. */
struct list {
	enum list_type		 l_type;
	const struct list_ops	*l_ops;
	void			*l_data;	/* format's index */
	struct list_value	*l_values;	/* value table */
	uint32_t		 l_nvalues;
	char			*l_txt;		/* resolved templates */
	size_t			 l_txtlen;
	size_t			 l_lines;	/* data lines kept */
	time_t			 l_mtime;	/* newest file mtime */
	time_t			 l_stamp;	/* $TIMESTAMP dstamp, 0 = none */
	time_t			 l_expires;	/* $TIMESTAMP expires, 0 = none */
	struct list_soa		*l_soa;		/* first $SOA or NULL */
	struct list_ns		*l_ns;		/* first $NS or NULL */
	size_t			 l_mem;		/* bytes outside l_data */
};

/* A value as written, before templates are resolved. */
struct list_rawval {
	uint32_t	 rv_a;		/* A, host order */
	uint32_t	 rv_txt;	/* offset in ld_pool */
	uint32_t	 rv_len;	/* TXT length */
	uint32_t	 rv_hastxt;	/* 0: no TXT */
};

/* Load state shared by list.c and the formats. */
struct list_loader {
	const struct list_opts	*ld_opts;
	const struct list_ops	*ld_ops;
	const char		*ld_file;	/* file being read */
	unsigned		 ld_line;	/* line number in it */
	void			*ld_tdata;	/* format's builder */

	struct list_rawval	*ld_vals;	/* value table */
	uint32_t		 ld_nvals;
	uint32_t		 ld_capvals;
	uint32_t		*ld_vhash;	/* open addressing, index + 1 */
	uint32_t		 ld_vhashcap;	/* power of two */
	char			*ld_pool;	/* raw TXT text */
	size_t			 ld_poollen;
	size_t			 ld_poolcap;
	uint32_t		 ld_defval;	/* this file's default value */
	uint32_t		 ld_builtin;	/* 127.0.0.2, no TXT */

	char			*ld_subst[LIST_NSUBST];	/* first wins */
	uint32_t		 ld_ttl;	/* last $TTL, 0 = default */
	uint32_t		 ld_maxrange4;	/* 0 = unlimited */
	struct list_soa		*ld_soa;
	struct list_ns		*ld_ns;
	time_t			 ld_stamp;
	time_t			 ld_expires;
	size_t			 ld_lines;	/* data lines kept */
	uint64_t		 ld_mem;	/* bytes of list data held */
	uint64_t		 ld_memmax;	/* 0 = no limit */
};

/* Report a problem at the current file:line (list_report: at line). */
void	list_error(struct list_loader *ld, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	list_warning(struct list_loader *ld, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	list_report(struct list_loader *ld, enum list_severity sev,
	    unsigned line, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

/*
 * Account for bytes of list data taken (list_mem_add) or given back
 * (list_mem_sub) while loading. list_mem_add returns 0, or -EFBIG once
 * the data passes ld_memmax, after reporting it at the current line.
 */
int	list_mem_add(struct list_loader *ld, uint64_t bytes);
void	list_mem_sub(struct list_loader *ld, uint64_t bytes);

/* What parsing an address key found; a bad one is reported by
   list_key_problem() as an error */
enum list_key {
	LIST_KEY_OK = 0,
	LIST_KEY_BAD,		/* not an address or prefix */
	LIST_KEY_HOSTBITS,	/* bits set past the prefix length */
};
void	list_key_problem(struct list_loader *ld, enum list_key k,
	    const char *key);

/*
 * Parse the value part of an entry: s points just after the key. Blank or
 * a comment: the file's default. ":A:TXT", ":A" (default TXT), ":A:"
 * (no TXT) or "TXT" (default A). Stores the value index in *vidx.
 * Returns 0, RBLMUX_EPARSE for a bad value (reported; the caller skips
 * the line), RBLMUX_ENOMEM or -EFBIG.
 */
int	list_parse_value(struct list_loader *ld, char *s, uint32_t *vidx);

/* list_value.c: the value table */
int	list_value_add(struct list_loader *ld, uint32_t a, const char *txt,
	    size_t len, uint32_t hastxt, uint32_t *vidx);
int	list_parse_value_def(struct list_loader *ld, char *s, uint32_t def,
	    uint32_t *vidx);
/* fill l->l_values, templates resolved, every TTL ttl */
int	list_resolve_values(struct list_loader *ld, struct list *l,
	    uint32_t ttl);

/*
 * Hand one entry to the walk's callback: its n value indexes vidx(ctx, i)
 * (an exclusion among them, LIST_VEXCL, makes the entry excluded).
 * Returns what the callback returned, or RBLMUX_ENOMEM.
 */
int	list_walk_emit(const struct list *l, struct list_walker *w, size_t n,
	    uint32_t (*vidx)(const void *ctx, size_t i), const void *ctx);

/* Copy of a token for a message: at most 64 printable bytes. */
const char	*list_tok(const char *s, char *buf, size_t bufsz);

/*
 * Sort the n 64-bit words at a (a radix sort); tmp holds n words too.
 * Returns where the sorted words are, a or tmp (the other one holds
 * garbage), or NULL when out of memory.
 */
uint64_t	*list_sort64(uint64_t *a, uint64_t *tmp, size_t n);

/*
 * Sort n elements of size bytes in place (introsort: no allocation, a
 * bounded stack, O(n log n)); cmp as for qsort_r(). Not stable.
 */
void	list_sort(void *base, size_t n, size_t size,
	    int (*cmp)(const void *, const void *, void *), void *arg);

/* Characters */
#define LIST_ISSPACE(c)	((c) == ' ' || (c) == '\t' || (c) == '\r')
#define LIST_ISCOMMENT(c) ((c) == '#' || (c) == ';')
/* true when c may end an address: end, blank, comment or ':' value */
#define LIST_ISKEYEND(c) ((c) == '\0' || LIST_ISSPACE(c) || \
	LIST_ISCOMMENT(c) || (c) == ':')

extern const struct list_ops	list_ip4set_ops;
extern const struct list_ops	list_ip4trie_ops;
extern const struct list_ops	list_ip6trie_ops;
extern const struct list_ops	list_dnset_ops;

/*
 * IPv4 text parsing shared by ip4set and ip4trie (list_ip4.c): "a",
 * "a.b", "a.b.c" or "a.b.c.d". Returns the number of octets (1..4), or
 * 0 when s does not start with one.
 */
int	list_ip4_prefix(const char *s, uint32_t *addr, const char **end);

/*
 * The formats' list_next_pos() (list_ip4.c, list_ip6.c): the position
 * after (*key, *plen), or the first one when first is set.
 */
int	list_ip4set_next(const struct list *l, bool first, uint32_t *key,
	    unsigned *plen);
int	list_ip4trie_next(const struct list *l, bool first, uint32_t *key,
	    unsigned *plen);
int	list_ip6trie_next(const struct list *l, bool first, uint8_t key[16],
	    unsigned *plen);

/* The format's list_next_name() (list_dn.c) */
int	list_dnset_next(const struct list *l, bool first,
	    struct list_npos *pos);

#endif /* RBLMUX_LIST_INT_H */
