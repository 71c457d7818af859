/*
 * test_zdump.c -- a served zone as records, against brute force: small
 * random lists (ip4set with blocks, ranges and exclusions, ip4trie
 * prefixes off the octet boundaries, ip6trie, an allowlist, TXT with
 * "$"), dumped with zdump; then every address of a small space is
 * resolved from the records with DNS wildcard rules (RFC 4592: the
 * closest encloser's wildcard, none below an existing name) and must
 * give what the zone's own answer gives: rcode, A values, TXT texts.
 * The same for dnset zones (names of labels a..e, exact, "*.x", ".x",
 * exclusions, an allowlist, a dynamic entry) over every name of depth
 * up to 4 and the test points.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <ldns/ldns.h>

#include "answer.h"
#include "conf.h"
#include "dnsmsg.h"
#include "dyn.h"
#include "err.h"
#include "view.h"
#include "zdump.h"
#include "query_testlib.h"

#define NOW	((time_t)1700000000)
#define MAXRR	200000

struct rr {
	char		 owner[80];	/* relative, dotted; "" = apex */
	uint16_t	 type;
	char		 data[300];	/* A as text, TXT as text */
};

static struct rr *rrs;
static size_t nrr;
static char **names;		/* every name that exists, sorted */
static size_t nnames;

static void
report(void *arg, const char *file, unsigned line, const char *msg)
{
	(void)arg;
	print_error("%s:%u: %s\n", file ? file : "-", line, msg);
}

static void
vreport(void *arg, enum list_severity sev, const char *file, unsigned line,
    const char *msg)
{
	(void)arg;
	if (sev == LIST_ERROR)
		print_error("%s:%u: %s\n", file ? file : "-", line, msg);
}

/* collect - zdump_fn: keep the record as text */
static int
collect(void *arg, const struct zdump_rr *r)
{
	struct rr *x;
	size_t i = 0, o = 0;

	(void)arg;
	assert_true(nrr < MAXRR);
	x = &rrs[nrr++];
	memset(x, 0, sizeof(*x));
	while (i < r->owner_len) {
		unsigned l = r->owner[i++];

		if (o > 0)
			x->owner[o++] = '.';
		memcpy(x->owner + o, r->owner + i, l);
		o += l;
		i += l;
	}
	x->type = r->type;
	if (r->type == DNS_TYPE_A)
		snprintf(x->data, sizeof(x->data), "%u.%u.%u.%u", r->rdata[0],
		    r->rdata[1], r->rdata[2], r->rdata[3]);
	else if (r->type == DNS_TYPE_TXT)
		snprintf(x->data, sizeof(x->data), "%.*s", r->rdata[0],
		    (const char *)r->rdata + 1);
	return 0;
}

static int
scmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* exists - is name (relative) a name of the zone? */
static bool
exists(const char *name)
{
	const char *k = name;

	return name[0] == '\0' || bsearch(&k, names, nnames, sizeof(*names),
	    scmp) != NULL;
}

/* index_names - every owner and its ancestors */
static void
index_names(void)
{
	size_t i, cap = 0;

	nnames = 0;
	for (i = 0; i < nrr; i++) {
		const char *p = rrs[i].owner;

		while (*p != '\0') {
			if (nnames == cap) {
				cap = cap ? cap * 2 : 1024;
				names = realloc(names, cap * sizeof(*names));
				assert_non_null(names);
			}
			names[nnames++] = strdup(p);
			p = strchr(p, '.');
			p = p ? p + 1 : "";
		}
	}
	qsort(names, nnames, sizeof(*names), scmp);
}

static void
free_names(void)
{
	size_t i;

	for (i = 0; i < nnames; i++)
		free(names[i]);
	nnames = 0;
}

/* answer set: rcode and sorted "A x" / "T x" lines joined */
struct res {
	int	 rcode;
	char	 text[8192];
};

static int
lcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
res_finish(struct res *r, char **items, size_t n)
{
	size_t i, len = 0;

	qsort(items, n, sizeof(*items), lcmp);
	r->text[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(items[i], items[i - 1]) == 0)
			continue;
		len += (size_t)snprintf(r->text + len, sizeof(r->text) - len,
		    "%s|", items[i]);
	}
}

