/*
 * spfgated.c - the SPF policy service for Postfix: main(), signals, reload.
 *
 * Usage: spfgated [-n] [-f file] [-d level] [-z zonefile] [--stdio]
 *
 *	-f file   configuration (default /etc/spfgate/spfgated.conf; when that does not
 *	          exist and -f is not given, the embedded default configuration)
 *	-n        check the configuration, print every error as path:line:col, or
 *	          "configuration OK"; exit 0 or 1
 *	-d level  log level 0..3 (overrides "debug ="), and log to stderr
 *	-z zone   answer DNS from this zone file only (offline), overriding [dns]; for
 *	          tests and for trying records before they are published
 *	--stdio   spawn mode: one policy connection on stdin/stdout (Postfix spawn(8))
 *
 * Standalone mode (the default) opens the "listen" sockets, drops privileges to
 * "user =" when started as root, and serves every connection from one libevent loop
 * in the foreground (systemd or a test supervises it).  SIGHUP re-reads the file and
 * swaps the new configuration in only when it has no errors; requests in flight keep
 * the one they started with (config.h: reference counts).  [dns] settings and listen
 * addresses need a restart; a reload that changes them says so.  SIGTERM and SIGINT
 * end the loop.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "listen.h"
#include "log.h"
#include "session.h"
#include "spfgate/resolver.h"
#include "spfgate/zone.h"

static struct server srv;
static const char *conf_path;
static bool conf_given;
static int cmdline_level = -1;
static const char *cmdline_zone;

static void usage(void)
{
	fprintf(stderr, "usage: spfgated [-n] [-f file] [-d level] [-z zonefile] [--stdio]\n");
	exit(2);
}

static void print_errors(FILE *f, const struct config_errors *e)
{
	for (size_t i = 0; i < e->n; i++)
		fprintf(f, "%s\n", e->msg[i]);
	if (e->nerrors + e->nwarnings > e->n)
		fprintf(f, "%s: %zu more problems not shown\n", conf_path ? conf_path : "(default)",
		    e->nerrors + e->nwarnings - e->n);
}

/* Reads the configuration: -f, else the default path if it exists, else embedded. */
static struct config *read_config(struct config_errors *e)
{
	struct stat st;
	if (!conf_given && stat(conf_path, &st) == -1 && errno == ENOENT) {
		struct config *c = config_parse("(default)", config_default_text,
		    strlen(config_default_text), e);
		return c;
	}
	return config_load(conf_path, e);
}

static int effective_level(const struct config *c)
{
	if (cmdline_level >= 0)
		return cmdline_level;
	return c->log_level >= 0 ? c->log_level : 1;
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct config_errors e = { 0 };
	struct config *c = read_config(&e);

	for (size_t i = 0; i < e.n; i++)
		log_warnx("reload: %s", e.msg[i]);
	if (c == NULL) {
		log_warnx("reload: %s has %zu error%s; keeping the current configuration",
		    conf_path, e.nerrors, e.nerrors == 1 ? "" : "s");
		config_errors_free(&e);
		return;
	}
	config_errors_free(&e);
	if (!config_dns_equal(c, srv.cfg))
		log_warnx("reload: [dns] settings changed; they take effect at the next restart");
	bool same_listen = c->nlisten == srv.cfg->nlisten;
	for (size_t i = 0; same_listen && i < c->nlisten; i++)
		same_listen = strcmp(c->listen[i].text, srv.cfg->listen[i].text) == 0;
	if (!same_listen && !srv.stdio)
		log_warnx("reload: listen addresses changed; they take effect at the next restart");
	log_setlevel(effective_level(c));
	config_unref(srv.cfg); /* requests in flight hold their own reference */
	srv.cfg = c;
	log_info("reload: configuration %s loaded", c->path);
}

static void on_term(evutil_socket_t sig, short what, void *arg)
{
	log_info("signal %d: exiting", (int)sig);
	event_base_loopbreak(srv.base);
}

