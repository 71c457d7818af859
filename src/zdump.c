/*
 * zdump.c -- a served zone as the records of a complete zone (zdump.h).
 *
 * The lists of the zone (and its allowlists, and the test points) give
 * positions in tree order; they are merged into one walk down the tree
 * of blocks (IPv4: 4 levels of 8 bits; IPv6: 32 levels of 4 bits). Each
 * open block remembers which of its children hold data; when the walk
 * leaves a block its records are written: its wildcard (what an address
 * in a child without data answers, asked of the zone's own lookup), its
 * leaf children, or the whole block address by address when some leaf
 * is not listed under a listed wildcard or the text names the address.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "dnsmsg.h"
#include "dyn.h"
#include "err.h"
#include "list.h"
#include "merge.h"
#include "view.h"
#include "zdump.h"

__extension__ typedef unsigned __int128 u128;

#define MAX_STREAMS	(2 * ANSWER_MAX_SRC + 1)
#define MAX_LEVELS	33
#define MAX_LABELS	128		/* labels of a name */

enum phase {
	PH_SOA = 0,
	PH_NS,
	PH_IP4,
	PH_IP6,
	PH_NAME,
	PH_END,
	PH_DONE,
};

/* A block of zdump_more: its key, then its length (sorted as bytes) */
struct mpos {
	uint8_t		 k[17];
};

/* Positions of one list, of the test points, or of zdump_more */
struct stream {
	const struct list	*l;		/* a list, or NULL */
	struct list_pos		 pos;
	bool			 live;
	unsigned		 tp;		/* test points: next index */
	const struct mpos	*more;		/* zdump_more's, sorted */
	size_t			 nmore, next;
};

/* Names of one dnset list, of the test point, or of dynamic entries */
struct nstream {
	const struct list	*l;		/* a list, or NULL */
	struct list_npos	 pos;
	bool			 live;
	bool			 tp;		/* the test point, given */
	size_t			 next;		/* dynamic entries: next one */
	bool			 dyn;
};

/* An open name on the current path */
struct nnode {
	size_t		 klen;		/* its key: cur[0, klen) */
	uint64_t	 count0;	/* records written before it opened */
};

/* An open block on the current path */
struct node {
	u128		 key;
	uint64_t	 kids[4];	/* children holding data */
	uint64_t	 emitted;	/* records written below it */
};

zdump_more_fn *zdump_more;

/*
 * The sorted blocks of dynamic entries and escalations (zdump_more) and
 * the sorted dynamic names of one zone at one serial, made by the first
 * dump that needs them and shared by the dumps of that zone, view and
 * serial that run meanwhile: ten transfers started together sort once.
 * Freed with the last dump holding it; a new serial is another snapshot.
 * Loop thread only, as the dynamic entries.
 */
struct zsnap {
	struct zsnap		*next;
	unsigned		 refs;
	const struct view	*v;
	const struct vzone	*z;
	uint32_t		 serial;
	bool			 have[2];	/* IPv4, IPv6 blocks made */
	struct mpos		*more[2];
	size_t			 nmore[2];
	bool			 have_names;
	uint8_t			*dpool;		/* [len][key] of dynamic names */
	uint32_t		*doff;		/* sorted offsets in dpool */
	size_t			 dn;
};

static struct zsnap *snaps;		/* live snapshots */

static int	snap_family(struct zdump *, bool);
static int	snap_names(struct zdump *);
static uint64_t snap_made;		/* made, for the tests */

/* snap_get - the snapshot of (v, z, serial), shared or new; NULL */
static struct zsnap *
snap_get(const struct view *v, const struct vzone *z, uint32_t serial)
{
	struct zsnap *sn;

	for (sn = snaps; sn != NULL; sn = sn->next)
		if (sn->v == v && sn->z == z && sn->serial == serial) {
			sn->refs++;
			return sn;
		}
	if ((sn = calloc(1, sizeof(*sn))) == NULL)
		return NULL;
	sn->refs = 1;
	sn->v = v;
	sn->z = z;
	sn->serial = serial;
	sn->next = snaps;
	snaps = sn;
	snap_made++;
	return sn;
}

/* snap_put - drop a reference; the last frees it */
static void
snap_put(struct zsnap *sn)
{
	struct zsnap **pp;

	if (sn == NULL || --sn->refs > 0)
		return;
	for (pp = &snaps; *pp != NULL; pp = &(*pp)->next)
		if (*pp == sn) {
			*pp = sn->next;
			break;
		}
	free(sn->more[0]);
	free(sn->more[1]);
	free(sn->dpool);
	free(sn->doff);
	free(sn);
}

uint64_t
zdump_snapshots_made(void)
{
	return snap_made;
}

struct zdump {
	const struct view	*v;
	const struct vzone	*z;
	uint32_t		 serial;
	time_t			 now;
	bool			 axfr;
	bool			 mark;		/* zdump_mark_blocks() */
	struct zsnap		*snap;		/* sorted dynamic blocks, names */
	enum phase		 phase;
	size_t			 ns;		/* next NS */
	bool			 started;	/* the family's streams are set */
	/* the family being walked */
	unsigned		 width;		/* 32 or 128 */
	unsigned		 step;		/* bits per label: 8 or 4 */
	unsigned		 leaf;		/* levels: 4 or 32 */
	unsigned		 nkids;		/* 256 or 16 */
	struct stream		 st[MAX_STREAMS];
	size_t			 nst;
	struct node		 node[MAX_LEVELS];
	unsigned		 depth;		/* deepest open level, 0 = apex */
	uint64_t		 count;
	/* zdump_more's blocks while the snapshot's are made */
	struct mpos		*more;
	size_t			 more_n, more_cap;
	/* the name walk: streams, the open path, dynamic names */
	struct nstream		 nms[MAX_STREAMS + 1];
	size_t			 nnms;
	struct list_npos	 cur;		/* the deepest open name */
	struct nnode		 nnode[MAX_LABELS + 1];
	unsigned		 ndepth;
	uint8_t			*dpool;		/* dynamic names while the */
	size_t			 dplen, dpcap;	/* snapshot's are made */
	uint32_t		*doff;
	size_t			 dn, dcap;
	/* the last subject asked about */
	struct answer_state	 ast;
	struct answer_work	 wk;
	/* its values, all lists together, for records() */
	const struct list_value	*vals[ANSWER_MAX_VALS];
	const char		*subj[ANSWER_MAX_VALS];
	uint32_t		 hash[ANSWER_MAX_VALS];
	struct list_value	 rv[ANSWER_MAX_SRC];	/* remote listings */
	char			 rtxt[ANSWER_MAX_SRC][2 * LIST_TXT_LEN + 1];
};

