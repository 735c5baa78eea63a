/*
 * record.c - an SPF record's text turned into terms (RFC 7208 §4.5, §4.6, §5, §6, §12).
 *
 * Entry points: spf_record_is_spf() (record selection, §4.5), spf_record_parse()
 * (the whole record, §4.6: the first syntax error anywhere makes it a permerror) and
 * spf_term_kind_name().
 *
 * Memory: the term array is the only allocation, from the caller's arena.  Every
 * slice in a term points into the record text, which the caller keeps alive.
 *
 * How a term is read: the record is split on spaces; each term is first checked for
 * bytes outside 0x21..0x7e (CR, LF, NUL, non-ASCII: the error points at the byte).
 * A term is a modifier when it starts with name "=" (§12 name = ALPHA *( ALPHA /
 * DIGIT / "-" / "_" / "." )); otherwise it is [qualifier] mechanism.  redirect= and
 * exp= are always read as themselves: a malformed value is an error, never an
 * unknown modifier (tests redirect-syntax-error, exp-syntax-error).
 *
 * Where a domain-spec and a dual-cidr-length meet ("a:example.com/24//64"), the CIDR
 * suffix is taken from the end: "/" digits, "//" digits, or both.  A '/' that is not
 * followed by digits to the end of the term stays in the domain-spec, whose
 * domain-end check then refuses it.
 *
 * ip6 networks: spf_addr_parse_n() folds IPv4-mapped text (::ffff:1.2.3.4) to an IPv4
 * address.  For "ip6:" we undo that and keep the network as IPv6 ::ffff:0:0/96 space:
 * the network is written as an ip6 mechanism and §5 says ip6 mechanisms match only
 * IPv6 clients, while a mapped client is evaluated as IPv4 (the evaluator folds it),
 * so such a network can only match a native IPv6 client through a short prefix
 * (tests ip4-mapped-ip6, cidr6-ip4).  An ip6 network written without any ':' (an IPv4
 * text) is an error.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "macro.h"
#include "record.h"

static const char *const kind_names[] = {
	[SPF_TERM_ALL] = "all",
	[SPF_TERM_INCLUDE] = "include",
	[SPF_TERM_A] = "a",
	[SPF_TERM_MX] = "mx",
	[SPF_TERM_PTR] = "ptr",
	[SPF_TERM_IP4] = "ip4",
	[SPF_TERM_IP6] = "ip6",
	[SPF_TERM_EXISTS] = "exists",
	[SPF_TERM_REDIRECT] = "redirect",
	[SPF_TERM_EXP] = "exp",
	[SPF_TERM_UNKNOWN] = "unknown-modifier",
};

const char *spf_term_kind_name(enum spf_term_kind k)
{
	if ((unsigned)k >= sizeof(kind_names) / sizeof(kind_names[0]))
		return "invalid";
	return kind_names[k];
}

#define VERSION "v=spf1"
#define VERSION_LEN (sizeof(VERSION) - 1)

bool spf_record_is_spf(struct spf_slice txt)
{
	if (txt.p == NULL || txt.len < VERSION_LEN)
		return false;
	/* "v=spf1", letters case-insensitively: c | 0x20 is a lower-case letter L only
	 * for c == L and its upper case. */
	const char *p = txt.p;
	if ((p[0] | 0x20) != 'v' || p[1] != '=' || (p[2] | 0x20) != 's' ||
	    (p[3] | 0x20) != 'p' || (p[4] | 0x20) != 'f' || p[5] != '1')
		return false;
	return txt.len == VERSION_LEN || p[VERSION_LEN] == ' ';
}

/* Where the parse of one term stands; offsets are bytes from the record's start. */
struct term_parser {
	struct spf_slice rec;
	struct spf_record_error *err;
};

static int fail(struct term_parser *tp, size_t offset, struct spf_slice term,
    const char *message)
{
	tp->err->offset = offset;
	tp->err->term = term;
	tp->err->message = message;
	return SPF_ESYNTAX;
}

static size_t off_of(const struct term_parser *tp, const char *p)
{
	return (size_t)(p - tp->rec.p);
}

static bool is_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool eq_ci(const char *p, size_t n, const char *word)
{
	return spf_slice_eq_cstr_ci(spf_slice_make(p, n), word);
}

