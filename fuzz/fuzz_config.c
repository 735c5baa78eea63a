/*
 * fuzz_config.c - libFuzzer target for daemon/config.c: spfgated.conf and the IMSVA
 * SPFPolicyd config.ini dialect, with the reply templates it checks (decide.c).
 *
 * The input is the file, raw bytes.  It is parsed three ways:
 *   - config_parse() on an exact-size copy (ASan sees any read past the end);
 *   - config_load() on the same bytes written to a memfd and opened by its
 *     /proc/self/fd path, as spfgated -n and SIGHUP read a file: the messages and
 *     the outcome must be identical to config_parse() with that path;
 *   - when the input does not start with "[globals]", once more behind "[globals]\n",
 *     so the mutator need not find the IMSVA dialect first.
 * Traps when:
 *   - the config is returned although errors were counted, or NULL without one;
 *   - more than CONFIG_MAX_ERRORS messages are stored, or a count is inconsistent;
 *   - a message is not "path:line:col: ..." with line and col inside the file (col
 *     at most one past the end of the line, CR excluded) or "path: ..." (file-level,
 *     after every positioned message), or lines go backwards;
 *   - an accepted config has a value outside its documented range: caps, modes,
 *     listen specs, networks (and a network does not match its own address through
 *     cidrlist_match(), whose text must fit its buffer), domains not in lower case or
 *     not valid, action tables, enforcement lists (named, unique), the IMSVA flag;
 *   - an accepted reply template fails decide_template_check() again, or renders
 *     (for every result, with hostile outcome strings) longer than DECIDE_REPLY_MAX,
 *     with a byte that is not printable ASCII, or without a code of its class, or
 *     past a small exact-size buffer.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "config.h"
#include "decide.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ------------------------------------------------------------ messages */

/* Line lengths as config_parse() splits: at "\n", one trailing "\r" not counted. */
struct lines {
	size_t n;
	size_t *len;
};

static void split_lines(const char *t, size_t n, struct lines *l)
{
	l->n = 0;
	l->len = NULL;
	size_t cap = 0;
	for (size_t s = 0; s < n;) {
		const char *eol = memchr(t + s, '\n', n - s);
		size_t e = eol ? (size_t)(eol - t) : n;
		size_t len = e - s;
		if (len > 0 && t[e - 1] == '\r')
			len--;
		if (l->n == cap) {
			cap = cap ? 2 * cap : 64;
			size_t *nv = realloc(l->len, cap * sizeof(*nv));
			FUZZ_CHECK(nv != NULL);
			l->len = nv;
		}
		l->len[l->n++] = len;
		s = eol ? e + 1 : n;
	}
}

static size_t parse_num(const char **p)
{
	FUZZ_CHECK(isdigit((unsigned char)**p));
	size_t v = 0;
	while (isdigit((unsigned char)**p)) {
		FUZZ_CHECK(v < SIZE_MAX / 16);
		v = v * 10 + (size_t)(**p - '0');
		(*p)++;
	}
	return v;
}

static void check_errors(const char *path, const struct config_errors *e,
    const struct lines *l, bool ok)
{
	FUZZ_CHECK(ok == (e->nerrors == 0));
	FUZZ_CHECK(e->n <= CONFIG_MAX_ERRORS);
	FUZZ_CHECK(e->n <= e->nerrors + e->nwarnings);
	if (e->nerrors + e->nwarnings <= CONFIG_MAX_ERRORS)
		FUZZ_CHECK(e->n == e->nerrors + e->nwarnings);
	size_t plen = strlen(path), last = 1, warnings = 0;
	bool file_level_seen = false;
	for (size_t i = 0; i < e->n; i++) {
		const char *m = e->msg[i];
		FUZZ_CHECK(m != NULL && strlen(m) < 1024);
		FUZZ_CHECK(strncmp(m, path, plen) == 0);
		const char *p = m + plen;
		FUZZ_CHECK(*p == ':');
		p++;
		if (*p == ' ') {
			file_level_seen = true; /* "path: message": after the whole file */
		} else {
			FUZZ_CHECK(!file_level_seen);
			size_t line = parse_num(&p);
			FUZZ_CHECK(*p++ == ':');
			size_t col = parse_num(&p);
			FUZZ_CHECK(*p == ':');
			p++;
			FUZZ_CHECK(line >= 1 && line <= l->n && line >= last);
			FUZZ_CHECK(col >= 1 && col <= l->len[line - 1] + 1);
			last = line;
		}
		FUZZ_CHECK(*p++ == ' ');
		FUZZ_CHECK(*p != '\0'); /* a message, not just a position */
		if (strncmp(p, "warning: ", 9) == 0)
			warnings++;
	}
	if (e->n == e->nerrors + e->nwarnings)
		FUZZ_CHECK(warnings == e->nwarnings);
}

