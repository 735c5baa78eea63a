/*
 * test_zone.c - unit tests of lib/zone.c and lib/zonefile.c: the lookup semantics of
 * the in-memory driver (NXDOMAIN vs NODATA, case and trailing dot, CNAME chains and
 * loops, TIMEOUT/SERVFAIL marks, invalid names), the wire form of what the
 * conveniences store, apexes, a whole evaluation through spf_zone_run(), and loading
 * master files written to a temporary directory (a valid file, syntax errors with
 * their path:line, a missing file, garbage).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "spfgate/zone.h"

static char tmpdir[] = "/tmp/test_zone.XXXXXX";

static int group_setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[sizeof(tmpdir) + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Writes text to tmpdir/name and returns the path (static storage, one at a time). */
static const char *write_file(const char *name, const char *text, size_t len)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	return path;
}

static void add_txt1(struct spf_zone *z, const char *owner, const char *s)
{
	size_t len = strlen(s);
	assert_int_equal(spf_zone_add_txt(z, owner, &s, &len, 1), SPF_OK);
}

static struct spf_answer ask(const struct spf_zone *z, const char *name, uint16_t type)
{
	struct spf_answer a;
	spf_zone_lookup(z, name, type, &a);
	return a;
}

/* The one TXT string of rr, compared with s of length n. */
static void assert_txt(const struct spf_rr *rr, const char *s, size_t n)
{
	assert_int_equal(rr->type, SPF_RR_TXT);
	assert_int_equal(rr->rdlen, n + 1);
	assert_int_equal(rr->rdata[0], n);
	assert_memory_equal(rr->rdata + 1, s, n);
}

/* ------------------------------------------------------------------------------------ */

static void test_nxdomain_nodata(void **state)
{
	(void)state;
	struct spf_zone *z = spf_zone_new();
	assert_non_null(z);
	assert_int_equal(spf_zone_add_addr(z, "a.example.com", "192.0.2.1"), SPF_OK);
	assert_int_equal(spf_zone_add_name(z, "empty.example.com"), SPF_OK);

	struct spf_answer a = ask(z, "a.example.com", SPF_RR_A);
	assert_int_equal(a.rcode, SPF_DNS_NOERROR);
	assert_int_equal(a.nrr, 1);
	assert_int_equal(a.rr[0].type, SPF_RR_A);
	assert_int_equal(a.rr[0].rdlen, 4);
	assert_memory_equal(a.rr[0].rdata, "\xc0\x00\x02\x01", 4);

	a = ask(z, "a.example.com", SPF_RR_TXT);
	assert_int_equal(a.rcode, SPF_DNS_NOERROR);
	assert_int_equal(a.nrr, 0);
	a = ask(z, "empty.example.com", SPF_RR_A);
	assert_int_equal(a.rcode, SPF_DNS_NOERROR);
	assert_int_equal(a.nrr, 0);
	a = ask(z, "b.example.com", SPF_RR_A);
	assert_int_equal(a.rcode, SPF_DNS_NXDOMAIN);
	assert_int_equal(a.nrr, 0);
	/* A parent of an existing name is not created by it (no empty non-terminals). */
	a = ask(z, "example.com", SPF_RR_A);
	assert_int_equal(a.rcode, SPF_DNS_NXDOMAIN);
	spf_zone_free(z);
}

