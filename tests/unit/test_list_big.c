/*
 * test_list_big.c -- a 200,000-entry ip4set, loaded from a file, checked
 * against a brute-force reading of rbldnsd's rules on random addresses.
 *
 * The reference does not cut ranges into blocks: for an address inside
 * an entry's range, the entry takes part at the granularity of the
 * largest aligned /32, /24, /16 or /8 block around the address that the
 * range holds whole. The most specific granularity any entry takes part
 * at decides: an exclusion there means not listed, otherwise every
 * distinct value there, in the order the values were first seen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "list.h"

#define NENTRIES	200000
#define NQUERIES	2500
#define NNETS		12
#define NVALS		40

struct ent {
	uint32_t	 a;		/* first address */
	uint32_t	 b;		/* last address */
	int		 val;		/* value id, -1 = exclusion */
};

struct val {
	uint32_t	 a;
	char		 txt[32];	/* "" = no TXT */
	int		 order;		/* first-seen rank, -1 = unseen */
};

static uint64_t	rng = 0x9e3779b97f4a7c15ULL;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static void
ip(char *buf, size_t sz, uint32_t a)
{
	snprintf(buf, sz, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255,
	    (a >> 8) & 255, a & 255);
}

/* granularity (0 = /32 .. 3 = /8) at which [a, b] holds addr, or -1 */
static int
granularity(uint32_t a, uint32_t b, uint32_t addr)
{
	static const uint32_t size[4] = { 1, 1 << 8, 1 << 16, 1 << 24 };
	int g;

	if (addr < a || addr > b)
		return -1;
	for (g = 3; g > 0; g--) {
		uint32_t lo = addr & ~(size[g] - 1);

		if (lo >= a && (uint64_t)lo + size[g] - 1 <= b)
			break;
	}
	return g;
}

