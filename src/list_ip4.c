/*
 * list_ip4.c -- the ip4set and ip4trie list formats.
 *
 * ip4set follows rbldnsd: every entry (address, prefix, CIDR or range) is
 * cut into whole /32, /24, /16 and /8 blocks, and a lookup asks the /32
 * table, then /24, /16 and /8 for the address masked accordingly; the
 * first table holding anything for it decides. An exclusion there means
 * not listed, otherwise every distinct value there is the answer.
 * Blocks are sorted by (key, value index); exclusions have the highest
 * index, so they come last among the blocks of a key. A big /32 or /24
 * table has a 65536-slot index on the top 16 bits of the key and keeps
 * only its low 16 bits, next to the value index: 6 bytes per block, and
 * a lookup searches a few cache lines. Small tables keep
 * key << 32 | value index in one 64-bit word and are searched whole.
 *
 * ip4trie takes CIDR prefixes only and answers with the longest matching
 * prefix (the first one given, when a prefix is repeated): one sorted
 * array per prefix length, asked from the longest length present.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "list.h"
#include "list_int.h"

#define IDX_SLOTS	65536
#define IDX_MIN		16384	/* smaller tables are searched whole */

/* A growable array of 64-bit words. */
struct vec64 {
	uint64_t	*v_a;
	size_t		 v_n;
	size_t		 v_cap;
};

/* One sorted table of an ip4set. */
struct ip4tab {
	uint64_t	*t_a;		/* /16, /8: key << 32 | value index */
	uint16_t	*t_low;		/* /32, /24: low 16 bits of the key */
	uint32_t	*t_vidx;	/* /32, /24: value index */
	uint32_t	*t_idx;		/* /32, /24: IDX_SLOTS + 1 offsets */
	size_t		 t_n;
};

/* ip4set: tables for /32, /24, /16, /8 */
struct ip4set {
	struct ip4tab	 s_tab[4];
};

/* ip4trie: one table per prefix length */
struct ip4trie {
	uint64_t	*r_a[33];	/* masked addr << 32 | value index */
	size_t		 r_n[33];
	uint8_t		 r_lens[33];	/* lengths present, longest first */
	int		 r_nlens;
};

/* Builders */
struct ip4set_b {
	struct vec64	 b_v[4];
};

struct ip4trie_b {
	struct vec64	 b_v[33];
	uint64_t	*b_hash;	/* seen (addr, len) + 1; 0 = empty */
	size_t		 b_hcap;
	size_t		 b_hn;
};

/* vec_push - append x */
static int
vec_push(struct vec64 *v, uint64_t x)
{
	if (v->v_n == v->v_cap) {
		size_t ncap = v->v_cap ? v->v_cap * 2 : 256;
		uint64_t *na = reallocarray(v->v_a, ncap, sizeof(*na));

		if (na == NULL)
			return RBLMUX_ENOMEM;
		v->v_a = na;
		v->v_cap = ncap;
	}
	v->v_a[v->v_n++] = x;
	return 0;
}

/* vec_finish - sort, drop duplicates, shrink; returns 0 or ENOMEM */
static int
vec_finish(struct vec64 *v, int dedup)
{
	uint64_t *tmp = NULL;
	size_t i, j;
	int rc;

	if (v->v_n == 0) {
		free(v->v_a);
		v->v_a = NULL;
		v->v_cap = 0;
		return 0;
	}
	if (v->v_n >= 256 &&
	    (tmp = malloc(v->v_n * sizeof(*tmp))) == NULL)
		return RBLMUX_ENOMEM;
	rc = list_sort64(v->v_a, tmp, v->v_n, 0);
	free(tmp);
	if (rc != 0)
		return rc;
	if (dedup) {
		for (i = 1, j = 1; i < v->v_n; i++)
			if (v->v_a[i] != v->v_a[j - 1])
				v->v_a[j++] = v->v_a[i];
		v->v_n = j;
	}
	if (v->v_n < v->v_cap) {
		uint64_t *na = reallocarray(v->v_a, v->v_n, sizeof(*na));

		if (na != NULL)
			v->v_a = na;
		v->v_cap = v->v_n;
	}
	return 0;
}

