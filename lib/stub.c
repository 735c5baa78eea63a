/*
 * stub.c - the stub transport: questions sent over c-ares to the resolvers of
 * /etc/resolv.conf or to the configured forwarders.
 *
 * Entry points: xp_stub_new (transport.h), spf_stub_new (stub.h); everything else
 * through struct xp_ops.
 *
 * What it is for.  libunbound is a full recursive, validating resolver: a thread,
 * caches, a random generator seeded twice, milliseconds of start-up.  When a site
 * already runs a caching resolver (the usual case on a mail server), a process that
 * starts, asks a few questions and exits needs none of that: this transport is a
 * plain stub (RFC 1123 §6.1.3.1) in the caller's thread, with no cache of its own
 * (the resolver's answer cache in front of every transport is the cache).  It does
 * not recurse and does not validate DNSSEC: answers are never secure and never
 * bogus.  So mode RECURSE and a trust anchor file are refused, naming the libunbound
 * engine, rather than silently answered without what they ask for.
 *
 * Servers.  Mode SYSTEM: c-ares reads /etc/resolv.conf itself (nameserver lines and
 * the options it knows; RES_OPTIONS and LOCALDOMAIN too, though search lists do not
 * apply to ares_send()).  Mode FORWARD: the forwarders, "IP" or "IP@port" (IPv4 or
 * IPv6, port 53 when absent), in the given order; one that does not parse is
 * SPF_EINVAL with its text in err.
 *
 * Questions.  The query is built here (dnsmsg.c): RD set, class IN, and an EDNS0 OPT
 * RR advertising SPF_DNS_EDNS_SIZE bytes with DO clear (RFC 6891), because SPF TXT
 * answers are often larger than 512 bytes.  Its ID comes from getrandom(): c-ares
 * 1.18's ares_send() sends the ID the caller wrote (only ares_query() makes one up),
 * and an off-path attacker must not be able to guess it (RFC 5452 §4.3).  c-ares
 * matches answers to questions by ID and question, checks that an answer comes from
 * the address it asked, retries truncated answers over TCP, moves to the next server
 * on a timeout, a socket error, SERVFAIL, NOTIMP or REFUSED, and doubles the timeout
 * on every round through the servers: the first try waits SPF_STUB_TIMEOUT_MS, and a
 * question that no server answers fails after SPF_STUB_TRIES rounds (1 + 2 + 4 s with
 * one server).  The channel has ARES_FLAG_EDNS with the same payload size: c-ares
 * 1.18 takes a UDP answer longer than 512 bytes for a truncated one (and asks again
 * over TCP) unless that flag raises its limit.  The flag has one more effect: a
 * FORMERR answer without an OPT RR makes c-ares strip the last 11 bytes of the query
 * (exactly our OPT RR) and ask again, and clear the flag for the rest of the
 * channel's life; later queries still carry their OPT RR, but UDP answers longer
 * than 512 bytes then go to TCP: one more round trip per large answer once such a
 * server was met, never a wrong answer.
 * tcp_only sets ARES_FLAG_USEVC.  ARES_FLAG_IGNTC is not set: a truncated answer is
 * never used.  STAYOPEN keeps the sockets between questions.
 *
 * Answers.  c-ares's callback with ARES_SUCCESS carries the message, which
 * spf_dnsmsg_read() turns into the xp_result (CNAME chain, TTLs, uncompressed RDATA:
 * see dnsmsg.c); any other status (ETIMEOUT, ECONNREFUSED, ...) and any message that
 * does not read is rcode XP_FAIL.  (SERVFAIL, NOTIMP or REFUSED from every server
 * ends in c-ares 1.18 as ARES_ECONNREFUSED, its initial error, not ESERVFAIL.)  Other
 * RCODEs (FORMERR, YXDOMAIN, ...) come through as messages and keep their RCODE.  The XP_FAIL result is
 * allocated when the question is submitted, so that a question can always be
 * answered, even out of memory.
 *
 * Callbacks do no work (as in unbound.c).  c-ares calls back only from inside
 * ares_process_fd() (from process()) and, when a question cannot even be sent, from
 * inside ares_send() (from submit()).  The callback only parks the result on the
 * question's record and queues it; submit() turns a callback from inside ares_send()
 * into its return value (SPF_EIO, SPF_ENOMEM).  After c-ares returns, process() hands
 * the queued answers to answer() in the order they came.  So answer() is only ever
 * called from process(), c-ares is never re-entered from its own callback, and
 * answer() may submit or cancel questions (even free the transport: that is done once
 * the delivery loop is out of the way).
 *
 * Ids and records.  Each question has a heap record; c-ares holds a pointer to it
 * until its callback, which it makes exactly once per ares_send() (an answer, an
 * error, or ARES_EDESTRUCTION from ares_destroy()).  The caller holds only an id: a
 * slot in a table with a generation counter (id = generation << 20 | slot), so a
 * stale id finds nothing.  c-ares 1.18 cannot cancel one query, so cancel() marks the
 * record dropped and frees the slot: the callback frees the record without a word,
 * and an answer already queued is freed unread.  free() sets a flag and calls
 * ares_destroy(), whose ARES_EDESTRUCTION callbacks free the records of questions
 * still out; queued answers are freed too; answer() is not called.
 *
 * One descriptor.  The caller watches one descriptor; c-ares has a UDP socket per
 * server and a TCP connection for truncated answers, plus timers.  So fd() is an
 * epoll instance: the sock_state callback adds, changes and removes c-ares's sockets
 * (EPOLLIN, and EPOLLOUT while c-ares has TCP data to send, e.g. during connect), and
 * a timerfd in the same set is armed from ares_timeout() after every submit() and
 * process() (disarmed when nothing is out), so retransmissions and timeouts happen
 * though no packet arrives.  An epoll descriptor is readable while any member is
 * ready, so it works in poll(), select() and libevent's epoll and poll backends.
 * process() polls it with timeout 0 until nothing is ready (at most PROCESS_ROUNDS
 * rounds; what is left keeps the descriptor readable) and gives each ready socket to
 * ares_process_fd(); the timer's expiry runs c-ares's timeouts.
 *
 * Descriptors are close-on-exec: the epoll instance and the timerfd by their flags,
 * c-ares's sockets by c-ares (configure_socket() sets FD_CLOEXEC).  No threads;
 * not thread-safe: one thread drives a transport.
 *
 * Memory: the transport owns its records and the results until they are given to
 * answer(); from then on a result is the caller's, for result_free() (one free()).
 */
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <ares.h>

