/*
 * fuzz_conf.c -- arbitrary bytes as rblmux.conf: conf_load() must never
 * crash or leak, whatever it reports, and a config it accepts must pass
 * the checks across clauses when they are done again here the plain way,
 * each name against each other one (the inputs are small).
 *
 * The input is written to a file in a private temp dir that also holds a
 * few small files to include (one including another, one including
 * itself), so include: handling is exercised too. Inputs that could
 * include files elsewhere (a '/' on a line after "include") are skipped,
 * so the fuzzer does not wander the file system.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char	dir[] = "/tmp/rblmux-fuzz-conf.XXXXXX";
static char	input[sizeof(dir) + 16];
static const char *const helpers[] = {
	"in.conf", "server.inc", "lists.inc", "self.inc",
};

/* put - write a helper file into the temp dir */
static void
put(const char *name, const char *text)
{
	char path[sizeof(dir) + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		abort();
	fputs(text, f);
	fclose(f);
}

/* cleanup - remove the temp dir at exit */
static void
cleanup(void)
{
	char path[sizeof(dir) + 32];
	size_t i;

	for (i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, helpers[i]);
		unlink(path);
	}
	rmdir(dir);
}

/* quiet - look at every report, print nothing */
static void
quiet(void *arg, const char *file, unsigned line, const char *msg)
{
	size_t *n = arg;

	*n += strlen(msg) + (file != NULL ? strlen(file) : 0) + line % 2;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(input, sizeof(input), "%s/in.conf", dir);
	put("server.inc", "server:\n listen: 127.0.0.1@5353\n ttl-min: 30\n");
	put("lists.inc", "local-list:\n name: inc\n file: x.set\n"
	    "include: server.inc\n");
	put("self.inc", "include: self.inc\n");
	atexit(cleanup);
	return 0;
}

/* An owner of a name in the one namespace of results. */
struct owner {
	const char	*name;
	int		 up;		/* upstream index + 1, for its codes */
	int		 result;	/* a result (not an upstream with codes) */
};

/* owners - every definition of a name in c, into o; returns how many */
static size_t
owners(const struct conf *c, struct owner *o)
{
	size_t i, j, n = 0;

	for (i = 0; i < c->nlists; i++)
		o[n++] = (struct owner){ c->lists[i].name, 0, 1 };
	for (i = 0; i < c->nescalations; i++)
		o[n++] = (struct owner){ c->escalations[i].name, 0, 1 };
	for (i = 0; i < c->nupstreams; i++) {
		const struct conf_upstream *u = &c->upstreams[i];

		o[n++] = (struct owner){ u->name, (int)i + 1, u->ncodes == 0 };
		for (j = 0; j < u->ncodes; j++)
			o[n++] = (struct owner){ u->codes[j].result,
			    (int)i + 1, 1 };
	}
	return n;
}

/* is_result - does one of the n owners make a result called name? */
static int
is_result(const struct owner *o, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (o[i].result && strcmp(o[i].name, name) == 0)
			return 1;
	return 0;
}

/* is_clause - is name the name of a list (or, with esc, an escalation)? */
static int
is_clause(const struct conf *c, const char *name, int esc)
{
	size_t i;

	for (i = 0; i < c->nlists; i++)
		if (strcmp(c->lists[i].name, name) == 0)
			return 1;
	for (i = 0; esc && i < c->nescalations; i++)
		if (strcmp(c->escalations[i].name, name) == 0)
			return 1;
	return 0;
}

/* find_name - index of the first of n names equal to name, or n */
static size_t
find_name(char *const *names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n && strcmp(names[i], name) != 0; i++)
		;
	return i;
}

/* in_prefix - is the host-order IPv4 address a inside prefix e? */
static int
in_prefix(const struct conf_prefix *e, uint32_t a)
{
	uint32_t net = (uint32_t)e->addr[0] << 24 |
	    (uint32_t)e->addr[1] << 16 | (uint32_t)e->addr[2] << 8 | e->addr[3];
	uint32_t mask = e->plen == 0 ? 0 : 0xffffffffU << (32 - e->plen);

	return (a & mask) == net;
}

