/*
 * policy_client.c - a tiny Postfix policy client for the daemon transcript tests.
 *
 *	policy_client [-t ms] --unix PATH SCRIPT
 *	policy_client [-t ms] --tcp HOST:PORT SCRIPT
 *	policy_client [-t ms] --spawn SCRIPT -- COMMAND [ARG...]
 *	policy_client --blackhole      a UDP+TCP "DNS server" on 127.0.0.1 that never
 *	                               answers: prints its port, runs until killed
 *
 * --spawn runs COMMAND with a socketpair as stdin and stdout, as Postfix's spawn(8)
 * does; stderr is inherited.  SCRIPT is a transcript, one command per line:
 *
 *	> TEXT        send TEXT and "\n"      (">" alone sends the empty line)
 *	< PATTERN     read one reply (up to the empty line); its first line must match
 *	              PATTERN (fnmatch(3)); the reply is printed
 *	eof           the server must close the connection (no reply) within the timeout
 *	long N        send one attribute line of N bytes and "\n"
 *	partial N     send N bytes without a newline
 *	attrs N       send N lines "xK=y"
 *	raw TEXT      send TEXT without "\n"
 *	burst         from here to "flush", "> TEXT" lines are collected, not sent ...
 *	flush         ... and sent with one write(2): the server gets them in one read
 *	shut          shut down our sending side (the server reads end of input) but
 *	              keep reading replies
 *	sleep MS
 *	reconnect     close and open a new connection (not with --spawn)
 *	close         close our end; with --spawn wait for the child, which must exit 0
 *	# ...         comment; blank lines are ignored
 *
 * Exit status 0 when every expectation held; 1 with a message naming the script line
 * otherwise.  The test asserts on what spfgated sent, never on what this program wrote.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fnmatch.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int timeout_ms = 10000;
static const char *unix_path, *tcp_addr;
static char **spawn_argv;
static pid_t child = -1;
static int fd = -1;
static const char *script;
static unsigned lineno;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "policy_client: %s:%u: ", script ? script : "-", lineno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (child > 0)
		kill(child, SIGKILL);
	exit(1);
}

static void do_connect(void)
{
	if (unix_path) {
		struct sockaddr_un sun;
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", unix_path);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd == -1 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
			die("connect %s: %s", unix_path, strerror(errno));
	} else if (tcp_addr) {
		char host[64];
		const char *colon = strrchr(tcp_addr, ':');
		if (!colon || (size_t)(colon - tcp_addr) >= sizeof(host))
			die("bad address %s", tcp_addr);
		memcpy(host, tcp_addr, (size_t)(colon - tcp_addr));
		host[colon - tcp_addr] = '\0';
		struct sockaddr_storage ss;
		memset(&ss, 0, sizeof(ss));
		socklen_t sl;
		char *h = host;
		if (h[0] == '[') {
			h++;
			h[strlen(h) - 1] = '\0';
		}
		if (strchr(h, ':')) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((uint16_t)atoi(colon + 1));
			inet_pton(AF_INET6, h, &s6->sin6_addr);
			sl = sizeof(*s6);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
			s4->sin_family = AF_INET;
			s4->sin_port = htons((uint16_t)atoi(colon + 1));
			inet_pton(AF_INET, h, &s4->sin_addr);
			sl = sizeof(*s4);
		}
		fd = socket(ss.ss_family, SOCK_STREAM, 0);
		if (fd == -1 || connect(fd, (struct sockaddr *)&ss, sl) == -1)
			die("connect %s: %s", tcp_addr, strerror(errno));
	} else {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
			die("socketpair: %s", strerror(errno));
		child = fork();
		if (child == -1)
			die("fork: %s", strerror(errno));
		if (child == 0) {
			close(sv[0]);
			dup2(sv[1], 0);
			dup2(sv[1], 1);
			close(sv[1]);
			execv(spawn_argv[0], spawn_argv);
			_exit(127);
		}
		close(sv[1]);
		fd = sv[0];
	}
}

static bool peer_closed; /* the server closed while we were still sending */

