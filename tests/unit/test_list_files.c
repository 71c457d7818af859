/*
 * test_list_files.c -- list files as the loader meets them: only regular
 * files, a file rewritten while it is read, TTL clamps, the max_memory
 * limit, repeats dropped while loading, and the memory a load takes at
 * its peak (measured in a child process).
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "list.h"
#include "list_testlib.h"

static char	dir[] = "/tmp/test_list_files.XXXXXX";

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	return remove_tree(dir);
}

/* opts - load options for the files given, problems collected */
static struct list_opts
opts(enum list_type type, const char *const *files, size_t n)
{
	struct list_opts o;

	memset(&o, 0, sizeof(o));
	o.name = "t";
	o.type = type;
	o.files = files;
	o.nfiles = n;
	o.warn = collect;
	reset_warns();
	return o;
}

/* a4 - the A of the first value listing addr, 0 if none */
static uint32_t
a4(const struct list *l, uint32_t addr)
{
	const struct list_value *v[1];

	return list_lookup_ip4(l, addr, v, 1) > 0 ? v[0]->lv_a : 0;
}

/* TTLs above 2^31-1 are clamped where they are read (RFC 2181 8). */
static void
test_ttl_clamp(void **state)
{
	const struct list_value *v[1];
	const struct list_soa *soa;
	struct list_opts o;
	struct list *l;

	(void)state;
	l = load_text(LIST_IP4SET, "$TTL 3000000000\n192.0.2.1\n"
	    "$SOA 4000000000 ns. h. 1 1h 1h 1w 3000000000\n"
	    "$NS 2147483648 ns.x\n");
	assert_int_equal(list_lookup_ip4(l, 0xc0000201, v, 1), 1);
	assert_int_equal(v[0]->lv_ttl, LIST_TTL_MAX);
	soa = list_soa(l);
	assert_non_null(soa);
	assert_int_equal(soa->ls_ttl, LIST_TTL_MAX);
	assert_int_equal(soa->ls_minttl, LIST_TTL_MAX);
	assert_int_equal(list_ns(l)->ln_ttl, LIST_TTL_MAX);
	/* used as well as they can be: warnings, at their lines */
	assert_int_equal(nerrors, 0);
	assert_true(has_sev(LIST_WARNING, 1, "$TTL 3000000000 is more than "
	    "2147483647"));
	assert_true(has_sev(LIST_WARNING, 3, "$SOA TTL"));
	assert_true(has_sev(LIST_WARNING, 3, "$SOA minimum"));
	assert_true(has_sev(LIST_WARNING, 4, "$NS TTL"));
	list_free(l);

	/* the largest TTL allowed is taken as it is */
	l = load_text(LIST_IP4SET, "$TTL 2147483647\n192.0.2.1\n");
	assert_int_equal(nwarns, 0);
	assert_int_equal(list_lookup_ip4(l, 0xc0000201, v, 1), 1);
	assert_int_equal(v[0]->lv_ttl, LIST_TTL_MAX);
	list_free(l);

	/* and so is the default TTL of the options */
	o = opts(LIST_IP4SET, NULL, 0);
	o.default_ttl = UINT32_MAX;
	assert_int_equal(list_load_mem(&o, "192.0.2.1\n", 10, &l), 0);
	assert_int_equal(list_lookup_ip4(l, 0xc0000201, v, 1), 1);
	assert_int_equal(v[0]->lv_ttl, LIST_TTL_MAX);
	list_free(l);
}

/*
 * A FIFO is refused at once, naming its path; opening it for reading
 * must not wait for a writer (the alarm ends the test if it does).
 */
static void
test_not_regular(void **state)
{
	const char *files[1];
	char fifo[300];
	struct list_opts o;
	struct list *l = NULL;

	(void)state;
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	files[0] = fifo;
	o = opts(LIST_IP4SET, files, 1);
	alarm(30);
	assert_int_equal(list_load(&o, &l), RBLMUX_ENOTREG);
	alarm(0);
	assert_null(l);
	assert_int_equal(nwarns, 1);
	assert_true(has_sev(LIST_ERROR, 0, "not a regular file"));
	assert_string_equal(warns[0].file, fifo);
	unlink(fifo);

	/* a device neither, nor a directory */
	files[0] = "/dev/zero";
	o = opts(LIST_IP4SET, files, 1);
	assert_int_equal(list_load(&o, &l), RBLMUX_ENOTREG);
	assert_true(has_sev(LIST_ERROR, 0, "not a regular file"));
	files[0] = dir;
	o = opts(LIST_IP4SET, files, 1);
	assert_int_equal(list_load(&o, &l), -EISDIR);
	assert_true(has_sev(LIST_ERROR, 0, "Is a directory"));
	assert_null(l);
}

