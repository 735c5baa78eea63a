/*
 * spfgate/spfgate.h - the public API of libspfgate, an RFC 7208 SPF evaluator.
 *
 * An evaluation (struct spf_eval) is one check_host() from the top level.  It is a
 * resumable state machine: it never blocks, never does I/O and never calls anybody
 * back.  It hands out DNS questions and takes answers:
 *
 *	struct spf_eval *ev;
 *	spf_eval_new(&ev, &opts, &req);
 *	while (spf_eval_run(ev) == SPF_STEP_NEED_DNS) {
 *		struct spf_query q;
 *		while (spf_eval_next_query(ev, &q))
 *			submit(q.id, q.name, q.type);    -- any driver, any order
 *		wait_for_answers();                      -- spf_eval_answer(ev, id, &ans)
 *	}
 *	outcome = spf_eval_outcome(ev);
 *	spf_eval_free(ev);
 *
 * Several questions may be outstanding at once (the address lookups of all MX hosts
 * go out together); answers may arrive in any order.  The driver in spfgate/zone.h
 * answers from memory, the one in spfgate/unbound.h from live DNS.
 *
 * Results are not errors: enum spf_result is the answer of SPF; functions that can
 * fail return enum spf_status (0 or negative) and spf_strerror() describes it.
 *
 * Memory: everything an outcome points to belongs to the evaluation and lives until
 * spf_eval_free().  Strings passed in are copied.
 */
#ifndef SPFGATE_H
#define SPFGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spfgate/limits.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SPFGATE_VERSION "0.1.0"

/* The seven results of RFC 7208 §2.6. */
enum spf_result {
	SPF_RESULT_NONE,
	SPF_RESULT_NEUTRAL,
	SPF_RESULT_PASS,
	SPF_RESULT_FAIL,
	SPF_RESULT_SOFTFAIL,
	SPF_RESULT_TEMPERROR,
	SPF_RESULT_PERMERROR,
};
#define SPF_RESULT_COUNT 7

/* "none", "neutral", "pass", ...; never NULL. */
const char *spf_result_name(enum spf_result r);
/* Parses a lower- or upper-case result name; returns SPF_OK or SPF_EINVAL. */
int spf_result_parse(const char *name, enum spf_result *out);

/* Status codes of API calls; results of SPF are never reported this way. */
enum spf_status {
	SPF_OK = 0,
	SPF_ENOMEM = -1,   /* out of memory, or the evaluation's memory cap reached */
	SPF_EINVAL = -2,   /* invalid argument (a malformed address, an empty domain) */
	SPF_ESTATE = -3,   /* call not allowed in the current state */
	SPF_ENOENT = -4,   /* no such item (an unknown query id, a missing file) */
	SPF_ESYNTAX = -5,  /* malformed input (zone file, record) */
	SPF_EIO = -6,      /* an I/O or resolver error in a driver */
	SPF_ELIMIT = -7,   /* an implementation limit was reached */
};
/* A constant English description of a status code. */
const char *spf_strerror(int status);

/* The identity being checked (§2.3, §2.4). */
enum spf_identity {
	SPF_IDENTITY_MAILFROM,
	SPF_IDENTITY_HELO,
};
/* "mailfrom" or "helo", as used in Received-SPF identity= (§9.1). */
const char *spf_identity_name(enum spf_identity id);

/*
 * An IP address.  family is 4 or 6; an IPv4 address sits in a[0..3].  IPv4-mapped
 * IPv6 addresses (::ffff:a.b.c.d) are always stored as IPv4 (RFC 7208 §5).
 */
struct spf_addr {
	int family;
	uint8_t a[16];
};
/* Parses IPv4 dotted quad or any RFC 4291 IPv6 text; SPF_OK or SPF_EINVAL. */
int spf_addr_parse(const char *text, struct spf_addr *out);
/* Same for a (pointer, length) view; text need not be NUL-terminated. */
int spf_addr_parse_n(const char *text, size_t len, struct spf_addr *out);
/* Writes the RFC 5952 text form, NUL-terminated; returns its length, or 0 if cap is too
 * small.  SPF_ADDR_TEXT_MAX bytes always suffice. */
size_t spf_addr_format(const struct spf_addr *addr, char *buf, size_t cap);
#define SPF_ADDR_TEXT_MAX 46
/* Does addr lie in net/prefix (prefix in bits of net's family)?  Never across families. */
bool spf_addr_in_net(const struct spf_addr *addr, const struct spf_addr *net, unsigned prefix);

/* ---------------------------------------------------------------------------------- */
/* DNS, as the evaluator sees it                                                        */

/* The record types the evaluator asks for (RFC 1035, RFC 3596 numbers). */
enum spf_rrtype {
	SPF_RR_A = 1,
	SPF_RR_CNAME = 5,
	SPF_RR_PTR = 12,
	SPF_RR_MX = 15,
	SPF_RR_TXT = 16,
	SPF_RR_AAAA = 28,
};
/* "A", "MX", ... or "TYPEnn" (into a static buffer: for known types only). */
const char *spf_rrtype_name(uint16_t type);

