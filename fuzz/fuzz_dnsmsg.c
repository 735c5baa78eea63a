/*
 * fuzz_dnsmsg.c - libFuzzer target for lib/dnsmsg.c: DNS responses as they come off
 * the wire into spf_dnsmsg_read().
 *
 * The input is the message.  The question it is read against is taken from the
 * message itself when its first name is plain labels that a dotted name can carry
 * (no '.', no NUL inside a label): so the mutator reaches the answer and authority
 * sections without having to guess the question; otherwise, and once more for every
 * input, "example.com" with a type picked by the last byte (the mismatch paths).
 * Traps when:
 *   - a valid question name is refused, or a result is missing;
 *   - XP_FAIL comes without a reason or with records, or a good answer with one;
 *   - an RCODE is outside 0..15, records come with another RCODE than NOERROR, a TTL
 *     has its top bit set, secure or bogus is set;
 *   - has_records disagrees with the header's ANCOUNT and NSCOUNT;
 *   - RDATA breaks its type's shape: A 4 bytes, AAAA 16, TXT strings filling it
 *     exactly (or empty), MX a preference and a name, PTR and CNAME a name, every name
 *     uncompressed (labels of 1..63 bytes, the root label last and exactly at the
 *     end, at most 255 bytes);
 *   - the query written for the same question is not header + name + question +
 *     OPT.
 * Every RDATA byte is read, so ASan sees a result that points outside its block.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dnsmsg.h"
#include "fuzz_common.h"
#include "spfgate/spfgate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An uncompressed wire name filling rdata[0..len) exactly. */
static bool plain_name(const uint8_t *p, size_t len)
{
	size_t i = 0;
	while (i < len) {
		size_t l = p[i];
		if (l == 0)
			return i + 1 == len && len <= SPF_DNS_NAME_MAX;
		if (l > 63 || l > len - i - 1)
			return false;
		i += l + 1;
	}
	return false;
}

static void check_rdata(uint16_t type, const uint8_t *p, size_t len)
{
	volatile uint8_t sink = 0;
	for (size_t i = 0; i < len; i++)
		sink ^= p[i];
	(void)sink;
	switch (type) {
	case SPF_RR_A:
		FUZZ_CHECK(len == 4);
		break;
	case SPF_RR_AAAA:
		FUZZ_CHECK(len == 16);
		break;
	case SPF_RR_TXT: {
		size_t i = 0; /* no string at all is an empty record */
		while (i < len) {
			FUZZ_CHECK(p[i] <= len - i - 1);
			i += (size_t)p[i] + 1;
		}
		FUZZ_CHECK(i == len);
		break;
	}
	case SPF_RR_MX:
		FUZZ_CHECK(len >= 3 && plain_name(p + 2, len - 2));
		break;
	case SPF_RR_PTR:
	case SPF_RR_CNAME:
		FUZZ_CHECK(plain_name(p, len));
		break;
	default:
		break;
	}
}

static void read_one(const uint8_t *data, size_t size, const char *qname, uint16_t qtype)
{
	struct xp_result *r = NULL;
	const char *why = NULL;
	int rc = spf_dnsmsg_read(data, size, qname, qtype, &r, &why);
	if (rc == SPF_ENOMEM)
		return;
	FUZZ_CHECK(rc == SPF_OK && r != NULL);
	FUZZ_CHECK(!r->secure && !r->bogus);
	if (r->rcode == XP_FAIL) {
		FUZZ_CHECK(why != NULL && why[0] != '\0');
		FUZZ_CHECK(r->n == 0);
	} else {
		FUZZ_CHECK(why == NULL);
		FUZZ_CHECK(r->rcode >= 0 && r->rcode <= 15);
		FUZZ_CHECK(r->ttl <= 0x7fffffffu);
		FUZZ_CHECK(size >= SPF_DNS_HEADER_LEN);
		bool counted = (data[6] | data[7] | data[8] | data[9]) != 0;
		FUZZ_CHECK(r->has_records == counted);
		if (r->n > 0) {
			FUZZ_CHECK(r->rcode == 0 && r->has_records);
			FUZZ_CHECK(r->rdata != NULL && r->rdlen != NULL);
		}
		for (size_t i = 0; i < r->n; i++)
			check_rdata(qtype, r->rdata[i], r->rdlen[i]);
	}
	free(r);

	/* The query for the same question. */
	uint8_t q[SPF_DNSMSG_QUERY_MAX], w[SPF_DNS_NAME_MAX];
	size_t wl = spf_dnsmsg_name_wire(qname, w);
	size_t ql = spf_dnsmsg_query(q, sizeof(q), 0x5a5a, qname, qtype, SPF_DNS_EDNS_SIZE);
	FUZZ_CHECK(wl > 0 && ql == SPF_DNS_HEADER_LEN + wl + 4 + SPF_DNS_OPT_LEN);
	FUZZ_CHECK(memcmp(q + SPF_DNS_HEADER_LEN, w, wl) == 0);
}

/* The message's own question as a dotted name, when it can be one. */
static bool own_question(const uint8_t *m, size_t len, char *name, uint16_t *qtype)
{
	size_t p = SPF_DNS_HEADER_LEN, o = 0;
	if (len < p)
		return false;
	while (p < len && m[p] != 0) {
		size_t l = m[p];
		if (l > 63 || l > len - p - 1)
			return false;
		/* At most SPF_MAX_DOMAIN bytes dotted: 255 in wire form. */
		if (l + (o > 0 ? 1 : 0) > SPF_MAX_DOMAIN - o)
			return false;
		if (o > 0)
			name[o++] = '.';
		for (size_t i = 0; i < l; i++) {
			uint8_t c = m[p + 1 + i];
			if (c == '.' || c == '\0')
				return false;
			name[o++] = (char)c;
		}
		p += l + 1;
	}
	if (o == 0 || p >= len || 2 > len - p - 1)
		return false;
	name[o] = '\0';
	*qtype = (uint16_t)(m[p + 1] << 8 | m[p + 2]);
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Room for 255 bytes of labels and dots, and the NUL. */
	char qname[SPF_DNS_NAME_MAX + 8];
	uint16_t qtype;
	if (own_question(data, size, qname, &qtype)) {
		uint8_t w[SPF_DNS_NAME_MAX];
		/* Every name own_question() accepts is one the reader must accept. */
		FUZZ_CHECK(spf_dnsmsg_name_wire(qname, w) > 0);
		read_one(data, size, qname, qtype);
	}
	static const uint16_t types[] = { SPF_RR_A, SPF_RR_AAAA, SPF_RR_TXT, SPF_RR_MX,
		SPF_RR_PTR, SPF_RR_CNAME, 6, 2 };
	uint16_t t = types[size > 0 ? data[size - 1] % 8 : 0];
	read_one(data, size, "example.com", t);
	return 0;
}
