/*
 * test_conf.c -- rblmux.conf parsing and validation.
 *
 * Every config is written to a file under a mkdtemp() directory and read
 * back with conf_load(). Tables: value parsers, each keyword with good
 * values (checked in the resulting struct) and bad ones (checked for the
 * reported line and message), then includes, defaults, namespaces,
 * cross-references, several problems in one pass, a 20,000-link chain of
 * escalations among thousands of lists and zones (loaded on a thread with
 * a small stack), out of memory at each allocation in turn (failalloc.h),
 * and the shipped conf/rblmux.conf.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "conf.h"
#include "err.h"
#include "failalloc.h"

static char dir[64];

/* Problems reported by the last conf_load(). */
struct rep {
	char		 file[512];
	unsigned	 line;
	char		 msg[512];
};
#define MAXREP	64
static struct rep reps[MAXREP];
static size_t nreps;

/* report - collect one problem */
static void
report(void *arg, const char *file, unsigned line, const char *msg)
{
	(void)arg;
	if (nreps < MAXREP) {
		snprintf(reps[nreps].file, sizeof(reps[nreps].file), "%s",
		    file ? file : "");
		reps[nreps].line = line;
		snprintf(reps[nreps].msg, sizeof(reps[nreps].msg), "%s", msg);
	}
	nreps++;
}

/* dump - print what was reported, for failure messages */
static void
dump(const char *label)
{
	size_t i;

	print_message("case '%s': %zu problem(s)\n", label, nreps);
	for (i = 0; i < nreps && i < MAXREP; i++)
		print_message("  %s:%u: %s\n", reps[i].file, reps[i].line,
		    reps[i].msg);
}

/* path_of - full path of a file in the temp dir (static buffer) */
static const char *
path_of(const char *name)
{
	static char buf[4][512];
	static int n;

	n = (n + 1) % 4;
	snprintf(buf[n], sizeof(buf[n]), "%s/%s", dir, name);
	return buf[n];
}

/* put_bytes - write a file under the temp dir, creating subdirectories */
static void
put_bytes(const char *name, const char *data, size_t len)
{
	char path[512], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	for (slash = path + strlen(dir) + 1; (slash = strchr(slash, '/'));
	    slash++) {
		*slash = '\0';
		mkdir(path, 0700);
		*slash = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* put - write a text file under the temp dir */
static void
put(const char *name, const char *text)
{
	put_bytes(name, text, strlen(text));
}

/* load - write text as t.conf and load it */
static int
load(const char *text, struct conf **c)
{
	put("t.conf", text);
	nreps = 0;
	return conf_load(path_of("t.conf"), report, NULL, c);
}

/* has_report - was a problem reported at line containing text? */
static int
has_report(unsigned line, const char *text)
{
	size_t i;

	for (i = 0; i < nreps && i < MAXREP; i++)
		if (reps[i].line == line && strstr(reps[i].msg, text) != NULL)
			return 1;
	return 0;
}

static int
group_setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/rblmux-conf.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- value parsers ---------------------------------------------------- */

struct dur_case {
	const char	*label;
	const char	*in;
	int		 ms;		/* parse with the _ms variant */
	int		 ok;
	uint32_t	 want;
};

static const struct dur_case dur_cases[] = {
	{ "bare seconds", "90", 0, 1, 90 },
	{ "zero", "0", 0, 1, 0 },
	{ "seconds", "45s", 0, 1, 45 },
	{ "minutes", "15m", 0, 1, 900 },
	{ "hours", "1h", 0, 1, 3600 },
	{ "days", "1d", 0, 1, 86400 },
	{ "weeks", "2w", 0, 1, 1209600 },
	{ "upper case", "1H", 0, 1, 3600 },
	{ "compound", "1h30m", 0, 1, 5400 },
	{ "compound 3", "1d2h3s", 0, 1, 93603 },
	{ "max", "4294967295", 0, 1, 4294967295U },
	{ "overflow", "4294967296", 0, 0, 0 },
	{ "overflow weeks", "7102w", 0, 0, 0 },
	{ "empty", "", 0, 0, 0 },
	{ "unit alone", "m", 0, 0, 0 },
	{ "unknown unit", "5y", 0, 0, 0 },
	{ "negative", "-5", 0, 0, 0 },
	{ "space", "5 m", 0, 0, 0 },
	{ "ms not for seconds", "500ms", 0, 0, 0 },
	{ "bare after unit", "1h30", 0, 0, 0 },
	{ "fraction", "1.5h", 0, 0, 0 },
	{ "ms", "1200ms", 1, 1, 1200 },
	{ "ms bare is seconds", "2", 1, 1, 2000 },
	{ "ms seconds", "10s", 1, 1, 10000 },
	{ "ms compound", "1s500ms", 1, 1, 1500 },
	{ "ms minutes", "1m", 1, 1, 60000 },
	{ "ms upper", "5MS", 1, 1, 5 },
	{ "ms overflow", "50d", 1, 0, 0 },
	{ "ms max", "4294967295ms", 1, 1, 4294967295U },
	{ "ms junk", "12msx", 1, 0, 0 },
};

static void
test_parse_duration(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(dur_cases) / sizeof(dur_cases[0]); i++) {
		const struct dur_case *t = &dur_cases[i];
		uint32_t v = 12345;
		int rc = t->ms ? conf_parse_duration_ms(t->in, &v) :
		    conf_parse_duration(t->in, &v);

		if (rc != (t->ok ? 0 : RBLMUX_EPARSE) ||
		    (t->ok && v != t->want))
			fail_msg("duration case '%s': rc %d value %u", t->label,
			    rc, v);
		if (!t->ok && v != 12345)
			fail_msg("duration case '%s': output written on error",
			    t->label);
	}
}

struct size_case {
	const char	*label;
	const char	*in;
	int		 ok;
	uint64_t	 want;
};

static const struct size_case size_cases[] = {
	{ "bytes", "4096", 1, 4096 },
	{ "k", "64k", 1, 65536 },
	{ "m", "256m", 1, 268435456ULL },
	{ "g", "2g", 1, 2147483648ULL },
	{ "upper", "1G", 1, 1073741824ULL },
	{ "zero", "0", 1, 0 },
	{ "empty", "", 0, 0 },
	{ "unit alone", "m", 0, 0 },
	{ "bad unit", "5t", 0, 0 },
	{ "trailing", "5mb", 0, 0 },
	{ "negative", "-1m", 0, 0 },
	{ "overflow", "17179869184g", 0, 0 },
	{ "huge digits", "99999999999999999999999", 0, 0 },
};

static void
test_parse_size(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(size_cases) / sizeof(size_cases[0]); i++) {
		const struct size_case *t = &size_cases[i];
		uint64_t v = 7;
		int rc = conf_parse_size(t->in, &v);

		if (rc != (t->ok ? 0 : RBLMUX_EPARSE) ||
		    (t->ok && v != t->want) || (!t->ok && v != 7))
			fail_msg("size case '%s': rc %d value %llu", t->label,
			    rc, (unsigned long long)v);
	}
}

struct prefix_case {
	const char	*label;
	const char	*in;
	int		 ok;
	int		 family;
	unsigned	 plen;
	const char	*addr;		/* expected address text */
};

static const struct prefix_case prefix_cases[] = {
	{ "v4 /24", "192.0.2.0/24", 1, AF_INET, 24, "192.0.2.0" },
	{ "v4 host", "127.0.0.1", 1, AF_INET, 32, "127.0.0.1" },
	{ "v4 /0", "0.0.0.0/0", 1, AF_INET, 0, "0.0.0.0" },
	{ "v4 /32", "198.51.100.7/32", 1, AF_INET, 32, "198.51.100.7" },
	{ "v4 /8", "127.0.0.0/8", 1, AF_INET, 8, "127.0.0.0" },
	{ "v6 host", "::1", 1, AF_INET6, 128, "::1" },
	{ "v6 /32", "2001:db8::/32", 1, AF_INET6, 32, "2001:db8::" },
	{ "v6 /0", "::/0", 1, AF_INET6, 0, "::" },
	{ "v4 host bits", "192.0.2.1/24", 0, 0, 0, NULL },
	{ "v6 host bits", "2001:db8::1/64", 0, 0, 0, NULL },
	{ "v4 too long", "192.0.2.0/33", 0, 0, 0, NULL },
	{ "v6 too long", "::/129", 0, 0, 0, NULL },
	{ "empty len", "192.0.2.0/", 0, 0, 0, NULL },
	{ "bad len", "192.0.2.0/2x", 0, 0, 0, NULL },
	{ "short v4", "192.0.2", 0, 0, 0, NULL },
	{ "name", "localhost", 0, 0, 0, NULL },
	{ "empty", "", 0, 0, 0, NULL },
	{ "slash only", "/24", 0, 0, 0, NULL },
	{ "len sign", "192.0.2.0/+24", 0, 0, 0, NULL },
};

static void
test_parse_prefix(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(prefix_cases) / sizeof(prefix_cases[0]); i++) {
		const struct prefix_case *t = &prefix_cases[i];
		struct conf_prefix p;
		uint8_t want[16];
		int rc;

		memset(&p, 0xee, sizeof(p));
		rc = conf_parse_prefix(t->in, &p);
		if (rc != (t->ok ? 0 : RBLMUX_EPARSE))
			fail_msg("prefix case '%s': rc %d", t->label, rc);
		if (!t->ok) {
			if (p.plen != 0xee)
				fail_msg("prefix case '%s': written on error",
				    t->label);
			continue;
		}
		memset(want, 0, sizeof(want));
		assert_int_equal(inet_pton(t->family, t->addr, want), 1);
		if (p.family != t->family || p.plen != t->plen ||
		    memcmp(p.addr, want, t->family == AF_INET ? 4 : 16) != 0)
			fail_msg("prefix case '%s': family %d plen %u",
			    t->label, p.family, p.plen);
	}
}

struct sa_case {
	const char	*label;
	const char	*in;
	uint16_t	 defport;
	int		 ok;
	int		 family;
	const char	*addr;
	uint16_t	 port;
};

static const struct sa_case sa_cases[] = {
	{ "v4 port", "127.0.0.1@5353", 53, 1, AF_INET, "127.0.0.1", 5353 },
	{ "v4 default", "192.0.2.1", 53, 1, AF_INET, "192.0.2.1", 53 },
	{ "v4 other default", "127.0.0.1", 9153, 1, AF_INET, "127.0.0.1",
	    9153 },
	{ "v6 port", "::1@5353", 53, 1, AF_INET6, "::1", 5353 },
	{ "v6 default", "2001:db8::1", 53, 1, AF_INET6, "2001:db8::1", 53 },
	{ "v6 any", "::@53", 53, 1, AF_INET6, "::", 53 },
	{ "max port", "127.0.0.1@65535", 53, 1, AF_INET, "127.0.0.1", 65535 },
	{ "port 0", "127.0.0.1@0", 53, 0, 0, NULL, 0 },
	{ "port too big", "127.0.0.1@65536", 53, 0, 0, NULL, 0 },
	{ "port junk", "127.0.0.1@53x", 53, 0, 0, NULL, 0 },
	{ "port empty", "127.0.0.1@", 53, 0, 0, NULL, 0 },
	{ "no address", "@53", 53, 0, 0, NULL, 0 },
	{ "host name", "localhost@53", 53, 0, 0, NULL, 0 },
	{ "colon port", "127.0.0.1:53", 53, 0, 0, NULL, 0 },
	{ "bracketed", "[::1]:53", 53, 0, 0, NULL, 0 },
	{ "long port", "127.0.0.1@000053", 53, 0, 0, NULL, 0 },
};

static void
test_parse_sockaddr(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sa_cases) / sizeof(sa_cases[0]); i++) {
		const struct sa_case *t = &sa_cases[i];
		struct conf_sockaddr sa;
		int rc;

		memset(&sa, 0, sizeof(sa));
		rc = conf_parse_sockaddr(t->in, t->defport, &sa);
		if (rc != (t->ok ? 0 : RBLMUX_EPARSE))
			fail_msg("sockaddr case '%s': rc %d", t->label, rc);
		if (!t->ok) {
			if (sa.text != NULL)
				fail_msg("sockaddr case '%s': text set",
				    t->label);
			continue;
		}
		if (sa.sa.ss_family != t->family || strcmp(sa.text, t->in) != 0)
			fail_msg("sockaddr case '%s': family %d text %s",
			    t->label, sa.sa.ss_family, sa.text);
		if (t->family == AF_INET) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&sa.sa;
			struct in_addr a;

			inet_pton(AF_INET, t->addr, &a);
			if (sa.salen != sizeof(*s4) ||
			    ntohs(s4->sin_port) != t->port ||
			    s4->sin_addr.s_addr != a.s_addr)
				fail_msg("sockaddr case '%s': v4 mismatch",
				    t->label);
		} else {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa.sa;
			struct in6_addr a;

			inet_pton(AF_INET6, t->addr, &a);
			if (sa.salen != sizeof(*s6) ||
			    ntohs(s6->sin6_port) != t->port ||
			    memcmp(&s6->sin6_addr, &a, sizeof(a)) != 0)
				fail_msg("sockaddr case '%s': v6 mismatch",
				    t->label);
		}
		free(sa.text);
	}
}

