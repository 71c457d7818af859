/*
 * conf_check.c -- checks of rblmux.conf that need the whole file.
 *
 * Runs after every file is read: the default listen addresses, ttl-min
 * against ttl-max, one namespace for lists, upstreams, their results and
 * escalations, every name a zone or escalation uses, escalation loops,
 * unique zone names, answer codes against error codes. Each problem is
 * reported where the offending line is. Names are found through the key
 * index (conf_key.c) and the loop check keeps its own stack, so a check
 * takes time in proportion to the config and stack of a fixed size.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_int.h"

/* def_is_result - does this definition produce a result of its name? */
static int
def_is_result(const struct conf *c, const struct def *d)
{
	return d->kind != DEF_UPSTREAM || c->upstreams[d->obj].ncodes == 0;
}

/*
 * same_owner - may d and e share a name? An upstream's codes may reuse
 * its name or repeat.
 */
static int
same_owner(const struct def *d, const struct def *e)
{
	return (d->kind == DEF_UPSTREAM || d->kind == DEF_CODE) &&
	    (e->kind == DEF_UPSTREAM || e->kind == DEF_CODE) &&
	    d->obj == e->obj && !(d->kind == DEF_UPSTREAM &&
	    e->kind == DEF_UPSTREAM);
}

/* find_def - the first definition of name (result or not), or NULL */
static const struct def *
find_def(struct parser *p, const char *name, int results_only)
{
	struct conf_key k = conf_key_name(results_only ? KEY_RESULT : KEY_DEF,
	    0, name);
	size_t i = conf_key_get(p, &k);

	return i != CONF_NONE ? &p->defs[i] : NULL;
}

/* has_name - is name the name of a clause of this kind? */
static int
has_name(struct parser *p, enum key_kind kind, const char *name)
{
	struct conf_key k = conf_key_name(kind, 0, name);

	return conf_key_get(p, &k) != CONF_NONE;
}

/*
 * index_names - the names of lists and escalations, and of every
 * definition: KEY_DEF and KEY_RESULT lead to the first definition (of a
 * result), KEY_LIST and KEY_ESCALATION to the first clause of a name.
 */
static void
index_names(struct parser *p)
{
	const struct conf *c = p->c;
	struct conf_key k;
	size_t i, *v;

	for (i = 0; i < c->nlists && !p->oom; i++) {
		k = conf_key_name(KEY_LIST, 0, c->lists[i].name);
		if (k.name != NULL && (v = conf_key(p, &k, true)) != NULL &&
		    *v == CONF_NONE)
			*v = i;
	}
	for (i = 0; i < c->nescalations && !p->oom; i++) {
		k = conf_key_name(KEY_ESCALATION, 0, c->escalations[i].name);
		if (k.name != NULL && (v = conf_key(p, &k, true)) != NULL &&
		    *v == CONF_NONE)
			*v = i;
	}
	for (i = 0; i < p->ndefs && !p->oom; i++) {
		if (!def_is_result(c, &p->defs[i]))
			continue;
		k = conf_key_name(KEY_RESULT, 0, p->defs[i].name);
		if ((v = conf_key(p, &k, true)) != NULL && *v == CONF_NONE)
			*v = i;
	}
}

/*
 * check_names - one namespace for lists, upstreams, results, escalations.
 * Each definition is reported against the first earlier one it may not
 * share its name with: the first of the name, or, when that one has the
 * same owner, the first of another owner (other[] of the first).
 */
