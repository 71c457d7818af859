/*
 * export.c -- lists and served zones written to files (export.h).
 */
#include <sys/socket.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>

#include "dnsmsg.h"
#include "dyn.h"
#include "err.h"
#include "export.h"
#include "list.h"
#include "view.h"
#include "zdump.h"


/* --- the formats ------------------------------------------------------- */

/* txt_quoted - a TXT string in master file syntax (RFC 1035 5.1) */
static void
txt_quoted(FILE *f, const uint8_t *p, size_t n)
{
	size_t i;

	fputc('"', f);
	for (i = 0; i < n; i++) {
		if (p[i] == '"' || p[i] == '\\')
			fprintf(f, "\\%c", p[i]);
		else if (p[i] < 32 || p[i] > 126)
			fprintf(f, "\\%03u", p[i]);
		else
			fputc(p[i], f);
	}
	fputc('"', f);
}

/* owner_text - relative wire labels as dotted text ("" for the apex) */
static void
owner_text(const struct zdump_rr *rr, char *buf, size_t cap)
{
	size_t i = 0, o = 0;

	buf[0] = '\0';
	while (i < rr->owner_len && o + 66 < cap) {
		unsigned l = rr->owner[i++];

		if (o > 0)
			buf[o++] = '.';
		memcpy(buf + o, rr->owner + i, l);
		o += l;
		i += l;
	}
	buf[o] = '\0';
}

/*
 * owner_master - relative wire labels as master file text: bytes other
 * than letters, digits, "-", "_" and "*" as \DDD (RFC 1035 5.1), which a
 * name list's entries may hold
 */
static void
owner_master(const struct zdump_rr *rr, char *buf, size_t cap)
{
	size_t i = 0, o = 0;

	buf[0] = '\0';
	while (i < rr->owner_len && o + 4 * 64 + 2 < cap) {
		unsigned l = rr->owner[i++], k;

		if (o > 0)
			buf[o++] = '.';
		for (k = 0; k < l; k++, i++) {
			uint8_t c = rr->owner[i];

			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
			    c == '*')
				buf[o++] = (char)c;
			else
				o += (size_t)snprintf(buf + o, cap - o,
				    "\\%03u", c);
		}
	}
	buf[o] = '\0';
}

/* name_text - a wire name (uncompressed) as dotted text with a final dot */
static void
name_text(const uint8_t *p, size_t n, char *buf, size_t cap, size_t *used)
{
	size_t i = 0, o = 0;

	while (i < n && p[i] != 0 && o + 66 < cap) {
		unsigned l = p[i++];

		memcpy(buf + o, p + i, l);
		o += l;
		buf[o++] = '.';
		i += l;
	}
	if (o == 0)
		buf[o++] = '.';
	buf[o] = '\0';
	*used = i + 1;
}

/* zone_rr - zdump_fn: one record as a master file line */
static int
zone_rr(void *arg, const struct zdump_rr *rr)
{
	FILE *f = arg;
	char owner[DNS_MAXNAME * 4 + 8], a[DNS_MAXNAME * 2];
	char b[DNS_MAXNAME * 2];
	size_t u1, u2;
	const uint8_t *d = rr->rdata;

	owner_master(rr, owner, sizeof(owner));
	fprintf(f, "%s\t%u\tIN\t", owner[0] ? owner : "@", rr->ttl);
	switch (rr->type) {
	case DNS_TYPE_A:
		fprintf(f, "A\t%u.%u.%u.%u\n", d[0], d[1], d[2], d[3]);
		break;
	case DNS_TYPE_TXT:
		fputs("TXT\t", f);
		txt_quoted(f, d + 1, d[0]);
		fputc('\n', f);
		break;
	case DNS_TYPE_NS:
		name_text(d, rr->rdlen, a, sizeof(a), &u1);
		fprintf(f, "NS\t%s\n", a);
		break;
	case DNS_TYPE_SOA:
		name_text(d, rr->rdlen, a, sizeof(a), &u1);
		name_text(d + u1, rr->rdlen - u1, b, sizeof(b), &u2);
		d += u1 + u2;
		fprintf(f, "SOA\t%s %s %u %u %u %u %u\n", a, b,
		    (unsigned)(d[0] << 24 | d[1] << 16 | d[2] << 8 | d[3]),
		    (unsigned)(d[4] << 24 | d[5] << 16 | d[6] << 8 | d[7]),
		    (unsigned)(d[8] << 24 | d[9] << 16 | d[10] << 8 | d[11]),
		    (unsigned)(d[12] << 24 | d[13] << 16 | d[14] << 8 | d[15]),
		    (unsigned)(d[16] << 24 | d[17] << 16 | d[18] << 8 | d[19]));
		break;
	default:
		/* RFC 3597 generic form */
		fprintf(f, "TYPE%u\t\\# %zu", rr->type, rr->rdlen);
		for (u1 = 0; u1 < rr->rdlen; u1++)
			fprintf(f, "%s%02x", u1 == 0 ? " " : "", d[u1]);
		fputc('\n', f);
		break;
	}
	return ferror(f) ? -EIO : 0;
}

