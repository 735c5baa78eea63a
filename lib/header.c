/*
 * header.c - Received-SPF and Authentication-Results rendering.
 *
 * Entry points: spf_header_received_spf(), spf_header_ar_method(),
 * spf_header_auth_results().  Each renders one outcome into the caller's array through
 * a struct spf_buf and returns the length, or SPF_ELIMIT when the array is too small;
 * nothing is allocated and the outcome is only read.
 *
 * Implements RFC 7208 §9.1 (Received-SPF, with erratum 5436: result, then an optional
 * comment, then an optional key-value list, each after white space) and the "spf"
 * method of RFC 7601 §2.2/§2.7.2 (ptype "smtp", property "mailfrom" or "helo").
 *
 * Hostile input.  Every string may come from the SMTP client or from DNS: the sender,
 * the HELO name, the term that decided, the problem text, even the receiver name the
 * caller passes.  No byte outside printable ASCII ever reaches the output; such bytes
 * are written as the four characters \xHH (the escape the traces and logs use), so the
 * field cannot be broken (no CR/LF), cannot be extended (no "; key=" outside quotes),
 * and stays 7-bit clean.  Values are written bare only when the grammar allows it (a
 * dot-atom in Received-SPF, a domain-name or MIME token in Authentication-Results);
 * anything else becomes a quoted-string with '"' and '\' quoted.  Comments quote '(',
 * ')' and '\'.  Each value has an output cap (VCAP_*): a longer one is cut at a whole
 * character or escape and ends in "...", always inside quotes, so a rendered header
 * stays well below the 998-character line limit of RFC 5322 §2.1.1 even when every
 * input is kilobytes long.
 *
 * Choices.  smtp.mailfrom carries the domain, not the whole address: RFC 7601 §2.7.2
 * says the local part SHOULD NOT be reported unless the policy authenticated it, and
 * SPF authorizes hosts for a domain.  Received-SPF carries envelope-from only for the
 * MAIL FROM identity (§9.1), mechanism= for the results a term (or the default)
 * decided, and problem= for temperror and permerror.  Authentication-Results carries
 * the same human comment as Received-SPF (without the receiver, which the
 * authserv-id already names) and, for the two errors, reason="problem".
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "spfgate/spfgate.h"

#include "buf.h"

/* Output caps, in bytes of the rendered value (quotes and escapes included).  Sized so
 * that the longest Received-SPF possible, with every value at its cap, is below 998. */
#define VCAP_RECEIVER 80
#define VCAP_SENDER 128
#define VCAP_HELO 128
#define VCAP_MECHANISM 128
#define VCAP_PROBLEM 160
#define VCAP_DOMAIN 256
#define VCAP_ADDR (SPF_ADDR_TEXT_MAX + 2)

/* How a value is written. */
enum style {
	S_QUOTED,  /* inside a quoted-string: '"' and '\' get a backslash */
	S_COMMENT, /* inside a comment: '(' ')' and '\' get a backslash */
};

static bool is_printable(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e;
}

static bool is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* RFC 5322 §3.2.3 atext. */
static bool is_atext(unsigned char c)
{
	if (is_alnum(c))
		return true;
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
	case '-': case '/': case '=': case '?': case '^': case '_': case '`': case '{':
	case '|': case '}': case '~':
		return true;
	default:
		return false;
	}
}

/* RFC 2045 §5.1 tspecials. */
static bool is_tspecial(unsigned char c)
{
	switch (c) {
	case '(': case ')': case '<': case '>': case '@': case ',': case ';': case ':':
	case '\\': case '"': case '/': case '[': case ']': case '?': case '=':
		return true;
	default:
		return false;
	}
}

/* RFC 5322 §3.2.3 dot-atom-text: 1*atext *("." 1*atext). */
static bool is_dot_atom(struct spf_slice s)
{
	if (s.len == 0)
		return false;
	bool after_dot = true;
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (c == '.') {
			if (after_dot)
				return false;
			after_dot = true;
		} else if (is_atext(c)) {
			after_dot = false;
		} else {
			return false;
		}
	}
	return !after_dot;
}

/* RFC 2045 §5.1 token: printable, no space, no tspecials. */
static bool is_mime_token(struct spf_slice s)
{
	if (s.len == 0)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (!is_printable(c) || c == ' ' || is_tspecial(c))
			return false;
	}
	return true;
}

