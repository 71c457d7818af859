/*
 * dyn_store.c -- dynamic list entries: parsing, the LMDB store dyn.mdb,
 * add, delete, expiry and the change hooks (see dyn.h for the contract;
 * the index is dyn.c).
 *
 * Record (the LMDB value of key "LIST ENTRY"), little endian:
 *
 *    0 version u8 (1)   1 flags u8 (0)   2 reason length u16
 *    4 value u32        8 added i64      16 refreshed i64
 *   24 expires i64 (0: never)            32 reason bytes
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf.h"
#include "dyn.h"
#include "dyn_int.h"
#include "err.h"
#include "log.h"

#define REC_FIXED	32
#define REC_VERSION	1
#define KEY_MAX		(64 + 1 + sizeof(((struct dyn_key *)0)->text))

/* ---- parsing -------------------------------------------------------- */

/* parse_len - "24" into *len (at most max); false if it is not one */
static bool
parse_len(const char *s, unsigned max, unsigned *len)
{
	unsigned v = 0;
	size_t n;

	for (n = 0; s[n] >= '0' && s[n] <= '9'; n++)
		v = v * 10 + (unsigned)(s[n] - '0');
	if (n == 0 || n > 3 || s[n] != '\0' || (n > 1 && s[0] == '0') ||
	    v > max)
		return false;
	*len = v;
	return true;
}

