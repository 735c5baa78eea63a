/*
 * spfgate/limits.h - every RFC 7208 limit as a named constant, with its section.
 *
 * One place for the numbers the RFC fixes, so that no code carries a bare 10 or 253
 * (unbound's iterator.h does the same).  The configurable ones (void lookups, time
 * budget) are the defaults of struct spf_options.
 */
#ifndef SPFGATE_LIMITS_H
#define SPFGATE_LIMITS_H

/* §4.6.4: include, a, mx, ptr, exists and redirect together: at most 10 per check_host(). */
#define SPF_MAX_DNS_TERMS 10
/* §4.6.4: terms whose lookup returned NXDOMAIN or no answers: SHOULD be limited to 2. */
#define SPF_MAX_VOID_LOOKUPS 2
/* §4.6.4: address lookups per "mx" mechanism; exceeding it is a permerror. */
#define SPF_MAX_MX_NAMES 10
/* §4.6.4: address lookups per "ptr" mechanism or %{p}; names past the 10th are ignored. */
#define SPF_MAX_PTR_NAMES 10
/* §7.3 / RFC 1035: an expanded domain-spec is cut to 253 octets by dropping left labels. */
#define SPF_MAX_DOMAIN 253
/* RFC 1035 §2.3.4: one label. */
#define SPF_MAX_LABEL 63
/* §4.6.4: elapsed time for one check_host(); the RFC asks for at least 20 seconds. */
#define SPF_DEFAULT_TIME_BUDGET_MS 20000

/*
 * Implementation limits (not from the RFC), chosen so that no legitimate record comes
 * near them and no hostile one can make an evaluation expensive.
 */
/* include/redirect nesting: at most SPF_MAX_DNS_TERMS frames can ever be pushed. */
#define SPF_MAX_DEPTH (SPF_MAX_DNS_TERMS + 1)
/* bytes of memory one evaluation may use (records, names, trace) before temperror. */
#define SPF_DEFAULT_MEM_LIMIT (1024 * 1024)
/* a single TXT RR can carry at most 65535 bytes of rdata. */
#define SPF_MAX_RECORD 65535
/* the longest explanation we keep (§6.2 gives no limit; an SMTP reply line is 512). */
#define SPF_MAX_EXPLANATION 1024

#endif