/* mask4 - netmask of a prefix length */
static uint32_t
mask4(unsigned len)
{
	return len == 0 ? 0 : ~(uint32_t)0 << (32 - len);
}

/*
 * list_ip4_prefix - "a", "a.b", "a.b.c" or "a.b.c.d", decimal octets
 * 0..255 (leading zeros allowed). Stores the octets left-aligned in *addr
 * and returns how many there are, or -1.
 */
int
list_ip4_prefix(const char *s, uint32_t *addr, const char **end)
{
	uint32_t a = 0;
	int n = 0;

	for (;;) {
		uint32_t v = 0;

		if (*s < '0' || *s > '9')
			return -1;
		while (*s >= '0' && *s <= '9') {
			if (v <= 255)
				v = v * 10 + (uint32_t)(*s - '0');
			s++;
		}
		if (v > 255)
			return -1;
		a |= v << (24 - 8 * n);
		n++;
		if (n == 4 || *s != '.')
			break;
		s++;
	}
	*addr = a;
	*end = s;
	return n;
}

/* parse_len - "/len" value; returns the end or NULL */
static const char *
parse_len(const char *s, unsigned maxlen, unsigned *len)
{
	unsigned v = 0;

	if (*s < '0' || *s > '9')
		return NULL;
	while (*s >= '0' && *s <= '9') {
		if (v <= maxlen)
			v = v * 10 + (unsigned)(*s - '0');
		s++;
	}
	if (v > maxlen)
		return NULL;
	*len = v;
	return s;
}

#define BAD_ADDR	(-1)
#define BAD_HOST	(-2)

/*
 * parse_range4 - ip4set key: "a.b.c.d", a prefix "a.b.c" (not a single
 * octet), "prefix/len", "p1-p2" with p2 as many octets as p1 (completed
 * with 255s) or a single octet replacing the last one of p1.
 */
static int
parse_range4(const char *s, uint32_t *ap, uint32_t *bp, const char **end)
{
	uint32_t a, e, b;
	unsigned len, shift;
	int n, m;

	if ((n = list_ip4_prefix(s, &a, &s)) < 0)
		return BAD_ADDR;
	if (*s == '/') {
		if ((s = parse_len(s + 1, 32, &len)) == NULL || len == 0)
			return BAD_ADDR;
		if (a & ~mask4(len))
			return BAD_HOST;
		b = a | ~mask4(len);
	} else if (*s == '-') {
		if ((m = list_ip4_prefix(s + 1, &e, &s)) < 0)
			return BAD_ADDR;
		shift = 32 - 8 * (unsigned)n;
		if (m == n)
			b = e;
		else if (m == 1)
			b = (a & ~((uint32_t)0xff << shift)) |
			    (e >> 24) << shift;
		else
			return BAD_ADDR;
		b |= ((uint32_t)1 << shift) - 1;
		if (b < a)
			return BAD_ADDR;
	} else {
		if (n == 1)
			return BAD_ADDR;
		b = a | (((uint32_t)1 << (32 - 8 * n)) - 1);
	}
	if (!LIST_ISKEYEND(*s))
		return BAD_ADDR;
	*ap = a;
	*bp = b;
	*end = s;
	return 0;
}

/* key_problem - report a bad key */
static void
key_problem(struct list_loader *ld, int err, const char *key)
{
	char tok[80];

	if (err == BAD_HOST)
		list_warn(ld, "invalid range (non-zero host part) '%s'",
		    list_tok(key, tok, sizeof(tok)));
	else
		list_warn(ld, "invalid address '%s'",
		    list_tok(key, tok, sizeof(tok)));
}

