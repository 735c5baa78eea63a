/*
 * eval.c - check_host() (RFC 7208 §4-§6) as a resumable state machine.
 *
 * Entry points: spf_eval_new, spf_eval_run, spf_eval_next_query, spf_eval_answer,
 * spf_eval_pending, spf_eval_expire, spf_eval_outcome, spf_eval_trace, spf_eval_free.
 *
 * How it runs.  spf_eval_run() advances the top frame one step at a time until it
 * needs an answer that has not arrived (it returns SPF_STEP_NEED_DNS) or the result is
 * known.  Each step is re-entrant: a term that waits is evaluated again from its start
 * when answers arrive, finding them in the question table (eval_dns.c); per-term flags
 * in the frame make the side effects (the §4.6.4 counters) happen exactly once.
 * include: pushes a frame; redirect= replaces the frame's domain (§6.1); temperror and
 * permerror end the whole evaluation at once (§5.2: they propagate unchanged).
 *
 * Independent questions go out together: all MX hosts' addresses, all PTR names'
 * addresses.  With prefetch on, the arrival of a record's TXT also asks the lookups
 * of its DNS-querying terms (at most SPF_MAX_DNS_TERMS in all, never more than the
 * evaluation could count), so an include tree costs its depth in round trips, not its
 * size.  Evaluation order, results and the limits are unaffected: prefetched answers
 * are only ever read in RFC order.
 *
 * Memory: the evaluation's arena holds every string and record; the outcome and the
 * trace point into it and live until spf_eval_free().
 */
#include <stdlib.h>
#include <string.h>

#include "eval_dns.h"
#include "eval_int.h"

/* Longest sender or HELO name accepted (RFC 5321 §4.5.3.1.3 allows a 256-byte path). */
#define EVAL_MAX_IDENTITY 1024
/* Expansion buffer for a domain-spec before §7.3 truncation. */
#define EVAL_EXPAND_MAX 8192
/* Built-in default explanation (§6.2: a local policy choice). */
#define EVAL_DEFAULT_EXP "%{i} is not one of %{d}'s designated mail servers."

/* Step outcomes. */
enum {
	T_CONT,    /* progress made; step again */
	T_WAIT,    /* an answer is missing */
	T_MATCH,   /* the term matched */
	T_NOMATCH, /* the term did not match */
	T_ABORT,   /* the evaluation ended (temperror/permerror set) */
	T_PUSHED,  /* include: a child frame was pushed */
};

static void finish_frame(struct spf_eval *ev, enum spf_result r);

/* ---------------------------------------------------------------- small helpers */

static struct frame *top(struct spf_eval *ev)
{
	return &ev->stack[ev->depth - 1];
}

static void reset_term(struct frame *f)
{
	f->t_counted = false;
	f->t_void = false;
	f->t_traced = false;
	f->t_child_done = false;
	f->t_name = NULL;
	f->t_name_invalid = false;
}

static void trace_text(struct spf_eval *ev, enum spf_trace_kind kind, const char *a,
    struct spf_slice b, const char *c)
{
	if (!ev->opts.trace)
		return;
	char tmp[1024];
	struct spf_buf buf;
	spf_buf_init(&buf, tmp, sizeof(tmp));
	if (a)
		spf_buf_puts(&buf, a);
	spf_buf_put_escaped(&buf, b);
	if (c)
		spf_buf_puts(&buf, c);
	unsigned d = ev->depth ? ev->depth - 1 : 0;
	evt_add(ev, kind, d, ev->depth ? top(ev)->domain : ev->sender_domain, &buf);
}

static void trace_term(struct spf_eval *ev, const struct spf_term *t, const char *what,
    const char *name)
{
	if (!ev->opts.trace)
		return;
	char tmp[1024];
	struct spf_buf b;
	spf_buf_init(&b, tmp, sizeof(tmp));
	spf_buf_put_escaped(&b, t->text);
	if (name != NULL && t->has_domain_spec && spf_term_counts(t->kind)) {
		spf_buf_puts(&b, " [");
		spf_buf_put_escaped(&b, spf_slice_cstr(name));
		spf_buf_putc(&b, ']');
	}
	spf_buf_puts(&b, " -> ");
	spf_buf_puts(&b, what);
	evt_add(ev, SPF_TRACE_TERM, ev->depth - 1, top(ev)->domain, &b);
}

/*
 * Ends the evaluation with temperror or permerror.  The problem names the domain, the
 * term (1-based position and text) and, for syntax errors, the byte offset.
 */
static int abort_eval(struct spf_eval *ev, enum spf_result r, const char *domain,
    const struct spf_term *t, size_t term_no, long offset, const char *msg)
{
	char tmp[1024];
	struct spf_buf b;
	spf_buf_init(&b, tmp, sizeof(tmp));
	if (domain != NULL) {
		spf_buf_put_escaped(&b, spf_slice_cstr(domain));
		spf_buf_puts(&b, ": ");
	}
	if (t != NULL) {
		spf_buf_puts(&b, "term ");
		spf_buf_put_u64(&b, term_no);
		spf_buf_puts(&b, " '");
		spf_buf_put_escaped(&b, t->text);
		spf_buf_puts(&b, "'");
		if (offset >= 0) {
			spf_buf_puts(&b, " at byte ");
			spf_buf_put_u64(&b, (uint64_t)offset);
		}
		spf_buf_puts(&b, ": ");
	} else if (offset >= 0) {
		spf_buf_puts(&b, "at byte ");
		spf_buf_put_u64(&b, (uint64_t)offset);
		spf_buf_puts(&b, ": ");
	}
	spf_buf_puts(&b, msg);
	if (b.overflow) {
		b.overflow = false;
		b.len = b.cap - 4;
		spf_buf_puts(&b, "...");
	}

	struct spf_outcome *o = &ev->out;
	o->result = r;
	o->problem = spf_arena_buf_dup(&ev->arena, &b);
	if (o->problem == NULL)
		o->problem = r == SPF_RESULT_TEMPERROR ? "out of memory" : "error";
	o->problem_domain = domain ? spf_arena_strdup(&ev->arena, domain) : NULL;
	if (t != NULL) {
		char *tt = spf_arena_strndup(&ev->arena, t->text.p, t->text.len);
		o->problem_term = tt;
		o->mechanism = tt;
	}
	o->problem_offset = offset;
	o->domain = o->problem_domain ? o->problem_domain : o->checked_domain;

	char msgbuf[1100];
	struct spf_buf mb;
	spf_buf_init(&mb, msgbuf, sizeof(msgbuf));
	spf_buf_puts(&mb, spf_result_name(r));
	spf_buf_puts(&mb, ": ");
	spf_buf_put(&mb, b.data, b.len);
	evt_add(ev, SPF_TRACE_RESULT, ev->depth ? ev->depth - 1 : 0,
	    ev->depth ? top(ev)->domain : ev->sender_domain, &mb);
	ev->phase = PH_DONE;
	return T_ABORT;
}

