/*
 * check.c - `spfgate check`: one SPF evaluation from the command line.
 *
 * Entry point: check_main().  The steps are plain: parse the options (getopt_long),
 * validate the client address and the identity, load the zone files, pick a driver
 * (run_eval(): the in-memory zone alone with --offline or without libunbound, else
 * libunbound with the zones laid over live DNS), then print the outcome as text or
 * JSON.  All memory belongs to this function's locals and is freed before it returns.
 * With --trust-anchor, libunbound validates DNSSEC and the output says whether every
 * answer the evaluation used was secure ("dnssec:", "dnssec_secure"); without it
 * neither appears, so the output of existing invocations is unchanged.
 *
 * Input checks happen before any evaluation, so that a typo is reported as such (one
 * line on stderr, exit status 2) instead of surfacing as an SPF result: an invalid IP
 * address, a sender without a domain, a domain that is not a domain name (empty or
 * over-long labels, spaces, control or 8-bit bytes), a missing or malformed zone file.
 * Whatever the SPF result, a completed evaluation exits 0, or with --exit-code the
 * status of its result (cli.h, spfgate(1)).
 *
 * SENDER is "user@domain", a bare "domain" (postmaster@domain, as RFC 7208 §2.4 does
 * for HELO), or "" (the null sender: postmaster@HELO, which needs --helo).  With
 * --identity helo the HELO name is checked and SENDER may be left out.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "spfgate/spfgate.h"
#include "spfgate/zone.h"
#include "spfgate/resolver.h"

#include "cli.h"

/* The most --zone and --resolver options taken (more would be a mistake anyway). */
#define MAX_ZONES 64
#define MAX_FORWARDERS 16
/* A sender or HELO name longer than this is refused (RFC 5321 §4.5.3.1.3 allows a
 * 256-octet path; the library takes up to 1024). */
#define MAX_SENDER 1024
/* Timeouts accepted by --timeout, in milliseconds. */
#define MAX_TIMEOUT_MS (3600u * 1000u)

struct check_args {
	const char *client_text;
	const char *sender;       /* NULL with --identity helo and no SENDER */
	const char *helo;         /* NULL without --helo */
	enum spf_identity identity;
	const char *zones[MAX_ZONES];
	size_t nzones;
	const char *forwarders[MAX_FORWARDERS];
	size_t nforwarders;
	const char *trust_anchor; /* NULL without --trust-anchor */
	bool offline;
	bool recurse;
	enum spf_resolver_engine engine; /* --engine; AUTO = libunbound */
	bool trace;
	bool json;
	bool exit_code;
	bool prefetch;
	const char *receiver;
	const char *explanation;
	unsigned void_limit;
	unsigned timeout_ms;
	struct spf_addr client;
};

enum {
	OPT_HELO = 256,
	OPT_IDENTITY,
	OPT_ZONE,
	OPT_OFFLINE,
	OPT_TRACE,
	OPT_JSON,
	OPT_RECEIVER,
	OPT_EXPLANATION,
	OPT_VOID_LIMIT,
	OPT_NO_PREFETCH,
	OPT_EXIT_CODE,
	OPT_RESOLVER,
	OPT_RECURSE,
	OPT_ENGINE,
	OPT_TIMEOUT,
	OPT_TRUST_ANCHOR,
	OPT_HELP,
};

static const struct option long_options[] = {
	{ "helo", required_argument, NULL, OPT_HELO },
	{ "identity", required_argument, NULL, OPT_IDENTITY },
	{ "zone", required_argument, NULL, OPT_ZONE },
	{ "offline", no_argument, NULL, OPT_OFFLINE },
	{ "trace", no_argument, NULL, OPT_TRACE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "receiver", required_argument, NULL, OPT_RECEIVER },
	{ "explanation", required_argument, NULL, OPT_EXPLANATION },
	{ "void-limit", required_argument, NULL, OPT_VOID_LIMIT },
	{ "no-prefetch", no_argument, NULL, OPT_NO_PREFETCH },
	{ "exit-code", no_argument, NULL, OPT_EXIT_CODE },
	{ "resolver", required_argument, NULL, OPT_RESOLVER },
	{ "recurse", no_argument, NULL, OPT_RECURSE },
	{ "engine", required_argument, NULL, OPT_ENGINE },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "trust-anchor", required_argument, NULL, OPT_TRUST_ANCHOR },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

