/*
 * config.c - the spfgated.conf parser (and the IMSVA SPFPolicyd config.ini reader).
 *
 * Format: lines of "key = value" under "[section]" or "[section name]" headers;
 * "#" or ";" starts a comment line; a value may be double-quoted (with \" and \\) to
 * keep leading or trailing blanks.  There are no inline comments: "#" inside a value
 * is part of it (reply texts may need it).  See spfgated.conf(5).
 *
 * Every problem is reported as "path:line:col: message" (col is 1-based, in bytes)
 * and the parser goes on, so one run shows all of them (OpenSMTPD, unbound-checkconf).
 * Unknown sections and keys are errors.  The result is a struct config that nobody
 * changes afterwards; it is shared by reference count (config_ref/config_unref).
 *
 * IMSVA dialect: a file whose first section is [globals] is read as Trend Micro
 * IMSVA's SPFPolicyd config.ini: none= neutral= pass= fail= softfail= temperror=
 * permerror= (block|tempblock|bypass, for both identities) and block_res= /
 * tempblock_res= (reply texts).  Keys of that file we do not implement are reported
 * as warnings, not errors, so an existing file is accepted unchanged.
 *
 * Memory: the config owns every string in it (malloc); config_unref() frees it all.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "decide.h"

const char config_default_text[] =
	"# spfgated embedded default configuration (see spfgated.conf(5)).\n"
	"[daemon]\n"
	"listen = inet:127.0.0.1:10029\n"
	"[check]\n"
	"states = rcpt\n"
	"header = received-spf\n";

const char *action_name(enum action a)
{
	switch (a) {
	case ACTION_BYPASS: return "bypass";
	case ACTION_TEMPBLOCK: return "tempblock";
	case ACTION_BLOCK: return "block";
	}
	return "invalid";
}

/* ---------------------------------------------------------------- errors */

void config_errors_free(struct config_errors *e)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < e->n; i++)
		free(e->msg[i]);
	free(e->msg);
	memset(e, 0, sizeof(*e));
}

struct parser {
	const char *path;
	struct config_errors *errs;
	struct config *cfg;
	unsigned line;
	const char *linestart;
	enum { SEC_NONE, SEC_DAEMON, SEC_DNS, SEC_CHECK, SEC_ACTIONS, SEC_REPLIES,
		SEC_WHITELIST, SEC_ENFORCE, SEC_GLOBALS, SEC_FOREIGN } section;
	struct enforce_group *group; /* SEC_ENFORCE */
	/* The value being handled is a copy (unquoted, NUL-terminated): positions inside
	 * it are mapped back to columns of the line through these. */
	const char *vbuf;
	size_t vbuflen;
	/* vmap[i]: the 0-based column in the line of the value's byte i (escapes make
	 * the copy shorter than its source); vmap[vbuflen] is the column after it. */
	const uint32_t *vmap;
	uint32_t vmapbuf[4096 + 1];
	/* [replies]: a per-result key wins over the general one in any order. */
	unsigned char reply_specific[2][SPF_RESULT_COUNT];
	bool oom;
};

static void report(struct parser *p, bool warning, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void report(struct parser *p, bool warning, const char *at, const char *fmt, ...)
{
	struct config_errors *e = p->errs;
	char msg[512], full[1024];
	va_list ap;

	if (warning)
		e->nwarnings++;
	else
		e->nerrors++;
	if (e->n >= CONFIG_MAX_ERRORS)
		return;
	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	size_t col = 1;
	uintptr_t a = (uintptr_t)at, vb = (uintptr_t)p->vbuf;
	if (at && p->vbuf && a >= vb && a <= vb + p->vbuflen)
		col = (size_t)p->vmap[a - vb] + 1;
	else if (at && p->linestart)
		col = (size_t)(at - p->linestart) + 1;
	if (p->line == 0)
		snprintf(full, sizeof(full), "%s: %s%s", p->path, warning ? "warning: " : "", msg);
	else
		snprintf(full, sizeof(full), "%s:%u:%zu: %s%s", p->path, p->line, col,
		    warning ? "warning: " : "", msg);
	char **nm = realloc(e->msg, (e->n + 1) * sizeof(*nm));
	if (nm == NULL) {
		p->oom = true;
		return;
	}
	e->msg = nm;
	if ((e->msg[e->n] = strdup(full)) == NULL) {
		p->oom = true;
		return;
	}
	e->n++;
}
#define ERR(p, at, ...) report((p), false, (at), __VA_ARGS__)
#define WARN(p, at, ...) report((p), true, (at), __VA_ARGS__)

/* ---------------------------------------------------------------- lifetime */

static void strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

struct config *config_ref(struct config *c)
{
	c->refs++;
	return c;
}

void config_unref(struct config *c)
{
	if (c == NULL || --c->refs > 0)
		return;
	free(c->path);
	for (size_t i = 0; i < c->nlisten; i++) {
		free(c->listen[i].text);
		free(c->listen[i].path);
		free(c->listen[i].host);
	}
	free(c->listen);
	free(c->user);
	strlist_free(&c->forwarders);
	free(c->trust_anchor);
	free(c->zone_file);
	free(c->receiver);
	free(c->authserv_id);
	free(c->explanation);
	for (int a = 0; a < 2; a++)
		for (int r = 0; r < SPF_RESULT_COUNT; r++)
			free(c->reply[a][r]);
	free(c->wl_networks.v);
	strlist_free(&c->wl_forwarders);
	strlist_free(&c->wl_client_names);
	for (size_t i = 0; i < c->ngroups; i++) {
		free(c->groups[i].name);
		strlist_free(&c->groups[i].domains);
		free(c->groups[i].networks.v);
	}
	free(c->groups);
	free(c);
}

static void defaults(struct config *c)
{
	c->refs = 1;
	c->socket_mode = 0666;
	c->log_level = -1;
	c->max_line = 4096;
	c->max_attributes = 100;
	c->max_request = 32768;
	c->max_connections = 1000;
	c->idle_timeout_ms = 600 * 1000;
	c->dns_mode = SPF_RESOLVER_SYSTEM;
	c->time_budget_ms = SPF_DEFAULT_TIME_BUDGET_MS;
	c->max_void_lookups = SPF_MAX_VOID_LOOKUPS;
	c->prefetch = true;
	c->states = STATE_RCPT;
	c->check_helo = true;
	c->header = HEADER_RECEIVED_SPF;
	c->tempblock_mode = TEMPBLOCK_DEFER_IF_PERMIT;
	c->wl_sasl = true;
	/* RFC 7208 §8: fail may be rejected; softfail and temperror SHOULD NOT be. */
	for (int i = 0; i < IDENTITY_COUNT; i++)
		for (int r = 0; r < SPF_RESULT_COUNT; r++)
			c->actions.a[i][r] = r == SPF_RESULT_FAIL ? ACTION_BLOCK : ACTION_BYPASS;
}

/* ---------------------------------------------------------------- value parsers */

static char *xstrndup(struct parser *p, const char *s, size_t n)
{
	char *d = strndup(s, n);
	if (d == NULL)
		p->oom = true;
	return d;
}

static bool parse_bool(struct parser *p, const char *v, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) { *out = true; return true; }
		if (strcasecmp(v, no[i]) == 0) { *out = false; return true; }
	}
	ERR(p, v, "expected yes or no, not \"%s\"", v);
	return false;
}

