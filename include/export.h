/*
 * export.h -- `rblmuxctl export`: a list or a served zone written to a
 * file without holding the loop up: a list's file data by a thread, a
 * zone (whose lookups read dynamic entries and escalations, which the
 * loop owns) in the loop, a few thousand records an iteration.
 *
 * Formats:
 *   rbldnsd, of a LIST: the list's data as rbldnsd reads it back: one
 *     line per entry (addresses, blocks and prefixes as CIDR; dnset
 *     names, "*.name"; "!" exclusions), each with its value ":A:TXT"
 *     ("$" in the text kept), a $TTL line first: its live dynamic
 *     entries (written in the loop, which owns them), then its files'
 *     entries (by a thread: they never change).
 *   rbldnsd, of a ZONE: the served zone's merged data (every list of
 *     it, allowlists and test points applied) as one ip4set (IPv4
 *     lists) or ip6trie (IPv6 lists) file: the zone's records (zdump.h)
 *     back as blocks and addresses, "!" for blocks that list nothing.
 *   zone, of a served ZONE: a master file (RFC 1035 5) with $ORIGIN and
 *     $TTL, SOA (the current serial), NS and the records an AXFR sends,
 *     which nsd-checkzone and Knot load as they are.
 * The view is held until the file is written.
 */
#ifndef RBLMUX_EXPORT_H
#define RBLMUX_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct ev_loop;
struct view;
struct export_job;

/* Called in the loop when the file is written (ok) or not, with a line
   of text to answer */
typedef void export_done_fn(void *arg, bool ok, const char *text);

/*
 * Start writing name (a list or a served zone of v) in format
 * ("rbldnsd" or "zone") to path: a new file beside it (the old file's
 * mode, else 0644 less the umask), synced and renamed over it when
 * complete, removed on any error (the old file stays as it was),
 * serial being the zone's current serial. Returns 0 and *out, or
 * RBLMUX_EINVAL with the reason in err (no such list or zone, a format
 * that does not fit it, a path that is not a regular file), or another
 * negative code (no thread, memory).
 */
int	 export_start(struct ev_loop *loop, struct view *v, const char *name,
	    const char *format, const char *path, uint32_t serial,
	    export_done_fn *done, void *arg, struct export_job **out,
	    char *err, size_t errcap);

/* The asker went away: finish, but call nobody. */
void	 export_cancel(struct export_job *j);

/*
 * The server is stopping: end every export now, in the loop, and answer
 * those not cancelled. A file a thread is writing or syncing is waited
 * for, its outcome the answer; a zone still being written in the loop
 * is given up, its temporary file removed (the old file stays).
 */
void	 export_stop_all(void);


#endif /* RBLMUX_EXPORT_H */
