/*
 * record.h - an SPF record's text turned into terms (RFC 7208 §4.5, §4.6, §5, §6, §12).
 *
 * spf_record_is_spf() selects records (§4.5): "v=spf1" (ASCII case-insensitive)
 * followed by a space or the end.  spf_record_parse() reads the whole record first
 * (§4.6: a syntax error anywhere, even after "-all", is a permerror) and returns
 * the terms, or the first error with its byte offset in the record.
 *
 * The parser allocates only from the given arena and never copies the record: the
 * slices in struct spf_term point into the text passed in, which the caller keeps
 * alive as long as the terms.
 */
#ifndef SPF_RECORD_H
#define SPF_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include "spfgate/spfgate.h"

#include "arena.h"
#include "buf.h"

enum spf_term_kind {
	SPF_TERM_ALL,
	SPF_TERM_INCLUDE,
	SPF_TERM_A,
	SPF_TERM_MX,
	SPF_TERM_PTR,
	SPF_TERM_IP4,
	SPF_TERM_IP6,
	SPF_TERM_EXISTS,
	SPF_TERM_REDIRECT, /* modifier */
	SPF_TERM_EXP,      /* modifier */
	SPF_TERM_UNKNOWN,  /* unknown modifier (§6: ignored, but must be well-formed) */
};

struct spf_term {
	enum spf_term_kind kind;
	/* The result a match gives: '+' pass (default), '-' fail, '~' softfail,
	 * '?' neutral.  Meaningless for modifiers. */
	enum spf_result qualifier;
	/* The whole term as written, and its byte offset in the record. */
	struct spf_slice text;
	size_t offset;
	/* include, a, mx, ptr, exists: the domain-spec after ':' (a macro-string, already
	 * checked by spf_macro_check() in SPF_MACRO_DOMAIN mode); len 0 when absent
	 * (a, mx, ptr default to <domain>).  redirect, exp: the domain-spec after '='.
	 * unknown modifier: the macro-string value after '='. */
	struct spf_slice domain_spec;
	bool has_domain_spec;
	/* Unknown modifier: its name. */
	struct spf_slice name;
	/* Whether domain_spec uses %{p} (the evaluator must find the validated name
	 * first). */
	bool needs_ptr;
	/* a, mx: dual CIDR lengths (§5.6), defaults 32 and 128.
	 * ip4, ip6: the network in addr, its prefix in cidr4 (ip4) or cidr6 (ip6). */
	unsigned cidr4;
	unsigned cidr6;
	struct spf_addr addr;
};

struct spf_record {
	struct spf_term *terms; /* mechanisms and modifiers in record order */
	size_t nterms;
	const struct spf_term *redirect; /* NULL if absent */
	const struct spf_term *exp;      /* NULL if absent */
	bool has_all;                    /* an "all" mechanism anywhere (§6.1) */
};

struct spf_record_error {
	size_t offset;          /* byte offset in the record where the problem is */
	struct spf_slice term;  /* the offending term (may be empty) */
	const char *message;    /* constant English text: "unknown mechanism", ... */
};

/* Is this TXT string an SPF record (§4.5)? */
bool spf_record_is_spf(struct spf_slice txt);

/*
 * Parses a record that spf_record_is_spf() accepted.  Returns SPF_OK and fills *out,
 * SPF_ESYNTAX and fills *err (the record is a permerror), or SPF_ENOMEM.
 *
 * Syntax (§12): terms separated by one or more spaces (leading/trailing spaces allowed
 * after the version); any byte outside 0x21..0x7e inside a term is an error (CR, LF,
 * NUL, non-ASCII); mechanism and modifier names are case-insensitive; unknown
 * mechanisms are errors; redirect/exp at most once each; a domain-spec must be a valid
 * macro-string ending in "." toplabel ["."] or in a macro-expand (§7.1); exp= and
 * redirect= need a non-empty domain-spec; ip4 addresses are strict dotted quads
 * without leading zeros; CIDR lengths have no leading zeros and are in range; a
 * modifier whose name is redirect/exp but whose value is malformed is an error, never
 * an unknown modifier.
 */
int spf_record_parse(struct spf_slice txt, struct spf_arena *arena, struct spf_record *out,
    struct spf_record_error *err);

/* "all", "include", ..., "redirect", "exp", "unknown-modifier". */
const char *spf_term_kind_name(enum spf_term_kind k);

/* Does this term make a DNS query that counts toward SPF_MAX_DNS_TERMS (§4.6.4)? */
static inline bool spf_term_counts(enum spf_term_kind k)
{
	return k == SPF_TERM_INCLUDE || k == SPF_TERM_A || k == SPF_TERM_MX ||
	    k == SPF_TERM_PTR || k == SPF_TERM_EXISTS || k == SPF_TERM_REDIRECT;
}

#endif
