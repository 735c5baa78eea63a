/*
 * test_macro.c - unit tests of lib/macro.c: RFC 7208 §7 macro check and expansion,
 * §7.3 truncation, domain-name checks.  Every test asserts the exact bytes produced,
 * the exact status, and for errors the exact offset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "macro.h"

/* The values of RFC 7208 §7.4. */
static struct spf_addr ip4_client, ip6_client;

static struct spf_macro_ctx ctx4(void)
{
	struct spf_macro_ctx c;
	memset(&c, 0, sizeof(c));
	c.sender = spf_slice_cstr("strong-bad@email.example.com");
	c.local = spf_slice_cstr("strong-bad");
	c.sender_domain = spf_slice_cstr("email.example.com");
	c.domain = spf_slice_cstr("email.example.com");
	c.helo = spf_slice_cstr("mx.example.org");
	c.receiver = spf_slice_cstr("mx.receiver.example");
	c.validated = spf_slice_cstr("mx.example.org");
	c.client = &ip4_client;
	c.now = 1400000000;
	return c;
}

static struct spf_macro_ctx ctx6(void)
{
	struct spf_macro_ctx c = ctx4();
	c.client = &ip6_client;
	return c;
}

static int setup(void **state)
{
	(void)state;
	if (spf_addr_parse("192.0.2.3", &ip4_client) != SPF_OK)
		return -1;
	if (spf_addr_parse("2001:db8::cb01", &ip6_client) != SPF_OK)
		return -1;
	return 0;
}

/* Expands in (a C string) into a 512-byte buffer and compares the whole output. */
#define EXPECT_EXPAND(ctxp, mode, in, expected)                                         \
	do {                                                                             \
		char data_[512];                                                         \
		struct spf_buf b_;                                                       \
		struct spf_macro_error e_ = { 0, NULL };                                 \
		spf_buf_init(&b_, data_, sizeof(data_));                                 \
		int rc_ = spf_macro_expand(spf_slice_cstr(in), (mode), (ctxp), &b_, &e_); \
		if (rc_ != SPF_OK)                                                       \
			print_error("expand '%s': rc %d at %zu: %s\n", (in), rc_,      \
			    e_.offset, e_.message ? e_.message : "");                    \
		assert_int_equal(rc_, SPF_OK);                                           \
		assert_false(b_.overflow);                                               \
		assert_int_equal(b_.len, strlen(expected));                              \
		assert_memory_equal(b_.data, (expected), b_.len);                        \
		assert_int_equal(spf_macro_check(spf_slice_cstr(in), (mode), NULL, NULL), \
		    SPF_OK);                                                             \
	} while (0)

/* Both check and expand refuse in (a pointer and length) with this offset. */
#define EXPECT_SYNTAX_N(mode, in, inlen, off)                                          \
	do {                                                                             \
		struct spf_macro_ctx c_ = ctx4();                                        \
		char data_[512];                                                         \
		struct spf_buf b_;                                                       \
		struct spf_macro_error e1_ = { 999, NULL }, e2_ = { 999, NULL };          \
		spf_buf_init(&b_, data_, sizeof(data_));                                 \
		assert_int_equal(spf_macro_check(spf_slice_make((in), (inlen)), (mode),  \
				     NULL, &e1_),                                        \
		    SPF_ESYNTAX);                                                        \
		assert_int_equal(e1_.offset, (off));                                     \
		assert_non_null(e1_.message);                                            \
		assert_int_equal(spf_macro_expand(spf_slice_make((in), (inlen)), (mode), \
				     &c_, &b_, &e2_),                                    \
		    SPF_ESYNTAX);                                                        \
		assert_int_equal(e2_.offset, (off));                                     \
		assert_string_equal(e1_.message, e2_.message);                           \
	} while (0)
#define EXPECT_SYNTAX(mode, in, off) EXPECT_SYNTAX_N(mode, in, strlen(in), off)

