/*
 * conf.h -- rblmux.conf: parse, validate, free.
 *
 * Unbound/NSD style: "keyword: value" lines grouped in clauses (server:,
 * resolver:, upstream:, local-list:, escalation:, zone:), "#" comments,
 * "include: FILE". conf_load() parses into a fresh struct conf and checks
 * every value and every cross-reference (zone members name existing
 * results, exempt names an existing list, ...). Problems are reported
 * with file:line through the report callback; a config with any problem
 * is rejected as a whole, so a bad reload never replaces a good config.
 *
 * Durations take s/m/h/d/w (and ms where noted), sizes k/m/g.
 * A struct conf is immutable once loaded; free it with conf_free().
 * Nothing here exits the process: conf_load() runs in the reload thread
 * too, and an allocation that fails makes it free what it built and
 * return RBLMUX_ENOMEM.
 */
#ifndef RBLMUX_CONF_H
#define RBLMUX_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "list.h"

/* An address with port, e.g. "127.0.0.1@5353" or "::1@53" or "::1" */
struct conf_sockaddr {
	struct sockaddr_storage	 sa;		/* port set (default applied) */
	socklen_t		 salen;
	char			*text;		/* as written */
};

/* An address prefix, e.g. "192.0.2.0/24" or "2001:db8::/32" or "::1" */
struct conf_prefix {
	int		 family;		/* AF_INET or AF_INET6 */
	uint8_t		 addr[16];		/* network order; v4 in [0..3] */
	uint8_t		 plen;			/* prefix length */
};

enum conf_acl_action {
	ACL_ALLOW = 0,		/* answer */
	ACL_REFUSE,		/* answer REFUSED */
	ACL_DENY,		/* drop silently */
};

struct conf_acl {
	struct conf_prefix	 prefix;
	enum conf_acl_action	 action;
};

struct conf_server {
	struct conf_sockaddr	*listen;	/* default 127.0.0.1@53, ::1@53 */
	size_t			 nlisten;
	struct conf_acl		*acl;		/* as written; loopback allow is
						   implied unless overridden */
	size_t			 nacl;
	char			*directory;	/* relative paths start here; NULL = cwd */
	char			*cache_dir;	/* default "var/" */
	char			*state_dir;	/* default "var/" */
	char			*control_socket; /* default "var/rblmux.sock" */
	char			*pidfile;	/* NULL = none */
	char			*username;	/* NULL or "" = stay */
	uint64_t		 cache_max_size; /* bytes, default 256m */
	uint32_t		 ttl_min;	/* seconds, default 60 */
	uint32_t		 ttl_max;	/* default 1d */
	uint32_t		 negative_ttl_max; /* default 15m */
	uint32_t		 serve_stale;	/* default 1h */
	struct conf_sockaddr	*metrics;	/* NULL = off; default port 9153 */
	unsigned		 workers;	/* default 1 */
	uint16_t		 edns_buffer_size; /* default 1232, 512..4096 */
	uint32_t		 tcp_idle_timeout_ms; /* default 10000 */
	unsigned		 tcp_max_clients; /* default 100 */
	unsigned		 max_pending;	/* parked queries; default 4096 */
	uint32_t		 tcp_message_timeout_ms; /* default 2000 */
	uint32_t		 check_interval; /* list mtime check, s; default 5; 0 = off */
	bool			 log_queries;	/* per-query debug log; default no */
	unsigned		 rate_limit;	/* UDP replies a second per
						   bucket (rrl.h); 0 = off,
						   the default */
	unsigned		 rate_limit_slip; /* default 2 */
	unsigned		 rate_limit_ipv4_prefix; /* default 24 */
	unsigned		 rate_limit_ipv6_prefix; /* default 56 */
	unsigned		 rate_limit_size; /* buckets; default 65536 */
	struct conf_prefix	*rate_limit_exempt; /* never limited */
	size_t			 nrate_limit_exempt;
};

