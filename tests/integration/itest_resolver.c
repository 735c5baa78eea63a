/*
 * itest_resolver.c - the libunbound driver against real DNS servers on loopback.
 *
 * Driven by resolver.sh, which starts nsd (and unbound, and dnsrelay) and writes the
 * zones (see there for the names used).  Each subcommand runs one scenario through
 * the public API, like the daemon would (spf_resolver_fd/process, a deadline per check
 * enforced with spf_check_expire), asserts on what came back and prints one line of
 * numbers.  Exit status 0 = pass, 1 = fail.
 *
 *   itest_resolver [-f IP@PORT]... [-b BUDGET_MS] [-t] [-q QUERYLOG] [-n N]
 *       [-e MAX_ENTRIES] [-B MAX_BYTES] [-x COMMAND] SCENARIO
 *
 * -e and -B bound the answer cache (spf_resolver_options); -x is a shell command the
 * ttl scenario runs to change the zone under the resolver (cache.sh).
 *
 * The query log is the one dnsrelay writes: a line per query that reached the wire,
 * so "no new queries" is counted at the server, not believed from our own counters.
 */
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "spfgate/resolver.h"

static const char *fwd[8];
static size_t nfwd;
static unsigned budget_ms = 2000;
static bool tcp_only;
static const char *querylog;
static unsigned count_n = 1000;
static size_t cache_entries_max, cache_bytes_max;
static const char *change_cmd;
static int failures;

#define CHECK(cond, ...)                                                               \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                  \
			fputc('\n', stderr);                                           \
			failures++;                                                    \
		}                                                                      \
	} while (0)

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct spf_resolver *new_resolver(void)
{
	struct spf_resolver_options o;
	spf_resolver_options_init(&o);
	o.mode = SPF_RESOLVER_FORWARD;
	o.forwarders = fwd;
	o.nforwarders = nfwd;
	o.tcp_only = tcp_only;
	o.cache_max_entries = cache_entries_max;
	o.cache_max_bytes = cache_bytes_max;
	/* resolver.sh runs every scenario through each engine. */
	const char *engine = getenv("SPFGATE_TEST_ENGINE");
	if (engine != NULL && strcmp(engine, "stub") == 0)
		o.engine = SPF_ENGINE_STUB;
	struct spf_resolver *r = NULL;
	char err[256];
	if (spf_resolver_new(&r, &o, err, sizeof(err)) != SPF_OK) {
		fprintf(stderr, "spf_resolver_new: %s\n", err);
		exit(1);
	}
	return r;
}

/* Lines in the relay's query log (0 if there is none yet). */
static long wire_queries(void)
{
	if (querylog == NULL)
		return -1;
	FILE *f = fopen(querylog, "r");
	if (f == NULL)
		return 0;
	long n = 0;
	int c;
	while ((c = getc(f)) != EOF)
		if (c == '\n')
			n++;
	fclose(f);
	return n;
}

/* How many different "name type" lines the query log has from line `from` on. */
static long wire_distinct(long from)
{
	FILE *f = fopen(querylog, "r");
	if (f == NULL)
		return 0;
	char buf[1200];
	char **seen = NULL;
	long n = 0, i = 0;
	while (fgets(buf, sizeof(buf), f) != NULL) {
		if (i++ < from)
			continue;
		buf[strcspn(buf, "\n")] = '\0';
		bool dup = false;
		for (long k = 0; k < n && !dup; k++)
			dup = strcasecmp(seen[k], buf) == 0;
		if (dup)
			continue;
		char **v = realloc(seen, (size_t)(n + 1) * sizeof(*v));
		if (v == NULL || (v[n] = strdup(buf)) == NULL) {
			free(v ? v : seen);
			fclose(f);
			return -1;
		}
		seen = v;
		n++;
	}
	for (long k = 0; k < n; k++)
		free(seen[k]);
	free(seen);
	fclose(f);
	return n;
}

/* How often one "name type" line appears in the query log from line `from` on. */
static long wire_count(long from, const char *line)
{
	FILE *f = fopen(querylog, "r");
	if (f == NULL)
		return 0;
	char buf[1200];
	long n = 0, i = 0;
	while (fgets(buf, sizeof(buf), f) != NULL) {
		buf[strcspn(buf, "\n")] = '\0';
		if (i++ >= from && strcmp(buf, line) == 0)
			n++;
	}
	fclose(f);
	return n;
}

/* ---------------------------------------------------------------- jobs */

struct job {
	const char *ip;
	char sender[128];
	enum spf_result want;
	struct spf_eval *ev;
	struct spf_check *c;
	bool done;
	uint64_t t_start, t_done;
	unsigned budget; /* ms */
};

static void job_done(struct spf_check *c, struct spf_eval *ev, void *arg)
{
	struct job *j = arg;
	j->done = true;
	j->c = NULL;
	j->t_done = now_ms();
}

static void job_init(struct job *j, const char *ip, const char *sender, enum spf_result want)
{
	memset(j, 0, sizeof(*j));
	j->ip = ip;
	snprintf(j->sender, sizeof(j->sender), "%s", sender);
	j->want = want;
	j->budget = budget_ms;
}