static void test_case_and_dot(void **state)
{
	(void)state;
	struct spf_zone *z = spf_zone_new();
	assert_int_equal(spf_zone_add_addr(z, "Mail.Example.COM.", "192.0.2.2"), SPF_OK);
	assert_int_equal(spf_zone_add_addr(z, "mail.example.com", "192.0.2.3"), SPF_OK);
	const char *odd[] = {
		"macro%percent  space%20url-space.example.com", "foo:bar/baz.example.com",
		"_spf.Example.org",
	};
	for (size_t i = 0; i < 3; i++)
		add_txt1(z, odd[i], "v=spf1 -all");

	struct spf_answer a = ask(z, "MAIL.example.com", SPF_RR_A);
	assert_int_equal(a.rcode, SPF_DNS_NOERROR);
	assert_int_equal(a.nrr, 2); /* both spellings name one owner, in insertion order */
	assert_memory_equal(a.rr[0].rdata, "\xc0\x00\x02\x02", 4);
	assert_memory_equal(a.rr[1].rdata, "\xc0\x00\x02\x03", 4);
	a = ask(z, "mail.example.com.", SPF_RR_A);
	assert_int_equal(a.nrr, 2);
	/* Only one trailing dot is ignored. */
	a = ask(z, "mail.example.com..", SPF_RR_A);
	assert_int_not_equal(a.rcode, SPF_DNS_NOERROR);

	a = ask(z, "MACRO%PERCENT  SPACE%20URL-SPACE.EXAMPLE.COM", SPF_RR_TXT);
	assert_int_equal(a.nrr, 1);
	a = ask(z, "macro%percent space%20url-space.example.com", SPF_RR_TXT);
	assert_int_equal(a.rcode, SPF_DNS_NXDOMAIN); /* one space is another name */
	a = ask(z, "foo:bar/baz.example.com.", SPF_RR_TXT);
	assert_int_equal(a.nrr, 1);
	a = ask(z, "_SPF.example.ORG", SPF_RR_TXT);
	assert_int_equal(a.nrr, 1);
	spf_zone_free(z);
}

static void test_type_order(void **state)
{
	(void)state;
	struct spf_zone *z = spf_zone_new();
	/* Interleaved types: each type's records come back contiguous, in file order. */
	add_txt1(z, "x.example", "one");
	assert_int_equal(spf_zone_add_addr(z, "x.example", "192.0.2.9"), SPF_OK);
	add_txt1(z, "x.example", "two");
	assert_int_equal(spf_zone_add_addr(z, "x.example", "2001:DB8::1"), SPF_OK);
	add_txt1(z, "x.example", "three");
	struct spf_answer a = ask(z, "x.example", SPF_RR_TXT);
	assert_int_equal(a.nrr, 3);
	assert_txt(&a.rr[0], "one", 3);
	assert_txt(&a.rr[1], "two", 3);
	assert_txt(&a.rr[2], "three", 5);
	a = ask(z, "x.example", SPF_RR_AAAA);
	assert_int_equal(a.nrr, 1);
	assert_int_equal(a.rr[0].rdlen, 16);
	assert_memory_equal(a.rr[0].rdata,
	    "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01", 16);
	/* An IPv4-mapped address stays an AAAA record. */
	assert_int_equal(spf_zone_add_addr(z, "m.example", "::FFFF:1.2.3.4"), SPF_OK);
	a = ask(z, "m.example", SPF_RR_AAAA);
	assert_int_equal(a.nrr, 1);
	assert_memory_equal(a.rr[0].rdata + 10, "\xff\xff\x01\x02\x03\x04", 6);
	assert_int_equal(ask(z, "m.example", SPF_RR_A).nrr, 0);
	assert_int_equal(spf_zone_add_addr(z, "m.example", "1.2.3.04"), SPF_EINVAL);
	assert_int_equal(spf_zone_add_addr(z, "m.example", "1.2.3"), SPF_EINVAL);
	assert_int_equal(spf_zone_add_addr(z, "m.example", "cafe::babe::1"), SPF_EINVAL);
	spf_zone_free(z);
}

