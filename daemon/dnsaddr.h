/*
 * dnsaddr.h - "is the client one of this name's addresses?" (the HELO-address whitelist)
 *
 * The SPF library asks its questions only for evaluations, so this one plain A/AAAA
 * lookup goes through libevent's evdns, with the same zone overlay rules as the
 * resolver: a name the zone covers is answered from it; with offline set, any other
 * name has no address.  evdns has its own small cache, separate from libunbound's;
 * in recurse mode it uses /etc/resolv.conf (it cannot recurse).
 */
#ifndef SPFGATED_DNSADDR_H
#define SPFGATED_DNSADDR_H

#include <stdbool.h>

#include <event2/event.h>

#include "config.h"
#include "spfgate/zone.h"

struct dnsaddr_ctx;
struct dnsaddr;

/* Sets up lookups for the process ([dns] settings of c); NULL on failure (logged). */
struct dnsaddr_ctx *dnsaddr_ctx_new(struct event_base *base, const struct config *c,
    const struct spf_zone *zone, bool offline);
void dnsaddr_ctx_free(struct dnsaddr_ctx *x);

/*
 * done(arg, match) is called once: match is true when an A or AAAA record of name
 * equals client.  It may be called before dnsaddr_start() returns (zone, offline).
 * Returns a handle for dnsaddr_cancel() (NULL when done was already called).
 */
typedef void dnsaddr_done_fn(void *arg, bool match);
struct dnsaddr *dnsaddr_start(struct dnsaddr_ctx *x, const char *name,
    const struct spf_addr *client, dnsaddr_done_fn *done, void *arg);
/* done() will not be called any more. */
void dnsaddr_cancel(struct dnsaddr *d);

#endif