/*
 * A CIDR length: "0" / %x31-39 0*(maxdigits-1)DIGIT, at most max.  p[0..n) must
 * be exactly the digits (n may be 0: an error).
 */
static bool parse_cidr(const char *p, size_t n, unsigned maxdigits, unsigned max,
    unsigned *out)
{
	if (n == 0 || n > maxdigits || (n > 1 && p[0] == '0'))
		return false;
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit((unsigned char)p[i]))
			return false;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* Length of the run of digits that ends s (at end, going left). */
static size_t trailing_digits(const char *p, size_t n)
{
	size_t d = 0;
	while (d < n && is_digit((unsigned char)p[n - 1 - d]))
		d++;
	return d;
}

/* Checks a domain-spec at p[0..n) and records it in t. */
static int take_domain_spec(struct term_parser *tp, struct spf_term *t, const char *p,
    size_t n)
{
	struct spf_macro_error me;
	if (spf_macro_check_domain_spec(spf_slice_make(p, n), &t->needs_ptr, &me) != SPF_OK)
		return fail(tp, off_of(tp, p) + me.offset, t->text, me.message);
	t->domain_spec = spf_slice_make(p, n);
	t->has_domain_spec = true;
	return SPF_OK;
}

/*
 * a / mx: [ ":" domain-spec ] [ dual-cidr-length ], in rest[0..n).  The CIDR
 * lengths are cut off the end first ("//" digits, then "/" digits).
 */
static int parse_a_mx(struct term_parser *tp, struct spf_term *t, const char *rest,
    size_t n)
{
	size_t d = trailing_digits(rest, n);
	if (d > 0 && d + 2 <= n && rest[n - d - 1] == '/' && rest[n - d - 2] == '/') {
		if (!parse_cidr(rest + n - d, d, 3, 128, &t->cidr6))
			return fail(tp, off_of(tp, rest + n - d - 2), t->text,
			    "invalid IPv6 CIDR length");
		n -= d + 2;
		d = trailing_digits(rest, n);
	}
	if (d > 0 && d + 1 <= n && rest[n - d - 1] == '/') {
		if (!parse_cidr(rest + n - d, d, 2, 32, &t->cidr4))
			return fail(tp, off_of(tp, rest + n - d - 1), t->text,
			    "invalid IPv4 CIDR length");
		n -= d + 1;
	}
	if (n == 0)
		return SPF_OK;
	if (rest[0] == '/')
		return fail(tp, off_of(tp, rest), t->text, "invalid CIDR length");
	if (rest[0] != ':')
		return fail(tp, off_of(tp, rest), t->text, "unknown mechanism");
	if (n == 1)
		return fail(tp, off_of(tp, rest + 1), t->text, "empty domain-spec");
	return take_domain_spec(tp, t, rest + 1, n - 1);
}

/* ip4 / ip6: ":" network [ "/" cidr ] in rest[0..n). */
static int parse_ip(struct term_parser *tp, struct spf_term *t, const char *rest, size_t n)
{
	bool v6 = t->kind == SPF_TERM_IP6;
	if (n == 0 || rest[0] != ':')
		return fail(tp, off_of(tp, rest), t->text,
		    v6 ? "ip6 needs ':' and a network" : "ip4 needs ':' and a network");
	const char *net = rest + 1;
	size_t left = n - 1;
	const char *slash = memchr(net, '/', left);
	size_t netlen = slash != NULL ? (size_t)(slash - net) : left;

	bool colon = memchr(net, ':', netlen) != NULL;
	if (netlen == 0 || colon != v6 || spf_addr_parse_n(net, netlen, &t->addr) != SPF_OK)
		return fail(tp, off_of(tp, net), t->text,
		    v6 ? "invalid IPv6 network" : "invalid IPv4 network");
	if (v6 && t->addr.family == 4) {
		/* Undo the IPv4-mapped folding: see the header comment. */
		memmove(t->addr.a + 12, t->addr.a, 4);
		memset(t->addr.a, 0, 10);
		t->addr.a[10] = 0xff;
		t->addr.a[11] = 0xff;
		t->addr.family = 6;
	}
	if (slash != NULL) {
		size_t clen = left - netlen - 1;
		bool ok = v6 ? parse_cidr(slash + 1, clen, 3, 128, &t->cidr6)
			     : parse_cidr(slash + 1, clen, 2, 32, &t->cidr4);
		if (!ok)
			return fail(tp, off_of(tp, slash), t->text,
			    v6 ? "invalid IPv6 CIDR length" : "invalid IPv4 CIDR length");
	}
	return SPF_OK;
}