static void test_rfc_examples_ip4(void **state)
{
	(void)state;
	struct spf_macro_ctx c = ctx4();
	const enum spf_macro_mode D = SPF_MACRO_DOMAIN;
	EXPECT_EXPAND(&c, D, "%{s}", "strong-bad@email.example.com");
	EXPECT_EXPAND(&c, D, "%{o}", "email.example.com");
	EXPECT_EXPAND(&c, D, "%{d}", "email.example.com");
	EXPECT_EXPAND(&c, D, "%{d4}", "email.example.com");
	EXPECT_EXPAND(&c, D, "%{d3}", "email.example.com");
	EXPECT_EXPAND(&c, D, "%{d2}", "example.com");
	EXPECT_EXPAND(&c, D, "%{d1}", "com");
	EXPECT_EXPAND(&c, D, "%{dr}", "com.example.email");
	EXPECT_EXPAND(&c, D, "%{d2r}", "example.email");
	EXPECT_EXPAND(&c, D, "%{l}", "strong-bad");
	EXPECT_EXPAND(&c, D, "%{l-}", "strong.bad");
	EXPECT_EXPAND(&c, D, "%{lr}", "strong-bad");
	EXPECT_EXPAND(&c, D, "%{lr-}", "bad.strong");
	EXPECT_EXPAND(&c, D, "%{l1r-}", "strong");
	EXPECT_EXPAND(&c, D, "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com");
	EXPECT_EXPAND(&c, D, "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com");
	EXPECT_EXPAND(&c, D, "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
	    "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
	EXPECT_EXPAND(&c, D, "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
	    "3.2.0.192.in-addr.strong.lp._spf.example.com");
	EXPECT_EXPAND(&c, D, "%{d2}.trusted-domains.example.net",
	    "example.com.trusted-domains.example.net");
	EXPECT_EXPAND(&c, D, "%{i}", "192.0.2.3");
	EXPECT_EXPAND(&c, D, "%{o2r}", "example.email");
	EXPECT_EXPAND(&c, D, "%{h}", "mx.example.org");
	EXPECT_EXPAND(&c, D, "%{p}", "mx.example.org");
	EXPECT_EXPAND(&c, SPF_MACRO_EXPLAIN, "%{c}", "192.0.2.3");
}

static void test_rfc_examples_ip6(void **state)
{
	(void)state;
	struct spf_macro_ctx c = ctx6();
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%{ir}.%{v}._spf.%{d2}",
	    "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%{i}",
	    "2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.b.0.1");
	/* Upper case: the nibbles and dots are all unreserved, nothing is escaped. */
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%{I4r}", "1.0.0.2");
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%{v}", "ip6");
	EXPECT_EXPAND(&c, SPF_MACRO_EXPLAIN, "%{c}", "2001:db8::cb01");
	/* Upper-case %{C} escapes the colons. */
	EXPECT_EXPAND(&c, SPF_MACRO_EXPLAIN, "%{C}", "2001%3Adb8%3A%3Acb01");
	/* The suite's v-macro-ip6 explanation (lower-case nibbles). */
	struct spf_addr cafe;
	assert_int_equal(spf_addr_parse("CAFE:BABE::1", &cafe), SPF_OK);
	c.client = &cafe;
	EXPECT_EXPAND(&c, SPF_MACRO_EXPLAIN, "%{c} is queried as %{ir}.%{v}.arpa",
	    "cafe:babe::1 is queried as "
	    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.e.b.a.b.e.f.a.c.ip6.arpa");
}

static void test_url_escape(void **state)
{
	(void)state;
	struct spf_macro_ctx c = ctx4();
	c.sender = spf_slice_cstr("~jack&jill=up-a_b3.c@example.com");
	c.local = spf_slice_cstr("~jack&jill=up-a_b3.c");
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%{S}", "~jack%26jill%3Dup-a_b3.c%40example.com");
	/* The suite's upper-macro explanation. */
	EXPECT_EXPAND(&c, SPF_MACRO_EXPLAIN, "http://example.com/why.html?l=%{L}",
	    "http://example.com/why.html?l=~jack%26jill%3Dup-a_b3.c");
	/* Lower case keeps the bytes as they are. */
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%{s}", "~jack&jill=up-a_b3.c@example.com");
	/* Escaping after splitting: '=' as delimiter becomes '.', never %3D. */
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%{L=}", "~jack%26jill.up-a_b3.c");
	/* Space, '%', '/', non-ASCII and control bytes of a value. */
	c.local = spf_slice_make("a b%c/\xc3\xa9\x01", 9);
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%{L}", "a%20b%25c%2F%C3%A9%01");
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%{l}", "a b%c/\xc3\xa9\x01");
	/* Upper-case R transformer is the same as r; escaping depends on the letter. */
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%{dR}", "com.example.email");
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%{D2R}", "example.email");
}

static void test_escapes_and_literals(void **state)
{
	(void)state;
	struct spf_macro_ctx c = ctx4();
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%%", "%");
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%_", " ");
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%-", "%20");
	/* The suite's macro-mania-in-domain. */
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "macro%%percent%_%_space%-url-space.example.com",
	    "macro%percent  space%20url-space.example.com");
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "", "");
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "}{", "}{");
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%{d}}", "email.example.com}");
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "!\"#$&'()*+,-./:;<=>?@[\\]^_`{|}~",
	    "!\"#$&'()*+,-./:;<=>?@[\\]^_`{|}~");
}

