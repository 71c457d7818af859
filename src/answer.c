/*
 * answer.c -- from a parsed query to a reply, for one view.
 *
 * The zone is found through the view's apex hash table, one probe per
 * apex depth in use (list data is never scanned). The labels below
 * the apex are classified once: a per-result subzone label next to the
 * apex (RFC 5782 2.3), then 4 decimal labels (IPv4), 32 nibbles (IPv6), a
 * shorter run of either (empty non-terminal, RFC 8020 / RFC 9156: answer
 * NOERROR so minimising resolvers carry on), or a domain name.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "conf.h"
#include "dyn.h"
#include "err.h"
#include "escal.h"

#define TP_NONE		0
#define TP_LISTED	1
#define TP_NEVER	(-1)

/*
 * The records add_raw() wrote into one reply, found by a hash of their
 * RDATA: telling whether a value is there already is one probe, so an
 * address with thousands of values costs a pass over them, not that
 * many passes over the answer. More slots than a 64 KB reply has
 * records, so a probe always ends at the record or at a free slot.
 */
#define SEEN_SLOTS	8192

_Static_assert(SEEN_SLOTS > ANSWER_MAX_VALS, "a reply's records fit");

struct seen {
	bool		 hashed;		/* else few records: the probe
						   starts at slot 0 */
	uint16_t	 at[SEEN_SLOTS];	/* offset of a record's RDATA
						   in the reply; 0: free */
};

/*
 * Values up to which a reply's records are found by comparing each one
 * written: clearing the whole table would cost more than the answer.
 */
#define SEEN_FEW	16

static const char tp_text[] = "RFC 5782 test point";

/*
 * answer_find_zone - the served zone holding the query name: the longest
 * apex that is a suffix of it. The suffixes of as many labels as some
 * apex has are looked up in the view's apex hash table, the longest
 * first: the cost depends on the name and the few apex depths in use,
 * never on the number of zones.
 */
const struct vzone *
answer_find_zone(const struct view *v, const struct dns_query *q)
{
	const struct vzone *z;
	unsigned k, off;

	if (v->nzones == 0 || q->qname_len == 0)
		return NULL;
	k = q->nlabels < v->zmaxdepth ? q->nlabels : v->zmaxdepth;
	for (;; k--) {
		if (view_zdepth(v, k)) {
			off = k == 0 ? q->qname_len - 1U :
			    q->label_off[q->nlabels - k];
			z = view_zone_probe(v, view_zhash(q->qname + off,
			    q->qname_len - off), q->qname + off,
			    q->qname_len - off);
			if (z != NULL)
				return z;
		}
		if (k == 0)
			return NULL;
	}
}

/* dec_label - value of a decimal label 0..255, or -1 */
static int
dec_label(const uint8_t *p, unsigned len)
{
	unsigned i;
	int v = 0;

	if (len == 0 || len > 3)
		return -1;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	if (len > 1 && p[0] == '0')
		return -1;		/* "01" is not how anyone writes it */
	return v > 255 ? -1 : v;
}

/* nib_label - value of a one-nibble label, or -1 */
static int
nib_label(const uint8_t *p, unsigned len)
{
	if (len != 1)
		return -1;
	if (p[0] >= '0' && p[0] <= '9')
		return p[0] - '0';
	if (p[0] >= 'a' && p[0] <= 'f')
		return p[0] - 'a' + 10;
	return -1;
}

/*
 * ip4_text - "a.b.c.d" from the reversed octets d[0..3] (d[3] is a);
 * printf costs more than the rest of an answer
 */
static void
ip4_text(char *p, const int d[4])
{
	int i;

	for (i = 3; i >= 0; i--) {
		if (d[i] >= 100)
			*p++ = (char)('0' + d[i] / 100);
		if (d[i] >= 10)
			*p++ = (char)('0' + d[i] / 10 % 10);
		*p++ = (char)('0' + d[i] % 10);
		*p++ = i > 0 ? '.' : '\0';
	}
}

/* set_name - dotted form of labels 0..m-1; 0 if a label holds a dot */
static int
set_name(const struct dns_query *q, unsigned m, struct subject *s)
{
	size_t len = 0;
	unsigned i, l;

	for (i = 0; i < m; i++) {
		const uint8_t *p = dnsmsg_label(q, i, &l);

		if (memchr(p, '.', l) != NULL || memchr(p, '\0', l) != NULL)
			return 0;
		if (i > 0)
			s->name[len++] = '.';
		memcpy(s->name + len, p, l);
		len += l;
	}
	s->name[len] = '\0';
	s->name_len = len;
	memcpy(s->text, s->name, len + 1);
	return 1;
}

/* answer_classify - what the labels below the apex ask about */
enum subject_kind
answer_classify(const struct vzone *z, const struct dns_query *q,
    struct subject *s)
{
	unsigned k = q->nlabels - z->apex_labels, m = k, i, l;
	int dec[4], all_dec = 1, all_nib = 1;
	const uint8_t *p;

