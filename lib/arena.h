/*
 * arena.h - a per-evaluation allocator with a byte cap.
 *
 * Everything one evaluation keeps (records, parsed terms, names, trace lines) comes
 * from its arena and is freed at once with it.  The cap bounds what any input can make
 * one evaluation allocate; reaching it is reported as SPF_ENOMEM by the callers, which
 * the evaluator turns into temperror.
 */
#ifndef SPF_ARENA_H
#define SPF_ARENA_H

#include <stddef.h>

#include "buf.h"

struct spf_arena_chunk;

struct spf_arena {
	struct spf_arena_chunk *head;
	struct spf_arena_chunk *given; /* the caller's first chunk (spf_arena_give), not freed */
	size_t used;  /* bytes handed out plus chunk overhead */
	size_t limit; /* cap on used */
};

void spf_arena_init(struct spf_arena *a, size_t limit);
/* Bytes of the first chunk an arena would malloc: what spf_arena_give() wants. */
size_t spf_arena_first_size(void);
/*
 * Gives a fresh arena (nothing allocated yet) its first chunk from the caller's
 * memory, so that it need not malloc one: mem must be aligned for any type, hold
 * spf_arena_first_size() bytes and outlive the arena.  It is counted against the
 * limit exactly as the malloc'ed first chunk would be; when it does not fit the limit
 * the arena is left as it was.  The arena never frees it.
 */
void spf_arena_give(struct spf_arena *a, void *mem);
/* Frees every chunk; the arena can be reused afterwards. */
void spf_arena_release(struct spf_arena *a);
/* n bytes aligned for any type, or NULL (out of memory or over the cap). */
void *spf_arena_alloc(struct spf_arena *a, size_t n);
/* Zeroed array of n elements of size sz, overflow-checked. */
void *spf_arena_calloc(struct spf_arena *a, size_t n, size_t sz);
/* A NUL-terminated copy of a slice (which may not itself contain NUL). */
char *spf_arena_strndup(struct spf_arena *a, const char *p, size_t n);
char *spf_arena_strdup(struct spf_arena *a, const char *s);
/* A copy of bytes (not terminated). */
void *spf_arena_memdup(struct spf_arena *a, const void *p, size_t n);
/* A NUL-terminated copy of a buffer's contents, NULL if it overflowed. */
char *spf_arena_buf_dup(struct spf_arena *a, const struct spf_buf *b);

#endif
