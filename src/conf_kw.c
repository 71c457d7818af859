/*
 * conf_kw.c -- the keyword table of rblmux.conf and its value handlers.
 *
 * One row per (clause, keyword): handler, target member (by offset in
 * the clause's struct), arity, bounds and the syntax named in messages
 * (Postfix CONFIG_*_TABLE style). A handler checks one line's values and
 * stores them, or reports what was expected; names that refer to other
 * clauses are only recorded here (conf_check.c resolves them). A handler
 * that runs out of memory frees what it made for the line and leaves
 * p->oom set (conf_int.h).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_int.h"
#include "err.h"

#define TTL_MAX			0x7fffffffU	/* RFC 2181 8 */
#define BIT_MAX			(1U << 23)	/* 127.0.0.0 + 24 host bits */
#define WEIGHT_MAX		255

#define OFF(type, member)	offsetof(struct type, member)
#define AT(obj, off, type)	((type *)(void *)((char *)(obj) + (off)))

#define KW_MULTI	0x01		/* may be given more than once */
#define KW_EMPTY	0x02		/* "" is a valid value */

struct kw;

typedef void kw_fn(struct parser *, const struct kw *, void *,
    struct tok *, size_t);

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

const char *const conf_clause_names[CL_COUNT] = {
	"", "server", "resolver", "upstream", "local-list", "escalation",
	"zone",
};

static kw_fn kw_sockaddrs, kw_sockaddr, kw_acl, kw_string,
    kw_size, kw_dur, kw_dur_ms, kw_uint, kw_u16, kw_int, kw_bool,
    kw_objname, kw_dname, kw_code, kw_value, kw_errcode, kw_family, kw_maxq,
    kw_ltype, kw_strings, kw_refs, kw_answer, kw_bit, kw_result,
    kw_zweight, kw_soa, kw_dnames, kw_prefixes;

#define DUR		"a duration such as 90, 15m, 1h or 1d"
#define PREFIXES	"PREFIX ..., each an address or ADDRESS/LEN with no " \
			"bits set past LEN"

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
	{ CL_SERVER, "max-pending", kw_uint,
	    OFF(conf_server, max_pending), 0, 0, 1, 1, 1, 1000000,
	    "a number from 1 to 1000000" },
	{ CL_SERVER, "tcp-message-timeout", kw_dur_ms,
	    OFF(conf_server, tcp_message_timeout_ms), 0, 0, 1, 1, 1, 3600000,
	    "a duration from 1ms to 1h, such as 2s" },
	{ CL_SERVER, "check-interval", kw_dur,
	    OFF(conf_server, check_interval), 0, 0, 1, 1, 0, 86400,
	    "a duration up to 1d, 0 = off" },
	{ CL_SERVER, "log-queries", kw_bool, OFF(conf_server, log_queries),
	    0, 0, 1, 1, 0, 0, "yes or no" },
	{ CL_SERVER, "rate-limit", kw_uint, OFF(conf_server, rate_limit), 0,
	    0, 1, 1, 0, 1000000, "a number from 0 to 1000000, 0 = off" },
	{ CL_SERVER, "rate-limit-slip", kw_uint,
	    OFF(conf_server, rate_limit_slip), 0, 0, 1, 1, 0, 100,
	    "a number from 0 to 100" },
	{ CL_SERVER, "rate-limit-ipv4-prefix", kw_uint,
	    OFF(conf_server, rate_limit_ipv4_prefix), 0, 0, 1, 1, 1, 32,
	    "a prefix length from 1 to 32" },
	{ CL_SERVER, "rate-limit-ipv6-prefix", kw_uint,
	    OFF(conf_server, rate_limit_ipv6_prefix), 0, 0, 1, 1, 1, 128,
	    "a prefix length from 1 to 128" },
	{ CL_SERVER, "rate-limit-size", kw_uint,
	    OFF(conf_server, rate_limit_size), 0, 0, 1, 1, 1, 16777216,
	    "a number from 1 to 16777216" },
	{ CL_SERVER, "rate-limit-exempt", kw_prefixes,
	    OFF(conf_server, rate_limit_exempt),
	    OFF(conf_server, nrate_limit_exempt), KW_MULTI, 1, MAXTOK, 0, 0,
	    PREFIXES },

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
	{ CL_LIST, "max-memory", kw_size, OFF(conf_list, max_memory), 0, 0,
	    1, 1, 1024 * 1024, 0, "a size of at least 1m, such as 512m or 2g" },

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
	{ CL_ESCALATION, "value", kw_value, OFF(conf_escalation, value), 0,
	    0, 1, 1, 0, 0, "an address in 127.0.0.0/8 above 127.0.0.1" },

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
	{ CL_ZONE, "ttl-max", kw_dur, OFF(conf_zone, ttl_max), 0, 0, 1, 1, 1,
	    TTL_MAX, DUR },
	{ CL_ZONE, "ns", kw_dnames, OFF(conf_zone, ns), OFF(conf_zone, nns),
	    KW_MULTI, 1, MAXTOK, 0, 0, "NAME ..." },
	{ CL_ZONE, "allow-transfer", kw_prefixes,
	    OFF(conf_zone, allow_transfer), OFF(conf_zone, nallow_transfer),
	    KW_MULTI, 1, MAXTOK, 0, 0, PREFIXES },
	{ CL_ZONE, "notify", kw_sockaddrs, OFF(conf_zone, notify),
	    OFF(conf_zone, nnotify), KW_MULTI, 1, 1, 53, 0,
	    "ADDRESS[@PORT]" },
};