	s->only = NULL;
	if (k == 0)
		return s->kind = SUBJ_APEX;

	/* RFC 5782 2.3: d.c.b.a.RESULT.ZONE answers one result alone */
	if (!z->serve) {
		p = dnsmsg_label(q, k - 1, &l);
		for (i = 0; i < z->nsrc; i++) {
			const uint8_t *rl = z->src[i].label;

			/* first bytes inline: a subject's labels seldom
			   begin as a result name does */
			if (rl[0] == l && rl[1] == p[0] &&
			    memcmp(rl + 1, p, l) == 0) {
				s->only = &z->src[i];
				m = k - 1;
				break;
			}
		}
		if (m == 0)
			return s->kind = SUBJ_ENT;
	}

	for (i = 0; i < m && (all_dec || all_nib); i++) {
		int d;

		p = dnsmsg_label(q, i, &l);
		d = dec_label(p, l);
		if (d < 0)
			all_dec = 0;
		else if (i < 4)
			dec[i] = d;
		if (nib_label(p, l) < 0)
			all_nib = 0;
	}

	if (all_dec && m <= 4 && (z->families & VFAM_IP4)) {
		if (m < 4)
			return s->kind = SUBJ_ENT;
		s->ip4 = (uint32_t)dec[3] << 24 | (uint32_t)dec[2] << 16 |
		    (uint32_t)dec[1] << 8 | (uint32_t)dec[0];
		ip4_text(s->text, dec);
		return s->kind = SUBJ_IP4;
	}
	if (all_nib && m <= 32 && (z->families & VFAM_IP6)) {
		if (m < 32)
			return s->kind = SUBJ_ENT;
		memset(s->ip6, 0, sizeof(s->ip6));
		for (i = 0; i < 32; i++) {
			int n = nib_label(dnsmsg_label(q, i, &l), l);

			/* label 0 is the lowest nibble (RFC 5782 2.4) */
			s->ip6[15 - i / 2] |= (uint8_t)(i & 1 ? n << 4 : n);
		}
		inet_ntop(AF_INET6, s->ip6, s->text, sizeof(s->text));
		return s->kind = SUBJ_IP6;
	}
	if (!set_name(q, m, s))
		return s->kind = SUBJ_NONE;
	if ((z->families & VFAM_NAME) ||
	    (m == 1 && (strcmp(s->name, "test") == 0 ||
	    strcmp(s->name, "invalid") == 0)))
		return s->kind = SUBJ_NAME;
	return s->kind = SUBJ_NONE;
}

/* answer_subject_parse - a subject typed by an operator */
int
answer_subject_parse(const struct vzone *z, const char *text,
    struct subject *s)
{
	struct in_addr a4;
	char *name;
	size_t len;

	memset(s, 0, sizeof(*s));
	if (inet_pton(AF_INET, text, &a4) == 1) {
		s->kind = SUBJ_IP4;
		s->ip4 = ntohl(a4.s_addr);
		snprintf(s->text, sizeof(s->text), "%s", text);
		return 0;
	}
	if (inet_pton(AF_INET6, text, s->ip6) == 1) {
		s->kind = SUBJ_IP6;
		inet_ntop(AF_INET6, s->ip6, s->text, sizeof(s->text));
		return 0;
	}
	/* a domain name as the config takes one, lower case, no final dot */
	if (conf_parse_dname(text, &name) != 0)
		return RBLMUX_EINVAL;
	len = strlen(name);
	memcpy(s->name, name, len + 1);
	free(name);
	s->name_len = len;
	memcpy(s->text, s->name, len + 1);
	s->kind = SUBJ_NAME;
	return 0;
}

/* testpoint - RFC 5782 section 5: what must and must not be listed */
static int
testpoint(const struct subject *s)
{
	static const uint8_t v6_2[16] = { [10] = 0xff, [11] = 0xff,
	    [12] = 0x7f, [15] = 2 };
	static const uint8_t v6_1[16] = { [10] = 0xff, [11] = 0xff,
	    [12] = 0x7f, [15] = 1 };

	switch (s->kind) {
	case SUBJ_IP4:
		if (s->ip4 == 0x7f000002U)
			return TP_LISTED;
		if (s->ip4 == 0x7f000001U)
			return TP_NEVER;
		break;
	case SUBJ_IP6:
		if (memcmp(s->ip6, v6_2, 16) == 0)
			return TP_LISTED;
		if (memcmp(s->ip6, v6_1, 16) == 0)
			return TP_NEVER;
		break;
	case SUBJ_NAME:
		if (s->name_len == 4 && memcmp(s->name, "test", 4) == 0)
			return TP_LISTED;
		if (s->name_len == 7 && memcmp(s->name, "invalid", 7) == 0)
			return TP_NEVER;
		break;
	default:
		break;
	}
	return TP_NONE;
}

