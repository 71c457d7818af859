/*
 * view.c -- build, share and release the snapshots the server answers from.
 *
 * Building is the slow part of a reload (a million-entry list takes about
 * a second) and runs in a background thread; only the pointer swap happens
 * in the event loop. Lists whose files did not change are shared with the
 * previous view instead of being parsed again.
 */
#include <ctype.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "acl.h"
#include "err.h"
#include "escal.h"
#include "log.h"
#include "view.h"

/* A problem held back until the load it belongs to is settled. */
struct vmsg {
	enum list_severity	 sev;
	const char		*file;	/* a path of the list being loaded */
	unsigned		 line;
	char			 text[320];
};

struct build_ctx {
	view_report_fn	*report;
	void		*arg;
	/* the problems of the list being loaded */
	struct vmsg	 msgs[2 * VIEW_MSG_MAX];
	size_t		 nmsgs;
	unsigned	 count[2];	/* all, by severity */
	unsigned	 held[2];	/* in msgs, by severity */
};

/* vconf_new - wrap a loaded config for sharing between views */
struct vconf *
vconf_new(struct conf *c)
{
	struct vconf *vc = calloc(1, sizeof(*vc));

	if (vc == NULL) {
		conf_free(c);
		return NULL;
	}
	vc->c = c;
	atomic_init(&vc->refs, 1);
	return vc;
}

/* vconf_unref - drop a reference; the last one frees the config */
void
vconf_unref(struct vconf *vc)
{
	if (vc == NULL || atomic_fetch_sub(&vc->refs, 1) != 1)
		return;
	conf_free(vc->c);
	free(vc);
}

/* vlist_unref - drop a reference to a shared list */
static void
vlist_unref(struct vlist *vl)
{
	size_t i;

	if (vl == NULL || atomic_fetch_sub(&vl->refs, 1) != 1)
		return;
	list_free(vl->list);
	vlist_unref(vl->kept);
	for (i = 0; i < vl->nfiles; i++)
		free(vl->files[i].path);
	free(vl->files);
	free(vl->name);
	free(vl);
}

/* file_id - what is at path now (ino 0: nothing) */
static void
file_id(const char *path, struct list_file_id *id)
{
	struct stat st;

	memset(id, 0, sizeof(*id));
	if (stat(path, &st) != 0)
		return;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->size = st.st_size;
	id->mtime = st.st_mtim;
}

/* file_same - does the file still look as it did at load time? */
static bool
file_same(const struct vfile *f)
{
	struct list_file_id now;

	file_id(f->path, &now);
	return now.dev == f->id.dev && now.ino == f->id.ino &&
	    now.size == f->id.size && now.mtime.tv_sec == f->id.mtime.tv_sec &&
	    now.mtime.tv_nsec == f->id.mtime.tv_nsec;
}

/* held_msg - list_warn_fn: count a problem, hold the first ones back */
static void
held_msg(void *arg, enum list_severity sev, const char *file, unsigned line,
    const char *msg)
{
	struct build_ctx *bc = arg;
	struct vmsg *m;

	bc->count[sev]++;
	if (bc->held[sev] >= VIEW_MSG_MAX)
		return;
	bc->held[sev]++;
	m = &bc->msgs[bc->nmsgs++];
	m->sev = sev;
	m->file = file;
	m->line = line;
	snprintf(m->text, sizeof(m->text), "%s", msg);
}

/* msgs_drop - forget the problems of a load that is read again */
static void
msgs_drop(struct build_ctx *bc)
{
	bc->nmsgs = 0;
	memset(bc->count, 0, sizeof(bc->count));
	memset(bc->held, 0, sizeof(bc->held));
}

/* msgs_flush - pass the problems held on, and the count of the rest */
static void
msgs_flush(struct build_ctx *bc, const char *name)
{
	unsigned more_e = bc->count[LIST_ERROR] - bc->held[LIST_ERROR];
	unsigned more_w = bc->count[LIST_WARNING] - bc->held[LIST_WARNING];
	char msg[256];
	size_t i;

	for (i = 0; bc->report != NULL && i < bc->nmsgs; i++)
		bc->report(bc->arg, bc->msgs[i].sev, bc->msgs[i].file,
		    bc->msgs[i].line, bc->msgs[i].text);
	if (bc->report != NULL && (more_e > 0 || more_w > 0)) {
		snprintf(msg, sizeof(msg), "list %s: %u more error%s and %u "
		    "more warning%s not shown", name, more_e,
		    more_e == 1 ? "" : "s", more_w, more_w == 1 ? "" : "s");
		bc->report(bc->arg, more_e > 0 ? LIST_ERROR : LIST_WARNING,
		    NULL, 0, msg);
	}
	bc->nmsgs = 0;
}

