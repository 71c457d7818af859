/*
 * upresp.h -- upstream DNSBL queries and replies on the wire.
 *
 * Pure functions, no I/O, no globals, no clock: usable from any thread.
 * upresp_qname() turns a subject into the name an upstream zone is asked
 * (d.c.b.a.ZONE, 32 nibbles.ZONE, name.ZONE); upresp_query() writes the
 * query (RD set: it usually goes through a recursive resolver; EDNS0
 * with a 1232-byte buffer). upresp_parse() reads a reply with ldns --
 * replies come from outside and are untrusted -- and says what it means
 * for the lookup that was sent:
 *
 *  - MISMATCH: not the reply to this query (QR clear, other ID, opcode,
 *    question count, name, type or class, unparseable): discard it and
 *    keep waiting (RFC 5452);
 *  - TRUNCATED: TC=1, ask again over TCP;
 *  - ERROR: RCODE other than NOERROR/NXDOMAIN, an A outside 127/8, in
 *    the upstream's error codes (default 127.255.255.0/24), or not one
 *    of its code: lines: never a listing, never cached; `why` says which;
 *  - NOT_LISTED: NXDOMAIN, or NOERROR without an A (TXT: without a TXT)
 *    for the exact name; ttl is the negative TTL of RFC 2308 (the SOA's
 *    TTL and MINIMUM, the smaller, when an SOA is in the authority
 *    section, else UPRESP_NEG_TTL_DEFAULT);
 *  - LISTED: the A records (TXT: the strings, joined with no separator)
 *    owned by exactly the query name; CNAMEs and records for other
 *    names are ignored. ttl is the smallest TTL of the records used.
 *
 * upresp_code_listed() maps a validated listing onto one result of the
 * upstream (one of its code: lines, or its own result).
 */
#ifndef RBLMUX_UPRESP_H
#define RBLMUX_UPRESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "dnsmsg.h"

#define UPRESP_MAX_A		8	/* codes kept from one listing */
#define UPRESP_MAX_TXT		255	/* TXT bytes kept (cut beyond) */
#define UPRESP_NEG_TTL_DEFAULT	300	/* NXDOMAIN without an SOA */
#define UPRESP_EDNS_SIZE	1232

enum upresp_kind {
	UPRESP_MISMATCH = 0,
	UPRESP_TRUNCATED,
	UPRESP_ERROR,
	UPRESP_NOT_LISTED,
	UPRESP_LISTED,
};

struct upresp {
	enum upresp_kind kind;
	uint32_t	 a[UPRESP_MAX_A];	/* LISTED (A): host order,
						   in reply order */
	unsigned	 na;
	uint32_t	 ttl;
	char		 txt[UPRESP_MAX_TXT + 1]; /* LISTED (TXT), NUL-ended */
	size_t		 txt_len;
	int		 rcode;			/* the reply's RCODE */
	char		 why[96];		/* ERROR / MISMATCH: a short
						   reason for logs and status */
};

struct subject;

/*
 * The wire name (lower case) subject s has in upstream zone `zone`
 * (presentation form, no trailing dot) into out (DNS_MAXNAME bytes).
 * Returns its length, or 0 when it does not fit or s is not an address
 * or name.
 */
size_t	 upresp_qname(const struct subject *s, const char *zone,
	    uint8_t *out);

/*
 * A query for qname (wire, qlen bytes), type qtype (A or TXT), with id,
 * RD set and an EDNS0 OPT, into buf (cap bytes). Returns its length,
 * or 0 when it does not fit.
 */
size_t	 upresp_query(uint8_t *buf, size_t cap, uint16_t id,
	    const uint8_t *qname, size_t qlen, uint16_t qtype);

/*
 * What reply pkt (len bytes) says to the query (id, qname, qtype) sent
 * to upstream u (its error codes and code: lines). Fills *out.
 */
void	 upresp_parse(const uint8_t *pkt, size_t len, uint16_t id,
	    const uint8_t *qname, size_t qlen, uint16_t qtype,
	    const struct conf_upstream *u, struct upresp *out);

/*
 * Is an A code valid for u: in 127/8, not one of its error codes, and
 * with code: lines one of them. why (whycap bytes) says what is wrong
 * when not.
 */
bool	 upresp_code_valid(const struct conf_upstream *u, uint32_t a,
	    char *why, size_t whycap);

/*
 * Does the listing a[0..na-1] (valid codes) list result `code` of u
 * (an index into u->codes, or -1: u's own result, listed by any code)?
 * Every code: line with that result's name counts (several codes may
 * map to one result). Returns the code that lists it (host order), or 0.
 */
uint32_t upresp_code_listed(const struct conf_upstream *u, int code,
	    const uint32_t *a, unsigned na);

#endif /* RBLMUX_UPRESP_H */
