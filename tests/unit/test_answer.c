/*
 * test_answer.c -- the answer builder end to end, without sockets: a real
 * config and real list files in a temp dir, query packets built by hand,
 * replies checked with ldns.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <ldns/ldns.h>

#include "answer.h"
#include "conf.h"
#include "dnsmsg.h"
#include "err.h"
#include "view.h"

#include "query_testlib.h"

/* the time queries are answered at: 2023-11-14 22:13:20 UTC */
#define NOW	((time_t)1700000000)

static struct view *view;

/*
 * put_many - addresses with many values: 192.0.2.20 has 20, 192.0.2.21
 * has MANY_N (distinct A and TXT), 192.0.2.22 has 50 with one A,
 * 192.0.2.23 has 5 A values with one TXT text, 192.0.2.24 three long
 * texts and a short one, 192.0.2.25 more values than one answer holds,
 * the last one with another A, 192.0.2.26 DUP_N distinct values given
 * twice each, the repeats interleaved. $TTL 5d.
 */
#define MANY_N	400
#define DUP_N	2000

static void
put_many(void)
{
	static char text[512 * 1024];
	size_t len = 0;
	int i;

	len += (size_t)snprintf(text + len, sizeof(text) - len,
	    "$TTL 5d\n");
	for (i = 0; i < 20; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "192.0.2.20 :127.0.0.%d:value %d for $\n", i + 2, i);
	for (i = 0; i < MANY_N; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "192.0.2.21 :127.0.%d.%d:value number %d for $\n",
		    i / 200, i % 200 + 2, i);
	for (i = 0; i < 50; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "192.0.2.22 :127.0.0.2:same a %d\n", i);
	for (i = 0; i < 5; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "192.0.2.23 :127.0.0.%d:same text\n", i + 2);
	for (i = 0; i < 3; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "192.0.2.24 :127.0.0.%d:long %0200d\n", i + 2, i);
	len += (size_t)snprintf(text + len, sizeof(text) - len,
	    "192.0.2.24 :127.0.0.9:short\n");
	for (i = 0; i < (int)ANSWER_MAX_VALS + 50; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "192.0.2.25 :127.0.0.%d:t%d\n",
		    i + 1 < (int)ANSWER_MAX_VALS + 50 ? 2 : 3, i);
	for (i = 0; i < 2 * DUP_N; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "192.0.2.26 :127.0.%d.%d:d%d\n", i / 2 % DUP_N / 200,
		    i / 2 % DUP_N % 200 + 2, i / 2 % DUP_N);
	assert_true(len < sizeof(text) - 1);
	put("many.ip4set", text);
}

static void
report(void *arg, const char *file, unsigned line, const char *msg)
{
	(void)arg;
	print_message("%s:%u: %s\n", file ? file : "-", line, msg);
}

/* view_report - view_report_fn: the same, whatever the severity */
static void
view_report(void *arg, enum list_severity sev, const char *file,
    unsigned line, const char *msg)
{
	(void)sev;
	report(arg, file, line, msg);
}

