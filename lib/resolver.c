/*
 * resolver.c - the live DNS driver: evaluations answered through an engine
 * (lib/transport.h: libunbound in lib/unbound.c, the c-ares stub in lib/stub.c).
 *
 * Entry points: spf_resolver_options_init, spf_resolver_new, spf_resolver_free,
 * spf_resolver_fd, spf_resolver_process, spf_resolver_start, spf_check_cancel,
 * spf_check_expire, spf_resolver_run, spf_resolver_engine, spf_resolver_stats
 * (spfgate/resolver.h).
 *
 * Everything that does not depend on who asks DNS lives here: the checks, the
 * in-flight table, the answer cache, the zone overlay.  The transport sends questions
 * and hands back answers already reduced to an xp_result (rcode, the RDATA of the
 * question's type after CNAME chasing, uncompressed, the TTL, DNSSEC flags).
 *
 * The in-flight table.  Every question given to the transport has one entry, keyed by
 * (lowercased name, type).  A check asking a question that is already out joins the
 * entry as one more waiter (check slot, check generation, query id) instead of asking
 * again (stats: queries_shared).  When the answer comes, every waiter still alive gets
 * it; a waiter whose check is gone is skipped.  An entry whose last waiter leaves
 * (cancel, expiry, a finished check's unread prefetches) is cancelled in the transport.
 *
 * Ids, not pointers.  Checks live in a slot table with generation counters; waiters
 * and in-flight entries refer to them only by (slot, generation), so an answer for a
 * check that was cancelled or expired finds a stale generation and is dropped.  The
 * only pointer handed to the transport is a small heap record (struct xreq) naming the
 * resolver and the in-flight entry by (slot, generation); it is freed by the callback,
 * or by us when the transport's cancel() succeeds (then it never calls back).
 *
 * Callbacks do no work.  The transport's process() calls back for every answer it
 * reads; the callback only parks the result on its entry and queues the entry.  After
 * process() returns, the queued answers are handed to the evaluations, and only then
 * are the evaluations advanced (which may call done(), which may start, cancel or
 * expire other checks).  So no table is ever changed while it is being walked, and
 * the transport is never re-entered from its own callback.
 *
 * The budget is the caller's: spf_check_expire() (the daemon's timer) or
 * spf_resolver_run()'s poll() timeout ends the evaluation with temperror (RFC 7208
 * §4.6.4).  The transport's own retries and timeouts end in SERVFAIL, which is
 * temperror too; whichever comes first decides.
 *
 * Answer mapping (RFC 7208 §2.6, §4.4, §5): NXDOMAIN -> NXDOMAIN; NOERROR with data ->
 * the RDATA of the question's type after CNAME chasing; NOERROR without data ->
 * NODATA; SERVFAIL, REFUSED, any other rcode, a bogus DNSSEC result, no answer
 * (XP_FAIL: timeouts, no server) or no result at all (out of memory) -> SERVFAIL.
 *
 * The answer cache.  Even from its cache, libunbound answers through its thread: the
 * question goes down a pipe, the answer comes back up another, and the event loop
 * wakes for it, so a warm evaluation cost ~33,000 instructions per question and never
 * finished in spf_resolver_start().  So every answer libunbound gives is also kept
 * here, decoded (rcode, the RRs of the question's type in wire form, the secure flag),
 * keyed by (lowercased name, type), with an absolute expiry.  check_step() asks the
 * zone overlay, then this cache, then the in-flight table; a hit is answered on the
 * spot (spf_answer.cached, latency 0), so an evaluation whose answers are all here
 * finishes inside spf_resolver_start() without a call into libunbound.
 *   How long.  Positive: the smallest TTL of the answer section (the CNAME chain
 * included), as left in libunbound's cache, at most CACHE_MAX_TTL (1 day, unbound's
 * cache-max-ttl; libunbound caps it so already).  TTL 0 is not kept.  NXDOMAIN and
 * NODATA: the TTL libunbound reports, min(SOA TTL, SOA MINIMUM) per RFC 2308, at most
 * CACHE_MAX_NEG_TTL (1 hour, cache-max-negative-ttl).  A negative TTL of 0 means that
 * libunbound's copy is in its last second (it counts whole seconds), and is not kept;
 * unless the answer had no record at all to take a TTL from (no SOA), which is kept
 * CACHE_NEG_TTL_UNKNOWN = 5 s, what unbound itself does (its NORR_TTL).  Since every
 * TTL is what libunbound has left, this cache never holds an answer longer than
 * libunbound would.  SERVFAIL (also REFUSED, bogus, libunbound's own give-up after
 * its timeouts): CACHE_ERR_TTL = 2 s.  With a server down, thousands of requests a
 * second would otherwise each start a question that takes libunbound seconds to fail;
 * in-flight sharing joins the concurrent ones, and the 2 s answer the ones that come
 * right after, while a server that recovers is seen within 2 s (unbound keeps a
 * SERVFAIL 5 s).  libunbound's own errors (err != 0: out of memory and such) are not
 * answers from DNS and are never kept.
 *   How much.  At most cache_max_entries answers and cache_max_bytes bytes
 * (spf_resolver_options; defaults 65536 and 8 MiB), counting for each the entry, a
 * bucket slot, its key and its RR array and RDATA (malloc's own overhead is not
 * counted).  When one more would not fit, the least recently used answers go first
 * (a doubly linked list through the entry table, moved on every hit); an answer
 * larger than the whole byte bound is not kept.  Expired answers are dropped when
 * looked up or when they reach the old end.  Lookups are one hash (FNV-1a) and one
 * chain walk; the bucket array doubles with the entries, so chains stay short.  With
 * this cache in front, libunbound's own caches are small (1 MB of messages, 2 MB of
 * RRsets, see lib/unbound.c): they serve what this one evicted and, in recursion mode, the
 * delegations.  Nothing is allocated before the first answer.
 *   Answers that did come through libunbound are marked cached = false: libunbound
 * does not say whether it asked the network.
 *
 * Not thread-safe: one thread drives a resolver and all of its checks.
 *
 * Which engine (spf_resolver_options.engine): SPF_ENGINE_AUTO is libunbound, the one
 * that can do everything the options ask (recursion, a trust anchor); SPF_ENGINE_STUB
 * is chosen by the caller (the daemon in spawn mode).  With the stub, the TTLs the
 * cache keeps are those the upstream resolver gave, already counted down by its cache.
 *
 * Zone overlay: names that options.zone covers are answered from it at once; with
 * offline set, every other name is NXDOMAIN and no transport exists.
 *
 * Memory: the resolver owns its tables, the answer cache, the xreq records and the
 * transport's results until they are delivered; evaluations belong to the caller;
 * answers given to spf_eval_answer() point into a result or a cache entry only for
 * the duration of the call.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spfgate/resolver.h"
#include "sys.h"
#include "transport.h"

#define DNS_RCODE_NOERROR 0
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3

/* The answer cache (see "The answer cache" above). */
#define CACHE_DEFAULT_MAX_ENTRIES 65536
#define CACHE_DEFAULT_MAX_BYTES ((size_t)8 << 20)
#define CACHE_MAX_TTL 86400u        /* unbound's cache-max-ttl default */
#define CACHE_MAX_NEG_TTL 3600u     /* unbound's cache-max-negative-ttl default */
#define CACHE_NEG_TTL_UNKNOWN 5u    /* a negative answer without a TTL: unbound's NORR_TTL */
#define CACHE_ERR_TTL 2u            /* SERVFAIL and friends */

