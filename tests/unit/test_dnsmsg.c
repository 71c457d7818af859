/*
 * test_dnsmsg.c -- query parser and reply writer.
 *
 * Parser: a labelled table of hand-built packets, one per rule (drop,
 * NOTIMP, FORMERR, BADVERS, EDNS). Writer: every reply built here is
 * parsed back with ldns (the reference; allowed in tests) and compared
 * with what was written, plus byte-level checks of compression pointers,
 * truncation and the echoed question.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <ldns/ldns.h>

#include "dnsmsg.h"
#include "err.h"

/* --- helpers -------------------------------------------------------------- */

/* hex - decode hex digits (whitespace ignored) into out; returns bytes */
static size_t
hex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1, v = 0;

	for (; *s != '\0'; s++) {
		if (*s == ' ' || *s == '\n')
			continue;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else
			fail_msg("bad hex digit '%c'", *s);
		if (hi < 0) {
			hi = v;
			continue;
		}
		assert_true(n < cap);
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	assert_int_equal(hi, -1);
	return n;
}

/* get16 - a network-order field of a reply */
static unsigned
get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* must_parse - the reply as ldns sees it; fails the test if invalid */
static ldns_pkt *
must_parse(const uint8_t *buf, size_t len)
{
	ldns_pkt *p = NULL;
	ldns_status st = ldns_wire2pkt(&p, buf, len);

	if (st != LDNS_STATUS_OK)
		fail_msg("ldns rejects reply: %s", ldns_get_errorstr_by_id(st));
	return p;
}

/* dname_is - the ldns name equals presentation form want */
static void
dname_is(const ldns_rdf *d, const char *want)
{
	ldns_rdf *w = ldns_dname_new_frm_str(want);

	assert_non_null(w);
	if (ldns_dname_compare(d, w) != 0) {
		char *got = ldns_rdf2str(d);

		print_message("name %s, expected %s\n", got, want);
		free(got);
		ldns_rdf_deep_free(w);
		fail();
	}
	ldns_rdf_deep_free(w);
}

#define HDR_Q	"abcd 0100 0001 0000 0000 0000"		/* id, RD, QD=1 */
#define N_EX	"07 6578616d706c65 03 636f6d 00"	/* example.com */
#define N_EX_UC	"07 4578416d506c45 03 434f4d 00"	/* ExAmPlE.COM */
#define T_A	"0001 0001"
#define T_TXT	"0010 0001"
#define T_ANY	"00ff 0001"
/* a 63-byte label "aaa...a" */
#define L63	"3f" \
	"61616161616161616161616161616161616161616161616161616161616161" \
	"6161616161616161616161616161616161616161616161616161616161616161"
/* a 61-byte label "bbb...b" */
#define L61	"3d" \
	"62626262626262626262626262626262626262626262626262626262626262" \
	"626262626262626262626262626262626262626262626262626262626262"
/* a 62-byte label "ccc...c" */
#define L62	"3e" \
	"63636363636363636363636363636363636363636363636363636363636363" \
	"63636363636363636363636363636363636363636363636363636363636363"
#define OPT(sz, ver, flags)	"00 0029" sz "00" ver flags "0000"

/* query - parse hex into q, asserting the verdict */
static size_t
query(const char *h, struct dns_query *q, uint8_t *pkt, size_t cap, int want)
{
	size_t len = hex(h, pkt, cap);

	assert_int_equal(dnsmsg_parse_query(pkt, len, q), want);
	return len;
}

/* --- parser table ---------------------------------------------------------- */

struct pcase {
	const char	*label;
	const char	*hex;		/* the packet, or NULL: see labels */
	uint8_t		 labels[8];	/* hex == NULL: qname of labels this
					   long ('a'..), QTYPE A */
	int		 rc;		/* expected verdict */
	bool		 question;	/* question_end expected != 0 */
	uint8_t		 nlabels;	/* checked when question */
	bool		 edns;
	uint8_t		 version;
	uint16_t	 udp;		/* checked when edns */
	bool		 dobit;
	uint8_t		 opcode;
};