/* from_records - what a secondary answers for the relative name */
static void
from_records(const char *name, struct res *r)
{
	char *items[512], wild[96], buf[512][320];
	const char *ce = name, *owner = NULL;
	size_t i, n = 0;

	if (exists(name))
		owner = name;
	else {
		while (*ce != '\0' && !exists(ce)) {
			ce = strchr(ce, '.');
			ce = ce ? ce + 1 : "";
		}
		snprintf(wild, sizeof(wild), "*%s%s", *ce ? "." : "", ce);
		if (exists(wild))
			owner = wild;
	}
	if (owner == NULL) {
		r->rcode = 3;
		r->text[0] = '\0';
		return;
	}
	r->rcode = 0;
	for (i = 0; i < nrr && n < 512; i++) {
		if (strcmp(rrs[i].owner, owner) != 0 ||
		    (rrs[i].type != DNS_TYPE_A && rrs[i].type != DNS_TYPE_TXT))
			continue;
		snprintf(buf[n], sizeof(buf[n]), "%c %s",
		    rrs[i].type == DNS_TYPE_A ? 'A' : 'T', rrs[i].data);
		items[n] = buf[n];
		n++;
	}
	res_finish(r, items, n);
}

/* build_view - the view of config text conf (written to the temp dir) */
static struct view *
build_view(const char *conf)
{
	char path[300];
	struct conf *c;
	struct vconf *vc;
	struct view *v;

	put("rblmux.conf", conf);
	snprintf(path, sizeof(path), "%s/rblmux.conf", dir);
	assert_int_equal(conf_load(path, report, NULL, &c), 0);
	vc = vconf_new(c);
	assert_int_equal(view_build(vc, NULL, vreport, NULL, &v), 0);
	vconf_unref(vc);
	return v;
}

/* dump_zone - every record of zd.test into rrs[] */
static void
dump_zone(struct view *v, bool with_names)
{
	struct zdump *zd;
	int rc;

	nrr = 0;
	assert_int_equal(zdump_new(v, view_zone(v, "zd.test"), 7, NOW, with_names,
	    &zd), 0);
	while ((rc = zdump_step(zd, collect, NULL)) == 1)
		;
	assert_int_equal(rc, 0);
	zdump_free(zd);
}

/* from_server - what rblmuxd answers for the relative name */
static void
from_server(const struct view *v, const char *rel, struct res *r)
{
	static uint8_t out[DNS_MAXMSG];
	char *items[512], buf[512][320], full[300];
	uint8_t q[512];
	size_t n = 0, len, k;
	int t, rcode;
	struct dns_query dq;

	snprintf(full, sizeof(full), "%s.zd.test", rel);
	for (t = 0; t < 2; t++) {
		ldns_pkt *pkt = NULL;
		ldns_rr_list *an;
		uint16_t type = t == 0 ? DNS_TYPE_A : DNS_TYPE_TXT;

		len = mkquery(q, full, type, 0);
		assert_int_equal(dnsmsg_parse_query(q, len, &dq), DNSMSG_OK);
		len = answer_query(v, &dq, q, len, NOW, out, sizeof(out),
		    sizeof(out), &rcode);
		assert_int_equal(ldns_wire2pkt(&pkt, out, len), LDNS_STATUS_OK);
		r->rcode = rcode;
		an = ldns_pkt_answer(pkt);
		for (k = 0; k < ldns_rr_list_rr_count(an) && n < 512; k++) {
			ldns_rr *x = ldns_rr_list_rr(an, k);
			ldns_rdf *d = ldns_rr_rdf(x, 0);

			if (ldns_rr_get_type(x) == LDNS_RR_TYPE_A) {
				const uint8_t *b = ldns_rdf_data(d);

				snprintf(buf[n], sizeof(buf[n]),
				    "A %u.%u.%u.%u", b[0], b[1], b[2], b[3]);
			} else {
				const uint8_t *b = ldns_rdf_data(d);

				snprintf(buf[n], sizeof(buf[n]), "T %.*s",
				    b[0], (const char *)b + 1);
			}
			items[n] = buf[n];
			n++;
		}
		ldns_pkt_free(pkt);
	}
	res_finish(r, items, n);
}

static unsigned
rnd(unsigned n)
{
	return (unsigned)random() % n;
}

/* value - a random value part, sometimes with "$" */
static void
value(char *buf, size_t cap, bool dollar)
{
	switch (rnd(dollar ? 5 : 4)) {
	case 4:
		snprintf(buf, cap, " :127.0.0.%u:Listed $ here", 2 + rnd(6));
		break;
	case 0:
		buf[0] = '\0';
		break;
	case 1:
		snprintf(buf, cap, " :127.0.0.%u:", 2 + rnd(6));
		break;
	default:
		snprintf(buf, cap, " :127.0.0.%u:Text %u", 2 + rnd(6), rnd(3));
		break;
	}
}

