/*
 * dnsmsg.c - DNS messages in wire form: queries written, responses read.
 *
 * Entry points: spf_dnsmsg_name_wire, spf_dnsmsg_query, spf_dnsmsg_read (dnsmsg.h).
 *
 * The reader is what stands between a DNS server (or anybody who can get a packet
 * to the stub's socket) and the evaluator, so it is written like the parsers of
 * STYLE.md: every offset is checked against the message length before it is used,
 * lengths are compared before they are subtracted, nothing is read outside
 * m[0..len), and nothing is written but through bounded puts.  It reads in two
 * passes over the same code:
 *
 *   1. check:  the header and the question; the framing of every RR of the answer
 *              and authority sections (owner name, fixed part, RDLENGTH within the
 *              message); the CNAME chain from the question's name; the records of
 *              the question's type at the chain's end, each validated and its
 *              output size added up (sizes compared before they are added); the
 *              negative TTL;
 *   2. copy:   one allocation of exactly the size found, holding the struct
 *              xp_result, the RDATA pointer and length arrays and the RDATA bytes;
 *              the same records are decoded again by the same function and put
 *              into it through a bounded spf_buf.  Should the two passes ever
 *              disagree, the buffer refuses to overflow and the answer is XP_FAIL.
 * So the result is freed with one free(), and the caller needs nothing but it.
 *
 * Names (RFC 1035 §3.1, §4.1.4).  A name is read into its uncompressed wire form,
 * at most 255 bytes.  A compression pointer must point strictly before the start of
 * the run of labels it ends (so each jump goes further back and a loop cannot
 * happen), never into the 12-byte header, and a name may take at most
 * NAME_MAX_POINTERS of them.  Label types 01 and 10 (RFC 6891 §5 made them
 * history) are errors.  Names are compared in wire form, ASCII case-insensitively
 * (RFC 4343); length bytes (at most 63) are never letters.
 *
 * The answer (RFC 1034 §3.6.2, §4.3.2; RFC 2308; RFC 2181 §8, §10.1).  Starting at
 * the question's name, the answer section is searched for a CNAME (class IN) owned
 * by the current name; its target becomes the current name.  At most
 * SPF_DNSMSG_MAX_CHAIN links, and no name may come back (a loop): either is
 * XP_FAIL, what a recursive resolver reports as SERVFAIL.  A name with several
 * CNAMEs (RFC 2181 §10.1 forbids it) follows the first.  Then the RRs of the
 * question's type and class IN owned by the chain's last name are the answer, in
 * message order.  RRs of other owners, types or classes are ignored, as are the
 * additional section and the EDNS extended RCODE (the header's four bits are the
 * RCODE).  NXDOMAIN keeps its chain (RFC 6604: the RCODE speaks of the last name)
 * but never has records.
 *
 * TTLs.  With records: the smallest TTL of the chain's CNAMEs and of the records.
 * Without (NXDOMAIN, NODATA, a chain to a name with no data): RFC 2308 §5's negative
 * TTL, min(SOA TTL, SOA MINIMUM) of the first class-IN SOA in the authority
 * section, 0 without one; and since the cached answer also depends on the chain,
 * never more than the chain's smallest TTL.  A TTL (or MINIMUM) with the top bit set
 * is 0 (RFC 2181 §8).
 *
 * Malformed data.  A broken header, question, RR framing or name anywhere in the
 * answer and authority sections makes the message unreadable: XP_FAIL.  A record
 * whose RDATA is used and is malformed (A not 4 bytes, AAAA not 16, TXT strings not
 * filling RDATA exactly (none at all is an empty record), MX/PTR/CNAME names not filling it
 * exactly; a CNAME of the chain; the SOA taken for the negative TTL) is also
 * XP_FAIL, for the whole answer: a set with one bad member of the type asked for
 * cannot be trusted to be the whole set, and temperror is the safe outcome.  RDATA
 * of records that are not used is not inspected.
 *
 * Memory: spf_dnsmsg_read() returns one malloc'd block (free() it); the others write
 * into the caller's buffers.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dnsmsg.h"
#include "spfgate/spfgate.h"

#define DNS_CLASS_IN 1
#define DNS_TYPE_SOA 6
#define DNS_TYPE_OPT 41
#define DNS_RCODE_NOERROR 0
#define DNS_RCODE_NXDOMAIN 3

#define DNS_FLAG_QR 0x8000u
#define DNS_FLAG_TC 0x0200u
#define DNS_FLAG_RD 0x0100u
#define DNS_OPCODE(flags) (((flags) >> 11) & 0xfu)
#define DNS_RCODE(flags) ((flags)&0xfu)

/* RFC 1035 §4.1.2, §4.1.3: what follows a name in a question and in an RR. */
#define QUESTION_FIXED 4
#define RR_FIXED 10
/* The top two bits of a label length byte: 00 a label, 11 a pointer. */
#define LABEL_KIND 0xc0u
#define LABEL_POINTER 0xc0u
/* A 255-byte name has at most 127 labels; no sane name needs more pointers. */
#define NAME_MAX_POINTERS 127
/* SOA RDATA after its two names: SERIAL, REFRESH, RETRY, EXPIRE, MINIMUM. */
#define SOA_FIXED 20

