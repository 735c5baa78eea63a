/*
 * spfgate/zone.h - the in-memory zone driver.
 *
 * A set of resource records held in memory, answering the evaluator's questions the
 * way a recursive resolver would (CNAME chains followed, loops reported as SERVFAIL).
 * Used by the tests, the conformance suite runner, the fuzzers, and by
 * `spfgate check --zone FILE` to try a record before it is published.
 *
 * Names are compared case-insensitively (ASCII) and a trailing dot is ignored.
 * Owner names may hold any bytes except NUL and '.' within a label.
 */
#ifndef SPFGATE_ZONE_H
#define SPFGATE_ZONE_H

#include "spfgate/spfgate.h"

#ifdef __cplusplus
extern "C" {
#endif

struct spf_zone;

/* A new, empty zone; NULL when out of memory. */
struct spf_zone *spf_zone_new(void);
void spf_zone_free(struct spf_zone *z);

/* Adds one RR; rdata is wire form (see struct spf_rr) and is copied. */
int spf_zone_add_rr(struct spf_zone *z, const char *owner, uint16_t type, uint32_t ttl,
    const uint8_t *rdata, size_t rdlen);
/* Convenience: a TXT RR of nstr character-strings given as (pointer, length) pairs;
 * each string is at most 255 bytes (SPF_EINVAL otherwise). nstr may be 0. */
int spf_zone_add_txt(struct spf_zone *z, const char *owner, const char *const *str,
    const size_t *len, size_t nstr);
/* Convenience: an A or AAAA RR from text. */
int spf_zone_add_addr(struct spf_zone *z, const char *owner, const char *addr_text);
/* Convenience: an MX RR (target "" or "." is the root, a null MX). */
int spf_zone_add_mx(struct spf_zone *z, const char *owner, uint16_t pref, const char *target);
/* Convenience: a PTR or CNAME RR. */
int spf_zone_add_name_rr(struct spf_zone *z, const char *owner, uint16_t type,
    const char *target);
/* Makes the name exist with no records (NODATA for every type). */
int spf_zone_add_name(struct spf_zone *z, const char *owner);
/* Every question for owner times out, except for types it has records of. */
int spf_zone_set_timeout(struct spf_zone *z, const char *owner);
/* Every question for owner gets SERVFAIL, except for types it has records of. */
int spf_zone_set_servfail(struct spf_zone *z, const char *owner);

/*
 * Declares apex as a zone this set is authoritative for (loading a zone file does it
 * for the file's origin).  spf_zone_covers() says whether a name is at or below one.
 */
int spf_zone_add_apex(struct spf_zone *z, const char *apex);
bool spf_zone_covers(const struct spf_zone *z, const char *name);

/*
 * Answers a question: NXDOMAIN for an unknown name, the records of the type, the
 * target's records through CNAMEs (the CNAME RRs included; a loop or a chain longer
 * than 8 gives SERVFAIL), TIMEOUT/SERVFAIL for names so marked, NODATA otherwise.
 * *out points into z and stays valid until z is changed or freed.
 */
void spf_zone_lookup(const struct spf_zone *z, const char *name, uint16_t type,
    struct spf_answer *out);

/*
 * Runs ev to completion against z (for a synchronous caller).  Returns SPF_OK, or
 * the status of a failed spf_eval_answer().
 */
int spf_zone_run(const struct spf_zone *z, struct spf_eval *ev);

/*
 * Loads an RFC 1035 master file (the format BIND and nsd read), parsed by ldns.
 * origin may be NULL (the file's $ORIGIN, or the owner of its SOA, is used).  On a
 * syntax error, returns SPF_ESYNTAX and writes "path:line: message" into err;
 * SPF_ENOENT when the file cannot be opened (err says why).
 */
int spf_zone_load_file(struct spf_zone *z, const char *path, const char *origin,
    char *err, size_t errcap);

#ifdef __cplusplus
}
#endif

#endif
