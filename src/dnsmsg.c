/*
 * dnsmsg.c -- DNS wire format for the query path: parse one query,
 * write one reply.
 *
 * This file does not use ldns, on purpose. ldns_wire2pkt() builds an
 * ldns_pkt with an rr_list per section and a separately allocated rdf
 * for every name and field: a plain query costs a dozen malloc/free
 * pairs before any DNSBL work, and ldns_pkt2wire() allocates again for
 * the reply. rbldnsd answers from the packet buffer in place, and so
 * must we to match its cost per query. A DNSBL query is one question
 * plus at most an OPT, so parsing it by hand is short: every read goes
 * through a bounded cursor with a sticky error (a failed read leaves the
 * cursor exhausted, so later reads fail too and one check at the end of
 * a step is enough), and the writer checks the room for a whole record
 * once, then stores it straight-line. ldns remains the reference in the
 * tests, which parse every reply we build with it.
 *
 * No allocation, no I/O, no globals.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dnsmsg.h"
#include "err.h"

/* Bounded read cursor; err is sticky. */
struct cur {
	const uint8_t	*p;			/* next byte */
	const uint8_t	*end;			/* one past the last byte */
	bool		 err;			/* a read failed or data bad */
};

/* cur_fail - mark the cursor bad and exhausted */
static inline void
cur_fail(struct cur *c)
{
	c->err = true;
	c->p = c->end;
}

/* cur_take - n bytes at the cursor, or NULL (sticky) if fewer are left */
static inline const uint8_t *
cur_take(struct cur *c, size_t n)
{
	const uint8_t *p = c->p;

	if ((size_t)(c->end - p) < n) {
		cur_fail(c);
		return NULL;
	}
	c->p = p + n;
	return p;
}

/* cur_u8 - one byte, 0 on failure */
static inline uint8_t
cur_u8(struct cur *c)
{
	const uint8_t *p = cur_take(c, 1);

	return p != NULL ? p[0] : 0;
}

/* cur_u16 - a network-order 16-bit field, 0 on failure */
static inline uint16_t
cur_u16(struct cur *c)
{
	const uint8_t *p = cur_take(c, 2);

	return p != NULL ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

/* cur_u32 - a network-order 32-bit field, 0 on failure */
static inline uint32_t
cur_u32(struct cur *c)
{
	const uint8_t *p = cur_take(c, 4);

	return p != NULL ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3] : 0;
}

/* put16 - store a network-order 16-bit field (room checked by caller) */
static inline void
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* put32 - store a network-order 32-bit field (room checked by caller) */
static inline void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* lower - ASCII lower case of one byte; other bytes unchanged */
static inline uint8_t
lower(uint8_t b)
{
	return (unsigned)(b - 'A') < 26u ? (uint8_t)(b | 0x20) : b;
}

/* lower_copy - n bytes of src lower-cased into dst (they do not overlap:
   the compiler may then do several bytes at a time) */
static inline void
lower_copy(uint8_t *restrict dst, const uint8_t *restrict src, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = lower(src[i]);
}

/*
 * parse_qname - read the question name into q (lower-cased).
 * RFC 1035 4.1.4 allows compression anywhere, but in the first name of a
 * message a pointer could only point backwards into the header: no real
 * client sends one, so it is FORMERR (as are the reserved label types
 * 01 and 10, RFC 6891 5). Returns 0 or -1 (cursor marked bad).
 */
static int
parse_qname(struct cur *c, struct dns_query *q)
{
	const uint8_t *src;
	unsigned off = 0, n = 0, l;

	for (;;) {
		l = cur_u8(c);
		if (c->err)
			return -1;
		if (l == 0)
			break;
		/* > 63: types 01, 10 and 11 (pointer) */
		if (l > 63 || off + 1 + l + 1 > DNS_MAXNAME)
			goto bad;
		if ((src = cur_take(c, l)) == NULL)
			return -1;
		q->label_off[n++] = (uint8_t)off;
		q->qname[off] = (uint8_t)l;
		lower_copy(q->qname + off + 1, src, l);
		off += 1 + l;
	}
	q->qname[off++] = 0;
	q->qname_len = (uint8_t)off;
	q->nlabels = (uint8_t)n;
	return 0;
bad:
	cur_fail(c);
	return -1;
}

/*
 * skip_name - step over a name anywhere in a message, compressed or not.
 * Pointers are not followed (the name ends at one). Returns true if the
 * name was the root alone.
 */
