/*
 * test_list_view.c -- lists as views load them (view_build): sharing an
 * unchanged list, warnings that do not block a reload, errors that keep
 * the old data, passing failures read again at the next check, files
 * that are not regular or that change while they are read, max-memory.
 * Real files in a temporary directory, a real config through conf_load().
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "err.h"
#include "list.h"
#include "view.h"
#include "list_testlib.h"

static char	 dir[] = "/tmp/test_list_view.XXXXXX";
static char	 conf_file[300];

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(conf_file, sizeof(conf_file), "%s/rblmux.conf", dir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return remove_tree(dir);
}

/*
 * config - a config over dir with list a (ip4trie, a.trie) and b
 * (ip4set, the file given, with the extra lines given)
 */
static struct vconf *
config(const char *b_file, const char *b_extra)
{
	char text[1024];
	struct conf *c = NULL;
	struct vconf *vc;

	snprintf(text, sizeof(text),
	    "server:\n  directory: %s\n"
	    "local-list:\n  name: a\n  type: ip4trie\n  file: a.trie\n"
	    "local-list:\n  name: b\n  file: %s\n%s"
	    "zone:\n  name: bl.test\n  serve: a b\n", dir, b_file, b_extra);
	write_file(dir, "rblmux.conf", text);
	assert_int_equal(conf_load(conf_file, conf_fail, NULL, &c), 0);
	vc = vconf_new(c);
	assert_non_null(vc);
	return vc;
}

/* build - a view of vc next to old, problems collected */
static struct view *
build(struct vconf *vc, const struct view *old)
{
	struct view *v = NULL;

	reset_warns();
	if (view_build(vc, old, collect, NULL, &v) != 0) {
		dump_warns();
		fail_msg("view_build failed");
	}
	return v;
}

/* replace - write a list file beside and rename it into place */
static void
replace(const char *name, const char *text)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(rename(write_file(dir, "x.new", text), path), 0);
}

/* listed - does list i of v list the IPv4 address a? */
static int
listed(const struct view *v, size_t i, uint32_t a)
{
	return list_lookup_ip4(v->lists[i]->data, a, NULL, 0) > 0;
}

/* has_text - was a problem with text reported (any line, severity)? */
static int
has_text(enum list_severity sev, const char *text)
{
	int i;

	for (i = 0; i < nwarns && i < MAXWARNS; i++)
		if (warns[i].sev == sev && strstr(warns[i].msg, text))
			return 1;
	return 0;
}

/*
 * An unchanged list is shared with the next view, not parsed again;
 * warnings never keep a reload's data out; errors keep the old data
 * until the file changes once more.
 */
static void
test_share_warn_error(void **state)
{
	struct vconf *vc;
	struct view *v1, *v2, *v3;

	(void)state;
	replace("a.trie", "10.0.0.0/24\n10.0.0.0/24\n");
	replace("b.ip4set", "192.0.2.1\n");
	vc = config("b.ip4set", "");
	v1 = build(vc, NULL);
	assert_int_equal(nwarns, 1);
	assert_int_equal(v1->lists[0]->warnings, 1);
	assert_int_equal(v1->lists[0]->errors, 0);
	assert_int_equal(view_lists_changed(v1), 0);

	/* nothing changed: both shared, nothing read, nothing said */
	v2 = build(vc, v1);
	assert_ptr_equal(v2->lists[0], v1->lists[0]);
	assert_ptr_equal(v2->lists[1], v1->lists[1]);
	assert_int_equal(nwarns, 0);
	view_unref(v1);

	/* b changes: a is still shared, its warning not said again */
	replace("b.ip4set", "192.0.2.2\n");
	v3 = build(vc, v2);
	assert_ptr_equal(v3->lists[0], v2->lists[0]);
	assert_ptr_not_equal(v3->lists[1], v2->lists[1]);
	assert_int_equal(nwarns, 0);
	assert_true(listed(v3, 1, 0xc0000202));
	view_unref(v2);

	/* a repeated prefix is a warning: the new data is used */
	replace("a.trie", "10.0.0.0/24\n10.9.9.9\n10.0.0.0/24\n");
	v1 = build(vc, v3);
	assert_null(v1->lists[0]->kept);
	assert_true(listed(v1, 0, 0x0a090909));
	assert_int_equal(v1->lists[0]->warnings, 1);
	assert_int_equal(nerrors, 0);
	assert_true(has_sev(LIST_WARNING, 3, "duplicated entry"));
	assert_non_null(strstr(warns[0].file, "a.trie"));
	view_unref(v3);

	/* a line that cannot be read keeps the old data */
	replace("b.ip4set", "192.0.2.7\nnot an address\n");
	v2 = build(vc, v1);
	assert_non_null(v2->lists[1]->kept);
	assert_false(v2->lists[1]->retry);
	assert_int_equal(v2->lists[1]->kept_err, RBLMUX_EPARSE);
	assert_int_equal(v2->lists[1]->errors, 1);
	assert_false(listed(v2, 1, 0xc0000207));
	assert_true(listed(v2, 1, 0xc0000202));
	assert_true(has_sev(LIST_ERROR, 2, "invalid address"));
	assert_true(has_text(LIST_WARNING, "keeping the data loaded before"));
	/* and is not read again until it changes */
	assert_int_equal(view_lists_changed(v2), 0);
	v3 = build(vc, v2);
	assert_ptr_equal(v3->lists[1], v2->lists[1]);
	assert_int_equal(nwarns, 0);
	view_unref(v1);
	view_unref(v2);

	/* fixed: the new data answers */
	replace("b.ip4set", "192.0.2.7\n");
	assert_int_equal(view_lists_changed(v3), 1);
	v1 = build(vc, v3);
	assert_null(v1->lists[1]->kept);
	assert_true(listed(v1, 1, 0xc0000207));
	view_unref(v3);
	view_unref(v1);
	vconf_unref(vc);
}

