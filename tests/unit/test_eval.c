/*
 * test_eval.c - the evaluator at its edges, through the public API and the zone driver.
 *
 * Limits (10th vs 11th DNS term, 2nd vs 3rd void lookup, 10 vs 11 MX), deep include
 * chains, IPv4-mapped clients, NUL bytes and multi-string TXT, questions handed out
 * together, answers in any order, prefetch depth, expiry and late answers, malformed
 * RDATA, diagnostics, and the trace.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "spfgate/spfgate.h"
#include "spfgate/zone.h"

#include "eval_dns.h"

static struct spf_zone *Z;

static int setup(void **state)
{
	Z = spf_zone_new();
	assert_non_null(Z);
	return 0;
}

static int teardown(void **state)
{
	spf_zone_free(Z);
	Z = NULL;
	return 0;
}

static void txt(const char *owner, const char *s)
{
	size_t len = strlen(s);
	assert_int_equal(spf_zone_add_txt(Z, owner, &s, &len, 1), SPF_OK);
}

static void addr(const char *owner, const char *a)
{
	assert_int_equal(spf_zone_add_addr(Z, owner, a), SPF_OK);
}

struct run {
	struct spf_eval *ev;
	const struct spf_outcome *o;
};

static const struct spf_outcome *check_opts(struct run *r, const char *ip, const char *sender,
    const char *helo, struct spf_options *opts)
{
	struct spf_request req;
	memset(&req, 0, sizeof(req));
	req.identity = SPF_IDENTITY_MAILFROM;
	assert_int_equal(spf_addr_parse(ip, &req.client), SPF_OK);
	req.sender = sender;
	req.helo = helo;
	assert_int_equal(spf_eval_new(&r->ev, opts, &req), SPF_OK);
	assert_int_equal(spf_zone_run(Z, r->ev), SPF_OK);
	r->o = spf_eval_outcome(r->ev);
	assert_non_null(r->o);
	return r->o;
}

static const struct spf_outcome *check(struct run *r, const char *ip, const char *sender)
{
	struct spf_options opts;
	spf_options_init(&opts);
	opts.default_explanation = "DEFAULT";
	opts.trace = true;
	return check_opts(r, ip, sender, "mail.example.org", &opts);
}

static void done(struct run *r)
{
	spf_eval_free(r->ev);
}

/* A chain of n - 1 "a:" terms on void names plus n-th term "ip4" that matches. */
static void test_dns_term_limit(void **state)
{
	/* 10 DNS-querying terms are allowed ... */
	txt("ten.example", "v=spf1 a:h1.example a:h2.example a:h3.example a:h4.example "
	    "a:h5.example a:h6.example a:h7.example a:h8.example a:h9.example a:h10.example "
	    "ip4:192.0.2.1 -all");
	/* ... the 11th is a permerror, even though the 12th term would match. */
	txt("eleven.example", "v=spf1 a:h1.example a:h2.example a:h3.example a:h4.example "
	    "a:h5.example a:h6.example a:h7.example a:h8.example a:h9.example a:h10.example "
	    "a:h11.example ip4:192.0.2.1 -all");
	for (int i = 1; i <= 11; i++) {
		char n[32];
		snprintf(n, sizeof(n), "h%d.example", i);
		addr(n, "198.51.100.1");
	}
	struct run r;
	assert_int_equal(check(&r, "192.0.2.1", "a@ten.example")->result, SPF_RESULT_PASS);
	assert_int_equal(r.o->dns_lookups, 10);
	assert_string_equal(r.o->mechanism, "ip4:192.0.2.1");
	done(&r);
	assert_int_equal(check(&r, "192.0.2.1", "a@eleven.example")->result,
	    SPF_RESULT_PERMERROR);
	assert_int_equal(r.o->dns_lookups, 11);
	assert_string_equal(r.o->problem_term, "a:h11.example");
	assert_non_null(strstr(r.o->problem, "eleven.example: term 11 'a:h11.example'"));
	done(&r);
}