static int
setup(void **state)
{
	char conf[8192], path[256];
	struct conf *c;
	struct vconf *vc;

	(void)state;
	strcpy(dir, "/tmp/rblmux-answer.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	put("local.ip4set",
	    ":127.0.0.2:Listed: $\n"
	    "192.0.2.1\n"
	    "198.51.100.0/24 :3:Net $ listed\n"
	    "!198.51.100.7\n"
	    "203.0.113.9 :5:\n"
	    "192.0.2.31\n");
	put("other.ip4set", "192.0.2.1 :4:Other list\n192.0.2.2\n");
	put("allow.ip4set", "192.0.2.2\n198.51.100.8\n");
	put("six.ip6", ":127.0.0.9:v6 $\n2001:db8::/32\n!2001:db8::1\n");
	put("names.dn", ":127.0.0.7:name $\nbad.example\n.evil.example\n");
	put_many();
	put("exp.ip4set", "$TIMESTAMP 2020-01-01 +1d\n"
	    "192.0.2.30 :127.0.0.30:expired $\n192.0.2.1\n");
	put("allowexp.ip4set", "$TIMESTAMP 2020-01-01 +1d\n192.0.2.31\n");
	snprintf(conf, sizeof(conf),
	    "server:\n"
	    "  directory: %s\n"
	    "  ttl-min: 60\n"
	    "  ttl-max: 1d\n"
	    "  negative-ttl-max: 15m\n"
	    "local-list:\n  name: local\n  file: local.ip4set\n  ttl: 2100\n"
	    "local-list:\n  name: other\n  file: other.ip4set\n  weight: 3\n"
	    "local-list:\n  name: mynets\n  file: allow.ip4set\n  allow: yes\n"
	    "local-list:\n  name: six\n  type: ip6trie\n  file: six.ip6\n"
	    "local-list:\n  name: names\n  type: dnset\n  file: names.dn\n"
	    "zone:\n  name: all.test\n  answer: bitmask\n"
	    "  bit: 2 local\n  bit: 4 other\n  bit: 8 six\n  exempt: mynets\n"
	    "  soa: ns1.all.test. hostmaster.all.test. 3600 600 86400 300\n"
	    "  ns: ns1.all.test.\n"
	    "zone:\n  name: each.test\n  answer: each\n"
	    "  result: local 127.0.0.10\n  result: other\n"
	    "zone:\n  name: score.test\n  answer: score\n"
	    "  result: local\n  result: other\n  result: mynets\n"
	    "zone:\n  name: bl.test\n  serve: local\n"
	    "zone:\n  name: dbl.test\n  serve: names\n"
	    "local-list:\n  name: many\n  file: many.ip4set\n"
	    "zone:\n  name: many.test\n  serve: many\n"
	    "zone:\n  name: capped.test\n  serve: many\n  ttl-max: 1h\n"
	    "zone:\n  name: aggcap.test\n  answer: bitmask\n  bit: 2 many\n"
	    "  ttl-max: 30\n"
	    "local-list:\n  name: exp\n  file: exp.ip4set\n"
	    "local-list:\n  name: allowexp\n  file: allowexp.ip4set\n"
	    "  allow: yes\n"
	    "zone:\n  name: exp.test\n  serve: local exp\n"
	    "  soa: ns1.exp.test. hostmaster.exp.test. 3600 600 86400 300\n"
	    "  ns: ns1.exp.test.\n"
	    "zone:\n  name: aggexp.test\n  answer: bitmask\n"
	    "  bit: 2 exp\n  bit: 4 local\n  exempt: allowexp\n"
	    "upstream:\n  name: up\n  zone: up.example\n  weight: 2\n"
	    "zone:\n  name: mix.test\n  answer: bitmask\n"
	    "  bit: 2 local\n  bit: 16 up\n  exempt: mynets\n"
	    "zone:\n  name: mixeach.test\n  answer: each\n"
	    "  result: local\n  result: up\n"
	    "zone:\n  name: mixscore.test\n  answer: score\n"
	    "  result: local\n  result: up\n"
	    "upstream:\n  name: up2\n  zone: up2.example\n"
	    "zone:\n  name: mix2.test\n  answer: bitmask\n"
	    "  bit: 16 up\n  bit: 32 up2\n",
	    dir);
	put("rblmux.conf", conf);
	snprintf(path, sizeof(path), "%s/rblmux.conf", dir);
	if (conf_load(path, report, NULL, &c) != 0)
		return -1;
	vc = vconf_new(c);
	if (view_build(vc, NULL, view_report, NULL, &view) != 0)
		return -1;
	vconf_unref(vc);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	view_unref(view);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/*
 * ask_at - answer a query for name/type from v at time now, the reply
 * limited to limit bytes; returns the reply parsed by ldns
 */
static ldns_pkt *
ask_at(const struct view *v, const char *name, uint16_t type, int edns,
    size_t limit, time_t now, int *rcode)
{
	static uint8_t out[DNS_MAXMSG];
	uint8_t q[512];
	size_t len, n;
	struct dns_query dq;
	ldns_pkt *pkt = NULL;

	len = mkquery(q, name, type, edns);
	assert_int_equal(dnsmsg_parse_query(q, len, &dq), DNSMSG_OK);
	n = answer_query(v, &dq, q, len, now, out, sizeof(out), limit, rcode);
	assert_true(n >= 12 && n <= limit);
	assert_int_equal(ldns_wire2pkt(&pkt, out, n), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_id(pkt), 0xabcd);
	assert_true(ldns_pkt_qr(pkt));
	return pkt;
}

/* ask - answer a query for name/type; returns the reply parsed by ldns */
static ldns_pkt *
ask(const char *name, uint16_t type, int edns, int *rcode)
{
	return ask_at(view, name, type, edns, edns ? 1232 : 512, NOW, rcode);
}

struct acase {
	const char	*label;
	const char	*name;
	uint16_t	 type;
	int		 rcode;
	const char	*a[3];		/* expected A records, any order */
	const char	*txt;		/* expected TXT (joined), or NULL */
	int		 soa_auth;	/* SOA in authority expected */
	int		 aa;
};

static const struct acase cases[] = {
	{ "bitmask: one list", "1.2.0.192.all.test", DNS_TYPE_A, 0,
	    { "127.0.0.6" }, NULL, 0, 1 },
	{ "bitmask: range listed", "5.100.51.198.all.test", DNS_TYPE_A, 0,
	    { "127.0.0.2" }, NULL, 0, 1 },
	{ "bitmask: exclusion", "7.100.51.198.all.test", DNS_TYPE_A, 3,
	    { NULL }, NULL, 1, 1 },
	{ "bitmask: allowlist exempts", "2.2.0.192.all.test", DNS_TYPE_A, 3,
	    { NULL }, NULL, 1, 1 },
	{ "bitmask: allowlist over a range", "8.100.51.198.all.test",
	    DNS_TYPE_A, 3, { NULL }, NULL, 1, 1 },
	{ "bitmask: not listed", "9.9.9.192.all.test", DNS_TYPE_A, 3,
	    { NULL }, NULL, 1, 1 },
	{ "bitmask: TXT names every result", "1.2.0.192.all.test",
	    DNS_TYPE_TXT, 0, { NULL },
	    "local: Listed: 192.0.2.1; other: Other list", 0, 1 },
	{ "bitmask: entry without TXT", "9.113.0.203.all.test", DNS_TYPE_TXT,
	    0, { NULL }, "local: listed", 0, 1 },
	{ "bitmask: ANY is the A record", "1.2.0.192.all.test", DNS_TYPE_ANY,
	    0, { "127.0.0.6" }, NULL, 0, 1 },
	{ "bitmask: AAAA of a listed name: no data", "1.2.0.192.all.test",
	    DNS_TYPE_AAAA, 0, { NULL }, NULL, 1, 1 },
	{ "bitmask: IPv6 listed",
	    "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
	    "all.test", DNS_TYPE_A, 0, { "127.0.0.8" }, NULL, 0, 1 },
	{ "bitmask: IPv6 excluded",
	    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
	    "all.test", DNS_TYPE_A, 3, { NULL }, NULL, 1, 1 },
	{ "test point 127.0.0.2: every bit", "2.0.0.127.all.test",
	    DNS_TYPE_A, 0, { "127.0.0.14" }, NULL, 0, 1 },
	{ "test point 127.0.0.1: never", "1.0.0.127.all.test", DNS_TYPE_A, 3,
	    { NULL }, NULL, 1, 1 },
	{ "test point ::ffff:7f00:2",
	    "2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "all.test", DNS_TYPE_A, 0, { "127.0.0.14" }, NULL, 0, 1 },
	{ "test point name test", "test.all.test", DNS_TYPE_A, 0,
	    { "127.0.0.14" }, NULL, 0, 1 },
	{ "test point name invalid", "invalid.all.test", DNS_TYPE_A, 3,
	    { NULL }, NULL, 1, 1 },
	{ "apex SOA", "all.test", DNS_TYPE_SOA, 0, { NULL }, NULL, 0, 1 },
	{ "apex A: no data", "all.test", DNS_TYPE_A, 0, { NULL }, NULL, 1, 1 },
	{ "apex NS", "all.test", DNS_TYPE_NS, 0, { NULL }, NULL, 0, 1 },
	{ "apex AAAA: no data", "all.test", DNS_TYPE_AAAA, 0, { NULL }, NULL,
	    1, 1 },
	{ "serve: apex SOA", "bl.test", DNS_TYPE_SOA, 0, { NULL }, NULL, 0,
	    1 },
	{ "serve: AAAA of a listed name: no data", "5.100.51.198.bl.test",
	    DNS_TYPE_AAAA, 0, { NULL }, NULL, 1, 1 },
	{ "empty non-terminal, 3 labels", "2.0.192.all.test", DNS_TYPE_A, 0,
	    { NULL }, NULL, 1, 1 },
	{ "empty non-terminal, 1 label", "192.all.test", DNS_TYPE_A, 0,
	    { NULL }, NULL, 1, 1 },
	{ "empty non-terminal, nibbles", "0.1.0.0.2.all.test", DNS_TYPE_A, 0,
	    { NULL }, NULL, 1, 1 },
	{ "garbage label: NXDOMAIN", "foo.all.test", DNS_TYPE_A, 3,
	    { NULL }, NULL, 1, 1 },
	{ "five numeric labels: NXDOMAIN", "1.1.2.0.192.all.test", DNS_TYPE_A,
	    3, { NULL }, NULL, 1, 1 },
	{ "subzone: one result, its own value", "1.2.0.192.other.all.test",
	    DNS_TYPE_A, 0, { "127.0.0.4" }, NULL, 0, 1 },
	{ "subzone: TXT of that result", "1.2.0.192.other.all.test",
	    DNS_TYPE_TXT, 0, { NULL }, "Other list", 0, 1 },
	{ "subzone: not listed there", "5.100.51.198.other.all.test",
	    DNS_TYPE_A, 3, { NULL }, NULL, 1, 1 },
	{ "subzone: empty non-terminal", "other.all.test", DNS_TYPE_A, 0,
	    { NULL }, NULL, 1, 1 },
	{ "subzone: partial address", "2.0.192.local.all.test", DNS_TYPE_A, 0,
	    { NULL }, NULL, 1, 1 },
	{ "each: configured and own values", "1.2.0.192.each.test",
	    DNS_TYPE_A, 0, { "127.0.0.10", "127.0.0.4" }, NULL, 0, 1 },
	{ "score: weights add up", "1.2.0.192.score.test", DNS_TYPE_A, 0,
	    { "127.0.0.4" }, NULL, 0, 1 },
	{ "score: allowlist weight is negative", "2.2.0.192.score.test",
	    DNS_TYPE_A, 0, { "127.0.0.2" }, NULL, 0, 1 },
	{ "serve: own value", "5.100.51.198.bl.test", DNS_TYPE_A, 0,
	    { "127.0.0.3" }, NULL, 0, 1 },
	{ "serve: own TXT with $", "5.100.51.198.bl.test", DNS_TYPE_TXT, 0,
	    { NULL }, "Net 198.51.100.5 listed", 0, 1 },
	{ "serve: not listed", "1.1.1.10.bl.test", DNS_TYPE_A, 3, { NULL },
	    NULL, 1, 1 },
	{ "serve: test point not in the list", "2.0.0.127.bl.test",
	    DNS_TYPE_A, 0, { "127.0.0.2" }, NULL, 0, 1 },
	{ "dnset: exact", "bad.example.dbl.test", DNS_TYPE_A, 0,
	    { "127.0.0.7" }, NULL, 0, 1 },
	{ "dnset: subdomain of exact is not listed", "x.bad.example.dbl.test",
	    DNS_TYPE_A, 3, { NULL }, NULL, 1, 1 },
	{ "dnset: .wildcard covers the domain", "evil.example.dbl.test",
	    DNS_TYPE_A, 0, { "127.0.0.7" }, NULL, 0, 1 },
	{ "dnset: .wildcard covers subdomains, $ is the entry", "a.b.evil.example.dbl.test",
	    DNS_TYPE_TXT, 0, { NULL }, "name evil.example", 0, 1 },
	{ "dnset: parent is an empty non-terminal", "example.dbl.test",
	    DNS_TYPE_A, 0, { NULL }, NULL, 1, 1 },
	{ "outside every zone: REFUSED", "1.2.0.192.example.org", DNS_TYPE_A,
	    5, { NULL }, NULL, 0, 0 },
	{ "case does not matter", "1.2.0.192.ALL.Test", DNS_TYPE_A, 0,
	    { "127.0.0.6" }, NULL, 0, 1 },
};

/* check_case - one labelled expectation */
static void
check_case(const struct acase *c, int edns)
{
	ldns_rr_list *an, *ns;
	ldns_pkt *pkt;
	int rcode, i, want_a = 0, want_an, want_type;
	size_t k;
	char txt[2048];

	pkt = ask(c->name, c->type, edns, &rcode);
	if ((int)ldns_pkt_get_rcode(pkt) != c->rcode || rcode != c->rcode)
		fail_msg("%s: rcode %d, want %d", c->label,
		    ldns_pkt_get_rcode(pkt), c->rcode);
	if ((int)ldns_pkt_aa(pkt) != c->aa)
		fail_msg("%s: AA %d, want %d", c->label, ldns_pkt_aa(pkt),
		    c->aa);
	an = ldns_pkt_answer(pkt);
	ns = ldns_pkt_authority(pkt);
	for (i = 0; i < 3 && c->a[i] != NULL; i++)
		want_a++;
	/* the answer section holds exactly the records asked for */
	want_an = c->type == DNS_TYPE_A || c->type == DNS_TYPE_ANY ? want_a :
	    c->type == DNS_TYPE_TXT ? c->txt != NULL :
	    (c->type == DNS_TYPE_SOA || c->type == DNS_TYPE_NS) &&
	    c->rcode == 0 && !c->soa_auth;
	want_type = c->type == DNS_TYPE_ANY ? DNS_TYPE_A : c->type;
	if ((int)ldns_rr_list_rr_count(an) != want_an)
		fail_msg("%s: %zu answers, want %d", c->label,
		    ldns_rr_list_rr_count(an), want_an);
	for (k = 0; k < ldns_rr_list_rr_count(an); k++)
		if ((int)ldns_rr_get_type(ldns_rr_list_rr(an, k)) != want_type)
			fail_msg("%s: answer of type %d, want %d", c->label,
			    ldns_rr_get_type(ldns_rr_list_rr(an, k)),
			    want_type);
	if (!c->soa_auth && ldns_rr_list_rr_count(ns) != 0)
		fail_msg("%s: %zu authority records, want none", c->label,
		    ldns_rr_list_rr_count(ns));
	if (c->type == DNS_TYPE_A || c->type == DNS_TYPE_ANY) {
		for (i = 0; i < want_a; i++) {
			int found = 0;

			for (k = 0; k < ldns_rr_list_rr_count(an); k++) {
				ldns_rr *rr = ldns_rr_list_rr(an, k);
				char *s;

				if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_A)
					continue;
				s = ldns_rdf2str(ldns_rr_rdf(rr, 0));
				found |= strcmp(s, c->a[i]) == 0;
				free(s);
			}
			if (!found)
				fail_msg("%s: no A %s", c->label, c->a[i]);
		}
	}
	if (c->txt != NULL) {
		size_t len = 0, j;
		ldns_rr *rr;

		if (ldns_rr_list_rr_count(an) != 1)
			fail_msg("%s: %zu TXT records", c->label,
			    ldns_rr_list_rr_count(an));
		rr = ldns_rr_list_rr(an, 0);
		for (j = 0; j < ldns_rr_rd_count(rr); j++) {
			ldns_rdf *rd = ldns_rr_rdf(rr, j);
			size_t l = ldns_rdf_data(rd)[0];

			memcpy(txt + len, ldns_rdf_data(rd) + 1, l);
			len += l;
		}
		txt[len] = '\0';
		if (strcmp(txt, c->txt) != 0)
			fail_msg("%s: TXT \"%s\", want \"%s\"", c->label, txt,
			    c->txt);
	}
	if (c->soa_auth) {
		if (ldns_rr_list_rr_count(ns) != 1 ||
		    ldns_rr_get_type(ldns_rr_list_rr(ns, 0)) != LDNS_RR_TYPE_SOA)
			fail_msg("%s: no SOA in authority", c->label);
	}
	ldns_pkt_free(pkt);
}

static void
table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		check_case(&cases[i], 0);
		check_case(&cases[i], 1);
	}
}

