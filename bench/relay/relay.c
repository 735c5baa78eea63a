/*
 * relay.c - a user-space DNS relay that delays every packet (the benchmark's
 * stand-in for netem, which this kernel lacks).
 *
 * Usage: relay -l ADDR:PORT -u ADDR:PORT [-d RTT_MS] [-p PIDFILE]
 *
 * Listens on -l for UDP and TCP, forwards to the upstream server -u, and holds
 * each packet (UDP) or chunk (TCP) for RTT/2 in each direction, so a query
 * through the relay takes RTT longer than a direct one. IPv4 only (the
 * benchmark's namespace uses 127.0.0.0/8).
 *
 * UDP: one upstream socket; the DNS ID of each query is rewritten to a slot
 * number that remembers the client's address and original ID, and restored on
 * the answer. TCP: one upstream connection per client connection; EOF is
 * forwarded (shutdown) after the same delay.
 *
 * The delay is constant, so a single FIFO ordered by due time holds everything
 * in flight; the poll(2) timeout is the head's due time. Single-threaded.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONN 512		/* TCP connection pairs */
#define MAX_PKT 65535
#define NSLOT 65536		/* UDP ID slots */

struct item {			/* one delayed packet or chunk */
	struct item *next;
	uint64_t due;		/* monotonic microseconds */
	int kind;		/* 0 UDP up, 1 UDP down, 2 TCP data, 3 TCP shutdown */
	int conn, side;		/* TCP: pair and the side written to (0 client, 1 upstream) */
	unsigned gen;		/* TCP: pair generation, so a reused slot drops stale items */
	struct sockaddr_in to;	/* UDP down: the client */
	size_t len;
	unsigned char data[];
};

struct slot {			/* UDP: query in flight */
	struct sockaddr_in client;
	uint16_t id;
	int used;
};

struct pair {			/* TCP: client fd and upstream fd */
	int fd[2];
	int eof[2];		/* side has sent EOF */
	unsigned gen;
	int live;
};

static struct item *head, *tail;
static struct slot slots[NSLOT];
static struct pair pairs[MAX_CONN];
static uint64_t half_us;
static volatile sig_atomic_t stop;

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void onsig(int s)
{
	(void)s;
	stop = 1;
}

