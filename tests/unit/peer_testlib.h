/*
 * peer_testlib.h -- a client address for the unit tests that decide by
 * source address (access control, rate limiting). Include after
 * cmocka.h.
 */
#ifndef RBLMUX_PEER_TESTLIB_H
#define RBLMUX_PEER_TESTLIB_H

#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* peer - a sockaddr for a text address (IPv6 when it holds a colon) */
static inline struct sockaddr_storage
peer(const char *text)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, text, &s4->sin_addr), 1);
	}
	return ss;
}

#endif
