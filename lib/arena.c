/*
 * arena.c - the per-evaluation allocator with a byte cap, and the spf_buf helpers
 * that are too large to inline.
 *
 * Chunks are malloc'ed in sizes of at least ARENA_CHUNK and linked from the head;
 * allocations are bumped from the newest chunk.  Large requests get a chunk of their
 * own.  The first chunk may instead be the caller's memory (spf_arena_give(): the
 * evaluator allocates it with itself, saving a malloc per evaluation).  Owner:
 * whoever holds the struct spf_arena (an evaluation).
 */
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

/* 8 KiB holds a whole warm evaluation of a typical include tree in one chunk (one
 * malloc per evaluation); 4 KiB took two or three, 16 KiB measured slower. */
#define ARENA_CHUNK 8192

struct spf_arena_chunk {
	struct spf_arena_chunk *next;
	size_t size; /* usable bytes after the header */
	size_t off;  /* bytes used */
	alignas(max_align_t) unsigned char mem[];
};

void spf_arena_init(struct spf_arena *a, size_t limit)
{
	a->head = NULL;
	a->given = NULL;
	a->used = 0;
	a->limit = limit;
}

size_t spf_arena_first_size(void)
{
	return sizeof(struct spf_arena_chunk) + ARENA_CHUNK;
}

void spf_arena_give(struct spf_arena *a, void *mem)
{
	size_t total = spf_arena_first_size();
	if (a->head != NULL || total > a->limit - a->used || a->used > a->limit)
		return;
	struct spf_arena_chunk *c = mem;
	c->next = NULL;
	c->size = ARENA_CHUNK;
	c->off = 0;
	a->used += total;
	a->head = c;
	a->given = c;
}

void spf_arena_release(struct spf_arena *a)
{
	struct spf_arena_chunk *c = a->head;
	while (c != NULL) {
		struct spf_arena_chunk *next = c->next;
		if (c != a->given)
			free(c);
		c = next;
	}
	a->head = NULL;
	a->given = NULL;
	a->used = 0;
}

void *spf_arena_alloc(struct spf_arena *a, size_t n)
{
	const size_t align = alignof(max_align_t);
	if (n == 0)
		n = 1;
	if (n > SIZE_MAX - align)
		return NULL;
	n = (n + align - 1) & ~(align - 1);

	struct spf_arena_chunk *c = a->head;
	if (c == NULL || n > c->size - c->off) {
		size_t size = n > ARENA_CHUNK ? n : ARENA_CHUNK;
		size_t total = sizeof(*c) + size;
		if (total > a->limit - a->used || a->used > a->limit)
			return NULL;
		c = malloc(total);
		if (c == NULL)
			return NULL;
		c->size = size;
		c->off = 0;
		a->used += total;
		/* A big one-off chunk goes behind the head so the head keeps its free space. */
		if (a->head != NULL && size > ARENA_CHUNK) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	void *p = c->mem + c->off;
	c->off += n;
	return p;
}

void *spf_arena_calloc(struct spf_arena *a, size_t n, size_t sz)
{
	if (sz != 0 && n > SIZE_MAX / sz)
		return NULL;
	void *p = spf_arena_alloc(a, n * sz);
	if (p != NULL)
		memset(p, 0, n * sz);
	return p;
}

char *spf_arena_strndup(struct spf_arena *a, const char *p, size_t n)
{
	if (n == SIZE_MAX)
		return NULL;
	char *s = spf_arena_alloc(a, n + 1);
	if (s == NULL)
		return NULL;
	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

char *spf_arena_strdup(struct spf_arena *a, const char *s)
{
	return spf_arena_strndup(a, s, strlen(s));
}

void *spf_arena_memdup(struct spf_arena *a, const void *p, size_t n)
{
	void *d = spf_arena_alloc(a, n);
	if (d != NULL && n > 0)
		memcpy(d, p, n);
	return d;
}

char *spf_arena_buf_dup(struct spf_arena *a, const struct spf_buf *b)
{
	if (b->overflow)
		return NULL;
	return spf_arena_strndup(a, b->data, b->len);
}

void spf_buf_put_u64(struct spf_buf *b, uint64_t v)
{
	char tmp[20];
	size_t n = 0;
	do {
		tmp[sizeof(tmp) - 1 - n] = (char)('0' + v % 10);
		v /= 10;
		n++;
	} while (v != 0);
	spf_buf_put(b, tmp + sizeof(tmp) - n, n);
}

void spf_buf_put_i64(struct spf_buf *b, int64_t v)
{
	if (v < 0) {
		spf_buf_putc(b, '-');
		spf_buf_put_u64(b, (uint64_t)(-(v + 1)) + 1);
	} else {
		spf_buf_put_u64(b, (uint64_t)v);
	}
}

void spf_buf_put_escaped(struct spf_buf *b, struct spf_slice s)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (c >= 0x20 && c <= 0x7e && c != '\\') {
			spf_buf_putc(b, (char)c);
		} else {
			char e[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };
			spf_buf_put(b, e, sizeof(e));
		}
	}
}