static bool
skip_name(struct cur *c)
{
	unsigned l, total = 0;
	bool first = true;

	for (;; first = false) {
		l = cur_u8(c);
		if (c->err)
			return false;
		if (l == 0)
			return first;
		if ((l & 0xc0) == 0xc0) {
			(void)cur_u8(c);
			return false;
		}
		total += l + 1;
		if (l > 63 || total + 1 > DNS_MAXNAME) {
			cur_fail(c);
			return false;
		}
		(void)cur_take(c, l);
	}
}

/*
 * parse_opt - the OPT pseudo-RR whose fixed part was just read
 * (RFC 6891 6.1.2-6.1.3): class is the UDP size, TTL holds extended
 * RCODE, version and flags. The options must tile the RDATA exactly;
 * none is acted upon (no cookies, no padding), so they are only checked.
 */
static void
parse_opt(struct cur *c, struct dns_query *q, uint16_t class, uint32_t ttl,
    const uint8_t *rdata, uint16_t rdlen)
{
	struct cur o = { rdata, rdata + rdlen, false };

	while (o.p < o.end) {
		(void)cur_u16(&o);
		(void)cur_take(&o, cur_u16(&o));
	}
	if (o.err) {
		cur_fail(c);
		return;
	}
	q->edns = true;
	q->edns_udp_size = class;
	q->edns_version = (uint8_t)(ttl >> 16);
	q->edns_do = (ttl & 0x8000) != 0;
}

/*
 * parse_records - walk nother answer/authority records, then nadd
 * additional records, picking up the OPT. Marks the cursor bad on a
 * malformed record, a second OPT or an OPT owned by another name than
 * the root.
 */
static void
parse_records(struct cur *c, struct dns_query *q, unsigned nother,
    unsigned nadd)
{
	const uint8_t *rdata;
	unsigned i, n = nother + nadd;
	uint16_t type, class, rdlen;
	uint32_t ttl;
	bool root, seen = false;

	for (i = 0; i < n && !c->err; i++) {
		root = skip_name(c);
		type = cur_u16(c);
		class = cur_u16(c);
		ttl = cur_u32(c);
		rdlen = cur_u16(c);
		rdata = cur_take(c, rdlen);
		if (c->err || type != DNS_TYPE_OPT || i < nother)
			continue;
		if (seen || !root) {
			/* RFC 6891 6.1.1: one OPT, owned by the root */
			cur_fail(c);
			break;
		}
		seen = true;
		parse_opt(c, q, class, ttl, rdata, rdlen);
	}
}

/* skip_questions - step over n questions of any shape */
static void
skip_questions(struct cur *c, unsigned n)
{
	for (; n > 0 && !c->err; n--) {
		(void)skip_name(c);
		(void)cur_take(c, 4);
	}
}

/* dnsmsg_parse_query - validate one query packet into q */
int
dnsmsg_parse_query(const uint8_t *pkt, size_t len, struct dns_query *q)
{
	struct cur c;
	uint16_t qd, an, ns, ar;
	int rc = DNSMSG_OK;

	q->qtype = q->qclass = 0;
	q->qname_len = q->nlabels = 0;
	q->question_end = 0;
	q->edns = q->edns_do = false;
	q->edns_version = 0;
	q->edns_udp_size = 0;
	if (pkt == NULL || len < DNS_HDRLEN) {
		q->id = q->flags = 0;
		q->opcode = 0;
		return DNSMSG_DROP;
	}
	c.p = pkt;
	c.end = pkt + len;
	c.err = false;
	q->id = cur_u16(&c);
	q->flags = cur_u16(&c);
	q->opcode = (q->flags & DNS_OPCODE_MASK) >> DNS_OPCODE_SHIFT;
	qd = cur_u16(&c);
	an = cur_u16(&c);
	ns = cur_u16(&c);
	ar = cur_u16(&c);
	if (q->flags & DNS_FLAG_QR)
		return DNSMSG_DROP;

	/*
	 * The verdict is fixed by the first rule broken, but parsing goes
	 * on as far as it can so that the error reply echoes the question
	 * and OPT when they are sound (RFC 6891 7: a responder that saw OPT
	 * answers with OPT).
	 */
	if (q->opcode != DNS_OPCODE_QUERY)
		rc = DNS_RCODE_NOTIMP;
	else if (qd != 1)
		rc = DNS_RCODE_FORMERR;

	if (qd == 1 && parse_qname(&c, q) == 0) {
		q->qtype = cur_u16(&c);
		q->qclass = cur_u16(&c);
	}
	if (qd == 1 && !c.err) {
		q->question_end = (size_t)(c.p - pkt);
	} else {
		/* no usable question; find the records behind it anyway */
		q->qname_len = q->nlabels = 0;
		q->qtype = q->qclass = 0;
		if (rc == DNSMSG_OK)
			rc = DNS_RCODE_FORMERR;
		c.p = pkt + DNS_HDRLEN;
		c.err = false;
		skip_questions(&c, qd);
	}

	parse_records(&c, q, (unsigned)an + ns, ar);
	if (rc != DNSMSG_OK)
		return rc;
	if (c.err || an != 0 || ns != 0)
		return DNS_RCODE_FORMERR;
	if (q->edns_version > 0)
		return DNS_RCODE_BADVERS;
	return DNSMSG_OK;
}