/* negative answers carry the SOA with the negative TTL */
static void
negative_ttl(void **state)
{
	ldns_pkt *pkt;
	ldns_rr *soa;
	int rcode;

	(void)state;
	pkt = ask("9.9.9.192.all.test", DNS_TYPE_A, 0, &rcode);
	soa = ldns_rr_list_rr(ldns_pkt_authority(pkt), 0);
	assert_non_null(soa);
	assert_int_equal(ldns_rr_ttl(soa), 300);
	ldns_pkt_free(pkt);
}

/* the A answer TTL is the list's, clamped into ttl-min..ttl-max */
static void
answer_ttl(void **state)
{
	ldns_pkt *pkt;
	int rcode;

	(void)state;
	pkt = ask("1.2.0.192.all.test", DNS_TYPE_A, 0, &rcode);
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(pkt), 0)),
	    2100);
	ldns_pkt_free(pkt);
}

/* rdf_is - the text form of field i of rr is want */
static void
rdf_is(const ldns_rr *rr, size_t i, const char *want)
{
	char *s = ldns_rdf2str(ldns_rr_rdf(rr, i));

	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
}

/* owner_is - the owner name of rr is want */
static void
owner_is(const ldns_rr *rr, const char *want)
{
	char *s = ldns_rdf2str(ldns_rr_owner(rr));

	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
}

/*
 * check_soa - rr is the SOA of all.test (or exp.test) as configured:
 * ns1.ZONE. hostmaster.ZONE. 3600 600 86400 300, TTL ttl, owner the apex
 */
static void
check_soa(const ldns_rr *rr, const char *zone, uint32_t ttl)
{
	char want[128];

	assert_non_null(rr);
	assert_int_equal(ldns_rr_get_type(rr), LDNS_RR_TYPE_SOA);
	snprintf(want, sizeof(want), "%s.", zone);
	owner_is(rr, want);
	assert_int_equal(ldns_rr_ttl(rr), ttl);
	snprintf(want, sizeof(want), "ns1.%s.", zone);
	rdf_is(rr, 0, want);
	snprintf(want, sizeof(want), "hostmaster.%s.", zone);
	rdf_is(rr, 1, want);
	/* RFC 1982 serial: the newest list file, so never 0 */
	assert_true(ldns_rdf2native_int32(ldns_rr_rdf(rr, 2)) != 0);
	assert_int_equal(ldns_rdf2native_int32(ldns_rr_rdf(rr, 3)), 3600);
	assert_int_equal(ldns_rdf2native_int32(ldns_rr_rdf(rr, 4)), 600);
	assert_int_equal(ldns_rdf2native_int32(ldns_rr_rdf(rr, 5)), 86400);
	assert_int_equal(ldns_rdf2native_int32(ldns_rr_rdf(rr, 6)), 300);
}

/* SOA at the apex: the answer is the SOA alone, with every field */
static void
apex_soa(void **state)
{
	ldns_pkt *pkt;
	int rcode, edns;

	(void)state;
	for (edns = 0; edns < 2; edns++) {
		pkt = ask("all.test", DNS_TYPE_SOA, edns, &rcode);
		assert_int_equal(rcode, DNS_RCODE_NOERROR);
		assert_true(ldns_pkt_aa(pkt));
		assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(pkt)), 1);
		/* soa-ttl defaults to the SOA minimum */
		check_soa(ldns_rr_list_rr(ldns_pkt_answer(pkt), 0), "all.test",
		    300);
		assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_authority(pkt)),
		    0);
		ldns_pkt_free(pkt);
	}
}

/* NS at the apex: the configured name alone */
static void
apex_ns(void **state)
{
	ldns_pkt *pkt;
	ldns_rr *rr;
	int rcode;

	(void)state;
	pkt = ask("all.test", DNS_TYPE_NS, 0, &rcode);
	assert_int_equal(rcode, DNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(pkt));
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(pkt)), 1);
	rr = ldns_rr_list_rr(ldns_pkt_answer(pkt), 0);
	assert_int_equal(ldns_rr_get_type(rr), LDNS_RR_TYPE_NS);
	owner_is(rr, "all.test.");
	assert_int_equal(ldns_rr_ttl(rr), 300);
	rdf_is(rr, 0, "ns1.all.test.");
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_authority(pkt)), 0);
	ldns_pkt_free(pkt);
}