static const struct pcase pcases[] = {
	{ "empty", "", {0}, DNSMSG_DROP, 0, 0, 0, 0, 0, 0, 0 },
	{ "11 bytes", "abcd 0100 0001 0000 0000 00", {0}, DNSMSG_DROP,
	    0, 0, 0, 0, 0, 0, 0 },
	{ "header only, QD=0", "abcd 0100 0000 0000 0000 0000", {0},
	    DNS_RCODE_FORMERR, 0, 0, 0, 0, 0, 0, 0 },
	{ "response (QR=1)", "abcd 8180 0001 0001 0000 0000" N_EX T_A
	    "c00c 0001 0001 0000003c 0004 7f000002", {0}, DNSMSG_DROP,
	    0, 0, 0, 0, 0, 0, 0 },
	{ "plain A", HDR_Q N_EX T_A, {0}, DNSMSG_OK, 1, 2, 0, 0, 0, 0, 0 },
	{ "root qname", HDR_Q "00" T_A, {0}, DNSMSG_OK, 1, 0, 0, 0, 0, 0, 0 },
	{ "ANY", HDR_Q N_EX T_ANY, {0}, DNSMSG_OK, 1, 2, 0, 0, 0, 0, 0 },
	{ "opcode 2 (STATUS)", "abcd 1100 0001 0000 0000 0000" N_EX T_A, {0},
	    DNS_RCODE_NOTIMP, 1, 2, 0, 0, 0, 0, 2 },
	{ "opcode 4 (NOTIFY) with SOA answer",
	    "abcd 2400 0001 0001 0000 0000" N_EX "0006 0001"
	    "c00c 0006 0001 00000e10 0016 00 00 00000001 00000001"
	    "00000001 00000001 00000001", {0}, DNS_RCODE_NOTIMP, 1, 2,
	    0, 0, 0, 0, 4 },
	{ "opcode 5 (UPDATE), no question", "abcd 2800 0000 0000 0000 0000",
	    {0}, DNS_RCODE_NOTIMP, 0, 0, 0, 0, 0, 0, 5 },
	{ "opcode 4 with EDNS", "abcd 2000 0001 0000 0000 0001" N_EX
	    "0006 0001" OPT("0200", "00", "0000"), {0}, DNS_RCODE_NOTIMP,
	    1, 2, 1, 0, 512, 0, 4 },
	{ "opcode 4, pointer qname", "abcd 2000 0001 0000 0000 0000"
	    "c00c 0006 0001", {0}, DNS_RCODE_NOTIMP, 0, 0, 0, 0, 0, 0, 4 },
	{ "QDCOUNT 2", "abcd 0100 0002 0000 0000 0000" N_EX T_A N_EX T_A, {0},
	    DNS_RCODE_FORMERR, 0, 0, 0, 0, 0, 0, 0 },
	{ "QDCOUNT 2 with EDNS", "abcd 0100 0002 0000 0000 0001" N_EX T_A
	    N_EX T_A OPT("1000", "00", "0000"), {0}, DNS_RCODE_FORMERR,
	    0, 0, 1, 0, 4096, 0, 0 },
	{ "QDCOUNT 0 with EDNS (cookie probe)", "abcd 0000 0000 0000 0000 0001"
	    "00 0029 1000 00 00 0000 000c 000a 0008 0102030405060708", {0},
	    DNS_RCODE_FORMERR, 0, 0, 1, 0, 4096, 0, 0 },
	{ "ANCOUNT 1", "abcd 0100 0001 0001 0000 0000" N_EX T_A
	    "c00c 0001 0001 0000003c 0004 7f000002", {0}, DNS_RCODE_FORMERR,
	    1, 2, 0, 0, 0, 0, 0 },
	{ "NSCOUNT 1", "abcd 0100 0001 0000 0001 0000" N_EX T_A
	    "c00c 0002 0001 0000003c 0002 c00c", {0}, DNS_RCODE_FORMERR,
	    1, 2, 0, 0, 0, 0, 0 },
	{ "NSCOUNT 1 and EDNS", "abcd 0100 0001 0000 0001 0001" N_EX T_A
	    "c00c 0002 0001 0000003c 0002 c00c" OPT("04d0", "00", "0000"),
	    {0}, DNS_RCODE_FORMERR, 1, 2, 1, 0, 1232, 0, 0 },
	{ "pointer in qname", HDR_Q "c00c" T_A, {0}, DNS_RCODE_FORMERR,
	    0, 0, 0, 0, 0, 0, 0 },
	{ "pointer in qname, EDNS still seen", "abcd 0100 0001 0000 0000 0001"
	    "c00c" T_A OPT("1000", "00", "0000"), {0}, DNS_RCODE_FORMERR,
	    0, 0, 1, 0, 4096, 0, 0 },
	{ "pointer after a label", HDR_Q "0161 c00c" T_A, {0},
	    DNS_RCODE_FORMERR, 0, 0, 0, 0, 0, 0, 0 },
	{ "label type 01", HDR_Q "41 61" "00" T_A, {0}, DNS_RCODE_FORMERR,
	    0, 0, 0, 0, 0, 0, 0 },
	{ "label type 10", HDR_Q "81 61" "00" T_A, {0}, DNS_RCODE_FORMERR,
	    0, 0, 0, 0, 0, 0, 0 },
	{ "qname truncated in a label", HDR_Q "07 6578616d", {0},
	    DNS_RCODE_FORMERR, 0, 0, 0, 0, 0, 0, 0 },
	{ "qname without root", HDR_Q "07 6578616d706c65", {0},
	    DNS_RCODE_FORMERR, 0, 0, 0, 0, 0, 0, 0 },
	{ "QTYPE truncated", HDR_Q N_EX "00", {0}, DNS_RCODE_FORMERR,
	    0, 0, 0, 0, 0, 0, 0 },
	{ "QCLASS truncated", HDR_Q N_EX "0001 00", {0}, DNS_RCODE_FORMERR,
	    0, 0, 0, 0, 0, 0, 0 },
	{ "63-byte label", NULL, {63, 3}, DNSMSG_OK, 1, 2, 0, 0, 0, 0, 0 },
	{ "64-byte label", NULL, {64, 3}, DNS_RCODE_FORMERR,
	    0, 0, 0, 0, 0, 0, 0 },
	{ "255-byte name", NULL, {63, 63, 63, 61}, DNSMSG_OK, 1, 4,
	    0, 0, 0, 0, 0 },
	{ "256-byte name", NULL, {63, 63, 63, 62}, DNS_RCODE_FORMERR,
	    0, 0, 0, 0, 0, 0, 0 },
	{ "EDNS 4096 DO", "abcd 0100 0001 0000 0000 0001" N_EX T_TXT
	    OPT("1000", "00", "8000"), {0}, DNSMSG_OK, 1, 2, 1, 0, 4096, 1,
	    0 },
	{ "EDNS size 100", "abcd 0100 0001 0000 0000 0001" N_EX T_TXT
	    OPT("0064", "00", "0000"), {0}, DNSMSG_OK, 1, 2, 1, 0, 100, 0, 0 },
	{ "EDNS with cookie option", "abcd 0100 0001 0000 0000 0001" N_EX T_A
	    "00 0029 04d0 00 00 0000 000c 000a 0008 0102030405060708", {0},
	    DNSMSG_OK, 1, 2, 1, 0, 1232, 0, 0 },
	{ "EDNS version 1", "abcd 0100 0001 0000 0000 0001" N_EX T_A
	    OPT("1000", "01", "0000"), {0}, DNS_RCODE_BADVERS, 1, 2, 1, 1,
	    4096, 0, 0 },
	{ "two OPT", "abcd 0100 0001 0000 0000 0002" N_EX T_A
	    OPT("1000", "00", "0000") OPT("1000", "00", "0000"), {0},
	    DNS_RCODE_FORMERR, 1, 2, 1, 0, 4096, 0, 0 },
	{ "OPT owned by qname", "abcd 0100 0001 0000 0000 0001" N_EX T_A
	    "c00c 0029 1000 00 00 0000 0000", {0}, DNS_RCODE_FORMERR, 1, 2,
	    0, 0, 0, 0, 0 },
	{ "OPT RDATA truncated", "abcd 0100 0001 0000 0000 0001" N_EX T_A
	    "00 0029 1000 00 00 0000 000c 000a 0008 0102", {0},
	    DNS_RCODE_FORMERR, 1, 2, 0, 0, 0, 0, 0 },
	{ "OPT fixed part truncated", "abcd 0100 0001 0000 0000 0001" N_EX T_A
	    "00 0029 1000 00", {0}, DNS_RCODE_FORMERR, 1, 2, 0, 0, 0, 0, 0 },
	{ "OPT option overruns RDATA", "abcd 0100 0001 0000 0000 0001" N_EX T_A
	    "00 0029 1000 00 00 0000 0008 000a 0008 01020304", {0},
	    DNS_RCODE_FORMERR, 1, 2, 0, 0, 0, 0, 0 },
	{ "OPT option header cut", "abcd 0100 0001 0000 0000 0001" N_EX T_A
	    "00 0029 1000 00 00 0000 0003 000a 00", {0},
	    DNS_RCODE_FORMERR, 1, 2, 0, 0, 0, 0, 0 },
	{ "ARCOUNT 1, nothing there", "abcd 0100 0001 0000 0000 0001" N_EX T_A,
	    {0}, DNS_RCODE_FORMERR, 1, 2, 0, 0, 0, 0, 0 },
	{ "TSIG-like record then OPT", "abcd 0100 0001 0000 0000 0002" N_EX T_A
	    "03 6b6579 c00c 00fa 00ff 00000000 0004 deadbeef"
	    OPT("1000", "00", "0000"), {0}, DNSMSG_OK, 1, 2, 1, 0, 4096, 0,
	    0 },
	{ "additional owner, bad label type", "abcd 0100 0001 0000 0000 0001"
	    N_EX T_A "41 00 0001 0001 00000000 0000", {0},
	    DNS_RCODE_FORMERR, 1, 2, 0, 0, 0, 0, 0 },
	{ "additional owner over 255 bytes", "abcd 0100 0001 0000 0000 0001"
	    N_EX T_A L63 L63 L63 L62 "00 0001 0001 00000000 0000", {0},
	    DNS_RCODE_FORMERR, 1, 2, 0, 0, 0, 0, 0 },
	{ "additional owner of 255 bytes", "abcd 0100 0001 0000 0000 0001"
	    N_EX T_A L63 L63 L63 L61 "00 0001 0001 00000000 0000", {0},
	    DNSMSG_OK, 1, 2, 0, 0, 0, 0, 0 },
	{ "trailing garbage", HDR_Q N_EX T_A "deadbeef 00 ff", {0}, DNSMSG_OK,
	    1, 2, 0, 0, 0, 0, 0 },
	{ "EDNS then trailing garbage", "abcd 0100 0001 0000 0000 0001" N_EX
	    T_A OPT("0200", "00", "0000") "0102", {0}, DNSMSG_OK, 1, 2, 1, 0,
	    512, 0, 0 },
	{ "uppercase qname", HDR_Q N_EX_UC T_A, {0}, DNSMSG_OK, 1, 2,
	    0, 0, 0, 0, 0 },
};

