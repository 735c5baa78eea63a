/*
 * policy.c - parser for Postfix policy delegation requests (SMTPD_POLICY_README).
 *
 * Entry points: policy_init(), policy_line(), policy_reset().  One line at a time,
 * no allocation: values are appended to a store of max_request bytes owned by the
 * caller.  Because every byte stored came from a line counted against max_request,
 * the store cannot overflow; the put is still checked (compare before subtracting).
 *
 * What counts as malformed, per the README: a name must not contain "=", NUL or
 * newline, a value must not contain NUL or newline.  We also refuse an empty name
 * and a line without "=".  Everything else is accepted; unknown names are ignored.
 */
#include <stdbool.h>
#include <string.h>

#include "policy.h"

/* The names, with their lengths so that a line is matched without strlen(). */
#define N(s) { s, sizeof(s) - 1 }
static const struct {
	const char *s;
	size_t len;
} names[PA_COUNT] = {
	[PA_REQUEST] = N("request"),
	[PA_PROTOCOL_STATE] = N("protocol_state"),
	[PA_PROTOCOL_NAME] = N("protocol_name"),
	[PA_HELO_NAME] = N("helo_name"),
	[PA_QUEUE_ID] = N("queue_id"),
	[PA_SENDER] = N("sender"),
	[PA_RECIPIENT] = N("recipient"),
	[PA_CLIENT_ADDRESS] = N("client_address"),
	[PA_CLIENT_NAME] = N("client_name"),
	[PA_REVERSE_CLIENT_NAME] = N("reverse_client_name"),
	[PA_INSTANCE] = N("instance"),
	[PA_SASL_METHOD] = N("sasl_method"),
	[PA_SASL_USERNAME] = N("sasl_username"),
};
#undef N

/*
 * The attributes by name length (today at most two share one; room for four): a
 * line is compared with these only, not with every name.  Filled from names[] at the first call, so the
 * two tables cannot disagree.  Entries are attribute + 1; 0 is none.
 */
#define BYLEN_MAX 32
#define BYLEN_SLOTS 4
static unsigned char bylen[BYLEN_MAX][BYLEN_SLOTS];
static bool bylen_ready;

static void bylen_init(void)
{
	for (unsigned a = 0; a < PA_COUNT; a++) {
		unsigned char *slot = bylen[names[a].len];
		int k = 0;
		while (slot[k])
			k++;
		slot[k] = (unsigned char)(a + 1);
	}
	bylen_ready = true;
}

const char *policy_attr_name(enum policy_attr a)
{
	return (unsigned)a < PA_COUNT ? names[a].s : "?";
}

void policy_init(struct policy_request *r, char *store, size_t cap)
{
	memset(r, 0, sizeof(*r));
	r->store = store;
	r->store_cap = cap;
}

void policy_reset(struct policy_request *r)
{
	char *store = r->store;
	size_t cap = r->store_cap;
	policy_init(r, store, cap);
}

enum policy_status policy_line(struct policy_request *r, const struct policy_limits *lim,
    const char *line, size_t len, const char **why)
{
	if (len > lim->max_line) {
		*why = "line too long";
		return POLICY_ERROR;
	}
	/* Count the line with its "\n" against the request cap. */
	if (r->size > lim->max_request || len + 1 > lim->max_request - r->size) {
		*why = "request too large";
		return POLICY_ERROR;
	}
	r->size += len + 1;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0) {
		if (r->nattrs == 0) {
			*why = "empty request";
			return POLICY_ERROR;
		}
		if (r->attr[PA_REQUEST] == NULL) {
			*why = "request without the \"request\" attribute";
			return POLICY_ERROR;
		}
		return POLICY_DONE;
	}
	if (memchr(line, '\0', len) != NULL) {
		*why = "NUL byte in an attribute";
		return POLICY_ERROR;
	}
	const char *eq = memchr(line, '=', len);
	if (eq == NULL) {
		*why = "attribute line without '='";
		return POLICY_ERROR;
	}
	if (eq == line) {
		*why = "attribute with an empty name";
		return POLICY_ERROR;
	}
	if (++r->nattrs > lim->max_attributes) {
		*why = "too many attributes";
		return POLICY_ERROR;
	}
	size_t nlen = (size_t)(eq - line);
	const char *val = eq + 1;
	size_t vlen = len - nlen - 1;
	if (!bylen_ready)
		bylen_init();
	for (int k = 0; nlen < BYLEN_MAX && k < BYLEN_SLOTS && bylen[nlen][k]; k++) {
		unsigned a = bylen[nlen][k] - 1u;
		if (names[a].s[0] != line[0] || memcmp(names[a].s, line, nlen) != 0)
			continue;
		if (vlen + 1 > r->store_cap - r->store_len) {
			*why = "request too large";
			return POLICY_ERROR;
		}
		char *dst = r->store + r->store_len;
		memcpy(dst, val, vlen);
		dst[vlen] = '\0';
		r->store_len += vlen + 1;
		r->attr[a] = dst; /* a repeated attribute: the last one wins */
		break;
	}
	return POLICY_MORE;
}
