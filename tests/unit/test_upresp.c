/*
 * test_upresp.c -- upstream query names, queries and the reply parser:
 * what a reply means for the lookup sent (RFC 5452 matching, RCODEs,
 * RFC 2308 negative TTL, code validation and mapping), replies built
 * byte by byte so that hostile ones can be built too. The upstreams
 * come from a real config (conf_load), so the default error codes are
 * the ones conf.c fills in.
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
#include "upresp.h"

#define A(x)	(0x7f000000U | (x))
#define ID	0x5a17

/* 1.2.0.192.bl.example: 192.0.2.1 in bl.example */
static const uint8_t QN[] = "\0011\0012\0010\003192\002bl\007example";
#define QLEN	sizeof(QN)	/* with the root */
static const uint8_t OTHER[] = "\005other\007example";

/* --- the upstreams, from a real config ---------------------------- */

static struct conf *cf;
static const struct conf_upstream *u_plain;	/* no code:, default errors */
static const struct conf_upstream *u_uribl;	/* error-code: 127.0.0.1 */
static const struct conf_upstream *u_codes;	/* code: lines */

static void
report(void *arg, const char *file, unsigned line, const char *msg)
{
	(void)arg;
	fprintf(stderr, "%s:%u: %s\n", file ? file : "-", line, msg);
}

static const struct conf_upstream *
upstream(const char *name)
{
	size_t i;

	for (i = 0; i < cf->nupstreams; i++)
		if (strcmp(cf->upstreams[i].name, name) == 0)
			return &cf->upstreams[i];
	return NULL;
}

static int
setup(void **state)
{
	char path[] = "/tmp/test_upresp.XXXXXX";
	int fd = mkstemp(path);
	static const char text[] =
	    "upstream:\n name: plain\n zone: bl.example\n"
	    "upstream:\n name: uribl\n zone: uribl.example\n"
	    " error-code: 127.0.0.1\n"
	    "upstream:\n name: rats\n zone: rats.example\n"
	    " code: 127.0.0.36 dyna\n code: 127.0.0.37 noptr\n"
	    " code: 127.0.0.38 spam\n code: 127.0.0.43 auth\n";
	int rc;

	(void)state;
	if (fd < 0 || write(fd, text, sizeof(text) - 1) !=
	    (ssize_t)sizeof(text) - 1)
		return -1;
	close(fd);
	rc = conf_load(path, report, NULL, &cf);
	unlink(path);
	if (rc != 0)
		return -1;
	u_plain = upstream("plain");
	u_uribl = upstream("uribl");
	u_codes = upstream("rats");
	return u_plain && u_uribl && u_codes ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	conf_free(cf);
	return 0;
}

/* --- a reply, byte by byte --------------------------------------- */

struct pb {
	uint8_t	 b[4096];
	size_t	 n;
	unsigned cnt[4];	/* QD AN NS AR */
};

static void
p16(struct pb *p, unsigned v)
{
	p->b[p->n++] = (uint8_t)(v >> 8);
	p->b[p->n++] = (uint8_t)v;
}

static void
p32(struct pb *p, uint32_t v)
{
	p16(p, v >> 16);
	p16(p, v & 0xffff);
}

static void
pbytes(struct pb *p, const void *d, size_t n)
{
	memcpy(p->b + p->n, d, n);
	p->n += n;
}

/* start - header (counts filled by fin) and the question */
static void
start(struct pb *p, uint16_t id, unsigned flags, const uint8_t *qn,
    size_t qlen, uint16_t qtype, uint16_t qclass)
{
	memset(p, 0, sizeof(*p));
	p16(p, id);
	p16(p, flags);
	p->n = DNS_HDRLEN;
	if (qn != NULL) {
		pbytes(p, qn, qlen);
		p16(p, qtype);
		p16(p, qclass);
		p->cnt[0] = 1;
	}
}

