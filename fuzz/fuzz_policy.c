/*
 * fuzz_policy.c - libFuzzer target for daemon/policy.c, fed the way daemon/session.c
 * feeds it.
 *
 * Input: a 4-byte header, then the byte stream a policy client sends on one
 * connection (any bytes: NUL, CR, LF, non-ASCII, lines of any length).
 *   h[0] bits 0-1  limits at the start: 0 the defaults (4096/100/32768), 1 the test
 *                  config (1024/50/32768), 2 the config minima (256/16/1024), 3 tiny
 *                  (max_line h[1], max_attributes h[2] & 15, max_request 4 * h[3]):
 *                  below what spfgated.conf accepts, but policy.h takes any caps;
 *       bits 2-3   limits after a reload (SIGHUP), same encoding;
 *       bits 4-7   the reload happens after that many lines (0: never).
 *   h[1..3]        also seed the chunk sizes.
 *
 * The stream goes into a libevent evbuffer in chunks of pseudo-random size (1 byte
 * up to all of it) and after each chunk the lines are taken as pump_lines() in
 * session.c takes them: up to the next LF, the line cap checked on the incomplete
 * tail, a store of max_request bytes set up when a request starts (kept while it
 * goes on), the line handed to policy_line() (here as an exact-size heap copy, so
 * ASan sees any read past its len bytes; the store is exact-size too), the request
 * answered at once and policy_reset() (a cache hit: the reply itself is not the
 * parser's business).  A reload changes the caps between lines, as a SIGHUP can
 * between two reads, also in the middle of a request: then the store may be smaller
 * than the new max_request and policy_line() must refuse rather than overflow it.
 *
 * An independent reference model of policy.h's contract reads the whole stream at
 * once; the events (request complete with its values, error, end of input in or
 * between requests) must match whatever the chunking.  Traps when:
 *   - the statuses differ from the model's, or an error comes without a reason;
 *   - a complete request lacks "request", or has more attributes or bytes than the
 *     caps, or store_len exceeds store_cap or the bytes read;
 *   - a value does not lie inside the store, holds a NUL or newline, or is not
 *     exactly the bytes of the last such attribute line of the input (a trailing CR
 *     dropped); an attribute is present or absent unlike in the input;
 *   - policy_reset() leaves anything behind but the store.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "fuzz_common.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR 4

enum ev_kind { EV_DONE, EV_ERROR, EV_EOF_MID, EV_EOF_CLEAN };

struct event {
	enum ev_kind kind;
	bool present[PA_COUNT];
	size_t off[PA_COUNT], len[PA_COUNT]; /* the value, in the stream */
};

struct events {
	struct event *v;
	size_t n, cap;
};

struct limits_plan {
	struct policy_limits a, b;
	size_t reload_after; /* lines; 0: never */
};

static void pick_limits(unsigned sel, const uint8_t *h, struct policy_limits *l)
{
	switch (sel & 3) {
	case 0: *l = (struct policy_limits){ 4096, 100, 32768 }; break;
	case 1: *l = (struct policy_limits){ 1024, 50, 32768 }; break;
	case 2: *l = (struct policy_limits){ 256, 16, 1024 }; break;
	default: *l = (struct policy_limits){ h[1], h[2] & 15u, 4u * h[3] }; break;
	}
}

static struct event *push(struct events *e, enum ev_kind k)
{
	if (e->n == e->cap) {
		size_t nc = e->cap ? 2 * e->cap : 16;
		struct event *nv = realloc(e->v, nc * sizeof(*nv));
		FUZZ_CHECK(nv != NULL);
		e->v = nv;
		e->cap = nc;
	}
	struct event *ev = &e->v[e->n++];
	memset(ev, 0, sizeof(*ev));
	ev->kind = k;
	return ev;
}

/* ------------------------------------------------------------ the reference model */

/*
 * What policy.h and SMTPD_POLICY_README say, read off the whole stream, plus the
 * session's store policy (grown to max_request when a request starts).  Written
 * without looking at how policy.c orders its checks: only the outcome is compared.
 */