static void test_dns_terms_across_include(void **state)
{
	/* include and redirect count, and the count is shared across levels. */
	txt("top.example", "v=spf1 include:i1.example a:h1.example redirect=r.example");
	txt("i1.example", "v=spf1 a:h2.example a:h3.example a:h4.example");
	txt("r.example", "v=spf1 a:h5.example a:h6.example a:h7.example a:h8.example "
	    "ip4:192.0.2.9 -all");
	for (int i = 1; i <= 8; i++) {
		char n[32];
		snprintf(n, sizeof(n), "h%d.example", i);
		addr(n, "198.51.100.1");
	}
	struct run r;
	/* include(1) + 3 + a(1) + redirect(1) + 4 = 10 */
	assert_int_equal(check(&r, "192.0.2.9", "x@top.example")->result, SPF_RESULT_PASS);
	assert_int_equal(r.o->dns_lookups, 10);
	assert_string_equal(r.o->domain, "r.example");
	done(&r);
	txt("top2.example", "v=spf1 include:i1.example a:h1.example a:h1.example "
	    "redirect=r.example");
	assert_int_equal(check(&r, "192.0.2.9", "x@top2.example")->result,
	    SPF_RESULT_PERMERROR);
	done(&r);
}

static void test_void_limit(void **state)
{
	txt("two.example", "v=spf1 a:nx1.example exists:nx2.example ip4:192.0.2.1 -all");
	txt("three.example", "v=spf1 a:nx1.example exists:nx2.example mx:nx3.example "
	    "ip4:192.0.2.1 -all");
	struct run r;
	assert_int_equal(check(&r, "192.0.2.1", "a@two.example")->result, SPF_RESULT_PASS);
	assert_int_equal(r.o->void_lookups, 2);
	done(&r);
	assert_int_equal(check(&r, "192.0.2.1", "a@three.example")->result,
	    SPF_RESULT_PERMERROR);
	assert_int_equal(r.o->void_lookups, 3);
	assert_string_equal(r.o->problem_term, "mx:nx3.example");
	done(&r);

	/* The limit is configurable. */
	struct spf_options o;
	spf_options_init(&o);
	o.max_void_lookups = 3;
	assert_int_equal(check_opts(&r, "192.0.2.1", "a@three.example", "h.example", &o)->result,
	    SPF_RESULT_PASS);
	done(&r);
}

static void test_deep_includes(void **state)
{
	/* A chain of 9 includes (9 DNS terms) ends in a pass at depth 9. */
	for (int i = 0; i < 9; i++) {
		char owner[32], rec[64];
		snprintf(owner, sizeof(owner), "d%d.example", i);
		snprintf(rec, sizeof(rec), "v=spf1 include:d%d.example -all", i + 1);
		txt(owner, rec);
	}
	txt("d9.example", "v=spf1 ip4:192.0.2.0/24 -all");
	struct run r;
	assert_int_equal(check(&r, "192.0.2.77", "a@d0.example")->result, SPF_RESULT_PASS);
	assert_string_equal(r.o->mechanism, "include:d1.example");
	assert_int_equal(r.o->dns_lookups, 9);
	done(&r);
	assert_int_equal(check(&r, "198.51.100.1", "a@d0.example")->result, SPF_RESULT_FAIL);
	assert_string_equal(r.o->mechanism, "-all");
	assert_string_equal(r.o->explanation, "DEFAULT");
	done(&r);

	/* A loop is stopped by the term limit. */
	txt("loop.example", "v=spf1 include:loop.example -all");
	assert_int_equal(check(&r, "192.0.2.1", "a@loop.example")->result, SPF_RESULT_PERMERROR);
	done(&r);
}

static void test_include_results(void **state)
{
	txt("inc.example", "v=spf1 include:none.example -all");
	addr("none.example", "192.0.2.1");
	txt("inc2.example", "v=spf1 -include:soft.example ~all");
	txt("soft.example", "v=spf1 ~all");
	txt("inc3.example", "v=spf1 -include:pass.example ~all");
	txt("pass.example", "v=spf1 +all");
	struct run r;
	/* none inside include: permerror (§5.2) */
	assert_int_equal(check(&r, "192.0.2.1", "a@inc.example")->result, SPF_RESULT_PERMERROR);
	done(&r);
	/* softfail inside: no match */
	assert_int_equal(check(&r, "192.0.2.1", "a@inc2.example")->result, SPF_RESULT_SOFTFAIL);
	done(&r);
	/* pass inside: match with the include's qualifier */
	assert_int_equal(check(&r, "192.0.2.1", "a@inc3.example")->result, SPF_RESULT_FAIL);
	assert_string_equal(r.o->mechanism, "-include:pass.example");
	done(&r);
}