static void test_txt_strings(void **state)
{
	(void)state;
	struct spf_zone *z = spf_zone_new();
	const char *s[] = { "v=spf1 a:foo", "\0bar", "" };
	size_t len[] = { 12, 4, 0 };
	assert_int_equal(spf_zone_add_txt(z, "t.example", s, len, 3), SPF_OK);
	assert_int_equal(spf_zone_add_txt(z, "t.example", NULL, NULL, 0), SPF_OK);
	struct spf_answer a = ask(z, "t.example", SPF_RR_TXT);
	assert_int_equal(a.nrr, 2);
	assert_int_equal(a.rr[0].rdlen, 1 + 12 + 1 + 4 + 1);
	assert_memory_equal(a.rr[0].rdata, "\x0cv=spf1 a:foo\x04\0bar\x00", 19);
	assert_int_equal(a.rr[1].rdlen, 0); /* zero strings */

	/* 255 bytes is the most a character-string holds. */
	char big[256];
	memset(big, 'x', sizeof(big));
	const char *bp = big;
	size_t bl = 255;
	assert_int_equal(spf_zone_add_txt(z, "t.example", &bp, &bl, 1), SPF_OK);
	bl = 256;
	assert_int_equal(spf_zone_add_txt(z, "t.example", &bp, &bl, 1), SPF_EINVAL);
	assert_int_equal(ask(z, "t.example", SPF_RR_TXT).nrr, 3);

	/* 256 strings of 255 bytes need 65536 bytes: one more than an RR can hold. */
	const char *many[257];
	size_t manylen[257];
	for (size_t i = 0; i < 257; i++) {
		many[i] = big;
		manylen[i] = 255;
	}
	assert_int_equal(spf_zone_add_txt(z, "t.example", many, manylen, 257), SPF_EINVAL);
	assert_int_equal(spf_zone_add_txt(z, "t.example", many, manylen, 256), SPF_EINVAL);
	assert_int_equal(spf_zone_add_txt(z, "t.example", many, manylen, 255), SPF_OK);
	a = ask(z, "t.example", SPF_RR_TXT);
	assert_int_equal(a.nrr, 4);
	assert_int_equal(a.rr[3].rdlen, 255 * 256);
	spf_zone_free(z);
}

static void test_mx_ptr_wire(void **state)
{
	(void)state;
	struct spf_zone *z = spf_zone_new();
	assert_int_equal(spf_zone_add_mx(z, "e.example", 10, "Mail.E.example."), SPF_OK);
	assert_int_equal(spf_zone_add_mx(z, "null.example", 0, ""), SPF_OK);
	assert_int_equal(spf_zone_add_mx(z, "null2.example", 0, "."), SPF_OK);
	assert_int_equal(spf_zone_add_name_rr(z, "4.3.2.1.in-addr.arpa", SPF_RR_PTR,
	    "host.example"), SPF_OK);
	assert_int_equal(spf_zone_add_name_rr(z, "x.example", SPF_RR_TXT, "y.example"),
	    SPF_EINVAL);
	assert_int_equal(spf_zone_add_mx(z, "bad.example", 1, "a..b"), SPF_EINVAL);

	struct spf_answer a = ask(z, "e.example", SPF_RR_MX);
	assert_int_equal(a.nrr, 1);
	assert_int_equal(a.rr[0].rdlen, 2 + 16);
	assert_memory_equal(a.rr[0].rdata, "\x00\x0a\x04Mail\x01" "E\x07" "example\x00", 18);
	a = ask(z, "null.example", SPF_RR_MX);
	assert_int_equal(a.nrr, 1);
	assert_int_equal(a.rr[0].rdlen, 3);
	assert_memory_equal(a.rr[0].rdata, "\x00\x00\x00", 3);
	a = ask(z, "null2.example", SPF_RR_MX);
	assert_int_equal(a.rr[0].rdlen, 3);
	a = ask(z, "4.3.2.1.IN-ADDR.ARPA", SPF_RR_PTR);
	assert_int_equal(a.nrr, 1);
	assert_memory_equal(a.rr[0].rdata, "\x04host\x07" "example\x00", 14);
	spf_zone_free(z);
}