/* AAAA of a listed name: no answer records, the zone's SOA in authority */
static void
nodata_aaaa(void **state)
{
	static const char *const names[] = { "1.2.0.192.all.test",
	    "1.2.0.192.other.all.test", "2.0.0.127.all.test", "all.test" };
	ldns_pkt *pkt;
	size_t i;
	int rcode;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		pkt = ask(names[i], DNS_TYPE_AAAA, 1, &rcode);
		assert_int_equal(rcode, DNS_RCODE_NOERROR);
		assert_int_equal(ldns_pkt_get_rcode(pkt), LDNS_RCODE_NOERROR);
		assert_true(ldns_pkt_aa(pkt));
		assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(pkt)), 0);
		assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_authority(pkt)),
		    1);
		check_soa(ldns_rr_list_rr(ldns_pkt_authority(pkt), 0),
		    "all.test", 300);
		ldns_pkt_free(pkt);
	}
}

/* rr_a - the A value of answer record i, host order */
static uint32_t
rr_a(const ldns_pkt *pkt, size_t i)
{
	const ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(pkt), i);

	assert_int_equal(ldns_rr_get_type(rr), LDNS_RR_TYPE_A);
	return ldns_rdf2native_int32(ldns_rr_rdf(rr, 0));
}

/* rr_txt - the text of TXT answer record i (one string) */
static const char *
rr_txt(const ldns_pkt *pkt, size_t i)
{
	static char buf[256];
	const ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(pkt), i);
	const uint8_t *d;

	assert_int_equal(ldns_rr_get_type(rr), LDNS_RR_TYPE_TXT);
	assert_int_equal(ldns_rr_rd_count(rr), 1);
	d = ldns_rdf_data(ldns_rr_rdf(rr, 0));
	memcpy(buf, d + 1, d[0]);
	buf[d[0]] = '\0';
	return buf;
}

/* many_a - the i-th A value of 192.0.2.21 in many.ip4set */
static uint32_t
many_a(size_t i)
{
	return 0x7f000000U | (uint32_t)(i / 200) << 8 | (uint32_t)(i % 200 + 2);
}

/*
 * expect_all - over TCP, name answers its first n values in file order
 * and nothing more: A values many_a(i), TXT texts fmt with i; TTL 5d
 */
static void
expect_all(const char *name, uint16_t type, size_t n, const char *fmt)
{
	char want[64];
	ldns_pkt *pkt;
	size_t i;
	int rcode;

	pkt = ask_at(view, name, type, 0, DNS_MAXMSG, NOW, &rcode);
	assert_false(ldns_pkt_tc(pkt));
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(pkt)), n);
	for (i = 0; i < n; i++) {
		if (type == DNS_TYPE_A) {
			assert_int_equal(rr_a(pkt, i), many_a(i));
			continue;
		}
		snprintf(want, sizeof(want), fmt, i);
		assert_string_equal(rr_txt(pkt, i), want);
	}
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(pkt), 0)),
	    432000);
	ldns_pkt_free(pkt);
}

/* a served zone answers every value of an address, in file order */
static void
many_values(void **state)
{
	char want[64];
	ldns_pkt *pkt;
	size_t i, n, fit;
	int rcode;

	(void)state;
	/* 20 values: every A fits in 512 bytes, every TXT in 1232 */
	pkt = ask("20.2.0.192.many.test", DNS_TYPE_A, 0, &rcode);
	assert_false(ldns_pkt_tc(pkt));
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(pkt)), 20);
	for (i = 0; i < 20; i++)
		assert_int_equal(rr_a(pkt, i), 0x7f000002U + i);
	ldns_pkt_free(pkt);
	pkt = ask("20.2.0.192.many.test", DNS_TYPE_TXT, 1, &rcode);
	assert_false(ldns_pkt_tc(pkt));
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(pkt)), 20);
	for (i = 0; i < 20; i++) {
		snprintf(want, sizeof(want), "value %zu for 192.0.2.20", i);
		assert_string_equal(rr_txt(pkt, i), want);
	}
	ldns_pkt_free(pkt);

	/* 20 TXT in 512 bytes: those that fit, then TC */
	pkt = ask("20.2.0.192.many.test", DNS_TYPE_TXT, 0, &rcode);
	assert_true(ldns_pkt_tc(pkt));
	assert_true(ldns_pkt_aa(pkt));
	assert_int_equal(rcode, DNS_RCODE_NOERROR);
	/* 38 bytes of header and question, 35 or 36 per record */
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(pkt)), 13);
	for (i = 0; i < 13; i++) {
		snprintf(want, sizeof(want), "value %zu for 192.0.2.20", i);
		assert_string_equal(rr_txt(pkt, i), want);
	}
	ldns_pkt_free(pkt);

	/* MANY_N values: over UDP as many as fit, in order, and TC */
	for (n = 512; n <= 1232; n += 720) {
		pkt = ask_at(view, "21.2.0.192.many.test", DNS_TYPE_A,
		    n > 512, n, NOW, &rcode);
		fit = (n - 38 - (n > 512 ? DNS_OPT_LEN : 0)) / 16;
		assert_true(ldns_pkt_tc(pkt));
		assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(pkt)),
		    fit);
		for (i = 0; i < fit; i++)
			assert_int_equal(rr_a(pkt, i), many_a(i));
		ldns_pkt_free(pkt);
	}
	/* and all of them over TCP */
	expect_all("21.2.0.192.many.test", DNS_TYPE_A, MANY_N, NULL);
	expect_all("21.2.0.192.many.test", DNS_TYPE_TXT, MANY_N,
	    "value number %zu for 192.0.2.21");

	/* equal records once: 50 values with one A, 5 with one text */
	pkt = ask_at(view, "22.2.0.192.many.test", DNS_TYPE_A, 0, DNS_MAXMSG,
	    NOW, &rcode);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(pkt)), 1);
	assert_int_equal(rr_a(pkt, 0), 0x7f000002U);
	ldns_pkt_free(pkt);
	pkt = ask_at(view, "22.2.0.192.many.test", DNS_TYPE_TXT, 0, DNS_MAXMSG,
	    NOW, &rcode);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(pkt)), 50);
	assert_string_equal(rr_txt(pkt, 49), "same a 49");
	ldns_pkt_free(pkt);
	pkt = ask("23.2.0.192.many.test", DNS_TYPE_A, 0, &rcode);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(pkt)), 5);
	ldns_pkt_free(pkt);
	pkt = ask("23.2.0.192.many.test", DNS_TYPE_TXT, 0, &rcode);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(pkt)), 1);
	assert_string_equal(rr_txt(pkt, 0), "same text");
	ldns_pkt_free(pkt);

	/* thousands of values, each twice: every one once, in file order */
	expect_all("26.2.0.192.many.test", DNS_TYPE_A, DUP_N, NULL);
	expect_all("26.2.0.192.many.test", DNS_TYPE_TXT, DUP_N, "d%zu");

	/* more values than one answer holds: the answer says it is partial */
	pkt = ask_at(view, "25.2.0.192.many.test", DNS_TYPE_A, 0, DNS_MAXMSG,
	    NOW, &rcode);
	assert_true(ldns_pkt_tc(pkt));
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(pkt)), 1);
	ldns_pkt_free(pkt);

	/* as rbldnsd: a shorter record after one that did not fit goes in */
	pkt = ask("24.2.0.192.many.test", DNS_TYPE_TXT, 0, &rcode);
	assert_true(ldns_pkt_tc(pkt));
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(pkt)), 3);
	assert_int_equal(strncmp(rr_txt(pkt, 1), "long 0", 6), 0);
	assert_string_equal(rr_txt(pkt, 2), "short");
	ldns_pkt_free(pkt);
}

