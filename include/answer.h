/*
 * answer.h -- answer one query from a view.
 *
 * The query path after the wire parser: find the zone, classify the name
 * (apex, IPv4/IPv6 reversed address, domain name, per-result subzone,
 * empty non-terminal), consult the zone's sources, merge, and write the
 * reply with the dnsmsg writer. No allocation, no I/O, no clock (the time
 * is passed in); the view must stay alive while a query is answered.
 *
 * answer_decide_subject() and answer_merge() are the same decision
 * without DNS wire output, used by the control socket's "lookup".
 */
#ifndef RBLMUX_ANSWER_H
#define RBLMUX_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dnsmsg.h"
#include "list.h"
#include "merge.h"
#include "view.h"

#define ANSWER_MAX_SRC		64	/* sources per zone */
/*
 * Values one answer holds for all its sources together: more records than
 * the largest reply can carry (a TXT record takes at least 13 bytes,
 * an A record 16), so a served zone answers every value that fits.
 */
#define ANSWER_MAX_VALS		((DNS_MAXMSG - DNS_HDRLEN) / 13 + 1)
/* Values kept per source of an aggregate zone (the first one answers) */
#define ANSWER_AGG_VALS		8
/*
 * Most seconds an answer lives when a remote result failed or missed the
 * deadline (a partial answer): the next query soon asks again.
 */
#define ANSWER_PARTIAL_TTL	30

enum subject_kind {
	SUBJ_NONE = 0,		/* no such name: NXDOMAIN */
	SUBJ_APEX,		/* the zone apex */
	SUBJ_ENT,		/* empty non-terminal: NOERROR, no data */
	SUBJ_IP4,
	SUBJ_IP6,
	SUBJ_NAME,
};

/* What a query name asks about. */
struct subject {
	enum subject_kind	 kind;
	uint32_t		 ip4;		/* host order */
	uint8_t			 ip6[16];
	char			 name[DNS_MAXNAME + 1]; /* SUBJ_NAME, dotted */
	size_t			 name_len;
	char			 text[DNS_MAXNAME + 1]; /* for "$" in TXT */
	const struct vsource	*only;		/* per-result subzone, or NULL */
};

/*
 * The answer in three steps, with a small state between them:
 *
 *   answer_decide()    find the zone, classify the name, RFC 5782 test
 *                      points, allowlists first (an allowlisted subject
 *                      needs no remote result), then the local lists;
 *                      st->missing says which remote results (upstream,
 *                      escalation) are still to come;
 *   answer_complete()  fill in one remote result;
 *   answer_write()     the reply from the state: merged for aggregate
 *                      zones, every value for served zones, TC, SOA, TTL
 *                      clamps. A remote result still missing then
 *                      contributes nothing.
 *
 * answer_query() runs the three at once. A query that waits for remote
 * results keeps only the state (values and statuses, indices into the
 * view, valid while it holds a reference to the view) and the query.
 */

enum answer_kind {
	ANSWER_REFUSED = 0,	/* not our zone, class or type */
	ANSWER_SERVFAIL,	/* serve: zone over expired data */
	ANSWER_APEX,		/* SOA / NS at the apex */
	ANSWER_NODATA,		/* empty non-terminal */
	ANSWER_NXDOMAIN,	/* no such name */
	ANSWER_SUBJECT,		/* an address or name: the sources decide */
};

enum answer_src_status {
	ASRC_MISSING = 0,	/* remote result still to come */
	ASRC_LISTED,		/* local values found, or a remote listing */
	ASRC_NOT_LISTED,	/* not listed (remote: with a negative TTL) */
	ASRC_EXPIRED,		/* local list over expired data: not asked */
	ASRC_FAILED,		/* remote failure or timeout: nothing */
	ASRC_NOT_ASKED,		/* remote, not needed (allowlist, test point) */
};