/* range_allowed - check a range against $MAXRANGE4 */
static int
range_allowed(struct list_loader *ld, uint32_t a, uint32_t b)
{
	uint64_t count = (uint64_t)b - a + 1;

	if (ld->ld_maxrange4 != 0 && count > ld->ld_maxrange4) {
		list_warn(ld, "too large range (%llu) ignored (%u max)",
		    (unsigned long long)count, ld->ld_maxrange4);
		return 0;
	}
	return 1;
}

/* key_value - exclusion mark, or the value after the key */
static int
key_value(struct list_loader *ld, int excl, char *s, uint32_t *vidx)
{
	if (excl) {
		*vidx = LIST_VEXCL;	/* anything after it is ignored */
		return 0;
	}
	return list_parse_value(ld, s, vidx);
}

/* skip_excl - a leading "!" and the blanks after it */
static char *
skip_excl(char *s, int *excl)
{
	*excl = 0;
	if (*s == '!') {
		*excl = 1;
		s++;
		while (LIST_ISSPACE(*s))
			s++;
	}
	return s;
}

/*
 * ip4set
 */

/* ip4set_begin - start an ip4set builder */
static int
ip4set_begin(struct list_loader *ld)
{
	ld->ld_tdata = calloc(1, sizeof(struct ip4set_b));
	return ld->ld_tdata == NULL ? RBLMUX_ENOMEM : 0;
}

/* ip4set_abort - drop an ip4set builder */
static void
ip4set_abort(struct list_loader *ld)
{
	struct ip4set_b *b = ld->ld_tdata;
	int i;

	if (b == NULL)
		return;
	for (i = 0; i < 4; i++)
		free(b->b_v[i].v_a);
	free(b);
	ld->ld_tdata = NULL;
}

/*
 * ip4set_add - cut [a, b] into the largest aligned /8, /16, /24 and /32
 * blocks it holds whole, as rbldnsd does.
 */
static int
ip4set_add(struct ip4set_b *bd, uint64_t a, uint64_t b, uint32_t vidx)
{
	static const uint64_t size[4] = { 1, 1 << 8, 1 << 16, 1 << 24 };
	int g, rc;

	while (a <= b) {
		for (g = 3; g > 0; g--)
			if ((a & (size[g] - 1)) == 0 && a + size[g] - 1 <= b)
				break;
		if ((rc = vec_push(&bd->b_v[g], a << 32 | vidx)) != 0)
			return rc;
		a += size[g];
	}
	return 0;
}

/* ip4set_line - one ip4set entry */
static int
ip4set_line(struct list_loader *ld, char *line)
{
	const char *end;
	uint32_t a, b, vidx;
	int excl, rc;
	char *s;

	s = skip_excl(line, &excl);
	if ((rc = parse_range4(s, &a, &b, &end)) != 0) {
		key_problem(ld, rc, s);
		return 0;
	}
	if (!range_allowed(ld, a, b))
		return 0;
	if ((rc = key_value(ld, excl, (char *)end, &vidx)) != 0)
		return rc == -1 ? 0 : rc;
	if ((rc = ip4set_add(ld->ld_tdata, a, b, vidx)) != 0)
		return rc;
	ld->ld_lines++;
	return 0;
}

/*
 * tab_index - split the sorted words of t into the slot index, the low
 * key bits and the value indexes
 */
static int
tab_index(struct ip4tab *t)
{
	size_t i = 0, n = t->t_n;
	uint32_t s;

	if (n < IDX_MIN)
		return 0;
	if (n >= UINT32_MAX)
		return RBLMUX_ENOMEM;
	t->t_idx = malloc((IDX_SLOTS + 1) * sizeof(*t->t_idx));
	t->t_low = malloc(n * sizeof(*t->t_low));
	t->t_vidx = malloc(n * sizeof(*t->t_vidx));
	if (t->t_idx == NULL || t->t_low == NULL || t->t_vidx == NULL)
		return RBLMUX_ENOMEM;
	for (s = 0; s <= IDX_SLOTS; s++) {
		while (i < n && (t->t_a[i] >> 48) < s)
			i++;
		t->t_idx[s] = (uint32_t)i;
	}
	for (i = 0; i < n; i++) {
		t->t_low[i] = (uint16_t)(t->t_a[i] >> 32);
		t->t_vidx[i] = (uint32_t)t->t_a[i];
	}
	free(t->t_a);
	t->t_a = NULL;
	return 0;
}