struct dname_case {
	const char	*label;
	const char	*in;
	const char	*want;		/* NULL: invalid */
};

static const char label63[] =
    "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij123";
static const char label64[] =
    "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1234";

static void
test_parse_dname(void **state)
{
	struct dname_case cases[] = {
		{ "plain", "all.rbl.local", "all.rbl.local" },
		{ "trailing dot", "bl.spamcop.net.", "bl.spamcop.net" },
		{ "upper", "ALL.SpamRATS.com", "all.spamrats.com" },
		{ "single label", "local", "local" },
		{ "hyphen underscore", "a-b._x.example", "a-b._x.example" },
		{ "63 label", label63, label63 },
		{ "64 label", label64, NULL },
		{ "empty", "", NULL },
		{ "root", ".", NULL },
		{ "two dots", "a..b", NULL },
		{ "leading dot", ".a.b", NULL },
		{ "two trailing", "a.b..", NULL },
		{ "space", "a b.c", NULL },
		{ "star", "*.example", NULL },
		{ "escape", "a\\.b", NULL },
	};
	char long253[300], long254[300];
	size_t i;

	(void)state;
	/* 3 x 63-byte labels + 61 = 253 bytes with the dots */
	snprintf(long253, sizeof(long253), "%s.%s.%s.%.61s", label63, label63,
	    label63, label63);
	snprintf(long254, sizeof(long254), "%s.%s.%s.%.62s", label63, label63,
	    label63, label63);
	assert_int_equal(strlen(long253), 253);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = NULL;
		int rc = conf_parse_dname(cases[i].in, &out);

		if (rc != (cases[i].want != NULL ? 0 : RBLMUX_EPARSE))
			fail_msg("dname case '%s': rc %d", cases[i].label, rc);
		if (rc == 0 && strcmp(out, cases[i].want) != 0)
			fail_msg("dname case '%s': got %s", cases[i].label,
			    out);
		if (rc != 0 && out != NULL)
			fail_msg("dname case '%s': out set", cases[i].label);
		free(out);
	}
	{
		char *out = NULL;

		assert_int_equal(conf_parse_dname(long253, &out), 0);
		free(out);
		out = NULL;
		assert_int_equal(conf_parse_dname(long254, &out),
		    RBLMUX_EPARSE);
		assert_null(out);
	}
}

static void
test_name_valid(void **state)
{
	static const struct {
		const char	*in;
		int		 ok;
	} cases[] = {
		{ "local", 1 }, { "local24", 1 }, { "my-list_2", 1 },
		{ "Spam", 1 }, { "a", 1 }, { "", 0 }, { "1abc", 0 },
		{ "-abc", 0 }, { "a.b", 0 }, { "a b", 0 }, { "a/b", 0 },
		{ "ab$", 0 },
	};
	char n63[64], n64[65];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (conf_name_valid(cases[i].in) != cases[i].ok)
			fail_msg("name '%s': want %d", cases[i].in,
			    cases[i].ok);
	memset(n63, 'a', 63);
	n63[63] = '\0';
	memset(n64, 'a', 64);
	n64[64] = '\0';
	assert_int_equal(conf_name_valid(n63), 1);
	assert_int_equal(conf_name_valid(n64), 0);
	assert_int_equal(conf_name_valid(NULL), 0);
}

/* ---- every keyword, good values ---------------------------------------- */

enum obj { O_SERVER, O_RESOLVER, O_UP, O_LIST, O_ESC, O_ZONE };
enum ty { T_U32, T_U64, T_UINT, T_U16, T_INT, T_BOOL, T_STR, T_ENUM };

struct good_case {
	const char	*label;
	enum obj	 obj;
	const char	*lines;		/* appended to the clause */
	size_t		 off;		/* member checked */
	enum ty		 ty;
	long long	 want;
	const char	*wants;		/* T_STR */
};

#define S(m)	offsetof(struct conf_server, m)
#define R(m)	offsetof(struct conf_resolver, m)
#define U(m)	offsetof(struct conf_upstream, m)
#define L(m)	offsetof(struct conf_list, m)
#define E(m)	offsetof(struct conf_escalation, m)
#define Z(m)	offsetof(struct conf_zone, m)

static const struct good_case good_cases[] = {
	{ "directory", O_SERVER, "directory: /srv/rbl\n", S(directory),
	    T_STR, 0, "/srv/rbl" },
	{ "cache-dir", O_SERVER, "cache-dir: /var/cache/rblmux\n",
	    S(cache_dir), T_STR, 0, "/var/cache/rblmux" },
	{ "state-dir", O_SERVER, "state-dir: /var/lib/rblmux\n",
	    S(state_dir), T_STR, 0, "/var/lib/rblmux" },
	{ "control-socket", O_SERVER, "control-socket: /run/rblmux.sock\n",
	    S(control_socket), T_STR, 0, "/run/rblmux.sock" },
	{ "pidfile", O_SERVER, "pidfile: /run/rblmuxd.pid\n", S(pidfile),
	    T_STR, 0, "/run/rblmuxd.pid" },
	{ "username", O_SERVER, "username: rblmux\n", S(username), T_STR, 0,
	    "rblmux" },
	{ "username empty", O_SERVER, "username: \"\"\n", S(username), T_STR,
	    0, "" },
	{ "quoted path with space", O_SERVER,
	    "cache-dir: \"/srv/my cache\"\n", S(cache_dir), T_STR, 0,
	    "/srv/my cache" },
	{ "cache-max-size m", O_SERVER, "cache-max-size: 256m\n",
	    S(cache_max_size), T_U64, 268435456LL, NULL },
	{ "cache-max-size g", O_SERVER, "cache-max-size: 4g\n",
	    S(cache_max_size), T_U64, 4294967296LL, NULL },
	{ "cache-max-size k", O_SERVER, "cache-max-size: 2048k\n",
	    S(cache_max_size), T_U64, 2097152LL, NULL },
	{ "ttl-min", O_SERVER, "ttl-min: 30\n", S(ttl_min), T_U32, 30, NULL },
	{ "ttl-min 0", O_SERVER, "ttl-min: 0\n", S(ttl_min), T_U32, 0, NULL },
	{ "ttl-max", O_SERVER, "ttl-max: 2d\n", S(ttl_max), T_U32, 172800,
	    NULL },
	{ "ttl-max = ttl-min", O_SERVER, "ttl-min: 1h\nttl-max: 3600\n",
	    S(ttl_max), T_U32, 3600, NULL },
	{ "negative-ttl-max", O_SERVER, "negative-ttl-max: 5m\n",
	    S(negative_ttl_max), T_U32, 300, NULL },
	{ "serve-stale", O_SERVER, "serve-stale: 2h\n", S(serve_stale),
	    T_U32, 7200, NULL },
	{ "serve-stale off", O_SERVER, "serve-stale: 0\n", S(serve_stale),
	    T_U32, 0, NULL },
	{ "workers 1", O_SERVER, "workers: 1\n", S(workers), T_UINT, 1, NULL },
	{ "workers 64", O_SERVER, "workers: 64\n", S(workers), T_UINT, 64,
	    NULL },
	{ "edns-buffer-size 512", O_SERVER, "edns-buffer-size: 512\n",
	    S(edns_buffer_size), T_U16, 512, NULL },
	{ "edns-buffer-size 4096", O_SERVER, "edns-buffer-size: 4096\n",
	    S(edns_buffer_size), T_U16, 4096, NULL },
	{ "tcp-idle-timeout s", O_SERVER, "tcp-idle-timeout: 30s\n",
	    S(tcp_idle_timeout_ms), T_U32, 30000, NULL },
	{ "tcp-idle-timeout ms", O_SERVER, "tcp-idle-timeout: 500ms\n",
	    S(tcp_idle_timeout_ms), T_U32, 500, NULL },
	{ "tcp-idle-timeout bare", O_SERVER, "tcp-idle-timeout: 2\n",
	    S(tcp_idle_timeout_ms), T_U32, 2000, NULL },
	{ "tcp-max-clients", O_SERVER, "tcp-max-clients: 250\n",
	    S(tcp_max_clients), T_UINT, 250, NULL },
	{ "check-interval off", O_SERVER, "check-interval: 0\n",
	    S(check_interval), T_U32, 0, NULL },
	{ "check-interval 1m", O_SERVER, "check-interval: 1m\n",
	    S(check_interval), T_U32, 60, NULL },
	{ "log-queries yes", O_SERVER, "log-queries: yes\n", S(log_queries),
	    T_BOOL, 1, NULL },
	{ "log-queries no", O_SERVER, "log-queries: no\n", S(log_queries),
	    T_BOOL, 0, NULL },
	{ "rate-limit", O_SERVER, "rate-limit: 20\n", S(rate_limit), T_UINT,
	    20, NULL },
	{ "rate-limit 0", O_SERVER, "rate-limit: 0\n", S(rate_limit), T_UINT,
	    0, NULL },
	{ "rate-limit-slip 0", O_SERVER, "rate-limit-slip: 0\n",
	    S(rate_limit_slip), T_UINT, 0, NULL },
	{ "rate-limit-ipv4-prefix", O_SERVER, "rate-limit-ipv4-prefix: 32\n",
	    S(rate_limit_ipv4_prefix), T_UINT, 32, NULL },
	{ "rate-limit-ipv6-prefix", O_SERVER, "rate-limit-ipv6-prefix: 48\n",
	    S(rate_limit_ipv6_prefix), T_UINT, 48, NULL },
	{ "rate-limit-size", O_SERVER, "rate-limit-size: 1000000\n",
	    S(rate_limit_size), T_UINT, 1000000, NULL },
	{ "rate-limit-exempt", O_SERVER, "rate-limit-exempt: 192.0.2.0/24 "
	    "2001:db8::/32\nrate-limit-exempt: 198.51.100.7\n",
	    S(nrate_limit_exempt), T_U64, 3, NULL },

	{ "timeout ms", O_RESOLVER, "timeout: 1200ms\n", R(timeout_ms), T_U32,
	    1200, NULL },
	{ "timeout s", O_RESOLVER, "timeout: 2s\n", R(timeout_ms), T_U32,
	    2000, NULL },
	{ "timeout compound", O_RESOLVER, "timeout: 1s500ms\n",
	    R(timeout_ms), T_U32, 1500, NULL },
	{ "attempts", O_RESOLVER, "attempts: 3\n", R(attempts), T_UINT, 3,
	    NULL },

	{ "family ip4", O_UP, "family: ip4\n", U(family), T_ENUM, FAMILY_IP4,
	    NULL },
	{ "family ip6", O_UP, "family: ip6\n", U(family), T_ENUM, FAMILY_IP6,
	    NULL },
	{ "family name", O_UP, "family: name\n", U(family), T_ENUM,
	    FAMILY_NAME, NULL },
	{ "upstream weight", O_UP, "weight: 3\n", U(weight), T_INT, 3, NULL },
	{ "upstream weight negative", O_UP, "weight: -2\n", U(weight), T_INT,
	    -2, NULL },
	{ "mirror yes", O_UP, "mirror: yes\n", U(mirror), T_BOOL, 1, NULL },
	{ "mirror no", O_UP, "mirror: no\n", U(mirror), T_BOOL, 0, NULL },
	{ "max-queries count", O_UP, "max-queries: 250000/d\n",
	    U(max_queries), T_U64, 250000, NULL },
	{ "max-queries bare unit", O_UP, "max-queries: 250000/d\n",
	    U(max_queries_period), T_U32, 86400, NULL },
	{ "max-queries 1d", O_UP, "max-queries: 250000/1d\n",
	    U(max_queries_period), T_U32, 86400, NULL },
	{ "max-queries 12h", O_UP, "max-queries: 5000/12h\n",
	    U(max_queries_period), T_U32, 43200, NULL },
	{ "max-queries h", O_UP, "max-queries: 10/h\n",
	    U(max_queries_period), T_U32, 3600, NULL },
	{ "upstream zone case and dot", O_UP, "", U(zone), T_STR, 0,
	    "u.example" },

	{ "type ip4set", O_LIST, "type: ip4set\n", L(type), T_ENUM,
	    LIST_IP4SET, NULL },
	{ "type ip4trie", O_LIST, "type: ip4trie\n", L(type), T_ENUM,
	    LIST_IP4TRIE, NULL },
	{ "type ip6trie", O_LIST, "type: ip6trie\n", L(type), T_ENUM,
	    LIST_IP6TRIE, NULL },
	{ "type dnset", O_LIST, "type: dnset\n", L(type), T_ENUM, LIST_DNSET,
	    NULL },
	{ "allow yes", O_LIST, "allow: yes\n", L(allow), T_BOOL, 1, NULL },
	{ "allow implies weight -1", O_LIST, "allow: yes\n", L(weight), T_INT,
	    -1, NULL },
	{ "allow keeps set weight", O_LIST, "weight: -5\nallow: yes\n",
	    L(weight), T_INT, -5, NULL },
	{ "allow keeps weight 1 when set", O_LIST, "allow: yes\nweight: 1\n",
	    L(weight), T_INT, 1, NULL },
	{ "allow no", O_LIST, "allow: no\n", L(weight), T_INT, 1, NULL },
	{ "list weight", O_LIST, "weight: 4\n", L(weight), T_INT, 4, NULL },
	{ "list ttl", O_LIST, "ttl: 1h\n", L(ttl), T_U32, 3600, NULL },
	{ "list ttl bare", O_LIST, "ttl: 2100\n", L(ttl), T_U32, 2100, NULL },
	{ "list txt", O_LIST, "txt: \"Listed here: $\"\n", L(txt), T_STR, 0,
	    "Listed here: $" },
	{ "list name lower-cased", O_LIST, "", L(name), T_STR, 0, "l" },

	{ "prefix", O_ESC, "prefix: 16\n", E(prefix), T_UINT, 16, NULL },
	{ "prefix 32", O_ESC, "prefix: 32\n", E(prefix), T_UINT, 32, NULL },
	{ "prefix6", O_ESC, "prefix6: 48\n", E(prefix6), T_UINT, 48, NULL },
	{ "prefix6 128", O_ESC, "prefix6: 128\n", E(prefix6), T_UINT, 128,
	    NULL },
	{ "threshold", O_ESC, "threshold: 5\n", E(threshold), T_UINT, 5,
	    NULL },
	{ "threshold 1", O_ESC, "threshold: 1\n", E(threshold), T_UINT, 1,
	    NULL },
	{ "escalation txt", O_ESC,
	    "txt: \"Entire /24 listed: $count hosts listed in $prefix\"\n",
	    E(txt), T_STR, 0,
	    "Entire /24 listed: $count hosts listed in $prefix" },
	{ "window", O_ESC, "window: 2h\n", E(window), T_U32, 7200, NULL },
	{ "window 0", O_ESC, "window: 0\n", E(window), T_U32, 0, NULL },
	{ "escalation value", O_ESC, "value: 127.0.0.24\n", E(value), T_U32,
	    0x7f000018, NULL },

	{ "answer bitmask", O_ZONE, "answer: bitmask\n", Z(answer), T_ENUM,
	    ANSWER_BITMASK, NULL },
	{ "answer each", O_ZONE, "answer: each\n", Z(answer), T_ENUM,
	    ANSWER_EACH, NULL },
	{ "answer score", O_ZONE, "answer: score\n", Z(answer), T_ENUM,
	    ANSWER_SCORE, NULL },
	{ "soa mname", O_ZONE,
	    "soa: NS.Example. admin.example. 2h 10m 1w 5m\n", Z(soa_mname),
	    T_STR, 0, "ns.example" },
	{ "soa rname", O_ZONE,
	    "soa: ns.example. admin.example. 2h 10m 1w 5m\n", Z(soa_rname),
	    T_STR, 0, "admin.example" },
	{ "soa refresh", O_ZONE,
	    "soa: ns.example. admin.example. 2h 10m 1w 5m\n", Z(soa_refresh),
	    T_U32, 7200, NULL },
	{ "soa retry", O_ZONE,
	    "soa: ns.example. admin.example. 2h 10m 1w 5m\n", Z(soa_retry),
	    T_U32, 600, NULL },
	{ "soa expire", O_ZONE,
	    "soa: ns.example. admin.example. 2h 10m 1w 5m\n", Z(soa_expire),
	    T_U32, 604800, NULL },
	{ "soa minimum", O_ZONE,
	    "soa: ns.example. admin.example. 3600 600 86400 120\n",
	    Z(soa_minimum), T_U32, 120, NULL },
	{ "soa-ttl default is minimum", O_ZONE,
	    "soa: ns.example. admin.example. 3600 600 86400 120\n",
	    Z(soa_ttl), T_U32, 120, NULL },
	{ "soa-ttl", O_ZONE, "soa-ttl: 1h\n", Z(soa_ttl), T_U32, 3600, NULL },
	{ "soa-ttl before soa", O_ZONE,
	    "soa-ttl: 10m\nsoa: a.example. b.example. 1 1 1 30\n", Z(soa_ttl),
	    T_U32, 600, NULL },
	{ "zone name lower-cased", O_ZONE, "", Z(name), T_STR, 0,
	    "z.example" },
};

