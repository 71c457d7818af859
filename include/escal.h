/*
 * escal.h -- escalation counts: how many distinct listed hosts each
 * network holds, and which networks are escalated (pure: no I/O, no
 * clock; the time is passed in).
 *
 * One struct escal_rule per `escalation:` rule and view. It counts, per
 * /prefix (IPv4) and /prefix6 (IPv6) network, the distinct entries its
 * sources list inside that network; a network is escalated when the
 * count reaches the threshold. What counts as one host: each distinct
 * listed entry (family, address, prefix length) narrower than the
 * rule's prefix, counted once however many sources list it -- a /32 or
 * a /128, and also a block inside the network (a /28 in a /24 rule, a
 * /64 in a /48 rule) counts as one. An entry as wide as the prefix or
 * wider lists the whole network already and counts nothing. Excluded
 * ("!") entries are not listed and count nothing; an address that an
 * exclusion of a source file covers is never listed by the rule, even
 * inside an escalated network.
 *
 * Three contributions:
 *   files     escal_file_add() for each entry of the source lists while
 *             the view is built (any one thread), then escal_file_done():
 *             sorted arrays, immutable afterwards (4 bytes an IPv4
 *             address, 8 an IPv4 block or network);
 *   dynamic   escal_dyn_change(): an entry of source list `src` added
 *             (present) or removed; repeated adds are idempotent;
 *   seen      escal_seen(): an upstream result listed the address at
 *             `now`; it counts until now + window, refreshed by each
 *             sighting; expiry is lazy (each lookup first drops what
 *             has expired, oldest first, in O(1) each).
 * The dynamic and seen entries live in hash tables (O(1) a change) and
 * move from one view's rule to the next with escal_carry(); the loop
 * thread owns them. A lookup is a binary search in the file counts and
 * one hash probe: it never scans a list and never allocates.
 */
#ifndef RBLMUX_ESCAL_H
#define RBLMUX_ESCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dyn.h"

/* Sources of one rule whose dynamic entries are told apart */
#define ESCAL_MAX_SRC	64
/* What escal_txt() writes at most (one TXT string) */
#define ESCAL_TXT_LEN	254

struct escal_params {
	unsigned	 prefix;	/* IPv4 network length, 1..32 */
	unsigned	 prefix6;	/* IPv6, 1..128 */
	unsigned	 threshold;	/* escalated from this count on, >= 1 */
	uint32_t	 window;	/* seconds a sighting counts */
};

struct escal_rule;

/* A new empty rule, or NULL when out of memory. */
struct escal_rule *escal_rule_new(const struct escal_params *p);
void	 escal_rule_free(struct escal_rule *r);	/* accepts NULL */

/*
 * Building (before the rule is shared): one entry of a source list file:
 * family AF_INET (key: the 4 address bytes, network order) or AF_INET6
 * (16 bytes), its prefix length, whether it is an exclusion. Other
 * families are ignored. Returns 0 or RBLMUX_ENOMEM.
 */
int	 escal_file_add(struct escal_rule *r, int family, const uint8_t *key,
	    unsigned plen, bool excluded);

/*
 * Building done: sort, drop repeats, count each network. Returns 0 or
 * RBLMUX_ENOMEM (the rule then counts no file entry).
 */
int	 escal_file_done(struct escal_rule *r);

/*
 * Dynamic entry (family, key, plen) of source src (0..ESCAL_MAX_SRC-1)
 * is now present or gone. Returns 0, or RBLMUX_ENOMEM (the change is
 * not counted), RBLMUX_EINVAL (src out of range).
 */
int	 escal_dyn_change(struct escal_rule *r, unsigned src, int family,
	    const uint8_t *key, unsigned plen, bool present);

/*
 * An upstream result listed the address (a /32 or /128) at now: it
 * counts until now + window. Returns 0 or RBLMUX_ENOMEM (not counted).
 */
int	 escal_seen(struct escal_rule *r, int family, const uint8_t *key,
	    time_t now);

/* Drop the sightings that have expired at now. */
void	 escal_expire(struct escal_rule *r, time_t now);

