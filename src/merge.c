/*
 * merge.c -- combine per-result listings into one answer (pure).
 */
#include <string.h>

#include "merge.h"

/* merge_clamp_ttl - keep a TTL inside the configured bounds */
uint32_t
merge_clamp_ttl(uint32_t ttl, uint32_t min, uint32_t max)
{
	if (max != 0 && ttl > max)
		ttl = max;
	if (ttl < min)
		ttl = min;
	return ttl;
}

/* add_a - append an A value unless already present */
static void
add_a(struct merge_out *out, uint32_t a)
{
	int i;

	for (i = 0; i < out->na; i++)
		if (out->a[i] == a)
			return;
	if (out->na < MERGE_MAX_A)
		out->a[out->na++] = a;
}

/* merge_answer - the zone's answer for the results that list a subject */
int
merge_answer(enum conf_answer mode, const struct merge_hit *hits, size_t n,
    uint32_t ttl_min, uint32_t ttl_max, struct merge_out *out)
{
	uint32_t ttl = UINT32_MAX, mask = 0;
	long score = 0;
	size_t i;

	if (n == 0)
		return 0;
	memset(out, 0, sizeof(*out));
	for (i = 0; i < n; i++) {
		if (hits[i].ttl < ttl)
			ttl = hits[i].ttl;
		mask |= hits[i].bit;
		score += hits[i].weight;
	}
	switch (mode) {
	case ANSWER_BITMASK:
		/*
		 * Bits are powers of two from 2 up; 1 stays clear so the
		 * answer is never 127.0.0.1 (RFC 5782 2.1). Up to bit 2^23
		 * the value fits below 127.0.0.0/8.
		 */
		mask &= 0x00fffffeU;
		if (mask == 0)
			return 0;
		out->mask = mask;
		add_a(out, 0x7f000000U | mask);
		break;
	case ANSWER_EACH:
		for (i = 0; i < n; i++)
			add_a(out, hits[i].value ? hits[i].value : hits[i].own_a);
		break;
	case ANSWER_SCORE:
		/*
		 * postscreen-style: allowlists carry negative weights. A net
		 * score of zero or less is "not listed": 127.0.0.0 would read
		 * as a listing to any client that does not filter values.
		 */
		if (score <= 0)
			return 0;
		if (score > 255)
			score = 255;
		out->score = (int)score;
		add_a(out, 0x7f000000U | (uint32_t)score);
		break;
	}
	out->ttl = merge_clamp_ttl(ttl, ttl_min, ttl_max);
	return 1;
}

/* put - append bytes, clipping at cap */
static size_t
put(char *buf, size_t cap, size_t len, const char *s, size_t n)
{
	if (len >= cap)
		return len;
	if (n > cap - len)
		n = cap - len;
	memcpy(buf + len, s, n);
	return len + n;
}

/* merge_txt - "NAME: reason; NAME: reason" for the TXT answer */
size_t
merge_txt(const struct merge_hit *hits, size_t n, char *buf, size_t cap)
{
	size_t i, len = 0;

	for (i = 0; i < n; i++) {
		if (i > 0)
			len = put(buf, cap, len, "; ", 2);
		len = put(buf, cap, len, hits[i].name, strlen(hits[i].name));
		len = put(buf, cap, len, ": ", 2);
		if (hits[i].txt != NULL && hits[i].txt_len > 0)
			len = put(buf, cap, len, hits[i].txt, hits[i].txt_len);
		else
			len = put(buf, cap, len, "listed", 6);
	}
	return len;
}