#define NKW	(sizeof(kwtab) / sizeof(kwtab[0]))

_Static_assert(NKW <= CONF_KW_MAX, "raise CONF_KW_MAX");

/* bad - a value that does not parse */
static void
bad(struct parser *p, const struct kw *k, const char *val)
{
	conf_perr(p, "%s: bad value '%.100s' (expected %s)", k->name, val,
	    k->syntax);
}

/*
 * parse_ll - a whole decimal integer, optionally signed, within bounds:
 * 0, or RBLMUX_EPARSE
 */
static int
parse_ll(const char *s, long long lo, long long hi, long long *out)
{
	long long v;
	char *end;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return RBLMUX_EPARSE;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return RBLMUX_EPARSE;
	*out = v;
	return 0;
}

/* parse_code - an IPv4 address inside 127.0.0.0/8, host order: 0 or
 * RBLMUX_EPARSE */
static int
parse_code(const char *s, uint32_t *out)
{
	struct conf_prefix pf;
	uint32_t a;

	if (conf_parse_prefix(s, &pf) != 0 || pf.family != AF_INET ||
	    pf.plen != 32 || strchr(s, '/') != NULL)
		return RBLMUX_EPARSE;
	a = (uint32_t)pf.addr[0] << 24 | (uint32_t)pf.addr[1] << 16 |
	    (uint32_t)pf.addr[2] << 8 | pf.addr[3];
	if ((a >> 24) != 127)
		return RBLMUX_EPARSE;
	*out = a;
	return 0;
}

/*
 * name_dup - check a result/list name and return a lower-cased copy;
 * NULL after reporting a bad name, or when out of memory
 */
static char *
name_dup(struct parser *p, const struct kw *k, const char *s)
{
	char *r;
	size_t i;

	if (!conf_name_valid(s)) {
		conf_perr(p, "%s: bad name '%.100s' (expected a letter, then "
		    "up to 62 letters, digits, '-' or '_')", k->name, s);
		return NULL;
	}
	if ((r = conf_strdup(p, s)) == NULL)
		return NULL;
	for (i = 0; r[i] != '\0'; i++)
		r[i] = (char)tolower((unsigned char)r[i]);
	return r;
}

