/*
 * gen.c -- client configuration snippets from the live view.
 *
 * A zone is first turned into rules (one per bit, value, subzone, score
 * or the whole zone; see gen.h), each with a name, a weight and a
 * description; each client's writer then prints the rules in its own
 * syntax. Everything is derived from the view in member order, so the
 * text is the same for the same config.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "ctl.h"
#include "gen.h"
#include "view.h"

#define GEN_MAX_VALS	16		/* codes of one upstream result */
#define GEN_MAX_RULES	(CONF_ZONE_MAX_MEMBERS + 256)
#define GEN_NAME_MAX	32		/* rule names: the part after
					   RCVD_IN_ / RBLMUX_ */
#define GEN_SCORE_MAX	255

enum gen_how {
	GH_BIT,			/* the zone's answer has the bit set */
	GH_VALUE,		/* the zone answers one of vals */
	GH_SUBZONE,		/* RESULT.ZONE answers anything */
	GH_ANY,			/* the zone answers anything */
	GH_SCORE,		/* the zone answers 127.0.0.score */
};

struct gen_rule {
	const struct vsource	*src;		/* NULL: the zone, a score */
	enum gen_how		 how;
	uint32_t		 bit;
	uint32_t		 vals[GEN_MAX_VALS];	/* host order */
	unsigned		 nvals;
	unsigned		 score;
	int			 weight;
	char			 name[GEN_NAME_MAX + 1];	/* ALL_RBL_DYNA */
	char			 what[160];		/* description */
};

struct gen {
	const struct view	*v;
	const struct vzone	*z;
	struct ctl_out		*o;
	struct gen_rule		 r[GEN_MAX_RULES];
	size_t			 nr;
	char			 prefix[16];	/* ALL_RBL */
	char			 set[80];	/* rblmux_all_rbl_local */
	unsigned		 threshold;	/* largest single weight, >= 1 */
	unsigned		 top;		/* octet 1..3 of the highest bit
						   (bitmask), 3 otherwise */
	unsigned		 maxscore;	/* score zones: the highest */
	bool			 whole;		/* some rule tests the zone's
						   answer (bit, value, score) */
	bool			 names;		/* the zone lists domain names
						   only: the sender's domain is
						   looked up */
	const char		*sa;		/* SpamAssassin rule prefix */
	const char		*sa_eval;	/* check_rbl, check_rbl_envfrom */
	const char		*sa_sfx;	/* set suffix: -lastexternal */
};

static const char *const answer_word[] = { "bitmask", "each", "score" };