static const uint8_t tp4[2][16] = {
	{ 127, 0, 0, 1 }, { 127, 0, 0, 2 },
};
static const uint8_t tp6[2][16] = {
	{ [10] = 0xff, [11] = 0xff, [12] = 0x7f, [15] = 1 },
	{ [10] = 0xff, [11] = 0xff, [12] = 0x7f, [15] = 2 },
};
static const char tp_text[] = "RFC 5782 test point";

/* zdump_soa_rdata - the SOA RDATA with a serial */
size_t
zdump_soa_rdata(const struct vzone *z, uint32_t serial, uint8_t *buf,
    size_t cap)
{
	size_t n = z->soa_rdlen;

	if (n > cap || n < 20)
		return 0;
	memcpy(buf, z->soa_rdata, n);
	buf[n - 20] = (uint8_t)(serial >> 24);
	buf[n - 19] = (uint8_t)(serial >> 16);
	buf[n - 18] = (uint8_t)(serial >> 8);
	buf[n - 17] = (uint8_t)serial;
	return n;
}

/* zdump_new - start a dump */
int
zdump_new(const struct view *v, const struct vzone *z, uint32_t serial,
    time_t now, bool axfr, struct zdump **out)
{
	struct zdump *zd;
	int rc;

	if (!z->serve)
		return RBLMUX_EINVAL;
	if ((zd = calloc(1, sizeof(*zd))) == NULL)
		return RBLMUX_ENOMEM;
	if ((zd->snap = snap_get(v, z, serial)) == NULL) {
		free(zd);
		return RBLMUX_ENOMEM;
	}
	zd->v = v;
	zd->z = z;
	zd->serial = serial;
	zd->now = now;
	zd->axfr = axfr;
	zd->phase = PH_SOA;
	/*
	 * The dynamic data as it is now, at this serial: a change during a
	 * long dump has a new serial and is not in this one
	 */
	if (((z->families & VFAM_IP4) && (rc = snap_family(zd, false)) != 0) ||
	    ((z->families & VFAM_IP6) && (rc = snap_family(zd, true)) != 0) ||
	    ((z->families & VFAM_NAME) && (rc = snap_names(zd)) != 0)) {
		zdump_free(zd);
		return rc;
	}
	*out = zd;
	return 0;
}

void
zdump_free(struct zdump *zd)
{
	if (zd != NULL) {
		snap_put(zd->snap);
		free(zd->more);
		free(zd->dpool);
		free(zd->doff);
	}
	free(zd);
}

void
zdump_mark_blocks(struct zdump *zd)
{
	zd->mark = true;
}

uint64_t
zdump_count(const struct zdump *zd)
{
	return zd->count;
}

/* emit - one record to fn */
static int
emit(struct zdump *zd, zdump_fn *fn, void *arg, const uint8_t *owner,
    size_t olen, uint16_t type, uint32_t ttl, const uint8_t *rd,
    size_t rdlen)
{
	struct zdump_rr rr = { owner, olen, type, ttl, rd, rdlen };

	zd->count++;
	if (zd->depth > 0)
		zd->node[zd->depth].emitted++;
	return fn(arg, &rr);
}

/* --- positions ----------------------------------------------------- */

/* pos_key - a position's key as a number of width bits */
static u128
pos_key(const struct zdump *zd, const struct list_pos *p)
{
	u128 k = 0;
	unsigned i, n = zd->width / 8;

	for (i = 0; i < n; i++)
		k = k << 8 | p->key[i];
	return k;
}

/* key_bytes - a number of width bits back to bytes */
static void
key_bytes(const struct zdump *zd, u128 k, uint8_t out[16])
{
	int i, n = (int)(zd->width / 8);

	memset(out, 0, 16);
	for (i = n - 1; i >= 0; i--) {
		out[i] = (uint8_t)k;
		k >>= 8;
	}
}

/* mask - netmask of level j (j labels) */
static u128
mask(const struct zdump *zd, unsigned j)
{
	u128 all = zd->width == 128 ? ~(u128)0 : ((u128)1 << zd->width) - 1;
	unsigned bits = j * zd->step;

	if (bits == 0)
		return 0;
	return all & ~(bits >= zd->width ? 0 : all >> bits);
}

/* stream_next - advance a stream; false at its end */
static bool
stream_next(struct zdump *zd, struct stream *s, bool first)
{
	const uint8_t (*tp)[16] = zd->width == 32 ? tp4 : tp6;

	if (s->l != NULL)
		return s->live = list_next_pos(s->l, first, &s->pos) == 1;
	if (s->more != NULL) {
		if (s->next >= s->nmore)
			return s->live = false;
		memcpy(s->pos.key, s->more[s->next].k, 16);
		s->pos.plen = s->more[s->next++].k[16];
		return s->live = true;
	}
	if (s->tp >= 2)
		return s->live = false;
	memcpy(s->pos.key, tp[s->tp++], 16);
	s->pos.plen = zd->width;
	return s->live = true;
}

/* add_stream - walk list l too, if it holds this family */
static void
add_stream(struct zdump *zd, const struct list *l)
{
	enum list_type t;
	struct stream *s;

	if (l == NULL || zd->nst >= MAX_STREAMS)
		return;
	t = list_type(l);
	if (zd->width == 32 ? t != LIST_IP4SET && t != LIST_IP4TRIE :
	    t != LIST_IP6TRIE)
		return;
	s = &zd->st[zd->nst++];
	memset(s, 0, sizeof(*s));
	s->l = l;
	stream_next(zd, s, true);
}

