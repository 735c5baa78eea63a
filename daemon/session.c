/*
 * session.c - one policy connection: read requests, run SPF checks, write replies.
 *
 * Entry points: session_new(), session_close_all().
 *
 * Life of a request.  The descriptor is read with read(2) straight into the session's
 * input buffer; complete lines are taken from it one at a time (policy.c); a line
 * longer than max_line is refused as soon as that many bytes without a newline are
 * buffered, so a client cannot make us buffer without bound.  When the empty line
 * arrives the session is busy: it takes a reference on the current configuration,
 * answers from the per-instance cache if it can, else checks the static whitelists,
 * then starts its jobs together: SPF evaluations on the shared resolver (trusted
 * forwarders, HELO, MAIL FROM) and, for the helo_address whitelist, an address
 * lookup (dnsaddr.c).  A job left running after they are all started gets the time
 * budget timer.  When the last job is done (or the timer expired them: temperror, no
 * address), decide.c turns the outcomes into the reply, which is cached for the
 * instance.  Then the next buffered request, if any, is read.
 *
 * I/O.  No bufferevents: one read(2) takes what the socket holds, and a reply is
 * written with one write(2) at once; only a reply the socket does not take whole is
 * copied aside, and only then is a write event armed.  So a request costs one read
 * and one write.  Buffers are not owned by idle sessions: the input buffer and the
 * request store come from a small process-wide pool when data arrives and go back
 * when the session has nothing half-read, and the per-instance cache is allocated at
 * the first check.  An idle connection is its struct session and one event.  The
 * idle timeout and the time budget use libevent's common timeouts (O(1) per
 * connection, however many are open).
 *
 * Re-entrancy.  A job may finish inside the call that starts it (an answer known at
 * once: zone, offline, cache), so the finish is held (s->hold) while jobs are started
 * or expired.  The reply may then be written, and the next pipelined request taken,
 * before spf_resolver_start() returns: that all happens inside pump(), which is not
 * re-entered (the next request is taken by the loop already running).  Anything below
 * pump() may end the session; there session_free() only marks it dead and pump()
 * frees it on the way out, so nothing touches freed memory.  Outside pump() (a check
 * finishing from the event loop) the reply is written and pump() is called.
 *
 * Per-instance cache.  Postfix sends one request per recipient with the same
 * "instance" (smtpd_delay_reject=yes), all on the same connection.  The first
 * request of an instance is checked; the others get the same action without a new
 * check.  When the action is bypass, the headers are handed out one per reply, as
 * PREPEND (a reply carries one action), so each header is prepended once per message:
 * with "header = both" the second one goes out with the next request of the message
 * (second recipient, or the DATA state when the service is also listed in
 * smtpd_data_restrictions).  The MAIL FROM result is the one found when MAIL FROM was
 * checked: a later request of the same instance never re-checks it.
 *
 * Errors.  A malformed or over-cap request is logged with the reason and the
 * connection closed without a reply (SMTPD_POLICY_README: "in case of trouble the
 * policy server must not send a reply").  A connection that closes mid-request just
 * goes away; its checks are cancelled.  In --stdio mode, end of input after a
 * complete request lets that request finish and its reply be written first.
 *
 * Memory: a session owns its events, its input buffer and request store while it
 * holds them (pooled), unwritten output, its jobs and evaluations, and its cache entry.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>

#include "decide.h"
#include "log.h"
#include "policy.h"
#include "session.h"

enum job_kind { JOB_FORWARDER, JOB_HELO, JOB_MAILFROM, JOB_HELO_ADDR };

struct job {
	struct session *s;
	enum job_kind kind;
	const char *domain;        /* JOB_FORWARDER: the forwarder domain (in s->cfg) */
	struct spf_eval *ev;       /* not for JOB_HELO_ADDR */
	struct spf_check *check;   /* while running */
	struct dnsaddr *da;        /* JOB_HELO_ADDR, while running */
	bool match;                /* JOB_HELO_ADDR: the HELO name has the client's address */
	bool running;
};

/* The decision for the current instance (allocated at the session's first check). */
struct cached {
	bool valid;
	char *strings;            /* one allocation: instance, sender, client, helo */
	const char *instance, *sender, *client, *helo;
	bool adoptable;           /* checked at MAIL, before Postfix named the instance */
	enum action action;
	char reply[DECIDE_REPLY_MAX + 32];
	char hdr[2][SPF_HEADER_MAX];
	int nhdr, next;           /* headers, and the next one to hand out */
	char summary[512];        /* for the log: "helo=none mailfrom=fail ..." */
};

struct session {
	struct session *prev, *next;
	struct server *srv;
	int rfd, wfd;              /* the same for a socket */
	struct event *rev;         /* readable, or the idle timeout */
	struct event *wev;         /* writable: armed only while output waits */

	char *in;                  /* unparsed input (pooled; NULL when none) */
	size_t inpos, inlen, incap; /* taken up to inpos, read up to inlen */
	char *out;                 /* output the descriptor did not take (NULL: none) */
	size_t outpos, outlen, outcap;

	struct policy_request req; /* its store is pooled while a request is read */

	bool stdio;
	bool busy;       /* a complete request is being answered */
	bool in_pump;    /* pump() is on the stack: do not re-enter it, do not free */
	bool dead;       /* session_free() was called inside pump(): free on the way out */
	bool closing;    /* flush the output, then free */
	bool eof;        /* no more input will come */
	bool failed;     /* the output failed: free when pump() unwinds */
	bool hold;       /* starting or expiring jobs: finish later */
	bool expired;

