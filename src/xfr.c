/*
 * xfr.c -- SOA serials, AXFR/IXFR and NOTIFY of served zones (xfr.h).
 */
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "acl.h"
#include "answer.h"
#include "conf.h"
#include "dyn.h"
#include "escal.h"
#include "dnsmsg.h"
#include "err.h"
#include "log.h"
#include "query.h"
#include "srv.h"
#include "stats.h"
#include "view.h"
#include "xfr.h"
#include "zdump.h"

#define NOTIFY_FIRST_WAIT	2.0	/* seconds before a NOTIFY is sent
					   again, doubling */
#define NOTIFY_GAP		1.0	/* at most one NOTIFY round a second */
#define TICK			0.25

struct xfr *xfr_main;

/* One NOTIFY target of a zone */
struct target {
	struct sockaddr_storage	 sa;
	socklen_t		 salen;
	uint16_t		 id;
	unsigned		 tries;		/* sent this round */
	double			 next;		/* send again at */
	bool			 acked;
};

/* What the publisher keeps of a served zone across views */
struct xzone {
	char			*name;
	uint32_t		 serial;
	uint64_t		 fp;		/* fingerprint of its data */
	bool			 seen;		/* in the current view */
	double			 due;		/* NOTIFY round due at, 0 = none */
	double			 last;		/* last round started */
	struct target		*t;
	size_t			 nt;
};

struct xfr {
	struct ev_loop		*loop;
	struct xzone		*z;
	size_t			 nz;
	char			*state;		/* state-dir/xfr-serial, or NULL */
	bool			 loaded;	/* state read */
	int			 fd[2];		/* NOTIFY sockets: IPv4, IPv6 */
	ev_io			 io[2];
	ev_timer		 tick;
	ev_timer		 sights;	/* escal_view_sightings() */
	struct view		**cur;		/* the loop's current view */
	ev_timer		 save;		/* state_write() at the next
					   iteration (state_soon) */
};

/* --- serials ----------------------------------------------------------- */

bool
xfr_serial_gt(uint32_t a, uint32_t b)
{
	return a != b && (uint32_t)(a - b) < 0x80000000U;
}

uint32_t
xfr_serial_next(uint32_t prev, time_t now)
{
	uint32_t t = (uint32_t)now;

	return xfr_serial_gt(t, prev) ? t : prev + 1;
}

/* mix - FNV-1a over n more bytes */
static uint64_t
mix(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n-- > 0)
		h = (h ^ *b++) * 0x100000001b3ULL;
	return h;
}

/*
 * list_fp - the identity of the data a list answers from: its files as
 * they were read (the same after a restart)
 */
static uint64_t
list_fp(uint64_t h, const struct vlist *vl)
{
	const struct vlist *own = vl->kept != NULL ? vl->kept : vl;
	size_t i;

	h = mix(h, own->name, strlen(own->name) + 1);
	for (i = 0; i < own->nfiles; i++) {
		const struct list_file_id *id = &own->files[i].id;

		h = mix(h, own->files[i].path, strlen(own->files[i].path) + 1);
		h = mix(h, &id->dev, sizeof(id->dev));
		h = mix(h, &id->ino, sizeof(id->ino));
		h = mix(h, &id->size, sizeof(id->size));
		h = mix(h, &id->mtime.tv_sec, sizeof(id->mtime.tv_sec));
		h = mix(h, &id->mtime.tv_nsec, sizeof(id->mtime.tv_nsec));
	}
	return h;
}

/*
 * escal_fp - h and what an escalation rule publishes: its settings and
 * the files of the lists it counts
 */
static uint64_t
escal_fp(uint64_t h, const struct view *v, const struct vsource *src)
{
	const struct vescal *ve;
	const struct conf_escalation *ce;
	size_t k;

	if (src->escal < 0 || (size_t)src->escal >= v->nescal)
		return h;
	ve = &v->escal[src->escal];
	ce = ve->ce;
	h = mix(h, &ce->prefix, sizeof(ce->prefix));
	h = mix(h, &ce->prefix6, sizeof(ce->prefix6));
	h = mix(h, &ce->threshold, sizeof(ce->threshold));
	h = mix(h, &ce->value, sizeof(ce->value));
	h = mix(h, &ve->ttl, sizeof(ve->ttl));
	if (ce->txt != NULL)
		h = mix(h, ce->txt, strlen(ce->txt) + 1);
	for (k = 0; k < ve->nsrc; k++)
		if (ve->src[k].kind == VSRC_LIST && ve->src[k].vl != NULL)
			h = list_fp(h, ve->src[k].vl);
	return h;
}