struct msg {
	const uint8_t *p;
	size_t len;
};

/* A name in uncompressed wire form. */
struct wname {
	uint8_t b[SPF_DNS_NAME_MAX];
	size_t len;
};

/* One resource record's place in the message. */
struct rr {
	uint16_t type, class;
	uint32_t ttl; /* as sent */
	size_t rd;    /* offset of the RDATA */
	uint16_t rdlen;
	size_t next;  /* offset of the next RR */
};

/* What the check pass found. */
struct plan {
	int rcode;
	bool has_records;
	uint32_t ttl;
	size_t an_off;      /* first RR of the answer section */
	uint16_t ancount;
	struct wname final; /* the chain's last name */
	size_t n;           /* records of the answer */
	size_t bytes;       /* their RDATA, decompressed */
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* RFC 2181 §8: a TTL with the most significant bit set is treated as zero. */
static uint32_t ttl_value(uint32_t t)
{
	return t > 0x7fffffffu ? 0 : t;
}

static uint32_t min32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c - 'A' + 'a') : c;
}

static bool name_eq(const struct wname *a, const uint8_t *b, size_t blen)
{
	if (a->len != blen)
		return false;
	for (size_t i = 0; i < blen; i++)
		if (lower(a->b[i]) != lower(b[i]))
			return false;
	return true;
}

/* ---------------------------------------------------------------- writing */

size_t spf_dnsmsg_name_wire(const char *name, uint8_t out[SPF_DNS_NAME_MAX])
{
	if (name == NULL || *name == '\0')
		return 0;
	size_t len = 0;
	const char *p = name;
	for (;;) {
		size_t l = 0;
		while (p[l] != '\0' && p[l] != '.')
			if (++l > SPF_MAX_LABEL)
				return 0;
		if (l == 0)
			return 0; /* an empty label: "a..b", ".a", "a." */
		/* The label, its length byte, and the root label still to come. */
		if (l + 1 > SPF_DNS_NAME_MAX - 1 - len)
			return 0;
		out[len] = (uint8_t)l;
		memcpy(out + len + 1, p, l);
		len += l + 1;
		p += l;
		if (*p == '\0')
			break;
		p++; /* the dot */
	}
	out[len++] = 0;
	return len;
}