/* A check waiting on an in-flight query. */
struct waiter {
	uint32_t cslot, cgen; /* the check */
	uint32_t qid;         /* its question */
	uint64_t t_join;      /* µs, CLOCK_MONOTONIC */
};

enum ifl_state {
	IFL_FREE,  /* on the free list */
	IFL_OUT,   /* asked; the transport owns the answer-to-be */
	IFL_READY, /* answered; waiting to be delivered after the transport's process() */
};

/* What the transport carries for us: names, not pointers to checks. */
struct xreq {
	struct spf_resolver *r;
	uint32_t slot, gen;
};

struct inflight {
	enum ifl_state state;
	uint32_t gen;
	int32_t next; /* hash chain, or free list */
	uint32_t hash;
	uint16_t type;
	char *key; /* lowercased name */
	int xid;           /* the transport's id for the question */
	struct xreq *req; /* while IFL_OUT */
	struct waiter *w;
	size_t nw, capw;
	struct xp_result *res; /* IFL_READY: the result; NULL: the transport had none
	                        * (out of memory), a SERVFAIL never cached */
};

/* One question of a check that is out in the transport. */
struct outq {
	uint32_t qid, islot, igen;
};

struct spf_check {
	struct spf_resolver *r;
	uint32_t slot, gen;
	struct spf_eval *ev;
	spf_check_done_fn *done;
	void *arg;
	struct outq *q;
	size_t nq, capq;
	bool dirty;     /* has new answers; to be advanced */
	bool finishing; /* done() is running or has run */
};

struct cslot {
	uint32_t gen;
	struct spf_check *c; /* NULL when free */
	int32_t next_free;
};

struct ref {
	uint32_t slot, gen;
};

/*
 * One cached answer.  blob is one allocation: the RR array, the RDATA it points to,
 * then the key (lowercased name, NUL-terminated).  Free entries have blob == NULL and
 * sit on a free list through next.
 */
struct centry {
	uint64_t expires_us; /* CLOCK_MONOTONIC */
	uint32_t hash;
	int32_t next;             /* hash chain, or free list */
	int32_t newer, older;     /* LRU list: r->lru_new ... r->lru_old */
	uint16_t type;
	uint8_t rcode;            /* enum spf_rcode */
	bool secure;
	uint32_t nrr;
	size_t bytes;             /* accounted: entry + blob + a bucket slot */
	const struct spf_rr *rr;  /* in blob */
	const char *key;          /* in blob */
	void *blob;
};

/* A question's cache and in-flight key, computed once per question. */
struct qkey {
	char name[SPF_MAX_DOMAIN + 1]; /* lowercased */
	size_t len;
	uint16_t type;
	uint64_t h64;
	uint32_t hash;
};

struct spf_resolver {
	struct xp *xp; /* the transport; NULL in offline mode */
	const struct spf_zone *zone;
	bool offline;

	struct inflight *ifl;
	size_t nifl;
	int32_t ifl_free;
	int32_t *bucket;
	size_t nbucket;
	size_t nlive; /* entries not free */

	struct cslot *cs;
	size_t ncs;
	int32_t cs_free;

	struct ref *ready; /* answered entries, in arrival order */
	size_t nready, capready;
	struct ref *dirty; /* checks with new answers */
	size_t ndirty, capdirty;

	struct xreq **stray; /* requests cancel() refused: the callback frees them */
	size_t nstray, capstray;

	struct centry *ce; /* the answer cache */
	size_t nce;
	int32_t ce_free;
	int32_t *cbucket;
	size_t ncbucket; /* 0 or a power of two */
	int32_t lru_new, lru_old;
	size_t cache_max_entries, cache_max_bytes;

	bool in_process;
	struct spf_resolver_stats st;
};

