/*
 * rblmuxctl -- talk to a running rblmuxd over its control socket.
 *
 * Sends one command line, prints the answer, exits 0 when the server said
 * OK, 1 when it reported an error, 2 when it could not be reached.
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
	    "  reload                 re-read config and lists\n");
	exit(2);
}

/* quiet - config problems are not ours to print in full */
static void
quiet(void *arg, const char *file, unsigned line, const char *msg)
{
	(void)arg;
	fprintf(stderr, "%s:%u: %s\n", file ? file : "-", line, msg);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_un sun;
	const char *sock = NULL, *cpath = NULL;
	char *owned = NULL, line[4096], buf[65536];
	size_t len = 0;
	ssize_t n;
	int ch, fd, i, first = 1, ok = 0;
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

	for (i = 0; i < argc; i++) {
		size_t l = strlen(argv[i]);

		if (strchr(argv[i], '\n') != NULL || len + l + 2 > sizeof(line)) {
			fprintf(stderr, "rblmuxctl: command too long\n");
			return 2;
		}
		if (i > 0)
			line[len++] = ' ';
		memcpy(line + len, argv[i], l);
		len += l;
	}
	line[len++] = '\n';

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
	free(owned);
	if (write(fd, line, len) != (ssize_t)len) {
		fprintf(stderr, "rblmuxctl: write: %s\n", strerror(errno));
		return 2;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		char *p = buf;

		if (first) {
			char *nl = memchr(buf, '\n', (size_t)n);

			if (nl == NULL)
				break;
			ok = strncmp(buf, "OK", 2) == 0;
			p = nl + 1;
			first = 0;
		}
		fwrite(p, 1, (size_t)(buf + n - p), ok ? stdout : stderr);
	}
	close(fd);
	if (first) {
		fprintf(stderr, "rblmuxctl: no answer from %s\n", sock);
		return 2;
	}
	return ok ? 0 : 1;
}