/*
 * Zone data back in rbldnsd's syntax: the records of one owner are
 * collected (zdump gives an owner's records together), then written as
 * lines that pair its A and TXT values.
 */
struct rbl_out {
	FILE		*f;
	bool		 ip6;
	bool		 names;			/* a dnset zone: keys are names */
	char		 owner[DNS_MAXNAME * 2];
	bool		 have;
	bool		 empty;			/* ZDUMP_TYPE_EMPTY */
	uint32_t	 a[64];
	size_t		 na;
	char		 txt[16][LIST_TXT_LEN + 1];
	size_t		 ntxt;
	long		 lines;
};

/* rbl_key - an owner ("*.3.2.1", "4.3.2.1", nibbles) as an rbldnsd key */
static void
rbl_key(const struct rbl_out *o, char *buf, size_t cap)
{
	const char *p = o->owner;
	bool wild = strncmp(p, "*.", 2) == 0;
	unsigned lab[32], n = 0, i;
	uint8_t addr[16] = { 0 };

	if (o->names) {
		/* dnset: the owner is the key ("*.x", "x", "!x") */
		snprintf(buf, cap, "%s", o->owner);
		return;
	}
	if (wild)
		p += 2;
	while (*p != '\0' && n < 32) {
		lab[n++] = (unsigned)strtoul(p, NULL, o->ip6 ? 16 : 10);
		p = strchr(p, '.');
		p = p != NULL ? p + 1 : "";
	}
	if (!o->ip6) {
		/* ip4set: blocks as CIDR, hosts as they are */
		for (i = 0; i < 4; i++)
			addr[i] = (uint8_t)(i < n ? lab[n - 1 - i] : 0);
		snprintf(buf, cap, "%u.%u.%u.%u", addr[0], addr[1], addr[2],
		    addr[3]);
		if (n < 4)
			snprintf(buf + strlen(buf), cap - strlen(buf), "/%u",
			    8 * n);
		return;
	}
	for (i = 0; i < n; i++) {
		unsigned k = n - 1 - i;		/* nibble k from the top */

		addr[k / 2] |= (uint8_t)(k & 1 ? lab[i] : lab[i] << 4);
	}
	inet_ntop(AF_INET6, addr, buf, (socklen_t)cap);
	snprintf(buf + strlen(buf), cap - strlen(buf), "/%u", 4 * n);
}

