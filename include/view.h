/*
 * view.h -- one immutable snapshot of what the server answers from.
 *
 * A view binds a validated config to its loaded lists and compiles each
 * zone for the query path: apex in wire form, the sources (results) that
 * take part with their bit/value/weight, allowlists, SOA/NS data. Views
 * are built off to the side (a reload thread may build one while the event
 * loop keeps answering from the current one) and swapped in whole.
 *
 * Lists are shared between successive views when their files did not
 * change, and kept from the previous view when a reload of their files
 * finds errors (a broken download never replaces good data); warnings
 * alone never keep a list from loading. A list kept because loading
 * failed for a passing reason (no memory or descriptors, a file
 * rewritten while read) is read again at the next check.
 *
 * Zones are found through a hash table of their apex names built with the
 * view: answer_find_zone() probes it once for each apex depth (number of
 * labels) that some zone has, the longest first, so the lookup costs the
 * same whatever the number of zones.
 *
 * The view also carries what the query path needs from the config in
 * compiled form: the access-control list (struct view owns it, freed with
 * the view) and the TCP limits, applied to the server when the view is
 * swapped in. Result names (local lists, upstreams and their codes) are
 * bound through a sorted name index built once per view: each upstream
 * source carries the index of its upstream (and code) in the config, so
 * no later code compares names.
 *
 * An upstream with `mirror: yes` also gets a zone of its own name: a
 * served zone whose sources are the upstream's results (each of its
 * code: results, else its own), so it answers the upstream's original
 * codes and TXT through the cache (transparent mode). Its SOA and NS are
 * the defaults of a zone without soa: and ns: lines.
 *
 * Reference counts are atomic; a view and everything it points to is
 * read-only once view_build() returns, but for the SOA serial of each
 * served zone (vzone.serial and its bytes in soa_rdata), which the
 * publisher (xfr.c) sets in the loop thread before the view answers and
 * when dynamic data changes.
 */
#ifndef RBLMUX_VIEW_H
#define RBLMUX_VIEW_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "conf.h"
#include "dnsmsg.h"
#include "list.h"

/* A config shared by the views built from it. */
struct vconf {
	struct conf	*c;
	atomic_int	 refs;
};

/* Identity of one list file at load time, to notice changes. */
struct vfile {
	char			*path;	/* resolved path */
	struct list_file_id	 id;
};

struct dyn_list;

/* A loaded local list, shared by views. */
struct vlist {
	char		*name;
	enum list_type	 type;
	uint32_t	 default_ttl;	/* the load options it was built with */
	uint64_t	 max_memory;
	struct list	*list;		/* loaded from files, or NULL */
	const struct list *data;	/* what lookups use: list, or the
					   data of kept */
	struct vlist	*kept;		/* files not loaded: data kept from
					   this earlier version (referenced) */
	int		 kept_err;	/* why: the load's error, or
					   RBLMUX_EPARSE for bad lines */
	bool		 retry;		/* kept for a passing reason: read
					   again at the next check */
	struct vfile	*files;
	size_t		 nfiles;
	time_t		 loaded;	/* when */
	double		 load_secs;	/* how long it took */
	unsigned	 errors;	/* lines or files not used, at load */
	unsigned	 warnings;	/* lines used with a remark, at load */
	struct dyn_list	*dyn;		/* its dynamic entries (dyn.h): set
					   by the loop (dyn_bind()) before
					   the view answers; NULL: none */
	atomic_int	 refs;
};

enum vsource_kind {
	VSRC_LIST = 0,		/* a local list */
	VSRC_UPSTREAM,		/* an upstream result (not served yet) */
	VSRC_ESCALATION,	/* an escalation rule */
};