/* file_lookup - look a subject up in a list's files; *subj: "$" text */
static int
file_lookup(const struct list *l, const struct subject *s,
    const struct list_value **vals, int max, const char **subj)
{
	size_t off = 0;
	int n;

	switch (s->kind) {
	case SUBJ_IP4:
		return list_lookup_ip4(l, s->ip4, vals, max);
	case SUBJ_IP6:
		return list_lookup_ip6(l, s->ip6, vals, max);
	case SUBJ_NAME:
		/* rbldnsd: in name lists "$" is the entry that matched */
		n = list_lookup_name_subject(l, s->name, s->name_len, vals,
		    max, &off);
		if (n > 0 && off < s->name_len)
			*subj = s->name + off;
		return n;
	default:
		return 0;
	}
}

/* dyn_subject - look a subject up in a list's dynamic entries */
static int
dyn_subject(const struct dyn_list *dl, const struct subject *s, time_t now,
    const struct list_value **vals, int max, const char **subj)
{
	size_t off = 0;
	int n;

	switch (s->kind) {
	case SUBJ_IP4:
		return dyn_lookup_ip4(dl, s->ip4, now, vals, max);
	case SUBJ_IP6:
		return dyn_lookup_ip6(dl, s->ip6, now, vals, max);
	case SUBJ_NAME:
		n = dyn_lookup_name(dl, s->name, s->name_len, now, vals, max,
		    &off);
		if (n > 0 && off > 0 && off < s->name_len)
			*subj = s->name + off;
		return n;
	default:
		return 0;
	}
}

/*
 * list_lookup - look a subject up in one local list: its dynamic
 * entries (live at now; 0: every one still indexed), then its files.
 * *subj is the "$" text of the first value. A list without dynamic
 * entries costs one check more than its files.
 */
static int
list_lookup(const struct vlist *vl, const struct subject *s, time_t now,
    const struct list_value **vals, int max, const char **subj)
{
	const char *fsubj;
	int n = 0;

	*subj = s->text;
	if (vl == NULL)
		return 0;
	if (dyn_any(vl->dyn)) {
		n = dyn_subject(vl->dyn, s, now, vals, max, subj);
		if (max > 0 && n >= max)
			return n;
		if (max > 0) {
			vals += n;
			max -= n;
		}
	}
	if (vl->data == NULL)
		return n;
	fsubj = s->text;
	n += file_lookup(vl->data, s, max > 0 ? vals : NULL, max, &fsubj);
	if (*subj == s->text)
		*subj = fsubj;
	return n;
}

/* reason - expand the TXT reason of a listing into buf */
static size_t
reason(const struct vsource *src, const struct list_value *val,
    const char *subject, char *buf, size_t cap)
{
	const char *tmpl = val != NULL ? val->lv_txt : NULL;

	if (tmpl == NULL && src->cl != NULL)
		tmpl = src->cl->txt;
	if (tmpl == NULL)
		return 0;
	if (cap > LIST_TXT_LEN)
		cap = LIST_TXT_LEN;
	return list_txt_expand(tmpl, subject, buf, cap);
}

/*
 * src_values - look the subject up in local source i of st into
 * wk->vals (a served zone shares vals[], keeping one for each later
 * source, and notes in st->cut when a list holds more)
 */
static void
src_values(const struct vsource *src, struct answer_state *st,
    struct answer_work *wk, size_t i, bool all, time_t now)
{
	struct answer_src *as = &st->src[i];
	const struct vlist *vl = src->vl;
	const char *subj;
	int max = ANSWER_AGG_VALS, nv;

	if (all)
		max = (int)(ANSWER_MAX_VALS - wk->nvals - (st->nsrc - i - 1));
	nv = list_lookup(vl, &wk->s, now, wk->vals + wk->nvals, max, &subj);
	if (all && nv == max &&
	    list_lookup(vl, &wk->s, now, NULL, 0, &subj) > max)
		st->cut = true;
	/*
	 * Looked up again after a wait, a dynamic entry may have gone:
	 * only what is found now is counted and read
	 */
	if (nv == 0)
		as->status = ASRC_NOT_LISTED;
	as->nvals = (uint16_t)nv;
	/* name lists: text is a copy of name */
	as->subj_off = (uint8_t)(subj == wk->s.text ? 0 : subj - wk->s.name);
	wk->nvals += (size_t)nv;
	if (nv > 0) {
		as->status = ASRC_LISTED;
		as->a = wk->vals[wk->voff[i]]->lv_a;
		as->ttl = wk->vals[wk->voff[i]]->lv_ttl;
	}
}

/* exempt - the allowlist (index + 1) that lists the subject, or 0 */
static uint16_t
exempt(const struct vzone *z, const struct subject *s, time_t now)
{
	size_t i;

	for (i = 0; i < z->nexempt; i++) {
		const struct list_value *ev[1];
		const char *subj;

		if (view_list_expired(z->exempt[i], now) == 0 &&
		    list_lookup(z->exempt[i], s, now, ev, 1, &subj) > 0)
			return (uint16_t)(i + 1);
	}
	return 0;
}