size_t spf_dnsmsg_query(uint8_t *buf, size_t cap, uint16_t id, const char *name,
    uint16_t qtype, uint16_t edns_size)
{
	uint8_t w[SPF_DNS_NAME_MAX];
	size_t wl = spf_dnsmsg_name_wire(name, w);
	if (wl == 0 || buf == NULL)
		return 0;
	size_t need = SPF_DNS_HEADER_LEN + wl + QUESTION_FIXED;
	if (edns_size != 0)
		need += SPF_DNS_OPT_LEN;
	if (need > cap)
		return 0;

	uint8_t *p = buf;
	memset(p, 0, SPF_DNS_HEADER_LEN);
	put16(p, id);
	put16(p + 2, DNS_FLAG_RD); /* QUERY, RD; everything else clear */
	put16(p + 4, 1);           /* QDCOUNT */
	put16(p + 10, edns_size != 0 ? 1 : 0); /* ARCOUNT */
	p += SPF_DNS_HEADER_LEN;
	memcpy(p, w, wl);
	p += wl;
	put16(p, qtype);
	put16(p + 2, DNS_CLASS_IN);
	p += QUESTION_FIXED;
	if (edns_size != 0) {
		/* RFC 6891 §6.1.2: root owner, TYPE OPT, CLASS = payload size, TTL =
		 * extended RCODE 0, version 0, DO clear; no options. */
		p[0] = 0;
		put16(p + 1, DNS_TYPE_OPT);
		put16(p + 3, edns_size);
		memset(p + 5, 0, 6); /* TTL and RDLENGTH */
		p += SPF_DNS_OPT_LEN;
	}
	return (size_t)(p - buf);
}

/* ---------------------------------------------------------------- reading */

/*
 * Reads the name at off into n, uncompressed.  *next becomes the offset right after
 * the name as it sits at off (after its first pointer, or after its root label).
 * Returns NULL, or why the name cannot be read.
 */
static const char *name_read(const struct msg *m, size_t off, struct wname *n, size_t *next)
{
	size_t pos = off; /* the byte being read */
	size_t seg = off; /* where the current run of labels started */
	unsigned pointers = 0;
	bool jumped = false;

	n->len = 0;
	for (;;) {
		if (pos >= m->len)
			return "name runs past the end of the message";
		unsigned c = m->p[pos];
		if ((c & LABEL_KIND) == LABEL_POINTER) {
			if (m->len - pos < 2)
				return "compression pointer cut short";
			size_t target = (size_t)(c & ~LABEL_KIND) << 8 | m->p[pos + 1];
			if (target >= seg)
				return "compression pointer not pointing backwards";
			if (target < SPF_DNS_HEADER_LEN)
				return "compression pointer into the header";
			if (++pointers > NAME_MAX_POINTERS)
				return "too many compression pointers";
			if (!jumped) {
				*next = pos + 2;
				jumped = true;
			}
			pos = seg = target;
			continue;
		}
		if ((c & LABEL_KIND) != 0)
			return "unknown label type";
		if (c == 0) {
			/* n->len <= 254 here: the check below keeps room for this byte. */
			n->b[n->len++] = 0;
			if (!jumped)
				*next = pos + 1;
			return NULL;
		}
		if (c > m->len - pos - 1)
			return "label runs past the end of the message";
		/* This label with its length byte, and the root label still to come. */
		if ((size_t)c + 1 > SPF_DNS_NAME_MAX - 1 - n->len)
			return "name longer than 255 bytes";
		memcpy(n->b + n->len, m->p + pos, (size_t)c + 1);
		n->len += (size_t)c + 1;
		pos += (size_t)c + 1;
	}
}

/* Reads the RR at off: its owner into owner, the rest into rr.  NULL or why not. */
static const char *rr_read(const struct msg *m, size_t off, struct wname *owner, struct rr *rr)
{
	size_t p = 0;
	const char *why = name_read(m, off, owner, &p);
	if (why != NULL)
		return why;
	/* name_read() leaves p <= m->len. */
	if (RR_FIXED > m->len - p)
		return "resource record cut short";
	rr->type = get16(m->p + p);
	rr->class = get16(m->p + p + 2);
	rr->ttl = get32(m->p + p + 4);
	rr->rdlen = get16(m->p + p + 8);
	p += RR_FIXED;
	if (rr->rdlen > m->len - p)
		return "RDATA runs past the end of the message";
	rr->rd = p;
	rr->next = p + rr->rdlen;
	return NULL;
}

