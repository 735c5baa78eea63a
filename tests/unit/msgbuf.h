/*
 * msgbuf.h - a DNS message written by hand, for test_dnsmsg.c and test_stub.c (which
 * include it after <cmocka.h>): bytes appended big-endian, every write checked
 * against the buffer's end.
 */
#ifndef SPFGATE_TEST_MSGBUF_H
#define SPFGATE_TEST_MSGBUF_H

#include <stdint.h>
#include <string.h>

struct mb {
	uint8_t b[65535];
	size_t len;
	size_t rdlen_at; /* where the open RR's RDLENGTH goes (test_dnsmsg.c) */
};

static inline void u8(struct mb *m, unsigned v)
{
	assert_true(m->len < sizeof(m->b));
	m->b[m->len++] = (uint8_t)v;
}

static inline void u16(struct mb *m, unsigned v)
{
	u8(m, v >> 8);
	u8(m, v & 0xff);
}

static inline void u32(struct mb *m, uint32_t v)
{
	u16(m, v >> 16);
	u16(m, v & 0xffff);
}

static inline void bytes(struct mb *m, const void *p, size_t n)
{
	assert_true(n <= sizeof(m->b) - m->len);
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

#endif