/* the space: a in 10..12, b in 0..1, c in 0..2, d in 0..255 */
static void
ip4_entry(char *line, size_t cap, bool trie)
{
	char v[64];
	unsigned a = 10 + rnd(3), b = rnd(2), c = rnd(3), d = rnd(256);
	const char *ex = rnd(6) == 0 ? "!" : "";
	static const unsigned lens[] = { 6, 8, 12, 15, 16, 20, 22, 23,
	    24, 25, 27, 30, 31, 32, 32, 32 };
	unsigned len = lens[rnd(16)], kind = rnd(7);

	/* "$" only where the records name the address: a host */
	value(v, sizeof(v), trie ? len == 32 : kind >= 4);
	if (*ex)
		v[0] = '\0';
	if (trie) {
		uint32_t x = a << 24 | b << 16 | c << 8 | d;

		x &= len == 0 ? 0 : ~(uint32_t)0 << (32 - len);
		snprintf(line, cap, "%s%u.%u.%u.%u/%u%s\n", ex, x >> 24,
		    x >> 16 & 255, x >> 8 & 255, x & 255, len, v);
		return;
	}
	switch (kind) {
	case 0:
		snprintf(line, cap, "%s%u.0.0.0/8%s\n", ex, a, v);
		break;
	case 1:
		snprintf(line, cap, "%s%u.%u%s\n", ex, a, b, v);
		break;
	case 2:
		snprintf(line, cap, "%s%u.%u.%u%s\n", ex, a, b, c, v);
		break;
	case 3:
		snprintf(line, cap, "%s%u.%u.%u.%u-%u.%u.%u.%u%s\n", ex, a, b,
		    c, d, a, b, c, d + rnd(256 - d), v);
		break;
	default:
		snprintf(line, cap, "%s%u.%u.%u.%u%s\n", ex, a, b, c, d, v);
		break;
	}
}

static void
ip6_entry(char *line, size_t cap)
{
	static const unsigned lens[] = { 64, 112, 116, 120, 122, 124, 126,
	    128, 128, 128 };
	char v[64];
	unsigned len = lens[rnd(10)], hi = rnd(2), lo = rnd(256);
	const char *ex = rnd(6) == 0 ? "!" : "";

	value(v, sizeof(v), len >= 124);
	if (*ex)
		v[0] = '\0';
	if (len <= 112)
		lo = 0, hi = len == 64 ? 0 : hi;
	else
		lo &= 0xffu << (128 - len) & 0xff;
	snprintf(line, cap, "%s2001:db8:0:0:0:0:%x:%x/%u%s\n", ex, hi, lo,
	    len, v);
}

/*
 * random_more - zdump_more: blocks of random prefixes of the space that
 * hold no data of their own (as dynamic entries would, seen before
 * they answer): the records must stay exact
 */
static int
random_more(const struct view *v, const struct vzone *z, int family,
    time_t now, zdump_add_fn *add, void *ctx)
{
	uint8_t k[16] = { 0 };
	unsigned n, len;
	int rc;

	(void)v;
	(void)z;
	(void)now;
	for (n = 0; n < 10; n++) {
		memset(k, 0, sizeof(k));
		if (family == AF_INET) {
			k[0] = (uint8_t)(10 + rnd(3));
			k[1] = (uint8_t)rnd(2);
			k[2] = (uint8_t)rnd(3);
			k[3] = (uint8_t)rnd(256);
			len = 8 + rnd(25);
			if (len < 32)
				k[3] &= (uint8_t)(0xff << (32 - len < 8 ?
				    32 - len : 8));
			if (len < 24)
				k[3] = 0;
		} else {
			k[0] = 0x20; k[1] = 0x01; k[2] = 0x0d; k[3] = 0xb8;
			k[13] = (uint8_t)rnd(2);
			k[15] = (uint8_t)(rnd(256) & 0xf0);
			len = 120 + rnd(9);
			if (len < 124)
				k[15] = 0;
		}
		if ((rc = add(ctx, k, len)) != 0)
			return rc;
	}
	return 0;
}