/* ------------------------------------------------------------ accepted configs */

/*
 * A domain of a list: lower case, no final dot, "*." in front when allow_wild.
 * as_written (receiver =): stored as written, so any case and a final dot.
 */
static void check_domain(const char *d, bool allow_wild, bool as_written)
{
	FUZZ_CHECK(d != NULL);
	if (allow_wild && d[0] == '*' && d[1] == '.')
		d += 2;
	size_t n = strlen(d), lab = 0;
	if (as_written && n > 0 && d[n - 1] == '.')
		n--;
	FUZZ_CHECK(n > 0 && n <= SPF_MAX_DOMAIN && d[n - 1] != '.');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];
		if (c == '.') {
			FUZZ_CHECK(lab > 0);
			lab = 0;
			continue;
		}
		FUZZ_CHECK(islower(c) || isdigit(c) || c == '-' || c == '_' ||
		    (as_written && isupper(c)));
		FUZZ_CHECK(++lab <= SPF_MAX_LABEL);
	}
	FUZZ_CHECK(lab > 0);
}

static void check_cidrs(const struct cidrlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct cidr *c = &l->v[i];
		FUZZ_CHECK(c->net.family == 4 || c->net.family == 6);
		FUZZ_CHECK(c->prefix <= (c->net.family == 4 ? 32u : 128u));
		/* Its own address is in it; the text goes into a tight exact-size buffer. */
		char *buf = malloc(12);
		FUZZ_CHECK(buf != NULL);
		FUZZ_CHECK(cidrlist_match(l, &c->net, buf, 12));
		FUZZ_CHECK(strlen(buf) < 12);
		free(buf);
	}
}

static void check_actions(const struct action_table *t)
{
	for (int i = 0; i < IDENTITY_COUNT; i++)
		for (int r = 0; r < SPF_RESULT_COUNT; r++)
			FUZZ_CHECK(t->a[i][r] < ACTION_COUNT && t->set[i][r] <= 1);
}

static void check_render(const char *tmpl, enum action a)
{
	char err[200];
	FUZZ_CHECK(decide_template_check(tmpl, a, err, sizeof(err)) == -1);

	/* Outcome strings as a hostile record could make them. */
	char longs[700];
	for (size_t i = 0; i < sizeof(longs) - 1; i++)
		longs[i] = "a\r\n%}{\x7f\xc3\xa9 \t\"x"[i % 13];
	longs[sizeof(longs) - 1] = '\0';
	struct spf_outcome o;
	memset(&o, 0, sizeof(o));
	o.identity = SPF_IDENTITY_MAILFROM;
	o.checked_domain = "example.com";
	o.domain = longs;
	o.mechanism = longs;
	o.explanation = longs;
	o.problem = longs + 1;
	spf_addr_parse("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", &o.client);

	char cls = a == ACTION_BLOCK ? '5' : '4';
	for (int r = 0; r < SPF_RESULT_COUNT; r++) {
		o.result = (enum spf_result)r;
		char *out = malloc(DECIDE_REPLY_MAX + 1);
		FUZZ_CHECK(out != NULL);
		size_t n = decide_render(tmpl, a, &o, out, DECIDE_REPLY_MAX + 1);
		FUZZ_CHECK(n <= DECIDE_REPLY_MAX && strlen(out) == n);
		for (size_t i = 0; i < n; i++)
			FUZZ_CHECK(out[i] >= 0x20 && out[i] <= 0x7e);
		FUZZ_CHECK(n >= 4 && out[0] == cls && isdigit((unsigned char)out[1]) &&
		    isdigit((unsigned char)out[2]) && out[3] == ' ');
		free(out);
		/* A small exact-size buffer: truncated, never overrun. */
		char *small = malloc(9);
		FUZZ_CHECK(small != NULL);
		n = decide_render(tmpl, a, &o, small, 9);
		FUZZ_CHECK(n < 9 && strlen(small) == n);
		free(small);
	}
}