static void test_digits(void **state)
{
	(void)state;
	struct spf_macro_ctx c = ctx4();
	/* Counts past int and past 64 bits mean "all parts". */
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%{d2147483648}", "email.example.com");
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%{d4294967297}", "email.example.com");
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%{d99999999999999999999}", "email.example.com");
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%{d99999999999999999999r}", "com.example.email");
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%{d127}", "email.example.com");
	/* Leading zeros are allowed by *DIGIT as long as the value is not zero. */
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%{d01}", "com");
	EXPECT_SYNTAX(SPF_MACRO_DOMAIN, "%{d0}", 3);
	EXPECT_SYNTAX(SPF_MACRO_DOMAIN, "%{d00}", 3);
	EXPECT_SYNTAX(SPF_MACRO_DOMAIN, "x.%{d0r}", 5);
	EXPECT_SYNTAX(SPF_MACRO_DOMAIN, "%{d000000000000000000000000}", 3);
}

static void test_delimiters(void **state)
{
	(void)state;
	struct spf_macro_ctx c = ctx4();
	c.local = spf_slice_cstr("a.b-c+d,e/f_g=h");
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%{l}", "a.b-c+d,e/f_g=h");
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%{l.-+,/_=}", "a.b.c.d.e.f.g.h");
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%{lr.-+,/_=}", "h.g.f.e.d.c.b.a");
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%{l3r-+}", "d,e/f_g=h.c.a.b");
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%{l2_=}", "g.h");
	/* Only the given delimiters split: '.' is not one of them here. */
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%{lr-}", "c+d,e/f_g=h.a.b");
	/* Empty parts are kept (§7.3: no special treatment). */
	c.domain = spf_slice_cstr("a..b.");
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%{dr}", ".b..a");
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%{d1}", "");
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%{d2}", "b.");
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%{d3r}", "b..a");
	c.domain = spf_slice_cstr("");
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "[%{dr}]", "[]");
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "[%{d5}]", "[]");
}