/* one random zone, dumped and compared over the whole space */
static void
one_round(unsigned seed)
{
	char conf[2048], line[128], *f[4];
	size_t len[4] = { 0 }, cap = 65536, i;
	struct view *v = NULL;
	const struct vzone *z;
	struct res a, b;
	unsigned n, x, y, w, d;

	srandom(seed);
	for (i = 0; i < 4; i++) {
		f[i] = calloc(1, cap);
		assert_non_null(f[i]);
	}
	for (n = 8 + rnd(40); n > 0; n--) {
		ip4_entry(line, sizeof(line), false);
		len[0] += (size_t)snprintf(f[0] + len[0], cap - len[0], "%s",
		    line);
	}
	for (n = 4 + rnd(20); n > 0; n--) {
		ip4_entry(line, sizeof(line), true);
		len[1] += (size_t)snprintf(f[1] + len[1], cap - len[1], "%s",
		    line);
	}
	for (n = rnd(4); n > 0; n--) {
		snprintf(line, sizeof(line), "10.%u.%u.%u\n", rnd(2), rnd(3),
		    rnd(256));
		len[2] += (size_t)snprintf(f[2] + len[2], cap - len[2], "%s",
		    line);
	}
	for (n = 4 + rnd(16); n > 0; n--) {
		ip6_entry(line, sizeof(line));
		len[3] += (size_t)snprintf(f[3] + len[3], cap - len[3], "%s",
		    line);
	}
	put("a.ip4set", f[0]);
	put("b.ip4trie", f[1]);
	put("allow.ip4set", f[2]);
	put("c.ip6", f[3]);
	snprintf(conf, sizeof(conf),
	    "server:\n  directory: %s\n"
	    "local-list:\n  name: a\n  file: a.ip4set\n"
	    "local-list:\n  name: b\n  type: ip4trie\n  file: b.ip4trie\n"
	    "local-list:\n  name: ok\n  file: allow.ip4set\n  allow: yes\n"
	    "local-list:\n  name: c\n  type: ip6trie\n  file: c.ip6\n"
	    "zone:\n  name: zd.test\n  serve: a b c\n  exempt: ok\n"
	    "  soa: ns1.zd.test. hostmaster.zd.test. 3600 600 86400 300\n"
	    "  ns: ns1.zd.test.\n", dir);
	v = build_view(conf);
	z = view_zone(v, "zd.test");
	assert_non_null(z);

	dump_zone(v, true);
	/* SOA first and last */
	assert_true(nrr >= 3);
	assert_int_equal(rrs[0].type, DNS_TYPE_SOA);
	assert_int_equal(rrs[nrr - 1].type, DNS_TYPE_SOA);
	index_names();

	for (w = 0; w < 3; w++)
		for (x = 0; x < 2; x++)
			for (y = 0; y < 3; y++)
				for (d = 0; d < 256; d++) {
					char name[64];

					snprintf(name, sizeof(name),
					    "%u.%u.%u.%u", d, y, x, 10 + w);
					from_server(v, name, &a);
					from_records(name, &b);
					if (a.rcode != b.rcode ||
					    strcmp(a.text, b.text) != 0)
						fail_msg("seed %u %s: server "
						    "%d %s, records %d %s\n"
						    "a:\n%sb:\n%sc:\n%s", seed,
						    name, a.rcode, a.text,
						    b.rcode, b.text, f[0],
						    f[1], f[2]);
				}
	/* test points */
	from_server(v, "2.0.0.127", &a);
	from_records("2.0.0.127", &b);
	assert_string_equal(a.text, b.text);
	from_server(v, "1.0.0.127", &a);
	from_records("1.0.0.127", &b);
	assert_int_equal(a.rcode, b.rcode);
	for (x = 0; x < 2; x++)
		for (d = 0; d < 256; d++) {
			char name[128];

			snprintf(name, sizeof(name), "%x.%x.0.0.%x.0.0.0."
			    "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2",
			    d & 15, d >> 4, x);
			from_server(v, name, &a);
			from_records(name, &b);
			if (a.rcode != b.rcode || strcmp(a.text, b.text) != 0)
				fail_msg("seed %u %s: server %d %s, records "
				    "%d %s\n%s", seed, name, a.rcode, a.text,
				    b.rcode, b.text, f[3]);
		}
	free_names();
	view_unref(v);
	for (i = 0; i < 4; i++)
		free(f[i]);
}

