/*
 * test_header.c - unit tests of lib/header.c: Received-SPF (RFC 7208 §9.1, erratum
 * 5436) and the "spf" method of Authentication-Results (RFC 7601 §2.7.2).
 *
 * Outcomes are built by hand, so no evaluator or DNS is involved.  Every test compares
 * the whole rendered string; the hostile-input tests also check that no byte outside
 * printable ASCII survives, that the field stays below the RFC 5322 line limit, and
 * that a buffer one byte too small gives SPF_ELIMIT without writing past its end.
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

static struct spf_outcome base(enum spf_result r)
{
	struct spf_outcome o;
	memset(&o, 0, sizeof(o));
	o.result = r;
	o.identity = SPF_IDENTITY_MAILFROM;
	o.checked_domain = "example.com";
	o.domain = "example.com";
	o.sender = "alice@example.com";
	o.helo = "mail.example.com";
	o.receiver = "mx.receiver.example";
	o.problem_offset = -1;
	assert_int_equal(spf_addr_parse("192.0.2.10", &o.client), SPF_OK);
	switch (r) {
	case SPF_RESULT_PASS:
		o.mechanism = "ip4:192.0.2.0/24";
		break;
	case SPF_RESULT_FAIL:
		o.mechanism = "-all";
		o.explanation = "192.0.2.10 is not one of example.com's designated mail servers.";
		break;
	case SPF_RESULT_SOFTFAIL:
		o.mechanism = "~all";
		break;
	case SPF_RESULT_NEUTRAL:
		o.mechanism = "?include:_spf.provider.example";
		break;
	case SPF_RESULT_TEMPERROR:
		o.problem = "TXT example.com: SERVFAIL";
		break;
	case SPF_RESULT_PERMERROR:
		o.mechanism = "ip4:1.2.3.4/33";
		o.problem = "example.com: term 3 'ip4:1.2.3.4/33' at byte 21: invalid CIDR length";
		o.problem_domain = "example.com";
		o.problem_term = "ip4:1.2.3.4/33";
		o.problem_offset = 21;
		break;
	default:
		break;
	}
	return o;
}

/* Renders with all three functions into buffers of SPF_HEADER_MAX. */
struct rendered {
	char rspf[SPF_HEADER_MAX];
	char method[SPF_HEADER_MAX];
	char ar[SPF_HEADER_MAX];
};

static void render(const struct spf_outcome *o, const char *receiver, struct rendered *r)
{
	int n = spf_header_received_spf(o, receiver, r->rspf, sizeof(r->rspf));
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(r->rspf));
	n = spf_header_ar_method(o, r->method, sizeof(r->method));
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(r->method));
	n = spf_header_auth_results(o, receiver, r->ar, sizeof(r->ar));
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(r->ar));
}

/* Nothing but printable ASCII, and within RFC 5322's 998-character line limit. */
static void assert_header_safe(const char *h)
{
	size_t n = strlen(h);
	assert_true(n <= 998);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];
		if (c < 0x20 || c > 0x7e)
			fail_msg("byte 0x%02x at %zu in %s", c, i, h);
	}
}

#define RSPF_HEAD "Received-SPF: "
#define TAIL_MF "client-ip=192.0.2.10; envelope-from=\"alice@example.com\"; " \
	"helo=mail.example.com; receiver=mx.receiver.example; identity=mailfrom"

/* ------------------------------------------------------------ the seven results */

static void test_pass(void **state)
{
	(void)state;
	struct spf_outcome o = base(SPF_RESULT_PASS);
	struct rendered r;
	render(&o, NULL, &r);
	assert_string_equal(r.rspf, RSPF_HEAD "pass (mx.receiver.example: domain of "
	    "alice@example.com designates 192.0.2.10 as permitted sender) " TAIL_MF
	    "; mechanism=\"ip4:192.0.2.0/24\"");
	assert_string_equal(r.method, "spf=pass (domain of alice@example.com designates "
	    "192.0.2.10 as permitted sender) smtp.mailfrom=example.com");
	assert_string_equal(r.ar, "Authentication-Results: mx.receiver.example; spf=pass "
	    "(domain of alice@example.com designates 192.0.2.10 as permitted sender) "
	    "smtp.mailfrom=example.com");
}