void check_usage(FILE *f)
{
	fputs("usage: spfgate check [options] CLIENT-IP SENDER\n"
	      "       spfgate check --identity helo --helo NAME [options] CLIENT-IP\n"
	      "\n"
	      "  --helo NAME          the HELO/EHLO name (%{h}; needed for SENDER \"\")\n"
	      "  --identity ID        mailfrom (default) or helo\n"
	      "  --zone FILE          answer from this zone file (repeatable)\n"
	      "  --offline            names outside the zones do not exist (NXDOMAIN)\n"
	      "  --resolver IP[@PORT] forward live queries to this server (repeatable)\n"
	      "  --recurse            resolve live queries from the root\n"
	      "  --engine NAME        who asks live DNS: libunbound (default) or stub\n"
	      "                       (c-ares to the resolvers of resolv.conf/--resolver)\n"
	      "  --timeout MS         time budget for live DNS (default 20000)\n"
	      "  --trust-anchor FILE  validate DNSSEC (DS/DNSKEY or unbound autotrust file)\n"
	      "                       and show whether the deciding answers were secure\n"
	      "  --receiver NAME      this host's name (%{r}, headers; default: hostname)\n"
	      "  --explanation TEXT   default explanation for fail (a macro-string)\n"
	      "  --void-limit N       RFC 7208 4.6.4 void lookup limit (default 2)\n"
	      "  --no-prefetch        ask DNS only when evaluation reaches a term\n"
	      "  --trace              show every query, answer and term\n"
	      "  --json               print one JSON object\n"
	      "  --exit-code          exit with a status per result (see spfgate(1))\n", f);
}

/* Parses a decimal number in [min, max]; false on anything else. */
static bool parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	if (s[0] < '0' || s[0] > '9')
		return false;
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (*end != '\0' || v < min || v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

/* "IP" or "IP@PORT" (IPv4 or IPv6), as SPF_RESOLVER_FORWARD takes. */
static bool valid_forwarder(const char *s)
{
	const char *at = strchr(s, '@');
	size_t iplen = at ? (size_t)(at - s) : strlen(s);
	struct spf_addr a;
	if (spf_addr_parse_n(s, iplen, &a) != SPF_OK)
		return false;
	unsigned port;
	return at == NULL || parse_uint(at + 1, 1, 65535, &port);
}

/*
 * Is name a domain name we can ask about?  Labels of 1..63 bytes, at most
 * SPF_MAX_DOMAIN bytes without one trailing dot, printable ASCII without spaces.
 * Writes why not into *why.
 */
static bool valid_domain(const char *name, const char **why)
{
	size_t n = strlen(name);
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0) {
		*why = "empty domain";
		return false;
	}
	if (n > SPF_MAX_DOMAIN) {
		*why = "domain longer than 253 characters";
		return false;
	}
	size_t label = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '.') {
			if (label == 0) {
				*why = "empty label";
				return false;
			}
			label = 0;
			continue;
		}
		if (c >= 0x80) {
			*why = "non-ASCII character (use the xn-- form)";
			return false;
		}
		if (c <= 0x20 || c == 0x7f) {
			*why = "space or control character";
			return false;
		}
		if (++label > SPF_MAX_LABEL) {
			*why = "label longer than 63 characters";
			return false;
		}
	}
	return true;
}