static void
test_random_zones(void **state)
{
	unsigned seed;

	(void)state;
	for (seed = 1; seed <= 30; seed++) {
		/* the second half with more blocks than the lists have */
		zdump_more = seed > 15 ? random_more : NULL;
		one_round(seed);
	}
	zdump_more = NULL;
}

/* one_list_view - a view whose zone zd.test serves one ip4set of data */
static struct view *
one_list_view(const char *data)
{
	char conf[1024];

	put("h.ip4set", data);
	snprintf(conf, sizeof(conf),
	    "server:\n  directory: %s\n"
	    "local-list:\n  name: h\n  file: h.ip4set\n"
	    "zone:\n  name: zd.test\n  serve: h\n", dir);
	return build_view(conf);
}

/* a /24 with an excluded /32 under a listed /16: exact, NXDOMAIN kept */
static void
test_hole_under_block(void **state)
{
	struct view *v = NULL;
	struct res a, b;
	size_t i;
	int wild24 = 0, wild16 = 0, rec = 0;

	(void)state;
	v = one_list_view("10.1 :127.0.0.2:block\n!10.1.2.3\n"
	    "10.1.5.7 :127.0.0.4:one\n");
	dump_zone(v, false);
	for (i = 0; i < nrr; i++) {
		wild16 += strcmp(rrs[i].owner, "*.1.10") == 0;
		wild24 += strcmp(rrs[i].owner, "*.5.1.10") == 0;
		rec += strncmp(rrs[i].owner, "9.2.1.10", 8) == 0;
	}
	/* the /16 is one wildcard; the /24 beside 10.1.5.7 its own one */
	assert_int_equal(wild16, 2);
	assert_int_equal(wild24, 2);
	/* the /24 with the hole is written out */
	assert_int_equal(rec, 2);
	index_names();
	from_server(v, "3.2.1.10", &a);
	from_records("3.2.1.10", &b);
	assert_int_equal(a.rcode, 3);
	assert_int_equal(b.rcode, 3);
	free_names();
	view_unref(v);
}

/* a random name of labels a..e, 1 to 3 deep */
static void
rnd_name(char *buf, size_t cap)
{
	unsigned n = 1 + rnd(3), i;
	size_t o = 0;

	for (i = 0; i < n; i++)
		o += (size_t)snprintf(buf + o, cap - o, "%s%c", i ? "." : "",
		    'a' + rnd(5));
}

/* dn_entry - a random dnset line */
static void
dn_entry(char *line, size_t cap, bool allow)
{
	static const char *const form[] = { "", "*.", ".", "", "*." };
	char name[16], v[64];
	bool ex = !allow && rnd(5) == 0;

	rnd_name(name, sizeof(name));
	value(v, sizeof(v), true);
	snprintf(line, cap, "%s%s%s%s\n", ex ? "!" : "", form[rnd(5)], name,
	    ex || allow ? "" : v);
}

/* names_compare - every name of depth 1..4 and the test points */
static void
names_compare(const struct view *v, unsigned seed, const char *files)
{
	char name[16];
	struct res a, b;
	unsigned i, d, n, k;

	for (d = 1; d <= 5; d++) {
		for (n = 1, k = 0; k < d && d <= 4; k++)
			n *= 5;
		for (i = 0; i < n; i++) {
			unsigned x = i;
			size_t o = 0;

			if (d == 5) {
				snprintf(name, sizeof(name), "%s",
				    i == 0 ? "test" : "invalid");
				if (i > 1)
					break;
			} else
				for (k = 0; k < d; k++, x /= 5)
					o += (size_t)snprintf(name + o,
					    sizeof(name) - o, "%s%c",
					    k ? "." : "", 'a' + x % 5);
			if (d == 5 && i == 0)
				n = 2;
			from_server(v, name, &a);
			from_records(name, &b);
			/*
			 * Not listed either way: rblmuxd says NODATA for a
			 * name with listings below it where the records may
			 * have none (an allowlist, an exclusion), a name kept
			 * from a wildcard above by a record of the private
			 * type is NOERROR where rblmuxd says NXDOMAIN
			 */
			if (a.text[0] == '\0' && b.text[0] == '\0')
				b.rcode = a.rcode;
			if (a.rcode != b.rcode || strcmp(a.text, b.text) != 0)
				fail_msg("seed %u %s: server %d %s, records "
				    "%d %s\n%s", seed, name, a.rcode, a.text,
				    b.rcode, b.text, files);
		}
	}
}

