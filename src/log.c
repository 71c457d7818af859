/*
 * log.c -- stderr or syslog logging with OpenBSD-style levels.
 *
 * Under systemd (JOURNAL_STREAM set) stderr lines carry "<N>" priority
 * prefixes so the journal keeps the severity.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static int	log_stderr = 1;
static int	log_verbose;
static int	log_journal;

static void	vlog(int pri, const char *fmt, va_list ap, int errnum)
		    __attribute__((format(printf, 2, 0)));

/* log_init - choose the destination and verbosity */
void
log_init(const char *ident, int to_stderr, int verbose)
{
	log_stderr = to_stderr;
	log_verbose = verbose;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_setverbose(int verbose)
{
	log_verbose = verbose;
}

int
log_getverbose(void)
{
	return log_verbose;
}

/* vlog - format one message and send it to its destination */
static void
vlog(int pri, const char *fmt, va_list ap, int errnum)
{
	char msg[1024];
	int n;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	if (errnum && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(errnum));
	if (!log_stderr) {
		syslog(pri, "%s", msg);
		return;
	}
	if (log_journal)
		fprintf(stderr, "<%d>%s\n", pri, msg);
	else
		fprintf(stderr, "%s\n", msg);
}

#define LOGFN(fname, pri, witherr)				\
void								\
fname(const char *fmt, ...)					\
{								\
	int saved = errno;					\
	va_list ap;						\
	va_start(ap, fmt);					\
	vlog(pri, fmt, ap, witherr ? saved : 0);		\
	va_end(ap);						\
	errno = saved;						\
}

LOGFN(log_warn, LOG_WARNING, 1)
LOGFN(log_warnx, LOG_WARNING, 0)
LOGFN(log_info, LOG_INFO, 0)

/* log_debug - only with -d (verbose) */
void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_verbose < 1)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap, 0);
	va_end(ap);
}

/* fatal - log with errno text and exit */
void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, saved);
	va_end(ap);
	exit(1);
}

/* fatalx - log and exit */
void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, 0);
	va_end(ap);
	exit(1);
}