static bool parse_uint(struct parser *p, const char *v, unsigned long min, unsigned long max,
    int base, unsigned long *out)
{
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)v[0])) {
		ERR(p, v, "expected a number, not \"%s\"", v);
		return false;
	}
	unsigned long n = strtoul(v, &end, base);
	if (*end != '\0') {
		ERR(p, end, "unexpected \"%s\" after the number", end);
		return false;
	}
	if (errno == ERANGE || n < min || n > max) {
		ERR(p, v, "%s is out of range (%lu..%lu)", v, min, max);
		return false;
	}
	*out = n;
	return true;
}

/* "20", "20s", "500ms", "2m": a duration, returned in milliseconds. */
static bool parse_duration(struct parser *p, const char *v, unsigned long min_ms,
    unsigned long max_ms, unsigned *out)
{
	char *end;
	if (!isdigit((unsigned char)v[0])) {
		ERR(p, v, "expected a duration (\"20s\", \"500ms\"), not \"%s\"", v);
		return false;
	}
	errno = 0;
	unsigned long n = strtoul(v, &end, 10), mul;
	if (*end == '\0' || strcmp(end, "s") == 0)
		mul = 1000;
	else if (strcmp(end, "ms") == 0)
		mul = 1;
	else if (strcmp(end, "m") == 0)
		mul = 60000;
	else {
		ERR(p, end, "unknown time unit \"%s\" (use ms, s or m)", end);
		return false;
	}
	if (errno == ERANGE || n > max_ms / mul || n * mul < min_ms) {
		ERR(p, v, "%s is out of range (%lums..%lums)", v, min_ms, max_ms);
		return false;
	}
	*out = (unsigned)(n * mul);
	return true;
}

static bool parse_action(struct parser *p, const char *v, enum action *out)
{
	for (int a = 0; a < ACTION_COUNT; a++) {
		if (strcasecmp(v, action_name((enum action)a)) == 0) {
			*out = (enum action)a;
			return true;
		}
	}
	ERR(p, v, "expected block, tempblock or bypass, not \"%s\"", v);
	return false;
}

int cidr_parse(const char *text, size_t len, struct cidr *out)
{
	const char *slash = memchr(text, '/', len);
	size_t alen = slash ? (size_t)(slash - text) : len;

	if (spf_addr_parse_n(text, alen, &out->net) != SPF_OK)
		return SPF_EINVAL;
	unsigned max = out->net.family == 4 ? 32 : 128;
	/* An IPv4-mapped IPv6 network is stored as IPv4 by the parser: adjust its prefix. */
	bool mapped = out->net.family == 4 && memchr(text, ':', alen) != NULL;
	out->prefix = mapped ? 128 : max;
	if (slash) {
		size_t i = alen + 1;
		unsigned n = 0;
		if (i == len)
			return SPF_EINVAL;
		for (; i < len; i++) {
			if (!isdigit((unsigned char)text[i]) || n > 128)
				return SPF_EINVAL;
			n = n * 10 + (unsigned)(text[i] - '0');
		}
		out->prefix = n;
	}
	if (mapped) {
		if (out->prefix < 96 || out->prefix > 128)
			return SPF_EINVAL;
		out->prefix -= 96;
	}
	if (out->prefix > max)
		return SPF_EINVAL;
	return SPF_OK;
}

