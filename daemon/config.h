/*
 * config.h - spfgated's configuration: the parsed spfgated.conf (or IMSVA config.ini).
 *
 * A struct config is immutable once parsed and reference-counted: every request in
 * flight holds a reference, so a SIGHUP can swap in a new one while old requests
 * finish on the configuration they started with (config_ref/config_unref).
 *
 * config_parse() reports every problem as "path:line:col: message" into a struct
 * config_errors and keeps going; it returns NULL when there was at least one error.
 * Warnings ("path:line:col: warning: ...") do not make it fail.
 */
#ifndef SPFGATED_CONFIG_H
#define SPFGATED_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "spfgate/spfgate.h"
#include "spfgate/resolver.h"

#define CONFIG_DEFAULT_PATH "/etc/spfgate/spfgated.conf"
#define CONFIG_MAX_ERRORS 100 /* further errors are counted, not stored */

/* What to do with a result.  Ordered by severity: a larger value wins. */
enum action {
	ACTION_BYPASS,    /* accept; header only (DUNNO or PREPEND) */
	ACTION_TEMPBLOCK, /* 4xx: DEFER_IF_PERMIT by default */
	ACTION_BLOCK,     /* 5xx */
};
#define ACTION_COUNT 3
const char *action_name(enum action a);

/* The two identities index tables by enum spf_identity (MAILFROM = 0, HELO = 1). */
#define IDENTITY_COUNT 2

struct action_table {
	unsigned char a[IDENTITY_COUNT][SPF_RESULT_COUNT];
	unsigned char set[IDENTITY_COUNT][SPF_RESULT_COUNT]; /* explicitly configured */
};

struct cidr {
	struct spf_addr net;
	unsigned prefix;
};

struct strlist {
	char **v;
	size_t n;
};

struct cidrlist {
	struct cidr *v;
	size_t n;
};

/* An enforcement list: mail matching it uses its own action table. */
struct enforce_group {
	char *name;
	struct strlist domains;   /* lower case; "example.com" exact, "*.example.com" below */
	struct cidrlist networks; /* client networks */
	struct action_table actions; /* complete: the global table with this group's keys */
};

/* Protocol states the daemon checks in (bit set). */
enum {
	STATE_MAIL = 1 << 0,
	STATE_RCPT = 1 << 1,
	STATE_DATA = 1 << 2,
};

enum header_mode {
	HEADER_NONE,
	HEADER_RECEIVED_SPF,
	HEADER_AUTH_RESULTS,
	HEADER_BOTH,
};

enum tempblock_mode {
	TEMPBLOCK_DEFER_IF_PERMIT, /* "DEFER_IF_PERMIT 4.7.24 text": a later reject wins */
	TEMPBLOCK_REPLY,           /* "451 4.7.24 text": defer at once */
};

struct listen_spec {
	char *text;  /* as written, for logs */
	bool is_unix;
	char *path;  /* unix */
	char *host;  /* inet: numeric address, "*" = 0.0.0.0 */
	unsigned port;
};

struct config {
	int refs;
	char *path;  /* where it came from ("(default)" for the embedded one) */
	bool imsva;  /* read as an IMSVA SPFPolicyd config.ini */

	/* [daemon] */
	struct listen_spec *listen;
	size_t nlisten;
	char *user;
	unsigned socket_mode;
	int log_level;   /* 0..3; -1 = not set (command line or default 1) */
	bool log_stderr;
	size_t max_line;
	size_t max_attributes;
	size_t max_request;
	unsigned max_connections;
	unsigned idle_timeout_ms;

	/* [dns] */
	enum spf_resolver_mode dns_mode;
	enum spf_resolver_engine engine; /* AUTO: stub in spawn mode, else libunbound */
	struct strlist forwarders;
	char *trust_anchor;
	char *zone_file;
	bool offline;
	bool tcp_only;
	unsigned time_budget_ms;
	unsigned max_void_lookups;
	bool prefetch;

	/* [check] */
	unsigned states;
	bool check_helo;
	char *receiver;     /* NULL: the host name */
	enum header_mode header;
	char *authserv_id;  /* NULL: the receiver */
	char *explanation;  /* NULL: the library's default */
	enum tempblock_mode tempblock_mode;

	/* [actions] */
	struct action_table actions;

	/* [replies]: templates for block (0) and tempblock (1), per result */
	char *reply[2][SPF_RESULT_COUNT];

	/* [whitelist] */
	struct cidrlist wl_networks;
	bool wl_sasl;
	bool wl_helo_address;
	struct strlist wl_forwarders;
	struct strlist wl_client_names;

	/* [enforce NAME] */
	struct enforce_group *groups;
	size_t ngroups;
};

struct config_errors {
	char **msg;       /* errors and warnings, in file order */
	size_t n;         /* stored */
	size_t nerrors;   /* errors seen (may exceed what is stored) */
	size_t nwarnings;
};
void config_errors_free(struct config_errors *e);

/*
 * Parses text (len bytes) read from path.  Returns a config with one reference, or
 * NULL when there were errors (all of them are in errs) or memory ran out.  A file
 * whose first section is [globals] is read as an IMSVA SPFPolicyd config.ini.
 */
struct config *config_parse(const char *path, const char *text, size_t len,
    struct config_errors *errs);
/* Reads and parses a file. */
struct config *config_load(const char *path, struct config_errors *errs);
/* The embedded default configuration (used when no file exists). */
struct config *config_default(void);
extern const char config_default_text[];

struct config *config_ref(struct config *c);
void config_unref(struct config *c);

/* Are the [dns] settings of a and b the same? (They need a restart to change.) */
bool config_dns_equal(const struct config *a, const struct config *b);

/* Does addr lie in one of the networks? Writes the matching one's text into buf. */
bool cidrlist_match(const struct cidrlist *l, const struct spf_addr *addr,
    char *buf, size_t cap);
/* Parses "a.b.c.d[/n]" or "v6[/n]"; SPF_OK or SPF_EINVAL. */
int cidr_parse(const char *text, size_t len, struct cidr *out);

#endif