#include "dnsmsg.h"
#include "stub.h"
#include "sys.h"
#include "transport.h"

#define MAX_EVENTS 16
/* epoll_wait() rounds in one process(); more means c-ares leaves a socket ready. */
#define PROCESS_ROUNDS 64
/* Ids: a slot in the low SLOT_BITS bits, its generation above, always >= 0. */
#define SLOT_BITS 20
#define MAX_SLOTS (1u << SLOT_BITS)
#define GEN_MASK 0x7ffu
#define NO_SLOT UINT32_MAX
/* Query IDs fetched from getrandom() at once. */
#define ID_POOL 64

enum qstate {
	Q_OUT,     /* c-ares has it */
	Q_READY,   /* answered; queued for answer() */
	Q_DROPPED, /* cancelled: freed by the callback, or by the delivery loop */
};

struct squery {
	struct stub *s;
	void *tag;
	uint32_t slot;
	enum qstate state;
	uint16_t type;
	struct xp_result *res; /* the answer; until one comes, the XP_FAIL one */
	struct squery *next;   /* the ready queue */
	char name[SPF_DNS_NAME_MAX]; /* dotted: at most 253 bytes and a NUL */
};

struct slot {
	struct squery *q; /* NULL: free */
	uint32_t gen;
	uint32_t next_free;
};

struct stub {
	struct xp base; /* first: a struct xp * is a struct stub * */
	ares_channel ch;
	bool have_channel, lib_init;
	int ep, tfd;
	struct slot *slots;
	uint32_t nslots, capslots, free_head;
	struct squery *ready, *ready_tail;
	struct squery *submitting; /* inside ares_send() */
	bool submit_failed;
	int submit_status;
	bool destroying;
	unsigned delivering; /* depth of deliver() */
	bool free_pending;   /* free() was called from inside answer() */
	uint16_t ids[ID_POOL];
	unsigned nids;
};