/* zone_fp - the fingerprint of what a served zone publishes */
static uint64_t
zone_fp(const struct view *v, const struct vzone *z)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	h = mix(h, z->name, strlen(z->name) + 1);
	/* the SOA but its serial */
	h = mix(h, z->soa_rdata, z->soa_rdlen - 20);
	h = mix(h, z->soa_rdata + z->soa_rdlen - 16, 16);
	h = mix(h, &z->cz->soa_ttl, sizeof(z->cz->soa_ttl));
	h = mix(h, &z->ttl_min, sizeof(z->ttl_min));
	h = mix(h, &z->ttl_max, sizeof(z->ttl_max));
	h = mix(h, &z->families, sizeof(z->families));
	for (i = 0; i < z->cz->nns; i++)
		h = mix(h, z->cz->ns[i], strlen(z->cz->ns[i]) + 1);
	for (i = 0; i < z->nsrc; i++) {
		h = mix(h, z->src[i].name, strlen(z->src[i].name) + 1);
		if (z->src[i].kind == VSRC_LIST && z->src[i].vl != NULL)
			h = list_fp(h, z->src[i].vl);
		else if (z->src[i].kind == VSRC_ESCALATION)
			h = escal_fp(h, v, &z->src[i]);
	}
	for (i = 0; i < z->nexempt; i++)
		h = list_fp(h, z->exempt[i]);
	return h;
}

/* find - the publisher's record of zone name, or NULL */
static struct xzone *
find(const struct xfr *x, const char *name)
{
	size_t i;

	for (i = 0; i < x->nz; i++)
		if (strcmp(x->z[i].name, name) == 0)
			return &x->z[i];
	return NULL;
}

/* add - a new record for zone name; NULL when out of memory */
static struct xzone *
add(struct xfr *x, const char *name)
{
	struct xzone *p = realloc(x->z, (x->nz + 1) * sizeof(*p));

	if (p == NULL)
		return NULL;
	x->z = p;
	p = &x->z[x->nz];
	memset(p, 0, sizeof(*p));
	if ((p->name = strdup(name)) == NULL)
		return NULL;
	x->nz++;
	return p;
}

/* state_read - the serials of the last run */
static void
state_read(struct xfr *x)
{
	char line[512], name[300];
	uint32_t serial;
	uint64_t fp;
	struct xzone *z;
	FILE *f;

	if (x->state == NULL || (f = fopen(x->state, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%299s %" SCNu32 " %" SCNx64, name, &serial,
		    &fp) != 3 || find(x, name) != NULL)
			continue;
		if ((z = add(x, name)) == NULL)
			break;
		z->serial = serial;
		z->fp = fp;
	}
	fclose(f);
}

/* state_write - keep the serials for the next run */
static void
state_write(struct xfr *x)
{
	char tmp[4096];
	size_t i;
	FILE *f;

	if (x->state == NULL ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp", x->state) >= (int)sizeof(tmp))
		return;
	if ((f = fopen(tmp, "we")) == NULL) {
		log_debug("%s: %s", tmp, strerror(errno));
		return;
	}
	for (i = 0; i < x->nz; i++)
		fprintf(f, "%s %" PRIu32 " %" PRIx64 "\n", x->z[i].name,
		    x->z[i].serial, x->z[i].fp);
	if (fclose(f) != 0 || rename(tmp, x->state) != 0) {
		log_debug("%s: %s", x->state, strerror(errno));
		unlink(tmp);
	}
}

/* save_cb - the serials changed since the last iteration: keep them */
static void
save_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	state_write(w->data);
	(void)loop;
	(void)revents;
}

/*
 * state_soon - state_write() once the loop's iteration ends: an expiry
 * of thousands of entries, each a change, writes the file once, not
 * once per entry (a rename each: a quarter of a second of the loop)
 */
static void
state_soon(struct xfr *x)
{
	if (x->loop == NULL) {
		state_write(x);
		return;
	}
	if (!ev_is_active(&x->save)) {
		ev_timer_set(&x->save, 0., 0.);
		ev_timer_start(x->loop, &x->save);
	}
}

/* set_serial - write the zone's serial into the view's SOA */
static void
set_serial(struct vzone *vz, uint32_t serial)
{
	uint8_t *p = vz->soa_rdata + vz->soa_rdlen - 20;

	vz->serial = serial;
	p[0] = (uint8_t)(serial >> 24);
	p[1] = (uint8_t)(serial >> 16);
	p[2] = (uint8_t)(serial >> 8);
	p[3] = (uint8_t)serial;
}

