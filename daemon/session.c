/*
 * session.c - one policy connection: read requests, run SPF checks, write replies.
 *
 * Entry points: session_new(), session_close_all().
 *
 * Life of a request.  Lines are taken from the bufferevent's input one at a time
 * (policy.c); a line longer than max_line is refused as soon as that many bytes
 * without a newline are buffered, so a client cannot make us buffer without bound.
 * When the empty line arrives the session is busy: it takes a reference on the
 * current configuration, answers from the per-instance cache if it can, else checks
 * the static whitelists, then starts its jobs together under one timer (the time
 * budget): SPF evaluations on the shared resolver (trusted forwarders, HELO, MAIL
 * FROM) and, for the helo_address whitelist, an address lookup (dnsaddr.c).  When the
 * last job is done (or the timer expired them: temperror, no address), decide.c turns
 * the outcomes into the reply, which is cached for the instance.  Then the next
 * buffered request, if any, is read.
 *
 * Re-entrancy.  A job may finish inside the call that starts it (an answer known at
 * once: zone, offline, cache), so the finish is held (s->hold) while jobs are started
 * or expired.  Anything below pump() may end the session; there session_free() only
 * marks it dead and pump() frees it on the way out, so nothing touches freed memory.
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
 * Memory: a session owns its bufferevents, its request store (max_request bytes),
 * its jobs and evaluations, and the strings of its cache entry.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
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

/* The decision for the current instance. */
struct cached {
	bool valid;
	char *instance, *sender, *client, *helo;
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
	struct bufferevent *in, *out; /* the same for a socket */
	bool stdio;
	char peer[64];

	struct policy_request req;
	char *store;
	size_t store_cap;

	bool busy;       /* a complete request is being answered */
	bool in_pump;    /* pump() is on the stack: do not re-enter it, do not free */
	bool dead;       /* session_free() was called inside pump(): free on the way out */
	bool closing;    /* flush the output, then free */
	bool eof;        /* no more input will come */

	/* The request being answered. */
	struct config *cfg;
	struct spf_addr client;
	const struct enforce_group *group;
	struct job *jobs;
	size_t njobs;
	unsigned pending;
	bool hold;       /* starting or expiring jobs: finish later */
	bool expired;
	struct event *timer;
	struct timespec t0;

	struct cached cache;
};

static struct session *sessions;

static void pump(struct session *s);
static void session_free(struct session *s);

/* ---------------------------------------------------------------- helpers */

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static const char *receiver(const struct session *s)
{
	return s->cfg && s->cfg->receiver ? s->cfg->receiver : s->srv->hostname;
}

static void cache_clear(struct cached *c)
{
	free(c->instance);
	free(c->sender);
	free(c->client);
	free(c->helo);
	memset(c, 0, sizeof(*c));
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
	struct cached *c = &s->cache;
	const char *inst = policy_get(&s->req, PA_INSTANCE);
	if (!c->valid || *inst == '\0' ||
	    strcmp(c->sender, policy_get(&s->req, PA_SENDER)) != 0 ||
	    strcmp(c->client, policy_get(&s->req, PA_CLIENT_ADDRESS)) != 0 ||
	    strcmp(c->helo, policy_get(&s->req, PA_HELO_NAME)) != 0)
		return false;
	if (c->adoptable) {
		char *ni = strdup(inst);
		if (ni == NULL)
			return false;
		free(c->instance);
		c->instance = ni;
		c->adoptable = false;
		return true;
	}
	return strcmp(c->instance, inst) == 0;
}

static bool cache_start(struct session *s)
{
	struct cached *c = &s->cache;
	cache_clear(c);
	c->instance = strdup(policy_get(&s->req, PA_INSTANCE));
	c->sender = strdup(policy_get(&s->req, PA_SENDER));
	c->client = strdup(policy_get(&s->req, PA_CLIENT_ADDRESS));
	c->helo = strdup(policy_get(&s->req, PA_HELO_NAME));
	if (!c->instance || !c->sender || !c->client || !c->helo) {
		cache_clear(c);
		return false;
	}
	c->adoptable = c->instance[0] == '\0' &&
	    strcasecmp(policy_get(&s->req, PA_PROTOCOL_STATE), "MAIL") == 0;
	return true;
}

/* The reply for the cached decision: its action, or the next header, or DUNNO. */
static void cached_reply(struct session *s, char *out, size_t cap, bool may_prepend)
{
	struct cached *c = &s->cache;
	if (c->action != ACTION_BYPASS)
		snprintf(out, cap, "%s", c->reply);
	else if (may_prepend && c->next < c->nhdr)
		snprintf(out, cap, "PREPEND %s", c->hdr[c->next++]);
	else
		snprintf(out, cap, "DUNNO");
}

