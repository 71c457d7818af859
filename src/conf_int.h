/*
 * conf_int.h -- internals shared by conf.c, conf_kw.c, conf_key.c and
 * conf_check.c.
 *
 * conf.c reads files and lines and manages clauses, conf_kw.c holds the
 * keyword table and the handlers that check and store each value,
 * conf_check.c resolves names across clauses once everything is read,
 * conf_key.c indexes the names both look up.
 * The parser state lives in one struct parser per conf_load() call.
 * Not for use outside the conf module.
 *
 * Nothing here exits on allocation failure: conf_load() may run in the
 * reload thread. A failed allocation sets the parser's sticky oom flag;
 * from then on no more problems are reported, no more lines are read,
 * and conf_load() frees what it built and returns RBLMUX_ENOMEM. Whatever
 * a failed step allocated itself is freed on the spot, and every array
 * count covers only elements that were stored, so conf_free() can take a
 * config at any stage.
 */
#ifndef RBLMUX_CONF_INT_H
#define RBLMUX_CONF_INT_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

#define INCLUDE_DEPTH_MAX	16	/* nested include: levels */
#define INCLUDE_FILES_MAX	1024	/* files read by one conf_load() */
#define LINE_MAX_LEN		65536	/* longer lines are an error */
#define MAXTOK			64	/* values on one line */
#define CONF_KW_MAX		96	/* keywords in the table, at most */

/*
 * GROW - append one zeroed element to array a (a size_t count n) of
 * parser p and yield a pointer to it, or NULL when out of memory (p->oom
 * set, a and n untouched). Evaluates a and n more than once. The array
 * grows by doubling, its room implied by n (conf_grow): only GROW may
 * add to an array that GROW made.
 */
#define GROW(p, a, n)							\
	(conf_grow((p), &(a), &(n), sizeof(*(a))) ? &(a)[(n) - 1] : NULL)

enum clause {
	CL_NONE = 0,
	CL_SERVER,
	CL_RESOLVER,
	CL_UPSTREAM,
	CL_LIST,
	CL_ESCALATION,
	CL_ZONE,
	CL_COUNT
};

/* What defines a name in the shared namespace of results. */
enum def_kind {
	DEF_LIST,		/* local list: result of that name */
	DEF_UPSTREAM,		/* upstream name: a result only without code: */
	DEF_CODE,		/* code: result of an upstream */
	DEF_ESCALATION,		/* escalation: result of that name */
};

struct def {
	const char	*name;
	enum def_kind	 kind;
	size_t		 obj;		/* index of the defining clause */
	const char	*file;
	unsigned	 line;
};

/* A name used by a zone or escalation, resolved after parsing. */
enum ref_kind {
	REF_MEMBER,		/* bit: or result: in a zone */
	REF_WEIGHT,		/* weight: N NAME in a zone */
	REF_EXEMPT,		/* exempt: */
	REF_SERVE,		/* serve: */
	REF_SOURCE,		/* escalation source: */
};

struct ref {
	const char	*name;
	char		*own;		/* name, when the ref owns it */
	enum ref_kind	 kind;
	size_t		 obj;		/* zone or escalation index */
	int		 weight;	/* REF_WEIGHT */
	const char	*file;
	unsigned	 line;
};

/*
 * The key index (conf_key.c): names and small binary keys, each within a
 * scope (kind, obj), mapped to a value, mostly an index of the array the
 * key came from. Every "already given?" and every name lookup of the
 * reader and of conf_check.c goes through it, so that no pass over the
 * clauses compares each name with each other one.
 */
#define CONF_NONE	SIZE_MAX	/* the value of a new key */

enum key_kind {
	KEY_DEF = 1,		/* name: first struct def of it */
	KEY_RESULT,		/* name: first struct def that is a result */
	KEY_LIST,		/* local list name: first list */
	KEY_ESCALATION,		/* escalation name: first escalation */
	KEY_ZONE,		/* zone name: first zone */
	KEY_MIRROR,		/* zone of a mirror: yes upstream: first one */
	KEY_MEMBER,		/* member name in zone obj: its index */
	KEY_WEIGHT,		/* weight: name in zone obj: its struct ref */
	KEY_BIT,		/* bit: value in zone obj: member index */
	KEY_CODE,		/* code: address of upstream obj: its index */
	KEY_ACL,		/* access-control: prefix: its index */
	KEY_REF,		/* KEY_REF + enum ref_kind: a name in the
				   source:, exempt: or serve: of clause obj */
};

