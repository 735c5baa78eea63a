/*
 * libspf2-policyd.c - a minimal Postfix policy server around libspf2, the
 * benchmark's libspf2 contender (libspf2's own spfd speaks another protocol).
 *
 * Usage: libspf2-policyd [-H] [-w WORKERS] [-s unix:PATH | -s tcp:ADDR:PORT]
 *
 * Without -s it serves one session on stdin/stdout (Postfix spawn(8) style).
 * With -s it listens; one thread holds every connection in epoll and reads the
 * requests, and a pool of WORKERS threads (default 64) evaluates them, since a
 * libspf2 evaluation blocks on DNS. All share one SPF_server_t with libspf2's
 * caching DNS layer (SPF_DNS_CACHE over the system resolver, as libspf2's own
 * tools use it). An idle connection costs a small buffer, no thread.
 *
 * Per request: with -H a HELO check first (identity postmaster@HELO), then the
 * MAIL FROM check (SPF_request_query_mailfrom); the reply is header only, as
 * the other contenders are configured: "PREPEND Received-SPF: ..." from the
 * MAIL FROM result (the HELO result for a null sender; when libspf2 renders
 * no header, as for a record that does not compile, one in the same shape with
 * SPF_strresult()), once per message ("instance"); later recipients of the same
 * message get DUNNO. Nothing is rejected: the benchmark compares results, not
 * policies.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <spf2/spf.h>

#define CONN_BUF 4096		/* a Postfix request is under 1 KB; larger ones are dropped */

static SPF_server_t *spf_server;
static int do_helo;

struct conn {
	int fd;
	size_t len;			/* bytes in buf */
	char last_instance[128];	/* the message whose header went out */
	char buf[CONN_BUF];
	struct conn *next;		/* work queue */
};

/* Replies' text must be one line. */
static void oneline(char *s)
{
	for (; *s; s++)
		if (*s == '\r' || *s == '\n' || *s == '\t')
			*s = ' ';
}

/* Runs one check; returns the response (caller frees) or NULL. */
static SPF_response_t *check(const char *ip, const char *helo, const char *from)
{
	SPF_request_t *req = SPF_request_new(spf_server);
	SPF_response_t *resp = NULL;
	SPF_errcode_t err;

	if (req == NULL)
		return NULL;
	err = strchr(ip, ':') ? SPF_request_set_ipv6_str(req, ip) : SPF_request_set_ipv4_str(req, ip);
	if (err == SPF_E_SUCCESS && helo[0] != '\0')
		err = SPF_request_set_helo_dom(req, helo);
	if (err == SPF_E_SUCCESS && SPF_request_set_env_from(req, from) != 0)
		err = SPF_E_INVALID_OPT;
	if (err == SPF_E_SUCCESS)
		SPF_request_query_mailfrom(req, &resp);
	SPF_request_free(req);
	return resp;
}

/* Evaluates one request (NUL-terminated attribute lines) into out. */
static void answer(char *req, char *last_instance, size_t last_size, char *out, size_t cap)
{
	const char *ip = "", *helo = "", *sender = "", *instance = "";
	char hbuf[1100];
	SPF_response_t *hr = NULL, *mr = NULL, *use;

	for (char *line = req, *nl; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		char *eq = strchr(line, '=');
		if (eq == NULL)
			continue;
		*eq++ = '\0';
		if (strcmp(line, "client_address") == 0)
			ip = eq;
		else if (strcmp(line, "helo_name") == 0)
			helo = eq;
		else if (strcmp(line, "sender") == 0)
			sender = eq;
		else if (strcmp(line, "instance") == 0)
			instance = eq;
	}
	if ((instance[0] != '\0' && strcmp(instance, last_instance) == 0) || ip[0] == '\0') {
		snprintf(out, cap, "action=DUNNO\n\n");
		return;
	}
	snprintf(last_instance, last_size, "%s", instance);
	snprintf(hbuf, sizeof(hbuf), "postmaster@%s", helo[0] ? helo : "unknown");
	if (do_helo || sender[0] == '\0')
		hr = check(ip, helo, hbuf);
	if (sender[0] != '\0')
		mr = check(ip, helo, sender);
	use = mr ? mr : hr;
	const char *hdr = use ? SPF_response_get_received_spf(use) : NULL;
	if (hdr != NULL)
		snprintf(out, cap - 2, "action=PREPEND %s", hdr);
	else if (use != NULL)
		snprintf(out, cap - 2, "action=PREPEND Received-SPF: %s (libspf2: %s) "
			 "client-ip=%s; envelope-from=%s; helo=%s;",
			 SPF_strresult(SPF_response_result(use)),
			 SPF_strerror(SPF_response_errcode(use)), ip, sender[0] ? sender : hbuf, helo);
	else
		snprintf(out, cap - 2, "action=DUNNO");
	oneline(out);
	strcat(out, "\n\n");
	if (hr)
		SPF_response_free(hr);
	if (mr)
		SPF_response_free(mr);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += (size_t)w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Answers every complete request in c->buf (ends with an empty line), keeps
 * the incomplete rest. Returns -1 when the peer is gone.
 */
static int drain(struct conn *c, int outfd)
{
	char reply[2048];
	size_t off = 0;

	for (;;) {
		char *end = NULL;
		for (size_t i = off; i + 1 < c->len; i++)
			if (c->buf[i] == '\n' && c->buf[i + 1] == '\n') {
				end = c->buf + i;
				break;
			}
		if (end == NULL)
			break;
		end[1] = '\0';
		answer(c->buf + off, c->last_instance, sizeof(c->last_instance), reply, sizeof(reply));
		off = (size_t)(end - c->buf) + 2;
		if (write_all(outfd, reply, strlen(reply)) < 0)
			return -1;
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
	if (c->len >= CONN_BUF - 1)
		c->len = 0;	/* a request over CONN_BUF: drop it */
	return 0;
}

static int has_request(const struct conn *c)
{
	for (size_t i = 0; i + 1 < c->len; i++)
		if (c->buf[i] == '\n' && c->buf[i + 1] == '\n')
			return 1;
	return 0;
}

/* ---------------------------------------------------------------- server */

static int epfd;
static struct conn *qhead, *qtail;
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qcond = PTHREAD_COND_INITIALIZER;

static void conn_close(struct conn *c)
{
	close(c->fd);
	free(c);
}

static void rearm(struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.ptr = c };
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		conn_close(c);
}

static void *worker(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&qlock);
		while (qhead == NULL)
			pthread_cond_wait(&qcond, &qlock);
		struct conn *c = qhead;
		qhead = c->next;
		if (qhead == NULL)
			qtail = NULL;
		pthread_mutex_unlock(&qlock);
		if (drain(c, c->fd) < 0)
			conn_close(c);
		else
			rearm(c);
	}
	return NULL;
}