/* rr - one record in section sec (1 AN, 2 NS, 3 AR) */
static void
rr(struct pb *p, int sec, const uint8_t *owner, size_t olen, uint16_t type,
    uint32_t ttl, const void *rd, size_t rdlen)
{
	pbytes(p, owner, olen);
	p16(p, type);
	p16(p, DNS_CLASS_IN);
	p32(p, ttl);
	p16(p, (unsigned)rdlen);
	pbytes(p, rd, rdlen);
	p->cnt[sec]++;
}

static void
rr_a(struct pb *p, const uint8_t *owner, size_t olen, uint32_t ttl,
    uint32_t a)
{
	uint8_t rd[4] = { a >> 24, a >> 16 & 0xff, a >> 8 & 0xff, a & 0xff };

	rr(p, 1, owner, olen, DNS_TYPE_A, ttl, rd, 4);
}

/* rr_soa - an SOA for bl.example with ttl and minimum */
static void
rr_soa(struct pb *p, uint32_t ttl, uint32_t minimum)
{
	static const uint8_t zone[] = "\002bl\007example";
	uint8_t rd[64];
	size_t n = 0, i;
	uint32_t v[5] = { 2026120101, 3600, 600, 86400, minimum };

	memcpy(rd + n, "\003ns1\002bl\007example", 16);
	n += 16;
	memcpy(rd + n, "\004host\002bl\007example", 17);
	n += 17;
	for (i = 0; i < 5; i++) {
		rd[n++] = (uint8_t)(v[i] >> 24);
		rd[n++] = (uint8_t)(v[i] >> 16);
		rd[n++] = (uint8_t)(v[i] >> 8);
		rd[n++] = (uint8_t)v[i];
	}
	rr(p, 2, zone, sizeof(zone), DNS_TYPE_SOA, ttl, rd, n);
}

/* fin - write the counts */
static void
fin(struct pb *p)
{
	int i;

	for (i = 0; i < 4; i++) {
		p->b[4 + 2 * i] = (uint8_t)(p->cnt[i] >> 8);
		p->b[5 + 2 * i] = (uint8_t)p->cnt[i];
	}
}

#define RESP	(DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_RA)

/* reply - a NOERROR/rcode reply to (ID, QN, A) */
static void
reply(struct pb *p, unsigned rcode)
{
	start(p, ID, RESP | rcode, QN, QLEN, DNS_TYPE_A, DNS_CLASS_IN);
}

static void
parse(struct pb *p, const struct conf_upstream *u, uint16_t qtype,
    struct upresp *r)
{
	fin(p);
	upresp_parse(p->b, p->n, ID, QN, QLEN, qtype, u, r);
}

/* --- query names and queries ------------------------------------- */

static void
qname_subjects(void **state)
{
	struct subject s;
	uint8_t out[DNS_MAXNAME];
	size_t n, i;
	char big[DNS_MAXNAME + 1];

	(void)state;
	memset(&s, 0, sizeof(s));
	s.kind = SUBJ_IP4;
	s.ip4 = 0xc0000201;	/* 192.0.2.1 */
	n = upresp_qname(&s, "bl.example", out);
	assert_int_equal(n, QLEN);
	assert_memory_equal(out, QN, QLEN);
	/* a zone given in upper case with a trailing dot: the same name */
	assert_int_equal(upresp_qname(&s, "BL.Example.", out), QLEN);
	assert_memory_equal(out, QN, QLEN);

	s.kind = SUBJ_IP6;
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1f", s.ip6), 1);
	n = upresp_qname(&s, "v6.example", out);
	assert_int_equal(n, 64 + 3 + 8 + 1);
	assert_memory_equal(out, "\001f\0011\0010\0010", 8);
	assert_memory_equal(out + 48, "\0018\001b\001d\0010\0011\0010\0010"
	    "\0012\002v6\007example", 8 * 2 + 3 + 8 + 1);

	s.kind = SUBJ_NAME;
	strcpy(s.name, "Mail.Example.COM");
	s.name_len = strlen(s.name);
	n = upresp_qname(&s, "dbl.example", out);
	assert_int_equal(n, 30);
	assert_memory_equal(out, "\004mail\007example\003com\003dbl\007example",
	    30);

	/* a name that does not fit under the zone */
	for (i = 0; i < 250; i++)
		big[i] = (i % 60 == 59) ? '.' : 'a';
	big[250] = '\0';
	strcpy(s.name, big);
	s.name_len = 250;
	assert_int_equal(upresp_qname(&s, "dbl.example", out), 0);
	assert_int_equal(upresp_qname(&s, "x", out), 254);
	assert_int_equal(upresp_qname(&s, "xy", out), DNS_MAXNAME);
	assert_int_equal(upresp_qname(&s, "xyz", out), 0);
	/* an empty label, an empty zone, no subject */
	strcpy(s.name, "a..b");
	s.name_len = 4;
	assert_int_equal(upresp_qname(&s, "dbl.example", out), 0);
	strcpy(s.name, "ab");
	s.name_len = 2;
	assert_int_equal(upresp_qname(&s, "", out), 0);
	s.kind = SUBJ_APEX;
	assert_int_equal(upresp_qname(&s, "dbl.example", out), 0);
}