/* A name that must fill the RDATA from offset at to its end exactly. */
static const char *rdata_name(const struct msg *m, const struct rr *rr, size_t at,
    struct wname *n)
{
	size_t next = 0;
	const char *why = name_read(m, at, n, &next);
	if (why != NULL)
		return why;
	if (next != rr->next)
		return "name does not fill its RDATA";
	return NULL;
}

/*
 * Validates the RDATA of a record of the type asked for; *size is what it takes
 * uncompressed, and for MX, PTR and CNAME name is the decompressed name.
 */
static const char *rdata_check(const struct msg *m, const struct rr *rr, struct wname *name,
    size_t *size)
{
	const char *why;
	switch (rr->type) {
	case SPF_RR_A:
		if (rr->rdlen != 4)
			return "A RDATA not 4 bytes";
		*size = 4;
		return NULL;
	case SPF_RR_AAAA:
		if (rr->rdlen != 16)
			return "AAAA RDATA not 16 bytes";
		*size = 16;
		return NULL;
	case SPF_RR_TXT: {
		/* RFC 1035 §3.3.14 asks for one or more <character-string>s, but an empty
		 * TXT RDATA is served (zone files write it; the openspf suite's
		 * null.example.com has one beside its SPF record) and libunbound passes
		 * it on: a record with no strings, which is not an SPF record (RFC 7208
		 * §4.5), not a reason to fail the whole set. */
		size_t p = rr->rd;
		while (p < rr->next) {
			size_t l = m->p[p];
			if (l > rr->next - p - 1)
				return "TXT string runs past its RDATA";
			p += l + 1;
		}
		*size = rr->rdlen;
		return NULL;
	}
	case SPF_RR_MX:
		/* RFC 1035 §3.3.9: PREFERENCE, EXCHANGE. */
		if (rr->rdlen < 3)
			return "MX RDATA too short";
		if ((why = rdata_name(m, rr, rr->rd + 2, name)) != NULL)
			return why;
		*size = 2 + name->len;
		return NULL;
	case SPF_RR_PTR:
	case SPF_RR_CNAME:
		if ((why = rdata_name(m, rr, rr->rd, name)) != NULL)
			return why;
		*size = name->len;
		return NULL;
	default:
		*size = rr->rdlen; /* copied as it is */
		return NULL;
	}
}

/* The negative TTL from the SOA at rr (RFC 2308 §5). */
static const char *soa_ttl(const struct msg *m, const struct rr *rr, uint32_t *ttl)
{
	struct wname n;
	size_t p = 0;
	const char *why;
	if ((why = name_read(m, rr->rd, &n, &p)) != NULL) /* MNAME */
		return why;
	if (p > rr->next)
		return "SOA MNAME runs past its RDATA";
	if ((why = name_read(m, p, &n, &p)) != NULL) /* RNAME */
		return why;
	if (p > rr->next || rr->next - p != SOA_FIXED)
		return "SOA RDATA malformed";
	uint32_t minimum = get32(m->p + p + 16);
	*ttl = min32(ttl_value(rr->ttl), ttl_value(minimum));
	return NULL;
}

/* Does the RR at off match (type, class IN, owner)?  Framing was checked before. */
static bool rr_is(const struct msg *m, size_t off, uint16_t type, const struct wname *owner,
    struct rr *rr)
{
	struct wname o;
	if (rr_read(m, off, &o, rr) != NULL)
		return false; /* not reached: the check pass read every RR */
	return rr->type == type && rr->class == DNS_CLASS_IN &&
	    name_eq(owner, o.b, o.len);
}

/* Pass 1: everything but the copy. */
static const char *check(const struct msg *m, const uint8_t *qw, size_t qwlen, uint16_t qtype,
    struct plan *pl)
{
	const char *why;
	struct wname n;
	struct rr rr;
	size_t p = 0;