/* ---------------------------------------------------------------- ids */

static int slot_take(struct stub *s, struct squery *q, int *id)
{
	uint32_t i;
	if (s->free_head != NO_SLOT) {
		i = s->free_head;
		s->free_head = s->slots[i].next_free;
	} else {
		if (s->nslots == s->capslots) {
			if (s->capslots == MAX_SLOTS)
				return SPF_ELIMIT;
			uint32_t cap = s->capslots == 0 ? 16 : s->capslots * 2;
			if (cap > MAX_SLOTS)
				cap = MAX_SLOTS;
			struct slot *n = realloc(s->slots, cap * sizeof(*n));
			if (n == NULL)
				return SPF_ENOMEM;
			s->slots = n;
			s->capslots = cap;
		}
		i = s->nslots++;
		s->slots[i].gen = 0;
	}
	s->slots[i].q = q;
	q->slot = i;
	*id = (int)((s->slots[i].gen & GEN_MASK) << SLOT_BITS | i);
	return SPF_OK;
}

static void slot_release(struct stub *s, uint32_t i)
{
	s->slots[i].q = NULL;
	s->slots[i].gen++;
	s->slots[i].next_free = s->free_head;
	s->free_head = i;
}

static struct squery *slot_find(const struct stub *s, int id)
{
	if (id < 0)
		return NULL;
	uint32_t i = (uint32_t)id & (MAX_SLOTS - 1);
	uint32_t gen = (uint32_t)id >> SLOT_BITS;
	if (i >= s->nslots || s->slots[i].q == NULL || (s->slots[i].gen & GEN_MASK) != gen)
		return NULL;
	return s->slots[i].q;
}

/* An unpredictable query ID (RFC 5452 §4.3). */
static bool next_qid(struct stub *s, uint16_t *qid)
{
	if (s->nids == 0) {
		ssize_t n;
		do
			n = getrandom(s->ids, sizeof(s->ids), 0);
		while (n < 0 && errno == EINTR);
		if (n != (ssize_t)sizeof(s->ids))
			return false;
		s->nids = ID_POOL;
	}
	*qid = s->ids[--s->nids];
	return true;
}

/* ---------------------------------------------------------------- c-ares glue */

/* c-ares wants to hear about fd when it is readable / writable; neither: forget it. */
static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct stub *s = data;
	if (!readable && !writable) {
		(void)epoll_ctl(s->ep, EPOLL_CTL_DEL, fd, NULL);
		return;
	}
	struct epoll_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.events = (readable ? EPOLLIN : 0u) | (writable ? EPOLLOUT : 0u);
	ev.data.fd = fd;
	if (epoll_ctl(s->ep, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT)
		(void)epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev);
	/* Should the set refuse the socket (out of memory), its questions time out
	 * through the timer and fail: degraded, never stuck. */
}

/* The timer follows c-ares's next timeout; disarmed when nothing is out. */
static void timer_arm(struct stub *s)
{
	struct timeval tv;
	struct itimerspec its;
	memset(&its, 0, sizeof(its));
	const struct timeval *t = ares_timeout(s->ch, NULL, &tv);
	if (t != NULL) {
		its.it_value.tv_sec = t->tv_sec;
		its.it_value.tv_nsec = (long)t->tv_usec * 1000L;
		if (its.it_value.tv_sec <= 0 && its.it_value.tv_nsec <= 0) {
			/* Due now; a zero it_value would disarm the timer. */
			its.it_value.tv_sec = 0;
			its.it_value.tv_nsec = 1;
		}
	}
	(void)timerfd_settime(s->tfd, 0, &its, NULL);
}

/* c-ares's answer (or failure) for one question: parked, delivered by process(). */
static void on_ares(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct squery *q = arg;
	struct stub *s = q->s;
	(void)timeouts;

	if (q == s->submitting) {
		/* Inside ares_send(): the question could not be sent; submit() says so. */
		s->submit_failed = true;
		s->submit_status = status;
		return;
	}
	if (s->destroying || q->state == Q_DROPPED) {
		free(q->res);
		free(q);
		return;
	}
	if (status == ARES_SUCCESS && abuf != NULL && alen >= 0) {
		struct xp_result *r = NULL;
		if (spf_dnsmsg_read(abuf, (size_t)alen, q->name, q->type, &r, NULL) == SPF_OK) {
			free(q->res);
			q->res = r;
		}
		/* else (out of memory): the XP_FAIL result made at submit() */
	}
	q->state = Q_READY;
	q->next = NULL;
	if (s->ready_tail != NULL)
		s->ready_tail->next = q;
	else
		s->ready = q;
	s->ready_tail = q;
}

