/*
 * test_dnsmsg.c - unit tests of lib/dnsmsg.c: names to wire form, the query
 * written, and the response reader on messages built here by hand, byte by byte
 * (compression pointers where a test wants them): A, AAAA, TXT, MX and PTR with
 * compressed names, CNAME chains (in mixed case, to nothing, looping, too long),
 * NXDOMAIN and NODATA TTLs, TTLs with the top bit set, other RCODEs, records that
 * must be ignored, and every way a message can be broken: each prefix of a good
 * message (run it under ASan), forward and looping pointers, a wrong question, an
 * RDLENGTH past the end, malformed RDATA of the type asked for.
 *
 * Each read is given an exact-size heap copy of the message, so that ASan sees any
 * read past its end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dnsmsg.h"
#include "spfgate/spfgate.h"
#include "msgbuf.h"

#define T_A 1
#define T_NS 2
#define T_CNAME 5
#define T_SOA 6
#define T_PTR 12
#define T_MX 15
#define T_TXT 16
#define T_AAAA 28
#define C_IN 1
#define C_CH 3

/* ---------------------------------------------------------------- message builder */

/* Writes the labels of dotted (may be "": none), then a pointer to ptr, or the root
 * label when ptr < 0.  Returns the offset where the name starts. */
static size_t name(struct mb *m, const char *dotted, int ptr)
{
	size_t at = m->len;
	const char *p = dotted;
	while (*p != '\0') {
		const char *dot = strchr(p, '.');
		size_t l = dot != NULL ? (size_t)(dot - p) : strlen(p);
		u8(m, (unsigned)l);
		bytes(m, p, l);
		p += l;
		if (*p == '.')
			p++;
	}
	if (ptr >= 0)
		u16(m, 0xc000u | (unsigned)ptr);
	else
		u8(m, 0);
	return at;
}

/* Header: ID 0x1234, QR and RD and RA set, opcode 0, the rcode given. */
static void header(struct mb *m, unsigned rcode, unsigned qd, unsigned an, unsigned ns,
    unsigned ar)
{
	m->len = 0;
	u16(m, 0x1234);
	u16(m, 0x8180 | rcode);
	u16(m, qd);
	u16(m, an);
	u16(m, ns);
	u16(m, ar);
}

/* The question; its name is at offset 12. */
static void question(struct mb *m, const char *qname, unsigned type)
{
	name(m, qname, -1);
	u16(m, type);
	u16(m, C_IN);
}

/* Opens an RR owned by (labels, ptr) (see name()); close it with rr_end(). */
static void rr_begin_c(struct mb *m, const char *labels, int ptr, unsigned type,
    unsigned class, uint32_t ttl)
{
	name(m, labels, ptr);
	u16(m, type);
	u16(m, class);
	u32(m, ttl);
	m->rdlen_at = m->len;
	u16(m, 0);
}

static void rr_begin(struct mb *m, const char *labels, int ptr, unsigned type, uint32_t ttl)
{
	rr_begin_c(m, labels, ptr, type, C_IN, ttl);
}

static void rr_end(struct mb *m)
{
	size_t rdlen = m->len - m->rdlen_at - 2;
	m->b[m->rdlen_at] = (uint8_t)(rdlen >> 8);
	m->b[m->rdlen_at + 1] = (uint8_t)rdlen;
}

static void rr_a(struct mb *m, const char *labels, int ptr, uint32_t ttl, unsigned a,
    unsigned b, unsigned c, unsigned d)
{
	rr_begin(m, labels, ptr, T_A, ttl);
	u8(m, a);
	u8(m, b);
	u8(m, c);
	u8(m, d);
	rr_end(m);
}

static void rr_cname(struct mb *m, const char *labels, int ptr, uint32_t ttl,
    const char *target)
{
	rr_begin(m, labels, ptr, T_CNAME, ttl);
	name(m, target, -1);
	rr_end(m);
}

static void rr_soa(struct mb *m, const char *labels, int ptr, uint32_t ttl, uint32_t minimum)
{
	rr_begin(m, labels, ptr, T_SOA, ttl);
	name(m, "ns1", ptr);
	name(m, "hostmaster", ptr);
	u32(m, 2024010101);
	u32(m, 7200);
	u32(m, 3600);
	u32(m, 1209600);
	u32(m, minimum);
	rr_end(m);
}

/* ---------------------------------------------------------------- reading */

static struct xp_result *res;
static const char *why;

/* Reads m (an exact-size copy) as the answer to (qname, qtype). */
static struct xp_result *rd(const struct mb *m, const char *qname, uint16_t qtype)
{
	uint8_t *copy = malloc(m->len > 0 ? m->len : 1);
	assert_non_null(copy);
	memcpy(copy, m->b, m->len);
	free(res);
	res = NULL;
	why = NULL;
	assert_int_equal(spf_dnsmsg_read(copy, m->len, qname, qtype, &res, &why), SPF_OK);
	free(copy);
	assert_non_null(res);
	assert_false(res->secure);
	assert_false(res->bogus);
	if (res->rcode == XP_FAIL) {
		assert_non_null(why);
		assert_int_equal(res->n, 0);
	} else {
		assert_null(why);
	}
	return res;
}