/* one random dnset zone, dumped and compared over every name */
static void
one_names_round(unsigned seed, bool dynamic)
{
	char conf[2048], line[128], f[3][4096], all[12600];
	size_t len[3] = { 0 }, i;
	struct view *v = NULL;
	struct dyn *dy = NULL;
	unsigned n;

	srandom(seed);
	for (i = 0; i < 3; i++)
		for (n = i == 2 ? rnd(3) : 4 + rnd(12); n > 0; n--) {
			dn_entry(line, sizeof(line), i == 2);
			len[i] += (size_t)snprintf(f[i] + len[i],
			    sizeof(f[i]) - len[i], "%s", line);
		}
	put("n1.dnset", f[0]);
	put("n2.dnset", f[1]);
	put("nok.dnset", f[2]);
	snprintf(all, sizeof(all), "n1:\n%sn2:\n%sallow:\n%s", f[0], f[1],
	    f[2]);
	snprintf(conf, sizeof(conf),
	    "server:\n  directory: %s\n"
	    "local-list:\n  name: n1\n  type: dnset\n  file: n1.dnset\n"
	    "local-list:\n  name: n2\n  type: dnset\n  file: n2.dnset\n"
	    "local-list:\n  name: nok\n  type: dnset\n  file: nok.dnset\n"
	    "  allow: yes\n"
	    "zone:\n  name: zd.test\n  serve: n1 n2\n  exempt: nok\n"
	    "  soa: ns1.zd.test. hostmaster.zd.test. 3600 600 86400 300\n"
	    "  ns: ns1.zd.test.\n", dir);
	v = build_view(conf);
	if (dynamic) {
		struct dyn_req r = { "n2", LIST_DNSET, line, DYN_NEVER,
		    "dyn $", 0x7f000009U };
		char err[256], name[16];
		size_t bad;

		assert_int_equal(dyn_open(dir, &dy, &bad), 0);
		rnd_name(name, sizeof(name));
		snprintf(line, sizeof(line), "%s%s", rnd(2) ? "*." : "", name);
		assert_true(dyn_add(dy, &r, NOW, err, sizeof(err)) > 0);
		dyn_bind(dy, v);
		snprintf(all + strlen(all), sizeof(all) - strlen(all),
		    "dyn: %s\n", line);
	}
	dump_zone(v, true);
	index_names();
	names_compare(v, seed, all);
	free_names();
	view_unref(v);
	if (dynamic) {
		char cmd[128];

		dyn_close(dy);
		snprintf(cmd, sizeof(cmd), "rm -f %s/dyn.mdb*", dir);
		assert_int_equal(system(cmd), 0);
	}
}

static void
test_random_name_zones(void **state)
{
	unsigned seed;

	(void)state;
	for (seed = 1; seed <= 200; seed++)
		one_names_round(seed, seed % 4 == 0);
}