/* A HELO name: non-empty, printable ASCII without spaces (it is one SMTP word). */
static bool valid_helo(const char *helo)
{
	if (helo[0] == '\0')
		return false;
	for (const unsigned char *p = (const unsigned char *)helo; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return false;
	return true;
}

/*
 * Parses the command line into *a.  Returns 0, or an exit status after printing
 * the one-line error (or -1 after --help was printed: exit 0).
 */
static int parse_args(int argc, char **argv, struct check_args *a)
{
	char esc[CLI_SAFE_MAX];
	memset(a, 0, sizeof(*a));
	a->identity = SPF_IDENTITY_MAILFROM;
	a->prefetch = true;
	a->void_limit = SPF_MAX_VOID_LOOKUPS;
	a->timeout_ms = SPF_DEFAULT_TIME_BUDGET_MS;

	opterr = 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_HELO:
			a->helo = optarg;
			break;
		case OPT_IDENTITY:
			if (strcmp(optarg, "mailfrom") == 0) {
				a->identity = SPF_IDENTITY_MAILFROM;
			} else if (strcmp(optarg, "helo") == 0) {
				a->identity = SPF_IDENTITY_HELO;
			} else {
				cli_error("check: --identity must be 'mailfrom' or 'helo', not '%s'",
				    cli_safe(optarg, esc, sizeof(esc)));
				return EXIT_USAGE;
			}
			break;
		case OPT_ZONE:
			if (a->nzones == MAX_ZONES) {
				cli_error("check: more than %d --zone options", MAX_ZONES);
				return EXIT_USAGE;
			}
			a->zones[a->nzones++] = optarg;
			break;
		case OPT_OFFLINE:
			a->offline = true;
			break;
		case OPT_TRACE:
			a->trace = true;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case OPT_RECEIVER:
			if (!valid_helo(optarg)) {
				cli_error("check: invalid --receiver '%s'",
				    cli_safe(optarg, esc, sizeof(esc)));
				return EXIT_USAGE;
			}
			a->receiver = optarg;
			break;
		case OPT_EXPLANATION:
			a->explanation = optarg;
			break;
		case OPT_VOID_LIMIT:
			if (!parse_uint(optarg, 0, 1000, &a->void_limit)) {
				cli_error("check: --void-limit needs a number from 0 to 1000, not '%s'",
				    cli_safe(optarg, esc, sizeof(esc)));
				return EXIT_USAGE;
			}
			break;
		case OPT_NO_PREFETCH:
			a->prefetch = false;
			break;
		case OPT_EXIT_CODE:
			a->exit_code = true;
			break;
		case OPT_RESOLVER:
			if (!valid_forwarder(optarg)) {
				cli_error("check: --resolver needs IP or IP@PORT, not '%s'",
				    cli_safe(optarg, esc, sizeof(esc)));
				return EXIT_USAGE;
			}
			if (a->nforwarders == MAX_FORWARDERS) {
				cli_error("check: more than %d --resolver options", MAX_FORWARDERS);
				return EXIT_USAGE;
			}
			a->forwarders[a->nforwarders++] = optarg;
			break;
		case OPT_RECURSE:
			a->recurse = true;
			break;
		case OPT_ENGINE:
			if (strcmp(optarg, "stub") == 0) {
				a->engine = SPF_ENGINE_STUB;
			} else if (strcmp(optarg, "libunbound") == 0) {
				a->engine = SPF_ENGINE_LIBUNBOUND;
			} else {
				cli_error("check: --engine takes stub or libunbound, not '%s'",
				    cli_safe(optarg, esc, sizeof(esc)));
				return EXIT_USAGE;
			}
			break;
		case OPT_TIMEOUT:
			if (!parse_uint(optarg, 1, MAX_TIMEOUT_MS, &a->timeout_ms)) {
				cli_error("check: --timeout needs milliseconds from 1 to %u, not '%s'",
				    MAX_TIMEOUT_MS, cli_safe(optarg, esc, sizeof(esc)));
				return EXIT_USAGE;
			}
			break;
		case OPT_TRUST_ANCHOR:
			if (a->trust_anchor != NULL) {
				cli_error("check: --trust-anchor given twice");
				return EXIT_USAGE;
			}
			a->trust_anchor = optarg;
			break;
		case 'h':
		case OPT_HELP:
			check_usage(stdout);
			return -1;
		case ':':
			cli_error("check: option '%s' needs an argument",
			    cli_safe(argv[optind - 1], esc, sizeof(esc)));
			return EXIT_USAGE;
		default:
			if (optopt >= 256)
				cli_error("check: option '%s' takes no argument",
				    cli_safe(argv[optind - 1], esc, sizeof(esc)));
			else if (optopt != 0)
				cli_error("check: unknown option '-%c'", optopt > 0x20 &&
				    optopt < 0x7f ? optopt : '?');
			else
				cli_error("check: unknown option '%s'",
				    cli_safe(argv[optind - 1], esc, sizeof(esc)));
			return EXIT_USAGE;
		}
	}

	int npos = argc - optind;
	int want = a->identity == SPF_IDENTITY_HELO ? 1 : 2;
	if (npos < want || npos > 2) {
		if (npos > 2)
			cli_error("check: too many arguments (expected CLIENT-IP SENDER)");
		else if (npos == 0)
			cli_error("check: missing CLIENT-IP and SENDER (see 'spfgate help')");
		else
			cli_error("check: missing SENDER (use \"\" for the null sender)");
		return EXIT_USAGE;
	}
	a->client_text = argv[optind];
	a->sender = npos == 2 ? argv[optind + 1] : NULL;

	if (a->recurse && a->nforwarders > 0) {
		cli_error("check: --recurse and --resolver exclude each other");
		return EXIT_USAGE;
	}
	if (a->engine == SPF_ENGINE_STUB && (a->recurse || a->trust_anchor != NULL)) {
		cli_error("check: --engine stub %s", a->recurse ? "cannot recurse (it asks a "
		    "resolver)" : "does not validate DNSSEC (--trust-anchor needs libunbound)");
		return EXIT_USAGE;
	}
	/* Answers from zone files are never DNSSEC-validated: an anchor needs live DNS. */
	if (a->trust_anchor != NULL && a->offline) {
		cli_error("check: --trust-anchor needs live DNS, not --offline");
		return EXIT_USAGE;
	}
	return 0;
}

