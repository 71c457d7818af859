/*
 * upresp.c -- upstream DNSBL queries and replies on the wire.
 *
 * The query is written by hand (one question and an OPT); the reply is
 * untrusted and read with ldns, which bounds every access. See upresp.h.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#include "answer.h"
#include "upresp.h"

/* lower - ASCII lower case of one byte */
static uint8_t
lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c - 'A' + 'a') : c;
}

/*
 * put_dotted - append the labels of dotted text s (len bytes, no empty
 * label, a trailing dot allowed) to the wire name in out at *off, lower
 * case, without the root. Returns 0, or -1 when it does not fit.
 */
static int
put_dotted(uint8_t *out, size_t *off, const char *s, size_t len)
{
	size_t i, start = 0;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0)
		return -1;
	for (i = 0; i <= len; i++) {
		size_t l;

		if (i < len && s[i] != '.')
			continue;
		l = i - start;
		if (l == 0 || l > 63 || *off + 1 + l + 1 > DNS_MAXNAME)
			return -1;
		out[(*off)++] = (uint8_t)l;
		while (start < i)
			out[(*off)++] = lower((uint8_t)s[start++]);
		start = i + 1;
	}
	return 0;
}

/* put_label - append one label text (1..3 bytes here) */
static int
put_label(uint8_t *out, size_t *off, const char *t)
{
	return put_dotted(out, off, t, strlen(t));
}

size_t
upresp_qname(const struct subject *s, const char *zone, uint8_t *out)
{
	static const char hex[] = "0123456789abcdef";
	char t[4];
	size_t off = 0;
	int i;

	if (s == NULL || zone == NULL)
		return 0;
	switch (s->kind) {
	case SUBJ_IP4:
		for (i = 0; i < 4; i++) {
			snprintf(t, sizeof(t), "%u", (unsigned)(s->ip4 >>
			    (8 * i) & 0xff));
			if (put_label(out, &off, t) != 0)
				return 0;
		}
		break;
	case SUBJ_IP6:
		for (i = 15; i >= 0; i--) {
			out[off++] = 1;
			out[off++] = (uint8_t)hex[s->ip6[i] & 0xf];
			out[off++] = 1;
			out[off++] = (uint8_t)hex[s->ip6[i] >> 4];
		}
		break;
	case SUBJ_NAME:
		if (s->name_len > DNS_MAXNAME ||
		    put_dotted(out, &off, s->name, s->name_len) != 0)
			return 0;
		break;
	default:
		return 0;
	}
	if (put_dotted(out, &off, zone, strlen(zone)) != 0)
		return 0;
	out[off++] = 0;
	return off;
}

/* put16 - a 16-bit big-endian value at p */
static void
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

size_t
upresp_query(uint8_t *buf, size_t cap, uint16_t id, const uint8_t *qname,
    size_t qlen, uint16_t qtype)
{
	size_t n = DNS_HDRLEN + qlen + 4 + DNS_OPT_LEN;
	uint8_t *p;

	if (qlen == 0 || qlen > DNS_MAXNAME || n > cap)
		return 0;
	memset(buf, 0, DNS_HDRLEN);
	put16(buf, id);
	put16(buf + 2, DNS_FLAG_RD);
	put16(buf + 4, 1);		/* QDCOUNT */
	put16(buf + 10, 1);		/* ARCOUNT: the OPT */
	p = buf + DNS_HDRLEN;
	memcpy(p, qname, qlen);
	p += qlen;
	put16(p, qtype);
	put16(p + 2, DNS_CLASS_IN);
	p += 4;
	/* OPT: root owner, type, UDP size, ext. RCODE/version/flags 0, no
	   RDATA */
	p[0] = 0;
	put16(p + 1, DNS_TYPE_OPT);
	put16(p + 3, UPRESP_EDNS_SIZE);
	memset(p + 5, 0, 6);
	return n;
}

/* set_why - set out->why */
static void
set_why(struct upresp *out, const char *s)
{
	snprintf(out->why, sizeof(out->why), "%s", s);
}

/* same_name - is ldns name rdf d the wire name qname (any case)? */
static bool
same_name(const ldns_rdf *d, const uint8_t *qname, size_t qlen)
{
	const uint8_t *w;
	size_t i;

	if (d == NULL || ldns_rdf_get_type(d) != LDNS_RDF_TYPE_DNAME ||
	    ldns_rdf_size(d) != qlen)
		return false;
	w = ldns_rdf_data(d);
	for (i = 0; i < qlen; i++)
		if (lower(w[i]) != lower(qname[i]))
			return false;
	return true;
}