/* ---------------------------------------------------------------- ops */

static void destroy(struct stub *s)
{
	s->destroying = true;
	if (s->have_channel)
		ares_destroy(s->ch); /* ARES_EDESTRUCTION callbacks free what is out */
	struct squery *q;
	while ((q = s->ready) != NULL) {
		s->ready = q->next;
		free(q->res);
		free(q);
	}
	if (s->tfd >= 0)
		close(s->tfd);
	if (s->ep >= 0)
		close(s->ep);
	free(s->slots);
	if (s->lib_init)
		ares_library_cleanup();
	free(s);
}

/* Hands the queued answers out.  true: answer() freed the transport (s is gone). */
static bool deliver(struct stub *s)
{
	struct squery *q;
	s->delivering++;
	while (!s->free_pending && (q = s->ready) != NULL) {
		s->ready = q->next;
		if (s->ready == NULL)
			s->ready_tail = NULL;
		if (q->state == Q_DROPPED) { /* cancelled after it was queued */
			free(q->res);
			free(q);
			continue;
		}
		slot_release(s, q->slot);
		struct xp_result *r = q->res;
		void *tag = q->tag;
		free(q);
		s->base.answer(s->base.owner, tag, r);
	}
	if (--s->delivering == 0 && s->free_pending) {
		destroy(s);
		return true;
	}
	return false;
}

static int st_fd(const struct xp *x)
{
	const struct stub *s = (const struct stub *)x;
	return s->ep;
}

static int st_submit(struct xp *x, const char *name, uint16_t type, void *tag, int *id)
{
	struct stub *s = (struct stub *)x;
	uint8_t msg[SPF_DNSMSG_QUERY_MAX];
	uint16_t qid;

	if (s->free_pending)
		return SPF_ESTATE;
	if (!next_qid(s, &qid))
		return SPF_EIO;
	size_t len = spf_dnsmsg_query(msg, sizeof(msg), qid, name, type, SPF_DNS_EDNS_SIZE);
	if (len == 0)
		return SPF_EINVAL; /* an empty or over-long label, a name over 255 bytes */

	struct squery *q = calloc(1, sizeof(*q));
	struct xp_result *failed = calloc(1, sizeof(*failed));
	if (q == NULL || failed == NULL) {
		free(q);
		free(failed);
		return SPF_ENOMEM;
	}
	failed->rcode = XP_FAIL;
	q->s = s;
	q->tag = tag;
	q->type = type;
	q->state = Q_OUT;
	q->res = failed;
	/* A valid name has at most 253 bytes (255 in wire form). */
	size_t nl = strlen(name);
	memcpy(q->name, name, nl + 1);
	int rc = slot_take(s, q, id);
	if (rc != SPF_OK) {
		free(q->res);
		free(q);
		return rc;
	}

	s->submitting = q;
	s->submit_failed = false;
	ares_send(s->ch, msg, (int)len, on_ares, q);
	s->submitting = NULL;
	if (s->submit_failed) {
		/* No server could be asked (no servers, every socket refused, no memory):
		 * c-ares already called back, so nothing of it is left. */
		slot_release(s, q->slot);
		free(q->res);
		free(q);
		return s->submit_status == ARES_ENOMEM ? SPF_ENOMEM : SPF_EIO;
	}
	timer_arm(s);
	return SPF_OK;
}

static bool st_cancel(struct xp *x, int id)
{
	struct stub *s = (struct stub *)x;
	struct squery *q = slot_find(s, id);
	if (q == NULL)
		return false; /* not a question that is out: nothing to stop */
	slot_release(s, q->slot);
	if (q->state == Q_READY) {
		/* Queued: the delivery loop frees the record. */
		free(q->res);
		q->res = NULL;
	}
	/* Out: the c-ares callback frees it. */
	q->state = Q_DROPPED;
	return true;
}