/* a zone's ttl-max caps the list's $TTL; without it serve: keeps it */
static void
zone_ttl_max(void **state)
{
	static const struct { const char *name; uint16_t type; uint32_t ttl; }
	    t[] = {
		{ "20.2.0.192.many.test", DNS_TYPE_A, 432000 },
		{ "20.2.0.192.capped.test", DNS_TYPE_A, 3600 },
		{ "20.2.0.192.capped.test", DNS_TYPE_TXT, 3600 },
		{ "2.0.0.127.capped.test", DNS_TYPE_A, 60 },
		/* ttl-max below ttl-min: ttl-max wins */
		{ "20.2.0.192.aggcap.test", DNS_TYPE_A, 30 },
		{ "20.2.0.192.many.aggcap.test", DNS_TYPE_A, 30 },
	};
	ldns_pkt *pkt;
	size_t i, k;
	int rcode;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		pkt = ask(t[i].name, t[i].type, 1, &rcode);
		assert_int_equal(rcode, DNS_RCODE_NOERROR);
		assert_true(ldns_rr_list_rr_count(ldns_pkt_answer(pkt)) > 0);
		for (k = 0; k < ldns_rr_list_rr_count(ldns_pkt_answer(pkt));
		    k++)
			if (ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(pkt),
			    k)) != t[i].ttl)
				fail_msg("%s: TTL %u, want %u", t[i].name,
				    ldns_rr_ttl(ldns_rr_list_rr(
				    ldns_pkt_answer(pkt), k)), t[i].ttl);
		ldns_pkt_free(pkt);
	}
}

/* exp.ip4set: $TIMESTAMP 2020-01-01 +1d */
#define EXPIRES		((time_t)1577923200)	/* 2020-01-02 00:00:00 */

/* expect_servfail - the whole reply is a bare SERVFAIL */
static void
expect_servfail(const char *name, uint16_t type, int edns, time_t now)
{
	ldns_pkt *pkt;
	int rcode;

	pkt = ask_at(view, name, type, edns, 1232, now, &rcode);
	if (rcode != DNS_RCODE_SERVFAIL ||
	    ldns_pkt_get_rcode(pkt) != LDNS_RCODE_SERVFAIL)
		fail_msg("%s type %u: rcode %d, want SERVFAIL", name, type,
		    rcode);
	assert_false(ldns_pkt_aa(pkt));
	assert_int_equal(ldns_pkt_qdcount(pkt), 1);
	assert_int_equal(ldns_pkt_ancount(pkt), 0);
	assert_int_equal(ldns_pkt_nscount(pkt), 0);
	assert_int_equal(ldns_pkt_edns(pkt) ? 1 : 0, edns);
	ldns_pkt_free(pkt);
}

/* expect_a - name answers NOERROR with the one A record a, or NXDOMAIN */
static void
expect_a(const char *name, time_t now, uint32_t a)
{
	ldns_pkt *pkt;
	int rcode;

	pkt = ask_at(view, name, DNS_TYPE_A, 0, 512, now, &rcode);
	if (a == 0) {
		if (rcode != DNS_RCODE_NXDOMAIN)
			fail_msg("%s at %lld: rcode %d, want NXDOMAIN", name,
			    (long long)now, rcode);
	} else {
		if (rcode != DNS_RCODE_NOERROR ||
		    ldns_rr_list_rr_count(ldns_pkt_answer(pkt)) != 1 ||
		    rr_a(pkt, 0) != a)
			fail_msg("%s at %lld: rcode %d, %zu answers, want %08x",
			    name, (long long)now, rcode,
			    ldns_rr_list_rr_count(ldns_pkt_answer(pkt)), a);
	}
	ldns_pkt_free(pkt);
}

/*
 * decide_text - what zone z decides at time now for a subject typed as
 * text (rblmuxctl lookup); returns whether it is listed
 */
static struct answer_work wk;

static int
decide_text(const struct vzone *z, const char *text, time_t now,
    struct answer_state *st, struct merge_out *merged, char *txt,
    size_t txtcap)
{
	struct merge_hit hits[ANSWER_MAX_SRC];
	size_t nhits;

	assert_non_null(z);
	assert_int_equal(answer_subject_parse(z, text, &wk.s), 0);
	answer_decide_subject(view, z, now, 0, st, &wk);
	return answer_merge(view, st, &wk, txt != NULL, txt, txtcap, hits,
	    &nhits, merged);
}

/* a serve: zone over expired data answers SERVFAIL to every name */
static void
expired_serve(void **state)
{
	static const char *const names[] = { "30.2.0.192.exp.test",
	    "1.2.0.192.exp.test", "200.113.0.203.exp.test", "exp.test",
	    "2.0.0.127.exp.test", "1.0.0.127.exp.test", "2.0.192.exp.test",
	    "foo.exp.test" };
	static const uint16_t types[] = { DNS_TYPE_A, DNS_TYPE_TXT,
	    DNS_TYPE_SOA, DNS_TYPE_NS, DNS_TYPE_ANY, DNS_TYPE_AAAA };
	const struct vzone *z = view_zone(view, "exp.test");
	struct answer_state st;
	struct merge_out merged;
	ldns_pkt *pkt;
	size_t i, k;
	int rcode;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
			expect_servfail(names[i], types[k], 0, NOW);
			expect_servfail(names[i], types[k], 1, EXPIRES + 1);
		}
	/* up to its expiry the data answers */
	expect_a("30.2.0.192.exp.test", EXPIRES, 0x7f00001eU);
	expect_a("1.2.0.192.exp.test", EXPIRES - 3600, 0x7f000002U);
	expect_a("200.113.0.203.exp.test", EXPIRES, 0);
	pkt = ask_at(view, "exp.test", DNS_TYPE_SOA, 0, 512, EXPIRES, &rcode);
	assert_int_equal(rcode, DNS_RCODE_NOERROR);
	check_soa(ldns_rr_list_rr(ldns_pkt_answer(pkt), 0), "exp.test", 300);
	ldns_pkt_free(pkt);

	/* rblmuxctl lookup sees it too */
	assert_int_equal(decide_text(z, "192.0.2.30", NOW, &st, &merged, NULL,
	    0), 0);
	assert_int_equal(st.kind, ANSWER_SERVFAIL);
	assert_int_equal(decide_text(z, "192.0.2.30", EXPIRES, &st, &merged,
	    NULL, 0), 1);
	assert_int_equal(st.kind, ANSWER_SUBJECT);
}

/* in an aggregate zone an expired list (or allowlist) counts for nothing */
static void
expired_aggregate(void **state)
{
	const struct vzone *z = view_zone(view, "aggexp.test");
	struct answer_state st;
	struct merge_out merged;
	size_t i;

	(void)state;
	/* exp (bit 2) lists .30 and .1; local (bit 4) lists .1 and .31 */
	expect_a("30.2.0.192.aggexp.test", NOW, 0);
	expect_a("30.2.0.192.aggexp.test", EXPIRES, 0x7f000002U);
	expect_a("1.2.0.192.aggexp.test", NOW, 0x7f000004U);
	expect_a("1.2.0.192.aggexp.test", EXPIRES, 0x7f000006U);
	/* the expired allowlist exempts nothing any more */
	expect_a("31.2.0.192.aggexp.test", NOW, 0x7f000004U);
	expect_a("31.2.0.192.aggexp.test", EXPIRES, 0);
	/* the subzone of an expired list: nothing listed */
	expect_a("30.2.0.192.exp.aggexp.test", NOW, 0);
	expect_a("30.2.0.192.exp.aggexp.test", EXPIRES, 0x7f00001eU);

	assert_int_equal(decide_text(z, "192.0.2.1", NOW, &st, &merged, NULL,
	    0), 1);
	assert_int_equal(st.kind, ANSWER_SUBJECT);
	assert_int_equal(st.nsrc, z->nsrc);
	for (i = 0; i < st.nsrc; i++)
		assert_int_equal(st.src[i].status == ASRC_EXPIRED,
		    strcmp(z->src[i].name, "exp") == 0);
	for (i = 0; i < view->nlists; i++)
		assert_int_equal(view_list_expired(view->lists[i], NOW),
		    strncmp(view->lists[i]->name, "exp", 3) == 0 ||
		    strcmp(view->lists[i]->name, "allowexp") == 0 ?
		    EXPIRES : 0);
	assert_int_equal(view_list_expired(view->lists[0], EXPIRES), 0);
}

/*
 * ref_zone - the zone holding name by a scan of every zone: the longest
 * apex that is the name or a suffix of it at a label boundary
 */