/* build_labels - a query for a name of labels of the given lengths */
static size_t
build_labels(const uint8_t *labels, uint8_t *pkt, size_t cap)
{
	size_t n = hex(HDR_Q, pkt, cap);
	unsigned i;

	for (i = 0; i < 8 && labels[i] != 0; i++) {
		assert_true(n + 1 + labels[i] < cap);
		pkt[n++] = labels[i];
		memset(pkt + n, 'a' + (int)i, labels[i]);
		n += labels[i];
	}
	assert_true(n + 5 <= cap);
	pkt[n++] = 0;
	n += hex(T_A, pkt + n, cap - n);
	return n;
}

/* test_parse_table - every parser rule, one labelled packet each */
static void
test_parse_table(void **state)
{
	uint8_t pkt[1024];
	size_t i, len;

	for (i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
		const struct pcase *c = &pcases[i];
		struct dns_query q;
		int rc;

		memset(&q, 0x5a, sizeof(q));	/* no field left stale */
		len = c->hex != NULL ? hex(c->hex, pkt, sizeof(pkt)) :
		    build_labels(c->labels, pkt, sizeof(pkt));
		rc = dnsmsg_parse_query(pkt, len, &q);
		if (rc != c->rc)
			fail_msg("%s: verdict %d, expected %d", c->label, rc,
			    c->rc);
		if (rc == DNSMSG_DROP)
			continue;
		if (q.id != 0xabcd || q.opcode != c->opcode)
			fail_msg("%s: id %04x opcode %u", c->label, q.id,
			    q.opcode);
		if ((q.question_end != 0) != c->question)
			fail_msg("%s: question_end %zu", c->label,
			    q.question_end);
		if (c->question) {
			if (q.nlabels != c->nlabels)
				fail_msg("%s: %u labels, expected %u",
				    c->label, q.nlabels, c->nlabels);
			if (q.question_end != DNS_HDRLEN + q.qname_len + 4u)
				fail_msg("%s: question_end %zu", c->label,
				    q.question_end);
		} else if (q.qname_len != 0 || q.nlabels != 0) {
			fail_msg("%s: stale qname", c->label);
		}
		if (q.edns != c->edns)
			fail_msg("%s: edns %d", c->label, q.edns);
		if (c->edns && (q.edns_version != c->version ||
		    q.edns_udp_size != c->udp || q.edns_do != c->dobit))
			fail_msg("%s: edns v%u size %u do %d", c->label,
			    q.edns_version, q.edns_udp_size, q.edns_do);
		if (!c->edns && (q.edns_do || q.edns_version != 0))
			fail_msg("%s: stale edns fields", c->label);
	}
}

/* test_parse_qname - lower-cased copy, label offsets, type and class */
static void
test_parse_qname(void **state)
{
	static const uint8_t want[] = "\007example\003com";
	struct dns_query q;
	uint8_t pkt[512];
	const uint8_t *l;
	unsigned ll;

	query(HDR_Q N_EX_UC "0010 00ff", &q, pkt, sizeof(pkt), DNSMSG_OK);
	assert_int_equal(q.qname_len, 13);
	assert_memory_equal(q.qname, want, 13);	/* incl. the root 0 */
	assert_int_equal(q.nlabels, 2);
	assert_int_equal(q.label_off[0], 0);
	assert_int_equal(q.label_off[1], 8);
	assert_int_equal(q.qtype, DNS_TYPE_TXT);
	assert_int_equal(q.qclass, DNS_CLASS_ANY);
	assert_int_equal(q.flags, 0x0100);
	l = dnsmsg_label(&q, 1, &ll);
	assert_int_equal(ll, 3);
	assert_memory_equal(l, "com", 3);
	/* the packet itself is not touched */
	assert_int_equal(pkt[13], 'E');

	/* bytes outside A-Z stay as they are */
	query(HDR_Q "04 5a5b40c1 00" T_A, &q, pkt, sizeof(pkt), DNSMSG_OK);
	assert_memory_equal(q.qname, "\004z[@\301", 5);
}

/* test_parse_error_keeps_header - id/flags/opcode survive an RCODE */
static void
test_parse_error_keeps_header(void **state)
{
	struct dns_query q;
	uint8_t pkt[512];

	query("1234 2110 0002 0000 0000 0000", &q, pkt, sizeof(pkt),
	    DNS_RCODE_NOTIMP);
	assert_int_equal(q.id, 0x1234);
	assert_int_equal(q.flags, 0x2110);
	assert_int_equal(q.opcode, 4);
	assert_int_equal(q.question_end, 0);
}

/* test_udp_limit - 512 without EDNS, else clamped to 512..server max */
static void
test_udp_limit(void **state)
{
	static const struct {
		const char	*label;
		bool		 edns;
		uint16_t	 size;
		size_t		 max;
		size_t		 want;
	} c[] = {
		{ "no EDNS", false, 0, 1232, 512 },
		{ "EDNS 4096, max 1232", true, 4096, 1232, 1232 },
		{ "EDNS 1000", true, 1000, 1232, 1000 },
		{ "EDNS 100", true, 100, 1232, 512 },
		{ "EDNS 0", true, 0, 4096, 512 },
	};
	struct dns_query q;
	size_t i, got;

	memset(&q, 0, sizeof(q));
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		q.edns = c[i].edns;
		q.edns_udp_size = c[i].size;
		got = dnsmsg_udp_limit(&q, c[i].max);
		if (got != c[i].want)
			fail_msg("%s: %zu", c[i].label, got);
	}
}

/* test_name_to_wire - presentation names, good and bad */
static void
test_name_to_wire(void **state)
{
	static const struct {
		const char	*label;
		const char	*name;
		const char	*wire;		/* NULL = invalid */
	} c[] = {
		{ "root", ".", "00" },
		{ "two labels", "ns1.rbl", "036e7331 0372626c 00" },
		{ "trailing dot", "ns1.rbl.", "036e7331 0372626c 00" },
		{ "case kept", "A.b", "0141 0162 00" },
		{ "empty", "", NULL },
		{ "double dot", "a..b", NULL },
		{ "leading dot", ".a", NULL },
		{ "two dots", "..", NULL },
	};
	uint8_t out[300], want[300];
	char name[400];
	size_t i, n, wn;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		n = dnsmsg_name_to_wire(c[i].name, out, sizeof(out));
		if (c[i].wire == NULL) {
			if (n != 0)
				fail_msg("%s: accepted", c[i].label);
			continue;
		}
		wn = hex(c[i].wire, want, sizeof(want));
		if (n != wn || memcmp(out, want, n) != 0)
			fail_msg("%s: wrong wire form (%zu)", c[i].label, n);
	}
	assert_int_equal(dnsmsg_name_to_wire(NULL, out, sizeof(out)), 0);

	/* 63-byte label fits, 64 does not */
	memset(name, 'x', 63);
	strcpy(name + 63, ".y");
	assert_int_equal(dnsmsg_name_to_wire(name, out, sizeof(out)), 67);
	memset(name, 'x', 64);
	strcpy(name + 64, ".y");
	assert_int_equal(dnsmsg_name_to_wire(name, out, sizeof(out)), 0);

	/* 255 wire bytes fit, 256 do not: 3 x 63 + 61 (+ 62) */
	memset(name, 'x', sizeof(name));
	name[63] = name[127] = name[191] = '.';
	name[253] = '\0';
	assert_int_equal(dnsmsg_name_to_wire(name, out, sizeof(out)), 255);
	name[253] = 'x';
	name[254] = '\0';
	assert_int_equal(dnsmsg_name_to_wire(name, out, sizeof(out)), 0);

	/* cap too small */
	assert_int_equal(dnsmsg_name_to_wire("ns1.rbl", out, 9), 9);
	assert_int_equal(dnsmsg_name_to_wire("ns1.rbl", out, 8), 0);
	assert_int_equal(dnsmsg_name_to_wire(".", out, 0), 0);
}

