/*
 * rblmuxctl -- talk to a running rblmuxd over its control socket.
 *
 * Sends one command line, reads the whole answer, prints it, and exits 0
 * when the server said OK, 1 when it reported an error, 2 when the
 * command is too long or the server could not be reached.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf.h"
#include "ctl.h"
#include "log.h"

#define DEFAULT_SOCKET	"/run/rblmux/rblmux.sock"
#define LOCAL_SOCKET	"var/rblmux.sock"

static void	usage(void) __attribute__((noreturn));

static void
usage(void)
{
	fprintf(stderr,
	    "usage: rblmuxctl [-s SOCKET | -c CONFIG] COMMAND [ARG ...]\n"
	    "commands:\n"
	    "  status                 server, lists, upstreams, cache\n"
	    "  stats                  counters, \"name: value\" lines\n"
	    "  lookup IP|NAME [ZONE]  each source's answer and the reply\n"
	    "  flush IP|NAME | --source NAME | --all\n"
	    "                         remove cached upstream results\n"
	    "  reload                 re-read config and lists\n"
	    "  list add LIST ADDR[/LEN]|NAME [--ttl DURATION] [--reason TEXT]\n"
	    "           [--value A]   add or refresh a dynamic entry\n"
	    "  list del LIST ADDR[/LEN]|NAME\n"
	    "                         delete a dynamic entry\n"
	    "  list show [LIST [ADDR[/LEN]|NAME]]\n"
	    "                         dynamic entries, their expiry and "
	    "reason\n"
	    "  export LIST|ZONE --format rbldnsd|zone [--output FILE]\n"
	    "                         a list's or a served zone's data\n"
	    "  gen spamassassin|postfix|postscreen|exim|rspamd ZONE\n"
	    "                         a client config for the zone\n");
	exit(2);
}

/*
 * needs_quotes - an argument the server would not read back as one
 * word as it is: empty, or holding a blank, a quote or a backslash
 */
static int
needs_quotes(const char *a)
{
	return a[0] == '\0' || strpbrk(a, " \t\"\\") != NULL;
}

/*
 * arg_len - the bytes put_arg() writes for a
 */
static size_t
arg_len(const char *a)
{
	size_t n = strlen(a);

	if (!needs_quotes(a))
		return n;
	for (; *a != '\0'; a++)
		n += *a == '"' || *a == '\\';
	return n + 2;
}

/*
 * put_arg - argument a into line at *len (room checked by the caller):
 * as it is, or between quotes with '"' and '\' escaped by '\'
 */
static void
put_arg(char *line, size_t *len, const char *a)
{
	if (!needs_quotes(a)) {
		memcpy(line + *len, a, strlen(a));
		*len += strlen(a);
		return;
	}
	line[(*len)++] = '"';
	for (; *a != '\0'; a++) {
		if (*a == '"' || *a == '\\')
			line[(*len)++] = '\\';
		line[(*len)++] = *a;
	}
	line[(*len)++] = '"';
}

/* quiet - config problems are not ours to print in full */
static void
quiet(void *arg, const char *file, unsigned line, const char *msg)
{
	(void)arg;
	fprintf(stderr, "%s:%u: %s\n", file ? file : "-", line, msg);
}

/* the signal that interrupted an export to stdout, or 0 */
static volatile sig_atomic_t stop_sig;

/* the temporary directory of an export to stdout, removed at exit */
static char export_dir[PATH_MAX];

/*
 * read_answer - the whole answer before any of it is printed, so that a
 * slow reader of our output never holds the server up (it disconnects
 * clients that stop reading). *reset: the errno that ended it, or 0.
 */
static char *
read_answer(int fd, size_t *lenp, int *reset)
{
	char *buf = NULL, *p;
	size_t len = 0, cap = 0;
	ssize_t n;

	*reset = 0;
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 65536;
			if ((p = realloc(buf, cap)) == NULL) {
				fprintf(stderr, "rblmuxctl: out of memory reading "
				    "the answer\n");
				free(buf);
				exit(2);
			}
			buf = p;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR && stop_sig == 0)
			continue;
		if (n < 0) {
			/* a reset after the answer: the server read no more */
			*reset = errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*lenp = len;
	return buf;
}

/*
 * rm_tmp - at exit: the temporary directory of an export to stdout,
 * with what the server wrote in it (the export, or the file it is
 * writing: once the directory is gone it can neither finish nor make
 * another)
 */