bool cidrlist_match(const struct cidrlist *l, const struct spf_addr *addr,
    char *buf, size_t cap)
{
	for (size_t i = 0; i < l->n; i++) {
		if (spf_addr_in_net(addr, &l->v[i].net, l->v[i].prefix)) {
			if (buf && cap) {
				char a[SPF_ADDR_TEXT_MAX];
				spf_addr_format(&l->v[i].net, a, sizeof(a));
				snprintf(buf, cap, "%s/%u", a, l->v[i].prefix);
			}
			return true;
		}
	}
	return false;
}

/* Iterates over the items of a list value: separated by commas and/or blanks. */
static const char *next_item(const char **cur, size_t *len)
{
	const char *s = *cur;
	while (*s == ',' || *s == ' ' || *s == '\t')
		s++;
	if (*s == '\0')
		return NULL;
	const char *e = s;
	while (*e && *e != ',' && *e != ' ' && *e != '\t')
		e++;
	*len = (size_t)(e - s);
	*cur = e;
	return s;
}

static void add_cidrs(struct parser *p, struct cidrlist *l, const char *v)
{
	const char *cur = v, *it;
	size_t len;
	while ((it = next_item(&cur, &len)) != NULL) {
		struct cidr c;
		if (cidr_parse(it, len, &c) != SPF_OK) {
			ERR(p, it, "invalid network \"%.*s\" (expected address or address/prefix)",
			    (int)len, it);
			continue;
		}
		struct cidr *nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
		if (nv == NULL) {
			p->oom = true;
			return;
		}
		l->v = nv;
		l->v[l->n++] = c;
	}
}

/*
 * A domain name as configured: letters, digits, '-', '_', dots between non-empty
 * labels; wildcard "*." allowed in front when allow_wild.  Stored in lower case
 * without a trailing dot.
 */
static bool valid_domain(const char *s, size_t len, bool allow_wild)
{
	if (allow_wild && len > 2 && s[0] == '*' && s[1] == '.') {
		s += 2;
		len -= 2;
	}
	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > SPF_MAX_DOMAIN)
		return false;
	size_t lab = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (lab == 0)
				return false;
			lab = 0;
		} else if (isalnum(c) || c == '-' || c == '_') {
			if (++lab > SPF_MAX_LABEL)
				return false;
		} else
			return false;
	}
	return lab > 0;
}

