/*
 * test_config.c - unit tests of daemon/config.c: defaults, every section, list and
 * quoted values, every error with its exact path:line:col, "all errors reported",
 * enforcement lists inheriting the global table in any file order, reply-key
 * precedence, the IMSVA config.ini dialect, and CIDR edge cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

static struct config_errors errs;

static struct config *parse(const char *text)
{
	config_errors_free(&errs);
	return config_parse("t.conf", text, strlen(text), &errs);
}

static void dump(void)
{
	for (size_t i = 0; i < errs.n; i++)
		print_message("  %s\n", errs.msg[i]);
}

static struct config *parse_ok(const char *text)
{
	struct config *c = parse(text);
	if (c == NULL)
		dump();
	assert_non_null(c);
	return c;
}

static int teardown(void **state)
{
	(void)state;
	config_errors_free(&errs);
	return 0;
}

static void test_defaults(void **state)
{
	(void)state;
	struct config *c = parse_ok("");
	for (int i = 0; i < IDENTITY_COUNT; i++)
		for (int r = 0; r < SPF_RESULT_COUNT; r++)
			assert_int_equal(c->actions.a[i][r],
			    r == SPF_RESULT_FAIL ? ACTION_BLOCK : ACTION_BYPASS);
	assert_int_equal(c->states, STATE_RCPT);
	assert_true(c->check_helo);
	assert_true(c->wl_sasl);
	assert_false(c->wl_helo_address);
	assert_int_equal(c->header, HEADER_RECEIVED_SPF);
	assert_int_equal(c->time_budget_ms, 20000);
	assert_true(c->time_budget_ms < 100000); /* below smtpd_policy_service_timeout */
	assert_int_equal(c->tempblock_mode, TEMPBLOCK_DEFER_IF_PERMIT);
	assert_int_equal(c->nlisten, 0);
	assert_int_equal(errs.nerrors, 0);
	config_unref(c);

	c = config_default();
	assert_non_null(c);
	assert_int_equal(c->nlisten, 1);
	assert_string_equal(c->listen[0].host, "127.0.0.1");
	assert_int_equal(c->listen[0].port, 10029);
	config_unref(c);
}

static void test_full(void **state)
{
	(void)state;
	struct config *c = parse_ok(
	    "# comment\n"
	    "; also a comment\n"
	    "[daemon]\n"
	    "listen = unix:/run/spfgate/sock, inet:127.0.0.1:10029\n"
	    "listen = inet:[::1]:0\n"
	    "user = spfgate\n"
	    "socket_mode = 0660\n"
	    "debug = 2\n"
	    "log = stderr\n"
	    "max_line = 1024\n"
	    "max_attributes = 50\n"
	    "max_request = 8192\n"
	    "max_connections = 10\n"
	    "idle_timeout = 2m\n"
	    "[dns]\n"
	    "mode = forward\n"
	    "forwarder = 127.0.0.1@5353 ::1\n"
	    "zone = /tmp/z.db\n"
	    "offline = yes\n"
	    "time_budget = 1500ms\n"
	    "max_void_lookups = 3\n"
	    "prefetch = no\n"
	    "[check]\n"
	    "states = mail, rcpt\n"
	    "helo = off\n"
	    "receiver = mx.example.org\n"
	    "header = both\n"
	    "authserv_id = mx.example.org\n"
	    "explanation = \"  %{i} is not allowed  \"\n"
	    "tempblock = reply\n"
	    "[actions]\n"
	    "softfail = tempblock\n"
	    "helo.any = bypass\n"
	    "mailfrom.permerror = block\n"
	    "[whitelist]\n"
	    "network = 10.0.0.0/8 2001:db8::/32\n"
	    "sasl = no\n"
	    "forwarder = Forwarder.Example.\n"
	    "client_name = example.net\n"
	    "[replies]\n"
	    "block = 554 5.7.1 go away %{client} 100%%\n");
	assert_int_equal(c->nlisten, 3);
	assert_true(c->listen[0].is_unix);
	assert_string_equal(c->listen[0].path, "/run/spfgate/sock");
	assert_string_equal(c->listen[2].host, "::1");
	assert_int_equal(c->listen[2].port, 0);
	assert_string_equal(c->user, "spfgate");
	assert_int_equal(c->socket_mode, 0660);
	assert_int_equal(c->log_level, 2);
	assert_true(c->log_stderr);
	assert_int_equal(c->max_line, 1024);
	assert_int_equal(c->max_attributes, 50);
	assert_int_equal(c->max_request, 8192);
	assert_int_equal(c->max_connections, 10);
	assert_int_equal(c->idle_timeout_ms, 120000);
	assert_int_equal(c->dns_mode, SPF_RESOLVER_FORWARD);
	assert_int_equal(c->forwarders.n, 2);
	assert_string_equal(c->forwarders.v[1], "::1");
	assert_true(c->offline);
	assert_int_equal(c->time_budget_ms, 1500);
	assert_int_equal(c->max_void_lookups, 3);
	assert_false(c->prefetch);
	assert_int_equal(c->states, STATE_MAIL | STATE_RCPT);
	assert_false(c->check_helo);
	assert_string_equal(c->receiver, "mx.example.org");
	assert_int_equal(c->header, HEADER_BOTH);
	assert_string_equal(c->explanation, "  %{i} is not allowed  ");
	assert_int_equal(c->tempblock_mode, TEMPBLOCK_REPLY);
	assert_int_equal(c->actions.a[SPF_IDENTITY_MAILFROM][SPF_RESULT_SOFTFAIL],
	    ACTION_TEMPBLOCK);
	assert_int_equal(c->actions.a[SPF_IDENTITY_HELO][SPF_RESULT_SOFTFAIL], ACTION_BYPASS);
	assert_int_equal(c->actions.a[SPF_IDENTITY_HELO][SPF_RESULT_FAIL], ACTION_BYPASS);
	assert_int_equal(c->actions.a[SPF_IDENTITY_MAILFROM][SPF_RESULT_FAIL], ACTION_BLOCK);
	assert_int_equal(c->actions.a[SPF_IDENTITY_MAILFROM][SPF_RESULT_PERMERROR],
	    ACTION_BLOCK);
	assert_int_equal(c->wl_networks.n, 2);
	assert_false(c->wl_sasl);
	assert_string_equal(c->wl_forwarders.v[0], "forwarder.example");
	assert_string_equal(c->wl_client_names.v[0], "example.net");
	for (int r = 0; r < SPF_RESULT_COUNT; r++)
		assert_string_equal(c->reply[0][r], "554 5.7.1 go away %{client} 100%%");
	assert_null(c->reply[1][0]);
	config_unref(c);
}

