/*
 * decide.h - from request and SPF outcomes to the policy reply: pure functions.
 *
 * Whitelists that need no DNS (client networks, SASL, client host names), the
 * enforcement list a message falls into, the action per identity and result, the
 * reply texts with their placeholders, and the headers to prepend.  No I/O, no
 * clock, no globals: everything here is unit-tested (tests/daemon/test_decide.c).
 *
 * Reply templates ([replies] in spfgated.conf(5)):
 *	[CODE ][X.Y.Z ]text with %{placeholders}
 * CODE is a 5xx for block and a 4xx for tempblock; X.Y.Z an RFC 3463 enhanced code
 * of the same class.  Both may be left out: the defaults are RFC 7372's (550 5.7.23
 * for fail, 550 5.7.24 for permerror and temperror, 5.7.1 for the other results;
 * 451 4.7.24 / 4.7.23 / 4.7.1 for tempblock).  Placeholders: %{result} %{identity}
 * %{domain} %{sender} %{helo} %{client} %{explanation} %{problem} %{reason}
 * %{mechanism} %{receiver}, and %% for a percent sign.  Every value is reduced to
 * printable ASCII and capped (DECIDE_PLACEHOLDER_MAX); the reply to DECIDE_REPLY_MAX.
 */
#ifndef SPFGATED_DECIDE_H
#define SPFGATED_DECIDE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "spfgate/spfgate.h"

#define DECIDE_REPLY_MAX 512        /* an SMTP reply line (RFC 5321 §4.5.3.1.5) */
#define DECIDE_PLACEHOLDER_MAX 200  /* bytes one placeholder may add */
#define DECIDE_WHY_MAX 300

/*
 * Checks a reply template for action a.  Returns -1 when it is good, otherwise the
 * byte offset of the problem in t, with a message in err.
 */
long decide_template_check(const char *t, enum action a, char *err, size_t cap);

/*
 * The whitelists that need no DNS, in this order: authenticated client (sasl),
 * client network, client host name (Postfix's client_name, which Postfix has
 * forward-confirmed; "unknown" never matches) by label-boundary suffix.  Returns true
 * and writes why (printable, capped) when the request is whitelisted.
 */
bool decide_whitelist(const struct config *c, const struct spf_addr *client,
    const char *sasl_username, const char *client_name, char *why, size_t cap);

/* Does name equal suffix or end in "." + suffix?  (Case-insensitive, ignores a final
 * dot.)  "evilexample.com" does not match "example.com". */
bool decide_suffix_match(const char *name, const char *suffix);

/* The domain of a MAIL FROM address ("" for the null sender or no "@"). */
const char *decide_sender_domain(const char *sender);

/*
 * The first enforcement list (in file order) whose domains contain the sender
 * domain (exact, or "*.suffix" for names strictly below suffix) or whose networks
 * contain the client; NULL when none.
 */
const struct enforce_group *decide_group(const struct config *c, const char *sender_domain,
    const struct spf_addr *client);

static inline enum action decide_action(const struct action_table *t,
    enum spf_identity id, enum spf_result r)
{
	return (enum action)t->a[id][r];
}

/*
 * Renders the reply for action a (block or tempblock) and outcome o from template
 * tmpl (NULL: the default).  Writes "550 5.7.23 text" (or "451 4.7.24 text") into
 * out.  Returns the length.
 */
size_t decide_render(const char *tmpl, enum action a, const struct spf_outcome *o,
    char *out, size_t cap);

struct decision {
	enum action action;
	enum spf_identity identity; /* whose result decided the action */
	enum spf_result result;     /* that result */
	char reply[DECIDE_REPLY_MAX + 32]; /* the action= value ("DUNNO" for bypass) */
};

/*
 * Combines the outcomes of the identities checked (helo or mfrom may be NULL) with
 * the action table t: the more severe action wins, MAIL FROM on a tie.  The reply
 * for bypass is "DUNNO"; the caller replaces it by a PREPEND when it has a header.
 */
void decide_final(const struct config *c, const struct action_table *t,
    const struct spf_outcome *helo, const struct spf_outcome *mfrom, struct decision *d);

/*
 * The header lines to prepend for a checked message ("Name: value", no CRLF), as
 * configured: Received-SPF (the MAIL FROM outcome, or the HELO one when MAIL FROM was
 * not checked) and/or Authentication-Results (every identity checked).  Returns how
 * many were written into hdr[0..1] (each of cap bytes).
 */
int decide_headers(const struct config *c, const char *receiver,
    const struct spf_outcome *helo, const struct spf_outcome *mfrom,
    char hdr[2][SPF_HEADER_MAX], size_t cap);

/* The header lines for a whitelisted request: why SPF was not checked. */
int decide_whitelist_headers(const struct config *c, const char *receiver, const char *why,
    const struct spf_addr *client, const char *sender, const char *helo,
    char hdr[2][SPF_HEADER_MAX], size_t cap);

/* Copies s into out as printable ASCII: other bytes, and any of the bytes in bad,
 * become '?'; at most max bytes of s, "..." when cut.  Returns out. */
char *decide_sanitize(const char *s, size_t max, const char *bad, char *out, size_t cap);

#endif