static const char	*edit_path;	/* rewritten at the first problem */
static int		 edit_kind;	/* 0 append, 1 same size, new time */

/* edit_collect - collect, and rewrite the file being read, once */
static void
edit_collect(void *arg, enum list_severity sev, const char *file,
    unsigned line, const char *msg)
{
	struct timespec ts[2];
	int fd;

	collect(arg, sev, file, line, msg);
	if (edit_path == NULL)
		return;
	fd = open(edit_path, O_WRONLY | (edit_kind == 0 ? O_APPEND : 0));
	assert_true(fd >= 0);
	if (edit_kind == 0)
		assert_int_equal(write(fd, "192.0.2.9\n", 10), 10);
	else {
		assert_int_equal(pwrite(fd, "8", 1, 8), 1);
		assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts[0]), 0);
		ts[0].tv_sec += 100;
		ts[1] = ts[0];
		assert_int_equal(futimens(fd, ts), 0);
	}
	close(fd);
	edit_path = NULL;
}

/* A file rewritten in place while it is read is not used. */
static void
test_changed_while_read(void **state)
{
	char text[600];
	const char *files[1];
	struct list_file_id ids[1];
	struct list_opts o;
	struct list *l = NULL;
	struct stat st;
	int kind;

	(void)state;
	/* line 2 has a TXT over 255 bytes: a warning, and the edit */
	snprintf(text, sizeof(text), "192.0.2.1\n192.0.2.2 %0300d\n192.0.2.3\n", 0);
	for (kind = 0; kind < 2; kind++) {
		files[0] = write_file(dir, "changing", text);
		o = opts(LIST_IP4SET, files, 1);
		o.warn = edit_collect;
		edit_path = files[0];
		edit_kind = kind;
		assert_int_equal(list_load(&o, &l), RBLMUX_ECHANGED);
		assert_null(l);
		assert_null(edit_path);
		assert_true(has_sev(LIST_ERROR, 0, "changed while it was read"));
		assert_true(list_load_transient(RBLMUX_ECHANGED));

		/* left alone, the file loads */
		o = opts(LIST_IP4SET, files, 1);
		memset(ids, 0, sizeof(ids));
		o.ids = ids;
		assert_int_equal(list_load(&o, &l), 0);
		assert_int_equal(nerrors, 0);
		assert_int_equal(a4(l, 0xc0000203), 0x7f000002);
		/* the identity taken at open time */
		assert_int_equal(stat(files[0], &st), 0);
		assert_true(ids[0].ino == st.st_ino && ids[0].dev == st.st_dev);
		assert_true(ids[0].size == st.st_size);
		assert_true(ids[0].mtime.tv_sec == st.st_mtim.tv_sec &&
		    ids[0].mtime.tv_nsec == st.st_mtim.tv_nsec);
		list_free(l);
		l = NULL;
	}
	/* what a failure says about the files, or does not */
	assert_true(list_load_transient(RBLMUX_ENOMEM));
	assert_true(list_load_transient(-EMFILE));
	assert_true(list_load_transient(-ENFILE));
	assert_false(list_load_transient(RBLMUX_EIO));
	assert_false(list_load_transient(-EFBIG));
	assert_false(list_load_transient(0));
}

/* Too many open files: a passing failure, told by its errno. */
static void
test_open_emfile(void **state)
{
	const char *files[1];
	struct list_opts o;
	struct list *l = NULL;
	struct rlimit rl;
	int fd;

	(void)state;
	files[0] = write_file(dir, "some", "192.0.2.1\n");
	o = opts(LIST_IP4SET, files, 1);
	no_more_files(&rl);
	fd = list_load(&o, &l);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_int_equal(fd, -EMFILE);
	assert_null(l);
	assert_true(has_sev(LIST_ERROR, 0, strerror(EMFILE)));
}

/* gen - n lines from fmt with the line index, into dir/name */
static const char *
gen(const char *name, size_t n, const char *fmt, unsigned mod)
{
	static char path[300];
	FILE *f;
	size_t i;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	for (i = 0; i < n; i++) {
		unsigned k = (unsigned)(i % mod);

		fprintf(f, fmt, (k >> 16) & 255, (k >> 8) & 255, k & 255);
	}
	assert_int_equal(fclose(f), 0);
	return path;
}