/* rdf32 - a 4-byte field of rr (index i) in host order, or false */
static bool
rdf32(const ldns_rr *rr, size_t i, uint32_t *v)
{
	const ldns_rdf *d = ldns_rr_rdf(rr, i);
	const uint8_t *p;

	if (d == NULL || ldns_rdf_size(d) != 4)
		return false;
	p = ldns_rdf_data(d);
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
	return true;
}

/* ttl - a TTL as RFC 2181 8 reads it: the top bit set means 0 */
static uint32_t
ttl(uint32_t v)
{
	return v > 0x7fffffffU ? 0 : v;
}

/* rcode_name - the mnemonic of RCODE r for `why` */
static const char *
rcode_name(int r, char *buf, size_t cap)
{
	static const char *const names[] = {
		"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
		"REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
		"NOTZONE",
	};

	if (r >= 0 && (size_t)r < sizeof(names) / sizeof(names[0]))
		return names[r];
	if (r == DNS_RCODE_BADVERS)
		return "BADVERS";
	snprintf(buf, cap, "RCODE%d", r);
	return buf;
}

/* check_header - MISMATCH unless p answers (id, qname, qtype); else 0 */
static int
check_header(const ldns_pkt *p, uint16_t id, const uint8_t *qname,
    size_t qlen, uint16_t qtype, struct upresp *out)
{
	const ldns_rr_list *q = ldns_pkt_question(p);
	const ldns_rr *rr;

	if (!ldns_pkt_qr(p))
		set_why(out, "not a response");
	else if (ldns_pkt_id(p) != id)
		set_why(out, "other ID");
	else if (ldns_pkt_get_opcode(p) != LDNS_PACKET_QUERY)
		set_why(out, "other opcode");
	else if (ldns_pkt_qdcount(p) != 1 || q == NULL ||
	    ldns_rr_list_rr_count(q) != 1)
		set_why(out, "not one question");
	else if ((rr = ldns_rr_list_rr(q, 0)) == NULL ||
	    !same_name(ldns_rr_owner(rr), qname, qlen))
		set_why(out, "other question name");
	else if (ldns_rr_get_type(rr) != qtype)
		set_why(out, "other question type");
	else if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
		set_why(out, "other question class");
	else
		return 0;
	return -1;
}

/*
 * neg_ttl - RFC 2308: the smaller of the TTL and MINIMUM of an SOA in
 * the authority section, else the default
 */
static uint32_t
neg_ttl(const ldns_pkt *p)
{
	const ldns_rr_list *ns = ldns_pkt_authority(p);
	size_t i, n = ns ? ldns_rr_list_rr_count(ns) : 0;
	uint32_t min;

	for (i = 0; i < n; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ns, i);

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA ||
		    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
		    ldns_rr_rd_count(rr) != 7 || !rdf32(rr, 6, &min))
			continue;
		min = ttl(min);
		return ttl(ldns_rr_ttl(rr)) < min ? ttl(ldns_rr_ttl(rr)) : min;
	}
	return UPRESP_NEG_TTL_DEFAULT;
}

/* add_txt - append the strings of TXT rr to out->txt, cut at the room */
static void
add_txt(const ldns_rr *rr, struct upresp *out)
{
	size_t i, l;

	for (i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *d = ldns_rr_rdf(rr, i);
		const uint8_t *s;

		if (d == NULL || ldns_rdf_size(d) < 1)
			continue;
		s = ldns_rdf_data(d);
		l = s[0];
		if (l > ldns_rdf_size(d) - 1)
			l = ldns_rdf_size(d) - 1;
		if (l > UPRESP_MAX_TXT - out->txt_len)
			l = UPRESP_MAX_TXT - out->txt_len;
		memcpy(out->txt + out->txt_len, s + 1, l);
		out->txt_len += l;
	}
	out->txt[out->txt_len] = '\0';
}

/*
 * answers - the records of the answer section for exactly qname and
 * qtype into out: LISTED, ERROR (an invalid code), or the count 0
 * (NOT_LISTED is the caller's)
 */
static unsigned
answers(const ldns_pkt *p, const uint8_t *qname, size_t qlen,
    uint16_t qtype, const struct conf_upstream *u, struct upresp *out)
{
	const ldns_rr_list *an = ldns_pkt_answer(p);
	size_t i, n = an ? ldns_rr_list_rr_count(an) : 0;
	unsigned used = 0;
	uint32_t a;

	for (i = 0; i < n; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);

		if (ldns_rr_get_type(rr) != qtype ||
		    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
		    !same_name(ldns_rr_owner(rr), qname, qlen))
			continue;
		if (qtype == DNS_TYPE_A) {
			if (ldns_rr_rd_count(rr) != 1 || !rdf32(rr, 0, &a)) {
				out->kind = UPRESP_ERROR;
				set_why(out, "malformed A record");
				return used;
			}
			if (!upresp_code_valid(u, a, out->why,
			    sizeof(out->why))) {
				out->kind = UPRESP_ERROR;
				return used;
			}
			if (out->na < UPRESP_MAX_A)
				out->a[out->na++] = a;
		} else
			add_txt(rr, out);
		if (used == 0 || ttl(ldns_rr_ttl(rr)) < out->ttl)
			out->ttl = ttl(ldns_rr_ttl(rr));
		used++;
	}
	if (used > 0)
		out->kind = UPRESP_LISTED;
	return used;
}

