/*
 * runner.c - spf-suite: runs the openspf YAML conformance suites (rfc7208-tests.yml,
 * rfc4408-tests.yml) through the real evaluator and the in-memory zone driver.
 *
 *   spf-suite [--verbose] [--exceptions FILE] [--only TEST] [--scenario N]
 *             [--emit-zones DIR] [--resolver IP@PORT [--timeout MS]] [--list] FILE.yml
 *
 * The file format and the DNS semantics are those of FORMAT.md beside the data (kept
 * in /work/shared/spf-test-suite): each YAML document is a scenario with `tests` and
 * `zonedata`; each test is one check_host() from the top; results compare by set
 * membership (a non-first accepted result is a warning, "X preferred to Y"), and
 * explanations case-insensitively.  The zone is built as FORMAT.md §5-§6 says: SPF
 * entries also become TXT RRs unless the name has a TXT entry or `TXT: NONE`
 * (§6.4); `TIMEOUT` marks a name whose other types time out (§6.3); a TXT value is
 * taken with its libyaml length, never strlen(), since records hold NUL bytes (§6.6).
 *
 * Modes:
 *   (default)      run the tests; one line per failure; the last line is exactly
 *                  "N passed, M failed"; exit 0 iff M == 0.
 *   --list         print one tab-separated row per test, in the format of
 *                  tests-index.tsv, to check the loader against that index.
 *   --emit-zones   write DIR/scenario-NN.zone (an RFC 1035 master file of the scenario
 *                  as a root zone: SOA, NS and glue 127.0.0.1 so nsd serves it) and
 *                  DIR/scenario-NN.timeouts (the names marked TIMEOUT, one per line,
 *                  fully qualified, bytes outside 0x21..0x7e and '\\' as \DDD: the
 *                  form tests/integration/dnsrelay.c reads), then load each zone back
 *                  with spf_zone_load_file() and check that it answers every question
 *                  about every name exactly as the zone built from the YAML does.
 *   --resolver     answer through the live driver (spfgate/resolver.h) forwarding to
 *                  IP@PORT instead of the zone: a test serves the emitted zones there.
 *
 * --exceptions FILE: lines "test<TAB>result<TAB>reason" ('#' comments) for deliberate
 * deviations: such a test is "excepted" when it gives that result, "stale" (a warning)
 * when it passes the suite after all, and a failure otherwise.
 *
 * Memory: one YAML document (scenario) at a time; everything of a scenario is freed
 * before the next is read.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

#include "spfgate/spfgate.h"
#include "spfgate/zone.h"
#include "spfgate/resolver.h"

#define WIRE_NAME_MAX 255
#define TXT_STRING_MAX 255
/* Names of the NS host and glue written into every emitted zone. */
#define EMIT_NS "ns.spf-suite.invalid"
#define EMIT_TTL 300

/* The types compared between the YAML zone and the reloaded zone file. */
static const uint16_t compare_types[] = { SPF_RR_A, SPF_RR_CNAME, SPF_RR_PTR, SPF_RR_MX,
	SPF_RR_TXT, SPF_RR_AAAA, 99 };

struct options {
	bool verbose;
	bool list;
	const char *exceptions;
	const char *only;
	long scenario;
	const char *emit_dir;
	const char *resolver;
	unsigned timeout_ms;
	const char *file;
	const char *file_base;
};

struct exception {
	char *test;
	enum spf_result result;
	char *reason;
	bool seen;
};

/* One RR of a scenario in wire form, in the order of the file. */
struct rec {
	char *owner;
	uint16_t type;
	uint8_t *rdata;
	size_t rdlen;
};

/* A zonedata key with its marks. */
struct name {
	char *owner;
	bool timeout;
	bool servfail;
	bool spf_omitted; /* an empty type-99 RR left out of the emitted zone */
};

struct scenario {
	long no;
	struct rec *rec;
	size_t nrec, caprec;
	struct name *name;
	size_t nname, capname;
	struct spf_zone *zone;
};

struct totals {
	unsigned passed, failed, excepted, stale, warnings;
	unsigned scenarios, tests, names;
};

static struct options opt;
static struct exception *exc;
static size_t nexc;
static struct spf_resolver *resolver;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("spf-suite: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);
	if (p == NULL)
		die("out of memory");
	return p;
}

static char *xstrndup(const char *s, size_t n)
{
	char *p = xcalloc(n + 1, 1);
	memcpy(p, s, n);
	return p;
}

/* Prints bytes so that a terminal shows what they are: non-printables as \xHH. */
static void put_bytes(FILE *fp, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			fputc(c, fp);
		else
			fprintf(fp, "\\x%02x", c);
	}
}

/* ------------------------------------------------------------------------------------ */
/* YAML access                                                                          */

static yaml_node_t *node_at(yaml_document_t *doc, int id)
{
	return id ? yaml_document_get_node(doc, id) : NULL;
}

static bool is_scalar(const yaml_node_t *n)
{
	return n != NULL && n->type == YAML_SCALAR_NODE;
}