	/* The request being answered. */
	struct config *cfg;
	struct spf_addr client;
	const struct enforce_group *group;
	struct job *jobs;
	size_t njobs;
	unsigned pending;
	struct event *timer;       /* the time budget; created at the first wait */
	struct timeval t0;

	struct cached *cache;
	char peer[64];
};

static struct session *sessions;

static void pump(struct session *s);
static void session_free(struct session *s);

/* ---------------------------------------------------------------- buffer pool */

/*
 * Input buffers and request stores are only needed while data is half-read or a
 * request is being answered; a few spares are kept so that the common case (the
 * whole request in one read, answered at once) allocates nothing.  A spare of the
 * wrong size (after a reload changed the caps) is freed rather than reused.
 */
#define POOL_MAX 8

struct pool {
	char *v[POOL_MAX];
	size_t cap[POOL_MAX];
	size_t n;
};
static struct pool inpool, storepool;

static char *pool_get(struct pool *p, size_t cap)
{
	while (p->n > 0) {
		p->n--;
		if (p->cap[p->n] == cap)
			return p->v[p->n];
		free(p->v[p->n]);
	}
	return malloc(cap);
}

static void pool_put(struct pool *p, char *b, size_t cap)
{
	if (b == NULL)
		return;
	if (p->n == POOL_MAX) {
		free(b);
		return;
	}
	p->v[p->n] = b;
	p->cap[p->n] = cap;
	p->n++;
}

static void pool_clear(struct pool *p)
{
	while (p->n > 0)
		free(p->v[--p->n]);
}

/* ---------------------------------------------------------------- helpers */

/* libevent's cached time: read once per loop iteration, no system call. */
static void now(const struct session *s, struct timeval *tv)
{
	if (event_base_gettimeofday_cached(s->srv->base, tv) != 0)
		evutil_gettimeofday(tv, NULL);
}

static long elapsed_ms(const struct session *s)
{
	struct timeval t;
	now(s, &t);
	return (long)(t.tv_sec - s->t0.tv_sec) * 1000 + (long)(t.tv_usec - s->t0.tv_usec) / 1000;
}

/* A timeout shared by many events: libevent keeps these in a queue, not its heap. */
static const struct timeval *common_timeout(struct event_base *base, unsigned ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	const struct timeval *ct = event_base_init_common_timeout(base, &tv);
	static struct timeval fallback;
	if (ct)
		return ct;
	fallback = tv;
	return &fallback;
}

static const char *receiver(const struct session *s)
{
	return s->cfg && s->cfg->receiver ? s->cfg->receiver : s->srv->hostname;
}

static void cache_clear(struct cached *c)
{
	if (c == NULL)
		return;
	free(c->strings);
	c->strings = NULL;
	c->valid = false;
}

/*
 * Does the request belong to the message of the cache entry?  Postfix sends an empty
 * "instance" in the MAIL state: it names the transaction at its first RCPT.  So an
 * entry made at MAIL with no instance is taken over by the next request that has one
 * (same client, HELO and sender): that is the RCPT of the same transaction, since a
 * new transaction would have started with a new MAIL request, which replaces the
 * entry.  Without this, a message checked at MAIL would be checked again at RCPT and
 * get its header twice.
 */
static bool cache_hit(struct session *s)
{
	struct cached *c = s->cache;
	const char *inst = policy_get(&s->req, PA_INSTANCE);
	if (c == NULL || !c->valid || *inst == '\0' ||
	    strcmp(c->sender, policy_get(&s->req, PA_SENDER)) != 0 ||
	    strcmp(c->client, policy_get(&s->req, PA_CLIENT_ADDRESS)) != 0 ||
	    strcmp(c->helo, policy_get(&s->req, PA_HELO_NAME)) != 0)
		return false;
	if (c->adoptable) {
		/* The instance string is the first of the four: rebuild the block. */
		size_t il = strlen(inst), sl = strlen(c->sender) + 1, cl = strlen(c->client) + 1,
		    hl = strlen(c->helo) + 1;
		char *ns = malloc(il + 1 + sl + cl + hl);
		if (ns == NULL)
			return false;
		memcpy(ns, inst, il + 1);
		memcpy(ns + il + 1, c->sender, sl);
		memcpy(ns + il + 1 + sl, c->client, cl);
		memcpy(ns + il + 1 + sl + cl, c->helo, hl);
		free(c->strings);
		c->strings = ns;
		c->instance = ns;
		c->sender = ns + il + 1;
		c->client = c->sender + sl;
		c->helo = c->client + cl;
		c->adoptable = false;
		return true;
	}
	return strcmp(c->instance, inst) == 0;
}

/* A new cache entry for the request: its four strings in one allocation. */
static bool cache_start(struct session *s)
{
	static const enum policy_attr keys[4] = { PA_INSTANCE, PA_SENDER, PA_CLIENT_ADDRESS,
		PA_HELO_NAME };
	const char *v[4];
	size_t len[4], total = 0;

	if (s->cache == NULL && (s->cache = calloc(1, sizeof(*s->cache))) == NULL)
		return false;
	struct cached *c = s->cache;
	cache_clear(c);
	for (int i = 0; i < 4; i++) {
		v[i] = policy_get(&s->req, keys[i]);
		len[i] = strlen(v[i]) + 1;
		total += len[i];
	}
	char *p = malloc(total);
	if (p == NULL)
		return false;
	c->strings = p;
	const char **dst[4] = { &c->instance, &c->sender, &c->client, &c->helo };
	for (int i = 0; i < 4; i++) {
		memcpy(p, v[i], len[i]);
		*dst[i] = p;
		p += len[i];
	}
	c->valid = false;
	c->nhdr = c->next = 0;
	c->summary[0] = '\0';
	c->reply[0] = '\0';
	c->adoptable = c->instance[0] == '\0' &&
	    strcasecmp(policy_get(&s->req, PA_PROTOCOL_STATE), "MAIL") == 0;
	return true;
}

