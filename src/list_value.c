/*
 * list_value.c -- values of local lists and their TXT templates.
 *
 * A value is an A record and an optional TXT template. Values are kept
 * once each in a table while loading: most entries of a big list share
 * the default value, and rbldnsd answers identical A+TXT pairs once.
 * rbldnsd expands "$n" and "$=" when it answers, with the variables as
 * they stand after the load; doing it once when the load ends gives the
 * same text and leaves only "$" (the subject) and "$$" for
 * list_txt_expand() at query time.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "list.h"
#include "list_int.h"

/* worst case of a resolved template: every output byte an escaped "$$" */
#define RESOLVED_MAX	(2 * LIST_TXT_LEN + 2)

/* vhash - hash of a value */
static uint32_t
vhash(uint32_t a, uint32_t hastxt, const char *txt, size_t len)
{
	uint32_t h = 2166136261U;
	size_t i;

	h = (h ^ a) * 16777619U;
	h = (h ^ hastxt) * 16777619U;
	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)txt[i]) * 16777619U;
	return h;
}

/* vtable_grow - double the value hash, rebuilt from the value table */
static int
vtable_grow(struct list_loader *ld)
{
	uint32_t ncap = ld->ld_vhashcap ? ld->ld_vhashcap * 2 : 1024;
	uint32_t *nh, i, mask = ncap - 1;

	/* the old hash goes first: never both at once */
	free(ld->ld_vhash);
	ld->ld_vhash = NULL;
	ld->ld_vhashcap = 0;
	nh = calloc(ncap, sizeof(*nh));
	if (nh == NULL)
		return RBLMUX_ENOMEM;
	for (i = 0; i < ld->ld_nvals; i++) {
		const struct list_rawval *v = &ld->ld_vals[i];
		uint32_t h = vhash(v->rv_a, v->rv_hastxt,
		    ld->ld_pool + v->rv_txt, v->rv_len) & mask;

		while (nh[h] != 0)
			h = (h + 1) & mask;
		nh[h] = i + 1;
	}
	ld->ld_vhash = nh;
	ld->ld_vhashcap = ncap;
	return 0;
}

/* list_value_add - index of value (a, txt); txt may point into ld_pool */
int
list_value_add(struct list_loader *ld, uint32_t a, const char *txt,
    size_t len, uint32_t hastxt, uint32_t *vidx)
{
	struct list_rawval *v;
	uint32_t h, mask, i;
	size_t off;
	int rc;

	if (!hastxt)
		len = 0;
	if ((uint64_t)(ld->ld_nvals + 1) * 2 > ld->ld_vhashcap &&
	    (rc = vtable_grow(ld)) != 0)
		return rc;
	mask = ld->ld_vhashcap - 1;
	h = vhash(a, hastxt, txt, len) & mask;
	while ((i = ld->ld_vhash[h]) != 0) {
		v = &ld->ld_vals[i - 1];
		if (v->rv_a == a && v->rv_hastxt == hastxt &&
		    v->rv_len == len &&
		    memcmp(ld->ld_pool + v->rv_txt, txt, len) == 0) {
			*vidx = i - 1;
			return 0;
		}
		h = (h + 1) & mask;
	}
	if (ld->ld_nvals >= LIST_VEXCL - 1)
		return RBLMUX_ENOMEM;
	if ((rc = list_mem_add(ld, sizeof(struct list_value) + len + 1)) != 0)
		return rc;
	if (ld->ld_nvals == ld->ld_capvals) {
		uint32_t ncap = ld->ld_capvals ? ld->ld_capvals * 2 : 64;
		struct list_rawval *nv;

		nv = reallocarray(ld->ld_vals, ncap, sizeof(*nv));
		if (nv == NULL)
			return RBLMUX_ENOMEM;
		ld->ld_vals = nv;
		ld->ld_capvals = ncap;
	}
	if (ld->ld_poollen + len + 1 > ld->ld_poolcap) {
		size_t ncap = ld->ld_poolcap ? ld->ld_poolcap : 4096;
		ptrdiff_t inpool = -1;
		char *np;

		if (txt >= ld->ld_pool && ld->ld_pool != NULL &&
		    txt < ld->ld_pool + ld->ld_poollen)
			inpool = txt - ld->ld_pool;
		while (ld->ld_poollen + len + 1 > ncap)
			ncap *= 2;
		if (ncap > UINT32_MAX)
			return RBLMUX_ENOMEM;
		np = realloc(ld->ld_pool, ncap);
		if (np == NULL)
			return RBLMUX_ENOMEM;
		ld->ld_pool = np;
		ld->ld_poolcap = ncap;
		if (inpool >= 0)
			txt = np + inpool;
	}
	off = ld->ld_poollen;
	memcpy(ld->ld_pool + off, txt, len);
	ld->ld_pool[off + len] = '\0';
	ld->ld_poollen += len + 1;
	v = &ld->ld_vals[ld->ld_nvals];
	v->rv_a = a;
	v->rv_txt = (uint32_t)off;
	v->rv_len = (uint32_t)len;
	v->rv_hastxt = hastxt;
	ld->ld_vhash[h] = ++ld->ld_nvals;
	*vidx = ld->ld_nvals - 1;
	return 0;
}

