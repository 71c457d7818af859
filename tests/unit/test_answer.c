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
#include "view.h"

/* the time queries are answered at: 2023-11-14 22:13:20 UTC */
#define NOW	((time_t)1700000000)

static char dir[64];
static struct view *view;

/* put - write a file under the temp dir */
static void
put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
report(void *arg, const char *file, unsigned line, const char *msg)
{
	(void)arg;
	print_message("%s:%u: %s\n", file ? file : "-", line, msg);
}

static int
setup(void **state)
{
	char conf[4096], path[256];
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
	    "203.0.113.9 :5:\n");
	put("other.ip4set", "192.0.2.1 :4:Other list\n192.0.2.2\n");
	put("allow.ip4set", "192.0.2.2\n198.51.100.8\n");
	put("six.ip6", ":127.0.0.9:v6 $\n2001:db8::/32\n!2001:db8::1\n");
	put("names.dn", ":127.0.0.7:name $\nbad.example\n.evil.example\n");
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
	    "zone:\n  name: dbl.test\n  serve: names\n",
	    dir);
	put("rblmux.conf", conf);
	snprintf(path, sizeof(path), "%s/rblmux.conf", dir);
	if (conf_load(path, report, NULL, &c) != 0)
		return -1;
	vc = vconf_new(c);
	if (view_build(vc, NULL, report, NULL, &view) != 0)
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

/* ask - answer a query for name/type; returns the reply parsed by ldns */
static ldns_pkt *
ask(const char *name, uint16_t type, int edns, int *rcode)
{
	uint8_t q[512], out[4096];
	size_t len = 12, n;
	const char *p = name;
	struct dns_query dq;
	ldns_pkt *pkt = NULL;

	memset(q, 0, sizeof(q));
	q[0] = 0xab; q[1] = 0xcd; q[2] = 0x01; q[5] = 1;
	while (*p != '\0') {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		q[len++] = (uint8_t)l;
		memcpy(q + len, p, l);
		len += l;
		p += l + (dot ? 1 : 0);
	}
	q[len++] = 0;
	q[len++] = (uint8_t)(type >> 8); q[len++] = (uint8_t)type;
	q[len++] = 0; q[len++] = 1;
	if (edns) {
		static const uint8_t opt[] = { 0, 0, 41, 0x10, 0, 0, 0, 0, 0,
		    0, 0 };

		q[11] = 1;
		memcpy(q + len, opt, sizeof(opt));
		len += sizeof(opt);
	}
	assert_int_equal(dnsmsg_parse_query(q, len, &dq), DNSMSG_OK);
	n = answer_query(view, &dq, q, len, NOW, out, sizeof(out),
	    edns ? 1232 : 512, rcode);
	assert_true(n >= 12);
	assert_int_equal(ldns_wire2pkt(&pkt, out, n), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_id(pkt), 0xabcd);
	assert_true(ldns_pkt_qr(pkt));
	return pkt;
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
	int rcode, i, want_a = 0;
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
	if (c->type == DNS_TYPE_A || c->type == DNS_TYPE_ANY) {
		if ((int)ldns_rr_list_rr_count(an) != want_a)
			fail_msg("%s: %zu answers, want %d", c->label,
			    ldns_rr_list_rr_count(an), want_a);
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

/* NS at the apex */
static void
apex_ns(void **state)
{
	ldns_pkt *pkt;
	char *s;
	int rcode;

	(void)state;
	pkt = ask("all.test", DNS_TYPE_NS, 0, &rcode);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(pkt)), 1);
	s = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(pkt), 0),
	    0));
	assert_string_equal(s, "ns1.all.test.");
	free(s);
	ldns_pkt_free(pkt);
}

/* verdict for an operator-typed subject (rblmuxctl lookup) */
static void
verdict_text(void **state)
{
	const struct vzone *z = view_zone(view, "all.test");
	struct subject s;
	struct verdict vd;
	char txt[1024];

	(void)state;
	assert_non_null(z);
	assert_int_equal(answer_subject_parse(z, "192.0.2.1", &s), 0);
	assert_int_equal(answer_verdict(view, z, &s, NOW, true, txt, sizeof(txt),
	    &vd), 1);
	assert_int_equal(vd.merged.a[0], 0x7f000006U);
	assert_int_equal(answer_subject_parse(z, "192.0.2.2", &s), 0);
	assert_int_equal(answer_verdict(view, z, &s, NOW, false, txt, sizeof(txt),
	    &vd), 0);
	assert_non_null(vd.exempted_by);
	assert_int_equal(answer_subject_parse(z, "2001:db8::5", &s), 0);
	assert_int_equal(s.kind, SUBJ_IP6);
	assert_int_equal(answer_subject_parse(z, "Evil.Example.", &s), 0);
	assert_string_equal(s.name, "evil.example");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table),
		cmocka_unit_test(negative_ttl),
		cmocka_unit_test(answer_ttl),
		cmocka_unit_test(apex_ns),
		cmocka_unit_test(verdict_text),
	};

	return cmocka_run_group_tests_name("answer", tests, setup, teardown);
}
