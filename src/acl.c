/*
 * acl.c -- most-specific-prefix access control.
 *
 * Rules are few (a handful of access-control: lines), so they are kept
 * sorted by prefix length, longest first, and the first match decides.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "err.h"

struct acl {
	struct conf_acl	*rules;		/* longest prefix first */
	size_t		 n;
};

/* by_plen - qsort: longer prefixes first */
static int
by_plen(const void *a, const void *b)
{
	const struct conf_acl *x = a, *y = b;

	return (int)y->prefix.plen - (int)x->prefix.plen;
}

/* same_prefix - identical family, length and bits */
static int
same_prefix(const struct conf_prefix *a, const struct conf_prefix *b)
{
	return a->family == b->family && a->plen == b->plen &&
	    memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

/* acl_new - compile access-control rules, loopback allowed by default */
int
acl_new(const struct conf_acl *rules, size_t n, struct acl **out)
{
	struct acl *a;
	struct conf_acl defs[2];
	size_t i, j;

	if (n > SIZE_MAX / sizeof(*a->rules) - 2 ||
	    (a = calloc(1, sizeof(*a))) == NULL)
		return RBLMUX_ENOMEM;
	if ((a->rules = calloc(n + 2, sizeof(*a->rules))) == NULL) {
		free(a);
		return RBLMUX_ENOMEM;
	}

	memset(defs, 0, sizeof(defs));
	defs[0].prefix.family = AF_INET;
	defs[0].prefix.addr[0] = 127;
	defs[0].prefix.plen = 8;
	defs[0].action = ACL_ALLOW;
	defs[1].prefix.family = AF_INET6;
	defs[1].prefix.addr[15] = 1;
	defs[1].prefix.plen = 128;
	defs[1].action = ACL_ALLOW;

	for (i = 0; i < n; i++)
		a->rules[a->n++] = rules[i];
	for (j = 0; j < 2; j++) {
		for (i = 0; i < n; i++)
			if (same_prefix(&rules[i].prefix, &defs[j].prefix))
				break;
		if (i == n)
			a->rules[a->n++] = defs[j];
	}
	qsort(a->rules, a->n, sizeof(*a->rules), by_plen);
	*out = a;
	return 0;
}

void
acl_free(struct acl *a)
{
	if (a == NULL)
		return;
	free(a->rules);
	free(a);
}

/* match - does addr (family bytes) fall in prefix p? */
static int
match(const struct conf_prefix *p, int family, const uint8_t *addr)
{
	unsigned full = p->plen / 8, rest = p->plen % 8;

	if (p->family != family)
		return 0;
	if (memcmp(p->addr, addr, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((p->addr[full] ^ addr[full]) & (0xff00 >> rest)) == 0;
}

/* peer_addr - the address bytes of peer (IPv4-mapped as IPv4), or NULL */
static const uint8_t *
peer_addr(const struct sockaddr *peer, int *family)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	const uint8_t *addr;

	*family = peer->sa_family;
	if (*family == AF_INET)
		return (const uint8_t *)
		    &((const struct sockaddr_in *)(const void *)peer)->sin_addr;
	if (*family != AF_INET6)
		return NULL;
	addr = ((const struct sockaddr_in6 *)(const void *)peer)
	    ->sin6_addr.s6_addr;
	if (memcmp(addr, mapped, 12) == 0) {
		addr += 12;
		*family = AF_INET;
	}
	return addr;
}

/* acl_check - what to do with a query from peer */
enum conf_acl_action
acl_check(const struct acl *a, const struct sockaddr *peer)
{
	const uint8_t *addr;
	int family;
	size_t i;

	if ((addr = peer_addr(peer, &family)) == NULL)
		return ACL_REFUSE;
	for (i = 0; i < a->n; i++)
		if (match(&a->rules[i].prefix, family, addr))
			return a->rules[i].action;
	return ACL_REFUSE;
}

/* acl_in_prefixes - does one of the n prefixes hold peer? */
bool
acl_in_prefixes(const struct conf_prefix *p, size_t n,
    const struct sockaddr *peer)
{
	const uint8_t *addr;
	int family;
	size_t i;

	if ((addr = peer_addr(peer, &family)) == NULL)
		return false;
	for (i = 0; i < n; i++)
		if (match(&p[i], family, addr))
			return true;
	return false;
}
