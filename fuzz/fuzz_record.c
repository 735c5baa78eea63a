/*
 * fuzz_record.c - libFuzzer target for lib/record.c (and the macro expansion of
 * every domain-spec it accepts).
 *
 * The input is the TXT string as raw bytes (NUL, CR, LF, non-ASCII included),
 * parsed as it comes and, when it does not start with "v=spf1", once more behind
 * "v=spf1 " so the mutator need not find the version first.  Traps when:
 *   - an error's offset or term lies outside the record, or has no message;
 *   - a parsed term's slices do not lie inside the record, or a kind, qualifier,
 *     CIDR length or address family is out of range;
 *   - redirect/exp do not point at terms of that kind;
 *   - a parsed domain-spec fails spf_macro_check_domain_spec() or its expansion
 *     into a small buffer says SPF_ESYNTAX or overruns the buffer.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "macro.h"
#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool inside(struct spf_slice outer, struct spf_slice s)
{
	if (s.len == 0)
		return true;
	return s.p >= outer.p && s.p <= outer.p + outer.len &&
	    s.len <= (size_t)(outer.p + outer.len - s.p);
}

static void expand_term(const struct spf_term *t, const struct spf_macro_ctx *ctx)
{
	char small[96];
	struct spf_buf b;
	spf_buf_init(&b, small, sizeof(small));
	int rc = spf_macro_expand(t->domain_spec, SPF_MACRO_DOMAIN, ctx, &b, NULL);
	FUZZ_CHECK(rc == SPF_OK || rc == SPF_ELIMIT);
	FUZZ_CHECK(b.len <= sizeof(small));
	if (rc == SPF_OK) {
		spf_domain_truncate(&b);
		(void)spf_domain_valid(spf_buf_slice(&b));
	}
	if (t->kind != SPF_TERM_UNKNOWN) {
		bool np = !t->needs_ptr;
		FUZZ_CHECK(spf_macro_check_domain_spec(t->domain_spec, &np, NULL) == SPF_OK);
		FUZZ_CHECK(np == t->needs_ptr);
	}
}

static void parse_one(struct spf_slice txt, const struct spf_macro_ctx *ctx)
{
	struct spf_arena arena;
	struct spf_record rec;
	struct spf_record_error err = { 0, { NULL, 0 }, NULL };

	spf_arena_init(&arena, 1 << 20);
	bool is_spf = spf_record_is_spf(txt);
	int rc = spf_record_parse(txt, &arena, &rec, &err);
	FUZZ_CHECK(rc == SPF_OK || rc == SPF_ESYNTAX);
	if (!is_spf)
		FUZZ_CHECK(rc == SPF_ESYNTAX);
	if (rc == SPF_ESYNTAX) {
		FUZZ_CHECK(err.message != NULL);
		FUZZ_CHECK(err.offset <= txt.len);
		FUZZ_CHECK(inside(txt, err.term));
	} else {
		bool has_all = false;
		for (size_t i = 0; i < rec.nterms; i++) {
			const struct spf_term *t = &rec.terms[i];
			FUZZ_CHECK(t->text.len > 0 && inside(txt, t->text));
			FUZZ_CHECK(t->text.p == txt.p + t->offset);
			FUZZ_CHECK(inside(t->text, t->domain_spec));
			FUZZ_CHECK(inside(t->text, t->name));
			FUZZ_CHECK(t->kind <= SPF_TERM_UNKNOWN);
			FUZZ_CHECK(t->qualifier == SPF_RESULT_PASS || t->qualifier == SPF_RESULT_FAIL ||
			    t->qualifier == SPF_RESULT_SOFTFAIL || t->qualifier == SPF_RESULT_NEUTRAL);
			FUZZ_CHECK(t->cidr4 <= 32 && t->cidr6 <= 128);
			for (size_t j = 0; j < t->text.len; j++)
				FUZZ_CHECK(t->text.p[j] > 0x20 && t->text.p[j] < 0x7f);
			if (t->kind == SPF_TERM_IP4)
				FUZZ_CHECK(t->addr.family == 4);
			if (t->kind == SPF_TERM_IP6)
				FUZZ_CHECK(t->addr.family == 6);
			if (t->kind == SPF_TERM_ALL)
				has_all = true;
			if (t->has_domain_spec)
				expand_term(t, ctx);
			else
				FUZZ_CHECK(t->domain_spec.len == 0);
			(void)spf_term_kind_name(t->kind);
		}
		FUZZ_CHECK(has_all == rec.has_all);
		if (rec.redirect != NULL)
			FUZZ_CHECK(rec.redirect >= rec.terms && rec.redirect < rec.terms + rec.nterms &&
			    rec.redirect->kind == SPF_TERM_REDIRECT);
		if (rec.exp != NULL)
			FUZZ_CHECK(rec.exp >= rec.terms && rec.exp < rec.terms + rec.nterms &&
			    rec.exp->kind == SPF_TERM_EXP);
	}
	spf_arena_release(&arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spf_addr client;
	spf_addr_parse((size & 1) ? "2001:db8::cb01" : "192.0.2.3", &client);
	struct spf_macro_ctx ctx = fuzz_ctx(&client, (int)size);

	parse_one(spf_slice_make((const char *)data, size), &ctx);

	static const char prefix[] = "v=spf1 ";
	const size_t plen = sizeof(prefix) - 1;
	if (size >= plen && memcmp(data, prefix, plen) == 0)
		return 0;
	if (size > SIZE_MAX - plen)
		return 0;
	/* An exact-size copy, so ASan flags any read past the end. */
	char *copy = malloc(size + plen);
	if (copy == NULL)
		return 0;
	memcpy(copy, prefix, plen);
	if (size > 0)
		memcpy(copy + plen, data, size);
	parse_one(spf_slice_make(copy, size + plen), &ctx);
	free(copy);
	return 0;
}