static void
query_round_trip(void **state)
{
	uint8_t buf[512];
	ldns_pkt *p = NULL;
	ldns_rr *q;
	ldns_rdf *want;
	size_t n;

	(void)state;
	n = upresp_query(buf, sizeof(buf), 0xbeef, QN, QLEN, DNS_TYPE_TXT);
	assert_int_equal(n, DNS_HDRLEN + QLEN + 4 + DNS_OPT_LEN);
	assert_int_equal(ldns_wire2pkt(&p, buf, n), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_id(p), 0xbeef);
	assert_false(ldns_pkt_qr(p));
	assert_true(ldns_pkt_rd(p));
	assert_int_equal(ldns_pkt_get_opcode(p), LDNS_PACKET_QUERY);
	assert_int_equal(ldns_pkt_qdcount(p), 1);
	assert_int_equal(ldns_pkt_ancount(p) + ldns_pkt_nscount(p), 0);
	assert_true(ldns_pkt_edns(p));
	assert_int_equal(ldns_pkt_edns_udp_size(p), UPRESP_EDNS_SIZE);
	assert_int_equal(ldns_pkt_edns_version(p), 0);
	q = ldns_rr_list_rr(ldns_pkt_question(p), 0);
	assert_int_equal(ldns_rr_get_type(q), LDNS_RR_TYPE_TXT);
	assert_int_equal(ldns_rr_get_class(q), LDNS_RR_CLASS_IN);
	assert_int_equal(ldns_str2rdf_dname(&want, "1.2.0.192.bl.example."),
	    LDNS_STATUS_OK);
	assert_int_equal(ldns_dname_compare(ldns_rr_owner(q), want), 0);
	ldns_rdf_deep_free(want);
	ldns_pkt_free(p);
	/* one byte short: nothing written */
	assert_int_equal(upresp_query(buf, n - 1, 1, QN, QLEN, DNS_TYPE_A),
	    0);
}

/* --- replies ----------------------------------------------------- */

