/*
 * escal.c -- escalation counts per network (pure; see escal.h).
 *
 * Addresses are held as 128-bit keys: IPv6 as they are, IPv4 in the top
 * 32 bits, so that one mask serves both families. File entries are kept
 * sorted: IPv4 packed as (address << 32 | length) in one word, which
 * sorts them by network too; IPv6 as (key, length). The counts of the
 * networks follow in the same order. The live entries (dynamic ones
 * and sightings) sit in an open-addressing hash with linear probing and
 * backward-shift deletion, and each network they add to in a second
 * table: `extra` counts the live entries present that the files do not
 * hold, so a network's count is its file count plus its extra.
 */
#include <sys/socket.h>

#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "escal.h"

struct k128 {
	uint64_t	 hi, lo;
};

/* An IPv6 file entry, a network count or an exclusion. */
struct e128 {
	uint64_t	 hi, lo;
	uint32_t	 v;		/* length, or count */
	uint32_t	 fam;		/* exclusions: AF_INET or AF_INET6 */
};

/* One slot of a live table. */
struct slot {
	uint64_t	 hi, lo;
	uint64_t	 dyn;		/* entries: bit per source present */
	int64_t		 seen;		/* entries: last sighting, 0 none */
	uint32_t	 n;		/* networks: extra count */
	uint8_t		 fam;		/* 4 or 6; 0 = empty slot */
	uint8_t		 plen;
	uint8_t		 in_file;	/* entries: the files hold it */
	uint8_t		 pad;
};

struct table {
	struct slot	*s;
	size_t		 mask;		/* slots - 1; 0 with no slots */
	size_t		 used;
};

/* A sighting in time order, for expiry. */
struct sight {
	uint64_t	 hi, lo;
	int64_t		 at;
	uint8_t		 fam;
};

struct escal_rule {
	struct escal_params p;
	uint64_t	*f4;		/* file entries, IPv4: while
					   building all, then the blocks
					   (shorter than /32) */
	size_t		 nf4, cf4;
	uint32_t	*h4;		/* IPv4 /32 entries (most of
					   them: half the room) */
	size_t		 nh4;
	struct e128	*f6;		/* file entries, IPv6 */
	size_t		 nf6, cf6;
	uint64_t	*p4;		/* network << 32 | count */
	size_t		 np4;
	struct e128	*p6;		/* network, count */
	size_t		 np6;
	struct e128	*x;		/* exclusions by (fam, length, key) */
	size_t		 nx, cx;
	uint64_t	 xlens[2][3];	/* lengths that exclusions have */
	struct table	 ent;		/* live entries */
	struct table	 net;		/* their networks' extra counts */
	struct sight	*q;		/* ring of sightings */
	size_t		 qcap, qhead, qlen;
	uint64_t	 sight_flips;	/* escal_sight_flips() */
};

static int
fam_ix(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 6 : 0;
}

/* k_of - the 128-bit key of an address */
static struct k128
k_of(int fam, const uint8_t *b)
{
	struct k128 k = { 0, 0 };
	unsigned i;

	if (fam == 4) {
		for (i = 0; i < 4; i++)
			k.hi = k.hi << 8 | b[i];
		k.hi <<= 32;
		return k;
	}
	for (i = 0; i < 8; i++) {
		k.hi = k.hi << 8 | b[i];
		k.lo = k.lo << 8 | b[8 + i];
	}
	return k;
}

/* k_mask - the first plen bits of k */
static struct k128
k_mask(struct k128 k, unsigned plen)
{
	if (plen == 0)
		k.hi = k.lo = 0;
	else if (plen <= 64) {
		k.hi &= ~UINT64_C(0) << (64 - plen);
		k.lo = 0;
	} else if (plen < 128)
		k.lo &= ~UINT64_C(0) << (128 - plen);
	return k;
}

static unsigned
rule_len(const struct escal_rule *r, int fam)
{
	return fam == 4 ? r->p.prefix : r->p.prefix6;
}

/* ------------------------------------------------------------------ */
/* live tables */

