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
 *
 * While loading, each table is a run: a sorted part without duplicates
 * and a tail of words in the order read. Once the tail holds a quarter
 * of the sorted part (or TAIL_MIN words) it is sorted on its own and
 * merged in, duplicates dropped. A run thus never holds more than 1.25
 * times its distinct words plus TAIL_MIN, and the merge borrows at most
 * a quarter more, so a file that repeats its ranges costs no more memory
 * than one that does not: a load stays within twice the memory of the
 * list it builds. An ip4trie run keeps the line of each tail word, so a
 * repeated prefix is reported at its line when the merge finds it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "list.h"
#include "list_int.h"

#define IDX_SLOTS	65536
#define IDX_MIN		16384	/* smaller tables are searched whole */
#define TAIL_MIN	16384	/* a tail is merged from this size ... */
#define TAIL_DIV	4	/* ... once it is this part of the run */
#define KEY_MASK	0xffffffff00000000ULL

/*
 * A table while loading: a[0, sorted) sorted without duplicates, then
 * the tail a[sorted, n) as read.
 */
struct run {
	uint64_t	*a;
	size_t		 n;
	size_t		 sorted;
	size_t		 cap;
	uint32_t	*lines;		/* first: line of each tail word */
	size_t		 lcap;
	bool		 first;		/* unique by key (the high 32 bits),
					   the first one kept: ip4trie */
	uint8_t		 len;		/* first: the prefix length */
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
	struct run	 b_r[4];
};

struct ip4trie_b {
	struct run	 b_r[33];
};

/* run_free - release what a run holds */
static void
run_free(struct run *r)
{
	free(r->a);
	free(r->lines);
	r->a = NULL;
	r->lines = NULL;
	r->n = r->sorted = r->cap = r->lcap = 0;
}