struct mech_name {
	const char *name;
	size_t len; /* strlen(name): compared first */
	enum spf_term_kind kind;
};

#define MECH(n, k) { n, sizeof(n) - 1, k }
static const struct mech_name mechanisms[] = {
	MECH("all", SPF_TERM_ALL), MECH("include", SPF_TERM_INCLUDE), MECH("a", SPF_TERM_A),
	MECH("mx", SPF_TERM_MX), MECH("ptr", SPF_TERM_PTR), MECH("ip4", SPF_TERM_IP4),
	MECH("ip6", SPF_TERM_IP6), MECH("exists", SPF_TERM_EXISTS),
};
#undef MECH

/* directive = [ qualifier ] mechanism, in t->text. */
static int parse_directive(struct term_parser *tp, struct spf_term *t)
{
	const char *p = t->text.p, *end = p + t->text.len;

	t->qualifier = SPF_RESULT_PASS;
	switch (*p) {
	case '+':
		p++;
		break;
	case '-':
		t->qualifier = SPF_RESULT_FAIL;
		p++;
		break;
	case '~':
		t->qualifier = SPF_RESULT_SOFTFAIL;
		p++;
		break;
	case '?':
		t->qualifier = SPF_RESULT_NEUTRAL;
		p++;
		break;
	default:
		break;
	}

	/* The name runs up to ':', '/' or the end; '=' after a qualifier is not a
	 * modifier either, so anything else is an unknown mechanism. */
	const char *name = p;
	while (p < end && *p != ':' && *p != '/')
		p++;
	size_t nlen = (size_t)(p - name);
	bool found = false;
	for (size_t i = 0; i < sizeof(mechanisms) / sizeof(mechanisms[0]); i++) {
		if (nlen == mechanisms[i].len && spf_slice_eq_ci(spf_slice_make(name, nlen),
		    spf_slice_make(mechanisms[i].name, nlen))) {
			t->kind = mechanisms[i].kind;
			found = true;
			break;
		}
	}
	if (!found)
		return fail(tp, off_of(tp, name), t->text, "unknown mechanism");

	size_t n = (size_t)(end - p);
	switch (t->kind) {
	case SPF_TERM_ALL:
		if (n != 0)
			return fail(tp, off_of(tp, p), t->text, "\"all\" takes no argument");
		return SPF_OK;
	case SPF_TERM_INCLUDE:
	case SPF_TERM_EXISTS:
		if (n == 0 || *p != ':')
			return fail(tp, off_of(tp, p), t->text, "mechanism needs ':' and a domain-spec");
		if (n == 1)
			return fail(tp, off_of(tp, p + 1), t->text, "empty domain-spec");
		return take_domain_spec(tp, t, p + 1, n - 1);
	case SPF_TERM_PTR:
		if (n == 0)
			return SPF_OK;
		if (*p != ':')
			return fail(tp, off_of(tp, p), t->text, "\"ptr\" takes no CIDR length");
		if (n == 1)
			return fail(tp, off_of(tp, p + 1), t->text, "empty domain-spec");
		return take_domain_spec(tp, t, p + 1, n - 1);
	case SPF_TERM_A:
	case SPF_TERM_MX:
		return parse_a_mx(tp, t, p, n);
	case SPF_TERM_IP4:
	case SPF_TERM_IP6:
		return parse_ip(tp, t, p, n);
	default:
		return fail(tp, off_of(tp, name), t->text, "unknown mechanism");
	}
}

/* If t->text starts with name "=", its length; else 0. */
static size_t modifier_name_len(struct spf_slice text)
{
	if (text.len == 0 || !is_alpha((unsigned char)text.p[0]))
		return 0;
	size_t i = 1;
	while (i < text.len) {
		unsigned char c = (unsigned char)text.p[i];
		if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '_' && c != '.')
			break;
		i++;
	}
	return (i < text.len && text.p[i] == '=') ? i : 0;
}

