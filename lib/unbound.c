/*
 * unbound.c - the libunbound transport: questions answered by a validating, caching,
 * recursive resolver library in a thread of this process.
 *
 * Entry point: xp_unbound_new() (lib/transport.h).  The resolver (lib/resolver.c)
 * keeps checks, the in-flight table and the answer cache; this file only sends
 * questions to libunbound and turns its results into struct xp_result.
 *
 * Loaded on first use.  libunbound brings libssl, libcrypto, nettle and gmp: about
 * 3.5 MB of resident memory and 4-5 ms of dynamic linking in every process that links
 * it, before main() runs, whether or not it ever asks DNS.  A process spawned by
 * Postfix for one SMTP session that uses the stub transport (or no DNS at all) should
 * not pay that, so libunbound is opened with dlopen() by its SONAME
 * (SPFGATE_LIBUNBOUND_SONAME, found by CMake at build time) when the first libunbound
 * transport is made, and its functions are reached through the table `ub` below.  A
 * missing or incompatible library is an error of xp_unbound_new(), with dlerror()'s
 * words.  The handle is never closed.
 *
 * Threads, not a forked process.  libunbound runs its asynchronous work either in a
 * forked child (ub_ctx_async(ctx, 0), its default) or in a thread (1).  We use the
 * thread: a forked child inherits the daemon's listeners and descriptors, outlives a
 * crashed parent, and under LeakSanitizer reports the parent's heap as leaked when it
 * exits; ub_cancel() of a forked worker must also travel through a pipe.  With the
 * thread, ub_cancel() is a flag under a lock, and callbacks still run only in the
 * caller's thread, from inside ub_process().  (Create the resolver after daemonizing:
 * threads do not survive fork().)
 *
 * Answer mapping.  libunbound chases CNAMEs and gives the RDATA of the question's type
 * uncompressed; the TTL handed on is the smallest of the answer section (the CNAME
 * chain included; res->ttl is the final RRset's alone), as left in libunbound's cache;
 * for NXDOMAIN and NODATA libunbound's TTL is min(SOA TTL, SOA MINIMUM) (RFC 2308), 0
 * when its copy is in its last second (it counts whole seconds).  A bogus result
 * (DNSSEC validation failed) is passed on as bogus; secure is libunbound's flag.
 * libunbound's own errors (err != 0) are a NULL result: not an answer from DNS, never
 * cached.  libunbound reports a CNAME loop as SERVFAIL.  One libunbound quirk is worked
 * around: an RR with empty RDATA makes it report SERVFAIL for a good answer (see
 * rrs_from_packet()).  Truncated UDP answers are retried over TCP by libunbound
 * ("do-tcp: yes", set explicitly); tcp_only sets "tcp-upstream: yes".
 *
 * DNSSEC: options.trust_anchor_file is loaded as unbound.conf would load it, the kind
 * decided by its content.  A file with a line starting ";;id:" is an RFC 5011
 * auto-trust-anchor file (what unbound and unbound-anchor write), given to
 * ub_ctx_add_ta_autr(): libunbound tracks key rollovers and rewrites the file, so it and
 * its directory must be writable.  Any other file is a static anchor in zone format, DS
 * or DNSKEY records (as from ldns-keygen, dig or drill), given to ub_ctx_add_ta_file()
 * and only read.  A plain DS file meant to seed RFC 5011 tracking is therefore a static
 * anchor; run unbound-anchor(8) on it first to turn it into a tracked one.
 *
 * Start-up.  Creating the context costs little but one seeding of libunbound's
 * random generator (Debian builds it with nettle's Yarrow: ~9.7 million instructions,
 * 1.5-2 ms); the first query finalizes the context, creates the worker (a second
 * seeding, its caches, 100 preallocated 16 kB blocks) and starts the thread.
 *
 * Memory: a struct ures per answer holds the ub_result and the arrays pointing into
 * it, until result_free().
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unbound.h>

#include "sys.h"
#include "transport.h"

#define DNS_CLASS_IN 1
#define DNS_RCODE_NOERROR 0
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3

#ifndef SPFGATE_LIBUNBOUND_SONAME
#define SPFGATE_LIBUNBOUND_SONAME "libunbound.so.8"
#endif

/* A name in presentation form: every byte may become "\DDD", plus the root dot. */
#define NAME_TEXT_MAX (SPF_MAX_DOMAIN * 4 + 2)

