/*
 * test_resolver.c - the libunbound driver without a network: offline mode and the
 * zone overlay.
 *
 * Offline mode must never create a libunbound context (no descriptor, no queries) and
 * must answer everything outside the zone NXDOMAIN; the overlay must answer the names
 * it covers without asking libunbound even when live DNS is configured; done() is
 * called exactly once, also when it happens inside spf_resolver_start(); bad options
 * are reported with a message.  Live DNS is tested in tests/integration/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "spfgate/resolver.h"

static struct spf_zone *Z;

static int setup(void **state)
{
	Z = spf_zone_new();
	assert_non_null(Z);
	assert_int_equal(spf_zone_add_apex(Z, "example.com"), SPF_OK);
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

static struct spf_eval *new_eval(const char *ip, const char *sender)
{
	struct spf_options opts;
	spf_options_init(&opts);
	opts.now = 1700000000;
	struct spf_request req;
	memset(&req, 0, sizeof(req));
	req.identity = SPF_IDENTITY_MAILFROM;
	assert_int_equal(spf_addr_parse(ip, &req.client), SPF_OK);
	req.helo = "mx.example.net";
	req.sender = sender;
	struct spf_eval *ev = NULL;
	assert_int_equal(spf_eval_new(&ev, &opts, &req), SPF_OK);
	return ev;
}

static struct spf_resolver *offline_resolver(const struct spf_zone *z)
{
	struct spf_resolver_options o;
	spf_resolver_options_init(&o);
	o.zone = z;
	o.offline = true;
	struct spf_resolver *r = NULL;
	char err[256];
	assert_int_equal(spf_resolver_new(&r, &o, err, sizeof(err)), SPF_OK);
	return r;
}

static enum spf_result run(struct spf_resolver *r, const char *ip, const char *sender)
{
	struct spf_eval *ev = new_eval(ip, sender);
	assert_int_equal(spf_resolver_run(r, ev, 2000), SPF_OK);
	const struct spf_outcome *o = spf_eval_outcome(ev);
	assert_non_null(o);
	enum spf_result res = o->result;
	spf_eval_free(ev);
	return res;
}

static void test_options_init(void **state)
{
	struct spf_resolver_options o;
	memset(&o, 0xa5, sizeof(o));
	spf_resolver_options_init(&o);
	assert_int_equal(o.mode, SPF_RESOLVER_SYSTEM);
	assert_null(o.forwarders);
	assert_int_equal(o.nforwarders, 0);
	assert_null(o.trust_anchor_file);
	assert_false(o.tcp_only);
	assert_null(o.zone);
	assert_false(o.offline);
	/* 0: the answer cache's built-in bounds. */
	assert_int_equal(o.cache_max_entries, 0);
	assert_int_equal(o.cache_max_bytes, 0);
}

static void test_offline_zone(void **state)
{
	txt("example.com", "v=spf1 ip4:192.0.2.0/24 include:missing.example.org -all");
	struct spf_resolver *r = offline_resolver(Z);
	assert_int_equal(spf_resolver_fd(r), -1);
	assert_int_equal(spf_resolver_process(r), SPF_OK);

	assert_int_equal(run(r, "192.0.2.7", "a@example.com"), SPF_RESULT_PASS);
	/* Outside 192.0.2.0/24 the include is evaluated: its domain is NXDOMAIN offline,
	 * and an include without a record is a permerror (RFC 7208 §5.2). */
	assert_int_equal(run(r, "198.51.100.1", "a@example.com"), SPF_RESULT_PERMERROR);
	/* A domain outside the zone: NXDOMAIN, so "none". */
	assert_int_equal(run(r, "192.0.2.7", "a@elsewhere.example"), SPF_RESULT_NONE);

	struct spf_resolver_stats st;
	spf_resolver_stats(r, &st);
	assert_int_equal(st.queries_sent, 0);
	assert_int_equal(st.queries_shared, 0);
	assert_int_equal(st.answers, 0);
	assert_true(st.zone_answers >= 4);
	assert_int_equal(st.checks_active, 0);
	/* Offline answers never reach the answer cache: they are answered before it. */
	assert_int_equal(st.cache_hits, 0);
	assert_int_equal(st.cache_misses, 0);
	assert_int_equal(st.cache_entries, 0);
	assert_int_equal(st.cache_bytes, 0);
	spf_resolver_free(r);
}