static void test_ipv4_mapped_client(void **state)
{
	txt("v4.example", "v=spf1 ip4:192.0.2.0/24 -all");
	txt("a4.example", "v=spf1 a:host.v4.example -all");
	addr("host.v4.example", "192.0.2.5");
	struct run r;
	assert_int_equal(check(&r, "::ffff:192.0.2.5", "a@v4.example")->result,
	    SPF_RESULT_PASS);
	assert_int_equal(r.o->client.family, 4);
	done(&r);
	assert_int_equal(check(&r, "::FFFF:192.0.2.5", "a@a4.example")->result, SPF_RESULT_PASS);
	done(&r);
	/* A real IPv6 client never matches ip4. */
	assert_int_equal(check(&r, "2001:db8::5", "a@v4.example")->result, SPF_RESULT_FAIL);
	done(&r);
}

static void test_cidr_edges(void **state)
{
	txt("c0.example", "v=spf1 ip4:0.0.0.0/0 -all");
	txt("c32.example", "v=spf1 ip4:192.0.2.1/32 -all");
	txt("c128.example", "v=spf1 ip6:2001:db8::1/128 -all");
	txt("c6z.example", "v=spf1 ip6:::/0 -all");
	txt("dual.example", "v=spf1 a:h.dual.example/24//64 -all");
	addr("h.dual.example", "192.0.2.200");
	addr("h.dual.example", "2001:db8:1:2::1");
	struct run r;
	assert_int_equal(check(&r, "203.0.113.9", "a@c0.example")->result, SPF_RESULT_PASS);
	done(&r);
	assert_int_equal(check(&r, "192.0.2.1", "a@c32.example")->result, SPF_RESULT_PASS);
	done(&r);
	assert_int_equal(check(&r, "192.0.2.2", "a@c32.example")->result, SPF_RESULT_FAIL);
	done(&r);
	assert_int_equal(check(&r, "2001:db8::1", "a@c128.example")->result, SPF_RESULT_PASS);
	done(&r);
	assert_int_equal(check(&r, "2001:db8::2", "a@c128.example")->result, SPF_RESULT_FAIL);
	done(&r);
	assert_int_equal(check(&r, "2001:db8::2", "a@c6z.example")->result, SPF_RESULT_PASS);
	done(&r);
	assert_int_equal(check(&r, "192.0.2.2", "a@c6z.example")->result, SPF_RESULT_FAIL);
	done(&r);
	assert_int_equal(check(&r, "192.0.2.7", "a@dual.example")->result, SPF_RESULT_PASS);
	done(&r);
	assert_int_equal(check(&r, "2001:db8:1:2:ffff::1", "a@dual.example")->result,
	    SPF_RESULT_PASS);
	done(&r);
	assert_int_equal(check(&r, "2001:db8:1:3::1", "a@dual.example")->result,
	    SPF_RESULT_FAIL);
	done(&r);
}

static void test_nul_and_multistring(void **state)
{
	/* Two character-strings concatenated without a space (§3.3). */
	const char *parts[] = { "v=spf1 ip4:192.0.2.0", "/24 -all" };
	size_t lens[] = { strlen(parts[0]), strlen(parts[1]) };
	assert_int_equal(spf_zone_add_txt(Z, "multi.example", parts, lens, 2), SPF_OK);
	/* A NUL byte inside a record is a syntax error, not the end of the record. */
	const char nul[] = "v=spf1 a:h.example\0 +all";
	const char *np = nul;
	size_t nl = sizeof(nul) - 1;
	assert_int_equal(spf_zone_add_txt(Z, "nul.example", &np, &nl, 1), SPF_OK);
	struct run r;
	assert_int_equal(check(&r, "192.0.2.10", "a@multi.example")->result, SPF_RESULT_PASS);
	done(&r);
	assert_int_equal(check(&r, "192.0.2.10", "a@nul.example")->result, SPF_RESULT_PERMERROR);
	assert_true(r.o->problem_offset >= 7);
	done(&r);
}