/* good_text - a valid config around one clause's extra lines */
static void
good_text(const struct good_case *t, char *buf, size_t cap)
{
	static const char *const head[] = {
		[O_SERVER] = "server:\n",
		[O_RESOLVER] = "resolver:\n",
		[O_UP] = "upstream:\n name: u\n zone: U.Example.\n",
		[O_LIST] = "local-list:\n name: L\n file: l.set\n",
		[O_ESC] = "local-list:\n name: l\n file: l.set\n"
		    "escalation:\n name: e\n source: l\n",
		[O_ZONE] = "local-list:\n name: l\n file: l.set\n"
		    "zone:\n name: Z.Example.\n bit: 2 l\n",
	};

	snprintf(buf, cap, "%s%s", head[t->obj], t->lines);
}

/* obj_of - the struct a good case looks at */
static const void *
obj_of(const struct conf *c, enum obj o)
{
	switch (o) {
	case O_SERVER:
		return &c->server;
	case O_RESOLVER:
		return &c->resolver;
	case O_UP:
		return &c->upstreams[0];
	case O_LIST:
		return &c->lists[0];
	case O_ESC:
		return &c->escalations[0];
	case O_ZONE:
		return &c->zones[0];
	}
	return NULL;
}

static void
test_keywords_good(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
		const struct good_case *t = &good_cases[i];
		char text[1024];
		struct conf *c;
		const char *o;
		long long got = 0;
		int rc;

		good_text(t, text, sizeof(text));
		rc = load(text, &c);
		if (rc != 0) {
			dump(t->label);
			fail_msg("good case '%s': conf_load %d", t->label, rc);
		}
		o = (const char *)obj_of(c, t->obj) + t->off;
		switch (t->ty) {
		case T_U32:
			got = *(const uint32_t *)(const void *)o;
			break;
		case T_U64:
			got = (long long)*(const uint64_t *)(const void *)o;
			break;
		case T_UINT:
			got = *(const unsigned *)(const void *)o;
			break;
		case T_U16:
			got = *(const uint16_t *)(const void *)o;
			break;
		case T_INT:
			got = *(const int *)(const void *)o;
			break;
		case T_BOOL:
			got = *(const bool *)(const void *)o;
			break;
		case T_ENUM: {
			int e;

			memcpy(&e, o, sizeof(e));
			got = e;
			break;
		}
		case T_STR: {
			const char *s = *(char *const *)(const void *)o;

			if (s == NULL || strcmp(s, t->wants) != 0)
				fail_msg("good case '%s': got '%s'", t->label,
				    s ? s : "(null)");
			conf_free(c);
			continue;
		}
		}
		if (got != t->want)
			fail_msg("good case '%s': got %lld, want %lld",
			    t->label, got, t->want);
		conf_free(c);
	}
}

/* ---- every keyword, bad values ----------------------------------------- */

struct bad_case {
	const char	*label;
	const char	*text;
	unsigned	 line;		/* where the problem is reported */
	const char	*msg;		/* part of the message */
};

#define LL	"local-list:\n name: l\n file: l.set\n"		/* 3 lines */
#define UP	"upstream:\n name: u\n zone: u.example\n"	/* 3 lines */
#define ZN	"zone:\n name: z.example\n bit: 2 l\n"		/* 3 lines */
#define LM	"local-list:\n name: m\n file: m.set\n"		/* 3 lines */