/* libunbound tuning for a mail server: more parallel queries than its defaults
 * (1024 queries, 16 sockets).  Its caches stay small (1 MB of messages, 2 MB of
 * RRsets): the answer cache here holds what evaluations ask again, and libunbound's
 * cache mostly serves what that one evicted and, in recursion mode, delegations. */
static const char *const ub_tuning[][2] = {
	{ "num-queries-per-thread:", "4096" },
	{ "outgoing-range:", "256" },
	{ "msg-cache-size:", "1m" },
	{ "rrset-cache-size:", "2m" },
	{ "do-tcp:", "yes" }, /* retry truncated UDP answers over TCP */
};

/* ---------------------------------------------------------------- the library */

/* libunbound's functions, from dlopen(); every one is looked up before any is used. */
static struct {
	bool loaded;
	struct ub_ctx *(*ctx_create)(void);
	void (*ctx_delete)(struct ub_ctx *);
	int (*ctx_set_option)(struct ub_ctx *, const char *, const char *);
	int (*ctx_async)(struct ub_ctx *, int);
	int (*ctx_resolvconf)(struct ub_ctx *, const char *);
	int (*ctx_set_fwd)(struct ub_ctx *, const char *);
	int (*ctx_add_ta_file)(struct ub_ctx *, const char *);
	int (*ctx_add_ta_autr)(struct ub_ctx *, const char *);
	int (*fd)(struct ub_ctx *);
	int (*process)(struct ub_ctx *);
	int (*resolve)(struct ub_ctx *, const char *, int, int, struct ub_result **);
	int (*resolve_async)(struct ub_ctx *, const char *, int, int, void *, ub_callback_type,
	    int *);
	int (*cancel)(struct ub_ctx *, int);
	void (*resolve_free)(struct ub_result *);
	const char *(*strerror)(int);
} ub;

/* Opens libunbound once per process; false (and why in err) when it cannot. */
static bool ub_load(char *err, size_t errcap)
{
	if (ub.loaded)
		return true;
	static const struct spf_dlsym syms[] = {
#define SYM(f) { "ub_" #f, offsetof(__typeof__(ub), f) }
		SYM(ctx_create), SYM(ctx_delete), SYM(ctx_set_option), SYM(ctx_async),
		SYM(ctx_resolvconf), SYM(ctx_set_fwd), SYM(ctx_add_ta_file), SYM(ctx_add_ta_autr),
		SYM(fd), SYM(process), SYM(resolve), SYM(resolve_async), SYM(cancel),
		SYM(resolve_free), SYM(strerror),
#undef SYM
	};
	if (!spf_dlopen_table(SPFGATE_LIBUNBOUND_SONAME, syms, sizeof(syms) / sizeof(syms[0]),
	    &ub, sizeof(ub), err, errcap))
		return false;
	ub.loaded = true;
	return true;
}

/* ---------------------------------------------------------------- the transport */

struct ut {
	struct xp base;
	struct ub_ctx *ctx;
};

/* One answer: the ub_result and the arrays of the xp_result pointing into it. */
struct ures {
	struct xp_result x;
	struct ub_result *res;
	const uint8_t **rdata;
	uint16_t *rdlen;
};

/*
 * Writes name in presentation form for libunbound: labels as they are, every byte
 * but a letter, digit, '-' or '_' as "\DDD" (names can hold spaces, backslashes and
 * high bytes).  Returns false if it does not fit (it always does for names of at most
 * SPF_MAX_DOMAIN bytes).
 */
static bool name_text(const char *name, char *out, size_t cap)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		unsigned c = *p;
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
		if (plain) {
			if (cap - n < 2)
				return false;
			out[n++] = (char)c;
		} else {
			if (cap - n < 5)
				return false;
			out[n++] = '\\';
			out[n++] = (char)('0' + c / 100);
			out[n++] = (char)('0' + c / 10 % 10);
			out[n++] = (char)('0' + c % 10);
		}
	}
	if (n == 0) {
		if (cap < 2)
			return false;
		out[n++] = '.';
	}
	out[n] = '\0';
	return true;
}

/* ---------------------------------------------------------------- answers */

