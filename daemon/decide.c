/*
 * decide.c - whitelists, enforcement lists, actions, reply texts and headers.
 *
 * Entry points: decide_whitelist(), decide_group(), decide_final(), decide_render(),
 * decide_headers(), decide_whitelist_headers(), decide_template_check().
 *
 * Everything written goes through a bounded output buffer (struct obuf) whose put
 * writes nothing and sets a sticky flag when space runs out: no length is computed in
 * one pass and used in another.  Every value that came from the network or DNS (the
 * sender, the HELO name, an exp= explanation, a problem text quoting a record) is
 * reduced to printable ASCII and capped before it reaches a reply or a header, so a
 * hostile record cannot break the policy protocol (no newline) or the SMTP reply.
 *
 * RFC 7208 §8 (results and what to do with them), RFC 7372 (enhanced status codes
 * X.7.23 and X.7.24), Postfix access(5) (reply actions).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "decide.h"

struct obuf {
	char *p;
	size_t len, cap; /* cap excludes the final NUL */
	bool overflow;
};

static void ob_init(struct obuf *b, char *p, size_t cap)
{
	b->p = p;
	b->len = 0;
	b->cap = cap ? cap - 1 : 0;
	b->overflow = cap == 0;
	if (cap)
		p[0] = '\0';
}