/* Appends s to out (cap bytes with the NUL), cut if it does not fit.  Returns the
 * new length. */
static size_t put(char *out, size_t len, size_t cap, const char *s)
{
	size_t n = strlen(s);
	if (len >= cap)
		return len;
	if (n > cap - 1 - len)
		n = cap - 1 - len;
	memcpy(out + len, s, n);
	len += n;
	out[len] = '\0';
	return len;
}

/* The reply for the cached decision: its action, or the next header, or DUNNO. */
static void cached_reply(struct session *s, char *out, size_t cap, bool may_prepend)
{
	struct cached *c = s->cache;
	if (c->action != ACTION_BYPASS)
		put(out, 0, cap, c->reply);
	else if (may_prepend && c->next < c->nhdr)
		put(out, put(out, 0, cap, "PREPEND "), cap, c->hdr[c->next++]);
	else
		put(out, 0, cap, "DUNNO");
}

/* ---------------------------------------------------------------- output */

static void on_writable(evutil_socket_t fd, short what, void *arg);

/* Keeps n bytes the descriptor did not take, and waits until it can take them. */
static bool queue_output(struct session *s, const char *p, size_t n)
{
	if (s->outpos > 0 && s->outpos == s->outlen)
		s->outpos = s->outlen = 0;
	if (n > s->outcap - s->outlen) {
		size_t live = s->outlen - s->outpos;
		size_t cap = s->outcap ? s->outcap : 1024;
		while (cap - live < n)
			cap *= 2;
		char *nb = malloc(cap);
		if (nb == NULL)
			return false;
		if (live)
			memcpy(nb, s->out + s->outpos, live);
		free(s->out);
		s->out = nb;
		s->outcap = cap;
		s->outpos = 0;
		s->outlen = live;
	}
	memcpy(s->out + s->outlen, p, n);
	s->outlen += n;
	if (s->wev == NULL &&
	    (s->wev = event_new(s->srv->base, s->wfd, EV_WRITE | EV_PERSIST, on_writable, s)) == NULL)
		return false;
	return event_add(s->wev, NULL) == 0;
}

/*
 * An output error: nothing more can be written.  The session ends when pump()
 * unwinds (a reply is always followed by pump()): not here, since the caller may be
 * a check finishing outside pump() that still has s to tidy up.
 */
static void output_failed(struct session *s, const char *why)
{
	if (errno != EPIPE && errno != ECONNRESET)
		log_warn("%s: %s", s->peer, why);
	s->closing = true;
	s->failed = true;
	if (s->rev)
		event_del(s->rev);
}

static void write_reply(struct session *s, const char *action)
{
	char buf[DECIDE_REPLY_MAX + SPF_HEADER_MAX + 48];
	size_t len;

	if (s->dead || s->failed)
		return;
	/* One attribute, then the empty line (SMTPD_POLICY_README). */
	memcpy(buf, "action=", 7);
	len = put(buf, 7, sizeof(buf) - 2, action);
	memcpy(buf + len, "\n\n", 2);
	len += 2;
	if (s->outlen > s->outpos) {
		/* Earlier output still waits: keep the order. */
		if (!queue_output(s, buf, len))
			output_failed(s, "cannot queue the reply");
		return;
	}
	ssize_t n;
	do
		n = write(s->wfd, buf, len);
	while (n == -1 && errno == EINTR);
	if (n == (ssize_t)len)
		return;
	if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK) {
		output_failed(s, "write");
		return;
	}
	if (n < 0)
		n = 0;
	if (!queue_output(s, buf + n, len - (size_t)n))
		output_failed(s, "cannot queue the reply");
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	while (s->outpos < s->outlen) {
		ssize_t n = write(s->wfd, s->out + s->outpos, s->outlen - s->outpos);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			if (errno != EPIPE && errno != ECONNRESET)
				log_warn("%s: write", s->peer);
			session_free(s);
			return;
		}
		s->outpos += (size_t)n;
	}
	/* All written: the buffer goes, the event is disarmed. */
	event_del(s->wev);
	free(s->out);
	s->out = NULL;
	s->outpos = s->outlen = s->outcap = 0;
	if (s->closing)
		session_free(s);
}

static void end_request(struct session *s)
{
	for (size_t i = 0; i < s->njobs; i++) {
		if (s->jobs[i].running && s->jobs[i].kind == JOB_HELO_ADDR)
			dnsaddr_cancel(s->jobs[i].da);
		else if (s->jobs[i].running)
			spf_check_cancel(s->jobs[i].check);
		spf_eval_free(s->jobs[i].ev);
	}
	free(s->jobs);
	s->jobs = NULL;
	s->njobs = 0;
	s->pending = 0;
	if (s->timer)
		event_del(s->timer);
	config_unref(s->cfg);
	s->cfg = NULL;
	/* The store goes back to the pool: an idle session holds none. */
	pool_put(&storepool, s->req.store, s->req.store_cap);
	policy_init(&s->req, NULL, 0);
	s->busy = false;
	s->expired = false;
	s->group = NULL;
}

