/*
 * list.c -- local lists in rbldnsd's data file syntax: the common part.
 *
 * Reads the files of a list as one logical file, line by line, and deals
 * with what is the same for every format: blank lines, comments, "$"
 * specials and ":A:TXT" default lines; values and TXT templates are in
 * list_value.c. The keys of each format are parsed and indexed by
 * list_ip4.c, list_ip6.c and list_dn.c through a struct list_ops.
 *
 * A load allocates with malloc and fails with RBLMUX_ENOMEM rather than
 * exiting: lists are reloaded while the daemon serves. A loaded list is
 * never written again, so any number of threads may read it.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "list.h"
#include "list_int.h"

#define DEFAULT_TTL	2100		/* rbldnsd's -t default, 35m */
#define DEFAULT_A	0x7f000002U	/* 127.0.0.2 */
#define READ_CHUNK	65536

static const struct list_ops *const list_types[] = {
	[LIST_IP4SET] = &list_ip4set_ops,
	[LIST_IP4TRIE] = &list_ip4trie_ops,
	[LIST_IP6TRIE] = &list_ip6trie_ops,
	[LIST_DNSET] = &list_dnset_ops,
};
#define NTYPES	(sizeof(list_types) / sizeof(list_types[0]))

/* A source of lines: a file descriptor or a memory buffer. */
struct lsrc {
	int		 s_fd;		/* -1: read from s_mem */
	const char	*s_mem;
	size_t		 s_memlen;
	size_t		 s_mempos;
	char		*s_buf;
	size_t		 s_cap;		/* one byte kept for a NUL */
	size_t		 s_start;	/* unread data is [start, end) */
	size_t		 s_end;
	int		 s_eof;
	int		 s_errno;	/* of a failed read */
	uint64_t	 s_total;	/* bytes read from s_fd */
};

/* list_type_name - text form of a list type */
const char *
list_type_name(enum list_type t)
{
	if ((size_t)t < NTYPES && list_types[t] != NULL)
		return list_types[t]->lo_name;
	return "unknown";
}

/* list_type_parse - list type from its text form */
bool
list_type_parse(const char *s, enum list_type *out)
{
	size_t i;

	if (s == NULL)
		return false;
	for (i = 0; i < NTYPES; i++)
		if (strcasecmp(s, list_types[i]->lo_name) == 0) {
			*out = list_types[i]->lo_type;
			return true;
		}
	return false;
}

/* report - pass one problem on to the caller */
static void
report(struct list_loader *ld, enum list_severity sev, unsigned line,
    const char *fmt, va_list ap)
{
	char msg[512];

	if (ld->ld_opts->warn == NULL)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	ld->ld_opts->warn(ld->ld_opts->warn_arg, sev, ld->ld_file, line, msg);
}

/* list_error - a line or file whose data cannot be used */
void
list_error(struct list_loader *ld, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(ld, LIST_ERROR, ld->ld_line, fmt, ap);
	va_end(ap);
}

/* list_warning - a line used as well as it can be, or one that adds nothing */
void
list_warning(struct list_loader *ld, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(ld, LIST_WARNING, ld->ld_line, fmt, ap);
	va_end(ap);
}

/* list_report - a problem found later than its line was read */
void
list_report(struct list_loader *ld, enum list_severity sev, unsigned line,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(ld, sev, line, fmt, ap);
	va_end(ap);
}

/* list_key_problem - report a key that is not an address or prefix */
void
list_key_problem(struct list_loader *ld, enum list_key k, const char *key)
{
	char tok[80];

	if (k == LIST_KEY_HOSTBITS)
		list_error(ld, "invalid range (non-zero host part) '%s'",
		    list_tok(key, tok, sizeof(tok)));
	else
		list_error(ld, "invalid address '%s'",
		    list_tok(key, tok, sizeof(tok)));
}

/* list_mem_add - take bytes of list data; -EFBIG past the limit */
int
list_mem_add(struct list_loader *ld, uint64_t bytes)
{
	ld->ld_mem += bytes;
	if (ld->ld_memmax == 0 || ld->ld_mem <= ld->ld_memmax)
		return 0;
	list_error(ld, "the list needs more than its max-memory of %llu "
	    "bytes here; the file is not loaded",
	    (unsigned long long)ld->ld_memmax);
	ld->ld_memmax = 0;		/* reported once; the load stops */
	return -EFBIG;
}

/* list_mem_sub - give back bytes of list data */
void
list_mem_sub(struct list_loader *ld, uint64_t bytes)
{
	ld->ld_mem -= bytes < ld->ld_mem ? bytes : ld->ld_mem;
}