static uint64_t
k_hash(struct k128 k, unsigned fam, unsigned plen)
{
	uint64_t h = (k.hi ^ (uint64_t)fam << 8 ^ plen) * 0x9e3779b97f4a7c15ULL;

	h = (h ^ h >> 29 ^ k.lo) * 0xbf58476d1ce4e5b9ULL;
	return h ^ h >> 32;
}

/* t_find - the slot of the key, or NULL */
static struct slot *
t_find(const struct table *t, struct k128 k, unsigned fam, unsigned plen)
{
	size_t i;

	if (t->s == NULL)
		return NULL;
	for (i = k_hash(k, fam, plen) & t->mask; t->s[i].fam != 0;
	    i = (i + 1) & t->mask)
		if (t->s[i].hi == k.hi && t->s[i].lo == k.lo &&
		    t->s[i].fam == fam && t->s[i].plen == plen)
			return &t->s[i];
	return NULL;
}

/* t_put - place a slot known to be absent (room is there) */
static struct slot *
t_place(struct table *t, const struct slot *sl)
{
	size_t i = k_hash((struct k128){ sl->hi, sl->lo }, sl->fam, sl->plen) &
	    t->mask;

	while (t->s[i].fam != 0)
		i = (i + 1) & t->mask;
	t->s[i] = *sl;
	t->used++;
	return &t->s[i];
}

/* t_grow - room for one more (load at most a half) */
static int
t_grow(struct table *t)
{
	struct table n;
	size_t i, slots;

	if (t->s != NULL && (t->used + 1) * 2 <= t->mask + 1)
		return 0;
	slots = t->s == NULL ? 16 : (t->mask + 1) * 2;
	if ((n.s = calloc(slots, sizeof(*n.s))) == NULL)
		return RBLMUX_ENOMEM;
	n.mask = slots - 1;
	n.used = 0;
	for (i = 0; t->s != NULL && i <= t->mask; i++)
		if (t->s[i].fam != 0)
			t_place(&n, &t->s[i]);
	free(t->s);
	*t = n;
	return 0;
}

/* t_get - the slot of the key, added (zeroed) when absent; NULL: no memory */
static struct slot *
t_get(struct table *t, struct k128 k, unsigned fam, unsigned plen)
{
	struct slot *sl = t_find(t, k, fam, plen), n;

	if (sl != NULL)
		return sl;
	if (t_grow(t) != 0)
		return NULL;
	memset(&n, 0, sizeof(n));
	n.hi = k.hi;
	n.lo = k.lo;
	n.fam = (uint8_t)fam;
	n.plen = (uint8_t)plen;
	return t_place(t, &n);
}

/* t_del - remove a slot, shifting back the ones its probe run holds */
static void
t_del(struct table *t, struct slot *sl)
{
	size_t i = (size_t)(sl - t->s), j = i, h;

	for (;;) {
		j = (j + 1) & t->mask;
		if (t->s[j].fam == 0)
			break;
		h = k_hash((struct k128){ t->s[j].hi, t->s[j].lo },
		    t->s[j].fam, t->s[j].plen) & t->mask;
		/* may slot j move to i: is i within j's probe run? */
		if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
			t->s[i] = t->s[j];
			i = j;
		}
	}
	memset(&t->s[i], 0, sizeof(t->s[i]));
	t->used--;
}

static void
t_free(struct table *t)
{
	free(t->s);
	memset(t, 0, sizeof(*t));
}

/* ------------------------------------------------------------------ */
/* file part */

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_e128(const struct e128 *a, const struct e128 *b)
{
	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return 0;
}

/* by key alone (networks) */
static int
cmp_net(const void *a, const void *b)
{
	return cmp_e128(a, b);
}

/* by key, then length */
static int
cmp_ent6(const void *a, const void *b)
{
	const struct e128 *x = a, *y = b;
	int c = cmp_e128(x, y);

	return c != 0 ? c : x->v < y->v ? -1 : x->v > y->v;
}

/* by family, length, key */
static int
cmp_excl(const void *a, const void *b)
{
	const struct e128 *x = a, *y = b;

	if (x->fam != y->fam)
		return x->fam < y->fam ? -1 : 1;
	if (x->v != y->v)
		return x->v < y->v ? -1 : 1;
	return cmp_e128(x, y);
}