static const char *sc(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static size_t sclen(const yaml_node_t *n)
{
	return n->data.scalar.length;
}

static bool sc_eq(const yaml_node_t *n, const char *s)
{
	return is_scalar(n) && sclen(n) == strlen(s) && memcmp(sc(n), s, sclen(n)) == 0;
}

/* A plain scalar that is one of the tokens (TIMEOUT, NONE, ...). */
static bool is_token(const yaml_node_t *n, const char *tok)
{
	return sc_eq(n, tok) && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* The value of key in a mapping, NULL if absent. */
static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++)
		if (sc_eq(node_at(doc, p->key), key))
			return node_at(doc, p->value);
	return NULL;
}

/* A scalar as a C string; a scalar with a NUL byte cannot be one (die: not in the
 * files, and the evaluation API takes C strings for host, helo and sender). */
static const char *cstr(const yaml_node_t *n, const char *what)
{
	if (!is_scalar(n))
		die("%s: %s is missing or not a scalar", opt.file, what);
	if (memchr(sc(n), '\0', sclen(n)) != NULL)
		die("%s: %s holds a NUL byte", opt.file, what);
	return sc(n);
}

/* ------------------------------------------------------------------------------------ */
/* Building a scenario's records                                                        */

static void add_rec(struct scenario *s, const char *owner, uint16_t type,
    const uint8_t *rdata, size_t rdlen)
{
	if (s->nrec == s->caprec) {
		s->caprec = s->caprec ? s->caprec * 2 : 32;
		s->rec = realloc(s->rec, s->caprec * sizeof(*s->rec));
		if (s->rec == NULL)
			die("out of memory");
	}
	struct rec *r = &s->rec[s->nrec++];
	r->owner = xstrndup(owner, strlen(owner));
	r->type = type;
	r->rdata = xcalloc(rdlen, 1);
	if (rdlen > 0)
		memcpy(r->rdata, rdata, rdlen);
	r->rdlen = rdlen;
}

static struct name *add_name(struct scenario *s, const char *owner)
{
	if (s->nname == s->capname) {
		s->capname = s->capname ? s->capname * 2 : 32;
		s->name = realloc(s->name, s->capname * sizeof(*s->name));
		if (s->name == NULL)
			die("out of memory");
	}
	struct name *n = &s->name[s->nname++];
	memset(n, 0, sizeof(*n));
	n->owner = xstrndup(owner, strlen(owner));
	return n;
}

static void scenario_free(struct scenario *s)
{
	for (size_t i = 0; i < s->nrec; i++) {
		free(s->rec[i].owner);
		free(s->rec[i].rdata);
	}
	for (size_t i = 0; i < s->nname; i++)
		free(s->name[i].owner);
	free(s->rec);
	free(s->name);
	spf_zone_free(s->zone);
	memset(s, 0, sizeof(*s));
}

/* Dotted text to uncompressed wire form; "" and "." are the root.  0 if invalid. */
static size_t name_wire(const char *p, size_t len, uint8_t *out)
{
	if (len > 0 && p[len - 1] == '.')
		len--;
	if (len > SPF_MAX_DOMAIN)
		return 0;
	size_t n = 0, i = 0;
	while (i < len) {
		size_t start = i;
		while (i < len && p[i] != '.')
			i++;
		size_t l = i - start;
		if (l == 0 || l > SPF_MAX_LABEL)
			return 0;
		out[n++] = (uint8_t)l;
		memcpy(out + n, p + start, l);
		n += l;
		if (i < len && ++i == len)
			return 0; /* an empty last label ("a..") */
	}
	out[n++] = 0;
	return n;
}

/*
 * The TXT/SPF value v (a scalar or a sequence of scalars) as character-strings in wire
 * form.  A scalar longer than 255 bytes is cut into 255-byte strings: RFC 7208 §3.3
 * joins them again, so the record the library sees is the same.
 */
static size_t txt_wire(yaml_document_t *doc, yaml_node_t *v, uint8_t *out, size_t cap,
    const char *owner)
{
	size_t n = 0;
	yaml_node_item_t *it = NULL, *end = NULL;
	yaml_node_t *one = NULL;
	if (is_scalar(v)) {
		one = v;
	} else if (v != NULL && v->type == YAML_SEQUENCE_NODE) {
		it = v->data.sequence.items.start;
		end = v->data.sequence.items.top;
	} else {
		die("%s: %s: TXT/SPF value is neither a scalar nor a sequence", opt.file, owner);
	}
	for (;;) {
		yaml_node_t *s = one;
		if (s == NULL) {
			if (it >= end)
				break;
			s = node_at(doc, *it++);
			if (!is_scalar(s))
				die("%s: %s: TXT/SPF string is not a scalar", opt.file, owner);
		}
		size_t len = sclen(s), off = 0;
		do {
			size_t k = len - off > TXT_STRING_MAX ? TXT_STRING_MAX : len - off;
			if (k + 1 > cap - n)
				die("%s: %s: TXT/SPF record too long", opt.file, owner);
			out[n++] = (uint8_t)k;
			memcpy(out + n, sc(s) + off, k);
			n += k;
			off += k;
		} while (off < len);
		if (one != NULL)
			break;
	}
	return n;
}

