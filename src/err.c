/*
 * err.c -- text for the rblmux error space.
 */
#include <string.h>

#include "err.h"

/* rblmux_strerror - describe an RBLMUX_E* code or negated errno */
const char *
rblmux_strerror(int err)
{
	switch (err) {
	case RBLMUX_OK:		return "success";
	case RBLMUX_EPARSE:	return "parse error";
	case RBLMUX_ETIMEOUT:	return "timed out";
	case RBLMUX_EUPSTREAM:	return "invalid upstream answer";
	case RBLMUX_ESPACE:	return "no space in buffer";
	case RBLMUX_ENOTSUP:	return "not supported";
	case RBLMUX_ECHANGED:	return "file changed while being read";
	case RBLMUX_ENOTREG:	return "not a regular file";
	}
	if (err < 0 && err > -1000)
		return strerror(-err);
	return "unknown error";
}