/* rbl_flush - the lines of the collected owner */
static int
rbl_flush(struct rbl_out *o)
{
	char key[DNS_MAXNAME * 2];
	size_t i, n;

	if (!o->have)
		return 0;
	o->have = false;
	rbl_key(o, key, sizeof(key));
	if (o->empty && o->na == 0) {
		fprintf(o->f, "!%s\n", key);
		o->lines++;
	}
	n = o->na > o->ntxt ? o->na : o->ntxt;
	for (i = 0; i < n; i++) {
		uint32_t a = o->a[o->na > 0 ? (i < o->na ? i : 0) : 0];

		fprintf(o->f, "%s :%u.%u.%u.%u:", key, a >> 24, a >> 16 & 255,
		    a >> 8 & 255, a & 255);
		if (o->ntxt > 0) {
			const char *t = o->txt[i < o->ntxt ? i : 0];

			/* "$" would name the address again: said as "$$" */
			for (; *t != '\0'; t++) {
				if (*t == '$')
					fputc('$', o->f);
				fputc(*t, o->f);
			}
		}
		fputc('\n', o->f);
		o->lines++;
	}
	o->na = o->ntxt = 0;
	o->empty = false;
	return ferror(o->f) ? -EIO : 0;
}

/* rbl_rr - zdump_fn: collect an owner's values */
static int
rbl_rr(void *arg, const struct zdump_rr *rr)
{
	struct rbl_out *o = arg;
	char owner[DNS_MAXNAME * 2];
	int rc;

	if (rr->owner_len == 0)
		return 0;			/* SOA, NS */
	owner_text(rr, owner, sizeof(owner));
	if (!o->have || strcmp(owner, o->owner) != 0) {
		if ((rc = rbl_flush(o)) != 0)
			return rc;
		snprintf(o->owner, sizeof(o->owner), "%s", owner);
		o->have = true;
	}
	if (rr->type == DNS_TYPE_A && o->na < 64)
		o->a[o->na++] = (uint32_t)rr->rdata[0] << 24 |
		    (uint32_t)rr->rdata[1] << 16 | (uint32_t)rr->rdata[2] << 8 |
		    rr->rdata[3];
	else if (rr->type == DNS_TYPE_TXT && o->ntxt < 16) {
		memcpy(o->txt[o->ntxt], rr->rdata + 1, rr->rdata[0]);
		o->txt[o->ntxt++][rr->rdata[0]] = '\0';
	} else if (rr->type == ZDUMP_TYPE_EMPTY)
		o->empty = true;
	return 0;
}

/* list_line - list_walk_fn: one entry in rbldnsd's syntax */
static int
list_line(void *arg, const struct list_entry *e)
{
	FILE *f = arg;
	char key[300];
	size_t i;

	if (e->family == AF_INET) {
		const uint8_t *k = e->key;

		if (e->plen == 32)
			snprintf(key, sizeof(key), "%u.%u.%u.%u", k[0], k[1],
			    k[2], k[3]);
		else
			snprintf(key, sizeof(key), "%u.%u.%u.%u/%u", k[0], k[1],
			    k[2], k[3], e->plen);
	} else if (e->family == AF_INET6) {
		inet_ntop(AF_INET6, e->key, key, sizeof(key));
		snprintf(key + strlen(key), sizeof(key) - strlen(key), "/%u",
		    e->plen);
	} else
		snprintf(key, sizeof(key), "%s%.*s", e->wild ? "*." : "",
		    (int)e->name_len, e->name);
	if (e->excluded) {
		fprintf(f, "!%s\n", key);
		return ferror(f) ? -EIO : 0;
	}
	for (i = 0; i < e->nvals; i++) {
		const struct list_value *lv = e->vals[i];

		fprintf(f, "%s :%u.%u.%u.%u:%s\n", key, lv->lv_a >> 24,
		    lv->lv_a >> 16 & 255, lv->lv_a >> 8 & 255, lv->lv_a & 255,
		    lv->lv_txt != NULL ? lv->lv_txt : "");
	}
	return ferror(f) ? -EIO : 0;
}

/* first_ttl - list_walk_fn: the TTL of the list's values */
static int
first_ttl(void *arg, const struct list_entry *e)
{
	if (e->nvals == 0)
		return 0;
	*(uint32_t *)arg = e->vals[0]->lv_ttl;
	return 1;
}

