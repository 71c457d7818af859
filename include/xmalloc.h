/*
 * xmalloc.h -- allocation that cannot fail (it exits instead).
 *
 * For start-up only: before the server answers, exiting is the right
 * answer to a machine without memory. Code that runs per query, in the
 * reload thread or in the event loop after start-up must use malloc()
 * and handle NULL, as conf_load() and acl_new() do (they run on
 * reload). docs/DESIGN.md "Errors" lists the paths that may still exit.
 */
#ifndef RBLMUX_XMALLOC_H
#define RBLMUX_XMALLOC_H

#include <stddef.h>

void	*xmalloc(size_t size);
void	*xcalloc(size_t nmemb, size_t size);
char	*xstrdup(const char *s);

#endif /* RBLMUX_XMALLOC_H */
