/*
 * test_decide.c - unit tests of daemon/decide.c: whitelists (label-boundary suffix
 * match, "unknown" client names), enforcement-list matching, action combination,
 * reply rendering (RFC 7372 default codes, placeholders, sanitising of hostile DNS
 * text, the reply cap), DEFER_IF_PERMIT, and the headers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "decide.h"

static struct config *conf(const char *text)
{
	struct config_errors e = { 0 };
	struct config *c = config_parse("t.conf", text, strlen(text), &e);
	for (size_t i = 0; i < e.n; i++)
		print_message("%s\n", e.msg[i]);
	config_errors_free(&e);
	assert_non_null(c);
	return c;
}

static struct spf_outcome outcome(enum spf_identity id, enum spf_result r)
{
	struct spf_outcome o;
	memset(&o, 0, sizeof(o));
	o.identity = id;
	o.result = r;
	o.checked_domain = id == SPF_IDENTITY_HELO ? "mx.example.org" : "example.org";
	o.domain = o.checked_domain;
	o.sender = id == SPF_IDENTITY_HELO ? "postmaster@mx.example.org" : "user@example.org";
	o.helo = "mx.example.org";
	o.receiver = "gw.example.net";
	spf_addr_parse("192.0.2.9", &o.client);
	return o;
}

static void test_suffix_match(void **state)
{
	(void)state;
	assert_true(decide_suffix_match("example.com", "example.com"));
	assert_true(decide_suffix_match("mail.Example.COM", "example.com"));
	assert_true(decide_suffix_match("a.b.example.com.", "example.com"));
	assert_false(decide_suffix_match("evilexample.com", "example.com"));
	assert_false(decide_suffix_match("example.com.evil.net", "example.com"));
	assert_false(decide_suffix_match("com", "example.com"));
	assert_false(decide_suffix_match("x", ""));
}

static void test_whitelist(void **state)
{
	(void)state;
	struct config *c = conf("[whitelist]\nnetwork = 10.0.0.0/8\nclient_name = example.com\n");
	struct spf_addr a, b;
	char why[DECIDE_WHY_MAX];
	spf_addr_parse("10.1.2.3", &a);
	spf_addr_parse("192.0.2.1", &b);

	assert_true(decide_whitelist(c, &a, "", "unknown", why, sizeof(why)));
	assert_string_equal(why, "client network 10.0.0.0/8");
	assert_true(decide_whitelist(c, &b, "alice", "unknown", why, sizeof(why)));
	assert_string_equal(why, "authenticated client alice");
	assert_true(decide_whitelist(c, &b, "", "relay.example.com", why, sizeof(why)));
	assert_string_equal(why, "client host name relay.example.com");
	/* Not on a label boundary, or not forward-confirmed: no. */
	assert_false(decide_whitelist(c, &b, "", "relay.evilexample.com", why, sizeof(why)));
	assert_false(decide_whitelist(c, &b, "", "unknown", why, sizeof(why)));
	assert_false(decide_whitelist(c, &b, NULL, NULL, why, sizeof(why)));
	/* A hostile SASL name is sanitised. */
	assert_true(decide_whitelist(c, &b, "a\r\nb\"(", "", why, sizeof(why)));
	assert_string_equal(why, "authenticated client a?" "?b?" "?");
	config_unref(c);

	c = conf("[whitelist]\nsasl = no\n");
	assert_false(decide_whitelist(c, &b, "alice", "", why, sizeof(why)));
	config_unref(c);
}

