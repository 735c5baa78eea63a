/*
 * zonefile.c - loading an RFC 1035 master file into an in-memory zone.
 *
 * Entry point: spf_zone_load_file.  The file is read record by record with ldns
 * (ldns_rr_new_frm_fp_l, which handles $ORIGIN, $TTL, relative names, parentheses,
 * multi-string TXT, \DDD escapes and the RFC 3597 generic \# form, and counts lines).
 * Each RR's RDATA is converted to uncompressed wire form with
 * ldns_rr_rdata2buffer_wire() and added with spf_zone_add_rr(); every type is stored,
 * including ones the evaluator never asks for.
 *
 * Apexes: the owner of every SOA is declared with spf_zone_add_apex(); a file without a
 * SOA makes the origin its apex (the origin argument, else the first $ORIGIN).
 *
 * Names: owners are turned from wire form into the zone's dotted text.  A label holding
 * a '.' or a NUL byte (\. or \000 in the file) cannot be represented there and is
 * rejected as a syntax error rather than silently changed.
 *
 * Errors: "path:line: message" in err with SPF_ESYNTAX (the message is ldns's);
 * "path: strerror" with SPF_ENOENT when the file cannot be opened.  $INCLUDE is not
 * supported (an error): a file names exactly what it loads.  The zone may already hold
 * the records read before an error; the caller frees it.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <ldns/ldns.h>

#include "buf.h"
#include "sys.h"
#include "spfgate/zone.h"

#ifndef SPFGATE_LDNS_SONAME
#define SPFGATE_LDNS_SONAME "libldns.so.3"
#endif

/*
 * ldns is opened with dlopen() on the first zone file, not linked: it brings libssl
 * and libcrypto, megabytes and milliseconds of start-up that a process reading no
 * zone file (every spawned spfgated in production) should not pay.  The handle is
 * never closed.
 */
static struct {
	bool loaded;
#define LD(f) __typeof__(ldns_##f) *f;
	LD(rdf_data) LD(rdf_size) LD(rr_owner) LD(rr_rdata2buffer_wire) LD(rr_get_type)
	LD(rr_ttl) LD(dname_new_frm_str) LD(buffer_new) LD(buffer_free) LD(rr_new_frm_fp_l)
	LD(rr_free) LD(get_errorstr_by_id) LD(rdf_deep_free)
#undef LD
} ld;

/* Opens ldns once per process; false (and why in err) when it cannot. */
static bool ld_load(char *err, size_t errcap)
{
	if (ld.loaded)
		return true;
	static const struct spf_dlsym syms[] = {
#define LD(f) { "ldns_" #f, offsetof(__typeof__(ld), f) },
		LD(rdf_data) LD(rdf_size) LD(rr_owner) LD(rr_rdata2buffer_wire) LD(rr_get_type)
		LD(rr_ttl) LD(dname_new_frm_str) LD(buffer_new) LD(buffer_free)
		LD(rr_new_frm_fp_l) LD(rr_free) LD(get_errorstr_by_id) LD(rdf_deep_free)
#undef LD
	};
	if (!spf_dlopen_table(SPFGATE_LDNS_SONAME, syms, sizeof(syms) / sizeof(syms[0]), &ld,
	    sizeof(ld), err, errcap))
		return false;
	ld.loaded = true;
	return true;
}

/* "path:line: message" (line 0 is left out), truncated to fit. */
static void set_err(char *err, size_t errcap, const char *path, int line, const char *msg)
{
	if (err == NULL || errcap == 0)
		return;
	struct spf_buf b;
	spf_buf_init(&b, err, errcap - 1);
	spf_buf_puts(&b, path);
	if (line > 0) {
		spf_buf_putc(&b, ':');
		spf_buf_put_u64(&b, (uint64_t)line);
	}
	spf_buf_puts(&b, ": ");
	spf_buf_puts(&b, msg);
	/* On overflow keep what fits: an error message is better truncated than lost
	 * (the put functions stop at the first piece that does not fit). */
	err[b.len] = '\0';
}

/*
 * The line of the last byte ldns consumed: ldns reads a record up to and including
 * its newline, so that byte ends the offending line (or is the file's last byte).
 * Counting from the file is exact where ldns's own counter is not (it has moved past
 * the newline, except at the end of a file without one).
 */
static int last_line(FILE *fp)
{
	long pos = ftell(fp);
	if (pos <= 0 || fseek(fp, 0, SEEK_SET) != 0)
		return 0;
	int line = 1;
	for (long i = 0; i < pos - 1; i++) {
		int c = getc(fp);
		if (c == EOF)
			break;
		if (c == '\n' && line < INT_MAX)
			line++;
	}
	return line;
}

/*
 * The dotted text of a wire-form name (as ldns keeps an owner) into out, without a
 * trailing dot; the root becomes "".  Returns false for a label we cannot represent.
 */
static bool dname_text(const ldns_rdf *rdf, char *out, size_t cap)
{
	const uint8_t *p = ld.rdf_data(rdf);
	size_t len = ld.rdf_size(rdf);
	struct spf_buf b;
	spf_buf_init(&b, out, cap);
	size_t i = 0;
	while (i < len) {
		uint8_t l = p[i++];
		if (l == 0)
			return spf_buf_cstr(&b) != NULL;
		if (l > len - i)
			return false;
		if (b.len > 0)
			spf_buf_putc(&b, '.');
		for (size_t k = 0; k < l; k++)
			if (p[i + k] == '.' || p[i + k] == '\0')
				return false;
		spf_buf_put(&b, (const char *)p + i, l);
		i += l;
	}
	return false;
}