static void test_fail(void **state)
{
	(void)state;
	struct spf_outcome o = base(SPF_RESULT_FAIL);
	struct rendered r;
	render(&o, NULL, &r);
	assert_string_equal(r.rspf, RSPF_HEAD "fail (mx.receiver.example: domain of "
	    "alice@example.com does not designate 192.0.2.10 as permitted sender) " TAIL_MF
	    "; mechanism=-all");
	assert_string_equal(r.method, "spf=fail (domain of alice@example.com does not "
	    "designate 192.0.2.10 as permitted sender) smtp.mailfrom=example.com");
}

static void test_softfail(void **state)
{
	(void)state;
	struct spf_outcome o = base(SPF_RESULT_SOFTFAIL);
	struct rendered r;
	render(&o, NULL, &r);
	assert_string_equal(r.rspf, RSPF_HEAD "softfail (mx.receiver.example: domain of "
	    "transitioning alice@example.com does not designate 192.0.2.10 as permitted "
	    "sender) " TAIL_MF "; mechanism=~all");
	assert_string_equal(r.method, "spf=softfail (domain of transitioning "
	    "alice@example.com does not designate 192.0.2.10 as permitted sender) "
	    "smtp.mailfrom=example.com");
}

static void test_neutral(void **state)
{
	(void)state;
	struct spf_outcome o = base(SPF_RESULT_NEUTRAL);
	struct rendered r;
	render(&o, NULL, &r);
	assert_string_equal(r.rspf, RSPF_HEAD "neutral (mx.receiver.example: 192.0.2.10 is "
	    "neither permitted nor denied by domain of alice@example.com) " TAIL_MF
	    "; mechanism=\"?include:_spf.provider.example\"");
	assert_string_equal(r.method, "spf=neutral (192.0.2.10 is neither permitted nor "
	    "denied by domain of alice@example.com) smtp.mailfrom=example.com");
}

/* §9.1: "if no mechanisms matched, substitute the word 'default'". */
static void test_neutral_default(void **state)
{
	(void)state;
	struct spf_outcome o = base(SPF_RESULT_NEUTRAL);
	o.mechanism = NULL;
	struct rendered r;
	render(&o, NULL, &r);
	assert_string_equal(r.rspf, RSPF_HEAD "neutral (mx.receiver.example: 192.0.2.10 is "
	    "neither permitted nor denied by domain of alice@example.com) " TAIL_MF
	    "; mechanism=default");
}

static void test_none(void **state)
{
	(void)state;
	struct spf_outcome o = base(SPF_RESULT_NONE);
	struct rendered r;
	render(&o, NULL, &r);
	assert_string_equal(r.rspf, RSPF_HEAD "none (mx.receiver.example: domain of "
	    "alice@example.com does not designate permitted sender hosts) " TAIL_MF);
	assert_string_equal(r.method, "spf=none (domain of alice@example.com does not "
	    "designate permitted sender hosts) smtp.mailfrom=example.com");
}

static void test_temperror(void **state)
{
	(void)state;
	struct spf_outcome o = base(SPF_RESULT_TEMPERROR);
	struct rendered r;
	render(&o, NULL, &r);
	assert_string_equal(r.rspf, RSPF_HEAD "temperror (mx.receiver.example: temporary "
	    "error in processing during lookup of alice@example.com) " TAIL_MF
	    "; problem=\"TXT example.com: SERVFAIL\"");
	assert_string_equal(r.method, "spf=temperror (temporary error in processing during "
	    "lookup of alice@example.com) reason=\"TXT example.com: SERVFAIL\" "
	    "smtp.mailfrom=example.com");
}

