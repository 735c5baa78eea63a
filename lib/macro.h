/*
 * macro.h - RFC 7208 §7 macro expansion, and domain-name checks.
 *
 * Two modes: SPF_MACRO_DOMAIN for domain-specs and unknown-modifier values (letters
 * s l o d i p v h; no spaces), SPF_MACRO_EXPLAIN for the TXT of an exp= target
 * (letters c r t allowed too, and spaces).  Expansion is one pass into a bounded
 * struct spf_buf: there is no "measure, then write" anywhere (the bug class behind
 * every libspf2 CVE).
 */
#ifndef SPF_MACRO_H
#define SPF_MACRO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spfgate/spfgate.h"

#include "buf.h"

enum spf_macro_mode {
	SPF_MACRO_DOMAIN,
	SPF_MACRO_EXPLAIN,
};

/* Everything a macro can refer to.  Slices need not be NUL-terminated. */
struct spf_macro_ctx {
	struct spf_slice sender;        /* %{s}: <sender> */
	struct spf_slice local;         /* %{l}: local part of <sender> ("postmaster" if empty) */
	struct spf_slice sender_domain; /* %{o}: domain of <sender> */
	struct spf_slice domain;        /* %{d}: <domain> of the current check_host() */
	struct spf_slice helo;          /* %{h}: HELO/EHLO argument */
	struct spf_slice receiver;      /* %{r}: receiving host, "unknown" when not known */
	struct spf_slice validated;     /* %{p}: validated client name, "unknown" if none */
	const struct spf_addr *client;  /* %{i} %{c} %{v} */
	int64_t now;                    /* %{t} */
};

struct spf_macro_error {
	size_t offset;       /* byte offset in the macro-string */
	const char *message; /* constant English text */
};

/*
 * Checks the syntax of a macro-string without expanding it.  Returns SPF_OK or
 * SPF_ESYNTAX (err filled).  In SPF_MACRO_DOMAIN mode: literals are 0x21..0x7e except
 * '%'; in SPF_MACRO_EXPLAIN mode space is allowed too.  Macro letters are
 * case-insensitive; c r t only in EXPLAIN mode; a digit transformer of 0 is an error;
 * "%" followed by anything but "{", "%", "_", "-" is an error; *needs_ptr (may be
 * NULL) is set when %{p} occurs.
 */
int spf_macro_check(struct spf_slice in, enum spf_macro_mode mode, bool *needs_ptr,
    struct spf_macro_error *err);

/*
 * Checks a domain-spec (§7.1): a macro-string (DOMAIN mode) that ends with
 * "." toplabel ["."] or with a macro-expand; toplabel is alphanumeric with at least
 * one letter (or contains a hyphen not at either end).  Returns SPF_OK or SPF_ESYNTAX.
 */
int spf_macro_check_domain_spec(struct spf_slice in, bool *needs_ptr,
    struct spf_macro_error *err);

/*
 * Expands a macro-string that spf_macro_check() accepted into out (appending).
 * Upper-case macro letters URL-escape the value (RFC 3986 unreserved characters
 * A-Z a-z 0-9 - . _ ~ are kept, every other byte becomes %XX).  %{i} of IPv6 is 32
 * dot-separated nibbles; %{c} is the RFC 5952 text; %{v} is "in-addr" or "ip6".
 * Transformers: a digit count keeps the right-most N parts (N larger than the number
 * of parts keeps all; counts past any size, like 2147483648, are fine), "r" reverses
 * first; delimiters (. - + , / _ =) split, the parts are joined with ".".
 * Returns SPF_OK, SPF_ESYNTAX (err filled; only for input the check would refuse) or
 * SPF_ELIMIT when out overflowed.
 */
int spf_macro_expand(struct spf_slice in, enum spf_macro_mode mode,
    const struct spf_macro_ctx *ctx, struct spf_buf *out, struct spf_macro_error *err);

/*
 * §7.3: if the name in b is longer than SPF_MAX_DOMAIN bytes (a trailing dot not
 * counted), drops labels from the left until it is not.  Works in place.
 */
void spf_domain_truncate(struct spf_buf *b);

/*
 * Is name usable as a DNS query name: 1..253 bytes (one trailing dot allowed and not
 * counted), no empty label, no label over 63 bytes, no NUL?
 */
bool spf_domain_valid(struct spf_slice name);

/*
 * §4.3: is name a usable identity domain: spf_domain_valid(), at least two labels
 * (a trailing dot does not count as one), and not a domain literal ("[...]").
 */
bool spf_domain_valid_identity(struct spf_slice name);

#endif