/* old_list - the previous view's list of that name, or NULL */
static struct vlist *
old_list(const struct view *old, const char *name)
{
	const struct vname *n;

	if (old == NULL || (n = view_name(old, name)) == NULL ||
	    n->kind != VSRC_LIST)
		return NULL;
	return old->lists[n->index];
}

/* same_files - would loading vl read exactly what ov was built from? */
static bool
same_files(const struct vlist *ov, const struct vlist *vl)
{
	size_t i;

	/* the load options count too: they are baked into the data */
	if (ov->type != vl->type || ov->default_ttl != vl->default_ttl ||
	    ov->max_memory != vl->max_memory || ov->nfiles != vl->nfiles ||
	    ov->data == NULL || ov->retry)
		return false;
	for (i = 0; i < vl->nfiles; i++)
		if (strcmp(ov->files[i].path, vl->files[i].path) != 0 ||
		    !file_same(&ov->files[i]))
			return false;
	return true;
}

/* vlist_new - a list of cl, not loaded yet; NULL when out of memory */
static struct vlist *
vlist_new(const struct conf *c, const struct conf_list *cl)
{
	struct vlist *vl;
	size_t i;

	if ((vl = calloc(1, sizeof(*vl))) == NULL)
		return NULL;
	atomic_init(&vl->refs, 1);
	vl->type = cl->type;
	vl->default_ttl = cl->ttl;
	vl->max_memory = cl->max_memory ? cl->max_memory :
	    LIST_MAX_MEMORY_DEFAULT;
	if ((vl->name = strdup(cl->name)) == NULL ||
	    (vl->files = calloc(cl->nfiles, sizeof(*vl->files))) == NULL) {
		vlist_unref(vl);
		return NULL;
	}
	vl->nfiles = cl->nfiles;
	for (i = 0; i < cl->nfiles; i++)
		if ((vl->files[i].path = conf_path(c, cl->files[i])) == NULL) {
			vlist_unref(vl);
			return NULL;
		}
	return vl;
}

/* pause_ms - sleep a little before reading a changing file again */
static void
pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * load_files - read the files of vl into vl->list. A file that changes
 * while it is read is read again after a pause when there is no earlier
 * version to keep (retry); the problems of a discarded read are dropped.
 */
static int
load_files(struct vlist *vl, bool retry, struct build_ctx *bc)
{
	struct list_file_id *ids;
	struct list_opts lo;
	struct timespec t0, t1;
	const char **fl;
	size_t i, n = vl->nfiles;
	int rc, tries = 0;

	fl = calloc(n, sizeof(*fl));
	ids = calloc(n, sizeof(*ids));
	if (fl == NULL || ids == NULL) {
		free(fl);
		free(ids);
		return RBLMUX_ENOMEM;
	}
	for (i = 0; i < n; i++)
		fl[i] = vl->files[i].path;
	memset(&lo, 0, sizeof(lo));
	lo.name = vl->name;
	lo.type = vl->type;
	lo.files = fl;
	lo.nfiles = n;
	lo.default_ttl = vl->default_ttl;
	lo.max_memory = vl->max_memory;
	lo.warn = held_msg;
	lo.warn_arg = bc;
	lo.ids = ids;
	for (;;) {
		msgs_drop(bc);
		/* files not opened keep what stat() says */
		for (i = 0; i < n; i++)
			file_id(fl[i], &ids[i]);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = list_load(&lo, &vl->list);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (rc != RBLMUX_ECHANGED || !retry ||
		    ++tries >= VIEW_CHANGED_TRIES)
			break;
		pause_ms(100L * tries);
	}
	for (i = 0; i < n; i++)
		vl->files[i].id = ids[i];
	vl->loaded = time(NULL);
	vl->load_secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	free(fl);
	free(ids);
	return rc;
}

/*
 * keep_old - the files of vl did not load, or had errors: it serves the
 * data of ov instead. A passing failure is read again at the next
 * check; otherwise the files' identity is kept, so that they are not
 * read again until they change once more.
 */