/* ip4set_free - free an ip4set */
static void
ip4set_free(void *data)
{
	struct ip4set *set = data;
	int i;

	for (i = 0; i < 4; i++) {
		free(set->s_tab[i].t_a);
		free(set->s_tab[i].t_low);
		free(set->s_tab[i].t_vidx);
		free(set->s_tab[i].t_idx);
	}
	free(set);
}

/* ip4set_build - sort the blocks into tables */
static int
ip4set_build(struct list_loader *ld, struct list *l)
{
	struct ip4set_b *bd = ld->ld_tdata;
	struct ip4set *set;
	int i, rc = 0;

	if ((set = calloc(1, sizeof(*set))) == NULL)
		rc = RBLMUX_ENOMEM;
	for (i = 0; i < 4; i++) {
		if (rc == 0 && (rc = vec_finish(&bd->b_v[i], 1)) == 0) {
			set->s_tab[i].t_a = bd->b_v[i].v_a;
			set->s_tab[i].t_n = bd->b_v[i].v_n;
			bd->b_v[i].v_a = NULL;
			if (i < 2)
				rc = tab_index(&set->s_tab[i]);
		}
	}
	ip4set_abort(ld);
	if (rc != 0) {
		if (set != NULL)
			ip4set_free(set);
		return rc;
	}
	l->l_data = set;
	return 0;
}

/* ip4set_memory - bytes held by an ip4set */
static size_t
ip4set_memory(const void *data)
{
	const struct ip4set *set = data;
	size_t n = sizeof(*set);
	int i;

	for (i = 0; i < 4; i++) {
		if (set->s_tab[i].t_idx != NULL)
			n += (IDX_SLOTS + 1) * sizeof(uint32_t) +
			    set->s_tab[i].t_n * (sizeof(uint16_t) +
			    sizeof(uint32_t));
		else
			n += set->s_tab[i].t_n * sizeof(uint64_t);
	}
	return n;
}

/*
 * tab_find - the run of blocks for key in t: stores its bounds and
 * returns 1, or returns 0.
 */
static int
tab_find(const struct ip4tab *t, uint32_t key, size_t *lop, size_t *hip)
{
	size_t lo, hi, mid;

	if (t->t_n == 0)
		return 0;
	if (t->t_idx != NULL) {
		uint16_t want = (uint16_t)key;

		lo = t->t_idx[key >> 16];
		hi = t->t_idx[(key >> 16) + 1];
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (t->t_low[mid] < want)
				lo = mid + 1;
			else
				hi = mid;
		}
		hi = t->t_idx[(key >> 16) + 1];
		if (lo >= hi || t->t_low[lo] != want)
			return 0;
		*lop = lo;
		while (lo < hi && t->t_low[lo] == want)
			lo++;
		*hip = lo;
		return 1;
	}
	lo = 0;
	hi = t->t_n;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((uint32_t)(t->t_a[mid] >> 32) < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo >= t->t_n || (uint32_t)(t->t_a[lo] >> 32) != key)
		return 0;
	*lop = lo;
	while (lo < t->t_n && (uint32_t)(t->t_a[lo] >> 32) == key)
		lo++;
	*hip = lo;
	return 1;
}

/* tab_vidx - value index of block i of t */
static inline uint32_t
tab_vidx(const struct ip4tab *t, size_t i)
{
	return t->t_vidx != NULL ? t->t_vidx[i] : (uint32_t)t->t_a[i];
}