/* more_add - zdump_add_fn: the blocks of a prefix from zdump_more */
static int
more_add(void *ctx, const uint8_t key[16], unsigned plen)
{
	struct zdump *zd = ctx;
	u128 all = zd->width == 128 ? ~(u128)0 : ((u128)1 << zd->width) - 1;
	u128 k = 0, i, n;
	unsigned al, b;
	struct mpos *p;
	uint8_t kb[16];

	if (plen > zd->width)
		return 0;
	/* the blocks at the next boundary: a /20 is 16 /24s */
	al = plen == 0 ? zd->step : (plen + zd->step - 1) / zd->step *
	    zd->step;
	for (b = 0; b < zd->width / 8; b++)
		k = k << 8 | key[b];
	if (plen < zd->width)
		k &= all & ~(all >> plen);
	n = (u128)1 << (al - plen);
	for (i = 0; i < n; i++) {
		if (zd->more_n == zd->more_cap) {
			size_t cap = zd->more_cap ? zd->more_cap * 2 : 256;

			if ((p = realloc(zd->more, cap * sizeof(*p))) == NULL)
				return RBLMUX_ENOMEM;
			zd->more = p;
			zd->more_cap = cap;
		}
		p = &zd->more[zd->more_n++];
		key_bytes(zd, k + (al < zd->width ? i << (zd->width - al) : i),
		    kb);
		memcpy(p->k, kb, 16);
		p->k[16] = (uint8_t)al;
	}
	return 0;
}

/* family_width - the key width and block step of a family */
static void
family_width(struct zdump *zd, bool ip6)
{
	zd->width = ip6 ? 128 : 32;
	zd->step = ip6 ? 4 : 8;
}

/*
 * snap_family - the snapshot's sorted blocks of dynamic entries and
 * escalated prefixes of one family, as they are when the dump starts
 */
static int
snap_family(struct zdump *zd, bool ip6)
{
	struct zsnap *sn = zd->snap;
	int rc;

	if (sn->have[ip6] || zdump_more == NULL)
		return 0;
	family_width(zd, ip6);
	rc = zdump_more(zd->v, zd->z, ip6 ? AF_INET6 : AF_INET, zd->now,
	    more_add, zd);
	if (rc != 0)
		return rc;
	if (zd->more_n > 0) {
		size_t k, n = 1;

		if ((rc = list_sort_records(zd->more, zd->more_n,
		    sizeof(*zd->more), sizeof(zd->more->k))) != 0)
			return rc;
		for (k = 1; k < zd->more_n; k++)	/* each block once */
			if (memcmp(&zd->more[k], &zd->more[n - 1],
			    sizeof(*zd->more)) != 0)
				zd->more[n++] = zd->more[k];
		zd->more_n = n;
	}
	sn->more[ip6] = zd->more;
	sn->nmore[ip6] = zd->more_n;
	sn->have[ip6] = true;
	zd->more = NULL;
	zd->more_n = zd->more_cap = 0;
	return 0;
}

/* family_start - the walk of one family: its lists and test points */
static int
family_start(struct zdump *zd, bool ip6)
{
	const struct vzone *z = zd->z;
	struct zsnap *sn = zd->snap;
	struct stream *s;
	size_t i;

	family_width(zd, ip6);
	zd->leaf = zd->width / zd->step;
	zd->nkids = 1u << zd->step;
	zd->nst = 0;
	zd->depth = 0;
	zd->more_n = 0;
	memset(&zd->node[0], 0, sizeof(zd->node[0]));
	memset(&zd->st[0], 0, sizeof(zd->st[0]));
	zd->nst = 1;			/* the test points */
	stream_next(zd, &zd->st[0], true);
	for (i = 0; i < z->nsrc; i++)
		if (z->src[i].kind == VSRC_LIST && z->src[i].vl != NULL)
			add_stream(zd, z->src[i].vl->data);
	for (i = 0; i < z->nexempt; i++)
		if (z->exempt[i] != NULL)
			add_stream(zd, z->exempt[i]->data);
	zd->started = true;
	/* dynamic entries, escalated prefixes: the snapshot's */
	if (zd->nst >= MAX_STREAMS)
		return 0;
	if (sn->nmore[ip6] > 0) {
		s = &zd->st[zd->nst++];
		memset(s, 0, sizeof(*s));
		s->more = sn->more[ip6];
		s->nmore = sn->nmore[ip6];
		stream_next(zd, s, true);
	}
	return 0;
}

/* ip4_text - "a.b.c.d" without printf, which costs more than a lookup */
static void
ip4_text(char *p, uint32_t a)
{
	int i;

	for (i = 3; i >= 0; i--) {
		unsigned d = a >> (8 * i) & 255;

		if (d >= 100)
			*p++ = (char)('0' + d / 100);
		if (d >= 10)
			*p++ = (char)('0' + d / 10 % 10);
		*p++ = (char)('0' + d % 10);
		*p++ = i > 0 ? '.' : '\0';
	}
}

/*
 * decide_listed - decide the subject in zd->wk.s as a query would: does
 * the zone list it (a test point, or a source, and no allowlist)?
 */
static bool
decide_listed(struct zdump *zd)
{
	size_t i;

	zd->wk.nvals = 0;
	answer_decide_subject(zd->v, zd->z, zd->now, 0, &zd->ast, &zd->wk);
	if (zd->ast.exempted_by != 0 || zd->ast.testpoint < 0)
		return false;
	if (zd->ast.testpoint > 0)
		return true;
	for (i = 0; i < zd->ast.nsrc; i++)
		if (zd->ast.src[i].status == ASRC_LISTED)
			return true;
	return false;
}

