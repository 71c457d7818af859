/*
 * list_ip6.c -- the ip6trie list format.
 *
 * IPv6 CIDR prefixes with values and "!" exclusions; a lookup answers
 * with the longest matching prefix (the first one given, when a prefix is
 * repeated). Keys follow rbldnsd: "::" compression, and without "::" the
 * groups given set the prefix length, so "2001:21ab:def7:4242" is a /64
 * and "2001:21ab:c000/36" a /36.
 *
 * The index is one array of 128-bit keys sorted by (prefix length, key)
 * with the range of each length present; a lookup binary-searches the
 * lengths from the longest down. 20 bytes per entry. While loading an
 * entry takes 24 bytes and a slot of the hash that finds repeats (at
 * most 0.6 full, rebuilt from the entries when it grows); the entries
 * are then sorted in place and packed into the index in their own
 * memory, so a load needs less than twice the index.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "list.h"
#include "list_int.h"

/* An entry while loading. */
struct ip6e {
	uint64_t	 e_hi;		/* address, host order halves */
	uint64_t	 e_lo;
	uint32_t	 e_vidx;
	uint32_t	 e_len;		/* prefix length */
};

struct ip6trie_b {
	struct ip6e	*b_e;
	size_t		 b_n;
	size_t		 b_cap;
	uint32_t	*b_hash;	/* entry index + 1; 0 = empty */
	size_t		 b_hcap;
};

#define HASH_FILL(cap)	((cap) / 5 * 3)	/* entries before the hash grows */
#define ENTRY_BYTES	(2 * sizeof(uint64_t) + sizeof(uint32_t))

/* The index. */
struct ip6trie {
	uint64_t	*t_key;		/* 2 per entry: hi, lo */
	uint32_t	*t_vidx;
	size_t		 t_n;
	int		 t_nlens;
	struct {
		uint32_t	 len;
		size_t		 lo;	/* [lo, hi) in t_key/t_vidx */
		size_t		 hi;
	}		 t_lens[129];	/* longest first */
};

/* hexval - value of a hex digit or -1 */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* mask_hi - high half of the netmask of len */
static uint64_t
mask_hi(unsigned len)
{
	if (len >= 64)
		return ~(uint64_t)0;
	return len == 0 ? 0 : ~(uint64_t)0 << (64 - len);
}

/* mask_lo - low half of the netmask of len */
static uint64_t
mask_lo(unsigned len)
{
	if (len <= 64)
		return 0;
	return len == 128 ? ~(uint64_t)0 : ~(uint64_t)0 << (128 - len);
}

/*
 * parse_ip6 - an ip6trie key. Up to eight hex groups, one "::" at most.
 * With "::" the address is complete (default /128); without it the
 * groups given are the leading ones (default length 16 per group). As in
 * rbldnsd a single ":" after the last group is taken when "::" was seen,
 * and what follows the key may start with ":" (the value).
 */