static void model(const char *s, size_t n, const struct limits_plan *pl, struct events *out)
{
	static const char *const names[PA_COUNT] = {
		"request", "protocol_state", "protocol_name", "helo_name", "queue_id", "sender",
		"recipient", "client_address", "client_name", "reverse_client_name", "instance",
		"sasl_method", "sasl_username",
	};
	struct policy_limits lim = pl->a;
	size_t pos = 0, lines = 0, store_cap = 0;
	size_t rsize = 0, nattrs = 0, used = 0;
	struct event cur;
	memset(&cur, 0, sizeof(cur));

	for (;;) {
		const char *nl = memchr(s + pos, '\n', n - pos);
		if (nl == NULL) {
			size_t have = n - pos;
			if (have > lim.max_line)
				push(out, EV_ERROR);
			else
				push(out, have > 0 || rsize > 0 ? EV_EOF_MID : EV_EOF_CLEAN);
			return;
		}
		size_t len = (size_t)(nl - (s + pos));
		const char *line = s + pos;
		size_t lineoff = pos;
		pos += len + 1;
		if (len > lim.max_line) {
			push(out, EV_ERROR);
			return;
		}
		if (rsize == 0)
			store_cap = lim.max_request;
		/* rsize + len + 1 > max_request, without overflow */
		if (rsize > lim.max_request || len >= lim.max_request - rsize) {
			push(out, EV_ERROR);
			return;
		}
		rsize += len + 1;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len == 0) {
			if (nattrs == 0 || !cur.present[PA_REQUEST]) {
				push(out, EV_ERROR);
				return;
			}
			struct event *ev = push(out, EV_DONE);
			memcpy(ev, &cur, sizeof(cur));
			ev->kind = EV_DONE;
			memset(&cur, 0, sizeof(cur));
			rsize = nattrs = used = 0;
		} else {
			const char *eq = memchr(line, '=', len);
			if (memchr(line, '\0', len) != NULL || eq == NULL || eq == line ||
			    ++nattrs > lim.max_attributes) {
				push(out, EV_ERROR);
				return;
			}
			size_t nlen = (size_t)(eq - line), vlen = len - nlen - 1;
			for (int a = 0; a < PA_COUNT; a++) {
				if (strlen(names[a]) != nlen || memcmp(names[a], line, nlen) != 0)
					continue;
				if (used > store_cap || vlen >= store_cap - used) {
					push(out, EV_ERROR);
					return;
				}
				used += vlen + 1;
				cur.present[a] = true;
				cur.off[a] = lineoff + nlen + 1;
				cur.len[a] = vlen;
			}
		}
		if (++lines == pl->reload_after)
			lim = pl->b;
	}
}

/* ------------------------------------------------------------ session.c's reader */

struct conn {
	const char *stream;
	const struct limits_plan *pl;
	struct policy_limits lim;
	struct evbuffer *in;
	struct policy_request req;
	char *store;
	size_t store_cap;
	size_t lines;
	bool closed;
	const struct events *want;
	size_t next; /* the model's event expected next */
};

static void expect(struct conn *c, enum ev_kind k)
{
	FUZZ_CHECK(c->next < c->want->n);
	FUZZ_CHECK(c->want->v[c->next].kind == k);
	c->next++;
	if (k != EV_DONE)
		c->closed = true;
}

static void check_request(struct conn *c)
{
	const struct policy_request *r = &c->req;
	const struct event *ev = &c->want->v[c->next];

	FUZZ_CHECK(r->attr[PA_REQUEST] != NULL);
	/* A reload between the last attribute and the empty line may lower the cap. */
	size_t maxattr = c->pl->a.max_attributes > c->pl->b.max_attributes ?
	    c->pl->a.max_attributes : c->pl->b.max_attributes;
	FUZZ_CHECK(r->nattrs >= 1 && r->nattrs <= maxattr);
	FUZZ_CHECK(r->size <= c->lim.max_request);
	FUZZ_CHECK(r->store == c->store && r->store_cap == c->store_cap);
	FUZZ_CHECK(r->store_len <= r->store_cap && r->store_len <= r->size);
	for (int a = 0; a < PA_COUNT; a++) {
		const char *v = r->attr[a];
		FUZZ_CHECK((v != NULL) == ev->present[a]);
		if (v == NULL) {
			FUZZ_CHECK(policy_get(r, (enum policy_attr)a)[0] == '\0');
			continue;
		}
		FUZZ_CHECK(v >= r->store && v < r->store + r->store_len);
		size_t room = (size_t)(r->store + r->store_len - v);
		const char *nul = memchr(v, '\0', room);
		FUZZ_CHECK(nul != NULL);
		size_t vlen = (size_t)(nul - v);
		FUZZ_CHECK(memchr(v, '\n', vlen) == NULL);
		FUZZ_CHECK(vlen == ev->len[a]);
		FUZZ_CHECK(memcmp(v, c->stream + ev->off[a], vlen) == 0);
		FUZZ_CHECK(policy_get(r, (enum policy_attr)a) == v);
		FUZZ_CHECK(strcmp(policy_attr_name((enum policy_attr)a), "?") != 0);
	}
}

static void check_reset(const struct conn *c)
{
	const struct policy_request *r = &c->req;
	for (int a = 0; a < PA_COUNT; a++)
		FUZZ_CHECK(r->attr[a] == NULL);
	FUZZ_CHECK(r->nattrs == 0 && r->size == 0 && r->store_len == 0);
	FUZZ_CHECK(r->store == c->store && r->store_cap == c->store_cap);
}