static void job_start(struct spf_resolver *r, struct job *j, bool trace)
{
	struct spf_options opts;
	spf_options_init(&opts);
	opts.now = 1700000000;
	opts.trace = trace || getenv("ITEST_TRACE") != NULL;
	struct spf_request req;
	memset(&req, 0, sizeof(req));
	req.identity = SPF_IDENTITY_MAILFROM;
	if (spf_addr_parse(j->ip, &req.client) != SPF_OK) {
		fprintf(stderr, "bad address %s\n", j->ip);
		exit(1);
	}
	req.helo = "mta.example.net";
	req.sender = j->sender;
	if (spf_eval_new(&j->ev, &opts, &req) != SPF_OK) {
		fprintf(stderr, "spf_eval_new failed\n");
		exit(1);
	}
	j->t_start = now_ms();
	j->done = false;
	if (spf_resolver_start(r, j->ev, job_done, j, &j->c) != SPF_OK) {
		fprintf(stderr, "spf_resolver_start failed\n");
		exit(1);
	}
}

/* The daemon's loop in small: poll the resolver, expire checks at their deadline. */
static void drive(struct spf_resolver *r, struct job *jobs, size_t n)
{
	for (;;) {
		uint64_t now = now_ms(), next = UINT64_MAX;
		size_t open = 0;
		for (size_t i = 0; i < n; i++) {
			struct job *j = &jobs[i];
			if (j->done || j->ev == NULL)
				continue;
			uint64_t dl = j->t_start + j->budget;
			if (dl <= now) {
				spf_check_expire(j->c); /* calls job_done */
				continue;
			}
			open++;
			if (dl < next)
				next = dl;
		}
		if (open == 0)
			return;
		struct pollfd p = { .fd = spf_resolver_fd(r), .events = POLLIN };
		int wait = (int)(next - now);
		if (poll(&p, 1, wait) > 0 && spf_resolver_process(r) != SPF_OK) {
			fprintf(stderr, "spf_resolver_process failed\n");
			exit(1);
		}
	}
}

/* Keeps processing for ms milliseconds (late answers, stray queries). */
static void settle(struct spf_resolver *r, unsigned ms)
{
	uint64_t until = now_ms() + ms;
	while (now_ms() < until) {
		struct pollfd p = { .fd = spf_resolver_fd(r), .events = POLLIN };
		if (poll(&p, 1, 20) > 0 && spf_resolver_process(r) != SPF_OK) {
			fprintf(stderr, "spf_resolver_process failed\n");
			exit(1);
		}
	}
}

static const struct spf_outcome *outcome(const struct job *j)
{
	const struct spf_outcome *o = spf_eval_outcome(j->ev);
	if (o == NULL) {
		fprintf(stderr, "%s: no outcome\n", j->sender);
		exit(1);
	}
	return o;
}

static void dump_trace(const struct spf_eval *ev);

static void check_result(const struct job *j)
{
	const struct spf_outcome *o = outcome(j);
	CHECK(o->result == j->want, "%s from %s: got %s, want %s (%s)", j->sender, j->ip,
	    spf_result_name(o->result), spf_result_name(j->want),
	    o->problem ? o->problem : "-");
	if (o->result != j->want)
		dump_trace(j->ev);
}

/* Does the evaluation's trace contain an entry of kind k with text containing s? */
static bool trace_has(const struct spf_eval *ev, enum spf_trace_kind k, const char *s)
{
	const struct spf_trace *t;
	size_t n = spf_eval_trace(ev, &t);
	for (size_t i = 0; i < n; i++)
		if (t[i].kind == k && strstr(t[i].text, s) != NULL)
			return true;
	return false;
}

static void dump_trace(const struct spf_eval *ev)
{
	const struct spf_trace *t;
	size_t n = spf_eval_trace(ev, &t);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "  %-7s %u %s\n", spf_trace_kind_name(t[i].kind), t[i].depth,
		    t[i].text);
}

static void jobs_free(struct job *jobs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		spf_eval_free(jobs[i].ev);
}

/* ---------------------------------------------------------------- scenarios */

/* Results through nsd: ip4, a, mx, include, redirect, CNAME to a record, none. */
static void sc_basic(void)
{
	struct spf_resolver *r = new_resolver();
	struct job j[] = {
		{ 0 }, { 0 }, { 0 }, { 0 }, { 0 }, { 0 }, { 0 }, { 0 }, { 0 },
	};
	job_init(&j[0], "192.0.2.5", "a@pass.example.test", SPF_RESULT_PASS);
	job_init(&j[1], "198.51.100.1", "a@pass.example.test", SPF_RESULT_FAIL);
	job_init(&j[2], "192.0.2.21", "a@mx.example.test", SPF_RESULT_PASS);
	job_init(&j[3], "2001:db8::22", "a@mx.example.test", SPF_RESULT_PASS);
	job_init(&j[4], "192.0.2.5", "a@inc.example.test", SPF_RESULT_PASS);
	job_init(&j[5], "203.0.113.1", "a@inc.example.test", SPF_RESULT_SOFTFAIL);
	job_init(&j[6], "192.0.2.5", "a@alias.example.test", SPF_RESULT_PASS);
	job_init(&j[7], "192.0.2.5", "a@nothing.example.test", SPF_RESULT_NONE);
	job_init(&j[8], "192.0.2.5", "a@norecord.example.test", SPF_RESULT_NONE);
	size_t n = sizeof(j) / sizeof(j[0]);
	for (size_t i = 0; i < n; i++)
		job_start(r, &j[i], false);
	drive(r, j, n);
	uint64_t worst = 0;
	for (size_t i = 0; i < n; i++) {
		check_result(&j[i]);
		if (j[i].t_done - j[i].t_start > worst)
			worst = j[i].t_done - j[i].t_start;
	}
	struct spf_resolver_stats st;
	spf_resolver_stats(r, &st);
	CHECK(st.checks_active == 0, "%lu checks active", st.checks_active);
	printf("basic: %zu evaluations, %lu queries, %lu shared, slowest %llu ms\n", n,
	    st.queries_sent, st.queries_shared, (unsigned long long)worst);
	jobs_free(j, n);
	spf_resolver_free(r);
}