/* add_def - note a name defined in the shared namespace */
static void
add_def(struct parser *p, const char *name, enum def_kind kind)
{
	struct def *d = GROW(p, p->defs, p->ndefs);

	if (d == NULL)
		return;
	d->name = name;
	d->kind = kind;
	d->obj = p->obj;
	d->file = p->file;
	d->line = p->line;
}

/* add_ref - note a name to resolve once everything is read; NULL: oom */
static struct ref *
add_ref(struct parser *p, const char *name, enum ref_kind kind)
{
	struct ref *r = GROW(p, p->refs, p->nrefs);

	if (r == NULL)
		return NULL;
	r->name = name;
	r->kind = kind;
	r->obj = p->obj;
	r->file = p->file;
	r->line = p->line;
	return r;
}

/*
 * store_str - append s (owned, NULL when out of memory) to a string
 * array; 1, or 0 when out of memory (s freed)
 */
static int
store_str(struct parser *p, char ***arr, size_t *n, char *s)
{
	char **slot;

	if (s == NULL || (slot = GROW(p, *arr, *n)) == NULL) {
		free(s);
		return 0;
	}
	*slot = s;
	return 1;
}

/* kw_sockaddrs - append ADDRESS[@PORT] to an array */
static void
kw_sockaddrs(struct parser *p, const struct kw *k, void *obj,
    struct tok *v, size_t nv)
{
	struct conf_sockaddr **arr = AT(obj, k->off, struct conf_sockaddr *);
	size_t *n = AT(obj, k->off2, size_t);
	struct conf_sockaddr sa, *slot;

	if (conf_oom(p, conf_parse_sockaddr(v[0].s, (uint16_t)k->lo,
	    &sa)) != 0) {
		bad(p, k, v[0].s);
		return;
	}
	if ((slot = GROW(p, *arr, *n)) == NULL) {
		free(sa.text);
		return;
	}
	*slot = sa;
}

/* kw_sockaddr - one ADDRESS[@PORT] behind a pointer */
static void
kw_sockaddr(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	struct conf_sockaddr **sp = AT(obj, k->off, struct conf_sockaddr *);
	struct conf_sockaddr sa;

	if (conf_oom(p, conf_parse_sockaddr(v[0].s, (uint16_t)k->lo,
	    &sa)) != 0) {
		bad(p, k, v[0].s);
		return;
	}
	if ((*sp = conf_alloc(p, sizeof(**sp))) == NULL) {
		free(sa.text);
		return;
	}
	**sp = sa;
}

/* kw_acl - access-control: PREFIX ACTION */
static void
kw_acl(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	struct conf_server *s = obj;
	struct conf_acl a, *slot;
	struct conf_key key;
	unsigned char bin[18];

	memset(&a, 0, sizeof(a));
	if (conf_parse_prefix(v[0].s, &a.prefix) != 0) {
		conf_perr(p, "%s: bad prefix '%.100s' (expected an address or "
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
		conf_perr(p, "%s: bad action '%.100s' (expected allow, refuse "
		    "or deny)", k->name, v[1].s);
		return;
	}
	bin[0] = (unsigned char)a.prefix.family;
	bin[1] = a.prefix.plen;
	memcpy(bin + 2, a.prefix.addr, 16);
	key = conf_key_bin(KEY_ACL, 0, bin, sizeof(bin));
	if (conf_key_get(p, &key) != CONF_NONE) {
		conf_perr(p, "%s: %s is already given", k->name, v[0].s);
		return;
	}
	if ((slot = GROW(p, s->acl, s->nacl)) == NULL)
		return;
	*slot = a;
	conf_key_set(p, &key, s->nacl - 1);
}

/* kw_string - any string ("" only with KW_EMPTY), replacing a default */
static void
kw_string(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	char **sp = AT(obj, k->off, char *);

	free(*sp);
	*sp = conf_strdup(p, v[0].s);
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
		conf_perr(p, "%s: %s is out of range (expected %s from %llus "
		    "to %llus)", k->name, v[0].s, k->syntax, k->lo, k->hi);
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
		conf_perr(p, "%s: %s is out of range (expected %s; a bare "
		    "number is seconds)", k->name, v[0].s, k->syntax);
		return;
	}
	*AT(obj, k->off, uint32_t) = n;
}