static int abort_nomem(struct spf_eval *ev)
{
	return abort_eval(ev, SPF_RESULT_TEMPERROR, NULL, NULL, 0, -1,
	    "evaluation exceeded its memory limit");
}

static int abort_term(struct spf_eval *ev, struct frame *f, const struct spf_term *t,
    enum spf_result r, const char *msg)
{
	return abort_eval(ev, r, f->domain, t, (size_t)(t - f->rec.terms) + 1, -1, msg);
}

/* The client's reverse-lookup name: d.c.b.a.in-addr.arpa or 32 nibbles.ip6.arpa. */
static void reverse_name(const struct spf_addr *a, struct spf_buf *b)
{
	static const char hex[] = "0123456789abcdef";
	if (a->family == 4) {
		for (int i = 3; i >= 0; i--) {
			spf_buf_put_u64(b, a->a[i]);
			spf_buf_putc(b, '.');
		}
		spf_buf_puts(b, "in-addr.arpa");
	} else {
		for (int i = 15; i >= 0; i--) {
			spf_buf_putc(b, hex[a->a[i] & 15]);
			spf_buf_putc(b, '.');
			spf_buf_putc(b, hex[a->a[i] >> 4]);
			spf_buf_putc(b, '.');
		}
		spf_buf_puts(b, "ip6.arpa");
	}
}

static uint16_t addr_type(const struct spf_eval *ev)
{
	return ev->client.family == 6 ? SPF_RR_AAAA : SPF_RR_A;
}

/* Is name equal to domain or below it (label boundary, ASCII case-insensitive)? */
static bool name_within(const char *name, const char *domain)
{
	size_t n = strlen(name), d = strlen(domain);
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (d > 0 && domain[d - 1] == '.')
		d--;
	if (n < d)
		return false;
	struct spf_slice tail = spf_slice_make(name + (n - d), d);
	if (!spf_slice_eq_ci(tail, spf_slice_make(domain, d)))
		return false;
	return n == d || name[n - d - 1] == '.';
}

/* Can this MX target or PTR name be looked up?  (NULL: malformed; "": a null MX.) */
static bool host_usable(const char *h)
{
	return h != NULL && spf_domain_valid(spf_slice_cstr(h));
}

/* %{p} (§7.3): a validated name that is <domain> or below it, else any, else "unknown". */
static const char *validated_name(const struct spf_eval *ev, const char *domain)
{
	if (!ev->ptr_ready || ev->nvalidated == 0)
		return "unknown";
	for (size_t i = 0; i < ev->nvalidated; i++)
		if (name_within(ev->validated[i], domain))
			return ev->validated[i];
	return ev->validated[0];
}

static void macro_ctx(const struct spf_eval *ev, const char *domain, struct spf_macro_ctx *c)
{
	c->sender = spf_slice_cstr(ev->sender);
	c->local = spf_slice_cstr(ev->local);
	c->sender_domain = spf_slice_cstr(ev->sender_domain);
	c->domain = spf_slice_cstr(domain);
	c->helo = spf_slice_cstr(ev->helo);
	c->receiver = spf_slice_cstr(ev->receiver);
	c->validated = spf_slice_cstr(validated_name(ev, domain));
	c->client = &ev->client;
	c->now = ev->opts.now;
}

/*
 * Is spec all domain-mode literals, so that expanding it is a copy?  Every domain-spec
 * comes from a term of a parsed record, whose bytes spf_record_parse() has checked to
 * be 0x21..0x7e (all literals but '%'), so only '%' needs looking for.
 */
static bool macro_free(struct spf_slice spec)
{
	return spec.len == 0 || memchr(spec.p, '%', spec.len) == NULL;
}

/*
 * Expands a domain-spec for <domain> and truncates it (§7.3).  Returns an arena string,
 * or NULL with *invalid set when the result cannot be a DNS name (RFC 7208 leaves this
 * undefined; the suite prefers "treat as non-existent"), or NULL with *invalid clear
 * when out of memory.
 */
static char *expand_domain(struct spf_eval *ev, const char *domain, struct spf_slice spec,
    bool *invalid)
{
	*invalid = false;
	char small[512];
	struct spf_buf b;
	if (macro_free(spec) && spec.len < sizeof(small)) {
		/* Every byte is a literal: the expansion is the text itself, as walk() in
		 * macro.c would copy it.  A small stack buffer: prefetch_record() recurses
		 * (at most SPF_MAX_DNS_TERMS deep). */
		spf_buf_init(&b, small, sizeof(small));
		spf_buf_put_slice(&b, spec);
	} else {
		/* One expansion buffer per evaluation, reused: the result is copied out. */
		if (ev->expand_buf == NULL) {
			ev->expand_buf = spf_arena_alloc(&ev->arena, EVAL_EXPAND_MAX);
			if (ev->expand_buf == NULL)
				return NULL;
		}
		spf_buf_init(&b, ev->expand_buf, EVAL_EXPAND_MAX);
		struct spf_macro_ctx ctx;
		macro_ctx(ev, domain, &ctx);
		struct spf_macro_error err;
		if (spf_macro_expand(spec, SPF_MACRO_DOMAIN, &ctx, &b, &err) != SPF_OK) {
			*invalid = true;
			return NULL;
		}
	}
	spf_domain_truncate(&b);
	if (!spf_domain_valid(spf_buf_slice(&b))) {
		*invalid = true;
		return NULL;
	}
	if (spf_buf_cstr(&b) == NULL) {
		*invalid = true;
		return NULL;
	}
	/* Names with a trailing dot are the same names. */
	if (b.len > 1 && b.data[b.len - 1] == '.')
		b.data[--b.len] = '\0';
	return spf_arena_strndup(&ev->arena, b.data, b.len);
}