/* subject - ask the zone about address k; text: what "$" says */
static bool
subject(struct zdump *zd, u128 k, u128 textkey)
{
	struct subject *s = &zd->wk.s;
	uint8_t b[16];

	memset(s, 0, offsetof(struct subject, name));
	s->only = NULL;
	s->name[0] = '\0';
	s->name_len = 0;
	if (zd->width == 32) {
		s->kind = SUBJ_IP4;
		s->ip4 = (uint32_t)k;
		ip4_text(s->text, (uint32_t)textkey);
	} else {
		key_bytes(zd, textkey, b);
		s->kind = SUBJ_IP6;
		inet_ntop(AF_INET6, b, s->text, sizeof(s->text));
		key_bytes(zd, k, s->ip6);
	}
	return decide_listed(zd);
}

/* has_subject - does a TXT template say the address ("$", not "$$")? */
static bool
has_subject(const char *t)
{
	for (; t != NULL && *t != '\0'; t++) {
		if (*t != '$')
			continue;
		if (t[1] != '$')
			return true;
		t++;
	}
	return false;
}

/* names_address - does a value of the last subject say its address? */
static bool
names_address(const struct zdump *zd)
{
	size_t i;

	for (i = 0; i < zd->wk.nvals; i++)
		if (has_subject(zd->wk.vals[i]->lv_txt))
			return true;
	return false;
}

/*
 * remote_value - remote source i's listing (an escalation: decided in
 * the lookup, kept as a remote result) as a value: its first code, its
 * TTL, its TXT with "$" kept literal
 */
static void
remote_value(struct zdump *zd, size_t i)
{
	const struct answer_src *as = &zd->ast.src[i];
	char *t = zd->rtxt[i];
	size_t k, o = 0;

	for (k = 0; k < as->txt_len && o + 2 < sizeof(zd->rtxt[i]); k++) {
		char c = zd->ast.txt[as->txt_off + k];

		if (c == '$')
			t[o++] = '$';
		t[o++] = c;
	}
	t[o] = '\0';
	zd->rv[i].lv_a = as->a;
	zd->rv[i].lv_ttl = as->ttl;
	zd->rv[i].lv_txt = as->txt_len > 0 ? t : NULL;
}

/* txt_of - value k's TXT expanded for the last subject (rd[0]: length) */
static void
txt_of(const struct zdump *zd, size_t k, uint8_t *rd)
{
	rd[0] = (uint8_t)list_txt_expand(zd->vals[k]->lv_txt, zd->subj[k],
	    (char *)rd + 1, LIST_TXT_LEN);
}

/* fnv - hash of a TXT RDATA */
static uint32_t
fnv(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261U;

	while (n-- > 0)
		h = (h ^ *p++) * 16777619U;
	return h;
}

/*
 * records - the last subject's records under owner, as a served zone
 * answers them (answer.c add_raw): every distinct A, every distinct
 * TXT, in the order of the lists; the test point's own when no list
 * lists it
 */
static int
records(struct zdump *zd, zdump_fn *fn, void *arg, const uint8_t *owner,
    size_t olen)
{
	const struct vzone *z = zd->z;
	uint32_t tp_ttl = merge_clamp_ttl(zd->v->conf->server.ttl_min,
	    z->ttl_min, z->ttl_max);
	uint8_t rd[1 + LIST_TXT_LEN], old[1 + LIST_TXT_LEN], a[4];
	size_t i, k, j, n = 0;
	int rc;

	for (i = 0; i < zd->ast.nsrc; i++) {
		const struct answer_src *as = &zd->ast.src[i];

		if (as->status != ASRC_LISTED)
			continue;
		if (as->remote) {
			/* an escalation: its code and its own TXT */
			remote_value(zd, i);
			zd->vals[n] = &zd->rv[i];
			zd->subj[n++] = zd->wk.s.text;
			continue;
		}
		for (k = 0; k < as->nvals && n < ANSWER_MAX_VALS; k++) {
			zd->vals[n] = zd->wk.vals[zd->wk.voff[i] + k];
			zd->subj[n++] = zd->wk.s.text + as->subj_off;
		}
	}
	for (k = 0; k < n; k++) {
		uint32_t v = zd->vals[k]->lv_a;

		for (j = 0; j < k && zd->vals[j]->lv_a != v; j++)
			;
		if (j < k)
			continue;
		a[0] = (uint8_t)(v >> 24);
		a[1] = (uint8_t)(v >> 16);
		a[2] = (uint8_t)(v >> 8);
		a[3] = (uint8_t)v;
		if ((rc = emit(zd, fn, arg, owner, olen, DNS_TYPE_A,
		    merge_clamp_ttl(zd->vals[k]->lv_ttl, z->ttl_min,
		    z->ttl_max), a, 4)) < 0)
			return rc;
	}
	for (k = 0; k < n; k++) {
		if (zd->vals[k]->lv_txt == NULL)
			continue;
		txt_of(zd, k, rd);
		zd->hash[k] = fnv(rd, 1u + rd[0]);
		for (j = 0; j < k; j++) {
			if (zd->vals[j]->lv_txt == NULL ||
			    zd->hash[j] != zd->hash[k])
				continue;
			txt_of(zd, j, old);
			if (memcmp(old, rd, 1u + rd[0]) == 0)
				break;
		}
		if (j < k)
			continue;
		if ((rc = emit(zd, fn, arg, owner, olen, DNS_TYPE_TXT,
		    merge_clamp_ttl(zd->vals[k]->lv_ttl, z->ttl_min,
		    z->ttl_max), rd, 1u + rd[0])) < 0)
			return rc;
	}
	if (n == 0 && zd->ast.testpoint > 0) {
		a[0] = 127;
		a[1] = a[2] = 0;
		a[3] = 2;
		if ((rc = emit(zd, fn, arg, owner, olen, DNS_TYPE_A, tp_ttl,
		    a, 4)) < 0)
			return rc;
		rd[0] = sizeof(tp_text) - 1;
		memcpy(rd + 1, tp_text, rd[0]);
		return emit(zd, fn, arg, owner, olen, DNS_TYPE_TXT, tp_ttl, rd,
		    1u + rd[0]);
	}
	return 0;
}