/*
 * Out of descriptors while reading a changed file: the old data stays,
 * the reason is said, and the list is read again at the next check.
 */
static void
test_transient_retried(void **state)
{
	struct rlimit rl;
	struct vconf *vc;
	struct view *v1, *v2, *v3;
	int fd;

	(void)state;
	replace("a.trie", "10.0.0.0/24\n");
	replace("b.ip4set", "192.0.2.1\n");
	vc = config("b.ip4set", "");
	v1 = build(vc, NULL);
	replace("b.ip4set", "192.0.2.3\n");

	no_more_files(&rl);
	reset_warns();
	fd = view_build(vc, v1, collect, NULL, &v2);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_int_equal(fd, 0);
	assert_non_null(v2->lists[1]->kept);
	assert_true(v2->lists[1]->retry);
	assert_int_equal(v2->lists[1]->kept_err, -EMFILE);
	assert_true(listed(v2, 1, 0xc0000201));
	assert_true(has_text(LIST_ERROR, strerror(EMFILE)));
	assert_true(has_text(LIST_WARNING, "read again at the next check"));
	/* the next check reads it again, although the file did not change */
	assert_int_equal(view_lists_changed(v2), 1);
	v3 = build(vc, v2);
	assert_null(v3->lists[1]->kept);
	assert_false(v3->lists[1]->retry);
	assert_true(listed(v3, 1, 0xc0000203));
	assert_int_equal(view_lists_changed(v3), 0);
	view_unref(v1);
	view_unref(v2);
	view_unref(v3);
	vconf_unref(vc);
}

/*
 * A list file that cannot be opened: one error, from the loader, naming
 * the file and the reason; the build fails with that reason as its code.
 */
static void
refused_once(struct vconf *vc, const char *path, int code, const char *why)
{
	struct view *v = NULL;

	reset_warns();
	alarm(30);
	assert_int_equal(view_build(vc, NULL, collect, NULL, &v), code);
	alarm(0);
	assert_null(v);
	assert_int_equal(nwarns, 1);
	assert_int_equal(nerrors, 1);
	assert_true(has_sev(LIST_ERROR, 0, why));
	assert_string_equal(warns[0].file, path);
}

/*
 * A FIFO as a list file: refused at once, at start-up and on reload;
 * and what a missing file or a directory says at start-up.
 */
