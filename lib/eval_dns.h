/*
 * eval_dns.h - the evaluator's question table and trace helpers (lib/eval_dns.c).
 */
#ifndef SPF_EVAL_DNS_H
#define SPF_EVAL_DNS_H

#include "eval_int.h"

/* The question (name, type), created if new; NULL when out of memory or over the cap. */
struct dnsq *evq_ask(struct spf_eval *ev, const char *name, uint16_t type, bool prefetch);
struct dnsq *evq_find(struct spf_eval *ev, const char *name, uint16_t type);
struct dnsq *evq_by_id(struct spf_eval *ev, uint32_t id);
/* Decodes ans into q (q becomes Q_DONE).  SPF_OK or SPF_ENOMEM. */
int evq_store(struct spf_eval *ev, struct dnsq *q, const struct spf_answer *ans);
/* NXDOMAIN, or NOERROR without records of the type (§4.6.4 "void lookup"). */
bool evq_void(const struct dnsq *q);
/* SERVFAIL or timeout: a DNS error (§2.6.6). */
bool evq_error(const struct dnsq *q);

/* Appends a trace entry made of text's contents (no-op unless tracing). */
void evt_add(struct spf_eval *ev, enum spf_trace_kind kind, unsigned depth, const char *domain,
    struct spf_buf *text);
void evt_answer(struct spf_eval *ev, const struct dnsq *q, const struct spf_answer *ans);

#endif