/* --- the walk ----------------------------------------------------- */

/*
 * owner - the wire labels of block k at level j (j labels, the most
 * specific first), after a "*" label when wild; returns the length
 */
static size_t
owner(const struct zdump *zd, u128 k, unsigned j, bool wild, uint8_t *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;
	unsigned m, v;

	if (wild) {
		out[n++] = 1;
		out[n++] = '*';
	}
	for (m = j; m >= 1; m--) {
		v = (unsigned)(k >> (zd->width - m * zd->step)) &
		    (zd->nkids - 1);
		if (zd->step == 4) {
			out[n++] = 1;
			out[n++] = (uint8_t)hex[v];
		} else if (v >= 100) {
			out[n++] = 3;
			out[n++] = (uint8_t)('0' + v / 100);
			out[n++] = (uint8_t)('0' + v / 10 % 10);
			out[n++] = (uint8_t)('0' + v % 10);
		} else if (v >= 10) {
			out[n++] = 2;
			out[n++] = (uint8_t)('0' + v / 10);
			out[n++] = (uint8_t)('0' + v % 10);
		} else {
			out[n++] = 1;
			out[n++] = (uint8_t)('0' + v);
		}
	}
	return n;
}

/* kid_set - does child c of a block hold data? */
static bool
kid_set(const struct node *nd, unsigned c)
{
	return nd->kids[c >> 6] >> (c & 63) & 1;
}

/* next_kid - the first child from c on that holds data, or 256 */
static unsigned
next_kid(const struct node *nd, unsigned c)
{
	uint64_t w;

	while (c < 256) {
		w = nd->kids[c >> 6] >> (c & 63);
		if (w != 0)
			return c + (unsigned)__builtin_ctzll(w);
		c = (c | 63) + 1;
	}
	return 256;
}

/* leaf - child c (an address) of leaf block k: its records if listed */
static int
leaf(struct zdump *zd, zdump_fn *fn, void *arg, u128 k)
{
	uint8_t o[DNS_MAXNAME];

	if (!subject(zd, k, k))
		return 0;
	return records(zd, fn, arg, o, owner(zd, k, zd->leaf, false, o));
}

/*
 * close_node - the walk leaves block j: write its wildcard, its leaf
 * children or all its addresses, or make its name exist
 */
static int
close_node(struct zdump *zd, zdump_fn *fn, void *arg, unsigned j)
{
	struct node *nd = &zd->node[j];
	u128 k = nd->key, probe = 0, shift = zd->width - (j + 1) * zd->step;
	uint8_t o[DNS_MAXNAME];
	bool wild = false, expand = false;
	unsigned c, free_kid = zd->nkids;
	int rc;

	for (c = 0; c < zd->nkids / 64 + (zd->nkids < 64); c++) {
		uint64_t w = ~nd->kids[c];

		if (zd->nkids < 64)
			w &= (UINT64_C(1) << zd->nkids) - 1;
		if (w != 0) {
			free_kid = 64 * c + (unsigned)__builtin_ctzll(w);
			break;
		}
	}
	/* an address in a child without data answers as the block says */
	if (free_kid < zd->nkids) {
		probe = k | (u128)free_kid << shift;
		wild = subject(zd, probe, k);
	}
	if (wild && names_address(zd) &&
	    shift + zd->step <= ZDUMP_TXT_EXPAND_BITS) {
		/*
		 * The text names the address, and the block is small: its
		 * addresses one by one, but those of children with data of
		 * their own, which write their own
		 */
		u128 a, end = (u128)1 << (shift + zd->step);

		for (a = 0; a < end; a++)
			if ((j == zd->leaf - 1 || !kid_set(nd,
			    (unsigned)(a >> shift))) &&
			    (rc = leaf(zd, fn, arg, k | a)) < 0)
				return rc;
		wild = false;
		expand = true;
	}
	if (!expand && j == zd->leaf - 1 && wild) {
		for (c = next_kid(nd, 0); c < zd->nkids && !expand;
		    c = next_kid(nd, c + 1))
			if (!subject(zd, k | c, k | c))
				expand = true;
		/* the addresses one by one, the ones not listed left out */
		for (c = 0; c < zd->nkids && expand; c++)
			if ((rc = leaf(zd, fn, arg, k | c)) < 0)
				return rc;
		if (expand)
			wild = false;
	}
	if (!expand) {
		if (j == zd->leaf - 1)
			for (c = next_kid(nd, 0); c < zd->nkids;
			    c = next_kid(nd, c + 1))
				if ((rc = leaf(zd, fn, arg, k | c)) < 0)
					return rc;
		if (wild) {
			subject(zd, probe, k);
			if ((rc = records(zd, fn, arg, o,
			    owner(zd, k, j, true, o))) < 0)
				return rc;
		}
	}
	if ((nd->emitted == 0 || zd->mark) && !wild) {
		/*
		 * Data, but nothing listed in it: the name must exist, or a
		 * wildcard above would answer for it.
		 */
		if ((rc = emit(zd, fn, arg, o, owner(zd, k, j, false, o),
		    ZDUMP_TYPE_EMPTY, zd->z->cz->soa_ttl, NULL, 0)) < 0)
			return rc;
	}
	if (j > 1)
		zd->node[j - 1].emitted += nd->emitted;
	return 0;
}

/* open_node - the walk enters block k at level j */
static void
open_node(struct zdump *zd, unsigned j, u128 k)
{
	unsigned c;

	memset(&zd->node[j], 0, sizeof(zd->node[j]));
	zd->node[j].key = k;
	if (j > 1) {
		c = (unsigned)(k >> (zd->width - j * zd->step)) &
		    (zd->nkids - 1);
		zd->node[j - 1].kids[c >> 6] |= UINT64_C(1) << (c & 63);
	}
}

/* pos_less - does position a come before b? */
static bool
pos_less(const struct zdump *zd, const struct list_pos *a,
    const struct list_pos *b)
{
	u128 ka = pos_key(zd, a), kb = pos_key(zd, b);

	return ka < kb || (ka == kb && a->plen < b->plen);
}