/* ---------------------------------------------------------------- output */

static void write_reply(struct session *s, const char *action)
{
	struct evbuffer *out = bufferevent_get_output(s->out);
	/* One attribute, then the empty line (SMTPD_POLICY_README). */
	if (evbuffer_add(out, "action=", 7) != 0 ||
	    evbuffer_add(out, action, strlen(action)) != 0 ||
	    evbuffer_add(out, "\n\n", 2) != 0)
		log_warnx("%s: cannot queue the reply", s->peer);
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
	if (s->timer) {
		event_free(s->timer);
		s->timer = NULL;
	}
	config_unref(s->cfg);
	s->cfg = NULL;
	policy_reset(&s->req);
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
	const struct spf_outcome *o = spf_eval_outcome(j->ev);
	const struct spf_trace *t;
	struct esc e1, e2, e3, e4;

	if (o == NULL || log_getlevel() < 2)
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

static void log_decision(const struct session *s, const char *how, const char *reply)
{
	struct esc q, c, h, f, i, r;
	log_info("%s: client=%s helo=%s sender=%s instance=%s state=%s: %s action=%s "
	    "reply=\"%s\" time=%ldms%s", qid(s, &q), esc(&c, s->cache.client),
	    esc(&h, policy_get(&s->req, PA_HELO_NAME)), esc(&f, policy_get(&s->req, PA_SENDER)),
	    esc(&i, policy_get(&s->req, PA_INSTANCE)),
	    esc(&r, policy_get(&s->req, PA_PROTOCOL_STATE)), s->cache.summary,
	    action_name(s->cache.action), reply, elapsed_ms(&s->t0), how);
}

/* ---------------------------------------------------------------- checks */

static void finish_request(struct session *s)
{
	struct cached *c = &s->cache;
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
		snprintf(c->reply, sizeof(c->reply), "%s", d.reply);
		snprintf(c->summary, sizeof(c->summary), "%s%s%s%s%s%s%s%s",
		    helo ? "helo=" : "", helo ? spf_result_name(helo->result) : "",
		    helo && mfrom ? " " : "",
		    mfrom ? "mailfrom=" : "", mfrom ? spf_result_name(mfrom->result) : "",
		    s->group ? " list=" : "", s->group ? s->group->name : "",
		    s->expired ? " (time budget expired)" : "");
		c->nhdr = decide_headers(s->cfg, receiver(s), helo, mfrom, c->hdr,
		    sizeof(c->hdr[0]));
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
	opts.now = (int64_t)time(NULL);
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
	/* HELO-address whitelist: does the HELO name resolve to the client? */
	if (c->wl_helo_address && *helo && s->srv->dx) {
		struct job *j = &s->jobs[s->njobs++];
		memset(j, 0, sizeof(*j));
		j->s = s;
		j->kind = JOB_HELO_ADDR;
	}

	s->timer = evtimer_new(s->srv->base, on_budget, s);
	if (s->timer == NULL)
		goto fail;
	struct timeval tv = { (time_t)(c->time_budget_ms / 1000),
		(suseconds_t)(c->time_budget_ms % 1000) * 1000 };
	evtimer_add(s->timer, &tv);

	/* done() may run inside spf_resolver_start() (every answer known at once):
	 * hold the finish until every job is started. */
	s->hold = true;
	for (size_t i = 0; i < s->njobs; i++) {
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
	if (s->pending == 0)
		finish_request(s);
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
	if (strcasecmp(st, "MAIL") == 0) return STATE_MAIL;
	if (strcasecmp(st, "RCPT") == 0) return STATE_RCPT;
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
	clock_gettime(CLOCK_MONOTONIC, &s->t0);

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
			snprintf(reply, sizeof(reply), "DUNNO");
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
		struct cached *c = &s->cache;
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
	bufferevent_disable(s->in, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(s->out)) == 0)
		session_free(s);
	/* else on_write() frees it when the output has drained */
}

/* Takes complete lines while no request is being answered. */
static void pump_lines(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->in);
	const struct config *c = s->srv->cfg;
	struct policy_limits lim = { c->max_line, c->max_attributes, c->max_request };

	while (!s->busy && !s->closing && !s->dead) {
		size_t eol_len;
		struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
		if (p.pos < 0) {
			size_t have = evbuffer_get_length(in);
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
		size_t len = (size_t)p.pos;
		if (len > lim.max_line) {
			char why[96];
			snprintf(why, sizeof(why), "malformed request: line too long (more than "
			    "%zu bytes)", lim.max_line);
			fail(s, why);
			return;
		}
		if (s->req.size == 0 && s->store_cap < lim.max_request) {
			char *ns = realloc(s->store, lim.max_request);
			if (ns == NULL) {
				fail(s, "out of memory");
				return;
			}
			s->store = ns;
			s->store_cap = lim.max_request;
			s->req.store = ns;
			s->req.store_cap = lim.max_request;
		}
		const char *line = (const char *)evbuffer_pullup(in, (ev_ssize_t)(len + 1));
		const char *why = NULL;
		enum policy_status st = line ? policy_line(&s->req, &lim, line, len, &why) :
		    POLICY_ERROR;
		evbuffer_drain(in, len + 1);
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
 * Reads what can be read.  Everything it calls may end the session; inside pump()
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
	if (s->dead)
		session_free(s);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	if (s->busy) {
		/* Pipelined input waits; but not without bound. */
		const struct config *c = s->srv->cfg;
		if (evbuffer_get_length(bufferevent_get_input(s->in)) > c->max_request + c->max_line)
			fail(s, "too much input while a request is pending");
		return;
	}
	pump(s);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	if (s->closing && evbuffer_get_length(bufferevent_get_output(s->out)) == 0)
		session_free(s);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	if (what & BEV_EVENT_TIMEOUT) {
		if (s->busy) {
			bufferevent_enable(s->in, EV_READ);
			return;
		}
		log_debug("%s: idle timeout; closing connection", s->peer);
		session_free(s);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		if (errno != ECONNRESET && errno != EPIPE)
			log_warn("%s: connection error", s->peer);
		session_free(s);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		if (bev == s->out && s->out != s->in) {
			session_free(s);
			return;
		}
		s->eof = true;
		if (s->busy && !s->stdio) {
			/* Postfix went away mid-check: drop the check, nothing else is lost. */
			log_debug("%s: client closed the connection during a check", s->peer);
			session_free(s);
			return;
		}
		if (!s->busy)
			pump(s); /* takes what is complete, logs a partial request, closes */
	}
}

/* ---------------------------------------------------------------- lifetime */

struct session *session_new(struct server *srv, int rfd, int wfd, const char *peer)
{
	struct session *s = calloc(1, sizeof(*s));
	bool stdio = rfd == STDIN_FILENO;
	int opts = stdio ? 0 : BEV_OPT_CLOSE_ON_FREE;

	if (s == NULL)
		goto fail;
	s->srv = srv;
	s->stdio = stdio;
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	evutil_make_socket_nonblocking(rfd);
	if (wfd != rfd)
		evutil_make_socket_nonblocking(wfd);
	s->in = bufferevent_socket_new(srv->base, rfd, opts);
	if (s->in == NULL)
		goto fail;
	if (wfd == rfd)
		s->out = s->in;
	else if ((s->out = bufferevent_socket_new(srv->base, wfd, opts)) == NULL)
		goto fail;
	policy_init(&s->req, NULL, 0);
	bufferevent_setcb(s->in, on_read, s->out == s->in ? on_write : NULL, on_event, s);
	if (s->out != s->in)
		bufferevent_setcb(s->out, NULL, on_write, on_event, s);
	/* Line cap enforced while reading: never buffer far beyond one request. */
	struct timeval idle = { (time_t)(srv->cfg->idle_timeout_ms / 1000),
		(suseconds_t)(srv->cfg->idle_timeout_ms % 1000) * 1000 };
	bufferevent_set_timeouts(s->in, &idle, NULL);
	bufferevent_enable(s->in, EV_READ);
	if (s->out != s->in)
		bufferevent_enable(s->out, EV_WRITE);

	s->next = sessions;
	if (sessions)
		sessions->prev = s;
	sessions = s;
	srv->nsessions++;
	log_debug("%s: connection opened (%u open)", s->peer, srv->nsessions);
	return s;
fail:
	log_warn("%s: cannot set up the connection", peer);
	if (s) {
		if (s->out && s->out != s->in)
			bufferevent_free(s->out);
		if (s->in)
			bufferevent_free(s->in);
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

	if (s->busy)
		end_request(s); /* cancels the checks */
	if (s->in_pump) {
		/* pump() is on the stack: it frees s when it unwinds. */
		s->dead = true;
		bufferevent_disable(s->in, EV_READ);
		return;
	}
	if (s->prev)
		s->prev->next = s->next;
	else
		sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	if (s->out != s->in)
		bufferevent_free(s->out);
	bufferevent_free(s->in);
	cache_clear(&s->cache);
	free(s->store);
	srv->nsessions--;
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
}