/* grow - room for one more element of size sz in *arr */
static int
grow(void **arr, size_t n, size_t *cap, size_t sz)
{
	size_t nc;
	void *p;

	if (n < *cap)
		return 0;
	nc = *cap != 0 ? *cap * 2 : 256;
	if ((p = realloc(*arr, nc * sz)) == NULL)
		return RBLMUX_ENOMEM;
	*arr = p;
	*cap = nc;
	return 0;
}

struct escal_rule *
escal_rule_new(const struct escal_params *p)
{
	struct escal_rule *r = calloc(1, sizeof(*r));

	if (r != NULL)
		r->p = *p;
	return r;
}

void
escal_rule_free(struct escal_rule *r)
{
	if (r == NULL)
		return;
	free(r->f4);
	free(r->h4);
	free(r->f6);
	free(r->p4);
	free(r->p6);
	free(r->x);
	t_free(&r->ent);
	t_free(&r->net);
	free(r->q);
	free(r);
}

const struct escal_params *
escal_params(const struct escal_rule *r)
{
	return &r->p;
}

/* add128 - append (k, plen) to an e128 array */
static int
add128(struct e128 **arr, size_t *n, size_t *cap, struct k128 k,
    unsigned plen, int fam)
{
	struct e128 *e;

	if (grow((void **)arr, *n, cap, sizeof(**arr)) != 0)
		return RBLMUX_ENOMEM;
	e = &(*arr)[(*n)++];
	e->hi = k.hi;
	e->lo = k.lo;
	e->v = plen;
	e->fam = (uint32_t)fam;
	return 0;
}

/* escal_file_add - one entry of a source file */
int
escal_file_add(struct escal_rule *r, int family, const uint8_t *key,
    unsigned plen, bool excluded)
{
	int fam = fam_ix(family);
	struct k128 k;

	if (fam == 0 || plen > (fam == 4 ? 32u : 128u))
		return 0;
	k = k_mask(k_of(fam, key), plen);
	if (excluded) {
		r->xlens[fam == 6][plen >> 6] |= UINT64_C(1) << (plen & 63);
		return add128(&r->x, &r->nx, &r->cx, k, plen, fam);
	}
	if (plen <= rule_len(r, fam))
		return 0;		/* lists the whole network already */
	if (fam == 6)
		return add128(&r->f6, &r->nf6, &r->cf6, k, plen, fam);
	if (grow((void **)&r->f4, r->nf4, &r->cf4, sizeof(*r->f4)) != 0)
		return RBLMUX_ENOMEM;
	r->f4[r->nf4++] = k.hi | plen;
	return 0;
}

/* sort - qsort(), which must not see NULL */
static void
sort(void *arr, size_t n, size_t sz, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(arr, n, sz, cmp);
}

/*
 * sort64 - sort words in place, most significant byte first (American
 * flag sort): qsort() would take a copy of them, as much memory again
 */
static void
sort64(uint64_t *a, size_t n, unsigned shift)
{
	size_t cnt[256], next[256], end[256], i, j, s = 0;
	uint64_t v, t;
	unsigned b, d;

	if (n < 32) {
		for (i = 1; i < n; i++) {
			for (v = a[i], j = i; j > 0 && a[j - 1] > v; j--)
				a[j] = a[j - 1];
			a[j] = v;
		}
		return;
	}
	memset(cnt, 0, sizeof(cnt));
	for (i = 0; i < n; i++)
		cnt[a[i] >> shift & 255]++;
	for (b = 0; b < 256; b++) {
		next[b] = s;
		end[b] = s += cnt[b];
	}
	for (b = 0; b < 256; b++)
		while (next[b] < end[b]) {
			v = a[next[b]];
			/* carry v to its bucket, taking what was there */
			while ((d = (unsigned)(v >> shift & 255)) != b) {
				t = a[next[d]];
				a[next[d]++] = v;
				v = t;
			}
			a[next[b]++] = v;
		}
	for (b = 0, s = 0; shift > 0 && b < 256; s += cnt[b++])
		if (cnt[b] > 1)
			sort64(a + s, cnt[b], shift - 8);
}

