/*
 * dyn_ctl.c -- the control socket's "list" commands: add, del and show
 * dynamic entries (dyn.h) of the local lists of the current view.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "conf.h"
#include "ctl.h"
#include "dyn.h"
#include "err.h"
#include "view.h"

#define USAGE	"usage: list add LIST ADDR[/LEN]|NAME [--ttl DURATION] " \
		"[--reason TEXT] [--value A] | list del LIST ADDR[/LEN]|NAME | " \
		"list show [LIST [ADDR|NAME]]\n"

/* fmt_dur - "27d23h59m5s"; "0s" */
static const char *
fmt_dur(long secs, char *buf, size_t cap)
{
	static const struct { long n; char u; } units[] = {
		{ 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' } };
	size_t len = 0, i;

	buf[0] = '\0';
	if (secs <= 0)
		return snprintf(buf, cap, "0s"), buf;
	for (i = 0; i < 4 && len + 8 < cap; i++)
		if (secs >= units[i].n) {
			len += (size_t)snprintf(buf + len, cap - len, "%ld%c",
			    secs / units[i].n, units[i].u);
			secs %= units[i].n;
		}
	return buf;
}

/* fmt_time - "2026-12-29 18:20:00 UTC" */
static const char *
fmt_time(time_t t, char *buf, size_t cap)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, cap, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, cap, "%lld", (long long)t);
	return buf;
}

/* dyn_ctl_expiry - "expires in 6d23h at 2026-12-08 18:20:00 UTC" */
const char *
dyn_ctl_expiry(const struct dyn_info *di, time_t now, char *buf, size_t cap)
{
	char d[32], t[40];

	if (di->expires == 0)
		snprintf(buf, cap, "never expires");
	else if (di->expires <= now)
		snprintf(buf, cap, "expired at %s", fmt_time(di->expires, t,
		    sizeof(t)));
	else
		snprintf(buf, cap, "expires in %s at %s", fmt_dur((long)
		    (di->expires - now), d, sizeof(d)), fmt_time(di->expires,
		    t, sizeof(t)));
	return buf;
}

/* quoted - a reason between quotes, '"' and '\' escaped by '\' */
static void
print_reason(struct ctl_out *o, const char *r)
{
	if (r == NULL) {
		ctl_printf(o, "-");
		return;
	}
	ctl_printf(o, "\"");
	for (; *r != '\0'; r++)
		ctl_printf(o, "%s%c", *r == '"' || *r == '\\' ? "\\" : "", *r);
	ctl_printf(o, "\"");
}

/* show_one - one entry: list, entry, value, expiry, reason */
static void
show_one(struct ctl_out *o, const struct dyn_info *di, time_t now)
{
	char a[16], ex[96];

	ctl_printf(o, "%s\t%s\t%s\t%s\t", di->list, di->text,
	    list_fmt_a(di->value, a, sizeof(a)), dyn_ctl_expiry(di, now, ex,
	    sizeof(ex)));
	print_reason(o, di->reason);
	ctl_printf(o, "\n");
}

/*
 * A "list show" streamed: the keys of the entries, sorted once (a row
 * holds no pointer: entries may go while the listing is read), then
 * SHOW_CHUNK lines a loop iteration, each entry looked up as it is then.
 */
#define SHOW_CHUNK	1000

/* One entry's key; sk sorts: list, family, address, length */
struct srow {
	uint8_t		 sk[20];	/* list index (2), family rank, key
					   (16), prefix length */
	uint32_t	 name;		/* names: offset of the text in pool */
};

struct show {
	struct dyn	*d;
	char		**lists;	/* names of the lists shown, sorted */
	size_t		 nlists;
	struct srow	*rows;
	size_t		 n, cap, next;
	char		*pool;		/* names' texts, NUL-terminated */
	size_t		 plen, pcap;
	size_t		 shown;
	uint16_t	 cur;		/* list of the rows being gathered */
};

/* show_free - ctl_stream done */
static void
show_free(void *arg)
{
	struct show *sh = arg;
	size_t i;

	for (i = 0; i < sh->nlists; i++)
		free(sh->lists[i]);
	free(sh->lists);
	free(sh->rows);
	free(sh->pool);
	free(sh);
}

/* grow - buffer b of *cap elements of size, twice as large (*cap
   updated): the new one, or NULL (b kept) */
static void *
grow(void *b, size_t *cap, size_t size)
{
	size_t nc = *cap ? *cap * 2 : 1024;

	if ((b = realloc(b, nc * size)) != NULL)
		*cap = nc;
	return b;
}