static void ob_put(struct obuf *b, const char *s, size_t n)
{
	if (b->overflow || n > b->cap - b->len) {
		b->overflow = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void ob_str(struct obuf *b, const char *s)
{
	ob_put(b, s, strlen(s));
}

/* As much of s as fits (for texts that may be cut: the reply's free text). */
static void ob_put_cut(struct obuf *b, const char *s, size_t n)
{
	if (b->overflow)
		return;
	if (n > b->cap - b->len)
		n = b->cap - b->len;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

char *decide_sanitize(const char *s, size_t max, const char *bad, char *out, size_t cap)
{
	size_t o = 0, i = 0;
	if (cap == 0)
		return out;
	for (; s && s[i] && i < max && o + 1 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		out[o++] = (c < 0x20 || c > 0x7e || (bad && strchr(bad, c))) ? '?' : (char)c;
	}
	if (s && s[i] && o + 4 <= cap) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

/* ---------------------------------------------------------------- templates */

static const char *const placeholders[] = {
	"result", "identity", "domain", "sender", "helo", "client", "explanation",
	"problem", "reason", "mechanism", "receiver",
};
#define NPLACEHOLDERS (sizeof(placeholders) / sizeof(placeholders[0]))

/* Splits "[CODE ][X.Y.Z ]text": lengths of the code (0 or 3) and enhanced code. */
static void split_codes(const char *t, size_t *codelen, size_t *ehclen)
{
	*codelen = *ehclen = 0;
	if (isdigit((unsigned char)t[0]) && isdigit((unsigned char)t[1]) &&
	    isdigit((unsigned char)t[2]) && (t[3] == ' ' || t[3] == '\0'))
		*codelen = 3;
	const char *e = t + *codelen;
	while (*e == ' ')
		e++;
	/* X.Y.Z: class digit, 1-3 digits, 1-3 digits (RFC 3463). */
	const char *q = e;
	if (!isdigit((unsigned char)*q) || q[1] != '.')
		return;
	q += 2;
	for (int part = 0; part < 2; part++) {
		int n = 0;
		while (isdigit((unsigned char)*q) && n < 4) {
			q++;
			n++;
		}
		if (n == 0 || n > 3)
			return;
		if (part == 0 && *q++ != '.')
			return;
	}
	if (*q == ' ' || *q == '\0')
		*ehclen = (size_t)(q - e);
}

long decide_template_check(const char *t, enum action a, char *err, size_t cap)
{
	char cls = a == ACTION_BLOCK ? '5' : '4';
	size_t cl, el;
	split_codes(t, &cl, &el);
	if (cl == 0 && isdigit((unsigned char)t[0]) && isdigit((unsigned char)t[1]) &&
	    isdigit((unsigned char)t[2])) {
		snprintf(err, cap, "a reply code must be followed by a blank");
		return 3;
	}
	if (cl && t[0] != cls) {
		snprintf(err, cap, "a %s reply needs a %cxx code", action_name(a), cls);
		return 0;
	}
	const char *e = t + cl;
	while (*e == ' ')
		e++;
	if (el && *e != cls) {
		snprintf(err, cap, "a %s reply needs an enhanced code %c.X.Y", action_name(a), cls);
		return e - t;
	}
	for (const char *s = e + el; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f) {
			snprintf(err, cap, "control character in reply text");
			return s - t;
		}
		if (c != '%')
			continue;
		if (s[1] == '%') {
			s++;
			continue;
		}
		if (s[1] != '{') {
			snprintf(err, cap, "'%%' must start %%{name} or be written %%%%");
			return s - t;
		}
		const char *close = strchr(s, '}');
		size_t i, n = close ? (size_t)(close - s - 2) : 0;
		for (i = 0; close && i < NPLACEHOLDERS; i++)
			if (strlen(placeholders[i]) == n && strncmp(placeholders[i], s + 2, n) == 0)
				break;
		if (close == NULL || i == NPLACEHOLDERS) {
			snprintf(err, cap, "unknown placeholder \"%.*s\" (known: result, identity, "
			    "domain, sender, helo, client, explanation, problem, reason, mechanism, "
			    "receiver)", close ? (int)(close - s + 1) : (int)strlen(s), s);
			return s - t;
		}
		s = close;
	}
	return -1;
}

static const char *default_code(enum action a)
{
	return a == ACTION_BLOCK ? "550" : "451";
}

/* RFC 7372 §3.2: X.7.23 for an SPF fail, X.7.24 for an SPF error. */
static const char *default_ehc(enum action a, enum spf_result r)
{
	bool block = a == ACTION_BLOCK;
	switch (r) {
	case SPF_RESULT_FAIL: return block ? "5.7.23" : "4.7.23";
	case SPF_RESULT_PERMERROR:
	case SPF_RESULT_TEMPERROR: return block ? "5.7.24" : "4.7.24";
	default: return block ? "5.7.1" : "4.7.1";
	}
}

static const char *reason(const struct spf_outcome *o)
{
	switch (o->result) {
	case SPF_RESULT_FAIL:
		return o->explanation ? o->explanation : "the host is not authorized to send";
	case SPF_RESULT_SOFTFAIL: return "the domain discourages mail from this host";
	case SPF_RESULT_NEUTRAL: return "the domain makes no statement about this host";
	case SPF_RESULT_NONE: return "the domain publishes no SPF policy";
	case SPF_RESULT_PASS: return "the host is authorized, but local policy refuses it";
	case SPF_RESULT_TEMPERROR:
		return o->problem ? o->problem : "temporary DNS error; try again later";
	case SPF_RESULT_PERMERROR:
		return o->problem ? o->problem : "the domain's SPF record is invalid";
	}
	return "";
}

#define DEFAULT_TEMPLATE "SPF %{result} for %{identity} %{domain} from %{client}: %{reason}"

static const char *placeholder_value(const char *name, size_t n, const struct spf_outcome *o,
    char *tmp, size_t tcap)
{
#define IS(s) (strlen(s) == n && strncmp(name, (s), n) == 0)
	if (IS("result")) return spf_result_name(o->result);
	if (IS("identity")) return spf_identity_name(o->identity);
	if (IS("domain")) return o->checked_domain ? o->checked_domain : "";
	if (IS("sender")) return o->sender ? o->sender : "";
	if (IS("helo")) return o->helo ? o->helo : "";
	if (IS("client")) {
		if (spf_addr_format(&o->client, tmp, tcap) == 0)
			return "";
		return tmp;
	}
	if (IS("explanation")) return o->explanation ? o->explanation : "";
	if (IS("problem")) return o->problem ? o->problem : "";
	if (IS("reason")) return reason(o);
	if (IS("mechanism")) return o->mechanism ? o->mechanism : "";
	if (IS("receiver")) return o->receiver ? o->receiver : "";
#undef IS
	return "";
}

size_t decide_render(const char *tmpl, enum action a, const struct spf_outcome *o,
    char *out, size_t cap)
{
	struct obuf b;
	size_t cl, el;
	const char *t = tmpl && *tmpl ? tmpl : DEFAULT_TEMPLATE;

	ob_init(&b, out, cap < DECIDE_REPLY_MAX + 1 ? cap : DECIDE_REPLY_MAX + 1);
	split_codes(t, &cl, &el);
	if (cl)
		ob_put(&b, t, 3);
	else
		ob_str(&b, default_code(a));
	ob_put(&b, " ", 1);
	const char *e = t + cl;
	while (*e == ' ')
		e++;
	if (el)
		ob_put(&b, e, el);
	else
		ob_str(&b, default_ehc(a, o->result));
	const char *s = e + el;
	while (*s == ' ')
		s++;
	ob_put(&b, " ", 1);

	/* The free text may be cut at the reply cap; codes above always fit. */
	for (; *s && !b.overflow && b.len < b.cap; s++) {
		if (s[0] == '%' && s[1] == '%') {
			ob_put_cut(&b, "%", 1);
			s++;
		} else if (s[0] == '%' && s[1] == '{' && strchr(s, '}')) {
			const char *close = strchr(s, '}');
			char tmp[SPF_ADDR_TEXT_MAX], clean[DECIDE_PLACEHOLDER_MAX + 4];
			const char *v = placeholder_value(s + 2, (size_t)(close - s - 2), o,
			    tmp, sizeof(tmp));
			decide_sanitize(v, DECIDE_PLACEHOLDER_MAX, NULL, clean, sizeof(clean));
			ob_put_cut(&b, clean, strlen(clean));
			s = close;
		} else {
			unsigned char c = (unsigned char)*s;
			char ch = (c < 0x20 || c > 0x7e) ? '?' : (char)c;
			ob_put_cut(&b, &ch, 1);
		}
	}
	/* Trailing blanks (an empty last placeholder) would look odd: drop them. */
	while (b.len > 0 && b.p[b.len - 1] == ' ')
		b.p[--b.len] = '\0';
	return b.len;
}

/* ---------------------------------------------------------------- lists */

bool decide_suffix_match(const char *name, const char *suffix)
{
	size_t nl = strlen(name), sl = strlen(suffix);
	if (nl && name[nl - 1] == '.')
		nl--;
	if (sl && suffix[sl - 1] == '.')
		sl--;
	if (sl == 0 || nl < sl)
		return false;
	if (strncasecmp(name + nl - sl, suffix, sl) != 0)
		return false;
	return nl == sl || name[nl - sl - 1] == '.';
}

const char *decide_sender_domain(const char *sender)
{
	const char *at = sender ? strrchr(sender, '@') : NULL;
	return at ? at + 1 : "";
}

bool decide_whitelist(const struct config *c, const struct spf_addr *client,
    const char *sasl_username, const char *client_name, char *why, size_t cap)
{
	char net[SPF_ADDR_TEXT_MAX + 8], clean[DECIDE_PLACEHOLDER_MAX + 4];

	/* sasl_username is set by Postfix after AUTH: a forged MAIL FROM cannot do it. */
	if (c->wl_sasl && sasl_username && *sasl_username) {
		snprintf(why, cap, "authenticated client %s",
		    decide_sanitize(sasl_username, 64, "\"\\()", clean, sizeof(clean)));
		return true;
	}
	if (client && cidrlist_match(&c->wl_networks, client, net, sizeof(net))) {
		snprintf(why, cap, "client network %s", net);
		return true;
	}
	/* client_name is "unknown" unless Postfix found a PTR name whose A/AAAA records
	 * include the client address: it is forward-confirmed, not just claimed. */
	if (client_name && *client_name && strcmp(client_name, "unknown") != 0) {
		for (size_t i = 0; i < c->wl_client_names.n; i++) {
			if (decide_suffix_match(client_name, c->wl_client_names.v[i])) {
				snprintf(why, cap, "client host name %s",
				    decide_sanitize(client_name, 100, "\"\\()", clean, sizeof(clean)));
				return true;
			}
		}
	}
	return false;
}

const struct enforce_group *decide_group(const struct config *c, const char *sender_domain,
    const struct spf_addr *client)
{
	for (size_t g = 0; g < c->ngroups; g++) {
		const struct enforce_group *eg = &c->groups[g];
		for (size_t i = 0; sender_domain && *sender_domain && i < eg->domains.n; i++) {
			const char *d = eg->domains.v[i];
			if (d[0] == '*' && d[1] == '.') {
				/* strictly below: "*.example.com" does not match example.com */
				if (decide_suffix_match(sender_domain, d + 2) &&
				    strlen(sender_domain) > strlen(d + 2) + 1)
					return eg;
			} else {
				size_t dl = strlen(sender_domain);
				if (dl && sender_domain[dl - 1] == '.')
					dl--;
				if (dl == strlen(d) && strncasecmp(sender_domain, d, dl) == 0)
					return eg;
			}
		}
		if (client && cidrlist_match(&eg->networks, client, NULL, 0))
			return eg;
	}
	return NULL;
}

void decide_final(const struct config *c, const struct action_table *t,
    const struct spf_outcome *helo, const struct spf_outcome *mfrom, struct decision *d)
{
	enum action ah = helo ? decide_action(t, SPF_IDENTITY_HELO, helo->result) : ACTION_BYPASS;
	enum action am = mfrom ? decide_action(t, SPF_IDENTITY_MAILFROM, mfrom->result) :
	    ACTION_BYPASS;
	const struct spf_outcome *o;

	if (helo && (!mfrom || ah > am)) {
		d->action = ah;
		o = helo;
	} else {
		d->action = am;
		o = mfrom;
	}
	d->identity = o ? o->identity : SPF_IDENTITY_MAILFROM;
	d->result = o ? o->result : SPF_RESULT_NONE;
	if (d->action == ACTION_BYPASS || o == NULL) {
		d->action = ACTION_BYPASS;
		snprintf(d->reply, sizeof(d->reply), "DUNNO");
		return;
	}
	char text[DECIDE_REPLY_MAX + 1];
	int which = d->action == ACTION_BLOCK ? 0 : 1;
	decide_render(c->reply[which][o->result], d->action, o, text, sizeof(text));
	if (d->action == ACTION_TEMPBLOCK && c->tempblock_mode == TEMPBLOCK_DEFER_IF_PERMIT)
		/* access(5): DEFER_IF_PERMIT takes the text after the 3-digit code; Postfix
		 * puts $access_map_defer_code in front and keeps our enhanced code. */
		snprintf(d->reply, sizeof(d->reply), "DEFER_IF_PERMIT %s", text + 4);
	else
		snprintf(d->reply, sizeof(d->reply), "%s", text);
}

/* ---------------------------------------------------------------- headers */

/* A header line goes into one policy reply line: printable ASCII only, or nothing. */
static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

int decide_headers(const struct config *c, const char *receiver,
    const struct spf_outcome *helo, const struct spf_outcome *mfrom,
    char hdr[2][SPF_HEADER_MAX], size_t cap)
{
	int n = 0;
	const struct spf_outcome *main = mfrom ? mfrom : helo;

	if (main == NULL)
		return 0;
	if (c->header == HEADER_RECEIVED_SPF || c->header == HEADER_BOTH) {
		if (spf_header_received_spf(main, receiver, hdr[n], cap) > 0 && printable(hdr[n]))
			n++;
	}
	if (c->header == HEADER_AUTH_RESULTS || c->header == HEADER_BOTH) {
		struct obuf b;
		char m[SPF_HEADER_MAX];
		ob_init(&b, hdr[n], cap);
		ob_str(&b, "Authentication-Results: ");
		ob_str(&b, c->authserv_id ? c->authserv_id : receiver);
		/* RFC 7601 §2.2: several results in one field, separated by ";". */
		const struct spf_outcome *list[2] = { mfrom, helo };
		for (int i = 0; i < 2; i++) {
			if (list[i] == NULL || spf_header_ar_method(list[i], m, sizeof(m)) <= 0)
				continue;
			ob_str(&b, "; ");
			ob_str(&b, m);
		}
		if (!b.overflow && printable(hdr[n]))
			n++;
	}
	return n;
}

int decide_whitelist_headers(const struct config *c, const char *receiver, const char *why,
    const struct spf_addr *client, const char *sender, const char *helo,
    char hdr[2][SPF_HEADER_MAX], size_t cap)
{
	int n = 0;
	char ip[SPF_ADDR_TEXT_MAX] = "", s[DECIDE_PLACEHOLDER_MAX + 4], h[DECIDE_PLACEHOLDER_MAX + 4];
	char w[DECIDE_WHY_MAX + 4];
	const char *bad = "\"\\()";

	if (client)
		spf_addr_format(client, ip, sizeof(ip));
	decide_sanitize(why, DECIDE_WHY_MAX, bad, w, sizeof(w));
	decide_sanitize(sender ? sender : "", DECIDE_PLACEHOLDER_MAX, bad, s, sizeof(s));
	decide_sanitize(helo ? helo : "", DECIDE_PLACEHOLDER_MAX, bad, h, sizeof(h));
	if (c->header == HEADER_RECEIVED_SPF || c->header == HEADER_BOTH) {
		struct obuf b;
		ob_init(&b, hdr[n], cap);
		/* RFC 7208 §9.1 form; "none": no SPF policy was applied to this mail. */
		ob_str(&b, "Received-SPF: none (");
		ob_str(&b, receiver);
		ob_str(&b, ": SPF not checked: whitelisted ");
		ob_str(&b, w);
		ob_str(&b, ") client-ip=");
		ob_str(&b, ip);
		ob_str(&b, "; envelope-from=\"");
		ob_str(&b, s);
		ob_str(&b, "\"; helo=\"");
		ob_str(&b, h);
		ob_str(&b, "\"; receiver=");
		ob_str(&b, receiver);
		ob_str(&b, ";");
		if (!b.overflow)
			n++;
	}
	if (c->header == HEADER_AUTH_RESULTS || c->header == HEADER_BOTH) {
		struct obuf b;
		ob_init(&b, hdr[n], cap);
		ob_str(&b, "Authentication-Results: ");
		ob_str(&b, c->authserv_id ? c->authserv_id : receiver);
		ob_str(&b, "; spf=none reason=\"SPF not checked: whitelisted ");
		ob_str(&b, w);
		ob_str(&b, "\"");
		if (!b.overflow)
			n++;
	}
	return n;
}