/* The max_memory limit: an error at the line where it is passed. */
static void
test_max_memory(void **state)
{
	const char *files[1];
	struct list_opts o;
	struct list *l = NULL;
	int i;

	(void)state;
	/* 100,000 distinct addresses take 800,000 bytes or more */
	files[0] = gen("many", 100000, "10.%u.%u.%u\n", 100000);
	o = opts(LIST_IP4SET, files, 1);
	o.max_memory = 400000;
	assert_int_equal(list_load(&o, &l), -EFBIG);
	assert_null(l);
	assert_int_equal(nwarns, 1);
	assert_int_equal(warns[0].sev, LIST_ERROR);
	assert_string_equal(warns[0].file, files[0]);
	assert_non_null(strstr(warns[0].msg, "max-memory of 400000 bytes"));
	/* near the line where the data passed the limit: 8 bytes a line */
	assert_in_range(warns[0].line, 40000, 50001);
	assert_false(list_load_transient(-EFBIG));

	/* with room it loads */
	o = opts(LIST_IP4SET, files, 1);
	o.max_memory = 4000000;
	assert_int_equal(list_load(&o, &l), 0);
	assert_int_equal(a4(l, 0x0a01869f), 0x7f000002);	/* 99,999 */
	list_free(l);
	l = NULL;

	/* repeats are dropped before they count against the limit */
	files[0] = gen("repeats", 200000, "10.%u.%u.%u\n", 1000);
	for (i = 0; i < 2; i++) {
		o = opts(i == 0 ? LIST_IP4SET : LIST_IP4TRIE, files, 1);
		o.max_memory = 200000;
		assert_int_equal(list_load(&o, &l), 0);
		assert_int_equal(a4(l, 0x0a0003e7), 0x7f000002);
		assert_true(list_memory(l) < 200000);
		list_free(l);
		l = NULL;
	}
}

/*
 * Repeats go while loading, with the same result as a file without
 * them; ip4trie reports each repeated prefix at its own line, in the
 * file it is in, and the first value given counts.
 */
static void
test_repeats_dropped(void **state)
{
	const char *files[2];
	struct list_opts o;
	struct list *once = NULL, *many = NULL;
	char path[2][300];
	FILE *f;
	size_t i, mem;
	uint32_t a;
	int k;

	(void)state;
	/* 60 wide, unaligned, overlapping ranges; then 500 times over */
	for (k = 0; k < 2; k++) {
		snprintf(path[k], sizeof(path[k]), "%s/ranges%d", dir, k);
		f = fopen(path[k], "w");
		assert_non_null(f);
		for (i = 0; i < (k == 0 ? 60u : 30000u); i++)
			fprintf(f, "%zu.%zu.1.%zu-%zu.7.255.%zu :%zu\n",
			    1 + i % 60 / 10, i % 60, 1 + i % 60,
			    3 + i % 60 / 10, 190 + i % 60, 2 + i % 3);
		assert_int_equal(fclose(f), 0);
	}
	files[0] = path[0];
	o = opts(LIST_IP4SET, files, 1);
	assert_int_equal(list_load(&o, &once), 0);
	files[0] = path[1];
	o = opts(LIST_IP4SET, files, 1);
	assert_int_equal(list_load(&o, &many), 0);
	assert_int_equal(nwarns, 0);
	mem = list_memory(once);
	assert_int_equal(list_memory(many), mem);
	for (a = 0x00ff0000; a < 0x06100000; a += 0x1003f7) {
		const struct list_value *v1[8], *v2[8];
		int n1 = list_lookup_ip4(once, a, v1, 8);
		int n2 = list_lookup_ip4(many, a, v2, 8), j;

		assert_int_equal(n1, n2);
		for (j = 0; j < n1; j++)
			assert_int_equal(v1[j]->lv_a, v2[j]->lv_a);
	}
	list_free(once);
	list_free(many);

	/*
	 * ip4trie: 40,000 addresses, then each again with another value,
	 * in a second file: every repeat at its line, in that file
	 */
	files[0] = gen("trie1", 40000, "10.%u.%u.%u/32 :2\n", 40000);
	snprintf(path[0], sizeof(path[0]), "%s", files[0]);
	files[0] = path[0];
	files[1] = gen("trie2", 40000, "10.%u.%u.%u/32 :3\n", 40000);
	o = opts(LIST_IP4TRIE, files, 2);
	assert_int_equal(list_load(&o, &many), 0);
	assert_int_equal(nwarns, 40000);
	assert_int_equal(nerrors, 0);
	for (i = 0; i < MAXWARNS; i++) {
		unsigned line = warns[i].line;
		char want[64];

		assert_string_equal(warns[i].file, files[1]);
		snprintf(want, sizeof(want), "duplicated entry for "
		    "10.%u.%u.%u/32, the first one counts",
		    ((line - 1) >> 16) & 255, ((line - 1) >> 8) & 255,
		    (line - 1) & 255);
		assert_string_equal(warns[i].msg, want);
	}
	assert_int_equal(list_entries(many), 40000);
	assert_int_equal(a4(many, 0x0a009c3f), 0x7f000002);	/* 39,999 */
	list_free(many);
}