static void
test_fifo(void **state)
{
	char fifo[300], path[300];
	struct vconf *vc;
	struct view *v1, *v2 = NULL;

	(void)state;
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(path, sizeof(path), "%s/b.ip4set", dir);
	replace("a.trie", "10.0.0.0/24\n");
	unlink(path);
	vc = config("b.ip4set", "");
	refused_once(vc, path, -ENOENT, "cannot open: No such file");
	assert_int_equal(mkdir(path, 0700), 0);
	refused_once(vc, path, -EISDIR, "cannot open: Is a directory");
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(mkfifo(path, 0600), 0);
	refused_once(vc, path, RBLMUX_ENOTREG, "cannot open: not a regular "
	    "file");

	replace("b.ip4set", "192.0.2.1\n");
	v1 = build(vc, NULL);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(rename(fifo, path), 0);
	assert_int_equal(view_lists_changed(v1), 1);
	alarm(30);
	v2 = build(vc, v1);
	alarm(0);
	assert_non_null(v2->lists[1]->kept);
	assert_false(v2->lists[1]->retry);
	assert_true(listed(v2, 1, 0xc0000201));
	assert_true(has_sev(LIST_ERROR, 0, "not a regular file"));
	assert_string_equal(warns[0].file, path);
	/* the note on what was kept says why, as a warning */
	assert_true(has_text(LIST_WARNING, "list b: not a regular file, "
	    "keeping the data loaded before"));
	assert_int_equal(nerrors, 1);
	assert_int_equal(view_lists_changed(v2), 0);
	view_unref(v1);
	view_unref(v2);
	vconf_unref(vc);
	unlink(path);
}

/*
 * A thread that appends to a list file while the loader reads it: it
 * finds the loader's descriptor in /proc/self/fd, waits for the read to
 * start, appends a line before the loader reaches the end, and then
 * waits for the descriptor to close. It does so for the first `times`
 * reads it sees.
 */
struct rewriter {
	char		 path[300];
	int		 times;
	atomic_int	 reads;		/* reads seen */
	atomic_int	 midread;	/* appends made before the end */
	atomic_bool	 stop;
};

/* reader_fd - the descriptor open on path, or -1 */
static int
reader_fd(const char *path)
{
	char link[64], target[300];
	struct dirent *e;
	DIR *d = opendir("/proc/self/fd");
	ssize_t n;
	int fd = -1;

	if (d == NULL)
		return -1;
	while (fd < 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%d",
		    atoi(e->d_name));
		n = readlink(link, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			if (strcmp(target, path) == 0)
				fd = atoi(e->d_name);
		}
	}
	closedir(d);
	return fd;
}