static void
rm_tmp(void)
{
	struct dirent *de;
	DIR *d;

	if (export_dir[0] == '\0')
		return;
	if ((d = opendir(export_dir)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") != 0 &&
			    strcmp(de->d_name, "..") != 0)
				(void)unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
	}
	(void)rmdir(export_dir);
	export_dir[0] = '\0';
}

/* on_stop - SIGINT, SIGTERM, SIGHUP during an export to stdout */
static void
on_stop(int sig)
{
	stop_sig = sig;
}

/* die_if_stopped - interrupted: clean up, then end by the signal */
static void
die_if_stopped(void)
{
	int sig = stop_sig;

	if (sig == 0)
		return;
	rm_tmp();
	signal(sig, SIG_DFL);
	raise(sig);
	exit(2);
}

/*
 * catch_stop - an export to stdout cleans up when interrupted (the
 * wait for the server is cut short) or when its reader goes (a write
 * fails instead of killing us)
 */
static void
catch_stop(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;	/* no SA_RESTART: read() returns */
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/*
 * export_words - "export NAME --format F [--output FILE]" as the server
 * takes it: "export NAME F /ABSOLUTE/FILE". Without --output the server
 * writes a temporary file (*tmp) that is then copied to stdout. Returns
 * 0, or 2 after saying why.
 */
static int
export_words(int argc, char **argv, char **w, char **tmp, char *abs,
    size_t abscap)
{
	const char *name = NULL, *format = NULL, *output = NULL;
	char cwd[PATH_MAX];
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--format") == 0 && i + 1 < argc)
			format = argv[++i];
		else if (strcmp(argv[i], "--output") == 0 && i + 1 < argc)
			output = argv[++i];
		else if (argv[i][0] != '-' && name == NULL)
			name = argv[i];
		else {
			name = NULL;
			break;
		}
	}
	if (name == NULL || format == NULL) {
		fprintf(stderr, "usage: rblmuxctl export LIST|ZONE --format "
		    "rbldnsd|zone [--output FILE]\n");
		return 2;
	}
	if (output == NULL) {
		const char *td = getenv("TMPDIR");

		/* ours alone (0700): give_tmp() lets a server of another
		   user in; the server writes a file in it and renames it */
		snprintf(export_dir, sizeof(export_dir),
		    "%s/rblmuxctl-export.XXXXXX",
		    td != NULL && td[0] == '/' ? td : "/tmp");
		if (mkdtemp(export_dir) == NULL) {
			fprintf(stderr, "rblmuxctl: %s: %s\n", export_dir,
			    strerror(errno));
			export_dir[0] = '\0';
			return 2;
		}
		atexit(rm_tmp);
		catch_stop();
		if (snprintf(abs, abscap, "%s/export", export_dir) >=
		    (int)abscap) {
			fprintf(stderr, "rblmuxctl: %s: path too long\n",
			    export_dir);
			return 2;
		}
		*tmp = abs;
	} else if (output[0] == '/')
		snprintf(abs, abscap, "%s", output);
	else if (getcwd(cwd, sizeof(cwd)) == NULL ||
	    snprintf(abs, abscap, "%s/%s", cwd, output) >= (int)abscap) {
		fprintf(stderr, "rblmuxctl: %s: cannot make it an absolute "
		    "path\n", output);
		return 2;
	}
	w[0] = argv[0];
	w[1] = (char *)(uintptr_t)name;
	w[2] = (char *)(uintptr_t)format;
	w[3] = abs;
	return 0;
}

/*
 * give_tmp - the temporary directory of an export is the server's to
 * write in: a server of another user (we are root) gets it as its own;
 * only when that fails is it writable by all. Left as mkdtemp() made it
 * (0700), no other user can change the export between the server and
 * us.
 */
static void
give_tmp(int sock)
{
	const char *path = export_dir;

	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 ||
	    cr.uid == geteuid() || cr.uid == 0)
		return;
	if (chown(path, cr.uid, (gid_t)-1) != 0)
		(void)chmod(path, 0777);
}

