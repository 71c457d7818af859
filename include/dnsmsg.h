/*
 * dnsmsg.h -- DNS wire format for the query path.
 *
 * Parses one query packet into a struct dns_query (lower-cased name,
 * label offsets, EDNS0 OPT) and writes answers straight into a caller's
 * buffer. Neither direction allocates: the answer path runs at rbldnsd's
 * cost or better. All reads go through a bounded cursor; a malformed
 * packet can only produce an error code, never an out-of-bounds access.
 *
 * The writer compresses owner names against the question (the qname is
 * at offset 12 of every reply, so any owner that is a suffix of it is a
 * two-byte pointer). Names inside RDATA (SOA, NS) are written in full.
 *
 * Pure functions, no I/O, no globals: usable from any thread.
 */
#ifndef RBLMUX_DNSMSG_H
#define RBLMUX_DNSMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HDRLEN		12
#define DNS_MAXNAME		255		/* wire length incl. root */
#define DNS_MAXLABELS		128
#define DNS_MAXMSG		65535		/* largest message (TCP) */
#define DNS_UDPMIN		512		/* RFC 1035 UDP size */
#define DNS_OPT_LEN		11		/* our OPT RR: root owner, no
						   options */

/* Header flags word (RFC 1035 4.1.1) */
#define DNS_FLAG_QR		0x8000
#define DNS_FLAG_AA		0x0400
#define DNS_FLAG_TC		0x0200
#define DNS_FLAG_RD		0x0100
#define DNS_FLAG_RA		0x0080
#define DNS_OPCODE_SHIFT	11
#define DNS_OPCODE_MASK		0x7800
#define DNS_RCODE_MASK		0x000f

/* OPCODEs */
#define DNS_OPCODE_QUERY	0
#define DNS_OPCODE_STATUS	2
#define DNS_OPCODE_NOTIFY	4
#define DNS_OPCODE_UPDATE	5

/* RR types and classes we deal with */
#define DNS_TYPE_A		1
#define DNS_TYPE_NS		2
#define DNS_TYPE_SOA		6
#define DNS_TYPE_TXT		16
#define DNS_TYPE_AAAA		28
#define DNS_TYPE_OPT		41
#define DNS_TYPE_IXFR		251
#define DNS_TYPE_AXFR		252
#define DNS_TYPE_ANY		255
#define DNS_CLASS_IN		1
#define DNS_CLASS_CH		3
#define DNS_CLASS_ANY		255

/* RCODEs (the low 4 bits; BADVERS is extended, via OPT) */
#define DNS_RCODE_NOERROR	0
#define DNS_RCODE_FORMERR	1
#define DNS_RCODE_SERVFAIL	2
#define DNS_RCODE_NXDOMAIN	3
#define DNS_RCODE_NOTIMP	4
#define DNS_RCODE_REFUSED	5
#define DNS_RCODE_BADVERS	16

/* Sections for dnsmsg_add_* */
enum dns_section {
	DNS_SEC_ANSWER = 0,
	DNS_SEC_AUTHORITY,
	DNS_SEC_ADDITIONAL,
};

/* What the parser made of one query packet. */
struct dns_query {
	uint16_t	 id;
	uint16_t	 flags;			/* header flags word as received */
	uint8_t		 opcode;
	uint16_t	 qtype;
	uint16_t	 qclass;
	uint8_t		 qname[DNS_MAXNAME];	/* wire form, lower-cased */
	uint8_t		 qname_len;		/* bytes incl. the root label */
	uint8_t		 nlabels;		/* labels, root not counted */
	uint8_t		 label_off[DNS_MAXLABELS]; /* offset of each label's
						   length byte in qname */
	size_t		 question_end;		/* packet offset after QCLASS */
	bool		 edns;			/* OPT present */
	uint8_t		 edns_version;
	bool		 edns_do;		/* DO bit */
	uint16_t	 edns_udp_size;		/* as sent by the client */
};