static void add_domains(struct parser *p, struct strlist *l, const char *v, bool allow_wild,
    const char *what)
{
	const char *cur = v, *it;
	size_t len;
	while ((it = next_item(&cur, &len)) != NULL) {
		if (!valid_domain(it, len, allow_wild)) {
			ERR(p, it, "invalid %s \"%.*s\"", what, (int)len, it);
			continue;
		}
		if (it[len - 1] == '.')
			len--;
		char *d = xstrndup(p, it, len);
		if (d == NULL)
			return;
		for (char *c = d; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		char **nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
		if (nv == NULL) {
			free(d);
			p->oom = true;
			return;
		}
		l->v = nv;
		l->v[l->n++] = d;
	}
}

static void add_strings(struct parser *p, struct strlist *l, const char *v)
{
	const char *cur = v, *it;
	size_t len;
	while ((it = next_item(&cur, &len)) != NULL) {
		char *d = xstrndup(p, it, len);
		char **nv = d ? realloc(l->v, (l->n + 1) * sizeof(*nv)) : NULL;
		if (nv == NULL) {
			free(d);
			p->oom = true;
			return;
		}
		l->v = nv;
		l->v[l->n++] = d;
	}
}

static void set_string(struct parser *p, char **dst, const char *v)
{
	free(*dst);
	*dst = xstrndup(p, v, strlen(v));
}

/* "unix:/path" or "inet:host:port", host a numeric IPv4, "[IPv6]" or "*". */
static void add_listen(struct parser *p, const char *v)
{
	struct listen_spec ls;
	memset(&ls, 0, sizeof(ls));

	if (strncmp(v, "unix:", 5) == 0) {
		if (v[5] == '\0') {
			ERR(p, v + 5, "missing socket path after unix:");
			return;
		}
		if (strlen(v + 5) >= 100) {
			ERR(p, v + 5, "socket path too long (at most 99 bytes)");
			return;
		}
		ls.is_unix = true;
		ls.path = xstrndup(p, v + 5, strlen(v + 5));
	} else if (strncmp(v, "inet:", 5) == 0) {
		const char *h = v + 5, *colon;
		char host[INET6_ADDRSTRLEN + 1];
		size_t hl;
		if (*h == '[') {
			const char *rb = strchr(h, ']');
			if (rb == NULL || rb[1] != ':') {
				ERR(p, h, "expected [IPv6-address]:port");
				return;
			}
			hl = (size_t)(rb - h - 1);
			h++;
			colon = rb + 1;
		} else {
			colon = strrchr(h, ':');
			if (colon == NULL) {
				ERR(p, h, "expected host:port after inet:");
				return;
			}
			hl = (size_t)(colon - h);
		}
		if (hl == 0 || hl >= sizeof(host)) {
			ERR(p, h, "invalid listen address");
			return;
		}
		memcpy(host, h, hl);
		host[hl] = '\0';
		unsigned char tmp[16];
		bool v6 = v[5] == '[';
		if (!(strcmp(host, "*") == 0 && !v6) &&
		    inet_pton(v6 ? AF_INET6 : AF_INET, host, tmp) != 1) {
			ERR(p, h, "\"%s\" is not a numeric %s address", host, v6 ? "IPv6" : "IPv4");
			return;
		}
		unsigned long port;
		if (!parse_uint(p, colon + 1, 0, 65535, 10, &port))
			return;
		ls.port = (unsigned)port;
		ls.host = xstrndup(p, strcmp(host, "*") == 0 ? "0.0.0.0" : host,
		    strlen(strcmp(host, "*") == 0 ? "0.0.0.0" : host));
	} else {
		ERR(p, v, "expected unix:PATH or inet:HOST:PORT, not \"%s\"", v);
		return;
	}
	ls.text = xstrndup(p, v, strlen(v));
	struct listen_spec *nl = realloc(p->cfg->listen, (p->cfg->nlisten + 1) * sizeof(*nl));
	if (nl == NULL || p->oom) {
		free(ls.text);
		free(ls.path);
		free(ls.host);
		if (nl)
			p->cfg->listen = nl;
		p->oom = true;
		return;
	}
	p->cfg->listen = nl;
	p->cfg->listen[p->cfg->nlisten++] = ls;
}

/*
 * Action keys, in [actions] and [enforce NAME]: "RESULT", "any", "helo.RESULT",
 * "mailfrom.RESULT", "helo.any", "mailfrom.any".  Returns false when key is not one.
 */
static bool action_key(struct parser *p, struct action_table *t, const char *key,
    const char *v)
{
	bool ids[IDENTITY_COUNT] = { true, true };
	const char *r = key;
	if (strncasecmp(key, "helo.", 5) == 0) {
		ids[SPF_IDENTITY_MAILFROM] = false;
		r = key + 5;
	} else if (strncasecmp(key, "mailfrom.", 9) == 0) {
		ids[SPF_IDENTITY_HELO] = false;
		r = key + 9;
	}
	enum spf_result res;
	bool any = strcasecmp(r, "any") == 0;
	if (!any && spf_result_parse(r, &res) != SPF_OK)
		return false;
	enum action a;
	if (!parse_action(p, v, &a))
		return true;
	for (int i = 0; i < IDENTITY_COUNT; i++) {
		if (!ids[i])
			continue;
		for (int k = 0; k < SPF_RESULT_COUNT; k++) {
			if (any || k == (int)res) {
				t->a[i][k] = (unsigned char)a;
				t->set[i][k] = 1;
			}
		}
	}
	return true;
}

/* "block", "block.RESULT", "tempblock", "tempblock.RESULT" in [replies]. */
static bool reply_key(struct parser *p, const char *key, const char *v)
{
	int which;
	const char *r;
	if (strncasecmp(key, "block", 5) == 0) {
		which = 0;
		r = key + 5;
	} else if (strncasecmp(key, "tempblock", 9) == 0) {
		which = 1;
		r = key + 9;
	} else
		return false;
	enum spf_result res;
	bool all = *r == '\0';
	if (!all && (*r != '.' || spf_result_parse(r + 1, &res) != SPF_OK))
		return false;
	char err[200];
	long at = decide_template_check(v, which == 0 ? ACTION_BLOCK : ACTION_TEMPBLOCK,
	    err, sizeof(err));
	if (at >= 0) {
		ERR(p, v + at, "%s", err);
		return true;
	}
	for (int k = 0; k < SPF_RESULT_COUNT; k++) {
		/* A specific key wins over the general one, whatever the order in the file. */
		if (all ? p->reply_specific[which][k] : k != (int)res)
			continue;
		if (!all)
			p->reply_specific[which][k] = 1;
		set_string(p, &p->cfg->reply[which][k], v);
	}
	return true;
}

/* ---------------------------------------------------------------- sections */

static void key_daemon(struct parser *p, const char *key, const char *v, const char *kat)
{
	struct config *c = p->cfg;
	unsigned long n;
	if (strcmp(key, "listen") == 0) {
		const char *cur = v, *it;
		size_t len;
		while ((it = next_item(&cur, &len)) != NULL) {
			char one[300];
			if (len >= sizeof(one)) {
				ERR(p, it, "listen address too long");
				continue;
			}
			memcpy(one, it, len);
			one[len] = '\0';
			/* Report at the item's column: parse a copy, map positions in it. */
			const char *sb = p->vbuf;
			size_t sl = p->vbuflen;
			const uint32_t *sm = p->vmap;
			p->vmap = sm + (it - v);
			p->vbuf = one;
			p->vbuflen = len;
			add_listen(p, one);
			p->vbuf = sb;
			p->vbuflen = sl;
			p->vmap = sm;
		}
	} else if (strcmp(key, "user") == 0)
		set_string(p, &c->user, v);
	else if (strcmp(key, "socket_mode") == 0) {
		if (parse_uint(p, v, 0, 0777, 8, &n))
			c->socket_mode = (unsigned)n;
	} else if (strcmp(key, "debug") == 0) {
		if (parse_uint(p, v, 0, 3, 10, &n))
			c->log_level = (int)n;
	} else if (strcmp(key, "log") == 0) {
		if (strcasecmp(v, "syslog") == 0)
			c->log_stderr = false;
		else if (strcasecmp(v, "stderr") == 0)
			c->log_stderr = true;
		else
			ERR(p, v, "expected syslog or stderr, not \"%s\"", v);
	} else if (strcmp(key, "max_line") == 0) {
		if (parse_uint(p, v, 256, 65536, 10, &n))
			c->max_line = n;
	} else if (strcmp(key, "max_attributes") == 0) {
		if (parse_uint(p, v, 16, 10000, 10, &n))
			c->max_attributes = n;
	} else if (strcmp(key, "max_request") == 0) {
		if (parse_uint(p, v, 1024, 1048576, 10, &n))
			c->max_request = n;
	} else if (strcmp(key, "max_connections") == 0) {
		if (parse_uint(p, v, 1, 100000, 10, &n))
			c->max_connections = (unsigned)n;
	} else if (strcmp(key, "idle_timeout") == 0)
		parse_duration(p, v, 1000, 86400000, &c->idle_timeout_ms);
	else
		ERR(p, kat, "unknown key \"%s\" in [daemon]", key);
}

static void key_dns(struct parser *p, const char *key, const char *v, const char *kat)
{
	struct config *c = p->cfg;
	unsigned long n;
	if (strcmp(key, "mode") == 0) {
		if (strcasecmp(v, "system") == 0)
			c->dns_mode = SPF_RESOLVER_SYSTEM;
		else if (strcasecmp(v, "forward") == 0)
			c->dns_mode = SPF_RESOLVER_FORWARD;
		else if (strcasecmp(v, "recurse") == 0)
			c->dns_mode = SPF_RESOLVER_RECURSE;
		else
			ERR(p, v, "expected system, forward or recurse, not \"%s\"", v);
	} else if (strcmp(key, "engine") == 0) {
		if (strcasecmp(v, "auto") == 0)
			c->engine = SPF_ENGINE_AUTO;
		else if (strcasecmp(v, "stub") == 0)
			c->engine = SPF_ENGINE_STUB;
		else if (strcasecmp(v, "libunbound") == 0)
			c->engine = SPF_ENGINE_LIBUNBOUND;
		else
			ERR(p, v, "expected auto, stub or libunbound, not \"%s\"", v);
	} else if (strcmp(key, "forwarder") == 0)
		add_strings(p, &c->forwarders, v);
	else if (strcmp(key, "trust_anchor") == 0)
		set_string(p, &c->trust_anchor, v);
	else if (strcmp(key, "zone") == 0)
		set_string(p, &c->zone_file, v);
	else if (strcmp(key, "offline") == 0)
		parse_bool(p, v, &c->offline);
	else if (strcmp(key, "tcp") == 0)
		parse_bool(p, v, &c->tcp_only);
	else if (strcmp(key, "time_budget") == 0) {
		if (parse_duration(p, v, 100, 300000, &c->time_budget_ms) &&
		    c->time_budget_ms >= 100000)
			WARN(p, v, "time_budget should stay below Postfix's "
			    "smtpd_policy_service_timeout (100s by default)");
	} else if (strcmp(key, "max_void_lookups") == 0) {
		if (parse_uint(p, v, 0, 100, 10, &n))
			c->max_void_lookups = (unsigned)n;
	} else if (strcmp(key, "prefetch") == 0)
		parse_bool(p, v, &c->prefetch);
	else
		ERR(p, kat, "unknown key \"%s\" in [dns]", key);
}

static void key_check(struct parser *p, const char *key, const char *v, const char *kat)
{
	struct config *c = p->cfg;
	if (strcmp(key, "states") == 0) {
		const char *cur = v, *it;
		size_t len;
		unsigned st = 0;
		while ((it = next_item(&cur, &len)) != NULL) {
			if (len == 4 && strncasecmp(it, "mail", 4) == 0)
				st |= STATE_MAIL;
			else if (len == 4 && strncasecmp(it, "rcpt", 4) == 0)
				st |= STATE_RCPT;
			else if (len == 4 && strncasecmp(it, "data", 4) == 0)
				st |= STATE_DATA;
			else
				ERR(p, it, "unknown protocol state \"%.*s\" (use mail, rcpt, data)",
				    (int)len, it);
		}
		if (st == 0)
			ERR(p, v, "states needs at least one of mail, rcpt, data");
		else
			c->states = st;
	} else if (strcmp(key, "helo") == 0)
		parse_bool(p, v, &c->check_helo);
	else if (strcmp(key, "receiver") == 0) {
		if (!valid_domain(v, strlen(v), false))
			ERR(p, v, "receiver must be a host name");
		else
			set_string(p, &c->receiver, v);
	} else if (strcmp(key, "header") == 0) {
		if (strcasecmp(v, "none") == 0)
			c->header = HEADER_NONE;
		else if (strcasecmp(v, "received-spf") == 0)
			c->header = HEADER_RECEIVED_SPF;
		else if (strcasecmp(v, "authentication-results") == 0)
			c->header = HEADER_AUTH_RESULTS;
		else if (strcasecmp(v, "both") == 0)
			c->header = HEADER_BOTH;
		else
			ERR(p, v, "expected received-spf, authentication-results, both or none");
	} else if (strcmp(key, "authserv_id") == 0) {
		/* RFC 7601 §2.2: a value (token or quoted-string); we allow a token. */
		for (const char *s = v; *s; s++) {
			if (*s <= ' ' || *s >= 0x7f || strchr("()<>@,;:\\\"/[]?=", *s)) {
				if (*s == '.' || *s == '-')
					continue;
				ERR(p, s, "authserv_id may not contain '%c'", *s);
				return;
			}
		}
		set_string(p, &c->authserv_id, v);
	} else if (strcmp(key, "explanation") == 0)
		set_string(p, &c->explanation, v);
	else if (strcmp(key, "tempblock") == 0) {
		if (strcasecmp(v, "defer_if_permit") == 0)
			c->tempblock_mode = TEMPBLOCK_DEFER_IF_PERMIT;
		else if (strcasecmp(v, "reply") == 0)
			c->tempblock_mode = TEMPBLOCK_REPLY;
		else
			ERR(p, v, "expected defer_if_permit or reply, not \"%s\"", v);
	} else
		ERR(p, kat, "unknown key \"%s\" in [check]", key);
}

static void key_whitelist(struct parser *p, const char *key, const char *v, const char *kat)
{
	struct config *c = p->cfg;
	if (strcmp(key, "network") == 0)
		add_cidrs(p, &c->wl_networks, v);
	else if (strcmp(key, "sasl") == 0)
		parse_bool(p, v, &c->wl_sasl);
	else if (strcmp(key, "helo_address") == 0)
		parse_bool(p, v, &c->wl_helo_address);
	else if (strcmp(key, "forwarder") == 0)
		add_domains(p, &c->wl_forwarders, v, false, "forwarder domain");
	else if (strcmp(key, "client_name") == 0)
		add_domains(p, &c->wl_client_names, v, false, "client host name");
	else
		ERR(p, kat, "unknown key \"%s\" in [whitelist]", key);
}

static void key_enforce(struct parser *p, const char *key, const char *v, const char *kat)
{
	struct enforce_group *g = p->group;
	if (strcmp(key, "domain") == 0)
		add_domains(p, &g->domains, v, true, "domain");
	else if (strcmp(key, "network") == 0)
		add_cidrs(p, &g->networks, v);
	else if (!action_key(p, &g->actions, key, v))
		ERR(p, kat, "unknown key \"%s\" in [enforce %s]", key, g->name);
}

/* IMSVA config.ini, [globals]. */
static void key_globals(struct parser *p, const char *key, const char *v, const char *kat)
{
	enum spf_result r;
	if (spf_result_parse(key, &r) == SPF_OK) {
		action_key(p, &p->cfg->actions, key, v);
	} else if (strcasecmp(key, "block_res") == 0 || strcasecmp(key, "tempblock_res") == 0) {
		int which = tolower((unsigned char)key[0]) == 'b' ? 0 : 1;
		char err[200];
		if (v[0] == '\0')
			return; /* empty: the default text */
		long at = decide_template_check(v, which == 0 ? ACTION_BLOCK : ACTION_TEMPBLOCK,
		    err, sizeof(err));
		if (at >= 0) {
			ERR(p, v + at, "%s", err);
			return;
		}
		for (int k = 0; k < SPF_RESULT_COUNT; k++)
			set_string(p, &p->cfg->reply[which][k], v);
	} else
		WARN(p, kat, "IMSVA key \"%s\" is not supported by spfgated; ignored", key);
}

static void begin_section(struct parser *p, const char *name, size_t nlen, const char *arg,
    size_t alen, const char *at, bool first)
{
	static const struct { const char *name; int sec; } secs[] = {
		{ "daemon", SEC_DAEMON }, { "dns", SEC_DNS }, { "check", SEC_CHECK },
		{ "actions", SEC_ACTIONS }, { "replies", SEC_REPLIES },
		{ "whitelist", SEC_WHITELIST }, { "enforce", SEC_ENFORCE },
	};
	p->group = NULL;
	if (first && nlen == 7 && strncasecmp(name, "globals", 7) == 0 && alen == 0)
		p->cfg->imsva = true;
	if (p->cfg->imsva) {
		if (nlen == 7 && strncasecmp(name, "globals", 7) == 0)
			p->section = SEC_GLOBALS;
		else {
			WARN(p, at, "IMSVA section [%.*s] is not supported; ignored", (int)nlen, name);
			p->section = SEC_FOREIGN;
		}
		return;
	}
	p->section = SEC_NONE;
	for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
		if (strlen(secs[i].name) == nlen && strncmp(name, secs[i].name, nlen) == 0)
			p->section = secs[i].sec;
	}
	if (p->section == SEC_NONE) {
		ERR(p, at, "unknown section [%.*s]", (int)nlen, name);
		p->section = SEC_FOREIGN; /* its keys are not reported once more */
		return;
	}
	if ((p->section == SEC_ENFORCE) != (alen > 0)) {
		ERR(p, at, p->section == SEC_ENFORCE ? "[enforce] needs a name: [enforce NAME]" :
		    "section [%.*s] takes no name", (int)nlen, name);
		p->section = SEC_FOREIGN;
		return;
	}
	if (p->section == SEC_ENFORCE) {
		struct config *c = p->cfg;
		for (size_t i = 0; i < c->ngroups; i++) {
			if (strlen(c->groups[i].name) == alen &&
			    strncmp(c->groups[i].name, arg, alen) == 0) {
				ERR(p, arg, "enforcement list \"%.*s\" defined twice", (int)alen, arg);
				p->section = SEC_FOREIGN;
				return;
			}
		}
		struct enforce_group *ng = realloc(c->groups, (c->ngroups + 1) * sizeof(*ng));
		if (ng == NULL) {
			p->oom = true;
			return;
		}
		c->groups = ng;
		p->group = &c->groups[c->ngroups++];
		memset(p->group, 0, sizeof(*p->group));
		p->group->name = xstrndup(p, arg, alen);
		/* Remember the group by index: realloc may move the array. */
	}
}

