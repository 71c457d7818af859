/*
 * conf_check.c -- checks of rblmux.conf that need the whole file.
 *
 * Runs after every file is read: the default listen addresses, ttl-min
 * against ttl-max, one namespace for lists, upstreams, their results and
 * escalations, every name a zone or escalation uses, escalation loops,
 * unique zone names, answer codes against error codes. Each problem is
 * reported where the offending line is.
 */
#include <sys/socket.h>

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

/* find_def - the first definition of name (result or not), or NULL */
static const struct def *
find_def(const struct parser *p, const char *name, int results_only)
{
	size_t i;

	for (i = 0; i < p->ndefs; i++)
		if (strcmp(p->defs[i].name, name) == 0 &&
		    (!results_only || def_is_result(p->c, &p->defs[i])))
			return &p->defs[i];
	return NULL;
}

/* check_names - one namespace for lists, upstreams, results, escalations */
static void
check_names(struct parser *p)
{
	static const char *const what[] = {
		"local list", "upstream", "result of upstream", "escalation",
	};
	const char *owner;
	size_t i, j;

	for (i = 0; i < p->ndefs; i++) {
		const struct def *d = &p->defs[i];

		for (j = 0; j < i; j++) {
			const struct def *e = &p->defs[j];

			if (strcmp(d->name, e->name) != 0)
				continue;
			/* an upstream's codes may reuse its name or repeat */
			if ((d->kind == DEF_UPSTREAM || d->kind == DEF_CODE) &&
			    (e->kind == DEF_UPSTREAM || e->kind == DEF_CODE) &&
			    d->obj == e->obj && !(d->kind == DEF_UPSTREAM &&
			    e->kind == DEF_UPSTREAM))
				continue;
			owner = e->kind != DEF_CODE ? e->name :
			    p->c->upstreams[e->obj].name;
			conf_perr_at(p, d->file, d->line, "name '%s' is "
			    "already used by the %s %s at %s:%u", d->name,
			    what[e->kind], owner ? owner : "(unnamed)",
			    e->file, e->line);
			break;
		}
	}
}

/* find_list - index of the local list called name, or -1 */
static long
find_list(const struct conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nlists; i++)
		if (c->lists[i].name != NULL &&
		    strcmp(c->lists[i].name, name) == 0)
			return (long)i;
	return -1;
}

/* find_escalation - index of the escalation called name, or -1 */
static long
find_escalation(const struct conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nescalations; i++)
		if (c->escalations[i].name != NULL &&
		    strcmp(c->escalations[i].name, name) == 0)
			return (long)i;
	return -1;
}

/*
 * check_loop - depth-first walk over escalation sources; colour 1 marks
 * the escalations on the current path, 2 those fully explored. Reaching a
 * colour-1 escalation again closes a loop: report it there.
 */
static void
check_loop(struct parser *p, size_t e, unsigned char *colour)
{
	const struct conf *c = p->c;
	const struct conf_escalation *x = &c->escalations[e];
	size_t i;
	long s;

	colour[e] = 1;
	for (i = 0; i < x->nsources; i++) {
		if ((s = find_escalation(c, x->sources[i])) < 0)
			continue;
		if (colour[s] == 1)
			conf_perr_at(p, c->escalations[s].file,
			    c->escalations[s].line, "escalation %s: its "
			    "sources lead back to itself",
			    c->escalations[s].name);
		else if (colour[s] == 0)
			check_loop(p, (size_t)s, colour);
	}
	colour[e] = 2;
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
			for (j = 0; j < z->nmembers; j++)
				if (strcmp(z->members[j].result, r->name) == 0)
					break;
			if (j < z->nmembers && z->answer == ANSWER_BITMASK &&
			    z->members[j].bit == 0)
				conf_perr_at(p, r->file, r->line, "zone %s: "
				    "'%s' has no bit; answer: bitmask zones "
				    "take bit: lines", z->name ? z->name :
				    "(unnamed)", r->name);
			break;
		case REF_WEIGHT:
			for (j = 0; j < z->nmembers; j++)
				if (strcmp(z->members[j].result, r->name) == 0)
					break;
			if (j == z->nmembers) {
				conf_perr_at(p, r->file, r->line, "weight: "
				    "'%s' is not a member of this zone (add "
				    "result: %s)", r->name, r->name);
				break;
			}
			z->members[j].weight = r->weight;
			z->members[j].weight_set = true;
			break;
		case REF_EXEMPT:
			if (find_list(c, r->name) < 0)
				conf_perr_at(p, r->file, r->line, "exempt: "
				    "'%s' is not a local list", r->name);
			break;
		case REF_SERVE:
			if (find_list(c, r->name) < 0 &&
			    find_escalation(c, r->name) < 0)
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
	if (c->nescalations > 0) {
		unsigned char *colour = conf_alloc(p, c->nescalations);

		for (i = 0; colour != NULL && i < c->nescalations; i++)
			if (colour[i] == 0)
				check_loop(p, i, colour);
		free(colour);
	}
}

/* un - an upstream's name for messages */
static const char *
un(const struct conf_upstream *u)
{
	return u->name != NULL ? u->name : "(unnamed)";
}

/* in_prefix4 - is the host-order IPv4 address a inside prefix e? */
static int
in_prefix4(const struct conf_prefix *e, uint32_t a)
{
	uint32_t net, mask;

	net = (uint32_t)e->addr[0] << 24 | (uint32_t)e->addr[1] << 16 |
	    (uint32_t)e->addr[2] << 8 | e->addr[3];
	mask = e->plen == 0 ? 0 : 0xffffffffU << (32 - e->plen);
	return e->family == AF_INET && (a & mask) == net;
}

/* check_zones - zone names are unique, also against mirrored upstreams */
static void
check_zones(struct parser *p)
{
	struct conf *c = p->c;
	size_t i, j;

	for (i = 0; i < c->nzones; i++) {
		const struct conf_zone *z = &c->zones[i];

		if (z->name == NULL)
			continue;
		for (j = 0; j < i; j++)
			if (c->zones[j].name != NULL &&
			    strcmp(c->zones[j].name, z->name) == 0) {
				conf_perr_at(p, z->file, z->line, "zone %s is "
				    "already defined at %s:%u", z->name,
				    c->zones[j].file, c->zones[j].line);
				break;
			}
		for (j = 0; j < c->nupstreams; j++)
			if (c->upstreams[j].mirror &&
			    c->upstreams[j].zone != NULL &&
			    strcmp(c->upstreams[j].zone, z->name) == 0)
				conf_perr_at(p, z->file, z->line, "zone %s is "
				    "also the zone of upstream %s, which has "
				    "mirror: yes", z->name,
				    un(&c->upstreams[j]));
	}
	for (i = 0; i < c->nupstreams; i++) {
		const struct conf_upstream *u = &c->upstreams[i];
		size_t k;

		for (j = 0; j < u->ncodes; j++)
			for (k = 0; k < u->nerror_codes; k++)
				if (in_prefix4(&u->error_codes[k],
				    u->codes[j].addr))
					conf_perr_at(p, u->file, u->line,
					    "upstream %s: code for '%s' lies "
					    "inside an error-code prefix",
					    un(u), u->codes[j].result);
	}
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
	check_names(p);
	check_refs(p);
	check_zones(p);
}
