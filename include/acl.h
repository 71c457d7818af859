/*
 * acl.h -- access control: which clients get answers.
 *
 * Built from the access-control: lines; the most specific prefix that
 * holds the client decides (allow, refuse = REFUSED, deny = silent drop).
 * Loopback (127.0.0.0/8, ::1) is allowed unless a rule for exactly that
 * prefix says otherwise; everyone else is refused. IPv4-mapped IPv6
 * clients are matched as IPv4. Immutable once built.
 */
#ifndef RBLMUX_ACL_H
#define RBLMUX_ACL_H

#include <stddef.h>
#include <sys/socket.h>

#include "conf.h"

struct acl;

/*
 * Build an ACL from n rules (as conf_load() checked them). On success
 * stores it in *out and returns 0; when out of memory returns
 * RBLMUX_ENOMEM with nothing allocated and *out untouched. Never exits:
 * view_build() builds the ACL of each view, in the reload thread too.
 */
int			 acl_new(const struct conf_acl *rules, size_t n,
			    struct acl **out);
void			 acl_free(struct acl *a);	/* accepts NULL */
enum conf_acl_action	 acl_check(const struct acl *a,
			    const struct sockaddr *peer);

/*
 * Does one of the n prefixes hold peer (an IPv4-mapped IPv6 peer counts
 * as IPv4)? allow-transfer: uses it.
 */
bool			 acl_in_prefixes(const struct conf_prefix *p,
			    size_t n, const struct sockaddr *peer);

#endif /* RBLMUX_ACL_H */
