/*
 * escal_view.c -- escalation rules in a view: their file counts built
 * with the view, dynamic entries and upstream sightings routed to the
 * rules that name their source, the answer's lookup and TXT, the walk
 * for publishing (see escal.h).
 */
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "answer.h"
#include "dyn.h"
#include "err.h"
#include "escal.h"
#include "list.h"
#include "upresp.h"
#include "view.h"

/* The TXT of a rule without txt: */
#define ESCAL_TXT_DEFAULT	"$count listed addresses in $prefix"
/* The TTL of a rule whose sources say none (rbldnsd's default) */
#define ESCAL_TTL_DEFAULT	2100

/* escal_view_index - the index of the rule called name, or -1 */
int
escal_view_index(const struct view *v, const char *name)
{
	const struct conf *c = v->conf;
	size_t i;

	for (i = 0; i < c->nescalations; i++)
		if (strcmp(c->escalations[i].name, name) == 0)
			return (int)i;
	return -1;
}

struct fill {
	struct escal_rule	*rule;
	uint32_t		 ttl;		/* smallest value TTL seen */
	int			 rc;
};

/* fill_cb - one entry of a source list into the rule's file counts */
static int
fill_cb(void *arg, const struct list_entry *e)
{
	struct fill *f = arg;
	size_t i;

	if (e->family != AF_INET && e->family != AF_INET6)
		return 0;
	if ((f->rc = escal_file_add(f->rule, e->family, e->key, e->plen,
	    e->excluded)) != 0)
		return 1;
	for (i = 0; i < e->nvals; i++)
		if (e->vals[i]->lv_ttl < f->ttl)
			f->ttl = e->vals[i]->lv_ttl;
	return 0;
}

/* build_rule - rule ve (sources bound) from its lists' files */
static int
build_rule(struct vescal *ve)
{
	const struct conf_escalation *ce = ve->ce;
	struct escal_params p = { ce->prefix, ce->prefix6, ce->threshold,
	    ce->window };
	struct fill f = { NULL, UINT32_MAX, 0 };
	uint32_t conf_ttl = UINT32_MAX;
	struct timespec t0, t1;
	size_t i;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((f.rule = ve->rule = escal_rule_new(&p)) == NULL)
		return RBLMUX_ENOMEM;
	for (i = 0; i < ve->nsrc; i++) {
		const struct vsource *src = &ve->src[i];

		if (src->kind != VSRC_LIST)
			continue;
		if (src->cl->ttl < conf_ttl)
			conf_ttl = src->cl->ttl;
		rc = list_walk(src->vl->data, fill_cb, &f);
		if (f.rc != 0)
			return f.rc;
		if (rc != 0)
			return rc;
	}
	if ((rc = escal_file_done(f.rule)) != 0)
		return rc;
	ve->ttl = f.ttl != UINT32_MAX ? f.ttl : conf_ttl != UINT32_MAX ?
	    conf_ttl : ESCAL_TTL_DEFAULT;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ve->build_secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	return 0;
}

/* escal_view_build - every rule of v's config, counted from the files */
int
escal_view_build(struct view *v)
{
	const struct conf *c = v->conf;
	size_t i, j;
	int rc;

	if (c->nescalations == 0)
		return 0;
	if ((v->escal = calloc(c->nescalations, sizeof(*v->escal))) == NULL)
		return RBLMUX_ENOMEM;
	for (i = 0; i < c->nescalations; i++) {
		struct vescal *ve = &v->escal[v->nescal++];

		ve->ce = &c->escalations[i];
		ve->src = calloc(ve->ce->nsources ? ve->ce->nsources : 1,
		    sizeof(*ve->src));
		if (ve->src == NULL)
			return RBLMUX_ENOMEM;
		for (j = 0; j < ve->ce->nsources; j++)
			view_bind_source(v, ve->ce->sources[j],
			    &ve->src[ve->nsrc++]);
		if ((rc = build_rule(ve)) != 0)
			return rc;
	}
	return 0;
}

/* escal_view_free - release v's rules */
void
escal_view_free(struct view *v)
{
	size_t i;

	for (i = 0; i < v->nescal; i++) {
		escal_rule_free(v->escal[i].rule);
		free(v->escal[i].src);
	}
	free(v->escal);
	v->escal = NULL;
	v->nescal = 0;
}

/* same_rule - do a and b count alike (prefixes, window, sources)? */
static bool
same_rule(const struct conf_escalation *a, const struct conf_escalation *b)
{
	size_t i;

	if (a->prefix != b->prefix || a->prefix6 != b->prefix6 ||
	    a->window != b->window || a->nsources != b->nsources)
		return false;
	for (i = 0; i < a->nsources; i++)
		if (strcmp(a->sources[i], b->sources[i]) != 0)
			return false;
	return true;
}