/* --- writer ---------------------------------------------------------------- */

#define Q_A_IN	"abcd 0100 0001 0000 0000 0000" \
		"01 32 01 30 01 30 03 313237 02 626c 05 6c6f63616c 00" T_A
#define Q_A_EDNS "abcd 0100 0001 0000 0000 0001" \
		"01 32 01 30 01 30 03 313237 02 626c 05 6c6f63616c 00" T_A \
		OPT("1000", "00", "8000")
#define QNAME	"2.0.0.127.bl.local."

/* test_writer_a - A records round-trip through ldns */
static void
test_writer_a(void **state)
{
	struct dns_query q;
	struct dns_writer w;
	uint8_t pkt[512], out[512];
	size_t plen, n;
	ldns_pkt *p;
	ldns_rr *rr;

	plen = query(Q_A_IN, &q, pkt, sizeof(pkt), DNSMSG_OK);
	assert_int_equal(dnsmsg_writer_init(&w, out, sizeof(out), 512, &q,
	    pkt, 1232), 0);
	assert_int_equal(w.len, plen);		/* header + question */
	assert_int_equal(dnsmsg_add_a(&w, DNS_SEC_ANSWER, 0, 300,
	    0x7f000002), 0);
	assert_int_equal(dnsmsg_add_a(&w, DNS_SEC_ANSWER, 0, 300,
	    0x7f000004), 0);
	n = dnsmsg_finish(&w, DNS_RCODE_NOERROR, true);
	assert_int_equal(n, plen + 2 * 16);

	p = must_parse(out, n);
	assert_int_equal(ldns_pkt_id(p), 0xabcd);
	assert_true(ldns_pkt_qr(p));
	assert_true(ldns_pkt_aa(p));
	assert_true(ldns_pkt_rd(p));
	assert_false(ldns_pkt_ra(p));
	assert_false(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_qdcount(p), 1);
	assert_int_equal(ldns_pkt_ancount(p), 2);
	assert_int_equal(ldns_pkt_nscount(p), 0);
	assert_int_equal(ldns_pkt_arcount(p), 0);
	assert_false(ldns_pkt_edns(p));
	rr = ldns_rr_list_rr(ldns_pkt_question(p), 0);
	dname_is(ldns_rr_owner(rr), QNAME);
	assert_int_equal(ldns_rr_get_type(rr), LDNS_RR_TYPE_A);
	rr = ldns_rr_list_rr(ldns_pkt_answer(p), 1);
	dname_is(ldns_rr_owner(rr), QNAME);
	assert_int_equal(ldns_rr_get_type(rr), LDNS_RR_TYPE_A);
	assert_int_equal(ldns_rr_get_class(rr), LDNS_RR_CLASS_IN);
	assert_int_equal(ldns_rr_ttl(rr), 300);
	assert_int_equal(ldns_rdf_size(ldns_rr_rdf(rr, 0)), 4);
	assert_memory_equal(ldns_rdf_data(ldns_rr_rdf(rr, 0)),
	    "\177\000\000\004", 4);
	ldns_pkt_free(p);
}

/* check_txt - TXT rr holds strings of these lengths, filled from text */
static void
check_txt(const ldns_rr *rr, const char *text, const size_t *lens,
    size_t nlens)
{
	size_t i, off = 0;

	assert_int_equal(ldns_rr_get_type(rr), LDNS_RR_TYPE_TXT);
	assert_int_equal(ldns_rr_rd_count(rr), nlens);
	for (i = 0; i < nlens; i++) {
		const ldns_rdf *d = ldns_rr_rdf(rr, i);
		const uint8_t *b = ldns_rdf_data(d);

		assert_int_equal(ldns_rdf_size(d), lens[i] + 1);
		assert_int_equal(b[0], lens[i]);
		assert_memory_equal(b + 1, text + off, lens[i]);
		off += lens[i];
	}
}

/* test_writer_txt - long text splits into 255-byte strings */
static void
test_writer_txt(void **state)
{
	static const size_t l600[] = { 255, 255, 90 }, l255[] = { 255 },
	    l256[] = { 255, 1 }, l0[] = { 0 }, l14[] = { 14 };
	struct dns_query q;
	struct dns_writer w;
	uint8_t pkt[512], out[4096];
	char text[600];
	size_t i, n;
	ldns_pkt *p;

	for (i = 0; i < sizeof(text); i++)
		text[i] = (char)('a' + i % 26);
	query(Q_A_EDNS, &q, pkt, sizeof(pkt), DNSMSG_OK);
	assert_int_equal(dnsmsg_writer_init(&w, out, sizeof(out), 4096, &q,
	    pkt, 4096), 0);
	assert_int_equal(dnsmsg_add_txt(&w, DNS_SEC_ANSWER, 0, 60, text,
	    600), 0);
	assert_int_equal(dnsmsg_add_txt(&w, DNS_SEC_ANSWER, 0, 60, text,
	    255), 0);
	assert_int_equal(dnsmsg_add_txt(&w, DNS_SEC_ANSWER, 0, 60, text,
	    256), 0);
	assert_int_equal(dnsmsg_add_txt(&w, DNS_SEC_ANSWER, 0, 60, "", 0), 0);
	assert_int_equal(dnsmsg_add_txt(&w, DNS_SEC_ANSWER, 0, 60,
	    "Listed, see x", 14), 0);	/* includes the NUL: binary safe */
	n = dnsmsg_finish(&w, DNS_RCODE_NOERROR, true);

	p = must_parse(out, n);
	assert_int_equal(ldns_pkt_ancount(p), 5);
	check_txt(ldns_rr_list_rr(ldns_pkt_answer(p), 0), text, l600, 3);
	check_txt(ldns_rr_list_rr(ldns_pkt_answer(p), 1), text, l255, 1);
	check_txt(ldns_rr_list_rr(ldns_pkt_answer(p), 2), text, l256, 2);
	check_txt(ldns_rr_list_rr(ldns_pkt_answer(p), 3), "", l0, 1);
	check_txt(ldns_rr_list_rr(ldns_pkt_answer(p), 4), "Listed, see x",
	    l14, 1);
	assert_true(ldns_pkt_edns(p));
	ldns_pkt_free(p);
}

