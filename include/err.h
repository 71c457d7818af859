/*
 * err.h -- the one error space of rblmux.
 *
 * Functions return 0 on success or a negative RBLMUX_E* code. System errors
 * keep their errno value (negated); rblmux's own codes start at -1000.
 * Library-specific codes (MDB_*, LDNS_STATUS_*) are translated at the module
 * boundary and never escape it.
 */
#ifndef RBLMUX_ERR_H
#define RBLMUX_ERR_H

#include <errno.h>

enum rblmux_err {
	RBLMUX_OK	= 0,
	RBLMUX_ENOMEM	= -ENOMEM,
	RBLMUX_EINVAL	= -EINVAL,
	RBLMUX_ENOENT	= -ENOENT,
	RBLMUX_EIO	= -EIO,
	RBLMUX_ERANGE	= -ERANGE,
	RBLMUX_EPARSE	= -1000,	/* syntax error in config or data */
	RBLMUX_ETIMEOUT	= -1001,	/* deadline passed */
	RBLMUX_EUPSTREAM = -1002,	/* upstream answered something invalid */
	RBLMUX_ESPACE	= -1003,	/* output buffer too small */
	RBLMUX_ENOTSUP	= -1004,	/* feature not available */
	RBLMUX_ECHANGED	= -1005,	/* file changed while being read */
	RBLMUX_ENOTREG	= -1006,	/* not a regular file (FIFO, device) */
};

/* Human-readable text for an RBLMUX_E* code (or negated errno). Never NULL. */
const char	*rblmux_strerror(int err);

#endif /* RBLMUX_ERR_H */