/* --- NOTIFY ------------------------------------------------------------ */

static void	notify_read_cb(struct ev_loop *, ev_io *, int);
static zdump_more_fn xfr_more;
static void	tick_cb(struct ev_loop *, ev_timer *, int);
static void	sights_cb(struct ev_loop *, ev_timer *, int);

/* targets - the NOTIFY targets of a zone from its config */
static void
targets(struct xzone *xz, const struct conf_zone *cz)
{
	size_t i, n = 0;
	struct target *t;

	free(xz->t);
	xz->t = NULL;
	xz->nt = 0;
	if ((t = calloc(cz->nnotify + cz->nallow_transfer + 1,
	    sizeof(*t))) == NULL)
		return;
	for (i = 0; i < cz->nnotify; i++, n++) {
		memcpy(&t[n].sa, &cz->notify[i].sa, cz->notify[i].salen);
		t[n].salen = cz->notify[i].salen;
		t[n].acked = true;
	}
	for (i = 0; cz->nnotify == 0 && i < cz->nallow_transfer; i++) {
		const struct conf_prefix *p = &cz->allow_transfer[i];

		if (p->family == AF_INET && p->plen == 32) {
			struct sockaddr_in *s = (struct sockaddr_in *)&t[n].sa;

			s->sin_family = AF_INET;
			s->sin_port = htons(53);
			memcpy(&s->sin_addr, p->addr, 4);
			t[n].salen = sizeof(*s);
		} else if (p->family == AF_INET6 && p->plen == 128) {
			struct sockaddr_in6 *s =
			    (struct sockaddr_in6 *)&t[n].sa;

			s->sin6_family = AF_INET6;
			s->sin6_port = htons(53);
			memcpy(&s->sin6_addr, p->addr, 16);
			t[n].salen = sizeof(*s);
		} else
			continue;
		t[n++].acked = true;
	}
	xz->t = t;
	xz->nt = n;
}

/* schedule - a NOTIFY round for the zone, at most one a second */
static void
schedule(struct xfr *x, struct xzone *xz)
{
	double now = ev_now(x->loop), at = xz->last + NOTIFY_GAP;

	if (xz->nt == 0)
		return;
	xz->due = at > now ? at : now;
	if (!ev_is_active(&x->tick)) {
		ev_timer_set(&x->tick, 0., TICK);
		ev_timer_start(x->loop, &x->tick);
	}
}

/* notify_socket - the NOTIFY socket of a family; -1 when it cannot be */
static int
notify_socket(struct xfr *x, int family)
{
	int i = family == AF_INET6;

	if (x->fd[i] >= 0)
		return x->fd[i];
	x->fd[i] = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (x->fd[i] < 0)
		return -1;
	ev_io_init(&x->io[i], notify_read_cb, x->fd[i], EV_READ);
	x->io[i].data = x;
	ev_io_start(x->loop, &x->io[i]);
	return x->fd[i];
}

/* notify_send - one NOTIFY to target t of zone z */
static void
notify_send(struct xfr *x, struct xzone *xz, struct target *t)
{
	uint8_t m[512];
	size_t n = 12, k;
	int fd = notify_socket(x, t->sa.ss_family);

	if (fd < 0)
		return;
	memset(m, 0, 12);
	m[0] = (uint8_t)(t->id >> 8);
	m[1] = (uint8_t)t->id;
	m[2] = DNS_OPCODE_NOTIFY << 3 | 0x04;	/* AA */
	m[5] = 1;				/* QDCOUNT */
	m[7] = 1;				/* ANCOUNT: the new SOA */
	if ((k = dnsmsg_name_to_wire(xz->name, m + n, DNS_MAXNAME)) == 0)
		return;
	n += k;
	m[n++] = 0; m[n++] = DNS_TYPE_SOA; m[n++] = 0; m[n++] = DNS_CLASS_IN;
	/* a SOA owned by the question's name, only the serial meaningful */
	m[n++] = 0xc0; m[n++] = 12;
	m[n++] = 0; m[n++] = DNS_TYPE_SOA; m[n++] = 0; m[n++] = DNS_CLASS_IN;
	memset(m + n, 0, 4);			/* TTL */
	n += 4;
	m[n++] = 0; m[n++] = 2 + 20;
	m[n++] = 0; m[n++] = 0;			/* root MNAME, RNAME */
	m[n++] = (uint8_t)(xz->serial >> 24);
	m[n++] = (uint8_t)(xz->serial >> 16);
	m[n++] = (uint8_t)(xz->serial >> 8);
	m[n++] = (uint8_t)xz->serial;
	memset(m + n, 0, 16);
	n += 16;
	if (sendto(fd, m, n, 0, (struct sockaddr *)&t->sa, t->salen) < 0)
		log_debug("zone %s: NOTIFY: %s", xz->name, strerror(errno));
	t->tries++;
	t->next = ev_now(x->loop) + NOTIFY_FIRST_WAIT * (1u << (t->tries - 1));
}