static void test_all_errors_with_positions(void **state)
{
	(void)state;
	struct config *c = parse(
	    "[daemon]\n"                           /* 1 */
	    "listen = tcp:1.2.3.4:5\n"             /* 2 */
	    "bogus = 1\n"                          /* 3 */
	    "  debug = 7\n"                        /* 4 */
	    "[nosuch]\n"                           /* 5 */
	    "key = ignored, section reported\n"    /* 6 */
	    "[actions]\n"                          /* 7 */
	    "fail = reject\n"                      /* 8 */
	    "neutral\n"                            /* 9 */
	    "[whitelist]\n"                        /* 10 */
	    "network = 10.0.0.0/8, 10.1.0.0/33\n"  /* 11 */
	    "[replies]\n"                          /* 12 */
	    "block = 451 x\n"                      /* 13 */
	    "tempblock = text %{nope}\n"           /* 14 */
	    "[check]\n"                            /* 15 */
	    "explanation = \"open\n"               /* 16 */
	    "[daemon]\n"                           /* 17 */
	    "listen = inet:127.0.0.1:99999, unix:\n");/* 18 */
	assert_null(c);
	dump();
	const char *want[] = {
		"t.conf:2:10: expected unix:PATH or inet:HOST:PORT, not \"tcp:1.2.3.4:5\"",
		"t.conf:3:1: unknown key \"bogus\" in [daemon]",
		"t.conf:4:11: 7 is out of range (0..3)",
		"t.conf:5:2: unknown section [nosuch]",
		"t.conf:8:8: expected block, tempblock or bypass, not \"reject\"",
		"t.conf:9:8: expected '=' after \"neutral\"",
		"t.conf:11:23: invalid network \"10.1.0.0/33\" (expected address or address/prefix)",
		"t.conf:13:9: a block reply needs a 5xx code",
		("t.conf:14:18: unknown placeholder \"%{nope}\" (known: result, identity, domain, "
		    "sender, helo, client, explanation, problem, reason, mechanism, receiver)"),
		"t.conf:16:15: unterminated quoted value",
		"t.conf:18:25: 99999 is out of range (0..65535)",
		"t.conf:18:37: missing socket path after unix:",
	};
	assert_int_equal(errs.nerrors, sizeof(want) / sizeof(want[0]));
	assert_int_equal(errs.n, errs.nerrors);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_string_equal(errs.msg[i], want[i]);
}

/* Positions inside a quoted value with \" or \\ escapes map to the file's columns
 * (found by fuzz/fuzz_config.c: each escape used to shift the column left by one). */