static void test_defaults_and_explain_letters(void **state)
{
	(void)state;
	struct spf_macro_ctx c = ctx4();
	c.local = spf_slice_make(NULL, 0);
	c.validated = spf_slice_make(NULL, 0);
	c.receiver = spf_slice_make(NULL, 0);
	EXPECT_EXPAND(&c, SPF_MACRO_DOMAIN, "%{l}.%{p}", "postmaster.unknown");
	EXPECT_EXPAND(&c, SPF_MACRO_EXPLAIN, "%{r}", "unknown");
	c = ctx4();
	EXPECT_EXPAND(&c, SPF_MACRO_EXPLAIN, "%{r} at %{t}: %{c}",
	    "mx.receiver.example at 1400000000: 192.0.2.3");
	EXPECT_EXPAND(&c, SPF_MACRO_EXPLAIN, "%{t2}", "1400000000");
	c.now = -5;
	EXPECT_EXPAND(&c, SPF_MACRO_EXPLAIN, "%{t}", "-5");
	c.now = INT64_MIN;
	EXPECT_EXPAND(&c, SPF_MACRO_EXPLAIN, "%{t}", "-9223372036854775808");
	c.now = INT64_MAX;
	EXPECT_EXPAND(&c, SPF_MACRO_EXPLAIN, "%{T}", "9223372036854775807");
	/* Empty slices given as {NULL, 0} (found by fuzz_macro: UB on NULL + 0). */
	c.helo = spf_slice_make(NULL, 0);
	c.sender = spf_slice_make(NULL, 0);
	EXPECT_EXPAND(&c, SPF_MACRO_EXPLAIN, "[%{h}][%{hr}][%{S2}][%{h1-}]", "[][][][]");
	/* No client: the address macros are empty. */
	c.client = NULL;
	EXPECT_EXPAND(&c, SPF_MACRO_EXPLAIN, "[%{i}][%{c}][%{v}]", "[][][]");
	/* c, r, t are explanation-only, in either case. */
	EXPECT_SYNTAX(SPF_MACRO_DOMAIN, "%{c}", 2);
	EXPECT_SYNTAX(SPF_MACRO_DOMAIN, "x%{R}", 3);
	EXPECT_SYNTAX(SPF_MACRO_DOMAIN, "%{t}.example.com", 2);
}

static void test_syntax_errors(void **state)
{
	(void)state;
	const enum spf_macro_mode D = SPF_MACRO_DOMAIN, X = SPF_MACRO_EXPLAIN;
	EXPECT_SYNTAX(D, "%", 0);
	EXPECT_SYNTAX(D, "abc%", 3);
	EXPECT_SYNTAX(X, "abc %", 4);
	EXPECT_SYNTAX(D, "%x", 0);
	EXPECT_SYNTAX(D, "%(ir).sbl.example.org", 0);
	EXPECT_SYNTAX(D, "%{x}", 2);
	EXPECT_SYNTAX(D, "%{}", 2);
	EXPECT_SYNTAX(D, "%{", 2);
	EXPECT_SYNTAX(D, "%{d", 3);
	EXPECT_SYNTAX(D, "%{d2r", 5);
	EXPECT_SYNTAX(D, "%{d.-", 5);
	EXPECT_SYNTAX(D, "%{d2rr}", 5);
	EXPECT_SYNTAX(D, "%{d2x}", 4);
	EXPECT_SYNTAX(D, "%{dr2}", 4);
	EXPECT_SYNTAX(D, "%{d.2}", 4);
	EXPECT_SYNTAX(D, "%{d }", 3);
	EXPECT_SYNTAX(X, "%{ d}", 2);
	/* Spaces: explanation mode only. */
	EXPECT_SYNTAX(D, "a b", 1);
	struct spf_macro_ctx c = ctx4();
	EXPECT_EXPAND(&c, X, " a  b ", " a  b ");
	/* Control bytes, NUL, DEL, non-ASCII: never, in either mode. */
	EXPECT_SYNTAX(X, "a\tb", 1);
	EXPECT_SYNTAX(X, "ab\r\n", 2);
	EXPECT_SYNTAX(X, "a\x7f", 1);
	EXPECT_SYNTAX(D, "caf\xc3\xa9", 3);
	EXPECT_SYNTAX_N(D, "ab\0cd", 5, 2);
	EXPECT_SYNTAX_N(X, "%{d\0}", 5, 3);
	/* The error is the first one. */
	EXPECT_SYNTAX(D, "%{d0}%{x}", 3);
}