/* gather_cb - list_walk_fn of dyn_walk: an entry's row */
static int
gather_cb(void *arg, const struct list_entry *e)
{
	struct show *sh = arg;
	struct srow *r;

	if (sh->n == sh->cap) {
		if ((r = grow(sh->rows, &sh->cap, sizeof(*r))) == NULL)
			return RBLMUX_ENOMEM;
		sh->rows = r;
	}
	r = &sh->rows[sh->n];
	memset(r, 0, sizeof(*r));
	r->sk[0] = (uint8_t)(sh->cur >> 8);
	r->sk[1] = (uint8_t)sh->cur;
	if (e->family == AF_UNSPEC) {
		const char *t = dyn_entry_info(e)->text;
		size_t len = strlen(t) + 1;

		while (sh->plen + len > sh->pcap) {
			char *np = grow(sh->pool, &sh->pcap, 1);

			if (np == NULL)
				return RBLMUX_ENOMEM;
			sh->pool = np;
		}
		if (sh->plen + len > UINT32_MAX)
			return RBLMUX_ENOMEM;
		memcpy(sh->pool + sh->plen, t, len);
		r->name = (uint32_t)sh->plen;
		sh->plen += len;
		r->sk[2] = 3;
	} else {
		r->sk[2] = e->family == AF_INET ? 1 : 2;
		memcpy(r->sk + 3, e->key, 16);
		r->sk[19] = (uint8_t)e->plen;
	}
	sh->n++;
	return 0;
}

/* name_cmp - qsort_r: two names' texts */
static int
name_cmp(const void *a, const void *b, void *pool)
{
	return strcmp((const char *)pool + ((const struct srow *)a)->name,
	    (const char *)pool + ((const struct srow *)b)->name);
}

/* str_cmp - qsort: two list names */
static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * show_gather - the rows of the lists named (NULL: all), sorted: the
 * addresses by their bytes, the names of each list by their text
 */
static int
show_gather(struct show *sh, const char *only)
{
	const struct dyn_list *dl;
	size_t i, k, n = 0;
	int rc = 0;

	for (dl = dyn_lists(sh->d); dl != NULL; dl = dl->next)
		n++;
	if (n > 65535 || (n > 0 && (sh->lists = calloc(n,
	    sizeof(*sh->lists))) == NULL))
		return RBLMUX_ENOMEM;
	for (dl = dyn_lists(sh->d); dl != NULL; dl = dl->next)
		if (only == NULL || strcmp(dl->name, only) == 0) {
			if ((sh->lists[sh->nlists] = strdup(dl->name)) == NULL)
				return RBLMUX_ENOMEM;
			sh->nlists++;
		}
	qsort(sh->lists, sh->nlists, sizeof(*sh->lists), str_cmp);
	for (i = 0; i < sh->nlists && rc == 0; i++) {
		sh->cur = (uint16_t)i;
		rc = dyn_walk(dyn_list_find(sh->d, sh->lists[i]), 0, gather_cb,
		    sh);
	}
	if (rc == 0)
		rc = list_sort_records(sh->rows, sh->n, sizeof(*sh->rows),
		    sizeof(sh->rows->sk));
	/* each list's names: a run of rows alike but for the text */
	for (i = 0; rc == 0 && i < sh->n; i = k) {
		for (k = i + 1; k < sh->n && memcmp(sh->rows[k].sk,
		    sh->rows[i].sk, sizeof(sh->rows->sk)) == 0; k++)
			;
		if (sh->rows[i].sk[2] == 3 && k - i > 1)
			qsort_r(sh->rows + i, k - i, sizeof(*sh->rows),
			    name_cmp, sh->pool);
	}
	return rc;
}

/* show_next - ctl_stream next: the next lines, the count last */
static int
show_next(void *arg, struct ctl_out *o)
{
	struct show *sh = arg;
	time_t now = time(NULL);
	size_t end = sh->next + SHOW_CHUNK;
	struct dyn_key k;
	const struct dyn_info *di;
	char err[128];

	for (; sh->next < sh->n && sh->next < end; sh->next++) {
		const struct srow *r = &sh->rows[sh->next];
		const char *list = sh->lists[r->sk[0] << 8 | r->sk[1]];

		memset(&k, 0, sizeof(k));
		if (r->sk[2] == 3) {
			if (dyn_parse(LIST_DNSET, sh->pool + r->name, &k, err,
			    sizeof(err)) != 0)
				continue;
		} else {
			k.family = r->sk[2] == 1 ? AF_INET : AF_INET6;
			memcpy(k.key, r->sk + 3, 16);
			k.plen = r->sk[19];
		}
		/* as it is now; gone since the listing started: left out */
		if ((di = dyn_find(sh->d, list, &k)) != NULL) {
			show_one(o, di, now);
			sh->shown++;
		}
	}
	if (sh->next < sh->n)
		return 1;
	ctl_printf(o, "%zu entr%s\n", sh->shown, sh->shown == 1 ? "y" : "ies");
	if (dyn_error(sh->d) != NULL)
		ctl_printf(o, "(dynamic entries cannot be stored: %s)\n",
		    dyn_error(sh->d));
	return 0;
}

