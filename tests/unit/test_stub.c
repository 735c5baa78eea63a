/*
 * test_stub.c - unit tests of lib/stub.c, the c-ares stub transport, against a fake
 * DNS server inside the test process.
 *
 * The fake server is a UDP socket and a TCP listener on the same port of 127.0.0.1
 * (port 0: the kernel picks).  The transport is created in FORWARD mode with
 * "127.0.0.1@PORT" and short timers, and one poll() loop drives both: the server's
 * sockets (the test reads each query, notes its ID, flags and OPT RR, and answers as
 * the test's mode says, echoing ID and question) and the transport's descriptor
 * (readable: process()).  Covered: an answer with its tag, only from process();
 * NXDOMAIN; a server that never answers (the timerfd's retransmissions, then
 * XP_FAIL); SERVFAIL; FORMERR; cancel() before and after the answer arrived, also from inside
 * answer(); free() with questions out and from inside answer(); submit() from inside
 * answer(); a TC=1 UDP answer retried over TCP for a 1.5 kB TXT; a 900-byte answer
 * taken over UDP; tcp_only; invalid names; modes and options refused with a reason;
 * a question that cannot be sent at all; close-on-exec descriptors.  Nothing leaves
 * 127.0.0.1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "stub.h"
#include "transport.h"
#include "msgbuf.h"

#define T_A 1
#define T_SOA 6
#define T_TXT 16

/* Short timers: a silent server fails a question after 100 + 200 ms. */
#define TEST_TIMEOUT_MS 100
#define TEST_TRIES 2

enum mode {
	M_ANSWER,   /* A 192.0.2.1 / TXT "v=spf1 -all" */
	M_NXDOMAIN, /* NXDOMAIN with an SOA (TTL 60, MINIMUM 120) */
	M_SILENT,   /* never answers */
	M_HOLD,     /* keeps the queries until fake_release() */
	M_TC,       /* UDP: TC=1 and nothing else; TCP: a 1.5 kB TXT */
	M_LARGE,    /* a 900-byte TXT answer over UDP */
	M_SERVFAIL, /* SERVFAIL */
	M_FORMERR,  /* FORMERR without an OPT RR */
};

#define HOLD_MAX 8
#define BIG_STRINGS 6
#define BIG_STRING_LEN 250
#define LARGE_STRINGS 4
#define LARGE_STRING_LEN 200

struct held {
	uint8_t q[512];
	size_t len;
	struct sockaddr_in from;
};

struct fake {
	int udp, lst, conn;
	uint16_t port;
	enum mode mode;
	unsigned udp_queries, tcp_queries;
	uint16_t ids[64];
	unsigned nids;
	bool rd_seen, opt_seen; /* of the last query */
	uint16_t opt_size;
	struct held held[HOLD_MAX];
	unsigned nheld;
};

/* What answer() got, and what it should do (hooks for re-entrancy tests). */
struct ctx {
	struct fake f;
	struct xp *x;
	unsigned n;
	void *tags[32];
	struct xp_result *res[32];
	bool freed;          /* the transport was freed from inside answer() */
	void *cancel_on;     /* when this tag is answered: cancel cancel_id */
	int cancel_id;
	bool cancel_ok;
	void *free_on;       /* when this tag is answered: free the transport */
	void *submit_on;     /* when this tag is answered: submit "again.example" */
	int submit_rc;
};

static int tag1, tag2, tag3;

/* ---------------------------------------------------------------- the fake server */

