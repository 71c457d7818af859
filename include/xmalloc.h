/*
 * xmalloc.h -- allocation that cannot fail (it exits instead).
 *
 * For start-up and configuration paths only. Code that runs per query or
 * during a reload in the background must use malloc() and handle NULL.
 */
#ifndef RBLMUX_XMALLOC_H
#define RBLMUX_XMALLOC_H

#include <stddef.h>

void	*xmalloc(size_t size);
void	*xcalloc(size_t nmemb, size_t size);
void	*xreallocarray(void *ptr, size_t nmemb, size_t size);
char	*xstrdup(const char *s);

#endif /* RBLMUX_XMALLOC_H */