/* local_list - the local list of this name in v, or NULL */
static const struct conf_list *
local_list(const struct view *v, const char *name)
{
	const struct vname *vn = view_name(v, name);

	return vn != NULL && vn->kind == VSRC_LIST ?
	    &v->conf->lists[vn->index] : NULL;
}

/* no_list - the error for a list that is not a local list of v */
static void
no_list(const struct view *v, const char *name, struct ctl_out *o)
{
	const struct vname *vn = view_name(v, name);
	size_t i;

	if (vn != NULL)
		ctl_printf(o, "%.64s is an upstream result, not a local list",
		    name);
	else
		ctl_printf(o, "no local list %.64s", name);
	if (v->conf->nlists == 0) {
		ctl_printf(o, " (the config has no local-list:)\n");
		return;
	}
	ctl_printf(o, " (local lists:");
	for (i = 0; i < v->conf->nlists; i++)
		ctl_printf(o, "%s %s", i ? "," : "", v->conf->lists[i].name);
	ctl_printf(o, ")\n");
}

/* lower - a list name as the config stores it */
static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

/*
 * target - the local list argv[2] names, with min..max words in all;
 * else NULL, the error in o
 */
static const struct conf_list *
target(const struct view *v, int argc, char **argv, int min, int max,
    struct ctl_out *o)
{
	const struct conf_list *cl;

	if (argc < min || argc > max) {
		ctl_printf(o, USAGE);
		return NULL;
	}
	lower(argv[2]);
	if ((cl = local_list(v, argv[2])) == NULL)
		no_list(v, argv[2], o);
	return cl;
}

/* parse_value - "127.0.0.5" into host order */
static bool
parse_value(const char *s, uint32_t *a)
{
	struct in_addr in;

	if (inet_pton(AF_INET, s, &in) != 1)
		return false;
	*a = ntohl(in.s_addr);
	return true;
}

/* list_add - "list add LIST ENTRY [--ttl D] [--reason T] [--value A]" */
static bool
list_add(struct dyn *d, const struct view *v, int argc, char **argv,
    time_t now, struct ctl_out *o)
{
	const struct conf_list *cl;
	struct dyn_req r;
	char err[512], a[16], ex[96];
	const struct dyn_info *di;
	struct dyn_key k;
	bool have_ttl = false, have_value = false;
	int i, rc;

	if ((cl = target(v, argc, argv, 4, 16, o)) == NULL)
		return false;
	memset(&r, 0, sizeof(r));
	r.list = cl->name;
	r.type = cl->type;
	r.entry = argv[3];
	r.ttl = DYN_TTL_DEFAULT;
	for (i = 4; i < argc; i += 2) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] :
		    NULL;

		if (val == NULL || (strcmp(opt, "--ttl") != 0 &&
		    strcmp(opt, "--reason") != 0 &&
		    strcmp(opt, "--value") != 0)) {
			ctl_printf(o, "%s%.64s: %s\n" USAGE, "list add: ", opt,
			    val == NULL && opt[0] == '-' ? "needs a value" :
			    "unknown option");
			return false;
		}
		if (strcmp(opt, "--ttl") == 0) {
			if (have_ttl) {
				ctl_printf(o, "list add: --ttl given twice\n");
				return false;
			}
			have_ttl = true;
			if (strcmp(val, "never") == 0)
				r.ttl = DYN_NEVER;
			else if (conf_parse_duration(val, &r.ttl) != 0 ||
			    r.ttl == DYN_NEVER) {
				ctl_printf(o, "list add: bad duration %.64s "
				    "(e.g. 90, 15m, 28d, 1h30m, or never)\n",
				    val);
				return false;
			}
			if (r.ttl == 0) {
				ctl_printf(o, "list add: a ttl of 0 would "
				    "expire at once (for no expiry: --ttl "
				    "never)\n");
				return false;
			}
		} else if (strcmp(opt, "--reason") == 0) {
			if (r.reason != NULL) {
				ctl_printf(o, "list add: --reason given "
				    "twice\n");
				return false;
			}
			r.reason = val;
		} else {
			if (have_value) {
				ctl_printf(o, "list add: --value given "
				    "twice\n");
				return false;
			}
			have_value = true;
			if (!parse_value(val, &r.value)) {
				ctl_printf(o, "list add: bad value %.64s (an "
				    "address such as 127.0.0.4)\n", val);
				return false;
			}
			if (r.value == 0)
				r.value = 1;	/* refused as 127.0.0.x */
		}
	}
	rc = dyn_add(d, &r, now, err, sizeof(err));
	if (rc < 0) {
		ctl_printf(o, "list add %s: %s\n", cl->name, err);
		return false;
	}
	/* the entry as stored */
	if (dyn_parse(cl->type, r.entry, &k, err, sizeof(err)) == 0 &&
	    (di = dyn_find(d, cl->name, &k)) != NULL)
		ctl_printf(o, "%s %s %s %s, %s\n", rc == 1 ? "added" :
		    "refreshed", cl->name, di->text, list_fmt_a(di->value, a,
		    sizeof(a)), dyn_ctl_expiry(di, now, ex, sizeof(ex)));
	return true;
}