/* vmhwm_kb - this process's peak resident size */
static long
vmhwm_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/*
 * peak_load - load path in a child process: the growth of its peak
 * resident size while loading, and the memory of the list it built
 */
static void
peak_load(enum list_type type, const char *path, long *peak_kb,
    long *list_kb)
{
	long r[2] = { -1, -1 };
	int p[2], status;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *files[1] = { path };
		struct list_opts o;
		struct list *l = NULL;
		long before = vmhwm_kb();

		memset(&o, 0, sizeof(o));
		o.type = type;
		o.files = files;
		o.nfiles = 1;
		if (list_load(&o, &l) == 0) {
			r[0] = vmhwm_kb() - before;
			r[1] = (long)(list_memory(l) / 1024);
		}
		if (write(p[1], r, sizeof(r)) != (ssize_t)sizeof(r))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], r, sizeof(r)), (ssize_t)sizeof(r));
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	*peak_kb = r[0];
	*list_kb = r[1];
}

/* The bound: a load's peak stays within twice the list plus 4 MB. */
#define PEAK_SLACK_KB	4096

/* A load never takes more than about twice the list it builds. */
static void
test_load_peak(void **state)
{
	static const struct {
		const char	*label;
		enum list_type	 type;
	} cases[] = {
		{ "20,000 overlapping ranges", LIST_IP4SET },
		{ "2,000,000 addresses", LIST_IP4SET },
		{ "1,000,000 /24 prefixes, some repeated", LIST_IP4TRIE },
		{ "1,000,000 IPv6 prefixes", LIST_IP6TRIE },
	};
	uint64_t rng = 0x243f6a8885a308d3ULL;
	char path[300];
	long peak, mem;
	FILE *f;
	size_t c, i;

	(void)state;
#if defined(__SANITIZE_ADDRESS__)
	skip();		/* the sanitizer's own memory would be measured */
#endif
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		snprintf(path, sizeof(path), "%s/peak%zu", dir, c);
		f = fopen(path, "w");
		assert_non_null(f);
		for (i = 0; i < (c == 0 ? 20000u : c == 1 ? 2000000u :
		    1000000u); i++) {
			uint32_t x;

			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			x = (uint32_t)(rng >> 20);
			if (c == 0)
				fprintf(f, "1.%u.%u.%u-254.%u.255.%u\n",
				    1 + (x & 3), 1 + (x >> 2) % 200,
				    1 + (x >> 10) % 250, 250 + (x >> 18) % 5,
				    (x >> 21) % 250);
			else if (c == 1)
				fprintf(f, "%u.%u.%u.%u\n", x >> 24,
				    (x >> 16) & 255, (x >> 8) & 255, x & 255);
			else if (c == 2)
				fprintf(f, "%u.%u.%u.0/24\n", x >> 24,
				    (x >> 16) & 255, i % 10 == 0 ? 7 :
				    (x >> 8) & 255);
			else
				fprintf(f, "2001:%x:%x::/48\n", x >> 16,
				    x & 0xffff);
		}
		assert_int_equal(fclose(f), 0);
		peak_load(cases[c].type, path, &peak, &mem);
		print_message("  %s: peak +%ld kB, list %ld kB\n",
		    cases[c].label, peak, mem);
		assert_true(peak >= 0 && mem > 0);
		if (peak > 2 * mem + PEAK_SLACK_KB)
			fail_msg("%s: the load took %ld kB at its peak for a "
			    "list of %ld kB", cases[c].label, peak, mem);
		unlink(path);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ttl_clamp),
		cmocka_unit_test(test_not_regular),
		cmocka_unit_test(test_changed_while_read),
		cmocka_unit_test(test_open_emfile),
		cmocka_unit_test(test_max_memory),
		cmocka_unit_test(test_repeats_dropped),
		cmocka_unit_test(test_load_peak),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