/* One zonedata name and its entries (FORMAT.md §5). */
static void load_name(yaml_document_t *doc, struct scenario *s, const char *owner,
    yaml_node_t *entries)
{
	static uint8_t wire[SPF_MAX_RECORD];
	struct name *nm = add_name(s, owner);
	bool has_txt = false, txt_none = false;
	size_t spf_first = s->nrec;

	if (entries == NULL || entries->type != YAML_SEQUENCE_NODE)
		die("%s: zonedata %s is not a sequence", opt.file, owner);
	for (yaml_node_item_t *it = entries->data.sequence.items.start;
	    it < entries->data.sequence.items.top; it++) {
		yaml_node_t *e = node_at(doc, *it);
		if (is_scalar(e)) {
			if (is_token(e, "TIMEOUT"))
				nm->timeout = true;
			else if (is_token(e, "SERVFAIL") || is_token(e, "RCODE2"))
				nm->servfail = true;
			else if (opt.verbose)
				printf("note: %s: token '%s' ignored\n", owner, sc(e));
			continue;
		}
		if (e == NULL || e->type != YAML_MAPPING_NODE ||
		    e->data.mapping.pairs.top - e->data.mapping.pairs.start != 1)
			die("%s: %s: a record entry is not a one-key mapping", opt.file, owner);
		yaml_node_t *k = node_at(doc, e->data.mapping.pairs.start->key);
		yaml_node_t *v = node_at(doc, e->data.mapping.pairs.start->value);
		if (!is_scalar(k))
			die("%s: %s: record type is not a scalar", opt.file, owner);
		const char *type = sc(k);

		if (strcmp(type, "TXT") == 0 || strcmp(type, "SPF") == 0) {
			bool txt = type[0] == 'T';
			if (is_token(v, "NONE")) {
				if (txt)
					txt_none = true;
				continue;
			}
			if (is_token(v, "TIMEOUT")) {
				/* {TYPE: TIMEOUT}: only approximated (the whole name is marked). */
				nm->timeout = true;
				continue;
			}
			size_t n = txt_wire(doc, v, wire, sizeof(wire), owner);
			add_rec(s, owner, txt ? SPF_RR_TXT : 99, wire, n);
			has_txt |= txt;
		} else if (strcmp(type, "A") == 0 || strcmp(type, "AAAA") == 0) {
			bool v6 = type[1] == 'A';
			uint8_t a[16];
			if (!is_scalar(v) || inet_pton(v6 ? AF_INET6 : AF_INET, cstr(v, type), a) != 1)
				die("%s: %s: bad %s value", opt.file, owner, type);
			add_rec(s, owner, v6 ? SPF_RR_AAAA : SPF_RR_A, a, v6 ? 16 : 4);
		} else if (strcmp(type, "MX") == 0) {
			yaml_node_t *pref = NULL, *host = NULL;
			if (v != NULL && v->type == YAML_SEQUENCE_NODE &&
			    v->data.sequence.items.top - v->data.sequence.items.start == 2) {
				pref = node_at(doc, v->data.sequence.items.start[0]);
				host = node_at(doc, v->data.sequence.items.start[1]);
			}
			char *end;
			unsigned long p = is_scalar(pref) ? strtoul(cstr(pref, "MX"), &end, 10) : 0;
			if (!is_scalar(pref) || !is_scalar(host) || *end != '\0' || p > 65535)
				die("%s: %s: MX is not [preference, host]", opt.file, owner);
			wire[0] = (uint8_t)(p >> 8);
			wire[1] = (uint8_t)p;
			size_t n = name_wire(sc(host), sclen(host), wire + 2);
			if (n == 0)
				die("%s: %s: bad MX host", opt.file, owner);
			add_rec(s, owner, SPF_RR_MX, wire, n + 2);
		} else if (strcmp(type, "PTR") == 0 || strcmp(type, "CNAME") == 0) {
			size_t n = is_scalar(v) ? name_wire(sc(v), sclen(v), wire) : 0;
			if (n == 0)
				die("%s: %s: bad %s target", opt.file, owner, type);
			add_rec(s, owner, type[0] == 'P' ? SPF_RR_PTR : SPF_RR_CNAME, wire, n);
		} else if (strcmp(type, "TIMEOUT") == 0 && is_token(v, "true")) {
			nm->timeout = true; /* the Go library's spelling */
		} else if (strcmp(type, "SERVFAIL") == 0 && is_token(v, "true")) {
			nm->servfail = true;
		} else if (strcmp(type, "CNAMELOOP") == 0 && is_token(v, "true")) {
			size_t n = name_wire(owner, strlen(owner), wire);
			add_rec(s, owner, SPF_RR_CNAME, wire, n);
		} else {
			if (opt.verbose)
				printf("note: %s: record type '%s' ignored\n", owner, type);
		}
	}

	/* §6.4: SPF entries are copied to TXT unless the name has TXT or TXT: NONE. */
	if (!has_txt && !txt_none) {
		size_t end = s->nrec;
		for (size_t i = spf_first; i < end; i++) {
			if (s->rec[i].type != 99)
				continue;
			/* add_rec may move s->rec: copy the view first. */
			struct rec r = s->rec[i];
			add_rec(s, owner, SPF_RR_TXT, r.rdata, r.rdlen);
		}
	}
}