/* The answer to query q[0..len) in the fake's mode (tcp: over TCP). */
static void respond(struct fake *f, const uint8_t *q, size_t len, bool tcp, struct mb *m)
{
	assert_true(len >= 12 + 1 + 4);
	size_t p = 12;
	while (p < len && q[p] != 0)
		p += (size_t)q[p] + 1;
	assert_true(p + 5 <= len);
	size_t qend = p + 5; /* the root label, QTYPE, QCLASS */
	unsigned qtype = (unsigned)q[p + 1] << 8 | q[p + 2];

	f->rd_seen = (q[2] & 0x01) != 0;
	f->opt_seen = false;
	if (f->nids < 64)
		f->ids[f->nids++] = (uint16_t)(q[0] << 8 | q[1]);
	if (q[11] == 1 && qend + 11 <= len && q[qend] == 0 && q[qend + 1] == 0 &&
	    q[qend + 2] == 41) {
		f->opt_seen = true;
		f->opt_size = (uint16_t)(q[qend + 3] << 8 | q[qend + 4]);
	}

	unsigned rcode = 0, an = 0, ns = 0, flags = 0x8180;
	if (f->mode == M_NXDOMAIN)
		rcode = 3, ns = 1;
	else if (f->mode == M_SERVFAIL)
		rcode = 2;
	else if (f->mode == M_FORMERR)
		rcode = 1;
	else if (f->mode == M_TC && !tcp)
		flags |= 0x0200;
	else
		an = 1;
	m->len = 0;
	bytes(m, q, 2);
	u16(m, flags | rcode);
	u16(m, 1);
	u16(m, an);
	u16(m, ns);
	u16(m, 0);
	bytes(m, q + 12, qend - 12);
	if (an == 1) {
		u16(m, 0xc00c);
		u16(m, qtype);
		u16(m, 1);
		u32(m, 300);
		if (qtype == T_A) {
			u16(m, 4);
			bytes(m, "\xc0\x00\x02\x01", 4);
		} else if (f->mode == M_TC || f->mode == M_LARGE) {
			unsigned k = f->mode == M_TC ? BIG_STRINGS : LARGE_STRINGS;
			unsigned l = f->mode == M_TC ? BIG_STRING_LEN : LARGE_STRING_LEN;
			u16(m, k * (l + 1));
			for (unsigned i = 0; i < k; i++) {
				u8(m, l);
				for (unsigned j = 0; j < l; j++)
					u8(m, 'a' + (i + j) % 26);
			}
		} else {
			u16(m, 12);
			bytes(m, "\x0bv=spf1 -all", 12);
		}
	}
	if (ns == 1) {
		u16(m, 0xc00c);
		u16(m, T_SOA);
		u16(m, 1);
		u32(m, 60);
		u16(m, 2 + 2 + 20);
		u16(m, 0xc00c);
		u16(m, 0xc00c);
		u32(m, 1);
		u32(m, 2);
		u32(m, 3);
		u32(m, 4);
		u32(m, 120);
	}
}