/* A result taking part in a zone. */
struct vsource {
	const char		*name;		/* result name (borrowed from conf) */
	enum vsource_kind	 kind;
	const struct vlist	*vl;		/* VSRC_LIST */
	const struct conf_list	*cl;		/* VSRC_LIST */
	int			 upstream;	/* VSRC_UPSTREAM: index into
						   conf->upstreams, else -1 */
	int			 code;		/* VSRC_UPSTREAM: index into that
						   upstream's codes, -1 = its
						   own result */
	int			 escal;		/* VSRC_ESCALATION: index into
						   view->escal, else -1 */
	uint32_t		 bit;		/* bitmask zones */
	uint32_t		 value;		/* each zones; 0 = own value */
	int			 weight;	/* score zones */
	time_t			 expires;	/* $TIMESTAMP expiry of its list's
						   data, 0 = none */
	uint8_t			 label[64];	/* result name as a wire label */
};

#define VFAM_IP4	0x1
#define VFAM_IP6	0x2
#define VFAM_NAME	0x4

struct vzone {
	const struct conf_zone	*cz;
	const char		*name;
	uint8_t			 apex[DNS_MAXNAME];	/* wire, lower case */
	size_t			 apex_len;
	unsigned		 apex_labels;
	bool			 serve;
	enum conf_answer	 answer;
	struct vsource		*src;
	size_t			 nsrc;
	const struct vlist	**exempt;
	size_t			 nexempt;
	unsigned		 families;	/* VFAM_* the zone answers */
	uint32_t		 serial;
	uint32_t		 ttl_min;	/* answer TTL bounds, max 0 = none: */
	uint32_t		 ttl_max;	/* a serve: zone without ttl-max
						   keeps its lists' own TTLs */
	time_t			 expires;	/* serve: the earliest expiry of its
						   lists' data, 0 = none; past it
						   the zone answers SERVFAIL */
	uint32_t		 neg_ttl;	/* SOA in negative answers */
	uint8_t			 soa_rdata[2 * DNS_MAXNAME + 20]; /* wire form */
	size_t			 soa_rdlen;
	bool			 mirror;	/* an upstream's own zone
						   (mirror: yes) */
};

/* One slot of the apex hash table. */
struct vzone_slot {
	uint32_t		 hash;		/* view_zhash() of the apex */
	uint32_t		 zone;		/* index + 1; 0 = empty */
};

/* What a result name stands for, in the view's name index. */
struct vname {
	const char		*name;		/* borrowed from conf */
	enum vsource_kind	 kind;		/* VSRC_LIST or VSRC_UPSTREAM */
	int			 index;		/* into conf->lists or
						   conf->upstreams */
	int			 code;		/* VSRC_UPSTREAM: into its codes,
						   -1 = the upstream's own */
};

/*
 * An escalation rule of a view (escal.h): its counts, built with the view
 * from its source lists' files; the dynamic entries and upstream
 * sightings in it belong to the loop thread and move on to the next
 * view's rule of the same name (escal_view_carry()).
 */
struct escal_rule;
struct vescal {
	const struct conf_escalation *ce;
	struct escal_rule	*rule;
	struct vsource		*src;		/* its sources, bound as a
						   zone's are */
	size_t			 nsrc;
	uint32_t		 ttl;		/* of its answers: the smallest
						   of its lists' TTLs */
	double			 build_secs;	/* counting the files took */
	bool			 live;		/* loop: given its dynamic
						   entries (carried or fed) */
	uint64_t		 flips_told;	/* loop: escal_sight_flips() told
						   to escal_view_on_change() */
};

/* The TCP limits of a config, as srv_set_limits() takes them. */
struct vtcp {
	unsigned		 max_clients;	/* as configured, not clamped */
	double			 idle_timeout;	/* seconds */
	double			 message_timeout;
};

struct acl;

struct view {
	struct vconf		*vc;
	const struct conf	*conf;		/* == vc->c */
	struct vlist		**lists;	/* parallel to conf->lists */
	size_t			 nlists;
	struct vzone		*zones;		/* the config's, then one per
						   mirror: yes upstream */
	size_t			 nzones;
	struct conf_zone	*mirrors;	/* the mirrored upstreams' zones
						   (owned) */
	size_t			 nmirrors;
	struct vzone_slot	*ztab;		/* apex hash table, open
						   addressing */
	size_t			 ztab_mask;	/* slots - 1 (a power of two) */
	uint64_t		 zdepths[2];	/* bit n: some apex has n labels */
	unsigned		 zmaxdepth;	/* most labels of any apex */
	struct vescal		*escal;		/* parallel to conf->escalations */
	size_t			 nescal;
	struct vname		*names;		/* sorted by name */
	size_t			 nnames;
	struct acl		*acl;		/* access control (owned) */
	struct vtcp		 tcp;
	time_t			 built;
	atomic_int		 refs;
};

