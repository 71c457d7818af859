/*
 * stats.c -- counters in "name: value" form.
 */
#include <inttypes.h>
#include <stdio.h>

#include "stats.h"

static const char *const rcode_names[16] = {
	"noerror", "formerr", "servfail", "nxdomain", "notimp", "refused",
	"yxdomain", "yxrrset", "nxrrset", "notauth", "notzone", "rcode11",
	"rcode12", "rcode13", "rcode14", "rcode15",
};

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
	OUT("pending.gone: %" PRIu64 "\n", st->pending_gone);
	OUT("pending.peak: %" PRIu64 "\n", st->pending_peak);
	OUT("reloads: %" PRIu64 "\n", st->reloads);
	OUT("reloads.failed: %" PRIu64 "\n", st->reload_failures);
#undef OUT
out:
	buf[len] = '\0';
	return len;
}