/* tick_cb - start due NOTIFY rounds, send again what is not answered */
static void
tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct xfr *x = w->data;
	double now = ev_now(loop);
	bool busy = false;
	size_t i, k;

	for (i = 0; i < x->nz; i++) {
		struct xzone *xz = &x->z[i];

		if (xz->due != 0 && xz->due <= now) {
			xz->due = 0;
			xz->last = now;
			for (k = 0; k < xz->nt; k++) {
				uint16_t id;

				if (getrandom(&id, sizeof(id), GRND_NONBLOCK) !=
				    sizeof(id))
					id = (uint16_t)random();
				xz->t[k].id = id;
				xz->t[k].tries = 0;
				xz->t[k].acked = false;
				xz->t[k].next = now;
			}
			log_info("zone %s: serial %" PRIu32 ", NOTIFY to %zu "
			    "secondar%s", xz->name, xz->serial, xz->nt,
			    xz->nt == 1 ? "y" : "ies");
		}
		busy |= xz->due != 0;
		for (k = 0; k < xz->nt; k++) {
			struct target *t = &xz->t[k];

			if (t->acked)
				continue;
			if (t->tries >= XFR_NOTIFY_TRIES && t->next <= now) {
				t->acked = true;	/* given up */
				log_info("zone %s: NOTIFY %zu: no answer",
				    xz->name, k + 1);
				continue;
			}
			if (t->next <= now && t->tries < XFR_NOTIFY_TRIES)
				notify_send(x, xz, t);
			busy = true;
		}
	}
	if (!busy)
		ev_timer_stop(loop, w);
	(void)revents;
}

/* same_addr - is the datagram's source the target's address and port? */
static bool
same_addr(const struct sockaddr_storage *a, const struct target *t)
{
	if (a->ss_family != t->sa.ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *p = (const void *)a,
		    *q = (const void *)&t->sa;

		return p->sin_port == q->sin_port &&
		    p->sin_addr.s_addr == q->sin_addr.s_addr;
	}
	{
		const struct sockaddr_in6 *p = (const void *)a,
		    *q = (const void *)&t->sa;

		return p->sin6_port == q->sin6_port &&
		    memcmp(&p->sin6_addr, &q->sin6_addr, 16) == 0;
	}
}

/* notify_read_cb - answers to our NOTIFYs */
static void
notify_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct xfr *x = w->data;
	struct sockaddr_storage from;
	socklen_t flen;
	uint8_t m[512];
	ssize_t n;
	size_t i, k;
	int tries;

	for (tries = 0; tries < 64; tries++) {
		flen = sizeof(from);
		n = recvfrom(w->fd, m, sizeof(m), 0, (struct sockaddr *)&from,
		    &flen);
		if (n < 0)
			return;
		/* a response (QR) to a NOTIFY, with the ID we sent there */
		if (n < 12 || !(m[2] & 0x80) ||
		    ((m[2] >> 3) & 15) != DNS_OPCODE_NOTIFY)
			continue;
		for (i = 0; i < x->nz; i++)
			for (k = 0; k < x->z[i].nt; k++) {
				struct target *t = &x->z[i].t[k];

				if (!t->acked && t->tries > 0 &&
				    t->id == (m[0] << 8 | m[1]) &&
				    same_addr(&from, t))
					t->acked = true;
			}
	}
	(void)loop;
	(void)revents;
}

/* --- views ------------------------------------------------------------- */

struct xfr *
xfr_new(struct ev_loop *loop)
{
	struct xfr *x = calloc(1, sizeof(*x));

	if (x == NULL)
		return NULL;
	x->loop = loop;
	x->fd[0] = x->fd[1] = -1;
	zdump_more = xfr_more;
	ev_init(&x->tick, tick_cb);
	x->tick.data = x;
	ev_init(&x->save, save_cb);
	x->save.data = x;
	ev_init(&x->sights, sights_cb);
	x->sights.data = x;
	return x;
}