static void test_permerror(void **state)
{
	(void)state;
	struct spf_outcome o = base(SPF_RESULT_PERMERROR);
	struct rendered r;
	render(&o, NULL, &r);
	assert_string_equal(r.rspf, RSPF_HEAD "permerror (mx.receiver.example: permanent "
	    "error in processing domain of alice@example.com) " TAIL_MF
	    "; problem=\"example.com: term 3 'ip4:1.2.3.4/33' at byte 21: invalid CIDR "
	    "length\"");
	assert_string_equal(r.ar, "Authentication-Results: mx.receiver.example; "
	    "spf=permerror (permanent error in processing domain of alice@example.com) "
	    "reason=\"example.com: term 3 'ip4:1.2.3.4/33' at byte 21: invalid CIDR "
	    "length\" smtp.mailfrom=example.com");
}

/* An error without a problem text still gets a problem= (never an empty one). */
static void test_error_without_problem(void **state)
{
	(void)state;
	struct spf_outcome o = base(SPF_RESULT_PERMERROR);
	o.problem = NULL;
	struct rendered r;
	render(&o, NULL, &r);
	assert_non_null(strstr(r.rspf, "; problem=\"permanent error\""));
	assert_non_null(strstr(r.method, " reason=\"permanent error\" "));
	o = base(SPF_RESULT_TEMPERROR);
	o.problem = "";
	render(&o, NULL, &r);
	assert_non_null(strstr(r.rspf, "; problem=\"temporary error\""));
}

/* ------------------------------------------------------------ identities, addresses */

static void test_helo_identity(void **state)
{
	(void)state;
	struct spf_outcome o = base(SPF_RESULT_PASS);
	o.identity = SPF_IDENTITY_HELO;
	o.checked_domain = "mail.example.com";
	o.domain = "mail.example.com";
	o.sender = "postmaster@mail.example.com";
	o.mechanism = "a";
	struct rendered r;
	render(&o, NULL, &r);
	/* No envelope-from for the HELO identity (§9.1). */
	assert_string_equal(r.rspf, RSPF_HEAD "pass (mx.receiver.example: domain of "
	    "mail.example.com designates 192.0.2.10 as permitted sender) "
	    "client-ip=192.0.2.10; helo=mail.example.com; receiver=mx.receiver.example; "
	    "identity=helo; mechanism=a");
	assert_string_equal(r.method, "spf=pass (domain of mail.example.com designates "
	    "192.0.2.10 as permitted sender) smtp.helo=mail.example.com");

	o.result = SPF_RESULT_FAIL;
	o.mechanism = "-all";
	render(&o, NULL, &r);
	assert_string_equal(r.rspf, RSPF_HEAD "fail (mx.receiver.example: domain of "
	    "mail.example.com does not designate 192.0.2.10 as permitted sender) "
	    "client-ip=192.0.2.10; helo=mail.example.com; receiver=mx.receiver.example; "
	    "identity=helo; mechanism=-all");
	assert_string_equal(r.ar, "Authentication-Results: mx.receiver.example; spf=fail "
	    "(domain of mail.example.com does not designate 192.0.2.10 as permitted "
	    "sender) smtp.helo=mail.example.com");
}