/* The shared cache: a second evaluation of the same domain sends nothing on the wire. */
static void sc_cache(void)
{
	struct spf_resolver *r = new_resolver();
	struct job a, b;
	long w0 = wire_queries();
	/* A client that matches nothing: every include is read, every answer used. */
	job_init(&a, "203.0.113.1", "a@inc.example.test", SPF_RESULT_SOFTFAIL);
	job_start(r, &a, true);
	drive(r, &a, 1);
	check_result(&a);
	settle(r, 200); /* let the relay log whatever is still on its way */
	long w1 = wire_queries();
	struct spf_resolver_stats s1;
	spf_resolver_stats(r, &s1);

	job_init(&b, "203.0.113.1", "b@inc.example.test", SPF_RESULT_SOFTFAIL);
	job_start(r, &b, true);
	/* Every answer is in the answer cache: done inside spf_resolver_start(). */
	bool sync = b.done;
	CHECK(sync, "the warm evaluation did not finish inside spf_resolver_start()");
	CHECK(b.c == NULL, "a finished check left a handle");
	drive(r, &b, 1);
	check_result(&b);
	settle(r, 200);
	long w2 = wire_queries();
	struct spf_resolver_stats s2;
	spf_resolver_stats(r, &s2);

	CHECK(w1 - w0 > 0, "first evaluation sent %ld queries", w1 - w0);
	CHECK(w2 == w1, "second evaluation sent %ld queries on the wire", w2 - w1);
	CHECK(s2.queries_sent == s1.queries_sent, "second evaluation asked libunbound %lu "
	    "questions", s2.queries_sent - s1.queries_sent);
	CHECK(s2.answers == s1.answers, "libunbound answered during the second evaluation");
	CHECK(s2.cache_hits - s1.cache_hits == outcome(&b)->dns_queries, "%lu cache hits for "
	    "%u questions", s2.cache_hits - s1.cache_hits, outcome(&b)->dns_queries);
	CHECK(s1.cache_hits == 0, "%lu cache hits in the cold evaluation", s1.cache_hits);
	CHECK(s1.cache_entries == s1.queries_sent, "%lu answers cached of %lu", s1.cache_entries,
	    s1.queries_sent);
	/* Every answer of the second evaluation is flagged as coming from the cache. */
	const struct spf_trace *t;
	size_t nt = spf_eval_trace(b.ev, &t);
	size_t answers = 0, cached = 0;
	for (size_t i = 0; i < nt; i++) {
		if (t[i].kind != SPF_TRACE_ANSWER)
			continue;
		answers++;
		if (strstr(t[i].text, "(cache") != NULL)
			cached++;
	}
	CHECK(answers > 0 && cached == answers, "%zu of %zu answers marked cached", cached,
	    answers);
	CHECK(!trace_has(a.ev, SPF_TRACE_ANSWER, "(cache"), "first evaluation had cache hits");
	if (failures) {
		dump_trace(a.ev);
		dump_trace(b.ev);
	}
	printf("cache: cold %llu ms, %ld wire queries; warm %llu ms%s, %ld wire queries, "
	    "%zu/%zu answers cached, %lu cache hits, %lu entries, %lu bytes\n",
	    (unsigned long long)(a.t_done - a.t_start), w1 - w0,
	    (unsigned long long)(b.t_done - b.t_start), sync ? " (inside start)" : "", w2 - w1,
	    cached, answers, s2.cache_hits, s2.cache_entries, s2.cache_bytes);
	spf_eval_free(a.ev);
	spf_eval_free(b.ev);
	spf_resolver_free(r);
}

/* Coalescing: 50 evaluations of one domain at once ask each question once. */
static void sc_coalesce(void)
{
	struct spf_resolver *r = new_resolver();
	enum { N = 50 };
	static struct job j[N];
	long w0 = wire_queries();
	for (int i = 0; i < N; i++) {
		char s[64];
		snprintf(s, sizeof(s), "u%d@mx.example.test", i);
		job_init(&j[i], i % 2 ? "192.0.2.21" : "203.0.113.9", s,
		    i % 2 ? SPF_RESULT_PASS : SPF_RESULT_FAIL);
		job_start(r, &j[i], false);
	}
	drive(r, j, N);
	for (int i = 0; i < N; i++)
		check_result(&j[i]);
	struct spf_resolver_stats st;
	spf_resolver_stats(r, &st);
	long w = wire_queries() - w0;
	/* Each evaluation asks the same questions (TXT, MX, A of two hosts for an IPv4
	 * client); between them they asked sum(dns_queries), libunbound saw each once. */
	unsigned long asked = 0, each = outcome(&j[0])->dns_queries;
	for (int i = 0; i < N; i++)
		asked += outcome(&j[i])->dns_queries;
	CHECK(each == 4, "one evaluation asked %lu questions", each);
	CHECK(st.queries_shared > 0, "no query was shared");
	CHECK(st.queries_sent + st.queries_shared + st.cache_hits == asked,
	    "sent %lu + shared %lu + cached %lu != %lu", st.queries_sent, st.queries_shared,
	    st.cache_hits, asked);
	CHECK(st.queries_sent == each, "%lu questions given to libunbound", st.queries_sent);
	CHECK(wire_count(w0, "mx.example.test 16") == 1, "TXT mx.example.test asked %ld times",
	    wire_count(w0, "mx.example.test 16"));
	CHECK(w == (long)each, "%ld queries on the wire", w);
	printf("coalesce: %d evaluations, %lu questions to libunbound, %lu shared, "
	    "%ld on the wire\n", N, st.queries_sent, st.queries_shared, w);
	jobs_free(j, N);
	spf_resolver_free(r);
}