static void test_cname(void **state)
{
	(void)state;
	struct spf_zone *z = spf_zone_new();
	add_txt1(z, "a.example.org", "v=spf1 -all");
	add_txt1(z, "a.example.org", "other");
	assert_int_equal(spf_zone_add_name_rr(z, "b.example.org", SPF_RR_CNAME,
	    "A.Example.Org."), SPF_OK);
	assert_int_equal(spf_zone_add_name_rr(z, "c.example.org", SPF_RR_CNAME,
	    "b.example.org"), SPF_OK);
	/* The suite's loops: two names pointing at each other, and one at itself in
	 * another case. */
	assert_int_equal(spf_zone_add_name_rr(z, "loop4.example.com", SPF_RR_CNAME,
	    "CNAME.example.com."), SPF_OK);
	assert_int_equal(spf_zone_add_name_rr(z, "cname.example.com", SPF_RR_CNAME,
	    "CNAME.example.com."), SPF_OK);
	assert_int_equal(spf_zone_add_name_rr(z, "dangling.example.org", SPF_RR_CNAME,
	    "nowhere.example.org"), SPF_OK);
	assert_int_equal(spf_zone_add_name_rr(z, "tmo.example.org", SPF_RR_CNAME,
	    "slow.example.org"), SPF_OK);
	assert_int_equal(spf_zone_set_timeout(z, "slow.example.org"), SPF_OK);

	/* Two links: both CNAMEs lead, then the target's records. */
	struct spf_answer a = ask(z, "c.example.org", SPF_RR_TXT);
	assert_int_equal(a.rcode, SPF_DNS_NOERROR);
	assert_int_equal(a.nrr, 4);
	assert_int_equal(a.rr[0].type, SPF_RR_CNAME);
	assert_memory_equal(a.rr[0].rdata, "\x01" "b\x07" "example\x03" "org\x00", 15);
	assert_int_equal(a.rr[1].type, SPF_RR_CNAME);
	assert_txt(&a.rr[2], "v=spf1 -all", 11);
	assert_txt(&a.rr[3], "other", 5);
	/* The memoized answer is still valid after other questions. */
	struct spf_answer again = ask(z, "b.example.org", SPF_RR_TXT);
	assert_int_equal(again.nrr, 3);
	assert_txt(&a.rr[2], "v=spf1 -all", 11);
	assert_ptr_equal(ask(z, "c.example.org", SPF_RR_TXT).rr, a.rr);

	/* Asking for the CNAME itself does not chase it. */
	a = ask(z, "b.example.org", SPF_RR_CNAME);
	assert_int_equal(a.nrr, 1);
	/* Target without the type: NODATA with the CNAME. */
	a = ask(z, "b.example.org", SPF_RR_A);
	assert_int_equal(a.rcode, SPF_DNS_NOERROR);
	assert_int_equal(a.nrr, 1);
	assert_int_equal(a.rr[0].type, SPF_RR_CNAME);

	a = ask(z, "loop4.example.com", SPF_RR_A);
	assert_int_equal(a.rcode, SPF_DNS_SERVFAIL);
	a = ask(z, "cname.example.com", SPF_RR_PTR);
	assert_int_equal(a.rcode, SPF_DNS_SERVFAIL);
	a = ask(z, "dangling.example.org", SPF_RR_A);
	assert_int_equal(a.rcode, SPF_DNS_NXDOMAIN);
	assert_int_equal(a.nrr, 1);
	a = ask(z, "tmo.example.org", SPF_RR_A);
	assert_int_equal(a.rcode, SPF_DNS_TIMEOUT);

	/* A chain of 8 links is followed, 9 is too long. */
	char from[32], to[32];
	for (int i = 0; i < 9; i++) {
		snprintf(from, sizeof(from), "c%d.chain", i);
		snprintf(to, sizeof(to), "c%d.chain", i + 1);
		assert_int_equal(spf_zone_add_name_rr(z, from, SPF_RR_CNAME, to), SPF_OK);
	}
	assert_int_equal(spf_zone_add_addr(z, "c9.chain", "192.0.2.7"), SPF_OK);
	a = ask(z, "c1.chain", SPF_RR_A);
	assert_int_equal(a.rcode, SPF_DNS_NOERROR);
	assert_int_equal(a.nrr, 9);
	assert_int_equal(a.rr[8].type, SPF_RR_A);
	a = ask(z, "c0.chain", SPF_RR_A);
	assert_int_equal(a.rcode, SPF_DNS_SERVFAIL);

	/* A change drops memoized chain answers: the new record is seen through the alias. */
	assert_int_equal(ask(z, "b.example.org", SPF_RR_A).nrr, 1);
	assert_int_equal(spf_zone_add_addr(z, "a.example.org", "192.0.2.44"), SPF_OK);
	a = ask(z, "b.example.org", SPF_RR_A);
	assert_int_equal(a.nrr, 2);
	assert_int_equal(a.rr[1].type, SPF_RR_A);
	assert_memory_equal(a.rr[1].rdata, "\xc0\x00\x02\x2c", 4);
	assert_int_equal(spf_zone_add_addr(z, "dangling.example.org", "192.0.2.45"), SPF_OK);
	assert_int_equal(ask(z, "dangling.example.org", SPF_RR_A).nrr, 1); /* own records */
	spf_zone_free(z);
}