struct conf_resolver {
	struct conf_sockaddr	*forward;	/* NULL/0: from /etc/resolv.conf later */
	size_t			 nforward;
	uint32_t		 timeout_ms;	/* default 1200 */
	unsigned		 attempts;	/* default 2 */
};

enum conf_family {
	FAMILY_IP4 = 0,
	FAMILY_IP6,
	FAMILY_NAME,
};

struct conf_code {
	uint32_t	 addr;			/* answer code, host order */
	char		*result;		/* result name */
};

struct conf_upstream {
	char			*name;
	char			*zone;		/* lower case, no trailing dot */
	struct conf_code	*codes;
	size_t			 ncodes;
	struct conf_prefix	*error_codes;	/* IPv4; default
						   127.255.255.0/24 */
	size_t			 nerror_codes;
	enum conf_family	 family;	/* default ip4 */
	int			 weight;	/* default 1, -255..255 */
	bool			 mirror;
	struct conf_sockaddr	*servers;	/* default port 53 */
	size_t			 nservers;
	uint64_t		 max_queries;	/* 0 = unlimited */
	uint32_t		 max_queries_period; /* seconds, with max_queries */
	const char		*file;		/* where the clause starts */
	unsigned		 line;
};

struct conf_list {
	char			*name;
	enum list_type		 type;		/* default ip4set */
	char			**files;	/* at least one */
	size_t			 nfiles;
	bool			 allow;		/* allowlist */
	int			 weight;	/* default 1, -1 for allow: yes */
	uint32_t		 ttl;		/* default TTL, default 35m */
	uint64_t		 max_memory;	/* bytes of list data; 0 = the
						   default (list.h) */
	char			*txt;		/* aggregate TXT when the entry has
						   none; NULL: "NAME: listed" */
	const char		*file;
	unsigned		 line;
};

struct conf_escalation {
	char			*name;
	char			**sources;	/* list or result names */
	size_t			 nsources;
	unsigned		 prefix;	/* IPv4 prefix, default 24 */
	unsigned		 prefix6;	/* IPv6 prefix, default 64 */
	unsigned		 threshold;	/* default 2 */
	char			*txt;		/* may hold $count and $prefix;
						   default "$count listed
						   addresses in $prefix" */
	uint32_t		 window;	/* upstream results seen
						   within, s; default 1d */
	uint32_t		 value;		/* A of its answers, host
						   order; default 127.0.0.2 */
	const char		*file;
	unsigned		 line;
};

enum conf_answer {
	ANSWER_BITMASK = 0,
	ANSWER_EACH,
	ANSWER_SCORE,
};

/* A result that takes part in an aggregate zone. */
struct conf_member {
	char		*result;		/* result name */
	uint32_t	 bit;			/* bitmask: power of two >= 2 */
	uint32_t	 value;			/* each: A to answer (host order);
						   0 = the result's own value */
	int		 weight;		/* score: weight */
	bool		 weight_set;		/* weight given in the zone */
};

struct conf_zone {
	char			*name;		/* lower case, no trailing dot */
	bool			 serve;		/* serve: zone (authoritative list) */
	enum conf_answer	 answer;	/* aggregate zones */
	struct conf_member	*members;	/* aggregate zones */
	size_t			 nmembers;
	char			**serve_lists;	/* serve: names */
	size_t			 nserve_lists;
	char			**exempt;	/* allowlists */
	size_t			 nexempt;
	char			*soa_mname;	/* lower case, no trailing dot;
						   default: the zone name */
	char			*soa_rname;	/* default: hostmaster.ZONE */
	uint32_t		 soa_refresh, soa_retry, soa_expire, soa_minimum;
						/* default 3600 600 86400 300 */
	uint32_t		 soa_ttl;	/* SOA/NS TTL; default
						   soa_minimum */
	uint32_t		 ttl_max;	/* largest answer TTL; 0 = not
						   set (server ttl-max, and a
						   serve: zone's lists' own) */
	char			**ns;		/* lower case, no trailing dot;
						   default: soa_mname */
	size_t			 nns;
	struct conf_prefix	*allow_transfer;
	size_t			 nallow_transfer;
	struct conf_sockaddr	*notify;	/* NOTIFY targets; default:
						   the allow-transfer hosts,
						   port 53 */
	size_t			 nnotify;
	const char		*file;
	unsigned		 line;
};