/*
 * Verdict of dnsmsg_parse_query(): DNSMSG_OK (answer it), DNSMSG_DROP
 * (say nothing: QR=1, shorter than a header, unparseable header), or a
 * positive RCODE to answer with (FORMERR, NOTIMP, BADVERS).
 * With an RCODE, q holds whatever could be parsed (at least id, flags,
 * opcode) and q->question_end is 0 unless the question parsed cleanly.
 */
#define DNSMSG_OK	0
#define DNSMSG_DROP	(-1)

/*
 * The checks, in order: DROP as above; OPCODE other than QUERY is NOTIMP
 * (the question and OPT are still picked up for the echo when they
 * parse); QDCOUNT != 1, a bad question (compression pointer, label over
 * 63 bytes or of type 01/10, name over 255 bytes, truncation), a
 * malformed or truncated record, two OPT RRs, an OPT owner other than
 * the root, malformed EDNS options, ANCOUNT or NSCOUNT != 0 are FORMERR;
 * an EDNS version above 0 is BADVERS (RFC 6891 6.1.3). Records after
 * the question are walked only to find the OPT (TSIG and others are
 * skipped); bytes after the last record are ignored. q->edns is set
 * once an OPT RR parsed, even if the verdict is an RCODE, so that the
 * error reply carries OPT too.
 */
int	 dnsmsg_parse_query(const uint8_t *pkt, size_t len, struct dns_query *q);

/*
 * The UDP reply size for q: 512 without EDNS, else the client's buffer
 * clamped to 512..server_max (RFC 6891 6.2.3, 6.2.5).
 */
size_t	 dnsmsg_udp_limit(const struct dns_query *q, size_t server_max);

/*
 * Answer writer. Writes the reply header and the question at init, then
 * records, then OPT at finish. limit is the size the reply must fit
 * (UDP: the EDNS buffer or 512; TCP: 65535); cap is the buffer size
 * (>= limit). If records do not fit, finish() truncates the reply to the
 * header and question (plus OPT) and sets TC=1. With w->partial set, a
 * record that does not fit is left out, later ones that fit are still
 * added, and finish() keeps them with TC=1 (RFC 2181 9 allows a partial
 * RRset under TC; rbldnsd sends every record that fits).
 */
struct dns_writer {
	uint8_t		*buf;
	size_t		 cap;			/* buffer size */
	size_t		 limit;			/* min(cap, limit, 65535) */
	size_t		 len;			/* bytes written */
	size_t		 question_end;		/* where records start */
	uint16_t	 count[3];		/* AN, NS, AR */
	enum dns_section last;			/* sections must not go back */
	bool		 overflow;		/* something did not fit */
	bool		 partial;		/* on overflow go on with the
						   records that fit (set after
						   init) */
	bool		 edns;			/* add OPT at finish */
	uint16_t	 edns_size;		/* our UDP size in OPT */
	const struct dns_query *q;
};

/*
 * Start a reply to q in buf. The question is copied from q (lower-cased
 * name; RFC 4343 lets us answer in any case but we echo the client's
 * case from pkt when pkt is not NULL; pkt must then be the packet q was
 * parsed from, at least q->question_end bytes). q must have parsed with
 * DNSMSG_OK and must outlive the writer. The reply never grows beyond
 * min(cap, limit, DNS_MAXMSG); when q has EDNS, DNS_OPT_LEN bytes of that
 * are kept for the OPT that finish() appends, so it always fits.
 * edns_size is the UDP size we announce in OPT (at least 512).
 * Returns 0, RBLMUX_EINVAL if q has no parsed question, or RBLMUX_ESPACE
 * if not even the header, question and OPT fit.
 */
int	 dnsmsg_writer_init(struct dns_writer *w, uint8_t *buf, size_t cap,
	    size_t limit, const struct dns_query *q, const uint8_t *pkt,
	    uint16_t edns_size);

/*
 * Owner names: "owner" is the offset of a suffix of qname, in labels
 * from the start (0 = the whole qname, q->nlabels = the root). The writer
 * turns it into a compression pointer (the root is a single 0 byte).
 * Records are class IN and go in section order (answer, authority,
 * additional). Each add returns 0; RBLMUX_EINVAL for an owner beyond
 * q->nlabels, a section that goes back, or an invalid name (nothing is
 * written); RBLMUX_ESPACE when the record does not fit: it is not
 * written, w->overflow is set, later adds are refused the same way
 * (unless w->partial) and finish() sends the truncated (TC=1) reply.
 */