/*
 * escalation - escalation source i decided at once from the rule's
 * counts: the rule's value: with its TXT when the subject's network is
 * escalated and no source file excludes the subject
 */
static void
escalation(const struct view *v, const struct vzone *z,
    const struct vsource *src, struct answer_state *st,
    const struct answer_work *wk, size_t i, time_t now)
{
	struct answer_result r;
	struct escal_hit h;
	char txt[ESCAL_TXT_LEN];

	memset(&r, 0, sizeof(r));
	r.status = ANSWER_RES_NOT_LISTED;
	r.ttl = z->neg_ttl;
	if (escal_view_subject(v, src->escal, &wk->s, now, &h)) {
		r.status = ANSWER_RES_LISTED;
		r.a[0] = v->escal[src->escal].ce->value;
		r.na = 1;
		r.ttl = v->escal[src->escal].ttl;
		r.txt = txt;
		r.txt_len = escal_view_txt(v, src->escal, &h, txt,
		    sizeof(txt));
	}
	st->missing |= UINT64_C(1) << i;
	answer_complete(st, i, &r);
}

/* answer_decide_subject - what the zone's sources say, what is missing */
uint64_t
answer_decide_subject(const struct view *v, const struct vzone *z,
    time_t now, int flags, struct answer_state *st, struct answer_work *wk)
{
	const struct subject *s = &wk->s;
	size_t i, n;
	bool asked, all = z->serve || s->only != NULL, look;

	st->zone = (uint32_t)(z - v->zones);
	st->kind = ANSWER_SUBJECT;
	st->testpoint = (int8_t)testpoint(s);
	st->listed = false;
	st->cut = false;
	st->only = s->only != NULL ? (uint16_t)(s->only - z->src + 1) : 0;
	st->exempted_by = 0;
	st->txt_used = 0;
	st->missing = 0;
	wk->nvals = 0;
	if (z->expires != 0 && z->expires < now) {
		st->kind = ANSWER_SERVFAIL;
		st->nsrc = 0;
		return 0;
	}
	n = s->only != NULL ? 1 : z->nsrc;
	if (n > ANSWER_MAX_SRC)
		n = ANSWER_MAX_SRC;
	if (st->testpoint == TP_NEVER)
		n = 0;		/* never listed, nothing asked */
	st->nsrc = (uint16_t)n;
	/*
	 * Allowlists first: they win over every list, but never over a test
	 * point; one whose data expired exempts nothing. An allowlisted
	 * subject or a test point asks nothing remote.
	 */
	if (st->testpoint == TP_NONE)
		st->exempted_by = exempt(z, s, now);
	asked = st->testpoint == TP_NONE && st->exempted_by == 0;
	look = st->exempted_by == 0 || (flags & ANSWER_ALL_LOCAL);
	for (i = 0; i < n; i++) {
		const struct vsource *src = answer_src_of(v, st, i);
		struct answer_src *as = &st->src[i];

		memset(as, 0, sizeof(*as));
		wk->voff[i] = (uint16_t)wk->nvals;
		as->remote = src->kind != VSRC_LIST;
		if (src->kind == VSRC_ESCALATION) {
			/* local, kept as a remote result: its TXT is its own */
			as->status = ASRC_NOT_ASKED;
			if (asked)
				escalation(v, z, src, st, wk, i, now);
		} else if (as->remote) {
			as->status = asked ? ASRC_MISSING : ASRC_NOT_ASKED;
			if (asked)
				st->missing |= UINT64_C(1) << i;
		} else if (src->expires != 0 && src->expires < now)
			as->status = ASRC_EXPIRED;
		else {
			as->status = ASRC_NOT_LISTED;
			if (look)
				src_values(src, st, wk, i, all, now);
		}
	}
	return st->missing;
}

/* answer_decide - step 1 for a query */
uint64_t
answer_decide(const struct view *v, const struct dns_query *q, time_t now,
    struct answer_state *st, struct answer_work *wk)
{
	const struct vzone *z;
	uint16_t qt = q->qtype;

	memset(st, 0, offsetof(struct answer_state, src));
	z = answer_find_zone(v, q);
	if (z == NULL || (q->qclass != DNS_CLASS_IN &&
	    q->qclass != DNS_CLASS_ANY) || qt == DNS_TYPE_AXFR ||
	    qt == DNS_TYPE_IXFR) {
		/* not ours: rblmux is not a resolver */
		st->kind = ANSWER_REFUSED;
		return 0;
	}
	st->zone = (uint32_t)(z - v->zones);
	if (z->expires != 0 && z->expires < now) {
		/* rbldnsd: "zone data expired", the whole zone SERVFAILs */
		st->kind = ANSWER_SERVFAIL;
		return 0;
	}
	switch (answer_classify(z, q, &wk->s)) {
	case SUBJ_APEX:
		st->kind = ANSWER_APEX;
		return 0;
	case SUBJ_ENT:
		st->kind = ANSWER_NODATA;
		return 0;
	case SUBJ_NONE:
		st->kind = ANSWER_NXDOMAIN;
		return 0;
	default:
		return answer_decide_subject(v, z, now, 0, st, wk);
	}
}

