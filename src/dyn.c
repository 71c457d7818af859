/*
 * dyn.c -- dynamic list entries: the LMDB store and the index (see dyn.h
 * for the contract).
 *
 * Record (the LMDB value of key "LIST ENTRY"), little endian:
 *
 *    0 version u8 (1)   1 flags u8 (0)   2 reason length u16
 *    4 value u32        8 added i64      16 refreshed i64
 *   24 expires i64 (0: never)            32 reason bytes
 *
 * The index of a list is one open-addressing hash table (linear
 * probing, at most half full, deletion by backward shift) of every
 * entry, keyed by (family, prefix length, masked address) or (wildcard,
 * name). An address lookup probes once per prefix length present in the
 * list (a bit set per family), the longest first; a name lookup probes
 * the name, then the wildcard of each enclosing name while wildcards
 * exist. Entries with an expiry sit in a binary min-heap on it, so
 * dyn_expire() finds the expired ones without a scan.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <ev.h>
#include <lmdb.h>

#include "conf.h"
#include "dyn.h"
#include "err.h"
#include "log.h"
#include "view.h"

#define REC_FIXED	32
#define REC_VERSION	1
#define KEY_MAX		(64 + 1 + sizeof(((struct dyn_key *)0)->text))

struct dyn_ent {
	struct list_entry	 le;	/* what walks and hooks see */
	struct list_value	 val;
	const struct list_value	*valp;	/* le.vals points here */
	struct dyn_info		 info;
	struct dyn_list		*dl;
	uint64_t		 hash;
	size_t			 heap;	/* index + 1 in the heap; 0: none */
	char			*reason;
	char			 text[];	/* info.text, then le.name */
};

/* A name with entries below it: how many (its hash only, 64 bits) */
struct dyn_anc {
	uint64_t		 h;		/* 0: free */
	uint32_t		 n;
};

struct hook {
	dyn_change_fn		*fn;
	void			*arg;
};

struct dyn {
	MDB_env			*env;		/* NULL: not usable */
	MDB_dbi			 dbi;
	char			*path;
	char			 err[512];	/* why not usable */
	struct dyn_list		*lists;
	struct dyn_ent		**heap;		/* by expiry, earliest first */
	size_t			 nheap, capheap;
	struct hook		 hooks[DYN_HOOKS_MAX];
	size_t			 nhooks;
	struct ev_loop		*loop;
	ev_timer		 timer;
};

struct dyn *dyn_main;

/* ---- hashing -------------------------------------------------------- */

static inline uint64_t
mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

static inline uint64_t
hash_ip4(uint32_t a, unsigned plen)
{
	return mix((uint64_t)a << 8 | plen | 0x4000000000000000ULL);
}

static uint64_t
hash_ip6(const uint8_t k[16], unsigned plen)
{
	uint64_t hi, lo;

	memcpy(&hi, k, 8);
	memcpy(&lo, k + 8, 8);
	return mix(mix(hi ^ plen) ^ lo ^ 0x6000000000000000ULL);
}

static uint64_t
hash_name(const char *s, size_t len, bool wild)
{
	uint64_t h = 14695981039346656037ULL ^ (wild ? 0x2a : 0);
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return mix(h ^ len);
}

static uint64_t
ent_hash(const struct list_entry *e)
{
	uint32_t a;

	switch (e->family) {
	case AF_INET:
		memcpy(&a, e->key, 4);
		return hash_ip4(ntohl(a), e->plen);
	case AF_INET6:
		return hash_ip6(e->key, e->plen);
	default:
		return hash_name(e->name, e->name_len, e->wild);
	}
}

static bool
same_key(const struct list_entry *a, const struct list_entry *b)
{
	if (a->family != b->family || a->plen != b->plen)
		return false;
	if (a->family == AF_INET)
		return memcmp(a->key, b->key, 4) == 0;
	if (a->family == AF_INET6)
		return memcmp(a->key, b->key, 16) == 0;
	return a->wild == b->wild && a->name_len == b->name_len &&
	    memcmp(a->name, b->name, a->name_len) == 0;
}

/* ---- names with entries below them ---------------------------------- */

static uint64_t
anc_hash(const char *name, size_t len)
{
	return hash_name(name, len, false) ^ 0x9e3779b97f4a7c15ULL;
}

/* anc_names - the names e makes non-terminal: its proper suffixes, and
   for a wildcard its own name too */
static size_t
anc_names(const struct dyn_ent *e, uint64_t *out)
{
	const char *p = e->le.name, *end = p + e->le.name_len;
	size_t n = 0;

	if (e->le.family != AF_UNSPEC)
		return 0;
	if (e->le.wild)
		out[n++] = anc_hash(p, e->le.name_len);
	for (; p < end; p++)
		if (*p == '.')
			out[n++] = anc_hash(p + 1, (size_t)(end - p - 1));
	return n;
}

static size_t
anc_find(const struct dyn_list *dl, uint64_t h)
{
	size_t i;

	for (i = h & dl->amask; dl->anc[i].h != 0 && dl->anc[i].h != h;
	    i = (i + 1) & dl->amask)
		;
	return i;
}

/* anc_reserve - room for what e adds; 0 or RBLMUX_ENOMEM */
static int
anc_reserve(struct dyn_list *dl, const struct dyn_ent *e)
{
	uint64_t hs[128];
	struct dyn_anc *na, *old = dl->anc;
	size_t need = dl->nanc + anc_names(e, hs), ncap, i, j;
	size_t oldcap = old != NULL ? dl->amask + 1 : 0;

	if (need * 2 <= oldcap)
		return 0;
	for (ncap = oldcap ? oldcap : 16; need * 2 > ncap; ncap *= 2)
		;
	if ((na = calloc(ncap, sizeof(*na))) == NULL)
		return RBLMUX_ENOMEM;
	for (i = 0; i < oldcap; i++) {
		if (old[i].h == 0)
			continue;
		for (j = old[i].h & (ncap - 1); na[j].h != 0;
		    j = (j + 1) & (ncap - 1))
			;
		na[j] = old[i];
	}
	dl->anc = na;
	dl->amask = ncap - 1;
	free(old);
	return 0;
}