struct conf {
	char			*path;		/* main config file */
	struct conf_server	 server;
	struct conf_resolver	 resolver;
	struct conf_upstream	*upstreams;
	size_t			 nupstreams;
	struct conf_list	*lists;
	size_t			 nlists;
	struct conf_escalation	*escalations;
	size_t			 nescalations;
	struct conf_zone	*zones;
	size_t			 nzones;
	char			**strings;	/* file names kept for file/line */
	size_t			 nstrings;
};

/* Called for each problem: file may be NULL, line 0 = no line. */
typedef void conf_report_fn(void *arg, const char *file, unsigned line,
    const char *msg);

/*
 * Parse and validate path. On success stores a new config in *out and
 * returns 0. Otherwise reports every problem found (not just the first)
 * and returns RBLMUX_EPARSE (or RBLMUX_EIO if path cannot be read, or
 * -EMFILE, -ENFILE, -ENOMEM when a file could not be opened for want of
 * descriptors or memory: worth trying again later); *out is untouched. When memory runs out it stops reading, reports
 * "out of memory" (file path, line 0) after whatever it had found before,
 * frees all it built and returns RBLMUX_ENOMEM.
 */
int	 conf_load(const char *path, conf_report_fn *report, void *arg,
	    struct conf **out);

/* Release a config. Accepts NULL. */
void	 conf_free(struct conf *c);

/*
 * Resolve a path from the config: absolute paths as they are, relative ones
 * under server.directory (if set). Returns a new string the caller frees,
 * or NULL when out of memory.
 */
char	*conf_path(const struct conf *c, const char *p);

/*
 * Parse helpers, also used by rblmuxctl: 0 on success, RBLMUX_EPARSE for
 * a value that does not parse, RBLMUX_ENOMEM when the copy that
 * conf_parse_sockaddr() or conf_parse_dname() return cannot be made; the
 * output is written only on success.
 * Durations: a bare number is seconds; otherwise one or more NUMBER UNIT
 * parts that add up ("1h30m"), units s m h d w (and ms for _ms).
 * Sizes: NUMBER with an optional k, m or g (powers of 1024).
 * Prefixes: ADDRESS[/LEN], IPv4 or IPv6; bits past LEN must be zero.
 * Sockaddrs: ADDRESS[@PORT]; out->text is a copy of s the caller frees.
 * Domain names: labels of letters, digits, '-' or '_' (1..63 bytes), at
 * most CONF_DNAME_MAX bytes without the optional trailing dot; *out gets
 * a lower-cased copy without the dot (the caller frees it).
 */
int	 conf_parse_duration(const char *s, uint32_t *secs);	/* s m h d w */
int	 conf_parse_duration_ms(const char *s, uint32_t *ms);	/* + ms */
int	 conf_parse_size(const char *s, uint64_t *bytes);	/* k m g */
int	 conf_parse_prefix(const char *s, struct conf_prefix *p);
int	 conf_parse_sockaddr(const char *s, uint16_t defport,
	    struct conf_sockaddr *out);
int	 conf_parse_dname(const char *s, char **out);

#define CONF_DNAME_MAX		253	/* presentation length, no final dot */
#define CONF_ZONE_MAX_MEMBERS	64	/* results per zone (answer.h
						   ANSWER_MAX_SRC) */

/*
 * Is s a valid list/upstream/escalation/result name: a letter, then up to
 * 62 letters, digits, '-' or '_' (names are DNS labels in per-result
 * subzones)? conf_load() stores names lower-cased. Returns 1 or 0.
 */
int	 conf_name_valid(const char *s);

#endif /* RBLMUX_CONF_H */