/* remote_code - code k of a remote listing (answer_complete()) */
static uint32_t
remote_code(const struct answer_state *st, const struct answer_src *as,
    int k)
{
	uint32_t a;

	if (k == 0)
		return as->a;
	memcpy(&a, st->txt + as->txt_off + as->txt_len + 4 * (k - 1), 4);
	return a;
}

/*
 * txt_kept - is this reason in the state already, kept by a source
 * other than self (whose own txt_off is not set yet)? Then *off is where
 */
static bool
txt_kept(const struct answer_state *st, size_t self, const char *txt,
    size_t len, uint16_t *off)
{
	size_t i;

	for (i = 0; i < st->nsrc; i++) {
		const struct answer_src *as = &st->src[i];

		if (i != self && as->remote && as->status == ASRC_LISTED &&
		    as->txt_len == len && memcmp(st->txt + as->txt_off, txt,
		    len) == 0) {
			*off = as->txt_off;
			return true;
		}
	}
	return false;
}

/* answer_complete - one remote source's result */
int
answer_complete(struct answer_state *st, size_t i,
    const struct answer_result *r)
{
	struct answer_src *as;
	size_t len, room, na, extra;

	if (i >= st->nsrc || !(st->missing >> i & 1) ||
	    (r->status == ANSWER_RES_LISTED && r->na == 0))
		return RBLMUX_EINVAL;
	as = &st->src[i];
	switch (r->status) {
	case ANSWER_RES_LISTED:
		/* one code, no reason so far; then the reason and codes */
		answer_complete_code(st, i, true, r->a[0], r->ttl);
		na = r->na < ANSWER_RES_MAX_A ? r->na : ANSWER_RES_MAX_A;
		len = r->txt != NULL ? r->txt_len : 0;
		if (len > LIST_TXT_LEN)
			len = LIST_TXT_LEN;
		as->txt_len = (uint8_t)len;
		/* the results of one upstream share its reason */
		if (len > 0 && na == 1 && txt_kept(st, i, r->txt, len,
		    &as->txt_off))
			break;
		room = sizeof(st->txt) - st->txt_used;
		if (len > room)
			as->txt_len = (uint8_t)(len = room);
		memcpy(st->txt + st->txt_used, r->txt, len);
		as->txt_off = st->txt_used;
		/* further codes (a mirror answers each) right after it */
		extra = na - 1;
		if (extra * 4 > room - len)
			extra = (room - len) / 4;
		memcpy(st->txt + st->txt_used + len, &r->a[1], extra * 4);
		as->nvals = (uint16_t)(1 + extra);
		st->txt_used = (uint16_t)(st->txt_used + len + extra * 4);
		break;
	case ANSWER_RES_NOT_LISTED:
		answer_complete_code(st, i, false, 0, r->ttl);
		break;
	default:
		st->missing &= ~(UINT64_C(1) << i);
		as->status = ASRC_FAILED;
		break;
	}
	return 0;
}

/* counts - does source i take part: listed, or for a test point */
static bool
counts(const struct answer_state *st, size_t i)
{
	return st->src[i].status == ASRC_LISTED ||
	    (st->testpoint == TP_LISTED && st->src[i].status != ASRC_EXPIRED);
}

/* exempted - never listed: a test point of "never", or allowlisted */
static bool
exempted(const struct answer_state *st)
{
	return st->kind != ANSWER_SUBJECT || st->testpoint == TP_NEVER ||
	    st->exempted_by != 0;
}

/* served_listed - a served zone (or subzone) lists what a source lists */
static bool
served_listed(struct answer_state *st)
{
	size_t i;

	st->listed = false;
	for (i = 0; i < st->nsrc && !exempted(st); i++)
		if (counts(st, i))
			return st->listed = true;
	return false;
}

/* answer_merge - the zone's decision from the sources' results */
int
answer_merge(const struct view *v, struct answer_state *st,
    const struct answer_work *wk, bool want_txt, char *txtbuf,
    size_t txtcap, struct merge_hit *hits, size_t *nhits,
    struct merge_out *out)
{
	const struct conf_server *cs = &v->conf->server;
	const struct vzone *z = &v->zones[st->zone];
	size_t i, n = 0, used = 0;

