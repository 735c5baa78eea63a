/*
 * fuzz_common.h - the fixed macro context the fuzz targets expand against.
 *
 * Values are chosen to exercise every code path of the expander: delimiters of all
 * kinds, bytes that URL escaping must encode, non-ASCII, an empty local part (the
 * "postmaster" default), both address families.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <string.h>

#include "macro.h"

/* A trap that survives NDEBUG: a fuzz finding, not an assert. */
#define FUZZ_CHECK(cond)                                                                 \
	do {                                                                             \
		if (!(cond))                                                             \
			__builtin_trap();                                                \
	} while (0)

static inline struct spf_macro_ctx fuzz_ctx(const struct spf_addr *client, int variant)
{
	struct spf_macro_ctx c;
	memset(&c, 0, sizeof(c));
	if (variant & 1) {
		c.sender = spf_slice_cstr("~jack&jill=up-a_b3.c@a.b-c+d,e/f_g=h.example.com");
		c.local = spf_slice_cstr("~jack&jill=up-a_b3.c");
		c.sender_domain = spf_slice_cstr("a.b-c+d,e/f_g=h.example.com");
		c.helo = spf_slice_make("h\xc3\xa9lo..example.", 16);
	} else {
		c.sender = spf_slice_cstr("@example.com");
		c.local = spf_slice_make(NULL, 0); /* expands as "postmaster" */
		c.sender_domain = spf_slice_cstr("example.com");
		c.helo = spf_slice_make(NULL, 0);
	}
	c.domain = spf_slice_cstr("sub.domain.example.org");
	c.receiver = (variant & 2) ? spf_slice_cstr("mx.receiver.example") : spf_slice_make(NULL, 0);
	c.validated = (variant & 2) ? spf_slice_cstr("host.example.org") : spf_slice_make(NULL, 0);
	c.client = client;
	c.now = (variant & 4) ? -9223372036854775807LL - 1 : 1400000000;
	return c;
}

#endif