static void
check_names(struct parser *p)
{
	static const char *const what[] = {
		"local list", "upstream", "result of upstream", "escalation",
	};
	size_t *other, i, first, *v;
	const char *owner;
	struct conf_key k;

	if (p->ndefs == 0 ||
	    (other = conf_alloc(p, p->ndefs * sizeof(*other))) == NULL)
		return;
	for (i = 0; i < p->ndefs; i++) {
		const struct def *d = &p->defs[i], *e;

		other[i] = CONF_NONE;
		k = conf_key_name(KEY_DEF, 0, d->name);
		if ((v = conf_key(p, &k, true)) == NULL)
			break;
		if (*v == CONF_NONE) {
			*v = i;
			continue;
		}
		first = *v;
		if (same_owner(d, &p->defs[first]))
			e = other[first] != CONF_NONE ?
			    &p->defs[other[first]] : NULL;
		else {
			e = &p->defs[first];
			if (other[first] == CONF_NONE)
				other[first] = i;
		}
		if (e == NULL)
			continue;
		owner = e->kind != DEF_CODE ? e->name :
		    p->c->upstreams[e->obj].name;
		conf_perr_at(p, d->file, d->line, "name '%s' is already used "
		    "by the %s %s at %s:%u", d->name, what[e->kind],
		    owner ? owner : "(unnamed)", e->file, e->line);
	}
	free(other);
}

/* find_escalation - index of the escalation called name, or -1 */
static long
find_escalation(struct parser *p, const char *name)
{
	struct conf_key k = conf_key_name(KEY_ESCALATION, 0, name);
	size_t i = conf_key_get(p, &k);

	return i != CONF_NONE ? (long)i : -1;
}

/* A step of the walk in check_loops: an escalation and its next source. */
struct walk {
	size_t		 e;
	size_t		 next;
};

/*
 * check_loops - depth-first walk over escalation sources, with a stack
 * of its own (a chain may be as long as the config): colour 1 marks the
 * escalations on the current path, 2 those fully explored. Reaching a
 * colour-1 escalation again closes a loop: report it there.
 */
static void
check_loops(struct parser *p)
{
	const struct conf *c = p->c;
	const struct conf_escalation *x;
	unsigned char *colour;
	struct walk *stack;
	size_t i, depth;
	long s;

	if (c->nescalations == 0)
		return;
	colour = conf_alloc(p, c->nescalations);
	stack = conf_alloc(p, c->nescalations * sizeof(*stack));
	for (i = 0; colour != NULL && stack != NULL && i < c->nescalations;
	    i++) {
		if (colour[i] != 0)
			continue;
		colour[i] = 1;
		stack[0].e = i;
		stack[0].next = 0;
		depth = 1;
		while (depth > 0) {
			struct walk *w = &stack[depth - 1];

			x = &c->escalations[w->e];
			if (w->next == x->nsources) {
				colour[w->e] = 2;
				depth--;
				continue;
			}
			if ((s = find_escalation(p, x->sources[w->next++])) < 0)
				continue;
			if (colour[s] == 1)
				conf_perr_at(p, c->escalations[s].file,
				    c->escalations[s].line, "escalation %s: "
				    "its sources lead back to itself",
				    c->escalations[s].name);
			else if (colour[s] == 0) {
				colour[s] = 1;
				stack[depth].e = (size_t)s;
				stack[depth].next = 0;
				depth++;
			}
		}
	}
	free(stack);
	free(colour);
}

/* not_result - report a name used as a result that is none */
static void
not_result(struct parser *p, const struct ref *r, const char *what)
{
	const struct def *d = find_def(p, r->name, 0);

	if (d != NULL && d->kind == DEF_UPSTREAM)
		conf_perr_at(p, r->file, r->line, "%s'%s' is an upstream with "
		    "code: lines; use the result names of its codes", what,
		    r->name);
	else
		conf_perr_at(p, r->file, r->line, "%s'%s' is not a result (a "
		    "local list, an upstream result or an escalation)", what,
		    r->name);
}

/* find_member - index of the member called name in zone z, or CONF_NONE */
static size_t
find_member(struct parser *p, size_t z, const char *name)
{
	struct conf_key k = conf_key_name(KEY_MEMBER, z, name);

	return conf_key_get(p, &k);
}