/*
 * bounded - a number within [k->lo, k->hi]; 0, or RBLMUX_EPARSE after
 * reporting
 */
static int
bounded(struct parser *p, const struct kw *k, const char *s, long long *n)
{
	if (parse_ll(s, LLONG_MIN, LLONG_MAX, n) != 0) {
		bad(p, k, s);
		return RBLMUX_EPARSE;
	}
	if (*n < k->lo || *n > k->hi) {
		conf_perr(p, "%s: %s is out of range (expected %s)", k->name,
		    s, k->syntax);
		return RBLMUX_EPARSE;
	}
	return 0;
}

/* kw_uint - an unsigned number within [lo, hi] */
static void
kw_uint(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	long long n;

	if (bounded(p, k, v[0].s, &n) == 0)
		*AT(obj, k->off, unsigned) = (unsigned)n;
}

/* kw_u16 - a 16-bit number within [lo, hi] */
static void
kw_u16(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	long long n;

	if (bounded(p, k, v[0].s, &n) == 0)
		*AT(obj, k->off, uint16_t) = (uint16_t)n;
}

/* kw_int - a signed number within [lo, hi] */
static void
kw_int(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	long long n;

	if (bounded(p, k, v[0].s, &n) == 0)
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

	if (conf_oom(p, conf_parse_dname(v[0].s, &name)) != 0) {
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
		if (conf_oom(p, conf_parse_dname(v[i].s, &name)) != 0) {
			bad(p, k, v[i].s);
			continue;
		}
		if (!store_str(p, arr, n, name))
			return;
	}
}