/* The server is down: every evaluation ends temperror, none later than its budget. */
static void sc_down(void)
{
	struct spf_resolver *r = new_resolver();
	enum { N = 20 };
	static struct job j[N];
	uint64_t t0 = now_ms();
	for (int i = 0; i < N; i++) {
		char s[64];
		snprintf(s, sizeof(s), "a@d%d.example.test", i);
		job_init(&j[i], "192.0.2.5", s, SPF_RESULT_TEMPERROR);
		job_start(r, &j[i], false);
	}
	drive(r, j, N);
	uint64_t worst = 0;
	for (int i = 0; i < N; i++) {
		check_result(&j[i]);
		CHECK(j[i].done, "evaluation %d never finished", i);
		uint64_t took = j[i].t_done - j[i].t_start;
		CHECK(took <= budget_ms + 250, "evaluation %d took %llu ms", i,
		    (unsigned long long)took);
		if (took > worst)
			worst = took;
	}
	struct spf_resolver_stats st;
	spf_resolver_stats(r, &st);
	CHECK(st.checks_active == 0, "%lu checks active", st.checks_active);
	printf("down: %d evaluations temperror, slowest %llu ms (budget %u), all done in "
	    "%llu ms\n", N, (unsigned long long)worst, budget_ms,
	    (unsigned long long)(now_ms() - t0));
	jobs_free(j, N);
	spf_resolver_free(r);
}

/*
 * A slow server: chain.slow.test needs ten lookups one after the other (include ->
 * include -> ...), each answered late by the relay.  It must end temperror at its
 * budget, while an evaluation of a fast domain started at the same time finishes at
 * once.  Then a check that shares a slow query with another is expired and its
 * evaluation freed before the answer comes: the answer reaches the other check only.
 */
static void sc_slow(void)
{
	struct spf_resolver *r = new_resolver();
	struct job j[2];
	job_init(&j[0], "192.0.2.5", "a@c1.slow.test", SPF_RESULT_TEMPERROR);
	job_init(&j[1], "192.0.2.5", "a@pass.example.test", SPF_RESULT_PASS);
	job_start(r, &j[0], true);
	job_start(r, &j[1], false);
	drive(r, j, 2);
	check_result(&j[0]);
	check_result(&j[1]);
	uint64_t slow = j[0].t_done - j[0].t_start, fast = j[1].t_done - j[1].t_start;
	CHECK(slow + 50 >= budget_ms && slow <= budget_ms + 250, "slow took %llu ms",
	    (unsigned long long)slow);
	CHECK(fast < 250, "fast took %llu ms", (unsigned long long)fast);
	const struct spf_outcome *o = outcome(&j[0]);
	CHECK(o->problem != NULL && strstr(o->problem, "time budget") != NULL, "problem: %s",
	    o->problem ? o->problem : "(none)");
	unsigned levels = 0;
	for (unsigned k = 1; k <= 10; k++) {
		char q[64];
		snprintf(q, sizeof(q), "TXT c%u.slow.test ->", k);
		if (trace_has(j[0].ev, SPF_TRACE_ANSWER, q))
			levels = k;
	}
	CHECK(levels >= 1 && levels < 10, "%u levels answered before the budget", levels);
	printf("slow: chain of 10 slow lookups -> %s after %llu ms (%u answered), "
	    "fast domain -> %s after %llu ms\n", spf_result_name(o->result),
	    (unsigned long long)slow, levels, spf_result_name(outcome(&j[1])->result),
	    (unsigned long long)fast);
	jobs_free(j, 2);

	/* Late answers: three checks share the TXT query of one.slow.test. */
	struct job k[3];
	job_init(&k[0], "192.0.2.5", "x@one.slow.test", SPF_RESULT_TEMPERROR);
	job_init(&k[1], "192.0.2.5", "y@one.slow.test", SPF_RESULT_PASS);
	job_init(&k[2], "192.0.2.5", "z@one.slow.test", SPF_RESULT_PASS);
	for (int i = 0; i < 3; i++)
		job_start(r, &k[i], false);
	struct spf_resolver_stats s0;
	spf_resolver_stats(r, &s0);
	spf_check_expire(k[0].c);
	CHECK(k[0].done, "expired check not done");
	check_result(&k[0]);
	spf_eval_free(k[0].ev); /* the answer must not find it */
	k[0].ev = NULL;
	spf_check_cancel(k[2].c); /* cancelled: no done(), never touched again */
	spf_eval_free(k[2].ev);
	k[2].ev = NULL;
	drive(r, &k[1], 1);
	check_result(&k[1]);
	CHECK(!k[2].done, "cancelled check called done()");
	struct spf_resolver_stats s1;
	spf_resolver_stats(r, &s1);
	CHECK(s1.checks_active == 0, "%lu checks active", s1.checks_active);
	printf("slow: shared slow query, one check expired and one cancelled early, the "
	    "third -> %s after %llu ms\n", spf_result_name(outcome(&k[1])->result),
	    (unsigned long long)(k[1].t_done - k[1].t_start));
	spf_eval_free(k[1].ev);

	/* All checks gone while a query is out: the answer arrives and is dropped. */
	struct job l;
	job_init(&l, "192.0.2.5", "x@two.slow.test", SPF_RESULT_TEMPERROR);
	job_start(r, &l, false);
	spf_check_expire(l.c);
	spf_eval_free(l.ev);
	settle(r, 800);
	spf_resolver_free(r);
}