/* Counts one void lookup for the current term (§4.6.4); aborts past the limit. */
static int count_void(struct spf_eval *ev, struct frame *f, const struct spf_term *t)
{
	if (f->t_void)
		return T_CONT;
	f->t_void = true;
	ev->void_lookups++;
	if (ev->void_lookups > ev->opts.max_void_lookups) {
		char msg[128];
		struct spf_buf b;
		spf_buf_init(&b, msg, sizeof(msg));
		spf_buf_puts(&b, "more than ");
		spf_buf_put_u64(&b, ev->opts.max_void_lookups);
		spf_buf_puts(&b, " void lookups (RFC 7208 section 4.6.4)");
		return abort_eval(ev, SPF_RESULT_PERMERROR, f->domain, t,
		    (size_t)(t - f->rec.terms) + 1, -1, spf_buf_cstr(&b) ? msg : "too many void lookups");
	}
	return T_CONT;
}

/* ---------------------------------------------------------------- record selection */

/* Selects and parses the SPF record in a TXT answer, once (§4.5, §4.6). */
static void select_record(struct spf_eval *ev, struct dnsq *q)
{
	if (q->selected)
		return;
	q->selected = true;
	q->nspf = 0;
	q->rec_status = SPF_OK;
	if (q->rcode != SPF_DNS_NOERROR)
		return;
	for (size_t i = 0; i < q->n; i++) {
		if (spf_record_is_spf(q->txt[i])) {
			if (q->nspf == 0)
				q->rec_text = q->txt[i];
			q->nspf++;
		}
	}
	if (q->nspf == 1)
		q->rec_status = spf_record_parse(q->rec_text, &ev->arena, &q->rec, &q->rec_err);
}

/* ---------------------------------------------------------------- prefetch */

static void prefetch_record(struct spf_eval *ev, struct dnsq *q);

/* Asks the address lookups of an MX or PTR answer's names (the first `max`). */
static void prefetch_hosts(struct spf_eval *ev, struct dnsq *q, size_t max, bool all_or_none)
{
	if (q->rcode != SPF_DNS_NOERROR || (all_or_none && q->n > max))
		return;
	for (size_t i = 0; i < q->n && i < max; i++)
		if (host_usable(q->names[i]))
			evq_ask(ev, q->names[i], addr_type(ev), true);
}

static void prefetch_answer(struct spf_eval *ev, struct dnsq *q)
{
	if (!ev->opts.prefetch || ev->phase != PH_EVAL)
		return;
	if (q->type == SPF_RR_TXT && q->want_record)
		prefetch_record(ev, q);
	else if (q->type == SPF_RR_MX && q->want_hosts)
		prefetch_hosts(ev, q, SPF_MAX_MX_NAMES, true);
	else if (q->type == SPF_RR_PTR && q->want_ptrhosts)
		prefetch_hosts(ev, q, SPF_MAX_PTR_NAMES, false);
}

/*
 * A record arrived: ask, at once, the lookups of its DNS-querying terms whose names
 * need no other answer, while the evaluation-wide budget lasts.
 */
static void prefetch_record(struct spf_eval *ev, struct dnsq *q)
{
	select_record(ev, q);
	if (q->nspf != 1 || q->rec_status != SPF_OK)
		return;
	for (size_t i = 0; i < q->rec.nterms; i++) {
		const struct spf_term *t = &q->rec.terms[i];
		if (!spf_term_counts(t->kind))
			continue;
		if (t->kind == SPF_TERM_REDIRECT && q->rec.has_all)
			continue;
		if (ev->prefetch_terms >= SPF_MAX_DNS_TERMS)
			return;
		ev->prefetch_terms++;
		if (t->needs_ptr && !ev->ptr_ready)
			continue;
		char *name = q->name;
		bool invalid = false;
		if (t->has_domain_spec)
			name = expand_domain(ev, q->name, t->domain_spec, &invalid);
		if (name == NULL)
			continue;
		struct dnsq *n = NULL;
		switch (t->kind) {
		case SPF_TERM_INCLUDE:
		case SPF_TERM_REDIRECT:
			n = evq_ask(ev, name, SPF_RR_TXT, true);
			if (n != NULL) {
				n->want_record = true;
				if (n->state == Q_DONE)
					prefetch_record(ev, n);
			}
			break;
		case SPF_TERM_A:
			evq_ask(ev, name, addr_type(ev), true);
			break;
		case SPF_TERM_MX:
			n = evq_ask(ev, name, SPF_RR_MX, true);
			if (n != NULL) {
				n->want_hosts = true;
				if (n->state == Q_DONE)
					prefetch_hosts(ev, n, SPF_MAX_MX_NAMES, true);
			}
			break;
		case SPF_TERM_EXISTS:
			evq_ask(ev, name, SPF_RR_A, true);
			break;
		case SPF_TERM_PTR: {
			char tmp[128];
			struct spf_buf b;
			spf_buf_init(&b, tmp, sizeof(tmp));
			reverse_name(&ev->client, &b);
			if (spf_buf_cstr(&b) != NULL) {
				n = evq_ask(ev, tmp, SPF_RR_PTR, true);
				if (n != NULL)
					n->want_ptrhosts = true;
			}
			break;
		}
		default:
			break;
		}
	}
}

/* ---------------------------------------------------------------- PTR validation */

/*
 * Finds the client's validated names (§5.5), once per evaluation: the PTR names (the
 * first SPF_MAX_PTR_NAMES; the rest are ignored, §4.6.4) whose A/AAAA records hold the
 * client address.  DNS errors skip a name; an error on the PTR lookup means no names.
 */