static void send_all(const char *p, size_t n)
{
	while (n > 0 && !peer_closed) {
		ssize_t w = write(fd, p, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && (errno == EPIPE || errno == ECONNRESET)) {
			/* Expected when the server refuses a request half-way ("eof" next);
			 * anything else the script expects will fail on reading. */
			peer_closed = true;
			return;
		}
		if (w == -1)
			die("write: %s", strerror(errno));
		p += w;
		n -= (size_t)w;
	}
}

/* Reads until "\n\n" (a reply), EOF (returns -1), or the timeout (dies). */
static char rbuf[65536];
static size_t rlen;

static int read_reply(char *out, size_t cap, bool want_eof)
{
	for (;;) {
		char *end = NULL;
		for (size_t i = 0; i + 1 < rlen; i++)
			if (rbuf[i] == '\n' && rbuf[i + 1] == '\n') {
				end = rbuf + i;
				break;
			}
		if (end) {
			size_t n = (size_t)(end - rbuf);
			if (n >= cap)
				n = cap - 1;
			memcpy(out, rbuf, n);
			out[n] = '\0';
			size_t used = (size_t)(end - rbuf) + 2;
			memmove(rbuf, rbuf + used, rlen - used);
			rlen -= used;
			return 0;
		}
		struct pollfd p = { fd, POLLIN, 0 };
		int rc = poll(&p, 1, timeout_ms);
		if (rc == 0)
			die(want_eof ? "timeout waiting for the server to close" :
			    "timeout waiting for a reply");
		if (rc == -1 && errno == EINTR)
			continue;
		ssize_t r = read(fd, rbuf + rlen, sizeof(rbuf) - rlen);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (rlen > 0 && !want_eof)
				die("connection closed after a partial reply");
			return -1;
		}
		rlen += (size_t)r;
		if (rlen == sizeof(rbuf))
			die("reply too long");
	}
}

static void do_close(void)
{
	if (fd >= 0)
		close(fd);
	fd = -1;
	rlen = 0;
	peer_closed = false;
	if (child > 0) {
		int st;
		struct timespec t0, t;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			pid_t w = waitpid(child, &st, WNOHANG);
			if (w == child)
				break;
			clock_gettime(CLOCK_MONOTONIC, &t);
			if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >
			    timeout_ms)
				die("spawned server did not exit after its input closed");
			usleep(10000);
		}
		child = -1;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			die("spawned server exited with status %d", st);
	}
}

static void blackhole(void)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	if (u == -1 || bind(u, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(u, (struct sockaddr *)&sin, &sl) == -1) {
		perror("blackhole");
		exit(1);
	}
	/* The same port over TCP: accepted and never answered either. */
	int t = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (t == -1 || bind(t, (struct sockaddr *)&sin, sizeof(sin)) == -1 || listen(t, 16) == -1)
		t = -1;
	printf("%u\n", ntohs(sin.sin_port));
	fflush(stdout);
	for (;;) {
		struct pollfd p[2] = { { u, POLLIN, 0 }, { t, POLLIN, 0 } };
		if (poll(p, t >= 0 ? 2 : 1, -1) <= 0)
			continue;
		char b[4096];
		if (p[0].revents & POLLIN)
			(void)recv(u, b, sizeof(b), 0);
		if (t >= 0 && (p[1].revents & POLLIN))
			(void)accept(t, NULL, NULL); /* kept open, never served */
	}
}

