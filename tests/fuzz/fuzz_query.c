/*
 * fuzz_query.c -- libFuzzer target for the query parser and reply writer.
 *
 * Parses arbitrary bytes as a query. A parse that returns an RCODE gets
 * an error reply; a clean parse gets a reply with records at several
 * owners (A, TXT of varying length, NS, SOA, raw AAAA) into a buffer whose size
 * and limit are derived from the input, so that truncation is reached
 * too. The buffer is allocated at exactly its capacity, so ASan catches
 * any write past it, and every reply must parse with ldns.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dnsmsg.h"
#include "err.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check - abort unless ldns accepts reply and its header matches q */
static void
check(const uint8_t *reply, size_t n, const struct dns_query *q, bool tc)
{
	ldns_pkt *p = NULL;

	if (n < DNS_HDRLEN)
		abort();
	if (ldns_wire2pkt(&p, reply, n) != LDNS_STATUS_OK) {
		fprintf(stderr, "ldns rejects a %zu-byte reply\n", n);
		abort();
	}
	if (ldns_pkt_id(p) != q->id || !ldns_pkt_qr(p) || ldns_pkt_ra(p) ||
	    ldns_pkt_edns(p) != q->edns)
		abort();
	if (tc && (!ldns_pkt_tc(p) || ldns_pkt_ancount(p) != 0 ||
	    ldns_pkt_nscount(p) != 0))
		abort();
	ldns_pkt_free(p);
}

/* check_query - the parsed name agrees with its label offsets */
static void
check_query(const struct dns_query *q, size_t size)
{
	unsigned i, off = 0;

	if (q->question_end != DNS_HDRLEN + (size_t)q->qname_len + 4 ||
	    q->question_end > size || q->qname_len == 0)
		abort();
	for (i = 0; i < q->nlabels; i++) {
		if (q->label_off[i] != off || q->qname[off] == 0 ||
		    q->qname[off] > 63)
			abort();
		off += q->qname[off] + 1u;
	}
	if (off + 1u != q->qname_len || q->qname[off] != 0)
		abort();
}

/* hash - FNV-1a over the input: drives sizes and owners */
static uint32_t
hash(const uint8_t *d, size_t n)
{
	uint32_t h = 2166136261u;

	while (n-- > 0)
		h = (h ^ *d++) * 16777619u;
	return h;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[1200];
	struct dns_query q;
	struct dns_writer w;
	uint8_t *out;
	size_t cap, limit, n, i;
	uint32_t h;
	unsigned nl;
	int rc, rcode;

	rc = dnsmsg_parse_query(data, size, &q);
	if (rc == DNSMSG_DROP)
		return 0;
	if (rc != DNSMSG_OK) {
		if (q.question_end != 0)
			check_query(&q, size);
		out = malloc(512);
		n = dnsmsg_error_reply(data, size, &q, rc, out, 512);
		if (n == 0 || n > 512)
			abort();
		check(out, n, &q, false);
		free(out);
		return 0;
	}
	check_query(&q, size);

	h = hash(data, size);
	switch (h & 3) {
	case 0:
		limit = 512;
		break;
	case 1:
		limit = dnsmsg_udp_limit(&q, 1232);
		break;
	case 2:
		limit = 65535;
		break;
	default:
		limit = (h >> 2) % 1500;	/* may be below the question */
		break;
	}
	cap = (h & 0x40) ? limit : limit / 2 + 1;
	out = malloc(cap);
	if (out == NULL)
		return 0;
	rc = dnsmsg_writer_init(&w, out, cap, limit, &q, (h & 0x80) ? data :
	    NULL, (uint16_t)(h >> 8));
	if (rc != 0) {
		if (rc != RBLMUX_ESPACE)
			abort();
		free(out);
		return 0;
	}

	for (i = 0; i < sizeof(text); i++)
		text[i] = (char)(' ' + (i + h) % 95);
	nl = q.nlabels;
	dnsmsg_add_a(&w, DNS_SEC_ANSWER, 0, h, 0x7f000002);
	for (i = 0; i < 1 + (h >> 28); i++)
		dnsmsg_add_txt(&w, DNS_SEC_ANSWER, (unsigned)((h >> i) %
		    (nl + 1)), 60, text, (h >> (i + 3)) % sizeof(text));
	dnsmsg_add_ns(&w, DNS_SEC_ANSWER, nl / 2, 3600, "ns1.rbl.local");
	dnsmsg_add_soa(&w, DNS_SEC_AUTHORITY, (h >> 9) % (nl + 1), 60,
	    "ns1.rbl.local.", "hostmaster.rbl.local", h, 3600, 600, 86400, 60);
	dnsmsg_add_a(&w, DNS_SEC_ADDITIONAL, nl, 60, h);
	dnsmsg_add_rr(&w, DNS_SEC_ADDITIONAL, nl / 3, DNS_TYPE_AAAA, 60, text,
	    16);
	if (dnsmsg_add_a(&w, DNS_SEC_ANSWER, nl + 1, 0, 0) != RBLMUX_EINVAL)
		abort();

	rcode = (h & 0x100) ? DNS_RCODE_NXDOMAIN : DNS_RCODE_NOERROR;
	if (q.edns && (h & 0x200))
		rcode = DNS_RCODE_BADVERS;
	n = dnsmsg_finish(&w, rcode, true);
	if (n > cap || n > limit || n != w.len)
		abort();
	check(out, n, &q, w.overflow);
	free(out);

	/* the refusal path of the same query */
	out = malloc(512);
	n = dnsmsg_error_reply(data, size, &q, DNS_RCODE_REFUSED, out, 512);
	if (n != DNS_HDRLEN + q.qname_len + 4u + (q.edns ? DNS_OPT_LEN : 0))
		abort();
	check(out, n, &q, false);
	free(out);
	return 0;
}