int	 dnsmsg_add_a(struct dns_writer *w, enum dns_section s,
	    unsigned owner, uint32_t ttl, uint32_t addr);
/* TXT: text of any length, split into <=255-byte character-strings */
int	 dnsmsg_add_txt(struct dns_writer *w, enum dns_section s,
	    unsigned owner, uint32_t ttl, const char *txt, size_t len);
/*
 * names: presentation form, trailing dot optional, e.g. "ns1.rbl.local";
 * written uncompressed (see dnsmsg_name_to_wire)
 */
int	 dnsmsg_add_ns(struct dns_writer *w, enum dns_section s,
	    unsigned owner, uint32_t ttl, const char *nsname);
int	 dnsmsg_add_soa(struct dns_writer *w, enum dns_section s,
	    unsigned owner, uint32_t ttl, const char *mname, const char *rname,
	    uint32_t serial, uint32_t refresh, uint32_t retry, uint32_t expire,
	    uint32_t minimum);

/*
 * Any record with its RDATA already in wire form (rdlen bytes; names in
 * it uncompressed). Lets a caller build fixed RDATA, such as a zone's
 * SOA, once at load time instead of converting names on every query.
 */
int	 dnsmsg_add_rr(struct dns_writer *w, enum dns_section s,
	    unsigned owner, uint16_t type, uint32_t ttl, const void *rdata,
	    size_t rdlen);

/* Bytes left for records (room for the OPT is kept apart). */
size_t	 dnsmsg_room(const struct dns_writer *w);

/*
 * Finish the reply: set QR, AA (if aa), RD copied, RCODE (extended bits
 * into OPT), section counts, OPT when the query had EDNS (version 0, DO
 * clear: we do no DNSSEC). After an overflow the reply has TC=1 and is
 * cut back to the header and question with no records but the OPT (with
 * w->partial: to the records that fit). An
 * extended RCODE without EDNS cannot be expressed and is sent as
 * FORMERR; an RCODE outside 0..4095 as SERVFAIL. RA is never set.
 * Call once. Returns the reply length.
 */
size_t	 dnsmsg_finish(struct dns_writer *w, int rcode, bool aa);

/*
 * Build an error reply (FORMERR/NOTIMP/REFUSED/BADVERS/SERVFAIL) to the
 * packet pkt whose parse produced q: echoes the question when
 * q->question_end is set (in the client's case when pkt holds it), else
 * sends the header alone (QDCOUNT 0). ID, OPCODE and RD are copied.
 * OPT (announcing DNSMSG_ERR_EDNS_SIZE) is added when q->edns is set and
 * always for BADVERS. The reply is at most 12 + 259 + 11 bytes, so it
 * fits any UDP limit; if cap is smaller the question is left out.
 * q must come from a parse that did not return DNSMSG_DROP. Returns the
 * reply length, or 0 if nothing sensible can be sent (cap too small even
 * for the header and OPT).
 */
#define DNSMSG_ERR_EDNS_SIZE	1232

size_t	 dnsmsg_error_reply(const uint8_t *pkt, size_t len,
	    const struct dns_query *q, int rcode, uint8_t *out, size_t cap);

/* Label i of q (0 = leftmost): pointer to its bytes and its length. */
static inline const uint8_t *
dnsmsg_label(const struct dns_query *q, unsigned i, unsigned *len)
{
	const uint8_t *p = q->qname + q->label_off[i];
	*len = p[0];
	return p + 1;
}

/*
 * Convert a presentation name ("ns1.rbl.local", no trailing dot needed;
 * "." alone is the root) into wire form, keeping its case. Empty labels,
 * labels over 63 bytes and names over 255 wire bytes are invalid; no
 * escapes are interpreted. Returns the wire length, or 0 if invalid or
 * longer than cap.
 */
size_t	 dnsmsg_name_to_wire(const char *name, uint8_t *out, size_t cap);

#endif /* RBLMUX_DNSMSG_H */