static int ptr_resolve(struct spf_eval *ev)
{
	if (ev->ptr_ready)
		return T_CONT;
	if (ev->ptr_q == NULL) {
		char tmp[128];
		struct spf_buf b;
		spf_buf_init(&b, tmp, sizeof(tmp));
		reverse_name(&ev->client, &b);
		if (spf_buf_cstr(&b) == NULL)
			return abort_nomem(ev);
		ev->ptr_q = evq_ask(ev, tmp, SPF_RR_PTR, false);
		if (ev->ptr_q == NULL)
			return abort_nomem(ev);
	}
	struct dnsq *q = ev->ptr_q;
	if (q->state != Q_DONE)
		return T_WAIT;
	size_t n = q->n < SPF_MAX_PTR_NAMES ? q->n : SPF_MAX_PTR_NAMES;
	if (q->rcode != SPF_DNS_NOERROR)
		n = 0;
	/* Ask every name's addresses at once, then read them in order. */
	bool waiting = false;
	for (size_t i = 0; i < n; i++) {
		if (!host_usable(q->names[i]))
			continue;
		struct dnsq *aq = evq_ask(ev, q->names[i], addr_type(ev), false);
		if (aq == NULL)
			return abort_nomem(ev);
		if (aq->state != Q_DONE)
			waiting = true;
	}
	if (waiting)
		return T_WAIT;
	ev->validated = spf_arena_calloc(&ev->arena, n ? n : 1, sizeof(char *));
	if (ev->validated == NULL)
		return abort_nomem(ev);
	for (size_t i = 0; i < n; i++) {
		if (!host_usable(q->names[i]))
			continue;
		struct dnsq *aq = evq_find(ev, q->names[i], addr_type(ev));
		if (aq == NULL || aq->rcode != SPF_DNS_NOERROR)
			continue;
		for (size_t k = 0; k < aq->n; k++) {
			if (spf_addr_in_net(&ev->client, &aq->addr[k],
			    ev->client.family == 6 ? 128 : 32)) {
				ev->validated[ev->nvalidated++] = q->names[i];
				break;
			}
		}
	}
	ev->ptr_ready = true;
	return T_CONT;
}

/* ---------------------------------------------------------------- mechanisms */

/* The target name of the current term (cached in the frame across re-entries). */
static int term_name(struct spf_eval *ev, struct frame *f, const struct spf_term *t)
{
	if (f->t_name != NULL || f->t_name_invalid)
		return T_CONT;
	if (!t->has_domain_spec) {
		f->t_name = f->domain;
		return T_CONT;
	}
	if (t->needs_ptr) {
		int r = ptr_resolve(ev);
		if (r != T_CONT)
			return r;
	}
	bool invalid;
	f->t_name = expand_domain(ev, f->domain, t->domain_spec, &invalid);
	if (f->t_name == NULL) {
		if (!invalid)
			return abort_nomem(ev);
		f->t_name_invalid = true;
		trace_text(ev, SPF_TRACE_NOTE, "target of '", t->text,
		    "' is not a valid domain name: treated as non-existent");
	}
	return T_CONT;
}

static bool addr_match(const struct spf_eval *ev, const struct dnsq *q, const struct spf_term *t)
{
	unsigned prefix = ev->client.family == 6 ? t->cidr6 : t->cidr4;
	for (size_t i = 0; i < q->n; i++)
		if (spf_addr_in_net(&ev->client, &q->addr[i], prefix))
			return true;
	return false;
}

/* A DNS error on a question the evaluation stands on: temperror (§4.4, §5), naming the
 * question.  t is the term that asked, or NULL for the record lookup itself. */
static int dns_error(struct spf_eval *ev, struct frame *f, const struct spf_term *t,
    const struct dnsq *q)
{
	char msg[600];
	struct spf_buf b;
	spf_buf_init(&b, msg, sizeof(msg));
	spf_buf_puts(&b, "DNS error (");
	spf_buf_puts(&b, spf_rcode_name(q->rcode));
	spf_buf_puts(&b, ") looking up ");
	spf_buf_puts(&b, spf_rrtype_name(q->type));
	spf_buf_puts(&b, " of ");
	spf_buf_put_escaped(&b, spf_slice_cstr(q->name));
	const char *m = spf_buf_cstr(&b) ? msg : "DNS error";
	if (t == NULL)
		return abort_eval(ev, SPF_RESULT_TEMPERROR, f->domain, NULL, 0, -1, m);
	return abort_term(ev, f, t, SPF_RESULT_TEMPERROR, m);
}

/*
 * The lookup a term stands on (a, mx, exists): asks (t_name, type); once answered,
 * T_CONT with the answer in *out.  A DNS error ends the evaluation in temperror (§5);
 * a void answer is counted (§4.6.4) and is no match.
 */
static int term_lookup(struct spf_eval *ev, struct frame *f, const struct spf_term *t,
    uint16_t type, struct dnsq **out)
{
	struct dnsq *q = evq_ask(ev, f->t_name, type, false);
	if (q == NULL)
		return abort_nomem(ev);
	if (q->state != Q_DONE)
		return T_WAIT;
	if (evq_error(q))
		return dns_error(ev, f, t, q);
	if (evq_void(q))
		return count_void(ev, f, t) == T_CONT ? T_NOMATCH : T_ABORT;
	*out = q;
	return T_CONT;
}

static int mech_a(struct spf_eval *ev, struct frame *f, const struct spf_term *t)
{
	struct dnsq *q;
	int r = term_lookup(ev, f, t, addr_type(ev), &q);
	if (r != T_CONT)
		return r;
	return addr_match(ev, q, t) ? T_MATCH : T_NOMATCH;
}

static int mech_mx(struct spf_eval *ev, struct frame *f, const struct spf_term *t)
{
	struct dnsq *q;
	int r = term_lookup(ev, f, t, SPF_RR_MX, &q);
	if (r != T_CONT)
		return r;
	if (q->n > SPF_MAX_MX_NAMES)
		return abort_term(ev, f, t, SPF_RESULT_PERMERROR,
		    "more than 10 MX records (RFC 7208 section 4.6.4)");
	/* All hosts' addresses at once; then read them in MX order, as a sequential
	 * evaluation would (the first error or match decides). */
	for (size_t i = 0; i < q->n; i++)
		if (host_usable(q->names[i]) &&
		    evq_ask(ev, q->names[i], addr_type(ev), false) == NULL)
			return abort_nomem(ev);
	for (size_t i = 0; i < q->n; i++) {
		if (!host_usable(q->names[i]))
			continue;
		struct dnsq *aq = evq_find(ev, q->names[i], addr_type(ev));
		if (aq->state != Q_DONE)
			return T_WAIT;
		if (evq_error(aq))
			return dns_error(ev, f, t, aq);
		if (addr_match(ev, aq, t))
			return T_MATCH;
	}
	return T_NOMATCH;
}

