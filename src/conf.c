/*
 * conf.c -- read rblmux.conf into a fresh struct conf and validate it.
 *
 * A line is "keyword: value ..."; a keyword of a clause name with nothing
 * after the colon starts that clause. Values are split at white space;
 * double quotes keep spaces ("\"" and "\\" inside them), '#' outside
 * quotes starts a comment. "include: FILE" reads FILE (relative to the
 * including file's directory; shell patterns allowed) as if its text stood
 * in place of the include line.
 *
 * This file reads files and lines and opens and closes clauses (with the
 * clause defaults); keywords are checked and stored by the table in
 * conf_kw.c, and names that refer to other clauses are resolved by
 * conf_check.c after the whole file is read, so clauses may appear in any
 * order. Every problem is reported with file:line and parsing goes on, so
 * one run shows them all; any problem rejects the config as a whole.
 *
 * conf_load() keeps no global state, so a reload thread may run it while
 * the server uses an older config, and it never exits: out of memory is
 * reported and returned (conf_int.h).
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "conf_int.h"
#include "err.h"

static int	read_file(struct parser *, const char *, int);

/* conf_perr_at - report one problem at file:line */
void
conf_perr_at(struct parser *p, const char *file, unsigned line,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	p->nerr++;
	if (p->oom || p->report == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->report(p->arg, file, line, msg);
}

/* conf_perr - report one problem at the current line */
void
conf_perr(struct parser *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	p->nerr++;
	if (p->oom || p->report == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->report(p->arg, p->file, p->line, msg);
}

/* conf_alloc - zeroed memory, or NULL with p->oom set */
void *
conf_alloc(struct parser *p, size_t size)
{
	void *r = calloc(1, size);

	if (r == NULL)
		p->oom = true;
	return r;
}

/* conf_strdup - a copy of s, or NULL with p->oom set */
char *
conf_strdup(struct parser *p, const char *s)
{
	char *r = strdup(s);

	if (r == NULL)
		p->oom = true;
	return r;
}

/*
 * conf_grow - append one zeroed element to the array *ap of *n elements.
 * The array has room for the next power of two of *n elements, so it is
 * moved only when *n reaches one: appending n elements costs O(n).
 */
int
conf_grow(struct parser *p, void *ap, size_t *n, size_t size)
{
	void *a, *r;
	size_t room;

	/* memcpy: ap points to some T *, read and written as a void * */
	memcpy(&a, ap, sizeof(a));
	if ((*n & (*n - 1)) == 0) {
		room = *n == 0 ? 1 : *n * 2;
		if (room > SIZE_MAX / size ||
		    (r = realloc(a, room * size)) == NULL) {
			p->oom = true;
			return 0;
		}
		memcpy(ap, &r, sizeof(r));
		a = r;
	}
	memset((char *)a + *n * size, 0, size);
	(*n)++;
	return 1;
}

/* conf_oom - note out of memory from a value parser */
int
conf_oom(struct parser *p, int rc)
{
	if (rc == RBLMUX_ENOMEM)
		p->oom = true;
	return rc;
}

/* keep_string - a long-lived copy of a file name, shared; NULL: no memory */
static const char *
keep_string(struct parser *p, const char *s)
{
	struct conf *c = p->c;
	char *copy, **slot;
	size_t i;

	for (i = 0; i < c->nstrings; i++)
		if (strcmp(c->strings[i], s) == 0)
			return c->strings[i];
	if ((copy = conf_strdup(p, s)) == NULL)
		return NULL;
	if ((slot = GROW(p, c->strings, c->nstrings)) == NULL) {
		free(copy);
		return NULL;
	}
	*slot = copy;
	return copy;
}

/* close_clause - defaults and checks that need the whole clause */
static void
close_clause(struct parser *p)
{
	struct conf *c = p->c;
	struct seen *sn = &p->seen_obj;
	const char *cf = p->cl_file;
	unsigned cline = p->cl_line;

	switch (p->clause) {
	case CL_UPSTREAM: {
		struct conf_upstream *u = &c->upstreams[p->obj];

		if (u->name == NULL)
			conf_perr_at(p, cf, cline, "upstream: clause without "
			    "name:");
		if (u->zone == NULL)
			conf_perr_at(p, cf, cline, "upstream %s: no zone: "
			    "given", u->name ? u->name : "(unnamed)");
		if (u->nerror_codes == 0) {
			struct conf_prefix *pf = GROW(p, u->error_codes,
			    u->nerror_codes);

			if (pf == NULL)
				break;
			pf->family = AF_INET;
			pf->addr[0] = 127;
			pf->addr[1] = 255;
			pf->addr[2] = 255;
			pf->plen = 24;
		}
		break;
	}
	case CL_LIST: {
		struct conf_list *l = &c->lists[p->obj];

		if (l->name == NULL)
			conf_perr_at(p, cf, cline, "local-list: clause without "
			    "name:");
		if (l->nfiles == 0)
			conf_perr_at(p, cf, cline, "local-list %s: no file: "
			    "given", l->name ? l->name : "(unnamed)");
		/* an allowlist subtracts in score zones unless told */
		if (l->allow && sn->line[conf_kw_index(CL_LIST, "weight")] == 0)
			l->weight = -1;
		break;
	}
	case CL_ESCALATION: {
		struct conf_escalation *e = &c->escalations[p->obj];

		if (e->name == NULL)
			conf_perr_at(p, cf, cline, "escalation: clause without "
			    "name:");
		if (e->nsources == 0)
			conf_perr_at(p, cf, cline, "escalation %s: no source: "
			    "given", e->name ? e->name : "(unnamed)");
		if (e->txt == NULL)
			e->txt = conf_strdup(p,
			    "$count listed addresses in $prefix");
		break;
	}
	case CL_ZONE: {
		struct conf_zone *z = &c->zones[p->obj];
		const char *zn = z->name ? z->name : "(unnamed)";
		int ia = conf_kw_index(CL_ZONE, "answer");

		if (z->name == NULL)
			conf_perr_at(p, cf, cline, "zone: clause without "
			    "name:");
		if (z->serve && z->nmembers > 0)
			conf_perr_at(p, cf, cline, "zone %s: has both serve: "
			    "and members (bit:/result:); use two zones", zn);
		else if (!z->serve && z->nmembers == 0)
			conf_perr_at(p, cf, cline, "zone %s: neither serve: "
			    "nor any bit: or result: given", zn);
		if (z->serve && sn->line[ia] != 0)
			conf_perr_at(p, sn->file[ia], sn->line[ia], "zone %s: "
			    "answer: is for aggregate zones, not serve: zones",
			    zn);
		if (z->nmembers > CONF_ZONE_MAX_MEMBERS)
			conf_perr_at(p, cf, cline, "zone %s: %zu members, at "
			    "most %d allowed", zn, z->nmembers,
			    CONF_ZONE_MAX_MEMBERS);
		if (z->nserve_lists > CONF_ZONE_MAX_MEMBERS)
			conf_perr_at(p, cf, cline, "zone %s: serves %zu lists, "
			    "at most %d allowed", zn, z->nserve_lists,
			    CONF_ZONE_MAX_MEMBERS);
		if (z->name != NULL && z->soa_mname == NULL) {
			size_t len = strlen(z->name) + sizeof("hostmaster.");

			if (len - 1 > CONF_DNAME_MAX)
				conf_perr_at(p, cf, cline, "zone %s: name too "
				    "long for the default SOA; give soa:", zn);
			z->soa_mname = conf_strdup(p, z->name);
			if ((z->soa_rname = conf_alloc(p, len)) != NULL)
				snprintf(z->soa_rname, len, "hostmaster.%s",
				    z->name);
		}
		if (sn->line[conf_kw_index(CL_ZONE, "soa-ttl")] == 0)
			z->soa_ttl = z->soa_minimum;
		if (z->nns == 0 && z->soa_mname != NULL) {
			char *ns = conf_strdup(p, z->soa_mname), **slot;

			if (ns != NULL &&
			    (slot = GROW(p, z->ns, z->nns)) != NULL)
				*slot = ns;
			else
				free(ns);
		}
		break;
	}
	default:
		break;
	}
	p->clause = CL_NONE;
}

/* open_clause - a clause keyword: start a new clause */
static void
open_clause(struct parser *p, enum clause cl)
{
	struct conf *c = p->c;

	close_clause(p);
	p->clause = cl;
	p->cl_file = p->file;
	p->cl_line = p->line;
	memset(&p->seen_obj, 0, sizeof(p->seen_obj));
	switch (cl) {
	case CL_UPSTREAM: {
		struct conf_upstream *u = GROW(p, c->upstreams, c->nupstreams);

		if (u == NULL)
			break;
		p->obj = c->nupstreams - 1;
		u->family = FAMILY_IP4;
		u->weight = 1;
		u->file = p->file;
		u->line = p->line;
		break;
	}
	case CL_LIST: {
		struct conf_list *l = GROW(p, c->lists, c->nlists);

		if (l == NULL)
			break;
		p->obj = c->nlists - 1;
		l->type = LIST_IP4SET;
		l->weight = 1;
		l->ttl = 2100;
		l->file = p->file;
		l->line = p->line;
		break;
	}
	case CL_ESCALATION: {
		struct conf_escalation *e = GROW(p, c->escalations,
		    c->nescalations);

		if (e == NULL)
			break;
		p->obj = c->nescalations - 1;
		e->prefix = 24;
		e->prefix6 = 64;
		e->threshold = 2;
		e->window = 86400;
		e->value = 0x7f000002U;	/* 127.0.0.2 */
		e->file = p->file;
		e->line = p->line;
		break;
	}
	case CL_ZONE: {
		struct conf_zone *z = GROW(p, c->zones, c->nzones);

		if (z == NULL)
			break;
		p->obj = c->nzones - 1;
		z->answer = ANSWER_BITMASK;
		z->soa_refresh = 3600;
		z->soa_retry = 600;
		z->soa_expire = 86400;
		z->soa_minimum = 300;
		z->file = p->file;
		z->line = p->line;
		break;
	}
	default:
		p->obj = 0;
		break;
	}
	/* no room for the clause: nothing may refer to it */
	if (p->oom)
		p->clause = CL_NONE;
}

/*
 * tokenize - split a value into words; quotes and comments handled.
 * 0, or RBLMUX_EPARSE after reporting.
 */
static int
tokenize(struct parser *p, char *s, struct tok *v, size_t *nv)
{
	size_t n = 0;
	char *w;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0' || *s == '#')
			break;
		if (n == MAXTOK) {
			conf_perr(p, "too many values on one line (at most %d)",
			    MAXTOK);
			return RBLMUX_EPARSE;
		}
		if (*s == '"') {
			v[n].s = w = ++s;
			v[n].quoted = 1;
			while (*s != '"') {
				if (*s == '\0') {
					conf_perr(p, "missing closing quote");
					return RBLMUX_EPARSE;
				}
				if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
					s++;
				*w++ = *s++;
			}
			s++;
			if (*s != '\0' && *s != ' ' && *s != '\t' &&
			    *s != '#') {
				conf_perr(p, "a closing quote must end the "
				    "value");
				return RBLMUX_EPARSE;
			}
			if (*s == '#')
				*s = '\0';
			else if (*s != '\0')
				s++;
			*w = '\0';
		} else {
			v[n].s = s;
			v[n].quoted = 0;
			while (*s != '\0' && *s != ' ' && *s != '\t' &&
			    *s != '#' && *s != '"')
				s++;
			if (*s == '"') {
				conf_perr(p, "a quote may only start a value");
				return RBLMUX_EPARSE;
			}
			if (*s == '#')
				*s = '\0';
			else if (*s != '\0')
				*s++ = '\0';
		}
		n++;
	}
	*nv = n;
	return 0;
}

/* do_include - include: FILE or PATTERN, relative to this file */
static void
do_include(struct parser *p, struct tok *v, size_t nv)
{
	char *path;
	const char *slash;
	glob_t g;
	size_t i;
	int rc;

	if (nv != 1 || v[0].s[0] == '\0') {
		conf_perr(p, "include: %s (expected one file name)",
		    nv == 0 ? "missing value" : "bad value");
		return;
	}
	slash = strrchr(p->file, '/');
	if (v[0].s[0] == '/' || slash == NULL)
		path = conf_strdup(p, v[0].s);
	else {
		size_t dlen = (size_t)(slash - p->file) + 1;
		size_t len = dlen + strlen(v[0].s) + 1;

		if ((path = conf_alloc(p, len)) != NULL) {
			memcpy(path, p->file, dlen);
			snprintf(path + dlen, len - dlen, "%s", v[0].s);
		}
	}
	if (path == NULL)
		return;
	if (strpbrk(path, "*?[") == NULL) {
		read_file(p, path, 1);
		free(path);
		return;
	}
	/* a pattern that matches nothing is not an error (empty conf.d/) */
	memset(&g, 0, sizeof(g));
	rc = glob(path, GLOB_ERR, NULL, &g);
	if (rc == GLOB_NOSPACE)
		p->oom = true;
	else if (rc != 0 && rc != GLOB_NOMATCH)
		conf_perr(p, "include: cannot expand %s", path);
	for (i = 0; rc == 0 && i < g.gl_pathc && !p->oom; i++)
		read_file(p, g.gl_pathv[i], 1);
	if (rc == 0 || rc == GLOB_NOMATCH)
		globfree(&g);
	free(path);
}

/* do_line - one line of a config file */
static void
do_line(struct parser *p, char *s)
{
	struct tok v[MAXTOK];
	size_t nv = 0;
	char *kw;
	enum clause cl;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0' || *s == '#')
		return;
	kw = s;
	while (isalnum((unsigned char)*s) || *s == '-' || *s == '_')
		s++;
	if (s == kw || *s != ':') {
		conf_perr(p, "syntax error: expected 'keyword: value'");
		return;
	}
	*s++ = '\0';
	if (tokenize(p, s, v, &nv) != 0)
		return;
	if (strcmp(kw, "include") == 0) {
		do_include(p, v, nv);
		return;
	}
	if (nv == 0 && (cl = conf_clause_of(kw)) != CL_NONE) {
		open_clause(p, cl);
		return;
	}
	conf_kw_do(p, kw, v, nv);
}

/*
 * read_file - parse one file; from an include: line when nested.
 * Only regular files are read, so that an include of a FIFO or a device
 * cannot block or feed the parser forever. Returns RBLMUX_EIO if the
 * file could not be opened at all (reported), else 0. Stops at the line
 * where memory ran out (p->oom).
 */
static int
read_file(struct parser *p, const char *path, int nested)
{
	const char *ofile = p->file, *kept;
	unsigned oline = p->line;
	struct stat st;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f;
	int fd, i;

	if (p->depth >= INCLUDE_DEPTH_MAX) {
		conf_perr(p, "include: %s: includes nested more than %d deep",
		    path, INCLUDE_DEPTH_MAX);
		return 0;
	}
	if (++p->nfiles > INCLUDE_FILES_MAX) {
		if (p->nfiles == INCLUDE_FILES_MAX + 1)
			conf_perr(p, "include: more than %d files",
			    INCLUDE_FILES_MAX);
		return 0;
	}
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		int e = fd < 0 ? errno : EINVAL;

		if (fd >= 0 && S_ISDIR(st.st_mode))
			e = EISDIR;
		if (nested)
			conf_perr(p, "include: cannot read %s: %s", path,
			    e == EINVAL ? "not a regular file" : strerror(e));
		else
			conf_perr_at(p, keep_string(p, path), 0, "cannot "
			    "read: %s", e == EINVAL ? "not a regular file" :
			    strerror(e));
		if (fd >= 0)
			close(fd);
		/* out of descriptors: the same config may load next time */
		if ((e == EMFILE || e == ENFILE || e == ENOMEM) && p->busy == 0)
			p->busy = -e;
		return RBLMUX_EIO;
	}
	for (i = 0; i < p->depth; i++)
		if (p->stack[i].dev == st.st_dev &&
		    p->stack[i].ino == st.st_ino) {
			conf_perr(p, "include: %s: include loop (the file is "
			    "already being read)", path);
			close(fd);
			return 0;
		}
	if ((kept = keep_string(p, path)) == NULL) {
		close(fd);
		return 0;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		if (conf_oom(p, -errno) != RBLMUX_ENOMEM)
			conf_perr(p, "include: cannot read %s: %s", path,
			    strerror(errno));
		close(fd);
		return RBLMUX_EIO;
	}
	p->stack[p->depth].dev = st.st_dev;
	p->stack[p->depth].ino = st.st_ino;
	p->depth++;
	p->file = kept;
	p->line = 0;
	while (!p->oom && (len = getline(&buf, &cap, f)) >= 0) {
		p->line++;
		if (len > 0 && buf[len - 1] == '\n')
			buf[--len] = '\0';
		if (len > 0 && buf[len - 1] == '\r')
			buf[--len] = '\0';
		if (len > LINE_MAX_LEN) {
			conf_perr(p, "line longer than %d bytes", LINE_MAX_LEN);
			continue;
		}
		if (memchr(buf, '\0', (size_t)len) != NULL) {
			conf_perr(p, "NUL byte in line");
			continue;
		}
		do_line(p, buf);
	}
	if (ferror(f))
		conf_perr(p, "read error: %s", strerror(errno));
	else if (!p->oom && !feof(f))
		p->oom = true;		/* getline could not grow its buffer */
	free(buf);
	fclose(f);
	p->depth--;
	p->file = ofile;
	p->line = oline;
	return 0;
}