static void
listed(void **state)
{
	struct pb p;
	struct upresp r;
	unsigned i;

	(void)state;
	reply(&p, DNS_RCODE_NOERROR);
	rr_a(&p, QN, QLEN, 2100, A(2));
	parse(&p, u_plain, DNS_TYPE_A, &r);
	assert_int_equal(r.kind, UPRESP_LISTED);
	assert_int_equal(r.na, 1);
	assert_int_equal(r.a[0], A(2));
	assert_int_equal(r.ttl, 2100);
	assert_int_equal(r.rcode, 0);

	/* several codes in reply order, TTL the smallest */
	reply(&p, DNS_RCODE_NOERROR);
	rr_a(&p, QN, QLEN, 900, A(4));
	rr_a(&p, QN, QLEN, 300, A(2));
	rr_a(&p, QN, QLEN, 600, A(10));
	parse(&p, u_plain, DNS_TYPE_A, &r);
	assert_int_equal(r.kind, UPRESP_LISTED);
	assert_int_equal(r.na, 3);
	assert_int_equal(r.a[0], A(4));
	assert_int_equal(r.a[1], A(2));
	assert_int_equal(r.a[2], A(10));
	assert_int_equal(r.ttl, 300);

	/* more codes than are kept: the first ones */
	reply(&p, DNS_RCODE_NOERROR);
	for (i = 0; i < UPRESP_MAX_A + 3; i++)
		rr_a(&p, QN, QLEN, 600 - i, A(2 + i));
	parse(&p, u_plain, DNS_TYPE_A, &r);
	assert_int_equal(r.kind, UPRESP_LISTED);
	assert_int_equal(r.na, UPRESP_MAX_A);
	assert_int_equal(r.a[UPRESP_MAX_A - 1], A(1 + UPRESP_MAX_A));
	assert_int_equal(r.ttl, 600 - (UPRESP_MAX_A + 2));

	/* a TTL with the top bit set counts as 0 (RFC 2181 8) */
	reply(&p, DNS_RCODE_NOERROR);
	rr_a(&p, QN, QLEN, 0x80000000U, A(2));
	rr_a(&p, QN, QLEN, 60, A(3));
	parse(&p, u_plain, DNS_TYPE_A, &r);
	assert_int_equal(r.kind, UPRESP_LISTED);
	assert_int_equal(r.ttl, 0);

	/* the question and owner in another case (0x20): still ours */
	start(&p, ID, RESP, (const uint8_t *)"\0011\0012\0010\003192\002BL"
	    "\007ExAmPlE", QLEN, DNS_TYPE_A, DNS_CLASS_IN);
	rr_a(&p, (const uint8_t *)"\0011\0012\0010\003192\002bL\007EXAMPLE",
	    QLEN, 60, A(2));
	parse(&p, u_plain, DNS_TYPE_A, &r);
	assert_int_equal(r.kind, UPRESP_LISTED);
	assert_int_equal(r.ttl, 60);
}

static void
negative(void **state)
{
	struct pb p;
	struct upresp r;

	(void)state;
	/* NXDOMAIN: the SOA's MINIMUM when smaller than its TTL */
	reply(&p, DNS_RCODE_NXDOMAIN);
	rr_soa(&p, 3600, 60);
	parse(&p, u_plain, DNS_TYPE_A, &r);
	assert_int_equal(r.kind, UPRESP_NOT_LISTED);
	assert_int_equal(r.rcode, DNS_RCODE_NXDOMAIN);
	assert_int_equal(r.ttl, 60);
	/* ... its TTL when that is smaller */
	reply(&p, DNS_RCODE_NXDOMAIN);
	rr_soa(&p, 45, 900);
	parse(&p, u_plain, DNS_TYPE_A, &r);
	assert_int_equal(r.kind, UPRESP_NOT_LISTED);
	assert_int_equal(r.ttl, 45);
	/* an SOA MINIMUM with the top bit set counts as 0 */
	reply(&p, DNS_RCODE_NXDOMAIN);
	rr_soa(&p, 3600, 0xffffffffU);
	parse(&p, u_plain, DNS_TYPE_A, &r);
	assert_int_equal(r.ttl, 0);
	/* no SOA: the default */
	reply(&p, DNS_RCODE_NXDOMAIN);
	parse(&p, u_plain, DNS_TYPE_A, &r);
	assert_int_equal(r.kind, UPRESP_NOT_LISTED);
	assert_int_equal(r.ttl, UPRESP_NEG_TTL_DEFAULT);
	/* NOERROR without data */
	reply(&p, DNS_RCODE_NOERROR);
	rr_soa(&p, 600, 120);
	parse(&p, u_plain, DNS_TYPE_A, &r);
	assert_int_equal(r.kind, UPRESP_NOT_LISTED);
	assert_int_equal(r.rcode, 0);
	assert_int_equal(r.ttl, 120);
	/* a TXT lookup answered with an A only: no TXT, not listed */
	start(&p, ID, RESP, QN, QLEN, DNS_TYPE_TXT, DNS_CLASS_IN);
	rr_a(&p, QN, QLEN, 600, A(2));
	parse(&p, u_plain, DNS_TYPE_TXT, &r);
	assert_int_equal(r.kind, UPRESP_NOT_LISTED);
	assert_int_equal(r.ttl, UPRESP_NEG_TTL_DEFAULT);
}