void
xfr_free(struct xfr *x)
{
	size_t i;

	if (x == NULL)
		return;
	ev_timer_stop(x->loop, &x->tick);
	ev_timer_stop(x->loop, &x->sights);
	escal_view_on_change(NULL, NULL);
	if (ev_is_active(&x->save)) {
		ev_timer_stop(x->loop, &x->save);
		state_write(x);
	}
	for (i = 0; i < 2; i++)
		if (x->fd[i] >= 0) {
			ev_io_stop(x->loop, &x->io[i]);
			close(x->fd[i]);
		}
	for (i = 0; i < x->nz; i++) {
		free(x->z[i].name);
		free(x->z[i].t);
	}
	free(x->z);
	free(x->state);
	free(x);
	zdump_more = NULL;
}

/* published - is vz a zone this module publishes? */
static bool
published(const struct vzone *vz)
{
	return vz->serve && !vz->mirror;
}

void
xfr_apply(struct xfr *x, struct view *v)
{
	time_t now = time(NULL);
	bool changed = false;
	size_t i;

	if (!x->loaded) {
		char *dir = conf_path(v->conf, v->conf->server.state_dir ?
		    v->conf->server.state_dir : "var/");
		size_t len = dir != NULL ? strlen(dir) + 16 : 0;

		x->loaded = true;
		if (dir != NULL && (x->state = malloc(len)) != NULL) {
			snprintf(x->state, len, "%s%sxfr-serial", dir,
			    len > 16 && dir[len - 17] == '/' ? "" : "/");
			state_read(x);
		}
		free(dir);
	}
	for (i = 0; i < x->nz; i++)
		x->z[i].seen = false;
	for (i = 0; i < v->nzones; i++) {
		struct vzone *vz = &v->zones[i];
		struct xzone *xz;
		uint64_t fp;

		if (!published(vz))
			continue;
		fp = zone_fp(v, vz);
		if ((xz = find(x, vz->name)) == NULL) {
			if ((xz = add(x, vz->name)) == NULL)
				continue;	/* the view's own serial */
			xz->serial = vz->serial;
			xz->fp = fp;
			changed = true;
		} else if (xz->fp != fp || xz->serial == 0) {
			xz->serial = xfr_serial_next(xz->serial, now);
			xz->fp = fp;
			changed = true;
			xz->due = -1;		/* below: NOTIFY */
		}
		xz->seen = true;
		set_serial(vz, xz->serial);
		targets(xz, vz->cz);
		if (xz->due == -1) {
			xz->due = 0;
			schedule(x, xz);
		}
	}
	if (changed)
		state_write(x);
}

/* escal_counts - is src an escalation rule that counts list? */
static bool
escal_counts(const struct view *v, const struct vsource *src,
    const char *list)
{
	const struct vescal *ve;
	size_t i;

	if (src->kind != VSRC_ESCALATION || src->escal < 0 ||
	    (size_t)src->escal >= v->nescal)
		return false;
	ve = &v->escal[src->escal];
	for (i = 0; i < ve->nsrc; i++)
		if (strcmp(ve->src[i].name, list) == 0)
			return true;
	return false;
}

/*
 * changed - a new serial and a NOTIFY for each published zone of v that
 * list (a list name; NULL: escalation rule number rule) changes
 */
static void
changed(struct xfr *x, struct view *v, const char *list, int rule)
{
	time_t now = time(NULL);
	bool any = false;
	size_t i, k;

	for (i = 0; i < v->nzones; i++) {
		struct vzone *vz = &v->zones[i];
		struct xzone *xz;
		bool serves = false;

		if (!published(vz) || (xz = find(x, vz->name)) == NULL)
			continue;
		for (k = 0; k < vz->nsrc && !serves; k++)
			serves = list == NULL ?
			    vz->src[k].kind == VSRC_ESCALATION &&
			    vz->src[k].escal == rule :
			    strcmp(vz->src[k].name, list) == 0 ||
			    escal_counts(v, &vz->src[k], list);
		for (k = 0; k < vz->nexempt && !serves && list != NULL; k++)
			serves = strcmp(vz->exempt[k]->name, list) == 0;
		if (!serves)
			continue;
		xz->serial = xfr_serial_next(xz->serial, now);
		set_serial(vz, xz->serial);
		schedule(x, xz);
		any = true;
	}
	if (any)
		state_soon(x);
}

void
xfr_list_changed(struct xfr *x, struct view *v, const char *list)
{
	changed(x, v, list, -1);
}

/* escal_changed - escal_view_change_fn: sightings changed rule's nets */
static void
escal_changed(void *arg, struct view *v, int rule)
{
	changed(arg, v, NULL, rule);
}

