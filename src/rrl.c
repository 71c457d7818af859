/*
 * rrl.c -- response rate limiting: a fixed table of token buckets keyed
 * by (source prefix, reply class, zone).
 *
 * Credit is kept in thousandths of a reply, so that refilling at rate
 * per second from millisecond timestamps is exact in integers.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "dnsmsg.h"
#include "err.h"
#include "rrl.h"

#define MILLI		1000u		/* credit units of one reply */

struct rrl_slot {
	uint64_t	 key;		/* hash of the key; 0 = empty */
	uint64_t	 stamp;		/* ms of the last refill */
	uint32_t	 credit;	/* thousandths of a reply */
	uint32_t	 limited;	/* replies limited, for slip */
};

struct rrl {
	uint64_t	 seed;
	unsigned	 rate;		/* 0 = off */
	unsigned	 slip;
	unsigned	 prefix4, prefix6;
	struct conf_prefix *exempt;
	size_t		 nexempt;
	struct rrl_slot	*slot;		/* NULL when off */
	size_t		 size;
	size_t		 used;
};

/* rrl_new - a limiter, off */
struct rrl *
rrl_new(uint64_t seed)
{
	struct rrl *r = calloc(1, sizeof(*r));

	if (r != NULL)
		r->seed = seed;
	return r;
}

/* rrl_configure - the settings of cs; the table kept when its size is */
int
rrl_configure(struct rrl *r, const struct conf_server *cs)
{
	struct conf_prefix *ex = NULL;
	struct rrl_slot *slot = r->slot;
	size_t size = cs->rate_limit > 0 ? cs->rate_limit_size : 0;

	if (cs->nrate_limit_exempt > 0) {
		ex = calloc(cs->nrate_limit_exempt, sizeof(*ex));
		if (ex == NULL)
			return RBLMUX_ENOMEM;
		memcpy(ex, cs->rate_limit_exempt,
		    cs->nrate_limit_exempt * sizeof(*ex));
	}
	if (size != r->size) {
		slot = NULL;
		if (size > 0 && (slot = calloc(size, sizeof(*slot))) == NULL) {
			free(ex);
			return RBLMUX_ENOMEM;
		}
		free(r->slot);
		r->used = 0;
	}
	free(r->exempt);
	r->exempt = ex;
	r->nexempt = cs->nrate_limit_exempt;
	r->slot = slot;
	r->size = size;
	r->rate = cs->rate_limit;
	r->slip = cs->rate_limit_slip;
	r->prefix4 = cs->rate_limit_ipv4_prefix;
	r->prefix6 = cs->rate_limit_ipv6_prefix;
	return 0;
}

bool
rrl_enabled(const struct rrl *r)
{
	return r->rate > 0;
}

/* rrl_classify - positive, no data, NXDOMAIN or error, from the header */
enum rrl_class
rrl_classify(const uint8_t *msg, size_t len)
{
	if (len < DNS_HDRLEN)
		return RRL_ERROR;
	switch (msg[3] & DNS_RCODE_MASK) {
	case DNS_RCODE_NOERROR:
		return (msg[6] | msg[7]) != 0 ? RRL_POSITIVE : RRL_NODATA;
	case DNS_RCODE_NXDOMAIN:
		return RRL_NXDOMAIN;
	default:
		return RRL_ERROR;
	}
}

/* mix - FNV-1a step over n bytes */
static uint64_t
mix(uint64_t h, const void *p, size_t n)
{
	const uint8_t *s = p;

	while (n-- > 0) {
		h ^= *s++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/*
 * key_of - the seeded hash of (prefix of peer, cls, zone), never 0; 0
 * when peer is neither IPv4 nor IPv6
 */
static uint64_t
key_of(const struct rrl *r, const struct sockaddr *peer, enum rrl_class cls,
    const char *zone)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	uint8_t addr[17] = { 0 };
	const uint8_t *a;
	unsigned bits, i, alen;
	uint64_t h;

	if (peer->sa_family == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)
		    (const void *)peer)->sin_addr;
		alen = 4;
	} else if (peer->sa_family == AF_INET6) {
		a = ((const struct sockaddr_in6 *)(const void *)peer)
		    ->sin6_addr.s6_addr;
		alen = 16;
		if (memcmp(a, mapped, sizeof(mapped)) == 0) {
			a += 12;
			alen = 4;
		}
	} else
		return 0;
	bits = alen == 4 ? r->prefix4 : r->prefix6;
	addr[0] = (uint8_t)alen;
	for (i = 0; i < alen && bits > 0; i++, bits -= bits > 8 ? 8 : bits)
		addr[1 + i] = bits >= 8 ? a[i] :
		    (uint8_t)(a[i] & (0xff00u >> bits));
	h = mix(r->seed ^ 0xcbf29ce484222325ULL, addr, 1 + alen);
	h = mix(h, &(uint8_t){ (uint8_t)cls }, 1);
	if (zone != NULL)
		h = mix(h, zone, strlen(zone) + 1);
	/* finish (splitmix64): the slot index takes every bit */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h != 0 ? h : 1;
}