/* Adds one parsed RR, its RDATA converted in wire (reused for every RR).  Returns
 * SPF_OK or a status, with msg saying why. */
static int add_ldns_rr(struct spf_zone *z, const ldns_rr *rr, ldns_buffer *wire,
    const char **msg)
{
	char owner[LDNS_MAX_DOMAINLEN + 2];
	if (!dname_text(ld.rr_owner(rr), owner, sizeof(owner))) {
		*msg = "owner name with a '.' or NUL byte inside a label is not supported";
		return SPF_ESYNTAX;
	}
	ldns_buffer_clear(wire);
	int rc;
	if (ld.rr_rdata2buffer_wire(wire, rr) != LDNS_STATUS_OK ||
	    ldns_buffer_position(wire) > UINT16_MAX) {
		*msg = "RDATA too long";
		rc = SPF_ESYNTAX;
	} else {
		rc = spf_zone_add_rr(z, owner, (uint16_t)ld.rr_get_type(rr), ld.rr_ttl(rr),
		    ldns_buffer_begin(wire), ldns_buffer_position(wire));
		if (rc == SPF_EINVAL)
			*msg = "owner name is not a valid DNS name";
		else if (rc != SPF_OK)
			*msg = spf_strerror(rc);
	}
	if (rc == SPF_OK && ld.rr_get_type(rr) == LDNS_RR_TYPE_SOA) {
		rc = spf_zone_add_apex(z, owner);
		if (rc != SPF_OK)
			*msg = spf_strerror(rc);
	}
	return rc;
}

int spf_zone_load_file(struct spf_zone *z, const char *path, const char *origin,
    char *err, size_t errcap)
{
	if (err != NULL && errcap > 0)
		err[0] = '\0';
	if (z == NULL || path == NULL)
		return SPF_EINVAL;

	/* The starting origin: the caller's, else the root so that a relative name in a
	 * file without $ORIGIN still means something definite. */
	char why[256];
	if (!ld_load(why, sizeof(why))) {
		set_err(err, errcap, path, 0, why);
		return SPF_EIO;
	}
	ldns_rdf *cur_origin = ld.dname_new_frm_str(origin != NULL && origin[0] != '\0' ?
	    origin : ".");
	if (cur_origin == NULL) {
		set_err(err, errcap, path, 0, "invalid origin");
		return SPF_EINVAL;
	}

	FILE *fp = fopen(path, "r");
	if (fp == NULL) {
		int e = errno;
		set_err(err, errcap, path, 0, strerror(e));
		ld.rdf_deep_free(cur_origin);
		return e == ENOENT ? SPF_ENOENT : SPF_EIO;
	}
	ldns_buffer *wire = ld.buffer_new(LDNS_MAX_PACKETLEN);
	if (wire == NULL) {
		fclose(fp);
		ld.rdf_deep_free(cur_origin);
		set_err(err, errcap, path, 0, "out of memory");
		return SPF_ENOMEM;
	}

	ldns_rdf *prev = NULL;
	uint32_t ttl = 3600;
	int line = 1;
	int rc = SPF_OK;
	const char *msg = NULL;
	bool have_soa = false;
	char first_origin[LDNS_MAX_DOMAINLEN + 2] = "";
	bool saw_origin = false;
	errno = 0;
	while (rc == SPF_OK) {
		ldns_rr *rr = NULL;
		ldns_status s = ld.rr_new_frm_fp_l(&rr, fp, &ttl, &cur_origin, &prev, &line);
		switch (s) {
		case LDNS_STATUS_OK:
			if (ld.rr_get_type(rr) == LDNS_RR_TYPE_SOA)
				have_soa = true;
			rc = add_ldns_rr(z, rr, wire, &msg);
			ld.rr_free(rr);
			break;
		case LDNS_STATUS_SYNTAX_EMPTY:
			/* A blank line, a comment, or the end of the file. */
			break;
		case LDNS_STATUS_SYNTAX_TTL:
			break;
		case LDNS_STATUS_SYNTAX_ORIGIN:
			if (!saw_origin && cur_origin != NULL) {
				saw_origin = true;
				if (!dname_text(cur_origin, first_origin, sizeof(first_origin)))
					first_origin[0] = '\0';
			}
			break;
		default:
			if (rr != NULL)
				ld.rr_free(rr);
			msg = s == LDNS_STATUS_SYNTAX_INCLUDE ? "$INCLUDE is not supported" :
			    ld.get_errorstr_by_id(s);
			if (msg == NULL)
				msg = "syntax error";
			rc = SPF_ESYNTAX;
			break;
		}
		if (feof(fp))
			break;
		if (ferror(fp)) { /* a read error (a directory, say) would never reach EOF */
			msg = errno != 0 ? strerror(errno) : "read error";
			rc = SPF_EIO;
			break;
		}
	}
	if (rc == SPF_EIO)
		set_err(err, errcap, path, 0, msg);
	else if (rc != SPF_OK)
		set_err(err, errcap, path, last_line(fp), msg);
	fclose(fp);
	ld.buffer_free(wire);
	ld.rdf_deep_free(prev);
	ld.rdf_deep_free(cur_origin);

	if (rc == SPF_OK && !have_soa) {
		const char *apex = origin != NULL && origin[0] != '\0' ? origin :
		    saw_origin ? first_origin : NULL;
		if (apex != NULL && spf_zone_add_apex(z, apex) != SPF_OK) {
			set_err(err, errcap, path, 0, "invalid origin");
			rc = SPF_EINVAL;
		}
	}
	return rc;
}
