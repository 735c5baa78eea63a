/*
 * test_record.c - unit tests of lib/record.c: record selection (§4.5), term syntax
 * (§5, §6, §12), CIDR lengths, domain-spec ends, modifiers, and the byte offset of
 * every error.  Records are passed as (pointer, length), so NUL bytes are tested too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "record.h"

static struct spf_arena arena;

static int setup(void **state)
{
	(void)state;
	spf_arena_init(&arena, 1 << 20);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	spf_arena_release(&arena);
	return 0;
}

static struct spf_record parse_ok_n(const char *txt, size_t len)
{
	struct spf_record rec;
	struct spf_record_error err = { 0, { NULL, 0 }, NULL };
	int rc = spf_record_parse(spf_slice_make(txt, len), &arena, &rec, &err);
	if (rc != SPF_OK)
		print_error("'%s': rc %d at %zu: %s\n", txt, rc, err.offset,
		    err.message ? err.message : "");
	assert_int_equal(rc, SPF_OK);
	return rec;
}
#define parse_ok(txt) parse_ok_n((txt), strlen(txt))

/* The record is refused; the error is at offset and names the term at term_off. */
#define EXPECT_ERROR_N(txt, txtlen, off, term_off, term_len)                                \
	do {                                                                             \
		struct spf_record rec_;                                                  \
		struct spf_record_error err_ = { 999, { NULL, 0 }, NULL };                \
		int rc_ = spf_record_parse(spf_slice_make((txt), (txtlen)), &arena, &rec_,  \
		    &err_);                                                              \
		if (rc_ != SPF_ESYNTAX || err_.offset != (size_t)(off))                  \
			print_error("'%s': rc %d at %zu: %s\n", (txt), rc_, err_.offset, \
			    err_.message ? err_.message : "");                           \
		assert_int_equal(rc_, SPF_ESYNTAX);                                      \
		assert_int_equal(err_.offset, (off));                                    \
		assert_non_null(err_.message);                                           \
		assert_ptr_equal(err_.term.p, (txt) + (term_off));                       \
		assert_int_equal(err_.term.len, (term_len));                             \
	} while (0)
#define EXPECT_ERROR(txt, off, term_off, term_len)                                       \
	EXPECT_ERROR_N(txt, strlen(txt), off, term_off, term_len)

static void assert_slice(struct spf_slice s, const char *expected)
{
	assert_int_equal(s.len, strlen(expected));
	assert_memory_equal(s.p, expected, s.len);
}

static void test_is_spf(void **state)
{
	(void)state;
	assert_true(spf_record_is_spf(spf_slice_cstr("v=spf1")));
	assert_true(spf_record_is_spf(spf_slice_cstr("v=spf1 -all")));
	assert_true(spf_record_is_spf(spf_slice_cstr("V=SpF1 -all")));
	assert_true(spf_record_is_spf(spf_slice_cstr("v=spf1 ")));
	assert_false(spf_record_is_spf(spf_slice_cstr("v=spf1-all")));
	assert_false(spf_record_is_spf(spf_slice_cstr("v=spf10 -all")));
	assert_false(spf_record_is_spf(spf_slice_cstr("v=spf")));
	assert_false(spf_record_is_spf(spf_slice_cstr(" v=spf1 -all")));
	assert_false(spf_record_is_spf(spf_slice_cstr("v=spf1\t-all")));
	assert_false(spf_record_is_spf(spf_slice_cstr("spf2.0/pra -all")));
	assert_false(spf_record_is_spf(spf_slice_cstr("")));
	assert_false(spf_record_is_spf(spf_slice_make("v=spf1\0 -all", 12)));
	assert_true(spf_record_is_spf(spf_slice_make("v=spf1 \0", 8)));
	assert_false(spf_record_is_spf(spf_slice_make(NULL, 0)));
	/* Not a record at all: parse says so at offset 0. */
	EXPECT_ERROR("v=spf2 -all", 0, 0, 0);
}