/* anc_count - e comes (delta 1, room reserved) or goes (-1) */
static void
anc_count(struct dyn_list *dl, const struct dyn_ent *e, int delta)
{
	uint64_t hs[128];
	size_t n = anc_names(e, hs), k, i, j, home;

	for (k = 0; k < n; k++) {
		uint64_t h = hs[k] != 0 ? hs[k] : 1;

		i = anc_find(dl, h);
		if (delta > 0) {
			dl->anc[i].h = h;
			if (dl->anc[i].n++ == 0)
				dl->nanc++;
			continue;
		}
		if (dl->anc[i].h == 0 || --dl->anc[i].n > 0)
			continue;
		/* the last one: free the slot, backward shift */
		dl->anc[i].h = 0;
		dl->nanc--;
		for (j = (i + 1) & dl->amask; dl->anc[j].h != 0;
		    j = (j + 1) & dl->amask) {
			home = dl->anc[j].h & dl->amask;
			if (((j - home) & dl->amask) >= ((j - i) & dl->amask)) {
				dl->anc[i] = dl->anc[j];
				dl->anc[j].h = 0;
				i = j;
			}
		}
	}
}

int
dyn_has_below(const struct dyn_list *dl, const char *name, size_t len)
{
	uint64_t h;

	if (dl == NULL || dl->nanc == 0 || !(dl->fams & DYN_FAM_NAME))
		return 0;
	h = anc_hash(name, len);
	h = h != 0 ? h : 1;
	return dl->anc[anc_find(dl, h)].h == h;
}

/* ---- index ---------------------------------------------------------- */

/* tab_find - the slot holding key e (hash h), or the free slot for it */
static size_t
tab_find(const struct dyn_list *dl, const struct list_entry *e, uint64_t h)
{
	size_t i;

	for (i = h & dl->mask; dl->tab[i] != NULL; i = (i + 1) & dl->mask)
		if (dl->tab[i]->hash == h && same_key(&dl->tab[i]->le, e))
			break;
	return i;
}

static struct dyn_ent *
tab_get(const struct dyn_list *dl, const struct list_entry *e)
{
	if (dl->n == 0)
		return NULL;
	return dl->tab[tab_find(dl, e, ent_hash(e))];
}

/* tab_reserve - room for one more entry; 0 or RBLMUX_ENOMEM */
static int
tab_reserve(struct dyn_list *dl)
{
	struct dyn_ent **nt, **old = dl->tab;
	size_t ncap, i, j, oldcap = dl->tab != NULL ? dl->mask + 1 : 0;

	if ((dl->n + 1) * 2 <= oldcap)
		return 0;
	ncap = oldcap ? oldcap * 2 : 16;
	if ((nt = calloc(ncap, sizeof(*nt))) == NULL)
		return RBLMUX_ENOMEM;
	for (i = 0; i < oldcap; i++) {
		if (old[i] == NULL)
			continue;
		for (j = old[i]->hash & (ncap - 1); nt[j] != NULL;
		    j = (j + 1) & (ncap - 1))
			;
		nt[j] = old[i];
	}
	dl->tab = nt;
	dl->mask = ncap - 1;
	free(old);
	return 0;
}

/* count_len - note that an entry of e's family and length comes or goes */
static void
count_len(struct dyn_list *dl, const struct dyn_ent *e, int delta)
{
	unsigned l = e->le.plen;

	switch (e->le.family) {
	case AF_INET:
		dl->len4[l] += (uint32_t)delta;
		if (dl->len4[l] != 0)
			dl->lens4 |= UINT64_C(1) << l;
		else
			dl->lens4 &= ~(UINT64_C(1) << l);
		break;
	case AF_INET6:
		dl->len6[l] += (uint32_t)delta;
		if (dl->len6[l] != 0)
			dl->lens6[l / 64] |= UINT64_C(1) << (l % 64);
		else
			dl->lens6[l / 64] &= ~(UINT64_C(1) << (l % 64));
		break;
	default:
		dl->nnames += (size_t)delta;
		if (e->le.wild)
			dl->nwild += (size_t)delta;
		break;
	}
}

/* tab_insert - put e in its list's table (room reserved) */
static void
tab_insert(struct dyn_list *dl, struct dyn_ent *e)
{
	dl->tab[tab_find(dl, &e->le, e->hash)] = e;
	dl->n++;
	count_len(dl, e, 1);
	anc_count(dl, e, 1);
}

/* tab_remove - take e out of its list's table (backward shift) */
static void
tab_remove(struct dyn_list *dl, struct dyn_ent *e)
{
	size_t i = tab_find(dl, &e->le, e->hash), j, home;

	if (dl->tab[i] != e)
		return;
	dl->tab[i] = NULL;
	for (j = (i + 1) & dl->mask; dl->tab[j] != NULL;
	    j = (j + 1) & dl->mask) {
		home = dl->tab[j]->hash & dl->mask;
		/* move j back to i unless its home lies in (i, j] */
		if (((j - home) & dl->mask) >= ((j - i) & dl->mask)) {
			dl->tab[i] = dl->tab[j];
			dl->tab[j] = NULL;
			i = j;
		}
	}
	dl->n--;
	count_len(dl, e, -1);
	anc_count(dl, e, -1);
}