/* Every result for the HELO identity names the HELO, never a mailbox. */
static void test_helo_all_results(void **state)
{
	(void)state;
	static const char *const method[SPF_RESULT_COUNT] = {
		[SPF_RESULT_NONE] = "spf=none (domain of h.example.net does not designate "
		    "permitted sender hosts) smtp.helo=h.example.net",
		[SPF_RESULT_NEUTRAL] = "spf=neutral (2001:db8::1 is neither permitted nor "
		    "denied by domain of h.example.net) smtp.helo=h.example.net",
		[SPF_RESULT_PASS] = "spf=pass (domain of h.example.net designates 2001:db8::1 "
		    "as permitted sender) smtp.helo=h.example.net",
		[SPF_RESULT_FAIL] = "spf=fail (domain of h.example.net does not designate "
		    "2001:db8::1 as permitted sender) smtp.helo=h.example.net",
		[SPF_RESULT_SOFTFAIL] = "spf=softfail (domain of transitioning h.example.net "
		    "does not designate 2001:db8::1 as permitted sender) smtp.helo=h.example.net",
		[SPF_RESULT_TEMPERROR] = "spf=temperror (temporary error in processing during "
		    "lookup of h.example.net) reason=\"TXT example.com: SERVFAIL\" "
		    "smtp.helo=h.example.net",
		[SPF_RESULT_PERMERROR] = "spf=permerror (permanent error in processing domain "
		    "of h.example.net) reason=\"example.com: term 3 'ip4:1.2.3.4/33' at byte 21: "
		    "invalid CIDR length\" smtp.helo=h.example.net",
	};
	for (unsigned i = 0; i < SPF_RESULT_COUNT; i++) {
		struct spf_outcome o = base((enum spf_result)i);
		o.identity = SPF_IDENTITY_HELO;
		o.helo = "h.example.net";
		o.checked_domain = "h.example.net";
		o.sender = "postmaster@h.example.net";
		assert_int_equal(spf_addr_parse("2001:db8::1", &o.client), SPF_OK);
		struct rendered r;
		render(&o, NULL, &r);
		assert_string_equal(r.method, method[i]);
		assert_non_null(strstr(r.rspf, " client-ip=\"2001:db8::1\"; helo=h.example.net; "
		    "receiver=mx.receiver.example; identity=helo"));
		assert_null(strstr(r.rspf, "envelope-from"));
		assert_header_safe(r.rspf);
	}
}

/* An IPv6 address is not a dot-atom (':'), so client-ip= quotes it. */
static void test_ipv6_client(void **state)
{
	(void)state;
	struct spf_outcome o = base(SPF_RESULT_FAIL);
	assert_int_equal(spf_addr_parse("2001:DB8:0:0::0:1", &o.client), SPF_OK);
	struct rendered r;
	render(&o, NULL, &r);
	assert_string_equal(r.rspf, RSPF_HEAD "fail (mx.receiver.example: domain of "
	    "alice@example.com does not designate 2001:db8::1 as permitted sender) "
	    "client-ip=\"2001:db8::1\"; envelope-from=\"alice@example.com\"; "
	    "helo=mail.example.com; receiver=mx.receiver.example; identity=mailfrom; "
	    "mechanism=-all");
}

/* A null sender is checked as postmaster@HELO; an empty HELO leaves out helo=. */
static void test_null_sender_and_empty_helo(void **state)
{
	(void)state;
	struct spf_outcome o = base(SPF_RESULT_PASS);
	o.sender = "postmaster@mail.example.com";
	o.checked_domain = "mail.example.com";
	struct rendered r;
	render(&o, NULL, &r);
	assert_string_equal(r.method, "spf=pass (domain of postmaster@mail.example.com "
	    "designates 192.0.2.10 as permitted sender) smtp.mailfrom=mail.example.com");
	assert_non_null(strstr(r.rspf, "envelope-from=\"postmaster@mail.example.com\"; "
	    "helo=mail.example.com;"));

	o = base(SPF_RESULT_NONE);
	o.helo = "";
	render(&o, NULL, &r);
	assert_string_equal(r.rspf, RSPF_HEAD "none (mx.receiver.example: domain of "
	    "alice@example.com does not designate permitted sender hosts) "
	    "client-ip=192.0.2.10; envelope-from=\"alice@example.com\"; "
	    "receiver=mx.receiver.example; identity=mailfrom");
	o.helo = NULL;
	o.sender = NULL;
	o.receiver = NULL;
	render(&o, NULL, &r);
	assert_string_equal(r.rspf, RSPF_HEAD "none (unknown: domain of example.com does "
	    "not designate permitted sender hosts) client-ip=192.0.2.10; envelope-from=\"\"; "
	    "receiver=unknown; identity=mailfrom");
	assert_string_equal(r.ar, "Authentication-Results: unknown; spf=none (domain of "
	    "example.com does not designate permitted sender hosts) smtp.mailfrom=example.com");
	o.checked_domain = NULL;
	render(&o, NULL, &r);
	/* RFC 7601 §2.2: the propspec may be omitted when there is nothing to report. */
	assert_string_equal(r.method, "spf=none (domain of unknown does not designate "
	    "permitted sender hosts)");
}