/* The scenario's zonedata into s->rec / s->name, and the zone built from them. */
static void load_zone(yaml_document_t *doc, yaml_node_t *root, struct scenario *s)
{
	yaml_node_t *zd = map_get(doc, root, "zonedata");
	s->zone = spf_zone_new();
	if (s->zone == NULL)
		die("out of memory");
	if (zd == NULL)
		return;
	if (zd->type != YAML_MAPPING_NODE)
		die("%s: scenario %ld: zonedata is not a mapping", opt.file, s->no);
	for (yaml_node_pair_t *p = zd->data.mapping.pairs.start; p < zd->data.mapping.pairs.top;
	    p++)
		load_name(doc, s, cstr(node_at(doc, p->key), "a zonedata name"),
		    node_at(doc, p->value));

	for (size_t i = 0; i < s->nname; i++) {
		const struct name *n = &s->name[i];
		int rc = spf_zone_add_name(s->zone, n->owner);
		if (rc == SPF_OK && n->timeout)
			rc = spf_zone_set_timeout(s->zone, n->owner);
		if (rc == SPF_OK && n->servfail)
			rc = spf_zone_set_servfail(s->zone, n->owner);
		if (rc != SPF_OK)
			die("%s: scenario %ld: %s: %s", opt.file, s->no, n->owner, spf_strerror(rc));
	}
	for (size_t i = 0; i < s->nrec; i++) {
		const struct rec *r = &s->rec[i];
		int rc = spf_zone_add_rr(s->zone, r->owner, r->type, EMIT_TTL, r->rdata, r->rdlen);
		if (rc != SPF_OK)
			die("%s: scenario %ld: %s: %s", opt.file, s->no, r->owner, spf_strerror(rc));
	}
}

/* ------------------------------------------------------------------------------------ */
/* Emitting master files                                                                */

/* One label byte per RFC 1035 §5.1: letters, digits, '-' and '_' as they are,
 * everything else as \DDD (safe for every zone parser, and exact). */
static void emit_name_bytes(FILE *fp, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_')
			fputc(c, fp);
		else
			fprintf(fp, "\\%03u", c);
	}
}

/* A name for the .timeouts list, in the form tests/integration/dnsrelay.c compares
 * with: bytes 0x21..0x7e except '\\' and '.' as they are, others as \DDD; with the
 * trailing dot. */
static void emit_list_name(FILE *fp, const char *name)
{
	size_t len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		len--;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '.' || (c > 0x20 && c < 0x7f && c != '\\'))
			fputc(c, fp);
		else
			fprintf(fp, "\\%03u", c);
	}
	fputc('.', fp);
}

/* A dotted name, fully qualified. */
static void emit_text_name(FILE *fp, const char *name)
{
	size_t len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		len--;
	size_t i = 0;
	while (i < len) {
		size_t start = i;
		while (i < len && name[i] != '.')
			i++;
		emit_name_bytes(fp, name + start, i - start);
		fputc('.', fp);
		if (i < len)
			i++;
	}
	if (len == 0)
		fputc('.', fp);
}

/* A wire-form name from rdata at *off, fully qualified.  False if malformed. */
static bool emit_wire_name(FILE *fp, const uint8_t *d, size_t len, size_t *off)
{
	size_t i = *off;
	bool any = false;
	while (i < len) {
		uint8_t l = d[i++];
		if (l == 0) {
			if (!any)
				fputc('.', fp);
			*off = i;
			return true;
		}
		if (l > len - i)
			return false;
		emit_name_bytes(fp, (const char *)d + i, l);
		fputc('.', fp);
		any = true;
		i += l;
	}
	return false;
}

static struct name *find_name(const struct scenario *s, const char *owner)
{
	for (size_t i = 0; i < s->nname; i++)
		if (strcmp(s->name[i].owner, owner) == 0)
			return &s->name[i];
	return NULL;
}

static void emit_rdata(FILE *fp, const struct rec *r)
{
	char text[INET6_ADDRSTRLEN];
	size_t off = 0;
	switch (r->type) {
	case SPF_RR_A:
	case SPF_RR_AAAA:
		inet_ntop(r->type == SPF_RR_A ? AF_INET : AF_INET6, r->rdata, text, sizeof(text));
		fprintf(fp, "%s\t%s\n", r->type == SPF_RR_A ? "A" : "AAAA", text);
		return;
	case SPF_RR_MX:
		fprintf(fp, "MX\t%u ", (unsigned)(r->rdata[0] << 8 | r->rdata[1]));
		off = 2;
		emit_wire_name(fp, r->rdata, r->rdlen, &off);
		fputc('\n', fp);
		return;
	case SPF_RR_PTR:
	case SPF_RR_CNAME:
		fprintf(fp, "%s\t", r->type == SPF_RR_PTR ? "PTR" : "CNAME");
		emit_wire_name(fp, r->rdata, r->rdlen, &off);
		fputc('\n', fp);
		return;
	case SPF_RR_TXT:
	case 99:
		if (r->rdlen == 0) {
			/* No character-strings at all ("SPF: [ ]"): only the RFC 3597 generic
			 * form can write an empty RDATA. */
			fprintf(fp, "TYPE%u\t\\# 0\n", r->type);
			return;
		}
		fputs(r->type == SPF_RR_TXT ? "TXT\t" : "SPF\t", fp);
		while (off < r->rdlen) {
			size_t l = r->rdata[off++];
			fputc('"', fp);
			for (size_t i = 0; i < l && off < r->rdlen; i++, off++) {
				unsigned char c = r->rdata[off];
				if (c == '"' || c == '\\')
					fprintf(fp, "\\%c", c);
				else if (c >= 0x20 && c < 0x7f)
					fputc(c, fp);
				else
					fprintf(fp, "\\%03u", c);
			}
			fputc('"', fp);
			if (off < r->rdlen)
				fputc(' ', fp);
		}
		fputc('\n', fp);
		return;
	default:
		fprintf(fp, "TYPE%u\t\\# %zu ", r->type, r->rdlen);
		for (size_t i = 0; i < r->rdlen; i++)
			fprintf(fp, "%02x", r->rdata[i]);
		fputc('\n', fp);
		return;
	}
}