/* shrink - give back the room a built array does not use */
static void
shrink(void **arr, size_t n, size_t sz)
{
	void *p;

	if (n == 0) {
		free(*arr);
		*arr = NULL;
	} else if ((p = realloc(*arr, n * sz)) != NULL)
		*arr = p;
}

/*
 * split4 - move the /32 entries of the sorted f4 into h4, in place (a
 * 4-byte word is written no further than the 8-byte words already read),
 * and the blocks into a new f4
 */
static int
split4(struct escal_rule *r)
{
	size_t i, nb = 0, a = 0, b = 0;
	uint64_t *blocks = NULL, w;
	uint32_t h;

	for (i = 0; i < r->nf4; i++)
		if ((r->f4[i] & 0xff) != 32)
			nb++;
	if (nb > 0 && (blocks = malloc(nb * sizeof(*blocks))) == NULL)
		return RBLMUX_ENOMEM;
	for (i = 0; i < r->nf4; i++) {
		memcpy(&w, (char *)r->f4 + i * sizeof(w), sizeof(w));
		if ((w & 0xff) != 32) {
			blocks[b++] = w;
			continue;
		}
		h = (uint32_t)(w >> 32);
		memcpy((char *)r->f4 + a++ * sizeof(h), &h, sizeof(h));
	}
	r->h4 = (uint32_t *)(void *)r->f4;
	r->nh4 = a;
	shrink((void **)&r->h4, a, sizeof(*r->h4));
	r->f4 = blocks;
	r->nf4 = b;
	return 0;
}

/* count4 - dedupe the IPv4 entries and count them per network */
static int
count4(struct escal_rule *r)
{
	uint64_t m = ~UINT64_C(0) << (64 - r->p.prefix), net;
	size_t i, n = 0, np = 0;

	sort64(r->f4, r->nf4, 56);
	for (i = 0; i < r->nf4; i++)
		if (n == 0 || r->f4[i] != r->f4[n - 1])
			r->f4[n++] = r->f4[i];
	r->nf4 = n;
	shrink((void **)&r->f4, n, sizeof(*r->f4));
	for (i = 0; i < n; i++)
		if (i == 0 || ((r->f4[i] ^ r->f4[i - 1]) & m) != 0)
			np++;
	if (np > 0 && (r->p4 = malloc(np * sizeof(*r->p4))) == NULL)
		return RBLMUX_ENOMEM;
	for (i = 0, np = 0; i < n; i++) {
		net = r->f4[i] & m;
		if (np > 0 && (r->p4[np - 1] & ~UINT64_C(0xffffffff)) == net)
			r->p4[np - 1]++;
		else
			r->p4[np++] = net | 1;
	}
	r->np4 = np;
	return split4(r);
}

/* count6 - the same for IPv6 */
static int
count6(struct escal_rule *r)
{
	struct k128 a, b;
	size_t i, n = 0, np = 0;

	sort(r->f6, r->nf6, sizeof(*r->f6), cmp_ent6);
	for (i = 0; i < r->nf6; i++)
		if (n == 0 || cmp_ent6(&r->f6[i], &r->f6[n - 1]) != 0)
			r->f6[n++] = r->f6[i];
	r->nf6 = n;
	shrink((void **)&r->f6, n, sizeof(*r->f6));
	if (n > 0 && (r->p6 = malloc(n * sizeof(*r->p6))) == NULL)
		return RBLMUX_ENOMEM;
	for (i = 0; i < n; i++) {
		a = k_mask((struct k128){ r->f6[i].hi, r->f6[i].lo },
		    r->p.prefix6);
		if (np > 0) {
			b.hi = r->p6[np - 1].hi;
			b.lo = r->p6[np - 1].lo;
			if (a.hi == b.hi && a.lo == b.lo) {
				r->p6[np - 1].v++;
				continue;
			}
		}
		r->p6[np].hi = a.hi;
		r->p6[np].lo = a.lo;
		r->p6[np].v = 1;
		r->p6[np].fam = 6;
		np++;
	}
	r->np6 = np;
	shrink((void **)&r->p6, np, sizeof(*r->p6));
	return 0;
}