/* Outcome classes of one DNS question (RFC 7208 §2.6, §5). */
enum spf_rcode {
	SPF_DNS_NOERROR,   /* answer, possibly with no records of the type (NODATA) */
	SPF_DNS_NXDOMAIN,  /* the name does not exist */
	SPF_DNS_SERVFAIL,  /* SERVFAIL, REFUSED, FORMERR, a CNAME loop: any other error */
	SPF_DNS_TIMEOUT,   /* no answer in time */
};
const char *spf_rcode_name(enum spf_rcode rc);

/*
 * One question handed out by the evaluator.  name is NUL-terminated, without a trailing
 * dot, at most SPF_MAX_DOMAIN bytes, with every label 1..63 bytes; it may contain any
 * byte 0x20..0xff except '.' inside labels (a sender's local part can put spaces into
 * an exists: name).  name stays valid until the evaluation is freed.
 */
struct spf_query {
	uint32_t id;
	uint16_t type;
	const char *name;
};

/*
 * One resource record of an answer: its type and its RDATA in uncompressed wire form
 * (RFC 1035 §3.3): A = 4 bytes, AAAA = 16, MX = preference + name, PTR = name,
 * TXT = one or more <length, bytes> character-strings.  Records of other types than
 * the question's (CNAMEs of a chain, say) are allowed and ignored.
 */
struct spf_rr {
	uint16_t type;
	uint16_t rdlen;
	const uint8_t *rdata;
};

/* An answer to one question.  The evaluator copies what it needs during the call. */
struct spf_answer {
	enum spf_rcode rcode;
	const struct spf_rr *rr;
	size_t nrr;
	uint32_t ttl;        /* seconds; informational (trace) */
	uint32_t latency_us; /* time the driver waited for it; informational (trace) */
	bool cached;         /* answered from a cache without a network round trip */
	bool secure;         /* DNSSEC-validated (only meaningful with a trust anchor) */
	bool prefetched;     /* driver-side note for the trace */
};

/* ---------------------------------------------------------------------------------- */
/* Evaluation                                                                           */

struct spf_options {
	/* §4.6.4 void-lookup limit; default SPF_MAX_VOID_LOOKUPS. */
	unsigned max_void_lookups;
	/* Explanation for a fail without a usable exp= (§6.2).  A macro-string as in an
	 * exp= record (so "%{i} is not allowed to send for %{d}" works); NULL selects the
	 * built-in text.  Copied. */
	const char *default_explanation;
	/* This host's name: %{r} and Received-SPF receiver=; NULL gives "unknown". Copied. */
	const char *receiver;
	/* %{t}: the current time, seconds since the epoch.  The library has no clock. */
	int64_t now;
	/* Fetch the lookups of a record's terms as soon as the record is read (see README);
	 * evaluation order and limit counting are unaffected.  Default true. */
	bool prefetch;
	/* Keep a trace of every query, answer and term (spf_eval_trace()). Default false. */
	bool trace;
	/* Bytes the evaluation may allocate; default SPF_DEFAULT_MEM_LIMIT. */
	size_t mem_limit;
};
/* Fills in the defaults above. */
void spf_options_init(struct spf_options *opts);

struct spf_request {
	enum spf_identity identity;
	struct spf_addr client;
	/* HELO/EHLO argument; may be NULL or "".  Used for %{h} and for the HELO identity. */
	const char *helo;
	/* MAIL FROM reverse-path without angle brackets; "" or NULL is the null sender,
	 * checked as postmaster@HELO (§2.4).  Ignored for SPF_IDENTITY_HELO. */
	const char *sender;
};

enum spf_step {
	SPF_STEP_DONE,     /* the outcome is ready */
	SPF_STEP_NEED_DNS, /* collect questions with spf_eval_next_query(), answer them */
};

struct spf_eval;

/*
 * Creates an evaluation.  Nothing is asked before the first spf_eval_run().
 * Returns SPF_OK, SPF_ENOMEM, or SPF_EINVAL (bad options; client family not 4/6).
 * A malformed identity is not an API error: its result is "none" (§4.3).
 */
int spf_eval_new(struct spf_eval **out, const struct spf_options *opts,
    const struct spf_request *req);

/* Advances as far as the answers so far allow. */
enum spf_step spf_eval_run(struct spf_eval *ev);

/* Hands out the next question not yet handed out; false when there is none. */
bool spf_eval_next_query(struct spf_eval *ev, struct spf_query *q);

/* Number of questions handed out and not yet answered. */
size_t spf_eval_pending(const struct spf_eval *ev);

