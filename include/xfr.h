/*
 * xfr.h -- publishing served zones: SOA serial, AXFR/IXFR, NOTIFY.
 *
 * Serial (RFC 1982): each served zone keeps one across views. A view
 * about to be served (xfr_apply) gets, per served zone, the serial the
 * zone had when its data is the same (same config of the zone, same
 * list data: the files' identities and load), else a greater one:
 * max(previous + 1, the time in seconds). A change without a reload
 * (dynamic entries, escalations: xfr_list_changed) does the same. The
 * serial and the data's fingerprint are kept in state-dir/xfr-serial,
 * so a restart over the same data keeps the serial and a restart over
 * new data never goes back.
 *
 * AXFR (RFC 5936) over TCP only, to clients that allow-transfer: lists
 * (others REFUSED, and over UDP always REFUSED): SOA, NS, the zone's
 * records (zdump.h), SOA, in messages of up to XFR_MSG_MAX bytes with
 * owners compressed against the question. The transfer is a srv
 * stream: the next message is made when the client has read the last
 * ones, from the view the transfer started under (a reference is held),
 * so a transfer costs the loop about one message per client per
 * iteration and a client that stops reading costs nothing but its
 * connection. IXFR (RFC 1995): the client's serial current or newer:
 * that SOA alone; else the whole zone as an AXFR answers it. A zone
 * over data past its $TIMESTAMP expiry answers SERVFAIL, as to queries.
 *
 * NOTIFY (RFC 1996): on every new serial, to the zone's notify:
 * targets (default: the allow-transfer addresses that are single hosts,
 * port 53), over UDP from one socket per family, sent again after 2, 4,
 * 8 s until the target answers (5 sends at most); changes within a
 * second are told in one NOTIFY.
 *
 * Loop thread only.
 */
#ifndef RBLMUX_XFR_H
#define RBLMUX_XFR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "dyn.h"

#define XFR_MSG_MAX	16384	/* bytes of records per AXFR message */
#define XFR_NOTIFY_TRIES 5

struct ev_loop;
struct view;
struct dns_query;
struct srv_origin;
struct stats;
struct xfr;

/* The daemon's publisher (NULL until main.c makes it). */
extern struct xfr *xfr_main;

/* A publisher on loop. NULL when out of memory. */
struct xfr	*xfr_new(struct ev_loop *loop);
void		 xfr_free(struct xfr *x);	/* accepts NULL */

/*
 * v is about to be served: set its served zones' serials (see above),
 * write them into the view's SOA, and NOTIFY the secondaries of every
 * zone whose serial grew. The first call reads state-dir/xfr-serial.
 */
void		 xfr_apply(struct xfr *x, struct view *v);

/*
 * The data of list changed without a reload: every served zone of v
 * that serves (or exempts) it, or serves an escalation that counts it,
 * gets a new serial, in v too, and its secondaries a NOTIFY. For
 * dyn_on_change. The publisher also sets zdump_more: the blocks of
 * dynamic entries and escalated networks (loop thread only).
 */
void		 xfr_list_changed(struct xfr *x, struct view *v,
		    const char *list);

/*
 * Escalations that upstream sightings make or end (escal.h) change the
 * zones that publish them as dynamic entries do: tell them (a new serial
 * and a NOTIFY, coalesced the same way) after each sighting and, for
 * sightings that expire, once a second. cur: where the loop's current
 * view pointer is.
 */
void		 xfr_watch_sightings(struct xfr *x, struct view **cur);

/*
 * dyn_change_fn (arg: where the current view pointer is): a dynamic
 * entry came or went, xfr_list_changed() for its list.
 */
void		 xfr_dyn_hook(void *arg, const char *list,
		    const struct list_entry *e, enum dyn_change what);

/* The serial zone has now (0 when it is not a served zone). */
uint32_t	 xfr_serial(const struct xfr *x, const char *zone);

/*
 * A query of type AXFR or IXFR (q parsed from msg; an IXFR carries the
 * client's SOA in its authority section, which the parser calls
 * FORMERR: rc is the parser's verdict). Answers as a srv handler does:
 * the reply length in out, or SRV_STREAMING once the transfer runs.
 */
size_t		 xfr_query(struct xfr *x, struct view *v,
		    const struct dns_query *q, int rc, const uint8_t *msg,
		    size_t len, const struct sockaddr *peer, bool tcp,
		    const struct srv_origin *from, uint8_t *out, size_t cap,
		    struct stats *st);

/* Is serial a later than b (RFC 1982)? */
bool		 xfr_serial_gt(uint32_t a, uint32_t b);

/* The serial after prev at time now: max(prev + 1, now) */
uint32_t	 xfr_serial_next(uint32_t prev, time_t now);

#endif /* RBLMUX_XFR_H */