/* list_del - "list del LIST ENTRY" */
static bool
list_del(struct dyn *d, const struct view *v, int argc, char **argv,
    struct ctl_out *o)
{
	const struct conf_list *cl;
	struct dyn_key k;
	char err[512];
	int rc;

	if ((cl = target(v, argc, argv, 4, 4, o)) == NULL)
		return false;
	if ((rc = dyn_parse(cl->type, argv[3], &k, err, sizeof(err))) != 0 ||
	    (rc = dyn_del(d, cl->name, cl->type, argv[3], err,
	    sizeof(err))) != 0) {
		ctl_printf(o, "list del %s: %s\n", cl->name, err);
		return false;
	}
	ctl_printf(o, "deleted %s %s\n", cl->name, k.text);
	return true;
}

/* list_show - "list show [LIST [ENTRY]]" */
static bool
list_show(struct dyn *d, const struct view *v, int argc, char **argv,
    time_t now, struct ctl_out *o, struct ctl_stream *st)
{
	const struct conf_list *cl = NULL;
	const struct dyn_list *dl;
	struct show *sh;
	const struct dyn_info *di;
	struct dyn_key k;
	char err[512];

	if (argc > 4) {
		ctl_printf(o, USAGE);
		return false;
	}
	if (argc >= 3) {
		lower(argv[2]);
		cl = local_list(v, argv[2]);
		dl = dyn_list_find(d, argv[2]);
		if (cl == NULL && dl == NULL) {
			no_list(v, argv[2], o);
			return false;
		}
	}
	if (argc == 4) {
		/* one entry, parsed as the list's type (or by its form) */
		if (dyn_parse(cl != NULL ? cl->type : dyn_type_of(argv[3]),
		    argv[3], &k, err, sizeof(err)) != 0) {
			ctl_printf(o, "list show %s: %s\n", argv[2], err);
			return false;
		}
		if ((di = dyn_find(d, argv[2], &k)) == NULL) {
			ctl_printf(o, "%s has no dynamic entry %s\n", argv[2],
			    k.text);
			return false;
		}
		show_one(o, di, now);
		ctl_printf(o, "1 entry\n");
		return true;
	}
	/* every entry: streamed, a chunk at a time */
	if ((sh = calloc(1, sizeof(*sh))) == NULL ||
	    (sh->d = d, show_gather(sh, argc == 3 ? argv[2] : NULL)) != 0) {
		if (sh != NULL)
			show_free(sh);
		ctl_printf(o, "list show: out of memory\n");
		return false;
	}
	st->next = show_next;
	st->done = show_free;
	st->arg = sh;
	return true;
}

/* dyn_ctl - the "list" commands */
bool
dyn_ctl(struct dyn *d, const struct view *v, int argc, char **argv,
    time_t now, struct ctl_out *o, struct ctl_stream *st)
{
	if (argc >= 2 && strcmp(argv[1], "add") == 0)
		return list_add(d, v, argc, argv, now, o);
	if (argc >= 2 && strcmp(argv[1], "del") == 0)
		return list_del(d, v, argc, argv, o);
	if (argc >= 2 && strcmp(argv[1], "show") == 0)
		return list_show(d, v, argc, argv, now, o, st);
	ctl_printf(o, USAGE);
	return false;
}