/* ---------------------------------------------------------------- the line loop */

static bool is_keych(int c)
{
	return isalnum(c) || c == '_' || c == '.' || c == '-';
}

/*
 * Reads a value starting at s (leading blanks skipped) into out (cap bytes), either
 * quoted or up to the end of the line with trailing blanks removed.  Returns false
 * (reported) on an error.  map[i] receives the column in the line of out[i], and
 * map[len] the column just after the value.
 */
static bool read_value(struct parser *p, const char *s, const char *eol, char *out,
    size_t cap, uint32_t *map)
{
	while (s < eol && (*s == ' ' || *s == '\t'))
		s++;
	size_t o = 0;
	if (s < eol && *s == '"') {
		const char *q = s + 1;
		for (; q < eol && *q != '"'; q++) {
			char c = *q;
			if (c == '\\') {
				if (q + 1 == eol || (q[1] != '"' && q[1] != '\\')) {
					ERR(p, q, "only \\\" and \\\\ are allowed in a quoted value");
					return false;
				}
				c = *++q;
			}
			if (o + 1 >= cap) {
				ERR(p, s, "value too long");
				return false;
			}
			map[o] = (uint32_t)(q - p->linestart);
			out[o++] = c;
		}
		map[o] = (uint32_t)(q - p->linestart);
		if (q == eol) {
			ERR(p, s, "unterminated quoted value");
			return false;
		}
		for (q++; q < eol; q++) {
			if (*q != ' ' && *q != '\t') {
				ERR(p, q, "unexpected text after the quoted value");
				return false;
			}
		}
	} else {
		const char *e = eol;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if ((size_t)(e - s) >= cap) {
			ERR(p, s, "value too long");
			return false;
		}
		memcpy(out, s, (size_t)(e - s));
		for (size_t i = 0; i <= (size_t)(e - s); i++)
			map[i] = (uint32_t)(s - p->linestart + (ptrdiff_t)i);
		o = (size_t)(e - s);
	}
	out[o] = '\0';
	return true;
}