static void
rcodes_and_tc(void **state)
{
	static const struct {
		unsigned rcode;
		const char *why;
	} e[] = {
		{ DNS_RCODE_SERVFAIL, "SERVFAIL" },
		{ DNS_RCODE_REFUSED, "REFUSED" },
		{ DNS_RCODE_FORMERR, "FORMERR" },
		{ DNS_RCODE_NOTIMP, "NOTIMP" },
		{ 9, "NOTAUTH" },
		{ 15, "RCODE15" },
	};
	struct pb p;
	struct upresp r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
		reply(&p, e[i].rcode);
		rr_a(&p, QN, QLEN, 600, A(2));	/* never a listing */
		parse(&p, u_plain, DNS_TYPE_A, &r);
		assert_int_equal(r.kind, UPRESP_ERROR);
		assert_int_equal(r.rcode, e[i].rcode);
		assert_string_equal(r.why, e[i].why);
		assert_int_equal(r.na, 0);
	}
	/* TC: ask again over TCP, whatever came with it */
	start(&p, ID, RESP | DNS_FLAG_TC, QN, QLEN, DNS_TYPE_A, DNS_CLASS_IN);
	rr_a(&p, QN, QLEN, 600, A(2));
	parse(&p, u_plain, DNS_TYPE_A, &r);
	assert_int_equal(r.kind, UPRESP_TRUNCATED);
	assert_int_equal(r.na, 0);
}

static void
mismatch(void **state)
{
	static const uint8_t other_q[] = "\0012\0012\0010\003192\002bl"
	    "\007example";
	static const uint8_t short_q[] = "\0011\0012\0010\003192\002bl";
	struct pb p;
	struct upresp r;

	(void)state;
	/* other ID */
	start(&p, ID + 1, RESP, QN, QLEN, DNS_TYPE_A, DNS_CLASS_IN);
	rr_a(&p, QN, QLEN, 600, A(2));
	parse(&p, u_plain, DNS_TYPE_A, &r);
	assert_int_equal(r.kind, UPRESP_MISMATCH);
	assert_string_equal(r.why, "other ID");
	/* QR clear: a query, not a reply */
	start(&p, ID, DNS_FLAG_RD, QN, QLEN, DNS_TYPE_A, DNS_CLASS_IN);
	parse(&p, u_plain, DNS_TYPE_A, &r);
	assert_int_equal(r.kind, UPRESP_MISMATCH);
	assert_string_equal(r.why, "not a response");
	/* other question name (an NXDOMAIN for another address) */
	start(&p, ID, RESP | DNS_RCODE_NXDOMAIN, other_q, sizeof(other_q),
	    DNS_TYPE_A, DNS_CLASS_IN);
	parse(&p, u_plain, DNS_TYPE_A, &r);
	assert_int_equal(r.kind, UPRESP_MISMATCH);
	assert_string_equal(r.why, "other question name");
	/* other type: a TXT reply to the A lookup */
	start(&p, ID, RESP, QN, QLEN, DNS_TYPE_TXT, DNS_CLASS_IN);
	parse(&p, u_plain, DNS_TYPE_A, &r);
	assert_int_equal(r.kind, UPRESP_MISMATCH);
	assert_string_equal(r.why, "other question type");
	/* other class */
	start(&p, ID, RESP, QN, QLEN, DNS_TYPE_A, DNS_CLASS_CH);
	parse(&p, u_plain, DNS_TYPE_A, &r);
	assert_int_equal(r.kind, UPRESP_MISMATCH);
	/* other opcode */
	start(&p, ID, RESP | DNS_OPCODE_NOTIFY << DNS_OPCODE_SHIFT, QN, QLEN,
	    DNS_TYPE_A, DNS_CLASS_IN);
	parse(&p, u_plain, DNS_TYPE_A, &r);
	assert_int_equal(r.kind, UPRESP_MISMATCH);
	assert_string_equal(r.why, "other opcode");
	/* no question, even with the right answer */
	start(&p, ID, RESP, NULL, 0, 0, 0);
	rr_a(&p, QN, QLEN, 600, A(2));
	parse(&p, u_plain, DNS_TYPE_A, &r);
	assert_int_equal(r.kind, UPRESP_MISMATCH);
	assert_string_equal(r.why, "not one question");
	/* two questions */
	start(&p, ID, RESP, QN, QLEN, DNS_TYPE_A, DNS_CLASS_IN);
	pbytes(&p, QN, QLEN);
	p16(&p, DNS_TYPE_A);
	p16(&p, DNS_CLASS_IN);
	p.cnt[0] = 2;
	parse(&p, u_plain, DNS_TYPE_A, &r);
	assert_int_equal(r.kind, UPRESP_MISMATCH);
	/* a question name that is a prefix of ours */
	start(&p, ID, RESP, short_q, sizeof(short_q), DNS_TYPE_A,
	    DNS_CLASS_IN);
	parse(&p, u_plain, DNS_TYPE_A, &r);
	assert_int_equal(r.kind, UPRESP_MISMATCH);
}