/* upper_name - NAME from name: upper case, '_' for anything else */
static void
upper_name(const char *s, size_t len, char *out, size_t cap)
{
	size_t i;

	for (i = 0; i < len && i + 1 < cap; i++) {
		char c = s[i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			c = '_';
		out[i] = c;
	}
	out[i] = '\0';
}

/*
 * rule_name - PREFIX_SUFFIX, at most GEN_NAME_MAX characters; a longer
 * one is cut and ends in the rule's number, which keeps it unique
 */
static void
rule_name(struct gen *g, struct gen_rule *r, const char *suffix)
{
	char up[80], num[16];
	int n;

	upper_name(suffix, strlen(suffix), up, sizeof(up));
	n = snprintf(r->name, sizeof(r->name), "%s%s%s", g->prefix,
	    *up ? "_" : "", up);
	if (n > GEN_NAME_MAX) {
		snprintf(num, sizeof(num), "_%zu", g->nr + 1);
		memcpy(r->name + GEN_NAME_MAX - strlen(num), num,
		    strlen(num) + 1);
	}
}

/* upstream_codes - the codes of an upstream that answer src's result */
static unsigned
upstream_codes(const struct view *v, const struct vsource *src,
    uint32_t *vals)
{
	const struct conf_upstream *u = &v->conf->upstreams[src->upstream];
	unsigned n = 0;
	size_t i;

	if (src->code < 0)
		return 0;
	for (i = 0; i < u->ncodes; i++) {
		if (strcmp(u->codes[i].result, src->name) != 0)
			continue;
		if (n == GEN_MAX_VALS)
			return 0;
		vals[n++] = u->codes[i].addr;
	}
	return n;
}

/* describe - "dyna: all.spamrats.com answers 127.0.0.36" */
static void
describe(const struct view *v, const struct vsource *src, char *buf,
    size_t cap)
{
	const struct conf *c = v->conf;
	uint32_t vals[GEN_MAX_VALS];
	unsigned n, i;
	size_t len;
	char a[16];

	switch (src->kind) {
	case VSRC_LIST:
		snprintf(buf, cap, "%s: %s", src->name, src->cl->allow ?
		    "allowlist" : "local list");
		return;
	case VSRC_UPSTREAM:
		n = upstream_codes(v, src, vals);
		len = (size_t)snprintf(buf, cap, "%s: %s %s", src->name,
		    c->upstreams[src->upstream].zone, n ? "answers" : "lists it");
		for (i = 0; i < n && len < cap; i++)
			len += (size_t)snprintf(buf + len, cap - len, "%s%s",
			    i ? " or " : " ", list_fmt_a(vals[i], a, sizeof(a)));
		return;
	case VSRC_ESCALATION:
		for (i = 0; i < c->nescalations; i++)
			if (strcmp(c->escalations[i].name, src->name) == 0)
				break;
		if (i == c->nescalations) {
			snprintf(buf, cap, "%s: escalation", src->name);
			return;
		}
		snprintf(buf, cap, "%s: %u or more listed addresses in the "
		    "/%u (IPv6 /%u)", src->name, c->escalations[i].threshold,
		    c->escalations[i].prefix, c->escalations[i].prefix6);
		return;
	}
	snprintf(buf, cap, "%s", src->name);
}

/* add_rule - a new rule of g, or NULL when there are too many */
static struct gen_rule *
add_rule(struct gen *g, const struct vsource *src, enum gen_how how,
    const char *suffix)
{
	struct gen_rule *r;

	if (g->nr == GEN_MAX_RULES)
		return NULL;
	r = &g->r[g->nr];
	memset(r, 0, sizeof(*r));
	r->src = src;
	r->how = how;
	r->weight = src != NULL ? src->weight : 1;
	if (src != NULL)
		describe(g->v, src, r->what, sizeof(r->what));
	rule_name(g, r, suffix);
	g->nr++;
	if (how != GH_SUBZONE && how != GH_ANY)
		g->whole = true;
	return r;
}

/* score_rules - one rule per score the zone can answer */
static void
score_rules(struct gen *g)
{
	const struct vzone *z = g->z;
	unsigned max = 0, n;
	char suffix[16];
	size_t i;

	for (i = 0; i < z->nsrc; i++)
		if (z->src[i].weight > 0)
			max += (unsigned)z->src[i].weight;
	if (max > GEN_SCORE_MAX)
		max = GEN_SCORE_MAX;
	g->maxscore = max;
	for (n = 1; n <= max; n++) {
		struct gen_rule *r;

		snprintf(suffix, sizeof(suffix), "score_%u", n);
		if ((r = add_rule(g, NULL, GH_SCORE, suffix)) == NULL)
			return;
		r->score = n;
		r->weight = (int)n;
		snprintf(r->what, sizeof(r->what), "score %u in %s", n,
		    z->name);
	}
}

/* served_rules - a served zone: the codes of a mirror, else any listing */
static void
served_rules(struct gen *g)
{
	const struct vzone *z = g->z;
	struct gen_rule *r;
	uint32_t vals[GEN_MAX_VALS];
	unsigned n;
	size_t i;

	for (i = 0; i < z->nsrc; i++)
		if (z->src[i].kind != VSRC_UPSTREAM ||
		    upstream_codes(g->v, &z->src[i], vals) == 0)
			break;
	if (i < z->nsrc || z->nsrc == 0) {
		if ((r = add_rule(g, NULL, GH_ANY, "")) == NULL)
			return;
		r->weight = (int)g->threshold;
		snprintf(r->what, sizeof(r->what), "listed in %s", z->name);
		return;
	}
	for (i = 0; i < z->nsrc; i++) {
		n = upstream_codes(g->v, &z->src[i], vals);
		if ((r = add_rule(g, &z->src[i], GH_VALUE, z->src[i].name)) ==
		    NULL)
			return;
		memcpy(r->vals, vals, n * sizeof(*vals));
		r->nvals = n;
	}
}

/* build - the rules of zone z, the names and the threshold */
static void
build(struct gen *g)
{
	const struct vzone *z = g->z;
	const char *dot;
	size_t i, plen;

	/* ALL_RBL from all.rbl.local: every label but the last */
	dot = strrchr(z->name, '.');
	plen = dot != NULL ? (size_t)(dot - z->name) : strlen(z->name);
	if (plen > sizeof(g->prefix) - 1)
		plen = sizeof(g->prefix) - 1;
	upper_name(z->name, plen, g->prefix, sizeof(g->prefix));
	while (plen > 0 && g->prefix[plen - 1] == '_')
		g->prefix[--plen] = '\0';
	snprintf(g->set, sizeof(g->set), "rblmux_%s", z->name);
	for (i = 7; g->set[i] != '\0'; i++)
		if (g->set[i] == '.' || g->set[i] == '-')
			g->set[i] = '_';

	g->threshold = 1;
	g->top = 3;
	for (i = 0; i < z->nsrc; i++) {
		unsigned oct = z->src[i].bit >= 1u << 16 ? 1 :
		    z->src[i].bit >= 1u << 8 ? 2 : 3;

		if (z->src[i].weight > (int)g->threshold)
			g->threshold = (unsigned)z->src[i].weight;
		if (!z->serve && z->answer == ANSWER_BITMASK && oct < g->top)
			g->top = oct;
	}

	if (z->serve) {
		served_rules(g);
		return;
	}
	if (z->answer == ANSWER_SCORE) {
		score_rules(g);
		return;
	}
	for (i = 0; i < z->nsrc; i++) {
		const struct vsource *src = &z->src[i];
		struct gen_rule *r;
		uint32_t vals[GEN_MAX_VALS];
		unsigned n = 0;

		if (z->answer == ANSWER_BITMASK) {
			if ((r = add_rule(g, src, GH_BIT, src->name)) == NULL)
				return;
			r->bit = src->bit;
			continue;
		}
		/* each: the configured value, an upstream's codes, or the
		   result's own subzone */
		if (src->value != 0) {
			vals[0] = src->value;
			n = 1;
		} else if (src->kind == VSRC_UPSTREAM) {
			n = upstream_codes(g->v, src, vals);
		}
		if ((r = add_rule(g, src, n ? GH_VALUE : GH_SUBZONE,
		    src->name)) == NULL)
			return;
		memcpy(r->vals, vals, n * sizeof(*vals));
		r->nvals = n;
	}
}

/* rule_zone - the zone a rule asks: ZONE, or RESULT.ZONE */
static void
rule_zone(const struct gen *g, const struct gen_rule *r, char *buf,
    size_t cap)
{
	if (r->how == GH_SUBZONE)
		snprintf(buf, cap, "%s.%s", r->src->name, g->z->name);
	else
		snprintf(buf, cap, "%s", g->z->name);
}

/* header - the comment every snippet starts with */
static void
header(const struct gen *g, const char *client, const char *where)
{
	const struct conf_server *cs = &g->v->conf->server;
	const struct vzone *z = g->z;
	size_t i;

	ctl_printf(g->o, "# %s for the rblmux zone %s (%s%s),\n"
	    "# generated from the live configuration of rblmuxd.\n", client,
	    z->name, z->serve ? "served" : "answer: ",
	    z->serve ? "" : answer_word[z->answer]);
	for (i = 0; i < cs->nlisten; i++) {
		const struct sockaddr_storage *ss = &cs->listen[i].sa;
		char a[INET6_ADDRSTRLEN];
		unsigned port;
		bool any;

		if (ss->ss_family == AF_INET) {
			const struct sockaddr_in *s4 =
			    (const struct sockaddr_in *)ss;

			inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
			port = ntohs(s4->sin_port);
			any = s4->sin_addr.s_addr == htonl(INADDR_ANY);
		} else {
			const struct sockaddr_in6 *s6 =
			    (const struct sockaddr_in6 *)ss;

			inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
			port = ntohs(s6->sin6_port);
			any = IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
		}
		if (i == 0)
			ctl_printf(g->o, "# Send the resolver's queries for "
			    "%s to rblmuxd at", z->name);
		ctl_printf(g->o, "%s%s%s port %u", i == 0 ? "\n#   " :
		    i + 1 == cs->nlisten ? " or\n#   " : ",\n#   ",
		    any ? "any address of its host, " : "", any ? "" : a,
		    port);
	}
	if (cs->nlisten > 0)
		ctl_printf(g->o, "\n# (docs/howto-clients.md: stub zones and "
		    "rebinding filters).\n");
	ctl_printf(g->o, "# %s\n", where);
}

/*
 * subzones_note - the per-result subzones of an aggregate zone, for
 * clients that want one list per result
 */
static void
subzones_note(const struct gen *g)
{
	const struct vzone *z = g->z;
	size_t i, col = 0;

	if (z->serve || z->nsrc == 0)
		return;
	ctl_printf(g->o, "\n# One list per result instead (each answers "
	    "the result's own value):");
	for (i = 0; i < z->nsrc; i++) {
		size_t len = strlen(z->src[i].name) + strlen(z->name) + 3;

		if (i == 0 || col + len > 76) {
			ctl_printf(g->o, "%s\n#  ", i ? "," : "");
			col = 3;
		} else {
			ctl_printf(g->o, ",");
		}
		ctl_printf(g->o, " %s.%s", z->src[i].name, z->name);
		col += len;
	}
	ctl_printf(g->o, "\n");
}

/* weight_text - a score for SpamAssassin and rspamd: 0 would disable */
static const char *
weight_text(int w, char *buf, size_t cap)
{
	if (w == 0)
		snprintf(buf, cap, "0.001");
	else
		snprintf(buf, cap, "%d.0", w);
	return buf;
}

/* sa_subtest - what check_rbl_sub compares the answer with */
static void
sa_subtest(const struct gen_rule *r, char *buf, size_t cap)
{
	char a[16];
	size_t len;
	unsigned i;

	switch (r->how) {
	case GH_BIT:
		/* a decimal number is a mask over the whole address */
		snprintf(buf, cap, "%u", r->bit);
		return;
	case GH_SCORE:
		snprintf(buf, cap, "127.0.0.%u", r->score);
		return;
	default:
		break;
	}
	if (r->nvals == 1) {
		/* an address must equal one of the answers */
		list_fmt_a(r->vals[0], buf, cap);
		return;
	}
	/* several: a regular expression over the answer's text */
	len = (size_t)snprintf(buf, cap, "^(?:");
	for (i = 0; i < r->nvals && len < cap; i++) {
		list_fmt_a(r->vals[i], a, sizeof(a));
		len += (size_t)snprintf(buf + len, cap - len, "%s", i ? "|" :
		    "");
		for (char *p = a; *p != '\0' && len + 3 < cap; p++) {
			if (*p == '.')
				buf[len++] = '\\';
			buf[len++] = *p;
		}
		buf[len] = '\0';
	}
	if (len < cap)
		snprintf(buf + len, cap - len, ")$");
}

/* gen_spamassassin - check_rbl and one check_rbl_sub per rule */
static void
gen_spamassassin(struct gen *g)
{
	char w[16], sub[GEN_MAX_VALS * 24 + 8], zone[320];
	size_t i;

	header(g, "SpamAssassin rules", g->names ? "Put them in a .cf file of "
	    "the site configuration (local.cf's directory);\n# they need the "
	    "DNSEval plugin, loaded by default. The domain looked up is\n"
	    "# the envelope sender's. Scores are the members' weights: tune "
	    "them there." : "Put them in a .cf file of the site "
	    "configuration (local.cf's directory);\n# they need the "
	    "DNSEval plugin, loaded by default. The relay looked up is the\n"
	    "# last external one. Scores are the members' weights: "
	    "tune them there.");
	if (g->whole) {
		ctl_printf(g->o, "\nheader   __%s%s eval:%s('%s%s', '%s.')\n",
		    g->sa, g->prefix, g->sa_eval, g->set, g->sa_sfx,
		    g->z->name);
		ctl_printf(g->o, "tflags   __%s%s net\n", g->sa, g->prefix);
	}
	for (i = 0; i < g->nr; i++) {
		const struct gen_rule *r = &g->r[i];

		ctl_printf(g->o, "\n");
		if (r->how == GH_SUBZONE || r->how == GH_ANY) {
			rule_zone(g, r, zone, sizeof(zone));
			ctl_printf(g->o, "header   %s%s eval:%s('%s%s%s%s', "
			    "'%s.')\n", g->sa, r->name, g->sa_eval, g->set,
			    r->how == GH_SUBZONE ? "_" : "",
			    r->how == GH_SUBZONE ? r->src->name : "", g->sa_sfx,
			    zone);
		} else {
			sa_subtest(r, sub, sizeof(sub));
			ctl_printf(g->o, "header   %s%s eval:check_rbl_sub('%s%s', "
			    "'%s')\n", g->sa, r->name, g->set, g->sa_sfx, sub);
		}
		ctl_printf(g->o, "describe %s%s %s\n", g->sa, r->name, r->what);
		ctl_printf(g->o, "tflags   %s%s net\n", g->sa, r->name);
		ctl_printf(g->o, "score    %s%s %s\n", g->sa, r->name,
		    weight_text(r->weight, w, sizeof(w)));
	}
}

/*
 * octet_filter - Postfix's pattern for one octet of the answers with
 * bit m (1..128) of the octet set: [m..2m-1;3m..4m-1;...]
 */
static size_t
octet_filter(unsigned m, char *buf, size_t cap)
{
	size_t len = (size_t)snprintf(buf, cap, "[");
	unsigned s;

	for (s = m; s <= 255 && len < cap; s += 2 * m) {
		if (m == 1)
			len += (size_t)snprintf(buf + len, cap - len, "%s%u",
			    s == m ? "" : ";", s);
		else
			len += (size_t)snprintf(buf + len, cap - len,
			    "%s%u..%u", s == m ? "" : ";", s, s + m - 1);
	}
	if (len < cap)
		len += (size_t)snprintf(buf + len, cap - len, "]");
	return len;
}

/*
 * pf_filter - "=127.0.0.[2..3;6..7;...]": Postfix's d.d.d.d filter of
 * the answers a rule matches ("" for any answer); a rule of several
 * values gives value k
 */
static void
pf_filter(const struct gen *g, const struct gen_rule *r, unsigned k,
    unsigned from, char *buf, size_t cap)
{
	size_t len;
	unsigned oct, shift;

	buf[0] = '\0';
	switch (r->how) {
	case GH_BIT:
		shift = r->bit >= 1u << 16 ? 16 : r->bit >= 1u << 8 ? 8 : 0;
		oct = 3 - shift / 8;
		len = (size_t)snprintf(buf, cap, "=127");
		for (unsigned o = 1; o <= 3 && len < cap; o++) {
			if (len < cap)
				buf[len++] = '.';
			buf[len] = '\0';
			if (o == oct)
				len += octet_filter(r->bit >> shift, buf + len,
				    cap - len);
			else if (o < g->top)
				len += (size_t)snprintf(buf + len, cap - len,
				    "0");
			else
				len += (size_t)snprintf(buf + len, cap - len,
				    "[0..255]");
		}
		return;
	case GH_VALUE:
		snprintf(buf, cap, "=%u.%u.%u.%u", r->vals[k] >> 24,
		    (r->vals[k] >> 16) & 255, (r->vals[k] >> 8) & 255,
		    r->vals[k] & 255);
		return;
	case GH_SCORE:
		if (from > 0 && from < GEN_SCORE_MAX)
			snprintf(buf, cap, "=127.0.0.[%u..%u]", from,
			    GEN_SCORE_MAX);
		else
			snprintf(buf, cap, "=127.0.0.%u", from ? from :
			    r->score);
		return;
	default:
		return;
	}
}

/* pf_word - what Postfix looks up: the client, or the sender's domain */
static const char *
pf_word(const struct gen *g)
{
	return g->names ? "reject_rhsbl_sender" : "reject_rbl_client";
}

/* pf_lines - the rules as "WORD ZONE=FILTER" items of a Postfix list */
static void
pf_lines(struct gen *g, bool postscreen)
{
	char f[1024], zone[320];
	size_t i, n = 0;
	unsigned k;

	for (i = 0; i < g->nr; i++) {
		const struct gen_rule *r = &g->r[i];
		unsigned nv = r->how == GH_VALUE ? r->nvals : 1;

		/* reject_rbl_client on a score zone: one item, the
		   threshold and up */
		if (!postscreen && r->how == GH_SCORE) {
			if (r->score != 1)
				continue;
			ctl_printf(g->o, "    # a score of %u or more\n",
			    g->threshold);
			pf_filter(g, r, 0, g->threshold, f, sizeof(f));
			ctl_printf(g->o, "    %s %s%s", pf_word(g), g->z->name,
			    f);
			n++;
			continue;
		}
		ctl_printf(g->o, "%s    # %s\n", n ? ",\n" : "", r->what);
		rule_zone(g, r, zone, sizeof(zone));
		for (k = 0; k < nv; k++) {
			pf_filter(g, r, k, 0, f, sizeof(f));
			if (postscreen)
				ctl_printf(g->o, "%s    %s%s*%d", k ? ",\n" : "",
				    zone, f, r->weight);
			else
				ctl_printf(g->o, "%s    %s %s%s",
				    k ? ",\n" : "", pf_word(g), zone, f);
		}
		n++;
	}
	ctl_printf(g->o, "\n");
}

/* gen_postfix - smtpd_recipient_restrictions with reject_rbl_client */
static void
gen_postfix(struct gen *g)
{
	header(g, "Postfix main.cf lines", "Keep your own restrictions "
	    "around these; the relay check must stay\n# before them. "
	    "The reply names the zone and the TXT reason.");
	ctl_printf(g->o, "\nsmtpd_recipient_restrictions =\n"
	    "    permit_mynetworks,\n"
	    "    reject_unauth_destination,\n");
	pf_lines(g, false);
	subzones_note(g);
}

/* gen_postscreen - postscreen_dnsbl_sites with the members' weights */
static void
gen_postscreen(struct gen *g)
{
	header(g, "postscreen main.cf lines", "postscreen must be enabled in "
	    "master.cf (POSTSCREEN_README). Weights are the\n# members' "
	    "weights; the threshold is the largest single one.");
	ctl_printf(g->o, "\npostscreen_dnsbl_action = enforce\n"
	    "postscreen_dnsbl_threshold = %u\n"
	    "postscreen_dnsbl_sites =\n", g->threshold);
	pf_lines(g, true);
	subzones_note(g);
}

/* gen_exim - one deny statement per rule */
static void
gen_exim(struct gen *g)
{
	const char *who = g->names ? "$sender_address_domain" :
	    "$sender_host_address";
	char zone[320], a[16];
	size_t i;
	unsigned k;

	header(g, "Exim ACL statements", "Put them in the RCPT ACL "
	    "(acl_check_rcpt) after the accept for\n# authenticated and "
	    "local senders; use warn with add_header to tag instead.");
	for (i = 0; i < g->nr; i++) {
		const struct gen_rule *r = &g->r[i];

		/* a score zone: one statement, the threshold and up */
		if (r->how == GH_SCORE && r->score != 1)
			continue;
		rule_zone(g, r, zone, sizeof(zone));
		ctl_printf(g->o, "\n  deny    dnslists = %s", zone);
		switch (r->how) {
		case GH_BIT:
			ctl_printf(g->o, "&%s", list_fmt_a(r->bit, a, sizeof(a)));
			break;
		case GH_VALUE:
			for (k = 0; k < r->nvals; k++)
				ctl_printf(g->o, "%s%s", k ? "," : "=",
				    list_fmt_a(r->vals[k], a, sizeof(a)));
			break;
		case GH_SCORE:
			for (k = g->threshold; k <= g->maxscore; k++)
				ctl_printf(g->o, "%s127.0.0.%u", k ==
				    g->threshold ? "=" : ",", k);
			break;
		default:
			break;
		}
		if (g->names)
			ctl_printf(g->o, "/$sender_address_domain");
		if (r->how == GH_SCORE)
			ctl_printf(g->o, "\n          message  = "
			    "%s has a score of %u or more in %s\n", who,
			    g->threshold, g->z->name);
		else
			ctl_printf(g->o, "\n          message  = "
			    "%s is listed in %s (%s)\n", who, zone, r->what);
	}
	subzones_note(g);
}

/* rspamd_rbl - one rbls entry: the zone, what it checks, its symbols */
static void
rspamd_rbl(struct gen *g, const struct gen_rule *r)
{
	const struct vzone *z = g->z;
	char zone[320], a[16], sub[80];
	size_t i, len;
	unsigned k;

	if (r != NULL)
		rule_zone(g, r, zone, sizeof(zone));
	else
		snprintf(zone, sizeof(zone), "%s", z->name);
	snprintf(sub, sizeof(sub), "%s", r != NULL ? r->src->name : "");
	len = strlen(g->set);
	ctl_printf(g->o, "\n  %.*s%s%s {\n    rbl = \"%s\";\n", (int)len,
	    g->set, *sub ? "_" : "", sub, zone);
	/* a selector alone: checks = ["selector"] would hide it */
	if (g->names)
		ctl_printf(g->o, "    selector = \"from('smtp'):domain\";\n");
	else
		ctl_printf(g->o, "    checks = [\"from\"];\n");
	if (!g->names && !(z->families & VFAM_IP4))
		ctl_printf(g->o, "    ipv4 = false;\n");
	if (!g->names && !(z->families & VFAM_IP6))
		ctl_printf(g->o, "    ipv6 = false;\n");
	if (r != NULL) {
		ctl_printf(g->o, "    symbol = \"RBLMUX_%s\";\n  }\n", r->name);
		return;
	}
	if (g->nr == 1 && g->r[0].how == GH_ANY) {
		ctl_printf(g->o, "    symbol = \"RBLMUX_%s\";\n  }\n",
		    g->r[0].name);
		return;
	}
	ctl_printf(g->o, "    symbol = \"RBLMUX_%s\";\n    %s {\n", g->prefix,
	    z->serve || z->answer != ANSWER_BITMASK ? "returncodes" :
	    "returnbits");
	for (i = 0; i < g->nr; i++) {
		const struct gen_rule *x = &g->r[i];

		if (x->how == GH_SUBZONE)
			continue;
		ctl_printf(g->o, "      RBLMUX_%s = ", x->name);
		if (x->how == GH_BIT)
			ctl_printf(g->o, "%u;\n", x->bit);
		else if (x->how == GH_SCORE)
			ctl_printf(g->o, "\"127.0.0.%u\";\n", x->score);
		else {
			ctl_printf(g->o, "[");
			for (k = 0; k < x->nvals; k++)
				ctl_printf(g->o, "%s\"%s\"", k ? ", " : "",
				    list_fmt_a(x->vals[k], a, sizeof(a)));
			ctl_printf(g->o, "];\n");
		}
	}
	ctl_printf(g->o, "    }\n  }\n");
}

/* gen_rspamd - the rbl module's rbls and the symbols' scores */
static void
gen_rspamd(struct gen *g)
{
	char w[16];
	size_t i;

	header(g, "rspamd rbl module settings", "The first part goes in "
	    "local.d/rbl.conf, the second in\n# local.d/rbl_group.conf. "
	    "Scores are the members' weights.");
	ctl_printf(g->o, "\n# local.d/rbl.conf\nrbls {");
	if (g->whole || (g->nr == 1 && g->r[0].how == GH_ANY))
		rspamd_rbl(g, NULL);
	for (i = 0; i < g->nr; i++)
		if (g->r[i].how == GH_SUBZONE)
			rspamd_rbl(g, &g->r[i]);
	ctl_printf(g->o, "}\n\n# local.d/rbl_group.conf\nsymbols {\n");
	for (i = 0; i < g->nr; i++)
		ctl_printf(g->o, "  \"RBLMUX_%s\" {\n    weight = %s;\n"
		    "    description = \"%s\";\n  }\n", g->r[i].name,
		    weight_text(g->r[i].weight, w, sizeof(w)), g->r[i].what);
	ctl_printf(g->o, "}\n");
}

static const struct {
	const char	*name;
	void		(*fn)(struct gen *);
} clients[] = {
	{ "spamassassin", gen_spamassassin },
	{ "postfix", gen_postfix },
	{ "postscreen", gen_postscreen },
	{ "exim", gen_exim },
	{ "rspamd", gen_rspamd },
};

/* gen_command - "gen CLIENT ZONE" */
bool
gen_command(const struct view *v, int argc, char **argv, struct ctl_out *o)
{
	static struct gen g;	/* 60 KB of rules: the loop's thread only */
	const struct vzone *z;
	size_t i, c;

	if (argc != 3) {
		ctl_printf(o, "usage: gen spamassassin|postfix|postscreen|exim|"
		    "rspamd ZONE\n");
		return false;
	}
	for (c = 0; c < sizeof(clients) / sizeof(clients[0]); c++)
		if (strcmp(argv[1], clients[c].name) == 0)
			break;
	if (c == sizeof(clients) / sizeof(clients[0])) {
		ctl_printf(o, "unknown client: %.64s (clients: %s)\n", argv[1],
		    GEN_CLIENTS);
		return false;
	}
	if ((z = view_zone(v, argv[2])) == NULL) {
		ctl_printf(o, "no such zone: %.256s (zones:", argv[2]);
		for (i = 0; i < v->nzones; i++)
			ctl_printf(o, "%s %s", i ? "," : "", v->zones[i].name);
		ctl_printf(o, ")\n");
		return false;
	}
	if (!(z->families & (VFAM_IP4 | VFAM_IP6)) &&
	    clients[c].fn == gen_postscreen) {
		ctl_printf(o, "zone %s lists domain names only; postscreen "
		    "looks up client addresses (use gen postfix)\n", z->name);
		return false;
	}
	memset(&g, 0, sizeof(g));
	g.v = v;
	g.z = z;
	g.o = o;
	g.names = !(z->families & (VFAM_IP4 | VFAM_IP6));
	g.sa = g.names ? "RHSBL_" : "RCVD_IN_";
	g.sa_eval = g.names ? "check_rbl_envfrom" : "check_rbl";
	g.sa_sfx = g.names ? "" : "-lastexternal";
	build(&g);
	clients[c].fn(&g);
	return true;
}