static void parse_line(struct parser *p, const char *s, const char *eol, bool *first)
{
	const char *b = s;
	while (b < eol && (*b == ' ' || *b == '\t'))
		b++;
	if (b == eol || *b == '#' || *b == ';')
		return;

	if (*b == '[') {
		const char *n = b + 1, *ne, *a = NULL, *ae = NULL;
		while (n < eol && (*n == ' ' || *n == '\t'))
			n++;
		for (ne = n; ne < eol && is_keych((unsigned char)*ne); ne++)
			;
		const char *q = ne;
		while (q < eol && (*q == ' ' || *q == '\t'))
			q++;
		if (q < eol && *q != ']') {
			a = q;
			for (ae = a; ae < eol && (is_keych((unsigned char)*ae) || *ae == '*'); ae++)
				;
			q = ae;
			while (q < eol && (*q == ' ' || *q == '\t'))
				q++;
		}
		if (ne == n || q == eol || *q != ']') {
			ERR(p, q < eol ? q : b, "malformed section header (expected [name] or "
			    "[name label])");
			p->section = SEC_FOREIGN;
			*first = false;
			return;
		}
		for (const char *t = q + 1; t < eol; t++) {
			if (*t != ' ' && *t != '\t') {
				ERR(p, t, "unexpected text after the section header");
				break;
			}
		}
		begin_section(p, n, (size_t)(ne - n), a, a ? (size_t)(ae - a) : 0, n, *first);
		*first = false;
		return;
	}

	/* key = value */
	const char *k = b, *ke = b;
	while (ke < eol && is_keych((unsigned char)*ke))
		ke++;
	if (ke == k) {
		ERR(p, k, "expected a key or a [section]");
		return;
	}
	const char *q = ke;
	while (q < eol && (*q == ' ' || *q == '\t'))
		q++;
	if (q == eol || *q != '=') {
		ERR(p, q < eol ? q : ke, "expected '=' after \"%.*s\"", (int)(ke - k), k);
		return;
	}
	char key[64], value[4096];
	if ((size_t)(ke - k) >= sizeof(key)) {
		ERR(p, k, "key too long");
		return;
	}
	memcpy(key, k, (size_t)(ke - k));
	key[ke - k] = '\0';
	for (char *c = key; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (!read_value(p, q + 1, eol, value, sizeof(value), p->vmapbuf))
		return;
	if (p->section == SEC_FOREIGN)
		return;
	if (p->section == SEC_NONE) {
		ERR(p, k, "key \"%s\" outside of a section", key);
		return;
	}
	if (value[0] == '\0' && p->section != SEC_GLOBALS) {
		ERR(p, q + 1, "missing value for \"%s\"", key);
		return;
	}

	/* Handlers report positions either at the key (kat, in the line) or inside the
	 * value (in the copy, mapped back by report()). */
	p->vbuf = value;
	p->vbuflen = strlen(value);
	p->vmap = p->vmapbuf;
	const char *kat = k;
	switch (p->section) {
	case SEC_DAEMON: key_daemon(p, key, value, kat); break;
	case SEC_DNS: key_dns(p, key, value, kat); break;
	case SEC_CHECK: key_check(p, key, value, kat); break;
	case SEC_ACTIONS:
		if (!action_key(p, &p->cfg->actions, key, value))
			ERR(p, kat, "unknown key \"%s\" in [actions] (expected RESULT, any, "
			    "helo.RESULT or mailfrom.RESULT)", key);
		break;
	case SEC_REPLIES:
		if (!reply_key(p, key, value))
			ERR(p, kat, "unknown key \"%s\" in [replies] (expected block, tempblock, "
			    "block.RESULT or tempblock.RESULT)", key);
		break;
	case SEC_WHITELIST: key_whitelist(p, key, value, kat); break;
	case SEC_ENFORCE:
		if (p->group)
			key_enforce(p, key, value, kat);
		break;
	case SEC_GLOBALS: key_globals(p, key, value, kat); break;
	default: break;
	}
	p->vbuf = NULL;
}

/* After the whole file: cross-key checks and the enforcement tables. */
static void finish(struct parser *p)
{
	struct config *c = p->cfg;
	p->line = 0;
	p->linestart = NULL;
	if (c->dns_mode == SPF_RESOLVER_FORWARD && c->forwarders.n == 0)
		ERR(p, NULL, "[dns] mode = forward needs at least one forwarder");
	if (c->engine == SPF_ENGINE_STUB && c->dns_mode == SPF_RESOLVER_RECURSE)
		ERR(p, NULL, "[dns] engine = stub cannot recurse: it asks the resolvers of "
		    "mode = system or forward (use engine = libunbound or auto)");
	if (c->engine == SPF_ENGINE_STUB && c->trust_anchor != NULL)
		ERR(p, NULL, "[dns] engine = stub does not validate DNSSEC: trust_anchor needs "
		    "engine = libunbound or auto");
	if (c->offline && c->zone_file == NULL)
		WARN(p, NULL, "[dns] offline without a zone: every name is NXDOMAIN");
	for (size_t g = 0; g < c->ngroups; g++) {
		struct enforce_group *eg = &c->groups[g];
		if (eg->domains.n == 0 && eg->networks.n == 0)
			WARN(p, NULL, "[enforce %s] has no domain and no network: it matches "
			    "nothing", eg->name);
		for (int i = 0; i < IDENTITY_COUNT; i++)
			for (int r = 0; r < SPF_RESULT_COUNT; r++)
				if (!eg->actions.set[i][r])
					eg->actions.a[i][r] = c->actions.a[i][r];
	}
}

struct config *config_parse(const char *path, const char *text, size_t len,
    struct config_errors *errs)
{
	struct parser p;
	struct config *c = calloc(1, sizeof(*c));
	size_t before = errs->nerrors;

	if (c == NULL)
		return NULL;
	defaults(c);
	memset(&p, 0, sizeof(p));
	p.path = path;
	p.errs = errs;
	p.cfg = c;
	c->path = strdup(path);
	if (c->path == NULL)
		p.oom = true;

	bool first = true;
	const char *s = text, *end = text + len;
	while (s < end && !p.oom) {
		size_t left = (size_t)(end - s);
		const char *eol = memchr(s, '\n', left);
		/* The line without its LF (or CRLF), as a length so no pointer difference
		 * can be negative. */
		size_t n = eol ? (size_t)(eol - s) : left;
		const char *next = eol ? eol + 1 : end;
		p.line++;
		p.linestart = s;
		if (n > 0 && s[n - 1] == '\r')
			n--;
		const char *nul = n > 0 ? memchr(s, '\0', n) : NULL;
		if (nul)
			ERR(&p, nul, "NUL byte in the configuration");
		else
			parse_line(&p, s, s + n, &first);
		s = next;
	}
	if (!p.oom)
		finish(&p);
	if (p.oom) {
		p.line = 0;
		ERR(&p, NULL, "out of memory");
	}
	if (errs->nerrors > before) {
		config_unref(c);
		return NULL;
	}
	return c;
}

struct config *config_load(const char *path, struct config_errors *errs)
{
	FILE *f = fopen(path, "r");
	struct parser p;
	memset(&p, 0, sizeof(p));
	p.path = path;
	p.errs = errs;
	if (f == NULL) {
		ERR(&p, NULL, "cannot open: %s", strerror(errno));
		return NULL;
	}
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (cap - len < 4096) {
			if (cap > (4u << 20)) {
				ERR(&p, NULL, "file too large");
				free(buf);
				fclose(f);
				return NULL;
			}
			char *nb = realloc(buf, cap + 65536);
			if (nb == NULL) {
				ERR(&p, NULL, "out of memory");
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap += 65536;
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		ERR(&p, NULL, "read error: %s", strerror(errno));
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	struct config *c = config_parse(path, buf ? buf : "", len, errs);
	free(buf);
	return c;
}

struct config *config_default(void)
{
	struct config_errors e = { 0 };
	struct config *c = config_parse("(default)", config_default_text,
	    sizeof(config_default_text) - 1, &e);
	config_errors_free(&e);
	return c;
}

static bool str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

bool config_dns_equal(const struct config *a, const struct config *b)
{
	if (a->dns_mode != b->dns_mode || a->engine != b->engine ||
	    !str_eq(a->trust_anchor, b->trust_anchor) ||
	    !str_eq(a->zone_file, b->zone_file) || a->offline != b->offline ||
	    a->tcp_only != b->tcp_only || a->forwarders.n != b->forwarders.n)
		return false;
	for (size_t i = 0; i < a->forwarders.n; i++)
		if (strcmp(a->forwarders.v[i], b->forwarders.v[i]) != 0)
			return false;
	return true;
}