static void
keep_old(struct vlist *vl, struct vlist *ov, int rc, struct build_ctx *bc)
{
	/* point at the data's owner: no chain of keepers grows */
	struct vlist *base = ov->kept != NULL ? ov->kept : ov;
	char msg[256];

	vl->retry = rc != 0 && list_load_transient(rc);
	vl->kept_err = rc != 0 ? rc : RBLMUX_EPARSE;
	if (bc->report != NULL) {
		if (rc == 0)
			snprintf(msg, sizeof(msg), "list %s: %u error%s, "
			    "keeping the data loaded before", vl->name,
			    vl->errors, vl->errors == 1 ? "" : "s");
		else
			snprintf(msg, sizeof(msg), "list %s: %s, keeping the "
			    "data loaded before%s", vl->name,
			    rblmux_strerror(rc), vl->retry ?
			    "; read again at the next check" : "");
		/* a failure the loader did not report is an error here */
		bc->report(bc->arg, rc != 0 && !list_load_reported(rc) ?
		    LIST_ERROR : LIST_WARNING, NULL, 0, msg);
	}
	list_free(vl->list);
	vl->list = NULL;
	atomic_fetch_add(&base->refs, 1);
	vl->kept = base;
	vl->data = base->data;
}

/* get_list - share, load, or keep the previous version of one list */
static int
get_list(const struct conf *c, const struct conf_list *cl,
    const struct view *old, struct build_ctx *bc, struct vlist **out)
{
	struct vlist *ov = old_list(old, cl->name), *vl;
	bool have_old;
	int rc;

	if ((vl = vlist_new(c, cl)) == NULL)
		return RBLMUX_ENOMEM;
	if (ov != NULL && same_files(ov, vl)) {
		vlist_unref(vl);
		atomic_fetch_add(&ov->refs, 1);
		*out = ov;
		return 0;
	}
	have_old = ov != NULL && ov->data != NULL && ov->type == cl->type;
	rc = load_files(vl, !have_old, bc);
	vl->errors = bc->count[LIST_ERROR];
	vl->warnings = bc->count[LIST_WARNING];
	msgs_flush(bc, vl->name);

	/*
	 * A reload that finds errors keeps the data it had: a half
	 * downloaded list must not replace a good one. Without an earlier
	 * version, lines with errors are skipped.
	 */
	if (have_old && (rc != 0 || vl->errors > 0)) {
		keep_old(vl, ov, rc, bc);
		*out = vl;
		return 0;
	}
	if (rc != 0) {
		vlist_unref(vl);
		return rc;
	}
	vl->data = vl->list;
	*out = vl;
	return 0;
}

/* vname_cmp - order of the name index */
static int
vname_cmp(const void *a, const void *b)
{
	return strcmp(((const struct vname *)a)->name,
	    ((const struct vname *)b)->name);
}

/* vname_put - one entry of the name index */
static void
vname_put(struct view *v, const char *name, enum vsource_kind kind,
    size_t index, long code)
{
	struct vname *n = &v->names[v->nnames++];

	n->name = name;
	n->kind = kind;
	n->index = (int)index;
	n->code = (int)code;
}

/*
 * index_names - every result name of the config, sorted once so that
 * binding the zones' sources costs a binary search each (the config
 * checks made the names unique). Returns 0 or RBLMUX_ENOMEM.
 */
static int
index_names(struct view *v)
{
	const struct conf *c = v->conf;
	size_t i, j, n = c->nlists;

	for (i = 0; i < c->nupstreams; i++)
		n += c->upstreams[i].ncodes ? c->upstreams[i].ncodes : 1;
	if ((v->names = calloc(n ? n : 1, sizeof(*v->names))) == NULL)
		return RBLMUX_ENOMEM;
	for (i = 0; i < c->nlists; i++)
		vname_put(v, c->lists[i].name, VSRC_LIST, i, -1);
	for (i = 0; i < c->nupstreams; i++) {
		const struct conf_upstream *u = &c->upstreams[i];

		if (u->ncodes == 0)
			vname_put(v, u->name, VSRC_UPSTREAM, i, -1);
		for (j = 0; j < u->ncodes; j++)
			vname_put(v, u->codes[j].result, VSRC_UPSTREAM, i,
			    (long)j);
	}
	qsort(v->names, v->nnames, sizeof(*v->names), vname_cmp);
	return 0;
}