static void test_needs_ptr(void **state)
{
	(void)state;
	bool np = true;
	assert_int_equal(spf_macro_check(spf_slice_cstr("%{d}.x"), SPF_MACRO_DOMAIN, &np, NULL),
	    SPF_OK);
	assert_false(np);
	assert_int_equal(spf_macro_check(spf_slice_cstr("a.%{P2r}.x"), SPF_MACRO_DOMAIN, &np,
			     NULL),
	    SPF_OK);
	assert_true(np);
	/* A literal "p" or "%%{p}" (escaped percent, then literal text) does not count. */
	assert_int_equal(spf_macro_check(spf_slice_cstr("p.%%{p}"), SPF_MACRO_DOMAIN, &np, NULL),
	    SPF_OK);
	assert_false(np);
	np = true;
	assert_int_equal(spf_macro_check_domain_spec(spf_slice_cstr("%{p}.example.com"), &np,
			     NULL),
	    SPF_OK);
	assert_true(np);
}

/* Output buffer limits: exactly full, one short, appending, escapes that do not fit. */
static void test_buffer_limits(void **state)
{
	(void)state;
	struct spf_macro_ctx c = ctx4();
	char data[64];
	struct spf_buf b;
	struct spf_macro_error e;

	/* "email.example.com" is 17 bytes: a 17-byte buffer holds it exactly. */
	memset(data, 'Z', sizeof(data));
	spf_buf_init(&b, data, 17);
	assert_int_equal(spf_macro_expand(spf_slice_cstr("%{d}"), SPF_MACRO_DOMAIN, &c, &b, &e),
	    SPF_OK);
	assert_int_equal(b.len, 17);
	assert_memory_equal(data, "email.example.com", 17);
	assert_int_equal(data[17], 'Z');

	/* 16 bytes: SPF_ELIMIT, sticky flag; values go out a whole part at a time, so
	 * "email." and "example." are there and "com" is not; nothing past cap. */
	memset(data, 'Z', sizeof(data));
	spf_buf_init(&b, data, 16);
	assert_int_equal(spf_macro_expand(spf_slice_cstr("%{d}"), SPF_MACRO_DOMAIN, &c, &b, &e),
	    SPF_ELIMIT);
	assert_true(b.overflow);
	assert_int_equal(b.len, 14);
	assert_memory_equal(data, "email.example.", 14);
	assert_int_equal(data[14], 'Z');
	assert_int_equal(data[16], 'Z');

	/* A literal run is one put: "abcdef" into 5 bytes writes nothing. */
	memset(data, 'Z', sizeof(data));
	spf_buf_init(&b, data, 5);
	assert_int_equal(spf_macro_expand(spf_slice_cstr("abcdef"), SPF_MACRO_DOMAIN, &c, &b, &e),
	    SPF_ELIMIT);
	assert_int_equal(b.len, 0);
	assert_int_equal(data[0], 'Z');

	/* Transformed values go part by part: what fits stays, nothing past cap. */
	memset(data, 'Z', sizeof(data));
	spf_buf_init(&b, data, 10);
	assert_int_equal(spf_macro_expand(spf_slice_cstr("%{dr}"), SPF_MACRO_DOMAIN, &c, &b, &e),
	    SPF_ELIMIT);
	assert_int_equal(b.len, 4);
	assert_memory_equal(data, "com.", 4);
	assert_int_equal(data[4], 'Z');

	/* Appending to what is there; exactly full with a literal tail. */
	memset(data, 'Z', sizeof(data));
	spf_buf_init(&b, data, 20);
	spf_buf_puts(&b, "ab");
	assert_int_equal(spf_macro_expand(spf_slice_cstr("%{d}."), SPF_MACRO_DOMAIN, &c, &b, &e),
	    SPF_OK);
	assert_int_equal(b.len, 20);
	assert_memory_equal(data, "abemail.example.com.", 20);
	/* Once full, further expansion fails and the flag stays set. */
	assert_int_equal(spf_macro_expand(spf_slice_cstr("x"), SPF_MACRO_DOMAIN, &c, &b, &e),
	    SPF_ELIMIT);
	assert_int_equal(b.len, 20);
	assert_int_equal(spf_macro_expand(spf_slice_cstr(""), SPF_MACRO_DOMAIN, &c, &b, &e),
	    SPF_ELIMIT);

	/* An escape "%26" needing 3 bytes with only 2 left is not split. */
	c.local = spf_slice_cstr("a&b");
	memset(data, 'Z', sizeof(data));
	spf_buf_init(&b, data, 3);
	assert_int_equal(spf_macro_expand(spf_slice_cstr("%{L}"), SPF_MACRO_DOMAIN, &c, &b, &e),
	    SPF_ELIMIT);
	assert_int_equal(b.len, 1);
	assert_int_equal(data[0], 'a');
	assert_int_equal(data[1], 'Z');
	spf_buf_init(&b, data, 5);
	assert_int_equal(spf_macro_expand(spf_slice_cstr("%{L}"), SPF_MACRO_DOMAIN, &c, &b, &e),
	    SPF_OK);
	assert_int_equal(b.len, 5);
	assert_memory_equal(data, "a%26b", 5);

	/* "%-" is three bytes; cap 2 refuses all of it. */
	spf_buf_init(&b, data, 2);
	assert_int_equal(spf_macro_expand(spf_slice_cstr("%-"), SPF_MACRO_DOMAIN, &c, &b, &e),
	    SPF_ELIMIT);
	assert_int_equal(b.len, 0);

	/* A syntax error after the overflow still wins over SPF_ELIMIT. */
	spf_buf_init(&b, data, 2);
	e.offset = 0;
	assert_int_equal(spf_macro_expand(spf_slice_cstr("%{d}%{x}"), SPF_MACRO_DOMAIN, &c, &b,
			     &e),
	    SPF_ESYNTAX);
	assert_int_equal(e.offset, 6);

	/* Zero capacity. */
	spf_buf_init(&b, data, 0);
	assert_int_equal(spf_macro_expand(spf_slice_cstr("a"), SPF_MACRO_DOMAIN, &c, &b, &e),
	    SPF_ELIMIT);
	spf_buf_init(&b, data, 0);
	assert_int_equal(spf_macro_expand(spf_slice_cstr(""), SPF_MACRO_DOMAIN, &c, &b, &e),
	    SPF_OK);
}

