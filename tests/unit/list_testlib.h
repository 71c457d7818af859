/*
 * list_testlib.h -- shared by the list unit tests: load a list from a
 * string and collect the problems it reports, by line.
 * Functions are static inline so each test uses what it needs.
 */
#ifndef RBLMUX_LIST_TESTLIB_H
#define RBLMUX_LIST_TESTLIB_H

#include <sys/resource.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "list.h"

#define MAXWARNS	64

/* Problems (errors and warnings) collected from a load. */
struct warnrec {
	enum list_severity sev;
	char		 file[256];
	unsigned	 line;
	char		 msg[256];
};
static struct warnrec	warns[MAXWARNS];
static int		nwarns;
static int		nerrors;	/* of nwarns, the errors */

/* collect - list_warn_fn keeping the first MAXWARNS problems */
static inline void
collect(void *arg, enum list_severity sev, const char *file, unsigned line,
    const char *msg)
{
	(void)arg;
	if (nwarns < MAXWARNS) {
		warns[nwarns].sev = sev;
		snprintf(warns[nwarns].file, sizeof(warns[0].file), "%s",
		    file ? file : "-");
		warns[nwarns].line = line;
		snprintf(warns[nwarns].msg, sizeof(warns[0].msg), "%s", msg);
	}
	nwarns++;
	if (sev == LIST_ERROR)
		nerrors++;
}

/* has_sev - was a problem of severity sev with text at line reported? */
static inline int
has_sev(enum list_severity sev, unsigned line, const char *text)
{
	int i;

	for (i = 0; i < nwarns && i < MAXWARNS; i++)
		if (warns[i].sev == sev && warns[i].line == line &&
		    strstr(warns[i].msg, text))
			return 1;
	return 0;
}

/* has_warn - was a problem (either severity) with text at line reported? */
static inline int
has_warn(unsigned line, const char *text)
{
	return has_sev(LIST_ERROR, line, text) ||
	    has_sev(LIST_WARNING, line, text);
}

/* dump_warns - show the problems of a failed case */
static inline void
dump_warns(void)
{
	int i;

	for (i = 0; i < nwarns && i < MAXWARNS; i++)
		print_message("  %s %s:%u: %s\n", warns[i].sev == LIST_ERROR ?
		    "error" : "warning", warns[i].file, warns[i].line,
		    warns[i].msg);
}

/* reset_warns - forget what was collected */
static inline void
reset_warns(void)
{
	nwarns = 0;
	nerrors = 0;
}

/* load_text - load a list from a string, collecting warnings */
static inline struct list *
load_text(enum list_type type, const char *text)
{
	struct list_opts o;
	struct list *l = NULL;

	memset(&o, 0, sizeof(o));
	o.name = "t.txt";
	o.type = type;
	o.warn = collect;
	reset_warns();
	assert_int_equal(list_load_mem(&o, text, strlen(text), &l), 0);
	assert_non_null(l);
	return l;
}

/* write_file - put text into dir/name, return the path (static) */
static inline const char *
write_file(const char *dir, const char *name, const char *text)
{
	static char path[4][256];
	static int k;
	FILE *f;

	k = (k + 1) % 4;
	snprintf(path[k], sizeof(path[k]), "%s/%s", dir, name);
	f = fopen(path[k], "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	return path[k];
}

/* conf_fail - conf_report_fn: a config problem fails the test */
static inline void
conf_fail(void *arg, const char *file, unsigned line, const char *msg)
{
	(void)arg;
	fail_msg("config %s:%u: %s", file ? file : "-", line, msg);
}

/* remove_tree - remove a test's temporary directory; 0 or -1 */
static inline int
remove_tree(const char *dir)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/*
 * no_more_files - make the lowest free descriptor the soft limit, so
 * that the next open() fails with EMFILE; *saved restores it
 */
static inline void
no_more_files(struct rlimit *saved)
{
	struct rlimit low;
	int fd;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, saved), 0);
	fd = dup(0);
	assert_true(fd >= 0);
	close(fd);
	low = *saved;
	low.rlim_cur = (rlim_t)fd;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
}

/* A lookup and the answer expected ("" = not listed). */
struct probe {
	const char	*ip;
	const char	*want;
};

typedef const char *probe_answer_fn(const struct list *, const char *);

/* check_probes_by - compare every probe through fn, naming the case */
static inline void
check_probes_by(const char *label, const struct list *l,
    const struct probe *p, probe_answer_fn *fn)
{
	for (; p->ip != NULL; p++) {
		const char *got = fn(l, p->ip);

		if (strcmp(got, p->want) != 0) {
			dump_warns();
			fail_msg("%s: %s: got [%s], want [%s]", label, p->ip,
			    got, p->want);
		}
	}
}

#endif /* RBLMUX_LIST_TESTLIB_H */