static void expect_fail(const struct mb *m, const char *qname, uint16_t qtype,
    const char *reason)
{
	struct xp_result *r = rd(m, qname, qtype);
	if (r->rcode != XP_FAIL)
		fail_msg("expected XP_FAIL (%s), got rcode %d", reason, r->rcode);
	if (strstr(why, reason) == NULL)
		fail_msg("expected '%s', got '%s'", reason, why);
}

static void expect_rr(const struct xp_result *r, size_t i, const void *data, size_t len)
{
	assert_true(i < r->n);
	assert_int_equal(r->rdlen[i], len);
	assert_memory_equal(r->rdata[i], data, len);
}

static int teardown(void **state)
{
	(void)state;
	free(res);
	res = NULL;
	return 0;
}

/* ---------------------------------------------------------------- tests */

static void test_name_wire(void **state)
{
	(void)state;
	uint8_t w[SPF_DNS_NAME_MAX];
	assert_int_equal(spf_dnsmsg_name_wire("Example.com", w), 13);
	assert_memory_equal(w, "\7Example\3com\0", 13);
	/* Any byte but '.' is label data: spaces, backslashes, high bytes. */
	assert_int_equal(spf_dnsmsg_name_wire("a b\\c.\xff", w), 9);
	assert_memory_equal(w, "\5a b\\c\1\xff\0", 9);

	assert_int_equal(spf_dnsmsg_name_wire("", w), 0);
	assert_int_equal(spf_dnsmsg_name_wire(NULL, w), 0);
	assert_int_equal(spf_dnsmsg_name_wire("a..b", w), 0);
	assert_int_equal(spf_dnsmsg_name_wire(".a", w), 0);
	assert_int_equal(spf_dnsmsg_name_wire("a.", w), 0);
	assert_int_equal(spf_dnsmsg_name_wire(".", w), 0);

	char n[400];
	memset(n, 'x', 63);
	strcpy(n + 63, ".com");
	assert_int_equal(spf_dnsmsg_name_wire(n, w), 64 + 4 + 1);
	memset(n, 'x', 64);
	strcpy(n + 64, ".com");
	assert_int_equal(spf_dnsmsg_name_wire(n, w), 0);

	/* 255 bytes in wire form: 3 labels of 63, one of 61 (4 * 64 - 2 + root). */
	memset(n, 'a', sizeof(n));
	n[63] = n[127] = n[191] = '.';
	n[253] = '\0';
	assert_int_equal(strlen(n), 253);
	assert_int_equal(spf_dnsmsg_name_wire(n, w), 255);
	n[253] = 'a';
	n[254] = '\0';
	assert_int_equal(spf_dnsmsg_name_wire(n, w), 0); /* 256 */
}

static void test_query(void **state)
{
	(void)state;
	uint8_t q[SPF_DNSMSG_QUERY_MAX];
	size_t len = spf_dnsmsg_query(q, sizeof(q), 0xbeef, "_spf.Example.com", T_TXT, 1232);
	static const uint8_t want[] = {
		0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1,
		4, '_', 's', 'p', 'f', 7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
		0, 16, 0, 1,
		0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0,
	};
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(q, want, sizeof(want));

	len = spf_dnsmsg_query(q, sizeof(q), 7, "a", T_A, 0);
	assert_int_equal(len, 12 + 3 + 4);
	assert_int_equal(q[11], 0); /* ARCOUNT */

	assert_int_equal(spf_dnsmsg_query(q, sizeof(q), 7, "a..b", T_A, 0), 0);
	assert_int_equal(spf_dnsmsg_query(q, 20, 7, "example.com", T_A, 0), 0);
	assert_int_equal(spf_dnsmsg_query(q, 29, 7, "example.com", T_A, 0), 29);
}