/* kw_prefixes - append address prefixes to an array */
static void
kw_prefixes(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	struct conf_prefix **arr = AT(obj, k->off, struct conf_prefix *);
	size_t *n = AT(obj, k->off2, size_t), i;
	struct conf_prefix pf, *slot;

	for (i = 0; i < nv; i++) {
		if (conf_parse_prefix(v[i].s, &pf) != 0) {
			bad(p, k, v[i].s);
			continue;
		}
		if ((slot = GROW(p, *arr, *n)) == NULL)
			return;
		*slot = pf;
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
		if (!store_str(p, arr, n, conf_strdup(p, v[i].s)))
			return;
}

/* kw_refs - append names of results/lists to an array, to resolve later */
static void
kw_refs(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	char ***arr = AT(obj, k->off, char **);
	size_t *n = AT(obj, k->off2, size_t), i;
	enum key_kind kk = (enum key_kind)(KEY_REF + k->lo);
	struct conf_key key;
	char *name;

	for (i = 0; i < nv; i++) {
		if ((name = name_dup(p, k, v[i].s)) == NULL)
			continue;
		key = conf_key_name(kk, p->obj, name);
		if (conf_key_get(p, &key) != CONF_NONE) {
			conf_perr(p, "%s: '%s' is already given", k->name,
			    name);
			free(name);
			continue;
		}
		if (!store_str(p, arr, n, name))
			return;
		conf_key_set(p, &key, *n - 1);
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
	struct conf_key key;
	uint32_t a;
	char *name;
	size_t i;

	if (parse_code(v[0].s, &a) != 0) {
		conf_perr(p, "%s: bad answer code '%.100s' (expected an "
		    "address in 127.0.0.0/8)", k->name, v[0].s);
		return;
	}
	key = conf_key_bin(KEY_CODE, p->obj, &a, sizeof(a));
	if ((i = conf_key_get(p, &key)) != CONF_NONE) {
		conf_perr(p, "%s: %s is already mapped to '%s'", k->name,
		    v[0].s, u->codes[i].result);
		return;
	}
	if ((name = name_dup(p, k, v[1].s)) == NULL)
		return;
	if ((cc = GROW(p, u->codes, u->ncodes)) == NULL) {
		free(name);
		return;
	}
	cc->addr = a;
	cc->result = name;
	conf_key_set(p, &key, u->ncodes - 1);
	add_def(p, name, DEF_CODE);
}

/* kw_errcode - error-code: PREFIX ..., IPv4 only */
static void
kw_errcode(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	struct conf_upstream *u = obj;
	struct conf_prefix pf, *slot;
	size_t i;

	for (i = 0; i < nv; i++) {
		if (conf_parse_prefix(v[i].s, &pf) != 0 ||
		    pf.family != AF_INET) {
			bad(p, k, v[i].s);
			continue;
		}
		if ((slot = GROW(p, u->error_codes, u->nerror_codes)) == NULL)
			return;
		*slot = pf;
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
	struct conf_key key;
	char *name;

	if ((name = name_dup(p, k, s)) == NULL)
		return NULL;
	key = conf_key_name(KEY_MEMBER, p->obj, name);
	if (conf_key_get(p, &key) != CONF_NONE) {
		conf_perr(p, "%s: '%s' is already a member of this zone",
		    k->name, name);
		free(name);
		return NULL;
	}
	if ((m = GROW(p, z->members, z->nmembers)) == NULL) {
		free(name);
		return NULL;
	}
	m->result = name;
	conf_key_set(p, &key, z->nmembers - 1);
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
	struct conf_key key;
	long long b;
	uint32_t bit;
	size_t i;

	if (parse_ll(v[0].s, 0, LLONG_MAX, &b) != 0 || b < 2 || b > BIT_MAX ||
	    (b & (b - 1)) != 0) {
		conf_perr(p, "%s: bad bit value '%.100s' (expected a power of "
		    "two from 2 to %u)", k->name, v[0].s, BIT_MAX);
		return;
	}
	bit = (uint32_t)b;
	key = conf_key_bin(KEY_BIT, p->obj, &bit, sizeof(bit));
	if ((i = conf_key_get(p, &key)) != CONF_NONE) {
		conf_perr(p, "%s: %lld is already the bit of '%s'", k->name, b,
		    z->members[i].result);
		return;
	}
	if ((m = add_member(p, k, z, v[1].s)) == NULL)
		return;
	m->bit = bit;
	conf_key_set(p, &key, z->nmembers - 1);
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
		conf_perr(p, "%s: bad answer value '%.100s' (expected an "
		    "address in 127.0.0.0/8 above 127.0.0.1)", k->name, v[1].s);
		return;
	}
	if ((m = add_member(p, k, z, v[0].s)) != NULL)
		m->value = a;
}

/* kw_value - one answer value: an address in 127/8 above 127.0.0.1 */
static void
kw_value(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	uint32_t a;

	if (parse_code(v[0].s, &a) != 0 || a <= 0x7f000001U)
		bad(p, k, v[0].s);
	else
		*AT(obj, k->off, uint32_t) = a;
}

/* kw_zweight - weight: WEIGHT RESULT, this zone's score for a member */
static void
kw_zweight(struct parser *p, const struct kw *k, void *obj, struct tok *v,
    size_t nv)
{
	struct conf_key key;
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
	key = conf_key_name(KEY_WEIGHT, p->obj, name);
	if ((i = conf_key_get(p, &key)) != CONF_NONE) {
		conf_perr(p, "%s: '%s' already has a weight in this zone "
		    "(line %u)", k->name, name, p->refs[i].line);
		free(name);
		return;
	}
	if ((r = add_ref(p, name, REF_WEIGHT)) == NULL) {
		free(name);
		return;
	}
	r->own = name;
	r->weight = (int)w;
	conf_key_set(p, &key, p->nrefs - 1);
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

	if (conf_oom(p, conf_parse_dname(v[0].s, &mname)) != 0) {
		conf_perr(p, "%s: bad MNAME '%.100s' (expected a domain name)",
		    k->name, v[0].s);
		ok = 0;
	}
	if (conf_oom(p, conf_parse_dname(v[1].s, &rname)) != 0) {
		conf_perr(p, "%s: bad RNAME '%.100s' (expected a domain name "
		    "such as hostmaster.example.org.)", k->name, v[1].s);
		ok = 0;
	}
	for (i = 0; i < 4; i++)
		if (conf_parse_duration(v[2 + i].s, &t[i]) != 0 ||
		    t[i] > TTL_MAX) {
			conf_perr(p, "%s: bad %s '%.100s' (expected %s)",
			    k->name, i == 0 ? "REFRESH" : i == 1 ? "RETRY" :
			    i == 2 ? "EXPIRE" : "MINIMUM", v[2 + i].s, DUR);
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

/* conf_kw_index - table index of keyword name in clause cl, or -1 */
int
conf_kw_index(enum clause cl, const char *name)
{
	size_t i;

	for (i = 0; i < NKW; i++)
		if (kwtab[i].clause == cl && strcmp(kwtab[i].name, name) == 0)
			return (int)i;
	return -1;
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
		    conf_clause_names[kwtab[i].clause]);
		if (m < 0 || (size_t)m >= cap - len)
			return;
		len += (size_t)m;
		n++;
	}
}

/* conf_clause_of - the clause a bare "name:" line starts, or CL_NONE */
enum clause
conf_clause_of(const char *name)
{
	int i;

	for (i = CL_SERVER; i < CL_COUNT; i++)
		if (strcmp(conf_clause_names[i], name) == 0)
			return (enum clause)i;
	return CL_NONE;
}

/* conf_kw_do - one "keyword: values" line inside a clause */
void
conf_kw_do(struct parser *p, const char *name, struct tok *v, size_t nv)
{
	const struct kw *k;
	struct seen *sn;
	char where[128];
	size_t i;
	int ki;

	ki = conf_kw_index(p->clause, name);
	if (ki < 0 && conf_clause_of(name) != CL_NONE) {
		conf_perr(p, "'%s:' starts a clause and takes no value on its "
		    "line (put 'name: %.64s' on the next line)", name, v[0].s);
		return;
	}
	if (ki < 0) {
		where_allowed(name, where, sizeof(where));
		if (where[0] == '\0' && p->clause == CL_NONE)
			conf_perr(p, "unknown keyword '%.64s'", name);
		else if (where[0] == '\0')
			conf_perr(p, "unknown keyword '%.64s' in %s: clause",
			    name, conf_clause_names[p->clause]);
		else if (p->clause == CL_NONE)
			conf_perr(p, "'%s' outside of any clause (it belongs "
			    "in %s)", name, where);
		else
			conf_perr(p, "'%s' is not allowed in %s: (it belongs "
			    "in %s)", name, conf_clause_names[p->clause],
			    where);
		return;
	}
	k = &kwtab[ki];
	if (nv == 0) {
		conf_perr(p, "%s: missing value (expected %s)", k->name,
		    k->syntax);
		return;
	}
	if (nv < k->minargs || nv > k->maxargs) {
		conf_perr(p, "%s: %s values (expected %s)", k->name,
		    nv < k->minargs ? "too few" : "too many", k->syntax);
		return;
	}
	for (i = 0; i < nv; i++)
		if (v[i].s[0] == '\0' && !(k->flags & KW_EMPTY)) {
			conf_perr(p, "%s: empty value (expected %s)", k->name,
			    k->syntax);
			return;
		}
	if (!(k->flags & KW_MULTI)) {
		sn = clause_seen(p);
		if (sn->line[ki] != 0) {
			conf_perr(p, "%s: given twice in this clause (first at "
			    "%s:%u)", k->name, sn->file[ki], sn->line[ki]);
			return;
		}
		sn->file[ki] = p->file;
		sn->line[ki] = p->line;
	}
	k->fn(p, k, clause_obj(p), v, nv);
}