	if (m->len < SPF_DNS_HEADER_LEN)
		return "message shorter than a DNS header";
	unsigned flags = get16(m->p + 2);
	if (!(flags & DNS_FLAG_QR))
		return "not a response (QR clear)";
	if (DNS_OPCODE(flags) != 0)
		return "not a response to a standard query";
	if (flags & DNS_FLAG_TC)
		return "truncated (TC set)";
	pl->rcode = (int)DNS_RCODE(flags);
	uint16_t qdcount = get16(m->p + 4);
	pl->ancount = get16(m->p + 6);
	uint16_t nscount = get16(m->p + 8);
	pl->has_records = pl->ancount > 0 || nscount > 0;

	/* The question: exactly ours. */
	if (qdcount != 1)
		return "not exactly one question";
	if ((why = name_read(m, SPF_DNS_HEADER_LEN, &n, &p)) != NULL)
		return why;
	if (QUESTION_FIXED > m->len - p)
		return "question cut short";
	if (!name_eq(&n, qw, qwlen) || get16(m->p + p) != qtype ||
	    get16(m->p + p + 2) != DNS_CLASS_IN)
		return "question does not match";
	p += QUESTION_FIXED;

	/* Framing of the answer and authority sections. */
	pl->an_off = p;
	size_t ns_off = p;
	for (unsigned i = 0; i < (unsigned)pl->ancount + nscount; i++) {
		if (i == pl->ancount)
			ns_off = p;
		if ((why = rr_read(m, p, &n, &rr)) != NULL)
			return why;
		p = rr.next;
	}

	pl->n = 0;
	pl->bytes = 0;
	pl->ttl = 0;
	if (pl->rcode != DNS_RCODE_NOERROR && pl->rcode != DNS_RCODE_NXDOMAIN)
		return NULL; /* an error: nothing more to read */

	/* The CNAME chain. */
	struct wname seen[SPF_DNSMSG_MAX_CHAIN];
	unsigned links = 0;
	uint32_t chain_ttl = UINT32_MAX;
	memcpy(pl->final.b, qw, qwlen);
	pl->final.len = qwlen;
	while (qtype != SPF_RR_CNAME) {
		bool found = false;
		p = pl->an_off;
		for (unsigned i = 0; i < pl->ancount && !found; i++, p = rr.next)
			found = rr_is(m, p, SPF_RR_CNAME, &pl->final, &rr);
		if (!found)
			break;
		size_t size;
		if ((why = rdata_check(m, &rr, &n, &size)) != NULL)
			return why;
		if (links == SPF_DNSMSG_MAX_CHAIN)
			return "CNAME chain too long";
		if (name_eq(&n, qw, qwlen))
			return "CNAME loop";
		for (unsigned k = 0; k < links; k++)
			if (name_eq(&n, seen[k].b, seen[k].len))
				return "CNAME loop";
		seen[links++] = n;
		chain_ttl = min32(chain_ttl, ttl_value(rr.ttl));
		pl->final = n;
	}

	/* The records at the chain's end. */
	uint32_t set_ttl = UINT32_MAX;
	if (pl->rcode == DNS_RCODE_NOERROR) {
		p = pl->an_off;
		for (unsigned i = 0; i < pl->ancount; i++, p = rr.next) {
			if (!rr_is(m, p, qtype, &pl->final, &rr))
				continue;
			size_t size;
			if ((why = rdata_check(m, &rr, &n, &size)) != NULL)
				return why;
			if (size > SIZE_MAX - pl->bytes)
				return "answer too large";
			pl->bytes += size;
			pl->n++;
			set_ttl = min32(set_ttl, ttl_value(rr.ttl));
		}
	}
	if (pl->n > 0) {
		pl->ttl = min32(chain_ttl, set_ttl);
		return NULL;
	}

	/* No records: the negative TTL from the first SOA of the authority section. */
	uint32_t neg = 0;
	p = ns_off;
	for (unsigned i = 0; i < nscount; i++, p = rr.next) {
		if (rr_read(m, p, &n, &rr) != NULL)
			return "internal: authority section changed"; /* not reached */
		if (rr.type != DNS_TYPE_SOA || rr.class != DNS_CLASS_IN)
			continue;
		if ((why = soa_ttl(m, &rr, &neg)) != NULL)
			return why;
		break;
	}
	pl->ttl = min32(chain_ttl, neg);
	return NULL;
}