/* lower_bound - first of a[0, n) not below w */
static size_t
lower_bound(const uint64_t *a, size_t n, uint64_t w)
{
	size_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (a[mid] < w)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* tail_unique - drop repeats from the sorted tmp[0, t); how many are left */
static size_t
tail_unique(uint64_t *tmp, size_t t)
{
	size_t i, m = 1;

	for (i = 1; i < t; i++)
		if (tmp[i] != tmp[m - 1])
			tmp[m++] = tmp[i];
	return m;
}

/*
 * tail_first - the same for a run unique by key: the tail words become
 * key << 32 | position, sorted, so that the first of equal keys is the
 * one read first. The others, and keys the sorted part holds, are
 * reported at their lines. Returns how many words are left in tmp.
 */
static int
tail_first(struct list_loader *ld, struct run *r, uint64_t *tmp, size_t t,
    size_t *left)
{
	uint64_t *scratch, *res, key, prev = 0;
	size_t i, m = 0, p, seq;

	if ((scratch = malloc(t * sizeof(*scratch))) == NULL)
		return RBLMUX_ENOMEM;
	for (i = 0; i < t; i++)
		tmp[i] = (r->a[r->sorted + i] & KEY_MASK) | i;
	if ((res = list_sort64(tmp, scratch, t)) == scratch)
		memcpy(tmp, scratch, t * sizeof(*tmp));
	free(scratch);
	if (res == NULL)
		return RBLMUX_ENOMEM;
	p = lower_bound(r->a, r->sorted, tmp[0] & KEY_MASK);
	for (i = 0; i < t; i++) {
		key = tmp[i] & KEY_MASK;
		seq = (uint32_t)tmp[i];
		if (i == 0 || key != prev) {
			prev = key;
			while (p < r->sorted && (r->a[p] & KEY_MASK) < key)
				p++;
			if (p == r->sorted || (r->a[p] & KEY_MASK) != key) {
				tmp[m++] = key | (uint32_t)r->a[r->sorted + seq];
				continue;
			}
		}
		/* read before, in the sorted part or earlier in the tail */
		key >>= 32;
		list_report(ld, LIST_WARNING, r->lines[seq], "duplicated entry "
		    "for %u.%u.%u.%u/%u, the first one counts",
		    (unsigned)(key >> 24), (unsigned)(key >> 16) & 255,
		    (unsigned)(key >> 8) & 255, (unsigned)key & 255, r->len);
		ld->ld_lines--;
	}
	*left = m;
	return 0;
}

/*
 * run_compact - sort the tail and merge it into the sorted part,
 * duplicates dropped. Holds at most the tail once more meanwhile.
 */
static int
run_compact(struct list_loader *ld, struct run *r)
{
	size_t s = r->sorted, t = r->n - s, m = 0, i, j, w, d;
	uint64_t *tmp, *res;
	int rc = 0;

	if (t == 0)
		return 0;
	if ((tmp = malloc(t * sizeof(*tmp))) == NULL)
		return RBLMUX_ENOMEM;
	if (r->first)
		rc = tail_first(ld, r, tmp, t, &m);
	else {
		/* sorted where it is or in tmp; the merge reads it in tmp */
		if ((res = list_sort64(r->a + s, tmp, t)) == NULL)
			rc = RBLMUX_ENOMEM;
		else if (res != tmp)
			memcpy(tmp, res, t * sizeof(*tmp));
		if (rc == 0)
			m = tail_unique(tmp, t);
	}
	if (rc != 0) {
		free(tmp);
		return rc;
	}
	/*
	 * From the back: the sorted part only ever moves up. A word both
	 * hold goes in once, which leaves a gap of d words at the front.
	 */
	for (i = s, w = s + m, j = m; j > 0;) {
		uint64_t y = tmp[--j];

		/* the words of the sorted part above y, in one stretch */
		while (i > 0 && r->a[i - 1] > y)
			r->a[--w] = r->a[--i];
		if (i == 0 || r->a[i - 1] != y)
			r->a[--w] = y;
	}
	free(tmp);
	d = w - i;
	if (d > 0)
		memmove(r->a + i, r->a + w, (s + m - w) * sizeof(*r->a));
	r->n = r->sorted = s + m - d;
	list_mem_sub(ld, (t - m + d) * sizeof(*tmp));
	return 0;
}

/* run_push - append a word, merging the tail when it has grown */
static int
run_push(struct list_loader *ld, struct run *r, uint64_t x)
{
	size_t tail = r->n - r->sorted;
	int rc;

	if (tail >= TAIL_MIN && tail >= r->sorted / TAIL_DIV &&
	    (rc = run_compact(ld, r)) != 0)
		return rc;
	/* near the limit, what the tail repeats must not count */
	if (ld->ld_memmax != 0 && ld->ld_mem + sizeof(x) > ld->ld_memmax &&
	    tail > r->sorted / 16 && (rc = run_compact(ld, r)) != 0)
		return rc;
	if (r->n == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 256;
		uint64_t *na = reallocarray(r->a, ncap, sizeof(*na));

		if (na == NULL)
			return RBLMUX_ENOMEM;
		r->a = na;
		r->cap = ncap;
	}
	if (r->first) {
		tail = r->n - r->sorted;
		if (tail == r->lcap) {
			size_t ncap = r->lcap ? r->lcap * 2 : 256;
			uint32_t *nl = reallocarray(r->lines, ncap,
			    sizeof(*nl));

			if (nl == NULL)
				return RBLMUX_ENOMEM;
			r->lines = nl;
			r->lcap = ncap;
		}
		r->lines[tail] = ld->ld_line;
	}
	r->a[r->n++] = x;
	return list_mem_add(ld, sizeof(x));
}

/* run_finish - merge what is left and give the words up, shrunk */
static int
run_finish(struct list_loader *ld, struct run *r, uint64_t **a, size_t *n)
{
	int rc;

	if ((rc = run_compact(ld, r)) != 0)
		return rc;
	free(r->lines);
	r->lines = NULL;
	r->lcap = 0;
	if (r->n == 0) {
		free(r->a);
		r->a = NULL;
	} else if (r->n < r->cap) {
		uint64_t *na = reallocarray(r->a, r->n, sizeof(*na));

		if (na != NULL)
			r->a = na;
	}
	*a = r->a;
	*n = r->n;
	r->a = NULL;
	r->n = r->sorted = r->cap = 0;
	return 0;
}

/* mask4 - netmask of a prefix length */
static uint32_t
mask4(unsigned len)
{
	return len == 0 ? 0 : ~(uint32_t)0 << (32 - len);
}

/* list_ip4_prefix - up to four decimal octets, 0..255 each */
int
list_ip4_prefix(const char *s, uint32_t *addr, const char **end)
{
	uint32_t a = 0;
	int n = 0;

	for (;;) {
		uint32_t v = 0;

		if (*s < '0' || *s > '9')
			return 0;
		while (*s >= '0' && *s <= '9') {
			if (v <= 255)
				v = v * 10 + (uint32_t)(*s - '0');
			s++;
		}
		if (v > 255)
			return 0;
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

/*
 * parse_range4 - ip4set key: "a.b.c.d", a prefix "a.b.c" (not a single
 * octet), "prefix/len", "p1-p2" with p2 as many octets as p1 (completed
 * with 255s) or a single octet replacing the last one of p1.
 */
static enum list_key
parse_range4(const char *s, uint32_t *ap, uint32_t *bp, const char **end)
{
	uint32_t a, e, b;
	unsigned len, shift;
	int n, m;

	if ((n = list_ip4_prefix(s, &a, &s)) == 0)
		return LIST_KEY_BAD;
	if (*s == '/') {
		if ((s = parse_len(s + 1, 32, &len)) == NULL || len == 0)
			return LIST_KEY_BAD;
		if (a & ~mask4(len))
			return LIST_KEY_HOSTBITS;
		b = a | ~mask4(len);
	} else if (*s == '-') {
		if ((m = list_ip4_prefix(s + 1, &e, &s)) == 0)
			return LIST_KEY_BAD;
		shift = 32 - 8 * (unsigned)n;
		if (m == n)
			b = e;
		else if (m == 1)
			b = (a & ~((uint32_t)0xff << shift)) |
			    (e >> 24) << shift;
		else
			return LIST_KEY_BAD;
		b |= ((uint32_t)1 << shift) - 1;
		if (b < a)
			return LIST_KEY_BAD;
	} else {
		if (n == 1)
			return LIST_KEY_BAD;
		b = a | (((uint32_t)1 << (32 - 8 * n)) - 1);
	}
	if (!LIST_ISKEYEND(*s))
		return LIST_KEY_BAD;
	*ap = a;
	*bp = b;
	*end = s;
	return LIST_KEY_OK;
}

/* range_allowed - check a range against $MAXRANGE4 */
static bool
range_allowed(struct list_loader *ld, uint32_t a, uint32_t b)
{
	uint64_t count = (uint64_t)b - a + 1;

	if (ld->ld_maxrange4 != 0 && count > ld->ld_maxrange4) {
		/* the file's own limit, applied as it asks */
		list_warning(ld, "too large range (%llu) ignored (%u max)",
		    (unsigned long long)count, ld->ld_maxrange4);
		return false;
	}
	return true;
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
		run_free(&b->b_r[i]);
	free(b);
	ld->ld_tdata = NULL;
}

/*
 * ip4set_add - cut [a, b] into the largest aligned /8, /16, /24 and /32
 * blocks it holds whole, as rbldnsd does.
 */
static int
ip4set_add(struct list_loader *ld, uint64_t a, uint64_t b, uint32_t vidx)
{
	static const uint64_t size[4] = { 1, 1 << 8, 1 << 16, 1 << 24 };
	struct ip4set_b *bd = ld->ld_tdata;
	int g, rc;

	while (a <= b) {
		for (g = 3; g > 0; g--)
			if ((a & (size[g] - 1)) == 0 && a + size[g] - 1 <= b)
				break;
		if ((rc = run_push(ld, &bd->b_r[g], a << 32 | vidx)) != 0)
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
	enum list_key k;
	int excl, rc;
	char *s;

	s = skip_excl(line, &excl);
	if ((k = parse_range4(s, &a, &b, &end)) != LIST_KEY_OK) {
		list_key_problem(ld, k, s);
		return 0;
	}
	if (!range_allowed(ld, a, b))
		return 0;
	if ((rc = key_value(ld, excl, (char *)end, &vidx)) != 0)
		return rc == RBLMUX_EPARSE ? 0 : rc;
	if ((rc = ip4set_add(ld, a, b, vidx)) != 0)
		return rc;
	ld->ld_lines++;
	return 0;
}

/*
 * tab_index - split the sorted words of t into the slot index, the low
 * key bits and the value indexes; the value indexes take the front half
 * of the words' own memory, so the table never needs twice its size.
 */
static int
tab_index(struct ip4tab *t)
{
	size_t i = 0, n = t->t_n;
	uint32_t s, x, *nv;

	if (n < IDX_MIN)
		return 0;
	if (n >= UINT32_MAX)
		return RBLMUX_ENOMEM;
	t->t_idx = malloc((IDX_SLOTS + 1) * sizeof(*t->t_idx));
	t->t_low = malloc(n * sizeof(*t->t_low));
	if (t->t_idx == NULL || t->t_low == NULL)
		return RBLMUX_ENOMEM;
	for (s = 0; s <= IDX_SLOTS; s++) {
		while (i < n && (t->t_a[i] >> 48) < s)
			i++;
		t->t_idx[s] = (uint32_t)i;
	}
	for (i = 0; i < n; i++)
		t->t_low[i] = (uint16_t)(t->t_a[i] >> 32);
	/* value index i goes to bytes [4i, 4i + 4): words before i, read */
	for (i = 0; i < n; i++) {
		x = (uint32_t)t->t_a[i];
		memcpy((char *)t->t_a + i * sizeof(x), &x, sizeof(x));
	}
	nv = realloc(t->t_a, n * sizeof(*nv));
	t->t_vidx = nv != NULL ? nv : (uint32_t *)(void *)t->t_a;
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

/* ip4set_build - the tables from the runs */
static int
ip4set_build(struct list_loader *ld, struct list *l)
{
	struct ip4set_b *bd = ld->ld_tdata;
	struct ip4set *set;
	int i, rc = 0;

	if ((set = calloc(1, sizeof(*set))) == NULL)
		rc = RBLMUX_ENOMEM;
	for (i = 0; i < 4 && rc == 0; i++) {
		rc = run_finish(ld, &bd->b_r[i], &set->s_tab[i].t_a,
		    &set->s_tab[i].t_n);
		if (rc == 0 && i < 2)
			rc = tab_index(&set->s_tab[i]);
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

/* A run of blocks or one prefix, for list_walk_emit() */
struct ip4run {
	const struct ip4tab	*t;		/* ip4set table, or NULL */
	const uint64_t		*a;		/* ip4trie words */
	size_t			 lo;
};

/* ip4run_vidx - value index i of a run */
static uint32_t
ip4run_vidx(const void *ctx, size_t i)
{
	const struct ip4run *r = ctx;

	if (r->t != NULL)
		return tab_vidx(r->t, r->lo + i);
	return (uint32_t)r->a[r->lo + i];
}

/* walk_key - set the walked entry's IPv4 key */
static void
walk_key(struct list_walker *w, uint32_t key, unsigned plen)
{
	w->e.family = AF_INET;
	memset(w->e.key, 0, sizeof(w->e.key));
	w->e.key[0] = (uint8_t)(key >> 24);
	w->e.key[1] = (uint8_t)(key >> 16);
	w->e.key[2] = (uint8_t)(key >> 8);
	w->e.key[3] = (uint8_t)key;
	w->e.plen = plen;
}

/* ip4set_walk - the blocks of each table, /8 first, each run of a key once */
static int
ip4set_walk(const struct list *l, struct list_walker *w)
{
	const struct ip4set *set = l->l_data;
	struct ip4run r = { 0 };
	size_t i, j, slot;
	uint32_t key;
	int g, rc;

	for (g = 3; g >= 0; g--) {
		const struct ip4tab *t = &set->s_tab[g];

		r.t = t;
		for (i = 0, slot = 0; i < t->t_n; i = j) {
			if (t->t_idx != NULL) {
				while (t->t_idx[slot + 1] <= i)
					slot++;
				key = (uint32_t)slot << 16 | t->t_low[i];
				for (j = i + 1; j < t->t_idx[slot + 1] &&
				    t->t_low[j] == t->t_low[i]; j++)
					;
			} else {
				key = (uint32_t)(t->t_a[i] >> 32);
				for (j = i + 1; j < t->t_n &&
				    (uint32_t)(t->t_a[j] >> 32) == key; j++)
					;
			}
			walk_key(w, key, 32u - 8u * (unsigned)g);
			r.lo = i;
			if ((rc = list_walk_emit(l, w, j - i, ip4run_vidx,
			    &r)) != 0)
				return rc;
		}
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
	.lo_walk = ip4set_walk,
};

/*
 * ip4trie
 */

/* ip4trie_begin - start an ip4trie builder */
static int
ip4trie_begin(struct list_loader *ld)
{
	struct ip4trie_b *b;
	int i;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return RBLMUX_ENOMEM;
	for (i = 0; i <= 32; i++) {
		b->b_r[i].first = true;
		b->b_r[i].len = (uint8_t)i;
	}
	ld->ld_tdata = b;
	return 0;
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
		run_free(&b->b_r[i]);
	free(b);
	ld->ld_tdata = NULL;
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
	char *s;

	s = skip_excl(line, &excl);
	if ((n = list_ip4_prefix(s, &a, &end)) == 0) {
		list_key_problem(ld, LIST_KEY_BAD, s);
		return 0;
	}
	if (*end == '/') {
		if ((end = parse_len(end + 1, 32, &len)) == NULL) {
			list_key_problem(ld, LIST_KEY_BAD, s);
			return 0;
		}
	} else if (n == 1) {
		list_key_problem(ld, LIST_KEY_BAD, s);
		return 0;
	} else
		len = 8 * (unsigned)n;
	if (!LIST_ISKEYEND(*end)) {
		list_key_problem(ld, LIST_KEY_BAD, s);
		return 0;
	}
	if (a & ~mask4(len)) {
		list_key_problem(ld, LIST_KEY_HOSTBITS, s);
		return 0;
	}
	if (!range_allowed(ld, a, a | ~mask4(len)))
		return 0;
	if ((rc = key_value(ld, excl, (char *)end, &vidx)) != 0)
		return rc == RBLMUX_EPARSE ? 0 : rc;
	/* rbldnsd keeps the first entry for a prefix: see tail_first() */
	if ((rc = run_push(ld, &bd->b_r[len], (uint64_t)a << 32 | vidx)) != 0)
		return rc;
	ld->ld_lines++;
	return 0;
}

/* ip4trie_file_end - report the repeats of this file at its lines */
static int
ip4trie_file_end(struct list_loader *ld)
{
	struct ip4trie_b *bd = ld->ld_tdata;
	int i, rc;

	for (i = 0; i <= 32; i++)
		if ((rc = run_compact(ld, &bd->b_r[i])) != 0)
			return rc;
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

/* ip4trie_build - the sorted array of each prefix length */
static int
ip4trie_build(struct list_loader *ld, struct list *l)
{
	struct ip4trie_b *bd = ld->ld_tdata;
	struct ip4trie *t;
	int i, rc = 0;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		rc = RBLMUX_ENOMEM;
	for (i = 32; i >= 0 && rc == 0; i--) {
		if ((rc = run_finish(ld, &bd->b_r[i], &t->r_a[i],
		    &t->r_n[i])) != 0)
			break;
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

/* ip4trie_walk - each prefix, shortest length first */
static int
ip4trie_walk(const struct list *l, struct list_walker *w)
{
	const struct ip4trie *t = l->l_data;
	struct ip4run r = { 0 };
	unsigned len;
	size_t i;
	int rc;

	for (len = 0; len <= 32; len++) {
		r.a = t->r_a[len];
		for (i = 0; i < t->r_n[len]; i++) {
			walk_key(w, (uint32_t)(t->r_a[len][i] >> 32), len);
			r.lo = i;
			if ((rc = list_walk_emit(l, w, 1, ip4run_vidx,
			    &r)) != 0)
				return rc;
		}
	}
	return 0;
}

const struct list_ops list_ip4trie_ops = {
	.lo_type = LIST_IP4TRIE,
	.lo_name = "ip4trie",
	.lo_begin = ip4trie_begin,
	.lo_line = ip4trie_line,
	.lo_file_end = ip4trie_file_end,
	.lo_build = ip4trie_build,
	.lo_abort = ip4trie_abort,
	.lo_free = ip4trie_free,
	.lo_memory = ip4trie_memory,
	.lo_lookup_ip4 = ip4trie_lookup,
	.lo_walk = ip4trie_walk,
};