/* ---------------------------------------------------------------- small helpers */

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Makes room for need elements of size sz in *p (capacity *cap). */
static bool grow(void **p, size_t *cap, size_t need, size_t sz)
{
	if (need <= *cap)
		return true;
	size_t n = *cap ? *cap : 8;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return false;
		n *= 2;
	}
	if (n > SIZE_MAX / sz)
		return false;
	void *q = realloc(*p, n * sz);
	if (q == NULL)
		return false;
	*p = q;
	*cap = n;
	return true;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static uint64_t fnv64(const char *key, uint16_t type)
{
	uint64_t h = 1469598103934665603ull;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	h = (h ^ (type & 0xff)) * 1099511628211ull;
	h = (h ^ (type >> 8)) * 1099511628211ull;
	return h;
}

/* ---------------------------------------------------------------- the answer cache */

/* Makes k the key of question q; false if the name is too long to be one. */
static bool qkey_make(struct qkey *k, const struct spf_query *q)
{
	size_t n = 0;
	for (const char *p = q->name; *p; p++) {
		if (n == SPF_MAX_DOMAIN)
			return false;
		k->name[n++] = lower(*p);
	}
	k->name[n] = '\0';
	k->len = n;
	k->type = q->type;
	k->h64 = fnv64(k->name, q->type);
	k->hash = (uint32_t)(k->h64 ^ (k->h64 >> 32));
	return true;
}

static void lru_unlink(struct spf_resolver *r, int32_t i)
{
	struct centry *e = &r->ce[i];
	if (e->newer >= 0)
		r->ce[e->newer].older = e->older;
	else
		r->lru_new = e->older;
	if (e->older >= 0)
		r->ce[e->older].newer = e->newer;
	else
		r->lru_old = e->newer;
}

static void lru_push(struct spf_resolver *r, int32_t i)
{
	struct centry *e = &r->ce[i];
	e->newer = -1;
	e->older = r->lru_new;
	if (r->lru_new >= 0)
		r->ce[r->lru_new].newer = i;
	r->lru_new = i;
	if (r->lru_old < 0)
		r->lru_old = i;
}

/* Unlinks entry i from its chain and the LRU list and frees it. */
static void cache_remove(struct spf_resolver *r, int32_t i)
{
	struct centry *e = &r->ce[i];
	int32_t *pp = &r->cbucket[e->hash & (r->ncbucket - 1)];
	while (*pp >= 0 && *pp != i)
		pp = &r->ce[*pp].next;
	if (*pp == i)
		*pp = e->next;
	lru_unlink(r, i);
	r->st.cache_entries--;
	r->st.cache_bytes -= e->bytes;
	free(e->blob);
	e->blob = NULL;
	e->next = r->ce_free;
	r->ce_free = i;
}

/* The live entry for k, or -1.  An expired entry found on the way is dropped. */
static int32_t cache_find(struct spf_resolver *r, const struct qkey *k, uint64_t now)
{
	if (r->ncbucket == 0)
		return -1;
	for (int32_t i = r->cbucket[k->hash & (r->ncbucket - 1)]; i >= 0; i = r->ce[i].next) {
		const struct centry *e = &r->ce[i];
		if (e->hash != k->hash || e->type != k->type || strcmp(e->key, k->name) != 0)
			continue;
		if (e->expires_us <= now) {
			cache_remove(r, i);
			return -1;
		}
		return i;
	}
	return -1;
}

/* Doubles the bucket array (from 64); false when out of memory. */
static bool cache_rehash(struct spf_resolver *r)
{
	size_t n = r->ncbucket ? r->ncbucket * 2 : 64;
	if (n > SIZE_MAX / sizeof(int32_t))
		return false;
	int32_t *b = malloc(n * sizeof(*b));
	if (b == NULL)
		return false;
	for (size_t i = 0; i < n; i++)
		b[i] = -1;
	for (size_t i = 0; i < r->nce; i++) {
		struct centry *e = &r->ce[i];
		if (e->blob == NULL)
			continue;
		e->next = b[e->hash & (n - 1)];
		b[e->hash & (n - 1)] = (int32_t)i;
	}
	free(r->cbucket);
	r->cbucket = b;
	r->ncbucket = n;
	return true;
}

/*
 * Stores answer a to question k for ttl seconds (replacing an older answer to it),
 * evicting the least recently used answers while the bounds would be exceeded.  An
 * answer bigger than the byte bound, or no memory, leaves it uncached: the cache is an
 * optimisation, never a reason to fail.
 */