static int st_process(struct xp *x)
{
	struct stub *s = (struct stub *)x;
	struct epoll_event ev[MAX_EVENTS];
	int rc = SPF_OK;

	for (unsigned round = 0; round < PROCESS_ROUNDS; round++) {
		int n = epoll_wait(s->ep, ev, MAX_EVENTS, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = SPF_EIO;
			break;
		}
		if (n == 0)
			break;
		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd;
			uint32_t e = ev[i].events;
			if (fd == s->tfd) {
				uint64_t expirations;
				(void)!read(s->tfd, &expirations, sizeof(expirations));
				/* No socket: c-ares only runs its timeouts. */
				ares_process_fd(s->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
				continue;
			}
			/* An error or hang-up is for c-ares to find by reading or writing. */
			bool rd = (e & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0;
			bool wr = (e & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0;
			ares_process_fd(s->ch, rd ? fd : ARES_SOCKET_BAD, wr ? fd : ARES_SOCKET_BAD);
		}
	}
	if (deliver(s))
		return rc; /* answer() freed the transport */
	timer_arm(s);
	return rc;
}

static void st_result_free(struct xp *x, struct xp_result *res)
{
	(void)x;
	free(res); /* one block (dnsmsg.c), or the XP_FAIL one */
}

static void st_free(struct xp *x)
{
	if (x == NULL)
		return;
	struct stub *s = (struct stub *)x;
	if (s->delivering > 0) {
		/* From inside answer(): no more answers; freed when delivery unwinds. */
		s->free_pending = true;
		return;
	}
	destroy(s);
}

static const struct xp_ops st_ops = {
	.name = "stub",
	.fd = st_fd,
	.submit = st_submit,
	.cancel = st_cancel,
	.process = st_process,
	.result_free = st_result_free,
	.free = st_free,
};

/* ---------------------------------------------------------------- set-up */

/* "IP" or "IP@port": IPv4 or IPv6 (spf_addr_parse_n), port 1..65535 (53 when absent). */
static bool parse_forwarder(const char *f, struct ares_addr_port_node *n)
{
	if (f == NULL)
		return false;
	const char *at = strchr(f, '@');
	struct spf_addr a;
	if (spf_addr_parse_n(f, at != NULL ? (size_t)(at - f) : strlen(f), &a) != SPF_OK)
		return false;

	unsigned long port = 53;
	if (at != NULL) {
		const char *p = at + 1;
		if (*p == '\0')
			return false;
		port = 0;
		for (; *p != '\0'; p++) {
			if (*p < '0' || *p > '9')
				return false;
			port = port * 10 + (unsigned long)(*p - '0');
			if (port > 65535)
				return false;
		}
		if (port == 0)
			return false;
	}
	memset(n, 0, sizeof(*n));
	if (a.family == 4) {
		n->family = AF_INET;
		memcpy(&n->addr.addr4, a.a, 4);
	} else {
		n->family = AF_INET6;
		memcpy(&n->addr.addr6, a.a, 16);
	}
	n->udp_port = (int)port;
	n->tcp_port = (int)port;
	return true;
}

int spf_stub_new(struct xp **out, const struct spf_resolver_options *o, xp_answer_fn *answer,
    void *owner, unsigned timeout_ms, unsigned tries, char *err, size_t errcap)
{
	struct ares_addr_port_node *servers = NULL;
	struct stub *s = NULL;
	int rc;

	*out = NULL;
	if (o == NULL || answer == NULL || timeout_ms == 0 || timeout_ms > 60000 || tries == 0 ||
	    tries > 16) {
		spf_seterr(err, errcap, "stub: invalid arguments");
		return SPF_EINVAL;
	}
	if (o->mode == SPF_RESOLVER_RECURSE) {
		spf_seterr(err, errcap, "the stub transport cannot recurse (it only asks the "
		    "resolvers of /etc/resolv.conf or forwarders): use the libunbound engine");
		return SPF_EINVAL;
	}
	if (o->trust_anchor_file != NULL) {
		spf_seterr(err, errcap, "the stub transport cannot validate DNSSEC (trust anchor "
		    "%s): use the libunbound engine", o->trust_anchor_file);
		return SPF_EINVAL;
	}
	if (o->mode != SPF_RESOLVER_SYSTEM && o->mode != SPF_RESOLVER_FORWARD) {
		spf_seterr(err, errcap, "unknown resolver mode %d", (int)o->mode);
		return SPF_EINVAL;
	}
	if (o->mode == SPF_RESOLVER_FORWARD) {
		if (o->forwarders == NULL || o->nforwarders == 0) {
			spf_seterr(err, errcap, "forward mode needs at least one forwarder");
			return SPF_EINVAL;
		}
		servers = calloc(o->nforwarders, sizeof(*servers));
		if (servers == NULL) {
			spf_seterr(err, errcap, "out of memory");
			return SPF_ENOMEM;
		}
		for (size_t i = 0; i < o->nforwarders; i++) {
			const char *f = o->forwarders[i];
			if (!parse_forwarder(f, &servers[i])) {
				spf_seterr(err, errcap, "forwarder '%s': not an IP address or IP@port",
				    f != NULL ? f : "(null)");
				free(servers);
				return SPF_EINVAL;
			}
			servers[i].next = i + 1 < o->nforwarders ? &servers[i + 1] : NULL;
		}
	}

	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		spf_seterr(err, errcap, "out of memory");
		free(servers);
		return SPF_ENOMEM;
	}
	s->ep = -1;
	s->tfd = -1;
	s->free_head = NO_SLOT;

	/* Reference-counted by c-ares: one per transport, undone by destroy(). */
	if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
		spf_seterr(err, errcap, "c-ares: %s", ares_strerror(rc));
		rc = SPF_EIO;
		goto fail;
	}
	s->lib_init = true;

	s->ep = epoll_create1(EPOLL_CLOEXEC);
	s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->ep < 0 || s->tfd < 0) {
		spf_seterr(err, errcap, "stub: %s", strerror(errno));
		rc = SPF_EIO;
		goto fail;
	}
	struct epoll_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = s->tfd;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->tfd, &ev) != 0) {
		spf_seterr(err, errcap, "stub: epoll: %s", strerror(errno));
		rc = SPF_EIO;
		goto fail;
	}

	struct ares_options ao;
	memset(&ao, 0, sizeof(ao));
	ao.flags = ARES_FLAG_STAYOPEN | ARES_FLAG_EDNS | (o->tcp_only ? ARES_FLAG_USEVC : 0);
	ao.timeout = (int)timeout_ms; /* ARES_OPT_TIMEOUTMS: milliseconds */
	ao.tries = (int)tries;
	ao.ednspsz = SPF_DNS_EDNS_SIZE;
	ao.sock_state_cb = sock_state;
	ao.sock_state_cb_data = s;
	/* Only DNS ("b"ind), never /etc/hosts: ares_send() does not look at it anyway, and
	 * with the order given c-ares does not read nsswitch.conf at start-up. */
	ao.lookups = (char *)"b";
	int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_EDNSPSZ |
	    ARES_OPT_SOCK_STATE_CB | ARES_OPT_LOOKUPS;
	if ((rc = ares_init_options(&s->ch, &ao, mask)) != ARES_SUCCESS) {
		spf_seterr(err, errcap, "c-ares: %s", ares_strerror(rc));
		rc = rc == ARES_ENOMEM ? SPF_ENOMEM : SPF_EIO;
		goto fail;
	}
	s->have_channel = true;
	if (servers != NULL && (rc = ares_set_servers_ports(s->ch, servers)) != ARES_SUCCESS) {
		spf_seterr(err, errcap, "c-ares: setting the forwarders: %s", ares_strerror(rc));
		rc = rc == ARES_ENOMEM ? SPF_ENOMEM : SPF_EIO;
		goto fail;
	}
	free(servers);

	s->base.ops = &st_ops;
	s->base.answer = answer;
	s->base.owner = owner;
	*out = &s->base;
	return SPF_OK;

fail:
	free(servers);
	destroy(s);
	return rc;
}

int xp_stub_new(struct xp **out, const struct spf_resolver_options *o, xp_answer_fn *answer,
    void *owner, char *err, size_t errcap)
{
	return spf_stub_new(out, o, answer, owner, SPF_STUB_TIMEOUT_MS, SPF_STUB_TRIES, err,
	    errcap);
}