/* A failure answer: rcode XP_FAIL, nothing else. */
static int fail(struct xp_result **out, const char **why, const char *reason)
{
	struct xp_result *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return SPF_ENOMEM;
	r->rcode = XP_FAIL;
	*out = r;
	if (why != NULL)
		*why = reason;
	return SPF_OK;
}

int spf_dnsmsg_read(const uint8_t *mp, size_t len, const char *qname, uint16_t qtype,
    struct xp_result **out, const char **why)
{
	uint8_t qw[SPF_DNS_NAME_MAX];
	struct plan pl;
	const char *reason;

	*out = NULL;
	if (why != NULL)
		*why = NULL;
	size_t qwlen = spf_dnsmsg_name_wire(qname, qw);
	if (qwlen == 0)
		return SPF_EINVAL;
	struct msg m = { mp, mp != NULL ? len : 0 };
	memset(&pl, 0, sizeof(pl));
	if ((reason = check(&m, qw, qwlen, qtype, &pl)) != NULL)
		return fail(out, why, reason);

	/* Pass 2: one block, sized from pass 1, every size compared before it is added. */
	const size_t per_rr = sizeof(const uint8_t *) + sizeof(uint16_t);
	size_t total = sizeof(struct xp_result);
	if (pl.n > (SIZE_MAX - total) / per_rr)
		return fail(out, why, "answer too large");
	total += pl.n * per_rr;
	if (pl.bytes > SIZE_MAX - total)
		return fail(out, why, "answer too large");
	total += pl.bytes;
	/* The pointer array follows the struct (whose size is a multiple of a pointer's
	 * alignment, as it holds pointers), the lengths follow it, then the bytes. */
	struct xp_result *r = malloc(total);
	if (r == NULL)
		return SPF_ENOMEM;
	memset(r, 0, sizeof(*r));
	const uint8_t **ptrs = (const uint8_t **)(void *)(r + 1);
	uint16_t *lens = (uint16_t *)(void *)(ptrs + pl.n);
	uint8_t *bytes = (uint8_t *)(lens + pl.n);
	struct spf_buf b;
	spf_buf_init(&b, (char *)bytes, pl.bytes);

	size_t k = 0;
	size_t p = pl.an_off;
	struct rr rr;
	for (unsigned i = 0; i < pl.ancount && pl.n > 0; i++, p = rr.next) {
		if (!rr_is(&m, p, qtype, &pl.final, &rr))
			continue;
		struct wname n;
		size_t size = 0;
		if (k == pl.n || rdata_check(&m, &rr, &n, &size) != NULL)
			break; /* not reached: pass 1 saw the same */
		size_t start = b.len;
		switch (rr.type) {
		case SPF_RR_MX:
			spf_buf_put(&b, (const char *)m.p + rr.rd, 2);
			spf_buf_put(&b, (const char *)n.b, n.len);
			break;
		case SPF_RR_PTR:
		case SPF_RR_CNAME:
			spf_buf_put(&b, (const char *)n.b, n.len);
			break;
		default:
			spf_buf_put(&b, (const char *)m.p + rr.rd, rr.rdlen);
			break;
		}
		if (b.overflow || b.len - start != size)
			break;
		ptrs[k] = bytes + start;
		lens[k] = (uint16_t)size; /* at most 65535, or 2 + 255 */
		k++;
	}
	if (k != pl.n || b.overflow || b.len != pl.bytes) {
		free(r);
		return fail(out, why, "internal: the two passes disagree");
	}

	r->rcode = pl.rcode;
	r->secure = false;
	r->bogus = false;
	r->has_records = pl.has_records;
	r->ttl = pl.ttl;
	r->n = pl.n;
	r->rdata = pl.n > 0 ? ptrs : NULL;
	r->rdlen = pl.n > 0 ? lens : NULL;
	*out = r;
	return SPF_OK;
}
