/*
 * stub.h - the c-ares stub transport (lib/stub.c) with its timers as parameters.
 *
 * xp_stub_new() (transport.h) is spf_stub_new() with SPF_STUB_TIMEOUT_MS and
 * SPF_STUB_TRIES.  The tests use this one to make a silent server time out fast.
 */
#ifndef SPF_STUB_H
#define SPF_STUB_H

#include "transport.h"

/* The first try's timeout; c-ares doubles it on every round through the servers. */
#define SPF_STUB_TIMEOUT_MS 1000
/* Rounds through the server list before a question fails. */
#define SPF_STUB_TRIES 3

/* As xp_stub_new(), with the first try's timeout (ms, >= 1) and the rounds (>= 1). */
int spf_stub_new(struct xp **out, const struct spf_resolver_options *o, xp_answer_fn *answer,
    void *owner, unsigned timeout_ms, unsigned tries, char *err, size_t errcap);

#endif
