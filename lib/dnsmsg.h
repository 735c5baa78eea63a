/*
 * dnsmsg.h - DNS messages in wire form (RFC 1035 §4): the query a stub sends and a
 * reader of the response it gets back.
 *
 * Pure code: no I/O, no clock, no globals.  The reader never reads outside the
 * message it is given, never follows a compression pointer forwards, and allocates
 * exactly one block for its result, sized before it is filled and filled through
 * bounded puts.  lib/stub.c uses it; so do tests/unit/test_dnsmsg.c and
 * fuzz/fuzz_dnsmsg.c.
 */
#ifndef SPF_DNSMSG_H
#define SPF_DNSMSG_H

#include <stddef.h>
#include <stdint.h>

#include "transport.h"

/* RFC 1035 §3.1: a name in wire form, length octets and the root label included. */
#define SPF_DNS_NAME_MAX 255
/* RFC 1035 §4.1.1: the fixed header. */
#define SPF_DNS_HEADER_LEN 12
/* RFC 6891 §6.1.1: the OPT pseudo-RR of a query without options (root owner, type,
 * class, TTL, RDLENGTH). */
#define SPF_DNS_OPT_LEN 11
/* The largest query spf_dnsmsg_query() writes: header, question, OPT. */
#define SPF_DNSMSG_QUERY_MAX (SPF_DNS_HEADER_LEN + SPF_DNS_NAME_MAX + 4 + SPF_DNS_OPT_LEN)
/* CNAME links the reader follows from the question's name; one more is a failure
 * (unbound's MAX_RESTART_COUNT is 11, BIND's 16). */
#define SPF_DNSMSG_MAX_CHAIN 16
/* The EDNS0 UDP payload size a query advertises: the DNS Flag Day 2020 value, which
 * avoids IP fragmentation on every common path. */
#define SPF_DNS_EDNS_SIZE 1232

/*
 * Writes the wire form of name (dotted, no trailing dot, no escapes: every byte but
 * '.' is label data) into out.  Returns its length (root label included), or 0 when
 * name is empty, has an empty label or one longer than 63 bytes, or is longer than
 * SPF_DNS_NAME_MAX bytes in wire form.
 */
size_t spf_dnsmsg_name_wire(const char *name, uint8_t out[SPF_DNS_NAME_MAX]);

/*
 * Writes a standard query for (name, qtype, class IN) with the given id, RD set and,
 * when edns_size is not 0, an EDNS0 OPT RR advertising edns_size bytes (DO clear,
 * version 0, no options), into buf[0..cap).  Returns the length, or 0 when name is
 * not valid (see above) or cap is too small (SPF_DNSMSG_QUERY_MAX always suffices).
 */
size_t spf_dnsmsg_query(uint8_t *buf, size_t cap, uint16_t id, const char *name,
    uint16_t qtype, uint16_t edns_size);

/*
 * Reads the response m[0..len) to the question (qname, qtype, class IN); qname as for
 * spf_dnsmsg_name_wire(), compared case-insensitively (ASCII only).  The ID is not
 * looked at (matching answers to questions is the transport's business).
 *
 * SPF_OK: *out is the answer as lib/transport.h describes it, secure and bogus false,
 * in one allocation that the caller frees with free().  An unusable message is not an
 * error of this function: it is an answer with rcode XP_FAIL, and then *why (when why
 * is not NULL) points to a constant English reason; otherwise *why is NULL.
 * SPF_EINVAL: qname is not a valid name; SPF_ENOMEM.  On error *out is NULL.
 *
 * What is read (RFC 1035 §4.1, RFC 2308, RFC 2181):
 *   - the header: QR set, opcode QUERY, TC clear, RCODE;
 *   - the question: exactly one, equal to (qname, qtype, IN);
 *   - the answer and authority sections, every RR framed within the message; the
 *     additional section is not read (its OPT RR included; the RCODE is the
 *     header's 4 bits);
 *   - NOERROR and NXDOMAIN: the CNAME chain (class IN) from qname through the answer
 *     section, at most SPF_DNSMSG_MAX_CHAIN links and no name twice (unless qtype is
 *     CNAME: then nothing is followed); NOERROR only: the RRs of qtype and class IN
 *     owned by the chain's last name;
 *   - TTLs: with records, the smallest TTL of the chain's CNAMEs and those records;
 *     without (NXDOMAIN, NODATA, a chain ending in nothing), the smallest of the
 *     chain's TTLs and the negative TTL min(SOA TTL, SOA MINIMUM) of the first SOA
 *     of class IN in the authority section, 0 without one; a TTL with the top bit set
 *     counts as 0;
 *   - other RCODEs: no records, TTL 0;
 *   - has_records: the answer or authority section counts at least one RR.
 * RDATA out: A 4 bytes, AAAA 16, TXT one or more character-strings filling it
 * exactly, MX preference and name, PTR and CNAME a name, every name decompressed
 * (pointers only backwards, never into the header, at most 255 bytes in all) and
 * filling the RDATA exactly; RRs of other types are copied as they are.  A record of
 * qtype at the chain's end or a CNAME of the chain that breaks these rules, or an SOA
 * used for the negative TTL that is short, makes the whole answer XP_FAIL
 * (temperror): an answer with one bad record of the type asked for is not trusted
 * to be complete.  Records that are not used (other owners, other types) are framed
 * but their RDATA is not inspected.
 */
int spf_dnsmsg_read(const uint8_t *m, size_t len, const char *qname, uint16_t qtype,
    struct xp_result **out, const char **why);

#endif