static void cache_put(struct spf_resolver *r, const struct qkey *k, const struct spf_answer *a,
    uint32_t ttl, uint64_t now)
{
	if (ttl == 0 || r->cache_max_entries == 0)
		return;
	/* need = entry + bucket slot + blob (RR array, RDATA, key), every part compared
	 * with what is left of the byte bound before it is added. */
	size_t max = r->cache_max_bytes;
	size_t need = sizeof(struct centry) + sizeof(int32_t) + k->len + 1;
	if (need > max || a->nrr > (max - need) / sizeof(struct spf_rr))
		return;
	size_t rrsz = a->nrr * sizeof(struct spf_rr);
	need += rrsz;
	for (size_t i = 0; i < a->nrr; i++) {
		if (a->rr[i].rdlen > max - need)
			return;
		need += a->rr[i].rdlen;
	}
	size_t blobsz = need - sizeof(struct centry) - sizeof(int32_t);
	int32_t old = cache_find(r, k, now);
	if (old >= 0)
		cache_remove(r, old);
	while (r->lru_old >= 0 && (r->st.cache_entries >= r->cache_max_entries ||
	    need > r->cache_max_bytes - r->st.cache_bytes)) {
		cache_remove(r, r->lru_old);
		r->st.cache_evictions++;
	}
	if (r->st.cache_entries + 1 > r->ncbucket && !cache_rehash(r))
		return;
	if (r->ce_free < 0) {
		size_t cap = r->nce;
		if (cap >= INT32_MAX / 2 || !grow((void **)&r->ce, &cap, r->nce + 1, sizeof(*r->ce)))
			return;
		for (size_t i = cap; i > r->nce; i--) {
			r->ce[i - 1].blob = NULL;
			r->ce[i - 1].next = r->ce_free;
			r->ce_free = (int32_t)(i - 1);
		}
		r->nce = cap;
	}
	uint8_t *blob = malloc(blobsz);
	if (blob == NULL)
		return;
	struct spf_rr *rr = (struct spf_rr *)blob;
	uint8_t *p = blob + rrsz;
	for (size_t i = 0; i < a->nrr; i++) {
		rr[i].type = a->rr[i].type;
		rr[i].rdlen = a->rr[i].rdlen;
		rr[i].rdata = p;
		if (a->rr[i].rdlen > 0)
			memcpy(p, a->rr[i].rdata, a->rr[i].rdlen);
		p += a->rr[i].rdlen;
	}
	memcpy(p, k->name, k->len + 1);

	int32_t i = r->ce_free;
	struct centry *e = &r->ce[i];
	r->ce_free = e->next;
	e->blob = blob;
	e->rr = rr;
	e->key = (const char *)p;
	e->nrr = (uint32_t)a->nrr;
	e->type = k->type;
	e->hash = k->hash;
	e->rcode = (uint8_t)a->rcode;
	e->secure = a->secure;
	e->expires_us = now + (uint64_t)ttl * 1000000u;
	e->bytes = need;
	e->next = r->cbucket[k->hash & (r->ncbucket - 1)];
	r->cbucket[k->hash & (r->ncbucket - 1)] = i;
	lru_push(r, i);
	r->st.cache_entries++;
	r->st.cache_bytes += need;
}

static void cache_free(struct spf_resolver *r)
{
	for (size_t i = 0; i < r->nce; i++)
		free(r->ce[i].blob);
	free(r->ce);
	free(r->cbucket);
}

/* ---------------------------------------------------------------- check table */

static struct spf_check *check_get(const struct spf_resolver *r, uint32_t slot, uint32_t gen)
{
	if (slot >= r->ncs || r->cs[slot].gen != gen)
		return NULL;
	return r->cs[slot].c;
}

static int check_slot_new(struct spf_resolver *r, struct spf_check *c)
{
	if (r->cs_free < 0) {
		size_t cap = r->ncs;
		if (cap >= INT32_MAX / 2 || !grow((void **)&r->cs, &cap, r->ncs + 1, sizeof(*r->cs)))
			return SPF_ENOMEM;
		for (size_t i = cap; i > r->ncs; i--) {
			r->cs[i - 1].gen = 0;
			r->cs[i - 1].c = NULL;
			r->cs[i - 1].next_free = r->cs_free;
			r->cs_free = (int32_t)(i - 1);
		}
		r->ncs = cap;
	}
	uint32_t slot = (uint32_t)r->cs_free;
	r->cs_free = r->cs[slot].next_free;
	r->cs[slot].c = c;
	c->slot = slot;
	c->gen = r->cs[slot].gen;
	r->st.checks_active++;
	return SPF_OK;
}

static void check_slot_release(struct spf_resolver *r, struct spf_check *c)
{
	struct cslot *s = &r->cs[c->slot];
	s->c = NULL;
	s->gen++;
	s->next_free = r->cs_free;
	r->cs_free = (int32_t)c->slot;
	r->st.checks_active--;
}

/* ---------------------------------------------------------------- in-flight table */

static struct inflight *ifl_get(struct spf_resolver *r, uint32_t slot, uint32_t gen)
{
	if (slot >= r->nifl || r->ifl[slot].gen != gen || r->ifl[slot].state == IFL_FREE)
		return NULL;
	return &r->ifl[slot];
}

static int32_t ifl_find(const struct spf_resolver *r, const char *key, uint16_t type,
    uint32_t hash)
{
	if (r->nbucket == 0)
		return -1;
	for (int32_t i = r->bucket[hash % r->nbucket]; i >= 0; i = r->ifl[i].next) {
		const struct inflight *e = &r->ifl[i];
		if (e->hash == hash && e->type == type && strcmp(e->key, key) == 0)
			return i;
	}
	return -1;
}

static bool rehash(struct spf_resolver *r, size_t n)
{
	int32_t *b = malloc(n * sizeof(*b));
	if (b == NULL)
		return false;
	for (size_t i = 0; i < n; i++)
		b[i] = -1;
	for (size_t i = 0; i < r->nifl; i++) {
		struct inflight *e = &r->ifl[i];
		if (e->state == IFL_FREE)
			continue;
		e->next = b[e->hash % n];
		b[e->hash % n] = (int32_t)i;
	}
	free(r->bucket);
	r->bucket = b;
	r->nbucket = n;
	return true;
}