static const struct vzone *
ref_zone(const struct view *v, const char *name)
{
	const struct vzone *best = NULL;
	size_t i, nl = strlen(name);

	for (i = 0; i < v->nzones; i++) {
		const struct vzone *z = &v->zones[i];
		size_t zl = strlen(z->name);

		if (zl > nl || strcasecmp(name + nl - zl, z->name) != 0 ||
		    (zl < nl && name[nl - zl - 1] != '.'))
			continue;
		if (best == NULL || z->apex_labels > best->apex_labels)
			best = z;
	}
	return best;
}

/* find - answer_find_zone for a name; checks view_zone on the way */
static const struct vzone *
find(const struct view *v, const char *name)
{
	uint8_t q[512];
	struct dns_query dq;
	size_t len = mkquery(q, name, DNS_TYPE_A, 0);

	assert_int_equal(dnsmsg_parse_query(q, len, &dq), DNSMSG_OK);
	return answer_find_zone(v, &dq);
}

#define NZONES	10000

/*
 * 10,000 zones, some nested: each name finds the zone with the longest
 * apex that holds it, as a scan of every zone does
 */
static void
many_zones(void **state)
{
	static const char *const extra[] = { "many.example", "example",
	    "deep.z7.many.example", "a.b.c.deep.z7.many.example",
	    "z9999.many.example.org" };
	static const char *const names[] = { "example", "many.example",
	    "x.many.example", "z7x.many.example", "az7.many.example",
	    "7.many.example", "z7.many.example", "1.2.0.192.z7.many.example",
	    "deep.z7.many.example", "x.deep.z7.many.example",
	    "c.deep.z7.many.example", "b.c.deep.z7.many.example",
	    "a.b.c.deep.z7.many.example", "9.a.b.c.deep.z7.many.example",
	    "Z123.MANY.Example", "other.example", "org", "example.org",
	    "many.example.org", "z9999.many.example.org",
	    "x.z9999.many.example.org", "z9999.many.example", "com",
	    "z10000.many.example" };
	static char conf[NZONES * 48 + 4096];
	char path[300], name[128];
	struct conf *c;
	struct vconf *vc;
	struct view *v;
	size_t len = 0, i;

	(void)state;
	len += (size_t)snprintf(conf + len, sizeof(conf) - len,
	    "server:\n directory: %s\n"
	    "local-list:\n name: local\n file: local.ip4set\n", dir);
	for (i = 0; i < NZONES; i++)
		len += (size_t)snprintf(conf + len, sizeof(conf) - len,
		    "zone:\n name: z%zu.many.example\n serve: local\n", i);
	for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
		len += (size_t)snprintf(conf + len, sizeof(conf) - len,
		    "zone:\n name: %s\n serve: local\n", extra[i]);
	assert_true(len < sizeof(conf) - 1);
	put("zones.conf", conf);
	snprintf(path, sizeof(path), "%s/zones.conf", dir);
	assert_int_equal(conf_load(path, report, NULL, &c), 0);
	vc = vconf_new(c);
	assert_int_equal(view_build(vc, NULL, view_report, NULL, &v), 0);
	vconf_unref(vc);
	assert_int_equal(v->nzones, NZONES + 5);

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (find(v, names[i]) != ref_zone(v, names[i]))
			fail_msg("%s: zone %s, want %s", names[i],
			    find(v, names[i]) ? find(v, names[i])->name : "-",
			    ref_zone(v, names[i]) ? ref_zone(v, names[i])->name :
			    "-");
	assert_string_equal(find(v, "9.a.b.c.deep.z7.many.example")->name,
	    "a.b.c.deep.z7.many.example");
	assert_string_equal(find(v, "c.deep.z7.many.example")->name,
	    "deep.z7.many.example");
	assert_string_equal(find(v, "z7x.many.example")->name,
	    "many.example");
	assert_null(find(v, "org"));

	/* every zone: its apex, a name below it, and by name */
	for (i = 0; i < v->nzones; i++) {
		const struct vzone *z = &v->zones[i];

		snprintf(name, sizeof(name), "1.2.0.192.%s", z->name);
		if (find(v, z->name) != z || find(v, name) != z ||
		    view_zone(v, z->name) != z)
			fail_msg("zone %s not found", z->name);
	}
	assert_ptr_equal(view_zone(v, "Z42.Many.Example."), &v->zones[42]);
	assert_null(view_zone(v, "z42.many"));
	assert_null(view_zone(v, "x.z42.many.example"));
	assert_null(view_zone(v, ""));
	view_unref(v);
}

/* verdict for an operator-typed subject (rblmuxctl lookup) */
static void
verdict_text(void **state)
{
	const struct vzone *z = view_zone(view, "all.test");
	struct answer_state st;
	struct merge_out merged;
	struct subject s;
	char txt[1024];

	(void)state;
	assert_int_equal(decide_text(z, "192.0.2.1", NOW, &st, &merged, txt,
	    sizeof(txt)), 1);
	assert_int_equal(merged.a[0], 0x7f000006U);
	assert_int_equal(decide_text(z, "192.0.2.2", NOW, &st, &merged, txt,
	    sizeof(txt)), 0);
	assert_int_not_equal(st.exempted_by, 0);
	assert_int_equal(answer_subject_parse(z, "2001:db8::5", &s), 0);
	assert_int_equal(s.kind, SUBJ_IP6);
	assert_int_equal(answer_subject_parse(z, "Evil.Example.", &s), 0);
	assert_string_equal(s.name, "evil.example");
}

/* the upstream source "up" is source 1 of the mix zones */
#define UP_SRC	1

/* decide_query - step 1 for name/type into *st (the query into q, *dq) */
static uint64_t
decide_query(const char *name, uint16_t type, int edns, time_t now,
    uint8_t *q, size_t *len, struct dns_query *dq, struct answer_state *st)
{
	*len = mkquery(q, name, type, edns);
	assert_int_equal(dnsmsg_parse_query(q, *len, dq), DNSMSG_OK);
	return answer_decide(view, dq, now, st, &wk);
}

/*
 * split_at - answer name/type in three steps as a query that waited:
 * decide, keep only a copy of the state, complete each missing source
 * with res (NULL: leave them missing), write without the decide step's
 * work space.
 * Returns the reply length in out.
 */
static size_t
split_at(const char *name, uint16_t type, int edns, size_t limit,
    time_t now, const struct answer_result *res, uint8_t *out, int *rcode)
{
	struct answer_state st, kept;
	struct dns_query dq;
	uint8_t q[512];
	size_t i, len;
	uint64_t missing;

	missing = decide_query(name, type, edns, now, q, &len, &dq, &st);
	memcpy(&kept, &st, sizeof(kept));
	memset(&st, 0xa5, sizeof(st));
	memset(&wk, 0xa5, sizeof(wk));
	for (i = 0; i < 64 && res != NULL; i++)
		if (missing >> i & 1)
			assert_int_equal(answer_complete(&kept, i, res), 0);
	return answer_write(view, &dq, q, len, &kept, NULL, out, DNS_MAXMSG,
	    limit, rcode);
}

/* ask_split - split_at() with the reply parsed by ldns */
static ldns_pkt *
ask_split(const char *name, uint16_t type, const struct answer_result *res,
    int *rcode)
{
	static uint8_t out[DNS_MAXMSG];
	ldns_pkt *pkt = NULL;
	size_t n;

	n = split_at(name, type, 0, 512, NOW, res, out, rcode);
	assert_true(n >= 12 && n <= 512);
	assert_int_equal(ldns_wire2pkt(&pkt, out, n), LDNS_STATUS_OK);
	assert_int_equal((int)ldns_pkt_get_rcode(pkt), *rcode);
	return pkt;
}