/* zone_of - a served zone of v by name, or NULL */
static const struct vzone *
zone_of(const struct view *v, const char *name)
{
	const struct vzone *z = view_zone(v, name);

	return z != NULL && z->serve ? z : NULL;
}

/* list_of - a local list of v by name, or NULL */
static const struct vlist *
list_of(const struct view *v, const char *name)
{
	size_t i;

	for (i = 0; i < v->nlists; i++)
		if (strcmp(v->lists[i]->name, name) == 0)
			return v->lists[i];
	return NULL;
}

/* check - can name be exported in format? */
static int
check(const struct view *v, const char *name, const char *format, char *err,
    size_t errcap)
{
	const struct vzone *z = zone_of(v, name);
	const struct vlist *vl = list_of(v, name);

	if (strcmp(format, "rbldnsd") != 0 && strcmp(format, "zone") != 0) {
		snprintf(err, errcap, "unknown format %.64s (rbldnsd or zone)",
		    format);
		return RBLMUX_EINVAL;
	}
	if (z == NULL && vl == NULL) {
		snprintf(err, errcap, "no such list or served zone: %.256s",
		    name);
		return RBLMUX_EINVAL;
	}
	if (z == NULL && strcmp(format, "zone") == 0) {
		snprintf(err, errcap, "%.256s is a list: the zone format is "
		    "for served zones", name);
		return RBLMUX_EINVAL;
	}
	if (z != NULL && vl == NULL && strcmp(format, "rbldnsd") == 0 &&
	    (z->families & (VFAM_IP4 | VFAM_IP6)) == (VFAM_IP4 | VFAM_IP6)) {
		snprintf(err, errcap, "zone %.256s holds IPv4 and IPv6 lists: "
		    "export each list, or the zone format", name);
		return RBLMUX_EINVAL;
	}
	if (z != NULL && vl == NULL && strcmp(format, "rbldnsd") == 0 &&
	    (z->families & VFAM_NAME) && z->families != VFAM_NAME) {
		snprintf(err, errcap, "zone %.256s holds name and address "
		    "lists: export each list, or the zone format", name);
		return RBLMUX_EINVAL;
	}
	return 0;
}

/* --- jobs --------------------------------------------------------------- */

struct export_job {
	ev_async		 async;		/* first */
	ev_timer		 step;		/* a zone: its next records */
	struct ev_loop		*loop;
	pthread_t		 thread;
	bool			 thread_none;	/* answered through async alone */
	bool			 running;	/* thread started, not joined */
	struct export_job	*prev, *next;	/* jobs, in the loop */
	struct view		*v;		/* referenced */
	const struct vlist	*vl;		/* a list */
	struct zdump		*zd;		/* a zone */
	struct rbl_out		 ro;		/* a zone in rbldnsd's syntax */
	FILE			*f;		/* the temporary file */
	char			*tmp;		/* its name, until renamed */
	long			 lines;		/* dynamic entries written */
	char			*name;
	char			*format;
	char			*path;		/* the target (links resolved) */
	long			 n;		/* lines or records written */
	int			 rc;		/* the writing's outcome */
	const char		*why;
	export_done_fn		*done;
	void			*arg;
	atomic_bool		 cancelled;
	bool			 ok;
	char			 text[512];
};

/* Lines written by list_line, counted */
struct lines {
	FILE		*f;
	long		 n;
};

/* count_line - list_walk_fn: list_line, counted */
static int
count_line(void *arg, const struct list_entry *e)
{
	struct lines *ln = arg;

	ln->n += e->excluded ? 1 : (long)e->nvals;
	return list_line(ln->f, e);
}

/*
 * A list's file data never changes: a thread walks it. Dynamic entries
 * and escalations change in the loop, and a zone's lookups read them: a
 * zone is written in the loop, a few hundred records an iteration
 * (ev_timer at 0: the loop reads its sockets in between).
 */
#define STEP_RECORDS	512	/* records of a zone per loop iteration */