/* A new entry for (key, type), linked into the hash; takes key.  -1 when out of memory. */
static int32_t ifl_new(struct spf_resolver *r, char *key, uint16_t type, uint32_t hash)
{
	/* Room to queue every live entry's answer, so the callback never allocates. */
	if (!grow((void **)&r->ready, &r->capready, r->nlive + 1, sizeof(*r->ready)))
		return -1;
	if (r->nlive + 1 > r->nbucket && !rehash(r, r->nbucket ? r->nbucket * 2 : 64))
		return -1;
	if (r->ifl_free < 0) {
		size_t cap = r->nifl;
		if (cap >= INT32_MAX / 2 || !grow((void **)&r->ifl, &cap, r->nifl + 1, sizeof(*r->ifl)))
			return -1;
		for (size_t i = cap; i > r->nifl; i--) {
			memset(&r->ifl[i - 1], 0, sizeof(r->ifl[i - 1]));
			r->ifl[i - 1].state = IFL_FREE;
			r->ifl[i - 1].next = r->ifl_free;
			r->ifl_free = (int32_t)(i - 1);
		}
		r->nifl = cap;
	}
	int32_t i = r->ifl_free;
	struct inflight *e = &r->ifl[i];
	r->ifl_free = e->next;
	uint32_t gen = e->gen;
	memset(e, 0, sizeof(*e));
	e->gen = gen;
	e->state = IFL_OUT;
	e->hash = hash;
	e->type = type;
	e->key = key;
	e->next = r->bucket[hash % r->nbucket];
	r->bucket[hash % r->nbucket] = i;
	r->nlive++;
	return i;
}

/* Unlinks and frees entry i (its result, if any, too). */
static void ifl_release(struct spf_resolver *r, int32_t i)
{
	struct inflight *e = &r->ifl[i];
	int32_t *pp = &r->bucket[e->hash % r->nbucket];
	while (*pp >= 0 && *pp != i)
		pp = &r->ifl[*pp].next;
	if (*pp == i)
		*pp = e->next;
	free(e->key);
	free(e->w);
	if (e->res)
		r->xp->ops->result_free(r->xp, e->res);
	uint32_t gen = e->gen + 1;
	memset(e, 0, sizeof(*e));
	e->gen = gen;
	e->state = IFL_FREE;
	e->next = r->ifl_free;
	r->ifl_free = i;
	r->nlive--;
}

/* Cancels entry i in the transport (it has no waiters left) and releases it. */
static void ifl_cancel(struct spf_resolver *r, int32_t i)
{
	struct inflight *e = &r->ifl[i];
	if (e->state == IFL_OUT && e->req != NULL) {
		if (r->xp->ops->cancel(r->xp, e->xid)) {
			free(e->req); /* the transport will not call back */
		} else if (grow((void **)&r->stray, &r->capstray, r->nstray + 1,
		    sizeof(*r->stray))) {
			/* Not cancelled: the callback will come, find a stale entry and
			 * free the record; until then we remember it for spf_resolver_free. */
			r->stray[r->nstray++] = e->req;
		}
		/* (Out of memory here leaks one small record if the callback never comes.) */
		e->req = NULL;
	}
	ifl_release(r, i);
}

/* Removes check c's waiter for question qid from in-flight entry (islot, igen). */
static void ifl_leave(struct spf_resolver *r, const struct spf_check *c, const struct outq *oq)
{
	struct inflight *e = ifl_get(r, oq->islot, oq->igen);
	if (e == NULL)
		return;
	for (size_t k = 0; k < e->nw; k++) {
		struct waiter *w = &e->w[k];
		if (w->cslot == c->slot && w->cgen == c->gen && w->qid == oq->qid) {
			e->w[k] = e->w[--e->nw];
			break;
		}
	}
	/* A READY entry without waiters is dropped when it is delivered. */
	if (e->nw == 0 && e->state == IFL_OUT)
		ifl_cancel(r, (int32_t)oq->islot);
}

/* ---------------------------------------------------------------- the callback */

static void stray_forget(struct spf_resolver *r, struct xreq *q)
{
	for (size_t i = 0; i < r->nstray; i++) {
		if (r->stray[i] == q) {
			r->stray[i] = r->stray[--r->nstray];
			return;
		}
	}
}

/* Called by the transport from inside its process(): park the result, nothing more. */
static void xp_callback(void *owner, void *tag, struct xp_result *res)
{
	struct xreq *q = tag;
	struct spf_resolver *r = owner;
	struct inflight *e = ifl_get(r, q->slot, q->gen);
	r->st.answers++;
	if (e == NULL || e->state != IFL_OUT || e->req != q) {
		/* Its entry is gone (cancelled after the answer was on its way). */
		if (r->nstray)
			stray_forget(r, q);
		free(q);
		r->st.late_answers++;
		if (res)
			r->xp->ops->result_free(r->xp, res);
		return;
	}
	free(q);
	e->req = NULL;
	e->state = IFL_READY;
	e->res = res;
	/* capready >= nlive was ensured when the entry was made. */
	r->ready[r->nready].slot = (uint32_t)(e - r->ifl);
	r->ready[r->nready].gen = e->gen;
	r->nready++;
}

/* ---------------------------------------------------------------- answers */

/* Fills a (all but the per-waiter fields) from entry e's result; *rrs is malloc'ed
 * or NULL. */
static void map_result(const struct inflight *e, struct spf_answer *a, struct spf_rr **rrs)
{
	const struct xp_result *res = e->res;
	memset(a, 0, sizeof(*a));
	*rrs = NULL;
	a->rcode = SPF_DNS_SERVFAIL;
	if (res == NULL || res->rcode == XP_FAIL)
		return;
	a->ttl = res->ttl;
	if (res->bogus)
		return; /* a DNSSEC validation failure: never use the data */
	a->secure = res->secure;
	if (res->rcode == DNS_RCODE_NXDOMAIN) {
		a->rcode = SPF_DNS_NXDOMAIN;
		return;
	}
	if (res->rcode != DNS_RCODE_NOERROR)
		return; /* SERVFAIL, REFUSED, FORMERR, ...: temperror */
	a->rcode = SPF_DNS_NOERROR;
	if (res->n == 0)
		return; /* NODATA */
	struct spf_rr *rr = calloc(res->n, sizeof(*rr));
	if (rr == NULL) {
		a->rcode = SPF_DNS_SERVFAIL;
		return;
	}
	for (size_t i = 0; i < res->n; i++) {
		rr[i].type = e->type;
		rr[i].rdlen = res->rdlen[i];
		rr[i].rdata = res->rdata[i];
	}
	a->rr = rr;
	a->nrr = res->n;
	*rrs = rr;
}

