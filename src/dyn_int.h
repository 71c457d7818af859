/*
 * dyn_int.h -- what dyn.c (the index) and dyn_store.c (the LMDB store,
 * parsing, add/del/expire) share. Not for other modules: see dyn.h.
 */
#ifndef RBLMUX_DYN_INT_H
#define RBLMUX_DYN_INT_H

#include <ev.h>
#include <lmdb.h>

#include "dyn.h"

struct dyn_ent {
	struct list_entry	 le;	/* what walks and hooks see */
	struct list_value	 val;
	const struct list_value	*valp;	/* le.vals points here */
	struct dyn_info		 info;
	struct dyn_list		*dl;
	uint64_t		 hash;
	size_t			 heap;	/* index + 1 in the heap; 0: none */
	char			*reason;
	char			 text[];	/* info.text, then le.name */
};

/* A name with entries below it: how many (its hash only, 64 bits) */
struct dyn_anc {
	uint64_t		 h;		/* 0: free */
	uint32_t		 n;
};

struct hook {
	dyn_change_fn		*fn;
	void			*arg;
};

struct dyn {
	MDB_env			*env;		/* NULL: not usable */
	MDB_dbi			 dbi;
	char			*path;
	char			 err[512];	/* why not usable */
	struct dyn_list		*lists;
	struct dyn_ent		**heap;		/* by expiry, earliest first */
	size_t			 nheap, capheap;
	struct hook		 hooks[DYN_HOOKS_MAX];
	size_t			 nhooks;
	struct ev_loop		*loop;
	ev_timer		 timer;
};

/* dyn.c: the index of a list, the expiry heap and entries */
struct dyn_ent	*dyn_tab_get(const struct dyn_list *dl,
		    const struct list_entry *e);
int		 dyn_tab_reserve(struct dyn_list *dl);	/* room for one */
void		 dyn_tab_insert(struct dyn_list *dl, struct dyn_ent *e);
void		 dyn_tab_remove(struct dyn_list *dl, struct dyn_ent *e);
int		 dyn_anc_reserve(struct dyn_list *dl, const struct dyn_ent *e);
int		 dyn_heap_reserve(struct dyn *d);	/* room for one */
void		 dyn_heap_put(struct dyn *d, struct dyn_ent *e);
void		 dyn_heap_remove(struct dyn *d, struct dyn_ent *e);
struct dyn_ent	*dyn_ent_new(struct dyn_list *dl, const struct dyn_key *k);
void		 dyn_ent_set(struct dyn_ent *e, uint32_t value, char *reason,
		    time_t added, time_t refreshed, time_t expires);
void		 dyn_ent_free(struct dyn_ent *e);
void		 dyn_list_free(struct dyn_list *dl);

#endif /* RBLMUX_DYN_INT_H */