/* A refused or failing upstream: SERVFAIL is temperror, and it comes before the budget. */
static void sc_servfail(const char *domain)
{
	struct spf_resolver *r = new_resolver();
	struct job j;
	char s[128];
	snprintf(s, sizeof(s), "a@%s", domain);
	job_init(&j, "192.0.2.5", s, SPF_RESULT_TEMPERROR);
	job_start(r, &j, true);
	drive(r, &j, 1);
	check_result(&j);
	uint64_t took = j.t_done - j.t_start;
	bool sf = trace_has(j.ev, SPF_TRACE_ANSWER, "SERVFAIL");
	CHECK(sf, "no SERVFAIL answer in the trace");
	CHECK(took < budget_ms, "took %llu ms: the budget, not the SERVFAIL, ended it",
	    (unsigned long long)took);
	if (failures)
		dump_trace(j.ev);
	printf("servfail: %s -> %s after %llu ms (SERVFAIL answer: %s)\n", domain,
	    spf_result_name(outcome(&j)->result), (unsigned long long)took, sf ? "yes" : "no");
	spf_eval_free(j.ev);
	spf_resolver_free(r);
}

/* A TXT record larger than a UDP answer may be: the match is at its very end. */
static void sc_big(void)
{
	struct spf_resolver *r = new_resolver();
	struct job j[2];
	job_init(&j[0], "192.0.2.99", "a@big.example.test", SPF_RESULT_PASS);
	job_init(&j[1], "192.0.2.98", "a@big.example.test", SPF_RESULT_FAIL);
	job_start(r, &j[0], true);
	job_start(r, &j[1], false);
	drive(r, j, 2);
	check_result(&j[0]);
	check_result(&j[1]);
	/* resolver.sh checked that the answer does not fit 1232 bytes of UDP (nsd sets
	 * TC); the only match is in the last string, so pass means all of it arrived. */
	printf("big: TXT > 1232 bytes over %s -> %s after %llu ms, %s for the next address\n",
	    tcp_only ? "TCP only" : "UDP, then TCP", spf_result_name(outcome(&j[0])->result),
	    (unsigned long long)(j[0].t_done - j[0].t_start),
	    spf_result_name(outcome(&j[1])->result));
	jobs_free(j, 2);
	spf_resolver_free(r);
}

/* A CNAME loop is a DNS error: temperror, well before the budget. */
static void sc_cnameloop(void)
{
	sc_servfail("loop1.example.test");
}

/*
 * count_n (1000) evaluations at once over 50 domains sharing one include: all
 * results right, every check finished, each question on the wire at most once.
 */
static void sc_many(void)
{
	struct spf_resolver *r = new_resolver();
	unsigned n = count_n;
	struct job *j = calloc(n, sizeof(*j));
	char (*ips)[SPF_ADDR_TEXT_MAX] = calloc(n, sizeof(*ips));
	if (j == NULL || ips == NULL)
		exit(1);
	long w0 = wire_queries();
	uint64_t t0 = now_ms();
	for (unsigned i = 0; i < n; i++) {
		unsigned d = i % 50;
		char s[64];
		snprintf(s, sizeof(s), "user%u@d%u.many.example.test", i, d);
		enum spf_result want;
		switch (i % 3) {
		case 0:
			snprintf(ips[i], sizeof(ips[i]), "192.0.2.%u", d + 1);
			want = SPF_RESULT_PASS;
			break;
		case 1:
			snprintf(ips[i], sizeof(ips[i]), "198.51.100.%u", i % 200 + 1);
			want = SPF_RESULT_PASS;
			break;
		default:
			snprintf(ips[i], sizeof(ips[i]), "203.0.113.%u", i % 200 + 1);
			want = SPF_RESULT_FAIL;
			break;
		}
		job_init(&j[i], ips[i], s, want);
		j[i].budget = budget_ms * 2;
		job_start(r, &j[i], false);
	}
	drive(r, j, n);
	uint64_t took = now_ms() - t0;
	for (unsigned i = 0; i < n; i++)
		check_result(&j[i]);
	struct spf_resolver_stats st;
	spf_resolver_stats(r, &st);
	long w = querylog ? wire_queries() - w0 : -1;
	long wd = querylog ? wire_distinct(w0) : -1;
	CHECK(st.checks_active == 0, "%lu checks active", st.checks_active);
	/* 50 x (TXT dN, A hN) + TXT common = 101 distinct questions.  Concurrent askers
	 * share a query; one asking after the answer came gets it from the answer
	 * cache; libunbound is asked each question once, and the wire is held to 101. */
	unsigned long asked = 0;
	for (unsigned i = 0; i < n; i++)
		asked += outcome(&j[i])->dns_queries;
	CHECK(st.queries_sent + st.queries_shared + st.cache_hits == asked,
	    "sent %lu + shared %lu + cached %lu != %lu", st.queries_sent, st.queries_shared,
	    st.cache_hits, asked);
	CHECK(st.queries_sent < asked / 4, "%lu of %lu questions given to libunbound",
	    st.queries_sent, asked);
	/* Each distinct question goes on the wire once; libunbound may retransmit a
	 * packet on its own UDP timeout when the machine is loaded, which is the same
	 * question, not a second one, so the distinct ones are what is held to 101. */
	CHECK(querylog == NULL || wd == 101, "%ld distinct questions on the wire", wd);
	CHECK(st.queries_sent == 101, "%lu questions to libunbound", st.queries_sent);
	printf("many: %u evaluations in %llu ms, %lu questions to libunbound, %lu shared, "
	    "%lu from the answer cache, %ld distinct on the wire (%ld packets)\n", n,
	    (unsigned long long)took, st.queries_sent, st.queries_shared, st.cache_hits, wd, w);
	jobs_free(j, n);
	free(j);
	free(ips);
	spf_resolver_free(r);
}