static void test_domain_spec(void **state)
{
	(void)state;
	static const char *const good[] = {
		"foo.com", "foo.com.", "%{d}", "%{d}.com", "%{ir}.%{v}._spf.%{d2}",
		"foo.xn--zckzah", "foo.123-456", "foo.a1", "foo.1a", ".com", "foo%%",
		"foo%_", "foo%-", "foo:bar/baz.example.com", "%%.com", "a.%{d}.a-b-c",
		"foo.A--B",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct spf_macro_error e = { 0, NULL };
		int rc = spf_macro_check_domain_spec(spf_slice_cstr(good[i]), NULL, &e);
		if (rc != SPF_OK)
			print_error("'%s': %s at %zu\n", good[i], e.message, e.offset);
		assert_int_equal(rc, SPF_OK);
	}
	static const struct {
		const char *in;
		size_t offset;
	} bad[] = {
		{ "", 0 },
		{ "foo.1", 4 },            /* all-numeric toplabel */
		{ "foo.1.", 4 },
		{ "museum", 0 },           /* only a toplabel */
		{ "museum.", 0 },          /* a trailing dot does not help */
		{ "foo.-bad", 4 },
		{ "foo.bad-", 4 },
		{ "foo.-", 4 },
		{ "foo.", 0 },             /* strip the dot: "foo" has no dot before it */
		{ "foo..", 4 },            /* empty toplabel */
		{ "example.com:8080", 12 }, /* ':' is not in a toplabel */
		{ "%{d}.", 4 },
		{ "%{d}com", 4 },
		{ "foo.c%{d}om", 9 },
		{ "%-com", 2 },
		{ "foo.c_m", 6 },
		{ "foo.com/24", 8 },
		{ "%{d0}.com", 3 },        /* macro errors come first */
		{ "a b.com", 1 },
		{ "%{c}.com", 2 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct spf_macro_error e = { 999, NULL };
		bool np = true;
		int rc = spf_macro_check_domain_spec(spf_slice_cstr(bad[i].in), &np, &e);
		if (rc != SPF_ESYNTAX || e.offset != bad[i].offset)
			print_error("'%s': rc %d offset %zu\n", bad[i].in, rc, e.offset);
		assert_int_equal(rc, SPF_ESYNTAX);
		assert_int_equal(e.offset, bad[i].offset);
		assert_non_null(e.message);
		assert_false(np);
	}
}

/* Builds n bytes of labels "aaa...a." of the given label length into buf. */
static size_t make_name(char *buf, size_t n, size_t label)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (i % (label + 1) == label) ? '.' : (char)('a' + (i / (label + 1)) % 26);
	return n;
}