/* ip4set_lookup - rbldnsd's ip4set lookup */
static int
ip4set_lookup(const struct list *l, uint32_t addr,
    const struct list_value **vals, int max)
{
	static const uint32_t masks[4] = {
		0xffffffffU, 0xffffff00U, 0xffff0000U, 0xff000000U
	};
	const struct ip4set *set = l->l_data;
	size_t lo, hi, i;
	int g, n = 0;

	for (g = 0; g < 4; g++) {
		const struct ip4tab *t = &set->s_tab[g];

		if (!tab_find(t, addr & masks[g], &lo, &hi))
			continue;
		if (tab_vidx(t, hi - 1) == LIST_VEXCL)
			return 0;
		if (max <= 0)
			return (int)(hi - lo);
		for (i = lo; i < hi && n < max; i++)
			vals[n++] = &l->l_values[tab_vidx(t, i)];
		return n;
	}
	return 0;
}

const struct list_ops list_ip4set_ops = {
	.lo_type = LIST_IP4SET,
	.lo_name = "ip4set",
	.lo_begin = ip4set_begin,
	.lo_line = ip4set_line,
	.lo_build = ip4set_build,
	.lo_abort = ip4set_abort,
	.lo_free = ip4set_free,
	.lo_memory = ip4set_memory,
	.lo_lookup_ip4 = ip4set_lookup,
};

/*
 * ip4trie
 */

/* ip4trie_begin - start an ip4trie builder */
static int
ip4trie_begin(struct list_loader *ld)
{
	ld->ld_tdata = calloc(1, sizeof(struct ip4trie_b));
	return ld->ld_tdata == NULL ? RBLMUX_ENOMEM : 0;
}

/* ip4trie_abort - drop an ip4trie builder */
static void
ip4trie_abort(struct list_loader *ld)
{
	struct ip4trie_b *b = ld->ld_tdata;
	int i;

	if (b == NULL)
		return;
	for (i = 0; i <= 32; i++)
		free(b->b_v[i].v_a);
	free(b->b_hash);
	free(b);
	ld->ld_tdata = NULL;
}

/* hash64 - mix a 64-bit key */
static uint64_t
hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/*
 * seen_add - remember a prefix; returns 1 if it is new, 0 if it was
 * there already, or RBLMUX_ENOMEM.
 */
static int
seen_add(struct ip4trie_b *b, uint64_t key)
{
	size_t i, mask;

	key++;			/* 0 marks an empty slot */
	if ((b->b_hn + 1) * 2 > b->b_hcap) {
		size_t ncap = b->b_hcap ? b->b_hcap * 2 : 1024, j;
		uint64_t *nh = calloc(ncap, sizeof(*nh));

		if (nh == NULL)
			return RBLMUX_ENOMEM;
		for (j = 0; j < b->b_hcap; j++) {
			if (b->b_hash[j] == 0)
				continue;
			i = hash64(b->b_hash[j]) & (ncap - 1);
			while (nh[i] != 0)
				i = (i + 1) & (ncap - 1);
			nh[i] = b->b_hash[j];
		}
		free(b->b_hash);
		b->b_hash = nh;
		b->b_hcap = ncap;
	}
	mask = b->b_hcap - 1;
	for (i = hash64(key) & mask; b->b_hash[i] != 0; i = (i + 1) & mask)
		if (b->b_hash[i] == key)
			return 0;
	b->b_hash[i] = key;
	b->b_hn++;
	return 1;
}

