/*
 * stats.c -- counters in "name: value" form.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "stats.h"

static const char *const rcode_names[16] = {
	"noerror", "formerr", "servfail", "nxdomain", "notimp", "refused",
	"yxdomain", "yxrrset", "nxrrset", "notauth", "notzone", "rcode11",
	"rcode12", "rcode13", "rcode14", "rcode15",
};

_Static_assert(sizeof(struct stats) % sizeof(uint64_t) == 0,
    "struct stats holds uint64_t counters only");

/* stats_add - add one loop's counters to a total */
void
stats_add(struct stats *dst, const struct stats *src)
{
	size_t off, peak = offsetof(struct stats, tcp_queued_peak);
	uint64_t a, b;

	/* every member is a uint64_t: add them one by one, new ones too */
	for (off = 0; off < sizeof(*dst); off += sizeof(a)) {
		memcpy(&a, (char *)dst + off, sizeof(a));
		memcpy(&b, (const char *)src + off, sizeof(b));
		a = off == peak ? (a > b ? a : b) : a + b;
		memcpy((char *)dst + off, &a, sizeof(a));
	}
}

/* stats_sum - the counters of every loop together */
void
stats_sum(struct stats *total, const struct stats *const *loops, size_t n)
{
	size_t i;

	memset(total, 0, sizeof(*total));
	for (i = 0; i < n; i++)
		stats_add(total, loops[i]);
}

/* stats_format - all counters, one per line */
size_t
stats_format(const struct stats *st, char *buf, size_t cap)
{
	size_t len = 0;
	int i, n;

#define OUT(...) do {							\
	n = snprintf(buf + len, cap - len, __VA_ARGS__);		\
	if (n < 0 || (size_t)n >= cap - len) { len = cap - 1; goto out; } \
	len += (size_t)n;						\
} while (0)
	if (cap == 0)
		return 0;
	OUT("queries.udp: %" PRIu64 "\n", st->queries_udp);
	OUT("queries.tcp: %" PRIu64 "\n", st->queries_tcp);
	for (i = 0; i < 6; i++)
		OUT("answers.%s: %" PRIu64 "\n", rcode_names[i], st->rcode[i]);
	OUT("answers.badvers: %" PRIu64 "\n", st->badvers);
	OUT("answers.listed: %" PRIu64 "\n", st->answers_listed);
	OUT("answers.truncated: %" PRIu64 "\n", st->truncated);
	OUT("dropped.malformed: %" PRIu64 "\n", st->dropped);
	OUT("acl.refused: %" PRIu64 "\n", st->acl_refused);
	OUT("acl.dropped: %" PRIu64 "\n", st->acl_dropped);
	OUT("tcp.accepted: %" PRIu64 "\n", st->tcp_accepted);
	OUT("tcp.rejected: %" PRIu64 "\n", st->tcp_rejected);
	OUT("tcp.denied: %" PRIu64 "\n", st->tcp_denied);
	OUT("tcp.evicted: %" PRIu64 "\n", st->tcp_evicted);
	OUT("tcp.evicted.stalled: %" PRIu64 "\n", st->tcp_evicted_stalled);
	OUT("tcp.timeouts: %" PRIu64 "\n", st->tcp_timeouts);
	OUT("tcp.queued.peak: %" PRIu64 "\n", st->tcp_queued_peak);
	OUT("send.errors: %" PRIu64 "\n", st->send_errors);
	OUT("pending.parked: %" PRIu64 "\n", st->pending_parked);
	OUT("pending.exceeded: %" PRIu64 "\n", st->pending_exceeded);
	OUT("pending.expired: %" PRIu64 "\n", st->pending_expired);
	OUT("pending.answered: %" PRIu64 "\n", st->pending_answered);
	OUT("pending.now: %" PRIu64 "\n", st->pending_now);
	OUT("pending.gone: %" PRIu64 "\n", st->pending_gone);
	OUT("pending.peak: %" PRIu64 "\n", st->pending_peak);
	OUT("reloads: %" PRIu64 "\n", st->reloads);
	OUT("reloads.failed: %" PRIu64 "\n", st->reload_failures);
	OUT("upstream.lookups: %" PRIu64 "\n", st->upstream_lookups);
	OUT("upstream.queries: %" PRIu64 "\n", st->upstream_queries);
	OUT("upstream.timeouts: %" PRIu64 "\n", st->upstream_timeouts);
	OUT("upstream.errors: %" PRIu64 "\n", st->upstream_errors);
	OUT("upstream.mismatched: %" PRIu64 "\n", st->upstream_mismatched);
	OUT("upstream.tcp: %" PRIu64 "\n", st->upstream_tcp);
	OUT("upstream.coalesced: %" PRIu64 "\n", st->upstream_coalesced);
	OUT("upstream.skipped: %" PRIu64 "\n", st->upstream_skipped);
	OUT("upstream.failed: %" PRIu64 "\n", st->upstream_failed);
	OUT("cache.hits: %" PRIu64 "\n", st->cache_hits);
	OUT("cache.misses: %" PRIu64 "\n", st->cache_misses);
	OUT("cache.stale: %" PRIu64 "\n", st->cache_stale);
	OUT("cache.prefetches: %" PRIu64 "\n", st->cache_prefetches);
	OUT("rrl.dropped: %" PRIu64 "\n", st->rrl_dropped);
	OUT("rrl.slipped: %" PRIu64 "\n", st->rrl_slipped);
#undef OUT
out:
	buf[len] = '\0';
	return len;
}