static FILE *open_out(const char *dir, long no, const char *ext, char *path, size_t cap)
{
	int n = snprintf(path, cap, "%s/scenario-%02ld.%s", dir, no, ext);
	if (n < 0 || (size_t)n >= cap)
		die("%s: path too long", dir);
	FILE *fp = fopen(path, "w");
	if (fp == NULL)
		die("%s: %s", path, strerror(errno));
	return fp;
}

static bool same_answer(const struct spf_answer *a, const struct spf_answer *b)
{
	if (a->rcode != b->rcode || a->nrr != b->nrr)
		return false;
	for (size_t i = 0; i < a->nrr; i++)
		if (a->rr[i].type != b->rr[i].type || a->rr[i].rdlen != b->rr[i].rdlen ||
		    memcmp(a->rr[i].rdata, b->rr[i].rdata, a->rr[i].rdlen) != 0)
			return false;
	return true;
}

/*
 * Writes the scenario's master file and timeout list, then loads the file back and
 * compares every (name, type) answer with the YAML zone.  Returns the mismatches.
 */
static unsigned emit_zone(struct scenario *s, const char *desc)
{
	char zpath[4096], tpath[4096];
	FILE *fp = open_out(opt.emit_dir, s->no, "zone", zpath, sizeof(zpath));
	fprintf(fp, "; scenario %ld of %s: %s\n", s->no, opt.file_base, desc);
	fprintf(fp, "; written by spf-suite --emit-zones; names marked TIMEOUT are in "
	    "scenario-%02ld.timeouts\n", s->no);
	fprintf(fp, "$ORIGIN .\n$TTL %d\n", EMIT_TTL);
	fprintf(fp, ".\tIN\tSOA\t" EMIT_NS ". hostmaster.spf-suite.invalid. 1 3600 600 "
	    "86400 %d\n", EMIT_TTL);
	fprintf(fp, ".\tIN\tNS\t" EMIT_NS ".\n");
	fprintf(fp, EMIT_NS ".\tIN\tA\t127.0.0.1\n");
	for (size_t i = 0; i < s->nrec; i++) {
		if (s->rec[i].type == 99 && s->rec[i].rdlen == 0) {
			/* nsd (4.6) refuses an empty type-99 RDATA in any spelling; the RR only
			 * matters to type-99 queries, which an RFC 7208 library never makes. */
			fputs("; omitted, nsd cannot load it: ", fp);
			emit_text_name(fp, s->rec[i].owner);
			fputs(" IN TYPE99 \\# 0\n", fp);
			find_name(s, s->rec[i].owner)->spf_omitted = true;
			continue;
		}
		emit_text_name(fp, s->rec[i].owner);
		fputs("\tIN\t", fp);
		emit_rdata(fp, &s->rec[i]);
	}
	if (fclose(fp) != 0)
		die("%s: %s", zpath, strerror(errno));

	fp = open_out(opt.emit_dir, s->no, "timeouts", tpath, sizeof(tpath));
	for (size_t i = 0; i < s->nname; i++) {
		if (!s->name[i].timeout)
			continue;
		emit_list_name(fp, s->name[i].owner);
		fputc('\n', fp);
	}
	if (fclose(fp) != 0)
		die("%s: %s", tpath, strerror(errno));

	/* Load it back: the marks are not in a master file, so they are set again. */
	unsigned bad = 0;
	char err[512];
	struct spf_zone *z = spf_zone_new();
	if (z == NULL)
		die("out of memory");
	int rc = spf_zone_load_file(z, zpath, ".", err, sizeof(err));
	if (rc != SPF_OK) {
		printf("FAIL %s: does not load: %s\n", zpath, err);
		spf_zone_free(z);
		return 1;
	}
	for (size_t i = 0; i < s->nname; i++) {
		if (s->name[i].timeout)
			spf_zone_set_timeout(z, s->name[i].owner);
		if (s->name[i].servfail)
			spf_zone_set_servfail(z, s->name[i].owner);
	}
	for (size_t i = 0; i < s->nname; i++) {
		for (size_t t = 0; t < sizeof(compare_types) / sizeof(compare_types[0]); t++) {
			struct spf_answer a, b;
			if (compare_types[t] == 99 && s->name[i].spf_omitted)
				continue;
			spf_zone_lookup(s->zone, s->name[i].owner, compare_types[t], &a);
			spf_zone_lookup(z, s->name[i].owner, compare_types[t], &b);
			if (same_answer(&a, &b))
				continue;
			bad++;
			printf("FAIL %s: %s ", zpath, spf_rrtype_name(compare_types[t]));
			put_bytes(stdout, s->name[i].owner, strlen(s->name[i].owner));
			printf(": YAML zone %s/%zu RRs, zone file %s/%zu RRs\n",
			    spf_rcode_name(a.rcode), a.nrr, spf_rcode_name(b.rcode), b.nrr);
		}
	}
	if (!spf_zone_covers(z, s->name[0].owner)) {
		printf("FAIL %s: the root apex does not cover the zone's names\n", zpath);
		bad++;
	}
	spf_zone_free(z);
	if (opt.verbose || bad > 0)
		printf("%s: %zu records, %zu names: %s\n", zpath, s->nrec, s->nname,
		    bad ? "MISMATCH" : "same answers when loaded back");
	return bad;
}