struct conf_key {
	enum key_kind	 kind;
	size_t		 obj;		/* clause index; 0 for the whole file */
	const char	*name;		/* NULL: bin is the key */
	unsigned char	 bin[20];	/* zero-padded */
};

struct conf_keys {
	struct conf_kent *ent;		/* keys in the order added */
	size_t		 n, nalloc;
	size_t		*slot;		/* 1 + index into ent; 0: empty */
	size_t		 cap;		/* slots, a power of two */
	unsigned	 shift;		/* 64 - log2(cap) */
	uint64_t	 seed;
};

/* One value of a line. */
struct tok {
	char		*s;		/* value, quotes removed */
	int		 quoted;	/* was in double quotes */
};

/* Where each single-valued keyword was first given in one clause. */
struct seen {
	const char	*file[CONF_KW_MAX];
	unsigned	 line[CONF_KW_MAX];
};

/* One file being read, for loop detection. */
struct frame {
	dev_t		 dev;
	ino_t		 ino;
};

struct parser {
	struct conf	*c;		/* being built */
	conf_report_fn	*report;
	void		*arg;
	unsigned	 nerr;		/* problems reported */
	bool		 oom;		/* an allocation failed: give up */
	int		 busy;		/* -errno of a file that could not be
					   opened for want of descriptors */
	const char	*file;		/* current position */
	unsigned	 line;
	enum clause	 clause;	/* current clause */
	size_t		 obj;		/* its index, for list clauses */
	const char	*cl_file;	/* where it started */
	unsigned	 cl_line;
	struct seen	 seen_server, seen_resolver, seen_obj;
	struct frame	 stack[INCLUDE_DEPTH_MAX];
	int		 depth;		/* files open */
	unsigned	 nfiles;	/* files read in all */
	struct def	*defs;		/* names defined */
	size_t		 ndefs;
	struct ref	*refs;		/* names used */
	size_t		 nrefs;
	struct conf_keys keys;		/* the key index */
};

/* Clause names, indexed by enum clause ("" for CL_NONE). */
extern const char *const conf_clause_names[CL_COUNT];

/*
 * Report a problem at file:line, or at the current line (conf.c). Once
 * p->oom is set problems are only counted: what follows a failed
 * allocation may be a consequence of it.
 */
void	 conf_perr_at(struct parser *p, const char *file, unsigned line,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void	 conf_perr(struct parser *p, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * Allocation for the parser (conf.c): NULL with p->oom set on failure.
 * conf_alloc zeroes; conf_grow backs GROW (ap points to the array
 * pointer) and returns 1, or 0 when out of memory.
 */
void	*conf_alloc(struct parser *p, size_t size);
char	*conf_strdup(struct parser *p, const char *s);
int	 conf_grow(struct parser *p, void *ap, size_t *n, size_t size);

/*
 * conf_oom - note RBLMUX_ENOMEM from a value parser (conf_parse_*) in
 * p->oom; returns rc unchanged.
 */
int	 conf_oom(struct parser *p, int rc);

/*
 * conf_key - where the value of key k is kept: NULL when k is not there
 * and add is false; when add is true k is added if new (its value
 * CONF_NONE), or NULL is returned with p->oom set when out of memory.
 * The pointer is good until the next add. The index keeps k.name, not a
 * copy: it must live as long as the parser.
 */
size_t		*conf_key(struct parser *p, const struct conf_key *k,
		    bool add);
/* conf_key_get - the value of k, or CONF_NONE when it is not there */
size_t		 conf_key_get(struct parser *p, const struct conf_key *k);
/* conf_key_set - k has value val from now on (p->oom: out of memory) */
void		 conf_key_set(struct parser *p, const struct conf_key *k,
		    size_t val);
/* conf_key_name, conf_key_bin - a key for a name, or for len bytes */
struct conf_key	 conf_key_name(enum key_kind kind, size_t obj,
		    const char *name);
struct conf_key	 conf_key_bin(enum key_kind kind, size_t obj,
		    const void *bin, size_t len);
/* conf_keys_free - release the index (its names are not its own) */
void		 conf_keys_free(struct conf_keys *ks);

/* conf_kw.c: the clause a bare "name:" line starts, or CL_NONE */
enum clause	 conf_clause_of(const char *name);
/* conf_kw.c: table index of keyword name in clause cl, or -1 */
int		 conf_kw_index(enum clause cl, const char *name);
/* conf_kw.c: check and store one "keyword: values" line */
void		 conf_kw_do(struct parser *p, const char *name, struct tok *v,
		    size_t nv);

/* conf_check.c: defaults and checks that need the whole config */
void		 conf_check(struct parser *p);

#endif /* RBLMUX_CONF_INT_H */