static void test_escape_columns(void **state)
{
	(void)state;
	struct config *c = parse(
	    "[replies]\n"
	    "block = \"\\\\ %q\"\n"                      /* '%' at column 13 */
	    "block = \"\\\"\\\"\\\"\\\" %q\"\n"          /* '%' at column 19 */
	    "[daemon]\n"
	    "listen = \"\\\\\\\\ inet:1.2.3.4:x\"\n");      /* 'x' at column 29 */
	assert_null(c);
	dump();
	assert_int_equal(errs.nerrors, 4);
	assert_string_equal(errs.msg[0], "t.conf:2:13: '%' must start %{name} or be written %%");
	assert_string_equal(errs.msg[1], "t.conf:3:19: '%' must start %{name} or be written %%");
	assert_string_equal(errs.msg[3], "t.conf:5:29: expected a number, not \"x\"");
}

static void test_misc_errors(void **state)
{
	(void)state;
	assert_null(parse("key = outside\n"));
	assert_string_equal(errs.msg[0], "t.conf:1:1: key \"key\" outside of a section");
	assert_null(parse("[enforce]\n"));
	assert_string_equal(errs.msg[0], "t.conf:1:2: [enforce] needs a name: [enforce NAME]");
	assert_null(parse("[check name]\n"));
	assert_string_equal(errs.msg[0], "t.conf:1:2: section [check] takes no name");
	assert_null(parse("[enforce a]\ndomain = x.test\n[enforce a]\n"));
	assert_string_equal(errs.msg[0], "t.conf:3:10: enforcement list \"a\" defined twice");
	assert_null(parse("[dns]\nmode = forward\n"));
	assert_string_equal(errs.msg[0], "t.conf: [dns] mode = forward needs at least one forwarder");
	assert_null(parse("[dns]\nengine = bind\n"));
	assert_string_equal(errs.msg[0],
	    "t.conf:2:10: expected auto, stub or libunbound, not \"bind\"");
	assert_null(parse("[dns]\nengine = stub\nmode = recurse\n"));
	assert_string_equal(errs.msg[0], "t.conf: [dns] engine = stub cannot recurse: it asks the "
	    "resolvers of mode = system or forward (use engine = libunbound or auto)");
	assert_null(parse("[dns]\nengine = stub\ntrust_anchor = /x\n"));
	assert_string_equal(errs.msg[0], "t.conf: [dns] engine = stub does not validate DNSSEC: "
	    "trust_anchor needs engine = libunbound or auto");
	struct config *ok = parse("[dns]\nengine = Stub\nmode = forward\nforwarder = 127.0.0.1@53\n");
	assert_non_null(ok);
	assert_int_equal(ok->engine, SPF_ENGINE_STUB);
	config_unref(ok);
	ok = parse("[dns]\n");
	assert_non_null(ok);
	assert_int_equal(ok->engine, SPF_ENGINE_AUTO);
	config_unref(ok);
	assert_null(parse("[check]\nheader =\n"));
	assert_string_equal(errs.msg[0], "t.conf:2:9: missing value for \"header\"");
	assert_null(parse("[check]\nx = \"a\" b\n"));
	assert_string_equal(errs.msg[0], "t.conf:2:9: unexpected text after the quoted value");
	assert_null(parse("[check]\nstates = helo\n"));
	assert_string_equal(errs.msg[0],
	    "t.conf:2:10: unknown protocol state \"helo\" (use mail, rcpt, data)");
	assert_null(parse("[whitelist]\nclient_name = a..b\n"));
	assert_string_equal(errs.msg[0], "t.conf:2:15: invalid client host name \"a..b\"");
	/* A NUL byte in the file. */
	config_errors_free(&errs);
	assert_null(config_parse("t.conf", "[check]\nhelo = y\0s\n", 18, &errs));
	assert_string_equal(errs.msg[0], "t.conf:2:9: NUL byte in the configuration");
	/* Warnings alone do not fail. */
	struct config *c = parse_ok("[dns]\ntime_budget = 120s\n");
	assert_int_equal(errs.nwarnings, 1);
	assert_string_equal(errs.msg[0], "t.conf:2:15: warning: time_budget should stay below "
	    "Postfix's smtpd_policy_service_timeout (100s by default)");
	config_unref(c);
}