static const struct bad_case bad_cases[] = {
	/* structure */
	{ "unknown keyword", "server:\n frob: 1\n", 2,
	    "unknown keyword 'frob' in server: clause" },
	{ "unknown keyword at top", "frob: 1\n", 1, "unknown keyword 'frob'" },
	{ "keyword outside clause", "ttl-min: 5\n", 1,
	    "'ttl-min' outside of any clause (it belongs in server:)" },
	{ "wrong clause", "server:\n bit: 2 x\n", 2,
	    "'bit' is not allowed in server: (it belongs in zone:)" },
	{ "wrong clause, several homes", "resolver:\n weight: 2\n", 2,
	    "belongs in upstream: or local-list: or zone:" },
	{ "clause with value", "zone: all.rbl.local\n", 1,
	    "'zone:' starts a clause" },
	{ "clause word in other clause", LL "server: 127.0.0.1\n", 4,
	    "'server:' starts a clause" },
	{ "no colon", "server:\n ttl-min 5\n", 2,
	    "expected 'keyword: value'" },
	{ "no keyword", "server:\n : 5\n", 2, "expected 'keyword: value'" },
	{ "upper-case keyword", "Server:\n", 1, "unknown keyword 'Server'" },
	{ "missing value", "server:\n ttl-min:\n", 2,
	    "ttl-min: missing value" },
	{ "missing value comment", "server:\n ttl-min: # none\n", 2,
	    "ttl-min: missing value" },
	{ "too many values", "server:\n ttl-min: 5 6\n", 2,
	    "ttl-min: too many values" },
	{ "too few values", "server:\n access-control: 10.0.0.0/8\n", 2,
	    "access-control: too few values" },
	{ "empty value", "server:\n cache-dir: \"\"\n", 2,
	    "cache-dir: empty value" },
	{ "given twice", "server:\n ttl-min: 5\n ttl-min: 6\n", 3,
	    "ttl-min: given twice in this clause (first at " },
	{ "given twice across server clauses",
	    "server:\n ttl-min: 5\nresolver:\n attempts: 2\nserver:\n"
	    " ttl-min: 6\n", 6, "given twice" },
	{ "name given twice", LL " name: m\n", 4, "name: given twice" },
	{ "missing quote", "local-list:\n txt: \"abc\n", 2,
	    "missing closing quote" },
	{ "text after quote", "local-list:\n txt: \"abc\"def\n", 2,
	    "a closing quote must end the value" },
	{ "quote inside word", "local-list:\n txt: ab\"c\"\n", 2,
	    "a quote may only start a value" },

	/* server */
	{ "listen bad port", "server:\n listen: 127.0.0.1@0\n", 2,
	    "listen: bad value '127.0.0.1@0' (expected ADDRESS[@PORT])" },
	{ "listen port too big", "server:\n listen: ::1@65536\n", 2,
	    "listen: bad value" },
	{ "listen host name", "server:\n listen: localhost@53\n", 2,
	    "listen: bad value" },
	{ "access-control bad action",
	    "server:\n access-control: 10.0.0.0/8 permit\n", 2,
	    "access-control: bad action 'permit' (expected allow, refuse or "
	    "deny)" },
	{ "access-control host bits",
	    "server:\n access-control: 192.0.2.1/24 allow\n", 2,
	    "access-control: bad prefix '192.0.2.1/24'" },
	{ "access-control duplicate",
	    "server:\n access-control: 10.0.0.0/8 allow\n"
	    " access-control: 10.0.0.0/8 deny\n", 3, "is already given" },
	{ "cache-max-size unit", "server:\n cache-max-size: 12q\n", 2,
	    "cache-max-size: bad value '12q'" },
	{ "cache-max-size too small", "server:\n cache-max-size: 100k\n", 2,
	    "cache-max-size: bad value '100k' (expected a size of at "
	    "least 1m" },
	{ "ttl-max unit", "server:\n ttl-max: 1x\n", 2,
	    "ttl-max: bad value '1x' (expected a duration" },
	{ "ttl-max ms", "server:\n ttl-max: 100ms\n", 2, "ttl-max: bad value" },
	{ "ttl-max zero", "server:\n ttl-max: 0\n", 2,
	    "ttl-max: 0 is out of range" },
	{ "ttl-max over 2^31", "server:\n ttl-max: 2147483648\n", 2,
	    "out of range" },
	{ "ttl-min above ttl-max", "server:\n ttl-max: 1h\n ttl-min: 2h\n", 3,
	    "ttl-min (7200s) is larger than ttl-max (3600s)" },
	{ "ttl-min above default ttl-max", "server:\n ttl-min: 2d\n", 2,
	    "is larger than ttl-max" },
	{ "negative-ttl-max bad", "server:\n negative-ttl-max: soon\n", 2,
	    "negative-ttl-max: bad value" },
	{ "serve-stale bad", "server:\n serve-stale: -1\n", 2,
	    "serve-stale: bad value" },
	{ "metrics bad", "server:\n metrics: 127.0.0.1@x\n", 2,
	    "metrics: bad value" },
	{ "workers 0", "server:\n workers: 0\n", 2,
	    "workers: 0 is out of range (expected a number from 1 to 64)" },
	{ "workers 65", "server:\n workers: 65\n", 2, "out of range" },
	{ "workers junk", "server:\n workers: two\n", 2,
	    "workers: bad value 'two'" },
	{ "edns 511", "server:\n edns-buffer-size: 511\n", 2,
	    "edns-buffer-size: 511 is out of range" },
	{ "edns 4097", "server:\n edns-buffer-size: 4097\n", 2,
	    "out of range" },
	{ "tcp-idle-timeout 0", "server:\n tcp-idle-timeout: 0\n", 2,
	    "tcp-idle-timeout: 0 is out of range" },
	{ "tcp-max-clients 0", "server:\n tcp-max-clients: 0\n", 2,
	    "out of range" },
	{ "check-interval too long", "server:\n check-interval: 2d\n", 2,
	    "check-interval: 2d is out of range" },
	{ "rate-limit too high", "server:\n rate-limit: 1000001\n", 2,
	    "rate-limit: 1000001 is out of range" },
	{ "rate-limit-slip 101", "server:\n rate-limit-slip: 101\n", 2,
	    "out of range" },
	{ "rate-limit-ipv4-prefix 33", "server:\n rate-limit-ipv4-prefix: "
	    "33\n", 2, "out of range" },
	{ "rate-limit-ipv6-prefix 0", "server:\n rate-limit-ipv6-prefix: "
	    "0\n", 2, "out of range" },
	{ "rate-limit-size 0", "server:\n rate-limit-size: 0\n", 2,
	    "out of range" },
	{ "rate-limit-exempt host bits", "server:\n rate-limit-exempt: "
	    "192.0.2.1/24\n", 2, "rate-limit-exempt: bad value '192.0.2.1/24' "
	    "(expected PREFIX ..., each an address or ADDRESS/LEN with no bits "
	    "set past LEN)" },
	{ "log-queries true", "server:\n log-queries: true\n", 2,
	    "log-queries: bad value 'true' (expected yes or no)" },
	{ "directory empty", "server:\n directory: \"\"\n", 2,
	    "directory: empty value" },

	/* resolver */
	{ "timeout bare seconds", "resolver:\n timeout: 1200\n", 2,
	    "a bare number is seconds" },
	{ "timeout 0", "resolver:\n timeout: 0ms\n", 2, "out of range" },
	{ "timeout junk", "resolver:\n timeout: fast\n", 2,
	    "timeout: bad value 'fast'" },
	{ "attempts 0", "resolver:\n attempts: 0\n", 2, "out of range" },
	{ "attempts 11", "resolver:\n attempts: 11\n", 2, "out of range" },
	{ "forward bad", "resolver:\n forward: 127.0.0.1:53\n", 2,
	    "forward: bad value" },

	/* upstream */
	{ "upstream without name", "upstream:\n zone: x.example\n", 1,
	    "upstream: clause without name:" },
	{ "upstream without zone", "upstream:\n name: x\n", 1,
	    "upstream x: no zone: given" },
	{ "upstream bad zone", "upstream:\n name: x\n zone: a..b\n", 3,
	    "zone: bad value 'a..b' (expected a domain name)" },
	{ "upstream bad name", "upstream:\n name: 9x\n zone: a.b\n", 2,
	    "name: bad name '9x'" },
	{ "code outside 127/8", UP " code: 10.0.0.1 x\n", 4,
	    "code: bad answer code '10.0.0.1' (expected an address in "
	    "127.0.0.0/8)" },
	{ "code with prefix", UP " code: 127.0.0.2/32 x\n", 4,
	    "bad answer code" },
	{ "code bad result", UP " code: 127.0.0.2 \"a b\"\n", 4,
	    "code: bad name 'a b'" },
	{ "code twice", UP " code: 127.0.0.2 a\n code: 127.0.0.2 b\n", 5,
	    "code: 127.0.0.2 is already mapped to 'a'" },
	{ "code one value", UP " code: 127.0.0.2\n", 4,
	    "code: too few values" },
	{ "code in error-code", UP " code: 127.255.255.1 oops\n", 1,
	    "code for 'oops' lies inside an error-code prefix" },
	{ "error-code v6", UP " error-code: ::1\n", 4,
	    "error-code: bad value '::1'" },
	{ "error-code host bits", UP " error-code: 127.0.0.1/8\n", 4,
	    "error-code: bad value" },
	{ "family", UP " family: ip5\n", 4,
	    "family: bad value 'ip5' (expected ip4, ip6 or name)" },
	{ "upstream weight big", UP " weight: 256\n", 4,
	    "weight: 256 is out of range" },
	{ "upstream weight junk", UP " weight: 1.5\n", 4,
	    "weight: bad value '1.5'" },
	{ "mirror", UP " mirror: 1\n", 4, "mirror: bad value '1'" },
	{ "upstream server", UP " server: 127.0.0.1@\n", 4,
	    "server: bad value" },
	{ "max-queries no period", UP " max-queries: 250000\n", 4,
	    "max-queries: bad value '250000' (expected COUNT/PERIOD" },
	{ "max-queries zero", UP " max-queries: 0/d\n", 4,
	    "max-queries: bad value" },
	{ "max-queries bad unit", UP " max-queries: 10/y\n", 4,
	    "max-queries: bad value" },
	{ "max-queries no count", UP " max-queries: /d\n", 4,
	    "max-queries: bad value" },
	{ "max-queries zero period", UP " max-queries: 10/0\n", 4,
	    "max-queries: bad value" },
	{ "max-queries signed", UP " max-queries: +10/d\n", 4,
	    "max-queries: bad value" },

	/* local-list */
	{ "list without name", "local-list:\n file: x\n", 1,
	    "local-list: clause without name:" },
	{ "list without file", "local-list:\n name: x\n", 1,
	    "local-list x: no file: given" },
	{ "list type", LL " type: cdb\n", 4,
	    "type: bad value 'cdb' (expected ip4set, ip4trie, ip6trie or "
	    "dnset)" },
	{ "list allow", LL " allow: maybe\n", 4, "allow: bad value 'maybe'" },
	{ "list ttl 0", LL " ttl: 0\n", 4, "ttl: 0 is out of range" },
	{ "list weight", LL " weight: -256\n", 4, "out of range" },
	{ "list name leading dash", "local-list:\n name: -x\n file: f\n", 2,
	    "name: bad name '-x'" },
	{ "list name too long", "local-list:\n name: "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
	    " file: f\n", 2, "bad name" },
	{ "list txt empty", LL " txt: \"\"\n", 4, "txt: empty value" },

	/* escalation */
	{ "escalation without name", LL "escalation:\n source: l\n", 4,
	    "escalation: clause without name:" },
	{ "escalation without source", "escalation:\n name: e\n", 1,
	    "escalation e: no source: given" },
	{ "prefix 0", LL "escalation:\n name: e\n source: l\n prefix: 0\n", 7,
	    "prefix: 0 is out of range (expected a prefix length from 1 to "
	    "32)" },
	{ "prefix 33", LL "escalation:\n name: e\n source: l\n prefix: 33\n",
	    7, "out of range" },
	{ "prefix6 129", LL "escalation:\n name: e\n source: l\n"
	    " prefix6: 129\n", 7, "prefix6: 129 is out of range" },
	{ "threshold 0", LL "escalation:\n name: e\n source: l\n"
	    " threshold: 0\n", 7, "threshold: 0 is out of range" },
	{ "window", LL "escalation:\n name: e\n source: l\n window: 1y\n", 7,
	    "window: bad value" },
	{ "value 127.0.0.1", LL "escalation:\n name: e\n source: l\n"
	    " value: 127.0.0.1\n", 7, "value: bad value '127.0.0.1' (expected "
	    "an address in 127.0.0.0/8 above 127.0.0.1)" },
	{ "value outside 127/8", LL "escalation:\n name: e\n source: l\n"
	    " value: 192.0.2.1\n", 7, "value: bad value" },
	{ "value a prefix", LL "escalation:\n name: e\n source: l\n"
	    " value: 127.0.0.2/32\n", 7, "value: bad value" },
	{ "source twice on a line", LL "escalation:\n name: e\n"
	    " source: l l\n", 6, "source: 'l' is already given" },
	{ "source unknown", LL "escalation:\n name: e\n source: l nothere\n",
	    6, "source: 'nothere' is not a result (a local list, an upstream "
	    "result or an escalation)" },
	{ "escalation source itself", LL "escalation:\n name: e\n"
	    " source: l e\n", 4, "escalation e: its sources lead back to "
	    "itself" },
	{ "escalation loop", LL "escalation:\n name: e\n source: f\n"
	    "escalation:\n name: f\n source: e l\n", 4,
	    "its sources lead back to itself" },

	/* zone */
	{ "zone without name", LL "zone:\n bit: 2 l\n", 4,
	    "zone: clause without name:" },
	{ "zone bad name", LL "zone:\n name: a b\n bit: 2 l\n", 5,
	    "name: too many values" },
	{ "zone name too long", LL "zone:\n name: "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    ".example\n bit: 2 l\n", 5, "name: bad value" },
	{ "zone without members", LL "zone:\n name: z.example\n", 4,
	    "zone z.example: neither serve: nor any bit: or result: given" },
	{ "zone serve and bit", LL ZN " serve: l\n", 4,
	    "zone z.example: has both serve: and members" },
	{ "answer in serve zone", LL "zone:\n name: z.example\n serve: l\n"
	    " answer: each\n", 7, "answer: is for aggregate zones" },
	{ "answer bad", LL ZN " answer: sum\n", 7,
	    "answer: bad value 'sum' (expected bitmask, each or score)" },
	{ "bit 3", LL "zone:\n name: z.example\n bit: 3 l\n", 6,
	    "bit: bad bit value '3' (expected a power of two from 2 to "
	    "8388608)" },
	{ "bit 1", LL "zone:\n name: z.example\n bit: 1 l\n", 6,
	    "bad bit value '1'" },
	{ "bit 0", LL "zone:\n name: z.example\n bit: 0 l\n", 6,
	    "bad bit value" },
	{ "bit 2^24", LL "zone:\n name: z.example\n bit: 16777216 l\n", 6,
	    "bad bit value" },
	{ "bit negative", LL "zone:\n name: z.example\n bit: -2 l\n", 6,
	    "bad bit value" },
	{ "bit hex", LL "zone:\n name: z.example\n bit: 0x2 l\n", 6,
	    "bad bit value" },
	{ "bit twice", LL LM "zone:\n name: z.example\n bit: 2 l\n"
	    " bit: 2 m\n", 10, "bit: 2 is already the bit of 'l'" },
	{ "member twice", LL "zone:\n name: z.example\n bit: 2 l\n"
	    " bit: 4 l\n", 7, "bit: 'l' is already a member of this zone" },
	{ "bit unknown result", LL "zone:\n name: z.example\n bit: 2 ghost\n",
	    6, "'ghost' is not a result" },
	{ "bit upstream with codes", LL UP " code: 127.0.0.2 spam\n"
	    "zone:\n name: z.example\n bit: 2 u\n", 10, "'u' is an upstream "
	    "with code: lines; use the result names of its codes" },
	{ "result in bitmask zone", LL "zone:\n name: z.example\n"
	    " result: l\n", 6, "'l' has no bit; answer: bitmask zones take "
	    "bit: lines" },
	{ "result value 127.0.0.1", LL "zone:\n name: z.example\n"
	    " answer: each\n result: l 127.0.0.1\n", 7,
	    "result: bad answer value '127.0.0.1'" },
	{ "result value outside", LL "zone:\n name: z.example\n"
	    " answer: each\n result: l 10.0.0.2\n", 7, "bad answer value" },
	{ "result three values", LL "zone:\n name: z.example\n"
	    " answer: each\n result: l 127.0.0.2 x\n", 7, "too many values" },
	{ "weight not member", LL LM "zone:\n name: z.example\n"
	    " answer: score\n result: l\n weight: 3 m\n", 11,
	    "weight: 'm' is not a member of this zone" },
	{ "weight twice", LL "zone:\n name: z.example\n answer: score\n"
	    " result: l\n weight: 3 l\n weight: 4 l\n", 9,
	    "weight: 'l' already has a weight in this zone" },
	{ "weight out of range", LL "zone:\n name: z.example\n"
	    " answer: score\n result: l\n weight: 300 l\n", 8,
	    "weight: bad value '300'" },
	{ "exempt upstream", LL UP ZN " exempt: u\n", 10,
	    "exempt: 'u' is not a local list" },
	{ "exempt unknown", LL ZN " exempt: nobody\n", 7,
	    "exempt: 'nobody' is not a local list" },
	{ "serve upstream result", LL UP "zone:\n name: s.example\n"
	    " serve: l u\n", 9, "serve: 'u' is not a local list or an "
	    "escalation" },
	{ "soa too few", LL ZN " soa: a.example. b.example. 1 2 3\n", 7,
	    "soa: too few values (expected MNAME RNAME REFRESH RETRY EXPIRE "
	    "MINIMUM)" },
	{ "soa bad mname", LL ZN " soa: a..b b.example. 1 2 3 4\n", 7,
	    "soa: bad MNAME 'a..b'" },
	{ "soa bad rname", LL ZN " soa: a.example. b@example 1 2 3 4\n", 7,
	    "soa: bad RNAME 'b@example'" },
	{ "soa bad minimum", LL ZN " soa: a.example. b.example. 1 2 3 x\n",
	    7, "soa: bad MINIMUM 'x'" },
	{ "soa-ttl bad", LL ZN " soa-ttl: 1q\n", 7, "soa-ttl: bad value" },
	{ "ns bad", LL ZN " ns: ns1..example\n", 7,
	    "ns: bad value 'ns1..example'" },
	{ "allow-transfer bad", LL ZN " allow-transfer: 127.0.0.1/33\n", 7,
	    "allow-transfer: bad value '127.0.0.1/33'" },
	{ "notify bad", LL ZN " notify: 127.0.0.1@99999\n", 7,
	    "notify: bad value '127.0.0.1@99999'" },
	{ "notify broadcast", LL ZN " notify: 255.255.255.255\n", 4,
	    "notify: 255.255.255.255 is not a unicast address" },
	{ "notify multicast", LL ZN " notify: ff02::1@5300\n", 4,
	    "notify: ff02::1@5300 is not a unicast address" },
	{ "notify unspecified", LL ZN " notify: 0.0.0.0\n", 4,
	    "notify: 0.0.0.0 is not a unicast address" },
	{ "zone twice", LL ZN ZN, 7, "zone z.example is already defined at " },
	{ "zone twice, case and dot", LL ZN "zone:\n name: Z.EXAMPLE.\n"
	    " bit: 2 l\n", 7, "is already defined" },
	{ "zone is mirrored upstream", LL "upstream:\n name: u\n"
	    " zone: z.example\n mirror: yes\n" ZN, 8,
	    "also the zone of upstream u, which has mirror: yes" },

	/* one namespace */
	{ "list twice", LL LL, 5, "name 'l' is already used by the local "
	    "list l at " },
	{ "list named like upstream result", UP " code: 127.0.0.2 spam\n"
	    "local-list:\n name: spam\n file: f\n", 6,
	    "name 'spam' is already used by the result of upstream u at " },
	{ "escalation named like list", LL "escalation:\n name: l\n"
	    " source: l\n", 5, "name 'l' is already used by the local list" },
	{ "upstream named like list", LL "upstream:\n name: l\n"
	    " zone: x.example\n", 5, "name 'l' is already used by the local "
	    "list l" },
	{ "two upstreams same name", UP UP, 5, "name 'u' is already used by "
	    "the upstream u" },
	{ "code result is other upstream", UP " code: 127.0.0.2 a\n"
	    "upstream:\n name: v\n zone: v.example\n code: 127.0.0.2 u\n", 8,
	    "name 'u' is already used by the upstream u" },
	{ "same result from two upstreams", UP " code: 127.0.0.2 spam\n"
	    "upstream:\n name: v\n zone: v.example\n code: 127.0.0.3 spam\n",
	    8, "name 'spam' is already used by the result of upstream u" },
	{ "names case-insensitive", LL "local-list:\n name: L\n file: f\n",
	    5, "name 'l' is already used" },

	/* include */
	{ "include no value", "include:\n", 1, "include: missing value" },
	{ "include two values", "include: a b\n", 1, "include: bad value" },
	{ "include missing file", "server:\ninclude: nothere.conf\n", 2,
	    "include: cannot read " },
	{ "include directory", "include: /tmp\n", 1,
	    "include: cannot read /tmp: Is a directory" },
	{ "include device", "include: /dev/null\n", 1,
	    "not a regular file" },
	{ "include self", "server:\ninclude: t.conf\n", 2,
	    "include loop" },
};

