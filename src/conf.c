/*
 * conf.c -- read rblmux.conf into a fresh struct conf and validate it.
 *
 * A line is "keyword: value ..."; a keyword of a clause name with nothing
 * after the colon starts that clause. Values are split at white space;
 * double quotes keep spaces ("\"" and "\\" inside them), '#' outside
 * quotes starts a comment. "include: FILE" reads FILE (relative to the
 * including file's directory; shell patterns allowed) as if its text stood
 * in place of the include line.
 *
 * Keywords are looked up in one table (clause, name, handler, target
 * member, arity, bounds). Handlers check and store one value; names that
 * refer to other clauses are collected and resolved after the whole file
 * is read, so clauses may appear in any order. Every problem is reported
 * with file:line and parsing goes on, so one run shows them all; any
 * problem rejects the config as a whole.
 *
 * Not thread-safe per call, but conf_load() keeps no global state, so a
 * reload thread may run it while the server uses an older config.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "err.h"
#include "xmalloc.h"

#define INCLUDE_DEPTH_MAX	16	/* nested include: levels */
#define INCLUDE_FILES_MAX	1024	/* files read by one conf_load() */
#define LINE_MAX_LEN		65536	/* longer lines are an error */
#define MAXTOK			64	/* values on one line */
#define TTL_MAX			0x7fffffffU	/* RFC 2181 8 */
#define BIT_MAX			(1U << 23)	/* 127.0.0.0 + 24 host bits */
#define WEIGHT_MAX		255

/*
 * GROW - append one zeroed element to array a holding n elements and
 * yield a pointer to it. Evaluates a and n more than once.
 */
#define GROW(a, n)							\
	((a) = xreallocarray((a), (n) + 1, sizeof(*(a))),		\
	 memset(&(a)[(n)], 0, sizeof(*(a))), &(a)[(n)++])

#define OFF(type, member)	offsetof(struct type, member)
#define AT(obj, off, type)	((type *)(void *)((char *)(obj) + (off)))

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