/*
 * Gives the answer to question id.  Returns SPF_OK, SPF_ENOENT when id is unknown or
 * was answered already (a late or duplicate answer: ignore it), SPF_ENOMEM.  Malformed
 * records inside the answer are not errors; the evaluator treats them per RFC 7208.
 */
int spf_eval_answer(struct spf_eval *ev, uint32_t id, const struct spf_answer *ans);

/*
 * The time budget ran out (§4.6.4): the evaluation ends with temperror and no more
 * questions.  Outstanding questions can be cancelled by the driver; answers that still
 * arrive are refused with SPF_ENOENT.
 */
void spf_eval_expire(struct spf_eval *ev);

/* The result and everything known about how it was reached. */
struct spf_outcome {
	enum spf_result result;
	enum spf_identity identity;
	/* The domain checked first (the MAIL FROM domain or the HELO name). */
	const char *checked_domain;
	/* The domain whose record decided (after redirect=, or inside include:). */
	const char *domain;
	/* The term that decided, as written ("-all", "include:_spf.example.com"), or NULL
	 * when no term did (default neutral, none, a limit, ...). */
	const char *mechanism;
	/* For fail: the expanded exp= text or the default explanation; otherwise NULL. */
	const char *explanation;
	/* For permerror and temperror: what went wrong, where ("example.com: term 3
	 * 'ip4:1.2.3.4/33' at byte 21: invalid CIDR length").  NULL otherwise. */
	const char *problem;
	/* The parts of problem, for programs: domain, term text, byte offset in the
	 * record (or -1 when the problem is not a syntax error). */
	const char *problem_domain;
	const char *problem_term;
	long problem_offset;
	/* §4.6.4 counters: DNS-querying terms evaluated, void lookups. */
	unsigned dns_lookups;
	unsigned void_lookups;
	/* Questions handed out to the driver (including prefetches). */
	unsigned dns_queries;
	/* Every answer that contributed was DNSSEC-secure. */
	bool secure;
	/* The identity as evaluated: the sender (postmaster@helo for a null sender), its
	 * local part and domain, the HELO name (may be ""), the client. */
	const char *sender;
	const char *helo;
	struct spf_addr client;
	const char *receiver;
};
/* The outcome; NULL before SPF_STEP_DONE. Owned by the evaluation. */
const struct spf_outcome *spf_eval_outcome(const struct spf_eval *ev);

/* Trace entries, kept when spf_options.trace is set. */
enum spf_trace_kind {
	SPF_TRACE_QUERY,   /* a question handed out ("TXT example.com") */
	SPF_TRACE_ANSWER,  /* its answer, with latency and cache/prefetch flags */
	SPF_TRACE_RECORD,  /* the SPF record selected for a domain */
	SPF_TRACE_TERM,    /* a term evaluated and its outcome ("ip4:1.2.3.0/24 -> no match") */
	SPF_TRACE_NOTE,    /* anything else worth knowing (limits, ignored exp, ...) */
	SPF_TRACE_RESULT,  /* the result of one check_host() level */
};
struct spf_trace {
	enum spf_trace_kind kind;
	unsigned depth;     /* include/redirect depth, 0 at the top */
	const char *domain; /* the domain being evaluated at that depth */
	const char *text;   /* printable ASCII: everything from DNS is escaped */
};
/* The trace so far; *out is valid until the next call on ev. */
size_t spf_eval_trace(const struct spf_eval *ev, const struct spf_trace **out);
const char *spf_trace_kind_name(enum spf_trace_kind kind);

void spf_eval_free(struct spf_eval *ev);

/* ---------------------------------------------------------------------------------- */
/* Headers                                                                              */

/*
 * Renders "Received-SPF: <result> (<comment>) key=value; ..." (RFC 7208 §9.1 with
 * erratum 5436) on one line without CRLF, NUL-terminated, into buf.  receiver may be
 * NULL (outcome->receiver is used).  Everything that came from the network is escaped
 * or quoted so the header cannot be broken.  Returns the length, or SPF_ELIMIT when
 * cap is too small (SPF_HEADER_MAX always suffices).
 */
int spf_header_received_spf(const struct spf_outcome *o, const char *receiver,
    char *buf, size_t cap);

/*
 * Renders the "spf" method of Authentication-Results (RFC 7601 §2.7.2), e.g.
 * "spf=fail smtp.mailfrom=example.com", without the header name.  Several of these
 * can be joined with "; " after an authserv-id.  Returns length or SPF_ELIMIT.
 */
int spf_header_ar_method(const struct spf_outcome *o, char *buf, size_t cap);

/*
 * Renders a whole "Authentication-Results: <authserv-id>; spf=..." line for one
 * outcome.  Returns length or SPF_ELIMIT.
 */
int spf_header_auth_results(const struct spf_outcome *o, const char *authserv_id,
    char *buf, size_t cap);
#define SPF_HEADER_MAX 2048

#ifdef __cplusplus
}
#endif

#endif