	*nhits = 0;
	st->listed = false;
	if (exempted(st))
		return 0;
	for (i = 0; i < st->nsrc; i++) {
		const struct vsource *src = answer_src_of(v, st, i);
		const struct answer_src *as = &st->src[i];
		struct merge_hit *h;

		if (!counts(st, i))
			continue;
		h = &hits[n++];
		h->name = src->name;
		h->bit = src->bit;
		h->value = src->value;
		h->weight = src->weight;
		h->txt = NULL;
		h->txt_len = 0;
		if (as->status == ASRC_LISTED) {
			h->own_a = as->a;
			h->ttl = as->ttl;
		} else {
			/* test point the list itself does not carry */
			h->own_a = 0x7f000002U;
			h->ttl = src->cl != NULL ? src->cl->ttl : cs->ttl_min;
			if (h->weight < 0)
				h->weight = 0;
			h->txt = tp_text;
			h->txt_len = sizeof(tp_text) - 1;
		}
		if (!want_txt || as->status != ASRC_LISTED)
			continue;
		if (as->remote) {
			h->txt = st->txt + as->txt_off;
			h->txt_len = as->txt_len;
		} else if (used < txtcap) {
			h->txt = txtbuf + used;
			h->txt_len = reason(src, wk->vals[wk->voff[i]],
			    wk->s.text + as->subj_off, txtbuf + used,
			    txtcap - used);
			used += h->txt_len;
		}
	}
	*nhits = n;
	if (z->serve || st->only != 0)
		st->listed = n > 0;
	else
		st->listed = merge_answer(z->answer, hits, n, z->ttl_min,
		    z->ttl_max, out) != 0;
	return st->listed;
}

/*
 * name_has_below - is the name an empty non-terminal of a name list
 * (its files or its dynamic entries)?
 */
static int
name_has_below(const struct vzone *z, const struct subject *s)
{
	size_t i;

	for (i = 0; i < z->nsrc; i++) {
		const struct vsource *src = s->only ? s->only : &z->src[i];

		if (src->kind == VSRC_LIST && src->vl->data != NULL &&
		    list_type(src->vl->data) == LIST_DNSET &&
		    list_has_below(src->vl->data, s->name, s->name_len))
			return 1;
		if (src->kind == VSRC_LIST && dyn_any(src->vl->dyn) &&
		    dyn_has_below(src->vl->dyn, s->name, s->name_len))
			return 1;
		if (s->only)
			break;
	}
	return 0;
}

/* add_soa - the zone's SOA record at its apex */
static int
add_soa(struct dns_writer *w, const struct vzone *z, enum dns_section sec,
    unsigned apex, uint32_t ttl)
{
	return dnsmsg_add_rr(w, sec, apex, DNS_TYPE_SOA, ttl, z->soa_rdata,
	    z->soa_rdlen);
}

/*
 * seen_slot - the slot of the record with this RDATA among those written
 * to w: its own, or the free one where it goes
 */
static uint16_t *
seen_slot(struct seen *sn, const struct dns_writer *w, const uint8_t *rd,
    size_t rdlen)
{
	uint32_t h = 2166136261U;	/* FNV-1a */
	size_t i, at;

	for (i = 0; i < rdlen && sn->hashed; i++)
		h = (h ^ rd[i]) * 16777619U;
	for (i = sn->hashed ? h & (SEEN_SLOTS - 1) : 0;;
	    i = (i + 1) & (SEEN_SLOTS - 1)) {
		at = sn->at[i];
		if (at == 0 || (((size_t)w->buf[at - 2] << 8 |
		    w->buf[at - 1]) == rdlen &&
		    memcmp(w->buf + at, rd, rdlen) == 0))
			return &sn->at[i];
	}
}

/*
 * add_raw - a served list's own values: the rbldnsd-compatible answer.
 * Every distinct record once (rbldnsd drops a record equal to one
 * already in the answer), in the order of the lists, each one that fits
 * (as rbldnsd, a shorter TXT after one that did not fit still goes in);
 * the writer sets TC when one was left out. A remote listing answers
 * its code and TXT.
 */