/* view_name - look a result name up in the name index */
const struct vname *
view_name(const struct view *v, const char *name)
{
	struct vname key;

	if (v->names == NULL)
		return NULL;
	key.name = name;
	return bsearch(&key, v->names, v->nnames, sizeof(*v->names),
	    vname_cmp);
}

/* view_bind_source - resolve a result name to what produces it */
void
view_bind_source(const struct view *v, const char *name, struct vsource *src)
{
	const struct conf *c = v->conf;
	const struct vname *n = view_name(v, name);

	src->name = name;
	src->weight = 1;
	src->upstream = src->code = src->escal = -1;
	if (n == NULL) {
		src->kind = VSRC_ESCALATION;
		src->escal = escal_view_index(v, name);
		return;
	}
	src->kind = n->kind;
	if (n->kind == VSRC_LIST) {
		src->vl = v->lists[n->index];
		src->cl = &c->lists[n->index];
		src->weight = src->cl->weight;
		return;
	}
	src->upstream = n->index;
	src->code = n->code;
	src->weight = c->upstreams[n->index].weight;
}

/*
 * src_family - what kinds of subject a source can answer; an escalation
 * rule the address families its sources count (names never escalate,
 * and a rule named as a source counts nothing)
 */
static unsigned
src_family(const struct view *v, const struct vsource *src)
{
	const struct conf_upstream *u;
	const struct conf_escalation *ce;
	struct vsource s;
	unsigned fam = 0;
	size_t i;

	switch (src->kind) {
	case VSRC_LIST:
		switch (src->cl->type) {
		case LIST_IP6TRIE:
			return VFAM_IP6;
		case LIST_DNSET:
			return VFAM_NAME;
		default:
			return VFAM_IP4;
		}
	case VSRC_UPSTREAM:
		u = &v->conf->upstreams[src->upstream];
		return u->family == FAMILY_IP6 ? VFAM_IP6 :
		    u->family == FAMILY_NAME ? VFAM_NAME : VFAM_IP4;
	case VSRC_ESCALATION:
		if (src->escal < 0)
			return 0;
		ce = &v->conf->escalations[src->escal];
		for (i = 0; i < ce->nsources; i++) {
			view_bind_source(v, ce->sources[i], &s);
			if (s.kind != VSRC_ESCALATION)
				fam |= src_family(v, &s);
		}
		return fam & (VFAM_IP4 | VFAM_IP6);
	}
	return 0;
}

/* put32 - a 32-bit value in network order */
static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* soa_rdata - the SOA RDATA in wire form, once per view, not per answer */
static int
soa_rdata(struct vzone *z, const struct conf_zone *cz)
{
	size_t m, r;
	uint8_t *p = z->soa_rdata;

	m = dnsmsg_name_to_wire(cz->soa_mname, p, DNS_MAXNAME);
	if (m == 0)
		return -1;
	r = dnsmsg_name_to_wire(cz->soa_rname, p + m, DNS_MAXNAME);
	if (r == 0)
		return -1;
	p += m + r;
	put32(p, z->serial);
	put32(p + 4, cz->soa_refresh);
	put32(p + 8, cz->soa_retry);
	put32(p + 12, cz->soa_expire);
	put32(p + 16, cz->soa_minimum);
	z->soa_rdlen = m + r + 20;
	return 0;
}

/* compile_zone - prepare one zone for the query path */
static int
compile_zone(struct view *v, const struct conf_zone *cz, struct vzone *z,
    struct build_ctx *bc)
{
	const struct conf_server *cs = &v->conf->server;
	time_t newest = 0;
	size_t i, n;

	z->cz = cz;
	z->name = cz->name;
	z->serve = cz->serve;
	z->answer = cz->answer;
	z->apex_len = dnsmsg_name_to_wire(cz->name, z->apex, sizeof(z->apex));
	if (z->apex_len == 0)
		return RBLMUX_EINVAL;
	for (i = 0; z->apex[i] != 0; i += z->apex[i] + 1)
		z->apex_labels++;