/* Checks the client and the identity; prints the error and returns false if bad. */
static bool validate(struct check_args *a)
{
	char esc[CLI_SAFE_MAX];
	const char *why = NULL;

	if (spf_addr_parse(a->client_text, &a->client) != SPF_OK) {
		cli_error("invalid client IP address '%s'",
		    cli_safe(a->client_text, esc, sizeof(esc)));
		return false;
	}
	if (a->helo != NULL && strlen(a->helo) > MAX_SENDER) {
		cli_error("HELO name longer than %d characters", MAX_SENDER);
		return false;
	}
	if (a->helo != NULL && a->helo[0] != '\0' && !valid_helo(a->helo)) {
		cli_error("invalid HELO name '%s': space or control character",
		    cli_safe(a->helo, esc, sizeof(esc)));
		return false;
	}
	bool have_helo = a->helo != NULL && a->helo[0] != '\0';
	if (a->identity == SPF_IDENTITY_HELO) {
		if (!have_helo) {
			cli_error("--identity helo needs --helo NAME");
			return false;
		}
		if (!valid_domain(a->helo, &why) && a->helo[0] != '[') {
			cli_error("invalid HELO name '%s': %s",
			    cli_safe(a->helo, esc, sizeof(esc)), why);
			return false;
		}
		return true;
	}

	const char *s = a->sender;
	if (s[0] == '\0') {
		if (!have_helo) {
			cli_error("the null sender \"\" is checked as postmaster@HELO: give --helo");
			return false;
		}
		if (!valid_domain(a->helo, &why)) {
			cli_error("invalid HELO name '%s' for the null sender: %s",
			    cli_safe(a->helo, esc, sizeof(esc)), why);
			return false;
		}
		return true;
	}
	if (strlen(s) > MAX_SENDER) {
		cli_error("sender longer than %d characters", MAX_SENDER);
		return false;
	}
	const char *at = strrchr(s, '@');
	const char *domain = at ? at + 1 : s;
	if (domain[0] == '\0') {
		cli_error("sender '%s' has no domain", cli_safe(s, esc, sizeof(esc)));
		return false;
	}
	if (!valid_domain(domain, &why)) {
		cli_error("invalid sender domain '%s': %s",
		    cli_safe(domain, esc, sizeof(esc)), why);
		return false;
	}
	return true;
}

