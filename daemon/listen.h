/*
 * listen.h - the standalone daemon's listening sockets (unix and TCP, IPv4 and IPv6).
 *
 * listen_open() binds every "listen =" address of the configuration (as root, before
 * privileges are dropped) and hands accepted connections to session_new().  The
 * sockets stay open across SIGHUP reloads: changing them needs a restart.
 */
#ifndef SPFGATED_LISTEN_H
#define SPFGATED_LISTEN_H

#include "config.h"
#include "session.h"

/* Opens and registers every listener; returns 0, or -1 after logging why. */
int listen_open(struct server *srv, const struct config *c, const char *owner);
/* Closes the listeners and removes the unix sockets it created. */
void listen_close(void);

#endif