static void test_all_terms(void **state)
{
	(void)state;
	const char *txt = "v=spf1 +a mx/24 ~ptr ?ip4:192.0.2.0/24 ip6:2001:db8::/32 "
			  "include:_spf.example.com exists:%{ir}.x.example.com "
			  "-a:example.com/24//64 mx:%{d}//0 ptr:%{d} redirect=example.org "
			  "exp=exp.%{d} foo.bar-baz_x=%{s}";
	struct spf_record r = parse_ok(txt);
	assert_int_equal(r.nterms, 13);
	assert_false(r.has_all);
	assert_ptr_equal(r.redirect, &r.terms[10]);
	assert_ptr_equal(r.exp, &r.terms[11]);

	const struct spf_term *t = r.terms;
	assert_int_equal(t[0].kind, SPF_TERM_A);
	assert_int_equal(t[0].qualifier, SPF_RESULT_PASS);
	assert_int_equal(t[0].offset, 7);
	assert_ptr_equal(t[0].text.p, txt + 7);
	assert_int_equal(t[0].text.len, 2);
	assert_false(t[0].has_domain_spec);
	assert_int_equal(t[0].domain_spec.len, 0);
	assert_int_equal(t[0].cidr4, 32);
	assert_int_equal(t[0].cidr6, 128);

	assert_int_equal(t[1].kind, SPF_TERM_MX);
	assert_int_equal(t[1].offset, 10);
	assert_int_equal(t[1].cidr4, 24);
	assert_int_equal(t[1].cidr6, 128);
	assert_false(t[1].has_domain_spec);

	assert_int_equal(t[2].kind, SPF_TERM_PTR);
	assert_int_equal(t[2].qualifier, SPF_RESULT_SOFTFAIL);
	assert_false(t[2].has_domain_spec);

	assert_int_equal(t[3].kind, SPF_TERM_IP4);
	assert_int_equal(t[3].qualifier, SPF_RESULT_NEUTRAL);
	assert_int_equal(t[3].addr.family, 4);
	assert_memory_equal(t[3].addr.a, "\xc0\x00\x02\x00", 4);
	assert_int_equal(t[3].cidr4, 24);

	assert_int_equal(t[4].kind, SPF_TERM_IP6);
	assert_int_equal(t[4].addr.family, 6);
	assert_memory_equal(t[4].addr.a, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	assert_int_equal(t[4].cidr6, 32);

	assert_int_equal(t[5].kind, SPF_TERM_INCLUDE);
	assert_true(t[5].has_domain_spec);
	assert_slice(t[5].domain_spec, "_spf.example.com");
	assert_ptr_equal(t[5].domain_spec.p, strstr(txt, "_spf.example.com"));

	assert_int_equal(t[6].kind, SPF_TERM_EXISTS);
	assert_slice(t[6].domain_spec, "%{ir}.x.example.com");
	assert_false(t[6].needs_ptr);

	assert_int_equal(t[7].kind, SPF_TERM_A);
	assert_int_equal(t[7].qualifier, SPF_RESULT_FAIL);
	assert_slice(t[7].domain_spec, "example.com");
	assert_int_equal(t[7].cidr4, 24);
	assert_int_equal(t[7].cidr6, 64);
	assert_slice(t[7].text, "-a:example.com/24//64");

	assert_int_equal(t[8].kind, SPF_TERM_MX);
	assert_slice(t[8].domain_spec, "%{d}");
	assert_int_equal(t[8].cidr4, 32);
	assert_int_equal(t[8].cidr6, 0);

	assert_int_equal(t[9].kind, SPF_TERM_PTR);
	assert_slice(t[9].domain_spec, "%{d}");

	assert_int_equal(t[10].kind, SPF_TERM_REDIRECT);
	assert_slice(t[10].domain_spec, "example.org");
	assert_int_equal(t[11].kind, SPF_TERM_EXP);
	assert_slice(t[11].domain_spec, "exp.%{d}");

	assert_int_equal(t[12].kind, SPF_TERM_UNKNOWN);
	assert_slice(t[12].name, "foo.bar-baz_x");
	assert_slice(t[12].domain_spec, "%{s}");
	assert_int_equal(t[12].offset, strlen(txt) - strlen("foo.bar-baz_x=%{s}"));
}

static void test_case_and_spaces(void **state)
{
	(void)state;
	struct spf_record r = parse_ok("V=SpF1 A MX:Example.COM INCLUDE:x.COM Ip4:1.2.3.4 "
				       "IP6:::1 PTR Exists:%{D}.x.org REDIRECT=x.org EXP=e.x.org -ALL");
	assert_int_equal(r.nterms, 10);
	static const enum spf_term_kind kinds[] = { SPF_TERM_A, SPF_TERM_MX, SPF_TERM_INCLUDE,
		SPF_TERM_IP4, SPF_TERM_IP6, SPF_TERM_PTR, SPF_TERM_EXISTS, SPF_TERM_REDIRECT,
		SPF_TERM_EXP, SPF_TERM_ALL };
	for (size_t i = 0; i < 10; i++)
		assert_int_equal(r.terms[i].kind, kinds[i]);
	assert_true(r.has_all);
	assert_int_equal(r.terms[9].qualifier, SPF_RESULT_FAIL);
	assert_non_null(r.redirect);
	assert_non_null(r.exp);

	/* Leading, trailing and multiple spaces (trailing-space, two-spaces). */
	const char *txt = "v=spf1   a  -all   ";
	r = parse_ok(txt);
	assert_int_equal(r.nterms, 2);
	assert_int_equal(r.terms[0].offset, 9);
	assert_int_equal(r.terms[1].offset, 12);
	assert_slice(r.terms[1].text, "-all");
	r = parse_ok("v=spf1");
	assert_int_equal(r.nterms, 0);
	assert_null(r.redirect);
	assert_null(r.exp);
	assert_false(r.has_all);
	r = parse_ok("v=spf1 ");
	assert_int_equal(r.nterms, 0);
	r = parse_ok("v=spf1     ");
	assert_int_equal(r.nterms, 0);
}

static void test_cidr(void **state)
{
	(void)state;
	struct spf_record r;

	r = parse_ok("v=spf1 ip4:1.2.3.4/0 ip4:1.2.3.4/32 ip4:0.0.0.0/9 ip4:255.255.255.255");
	assert_int_equal(r.terms[0].cidr4, 0);
	assert_int_equal(r.terms[1].cidr4, 32);
	assert_int_equal(r.terms[2].cidr4, 9);
	assert_int_equal(r.terms[3].cidr4, 32);
	assert_memory_equal(r.terms[3].addr.a, "\xff\xff\xff\xff", 4);
	r = parse_ok("v=spf1 ip6:::/0 ip6:::1/128 ip6:fe80::/10 ip6:::1");
	assert_int_equal(r.terms[0].cidr6, 0);
	assert_int_equal(r.terms[1].cidr6, 128);
	assert_int_equal(r.terms[2].cidr6, 10);
	assert_int_equal(r.terms[3].cidr6, 128);

	/* Dual CIDR on a and mx, with and without a domain-spec. */
	r = parse_ok("v=spf1 a/0 a//0 a/0//0 a/32//128 mx:%{d}/1//1 a:x.org//64 mx/8");
	assert_int_equal(r.terms[0].cidr4, 0);
	assert_int_equal(r.terms[0].cidr6, 128);
	assert_int_equal(r.terms[1].cidr4, 32);
	assert_int_equal(r.terms[1].cidr6, 0);
	assert_int_equal(r.terms[2].cidr4, 0);
	assert_int_equal(r.terms[2].cidr6, 0);
	assert_int_equal(r.terms[3].cidr4, 32);
	assert_int_equal(r.terms[3].cidr6, 128);
	assert_int_equal(r.terms[4].cidr4, 1);
	assert_int_equal(r.terms[4].cidr6, 1);
	assert_slice(r.terms[4].domain_spec, "%{d}");
	assert_int_equal(r.terms[5].cidr4, 32);
	assert_int_equal(r.terms[5].cidr6, 64);
	assert_slice(r.terms[5].domain_spec, "x.org");
	assert_int_equal(r.terms[6].cidr4, 8);

	/* Out of range, leading zeros, empty, wrong shape: error at the '/'. */
	EXPECT_ERROR("v=spf1 ip4:1.2.3.4/33", 18, 7, 14);
	EXPECT_ERROR("v=spf1 ip4:1.2.3.4/01", 18, 7, 14);
	EXPECT_ERROR("v=spf1 ip4:1.2.3.4/032", 18, 7, 15);
	EXPECT_ERROR("v=spf1 ip4:1.2.3.4/", 18, 7, 12);
	EXPECT_ERROR("v=spf1 ip4:1.2.3.4//32", 18, 7, 15);
	EXPECT_ERROR("v=spf1 ip4:1.2.3.4/3a", 18, 7, 14);
	EXPECT_ERROR("v=spf1 ip4:1.2.3.4/-1", 18, 7, 14);
	EXPECT_ERROR("v=spf1 ip6:::1/129", 14, 7, 11);
	EXPECT_ERROR("v=spf1 ip6:::1/0128", 14, 7, 12);
	EXPECT_ERROR("v=spf1 ip6:::1/00", 14, 7, 10);
	EXPECT_ERROR("v=spf1 ip6:::1.1.1.1//33", 20, 7, 17);
	EXPECT_ERROR("v=spf1 a/33", 8, 7, 4);
	EXPECT_ERROR("v=spf1 a/01", 8, 7, 4);
	EXPECT_ERROR("v=spf1 a//129", 8, 7, 6);
	EXPECT_ERROR("v=spf1 a//0128", 8, 7, 7);
	EXPECT_ERROR("v=spf1 mx/24//129", 12, 7, 10);
	EXPECT_ERROR("v=spf1 mx/33//64", 9, 7, 9);
	EXPECT_ERROR("v=spf1 a/", 8, 7, 2);
	EXPECT_ERROR("v=spf1 a//", 8, 7, 3);
	EXPECT_ERROR("v=spf1 a///24", 8, 7, 6);
	EXPECT_ERROR("v=spf1 a/24/", 8, 7, 5);
	/* A '/' not followed by digits stays in the domain-spec: bad toplabel. */
	EXPECT_ERROR("v=spf1 a:foo.com/", 17, 7, 10);
	EXPECT_ERROR("v=spf1 a:foo.com/x", 17, 7, 11);
	/* ptr, include, exists and all take no CIDR (exists: the '/24' is in the
	 * domain-spec, whose toplabel is then wrong). */
	EXPECT_ERROR("v=spf1 ptr/24", 10, 7, 6);
	EXPECT_ERROR("v=spf1 all/24", 10, 7, 6);
	EXPECT_ERROR("v=spf1 exists:%{i}.x.org/24", 25, 7, 20);
}

static void test_ip_networks(void **state)
{
	(void)state;
	struct spf_record r;

	EXPECT_ERROR("v=spf1 ip4:1.2.3", 11, 7, 9);
	EXPECT_ERROR("v=spf1 ip4:01.2.3.4", 11, 7, 12);
	EXPECT_ERROR("v=spf1 ip4:1.2.3.256", 11, 7, 13);
	EXPECT_ERROR("v=spf1 ip4:1.2.3.4:8080", 11, 7, 16);
	EXPECT_ERROR("v=spf1 ip4:::1", 11, 7, 7);
	EXPECT_ERROR("v=spf1 ip4:::ffff:1.2.3.4", 11, 7, 18);
	EXPECT_ERROR("v=spf1 ip4:/24", 11, 7, 7);
	EXPECT_ERROR("v=spf1 ip4:", 11, 7, 4);
	EXPECT_ERROR("v=spf1 -all ip4", 15, 12, 3);
	EXPECT_ERROR("v=spf1 ip4/24", 10, 7, 6);
	EXPECT_ERROR("v=spf1 -all ip6", 15, 12, 3);
	EXPECT_ERROR("v=spf1 ip6::CAFE::BABE", 11, 7, 15);
	EXPECT_ERROR("v=spf1 ip6:1.2.3.4", 11, 7, 11);
	EXPECT_ERROR("v=spf1 ip6:1:2:3:4:5:6:7:8:9", 11, 7, 21);
	EXPECT_ERROR("v=spf1 ip6:fe80::1%eth0", 11, 7, 16);

	/* IPv4-compatible stays IPv6 (cidr6-ip4: ip6:::1.1.1.1/0). */
	r = parse_ok("v=spf1 ip6:::1.1.1.1/0");
	assert_int_equal(r.terms[0].addr.family, 6);
	assert_memory_equal(r.terms[0].addr.a, "\0\0\0\0\0\0\0\0\0\0\0\0\1\1\1\1", 16);
	assert_int_equal(r.terms[0].cidr6, 0);
	/* IPv4-mapped text in ip6: kept as the IPv6 network ::ffff:1.2.3.4, which a
	 * mapped client (evaluated as IPv4) never matches (ip4-mapped-ip6). */
	r = parse_ok("v=spf1 -ip4:1.2.3.4 ip6:::FFFF:1.2.3.4");
	assert_int_equal(r.terms[1].addr.family, 6);
	assert_memory_equal(r.terms[1].addr.a,
	    "\0\0\0\0\0\0\0\0\0\0\xff\xff\x01\x02\x03\x04", 16);
	struct spf_addr client;
	assert_int_equal(spf_addr_parse("::ffff:1.2.3.4", &client), SPF_OK);
	assert_false(spf_addr_in_net(&client, &r.terms[1].addr, r.terms[1].cidr6));
	assert_true(spf_addr_in_net(&client, &r.terms[0].addr, r.terms[0].cidr4));
	r = parse_ok("v=spf1 ip6:::ffff:0:0/96");
	assert_int_equal(r.terms[0].addr.family, 6);
	assert_int_equal(r.terms[0].cidr6, 96);
	assert_memory_equal(r.terms[0].addr.a, "\0\0\0\0\0\0\0\0\0\0\xff\xff\0\0\0\0", 16);
	r = parse_ok("v=spf1 ip6:CAFE:BABE:8000::/33");
	assert_memory_equal(r.terms[0].addr.a, "\xca\xfe\xba\xbe\x80\0\0\0\0\0\0\0\0\0\0\0", 16);
}

static void test_bad_bytes(void **state)
{
	(void)state;
	/* a-null: the NUL after the domain (length passed explicitly). */
	static const char null_rec[] = "v=spf1 a:foo.example.com\0 -all";
	EXPECT_ERROR_N(null_rec, sizeof(null_rec) - 1, 24, 7, 18);
	static const char null_end[] = "v=spf1 -all\0";
	EXPECT_ERROR_N(null_end, sizeof(null_end) - 1, 11, 7, 5);
	static const char null_alone[] = "v=spf1 -all \0";
	EXPECT_ERROR_N(null_alone, sizeof(null_alone) - 1, 12, 12, 1);
	/* CR and LF (control-char-policy, badip4). */
	EXPECT_ERROR("v=spf1 ip4:1.2.3.4\r\n-all", 18, 7, 17);
	EXPECT_ERROR("v=spf1 -all\r", 11, 7, 5);
	EXPECT_ERROR("v=spf1 a\n", 8, 7, 2);
	EXPECT_ERROR("v=spf1 a\tmx", 8, 7, 4);
	EXPECT_ERROR("v=spf1 a\x7f", 8, 7, 2);
	/* Non-ASCII (non-ascii-policy, non-ascii-mech). */
	EXPECT_ERROR("v=spf1 a:\xc3\xa9xample.com", 9, 7, 14);
	EXPECT_ERROR("v=spf1 \xc3\xaf" "all", 7, 7, 5);
	/* The first bad byte wins over anything else wrong in the same term. */
	EXPECT_ERROR("v=spf1 foo\x01", 10, 7, 4);
}

static void test_domain_specs(void **state)
{
	(void)state;
	struct spf_record r;

	r = parse_ok("v=spf1 a:foo.com. a:%{d} a:foo:bar/baz.example.com a:.com "
		     "include:%{d}.xn--zckzah a:foo.123-4 exists:%{l}%%");
	assert_int_equal(r.nterms, 7);
	assert_slice(r.terms[0].domain_spec, "foo.com.");
	assert_slice(r.terms[2].domain_spec, "foo:bar/baz.example.com");

	EXPECT_ERROR("v=spf1 a:foo.1", 13, 7, 7);      /* numeric toplabel */
	EXPECT_ERROR("v=spf1 a:museum", 9, 7, 8);      /* only a toplabel */
	EXPECT_ERROR("v=spf1 a:museum.", 9, 7, 9);
	EXPECT_ERROR("v=spf1 a:foo.-com", 13, 7, 10);  /* toplabel starting with '-' */
	EXPECT_ERROR("v=spf1 a:example.com:8080", 21, 7, 18);
	EXPECT_ERROR("v=spf1 a:", 9, 7, 2);            /* a-empty-domain */
	EXPECT_ERROR("v=spf1 a:/24", 9, 7, 5);
	EXPECT_ERROR("v=spf1 mx:%{d}.", 14, 7, 8);
	EXPECT_ERROR("v=spf1 include", 14, 7, 7);
	EXPECT_ERROR("v=spf1 include:", 15, 7, 8);
	EXPECT_ERROR("v=spf1 exists", 13, 7, 6);
	EXPECT_ERROR("v=spf1 exists:", 14, 7, 7);
	EXPECT_ERROR("v=spf1 ptr:", 11, 7, 4);
	EXPECT_ERROR("v=spf1 include:%{x}.com", 17, 7, 16);
	EXPECT_ERROR("v=spf1 exists:%(ir).sbl.example.org", 14, 7, 28);
	EXPECT_ERROR("v=spf1 exists:%{d0}.x.org", 17, 7, 18);
	EXPECT_ERROR("v=spf1 exists:%{c}.x.org", 16, 7, 17);  /* c only in exp text */
	EXPECT_ERROR("v=spf1 a:foo%", 12, 7, 6);
	/* needs_ptr. */
	r = parse_ok("v=spf1 a:%{p}.example.com exists:%{i}.x.com");
	assert_true(r.terms[0].needs_ptr);
	assert_false(r.terms[1].needs_ptr);
	r = parse_ok("v=spf1 exp=%{p2}.example.com");
	assert_true(r.terms[0].needs_ptr);
}

static void test_mechanism_names(void **state)
{
	(void)state;
	EXPECT_ERROR("v=spf1 foo", 7, 7, 3);
	EXPECT_ERROR("v=spf1 foo:bar", 7, 7, 7);
	EXPECT_ERROR("v=spf1 -foo:bar.com", 8, 7, 12);
	EXPECT_ERROR("v=spf1 -", 8, 7, 1);
	EXPECT_ERROR("v=spf1 +-all", 8, 7, 5);
	EXPECT_ERROR("v=spf1 alll", 7, 7, 4);
	EXPECT_ERROR("v=spf1 all.", 7, 7, 4);
	EXPECT_ERROR("v=spf1 all:x.com", 10, 7, 9);
	EXPECT_ERROR("v=spf1 ip5:1.2.3.4", 7, 7, 11);
	EXPECT_ERROR("v=spf1 :a", 7, 7, 2);
	EXPECT_ERROR("v=spf1 /24", 7, 7, 3);
	EXPECT_ERROR("v=spf1 =x", 7, 7, 2);
	EXPECT_ERROR("v=spf1 1foo=bar", 7, 7, 8);      /* a name starts with a letter */
	EXPECT_ERROR("v=spf1 -redirect=x.com", 8, 7, 15); /* no qualifier on modifiers */
	/* A syntax error after "all" is still an error (detect-errors-anywhere). */
	EXPECT_ERROR("v=spf1 -all foobar", 12, 12, 6);
	EXPECT_ERROR("v=spf1 -all a:foo.1", 18, 12, 7);
	EXPECT_ERROR("v=spf1 -all redirect=", 21, 12, 9);
}

static void test_modifiers(void **state)
{
	(void)state;
	struct spf_record r;

	r = parse_ok("v=spf1 foo.bar=baz x-y_z.1=%{d} moo= a=b Ip4=%%%_%- all=x");
	assert_int_equal(r.nterms, 6);
	for (size_t i = 0; i < r.nterms; i++)
		assert_int_equal(r.terms[i].kind, SPF_TERM_UNKNOWN);
	assert_false(r.has_all);
	assert_slice(r.terms[0].name, "foo.bar");
	assert_slice(r.terms[0].domain_spec, "baz");
	assert_slice(r.terms[1].name, "x-y_z.1");
	assert_slice(r.terms[2].name, "moo");
	assert_int_equal(r.terms[2].domain_spec.len, 0);
	assert_slice(r.terms[3].name, "a");
	assert_slice(r.terms[4].name, "Ip4");
	assert_slice(r.terms[5].name, "all");
	/* An unknown modifier's value is a macro-string (domain mode, c r t refused). */
	EXPECT_ERROR("v=spf1 moo=%{x}", 13, 7, 8);
	EXPECT_ERROR("v=spf1 moo=%", 11, 7, 5);
	EXPECT_ERROR("v=spf1 moo=%{t}", 13, 7, 8);
	EXPECT_ERROR("v=spf1 moo=a=%", 13, 7, 7);
	/* A name with a bad character is not a modifier name. */
	EXPECT_ERROR("v=spf1 foo+bar=baz", 7, 7, 11);

	/* redirect and exp: case-insensitive, once each, with a domain-spec. */
	r = parse_ok("v=spf1 ReDiReCt=_spf.example.com Exp=%{d}");
	assert_ptr_equal(r.redirect, &r.terms[0]);
	assert_ptr_equal(r.exp, &r.terms[1]);
	assert_slice(r.redirect->domain_spec, "_spf.example.com");
	assert_true(r.redirect->has_domain_spec);
	EXPECT_ERROR("v=spf1 redirect=a.com redirect=b.com", 22, 22, 14);
	EXPECT_ERROR("v=spf1 exp=a.com -all EXP=b.com", 22, 22, 9);
	EXPECT_ERROR("v=spf1 exp=", 11, 7, 4);         /* exp-empty-domain */
	EXPECT_ERROR("v=spf1 redirect=", 16, 7, 9);
	/* redirect-syntax-error / exp-syntax-error: never re-read as unknown. */
	EXPECT_ERROR("v=spf1 redirect=foo.com/24", 24, 7, 19);
	EXPECT_ERROR("v=spf1 exp=foo", 11, 7, 7);
	EXPECT_ERROR("v=spf1 redirect=%{x}.com", 18, 7, 17);
	EXPECT_ERROR("v=spf1 exp=%{c}.example.com", 13, 7, 20);
	EXPECT_ERROR("v=spf1 exp=a.com b", 17, 17, 1);    /* "b": unknown mechanism */
	EXPECT_ERROR("v=spf1 exp=a b", 11, 7, 5);         /* "a": no toplabel */
	/* "redirect.x" and "expx" are other names: unknown modifiers. */
	r = parse_ok("v=spf1 redirect.x=a expx=b exp.=c");
	assert_null(r.redirect);
	assert_null(r.exp);
	assert_int_equal(r.terms[0].kind, SPF_TERM_UNKNOWN);
	assert_int_equal(r.terms[2].kind, SPF_TERM_UNKNOWN);
}

static void test_kind_names(void **state)
{
	(void)state;
	assert_string_equal(spf_term_kind_name(SPF_TERM_ALL), "all");
	assert_string_equal(spf_term_kind_name(SPF_TERM_INCLUDE), "include");
	assert_string_equal(spf_term_kind_name(SPF_TERM_A), "a");
	assert_string_equal(spf_term_kind_name(SPF_TERM_MX), "mx");
	assert_string_equal(spf_term_kind_name(SPF_TERM_PTR), "ptr");
	assert_string_equal(spf_term_kind_name(SPF_TERM_IP4), "ip4");
	assert_string_equal(spf_term_kind_name(SPF_TERM_IP6), "ip6");
	assert_string_equal(spf_term_kind_name(SPF_TERM_EXISTS), "exists");
	assert_string_equal(spf_term_kind_name(SPF_TERM_REDIRECT), "redirect");
	assert_string_equal(spf_term_kind_name(SPF_TERM_EXP), "exp");
	assert_string_equal(spf_term_kind_name(SPF_TERM_UNKNOWN), "unknown-modifier");
	assert_string_equal(spf_term_kind_name((enum spf_term_kind)99), "invalid");
}

static void test_memory(void **state)
{
	(void)state;
	struct spf_arena tiny;
	struct spf_record r;
	struct spf_record_error e;
	spf_arena_init(&tiny, 16);
	assert_int_equal(spf_record_parse(spf_slice_cstr("v=spf1 a mx -all"), &tiny, &r, &e),
	    SPF_ENOMEM);
	/* No terms: nothing to allocate. */
	assert_int_equal(spf_record_parse(spf_slice_cstr("v=spf1  "), &tiny, &r, &e), SPF_OK);
	assert_int_equal(r.nterms, 0);
	spf_arena_release(&tiny);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_spf),
		cmocka_unit_test(test_all_terms),
		cmocka_unit_test(test_case_and_spaces),
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_ip_networks),
		cmocka_unit_test(test_bad_bytes),
		cmocka_unit_test(test_domain_specs),
		cmocka_unit_test(test_mechanism_names),
		cmocka_unit_test(test_modifiers),
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_memory),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