/* escal_view_carry - the live counts of from's rules move on to to's */
int
escal_view_carry(struct view *to, struct view *from)
{
	size_t i;
	int j, rc = 0, r;

	for (i = 0; from != NULL && i < to->nescal; i++) {
		struct vescal *ve = &to->escal[i];

		j = escal_view_index(from, ve->ce->name);
		if (j < 0 || (size_t)j >= from->nescal ||
		    from->escal[j].rule == NULL || ve->rule == NULL ||
		    !same_rule(ve->ce, from->escal[j].ce))
			continue;
		if ((r = escal_carry(ve->rule, from->escal[j].rule)) != 0)
			rc = r;
		ve->live = from->escal[j].live;
	}
	return rc;
}

struct feed {
	struct escal_rule	*rule;
	unsigned		 src;
	int			 rc;
};

/* feed_cb - one live dynamic entry into a rule */
static int
feed_cb(void *arg, const struct list_entry *e)
{
	struct feed *f = arg;
	int rc;

	if ((e->family == AF_INET || e->family == AF_INET6) && !e->excluded &&
	    (rc = escal_dyn_change(f->rule, f->src, e->family, e->key,
	    e->plen, true)) != 0)
		f->rc = rc;
	return 0;
}

/* escal_view_feed - the dynamic entries of d for the rules not given any */
int
escal_view_feed(struct view *v, const struct dyn *d, time_t now)
{
	size_t i, j;
	int rc = 0;

	for (i = 0; i < v->nescal; i++) {
		struct vescal *ve = &v->escal[i];

		if (ve->live || ve->rule == NULL)
			continue;
		ve->live = true;
		for (j = 0; j < ve->nsrc && j < ESCAL_MAX_SRC; j++) {
			struct feed f = { ve->rule, (unsigned)j, 0 };

			if (d == NULL || ve->src[j].kind != VSRC_LIST)
				continue;
			dyn_walk(dyn_list_find(d, ve->src[j].name), now,
			    feed_cb, &f);
			if (f.rc != 0)
				rc = f.rc;
		}
	}
	return rc;
}

/* escal_view_dyn_hook - dyn_change_fn: arg points to the current view */
void
escal_view_dyn_hook(void *arg, const char *list, const struct list_entry *e,
    enum dyn_change what)
{
	const struct view *v = *(struct view *const *)arg;

	if (v != NULL)
		escal_view_dyn(v, list, e, DYN_PRESENT(what));
}

/* escal_view_dyn - a dynamic entry of list `list` came or went */
int
escal_view_dyn(const struct view *v, const char *list,
    const struct list_entry *e, bool present)
{
	size_t i, j;
	int rc = 0, r;

	if (e->family != AF_INET && e->family != AF_INET6)
		return 0;
	for (i = 0; i < v->nescal; i++) {
		const struct vescal *ve = &v->escal[i];

		for (j = 0; j < ve->nsrc && j < ESCAL_MAX_SRC; j++) {
			if (ve->src[j].kind != VSRC_LIST ||
			    strcmp(ve->src[j].name, list) != 0)
				continue;
			r = escal_dyn_change(ve->rule, (unsigned)j, e->family,
			    e->key, e->plen, present && !e->excluded);
			if (r != 0)
				rc = r;
		}
	}
	return rc;
}

/* upstream_index - the index of upstream cu in v's config, or -1 */
static int
upstream_index(const struct view *v, const struct conf_upstream *cu)
{
	const struct conf *c = v->conf;
	size_t i;

	if (cu >= c->upstreams && cu < c->upstreams + c->nupstreams)
		return (int)(cu - c->upstreams);
	for (i = 0; i < c->nupstreams; i++)	/* asked under another config */
		if (strcmp(c->upstreams[i].name, cu->name) == 0)
			return (int)i;
	return -1;
}

/* escal_view_seen - upstream cu listed an address with codes a */
int
escal_view_seen(const struct view *v, const struct conf_upstream *cu,
    const uint32_t *a, size_t na, int family, const uint8_t *addr,
    time_t now)
{
	size_t i, j;
	int rc = 0, r, up;

	if (v->nescal == 0 || na == 0 || (up = upstream_index(v, cu)) < 0)
		return 0;
	cu = &v->conf->upstreams[up];
	for (i = 0; i < v->nescal; i++) {
		const struct vescal *ve = &v->escal[i];

		for (j = 0; j < ve->nsrc; j++) {
			const struct vsource *src = &ve->src[j];

			if (src->kind != VSRC_UPSTREAM ||
			    src->upstream != up || (src->code >= 0 &&
			    upresp_code_listed(cu, src->code, a,
			    (unsigned)na) == 0))
				continue;
			if ((r = escal_seen(ve->rule, family, addr, now)) != 0)
				rc = r;
			break;		/* once a rule */
		}
	}
	return rc;
}

static escal_view_change_fn *change_fn;	/* escal_view_on_change() */
static void *change_arg;

void
escal_view_on_change(escal_view_change_fn *fn, void *arg)
{
	change_fn = fn;
	change_arg = arg;
}