static void test_timeout_servfail(void **state)
{
	(void)state;
	struct spf_zone *z = spf_zone_new();
	/* spftimeout.example.net: TXT answered, everything else times out. */
	add_txt1(z, "spftimeout.example.net", "v=spf1 -all");
	assert_int_equal(spf_zone_set_timeout(z, "spftimeout.example.net"), SPF_OK);
	assert_int_equal(spf_zone_set_timeout(z, "alltimeout.example.net"), SPF_OK);
	assert_int_equal(spf_zone_set_servfail(z, "broken.example.net"), SPF_OK);
	assert_int_equal(spf_zone_add_addr(z, "broken.example.net", "192.0.2.5"), SPF_OK);

	struct spf_answer a = ask(z, "spftimeout.example.net", SPF_RR_TXT);
	assert_int_equal(a.rcode, SPF_DNS_NOERROR);
	assert_int_equal(a.nrr, 1);
	assert_int_equal(ask(z, "spftimeout.example.net", 99).rcode, SPF_DNS_TIMEOUT);
	assert_int_equal(ask(z, "spftimeout.example.net", SPF_RR_A).rcode, SPF_DNS_TIMEOUT);
	assert_int_equal(ask(z, "alltimeout.example.net", SPF_RR_TXT).rcode, SPF_DNS_TIMEOUT);
	assert_int_equal(ask(z, "broken.example.net", SPF_RR_TXT).rcode, SPF_DNS_SERVFAIL);
	assert_int_equal(ask(z, "broken.example.net", SPF_RR_A).rcode, SPF_DNS_NOERROR);
	spf_zone_free(z);
}

static void test_invalid_names(void **state)
{
	(void)state;
	struct spf_zone *z = spf_zone_new();
	char label64[80];
	memset(label64, 'a', 64);
	memcpy(label64 + 64, ".example.com", sizeof(".example.com"));
	char long254[300];
	for (int i = 0; i < 127; i++)
		memcpy(long254 + 2 * i, "a.", 2);
	long254[253] = 'b';
	long254[254] = '\0'; /* 255 octets of labels and dots */

	assert_int_equal(spf_zone_add_addr(z, label64, "192.0.2.1"), SPF_EINVAL);
	assert_int_equal(spf_zone_add_name(z, "a..example.com"), SPF_EINVAL);
	assert_int_equal(spf_zone_add_name(z, long254), SPF_EINVAL);
	assert_int_equal(spf_zone_add_name(z, NULL), SPF_EINVAL);
	/* 63 octets is a valid label. */
	label64[0] = '.';
	assert_int_equal(spf_zone_add_addr(z, label64 + 1, "192.0.2.1"), SPF_OK);
	assert_int_equal(ask(z, label64 + 1, SPF_RR_A).nrr, 1);

	assert_int_equal(ask(z, "a..example.com", SPF_RR_TXT).rcode, SPF_DNS_TIMEOUT);
	assert_int_equal(ask(z, ".example.com", SPF_RR_TXT).rcode, SPF_DNS_TIMEOUT);
	assert_int_equal(ask(z, long254, SPF_RR_TXT).rcode, SPF_DNS_TIMEOUT);
	label64[0] = 'a';
	assert_int_equal(ask(z, label64, SPF_RR_TXT).rcode, SPF_DNS_TIMEOUT);
	/* The root is a valid name; nothing here is at it. */
	assert_int_equal(ask(z, ".", SPF_RR_A).rcode, SPF_DNS_NXDOMAIN);
	assert_int_equal(ask(z, "", SPF_RR_A).rcode, SPF_DNS_NXDOMAIN);
	spf_zone_free(z);
}

