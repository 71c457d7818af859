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

/* fmt_a - dotted form of a host-order IPv4 value */
static const char *
fmt_a(uint32_t a, char *buf, size_t cap)
{
	snprintf(buf, cap, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255,
	    (a >> 8) & 255, a & 255);
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
	    fmt_a(di->value, a, sizeof(a)), dyn_ctl_expiry(di, now, ex,
	    sizeof(ex)));
	print_reason(o, di->reason);
	ctl_printf(o, "\n");
}

struct show {
	struct ctl_out	*o;
	time_t		 now;
	size_t		 n;
	const struct list_entry **all;	/* gathered to be sorted, or NULL:
					   shown as walked */
};

static int
show_cb(void *arg, const struct list_entry *e)
{
	struct show *sh = arg;

	if (sh->all != NULL)
		sh->all[sh->n] = e;
	else
		show_one(sh->o, dyn_entry_info(e), sh->now);
	sh->n++;
	return 0;
}

/* entry_cmp - list name, then IPv4, IPv6, names; address, length */
static int
entry_cmp(const void *pa, const void *pb)
{
	const struct list_entry *a = *(const struct list_entry *const *)pa;
	const struct list_entry *b = *(const struct list_entry *const *)pb;
	int fa = a->family == AF_UNSPEC ? 99 : a->family;
	int fb = b->family == AF_UNSPEC ? 99 : b->family;
	int c = strcmp(dyn_entry_info(a)->list, dyn_entry_info(b)->list);

	if (c != 0 || fa != fb)
		return c != 0 ? c : fa - fb;
	if (a->family == AF_UNSPEC)
		return strcmp(dyn_entry_info(a)->text,
		    dyn_entry_info(b)->text);
	if ((c = memcmp(a->key, b->key, 16)) != 0)
		return c;
	return (int)a->plen - (int)b->plen;
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
		    "refreshed", cl->name, di->text, fmt_a(di->value, a,
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
    time_t now, struct ctl_out *o)
{
	struct show sh = { o, now, 0, NULL };
	const struct conf_list *cl = NULL;
	size_t total = 0, i;
	const struct dyn_list *dl;
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
	/* sorted when there is memory for it, else as stored */
	for (dl = dyn_lists(d); dl != NULL; dl = dl->next)
		if (argc != 3 || strcmp(dl->name, argv[2]) == 0)
			total += dl->n;
	sh.all = total > 0 ? calloc(total, sizeof(*sh.all)) : NULL;
	for (dl = dyn_lists(d); dl != NULL; dl = dl->next) {
		if (argc == 3 && strcmp(dl->name, argv[2]) != 0)
			continue;
		dyn_walk(dl, 0, show_cb, &sh);
	}
	if (sh.all != NULL) {
		qsort(sh.all, sh.n, sizeof(*sh.all), entry_cmp);
		for (i = 0; i < sh.n; i++)
			show_one(o, dyn_entry_info(sh.all[i]), now);
		free(sh.all);
	}
	ctl_printf(o, "%zu entr%s\n", sh.n, sh.n == 1 ? "y" : "ies");
	if (dyn_error(d) != NULL)
		ctl_printf(o, "(dynamic entries cannot be stored: %s)\n",
		    dyn_error(d));
	return true;
}

/* dyn_ctl - the "list" commands */
bool
dyn_ctl(struct dyn *d, const struct view *v, int argc, char **argv,
    time_t now, struct ctl_out *o)
{
	if (argc >= 2 && strcmp(argv[1], "add") == 0)
		return list_add(d, v, argc, argv, now, o);
	if (argc >= 2 && strcmp(argv[1], "del") == 0)
		return list_del(d, v, argc, argv, o);
	if (argc >= 2 && strcmp(argv[1], "show") == 0)
		return list_show(d, v, argc, argv, now, o);
	ctl_printf(o, USAGE);
	return false;
}