/* ---- expiry heap ---------------------------------------------------- */

static void
heap_set(struct dyn *d, size_t i, struct dyn_ent *e)
{
	d->heap[i] = e;
	e->heap = i + 1;
}

static void
heap_up(struct dyn *d, size_t i)
{
	struct dyn_ent *e = d->heap[i];

	while (i > 0 && d->heap[(i - 1) / 2]->info.expires > e->info.expires) {
		heap_set(d, i, d->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(d, i, e);
}

static void
heap_down(struct dyn *d, size_t i)
{
	struct dyn_ent *e = d->heap[i];
	size_t c;

	for (; (c = 2 * i + 1) < d->nheap; i = c) {
		if (c + 1 < d->nheap && d->heap[c + 1]->info.expires <
		    d->heap[c]->info.expires)
			c++;
		if (d->heap[c]->info.expires >= e->info.expires)
			break;
		heap_set(d, i, d->heap[c]);
	}
	heap_set(d, i, e);
}

static int
heap_reserve(struct dyn *d)
{
	struct dyn_ent **nh;
	size_t ncap;

	if (d->nheap < d->capheap)
		return 0;
	ncap = d->capheap ? d->capheap * 2 : 64;
	if ((nh = realloc(d->heap, ncap * sizeof(*nh))) == NULL)
		return RBLMUX_ENOMEM;
	d->heap = nh;
	d->capheap = ncap;
	return 0;
}

/* heap_remove - take e out of the heap, if it is in */
static void
heap_remove(struct dyn *d, struct dyn_ent *e)
{
	struct dyn_ent *last;
	size_t i = e->heap;

	if (i-- == 0)
		return;
	e->heap = 0;
	if (i == --d->nheap)
		return;
	last = d->heap[d->nheap];
	heap_set(d, i, last);
	heap_up(d, i);
	heap_down(d, last->heap - 1);
}

/* heap_put - e's expiry is new or changed (room reserved) */
static void
heap_put(struct dyn *d, struct dyn_ent *e)
{
	if (e->info.expires == 0) {
		heap_remove(d, e);
		return;
	}
	if (e->heap == 0) {
		heap_set(d, d->nheap++, e);
		heap_up(d, d->nheap - 1);
		return;
	}
	heap_up(d, e->heap - 1);
	heap_down(d, e->heap - 1);
}

/* ---- entries -------------------------------------------------------- */

static void
ent_free(struct dyn_ent *e)
{
	if (e == NULL)
		return;
	free(e->reason);
	free(e);
}

/* ent_new - an entry of key k, not in any index; NULL when out of memory */
static struct dyn_ent *
ent_new(struct dyn_list *dl, const struct dyn_key *k)
{
	size_t tl = strlen(k->text), nl = strlen(k->name);
	struct dyn_ent *e;

	if ((e = calloc(1, sizeof(*e) + tl + 1 + nl + 1)) == NULL)
		return NULL;
	memcpy(e->text, k->text, tl + 1);
	memcpy(e->text + tl + 1, k->name, nl + 1);
	e->le.family = k->family;
	memcpy(e->le.key, k->key, 16);
	e->le.plen = k->plen;
	e->le.name = k->family == AF_UNSPEC ? e->text + tl + 1 : NULL;
	e->le.name_len = k->family == AF_UNSPEC ? nl : 0;
	e->le.wild = k->wild;
	e->valp = &e->val;
	e->le.vals = &e->valp;
	e->le.nvals = 1;
	e->info.list = dl->name;
	e->info.text = e->text;
	e->dl = dl;
	e->val.lv_ttl = dl->ttl;
	e->hash = ent_hash(&e->le);
	return e;
}

/* ent_set - value, reason (owned, may be NULL) and times */
static void
ent_set(struct dyn_ent *e, uint32_t value, char *reason, time_t added,
    time_t refreshed, time_t expires)
{
	free(e->reason);
	e->reason = reason;
	e->val.lv_a = value;
	e->val.lv_txt = reason;
	e->info.value = value;
	e->info.reason = reason;
	e->info.added = added;
	e->info.refreshed = refreshed;
	e->info.expires = expires;
}

/* ---- lists ---------------------------------------------------------- */

struct dyn_list *
dyn_list_find(const struct dyn *d, const char *name)
{
	struct dyn_list *dl;

	for (dl = d != NULL ? d->lists : NULL; dl != NULL; dl = dl->next)
		if (strcmp(dl->name, name) == 0)
			return dl;
	return NULL;
}

struct dyn_list *
dyn_list_get(struct dyn *d, const char *name)
{
	struct dyn_list *dl;

	if (d == NULL)
		return NULL;
	if ((dl = dyn_list_find(d, name)) != NULL)
		return dl;
	if ((dl = calloc(1, sizeof(*dl))) == NULL ||
	    (dl->name = strdup(name)) == NULL) {
		free(dl);
		return NULL;
	}
	dl->ttl = 2100;
	dl->fams = DYN_FAM_IP4 | DYN_FAM_IP6 | DYN_FAM_NAME;
	dl->next = d->lists;
	d->lists = dl;
	return dl;
}

struct dyn_list *
dyn_lists(const struct dyn *d)
{
	return d != NULL ? d->lists : NULL;
}

static void
list_free_all(struct dyn_list *dl)
{
	size_t i;

	for (i = 0; dl->tab != NULL && i <= dl->mask; i++)
		ent_free(dl->tab[i]);
	free(dl->tab);
	free(dl->anc);
	free(dl->name);
	free(dl);
}

/* dyn_bind - each vlist of v gets the dyn_list of its name */
void
dyn_bind(struct dyn *d, struct view *v)
{
	size_t i, j;

	if (d == NULL || v == NULL)
		return;
	for (i = 0; i < v->nlists; i++) {
		struct vlist *vl = v->lists[i];
		struct dyn_list *dl = dyn_list_get(d, vl->name);
		uint32_t ttl = vl->default_ttl ? vl->default_ttl : 2100;

		if (dl == NULL) {
			log_warnx("list %s: out of memory for its dynamic "
			    "entries; it answers from its files", vl->name);
			continue;
		}
		if (dl->ttl != ttl) {
			dl->ttl = ttl;
			for (j = 0; dl->tab != NULL && j <= dl->mask; j++)
				if (dl->tab[j] != NULL)
					dl->tab[j]->val.lv_ttl = ttl;
		}
		dl->fams = vl->type == LIST_DNSET ? DYN_FAM_NAME :
		    vl->type == LIST_IP6TRIE ? DYN_FAM_IP6 : DYN_FAM_IP4;
		if (vl->dyn != dl)
			vl->dyn = dl;
	}
}

/* ---- lookups -------------------------------------------------------- */

static inline bool
live(const struct dyn_ent *e, time_t now)
{
	return now == 0 || e->info.expires == 0 || e->info.expires > now;
}

static int
one(const struct dyn_ent *e, const struct list_value **vals, int max)
{
	if (max > 0)
		vals[0] = &e->val;
	return 1;
}

int
dyn_lookup_ip4(const struct dyn_list *dl, uint32_t addr, time_t now,
    const struct list_value **vals, int max)
{
	uint64_t lens;
	unsigned l;
	uint32_t a;
	uint64_t h;
	size_t i;

	if (dl == NULL || dl->n == 0 || !(dl->fams & DYN_FAM_IP4))
		return 0;
	for (lens = dl->lens4; lens != 0; lens &= ~(UINT64_C(1) << l)) {
		l = 63u - (unsigned)__builtin_clzll(lens);
		a = l == 0 ? 0 : addr & (0xffffffffU << (32 - l));
		h = hash_ip4(a, l);
		for (i = h & dl->mask; dl->tab[i] != NULL;
		    i = (i + 1) & dl->mask) {
			const struct dyn_ent *e = dl->tab[i];
			uint32_t k;

			if (e->hash != h || e->le.family != AF_INET ||
			    e->le.plen != l)
				continue;
			memcpy(&k, e->le.key, 4);
			if (ntohl(k) == a && live(e, now))
				return one(e, vals, max);
		}
	}
	return 0;
}

int
dyn_lookup_ip6(const struct dyn_list *dl, const uint8_t addr[16],
    time_t now, const struct list_value **vals, int max)
{
	uint8_t k[16];
	unsigned l, w;
	uint64_t h, lens;
	size_t i;
	int b;

	if (dl == NULL || dl->n == 0 || !(dl->fams & DYN_FAM_IP6))
		return 0;
	for (w = 3; w-- > 0;) {
		for (lens = dl->lens6[w]; lens != 0;
		    lens &= ~(UINT64_C(1) << b)) {
			b = 63 - __builtin_clzll(lens);
			l = w * 64 + (unsigned)b;
			memset(k, 0, sizeof(k));
			memcpy(k, addr, l / 8);
			if (l % 8)
				k[l / 8] = (uint8_t)(addr[l / 8] &
				    (0xff00 >> (l % 8)));
			h = hash_ip6(k, l);
			for (i = h & dl->mask; dl->tab[i] != NULL;
			    i = (i + 1) & dl->mask) {
				const struct dyn_ent *e = dl->tab[i];

				if (e->hash == h && e->le.family == AF_INET6 &&
				    e->le.plen == l &&
				    memcmp(e->le.key, k, 16) == 0 &&
				    live(e, now))
					return one(e, vals, max);
			}
		}
	}
	return 0;
}

/* name_probe - the live entry (name, wild), or NULL */
static const struct dyn_ent *
name_probe(const struct dyn_list *dl, const char *name, size_t len,
    bool wild, time_t now)
{
	uint64_t h = hash_name(name, len, wild);
	size_t i;

	for (i = h & dl->mask; dl->tab[i] != NULL; i = (i + 1) & dl->mask) {
		const struct dyn_ent *e = dl->tab[i];

		if (e->hash == h && e->le.family == AF_UNSPEC &&
		    e->le.wild == wild && e->le.name_len == len &&
		    memcmp(e->le.name, name, len) == 0 && live(e, now))
			return e;
	}
	return NULL;
}

int
dyn_lookup_name(const struct dyn_list *dl, const char *name, size_t len,
    time_t now, const struct list_value **vals, int max, size_t *subj_off)
{
	const struct dyn_ent *e;
	size_t off;

	*subj_off = 0;
	if (dl == NULL || dl->nnames == 0 || !(dl->fams & DYN_FAM_NAME))
		return 0;
	if (dl->nnames > dl->nwild &&
	    (e = name_probe(dl, name, len, false, now)) != NULL)
		return one(e, vals, max);
	for (off = 0; dl->nwild > 0 && off < len; off++) {
		if (name[off] != '.')
			continue;
		if ((e = name_probe(dl, name + off + 1, len - off - 1, true,
		    now)) != NULL) {
			*subj_off = off + 1;
			return one(e, vals, max);
		}
	}
	return 0;
}

const struct dyn_info *
dyn_entry_info(const struct list_entry *e)
{
	return &((const struct dyn_ent *)(const void *)((const char *)e -
	    offsetof(struct dyn_ent, le)))->info;
}

const struct dyn_info *
dyn_value_info(const struct list_value *lv)
{
	return &((const struct dyn_ent *)(const void *)((const char *)lv -
	    offsetof(struct dyn_ent, val)))->info;
}

int
dyn_walk(const struct dyn_list *dl, time_t now, list_walk_fn *fn, void *arg)
{
	size_t i;
	int rc;

	if (dl == NULL || dl->n == 0)
		return 0;
	for (i = 0; i <= dl->mask; i++)
		if (dl->tab[i] != NULL && live(dl->tab[i], now) &&
		    (rc = fn(arg, &dl->tab[i]->le)) != 0)
			return rc;
	return 0;
}

/* ---- parsing -------------------------------------------------------- */

/* parse_len - "24" into *len (at most max); false if it is not one */
static bool
parse_len(const char *s, unsigned max, unsigned *len)
{
	unsigned v = 0;
	size_t n;

	for (n = 0; s[n] >= '0' && s[n] <= '9'; n++)
		v = v * 10 + (unsigned)(s[n] - '0');
	if (n == 0 || n > 3 || s[n] != '\0' || (n > 1 && s[0] == '0') ||
	    v > max)
		return false;
	*len = v;
	return true;
}

/* parse_addr - an address or prefix of family af into k */
static int
parse_addr(int af, const char *text, struct dyn_key *k, char *err,
    size_t errsz)
{
	const char *fam = af == AF_INET ? "IPv4" : "IPv6";
	unsigned max = af == AF_INET ? 32 : 128, len = max, i;
	char buf[INET6_ADDRSTRLEN + 1], canon[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	size_t alen = slash != NULL ? (size_t)(slash - text) : strlen(text);
	uint8_t masked[16];

	if (alen == 0 || alen >= sizeof(buf)) {
		snprintf(err, errsz, "not an %s address or prefix: %.64s", fam,
		    text);
		return RBLMUX_EPARSE;
	}
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	memset(k->key, 0, sizeof(k->key));
	if (inet_pton(af, buf, k->key) != 1) {
		snprintf(err, errsz, "not an %s address or prefix: %.64s", fam,
		    text);
		return RBLMUX_EPARSE;
	}
	if (slash != NULL && !parse_len(slash + 1, max, &len)) {
		snprintf(err, errsz, "bad prefix length in %.64s (0..%u)",
		    text, max);
		return RBLMUX_EPARSE;
	}
	if (len == 0) {
		snprintf(err, errsz, "%.64s: a /0 would list every address",
		    text);
		return RBLMUX_EPARSE;
	}
	memcpy(masked, k->key, 16);
	for (i = len; i < max; i++)
		masked[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
	inet_ntop(af, masked, canon, sizeof(canon));
	if (memcmp(masked, k->key, 16) != 0) {
		/* as list files and the config: "192.0.2.1/24" is a typo */
		snprintf(err, errsz, "%.64s: bits past /%u are set (the "
		    "prefix is %s/%u)", text, len, canon, len);
		return RBLMUX_EPARSE;
	}
	k->family = af;
	k->plen = len;
	k->wild = false;
	k->name[0] = '\0';
	if (len == max)
		snprintf(k->text, sizeof(k->text), "%s", canon);
	else
		snprintf(k->text, sizeof(k->text), "%s/%u", canon, len);
	return 0;
}

/* parse_name - "name" or "*.name" for a dnset list */
static int
parse_name(const char *text, struct dyn_key *k, char *err, size_t errsz)
{
	bool wild = strncmp(text, "*.", 2) == 0;
	char *name;
	int rc;

	rc = conf_parse_dname(wild ? text + 2 : text, &name);
	if (rc == RBLMUX_ENOMEM) {
		snprintf(err, errsz, "out of memory");
		return rc;
	}
	if (rc != 0 || name[0] == '\0' || strlen(name) >= sizeof(k->name)) {
		if (rc == 0)
			free(name);
		snprintf(err, errsz, "not a domain name or *.name: %.64s%s",
		    text, strlen(text) > 64 ? "..." : "");
		return RBLMUX_EPARSE;
	}
	memset(k->key, 0, sizeof(k->key));
	k->family = AF_UNSPEC;
	k->plen = 0;
	k->wild = wild;
	snprintf(k->name, sizeof(k->name), "%s", name);
	snprintf(k->text, sizeof(k->text), "%s%s", wild ? "*." : "", name);
	free(name);
	return 0;
}

enum list_type
dyn_type_of(const char *text)
{
	uint8_t a[16];
	char buf[INET6_ADDRSTRLEN + 1];
	size_t n = strcspn(text, "/");

	if (n >= sizeof(buf))
		return LIST_DNSET;
	memcpy(buf, text, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, a) == 1)
		return LIST_IP4TRIE;
	if (inet_pton(AF_INET6, buf, a) == 1)
		return LIST_IP6TRIE;
	return LIST_DNSET;
}

int
dyn_parse(enum list_type t, const char *text, struct dyn_key *k, char *err,
    size_t errsz)
{
	switch (t) {
	case LIST_IP4SET:
	case LIST_IP4TRIE:
		return parse_addr(AF_INET, text, k, err, errsz);
	case LIST_IP6TRIE:
		return parse_addr(AF_INET6, text, k, err, errsz);
	case LIST_DNSET:
		return parse_name(text, k, err, errsz);
	}
	snprintf(err, errsz, "unknown list type");
	return RBLMUX_EPARSE;
}

/* ---- records -------------------------------------------------------- */

static void
put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* rec_key - "LIST ENTRY" into buf; its length */
static size_t
rec_key(const char *list, const char *text, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s %s", list, text);

	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

/* rec_val - the record of an entry into buf (REC_FIXED + 255); length */
static size_t
rec_val(const struct dyn_info *di, uint8_t *buf)
{
	size_t rl = di->reason != NULL ? strlen(di->reason) : 0;

	buf[0] = REC_VERSION;
	buf[1] = 0;
	buf[2] = (uint8_t)rl;
	buf[3] = (uint8_t)(rl >> 8);
	buf[4] = (uint8_t)di->value;
	buf[5] = (uint8_t)(di->value >> 8);
	buf[6] = (uint8_t)(di->value >> 16);
	buf[7] = (uint8_t)(di->value >> 24);
	put_u64(buf + 8, (uint64_t)di->added);
	put_u64(buf + 16, (uint64_t)di->refreshed);
	put_u64(buf + 24, (uint64_t)di->expires);
	memcpy(buf + REC_FIXED, di->reason != NULL ? di->reason : "", rl);
	return REC_FIXED + rl;
}

/* ---- store ---------------------------------------------------------- */

/* load_one - index one record; false when it does not parse */
static bool
load_one(struct dyn *d, const MDB_val *key, const MDB_val *val)
{
	char kbuf[KEY_MAX + 1], name[64], err[128], *sp, *reason = NULL;
	const uint8_t *v = val->mv_data;
	struct dyn_key k;
	struct dyn_list *dl;
	struct dyn_ent *e;
	size_t rl;
	uint32_t value;

	if (key->mv_size == 0 || key->mv_size > KEY_MAX ||
	    val->mv_size < REC_FIXED || v[0] != REC_VERSION)
		return false;
	memcpy(kbuf, key->mv_data, key->mv_size);
	kbuf[key->mv_size] = '\0';
	if ((sp = strchr(kbuf, ' ')) == NULL || (size_t)(sp - kbuf) >=
	    sizeof(name))
		return false;
	memcpy(name, kbuf, (size_t)(sp - kbuf));
	name[sp - kbuf] = '\0';
	rl = (size_t)v[2] | (size_t)v[3] << 8;
	if (!conf_name_valid(name) || val->mv_size != REC_FIXED + rl ||
	    rl > DYN_REASON_MAX + 1)
		return false;
	/* the entry's text says its family */
	if (dyn_parse(dyn_type_of(sp + 1), sp + 1, &k, err, sizeof(err)) != 0)
		return false;
	if (strcmp(k.text, sp + 1) != 0)
		return false;
	value = (uint32_t)v[4] | (uint32_t)v[5] << 8 | (uint32_t)v[6] << 16 |
	    (uint32_t)v[7] << 24;
	if ((dl = dyn_list_get(d, name)) == NULL)
		return false;
	if (rl > 0) {
		if ((reason = malloc(rl + 1)) == NULL)
			return false;
		memcpy(reason, v + REC_FIXED, rl);
		reason[rl] = '\0';
	}
	if ((e = ent_new(dl, &k)) == NULL || tab_reserve(dl) != 0 ||
	    anc_reserve(dl, e) != 0 || heap_reserve(d) != 0) {
		free(reason);
		ent_free(e);
		return false;
	}
	ent_set(e, value, reason, (time_t)get_u64(v + 8),
	    (time_t)get_u64(v + 16), (time_t)get_u64(v + 24));
	if (tab_get(dl, &e->le) != NULL) {
		ent_free(e);
		return false;
	}
	tab_insert(dl, e);
	heap_put(d, e);
	return true;
}

/*
 * load_all - open the main database and index every record of it (one
 * read transaction, committed so the database handle stays open)
 */
static int
load_all(struct dyn *d, size_t *bad)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val key, val;
	int rc;

	if ((rc = mdb_txn_begin(d->env, NULL, MDB_RDONLY, &txn)) != 0)
		return rc;
	if ((rc = mdb_dbi_open(txn, NULL, 0, &d->dbi)) != 0 ||
	    (rc = mdb_cursor_open(txn, d->dbi, &cur)) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	while ((rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) == 0)
		if (!load_one(d, &key, &val))
			(*bad)++;
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_txn_commit(txn);
}

/* env_open - open d->path, synced; an LMDB code or -errno */
static int
env_open(struct dyn *d)
{
	int rc, dead;

	if ((rc = mdb_env_create(&d->env)) != 0) {
		d->env = NULL;
		return rc;
	}
	rc = mdb_env_set_mapsize(d->env, DYN_MAP_SIZE);
	if (rc == 0)
		rc = mdb_env_open(d->env, d->path, MDB_NOSUBDIR | MDB_NOTLS,
		    0600);
	if (rc == 0)
		rc = mdb_reader_check(d->env, &dead);
	if (rc != 0) {
		mdb_env_close(d->env);
		d->env = NULL;
	}
	return rc;
}

int
dyn_open(const char *dir, struct dyn **out, size_t *bad)
{
	struct dyn *d;
	size_t nbad = 0, plen = strlen(dir) + sizeof("/" DYN_FILE);
	int rc;

	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->path = malloc(plen)) == NULL) {
		free(d);
		return RBLMUX_ENOMEM;
	}
	snprintf(d->path, plen, "%s%s" DYN_FILE, dir,
	    dir[0] != '\0' && dir[strlen(dir) - 1] == '/' ? "" : "/");
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(d->err, sizeof(d->err), "state-dir %s: %s", dir,
		    strerror(errno));
	} else if ((rc = env_open(d)) != 0) {
		snprintf(d->err, sizeof(d->err), "%s: %s", d->path,
		    mdb_strerror(rc));
	} else if ((rc = load_all(d, &nbad)) != 0) {
		snprintf(d->err, sizeof(d->err), "%s: reading: %s", d->path,
		    mdb_strerror(rc));
		mdb_env_close(d->env);
		d->env = NULL;
	}
	if (bad != NULL)
		*bad = nbad;
	*out = d;
	return 0;
}

const char *
dyn_error(const struct dyn *d)
{
	if (d == NULL)
		return "no store of dynamic entries";
	return d->env == NULL ? d->err : NULL;
}

void
dyn_close(struct dyn *d)
{
	struct dyn_list *dl, *next;

	if (d == NULL)
		return;
	if (d->loop != NULL)
		ev_timer_stop(d->loop, &d->timer);
	for (dl = d->lists; dl != NULL; dl = next) {
		next = dl->next;
		list_free_all(dl);
	}
	if (d->env != NULL)
		mdb_env_close(d->env);
	free(d->heap);
	free(d->path);
	free(d);
}

int
dyn_on_change(struct dyn *d, dyn_change_fn *fn, void *arg)
{
	if (d == NULL || d->nhooks == DYN_HOOKS_MAX)
		return RBLMUX_ENOMEM;
	d->hooks[d->nhooks].fn = fn;
	d->hooks[d->nhooks].arg = arg;
	d->nhooks++;
	return 0;
}

static void
notify(struct dyn *d, const struct dyn_ent *e, enum dyn_change what)
{
	size_t i;

	for (i = 0; i < d->nhooks; i++)
		d->hooks[i].fn(d->hooks[i].arg, e->dl->name, &e->le, what);
}

/* lmdb_write - one put (val != NULL) or del per key, one synced commit */
static int
lmdb_write(struct dyn *d, MDB_val *keys, MDB_val *vals, size_t n,
    bool missing_ok)
{
	MDB_txn *txn;
	size_t i;
	int rc;

	if ((rc = mdb_txn_begin(d->env, NULL, 0, &txn)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		rc = vals != NULL ? mdb_put(txn, d->dbi, &keys[i], &vals[i],
		    0) :
		    mdb_del(txn, d->dbi, &keys[i], NULL);
		if (rc == MDB_NOTFOUND && missing_ok)
			rc = 0;
		if (rc != 0) {
			mdb_txn_abort(txn);
			return rc;
		}
	}
	return mdb_txn_commit(txn);
}

/* check_reason - printable, and short enough once "$" is expanded */
static bool
check_reason(const char *reason, const char *subject, char *err,
    size_t errsz)
{
	char buf[DYN_REASON_MAX + 2];
	const unsigned char *p;
	size_t n;

	for (p = (const unsigned char *)reason; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f) {
			snprintf(err, errsz, "the reason holds a control "
			    "character (byte 0x%02x)", *p);
			return false;
		}
	if (strlen(reason) > DYN_REASON_MAX ||
	    (n = list_txt_expand(reason, subject, buf, sizeof(buf))) >
	    DYN_REASON_MAX) {
		snprintf(err, errsz, "the reason is too long: at most %d "
		    "bytes once \"$\" is replaced by the entry", DYN_REASON_MAX);
		return false;
	}
	return true;
}

/* check_value - an A value a DNSBL may answer */
static bool
check_value(uint32_t a, char *err, size_t errsz)
{
	if ((a >> 24) != 127 || a == 0x7f000000U || a == 0x7f000001U) {
		snprintf(err, errsz, "the value must lie in 127.0.0.0/8, "
		    "other than 127.0.0.0 and 127.0.0.1");
		return false;
	}
	return true;
}

static bool
usable(const struct dyn *d, char *err, size_t errsz)
{
	if (d != NULL && d->env != NULL)
		return true;
	snprintf(err, errsz, "dynamic entries cannot be stored: %s",
	    dyn_error(d));
	return false;
}

/* find - the entry of list and key k, or NULL */
static struct dyn_ent *
find(const struct dyn *d, const char *list, const struct dyn_key *k)
{
	const struct dyn_list *dl = dyn_list_find(d, list);
	struct list_entry probe = { .family = k->family, .plen = k->plen,
	    .wild = k->wild };

	if (dl == NULL)
		return NULL;
	memcpy(probe.key, k->key, 16);
	if (k->family == AF_UNSPEC) {
		probe.name = k->name;
		probe.name_len = strlen(k->name);
	}
	return tab_get(dl, &probe);
}

const struct dyn_info *
dyn_find(const struct dyn *d, const char *list, const struct dyn_key *k)
{
	const struct dyn_ent *e = find(d, list, k);

	return e != NULL ? &e->info : NULL;
}

int
dyn_add(struct dyn *d, const struct dyn_req *r, time_t now, char *err,
    size_t errsz)
{
	char kbuf[KEY_MAX + 1], *reason = NULL;
	uint8_t vbuf[REC_FIXED + DYN_REASON_MAX + 1];
	struct dyn_info di;
	struct dyn_key k;
	struct dyn_list *dl;
	struct dyn_ent *e, *old;
	MDB_val key, val;
	int rc;

	if (!usable(d, err, errsz))
		return RBLMUX_EIO;
	if (!conf_name_valid(r->list)) {
		snprintf(err, errsz, "not a list name: %.64s", r->list);
		return RBLMUX_EINVAL;
	}
	if ((rc = dyn_parse(r->type, r->entry, &k, err, errsz)) != 0)
		return rc;
	if (r->ttl == 0) {
		snprintf(err, errsz, "a ttl of 0 would expire at once (for no "
		    "expiry: never)");
		return RBLMUX_EINVAL;
	}
	if (r->reason != NULL && !check_reason(r->reason, k.text, err, errsz))
		return RBLMUX_EINVAL;
	if (r->value != 0 && !check_value(r->value, err, errsz))
		return RBLMUX_EINVAL;
	if ((dl = dyn_list_get(d, r->list)) == NULL)
		goto nomem;
	old = find(d, dl->name, &k);
	/* everything that can fail in memory, before the write */
	if ((r->reason != NULL && (reason = strdup(r->reason)) == NULL) ||
	    heap_reserve(d) != 0)
		goto nomem;
	e = old;
	if (e == NULL && ((e = ent_new(dl, &k)) == NULL ||
	    tab_reserve(dl) != 0 || anc_reserve(dl, e) != 0)) {
		ent_free(e);
		goto nomem;
	}
	di.list = dl->name;
	di.text = k.text;
	di.value = r->value != 0 ? r->value : old != NULL ? old->info.value :
	    DYN_VALUE_DEFAULT;
	di.reason = r->reason != NULL ? reason : old != NULL ?
	    old->reason : NULL;
	di.added = old != NULL ? old->info.added : now;
	di.refreshed = now;
	di.expires = r->ttl == DYN_NEVER ? 0 : now + (time_t)r->ttl;
	key.mv_data = kbuf;
	key.mv_size = rec_key(dl->name, k.text, kbuf, sizeof(kbuf));
	val.mv_data = vbuf;
	val.mv_size = rec_val(&di, vbuf);
	if ((rc = lmdb_write(d, &key, &val, 1, false)) != 0) {
		snprintf(err, errsz, "%s: writing: %s", d->path,
		    mdb_strerror(rc));
		free(reason);
		if (e != old)
			ent_free(e);
		return RBLMUX_EIO;
	}
	if (old != NULL && r->reason == NULL) {
		reason = old->reason;	/* kept: ent_set() must not free it */
		old->reason = NULL;
	}
	ent_set(e, di.value, reason, di.added, di.refreshed, di.expires);
	if (e != old)
		tab_insert(dl, e);
	heap_put(d, e);
	notify(d, e, old != NULL ? DYN_REFRESHED : DYN_ADDED);
	return old != NULL ? 2 : 1;
nomem:
	free(reason);
	snprintf(err, errsz, "out of memory");
	return RBLMUX_ENOMEM;
}

int
dyn_del(struct dyn *d, const char *list, enum list_type type,
    const char *entry, char *err, size_t errsz)
{
	char kbuf[KEY_MAX + 1];
	struct dyn_key k;
	struct dyn_ent *e;
	MDB_val key;
	int rc;

	if ((rc = dyn_parse(type, entry, &k, err, errsz)) != 0)
		return rc;
	if ((e = find(d, list, &k)) == NULL) {
		snprintf(err, errsz, "%s has no dynamic entry %s", list,
		    k.text);
		return RBLMUX_ENOENT;
	}
	if (!usable(d, err, errsz))
		return RBLMUX_EIO;
	key.mv_data = kbuf;
	key.mv_size = rec_key(list, k.text, kbuf, sizeof(kbuf));
	if ((rc = lmdb_write(d, &key, NULL, 1, true)) != 0) {
		snprintf(err, errsz, "%s: writing: %s", d->path,
		    mdb_strerror(rc));
		return RBLMUX_EIO;
	}
	tab_remove(e->dl, e);
	heap_remove(d, e);
	notify(d, e, DYN_DELETED);
	ent_free(e);
	return 0;
}

int
dyn_expire(struct dyn *d, time_t now, size_t max)
{
	struct dyn_ent *batch[DYN_EXPIRE_BATCH];
	char kbuf[DYN_EXPIRE_BATCH][KEY_MAX + 1];
	MDB_val keys[DYN_EXPIRE_BATCH];
	size_t n = 0, i;
	int rc;

	if (d == NULL || d->env == NULL)
		return 0;
	if (max > DYN_EXPIRE_BATCH)
		max = DYN_EXPIRE_BATCH;
	/* the earliest max, taken off the heap and put back on failure */
	while (n < max && d->nheap > 0 && d->heap[0]->info.expires <= now) {
		batch[n] = d->heap[0];
		heap_remove(d, batch[n]);
		keys[n].mv_data = kbuf[n];
		keys[n].mv_size = rec_key(batch[n]->dl->name,
		    batch[n]->text, kbuf[n], sizeof(kbuf[n]));
		n++;
	}
	if (n == 0)
		return 0;
	if ((rc = lmdb_write(d, keys, NULL, n, true)) != 0) {
		for (i = 0; i < n; i++)
			heap_put(d, batch[i]);	/* room: they were there */
		log_warnx("%s: removing %zu expired entries: %s", d->path, n,
		    mdb_strerror(rc));
		return RBLMUX_EIO;
	}
	for (i = 0; i < n; i++) {
		tab_remove(batch[i]->dl, batch[i]);
		notify(d, batch[i], DYN_EXPIRED);
		ent_free(batch[i]);
	}
	return (int)n;
}

/* timer_cb - remove what expired, a few batches at a time */
static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct dyn *d = (struct dyn *)((char *)w - offsetof(struct dyn, timer));
	int i;

	for (i = 0; i < 16; i++)
		if (dyn_expire(d, (time_t)ev_now(loop), DYN_EXPIRE_BATCH) <
		    DYN_EXPIRE_BATCH)
			break;
	(void)revents;
}

void
dyn_start(struct dyn *d, struct ev_loop *loop)
{
	if (d == NULL)
		return;
	d->loop = loop;
	ev_timer_init(&d->timer, timer_cb, DYN_EXPIRE_SECS, DYN_EXPIRE_SECS);
	ev_timer_start(loop, &d->timer);
}