/* acyclic - do escalation sources lead nowhere back (Kahn's peeling)? */
static int
acyclic(const struct conf *c)
{
	char *done = calloc(c->nescalations + 1, 1);
	size_t i, j, k, left = c->nescalations;
	int progress = 1;

	if (done == NULL)
		abort();
	while (left > 0 && progress) {
		progress = 0;
		for (i = 0; i < c->nescalations; i++) {
			const struct conf_escalation *x = &c->escalations[i];

			for (j = 0; !done[i] && j < x->nsources; j++)
				for (k = 0; k < c->nescalations; k++)
					if (!done[k] && strcmp(x->sources[j],
					    c->escalations[k].name) == 0)
						goto next;
			if (!done[i]) {
				done[i] = 1;
				left--;
				progress = 1;
			}
next:
			;
		}
	}
	free(done);
	return left == 0;
}

/* same_prefix - the same ACL prefix? */
static int
same_prefix(const struct conf_prefix *a, const struct conf_prefix *b)
{
	return a->family == b->family && a->plen == b->plen &&
	    memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/* recheck - abort if an accepted config breaks a check across clauses */
static void
recheck(const struct conf *c)
{
	struct owner *o;
	size_t no, i, j, k, n = c->nlists + c->nescalations;

	for (i = 0; i < c->nupstreams; i++)
		n += 1 + c->upstreams[i].ncodes;
	if ((o = calloc(n + 1, sizeof(*o))) == NULL)
		abort();
	no = owners(c, o);
	/* one namespace; an upstream's codes may share its name */
	for (i = 0; i < no; i++)
		for (j = 0; j < i; j++)
			if (strcmp(o[i].name, o[j].name) == 0 &&
			    (o[i].up == 0 || o[i].up != o[j].up))
				abort();
	for (i = 0; i < c->nescalations; i++)
		for (j = 0; j < c->escalations[i].nsources; j++)
			if (!is_result(o, no, c->escalations[i].sources[j]))
				abort();
	if (!acyclic(c))
		abort();
	for (i = 0; i < c->nzones; i++) {
		const struct conf_zone *z = &c->zones[i];

		for (j = 0; j < i; j++)
			if (strcmp(c->zones[j].name, z->name) == 0)
				abort();
		for (j = 0; j < c->nupstreams; j++)
			if (c->upstreams[j].mirror &&
			    strcmp(c->upstreams[j].zone, z->name) == 0)
				abort();
		for (j = 0; j < z->nmembers; j++) {
			const struct conf_member *m = &z->members[j];

			if (!is_result(o, no, m->result) ||
			    (z->answer == ANSWER_BITMASK && m->bit == 0))
				abort();
			for (k = 0; k < j; k++)
				if (strcmp(z->members[k].result, m->result) ==
				    0 || (m->bit != 0 &&
				    z->members[k].bit == m->bit))
					abort();
		}
		for (j = 0; j < z->nexempt; j++)
			if (find_name(z->exempt, j, z->exempt[j]) < j ||
			    !is_clause(c, z->exempt[j], 0))
				abort();
		for (j = 0; j < z->nserve_lists; j++)
			if (find_name(z->serve_lists, j, z->serve_lists[j]) < j ||
			    !is_clause(c, z->serve_lists[j], 1))
				abort();
	}
	for (i = 0; i < c->nupstreams; i++) {
		const struct conf_upstream *u = &c->upstreams[i];

		for (j = 0; j < u->ncodes; j++) {
			for (k = 0; k < j; k++)
				if (u->codes[k].addr == u->codes[j].addr)
					abort();
			for (k = 0; k < u->nerror_codes; k++)
				if (in_prefix(&u->error_codes[k],
				    u->codes[j].addr))
					abort();
		}
	}
	for (i = 0; i < c->server.nacl; i++)
		for (j = 0; j < i; j++)
			if (same_prefix(&c->server.acl[i].prefix,
			    &c->server.acl[j].prefix))
				abort();
	free(o);
}

/* mentions_include_path - could this input include a file elsewhere? */
static int
mentions_include_path(const uint8_t *data, size_t size)
{
	static const char kw[] = "include";
	size_t i, j;

	for (i = 0; i + sizeof(kw) - 1 <= size; i++) {
		if (memcmp(data + i, kw, sizeof(kw) - 1) != 0)
			continue;
		/* a '/' later on the same line could name another directory */
		for (j = i; j < size && data[j] != '\n'; j++)
			if (data[j] == '/')
				return 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *c = NULL;
	size_t seen = 0;
	FILE *f;

	if (mentions_include_path(data, size))
		return 0;
	if ((f = fopen(input, "w")) == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
	if (conf_load(input, quiet, &seen, &c) == 0) {
		char *p;

		if (c == NULL || c->server.nlisten == 0)
			abort();
		recheck(c);
		p = conf_path(c, "x");
		free(p);
		conf_free(c);
	}
	return 0;
}