static void test_group(void **state)
{
	(void)state;
	struct config *c = conf(
	    "[enforce exact]\ndomain = spam.test\n"
	    "[enforce below]\ndomain = *.junk.test\n"
	    "[enforce nets]\nnetwork = 198.51.100.0/24 2001:db8::/32\n");
	struct spf_addr in, out6, other;
	spf_addr_parse("198.51.100.7", &in);
	spf_addr_parse("2001:db8::1", &out6);
	spf_addr_parse("192.0.2.1", &other);
	assert_string_equal(decide_group(c, "spam.test", &other)->name, "exact");
	assert_string_equal(decide_group(c, "SPAM.test.", &other)->name, "exact");
	assert_null(decide_group(c, "sub.spam.test", &other));
	assert_string_equal(decide_group(c, "a.junk.test", &other)->name, "below");
	assert_null(decide_group(c, "junk.test", &other));
	assert_null(decide_group(c, "notjunk.test", &other));
	assert_string_equal(decide_group(c, "", &in)->name, "nets");
	assert_string_equal(decide_group(c, "x.test", &out6)->name, "nets");
	/* First in file order wins. */
	assert_string_equal(decide_group(c, "spam.test", &in)->name, "exact");
	assert_null(decide_group(c, "x.test", &other));
	assert_string_equal(decide_sender_domain("a@b@example.org"), "example.org");
	assert_string_equal(decide_sender_domain(""), "");
	config_unref(c);
}

static void test_render_defaults(void **state)
{
	(void)state;
	char out[DECIDE_REPLY_MAX + 1];
	struct spf_outcome o = outcome(SPF_IDENTITY_MAILFROM, SPF_RESULT_FAIL);
	o.explanation = "192.0.2.9 is not allowed";
	decide_render(NULL, ACTION_BLOCK, &o, out, sizeof(out));
	assert_string_equal(out, "550 5.7.23 SPF fail for mailfrom example.org from 192.0.2.9: "
	    "192.0.2.9 is not allowed");
	o.result = SPF_RESULT_PERMERROR;
	o.problem = "example.org: term 2 'ip4:1.2.3.4/33' at byte 7: invalid CIDR length";
	decide_render(NULL, ACTION_BLOCK, &o, out, sizeof(out));
	assert_string_equal(out, "550 5.7.24 SPF permerror for mailfrom example.org from "
	    "192.0.2.9: example.org: term 2 'ip4:1.2.3.4/33' at byte 7: invalid CIDR length");
	o.result = SPF_RESULT_TEMPERROR;
	o.problem = NULL;
	decide_render(NULL, ACTION_TEMPBLOCK, &o, out, sizeof(out));
	assert_string_equal(out, "451 4.7.24 SPF temperror for mailfrom example.org from "
	    "192.0.2.9: temporary DNS error; try again later");
	o.result = SPF_RESULT_SOFTFAIL;
	decide_render(NULL, ACTION_BLOCK, &o, out, sizeof(out));
	assert_memory_equal(out, "550 5.7.1 ", 10);
	decide_render(NULL, ACTION_TEMPBLOCK, &o, out, sizeof(out));
	assert_memory_equal(out, "451 4.7.1 ", 10);
	o.result = SPF_RESULT_FAIL;
	decide_render(NULL, ACTION_TEMPBLOCK, &o, out, sizeof(out));
	assert_memory_equal(out, "451 4.7.23 ", 11);
}

static void test_render_template(void **state)
{
	(void)state;
	char out[DECIDE_REPLY_MAX + 1];
	struct spf_outcome o = outcome(SPF_IDENTITY_HELO, SPF_RESULT_FAIL);
	/* Code given, enhanced code defaulted; %% literal; trailing empty placeholder. */
	decide_render("554 %{identity}=%{domain} %{result} 100%% %{problem}", ACTION_BLOCK, &o,
	    out, sizeof(out));
	assert_string_equal(out, "554 5.7.23 helo=mx.example.org fail 100%");
	decide_render("5.7.1 no %{sender} via %{helo} to %{receiver}", ACTION_BLOCK, &o, out,
	    sizeof(out));
	assert_string_equal(out, "550 5.7.1 no postmaster@mx.example.org via mx.example.org to "
	    "gw.example.net");
	/* A hostile explanation: CR, LF, NUL-free but high bytes; capped. */
	char hostile[600];
	memset(hostile, 'A', sizeof(hostile) - 1);
	hostile[sizeof(hostile) - 1] = '\0';
	memcpy(hostile, "x\r\naction=OK\n\xff", 14);
	o.explanation = hostile;
	size_t n = decide_render("%{explanation}", ACTION_BLOCK, &o, out, sizeof(out));
	assert_int_equal(n, strlen(out));
	assert_null(strchr(out, '\n'));
	assert_null(strchr(out, '\r'));
	assert_memory_equal(out, "550 5.7.23 x?" "?action=OK?" "?AAA", 28);
	/* One placeholder adds at most DECIDE_PLACEHOLDER_MAX bytes and "...". */
	assert_int_equal(n, 11 + DECIDE_PLACEHOLDER_MAX + 3);
	/* The whole reply is capped even with many placeholders. */
	n = decide_render("%{explanation}%{explanation}%{explanation}%{explanation}",
	    ACTION_BLOCK, &o, out, sizeof(out));
	assert_int_equal(n, DECIDE_REPLY_MAX);
	/* A small output buffer is never overrun. */
	char tiny[8];
	decide_render(NULL, ACTION_BLOCK, &o, tiny, sizeof(tiny));
	assert_true(strlen(tiny) < sizeof(tiny));
}