static void
codes(void **state)
{
	struct pb p;
	struct upresp r;

	(void)state;
	/* outside 127/8 */
	reply(&p, DNS_RCODE_NOERROR);
	rr_a(&p, QN, QLEN, 600, 0xc0000201);
	parse(&p, u_plain, DNS_TYPE_A, &r);
	assert_int_equal(r.kind, UPRESP_ERROR);
	assert_string_equal(r.why, "192.0.2.1 outside 127/8");
	/* the default error codes: 127.255.255.0/24 */
	reply(&p, DNS_RCODE_NOERROR);
	rr_a(&p, QN, QLEN, 600, A(0xffff00 | 254));
	parse(&p, u_plain, DNS_TYPE_A, &r);
	assert_int_equal(r.kind, UPRESP_ERROR);
	assert_string_equal(r.why, "error code 127.255.255.254");
	assert_int_equal(r.na, 0);
	assert_int_equal(r.ttl, 0);
	/* one bad code among good ones: the whole answer is an error */
	reply(&p, DNS_RCODE_NOERROR);
	rr_a(&p, QN, QLEN, 600, A(2));
	rr_a(&p, QN, QLEN, 600, A(0xffff00 | 255));
	rr_a(&p, QN, QLEN, 600, A(4));
	parse(&p, u_plain, DNS_TYPE_A, &r);
	assert_int_equal(r.kind, UPRESP_ERROR);
	assert_string_equal(r.why, "error code 127.255.255.255");
	assert_int_equal(r.na, 0);
	/* 127.255.254.1 is just outside the default /24 */
	reply(&p, DNS_RCODE_NOERROR);
	rr_a(&p, QN, QLEN, 600, A(0xfffe01));
	parse(&p, u_plain, DNS_TYPE_A, &r);
	assert_int_equal(r.kind, UPRESP_LISTED);

	/* URIBL style: 127.0.0.1 is its error code, and replaces the default */
	reply(&p, DNS_RCODE_NOERROR);
	rr_a(&p, QN, QLEN, 600, A(1));
	parse(&p, u_uribl, DNS_TYPE_A, &r);
	assert_int_equal(r.kind, UPRESP_ERROR);
	assert_string_equal(r.why, "error code 127.0.0.1");
	reply(&p, DNS_RCODE_NOERROR);
	rr_a(&p, QN, QLEN, 600, A(0xffff00 | 254));
	parse(&p, u_uribl, DNS_TYPE_A, &r);
	assert_int_equal(r.kind, UPRESP_LISTED);

	/* code: lines: only the mapped codes */
	reply(&p, DNS_RCODE_NOERROR);
	rr_a(&p, QN, QLEN, 600, A(38));
	rr_a(&p, QN, QLEN, 600, A(43));
	parse(&p, u_codes, DNS_TYPE_A, &r);
	assert_int_equal(r.kind, UPRESP_LISTED);
	assert_int_equal(r.na, 2);
	reply(&p, DNS_RCODE_NOERROR);
	rr_a(&p, QN, QLEN, 600, A(38));
	rr_a(&p, QN, QLEN, 600, A(2));
	parse(&p, u_codes, DNS_TYPE_A, &r);
	assert_int_equal(r.kind, UPRESP_ERROR);
	assert_string_equal(r.why, "127.0.0.2 is not a code: of the upstream");
	/* ... and the default error codes still apply with code: lines */
	assert_false(upresp_code_valid(u_codes, A(0xffff00 | 254), r.why,
	    sizeof(r.why)));
	assert_true(upresp_code_valid(u_codes, A(36), r.why, sizeof(r.why)));
	assert_true(upresp_code_valid(u_plain, A(1), r.why, sizeof(r.why)));
	assert_false(upresp_code_valid(u_plain, 0x80000002, r.why,
	    sizeof(r.why)));
	assert_string_equal(r.why, "128.0.0.2 outside 127/8");
}

