/*
 * eval_dns.c - the evaluator's DNS question table, answer decoding, and trace.
 *
 * Entry points (private to the evaluator, declared in eval_int.h):
 *   evq_ask()      finds or creates the question (name, type); never asks twice
 *   evq_store()    decodes a driver's answer into the question (copying into the arena)
 *   evt_add()      appends a trace entry
 *
 * Answer RDATA arrives in uncompressed wire form from a driver that may be fed by a
 * hostile DNS server, so every record is decoded with bounds checks; a malformed
 * record is dropped, never trusted (RFC 7208 §4.4 leaves such answers to the
 * implementation; dropping keeps the rest of the answer usable).
 *
 * Memory: everything decoded lives in the evaluation's arena.
 */
#include <stdlib.h>
#include <string.h>

#include "eval_int.h"
#include "eval_dns.h"

/* Upper bound on distinct questions of one evaluation.  The §4.6.4 limits allow about
 * 10 * (1 + 10) + 11 + 2; anything near this is a bug, and is refused as temperror. */
#define EVAL_MAX_QUESTIONS 512
/* Trace entries kept; later ones are dropped with a note. */
#define EVAL_MAX_TRACE 4096

/* The question (name, type), name being len bytes.  Type and length are compared
 * first; names usually match byte for byte, so memcmp() comes before the
 * case-insensitive compare. */
static struct dnsq *find(struct spf_eval *ev, const char *name, size_t len, uint16_t type)
{
	for (struct dnsq *q = ev->qhead; q != NULL; q = q->next)
		if (q->type == type && q->namelen == len && (memcmp(q->name, name, len) == 0 ||
		    spf_slice_eq_ci(spf_slice_make(q->name, len), spf_slice_make(name, len))))
			return q;
	return NULL;
}

/* The length of name without one trailing dot: questions are stored and looked up
 * without it (spf_query contract), so both normalise here. */
static size_t name_len(const char *name)
{
	size_t len = strlen(name);
	return len > 0 && name[len - 1] == '.' ? len - 1 : len;
}

struct dnsq *evq_find(struct spf_eval *ev, const char *name, uint16_t type)
{
	return find(ev, name, name_len(name), type);
}

struct dnsq *evq_ask(struct spf_eval *ev, const char *name, uint16_t type, bool prefetch)
{
	size_t len = name_len(name);
	struct dnsq *q = find(ev, name, len, type);
	if (q != NULL) {
		if (!prefetch) {
			/* Still marked prefetched in the trace if its answer was waiting. */
			q->prefetch = q->prefetch && q->state == Q_DONE;
			q->used = true;
		}
		return q;
	}
	if (ev->nq >= EVAL_MAX_QUESTIONS)
		return NULL;
	if (ev->nq == ev->capq) {
		size_t cap = ev->capq ? ev->capq * 2 : 32;
		struct dnsq **v = realloc(ev->byid, cap * sizeof(*v));
		if (v == NULL)
			return NULL;
		ev->byid = v;
		ev->capq = cap;
	}
	q = spf_arena_calloc(&ev->arena, 1, sizeof(*q));
	if (q == NULL)
		return NULL;
	q->name = spf_arena_strndup(&ev->arena, name, len);
	if (q->name == NULL)
		return NULL;
	q->namelen = len;
	q->type = type;
	q->state = Q_NEW;
	q->prefetch = prefetch;
	q->used = !prefetch;
	ev->byid[ev->nq] = q;
	q->id = (uint32_t)++ev->nq;
	if (ev->qtail != NULL)
		ev->qtail->next = q;
	else
		ev->qhead = q;
	ev->qtail = q;
	if (ev->qsend == NULL)
		ev->qsend = q;
	return q;
}

struct dnsq *evq_by_id(struct spf_eval *ev, uint32_t id)
{
	if (id == 0 || id > ev->nq)
		return NULL;
	return ev->byid[id - 1];
}

/*
 * Reads one uncompressed wire-format name at p[*off..len) into text form (labels
 * joined by '.', no trailing dot; the root is "").  Returns false when the name is
 * malformed or unusable as text: a compression pointer, a label running past the end,
 * a '.' or NUL byte inside a label, or a name over 255 bytes.
 */