/* ------------------------------------------------------------------------------------ */
/* Running tests                                                                        */

static bool parse_result(const yaml_node_t *n, enum spf_result *out)
{
	if (!is_scalar(n))
		return false;
	/* pyspf's legacy names (FORMAT.md §4.2). */
	if (sc_eq(n, "unknown")) {
		*out = SPF_RESULT_PERMERROR;
		return true;
	}
	if (sc_eq(n, "error")) {
		*out = SPF_RESULT_TEMPERROR;
		return true;
	}
	return spf_result_parse(sc(n), out) == SPF_OK;
}

/* The acceptable results of a test, first preferred. */
static size_t test_results(yaml_document_t *doc, yaml_node_t *t, const char *name,
    enum spf_result *res)
{
	yaml_node_t *r = map_get(doc, t, "result");
	size_t n = 0;
	if (is_scalar(r)) {
		if (!parse_result(r, &res[n++]))
			die("%s: %s: unknown result '%s'", opt.file, name, sc(r));
		return n;
	}
	if (r == NULL || r->type != YAML_SEQUENCE_NODE)
		die("%s: %s: no result", opt.file, name);
	for (yaml_node_item_t *it = r->data.sequence.items.start;
	    it < r->data.sequence.items.top; it++) {
		yaml_node_t *e = node_at(doc, *it);
		if (n == SPF_RESULT_COUNT || !parse_result(e, &res[n++]))
			die("%s: %s: bad result list", opt.file, name);
	}
	if (n == 0)
		die("%s: %s: empty result list", opt.file, name);
	return n;
}

static struct exception *find_exception(const char *test)
{
	for (size_t i = 0; i < nexc; i++)
		if (strcmp(exc[i].test, test) == 0)
			return &exc[i];
	return NULL;
}

