/*
 * xmalloc.c -- allocation for start-up paths: out of memory is fatal.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"

/* xmalloc - malloc or die */
void *
xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		fatal("xmalloc %zu", size);
	return p;
}

/* xcalloc - calloc or die */
void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		fatal("xcalloc %zu*%zu", nmemb, size);
	return p;
}

/* xreallocarray - resize an array with overflow check, or die */
void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	void *p;

	if (size != 0 && nmemb > SIZE_MAX / size)
		fatalx("xreallocarray: %zu*%zu overflows", nmemb, size);
	p = realloc(ptr, (nmemb && size) ? nmemb * size : 1);
	if (p == NULL)
		fatal("xreallocarray %zu*%zu", nmemb, size);
	return p;
}

/* xstrdup - strdup or die */
char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		fatal("xstrdup");
	return p;
}