/* conf_load - read, check and return a new config */
int
conf_load(const char *path, conf_report_fn *report, void *arg,
    struct conf **out)
{
	struct parser p;
	struct conf *c;
	size_t i;
	int rc = 0;

	memset(&p, 0, sizeof(p));
	p.report = report;
	p.arg = arg;
	if ((p.c = c = conf_alloc(&p, sizeof(*c))) == NULL)
		goto oom;
	c->path = conf_strdup(&p, path);
	c->server.cache_dir = conf_strdup(&p, "var/");
	c->server.state_dir = conf_strdup(&p, "var/");
	c->server.control_socket = conf_strdup(&p, "var/rblmux.sock");
	c->server.cache_max_size = 256ULL * 1024 * 1024;
	c->server.ttl_min = 60;
	c->server.ttl_max = 86400;
	c->server.negative_ttl_max = 900;
	c->server.serve_stale = 3600;
	c->server.workers = 1;
	c->server.edns_buffer_size = 1232;
	c->server.tcp_idle_timeout_ms = 10000;
	c->server.tcp_max_clients = 100;
	c->server.max_pending = 4096;
	c->server.tcp_message_timeout_ms = 2000;
	c->server.check_interval = 5;
	c->server.rate_limit_slip = 2;
	c->server.rate_limit_ipv4_prefix = 24;
	c->server.rate_limit_ipv6_prefix = 56;
	c->server.rate_limit_size = 65536;
	c->resolver.timeout_ms = 1200;
	c->resolver.attempts = 2;