/* copy_out - the exported temporary file to stdout; 0 or 2 */
static int
copy_out(const char *path)
{
	char buf[65536];
	size_t n;
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		fprintf(stderr, "rblmuxctl: %s: %s\n", path, strerror(errno));
		return 2;
	}
	while (stop_sig == 0 && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (fwrite(buf, 1, n, stdout) != n)
			break;
	fclose(f);
	if (stop_sig != 0)
		return 2;
	if (ferror(stdout) || fflush(stdout) != 0) {
		fprintf(stderr, "rblmuxctl: writing the export: %s\n",
		    strerror(errno));
		return 2;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	struct sockaddr_un sun;
	const char *sock = NULL, *cpath = NULL;
	char *owned = NULL, line[CTL_LINE_MAX], *ans, *nl, *body;
	char *xw[4], *tmp = NULL, abspath[PATH_MAX];
	size_t len = 0, alen;
	int ch, fd, i, ok, reset, serr = 0;
	struct stat st;

	log_init("rblmuxctl", 1, 0);
	while ((ch = getopt(argc, argv, "+s:c:h")) != -1) {
		switch (ch) {
		case 's':
			sock = optarg;
			break;
		case 'c':
			cpath = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	if (strcmp(argv[0], "export") == 0) {
		if (export_words(argc, argv, xw, &tmp, abspath,
		    sizeof(abspath)) != 0)
			return 2;
		argv = xw;
		argc = 4;
	}

	/* the command line: the words, a space between, a newline */
	for (i = 0; i < argc; i++) {
		if (strpbrk(argv[i], "\r\n") != NULL) {
			fprintf(stderr, "rblmuxctl: an argument contains a "
			    "line break\n");
			return 2;
		}
		len += arg_len(argv[i]) + 1;
	}
	if (len > sizeof(line)) {
		fprintf(stderr, "rblmuxctl: command too long: %zu bytes (the "
		    "server takes at most %d)\n", len - 1, CTL_LINE_MAX - 1);
		return 2;
	}
	for (i = 0, len = 0; i < argc; i++) {
		if (i > 0)
			line[len++] = ' ';
		put_arg(line, &len, argv[i]);
	}
	line[len++] = '\n';

	if (sock == NULL && cpath != NULL) {
		struct conf *c;

		if (conf_load(cpath, quiet, NULL, &c) != 0)
			return 2;
		sock = owned = conf_path(c, c->server.control_socket);
		conf_free(c);
		if (sock == NULL) {
			fprintf(stderr, "rblmuxctl: out of memory\n");
			return 2;
		}
	}
	if (sock == NULL)
		sock = stat(LOCAL_SOCKET, &st) == 0 ? LOCAL_SOCKET :
		    DEFAULT_SOCKET;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(sock) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "rblmuxctl: socket path too long\n");
		return 2;
	}
	strcpy(sun.sun_path, sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		fprintf(stderr, "rblmuxctl: %s: %s (is rblmuxd running?)\n",
		    sock, strerror(errno));
		return 2;
	}
	if (tmp != NULL)
		give_tmp(fd);
	/* a server that turns us away may close before reading: read on */
	if (send(fd, line, len, MSG_NOSIGNAL) != (ssize_t)len)
		serr = errno;
	ans = read_answer(fd, &alen, &reset);
	close(fd);
	die_if_stopped();
	if (alen == 0 || (nl = memchr(ans, '\n', alen)) == NULL) {
		fprintf(stderr, "rblmuxctl: no answer from %s%s%s\n", sock,
		    serr || reset ? ": " : "",
		    serr || reset ? strerror(serr ? serr : reset) : "");
		free(owned);
		free(ans);
		return 2;
	}
	if ((size_t)(nl - ans) == 2 && memcmp(ans, "OK", 2) == 0)
		ok = 1;
	else if ((size_t)(nl - ans) == 5 && memcmp(ans, "ERROR", 5) == 0)
		ok = 0;
	else {
		fprintf(stderr, "rblmuxctl: %s: not an rblmuxd answer\n", sock);
		free(owned);
		free(ans);
		return 2;
	}
	body = nl + 1;
	if (tmp != NULL) {
		/* the export itself goes to stdout, the server's words not */
		if (ok && copy_out(tmp) != 0)
			ok = 0;
		else if (!ok)
			fwrite(body, 1, alen - (size_t)(body - ans), stderr);
		die_if_stopped();
		free(owned);
		free(ans);
		return ok ? 0 : 1;
	}
	fwrite(body, 1, alen - (size_t)(body - ans), ok ? stdout : stderr);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "rblmuxctl: writing the answer: %s\n",
		    strerror(errno));
		return 2;
	}
	if (ok && reset) {
		fprintf(stderr, "rblmuxctl: %s: %s; the answer may be "
		    "incomplete\n", sock, strerror(reset));
		return 2;
	}
	free(owned);
	free(ans);
	return ok ? 0 : 1;
}