/* test_writer_txt_huge - text beyond one RR's RDATA never overruns */
static void
test_writer_txt_huge(void **state)
{
	static uint8_t out[70000];
	static char text[70000];
	struct dns_query q;
	struct dns_writer w;
	uint8_t pkt[512];
	size_t n;
	ldns_pkt *p;

	memset(text, 'z', sizeof(text));
	memset(out, 0xee, sizeof(out));
	query(Q_A_IN, &q, pkt, sizeof(pkt), DNSMSG_OK);
	/* TCP-sized reply: a 64 KiB TXT still cannot fit with the header */
	assert_int_equal(dnsmsg_writer_init(&w, out, sizeof(out), 65535, &q,
	    pkt, 1232), 0);
	assert_int_equal(dnsmsg_add_txt(&w, DNS_SEC_ANSWER, 0, 60, text,
	    sizeof(text)), RBLMUX_ESPACE);
	n = dnsmsg_finish(&w, DNS_RCODE_NOERROR, true);
	assert_int_equal(n, w.question_end);
	assert_int_equal(out[n], 0xee);
	assert_true(out[2] & 0x02);		/* TC */

	/* 60000 bytes: 236 strings, one RR, fits in 65535 */
	assert_int_equal(dnsmsg_writer_init(&w, out, sizeof(out), 65535, &q,
	    pkt, 1232), 0);
	assert_int_equal(dnsmsg_add_txt(&w, DNS_SEC_ANSWER, 0, 60, text,
	    60000), 0);
	n = dnsmsg_finish(&w, DNS_RCODE_NOERROR, true);
	assert_int_equal(n, w.question_end + 2 + 10 + 60000 + 236);
	p = must_parse(out, n);
	assert_int_equal(ldns_rr_rd_count(ldns_rr_list_rr(ldns_pkt_answer(p),
	    0)), 236);
	ldns_pkt_free(p);

	/* limit and cap above 65535: the reply still stops at 65535 */
	assert_int_equal(dnsmsg_writer_init(&w, out, sizeof(out), 100000, &q,
	    pkt, 1232), 0);
	assert_int_equal(w.limit, DNS_MAXMSG);
	assert_int_equal(dnsmsg_add_txt(&w, DNS_SEC_ANSWER, 0, 60, text,
	    60000), 0);
	assert_int_equal(dnsmsg_add_txt(&w, DNS_SEC_ANSWER, 0, 60, text,
	    5500), RBLMUX_ESPACE);
	assert_true(w.len <= DNS_MAXMSG);
	assert_int_equal(dnsmsg_add_txt(&w, DNS_SEC_ANSWER, 0, 60, text,
	    SIZE_MAX), RBLMUX_ESPACE);
}

/* test_writer_ns_soa - apex NS and SOA, NXDOMAIN with SOA in authority */
static void
test_writer_ns_soa(void **state)
{
	struct dns_query q;
	struct dns_writer w;
	uint8_t pkt[512], out[512];
	size_t n;
	ldns_pkt *p;
	ldns_rr *rr;
	unsigned apex;

	query(Q_A_IN, &q, pkt, sizeof(pkt), DNSMSG_OK);
	apex = q.nlabels - 2;			/* bl.local */
	assert_int_equal(dnsmsg_writer_init(&w, out, sizeof(out), 512, &q,
	    pkt, 1232), 0);
	assert_int_equal(dnsmsg_add_ns(&w, DNS_SEC_ANSWER, apex, 3600,
	    "ns1.bl.local"), 0);
	assert_int_equal(dnsmsg_add_ns(&w, DNS_SEC_ANSWER, apex, 3600,
	    "ns2.example.net."), 0);
	assert_int_equal(dnsmsg_add_soa(&w, DNS_SEC_AUTHORITY, apex, 60,
	    "ns1.bl.local", "hostmaster.bl.local", 2024010101, 3600, 600,
	    86400, 60), 0);
	n = dnsmsg_finish(&w, DNS_RCODE_NXDOMAIN, true);

	p = must_parse(out, n);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(ldns_pkt_ancount(p), 2);
	assert_int_equal(ldns_pkt_nscount(p), 1);
	rr = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
	assert_int_equal(ldns_rr_get_type(rr), LDNS_RR_TYPE_NS);
	dname_is(ldns_rr_owner(rr), "bl.local.");
	dname_is(ldns_rr_rdf(rr, 0), "ns1.bl.local.");
	rr = ldns_rr_list_rr(ldns_pkt_answer(p), 1);
	dname_is(ldns_rr_rdf(rr, 0), "ns2.example.net.");
	rr = ldns_rr_list_rr(ldns_pkt_authority(p), 0);
	assert_int_equal(ldns_rr_get_type(rr), LDNS_RR_TYPE_SOA);
	dname_is(ldns_rr_owner(rr), "bl.local.");
	assert_int_equal(ldns_rr_ttl(rr), 60);
	assert_int_equal(ldns_rr_rd_count(rr), 7);
	dname_is(ldns_rr_rdf(rr, 0), "ns1.bl.local.");
	dname_is(ldns_rr_rdf(rr, 1), "hostmaster.bl.local.");
	assert_int_equal(ldns_rdf2native_int32(ldns_rr_rdf(rr, 2)),
	    2024010101);
	assert_int_equal(ldns_rdf2native_int32(ldns_rr_rdf(rr, 3)), 3600);
	assert_int_equal(ldns_rdf2native_int32(ldns_rr_rdf(rr, 4)), 600);
	assert_int_equal(ldns_rdf2native_int32(ldns_rr_rdf(rr, 5)), 86400);
	assert_int_equal(ldns_rdf2native_int32(ldns_rr_rdf(rr, 6)), 60);
	ldns_pkt_free(p);
}

/* test_writer_raw - ready-made RDATA: same bytes as the typed adds */
static void
test_writer_raw(void **state)
{
	static const uint8_t aaaa[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	struct dns_query q;
	struct dns_writer w;
	uint8_t pkt[512], out1[512], out2[512], soa[300];
	size_t n1, n2, m, r;
	ldns_pkt *p;
	ldns_rr *rr;

	query(Q_A_EDNS, &q, pkt, sizeof(pkt), DNSMSG_OK);
	assert_int_equal(dnsmsg_writer_init(&w, out1, sizeof(out1), 512, &q,
	    pkt, 1232), 0);
	assert_int_equal(dnsmsg_add_soa(&w, DNS_SEC_AUTHORITY, 4, 60,
	    "ns1.bl.local", "hostmaster.bl.local", 7, 1, 2, 3, 4), 0);
	n1 = dnsmsg_finish(&w, DNS_RCODE_NXDOMAIN, true);

	m = dnsmsg_name_to_wire("ns1.bl.local", soa, sizeof(soa));
	r = dnsmsg_name_to_wire("hostmaster.bl.local", soa + m,
	    sizeof(soa) - m);
	hex("00000007 00000001 00000002 00000003 00000004", soa + m + r, 20);
	assert_int_equal(dnsmsg_writer_init(&w, out2, sizeof(out2), 512, &q,
	    pkt, 1232), 0);
	assert_int_equal(dnsmsg_add_rr(&w, DNS_SEC_AUTHORITY, 4, DNS_TYPE_SOA,
	    60, soa, m + r + 20), 0);
	n2 = dnsmsg_finish(&w, DNS_RCODE_NXDOMAIN, true);
	assert_int_equal(n1, n2);
	assert_memory_equal(out1, out2, n1);

	/* a type the writer has no helper for */
	assert_int_equal(dnsmsg_writer_init(&w, out2, sizeof(out2), 512, &q,
	    pkt, 1232), 0);
	assert_int_equal(dnsmsg_add_rr(&w, DNS_SEC_ANSWER, 0, DNS_TYPE_AAAA,
	    30, aaaa, sizeof(aaaa)), 0);
	assert_int_equal(dnsmsg_add_rr(&w, DNS_SEC_ANSWER, 7, DNS_TYPE_AAAA,
	    30, aaaa, sizeof(aaaa)), RBLMUX_EINVAL);
	n2 = dnsmsg_finish(&w, DNS_RCODE_NOERROR, true);
	p = must_parse(out2, n2);
	rr = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
	assert_int_equal(ldns_rr_get_type(rr), LDNS_RR_TYPE_AAAA);
	assert_memory_equal(ldns_rdf_data(ldns_rr_rdf(rr, 0)), aaaa, 16);
	ldns_pkt_free(p);
}

/* test_writer_owners - each owner index becomes the right pointer */
static void
test_writer_owners(void **state)
{
	static const char *names[] = { "2.0.0.127.bl.local.", "0.0.127.bl.local.",
	    "0.127.bl.local.", "127.bl.local.", "bl.local.", "local.", "." };
	struct dns_query q;
	struct dns_writer w;
	uint8_t pkt[512], out[512];
	size_t n, at;
	unsigned k;
	ldns_pkt *p;

	query(Q_A_IN, &q, pkt, sizeof(pkt), DNSMSG_OK);
	assert_int_equal(q.nlabels, 6);
	assert_int_equal(dnsmsg_writer_init(&w, out, sizeof(out), 512, &q,
	    pkt, 1232), 0);
	for (k = 0; k <= q.nlabels; k++)
		assert_int_equal(dnsmsg_add_a(&w, DNS_SEC_ANSWER, k, 10,
		    0x7f000000 + k), 0);
	n = dnsmsg_finish(&w, DNS_RCODE_NOERROR, true);

	/* bytes: pointers to 12 + label offset, the root as one 0 byte */
	at = w.question_end;
	for (k = 0; k < q.nlabels; k++) {
		if (get16(out + at) != (0xc000u | (12u + q.label_off[k])))
			fail_msg("owner %u: %04x", k, get16(out + at));
		at += 2 + 14;
	}
	assert_int_equal(out[at], 0);
	assert_int_equal(get16(out + at + 1), DNS_TYPE_A);
	assert_int_equal(at + 1 + 14, n);

	p = must_parse(out, n);
	for (k = 0; k <= q.nlabels; k++)
		dname_is(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_answer(p), k)),
		    names[k]);
	ldns_pkt_free(p);

	/* root qname: owner 0 is the root */
	query(HDR_Q "00 0002 0001", &q, pkt, sizeof(pkt), DNSMSG_OK);
	assert_int_equal(dnsmsg_writer_init(&w, out, sizeof(out), 512, &q,
	    pkt, 1232), 0);
	assert_int_equal(dnsmsg_add_ns(&w, DNS_SEC_ANSWER, 0, 10, "a.root"),
	    0);
	n = dnsmsg_finish(&w, DNS_RCODE_NOERROR, true);
	assert_int_equal(out[w.question_end], 0);
	p = must_parse(out, n);
	dname_is(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_answer(p), 0)), ".");
	ldns_pkt_free(p);
}