static void check_config(const struct config *c, const char *path, int imsva)
{
	FUZZ_CHECK(c->refs == 1 && c->path != NULL && strcmp(c->path, path) == 0);
	if (imsva >= 0)
		FUZZ_CHECK(c->imsva == (imsva == 1));

	for (size_t i = 0; i < c->nlisten; i++) {
		const struct listen_spec *ls = &c->listen[i];
		FUZZ_CHECK(ls->text != NULL);
		if (ls->is_unix) {
			FUZZ_CHECK(ls->path != NULL && ls->path[0] != '\0' && strlen(ls->path) < 100);
		} else {
			unsigned char tmp[16];
			FUZZ_CHECK(ls->host != NULL && ls->port <= 65535);
			FUZZ_CHECK(inet_pton(AF_INET, ls->host, tmp) == 1 ||
			    inet_pton(AF_INET6, ls->host, tmp) == 1);
		}
	}
	FUZZ_CHECK(c->socket_mode <= 0777);
	FUZZ_CHECK(c->log_level >= -1 && c->log_level <= 3);
	FUZZ_CHECK(c->max_line >= 256 && c->max_line <= 65536);
	FUZZ_CHECK(c->max_attributes >= 16 && c->max_attributes <= 10000);
	FUZZ_CHECK(c->max_request >= 1024 && c->max_request <= 1048576);
	FUZZ_CHECK(c->max_connections >= 1 && c->max_connections <= 100000);
	FUZZ_CHECK(c->idle_timeout_ms >= 1000 && c->idle_timeout_ms <= 86400000);

	FUZZ_CHECK(c->dns_mode == SPF_RESOLVER_SYSTEM || c->dns_mode == SPF_RESOLVER_FORWARD ||
	    c->dns_mode == SPF_RESOLVER_RECURSE);
	if (c->dns_mode == SPF_RESOLVER_FORWARD)
		FUZZ_CHECK(c->forwarders.n > 0);
	for (size_t i = 0; i < c->forwarders.n; i++)
		FUZZ_CHECK(c->forwarders.v[i] != NULL && c->forwarders.v[i][0] != '\0' &&
		    strpbrk(c->forwarders.v[i], ", \t") == NULL);
	FUZZ_CHECK(c->time_budget_ms >= 100 && c->time_budget_ms <= 300000);
	FUZZ_CHECK(c->max_void_lookups <= 100);
	FUZZ_CHECK(config_dns_equal(c, c));

	FUZZ_CHECK(c->states != 0 && (c->states & ~7u) == 0);
	FUZZ_CHECK(c->header <= HEADER_BOTH);
	FUZZ_CHECK(c->tempblock_mode == TEMPBLOCK_DEFER_IF_PERMIT ||
	    c->tempblock_mode == TEMPBLOCK_REPLY);
	if (c->receiver)
		check_domain(c->receiver, false, true);
	if (c->authserv_id) {
		FUZZ_CHECK(c->authserv_id[0] != '\0');
		for (const char *s = c->authserv_id; *s; s++)
			FUZZ_CHECK(*s > ' ' && *s < 0x7f && !strchr("()<>@,;:\\\"/[]?=", *s));
	}
	check_actions(&c->actions);
	for (int w = 0; w < 2; w++)
		for (int r = 0; r < SPF_RESULT_COUNT; r++)
			if (c->reply[w][r])
				check_render(c->reply[w][r], w == 0 ? ACTION_BLOCK : ACTION_TEMPBLOCK);
	if (c->imsva) {
		/* block_res= / tempblock_res= set every result at once. */
		for (int w = 0; w < 2; w++)
			for (int r = 1; r < SPF_RESULT_COUNT; r++)
				FUZZ_CHECK((c->reply[w][r] == NULL) == (c->reply[w][0] == NULL) &&
				    (!c->reply[w][r] || strcmp(c->reply[w][r], c->reply[w][0]) == 0));
		FUZZ_CHECK(c->nlisten == 0 && c->ngroups == 0);
	}

	check_cidrs(&c->wl_networks);
	for (size_t i = 0; i < c->wl_forwarders.n; i++)
		check_domain(c->wl_forwarders.v[i], false, false);
	for (size_t i = 0; i < c->wl_client_names.n; i++)
		check_domain(c->wl_client_names.v[i], false, false);

	for (size_t g = 0; g < c->ngroups; g++) {
		const struct enforce_group *eg = &c->groups[g];
		FUZZ_CHECK(eg->name != NULL && eg->name[0] != '\0');
		for (size_t h = 0; h < g; h++)
			FUZZ_CHECK(strcmp(c->groups[h].name, eg->name) != 0);
		for (size_t i = 0; i < eg->domains.n; i++)
			check_domain(eg->domains.v[i], true, false);
		check_cidrs(&eg->networks);
		check_actions(&eg->actions);
		for (int i = 0; i < IDENTITY_COUNT; i++)
			for (int r = 0; r < SPF_RESULT_COUNT; r++)
				if (!eg->actions.set[i][r])
					FUZZ_CHECK(eg->actions.a[i][r] == c->actions.a[i][r]);
	}
}