static bool eq_ci(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++) {
		char x = a[i], y = b[i];
		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

static void print_expected(const enum spf_result *res, size_t nres)
{
	for (size_t i = 0; i < nres; i++)
		printf("%s%s", i ? "|" : "", spf_result_name(res[i]));
}

/* Runs the evaluation of one test; returns its status (0 or an spf_status). */
static int evaluate(const struct scenario *s, const struct spf_request *req,
    struct spf_eval **evp)
{
	struct spf_options o;
	spf_options_init(&o);
	o.default_explanation = "DEFAULT";
	o.receiver = "receiver.spf-suite.invalid";
	int rc = spf_eval_new(evp, &o, req);
	if (rc != SPF_OK)
		return rc;
	if (resolver != NULL)
		return spf_resolver_run(resolver, *evp, opt.timeout_ms);
	return spf_zone_run(s->zone, *evp);
}

static void run_test(yaml_document_t *doc, const struct scenario *s, const char *name,
    yaml_node_t *t, struct totals *tot)
{
	enum spf_result res[SPF_RESULT_COUNT];
	size_t nres = test_results(doc, t, name, res);
	const char *host = cstr(map_get(doc, t, "host"), "host");
	const char *helo = cstr(map_get(doc, t, "helo"), "helo");
	const char *mailfrom = cstr(map_get(doc, t, "mailfrom"), "mailfrom");
	yaml_node_t *expn = map_get(doc, t, "explanation");
	if (expn != NULL && !is_scalar(expn))
		die("%s: %s: explanation is not a scalar", opt.file, name);

	struct spf_request req;
	memset(&req, 0, sizeof(req));
	req.identity = mailfrom[0] != '\0' ? SPF_IDENTITY_MAILFROM : SPF_IDENTITY_HELO;
	req.helo = helo;
	req.sender = mailfrom[0] != '\0' ? mailfrom : NULL;
	if (spf_addr_parse(host, &req.client) != SPF_OK) {
		printf("FAIL %s: host '%s' does not parse\n", name, host);
		tot->failed++;
		return;
	}

	struct spf_eval *ev = NULL;
	int rc = evaluate(s, &req, &ev);
	const struct spf_outcome *o = rc == SPF_OK ? spf_eval_outcome(ev) : NULL;
	if (o == NULL) {
		printf("FAIL %s: evaluation error: %s\n", name, spf_strerror(rc ? rc : SPF_ESTATE));
		tot->failed++;
		spf_eval_free(ev);
		return;
	}

	size_t idx = nres;
	for (size_t i = 0; i < nres; i++)
		if (res[i] == o->result)
			idx = i;
	bool exp_ok = true;
	if (expn != NULL)
		exp_ok = o->explanation != NULL && eq_ci(o->explanation, strlen(o->explanation),
		    sc(expn), sclen(expn));
	bool ok = idx < nres && exp_ok;

	struct exception *e = find_exception(name);
	if (e != NULL)
		e->seen = true;
	if (ok && e != NULL) {
		printf("STALE exception %s: passes the suite (%s); remove it from %s\n", name,
		    spf_result_name(o->result), opt.exceptions);
		tot->stale++;
	}
	if (ok) {
		tot->passed++;
		if (idx > 0) {
			printf("WARN %s: %s preferred to %s\n", name, spf_result_name(res[0]),
			    spf_result_name(o->result));
			tot->warnings++;
		} else if (opt.verbose) {
			printf("ok %s: %s\n", name, spf_result_name(o->result));
		}
		spf_eval_free(ev);
		return;
	}
	if (e != NULL && e->result == o->result) {
		tot->excepted++;
		printf("EXCEPTED %s: expected ", name);
		print_expected(res, nres);
		printf(", got %s: %s\n", spf_result_name(o->result), e->reason);
		spf_eval_free(ev);
		return;
	}

	tot->failed++;
	printf("FAIL %s (scenario %ld): expected ", name, s->no);
	print_expected(res, nres);
	printf(", got %s", spf_result_name(o->result));
	if (expn != NULL) {
		printf("; explanation '");
		put_bytes(stdout, sc(expn), sclen(expn));
		printf("' expected");
	}
	printf("; got explanation ");
	if (o->explanation != NULL) {
		putchar('\'');
		put_bytes(stdout, o->explanation, strlen(o->explanation));
		putchar('\'');
	} else {
		printf("(none)");
	}
	printf("; problem: ");
	if (o->problem != NULL)
		put_bytes(stdout, o->problem, strlen(o->problem));
	else
		printf("(none)");
	if (e != NULL)
		printf(" [exception expected %s]", spf_result_name(e->result));
	putchar('\n');
	spf_eval_free(ev);
}

/* One tsv row per test, as tests-index.tsv has them. */
static void list_test(yaml_document_t *doc, const struct scenario *s, const char *desc,
    const char *name, yaml_node_t *t)
{
	enum spf_result res[SPF_RESULT_COUNT];
	size_t nres = test_results(doc, t, name, res);
	yaml_node_t *expn = map_get(doc, t, "explanation");
	printf("%s\t%ld\t%s\t%s\t%s\t%s\t%s\t", opt.file_base, s->no, desc, name,
	    cstr(map_get(doc, t, "host"), "host"), cstr(map_get(doc, t, "helo"), "helo"),
	    cstr(map_get(doc, t, "mailfrom"), "mailfrom"));
	for (size_t i = 0; i < nres; i++)
		printf("%s%s", i ? "," : "", spf_result_name(res[i]));
	putchar('\t');
	if (is_scalar(expn))
		fwrite(sc(expn), 1, sclen(expn), stdout);
	putchar('\n');
}

static unsigned run_scenario(yaml_document_t *doc, long no, struct totals *tot)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);
	if (root == NULL || root->type != YAML_MAPPING_NODE)
		die("%s: document %ld is not a mapping", opt.file, no);
	yaml_node_t *d = map_get(doc, root, "description");
	const char *desc = is_scalar(d) ? cstr(d, "description") : "";
	yaml_node_t *tests = map_get(doc, root, "tests");
	if (tests == NULL || tests->type != YAML_MAPPING_NODE)
		die("%s: scenario %ld has no tests", opt.file, no);

	struct scenario s;
	memset(&s, 0, sizeof(s));
	s.no = no;
	load_zone(doc, root, &s);
	tot->scenarios++;
	tot->names += (unsigned)s.nname;

	unsigned bad = 0;
	bool selected = opt.scenario == 0 || opt.scenario == no;
	if (opt.emit_dir != NULL && selected && s.nname > 0)
		bad += emit_zone(&s, desc);
	for (yaml_node_pair_t *p = tests->data.mapping.pairs.start;
	    p < tests->data.mapping.pairs.top; p++) {
		const char *name = cstr(node_at(doc, p->key), "a test name");
		yaml_node_t *t = node_at(doc, p->value);
		tot->tests++;
		if (!selected || (opt.only != NULL && strcmp(opt.only, name) != 0))
			continue;
		if (opt.list)
			list_test(doc, &s, desc, name, t);
		else if (opt.emit_dir == NULL)
			run_test(doc, &s, name, t, tot);
	}
	scenario_free(&s);
	return bad;
}

/* ------------------------------------------------------------------------------------ */

static void load_exceptions(const char *path)
{
	FILE *fp = fopen(path, "r");
	if (fp == NULL)
		die("%s: %s", path, strerror(errno));
	char line[1024];
	unsigned lineno = 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		size_t len = strcspn(line, "\r\n");
		line[len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		char *tab1 = strchr(line, '\t');
		char *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
		if (tab2 == NULL)
			die("%s:%u: want test<TAB>result<TAB>reason", path, lineno);
		*tab1 = *tab2 = '\0';
		exc = realloc(exc, (nexc + 1) * sizeof(*exc));
		if (exc == NULL)
			die("out of memory");
		struct exception *e = &exc[nexc++];
		memset(e, 0, sizeof(*e));
		if (spf_result_parse(tab1 + 1, &e->result) != SPF_OK)
			die("%s:%u: unknown result '%s'", path, lineno, tab1 + 1);
		e->test = xstrndup(line, strlen(line));
		e->reason = xstrndup(tab2 + 1, strlen(tab2 + 1));
	}
	fclose(fp);
}