/* an allowlisted subject or a test point needs no remote result */
static void
decide_allowlisted(void **state)
{
	const struct vzone *z = view_zone(view, "mix.test");
	struct answer_state st;
	struct dns_query dq;
	uint8_t q[512];
	size_t len;

	(void)state;
	assert_non_null(z);
	assert_int_equal(z->src[UP_SRC].kind, VSRC_UPSTREAM);
	assert_int_equal(answer_subject_parse(z, "192.0.2.2", &wk.s), 0);
	assert_int_equal(answer_decide_subject(view, z, NOW, 0, &st, &wk), 0);
	assert_int_equal(st.missing, 0);
	assert_int_not_equal(st.exempted_by, 0);
	assert_int_equal(st.src[UP_SRC].status, ASRC_NOT_ASKED);
	assert_int_equal(decide_query("2.2.0.192.mix.test", DNS_TYPE_A, 0,
	    NOW, q, &len, &dq, &st), 0);
	assert_int_equal(decide_query("8.100.51.198.up.mix.test", DNS_TYPE_A,
	    0, NOW, q, &len, &dq, &st), 0);
	/* test points answer by themselves */
	assert_int_equal(decide_query("2.0.0.127.mix.test", DNS_TYPE_A, 0, NOW,
	    q, &len, &dq, &st), 0);
	assert_int_equal(decide_query("1.0.0.127.mix.test", DNS_TYPE_A, 0, NOW,
	    q, &len, &dq, &st), 0);
	assert_int_equal(decide_query("test.mix.test", DNS_TYPE_A, 0, NOW,
	    q, &len, &dq, &st), 0);
	/* a zone of local lists only never waits */
	assert_int_equal(decide_query("1.2.0.192.all.test", DNS_TYPE_A, 0, NOW,
	    q, &len, &dq, &st), 0);
}

/* a zone with an upstream result reports it missing until completed */
static void
decide_missing(void **state)
{
	static const char *const names[] = { "1.2.0.192.mix.test",
	    "77.2.0.192.mix.test", "77.2.0.192.up.mix.test",
	    "1.2.0.192.mixeach.test", "1.2.0.192.mixscore.test" };
	struct answer_result r = { .status = ANSWER_RES_FAILED };
	struct answer_state st;
	struct dns_query dq;
	uint8_t q[512];
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint64_t want = strstr(names[i], ".up.") != NULL ? 1 :
		    UINT64_C(1) << UP_SRC;

		assert_int_equal(decide_query(names[i], DNS_TYPE_A, 0, NOW, q,
		    &len, &dq, &st), want);
		assert_int_equal(st.missing, want);
	}
	/* completed once, and only what is missing */
	assert_int_equal(decide_query("1.2.0.192.mix.test", DNS_TYPE_A, 0, NOW,
	    q, &len, &dq, &st), UINT64_C(1) << UP_SRC);
	assert_int_equal(answer_complete(&st, 0, &r), RBLMUX_EINVAL);
	r.status = ANSWER_RES_LISTED;
	assert_int_equal(answer_complete(&st, UP_SRC, &r), RBLMUX_EINVAL);
	r.status = ANSWER_RES_FAILED;
	assert_int_equal(answer_complete(&st, UP_SRC, &r), 0);
	assert_int_equal(st.missing, 0);
	assert_int_equal(answer_complete(&st, UP_SRC, &r), RBLMUX_EINVAL);
	assert_int_equal(answer_complete(&st, 64, &r), RBLMUX_EINVAL);
	/* what a waiting query keeps holds no pointer into the stack */
	assert_true(sizeof(struct answer_state) <= 1536);
}

/*
 * A state used for an earlier query: each source's reason is its own,
 * never bytes that query left behind (which the next source's reason
 * would overwrite).
 */
static void
complete_reused_state(void **state)
{
	const struct answer_result one = { .status = ANSWER_RES_LISTED,
	    .a = { 0x7f000002U }, .na = 1, .ttl = 900, .txt = "one says",
	    .txt_len = 8 }, two = { .status = ANSWER_RES_LISTED,
	    .a = { 0x7f000002U }, .na = 1, .ttl = 900,
	    .txt = "two says more", .txt_len = 13 };
	struct answer_state st;
	struct dns_query dq;
	uint8_t q[512];
	size_t len;
	int round;

	(void)state;
	for (round = 0; round < 2; round++) {
		assert_int_equal(decide_query("77.113.0.203.mix2.test",
		    DNS_TYPE_TXT, 0, NOW, q, &len, &dq, &st), 3);
		assert_int_equal(answer_complete(&st, 0, &one), 0);
		assert_int_equal(answer_complete(&st, 1, &two), 0);
		assert_int_equal(st.src[0].txt_len, 8);
		assert_memory_equal(st.txt + st.src[0].txt_off, "one says", 8);
		assert_int_equal(st.src[1].txt_len, 13);
		assert_memory_equal(st.txt + st.src[1].txt_off,
		    "two says more", 13);
	}
}

struct rcase {
	const char	*name;
	uint16_t	 type;
	int		 res;		/* 0 listed, 1 not listed, 2 failed */
	int		 rcode;
	uint32_t	 a[2];		/* A answers in order, or 0 */
	const char	*txt;		/* the TXT answer, or NULL */
	uint32_t	 ttl;		/* of the answer records */
};

static const struct rcase rcases[] = {
	/* bitmask: local bit 2, up bit 16; local's TTL 2100 */
	{ "1.2.0.192.mix.test", DNS_TYPE_A, 0, 0, { 0x7f000012U }, NULL,
	    900 },
	{ "1.2.0.192.mix.test", DNS_TYPE_A, 1, 0, { 0x7f000002U }, NULL,
	    2100 },
	/* the upstream failed: a partial answer, short-lived */
	{ "1.2.0.192.mix.test", DNS_TYPE_A, 2, 0, { 0x7f000002U }, NULL,
	    ANSWER_PARTIAL_TTL },
	{ "1.2.0.192.mix.test", DNS_TYPE_TXT, 0, 0, { 0 },
	    "local: Listed: 192.0.2.1; up: spam source", 900 },
	{ "1.2.0.192.mix.test", DNS_TYPE_TXT, 1, 0, { 0 },
	    "local: Listed: 192.0.2.1", 2100 },
	{ "77.2.0.192.mix.test", DNS_TYPE_A, 0, 0, { 0x7f000010U }, NULL,
	    900 },
	{ "77.2.0.192.mix.test", DNS_TYPE_A, 1, 3, { 0 }, NULL, 0 },
	{ "77.2.0.192.mix.test", DNS_TYPE_A, 2, 3, { 0 }, NULL, 0 },
	{ "77.2.0.192.mix.test", DNS_TYPE_TXT, 0, 0, { 0 },
	    "up: spam source", 900 },
	{ "77.2.0.192.mix.test", DNS_TYPE_AAAA, 0, 0, { 0 }, NULL, 0 },
	/* each: every result's own code */
	{ "1.2.0.192.mixeach.test", DNS_TYPE_A, 0, 0,
	    { 0x7f000002U, 0x7f000005U }, NULL, 900 },
	{ "1.2.0.192.mixeach.test", DNS_TYPE_A, 2, 0, { 0x7f000002U }, NULL,
	    ANSWER_PARTIAL_TTL },
	{ "77.2.0.192.mixeach.test", DNS_TYPE_A, 0, 0, { 0x7f000005U }, NULL,
	    900 },
	/* score: local weighs 1, up 2 */
	{ "1.2.0.192.mixscore.test", DNS_TYPE_A, 0, 0, { 0x7f000003U }, NULL,
	    900 },
	{ "1.2.0.192.mixscore.test", DNS_TYPE_A, 1, 0, { 0x7f000001U }, NULL,
	    2100 },
	{ "77.2.0.192.mixscore.test", DNS_TYPE_A, 0, 0, { 0x7f000002U }, NULL,
	    900 },
	/* the upstream's own subzone: its code and TXT */
	{ "77.2.0.192.up.mix.test", DNS_TYPE_A, 0, 0,
	    { 0x7f000005U, 0x7f000006U }, NULL, 900 },
	{ "77.2.0.192.up.mix.test", DNS_TYPE_TXT, 0, 0, { 0 }, "spam source",
	    900 },
	{ "77.2.0.192.up.mix.test", DNS_TYPE_A, 1, 3, { 0 }, NULL, 0 },
	{ "77.2.0.192.up.mix.test", DNS_TYPE_A, 2, 3, { 0 }, NULL, 0 },
	/* allowlisted: the remote listing is never asked for */
	{ "2.2.0.192.mix.test", DNS_TYPE_A, -1, 3, { 0 }, NULL, 0 },
};

/* rr_text - the text of a TXT record, its strings joined */
static const char *
rr_text(const ldns_rr *rr)
{
	static char buf[2048];
	size_t j, len = 0;

	for (j = 0; j < ldns_rr_rd_count(rr); j++) {
		const uint8_t *d = ldns_rdf_data(ldns_rr_rdf(rr, j));

		memcpy(buf + len, d + 1, d[0]);
		len += d[0];
	}
	buf[len] = '\0';
	return buf;
}