/* walk_step - the next position of the family, or its end */
static int
walk_step(struct zdump *zd, zdump_fn *fn, void *arg)
{
	struct list_pos p;
	size_t i, best = zd->nst;
	unsigned lvl, j, c;
	u128 k;
	int rc;

	for (i = 0; i < zd->nst; i++)
		if (zd->st[i].live && (best == zd->nst ||
		    pos_less(zd, &zd->st[i].pos, &zd->st[best].pos)))
			best = i;
	if (best == zd->nst) {
		/* the end: leave every block */
		for (; zd->depth >= 1; zd->depth--)
			if ((rc = close_node(zd, fn, arg, zd->depth)) < 0)
				return rc;
		return 0;
	}
	p = zd->st[best].pos;
	for (i = 0; i < zd->nst; i++)
		if (zd->st[i].live && !pos_less(zd, &p, &zd->st[i].pos))
			stream_next(zd, &zd->st[i], false);
	k = pos_key(zd, &p);
	lvl = p.plen / zd->step;
	if (lvl == 0 || lvl > zd->leaf)
		return 1;
	/* leave the blocks that do not hold it */
	while (zd->depth >= 1 && (zd->depth >= lvl ||
	    (k & mask(zd, zd->depth)) != zd->node[zd->depth].key)) {
		if ((rc = close_node(zd, fn, arg, zd->depth)) < 0)
			return rc;
		zd->depth--;
	}
	for (j = zd->depth + 1; j <= lvl && j < zd->leaf; j++)
		open_node(zd, j, k & mask(zd, j));
	if (lvl < zd->leaf)
		zd->depth = lvl;
	else {
		zd->depth = zd->leaf - 1;
		c = (unsigned)k & (zd->nkids - 1);
		zd->node[zd->depth].kids[c >> 6] |= UINT64_C(1) << (c & 63);
	}
	return 1;
}

/* --- names --------------------------------------------------------- */

/* test point of names (RFC 5782 5) */
static const uint8_t tp_name[] = "test";

/* dyn_name - list_walk_fn of dyn_walk: keep a name entry's key */
static int
dyn_name(void *arg, const struct list_entry *e)
{
	struct zdump *zd = arg;
	size_t i, k = 0, end, start;
	uint8_t *key;

	if (e->family != AF_UNSPEC || e->name_len == 0 || e->name_len > 253)
		return 0;
	if (zd->dplen + e->name_len + 1 > zd->dpcap) {
		size_t cap = zd->dpcap ? zd->dpcap * 2 : 4096;
		uint8_t *np;

		if (cap > UINT32_MAX ||
		    (np = realloc(zd->dpool, cap)) == NULL)
			return RBLMUX_ENOMEM;
		zd->dpool = np;
		zd->dpcap = cap;
	}
	if (zd->dn == zd->dcap) {
		size_t cap = zd->dcap ? zd->dcap * 2 : 256;
		uint32_t *no = realloc(zd->doff, cap * sizeof(*no));

		if (no == NULL)
			return RBLMUX_ENOMEM;
		zd->doff = no;
		zd->dcap = cap;
	}
	zd->doff[zd->dn++] = (uint32_t)zd->dplen;
	key = zd->dpool + zd->dplen;
	/* "mail.example.com" to "com\0example\0mail" */
	for (end = e->name_len; end > 0; end = start > 0 ? start - 1 : 0) {
		for (start = end; start > 0 && e->name[start - 1] != '.';
		    start--)
			;
		if (k > 0)
			key[1 + k++] = '\0';
		for (i = start; i < end; i++)
			key[1 + k++] = (uint8_t)e->name[i];
	}
	key[0] = (uint8_t)k;
	zd->dplen += 1 + k;
	return 0;
}

/* doff_cmp - order of dynamic names, for qsort_r */
static int
doff_cmp(const void *x, const void *y, void *arg)
{
	const uint8_t *pool = arg, *a = pool + *(const uint32_t *)x,
	    *b = pool + *(const uint32_t *)y;

	return list_keycmp(a + 1, a[0], b + 1, b[0]);
}

/* nstream_next - advance a name stream; false at its end */
static bool
nstream_next(struct zdump *zd, struct nstream *s, bool first)
{
	const uint8_t *p;

	if (s->l != NULL)
		return s->live = list_next_name(s->l, first, &s->pos) == 1;
	if (s->dyn) {
		if (s->next >= zd->snap->dn)
			return s->live = false;
		p = zd->snap->dpool + zd->snap->doff[s->next++];
		memcpy(s->pos.key, p + 1, p[0]);
		s->pos.klen = p[0];
		return s->live = true;
	}
	if (s->tp)
		return s->live = false;
	s->tp = true;
	memcpy(s->pos.key, tp_name, sizeof(tp_name) - 1);
	s->pos.klen = sizeof(tp_name) - 1;
	return s->live = true;
}

/* add_nstream - walk the names of l too, if it is a dnset list */
static int
add_nstream(struct zdump *zd, const struct vlist *vl)
{
	struct nstream *s;

	if (vl == NULL)
		return 0;
	if (vl->data == NULL || list_type(vl->data) != LIST_DNSET ||
	    zd->nnms >= MAX_STREAMS)
		return 0;
	s = &zd->nms[zd->nnms++];
	memset(s, 0, sizeof(*s));
	s->l = vl->data;
	nstream_next(zd, s, true);
	return 0;
}

/* snap_dyn_names - a list's dynamic names into the dump's pool */
static int
snap_dyn_names(struct zdump *zd, const struct vlist *vl)
{
	int rc = 0;

	if (vl != NULL && dyn_any(vl->dyn) &&
	    (rc = dyn_walk(vl->dyn, zd->now, dyn_name, zd)) > 0)
		rc = RBLMUX_EINVAL;
	return rc;
}

/*
 * snap_names - the snapshot's sorted dynamic names, as they are when the
 * dump starts
 */
