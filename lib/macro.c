/*
 * macro.c - RFC 7208 §7 macro-strings: syntax check, expansion, and domain-name checks.
 *
 * Entry points: spf_macro_check() and spf_macro_check_domain_spec() (syntax only),
 * spf_macro_expand() (appends the expansion to a caller's struct spf_buf),
 * spf_domain_truncate() (§7.3), spf_domain_valid() and spf_domain_valid_identity()
 * (§4.3, RFC 1035 limits).
 *
 * Checking and expanding are the same walk over the input (walk() below): the check
 * is a walk that writes nothing, so the two can never disagree about what is valid.
 * Expansion writes only through the spf_buf put functions, in one pass: a value is
 * split into parts, reversed and cut by walking the input value itself, never by
 * computing an output length first (the libspf2 CVEs came from that).  When out
 * fills up, the sticky overflow flag is set and the walk goes on writing nothing, so
 * a syntax error later in the input still wins over SPF_ELIMIT.
 *
 * Memory: nothing is allocated.  Values that are not slices of the context (%{i},
 * %{c}, %{v}, %{t}) are formatted into a small stack buffer first.
 *
 * Defaults: an empty ctx->local expands as "postmaster" (§4.3), an empty
 * ctx->receiver or ctx->validated as "unknown" (§7.2); a NULL client, or one whose
 * family is neither 4 nor 6, expands %{i}, %{c} and %{v} to nothing.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "macro.h"

/* The delimiters of §7.1, in the order of their bits in a delimiter mask. */
static const char delimiters[] = ".-+,/_=";
#define DELIM_DOT 1u

/* Digit transformers are counted up to here and then saturate: any count at least as
 * large as the number of parts means "all parts", and no value has this many. */
#define DIGITS_SATURATE 100000000u

struct walk {
	struct spf_slice in;
	enum spf_macro_mode mode;
	const struct spf_macro_ctx *ctx; /* NULL: check only, write nothing */
	struct spf_buf *out;
	bool needs_ptr;
	size_t last_expand_end; /* offset just past the last macro-expand, 0 if none */
	struct spf_macro_error *err;
};

static int fail(struct walk *w, size_t offset, const char *message)
{
	if (w->err != NULL) {
		w->err->offset = offset;
		w->err->message = message;
	}
	return SPF_ESYNTAX;
}

static unsigned delim_bit(unsigned char c)
{
	const char *d = c != '\0' ? memchr(delimiters, c, sizeof(delimiters) - 1) : NULL;
	return d != NULL ? 1u << (d - delimiters) : 0;
}

