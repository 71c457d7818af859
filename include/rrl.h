/*
 * rrl.h -- response rate limiting (NSD/BIND style) for UDP replies.
 *
 * A fixed table of buckets, each a token bucket for one key: the
 * client's source prefix (rate-limit-ipv4-prefix / -ipv6-prefix bits of
 * its address; an IPv4-mapped IPv6 client counts as IPv4), the class of
 * the reply (positive, no data, NXDOMAIN, error) and the zone the query
 * fell in (none for a reply outside every zone). Positive answers are
 * keyed by zone, not by name: in a DNSBL every subject is another name,
 * so per-name buckets would never fill.
 *
 * A bucket holds up to rate credits (one second of burst) and earns
 * rate a second; a reply spends one. A reply its bucket cannot pay for
 * is limited: dropped, except every slip-th limited reply of the bucket
 * (slip 0: none, 1: all), which is sent instead truncated (TC=1, the
 * question and the OPT only) so that a real resolver asks again over
 * TCP, which is never limited. Sources in the exempt prefixes are never
 * limited.
 *
 * The table has rate-limit-size slots, allocated when limiting is
 * turned on and kept as long as the size stays; a key lands in the slot
 * its seeded hash names, and a slot holding another key is taken over
 * with a full bucket (as NSD does): memory stays fixed whatever the
 * clients do. Time is passed in (milliseconds of a monotonic clock), so
 * the module is pure: no clock, no event loop, no locking (one per loop).
 */
#ifndef RBLMUX_RRL_H
#define RBLMUX_RRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf.h"

enum rrl_class {
	RRL_POSITIVE = 0,	/* NOERROR with answers */
	RRL_NODATA,		/* NOERROR, empty answer section */
	RRL_NXDOMAIN,
	RRL_ERROR,		/* REFUSED, FORMERR, SERVFAIL, NOTIMP, ... */
};

enum rrl_verdict {
	RRL_SEND = 0,		/* within the rate (or exempt, or off) */
	RRL_DROP,		/* limited: send nothing */
	RRL_SLIP,		/* limited: send the truncated reply */
};

struct rrl;

/* What "status" reports. */
struct rrl_info {
	unsigned	 rate;		/* 0 = off */
	unsigned	 slip;
	unsigned	 prefix4, prefix6;
	size_t		 size;		/* slots */
	size_t		 used;		/* slots that ever held a key */
	size_t		 nexempt;
};

/*
 * A rate limiter, off, hashing with seed. Returns NULL when out of
 * memory.
 */
struct rrl	*rrl_new(uint64_t seed);

/*
 * Take the rate-limit settings of cs (rate_limit 0 = off: the table is
 * freed). A table of the same size is kept with its buckets (their
 * credit is capped at the new rate when next used); another size starts
 * an empty one. Returns 0, or RBLMUX_ENOMEM with r unchanged.
 */
int		 rrl_configure(struct rrl *r, const struct conf_server *cs);

/* Is limiting on? */
bool		 rrl_enabled(const struct rrl *r);

/* The class of the reply msg (len bytes, at least a header). */
enum rrl_class	 rrl_classify(const uint8_t *msg, size_t len);

/*
 * Charge one reply of class cls in zone (NULL = none) to peer at now
 * (milliseconds, monotonic) and say what to do with it. RRL_SEND when
 * off or peer is exempt (nothing is charged then).
 */
enum rrl_verdict rrl_check(struct rrl *r, const struct sockaddr *peer,
		    enum rrl_class cls, const char *zone, uint64_t now_ms);

/*
 * Turn the reply msg (len bytes) into its slip form in place: the
 * header with TC=1, the question (none when it cannot be read) and the
 * OPT, kept when it is the last record (where dnsmsg puts it) and has
 * no options. Returns the new length (at most len; 0 when len is
 * shorter than a header).
 */
size_t		 rrl_slip_reply(uint8_t *msg, size_t len);

void		 rrl_get_info(const struct rrl *r, struct rrl_info *out);

/* Accepts NULL. */
void		 rrl_free(struct rrl *r);

#endif /* RBLMUX_RRL_H */