/* Skips a (possibly compressed) name at *off in a message of len bytes. */
static bool skip_name(const uint8_t *m, size_t len, size_t *off)
{
	size_t i = *off;
	for (;;) {
		if (i >= len)
			return false;
		uint8_t l = m[i];
		if (l == 0) {
			*off = i + 1;
			return true;
		}
		if ((l & 0xc0) == 0xc0) { /* a pointer ends the name */
			if (len - i < 2)
				return false;
			*off = i + 2;
			return true;
		}
		if (l & 0xc0)
			return false;
		if (l >= len - i)
			return false;
		i += 1u + l;
	}
}

/*
 * libunbound answers SERVFAIL when it cannot copy an RR into its result (a zero-length
 * RDATA: its memdup() returns NULL for 0 bytes, and fill_res() takes that for out of
 * memory), although the answer itself, in answer_packet, is fine.  For A, AAAA and
 * TXT, whose RDATA holds no names (so compression cannot hide in it), we then read
 * the records of the question's type from the answer section ourselves, into
 * u->rdata and u->rdlen.  Returns the number of RRs (0 when the packet is unusable or
 * memory runs out: the SERVFAIL stands).
 */
static size_t rrs_from_packet(const struct ub_result *res, uint16_t type, struct ures *u)
{
	if (type != SPF_RR_A && type != SPF_RR_AAAA && type != SPF_RR_TXT)
		return 0;
	const uint8_t *m = res->answer_packet;
	if (m == NULL || res->answer_len < 12)
		return 0;
	size_t len = (size_t)res->answer_len;
	if ((m[3] & 0x0f) != DNS_RCODE_NOERROR)
		return 0;
	unsigned qd = (unsigned)m[4] << 8 | m[5], an = (unsigned)m[6] << 8 | m[7];
	size_t off = 12;
	for (unsigned i = 0; i < qd; i++) {
		if (!skip_name(m, len, &off) || len - off < 4)
			return 0;
		off += 4;
	}
	if (an == 0)
		return 0;
	u->rdata = calloc(an, sizeof(*u->rdata));
	u->rdlen = calloc(an, sizeof(*u->rdlen));
	size_t n = 0;
	if (u->rdata == NULL || u->rdlen == NULL)
		an = 0; /* out of memory: no records, the SERVFAIL stands */
	for (unsigned i = 0; i < an; i++) {
		if (!skip_name(m, len, &off) || len - off < 10)
			break;
		uint16_t t = (uint16_t)(m[off] << 8 | m[off + 1]);
		uint16_t rdlen = (uint16_t)(m[off + 8] << 8 | m[off + 9]);
		off += 10;
		if (rdlen > len - off)
			break;
		/* The answer section holds the CNAME chain and the final RRset only. */
		if (t == type) {
			u->rdata[n] = m + off;
			u->rdlen[n] = rdlen;
			n++;
		}
		off += rdlen;
	}
	if (n == 0) {
		free(u->rdata);
		free(u->rdlen);
		u->rdata = NULL;
		u->rdlen = NULL;
	}
	return n;
}

/*
 * The smallest TTL in the answer section of res's packet (the CNAME chain and the
 * records of the question's type; res->ttl is the final RRset's alone), or UINT32_MAX
 * when the section is empty or does not parse.
 */
static uint32_t packet_answer_ttl(const struct ub_result *res)
{
	const uint8_t *m = res->answer_packet;
	if (m == NULL || res->answer_len < 12)
		return UINT32_MAX;
	size_t len = (size_t)res->answer_len, off = 12;
	unsigned qd = (unsigned)m[4] << 8 | m[5], an = (unsigned)m[6] << 8 | m[7];
	for (unsigned i = 0; i < qd; i++) {
		if (!skip_name(m, len, &off) || len - off < 4)
			return UINT32_MAX;
		off += 4;
	}
	uint32_t min = UINT32_MAX;
	for (unsigned i = 0; i < an; i++) {
		if (!skip_name(m, len, &off) || len - off < 10)
			return UINT32_MAX;
		uint32_t ttl = (uint32_t)m[off + 4] << 24 | (uint32_t)m[off + 5] << 16 |
		    (uint32_t)m[off + 6] << 8 | m[off + 7];
		uint16_t rdlen = (uint16_t)(m[off + 8] << 8 | m[off + 9]);
		off += 10;
		if (rdlen > len - off)
			return UINT32_MAX;
		off += rdlen;
		if (ttl > INT32_MAX) /* RFC 2181 §8: a TTL with the top bit set is 0 */
			ttl = 0;
		if (ttl < min)
			min = ttl;
	}
	return min;
}