static enum list_key
parse_ip6(const char *s, uint64_t *hi, uint64_t *lo, unsigned *lenp,
    const char **end)
{
	uint32_t g[8], full[8];
	int n = 0, ci = -1, i, d;
	unsigned len;

	if (s[0] == ':' && s[1] == ':') {
		ci = 0;
		s += 2;
	}
	while (n < 8) {
		uint32_t v = 0;

		if (hexval(*s) < 0) {
			if (ci >= 0)
				break;
			return LIST_KEY_BAD;
		}
		while ((d = hexval(*s)) >= 0) {
			if (v <= 0xffff)
				v = v << 4 | (uint32_t)d;
			s++;
		}
		if (v > 0xffff)
			return LIST_KEY_BAD;
		g[n++] = v;
		if (n == 8 || *s != ':')
			break;
		if (s[1] == ':') {
			if (ci >= 0) {
				s++;
				break;
			}
			ci = n;
			s += 2;
		} else
			s++;
	}
	if (ci >= 0 && n == 8)
		return LIST_KEY_BAD;	/* "::" must stand for a group */
	memset(full, 0, sizeof(full));
	if (ci >= 0) {
		for (i = 0; i < ci; i++)
			full[i] = g[i];
		for (i = ci; i < n; i++)
			full[8 - (n - i)] = g[i];
		len = 128;
	} else {
		for (i = 0; i < n; i++)
			full[i] = g[i];
		len = 16 * (unsigned)n;
	}
	if (*s == '/') {
		unsigned v = 0;

		s++;
		if (*s < '0' || *s > '9')
			return LIST_KEY_BAD;
		while (*s >= '0' && *s <= '9') {
			if (v <= 128)
				v = v * 10 + (unsigned)(*s - '0');
			s++;
		}
		if (v > 128)
			return LIST_KEY_BAD;
		len = v;
	}
	if (!LIST_ISKEYEND(*s))
		return LIST_KEY_BAD;
	*hi = (uint64_t)full[0] << 48 | (uint64_t)full[1] << 32 |
	    (uint64_t)full[2] << 16 | full[3];
	*lo = (uint64_t)full[4] << 48 | (uint64_t)full[5] << 32 |
	    (uint64_t)full[6] << 16 | full[7];
	if ((*hi & ~mask_hi(len)) || (*lo & ~mask_lo(len)))
		return LIST_KEY_HOSTBITS;
	*lenp = len;
	*end = s;
	return LIST_KEY_OK;
}

/* ip6trie_begin - start a builder */
static int
ip6trie_begin(struct list_loader *ld)
{
	ld->ld_tdata = calloc(1, sizeof(struct ip6trie_b));
	return ld->ld_tdata == NULL ? RBLMUX_ENOMEM : 0;
}

/* ip6trie_abort - drop a builder */
static void
ip6trie_abort(struct list_loader *ld)
{
	struct ip6trie_b *b = ld->ld_tdata;

	if (b == NULL)
		return;
	free(b->b_e);
	free(b->b_hash);
	free(b);
	ld->ld_tdata = NULL;
}

/* ehash - hash of a prefix */
static size_t
ehash(uint64_t hi, uint64_t lo, uint32_t len)
{
	uint64_t x = hi * 0x9e3779b97f4a7c15ULL ^ lo ^ len;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x;
}

/* rehash - grow the table of prefixes seen, rebuilt from the entries */
static int
rehash(struct ip6trie_b *b)
{
	size_t ncap = b->b_hcap ? b->b_hcap * 2 : 1024, i, h;
	uint32_t *nh;

	/* the old table goes first: never both at once */
	free(b->b_hash);
	b->b_hash = NULL;
	b->b_hcap = 0;
	if ((nh = calloc(ncap, sizeof(*nh))) == NULL)
		return RBLMUX_ENOMEM;
	for (i = 0; i < b->b_n; i++) {
		const struct ip6e *e = &b->b_e[i];

		h = ehash(e->e_hi, e->e_lo, e->e_len) & (ncap - 1);
		while (nh[h] != 0)
			h = (h + 1) & (ncap - 1);
		nh[h] = (uint32_t)i + 1;
	}
	b->b_hash = nh;
	b->b_hcap = ncap;
	return 0;
}