static void test_record_selection(void **state)
{
	txt("two.example", "v=spf1 -all");
	txt("two.example", "v=spf1 +all");
	txt("other.example", "spf2.0/pra +all");
	txt("other.example", "v=spf1 -all");
	txt("other.example", "v=spf10 +all");
	txt("none.example", "hello world");
	struct run r;
	assert_int_equal(check(&r, "192.0.2.1", "a@two.example")->result, SPF_RESULT_PERMERROR);
	assert_null(r.o->problem_term);
	assert_non_null(strstr(r.o->problem, "more than one"));
	done(&r);
	assert_int_equal(check(&r, "192.0.2.1", "a@other.example")->result, SPF_RESULT_FAIL);
	done(&r);
	assert_int_equal(check(&r, "192.0.2.1", "a@none.example")->result, SPF_RESULT_NONE);
	done(&r);
	assert_int_equal(check(&r, "192.0.2.1", "a@nxdomain.example")->result, SPF_RESULT_NONE);
	done(&r);
	/* Not a multi-label domain, a domain literal, an empty label: none, no query. */
	assert_int_equal(check(&r, "192.0.2.1", "a@localhost")->result, SPF_RESULT_NONE);
	assert_int_equal(r.o->dns_queries, 0);
	done(&r);
	assert_int_equal(check(&r, "192.0.2.1", "a@[192.0.2.1]")->result, SPF_RESULT_NONE);
	assert_int_equal(r.o->dns_queries, 0);
	done(&r);
	assert_int_equal(check(&r, "192.0.2.1", "a@x..example")->result, SPF_RESULT_NONE);
	assert_int_equal(r.o->dns_queries, 0);
	done(&r);
}

static void test_syntax_diagnostic(void **state)
{
	txt("bad.example", "v=spf1 ip4:192.0.2.0/24 ip4:1.2.3.4/33 -all");
	struct run r;
	assert_int_equal(check(&r, "192.0.2.1", "a@bad.example")->result, SPF_RESULT_PERMERROR);
	assert_string_equal(r.o->problem_domain, "bad.example");
	assert_string_equal(r.o->problem_term, "ip4:1.2.3.4/33");
	assert_true(r.o->problem_offset >= 24 && r.o->problem_offset <= 38);
	assert_non_null(strstr(r.o->problem, "term 2 'ip4:1.2.3.4/33' at byte"));
	done(&r);
}

static void test_null_sender_and_helo(void **state)
{
	txt("helo.example", "v=spf1 ip4:192.0.2.3 -all exp=e.helo.example");
	txt("e.helo.example", "%{s} via %{h} local=%{l} domain=%{o}");
	struct run r;
	struct spf_options o;
	spf_options_init(&o);
	assert_int_equal(check_opts(&r, "192.0.2.4", "", "helo.example", &o)->result,
	    SPF_RESULT_FAIL);
	assert_string_equal(r.o->sender, "postmaster@helo.example");
	assert_string_equal(r.o->explanation,
	    "postmaster@helo.example via helo.example local=postmaster domain=helo.example");
	assert_int_equal(r.o->identity, SPF_IDENTITY_MAILFROM);
	done(&r);

	struct spf_request req;
	memset(&req, 0, sizeof(req));
	req.identity = SPF_IDENTITY_HELO;
	assert_int_equal(spf_addr_parse("192.0.2.3", &req.client), SPF_OK);
	req.helo = "helo.example";
	req.sender = "ignored@elsewhere.example";
	assert_int_equal(spf_eval_new(&r.ev, NULL, &req), SPF_OK);
	assert_int_equal(spf_zone_run(Z, r.ev), SPF_OK);
	r.o = spf_eval_outcome(r.ev);
	assert_int_equal(r.o->result, SPF_RESULT_PASS);
	assert_int_equal(r.o->identity, SPF_IDENTITY_HELO);
	assert_string_equal(r.o->checked_domain, "helo.example");
	done(&r);
}

static void test_bad_requests(void **state)
{
	struct spf_eval *ev;
	struct spf_request req;
	memset(&req, 0, sizeof(req));
	req.sender = "a@example.com";
	assert_int_equal(spf_eval_new(&ev, NULL, &req), SPF_EINVAL); /* no family */
	assert_int_equal(spf_addr_parse("192.0.2.1", &req.client), SPF_OK);
	char *big = malloc(5000);
	memset(big, 'a', 4999);
	big[4999] = '\0';
	req.sender = big;
	assert_int_equal(spf_eval_new(&ev, NULL, &req), SPF_EINVAL);
	free(big);
}

/* Drives an evaluation by hand: collects every question, answers them last-first. */
static size_t collect(struct spf_eval *ev, struct spf_query *qs, size_t max)
{
	size_t n = 0;
	while (n < max && spf_eval_next_query(ev, &qs[n]))
		n++;
	return n;
}