static void
add_raw(struct dns_writer *w, const struct answer_state *st,
    const struct answer_work *wk, uint16_t qtype, uint32_t ttl_min,
    uint32_t ttl_max, uint32_t tp_ttl)
{
	uint8_t rd[1 + LIST_TXT_LEN];
	struct seen seen;
	uint16_t *slot;
	size_t i, rdlen, nv = 0;
	uint16_t type = qtype == DNS_TYPE_TXT ? DNS_TYPE_TXT : DNS_TYPE_A;
	int k, any = 0;

	for (i = 0; i < st->nsrc; i++)
		if (st->src[i].status == ASRC_LISTED)
			nv += st->src[i].nvals;
	/* a few records: one free slot after them ends every probe */
	seen.hashed = nv > SEEN_FEW;
	memset(seen.at, 0, seen.hashed ? sizeof(seen.at) :
	    (SEEN_FEW + 1) * sizeof(seen.at[0]));
	w->partial = true;
	for (i = 0; i < st->nsrc; i++) {
		const struct answer_src *as = &st->src[i];
		int n = as->nvals;

		if (as->status != ASRC_LISTED)
			continue;
		for (k = 0; k < n; k++) {
			const struct list_value *lv = as->remote ? NULL :
			    wk->vals[wk->voff[i] + k];
			uint32_t a = lv != NULL ? lv->lv_a :
			    remote_code(st, as, k);

			any = 1;
			if (type == DNS_TYPE_TXT && lv == NULL) {
				if (as->txt_len == 0)
					continue;
				rd[0] = as->txt_len;
				memcpy(rd + 1, st->txt + as->txt_off,
				    as->txt_len);
				rdlen = 1 + rd[0];
			} else if (type == DNS_TYPE_TXT) {
				if (lv->lv_txt == NULL)
					continue;
				/* at most 254 bytes: one character-string */
				rd[0] = (uint8_t)list_txt_expand(lv->lv_txt,
				    wk->s.text + as->subj_off, (char *)rd + 1,
				    LIST_TXT_LEN);
				rdlen = 1 + rd[0];
			} else {
				rd[0] = (uint8_t)(a >> 24);
				rd[1] = (uint8_t)(a >> 16);
				rd[2] = (uint8_t)(a >> 8);
				rd[3] = (uint8_t)a;
				rdlen = 4;
			}
			/* TC is set already: skip what cannot fit unseen */
			if (w->overflow && 2 + 10 + rdlen > dnsmsg_room(w))
				continue;
			slot = seen_slot(&seen, w, rd, rdlen);
			if (*slot == 0 && dnsmsg_add_rr(w, DNS_SEC_ANSWER, 0,
			    type, merge_clamp_ttl(lv != NULL ? lv->lv_ttl :
			    as->ttl, ttl_min, ttl_max), rd, rdlen) == 0)
				*slot = (uint16_t)(w->len - rdlen);
		}
	}
	if (!any && st->testpoint == TP_LISTED) {
		if (type == DNS_TYPE_TXT)
			dnsmsg_add_txt(w, DNS_SEC_ANSWER, 0, tp_ttl,
			    tp_text, sizeof(tp_text) - 1);
		else
			dnsmsg_add_a(w, DNS_SEC_ANSWER, 0, tp_ttl,
			    0x7f000002U);
	}
	/* values beyond what one reply holds: say the answer is partial */
	if (st->cut)
		w->overflow = true;
}

static bool	partial(const struct answer_state *);

/*
 * write_subject - the answer about an address or name: 0 when it is not
 * listed, -1 for no data (RFC 2308), else 1 with the records written
 */
static int
write_subject(struct dns_writer *w, const struct view *v,
    const struct vzone *z, struct answer_state *st,
    const struct answer_work *wk, uint16_t qt)
{
	const struct conf_server *cs = &v->conf->server;
	struct merge_hit hits[ANSWER_MAX_SRC];
	struct merge_out merged;
	char txt[4096];
	size_t nhits;
	bool data = qt == DNS_TYPE_A || qt == DNS_TYPE_TXT ||
	    qt == DNS_TYPE_ANY;

	if (z->serve || st->only != 0) {
		if (!served_listed(st))
			return 0;
		if (!data)
			return -1;
		/* RFC 8482: ANY gets the A records alone; a per-result
		   subzone clamps as its aggregate zone does */
		add_raw(w, st, wk, qt, z->ttl_min, z->ttl_max,
		    merge_clamp_ttl(cs->ttl_min, z->ttl_min, z->ttl_max));
		/* listed, but no TXT for it: RFC 2308 no-data, with SOA */
		return w->count[DNS_SEC_ANSWER] != 0 || w->overflow ? 1 : -1;
	}
	if (!answer_merge(v, st, wk, qt == DNS_TYPE_TXT, txt, sizeof(txt) / 2,
	    hits, &nhits, &merged))
		return 0;
	if (partial(st) && merged.ttl > ANSWER_PARTIAL_TTL)
		merged.ttl = ANSWER_PARTIAL_TTL;
	if (!data)
		return -1;
	if (qt == DNS_TYPE_TXT) {
		size_t len = merge_txt(hits, nhits, txt + sizeof(txt) / 2,
		    sizeof(txt) / 2);

		dnsmsg_add_txt(w, DNS_SEC_ANSWER, 0, merged.ttl,
		    txt + sizeof(txt) / 2, len);
	} else {
		for (int i = 0; i < merged.na; i++)
			dnsmsg_add_a(w, DNS_SEC_ANSWER, 0, merged.ttl,
			    merged.a[i]);
	}
	return 1;
}

/*
 * partial - did a remote result fail or miss the deadline? The answer
 * then lives ANSWER_PARTIAL_TTL at most, so clients soon ask again.
 */
static bool
partial(const struct answer_state *st)
{
	size_t i;

	if (st->kind != ANSWER_SUBJECT)
		return false;
	for (i = 0; i < st->nsrc; i++)
		if (st->src[i].remote && (st->src[i].status == ASRC_FAILED ||
		    st->src[i].status == ASRC_MISSING))
			return true;
	return false;
}