/* Loads every --zone file into z; prints "spfgate: file:line: ..." on error. */
static bool load_zones(const struct check_args *a, struct spf_zone *z)
{
	char err[512], esc[CLI_SAFE_MAX * 2];
	for (size_t i = 0; i < a->nzones; i++) {
		int rc = spf_zone_load_file(z, a->zones[i], NULL, err, sizeof(err));
		if (rc != SPF_OK) {
			if (err[0] != '\0')
				cli_error("%s", cli_safe(err, esc, sizeof(esc)));
			else
				cli_error("%s: %s", cli_safe(a->zones[i], esc, sizeof(esc)),
				    spf_strerror(rc));
			return false;
		}
	}
	return true;
}

/*
 * Driver selection, in one place: the in-memory zone alone when --offline is given
 * (then names outside the zones are NXDOMAIN), else the resolver (--engine) with the
 * zones laid over live DNS.  Returns SPF_OK or a status, with
 * a message in err.
 */
static int run_eval(const struct check_args *a, const struct spf_zone *z,
    struct spf_eval *ev, char *err, size_t errcap)
{
	if (!a->offline) {
		struct spf_resolver_options ro;
		spf_resolver_options_init(&ro);
		if (a->recurse) {
			ro.mode = SPF_RESOLVER_RECURSE;
		} else if (a->nforwarders > 0) {
			ro.mode = SPF_RESOLVER_FORWARD;
			ro.forwarders = a->forwarders;
			ro.nforwarders = a->nforwarders;
		}
		ro.trust_anchor_file = a->trust_anchor;
		ro.engine = a->engine;
		ro.zone = a->nzones > 0 ? z : NULL;
		ro.offline = false;
		struct spf_resolver *r;
		int rc = spf_resolver_new(&r, &ro, err, errcap);
		if (rc != SPF_OK)
			return rc;
		rc = spf_resolver_run(r, ev, a->timeout_ms);
		if (rc != SPF_OK)
			snprintf(err, errcap, "resolver: %s", spf_strerror(rc));
		spf_resolver_free(r);
		return rc;
	}
	int rc = spf_zone_run(z, ev);
	if (rc != SPF_OK)
		snprintf(err, errcap, "evaluation: %s", spf_strerror(rc));
	return rc;
}

static int result_exit_code(enum spf_result r)
{
	switch (r) {
	case SPF_RESULT_PASS: return EXIT_DONE;
	case SPF_RESULT_FAIL: return EXIT_RESULT_FAIL;
	case SPF_RESULT_SOFTFAIL: return EXIT_RESULT_SOFTFAIL;
	case SPF_RESULT_NEUTRAL: return EXIT_RESULT_NEUTRAL;
	case SPF_RESULT_NONE: return EXIT_RESULT_NONE;
	case SPF_RESULT_TEMPERROR: return EXIT_RESULT_TEMPERROR;
	case SPF_RESULT_PERMERROR: return EXIT_RESULT_PERMERROR;
	default: return EXIT_INTERNAL;
	}
}

/* "key: value" with the value escaped for the terminal. */
static void put_line(const char *key, const char *value)
{
	fputs(key, stdout);
	fputs(": ", stdout);
	cli_put_safe(stdout, value);
	fputc('\n', stdout);
}