static void
code_listed(void **state)
{
	uint32_t a[] = { A(37), A(43) };

	(void)state;
	/* the upstream's own result: any valid code */
	assert_int_equal(upresp_code_listed(u_codes, -1, a, 2), A(37));
	assert_int_equal(upresp_code_listed(u_plain, -1, a, 2), A(37));
	assert_int_equal(upresp_code_listed(u_plain, -1, a, 0), 0);
	/* code: lines by index: 0 dyna .36, 1 noptr .37, 3 auth .43 */
	assert_int_equal(upresp_code_listed(u_codes, 0, a, 2), 0);
	assert_int_equal(upresp_code_listed(u_codes, 1, a, 2), A(37));
	assert_int_equal(upresp_code_listed(u_codes, 2, a, 2), 0);
	assert_int_equal(upresp_code_listed(u_codes, 3, a, 2), A(43));
	assert_int_equal(upresp_code_listed(u_codes, 4, a, 2), 0);
	assert_int_equal(upresp_code_listed(u_plain, 0, a, 2), 0);
}

static void
only_the_exact_name(void **state)
{
	struct pb p;
	struct upresp r;

	(void)state;
	/* QN CNAME other.example, other.example A: not ours */
	reply(&p, DNS_RCODE_NOERROR);
	rr(&p, 1, QN, QLEN, 5 /* CNAME */, 600, OTHER, sizeof(OTHER));
	rr_a(&p, OTHER, sizeof(OTHER), 600, A(2));
	parse(&p, u_plain, DNS_TYPE_A, &r);
	assert_int_equal(r.kind, UPRESP_NOT_LISTED);
	/* an A for another owner beside ours, and junk in the other
	   sections: only ours counts, its TTL too */
	reply(&p, DNS_RCODE_NOERROR);
	rr_a(&p, OTHER, sizeof(OTHER), 5, 0xc0000201);
	rr_a(&p, QN, QLEN, 700, A(2));
	rr_soa(&p, 10, 10);
	rr(&p, 3, QN, QLEN, DNS_TYPE_A, 1, "\x7f\xff\xff\xfe", 4);
	parse(&p, u_plain, DNS_TYPE_A, &r);
	assert_int_equal(r.kind, UPRESP_LISTED);
	assert_int_equal(r.na, 1);
	assert_int_equal(r.a[0], A(2));
	assert_int_equal(r.ttl, 700);
	/* an A record with a 3-byte RDATA: not read as a code */
	reply(&p, DNS_RCODE_NOERROR);
	rr(&p, 1, QN, QLEN, DNS_TYPE_A, 600, "\x7f\0\0", 3);
	parse(&p, u_plain, DNS_TYPE_A, &r);
	assert_true(r.kind == UPRESP_ERROR || r.kind == UPRESP_MISMATCH);
	assert_int_equal(r.na, 0);
}

