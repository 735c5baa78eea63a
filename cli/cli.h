/*
 * cli.h - what the files of the `spfgate` command share.
 *
 * spfgate.c has main() and dispatches commands; check.c is `spfgate check`; json.c is a
 * small JSON writer on stdio; util.c has the error reporting and the escaping that
 * keeps input from the command line or DNS from reaching a terminal raw.  Only the
 * public headers of libspfgate are used.
 */
#ifndef SPFGATE_CLI_H
#define SPFGATE_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses (documented in spfgate(1)). */
enum {
	EXIT_DONE = 0,        /* the evaluation completed, whatever the result */
	EXIT_INTERNAL = 1,    /* out of memory, resolver failure */
	EXIT_USAGE = 2,       /* bad input: options, arguments, zone files */
	/* With --exit-code, one status per result (pass stays 0). */
	EXIT_RESULT_FAIL = 3,
	EXIT_RESULT_SOFTFAIL = 4,
	EXIT_RESULT_NEUTRAL = 5,
	EXIT_RESULT_NONE = 6,
	EXIT_RESULT_TEMPERROR = 7,
	EXIT_RESULT_PERMERROR = 8,
};

/* `spfgate check ...`; argv[0] is "check".  Returns the exit status. */
int check_main(int argc, char **argv);
/* The option summary of `spfgate check`. */
void check_usage(FILE *f);

/* Prints "spfgate: " and the formatted message as one line on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Writes s to f with every byte outside printable ASCII as \xHH, so that neither the
 * command line nor DNS data can send control sequences to a terminal.  NULL writes
 * nothing.
 */
void cli_put_safe(FILE *f, const char *s);
/* The same into a caller's array (NUL-terminated, cut with "..." if needed). */
const char *cli_safe(const char *s, char *buf, size_t cap);
#define CLI_SAFE_MAX 256

/* A JSON writer on stdio: commas and escaping are its business, not the caller's. */
#define JSON_MAX_DEPTH 8
struct json {
	FILE *f;
	unsigned depth;
	bool first[JSON_MAX_DEPTH]; /* nothing written yet at this level */
	bool after_key;             /* a key was written; its value comes next */
};
void json_init(struct json *j, FILE *f);
void json_begin_object(struct json *j);
void json_end_object(struct json *j);
void json_begin_array(struct json *j);
void json_end_array(struct json *j);
void json_key(struct json *j, const char *key);
/* A string value (NULL writes null).  Valid UTF-8 passes through; control characters,
 * '"', '\' and bytes that are not valid UTF-8 are escaped as \u00XX or \" \\. */
void json_string(struct json *j, const char *s);
void json_uint(struct json *j, uint64_t v);
void json_int(struct json *j, int64_t v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);

#endif