static bool is_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 3986 §2.3 unreserved characters, which URL escaping keeps. */
static bool is_unreserved(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static bool is_literal(unsigned char c, enum spf_macro_mode mode)
{
	if (c == '%')
		return false;
	if (c >= 0x21 && c <= 0x7e)
		return true;
	return c == ' ' && mode == SPF_MACRO_EXPLAIN;
}

/* One byte of a macro's value, URL-escaped (upper-case hex) if asked. */
static void put_value_byte(struct spf_buf *out, unsigned char c, bool escape)
{
	static const char hex[] = "0123456789ABCDEF";
	if (!escape || is_unreserved(c)) {
		spf_buf_putc(out, (char)c);
	} else {
		char e[3] = { '%', hex[c >> 4], hex[c & 15] };
		spf_buf_put(out, e, sizeof(e));
	}
}

static void put_value_bytes(struct spf_buf *out, const char *p, size_t n, bool escape)
{
	if (!escape) {
		spf_buf_put(out, p, n);
		return;
	}
	for (size_t i = 0; i < n && !out->overflow; i++)
		put_value_byte(out, (unsigned char)p[i], escape);
}

/*
 * §7.3 transformers applied to value v: split on the delimiters in mask, reverse if
 * asked, keep the right-most keep parts (0: all), join with ".".  Works on v in
 * place: no list of parts is built.
 */
static void put_transformed(struct spf_buf *out, struct spf_slice v, size_t keep,
    bool reverse, unsigned mask, bool escape)
{
	if (v.len == 0)
		v.p = ""; /* an empty slice may be {NULL, 0}: no arithmetic on NULL */
	size_t k = 1; /* parts: one more than delimiters, so "" is one empty part */
	for (size_t i = 0; i < v.len; i++)
		if (delim_bit((unsigned char)v.p[i]) & mask)
			k++;
	size_t n = (keep == 0 || keep > k) ? k : keep;

	if (!reverse) {
		/* Parts k-n .. k-1: skip the first k-n delimiters, then copy the rest
		 * with every delimiter turned into ".". */
		size_t skip = k - n, pos = 0;
		while (skip > 0 && pos < v.len) {
			if (delim_bit((unsigned char)v.p[pos]) & mask)
				skip--;
			pos++;
		}
		while (pos <= v.len && !out->overflow) {
			size_t e = pos;
			while (e < v.len && !(delim_bit((unsigned char)v.p[e]) & mask))
				e++;
			put_value_bytes(out, v.p + pos, e - pos, escape);
			if (e < v.len)
				spf_buf_putc(out, '.');
			pos = e + 1;
		}
		return;
	}

	/* Reversed, the right-most n parts are the original parts n-1 down to 0.  Find
	 * where part n-1 ends (at the n-th delimiter, or the end), then walk left. */
	size_t end = 0, seen = 0;
	while (end < v.len) {
		if ((delim_bit((unsigned char)v.p[end]) & mask) && ++seen == n)
			break;
		end++;
	}
	for (size_t emitted = 0; emitted < n && !out->overflow; emitted++) {
		size_t start = end;
		while (start > 0 && !(delim_bit((unsigned char)v.p[start - 1]) & mask))
			start--;
		if (emitted > 0)
			spf_buf_putc(out, '.');
		put_value_bytes(out, v.p + start, end - start, escape);
		if (start == 0)
			break;
		end = start - 1; /* the part before ends at the delimiter left of it */
	}
}

static struct spf_slice or_default(struct spf_slice s, const char *dflt)
{
	return s.len > 0 ? s : spf_slice_cstr(dflt);
}

/* The value of a (lower-case) macro letter; tmp holds it when it is not a slice. */
static struct spf_slice macro_value(const struct spf_macro_ctx *ctx, char letter,
    struct spf_buf *tmp)
{
	static const char hex[] = "0123456789abcdef";
	const struct spf_addr *a = ctx->client;
	bool v4 = a != NULL && a->family == 4, v6 = a != NULL && a->family == 6;

	switch (letter) {
	case 's':
		return ctx->sender;
	case 'l':
		return or_default(ctx->local, "postmaster");
	case 'o':
		return ctx->sender_domain;
	case 'd':
		return ctx->domain;
	case 'h':
		return ctx->helo;
	case 'r':
		return or_default(ctx->receiver, "unknown");
	case 'p':
		return or_default(ctx->validated, "unknown");
	case 'v':
		return spf_slice_cstr(v4 ? "in-addr" : v6 ? "ip6" : "");
	case 't':
		spf_buf_put_i64(tmp, ctx->now);
		break;
	case 'i':
		if (v4) {
			for (int i = 0; i < 4; i++) {
				if (i > 0)
					spf_buf_putc(tmp, '.');
				spf_buf_put_u64(tmp, a->a[i]);
			}
		} else if (v6) {
			/* §7.3: 32 nibbles, most significant first, dot-separated. */
			for (int i = 0; i < 16; i++) {
				char nib[4] = { hex[a->a[i] >> 4], '.', hex[a->a[i] & 15], '.' };
				spf_buf_put(tmp, nib, i < 15 ? 4 : 3);
			}
		}
		break;
	case 'c':
		if (v4 || v6) {
			char text[SPF_ADDR_TEXT_MAX];
			size_t n = spf_addr_format(a, text, sizeof(text));
			spf_buf_put(tmp, text, n);
		}
		break;
	default:
		break;
	}
	return spf_buf_slice(tmp);
}

/* Parses "%{...}" whose '%' is at offset i; returns SPF_OK with *next past the '}'. */
static int walk_expand(struct walk *w, size_t i, size_t *next)
{
	const char *p = w->in.p;
	size_t len = w->in.len, j = i + 2;

	if (j >= len)
		return fail(w, len, "unterminated macro");
	unsigned char letter_raw = (unsigned char)p[j];
	char letter = spf_ascii_lower((char)letter_raw);
	bool escape = letter_raw >= 'A' && letter_raw <= 'Z';
	if (letter == '\0' || strchr("slodiphvcrt", letter) == NULL)
		return fail(w, j, "unknown macro letter");
	if (strchr("crt", letter) != NULL && w->mode != SPF_MACRO_EXPLAIN)
		return fail(w, j, "macro letter allowed only in explanations");
	j++;

	/* Digits: saturating, so %{d99999999999999999999} cannot overflow. */
	size_t digits_at = j, keep = 0;
	while (j < len && is_digit((unsigned char)p[j])) {
		if (keep < DIGITS_SATURATE)
			keep = keep * 10 + (size_t)(p[j] - '0');
		j++;
	}
	if (j > digits_at && keep == 0)
		return fail(w, digits_at, "macro digit transformer must not be zero");

	bool reverse = false;
	if (j < len && (p[j] == 'r' || p[j] == 'R')) {
		reverse = true;
		j++;
	}

	unsigned mask = 0;
	while (j < len) {
		unsigned bit = delim_bit((unsigned char)p[j]);
		if (bit == 0)
			break;
		mask |= bit;
		j++;
	}
	if (j >= len)
		return fail(w, len, "unterminated macro");
	if (p[j] != '}')
		return fail(w, j, "invalid character in macro");
	*next = j + 1;

	if (letter == 'p')
		w->needs_ptr = true;
	if (w->ctx != NULL) {
		char tmpdata[80];
		struct spf_buf tmp;
		spf_buf_init(&tmp, tmpdata, sizeof(tmpdata));
		struct spf_slice v = macro_value(w->ctx, letter, &tmp);
		put_transformed(w->out, v, keep, reverse, mask != 0 ? mask : DELIM_DOT, escape);
	}
	return SPF_OK;
}

/* The single walk behind check and expand. */
static int walk(struct walk *w)
{
	const char *p = w->in.p;
	size_t len = w->in.len, i = 0;

	w->needs_ptr = false;
	w->last_expand_end = 0;
	while (i < len) {
		/* A run of literals is copied at once. */
		size_t run = i;
		while (run < len && is_literal((unsigned char)p[run], w->mode))
			run++;
		if (run > i) {
			if (w->ctx != NULL)
				spf_buf_put(w->out, p + i, run - i);
			i = run;
			continue;
		}
		if (p[i] != '%')
			return fail(w, i, "invalid character");
		if (i + 1 >= len)
			return fail(w, i, "'%' at the end of a macro-string");

		const char *lit = NULL;
		size_t next = i + 2;
		switch (p[i + 1]) {
		case '%':
			lit = "%";
			break;
		case '_':
			lit = " ";
			break;
		case '-':
			lit = "%20";
			break;
		case '{': {
			int rc = walk_expand(w, i, &next);
			if (rc != SPF_OK)
				return rc;
			break;
		}
		default:
			return fail(w, i, "'%' not followed by '{', '%', '_' or '-'");
		}
		if (lit != NULL && w->ctx != NULL)
			spf_buf_puts(w->out, lit);
		i = next;
		w->last_expand_end = i;
	}
	return SPF_OK;
}

int spf_macro_check(struct spf_slice in, enum spf_macro_mode mode, bool *needs_ptr,
    struct spf_macro_error *err)
{
	struct walk w = { .in = in, .mode = mode, .err = err };
	int rc = walk(&w);
	if (needs_ptr != NULL)
		*needs_ptr = rc == SPF_OK && w.needs_ptr;
	return rc;
}

/* §7.1 toplabel = ( *alphanum ALPHA *alphanum ) /
 *                 ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static bool toplabel_valid(const char *p, size_t n)
{
	bool alpha = false, hyphen = false;
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '-')
			hyphen = true;
		else if (is_alpha(c))
			alpha = true;
		else if (!is_digit(c))
			return false;
	}
	if (hyphen)
		return p[0] != '-' && p[n - 1] != '-';
	return alpha;
}

static bool is_ldh(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || c == '-';
}

int spf_macro_check_domain_spec(struct spf_slice in, bool *needs_ptr,
    struct spf_macro_error *err)
{
	struct walk w = { .in = in, .mode = SPF_MACRO_DOMAIN, .err = err };
	if (needs_ptr != NULL)
		*needs_ptr = false;
	if (in.len == 0)
		return fail(&w, 0, "empty domain-spec");
	int rc = walk(&w);
	if (rc != SPF_OK)
		return rc;

	/* domain-end = ( "." toplabel [ "." ] ) / macro-expand.  The toplabel and its
	 * dot must be literals, i.e. lie after the last macro-expand. */
	if (w.last_expand_end != in.len) {
		size_t end = in.len;
		if (in.p[end - 1] == '.')
			end--;
		size_t start = end;
		while (start > w.last_expand_end && is_ldh((unsigned char)in.p[start - 1]))
			start--;
		if (start == w.last_expand_end || in.p[start - 1] != '.')
			return fail(&w, start, "domain-spec must end in '.' and a top-level label, or a macro");
		if (!toplabel_valid(in.p + start, end - start))
			return fail(&w, start, "invalid top-level label");
	}
	if (needs_ptr != NULL)
		*needs_ptr = w.needs_ptr;
	return SPF_OK;
}