static int mech_ptr(struct spf_eval *ev, struct frame *f, const struct spf_term *t)
{
	int r = ptr_resolve(ev);
	if (r != T_CONT)
		return r;
	/* §5.5: a void PTR lookup is a void lookup of this term; a DNS error is no match. */
	if (ev->ptr_q != NULL && evq_void(ev->ptr_q) && count_void(ev, f, t) != T_CONT)
		return T_ABORT;
	for (size_t i = 0; i < ev->nvalidated; i++)
		if (name_within(ev->validated[i], f->t_name))
			return T_MATCH;
	return T_NOMATCH;
}

static int mech_exists(struct spf_eval *ev, struct frame *f, const struct spf_term *t)
{
	/* §5.7: always an A query, whatever the client's family; any record matches. */
	struct dnsq *q;
	int r = term_lookup(ev, f, t, SPF_RR_A, &q);
	return r == T_CONT ? T_MATCH : r;
}

static int mech_include(struct spf_eval *ev, struct frame *f, const struct spf_term *t)
{
	if (f->t_child_done) {
		switch (f->t_child) {
		case SPF_RESULT_PASS:
			return T_MATCH;
		case SPF_RESULT_FAIL:
		case SPF_RESULT_SOFTFAIL:
		case SPF_RESULT_NEUTRAL:
			return T_NOMATCH;
		default: /* none (§5.2): temperror and permerror never get here */
			return abort_term(ev, f, t, SPF_RESULT_PERMERROR,
			    "included domain has no SPF record (RFC 7208 section 5.2)");
		}
	}
	if (f->t_name_invalid)
		return abort_term(ev, f, t, SPF_RESULT_PERMERROR,
		    "include target is not a valid domain name, so it has no SPF record");
	if (ev->depth >= SPF_MAX_DEPTH)
		return abort_term(ev, f, t, SPF_RESULT_PERMERROR, "includes nested too deeply");
	struct frame *c = &ev->stack[ev->depth++];
	memset(c, 0, sizeof(*c));
	c->kind = FRAME_INCLUDE;
	c->phase = F_RECORD;
	c->domain = f->t_name;
	return T_PUSHED;
}

/* Counts a DNS-querying term (§4.6.4), aborting on the 11th. */
static int count_term(struct spf_eval *ev, struct frame *f, const struct spf_term *t)
{
	if (f->t_counted)
		return T_CONT;
	f->t_counted = true;
	ev->dns_terms++;
	if (ev->dns_terms > SPF_MAX_DNS_TERMS)
		return abort_term(ev, f, t, SPF_RESULT_PERMERROR,
		    "more than 10 DNS-querying terms (RFC 7208 section 4.6.4)");
	return T_CONT;
}

static int eval_term(struct spf_eval *ev, struct frame *f, const struct spf_term *t)
{
	switch (t->kind) {
	case SPF_TERM_ALL:
		return T_MATCH;
	case SPF_TERM_IP4:
		return ev->client.family == 4 && spf_addr_in_net(&ev->client, &t->addr, t->cidr4)
		    ? T_MATCH : T_NOMATCH;
	case SPF_TERM_IP6:
		return ev->client.family == 6 && spf_addr_in_net(&ev->client, &t->addr, t->cidr6)
		    ? T_MATCH : T_NOMATCH;
	case SPF_TERM_REDIRECT:
	case SPF_TERM_EXP:
	case SPF_TERM_UNKNOWN:
		return T_NOMATCH;
	default:
		break;
	}
	int r = count_term(ev, f, t);
	if (r != T_CONT)
		return r;
	r = term_name(ev, f, t);
	if (r != T_CONT)
		return r;
	if (f->t_name_invalid && t->kind != SPF_TERM_INCLUDE)
		return T_NOMATCH;
	switch (t->kind) {
	case SPF_TERM_INCLUDE: return mech_include(ev, f, t);
	case SPF_TERM_A: return mech_a(ev, f, t);
	case SPF_TERM_MX: return mech_mx(ev, f, t);
	case SPF_TERM_PTR: return mech_ptr(ev, f, t);
	case SPF_TERM_EXISTS: return mech_exists(ev, f, t);
	default: return T_NOMATCH;
	}
}

/* ---------------------------------------------------------------- frames */

static int frame_record(struct spf_eval *ev, struct frame *f)
{
	struct dnsq *q = evq_ask(ev, f->domain, SPF_RR_TXT, false);
	if (q == NULL)
		return abort_nomem(ev);
	q->want_record = true;
	if (q->state != Q_DONE)
		return T_WAIT;
	if (evq_error(q))
		return dns_error(ev, f, NULL, q);
	select_record(ev, q);
	if (q->nspf == 0) {
		trace_text(ev, SPF_TRACE_NOTE, "no SPF record at ", spf_slice_cstr(f->domain),
		    q->rcode == SPF_DNS_NXDOMAIN ? " (NXDOMAIN)" : NULL);
		finish_frame(ev, SPF_RESULT_NONE);
		return T_CONT;
	}
	if (q->nspf > 1)
		return abort_eval(ev, SPF_RESULT_PERMERROR, f->domain, NULL, 0, -1,
		    "more than one v=spf1 record (RFC 7208 section 4.5)");
	if (q->rec_status == SPF_ENOMEM)
		return abort_nomem(ev);
	trace_text(ev, SPF_TRACE_RECORD, "\"", q->rec_text, "\"");
	if (q->rec_status != SPF_OK) {
		const struct spf_record_error *e = &q->rec_err;
		struct spf_term bad;
		memset(&bad, 0, sizeof(bad));
		bad.text = e->term;
		size_t term_no = 0;
		/* Count the terms up to the error for the diagnostic (the version is not one). */
		for (size_t i = 0; i < e->offset && i < q->rec_text.len; i++)
			if (q->rec_text.p[i] == ' ' && i + 1 < q->rec_text.len &&
			    q->rec_text.p[i + 1] != ' ' && i >= 6)
				term_no++;
		if (term_no == 0)
			term_no = 1;
		return abort_eval(ev, SPF_RESULT_PERMERROR, f->domain, e->term.len ? &bad : NULL,
		    term_no, (long)e->offset, e->message);
	}
	f->rec = q->rec;
	f->phase = F_TERMS;
	f->term = 0;
	reset_term(f);
	return T_CONT;
}