static void test_apex(void **state)
{
	(void)state;
	struct spf_zone *z = spf_zone_new();
	assert_false(spf_zone_covers(z, "example.com"));
	assert_int_equal(spf_zone_add_apex(z, "Example.COM."), SPF_OK);
	assert_true(spf_zone_covers(z, "example.com"));
	assert_true(spf_zone_covers(z, "a.b.EXAMPLE.com."));
	assert_false(spf_zone_covers(z, "badexample.com"));
	assert_false(spf_zone_covers(z, "com"));
	assert_false(spf_zone_covers(z, "example.com.au"));
	assert_int_equal(spf_zone_add_apex(z, "."), SPF_OK);
	assert_true(spf_zone_covers(z, "anything.at.all"));
	spf_zone_free(z);
}

/* A whole evaluation through the synchronous loop, the records behind a CNAME. */
static enum spf_result run_one(const struct spf_zone *z, const char *ip, const char *sender)
{
	struct spf_options o;
	spf_options_init(&o);
	o.default_explanation = "DEFAULT";
	struct spf_request r = { SPF_IDENTITY_MAILFROM, { 0, { 0 } }, "helo.example", sender };
	assert_int_equal(spf_addr_parse(ip, &r.client), SPF_OK);
	struct spf_eval *ev;
	assert_int_equal(spf_eval_new(&ev, &o, &r), SPF_OK);
	assert_int_equal(spf_zone_run(z, ev), SPF_OK);
	const struct spf_outcome *out = spf_eval_outcome(ev);
	assert_non_null(out);
	enum spf_result res = out->result;
	spf_eval_free(ev);
	return res;
}

static void test_run(void **state)
{
	(void)state;
	struct spf_zone *z = spf_zone_new();
	add_txt1(z, "real.example", "v=spf1 mx a:h.example -all");
	assert_int_equal(spf_zone_add_name_rr(z, "alias.example", SPF_RR_CNAME, "real.example"),
	    SPF_OK);
	assert_int_equal(spf_zone_add_mx(z, "real.example", 5, "mx.example"), SPF_OK);
	assert_int_equal(spf_zone_add_addr(z, "mx.example", "192.0.2.25"), SPF_OK);
	assert_int_equal(spf_zone_add_addr(z, "h.example", "2001:db8::25"), SPF_OK);
	assert_int_equal(spf_zone_set_timeout(z, "slow.example"), SPF_OK);

	assert_int_equal(run_one(z, "192.0.2.25", "u@alias.example"), SPF_RESULT_PASS);
	assert_int_equal(run_one(z, "2001:db8::25", "u@real.example"), SPF_RESULT_PASS);
	assert_int_equal(run_one(z, "192.0.2.26", "u@alias.example"), SPF_RESULT_FAIL);
	assert_int_equal(run_one(z, "192.0.2.26", "u@none.example"), SPF_RESULT_NONE);
	assert_int_equal(run_one(z, "192.0.2.26", "u@slow.example"), SPF_RESULT_TEMPERROR);
	spf_zone_free(z);
}

/* ------------------------------------------------------------------------------------ */
/* Zone files                                                                           */

