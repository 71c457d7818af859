/*
 * conf_parse.c -- value parsers for rblmux.conf and the command line tools.
 *
 * Durations, sizes, address prefixes, address@port pairs and DNS names.
 * Every parser is strict (the whole string must match), never allocates on
 * failure and writes its result only on success: 0, RBLMUX_EPARSE for a
 * value that does not parse, RBLMUX_ENOMEM when a copy cannot be made. Used by conf.c and by
 * rblmuxctl (e.g. "list add ... --ttl 28d").
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "err.h"

/* parse_dur - a duration as milliseconds; "ms" only when allow_ms */
static int
parse_dur(const char *s, int allow_ms, uint64_t limit_ms, uint64_t *ms)
{
	uint64_t total = 0, n, mult;
	int parts = 0;

	if (s == NULL || *s == '\0')
		return RBLMUX_EPARSE;
	while (*s != '\0') {
		if (!isdigit((unsigned char)*s))
			return RBLMUX_EPARSE;
		n = 0;
		while (isdigit((unsigned char)*s)) {
			n = n * 10 + (uint64_t)(*s - '0');
			if (n > limit_ms)
				return RBLMUX_EPARSE;
			s++;
		}
		switch (tolower((unsigned char)*s)) {
		case '\0':
			/* a bare number is seconds, and only stands alone */
			if (parts > 0)
				return RBLMUX_EPARSE;
			mult = 1000;
			break;
		case 's':
			mult = 1000;
			s++;
			break;
		case 'm':
			if (tolower((unsigned char)s[1]) == 's') {
				if (!allow_ms)
					return RBLMUX_EPARSE;
				mult = 1;
				s += 2;
			} else {
				mult = 60 * 1000;
				s++;
			}
			break;
		case 'h':
			mult = 3600 * 1000;
			s++;
			break;
		case 'd':
			mult = 86400 * 1000;
			s++;
			break;
		case 'w':
			mult = 7 * 86400 * 1000;
			s++;
			break;
		default:
			return RBLMUX_EPARSE;
		}
		if (n > limit_ms / mult)
			return RBLMUX_EPARSE;
		n *= mult;
		if (total > limit_ms - n)
			return RBLMUX_EPARSE;
		total += n;
		parts++;
	}
	*ms = total;
	return 0;
}

/* conf_parse_duration - "90", "15m", "1d", "1h30m" into seconds */
int
conf_parse_duration(const char *s, uint32_t *secs)
{
	uint64_t ms;

	if (parse_dur(s, 0, (uint64_t)UINT32_MAX * 1000, &ms) != 0)
		return RBLMUX_EPARSE;
	*secs = (uint32_t)(ms / 1000);
	return 0;
}

/* conf_parse_duration_ms - like conf_parse_duration, in ms, "ms" allowed */
int
conf_parse_duration_ms(const char *s, uint32_t *ms)
{
	uint64_t v;

	if (parse_dur(s, 1, UINT32_MAX, &v) != 0)
		return RBLMUX_EPARSE;
	*ms = (uint32_t)v;
	return 0;
}

/* conf_parse_size - "4096", "64k", "256m", "1g" (powers of 1024) */
int
conf_parse_size(const char *s, uint64_t *bytes)
{
	uint64_t n = 0, mult = 1;

	if (s == NULL || !isdigit((unsigned char)*s))
		return RBLMUX_EPARSE;
	while (isdigit((unsigned char)*s)) {
		if (n > (UINT64_MAX - 9) / 10)
			return RBLMUX_EPARSE;
		n = n * 10 + (uint64_t)(*s - '0');
		s++;
	}
	switch (tolower((unsigned char)*s)) {
	case '\0':
		break;
	case 'k':
		mult = 1024;
		s++;
		break;
	case 'm':
		mult = 1024 * 1024;
		s++;
		break;
	case 'g':
		mult = 1024 * 1024 * 1024;
		s++;
		break;
	default:
		return RBLMUX_EPARSE;
	}
	if (*s != '\0' || (n != 0 && n > UINT64_MAX / mult))
		return RBLMUX_EPARSE;
	*bytes = n * mult;
	return 0;
}

