/*
 * buf.h - slices (input views) and bounded output buffers.
 *
 * Input is never a C string: struct spf_slice is (pointer, length), because TXT data
 * may hold NUL bytes.  Output goes into struct spf_buf, a fixed-capacity buffer that
 * only the put functions below write to.  When space runs out they write nothing and
 * set the sticky overflow flag, which the caller checks once at the end (unbound's
 * sldns_buffer, curl's dynbuf).  Lengths are always compared before they are
 * subtracted from: n > cap - len, never len + n > cap.
 *
 * spf_buf does not own its storage: it wraps a caller's array (stack or arena).
 * spf_buf_cstr() keeps one byte spare for the NUL terminator.
 */
#ifndef SPF_BUF_H
#define SPF_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct spf_slice {
	const char *p;
	size_t len;
};

static inline struct spf_slice spf_slice_make(const char *p, size_t len)
{
	struct spf_slice s = { p, len };
	return s;
}

static inline struct spf_slice spf_slice_cstr(const char *s)
{
	return spf_slice_make(s, s ? strlen(s) : 0);
}

static inline char spf_ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* ASCII case-insensitive equality of two views. */
static inline bool spf_slice_eq_ci(struct spf_slice a, struct spf_slice b)
{
	if (a.len != b.len)
		return false;
	for (size_t i = 0; i < a.len; i++)
		if (spf_ascii_lower(a.p[i]) != spf_ascii_lower(b.p[i]))
			return false;
	return true;
}

static inline bool spf_slice_eq_cstr_ci(struct spf_slice a, const char *b)
{
	return spf_slice_eq_ci(a, spf_slice_cstr(b));
}

/* Does s start with prefix (case-insensitively)? */
static inline bool spf_slice_prefix_ci(struct spf_slice s, const char *prefix)
{
	size_t n = strlen(prefix);
	return s.len >= n && spf_slice_eq_ci(spf_slice_make(s.p, n), spf_slice_make(prefix, n));
}

struct spf_buf {
	char *data;
	size_t len;
	size_t cap;
	bool overflow;
};

static inline void spf_buf_init(struct spf_buf *b, char *data, size_t cap)
{
	b->data = data;
	b->len = 0;
	b->cap = cap;
	b->overflow = false;
}

static inline void spf_buf_put(struct spf_buf *b, const char *p, size_t n)
{
	if (b->overflow || n > b->cap - b->len) {
		b->overflow = true;
		return;
	}
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
}

static inline void spf_buf_putc(struct spf_buf *b, char c)
{
	spf_buf_put(b, &c, 1);
}

static inline void spf_buf_puts(struct spf_buf *b, const char *s)
{
	spf_buf_put(b, s, strlen(s));
}

static inline void spf_buf_put_slice(struct spf_buf *b, struct spf_slice s)
{
	spf_buf_put(b, s.p, s.len);
}

/* Appends the decimal form of v. */
void spf_buf_put_u64(struct spf_buf *b, uint64_t v);
/* Appends the decimal form of v (may be negative). */
void spf_buf_put_i64(struct spf_buf *b, int64_t v);

/*
 * Appends s so that the result is printable ASCII and safe in a log line, a trace or
 * a header comment: bytes outside 0x20..0x7e and the backslash become \xHH.
 */
void spf_buf_put_escaped(struct spf_buf *b, struct spf_slice s);

/*
 * NUL-terminates the contents (the terminator is not counted in len) and returns
 * data, or NULL if the buffer overflowed or has no room for the terminator.
 */
static inline const char *spf_buf_cstr(struct spf_buf *b)
{
	if (b->overflow || b->len >= b->cap) {
		b->overflow = true;
		return NULL;
	}
	b->data[b->len] = '\0';
	return b->data;
}

static inline struct spf_slice spf_buf_slice(const struct spf_buf *b)
{
	return spf_slice_make(b->data, b->len);
}

/*
 * A read cursor over a slice (picohttpparser style): the only way parsers look at
 * input, so they can never read past its end.
 */
struct spf_cursor {
	const char *p;
	const char *end;
};

static inline struct spf_cursor spf_cursor_make(struct spf_slice s)
{
	struct spf_cursor c = { s.p, s.p + s.len };
	return c;
}

static inline bool spf_cursor_eof(const struct spf_cursor *c)
{
	return c->p >= c->end;
}

/* The next byte, or -1 at the end. */
static inline int spf_cursor_peek(const struct spf_cursor *c)
{
	return c->p < c->end ? (unsigned char)*c->p : -1;
}

static inline size_t spf_cursor_left(const struct spf_cursor *c)
{
	return (size_t)(c->end - c->p);
}

#endif