static void print_trace_text(const struct spf_trace *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (unsigned d = 0; d < t[i].depth && d < SPF_MAX_DEPTH; d++)
			fputs("  ", stdout);
		const char *kind = spf_trace_kind_name(t[i].kind);
		fprintf(stdout, "%-6s ", kind);
		cli_put_safe(stdout, t[i].text);
		fputc('\n', stdout);
	}
}

static void print_text(const struct check_args *a, const struct spf_outcome *o,
    const struct spf_trace *t, size_t nt, const char *rspf, const char *ar)
{
	if (a->trace) {
		print_trace_text(t, nt);
		fputc('\n', stdout);
	}
	put_line("result", spf_result_name(o->result));
	if (o->explanation != NULL)
		put_line("explanation", o->explanation);
	if (o->problem != NULL)
		put_line("problem", o->problem);
	if (o->mechanism != NULL)
		put_line("mechanism", o->mechanism);
	else if (o->result != SPF_RESULT_NONE && o->result != SPF_RESULT_TEMPERROR &&
	    o->result != SPF_RESULT_PERMERROR)
		put_line("mechanism", "(default: no term matched)");
	if (o->domain != NULL)
		put_line("domain", o->domain);
	fprintf(stdout, "dns lookups: %u (limit %d), void lookups: %u (limit %u), "
	    "queries: %u\n", o->dns_lookups, SPF_MAX_DNS_TERMS, o->void_lookups,
	    a->void_limit, o->dns_queries);
	/* Only with an anchor: without one nothing is validated and the flag means nothing. */
	if (a->trust_anchor != NULL)
		put_line("dnssec", o->secure ? "secure" : "insecure");
	fputs(rspf, stdout);
	fputc('\n', stdout);
	fputs(ar, stdout);
	fputc('\n', stdout);
}

static void print_json(const struct check_args *a, const struct spf_outcome *o,
    const struct spf_trace *t, size_t nt, const char *rspf, const char *ar)
{
	char ip[SPF_ADDR_TEXT_MAX];
	if (spf_addr_format(&o->client, ip, sizeof(ip)) == 0)
		ip[0] = '\0';
	struct json j;
	json_init(&j, stdout);
	json_begin_object(&j);
	json_key(&j, "result");
	json_string(&j, spf_result_name(o->result));
	json_key(&j, "explanation");
	json_string(&j, o->explanation);
	json_key(&j, "mechanism");
	json_string(&j, o->mechanism);
	json_key(&j, "domain");
	json_string(&j, o->domain);
	json_key(&j, "checked_domain");
	json_string(&j, o->checked_domain);
	json_key(&j, "identity");
	json_string(&j, spf_identity_name(o->identity));
	json_key(&j, "dns_lookups");
	json_uint(&j, o->dns_lookups);
	json_key(&j, "void_lookups");
	json_uint(&j, o->void_lookups);
	json_key(&j, "dns_queries");
	json_uint(&j, o->dns_queries);
	json_key(&j, "problem");
	json_string(&j, o->problem);
	json_key(&j, "problem_domain");
	json_string(&j, o->problem_domain);
	json_key(&j, "problem_term");
	json_string(&j, o->problem_term);
	json_key(&j, "problem_offset");
	if (o->problem_offset >= 0)
		json_int(&j, o->problem_offset);
	else
		json_null(&j);
	json_key(&j, "client_ip");
	json_string(&j, ip);
	json_key(&j, "sender");
	json_string(&j, o->sender);
	json_key(&j, "helo");
	json_string(&j, o->helo);
	json_key(&j, "receiver");
	json_string(&j, o->receiver);
	json_key(&j, "received_spf");
	json_string(&j, rspf);
	json_key(&j, "authentication_results");
	json_string(&j, ar);
	if (a->trust_anchor != NULL) {
		json_key(&j, "dnssec_secure");
		json_bool(&j, o->secure);
	}
	if (a->trace) {
		json_key(&j, "trace");
		json_begin_array(&j);
		for (size_t i = 0; i < nt; i++) {
			json_begin_object(&j);
			json_key(&j, "kind");
			json_string(&j, spf_trace_kind_name(t[i].kind));
			json_key(&j, "depth");
			json_uint(&j, t[i].depth);
			json_key(&j, "domain");
			json_string(&j, t[i].domain);
			json_key(&j, "text");
			json_string(&j, t[i].text);
			json_end_object(&j);
		}
		json_end_array(&j);
	}
	json_end_object(&j);
	fputc('\n', stdout);
}