/* rrl_check - charge one reply; send, drop or slip */
enum rrl_verdict
rrl_check(struct rrl *r, const struct sockaddr *peer, enum rrl_class cls,
    const char *zone, uint64_t now_ms)
{
	struct rrl_slot *s;
	uint64_t key, credit, max = (uint64_t)r->rate * MILLI;

	if (r->rate == 0 || r->slot == NULL ||
	    (r->nexempt > 0 && acl_in_prefixes(r->exempt, r->nexempt, peer)))
		return RRL_SEND;
	if ((key = key_of(r, peer, cls, zone)) == 0)
		return RRL_SEND;
	s = &r->slot[key % r->size];
	if (s->key != key) {
		/* empty, or another key's: a full bucket for this one */
		if (s->key == 0)
			r->used++;
		s->key = key;
		s->stamp = now_ms;
		s->credit = (uint32_t)max;
		s->limited = 0;
	} else if (now_ms > s->stamp) {
		credit = s->credit + (now_ms - s->stamp) * r->rate;
		if (now_ms - s->stamp > 1000)
			credit = max;	/* and no overflow */
		s->credit = (uint32_t)(credit < max ? credit : max);
		s->stamp = now_ms;
	} else if (s->credit > max)
		s->credit = (uint32_t)max;	/* the rate went down */
	if (s->credit >= MILLI) {
		s->credit -= MILLI;
		return RRL_SEND;
	}
	s->limited++;
	if (r->slip > 0 && s->limited % r->slip == 0)
		return RRL_SLIP;
	return RRL_DROP;
}

/*
 * rrl_slip_reply - header with TC=1, the question and the OPT: a reply
 * to a query with EDNS carries an OPT (RFC 6891 6.1.1), and the writers
 * append ours last (dnsmsg_finish, dnsmsg_error_reply)
 */
size_t
rrl_slip_reply(uint8_t *msg, size_t len)
{
	static const uint8_t opt_head[] = { 0, 0, 41 };
	const uint8_t *opt;
	size_t off = DNS_HDRLEN;
	bool q = false, edns;

	if (len < DNS_HDRLEN)
		return 0;
	if (msg[4] == 0 && msg[5] == 1) {
		/* the question's name is ours, uncompressed */
		while (off < len && msg[off] != 0 && msg[off] < 64)
			off += 1u + msg[off];
		q = off < len && msg[off] == 0 && off + 5 <= len;
	}
	off = q ? off + 5 : DNS_HDRLEN;
	opt = msg + len - DNS_OPT_LEN;
	edns = (msg[10] | msg[11]) != 0 && len >= off + DNS_OPT_LEN &&
	    memcmp(opt, opt_head, sizeof(opt_head)) == 0 &&
	    (opt[9] | opt[10]) == 0;
	if (edns)
		memmove(msg + off, opt, DNS_OPT_LEN);
	msg[2] |= DNS_FLAG_TC >> 8;
	msg[4] = 0;
	msg[5] = q ? 1 : 0;
	memset(msg + 6, 0, 6);
	msg[11] = edns ? 1 : 0;
	return off + (edns ? DNS_OPT_LEN : 0);
}

/* rrl_get_info - the settings and how full the table is */
void
rrl_get_info(const struct rrl *r, struct rrl_info *out)
{
	out->rate = r->rate;
	out->slip = r->slip;
	out->prefix4 = r->prefix4;
	out->prefix6 = r->prefix6;
	out->size = r->size;
	out->used = r->used;
	out->nexempt = r->nexempt;
}

void
rrl_free(struct rrl *r)
{
	if (r == NULL)
		return;
	free(r->slot);
	free(r->exempt);
	free(r);
}