/* a wildcard with an exact entry and an exclusion below it */
static void
test_names_under_wildcard(void **state)
{
	char conf[1024];
	struct view *v = NULL;
	size_t i;
	int wild = 0, wild_b = 0, empty = 0, tp = 0;

	(void)state;
	put("w.dnset", "*.x :127.0.0.2:wild $\na.b.x :127.0.0.3:exact\n"
	    "!.c.x\n");
	snprintf(conf, sizeof(conf),
	    "server:\n  directory: %s\n"
	    "local-list:\n  name: w\n  type: dnset\n  file: w.dnset\n"
	    "zone:\n  name: zd.test\n  serve: w\n", dir);
	v = build_view(conf);
	dump_zone(v, false);
	for (i = 0; i < nrr; i++) {
		wild += strcmp(rrs[i].owner, "*.x") == 0;
		wild_b += strcmp(rrs[i].owner, "*.b.x") == 0 &&
		    strcmp(rrs[i].data, "wild x") == 0;
		empty += strcmp(rrs[i].owner, "c.x") == 0 &&
		    rrs[i].type == ZDUMP_TYPE_EMPTY;
		tp += strcmp(rrs[i].owner, "test") == 0;
	}
	assert_int_equal(wild, 2);
	assert_int_equal(wild_b, 1);
	assert_int_equal(empty, 1);
	assert_int_equal(tp, 2);
	index_names();
	names_compare(v, 0, "*.x a.b.x !.c.x");
	free_names();
	view_unref(v);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_zdump.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	rrs = calloc(MAXRR, sizeof(*rrs));
	return rrs == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	free(rrs);
	free(names);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/* counting_more - zdump_more: three blocks out of order, counted */
static unsigned more_calls;

static int
counting_more(const struct view *v, const struct vzone *z, int family,
    time_t now, zdump_add_fn *add, void *ctx)
{
	static const uint8_t k[3][16] = { { 10, 9, 9, 9 }, { 10, 1, 2, 3 },
	    { 10, 5, 0, 0 } };
	unsigned i;
	int rc;

	(void)v;
	(void)z;
	(void)now;
	more_calls++;
	for (i = 0; i < 3 && family == AF_INET; i++)
		if ((rc = add(ctx, k[i], i == 2 ? 16 : 32)) != 0)
			return rc;
	return 0;
}

/* records of zd (stepped to its end), counted; the owners into rrs */
static size_t
run_dump(struct zdump *zd)
{
	int rc;

	nrr = 0;
	while ((rc = zdump_step(zd, collect, NULL)) == 1)
		;
	assert_int_equal(rc, 0);
	return nrr;
}

/*
 * Dumps of one zone and serial running at the same time share one
 * sorted snapshot of the dynamic blocks; another serial, or a dump
 * started after the last one ended, makes its own; the records alike.
 */
static void
test_shared_snapshot(void **state)
{
	struct view *v;
	const struct vzone *z;
	struct zdump *a, *b, *c;
	uint64_t made;
	size_t n;

	(void)state;
	v = one_list_view("10.1.2.0/24 :127.0.0.2:block\n");
	z = view_zone(v, "zd.test");
	zdump_more = counting_more;
	more_calls = 0;
	made = zdump_snapshots_made();
	assert_int_equal(zdump_new(v, z, 7, NOW, true, &a), 0);
	assert_int_equal(zdump_new(v, z, 7, NOW, true, &b), 0);
	assert_int_equal(more_calls, 1);	/* a and b: sorted once */
	assert_int_equal(zdump_new(v, z, 8, NOW, true, &c), 0);
	assert_int_equal(more_calls, 2);	/* serial 8: its own */
	n = run_dump(a);
	assert_true(n > 4);
	assert_int_equal(run_dump(b), n);
	assert_int_equal(run_dump(c), n);
	assert_int_equal(more_calls, 2);
	assert_int_equal(zdump_snapshots_made() - made, 2);
	zdump_free(a);
	zdump_free(b);
	zdump_free(c);
	assert_int_equal(zdump_new(v, z, 7, NOW, true, &a), 0);
	assert_int_equal(run_dump(a), n);
	assert_int_equal(more_calls, 3);	/* the last one freed it */
	zdump_free(a);
	zdump_more = NULL;
	view_unref(v);
}

/* the dynamic blocks now: counting_more's, then one more once added */
static bool more_added;

static int
growing_more(const struct view *v, const struct vzone *z, int family,
    time_t now, zdump_add_fn *add, void *ctx)
{
	static const uint8_t k[16] = { 10, 7, 7, 7 };
	int rc = counting_more(v, z, family, now, add, ctx);

	if (rc == 0 && more_added && family == AF_INET)
		rc = add(ctx, k, 32);
	return rc;
}

/*
 * A dump holds the dynamic blocks as they were when it started, at its
 * serial: one added while it runs (a new serial) is not in it.
 */
static void
test_snapshot_at_start(void **state)
{
	struct view *v;
	const struct vzone *z;
	struct zdump *a, *b;
	size_t n;

	(void)state;
	v = one_list_view("10.1.2.0/24 :127.0.0.2:block\n");
	z = view_zone(v, "zd.test");
	zdump_more = growing_more;
	more_added = false;
	assert_int_equal(zdump_new(v, z, 7, NOW, true, &a), 0);
	more_added = true;		/* serial 8 */
	assert_int_equal(zdump_new(v, z, 8, NOW, true, &b), 0);
	n = run_dump(a);
	assert_int_equal(run_dump(b), n + 1);
	zdump_free(a);
	zdump_free(b);
	zdump_more = NULL;
	more_added = false;
	view_unref(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hole_under_block),
		cmocka_unit_test(test_random_zones),
		cmocka_unit_test(test_names_under_wildcard),
		cmocka_unit_test(test_random_name_zones),
		cmocka_unit_test(test_shared_snapshot),
		cmocka_unit_test(test_snapshot_at_start),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