/* RFC 6376 §3.5 domain-name: sub-domain 1*("." sub-domain), where a sub-domain is
 * Let-dig [Ldh-str] (RFC 5321 §4.1.2).  A trailing dot is not allowed. */
static bool is_dkim_domain(struct spf_slice s)
{
	size_t labels = 0, i = 0;
	while (i < s.len) {
		size_t start = i;
		while (i < s.len && s.p[i] != '.') {
			unsigned char c = (unsigned char)s.p[i];
			if (!is_alnum(c) && c != '-')
				return false;
			i++;
		}
		if (i == start || s.p[start] == '-' || s.p[i - 1] == '-')
			return false;
		labels++;
		if (i < s.len) {
			i++; /* the dot */
			if (i == s.len)
				return false;
		}
	}
	return labels >= 2;
}

/* Is c rendered as itself in style st (render_byte() gives 1 byte, c)? */
static bool is_plain(unsigned char c, enum style st)
{
	if (!is_printable(c) || c == '\\')
		return false;
	return st == S_QUOTED ? c != '"' : (c != '(' && c != ')');
}

/*
 * The rendered form of one input byte in the given style: at most 5 bytes (a control
 * byte in a quoted-string is "\\xHH": the backslash of \xHH is itself quoted).
 */
static size_t render_byte(unsigned char c, enum style st, char out[5])
{
	static const char hex[] = "0123456789abcdef";
	if (!is_printable(c)) {
		out[0] = '\\';
		out[1] = '\\';
		out[2] = 'x';
		out[3] = hex[c >> 4];
		out[4] = hex[c & 15];
		return 5;
	}
	bool special = c == '\\' || (st == S_QUOTED ? c == '"' : (c == '(' || c == ')'));
	if (special) {
		out[0] = '\\';
		out[1] = (char)c;
		return 2;
	}
	out[0] = (char)c;
	return 1;
}

/*
 * Writes the bytes of s in style st using at most limit output bytes.  If the whole
 * rendering does not fit, writes as many whole characters as leave room for "...",
 * then "...".  Never splits an escape.  limit must be at least 3.
 */
static void put_text(struct spf_buf *b, struct spf_slice s, enum style st, size_t limit)
{
	char r[5];
	size_t used = 0, i = 0;
	/* Fast path: copy while everything written still leaves room for "...". */
	while (i < s.len) {
		/* A run of bytes written as themselves goes out in one put, as far as the
		 * room left allows (the byte-wise loop would stop at the same place). */
		size_t room = limit - 3 - used, j = i;
		while (j < s.len && j - i < room && is_plain((unsigned char)s.p[j], st))
			j++;
		if (j > i) {
			/* What fits, then the rest (which overflows when it does not): the
			 * buffer ends as byte-wise puts would leave it. */
			size_t fit = b->overflow || j - i <= b->cap - b->len ? j - i
			    : b->cap - b->len;
			spf_buf_put(b, s.p + i, fit);
			spf_buf_put(b, s.p + i + fit, j - i - fit);
			used += j - i;
			i = j;
			continue;
		}
		size_t n = render_byte((unsigned char)s.p[i], st, r);
		if (n > limit - 3 - used)
			break;
		spf_buf_put(b, r, n);
		used += n;
		i++;
	}
	if (i == s.len)
		return;
	/* Out of room for "...": does the rest fit without it? */
	size_t rest = 0;
	for (size_t j = i; j < s.len && rest <= limit - used; j++)
		rest += render_byte((unsigned char)s.p[j], st, r);
	if (rest <= limit - used) {
		for (; i < s.len; i++) {
			size_t n = render_byte((unsigned char)s.p[i], st, r);
			spf_buf_put(b, r, n);
		}
		return;
	}
	spf_buf_put(b, "...", 3);
}

/* A quoted-string of s, at most limit bytes including both quotes. */
static void put_quoted(struct spf_buf *b, struct spf_slice s, size_t limit)
{
	spf_buf_putc(b, '"');
	put_text(b, s, S_QUOTED, limit - 2);
	spf_buf_putc(b, '"');
}

/* Received-SPF value: a dot-atom as it is, anything else quoted. */
static void put_rspf_value(struct spf_buf *b, struct spf_slice s, size_t limit)
{
	if (s.len <= limit && is_dot_atom(s))
		spf_buf_put_slice(b, s);
	else
		put_quoted(b, s, limit);
}

/* Authentication-Results pvalue or authserv-id: a domain-name or MIME token as it is,
 * anything else a quoted-string (RFC 2045 value). */