static void
test_keywords_bad(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *t = &bad_cases[i];
		struct conf *c = (struct conf *)&c;	/* must stay */
		int rc;

		rc = load(t->text, &c);
		if (rc != RBLMUX_EPARSE || !has_report(t->line, t->msg)) {
			dump(t->label);
			fail_msg("bad case '%s': rc %d, want line %u '%s'",
			    t->label, rc, t->line, t->msg);
		}
		if (c != (struct conf *)&c)
			fail_msg("bad case '%s': *out changed", t->label);
	}
}

/* ---- syntax details that must be accepted ------------------------------ */

struct syntax_case {
	const char	*label;
	const char	*text;
	const char	*txt;		/* expected lists[0].txt, or NULL */
};

static const struct syntax_case syntax_cases[] = {
	{ "comment inside quotes",
	    "local-list:\n name: l\n file: f\n txt: \"a # b\" # comment\n",
	    "a # b" },
	{ "escaped quote", "local-list:\n name: l\n file: f\n"
	    " txt: \"say \\\"hi\\\" \\\\ now\"\n", "say \"hi\" \\ now" },
	{ "other backslash kept", "local-list:\n name: l\n file: f\n"
	    " txt: \"a\\nb\"\n", "a\\nb" },
	{ "no space after colon", "local-list:\nname:l\nfile:f\ntxt:x\n",
	    "x" },
	{ "tabs and trailing space", "\tlocal-list:   \n\t\tname:\tl  \n"
	    "\tfile: f\t\n\ttxt: y \t\n", "y" },
	{ "CRLF", "local-list:\r\n name: l\r\n file: f\r\n txt: z\r\n", "z" },
	{ "comment after clause", "local-list: # the list\n name: l\n"
	    " file: f # file\n# whole line\n   # indented\n\n txt: w#c\n",
	    "w" },
	{ "quoted word without spaces", "local-list:\n name: \"l\"\n"
	    " file: \"f\"\n txt: \"v\"\n", "v" },
	{ "no final newline", "local-list:\n name: l\n file: f\n txt: end",
	    "end" },
	{ "hash right after quote", "local-list:\n name: l\n file: f\n"
	    " txt: \"q\"#c\n", "q" },
};

static void
test_syntax(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(syntax_cases) / sizeof(syntax_cases[0]); i++) {
		const struct syntax_case *t = &syntax_cases[i];
		struct conf *c;
		int rc = load(t->text, &c);

		if (rc != 0) {
			dump(t->label);
			fail_msg("syntax case '%s': rc %d", t->label, rc);
		}
		if (c->nlists != 1 || strcmp(c->lists[0].name, "l") != 0 ||
		    strcmp(c->lists[0].files[0], "f") != 0 ||
		    (t->txt && (c->lists[0].txt == NULL ||
		    strcmp(c->lists[0].txt, t->txt) != 0)))
			fail_msg("syntax case '%s': txt '%s'", t->label,
			    c->lists[0].txt ? c->lists[0].txt : "(null)");
		conf_free(c);
	}
}

static void
test_nul_and_long_lines(void **state)
{
	static const char nul[] = "server:\n ttl-min: 5\0 junk\n ttl-max: 1\n";
	struct conf *c;
	char *big;
	size_t n = 70000;

	(void)state;
	put_bytes("t.conf", nul, sizeof(nul) - 1);
	nreps = 0;
	assert_int_equal(conf_load(path_of("t.conf"), report, NULL, &c),
	    RBLMUX_EPARSE);
	assert_true(has_report(2, "NUL byte"));
	/* line 3 is still read: ttl-max 1 < default ttl-min 60 */
	assert_true(has_report(3, "is larger than ttl-max (1s)"));
	assert_int_equal(nreps, 2);

	big = malloc(n + 64);
	assert_non_null(big);
	strcpy(big, "server:\n username: ");
	memset(big + strlen(big), 'x', n);
	strcpy(big + strlen("server:\n username: ") + n, "\n workers: 0\n");
	put("t.conf", big);
	free(big);
	nreps = 0;
	assert_int_equal(conf_load(path_of("t.conf"), report, NULL, &c),
	    RBLMUX_EPARSE);
	assert_true(has_report(2, "line longer than"));
	assert_true(has_report(3, "workers: 0 is out of range"));
}

static void
test_too_many_values(void **state)
{
	char text[1024] = "zone:\n name: z.example\n ns:";
	struct conf *c;
	int i;

	(void)state;
	for (i = 0; i < 65; i++)
		strcat(text, " a.example");
	strcat(text, "\n");
	assert_int_equal(load(text, &c), RBLMUX_EPARSE);
	assert_true(has_report(3, "too many values on one line"));
}

/* ---- arrays and defaults ------------------------------------------------ */

/* port_of - the port of a parsed address */
static unsigned
port_of(const struct conf_sockaddr *sa)
{
	if (sa->sa.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&sa->sa)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&sa->sa)->sin6_port);
}

static void
test_defaults(void **state)
{
	struct conf *c;
	const struct conf_server *s;

	(void)state;
	assert_int_equal(load("# nothing but a comment\n", &c), 0);
	s = &c->server;
	assert_string_equal(c->path, path_of("t.conf"));
	assert_int_equal(s->nlisten, 2);
	assert_string_equal(s->listen[0].text, "127.0.0.1@53");
	assert_int_equal(s->listen[0].sa.ss_family, AF_INET);
	assert_int_equal(port_of(&s->listen[0]), 53);
	assert_string_equal(s->listen[1].text, "::1@53");
	assert_int_equal(s->listen[1].sa.ss_family, AF_INET6);
	assert_int_equal(port_of(&s->listen[1]), 53);
	assert_int_equal(s->nacl, 0);
	assert_null(s->directory);
	assert_string_equal(s->cache_dir, "var/");
	assert_string_equal(s->state_dir, "var/");
	assert_string_equal(s->control_socket, "var/rblmux.sock");
	assert_null(s->pidfile);
	assert_null(s->username);
	assert_true(s->cache_max_size == 256ULL * 1024 * 1024);
	assert_int_equal(s->ttl_min, 60);
	assert_int_equal(s->ttl_max, 86400);
	assert_int_equal(s->negative_ttl_max, 900);
	assert_int_equal(s->serve_stale, 3600);
	assert_null(s->metrics);
	assert_int_equal(s->workers, 1);
	assert_int_equal(s->edns_buffer_size, 1232);
	assert_int_equal(s->tcp_idle_timeout_ms, 10000);
	assert_int_equal(s->tcp_max_clients, 100);
	assert_int_equal(s->check_interval, 5);
	assert_false(s->log_queries);
	assert_int_equal(s->rate_limit, 0);
	assert_int_equal(s->rate_limit_slip, 2);
	assert_int_equal(s->rate_limit_ipv4_prefix, 24);
	assert_int_equal(s->rate_limit_ipv6_prefix, 56);
	assert_int_equal(s->rate_limit_size, 65536);
	assert_int_equal(s->nrate_limit_exempt, 0);
	assert_int_equal(c->resolver.nforward, 0);
	assert_null(c->resolver.forward);
	assert_int_equal(c->resolver.timeout_ms, 1200);
	assert_int_equal(c->resolver.attempts, 2);
	assert_int_equal(c->nupstreams + c->nlists + c->nescalations +
	    c->nzones, 0);
	conf_free(c);

	assert_int_equal(load(
	    "upstream:\n name: u\n zone: u.example\n"
	    "local-list:\n name: l\n file: f\n"
	    "local-list:\n name: a\n file: f\n allow: yes\n"
	    "escalation:\n name: e\n source: l\n"
	    "zone:\n name: z.example\n bit: 2 l\n bit: 4 u\n bit: 8 e\n", &c),
	    0);
	{
		const struct conf_upstream *u = &c->upstreams[0];
		const struct conf_list *l = &c->lists[0];
		const struct conf_escalation *e = &c->escalations[0];
		const struct conf_zone *z = &c->zones[0];

		assert_int_equal(u->ncodes, 0);
		assert_int_equal(u->nerror_codes, 1);
		assert_int_equal(u->error_codes[0].family, AF_INET);
		assert_int_equal(u->error_codes[0].plen, 24);
		assert_memory_equal(u->error_codes[0].addr,
		    "\x7f\xff\xff\x00", 4);
		assert_int_equal(u->family, FAMILY_IP4);
		assert_int_equal(u->weight, 1);
		assert_false(u->mirror);
		assert_int_equal(u->nservers, 0);
		assert_true(u->max_queries == 0);
		assert_string_equal(u->file, path_of("t.conf"));
		assert_int_equal(u->line, 1);

		assert_int_equal(l->type, LIST_IP4SET);
		assert_int_equal(l->nfiles, 1);
		assert_false(l->allow);
		assert_int_equal(l->weight, 1);
		assert_int_equal(l->ttl, 2100);
		assert_null(l->txt);
		assert_int_equal(l->line, 4);
		assert_true(c->lists[1].allow);
		assert_int_equal(c->lists[1].weight, -1);

		assert_int_equal(e->nsources, 1);
		assert_int_equal(e->prefix, 24);
		assert_int_equal(e->prefix6, 64);
		assert_int_equal(e->threshold, 2);
		assert_int_equal(e->window, 86400);
		assert_int_equal(e->value, 0x7f000002);
		assert_string_equal(e->txt,
		    "$count listed addresses in $prefix");
		assert_int_equal(e->line, 11);

		assert_false(z->serve);
		assert_int_equal(z->answer, ANSWER_BITMASK);
		assert_int_equal(z->nmembers, 3);
		assert_string_equal(z->soa_mname, "z.example");
		assert_string_equal(z->soa_rname, "hostmaster.z.example");
		assert_int_equal(z->soa_refresh, 3600);
		assert_int_equal(z->soa_retry, 600);
		assert_int_equal(z->soa_expire, 86400);
		assert_int_equal(z->soa_minimum, 300);
		assert_int_equal(z->soa_ttl, 300);
		assert_int_equal(z->nns, 1);
		assert_string_equal(z->ns[0], "z.example");
		assert_int_equal(z->nallow_transfer, 0);
		assert_int_equal(z->nexempt, 0);
		assert_int_equal(z->line, 14);
	}
	conf_free(c);
}