static void fake_start(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	f->conn = -1;
	for (int attempt = 0; attempt < 50; attempt++) {
		struct sockaddr_in a;
		socklen_t alen = sizeof(a);
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		f->udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		assert_true(f->udp >= 0);
		assert_int_equal(bind(f->udp, (struct sockaddr *)&a, sizeof(a)), 0);
		assert_int_equal(getsockname(f->udp, (struct sockaddr *)&a, &alen), 0);
		f->port = ntohs(a.sin_port);
		f->lst = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_true(f->lst >= 0);
		int one = 1;
		setsockopt(f->lst, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(f->lst, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(f->lst, 4) == 0)
			return;
		close(f->udp);
		close(f->lst);
	}
	fail_msg("no UDP+TCP port pair on 127.0.0.1");
}

static void fake_stop(struct fake *f)
{
	close(f->udp);
	close(f->lst);
	if (f->conn >= 0)
		close(f->conn);
}

static void fake_udp(struct fake *f)
{
	struct held h;
	socklen_t flen = sizeof(h.from);
	ssize_t n = recvfrom(f->udp, h.q, sizeof(h.q), 0, (struct sockaddr *)&h.from, &flen);
	if (n <= 0)
		return;
	h.len = (size_t)n;
	f->udp_queries++;
	if (f->mode == M_SILENT)
		return;
	if (f->mode == M_HOLD) {
		assert_true(f->nheld < HOLD_MAX);
		f->held[f->nheld++] = h;
		return;
	}
	struct mb m;
	respond(f, h.q, h.len, false, &m);
	assert_int_equal(sendto(f->udp, m.b, m.len, 0, (struct sockaddr *)&h.from, flen),
	    (ssize_t)m.len);
}

/* Answers the held queries, in the order they came (as M_ANSWER). */
static void fake_release(struct fake *f)
{
	struct mb m;
	f->mode = M_ANSWER;
	for (unsigned i = 0; i < f->nheld; i++) {
		respond(f, f->held[i].q, f->held[i].len, false, &m);
		assert_int_equal(sendto(f->udp, m.b, m.len, 0, (struct sockaddr *)&f->held[i].from,
		    sizeof(f->held[i].from)), (ssize_t)m.len);
	}
	f->nheld = 0;
}

static void fake_tcp(struct fake *f)
{
	uint8_t lenbuf[2], q[512];
	ssize_t n = recv(f->conn, lenbuf, 2, MSG_WAITALL);
	if (n != 2) {
		close(f->conn);
		f->conn = -1;
		return;
	}
	size_t len = (size_t)lenbuf[0] << 8 | lenbuf[1];
	assert_true(len <= sizeof(q));
	assert_int_equal(recv(f->conn, q, len, MSG_WAITALL), (ssize_t)len);
	f->tcp_queries++;
	struct mb m;
	respond(f, q, len, true, &m);
	lenbuf[0] = (uint8_t)(m.len >> 8);
	lenbuf[1] = (uint8_t)m.len;
	assert_int_equal(send(f->conn, lenbuf, 2, 0), 2);
	assert_int_equal(send(f->conn, m.b, m.len, 0), (ssize_t)m.len);
}

/* ---------------------------------------------------------------- the transport */

static void on_answer(void *owner, void *tag, struct xp_result *res)
{
	struct ctx *c = owner;
	assert_non_null(res);
	assert_true(c->n < 32);
	c->tags[c->n] = tag;
	c->res[c->n] = res;
	c->n++;
	if (tag == c->cancel_on && c->cancel_on != NULL)
		c->cancel_ok = c->x->ops->cancel(c->x, c->cancel_id);
	if (tag == c->submit_on && c->submit_on != NULL) {
		int id;
		c->submit_rc = c->x->ops->submit(c->x, "again.example", T_A, &tag3, &id);
	}
	if (tag == c->free_on && c->free_on != NULL) {
		/* The results already given are the caller's: free them first. */
		for (unsigned i = 0; i < c->n; i++)
			c->x->ops->result_free(c->x, c->res[i]);
		c->n = 0;
		c->x->ops->free(c->x);
		c->freed = true;
	}
}

static struct xp *mk(struct ctx *c, bool tcp_only)
{
	char fwd[32], err[256];
	snprintf(fwd, sizeof(fwd), "127.0.0.1@%u", (unsigned)c->f.port);
	const char *fw[1] = { fwd };
	struct spf_resolver_options o;
	memset(&o, 0, sizeof(o));
	o.mode = SPF_RESOLVER_FORWARD;
	o.forwarders = fw;
	o.nforwarders = 1;
	o.tcp_only = tcp_only;
	err[0] = '\0';
	int rc = spf_stub_new(&c->x, &o, on_answer, c, TEST_TIMEOUT_MS, TEST_TRIES, err,
	    sizeof(err));
	if (rc != SPF_OK)
		fail_msg("spf_stub_new: %d %s", rc, err);
	assert_string_equal(c->x->ops->name, "stub");
	assert_true(c->x->ops->fd(c->x) >= 0);
	return c->x;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs the server and the transport for up to ms, until want answers have come (0:
 * the whole time). */
static void run(struct ctx *c, unsigned want, long long ms)
{
	long long end = now_ms() + ms;
	while (!c->freed && (want == 0 || c->n < want)) {
		long long left = end - now_ms();
		if (left <= 0)
			break;
		struct pollfd p[4] = {
			{ c->x->ops->fd(c->x), POLLIN, 0 },
			{ c->f.udp, POLLIN, 0 },
			{ c->f.lst, POLLIN, 0 },
			{ c->f.conn, POLLIN, 0 },
		};
		int n = poll(p, 4, (int)(left < 50 ? left : 50));
		assert_true(n >= 0 || errno == EINTR);
		if (p[1].revents & POLLIN)
			fake_udp(&c->f);
		if (p[2].revents & POLLIN) {
			if (c->f.conn >= 0)
				close(c->f.conn);
			c->f.conn = accept4(c->f.lst, NULL, NULL, SOCK_CLOEXEC);
		}
		if (c->f.conn >= 0 && (p[3].revents & (POLLIN | POLLHUP)))
			fake_tcp(&c->f);
		if (p[0].revents & POLLIN)
			assert_int_equal(c->x->ops->process(c->x), SPF_OK);
	}
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -1;
	fake_start(&c->f);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	if (!c->freed && c->x != NULL) {
		for (unsigned i = 0; i < c->n; i++)
			c->x->ops->result_free(c->x, c->res[i]);
		c->x->ops->free(c->x);
	}
	fake_stop(&c->f);
	free(c);
	return 0;
}

/* ---------------------------------------------------------------- tests */

static void test_answer(void **state)
{
	struct ctx *c = *state;
	struct xp *x = mk(c, false);
	int id1 = -1;
	assert_int_equal(x->ops->submit(x, "Example.COM", T_A, &tag1, &id1), SPF_OK);
	assert_true(id1 >= 0);
	assert_int_equal(c->n, 0); /* never from submit() */
	run(c, 1, 3000);
	assert_int_equal(c->n, 1);
	assert_ptr_equal(c->tags[0], &tag1);
	const struct xp_result *r = c->res[0];
	assert_int_equal(r->rcode, 0);
	assert_true(r->has_records);
	assert_false(r->secure);
	assert_false(r->bogus);
	assert_int_equal(r->ttl, 300);
	assert_int_equal(r->n, 1);
	assert_int_equal(r->rdlen[0], 4);
	assert_memory_equal(r->rdata[0], "\xc0\x00\x02\x01", 4);
	/* The query: RD, an OPT RR advertising 1232 bytes. */
	assert_true(c->f.rd_seen);
	assert_true(c->f.opt_seen);
	assert_int_equal(c->f.opt_size, 1232);

	/* More, at once; their IDs are not one constant. */
	int ids[4];
	for (int i = 0; i < 4; i++) {
		char name[32];
		snprintf(name, sizeof(name), "n%d.example", i);
		assert_int_equal(x->ops->submit(x, name, T_TXT, &tag2, &ids[i]), SPF_OK);
		assert_int_not_equal(ids[i], id1);
	}
	run(c, 5, 3000);
	assert_int_equal(c->n, 5);
	for (unsigned i = 1; i < 5; i++) {
		assert_ptr_equal(c->tags[i], &tag2);
		assert_int_equal(c->res[i]->n, 1);
		assert_int_equal(c->res[i]->rdlen[0], 12);
		assert_memory_equal(c->res[i]->rdata[0], "\x0bv=spf1 -all", 12);
	}
	assert_int_equal(c->f.nids, 5);
	bool differ = false;
	for (unsigned i = 1; i < c->f.nids; i++)
		differ |= c->f.ids[i] != c->f.ids[0];
	assert_true(differ);
	assert_int_equal(c->f.tcp_queries, 0);
}

static void test_nxdomain(void **state)
{
	struct ctx *c = *state;
	struct xp *x = mk(c, false);
	c->f.mode = M_NXDOMAIN;
	int id;
	assert_int_equal(x->ops->submit(x, "nx.example", T_TXT, &tag1, &id), SPF_OK);
	run(c, 1, 3000);
	assert_int_equal(c->n, 1);
	assert_ptr_equal(c->tags[0], &tag1);
	assert_int_equal(c->res[0]->rcode, 3);
	assert_int_equal(c->res[0]->n, 0);
	assert_int_equal(c->res[0]->ttl, 60);
	assert_true(c->res[0]->has_records);
}

static void test_timeout(void **state)
{
	struct ctx *c = *state;
	struct xp *x = mk(c, false);
	c->f.mode = M_SILENT;
	int id;
	long long t0 = now_ms();
	assert_int_equal(x->ops->submit(x, "silent.example", T_A, &tag1, &id), SPF_OK);
	run(c, 1, 3000);
	long long took = now_ms() - t0;
	assert_int_equal(c->n, 1);
	assert_ptr_equal(c->tags[0], &tag1);
	assert_int_equal(c->res[0]->rcode, XP_FAIL);
	assert_int_equal(c->res[0]->n, 0);
	/* Tries: 100 ms, then 200 ms, each sent by the timer, no packet in between. */
	assert_int_equal(c->f.udp_queries, TEST_TRIES);
	assert_true(took >= 3 * TEST_TIMEOUT_MS - 20);
	assert_true(took < 2000);
}

static void test_servfail(void **state)
{
	struct ctx *c = *state;
	struct xp *x = mk(c, false);
	c->f.mode = M_SERVFAIL;
	int id;
	assert_int_equal(x->ops->submit(x, "sf.example", T_A, &tag1, &id), SPF_OK);
	run(c, 1, 3000);
	assert_int_equal(c->n, 1);
	assert_int_equal(c->res[0]->rcode, XP_FAIL);
	/* One try per round (one server); the OPT RR stays. */
	assert_int_equal(c->f.udp_queries, TEST_TRIES);
	assert_true(c->f.opt_seen);
}

static void test_formerr(void **state)
{
	struct ctx *c = *state;
	struct xp *x = mk(c, false);
	c->f.mode = M_FORMERR;
	int id;
	assert_int_equal(x->ops->submit(x, "fe.example", T_A, &tag1, &id), SPF_OK);
	run(c, 1, 3000);
	assert_int_equal(c->n, 1);
	/* c-ares 1.18 (ARES_FLAG_EDNS): a FORMERR without OPT RR is asked again without
	 * ours; a second FORMERR is an answer, with its RCODE. */
	assert_int_equal(c->f.udp_queries, 2);
	assert_false(c->f.opt_seen);
	assert_int_equal(c->res[0]->rcode, 1);
	assert_int_equal(c->res[0]->n, 0);
}

static void test_cancel(void **state)
{
	struct ctx *c = *state;
	struct xp *x = mk(c, false);
	c->f.mode = M_HOLD;
	int id1, id2;
	assert_int_equal(x->ops->submit(x, "a.example", T_A, &tag1, &id1), SPF_OK);
	assert_int_equal(x->ops->submit(x, "b.example", T_A, &tag2, &id2), SPF_OK);
	long long end = now_ms() + 2000;
	while (c->f.nheld < 2 && now_ms() < end)
		run(c, 0, 20);
	assert_int_equal(c->f.nheld, 2);
	assert_true(x->ops->cancel(x, id1));
	assert_false(x->ops->cancel(x, id1)); /* not out any more */
	assert_false(x->ops->cancel(x, 12345678));
	assert_false(x->ops->cancel(x, -1));
	fake_release(&c->f);
	run(c, 0, 300); /* the answer to a.example arrives too, and is dropped */
	assert_int_equal(c->n, 1);
	assert_ptr_equal(c->tags[0], &tag2);
	assert_int_equal(c->res[0]->rcode, 0);
	assert_false(x->ops->cancel(x, id2)); /* answered */

	/* The slot of a.example is reused: the old id must not cancel the new one. */
	int id3;
	c->f.mode = M_ANSWER;
	assert_int_equal(x->ops->submit(x, "c.example", T_A, &tag3, &id3), SPF_OK);
	assert_int_not_equal(id3, id1);
	assert_int_not_equal(id3, id2);
	assert_false(x->ops->cancel(x, id1));
	assert_false(x->ops->cancel(x, id2));
	run(c, 2, 3000);
	assert_int_equal(c->n, 2);
	assert_ptr_equal(c->tags[1], &tag3);
}

static void test_cancel_queued(void **state)
{
	struct ctx *c = *state;
	struct xp *x = mk(c, false);
	c->f.mode = M_HOLD;
	int id1, id2;
	assert_int_equal(x->ops->submit(x, "a.example", T_A, &tag1, &id1), SPF_OK);
	assert_int_equal(x->ops->submit(x, "b.example", T_A, &tag2, &id2), SPF_OK);
	long long end = now_ms() + 2000;
	while (c->f.nheld < 2 && now_ms() < end)
		run(c, 0, 20);
	assert_int_equal(c->f.nheld, 2);
	/* Both answers are read in one process(); answering the first cancels the
	 * second, already queued. */
	c->cancel_on = &tag1;
	c->cancel_id = id2;
	fake_release(&c->f);
	usleep(20000);
	run(c, 0, 300);
	assert_true(c->cancel_ok);
	assert_int_equal(c->n, 1);
	assert_ptr_equal(c->tags[0], &tag1);
}

static void test_submit_from_answer(void **state)
{
	struct ctx *c = *state;
	struct xp *x = mk(c, false);
	c->submit_on = &tag1;
	c->submit_rc = -100;
	int id;
	assert_int_equal(x->ops->submit(x, "first.example", T_A, &tag1, &id), SPF_OK);
	run(c, 2, 3000);
	assert_int_equal(c->submit_rc, SPF_OK);
	assert_int_equal(c->n, 2);
	assert_ptr_equal(c->tags[0], &tag1);
	assert_ptr_equal(c->tags[1], &tag3);
	assert_int_equal(c->res[1]->rcode, 0);
}

static void test_free_outstanding(void **state)
{
	struct ctx *c = *state;
	struct xp *x = mk(c, false);
	c->f.mode = M_HOLD;
	int id;
	assert_int_equal(x->ops->submit(x, "a.example", T_A, &tag1, &id), SPF_OK);
	assert_int_equal(x->ops->submit(x, "b.example", T_TXT, &tag2, &id), SPF_OK);
	assert_int_equal(x->ops->submit(x, "c.example", T_A, &tag3, &id), SPF_OK);
	assert_true(x->ops->cancel(x, id));
	long long end = now_ms() + 2000;
	while (c->f.nheld < 3 && now_ms() < end)
		run(c, 0, 20);
	assert_int_equal(c->f.nheld, 3);
	x->ops->free(x); /* no answer(), no leak (LeakSanitizer) */
	c->x = NULL;
	assert_int_equal(c->n, 0);
}

static void test_free_from_answer(void **state)
{
	struct ctx *c = *state;
	struct xp *x = mk(c, false);
	c->f.mode = M_HOLD;
	int id;
	assert_int_equal(x->ops->submit(x, "a.example", T_A, &tag1, &id), SPF_OK);
	assert_int_equal(x->ops->submit(x, "b.example", T_A, &tag2, &id), SPF_OK);
	assert_int_equal(x->ops->submit(x, "c.example", T_A, &tag3, &id), SPF_OK);
	long long end = now_ms() + 2000;
	while (c->f.nheld < 3 && now_ms() < end)
		run(c, 0, 20);
	/* Answer two; the first answer() frees the transport: the second, already
	 * queued, is not delivered, the third never comes. */
	c->f.nheld = 2;
	c->free_on = &tag1;
	fake_release(&c->f);
	usleep(20000);
	run(c, 0, 300);
	assert_true(c->freed);
	assert_int_equal(c->n, 0); /* on_answer() freed the one it got */
}

static void test_tc_tcp(void **state)
{
	struct ctx *c = *state;
	struct xp *x = mk(c, false);
	c->f.mode = M_TC;
	int id;
	assert_int_equal(x->ops->submit(x, "big.example", T_TXT, &tag1, &id), SPF_OK);
	run(c, 1, 3000);
	assert_int_equal(c->n, 1);
	assert_int_equal(c->f.udp_queries, 1);
	assert_int_equal(c->f.tcp_queries, 1);
	const struct xp_result *r = c->res[0];
	assert_int_equal(r->rcode, 0);
	assert_int_equal(r->n, 1);
	assert_int_equal(r->rdlen[0], BIG_STRINGS * (BIG_STRING_LEN + 1));
	assert_true(r->rdlen[0] > 1232);
	for (unsigned i = 0; i < BIG_STRINGS; i++) {
		const uint8_t *s = r->rdata[0] + i * (BIG_STRING_LEN + 1);
		assert_int_equal(s[0], BIG_STRING_LEN);
		for (unsigned j = 0; j < BIG_STRING_LEN; j++)
			assert_int_equal(s[1 + j], 'a' + (i + j) % 26);
	}
}

static void test_large_udp(void **state)
{
	struct ctx *c = *state;
	struct xp *x = mk(c, false);
	c->f.mode = M_LARGE;
	int id;
	assert_int_equal(x->ops->submit(x, "large.example", T_TXT, &tag1, &id), SPF_OK);
	run(c, 1, 3000);
	assert_int_equal(c->n, 1);
	assert_int_equal(c->res[0]->rcode, 0);
	assert_int_equal(c->res[0]->n, 1);
	assert_int_equal(c->res[0]->rdlen[0], LARGE_STRINGS * (LARGE_STRING_LEN + 1));
	/* More than 512 bytes, less than 1232: taken over UDP, no TCP retry. */
	assert_int_equal(c->f.udp_queries, 1);
	assert_int_equal(c->f.tcp_queries, 0);
}

static void test_tcp_only(void **state)
{
	struct ctx *c = *state;
	struct xp *x = mk(c, true);
	int id;
	assert_int_equal(x->ops->submit(x, "example.com", T_A, &tag1, &id), SPF_OK);
	assert_int_equal(x->ops->submit(x, "example.org", T_TXT, &tag2, &id), SPF_OK);
	run(c, 2, 3000);
	assert_int_equal(c->n, 2);
	assert_int_equal(c->res[0]->rcode, 0);
	assert_int_equal(c->res[1]->rcode, 0);
	assert_int_equal(c->f.udp_queries, 0);
	assert_int_equal(c->f.tcp_queries, 2);
}

static void test_invalid_names(void **state)
{
	struct ctx *c = *state;
	struct xp *x = mk(c, false);
	char n[300];
	memset(n, 'a', 64);
	strcpy(n + 64, ".example");
	const char *bad[] = { n, "a..example", "", ".example", "example.", "." };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int id = 777;
		assert_int_equal(x->ops->submit(x, bad[i], T_A, &tag1, &id), SPF_EINVAL);
		assert_int_equal(id, 777);
	}
	/* 256 bytes in wire form. */
	memset(n, 'a', sizeof(n));
	n[63] = n[127] = n[191] = '.';
	n[254] = '\0';
	int id;
	assert_int_equal(x->ops->submit(x, n, T_A, &tag1, &id), SPF_EINVAL);
	n[253] = '\0'; /* 255: fine */
	assert_int_equal(x->ops->submit(x, n, T_A, &tag2, &id), SPF_OK);
	run(c, 1, 3000);
	assert_int_equal(c->n, 1);
	assert_ptr_equal(c->tags[0], &tag2);
	assert_int_equal(c->f.udp_queries, 1);
}

static void test_refused(void **state)
{
	(void)state;
	struct spf_resolver_options o;
	struct xp *x = (struct xp *)1;
	char err[256];

	memset(&o, 0, sizeof(o));
	o.mode = SPF_RESOLVER_RECURSE;
	assert_int_equal(xp_stub_new(&x, &o, on_answer, NULL, err, sizeof(err)), SPF_EINVAL);
	assert_null(x);
	assert_non_null(strstr(err, "cannot recurse"));
	assert_non_null(strstr(err, "libunbound"));

	memset(&o, 0, sizeof(o));
	o.mode = SPF_RESOLVER_SYSTEM;
	o.trust_anchor_file = "/var/lib/unbound/root.key";
	assert_int_equal(xp_stub_new(&x, &o, on_answer, NULL, err, sizeof(err)), SPF_EINVAL);
	assert_non_null(strstr(err, "DNSSEC"));
	assert_non_null(strstr(err, "/var/lib/unbound/root.key"));

	memset(&o, 0, sizeof(o));
	o.mode = SPF_RESOLVER_FORWARD;
	assert_int_equal(xp_stub_new(&x, &o, on_answer, NULL, err, sizeof(err)), SPF_EINVAL);
	assert_non_null(strstr(err, "at least one forwarder"));

	const char *bad[] = { "dns.example", "192.0.2.1@", "192.0.2.1@0", "192.0.2.1@65536",
		"192.0.2.1@53x", "192.0.2.256", "[::1]@53", "::1@53@53", "", "192.0.2.1 " };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *fw[2] = { "127.0.0.1", bad[i] };
		o.forwarders = fw;
		o.nforwarders = 2;
		err[0] = '\0';
		assert_int_equal(xp_stub_new(&x, &o, on_answer, NULL, err, sizeof(err)),
		    SPF_EINVAL);
		char quoted[64];
		snprintf(quoted, sizeof(quoted), "'%s'", bad[i]);
		if (strstr(err, quoted) == NULL)
			fail_msg("error does not name %s: %s", quoted, err);
	}

	/* Good ones: IPv4, IPv6, with and without ports. */
	const char *good[] = { "192.0.2.1", "192.0.2.1@5353", "2001:db8::1", "::1@65535" };
	o.forwarders = good;
	o.nforwarders = 4;
	assert_int_equal(xp_stub_new(&x, &o, on_answer, NULL, err, sizeof(err)), SPF_OK);
	x->ops->free(x);

	/* System mode reads /etc/resolv.conf (whatever it holds). */
	memset(&o, 0, sizeof(o));
	o.mode = SPF_RESOLVER_SYSTEM;
	assert_int_equal(xp_stub_new(&x, &o, on_answer, NULL, err, sizeof(err)), SPF_OK);
	assert_string_equal(x->ops->name, "stub");
	x->ops->free(x);
}

