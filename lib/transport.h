/*
 * transport.h - how the resolver (lib/resolver.c) reaches DNS.
 *
 * The resolver owns everything that is the same whoever answers: checks, the
 * in-flight table (one query per distinct question), the answer cache, the zone
 * overlay, the budget.  A transport only sends questions and hands back answers:
 *
 *   libunbound (lib/unbound.c)  a validating, caching, recursive resolver library,
 *                               loaded with dlopen() on first use (start-up cost);
 *   stub (lib/stub.c)           a stub over c-ares to the resolvers of resolv.conf or
 *                               the configured forwarders: no thread, no cache of its
 *                               own (the resolver's answer cache is the cache), a
 *                               small library, so a spawned process starts fast.
 *
 * Rules every transport keeps:
 *   - answer() is called only from inside ops->process(), never from ops->submit()
 *     (a question that cannot be sent makes submit() fail instead);
 *   - answer() is called exactly once per submitted question unless ops->cancel()
 *     returned true for it or the transport is freed first (then never);
 *   - the xp_result given to answer() stays valid until ops->result_free();
 *   - RDATA in a result holds every domain name uncompressed (as in RFC 3597 wire
 *     form), so MX and PTR RDATA can be read without the message.
 */
#ifndef SPFGATE_TRANSPORT_H
#define SPFGATE_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spfgate/resolver.h"

/* xp_result.rcode when no usable answer came: timeout, no server, transport error,
 * an answer that does not parse.  Mapped to SERVFAIL (temperror), never cached. */
#define XP_FAIL (-1)

/* One answer, as the resolver maps it (RFC 7208 §2.6, §5). */
struct xp_result {
	int rcode;        /* XP_FAIL, or the RCODE of the answer (0 NOERROR, 3 NXDOMAIN, ...) */
	bool secure;      /* DNSSEC-validated by this transport */
	bool bogus;       /* DNSSEC validation failed: the data must not be used */
	bool has_records; /* the answer or authority section held at least one record */
	/* NOERROR with records: the smallest TTL of the CNAME chain and the final RRset.
	 * NXDOMAIN and NODATA: the negative TTL of RFC 2308, min(SOA TTL, SOA MINIMUM),
	 * 0 without an SOA.  TTLs with the top bit set count as 0 (RFC 2181 §8). */
	uint32_t ttl;
	/* The records of the question's type at the end of the CNAME chain. */
	size_t n;
	const uint8_t *const *rdata;
	const uint16_t *rdlen;
};

struct xp;
/* Called for every answer; tag is what submit() was given.  res is NULL when the
 * transport could not make one (out of memory): SERVFAIL, never cached. */
typedef void xp_answer_fn(void *owner, void *tag, struct xp_result *res);

struct xp_ops {
	const char *name; /* "libunbound", "stub" */
	/* The descriptor to watch for reading (one, whatever the transport uses inside). */
	int (*fd)(const struct xp *t);
	/* Sends the question (name: dotted, no trailing dot, no escapes: the bytes of
	 * the labels as spf_query.name has them).  On success *id names it for cancel().
	 * SPF_OK or an error (then answer() will not be called for it). */
	int (*submit)(struct xp *t, const char *name, uint16_t type, void *tag, int *id);
	/* true: answer() will not be called for id; false: it still will be. */
	bool (*cancel)(struct xp *t, int id);
	/* Reads what arrived, runs timers; calls answer().  SPF_OK or SPF_EIO. */
	int (*process)(struct xp *t);
	void (*result_free)(struct xp *t, struct xp_result *res);
	/* Frees the transport; answer() is not called for questions still out. */
	void (*free)(struct xp *t);
};

struct xp {
	const struct xp_ops *ops;
	xp_answer_fn *answer;
	void *owner;
};

/* Constructors: on failure a status, and why in err.  o->mode, forwarders,
 * trust_anchor_file and tcp_only are theirs to honour (or to refuse, with a reason). */
typedef int xp_new_fn(struct xp **out, const struct spf_resolver_options *o,
    xp_answer_fn *answer, void *owner, char *err, size_t errcap);
xp_new_fn xp_unbound_new;
xp_new_fn xp_stub_new;

#endif