static void
test_arrays(void **state)
{
	struct conf *c;
	const struct conf_server *s;
	const struct conf_upstream *u;
	const struct conf_zone *z;

	(void)state;
	assert_int_equal(load(
	    "server:\n"
	    " listen: 127.0.0.1@5353\n"
	    " listen: ::1@5353\n"
	    " listen: 192.0.2.1\n"
	    " access-control: 127.0.0.0/8 allow\n"
	    " access-control: ::1 allow\n"
	    " access-control: 192.0.2.0/24 refuse\n"
	    " access-control: 2001:db8::/32 deny\n"
	    " metrics: 127.0.0.1\n"
	    "resolver:\n"
	    " forward: 127.0.0.1@53\n"
	    " forward: ::1@5300\n"
	    "upstream:\n"
	    " name: spamrats\n"
	    " zone: all.spamrats.com\n"
	    " code: 127.0.0.36 dyna\n"
	    " code: 127.0.0.37 NoPtr\n"
	    " code: 127.0.0.38 spam\n"
	    " code: 127.0.0.39 spam\n"
	    " error-code: 127.0.0.1 127.255.255.0/24\n"
	    " error-code: 127.0.1.0/24\n"
	    " server: 127.0.0.1@5301\n"
	    " server: ::1\n"
	    "upstream:\n"
	    " name: spamcop\n"
	    " zone: bl.spamcop.net\n"
	    " code: 127.0.0.2 spamcop\n"
	    "local-list:\n"
	    " name: local\n"
	    " file: a.set b.set\n"
	    " file: \"c d.set\"\n"
	    "local-list:\n name: mynets\n file: allow.set\n allow: yes\n"
	    "escalation:\n name: local24\n source: local spam\n source: dyna\n"
	    "zone:\n"
	    " name: all.rbl.local\n"
	    " answer: score\n"
	    " bit: 2 dyna\n"
	    " result: noptr 127.0.0.10\n"
	    " result: local\n"
	    " result: local24\n"
	    " weight: 3 local\n"
	    " weight: -1 noptr\n"
	    " exempt: mynets\n"
	    "zone:\n"
	    " name: bl.rbl.local\n"
	    " serve: local\n"
	    " serve: local24\n"
	    " ns: ns1.rbl.local. NS2.rbl.local\n"
	    " ns: ns3.rbl.local\n"
	    " allow-transfer: 127.0.0.1 192.0.2.0/24\n"
	    " allow-transfer: 2001:db8::/48\n"
	    " notify: 127.0.0.1@5301\n"
	    " notify: 192.0.2.53\n"
	    " exempt: mynets local\n", &c), 0);
	s = &c->server;
	assert_int_equal(s->nlisten, 3);
	assert_string_equal(s->listen[1].text, "::1@5353");
	assert_int_equal(port_of(&s->listen[1]), 5353);
	assert_int_equal(port_of(&s->listen[2]), 53);
	assert_int_equal(s->nacl, 4);
	assert_int_equal(s->acl[0].action, ACL_ALLOW);
	assert_int_equal(s->acl[0].prefix.plen, 8);
	assert_int_equal(s->acl[1].prefix.family, AF_INET6);
	assert_int_equal(s->acl[1].prefix.plen, 128);
	assert_int_equal(s->acl[2].action, ACL_REFUSE);
	assert_int_equal(s->acl[2].prefix.plen, 24);
	assert_int_equal(s->acl[3].action, ACL_DENY);
	assert_int_equal(s->acl[3].prefix.family, AF_INET6);
	assert_non_null(s->metrics);
	assert_int_equal(port_of(s->metrics), 9153);
	assert_int_equal(c->resolver.nforward, 2);
	assert_int_equal(port_of(&c->resolver.forward[1]), 5300);

	u = &c->upstreams[0];
	assert_string_equal(u->name, "spamrats");
	assert_int_equal(u->ncodes, 4);
	assert_int_equal(u->codes[0].addr, 0x7f000024);
	assert_string_equal(u->codes[0].result, "dyna");
	assert_string_equal(u->codes[1].result, "noptr");
	assert_int_equal(u->codes[3].addr, 0x7f000027);
	assert_string_equal(u->codes[3].result, "spam");
	assert_int_equal(u->nerror_codes, 3);
	assert_int_equal(u->error_codes[0].plen, 32);
	assert_int_equal(u->error_codes[2].addr[2], 1);
	assert_int_equal(u->nservers, 2);
	assert_int_equal(port_of(&u->servers[0]), 5301);
	assert_int_equal(port_of(&u->servers[1]), 53);
	assert_string_equal(c->upstreams[1].codes[0].result, "spamcop");

	assert_int_equal(c->lists[0].nfiles, 3);
	assert_string_equal(c->lists[0].files[1], "b.set");
	assert_string_equal(c->lists[0].files[2], "c d.set");

	assert_int_equal(c->escalations[0].nsources, 3);
	assert_string_equal(c->escalations[0].sources[1], "spam");
	assert_string_equal(c->escalations[0].sources[2], "dyna");

	z = &c->zones[0];
	assert_int_equal(z->answer, ANSWER_SCORE);
	assert_int_equal(z->nmembers, 4);
	assert_string_equal(z->members[0].result, "dyna");
	assert_int_equal(z->members[0].bit, 2);
	assert_false(z->members[0].weight_set);
	assert_string_equal(z->members[1].result, "noptr");
	assert_int_equal(z->members[1].value, 0x7f00000a);
	assert_int_equal(z->members[1].bit, 0);
	assert_true(z->members[1].weight_set);
	assert_int_equal(z->members[1].weight, -1);
	assert_int_equal(z->members[2].value, 0);
	assert_true(z->members[2].weight_set);
	assert_int_equal(z->members[2].weight, 3);
	assert_false(z->members[3].weight_set);
	assert_int_equal(z->nexempt, 1);
	assert_string_equal(z->exempt[0], "mynets");

	z = &c->zones[1];
	assert_true(z->serve);
	assert_int_equal(z->nserve_lists, 2);
	assert_string_equal(z->serve_lists[1], "local24");
	assert_int_equal(z->nns, 3);
	assert_string_equal(z->ns[0], "ns1.rbl.local");
	assert_string_equal(z->ns[1], "ns2.rbl.local");
	assert_string_equal(z->soa_mname, "bl.rbl.local");
	assert_int_equal(z->nallow_transfer, 3);
	assert_int_equal(z->nnotify, 2);
	assert_string_equal(z->notify[0].text, "127.0.0.1@5301");
	assert_int_equal(ntohs(((struct sockaddr_in *)&z->notify[0].sa)
	    ->sin_port), 5301);
	assert_int_equal(ntohs(((struct sockaddr_in *)&z->notify[1].sa)
	    ->sin_port), 53);
	assert_int_equal(z->allow_transfer[1].plen, 24);
	assert_int_equal(z->allow_transfer[2].family, AF_INET6);
	assert_int_equal(z->nexempt, 2);
	conf_free(c);
}

static void
test_namespace_ok(void **state)
{
	struct conf *c;

	(void)state;
	/* an upstream's code may reuse its name; repeated result names too */
	assert_int_equal(load(
	    "upstream:\n name: spamcop\n zone: bl.spamcop.net\n"
	    " code: 127.0.0.2 spamcop\n code: 127.0.0.3 spamcop\n"
	    "upstream:\n name: plain\n zone: plain.example\n"
	    "escalation:\n name: esc\n source: plain spamcop\n"
	    "zone:\n name: z.example\n bit: 2 spamcop\n bit: 4 plain\n"
	    " bit: 8 esc\n"
	    "zone:\n name: s.example\n serve: esc\n", &c), 0);
	assert_int_equal(c->zones[0].nmembers, 3);
	conf_free(c);
}

/* ---- include ------------------------------------------------------------ */

static void
test_include(void **state)
{
	struct conf *c;

	(void)state;
	/* relative to the including file; clauses continue across files */
	put("inc/main.conf",
	    "server:\n"
	    " include: parts/server.conf\n"
	    " workers: 2\n"
	    "include: parts/lists.conf\n"
	    " file: \"second.set\"\n"
	    "include: \"parts/none-*.conf\"\n"
	    "include: parts/zone-*.conf\n");
	put("inc/parts/server.conf", "ttl-min: 10\ninclude: deeper.conf\n");
	put("inc/parts/deeper.conf", "ttl-max: 2h\n");
	put("inc/parts/lists.conf", "local-list:\n name: l\n file: l.set\n");
	put("inc/parts/zone-a.conf", "zone:\n name: a.example\n bit: 2 l\n");
	put("inc/parts/zone-b.conf", "zone:\n name: b.example\n serve: l\n");
	nreps = 0;
	if (conf_load(path_of("inc/main.conf"), report, NULL, &c) != 0) {
		dump("include");
		fail();
	}
	assert_int_equal(c->server.ttl_min, 10);
	assert_int_equal(c->server.ttl_max, 7200);
	assert_int_equal(c->server.workers, 2);
	assert_int_equal(c->nlists, 1);
	assert_int_equal(c->lists[0].nfiles, 2);
	assert_string_equal(c->lists[0].file, path_of("inc/parts/lists.conf"));
	assert_int_equal(c->lists[0].line, 1);
	assert_int_equal(c->nzones, 2);
	assert_string_equal(c->zones[0].name, "a.example");
	assert_string_equal(c->zones[1].name, "b.example");
	assert_string_equal(c->zones[1].file, path_of("inc/parts/zone-b.conf"));
	conf_free(c);

	/* a loop through two files is found where it closes */
	put("loop/a.conf", "server:\ninclude: b.conf\n");
	put("loop/b.conf", "# b\ninclude: a.conf\n");
	nreps = 0;
	assert_int_equal(conf_load(path_of("loop/a.conf"), report, NULL, &c),
	    RBLMUX_EPARSE);
	assert_int_equal(nreps, 1);
	assert_string_equal(reps[0].file, path_of("loop/b.conf"));
	assert_int_equal(reps[0].line, 2);
	assert_non_null(strstr(reps[0].msg, "include loop"));

	/* the same file twice in a row is not a loop */
	put("twice/main.conf", "include: s.conf\ninclude: s.conf\n");
	put("twice/s.conf", "# empty\n");
	nreps = 0;
	assert_int_equal(conf_load(path_of("twice/main.conf"), report, NULL,
	    &c), 0);
	conf_free(c);

	/* an absolute include */
	{
		char text[600];

		snprintf(text, sizeof(text), "server:\ninclude: %s\n",
		    path_of("inc/parts/deeper.conf"));
		assert_int_equal(load(text, &c), 0);
		assert_int_equal(c->server.ttl_max, 7200);
		conf_free(c);
	}
}