static void reply_and_continue(struct session *s, const char *action)
{
	write_reply(s, action);
	end_request(s);
	pump(s); /* the next buffered request; returns at once inside pump() */
}

/* ---------------------------------------------------------------- logging */

/* The queue id for log lines ("NOQUEUE" before Postfix has one), escaped. */
static const char *qid(const struct session *s, struct esc *e)
{
	const char *q = policy_get(&s->req, PA_QUEUE_ID);
	return *q ? esc(e, q) : "NOQUEUE";
}

static void log_outcome_details(const struct session *s, const struct job *j)
{
	const struct spf_outcome *o;
	const struct spf_trace *t;
	struct esc e1, e2, e3, e4;

	if (log_getlevel() < 2 || (o = spf_eval_outcome(j->ev)) == NULL)
		return;
	size_t n = spf_eval_trace(j->ev, &t);
	if (log_getlevel() >= 3) {
		for (size_t i = 0; i < n; i++)
			log_trace("%s: trace %s: %*s%s %s", qid(s, &e1),
			    spf_identity_name(o->identity), (int)t[i].depth * 2, "",
			    spf_trace_kind_name(t[i].kind), esc(&e2, t[i].text));
	}
	/* Level 2: the record and the term that decided. */
	const char *record = NULL;
	for (size_t i = 0; i < n; i++)
		if (t[i].kind == SPF_TRACE_RECORD && o->domain && t[i].domain &&
		    strcasecmp(t[i].domain, o->domain) == 0)
			record = t[i].text;
	log_debug("%s: %s%s: %s; record of %s: %s; decided by: %s%s%s", qid(s, &e1),
	    spf_identity_name(o->identity), j->kind == JOB_FORWARDER ? " (trusted forwarder)" : "",
	    spf_result_name(o->result), esc(&e2, o->domain ? o->domain : o->checked_domain),
	    record ? record : "(none)", o->mechanism ? esc(&e4, o->mechanism) : "(default)",
	    o->problem ? "; problem: " : "", o->problem ? esc(&e3, o->problem) : "");
}

/* Appends s, escaped and capped as esc() does, to out (cap bytes with the NUL). */
static size_t put_esc(char *out, size_t len, size_t cap, const char *s)
{
	if (len + 1 >= cap)
		return len;
	log_escape(s, strlen(s), LOG_ESC_MAX, out + len, cap - len);
	return len + strlen(out + len);
}

/* Appends a decimal number. */
static size_t put_long(char *out, size_t len, size_t cap, long v)
{
	char d[24];
	size_t n = sizeof(d);
	unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;
	d[--n] = '\0';
	do
		d[--n] = (char)('0' + u % 10);
	while ((u /= 10) != 0 && n > 1);
	if (v < 0)
		d[--n] = '-';
	return put(out, len, cap, d + n);
}

/*
 * The decision line (level 1, one per request).  Built with put() rather than one
 * printf with eleven conversions and five escape buffers: this is the one log line
 * every request writes.
 */
static void log_decision(const struct session *s, const char *how, const char *reply)
{
	static const enum policy_attr attrs[4] = { PA_HELO_NAME, PA_SENDER, PA_INSTANCE,
		PA_PROTOCOL_STATE };
	static const char *const labels[4] = { " helo=", " sender=", " instance=", " state=" };
	char b[4096];
	size_t n;

	if (log_getlevel() < 1)
		return; /* nothing below is formatted for a line nobody writes */
	const char *q = policy_get(&s->req, PA_QUEUE_ID);
	n = *q ? put_esc(b, 0, sizeof(b), q) : put(b, 0, sizeof(b), "NOQUEUE");
	n = put(b, n, sizeof(b), ": client=");
	n = put_esc(b, n, sizeof(b), s->cache->client);
	for (int i = 0; i < 4; i++) {
		n = put(b, n, sizeof(b), labels[i]);
		n = put_esc(b, n, sizeof(b), policy_get(&s->req, attrs[i]));
	}
	n = put(b, n, sizeof(b), ": ");
	n = put(b, n, sizeof(b), s->cache->summary);
	n = put(b, n, sizeof(b), " action=");
	n = put(b, n, sizeof(b), action_name(s->cache->action));
	n = put(b, n, sizeof(b), " reply=\"");
	n = put(b, n, sizeof(b), reply);
	n = put(b, n, sizeof(b), "\" time=");
	n = put_long(b, n, sizeof(b), elapsed_ms(s));
	n = put(b, n, sizeof(b), "ms");
	put(b, n, sizeof(b), how);
	log_info("%s", b);
}

/* ---------------------------------------------------------------- checks */

/* "helo=none mailfrom=fail list=NAME (time budget expired)", without printf. */
static void summarize(const struct session *s, const struct spf_outcome *helo,
    const struct spf_outcome *mfrom, char *out, size_t cap)
{
	size_t n = 0;
	out[0] = '\0';
	if (helo) {
		n = put(out, n, cap, "helo=");
		n = put(out, n, cap, spf_result_name(helo->result));
	}
	if (mfrom) {
		if (helo)
			n = put(out, n, cap, " ");
		n = put(out, n, cap, "mailfrom=");
		n = put(out, n, cap, spf_result_name(mfrom->result));
	}
	if (s->group) {
		n = put(out, n, cap, " list=");
		n = put(out, n, cap, s->group->name);
	}
	if (s->expired)
		put(out, n, cap, " (time budget expired)");
}