/* escal_file_done - sort, dedupe and count the file entries */
int
escal_file_done(struct escal_rule *r)
{
	int rc;

	sort(r->x, r->nx, sizeof(*r->x), cmp_excl);
	shrink((void **)&r->x, r->nx, sizeof(*r->x));
	r->cx = r->nx;
	if ((rc = count4(r)) == 0)
		rc = count6(r);
	r->cf4 = r->nf4;
	r->cf6 = r->nf6;
	if (rc != 0) {
		free(r->f4);
		free(r->h4);
		r->h4 = NULL;
		r->nh4 = 0;
		free(r->f6);
		free(r->p4);
		free(r->p6);
		r->f4 = r->p4 = NULL;
		r->f6 = r->p6 = NULL;
		r->nf4 = r->nf6 = r->np4 = r->np6 = r->cf4 = r->cf6 = 0;
	}
	return rc;
}

size_t
escal_file_entries(const struct escal_rule *r)
{
	return r->nh4 + r->nf4 + r->nf6;
}

size_t
escal_live_entries(const struct escal_rule *r)
{
	return r->ent.used;
}

size_t
escal_networks(const struct escal_rule *r)
{
	return r->np4 + r->np6;
}

size_t
escal_memory(const struct escal_rule *r)
{
	size_t slots = (r->ent.s != NULL ? r->ent.mask + 1 : 0) +
	    (r->net.s != NULL ? r->net.mask + 1 : 0);

	return sizeof(*r) + r->nh4 * sizeof(*r->h4) + r->nf4 *
	    sizeof(*r->f4) + r->nf6 *
	    sizeof(*r->f6) + r->np4 * sizeof(*r->p4) + r->np6 *
	    sizeof(*r->p6) + r->nx * sizeof(*r->x) + slots *
	    sizeof(struct slot) + r->qcap * sizeof(*r->q);
}

/* in_file - do the files hold this entry? */
static bool
in_file(const struct escal_rule *r, struct k128 k, unsigned fam,
    unsigned plen)
{
	struct e128 key;
	uint64_t w;
	uint32_t h;

	if (fam == 4 && plen == 32) {
		h = (uint32_t)(k.hi >> 32);
		return r->nh4 > 0 && bsearch(&h, r->h4, r->nh4, sizeof(h),
		    cmp_u32) != NULL;
	}
	if (fam == 4) {
		w = k.hi | plen;
		return r->nf4 > 0 && bsearch(&w, r->f4, r->nf4, sizeof(w),
		    cmp_u64) != NULL;
	}
	key.hi = k.hi;
	key.lo = k.lo;
	key.v = plen;
	return r->nf6 > 0 && bsearch(&key, r->f6, r->nf6, sizeof(key),
	    cmp_ent6) != NULL;
}

/* file_count - the file count of a network */
static uint32_t
file_count(const struct escal_rule *r, struct k128 net, unsigned fam)
{
	size_t lo = 0, hi;
	struct e128 key, *e;

	if (fam == 4) {
		hi = r->np4;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			uint64_t n = r->p4[mid] & ~UINT64_C(0xffffffff);

			if (n == net.hi)
				return (uint32_t)r->p4[mid];
			if (n < net.hi)
				lo = mid + 1;
			else
				hi = mid;
		}
		return 0;
	}
	key.hi = net.hi;
	key.lo = net.lo;
	e = r->np6 > 0 ? bsearch(&key, r->p6, r->np6, sizeof(key),
	    cmp_net) : NULL;
	return e != NULL ? e->v : 0;
}

/* excluded - does an exclusion of the files cover the address? */
static bool
excluded(const struct escal_rule *r, struct k128 k, unsigned fam)
{
	struct e128 key;
	unsigned plen, max = fam == 4 ? 32 : 128;

	key.fam = fam;
	for (plen = 0; plen <= max && r->nx > 0; plen++) {
		if (!(r->xlens[fam == 6][plen >> 6] >> (plen & 63) & 1))
			continue;
		struct k128 m = k_mask(k, plen);

		key.hi = m.hi;
		key.lo = m.lo;
		key.v = plen;
		if (bsearch(&key, r->x, r->nx, sizeof(key), cmp_excl) != NULL)
			return true;
	}
	return false;
}

