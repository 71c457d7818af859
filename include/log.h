/*
 * log.h -- logging for the daemon and its tools.
 *
 * Messages go to stderr (foreground; with "<N>" priority prefixes when
 * running under systemd, i.e. JOURNAL_STREAM is set) or to syslog.
 * log_warn/fatal append strerror(errno); the *x variants do not.
 * fatal/fatalx exit(1) and are for start-up and main.c/conf.c only.
 * log_debug prints only when the verbosity is at least 1.
 */
#ifndef RBLMUX_LOG_H
#define RBLMUX_LOG_H

#include <stdarg.h>

/* Configure logging. to_stderr: 1 = stderr, 0 = syslog. verbose: 0 or 1+. */
void	log_init(const char *ident, int to_stderr, int verbose);
void	log_setverbose(int verbose);
int	log_getverbose(void);

void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif /* RBLMUX_LOG_H */