/*
 * Called for each problem found while building (file may be NULL), with
 * its severity: an error kept data from being used, a warning did not.
 * At most VIEW_MSG_MAX errors and as many warnings are passed on per
 * list, then one line that counts the rest.
 */
typedef void view_report_fn(void *arg, enum list_severity sev,
    const char *file, unsigned line, const char *msg);
#define VIEW_MSG_MAX	25

/* Reads of a list file that changes while it is read, when there is no
   earlier version of the list to keep serving */
#define VIEW_CHANGED_TRIES	4

/*
 * Build a view from vc (a reference is taken). Lists of old (may be NULL)
 * whose files are unchanged are shared instead of loaded again; when a
 * list's files fail to load or have errors and old has that list, old's
 * data is kept -- without an earlier version (at start-up, or a list new
 * in the config) lines with errors are skipped and the rest is used, and
 * a file that changes while it is read is read again, up to
 * VIEW_CHANGED_TRIES times. Problems are reported through report.
 * The view's access control and TCP limits come from vc's server:
 * clause. Returns 0 and *out (one reference, release with view_unref()),
 * or a negative RBLMUX_E* code (RBLMUX_ENOMEM: everything built so far
 * was released; vc NULL counts as that).
 */
int	 view_build(struct vconf *vc, const struct view *old,
	    view_report_fn *report, void *arg, struct view **out);

void	 view_ref(struct view *v);
void	 view_unref(struct view *v);		/* accepts NULL */

/* Takes ownership of c; NULL (c freed) when out of memory. */
struct vconf	*vconf_new(struct conf *c);
void		 vconf_unref(struct vconf *vc);	/* accepts NULL */

/*
 * 1 if a file of any list in v changed since it was loaded, or a list
 * waits to be read again after a passing failure (vlist.retry), else 0.
 */
int	 view_lists_changed(const struct view *v);

/*
 * What name stands for in v (a local list, an upstream, or a code of
 * one; exact case), or NULL. A binary search of the name index.
 */
const struct vname *view_name(const struct view *v, const char *name);

/*
 * Bind src to the result called name in v (a local list, an upstream
 * result, else an escalation rule): what view_build() does for each
 * source of a zone or an escalation rule.
 */
void	 view_bind_source(const struct view *v, const char *name,
	    struct vsource *src);

/* Find a zone by name (any case, trailing dot optional), or NULL. */
const struct vzone *view_zone(const struct view *v, const char *name);

/* The apex hash of a wire name (lower case), eight bytes at a time. */
static inline uint32_t
view_zhash(const uint8_t *p, size_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ len, w;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 31;
	}
	for (w = 0; len > 0; len--)
		w = w << 8 | p[len - 1];
	h = (h ^ w) * 0x94d049bb133111ebULL;
	return (uint32_t)(h ^ h >> 32);
}

/* Is there a zone whose apex has this many labels? */
static inline int
view_zdepth(const struct view *v, unsigned labels)
{
	return labels < 128 && (v->zdepths[labels >> 6] >> (labels & 63) & 1);
}

/*
 * The zone whose apex is the wire name (len bytes, lower case) with
 * hash h (view_zhash), or NULL.
 */
const struct vzone *view_zone_probe(const struct view *v, uint32_t h,
	    const uint8_t *wire, size_t len);

/*
 * The $TIMESTAMP expiry of vl's data when it lies before now (the data
 * has expired, as rbldnsd counts it), else 0.
 */
time_t	 view_list_expired(const struct vlist *vl, time_t now);

#endif /* RBLMUX_VIEW_H */