static void test_enforce_inherits_global(void **state)
{
	(void)state;
	/* The group comes first in the file; the global key after it still applies to
	 * every result the group does not set. */
	struct config *c = parse_ok(
	    "[enforce spam]\n"
	    "domain = spam.test, *.spam.test\n"
	    "network = 198.51.100.0/24\n"
	    "any = block\n"
	    "pass = bypass\n"
	    "[actions]\n"
	    "temperror = tempblock\n"
	    "[enforce other]\n"
	    "domain = other.test\n"
	    "mailfrom.softfail = block\n");
	assert_int_equal(c->ngroups, 2);
	const struct enforce_group *g = &c->groups[0];
	assert_string_equal(g->name, "spam");
	assert_int_equal(g->domains.n, 2);
	assert_string_equal(g->domains.v[1], "*.spam.test");
	for (int i = 0; i < IDENTITY_COUNT; i++)
		for (int r = 0; r < SPF_RESULT_COUNT; r++)
			assert_int_equal(g->actions.a[i][r],
			    r == SPF_RESULT_PASS ? ACTION_BYPASS : ACTION_BLOCK);
	g = &c->groups[1];
	assert_int_equal(g->actions.a[SPF_IDENTITY_MAILFROM][SPF_RESULT_SOFTFAIL], ACTION_BLOCK);
	assert_int_equal(g->actions.a[SPF_IDENTITY_HELO][SPF_RESULT_SOFTFAIL], ACTION_BYPASS);
	assert_int_equal(g->actions.a[SPF_IDENTITY_HELO][SPF_RESULT_TEMPERROR], ACTION_TEMPBLOCK);
	assert_int_equal(g->actions.a[SPF_IDENTITY_MAILFROM][SPF_RESULT_FAIL], ACTION_BLOCK);
	config_unref(c);
}

static void test_reply_precedence(void **state)
{
	(void)state;
	struct config *c = parse_ok(
	    "[replies]\n"
	    "block.fail = specific %{explanation}\n"
	    "block = general\n"
	    "tempblock = 450 4.7.0 later\n");
	assert_string_equal(c->reply[0][SPF_RESULT_FAIL], "specific %{explanation}");
	assert_string_equal(c->reply[0][SPF_RESULT_PERMERROR], "general");
	assert_string_equal(c->reply[1][SPF_RESULT_NONE], "450 4.7.0 later");
	config_unref(c);
	assert_null(parse("[replies]\nblock.nosuch = x\n"));
	c = parse_ok("[replies]\ntempblock = 4.7.1 x\n"); /* code left out: fine */
	config_unref(c);
	assert_null(parse("[replies]\ntempblock = 5.7.1 x\n"));
	assert_string_equal(errs.msg[0],
	    "t.conf:2:13: a tempblock reply needs an enhanced code 4.X.Y");
}

static void test_imsva(void **state)
{
	(void)state;
	struct config *c = parse_ok(
	    "[globals]\n"
	    "none=bypass\n"
	    "neutral=bypass\n"
	    "pass=bypass\n"
	    "fail=block\n"
	    "softfail=tempblock\n"
	    "temperror=bypass\n"
	    "permerror=block\n"
	    "block_res=Rejected by SPF policy\n"
	    "tempblock_res=\n"
	    "loglevel=2\n"
	    "[other]\n"
	    "x=y\n");
	assert_true(c->imsva);
	for (int i = 0; i < IDENTITY_COUNT; i++) {
		assert_int_equal(c->actions.a[i][SPF_RESULT_SOFTFAIL], ACTION_TEMPBLOCK);
		assert_int_equal(c->actions.a[i][SPF_RESULT_PERMERROR], ACTION_BLOCK);
		assert_int_equal(c->actions.a[i][SPF_RESULT_TEMPERROR], ACTION_BYPASS);
	}
	assert_string_equal(c->reply[0][SPF_RESULT_FAIL], "Rejected by SPF policy");
	assert_null(c->reply[1][SPF_RESULT_FAIL]);
	assert_int_equal(errs.nwarnings, 2);
	assert_string_equal(errs.msg[0],
	    "t.conf:11:1: warning: IMSVA key \"loglevel\" is not supported by spfgated; ignored");
	assert_string_equal(errs.msg[1],
	    "t.conf:12:2: warning: IMSVA section [other] is not supported; ignored");
	config_unref(c);
	/* A bad action is still an error in an IMSVA file. */
	assert_null(parse("[globals]\nfail=drop\n"));
	assert_string_equal(errs.msg[0],
	    "t.conf:2:6: expected block, tempblock or bypass, not \"drop\"");
	/* [globals] later in a native file is an unknown section. */
	assert_null(parse("[check]\n[globals]\n"));
}