/* conf_parse_prefix - "192.0.2.0/24", "2001:db8::/32", "::1" (host bits 0) */
int
conf_parse_prefix(const char *s, struct conf_prefix *p)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash;
	struct conf_prefix r;
	unsigned plen, maxlen, i;
	size_t alen;

	if (s == NULL)
		return RBLMUX_EPARSE;
	memset(&r, 0, sizeof(r));
	slash = strchr(s, '/');
	alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof(buf))
		return RBLMUX_EPARSE;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, r.addr) == 1) {
		r.family = AF_INET;
		maxlen = 32;
	} else if (inet_pton(AF_INET6, buf, r.addr) == 1) {
		r.family = AF_INET6;
		maxlen = 128;
	} else
		return RBLMUX_EPARSE;

	plen = maxlen;
	if (slash != NULL) {
		const char *d = slash + 1;

		if (*d == '\0' || strlen(d) > 3)
			return RBLMUX_EPARSE;
		plen = 0;
		for (; *d != '\0'; d++) {
			if (!isdigit((unsigned char)*d))
				return RBLMUX_EPARSE;
			plen = plen * 10 + (unsigned)(*d - '0');
		}
		if (plen > maxlen)
			return RBLMUX_EPARSE;
	}
	/* bits past the prefix length must be zero: "192.0.2.1/24" is a typo */
	for (i = plen; i < maxlen; i++)
		if (r.addr[i / 8] & (0x80 >> (i % 8)))
			return RBLMUX_EPARSE;
	r.plen = (uint8_t)plen;
	*p = r;
	return 0;
}

/* conf_parse_sockaddr - "127.0.0.1", "127.0.0.1@5353", "::1@53" */
int
conf_parse_sockaddr(const char *s, uint16_t defport, struct conf_sockaddr *out)
{
	char buf[INET6_ADDRSTRLEN + 1];
	const char *at;
	char *text;
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	unsigned long port = defport;
	socklen_t salen;
	size_t alen;

	if (s == NULL)
		return RBLMUX_EPARSE;
	at = strrchr(s, '@');
	alen = at != NULL ? (size_t)(at - s) : strlen(s);
	if (alen == 0 || alen >= sizeof(buf))
		return RBLMUX_EPARSE;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (at != NULL) {
		const char *d = at + 1;

		if (*d == '\0' || strlen(d) > 5)
			return RBLMUX_EPARSE;
		port = 0;
		for (; *d != '\0'; d++) {
			if (!isdigit((unsigned char)*d))
				return RBLMUX_EPARSE;
			port = port * 10 + (unsigned long)(*d - '0');
		}
	}
	if (port == 0 || port > 65535)
		return RBLMUX_EPARSE;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, buf, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		salen = sizeof(*s4);
	} else if (inet_pton(AF_INET6, buf, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		salen = sizeof(*s6);
	} else
		return RBLMUX_EPARSE;

	if ((text = strdup(s)) == NULL)
		return RBLMUX_ENOMEM;
	memset(out, 0, sizeof(*out));
	memcpy(&out->sa, &ss, sizeof(ss));
	out->salen = salen;
	out->text = text;
	return 0;
}

/* conf_parse_dname - check and normalise a domain name */
int
conf_parse_dname(const char *s, char **out)
{
	size_t len, i, label = 0;
	char *r;

	if (s == NULL)
		return RBLMUX_EPARSE;
	len = strlen(s);
	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > CONF_DNAME_MAX)
		return RBLMUX_EPARSE;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '.') {
			if (label == 0)
				return RBLMUX_EPARSE;
			label = 0;
			continue;
		}
		if (!isalnum(ch) && ch != '-' && ch != '_')
			return RBLMUX_EPARSE;
		if (++label > 63)
			return RBLMUX_EPARSE;
	}
	if (label == 0)
		return RBLMUX_EPARSE;	/* "a.b.." */
	if ((r = malloc(len + 1)) == NULL)
		return RBLMUX_ENOMEM;
	for (i = 0; i < len; i++)
		r[i] = (char)tolower((unsigned char)s[i]);
	r[len] = '\0';
	*out = r;
	return 0;
}

/* conf_name_valid - is s usable as a list, upstream or result name? */
int
conf_name_valid(const char *s)
{
	size_t i;

	if (s == NULL || !isalpha((unsigned char)s[0]))
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (i >= 63 || (!isalnum(ch) && ch != '-' && ch != '_'))
			return 0;
	}
	return 1;
}