/* The receiver argument overrides outcome->receiver; the authserv-id likewise. */
static void test_receiver_argument(void **state)
{
	(void)state;
	struct spf_outcome o = base(SPF_RESULT_SOFTFAIL);
	struct rendered r;
	render(&o, "gate.example.org", &r);
	assert_string_equal(r.rspf, RSPF_HEAD "softfail (gate.example.org: domain of "
	    "transitioning alice@example.com does not designate 192.0.2.10 as permitted "
	    "sender) client-ip=192.0.2.10; envelope-from=\"alice@example.com\"; "
	    "helo=mail.example.com; receiver=gate.example.org; identity=mailfrom; "
	    "mechanism=~all");
	assert_true(strncmp(r.ar, "Authentication-Results: gate.example.org; spf=softfail (",
	    56) == 0);
	render(&o, "", &r);
	assert_non_null(strstr(r.rspf, "receiver=mx.receiver.example;"));
}

/* ------------------------------------------------------------ hostile input */

/* CRLF in the sender cannot start a new header field. */
static void test_crlf_in_sender(void **state)
{
	(void)state;
	struct spf_outcome o = base(SPF_RESULT_FAIL);
	o.sender = "evil\r\nX-Injected: yes@example.com";
	struct rendered r;
	render(&o, NULL, &r);
	assert_string_equal(r.rspf, RSPF_HEAD "fail (mx.receiver.example: domain of "
	    "evil\\\\x0d\\\\x0aX-Injected: yes@example.com does not designate 192.0.2.10 as "
	    "permitted sender) client-ip=192.0.2.10; "
	    "envelope-from=\"evil\\\\x0d\\\\x0aX-Injected: yes@example.com\"; "
	    "helo=mail.example.com; receiver=mx.receiver.example; identity=mailfrom; "
	    "mechanism=-all");
	assert_header_safe(r.rspf);
	assert_header_safe(r.ar);
}

/* CRLF and "; key=" in the HELO stay inside a quoted-string. */
static void test_crlf_in_helo(void **state)
{
	(void)state;
	struct spf_outcome o = base(SPF_RESULT_PASS);
	o.helo = "x\r\n\tReceived-SPF: pass; receiver=evil";
	struct rendered r;
	render(&o, NULL, &r);
	assert_non_null(strstr(r.rspf, "; helo=\"x\\\\x0d\\\\x0a\\\\x09Received-SPF: pass; "
	    "receiver=evil\"; receiver=mx.receiver.example; identity=mailfrom; "));
	assert_header_safe(r.rspf);

	o.identity = SPF_IDENTITY_HELO;
	o.checked_domain = o.helo;
	render(&o, NULL, &r);
	assert_string_equal(r.method, "spf=pass (domain of x\\\\x0d\\\\x0a\\\\x09Received-SPF: "
	    "pass; receiver=evil designates 192.0.2.10 as permitted sender) "
	    "smtp.helo=\"x\\\\x0d\\\\x0a\\\\x09Received-SPF: pass; receiver=evil\"");
	assert_header_safe(r.ar);
}

/* The problem text comes from DNS: CRLF, quotes and backslashes. */
static void test_crlf_quotes_in_problem(void **state)
{
	(void)state;
	struct spf_outcome o = base(SPF_RESULT_PERMERROR);
	o.problem = "bad \"term\" \\x\r\nX-Evil: 1";
	struct rendered r;
	render(&o, NULL, &r);
	assert_non_null(strstr(r.rspf, "; problem=\"bad \\\"term\\\" \\\\x\\\\x0d\\\\x0aX-Evil: "
	    "1\""));
	assert_string_equal(r.method, "spf=permerror (permanent error in processing domain "
	    "of alice@example.com) reason=\"bad \\\"term\\\" \\\\x\\\\x0d\\\\x0aX-Evil: 1\" "
	    "smtp.mailfrom=example.com");
	assert_header_safe(r.rspf);
}