static void usage(void)
{
	fprintf(stderr, "usage: spf-suite [--verbose] [--exceptions FILE] [--only TEST] "
	    "[--scenario N]\n"
	    "                 [--emit-zones DIR] [--resolver IP@PORT [--timeout MS]] "
	    "[--list] FILE.yml\n");
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "list", no_argument, NULL, 'l' },
		{ "exceptions", required_argument, NULL, 'x' },
		{ "only", required_argument, NULL, 'o' },
		{ "scenario", required_argument, NULL, 's' },
		{ "emit-zones", required_argument, NULL, 'e' },
		{ "resolver", required_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	opt.timeout_ms = SPF_DEFAULT_TIME_BUDGET_MS;
	int c;
	char *end;
	while ((c = getopt_long(argc, argv, "vlx:o:s:e:r:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'v': opt.verbose = true; break;
		case 'l': opt.list = true; break;
		case 'x': opt.exceptions = optarg; break;
		case 'o': opt.only = optarg; break;
		case 'e': opt.emit_dir = optarg; break;
		case 'r': opt.resolver = optarg; break;
		case 's':
			opt.scenario = strtol(optarg, &end, 10);
			if (*end != '\0' || opt.scenario < 1)
				die("--scenario wants a number from 1");
			break;
		case 't': {
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end != '\0' || v == 0 || v > 3600000)
				die("--timeout wants milliseconds");
			opt.timeout_ms = (unsigned)v;
			break;
		}
		default: usage();
		}
	}
	if (optind != argc - 1)
		usage();
	opt.file = argv[optind];
	const char *slash = strrchr(opt.file, '/');
	opt.file_base = slash ? slash + 1 : opt.file;
}

static void open_resolver(void)
{
	if (opt.resolver == NULL)
		return;
	struct spf_resolver_options ro;
	spf_resolver_options_init(&ro);
	ro.mode = SPF_RESOLVER_FORWARD;
	ro.forwarders = (const char *const *)&opt.resolver;
	ro.nforwarders = 1;
	/* The integration tests run the suite through each engine. */
	const char *engine = getenv("SPFGATE_TEST_ENGINE");
	if (engine != NULL && strcmp(engine, "stub") == 0)
		ro.engine = SPF_ENGINE_STUB;
	char err[256] = "";
	int rc = spf_resolver_new(&resolver, &ro, err, sizeof(err));
	if (rc != SPF_OK)
		die("resolver %s: %s: %s", opt.resolver, spf_strerror(rc), err);
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	if (opt.exceptions != NULL)
		load_exceptions(opt.exceptions);
	if (opt.emit_dir != NULL && mkdir(opt.emit_dir, 0777) != 0 && errno != EEXIST)
		die("%s: %s", opt.emit_dir, strerror(errno));
	open_resolver();

	FILE *fp = fopen(opt.file, "rb");
	if (fp == NULL)
		die("%s: %s", opt.file, strerror(errno));
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser))
		die("out of memory");
	yaml_parser_set_input_file(&parser, fp);

	if (opt.list)
		printf("file\tscenario\tscenario_description\ttest\thost\thelo\tmailfrom\t"
		    "results\texplanation\n");
	struct totals tot;
	memset(&tot, 0, sizeof(tot));
	unsigned emit_bad = 0;
	for (long no = 1;; no++) {
		yaml_document_t doc;
		if (!yaml_parser_load(&parser, &doc))
			die("%s:%zu:%zu: %s", opt.file, parser.problem_mark.line + 1,
			    parser.problem_mark.column + 1,
			    parser.problem ? parser.problem : "YAML error");
		if (yaml_document_get_root_node(&doc) == NULL) { /* end of the stream */
			yaml_document_delete(&doc);
			break;
		}
		emit_bad += run_scenario(&doc, no, &tot);
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	fclose(fp);
	spf_resolver_free(resolver);

	if (opt.list)
		return 0;
	printf("%u scenarios, %u tests, %u zone names in %s\n", tot.scenarios, tot.tests,
	    tot.names, opt.file_base);
	if (opt.emit_dir != NULL) {
		printf("zones written to %s, %u mismatches\n", opt.emit_dir, emit_bad);
		return emit_bad == 0 ? 0 : 1;
	}
	for (size_t i = 0; i < nexc; i++)
		if (!exc[i].seen && opt.only == NULL && opt.scenario == 0)
			printf("WARN exception for unknown test %s\n", exc[i].test);
	if (tot.warnings || tot.excepted || tot.stale)
		printf("%u with a non-preferred result, %u excepted, %u stale exceptions\n",
		    tot.warnings, tot.excepted, tot.stale);
	printf("%u passed, %u failed\n", tot.passed, tot.failed);
	for (size_t i = 0; i < nexc; i++) {
		free(exc[i].test);
		free(exc[i].reason);
	}
	free(exc);
	return tot.failed == 0 ? 0 : 1;
}