static void answer_from_zone(struct spf_eval *ev, const struct spf_query *q)
{
	struct spf_answer a;
	spf_zone_lookup(Z, q->name, q->type, &a);
	assert_int_equal(spf_eval_answer(ev, q->id, &a), SPF_OK);
}

static void test_mx_hosts_together(void **state)
{
	txt("mx.example", "v=spf1 mx -all");
	for (int i = 0; i < 5; i++) {
		char h[32];
		snprintf(h, sizeof(h), "mx%d.mx.example", i);
		assert_int_equal(spf_zone_add_mx(Z, "mx.example", (uint16_t)(10 * i), h), SPF_OK);
		addr(h, i == 4 ? "192.0.2.44" : "198.51.100.1");
	}
	struct spf_options o;
	spf_options_init(&o);
	o.prefetch = false;
	struct spf_request req;
	memset(&req, 0, sizeof(req));
	assert_int_equal(spf_addr_parse("192.0.2.44", &req.client), SPF_OK);
	req.sender = "u@mx.example";
	struct spf_eval *ev;
	assert_int_equal(spf_eval_new(&ev, &o, &req), SPF_OK);
	struct spf_query qs[32];

	assert_int_equal(spf_eval_run(ev), SPF_STEP_NEED_DNS);
	assert_int_equal(collect(ev, qs, 32), 1); /* TXT */
	answer_from_zone(ev, &qs[0]);
	assert_int_equal(spf_eval_run(ev), SPF_STEP_NEED_DNS);
	assert_int_equal(collect(ev, qs, 32), 1); /* MX */
	assert_int_equal(qs[0].type, SPF_RR_MX);
	answer_from_zone(ev, &qs[0]);
	assert_int_equal(spf_eval_run(ev), SPF_STEP_NEED_DNS);
	/* All five host lookups are handed out together. */
	size_t n = collect(ev, qs, 32);
	assert_int_equal(n, 5);
	assert_int_equal(spf_eval_pending(ev), 5);
	/* Answered in reverse order, the evaluation waits for the first host... */
	for (size_t i = n; i-- > 1;)
		answer_from_zone(ev, &qs[i]);
	assert_int_equal(spf_eval_run(ev), SPF_STEP_NEED_DNS);
	assert_int_equal(collect(ev, qs + n, 1), 0);
	answer_from_zone(ev, &qs[0]);
	assert_int_equal(spf_eval_run(ev), SPF_STEP_DONE);
	assert_int_equal(spf_eval_outcome(ev)->result, SPF_RESULT_PASS);
	/* A duplicate answer is refused. */
	struct spf_answer a;
	spf_zone_lookup(Z, qs[0].name, qs[0].type, &a);
	assert_int_equal(spf_eval_answer(ev, qs[0].id, &a), SPF_ENOENT);
	assert_int_equal(spf_eval_answer(ev, 9999, &a), SPF_ENOENT);
	spf_eval_free(ev);
}

static void test_mx_limit(void **state)
{
	txt("mx10.example", "v=spf1 mx -all");
	txt("mx11.example", "v=spf1 mx -all");
	for (int i = 0; i < 11; i++) {
		char h[32];
		snprintf(h, sizeof(h), "m%d.example", i);
		if (i < 10)
			assert_int_equal(spf_zone_add_mx(Z, "mx10.example", 10, h), SPF_OK);
		assert_int_equal(spf_zone_add_mx(Z, "mx11.example", 10, h), SPF_OK);
		addr(h, "198.51.100.1");
	}
	struct run r;
	assert_int_equal(check(&r, "198.51.100.1", "a@mx10.example")->result, SPF_RESULT_PASS);
	done(&r);
	assert_int_equal(check(&r, "198.51.100.1", "a@mx11.example")->result,
	    SPF_RESULT_PERMERROR);
	done(&r);
}