/* Quotes and parentheses: comments quote ( ) \, quoted-strings quote " \. */
static void test_quotes_and_parens(void **state)
{
	(void)state;
	struct spf_outcome o = base(SPF_RESULT_PASS);
	o.sender = "\"john (x) \\doe\"@example.com";
	o.helo = "helo(evil)";
	o.mechanism = "a:(\"x\")";
	struct rendered r;
	render(&o, "rcv) (x", &r);
	assert_string_equal(r.rspf, RSPF_HEAD "pass (rcv\\) \\(x: domain of "
	    "\"john \\(x\\) \\\\doe\"@example.com designates 192.0.2.10 as permitted sender) "
	    "client-ip=192.0.2.10; envelope-from=\"\\\"john (x) \\\\doe\\\"@example.com\"; "
	    "helo=\"helo(evil)\"; receiver=\"rcv) (x\"; identity=mailfrom; "
	    "mechanism=\"a:(\\\"x\\\")\"");
	assert_string_equal(r.ar, "Authentication-Results: \"rcv) (x\"; spf=pass (domain of "
	    "\"john \\(x\\) \\\\doe\"@example.com designates 192.0.2.10 as permitted sender) "
	    "smtp.mailfrom=example.com");
}

/* 8-bit bytes (UTF-8 or not) are escaped, never passed through. */
static void test_8bit(void **state)
{
	(void)state;
	struct spf_outcome o = base(SPF_RESULT_NEUTRAL);
	o.sender = "j\xc3\xb6rg@b\xfc" "cher.example";
	o.checked_domain = "b\xfc" "cher.example";
	o.helo = "\x80\xff";
	o.mechanism = NULL;
	struct rendered r;
	render(&o, NULL, &r);
	assert_string_equal(r.rspf, RSPF_HEAD "neutral (mx.receiver.example: 192.0.2.10 is "
	    "neither permitted nor denied by domain of j\\\\xc3\\\\xb6rg@b\\\\xfccher.example) "
	    "client-ip=192.0.2.10; envelope-from=\"j\\\\xc3\\\\xb6rg@b\\\\xfccher.example\"; "
	    "helo=\"\\\\x80\\\\xff\"; receiver=mx.receiver.example; identity=mailfrom; "
	    "mechanism=default");
	assert_string_equal(r.method, "spf=neutral (192.0.2.10 is neither permitted nor "
	    "denied by domain of j\\\\xc3\\\\xb6rg@b\\\\xfccher.example) "
	    "smtp.mailfrom=\"b\\\\xfccher.example\"");
	assert_header_safe(r.rspf);
	assert_header_safe(r.ar);
}

/* Values that are not dot-atoms / domain-names are quoted; odd but safe ones are not. */
static void test_value_forms(void **state)
{
	(void)state;
	struct spf_outcome o = base(SPF_RESULT_PASS);
	struct rendered r;

	o.helo = "[192.0.2.1]";
	render(&o, NULL, &r);
	assert_non_null(strstr(r.rspf, "; helo=\"[192.0.2.1]\";"));
	o.helo = ".example.com";
	render(&o, NULL, &r);
	assert_non_null(strstr(r.rspf, "; helo=\".example.com\";"));
	o.helo = "example..com";
	render(&o, NULL, &r);
	assert_non_null(strstr(r.rspf, "; helo=\"example..com\";"));
	o.helo = "example.com.";
	render(&o, NULL, &r);
	assert_non_null(strstr(r.rspf, "; helo=\"example.com.\";"));
	o.helo = "_x.ex-ample.com";
	render(&o, NULL, &r);
	assert_non_null(strstr(r.rspf, "; helo=_x.ex-ample.com;"));

	/* Authentication-Results: a DKIM domain-name or a MIME token goes bare. */
	o.identity = SPF_IDENTITY_HELO;
	o.checked_domain = "_x.ex-ample.com";
	render(&o, NULL, &r);
	assert_non_null(strstr(r.method, " smtp.helo=_x.ex-ample.com"));
	o.checked_domain = "[192.0.2.1]";
	render(&o, NULL, &r);
	assert_non_null(strstr(r.method, " smtp.helo=\"[192.0.2.1]\""));
	o.checked_domain = "a b.example";
	render(&o, NULL, &r);
	assert_non_null(strstr(r.method, " smtp.helo=\"a b.example\""));
	o.checked_domain = "x;spf=pass";
	render(&o, "id;x", &r);
	assert_string_equal(r.ar, "Authentication-Results: \"id;x\"; spf=pass (domain of "
	    "_x.ex-ample.com designates 192.0.2.10 as permitted sender) "
	    "smtp.helo=\"x;spf=pass\"");
}

