/*
 * load.c - the benchmark's load driver: speaks the Postfix policy protocol
 * (SMTPD_POLICY_README) to a policy server and measures it.
 *
 * Usage:
 *   load -f REQS [-c CLIENTS] [-n MAX] [-t SECONDS] [-o CAPTURE] [-P NAME=PID]...
 *        [-T TIMEOUT] [-I IDLE] [-S STARTUPS] [-e STDERR_LOG] TARGET [-- ARGV...]
 *   TARGET is "spawn" (then ARGV is the contender's command line), "unix:PATH"
 *   or "tcp:ADDR:PORT".
 *
 * Spawn mode starts one contender process per client and talks to it over its
 * stdin/stdout, as Postfix's spawn(8) does; socket mode opens one connection
 * per client. Each client carries many requests, one at a time, as an smtpd
 * process does. REQS holds requests separated by empty lines; consecutive
 * requests with the same "instance=" are one message (its recipients) and go
 * to the same client in order. Messages are handed to clients from one shared
 * cursor, so the request order is the file's. When MAX is above the file's
 * count the file is replayed with the instance rewritten ("-LAP" appended), so
 * a per-instance cache never answers a replayed message.
 *
 * Output: key=value lines on stdout (requests, errors, elapsed_s, rps,
 * p50_us, p90_us, p99_us, max_us, children's CPU (less what they used before
 * the clock started) and peak RSS in spawn mode,
 * and for every -P NAME=PID its CPU seconds used during the run, VmRSS and
 * VmHWM). The capture file gets "INDEX<TAB>LATENCY_US<TAB>ACTION" per answered
 * request of the first lap, where ACTION is the reply after "action=".
 *
 * -W N primes every client before the clock starts: it sends N requests
 * from the priming file (-w FILE; default REQS), from its end, with instances
 * "prime-CLIENT-J", one at a time, and waits for
 * each answer, so spawned processes have started and loaded what they load on
 * first use, and connections are up; start-up is measured apart (-S).
 *
 * Peak RSS of a spawned process is its VmHWM just before its stdin is closed:
 * ru_maxrss would include the driver's own pages from before exec().
 *
 * -Q CMD runs the shell command CMD when the clock starts and when the run
 * ends and prints the first line of each output as q0= and q1= (the harness
 * reads unbound's counters so, leaving the priming requests out).
 *
 * -I IDLE opens IDLE extra connections before the run and keeps them open and
 * silent to its end (socket mode). -S N measures spawn start-up instead: N
 * times, start the contender, send the file's first request, time the answer,
 * close, and read the child's peak RSS from wait4().
 *
 * Latencies are kept as one 32-bit sample per request and sorted at the end:
 * exact percentiles, 4 bytes a request.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct req {
	size_t off, len;	/* request text without its instance line */
	size_t ioff, ilen;	/* instance value */
};

struct msg {
	size_t first, count;	/* requests [first, first + count) */
};

struct client {
	int in, out;		/* read replies from in, write requests to out */
	pid_t pid;		/* spawn mode */
	int busy, dead;
	size_t msg, lap;	/* current message and its lap */
	size_t k;		/* request within the message */
	size_t seq;		/* global request number of the one in flight */
	uint64_t sent;		/* when the request in flight was sent */
	char rbuf[4096];
	size_t rlen;
};

struct watch {
	const char *name;
	pid_t pid;
	double cpu0;
};

static char *text;
static struct req *reqs;
static size_t nreqs;
static char *ptext;		/* priming requests (-w), or the main file's */
static struct req *preqs;
static size_t pfirst;
static struct msg *msgs;
static size_t nmsgs;
static uint32_t *lat;
static size_t nlat, latcap;

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (p == NULL)
		die("load: realloc");
	return p;
}

