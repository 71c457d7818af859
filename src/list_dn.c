/*
 * list_dn.c -- the dnset list format.
 *
 * Domain names with values: "example.com" lists the name only,
 * "*.example.com" every name below it, ".example.com" both; "!" makes an
 * exclusion. As in rbldnsd an exact entry for the queried name decides
 * first (an exclusion among its entries wins, otherwise all its values),
 * else the wildcard of the nearest enclosing name that has one.
 *
 * Names are kept as keys with their labels reversed and separated by NUL
 * bytes ("com\0example\0mail"), in two sorted arrays (exact and
 * wildcard). Every name below X then sorts right after X, which makes
 * the enclosing names of a query prefixes of its key and "is anything
 * below X" one binary search. 8 bytes per entry plus the key.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "list.h"
#include "list_int.h"

#define KEY_MAX		255	/* wire length limit of a name */
#define LABELS_MAX	128
#define BELOW_SCAN	64	/* entries looked at by has_below */

struct dne {
	uint32_t	 e_key;		/* offset of [len][key] in the pool */
	uint32_t	 e_vidx;
};

struct dnarr {
	struct dne	*a_e;
	size_t		 a_n;
	size_t		 a_cap;
};

/* Builder and index share a layout. */
struct dnset {
	struct dnarr	 d_exact;
	struct dnarr	 d_wild;
	uint8_t		*d_pool;
	size_t		 d_plen;
	size_t		 d_pcap;
};

/* A name split for lookups. */
struct dnkey {
	uint8_t		 k_key[KEY_MAX + 2];
	size_t		 k_plen[LABELS_MAX + 1];	/* key length after i labels */
	size_t		 k_off[LABELS_MAX + 1];		/* name offset of suffix */
	int		 k_nlab;
};

/*
 * make_key - reversed-label key of name[0, len): empty labels skipped,
 * upper case folded. Returns false if the name is empty or too long.
 */
static bool
make_key(const char *name, size_t len, struct dnkey *k)
{
	size_t end = len, start, klen = 0, wire = 1, i;

	k->k_nlab = 0;
	k->k_plen[0] = 0;
	k->k_off[0] = len;
	while (end > 0) {
		start = end;
		while (start > 0 && name[start - 1] != '.')
			start--;
		if (start < end) {
			size_t ll = end - start;

			if (ll > 63 || k->k_nlab == LABELS_MAX)
				return false;
			wire += ll + 1;
			if (wire > KEY_MAX)
				return false;
			if (klen > 0)
				k->k_key[klen++] = '\0';
			for (i = start; i < end; i++) {
				unsigned char c = (unsigned char)name[i];

				if (c >= 'A' && c <= 'Z')
					c += 'a' - 'A';
				k->k_key[klen++] = c;
			}
			k->k_nlab++;
			k->k_plen[k->k_nlab] = klen;
			k->k_off[k->k_nlab] = start;
		}
		end = start > 0 ? start - 1 : 0;
	}
	return k->k_nlab > 0;
}

/* arr_push - append an entry */
static int
arr_push(struct dnarr *a, uint32_t key, uint32_t vidx)
{
	if (a->a_n == a->a_cap) {
		size_t ncap = a->a_cap ? a->a_cap * 2 : 256;
		struct dne *ne = reallocarray(a->a_e, ncap, sizeof(*ne));

		if (ne == NULL)
			return RBLMUX_ENOMEM;
		a->a_e = ne;
		a->a_cap = ncap;
	}
	a->a_e[a->a_n].e_key = key;
	a->a_e[a->a_n].e_vidx = vidx;
	a->a_n++;
	return 0;
}

/* dnset_begin - start a builder */
static int
dnset_begin(struct list_loader *ld)
{
	ld->ld_tdata = calloc(1, sizeof(struct dnset));
	return ld->ld_tdata == NULL ? RBLMUX_ENOMEM : 0;
}

/* dnset_free - free a builder or an index */
static void
dnset_free(void *data)
{
	struct dnset *d = data;

	free(d->d_exact.a_e);
	free(d->d_wild.a_e);
	free(d->d_pool);
	free(d);
}

/* dnset_abort - drop a builder */
static void
dnset_abort(struct list_loader *ld)
{
	if (ld->ld_tdata != NULL)
		dnset_free(ld->ld_tdata);
	ld->ld_tdata = NULL;
}