/* ------------------------------------------------------------------ */
/* live part */

static bool
present(const struct slot *e)
{
	return e->dyn != 0 || e->seen != 0;
}

/*
 * net_add - the network of a live entry gains (d = 1) or loses (-1) one.
 * Returns 0 or RBLMUX_ENOMEM (nothing changed).
 */
static int
net_add(struct escal_rule *r, const struct slot *e, int d)
{
	struct k128 n = k_mask((struct k128){ e->hi, e->lo },
	    rule_len(r, e->fam));
	struct slot *s = d > 0 ? t_get(&r->net, n, e->fam, 0) :
	    t_find(&r->net, n, e->fam, 0);

	if (s == NULL)
		return d > 0 ? RBLMUX_ENOMEM : 0;
	if (d > 0)
		s->n++;
	else if (--s->n == 0)
		t_del(&r->net, s);
	return 0;
}

/*
 * update - entry e changed from counting (was) to what it says now;
 * drop it once nothing holds it. Returns 0 or RBLMUX_ENOMEM.
 */
static int
update(struct escal_rule *r, struct slot *e, bool was)
{
	bool now = present(e) && !e->in_file;
	int rc = 0;

	if (now != was)
		rc = net_add(r, e, now ? 1 : -1);
	if (!present(e) || rc != 0)
		t_del(&r->ent, e);
	return rc;
}

/* live_entry - the live slot of an entry, made when absent */
static struct slot *
live_entry(struct escal_rule *r, unsigned fam, const uint8_t *key,
    unsigned plen, bool *was)
{
	struct k128 k = k_mask(k_of((int)fam, key), plen);
	struct slot *e = t_get(&r->ent, k, fam, plen);

	if (e == NULL)
		return NULL;
	if (!present(e))
		e->in_file = in_file(r, k, fam, plen);
	*was = present(e) && !e->in_file;
	return e;
}

int
escal_dyn_change(struct escal_rule *r, unsigned src, int family,
    const uint8_t *key, unsigned plen, bool present_now)
{
	unsigned fam = (unsigned)fam_ix(family);
	struct slot *e;
	bool was;

	if (src >= ESCAL_MAX_SRC)
		return RBLMUX_EINVAL;
	if (fam == 0 || plen > (fam == 4 ? 32u : 128u) ||
	    plen <= rule_len(r, (int)fam))
		return 0;
	if (!present_now) {
		struct k128 k = k_mask(k_of((int)fam, key), plen);

		if ((e = t_find(&r->ent, k, fam, plen)) == NULL)
			return 0;
		was = !e->in_file;
		e->dyn &= ~(UINT64_C(1) << src);
		return update(r, e, was);
	}
	if ((e = live_entry(r, fam, key, plen, &was)) == NULL)
		return RBLMUX_ENOMEM;
	e->dyn |= UINT64_C(1) << src;
	return update(r, e, was);
}

/*
 * gran - sightings closer than this to the last one counted are not
 * queued again: a sighting counts for the window from the first of
 * them, so it may end up to a 64th of the window early
 */
static int64_t
gran(const struct escal_rule *r)
{
	return r->p.window >= 64 ? r->p.window / 64 : 1;
}

static void	hit_of(const struct escal_rule *, struct k128, unsigned,
		    uint32_t, struct escal_hit *);

/* net_up - is the network of key (an entry's) escalated? */
static bool
net_up(const struct escal_rule *r, unsigned fam, struct k128 key)
{
	struct k128 n = k_mask(key, rule_len(r, (int)fam));
	const struct slot *s = t_find(&r->net, n, fam, 0);
	uint32_t count = file_count(r, n, fam) + (s != NULL ? s->n : 0);
	struct escal_hit h;

	hit_of(r, n, fam, count, &h);
	return h.escalated;
}