/* dnsmsg_udp_limit - reply size for q over UDP */
size_t
dnsmsg_udp_limit(const struct dns_query *q, size_t server_max)
{
	size_t n;

	if (!q->edns)
		return DNS_UDPMIN;
	n = q->edns_udp_size;
	if (n > server_max)
		n = server_max;
	return n < DNS_UDPMIN ? DNS_UDPMIN : n;
}

/* reply_flags - QR, OPCODE and RD of the reply to q */
static inline unsigned
reply_flags(const struct dns_query *q)
{
	return DNS_FLAG_QR | (q->flags & (DNS_OPCODE_MASK | DNS_FLAG_RD));
}

/*
 * put_question - the question of q at buf + DNS_HDRLEN: the client's
 * bytes when pkt holds them (0x20 case preserved), else q's lower-cased
 * name. Returns the end offset.
 */
static size_t
put_question(uint8_t *buf, const struct dns_query *q, const uint8_t *pkt,
    size_t pktlen)
{
	size_t qlen = (size_t)q->qname_len + 4;
	uint8_t *p = buf + DNS_HDRLEN;

	/*
	 * The parser only accepts an uncompressed qname at offset 12, so
	 * the question in pkt is exactly these bytes.
	 */
	if (pkt != NULL && q->question_end == DNS_HDRLEN + qlen &&
	    pktlen >= q->question_end) {
		memcpy(p, pkt + DNS_HDRLEN, qlen);
	} else {
		memcpy(p, q->qname, q->qname_len);
		put16(p + q->qname_len, q->qtype);
		put16(p + q->qname_len + 2, q->qclass);
	}
	return DNS_HDRLEN + qlen;
}

/* put_opt - our OPT RR at p: root, UDP size, extended RCODE, version 0 */
static inline void
put_opt(uint8_t *p, uint16_t size, int rcode)
{
	p[0] = 0;
	put16(p + 1, DNS_TYPE_OPT);
	put16(p + 3, size);
	put32(p + 5, (uint32_t)(rcode >> 4) << 24);	/* DO clear */
	put16(p + 9, 0);
}

/* fix_rcode - an RCODE that the reply can carry */
static inline int
fix_rcode(int rcode, bool edns)
{
	if (rcode < 0 || rcode > 0xfff)
		return DNS_RCODE_SERVFAIL;
	if (rcode > DNS_RCODE_MASK && !edns)
		return DNS_RCODE_FORMERR;
	return rcode;
}

/* dnsmsg_writer_init - write the reply header and question */
int
dnsmsg_writer_init(struct dns_writer *w, uint8_t *buf, size_t cap,
    size_t limit, const struct dns_query *q, const uint8_t *pkt,
    uint16_t edns_size)
{
	size_t lim = limit < cap ? limit : cap;

	if (lim > DNS_MAXMSG)
		lim = DNS_MAXMSG;
	if (q->question_end == 0 || q->qname_len == 0)
		return RBLMUX_EINVAL;
	if (DNS_HDRLEN + (size_t)q->qname_len + 4 +
	    (q->edns ? DNS_OPT_LEN : 0) > lim)
		return RBLMUX_ESPACE;

	w->buf = buf;
	w->cap = cap;
	w->limit = lim;
	w->count[0] = w->count[1] = w->count[2] = 0;
	w->last = DNS_SEC_ANSWER;
	w->overflow = false;
	w->partial = false;
	w->edns = q->edns;
	w->edns_size = edns_size < DNS_UDPMIN ? DNS_UDPMIN : edns_size;
	w->q = q;

	put16(buf, q->id);
	put16(buf + 2, reply_flags(q));
	put16(buf + 4, 1);
	memset(buf + 6, 0, 6);
	/* pkt's length is not known here: trust question_end */
	w->len = w->question_end = put_question(buf, q, pkt,
	    pkt != NULL ? q->question_end : 0);
	return 0;
}

/* dnsmsg_room - bytes left for records */
size_t
dnsmsg_room(const struct dns_writer *w)
{
	return w->limit - (w->edns ? DNS_OPT_LEN : 0) - w->len;
}