static void finish_request(struct session *s)
{
	struct cached *c = s->cache;
	const struct spf_outcome *helo = NULL, *mfrom = NULL;
	const char *fwd_pass = NULL;
	bool helo_addr = false;
	char reply[DECIDE_REPLY_MAX + SPF_HEADER_MAX + 32];

	for (size_t i = 0; i < s->njobs; i++) {
		if (s->jobs[i].kind == JOB_HELO_ADDR) {
			helo_addr = s->jobs[i].match;
			continue;
		}
		const struct spf_outcome *o = spf_eval_outcome(s->jobs[i].ev);
		if (o == NULL)
			continue;
		log_outcome_details(s, &s->jobs[i]);
		switch (s->jobs[i].kind) {
		case JOB_FORWARDER:
			if (o->result == SPF_RESULT_PASS && fwd_pass == NULL)
				fwd_pass = s->jobs[i].domain;
			break;
		case JOB_HELO: helo = o; break;
		case JOB_MAILFROM: mfrom = o; break;
		case JOB_HELO_ADDR: break; /* not an evaluation: handled above */
		}
	}

	if (fwd_pass || helo_addr) {
		/* The client is an authorized sender of a trusted forwarder's domain, or
		 * its HELO name resolves to it: this depends on the client address and the
		 * HELO name, never on the MAIL FROM. */
		char why[DECIDE_WHY_MAX], h[DECIDE_PLACEHOLDER_MAX + 4];
		if (fwd_pass)
			snprintf(why, sizeof(why), "trusted forwarder %s", fwd_pass);
		else
			snprintf(why, sizeof(why), "HELO name %s has the client's address",
			    decide_sanitize(policy_get(&s->req, PA_HELO_NAME), 100, "\"\\()", h,
			    sizeof(h)));
		c->action = ACTION_BYPASS;
		snprintf(c->summary, sizeof(c->summary), "whitelisted (%s)", why);
		c->nhdr = decide_whitelist_headers(s->cfg, receiver(s), why, &s->client,
		    policy_get(&s->req, PA_SENDER), policy_get(&s->req, PA_HELO_NAME), c->hdr,
		    sizeof(c->hdr[0]));
	} else {
		struct decision d;
		const struct action_table *t = s->group ? &s->group->actions : &s->cfg->actions;
		decide_final(s->cfg, t, helo, mfrom, &d);
		c->action = d.action;
		put(c->reply, 0, sizeof(c->reply), d.reply);
		summarize(s, helo, mfrom, c->summary, sizeof(c->summary));
		/* Headers only go out with bypass; a block or tempblock reply has none. */
		c->nhdr = c->action == ACTION_BYPASS ? decide_headers(s->cfg, receiver(s), helo,
		    mfrom, c->hdr, sizeof(c->hdr[0])) : 0;
	}
	c->next = 0;
	c->valid = true;
	cached_reply(s, reply, sizeof(reply), true);
	log_decision(s, "", reply);
	reply_and_continue(s, reply);
}

static void job_done(struct spf_check *chk, struct spf_eval *ev, void *arg)
{
	struct job *j = arg;
	struct session *s = j->s;

	j->running = false;
	j->check = NULL;
	s->pending--;
	if (!s->hold && s->pending == 0)
		finish_request(s);
}

static void helo_addr_done(void *arg, bool match)
{
	struct job *j = arg;
	struct session *s = j->s;

	j->running = false;
	j->da = NULL;
	j->match = match;
	s->pending--;
	if (!s->hold && s->pending == 0)
		finish_request(s);
}

static void on_budget(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	struct esc q;

	log_warnx("%s: time budget of %ums expired; temperror for what is unfinished",
	    qid(s, &q), s->cfg->time_budget_ms);
	s->expired = true;
	s->hold = true;
	for (size_t i = 0; i < s->njobs; i++) {
		struct job *j = &s->jobs[i];
		if (j->running && j->kind == JOB_HELO_ADDR) {
			dnsaddr_cancel(j->da); /* no address in time: no match */
			j->running = false;
			j->da = NULL;
			s->pending--;
		} else if (j->running)
			spf_check_expire(j->check); /* calls job_done() */
	}
	s->hold = false;
	if (s->pending == 0)
		finish_request(s);
}

static bool add_job(struct session *s, enum job_kind kind, const char *domain,
    const struct spf_options *opts, const struct spf_request *rq)
{
	struct job *j = &s->jobs[s->njobs];
	memset(j, 0, sizeof(*j));
	j->s = s;
	j->kind = kind;
	j->domain = domain;
	int rc = spf_eval_new(&j->ev, opts, rq);
	if (rc != SPF_OK) {
		log_warnx("%s: cannot start an evaluation: %s", s->peer, spf_strerror(rc));
		return false;
	}
	s->njobs++;
	return true;
}