/* spf_resolver_run(), as the command line uses it. */
static void sc_run(void)
{
	struct spf_resolver *r = new_resolver();
	struct job j;
	job_init(&j, "192.0.2.21", "a@mx.example.test", SPF_RESULT_PASS);
	struct spf_options opts;
	spf_options_init(&opts);
	struct spf_request req;
	memset(&req, 0, sizeof(req));
	req.identity = SPF_IDENTITY_MAILFROM;
	spf_addr_parse(j.ip, &req.client);
	req.sender = j.sender;
	if (spf_eval_new(&j.ev, &opts, &req) != SPF_OK)
		exit(1);
	uint64_t t0 = now_ms();
	CHECK(spf_resolver_run(r, j.ev, budget_ms) == SPF_OK, "spf_resolver_run failed");
	check_result(&j);
	printf("run: %s -> %s in %llu ms\n", j.sender, spf_result_name(outcome(&j)->result),
	    (unsigned long long)(now_ms() - t0));
	spf_eval_free(j.ev);
	spf_resolver_free(r);
}

static void sc_run_budget(void)
{
	struct spf_resolver *r = new_resolver();
	struct job j;
	job_init(&j, "192.0.2.5", "a@c1.slow.test", SPF_RESULT_TEMPERROR);
	struct spf_options opts;
	spf_options_init(&opts);
	struct spf_request req;
	memset(&req, 0, sizeof(req));
	req.identity = SPF_IDENTITY_MAILFROM;
	spf_addr_parse(j.ip, &req.client);
	req.sender = j.sender;
	if (spf_eval_new(&j.ev, &opts, &req) != SPF_OK)
		exit(1);
	uint64_t t0 = now_ms();
	CHECK(spf_resolver_run(r, j.ev, budget_ms) == SPF_OK, "spf_resolver_run failed");
	uint64_t took = now_ms() - t0;
	check_result(&j);
	CHECK(took + 50 >= budget_ms && took <= budget_ms + 250, "took %llu ms",
	    (unsigned long long)took);
	printf("run: %s -> %s in %llu ms (budget %u)\n", j.sender,
	    spf_result_name(outcome(&j)->result), (unsigned long long)took, budget_ms);
	spf_eval_free(j.ev);
	spf_resolver_free(r);
}

/* ---------------------------------------------------------------- the answer cache */