static bool wire_name(const uint8_t *p, size_t len, size_t *off, struct spf_buf *out)
{
	size_t i = *off;
	size_t total = 0;
	for (;;) {
		if (i >= len)
			return false;
		size_t l = p[i++];
		if (l == 0)
			break;
		if (l > SPF_MAX_LABEL || l > len - i)
			return false;
		total += l + 1;
		if (total > 255)
			return false;
		if (out->len > 0)
			spf_buf_putc(out, '.');
		for (size_t k = 0; k < l; k++) {
			char c = (char)p[i + k];
			if (c == '.' || c == '\0')
				return false;
			spf_buf_putc(out, c);
		}
		i += l;
	}
	*off = i;
	return !out->overflow;
}

/* Decodes one name-bearing RR (MX or PTR) into an arena string, or NULL. */
static char *decode_name_rr(struct spf_eval *ev, const struct spf_rr *rr)
{
	size_t off = rr->type == SPF_RR_MX ? 2 : 0;
	if (rr->rdlen < off)
		return NULL;
	char tmp[256];
	struct spf_buf b;
	spf_buf_init(&b, tmp, sizeof(tmp));
	if (!wire_name(rr->rdata, rr->rdlen, &off, &b) || off != rr->rdlen)
		return NULL;
	return spf_arena_buf_dup(&ev->arena, &b);
}

/* Decodes a TXT RR's character-strings, concatenated (RFC 7208 §3.3). */
static bool decode_txt_rr(struct spf_eval *ev, const struct spf_rr *rr, struct spf_slice *out)
{
	/* The concatenation is never longer than the rdata. */
	char *s = spf_arena_alloc(&ev->arena, (size_t)rr->rdlen + 1);
	if (s == NULL)
		return false;
	size_t n = 0, i = 0;
	while (i < rr->rdlen) {
		size_t l = rr->rdata[i++];
		if (l > (size_t)rr->rdlen - i)
			return false;
		memcpy(s + n, rr->rdata + i, l);
		n += l;
		i += l;
	}
	s[n] = '\0';
	*out = spf_slice_make(s, n);
	return true;
}

int evq_store(struct spf_eval *ev, struct dnsq *q, const struct spf_answer *ans)
{
	q->state = Q_DONE;
	q->rcode = ans->rcode;
	q->secure = ans->secure;
	q->n = 0;
	if (ans->rcode != SPF_DNS_NOERROR || ans->nrr == 0)
		return SPF_OK;

	size_t want = 0;
	for (size_t i = 0; i < ans->nrr; i++)
		if (ans->rr[i].type == q->type)
			want++;
	if (want == 0)
		return SPF_OK;

	switch (q->type) {
	case SPF_RR_TXT:
		q->txt = spf_arena_calloc(&ev->arena, want, sizeof(*q->txt));
		if (q->txt == NULL)
			return SPF_ENOMEM;
		break;
	case SPF_RR_A:
	case SPF_RR_AAAA:
		q->addr = spf_arena_calloc(&ev->arena, want, sizeof(*q->addr));
		if (q->addr == NULL)
			return SPF_ENOMEM;
		break;
	default:
		q->names = spf_arena_calloc(&ev->arena, want, sizeof(*q->names));
		if (q->names == NULL)
			return SPF_ENOMEM;
		break;
	}

	for (size_t i = 0; i < ans->nrr; i++) {
		const struct spf_rr *rr = &ans->rr[i];
		if (rr->type != q->type || (rr->rdata == NULL && rr->rdlen > 0))
			continue;
		switch (q->type) {
		case SPF_RR_TXT:
			if (decode_txt_rr(ev, rr, &q->txt[q->n]))
				q->n++;
			break;
		case SPF_RR_A:
			if (rr->rdlen == 4) {
				q->addr[q->n].family = 4;
				memcpy(q->addr[q->n].a, rr->rdata, 4);
				q->n++;
			}
			break;
		case SPF_RR_AAAA:
			if (rr->rdlen == 16) {
				q->addr[q->n].family = 6;
				memcpy(q->addr[q->n].a, rr->rdata, 16);
				q->n++;
			}
			break;
		case SPF_RR_MX:
		case SPF_RR_PTR:
			/* An unusable name still counts as a record (an MX over the limit is
			 * over the limit); it is skipped when addresses are looked up. */
			q->names[q->n++] = decode_name_rr(ev, rr);
			break;
		default:
			break;
		}
	}
	return SPF_OK;
}