void
upresp_parse(const uint8_t *pkt, size_t len, uint16_t id,
    const uint8_t *qname, size_t qlen, uint16_t qtype,
    const struct conf_upstream *u, struct upresp *out)
{
	ldns_pkt *p = NULL;
	char buf[16];

	memset(out, 0, sizeof(*out));
	out->kind = UPRESP_MISMATCH;
	if (pkt == NULL || len < DNS_HDRLEN || qname == NULL || qlen == 0 ||
	    ldns_wire2pkt(&p, pkt, len) != LDNS_STATUS_OK || p == NULL) {
		set_why(out, "unparseable reply");
		return;
	}
	if (check_header(p, id, qname, qlen, qtype, out) != 0)
		goto done;
	out->rcode = ldns_pkt_get_rcode(p) |
	    (int)ldns_pkt_edns_extended_rcode(p) << 4;
	if (ldns_pkt_tc(p)) {
		out->kind = UPRESP_TRUNCATED;
		goto done;
	}
	if (out->rcode == DNS_RCODE_NXDOMAIN) {
		out->kind = UPRESP_NOT_LISTED;
		out->ttl = neg_ttl(p);
		goto done;
	}
	if (out->rcode != DNS_RCODE_NOERROR) {
		out->kind = UPRESP_ERROR;
		set_why(out, rcode_name(out->rcode, buf, sizeof(buf)));
		goto done;
	}
	if (answers(p, qname, qlen, qtype, u, out) == 0 &&
	    out->kind == UPRESP_MISMATCH) {
		out->kind = UPRESP_NOT_LISTED;
		out->ttl = neg_ttl(p);
	}
	if (out->kind == UPRESP_ERROR) {
		out->na = 0;
		out->ttl = 0;
	}
done:
	if (out->kind != UPRESP_ERROR && out->kind != UPRESP_MISMATCH)
		out->why[0] = '\0';
	ldns_pkt_free(p);
}

/* in_prefix - is a (host order) inside IPv4 prefix pf? */
static bool
in_prefix(const struct conf_prefix *pf, uint32_t a)
{
	uint32_t net, mask;

	if (pf->family != AF_INET || pf->plen > 32)
		return false;
	net = (uint32_t)pf->addr[0] << 24 | (uint32_t)pf->addr[1] << 16 |
	    (uint32_t)pf->addr[2] << 8 | pf->addr[3];
	mask = pf->plen == 0 ? 0 : 0xffffffffU << (32 - pf->plen);
	return (a & mask) == (net & mask);
}

bool
upresp_code_valid(const struct conf_upstream *u, uint32_t a, char *why,
    size_t whycap)
{
	static const struct conf_prefix dflt = {
		AF_INET, { 127, 255, 255, 0 }, 24
	};
	char t[INET_ADDRSTRLEN];
	struct in_addr ia;
	size_t i;
	bool err = false;

	ia.s_addr = htonl(a);
	inet_ntop(AF_INET, &ia, t, sizeof(t));
	if ((a >> 24) != 127) {
		snprintf(why, whycap, "%s outside 127/8", t);
		return false;
	}
	if (u == NULL || u->nerror_codes == 0)
		err = in_prefix(&dflt, a);
	else
		for (i = 0; i < u->nerror_codes && !err; i++)
			err = in_prefix(&u->error_codes[i], a);
	if (err) {
		snprintf(why, whycap, "error code %s", t);
		return false;
	}
	if (u != NULL && u->ncodes > 0) {
		for (i = 0; i < u->ncodes; i++)
			if (u->codes[i].addr == a)
				return true;
		snprintf(why, whycap, "%s is not a code: of the upstream", t);
		return false;
	}
	return true;
}

uint32_t
upresp_code_listed(const struct conf_upstream *u, int code,
    const uint32_t *a, unsigned na)
{
	unsigned i;

	if (a == NULL || na == 0)
		return 0;
	if (code < 0)
		return a[0];
	if (u == NULL || (size_t)code >= u->ncodes)
		return 0;
	for (i = 0; i < na; i++)
		if (a[i] == u->codes[code].addr)
			return a[i];
	return 0;
}