static int
snap_names(struct zdump *zd)
{
	const struct vzone *z = zd->z;
	struct zsnap *sn = zd->snap;
	size_t i, k, n;
	int rc = 0;

	if (sn->have_names)
		return 0;
	for (i = 0; i < z->nsrc && rc == 0; i++)
		if (z->src[i].kind == VSRC_LIST)
			rc = snap_dyn_names(zd, z->src[i].vl);
	for (i = 0; i < z->nexempt && rc == 0; i++)
		rc = snap_dyn_names(zd, z->exempt[i]);
	if (rc != 0)
		return rc;
	if (zd->dn > 0) {
		qsort_r(zd->doff, zd->dn, sizeof(*zd->doff), doff_cmp,
		    zd->dpool);
		for (k = 1, n = 1; k < zd->dn; k++)	/* each name once */
			if (doff_cmp(&zd->doff[k], &zd->doff[n - 1],
			    zd->dpool) != 0)
				zd->doff[n++] = zd->doff[k];
		zd->dn = n;
	}
	sn->dpool = zd->dpool;
	sn->doff = zd->doff;
	sn->dn = zd->dn;
	sn->have_names = true;
	zd->dpool = NULL;
	zd->doff = NULL;
	zd->dn = zd->dplen = zd->dpcap = zd->dcap = 0;
	return 0;
}

/* names_start - the walk of the names: lists, test point, dynamic */
static int
names_start(struct zdump *zd)
{
	const struct vzone *z = zd->z;
	struct zsnap *sn = zd->snap;
	struct nstream *s;
	size_t i;
	int rc = 0;

	zd->nnms = 1;			/* the test point */
	memset(&zd->nms[0], 0, sizeof(zd->nms[0]));
	nstream_next(zd, &zd->nms[0], true);
	zd->ndepth = 0;
	zd->cur.klen = 0;
	zd->nnode[0].klen = 0;
	zd->dn = zd->dplen = 0;
	for (i = 0; i < z->nsrc && rc == 0; i++)
		if (z->src[i].kind == VSRC_LIST)
			rc = add_nstream(zd, z->src[i].vl);
	for (i = 0; i < z->nexempt && rc == 0; i++)
		rc = add_nstream(zd, z->exempt[i]);
	zd->started = true;
	if (rc != 0)
		return rc;
	if (sn->dn == 0)
		return 0;
	s = &zd->nms[zd->nnms++];
	memset(s, 0, sizeof(*s));
	s->dyn = true;
	nstream_next(zd, s, true);
	return 0;
}

/*
 * name_of - key[0, klen) as a dotted name (after "  ." when probe: a
 * label no entry can have, a child of the name without data of its
 * own) and as owner labels (after "*" when probe); false when it does
 * not fit a name of the zone
 */
static bool
name_of(const struct zdump *zd, size_t klen, bool probe, char *name,
    size_t *nlen, uint8_t *o, size_t *olen)
{
	const uint8_t *key = zd->cur.key;
	size_t n = 0, w = 0, end, start;

	if (probe) {
		name[n++] = ' ';
		name[n++] = '.';
		o[w++] = 1;
		o[w++] = '*';
	}
	for (end = klen; ; end = start - 1) {
		for (start = end; start > 0 && key[start - 1] != '\0';
		    start--)
			;
		if (end - start > 63 || end == start)
			return false;
		o[w++] = (uint8_t)(end - start);
		memcpy(o + w, key + start, end - start);
		w += end - start;
		memcpy(name + n, key + start, end - start);
		n += end - start;
		if (start == 0)
			break;
		name[n++] = '.';
	}
	name[n] = '\0';
	*nlen = n;
	*olen = w;
	return w + zd->z->apex_len <= DNS_MAXNAME;
}

/*
 * an_address - does the zone read the name as an address, or a name
 * above one (answer_classify())? Then the address walk writes it.
 */
static bool
an_address(const struct zdump *zd, const uint8_t *o, size_t olen)
{
	unsigned m = 0, dec = 1, nib = 1;
	size_t i = 0;

	for (; i < olen; i += 1u + o[i], m++) {
		unsigned l = o[i], k, v = 0;
		const uint8_t *p = o + i + 1;

		for (k = 0; k < l; k++)
			v = p[k] >= '0' && p[k] <= '9' ? v * 10 +
			    (unsigned)(p[k] - '0') : 1000;
		if (l == 0 || l > 3 || v > 255 || (l > 1 && p[0] == '0'))
			dec = 0;
		if (l != 1 || !((p[0] >= '0' && p[0] <= '9') ||
		    (p[0] >= 'a' && p[0] <= 'f')))
			nib = 0;
	}
	return (dec && m <= 4 && (zd->z->families & VFAM_IP4)) ||
	    (nib && m <= 32 && (zd->z->families & VFAM_IP6));
}

/* name_subject - ask the zone about a name: listed? */
static bool
name_subject(struct zdump *zd, const char *name, size_t len)
{
	struct subject *s = &zd->wk.s;

	memset(s, 0, offsetof(struct subject, name));
	s->only = NULL;
	s->kind = SUBJ_NAME;
	memcpy(s->name, name, len + 1);
	memcpy(s->text, name, len + 1);
	s->name_len = len;
	return decide_listed(zd) && zd->ast.kind == ANSWER_SUBJECT;
}

/* probe_listed - is a child without data of name klen listed? */
static bool
probe_listed(struct zdump *zd, size_t klen)
{
	char name[DNS_MAXNAME + 3];
	uint8_t o[DNS_MAXNAME + 3];
	size_t nlen, olen;

	/* the apex has no wildcard entry */
	return klen > 0 && name_of(zd, klen, true, name, &nlen, o, &olen) &&
	    name_subject(zd, name, nlen);
}

/*
 * close_name - the walk leaves name j: its records if listed, its
 * wildcard if a child without data is, or a record of the private type
 * when neither and a wildcard above would answer for it
 */