static void test_template_check(void **state)
{
	(void)state;
	char err[200];
	assert_int_equal(decide_template_check("550 5.7.23 %{reason}", ACTION_BLOCK, err, 200), -1);
	assert_int_equal(decide_template_check("plain %% text", ACTION_TEMPBLOCK, err, 200), -1);
	assert_int_equal(decide_template_check("451 x", ACTION_BLOCK, err, 200), 0);
	assert_int_equal(decide_template_check("550 x", ACTION_TEMPBLOCK, err, 200), 0);
	assert_int_equal(decide_template_check("550 4.7.1 x", ACTION_BLOCK, err, 200), 4);
	assert_int_equal(decide_template_check("x % y", ACTION_BLOCK, err, 200), 2);
	assert_int_equal(decide_template_check("x %{result", ACTION_BLOCK, err, 200), 2);
	assert_int_equal(decide_template_check("550x", ACTION_BLOCK, err, 200), 3);
	assert_int_equal(decide_template_check("a\tb", ACTION_BLOCK, err, 200), 1);
}

static void test_final(void **state)
{
	(void)state;
	struct config *c = conf("[actions]\nhelo.softfail = tempblock\n"
	    "mailfrom.neutral = tempblock\n");
	struct decision d;
	struct spf_outcome h = outcome(SPF_IDENTITY_HELO, SPF_RESULT_PASS);
	struct spf_outcome m = outcome(SPF_IDENTITY_MAILFROM, SPF_RESULT_PASS);

	decide_final(c, &c->actions, &h, &m, &d);
	assert_int_equal(d.action, ACTION_BYPASS);
	assert_string_equal(d.reply, "DUNNO");

	/* MAIL FROM fail blocks even when HELO passes. */
	m.result = SPF_RESULT_FAIL;
	decide_final(c, &c->actions, &h, &m, &d);
	assert_int_equal(d.action, ACTION_BLOCK);
	assert_int_equal(d.identity, SPF_IDENTITY_MAILFROM);
	assert_memory_equal(d.reply, "550 5.7.23 SPF fail for mailfrom example.org", 44);

	/* HELO fail blocks when MAIL FROM passes. */
	h.result = SPF_RESULT_FAIL;
	m.result = SPF_RESULT_PASS;
	decide_final(c, &c->actions, &h, &m, &d);
	assert_int_equal(d.action, ACTION_BLOCK);
	assert_int_equal(d.identity, SPF_IDENTITY_HELO);

	/* The more severe wins: HELO tempblock vs MAIL FROM block. */
	h.result = SPF_RESULT_SOFTFAIL;
	m.result = SPF_RESULT_FAIL;
	decide_final(c, &c->actions, &h, &m, &d);
	assert_int_equal(d.identity, SPF_IDENTITY_MAILFROM);
	assert_int_equal(d.action, ACTION_BLOCK);

	/* Tempblock: DEFER_IF_PERMIT with the enhanced code, by default. */
	m.result = SPF_RESULT_PASS;
	decide_final(c, &c->actions, &h, &m, &d);
	assert_int_equal(d.action, ACTION_TEMPBLOCK);
	assert_string_equal(d.reply, "DEFER_IF_PERMIT 4.7.1 SPF softfail for helo mx.example.org "
	    "from 192.0.2.9: the domain discourages mail from this host");
	/* Only MAIL FROM checked. */
	m.result = SPF_RESULT_NEUTRAL;
	decide_final(c, &c->actions, NULL, &m, &d);
	assert_int_equal(d.action, ACTION_TEMPBLOCK);
	assert_int_equal(d.identity, SPF_IDENTITY_MAILFROM);
	config_unref(c);

	c = conf("[check]\ntempblock = reply\n[actions]\ntemperror = tempblock\n"
	    "[replies]\ntempblock.temperror = 451 4.4.3 DNS trouble for %{domain}\n");
	m.result = SPF_RESULT_TEMPERROR;
	decide_final(c, &c->actions, NULL, &m, &d);
	assert_string_equal(d.reply, "451 4.4.3 DNS trouble for example.org");
	config_unref(c);
}