static void test_load_valid(void **state)
{
	(void)state;
	static const char text[] =
	    "; a test zone\n"
	    "$ORIGIN example.com.\n"
	    "$TTL 300\n"
	    "@\tIN SOA ns hostmaster ( 1 3600 600\n"
	    "\t\t86400 300 )\n"
	    "\tIN NS ns\n"
	    "ns\tIN A 192.0.2.53\n"
	    "@\tIN TXT \"v=spf1 \" \"mx -all\"\n"
	    "@\tIN MX 10 Mail\n"
	    "@\tIN MX 0 .\n"
	    "mail\t60 IN AAAA 2001:DB8::1\n"
	    "www\tIN CNAME @\n"
	    "4.3.2.1.in-addr.arpa. IN PTR mail\n"
	    "odd\\032name\\037 IN TXT \"a\\\"b\\\\c\\000d\"\n"
	    "x IN SPF \"v=spf1 +all\"\n"
	    "y IN TYPE65280 \\# 3 010203\n"
	    "$ORIGIN sub.example.com.\n"
	    "z IN A 192.0.2.99\n";
	char err[256] = "untouched";
	struct spf_zone *z = spf_zone_new();
	int rc = spf_zone_load_file(z, write_file("valid.zone", text, sizeof(text) - 1), NULL,
	    err, sizeof(err));
	if (rc != SPF_OK)
		print_error("%s\n", err);
	assert_int_equal(rc, SPF_OK);
	assert_string_equal(err, "");

	struct spf_answer a = ask(z, "example.com", SPF_RR_TXT);
	assert_int_equal(a.nrr, 1);
	assert_int_equal(a.rr[0].rdlen, 1 + 7 + 1 + 7);
	assert_memory_equal(a.rr[0].rdata, "\x07v=spf1 \x07mx -all", 16);
	a = ask(z, "EXAMPLE.com.", SPF_RR_MX);
	assert_int_equal(a.nrr, 2);
	assert_memory_equal(a.rr[0].rdata, "\x00\x0a\x04Mail\x07" "example\x03" "com\x00", 20);
	assert_int_equal(a.rr[0].rdlen, 20);
	assert_memory_equal(a.rr[1].rdata, "\x00\x00\x00", 3);
	a = ask(z, "mail.example.com", SPF_RR_AAAA);
	assert_int_equal(a.nrr, 1);
	assert_int_equal(a.ttl, 60);
	a = ask(z, "ns.example.com", SPF_RR_A);
	assert_int_equal(a.ttl, 300);
	assert_memory_equal(a.rr[0].rdata, "\xc0\x00\x02\x35", 4);
	a = ask(z, "www.example.com", SPF_RR_TXT);
	assert_int_equal(a.nrr, 2); /* CNAME + TXT */
	a = ask(z, "4.3.2.1.in-addr.arpa", SPF_RR_PTR);
	assert_int_equal(a.nrr, 1);
	a = ask(z, "odd name%.example.com", SPF_RR_TXT);
	assert_int_equal(a.nrr, 1);
	assert_int_equal(a.rr[0].rdlen, 8);
	assert_memory_equal(a.rr[0].rdata, "\x07" "a\"b\\c\0d", 8);
	a = ask(z, "x.example.com", 99);
	assert_int_equal(a.nrr, 1);
	assert_int_equal(ask(z, "x.example.com", SPF_RR_TXT).nrr, 0); /* no synthesis */
	a = ask(z, "y.example.com", 65280);
	assert_int_equal(a.nrr, 1);
	assert_memory_equal(a.rr[0].rdata, "\x01\x02\x03", 3);
	a = ask(z, "z.sub.example.com", SPF_RR_A);
	assert_int_equal(a.nrr, 1);
	assert_int_equal(ask(z, "nothere.example.com", SPF_RR_A).rcode, SPF_DNS_NXDOMAIN);
	/* The SOA owner became an apex. */
	assert_true(spf_zone_covers(z, "deep.www.example.com"));
	assert_false(spf_zone_covers(z, "example.org"));
	spf_zone_free(z);

	/* Without a SOA the origin argument is the apex, and relative names hang off it. */
	static const char nosoa[] = "host IN A 192.0.2.1\n";
	z = spf_zone_new();
	assert_int_equal(spf_zone_load_file(z, write_file("nosoa.zone", nosoa,
	    sizeof(nosoa) - 1), "example.net", err, sizeof(err)), SPF_OK);
	assert_int_equal(ask(z, "host.example.net", SPF_RR_A).nrr, 1);
	assert_true(spf_zone_covers(z, "host.example.net"));
	assert_false(spf_zone_covers(z, "example.com"));
	spf_zone_free(z);
}

/* Loads text and expects a syntax error whose message starts with "path:line: ". */
static void expect_syntax_error(const char *name, const char *text, int line)
{
	char err[256];
	struct spf_zone *z = spf_zone_new();
	const char *path = write_file(name, text, strlen(text));
	char want[300];
	snprintf(want, sizeof(want), "%s:%d: ", path, line);
	int rc = spf_zone_load_file(z, path, NULL, err, sizeof(err));
	if (rc != SPF_ESYNTAX || strncmp(err, want, strlen(want)) != 0)
		print_error("%s: rc %d, err '%s', want '%s...'\n", name, rc, err, want);
	assert_int_equal(rc, SPF_ESYNTAX);
	assert_memory_equal(err, want, strlen(want));
	assert_true(strlen(err) > strlen(want)); /* and a message */
	spf_zone_free(z);
}