/* sights_cb - once a second: sightings that expired end escalations */
static void
sights_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct xfr *x = w->data;

	if (*x->cur != NULL)
		escal_view_sightings(*x->cur, time(NULL));
	(void)loop;
	(void)revents;
}

void
xfr_watch_sightings(struct xfr *x, struct view **cur)
{
	x->cur = cur;
	escal_view_on_change(escal_changed, x);
	ev_timer_set(&x->sights, 1., 1.);
	ev_timer_start(x->loop, &x->sights);
}

void
xfr_dyn_hook(void *arg, const char *list, const struct list_entry *e,
    enum dyn_change what)
{
	struct view *v = *(struct view **)arg;

	if (xfr_main != NULL && v != NULL)
		xfr_list_changed(xfr_main, v, list);
	(void)e;
	(void)what;
}

/* The blocks of dynamic entries and escalations, for a zone's records */
struct more {
	zdump_add_fn	*add;
	void		*ctx;
	int		 family;
};

/* more_entry - list_walk_fn of dyn_walk: an entry's block */
static int
more_entry(void *arg, const struct list_entry *e)
{
	struct more *m = arg;

	return e->family == m->family ? m->add(m->ctx, e->key, e->plen) : 0;
}

/* more_escal - escal_entry_fn: an escalated network */
static int
more_escal(void *arg, const struct list_entry *e, const struct escal_hit *h)
{
	(void)h;
	return more_entry(arg, e);
}

/*
 * xfr_more - zdump_more_fn: the blocks of the zone's dynamic entries
 * and escalated networks (loop thread: they change there)
 */
static int
xfr_more(const struct view *v, const struct vzone *z, int family,
    time_t now, zdump_add_fn *addf, void *ctx)
{
	struct more m = { addf, ctx, family };
	size_t i;
	int rc = 0;

	for (i = 0; i < z->nsrc && rc == 0; i++) {
		const struct vsource *src = &z->src[i];

		if (src->kind == VSRC_LIST && src->vl != NULL &&
		    dyn_any(src->vl->dyn))
			rc = dyn_walk(src->vl->dyn, now, more_entry, &m);
		else if (src->kind == VSRC_ESCALATION && src->escal >= 0)
			rc = escal_view_walk(v, src->escal, now, more_escal,
			    &m);
	}
	for (i = 0; i < z->nexempt && rc == 0; i++)
		if (dyn_any(z->exempt[i]->dyn))
			rc = dyn_walk(z->exempt[i]->dyn, now, more_entry, &m);
	return rc;
}

uint32_t
xfr_serial(const struct xfr *x, const char *zone)
{
	const struct xzone *xz = find(x, zone);

	return xz != NULL ? xz->serial : 0;
}

/* --- AXFR / IXFR ------------------------------------------------------- */

/* One transfer: a srv stream */
struct xtx {
	struct view		*v;		/* referenced */
	const struct vzone	*z;
	struct zdump		*zd;
	bool			 zd_done;
	bool			 soa_only;	/* IXFR, client current */
	bool			 finished;
	uint16_t		 id;
	uint16_t		 qtype;
	uint8_t			 qname[DNS_MAXNAME];
	size_t			 qlen;
	/* records made, not yet in a message: [olen][owner][type][ttl]
	   [rdlen][rdata] */
	uint8_t			*fifo;
	size_t			 head, len, cap;
	uint64_t		 msgs, bytes;
	char			 peer[INET6_ADDRSTRLEN + 8];
	struct stats		*st;
};

/* put16 - a big-endian 16-bit number */
static uint8_t *
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

/* sink - zdump_fn: queue a record */
static int
sink(void *arg, const struct zdump_rr *rr)
{
	struct xtx *t = arg;
	size_t need = 1 + rr->owner_len + 2 + 4 + 2 + rr->rdlen;
	uint8_t *p;

	if (t->head > 0 && t->head == t->len)
		t->head = t->len = 0;
	if (t->len + need > t->cap) {
		size_t ncap = t->cap ? t->cap : 16384;

		if (t->head > 0) {
			memmove(t->fifo, t->fifo + t->head, t->len - t->head);
			t->len -= t->head;
			t->head = 0;
		}
		while (ncap < t->len + need)
			ncap *= 2;
		if (ncap > t->cap) {
			if ((p = realloc(t->fifo, ncap)) == NULL)
				return RBLMUX_ENOMEM;
			t->fifo = p;
			t->cap = ncap;
		}
	}
	p = t->fifo + t->len;
	*p++ = (uint8_t)rr->owner_len;
	if (rr->owner_len > 0)
		memcpy(p, rr->owner, rr->owner_len);
	p += rr->owner_len;
	p = put16(p, rr->type);
	p = put16(p, rr->ttl >> 16);
	p = put16(p, rr->ttl & 0xffff);
	p = put16(p, (unsigned)rr->rdlen);
	if (rr->rdlen > 0)
		memcpy(p, rr->rdata, rr->rdlen);
	t->len += need;
	return 0;
}