static void put_ar_value(struct spf_buf *b, struct spf_slice s, size_t limit)
{
	if (s.len <= limit && (is_dkim_domain(s) || is_mime_token(s)))
		spf_buf_put_slice(b, s);
	else
		put_quoted(b, s, limit);
}

static struct spf_slice str(const char *s)
{
	return spf_slice_cstr(s ? s : "");
}

/* The identity named in comments: the mailbox for MAIL FROM, the name for HELO. */
static struct spf_slice who(const struct spf_outcome *o)
{
	const char *s = o->identity == SPF_IDENTITY_HELO ? o->helo : o->sender;
	if (s == NULL || s[0] == '\0')
		s = o->checked_domain;
	if (s == NULL || s[0] == '\0')
		s = "unknown";
	return spf_slice_cstr(s);
}

/* The comment text for the result, in the style of the RFC 7208 §9.1 examples; ips is
 * the client address as text. */
static void put_comment_text(struct spf_buf *b, const struct spf_outcome *o,
    struct spf_slice ips)
{
	struct spf_slice w = who(o);

	switch (o->result) {
	case SPF_RESULT_PASS:
		spf_buf_puts(b, "domain of ");
		put_text(b, w, S_COMMENT, VCAP_SENDER);
		spf_buf_puts(b, " designates ");
		put_text(b, ips, S_COMMENT, VCAP_ADDR);
		spf_buf_puts(b, " as permitted sender");
		break;
	case SPF_RESULT_FAIL:
		spf_buf_puts(b, "domain of ");
		put_text(b, w, S_COMMENT, VCAP_SENDER);
		spf_buf_puts(b, " does not designate ");
		put_text(b, ips, S_COMMENT, VCAP_ADDR);
		spf_buf_puts(b, " as permitted sender");
		break;
	case SPF_RESULT_SOFTFAIL:
		spf_buf_puts(b, "domain of transitioning ");
		put_text(b, w, S_COMMENT, VCAP_SENDER);
		spf_buf_puts(b, " does not designate ");
		put_text(b, ips, S_COMMENT, VCAP_ADDR);
		spf_buf_puts(b, " as permitted sender");
		break;
	case SPF_RESULT_NEUTRAL:
		put_text(b, ips, S_COMMENT, VCAP_ADDR);
		spf_buf_puts(b, " is neither permitted nor denied by domain of ");
		put_text(b, w, S_COMMENT, VCAP_SENDER);
		break;
	case SPF_RESULT_NONE:
		spf_buf_puts(b, "domain of ");
		put_text(b, w, S_COMMENT, VCAP_SENDER);
		spf_buf_puts(b, " does not designate permitted sender hosts");
		break;
	case SPF_RESULT_TEMPERROR:
		spf_buf_puts(b, "temporary error in processing during lookup of ");
		put_text(b, w, S_COMMENT, VCAP_SENDER);
		break;
	case SPF_RESULT_PERMERROR:
	default:
		spf_buf_puts(b, "permanent error in processing domain of ");
		put_text(b, w, S_COMMENT, VCAP_SENDER);
		break;
	}
}

static bool is_error(enum spf_result r)
{
	return r == SPF_RESULT_TEMPERROR || r == SPF_RESULT_PERMERROR;
}

/* The problem text for an error result; never empty. */
static struct spf_slice problem(const struct spf_outcome *o)
{
	if (o->problem != NULL && o->problem[0] != '\0')
		return spf_slice_cstr(o->problem);
	return spf_slice_cstr(o->result == SPF_RESULT_TEMPERROR ? "temporary error"
	    : "permanent error");
}

/* The receiving host's name: the caller's, else the evaluation's, else "unknown". */
static const char *host_name(const char *given, const struct spf_outcome *o)
{
	if (given != NULL && given[0] != '\0')
		return given;
	if (o->receiver != NULL && o->receiver[0] != '\0')
		return o->receiver;
	return "unknown";
}

/* Ends the rendering: NUL-terminates and returns the length or SPF_ELIMIT. */
static int finish(struct spf_buf *b)
{
	if (spf_buf_cstr(b) == NULL)
		return SPF_ELIMIT;
	return (int)b->len;
}

