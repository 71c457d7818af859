/*
 * merge.h -- combine the results that list one subject into one answer.
 *
 * Pure functions: no I/O, no clock, no allocation. The caller (answer.c)
 * collects one merge_hit per result that lists the subject and asks for
 * the A records, TTL and TXT of the zone's answer style:
 *   bitmask  one A: 127.0.0.0 | OR of the bits (bits may grow into
 *            127.0.x.y); TTL = min of the hits, clamped
 *   each     one A per hit: the value configured for the result, else
 *            the result's own value (duplicates collapse)
 *   score    one A: 127.0.0.N, N = sum of weights capped at 255; a sum
 *            of 0 or less is not a listing (NXDOMAIN)
 * TXT names every contributing result and its reason.
 */
#ifndef RBLMUX_MERGE_H
#define RBLMUX_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

#define MERGE_MAX_A	64

/* One result that lists the subject. */
struct merge_hit {
	const char	*name;		/* result name */
	uint32_t	 bit;		/* bitmask zones */
	uint32_t	 value;		/* each zones: configured A, 0 = own */
	int		 weight;	/* score zones */
	uint32_t	 own_a;		/* the result's own answer (host order) */
	uint32_t	 ttl;		/* the result's TTL */
	const char	*txt;		/* reason, may be NULL */
	size_t		 txt_len;
};

struct merge_out {
	uint32_t	 a[MERGE_MAX_A];	/* host order */
	int		 na;
	uint32_t	 ttl;			/* clamped */
	uint32_t	 mask;			/* bitmask zones */
	int		 score;			/* score zones, clamped */
};

/* Clamp ttl into [min, max]; max 0 = no upper bound. */
uint32_t merge_clamp_ttl(uint32_t ttl, uint32_t min, uint32_t max);

/*
 * Merge n hits for a zone answering in style mode. Returns 1 and fills
 * *out when the subject is listed, 0 when it is not (no hits, a bitmask
 * zone where no hit has a bit, a score zone where the weights sum to 0 or
 * less).
 */
int	 merge_answer(enum conf_answer mode, const struct merge_hit *hits,
	    size_t n, uint32_t ttl_min, uint32_t ttl_max, struct merge_out *out);

/*
 * Write the TXT text naming each hit: "NAME: reason; NAME: reason". A hit
 * without a reason appears as "NAME: listed". Returns the length written
 * (at most cap, no NUL).
 */
size_t	 merge_txt(const struct merge_hit *hits, size_t n, char *buf,
	    size_t cap);

#endif /* RBLMUX_MERGE_H */