/* msg_start - header and question of a transfer message */
static size_t
msg_start(const struct xtx *t, uint8_t *out)
{
	uint8_t *p = out;

	memset(out, 0, 12);
	put16(p, t->id);
	p[2] = 0x84;			/* QR, AA */
	p[5] = 1;
	p += 12;
	memcpy(p, t->qname, t->qlen);
	p += t->qlen;
	p = put16(p, t->qtype);
	p = put16(p, DNS_CLASS_IN);
	return (size_t)(p - out);
}

/* xtx_next - srv_stream next: the next message of the transfer */
static size_t
xtx_next(void *arg, uint8_t *out, size_t cap, int *err)
{
	struct xtx *t = arg;
	size_t n, an = 0;
	int rc;

	if (t->finished)
		return 0;
	n = msg_start(t, out);
	for (;;) {
		const uint8_t *r;
		size_t olen, rdlen, wire;

		if (t->head == t->len) {
			if (t->zd_done)
				break;
			if ((rc = zdump_step(t->zd, sink, t)) < 0) {
				log_warnx("zone %s: transfer to %s: %s",
				    t->z->name, t->peer, rblmux_strerror(rc));
				*err = 1;
				return 0;
			}
			t->zd_done = rc == 0;
			continue;
		}
		r = t->fifo + t->head;
		olen = r[0];
		rdlen = (size_t)r[1 + olen + 6] << 8 | r[1 + olen + 7];
		wire = olen + 2 + 10 + rdlen;
		if (an > 0 && (n + wire > XFR_MSG_MAX || n + wire > cap))
			break;
		if (n + wire > cap) {
			*err = 1;
			return 0;
		}
		/* owner: its labels, then a pointer to the question's name */
		memcpy(out + n, r + 1, olen);
		n += olen;
		out[n++] = 0xc0;
		out[n++] = 12;
		put16(out + n, (unsigned)r[1 + olen] << 8 | r[2 + olen]);
		put16(out + n + 2, DNS_CLASS_IN);
		memcpy(out + n + 4, r + 3 + olen, 6);	/* TTL, RDLENGTH */
		memcpy(out + n + 10, r + 1 + olen + 8, rdlen);
		n += 10 + rdlen;
		t->head += 1 + olen + 8 + rdlen;
		an++;
	}
	if (an == 0) {
		t->finished = true;
		return 0;
	}
	put16(out + 6, (unsigned)an);
	t->msgs++;
	t->bytes += n;
	if (t->st != NULL)
		t->st->rcode[DNS_RCODE_NOERROR]++;
	return n;
}

/* xtx_done - srv_stream done: the transfer ends or its client went */
static void
xtx_done(void *arg)
{
	struct xtx *t = arg;

	if (t->zd_done && t->head == t->len)
		log_info("zone %s: %s to %s: serial %" PRIu32 ", %" PRIu64
		    " records, %" PRIu64 " messages, %" PRIu64 " bytes",
		    t->z->name, t->qtype == DNS_TYPE_IXFR ? "IXFR" : "AXFR",
		    t->peer, t->z->serial, zdump_count(t->zd), t->msgs,
		    t->bytes);
	else
		log_info("zone %s: transfer to %s ended after %" PRIu64
		    " messages", t->z->name, t->peer, t->msgs);
	zdump_free(t->zd);
	view_unref(t->v);
	free(t->fifo);
	free(t);
}

/* skip_name - past a (possibly compressed) name at off; 0 if bad */
static size_t
skip_name(const uint8_t *m, size_t len, size_t off)
{
	while (off < len) {
		if ((m[off] & 0xc0) == 0xc0)
			return off + 2 <= len ? off + 2 : 0;
		if (m[off] & 0xc0)
			return 0;
		if (m[off] == 0)
			return off + 1;
		off += 1u + m[off];
	}
	return 0;
}

/*
 * ixfr_serial - the serial of the SOA in an IXFR's authority section
 * (RFC 1995 3); false when there is none that parses
 */
