/*
 * test_policy.c - unit tests of daemon/policy.c: the policy request parser.
 * Attributes in any order, unknown ones ignored, the last of a repeated one kept,
 * every cap exactly at and one past its limit, and every malformed line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"

static const struct policy_limits lim = { 64, 8, 256 };
static char store[256];
static struct policy_request req;
static const char *why;

static enum policy_status feed(const char *line)
{
	why = NULL;
	return policy_line(&req, &lim, line, strlen(line), &why);
}

static int setup(void **state)
{
	(void)state;
	policy_init(&req, store, sizeof(store));
	return 0;
}

static void test_basic(void **state)
{
	(void)state;
	assert_int_equal(feed("instance=12.34"), POLICY_MORE);
	assert_int_equal(feed("unknown_future_attr=whatever=x"), POLICY_MORE);
	assert_int_equal(feed("client_address=192.0.2.1"), POLICY_MORE);
	assert_int_equal(feed("sender="), POLICY_MORE);
	assert_int_equal(feed("request=smtpd_access_policy"), POLICY_MORE);
	assert_int_equal(feed("helo_name=a\r"), POLICY_MORE); /* CR dropped */
	assert_int_equal(feed(""), POLICY_DONE);
	assert_string_equal(policy_get(&req, PA_REQUEST), "smtpd_access_policy");
	assert_string_equal(policy_get(&req, PA_INSTANCE), "12.34");
	assert_string_equal(policy_get(&req, PA_CLIENT_ADDRESS), "192.0.2.1");
	assert_non_null(req.attr[PA_SENDER]);
	assert_string_equal(policy_get(&req, PA_SENDER), "");
	assert_null(req.attr[PA_QUEUE_ID]);
	assert_string_equal(policy_get(&req, PA_QUEUE_ID), "");
	assert_string_equal(policy_get(&req, PA_HELO_NAME), "a");
	assert_int_equal(req.nattrs, 6);

	/* Reset: the next request starts empty. */
	policy_reset(&req);
	assert_null(req.attr[PA_REQUEST]);
	assert_int_equal(req.size, 0);
}

static void test_repeated_keeps_last(void **state)
{
	(void)state;
	feed("request=smtpd_access_policy");
	feed("sender=a@x");
	feed("sender=b@y");
	assert_int_equal(feed(""), POLICY_DONE);
	assert_string_equal(policy_get(&req, PA_SENDER), "b@y");
}

static void test_value_with_equals(void **state)
{
	(void)state;
	feed("request=smtpd_access_policy");
	assert_int_equal(feed("sender=a=b@x"), POLICY_MORE);
	assert_int_equal(feed(""), POLICY_DONE);
	assert_string_equal(policy_get(&req, PA_SENDER), "a=b@x");
}

static void test_malformed(void **state)
{
	(void)state;
	assert_int_equal(feed("no equals sign"), POLICY_ERROR);
	assert_string_equal(why, "attribute line without '='");
	policy_reset(&req);
	assert_int_equal(feed("=value"), POLICY_ERROR);
	assert_string_equal(why, "attribute with an empty name");
	policy_reset(&req);
	assert_int_equal(policy_line(&req, &lim, "a=b\0c", 5, &why), POLICY_ERROR);
	assert_string_equal(why, "NUL byte in an attribute");
	policy_reset(&req);
	assert_int_equal(feed(""), POLICY_ERROR);
	assert_string_equal(why, "empty request");
	policy_reset(&req);
	feed("sender=a@b");
	assert_int_equal(feed(""), POLICY_ERROR);
	assert_string_equal(why, "request without the \"request\" attribute");
}

static void test_line_cap(void **state)
{
	(void)state;
	char line[80];
	memset(line, 'x', sizeof(line));
	memcpy(line, "a=", 2);
	/* exactly max_line bytes: fine */
	assert_int_equal(policy_line(&req, &lim, line, 64, &why), POLICY_MORE);
	/* one more: refused */
	assert_int_equal(policy_line(&req, &lim, line, 65, &why), POLICY_ERROR);
	assert_string_equal(why, "line too long");
}

static void test_attribute_cap(void **state)
{
	(void)state;
	for (int i = 0; i < 8; i++)
		assert_int_equal(feed("x=y"), POLICY_MORE);
	assert_int_equal(feed("x=y"), POLICY_ERROR);
	assert_string_equal(why, "too many attributes");
}

static void test_request_cap(void **state)
{
	(void)state;
	/* 256 bytes in all: four lines of 63 + "\n" = 256 exactly, then nothing more. */
	char line[64];
	memset(line, 'v', 63);
	memcpy(line, "sender=", 7);
	line[63] = '\0';
	for (int i = 0; i < 4; i++)
		assert_int_equal(feed(line), POLICY_MORE);
	assert_int_equal(req.size, 256);
	assert_int_equal(feed(""), POLICY_ERROR); /* even the empty line is over */
	assert_string_equal(why, "request too large");
}

static void test_store_never_overflows(void **state)
{
	(void)state;
	/* A store smaller than max_request: the put is checked on its own. */
	char small[16];
	struct policy_request r;
	policy_init(&r, small, sizeof(small));
	assert_int_equal(policy_line(&r, &lim, "sender=0123456789abcdef", 23, &why),
	    POLICY_ERROR);
	assert_string_equal(why, "request too large");
	assert_int_equal(policy_line(&r, &lim, "x=0123456789abcdefghij", 22, &why),
	    POLICY_MORE); /* unknown: not stored */
	assert_int_equal(policy_line(&r, &lim, "sender=0123456", 14, &why), POLICY_MORE);
	assert_string_equal(policy_get(&r, PA_SENDER), "0123456");
}

/* Random lines: never a crash, never a value outside the store, every stored value
 * NUL-terminated within it. */
static void test_random_lines(void **state)
{
	(void)state;
	static const char *const names[] = { "request", "sender", "instance", "helo_name",
		"client_address", "x", "", "queue_id" };
	unsigned seed = 777;
	char line[128];
	for (int iter = 0; iter < 20000; iter++) {
		seed = seed * 1103515245u + 12345u;
		size_t n;
		if (seed & 0x10000) {
			const char *nm = names[(seed >> 17) % 8];
			n = (size_t)snprintf(line, sizeof(line), "%s=%u", nm, seed % 100000);
		} else {
			n = (seed >> 17) % 80;
			for (size_t i = 0; i < n; i++) {
				seed = seed * 1103515245u + 12345u;
				line[i] = (char)(seed >> 16);
			}
		}
		enum policy_status st = policy_line(&req, &lim, line, n, &why);
		for (int a = 0; a < PA_COUNT; a++) {
			if (req.attr[a] == NULL)
				continue;
			assert_true(req.attr[a] >= store && req.attr[a] < store + sizeof(store));
			assert_non_null(memchr(req.attr[a], '\0',
			    (size_t)(store + sizeof(store) - req.attr[a])));
		}
		if (st != POLICY_MORE)
			policy_reset(&req);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_basic, setup),
		cmocka_unit_test_setup(test_repeated_keeps_last, setup),
		cmocka_unit_test_setup(test_value_with_equals, setup),
		cmocka_unit_test_setup(test_malformed, setup),
		cmocka_unit_test_setup(test_line_cap, setup),
		cmocka_unit_test_setup(test_attribute_cap, setup),
		cmocka_unit_test_setup(test_request_cap, setup),
		cmocka_unit_test_setup(test_store_never_overflows, setup),
		cmocka_unit_test_setup(test_random_lines, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