/* pump_lines() of session.c, with a request answered as soon as it is complete. */
static void pump(struct conn *c, bool eof)
{
	while (!c->closed) {
		size_t eol_len;
		struct evbuffer_ptr p = evbuffer_search_eol(c->in, NULL, &eol_len, EVBUFFER_EOL_LF);
		if (p.pos < 0) {
			size_t have = evbuffer_get_length(c->in);
			if (have > c->lim.max_line) {
				expect(c, EV_ERROR); /* "line too long" before the line ends */
				return;
			}
			if (eof)
				expect(c, have > 0 || c->req.size > 0 ? EV_EOF_MID : EV_EOF_CLEAN);
			return;
		}
		size_t len = (size_t)p.pos;
		if (len > c->lim.max_line) {
			expect(c, EV_ERROR);
			return;
		}
		if (c->req.size == 0 && (c->store == NULL || c->store_cap != c->lim.max_request)) {
			/* A store of exactly max_request bytes when a request starts, also
			 * when a reload lowered the cap; mid-request the store stays. */
			free(c->store);
			c->store = malloc(c->lim.max_request);
			FUZZ_CHECK(c->store != NULL || c->lim.max_request == 0);
			c->store_cap = c->lim.max_request;
			c->req.store = c->store;
			c->req.store_cap = c->store_cap;
		}
		const char *pulled = (const char *)evbuffer_pullup(c->in, (ev_ssize_t)(len + 1));
		FUZZ_CHECK(pulled != NULL && pulled[len] == '\n');
		char *line = malloc(len); /* exact size: len 0 is a zero-byte block */
		FUZZ_CHECK(line != NULL || len == 0);
		if (len > 0)
			memcpy(line, pulled, len);
		const char *why = NULL;
		size_t before = c->req.store_len;
		enum policy_status st = policy_line(&c->req, &c->lim, line, len, &why);
		free(line);
		evbuffer_drain(c->in, len + 1);
		FUZZ_CHECK(st == POLICY_MORE || st == POLICY_DONE || st == POLICY_ERROR);
		FUZZ_CHECK(c->req.store_len <= c->req.store_cap);
		if (st == POLICY_ERROR) {
			FUZZ_CHECK(why != NULL && why[0] != '\0');
			expect(c, EV_ERROR);
			return;
		}
		FUZZ_CHECK(c->req.store_len >= before);
		if (st == POLICY_DONE) {
			FUZZ_CHECK(c->next < c->want->n && c->want->v[c->next].kind == EV_DONE);
			check_request(c);
			expect(c, EV_DONE);
			policy_reset(&c->req);
			check_reset(c);
		}
		if (++c->lines == c->pl->reload_after)
			c->lim = c->pl->b;
	}
}

/* Chunk sizes: xorshift32 from the header and the length; the largest chunk is
 * 1, 7, 64 or unbounded, so both byte-at-a-time and all-at-once runs happen. */
static uint32_t rng_next(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < HDR)
		return 0;
	const uint8_t *h = data;
	struct limits_plan pl;
	pick_limits(h[0], h, &pl.a);
	pick_limits(h[0] >> 2, h, &pl.b);
	pl.reload_after = h[0] >> 4;

	const char *s = (const char *)data + HDR;
	size_t n = size - HDR;

	struct events want = { NULL, 0, 0 };
	model(s, n, &pl, &want);
	FUZZ_CHECK(want.n > 0 && want.v[want.n - 1].kind != EV_DONE);

	struct conn c;
	memset(&c, 0, sizeof(c));
	c.stream = s;
	c.pl = &pl;
	c.lim = pl.a;
	c.want = &want;
	c.in = evbuffer_new();
	FUZZ_CHECK(c.in != NULL);
	policy_init(&c.req, NULL, 0); /* as session_new() */

	uint32_t x = (uint32_t)h[1] << 16 ^ (uint32_t)h[2] << 8 ^ h[3] ^ (uint32_t)n * 2654435761u;
	if (x == 0)
		x = 1;
	static const size_t maxchunk[4] = { 1, 7, 64, SIZE_MAX };
	size_t mc = maxchunk[(h[1] ^ h[3]) & 3];
	size_t off = 0;
	while (off < n && !c.closed) {
		size_t k = n - off;
		if (mc != SIZE_MAX)
			k = 1 + rng_next(&x) % mc;
		else if (rng_next(&x) & 1)
			k = 1 + rng_next(&x) % k;
		if (k > n - off)
			k = n - off;
		FUZZ_CHECK(evbuffer_add(c.in, s + off, k) == 0);
		off += k;
		pump(&c, false);
	}
	if (!c.closed)
		pump(&c, true);
	/* Every event of the model was seen, and nothing after the connection closed. */
	FUZZ_CHECK(c.closed && c.next == want.n);

	evbuffer_free(c.in);
	free(c.store);
	free(want.v);
	return 0;
}