static void test_truncate(void **state)
{
	(void)state;
	char data[600], copy[600];
	struct spf_buf b;

	/* Exactly 253: unchanged. */
	spf_buf_init(&b, data, sizeof(data));
	b.len = make_name(data, 253, 9);
	data[252] = 'x'; /* must not end in a dot for this case */
	memcpy(copy, data, 253);
	spf_domain_truncate(&b);
	assert_int_equal(b.len, 253);
	assert_memory_equal(data, copy, 253);

	/* 253 plus a trailing dot: the dot is not counted, unchanged. */
	data[253] = '.';
	b.len = 254;
	spf_domain_truncate(&b);
	assert_int_equal(b.len, 254);

	/* 254: the first label (9 bytes + dot) goes. */
	b.len = make_name(data, 254, 9);
	data[253] = 'y';
	memcpy(copy, data, 254);
	spf_domain_truncate(&b);
	assert_int_equal(b.len, 244);
	assert_memory_equal(data, copy + 10, 244);

	/* 254 plus trailing dot: same cut, the dot stays. */
	b.len = make_name(data, 255, 9);
	data[253] = 'y';
	data[254] = '.';
	memcpy(copy, data, 255);
	spf_domain_truncate(&b);
	assert_int_equal(b.len, 245);
	assert_memory_equal(data, copy + 10, 245);

	/* Four labels of 63: "l1.l2.l3.l4" is 255 bytes > 253, so l1 and its dot go. */
	b.len = make_name(data, 255, 63);
	memcpy(copy, data, 255);
	spf_domain_truncate(&b);
	assert_int_equal(b.len, 191);
	assert_memory_equal(data, copy + 64, 191);

	/* 499 bytes of 1-byte labels "a.b.c...": the first 123 labels go (246 bytes),
	 * leaving exactly 253; one label fewer would leave 255. */
	b.len = make_name(data, 499, 1);
	memcpy(copy, data, 499);
	spf_domain_truncate(&b);
	assert_int_equal(b.len, 253);
	assert_memory_equal(data, copy + 246, 253);

	/* One label longer than the limit cannot be cut by labels: unchanged, and
	 * spf_domain_valid() refuses it. */
	memset(data, 'q', 300);
	b.len = 300;
	spf_domain_truncate(&b);
	assert_int_equal(b.len, 300);
	assert_false(spf_domain_valid(spf_buf_slice(&b)));
	/* A short first label before the long one: it goes, the long one stays. */
	data[1] = '.';
	b.len = 300;
	spf_domain_truncate(&b);
	assert_int_equal(b.len, 298);

	/* Via expansion: the suite's domain-name-truncation shape. */
	struct spf_macro_ctx c = ctx4();
	char sender[300];
	memset(sender, 'x', sizeof(sender));
	for (size_t i = 9; i < 235; i += 10)
		sender[i] = '.';
	memcpy(sender + 240, "@example.com", 12);
	c.sender = spf_slice_make(sender, 252);
	spf_buf_init(&b, data, sizeof(data));
	assert_int_equal(spf_macro_expand(spf_slice_cstr("%{s}.example.net"), SPF_MACRO_DOMAIN, &c,
			     &b, NULL),
	    SPF_OK);
	assert_int_equal(b.len, 264);
	spf_domain_truncate(&b);
	/* "xxxxxxxxx." labels (10 bytes) go: 264 -> 254 -> 244. */
	assert_int_equal(b.len, 244);
	assert_memory_equal(data + 244 - 25, "x@example.com.example.net", 25);
	assert_true(spf_domain_valid(spf_buf_slice(&b)));
}