/* One source's part of a state (16 bytes). */
struct answer_src {
	uint32_t		 a;		/* listed: the first value's A */
	uint32_t		 ttl;		/* listed: its TTL; remote not
						   listed: the negative TTL */
	uint16_t		 nvals;		/* local: values found */
	uint16_t		 txt_off;	/* remote TXT in state txt[] */
	uint8_t			 txt_len;
	uint8_t			 status;	/* enum answer_src_status */
	uint8_t			 subj_off;	/* "$" is the subject text from
						   here (name lists) */
	uint8_t			 remote;	/* an upstream or escalation */
};

/* Remote TXT reasons a state keeps, all sources together */
#define ANSWER_STATE_TXT	480

/*
 * What a query keeps between the steps: no pointer, 1.5 KB at most
 * (64 sources of 16 bytes, the TXT of remote results, a header), where
 * the one-pass decision held about 9 KB of pointers and 40 KB of values.
 */
struct answer_state {
	uint64_t		 missing;	/* bit i: src[i] still to come */
	uint32_t		 zone;		/* index in the view's zones */
	uint8_t			 kind;		/* enum answer_kind */
	int8_t			 testpoint;	/* 1 listed, -1 never, 0 none */
	bool			 listed;	/* set by answer_write/_merge */
	bool			 cut;		/* a served list has more values
						   than one reply holds */
	uint16_t		 only;		/* per-result subzone: source
						   index + 1, else 0 */
	uint16_t		 exempted_by;	/* allowlist index + 1, else 0 */
	uint16_t		 nsrc;
	uint16_t		 txt_used;
	struct answer_src	 src[ANSWER_MAX_SRC];	/* src[0] is the only
							   one of a subzone */
	char			 txt[ANSWER_STATE_TXT];
};

_Static_assert(sizeof(struct answer_state) <= 1536,
    "a waiting query keeps its state: keep it small");
_Static_assert(ANSWER_MAX_SRC <= 64, "missing is a 64-bit set");

/*
 * Work space of one step, on the caller's stack and never kept: the
 * subject and the local values found (pointers into the view's lists).
 */
struct answer_work {
	struct subject		 s;
	const struct list_value	*vals[ANSWER_MAX_VALS];
	uint16_t		 voff[ANSWER_MAX_SRC];	/* src[i]'s values
							   start at vals[voff[i]] */
	size_t			 nvals;
};

/* A remote source's result, for answer_complete(). */
enum answer_result_status {
	ANSWER_RES_LISTED = 0,
	ANSWER_RES_NOT_LISTED,
	ANSWER_RES_FAILED,	/* error or timeout: contributes nothing */
};

#define ANSWER_RES_MAX_A	8

struct answer_result {
	enum answer_result_status status;
	uint32_t		 a[ANSWER_RES_MAX_A];	/* listed: codes, host
							   order; a[0] answers */
	unsigned		 na;
	uint32_t		 ttl;		/* listed: TTL; not listed: the
						   negative TTL */
	const char		*txt;		/* reason, may be NULL */
	size_t			 txt_len;
};

/* The view's source behind entry i of a state decided under v. */
static inline const struct vsource *
answer_src_of(const struct view *v, const struct answer_state *st, size_t i)
{
	const struct vzone *z = &v->zones[st->zone];

	return &z->src[st->only != 0 ? st->only - 1u : i];
}

/*
 * Classify the labels of q below zone z into *s. Returns the subject kind.
 */
enum subject_kind answer_classify(const struct vzone *z,
	    const struct dns_query *q, struct subject *s);

/*
 * Parse a subject given as text ("192.0.2.1", "2001:db8::1",
 * "example.com": a domain name as conf_parse_dname() accepts it) for
 * zone z. Returns 0 or RBLMUX_EINVAL (also when out of memory).
 */
int	 answer_subject_parse(const struct vzone *z, const char *text,
	    struct subject *s);

/* Flags of answer_decide_subject() */
#define ANSWER_ALL_LOCAL	0x1	/* look up every local list, also for
					   an allowlisted subject (lookup) */