/* test_writer_bad_args - refused calls write nothing */
static void
test_writer_bad_args(void **state)
{
	struct dns_query q, bad;
	struct dns_writer w;
	uint8_t pkt[512], out[512];
	size_t len;

	query(Q_A_IN, &q, pkt, sizeof(pkt), DNSMSG_OK);
	assert_int_equal(dnsmsg_writer_init(&w, out, sizeof(out), 512, &q,
	    pkt, 1232), 0);
	len = w.len;
	assert_int_equal(dnsmsg_add_a(&w, DNS_SEC_ANSWER, q.nlabels + 1, 1, 1),
	    RBLMUX_EINVAL);
	assert_int_equal(dnsmsg_add_ns(&w, DNS_SEC_ANSWER, 0, 1, "a..b"),
	    RBLMUX_EINVAL);
	assert_int_equal(dnsmsg_add_soa(&w, DNS_SEC_ANSWER, 0, 1, "a", "",
	    1, 1, 1, 1, 1), RBLMUX_EINVAL);
	assert_int_equal(dnsmsg_add_a(&w, (enum dns_section)3, 0, 1, 1),
	    RBLMUX_EINVAL);
	assert_int_equal(w.len, len);
	assert_int_equal(dnsmsg_add_a(&w, DNS_SEC_AUTHORITY, 0, 1, 1), 0);
	/* sections do not go back */
	assert_int_equal(dnsmsg_add_a(&w, DNS_SEC_ANSWER, 0, 1, 1),
	    RBLMUX_EINVAL);
	assert_int_equal(dnsmsg_add_a(&w, DNS_SEC_ADDITIONAL, 0, 1, 1), 0);
	assert_false(w.overflow);
	assert_int_equal(w.count[0], 0);
	assert_int_equal(w.count[1], 1);
	assert_int_equal(w.count[2], 1);

	/* no parsed question */
	query("abcd 0100 0002 0000 0000 0000", &bad, pkt, sizeof(pkt),
	    DNS_RCODE_FORMERR);
	assert_int_equal(dnsmsg_writer_init(&w, out, sizeof(out), 512, &bad,
	    pkt, 1232), RBLMUX_EINVAL);

	/* header + question (36 bytes) + OPT (11) must fit */
	query(Q_A_EDNS, &q, pkt, sizeof(pkt), DNSMSG_OK);
	assert_int_equal(dnsmsg_writer_init(&w, out, 46, 512, &q, pkt, 1232),
	    RBLMUX_ESPACE);
	assert_int_equal(dnsmsg_writer_init(&w, out, 512, 46, &q, pkt, 1232),
	    RBLMUX_ESPACE);
	assert_int_equal(dnsmsg_writer_init(&w, out, 47, 512, &q, pkt, 1232),
	    0);
	assert_int_equal(dnsmsg_add_a(&w, DNS_SEC_ANSWER, 0, 1, 1),
	    RBLMUX_ESPACE);
	assert_int_equal(dnsmsg_finish(&w, 0, true), 47);
	assert_int_equal(out[2] & 0x02, 0x02);	/* TC */
}

/* fill - add TXT records until one does not fit; returns how many fit */
static unsigned
fill(struct dns_writer *w, size_t txtlen)
{
	static char text[300];
	unsigned n = 0;
	int rc;

	memset(text, 't', sizeof(text));
	while ((rc = dnsmsg_add_txt(w, DNS_SEC_ANSWER, 0, 60, text,
	    txtlen)) == 0)
		n++;
	assert_int_equal(rc, RBLMUX_ESPACE);
	assert_true(w->overflow);
	return n;
}