/* The record's terms ran out: redirect= (§6.1) or the default neutral (§4.7). */
static int frame_end(struct spf_eval *ev, struct frame *f)
{
	const struct spf_term *t = f->rec.redirect;
	if (t == NULL || f->rec.has_all) {
		if (t != NULL)
			trace_text(ev, SPF_TRACE_NOTE, "'", t->text,
			    "' ignored: the record has an \"all\" mechanism (RFC 7208 section 6.1)");
		else
			trace_text(ev, SPF_TRACE_NOTE, "no term matched: ",
			    spf_slice_cstr("default result neutral"), NULL);
		finish_frame(ev, SPF_RESULT_NEUTRAL);
		return T_CONT;
	}
	int r = count_term(ev, f, t);
	if (r != T_CONT)
		return r;
	r = term_name(ev, f, t);
	if (r != T_CONT)
		return r;
	if (f->t_name_invalid)
		return abort_term(ev, f, t, SPF_RESULT_PERMERROR,
		    "redirect target is not a valid domain name (RFC 7208 section 6.1)");
	trace_term(ev, t, "follow", f->t_name);
	f->domain = f->t_name;
	f->redirected = true;
	f->phase = F_RECORD;
	memset(&f->rec, 0, sizeof(f->rec));
	reset_term(f);
	return T_CONT;
}

static int step_frame(struct spf_eval *ev)
{
	struct frame *f = top(ev);
	if (f->phase == F_RECORD)
		return frame_record(ev, f);
	if (f->term >= f->rec.nterms)
		return frame_end(ev, f);

	const struct spf_term *t = &f->rec.terms[f->term];
	int r = eval_term(ev, f, t);
	switch (r) {
	case T_MATCH:
		trace_term(ev, t, t->kind == SPF_TERM_INCLUDE ? "included pass: match" : "match",
		    f->t_name);
		if (ev->depth == 1) {
			ev->decided_term = t;
			ev->decided_domain = f->domain;
		}
		finish_frame(ev, t->qualifier);
		return T_CONT;
	case T_NOMATCH:
		if (t->kind != SPF_TERM_REDIRECT && t->kind != SPF_TERM_EXP &&
		    t->kind != SPF_TERM_UNKNOWN)
			trace_term(ev, t, f->t_name_invalid ? "no match (invalid name)" : "no match",
			    f->t_name);
		f->term++;
		reset_term(f);
		return T_CONT;
	case T_PUSHED:
		trace_term(ev, t, "evaluate", f->t_name);
		return T_CONT;
	default:
		return r;
	}
}

/* ---------------------------------------------------------------- the end */

static bool all_secure(const struct spf_eval *ev)
{
	bool any = false;
	for (const struct dnsq *q = ev->qhead; q != NULL; q = q->next) {
		if (q->state != Q_DONE || !q->used)
			continue;
		if (!q->secure)
			return false;
		any = true;
	}
	return any;
}

static void conclude(struct spf_eval *ev, enum spf_result r)
{
	struct spf_outcome *o = &ev->out;
	o->result = r;
	if (ev->decided_term != NULL) {
		o->mechanism = spf_arena_strndup(&ev->arena, ev->decided_term->text.p,
		    ev->decided_term->text.len);
		o->domain = ev->decided_domain;
	} else {
		o->domain = ev->stack[0].domain;
	}
	if (r == SPF_RESULT_FAIL)
		ev->phase = PH_EXPLAIN;
	else
		ev->phase = PH_DONE;
}

static void finish_frame(struct spf_eval *ev, enum spf_result r)
{
	struct frame *f = top(ev);
	if (r == SPF_RESULT_NONE && f->redirected) {
		abort_eval(ev, SPF_RESULT_PERMERROR, f->domain, NULL, 0, -1,
		    "redirect target has no SPF record (RFC 7208 section 6.1)");
		return;
	}
	if (ev->opts.trace) {
		char tmp[600];
		struct spf_buf b;
		spf_buf_init(&b, tmp, sizeof(tmp));
		spf_buf_puts(&b, "check_host(");
		spf_buf_put_escaped(&b, spf_slice_cstr(f->domain));
		spf_buf_puts(&b, ") = ");
		spf_buf_puts(&b, spf_result_name(r));
		evt_add(ev, SPF_TRACE_RESULT, ev->depth - 1, f->domain, &b);
	}
	ev->depth--;
	if (ev->depth == 0) {
		conclude(ev, r);
		return;
	}
	struct frame *p = top(ev);
	p->t_child_done = true;
	p->t_child = r;
}

/* Expands an explanation macro-string (§6.2) into a printable arena string, or NULL. */
static int expand_explanation(struct spf_eval *ev, struct spf_slice text, const char *domain,
    const char **out, bool can_wait)
{
	*out = NULL;
	bool needs_ptr = false;
	struct spf_macro_error err;
	if (spf_macro_check(text, SPF_MACRO_EXPLAIN, &needs_ptr, &err) != SPF_OK)
		return T_CONT;
	/* Without waiting (the budget ran out), %{p} is "unknown" unless already known. */
	if (needs_ptr && can_wait) {
		int r = ptr_resolve(ev);
		if (r != T_CONT)
			return r;
	}
	char *tmp = spf_arena_alloc(&ev->arena, SPF_MAX_EXPLANATION + 1);
	if (tmp == NULL)
		return abort_nomem(ev);
	struct spf_buf b;
	spf_buf_init(&b, tmp, SPF_MAX_EXPLANATION + 1);
	struct spf_macro_ctx ctx;
	macro_ctx(ev, domain, &ctx);
	int rc = spf_macro_expand(text, SPF_MACRO_EXPLAIN, &ctx, &b, &err);
	if (rc == SPF_ELIMIT) {
		/* Keep what fit: an over-long explanation is cut, not dropped. */
		b.overflow = false;
		b.len = SPF_MAX_EXPLANATION - 3;
		spf_buf_puts(&b, "...");
	} else if (rc != SPF_OK) {
		return T_CONT;
	}
	/* Values from the sender (%{l}) may carry any byte: keep the text printable. */
	for (size_t i = 0; i < b.len; i++)
		if ((unsigned char)b.data[i] < 0x20 || (unsigned char)b.data[i] > 0x7e)
			b.data[i] = '?';
	*out = spf_buf_cstr(&b);
	return T_CONT;
}