/* completed remote results make the answer of each zone style */
static void
complete_results(void **state)
{
	struct answer_result res[3] = {
		{ .status = ANSWER_RES_LISTED, .a = { 0x7f000005U,
		    0x7f000006U }, .na = 2, .ttl = 900, .txt = "spam source",
		    .txt_len = 11 },
		{ .status = ANSWER_RES_NOT_LISTED, .ttl = 300 },
		{ .status = ANSWER_RES_FAILED },
	};
	ldns_rr_list *an;
	ldns_pkt *pkt;
	size_t i, k;
	int rcode;

	(void)state;
	for (i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++) {
		const struct rcase *c = &rcases[i];

		pkt = ask_split(c->name, c->type, c->res < 0 ? NULL :
		    &res[c->res], &rcode);
		an = ldns_pkt_answer(pkt);
		if (rcode != c->rcode)
			fail_msg("%s/%d result %d: rcode %d, want %d", c->name,
			    c->type, c->res, rcode, c->rcode);
		for (k = 0; k < 2 && c->a[k] != 0; k++) {
			if (k >= ldns_rr_list_rr_count(an) ||
			    rr_a(pkt, k) != c->a[k])
				fail_msg("%s/%d result %d: A %zu is not %08x",
				    c->name, c->type, c->res, k, c->a[k]);
		}
		if (c->txt != NULL) {
			assert_int_equal(ldns_rr_list_rr_count(an), 1);
			k = 1;
			if (strcmp(rr_text(ldns_rr_list_rr(an, 0)), c->txt))
				fail_msg("%s result %d: TXT \"%s\"", c->name,
				    c->res, rr_text(ldns_rr_list_rr(an, 0)));
		}
		assert_int_equal(ldns_rr_list_rr_count(an), k);
		if (k > 0 && ldns_rr_ttl(ldns_rr_list_rr(an, 0)) != c->ttl)
			fail_msg("%s/%d result %d: TTL %u, want %u", c->name,
			    c->type, c->res,
			    ldns_rr_ttl(ldns_rr_list_rr(an, 0)), c->ttl);
		ldns_pkt_free(pkt);
	}
	/* a remote TTL is clamped like a local one: ttl-min 60 */
	res[0].ttl = 5;
	pkt = ask_split("77.2.0.192.mix.test", DNS_TYPE_A, &res[0], &rcode);
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(pkt), 0)),
	    60);
	ldns_pkt_free(pkt);
}

/* queries whose replies the split path must give byte for byte */
struct scase {
	const char	*name;
	uint16_t	 type;
};

static const struct scase scases[] = {
	{ "1.2.0.192.all.test", DNS_TYPE_A },
	{ "1.2.0.192.all.test", DNS_TYPE_TXT },
	{ "1.2.0.192.all.test", DNS_TYPE_ANY },
	{ "1.2.0.192.all.test", 15 },	/* MX */
	{ "2.2.0.192.all.test", DNS_TYPE_A },
	{ "9.113.0.203.all.test", DNS_TYPE_TXT },
	{ "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
	    "all.test", DNS_TYPE_TXT },
	{ "2.0.0.127.all.test", DNS_TYPE_TXT },
	{ "1.0.0.127.all.test", DNS_TYPE_A },
	{ "test.all.test", DNS_TYPE_A },
	{ "all.test", DNS_TYPE_SOA },
	{ "all.test", DNS_TYPE_NS },
	{ "2.0.192.all.test", DNS_TYPE_A },
	{ "foo.all.test", DNS_TYPE_A },
	{ "1.2.0.192.other.all.test", DNS_TYPE_TXT },
	{ "other.all.test", DNS_TYPE_A },
	{ "1.2.0.192.nope.example", DNS_TYPE_A },
	{ "1.2.0.192.each.test", DNS_TYPE_A },
	{ "1.2.0.192.score.test", DNS_TYPE_TXT },
	{ "2.2.0.192.score.test", DNS_TYPE_A },
	{ "5.100.51.198.bl.test", DNS_TYPE_TXT },
	{ "2.0.0.127.bl.test", DNS_TYPE_TXT },
	{ "bad.example.dbl.test", DNS_TYPE_TXT },
	{ "a.b.evil.example.dbl.test", DNS_TYPE_TXT },
	{ "example.dbl.test", DNS_TYPE_A },
	{ "20.2.0.192.many.test", DNS_TYPE_TXT },
	{ "21.2.0.192.many.test", DNS_TYPE_A },
	{ "21.2.0.192.many.test", DNS_TYPE_TXT },
	{ "22.2.0.192.many.test", DNS_TYPE_TXT },
	{ "23.2.0.192.many.test", DNS_TYPE_TXT },
	{ "24.2.0.192.many.test", DNS_TYPE_TXT },
	{ "25.2.0.192.many.test", DNS_TYPE_A },
	{ "25.2.0.192.many.test", DNS_TYPE_TXT },
	{ "26.2.0.192.many.test", DNS_TYPE_A },
	{ "26.2.0.192.capped.test", DNS_TYPE_TXT },
	{ "21.2.0.192.aggcap.test", DNS_TYPE_TXT },
	{ "30.2.0.192.exp.test", DNS_TYPE_A },
	{ "30.2.0.192.aggexp.test", DNS_TYPE_A },
	{ "31.2.0.192.aggexp.test", DNS_TYPE_A },
	{ "1.2.0.192.mix.test", DNS_TYPE_TXT },
	{ "77.2.0.192.up.mix.test", DNS_TYPE_A },
};

/* the three steps write what the one call writes, byte for byte */
static void
split_same(void **state)
{
	static uint8_t one[DNS_MAXMSG], split[DNS_MAXMSG], kept[DNS_MAXMSG];
	static const size_t limits[] = { 512, 1232, DNS_MAXMSG };
	static const time_t times[] = { NOW, EXPIRES };
	struct answer_state st;
	struct dns_query dq;
	uint8_t q[512];
	size_t i, l, t, n1, n2, n3, len;
	int r1, r2, r3;

	(void)state;
	for (i = 0; i < sizeof(scases) / sizeof(scases[0]); i++)
		for (l = 0; l < 3; l++)
			for (t = 0; t < 2; t++) {
				const struct scase *c = &scases[i];
				int edns = limits[l] > 512;

				len = mkquery(q, c->name, c->type, edns);
				assert_int_equal(dnsmsg_parse_query(q, len,
				    &dq), DNSMSG_OK);
				n1 = answer_query(view, &dq, q, len, times[t],
				    one, sizeof(one), limits[l], &r1);
				n2 = split_at(c->name, c->type, edns, limits[l],
				    times[t], NULL, split, &r2);
				decide_query(c->name, c->type, edns, times[t],
				    q, &len, &dq, &st);
				n3 = answer_write(view, &dq, q, len, &st, &wk,
				    kept, sizeof(kept), limits[l], &r3);
				if (n1 != n2 || r1 != r2 ||
				    memcmp(one, split, n1) != 0 || n1 != n3 ||
				    r1 != r3 || memcmp(one, kept, n1) != 0)
					fail_msg("%s/%d limit %zu: %zu/%zu/%zu "
					    "bytes differ", c->name, c->type,
					    limits[l], n1, n2, n3);
			}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table),
		cmocka_unit_test(negative_ttl),
		cmocka_unit_test(answer_ttl),
		cmocka_unit_test(apex_soa),
		cmocka_unit_test(apex_ns),
		cmocka_unit_test(nodata_aaaa),
		cmocka_unit_test(many_values),
		cmocka_unit_test(zone_ttl_max),
		cmocka_unit_test(expired_serve),
		cmocka_unit_test(expired_aggregate),
		cmocka_unit_test(many_zones),
		cmocka_unit_test(verdict_text),
		cmocka_unit_test(decide_allowlisted),
		cmocka_unit_test(decide_missing),
		cmocka_unit_test(complete_reused_state),
		cmocka_unit_test(complete_results),
		cmocka_unit_test(split_same),
	};

	return cmocka_run_group_tests_name("answer", tests, setup, teardown);
}
