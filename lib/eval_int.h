/*
 * eval_int.h - the evaluator's private types (lib/eval.c, lib/eval_dns.c).
 *
 * An evaluation keeps every DNS question it ever asked in a table (struct dnsq), so
 * nothing is asked twice, answers can arrive in any order, and speculative prefetches
 * are found waiting when evaluation reaches them.  include: pushes a frame on an
 * explicit, bounded stack; redirect= replaces the top frame (§6.1).
 */
#ifndef SPF_EVAL_INT_H
#define SPF_EVAL_INT_H

#include <stdalign.h>
#include <stddef.h>

#include "spfgate/spfgate.h"

#include "arena.h"
#include "buf.h"
#include "macro.h"
#include "record.h"

enum dnsq_state {
	Q_NEW,  /* created, not yet handed out */
	Q_SENT, /* handed out, waiting for the answer */
	Q_DONE, /* answered */
};

/* One DNS question of this evaluation and, once answered, the part of its answer the
 * evaluator uses, decoded and copied into the arena. */
struct dnsq {
	uint32_t id;
	uint16_t type;
	enum dnsq_state state;
	bool prefetch;      /* asked speculatively, before evaluation needed it (trace) */
	bool used;          /* asked by the evaluation itself: its answer counts (secure) */
	bool want_record;   /* a TXT asked for an SPF record: prefetch its terms */
	bool want_hosts;    /* an MX asked by a prefetch: prefetch its hosts too */
	bool want_ptrhosts; /* a PTR asked by a prefetch: prefetch its names' addresses */
	bool secure;
	enum spf_rcode rcode;
	char *name;
	size_t namelen;         /* strlen(name): compared before the names are */
	/* decoded records of the question's type */
	size_t n;
	struct spf_slice *txt;  /* TXT: character-strings concatenated (may hold NUL) */
	struct spf_addr *addr;  /* A, AAAA */
	char **names;           /* MX targets ("" for a null MX), PTR names; NULL if unusable */
	/* TXT asked for an SPF record: the selection and parse, done once (§4.5) */
	bool selected;
	size_t nspf;                  /* records starting with v=spf1 */
	struct spf_slice rec_text;    /* the one record, when nspf == 1 */
	int rec_status;               /* SPF_OK, SPF_ESYNTAX, SPF_ENOMEM */
	struct spf_record rec;
	struct spf_record_error rec_err;
	struct dnsq *next;      /* creation order */
};

enum frame_phase {
	F_RECORD, /* looking up and selecting the record of domain */
	F_TERMS,  /* evaluating terms */
};

enum frame_kind {
	FRAME_TOP,
	FRAME_INCLUDE,
};

struct frame {
	enum frame_kind kind;
	enum frame_phase phase;
	bool redirected;     /* entered through redirect=: "none" becomes permerror */
	char *domain;        /* <domain> of this check_host() */
	struct spf_record rec;
	size_t term;         /* the term being evaluated */
	/* state of the term being evaluated, reset by next_term() */
	bool t_counted;      /* counted toward SPF_MAX_DNS_TERMS */
	bool t_void;         /* its void lookup counted */
	bool t_traced;
	bool t_child_done;   /* include: the child frame has finished */
	enum spf_result t_child;
	char *t_name;        /* the expanded target name (or NULL before expansion) */
	bool t_name_invalid; /* the target could not be a DNS name */
};

enum eval_phase {
	PH_EVAL,    /* running frames */
	PH_EXPLAIN, /* result fail: fetching and expanding the explanation */
	PH_DONE,
};

struct spf_eval {
	struct spf_arena arena;
	struct spf_options opts;
	enum spf_identity identity;
	struct spf_addr client;
	char *sender, *local, *sender_domain, *helo, *receiver;
	char *default_exp;

	enum eval_phase phase;
	bool expired;

	struct frame stack[SPF_MAX_DEPTH];
	unsigned depth; /* frames in use */

	/* §4.6.4 counters */
	unsigned dns_terms;
	unsigned void_lookups;
	unsigned prefetch_terms;

	/* the question table: list in creation order, and by id (index id - 1) */
	struct dnsq *qhead, *qtail, *qsend;
	struct dnsq **byid;
	size_t nq, capq;
	size_t pending;

	/* PTR validation of the client (ptr mechanism, %{p}), done once */
	struct dnsq *ptr_q;
	bool ptr_ready;
	char **validated;
	size_t nvalidated;

	/* the explanation phase */
	struct dnsq *exp_q;
	bool exp_asked;

	/* the decision */
	const struct spf_term *decided_term;
	char *decided_domain;
	struct spf_outcome out;

	/* expand_domain()'s buffer for macro expansion (arena, EVAL_EXPAND_MAX bytes) */
	char *expand_buf;

	/* trace (malloc'ed vector; texts in the arena) */
	struct spf_trace *trace;
	size_t ntrace, captrace;

	/* the arena's first chunk, allocated with the evaluation (spf_arena_give) */
	alignas(max_align_t) unsigned char arena_first[];
};

#endif