/* test_writer_overflow - TC=1, empty sections, OPT kept, limit obeyed */
static void
test_writer_overflow(void **state)
{
	struct dns_query q;
	struct dns_writer w;
	uint8_t pkt[512], out[2048];
	size_t n, qend;
	unsigned fit;
	ldns_pkt *p;

	/* EDNS: 512-byte limit in a bigger buffer; canary behind it */
	query(Q_A_EDNS, &q, pkt, sizeof(pkt), DNSMSG_OK);
	memset(out, 0xee, sizeof(out));
	assert_int_equal(dnsmsg_writer_init(&w, out, sizeof(out), 512, &q,
	    pkt, 1232), 0);
	qend = w.question_end;
	fit = fill(&w, 200);			/* 213 bytes each */
	assert_int_equal(fit, (512 - qend - DNS_OPT_LEN) / 213);
	assert_true(w.len <= 512 - DNS_OPT_LEN);
	/* nothing more is written once it overflowed, not even a small A */
	assert_int_equal(dnsmsg_add_a(&w, DNS_SEC_ADDITIONAL, 0, 1, 1),
	    RBLMUX_ESPACE);
	n = dnsmsg_finish(&w, DNS_RCODE_NOERROR, true);
	assert_int_equal(n, qend + DNS_OPT_LEN);
	for (size_t i = 512; i < sizeof(out); i++)
		if (out[i] != 0xee)
			fail_msg("byte %zu beyond the limit written", i);
	p = must_parse(out, n);
	assert_true(ldns_pkt_tc(p));
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_int_equal(ldns_pkt_nscount(p), 0);
	assert_int_equal(ldns_pkt_qdcount(p), 1);
	assert_true(ldns_pkt_edns(p));
	assert_int_equal(ldns_pkt_edns_udp_size(p), 1232);
	dname_is(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(p), 0)),
	    QNAME);
	ldns_pkt_free(p);

	/* no EDNS: limit from cap; records may use all of it */
	query(Q_A_IN, &q, pkt, sizeof(pkt), DNSMSG_OK);
	memset(out, 0xee, sizeof(out));
	assert_int_equal(dnsmsg_writer_init(&w, out, 300, 512, &q, pkt, 1232),
	    0);
	fill(&w, 14);				/* 27 bytes each */
	assert_true(w.len <= 300 && w.len > 300 - 27);
	n = dnsmsg_finish(&w, DNS_RCODE_NOERROR, false);
	assert_int_equal(n, w.question_end);
	assert_int_equal(out[2], 0x83);		/* QR, TC, RD */
	assert_int_equal(out[3], 0x00);
	assert_int_equal(get16(out + 6), 0);
	assert_int_equal(get16(out + 10), 0);
	for (size_t i = 300; i < sizeof(out); i++)
		if (out[i] != 0xee)
			fail_msg("byte %zu beyond cap written", i);
	p = must_parse(out, n);
	assert_true(ldns_pkt_tc(p));
	assert_false(ldns_pkt_edns(p));
	ldns_pkt_free(p);

	/* an exact fit is not an overflow */
	query(Q_A_IN, &q, pkt, sizeof(pkt), DNSMSG_OK);
	assert_int_equal(dnsmsg_writer_init(&w, out, sizeof(out), qend + 16,
	    &q, pkt, 1232), 0);
	assert_int_equal(dnsmsg_add_a(&w, DNS_SEC_ANSWER, 0, 1, 1), 0);
	assert_int_equal(dnsmsg_finish(&w, 0, true), qend + 16);
	assert_false(out[2] & 0x02);

	/* with EDNS the OPT's 11 bytes are kept free: the same A needs 27 */
	query(Q_A_EDNS, &q, pkt, sizeof(pkt), DNSMSG_OK);
	memset(out, 0xee, sizeof(out));
	assert_int_equal(dnsmsg_writer_init(&w, out, sizeof(out), qend + 26,
	    &q, pkt, 1232), 0);
	assert_int_equal(dnsmsg_add_a(&w, DNS_SEC_ANSWER, 0, 1, 1),
	    RBLMUX_ESPACE);
	assert_int_equal(dnsmsg_finish(&w, 0, true), qend + 11);
	assert_true(out[2] & 0x02);
	assert_int_equal(out[qend + 11], 0xee);
	assert_int_equal(dnsmsg_writer_init(&w, out, sizeof(out), qend + 27,
	    &q, pkt, 1232), 0);
	assert_int_equal(dnsmsg_add_a(&w, DNS_SEC_ANSWER, 0, 1, 1), 0);
	assert_int_equal(dnsmsg_finish(&w, 0, true), qend + 27);
	assert_false(out[2] & 0x02);
}

/* test_writer_0x20 - the client's case is echoed when pkt is given */
static void
test_writer_0x20(void **state)
{
	static const uint8_t uc[] = "\007ExAmPlE\003COM";
	struct dns_query q;
	struct dns_writer w;
	uint8_t pkt[512], out[512];
	size_t plen, n;
	ldns_pkt *p;

	plen = query(HDR_Q N_EX_UC T_A, &q, pkt, sizeof(pkt), DNSMSG_OK);
	assert_int_equal(dnsmsg_writer_init(&w, out, sizeof(out), 512, &q,
	    pkt, 1232), 0);
	assert_int_equal(dnsmsg_add_a(&w, DNS_SEC_ANSWER, 1, 5, 1), 0);
	n = dnsmsg_finish(&w, DNS_RCODE_NOERROR, true);
	assert_memory_equal(out + 12, pkt + 12, plen - 12);
	assert_memory_equal(out + 12, uc, 13);
	p = must_parse(out, n);
	dname_is(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_answer(p), 0)),
	    "com.");
	ldns_pkt_free(p);

	/* without pkt: q's lower-cased name */
	assert_int_equal(dnsmsg_writer_init(&w, out, sizeof(out), 512, &q,
	    NULL, 1232), 0);
	n = dnsmsg_finish(&w, DNS_RCODE_NOERROR, true);
	assert_int_equal(n, plen);
	assert_memory_equal(out + 12, "\007example\003com", 13);
	assert_memory_equal(out + 25, "\000\001\000\001", 4);
}

/* test_writer_flags_opt - reply header bits and the OPT RR */
static void
test_writer_flags_opt(void **state)
{
	struct dns_query q;
	struct dns_writer w;
	uint8_t pkt[512], out[512];
	size_t n;
	ldns_pkt *p;

	/* RD clear, RA/AD/CD set in the query: none comes back */
	query("abcd 00b0 0001 0000 0000 0001" N_EX T_A
	    OPT("1000", "00", "8000"), &q, pkt, sizeof(pkt), DNSMSG_OK);
	assert_true(q.edns_do);
	assert_int_equal(dnsmsg_writer_init(&w, out, sizeof(out), 512, &q,
	    pkt, 100), 0);
	assert_int_equal(dnsmsg_add_a(&w, DNS_SEC_ANSWER, 0, 5, 1), 0);
	n = dnsmsg_finish(&w, DNS_RCODE_NOERROR, false);
	assert_int_equal(get16(out + 2), 0x8000);
	assert_int_equal(get16(out + 10), 1);	/* ARCOUNT: the OPT */
	/* OPT: root, type 41, class 512 (100 raised), TTL 0, RDLEN 0 */
	assert_memory_equal(out + n - 11,
	    "\000\000\051\002\000\000\000\000\000\000\000", 11);
	p = must_parse(out, n);
	assert_true(ldns_pkt_edns(p));
	assert_false(ldns_pkt_edns_do(p));
	assert_int_equal(ldns_pkt_edns_version(p), 0);
	assert_int_equal(ldns_pkt_edns_udp_size(p), 512);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);

	/* OPT after records in all sections; REFUSED in the header */
	query(Q_A_EDNS, &q, pkt, sizeof(pkt), DNSMSG_OK);
	assert_int_equal(dnsmsg_writer_init(&w, out, sizeof(out), 512, &q,
	    pkt, 1232), 0);
	assert_int_equal(dnsmsg_add_a(&w, DNS_SEC_ANSWER, 0, 5, 1), 0);
	assert_int_equal(dnsmsg_add_ns(&w, DNS_SEC_AUTHORITY, 4, 5, "ns"), 0);
	assert_int_equal(dnsmsg_add_a(&w, DNS_SEC_ADDITIONAL, 5, 5, 2), 0);
	n = dnsmsg_finish(&w, DNS_RCODE_REFUSED, false);
	p = must_parse(out, n);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(ldns_pkt_nscount(p), 1);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_additional(p)), 1);
	assert_int_equal(ldns_pkt_edns_udp_size(p), 1232);
	assert_false(ldns_pkt_aa(p));
	ldns_pkt_free(p);

	/* extended RCODE: high bits into OPT; without EDNS it is FORMERR */
	query(Q_A_EDNS, &q, pkt, sizeof(pkt), DNSMSG_OK);
	assert_int_equal(dnsmsg_writer_init(&w, out, sizeof(out), 512, &q,
	    pkt, 1232), 0);
	n = dnsmsg_finish(&w, DNS_RCODE_BADVERS, false);
	assert_int_equal(get16(out + 2) & 0xf, 0);
	assert_int_equal(out[n - 6], 1);	/* extended RCODE 16 >> 4 */
	query(Q_A_IN, &q, pkt, sizeof(pkt), DNSMSG_OK);
	assert_int_equal(dnsmsg_writer_init(&w, out, sizeof(out), 512, &q,
	    pkt, 1232), 0);
	n = dnsmsg_finish(&w, DNS_RCODE_BADVERS, false);
	assert_int_equal(get16(out + 2) & 0xf, DNS_RCODE_FORMERR);
	assert_int_equal(n, w.question_end);
	assert_int_equal(dnsmsg_writer_init(&w, out, sizeof(out), 512, &q,
	    pkt, 1232), 0);
	dnsmsg_finish(&w, -5, false);
	assert_int_equal(get16(out + 2) & 0xf, DNS_RCODE_SERVFAIL);
}