/* neg_ttl - the SOA TTL of a negative answer (RFC 2308) */
static uint32_t
neg_ttl(const struct vzone *z, const struct answer_state *st)
{
	return partial(st) && z->neg_ttl > ANSWER_PARTIAL_TTL ?
	    ANSWER_PARTIAL_TTL : z->neg_ttl;
}

/* write_reply - step 3 with the work space at hand */
static size_t
write_reply(const struct view *v, const struct dns_query *q,
    const uint8_t *pkt, size_t pktlen, struct answer_state *st,
    const struct answer_work *wk, uint8_t *out, size_t cap, size_t limit,
    int *rcode)
{
	const struct conf_server *cs = &v->conf->server;
	const struct vzone *z;
	struct dns_writer w;
	unsigned apex;
	uint16_t qt = q->qtype;

	if (st->kind == ANSWER_REFUSED || st->kind == ANSWER_SERVFAIL) {
		*rcode = st->kind == ANSWER_REFUSED ? DNS_RCODE_REFUSED :
		    DNS_RCODE_SERVFAIL;
		return dnsmsg_error_reply(pkt, pktlen, q, *rcode, out, cap);
	}
	z = &v->zones[st->zone];
	if (dnsmsg_writer_init(&w, out, cap, limit, q, pkt,
	    cs->edns_buffer_size) != 0) {
		*rcode = DNS_RCODE_SERVFAIL;
		return 0;
	}
	apex = q->nlabels - z->apex_labels;

	switch (st->kind) {
	case ANSWER_APEX:
		if (qt == DNS_TYPE_SOA || qt == DNS_TYPE_ANY) {
			add_soa(&w, z, DNS_SEC_ANSWER, apex, z->cz->soa_ttl);
		} else if (qt == DNS_TYPE_NS) {
			for (size_t i = 0; i < z->cz->nns; i++)
				dnsmsg_add_ns(&w, DNS_SEC_ANSWER, apex,
				    z->cz->soa_ttl, z->cz->ns[i]);
		} else
			goto nodata;
		*rcode = DNS_RCODE_NOERROR;
		return dnsmsg_finish(&w, *rcode, true);
	case ANSWER_NODATA:
		goto nodata;
	case ANSWER_NXDOMAIN:
		goto nxdomain;
	default:
		break;
	}

	switch (write_subject(&w, v, z, st, wk, qt)) {
	case 0:
		if (wk->s.kind == SUBJ_NAME && name_has_below(z, &wk->s))
			goto nodata;
		goto nxdomain;
	case -1:
		goto nodata;
	default:
		break;
	}
	*rcode = DNS_RCODE_NOERROR;
	return dnsmsg_finish(&w, *rcode, true);

nodata:
	add_soa(&w, z, DNS_SEC_AUTHORITY, apex, neg_ttl(z, st));
	*rcode = DNS_RCODE_NOERROR;
	return dnsmsg_finish(&w, *rcode, true);
nxdomain:
	add_soa(&w, z, DNS_SEC_AUTHORITY, apex, neg_ttl(z, st));
	*rcode = DNS_RCODE_NXDOMAIN;
	return dnsmsg_finish(&w, *rcode, true);
}

/* answer_write - step 3: the reply from the state */
size_t
answer_write(const struct view *v, const struct dns_query *q,
    const uint8_t *pkt, size_t pktlen, struct answer_state *st,
    struct answer_work *wk, uint8_t *out, size_t cap, size_t limit,
    int *rcode)
{
	struct answer_work again;

	if (wk == NULL && st->kind == ANSWER_SUBJECT) {
		/* the query waited: the same subject and local values */
		const struct vzone *z = &v->zones[st->zone];

		size_t i;

		wk = &again;
		answer_classify(z, q, &wk->s);
		wk->nvals = 0;
		for (i = 0; i < st->nsrc; i++) {
			wk->voff[i] = (uint16_t)wk->nvals;
			if (!st->src[i].remote &&
			    st->src[i].status == ASRC_LISTED)
				src_values(answer_src_of(v, st, i), st, wk, i,
				    z->serve || st->only != 0, 0);
		}
	}
	return write_reply(v, q, pkt, pktlen, st, wk, out, cap, limit, rcode);
}

/* answer_query - write the reply to one query */
size_t
answer_query(const struct view *v, const struct dns_query *q,
    const uint8_t *pkt, size_t pktlen, time_t now, uint8_t *out, size_t cap,
    size_t limit, int *rcode)
{
	struct answer_state st;
	struct answer_work wk;

	/* no upstream is queried yet: what is missing counts as not listed */
	answer_decide(v, q, now, &st, &wk);
	return write_reply(v, q, pkt, pktlen, &st, &wk, out, cap, limit,
	    rcode);
}