/* dnset_line - one dnset entry */
static int
dnset_line(struct list_loader *ld, char *line)
{
	struct dnset *d = ld->ld_tdata;
	struct dnkey k;
	uint32_t vidx, koff;
	int excl = 0, exact = 1, wild = 0, rc;
	char *s = line, *e, tok[80];

	if (*s == '!') {
		excl = 1;
		s++;
		while (LIST_ISSPACE(*s))
			s++;
	}
	if (s[0] == '*' && s[1] == '.') {
		exact = 0;
		wild = 1;
		s += 2;
	} else if (s[0] == '.') {
		wild = 1;
		s++;
	}
	for (e = s; *e != '\0' && !LIST_ISSPACE(*e); e++)
		;
	if (!make_key(s, (size_t)(e - s), &k)) {
		list_error(ld, "invalid domain name '%s'",
		    list_tok(line + excl, tok, sizeof(tok)));
		return 0;
	}
	if (excl)
		vidx = LIST_VEXCL;	/* anything after it is ignored */
	else if ((rc = list_parse_value(ld, e, &vidx)) != 0)
		return rc == RBLMUX_EPARSE ? 0 : rc;
	if ((rc = list_mem_add(ld, k.k_plen[k.k_nlab] + 1 +
	    (size_t)(exact + wild) * sizeof(struct dne))) != 0)
		return rc;
	if (d->d_plen + k.k_plen[k.k_nlab] + 1 > d->d_pcap) {
		size_t ncap = d->d_pcap ? d->d_pcap * 2 : 4096;
		uint8_t *np;

		if (ncap > UINT32_MAX)
			return RBLMUX_ENOMEM;
		if ((np = realloc(d->d_pool, ncap)) == NULL)
			return RBLMUX_ENOMEM;
		d->d_pool = np;
		d->d_pcap = ncap;
	}
	koff = (uint32_t)d->d_plen;
	d->d_pool[d->d_plen++] = (uint8_t)k.k_plen[k.k_nlab];
	memcpy(d->d_pool + d->d_plen, k.k_key, k.k_plen[k.k_nlab]);
	d->d_plen += k.k_plen[k.k_nlab];
	if (exact && (rc = arr_push(&d->d_exact, koff, vidx)) != 0)
		return rc;
	if (wild && (rc = arr_push(&d->d_wild, koff, vidx)) != 0)
		return rc;
	ld->ld_lines++;
	return 0;
}

/* ecmp - order entries by key, then value */
static int
ecmp(const void *x, const void *y, void *arg)
{
	const uint8_t *pool = arg;
	const struct dne *a = x, *b = y;
	int c;

	c = list_keycmp(pool + a->e_key + 1, pool[a->e_key],
	    pool + b->e_key + 1, pool[b->e_key]);
	if (c != 0)
		return c;
	if (a->e_vidx != b->e_vidx)
		return a->e_vidx < b->e_vidx ? -1 : 1;
	return 0;
}

/* arr_finish - sort, drop duplicates, shrink */
static void
arr_finish(struct dnarr *a, uint8_t *pool)
{
	size_t i, j;

	if (a->a_n == 0)
		return;
	/* glibc's merge sort borrows a copy of the array: at most 8 bytes
	   an entry beside a name of several */
	qsort_r(a->a_e, a->a_n, sizeof(*a->a_e), ecmp, pool);
	for (i = 1, j = 1; i < a->a_n; i++)
		if (ecmp(&a->a_e[i], &a->a_e[j - 1], pool) != 0)
			a->a_e[j++] = a->a_e[i];
	a->a_n = j;
	if (a->a_n < a->a_cap) {
		struct dne *ne = reallocarray(a->a_e, a->a_n, sizeof(*ne));

		if (ne != NULL) {
			a->a_e = ne;
			a->a_cap = a->a_n;
		}
	}
}

/* dnset_build - sort both arrays */
static int
dnset_build(struct list_loader *ld, struct list *l)
{
	struct dnset *d = ld->ld_tdata;

	arr_finish(&d->d_exact, d->d_pool);
	arr_finish(&d->d_wild, d->d_pool);
	if (d->d_plen < d->d_pcap && d->d_plen > 0) {
		uint8_t *np = realloc(d->d_pool, d->d_plen);

		if (np != NULL) {
			d->d_pool = np;
			d->d_pcap = d->d_plen;
		}
	}
	l->l_data = d;
	ld->ld_tdata = NULL;
	return 0;
}