static void test_offline_without_zone(void **state)
{
	struct spf_resolver *r = offline_resolver(NULL);
	assert_int_equal(spf_resolver_fd(r), -1);
	assert_int_equal(run(r, "192.0.2.7", "a@example.com"), SPF_RESULT_NONE);
	struct spf_resolver_stats st;
	spf_resolver_stats(r, &st);
	assert_int_equal(st.queries_sent, 0);
	assert_int_equal(st.zone_answers, 1);
	spf_resolver_free(r);
}

struct done_log {
	int calls;
	struct spf_eval *ev;
	struct spf_check *c;
};

static void on_done(struct spf_check *c, struct spf_eval *ev, void *arg)
{
	struct done_log *d = arg;
	d->calls++;
	d->ev = ev;
	d->c = c;
	/* Cancelling or expiring a check inside its own done() is harmless. */
	spf_check_cancel(c);
	spf_check_expire(c);
}

static void test_done_inside_start(void **state)
{
	txt("example.com", "v=spf1 -all");
	struct spf_resolver *r = offline_resolver(Z);
	struct spf_eval *ev = new_eval("192.0.2.7", "a@example.com");
	struct done_log d = { 0 };
	struct spf_check *c = (struct spf_check *)&d; /* must be overwritten */
	assert_int_equal(spf_resolver_start(r, ev, on_done, &d, &c), SPF_OK);
	assert_int_equal(d.calls, 1);
	assert_ptr_equal(d.ev, ev);
	assert_null(c); /* finished inside start: no handle to keep */
	assert_int_equal(spf_eval_outcome(ev)->result, SPF_RESULT_FAIL);
	/* Nothing more happens later. */
	assert_int_equal(spf_resolver_process(r), SPF_OK);
	assert_int_equal(d.calls, 1);
	spf_eval_free(ev);
	spf_resolver_free(r);
}

static void test_zone_timeout_is_temperror(void **state)
{
	txt("example.com", "v=spf1 include:slow.example.com -all");
	assert_int_equal(spf_zone_set_timeout(Z, "slow.example.com"), SPF_OK);
	struct spf_resolver *r = offline_resolver(Z);
	assert_int_equal(run(r, "192.0.2.7", "a@example.com"), SPF_RESULT_TEMPERROR);
	spf_resolver_free(r);
}

/* Many checks at once, all answered synchronously: the check table is reused and
 * every check is finished (checks_active back to 0; LSan sees no leak). */
static void test_many_checks(void **state)
{
	txt("example.com", "v=spf1 ip4:192.0.2.0/24 -all");
	struct spf_resolver *r = offline_resolver(Z);
	enum { N = 300 };
	struct spf_eval *ev[N];
	struct done_log d = { 0 };
	for (int i = 0; i < N; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "192.0.%d.%d", 2 + i % 2, i % 250 + 1);
		ev[i] = new_eval(ip, "x@example.com");
		assert_int_equal(spf_resolver_start(r, ev[i], on_done, &d, NULL), SPF_OK);
	}
	assert_int_equal(d.calls, N);
	for (int i = 0; i < N; i++) {
		enum spf_result want = i % 2 == 0 ? SPF_RESULT_PASS : SPF_RESULT_FAIL;
		assert_int_equal(spf_eval_outcome(ev[i])->result, want);
		spf_eval_free(ev[i]);
	}
	struct spf_resolver_stats st;
	spf_resolver_stats(r, &st);
	assert_int_equal(st.checks_active, 0);
	assert_int_equal(st.zone_answers, N);
	spf_resolver_free(r);
}

/*
 * Live DNS configured (a forwarder nobody listens on), but every question falls inside
 * the zone: answered from the overlay, libunbound never asked.  Creating the context
 * sends nothing; only a query would.
 */