/* Does res's packet hold any record in its answer or authority section?  (Yes when it
 * cannot be read: then the TTL of 0 is taken as it is.) */
static bool packet_has_records(const struct ub_result *res)
{
	const uint8_t *m = res->answer_packet;
	if (m == NULL || res->answer_len < 12)
		return true;
	return (m[6] | m[7] | m[8] | m[9]) != 0;
}


/* Converts libunbound's result res for a question of type qtype; NULL when out of
 * memory. */
static struct ures *convert(struct ub_result *res, uint16_t qtype)
{
	struct ures *u = calloc(1, sizeof(*u));
	if (u == NULL)
		return NULL;
	u->res = res;
	struct xp_result *x = &u->x;
	x->rcode = res->rcode;
	x->bogus = res->bogus != 0;
	x->secure = res->secure != 0;
	x->has_records = packet_has_records(res);
	uint32_t rttl = res->ttl > 0 ? (uint32_t)res->ttl : 0;
	if (res->rcode == DNS_RCODE_SERVFAIL && !res->bogus && res->answer_packet != NULL) {
		size_t n = rrs_from_packet(res, qtype, u);
		if (n > 0) {
			uint32_t pt = packet_answer_ttl(res);
			x->rcode = DNS_RCODE_NOERROR;
			x->ttl = pt == UINT32_MAX ? 0 : pt; /* no res->ttl for these */
			x->n = n;
			x->rdata = u->rdata;
			x->rdlen = u->rdlen;
			return u;
		}
	}
	if (res->rcode != DNS_RCODE_NOERROR || !res->havedata || res->data == NULL) {
		x->ttl = rttl; /* negative (or an error: unused) */
		return u;
	}
	size_t n = 0;
	while (res->data[n] != NULL)
		n++;
	uint32_t pt = packet_answer_ttl(res);
	x->ttl = pt < rttl ? pt : rttl;
	if (n == 0)
		return u;
	u->rdata = calloc(n, sizeof(*u->rdata));
	u->rdlen = calloc(n, sizeof(*u->rdlen));
	if (u->rdata == NULL || u->rdlen == NULL)
		goto nomem;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (res->len[i] < 0 || res->len[i] > UINT16_MAX)
			continue;
		u->rdata[k] = (const uint8_t *)res->data[i];
		u->rdlen[k] = (uint16_t)res->len[i];
		k++;
	}
	x->n = k;
	x->rdata = u->rdata;
	x->rdlen = u->rdlen;
	return u;
nomem:
	free(u->rdata);
	free(u->rdlen);
	free(u);
	return NULL;
}

/* The transport whose ub_process() is running in this thread: libunbound calls back
 * only from there, and its mydata is the resolver's tag itself (so a question that
 * ub_cancel() could not stop comes back to the resolver, which drops it). */
static _Thread_local struct ut *processing;

/* Called by libunbound from inside ub_process(). */
static void ub_callback(void *mydata, int err, struct ub_result *res)
{
	struct ut *t = processing;
	struct ures *u = NULL;
	if (err == 0 && res != NULL) {
		u = convert(res, (uint16_t)res->qtype); /* the question's type */
		if (u == NULL)
			ub.resolve_free(res);
	} else if (res != NULL) {
		ub.resolve_free(res);
	}
	t->base.answer(t->base.owner, mydata, u ? &u->x : NULL);
}

static int ut_fd(const struct xp *x)
{
	const struct ut *t = (const struct ut *)x;
	return ub.fd(t->ctx);
}

static int ut_submit(struct xp *x, const char *name, uint16_t type, void *tag, int *id)
{
	struct ut *t = (struct ut *)x;
	char text[NAME_TEXT_MAX];
	if (!name_text(name, text, sizeof(text)))
		return SPF_EINVAL;
	if (ub.resolve_async(t->ctx, text, type, DNS_CLASS_IN, tag, ub_callback, id) != 0)
		return SPF_EIO;
	return SPF_OK;
}