/* Ends the explanation phase with the default explanation. */
static int explain_default(struct spf_eval *ev, bool can_wait)
{
	const char *text = NULL;
	int r = expand_explanation(ev, spf_slice_cstr(ev->default_exp), ev->stack[0].domain,
	    &text, can_wait);
	if (r != T_CONT)
		return r;
	ev->out.explanation = text ? text : ev->default_exp; /* not a macro-string: as is */
	ev->phase = PH_DONE;
	return T_CONT;
}

/* §6.2: the explanation of a fail, from exp= of the deciding top-level record. */
static int explain_step(struct spf_eval *ev)
{
	const struct frame *f = &ev->stack[0];
	const struct spf_term *t = f->rec.exp;
	const char *text = NULL;
	if (t != NULL) {
		if (!ev->exp_asked) {
			if (t->needs_ptr) {
				int r = ptr_resolve(ev);
				if (r != T_CONT)
					return r;
			}
			bool invalid;
			char *name = expand_domain(ev, f->domain, t->domain_spec, &invalid);
			ev->exp_asked = true;
			if (name == NULL && !invalid)
				return abort_nomem(ev);
			if (name != NULL) {
				ev->exp_q = evq_ask(ev, name, SPF_RR_TXT, false);
				if (ev->exp_q == NULL)
					return abort_nomem(ev);
			} else {
				trace_text(ev, SPF_TRACE_NOTE, "'", t->text,
				    "': not a valid domain name; default explanation used");
			}
		}
		struct dnsq *q = ev->exp_q;
		if (q != NULL) {
			if (q->state != Q_DONE)
				return T_WAIT;
			if (q->rcode == SPF_DNS_NOERROR && q->n == 1) {
				int r = expand_explanation(ev, q->txt[0], f->domain, &text, true);
				if (r != T_CONT)
					return r;
				if (text == NULL)
					trace_text(ev, SPF_TRACE_NOTE, "explanation \"", q->txt[0],
					    "\" is malformed; default explanation used");
			} else {
				trace_text(ev, SPF_TRACE_NOTE, "'", t->text,
				    "': no single TXT record; default explanation used");
			}
		}
	}
	if (text == NULL)
		return explain_default(ev, true);
	ev->out.explanation = text;
	ev->phase = PH_DONE;
	return T_CONT;
}

/* ---------------------------------------------------------------- public API */

/* Copies s (NULL as "") into the arena, refusing over-long identities. */
static char *copy_identity(struct spf_eval *ev, const char *s, int *rc)
{
	if (s == NULL)
		s = "";
	size_t n = strnlen(s, EVAL_MAX_IDENTITY + 1);
	if (n > EVAL_MAX_IDENTITY) {
		*rc = SPF_EINVAL;
		return NULL;
	}
	char *d = spf_arena_strndup(&ev->arena, s, n);
	if (d == NULL)
		*rc = SPF_ENOMEM;
	return d;
}

static char *concat(struct spf_eval *ev, const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	char *d = spf_arena_alloc(&ev->arena, na + nb + 1);
	if (d != NULL) {
		memcpy(d, a, na);
		memcpy(d + na, b, nb + 1);
	}
	return d;
}

int spf_eval_new(struct spf_eval **out, const struct spf_options *opts,
    const struct spf_request *req)
{
	*out = NULL;
	if (req == NULL || (req->client.family != 4 && req->client.family != 6))
		return SPF_EINVAL;
	/* One malloc holds the evaluation and its arena's first chunk. */
	size_t first = spf_arena_first_size();
	struct spf_eval *ev = malloc(offsetof(struct spf_eval, arena_first) + first);
	if (ev == NULL)
		return SPF_ENOMEM;
	memset(ev, 0, offsetof(struct spf_eval, arena_first));
	if (opts != NULL)
		ev->opts = *opts;
	else
		spf_options_init(&ev->opts);
	if (ev->opts.mem_limit == 0)
		ev->opts.mem_limit = SPF_DEFAULT_MEM_LIMIT;
	spf_arena_init(&ev->arena, ev->opts.mem_limit);
	spf_arena_give(&ev->arena, ev->arena_first);

	int rc = SPF_ENOMEM;
	ev->identity = req->identity;
	ev->client = req->client;
	ev->helo = copy_identity(ev, req->helo, &rc);
	const char *sender = req->identity == SPF_IDENTITY_HELO ? "" : req->sender;
	char *s = ev->helo ? copy_identity(ev, sender, &rc) : NULL;
	ev->receiver = spf_arena_strdup(&ev->arena, ev->opts.receiver && ev->opts.receiver[0]
	    ? ev->opts.receiver : "unknown");
	ev->default_exp = spf_arena_strdup(&ev->arena, ev->opts.default_explanation
	    ? ev->opts.default_explanation : EVAL_DEFAULT_EXP);
	if (s == NULL || ev->receiver == NULL || ev->default_exp == NULL)
		goto fail;

	/* §2.4, §4.3: <sender>, its local part and domain. */
	if (s[0] == '\0') {
		ev->sender_domain = ev->helo;
		ev->local = "postmaster";
	} else {
		char *at = strrchr(s, '@');
		if (at == NULL) {
			ev->sender_domain = s;
			ev->local = "postmaster";
		} else {
			ev->sender_domain = at + 1;
			ev->local = at == s ? "postmaster" : spf_arena_strndup(&ev->arena, s,
			    (size_t)(at - s));
		}
	}
	if (ev->local == NULL)
		goto fail;
	ev->sender = (s[0] == '\0' || strchr(s, '@') == NULL || s[0] == '@')
	    ? concat(ev, "postmaster@", ev->sender_domain) : s;
	if (ev->sender == NULL)
		goto fail;

	struct spf_outcome *o = &ev->out;
	o->identity = req->identity;
	o->checked_domain = ev->sender_domain;
	o->sender = ev->sender;
	o->helo = ev->helo;
	o->client = ev->client;
	o->receiver = ev->receiver;
	o->problem_offset = -1;
	ev->phase = PH_EVAL;
	*out = ev;
	return SPF_OK;
fail:
	spf_eval_free(ev);
	return rc;
}