/* parse_addr - an address or prefix of family af into k */
static int
parse_addr(int af, const char *text, struct dyn_key *k, char *err,
    size_t errsz)
{
	const char *fam = af == AF_INET ? "IPv4" : "IPv6";
	unsigned max = af == AF_INET ? 32 : 128, len = max, i;
	char buf[INET6_ADDRSTRLEN + 1], canon[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	size_t alen = slash != NULL ? (size_t)(slash - text) : strlen(text);
	uint8_t masked[16];

	if (alen == 0 || alen >= sizeof(buf)) {
		snprintf(err, errsz, "not an %s address or prefix: %.64s", fam,
		    text);
		return RBLMUX_EPARSE;
	}
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	memset(k->key, 0, sizeof(k->key));
	if (inet_pton(af, buf, k->key) != 1) {
		snprintf(err, errsz, "not an %s address or prefix: %.64s", fam,
		    text);
		return RBLMUX_EPARSE;
	}
	if (slash != NULL && !parse_len(slash + 1, max, &len)) {
		snprintf(err, errsz, "bad prefix length in %.64s (0..%u)",
		    text, max);
		return RBLMUX_EPARSE;
	}
	if (len == 0) {
		snprintf(err, errsz, "%.64s: a /0 would list every address",
		    text);
		return RBLMUX_EPARSE;
	}
	memcpy(masked, k->key, 16);
	for (i = len; i < max; i++)
		masked[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
	inet_ntop(af, masked, canon, sizeof(canon));
	if (memcmp(masked, k->key, 16) != 0) {
		/* as list files and the config: "192.0.2.1/24" is a typo */
		snprintf(err, errsz, "%.64s: bits past /%u are set (the "
		    "prefix is %s/%u)", text, len, canon, len);
		return RBLMUX_EPARSE;
	}
	k->family = af;
	k->plen = len;
	k->wild = false;
	k->name[0] = '\0';
	if (len == max)
		snprintf(k->text, sizeof(k->text), "%s", canon);
	else
		snprintf(k->text, sizeof(k->text), "%s/%u", canon, len);
	return 0;
}

/* parse_name - "name" or "*.name" for a dnset list */
static int
parse_name(const char *text, struct dyn_key *k, char *err, size_t errsz)
{
	bool wild = strncmp(text, "*.", 2) == 0;
	char *name;
	int rc;

	rc = conf_parse_dname(wild ? text + 2 : text, &name);
	if (rc == RBLMUX_ENOMEM) {
		snprintf(err, errsz, "out of memory");
		return rc;
	}
	if (rc != 0 || name[0] == '\0' || strlen(name) >= sizeof(k->name)) {
		if (rc == 0)
			free(name);
		snprintf(err, errsz, "not a domain name or *.name: %.64s%s",
		    text, strlen(text) > 64 ? "..." : "");
		return RBLMUX_EPARSE;
	}
	memset(k->key, 0, sizeof(k->key));
	k->family = AF_UNSPEC;
	k->plen = 0;
	k->wild = wild;
	snprintf(k->name, sizeof(k->name), "%s", name);
	snprintf(k->text, sizeof(k->text), "%s%s", wild ? "*." : "", name);
	free(name);
	return 0;
}

enum list_type
dyn_type_of(const char *text)
{
	uint8_t a[16];
	char buf[INET6_ADDRSTRLEN + 1];
	size_t n = strcspn(text, "/");

	if (n >= sizeof(buf))
		return LIST_DNSET;
	memcpy(buf, text, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, a) == 1)
		return LIST_IP4TRIE;
	if (inet_pton(AF_INET6, buf, a) == 1)
		return LIST_IP6TRIE;
	return LIST_DNSET;
}

int
dyn_parse(enum list_type t, const char *text, struct dyn_key *k, char *err,
    size_t errsz)
{
	switch (t) {
	case LIST_IP4SET:
	case LIST_IP4TRIE:
		return parse_addr(AF_INET, text, k, err, errsz);
	case LIST_IP6TRIE:
		return parse_addr(AF_INET6, text, k, err, errsz);
	case LIST_DNSET:
		return parse_name(text, k, err, errsz);
	}
	snprintf(err, errsz, "unknown list type");
	return RBLMUX_EPARSE;
}

/* ---- records -------------------------------------------------------- */

static void
put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* rec_key - "LIST ENTRY" into buf; its length */
static size_t
rec_key(const char *list, const char *text, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s %s", list, text);

	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

/* rec_val - the record of an entry into buf (REC_FIXED + 255); length */
static size_t
rec_val(const struct dyn_info *di, uint8_t *buf)
{
	size_t rl = di->reason != NULL ? strlen(di->reason) : 0;

	buf[0] = REC_VERSION;
	buf[1] = 0;
	buf[2] = (uint8_t)rl;
	buf[3] = (uint8_t)(rl >> 8);
	buf[4] = (uint8_t)di->value;
	buf[5] = (uint8_t)(di->value >> 8);
	buf[6] = (uint8_t)(di->value >> 16);
	buf[7] = (uint8_t)(di->value >> 24);
	put_u64(buf + 8, (uint64_t)di->added);
	put_u64(buf + 16, (uint64_t)di->refreshed);
	put_u64(buf + 24, (uint64_t)di->expires);
	memcpy(buf + REC_FIXED, di->reason != NULL ? di->reason : "", rl);
	return REC_FIXED + rl;
}

/* ---- store ---------------------------------------------------------- */

/* load_one - index one record; false when it does not parse */
static bool
load_one(struct dyn *d, const MDB_val *key, const MDB_val *val)
{
	char kbuf[KEY_MAX + 1], name[64], err[128], *sp, *reason = NULL;
	const uint8_t *v = val->mv_data;
	struct dyn_key k;
	struct dyn_list *dl;
	struct dyn_ent *e;
	size_t rl;
	uint32_t value;

	if (key->mv_size == 0 || key->mv_size > KEY_MAX ||
	    val->mv_size < REC_FIXED || v[0] != REC_VERSION)
		return false;
	memcpy(kbuf, key->mv_data, key->mv_size);
	kbuf[key->mv_size] = '\0';
	if ((sp = strchr(kbuf, ' ')) == NULL || (size_t)(sp - kbuf) >=
	    sizeof(name))
		return false;
	memcpy(name, kbuf, (size_t)(sp - kbuf));
	name[sp - kbuf] = '\0';
	rl = (size_t)v[2] | (size_t)v[3] << 8;
	if (!conf_name_valid(name) || val->mv_size != REC_FIXED + rl ||
	    rl > DYN_REASON_MAX + 1)
		return false;
	/* the entry's text says its family */
	if (dyn_parse(dyn_type_of(sp + 1), sp + 1, &k, err, sizeof(err)) != 0)
		return false;
	if (strcmp(k.text, sp + 1) != 0)
		return false;
	value = (uint32_t)v[4] | (uint32_t)v[5] << 8 | (uint32_t)v[6] << 16 |
	    (uint32_t)v[7] << 24;
	if ((dl = dyn_list_get(d, name)) == NULL)
		return false;
	if (rl > 0) {
		if ((reason = malloc(rl + 1)) == NULL)
			return false;
		memcpy(reason, v + REC_FIXED, rl);
		reason[rl] = '\0';
	}
	if ((e = dyn_ent_new(dl, &k)) == NULL || dyn_tab_reserve(dl) != 0 ||
	    dyn_anc_reserve(dl, e) != 0 || dyn_heap_reserve(d) != 0) {
		free(reason);
		dyn_ent_free(e);
		return false;
	}
	dyn_ent_set(e, value, reason, (time_t)get_u64(v + 8),
	    (time_t)get_u64(v + 16), (time_t)get_u64(v + 24));
	if (dyn_tab_get(dl, &e->le) != NULL) {
		dyn_ent_free(e);
		return false;
	}
	dyn_tab_insert(dl, e);
	dyn_heap_put(d, e);
	return true;
}

/*
 * load_all - open the main database and index every record of it (one
 * read transaction, committed so the database handle stays open)
 */
static int
load_all(struct dyn *d, size_t *bad)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val key, val;
	int rc;

	if ((rc = mdb_txn_begin(d->env, NULL, MDB_RDONLY, &txn)) != 0)
		return rc;
	if ((rc = mdb_dbi_open(txn, NULL, 0, &d->dbi)) != 0 ||
	    (rc = mdb_cursor_open(txn, d->dbi, &cur)) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	while ((rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) == 0)
		if (!load_one(d, &key, &val))
			(*bad)++;
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_txn_commit(txn);
}

/* env_open - open d->path, synced; an LMDB code or -errno */
static int
env_open(struct dyn *d)
{
	int rc, dead;

	if ((rc = mdb_env_create(&d->env)) != 0) {
		d->env = NULL;
		return rc;
	}
	rc = mdb_env_set_mapsize(d->env, DYN_MAP_SIZE);
	if (rc == 0)
		rc = mdb_env_open(d->env, d->path, MDB_NOSUBDIR | MDB_NOTLS,
		    0600);
	if (rc == 0)
		rc = mdb_reader_check(d->env, &dead);
	if (rc != 0) {
		mdb_env_close(d->env);
		d->env = NULL;
	}
	return rc;
}

/* read_db - every record of database dbi, read and dropped */
static int
read_db(MDB_txn *txn, MDB_dbi dbi)
{
	MDB_cursor *cur;
	MDB_val key, val;
	int rc;

	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
		return rc;
	while ((rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) == 0)
		;
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

#define PROBE_READ	0	/* the child read every page */
#define PROBE_REFUSED	3	/* LMDB said no: the parent will say why */

/*
 * damaged - is d->path a file that reading crashes? LMDB trusts its
 * pages: flipped bits in one can crash the reader (a NULL write deep in
 * mdb_cursor_get()), and the server would crash at every start. A
 * child process reads every page of the records and of the free list
 * first; one that does not come back with PROBE_READ or PROBE_REFUSED
 * (a signal, or a sanitizer's exit status) found the file damaged.
 * A child that cannot be started tells nothing: false.
 */
static bool
damaged(struct dyn *d)
{
	struct stat st;
	MDB_txn *txn;
	MDB_dbi dbi;
	pid_t pid;
	int status, fd, rc;

	if (stat(d->path, &st) != 0 || !S_ISREG(st.st_mode))
		return false;			/* nothing to read yet */
	if ((pid = fork()) < 0)
		return false;
	if (pid == 0) {
		/* a crash report here is about the file, not the server */
		if ((fd = open("/dev/null", O_WRONLY)) >= 0)
			dup2(fd, STDERR_FILENO);
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		rc = env_open(d);
		if (rc == 0)
			rc = mdb_txn_begin(d->env, NULL, MDB_RDONLY, &txn);
		if (rc == 0) {
			if ((rc = mdb_dbi_open(txn, NULL, 0, &dbi)) == 0 &&
			    (rc = read_db(txn, dbi)) == 0)
				rc = read_db(txn, 0);	/* the free list */
			mdb_txn_abort(txn);
		}
		_exit(rc == 0 ? PROBE_READ : PROBE_REFUSED);
	}
	while ((rc = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	return rc == pid && !(WIFEXITED(status) &&
	    (WEXITSTATUS(status) == PROBE_READ ||
	    WEXITSTATUS(status) == PROBE_REFUSED));
}

int
dyn_open(const char *dir, struct dyn **out, size_t *bad)
{
	struct dyn *d;
	size_t nbad = 0, plen = strlen(dir) + sizeof("/" DYN_FILE);
	int rc;

	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->path = malloc(plen)) == NULL) {
		free(d);
		return RBLMUX_ENOMEM;
	}
	snprintf(d->path, plen, "%s%s" DYN_FILE, dir,
	    dir[0] != '\0' && dir[strlen(dir) - 1] == '/' ? "" : "/");
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(d->err, sizeof(d->err), "state-dir %s: %s", dir,
		    strerror(errno));
	} else if (damaged(d)) {
		snprintf(d->err, sizeof(d->err), "%s: damaged (reading it "
		    "crashed a reader process); left as it is: restore it "
		    "or move it away", d->path);
	} else if ((rc = env_open(d)) != 0) {
		snprintf(d->err, sizeof(d->err), "%s: %s", d->path,
		    mdb_strerror(rc));
	} else if ((rc = load_all(d, &nbad)) != 0) {
		snprintf(d->err, sizeof(d->err), "%s: reading: %s", d->path,
		    mdb_strerror(rc));
		mdb_env_close(d->env);
		d->env = NULL;
	}
	if (bad != NULL)
		*bad = nbad;
	*out = d;
	return 0;
}

const char *
dyn_error(const struct dyn *d)
{
	if (d == NULL)
		return "no store of dynamic entries";
	return d->env == NULL ? d->err : NULL;
}

void
dyn_close(struct dyn *d)
{
	struct dyn_list *dl, *next;

	if (d == NULL)
		return;
	if (d->loop != NULL)
		ev_timer_stop(d->loop, &d->timer);
	for (dl = d->lists; dl != NULL; dl = next) {
		next = dl->next;
		dyn_list_free(dl);
	}
	if (d->env != NULL)
		mdb_env_close(d->env);
	free(d->heap);
	free(d->path);
	free(d);
}

int
dyn_on_change(struct dyn *d, dyn_change_fn *fn, void *arg)
{
	if (d == NULL || d->nhooks == DYN_HOOKS_MAX)
		return RBLMUX_ENOMEM;
	d->hooks[d->nhooks].fn = fn;
	d->hooks[d->nhooks].arg = arg;
	d->nhooks++;
	return 0;
}

static void
notify(struct dyn *d, const struct dyn_ent *e, enum dyn_change what)
{
	size_t i;

	for (i = 0; i < d->nhooks; i++)
		d->hooks[i].fn(d->hooks[i].arg, e->dl->name, &e->le, what);
}

/* lmdb_write - one put (val != NULL) or del per key, one synced commit */
static int
lmdb_write(struct dyn *d, MDB_val *keys, MDB_val *vals, size_t n,
    bool missing_ok)
{
	MDB_txn *txn;
	size_t i;
	int rc;

	if ((rc = mdb_txn_begin(d->env, NULL, 0, &txn)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		rc = vals != NULL ? mdb_put(txn, d->dbi, &keys[i], &vals[i],
		    0) :
		    mdb_del(txn, d->dbi, &keys[i], NULL);
		if (rc == MDB_NOTFOUND && missing_ok)
			rc = 0;
		if (rc != 0) {
			mdb_txn_abort(txn);
			return rc;
		}
	}
	return mdb_txn_commit(txn);
}

/* check_reason - printable, and short enough once "$" is expanded */
static bool
check_reason(const char *reason, const char *subject, char *err,
    size_t errsz)
{
	char buf[DYN_REASON_MAX + 2];
	const unsigned char *p;
	size_t n;

	for (p = (const unsigned char *)reason; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f) {
			snprintf(err, errsz, "the reason holds a control "
			    "character (byte 0x%02x)", *p);
			return false;
		}
	if (strlen(reason) > DYN_REASON_MAX ||
	    (n = list_txt_expand(reason, subject, buf, sizeof(buf))) >
	    DYN_REASON_MAX) {
		snprintf(err, errsz, "the reason is too long: at most %d "
		    "bytes once \"$\" is replaced by the entry", DYN_REASON_MAX);
		return false;
	}
	return true;
}

/* check_value - an A value a DNSBL may answer */
static bool
check_value(uint32_t a, char *err, size_t errsz)
{
	if ((a >> 24) != 127 || a == 0x7f000000U || a == 0x7f000001U) {
		snprintf(err, errsz, "the value must lie in 127.0.0.0/8, "
		    "other than 127.0.0.0 and 127.0.0.1");
		return false;
	}
	return true;
}

static bool
usable(const struct dyn *d, char *err, size_t errsz)
{
	if (d != NULL && d->env != NULL)
		return true;
	snprintf(err, errsz, "dynamic entries cannot be stored: %s",
	    dyn_error(d));
	return false;
}

/* find - the entry of list and key k, or NULL */
static struct dyn_ent *
find(const struct dyn *d, const char *list, const struct dyn_key *k)
{
	const struct dyn_list *dl = dyn_list_find(d, list);
	struct list_entry probe = { .family = k->family, .plen = k->plen,
	    .wild = k->wild };

	if (dl == NULL)
		return NULL;
	memcpy(probe.key, k->key, 16);
	if (k->family == AF_UNSPEC) {
		probe.name = k->name;
		probe.name_len = strlen(k->name);
	}
	return dyn_tab_get(dl, &probe);
}

const struct dyn_info *
dyn_find(const struct dyn *d, const char *list, const struct dyn_key *k)
{
	const struct dyn_ent *e = find(d, list, k);

	return e != NULL ? &e->info : NULL;
}

int
dyn_add(struct dyn *d, const struct dyn_req *r, time_t now, char *err,
    size_t errsz)
{
	char kbuf[KEY_MAX + 1], *reason = NULL;
	uint8_t vbuf[REC_FIXED + DYN_REASON_MAX + 1];
	struct dyn_info di;
	struct dyn_key k;
	struct dyn_list *dl;
	struct dyn_ent *e, *old;
	MDB_val key, val;
	int rc;

	if (!usable(d, err, errsz))
		return RBLMUX_EIO;
	if (!conf_name_valid(r->list)) {
		snprintf(err, errsz, "not a list name: %.64s", r->list);
		return RBLMUX_EINVAL;
	}
	if ((rc = dyn_parse(r->type, r->entry, &k, err, errsz)) != 0)
		return rc;
	if (r->ttl == 0) {
		snprintf(err, errsz, "a ttl of 0 would expire at once (for no "
		    "expiry: never)");
		return RBLMUX_EINVAL;
	}
	if (r->reason != NULL && !check_reason(r->reason, k.text, err, errsz))
		return RBLMUX_EINVAL;
	if (r->value != 0 && !check_value(r->value, err, errsz))
		return RBLMUX_EINVAL;
	if ((dl = dyn_list_get(d, r->list)) == NULL)
		goto nomem;
	old = find(d, dl->name, &k);
	/* everything that can fail in memory, before the write */
	if ((r->reason != NULL && (reason = strdup(r->reason)) == NULL) ||
	    dyn_heap_reserve(d) != 0)
		goto nomem;
	e = old;
	if (e == NULL && ((e = dyn_ent_new(dl, &k)) == NULL ||
	    dyn_tab_reserve(dl) != 0 || dyn_anc_reserve(dl, e) != 0)) {
		dyn_ent_free(e);
		goto nomem;
	}
	di.list = dl->name;
	di.text = k.text;
	di.value = r->value != 0 ? r->value : old != NULL ? old->info.value :
	    DYN_VALUE_DEFAULT;
	di.reason = r->reason != NULL ? reason : old != NULL ?
	    old->reason : NULL;
	di.added = old != NULL ? old->info.added : now;
	di.refreshed = now;
	di.expires = r->ttl == DYN_NEVER ? 0 : now + (time_t)r->ttl;
	key.mv_data = kbuf;
	key.mv_size = rec_key(dl->name, k.text, kbuf, sizeof(kbuf));
	val.mv_data = vbuf;
	val.mv_size = rec_val(&di, vbuf);
	if ((rc = lmdb_write(d, &key, &val, 1, false)) != 0) {
		snprintf(err, errsz, "%s: writing: %s", d->path,
		    mdb_strerror(rc));
		free(reason);
		if (e != old)
			dyn_ent_free(e);
		return RBLMUX_EIO;
	}
	if (old != NULL && r->reason == NULL) {
		reason = old->reason;	/* kept: dyn_ent_set() must not free it */
		old->reason = NULL;
	}
	dyn_ent_set(e, di.value, reason, di.added, di.refreshed, di.expires);
	if (e != old)
		dyn_tab_insert(dl, e);
	dyn_heap_put(d, e);
	notify(d, e, old != NULL ? DYN_REFRESHED : DYN_ADDED);
	return old != NULL ? 2 : 1;
nomem:
	free(reason);
	snprintf(err, errsz, "out of memory");
	return RBLMUX_ENOMEM;
}

int
dyn_del(struct dyn *d, const char *list, enum list_type type,
    const char *entry, char *err, size_t errsz)
{
	char kbuf[KEY_MAX + 1];
	struct dyn_key k;
	struct dyn_ent *e;
	MDB_val key;
	int rc;

	if ((rc = dyn_parse(type, entry, &k, err, errsz)) != 0)
		return rc;
	if ((e = find(d, list, &k)) == NULL) {
		snprintf(err, errsz, "%s has no dynamic entry %s", list,
		    k.text);
		return RBLMUX_ENOENT;
	}
	if (!usable(d, err, errsz))
		return RBLMUX_EIO;
	key.mv_data = kbuf;
	key.mv_size = rec_key(list, k.text, kbuf, sizeof(kbuf));
	if ((rc = lmdb_write(d, &key, NULL, 1, true)) != 0) {
		snprintf(err, errsz, "%s: writing: %s", d->path,
		    mdb_strerror(rc));
		return RBLMUX_EIO;
	}
	dyn_tab_remove(e->dl, e);
	dyn_heap_remove(d, e);
	notify(d, e, DYN_DELETED);
	dyn_ent_free(e);
	return 0;
}

int
dyn_expire(struct dyn *d, time_t now, size_t max)
{
	struct dyn_ent *batch[DYN_EXPIRE_BATCH];
	char kbuf[DYN_EXPIRE_BATCH][KEY_MAX + 1];
	MDB_val keys[DYN_EXPIRE_BATCH];
	size_t n = 0, i;
	int rc;

	if (d == NULL || d->env == NULL)
		return 0;
	if (max > DYN_EXPIRE_BATCH)
		max = DYN_EXPIRE_BATCH;
	/* the earliest max, taken off the heap and put back on failure */
	while (n < max && d->nheap > 0 && d->heap[0]->info.expires <= now) {
		batch[n] = d->heap[0];
		dyn_heap_remove(d, batch[n]);
		keys[n].mv_data = kbuf[n];
		keys[n].mv_size = rec_key(batch[n]->dl->name,
		    batch[n]->text, kbuf[n], sizeof(kbuf[n]));
		n++;
	}
	if (n == 0)
		return 0;
	if ((rc = lmdb_write(d, keys, NULL, n, true)) != 0) {
		for (i = 0; i < n; i++)
			dyn_heap_put(d, batch[i]);	/* room: they were there */
		log_warnx("%s: removing %zu expired entries: %s", d->path, n,
		    mdb_strerror(rc));
		return RBLMUX_EIO;
	}
	for (i = 0; i < n; i++) {
		dyn_tab_remove(batch[i]->dl, batch[i]);
		notify(d, batch[i], DYN_EXPIRED);
		dyn_ent_free(batch[i]);
	}
	return (int)n;
}

/* timer_cb - remove what expired, a few batches at a time */
static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct dyn *d = (struct dyn *)((char *)w - offsetof(struct dyn, timer));
	int i;

	for (i = 0; i < 16; i++)
		if (dyn_expire(d, (time_t)ev_now(loop), DYN_EXPIRE_BATCH) <
		    DYN_EXPIRE_BATCH)
			break;
	(void)revents;
}

void
dyn_start(struct dyn *d, struct ev_loop *loop)
{
	if (d == NULL)
		return;
	d->loop = loop;
	ev_timer_init(&d->timer, timer_cb, DYN_EXPIRE_SECS, DYN_EXPIRE_SECS);
	ev_timer_start(loop, &d->timer);
}