/* fd_pos - the file offset of descriptor fd, -1 if gone */
static long long
fd_pos(int fd)
{
	char p[64], line[128];
	long long pos = -1;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/self/fdinfo/%d", fd);
	if ((f = fopen(p, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "pos: %lld", &pos) == 1)
			break;
	fclose(f);
	return pos;
}

static void *
rewrite_thread(void *arg)
{
	struct rewriter *w = arg;
	struct stat st;
	long long pos;
	int fd, out;

	while (!w->stop) {
		if ((fd = reader_fd(w->path)) < 0 ||
		    (pos = fd_pos(fd)) <= 0) {
			usleep(20);
			continue;
		}
		w->reads++;
		if (w->reads <= w->times && stat(w->path, &st) == 0 &&
		    (out = open(w->path, O_WRONLY | O_APPEND)) >= 0) {
			if (write(out, "10.9.9.9\n", 9) == 9 &&
			    fd_pos(fd) < (long long)st.st_size &&
			    reader_fd(w->path) == fd)
				w->midread++;
			close(out);
		}
		while (!w->stop && reader_fd(w->path) == fd)
			usleep(20);
	}
	return NULL;
}

/* big_b - a b.ip4set that takes a while to read */
static void
big_b(void)
{
	char path[300], to[300];
	FILE *f;
	unsigned i;

	snprintf(path, sizeof(path), "%s/b.new", dir);
	snprintf(to, sizeof(to), "%s/b.ip4set", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	for (i = 0; i < 400000; i++)
		fprintf(f, "10.%u.%u.%u\n", i >> 16, (i >> 8) & 255, i & 255);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(path, to), 0);
}

/* changing_build - view_build while a rewriter appends to b.ip4set */
static int
changing_build(struct vconf *vc, const struct view *old, int times,
    struct rewriter *w, struct view **out)
{
	pthread_t tid;
	int rc;

	memset(w, 0, sizeof(*w));
	snprintf(w->path, sizeof(w->path), "%s/b.ip4set", dir);
	w->times = times;
	assert_int_equal(pthread_create(&tid, NULL, rewrite_thread, w), 0);
	reset_warns();
	rc = view_build(vc, old, collect, NULL, out);
	w->stop = true;
	pthread_join(tid, NULL);
	return rc;
}

/*
 * A file rewritten while it is read: without an earlier version it is
 * read again (the problems of the spoilt read are not reported); when
 * it never settles, the load fails saying so; with an earlier version
 * the old data stays and the list is read again at the next check.
 */
static void
test_changed_while_read(void **state)
{
	struct rewriter w;
	struct vconf *vc;
	struct view *v1 = NULL, *v2 = NULL;
	int tries;

	(void)state;
	replace("a.trie", "10.0.0.0/24\n");
	vc = config("b.ip4set", "");

	/*
	 * Once: read again at start-up, used, nothing said. The append
	 * must land before the loader reaches the end; a scheduler that
	 * kept the rewriter away that long makes the round void.
	 */
	for (tries = 0; tries < 20; tries++) {
		big_b();
		assert_int_equal(changing_build(vc, NULL, 1, &w, &v1), 0);
		if (w.midread == 1)
			break;
		view_unref(v1);
		v1 = NULL;
	}
	if (v1 == NULL)
		fail_msg("the append never landed while the file was read");
	assert_int_equal(w.reads, 2);
	assert_int_equal(nwarns, 0);
	assert_null(v1->lists[1]->kept);
	assert_true(listed(v1, 1, 0x0a090909));

	/*
	 * Always: procfs files say they are empty and are not; given up
	 * after VIEW_CHANGED_TRIES reads, with the problems of the last
	 * read only
	 */
	vconf_unref(vc);
	vc = config("/proc/version", "");
	reset_warns();
	assert_int_equal(view_build(vc, NULL, collect, NULL, &v2),
	    RBLMUX_ECHANGED);
	assert_null(v2);
	assert_true(has_sev(LIST_ERROR, 0, "changed while it was read"));
	assert_false(has_text(LIST_ERROR, "list b: "));	/* said once */
	assert_int_equal(warns[0].line, 1);	/* "Linux version ..." */
	for (tries = 1; tries < nwarns && tries < MAXWARNS; tries++)
		assert_true(warns[tries].line != 1 ||
		    strcmp(warns[tries].file, warns[0].file) != 0);

	/* with an earlier version: kept, read again at the next check */
	v2 = build(vc, v1);
	assert_non_null(v2->lists[1]->kept);
	assert_true(v2->lists[1]->retry);
	assert_int_equal(v2->lists[1]->kept_err, RBLMUX_ECHANGED);
	assert_true(listed(v2, 1, 0x0a090909));
	assert_true(has_text(LIST_WARNING, "read again at the next check"));
	assert_int_equal(view_lists_changed(v2), 1);
	view_unref(v1);
	view_unref(v2);
	vconf_unref(vc);
}

/* max-memory: a list beyond it is rejected with file:line. */
static void
test_max_memory(void **state)
{
	struct vconf *vc, *vc2;
	struct view *v1, *v2 = NULL;

	(void)state;
	replace("a.trie", "10.0.0.0/24\n");
	big_b();		/* 400,000 addresses: 3.2 MB or more */
	vc = config("b.ip4set", "  max-memory: 1m\n");
	reset_warns();
	assert_int_equal(view_build(vc, NULL, collect, NULL, &v2), -EFBIG);
	assert_null(v2);
	assert_true(has_text(LIST_ERROR, "max-memory of 1048576 bytes"));
	assert_non_null(strstr(warns[0].file, "b.ip4set"));
	assert_in_range(warns[0].line, 100000, 140000);

	/* on reload the old data stays */
	vc2 = config("b.ip4set", "  max-memory: 8m\n");
	v1 = build(vc2, NULL);
	assert_int_equal(v1->lists[1]->max_memory, 8 << 20);
	assert_true(listed(v1, 1, 0x0a010000));
	v2 = build(vc, v1);
	assert_non_null(v2->lists[1]->kept);
	assert_false(v2->lists[1]->retry);
	assert_int_equal(v2->lists[1]->kept_err, -EFBIG);
	assert_true(listed(v2, 1, 0x0a010000));
	view_unref(v1);
	view_unref(v2);
	vconf_unref(vc);
	vconf_unref(vc2);

	/* the default applies when none is given */
	vc = config("b.ip4set", "");
	v1 = build(vc, NULL);
	assert_int_equal(v1->lists[1]->max_memory, LIST_MAX_MEMORY_DEFAULT);
	view_unref(v1);
	vconf_unref(vc);
	assert_int_equal(view_build(NULL, NULL, collect, NULL, &v1),
	    RBLMUX_ENOMEM);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_share_warn_error),
		cmocka_unit_test(test_transient_retried),
		cmocka_unit_test(test_fifo),
		cmocka_unit_test(test_changed_while_read),
		cmocka_unit_test(test_max_memory),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