	n = cz->serve ? cz->nserve_lists : cz->nmembers;
	if ((z->src = calloc(n ? n : 1, sizeof(*z->src))) == NULL)
		return RBLMUX_ENOMEM;
	z->nsrc = n;
	for (i = 0; i < n; i++) {
		struct vsource *src = &z->src[i];
		size_t len;

		if (cz->serve) {
			view_bind_source(v, cz->serve_lists[i], src);
		} else {
			const struct conf_member *m = &cz->members[i];

			view_bind_source(v, m->result, src);
			src->bit = m->bit;
			src->value = m->value;
			if (m->weight_set)
				src->weight = m->weight;
		}
		len = strlen(src->name);
		if (len > 63)
			len = 63;
		src->label[0] = (uint8_t)len;
		memcpy(src->label + 1, src->name, len);
		z->families |= src_family(v, src);
		if (src->kind == VSRC_LIST && src->vl->data != NULL) {
			if (list_mtime(src->vl->data) > newest)
				newest = list_mtime(src->vl->data);
			src->expires = list_expires(src->vl->data);
		}
		/* rbldnsd: one expired list takes the whole zone down */
		if (cz->serve && src->expires != 0 &&
		    (z->expires == 0 || src->expires < z->expires))
			z->expires = src->expires;
	}
	if (z->families == 0)
		z->families = VFAM_IP4;

	z->exempt = calloc(cz->nexempt ? cz->nexempt : 1, sizeof(*z->exempt));
	if (z->exempt == NULL)
		return RBLMUX_ENOMEM;
	for (i = 0; i < cz->nexempt; i++) {
		const struct vname *vn = view_name(v, cz->exempt[i]);

		if (vn == NULL || vn->kind != VSRC_LIST)
			return RBLMUX_EINVAL;	/* conf validated this */
		z->exempt[z->nexempt++] = v->lists[vn->index];
	}

	/*
	 * Answer TTLs: an aggregate zone clamps to the server's bounds, a
	 * served zone gives the lists' own TTLs as rbldnsd does; the zone's
	 * ttl-max caps both (and wins over ttl-min).
	 */
	z->ttl_min = cz->serve ? 0 : cs->ttl_min;
	z->ttl_max = cz->ttl_max != 0 ? cz->ttl_max : cz->serve ? 0 :
	    cs->ttl_max;
	if (z->ttl_max != 0 && z->ttl_min > z->ttl_max)
		z->ttl_min = z->ttl_max;

	/* RFC 1982 serial: the newest data, else the build time */
	z->serial = (uint32_t)(newest ? newest : v->built);
	if (soa_rdata(z, cz) != 0)
		return RBLMUX_EINVAL;
	/* RFC 2308 5: negative answers live min(SOA TTL, MINIMUM) */
	z->neg_ttl = cz->soa_minimum < cz->soa_ttl ? cz->soa_minimum :
	    cz->soa_ttl;
	if (cs->negative_ttl_max != 0 && z->neg_ttl > cs->negative_ttl_max)
		z->neg_ttl = cs->negative_ttl_max;
	(void)bc;
	return 0;
}

/* mirror_free - what mirror_zone() allocated */
static void
mirror_free(struct conf_zone *cz)
{
	free(cz->name);
	free(cz->serve_lists);
	free(cz->soa_mname);
	free(cz->soa_rname);
	free(cz->ns);
}

/*
 * mirror_zone - the served zone of a mirror: yes upstream: its code:
 * results (each name once), else its own result. Returns 0 or
 * RBLMUX_ENOMEM.
 */
static int
mirror_zone(const struct conf_upstream *u, struct conf_zone *cz)
{
	size_t i, k, len = strlen(u->zone) + sizeof("hostmaster.");

	memset(cz, 0, sizeof(*cz));
	cz->serve = true;
	cz->file = u->file;
	cz->line = u->line;
	cz->soa_refresh = 3600;
	cz->soa_retry = 600;
	cz->soa_expire = 86400;
	cz->soa_minimum = cz->soa_ttl = 300;
	cz->name = strdup(u->zone);
	cz->soa_mname = strdup(u->zone);
	cz->soa_rname = malloc(len);
	cz->serve_lists = calloc(u->ncodes + 1, sizeof(*cz->serve_lists));
	cz->ns = calloc(1, sizeof(*cz->ns));
	if (cz->name == NULL || cz->soa_mname == NULL ||
	    cz->soa_rname == NULL || cz->serve_lists == NULL || cz->ns == NULL)
		return RBLMUX_ENOMEM;
	snprintf(cz->soa_rname, len, "hostmaster.%s", u->zone);
	cz->ns[0] = cz->soa_mname;
	cz->nns = 1;
	for (i = 0; i < u->ncodes; i++) {
		for (k = 0; k < cz->nserve_lists; k++)
			if (strcmp(cz->serve_lists[k], u->codes[i].result) == 0)
				break;
		if (k == cz->nserve_lists)
			cz->serve_lists[cz->nserve_lists++] =
			    u->codes[i].result;
	}
	if (cz->nserve_lists == 0)
		cz->serve_lists[cz->nserve_lists++] = u->name;
	return 0;
}