static int parse_addr(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *c = strrchr(s, ':');

	if (c == NULL || (size_t)(c - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(c - s));
	host[c - s] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(c + 1));
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static struct item *item_new(int kind, const void *data, size_t len)
{
	struct item *it = malloc(sizeof(*it) + len);

	if (it == NULL) {
		perror("relay: malloc");
		exit(1);
	}
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	it->len = len;
	if (len)
		memcpy(it->data, data, len);
	it->due = now_us() + half_us;
	return it;
}

static void enqueue(struct item *it)
{
	if (tail)
		tail->next = it;
	else
		head = it;
	tail = it;
}

static void pair_close(int c)
{
	struct pair *p = &pairs[c];

	for (int s = 0; s < 2; s++)
		if (p->fd[s] >= 0)
			close(p->fd[s]);
	p->fd[0] = p->fd[1] = -1;
	p->live = 0;
	p->gen++;
}

static void deliver(struct item *it, int ufd, int lfd)
{
	struct pair *p;

	switch (it->kind) {
	case 0:
		(void)send(ufd, it->data, it->len, 0);
		break;
	case 1:
		(void)sendto(lfd, it->data, it->len, 0, (struct sockaddr *)&it->to, sizeof(it->to));
		break;
	case 2:
	case 3:
		p = &pairs[it->conn];
		if (!p->live || p->gen != it->gen || p->fd[it->side] < 0)
			break;
		if (it->kind == 3) {
			shutdown(p->fd[it->side], SHUT_WR);
			if (p->eof[0] && p->eof[1])
				pair_close(it->conn);
			break;
		}
		for (size_t off = 0; off < it->len;) {
			ssize_t n = send(p->fd[it->side], it->data + off, it->len - off, MSG_NOSIGNAL);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				pair_close(it->conn);
				break;
			}
			off += (size_t)n;
		}
		break;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in laddr, uaddr;
	const char *pidfile = NULL;
	int have_l = 0, have_u = 0, opt, one = 1;
	unsigned next_slot = 0;
	static unsigned char buf[MAX_PKT];

	half_us = 0;
	while ((opt = getopt(argc, argv, "l:u:d:p:")) != -1) {
		switch (opt) {
		case 'l': have_l = parse_addr(optarg, &laddr) == 0; break;
		case 'u': have_u = parse_addr(optarg, &uaddr) == 0; break;
		case 'd': half_us = (uint64_t)(atof(optarg) * 1000.0 / 2.0); break;
		case 'p': pidfile = optarg; break;
		default: goto usage;
		}
	}
	if (!have_l || !have_u) {
usage:
		fprintf(stderr, "usage: relay -l ADDR:PORT -u ADDR:PORT [-d RTT_MS] [-p PIDFILE]\n");
		return 2;
	}
	for (int i = 0; i < MAX_CONN; i++)
		pairs[i].fd[0] = pairs[i].fd[1] = -1;

	int lfd = socket(AF_INET, SOCK_DGRAM, 0);
	int ufd = socket(AF_INET, SOCK_DGRAM, 0);
	int tfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(tfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	int rcv = 4 << 20;
	setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	setsockopt(ufd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (bind(lfd, (struct sockaddr *)&laddr, sizeof(laddr)) < 0 ||
	    bind(tfd, (struct sockaddr *)&laddr, sizeof(laddr)) < 0 || listen(tfd, 128) < 0 ||
	    connect(ufd, (struct sockaddr *)&uaddr, sizeof(uaddr)) < 0) {
		perror("relay: bind/listen/connect");
		return 1;
	}
	if (pidfile) {
		FILE *f = fopen(pidfile, "w");
		if (f) {
			fprintf(f, "%ld\n", (long)getpid());
			fclose(f);
		}
	}
	signal(SIGTERM, onsig);
	signal(SIGINT, onsig);
	signal(SIGPIPE, SIG_IGN);

	struct pollfd pfd[3 + 2 * MAX_CONN];
	int map[3 + 2 * MAX_CONN];
	while (!stop) {
		int n = 0, timeout = -1;
		pfd[n].fd = lfd; pfd[n].events = POLLIN; map[n++] = -1;
		pfd[n].fd = ufd; pfd[n].events = POLLIN; map[n++] = -2;
		pfd[n].fd = tfd; pfd[n].events = POLLIN; map[n++] = -3;
		for (int c = 0; c < MAX_CONN; c++) {
			if (!pairs[c].live)
				continue;
			for (int s = 0; s < 2; s++) {
				if (pairs[c].eof[s])
					continue;
				pfd[n].fd = pairs[c].fd[s];
				pfd[n].events = POLLIN;
				map[n++] = c * 2 + s;
			}
		}
		if (head) {
			uint64_t t = now_us();
			timeout = head->due <= t ? 0 : (int)((head->due - t + 999) / 1000);
		}
		if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (map[i] == -1) {		/* query from a client */
				struct sockaddr_in from;
				socklen_t fl = sizeof(from);
				ssize_t r;
				while ((r = recvfrom(lfd, buf, sizeof(buf), MSG_DONTWAIT,
						     (struct sockaddr *)&from, &fl)) >= 12) {
					unsigned s = next_slot++ & (NSLOT - 1);
					slots[s].client = from;
					slots[s].id = (uint16_t)(buf[0] << 8 | buf[1]);
					slots[s].used = 1;
					buf[0] = (unsigned char)(s >> 8);
					buf[1] = (unsigned char)s;
					enqueue(item_new(0, buf, (size_t)r));
					fl = sizeof(from);
				}
			} else if (map[i] == -2) {	/* answer from upstream */
				ssize_t r;
				while ((r = recv(ufd, buf, sizeof(buf), MSG_DONTWAIT)) >= 12) {
					unsigned s = (unsigned)(buf[0] << 8 | buf[1]);
					if (!slots[s].used)
						continue;
					buf[0] = (unsigned char)(slots[s].id >> 8);
					buf[1] = (unsigned char)slots[s].id;
					struct item *it = item_new(1, buf, (size_t)r);
					it->to = slots[s].client;
					slots[s].used = 0;
					enqueue(it);
				}
			} else if (map[i] == -3) {	/* new TCP client */
				int cfd = accept(tfd, NULL, NULL);
				if (cfd < 0)
					continue;
				int c;
				for (c = 0; c < MAX_CONN && pairs[c].live; c++)
					;
				int up = socket(AF_INET, SOCK_STREAM, 0);
				if (c == MAX_CONN || up < 0 ||
				    connect(up, (struct sockaddr *)&uaddr, sizeof(uaddr)) < 0) {
					close(cfd);
					if (up >= 0)
						close(up);
					continue;
				}
				setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				setsockopt(up, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				pairs[c].fd[0] = cfd;
				pairs[c].fd[1] = up;
				pairs[c].eof[0] = pairs[c].eof[1] = 0;
				pairs[c].live = 1;
			} else {			/* TCP data on one side */
				int c = map[i] / 2, s = map[i] % 2;
				if (!pairs[c].live)
					continue;
				ssize_t r = recv(pairs[c].fd[s], buf, sizeof(buf), MSG_DONTWAIT);
				if (r < 0 && (errno == EAGAIN || errno == EINTR))
					continue;
				struct item *it = item_new(r > 0 ? 2 : 3, buf, r > 0 ? (size_t)r : 0);
				it->conn = c;
				it->side = !s;
				it->gen = pairs[c].gen;
				if (r <= 0)
					pairs[c].eof[s] = 1;
				enqueue(it);
			}
		}
		uint64_t t = now_us();
		while (head && head->due <= t) {
			struct item *it = head;
			head = it->next;
			if (head == NULL)
				tail = NULL;
			deliver(it, ufd, lfd);
			free(it);
		}
	}
	if (pidfile)
		unlink(pidfile);
	return 0;
}
