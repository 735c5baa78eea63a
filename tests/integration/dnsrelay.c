/*
 * dnsrelay.c - a UDP DNS relay for the integration tests: delays, drops and counts.
 *
 * Listens on 127.0.0.1:PORT (UDP only) and passes each query to an upstream server on
 * 127.0.0.1, optionally after a delay, or swallows it.  Every query received is logged
 * ("name type" per line, names lowercased, odd bytes as \DDD), so a test can count
 * what really went over the wire.  Nothing but loopback is ever addressed.
 *
 *   dnsrelay -l PORT [-u UPSTREAM_PORT] [-d MS] [-m SUFFIX]... [-x NAMEFILE]
 *            [-X SUFFIX]... [-q QUERYLOG] [-r READYFILE]
 *
 *   -u  upstream port; without it every query is swallowed (a black hole)
 *   -d  hold queries this long before passing them on (all, or those under -m)
 *   -m  delay only names at or below SUFFIX (repeatable)
 *   -x  time out the names listed in the file (one per line, as text, trailing dot
 *       optional): a query for one of them is passed on, and its answer swallowed
 *       unless it holds records, so "every type it has no records of times out"
 *       (the suite's TIMEOUT, FORMAT.md §6.3)
 *   -X  swallow queries for names at or below SUFFIX (repeatable)
 *   -q  append each received query to this file
 *   -r  create this file once the socket is bound
 *
 * Runs in the foreground until SIGTERM/SIGINT.  Answers from upstream go back to the
 * client unchanged (truncated ones too: clients then retry over TCP elsewhere, so
 * tests do not send large answers through the relay).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PENDING 4096
#define MAX_LIST 4096
#define MAX_MSG 65535
#define UPSTREAM_WAIT_MS 5000

struct pending {
	bool used;
	bool sent;
	bool drop_empty; /* swallow the answer unless it has answer records */
	uint64_t due_ms; /* when to send upstream (or, once sent, to give up) */
	struct sockaddr_in client;
	uint8_t *msg;
	size_t len;
	int fd; /* connected to upstream once sent */
};

static struct pending pend[MAX_PENDING];
static char *delay_sfx[MAX_LIST], *drop_sfx[MAX_LIST], *drop_name[MAX_LIST];
static size_t ndelay_sfx, ndrop_sfx, ndrop_name;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static char *lower_dup(const char *s)
{
	size_t n = strlen(s);
	while (n > 1 && s[n - 1] == '.')
		n--;
	char *d = malloc(n + 1);
	if (d == NULL) {
		perror("malloc");
		exit(2);
	}
	for (size_t i = 0; i < n; i++)
		d[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
	d[n] = '\0';
	return d;
}

/* The question's name as lowercase text and its type; false if malformed. */
static bool parse_question(const uint8_t *m, size_t len, char *name, size_t cap,
    unsigned *type)
{
	size_t off = 12, n = 0;
	if (len < 12)
		return false;
	for (;;) {
		if (off >= len)
			return false;
		unsigned l = m[off++];
		if (l == 0)
			break;
		if (l > 63 || l > len - off)
			return false;
		if (n > 0) {
			if (n + 1 >= cap)
				return false;
			name[n++] = '.';
		}
		for (unsigned i = 0; i < l; i++) {
			unsigned c = m[off + i];
			if (c >= 'A' && c <= 'Z')
				c += 'a' - 'A';
			if (c > 0x20 && c < 0x7f && c != '\\' && c != '.') {
				if (n + 1 >= cap)
					return false;
				name[n++] = (char)c;
			} else {
				if (n + 4 >= cap)
					return false;
				n += (size_t)snprintf(name + n, cap - n, "\\%03u", c);
			}
		}
		off += l;
	}
	if (n == 0)
		name[n++] = '.';
	name[n] = '\0';
	if (len - off < 4)
		return false;
	*type = (unsigned)m[off] << 8 | m[off + 1];
	return true;
}

static bool under(const char *name, char *const *sfx, size_t n)
{
	size_t nl = strlen(name);
	for (size_t i = 0; i < n; i++) {
		size_t sl = strlen(sfx[i]);
		if (nl == sl && strcmp(name, sfx[i]) == 0)
			return true;
		if (nl > sl && name[nl - sl - 1] == '.' && strcmp(name + nl - sl, sfx[i]) == 0)
			return true;
	}
	return false;
}

static bool listed(const char *name)
{
	for (size_t i = 0; i < ndrop_name; i++)
		if (strcmp(name, drop_name[i]) == 0)
			return true;
	return false;
}

static void load_names(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		perror(path);
		exit(2);
	}
	char line[1200];
	while (fgets(line, sizeof(line), f) != NULL && ndrop_name < MAX_LIST) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		drop_name[ndrop_name++] = lower_dup(line);
	}
	fclose(f);
}

static void drop(struct pending *p)
{
	if (p->fd >= 0)
		close(p->fd);
	free(p->msg);
	memset(p, 0, sizeof(*p));
	p->fd = -1;
}