/* ------------------------------------------------------------ length */

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);
	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* 2000-byte values everywhere: the header stays one safe line below 998 characters,
 * and each value is cut inside its quotes with "...". */
static void test_long_values(void **state)
{
	(void)state;
	char *big = repeat('a', 2000);
	char *ctl = repeat('\n', 2000);
	char *sender = repeat('b', 2000);
	sender[1000] = '@';
	const char *fills[] = { big, ctl };
	for (size_t k = 0; k < 2; k++) {
		for (unsigned i = 0; i < SPF_RESULT_COUNT; i++) {
			struct spf_outcome o = base((enum spf_result)i);
			o.sender = k == 0 ? sender : ctl;
			o.helo = fills[k];
			o.checked_domain = fills[k];
			o.mechanism = fills[k];
			o.problem = fills[k];
			struct rendered r;
			render(&o, fills[k], &r);
			assert_header_safe(r.rspf);
			assert_header_safe(r.ar);
			assert_non_null(strstr(r.rspf, "...\"; receiver=\""));
			assert_non_null(strstr(r.rspf, "...\"; identity="));
			assert_non_null(strstr(r.ar, " smtp.mailfrom=\""));
			size_t n = strlen(r.ar);
			assert_true(n > 4);
			assert_string_equal(r.ar + n - 4, "...\"");
		}
	}
	free(big);
	free(ctl);
	free(sender);
}

/* Cuts happen at whole escapes: cap 160 for problem= leaves 155 bytes for 31 escapes of
 * 5 bytes, then "...". */
static void test_truncation_exact(void **state)
{
	(void)state;
	char *ctl = repeat('\x01', 200);
	struct spf_outcome o = base(SPF_RESULT_PERMERROR);
	o.problem = ctl;
	struct rendered r;
	render(&o, NULL, &r);
	char expect[400];
	size_t el = 0;
	memcpy(expect, "; problem=\"", 11);
	el = 11;
	for (int i = 0; i < 31; i++, el += 5)
		memcpy(expect + el, "\\\\x01", 5);
	memcpy(expect + el, "...\"", 5);
	const char *p = strstr(r.rspf, "; problem=");
	assert_non_null(p);
	assert_string_equal(p, expect);

	/* A value exactly at its cap is not cut: 158 'a' inside quotes. */
	char *a158 = repeat('a', 158);
	a158[0] = ' ';
	o.problem = a158;
	render(&o, NULL, &r);
	p = strstr(r.rspf, "; problem=\"");
	assert_non_null(p);
	assert_int_equal(strlen(p), strlen("; problem=\"") + 158 + 1);
	assert_memory_equal(p + 11, a158, 158);
	/* One more byte and it is cut to 155 + "...". */
	char *a159 = repeat('a', 159);
	a159[0] = ' ';
	o.problem = a159;
	render(&o, NULL, &r);
	p = strstr(r.rspf, "; problem=\"");
	assert_non_null(p);
	assert_int_equal(strlen(p), strlen("; problem=\"") + 158 + 1);
	assert_memory_equal(p + 11, a159, 155);
	assert_string_equal(p + 11 + 155, "...\"");
	free(ctl);
	free(a158);
	free(a159);
}

/* ------------------------------------------------------------ capacity */

typedef int render_fn(const struct spf_outcome *o, char *buf, size_t cap);