/* dnset_memory - bytes held by an index */
static size_t
dnset_memory(const void *data)
{
	const struct dnset *d = data;

	return sizeof(*d) + d->d_pcap +
	    (d->d_exact.a_cap + d->d_wild.a_cap) * sizeof(struct dne);
}

/* lower - first entry of a whose key is not below key */
static size_t
lower(const struct dnset *d, const struct dnarr *a, const uint8_t *key,
    size_t klen)
{
	size_t lo = 0, hi = a->a_n, mid;

	while (lo < hi) {
		const uint8_t *p;

		mid = lo + (hi - lo) / 2;
		p = d->d_pool + a->a_e[mid].e_key;
		if (list_keycmp(p + 1, p[0], key, klen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * find_run - entries of a with exactly key: returns 1 with [*lo, *hi) and
 * *excl set when an exclusion is among them, else 0.
 */
static int
find_run(const struct dnset *d, const struct dnarr *a, const uint8_t *key,
    size_t klen, size_t *lop, size_t *hip, int *excl)
{
	size_t lo = lower(d, a, key, klen), hi;
	const uint8_t *p;

	for (hi = lo; hi < a->a_n; hi++) {
		p = d->d_pool + a->a_e[hi].e_key;
		if (list_keycmp(p + 1, p[0], key, klen) != 0)
			break;
	}
	if (hi == lo)
		return 0;
	*lop = lo;
	*hip = hi;
	/* exclusions carry the highest index: last in the run */
	*excl = a->a_e[hi - 1].e_vidx == LIST_VEXCL;
	return 1;
}

/* dnset_lookup - exact entry first, then the nearest wildcard */
static int
dnset_lookup(const struct list *l, const char *name, size_t len,
    const struct list_value **vals, int max, size_t *subj_off)
{
	const struct dnset *d = l->l_data;
	const struct dnarr *a = &d->d_exact;
	struct dnkey k;
	size_t lo, hi, i;
	int lab, excl, n = 0;

	if (!make_key(name, len, &k))
		return 0;
	lab = k.k_nlab;
	if (!find_run(d, a, k.k_key, k.k_plen[lab], &lo, &hi, &excl)) {
		a = &d->d_wild;
		for (lab = k.k_nlab - 1; lab > 0; lab--)
			if (find_run(d, a, k.k_key, k.k_plen[lab], &lo, &hi,
			    &excl))
				break;
		if (lab == 0)
			return 0;
	}
	if (excl)
		return 0;
	*subj_off = k.k_off[lab];
	if (max <= 0)
		return (int)(hi - lo);
	for (i = lo; i < hi && n < max; i++)
		vals[n++] = &l->l_values[a->a_e[i].e_vidx];
	return n;
}

/*
 * listed_below - does a hold a listing strictly below the first plen
 * bytes of key? Looks at BELOW_SCAN entries at most and then says yes.
 */
static int
listed_below(const struct dnset *d, const struct dnarr *a, uint8_t *key,
    size_t plen)
{
	size_t i, klen = plen, seen = 0;
	const uint8_t *p;

	if (plen > 0)
		key[klen++] = '\0';
	for (i = lower(d, a, key, klen); i < a->a_n; i++) {
		p = d->d_pool + a->a_e[i].e_key;
		if (p[0] < klen || memcmp(p + 1, key, klen) != 0)
			break;
		if (++seen > BELOW_SCAN)
			return 1;
		/* a run without its exclusion: look at its last entry */
		if (i + 1 < a->a_n) {
			const uint8_t *q = d->d_pool + a->a_e[i + 1].e_key;

			if (list_keycmp(p + 1, p[0], q + 1, q[0]) == 0)
				continue;
		}
		if (a->a_e[i].e_vidx != LIST_VEXCL)
			return 1;
	}
	return 0;
}

/* dnset_has_below - is some name below name listed? */
static int
dnset_has_below(const struct list *l, const char *name, size_t len)
{
	const struct dnset *d = l->l_data;
	struct dnkey k;
	size_t lo, hi;
	int lab, excl;

	if (!make_key(name, len, &k)) {
		if (len > 0 && !(len == 1 && name[0] == '.'))
			return 0;
		/* the zone apex: anything at all */
		k.k_nlab = 0;
		k.k_plen[0] = 0;
	}
	/* a fresh child of name falls to the nearest wildcard above it */
	for (lab = k.k_nlab; lab > 0; lab--)
		if (find_run(d, &d->d_wild, k.k_key, k.k_plen[lab], &lo, &hi,
		    &excl)) {
			if (!excl)
				return 1;
			break;
		}
	return listed_below(d, &d->d_exact, k.k_key, k.k_plen[k.k_nlab]) ||
	    listed_below(d, &d->d_wild, k.k_key, k.k_plen[k.k_nlab]);
}

/* dn_vidx - value index i of a run of entries */
static uint32_t
dn_vidx(const void *ctx, size_t i)
{
	return ((const struct dne *)ctx)[i].e_vidx;
}

/* dnset_walk - each name once (a run of its entries), exact then wild */
static int
dnset_walk(const struct list *l, struct list_walker *w)
{
	const struct dnset *d = l->l_data;
	char *name = w->name;
	size_t i, j, k, n, len;
	int pass, rc;

	w->e.family = AF_UNSPEC;
	w->e.plen = 0;
	memset(w->e.key, 0, sizeof(w->e.key));
	w->e.name = name;
	for (pass = 0; pass < 2; pass++) {
		const struct dnarr *a = pass == 0 ? &d->d_exact : &d->d_wild;

		w->e.wild = pass == 1;
		for (i = 0; i < a->a_n; i = j) {
			const uint8_t *p = d->d_pool + a->a_e[i].e_key;

			for (j = i + 1; j < a->a_n; j++) {
				const uint8_t *q = d->d_pool + a->a_e[j].e_key;

				if (list_keycmp(p + 1, p[0], q + 1, q[0]) != 0)
					break;
			}
			/* "com\0example" back to "example.com" */
			len = p[0];
			for (k = len, n = 0; k > 0; ) {
				size_t end = k, start = k;

				while (start > 0 && p[start] != '\0')
					start--;
				/* label bytes p[start + 1 .. end], 1-based */
				if (n > 0)
					name[n++] = '.';
				memcpy(name + n, p + start + 1, end - start);
				n += end - start;
				k = start > 0 ? start - 1 : 0;
			}
			name[n] = '\0';
			w->e.name_len = n;
			if ((rc = list_walk_emit(l, w, j - i, dn_vidx,
			    &a->a_e[i])) != 0)
				return rc;
		}
	}
	return 0;
}

/* after - first entry of a whose key is above key (all: first) */
static size_t
after(const struct dnset *d, const struct dnarr *a, bool all,
    const uint8_t *key, size_t klen)
{
	size_t i;
	const uint8_t *p;

	if (all)
		return 0;
	for (i = lower(d, a, key, klen); i < a->a_n; i++) {
		p = d->d_pool + a->a_e[i].e_key;
		if (list_keycmp(p + 1, p[0], key, klen) != 0)
			break;
	}
	return i;
}

/* list_dnset_next - the next name of either array, in key order */
int
list_dnset_next(const struct list *l, bool first, struct list_npos *pos)
{
	const struct dnset *d = l->l_data;
	const uint8_t *best = NULL, *p;
	size_t i, k;

	for (k = 0; k < 2; k++) {
		const struct dnarr *a = k == 0 ? &d->d_exact : &d->d_wild;

		i = after(d, a, first, pos->key, pos->klen);
		if (i >= a->a_n)
			continue;
		p = d->d_pool + a->a_e[i].e_key;
		if (best == NULL || list_keycmp(p + 1, p[0], best + 1, best[0]) < 0)
			best = p;
	}
	if (best == NULL)
		return 0;
	memcpy(pos->key, best + 1, best[0]);
	pos->klen = best[0];
	return 1;
}

const struct list_ops list_dnset_ops = {
	.lo_type = LIST_DNSET,
	.lo_name = "dnset",
	.lo_begin = dnset_begin,
	.lo_line = dnset_line,
	.lo_build = dnset_build,
	.lo_abort = dnset_abort,
	.lo_free = dnset_free,
	.lo_memory = dnset_memory,
	.lo_lookup_name = dnset_lookup,
	.lo_has_below = dnset_has_below,
	.lo_walk = dnset_walk,
};