static void mark_dirty(struct spf_resolver *r, struct spf_check *c)
{
	if (c->dirty)
		return;
	/* capdirty >= ncs is kept by spf_resolver_start(), so this cannot fail. */
	c->dirty = true;
	r->dirty[r->ndirty].slot = c->slot;
	r->dirty[r->ndirty].gen = c->gen;
	r->ndirty++;
}

static void outq_remove(struct spf_check *c, uint32_t qid)
{
	for (size_t k = 0; k < c->nq; k++) {
		if (c->q[k].qid == qid) {
			c->q[k] = c->q[--c->nq];
			return;
		}
	}
}

/*
 * How long the answer cache may keep answer a of entry e, in seconds; 0 = not at
 * all.  See "The answer cache" at the top for the reasons.
 */
static uint32_t cache_ttl(const struct inflight *e, const struct spf_answer *a)
{
	const struct xp_result *res = e->res;
	if (res == NULL)
		return 0; /* the transport's own trouble, not an answer from DNS */
	switch (a->rcode) {
	case SPF_DNS_NOERROR:
		if (a->nrr == 0)
			break; /* NODATA: negative */
		return a->ttl < CACHE_MAX_TTL ? a->ttl : CACHE_MAX_TTL;
	case SPF_DNS_NXDOMAIN:
		break;
	case SPF_DNS_SERVFAIL:
		return CACHE_ERR_TTL;
	default:
		return 0;
	}
	/* Negative: min(SOA TTL, SOA MINIMUM) (RFC 2308).  0 means either that it ran out
	 * (libunbound counts whole seconds and still serves an answer in its last one: not
	 * to be kept) or that the answer carried no record at all to take a TTL from
	 * (then briefly). */
	if (a->ttl == 0)
		return res->has_records ? 0 : CACHE_NEG_TTL_UNKNOWN;
	return a->ttl < CACHE_MAX_NEG_TTL ? a->ttl : CACHE_MAX_NEG_TTL;
}

/* Hands the answer of READY entry i to every check still waiting for it, and keeps it
 * in the answer cache. */
static void deliver(struct spf_resolver *r, int32_t i, uint64_t now)
{
	struct inflight *e = &r->ifl[i];
	struct spf_answer a;
	struct spf_rr *rrs;
	map_result(e, &a, &rrs);
	uint32_t ttl = cache_ttl(e, &a);
	size_t klen = strlen(e->key);
	if (ttl > 0 && klen <= SPF_MAX_DOMAIN) {
		struct qkey k;
		memcpy(k.name, e->key, klen + 1);
		k.len = klen;
		k.type = e->type;
		k.hash = e->hash;
		cache_put(r, &k, &a, ttl, now);
	}
	size_t live = 0;
	for (size_t k = 0; k < e->nw; k++) {
		const struct waiter *w = &e->w[k];
		struct spf_check *c = check_get(r, w->cslot, w->cgen);
		if (c == NULL || c->finishing)
			continue;
		live++;
		outq_remove(c, w->qid);
		uint64_t lat = now - w->t_join;
		a.latency_us = lat > UINT32_MAX ? UINT32_MAX : (uint32_t)lat;
		a.cached = false; /* perhaps from the transport's cache: it does not say */
		/* SPF_ENOENT: the evaluation expired or no longer wants it; fine. */
		(void)spf_eval_answer(c->ev, w->qid, &a);
		mark_dirty(r, c);
	}
	if (live == 0)
		r->st.late_answers++;
	free(rrs);
	ifl_release(r, i);
}

/* ---------------------------------------------------------------- checks */

static void answer_now(struct spf_check *c, uint32_t qid, enum spf_rcode rc)
{
	struct spf_answer a;
	memset(&a, 0, sizeof(a));
	a.rcode = rc;
	(void)spf_eval_answer(c->ev, qid, &a);
}

/* Answers q from the zone or as offline NXDOMAIN; false when it must go to DNS. */
static bool answer_locally(struct spf_resolver *r, struct spf_check *c, const struct spf_query *q)
{
	if (r->zone != NULL && spf_zone_covers(r->zone, q->name)) {
		struct spf_answer a;
		spf_zone_lookup(r->zone, q->name, q->type, &a);
		r->st.zone_answers++;
		(void)spf_eval_answer(c->ev, q->id, &a);
		return true;
	}
	if (r->offline || r->xp == NULL) {
		r->st.zone_answers++;
		answer_now(c, q->id, SPF_DNS_NXDOMAIN);
		return true;
	}
	return false;
}

/* Answers q from the answer cache; false when it holds no live answer to it. */
static bool answer_cached(struct spf_resolver *r, struct spf_check *c, const struct spf_query *q,
    const struct qkey *k, uint64_t now)
{
	int32_t i = cache_find(r, k, now);
	if (i < 0) {
		r->st.cache_misses++;
		return false;
	}
	if (r->lru_new != i) {
		lru_unlink(r, i);
		lru_push(r, i);
	}
	const struct centry *e = &r->ce[i];
	struct spf_answer a;
	memset(&a, 0, sizeof(a));
	a.rcode = (enum spf_rcode)e->rcode;
	a.rr = e->rr;
	a.nrr = e->nrr;
	a.ttl = (uint32_t)((e->expires_us - now + 999999u) / 1000000u);
	a.cached = true;
	a.secure = e->secure;
	r->st.cache_hits++;
	/* The evaluator copies what it keeps; nothing changes the cache meanwhile. */
	(void)spf_eval_answer(c->ev, q->id, &a);
	return true;
}

