/*
 * fuzz_conf.c -- arbitrary bytes as rblmux.conf: conf_load() must never
 * crash or leak, whatever it reports.
 *
 * The input is written to a file in a private temp dir that also holds a
 * few small files to include (one including another, one including
 * itself), so include: handling is exercised too. Inputs that could
 * include files elsewhere (a '/' on a line after "include") are skipped,
 * so the fuzzer does not wander the file system.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char	dir[] = "/tmp/rblmux-fuzz-conf.XXXXXX";
static char	input[sizeof(dir) + 16];
static const char *const helpers[] = {
	"in.conf", "server.inc", "lists.inc", "self.inc",
};

/* put - write a helper file into the temp dir */
static void
put(const char *name, const char *text)
{
	char path[sizeof(dir) + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		abort();
	fputs(text, f);
	fclose(f);
}

/* cleanup - remove the temp dir at exit */
static void
cleanup(void)
{
	char path[sizeof(dir) + 32];
	size_t i;

	for (i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, helpers[i]);
		unlink(path);
	}
	rmdir(dir);
}

/* quiet - look at every report, print nothing */
static void
quiet(void *arg, const char *file, unsigned line, const char *msg)
{
	size_t *n = arg;

	*n += strlen(msg) + (file != NULL ? strlen(file) : 0) + line % 2;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(input, sizeof(input), "%s/in.conf", dir);
	put("server.inc", "server:\n listen: 127.0.0.1@5353\n ttl-min: 30\n");
	put("lists.inc", "local-list:\n name: inc\n file: x.set\n"
	    "include: server.inc\n");
	put("self.inc", "include: self.inc\n");
	atexit(cleanup);
	return 0;
}

/* mentions_include_path - could this input include a file elsewhere? */
static int
mentions_include_path(const uint8_t *data, size_t size)
{
	static const char kw[] = "include";
	size_t i, j;

	for (i = 0; i + sizeof(kw) - 1 <= size; i++) {
		if (memcmp(data + i, kw, sizeof(kw) - 1) != 0)
			continue;
		/* a '/' later on the same line could name another directory */
		for (j = i; j < size && data[j] != '\n'; j++)
			if (data[j] == '/')
				return 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *c = NULL;
	size_t seen = 0;
	FILE *f;

	if (mentions_include_path(data, size))
		return 0;
	if ((f = fopen(input, "w")) == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
	if (conf_load(input, quiet, &seen, &c) == 0) {
		char *p;

		if (c == NULL || c->server.nlisten == 0)
			abort();
		p = conf_path(c, "x");
		free(p);
		conf_free(c);
	}
	return 0;
}