/* ub_cancel() fails when the answer is already on its way: then the callback comes. */
static bool ut_cancel(struct xp *x, int id)
{
	struct ut *t = (struct ut *)x;
	return ub.cancel(t->ctx, id) == 0;
}

static int ut_process(struct xp *x)
{
	struct ut *t = (struct ut *)x;
	struct ut *outer = processing;
	processing = t;
	int rc = ub.process(t->ctx);
	processing = outer;
	return rc == 0 ? SPF_OK : SPF_EIO;
}

static void ut_result_free(struct xp *x, struct xp_result *res)
{
	if (res == NULL)
		return;
	struct ures *u = (struct ures *)res; /* x is its first member */
	ub.resolve_free(u->res);
	free(u->rdata);
	free(u->rdlen);
	free(u);
}

static void ut_free(struct xp *x)
{
	struct ut *t = (struct ut *)x;
	if (t == NULL)
		return;
	if (t->ctx != NULL)
		ub.ctx_delete(t->ctx); /* stops and joins the worker thread; no callbacks */
	free(t);
}

static const struct xp_ops ut_ops = {
	.name = "libunbound",
	.fd = ut_fd,
	.submit = ut_submit,
	.cancel = ut_cancel,
	.process = ut_process,
	.result_free = ut_result_free,
	.free = ut_free,
};

/* ---------------------------------------------------------------- set-up */

static int set_opt(struct ut *r, const char *opt, const char *val, char *err,
    size_t errcap)
{
	int rc = ub.ctx_set_option(r->ctx, opt, val);
	if (rc != 0) {
		spf_seterr(err, errcap, "libunbound option %s %s: %s", opt, val, ub.strerror(rc));
		return SPF_EIO;
	}
	return SPF_OK;
}

/*
 * With an upstream resolver (system or forward mode) that resolver decides what
 * names exist: libunbound's own locally served zones (RFC 6303 private and
 * documentation reverse zones, test., home.arpa.) would hide the upstream's answers
 * (internal reverse zones, test domains).  localhost., onion. and invalid. stay local
 * (RFC 6761, RFC 7686).  In recursion mode every default stays: those queries must not
 * leak to the root or AS112.
 */
static const char *const ub_upstream_opts[][2] = {
	{ "unblock-lan-zones:", "yes" },
	{ "insecure-lan-zones:", "yes" },
	{ "local-zone:", "test. transparent" },
	{ "local-zone:", "home.arpa. transparent" },
};

/*
 * Is the trust anchor file in f an RFC 5011 auto-trust-anchor file?  unbound writes
 * one (and unbound-anchor creates one) with a line ";;id: NAME CLASS" for its zone,
 * and keeps it there on every rewrite; a zone-format file of DS or DNSKEY records has
 * no reason to carry one.  Only the starts of lines are looked at; longer lines (RSA
 * keys) are read in pieces.
 */
static bool ta_is_autr(FILE *f)
{
	char line[256];
	bool at_start = true;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (at_start && strncmp(line, ";;id:", 5) == 0)
			return true;
		at_start = strchr(line, '\n') != NULL;
	}
	return false;
}