/* Starts the checks of a request; the reply comes from finish_request(). */
static void start_checks(struct session *s)
{
	const struct config *c = s->cfg;
	const char *helo = policy_get(&s->req, PA_HELO_NAME);
	const char *sender = policy_get(&s->req, PA_SENDER);
	struct spf_options opts;
	struct spf_request rq;
	char fwd_sender[SPF_MAX_DOMAIN + 16];

	spf_options_init(&opts);
	opts.max_void_lookups = c->max_void_lookups;
	opts.default_explanation = c->explanation;
	opts.receiver = receiver(s);
	opts.now = (int64_t)s->t0.tv_sec;
	opts.prefetch = c->prefetch;
	opts.trace = log_getlevel() >= 2;

	s->jobs = calloc(c->wl_forwarders.n + 3, sizeof(*s->jobs));
	if (s->jobs == NULL)
		goto fail;
	memset(&rq, 0, sizeof(rq));
	rq.client = s->client;
	rq.helo = helo;
	/* Trusted forwarders: does the client pass the forwarder domain's own SPF? */
	for (size_t i = 0; i < c->wl_forwarders.n; i++) {
		snprintf(fwd_sender, sizeof(fwd_sender), "postmaster@%s", c->wl_forwarders.v[i]);
		rq.identity = SPF_IDENTITY_MAILFROM;
		rq.sender = fwd_sender;
		if (!add_job(s, JOB_FORWARDER, c->wl_forwarders.v[i], &opts, &rq))
			goto fail;
	}
	if (c->check_helo && *helo) {
		rq.identity = SPF_IDENTITY_HELO;
		rq.sender = NULL;
		if (!add_job(s, JOB_HELO, NULL, &opts, &rq))
			goto fail;
	}
	/* MAIL FROM; the null sender is checked as postmaster@HELO (§2.4). */
	rq.identity = SPF_IDENTITY_MAILFROM;
	rq.sender = sender;
	if (!add_job(s, JOB_MAILFROM, NULL, &opts, &rq))
		goto fail;
	/* HELO-address whitelist: does the HELO name resolve to the client?  The lookup
	 * context is made at the first request that needs it. */
	struct server *srv = s->srv;
	if (c->wl_helo_address && *helo && srv->dx == NULL && !srv->dx_failed) {
		srv->dx = dnsaddr_ctx_new(srv->base, c, srv->zone, srv->offline);
		if (srv->dx == NULL) {
			srv->dx_failed = true;
			log_warnx("the helo_address whitelist will not match (no DNS lookups)");
		}
	}
	if (c->wl_helo_address && *helo && srv->dx) {
		struct job *j = &s->jobs[s->njobs++];
		memset(j, 0, sizeof(*j));
		j->s = s;
		j->kind = JOB_HELO_ADDR;
	}

	/* done() may run inside spf_resolver_start() (every answer known at once), and
	 * the reply be written before it returns: hold the finish until every job is
	 * started, so that nothing below frees s->jobs under this loop. */
	s->hold = true;
	for (size_t i = 0; i < s->njobs && !s->dead; i++) {
		struct job *j = &s->jobs[i];
		j->running = true;
		s->pending++;
		if (j->kind == JOB_HELO_ADDR) {
			/* done may run at once (zone, offline): j->da is then NULL */
			struct dnsaddr *da = dnsaddr_start(s->srv->dx, helo, &s->client,
			    helo_addr_done, j);
			if (j->running)
				j->da = da;
			continue;
		}
		int rc = spf_resolver_start(s->srv->resolver, j->ev, job_done, j, &j->check);
		if (rc != SPF_OK) {
			j->running = false;
			s->pending--;
			log_warnx("%s: cannot start a check: %s; temperror", s->peer,
			    spf_strerror(rc));
			spf_eval_expire(j->ev); /* its outcome: temperror */
		}
	}
	s->hold = false;
	if (s->dead)
		return;
	if (s->pending == 0) {
		finish_request(s);
		return;
	}
	/* Something waits for DNS: the time budget runs from now (the start took no
	 * time worth counting).  One timer per session, made at its first wait. */
	if (s->timer == NULL && (s->timer = evtimer_new(s->srv->base, on_budget, s)) == NULL)
		goto fail;
	evtimer_add(s->timer, common_timeout(s->srv->base, c->time_budget_ms));
	return;
fail:
	/* Out of resources: no reply, close (Postfix applies its default and retries). */
	log_warnx("%s: out of resources for a check; closing connection", s->peer);
	s->closing = true;
	session_free(s);
}

/* ---------------------------------------------------------------- requests */

static unsigned state_bit(const char *st)
{
	if (strcasecmp(st, "RCPT") == 0) return STATE_RCPT;
	if (strcasecmp(st, "MAIL") == 0) return STATE_MAIL;
	if (strcasecmp(st, "DATA") == 0) return STATE_DATA;
	return 0;
}