/*
 * job_commit - the temporary file made the target: flushed, synced and
 * renamed over it, so a reader of the old file reads it whole and one
 * opening the target after reads the new one whole. On any error the
 * temporary file is removed and the old file left as it was.
 */
static int
job_commit(struct export_job *j, const char **why)
{
	int rc = 0;

	if (fflush(j->f) != 0 || fsync(fileno(j->f)) != 0)
		rc = -errno;
	if (fclose(j->f) != 0 && rc == 0)
		rc = -errno;
	j->f = NULL;
	if (rc == 0 && rename(j->tmp, j->path) != 0)
		rc = -errno;
	if (rc != 0) {
		*why = strerror(-rc);
		(void)unlink(j->tmp);
	}
	free(j->tmp);
	j->tmp = NULL;
	return rc;
}

/* job_finish - the file is written (j->n lines or records) or not
   (j->rc): committed or removed, and the answer's text */
static void
job_finish(struct export_job *j)
{
	int rc = j->rc;
	const char *why = j->why;

	if (rc == 0)
		rc = job_commit(j, &why);
	if (rc == 0) {
		j->ok = true;
		snprintf(j->text, sizeof(j->text), "%s: %ld %s written to "
		    "%.256s\n", j->name, j->n, j->zd != NULL &&
		    strcmp(j->format, "zone") == 0 ? "records" : "lines",
		    j->path);
	} else
		snprintf(j->text, sizeof(j->text), "%.256s: %s%s\n", j->path,
		    why != NULL ? why : rblmux_strerror(rc),
		    "; nothing was replaced");
}

/* job_run - the thread: a list's file data, after its dynamic entries */
static void *
job_run(void *arg)
{
	struct export_job *j = arg;
	int rc;

	rc = list_walk(j->vl->data, list_line, j->f);
	if (rc == 0 && ferror(j->f))
		rc = RBLMUX_EIO;
	j->rc = rc;
	j->n = j->lines + (long)list_entries(j->vl->data);
	job_finish(j);
	ev_async_send(j->loop, &j->async);
	return NULL;
}

/* job_commit_run - the thread of a zone written in the loop: sync and
   rename, which may wait for the disk */
static void *
job_commit_run(void *arg)
{
	struct export_job *j = arg;

	job_finish(j);
	ev_async_send(j->loop, &j->async);
	return NULL;
}

/*
 * job_thread - run fn(j) in a thread that ends with ev_async on the job
 * (started here); signals stay with the loop thread. 0 or -errno.
 */
static int
job_thread(struct export_job *j, void *(*fn)(void *))
{
	sigset_t all, old;
	int rc;

	ev_async_start(j->loop, &j->async);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&j->thread, NULL, fn, j);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		ev_async_stop(j->loop, &j->async);
	j->running = rc == 0;
	return -rc;
}

static struct export_job *jobs;		/* running, asked for or not */

/* job_free - all a job holds */
static void
job_free(struct export_job *j)
{
	if (j->prev != NULL)
		j->prev->next = j->next;
	else if (jobs == j)
		jobs = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
	if (j->f != NULL)
		fclose(j->f);
	if (j->tmp != NULL) {
		(void)unlink(j->tmp);	/* never renamed: the old file stays */
		free(j->tmp);
	}
	zdump_free(j->zd);
	view_unref(j->v);
	free(j->name);
	free(j->format);
	free(j->path);
	free(j);
}

/* job_end - in the loop: answer (unless cancelled) and free */
static void
job_end(struct export_job *j)
{
	ev_async_stop(j->loop, &j->async);
	ev_timer_stop(j->loop, &j->step);
	if (!atomic_load(&j->cancelled))
		j->done(j->arg, j->ok, j->text);
	job_free(j);
}

/* job_done_cb - in the loop: the thread is done */
static void
job_done_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct export_job *j = (struct export_job *)w;

	if (j->running)
		pthread_join(j->thread, NULL);
	j->running = false;
	job_end(j);
	(void)loop;
	(void)revents;
}

