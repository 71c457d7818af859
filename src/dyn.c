/*
 * dyn.c -- dynamic list entries: the index the query path reads (see
 * dyn.h for the contract; the LMDB store is dyn_store.c).
 *
 * The index of a list is one open-addressing hash table (linear
 * probing, at most half full, deletion by backward shift) of every
 * entry, keyed by (family, prefix length, masked address) or (wildcard,
 * name). An address lookup probes once per prefix length present in the
 * list (a bit set per family), the longest first; a name lookup probes
 * the name, then the wildcard of each enclosing name while wildcards
 * exist. A second table counts the name entries below each name (empty
 * non-terminals). Entries with an expiry sit in a binary min-heap on it,
 * so dyn_expire() finds the expired ones without a scan.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dyn.h"
#include "dyn_int.h"
#include "err.h"
#include "log.h"
#include "view.h"

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

/* dyn_anc_reserve - room for what e adds; 0 or RBLMUX_ENOMEM */
int
dyn_anc_reserve(struct dyn_list *dl, const struct dyn_ent *e)
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

struct dyn_ent *
dyn_tab_get(const struct dyn_list *dl, const struct list_entry *e)
{
	if (dl->n == 0)
		return NULL;
	return dl->tab[tab_find(dl, e, ent_hash(e))];
}

/* dyn_tab_reserve - room for one more entry; 0 or RBLMUX_ENOMEM */
int
dyn_tab_reserve(struct dyn_list *dl)
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

/* dyn_tab_insert - put e in its list's table (room reserved) */
void
dyn_tab_insert(struct dyn_list *dl, struct dyn_ent *e)
{
	dl->tab[tab_find(dl, &e->le, e->hash)] = e;
	dl->n++;
	count_len(dl, e, 1);
	anc_count(dl, e, 1);
}

/* dyn_tab_remove - take e out of its list's table (backward shift) */
void
dyn_tab_remove(struct dyn_list *dl, struct dyn_ent *e)
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

int
dyn_heap_reserve(struct dyn *d)
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

/* dyn_heap_remove - take e out of the heap, if it is in */
void
dyn_heap_remove(struct dyn *d, struct dyn_ent *e)
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

/* dyn_heap_put - e's expiry is new or changed (room reserved) */
void
dyn_heap_put(struct dyn *d, struct dyn_ent *e)
{
	if (e->info.expires == 0) {
		dyn_heap_remove(d, e);
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

void
dyn_ent_free(struct dyn_ent *e)
{
	if (e == NULL)
		return;
	free(e->reason);
	free(e);
}

/* dyn_ent_new - an entry of key k, in no index; NULL: out of memory */
struct dyn_ent *
dyn_ent_new(struct dyn_list *dl, const struct dyn_key *k)
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

/* dyn_ent_set - value, reason (owned, may be NULL) and times */
void
dyn_ent_set(struct dyn_ent *e, uint32_t value, char *reason, time_t added,
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

void
dyn_list_free(struct dyn_list *dl)
{
	size_t i;

	for (i = 0; dl->tab != NULL && i <= dl->mask; i++)
		dyn_ent_free(dl->tab[i]);
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
	for (i = 0; i <= dl->mask; i++) {
		/* the entries lie apart: ask for one a few slots ahead */
		if (i + 8 <= dl->mask && dl->tab[i + 8] != NULL)
			__builtin_prefetch(dl->tab[i + 8]);
		if (dl->tab[i] != NULL && live(dl->tab[i], now) &&
		    (rc = fn(arg, &dl->tab[i]->le)) != 0)
			return rc;
	}
	return 0;
}

