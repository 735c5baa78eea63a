/*
 * policy.h - the Postfix policy delegation protocol: requests (SMTPD_POLICY_README).
 *
 * A request is a sequence of "name=value" lines ended by an empty line.  The parser
 * takes one line at a time (the reader splits at "\n" and enforces the line cap
 * before a line is complete), keeps the attributes spfgated uses and ignores the
 * others, in any order; a repeated attribute keeps its last value.
 *
 * Caps (struct policy_limits): bytes per line, attributes per request, bytes per
 * request.  Going over one, a line without '=', an empty name, a NUL byte, or a
 * request without "request=" is an error: the caller logs the reason and closes the
 * connection (Postfix then applies its default action and retries).
 *
 * Memory: the parser allocates nothing.  Values are copied into the store given to
 * policy_init(), which must hold max_request bytes; every pointer in the request
 * points into it and stays valid until policy_reset().
 */
#ifndef SPFGATED_POLICY_H
#define SPFGATED_POLICY_H

#include <stdbool.h>
#include <stddef.h>

struct policy_limits {
	size_t max_line;       /* bytes, without the "\n" */
	size_t max_attributes;
	size_t max_request;    /* bytes, every line with its "\n" */
};

enum policy_attr {
	PA_REQUEST,
	PA_PROTOCOL_STATE,
	PA_PROTOCOL_NAME,
	PA_HELO_NAME,
	PA_QUEUE_ID,
	PA_SENDER,
	PA_RECIPIENT,
	PA_CLIENT_ADDRESS,
	PA_CLIENT_NAME,
	PA_REVERSE_CLIENT_NAME,
	PA_INSTANCE,
	PA_SASL_METHOD,
	PA_SASL_USERNAME,
	PA_COUNT
};

struct policy_request {
	const char *attr[PA_COUNT]; /* NULL when absent; NUL-terminated otherwise */
	size_t nattrs;              /* attribute lines so far, known or not */
	size_t size;                /* bytes so far, "\n" included */
	char *store;
	size_t store_len, store_cap;
};

enum policy_status {
	POLICY_MORE,  /* line taken; the request goes on */
	POLICY_DONE,  /* empty line: the request is complete and valid */
	POLICY_ERROR, /* *why says what is wrong; the request is unusable */
};

void policy_init(struct policy_request *r, char *store, size_t cap);
/* Forgets the request (for the next one on the same connection). */
void policy_reset(struct policy_request *r);
/* Takes one line (len bytes, without "\n"; a trailing "\r" is dropped). */
enum policy_status policy_line(struct policy_request *r, const struct policy_limits *lim,
    const char *line, size_t len, const char **why);

/* A value, or "" when the attribute is absent. */
static inline const char *policy_get(const struct policy_request *r, enum policy_attr a)
{
	return r->attr[a] ? r->attr[a] : "";
}

/* The attribute's name ("client_address"). */
const char *policy_attr_name(enum policy_attr a);

#endif