static void
test_include_depth(void **state)
{
	char name[64], text[64];
	struct conf *c;
	int i;

	(void)state;
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "deep/%d.conf", i);
		snprintf(text, sizeof(text), "# level %d\ninclude: %d.conf\n",
		    i, i + 1);
		put(name, text);
	}
	put("deep/20.conf", "# bottom\n");
	nreps = 0;
	assert_int_equal(conf_load(path_of("deep/0.conf"), report, NULL, &c),
	    RBLMUX_EPARSE);
	assert_int_equal(nreps, 1);
	assert_non_null(strstr(reps[0].msg, "nested more than 16 deep"));
	assert_string_equal(reps[0].file, path_of("deep/15.conf"));
	assert_int_equal(reps[0].line, 2);
}

/* ---- reports ---------------------------------------------------------- */

static void
test_report_positions(void **state)
{
	static const struct {
		const char	*file;
		unsigned	 line;
		const char	*msg;
	} want[] = {
		{ "pos/main.conf", 2, "ttl-min: bad value 'nope'" },
		{ "pos/sub/inc.conf", 2,
		    "edns-buffer-size: 100 is out of range" },
		{ "pos/sub/inc.conf", 3, "unknown keyword 'frob' in server:" },
		{ "pos/main.conf", 4, "workers: 99 is out of range" },
		{ "pos/main.conf", 5, "zone: clause without name:" },
		{ "pos/main.conf", 7, "'ghost' is not a result" },
		{ "pos/main.conf", 10, "exempt: 'nolist' is not a local list" },
	};
	struct conf *c = NULL;
	size_t i;

	(void)state;
	put("pos/main.conf",
	    "server:\n"				/* 1 */
	    "  ttl-min: nope\n"			/* 2 */
	    "  include: sub/inc.conf\n"		/* 3 */
	    "  workers: 99\n"			/* 4 */
	    "zone:\n"				/* 5 */
	    "  answer: bitmask\n"		/* 6 */
	    "  bit: 2 ghost\n"			/* 7 */
	    "zone:\n"				/* 8 */
	    "  name: ok.example\n"		/* 9 */
	    "  exempt: nolist\n"		/* 10 */
	    "  serve: l\n"			/* 11 */
	    "local-list:\n name: l\n file: f\n");
	put("pos/sub/inc.conf",
	    "# included into server:\n"		/* 1 */
	    "edns-buffer-size: 100\n"		/* 2 */
	    "frob: 1\n");			/* 3 */
	nreps = 0;
	assert_int_equal(conf_load(path_of("pos/main.conf"), report, NULL, &c),
	    RBLMUX_EPARSE);
	assert_null(c);
	if (nreps != sizeof(want) / sizeof(want[0])) {
		dump("positions");
		fail_msg("%zu reports", nreps);
	}
	for (i = 0; i < nreps; i++) {
		if (strcmp(reps[i].file, path_of(want[i].file)) != 0 ||
		    reps[i].line != want[i].line ||
		    strstr(reps[i].msg, want[i].msg) == NULL) {
			dump("positions");
			fail_msg("report %zu: want %s:%u %s", i, want[i].file,
			    want[i].line, want[i].msg);
		}
		/* the message carries no file:line prefix of its own */
		assert_null(strstr(reps[i].msg, "main.conf"));
		assert_null(strstr(reps[i].msg, "inc.conf:"));
	}
}

static void
test_missing_file(void **state)
{
	struct conf *c = (struct conf *)&c;

	(void)state;
	nreps = 0;
	assert_int_equal(conf_load(path_of("does-not-exist.conf"), report,
	    NULL, &c), RBLMUX_EIO);
	assert_true(c == (struct conf *)&c);
	assert_int_equal(nreps, 1);
	assert_string_equal(reps[0].file, path_of("does-not-exist.conf"));
	assert_int_equal(reps[0].line, 0);
	assert_non_null(strstr(reps[0].msg, "No such file"));
	/* no report callback at all is fine too */
	assert_int_equal(conf_load(path_of("does-not-exist.conf"), NULL, NULL,
	    &c), RBLMUX_EIO);
	put("t.conf", "server:\n frob: 1\n");
	assert_int_equal(conf_load(path_of("t.conf"), NULL, NULL, &c),
	    RBLMUX_EPARSE);
}

/* ---- large configs ---------------------------------------------------- */

/*
 * A config of BIG_ESC escalations in one chain (e0 takes e1 as its source,
 * e1 takes e2, ..., the last takes l0), so that the loop check walks the
 * whole chain from e0; BIG_LISTS lists l0..., each the result of one of
 * BIG_ZONES score zones along with an escalation and a weight.
 */
#define BIG_ESC		20000
#define BIG_LISTS	3000
#define BIG_ZONES	3000
#define BIG_STACK	(256 * 1024)	/* bytes: far less than the chain */

enum big_end {
	BIG_OK,			/* the chain ends at l0 */
	BIG_CLOSED,		/* the last escalation also takes e0 */
	BIG_LAST_TWO,		/* ... also takes the one before it */
	BIG_TWICE,		/* OK, plus a list and a zone named again */
};

/* Where big_conf() put the lines the tests look for. */
struct big_lines {
	unsigned	 esc[BIG_ESC];	/* escalation: line of e<i> */
	unsigned	 list_again;	/* name: line of the list named again */
	unsigned	 zone_again;	/* zone: line of the zone named again */
};

/* bigf - one line of the generated config, counted in *line */
static void
bigf(FILE *f, unsigned *line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	(*line)++;
}

/* big_conf - write the large config as big.conf; where lines are in *bl */
static void
big_conf(enum big_end end, struct big_lines *bl)
{
	unsigned line = 0;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int i;

	assert_non_null(f);
	bigf(f, &line, "server:\n listen: 127.0.0.1@5353");
	line++;
	for (i = 0; i < BIG_LISTS; i++) {
		bigf(f, &line, "local-list:\n name: l%d\n file: l.set", i);
		line += 2;
	}
	for (i = 0; i < BIG_ESC; i++) {
		bl->esc[i] = line + 1;
		bigf(f, &line, "escalation:\n name: e%d", i);
		line++;
		if (i + 1 < BIG_ESC)
			bigf(f, &line, " source: e%d", i + 1);
		else
			bigf(f, &line, " source: l0");
	}
	if (end == BIG_CLOSED)
		bigf(f, &line, " source: e0");
	else if (end == BIG_LAST_TWO)
		bigf(f, &line, " source: e%d", BIG_ESC - 2);
	for (i = 0; i < BIG_ZONES; i++) {
		bigf(f, &line, "zone:\n name: z%d.example\n answer: score\n"
		    " result: l%d\n result: e%d\n weight: 2 l%d", i, i,
		    (i * 7) % BIG_ESC, i);
		line += 5;
	}
	if (end == BIG_TWICE) {
		bigf(f, &line, "local-list:");
		bl->list_again = line + 1;
		bigf(f, &line, " name: l%d\n file: l.set", BIG_LISTS / 2);
		line++;
		bl->zone_again = line + 1;
		bigf(f, &line, "zone:\n name: z0.example\n serve: l1");
		line += 2;
	}
	assert_int_equal(fclose(f), 0);
	put_bytes("big.conf", text, len);
	free(text);
}

/* A conf_load() run on a thread of its own, with a small stack. */
struct big_run {
	struct conf	*c;
	int		 rc;
};

/* big_load_thread - conf_load() of big.conf; asserts stay on the caller */
static void *
big_load_thread(void *arg)
{
	struct big_run *r = arg;

	r->rc = conf_load(path_of("big.conf"), report, NULL, &r->c);
	return NULL;
}

/*
 * big_load - load big.conf on a thread with a BIG_STACK stack, as the
 * reload thread would: the checks may not need stack in proportion to a
 * chain of escalations. Returns conf_load()'s code, the config in *c
 * (untouched when it fails).
 */
static int
big_load(struct conf **c)
{
	struct big_run r = { *c, 0 };
	pthread_attr_t attr;
	pthread_t tid;

	nreps = 0;
	assert_int_equal(pthread_attr_init(&attr), 0);
	assert_int_equal(pthread_attr_setstacksize(&attr, BIG_STACK), 0);
	assert_int_equal(pthread_create(&tid, &attr, big_load_thread, &r), 0);
	assert_int_equal(pthread_join(tid, NULL), 0);
	pthread_attr_destroy(&attr);
	*c = r.c;
	return r.rc;
}

/* big_want_one - exactly one report: at line of big.conf, saying msg */
static void
big_want_one(const char *label, unsigned line, const char *msg)
{
	if (nreps != 1 || reps[0].line != line ||
	    strcmp(reps[0].file, path_of("big.conf")) != 0 ||
	    strcmp(reps[0].msg, msg) != 0) {
		dump(label);
		fail_msg("%s: want one report at line %u: %s", label, line,
		    msg);
	}
}

static void
test_big_chain(void **state)
{
	static struct big_lines bl;
	const struct conf_zone *z;
	struct conf *c = NULL;
	size_t i;

	(void)state;
	big_conf(BIG_OK, &bl);
	if (big_load(&c) != 0) {
		dump("big chain");
		fail_msg("%d escalations in a chain do not load", BIG_ESC);
	}
	assert_int_equal(c->nescalations, BIG_ESC);
	assert_int_equal(c->nlists, BIG_LISTS);
	assert_int_equal(c->nzones, BIG_ZONES);
	assert_string_equal(c->escalations[BIG_ESC - 1].sources[0], "l0");
	/* each zone's weight: line found its member */
	for (i = 0; i < BIG_ZONES; i++) {
		z = &c->zones[i];
		assert_int_equal(z->nmembers, 2);
		assert_true(z->members[0].weight_set);
		assert_int_equal(z->members[0].weight, 2);
		assert_false(z->members[1].weight_set);
	}
	conf_free(c);
}

static void
test_big_chain_loops(void **state)
{
	static struct big_lines bl;
	char msg[128];
	struct conf *c = (struct conf *)&c;

	(void)state;
	/* the chain closed into one loop: found where the walk began */
	big_conf(BIG_CLOSED, &bl);
	assert_int_equal(big_load(&c), RBLMUX_EPARSE);
	big_want_one("closed chain", bl.esc[0],
	    "escalation e0: its sources lead back to itself");

	/* a loop of the last two, 20,000 links down the walk */
	big_conf(BIG_LAST_TWO, &bl);
	assert_int_equal(big_load(&c), RBLMUX_EPARSE);
	snprintf(msg, sizeof(msg), "escalation e%d: its sources lead back "
	    "to itself", BIG_ESC - 2);
	big_want_one("loop at the end", bl.esc[BIG_ESC - 2], msg);
	assert_true(c == (struct conf *)&c);
}

static void
test_big_names_twice(void **state)
{
	static struct big_lines bl;
	char msg[2][768];
	struct conf *c = (struct conf *)&c;
	size_t i;

	(void)state;
	big_conf(BIG_TWICE, &bl);
	snprintf(msg[0], sizeof(msg[0]), "name 'l%d' is already used by "
	    "the local list l%d at %s:%u", BIG_LISTS / 2, BIG_LISTS / 2,
	    path_of("big.conf"), 4 + 3 * (BIG_LISTS / 2));
	snprintf(msg[1], sizeof(msg[1]), "zone z0.example is already "
	    "defined at %s:%u", path_of("big.conf"), bl.esc[BIG_ESC - 1] + 3);
	assert_int_equal(big_load(&c), RBLMUX_EPARSE);
	if (nreps != 2 || reps[0].line != bl.list_again ||
	    reps[1].line != bl.zone_again) {
		dump("names twice");
		fail_msg("want reports at lines %u and %u", bl.list_again,
		    bl.zone_again);
	}
	for (i = 0; i < 2; i++)
		assert_string_equal(reps[i].msg, msg[i]);
	assert_true(c == (struct conf *)&c);
}

/* ---- out of memory ------------------------------------------------------ */