/* job_step_cb - in the loop: the next records of a zone */
static void
job_step_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct export_job *j = w->data;
	bool zone = strcmp(j->format, "zone") == 0;
	uint64_t until = zdump_count(j->zd) + STEP_RECORDS;
	int rc = 1;

	if (atomic_load(&j->cancelled)) {
		job_end(j);		/* no one to tell: stop */
		return;
	}
	while (rc == 1 && zdump_count(j->zd) < until)
		rc = zdump_step(j->zd, zone ? zone_rr : rbl_rr,
		    zone ? (void *)j->f : (void *)&j->ro);
	if (rc == 1) {
		ev_timer_set(w, 0., 0.);
		ev_timer_start(loop, w);
		return;
	}
	if (rc == 0 && !zone)
		rc = rbl_flush(&j->ro);
	if (rc == 0 && ferror(j->f))
		rc = RBLMUX_EIO;
	j->rc = rc;
	j->n = zone ? (long)zdump_count(j->zd) : j->ro.lines;
	if (rc != 0 || job_thread(j, job_commit_run) != 0) {
		job_finish(j);		/* in the loop after all */
		job_end(j);
	}
	(void)revents;
}

/*
 * open_output - the export's temporary file, beside the target so that a
 * rename makes it the target (links to the target are followed first; a
 * link to nothing is refused, the link kept);
 * NULL with the reason in err. An existing target must be a regular
 * file: a FIFO, a device or a directory is not a file to write an
 * export to (stat() waits for no reader). The new file gets the old
 * one's mode, else 0644 less the umask (O_CREAT applies it).
 */
static FILE *
open_output(struct export_job *j, char *err, size_t errcap)
{
	struct stat st;
	char *real = NULL;
	uint32_t rnd;
	FILE *f;
	size_t n;
	int fd = -1, i;
	bool old;

	if ((old = stat(j->path, &st) == 0)) {
		if (S_ISDIR(st.st_mode) || !S_ISREG(st.st_mode)) {
			snprintf(err, errcap, "%.256s: %s", j->path,
			    S_ISDIR(st.st_mode) ? strerror(EISDIR) :
			    "not a regular file");
			return NULL;
		}
		if ((real = realpath(j->path, NULL)) != NULL) {
			free(j->path);
			j->path = real;
		}
	} else if (errno != ENOENT) {
		snprintf(err, errcap, "%.256s: %s", j->path, strerror(errno));
		return NULL;
	} else if (lstat(j->path, &st) == 0) {
		/* renamed over, the link would be lost, its file not made */
		snprintf(err, errcap, "%.256s: a symbolic link to a file that "
		    "does not exist; nothing was replaced", j->path);
		return NULL;
	}
	n = strlen(j->path) + 16;
	if ((j->tmp = malloc(n)) == NULL) {
		snprintf(err, errcap, "%s", strerror(ENOMEM));
		return NULL;
	}
	for (i = 0; i < 16 && fd < 0; i++) {
		if (getentropy(&rnd, sizeof(rnd)) != 0)
			rnd = (uint32_t)rand();
		snprintf(j->tmp, n, "%s.tmp%08x", j->path, rnd);
		fd = open(j->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOCTTY | O_NOFOLLOW, 0644);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		snprintf(err, errcap, "%.256s: cannot create a file beside "
		    "it: %s; nothing was replaced", j->path, strerror(errno));
		free(j->tmp);
		j->tmp = NULL;
		return NULL;
	}
	if ((old && fchmod(fd, st.st_mode & 07777) != 0) ||
	    (f = fdopen(fd, "w")) == NULL) {
		snprintf(err, errcap, "%.256s: %s", j->tmp, strerror(errno));
		close(fd);
		return NULL;		/* job_free() removes it */
	}
	return f;
}