static int setup_ctx(struct ut *r, const struct spf_resolver_options *o, char *err,
    size_t errcap)
{
	int rc;
	r->ctx = ub.ctx_create();
	if (r->ctx == NULL) {
		spf_seterr(err, errcap, "cannot create a libunbound context");
		return SPF_ENOMEM;
	}
	if ((rc = ub.ctx_async(r->ctx, 1)) != 0) {
		spf_seterr(err, errcap, "libunbound: threads: %s", ub.strerror(rc));
		return SPF_EIO;
	}
	for (size_t i = 0; i < sizeof(ub_tuning) / sizeof(ub_tuning[0]); i++)
		if ((rc = set_opt(r, ub_tuning[i][0], ub_tuning[i][1], err, errcap)) != SPF_OK)
			return rc;
	if (o->tcp_only && (rc = set_opt(r, "tcp-upstream:", "yes", err, errcap)) != SPF_OK)
		return rc;

	if (o->mode == SPF_RESOLVER_SYSTEM || o->mode == SPF_RESOLVER_FORWARD) {
		for (size_t i = 0; i < sizeof(ub_upstream_opts) / sizeof(ub_upstream_opts[0]); i++)
			if ((rc = set_opt(r, ub_upstream_opts[i][0], ub_upstream_opts[i][1], err,
			    errcap)) != SPF_OK)
				return rc;
	}

	switch (o->mode) {
	case SPF_RESOLVER_SYSTEM:
		/* resolv.conf commonly names 127.0.0.1 or 127.0.0.53. */
		if ((rc = set_opt(r, "do-not-query-localhost:", "no", err, errcap)) != SPF_OK)
			return rc;
		if ((rc = ub.ctx_resolvconf(r->ctx, NULL)) != 0) {
			spf_seterr(err, errcap, "/etc/resolv.conf: %s", ub.strerror(rc));
			return SPF_EIO;
		}
		break;
	case SPF_RESOLVER_FORWARD:
		if (o->nforwarders == 0 || o->forwarders == NULL) {
			spf_seterr(err, errcap, "forward mode needs at least one forwarder");
			return SPF_EINVAL;
		}
		/* Forwarders on loopback are the point of a local resolver. */
		if ((rc = set_opt(r, "do-not-query-localhost:", "no", err, errcap)) != SPF_OK)
			return rc;
		for (size_t i = 0; i < o->nforwarders; i++) {
			const char *f = o->forwarders[i];
			if (f == NULL || (rc = ub.ctx_set_fwd(r->ctx, f)) != 0) {
				spf_seterr(err, errcap, "forwarder '%s': %s", f ? f : "(null)",
				    f ? ub.strerror(rc) : "missing");
				return SPF_EINVAL;
			}
		}
		break;
	case SPF_RESOLVER_RECURSE:
		break; /* libunbound recurses from its built-in root hints */
	default:
		spf_seterr(err, errcap, "unknown resolver mode %d", (int)o->mode);
		return SPF_EINVAL;
	}

	if (o->trust_anchor_file != NULL) {
		/* libunbound reads the file only when the context is finalized (at the
		 * first query); check now that it is there, to fail at startup. */
		FILE *f = fopen(o->trust_anchor_file, "r");
		if (f == NULL) {
			spf_seterr(err, errcap, "%s: %s", o->trust_anchor_file, strerror(errno));
			return SPF_ENOENT;
		}
		bool autr = ta_is_autr(f);
		bool rderr = ferror(f) != 0;
		fclose(f);
		if (rderr) {
			spf_seterr(err, errcap, "%s: read error", o->trust_anchor_file);
			return SPF_EIO;
		}
		rc = autr ? ub.ctx_add_ta_autr(r->ctx, o->trust_anchor_file) :
		    ub.ctx_add_ta_file(r->ctx, o->trust_anchor_file);
		if (rc != 0) {
			spf_seterr(err, errcap, "%s: %s", o->trust_anchor_file, ub.strerror(rc));
			return SPF_EIO;
		}
		/* A file that does not parse would make every query SERVFAIL (libunbound
		 * fails its validator at the first query).  Finalize the context now with a
		 * question it answers itself (its localhost. zone, no network), so that a
		 * bad anchor is an error here.  No option can be set after this. */
		struct ub_result *res = NULL;
		rc = ub.resolve(r->ctx, "localhost.", SPF_RR_A, DNS_CLASS_IN, &res);
		if (res != NULL)
			ub.resolve_free(res);
		if (rc != 0) {
			spf_seterr(err, errcap, "%s: cannot load the trust anchor (%s)",
			    o->trust_anchor_file, ub.strerror(rc));
			return SPF_EINVAL;
		}
	}
	if (ub.fd(r->ctx) < 0) {
		spf_seterr(err, errcap, "libunbound has no descriptor to watch");
		return SPF_EIO;
	}
	return SPF_OK;
}

int xp_unbound_new(struct xp **out, const struct spf_resolver_options *o,
    xp_answer_fn *answer, void *owner, char *err, size_t errcap)
{
	*out = NULL;
	if (!ub_load(err, errcap))
		return SPF_EIO;
	struct ut *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		spf_seterr(err, errcap, "out of memory");
		return SPF_ENOMEM;
	}
	t->base.ops = &ut_ops;
	t->base.answer = answer;
	t->base.owner = owner;
	int rc = setup_ctx(t, o, err, errcap);
	if (rc != SPF_OK) {
		ut_free(&t->base);
		return rc;
	}
	*out = &t->base;
	return SPF_OK;
}
