/*
 * fuzz_macro.c - libFuzzer target for lib/macro.c.
 *
 * Input: one control byte (output capacity, address family, context variant), then
 * a macro-string of arbitrary bytes.  For both modes it checks the string, then
 * expands it into a heap buffer of exactly the chosen small capacity (so ASan sees
 * any write past it) and into a large one, and traps when the module breaks its
 * contract:
 *   - output longer than its capacity, or the overflow flag not matching the status;
 *   - check and expand disagreeing (check accepts but expand says SPF_ESYNTAX, or
 *     the other way round, or a different error offset);
 *   - the small expansion not being a prefix of the large one;
 *   - a domain-spec the domain check accepts that the plain check refuses;
 *   - spf_domain_truncate() growing a name or leaving it over SPF_MAX_DOMAIN while
 *     it still has a dot to cut at.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_truncate(struct spf_buf *b)
{
	size_t before = b->len;
	spf_domain_truncate(b);
	FUZZ_CHECK(b->len <= before);
	size_t eff = (b->len > 0 && b->data[b->len - 1] == '.') ? b->len - 1 : b->len;
	if (eff > SPF_MAX_DOMAIN)
		FUZZ_CHECK(memchr(b->data, '.', eff) == NULL);
	(void)spf_domain_valid(spf_buf_slice(b));
	(void)spf_domain_valid_identity(spf_buf_slice(b));
}

static void one_mode(struct spf_slice in, enum spf_macro_mode mode,
    const struct spf_macro_ctx *ctx, size_t cap)
{
	bool np = false;
	struct spf_macro_error ce = { 0, NULL }, ee = { 0, NULL };
	int crc = spf_macro_check(in, mode, &np, &ce);
	FUZZ_CHECK(crc == SPF_OK || crc == SPF_ESYNTAX);
	if (crc == SPF_ESYNTAX)
		FUZZ_CHECK(ce.message != NULL && ce.offset <= in.len);

	/* Small buffer of exactly cap bytes (malloc(0) may be NULL: use 1 then). */
	char *small = malloc(cap > 0 ? cap : 1);
	if (small == NULL)
		return;
	struct spf_buf b;
	spf_buf_init(&b, small, cap);
	int rc = spf_macro_expand(in, mode, ctx, &b, &ee);
	FUZZ_CHECK(b.len <= cap);
	FUZZ_CHECK(rc == SPF_OK || rc == SPF_ESYNTAX || rc == SPF_ELIMIT);
	if (crc == SPF_OK) {
		FUZZ_CHECK(rc != SPF_ESYNTAX);
		FUZZ_CHECK((rc == SPF_ELIMIT) == b.overflow);
	} else {
		FUZZ_CHECK(rc == SPF_ESYNTAX);
		FUZZ_CHECK(ee.offset == ce.offset && ee.message == ce.message);
	}

	/* Large buffer: the small result must be a prefix of it. */
	size_t bigcap = 256 + 64 * in.len;
	char *big = malloc(bigcap);
	if (big != NULL) {
		struct spf_buf B;
		spf_buf_init(&B, big, bigcap);
		int brc = spf_macro_expand(in, mode, ctx, &B, NULL);
		FUZZ_CHECK(brc == rc || (rc == SPF_ELIMIT && brc == SPF_OK));
		FUZZ_CHECK(B.len <= bigcap);
		if (brc == SPF_OK) {
			FUZZ_CHECK(b.len <= B.len);
			FUZZ_CHECK(memcmp(small, big, b.len) == 0);
			if (rc == SPF_OK)
				FUZZ_CHECK(b.len == B.len);
			check_truncate(&B);
		}
		free(big);
	}
	if (rc == SPF_OK)
		check_truncate(&b);
	free(small);

	if (mode == SPF_MACRO_DOMAIN) {
		bool np2 = false;
		int drc = spf_macro_check_domain_spec(in, &np2, NULL);
		FUZZ_CHECK(drc == SPF_OK || drc == SPF_ESYNTAX);
		if (drc == SPF_OK)
			FUZZ_CHECK(crc == SPF_OK && np2 == np && in.len > 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	uint8_t ctl = data[0];
	struct spf_slice in = spf_slice_make((const char *)data + 1, size - 1);

	struct spf_addr a4, a6;
	spf_addr_parse("192.0.2.3", &a4);
	spf_addr_parse("2001:db8::cb01", &a6);
	const struct spf_addr *client = (ctl & 0x80) ? &a6 : &a4;
	if ((ctl & 0xc0) == 0x40)
		client = NULL;
	struct spf_macro_ctx ctx = fuzz_ctx(client, ctl >> 3);
	size_t cap = ctl & 0x3f; /* 0..63 bytes */

	one_mode(in, SPF_MACRO_DOMAIN, &ctx, cap);
	one_mode(in, SPF_MACRO_EXPLAIN, &ctx, cap);
	(void)spf_domain_valid(in);
	(void)spf_domain_valid_identity(in);
	return 0;
}