int spf_header_received_spf(const struct spf_outcome *o, const char *receiver,
    char *buf, size_t cap)
{
	if (buf == NULL || cap == 0)
		return SPF_ELIMIT;
	buf[0] = '\0';
	if (o == NULL)
		return SPF_EINVAL;
	receiver = host_name(receiver, o);

	struct spf_buf b;
	spf_buf_init(&b, buf, cap);
	spf_buf_puts(&b, "Received-SPF: ");
	spf_buf_puts(&b, spf_result_name(o->result));

	spf_buf_puts(&b, " (");
	put_text(&b, spf_slice_cstr(receiver), S_COMMENT, VCAP_RECEIVER);
	spf_buf_puts(&b, ": ");
	char ip[SPF_ADDR_TEXT_MAX];
	size_t iplen = spf_addr_format(&o->client, ip, sizeof(ip));
	put_comment_text(&b, o, spf_slice_make(ip, iplen));
	spf_buf_putc(&b, ')');

	spf_buf_puts(&b, " client-ip=");
	put_rspf_value(&b, spf_slice_make(ip, iplen), VCAP_ADDR);
	if (o->identity == SPF_IDENTITY_MAILFROM) {
		spf_buf_puts(&b, "; envelope-from=");
		put_rspf_value(&b, str(o->sender), VCAP_SENDER);
	}
	if (o->helo != NULL && o->helo[0] != '\0') {
		spf_buf_puts(&b, "; helo=");
		put_rspf_value(&b, spf_slice_cstr(o->helo), VCAP_HELO);
	}
	spf_buf_puts(&b, "; receiver=");
	put_rspf_value(&b, spf_slice_cstr(receiver), VCAP_RECEIVER);
	spf_buf_puts(&b, "; identity=");
	spf_buf_puts(&b, spf_identity_name(o->identity));
	if (is_error(o->result)) {
		spf_buf_puts(&b, "; problem=");
		put_quoted(&b, problem(o), VCAP_PROBLEM);
	} else if (o->result != SPF_RESULT_NONE) {
		/* §9.1: "if no mechanisms matched, substitute the word 'default'". */
		spf_buf_puts(&b, "; mechanism=");
		if (o->mechanism != NULL && o->mechanism[0] != '\0')
			put_rspf_value(&b, spf_slice_cstr(o->mechanism), VCAP_MECHANISM);
		else
			spf_buf_puts(&b, "default");
	}
	return finish(&b);
}

static void put_ar_method(struct spf_buf *b, const struct spf_outcome *o)
{
	spf_buf_puts(b, "spf=");
	spf_buf_puts(b, spf_result_name(o->result));
	spf_buf_puts(b, " (");
	char ip[SPF_ADDR_TEXT_MAX];
	size_t iplen = spf_addr_format(&o->client, ip, sizeof(ip));
	put_comment_text(b, o, spf_slice_make(ip, iplen));
	spf_buf_putc(b, ')');
	if (is_error(o->result)) {
		spf_buf_puts(b, " reason=");
		put_quoted(b, problem(o), VCAP_PROBLEM);
	}
	/* The domain that was checked: the MAIL FROM domain or the HELO name. */
	const char *d = o->checked_domain;
	if (d == NULL || d[0] == '\0')
		d = o->identity == SPF_IDENTITY_HELO ? o->helo : NULL;
	if (d != NULL && d[0] != '\0') {
		spf_buf_puts(b, o->identity == SPF_IDENTITY_HELO ? " smtp.helo="
		    : " smtp.mailfrom=");
		put_ar_value(b, spf_slice_cstr(d), VCAP_DOMAIN);
	}
}

int spf_header_ar_method(const struct spf_outcome *o, char *buf, size_t cap)
{
	if (buf == NULL || cap == 0)
		return SPF_ELIMIT;
	buf[0] = '\0';
	if (o == NULL)
		return SPF_EINVAL;
	struct spf_buf b;
	spf_buf_init(&b, buf, cap);
	put_ar_method(&b, o);
	return finish(&b);
}

int spf_header_auth_results(const struct spf_outcome *o, const char *authserv_id,
    char *buf, size_t cap)
{
	if (buf == NULL || cap == 0)
		return SPF_ELIMIT;
	buf[0] = '\0';
	if (o == NULL)
		return SPF_EINVAL;
	authserv_id = host_name(authserv_id, o);
	struct spf_buf b;
	spf_buf_init(&b, buf, cap);
	spf_buf_puts(&b, "Authentication-Results: ");
	put_ar_value(&b, spf_slice_cstr(authserv_id), VCAP_RECEIVER);
	spf_buf_puts(&b, "; ");
	put_ar_method(&b, o);
	return finish(&b);
}