/*
 * rr_begin - append the owner and fixed part of a class IN record with
 * rdlen bytes of RDATA, which the caller then stores at *rdata. Checks
 * section order, owner and room first; nothing is written on error.
 */
static int
rr_begin(struct dns_writer *w, enum dns_section s, unsigned owner,
    uint16_t type, uint32_t ttl, size_t rdlen, uint8_t **rdata)
{
	const struct dns_query *q = w->q;
	size_t olen, need, room;
	uint8_t *p;

	if ((unsigned)s > DNS_SEC_ADDITIONAL || s < w->last ||
	    owner > q->nlabels)
		return RBLMUX_EINVAL;
	if (w->overflow && !w->partial)
		return RBLMUX_ESPACE;
	olen = owner == q->nlabels ? 1 : 2;
	need = olen + 10 + rdlen;
	room = dnsmsg_room(w);
	if (need > room || rdlen > 0xffff || w->count[s] == 0xffff) {
		w->overflow = true;
		return RBLMUX_ESPACE;
	}

	p = w->buf + w->len;
	if (olen == 1) {
		*p++ = 0;
	} else {
		/* RFC 1035 4.1.4: pointer to the suffix inside the question */
		put16(p, 0xc000 | (DNS_HDRLEN + q->label_off[owner]));
		p += 2;
	}
	put16(p, type);
	put16(p + 2, DNS_CLASS_IN);
	put32(p + 4, ttl);
	put16(p + 8, (unsigned)rdlen);
	*rdata = p + 10;
	w->len += need;
	w->count[s]++;
	w->last = s;
	return 0;
}

/* dnsmsg_add_a - append an A record */
int
dnsmsg_add_a(struct dns_writer *w, enum dns_section s, unsigned owner,
    uint32_t ttl, uint32_t addr)
{
	uint8_t *rd;
	int rc;

	if ((rc = rr_begin(w, s, owner, DNS_TYPE_A, ttl, 4, &rd)) != 0)
		return rc;
	put32(rd, addr);
	return 0;
}

/*
 * Longest text one TXT RR can hold: n bytes take n + ceil(n / 255)
 * bytes of RDATA, which must stay within 65535. Clamping to it also
 * keeps the size arithmetic from wrapping for absurd lengths.
 */
#define TXT_MAX		(255 * 255 + 254)

/* dnsmsg_add_txt - append a TXT record, text split into 255-byte strings */
int
dnsmsg_add_txt(struct dns_writer *w, enum dns_section s, unsigned owner,
    uint32_t ttl, const char *txt, size_t len)
{
	const uint8_t *src = (const uint8_t *)txt;
	size_t nstr, rdlen, n;
	uint8_t *rd;
	int rc;

	if (len > TXT_MAX)
		len = TXT_MAX;
	/* RFC 1035 3.3.14: at least one string, so "" is one empty string */
	nstr = len == 0 ? 1 : (len + 254) / 255;
	rdlen = len + nstr;
	if ((rc = rr_begin(w, s, owner, DNS_TYPE_TXT, ttl, rdlen, &rd)) != 0)
		return rc;
	do {
		n = len < 255 ? len : 255;
		*rd++ = (uint8_t)n;
		if (n > 0)
			memcpy(rd, src, n);
		rd += n;
		src += n;
		len -= n;
	} while (len > 0);
	return 0;
}

/* dnsmsg_add_ns - append an NS record */
int
dnsmsg_add_ns(struct dns_writer *w, enum dns_section s, unsigned owner,
    uint32_t ttl, const char *nsname)
{
	uint8_t name[DNS_MAXNAME], *rd;
	size_t nlen;
	int rc;

	if ((nlen = dnsmsg_name_to_wire(nsname, name, sizeof(name))) == 0)
		return RBLMUX_EINVAL;
	if ((rc = rr_begin(w, s, owner, DNS_TYPE_NS, ttl, nlen, &rd)) != 0)
		return rc;
	memcpy(rd, name, nlen);
	return 0;
}