static void test_prefetch_depth(void **state)
{
	/* A tree of 2 levels with 3 includes each: with prefetch, 3 rounds of questions
	 * (TXT; the includes; their includes), not one per record. */
	txt("tree.example", "v=spf1 include:a.tree.example include:b.tree.example "
	    "include:c.tree.example -all");
	txt("a.tree.example", "v=spf1 include:a1.tree.example ip4:198.51.100.1 -all");
	txt("b.tree.example", "v=spf1 include:b1.tree.example ip4:198.51.100.2 -all");
	txt("c.tree.example", "v=spf1 ip4:198.51.100.3 include:c1.tree.example -all");
	txt("a1.tree.example", "v=spf1 ip4:198.51.100.4 -all");
	txt("b1.tree.example", "v=spf1 ip4:198.51.100.5 -all");
	txt("c1.tree.example", "v=spf1 ip4:192.0.2.66 -all");
	for (int pf = 1; pf >= 0; pf--) {
		struct spf_options o;
		spf_options_init(&o);
		o.prefetch = pf;
		o.trace = true;
		struct spf_request req;
		memset(&req, 0, sizeof(req));
		assert_int_equal(spf_addr_parse("192.0.2.66", &req.client), SPF_OK);
		req.sender = "u@tree.example";
		struct spf_eval *ev;
		assert_int_equal(spf_eval_new(&ev, &o, &req), SPF_OK);
		int rounds = 0;
		while (spf_eval_run(ev) == SPF_STEP_NEED_DNS) {
			struct spf_query qs[64];
			size_t n = collect(ev, qs, 64);
			for (size_t i = 0; i < n; i++)
				answer_from_zone(ev, &qs[i]);
			rounds++;
		}
		assert_int_equal(spf_eval_outcome(ev)->result, SPF_RESULT_PASS);
		assert_string_equal(spf_eval_outcome(ev)->mechanism, "include:c.tree.example");
		assert_int_equal(spf_eval_outcome(ev)->dns_lookups, 6);
		if (pf) {
			assert_int_equal(rounds, 3);
			/* The trace marks prefetched questions. */
			const struct spf_trace *t;
			size_t nt = spf_eval_trace(ev, &t);
			bool seen = false;
			for (size_t i = 0; i < nt; i++)
				if (t[i].kind == SPF_TRACE_QUERY && strstr(t[i].text, "(prefetch)"))
					seen = true;
			assert_true(seen);
		} else {
			assert_int_equal(rounds, 7);
		}
		spf_eval_free(ev);
	}
}

static void test_prefetch_budget(void **state)
{
	/* 15 a: terms: prefetch never asks more than 10 of them. */
	char rec[512] = "v=spf1";
	for (int i = 0; i < 15; i++) {
		char t[32];
		snprintf(t, sizeof(t), " a:p%d.example", i);
		strcat(rec, t);
	}
	txt("budget.example", rec);
	struct spf_request req;
	memset(&req, 0, sizeof(req));
	assert_int_equal(spf_addr_parse("192.0.2.1", &req.client), SPF_OK);
	req.sender = "u@budget.example";
	struct spf_eval *ev;
	assert_int_equal(spf_eval_new(&ev, NULL, &req), SPF_OK);
	assert_int_equal(spf_eval_run(ev), SPF_STEP_NEED_DNS);
	struct spf_query qs[64];
	assert_int_equal(collect(ev, qs, 64), 1);
	answer_from_zone(ev, &qs[0]);
	assert_int_equal(spf_eval_run(ev), SPF_STEP_NEED_DNS);
	assert_int_equal(collect(ev, qs, 64), 10);
	spf_eval_free(ev);
}

static void test_expire(void **state)
{
	txt("slow.example", "v=spf1 include:never.example -all");
	struct spf_request req;
	memset(&req, 0, sizeof(req));
	assert_int_equal(spf_addr_parse("192.0.2.1", &req.client), SPF_OK);
	req.sender = "u@slow.example";
	struct spf_eval *ev;
	assert_int_equal(spf_eval_new(&ev, NULL, &req), SPF_OK);
	assert_int_equal(spf_eval_run(ev), SPF_STEP_NEED_DNS);
	struct spf_query qs[8];
	assert_int_equal(collect(ev, qs, 8), 1);
	answer_from_zone(ev, &qs[0]);
	assert_int_equal(spf_eval_run(ev), SPF_STEP_NEED_DNS);
	assert_int_equal(collect(ev, qs, 8), 1);
	spf_eval_expire(ev);
	assert_int_equal(spf_eval_run(ev), SPF_STEP_DONE);
	const struct spf_outcome *o = spf_eval_outcome(ev);
	assert_int_equal(o->result, SPF_RESULT_TEMPERROR);
	assert_non_null(strstr(o->problem, "time budget"));
	/* The late answer is refused, and nothing more is asked. */
	struct spf_answer a;
	spf_zone_lookup(Z, qs[0].name, qs[0].type, &a);
	assert_int_equal(spf_eval_answer(ev, qs[0].id, &a), SPF_ENOENT);
	assert_false(spf_eval_next_query(ev, &qs[0]));
	spf_eval_free(ev);
}