/* A complete request: answer it now or start its checks.  May free s. */
static void handle_request(struct session *s)
{
	struct server *srv = s->srv;
	const char *state = policy_get(&s->req, PA_PROTOCOL_STATE);
	char reply[DECIDE_REPLY_MAX + SPF_HEADER_MAX + 32];
	struct esc e1, e2;

	s->busy = true;
	s->cfg = config_ref(srv->cfg);
	srv->nrequests++;
	now(s, &s->t0);

	if (strcmp(policy_get(&s->req, PA_REQUEST), "smtpd_access_policy") != 0) {
		log_warnx("%s: unknown request type \"%s\"; DUNNO", s->peer,
		    esc(&e1, policy_get(&s->req, PA_REQUEST)));
		reply_and_continue(s, "DUNNO");
		return;
	}
	unsigned bit = state_bit(state);
	bool hit = cache_hit(s);

	if (!(bit & s->cfg->states)) {
		/* Not a state we check in.  A pending header of this message may still go
		 * out (PREPEND works up to DATA, not at END-OF-MESSAGE). */
		if (hit)
			cached_reply(s, reply, sizeof(reply),
			    strcasecmp(state, "END-OF-MESSAGE") != 0);
		else
			put(reply, 0, sizeof(reply), "DUNNO");
		if (log_getlevel() >= 2)
			log_debug("%s: state %s not checked: %s", qid(s, &e1),
			    esc(&e2, state), reply);
		reply_and_continue(s, reply);
		return;
	}
	if (hit) {
		cached_reply(s, reply, sizeof(reply), true);
		log_decision(s, " (cached for this instance)", reply);
		reply_and_continue(s, reply);
		return;
	}

	const char *ca = policy_get(&s->req, PA_CLIENT_ADDRESS);
	if (spf_addr_parse(ca, &s->client) != SPF_OK) {
		log_warnx("%s: client_address \"%s\" is not an IP address; DUNNO", qid(s, &e1), esc(&e2, ca));
		reply_and_continue(s, "DUNNO");
		return;
	}
	if (!cache_start(s)) {
		log_warnx("%s: out of memory; closing connection", s->peer);
		session_free(s);
		return;
	}
	char why[DECIDE_WHY_MAX];
	if (decide_whitelist(s->cfg, &s->client, policy_get(&s->req, PA_SASL_USERNAME),
	    policy_get(&s->req, PA_CLIENT_NAME), why, sizeof(why))) {
		struct cached *c = s->cache;
		c->action = ACTION_BYPASS;
		snprintf(c->summary, sizeof(c->summary), "whitelisted (%s)", why);
		c->nhdr = decide_whitelist_headers(s->cfg, receiver(s), why, &s->client,
		    policy_get(&s->req, PA_SENDER), policy_get(&s->req, PA_HELO_NAME), c->hdr,
		    sizeof(c->hdr[0]));
		c->valid = true;
		cached_reply(s, reply, sizeof(reply), true);
		log_decision(s, "", reply);
		reply_and_continue(s, reply);
		return;
	}
	s->group = decide_group(s->cfg, decide_sender_domain(policy_get(&s->req, PA_SENDER)),
	    &s->client);
	start_checks(s);
}

/* ---------------------------------------------------------------- input */

static void fail(struct session *s, const char *why)
{
	log_warnx("%s: %s; closing connection", s->peer, why);
	session_free(s);
}

static void close_when_flushed(struct session *s)
{
	s->closing = true;
	if (s->rev)
		event_del(s->rev);
	if (s->outlen == s->outpos)
		session_free(s);
	/* else on_writable() frees it when the output has drained */
}

/* The input buffer holds a request's worth of pipelined input and one line more. */
static size_t input_cap(const struct config *c)
{
	return c->max_request + c->max_line + 2;
}

/* Gives the input buffer back to the pool when nothing unread is left in it. */
static void input_release(struct session *s)
{
	if (s->in && s->inpos == s->inlen) {
		pool_put(&inpool, s->in, s->incap);
		s->in = NULL;
		s->inpos = s->inlen = s->incap = 0;
	}
}

/* Takes complete lines while no request is being answered. */
static void pump_lines(struct session *s)
{
	const struct config *c = s->srv->cfg;
	struct policy_limits lim = { c->max_line, c->max_attributes, c->max_request };

	while (!s->busy && !s->closing && !s->dead) {
		const char *start = s->in ? s->in + s->inpos : NULL;
		size_t have = s->inlen - s->inpos;
		const char *nl = have ? memchr(start, '\n', have) : NULL;
		if (nl == NULL) {
			if (have > lim.max_line) {
				char why[96];
				snprintf(why, sizeof(why), "malformed request: line too long (more "
				    "than %zu bytes)", lim.max_line);
				fail(s, why);
				return;
			}
			if (s->eof) {
				if (have > 0 || s->req.size > 0)
					log_warnx("%s: connection closed in the middle of a request "
					    "(%zu attributes); request dropped", s->peer, s->req.nattrs);
				close_when_flushed(s);
				return;
			}
			break;
		}
		size_t len = (size_t)(nl - start);
		if (len > lim.max_line) {
			char why[96];
			snprintf(why, sizeof(why), "malformed request: line too long (more than "
			    "%zu bytes)", lim.max_line);
			fail(s, why);
			return;
		}
		if (s->req.store == NULL || s->req.store_cap != lim.max_request) {
			/* First line of a request (or the caps changed): a store of
			 * max_request bytes, from the pool. */
			if (s->req.size == 0) {
				pool_put(&storepool, s->req.store, s->req.store_cap);
				s->req.store = NULL;
				s->req.store_cap = 0;
			}
			if (s->req.store == NULL) {
				char *st = pool_get(&storepool, lim.max_request);
				if (st == NULL) {
					fail(s, "out of memory");
					return;
				}
				s->req.store = st;
				s->req.store_cap = lim.max_request;
			}
		}
		const char *why = NULL;
		enum policy_status st = policy_line(&s->req, &lim, start, len, &why);
		s->inpos += len + 1;
		if (st == POLICY_ERROR) {
			char msg[128];
			snprintf(msg, sizeof(msg), "malformed request: %s", why ? why : "no memory");
			fail(s, msg);
			return;
		}
		if (st == POLICY_DONE)
			handle_request(s);
	}
	if (!s->busy && !s->closing && !s->dead && s->eof)
		close_when_flushed(s);
}

/*
 * Takes what can be taken.  Everything it calls may end the session; inside pump()
 * session_free() only marks it dead, and the session is freed here on the way out,
 * so no caller below ever touches freed memory.  May free s.
 */
