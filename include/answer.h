/*
 * answer.h -- answer one query from a view.
 *
 * The query path after the wire parser: find the zone, classify the name
 * (apex, IPv4/IPv6 reversed address, domain name, per-result subzone,
 * empty non-terminal), consult the zone's sources, merge, and write the
 * reply with the dnsmsg writer. No allocation, no I/O; the view must stay
 * alive for the duration of the call.
 *
 * answer_verdict() is the same decision without DNS wire output, used by
 * the control socket's "lookup".
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
 * Values a verdict holds for all its sources together: more records than
 * the largest reply can carry (a TXT record takes at least 13 bytes,
 * an A record 16), so a served zone answers every value that fits.
 */
#define ANSWER_MAX_VALS		((DNS_MAXMSG - DNS_HDRLEN) / 13 + 1)
/* Values kept per source of an aggregate zone (the first one answers) */
#define ANSWER_AGG_VALS		8

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

/* One source's raw answer for a subject. */
struct verdict_src {
	const struct vsource	*src;
	const struct list_value	**vals;		/* in the verdict's vals[] */
	int			 nvals;		/* 0 = not listed */
	bool			 expired;	/* its data expired: not asked */
	const char		*subject;	/* what "$" stands for in its TXT:
						   the address, or for name lists
						   the entry that matched */
};

struct verdict {
	int			 listed;	/* the zone answers listed */
	bool			 testpoint;	/* RFC 5782 test address/name */
	bool			 expired;	/* serve: zone over expired data:
						   answers SERVFAIL */
	bool			 cut;		/* a served list has more values
						   than vals[] holds */
	const struct vlist	*exempted_by;	/* allowlist that won, or NULL */
	struct verdict_src	 src[ANSWER_MAX_SRC];
	size_t			 nsrc;
	struct merge_hit	 hits[ANSWER_MAX_SRC];
	size_t			 nhits;
	struct merge_out	 merged;	/* aggregate zones, when listed */
	const struct list_value	*vals[ANSWER_MAX_VALS];
	size_t			 nvals;
};

/*
 * Classify the labels of q below zone z into *s. Returns the subject kind.
 */
enum subject_kind answer_classify(const struct vzone *z,
	    const struct dns_query *q, struct subject *s);

/*
 * Parse a subject given as text ("192.0.2.1", "2001:db8::1",
 * "example.com") for zone z. Returns 0 or RBLMUX_EINVAL.
 */
int	 answer_subject_parse(const struct vzone *z, const char *text,
	    struct subject *s);

/*
 * Decide the answer of zone z for subject s (kind IP4, IP6 or NAME) at
 * time now. A list whose $TIMESTAMP expiry lies before now is not asked:
 * in an aggregate zone it contributes nothing (an allowlist exempts
 * nothing), a serve: zone over it sets vd->expired and lists nothing.
 * A served zone (or a per-result subzone) collects every value of its
 * lists, up to ANSWER_MAX_VALS in all; an aggregate zone at most
 * ANSWER_AGG_VALS per source. When want_txt is set, reasons are
 * expanded into txtbuf (txtcap bytes) and merge hits point into it.
 * Returns vd->listed.
 */
int	 answer_verdict(const struct view *v, const struct vzone *z,
	    const struct subject *s, time_t now, bool want_txt, char *txtbuf,
	    size_t txtcap, struct verdict *vd);

/*
 * Answer q (parsed from pkt) from v at time now into out (cap bytes, the
 * reply must fit limit). A served zone answers every distinct value that
 * fits, in the order of the lists; the records that do not fit are left
 * out and TC is set. A serve: zone over expired data answers SERVFAIL to
 * every name in it, as rbldnsd does. Stores the RCODE sent in *rcode.
 * Returns the reply length, or 0 when nothing is to be sent.
 */
size_t	 answer_query(const struct view *v, const struct dns_query *q,
	    const uint8_t *pkt, size_t pktlen, time_t now, uint8_t *out,
	    size_t cap, size_t limit, int *rcode);

/* Find the zone a query name falls in (longest apex), or NULL. */
const struct vzone *answer_find_zone(const struct view *v,
	    const struct dns_query *q);

#endif /* RBLMUX_ANSWER_H */