/* q_push - a sighting at the end of the ring (grown when full) */
static int
q_push(struct escal_rule *r, const struct slot *e, int64_t at)
{
	struct sight *s;
	size_t i, nc;

	if (r->qlen == r->qcap) {
		nc = r->qcap != 0 ? r->qcap * 2 : 64;
		if ((s = malloc(nc * sizeof(*s))) == NULL)
			return RBLMUX_ENOMEM;
		for (i = 0; i < r->qlen; i++)
			s[i] = r->q[(r->qhead + i) % r->qcap];
		free(r->q);
		r->q = s;
		r->qcap = nc;
		r->qhead = 0;
	}
	s = &r->q[(r->qhead + r->qlen++) % r->qcap];
	s->hi = e->hi;
	s->lo = e->lo;
	s->fam = e->fam;
	s->at = at;
	return 0;
}

int
escal_seen(struct escal_rule *r, int family, const uint8_t *key,
    time_t now)
{
	unsigned fam = (unsigned)fam_ix(family), plen = fam == 4 ? 32 : 128;
	struct slot *e;
	struct k128 k;
	bool was, up;
	int rc;

	if (fam == 0 || plen <= rule_len(r, (int)fam) || r->p.window == 0)
		return 0;
	escal_expire(r, now);
	if ((e = live_entry(r, fam, key, plen, &was)) == NULL)
		return RBLMUX_ENOMEM;
	/* one sighting a 64th of the window: the ring stays small */
	if (e->seen != 0 && (int64_t)now < e->seen + gran(r))
		return 0;
	if ((rc = q_push(r, e, (int64_t)now)) != 0) {
		if (!present(e))
			t_del(&r->ent, e);
		return rc;
	}
	e->seen = (int64_t)now;
	k = (struct k128){ e->hi, e->lo };
	up = net_up(r, fam, k);
	rc = update(r, e, was);
	if (net_up(r, fam, k) != up)
		r->sight_flips++;	/* a sighting escalated it */
	return rc;
}

void
escal_expire(struct escal_rule *r, time_t now)
{
	while (r->qlen > 0) {
		struct sight *s = &r->q[r->qhead];
		struct slot *e;
		bool was, up;

		if (s->at + (int64_t)r->p.window > (int64_t)now)
			break;
		r->qhead = (r->qhead + 1) % r->qcap;
		r->qlen--;
		e = t_find(&r->ent, (struct k128){ s->hi, s->lo }, s->fam,
		    s->fam == 4 ? 32 : 128);
		/* a later sighting of it is further on in the ring */
		if (e == NULL || e->seen != s->at)
			continue;
		was = !e->in_file;
		e->seen = 0;
		up = net_up(r, s->fam, (struct k128){ s->hi, s->lo });
		update(r, e, was);
		if (net_up(r, s->fam, (struct k128){ s->hi, s->lo }) != up)
			r->sight_flips++;	/* its escalation ended */
	}
}

uint64_t
escal_sight_flips(const struct escal_rule *r)
{
	return r->sight_flips;
}