int
export_start(struct ev_loop *loop, struct view *v, const char *name,
    const char *format, const char *path, uint32_t serial,
    export_done_fn *done, void *arg, struct export_job **out, char *err,
    size_t errcap)
{
	const struct vlist *vl = list_of(v, name);
	const struct vzone *z = zone_of(v, name);
	struct export_job *j;
	uint32_t ttl = 0;
	int rc;

	if ((rc = check(v, name, format, err, errcap)) != 0)
		return rc;
	if (path[0] != '/') {
		snprintf(err, errcap, "the output file must be an absolute "
		    "path");
		return RBLMUX_EINVAL;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return RBLMUX_ENOMEM;
	view_ref(v);
	j->v = v;
	j->loop = loop;
	j->done = done;
	j->arg = arg;
	atomic_init(&j->cancelled, false);
	ev_async_init(&j->async, job_done_cb);
	ev_init(&j->step, job_step_cb);
	j->step.data = j;
	if ((j->next = jobs) != NULL)
		jobs->prev = j;
	jobs = j;
	j->name = strdup(name);
	j->format = strdup(format);
	j->path = strdup(path);
	if (j->name == NULL || j->format == NULL || j->path == NULL) {
		job_free(j);
		return RBLMUX_ENOMEM;
	}
	if ((j->f = open_output(j, err, errcap)) == NULL) {
		job_free(j);
		return RBLMUX_EINVAL;
	}
	setvbuf(j->f, NULL, _IOFBF, 1 << 16);

	if (vl != NULL && strcmp(format, "rbldnsd") == 0) {
		/* a list (a name both a list and a zone: the list) */
		j->vl = vl;
		if (vl->data != NULL)
			(void)list_walk(vl->data, first_ttl, &ttl);
		fprintf(j->f, "# list %s\n", name);
		if (ttl != 0)
			fprintf(j->f, "$TTL %u\n", ttl);
		/* its dynamic entries now, in the loop that owns them */
		if (dyn_any(vl->dyn)) {
			struct lines ln = { j->f, 0 };

			(void)dyn_walk(vl->dyn, time(NULL), count_line, &ln);
			j->lines = ln.n;
		}
		if (ferror(j->f))
			j->rc = RBLMUX_EIO;
		if (vl->data == NULL) {
			j->n = j->lines;
			job_finish(j);
			ev_async_start(loop, &j->async);
			ev_async_send(loop, &j->async);	/* answer from the loop */
			j->thread_none = true;
			*out = j;
			return 0;
		}
		if ((rc = job_thread(j, job_run)) != 0) {
			job_free(j);
			snprintf(err, errcap, "cannot start a thread: %s",
			    strerror(-rc));
			return rc;
		}
		*out = j;
		return 0;
	}
	if ((rc = zdump_new(v, z, serial, time(NULL), false, &j->zd)) != 0) {
		job_free(j);
		return rc;
	}
	j->ro.f = j->f;
	j->ro.ip6 = !(z->families & VFAM_IP4);
	j->ro.names = z->families == VFAM_NAME;
	if (strcmp(format, "zone") == 0)
		fprintf(j->f, "$ORIGIN %s.\n$TTL %u\n", z->name,
		    z->cz->soa_ttl);
	else {
		zdump_mark_blocks(j->zd);
		fprintf(j->f, "# zone %s, serial %u\n", z->name, serial);
	}
	ev_timer_set(&j->step, 0., 0.);
	ev_timer_start(loop, &j->step);
	*out = j;
	return 0;
}

void
export_cancel(struct export_job *j)
{
	if (j != NULL)
		atomic_store(&j->cancelled, true);
}

/* export_stop - one job ended now (see export_stop_all()) */
static void
export_stop(struct export_job *j)
{
	if (j->running) {
		/* being written or synced: its outcome stands */
		pthread_join(j->thread, NULL);
		j->running = false;
	} else if (!j->thread_none) {
		/* a zone part written: its file is removed by job_free() */
		j->ok = false;
		snprintf(j->text, sizeof(j->text), "%.256s: server stopping; "
		    "nothing was replaced\n", j->path);
	}
	job_end(j);
}

void
export_stop_all(void)
{
	while (jobs != NULL)
		export_stop(jobs);
}
