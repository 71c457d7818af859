/*
 * zdump.h -- a served zone as the records of a complete zone.
 *
 * For AXFR and `export --format zone`: SOA, NS, the RFC 5782 test points
 * and every listing of the zone's address and name lists, such that a
 * standard secondary loaded with the records answers every address and
 * name as rblmuxd does: the same values, TXT with "$" expanded, listed
 * or not.
 *
 * Form (rbldnsd's dump, with exact wildcard semantics): a block that a
 * list covers as a whole at an octet (IPv4: /8, /16, /24) or nibble
 * (IPv6) boundary is one wildcard ("*.c.b.a"); a /32 (/128) is a record
 * of its own; trie prefixes between boundaries give the blocks of the
 * next boundary. DNS wildcards do not reach below an existing name, so
 * every block that holds more specific data is a name of its own: its
 * wildcard carries what the less specific data says there (a /24 with
 * /32 entries under a /16 block gets its own "*.c.b.a" with the /16's
 * values). What an address answers is always taken from the zone's own
 * lookup (answer_decide_subject), so several lists of the zone, their
 * exclusions, allowlists (exempt:) and test points come out as a query
 * sees them. Not listed where a less specific block is listed:
 *   - a whole block (an exclusion at /24, /16, /8): the block's name is
 *     made to exist without a wildcard (one record of the private type
 *     ZDUMP_TYPE_EMPTY, no data), so every address below it is NXDOMAIN;
 *   - single addresses (a "!" /32 under a listed /24): the /24 is
 *     written out as its 256 (IPv6: 16) addresses, the excluded ones
 *     left out, as rbldnsd's dump writes a range with a hole. NXDOMAIN
 *     stays NXDOMAIN, where a record without data would answer NOERROR.
 * TXT that names the address ("$"): exact in records of their own; a
 * wildcard says the block's first address, as rbldnsd's dump does,
 * but for blocks of at most 2^ZDUMP_TXT_EXPAND_BITS addresses (an IPv6
 * /124), written out address by address. Writing out every /24 with
 * such a text made a 1,000,000-entry zone 150 million records.
 *
 * Streaming: a zdump holds a position per list (list_next_pos()) and
 * the open blocks of the current path, a few KB and the answer work
 * space, whatever the zone's size; zdump_step() does one position and
 * may be called again later, as long as the view lives.
 *
 * Names (dnset lists, their dynamic entries, the allowlists' names and
 * the test point "test"): walked in the lists' own order
 * (list_next_name(), merged; dynamic names held sorted). Every name of
 * an entry and every name above one is a node: its records when the
 * lookup lists it, and "*.name" with what a child without an entry of
 * its own answers (asked of the lookup with a label no entry can have)
 * when that is listed. So an exact "a.b.x" under "*.x" gives "b.x" and
 * "*.b.x" the wildcard's values, as DNS wildcards do not reach below an
 * existing name. A name not listed, with nothing below, whose parent's
 * wildcard is listed gets a ZDUMP_TYPE_EMPTY record (NOERROR where
 * rblmuxd says NXDOMAIN). TXT "$" of a name list is the matched entry,
 * a suffix: exact in wildcards too. The open path holds a key and a
 * count per label.
 *
 * Not expressed: names shorter than an address (rblmuxd answers them
 * NOERROR without data, a secondary NXDOMAIN unless something lies
 * below); a name not listed with listed names below it where the
 * records hold none (an allowlist, an exclusion) is NXDOMAIN in the
 * records, NODATA from rblmuxd; in a zone that answers names and
 * addresses, names that read as an address (all labels decimal, or
 * single hex digits) belong to the address walk, and a name below an
 * address-like one may be answered by an address wildcard.
 */
#ifndef RBLMUX_ZDUMP_H
#define RBLMUX_ZDUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct view;
struct vzone;

/* Blocks this small whose TXT names the address are written out */
#define ZDUMP_TXT_EXPAND_BITS	4

/* Private-use RR type (RFC 6895) that makes a block's name exist */
#define ZDUMP_TYPE_EMPTY	65280

/* One record. */
struct zdump_rr {
	const uint8_t	*owner;		/* labels below the apex, wire form
					   without the root; owner_len 0: the
					   apex itself */
	size_t		 owner_len;
	uint16_t	 type;
	uint32_t	 ttl;
	const uint8_t	*rdata;		/* names in it uncompressed */
	size_t		 rdlen;
};

/* Called for each record; a negative return stops the dump with it. */
typedef int zdump_fn(void *arg, const struct zdump_rr *rr);

struct zdump;

/*
 * Start dumping zone z of v (a served zone; v must live until
 * zdump_free()) with this SOA serial, answering as at time now. axfr:
 * the SOA comes again as the last record. The zone's dynamic blocks and
 * names are taken now (see zdump_more). Returns 0 and *out, or
 * RBLMUX_ENOMEM, RBLMUX_EINVAL (not a served zone), or zdump_more's code.
 */
int	 zdump_new(const struct view *v, const struct vzone *z,
	    uint32_t serial, time_t now, bool axfr, struct zdump **out);

/*
 * One step: a few records (SOA, an NS, or the records a position of the
 * lists closes, at most a block's 256 names, or those of the names the
 * walk leaves for the next name, one name and its wildcard each). Returns 1 while more are
 * to come, 0 once the zone is complete, or fn's negative return.
 */
int	 zdump_step(struct zdump *zd, zdump_fn *fn, void *arg);

/*
 * Give every block that holds data but no wildcard its ZDUMP_TYPE_EMPTY
 * record (not only those with nothing below): then the records read as
 * longest-prefix data too (export in rbldnsd's format). Names: a name
 * not listed under a listed wildcard gets one for itself and one for
 * "*.name" unless that is listed (rbldnsd's "!name", "!*.name"). Before
 * the first step.
 */
void	 zdump_mark_blocks(struct zdump *zd);

/*
 * Data that is not in list files: dynamic entries, escalated prefixes.
 * What they answer comes from the zone's lookup like the rest; the walk
 * only needs their blocks. When set, zdump_more is called by zdump_new()
 * (not when a dump of the same snapshot runs) for each family of the
 * zone (AF_INET, AF_INET6) to give them, each through
 * add(ctx, key, plen) with the key in network order: a prefix off the
 * octet (nibble) boundary is taken as the blocks it covers.
 * They are held sorted for the walk (24 bytes a block): unlike list
 * files they are not in tree order, and they change while a transfer
 * runs (the walk asks the lookup at the time of each block; a change
 * gets a new serial and a NOTIFY). Returns 0 or a negative code, which
 * ends the dump.
 */
typedef int zdump_add_fn(void *ctx, const uint8_t key[16], unsigned plen);
typedef int zdump_more_fn(const struct view *v, const struct vzone *z,
    int family, time_t now, zdump_add_fn *add, void *ctx);
extern zdump_more_fn *zdump_more;

/*
 * Snapshots of a zone's dynamic blocks and names made so far: dumps of
 * one zone, view and serial that run at the same time share one (the
 * first one's zdump_new() sorts it; the last to end frees it).
 */
uint64_t zdump_snapshots_made(void);

/* Records written so far. */
uint64_t zdump_count(const struct zdump *zd);

void	 zdump_free(struct zdump *zd);		/* accepts NULL */

/*
 * The zone's current SOA RDATA with serial (the view's soa_rdata with
 * the serial replaced) into buf; returns its length.
 */
size_t	 zdump_soa_rdata(const struct vzone *z, uint32_t serial,
	    uint8_t *buf, size_t cap);

#endif /* RBLMUX_ZDUMP_H */