static bool
ixfr_serial(const uint8_t *m, size_t len, size_t off, uint32_t *serial)
{
	size_t rd;

	if (len < 12 || (m[8] << 8 | m[9]) < 1 || (m[6] | m[7]) != 0)
		return false;
	if ((off = skip_name(m, len, off)) == 0 || off + 10 > len ||
	    (m[off] << 8 | m[off + 1]) != DNS_TYPE_SOA)
		return false;
	rd = off + 10;
	if ((off = skip_name(m, len, rd)) == 0 ||
	    (off = skip_name(m, len, off)) == 0 || off + 20 > len)
		return false;
	*serial = (uint32_t)m[off] << 24 | (uint32_t)m[off + 1] << 16 |
	    (uint32_t)m[off + 2] << 8 | m[off + 3];
	return true;
}

/* peer_text - the peer's address for the log */
static void
peer_text(const struct sockaddr *sa, char *buf, size_t cap)
{
	const void *a = sa->sa_family == AF_INET6 ?
	    (const void *)&((const struct sockaddr_in6 *)(const void *)sa)
	    ->sin6_addr : (const void *)&((const struct sockaddr_in *)
	    (const void *)sa)->sin_addr;

	if (inet_ntop(sa->sa_family, a, buf, (socklen_t)cap) == NULL)
		snprintf(buf, cap, "?");
}

/* refuse - an error reply to a transfer request */
static size_t
refuse(const struct dns_query *q, const uint8_t *msg, size_t len, int rcode,
    uint8_t *out, size_t cap, struct stats *st)
{
	size_t n = dnsmsg_error_reply(msg, len, q, rcode, out, cap);

	if (st != NULL)
		query_count(st, out, n, rcode);
	return n;
}

size_t
xfr_query(struct xfr *x, struct view *v, const struct dns_query *q, int rc,
    const uint8_t *msg, size_t len, const struct sockaddr *peer, bool tcp,
    const struct srv_origin *from, uint8_t *out, size_t cap,
    struct stats *st)
{
	const struct vzone *z = answer_find_zone(v, q);
	struct srv_stream ss;
	struct xtx *t;
	uint32_t client = 0;
	char who[INET6_ADDRSTRLEN + 8];
	int e;

	peer_text(peer, who, sizeof(who));
	/* an IXFR's SOA is all the parser may have called FORMERR for */
	if (rc != DNSMSG_OK && (q->qtype != DNS_TYPE_IXFR ||
	    !ixfr_serial(msg, len, q->question_end, &client)))
		return refuse(q, msg, len, DNS_RCODE_FORMERR, out, cap, st);
	if (rc == DNSMSG_OK && q->qtype == DNS_TYPE_IXFR)
		return refuse(q, msg, len, DNS_RCODE_FORMERR, out, cap, st);
	if (!tcp || z == NULL || !published(z) ||
	    q->nlabels != z->apex_labels || q->qclass != DNS_CLASS_IN ||
	    !acl_in_prefixes(z->cz->allow_transfer, z->cz->nallow_transfer,
	    peer)) {
		if (tcp && z != NULL)
			log_info("zone %s: transfer to %s refused", z->name,
			    who);
		return refuse(q, msg, len, DNS_RCODE_REFUSED, out, cap, st);
	}
	/* data past its $TIMESTAMP expiry: the zone answers SERVFAIL */
	if ((z->expires != 0 && z->expires < time(NULL)) ||
	    (t = calloc(1, sizeof(*t))) == NULL)
		return refuse(q, msg, len, DNS_RCODE_SERVFAIL, out, cap, st);
	t->z = z;
	t->id = q->id;
	t->qtype = q->qtype;
	t->qlen = q->question_end - 12 - 4;
	memcpy(t->qname, msg + 12, t->qlen);	/* the client's case */
	t->st = st;
	snprintf(t->peer, sizeof(t->peer), "%s", who);
	if (q->qtype == DNS_TYPE_IXFR && !xfr_serial_gt(z->serial, client))
		t->soa_only = true;
	if ((e = zdump_new(v, z, z->serial, time(NULL), !t->soa_only,
	    &t->zd)) != 0) {
		free(t);
		return refuse(q, msg, len, DNS_RCODE_SERVFAIL, out, cap, st);
	}
	if (t->soa_only) {
		/* the SOA alone: zdump's first step */
		(void)zdump_step(t->zd, sink, t);
		t->zd_done = true;
	}
	view_ref(v);
	t->v = v;
	ss.next = xtx_next;
	ss.done = xtx_done;
	ss.arg = t;
	if (srv_stream_start(from, &ss) != 0) {
		xtx_done(t);
		return refuse(q, msg, len, DNS_RCODE_SERVFAIL, out, cap, st);
	}
	(void)x;
	return SRV_STREAMING;
}