/* check_refs - every name a zone or escalation uses must exist */
static void
check_refs(struct parser *p)
{
	struct conf *c = p->c;
	size_t i, j;

	for (i = 0; i < p->nrefs; i++) {
		const struct ref *r = &p->refs[i];
		struct conf_zone *z = r->kind == REF_SOURCE ? NULL :
		    &c->zones[r->obj];

		switch (r->kind) {
		case REF_MEMBER:
			if (find_def(p, r->name, 1) == NULL)
				not_result(p, r, "");
			j = find_member(p, r->obj, r->name);
			if (j != CONF_NONE && z->answer == ANSWER_BITMASK &&
			    z->members[j].bit == 0)
				conf_perr_at(p, r->file, r->line, "zone %s: "
				    "'%s' has no bit; answer: bitmask zones "
				    "take bit: lines", z->name ? z->name :
				    "(unnamed)", r->name);
			break;
		case REF_WEIGHT:
			if ((j = find_member(p, r->obj, r->name)) ==
			    CONF_NONE) {
				conf_perr_at(p, r->file, r->line, "weight: "
				    "'%s' is not a member of this zone (add "
				    "result: %s)", r->name, r->name);
				break;
			}
			z->members[j].weight = r->weight;
			z->members[j].weight_set = true;
			break;
		case REF_EXEMPT:
			if (!has_name(p, KEY_LIST, r->name))
				conf_perr_at(p, r->file, r->line, "exempt: "
				    "'%s' is not a local list", r->name);
			break;
		case REF_SERVE:
			if (!has_name(p, KEY_LIST, r->name) &&
			    !has_name(p, KEY_ESCALATION, r->name))
				conf_perr_at(p, r->file, r->line, "serve: "
				    "'%s' is not a local list or an escalation",
				    r->name);
			break;
		case REF_SOURCE:
			if (find_def(p, r->name, 1) == NULL)
				not_result(p, r, "source: ");
			break;
		}
	}
	check_loops(p);
}

/* un - an upstream's name for messages */
static const char *
un(const struct conf_upstream *u)
{
	return u->name != NULL ? u->name : "(unnamed)";
}

/* A range of IPv4 addresses, host order, both ends included. */
struct span {
	uint32_t	 lo, hi;
};

/* span_cmp - order spans by start */
static int
span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/*
 * error_spans - the error-code prefixes of u as sorted, disjoint spans in
 * sp (room for u->nerror_codes); returns how many
 */
static size_t
error_spans(const struct conf_upstream *u, struct span *sp)
{
	const struct conf_prefix *e;
	uint32_t net, mask;
	size_t i, n = 0, m;

	for (i = 0; i < u->nerror_codes; i++) {
		e = &u->error_codes[i];
		net = (uint32_t)e->addr[0] << 24 | (uint32_t)e->addr[1] << 16 |
		    (uint32_t)e->addr[2] << 8 | e->addr[3];
		mask = e->plen == 0 ? 0 : 0xffffffffU << (32 - e->plen);
		/* bits past the length: the prefix holds no address */
		if (e->family != AF_INET || (net & ~mask) != 0)
			continue;
		sp[n].lo = net;
		sp[n].hi = net | ~mask;
		n++;
	}
	if (n == 0)
		return 0;
	qsort(sp, n, sizeof(*sp), span_cmp);
	for (i = 1, m = 0; i < n; i++) {
		if (sp[i].lo <= sp[m].hi) {
			if (sp[i].hi > sp[m].hi)
				sp[m].hi = sp[i].hi;
		} else
			sp[++m] = sp[i];
	}
	return m + 1;
}

/* in_spans - is a inside one of the n sorted, disjoint spans? */
static int
in_spans(const struct span *sp, size_t n, uint32_t a)
{
	size_t lo = 0, hi = n, mid;

	/* the last span that starts at or before a */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (sp[mid].lo <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && a <= sp[lo - 1].hi;
}

/* check_codes - no answer code of an upstream lies among its error codes */
static void
check_codes(struct parser *p)
{
	const struct conf *c = p->c;
	struct span *sp;
	size_t i, j, n, most = 0;

	for (i = 0; i < c->nupstreams; i++)
		if (c->upstreams[i].ncodes > 0 &&
		    c->upstreams[i].nerror_codes > most)
			most = c->upstreams[i].nerror_codes;
	if (most == 0 || (sp = conf_alloc(p, most * sizeof(*sp))) == NULL)
		return;
	for (i = 0; i < c->nupstreams; i++) {
		const struct conf_upstream *u = &c->upstreams[i];

		if (u->ncodes == 0)
			continue;
		n = error_spans(u, sp);
		for (j = 0; j < u->ncodes; j++)
			if (in_spans(sp, n, u->codes[j].addr))
				conf_perr_at(p, u->file, u->line,
				    "upstream %s: code for '%s' lies "
				    "inside an error-code prefix",
				    un(u), u->codes[j].result);
	}
	free(sp);
}

/* unicast - can a NOTIFY be sent to this address and answered? */
static bool
unicast(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;
		uint32_t a = ntohl(in->sin_addr.s_addr);

		return a != 0 && a != 0xffffffffU && (a >> 28) != 0xe;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;

		return !IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr) &&
		    !IN6_IS_ADDR_MULTICAST(&in6->sin6_addr);
	}
	return false;
}