/* escal_view_sightings - expire sightings; tell the rules they changed */
void
escal_view_sightings(struct view *v, time_t now)
{
	size_t i;

	for (i = 0; i < v->nescal; i++) {
		struct vescal *ve = &v->escal[i];
		uint64_t f;

		if (ve->rule == NULL || ve->ce->window == 0)
			continue;
		escal_expire(ve->rule, now);
		if ((f = escal_sight_flips(ve->rule)) == ve->flips_told)
			continue;
		ve->flips_told = f;
		if (change_fn != NULL)
			change_fn(change_arg, v, (int)i);
	}
}

/* escal_view_listed_hook - upclient_listed_fn: arg points to the view */
void
escal_view_listed_hook(void *arg, const struct conf_upstream *cu,
    const uint32_t *a, size_t na, int family, const uint8_t *addr,
    time_t now)
{
	struct view *v = *(struct view **)arg;

	if (v != NULL && escal_view_seen(v, cu, a, na, family, addr,
	    now) == 0)
		escal_view_sightings(v, now);
}

/* escal_view_counts - does a rule of v count results of cu? */
bool
escal_view_counts(const struct view *v, const struct conf_upstream *cu)
{
	size_t i, j;
	int up;

	if (v->nescal == 0 || (up = upstream_index(v, cu)) < 0)
		return false;
	for (i = 0; i < v->nescal; i++)
		for (j = 0; j < v->escal[i].nsrc; j++)
			if (v->escal[i].src[j].kind == VSRC_UPSTREAM &&
			    v->escal[i].src[j].upstream == up)
				return true;
	return false;
}

/* escal_view_listed_wants - upclient_listed_wants_fn */
bool
escal_view_listed_wants(void *arg, const struct conf_upstream *cu)
{
	const struct view *v = *(struct view *const *)arg;

	return v != NULL && escal_view_counts(v, cu);
}

/* escal_view_lookup - rule's decision for an address */
bool
escal_view_lookup(const struct view *v, int rule, int family,
    const uint8_t *addr, time_t now, struct escal_hit *h)
{
	memset(h, 0, sizeof(*h));
	if (rule < 0 || (size_t)rule >= v->nescal ||
	    v->escal[rule].rule == NULL)
		return false;
	return escal_lookup(v->escal[rule].rule, family, addr, now, h);
}

/* escal_view_subject - rule's decision for a query's subject */
bool
escal_view_subject(const struct view *v, int rule, const struct subject *s,
    time_t now, struct escal_hit *h)
{
	uint8_t a4[4];

	memset(h, 0, sizeof(*h));
	if (s->kind == SUBJ_IP6)
		return escal_view_lookup(v, rule, AF_INET6, s->ip6, now, h);
	if (s->kind != SUBJ_IP4)
		return false;
	a4[0] = (uint8_t)(s->ip4 >> 24);
	a4[1] = (uint8_t)(s->ip4 >> 16);
	a4[2] = (uint8_t)(s->ip4 >> 8);
	a4[3] = (uint8_t)s->ip4;
	return escal_view_lookup(v, rule, AF_INET, a4, now, h);
}

/* escal_view_txt - the rule's TXT for hit h */
size_t
escal_view_txt(const struct view *v, int rule, const struct escal_hit *h,
    char *buf, size_t cap)
{
	const char *tmpl = v->escal[rule].ce->txt;

	return escal_txt(tmpl != NULL ? tmpl : ESCAL_TXT_DEFAULT, h, buf, cap);
}

struct walk {
	const struct view	*v;
	int			 rule;
	escal_entry_fn		*fn;
	void			*arg;
};

/* walk_cb - one escalated network as a list entry */
static int
walk_cb(void *arg, const struct escal_hit *h)
{
	struct walk *w = arg;
	char txt[ESCAL_TXT_LEN], tmpl[2 * ESCAL_TXT_LEN + 1];
	struct list_value lv;
	const struct list_value *vals[1] = { &lv };
	struct list_entry e;
	size_t n, i, o = 0;

	n = escal_view_txt(w->v, w->rule, h, txt, sizeof(txt));
	for (i = 0; i < n; i++) {
		if (txt[i] == '$')
			tmpl[o++] = '$';	/* kept as it is by "$$" */
		tmpl[o++] = txt[i];
	}
	tmpl[o] = '\0';
	lv.lv_a = w->v->escal[w->rule].ce->value;
	lv.lv_ttl = w->v->escal[w->rule].ttl;
	lv.lv_txt = tmpl;
	memset(&e, 0, sizeof(e));
	e.family = h->family;
	memcpy(e.key, h->prefix, sizeof(e.key));
	e.plen = h->plen;
	e.vals = vals;
	e.nvals = 1;
	return w->fn(w->arg, &e, h);
}

/* escal_view_walk - the escalated networks of a rule */
int
escal_view_walk(const struct view *v, int rule, time_t now,
    escal_entry_fn *fn, void *arg)
{
	struct walk w = { v, rule, fn, arg };

	if (rule < 0 || (size_t)rule >= v->nescal ||
	    v->escal[rule].rule == NULL)
		return 0;
	return escal_walk(v->escal[rule].rule, now, walk_cb, &w);
}