static void test_a_aaaa(void **state)
{
	(void)state;
	struct mb *m = calloc(1, sizeof(*m));
	header(m, 0, 1, 2, 0, 0);
	question(m, "example.com", T_A);
	rr_a(m, "", 12, 300, 192, 0, 2, 1);
	rr_a(m, "", 12, 100, 192, 0, 2, 2);
	struct xp_result *r = rd(m, "example.com", T_A);
	assert_int_equal(r->rcode, 0);
	assert_true(r->has_records);
	assert_int_equal(r->ttl, 100);
	assert_int_equal(r->n, 2);
	expect_rr(r, 0, "\xc0\x00\x02\x01", 4);
	expect_rr(r, 1, "\xc0\x00\x02\x02", 4);

	/* The question's name in another case; AAAA. */
	header(m, 0, 1, 1, 0, 0);
	question(m, "EXAMPLE.com", T_AAAA);
	rr_begin(m, "", 12, T_AAAA, 3600);
	bytes(m, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	rr_end(m);
	r = rd(m, "example.COM", T_AAAA);
	assert_int_equal(r->rcode, 0);
	assert_int_equal(r->ttl, 3600);
	assert_int_equal(r->n, 1);
	expect_rr(r, 0, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	free(m);
}

static void test_txt(void **state)
{
	(void)state;
	struct mb *m = calloc(1, sizeof(*m));
	header(m, 0, 1, 2, 0, 0);
	question(m, "_spf.example.com", T_TXT);
	rr_begin(m, "", 12, T_TXT, 60);
	bytes(m, "\x0bv=spf1 a mx\x04 -all", 17);
	rr_end(m);
	rr_begin(m, "", 12, T_TXT, 120);
	bytes(m, "\x05" "a\0b\0c" "\x00", 7); /* NUL bytes, an empty string */
	rr_end(m);
	struct xp_result *r = rd(m, "_spf.example.com", T_TXT);
	assert_int_equal(r->rcode, 0);
	assert_int_equal(r->ttl, 60);
	assert_int_equal(r->n, 2);
	expect_rr(r, 0, "\x0bv=spf1 a mx\x04 -all", 17);
	expect_rr(r, 1, "\x05" "a\0b\0c" "\x00", 7);
	free(m);
}

static void test_mx_compressed(void **state)
{
	(void)state;
	struct mb *m = calloc(1, sizeof(*m));
	header(m, 0, 1, 3, 0, 0);
	question(m, "example.com", T_MX);
	/* mx1.example.com: a label, then a pointer to the question's name. */
	rr_begin(m, "", 12, T_MX, 300);
	u16(m, 10);
	size_t mx1 = name(m, "mx1", 12);
	rr_end(m);
	/* Entirely a pointer to the first exchange (a pointer to labels + pointer). */
	rr_begin(m, "", 12, T_MX, 300);
	u16(m, 20);
	name(m, "", (int)mx1);
	rr_end(m);
	/* Uncompressed, mixed case; the owner's case differs from the question's. */
	rr_begin(m, "EXAMPLE.COM", -1, T_MX, 200);
	u16(m, 0);
	name(m, "Mail.Example.NET", -1);
	rr_end(m);
	struct xp_result *r = rd(m, "example.com", T_MX);
	assert_int_equal(r->rcode, 0);
	assert_int_equal(r->ttl, 200);
	assert_int_equal(r->n, 3);
	expect_rr(r, 0, "\x00\x0a\3mx1\7example\3com\0", 2 + 17);
	expect_rr(r, 1, "\x00\x14\3mx1\7example\3com\0", 2 + 17);
	expect_rr(r, 2, "\x00\x00\4Mail\7Example\3NET\0", 2 + 18);
	free(m);
}

static void test_ptr_compressed(void **state)
{
	(void)state;
	struct mb *m = calloc(1, sizeof(*m));
	header(m, 0, 1, 1, 0, 0);
	question(m, "1.2.0.192.in-addr.arpa", T_PTR);
	/* The target's tail points into the middle of the question: "in-addr.arpa"
	 * starts after "\1" "1" "\1" "2" "\1" "0" "\3" "192" = 12 + 10. */
	rr_begin(m, "", 12, T_PTR, 86400);
	name(m, "host.x", 12 + 10);
	rr_end(m);
	struct xp_result *r = rd(m, "1.2.0.192.in-addr.arpa", T_PTR);
	assert_int_equal(r->rcode, 0);
	assert_int_equal(r->ttl, 86400);
	assert_int_equal(r->n, 1);
	expect_rr(r, 0, "\4host\1x\7in-addr\4arpa\0", 21);
	free(m);
}

static void test_cname_chain(void **state)
{
	(void)state;
	struct mb *m = calloc(1, sizeof(*m));
	header(m, 0, 1, 5, 0, 0);
	question(m, "www.Example.com", T_A);
	/* Out of order, in other cases, with decoys. */
	rr_a(m, "b.example.net", -1, 500, 192, 0, 2, 7);
	rr_cname(m, "A.EXAMPLE.NET", -1, 250, "B.example.NET");
	rr_a(m, "c.example.net", -1, 5, 192, 0, 2, 99); /* another owner */
	rr_cname(m, "WWW.example.COM", -1, 400, "a.example.net");
	rr_a(m, "B.Example.Net", -1, 300, 192, 0, 2, 8);
	struct xp_result *r = rd(m, "www.example.com", T_A);
	assert_int_equal(r->rcode, 0);
	assert_int_equal(r->ttl, 250); /* min(400, 250, 500, 300) */
	assert_int_equal(r->n, 2);
	expect_rr(r, 0, "\xc0\x00\x02\x07", 4);
	expect_rr(r, 1, "\xc0\x00\x02\x08", 4);

	/* A CNAME question is answered by the CNAME itself, not followed. */
	expect_fail(m, "www.example.com", T_CNAME, "question does not match");
	header(m, 0, 1, 2, 0, 0);
	question(m, "www.example.com", T_CNAME);
	rr_cname(m, "", 12, 400, "a.example.net");
	rr_cname(m, "a.example.net", -1, 400, "b.example.net");
	r = rd(m, "www.example.com", T_CNAME);
	assert_int_equal(r->rcode, 0);
	assert_int_equal(r->n, 1);
	expect_rr(r, 0, "\1a\7example\3net\0", 15);
	free(m);
}

static void test_cname_to_nothing(void **state)
{
	(void)state;
	struct mb *m = calloc(1, sizeof(*m));
	/* NODATA at the chain's end, SOA in the authority section: the negative TTL
	 * min(SOA TTL, MINIMUM) = 300, capped by the chain's 100. */
	header(m, 0, 1, 1, 1, 0);
	question(m, "www.example.com", T_A);
	rr_cname(m, "", 12, 100, "a.example.net");
	rr_soa(m, "example.net", -1, 600, 300);
	struct xp_result *r = rd(m, "www.example.com", T_A);
	assert_int_equal(r->rcode, 0);
	assert_true(r->has_records);
	assert_int_equal(r->n, 0);
	assert_int_equal(r->ttl, 100);

	/* The chain's TTL is larger: the negative TTL decides. */
	header(m, 0, 1, 1, 1, 0);
	question(m, "www.example.com", T_A);
	rr_cname(m, "", 12, 1000, "a.example.net");
	rr_soa(m, "example.net", -1, 600, 300);
	r = rd(m, "www.example.com", T_A);
	assert_int_equal(r->ttl, 300);

	/* No SOA: 0. */
	header(m, 0, 1, 1, 0, 0);
	question(m, "www.example.com", T_A);
	rr_cname(m, "", 12, 100, "a.example.net");
	r = rd(m, "www.example.com", T_A);
	assert_int_equal(r->rcode, 0);
	assert_true(r->has_records);
	assert_int_equal(r->n, 0);
	assert_int_equal(r->ttl, 0);

	/* NXDOMAIN at the chain's end (RFC 6604): the rcode stays, no records even if a
	 * broken server sends some. */
	header(m, 3, 1, 2, 1, 0);
	question(m, "www.example.com", T_A);
	rr_cname(m, "", 12, 100, "a.example.net");
	rr_a(m, "a.example.net", -1, 100, 192, 0, 2, 1);
	rr_soa(m, "example.net", -1, 50, 300);
	r = rd(m, "www.example.com", T_A);
	assert_int_equal(r->rcode, 3);
	assert_int_equal(r->n, 0);
	assert_int_equal(r->ttl, 50);
	free(m);
}

static void test_cname_loop(void **state)
{
	(void)state;
	struct mb *m = calloc(1, sizeof(*m));
	header(m, 0, 1, 2, 0, 0);
	question(m, "a.example", T_TXT);
	rr_cname(m, "", 12, 100, "b.example");
	rr_cname(m, "b.example", -1, 100, "A.example");
	expect_fail(m, "a.example", T_TXT, "CNAME loop");

	header(m, 0, 1, 1, 0, 0);
	question(m, "a.example", T_TXT);
	rr_cname(m, "", 12, 100, "a.example");
	expect_fail(m, "a.example", T_TXT, "CNAME loop");

	/* A loop that does not pass through the question's name. */
	header(m, 0, 1, 3, 0, 0);
	question(m, "a.example", T_TXT);
	rr_cname(m, "", 12, 100, "b.example");
	rr_cname(m, "b.example", -1, 100, "c.example");
	rr_cname(m, "c.example", -1, 100, "b.example");
	expect_fail(m, "a.example", T_TXT, "CNAME loop");

	/* SPF_DNSMSG_MAX_CHAIN links are followed; one more is too many. */
	for (int links = SPF_DNSMSG_MAX_CHAIN; links <= SPF_DNSMSG_MAX_CHAIN + 1; links++) {
		char owner[16], target[16];
		header(m, 0, 1, (unsigned)links + 1, 0, 0);
		question(m, "n0.example", T_A);
		for (int i = 0; i < links; i++) {
			snprintf(owner, sizeof(owner), "n%d.example", i);
			snprintf(target, sizeof(target), "n%d.example", i + 1);
			rr_cname(m, owner, -1, 100, target);
		}
		rr_a(m, target, -1, 100, 192, 0, 2, 1);
		if (links == SPF_DNSMSG_MAX_CHAIN) {
			struct xp_result *r = rd(m, "n0.example", T_A);
			assert_int_equal(r->rcode, 0);
			assert_int_equal(r->n, 1);
		} else {
			expect_fail(m, "n0.example", T_A, "CNAME chain too long");
		}
	}
	free(m);
}

static void test_negative(void **state)
{
	(void)state;
	struct mb *m = calloc(1, sizeof(*m));
	/* NXDOMAIN: min(SOA TTL 3600, MINIMUM 900). */
	header(m, 3, 1, 0, 1, 0);
	question(m, "nx.example.com", T_A);
	rr_soa(m, "", 12 + 3, 3600, 900);
	struct xp_result *r = rd(m, "nx.example.com", T_A);
	assert_int_equal(r->rcode, 3);
	assert_true(r->has_records);
	assert_int_equal(r->n, 0);
	assert_int_equal(r->ttl, 900);

	header(m, 3, 1, 0, 2, 0);
	question(m, "nx.example.com", T_A);
	rr_begin(m, "", 12 + 3, T_NS, 10); /* not an SOA: skipped */
	name(m, "ns", 12 + 3);
	rr_end(m);
	rr_soa(m, "", 12 + 3, 60, 900);
	r = rd(m, "nx.example.com", T_A);
	assert_int_equal(r->ttl, 60);

	/* NODATA without an SOA: nothing to cache by. */
	header(m, 0, 1, 0, 0, 0);
	question(m, "example.com", T_AAAA);
	r = rd(m, "example.com", T_AAAA);
	assert_int_equal(r->rcode, 0);
	assert_false(r->has_records);
	assert_int_equal(r->n, 0);
	assert_int_equal(r->ttl, 0);
	assert_null(r->rdata);

	/* An SOA in the answer section, NS in authority: not a negative answer's SOA. */
	header(m, 0, 1, 1, 0, 0);
	question(m, "example.com", T_A);
	rr_soa(m, "", 12, 500, 500);
	r = rd(m, "example.com", T_A);
	assert_int_equal(r->n, 0);
	assert_int_equal(r->ttl, 0);
	free(m);
}

static void test_ttl_top_bit(void **state)
{
	(void)state;
	struct mb *m = calloc(1, sizeof(*m));
	header(m, 0, 1, 2, 0, 0);
	question(m, "example.com", T_A);
	rr_a(m, "", 12, 0x80000000u, 192, 0, 2, 1);
	rr_a(m, "", 12, 0x7fffffffu, 192, 0, 2, 2);
	struct xp_result *r = rd(m, "example.com", T_A);
	assert_int_equal(r->n, 2);
	assert_int_equal(r->ttl, 0);

	header(m, 0, 1, 1, 0, 0);
	question(m, "example.com", T_A);
	rr_a(m, "", 12, 0x7fffffffu, 192, 0, 2, 2);
	r = rd(m, "example.com", T_A);
	assert_int_equal(r->ttl, 0x7fffffffu);

	header(m, 3, 1, 0, 1, 0);
	question(m, "example.com", T_A);
	rr_soa(m, "", 12, 0xffffffffu, 600);
	r = rd(m, "example.com", T_A);
	assert_int_equal(r->ttl, 0);
	header(m, 3, 1, 0, 1, 0);
	question(m, "example.com", T_A);
	rr_soa(m, "", 12, 600, 0x80000001u);
	r = rd(m, "example.com", T_A);
	assert_int_equal(r->ttl, 0);
	free(m);
}

static void test_other_rcode(void **state)
{
	(void)state;
	struct mb *m = calloc(1, sizeof(*m));
	header(m, 2, 1, 1, 0, 0); /* SERVFAIL, with a record for good measure */
	question(m, "example.com", T_A);
	rr_a(m, "", 12, 300, 192, 0, 2, 1);
	struct xp_result *r = rd(m, "example.com", T_A);
	assert_int_equal(r->rcode, 2);
	assert_int_equal(r->n, 0);
	assert_int_equal(r->ttl, 0);
	assert_true(r->has_records);

	header(m, 5, 1, 0, 0, 0); /* REFUSED */
	question(m, "example.com", T_A);
	r = rd(m, "example.com", T_A);
	assert_int_equal(r->rcode, 5);
	assert_false(r->has_records);
	free(m);
}

static void test_ignored(void **state)
{
	(void)state;
	struct mb *m = calloc(1, sizeof(*m));
	header(m, 0, 1, 5, 1, 2);
	question(m, "example.com", T_A);
	rr_begin(m, "", 12, T_AAAA, 10); /* another type */
	bytes(m, "0123456789abcdef", 16);
	rr_end(m);
	rr_begin_c(m, "", 12, T_A, C_CH, 10); /* another class */
	bytes(m, "\1\2\3\4", 4);
	rr_end(m);
	rr_begin(m, "", 12, T_TXT, 10); /* malformed, but not the type asked for */
	bytes(m, "\x09" "abc", 4);
	rr_end(m);
	rr_a(m, "other", 12, 10, 10, 0, 0, 1); /* another owner */
	rr_a(m, "", 12, 700, 192, 0, 2, 1);
	rr_begin(m, "", 12, T_NS, 10);
	name(m, "ns1", 12);
	rr_end(m);
	/* Additional: not read at all, so even garbage after the OPT is harmless. */
	name(m, "", -1);
	u16(m, 41);
	u16(m, 1232);
	u32(m, 0);
	u16(m, 0);
	bytes(m, "\xff\xff\xff", 3);
	struct xp_result *r = rd(m, "example.com", T_A);
	assert_int_equal(r->rcode, 0);
	assert_int_equal(r->n, 1);
	assert_int_equal(r->ttl, 700);
	expect_rr(r, 0, "\xc0\x00\x02\x01", 4);
	free(m);
}

static void test_header_question(void **state)
{
	(void)state;
	struct mb *m = calloc(1, sizeof(*m));
	header(m, 0, 1, 1, 0, 0);
	question(m, "example.com", T_A);
	rr_a(m, "", 12, 300, 192, 0, 2, 1);
	assert_int_equal(rd(m, "example.com", T_A)->rcode, 0);

	expect_fail(m, "example.org", T_A, "question does not match");
	expect_fail(m, "www.example.com", T_A, "question does not match");
	expect_fail(m, "example.com", T_AAAA, "question does not match");

	struct mb *c = calloc(1, sizeof(*c));
	*c = *m;
	c->b[12 + 13 + 3] = C_CH; /* QCLASS */
	expect_fail(c, "example.com", T_A, "question does not match");
	*c = *m;
	c->b[2] &= 0x7f; /* QR clear */
	expect_fail(c, "example.com", T_A, "QR clear");
	*c = *m;
	c->b[2] |= 0x02; /* TC */
	expect_fail(c, "example.com", T_A, "TC set");
	*c = *m;
	c->b[2] |= 0x10; /* opcode 2 */
	expect_fail(c, "example.com", T_A, "standard query");
	*c = *m;
	c->b[5] = 0; /* QDCOUNT 0 */
	expect_fail(c, "example.com", T_A, "exactly one question");
	*c = *m;
	c->b[5] = 2;
	expect_fail(c, "example.com", T_A, "exactly one question");
	*c = *m;
	c->b[7] = 2; /* ANCOUNT past the records there are */
	expect_fail(c, "example.com", T_A, "past the end");

	/* An invalid question name is the caller's error. */
	struct xp_result *r = (struct xp_result *)1;
	assert_int_equal(spf_dnsmsg_read(m->b, m->len, "a..b", T_A, &r, NULL), SPF_EINVAL);
	assert_null(r);
	assert_int_equal(spf_dnsmsg_read(m->b, m->len, "", T_A, &r, NULL), SPF_EINVAL);
	/* NULL message, zero length. */
	assert_int_equal(spf_dnsmsg_read(NULL, 0, "example.com", T_A, &r, NULL), SPF_OK);
	assert_int_equal(r->rcode, XP_FAIL);
	free(r);
	free(c);
	free(m);
}

static void test_bad_pointers(void **state)
{
	(void)state;
	struct mb *m = calloc(1, sizeof(*m));
	/* A forward pointer in an owner name. */
	header(m, 0, 1, 1, 0, 0);
	question(m, "example.com", T_A);
	rr_a(m, "", (int)m->len + 2, 300, 192, 0, 2, 1);
	expect_fail(m, "example.com", T_A, "backwards");

	/* A pointer to itself. */
	header(m, 0, 1, 1, 0, 0);
	question(m, "example.com", T_A);
	rr_a(m, "", (int)m->len, 300, 192, 0, 2, 1);
	expect_fail(m, "example.com", T_A, "backwards");

	/* Labels then a pointer back to their own start: a loop. */
	header(m, 0, 1, 1, 0, 0);
	question(m, "example.com", T_A);
	rr_a(m, "loop", (int)m->len, 300, 192, 0, 2, 1);
	expect_fail(m, "example.com", T_A, "backwards");

	/* Two names pointing at each other (the second backwards, the first forwards). */
	header(m, 0, 1, 1, 0, 0);
	question(m, "example.com", T_MX);
	rr_begin(m, "", 12, T_MX, 300);
	u16(m, 10);
	size_t at = m->len;
	name(m, "a", (int)at + 4);
	name(m, "b", (int)at);
	rr_end(m);
	expect_fail(m, "example.com", T_MX, "backwards");

	/* Into the header. */
	header(m, 0, 1, 1, 0, 0);
	question(m, "example.com", T_A);
	rr_a(m, "", 4, 300, 192, 0, 2, 1);
	expect_fail(m, "example.com", T_A, "into the header");

	/* Pointer cut short at the end of the message. */
	header(m, 0, 1, 1, 0, 0);
	question(m, "example.com", T_A);
	u8(m, 0xc0);
	expect_fail(m, "example.com", T_A, "cut short");

	/* Label types 01 and 10. */
	header(m, 0, 1, 1, 0, 0);
	question(m, "example.com", T_A);
	u8(m, 0x41);
	u8(m, 0);
	expect_fail(m, "example.com", T_A, "unknown label type");

	/* A chain of pointers, each pointing at the one before (all backwards), longer
	 * than any name needs; they sit in the RDATA of a TXT record nobody reads. */
	header(m, 0, 1, 2, 0, 0);
	question(m, "example.com", T_PTR);
	rr_begin(m, "", 12, T_TXT, 300);
	int prev = (int)name(m, "a", -1);
	for (int i = 0; i < 130; i++)
		prev = (int)name(m, "", prev);
	rr_end(m);
	rr_begin(m, "", 12, T_PTR, 300);
	name(m, "", prev);
	rr_end(m);
	expect_fail(m, "example.com", T_PTR, "too many compression pointers");
	free(m);
}

static void test_name_255(void **state)
{
	(void)state;
	struct mb *m = calloc(1, sizeof(*m));
	char label[64];
	memset(label, 'y', 63);
	label[63] = '\0';
	/* Names of 255 and 256 bytes, compressed, as PTR targets. */
	for (int over = 0; over <= 1; over++) {
		header(m, 0, 1, 2, 0, 0);
		question(m, "example.com", T_PTR);
		/* RR 1: a TXT owned by a name of one label of 61 or 62 bytes (63 or 64
		 * in wire form), the tail the PTR's target points to. */
		char tail[64];
		memset(tail, 'z', sizeof(tail));
		tail[over ? 62 : 61] = '\0';
		size_t owner = m->len;
		rr_begin(m, tail, -1, T_TXT, 1);
		u8(m, 0);
		rr_end(m);
		/* RR 2: PTR at the question, target = 3 x 63-byte labels + pointer. */
		rr_begin(m, "", 12, T_PTR, 300);
		char three[3 * 64 + 1];
		snprintf(three, sizeof(three), "%s.%s.%s", label, label, label);
		name(m, three, (int)owner);
		rr_end(m);
		struct xp_result *r = rd(m, "example.com", T_PTR);
		if (!over) {
			assert_int_equal(r->rcode, 0);
			assert_int_equal(r->n, 1);
			assert_int_equal(r->rdlen[0], 255);
		} else {
			assert_int_equal(r->rcode, XP_FAIL);
			assert_non_null(strstr(why, "longer than 255"));
		}
	}
	free(m);
}

static void test_rdata(void **state)
{
	(void)state;
	struct mb *m = calloc(1, sizeof(*m));
	/* RDLENGTH past the end of the message. */
	header(m, 0, 1, 1, 0, 0);
	question(m, "example.com", T_A);
	rr_a(m, "", 12, 300, 192, 0, 2, 1);
	m->b[m->len - 5] = 5;
	expect_fail(m, "example.com", T_A, "RDATA runs past the end");
	/* In the authority section too. */
	header(m, 3, 1, 0, 1, 0);
	question(m, "example.com", T_A);
	rr_soa(m, "", 12, 300, 300);
	m->b[m->rdlen_at] = 0xff;
	expect_fail(m, "example.com", T_A, "RDATA runs past the end");
	/* An RR cut short in its fixed part. */
	header(m, 0, 1, 1, 0, 0);
	question(m, "example.com", T_A);
	name(m, "", 12);
	u16(m, T_A);
	u16(m, C_IN);
	expect_fail(m, "example.com", T_A, "cut short");

	/* Malformed RDATA of the type asked for: the whole answer fails. */
	header(m, 0, 1, 2, 0, 0);
	question(m, "example.com", T_A);
	rr_a(m, "", 12, 300, 192, 0, 2, 1);
	rr_begin(m, "", 12, T_A, 300);
	bytes(m, "\1\2\3\4\5", 5);
	rr_end(m);
	expect_fail(m, "example.com", T_A, "A RDATA not 4 bytes");

	header(m, 0, 1, 1, 0, 0);
	question(m, "example.com", T_AAAA);
	rr_begin(m, "", 12, T_AAAA, 300);
	bytes(m, "\1\2\3\4", 4);
	rr_end(m);
	expect_fail(m, "example.com", T_AAAA, "AAAA RDATA not 16 bytes");

	header(m, 0, 1, 1, 0, 0);
	question(m, "example.com", T_TXT);
	rr_begin(m, "", 12, T_TXT, 300);
	bytes(m, "\x03" "abc" "\x05" "ab", 7);
	rr_end(m);
	expect_fail(m, "example.com", T_TXT, "TXT string runs past");

	header(m, 0, 1, 1, 0, 0);
	question(m, "example.com", T_TXT);
	rr_begin(m, "", 12, T_TXT, 300);
	rr_end(m);
	/* An empty TXT RDATA is an empty record (openspf null-text), not a failure. */
	struct xp_result *e = rd(m, "example.com", T_TXT);
	assert_int_equal(e->rcode, 0);
	assert_int_equal(e->n, 1);
	assert_int_equal(e->rdlen[0], 0);

	header(m, 0, 1, 1, 0, 0);
	question(m, "example.com", T_MX);
	rr_begin(m, "", 12, T_MX, 300);
	u16(m, 10);
	name(m, "mx", 12);
	u8(m, 0); /* one byte more than the name */
	rr_end(m);
	expect_fail(m, "example.com", T_MX, "does not fill");

	header(m, 0, 1, 1, 0, 0);
	question(m, "example.com", T_MX);
	rr_begin(m, "", 12, T_MX, 300);
	u16(m, 10);
	rr_end(m);
	expect_fail(m, "example.com", T_MX, "MX RDATA too short");

	/* A name in RDATA running into the next record. */
	header(m, 0, 1, 2, 0, 0);
	question(m, "example.com", T_PTR);
	rr_begin(m, "", 12, T_PTR, 300);
	u8(m, 1);
	u8(m, 'a');
	rr_end(m);
	rr_a(m, "", -1, 300, 1, 2, 3, 4); /* its owner, the root, ends the name */
	expect_fail(m, "example.com", T_PTR, "does not fill");

	/* A broken CNAME of the chain. */
	header(m, 0, 1, 2, 0, 0);
	question(m, "example.com", T_A);
	rr_begin(m, "", 12, T_CNAME, 300);
	name(m, "x", 12);
	u8(m, 7);
	rr_end(m);
	rr_a(m, "x", 12, 300, 1, 2, 3, 4);
	expect_fail(m, "example.com", T_A, "does not fill");

	/* A short SOA taken for the negative TTL. */
	header(m, 3, 1, 0, 1, 0);
	question(m, "example.com", T_A);
	rr_begin(m, "", 12, T_SOA, 300);
	name(m, "ns1", 12);
	name(m, "hostmaster", 12);
	u32(m, 1);
	rr_end(m);
	expect_fail(m, "example.com", T_A, "SOA RDATA malformed");
	free(m);
}

/* A message with everything: compression, a chain, MX, authority, additional. */
static void good_message(struct mb *m)
{
	header(m, 0, 1, 3, 1, 1);
	question(m, "mail.example.com", T_MX);
	rr_cname(m, "", 12, 3600, "mx.example.com");
	size_t target = m->len - 16; /* the CNAME target's name */
	rr_begin(m, "", (int)target, T_MX, 300);
	u16(m, 10);
	name(m, "a", 12 + 5);
	rr_end(m);
	rr_begin(m, "", (int)target, T_MX, 200);
	u16(m, 20);
	name(m, "b.x", (int)target);
	rr_end(m);
	rr_soa(m, "", 12 + 5, 900, 600);
	rr_a(m, "a", 12 + 5, 300, 192, 0, 2, 1);
}

static void test_every_prefix(void **state)
{
	(void)state;
	struct mb *m = calloc(1, sizeof(*m));
	good_message(m);
	struct xp_result *r = rd(m, "mail.example.com", T_MX);
	assert_int_equal(r->rcode, 0);
	assert_int_equal(r->n, 2);
	assert_int_equal(r->ttl, 200);
	expect_rr(r, 0, "\x00\x0a\1a\7example\3com\0", 2 + 15);
	expect_rr(r, 1, "\x00\x14\1b\1x\2mx\7example\3com\0", 2 + 20);

	size_t full = m->len;
	size_t ok = 0;
	for (size_t len = 0; len < full; len++) {
		m->len = len;
		r = rd(m, "mail.example.com", T_MX);
		if (r->rcode != XP_FAIL) {
			/* Only cutting into the additional section leaves a valid answer. */
			assert_int_equal(r->rcode, 0);
			assert_int_equal(r->n, 2);
			ok++;
		}
	}
	assert_true(ok > 0 && ok < 20);

	/* And every single-byte corruption: never a crash, always a verdict. */
	m->len = full;
	for (size_t i = 0; i < full; i++) {
		for (unsigned v = 0; v < 256; v += 51) {
			uint8_t old = m->b[i];
			m->b[i] = (uint8_t)v;
			(void)rd(m, "mail.example.com", T_MX);
			m->b[i] = old;
		}
	}
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_wire),
		cmocka_unit_test(test_query),
		cmocka_unit_test_teardown(test_a_aaaa, teardown),
		cmocka_unit_test_teardown(test_txt, teardown),
		cmocka_unit_test_teardown(test_mx_compressed, teardown),
		cmocka_unit_test_teardown(test_ptr_compressed, teardown),
		cmocka_unit_test_teardown(test_cname_chain, teardown),
		cmocka_unit_test_teardown(test_cname_to_nothing, teardown),
		cmocka_unit_test_teardown(test_cname_loop, teardown),
		cmocka_unit_test_teardown(test_negative, teardown),
		cmocka_unit_test_teardown(test_ttl_top_bit, teardown),
		cmocka_unit_test_teardown(test_other_rcode, teardown),
		cmocka_unit_test_teardown(test_ignored, teardown),
		cmocka_unit_test_teardown(test_header_question, teardown),
		cmocka_unit_test_teardown(test_bad_pointers, teardown),
		cmocka_unit_test_teardown(test_name_255, teardown),
		cmocka_unit_test_teardown(test_rdata, teardown),
		cmocka_unit_test_teardown(test_every_prefix, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