	if (!p.oom) {
		if (read_file(&p, path, 0) != 0)
			rc = RBLMUX_EIO;
		else
			close_clause(&p);
	}
	if (rc == 0 && !p.oom)
		conf_check(&p);
	for (i = 0; i < p.nrefs; i++)
		free(p.refs[i].own);
	free(p.defs);
	free(p.refs);
	conf_keys_free(&p.keys);
	if (p.oom) {
		conf_free(c);
		goto oom;
	}
	if (rc != 0 || p.nerr > 0) {
		conf_free(c);
		if (p.busy != 0)
			return p.busy;
		return rc != 0 ? rc : RBLMUX_EPARSE;
	}
	*out = c;
	return 0;
oom:
	if (report != NULL)
		report(arg, path, 0, "out of memory");
	return RBLMUX_ENOMEM;
}

/* free_sockaddrs - release an array of addresses */
static void
free_sockaddrs(struct conf_sockaddr *a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(a[i].text);
	free(a);
}

/* free_strv - release an array of strings */
static void
free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* conf_free - release a config */
void
conf_free(struct conf *c)
{
	size_t i, j;

	if (c == NULL)
		return;
	free(c->path);
	free_sockaddrs(c->server.listen, c->server.nlisten);
	free(c->server.acl);
	free(c->server.rate_limit_exempt);
	free(c->server.directory);
	free(c->server.cache_dir);
	free(c->server.state_dir);
	free(c->server.control_socket);
	free(c->server.pidfile);
	free(c->server.username);
	if (c->server.metrics != NULL)
		free_sockaddrs(c->server.metrics, 1);
	free_sockaddrs(c->resolver.forward, c->resolver.nforward);
	for (i = 0; i < c->nupstreams; i++) {
		struct conf_upstream *u = &c->upstreams[i];

		free(u->name);
		free(u->zone);
		for (j = 0; j < u->ncodes; j++)
			free(u->codes[j].result);
		free(u->codes);
		free(u->error_codes);
		free_sockaddrs(u->servers, u->nservers);
	}
	free(c->upstreams);
	for (i = 0; i < c->nlists; i++) {
		free(c->lists[i].name);
		free_strv(c->lists[i].files, c->lists[i].nfiles);
		free(c->lists[i].txt);
	}
	free(c->lists);
	for (i = 0; i < c->nescalations; i++) {
		free(c->escalations[i].name);
		free_strv(c->escalations[i].sources,
		    c->escalations[i].nsources);
		free(c->escalations[i].txt);
	}
	free(c->escalations);
	for (i = 0; i < c->nzones; i++) {
		struct conf_zone *z = &c->zones[i];

		free(z->name);
		for (j = 0; j < z->nmembers; j++)
			free(z->members[j].result);
		free(z->members);
		free_strv(z->serve_lists, z->nserve_lists);
		free_strv(z->exempt, z->nexempt);
		free(z->soa_mname);
		free(z->soa_rname);
		free_strv(z->ns, z->nns);
		free(z->allow_transfer);
		free_sockaddrs(z->notify, z->nnotify);
	}
	free(c->zones);
	free_strv(c->strings, c->nstrings);
	free(c);
}

/* conf_path - a configured path, relative ones under server.directory */
char *
conf_path(const struct conf *c, const char *p)
{
	const char *dir = c != NULL ? c->server.directory : NULL;
	size_t dlen, len;
	char *r;

	if (p[0] == '/' || dir == NULL || dir[0] == '\0')
		return strdup(p);
	dlen = strlen(dir);
	while (dlen > 0 && dir[dlen - 1] == '/')
		dlen--;
	/* dlen 0: the directory is "/" */
	len = dlen + 1 + strlen(p) + 1;
	if ((r = malloc(len)) != NULL)
		snprintf(r, len, "%.*s/%s", (int)dlen, dir, p);
	return r;
}
