/*
 * test_sys.c - lib/sys.c: diagnostics, and function tables filled by dlopen().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sys.h"

struct table {
	bool loaded;
	pid_t (*getpid)(void);
	size_t (*strlen)(const char *);
};

static void test_seterr(void **state)
{
	(void)state;
	char err[8];
	spf_seterr(err, sizeof(err), "%s %d", "abcdef", 42);
	assert_string_equal(err, "abcdef "); /* cut short, terminated */
	spf_seterr(NULL, 10, "x");            /* nothing to write into */
	spf_seterr(err, 0, "x");
	assert_string_equal(err, "abcdef ");
}

static void test_dlopen_table(void **state)
{
	(void)state;
	static const struct spf_dlsym syms[] = {
		{ "getpid", offsetof(struct table, getpid) },
		{ "strlen", offsetof(struct table, strlen) },
	};
	struct table t = { 0 };
	char err[256] = "";
	assert_true(spf_dlopen_table("libc.so.6", syms, 2, &t, sizeof(t), err, sizeof(err)));
	assert_non_null(t.getpid);
	assert_int_equal(t.getpid(), getpid());
	assert_int_equal(t.strlen("spfgate"), 7);
}

static void test_dlopen_missing_library(void **state)
{
	(void)state;
	static const struct spf_dlsym syms[] = { { "getpid", offsetof(struct table, getpid) } };
	struct table t = { 0 };
	char err[256] = "";
	assert_false(spf_dlopen_table("libspfgate-none.so.9", syms, 1, &t, sizeof(t), err,
	    sizeof(err)));
	assert_non_null(strstr(err, "cannot load libspfgate-none.so.9"));
	assert_null(t.getpid);
}

static void test_dlopen_missing_symbol(void **state)
{
	(void)state;
	static const struct spf_dlsym syms[] = {
		{ "getpid", offsetof(struct table, getpid) },
		{ "spfgate_no_such_function", offsetof(struct table, strlen) },
	};
	struct table t = { 0 };
	char err[256] = "";
	assert_false(spf_dlopen_table("libc.so.6", syms, 2, &t, sizeof(t), err, sizeof(err)));
	assert_string_equal(err, "libc.so.6: no symbol spfgate_no_such_function");
	assert_null(t.getpid); /* untouched: all or nothing */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seterr),
		cmocka_unit_test(test_dlopen_table),
		cmocka_unit_test(test_dlopen_missing_library),
		cmocka_unit_test(test_dlopen_missing_symbol),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