int
escal_carry(struct escal_rule *to, struct escal_rule *from)
{
	struct table old = from->ent;
	size_t i;
	int rc = 0;

	t_free(&to->ent);
	t_free(&to->net);
	free(to->q);
	to->q = from->q;
	to->qcap = from->qcap;
	to->qhead = from->qhead;
	to->qlen = from->qlen;
	from->q = NULL;
	from->qcap = from->qhead = from->qlen = 0;
	memset(&from->ent, 0, sizeof(from->ent));
	t_free(&from->net);
	to->ent = old;
	for (i = 0; old.s != NULL && i <= old.mask; i++) {
		struct slot *e = &to->ent.s[i];

		if (e->fam == 0)
			continue;
		e->in_file = in_file(to, (struct k128){ e->hi, e->lo },
		    e->fam, e->plen);
		if (!e->in_file && rc == 0)
			rc = net_add(to, e, 1);
	}
	if (rc != 0) {
		/* no room to count them: forget the live entries */
		t_free(&to->ent);
		t_free(&to->net);
		to->qlen = 0;
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* lookups */

/* hit_of - fill h for network n of family fam with count */
static void
hit_of(const struct escal_rule *r, struct k128 n, unsigned fam,
    uint32_t count, struct escal_hit *h)
{
	unsigned i;

	memset(h, 0, sizeof(*h));
	h->family = fam == 4 ? AF_INET : AF_INET6;
	h->plen = rule_len(r, (int)fam);
	for (i = 0; i < 8; i++) {
		h->prefix[i] = (uint8_t)(n.hi >> (56 - 8 * i));
		h->prefix[8 + i] = (uint8_t)(n.lo >> (56 - 8 * i));
	}
	h->count = count;
	h->escalated = count >= r->p.threshold;
}

bool
escal_lookup(struct escal_rule *r, int family, const uint8_t *addr,
    time_t now, struct escal_hit *h)
{
	unsigned fam = (unsigned)fam_ix(family);
	struct k128 k, n;
	const struct slot *s;
	uint32_t count;

	memset(h, 0, sizeof(*h));
	if (fam == 0)
		return false;
	escal_expire(r, now);
	k = k_of((int)fam, addr);
	n = k_mask(k, rule_len(r, (int)fam));
	count = file_count(r, n, fam);
	if ((s = t_find(&r->net, n, fam, 0)) != NULL)
		count += s->n;
	hit_of(r, n, fam, count, h);
	h->excluded = excluded(r, k, fam);
	return h->escalated && !h->excluded;
}

size_t
escal_prefix_text(const struct escal_hit *h, char *buf, size_t cap)
{
	char a[INET6_ADDRSTRLEN];
	int n;

	if (cap == 0)
		return 0;
	if (inet_ntop(h->family, h->prefix, a, sizeof(a)) == NULL)
		a[0] = '\0';
	n = snprintf(buf, cap, "%s/%u", a, h->plen);
	return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

/* put - append len bytes to buf (cap), cut at cap */
static void
put(char *buf, size_t cap, size_t *o, const char *s, size_t len)
{
	if (len > cap - *o)
		len = cap - *o;
	memcpy(buf + *o, s, len);
	*o += len;
}

size_t
escal_txt(const char *tmpl, const struct escal_hit *h, char *buf, size_t cap)
{
	char num[16], pfx[64];
	size_t o = 0;
	const char *p;

	for (p = tmpl; *p != '\0' && o < cap; p++) {
		if (*p != '$') {
			buf[o++] = *p;
			continue;
		}
		if (p[1] == '$') {
			put(buf, cap, &o, "$", 1);
			p++;
		} else if (strncmp(p + 1, "count", 5) == 0) {
			put(buf, cap, &o, num, (size_t)snprintf(num,
			    sizeof(num), "%u", h->count));
			p += 5;
		} else if (strncmp(p + 1, "prefix", 6) == 0) {
			put(buf, cap, &o, pfx, escal_prefix_text(h, pfx,
			    sizeof(pfx)));
			p += 6;
		} else
			buf[o++] = '$';
	}
	return o;
}

int
escal_walk(struct escal_rule *r, time_t now, escal_walk_fn *fn, void *arg)
{
	struct escal_hit h;
	const struct slot *s;
	struct k128 n;
	size_t i;
	uint32_t c;
	int rc;

	escal_expire(r, now);
	for (i = 0; i < r->np4 + r->np6; i++) {
		unsigned fam = i < r->np4 ? 4 : 6;

		if (fam == 4) {
			n.hi = r->p4[i] & ~UINT64_C(0xffffffff);
			n.lo = 0;
			c = (uint32_t)r->p4[i];
		} else {
			n.hi = r->p6[i - r->np4].hi;
			n.lo = r->p6[i - r->np4].lo;
			c = r->p6[i - r->np4].v;
		}
		if ((s = t_find(&r->net, n, fam, 0)) != NULL)
			c += s->n;
		hit_of(r, n, fam, c, &h);
		if (h.escalated && (rc = fn(arg, &h)) != 0)
			return rc;
	}
	for (i = 0; r->net.s != NULL && i <= r->net.mask; i++) {
		s = &r->net.s[i];
		n.hi = s->hi;
		n.lo = s->lo;
		if (s->fam == 0 || file_count(r, n, s->fam) != 0)
			continue;	/* visited above */
		hit_of(r, n, s->fam, s->n, &h);
		if (h.escalated && (rc = fn(arg, &h)) != 0)
			return rc;
	}
	return 0;
}