/*
 * How many times so far a sighting coming (escal_seen()) or expiring
 * made a network escalated or no longer: a change the served zones
 * publishing the rule must tell their secondaries.
 */
uint64_t escal_sight_flips(const struct escal_rule *r);

/*
 * Move the dynamic entries and sightings of from (a rule of the view
 * being replaced, same prefixes and sources) into to, which has its
 * files done and nothing live yet; from keeps none. Counts are made
 * again against to's files. Returns 0 or RBLMUX_ENOMEM (to then keeps
 * what fit: its counts stay consistent).
 */
int	 escal_carry(struct escal_rule *to, struct escal_rule *from);

/* What a lookup found. */
struct escal_hit {
	int		 family;
	uint8_t		 prefix[16];	/* the network, masked */
	unsigned	 plen;		/* the rule's prefix or prefix6 */
	uint32_t	 count;		/* distinct hosts listed inside */
	bool		 escalated;	/* count >= threshold */
	bool		 excluded;	/* a source file excludes the address */
};

/*
 * The network of an address (family AF_INET: 4 bytes, AF_INET6: 16) at
 * now: fills *h, returns true when the rule lists the address
 * (escalated, not excluded). Expired sightings are dropped first.
 */
bool	 escal_lookup(struct escal_rule *r, int family, const uint8_t *addr,
	    time_t now, struct escal_hit *h);

/*
 * The rule's TXT for hit h: "$count" becomes the count, "$prefix" the
 * network ("203.0.113.0/24", "2001:db8:1::/48"), "$$" a dollar sign;
 * any other "$" stays as written. At most cap bytes (no NUL); returns
 * the length, cut at cap.
 */
size_t	 escal_txt(const char *tmpl, const struct escal_hit *h, char *buf,
	    size_t cap);

/* "203.0.113.0/24" of h into buf (NUL-terminated, at most cap - 1). */
size_t	 escal_prefix_text(const struct escal_hit *h, char *buf, size_t cap);

/*
 * Visit every escalated network at now (files first, in address order,
 * then the networks only dynamic entries or sightings escalate, in no
 * particular order). fn's non-zero return stops the walk and is
 * returned. The rule must not change during the walk.
 */
typedef int escal_walk_fn(void *arg, const struct escal_hit *h);
int	 escal_walk(struct escal_rule *r, time_t now, escal_walk_fn *fn,
	    void *arg);

/* The parameters the rule was made with. */
const struct escal_params *escal_params(const struct escal_rule *r);

/*
 * Entries counted: distinct file entries and live ones; networks the
 * files list hosts in; bytes held.
 */
size_t	 escal_file_entries(const struct escal_rule *r);
size_t	 escal_live_entries(const struct escal_rule *r);
size_t	 escal_networks(const struct escal_rule *r);
size_t	 escal_memory(const struct escal_rule *r);

/*
 * The rules of a view (src/escal_view.c). view_build() counts each rule's
 * source list files (escal_view_build(), the reload thread); from then on
 * only the loop thread touches the rules: it moves the live counts on to
 * each new view (escal_view_carry(), before the view answers), feeds
 * dynamic entries and upstream sightings, and answers lookups.
 *
 * What counts for a rule: its local lists (files and dynamic entries;
 * name lists count nothing) and its upstream results (each listing the
 * upstream client stores or reads from the cache, for window: seconds).
 * An escalation named as a source of another counts nothing.
 */
struct view;
struct list_entry;

/* The index of the rule called name in v's config, or -1. */
int	 escal_view_index(const struct view *v, const char *name);

/* Build v->escal from v's lists. Returns 0 or RBLMUX_ENOMEM. */
int	 escal_view_build(struct view *v);
void	 escal_view_free(struct view *v);

/*
 * Move the dynamic entries and sightings of from's rules (may be NULL)
 * to the rules of to with the same name, prefixes, window and sources
 * (others start empty). Returns 0 or RBLMUX_ENOMEM (some were lost).
 */
int	 escal_view_carry(struct view *to, struct view *from);

/*
 * Count the dynamic entries of d (may be NULL) live at now in the rules
 * of v that have none yet (at start-up, and rules new or changed in a
 * reload: escal_view_carry() first). Returns 0 or RBLMUX_ENOMEM.
 */