/* list_tok - printable copy of the token at s for a message */
const char *
list_tok(const char *s, char *buf, size_t bufsz)
{
	size_t i = 0;

	while (*s != '\0' && !LIST_ISSPACE(*s) && i + 4 < bufsz && i < 64) {
		unsigned char c = (unsigned char)*s++;

		buf[i++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (*s != '\0' && !LIST_ISSPACE(*s) && i + 4 <= bufsz) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

/*
 * list_sort64 - LSD radix sort: 16-bit digits for many words, 8-bit
 * digits for fewer (the counters then fit the cache). The counters of
 * all passes are taken in one read; a digit all words share costs no
 * pass, so the unused high bits of value indexes are free.
 */
uint64_t *
list_sort64(uint64_t *a, uint64_t *tmp, size_t n)
{
	uint64_t *src = a, *dst = tmp, *t;
	unsigned bits = n >= 65536 ? 16 : 8, passes = 64 / bits, p;
	size_t size = (size_t)1 << bits, mask = size - 1, i, d;
	uint32_t *count, *cp, sum, c;

	if (n < 64) {
		/* small: insertion sort */
		for (i = 1; i < n; i++) {
			uint64_t v = a[i];
			size_t j = i;

			while (j > 0 && a[j - 1] > v) {
				a[j] = a[j - 1];
				j--;
			}
			a[j] = v;
		}
		return a;
	}
	if (n > UINT32_MAX ||
	    (count = calloc(passes * size, sizeof(*count))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		for (p = 0; p < passes; p++)
			count[p * size + ((a[i] >> (p * bits)) & mask)]++;
	for (p = 0; p < passes; p++) {
		unsigned shift = p * bits;

		cp = count + p * size;
		if (cp[(src[0] >> shift) & mask] == n)
			continue;
		for (sum = 0, d = 0; d < size; d++) {
			c = cp[d];
			cp[d] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			dst[cp[(src[i] >> shift) & mask]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
	free(count);
	return src;
}

/*
 * In-place sort for the formats whose elements are not 64-bit words.
 */

#define SORT_SMALL	12	/* shorter runs: insertion sort */

/* swap_elems - exchange two elements of size bytes */
static inline void
swap_elems(char *a, char *b, size_t size)
{
	char t[32];

	while (size > 0) {
		size_t k = size < sizeof(t) ? size : sizeof(t);

		memcpy(t, a, k);
		memcpy(a, b, k);
		memcpy(b, t, k);
		a += k;
		b += k;
		size -= k;
	}
}

/* sift_down - restore the heap below root in base[0, n) */
static void
sift_down(char *base, size_t root, size_t n, size_t size,
    int (*cmp)(const void *, const void *, void *), void *arg)
{
	size_t child;

	while ((child = 2 * root + 1) < n) {
		if (child + 1 < n && cmp(base + child * size,
		    base + (child + 1) * size, arg) < 0)
			child++;
		if (cmp(base + root * size, base + child * size, arg) >= 0)
			return;
		swap_elems(base + root * size, base + child * size, size);
		root = child;
	}
}

/* heap_sort - the fallback when quicksort degenerates */
static void
heap_sort(char *base, size_t n, size_t size,
    int (*cmp)(const void *, const void *, void *), void *arg)
{
	size_t i;

	for (i = n / 2; i-- > 0;)
		sift_down(base, i, n, size, cmp, arg);
	for (i = n; i-- > 1;) {
		swap_elems(base, base + i * size, size);
		sift_down(base, 0, i, size, cmp, arg);
	}
}

/* list_sort - introsort in place */
void
list_sort(void *vbase, size_t n, size_t size,
    int (*cmp)(const void *, const void *, void *), void *arg)
{
	char *base = vbase, *lo, *mid, *hi;
	size_t i, j, k;
	int depth = 0;

	for (k = n; k > 1; k >>= 1)
		depth += 2;
	while (n > SORT_SMALL) {
		if (depth-- == 0) {
			heap_sort(base, n, size, cmp, arg);
			return;
		}
		/* median of three, moved to base[0] as the pivot */
		lo = base;
		mid = base + (n / 2) * size;
		hi = base + (n - 1) * size;
		if (cmp(mid, lo, arg) < 0)
			swap_elems(mid, lo, size);
		if (cmp(hi, mid, arg) < 0) {
			swap_elems(hi, mid, size);
			if (cmp(mid, lo, arg) < 0)
				swap_elems(mid, lo, size);
		}
		swap_elems(base, mid, size);
		/* Hoare partition: [1, j] <= pivot <= [j + 1, n) */
		i = 0;
		j = n;
		for (;;) {
			do
				i++;
			while (i < n && cmp(base + i * size, base, arg) < 0);
			do
				j--;
			while (cmp(base + j * size, base, arg) > 0);
			if (i >= j)
				break;
			swap_elems(base + i * size, base + j * size, size);
		}
		swap_elems(base, base + j * size, size);
		/* the smaller side by recursion: the stack stays O(log n) */
		if (j < n - j - 1) {
			list_sort(base, j, size, cmp, arg);
			base += (j + 1) * size;
			n -= j + 1;
		} else {
			list_sort(base + (j + 1) * size, n - j - 1, size, cmp,
			    arg);
			n = j;
		}
	}
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && cmp(base + (j - 1) * size,
		    base + j * size, arg) > 0; j--)
			swap_elems(base + (j - 1) * size, base + j * size, size);
}

/*
 * Specials.
 */

/* parse_u32 - decimal number; returns the end or NULL */
static const char *
parse_u32(const char *s, uint32_t *out)
{
	uint64_t v = 0;

	if (!isdigit((unsigned char)*s))
		return NULL;
	while (isdigit((unsigned char)*s)) {
		v = v * 10 + (uint64_t)(*s++ - '0');
		if (v > UINT32_MAX)
			return NULL;
	}
	*out = (uint32_t)v;
	return s;
}

/* parse_time - number with an optional unit s, m, h, d or w */
static const char *
parse_time(const char *s, uint32_t *out)
{
	uint64_t v;
	uint32_t n;

	if ((s = parse_u32(s, &n)) == NULL)
		return NULL;
	v = n;
	switch (tolower((unsigned char)*s)) {
	case 's':
		s++;
		break;
	case 'm':
		v *= 60;
		s++;
		break;
	case 'h':
		v *= 3600;
		s++;
		break;
	case 'd':
		v *= 86400;
		s++;
		break;
	case 'w':
		v *= 604800;
		s++;
		break;
	}
	if (v > UINT32_MAX)
		return NULL;
	*out = (uint32_t)v;
	return s;
}

/* parse_ttl - a whole time word as a TTL, clamped as RFC 2181 8 says */
static bool
parse_ttl(struct list_loader *ld, const char *w, const char *what,
    uint32_t *out)
{
	const char *e = parse_time(w, out);

	if (e == NULL || *e != '\0')
		return false;
	if (*out > LIST_TTL_MAX) {
		list_warning(ld, "%s %u is more than %u (RFC 2181), using %u",
		    what, *out, LIST_TTL_MAX, LIST_TTL_MAX);
		*out = LIST_TTL_MAX;
	}
	return true;
}

/* next_word - NUL-terminate the word at *sp, return it, advance *sp */
static char *
next_word(char **sp)
{
	char *s = *sp, *w;

	while (LIST_ISSPACE(*s))
		s++;
	if (*s == '\0')
		return NULL;
	w = s;
	while (*s != '\0' && !LIST_ISSPACE(*s))
		s++;
	if (*s != '\0')
		*s++ = '\0';
	*sp = s;
	return w;
}

/* keyword - if s starts with kw and a blank, return the arguments */
static char *
keyword(char *s, const char *kw)
{
	size_t n = strlen(kw);

	if (strncasecmp(s, kw, n) != 0 || !LIST_ISSPACE(s[n]))
		return NULL;
	s += n;
	while (LIST_ISSPACE(*s))
		s++;
	return s;
}

/* parse_stamp - $TIMESTAMP time: yyyy[:-]mm[:-]dd[[:-]hh[[:-]mi[[:-]ss]]] */
static bool
parse_stamp(const char *s, time_t *out)
{
	static const int width[6] = { 4, 2, 2, 2, 2, 2 };
	int f[6] = { 0, 1, 1, 0, 0, 0 }, i, k;
	struct tm tm;
	time_t t;

	if (strcmp(s, "0") == 0 || strcmp(s, "-") == 0) {
		*out = 0;
		return true;
	}
	for (i = 0; i < 6 && *s != '\0'; i++) {
		if (i > 0 && (*s == ':' || *s == '-'))
			s++;
		for (f[i] = 0, k = 0; k < width[i]; k++, s++) {
			if (!isdigit((unsigned char)*s))
				return false;
			f[i] = f[i] * 10 + (*s - '0');
		}
	}
	if (*s != '\0' || i < 3 || f[1] < 1 || f[1] > 12 || f[2] < 1 ||
	    f[2] > 31 || f[3] > 23 || f[4] > 59 || f[5] > 60)
		return false;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = f[0] - 1900;
	tm.tm_mon = f[1] - 1;
	tm.tm_mday = f[2];
	tm.tm_hour = f[3];
	tm.tm_min = f[4];
	tm.tm_sec = f[5];
	t = timegm(&tm);
	if (t == (time_t)-1)
		return false;
	*out = t;
	return true;
}

/* special_timestamp - "$TIMESTAMP dstamp [expires]" */
static int
special_timestamp(struct list_loader *ld, char *args)
{
	char *w1 = next_word(&args), *w2 = next_word(&args);
	time_t stamp, exp = 0;
	uint32_t rel;
	const char *e;

	if (w1 == NULL || next_word(&args) != NULL || !parse_stamp(w1, &stamp))
		return RBLMUX_EPARSE;
	if (w2 != NULL) {
		if (*w2 == '+') {
			if ((e = parse_time(w2 + 1, &rel)) == NULL ||
			    *e != '\0' || stamp == 0)
				return RBLMUX_EPARSE;
			exp = stamp + (time_t)rel;
		} else if (!parse_stamp(w2, &exp))
			return RBLMUX_EPARSE;
	}
	if (stamp != 0 && stamp > time(NULL)) {
		/* a clock a little behind the source's: no reason to stop */
		list_warning(ld, "$TIMESTAMP in the future, ignored");
		return 0;
	}
	ld->ld_stamp = stamp;
	ld->ld_expires = exp;
	return 0;
}

/* special_soa - "$SOA ttl origin person serial refresh retry expire min" */
static int
special_soa(struct list_loader *ld, char *args)
{
	char *w[9];
	uint32_t t[8];
	struct list_soa *soa;
	size_t l1, l2;
	int i;

	if (ld->ld_soa != NULL)
		return 0;		/* only the first one counts */
	for (i = 0; i < 9; i++)
		w[i] = next_word(&args);
	if (w[7] == NULL || w[8] != NULL)
		return RBLMUX_EPARSE;
	for (i = 0; i < 8; i++) {
		const char *e;

		if (i == 1 || i == 2)
			continue;
		if (i == 0 || i == 7) {
			if (!parse_ttl(ld, w[i], i == 0 ? "$SOA TTL" :
			    "$SOA minimum", &t[i]))
				return RBLMUX_EPARSE;
			continue;
		}
		e = i == 3 ? parse_u32(w[i], &t[i]) : parse_time(w[i], &t[i]);
		if (e == NULL || *e != '\0')
			return RBLMUX_EPARSE;
	}
	l1 = strlen(w[1]);
	l2 = strlen(w[2]);
	soa = malloc(sizeof(*soa) + l1 + l2 + 2);
	if (soa == NULL)
		return RBLMUX_ENOMEM;
	memcpy((char *)(soa + 1), w[1], l1 + 1);
	memcpy((char *)(soa + 1) + l1 + 1, w[2], l2 + 1);
	soa->ls_mname = (char *)(soa + 1);
	soa->ls_rname = (char *)(soa + 1) + l1 + 1;
	soa->ls_ttl = t[0];
	soa->ls_serial = t[3];
	soa->ls_refresh = t[4];
	soa->ls_retry = t[5];
	soa->ls_expire = t[6];
	soa->ls_minttl = t[7];
	ld->ld_soa = soa;
	return 0;
}

/* special_ns - "$NS ttl name name..." */
static int
special_ns(struct list_loader *ld, char *args)
{
	char *w, *names[LIST_NS_MAX], *p;
	size_t n = 0, total = 0, i;
	struct list_ns *ns;
	uint32_t ttl;

	if (ld->ld_ns != NULL)
		return 0;		/* only the first one counts */
	if ((w = next_word(&args)) == NULL ||
	    !parse_ttl(ld, w, "$NS TTL", &ttl))
		return RBLMUX_EPARSE;
	if (*args == '\0')
		return RBLMUX_EPARSE;
	while ((w = next_word(&args)) != NULL) {
		if (*w == '-' || n == LIST_NS_MAX)
			continue;
		names[n++] = w;
		total += strlen(w) + 1;
	}
	ns = malloc(sizeof(*ns) + total);
	if (ns == NULL)
		return RBLMUX_ENOMEM;
	memset(ns, 0, sizeof(*ns));
	ns->ln_ttl = ttl;
	ns->ln_count = n;
	p = (char *)(ns + 1);
	for (i = 0; i < n; i++) {
		size_t l = strlen(names[i]) + 1;

		memcpy(p, names[i], l);
		ns->ln_names[i] = p;
		p += l;
	}
	ld->ld_ns = ns;
	return 0;
}

/* special_maxrange4 - "$MAXRANGE4 /len" or "$MAXRANGE4 count" */
static int
special_maxrange4(struct list_loader *ld, char *args)
{
	uint32_t r;
	const char *e;
	int cidr = 0;

	if (*args == '/') {
		cidr = 1;
		args++;
	}
	if ((e = parse_u32(args, &r)) == NULL || *e != '\0' || r == 0)
		return RBLMUX_EPARSE;
	if (cidr) {
		if (r > 32)
			return RBLMUX_EPARSE;
		r = (uint32_t)1 << (32 - r);
	}
	if (ld->ld_maxrange4 != 0 && ld->ld_maxrange4 <= r) {
		list_warning(ld, "ignoring attempt to increase $MAXRANGE4 "
		    "from %u to %u", ld->ld_maxrange4, r);
		return 0;
	}
	ld->ld_maxrange4 = r;
	return 0;
}

/*
 * special - a line starting with "$" (or "#$", ";$", ":$"); s is what
 * follows the dollar sign. One that cannot be read is an error and
 * skipped. Returns 0, or RBLMUX_ENOMEM.
 */
static int
special(struct list_loader *ld, char *s)
{
	char *args, tok[80];
	uint32_t ttl;
	int rc = RBLMUX_EPARSE;

	if ((args = keyword(s, "ttl")) != NULL) {
		if (parse_ttl(ld, args, "$TTL", &ttl)) {
			ld->ld_ttl = ttl;
			rc = 0;
		}
	} else if ((args = keyword(s, "maxrange4")) != NULL)
		rc = special_maxrange4(ld, args);
	else if ((args = keyword(s, "soa")) != NULL)
		rc = special_soa(ld, args);
	else if ((args = keyword(s, "ns")) != NULL)
		rc = special_ns(ld, args);
	else if ((args = keyword(s, "timestamp")) != NULL)
		rc = special_timestamp(ld, args);
	else if ((isdigit((unsigned char)s[0]) || s[0] == '=') &&
	    LIST_ISSPACE(s[1])) {
		int n = s[0] == '=' ? LIST_SUBST_BASE : s[0] - '0';

		rc = 0;
		if (ld->ld_subst[n] == NULL) {
			/* rbldnsd keeps the first definition */
			args = s + 2;
			while (LIST_ISSPACE(*args))
				args++;
			if ((ld->ld_subst[n] = strdup(args)) == NULL)
				rc = RBLMUX_ENOMEM;
		}
	}
	if (rc == RBLMUX_EPARSE) {
		size_t i;

		/* the whole line, not just its first word */
		for (i = 0; s[i] != '\0' && i < 64; i++)
			tok[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
		tok[i] = '\0';
		list_error(ld, "invalid or unrecognized special entry '$%s%s'",
		    tok, s[i] != '\0' ? "..." : "");
		rc = 0;
	}
	return rc;
}

/*
 * Reading lines.
 */

/* src_fill - make room and read more; returns 0 or RBLMUX_EIO */
static int
src_fill(struct lsrc *r)
{
	size_t room;
	ssize_t n;

	if (r->s_start > 0) {
		memmove(r->s_buf, r->s_buf + r->s_start, r->s_end - r->s_start);
		r->s_end -= r->s_start;
		r->s_start = 0;
	}
	room = r->s_cap - 1 - r->s_end;
	if (room > READ_CHUNK)
		room = READ_CHUNK;
	if (r->s_fd < 0) {
		n = (ssize_t)(r->s_memlen - r->s_mempos);
		if ((size_t)n > room)
			n = (ssize_t)room;
		if (n > 0)
			memcpy(r->s_buf + r->s_end, r->s_mem + r->s_mempos,
			    (size_t)n);
		r->s_mempos += (size_t)n;
	} else {
		do
			n = read(r->s_fd, r->s_buf + r->s_end, room);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			r->s_errno = errno;
			return RBLMUX_EIO;
		}
		r->s_total += (uint64_t)n;
	}
	if (n == 0)
		r->s_eof = 1;
	r->s_end += (size_t)n;
	return 0;
}

/*
 * src_line - next line, NUL-terminated, without its newline. Returns 1
 * with *line and *len set, 0 at the end, or RBLMUX_EIO. A line longer than
 * LIST_LINE_MAX is consumed and returned with *toolong set.
 */
static int
src_line(struct lsrc *r, char **line, size_t *len, int *toolong)
{
	char *p;
	int rc;

	*toolong = 0;
	for (;;) {
		p = memchr(r->s_buf + r->s_start, '\n', r->s_end - r->s_start);
		if (p != NULL) {
			*p = '\0';
			*line = r->s_buf + r->s_start;
			*len = (size_t)(p - *line);
			r->s_start = (size_t)(p + 1 - r->s_buf);
			if (*len >= LIST_LINE_MAX)
				*toolong = 1;
			if (*toolong) {
				*len = 0;
				**line = '\0';
			}
			return 1;
		}
		if (r->s_end - r->s_start >= LIST_LINE_MAX) {
			/* too long: drop what we have, keep looking for \n */
			*toolong = 1;
			r->s_start = r->s_end = 0;
		}
		if (r->s_eof) {
			if (r->s_end == r->s_start && !*toolong)
				return 0;
			*line = r->s_buf + r->s_start;
			*len = r->s_end - r->s_start;
			(*line)[*len] = '\0';
			r->s_start = r->s_end;
			if (*toolong) {
				*len = 0;
				**line = '\0';
			}
			return 1;
		}
		if ((rc = src_fill(r)) != 0)
			return rc;
	}
}

/* is_special - does a trimmed line hold a "$" special? */
static char *
is_special(char *s)
{
	if (s[0] == '$')
		return s + 1;
	if ((s[0] == '#' || s[0] == ';' || s[0] == ':') && s[1] == '$')
		return s + 2;
	return NULL;
}

/* read_source - feed every line of one source to the loader */
static int
read_source(struct list_loader *ld, struct lsrc *r)
{
	char *line, *end, *sp;
	size_t len;
	int toolong, rc;

	ld->ld_line = 0;
	ld->ld_defval = ld->ld_builtin;	/* a default lasts to end of file */
	while ((rc = src_line(r, &line, &len, &toolong)) == 1) {
		ld->ld_line++;
		if (toolong) {
			list_error(ld, "line longer than %d bytes, skipped",
			    LIST_LINE_MAX);
			continue;
		}
		if (memchr(line, '\0', len) != NULL) {
			list_error(ld, "NUL byte in line, skipped");
			continue;
		}
		end = line + len;
		while (end > line && LIST_ISSPACE(end[-1]))
			*--end = '\0';
		while (LIST_ISSPACE(*line))
			line++;
		if (*line == '\0')
			continue;
		if ((sp = is_special(line)) != NULL) {
			if ((rc = special(ld, sp)) != 0)
				return rc;
			continue;
		}
		if (LIST_ISCOMMENT(*line))
			continue;
		/* ip6trie: "::1" is an address, not a default line */
		if (*line == ':' && !(ld->ld_ops->lo_type == LIST_IP6TRIE &&
		    line[1] == ':')) {
			uint32_t v;

			rc = list_parse_value_def(ld, line, ld->ld_builtin, &v);
			if (rc == 0)
				ld->ld_defval = v;
			else if (rc != RBLMUX_EPARSE)
				return rc;
			continue;
		}
		if ((rc = ld->ld_ops->lo_line(ld, line)) != 0)
			return rc;
	}
	if (rc == 0 && ld->ld_ops->lo_file_end != NULL)
		rc = ld->ld_ops->lo_file_end(ld);
	return rc;
}

/* loader_free - release what a loader holds */
static void
loader_free(struct list_loader *ld)
{
	int i;

	if (ld->ld_tdata != NULL && ld->ld_ops->lo_abort != NULL)
		ld->ld_ops->lo_abort(ld);
	free(ld->ld_vals);
	free(ld->ld_vhash);
	free(ld->ld_pool);
	for (i = 0; i < LIST_NSUBST; i++)
		free(ld->ld_subst[i]);
	free(ld->ld_soa);
	free(ld->ld_ns);
}

/* loader_init - prepare a loader for opts */
static int
loader_init(struct list_loader *ld, const struct list_opts *opts)
{
	int rc;

	memset(ld, 0, sizeof(*ld));
	ld->ld_opts = opts;
	if ((size_t)opts->type >= NTYPES)
		return RBLMUX_EINVAL;
	ld->ld_ops = list_types[opts->type];
	ld->ld_file = opts->name != NULL ? opts->name : "-";
	ld->ld_memmax = opts->max_memory;
	if ((rc = list_value_add(ld, DEFAULT_A, "", 0, 0, &ld->ld_builtin)) != 0)
		return rc;
	ld->ld_defval = ld->ld_builtin;
	return ld->ld_ops->lo_begin(ld);
}

/* loader_finish - build the list from a complete load */
static int
loader_finish(struct list_loader *ld, time_t mtime, struct list **out)
{
	const struct list_opts *opts = ld->ld_opts;
	struct list *l;
	uint32_t ttl;
	int rc;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return RBLMUX_ENOMEM;
	l->l_type = opts->type;
	l->l_ops = ld->ld_ops;
	l->l_mtime = mtime;
	ttl = ld->ld_ttl ? ld->ld_ttl :
	    (opts->default_ttl ? opts->default_ttl : DEFAULT_TTL);
	if (ttl > LIST_TTL_MAX)
		ttl = LIST_TTL_MAX;
	/* lo_build consumes the builder whether it succeeds or not */
	if ((rc = list_resolve_values(ld, l, ttl)) != 0 ||
	    (rc = ld->ld_ops->lo_build(ld, l)) != 0) {
		list_free(l);
		return rc;
	}
	l->l_lines = ld->ld_lines;
	l->l_stamp = ld->ld_stamp;
	l->l_expires = ld->ld_expires;
	l->l_soa = ld->ld_soa;
	l->l_ns = ld->ld_ns;
	ld->ld_soa = NULL;
	ld->ld_ns = NULL;
	if (l->l_soa != NULL && l->l_soa->ls_serial == 0)
		l->l_soa->ls_serial = (uint32_t)mtime;
	l->l_mem = sizeof(*l) + l->l_nvalues * sizeof(*l->l_values) +
	    l->l_txtlen;
	*out = l;
	return 0;
}

/* src_init - set up a line source; fd -1 reads mem */
static int
src_init(struct lsrc *r, int fd, const char *mem, size_t memlen)
{
	memset(r, 0, sizeof(*r));
	r->s_fd = fd;
	r->s_mem = mem;
	r->s_memlen = memlen;
	r->s_cap = LIST_LINE_MAX + READ_CHUNK + 1;
	if (mem != NULL && memlen + 2 < r->s_cap)
		r->s_cap = memlen + 2;	/* all of it fits */
	r->s_buf = malloc(r->s_cap);
	return r->s_buf == NULL ? RBLMUX_ENOMEM : 0;
}

/* list_load_transient - may the same files load when read again? */
bool
list_load_transient(int rc)
{
	switch (rc) {
	case RBLMUX_ENOMEM:
	case RBLMUX_ECHANGED:
	case -EMFILE:
	case -ENFILE:
	case -ENOBUFS:
		return true;
	default:
		return false;
	}
}

/* same_stat - has a file kept its size and modification time? */
static bool
same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* list_load_reported - did list_load() report its failure rc? */
bool
list_load_reported(int rc)
{
	return rc != RBLMUX_ENOMEM && rc != RBLMUX_EINVAL;
}

/*
 * open_file - open one list file for reading: a regular file only, and
 * without blocking on the way (a FIFO would wait for a writer). Returns
 * the descriptor with *st filled, or the reason as a negative code,
 * reported unless list_load_reported() leaves it to the caller.
 */
static int
open_file(struct list_loader *ld, const char *path, struct stat *st)
{
	int fd, rc;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, st) != 0) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
	} else if (!S_ISREG(st->st_mode)) {
		close(fd);
		rc = S_ISDIR(st->st_mode) ? -EISDIR : RBLMUX_ENOTREG;
	} else
		return fd;
	if (list_load_reported(rc))
		list_error(ld, "cannot open: %s", rblmux_strerror(rc));
	return rc;
}

/* read_file - read one list file; notice a rewrite while it is read */
static int
read_file(struct list_loader *ld, struct lsrc *r, size_t i, time_t *mtime)
{
	const struct list_opts *opts = ld->ld_opts;
	struct stat st, after;
	int fd, rc;

	ld->ld_file = opts->files[i];
	ld->ld_line = 0;
	if ((fd = open_file(ld, opts->files[i], &st)) < 0)
		return fd;
	if (opts->ids != NULL) {
		opts->ids[i].dev = st.st_dev;
		opts->ids[i].ino = st.st_ino;
		opts->ids[i].size = st.st_size;
		opts->ids[i].mtime = st.st_mtim;
	}
	if (st.st_mtime > *mtime)
		*mtime = st.st_mtime;
	r->s_fd = fd;
	r->s_start = r->s_end = 0;
	r->s_eof = 0;
	r->s_total = 0;
	rc = read_source(ld, r);
	if (rc == RBLMUX_EIO && r->s_errno != 0) {
		list_error(ld, "read error: %s", strerror(r->s_errno));
		rc = -r->s_errno;	/* the reason, not a generic EIO */
	}
	/*
	 * A file rewritten in place while it was read gave a mix of old
	 * and new lines: its size or time moved, or it held more or less
	 * than it said.
	 */
	if (rc == 0 && (fstat(fd, &after) != 0 || !same_stat(&st, &after) ||
	    r->s_total != (uint64_t)after.st_size)) {
		ld->ld_line = 0;
		list_error(ld, "the file changed while it was read");
		rc = RBLMUX_ECHANGED;
	}
	close(fd);
	return rc;
}

/* list_load - load a list from its files */
int
list_load(const struct list_opts *opts, struct list **out)
{
	struct list_loader ld;
	struct lsrc r;
	time_t mtime = 0;
	size_t i;
	int rc;

	if ((rc = loader_init(&ld, opts)) != 0)
		goto done;
	if ((rc = src_init(&r, -1, NULL, 0)) != 0)
		goto done;
	for (i = 0; i < opts->nfiles && rc == 0; i++)
		rc = read_file(&ld, &r, i, &mtime);
	free(r.s_buf);
	if (rc == 0)
		rc = loader_finish(&ld, mtime, out);
done:
	loader_free(&ld);
	return rc;
}

/* list_load_mem - load a list from a memory buffer */
int
list_load_mem(const struct list_opts *opts, const char *buf, size_t len,
    struct list **out)
{
	struct list_loader ld;
	struct lsrc r;
	int rc;

	if (buf == NULL && len > 0)
		return RBLMUX_EINVAL;
	if ((rc = loader_init(&ld, opts)) != 0)
		goto done;
	if ((rc = src_init(&r, -1, buf, len)) != 0)
		goto done;
	rc = read_source(&ld, &r);
	free(r.s_buf);
	if (rc == 0)
		rc = loader_finish(&ld, 0, out);
done:
	loader_free(&ld);
	return rc;
}

/* list_free - release a list */
void
list_free(struct list *l)
{
	if (l == NULL)
		return;
	if (l->l_data != NULL)
		l->l_ops->lo_free(l->l_data);
	free(l->l_values);
	free(l->l_txt);
	free(l->l_soa);
	free(l->l_ns);
	free(l);
}

/* list_lookup_ip4 - values listing an IPv4 address */
int
list_lookup_ip4(const struct list *l, uint32_t addr,
    const struct list_value **vals, int max)
{
	if (l == NULL || l->l_ops->lo_lookup_ip4 == NULL)
		return 0;
	return l->l_ops->lo_lookup_ip4(l, addr, vals, max);
}

/* list_lookup_ip6 - values listing an IPv6 address */
int
list_lookup_ip6(const struct list *l, const uint8_t addr[16],
    const struct list_value **vals, int max)
{
	if (l == NULL || l->l_ops->lo_lookup_ip6 == NULL)
		return 0;
	return l->l_ops->lo_lookup_ip6(l, addr, vals, max);
}

/* list_lookup_name_subject - values listing a name, and the matched name */
int
list_lookup_name_subject(const struct list *l, const char *name, size_t len,
    const struct list_value **vals, int max, size_t *subj_off)
{
	size_t off = 0;
	int n;

	if (l == NULL || l->l_ops->lo_lookup_name == NULL)
		return 0;
	n = l->l_ops->lo_lookup_name(l, name, len, vals, max, &off);
	if (n > 0 && subj_off != NULL)
		*subj_off = off;
	return n;
}

/* list_lookup_name - values listing a name */
int
list_lookup_name(const struct list *l, const char *name, size_t len,
    const struct list_value **vals, int max)
{
	return list_lookup_name_subject(l, name, len, vals, max, NULL);
}

/* list_has_below - is some name below name listed? */
int
list_has_below(const struct list *l, const char *name, size_t len)
{
	if (l == NULL || l->l_ops->lo_has_below == NULL)
		return 0;
	return l->l_ops->lo_has_below(l, name, len);
}

/* list_walk - every entry of a list */
int
list_walk(const struct list *l, list_walk_fn *fn, void *arg)
{
	struct list_walker w;
	int rc;

	if (l == NULL || l->l_data == NULL || l->l_ops->lo_walk == NULL)
		return 0;
	memset(&w, 0, sizeof(w));
	w.fn = fn;
	w.arg = arg;
	rc = l->l_ops->lo_walk(l, &w);
	free(w.vals);
	return rc;
}

/* list_walk_emit - one entry with its value indexes to the callback */
int
list_walk_emit(const struct list *l, struct list_walker *w, size_t n,
    uint32_t (*vidx)(const void *ctx, size_t i), const void *ctx)
{
	size_t i;

	if (n > w->cap) {
		const struct list_value **nv;
		size_t ncap = w->cap ? w->cap : 16;

		while (ncap < n)
			ncap *= 2;
		if ((nv = reallocarray(w->vals, ncap, sizeof(*nv))) == NULL)
			return RBLMUX_ENOMEM;
		w->vals = nv;
		w->cap = ncap;
	}
	w->e.nvals = 0;
	/* exclusions carry the highest index: last among the key's */
	w->e.excluded = n > 0 && vidx(ctx, n - 1) == LIST_VEXCL;
	for (i = 0; i < n && !w->e.excluded; i++)
		w->vals[w->e.nvals++] = &l->l_values[vidx(ctx, i)];
	w->e.vals = w->vals;
	return w->fn(w->arg, &w->e);
}

/* list_type - type of a list */
enum list_type
list_type(const struct list *l)
{
	return l->l_type;
}

/* list_entries - data lines kept */
size_t
list_entries(const struct list *l)
{
	return l != NULL ? l->l_lines : 0;
}

/* list_memory - bytes held by a list */
size_t
list_memory(const struct list *l)
{
	if (l == NULL)
		return 0;
	return l->l_mem + (l->l_data != NULL ?
	    l->l_ops->lo_memory(l->l_data) : 0);
}

/* list_mtime - newest modification time of the list's files */
time_t
list_mtime(const struct list *l)
{
	return l != NULL ? l->l_mtime : 0;
}

/* list_soa - the list's $SOA */
const struct list_soa *
list_soa(const struct list *l)
{
	return l != NULL ? l->l_soa : NULL;
}

/* list_ns - the list's $NS */
const struct list_ns *
list_ns(const struct list *l)
{
	return l != NULL ? l->l_ns : NULL;
}

/* list_stamp - $TIMESTAMP of the data */
time_t
list_stamp(const struct list *l)
{
	return l != NULL ? l->l_stamp : 0;
}

/* list_expires - $TIMESTAMP expiry of the data */
time_t
list_expires(const struct list *l)
{
	return l != NULL ? l->l_expires : 0;
}

/* list_next_name - the next name of a dnset list, in tree order */
int
list_next_name(const struct list *l, bool first, struct list_npos *pos)
{
	return l->l_type == LIST_DNSET ? list_dnset_next(l, first, pos) : 0;
}

/* list_next_pos - the next block of an address list, in tree order */
int
list_next_pos(const struct list *l, bool first, struct list_pos *pos)
{
	uint32_t k = (uint32_t)pos->key[0] << 24 | (uint32_t)pos->key[1] <<
	    16 | (uint32_t)pos->key[2] << 8 | pos->key[3];
	unsigned plen = pos->plen;
	int rc;

	switch (l->l_type) {
	case LIST_IP4SET:
		rc = list_ip4set_next(l, first, &k, &plen);
		break;
	case LIST_IP4TRIE:
		rc = list_ip4trie_next(l, first, &k, &plen);
		break;
	case LIST_IP6TRIE:
		return list_ip6trie_next(l, first, pos->key, &pos->plen);
	default:
		return 0;
	}
	if (rc) {
		memset(pos->key, 0, sizeof(pos->key));
		pos->key[0] = (uint8_t)(k >> 24);
		pos->key[1] = (uint8_t)(k >> 16);
		pos->key[2] = (uint8_t)(k >> 8);
		pos->key[3] = (uint8_t)k;
		pos->plen = plen;
	}
	return rc;
}

/*
 * list_sort_records - LSD radix sort by the first klen bytes: counts of
 * every byte position in one pass, then one stable pass per position
 * that not all records share, from the last.
 */
int
list_sort_records(void *base, size_t n, size_t size, size_t klen)
{
	size_t (*cnt)[256], i, sum, d;
	uint8_t *from = base, *to, *tmp;

	if (n < 2 || klen == 0)
		return 0;
	if ((tmp = malloc(n * size)) == NULL ||
	    (cnt = calloc(klen, sizeof(*cnt))) == NULL) {
		free(tmp);
		return RBLMUX_ENOMEM;
	}
	for (i = 0; i < n; i++)
		for (d = 0; d < klen; d++)
			cnt[d][from[i * size + d]]++;
	to = tmp;
	for (d = klen; d-- > 0;) {
		size_t *c = cnt[d];

		if (c[((uint8_t *)base)[d]] == n)
			continue;		/* all alike: in order */
		for (i = 0, sum = 0; i < 256; i++) {
			size_t x = c[i];

			c[i] = sum;
			sum += x;
		}
		for (i = 0; i < n; i++)
			memcpy(to + size * c[from[i * size + d]]++,
			    from + i * size, size);
		to = from;
		from = from == base ? tmp : base;
	}
	if (from != base)
		memcpy(base, from, n * size);
	free(cnt);
	free(tmp);
	return 0;
}