/* ip6trie_line - one ip6trie entry */
static int
ip6trie_line(struct list_loader *ld, char *line)
{
	struct ip6trie_b *b = ld->ld_tdata;
	const char *end;
	uint64_t hi, lo;
	uint32_t vidx, k;
	unsigned len;
	size_t h, mask;
	enum list_key key;
	int excl = 0, rc;
	char *s = line, tok[80];

	if (*s == '!') {
		excl = 1;
		s++;
		while (LIST_ISSPACE(*s))
			s++;
	}
	if ((key = parse_ip6(s, &hi, &lo, &len, &end)) != LIST_KEY_OK) {
		list_key_problem(ld, key, s);
		return 0;
	}
	if (excl)
		vidx = LIST_VEXCL;
	else if ((rc = list_parse_value(ld, (char *)end, &vidx)) != 0)
		return rc == RBLMUX_EPARSE ? 0 : rc;
	if (b->b_n + 1 > HASH_FILL(b->b_hcap) && (rc = rehash(b)) != 0)
		return rc;
	mask = b->b_hcap - 1;
	for (h = ehash(hi, lo, len) & mask; (k = b->b_hash[h]) != 0;
	    h = (h + 1) & mask) {
		const struct ip6e *e = &b->b_e[k - 1];

		if (e->e_hi == hi && e->e_lo == lo && e->e_len == len) {
			/* rbldnsd keeps the first entry for a prefix */
			list_warning(ld, "duplicated entry for %s, the first "
			    "one counts", list_tok(s, tok, sizeof(tok)));
			return 0;
		}
	}
	if (b->b_n >= UINT32_MAX - 1)
		return RBLMUX_ENOMEM;
	if ((rc = list_mem_add(ld, ENTRY_BYTES)) != 0)
		return rc;
	if (b->b_n == b->b_cap) {
		size_t ncap = b->b_cap ? b->b_cap * 2 : 64;
		struct ip6e *ne = reallocarray(b->b_e, ncap, sizeof(*ne));

		if (ne == NULL)
			return RBLMUX_ENOMEM;
		b->b_e = ne;
		b->b_cap = ncap;
	}
	b->b_e[b->b_n].e_hi = hi;
	b->b_e[b->b_n].e_lo = lo;
	b->b_e[b->b_n].e_vidx = vidx;
	b->b_e[b->b_n].e_len = len;
	b->b_hash[h] = (uint32_t)++b->b_n;
	ld->ld_lines++;
	return 0;
}

/* ecmp - order entries by longest prefix first, then address */
static int
ecmp(const void *x, const void *y, void *arg)
{
	const struct ip6e *a = x, *b = y;

	if (a->e_len != b->e_len)
		return a->e_len > b->e_len ? -1 : 1;
	if (a->e_hi != b->e_hi)
		return a->e_hi < b->e_hi ? -1 : 1;
	if (a->e_lo != b->e_lo)
		return a->e_lo < b->e_lo ? -1 : 1;
	return 0;
}

/* ip6trie_free - free an index */
static void
ip6trie_free(void *data)
{
	struct ip6trie *t = data;

	free(t->t_key);
	free(t->t_vidx);
	free(t);
}

/*
 * ip6trie_build - sort the entries in place and pack them into the
 * index: the value indexes go out first, then key i is written over
 * bytes [16i, 16i + 16) of the entries, which only ever covers entries
 * already read.
 */
static int
ip6trie_build(struct list_loader *ld, struct list *l)
{
	struct ip6trie_b *b = ld->ld_tdata;
	struct ip6trie *t;
	struct ip6e e;
	size_t i, n = b->b_n;
	uint64_t key[2];
	char *keys;

	free(b->b_hash);
	b->b_hash = NULL;
	if ((t = calloc(1, sizeof(*t))) != NULL && n > 0)
		t->t_vidx = malloc(n * sizeof(*t->t_vidx));
	if (t == NULL || (n > 0 && t->t_vidx == NULL)) {
		if (t != NULL)
			ip6trie_free(t);
		ip6trie_abort(ld);
		return RBLMUX_ENOMEM;
	}
	list_sort(b->b_e, n, sizeof(*b->b_e), ecmp, NULL);
	keys = (char *)b->b_e;
	for (i = 0; i < n; i++) {
		memcpy(&e, keys + i * sizeof(e), sizeof(e));
		key[0] = e.e_hi;
		key[1] = e.e_lo;
		memcpy(keys + i * sizeof(key), key, sizeof(key));
		t->t_vidx[i] = e.e_vidx;
		if (t->t_nlens == 0 ||
		    t->t_lens[t->t_nlens - 1].len != e.e_len) {
			t->t_lens[t->t_nlens].len = e.e_len;
			t->t_lens[t->t_nlens].lo = i;
			t->t_nlens++;
		}
		t->t_lens[t->t_nlens - 1].hi = i + 1;
	}
	if (n > 0) {
		t->t_key = realloc(b->b_e, n * sizeof(key));
		if (t->t_key == NULL)
			t->t_key = (uint64_t *)(void *)b->b_e;
	} else
		free(b->b_e);
	b->b_e = NULL;
	t->t_n = n;
	ip6trie_abort(ld);
	l->l_data = t;
	return 0;
}

