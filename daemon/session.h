/*
 * session.h - one policy connection: requests, SPF checks, replies.
 *
 * A session reads requests from a descriptor (a socket accepted by listen.c, or
 * stdin/stdout in --stdio mode), runs the SPF checks of each through the process's
 * resolver, and writes one reply per request.  Requests on one connection are
 * answered in order; several connections run their checks at the same time.
 *
 * The server (struct server) is what all sessions share: the event base, the
 * resolver, the current configuration.  Each request takes a reference on the
 * configuration current when it completes and keeps it until it is answered, so a
 * reload never changes a decision half-way.
 */
#ifndef SPFGATED_SESSION_H
#define SPFGATED_SESSION_H

#include <stdbool.h>

#include <event2/event.h>

#include "config.h"
#include "dnsaddr.h"
#include "spfgate/resolver.h"

struct server {
	struct event_base *base;
	struct spf_resolver *resolver;
	struct config *cfg;     /* current configuration; one reference held */
	struct dnsaddr_ctx *dx; /* address lookups for the HELO-address whitelist: made
	                         * at its first use (session.c), NULL until then */
	bool dx_failed;         /* ... and that failed (logged once) */
	const struct spf_zone *zone; /* the zone overlay (-z, "zone ="), or NULL */
	bool offline;
	char hostname[256];     /* the receiver when the config names none */
	unsigned nsessions;
	unsigned long nrequests;
	bool stdio;             /* --stdio: the loop ends with the one session */
};

struct session;

/*
 * Starts a session reading from rfd and writing to wfd (the same descriptor for a
 * socket).  peer names the other end in logs.  Closes the descriptors when done
 * unless they are the standard ones.  Returns NULL (descriptors closed) on failure.
 */
struct session *session_new(struct server *srv, int rfd, int wfd, const char *peer);

/* Frees every session (at exit): checks are cancelled, nothing more is written. */
void session_close_all(void);

#endif