int main(int argc, char *argv[])
{
	int i = 1;
	signal(SIGPIPE, SIG_IGN);
	if (argc == 2 && strcmp(argv[1], "--blackhole") == 0)
		blackhole();
	for (; i < argc; i++) {
		if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
			timeout_ms = atoi(argv[++i]);
		else if (strcmp(argv[i], "--unix") == 0 && i + 1 < argc)
			unix_path = argv[++i];
		else if (strcmp(argv[i], "--tcp") == 0 && i + 1 < argc)
			tcp_addr = argv[++i];
		else if (strcmp(argv[i], "--spawn") == 0)
			spawn_argv = argv; /* marker; the command follows "--" */
		else if (strcmp(argv[i], "--") == 0) {
			spawn_argv = argv + i + 1;
			break;
		} else if (script == NULL)
			script = argv[i];
		else {
			fprintf(stderr, "usage: policy_client [-t ms] (--unix P | --tcp H:P | "
			    "--spawn) SCRIPT [-- CMD...]\n");
			return 2;
		}
	}
	if (script == NULL || (!unix_path && !tcp_addr && (!spawn_argv || !spawn_argv[0]))) {
		fprintf(stderr, "policy_client: missing script or target\n");
		return 2;
	}
	FILE *f = fopen(script, "r");
	if (f == NULL)
		die("cannot open: %s", strerror(errno));
	do_connect();

	char line[8192], reply[65536];
	static char burst[65536];
	size_t blen = 0;
	bool bursting = false;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		size_t n = strlen(line);
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		if (line[0] == '>' && bursting) {
			const char *t = line[1] == ' ' ? line + 2 : line + 1;
			size_t tl = strlen(t);
			if (tl + 1 > sizeof(burst) - blen)
				die("burst too long");
			memcpy(burst + blen, t, tl);
			burst[blen + tl] = '\n';
			blen += tl + 1;
		} else if (line[0] == '>') {
			const char *t = line[1] == ' ' ? line + 2 : line + 1;
			send_all(t, strlen(t));
			send_all("\n", 1);
		} else if (strcmp(line, "burst") == 0) {
			bursting = true;
			blen = 0;
		} else if (strcmp(line, "flush") == 0) {
			if (!bursting)
				die("flush without burst");
			send_all(burst, blen); /* one write: one segment on a local socket */
			bursting = false;
		} else if (strcmp(line, "shut") == 0) {
			if (shutdown(fd, SHUT_WR) == -1)
				die("shutdown: %s", strerror(errno));
		} else if (line[0] == '<') {
			const char *pat = line[1] == ' ' ? line + 2 : line + 1;
			if (read_reply(reply, sizeof(reply), false) == -1)
				die("connection closed, expected a reply matching '%s'", pat);
			printf("%s:%u: %s\n", script, lineno, reply);
			char *nl = strchr(reply, '\n');
			if (nl)
				die("reply has more than one line: '%s'", reply);
			if (fnmatch(pat, reply, 0) != 0)
				die("reply '%s' does not match '%s'", reply, pat);
		} else if (strcmp(line, "eof") == 0) {
			if (read_reply(reply, sizeof(reply), true) != -1)
				die("expected the connection to close, got reply '%s'", reply);
			printf("%s:%u: (closed by server)\n", script, lineno);
		} else if (strncmp(line, "long ", 5) == 0) {
			size_t len = (size_t)atol(line + 5);
			char *b = malloc(len + 1);
			if (!b)
				die("no memory");
			memset(b, 'x', len);
			memcpy(b, "a=", len < 2 ? len : 2);
			b[len] = '\n';
			send_all(b, len + 1);
			free(b);
		} else if (strncmp(line, "partial ", 8) == 0) {
			size_t len = (size_t)atol(line + 8);
			char *b = malloc(len);
			if (!b)
				die("no memory");
			memset(b, 'y', len);
			send_all(b, len);
			free(b);
		} else if (strncmp(line, "attrs ", 6) == 0) {
			int k = atoi(line + 6);
			for (int j = 0; j < k; j++) {
				char a[32];
				int m = snprintf(a, sizeof(a), "x%d=y\n", j);
				send_all(a, (size_t)m);
			}
		} else if (strncmp(line, "raw ", 4) == 0) {
			send_all(line + 4, strlen(line + 4));
		} else if (strncmp(line, "sleep ", 6) == 0) {
			usleep((useconds_t)atoi(line + 6) * 1000);
		} else if (strcmp(line, "reconnect") == 0) {
			if (child > 0 || (!unix_path && !tcp_addr))
				die("reconnect needs --unix or --tcp");
			do_close();
			do_connect();
		} else if (strcmp(line, "close") == 0) {
			do_close();
		} else
			die("unknown script command '%s'", line);
	}
	fclose(f);
	if (fd >= 0)
		do_close();
	return 0;
}