static void
test_big_ip4set(void **state)
{
	static struct ent ents[NENTRIES];
	struct val vals[NVALS + 1];
	uint32_t nets[NNETS];
	char path[] = "/tmp/test_list_big.XXXXXX";
	const char *files[1] = { path };
	struct list_opts o;
	struct list *l;
	int fd, rank = 1, i, q, nlisted, nexcl, nmulti;
	size_t e;
	FILE *f;

	(void)state;
	for (i = 0; i < NNETS; i++)
		nets[i] = rnd() << 16;
	nets[NNETS - 1] = 0x0a000000;	/* one net at the start of a /8 */
	/* value 0: the built-in default, seen first */
	memset(vals, 0, sizeof(vals));
	vals[0].a = 0x7f000002;
	vals[0].order = 0;
	for (i = 1; i <= NVALS; i++) {
		/* never 127.0.0.2 without TXT: that one is value 0 */
		vals[i].a = 0x7f000000U + (uint32_t)(i % 13) + 3;
		if (i % 3 != 0)
			snprintf(vals[i].txt, sizeof(vals[i].txt), "txt %d", i);
		vals[i].order = -1;
	}

	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	for (e = 0; e < NENTRIES; e++) {
		struct ent *x = &ents[e];
		uint32_t base = nets[rnd() % NNETS] | (rnd() & 0xffff);
		unsigned k = rnd() % 100, len;
		const char *bang = rnd() % 8 == 0 ? "!" : "";
		char s1[20], s2[20];

		if (k < 2)
			base = (base & 0xff000000) | (rnd() & 0xffffff);
		ip(s1, sizeof(s1), base);
		if (k < 55) {
			/* one address */
			x->a = x->b = base;
			fprintf(f, "%s%s", bang, s1);
		} else if (k < 65) {
			/* a /24 as a three-octet prefix */
			x->a = base & 0xffffff00;
			x->b = x->a | 0xff;
			fprintf(f, "%s%u.%u.%u", bang, x->a >> 24,
			    (x->a >> 16) & 255, (x->a >> 8) & 255);
		} else if (k < 80) {
			/* CIDR, now and then a big one */
			len = 17 + rnd() % 15;
			if (rnd() % 200 == 0)
				len = 8 + rnd() % 9;
			x->a = base & ~(uint32_t)0 << (32 - len);
			x->b = x->a | ~(~(uint32_t)0 << (32 - len));
			ip(s1, sizeof(s1), x->a);
			fprintf(f, "%s%s/%u", bang, s1, len);
		} else if (k < 92) {
			/* a full range */
			x->a = base;
			x->b = base + (rnd() % 4 == 0 ? rnd() % 70000 :
			    rnd() % 600);
			if (x->b < x->a)
				x->b = 0xffffffff;
			ip(s2, sizeof(s2), x->b);
			fprintf(f, "%s%s-%s", bang, s1, s2);
		} else {
			/* a range with a one-octet end */
			x->a = base;
			x->b = base | (rnd() % 256);
			if (x->b < x->a)
				x->b = x->a;
			fprintf(f, "%s%s-%u", bang, s1, x->b & 255);
		}
		x->val = *bang != '\0' ? -1 : 0;
		if (x->val == 0 && rnd() % 4 == 0) {
			int v = 1 + (int)(rnd() % NVALS);

			x->val = v;
			if (vals[v].order < 0)
				vals[v].order = rank++;
			if (vals[v].txt[0] != '\0')
				fprintf(f, " :%u:%s", vals[v].a & 255,
				    vals[v].txt);
			else
				fprintf(f, " :%u:", vals[v].a & 255);
		}
		fputc('\n', f);
	}
	fclose(f);

	memset(&o, 0, sizeof(o));
	o.name = "big";
	o.type = LIST_IP4SET;
	o.files = files;
	o.nfiles = 1;
	assert_int_equal(list_load(&o, &l), 0);
	unlink(path);
	assert_int_equal(list_entries(l), NENTRIES);

	nlisted = nexcl = nmulti = 0;
	for (q = 0; q < NQUERIES; q++) {
		const struct list_value *got[NVALS + 2];
		int want[NVALS + 2], nwant = 0, ngot, best = 4, excl = 0;
		char seen[NVALS + 1];
		uint32_t addr;

		/* near an entry's edges, or anywhere in the nets */
		if (q % 2 == 0) {
			const struct ent *x = &ents[rnd() % NENTRIES];

			addr = (q % 4 == 0 ? x->a : x->b) + (rnd() % 5) - 2;
		} else
			addr = nets[rnd() % NNETS] | (rnd() & 0xffff);
		memset(seen, 0, sizeof(seen));
		for (e = 0; e < NENTRIES; e++) {
			int g = granularity(ents[e].a, ents[e].b, addr);

			if (g < 0 || g > best)
				continue;
			if (g < best) {
				best = g;
				excl = 0;
				memset(seen, 0, sizeof(seen));
			}
			if (ents[e].val < 0)
				excl = 1;
			else
				seen[ents[e].val] = 1;
		}
		if (best < 4 && !excl) {
			/* distinct values by first-seen rank */
			int r;

			for (r = 0; r < rank; r++)
				for (i = 0; i <= NVALS; i++)
					if (seen[i] && vals[i].order == r)
						want[nwant++] = i;
		}
		nlisted += nwant > 0;
		nexcl += excl;
		nmulti += nwant > 1;
		ngot = list_lookup_ip4(l, addr, got, NVALS + 2);
		if (ngot != nwant)
			fail_msg("%u.%u.%u.%u: %d values, want %d",
			    addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255,
			    addr & 255, ngot, nwant);
		for (i = 0; i < ngot; i++) {
			const struct val *w = &vals[want[i]];

			assert_int_equal(got[i]->lv_a, w->a);
			if (w->txt[0] == '\0')
				assert_null(got[i]->lv_txt);
			else
				assert_string_equal(got[i]->lv_txt, w->txt);
		}
	}
	/* the data is dense enough to exercise every rule */
	print_message("%d listed, %d excluded, %d with several values\n",
	    nlisted, nexcl, nmulti);
	assert_true(nlisted > NQUERIES / 4);
	assert_true(nexcl > NQUERIES / 50);
	assert_true(nmulti > NQUERIES / 50);
	list_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_big_ip4set),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