/* dnsmsg_add_soa - append an SOA record */
int
dnsmsg_add_soa(struct dns_writer *w, enum dns_section s, unsigned owner,
    uint32_t ttl, const char *mname, const char *rname, uint32_t serial,
    uint32_t refresh, uint32_t retry, uint32_t expire, uint32_t minimum)
{
	uint8_t m[DNS_MAXNAME], r[DNS_MAXNAME], *rd;
	size_t mlen, rlen;
	int rc;

	if ((mlen = dnsmsg_name_to_wire(mname, m, sizeof(m))) == 0 ||
	    (rlen = dnsmsg_name_to_wire(rname, r, sizeof(r))) == 0)
		return RBLMUX_EINVAL;
	rc = rr_begin(w, s, owner, DNS_TYPE_SOA, ttl, mlen + rlen + 20, &rd);
	if (rc != 0)
		return rc;
	memcpy(rd, m, mlen);
	rd += mlen;
	memcpy(rd, r, rlen);
	rd += rlen;
	put32(rd, serial);
	put32(rd + 4, refresh);
	put32(rd + 8, retry);
	put32(rd + 12, expire);
	put32(rd + 16, minimum);
	return 0;
}

/* dnsmsg_add_rr - append a record with ready-made RDATA */
int
dnsmsg_add_rr(struct dns_writer *w, enum dns_section s, unsigned owner,
    uint16_t type, uint32_t ttl, const void *rdata, size_t rdlen)
{
	uint8_t *rd;
	int rc;

	if ((rc = rr_begin(w, s, owner, type, ttl, rdlen, &rd)) != 0)
		return rc;
	if (rdlen > 0)
		memcpy(rd, rdata, rdlen);
	return 0;
}

/* dnsmsg_finish - flags, counts and OPT; returns the reply length */
size_t
dnsmsg_finish(struct dns_writer *w, int rcode, bool aa)
{
	unsigned flags = reply_flags(w->q);
	uint8_t *b = w->buf;

	rcode = fix_rcode(rcode, w->edns);
	if (aa)
		flags |= DNS_FLAG_AA;
	if (w->overflow) {
		/*
		 * RFC 2181 9: a truncated reply may drop whole sections;
		 * the client retries over TCP, so send none rather than a
		 * part that looks complete -- unless the caller asked for
		 * the part that fits.
		 */
		flags |= DNS_FLAG_TC;
		if (!w->partial) {
			w->len = w->question_end;
			w->count[0] = w->count[1] = w->count[2] = 0;
		}
	}
	flags |= (unsigned)rcode & DNS_RCODE_MASK;
	put16(b + 2, flags);
	put16(b + 6, w->count[0]);
	put16(b + 8, w->count[1]);
	put16(b + 10, w->count[2] + (w->edns ? 1 : 0));
	if (w->edns) {
		/* room was kept at init */
		put_opt(b + w->len, w->edns_size, rcode);
		w->len += DNS_OPT_LEN;
	}
	return w->len;
}

/* dnsmsg_error_reply - header, question if it parsed, OPT if seen */
size_t
dnsmsg_error_reply(const uint8_t *pkt, size_t len,
    const struct dns_query *q, int rcode, uint8_t *out, size_t cap)
{
	bool opt = q->edns || rcode == DNS_RCODE_BADVERS;
	bool question = q->question_end != 0 && q->qname_len != 0;
	size_t n, need;

	rcode = fix_rcode(rcode, opt);
	need = DNS_HDRLEN + (opt ? DNS_OPT_LEN : 0);
	if (question && need + q->qname_len + 4 > cap)
		question = false;
	if (need > cap || out == NULL)
		return 0;

	put16(out, q->id);
	put16(out + 2, reply_flags(q) | ((unsigned)rcode & DNS_RCODE_MASK));
	put16(out + 4, question ? 1 : 0);
	put16(out + 6, 0);
	put16(out + 8, 0);
	put16(out + 10, opt ? 1 : 0);
	n = question ? put_question(out, q, pkt, len) : DNS_HDRLEN;
	if (opt) {
		put_opt(out + n, DNSMSG_ERR_EDNS_SIZE, rcode);
		n += DNS_OPT_LEN;
	}
	return n;
}

/* dnsmsg_name_to_wire - presentation name to wire form */
size_t
dnsmsg_name_to_wire(const char *name, uint8_t *out, size_t cap)
{
	const char *p = name, *s;
	size_t o = 0, l;

	if (name == NULL || *name == '\0')
		return 0;
	if (name[0] == '.' && name[1] == '\0')
		p++;			/* the root alone */
	while (*p != '\0') {
		for (s = p; *p != '\0' && *p != '.'; p++)
			;
		l = (size_t)(p - s);
		if (l == 0 || l > 63 || o + 1 + l + 1 > DNS_MAXNAME ||
		    o + 1 + l + 1 > cap)
			return 0;
		out[o++] = (uint8_t)l;
		memcpy(out + o, s, l);
		o += l;
		if (*p == '.')
			p++;		/* a trailing dot ends the name */
	}
	if (o + 1 > cap)
		return 0;
	out[o++] = 0;
	return o;
}
