/*
 * failalloc.h -- make a chosen allocation fail, for out-of-memory tests.
 *
 * A test that includes this header is linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup (see
 * FAILALLOC_TESTS in the Makefile), so every such call in the test and in
 * the rblmux code linked into it comes here first; allocations made inside
 * libc itself (getline, fdopen, glob) are not seen. Unarmed, the wrappers
 * pass every call on. failalloc_arm(n, sticky) makes the n-th call from
 * then on fail with ENOMEM (and every later one too when sticky);
 * failalloc_disarm() stops that and returns how many calls were counted.
 *
 * The usual loop: for n = 1, 2, ... arm, run the code under test, disarm,
 * and check that it failed cleanly, until it succeeds with fewer than n
 * calls (every allocation it makes has then failed once). Run under ASan
 * (build/san/tests) it also shows that nothing leaks on any failure path.
 */
#ifndef RBLMUX_FAILALLOC_H
#define RBLMUX_FAILALLOC_H

#include <errno.h>
#include <stddef.h>

void	*__real_malloc(size_t);
void	*__real_calloc(size_t, size_t);
void	*__real_realloc(void *, size_t);
char	*__real_strdup(const char *);
void	*__wrap_malloc(size_t);
void	*__wrap_calloc(size_t, size_t);
void	*__wrap_realloc(void *, size_t);
char	*__wrap_strdup(const char *);

static unsigned long	fa_count;	/* calls since failalloc_arm() */
static unsigned long	fa_at;		/* the call that fails; 0 = off */
static int		fa_sticky;	/* the calls after it fail too */

/* fa_fail - count one call; should it fail? */
static int
fa_fail(void)
{
	if (fa_at == 0)
		return 0;
	fa_count++;
	if (fa_count == fa_at || (fa_sticky && fa_count > fa_at)) {
		errno = ENOMEM;
		return 1;
	}
	return 0;
}

void *
__wrap_malloc(size_t n)
{
	return fa_fail() ? NULL : __real_malloc(n);
}

void *
__wrap_calloc(size_t nmemb, size_t n)
{
	return fa_fail() ? NULL : __real_calloc(nmemb, n);
}

void *
__wrap_realloc(void *p, size_t n)
{
	return fa_fail() ? NULL : __real_realloc(p, n);
}

char *
__wrap_strdup(const char *s)
{
	return fa_fail() ? NULL : __real_strdup(s);
}

/* failalloc_arm - fail the n-th allocation from now (n >= 1) */
static inline void
failalloc_arm(unsigned long n, int sticky)
{
	fa_count = 0;
	fa_sticky = sticky;
	fa_at = n;
}

/* failalloc_disarm - stop failing; the number of calls counted */
static inline unsigned long
failalloc_disarm(void)
{
	fa_at = 0;
	return fa_count;
}

#endif /* RBLMUX_FAILALLOC_H */
