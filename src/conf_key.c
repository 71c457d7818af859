/*
 * conf_key.c -- the key index of the config reader.
 *
 * Every check that asks "is this name (or code, bit, prefix) already
 * there?" looks it up here instead of scanning an array, so reading and
 * checking a config costs time in proportion to its size, however many
 * clauses, names and references it has. Keys live in one array in the
 * order they were added; a table of slots, open addressing with linear
 * probing and at most half full, points into it. The hash is seeded
 * anew for every conf_load(), so no config can choose names that all
 * land in one slot.
 */
#include <sys/random.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf_int.h"

/* One key and its value. */
struct conf_kent {
	struct conf_key	 k;
	uint64_t	 h;		/* hash of k */
	size_t		 val;
};

/* key_hash - seeded FNV-1a hash of a key */
static uint64_t
key_hash(uint64_t seed, const struct conf_key *k)
{
	const unsigned char *s;
	uint64_t h = seed ^ ((uint64_t)k->kind << 56) ^ (uint64_t)k->obj;
	size_t i, len;

	if (k->name != NULL) {
		s = (const unsigned char *)k->name;
		len = strlen(k->name);
	} else {
		s = k->bin;
		len = sizeof(k->bin);
	}
	for (i = 0; i < len; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/*
 * key_home - the first slot to probe for hash h: the top bits of h times
 * 2^64 / phi, where every bit of h has had its say (the low bits of an
 * FNV hash are weak on their own)
 */
static size_t
key_home(const struct conf_keys *ks, uint64_t h)
{
	return (size_t)((h * 0x9e3779b97f4a7c15ULL) >> ks->shift);
}

/* key_equal - the same key? */
static int
key_equal(const struct conf_key *a, const struct conf_key *b)
{
	if (a->kind != b->kind || a->obj != b->obj)
		return 0;
	if (a->name != NULL || b->name != NULL)
		return a->name != NULL && b->name != NULL &&
		    strcmp(a->name, b->name) == 0;
	return memcmp(a->bin, b->bin, sizeof(a->bin)) == 0;
}

/* key_seed - a seed for this load's hash */
static uint64_t
key_seed(const struct conf_keys *ks)
{
	uint64_t seed;
	struct timespec ts;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) ==
	    (ssize_t)sizeof(seed))
		return seed;
	/* no entropy yet (early boot): less secret, still varies */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^
	    (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)ks;
}

/* key_rehash - a slot table of 2^bits slots; 0 or -1 */
static int
key_rehash(struct conf_keys *ks, unsigned bits)
{
	size_t cap = (size_t)1 << bits, *slot, i, j;

	if (bits >= sizeof(size_t) * 8 - 4 ||
	    (slot = calloc(cap, sizeof(*slot))) == NULL)
		return -1;
	free(ks->slot);
	ks->slot = slot;
	ks->cap = cap;
	ks->shift = 64 - bits;
	for (i = 0; i < ks->n; i++) {
		for (j = key_home(ks, ks->ent[i].h); slot[j] != 0;
		    j = (j + 1) & (cap - 1))
			;
		slot[j] = i + 1;
	}
	return 0;
}

/* key_probe - the slot of key k (hash h), or the empty one it would take */
static size_t
key_probe(const struct conf_keys *ks, const struct conf_key *k, uint64_t h)
{
	const struct conf_kent *e;
	size_t j;

	for (j = key_home(ks, h); ks->slot[j] != 0;
	    j = (j + 1) & (ks->cap - 1)) {
		e = &ks->ent[ks->slot[j] - 1];
		if (e->h == h && key_equal(&e->k, k))
			break;
	}
	return j;
}

/* conf_key - the value kept under key k, or NULL (see conf_int.h) */
size_t *
conf_key(struct parser *p, const struct conf_key *k, bool add)
{
	struct conf_keys *ks = &p->keys;
	struct conf_kent *e;
	uint64_t h;
	size_t j;

	if (ks->cap == 0) {
		if (!add)
			return NULL;
		ks->seed = key_seed(ks);
		if (key_rehash(ks, 6) != 0)
			goto oom;
	}
	h = key_hash(ks->seed, k);
	j = key_probe(ks, k, h);
	if (ks->slot[j] != 0)
		return &ks->ent[ks->slot[j] - 1].val;
	if (!add)
		return NULL;
	if (ks->n == ks->nalloc) {
		size_t na = ks->nalloc ? ks->nalloc * 2 : 64;

		if (na > SIZE_MAX / 2 / sizeof(*e) ||
		    (e = realloc(ks->ent, na * sizeof(*e))) == NULL)
			goto oom;
		ks->ent = e;
		ks->nalloc = na;
	}
	/* at most half full, so that probes stay short */
	if ((ks->n + 1) * 2 > ks->cap) {
		if (key_rehash(ks, 65 - ks->shift) != 0)
			goto oom;
		j = key_probe(ks, k, h);
	}
	e = &ks->ent[ks->n++];
	e->k = *k;
	e->h = h;
	e->val = CONF_NONE;
	ks->slot[j] = ks->n;
	return &e->val;
oom:
	p->oom = true;
	return NULL;
}

/* conf_key_get - the value of key k, or CONF_NONE when it is not there */
size_t
conf_key_get(struct parser *p, const struct conf_key *k)
{
	const size_t *v = conf_key(p, k, false);

	return v != NULL ? *v : CONF_NONE;
}

/* conf_key_set - key k has value val (p->oom set when out of memory) */
void
conf_key_set(struct parser *p, const struct conf_key *k, size_t val)
{
	size_t *v = conf_key(p, k, true);

	if (v != NULL)
		*v = val;
}

/* conf_key_name - a key for name in scope (kind, obj) */
struct conf_key
conf_key_name(enum key_kind kind, size_t obj, const char *name)
{
	struct conf_key k;

	memset(&k, 0, sizeof(k));
	k.kind = kind;
	k.obj = obj;
	k.name = name;
	return k;
}

/* conf_key_bin - a key for len bytes at bin in scope (kind, obj) */
struct conf_key
conf_key_bin(enum key_kind kind, size_t obj, const void *bin, size_t len)
{
	struct conf_key k;

	memset(&k, 0, sizeof(k));
	k.kind = kind;
	k.obj = obj;
	memcpy(k.bin, bin, len < sizeof(k.bin) ? len : sizeof(k.bin));
	return k;
}

/* conf_keys_free - release the index */
void
conf_keys_free(struct conf_keys *ks)
{
	free(ks->slot);
	free(ks->ent);
	memset(ks, 0, sizeof(*ks));
}