static void test_load_errors(void **state)
{
	(void)state;
	expect_syntax_error("bad-a.zone",
	    "$ORIGIN example.com.\n"
	    "ok IN A 192.0.2.1\n"
	    "; comment\n"
	    "\n"
	    "bad IN A 192.0.2.300\n"
	    "ok2 IN A 192.0.2.2\n", 5);
	expect_syntax_error("bad-first.zone", "foo. IN BOGUSTYPE 1\n", 1);
	expect_syntax_error("bad-multiline.zone",
	    "$ORIGIN example.com.\n"
	    "@ IN SOA ns hostmaster (\n"
	    "   1 2 3 4 5 )\n"
	    "mx IN MX ten mail\n", 4);
	expect_syntax_error("bad-nonl.zone", "\n\n\nfoo. IN A 1.2.3.x", 4);
	expect_syntax_error("bad-include.zone", "$INCLUDE /etc/passwd\n", 1);
	/* A '.' inside a label cannot be kept in a dotted-text zone. */
	expect_syntax_error("bad-dot.zone", "a.b. IN A 1.2.3.4\nfoo\\.bar. IN A 1.2.3.4\n", 2);

	/* A missing file. */
	char err[256];
	char path[300];
	snprintf(path, sizeof(path), "%s/does-not-exist.zone", tmpdir);
	struct spf_zone *z = spf_zone_new();
	assert_int_equal(spf_zone_load_file(z, path, NULL, err, sizeof(err)), SPF_ENOENT);
	char want[400];
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err, want);

	/* A directory opens but cannot be read. */
	assert_int_equal(spf_zone_load_file(z, tmpdir, NULL, err, sizeof(err)), SPF_EIO);
	assert_memory_equal(err, tmpdir, strlen(tmpdir));

	/* A small err buffer is filled as far as it goes and terminated. */
	char small[8];
	assert_int_equal(spf_zone_load_file(z, path, NULL, small, sizeof(small)), SPF_ENOENT);
	assert_true(strlen(small) < sizeof(small));
	spf_zone_free(z);
}

static void test_load_garbage(void **state)
{
	(void)state;
	/* Random bytes must give an error or a zone, never a crash. */
	unsigned seed = 12345;
	char text[2048];
	int errors = 0;
	for (int round = 0; round < 200; round++) {
		size_t n = 0;
		while (n < sizeof(text)) {
			seed = seed * 1103515245u + 12345u;
			unsigned v = (seed >> 16) & 0xff;
			/* Mostly zone-file-like bytes, so the parser gets past the first token. */
			static const char alphabet[] = "aB1.\\\"( );$\n\t IN TXT A MX 10 \\# 012";
			text[n++] = (v < 200) ? alphabet[v % (sizeof(alphabet) - 1)] : (char)v;
		}
		struct spf_zone *z = spf_zone_new();
		char err[128];
		int rc = spf_zone_load_file(z, write_file("garbage.zone", text, sizeof(text)), NULL,
		    err, sizeof(err));
		assert_true(rc == SPF_OK || rc == SPF_ESYNTAX);
		errors += rc != SPF_OK;
		spf_zone_free(z);
	}
	assert_true(errors > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nxdomain_nodata),
		cmocka_unit_test(test_case_and_dot),
		cmocka_unit_test(test_type_order),
		cmocka_unit_test(test_txt_strings),
		cmocka_unit_test(test_mx_ptr_wire),
		cmocka_unit_test(test_cname),
		cmocka_unit_test(test_timeout_servfail),
		cmocka_unit_test(test_invalid_names),
		cmocka_unit_test(test_apex),
		cmocka_unit_test(test_run),
		cmocka_unit_test(test_load_valid),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_load_garbage),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
