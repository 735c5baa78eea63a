/*
 * listen.c - listening sockets for the standalone daemon (libevent evconnlistener).
 *
 * Entry points: listen_open(), listen_close().
 *
 * Unix sockets: a stale socket file at the path is removed first (only a socket:
 * any other kind of file is an error), the new one gets "socket_mode" and, when we
 * run as root, the owner of "user =" so the daemon can remove it after dropping
 * privileges.  TCP: SO_REUSEADDR, IPV6_V6ONLY for IPv6 addresses, so that
 * "inet:0.0.0.0:N" and "inet:[::]:N" can both be listed.  Port 0 asks the kernel for a
 * free port; the port chosen is logged ("listening on inet:127.0.0.1:PORT"), which
 * the tests read.
 *
 * Connections over max_connections are accepted and closed at once with a warning:
 * Postfix then applies its default action and retries later.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/listener.h>

#include "listen.h"
#include "log.h"

struct listener {
	struct evconnlistener *l;
	char *unix_path;  /* to unlink at exit */
	char name[160];
};

static struct listener *listeners;
static size_t nlisteners;

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct server *srv = arg;
	char peer[64] = "unix";

	if (sa->sa_family == AF_INET) {
		char a[INET_ADDRSTRLEN];
		struct sockaddr_in *sin = (struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		snprintf(peer, sizeof(peer), "%s:%u", a, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		char a[INET6_ADDRSTRLEN];
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		snprintf(peer, sizeof(peer), "[%s]:%u", a, ntohs(sin6->sin6_port));
	} else
		snprintf(peer, sizeof(peer), "unix#%d", (int)fd);
	if (srv->nsessions >= srv->cfg->max_connections) {
		log_warnx("%s: too many connections (max_connections = %u); refused", peer,
		    srv->cfg->max_connections);
		close(fd);
		return;
	}
	session_new(srv, fd, fd, peer);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
	/* EMFILE and friends: log and go on; the listener stays armed. */
	log_warn("accept");
}

static int open_unix(const struct listen_spec *ls, unsigned mode, const char *owner)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(ls->path) >= sizeof(sun.sun_path)) {
		log_warnx("%s: socket path too long", ls->text);
		return -1;
	}
	memcpy(sun.sun_path, ls->path, strlen(ls->path) + 1);
	if (lstat(ls->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_warnx("%s: exists and is not a socket", ls->path);
			return -1;
		}
		unlink(ls->path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("%s: socket", ls->text);
		return -1;
	}
	mode_t old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		log_warn("%s: bind", ls->text);
		close(fd);
		return -1;
	}
	umask(old);
	if (chmod(ls->path, (mode_t)mode) == -1)
		log_warn("%s: chmod", ls->path);
	if (owner && geteuid() == 0) {
		struct passwd *pw = getpwnam(owner);
		if (pw && chown(ls->path, pw->pw_uid, pw->pw_gid) == -1)
			log_warn("%s: chown", ls->path);
	}
	return fd;
}

static int open_inet(const struct listen_spec *ls, char *name, size_t cap)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1;
	bool v6 = strchr(ls->host, ':') != NULL;

	memset(&ss, 0, sizeof(ss));
	if (v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)ls->port);
		inet_pton(AF_INET6, ls->host, &s6->sin6_addr);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)ls->port);
		inet_pton(AF_INET, ls->host, &s4->sin_addr);
		sl = sizeof(*s4);
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("%s: socket", ls->text);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (v6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) == -1) {
		log_warn("%s: bind", ls->text);
		close(fd);
		return -1;
	}
	/* The port actually bound (port 0 = any free one). */
	sl = sizeof(ss);
	unsigned port = ls->port;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		port = ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	snprintf(name, cap, v6 ? "inet:[%s]:%u" : "inet:%s:%u", ls->host, port);
	return fd;
}

int listen_open(struct server *srv, const struct config *c, const char *owner)
{
	if (c->nlisten == 0) {
		log_warnx("no \"listen\" address in %s: nothing to do (use --stdio for spawn "
		    "mode)", c->path);
		return -1;
	}
	listeners = calloc(c->nlisten, sizeof(*listeners));
	if (listeners == NULL) {
		log_warn("listeners");
		return -1;
	}
	for (size_t i = 0; i < c->nlisten; i++) {
		const struct listen_spec *ls = &c->listen[i];
		struct listener *L = &listeners[nlisteners];
		int fd;
		if (ls->is_unix) {
			fd = open_unix(ls, c->socket_mode, owner);
			snprintf(L->name, sizeof(L->name), "unix:%s", ls->path);
		} else
			fd = open_inet(ls, L->name, sizeof(L->name));
		if (fd == -1)
			return -1;
		evutil_make_socket_nonblocking(fd);
		L->l = evconnlistener_new(srv->base, on_accept, srv,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 128, fd);
		if (L->l == NULL) {
			log_warn("%s: listener", ls->text);
			close(fd);
			return -1;
		}
		evconnlistener_set_error_cb(L->l, on_accept_error);
		if (ls->is_unix)
			L->unix_path = strdup(ls->path);
		nlisteners++;
		log_info("listening on %s", L->name);
	}
	return 0;
}

void listen_close(void)
{
	for (size_t i = 0; i < nlisteners; i++) {
		evconnlistener_free(listeners[i].l);
		if (listeners[i].unix_path) {
			unlink(listeners[i].unix_path);
			free(listeners[i].unix_path);
		}
	}
	free(listeners);
	listeners = NULL;
	nlisteners = 0;
}