/*
 * Step 1 for a subject already in wk->s (kind IP4, IP6 or NAME) of zone
 * z at time now. A list whose $TIMESTAMP expiry lies before now is not
 * asked: in an aggregate zone it contributes nothing (an allowlist
 * exempts nothing), a serve: zone over it decides ANSWER_SERVFAIL. A
 * served zone (or a per-result subzone) collects every value of its
 * lists, up to ANSWER_MAX_VALS in all; an aggregate zone at most
 * ANSWER_AGG_VALS per source. Fills *st and wk's values; returns
 * st->missing (0: nothing remote is needed).
 */
uint64_t answer_decide_subject(const struct view *v, const struct vzone *z,
	    time_t now, int flags, struct answer_state *st,
	    struct answer_work *wk);

/*
 * Step 1 for query q at time now: the zone and kind of answer, and for
 * a subject answer_decide_subject(). Returns st->missing.
 */
uint64_t answer_decide(const struct view *v, const struct dns_query *q,
	    time_t now, struct answer_state *st, struct answer_work *wk);

/*
 * Step 2: source i's remote result r. Returns 0, or RBLMUX_EINVAL when
 * source i waits for no result or r is not one (listed without a code).
 * A TXT that does not fit the state's room is cut.
 */
int	 answer_complete(struct answer_state *st, size_t i,
	    const struct answer_result *r);

/*
 * answer_complete() of a result with one code a (listed) or none (not
 * listed) and no reason, inline: what a cache hit mostly is. Source i
 * must be missing.
 */
static inline void
answer_complete_code(struct answer_state *st, size_t i, bool listed,
    uint32_t a, uint32_t ttl)
{
	struct answer_src *as = &st->src[i];

	st->missing &= ~(UINT64_C(1) << i);
	as->ttl = ttl;
	if (!listed) {
		as->status = ASRC_NOT_LISTED;
		return;
	}
	as->status = ASRC_LISTED;
	as->a = a;
	as->nvals = 1;
	as->txt_len = 0;
	as->txt_off = st->txt_used;
}

/*
 * The zone's decision from st (sources that are still missing count as
 * not listed). Fills hits (ANSWER_MAX_SRC of them) and *nhits, and for
 * aggregate zones *out. With want_txt each hit's reason is expanded into
 * txtbuf (txtcap bytes). wk holds the values answer_decide*() found.
 * Sets and returns st->listed.
 */
int	 answer_merge(const struct view *v, struct answer_state *st,
	    const struct answer_work *wk, bool want_txt, char *txtbuf,
	    size_t txtcap, struct merge_hit *hits, size_t *nhits,
	    struct merge_out *out);

/*
 * Step 3: the reply to q (parsed from pkt) from st into out (cap bytes,
 * the reply must fit limit). wk is what answer_decide() left, or NULL
 * (after the query waited): the name is classified and the local lists
 * looked up again, which the view's immutable lists answer alike. A
 * served zone answers every distinct value that fits, in the order of
 * the lists; the records that do not fit are left out and TC is set. A
 * serve: zone over expired data answers SERVFAIL to every name in it,
 * as rbldnsd does. Stores the RCODE sent in *rcode. Returns the reply
 * length, or 0 when nothing is to be sent.
 */
size_t	 answer_write(const struct view *v, const struct dns_query *q,
	    const uint8_t *pkt, size_t pktlen, struct answer_state *st,
	    struct answer_work *wk, uint8_t *out, size_t cap, size_t limit,
	    int *rcode);

/*
 * The three steps at once: answer q (parsed from pkt) from v at time now
 * into out, remote results that answer_decide() finds missing counting
 * as not listed (no upstream is queried yet). As answer_write().
 */
size_t	 answer_query(const struct view *v, const struct dns_query *q,
	    const uint8_t *pkt, size_t pktlen, time_t now, uint8_t *out,
	    size_t cap, size_t limit, int *rcode);

/* Find the zone a query name falls in (longest apex), or NULL. */
const struct vzone *answer_find_zone(const struct view *v,
	    const struct dns_query *q);

#endif /* RBLMUX_ANSWER_H */