/* ------------------------------------------------------------ one parse */

/* imsva: 1 must be IMSVA, 0 must not, -1 unknown. */
static void parse_one(const char *text, size_t n, int imsva, bool via_file)
{
	static const char path[] = "fuzz.conf";
	struct config_errors e;
	memset(&e, 0, sizeof(e));
	struct lines l;
	split_lines(text, n, &l);

	struct config *c = config_parse(path, text, n, &e);
	check_errors(path, &e, &l, c != NULL);
	if (c != NULL) {
		check_config(c, path, imsva);
		FUZZ_CHECK(config_ref(c) == c && c->refs == 2);
		config_unref(c);
		FUZZ_CHECK(c->refs == 1);
		config_unref(c);
	}
	config_errors_free(&e);

	if (via_file) {
		/* The same bytes through config_load(), as spfgated reads its file. */
		static int fd = -1;
		static char fpath[64];
		if (fd < 0) {
			fd = memfd_create("fuzz.conf", 0);
			FUZZ_CHECK(fd >= 0);
			snprintf(fpath, sizeof(fpath), "/proc/self/fd/%d", fd);
		}
		FUZZ_CHECK(ftruncate(fd, 0) == 0);
		FUZZ_CHECK(n == 0 || pwrite(fd, text, n, 0) == (ssize_t)n);

		struct config_errors e1, e2;
		memset(&e1, 0, sizeof(e1));
		memset(&e2, 0, sizeof(e2));
		struct config *c1 = config_load(fpath, &e1);
		struct config *c2 = config_parse(fpath, text, n, &e2);
		FUZZ_CHECK((c1 == NULL) == (c2 == NULL));
		FUZZ_CHECK(e1.n == e2.n && e1.nerrors == e2.nerrors && e1.nwarnings == e2.nwarnings);
		for (size_t i = 0; i < e1.n; i++)
			FUZZ_CHECK(strcmp(e1.msg[i], e2.msg[i]) == 0);
		check_errors(fpath, &e1, &l, c1 != NULL);
		config_unref(c1);
		config_unref(c2);
		config_errors_free(&e1);
		config_errors_free(&e2);
	}
	free(l.len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool once;
	if (!once) {
		struct config *d = config_default();
		FUZZ_CHECK(d != NULL);
		check_config(d, "(default)", 0);
		config_unref(d);
		once = true;
	}

	const char *text = (const char *)data;
	parse_one(text, size, -1, true);

	static const char prefix[] = "[globals]\n";
	const size_t plen = sizeof(prefix) - 1;
	if (size >= plen - 1 && memcmp(data, prefix, plen - 1) == 0)
		return 0;
	if (size > SIZE_MAX - plen)
		return 0;
	char *copy = malloc(size + plen); /* exact size */
	FUZZ_CHECK(copy != NULL);
	memcpy(copy, prefix, plen);
	if (size > 0)
		memcpy(copy + plen, data, size);
	parse_one(copy, size + plen, 1, false);
	free(copy);
	return 0;
}