static void test_expire_during_explanation(void **state)
{
	/* The result is fail; the exp= lookup never returns.  Expiry keeps fail and uses
	 * the default explanation (§6.2: a broken exp= never changes the result). */
	txt("x.example", "v=spf1 -all exp=slow.x.example");
	struct spf_options o;
	spf_options_init(&o);
	o.default_explanation = "default for %{d}";
	struct spf_request req;
	memset(&req, 0, sizeof(req));
	assert_int_equal(spf_addr_parse("192.0.2.1", &req.client), SPF_OK);
	req.sender = "u@x.example";
	struct spf_eval *ev;
	assert_int_equal(spf_eval_new(&ev, &o, &req), SPF_OK);
	struct spf_query qs[8];
	assert_int_equal(spf_eval_run(ev), SPF_STEP_NEED_DNS);
	assert_int_equal(collect(ev, qs, 8), 1);
	answer_from_zone(ev, &qs[0]);
	assert_int_equal(spf_eval_run(ev), SPF_STEP_NEED_DNS);
	assert_int_equal(collect(ev, qs, 8), 1);
	assert_string_equal(qs[0].name, "slow.x.example");
	spf_eval_expire(ev);
	assert_int_equal(spf_eval_run(ev), SPF_STEP_DONE);
	const struct spf_outcome *out = spf_eval_outcome(ev);
	assert_int_equal(out->result, SPF_RESULT_FAIL);
	assert_string_equal(out->explanation, "default for x.example");
	assert_null(out->problem);
	spf_eval_free(ev);
}

static void test_malformed_rdata(void **state)
{
	txt("m.example", "v=spf1 a:h.m.example mx:m.example -all");
	/* An A record of 3 bytes and a truncated MX name are dropped, not trusted. */
	const uint8_t bad_a[3] = { 192, 0, 2 };
	assert_int_equal(spf_zone_add_rr(Z, "h.m.example", SPF_RR_A, 60, bad_a, 3), SPF_OK);
	const uint8_t bad_mx[] = { 0, 10, 5, 'h', 'o' };
	assert_int_equal(spf_zone_add_rr(Z, "m.example", SPF_RR_MX, 60, bad_mx, sizeof(bad_mx)),
	    SPF_OK);
	/* TXT with a string length running past the rdata. */
	const uint8_t bad_txt[] = { 40, 'v', '=', 's', 'p', 'f', '1' };
	assert_int_equal(spf_zone_add_rr(Z, "t.example", SPF_RR_TXT, 60, bad_txt,
	    sizeof(bad_txt)), SPF_OK);
	struct run r;
	assert_int_equal(check(&r, "192.0.2.1", "a@m.example")->result, SPF_RESULT_FAIL);
	done(&r);
	assert_int_equal(check(&r, "192.0.2.1", "a@t.example")->result, SPF_RESULT_NONE);
	done(&r);
}

static void test_dns_errors(void **state)
{
	txt("e.example", "v=spf1 a:sf.example -all");
	assert_int_equal(spf_zone_set_servfail(Z, "sf.example"), SPF_OK);
	assert_int_equal(spf_zone_set_timeout(Z, "to.example"), SPF_OK);
	txt("p.example", "v=spf1 ptr -all");
	struct run r;
	assert_int_equal(check(&r, "192.0.2.1", "a@e.example")->result, SPF_RESULT_TEMPERROR);
	assert_non_null(strstr(r.o->problem, "SERVFAIL"));
	done(&r);
	assert_int_equal(check(&r, "192.0.2.1", "a@to.example")->result, SPF_RESULT_TEMPERROR);
	done(&r);
	/* ptr with no PTR record: no match, a void lookup. */
	assert_int_equal(check(&r, "192.0.2.1", "a@p.example")->result, SPF_RESULT_FAIL);
	assert_int_equal(r.o->void_lookups, 1);
	done(&r);
}