/* Starts j; true when it finished inside spf_resolver_start() (all answers cached). */
static bool start_sync(struct spf_resolver *r, struct job *j)
{
	job_start(r, j, false);
	return j->done;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

static void wait_until(uint64_t at)
{
	uint64_t now = now_ms();
	if (now < at)
		sleep_ms((unsigned)(at - now));
}

/*
 * TTLs (cache.sh: ttl.test, every TTL and the SOA minimum TTL_S seconds).  Cached:
 * rec (TXT), neg (NXDOMAIN), nodata (an A, no TXT).  Then -x changes the zone (new
 * rec, neg and nodata get records) and reloads nsd: before the TTL runs out the old
 * answers still come, from the answer cache and at once; after it, the new ones.
 */
#define TTL_S 3
static void sc_ttl(void)
{
	if (change_cmd == NULL) {
		fprintf(stderr, "ttl needs -x COMMAND\n");
		exit(2);
	}
	struct spf_resolver *r = new_resolver();
	static const char *const names[3] = { "a@rec.ttl.test", "a@neg.ttl.test",
		"a@nodata.ttl.test" };
	static const enum spf_result before[3] = { SPF_RESULT_PASS, SPF_RESULT_NONE,
		SPF_RESULT_NONE };
	static const enum spf_result after[3] = { SPF_RESULT_FAIL, SPF_RESULT_PASS,
		SPF_RESULT_PASS };
	struct job j[3];
	for (int i = 0; i < 3; i++) {
		job_init(&j[i], "192.0.2.1", names[i], before[i]);
		job_start(r, &j[i], false);
	}
	drive(r, j, 3);
	uint64_t t_answered = now_ms(); /* every answer came before this */
	for (int i = 0; i < 3; i++)
		check_result(&j[i]);
	jobs_free(j, 3);
	struct spf_resolver_stats s0, s1, s2;
	spf_resolver_stats(r, &s0);
	CHECK(s0.cache_entries == s0.queries_sent, "%lu of %lu answers cached",
	    s0.cache_entries, s0.queries_sent);

	if (system(change_cmd) != 0) {
		fprintf(stderr, "ttl: %s failed\n", change_cmd);
		exit(1);
	}
	uint64_t took = now_ms() - t_answered;
	/* The answers are cached for TTL_S s from their arrival, before t_answered. */
	CHECK(took < TTL_S * 1000 - 300, "changing the zone took %llu ms: too slow to see the "
	    "old answers", (unsigned long long)took);
	for (int i = 0; i < 3; i++) {
		job_init(&j[i], "192.0.2.1", names[i], before[i]);
		CHECK(start_sync(r, &j[i]), "%s: not answered from the cache before its TTL",
		    names[i]);
	}
	drive(r, j, 3);
	for (int i = 0; i < 3; i++)
		check_result(&j[i]);
	jobs_free(j, 3);
	spf_resolver_stats(r, &s1);
	CHECK(s1.queries_sent == s0.queries_sent, "libunbound asked %lu questions before the "
	    "TTL ran out", s1.queries_sent - s0.queries_sent);

	/* After the TTL the answer cache has let go: the questions go to libunbound.
	 * libunbound counts whole seconds and may serve its copy for up to one more
	 * (with a TTL of 0, which is not cached again), so the answers may still be
	 * the old ones; a second later they must be the new ones. */
	wait_until(t_answered + TTL_S * 1000 + 300);
	for (int i = 0; i < 3; i++) {
		job_init(&j[i], "192.0.2.1", names[i], after[i]);
		CHECK(!start_sync(r, &j[i]), "%s: answered from the cache after its TTL",
		    names[i]);
	}
	drive(r, j, 3);
	jobs_free(j, 3);
	spf_resolver_stats(r, &s2);
	CHECK(s2.queries_sent >= s1.queries_sent + 3, "libunbound asked %lu questions after "
	    "the TTL", s2.queries_sent - s1.queries_sent);
	wait_until(t_answered + TTL_S * 1000 + 1300);
	for (int i = 0; i < 3; i++) {
		job_init(&j[i], "192.0.2.1", names[i], after[i]);
		job_start(r, &j[i], false);
	}
	drive(r, j, 3);
	for (int i = 0; i < 3; i++)
		check_result(&j[i]);
	printf("ttl: %d s TTL; zone changed %llu ms after the answers: old answers from the "
	    "cache (%lu hits); after %d.3 s asked libunbound (%lu questions); after %d.3 s "
	    "the new answers (%s, %s, %s)\n", TTL_S, (unsigned long long)took,
	    s1.cache_hits - s0.cache_hits, TTL_S, s2.queries_sent - s1.queries_sent, TTL_S + 1,
	    spf_result_name(outcome(&j[0])->result),
	    spf_result_name(outcome(&j[1])->result), spf_result_name(outcome(&j[2])->result));
	jobs_free(j, 3);
	spf_resolver_free(r);
}

/*
 * The bounds (-e entries, -B bytes): ten domains of many.example.test, three answers
 * each (TXT dN, A hN, TXT common, for a client that fails).  The cache stays within
 * its bounds by evicting; the last domain is still cached, the first is not.  With a
 * byte bound under 2 kB, big.example.test's TXT does not fit and is not cached.
 */
static void sc_evict(void)
{
	struct spf_resolver *r = new_resolver();
	struct job j;
	char s[64];
	for (int d = 0; d < 10; d++) {
		snprintf(s, sizeof(s), "a@d%d.many.example.test", d);
		job_init(&j, "203.0.113.1", s, SPF_RESULT_FAIL);
		job_start(r, &j, false);
		drive(r, &j, 1);
		check_result(&j);
		spf_eval_free(j.ev);
	}
	struct spf_resolver_stats s0, s1;
	spf_resolver_stats(r, &s0);
	CHECK(s0.cache_evictions > 0, "nothing evicted");
	CHECK(cache_entries_max == 0 || s0.cache_entries <= cache_entries_max,
	    "%lu entries, bound %zu", s0.cache_entries, cache_entries_max);
	CHECK(cache_bytes_max == 0 || s0.cache_bytes <= cache_bytes_max, "%lu bytes, bound %zu",
	    s0.cache_bytes, cache_bytes_max);

	job_init(&j, "203.0.113.1", "b@d9.many.example.test", SPF_RESULT_FAIL);
	bool last = start_sync(r, &j);
	CHECK(last, "the most recent domain was not answered from the cache");
	drive(r, &j, 1);
	check_result(&j);
	spf_eval_free(j.ev);
	job_init(&j, "203.0.113.1", "b@d0.many.example.test", SPF_RESULT_FAIL);
	bool first = start_sync(r, &j);
	CHECK(!first, "the least recent domain was still cached");
	drive(r, &j, 1);
	check_result(&j);
	spf_eval_free(j.ev);
	spf_resolver_stats(r, &s1);
	CHECK(s1.queries_sent > s0.queries_sent, "the evicted domain asked libunbound nothing");

	bool big_cached = false;
	if (cache_bytes_max > 0 && cache_bytes_max < 2000) {
		for (int i = 0; i < 2; i++) {
			job_init(&j, "192.0.2.99", "a@big.example.test", SPF_RESULT_PASS);
			big_cached = start_sync(r, &j);
			drive(r, &j, 1);
			check_result(&j);
			spf_eval_free(j.ev);
		}
		CHECK(!big_cached, "an answer over the byte bound was cached");
	}
	spf_resolver_stats(r, &s1);
	CHECK(cache_bytes_max == 0 || s1.cache_bytes <= cache_bytes_max, "%lu bytes, bound %zu",
	    s1.cache_bytes, cache_bytes_max);
	printf("evict: bounds %zu entries, %zu bytes: %lu entries, %lu bytes, %lu evicted; "
	    "last domain %s, first %s\n", cache_entries_max, cache_bytes_max, s1.cache_entries,
	    s1.cache_bytes, s1.cache_evictions, last ? "cached" : "NOT cached",
	    first ? "STILL cached" : "evicted");
	spf_resolver_free(r);
}

/* A DNS error is cached briefly (2 s): the same question at once gets it from the cache,
 * later it goes to libunbound again. */
static void sc_errcache(const char *domain)
{
	struct spf_resolver *r = new_resolver();
	struct job j;
	char s[128];
	snprintf(s, sizeof(s), "a@%s", domain);
	job_init(&j, "192.0.2.5", s, SPF_RESULT_TEMPERROR);
	job_start(r, &j, false);
	drive(r, &j, 1);
	uint64_t t_answered = now_ms();
	check_result(&j);
	spf_eval_free(j.ev);
	struct spf_resolver_stats s0, s1, s2;
	spf_resolver_stats(r, &s0);

	job_init(&j, "192.0.2.5", s, SPF_RESULT_TEMPERROR);
	bool again = start_sync(r, &j);
	uint64_t took = now_ms() - t_answered;
	CHECK(again || took > 1500, "the SERVFAIL was not cached");
	drive(r, &j, 1);
	check_result(&j);
	spf_eval_free(j.ev);
	spf_resolver_stats(r, &s1);

	sleep_ms(2300);
	job_init(&j, "192.0.2.5", s, SPF_RESULT_TEMPERROR);
	bool later = start_sync(r, &j);
	CHECK(!later, "the SERVFAIL was still cached after 2.3 s");
	drive(r, &j, 1);
	check_result(&j);
	spf_eval_free(j.ev);
	spf_resolver_stats(r, &s2);
	CHECK(s2.queries_sent > s1.queries_sent, "libunbound was not asked again");
	printf("errcache: %s temperror; again at once: %s; after 2.3 s: %s\n", domain,
	    again ? "from the cache" : "asked", later ? "from the cache" : "asked again");
	spf_resolver_free(r);
}

static void usage(void)
{
	fprintf(stderr, "usage: itest_resolver [-f IP@PORT]... [-b MS] [-t] [-q LOG] [-n N] "
	    "[-e MAX_ENTRIES] [-B MAX_BYTES] [-x COMMAND]\n"
	    "    basic|cache|coalesce|down|slow|servfail DOMAIN|big|cnameloop|many|run|run-budget|\n"
	    "    ttl|evict|errcache DOMAIN\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int opt;
	while ((opt = getopt(argc, argv, "f:b:tq:n:e:B:x:")) != -1) {
		switch (opt) {
		case 'f':
			if (nfwd < sizeof(fwd) / sizeof(fwd[0]))
				fwd[nfwd++] = optarg;
			break;
		case 'b': budget_ms = (unsigned)atoi(optarg); break;
		case 't': tcp_only = true; break;
		case 'q': querylog = optarg; break;
		case 'n': count_n = (unsigned)atoi(optarg); break;
		case 'e': cache_entries_max = (size_t)strtoul(optarg, NULL, 10); break;
		case 'B': cache_bytes_max = (size_t)strtoul(optarg, NULL, 10); break;
		case 'x': change_cmd = optarg; break;
		default: usage();
		}
	}
	if (optind >= argc || nfwd == 0)
		usage();
	const char *sc = argv[optind];
	if (strcmp(sc, "basic") == 0)
		sc_basic();
	else if (strcmp(sc, "cache") == 0)
		sc_cache();
	else if (strcmp(sc, "coalesce") == 0)
		sc_coalesce();
	else if (strcmp(sc, "down") == 0)
		sc_down();
	else if (strcmp(sc, "slow") == 0)
		sc_slow();
	else if (strcmp(sc, "servfail") == 0 && optind + 1 < argc)
		sc_servfail(argv[optind + 1]);
	else if (strcmp(sc, "big") == 0)
		sc_big();
	else if (strcmp(sc, "cnameloop") == 0)
		sc_cnameloop();
	else if (strcmp(sc, "many") == 0)
		sc_many();
	else if (strcmp(sc, "run") == 0)
		sc_run();
	else if (strcmp(sc, "run-budget") == 0)
		sc_run_budget();
	else if (strcmp(sc, "ttl") == 0)
		sc_ttl();
	else if (strcmp(sc, "evict") == 0)
		sc_evict();
	else if (strcmp(sc, "errcache") == 0 && optind + 1 < argc)
		sc_errcache(argv[optind + 1]);
	else
		usage();
	if (failures) {
		fprintf(stderr, "%s: %d check(s) failed\n", sc, failures);
		return 1;
	}
	return 0;
}
