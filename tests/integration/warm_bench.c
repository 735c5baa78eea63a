/*
 * warm_bench.c - what a warm policy request and a cold start cost the live DNS driver.
 *
 *   warm_bench -f IP@PORT [-n N] warm     N policy requests with a warm cache
 *   warm_bench -f IP@PORT startup         spf_resolver_new + one request, cold
 *
 * A "request" is what spfgated does for one policy request: a HELO and a MAIL FROM
 * evaluation, started together on one resolver and driven through spf_resolver_fd()/
 * spf_resolver_process() as the daemon drives them.  The records (warm_bench.sh
 * serves them with nsd) are a sender domain with mx and two includes, one of them
 * with two nested includes of its own, and a HELO name with an "a" record: 10
 * questions per request for an IPv4 client that matches only the last term of the
 * last include (both results pass).
 *
 * warm: one request warms the caches, then N more are timed; prints wall time and
 * CPU time (of every thread: libunbound works in one of its own) per request.  For
 * instruction counts run it under callgrind with two values of N and take the
 * difference (warm_bench.sh does), so start-up drops out.
 *
 * startup: the time from main() to the answer of the first request, split into
 * spf_resolver_new() and the request, and the process's VmHWM and VmRSS.
 *
 * Only the public API is used, and no counter added after the first version of
 * struct spf_resolver_stats, so the same file measures an older library too.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "spfgate/resolver.h"

static const char *fwd[8];
static size_t nfwd;

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t cpu_us(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
	    (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* A line "Key:   123 kB" of /proc/self/status, in kB; -1 if absent. */
static long status_kb(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	if (f == NULL)
		return -1;
	char line[256];
	long v = -1;
	size_t n = strlen(key);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, n) == 0 && line[n] == ':')
			v = atol(line + n + 1);
	fclose(f);
	return v;
}

struct job {
	struct spf_eval *ev;
	struct spf_check *c;
	bool done;
};

static void job_done(struct spf_check *c, struct spf_eval *ev, void *arg)
{
	struct job *j = arg;
	j->done = true;
	j->c = NULL;
}

static void job_start(struct spf_resolver *r, struct job *j, enum spf_identity id,
    const char *sender)
{
	struct spf_options opts;
	spf_options_init(&opts);
	opts.now = 1700000000;
	struct spf_request req;
	memset(&req, 0, sizeof(req));
	req.identity = id;
	spf_addr_parse("192.0.2.77", &req.client);
	req.helo = "mta.shop.bench.test";
	req.sender = sender;
	j->done = false;
	if (spf_eval_new(&j->ev, &opts, &req) != SPF_OK ||
	    spf_resolver_start(r, j->ev, job_done, j, &j->c) != SPF_OK) {
		fprintf(stderr, "cannot start an evaluation\n");
		exit(1);
	}
}

/* One policy request: HELO and MAIL FROM together; returns false on a wrong result. */
static bool request(struct spf_resolver *r)
{
	struct job j[2];
	job_start(r, &j[0], SPF_IDENTITY_HELO, NULL);
	job_start(r, &j[1], SPF_IDENTITY_MAILFROM, "someone@shop.bench.test");
	while (!j[0].done || !j[1].done) {
		struct pollfd p = { .fd = spf_resolver_fd(r), .events = POLLIN };
		int n = poll(&p, 1, 2000);
		if (n == 0) {
			fprintf(stderr, "no answer in 2 s\n");
			exit(1);
		}
		if (n > 0 && spf_resolver_process(r) != SPF_OK) {
			fprintf(stderr, "spf_resolver_process failed\n");
			exit(1);
		}
	}
	const struct spf_outcome *h = spf_eval_outcome(j[0].ev);
	const struct spf_outcome *m = spf_eval_outcome(j[1].ev);
	bool ok = h->result == SPF_RESULT_PASS && m->result == SPF_RESULT_PASS;
	if (!ok)
		fprintf(stderr, "helo %s, mailfrom %s (want pass, pass) %s\n",
		    spf_result_name(h->result), spf_result_name(m->result),
		    m->problem ? m->problem : "");
	spf_eval_free(j[0].ev);
	spf_eval_free(j[1].ev);
	return ok;
}

static struct spf_resolver *new_resolver(void)
{
	struct spf_resolver_options o;
	spf_resolver_options_init(&o);
	o.mode = SPF_RESOLVER_FORWARD;
	o.forwarders = fwd;
	o.nforwarders = nfwd;
	struct spf_resolver *r = NULL;
	char err[256];
	if (spf_resolver_new(&r, &o, err, sizeof(err)) != SPF_OK) {
		fprintf(stderr, "spf_resolver_new: %s\n", err);
		exit(1);
	}
	return r;
}

int main(int argc, char **argv)
{
	uint64_t t_main = now_us();
	unsigned n = 1000;
	int opt;
	while ((opt = getopt(argc, argv, "f:n:")) != -1) {
		switch (opt) {
		case 'f':
			if (nfwd < sizeof(fwd) / sizeof(fwd[0]))
				fwd[nfwd++] = optarg;
			break;
		case 'n': n = (unsigned)atoi(optarg); break;
		default: goto usage;
		}
	}
	if (optind >= argc || nfwd == 0)
		goto usage;

	if (strcmp(argv[optind], "startup") == 0) {
		uint64_t t0 = now_us();
		struct spf_resolver *r = new_resolver();
		uint64_t t1 = now_us();
		bool ok = request(r);
		uint64_t t2 = now_us();
		printf("startup: new %llu us, first request %llu us, main to answer %llu us, "
		    "VmHWM %ld kB, VmRSS %ld kB\n", (unsigned long long)(t1 - t0),
		    (unsigned long long)(t2 - t1), (unsigned long long)(t2 - t_main),
		    status_kb("VmHWM"), status_kb("VmRSS"));
		spf_resolver_free(r);
		return ok ? 0 : 1;
	}
	if (strcmp(argv[optind], "warm") != 0)
		goto usage;
	struct spf_resolver *r = new_resolver();
	if (!request(r))
		return 1;
	struct spf_resolver_stats s0, s1;
	spf_resolver_stats(r, &s0);
	uint64_t w0 = now_us(), c0 = cpu_us();
	for (unsigned i = 0; i < n; i++)
		if (!request(r))
			return 1;
	uint64_t w1 = now_us(), c1 = cpu_us();
	spf_resolver_stats(r, &s1);
	printf("warm: %u requests, %.2f us wall and %.2f us CPU per request, "
	    "%.2f questions to libunbound per request, VmHWM %ld kB\n", n,
	    (double)(w1 - w0) / n, (double)(c1 - c0) / n,
	    (double)(s1.queries_sent - s0.queries_sent) / n, status_kb("VmHWM"));
	spf_resolver_free(r);
	return 0;
usage:
	fprintf(stderr, "usage: warm_bench -f IP@PORT [-n N] warm|startup\n");
	return 2;
}