static int
close_name(struct zdump *zd, zdump_fn *fn, void *arg, unsigned j)
{
	const struct nnode *nd = &zd->nnode[j];
	char name[DNS_MAXNAME + 3];
	uint8_t o[DNS_MAXNAME + 3];
	size_t nlen, olen;
	bool listed, wild;
	int rc;

	if (!name_of(zd, nd->klen, true, name, &nlen, o, &olen) ||
	    an_address(zd, o + 2, olen - 2))
		return 0;
	if ((wild = name_subject(zd, name, nlen)) &&
	    (rc = records(zd, fn, arg, o, olen)) < 0)
		return rc;
	if ((listed = name_subject(zd, name + 2, nlen - 2)) &&
	    (rc = records(zd, fn, arg, o + 2, olen - 2)) < 0)
		return rc;
	if ((listed && wild) || (!zd->mark && (listed || wild ||
	    zd->count != nd->count0)) ||
	    !probe_listed(zd, zd->nnode[j - 1].klen))
		return 0;
	/*
	 * Not listed here, but by a wildcard above: the name must exist; as
	 * longest-match data (zdump_mark_blocks()) the name and its children
	 * each say so
	 */
	if (zd->mark && !wild && (rc = emit(zd, fn, arg, o, olen,
	    ZDUMP_TYPE_EMPTY, zd->z->cz->soa_ttl, NULL, 0)) < 0)
		return rc;
	if (listed)
		return 0;
	return emit(zd, fn, arg, o + 2, olen - 2, ZDUMP_TYPE_EMPTY,
	    zd->z->cz->soa_ttl, NULL, 0);
}

/* names_step - the next name of the walk, or its end */
static int
names_step(struct zdump *zd, zdump_fn *fn, void *arg)
{
	struct list_npos p;
	size_t i, best = zd->nnms, k;
	int rc;

	for (i = 0; i < zd->nnms; i++)
		if (zd->nms[i].live && (best == zd->nnms ||
		    list_keycmp(zd->nms[i].pos.key, zd->nms[i].pos.klen,
		    zd->nms[best].pos.key, zd->nms[best].pos.klen) < 0))
			best = i;
	if (best == zd->nnms) {
		for (; zd->ndepth >= 1; zd->ndepth--)
			if ((rc = close_name(zd, fn, arg, zd->ndepth)) < 0)
				return rc;
		return 0;
	}
	p = zd->nms[best].pos;
	for (i = 0; i < zd->nnms; i++)
		while (zd->nms[i].live && list_keycmp(zd->nms[i].pos.key,
		    zd->nms[i].pos.klen, p.key, p.klen) <= 0)
			nstream_next(zd, &zd->nms[i], false);
	/* leave the names that do not hold it */
	while (zd->ndepth >= 1) {
		k = zd->nnode[zd->ndepth].klen;
		if (k <= p.klen && memcmp(zd->cur.key, p.key, k) == 0 &&
		    (k == p.klen || p.key[k] == '\0'))
			break;
		if ((rc = close_name(zd, fn, arg, zd->ndepth)) < 0)
			return rc;
		zd->ndepth--;
	}
	/* enter the names down to it: a label ends at a NUL or the end */
	memcpy(zd->cur.key, p.key, p.klen);
	zd->cur.klen = p.klen;
	k = zd->nnode[zd->ndepth].klen;
	while (k < p.klen && zd->ndepth < MAX_LABELS) {
		for (k += k > 0; k < p.klen && p.key[k] != '\0'; k++)
			;
		zd->ndepth++;
		zd->nnode[zd->ndepth].klen = k;
		zd->nnode[zd->ndepth].count0 = zd->count;
	}
	return 1;
}

/* zdump_step - one step of the dump */
int
zdump_step(struct zdump *zd, zdump_fn *fn, void *arg)
{
	const struct vzone *z = zd->z;
	uint8_t rd[2 * DNS_MAXNAME + 20];
	size_t n;
	int rc;

	switch (zd->phase) {
	case PH_SOA:
	case PH_END:
		n = zdump_soa_rdata(z, zd->serial, rd, sizeof(rd));
		rc = emit(zd, fn, arg, NULL, 0, DNS_TYPE_SOA, z->cz->soa_ttl,
		    rd, n);
		zd->phase = zd->phase == PH_SOA ? PH_NS : PH_DONE;
		return rc < 0 ? rc : zd->phase != PH_DONE;
	case PH_NS:
		if (zd->ns < z->cz->nns) {
			n = dnsmsg_name_to_wire(z->cz->ns[zd->ns++], rd,
			    sizeof(rd));
			if (n > 0 && (rc = emit(zd, fn, arg, NULL, 0,
			    DNS_TYPE_NS, z->cz->soa_ttl, rd, n)) < 0)
				return rc;
			return 1;
		}
		zd->phase = PH_IP4;
		zd->started = false;
		return 1;
	case PH_IP4:
	case PH_IP6:
		if ((zd->phase == PH_IP4 && !(z->families & VFAM_IP4)) ||
		    (zd->phase == PH_IP6 && !(z->families & VFAM_IP6)))
			rc = 0;
		else {
			rc = 0;
			if (!zd->started)
				rc = family_start(zd, zd->phase == PH_IP6);
			if (rc == 0)
				rc = walk_step(zd, fn, arg);
			else if (rc > 0)
				rc = RBLMUX_EINVAL;
		}
		if (rc < 0)
			return rc;
		if (rc == 0) {
			zd->started = false;
			zd->phase = zd->phase == PH_IP4 ? PH_IP6 : PH_NAME;
		}
		return 1;
	case PH_NAME:
		rc = 0;
		if (z->families & VFAM_NAME) {
			if (!zd->started)
				rc = names_start(zd);
			if (rc == 0)
				rc = names_step(zd, fn, arg);
		}
		if (rc < 0)
			return rc;
		if (rc == 0) {
			zd->started = false;
			zd->phase = zd->axfr ? PH_END : PH_DONE;
		}
		return zd->phase != PH_DONE;
	default:
		return 0;
	}
}