/* --- error replies --------------------------------------------------------- */

struct ecase {
	const char	*label;
	const char	*hex;
	int		 rcode;		/* verdict of the parse, then sent */
	uint16_t	 flags;		/* expected reply flags word */
	unsigned	 qd;		/* question echoed */
	bool		 opt;
	uint8_t		 ext;		/* extended RCODE in OPT */
};

static const struct ecase ecases[] = {
	{ "QDCOUNT 2", "abcd 0100 0002 0000 0000 0000" N_EX T_A N_EX T_A,
	    DNS_RCODE_FORMERR, 0x8101, 0, 0, 0 },
	{ "QDCOUNT 0 with EDNS", "abcd 0000 0000 0000 0000 0001"
	    OPT("1000", "00", "0000"), DNS_RCODE_FORMERR, 0x8001, 0, 1, 0 },
	{ "pointer in qname", HDR_Q "c00c" T_A, DNS_RCODE_FORMERR, 0x8101, 0,
	    0, 0 },
	{ "ANCOUNT 1: question echoed", "abcd 0100 0001 0001 0000 0000" N_EX
	    T_A "c00c 0001 0001 0000003c 0004 7f000002", DNS_RCODE_FORMERR,
	    0x8101, 1, 0, 0 },
	{ "NOTIFY", "abcd 2500 0001 0000 0000 0000" N_EX "0006 0001",
	    DNS_RCODE_NOTIMP, 0xa104, 1, 0, 0 },
	{ "STATUS, RD clear", "abcd 1000 0000 0000 0000 0000",
	    DNS_RCODE_NOTIMP, 0x9004, 0, 0, 0 },
	{ "BADVERS", "abcd 0100 0001 0000 0000 0001" N_EX T_A
	    OPT("1000", "01", "8000"), DNS_RCODE_BADVERS, 0x8100, 1, 1, 1 },
	{ "two OPT", "abcd 0100 0001 0000 0000 0002" N_EX T_A
	    OPT("1000", "00", "0000") OPT("1000", "00", "0000"),
	    DNS_RCODE_FORMERR, 0x8101, 1, 1, 0 },
	{ "broken OPT: no OPT back", "abcd 0100 0001 0000 0000 0001" N_EX T_A
	    "00 0029 1000", DNS_RCODE_FORMERR, 0x8101, 1, 0, 0 },
	{ "REFUSED with EDNS", "abcd 0100 0001 0000 0000 0001" N_EX_UC T_A
	    OPT("1000", "00", "0000"), DNSMSG_OK, 0x8105, 1, 1, 0 },
	{ "REFUSED without EDNS", HDR_Q N_EX T_A, DNSMSG_OK, 0x8105, 1, 0, 0 },
};

/* test_error_replies - header, echoed question and OPT of error replies */
static void
test_error_replies(void **state)
{
	uint8_t pkt[512], out[512];
	size_t i, plen, n, want;

	for (i = 0; i < sizeof(ecases) / sizeof(ecases[0]); i++) {
		const struct ecase *c = &ecases[i];
		int rcode = c->rcode == DNSMSG_OK ? DNS_RCODE_REFUSED :
		    c->rcode;
		struct dns_query q;
		ldns_pkt *p;

		plen = query(c->hex, &q, pkt, sizeof(pkt), c->rcode);
		memset(out, 0xee, sizeof(out));
		n = dnsmsg_error_reply(pkt, plen, &q, rcode, out, sizeof(out));
		want = 12 + (c->qd ? q.qname_len + 4u : 0) +
		    (c->opt ? 11 : 0);
		if (n != want)
			fail_msg("%s: length %zu, expected %zu", c->label, n,
			    want);
		assert_int_equal(out[n], 0xee);
		if (get16(out) != 0xabcd || get16(out + 2) != c->flags)
			fail_msg("%s: header %04x %04x", c->label, get16(out),
			    get16(out + 2));
		if (get16(out + 4) != c->qd || get16(out + 6) != 0 ||
		    get16(out + 8) != 0 || get16(out + 10) != (c->opt ? 1u : 0u))
			fail_msg("%s: counts", c->label);
		if (c->qd)	/* echoed byte for byte, case included */
			assert_memory_equal(out + 12, pkt + 12,
			    q.question_end - 12);
		if (c->opt) {
			if (out[n - 11] != 0 || get16(out + n - 10) != 41 ||
			    get16(out + n - 8) != DNSMSG_ERR_EDNS_SIZE ||
			    out[n - 6] != c->ext || out[n - 5] != 0 ||
			    get16(out + n - 4) != 0)
				fail_msg("%s: OPT", c->label);
		}
		p = must_parse(out, n);
		assert_int_equal(ldns_pkt_edns(p), c->opt);
		assert_true(ldns_pkt_qr(p));
		ldns_pkt_free(p);
	}
}

/* test_error_reply_cap - small buffers: question dropped, then nothing */
static void
test_error_reply_cap(void **state)
{
	struct dns_query q;
	uint8_t pkt[512], out[64];
	size_t plen;

	plen = query("abcd 0100 0001 0000 0000 0001" N_EX T_A
	    OPT("1000", "01", "0000"), &q, pkt, sizeof(pkt),
	    DNS_RCODE_BADVERS);
	assert_int_equal(dnsmsg_error_reply(pkt, plen, &q, DNS_RCODE_BADVERS,
	    out, 40), 40);
	assert_int_equal(dnsmsg_error_reply(pkt, plen, &q, DNS_RCODE_BADVERS,
	    out, 39), 23);
	assert_int_equal(get16(out + 4), 0);
	assert_int_equal(get16(out + 10), 1);
	assert_int_equal(dnsmsg_error_reply(pkt, plen, &q, DNS_RCODE_BADVERS,
	    out, 22), 0);
	/* pkt NULL: the question comes from q */
	assert_int_equal(dnsmsg_error_reply(NULL, 0, &q, DNS_RCODE_FORMERR,
	    out, sizeof(out)), 40);
	assert_memory_equal(out + 12, pkt + 12, 17);
	/* BADVERS always carries OPT, even if q says no EDNS */
	q.edns = false;
	assert_int_equal(dnsmsg_error_reply(pkt, plen, &q, DNS_RCODE_BADVERS,
	    out, sizeof(out)), 40);
	assert_int_equal(get16(out + 10), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_parse_qname),
		cmocka_unit_test(test_parse_error_keeps_header),
		cmocka_unit_test(test_udp_limit),
		cmocka_unit_test(test_name_to_wire),
		cmocka_unit_test(test_writer_a),
		cmocka_unit_test(test_writer_txt),
		cmocka_unit_test(test_writer_txt_huge),
		cmocka_unit_test(test_writer_ns_soa),
		cmocka_unit_test(test_writer_raw),
		cmocka_unit_test(test_writer_owners),
		cmocka_unit_test(test_writer_bad_args),
		cmocka_unit_test(test_writer_overflow),
		cmocka_unit_test(test_writer_0x20),
		cmocka_unit_test(test_writer_flags_opt),
		cmocka_unit_test(test_error_replies),
		cmocka_unit_test(test_error_reply_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