static int listen_on(const char *spec)
{
	int fd = -1, one = 1;

	if (strncmp(spec, "unix:", 5) == 0) {
		struct sockaddr_un sun;
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", spec + 5);
		unlink(sun.sun_path);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
			return -1;
	} else if (strncmp(spec, "tcp:", 4) == 0) {
		char host[256];
		const char *port = strrchr(spec + 4, ':');
		struct addrinfo hints, *ai;
		if (port == NULL || (size_t)(port - spec - 4) >= sizeof(host))
			return -1;
		memcpy(host, spec + 4, (size_t)(port - spec - 4));
		host[port - spec - 4] = '\0';
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
		if (getaddrinfo(host, port + 1, &hints, &ai) != 0)
			return -1;
		fd = socket(ai->ai_family, SOCK_STREAM, 0);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
			return -1;
		freeaddrinfo(ai);
	} else {
		return -1;
	}
	return listen(fd, 4096) < 0 ? -1 : fd;
}

static int serve(const char *sock, int nworkers)
{
	int lfd = listen_on(sock);
	if (lfd < 0 || (epfd = epoll_create1(0)) < 0) {
		fprintf(stderr, "libspf2-policyd: cannot listen on %s: %s\n", sock, strerror(errno));
		return 1;
	}
	for (int i = 0; i < nworkers; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, worker, NULL) != 0) {
			fprintf(stderr, "libspf2-policyd: pthread_create failed\n");
			return 1;
		}
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
	struct epoll_event evs[256];
	for (;;) {
		int n = epoll_wait(epfd, evs, 256, -1);
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (c == NULL) {	/* new connection */
				int fd = accept(lfd, NULL, NULL);
				if (fd < 0)
					continue;
				/* malloc, not calloc: an idle connection touches only
				 * the header of its buffer */
				c = malloc(sizeof(*c));
				if (c == NULL) {
					close(fd);
					continue;
				}
				c->fd = fd;
				c->len = 0;
				c->last_instance[0] = '\0';
				struct epoll_event cev = { .events = EPOLLIN | EPOLLONESHOT, .data.ptr = c };
				if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &cev) < 0)
					conn_close(c);
				continue;
			}
			ssize_t r = read(c->fd, c->buf + c->len, CONN_BUF - 1 - c->len);
			if (r <= 0) {
				if (r < 0 && (errno == EINTR || errno == EAGAIN)) {
					rearm(c);
					continue;
				}
				conn_close(c);
				continue;
			}
			c->len += (size_t)r;
			if (!has_request(c)) {
				rearm(c);
				continue;
			}
			pthread_mutex_lock(&qlock);
			c->next = NULL;
			if (qtail)
				qtail->next = c;
			else
				qhead = c;
			qtail = c;
			pthread_cond_signal(&qcond);
			pthread_mutex_unlock(&qlock);
		}
	}
	return 1;
}

int main(int argc, char **argv)
{
	const char *sock = NULL;
	int opt, nworkers = 64;

	while ((opt = getopt(argc, argv, "Hs:w:")) != -1) {
		switch (opt) {
		case 'H': do_helo = 1; break;
		case 's': sock = optarg; break;
		case 'w': nworkers = atoi(optarg) > 0 ? atoi(optarg) : 1; break;
		default:
			fprintf(stderr, "usage: libspf2-policyd [-H] [-w WORKERS] "
				"[-s unix:PATH|tcp:ADDR:PORT]\n");
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	spf_server = SPF_server_new(SPF_DNS_CACHE, 0);
	if (spf_server == NULL) {
		fprintf(stderr, "libspf2-policyd: SPF_server_new failed\n");
		return 1;
	}
	if (sock != NULL)
		return serve(sock, nworkers);

	/* spawn mode: one session on stdin/stdout */
	struct conn *c = calloc(1, sizeof(*c));
	ssize_t r;
	if (c == NULL)
		return 1;
	while ((r = read(0, c->buf + c->len, CONN_BUF - 1 - c->len)) > 0) {
		c->len += (size_t)r;
		if (drain(c, 1) < 0)
			break;
	}
	free(c);
	SPF_server_free(spf_server);
	return 0;
}