/*
 * check_zones - zone names are unique, also against mirrored upstreams
 * (the upstreams of one zone name chained through next[])
 */
static void
check_zones(struct parser *p)
{
	struct conf *c = p->c;
	struct conf_key k;
	size_t i, j, *v, *next = NULL;

	if (c->nupstreams > 0 &&
	    (next = conf_alloc(p, c->nupstreams * sizeof(*next))) == NULL)
		return;
	for (i = c->nupstreams; i-- > 0 && !p->oom; ) {
		const struct conf_upstream *u = &c->upstreams[i];

		k = conf_key_name(KEY_MIRROR, 0, u->zone);
		if (!u->mirror || u->zone == NULL ||
		    (v = conf_key(p, &k, true)) == NULL)
			continue;
		next[i] = *v;
		*v = i;
	}
	for (i = 0; i < c->nzones && !p->oom; i++) {
		const struct conf_zone *z = &c->zones[i];

		if (z->name == NULL)
			continue;
		for (j = 0; j < z->nnotify; j++)
			if (!unicast(&z->notify[j].sa))
				conf_perr_at(p, z->file, z->line, "zone %s: "
				    "notify: %s is not a unicast address",
				    z->name, z->notify[j].text);
		k = conf_key_name(KEY_ZONE, 0, z->name);
		if ((v = conf_key(p, &k, true)) == NULL)
			break;
		if (*v == CONF_NONE)
			*v = i;
		else
			conf_perr_at(p, z->file, z->line, "zone %s is "
			    "already defined at %s:%u", z->name,
			    c->zones[*v].file, c->zones[*v].line);
		k = conf_key_name(KEY_MIRROR, 0, z->name);
		for (j = conf_key_get(p, &k); j != CONF_NONE; j = next[j])
			conf_perr_at(p, z->file, z->line, "zone %s is "
			    "also the zone of upstream %s, which has "
			    "mirror: yes", z->name, un(&c->upstreams[j]));
	}
	free(next);
	check_codes(p);
}

/* add_listen - a default listen address */
static void
add_listen(struct parser *p, const char *text)
{
	struct conf_server *s = &p->c->server;
	struct conf_sockaddr sa, *slot;

	if (conf_oom(p, conf_parse_sockaddr(text, 53, &sa)) != 0)
		return;
	if ((slot = GROW(p, s->listen, s->nlisten)) == NULL) {
		free(sa.text);
		return;
	}
	*slot = sa;
}

/* conf_check - defaults and checks that need the whole config */
void
conf_check(struct parser *p)
{
	struct conf *c = p->c;
	struct conf_server *s = &c->server;
	int imin = conf_kw_index(CL_SERVER, "ttl-min");

	if (s->nlisten == 0) {
		add_listen(p, "127.0.0.1@53");
		add_listen(p, "::1@53");
	}
	if (s->ttl_min > s->ttl_max) {
		int imax = conf_kw_index(CL_SERVER, "ttl-max");
		int i = p->seen_server.line[imin] ? imin : imax;

		conf_perr_at(p, p->seen_server.file[i], p->seen_server.line[i],
		    "ttl-min (%us) is larger than ttl-max (%us)", s->ttl_min,
		    s->ttl_max);
	}
	index_names(p);
	check_names(p);
	check_refs(p);
	check_zones(p);
}