/* ip4trie_line - one ip4trie entry: a CIDR prefix */
static int
ip4trie_line(struct list_loader *ld, char *line)
{
	struct ip4trie_b *bd = ld->ld_tdata;
	const char *end;
	uint32_t a, vidx;
	unsigned len;
	int excl, n, rc;
	char *s, tok[80];

	s = skip_excl(line, &excl);
	if ((n = list_ip4_prefix(s, &a, &end)) < 0) {
		key_problem(ld, BAD_ADDR, s);
		return 0;
	}
	if (*end == '/') {
		if ((end = parse_len(end + 1, 32, &len)) == NULL) {
			key_problem(ld, BAD_ADDR, s);
			return 0;
		}
	} else if (n == 1) {
		key_problem(ld, BAD_ADDR, s);
		return 0;
	} else
		len = 8 * (unsigned)n;
	if (!LIST_ISKEYEND(*end)) {
		key_problem(ld, BAD_ADDR, s);
		return 0;
	}
	if (a & ~mask4(len)) {
		key_problem(ld, BAD_HOST, s);
		return 0;
	}
	if (!range_allowed(ld, a, a | ~mask4(len)))
		return 0;
	if ((rc = key_value(ld, excl, (char *)end, &vidx)) != 0)
		return rc == -1 ? 0 : rc;
	/* rbldnsd keeps the first entry for a prefix */
	if ((rc = seen_add(bd, (uint64_t)a << 8 | len)) < 0)
		return rc;
	if (rc == 0) {
		list_warn(ld, "duplicated entry for %s",
		    list_tok(s, tok, sizeof(tok)));
		return 0;
	}
	if ((rc = vec_push(&bd->b_v[len], (uint64_t)a << 32 | vidx)) != 0)
		return rc;
	ld->ld_lines++;
	return 0;
}

/* ip4trie_free - free an ip4trie */
static void
ip4trie_free(void *data)
{
	struct ip4trie *t = data;
	int i;

	for (i = 0; i <= 32; i++)
		free(t->r_a[i]);
	free(t);
}

/* ip4trie_build - sort each prefix length */
static int
ip4trie_build(struct list_loader *ld, struct list *l)
{
	struct ip4trie_b *bd = ld->ld_tdata;
	struct ip4trie *t;
	int i, rc = 0;

	free(bd->b_hash);
	bd->b_hash = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		rc = RBLMUX_ENOMEM;
	for (i = 32; i >= 0 && rc == 0; i--) {
		if ((rc = vec_finish(&bd->b_v[i], 0)) != 0)
			break;
		t->r_a[i] = bd->b_v[i].v_a;
		t->r_n[i] = bd->b_v[i].v_n;
		bd->b_v[i].v_a = NULL;
		if (t->r_n[i] > 0)
			t->r_lens[t->r_nlens++] = (uint8_t)i;
	}
	ip4trie_abort(ld);
	if (rc != 0) {
		if (t != NULL)
			ip4trie_free(t);
		return rc;
	}
	l->l_data = t;
	return 0;
}

/* ip4trie_memory - bytes held by an ip4trie */
static size_t
ip4trie_memory(const void *data)
{
	const struct ip4trie *t = data;
	size_t n = sizeof(*t);
	int i;

	for (i = 0; i <= 32; i++)
		n += t->r_n[i] * sizeof(uint64_t);
	return n;
}

/* ip4trie_lookup - longest prefix match */
static int
ip4trie_lookup(const struct list *l, uint32_t addr,
    const struct list_value **vals, int max)
{
	const struct ip4trie *t = l->l_data;
	int k;

	for (k = 0; k < t->r_nlens; k++) {
		unsigned len = t->r_lens[k];
		const uint64_t *a = t->r_a[len];
		uint32_t key = addr & mask4(len);
		uint64_t want = (uint64_t)key << 32;
		size_t lo = 0, hi = t->r_n[len], mid;
		uint32_t vidx;

		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (a[mid] < want)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo >= t->r_n[len] || (uint32_t)(a[lo] >> 32) != key)
			continue;
		vidx = (uint32_t)a[lo];
		if (vidx == LIST_VEXCL)
			return 0;
		if (max > 0)
			vals[0] = &l->l_values[vidx];
		return 1;
	}
	return 0;
}

const struct list_ops list_ip4trie_ops = {
	.lo_type = LIST_IP4TRIE,
	.lo_name = "ip4trie",
	.lo_begin = ip4trie_begin,
	.lo_line = ip4trie_line,
	.lo_build = ip4trie_build,
	.lo_abort = ip4trie_abort,
	.lo_free = ip4trie_free,
	.lo_memory = ip4trie_memory,
	.lo_lookup_ip4 = ip4trie_lookup,
};