/* Joins or starts the transport's query for q (key k).  Not SPF_OK: q was not asked. */
static int submit(struct spf_resolver *r, struct spf_check *c, const struct spf_query *q,
    const struct qkey *k, uint64_t now)
{
	if (!grow((void **)&c->q, &c->capq, c->nq + 1, sizeof(*c->q)))
		return SPF_ENOMEM;

	int32_t i = ifl_find(r, k->name, k->type, k->hash);
	bool fresh = i < 0;
	if (fresh) {
		char *key = malloc(k->len + 1);
		if (key == NULL)
			return SPF_ENOMEM;
		memcpy(key, k->name, k->len + 1);
		i = ifl_new(r, key, k->type, k->hash);
		if (i < 0) {
			free(key);
			return SPF_ENOMEM;
		}
	}
	struct inflight *e = &r->ifl[i];
	if (!grow((void **)&e->w, &e->capw, e->nw + 1, sizeof(*e->w))) {
		if (fresh)
			ifl_release(r, i);
		return SPF_ENOMEM;
	}
	if (fresh) {
		struct xreq *req = malloc(sizeof(*req));
		if (req == NULL) {
			ifl_release(r, i);
			return SPF_ENOMEM;
		}
		req->r = r;
		req->slot = (uint32_t)i;
		req->gen = e->gen;
		int rc = r->xp->ops->submit(r->xp, k->name, k->type, req, &e->xid);
		if (rc != SPF_OK) {
			free(req);
			ifl_release(r, i);
			return rc;
		}
		e->req = req;
		r->st.queries_sent++;
	} else {
		r->st.queries_shared++;
	}
	e->w[e->nw].cslot = c->slot;
	e->w[e->nw].cgen = c->gen;
	e->w[e->nw].qid = q->id;
	e->w[e->nw].t_join = now;
	e->nw++;
	c->q[c->nq].qid = q->id;
	c->q[c->nq].islot = (uint32_t)i;
	c->q[c->nq].igen = e->gen;
	c->nq++;
	return SPF_OK;
}

/* Leaves every in-flight entry c waits on (cancelling those nobody else wants). */
static void check_detach(struct spf_check *c)
{
	struct spf_resolver *r = c->r;
	for (size_t k = 0; k < c->nq; k++)
		ifl_leave(r, c, &c->q[k]);
	c->nq = 0;
}

/* The evaluation has its outcome: drop leftover queries, call done(), free c. */
static void check_finish(struct spf_check *c)
{
	struct spf_resolver *r = c->r;
	check_detach(c);
	c->finishing = true;
	check_slot_release(r, c);
	if (c->done != NULL)
		c->done(c, c->ev, c->arg);
	free(c->q);
	free(c);
}

/* Advances c as far as the answers it has allow; may finish (and free) it. */
static void check_step(struct spf_check *c)
{
	struct spf_resolver *r = c->r;
	c->dirty = false;
	for (;;) {
		if (spf_eval_run(c->ev) == SPF_STEP_DONE) {
			check_finish(c);
			return;
		}
		bool answered = false;
		struct spf_query q;
		uint64_t now = now_us();
		while (spf_eval_next_query(c->ev, &q)) {
			struct qkey k;
			bool keyed = false;
			if (answer_locally(r, c, &q)) {
				answered = true;
			} else if ((keyed = qkey_make(&k, &q)) && answer_cached(r, c, &q, &k, now)) {
				answered = true; /* at once, without the transport */
			} else if (!keyed || submit(r, c, &q, &k, now) != SPF_OK) {
				/* Could not ask (out of memory, unusable name): a DNS error,
				 * so temperror, never a wrong result. */
				answer_now(c, q.id, SPF_DNS_SERVFAIL);
				answered = true;
			}
		}
		if (!answered)
			break;
	}
	if (c->nq == 0) {
		/* Waiting for DNS with nothing asked: no answer can ever come. */
		spf_eval_expire(c->ev);
		check_finish(c);
	}
}

/* ---------------------------------------------------------------- public API */

void spf_resolver_options_init(struct spf_resolver_options *o)
{
	memset(o, 0, sizeof(*o));
	o->mode = SPF_RESOLVER_SYSTEM;
	o->engine = SPF_ENGINE_AUTO;
}

/* SPF_ENGINE_AUTO: libunbound, which can do everything the options ask. */
static enum spf_resolver_engine choose_engine(const struct spf_resolver_options *o)
{
	return o->engine == SPF_ENGINE_STUB ? SPF_ENGINE_STUB : SPF_ENGINE_LIBUNBOUND;
}

int spf_resolver_new(struct spf_resolver **out, const struct spf_resolver_options *o,
    char *err, size_t errcap)
{
	if (err != NULL && errcap > 0)
		err[0] = '\0';
	if (out == NULL || o == NULL) {
		spf_seterr(err, errcap, "invalid argument");
		return SPF_EINVAL;
	}
	*out = NULL;
	struct spf_resolver *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		spf_seterr(err, errcap, "out of memory");
		return SPF_ENOMEM;
	}
	r->zone = o->zone;
	r->offline = o->offline;
	r->ifl_free = -1;
	r->cs_free = -1;
	r->ce_free = -1;
	r->lru_new = r->lru_old = -1;
	r->cache_max_entries = o->cache_max_entries ? o->cache_max_entries :
	    CACHE_DEFAULT_MAX_ENTRIES;
	r->cache_max_bytes = o->cache_max_bytes ? o->cache_max_bytes : CACHE_DEFAULT_MAX_BYTES;
	if (!r->offline) {
		xp_new_fn *make = choose_engine(o) == SPF_ENGINE_STUB ? xp_stub_new : xp_unbound_new;
		int rc = make(&r->xp, o, xp_callback, r, err, errcap);
		if (rc != SPF_OK) {
			spf_resolver_free(r);
			return rc;
		}
	}
	*out = r;
	return SPF_OK;
}