static void test_overlay_in_live_mode(void **state)
{
	txt("example.com", "v=spf1 a mx include:_spf.example.com -all");
	assert_int_equal(spf_zone_add_addr(Z, "example.com", "192.0.2.10"), SPF_OK);
	assert_int_equal(spf_zone_add_mx(Z, "example.com", 10, "mail.example.com"), SPF_OK);
	assert_int_equal(spf_zone_add_addr(Z, "mail.example.com", "192.0.2.20"), SPF_OK);
	txt("_spf.example.com", "v=spf1 ip6:2001:db8::/32 -all");

	const char *fwd[] = { "127.0.0.1@9" };
	struct spf_resolver_options o;
	spf_resolver_options_init(&o);
	o.mode = SPF_RESOLVER_FORWARD;
	o.forwarders = fwd;
	o.nforwarders = 1;
	o.zone = Z;
	struct spf_resolver *r = NULL;
	char err[256] = "";
	assert_int_equal(spf_resolver_new(&r, &o, err, sizeof(err)), SPF_OK);
	assert_true(spf_resolver_fd(r) >= 0);

	assert_int_equal(run(r, "192.0.2.20", "a@example.com"), SPF_RESULT_PASS);
	assert_int_equal(run(r, "2001:db8::1", "a@example.com"), SPF_RESULT_PASS);
	assert_int_equal(run(r, "198.51.100.1", "a@example.com"), SPF_RESULT_FAIL);

	struct spf_resolver_stats st;
	spf_resolver_stats(r, &st);
	assert_int_equal(st.queries_sent, 0);
	assert_int_equal(st.answers, 0);
	assert_true(st.zone_answers >= 5);
	/* The overlay is asked before the answer cache, and nothing from it is kept. */
	assert_int_equal(st.cache_hits, 0);
	assert_int_equal(st.cache_misses, 0);
	assert_int_equal(st.cache_entries, 0);
	spf_resolver_free(r);
}

static void test_bad_options(void **state)
{
	struct spf_resolver_options o;
	struct spf_resolver *r = (struct spf_resolver *)&o;
	char err[256];

	spf_resolver_options_init(&o);
	o.mode = SPF_RESOLVER_FORWARD;
	err[0] = '\0';
	assert_int_equal(spf_resolver_new(&r, &o, err, sizeof(err)), SPF_EINVAL);
	assert_null(r);
	assert_non_null(strstr(err, "forwarder"));

	const char *bad[] = { "192.0.2.1", "not-an-address" };
	o.forwarders = bad;
	o.nforwarders = 2;
	err[0] = '\0';
	assert_int_equal(spf_resolver_new(&r, &o, err, sizeof(err)), SPF_EINVAL);
	assert_non_null(strstr(err, "not-an-address"));

	const char *good[] = { "192.0.2.1@5353", "2001:db8::53" };
	o.forwarders = good;
	o.trust_anchor_file = "/nonexistent/spfgate-test/root.key";
	err[0] = '\0';
	assert_int_equal(spf_resolver_new(&r, &o, err, sizeof(err)), SPF_ENOENT);
	assert_non_null(strstr(err, "/nonexistent/spfgate-test/root.key"));

	o.trust_anchor_file = NULL;
	o.mode = (enum spf_resolver_mode)42;
	assert_int_equal(spf_resolver_new(&r, &o, err, sizeof(err)), SPF_EINVAL);

	/* The same options in a valid mode work, and a tiny error buffer is fine. */
	o.mode = SPF_RESOLVER_FORWARD;
	o.tcp_only = true;
	assert_int_equal(spf_resolver_new(&r, &o, err, 1), SPF_OK);
	spf_resolver_free(r);
	spf_resolver_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_options_init),
		cmocka_unit_test_setup_teardown(test_offline_zone, setup, teardown),
		cmocka_unit_test(test_offline_without_zone),
		cmocka_unit_test_setup_teardown(test_done_inside_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zone_timeout_is_temperror, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlay_in_live_mode, setup, teardown),
		cmocka_unit_test(test_bad_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