/*
 * index_zones - the apex hash table, at most half full. The first of
 * two zones with the same apex keeps the slot (config checks reject
 * duplicates anyway). Returns 0 or RBLMUX_ENOMEM.
 */
static int
index_zones(struct view *v)
{
	size_t slots = 8, i, k;

	while (slots < 2 * v->nzones)
		slots *= 2;
	v->ztab = calloc(slots, sizeof(*v->ztab));
	if (v->ztab == NULL)
		return RBLMUX_ENOMEM;
	v->ztab_mask = slots - 1;
	for (i = 0; i < v->nzones; i++) {
		const struct vzone *z = &v->zones[i];
		uint32_t h = view_zhash(z->apex, z->apex_len);

		if (view_zone_probe(v, h, z->apex, z->apex_len) != NULL)
			continue;
		for (k = h & v->ztab_mask; v->ztab[k].zone != 0;
		    k = (k + 1) & v->ztab_mask)
			;
		v->ztab[k].hash = h;
		v->ztab[k].zone = (uint32_t)i + 1;
		v->zdepths[z->apex_labels >> 6] |= 1ULL << (z->apex_labels & 63);
		if (z->apex_labels > v->zmaxdepth)
			v->zmaxdepth = z->apex_labels;
	}
	return 0;
}

/* view_zone_probe - the zone with this apex, through the hash table */
const struct vzone *
view_zone_probe(const struct view *v, uint32_t h, const uint8_t *wire,
    size_t len)
{
	size_t k;

	if (v->ztab == NULL)
		return NULL;
	for (k = h & v->ztab_mask; v->ztab[k].zone != 0;
	    k = (k + 1) & v->ztab_mask) {
		const struct vzone *z = &v->zones[v->ztab[k].zone - 1];

		if (v->ztab[k].hash == h && z->apex_len == len &&
		    memcmp(z->apex, wire, len) == 0)
			return z;
	}
	return NULL;
}

/*
 * view_build - load and compile a new view next to the old one. It runs
 * in the reload thread: running out of memory fails the build (what was
 * built is released) and the old view keeps serving.
 */