/* Every clause, most keyword kinds, the defaults and a glob include. */
static const char oom_main[] =
    "server:\n"
    " listen: 127.0.0.1@5353\n"
    " listen: ::1@5353\n"
    " access-control: 192.0.2.0/24 allow\n"
    " access-control: 2001:db8::/32 deny\n"
    " directory: /srv/rbl\n"
    " pidfile: /run/rblmux.pid\n"
    " username: \"\"\n"
    " metrics: 127.0.0.1\n"
    " include: parts/*.conf\n"
    "resolver:\n"
    " forward: 192.0.2.53\n"
    " forward: 192.0.2.54@5353\n"
    "upstream:\n"
    " name: rats\n"
    " zone: All.SpamRats.com.\n"
    " code: 127.0.0.36 dyna\n"
    " code: 127.0.0.37 noptr\n"
    " error-code: 127.255.255.0/24 127.0.0.255/32\n"
    " server: 192.0.2.1\n"
    " max-queries: 1000/d\n"
    "upstream:\n"
    " name: plain\n"
    " zone: plain.example\n"
    "include: lists.conf\n"
    "escalation:\n"
    " name: esc\n"
    " source: local dyna\n"
    "escalation:\n"
    " name: esc2\n"
    " source: esc\n"
    " txt: \"$count in $prefix\"\n"
    "zone:\n"
    " name: all.example\n"
    " bit: 2 dyna\n"
    " bit: 4 noptr\n"
    " bit: 8 local\n"
    " bit: 16 esc\n"
    " bit: 32 plain\n"
    " exempt: mynets\n"
    " soa: ns1.example. hostmaster.example. 1h 10m 1w 5m\n"
    " ns: ns1.example ns2.example\n"
    " allow-transfer: 192.0.2.0/24 2001:db8::/32\n"
    "zone:\n"
    " name: score.example\n"
    " answer: score\n"
    " result: local\n"
    " result: dyna 127.0.0.5\n"
    " weight: 3 local\n"
    "zone:\n"
    " name: bl.example\n"
    " serve: local esc2\n";

static const char oom_lists[] =
    "local-list:\n"
    " name: local\n"
    " file: a.set b.set\n"
    " file: c.set\n"
    " txt: \"listed here\"\n"
    "local-list:\n"
    " name: mynets\n"
    " type: ip4trie\n"
    " file: allow.set\n"
    " allow: yes\n";

/*
 * Problems that take the paths which free what a line made: names given
 * twice, a member twice, a weight twice, a bad SOA, an unknown name.
 */
static const char oom_bad[] =
    "zone:\n"
    " name: bad.example\n"
    " bit: 2 local\n"
    " bit: 4 local\n"
    " result: 7bad\n"
    " weight: 1 local\n"
    " weight: 2 local\n"
    " exempt: mynets mynets\n"
    " soa: ns1.example. bad..name 1h 10m 1w 5m\n"
    " ns: a.example -bad-.example..\n"
    "zone:\n"
    " name: all.example\n"
    " bit: 64 nosuch\n"
    " soa: ns1.example. ok.example 1h 10m 1w soon\n"
    "server:\n"
    " access-control: 192.0.2.0/24 deny\n"
    " listen: nowhere\n";

/*
 * oom_loop - load path while the n-th allocation fails, n = 1, 2, ...
 * (each failing alone, or with every later one when sticky), until the
 * load needs fewer than n. Each failing load must return RBLMUX_ENOMEM
 * with *out untouched and "out of memory" as its last report; with
 * want == 0 also as its only report (nothing spurious before it); ASan
 * checks that nothing leaks. The last load must return want. Returns
 * how many allocations a load makes.
 */
static unsigned long
oom_loop(const char *path, int sticky, int want)
{
	unsigned long n, calls;
	struct conf *c;
	int rc;

	for (n = 1; n < 100000; n++) {
		c = (struct conf *)&c;
		nreps = 0;
		failalloc_arm(n, sticky);
		rc = conf_load(path, report, NULL, &c);
		calls = failalloc_disarm();
		if (calls < n) {
			if (rc != want) {
				dump("out of memory: no failure");
				fail_msg("%s: rc %d, want %d", path, rc, want);
			}
			if (rc == 0)
				conf_free(c);
			return n - 1;
		}
		if (rc != RBLMUX_ENOMEM || c != (struct conf *)&c ||
		    nreps == 0 || nreps > MAXREP ||
		    strcmp(reps[nreps - 1].msg, "out of memory") != 0 ||
		    strcmp(reps[nreps - 1].file, path) != 0 ||
		    reps[nreps - 1].line != 0 || (want == 0 && nreps != 1)) {
			dump("out of memory");
			fail_msg("%s: allocation %lu of %lu failed%s: rc %d",
			    path, n, calls, sticky ? " (and later ones)" : "",
			    rc);
		}
	}
	fail_msg("%s: no end to the allocations", path);
	return 0;
}

static void
test_out_of_memory(void **state)
{
	char text[sizeof(oom_main) + sizeof(oom_bad)];
	unsigned long n;

	(void)state;
	put("oom/main.conf", oom_main);
	put("oom/lists.conf", oom_lists);
	put("oom/parts/ttl.conf", "ttl-min: 1m\nttl-max: 2h\n");
	put("oom/parts/dirs.conf", "cache-dir: cache/\n");
	nreps = 0;
	n = oom_loop(path_of("oom/main.conf"), 0, 0);
	print_message("a good config: %lu allocations, each failed once\n",
	    n);
	if (n < 100)
		fail_msg("only %lu allocations: the config is too plain", n);
	assert_int_equal(oom_loop(path_of("oom/main.conf"), 1, 0), n);

	snprintf(text, sizeof(text), "%s%s", oom_main, oom_bad);
	put("oom/main.conf", text);
	n = oom_loop(path_of("oom/main.conf"), 0, RBLMUX_EPARSE);
	assert_int_equal(oom_loop(path_of("oom/main.conf"), 1, RBLMUX_EPARSE),
	    n);
}

/* the value parsers and conf_path: out of memory is a code, not an exit */
static void
test_out_of_memory_parsers(void **state)
{
	struct conf_sockaddr sa;
	struct conf *c;
	char *out = NULL;

	(void)state;
	memset(&sa, 0, sizeof(sa));
	failalloc_arm(1, 0);
	assert_int_equal(conf_parse_sockaddr("::1@53", 53, &sa),
	    RBLMUX_ENOMEM);
	failalloc_arm(1, 0);
	assert_int_equal(conf_parse_dname("A.example.", &out), RBLMUX_ENOMEM);
	failalloc_disarm();
	assert_null(sa.text);
	assert_int_equal(sa.salen, 0);
	assert_null(out);

	assert_int_equal(load("server:\n directory: /srv\n", &c), 0);
	failalloc_arm(1, 0);
	assert_null(conf_path(c, "a.set"));
	failalloc_arm(1, 0);
	assert_null(conf_path(c, "/abs/a.set"));
	failalloc_disarm();
	conf_free(c);
}

/* ---- conf_path -------------------------------------------------------- */

static void
test_conf_path(void **state)
{
	static const struct {
		const char	*dir;
		const char	*in;
		const char	*want;
	} cases[] = {
		{ NULL, "zones/a.set", "zones/a.set" },
		{ NULL, "/abs/a.set", "/abs/a.set" },
		{ "/srv/rbl", "zones/a.set", "/srv/rbl/zones/a.set" },
		{ "/srv/rbl/", "a.set", "/srv/rbl/a.set" },
		{ "/srv/rbl//", "a.set", "/srv/rbl/a.set" },
		{ "/srv/rbl", "/abs/a.set", "/abs/a.set" },
		{ "rel", "a.set", "rel/a.set" },
		{ "/", "a.set", "/a.set" },
	};
	struct conf *c;
	size_t i;
	char *p;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[256];

		if (cases[i].dir)
			snprintf(text, sizeof(text),
			    "server:\n directory: %s\n", cases[i].dir);
		else
			snprintf(text, sizeof(text), "server:\n");
		assert_int_equal(load(text, &c), 0);
		p = conf_path(c, cases[i].in);
		if (strcmp(p, cases[i].want) != 0)
			fail_msg("conf_path(%s, %s) = %s", cases[i].dir ?
			    cases[i].dir : "-", cases[i].in, p);
		free(p);
		conf_free(c);
	}
	conf_free(NULL);
}

/* ---- the shipped configuration ------------------------------------------ */

/* top_dir - the source tree, from this file's path */
static void
top_dir(char *buf, size_t cap)
{
	const char *f = __FILE__, *t = strstr(f, "tests/unit/test_conf.c");

	snprintf(buf, cap, "%.*s", t ? (int)(t - f) : 0, f);
}

static void
test_shipped(void **state)
{
	char top[512], path[600];
	struct conf *c;
	const struct conf_zone *z;
	const struct conf_upstream *u;
	static const struct {
		uint32_t	 bit;
		const char	*name;
	} bits[] = {
		{ 2, "dyna" }, { 4, "noptr" }, { 8, "spam" }, { 16, "auth" },
		{ 32, "local" }, { 64, "local24" },
	};
	size_t i;

	(void)state;
	top_dir(top, sizeof(top));
	snprintf(path, sizeof(path), "%sconf/rblmux.conf", top);
	nreps = 0;
	if (conf_load(path, report, NULL, &c) != 0) {
		dump("shipped");
		fail_msg("%s does not load", path);
	}
	assert_int_equal(c->server.nlisten, 2);
	assert_string_equal(c->server.listen[0].text, "127.0.0.1@5353");
	assert_string_equal(c->server.listen[1].text, "::1@5353");
	assert_int_equal(port_of(&c->server.listen[1]), 5353);
	assert_string_equal(c->server.control_socket, "var/rblmux.sock");
	assert_string_equal(c->server.cache_dir, "var/");
	assert_string_equal(c->server.state_dir, "var/");
	/* the system resolver: no forward: line */
	assert_int_equal(c->resolver.nforward, 0);
	assert_int_equal(c->resolver.timeout_ms, 1200);

	assert_int_equal(c->nupstreams, 1);
	u = &c->upstreams[0];
	assert_string_equal(u->zone, "all.spamrats.com");
	assert_true(u->mirror);
	assert_int_equal(u->ncodes, 4);
	assert_int_equal(u->codes[0].addr, 0x7f000024);
	assert_int_equal(u->codes[3].addr, 0x7f00002b);
	assert_string_equal(u->codes[3].result, "auth");

	assert_int_equal(c->nlists, 2);
	assert_string_equal(c->lists[0].files[0], "zones/local.ip4set");
	assert_true(c->lists[1].allow);
	assert_string_equal(c->lists[1].files[0], "zones/allow.ip4set");
	assert_int_equal(c->nescalations, 1);
	assert_string_equal(c->escalations[0].txt,
	    "Entire /24 listed: $count hosts listed in $prefix");

	assert_int_equal(c->nzones, 2);
	z = &c->zones[0];
	assert_string_equal(z->name, "all.rbl.local");
	assert_int_equal(z->nmembers, 6);
	for (i = 0; i < 6; i++) {
		assert_int_equal(z->members[i].bit, bits[i].bit);
		assert_string_equal(z->members[i].result, bits[i].name);
	}
	assert_string_equal(z->exempt[0], "mynets");
	z = &c->zones[1];
	assert_string_equal(z->name, "bl.rbl.local");
	assert_true(z->serve);
	assert_string_equal(z->soa_mname, "ns1.rbl.local");
	assert_string_equal(z->soa_rname, "hostmaster.rbl.local");
	assert_int_equal(z->soa_minimum, 300);
	assert_string_equal(z->ns[0], "ns1.rbl.local");
	assert_int_equal(z->nallow_transfer, 1);

	/* the list files it names exist next to it */
	for (i = 0; i < c->nlists; i++) {
		char lp[700];

		snprintf(lp, sizeof(lp), "%s%s", top, c->lists[i].files[0]);
		if (access(lp, R_OK) != 0)
			fail_msg("%s missing", lp);
	}
	conf_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_prefix),
		cmocka_unit_test(test_parse_sockaddr),
		cmocka_unit_test(test_parse_dname),
		cmocka_unit_test(test_name_valid),
		cmocka_unit_test(test_keywords_good),
		cmocka_unit_test(test_keywords_bad),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_nul_and_long_lines),
		cmocka_unit_test(test_too_many_values),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_arrays),
		cmocka_unit_test(test_namespace_ok),
		cmocka_unit_test(test_include),
		cmocka_unit_test(test_include_depth),
		cmocka_unit_test(test_report_positions),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_big_chain),
		cmocka_unit_test(test_big_chain_loops),
		cmocka_unit_test(test_big_names_twice),
		cmocka_unit_test(test_out_of_memory),
		cmocka_unit_test(test_out_of_memory_parsers),
		cmocka_unit_test(test_conf_path),
		cmocka_unit_test(test_shipped),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
