/*
 * query_testlib.h -- shared by the unit tests of the answer path: files
 * in a temporary directory (dir, made by the test) and query packets
 * built by hand. Functions are static inline so each test uses what it
 * needs. Include after cmocka.h.
 */
#ifndef RBLMUX_QUERY_TESTLIB_H
#define RBLMUX_QUERY_TESTLIB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* the test's temporary directory */
static char dir[64];

/* put - write a file under the temp dir */
static inline void
put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* mkquery - a query packet for name/type, with an OPT when edns */
static inline size_t
mkquery(uint8_t *q, const char *name, uint16_t type, int edns)
{
	size_t len = 12;
	const char *p = name;

	memset(q, 0, 12);
	q[0] = 0xab; q[1] = 0xcd; q[2] = 0x01; q[5] = 1;
	while (*p != '\0') {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		q[len++] = (uint8_t)l;
		memcpy(q + len, p, l);
		len += l;
		p += l + (dot ? 1 : 0);
	}
	q[len++] = 0;
	q[len++] = (uint8_t)(type >> 8); q[len++] = (uint8_t)type;
	q[len++] = 0; q[len++] = 1;
	if (edns) {
		static const uint8_t opt[] = { 0, 0, 41, 0x10, 0, 0, 0, 0, 0,
		    0, 0 };

		q[11] = 1;
		memcpy(q + len, opt, sizeof(opt));
		len += sizeof(opt);
	}
	return len;
}

#endif /* RBLMUX_QUERY_TESTLIB_H */