int
view_build(struct vconf *vc, const struct view *old, view_report_fn *report,
    void *arg, struct view **out)
{
	const struct conf *c;
	struct build_ctx bc;
	struct view *v;
	char msg[256];
	size_t i, nmirror = 0;
	int rc;

	if (vc == NULL || (v = calloc(1, sizeof(*v))) == NULL)
		return RBLMUX_ENOMEM;
	c = vc->c;
	memset(&bc, 0, sizeof(bc));
	bc.report = report;
	bc.arg = arg;
	atomic_fetch_add(&vc->refs, 1);
	v->vc = vc;
	v->conf = c;
	v->built = time(NULL);
	atomic_init(&v->refs, 1);
	/* built here: when it fails, the old config keeps serving */
	if (acl_new(c->server.acl, c->server.nacl, &v->acl) != 0) {
		if (report != NULL)
			report(arg, LIST_ERROR, c->path, 0, "out of memory");
		view_unref(v);
		return RBLMUX_ENOMEM;
	}
	v->tcp.max_clients = c->server.tcp_max_clients;
	v->tcp.idle_timeout = c->server.tcp_idle_timeout_ms / 1000.;
	v->tcp.message_timeout = c->server.tcp_message_timeout_ms / 1000.;
	v->lists = calloc(c->nlists ? c->nlists : 1, sizeof(*v->lists));
	if (v->lists == NULL || index_names(v) != 0)
		goto nomem;
	for (i = 0; i < c->nlists; i++) {
		rc = get_list(c, &c->lists[i], old, &bc, &v->lists[i]);
		if (rc != 0) {
			/* the loader named the file and the reason, once */
			if (report != NULL && !list_load_reported(rc)) {
				snprintf(msg, sizeof(msg), "list %s: %s",
				    c->lists[i].name, rblmux_strerror(rc));
				report(arg, LIST_ERROR, c->lists[i].file,
				    c->lists[i].line, msg);
			}
			goto fail;
		}
		v->nlists++;
	}
	if ((rc = escal_view_build(v)) != 0)
		goto nomem;
	for (i = 0; i < c->nupstreams; i++)
		if (c->upstreams[i].mirror)
			nmirror++;
	v->zones = calloc(c->nzones + nmirror + 1, sizeof(*v->zones));
	v->mirrors = calloc(nmirror + 1, sizeof(*v->mirrors));
	if (v->zones == NULL || v->mirrors == NULL)
		goto nomem;
	for (i = 0; i < c->nupstreams; i++) {
		if (!c->upstreams[i].mirror)
			continue;
		rc = mirror_zone(&c->upstreams[i], &v->mirrors[v->nmirrors]);
		v->nmirrors++;
		if (rc != 0)
			goto nomem;
	}
	for (i = 0; i < c->nzones + v->nmirrors; i++) {
		const struct conf_zone *cz = i < c->nzones ? &c->zones[i] :
		    &v->mirrors[i - c->nzones];

		rc = compile_zone(v, cz, &v->zones[i], &bc);
		v->zones[i].mirror = i >= c->nzones;
		v->nzones++;
		if (rc == RBLMUX_ENOMEM)
			goto nomem;
		if (rc != 0) {
			if (report != NULL)
				report(arg, LIST_ERROR, cz->file, cz->line,
				    "zone cannot be compiled");
			goto fail;
		}
	}
	if (index_zones(v) != 0)
		goto nomem;
	/* what the loads borrowed goes back to the system, not to waste */
	malloc_trim(0);
	*out = v;
	return 0;
nomem:
	rc = RBLMUX_ENOMEM;
	if (report != NULL)
		report(arg, LIST_ERROR, NULL, 0, "out of memory building the "
		    "lists and zones");
fail:
	view_unref(v);
	return rc;
}

/* view_ref - take a reference */
void
view_ref(struct view *v)
{
	atomic_fetch_add(&v->refs, 1);
}

/* view_unref - drop a reference; the last one frees the view */
void
view_unref(struct view *v)
{
	size_t i;

	if (v == NULL || atomic_fetch_sub(&v->refs, 1) != 1)
		return;
	for (i = 0; i < v->nzones; i++) {
		free(v->zones[i].src);
		free(v->zones[i].exempt);
	}
	free(v->zones);
	for (i = 0; i < v->nmirrors; i++)
		mirror_free(&v->mirrors[i]);
	free(v->mirrors);
	free(v->ztab);
	escal_view_free(v);
	free(v->names);
	acl_free(v->acl);
	for (i = 0; i < v->nlists; i++)
		vlist_unref(v->lists[i]);
	free(v->lists);
	vconf_unref(v->vc);
	free(v);
}

/* view_lists_changed - does any list need reading again? */
int
view_lists_changed(const struct view *v)
{
	size_t i, j;

	for (i = 0; i < v->nlists; i++) {
		if (v->lists[i]->retry)
			return 1;
		for (j = 0; j < v->lists[i]->nfiles; j++)
			if (!file_same(&v->lists[i]->files[j]))
				return 1;
	}
	return 0;
}

/* view_zone - look a zone up by name */
const struct vzone *
view_zone(const struct view *v, const char *name)
{
	char text[DNS_MAXNAME + 1];
	uint8_t wire[DNS_MAXNAME];
	size_t i, len = strlen(name);

	while (len > 1 && name[len - 1] == '.')
		len--;
	if (len == 0 || len >= sizeof(text))
		return NULL;
	for (i = 0; i < len; i++)
		text[i] = (char)tolower((unsigned char)name[i]);
	text[len] = '\0';
	if ((len = dnsmsg_name_to_wire(text, wire, sizeof(wire))) == 0)
		return NULL;
	return view_zone_probe(v, view_zhash(wire, len), wire, len);
}

/* view_list_expired - when vl's data expired, or 0 */
time_t
view_list_expired(const struct vlist *vl, time_t now)
{
	time_t exp = vl->data != NULL ? list_expires(vl->data) : 0;

	return exp != 0 && exp < now ? exp : 0;
}