static void usage(void)
{
	fprintf(stderr, "usage: dnsrelay -l PORT [-u PORT] [-d MS] [-m SUFFIX]... "
	    "[-x FILE] [-X SUFFIX]... [-q LOG] [-r READYFILE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int port = 0, up = 0, opt;
	unsigned delay = 0;
	const char *logpath = NULL, *ready = NULL;
	while ((opt = getopt(argc, argv, "l:u:d:m:x:X:q:r:")) != -1) {
		switch (opt) {
		case 'l': port = atoi(optarg); break;
		case 'u': up = atoi(optarg); break;
		case 'd': delay = (unsigned)atoi(optarg); break;
		case 'm':
			if (ndelay_sfx < MAX_LIST)
				delay_sfx[ndelay_sfx++] = lower_dup(optarg);
			break;
		case 'x': load_names(optarg); break;
		case 'X':
			if (ndrop_sfx < MAX_LIST)
				drop_sfx[ndrop_sfx++] = lower_dup(optarg);
			break;
		case 'q': logpath = optarg; break;
		case 'r': ready = optarg; break;
		default: usage();
		}
	}
	if (port <= 0 || port > 65535 || up < 0 || up > 65535)
		usage();
	for (size_t i = 0; i < MAX_PENDING; i++)
		pend[i].fd = -1;

	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);

	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("dnsrelay: bind");
		return 1;
	}
	FILE *log = NULL;
	if (logpath != NULL && (log = fopen(logpath, "a")) == NULL) {
		perror(logpath);
		return 1;
	}
	if (ready != NULL) {
		FILE *f = fopen(ready, "w");
		if (f == NULL) {
			perror(ready);
			return 1;
		}
		fclose(f);
	}

	static uint8_t buf[MAX_MSG];
	static struct pollfd pfd[MAX_PENDING + 1];
	static size_t who[MAX_PENDING + 1];
	while (!stop) {
		uint64_t now = now_ms();
		/* Send what is due; give up on upstream answers that never came. */
		int timeout = 1000;
		for (size_t i = 0; i < MAX_PENDING; i++) {
			struct pending *p = &pend[i];
			if (!p->used)
				continue;
			if (!p->sent && p->due_ms <= now) {
				struct sockaddr_in ua = sa;
				ua.sin_port = htons((uint16_t)up);
				p->fd = socket(AF_INET, SOCK_DGRAM, 0);
				if (p->fd < 0 || connect(p->fd, (struct sockaddr *)&ua, sizeof(ua)) < 0 ||
				    send(p->fd, p->msg, p->len, 0) < 0) {
					drop(p);
					continue;
				}
				p->sent = true;
				p->due_ms = now + UPSTREAM_WAIT_MS;
			} else if (p->sent && p->due_ms <= now) {
				drop(p);
				continue;
			}
			uint64_t left = p->due_ms > now ? p->due_ms - now : 0;
			if (left < (uint64_t)timeout)
				timeout = (int)left;
		}
		size_t n = 0;
		pfd[n].fd = s;
		pfd[n].events = POLLIN;
		n++;
		for (size_t i = 0; i < MAX_PENDING; i++) {
			if (pend[i].used && pend[i].sent) {
				pfd[n].fd = pend[i].fd;
				pfd[n].events = POLLIN;
				who[n] = i;
				n++;
			}
		}
		int r = poll(pfd, n, timeout);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			perror("poll");
			return 1;
		}
		for (size_t k = 1; k < n; k++) {
			if (!(pfd[k].revents & (POLLIN | POLLERR | POLLHUP)))
				continue;
			struct pending *p = &pend[who[k]];
			ssize_t got = recv(p->fd, buf, sizeof(buf), 0);
			/* ANCOUNT is bytes 6-7 of the header. */
			if (got >= 12 && p->drop_empty && buf[6] == 0 && buf[7] == 0)
				got = 0;
			if (got > 0)
				(void)sendto(s, buf, (size_t)got, 0, (struct sockaddr *)&p->client,
				    sizeof(p->client));
			drop(p);
		}
		if (pfd[0].revents & POLLIN) {
			struct sockaddr_in from;
			socklen_t flen = sizeof(from);
			ssize_t got = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
			char name[1100];
			unsigned type;
			if (got <= 0 || !parse_question(buf, (size_t)got, name, sizeof(name), &type))
				continue;
			if (log != NULL) {
				fprintf(log, "%s %u\n", name, type);
				fflush(log);
			}
			if (up == 0 || under(name, drop_sfx, ndrop_sfx))
				continue; /* swallowed */
			size_t i;
			for (i = 0; i < MAX_PENDING && pend[i].used; i++)
				;
			if (i == MAX_PENDING)
				continue;
			struct pending *p = &pend[i];
			p->msg = malloc((size_t)got);
			if (p->msg == NULL)
				continue;
			memcpy(p->msg, buf, (size_t)got);
			p->len = (size_t)got;
			p->used = true;
			p->sent = false;
			p->client = from;
			p->fd = -1;
			p->drop_empty = listed(name);
			bool slow = delay > 0 && (ndelay_sfx == 0 || under(name, delay_sfx, ndelay_sfx));
			p->due_ms = now_ms() + (slow ? delay : 0);
		}
	}
	if (log != NULL)
		fclose(log);
	return 0;
}