static const char *const clause_names[CL_COUNT] = {
	"", "server", "resolver", "upstream", "local-list", "escalation",
	"zone",
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

struct tok {
	char		*s;		/* value, quotes removed */
	int		 quoted;
};

struct parser;
struct kw;

typedef void kw_fn(struct parser *, const struct kw *, void *,
    struct tok *, size_t);

#define KW_MULTI	0x01		/* may be given more than once */
#define KW_EMPTY	0x02		/* "" is a valid value */

struct kw {
	enum clause	 clause;
	const char	*name;
	kw_fn		*fn;
	size_t		 off;		/* target member in the clause struct */
	size_t		 off2;		/* its count, for arrays */
	int		 flags;
	unsigned	 minargs, maxargs;
	long long	 lo, hi;	/* bounds, default port, or kind */
	const char	*syntax;	/* for messages */
};

static kw_fn kw_sockaddrs, kw_sockaddr, kw_acl, kw_string,
    kw_size, kw_dur, kw_dur_ms, kw_uint, kw_u16, kw_int, kw_bool,
    kw_objname, kw_dname, kw_code, kw_errcode, kw_family, kw_maxq,
    kw_ltype, kw_strings, kw_refs, kw_answer, kw_bit, kw_result,
    kw_zweight, kw_soa, kw_dnames, kw_prefixes;

#define ANY_NUM		"a number"
#define DUR		"a duration such as 90, 15m, 1h or 1d"
#define DUR_MS		"a duration such as 1200ms, 2s or 1m"

static const struct kw kwtab[] = {
	{ CL_SERVER, "listen", kw_sockaddrs, OFF(conf_server, listen),
	    OFF(conf_server, nlisten), KW_MULTI, 1, 1, 53, 0,
	    "ADDRESS[@PORT]" },
	{ CL_SERVER, "access-control", kw_acl, 0, 0, KW_MULTI, 2, 2, 0, 0,
	    "PREFIX allow|refuse|deny" },
	{ CL_SERVER, "directory", kw_string, OFF(conf_server, directory), 0,
	    0, 1, 1, 0, 0, "a directory" },
	{ CL_SERVER, "cache-dir", kw_string, OFF(conf_server, cache_dir), 0,
	    0, 1, 1, 0, 0, "a directory" },
	{ CL_SERVER, "state-dir", kw_string, OFF(conf_server, state_dir), 0,
	    0, 1, 1, 0, 0, "a directory" },
	{ CL_SERVER, "control-socket", kw_string,
	    OFF(conf_server, control_socket), 0, 0, 1, 1, 0, 0, "a path" },
	{ CL_SERVER, "pidfile", kw_string, OFF(conf_server, pidfile), 0, 0,
	    1, 1, 0, 0, "a path" },
	{ CL_SERVER, "username", kw_string, OFF(conf_server, username), 0,
	    KW_EMPTY, 1, 1, 0, 0, "a user name or \"\"" },
	{ CL_SERVER, "cache-max-size", kw_size,
	    OFF(conf_server, cache_max_size), 0, 0, 1, 1, 1024 * 1024, 0,
	    "a size of at least 1m, such as 256m or 2g" },
	{ CL_SERVER, "ttl-min", kw_dur, OFF(conf_server, ttl_min), 0, 0,
	    1, 1, 0, TTL_MAX, DUR },
	{ CL_SERVER, "ttl-max", kw_dur, OFF(conf_server, ttl_max), 0, 0,
	    1, 1, 1, TTL_MAX, DUR },
	{ CL_SERVER, "negative-ttl-max", kw_dur,
	    OFF(conf_server, negative_ttl_max), 0, 0, 1, 1, 0, TTL_MAX, DUR },
	{ CL_SERVER, "serve-stale", kw_dur, OFF(conf_server, serve_stale), 0,
	    0, 1, 1, 0, TTL_MAX, DUR },
	{ CL_SERVER, "metrics", kw_sockaddr, OFF(conf_server, metrics), 0,
	    0, 1, 1, 9153, 0, "ADDRESS[@PORT]" },
	{ CL_SERVER, "workers", kw_uint, OFF(conf_server, workers), 0, 0,
	    1, 1, 1, 64, "a number from 1 to 64" },
	{ CL_SERVER, "edns-buffer-size", kw_u16,
	    OFF(conf_server, edns_buffer_size), 0, 0, 1, 1, 512, 4096,
	    "a number from 512 to 4096" },
	{ CL_SERVER, "tcp-idle-timeout", kw_dur_ms,
	    OFF(conf_server, tcp_idle_timeout_ms), 0, 0, 1, 1, 1, 3600000,
	    "a duration from 1ms to 1h, such as 10s" },
	{ CL_SERVER, "tcp-max-clients", kw_uint,
	    OFF(conf_server, tcp_max_clients), 0, 0, 1, 1, 1, 100000,
	    "a number from 1 to 100000" },
	{ CL_SERVER, "check-interval", kw_dur,
	    OFF(conf_server, check_interval), 0, 0, 1, 1, 0, 86400,
	    "a duration up to 1d, 0 = off" },
	{ CL_SERVER, "log-queries", kw_bool, OFF(conf_server, log_queries),
	    0, 0, 1, 1, 0, 0, "yes or no" },

	{ CL_RESOLVER, "forward", kw_sockaddrs, OFF(conf_resolver, forward),
	    OFF(conf_resolver, nforward), KW_MULTI, 1, 1, 53, 0,
	    "ADDRESS[@PORT]" },
	{ CL_RESOLVER, "timeout", kw_dur_ms, OFF(conf_resolver, timeout_ms),
	    0, 0, 1, 1, 1, 60000,
	    "a duration from 1ms to 60s, such as 1200ms" },
	{ CL_RESOLVER, "attempts", kw_uint, OFF(conf_resolver, attempts), 0,
	    0, 1, 1, 1, 10, "a number from 1 to 10" },

	{ CL_UPSTREAM, "name", kw_objname, OFF(conf_upstream, name), 0, 0,
	    1, 1, DEF_UPSTREAM, 0, "NAME" },
	{ CL_UPSTREAM, "zone", kw_dname, OFF(conf_upstream, zone), 0, 0,
	    1, 1, 0, 0, "a domain name" },
	{ CL_UPSTREAM, "code", kw_code, 0, 0, KW_MULTI, 2, 2, 0, 0,
	    "ADDRESS-in-127.0.0.0/8 RESULT" },
	{ CL_UPSTREAM, "error-code", kw_errcode, 0, 0, KW_MULTI, 1, MAXTOK,
	    0, 0, "IPv4 prefixes such as 127.255.255.0/24" },
	{ CL_UPSTREAM, "family", kw_family, OFF(conf_upstream, family), 0, 0,
	    1, 1, 0, 0, "ip4, ip6 or name" },
	{ CL_UPSTREAM, "weight", kw_int, OFF(conf_upstream, weight), 0, 0,
	    1, 1, -WEIGHT_MAX, WEIGHT_MAX, "a number from -255 to 255" },
	{ CL_UPSTREAM, "mirror", kw_bool, OFF(conf_upstream, mirror), 0, 0,
	    1, 1, 0, 0, "yes or no" },
	{ CL_UPSTREAM, "server", kw_sockaddrs, OFF(conf_upstream, servers),
	    OFF(conf_upstream, nservers), KW_MULTI, 1, 1, 53, 0,
	    "ADDRESS[@PORT]" },
	{ CL_UPSTREAM, "max-queries", kw_maxq, 0, 0, 0, 1, 1, 0, 0,
	    "COUNT/PERIOD such as 250000/d or 5000/1h" },

	{ CL_LIST, "name", kw_objname, OFF(conf_list, name), 0, 0, 1, 1,
	    DEF_LIST, 0, "NAME" },
	{ CL_LIST, "type", kw_ltype, 0, 0, 0, 1, 1, 0, 0,
	    "ip4set, ip4trie, ip6trie or dnset" },
	{ CL_LIST, "file", kw_strings, OFF(conf_list, files),
	    OFF(conf_list, nfiles), KW_MULTI, 1, MAXTOK, 0, 0, "FILE ..." },
	{ CL_LIST, "allow", kw_bool, OFF(conf_list, allow), 0, 0, 1, 1, 0, 0,
	    "yes or no" },
	{ CL_LIST, "weight", kw_int, OFF(conf_list, weight), 0, 0, 1, 1,
	    -WEIGHT_MAX, WEIGHT_MAX, "a number from -255 to 255" },
	{ CL_LIST, "ttl", kw_dur, OFF(conf_list, ttl), 0, 0, 1, 1, 1,
	    TTL_MAX, DUR },
	{ CL_LIST, "txt", kw_string, OFF(conf_list, txt), 0, 0, 1, 1, 0, 0,
	    "a text, quoted if it has spaces" },

	{ CL_ESCALATION, "name", kw_objname, OFF(conf_escalation, name), 0,
	    0, 1, 1, DEF_ESCALATION, 0, "NAME" },
	{ CL_ESCALATION, "source", kw_refs, OFF(conf_escalation, sources),
	    OFF(conf_escalation, nsources), KW_MULTI, 1, MAXTOK, REF_SOURCE,
	    0, "NAME ..." },
	{ CL_ESCALATION, "prefix", kw_uint, OFF(conf_escalation, prefix), 0,
	    0, 1, 1, 1, 32, "a prefix length from 1 to 32" },
	{ CL_ESCALATION, "prefix6", kw_uint, OFF(conf_escalation, prefix6),
	    0, 0, 1, 1, 1, 128, "a prefix length from 1 to 128" },
	{ CL_ESCALATION, "threshold", kw_uint,
	    OFF(conf_escalation, threshold), 0, 0, 1, 1, 1, 1000000,
	    "a number from 1 to 1000000" },
	{ CL_ESCALATION, "txt", kw_string, OFF(conf_escalation, txt), 0, 0,
	    1, 1, 0, 0, "a text, quoted if it has spaces" },
	{ CL_ESCALATION, "window", kw_dur, OFF(conf_escalation, window), 0,
	    0, 1, 1, 0, TTL_MAX, DUR },

	{ CL_ZONE, "name", kw_dname, OFF(conf_zone, name), 0, 0, 1, 1, 0, 0,
	    "a domain name" },
	{ CL_ZONE, "answer", kw_answer, 0, 0, 0, 1, 1, 0, 0,
	    "bitmask, each or score" },
	{ CL_ZONE, "bit", kw_bit, 0, 0, KW_MULTI, 2, 2, 0, 0,
	    "VALUE RESULT, VALUE a power of two from 2 to 8388608" },
	{ CL_ZONE, "result", kw_result, 0, 0, KW_MULTI, 1, 2, 0, 0,
	    "RESULT [ADDRESS-in-127.0.0.0/8]" },
	{ CL_ZONE, "weight", kw_zweight, 0, 0, KW_MULTI, 2, 2, 0, 0,
	    "WEIGHT RESULT, WEIGHT from -255 to 255" },
	{ CL_ZONE, "exempt", kw_refs, OFF(conf_zone, exempt),
	    OFF(conf_zone, nexempt), KW_MULTI, 1, MAXTOK, REF_EXEMPT, 0,
	    "LIST ..." },
	{ CL_ZONE, "serve", kw_refs, OFF(conf_zone, serve_lists),
	    OFF(conf_zone, nserve_lists), KW_MULTI, 1, MAXTOK, REF_SERVE, 0,
	    "NAME ..." },
	{ CL_ZONE, "soa", kw_soa, 0, 0, 0, 6, 6, 0, 0,
	    "MNAME RNAME REFRESH RETRY EXPIRE MINIMUM" },
	{ CL_ZONE, "soa-ttl", kw_dur, OFF(conf_zone, soa_ttl), 0, 0, 1, 1, 0,
	    TTL_MAX, DUR },
	{ CL_ZONE, "ns", kw_dnames, OFF(conf_zone, ns), OFF(conf_zone, nns),
	    KW_MULTI, 1, MAXTOK, 0, 0, "NAME ..." },
	{ CL_ZONE, "allow-transfer", kw_prefixes,
	    OFF(conf_zone, allow_transfer), OFF(conf_zone, nallow_transfer),
	    KW_MULTI, 1, MAXTOK, 0, 0, "PREFIX ..." },
};

#define NKW	(sizeof(kwtab) / sizeof(kwtab[0]))

/* Where each single-valued keyword was first given in one clause. */
struct seen {
	const char	*file[NKW];
	unsigned	 line[NKW];
};

/* One file being read, for loop detection. */
struct frame {
	dev_t		 dev;
	ino_t		 ino;
};

struct parser {
	struct conf	*c;
	conf_report_fn	*report;
	void		*arg;
	unsigned	 nerr;
	const char	*file;		/* current position */
	unsigned	 line;
	enum clause	 clause;	/* current clause */
	size_t		 obj;		/* its index, for list clauses */
	const char	*cl_file;	/* where it started */
	unsigned	 cl_line;
	struct seen	 seen_server, seen_resolver, seen_obj;
	struct frame	 stack[INCLUDE_DEPTH_MAX + 1];
	int		 depth;
	unsigned	 nfiles;
	struct def	*defs;
	size_t		 ndefs;
	struct ref	*refs;
	size_t		 nrefs;
};

static void	 perr_at(struct parser *, const char *, unsigned,
		    const char *, ...) __attribute__((format(printf, 4, 5)));
static void	 perr(struct parser *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* perr_at - report one problem at file:line */
static void
perr_at(struct parser *p, const char *file, unsigned line, const char *fmt,
    ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->nerr++;
	if (p->report != NULL)
		p->report(p->arg, file, line, msg);
}

/* perr - report one problem at the current line */
static void
perr(struct parser *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->nerr++;
	if (p->report != NULL)
		p->report(p->arg, p->file, p->line, msg);
}

/* bad - a value that does not parse */
static void
bad(struct parser *p, const struct kw *k, const char *val)
{
	perr(p, "%s: bad value '%.100s' (expected %s)", k->name, val,
	    k->syntax);
}

/* keep_string - a long-lived copy of a file name, shared */
static const char *
keep_string(struct conf *c, const char *s)
{
	size_t i;

	for (i = 0; i < c->nstrings; i++)
		if (strcmp(c->strings[i], s) == 0)
			return c->strings[i];
	*GROW(c->strings, c->nstrings) = xstrdup(s);
	return c->strings[c->nstrings - 1];
}

/* parse_ll - a whole decimal integer, optionally signed, within bounds */
static int
parse_ll(const char *s, long long lo, long long hi, long long *out)
{
	long long v;
	char *end;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* parse_code - an IPv4 address inside 127.0.0.0/8, host order */
static int
parse_code(const char *s, uint32_t *out)
{
	struct conf_prefix pf;
	uint32_t a;

	if (conf_parse_prefix(s, &pf) != 0 || pf.family != AF_INET ||
	    pf.plen != 32 || strchr(s, '/') != NULL)
		return -1;
	a = (uint32_t)pf.addr[0] << 24 | (uint32_t)pf.addr[1] << 16 |
	    (uint32_t)pf.addr[2] << 8 | pf.addr[3];
	if ((a >> 24) != 127)
		return -1;
	*out = a;
	return 0;
}

/* name_dup - check a result/list name and return a lower-cased copy */
static char *
name_dup(struct parser *p, const struct kw *k, const char *s)
{
	char *r;
	size_t i;

	if (!conf_name_valid(s)) {
		perr(p, "%s: bad name '%.100s' (expected a letter, then up to "
		    "62 letters, digits, '-' or '_')", k->name, s);
		return NULL;
	}
	r = xstrdup(s);
	for (i = 0; r[i] != '\0'; i++)
		r[i] = (char)tolower((unsigned char)r[i]);
	return r;
}

/* add_def - note a name defined in the shared namespace */
static void
add_def(struct parser *p, const char *name, enum def_kind kind)
{
	struct def *d = GROW(p->defs, p->ndefs);

	d->name = name;
	d->kind = kind;
	d->obj = p->obj;
	d->file = p->file;
	d->line = p->line;
}

/* add_ref - note a name to resolve once everything is read */
static struct ref *
add_ref(struct parser *p, const char *name, enum ref_kind kind)
{
	struct ref *r = GROW(p->refs, p->nrefs);

	r->name = name;
	r->kind = kind;
	r->obj = p->obj;
	r->file = p->file;
	r->line = p->line;
	return r;
}

/* kw_sockaddrs - append ADDRESS[@PORT] to an array */
static void
kw_sockaddrs(struct parser *p, const struct kw *k, void *obj,
    struct tok *v, size_t nv)
{
	struct conf_sockaddr **arr = AT(obj, k->off, struct conf_sockaddr *);
	size_t *n = AT(obj, k->off2, size_t);
	struct conf_sockaddr sa;

	if (conf_parse_sockaddr(v[0].s, (uint16_t)k->lo, &sa) != 0) {
		bad(p, k, v[0].s);
		return;
	}
	*GROW(*arr, *n) = sa;
}

/* kw_sockaddr - one ADDRESS[@PORT] behind a pointer */
static void
kw_sockaddr(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	struct conf_sockaddr **sp = AT(obj, k->off, struct conf_sockaddr *);
	struct conf_sockaddr sa;

	if (conf_parse_sockaddr(v[0].s, (uint16_t)k->lo, &sa) != 0) {
		bad(p, k, v[0].s);
		return;
	}
	*sp = xmalloc(sizeof(**sp));
	**sp = sa;
}

/* kw_acl - access-control: PREFIX ACTION */
static void
kw_acl(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	struct conf_server *s = obj;
	struct conf_acl a;
	size_t i;

	memset(&a, 0, sizeof(a));
	if (conf_parse_prefix(v[0].s, &a.prefix) != 0) {
		perr(p, "%s: bad prefix '%.100s' (expected an address or "
		    "ADDRESS/LEN with no bits set past LEN)", k->name, v[0].s);
		return;
	}
	if (strcmp(v[1].s, "allow") == 0)
		a.action = ACL_ALLOW;
	else if (strcmp(v[1].s, "refuse") == 0)
		a.action = ACL_REFUSE;
	else if (strcmp(v[1].s, "deny") == 0)
		a.action = ACL_DENY;
	else {
		perr(p, "%s: bad action '%.100s' (expected allow, refuse or "
		    "deny)", k->name, v[1].s);
		return;
	}
	for (i = 0; i < s->nacl; i++)
		if (s->acl[i].prefix.family == a.prefix.family &&
		    s->acl[i].prefix.plen == a.prefix.plen &&
		    memcmp(s->acl[i].prefix.addr, a.prefix.addr, 16) == 0) {
			perr(p, "%s: %s is already given", k->name, v[0].s);
			return;
		}
	*GROW(s->acl, s->nacl) = a;
}

/* kw_string - any string ("" only with KW_EMPTY), replacing a default */
static void
kw_string(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	char **sp = AT(obj, k->off, char *);

	free(*sp);
	*sp = xstrdup(v[0].s);
}

/* kw_size - a size with k/m/g, at least k->lo bytes */
static void
kw_size(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	uint64_t n;

	if (conf_parse_size(v[0].s, &n) != 0 || n < (uint64_t)k->lo) {
		bad(p, k, v[0].s);
		return;
	}
	*AT(obj, k->off, uint64_t) = n;
}

/* kw_dur - a duration in seconds within [lo, hi] */
static void
kw_dur(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	uint32_t n;

	if (conf_parse_duration(v[0].s, &n) != 0) {
		bad(p, k, v[0].s);
		return;
	}
	if (n < k->lo || n > k->hi) {
		perr(p, "%s: %s is out of range (expected %s from %llus to "
		    "%llus)", k->name, v[0].s, k->syntax, k->lo, k->hi);
		return;
	}
	*AT(obj, k->off, uint32_t) = n;
}

/* kw_dur_ms - a duration in milliseconds within [lo, hi] */
static void
kw_dur_ms(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	uint32_t n;

	if (conf_parse_duration_ms(v[0].s, &n) != 0) {
		bad(p, k, v[0].s);
		return;
	}
	if (n < k->lo || n > k->hi) {
		perr(p, "%s: %s is out of range (expected %s; a bare number "
		    "is seconds)", k->name, v[0].s, k->syntax);
		return;
	}
	*AT(obj, k->off, uint32_t) = n;
}

/* kw_uint - an unsigned number within [lo, hi] */
static void
kw_uint(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	long long n;

	if (parse_ll(v[0].s, LLONG_MIN, LLONG_MAX, &n) != 0) {
		bad(p, k, v[0].s);
		return;
	}
	if (n < k->lo || n > k->hi) {
		perr(p, "%s: %s is out of range (expected %s)", k->name,
		    v[0].s, k->syntax);
		return;
	}
	*AT(obj, k->off, unsigned) = (unsigned)n;
}

/* kw_u16 - a 16-bit number within [lo, hi] */
static void
kw_u16(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	long long n;

	if (parse_ll(v[0].s, LLONG_MIN, LLONG_MAX, &n) != 0) {
		bad(p, k, v[0].s);
		return;
	}
	if (n < k->lo || n > k->hi) {
		perr(p, "%s: %s is out of range (expected %s)", k->name,
		    v[0].s, k->syntax);
		return;
	}
	*AT(obj, k->off, uint16_t) = (uint16_t)n;
}

/* kw_int - a signed number within [lo, hi] */
static void
kw_int(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	long long n;

	if (parse_ll(v[0].s, LLONG_MIN, LLONG_MAX, &n) != 0) {
		bad(p, k, v[0].s);
		return;
	}
	if (n < k->lo || n > k->hi) {
		perr(p, "%s: %s is out of range (expected %s)", k->name,
		    v[0].s, k->syntax);
		return;
	}
	*AT(obj, k->off, int) = (int)n;
}

/* kw_bool - yes or no */
static void
kw_bool(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	if (strcmp(v[0].s, "yes") == 0)
		*AT(obj, k->off, bool) = true;
	else if (strcmp(v[0].s, "no") == 0)
		*AT(obj, k->off, bool) = false;
	else
		bad(p, k, v[0].s);
}

/* kw_objname - the name: of a list, upstream or escalation */
static void
kw_objname(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	char *name = name_dup(p, k, v[0].s);

	if (name == NULL)
		return;
	*AT(obj, k->off, char *) = name;
	add_def(p, name, (enum def_kind)k->lo);
}

/* kw_dname - one domain name */
static void
kw_dname(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	char *name;

	if (conf_parse_dname(v[0].s, &name) != 0) {
		bad(p, k, v[0].s);
		return;
	}
	*AT(obj, k->off, char *) = name;
}

/* kw_dnames - append domain names to an array */
static void
kw_dnames(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	char ***arr = AT(obj, k->off, char **);
	size_t *n = AT(obj, k->off2, size_t), i;
	char *name;

	for (i = 0; i < nv; i++) {
		if (conf_parse_dname(v[i].s, &name) != 0) {
			bad(p, k, v[i].s);
			continue;
		}
		*GROW(*arr, *n) = name;
	}
}

/* kw_prefixes - append address prefixes to an array */
static void
kw_prefixes(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	struct conf_prefix **arr = AT(obj, k->off, struct conf_prefix *);
	size_t *n = AT(obj, k->off2, size_t), i;
	struct conf_prefix pf;

	for (i = 0; i < nv; i++) {
		if (conf_parse_prefix(v[i].s, &pf) != 0) {
			bad(p, k, v[i].s);
			continue;
		}
		*GROW(*arr, *n) = pf;
	}
}

/* kw_strings - append strings (file names) to an array */
static void
kw_strings(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	char ***arr = AT(obj, k->off, char **);
	size_t *n = AT(obj, k->off2, size_t), i;

	for (i = 0; i < nv; i++)
		*GROW(*arr, *n) = xstrdup(v[i].s);
}

/* kw_refs - append names of results/lists to an array, to resolve later */
static void
kw_refs(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	char ***arr = AT(obj, k->off, char **);
	size_t *n = AT(obj, k->off2, size_t), i, j;
	char *name;

	for (i = 0; i < nv; i++) {
		if ((name = name_dup(p, k, v[i].s)) == NULL)
			continue;
		for (j = 0; j < *n; j++)
			if (strcmp((*arr)[j], name) == 0)
				break;
		if (j < *n) {
			perr(p, "%s: '%s' is already given", k->name, name);
			free(name);
			continue;
		}
		*GROW(*arr, *n) = name;
		add_ref(p, name, (enum ref_kind)k->lo);
	}
	if (k->lo == REF_SERVE)
		((struct conf_zone *)obj)->serve = true;
}

/* kw_code - code: ADDRESS RESULT */
static void
kw_code(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	struct conf_upstream *u = obj;
	struct conf_code *cc;
	uint32_t a;
	char *name;
	size_t i;

	if (parse_code(v[0].s, &a) != 0) {
		perr(p, "%s: bad answer code '%.100s' (expected an address in "
		    "127.0.0.0/8)", k->name, v[0].s);
		return;
	}
	for (i = 0; i < u->ncodes; i++)
		if (u->codes[i].addr == a) {
			perr(p, "%s: %s is already mapped to '%s'", k->name,
			    v[0].s, u->codes[i].result);
			return;
		}
	if ((name = name_dup(p, k, v[1].s)) == NULL)
		return;
	cc = GROW(u->codes, u->ncodes);
	cc->addr = a;
	cc->result = name;
	add_def(p, name, DEF_CODE);
}

/* kw_errcode - error-code: PREFIX ..., IPv4 only */
static void
kw_errcode(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	struct conf_upstream *u = obj;
	struct conf_prefix pf;
	size_t i;

	for (i = 0; i < nv; i++) {
		if (conf_parse_prefix(v[i].s, &pf) != 0 ||
		    pf.family != AF_INET) {
			bad(p, k, v[i].s);
			continue;
		}
		*GROW(u->error_codes, u->nerror_codes) = pf;
	}
}

/* kw_family - ip4, ip6 or name */
static void
kw_family(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	struct conf_upstream *u = obj;

	if (strcmp(v[0].s, "ip4") == 0)
		u->family = FAMILY_IP4;
	else if (strcmp(v[0].s, "ip6") == 0)
		u->family = FAMILY_IP6;
	else if (strcmp(v[0].s, "name") == 0)
		u->family = FAMILY_NAME;
	else
		bad(p, k, v[0].s);
}

/* kw_maxq - max-queries: COUNT/PERIOD; a bare unit means one of it */
static void
kw_maxq(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	struct conf_upstream *u = obj;
	char count[32], period[32];
	const char *slash = strchr(v[0].s, '/');
	long long n;
	uint32_t secs;
	size_t clen;

	if (slash == NULL || (clen = (size_t)(slash - v[0].s)) == 0 ||
	    clen >= sizeof(count) || strlen(slash + 1) + 2 > sizeof(period))
		goto bad;
	memcpy(count, v[0].s, clen);
	count[clen] = '\0';
	if (!isdigit((unsigned char)count[0]) ||
	    parse_ll(count, 1, (long long)UINT32_MAX * 1000, &n) != 0)
		goto bad;
	if (isalpha((unsigned char)slash[1]))
		snprintf(period, sizeof(period), "1%s", slash + 1);
	else
		snprintf(period, sizeof(period), "%s", slash + 1);
	if (conf_parse_duration(period, &secs) != 0 || secs == 0)
		goto bad;
	u->max_queries = (uint64_t)n;
	u->max_queries_period = secs;
	return;
bad:
	bad(p, k, v[0].s);
}

/* kw_ltype - list type */
static void
kw_ltype(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	static const struct {
		const char	*name;
		enum list_type	 type;
	} types[] = {
		{ "ip4set", LIST_IP4SET },
		{ "ip4trie", LIST_IP4TRIE },
		{ "ip6trie", LIST_IP6TRIE },
		{ "dnset", LIST_DNSET },
	};
	struct conf_list *l = obj;
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(v[0].s, types[i].name) == 0) {
			l->type = types[i].type;
			return;
		}
	bad(p, k, v[0].s);
}

/* kw_answer - bitmask, each or score */
static void
kw_answer(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	struct conf_zone *z = obj;

	if (strcmp(v[0].s, "bitmask") == 0)
		z->answer = ANSWER_BITMASK;
	else if (strcmp(v[0].s, "each") == 0)
		z->answer = ANSWER_EACH;
	else if (strcmp(v[0].s, "score") == 0)
		z->answer = ANSWER_SCORE;
	else
		bad(p, k, v[0].s);
}

/* add_member - a result joins an aggregate zone; NULL if already there */
static struct conf_member *
add_member(struct parser *p, const struct kw *k, struct conf_zone *z,
    const char *s)
{
	struct conf_member *m;
	char *name;
	size_t i;

	if ((name = name_dup(p, k, s)) == NULL)
		return NULL;
	for (i = 0; i < z->nmembers; i++)
		if (strcmp(z->members[i].result, name) == 0) {
			perr(p, "%s: '%s' is already a member of this zone",
			    k->name, name);
			free(name);
			return NULL;
		}
	m = GROW(z->members, z->nmembers);
	m->result = name;
	add_ref(p, name, REF_MEMBER);
	return m;
}

/* kw_bit - bit: VALUE RESULT */
static void
kw_bit(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	struct conf_zone *z = obj;
	struct conf_member *m;
	long long b;
	size_t i;

	if (parse_ll(v[0].s, 0, LLONG_MAX, &b) != 0 || b < 2 || b > BIT_MAX ||
	    (b & (b - 1)) != 0) {
		perr(p, "%s: bad bit value '%.100s' (expected a power of two "
		    "from 2 to %u)", k->name, v[0].s, BIT_MAX);
		return;
	}
	for (i = 0; i < z->nmembers; i++)
		if (z->members[i].bit == (uint32_t)b) {
			perr(p, "%s: %lld is already the bit of '%s'", k->name,
			    b, z->members[i].result);
			return;
		}
	if ((m = add_member(p, k, z, v[1].s)) != NULL)
		m->bit = (uint32_t)b;
}

/* kw_result - result: RESULT [ADDRESS] */
static void
kw_result(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	struct conf_zone *z = obj;
	struct conf_member *m;
	uint32_t a = 0;

	if (nv > 1 && (parse_code(v[1].s, &a) != 0 || a <= 0x7f000001U)) {
		perr(p, "%s: bad answer value '%.100s' (expected an address "
		    "in 127.0.0.0/8 above 127.0.0.1)", k->name, v[1].s);
		return;
	}
	if ((m = add_member(p, k, z, v[0].s)) != NULL)
		m->value = a;
}

/* kw_zweight - weight: WEIGHT RESULT, this zone's score for a member */
static void
kw_zweight(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	struct ref *r;
	long long w;
	char *name;
	size_t i;

	if (parse_ll(v[0].s, -WEIGHT_MAX, WEIGHT_MAX, &w) != 0) {
		bad(p, k, v[0].s);
		return;
	}
	if ((name = name_dup(p, k, v[1].s)) == NULL)
		return;
	for (i = 0; i < p->nrefs; i++)
		if (p->refs[i].kind == REF_WEIGHT && p->refs[i].obj == p->obj &&
		    strcmp(p->refs[i].name, name) == 0) {
			perr(p, "%s: '%s' already has a weight in this zone "
			    "(line %u)", k->name, name, p->refs[i].line);
			free(name);
			return;
		}
	r = add_ref(p, name, REF_WEIGHT);
	r->own = name;
	r->weight = (int)w;
}

/* kw_soa - soa: MNAME RNAME REFRESH RETRY EXPIRE MINIMUM */
static void
kw_soa(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	struct conf_zone *z = obj;
	char *mname = NULL, *rname = NULL;
	uint32_t t[4];
	int i, ok = 1;

	if (conf_parse_dname(v[0].s, &mname) != 0) {
		perr(p, "%s: bad MNAME '%.100s' (expected a domain name)",
		    k->name, v[0].s);
		ok = 0;
	}
	if (conf_parse_dname(v[1].s, &rname) != 0) {
		perr(p, "%s: bad RNAME '%.100s' (expected a domain name such "
		    "as hostmaster.example.org.)", k->name, v[1].s);
		ok = 0;
	}
	for (i = 0; i < 4; i++)
		if (conf_parse_duration(v[2 + i].s, &t[i]) != 0 ||
		    t[i] > TTL_MAX) {
			perr(p, "%s: bad %s '%.100s' (expected %s)", k->name,
			    i == 0 ? "REFRESH" : i == 1 ? "RETRY" : i == 2 ?
			    "EXPIRE" : "MINIMUM", v[2 + i].s, DUR);
			ok = 0;
		}
	if (!ok) {
		free(mname);
		free(rname);
		return;
	}
	z->soa_mname = mname;
	z->soa_rname = rname;
	z->soa_refresh = t[0];
	z->soa_retry = t[1];
	z->soa_expire = t[2];
	z->soa_minimum = t[3];
}

/* clause_obj - the struct the current clause fills */
static void *
clause_obj(struct parser *p)
{
	struct conf *c = p->c;

	switch (p->clause) {
	case CL_SERVER:
		return &c->server;
	case CL_RESOLVER:
		return &c->resolver;
	case CL_UPSTREAM:
		return &c->upstreams[p->obj];
	case CL_LIST:
		return &c->lists[p->obj];
	case CL_ESCALATION:
		return &c->escalations[p->obj];
	case CL_ZONE:
		return &c->zones[p->obj];
	default:
		return NULL;
	}
}

/* clause_seen - where single-valued keywords of this clause were given */
static struct seen *
clause_seen(struct parser *p)
{
	switch (p->clause) {
	case CL_SERVER:
		return &p->seen_server;
	case CL_RESOLVER:
		return &p->seen_resolver;
	default:
		return &p->seen_obj;
	}
}

/* kw_index - table index of keyword name in clause cl, or -1 */
static int
kw_index(enum clause cl, const char *name)
{
	size_t i;

	for (i = 0; i < NKW; i++)
		if (kwtab[i].clause == cl && strcmp(kwtab[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* close_clause - defaults and checks that need the whole clause */
static void
close_clause(struct parser *p)
{
	struct conf *c = p->c;
	struct seen *sn = &p->seen_obj;
	const char *cf = p->cl_file;
	unsigned cline = p->cl_line;

	switch (p->clause) {
	case CL_UPSTREAM: {
		struct conf_upstream *u = &c->upstreams[p->obj];

		if (u->name == NULL)
			perr_at(p, cf, cline, "upstream: clause without name:");
		if (u->zone == NULL)
			perr_at(p, cf, cline, "upstream %s: no zone: given",
			    u->name ? u->name : "(unnamed)");
		if (u->nerror_codes == 0) {
			struct conf_prefix *pf = GROW(u->error_codes,
			    u->nerror_codes);

			pf->family = AF_INET;
			pf->addr[0] = 127;
			pf->addr[1] = 255;
			pf->addr[2] = 255;
			pf->plen = 24;
		}
		break;
	}
	case CL_LIST: {
		struct conf_list *l = &c->lists[p->obj];

		if (l->name == NULL)
			perr_at(p, cf, cline, "local-list: clause without "
			    "name:");
		if (l->nfiles == 0)
			perr_at(p, cf, cline, "local-list %s: no file: given",
			    l->name ? l->name : "(unnamed)");
		/* an allowlist subtracts in score zones unless told */
		if (l->allow && sn->line[kw_index(CL_LIST, "weight")] == 0)
			l->weight = -1;
		break;
	}
	case CL_ESCALATION: {
		struct conf_escalation *e = &c->escalations[p->obj];

		if (e->name == NULL)
			perr_at(p, cf, cline, "escalation: clause without "
			    "name:");
		if (e->nsources == 0)
			perr_at(p, cf, cline, "escalation %s: no source: "
			    "given", e->name ? e->name : "(unnamed)");
		if (e->txt == NULL)
			e->txt = xstrdup("$count listed addresses in $prefix");
		break;
	}
	case CL_ZONE: {
		struct conf_zone *z = &c->zones[p->obj];
		const char *zn = z->name ? z->name : "(unnamed)";
		int ia = kw_index(CL_ZONE, "answer");

		if (z->name == NULL)
			perr_at(p, cf, cline, "zone: clause without name:");
		if (z->serve && z->nmembers > 0)
			perr_at(p, cf, cline, "zone %s: has both serve: and "
			    "members (bit:/result:); use two zones", zn);
		else if (!z->serve && z->nmembers == 0)
			perr_at(p, cf, cline, "zone %s: neither serve: nor any "
			    "bit: or result: given", zn);
		if (z->serve && sn->line[ia] != 0)
			perr_at(p, sn->file[ia], sn->line[ia], "zone %s: "
			    "answer: is for aggregate zones, not serve: zones",
			    zn);
		if (z->nmembers > CONF_ZONE_MAX_MEMBERS)
			perr_at(p, cf, cline, "zone %s: %zu members, at most "
			    "%d allowed", zn, z->nmembers,
			    CONF_ZONE_MAX_MEMBERS);
		if (z->name != NULL && z->soa_mname == NULL) {
			size_t len = strlen(z->name) + sizeof("hostmaster.");

			if (len - 1 > CONF_DNAME_MAX)
				perr_at(p, cf, cline, "zone %s: name too long "
				    "for the default SOA; give soa:", zn);
			z->soa_mname = xstrdup(z->name);
			z->soa_rname = xmalloc(len);
			snprintf(z->soa_rname, len, "hostmaster.%s", z->name);
		}
		if (sn->line[kw_index(CL_ZONE, "soa-ttl")] == 0)
			z->soa_ttl = z->soa_minimum;
		if (z->nns == 0 && z->soa_mname != NULL)
			*GROW(z->ns, z->nns) = xstrdup(z->soa_mname);
		break;
	}
	default:
		break;
	}
	p->clause = CL_NONE;
}

/* open_clause - a clause keyword: start a new clause */
static void
open_clause(struct parser *p, enum clause cl)
{
	struct conf *c = p->c;

	close_clause(p);
	p->clause = cl;
	p->cl_file = p->file;
	p->cl_line = p->line;
	memset(&p->seen_obj, 0, sizeof(p->seen_obj));
	switch (cl) {
	case CL_UPSTREAM: {
		struct conf_upstream *u = GROW(c->upstreams, c->nupstreams);

		p->obj = c->nupstreams - 1;
		u->family = FAMILY_IP4;
		u->weight = 1;
		u->file = p->file;
		u->line = p->line;
		break;
	}
	case CL_LIST: {
		struct conf_list *l = GROW(c->lists, c->nlists);

		p->obj = c->nlists - 1;
		l->type = LIST_IP4SET;
		l->weight = 1;
		l->ttl = 2100;
		l->file = p->file;
		l->line = p->line;
		break;
	}
	case CL_ESCALATION: {
		struct conf_escalation *e = GROW(c->escalations,
		    c->nescalations);

		p->obj = c->nescalations - 1;
		e->prefix = 24;
		e->prefix6 = 64;
		e->threshold = 2;
		e->window = 86400;
		e->file = p->file;
		e->line = p->line;
		break;
	}
	case CL_ZONE: {
		struct conf_zone *z = GROW(c->zones, c->nzones);

		p->obj = c->nzones - 1;
		z->answer = ANSWER_BITMASK;
		z->soa_refresh = 3600;
		z->soa_retry = 600;
		z->soa_expire = 86400;
		z->soa_minimum = 300;
		z->file = p->file;
		z->line = p->line;
		break;
	}
	default:
		p->obj = 0;
		break;
	}
}

/* where_allowed - "zone:" or "upstream:, local-list: or zone:" */
static void
where_allowed(const char *name, char *buf, size_t cap)
{
	size_t i, n = 0, len = 0;
	int m;

	buf[0] = '\0';
	for (i = 0; i < NKW; i++) {
		if (strcmp(kwtab[i].name, name) != 0)
			continue;
		m = snprintf(buf + len, cap - len, "%s%s:", n ? " or " : "",
		    clause_names[kwtab[i].clause]);
		if (m < 0 || (size_t)m >= cap - len)
			return;
		len += (size_t)m;
		n++;
	}
}

/* clause_of - the clause a bare "name:" line starts, or CL_NONE */
static enum clause
clause_of(const char *name)
{
	int i;

	for (i = CL_SERVER; i < CL_COUNT; i++)
		if (strcmp(clause_names[i], name) == 0)
			return (enum clause)i;
	return CL_NONE;
}

/* do_keyword - one "keyword: values" line inside a clause */
static void
do_keyword(struct parser *p, const char *name, struct tok *v, size_t nv)
{
	const struct kw *k;
	struct seen *sn;
	char where[128];
	size_t i;
	int ki;

	ki = kw_index(p->clause, name);
	if (ki < 0 && clause_of(name) != CL_NONE) {
		perr(p, "'%s:' starts a clause and takes no value on its line "
		    "(put 'name: %.64s' on the next line)", name, v[0].s);
		return;
	}
	if (ki < 0) {
		where_allowed(name, where, sizeof(where));
		if (where[0] == '\0' && p->clause == CL_NONE)
			perr(p, "unknown keyword '%.64s'", name);
		else if (where[0] == '\0')
			perr(p, "unknown keyword '%.64s' in %s: clause", name,
			    clause_names[p->clause]);
		else if (p->clause == CL_NONE)
			perr(p, "'%s' outside of any clause (it belongs in %s)",
			    name, where);
		else
			perr(p, "'%s' is not allowed in %s: (it belongs in %s)",
			    name, clause_names[p->clause], where);
		return;
	}
	k = &kwtab[ki];
	if (nv == 0) {
		perr(p, "%s: missing value (expected %s)", k->name, k->syntax);
		return;
	}
	if (nv < k->minargs || nv > k->maxargs) {
		perr(p, "%s: %s values (expected %s)", k->name,
		    nv < k->minargs ? "too few" : "too many", k->syntax);
		return;
	}
	for (i = 0; i < nv; i++)
		if (v[i].s[0] == '\0' && !(k->flags & KW_EMPTY)) {
			perr(p, "%s: empty value (expected %s)", k->name,
			    k->syntax);
			return;
		}
	if (!(k->flags & KW_MULTI)) {
		sn = clause_seen(p);
		if (sn->line[ki] != 0) {
			perr(p, "%s: given twice in this clause (first at "
			    "%s:%u)", k->name, sn->file[ki], sn->line[ki]);
			return;
		}
		sn->file[ki] = p->file;
		sn->line[ki] = p->line;
	}
	k->fn(p, k, clause_obj(p), v, nv);
}

/* tokenize - split a value into words; quotes and comments handled */
static int
tokenize(struct parser *p, char *s, struct tok *v, size_t *nv)
{
	size_t n = 0;
	char *w;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0' || *s == '#')
			break;
		if (n == MAXTOK) {
			perr(p, "too many values on one line (at most %d)",
			    MAXTOK);
			return -1;
		}
		if (*s == '"') {
			v[n].s = w = ++s;
			v[n].quoted = 1;
			while (*s != '"') {
				if (*s == '\0') {
					perr(p, "missing closing quote");
					return -1;
				}
				if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
					s++;
				*w++ = *s++;
			}
			s++;
			if (*s != '\0' && *s != ' ' && *s != '\t' && *s != '#') {
				perr(p, "a closing quote must end the value");
				return -1;
			}
			if (*s == '#')
				*s = '\0';
			else if (*s != '\0')
				s++;
			*w = '\0';
		} else {
			v[n].s = s;
			v[n].quoted = 0;
			while (*s != '\0' && *s != ' ' && *s != '\t' &&
			    *s != '#' && *s != '"')
				s++;
			if (*s == '"') {
				perr(p, "a quote may only start a value");
				return -1;
			}
			if (*s == '#')
				*s = '\0';
			else if (*s != '\0')
				*s++ = '\0';
		}
		n++;
	}
	*nv = n;
	return 0;
}

static int	read_file(struct parser *, const char *, int);

/* do_include - include: FILE or PATTERN, relative to this file */
static void
do_include(struct parser *p, struct tok *v, size_t nv)
{
	char *path;
	const char *slash;
	glob_t g;
	size_t i;
	int rc;

	if (nv != 1 || v[0].s[0] == '\0') {
		perr(p, "include: %s (expected one file name)",
		    nv == 0 ? "missing value" : "bad value");
		return;
	}
	slash = strrchr(p->file, '/');
	if (v[0].s[0] == '/' || slash == NULL)
		path = xstrdup(v[0].s);
	else {
		size_t dlen = (size_t)(slash - p->file) + 1;
		size_t len = dlen + strlen(v[0].s) + 1;

		path = xmalloc(len);
		memcpy(path, p->file, dlen);
		snprintf(path + dlen, len - dlen, "%s", v[0].s);
	}
	if (strpbrk(path, "*?[") == NULL) {
		read_file(p, path, 1);
		free(path);
		return;
	}
	/* a pattern that matches nothing is not an error (empty conf.d/) */
	memset(&g, 0, sizeof(g));
	rc = glob(path, GLOB_ERR, NULL, &g);
	if (rc != 0 && rc != GLOB_NOMATCH)
		perr(p, "include: cannot expand %s", path);
	for (i = 0; rc == 0 && i < g.gl_pathc; i++)
		read_file(p, g.gl_pathv[i], 1);
	if (rc == 0 || rc == GLOB_NOMATCH)
		globfree(&g);
	free(path);
}

/* do_line - one line of a config file */
static void
do_line(struct parser *p, char *s)
{
	struct tok v[MAXTOK];
	size_t nv = 0;
	char *kw;
	enum clause cl;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0' || *s == '#')
		return;
	kw = s;
	while (isalnum((unsigned char)*s) || *s == '-' || *s == '_')
		s++;
	if (s == kw || *s != ':') {
		perr(p, "syntax error: expected 'keyword: value'");
		return;
	}
	*s++ = '\0';
	if (tokenize(p, s, v, &nv) != 0)
		return;
	if (strcmp(kw, "include") == 0) {
		do_include(p, v, nv);
		return;
	}
	if (nv == 0 && (cl = clause_of(kw)) != CL_NONE) {
		open_clause(p, cl);
		return;
	}
	do_keyword(p, kw, v, nv);
}

/*
 * read_file - parse one file; from an include: line when nested.
 * Only regular files are read, so that an include of a FIFO or a device
 * cannot block or feed the parser forever. Returns -1 if the file could
 * not be opened at all (reported), else 0.
 */
static int
read_file(struct parser *p, const char *path, int nested)
{
	const char *ofile = p->file;
	unsigned oline = p->line;
	struct stat st;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f;
	int fd, i;

	if (p->depth >= INCLUDE_DEPTH_MAX) {
		perr(p, "include: %s: includes nested more than %d deep", path,
		    INCLUDE_DEPTH_MAX);
		return 0;
	}
	if (++p->nfiles > INCLUDE_FILES_MAX) {
		if (p->nfiles == INCLUDE_FILES_MAX + 1)
			perr(p, "include: more than %d files",
			    INCLUDE_FILES_MAX);
		return 0;
	}
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		int e = fd < 0 ? errno : EINVAL;

		if (fd >= 0 && S_ISDIR(st.st_mode))
			e = EISDIR;
		if (nested)
			perr(p, "include: cannot read %s: %s", path,
			    e == EINVAL ? "not a regular file" : strerror(e));
		else
			perr_at(p, keep_string(p->c, path), 0, "cannot read: "
			    "%s", e == EINVAL ? "not a regular file" :
			    strerror(e));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (i = 0; i < p->depth; i++)
		if (p->stack[i].dev == st.st_dev &&
		    p->stack[i].ino == st.st_ino) {
			perr(p, "include: %s: include loop (the file is "
			    "already being read)", path);
			close(fd);
			return 0;
		}
	if ((f = fdopen(fd, "r")) == NULL) {
		perr(p, "include: cannot read %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	p->stack[p->depth].dev = st.st_dev;
	p->stack[p->depth].ino = st.st_ino;
	p->depth++;
	p->file = keep_string(p->c, path);
	p->line = 0;
	while ((len = getline(&buf, &cap, f)) >= 0) {
		p->line++;
		if (len > 0 && buf[len - 1] == '\n')
			buf[--len] = '\0';
		if (len > 0 && buf[len - 1] == '\r')
			buf[--len] = '\0';
		if (len > LINE_MAX_LEN) {
			perr(p, "line longer than %d bytes", LINE_MAX_LEN);
			continue;
		}
		if (memchr(buf, '\0', (size_t)len) != NULL) {
			perr(p, "NUL byte in line");
			continue;
		}
		do_line(p, buf);
	}
	if (ferror(f))
		perr(p, "read error: %s", strerror(errno));
	free(buf);
	fclose(f);
	p->depth--;
	p->file = ofile;
	p->line = oline;
	return 0;
}

/* def_is_result - does this definition produce a result of its name? */
static int
def_is_result(const struct conf *c, const struct def *d)
{
	return d->kind != DEF_UPSTREAM || c->upstreams[d->obj].ncodes == 0;
}

/* find_def - the first definition of name (result or not), or NULL */
static const struct def *
find_def(const struct parser *p, const char *name, int results_only)
{
	size_t i;

	for (i = 0; i < p->ndefs; i++)
		if (strcmp(p->defs[i].name, name) == 0 &&
		    (!results_only || def_is_result(p->c, &p->defs[i])))
			return &p->defs[i];
	return NULL;
}

/* check_names - one namespace for lists, upstreams, results, escalations */
static void
check_names(struct parser *p)
{
	static const char *const what[] = {
		"local list", "upstream", "result of upstream", "escalation",
	};
	size_t i, j;

	for (i = 0; i < p->ndefs; i++) {
		const struct def *d = &p->defs[i];

		for (j = 0; j < i; j++) {
			const struct def *e = &p->defs[j];

			if (strcmp(d->name, e->name) != 0)
				continue;
			/* an upstream's own codes may reuse its name or repeat */
			if ((d->kind == DEF_UPSTREAM || d->kind == DEF_CODE) &&
			    (e->kind == DEF_UPSTREAM || e->kind == DEF_CODE) &&
			    d->obj == e->obj && !(d->kind == DEF_UPSTREAM &&
			    e->kind == DEF_UPSTREAM))
				continue;
			perr_at(p, d->file, d->line, "name '%s' is already "
			    "used by the %s %s at %s:%u", d->name,
			    what[e->kind], e->kind == DEF_CODE ?
			    p->c->upstreams[e->obj].name ?
			    p->c->upstreams[e->obj].name : "(unnamed)" :
			    e->name, e->file, e->line);
			break;
		}
	}
}

/* find_list - index of the local list called name, or -1 */
static long
find_list(const struct conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nlists; i++)
		if (c->lists[i].name != NULL &&
		    strcmp(c->lists[i].name, name) == 0)
			return (long)i;
	return -1;
}

/* find_escalation - index of the escalation called name, or -1 */
static long
find_escalation(const struct conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nescalations; i++)
		if (c->escalations[i].name != NULL &&
		    strcmp(c->escalations[i].name, name) == 0)
			return (long)i;
	return -1;
}

/*
 * check_loop - depth-first walk over escalation sources; colour 1 marks
 * the escalations on the current path, 2 those fully explored. Reaching a
 * colour-1 escalation again closes a loop: report it there.
 */
static void
check_loop(struct parser *p, size_t e, unsigned char *colour)
{
	const struct conf *c = p->c;
	const struct conf_escalation *x = &c->escalations[e];
	size_t i;
	long s;

	colour[e] = 1;
	for (i = 0; i < x->nsources; i++) {
		if ((s = find_escalation(c, x->sources[i])) < 0)
			continue;
		if (colour[s] == 1)
			perr_at(p, c->escalations[s].file,
			    c->escalations[s].line, "escalation %s: its "
			    "sources lead back to itself",
			    c->escalations[s].name);
		else if (colour[s] == 0)
			check_loop(p, (size_t)s, colour);
	}
	colour[e] = 2;
}

/* check_refs - every name a zone or escalation uses must exist */
static void
check_refs(struct parser *p)
{
	struct conf *c = p->c;
	size_t i, j;

	for (i = 0; i < p->nrefs; i++) {
		const struct ref *r = &p->refs[i];
		struct conf_zone *z = r->kind == REF_SOURCE ? NULL :
		    &c->zones[r->obj];

		switch (r->kind) {
		case REF_MEMBER:
			if (find_def(p, r->name, 1) == NULL)
				perr_at(p, r->file, r->line, "'%s' is not a "
				    "result (a local list, an upstream result "
				    "or an escalation)", r->name);
			for (j = 0; j < z->nmembers; j++)
				if (strcmp(z->members[j].result, r->name) == 0)
					break;
			if (j < z->nmembers && z->answer == ANSWER_BITMASK &&
			    z->members[j].bit == 0)
				perr_at(p, r->file, r->line, "zone %s: '%s' has "
				    "no bit; answer: bitmask zones take bit: "
				    "lines", z->name ? z->name : "(unnamed)",
				    r->name);
			break;
		case REF_WEIGHT:
			for (j = 0; j < z->nmembers; j++)
				if (strcmp(z->members[j].result, r->name) == 0)
					break;
			if (j == z->nmembers) {
				perr_at(p, r->file, r->line, "weight: '%s' is "
				    "not a member of this zone (add result: "
				    "%s)", r->name, r->name);
				break;
			}
			z->members[j].weight = r->weight;
			z->members[j].weight_set = true;
			break;
		case REF_EXEMPT:
			if (find_list(c, r->name) < 0)
				perr_at(p, r->file, r->line, "exempt: '%s' is "
				    "not a local list", r->name);
			break;
		case REF_SERVE:
			if (find_list(c, r->name) < 0 &&
			    find_escalation(c, r->name) < 0)
				perr_at(p, r->file, r->line, "serve: '%s' is "
				    "not a local list or an escalation",
				    r->name);
			break;
		case REF_SOURCE:
			if (find_def(p, r->name, 1) == NULL)
				perr_at(p, r->file, r->line, "source: '%s' is "
				    "not a local list or a result", r->name);
			break;
		}
	}
	if (c->nescalations > 0) {
		unsigned char *colour = xcalloc(c->nescalations, 1);

		for (i = 0; i < c->nescalations; i++)
			if (colour[i] == 0)
				check_loop(p, i, colour);
		free(colour);
	}
}

/* check_zones - zone names are unique, also against mirrored upstreams */
static void
check_zones(struct parser *p)
{
	struct conf *c = p->c;
	size_t i, j;

	for (i = 0; i < c->nzones; i++) {
		const struct conf_zone *z = &c->zones[i];

		if (z->name == NULL)
			continue;
		for (j = 0; j < i; j++)
			if (c->zones[j].name != NULL &&
			    strcmp(c->zones[j].name, z->name) == 0) {
				perr_at(p, z->file, z->line, "zone %s is "
				    "already defined at %s:%u", z->name,
				    c->zones[j].file, c->zones[j].line);
				break;
			}
		for (j = 0; j < c->nupstreams; j++)
			if (c->upstreams[j].mirror &&
			    c->upstreams[j].zone != NULL &&
			    strcmp(c->upstreams[j].zone, z->name) == 0)
				perr_at(p, z->file, z->line, "zone %s is "
				    "also the zone of upstream %s, which has "
				    "mirror: yes", z->name,
				    c->upstreams[j].name ? c->upstreams[j].name :
				    "(unnamed)");
	}
	for (i = 0; i < c->nupstreams; i++) {
		const struct conf_upstream *u = &c->upstreams[i];

		for (j = 0; j < u->ncodes; j++) {
			size_t k;

			for (k = 0; k < u->nerror_codes; k++) {
				const struct conf_prefix *e = &u->error_codes[k];
				uint32_t a = u->codes[j].addr, net, mask;

				net = (uint32_t)e->addr[0] << 24 |
				    (uint32_t)e->addr[1] << 16 |
				    (uint32_t)e->addr[2] << 8 | e->addr[3];
				mask = e->plen == 0 ? 0 :
				    0xffffffffU << (32 - e->plen);
				if ((a & mask) == net)
					perr_at(p, u->file, u->line, "upstream "
					    "%s: code for '%s' lies inside an "
					    "error-code prefix",
					    u->name ? u->name : "(unnamed)",
					    u->codes[j].result);
			}
		}
	}
}

/* finish - defaults and checks that need the whole config */
static void
finish(struct parser *p)
{
	struct conf *c = p->c;
	struct conf_server *s = &c->server;
	int imin = kw_index(CL_SERVER, "ttl-min");

	if (s->nlisten == 0) {
		conf_parse_sockaddr("127.0.0.1@53", 53,
		    GROW(s->listen, s->nlisten));
		conf_parse_sockaddr("::1@53", 53, GROW(s->listen, s->nlisten));
	}
	if (s->ttl_min > s->ttl_max) {
		int imax = kw_index(CL_SERVER, "ttl-max");
		int i = p->seen_server.line[imin] ? imin : imax;

		perr_at(p, p->seen_server.file[i], p->seen_server.line[i],
		    "ttl-min (%us) is larger than ttl-max (%us)", s->ttl_min,
		    s->ttl_max);
	}
	check_names(p);
	check_refs(p);
	check_zones(p);
}

/* conf_load - read, check and return a new config */
int
conf_load(const char *path, conf_report_fn *report, void *arg,
    struct conf **out)
{
	struct parser p;
	struct conf *c;
	size_t i;
	int rc = 0;

	c = xcalloc(1, sizeof(*c));
	c->path = xstrdup(path);
	c->server.cache_dir = xstrdup("var/");
	c->server.state_dir = xstrdup("var/");
	c->server.control_socket = xstrdup("var/rblmux.sock");
	c->server.cache_max_size = 256ULL * 1024 * 1024;
	c->server.ttl_min = 60;
	c->server.ttl_max = 86400;
	c->server.negative_ttl_max = 900;
	c->server.serve_stale = 3600;
	c->server.workers = 1;
	c->server.edns_buffer_size = 1232;
	c->server.tcp_idle_timeout_ms = 10000;
	c->server.tcp_max_clients = 100;
	c->server.check_interval = 5;
	c->resolver.timeout_ms = 1200;
	c->resolver.attempts = 2;

	memset(&p, 0, sizeof(p));
	p.c = c;
	p.report = report;
	p.arg = arg;

	if (read_file(&p, path, 0) != 0)
		rc = RBLMUX_EIO;
	else {
		close_clause(&p);
		finish(&p);
	}
	for (i = 0; i < p.nrefs; i++)
		free(p.refs[i].own);
	free(p.defs);
	free(p.refs);
	if (rc != 0 || p.nerr > 0) {
		conf_free(c);
		return rc != 0 ? rc : RBLMUX_EPARSE;
	}
	*out = c;
	return 0;
}

/* free_sockaddrs - release an array of addresses */
static void
free_sockaddrs(struct conf_sockaddr *a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(a[i].text);
	free(a);
}

/* free_strv - release an array of strings */
static void
free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* conf_free - release a config */
void
conf_free(struct conf *c)
{
	size_t i, j;

	if (c == NULL)
		return;
	free(c->path);
	free_sockaddrs(c->server.listen, c->server.nlisten);
	free(c->server.acl);
	free(c->server.directory);
	free(c->server.cache_dir);
	free(c->server.state_dir);
	free(c->server.control_socket);
	free(c->server.pidfile);
	free(c->server.username);
	if (c->server.metrics != NULL)
		free_sockaddrs(c->server.metrics, 1);
	free_sockaddrs(c->resolver.forward, c->resolver.nforward);
	for (i = 0; i < c->nupstreams; i++) {
		struct conf_upstream *u = &c->upstreams[i];

		free(u->name);
		free(u->zone);
		for (j = 0; j < u->ncodes; j++)
			free(u->codes[j].result);
		free(u->codes);
		free(u->error_codes);
		free_sockaddrs(u->servers, u->nservers);
	}
	free(c->upstreams);
	for (i = 0; i < c->nlists; i++) {
		free(c->lists[i].name);
		free_strv(c->lists[i].files, c->lists[i].nfiles);
		free(c->lists[i].txt);
	}
	free(c->lists);
	for (i = 0; i < c->nescalations; i++) {
		free(c->escalations[i].name);
		free_strv(c->escalations[i].sources,
		    c->escalations[i].nsources);
		free(c->escalations[i].txt);
	}
	free(c->escalations);
	for (i = 0; i < c->nzones; i++) {
		struct conf_zone *z = &c->zones[i];

		free(z->name);
		for (j = 0; j < z->nmembers; j++)
			free(z->members[j].result);
		free(z->members);
		free_strv(z->serve_lists, z->nserve_lists);
		free_strv(z->exempt, z->nexempt);
		free(z->soa_mname);
		free(z->soa_rname);
		free_strv(z->ns, z->nns);
		free(z->allow_transfer);
	}
	free(c->zones);
	free_strv(c->strings, c->nstrings);
	free(c);
}

/* conf_path - a configured path, relative ones under server.directory */
char *
conf_path(const struct conf *c, const char *p)
{
	const char *dir = c != NULL ? c->server.directory : NULL;
	size_t dlen, len;
	char *r;

	if (p[0] == '/' || dir == NULL || dir[0] == '\0')
		return xstrdup(p);
	dlen = strlen(dir);
	while (dlen > 0 && dir[dlen - 1] == '/')
		dlen--;
	/* dlen 0: the directory is "/" */
	len = dlen + 1 + strlen(p) + 1;
	r = xmalloc(len);
	snprintf(r, len, "%.*s/%s", (int)dlen, dir, p);
	return r;
}