static void pump(struct session *s)
{
	if (s->in_pump)
		return;
	s->in_pump = true;
	pump_lines(s);
	s->in_pump = false;
	if (s->dead || s->failed) {
		session_free(s);
		return;
	}
	/* Keep what is unread at the front of the buffer; no buffer when nothing is. */
	if (s->in && s->inpos > 0 && s->inpos < s->inlen) {
		memmove(s->in, s->in + s->inpos, s->inlen - s->inpos);
		s->inlen -= s->inpos;
		s->inpos = 0;
	}
	input_release(s);
}

/* The client closed its end (or stdin ended). */
static void input_ended(struct session *s)
{
	s->eof = true;
	event_del(s->rev);
	if (s->busy && !s->stdio) {
		/* Postfix went away mid-check: drop the check, nothing else is lost. */
		log_debug("%s: client closed the connection during a check", s->peer);
		session_free(s);
		return;
	}
	if (!s->busy)
		pump(s); /* takes what is complete, logs a partial request, closes */
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	const struct config *c = s->srv->cfg;

	if (what & EV_TIMEOUT) {
		if (s->busy)
			return; /* the time budget, not the idle timeout, covers a check */
		log_debug("%s: idle timeout; closing connection", s->peer);
		session_free(s);
		return;
	}
	size_t cap = input_cap(c);
	if (s->in == NULL) {
		if ((s->in = pool_get(&inpool, cap)) == NULL) {
			fail(s, "out of memory");
			return;
		}
		s->incap = cap;
		s->inpos = s->inlen = 0;
	} else if (s->incap < cap) {
		/* A reload raised the caps while input was half-read: move what is unread
		 * into a buffer of the new size (no pointer into the old one is kept
		 * between reads), so a line valid under the new caps fits. */
		char *nb = pool_get(&inpool, cap);
		if (nb == NULL) {
			fail(s, "out of memory");
			return;
		}
		memcpy(nb, s->in + s->inpos, s->inlen - s->inpos);
		free(s->in);
		s->in = nb;
		s->inlen -= s->inpos;
		s->inpos = 0;
		s->incap = cap;
	}
	if (s->inlen == s->incap) {
		/* Only while busy can the buffer fill: pipelined input waits, not without
		 * bound. */
		fail(s, "too much input while a request is pending");
		return;
	}
	ssize_t n = read(s->rfd, s->in + s->inlen, s->incap - s->inlen);
	if (n == 0) {
		input_ended(s);
		return;
	}
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		if (errno != ECONNRESET && errno != EPIPE)
			log_warn("%s: connection error", s->peer);
		session_free(s);
		return;
	}
	s->inlen += (size_t)n;
	if (s->busy) {
		/* Pipelined input waits; but not without bound. */
		if (s->inlen - s->inpos > c->max_request + c->max_line)
			fail(s, "too much input while a request is pending");
		return;
	}
	pump(s);
}

/* ---------------------------------------------------------------- lifetime */

struct session *session_new(struct server *srv, int rfd, int wfd, const char *peer)
{
	struct session *s = calloc(1, sizeof(*s));
	bool stdio = rfd == STDIN_FILENO;

	if (s == NULL)
		goto fail;
	s->srv = srv;
	s->stdio = stdio;
	s->rfd = rfd;
	s->wfd = wfd;
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	evutil_make_socket_nonblocking(rfd);
	if (wfd != rfd)
		evutil_make_socket_nonblocking(wfd);
	s->rev = event_new(srv->base, rfd, EV_READ | EV_PERSIST, on_readable, s);
	if (s->rev == NULL ||
	    event_add(s->rev, common_timeout(srv->base, srv->cfg->idle_timeout_ms)) == -1)
		goto fail;
	policy_init(&s->req, NULL, 0);

	s->next = sessions;
	if (sessions)
		sessions->prev = s;
	sessions = s;
	srv->nsessions++;
	if (log_getlevel() >= 2)
		log_debug("%s: connection opened (%u open)", s->peer, srv->nsessions);
	return s;
fail:
	log_warn("%s: cannot set up the connection", peer);
	if (s) {
		if (s->rev)
			event_free(s->rev);
		free(s);
	}
	if (!stdio) {
		close(rfd);
		if (wfd != rfd)
			close(wfd);
	}
	return NULL;
}

static void session_free(struct session *s)
{
	struct server *srv = s->srv;

	if (s->in_pump) {
		/* pump() is on the stack: it frees s when it unwinds.  The checks are
		 * cancelled then too: a caller below may still be walking s->jobs. */
		s->dead = true;
		if (s->rev)
			event_del(s->rev);
		return;
	}
	if (s->busy)
		end_request(s); /* cancels the checks */
	if (s->prev)
		s->prev->next = s->next;
	else
		sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	if (s->rev)
		event_free(s->rev);
	if (s->wev)
		event_free(s->wev);
	if (s->timer)
		event_free(s->timer);
	if (!s->stdio) {
		close(s->rfd);
		if (s->wfd != s->rfd)
			close(s->wfd);
	}
	pool_put(&inpool, s->in, s->incap);
	pool_put(&storepool, s->req.store, s->req.store_cap);
	free(s->out);
	cache_clear(s->cache);
	free(s->cache);
	srv->nsessions--;
	if (log_getlevel() >= 2)
		log_debug("%s: connection closed (%u open)", s->peer, srv->nsessions);
	bool stdio = s->stdio;
	free(s);
	if (stdio || srv->stdio)
		event_base_loopexit(srv->base, NULL);
}

void session_close_all(void)
{
	while (sessions)
		session_free(sessions);
	pool_clear(&inpool);
	pool_clear(&storepool);
}