/* ip6trie_memory - bytes held by an index */
static size_t
ip6trie_memory(const void *data)
{
	const struct ip6trie *t = data;

	return sizeof(*t) + t->t_n * ENTRY_BYTES;
}

/* ip6trie_lookup - longest prefix match */
static int
ip6trie_lookup(const struct list *l, const uint8_t addr[16],
    const struct list_value **vals, int max)
{
	const struct ip6trie *t = l->l_data;
	uint64_t ahi = 0, alo = 0;
	int i, k;

	for (i = 0; i < 8; i++) {
		ahi = ahi << 8 | addr[i];
		alo = alo << 8 | addr[8 + i];
	}
	for (k = 0; k < t->t_nlens; k++) {
		uint64_t hi = ahi & mask_hi(t->t_lens[k].len);
		uint64_t lo = alo & mask_lo(t->t_lens[k].len);
		size_t a = t->t_lens[k].lo, b = t->t_lens[k].hi, mid;
		uint32_t vidx;

		while (a < b) {
			const uint64_t *key;

			mid = a + (b - a) / 2;
			key = &t->t_key[2 * mid];
			if (key[0] < hi || (key[0] == hi && key[1] < lo))
				a = mid + 1;
			else
				b = mid;
		}
		if (a >= t->t_lens[k].hi || t->t_key[2 * a] != hi ||
		    t->t_key[2 * a + 1] != lo)
			continue;
		vidx = t->t_vidx[a];
		if (vidx == LIST_VEXCL)
			return 0;
		if (max > 0)
			vals[0] = &l->l_values[vidx];
		return 1;
	}
	return 0;
}

/* ip6_vidx - value index of entry ctx + i */
static uint32_t
ip6_vidx(const void *ctx, size_t i)
{
	return ((const uint32_t *)ctx)[i];
}

/* ip6trie_walk - each prefix, shortest length first */
static int
ip6trie_walk(const struct list *l, struct list_walker *w)
{
	const struct ip6trie *t = l->l_data;
	size_t i;
	int k, b, rc;

	w->e.family = AF_INET6;
	for (k = t->t_nlens - 1; k >= 0; k--) {
		w->e.plen = t->t_lens[k].len;
		for (i = t->t_lens[k].lo; i < t->t_lens[k].hi; i++) {
			for (b = 0; b < 8; b++) {
				w->e.key[b] = (uint8_t)(t->t_key[2 * i] >>
				    (56 - 8 * b));
				w->e.key[8 + b] = (uint8_t)(t->t_key[2 * i +
				    1] >> (56 - 8 * b));
			}
			if ((rc = list_walk_emit(l, w, 1, ip6_vidx,
			    &t->t_vidx[i])) != 0)
				return rc;
		}
	}
	return 0;
}

const struct list_ops list_ip6trie_ops = {
	.lo_type = LIST_IP6TRIE,
	.lo_name = "ip6trie",
	.lo_begin = ip6trie_begin,
	.lo_line = ip6trie_line,
	.lo_build = ip6trie_build,
	.lo_abort = ip6trie_abort,
	.lo_free = ip6trie_free,
	.lo_memory = ip6trie_memory,
	.lo_lookup_ip6 = ip6trie_lookup,
	.lo_walk = ip6trie_walk,
};
