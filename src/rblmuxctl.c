/*
 * rblmuxctl -- talk to a running rblmuxd over its control socket.
 *
 * Sends one command line, reads the whole answer, prints it, and exits 0
 * when the server said OK, 1 when it reported an error, 2 when the
 * command is too long or the server could not be reached.
 */
#include <errno.h>
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
	    "  gen spamassassin|postfix|postscreen|exim|rspamd ZONE\n"
	    "                         a client config for the zone\n");
	exit(2);
}

/* quiet - config problems are not ours to print in full */
static void
quiet(void *arg, const char *file, unsigned line, const char *msg)
{
	(void)arg;
	fprintf(stderr, "%s:%u: %s\n", file ? file : "-", line, msg);
}

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
		if (n < 0 && errno == EINTR)
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

int
main(int argc, char *argv[])
{
	struct sockaddr_un sun;
	const char *sock = NULL, *cpath = NULL;
	char *owned = NULL, line[CTL_LINE_MAX], *ans, *nl, *body;
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

	/* the command line: the words, a space between, a newline */
	for (i = 0; i < argc; i++) {
		if (strpbrk(argv[i], "\r\n") != NULL) {
			fprintf(stderr, "rblmuxctl: an argument contains a "
			    "line break\n");
			return 2;
		}
		len += strlen(argv[i]) + 1;
	}
	if (len > sizeof(line)) {
		fprintf(stderr, "rblmuxctl: command too long: %zu bytes (the "
		    "server takes at most %d)\n", len - 1, CTL_LINE_MAX - 1);
		return 2;
	}
	for (i = 0, len = 0; i < argc; i++) {
		size_t l = strlen(argv[i]);

		if (i > 0)
			line[len++] = ' ';
		memcpy(line + len, argv[i], l);
		len += l;
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
	/* a server that turns us away may close before reading: read on */
	if (send(fd, line, len, MSG_NOSIGNAL) != (ssize_t)len)
		serr = errno;
	ans = read_answer(fd, &alen, &reset);
	close(fd);
	if (alen == 0 || (nl = memchr(ans, '\n', alen)) == NULL) {
		fprintf(stderr, "rblmuxctl: no answer from %s%s%s\n", sock,
		    serr || reset ? ": " : "",
		    serr || reset ? strerror(serr ? serr : reset) : "");
		free(owned);
		return 2;
	}
	if ((size_t)(nl - ans) == 2 && memcmp(ans, "OK", 2) == 0)
		ok = 1;
	else if ((size_t)(nl - ans) == 5 && memcmp(ans, "ERROR", 5) == 0)
		ok = 0;
	else {
		fprintf(stderr, "rblmuxctl: %s: not an rblmuxd answer\n", sock);
		free(owned);
		return 2;
	}
	body = nl + 1;
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