/*
 * parse_a - an A value: "2" is 127.0.0.2, "1.2" is 1.0.0.2, "1.2.3" is
 * 1.2.0.3 (the last part fills the low byte), "1.2.3.4" as written. Each
 * part is a decimal 0..255; the result must not be 0. Returns the end or
 * NULL.
 */
static const char *
parse_a(const char *s, uint32_t *out)
{
	uint32_t part[4], a;
	int n = 0;

	for (;;) {
		uint32_t v = 0;

		if (!isdigit((unsigned char)*s))
			return NULL;
		while (isdigit((unsigned char)*s)) {
			if (v <= 255)
				v = v * 10 + (uint32_t)(*s - '0');
			s++;
		}
		if (v > 255)
			return NULL;
		part[n++] = v;
		if (n == 4 || *s != '.')
			break;
		s++;
	}
	switch (n) {
	case 1:
		a = part[0];
		break;
	case 2:
		a = part[0] << 24 | part[1];
		break;
	case 3:
		a = part[0] << 24 | part[1] << 16 | part[2];
		break;
	default:
		a = part[0] << 24 | part[1] << 16 | part[2] << 8 | part[3];
		break;
	}
	if (a == 0)
		return NULL;
	if (n == 1)
		a |= 0x7f000000U;
	*out = a;
	return s;
}

/* list_parse_value_def - a value with def supplying what is left out */
int
list_parse_value_def(struct list_loader *ld, char *s, uint32_t def,
    uint32_t *vidx)
{
	const struct list_rawval *dv = &ld->ld_vals[def];
	uint32_t a = dv->rv_a, hastxt;
	const char *e;
	size_t len;
	char tok[80];

	while (LIST_ISSPACE(*s))
		s++;
	if (*s == '\0' || LIST_ISCOMMENT(*s)) {
		*vidx = def;
		return 0;
	}
	if (*s == ':') {
		e = parse_a(s + 1, &a);
		if (e == NULL) {
			list_error(ld, "invalid A value '%s'",
			    list_tok(s, tok, sizeof(tok)));
			return RBLMUX_EPARSE;
		}
		s = (char *)e;
		while (LIST_ISSPACE(*s))
			s++;
		if (*s == '\0') {
			/* ":A" alone: the TXT of the default */
			return list_value_add(ld, a, ld->ld_pool + dv->rv_txt,
			    dv->rv_len, dv->rv_hastxt, vidx);
		}
		if (*s != ':') {
			list_error(ld, "unrecognized value for an entry '%s'",
			    list_tok(s, tok, sizeof(tok)));
			return RBLMUX_EPARSE;
		}
		s++;
		while (LIST_ISSPACE(*s))
			s++;
	}
	len = strlen(s);
	if (len > LIST_TXT_MAX) {
		list_warning(ld, "TXT truncated to %d bytes", LIST_TXT_MAX);
		len = LIST_TXT_MAX;
	}
	hastxt = len > 0;
	return list_value_add(ld, a, s, len, hastxt, vidx);
}

/* list_parse_value - the value of an entry, after its key */
int
list_parse_value(struct list_loader *ld, char *s, uint32_t *vidx)
{
	return list_parse_value_def(ld, s, ld->ld_defval, vidx);
}

struct rbuf {
	char	*b_buf;		/* RESOLVED_MAX + 1 bytes */
	size_t	 b_len;
	size_t	 b_min;		/* bytes the output has at least */
	int	 b_full;	/* output reached LIST_TXT_LEN */
};

/* rb_lit - append one literal output byte */
static void
rb_lit(struct rbuf *b, char c)
{
	if (b->b_min >= LIST_TXT_LEN) {
		b->b_full = 1;
		return;
	}
	if (c == '$')
		b->b_buf[b->b_len++] = '$';
	b->b_buf[b->b_len++] = c;
	b->b_min++;
}

/* rb_subject - append a reference to the subject */
static void
rb_subject(struct rbuf *b)
{
	if (b->b_min >= LIST_TXT_LEN) {
		b->b_full = 1;
		return;
	}
	b->b_buf[b->b_len++] = '$';
	b->b_min++;
}