static void test_headers(void **state)
{
	(void)state;
	char hdr[2][SPF_HEADER_MAX];
	struct spf_outcome h = outcome(SPF_IDENTITY_HELO, SPF_RESULT_NONE);
	struct spf_outcome m = outcome(SPF_IDENTITY_MAILFROM, SPF_RESULT_PASS);
	m.mechanism = "ip4:192.0.2.0/24";

	struct config *c = conf("[check]\nheader = none\n");
	assert_int_equal(decide_headers(c, "gw.example.net", &h, &m, hdr, sizeof(hdr[0])), 0);
	config_unref(c);

	c = conf("[check]\nheader = received-spf\n");
	assert_int_equal(decide_headers(c, "gw.example.net", &h, &m, hdr, sizeof(hdr[0])), 1);
	/* The MAIL FROM result, never the HELO one standing in for it. */
	assert_memory_equal(hdr[0], "Received-SPF: pass ", 19);
	assert_non_null(strstr(hdr[0], "identity=mailfrom"));
	config_unref(c);

	c = conf("[check]\nheader = both\nauthserv_id = mx.example.net\n");
	assert_int_equal(decide_headers(c, "gw.example.net", &h, &m, hdr, sizeof(hdr[0])), 2);
	assert_memory_equal(hdr[0], "Received-SPF: pass ", 19);
	assert_memory_equal(hdr[1], "Authentication-Results: mx.example.net; spf=pass", 48);
	assert_non_null(strstr(hdr[1], "smtp.mailfrom=example.org"));
	assert_non_null(strstr(hdr[1], "; spf=none"));
	assert_non_null(strstr(hdr[1], "smtp.helo=mx.example.org"));
	for (int i = 0; i < 2; i++)
		assert_null(strpbrk(hdr[i], "\r\n"));

	/* Whitelisted: says why, quotes and sanitises what the client sent. */
	struct spf_addr a;
	spf_addr_parse("10.0.0.1", &a);
	assert_int_equal(decide_whitelist_headers(c, "gw.example.net", "client network 10.0.0.0/8",
	    &a, "a\"b@x\n", "helo\\x", hdr, sizeof(hdr[0])), 2);
	assert_string_equal(hdr[0], "Received-SPF: none (gw.example.net: SPF not checked: "
	    "whitelisted client network 10.0.0.0/8) client-ip=10.0.0.1; envelope-from=\"a?b@x?\"; "
	    "helo=\"helo?x\"; receiver=gw.example.net;");
	assert_string_equal(hdr[1], "Authentication-Results: mx.example.net; spf=none "
	    "reason=\"SPF not checked: whitelisted client network 10.0.0.0/8\"");
	config_unref(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_suffix_match),
		cmocka_unit_test(test_whitelist),
		cmocka_unit_test(test_group),
		cmocka_unit_test(test_render_defaults),
		cmocka_unit_test(test_render_template),
		cmocka_unit_test(test_template_check),
		cmocka_unit_test(test_final),
		cmocka_unit_test(test_headers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
