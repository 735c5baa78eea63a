/*
 * json.c - a small JSON writer on stdio for `spfgate check --json`.
 *
 * Entry points: json_init(), json_begin_object/array(), json_end_object/array(),
 * json_key(), json_string(), json_uint(), json_int(), json_bool(), json_null().
 * The writer places the commas; the caller only says what comes next.  Nesting deeper
 * than JSON_MAX_DEPTH is a programming error and is ignored rather than overflowing.
 *
 * Strings (RFC 8259 §7): '"' and '\' are escaped, control characters (and DEL) become
 * \u00XX, well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF) passes through, and every byte of an ill-formed sequence becomes \u00XX as
 * well, i.e. it is read as Latin-1.  The output is therefore always valid JSON and
 * always valid UTF-8, whatever bytes DNS or the command line supplied.
 */
#include <inttypes.h>
#include <stdio.h>

#include "cli.h"

void json_init(struct json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->first[0] = true;
	j->after_key = false;
}

/* Called before every value or key: the comma, unless first at its level. */
static void sep(struct json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = false;
}

static void begin(struct json *j, char c)
{
	sep(j);
	fputc(c, j->f);
	if (j->depth + 1 < JSON_MAX_DEPTH) {
		j->depth++;
		j->first[j->depth] = true;
	}
}

static void end(struct json *j, char c)
{
	fputc(c, j->f);
	if (j->depth > 0)
		j->depth--;
}

void json_begin_object(struct json *j)
{
	begin(j, '{');
}

void json_end_object(struct json *j)
{
	end(j, '}');
}

void json_begin_array(struct json *j)
{
	begin(j, '[');
}

void json_end_array(struct json *j)
{
	end(j, ']');
}

/*
 * Length of the well-formed UTF-8 sequence starting at p (2..4), or 0 if the bytes
 * there are not one.  p is NUL-terminated, so a NUL ends any partial sequence.
 */
static size_t utf8_len(const unsigned char *p)
{
	unsigned char c = p[0];
	if (c >= 0xc2 && c <= 0xdf)
		return (p[1] >= 0x80 && p[1] <= 0xbf) ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		/* E0: no overlongs (A0..BF); ED: no surrogates (80..9F). */
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80;
		unsigned char hi = c == 0xed ? 0x9f : 0xbf;
		if (p[1] < lo || p[1] > hi || p[2] < 0x80 || p[2] > 0xbf)
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		/* F0: no overlongs (90..BF); F4: nothing above U+10FFFF (80..8F). */
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80;
		unsigned char hi = c == 0xf4 ? 0x8f : 0xbf;
		if (p[1] < lo || p[1] > hi || p[2] < 0x80 || p[2] > 0xbf || p[3] < 0x80 ||
		    p[3] > 0xbf)
			return 0;
		return 4;
	}
	return 0;
}

static void put_string(FILE *f, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	fputc('"', f);
	while (*p != '\0') {
		unsigned char c = *p;
		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc(c, f);
			p++;
		} else if (c >= 0x20 && c < 0x7f) {
			fputc(c, f);
			p++;
		} else if (c >= 0x80 && utf8_len(p) > 0) {
			size_t n = utf8_len(p);
			fwrite(p, 1, n, f);
			p += n;
		} else {
			fputs("\\u00", f);
			fputc(hex[c >> 4], f);
			fputc(hex[c & 15], f);
			p++;
		}
	}
	fputc('"', f);
}

void json_key(struct json *j, const char *key)
{
	sep(j);
	put_string(j->f, key);
	fputc(':', j->f);
	j->after_key = true;
}

void json_string(struct json *j, const char *s)
{
	if (s == NULL) {
		json_null(j);
		return;
	}
	sep(j);
	put_string(j->f, s);
}

void json_uint(struct json *j, uint64_t v)
{
	sep(j);
	fprintf(j->f, "%" PRIu64, v);
}

void json_int(struct json *j, int64_t v)
{
	sep(j);
	fprintf(j->f, "%" PRId64, v);
}

void json_bool(struct json *j, bool v)
{
	sep(j);
	fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j)
{
	sep(j);
	fputs("null", j->f);
}