bool evq_void(const struct dnsq *q)
{
	return q->rcode == SPF_DNS_NXDOMAIN || (q->rcode == SPF_DNS_NOERROR && q->n == 0);
}

bool evq_error(const struct dnsq *q)
{
	return q->rcode == SPF_DNS_SERVFAIL || q->rcode == SPF_DNS_TIMEOUT;
}

/* ------------------------------------------------------------------------ trace */

void evt_add(struct spf_eval *ev, enum spf_trace_kind kind, unsigned depth, const char *domain,
    struct spf_buf *text)
{
	if (!ev->opts.trace)
		return;
	if (ev->ntrace >= EVAL_MAX_TRACE)
		return;
	if (ev->ntrace == ev->captrace) {
		size_t cap = ev->captrace ? ev->captrace * 2 : 64;
		struct spf_trace *v = realloc(ev->trace, cap * sizeof(*v));
		if (v == NULL)
			return;
		ev->trace = v;
		ev->captrace = cap;
	}
	if (text->overflow) {
		/* Keep what fit, marked as cut. */
		text->overflow = false;
		if (text->len > text->cap - 4)
			text->len = text->cap - 4;
		spf_buf_puts(text, "...");
	}
	const char *t = spf_arena_buf_dup(&ev->arena, text);
	if (t == NULL)
		return;
	struct spf_trace *e = &ev->trace[ev->ntrace++];
	e->kind = kind;
	e->depth = depth;
	e->domain = domain ? domain : "";
	e->text = t;
}

/* A short printable rendering of a decoded answer, for the trace. */
void evt_answer(struct spf_eval *ev, const struct dnsq *q, const struct spf_answer *ans)
{
	if (!ev->opts.trace)
		return;
	char tmp[1024];
	struct spf_buf b;
	spf_buf_init(&b, tmp, sizeof(tmp));
	spf_buf_puts(&b, spf_rrtype_name(q->type));
	spf_buf_putc(&b, ' ');
	spf_buf_put_escaped(&b, spf_slice_cstr(q->name));
	spf_buf_puts(&b, " -> ");
	if (q->rcode != SPF_DNS_NOERROR) {
		spf_buf_puts(&b, spf_rcode_name(q->rcode));
	} else if (q->n == 0) {
		spf_buf_puts(&b, "NODATA");
	} else {
		for (size_t i = 0; i < q->n; i++) {
			if (i > 0)
				spf_buf_puts(&b, ", ");
			switch (q->type) {
			case SPF_RR_TXT:
				spf_buf_putc(&b, '"');
				spf_buf_put_escaped(&b, q->txt[i]);
				spf_buf_putc(&b, '"');
				break;
			case SPF_RR_A:
			case SPF_RR_AAAA: {
				char a[SPF_ADDR_TEXT_MAX];
				if (spf_addr_format(&q->addr[i], a, sizeof(a)) > 0)
					spf_buf_puts(&b, a);
				break;
			}
			default:
				spf_buf_put_escaped(&b, spf_slice_cstr(q->names[i] ? q->names[i]
				    : "(malformed)"));
				break;
			}
		}
	}
	spf_buf_puts(&b, " (");
	if (ans->cached)
		spf_buf_puts(&b, "cache, ");
	if (q->prefetch)
		spf_buf_puts(&b, "prefetched, ");
	if (ans->secure)
		spf_buf_puts(&b, "secure, ");
	if (ans->latency_us >= 10000) {
		spf_buf_put_u64(&b, ans->latency_us / 1000);
		spf_buf_puts(&b, " ms");
	} else {
		spf_buf_put_u64(&b, ans->latency_us / 1000);
		spf_buf_putc(&b, '.');
		spf_buf_put_u64(&b, (ans->latency_us % 1000) / 100);
		spf_buf_puts(&b, " ms");
	}
	spf_buf_puts(&b, ", ttl ");
	spf_buf_put_u64(&b, ans->ttl);
	spf_buf_putc(&b, ')');
	evt_add(ev, SPF_TRACE_ANSWER, ev->depth ? ev->depth - 1 : 0,
	    ev->depth ? ev->stack[ev->depth - 1].domain : NULL, &b);
}