void spf_resolver_free(struct spf_resolver *r)
{
	if (r == NULL)
		return;
	/* Outstanding requests will never be called back once the transport is gone. */
	for (size_t i = 0; i < r->nifl; i++)
		if (r->ifl[i].state == IFL_OUT)
			free(r->ifl[i].req);
	for (size_t i = 0; i < r->nstray; i++)
		free(r->stray[i]);
	for (size_t i = 0; i < r->nifl; i++) {
		struct inflight *e = &r->ifl[i];
		if (e->state == IFL_FREE)
			continue;
		free(e->key);
		free(e->w);
		if (e->res)
			r->xp->ops->result_free(r->xp, e->res);
	}
	if (r->xp != NULL)
		r->xp->ops->free(r->xp); /* libunbound: stops and joins its thread */
	/* Checks still running are dropped without done(), as if cancelled. */
	for (size_t i = 0; i < r->ncs; i++) {
		if (r->cs[i].c != NULL) {
			free(r->cs[i].c->q);
			free(r->cs[i].c);
		}
	}
	free(r->ifl);
	free(r->bucket);
	free(r->cs);
	free(r->ready);
	free(r->dirty);
	free(r->stray);
	cache_free(r);
	free(r);
}

int spf_resolver_fd(const struct spf_resolver *r)
{
	return r->xp != NULL ? r->xp->ops->fd(r->xp) : -1;
}

int spf_resolver_process(struct spf_resolver *r)
{
	if (r->in_process)
		return SPF_ESTATE; /* called from a done() callback */
	if (r->xp == NULL)
		return SPF_OK;
	r->in_process = true;
	int rc = r->xp->ops->process(r->xp);

	/* 1. Every answer that arrived goes to its evaluations. */
	uint64_t now = now_us();
	for (size_t k = 0; k < r->nready; k++) {
		struct inflight *e = ifl_get(r, r->ready[k].slot, r->ready[k].gen);
		if (e != NULL && e->state == IFL_READY)
			deliver(r, (int32_t)r->ready[k].slot, now);
	}
	r->nready = 0;

	/* 2. Then the evaluations run; done() may start, cancel or expire checks. */
	for (size_t k = 0; k < r->ndirty; k++) {
		struct spf_check *c = check_get(r, r->dirty[k].slot, r->dirty[k].gen);
		if (c != NULL && c->dirty && !c->finishing)
			check_step(c);
	}
	r->ndirty = 0;
	r->in_process = false;
	return rc;
}

int spf_resolver_start(struct spf_resolver *r, struct spf_eval *ev, spf_check_done_fn *done,
    void *arg, struct spf_check **out)
{
	if (out != NULL)
		*out = NULL;
	if (r == NULL || ev == NULL)
		return SPF_EINVAL;
	struct spf_check *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return SPF_ENOMEM;
	c->r = r;
	c->ev = ev;
	c->done = done;
	c->arg = arg;
	if (check_slot_new(r, c) != SPF_OK ||
	    !grow((void **)&r->dirty, &r->capdirty, r->ncs, sizeof(*r->dirty))) {
		if (check_get(r, c->slot, c->gen) == c)
			check_slot_release(r, c);
		free(c);
		return SPF_ENOMEM;
	}
	uint32_t slot = c->slot, gen = c->gen;
	if (out != NULL)
		*out = c;
	check_step(c);
	/* Finished already (every answer was known): the handle is gone. */
	if (out != NULL && check_get(r, slot, gen) == NULL)
		*out = NULL;
	return SPF_OK;
}

void spf_check_cancel(struct spf_check *c)
{
	if (c == NULL || c->finishing)
		return;
	struct spf_resolver *r = c->r;
	check_detach(c);
	check_slot_release(r, c);
	free(c->q);
	free(c);
}

void spf_check_expire(struct spf_check *c)
{
	if (c == NULL || c->finishing)
		return;
	spf_eval_expire(c->ev);
	check_finish(c);
}

static void run_done(struct spf_check *c, struct spf_eval *ev, void *arg)
{
	*(bool *)arg = true;
}

int spf_resolver_run(struct spf_resolver *r, struct spf_eval *ev, unsigned budget_ms)
{
	if (r->in_process)
		return SPF_ESTATE;
	bool finished = false;
	struct spf_check *c = NULL;
	uint64_t deadline = now_us() + (uint64_t)budget_ms * 1000u;
	int rc = spf_resolver_start(r, ev, run_done, &finished, &c);
	if (rc != SPF_OK)
		return rc;
	while (!finished) {
		uint64_t now = now_us();
		int fd = spf_resolver_fd(r);
		if (now >= deadline || fd < 0) {
			spf_check_expire(c);
			break;
		}
		uint64_t left_ms = (deadline - now + 999) / 1000;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, left_ms > INT32_MAX ? INT32_MAX : (int)left_ms);
		if (n < 0 && errno != EINTR) {
			spf_check_expire(c);
			return SPF_EIO;
		}
		if (n > 0 && spf_resolver_process(r) != SPF_OK && !finished) {
			spf_check_expire(c);
			return SPF_EIO;
		}
	}
	return SPF_OK;
}

const char *spf_resolver_engine(const struct spf_resolver *r)
{
	return r->xp != NULL ? r->xp->ops->name : "offline";
}

void spf_resolver_stats(const struct spf_resolver *r, struct spf_resolver_stats *s)
{
	*s = r->st;
}