/* This host's name for receiver= and the authserv-id: gethostname(), else "localhost". */
static const char *default_receiver(char *buf, size_t cap)
{
	if (gethostname(buf, cap) != 0 || buf[0] == '\0')
		return "localhost";
	buf[cap - 1] = '\0';
	return valid_helo(buf) ? buf : "localhost";
}

int check_main(int argc, char **argv)
{
	struct check_args a;
	int rc = parse_args(argc, argv, &a);
	if (rc != 0)
		return rc < 0 ? EXIT_DONE : rc;
	if (!validate(&a))
		return EXIT_USAGE;

	struct spf_zone *z = spf_zone_new();
	if (z == NULL) {
		cli_error("out of memory");
		return EXIT_INTERNAL;
	}
	if (!load_zones(&a, z)) {
		spf_zone_free(z);
		return EXIT_USAGE;
	}

	char host[256];
	const char *receiver = a.receiver ? a.receiver : default_receiver(host, sizeof(host));
	struct spf_options opts;
	spf_options_init(&opts);
	opts.max_void_lookups = a.void_limit;
	opts.default_explanation = a.explanation;
	opts.receiver = receiver;
	opts.now = (int64_t)time(NULL);
	opts.prefetch = a.prefetch;
	opts.trace = a.trace;

	struct spf_request req;
	memset(&req, 0, sizeof(req));
	req.identity = a.identity;
	req.client = a.client;
	req.helo = a.helo ? a.helo : "";
	req.sender = a.sender ? a.sender : "";

	struct spf_eval *ev = NULL;
	rc = spf_eval_new(&ev, &opts, &req);
	if (rc != SPF_OK) {
		cli_error("cannot start the evaluation: %s", spf_strerror(rc));
		spf_zone_free(z);
		return rc == SPF_EINVAL ? EXIT_USAGE : EXIT_INTERNAL;
	}

	char err[512];
	err[0] = '\0';
	rc = run_eval(&a, z, ev, err, sizeof(err));
	const struct spf_outcome *o = spf_eval_outcome(ev);
	if (rc != SPF_OK || o == NULL) {
		char esc[CLI_SAFE_MAX * 2];
		cli_error("%s", err[0] ? cli_safe(err, esc, sizeof(esc)) : "evaluation failed");
		spf_eval_free(ev);
		spf_zone_free(z);
		return EXIT_INTERNAL;
	}

	char rspf[SPF_HEADER_MAX], ar[SPF_HEADER_MAX];
	if (spf_header_received_spf(o, receiver, rspf, sizeof(rspf)) < 0 ||
	    spf_header_auth_results(o, receiver, ar, sizeof(ar)) < 0) {
		cli_error("cannot render the headers");
		spf_eval_free(ev);
		spf_zone_free(z);
		return EXIT_INTERNAL;
	}

	const struct spf_trace *t = NULL;
	size_t nt = a.trace ? spf_eval_trace(ev, &t) : 0;
	if (a.json)
		print_json(&a, o, t, nt, rspf, ar);
	else
		print_text(&a, o, t, nt, rspf, ar);
	int status = a.exit_code ? result_exit_code(o->result) : EXIT_DONE;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("write error on standard output");
		status = EXIT_INTERNAL;
	}
	spf_eval_free(ev);
	spf_zone_free(z);
	return status;
}