static void
txt(void **state)
{
	uint8_t rd[600];
	struct pb p;
	struct upresp r;
	size_t i;

	(void)state;
	/* two records, the second of two strings: joined, no separator */
	start(&p, ID, RESP, QN, QLEN, DNS_TYPE_TXT, DNS_CLASS_IN);
	rr(&p, 1, QN, QLEN, DNS_TYPE_TXT, 900, "\005spam ", 6);
	rr(&p, 1, OTHER, sizeof(OTHER), DNS_TYPE_TXT, 5, "\005other", 6);
	rr(&p, 1, QN, QLEN, DNS_TYPE_TXT, 800, "\006source\000\003 :)", 12);
	parse(&p, u_plain, DNS_TYPE_TXT, &r);
	assert_int_equal(r.kind, UPRESP_LISTED);
	assert_string_equal(r.txt, "spam source :)");
	assert_int_equal(r.txt_len, 14);
	assert_int_equal(r.na, 0);
	assert_int_equal(r.ttl, 800);

	/* longer than kept: cut at UPRESP_MAX_TXT */
	start(&p, ID, RESP, QN, QLEN, DNS_TYPE_TXT, DNS_CLASS_IN);
	for (i = 0; i < 600; i += 200) {
		rd[i] = 199;
		memset(rd + i + 1, 'a' + (int)i / 200, 199);
	}
	rr(&p, 1, QN, QLEN, DNS_TYPE_TXT, 60, rd, 600);
	parse(&p, u_plain, DNS_TYPE_TXT, &r);
	assert_int_equal(r.kind, UPRESP_LISTED);
	assert_int_equal(r.txt_len, UPRESP_MAX_TXT);
	assert_int_equal(strlen(r.txt), UPRESP_MAX_TXT);
	assert_int_equal(r.txt[198], 'a');
	assert_int_equal(r.txt[199], 'b');
	assert_int_equal(r.txt[UPRESP_MAX_TXT - 1], 'b');
}

static void
garbage(void **state)
{
	struct pb p;
	struct upresp r;
	uint8_t junk[512];
	size_t n, i;
	uint32_t x = 12345;

	(void)state;
	reply(&p, DNS_RCODE_NOERROR);
	rr_a(&p, QN, QLEN, 600, A(2));
	fin(&p);
	/* every cut of a good reply: never a listing it does not hold */
	for (n = 0; n < p.n; n++) {
		upresp_parse(p.b, n, ID, QN, QLEN, DNS_TYPE_A, u_plain, &r);
		assert_int_not_equal(r.kind, UPRESP_LISTED);
	}
	upresp_parse(p.b, p.n, ID, QN, QLEN, DNS_TYPE_A, u_plain, &r);
	assert_int_equal(r.kind, UPRESP_LISTED);
	upresp_parse(NULL, 0, ID, QN, QLEN, DNS_TYPE_A, u_plain, &r);
	assert_int_equal(r.kind, UPRESP_MISMATCH);
	/* random bytes with our header in front */
	for (i = 0; i < 2000; i++) {
		for (n = 0; n < sizeof(junk); n++) {
			x = x * 1103515245u + 12345u;
			junk[n] = (uint8_t)(x >> 16);
		}
		memcpy(junk, p.b, DNS_HDRLEN + (i % 2) * (QLEN + 4));
		upresp_parse(junk, 1 + i % sizeof(junk), ID, QN, QLEN,
		    DNS_TYPE_A, u_codes, &r);
		assert_true(r.kind <= UPRESP_LISTED);
		assert_true(r.na <= UPRESP_MAX_A);
		assert_true(r.txt_len <= UPRESP_MAX_TXT);
	}
	/* a count larger than the records present */
	p.b[7] = 2;
	upresp_parse(p.b, p.n, ID, QN, QLEN, DNS_TYPE_A, u_plain, &r);
	assert_int_equal(r.kind, UPRESP_MISMATCH);
	assert_string_equal(r.why, "unparseable reply");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(qname_subjects),
		cmocka_unit_test(query_round_trip),
		cmocka_unit_test(listed),
		cmocka_unit_test(negative),
		cmocka_unit_test(rcodes_and_tc),
		cmocka_unit_test(mismatch),
		cmocka_unit_test(codes),
		cmocka_unit_test(code_listed),
		cmocka_unit_test(only_the_exact_name),
		cmocka_unit_test(txt),
		cmocka_unit_test(garbage),
	};

	return cmocka_run_group_tests_name("upresp", tests, setup, teardown);
}