static bool has_unsent(struct spf_eval *ev)
{
	while (ev->qsend != NULL && ev->qsend->state != Q_NEW)
		ev->qsend = ev->qsend->next;
	return ev->qsend != NULL;
}

enum spf_step spf_eval_run(struct spf_eval *ev)
{
	if (ev->depth == 0 && ev->phase == PH_EVAL) {
		/* §4.3: a malformed identity, or one that is not a multi-label domain name,
		 * gives "none" without any lookup. */
		if (!spf_domain_valid_identity(spf_slice_cstr(ev->sender_domain))) {
			trace_text(ev, SPF_TRACE_NOTE, "'", spf_slice_cstr(ev->sender_domain),
			    "' is not a valid multi-label domain name: none (RFC 7208 section 4.3)");
			ev->out.result = SPF_RESULT_NONE;
			ev->out.domain = ev->sender_domain;
			ev->phase = PH_DONE;
		} else {
			struct frame *f = &ev->stack[ev->depth++];
			memset(f, 0, sizeof(*f));
			f->kind = FRAME_TOP;
			f->phase = F_RECORD;
			f->domain = ev->sender_domain;
			size_t n = strlen(f->domain);
			if (n > 1 && f->domain[n - 1] == '.') {
				f->domain = spf_arena_strndup(&ev->arena, f->domain, n - 1);
				if (f->domain == NULL) {
					abort_nomem(ev);
					ev->depth = 0;
				}
			}
		}
	}
	while (ev->phase != PH_DONE) {
		int r = ev->phase == PH_EVAL ? step_frame(ev) : explain_step(ev);
		if (r != T_WAIT)
			continue;
		if (ev->phase == PH_DONE)
			break;
		if (ev->pending == 0 && !has_unsent(ev)) {
			abort_eval(ev, SPF_RESULT_TEMPERROR, NULL, NULL, 0, -1,
			    "internal error: evaluation waits for no question");
			break;
		}
		return SPF_STEP_NEED_DNS;
	}
	if (ev->out.result != SPF_RESULT_NONE || ev->nq > 0)
		ev->out.secure = all_secure(ev);
	ev->out.dns_lookups = ev->dns_terms;
	ev->out.void_lookups = ev->void_lookups;
	ev->out.dns_queries = (unsigned)ev->nq;
	return SPF_STEP_DONE;
}

bool spf_eval_next_query(struct spf_eval *ev, struct spf_query *q)
{
	if (ev->phase == PH_DONE || !has_unsent(ev))
		return false;
	struct dnsq *n = ev->qsend;
	n->state = Q_SENT;
	ev->pending++;
	q->id = n->id;
	q->type = n->type;
	q->name = n->name;
	if (ev->opts.trace) {
		char tmp[400];
		struct spf_buf b;
		spf_buf_init(&b, tmp, sizeof(tmp));
		spf_buf_puts(&b, spf_rrtype_name(n->type));
		spf_buf_putc(&b, ' ');
		spf_buf_put_escaped(&b, spf_slice_cstr(n->name));
		if (n->prefetch)
			spf_buf_puts(&b, " (prefetch)");
		evt_add(ev, SPF_TRACE_QUERY, ev->depth ? ev->depth - 1 : 0,
		    ev->depth ? top(ev)->domain : NULL, &b);
	}
	return true;
}

size_t spf_eval_pending(const struct spf_eval *ev)
{
	return ev->pending;
}

int spf_eval_answer(struct spf_eval *ev, uint32_t id, const struct spf_answer *ans)
{
	if (ev->expired)
		return SPF_ENOENT;
	struct dnsq *q = evq_by_id(ev, id);
	if (q == NULL || q->state != Q_SENT || ans == NULL)
		return SPF_ENOENT;
	ev->pending--;
	int rc = evq_store(ev, q, ans);
	if (rc != SPF_OK) {
		if (ev->phase != PH_DONE)
			abort_nomem(ev);
		return rc;
	}
	evt_answer(ev, q, ans);
	prefetch_answer(ev, q);
	return SPF_OK;
}

void spf_eval_expire(struct spf_eval *ev)
{
	/* The result is known and only its explanation is missing: a failed exp= never
	 * changes the result (§6.2), so the default explanation is used. */
	if (ev->phase == PH_EXPLAIN) {
		trace_text(ev, SPF_TRACE_NOTE, "time budget ran out while fetching the ",
		    spf_slice_cstr("explanation"), "; default explanation used");
		explain_default(ev, false);
	}
	if (ev->phase != PH_DONE)
		abort_eval(ev, SPF_RESULT_TEMPERROR, ev->depth ? top(ev)->domain : NULL, NULL, 0,
		    -1, "time budget for the evaluation ran out (RFC 7208 section 4.6.4)");
	ev->expired = true;
	ev->out.dns_lookups = ev->dns_terms;
	ev->out.void_lookups = ev->void_lookups;
	ev->out.dns_queries = (unsigned)ev->nq;
}

const struct spf_outcome *spf_eval_outcome(const struct spf_eval *ev)
{
	return ev->phase == PH_DONE ? &ev->out : NULL;
}

size_t spf_eval_trace(const struct spf_eval *ev, const struct spf_trace **out)
{
	*out = ev->trace;
	return ev->ntrace;
}

void spf_eval_free(struct spf_eval *ev)
{
	if (ev == NULL)
		return;
	spf_arena_release(&ev->arena);
	free(ev->byid);
	free(ev->trace);
	free(ev);
}