int	 escal_view_feed(struct view *v, const struct dyn *d, time_t now);

/*
 * The dyn_on_change() hook (dyn.h): arg is the address of the loop's
 * current view pointer; calls escal_view_dyn() on that view.
 */
void	 escal_view_dyn_hook(void *arg, const char *list,
	    const struct list_entry *e, enum dyn_change what);

/*
 * Dynamic entry e of local list `list` is present or gone: every rule
 * with that list among its sources counts it. Returns 0 or
 * RBLMUX_ENOMEM (a rule could not count it).
 */
int	 escal_view_dyn(const struct view *v, const char *list,
	    const struct list_entry *e, bool present);

/*
 * Upstream cu (a clause of v's config, or of the one it was asked under:
 * found by name) listed the address with codes a[0..na-1] at now: every
 * rule with a result of it among its sources that these codes list
 * counts a sighting. Returns 0 or RBLMUX_ENOMEM. escal_view_listed_hook()
 * is the same as an upclient_on_listed() function (upstream.h), whose
 * arg is the address of the loop's current view pointer.
 */
struct conf_upstream;
int	 escal_view_seen(const struct view *v, const struct conf_upstream *cu,
	    const uint32_t *a, size_t na, int family, const uint8_t *addr,
	    time_t now);
void	 escal_view_listed_hook(void *arg, const struct conf_upstream *cu,
	    const uint32_t *a, size_t na, int family, const uint8_t *addr,
	    time_t now);

/*
 * Does a rule of v count results of upstream cu (found as by
 * escal_view_seen())? When none does, a listing need not be told at all.
 * escal_view_listed_wants() is the same as an upclient_listed_wants_fn
 * (upstream.h), arg the address of the loop's current view pointer.
 */
bool	 escal_view_counts(const struct view *v,
	    const struct conf_upstream *cu);
bool	 escal_view_listed_wants(void *arg, const struct conf_upstream *cu);

/*
 * Told (loop thread) that sightings made a network of rule number rule
 * of v escalated or no longer: the serve: zones publishing it change.
 * One function; escal_view_listed_hook() and escal_view_sightings()
 * call it.
 */
typedef void escal_view_change_fn(void *arg, struct view *v, int rule);
void	 escal_view_on_change(escal_view_change_fn *fn, void *arg);

/*
 * Drop the sightings of v's rules that have expired at now, and tell the
 * escal_view_on_change() function of each rule whose networks sightings
 * escalated or ended since it was last told (also those a lookup's lazy
 * expiry ended). Called once a second and after each sighting.
 */
void	 escal_view_sightings(struct view *v, time_t now);

/*
 * One address (family AF_INET: 4 bytes, AF_INET6: 16): does rule number
 * `rule` (vsource.escal) list it at now? *h says the network and count.
 */
bool	 escal_view_lookup(const struct view *v, int rule, int family,
	    const uint8_t *addr, time_t now, struct escal_hit *h);

/* The same for a query's subject (answer.h): names are never listed,
   h->family 0. */
struct subject;
bool	 escal_view_subject(const struct view *v, int rule,
	    const struct subject *s, time_t now, struct escal_hit *h);

/* The rule's TXT for h (its txt:, else "$count listed addresses in
   $prefix"), as escal_txt(). */
size_t	 escal_view_txt(const struct view *v, int rule,
	    const struct escal_hit *h, char *buf, size_t cap);

/*
 * Visit the escalated networks of a rule as list entries, for export and
 * zone transfers: e->key and e->plen the network (the rule's prefix or
 * prefix6), one value (e->vals[0]): A the rule's value:, its TTL, and
 * its TXT expanded for that network, written as a template that
 * list_txt_expand() gives back verbatim ("$" doubled). h has the count.
 * A non-zero return of fn stops the walk and is returned.
 */
typedef int escal_entry_fn(void *arg, const struct list_entry *e,
    const struct escal_hit *h);
int	 escal_view_walk(const struct view *v, int rule, time_t now,
	    escal_entry_fn *fn, void *arg);

#endif /* RBLMUX_ESCAL_H */
