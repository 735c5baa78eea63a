/*
 * spfgate/resolver.h - the live DNS driver: one answer cache per process, two engines.
 *
 * A struct spf_resolver drives any number of evaluations at once.  Identical questions
 * of concurrent evaluations share one outstanding query, and a bounded, TTL-respecting
 * cache of decoded answers (positive and negative) answers a question asked again at
 * once (a warm evaluation finishes inside spf_resolver_start()).  Questions that must
 * go out are asked by an engine: libunbound (validating, recursive, with its own cache
 * and thread; the default) or the stub (c-ares to the resolvers of resolv.conf or the
 * forwarders: no thread, starts in well under a millisecond; the daemon's choice for
 * processes spawned per SMTP session).  It plugs into an event loop through
 * spf_resolver_fd() and spf_resolver_process(), or runs one evaluation to completion
 * with spf_resolver_run() (the command line).
 *
 * A zone (spfgate/zone.h) can be laid over live DNS: names at or below its apexes are
 * answered from it; with offline set, every other name is NXDOMAIN and no engine is
 * made.
 *
 * Callbacks: done() is called exactly once per started check, unless the check is
 * cancelled first.  It may be called from inside spf_resolver_start() (every answer was
 * already known), from spf_resolver_process(), or from spf_check_expire().  The
 * evaluation still belongs to the caller; free it after done(), not before.
 *
 * Late answers (for a cancelled, expired or finished check) are dropped: callbacks
 * from the engine carry ids, never pointers to checks.
 */
#ifndef SPFGATE_RESOLVER_H
#define SPFGATE_RESOLVER_H

#include "spfgate/spfgate.h"
#include "spfgate/zone.h"

#ifdef __cplusplus
extern "C" {
#endif

enum spf_resolver_mode {
	SPF_RESOLVER_SYSTEM,  /* the resolvers of /etc/resolv.conf (default) */
	SPF_RESOLVER_FORWARD, /* explicit forwarders */
	SPF_RESOLVER_RECURSE, /* full recursion from the root */
};

/* Who asks DNS (see lib/transport.h).  AUTO is LIBUNBOUND. */
enum spf_resolver_engine {
	SPF_ENGINE_AUTO,
	SPF_ENGINE_LIBUNBOUND, /* validating, caching, recursive; a thread; loaded on use */
	SPF_ENGINE_STUB,       /* c-ares to the system's or the configured resolvers: no
	                        * thread, no recursion, no DNSSEC validation; light */
};

struct spf_resolver_options {
	enum spf_resolver_mode mode;
	/* SPF_RESOLVER_FORWARD: "IP" or "IP@port", IPv4 or IPv6. */
	const char *const *forwarders;
	size_t nforwarders;
	/* A DNSSEC trust anchor file; NULL for none.  With one, answers carry
	 * spf_answer.secure and bogus answers are SERVFAIL.  Both kinds unbound.conf
	 * takes are accepted, told apart by content: a file with a line starting
	 * ";;id:" is an RFC 5011 auto-trust-anchor-file (as unbound and unbound-anchor
	 * write it; libunbound rewrites it, so it must be writable); any other file is a
	 * trust-anchor-file of DS or DNSKEY records in zone format, only read. */
	const char *trust_anchor_file;
	/* Prefer TCP for every upstream query (tests; default false). */
	bool tcp_only;
	/* A zone answering the names it covers (may be NULL), and whether every name it
	 * does not cover is NXDOMAIN.  The zone must outlive the resolver. */
	const struct spf_zone *zone;
	bool offline;
	/* Bounds of the answer cache in front of the engine (see lib/resolver.c): at most
	 * this many answers and about this many bytes (entry, key and RDATA counted);
	 * the least recently used answers go first.  0 selects the built-in default
	 * (65536 answers, 8 MiB).  Added after the fields above; keep it last. */
	size_t cache_max_entries;
	size_t cache_max_bytes;
	/* The engine (added after the fields above; keep it last).  The stub refuses
	 * SPF_RESOLVER_RECURSE and a trust anchor. */
	enum spf_resolver_engine engine;
};
void spf_resolver_options_init(struct spf_resolver_options *o);

struct spf_resolver;
struct spf_check;

/* Creates the resolver.  On failure returns a status and writes why into err. */
int spf_resolver_new(struct spf_resolver **out, const struct spf_resolver_options *o,
    char *err, size_t errcap);
void spf_resolver_free(struct spf_resolver *r);

/* The descriptor to watch for reading (-1 in offline mode: nothing to watch). */
int spf_resolver_fd(const struct spf_resolver *r);
/* Reads answers that have arrived and advances the checks they belong to; may call
 * done() callbacks.  Returns SPF_OK or SPF_EIO. */
int spf_resolver_process(struct spf_resolver *r);

typedef void spf_check_done_fn(struct spf_check *c, struct spf_eval *ev, void *arg);

/*
 * Starts driving ev (fresh from spf_eval_new()).  done(c, ev, arg) is called when ev
 * has its outcome.  *out (may be NULL) receives a handle for spf_check_cancel() and
 * spf_check_expire(), valid until done() returns or the check is cancelled.
 */
int spf_resolver_start(struct spf_resolver *r, struct spf_eval *ev, spf_check_done_fn *done,
    void *arg, struct spf_check **out);
/* Stops the check without calling done(); its queries are dropped or cancelled. */
void spf_check_cancel(struct spf_check *c);
/* The caller's time budget for the check ran out: the evaluation ends in temperror,
 * outstanding queries are cancelled, and done() is called before this returns. */
void spf_check_expire(struct spf_check *c);

/* Runs ev to completion, waiting at most budget_ms (then temperror).  Blocking. */
int spf_resolver_run(struct spf_resolver *r, struct spf_eval *ev, unsigned budget_ms);

/* "libunbound", "stub" or "offline" (no engine: every name from the zone). */
const char *spf_resolver_engine(const struct spf_resolver *r);

/* Counters for statistics and tests. */
struct spf_resolver_stats {
	unsigned long queries_sent;    /* questions given to the engine */
	unsigned long queries_shared;  /* questions answered by joining one already out */
	unsigned long answers;         /* answers received from the engine */
	unsigned long late_answers;    /* answers that found no waiting check */
	unsigned long zone_answers;    /* questions answered from the overlay zone */
	unsigned long checks_active;
	/* The answer cache (added after the fields above).  A hit answers a question
	 * at once, without the engine; a miss goes on to the in-flight table. */
	unsigned long cache_hits;      /* questions answered from the answer cache */
	unsigned long cache_misses;    /* questions it could not answer */
	unsigned long cache_evictions; /* answers dropped for room before they expired */
	unsigned long cache_entries;   /* answers held now (expired ones included until
	                                * they are looked up or evicted) */
	unsigned long cache_bytes;     /* their accounted size now */
};
void spf_resolver_stats(const struct spf_resolver *r, struct spf_resolver_stats *s);

#ifdef __cplusplus
}
#endif

#endif