/* Reads the request file and splits it into requests and messages. */
static void load_requests(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	size_t cap = 0;

	if (f == NULL || fstat(fileno(f), &st) < 0)
		die(path);
	text = xrealloc(NULL, (size_t)st.st_size + 1);
	if (fread(text, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
		die(path);
	fclose(f);
	text[st.st_size] = '\0';
	size_t pos = 0, end = (size_t)st.st_size;
	while (pos < end) {
		char *blank = strstr(text + pos, "\n\n");
		size_t stop = blank ? (size_t)(blank - text) + 1 : end;
		if (stop > pos + 1) {
			if (nreqs == cap) {
				cap = cap ? cap * 2 : 4096;
				reqs = xrealloc(reqs, cap * sizeof(*reqs));
			}
			struct req *r = &reqs[nreqs++];
			r->off = pos;
			r->len = stop - pos;
			r->ioff = r->ilen = 0;
			/* find "instance=" at a line start; cut it out of the text */
			for (size_t p = pos; p < stop;) {
				char *nl = memchr(text + p, '\n', stop - p);
				size_t le = nl ? (size_t)(nl - text) : stop;
				if (le - p >= 9 && memcmp(text + p, "instance=", 9) == 0) {
					r->ioff = p + 9;
					r->ilen = le - p - 9;
					/* the generator puts instance last; if not, keep it */
					if (le + 1 == stop)
						r->len = p - pos;
					else
						r->ioff = r->ilen = 0;
				}
				p = le + 1;
			}
		}
		pos = blank ? stop + 1 : end;
	}
	msgs = xrealloc(NULL, (nreqs + 1) * sizeof(*msgs));
	for (size_t i = 0; i < nreqs; i++) {
		if (i > 0 && reqs[i].ilen && reqs[i].ilen == reqs[i - 1].ilen &&
		    memcmp(text + reqs[i].ioff, text + reqs[i - 1].ioff, reqs[i].ilen) == 0) {
			msgs[nmsgs - 1].count++;
			continue;
		}
		msgs[nmsgs].first = i;
		msgs[nmsgs].count = 1;
		nmsgs++;
	}
	if (nreqs == 0) {
		fprintf(stderr, "load: no requests in %s\n", path);
		exit(1);
	}
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Sends request k of message m (lap l) on client c. */
static int send_request(struct client *c, size_t m, size_t k, size_t l)
{
	static char buf[65536];
	const struct req *r = &reqs[msgs[m].first + k];
	size_t n = 0;

	if (r->len + r->ilen + 64 > sizeof(buf))
		return -1;
	memcpy(buf, text + r->off, r->len);
	n = r->len;
	if (r->ilen) {
		memcpy(buf + n, "instance=", 9);
		n += 9;
		memcpy(buf + n, text + r->ioff, r->ilen);
		n += r->ilen;
		if (l > 0)
			n += (size_t)snprintf(buf + n, 32, "-%zu", l);
		buf[n++] = '\n';
	}
	buf[n++] = '\n';
	c->sent = now_us();
	return write_all(c->out, buf, n);
}

static pid_t spawn(char **argv, int *in, int *out, const char *errlog)
{
	int p2c[2], c2p[2];

	if (pipe2(p2c, O_CLOEXEC) < 0 || pipe2(c2p, O_CLOEXEC) < 0)
		die("load: pipe");
	pid_t pid = fork();
	if (pid < 0)
		die("load: fork");
	if (pid == 0) {
		dup2(p2c[0], 0);
		dup2(c2p[1], 1);
		int e = open(errlog ? errlog : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (e >= 0)
			dup2(e, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p2c[0]);
	close(c2p[1]);
	*out = p2c[1];
	*in = c2p[0];
	return pid;
}

static int connect_to(const char *target)
{
	int fd = -1;

	if (strncmp(target, "unix:", 5) == 0) {
		struct sockaddr_un sun;
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", target + 5);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
			close(fd);
			fd = -1;
		}
	} else if (strncmp(target, "tcp:", 4) == 0) {
		char host[256];
		const char *port = strrchr(target + 4, ':');
		struct addrinfo hints, *ai;
		if (port == NULL || (size_t)(port - target - 4) >= sizeof(host))
			return -1;
		memcpy(host, target + 4, (size_t)(port - target - 4));
		host[port - target - 4] = '\0';
		if (host[0] == '[') {	/* [v6]:port */
			memmove(host, host + 1, strlen(host));
			host[strlen(host) - 1] = '\0';
		}
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_NUMERICHOST;
		if (getaddrinfo(host, port + 1, &hints, &ai) != 0)
			return -1;
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			close(fd);
			fd = -1;
		}
		if (fd >= 0) {
			int one = 1;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		}
		freeaddrinfo(ai);
	}
	return fd;
}

/* CPU seconds (user + system, all threads) of a process, from /proc/PID/stat. */
static double proc_cpu(pid_t pid)
{
	char path[64], buf[4096];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');	/* comm may contain spaces */
	if (p == NULL)
		return -1;
	unsigned long ut = 0, st = 0;
	/* after ")": state(3) ... utime is field 14, stime 15 */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* A "VmRSS:"-style field of /proc/PID/status, in kB. */
static long proc_status_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	FILE *f;
	long v = -1;
	size_t kl = strlen(key);

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			v = atol(line + kl + 1);
			break;
		}
	fclose(f);
	return v;
}

/* Runs a shell command and prints "KEY=first line of its output". */
static void run_hook(const char *key, const char *cmd)
{
	char line[512] = "";
	FILE *p = popen(cmd, "r");

	if (p != NULL) {
		if (fgets(line, sizeof(line), p) == NULL)
			line[0] = '\0';
		pclose(p);
	}
	line[strcspn(line, "\n")] = '\0';
	printf("%s=%s\n", key, line);
	fflush(stdout);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static uint32_t pct(double p)
{
	if (nlat == 0)
		return 0;
	size_t i = (size_t)(p * (double)(nlat - 1) + 0.5);
	return lat[i];
}

static void add_lat(uint64_t us)
{
	if (nlat == latcap) {
		latcap = latcap ? latcap * 2 : 65536;
		lat = xrealloc(lat, latcap * sizeof(*lat));
	}
	lat[nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/* Finds a complete reply ("...\n\n") in the client's buffer; returns its length. */
static size_t reply_len(const struct client *c)
{
	for (size_t i = 1; i < c->rlen; i++)
		if (c->rbuf[i] == '\n' && c->rbuf[i - 1] == '\n')
			return i + 1;
	return 0;
}

static int run_startup(char **argv, int count, const char *errlog)
{
	uint32_t *ms = xrealloc(NULL, (size_t)count * sizeof(*ms));
	long *rss = xrealloc(NULL, (size_t)count * sizeof(*rss));
	int errors = 0;

	for (int i = 0; i < count; i++) {
		struct client c;
		struct rusage ru;
		int st;
		memset(&c, 0, sizeof(c));
		uint64_t t0 = now_us();
		c.pid = spawn(argv, &c.in, &c.out, errlog);
		if (send_request(&c, 0, 0, 0) < 0)
			errors++;
		for (;;) {
			ssize_t r = read(c.in, c.rbuf + c.rlen, sizeof(c.rbuf) - 1 - c.rlen);
			if (r <= 0) {
				errors++;
				break;
			}
			c.rlen += (size_t)r;
			if (reply_len(&c))
				break;
		}
		uint64_t t1 = now_us();
		rss[i] = proc_status_kb(c.pid, "VmHWM");
		close(c.out);
		close(c.in);
		wait4(c.pid, &st, 0, &ru);
		ms[i] = (uint32_t)(t1 - t0);
	}
	nlat = (size_t)count;
	lat = ms;
	qsort(lat, nlat, sizeof(*lat), cmp_u32);
	long maxrss = 0, sum = 0;
	for (int i = 0; i < count; i++) {
		if (rss[i] > maxrss)
			maxrss = rss[i];
		sum += rss[i];
	}
	printf("startups=%d\nerrors=%d\nstartup_p50_us=%u\nstartup_min_us=%u\nstartup_max_us=%u\n"
	       "hwm_kb_max=%ld\nhwm_kb_avg=%ld\n", count, errors, pct(0.5), lat[0],
	       lat[nlat - 1], maxrss, sum / count);
	return 0;
}

int main(int argc, char **argv)
{
	const char *file = NULL, *capture = NULL, *errlog = NULL, *primefile = NULL, *qcmd = NULL;
	int clients = 1, idle = 0, startups = 0, prime = 0, opt;
	size_t maxreq = 0;
	double tlimit = 0, timeout = 30;
	struct watch watch[16];
	int nwatch = 0;

	while ((opt = getopt(argc, argv, "+f:c:n:t:o:P:T:I:S:e:W:w:Q:")) != -1) {
		switch (opt) {
		case 'f': file = optarg; break;
		case 'c': clients = atoi(optarg); break;
		case 'n': maxreq = (size_t)atol(optarg); break;
		case 't': tlimit = atof(optarg); break;
		case 'o': capture = optarg; break;
		case 'T': timeout = atof(optarg); break;
		case 'I': idle = atoi(optarg); break;
		case 'S': startups = atoi(optarg); break;
		case 'e': errlog = optarg; break;
		case 'W': prime = atoi(optarg); break;
		case 'w': primefile = optarg; break;
		case 'Q': qcmd = optarg; break;
		case 'P':
			if (nwatch < 16) {
				char *eq = strchr(optarg, '=');
				if (eq == NULL)
					goto usage;
				*eq = '\0';
				watch[nwatch].name = optarg;
				watch[nwatch].pid = (pid_t)atoi(eq + 1);
				nwatch++;
			}
			break;
		default:
			goto usage;
		}
	}
	if (file == NULL || optind >= argc || clients < 1) {
usage:
		fprintf(stderr, "usage: load -f REQS [-c N] [-n MAX] [-t SEC] [-o CAPTURE] "
			"[-P NAME=PID] [-T TIMEOUT] [-I IDLE] [-S STARTUPS] [-e ERRLOG] [-W N] [-w PRIMEFILE] [-Q CMD] "
			"spawn|unix:PATH|tcp:ADDR:PORT [-- ARGV...]\n");
		return 2;
	}
	const char *target = argv[optind++];
	int spawn_mode = strcmp(target, "spawn") == 0;
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	char **cargv = argv + optind;
	if (spawn_mode && optind >= argc)
		goto usage;
	signal(SIGPIPE, SIG_IGN);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (primefile != NULL && prime > 0) {
		/* the priming requests go last in the table, after the measured ones */
		load_requests(primefile);
		pfirst = nreqs;
		nreqs = 0;
		nmsgs = 0;
		ptext = text;
		preqs = reqs;
		reqs = NULL;
		free(msgs);
		msgs = NULL;
	}
	load_requests(file);
	if (ptext == NULL) {
		ptext = text;
		preqs = reqs;
		pfirst = nreqs;
	}
	if (maxreq == 0)
		maxreq = nreqs;
	if (startups > 0) {
		if (!spawn_mode) {
			fprintf(stderr, "load: -S needs spawn mode\n");
			return 2;
		}
		return run_startup(cargv, startups, errlog);
	}

	/* idle connections first: they hold server resources during the run */
	int *idlefd = NULL, nidle = 0;
	if (idle > 0 && !spawn_mode) {
		idlefd = xrealloc(NULL, (size_t)idle * sizeof(int));
		for (int i = 0; i < idle; i++) {
			int fd = connect_to(target);
			if (fd < 0) {
				fprintf(stderr, "load: idle connection %d: %s\n", i, strerror(errno));
				break;
			}
			idlefd[nidle++] = fd;
		}
		usleep(500000);
		for (int w = 0; w < nwatch; w++)
			printf("%s.idle_rss_kb=%ld\n", watch[w].name, proc_status_kb(watch[w].pid, "VmRSS"));
		printf("idle_open=%d\n", nidle);
	}

	FILE *cap = NULL;
	if (capture && (cap = fopen(capture, "w")) == NULL)
		die(capture);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct client *cl = calloc((size_t)clients, sizeof(*cl));
	if (cl == NULL || ep < 0)
		die("load: setup");
	uint64_t tstart = now_us(), t0 = tstart;
	for (int i = 0; i < clients; i++) {
		if (spawn_mode) {
			cl[i].pid = spawn(cargv, &cl[i].in, &cl[i].out, errlog);
		} else {
			cl[i].in = cl[i].out = connect_to(target);
			if (cl[i].in < 0) {
				fprintf(stderr, "load: connect %s: %s\n", target, strerror(errno));
				return 1;
			}
		}
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, cl[i].in, &ev) < 0)
			die("load: epoll_ctl");
	}

	for (int j = 0; j < prime; j++) {
		/* request j from the end to every client, all answered before the next */
		const struct req *r = &preqs[pfirst - 1 - (size_t)j % pfirst];
		for (int i = 0; i < clients; i++) {
			char inst[64];
			int il = snprintf(inst, sizeof(inst), "instance=prime-%d-%d\n\n", i, j);
			if (write_all(cl[i].out, ptext + r->off, r->len) < 0 ||
			    write_all(cl[i].out, inst, (size_t)il) < 0)
				die("load: priming write");
		}
		for (int i = 0; i < clients; i++) {
			struct client *c = &cl[i];
			while (reply_len(c) == 0) {
				ssize_t rr = read(c->in, c->rbuf + c->rlen, sizeof(c->rbuf) - 1 - c->rlen);
				if (rr <= 0) {
					fprintf(stderr, "load: client %d died while priming\n", i);
					return 1;
				}
				c->rlen += (size_t)rr;
			}
			c->rlen = 0;
		}
	}
	if (prime > 0) {
		t0 = now_us();
		printf("prime_s=%.3f\n", (double)(t0 - tstart) / 1e6);
	}
	if (qcmd)
		run_hook("q0", qcmd);
	for (int i = 0; i < nwatch; i++)
		watch[i].cpu0 = proc_cpu(watch[i].pid);
	/* spawn mode: the children's CPU before the clock (start-up, priming) */
	double ccpu0 = 0;
	for (int i = 0; spawn_mode && i < clients; i++) {
		double v = proc_cpu(cl[i].pid);
		if (v > 0)
			ccpu0 += v;
	}

	size_t next_msg = 0, issued = 0, done = 0, errors = 0, timeouts = 0, badreplies = 0;
	int active = 0;
	uint64_t deadline = tlimit > 0 ? t0 + (uint64_t)(tlimit * 1e6) : UINT64_MAX;

	/* Starts the next message on client c, or retires the client. */
#define START(c)                                                                           \
	do {                                                                               \
		if (issued >= maxreq || now_us() >= deadline) {                           \
			(c)->busy = 0;                                                     \
			break;                                                             \
		}                                                                          \
		(c)->msg = next_msg % nmsgs;                                               \
		(c)->lap = next_msg / nmsgs;                                               \
		(c)->k = 0;                                                                \
		next_msg++;                                                                \
		(c)->seq = msgs[(c)->msg].first;                                           \
		issued++;                                                                  \
		(c)->busy = 1;                                                             \
		if (send_request((c), (c)->msg, 0, (c)->lap) < 0) {                        \
			errors++;                                                          \
			(c)->dead = 1;                                                     \
			(c)->busy = 0;                                                     \
		}                                                                          \
	} while (0)

	for (int i = 0; i < clients; i++) {
		START(&cl[i]);
		active += cl[i].busy;
	}
	struct epoll_event evs[128];
	while (active > 0) {
		int n = epoll_wait(ep, evs, 128, 100);
		if (n < 0 && errno != EINTR)
			die("load: epoll_wait");
		for (int e = 0; e < n; e++) {
			struct client *c = &cl[evs[e].data.u32];
			if (c->dead || !c->busy) {
				/* unsolicited data or EOF from an idle client */
				char junk[512];
				if (read(c->in, junk, sizeof(junk)) <= 0) {
					epoll_ctl(ep, EPOLL_CTL_DEL, c->in, NULL);
					c->dead = 1;
				}
				continue;
			}
			ssize_t r = read(c->in, c->rbuf + c->rlen, sizeof(c->rbuf) - 1 - c->rlen);
			if (r <= 0) {
				if (r < 0 && errno == EINTR)
					continue;
				errors++;
				c->dead = 1;
				c->busy = 0;
				active--;
				epoll_ctl(ep, EPOLL_CTL_DEL, c->in, NULL);
				continue;
			}
			c->rlen += (size_t)r;
			size_t rl_;
			while (c->busy && (rl_ = reply_len(c)) > 0) {
				uint64_t us = now_us() - c->sent;
				add_lat(us);
				done++;
				const char *act = c->rbuf;
				size_t alen = rl_ - 2;
				if (alen >= 7 && memcmp(act, "action=", 7) == 0) {
					act += 7;
					alen -= 7;
				} else {
					badreplies++;
				}
				if (cap && c->lap == 0) {
					/* only the first line: a reply is one attribute */
					const char *nl = memchr(act, '\n', alen);
					size_t l1 = nl ? (size_t)(nl - act) : alen;
					fprintf(cap, "%zu\t%llu\t%.*s\n", c->seq, (unsigned long long)us,
						(int)l1, act);
				}
				memmove(c->rbuf, c->rbuf + rl_, c->rlen - rl_);
				c->rlen -= rl_;
				if (c->rlen == sizeof(c->rbuf) - 1)
					c->rlen = 0;
				if (++c->k < msgs[c->msg].count) {
					c->seq = msgs[c->msg].first + c->k;
					issued++;
					if (send_request(c, c->msg, c->k, c->lap) < 0) {
						errors++;
						c->dead = 1;
						c->busy = 0;
						active--;
					}
				} else {
					START(c);
					if (!c->busy)
						active--;
				}
			}
			if (c->busy && c->rlen == sizeof(c->rbuf) - 1) {
				badreplies++;	/* a reply over 4 KB: drop it */
				c->rlen = 0;
			}
		}
		/* replies that never come */
		uint64_t t = now_us();
		for (int i = 0; i < clients; i++) {
			struct client *c = &cl[i];
			if (c->busy && t - c->sent > (uint64_t)(timeout * 1e6)) {
				timeouts++;
				errors++;
				c->busy = 0;
				c->dead = 1;
				active--;
				epoll_ctl(ep, EPOLL_CTL_DEL, c->in, NULL);
			}
		}
	}
	uint64_t t1 = now_us();
	double elapsed = (double)(t1 - t0) / 1e6;
	if (qcmd)
		run_hook("q1", qcmd);

	for (int w = 0; w < nwatch; w++) {
		double cpu = proc_cpu(watch[w].pid);
		printf("%s.cpu_s=%.3f\n%s.rss_kb=%ld\n%s.hwm_kb=%ld\n", watch[w].name,
		       cpu >= 0 && watch[w].cpu0 >= 0 ? cpu - watch[w].cpu0 : -1.0, watch[w].name,
		       proc_status_kb(watch[w].pid, "VmRSS"), watch[w].name,
		       proc_status_kb(watch[w].pid, "VmHWM"));
	}
	/* spawn mode: close stdin, reap, sum the children's CPU and peak RSS */
	double ccpu = 0;
	long maxrss = 0, sumrss = 0;
	int reaped = 0;
	long hwm_max = 0, hwm_sum = 0;
	int hwm_n = 0;
	for (int i = 0; i < clients; i++) {
		if (!spawn_mode) {
			close(cl[i].in);
			continue;
		}
		long h = proc_status_kb(cl[i].pid, "VmHWM");
		if (h > 0) {
			hwm_max = h > hwm_max ? h : hwm_max;
			hwm_sum += h;
			hwm_n++;
		}
		close(cl[i].out);
	}
	if (spawn_mode) {
		uint64_t kill_at = now_us() + 60000000;	/* valgrind writes its output at exit */
		for (int i = 0; i < clients; i++) {
			struct rusage ru;
			int st;
			pid_t p;
			while ((p = wait4(cl[i].pid, &st, WNOHANG, &ru)) == 0) {
				if (now_us() > kill_at)
					kill(cl[i].pid, SIGKILL);
				usleep(2000);
			}
			if (p == cl[i].pid) {
				ccpu += (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
					(double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
				if (ru.ru_maxrss > maxrss)
					maxrss = ru.ru_maxrss;
				sumrss += ru.ru_maxrss;
				reaped++;
			}
			close(cl[i].in);
		}
	}
	for (int i = 0; i < nidle; i++)
		close(idlefd[i]);
	if (cap)
		fclose(cap);

	qsort(lat, nlat, sizeof(*lat), cmp_u32);
	printf("requests=%zu\nerrors=%zu\ntimeouts=%zu\nbad_replies=%zu\nelapsed_s=%.3f\n"
	       "rps=%.1f\np50_us=%u\np90_us=%u\np99_us=%u\nmax_us=%u\nclients=%d\n",
	       done, errors, timeouts, badreplies, elapsed, elapsed > 0 ? (double)done / elapsed : 0,
	       pct(0.5), pct(0.9), pct(0.99), nlat ? lat[nlat - 1] : 0, clients);
	struct rusage self;
	if (getrusage(RUSAGE_SELF, &self) == 0)
		printf("driver_cpu_s=%.3f\n", (double)self.ru_utime.tv_sec + self.ru_utime.tv_usec / 1e6 +
		       (double)self.ru_stime.tv_sec + self.ru_stime.tv_usec / 1e6);
	if (spawn_mode)
		printf("children_cpu_s=%.3f\nreaped=%d\nmaxrss_kb_max=%ld\nmaxrss_kb_avg=%ld\n"
		       "children_hwm_kb_max=%ld\nchildren_hwm_kb_avg=%ld\n", ccpu - ccpu0, reaped,
		       maxrss, reaped ? sumrss / reaped : 0, hwm_max, hwm_n ? hwm_sum / hwm_n : 0);
	return 0;
}