/*
 * resolve - template t with entry text e into b. In t: "$$" is a dollar,
 * "$0".."$9" a variable (verbatim; "$n" itself when undefined), "$=" the
 * entry text verbatim (the subject when empty), "$" otherwise the subject.
 */
static void
resolve(const struct list_loader *ld, const char *t, const char *e,
    struct rbuf *b)
{
	const char *v;

	while (*t != '\0' && !b->b_full) {
		if (*t != '$') {
			rb_lit(b, *t++);
			continue;
		}
		t++;
		if (*t == '$') {
			rb_lit(b, '$');
			t++;
		} else if (isdigit((unsigned char)*t)) {
			v = ld->ld_subst[*t - '0'];
			if (v == NULL) {
				rb_lit(b, '$');
				rb_lit(b, *t);
			} else
				while (*v != '\0' && !b->b_full)
					rb_lit(b, *v++);
			t++;
		} else if (*t == '=') {
			if (*e == '\0')
				rb_subject(b);
			for (v = e; *v != '\0' && !b->b_full; v++)
				rb_lit(b, *v);
			t++;
		} else
			rb_subject(b);
	}
	b->b_buf[b->b_len] = '\0';
}

/*
 * resolve_value - the resolved template of value i into tmp: returns its
 * length, 0 for none
 */
static size_t
resolve_value(const struct list_loader *ld, uint32_t i, char *tmp)
{
	const char *base = ld->ld_subst[LIST_SUBST_BASE];
	const struct list_rawval *rv = &ld->ld_vals[i];
	const char *raw = rv->rv_hastxt ? ld->ld_pool + rv->rv_txt : "";
	struct rbuf b = { tmp, 0, 0, 0 };

	if (raw[0] == '=')		/* "=text" opts out of the base */
		resolve(ld, raw + 1, raw + 1, &b);
	else if (base != NULL)
		resolve(ld, base, raw, &b);
	else if (rv->rv_hastxt)
		resolve(ld, raw, raw, &b);
	return b.b_len;
}

/*
 * list_resolve_values - the final value table of l. The value hash is
 * not needed any more and goes first; the text pool is sized by a first
 * pass, so it is allocated once.
 */
int
list_resolve_values(struct list_loader *ld, struct list *l, uint32_t ttl)
{
	char tmp[RESOLVED_MAX + 1];
	size_t len = 0, n;
	uint32_t i;
	char *pool = NULL;

	free(ld->ld_vhash);
	ld->ld_vhash = NULL;
	ld->ld_vhashcap = 0;
	for (i = 0; i < ld->ld_nvals; i++)
		if ((n = resolve_value(ld, i, tmp)) > 0)
			len += n + 1;
	l->l_values = calloc(ld->ld_nvals ? ld->ld_nvals : 1,
	    sizeof(*l->l_values));
	if (len > 0)
		pool = malloc(len);
	if (l->l_values == NULL || (len > 0 && pool == NULL)) {
		free(pool);
		return RBLMUX_ENOMEM;
	}
	l->l_nvalues = ld->ld_nvals;
	l->l_txt = pool;
	l->l_txtlen = len;
	for (i = 0, len = 0; i < ld->ld_nvals; i++) {
		l->l_values[i].lv_a = ld->ld_vals[i].rv_a;
		l->l_values[i].lv_ttl = ttl;
		if ((n = resolve_value(ld, i, tmp)) == 0)
			continue;
		memcpy(pool + len, tmp, n + 1);
		l->l_values[i].lv_txt = pool + len;
		len += n + 1;
	}
	return 0;
}

/* list_fmt_a - dotted form of a host-order A value */
const char *
list_fmt_a(uint32_t a, char *buf, size_t cap)
{
	snprintf(buf, cap, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255,
	    (a >> 8) & 255, a & 255);
	return buf;
}

/* list_txt_expand - expand "$" and "$$" in a resolved template */
size_t
list_txt_expand(const char *tmpl, const char *subject, char *buf,
    size_t bufsz)
{
	size_t n = 0, sl;

	if (tmpl == NULL)
		return 0;
	sl = subject != NULL ? strlen(subject) : 0;
	while (*tmpl != '\0' && n < bufsz) {
		if (*tmpl != '$') {
			buf[n++] = *tmpl++;
			continue;
		}
		tmpl++;
		if (*tmpl == '$') {
			buf[n++] = '$';
			tmpl++;
			continue;
		}
		if (sl > bufsz - n) {
			memcpy(buf + n, subject, bufsz - n);
			n = bufsz;
		} else {
			memcpy(buf + n, subject, sl);
			n += sl;
		}
	}
	return n;
}