static int rspf_fn(const struct spf_outcome *o, char *buf, size_t cap)
{
	return spf_header_received_spf(o, NULL, buf, cap);
}

static int ar_fn(const struct spf_outcome *o, char *buf, size_t cap)
{
	return spf_header_auth_results(o, NULL, buf, cap);
}

/* Every capacity below length + 1 gives SPF_ELIMIT; each buffer is malloc'ed at its
 * exact size so that ASan catches any write past it. */
static void check_caps(render_fn *fn, const struct spf_outcome *o)
{
	char full[SPF_HEADER_MAX];
	int len = fn(o, full, sizeof(full));
	assert_true(len > 0);
	for (size_t cap = 0; cap <= (size_t)len + 1; cap++) {
		char *b = malloc(cap ? cap : 1);
		assert_non_null(b);
		int rc = fn(o, b, cap);
		if (cap <= (size_t)len) {
			assert_int_equal(rc, SPF_ELIMIT);
		} else {
			assert_int_equal(rc, len);
			assert_string_equal(b, full);
		}
		free(b);
	}
}

static void test_cap_too_small(void **state)
{
	(void)state;
	for (unsigned i = 0; i < SPF_RESULT_COUNT; i++) {
		struct spf_outcome o = base((enum spf_result)i);
		o.sender = "evil\r\n\"x\"@example.com";
		check_caps(rspf_fn, &o);
		check_caps(spf_header_ar_method, &o);
		check_caps(ar_fn, &o);
	}
	char b[8];
	struct spf_outcome o = base(SPF_RESULT_PASS);
	assert_int_equal(spf_header_received_spf(&o, NULL, NULL, 100), SPF_ELIMIT);
	assert_int_equal(spf_header_received_spf(&o, NULL, b, sizeof(b)), SPF_ELIMIT);
	assert_int_equal(b[0], '\0');
	assert_int_equal(spf_header_received_spf(NULL, NULL, b, sizeof(b)), SPF_EINVAL);
	assert_int_equal(spf_header_ar_method(NULL, b, sizeof(b)), SPF_EINVAL);
	assert_int_equal(spf_header_auth_results(NULL, "x", b, sizeof(b)), SPF_EINVAL);
}

/* SPF_HEADER_MAX always suffices, for the worst inputs. */
static void test_header_max_suffices(void **state)
{
	(void)state;
	char *ctl = repeat('"', 5000);
	struct spf_outcome o = base(SPF_RESULT_PERMERROR);
	o.sender = o.helo = o.checked_domain = o.mechanism = o.problem = ctl;
	char b[SPF_HEADER_MAX];
	assert_true(spf_header_received_spf(&o, ctl, b, sizeof(b)) > 0);
	assert_true(spf_header_auth_results(&o, ctl, b, sizeof(b)) > 0);
	assert_true(spf_header_ar_method(&o, b, sizeof(b)) > 0);
	free(ctl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pass),
		cmocka_unit_test(test_fail),
		cmocka_unit_test(test_softfail),
		cmocka_unit_test(test_neutral),
		cmocka_unit_test(test_neutral_default),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_temperror),
		cmocka_unit_test(test_permerror),
		cmocka_unit_test(test_error_without_problem),
		cmocka_unit_test(test_helo_identity),
		cmocka_unit_test(test_helo_all_results),
		cmocka_unit_test(test_ipv6_client),
		cmocka_unit_test(test_null_sender_and_empty_helo),
		cmocka_unit_test(test_receiver_argument),
		cmocka_unit_test(test_crlf_in_sender),
		cmocka_unit_test(test_crlf_in_helo),
		cmocka_unit_test(test_crlf_quotes_in_problem),
		cmocka_unit_test(test_quotes_and_parens),
		cmocka_unit_test(test_8bit),
		cmocka_unit_test(test_value_forms),
		cmocka_unit_test(test_long_values),
		cmocka_unit_test(test_truncation_exact),
		cmocka_unit_test(test_cap_too_small),
		cmocka_unit_test(test_header_max_suffices),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