int spf_macro_expand(struct spf_slice in, enum spf_macro_mode mode,
    const struct spf_macro_ctx *ctx, struct spf_buf *out, struct spf_macro_error *err)
{
	static const struct spf_macro_ctx empty_ctx;
	struct walk w = {
		.in = in, .mode = mode, .ctx = ctx != NULL ? ctx : &empty_ctx, .out = out,
		.err = err,
	};
	int rc = walk(&w);
	if (rc != SPF_OK)
		return rc;
	return out->overflow ? SPF_ELIMIT : SPF_OK;
}

/* Length of a name without one trailing dot. */
static size_t name_len(const char *p, size_t len)
{
	return (len > 0 && p[len - 1] == '.') ? len - 1 : len;
}

void spf_domain_truncate(struct spf_buf *b)
{
	size_t eff = name_len(b->data, b->len), cut = 0;

	/* Drop "label." from the left while too long.  A single label longer than the
	 * limit cannot be shortened this way; spf_domain_valid() refuses it later. */
	while (eff - cut > SPF_MAX_DOMAIN) {
		const char *dot = memchr(b->data + cut, '.', eff - cut);
		if (dot == NULL)
			break;
		cut = (size_t)(dot - b->data) + 1;
	}
	if (cut > 0) {
		memmove(b->data, b->data + cut, b->len - cut);
		b->len -= cut;
	}
}

bool spf_domain_valid(struct spf_slice name)
{
	if (name.p == NULL)
		return false;
	size_t eff = name_len(name.p, name.len);
	if (eff == 0 || eff > SPF_MAX_DOMAIN)
		return false;
	if (memchr(name.p, '\0', eff) != NULL)
		return false;
	/* Label by label: each one 1..SPF_MAX_LABEL bytes, none empty. */
	const char *p = name.p, *end = name.p + eff;
	for (;;) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		size_t label = (size_t)((dot != NULL ? dot : end) - p);
		if (label == 0 || label > SPF_MAX_LABEL)
			return false;
		if (dot == NULL)
			return true;
		p = dot + 1;
	}
}

bool spf_domain_valid_identity(struct spf_slice name)
{
	if (!spf_domain_valid(name) || name.p[0] == '[')
		return false;
	return memchr(name.p, '.', name_len(name.p, name.len)) != NULL;
}