static void test_cidr(void **state)
{
	(void)state;
	struct cidr c;
	assert_int_equal(cidr_parse("192.0.2.0/24", 12, &c), SPF_OK);
	assert_int_equal(c.prefix, 24);
	assert_int_equal(cidr_parse("192.0.2.1", 9, &c), SPF_OK);
	assert_int_equal(c.prefix, 32);
	assert_int_equal(cidr_parse("192.0.2.0/33", 12, &c), SPF_EINVAL);
	assert_int_equal(cidr_parse("192.0.2.0/", 10, &c), SPF_EINVAL);
	assert_int_equal(cidr_parse("192.0.2.0/2x", 12, &c), SPF_EINVAL);
	assert_int_equal(cidr_parse("2001:db8::/32", 13, &c), SPF_OK);
	assert_int_equal(c.net.family, 6);
	assert_int_equal(cidr_parse("2001:db8::/129", 14, &c), SPF_EINVAL);
	assert_int_equal(cidr_parse("::ffff:192.0.2.0/120", 20, &c), SPF_OK);
	assert_int_equal(c.net.family, 4);
	assert_int_equal(c.prefix, 24);
	assert_int_equal(cidr_parse("::ffff:192.0.2.0/64", 19, &c), SPF_EINVAL);

	struct config *cfg = parse_ok("[whitelist]\nnetwork = 192.0.2.0/24 2001:db8::/32\n");
	struct spf_addr a;
	char buf[64];
	spf_addr_parse("192.0.2.77", &a);
	assert_true(cidrlist_match(&cfg->wl_networks, &a, buf, sizeof(buf)));
	assert_string_equal(buf, "192.0.2.0/24");
	spf_addr_parse("2001:db8:1::1", &a);
	assert_true(cidrlist_match(&cfg->wl_networks, &a, buf, sizeof(buf)));
	assert_string_equal(buf, "2001:db8::/32");
	spf_addr_parse("192.0.3.1", &a);
	assert_false(cidrlist_match(&cfg->wl_networks, &a, NULL, 0));
	config_unref(cfg);
}

static void test_refcount(void **state)
{
	(void)state;
	struct config *c = parse_ok("[check]\nhelo = no\n");
	config_ref(c);
	assert_int_equal(c->refs, 2);
	config_unref(c);
	assert_int_equal(c->refs, 1);
	config_unref(c); /* freed; ASan would report a double free or leak */
}

/* Random bytes and random mixes of valid fragments: never a crash (ASan/UBSan), and
 * a NULL result always comes with at least one error. */
static void test_random_input(void **state)
{
	(void)state;
	static const char *const frags[] = {
		"[daemon]\n", "[dns]\n", "[check]\n", "[actions]\n", "[replies]\n",
		"[whitelist]\n", "[enforce x]\n", "[globals]\n", "listen = ", "inet:",
		"unix:/", "[::1]:", "1", "/", "=", " = ", "\"", "\\", "%{", "}", "%%",
		"block", "fail", "any", "helo.", "mailfrom.", "network = ", "10.0.0.0/8",
		"domain = ", "*.", "\n", "\r\n", "#", ";", ",", " ", "\t", "\xff", "550 ",
		"5.7.1 ", "block.fail = ", "time_budget = ", "ms", "states = ",
	};
	unsigned seed = 12345;
	char buf[512];
	for (int iter = 0; iter < 3000; iter++) {
		size_t n = 0;
		for (int k = 0; k < 40 && n < sizeof(buf) - 32; k++) {
			seed = seed * 1103515245u + 12345u;
			if (iter % 3 == 0) {
				buf[n++] = (char)(seed >> 16);
			} else {
				const char *f = frags[(seed >> 16) % (sizeof(frags) / sizeof(frags[0]))];
				size_t fl = strlen(f);
				memcpy(buf + n, f, fl);
				n += fl;
			}
		}
		struct config *c = config_parse("r.conf", buf, n, &errs);
		if (c == NULL)
			assert_true(errs.nerrors > 0);
		config_unref(c);
		config_errors_free(&errs);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_defaults, teardown),
		cmocka_unit_test_teardown(test_full, teardown),
		cmocka_unit_test_teardown(test_all_errors_with_positions, teardown),
		cmocka_unit_test_teardown(test_escape_columns, teardown),
		cmocka_unit_test_teardown(test_misc_errors, teardown),
		cmocka_unit_test_teardown(test_enforce_inherits_global, teardown),
		cmocka_unit_test_teardown(test_reply_precedence, teardown),
		cmocka_unit_test_teardown(test_imsva, teardown),
		cmocka_unit_test_teardown(test_cidr, teardown),
		cmocka_unit_test_teardown(test_refcount, teardown),
		cmocka_unit_test_teardown(test_random_input, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