static void on_resolver(evutil_socket_t fd, short what, void *arg)
{
	if (spf_resolver_process(srv.resolver) != SPF_OK)
		log_warnx("resolver: processing answers failed");
}

/* After the sockets are open: become "user =" when started as root. */
static int drop_privileges(const char *user)
{
	if (user == NULL || geteuid() != 0)
		return 0;
	struct passwd *pw = getpwnam(user);
	if (pw == NULL) {
		log_warnx("user \"%s\" does not exist", user);
		return -1;
	}
	if (setgroups(1, &pw->pw_gid) == -1 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
		log_warn("cannot drop privileges to %s", user);
		return -1;
	}
	log_debug("running as %s", user);
	return 0;
}

/*
 * Until libevent's handlers are in place, SIGHUP/SIGTERM/SIGINT stay pending rather
 * than taking their default action: in spawn mode an admin's "SIGHUP every spfgated"
 * would otherwise kill processes that are still starting, and Postfix would answer
 * 451 4.3.5.  The mask is set by a constructor, as early as a program can (only the
 * dynamic loader runs before it), and lifted in main() once the handlers exist.
 * Threads started meanwhile (libunbound's) inherit it, so this thread takes the
 * signals.
 */
static void startup_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
}

__attribute__((constructor(101))) static void block_startup_signals(void)
{
	sigset_t set;
	startup_signals(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

int main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "stdio", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	bool check_only = false;
	int ch;

	sigset_t startup_mask;
	startup_signals(&startup_mask);
	struct spf_zone *zone = NULL;
	struct event *ev_res = NULL, *ev_hup = NULL, *ev_term = NULL, *ev_int = NULL;
	int status = 1;

	conf_path = CONFIG_DEFAULT_PATH;
	while ((ch = getopt_long(argc, argv, "d:f:nhVz:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			if (optarg[0] < '0' || optarg[0] > '3' || optarg[1] != '\0')
				usage();
			cmdline_level = optarg[0] - '0';
			break;
		case 'f':
			conf_path = optarg;
			conf_given = true;
			break;
		case 'n':
			check_only = true;
			break;
		case 's':
			srv.stdio = true;
			break;
		case 'z':
			cmdline_zone = optarg;
			break;
		case 'V':
			printf("spfgated %s\n", SPFGATE_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	struct config_errors e = { 0 };
	struct config *cfg = read_config(&e);
	if (check_only) {
		print_errors(cfg ? stdout : stderr, &e);
		config_errors_free(&e);
		if (cfg == NULL)
			return 1;
		printf("configuration OK\n");
		config_unref(cfg);
		return 0;
	}
	if (cfg == NULL) {
		print_errors(stderr, &e);
		config_errors_free(&e);
		return 1;
	}
	/* In spawn mode stderr may be the Postfix connection: only -d or "log = stderr"
	 * (tests) log there; otherwise syslog. */
	log_init("spfgated", cmdline_level >= 0 || cfg->log_stderr, effective_level(cfg));
	for (size_t i = 0; i < e.n; i++)
		log_warnx("%s", e.msg[i]);
	config_errors_free(&e);
	srv.cfg = cfg;
	if (gethostname(srv.hostname, sizeof(srv.hostname) - 1) == -1 || !srv.hostname[0])
		snprintf(srv.hostname, sizeof(srv.hostname), "localhost");

	signal(SIGPIPE, SIG_IGN);
	/* In spawn mode one connection: poll(2) works on any descriptor (a pipe, a file
	 * in tests), epoll does not accept regular files. */
	struct event_config *ecfg = event_config_new();
	if (ecfg && srv.stdio)
		event_config_avoid_method(ecfg, "epoll");
	srv.base = ecfg ? event_base_new_with_config(ecfg) : NULL;
	if (ecfg)
		event_config_free(ecfg);
	if (srv.base == NULL) {
		log_warnx("cannot create the event loop");
		goto out;
	}

	const char *zone_file = cmdline_zone ? cmdline_zone : cfg->zone_file;
	if (zone_file) {
		char err[512];
		if ((zone = spf_zone_new()) == NULL ||
		    spf_zone_load_file(zone, zone_file, NULL, err, sizeof(err)) != SPF_OK) {
			log_warnx("zone %s: %s", zone_file, zone ? err : "out of memory");
			goto out;
		}
	}
	if (!srv.stdio && listen_open(&srv, cfg, cfg->user) == -1)
		goto out;
	if (drop_privileges(cfg->user) == -1)
		goto out;

	/* The resolver after dropping privileges: it runs a thread, and needs none. */
	struct spf_resolver_options ro;
	spf_resolver_options_init(&ro);
	ro.mode = cfg->dns_mode;
	ro.forwarders = (const char *const *)cfg->forwarders.v;
	ro.nforwarders = cfg->forwarders.n;
	ro.trust_anchor_file = cfg->trust_anchor;
	ro.tcp_only = cfg->tcp_only;
	ro.zone = zone;
	ro.offline = cmdline_zone ? true : cfg->offline;
	ro.engine = cfg->engine;
	if (ro.engine == SPF_ENGINE_AUTO)
		ro.engine = srv.stdio && ro.mode != SPF_RESOLVER_RECURSE && ro.trust_anchor_file == NULL ?
		    SPF_ENGINE_STUB : SPF_ENGINE_LIBUNBOUND;
	char err[512];
	if (spf_resolver_new(&srv.resolver, &ro, err, sizeof(err)) != SPF_OK) {
		log_warnx("resolver (%s): %s", ro.engine == SPF_ENGINE_STUB ? "stub" : "libunbound",
		    err);
		goto out;
	}
	log_debug("resolver: %s", spf_resolver_engine(srv.resolver));
	int rfd = spf_resolver_fd(srv.resolver);
	if (rfd >= 0) {
		ev_res = event_new(srv.base, rfd, EV_READ | EV_PERSIST, on_resolver, NULL);
		if (ev_res == NULL || event_add(ev_res, NULL) == -1) {
			log_warnx("cannot watch the resolver");
			goto out;
		}
	}
	/* The HELO-address lookups (evdns: resolv.conf, a socket) are set up at their
	 * first use, so a configuration without that whitelist never pays for them. */
	srv.zone = zone;
	srv.offline = ro.offline;
	ev_hup = evsignal_new(srv.base, SIGHUP, on_hup, NULL);
	ev_term = evsignal_new(srv.base, SIGTERM, on_term, NULL);
	ev_int = evsignal_new(srv.base, SIGINT, on_term, NULL);
	if (!ev_hup || !ev_term || !ev_int || evsignal_add(ev_hup, NULL) == -1 ||
	    evsignal_add(ev_term, NULL) == -1 || evsignal_add(ev_int, NULL) == -1) {
		log_warnx("cannot set up signal handling");
		goto out;
	}
	sigprocmask(SIG_UNBLOCK, &startup_mask, NULL);

	if (srv.stdio) {
		if (session_new(&srv, STDIN_FILENO, STDOUT_FILENO, "stdio") == NULL)
			goto out;
	} else
		log_info("spfgated %s started (%s, log level %d)", SPFGATE_VERSION, cfg->path,
		    log_getlevel());
	event_base_dispatch(srv.base);
	status = 0;
out:
	session_close_all();
	listen_close();
	if (ev_res)
		event_free(ev_res);
	if (ev_hup)
		event_free(ev_hup);
	if (ev_term)
		event_free(ev_term);
	if (ev_int)
		event_free(ev_int);
	dnsaddr_ctx_free(srv.dx);
	if (srv.resolver)
		spf_resolver_free(srv.resolver);
	spf_zone_free(zone);
	if (srv.base)
		event_base_free(srv.base);
	config_unref(srv.cfg);
	return status;
}