static void test_cannot_send(void **state)
{
	struct ctx *c = *state;
	/* connect() of a UDP socket to the broadcast address fails (EACCES): c-ares
	 * gives up inside ares_send() and calls back at once. */
	struct spf_resolver_options o;
	const char *fw[1] = { "255.255.255.255" };
	char err[256];
	memset(&o, 0, sizeof(o));
	o.mode = SPF_RESOLVER_FORWARD;
	o.forwarders = fw;
	o.nforwarders = 1;
	assert_int_equal(spf_stub_new(&c->x, &o, on_answer, c, TEST_TIMEOUT_MS, TEST_TRIES,
	    err, sizeof(err)), SPF_OK);
	int id;
	assert_int_equal(c->x->ops->submit(c->x, "example.com", T_A, &tag1, &id), SPF_EIO);
	run(c, 0, 200);
	assert_int_equal(c->n, 0);
}

/* Every descriptor the transport holds is close-on-exec. */
static void test_cloexec(void **state)
{
	struct ctx *c = *state;
	struct xp *x = mk(c, false);
	c->f.mode = M_TC; /* a UDP socket and a TCP one */
	int id;
	assert_int_equal(x->ops->submit(x, "big.example", T_TXT, &tag1, &id), SPF_OK);
	run(c, 1, 3000);
	assert_int_equal(c->n, 1);
	assert_int_equal(c->f.tcp_queries, 1);

	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	struct dirent *e;
	unsigned checked = 0;
	while ((e = readdir(d)) != NULL) {
		int fd = atoi(e->d_name);
		if (e->d_name[0] == '.' || fd <= 2 || fd == dirfd(d))
			continue;
		char path[64], link[128];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strncmp(link, "socket:", 7) != 0 && strstr(link, "eventpoll") == NULL &&
		    strstr(link, "timerfd") == NULL)
			continue;
		int fl = fcntl(fd, F_GETFD);
		if (!(fl & FD_CLOEXEC))
			fail_msg("descriptor %d (%s) is not close-on-exec", fd, link);
		checked++;
	}
	closedir(d);
	/* The fake's UDP, listener and connection; epoll, timerfd, c-ares's UDP+TCP. */
	assert_true(checked >= 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nxdomain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_servfail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_formerr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_queued, setup, teardown),
		cmocka_unit_test_setup_teardown(test_submit_from_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_outstanding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_from_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tc_tcp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_udp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_names, setup, teardown),
		cmocka_unit_test(test_refused),
		cmocka_unit_test_setup_teardown(test_cannot_send, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cloexec, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