static void test_domain_valid(void **state)
{
	(void)state;
	char name[300];
	assert_true(spf_domain_valid(spf_slice_cstr("example.com")));
	assert_true(spf_domain_valid(spf_slice_cstr("example.com.")));
	assert_true(spf_domain_valid(spf_slice_cstr("com")));
	assert_true(spf_domain_valid(spf_slice_cstr("a b.%.example")));
	assert_false(spf_domain_valid(spf_slice_cstr("")));
	assert_false(spf_domain_valid(spf_slice_cstr(".")));
	assert_false(spf_domain_valid(spf_slice_cstr("..")));
	assert_false(spf_domain_valid(spf_slice_cstr("example.com..")));
	assert_false(spf_domain_valid(spf_slice_cstr(".example.com")));
	assert_false(spf_domain_valid(spf_slice_cstr("mail.example...com")));
	assert_false(spf_domain_valid(spf_slice_make("exa\0mple.com", 12)));
	assert_false(spf_domain_valid(spf_slice_make(NULL, 0)));

	/* Labels: 63 ok, 64 not. */
	memset(name, 'a', 63);
	memcpy(name + 63, ".com", 4);
	assert_true(spf_domain_valid(spf_slice_make(name, 67)));
	memset(name, 'a', 64);
	memcpy(name + 64, ".com", 4);
	assert_false(spf_domain_valid(spf_slice_make(name, 68)));

	/* Total: 253 ok, 253 + trailing dot ok, 254 not. */
	make_name(name, 253, 9);
	name[252] = 'z';
	assert_true(spf_domain_valid(spf_slice_make(name, 253)));
	name[253] = '.';
	assert_true(spf_domain_valid(spf_slice_make(name, 254)));
	name[253] = 'z';
	assert_false(spf_domain_valid(spf_slice_make(name, 254)));

	/* Identities (§4.3). */
	assert_true(spf_domain_valid_identity(spf_slice_cstr("example.com")));
	assert_true(spf_domain_valid_identity(spf_slice_cstr("example.com.")));
	assert_false(spf_domain_valid_identity(spf_slice_cstr("localhost")));
	assert_false(spf_domain_valid_identity(spf_slice_cstr("localhost.")));
	assert_false(spf_domain_valid_identity(spf_slice_cstr("[192.0.2.1]")));
	assert_false(spf_domain_valid_identity(spf_slice_cstr("[1.2.3.4")));
	assert_false(spf_domain_valid_identity(spf_slice_cstr("example..com")));
	assert_false(spf_domain_valid_identity(spf_slice_cstr("")));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_examples_ip4),
		cmocka_unit_test(test_rfc_examples_ip6),
		cmocka_unit_test(test_url_escape),
		cmocka_unit_test(test_escapes_and_literals),
		cmocka_unit_test(test_digits),
		cmocka_unit_test(test_delimiters),
		cmocka_unit_test(test_defaults_and_explain_letters),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_needs_ptr),
		cmocka_unit_test(test_buffer_limits),
		cmocka_unit_test(test_domain_spec),
		cmocka_unit_test(test_truncate),
		cmocka_unit_test(test_domain_valid),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