static void test_ptr_and_p_macro(void **state)
{
	txt("ptr.example", "v=spf1 ptr:ptr.example -all exp=why.ptr.example");
	txt("why.ptr.example", "%{p} is not allowed");
	assert_int_equal(spf_zone_add_name_rr(Z, "1.2.0.192.in-addr.arpa", SPF_RR_PTR,
	    "mail.ptr.example"), SPF_OK);
	assert_int_equal(spf_zone_add_name_rr(Z, "2.2.0.192.in-addr.arpa", SPF_RR_PTR,
	    "forged.ptr.example"), SPF_OK);
	addr("mail.ptr.example", "192.0.2.1");
	addr("forged.ptr.example", "198.51.100.9");
	struct run r;
	assert_int_equal(check(&r, "192.0.2.1", "a@ptr.example")->result, SPF_RESULT_PASS);
	done(&r);
	assert_int_equal(check(&r, "192.0.2.2", "a@ptr.example")->result, SPF_RESULT_FAIL);
	assert_string_equal(r.o->explanation, "unknown is not allowed");
	done(&r);
}

static void test_trace(void **state)
{
	txt("t.example", "v=spf1 include:i.t.example -all");
	txt("i.t.example", "v=spf1 ip4:192.0.2.0/24 ~all");
	struct run r;
	assert_int_equal(check(&r, "192.0.2.3", "a@t.example")->result, SPF_RESULT_PASS);
	const struct spf_trace *t;
	size_t n = spf_eval_trace(r.ev, &t);
	bool saw_inner = false, saw_query = false, saw_result = false;
	for (size_t i = 0; i < n; i++) {
		if (t[i].kind == SPF_TRACE_TERM && t[i].depth == 1 &&
		    strstr(t[i].text, "ip4:192.0.2.0/24 -> match"))
			saw_inner = true;
		if (t[i].kind == SPF_TRACE_QUERY && strcmp(t[i].text, "TXT t.example") == 0)
			saw_query = true;
		if (t[i].kind == SPF_TRACE_RESULT && t[i].depth == 0 &&
		    strstr(t[i].text, "= pass"))
			saw_result = true;
	}
	assert_true(saw_inner);
	assert_true(saw_query);
	assert_true(saw_result);
	done(&r);
}

static void test_redirect(void **state)
{
	txt("r1.example", "v=spf1 redirect=r2.example exp=e1.example");
	txt("r2.example", "v=spf1 -all exp=e2.example");
	txt("e1.example", "from r1");
	txt("e2.example", "from r2 %{d}");
	txt("rall.example", "v=spf1 ?all redirect=r2.example");
	txt("rnone.example", "v=spf1 redirect=nothing.example");
	struct run r;
	assert_int_equal(check(&r, "192.0.2.1", "a@r1.example")->result, SPF_RESULT_FAIL);
	assert_string_equal(r.o->explanation, "from r2 r2.example");
	assert_string_equal(r.o->domain, "r2.example");
	done(&r);
	assert_int_equal(check(&r, "192.0.2.1", "a@rall.example")->result, SPF_RESULT_NEUTRAL);
	done(&r);
	assert_int_equal(check(&r, "192.0.2.1", "a@rnone.example")->result,
	    SPF_RESULT_PERMERROR);
	done(&r);
}

/* A name with and without its trailing dot, in any case, is one question. */
static void test_question_names(void **state)
{
	struct spf_request req;
	memset(&req, 0, sizeof(req));
	assert_int_equal(spf_addr_parse("192.0.2.1", &req.client), SPF_OK);
	req.sender = "u@q.example";
	struct spf_eval *ev;
	assert_int_equal(spf_eval_new(&ev, NULL, &req), SPF_OK);
	struct dnsq *a = evq_ask(ev, "h.q.example.", SPF_RR_A, false);
	assert_non_null(a);
	assert_string_equal(a->name, "h.q.example");
	assert_ptr_equal(evq_ask(ev, "h.q.example", SPF_RR_A, false), a);
	assert_ptr_equal(evq_ask(ev, "H.Q.Example.", SPF_RR_A, false), a);
	assert_ptr_equal(evq_find(ev, "h.q.example.", SPF_RR_A), a);
	assert_null(evq_find(ev, "h.q.example", SPF_RR_AAAA));
	assert_int_equal(ev->nq, 1);
	spf_eval_free(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dns_term_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dns_terms_across_include, setup, teardown),
		cmocka_unit_test_setup_teardown(test_void_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deep_includes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_include_results, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv4_mapped_client, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cidr_edges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nul_and_multistring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_selection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syntax_diagnostic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_null_sender_and_helo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mx_hosts_together, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mx_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefetch_depth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefetch_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expire_during_explanation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_rdata, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dns_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ptr_and_p_macro, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_redirect, setup, teardown),
		cmocka_unit_test(test_question_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