static int parse_modifier(struct term_parser *tp, struct spf_term *t, size_t nlen,
    struct spf_record *rec)
{
	const char *value = t->text.p + nlen + 1;
	size_t vlen = t->text.len - nlen - 1;

	t->qualifier = SPF_RESULT_PASS;
	t->name = spf_slice_make(t->text.p, nlen);
	if (eq_ci(t->text.p, nlen, "redirect") || eq_ci(t->text.p, nlen, "exp")) {
		bool redirect = nlen == 8;
		t->kind = redirect ? SPF_TERM_REDIRECT : SPF_TERM_EXP;
		if ((redirect ? rec->redirect : rec->exp) != NULL)
			return fail(tp, t->offset, t->text,
			    redirect ? "duplicate redirect modifier" : "duplicate exp modifier");
		if (vlen == 0)
			return fail(tp, off_of(tp, value), t->text, "empty domain-spec");
		int rc = take_domain_spec(tp, t, value, vlen);
		if (rc != SPF_OK)
			return rc;
		if (redirect)
			rec->redirect = t;
		else
			rec->exp = t;
		return SPF_OK;
	}

	/* unknown-modifier = name "=" macro-string: ignored, but must be well-formed. */
	struct spf_macro_error me;
	t->kind = SPF_TERM_UNKNOWN;
	if (spf_macro_check(spf_slice_make(value, vlen), SPF_MACRO_DOMAIN, &t->needs_ptr,
		&me) != SPF_OK)
		return fail(tp, off_of(tp, value) + me.offset, t->text, me.message);
	t->domain_spec = spf_slice_make(value, vlen);
	t->has_domain_spec = true;
	return SPF_OK;
}

/* bad: the first byte of the term outside 0x21..0x7e, or NULL (found by the split). */
static int parse_term(struct term_parser *tp, struct spf_term *t, struct spf_record *rec,
    const char *bad)
{
	/* Every byte of a term is visible ASCII; spaces were the separators. */
	if (bad != NULL)
		return fail(tp, off_of(tp, bad), t->text,
		    "invalid character (control, NUL or non-ASCII) in record");
	t->cidr4 = 32;
	t->cidr6 = 128;

	size_t nlen = modifier_name_len(t->text);
	if (nlen > 0)
		return parse_modifier(tp, t, nlen, rec);
	int rc = parse_directive(tp, t);
	if (rc == SPF_OK && t->kind == SPF_TERM_ALL)
		rec->has_all = true;
	return rc;
}

int spf_record_parse(struct spf_slice txt, struct spf_arena *arena, struct spf_record *out,
    struct spf_record_error *err)
{
	struct spf_record_error dummy;
	struct term_parser tp = { .rec = txt, .err = err != NULL ? err : &dummy };
	struct spf_record rec;

	memset(&rec, 0, sizeof(rec));
	memset(out, 0, sizeof(*out));
	if (!spf_record_is_spf(txt))
		return fail(&tp, 0, spf_slice_make(txt.p, 0), "not an SPF record (v=spf1)");

	/* Count the terms first so one array holds them. */
	const char *p = txt.p + VERSION_LEN, *end = txt.p + txt.len;
	size_t count = 0;
	for (const char *q = p; q < end;) {
		while (q < end && *q == ' ')
			q++;
		if (q == end)
			break;
		count++;
		const char *sp = memchr(q, ' ', (size_t)(end - q));
		q = sp != NULL ? sp : end;
	}
	if (count > 0) {
		rec.terms = spf_arena_calloc(arena, count, sizeof(*rec.terms));
		if (rec.terms == NULL)
			return SPF_ENOMEM;
	}

	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		if (p == end)
			break;
		const char *start = p, *bad = NULL;
		/* One scan finds the term's end and its first byte outside 0x21..0x7e
		 * (the space that ends it is outside too). */
		while (p < end && (unsigned char)(*p - 0x21) <= 0x7e - 0x21)
			p++;
		if (p < end && *p != ' ') {
			bad = p;
			while (p < end && *p != ' ')
				p++;
		}
		struct spf_term *t = &rec.terms[rec.nterms++];
		t->text = spf_slice_make(start, (size_t)(p - start));
		t->offset = off_of(&tp, start);
		int rc = parse_term(&tp, t, &rec, bad);
		if (rc != SPF_OK)
			return rc;
	}
	*out = rec;
	return SPF_OK;
}
