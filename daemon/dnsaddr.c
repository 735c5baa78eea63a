/*
 * dnsaddr.c - A/AAAA lookup of a name, compared with the client address.
 *
 * Entry points: dnsaddr_ctx_new(), dnsaddr_start(), dnsaddr_cancel().
 *
 * Both questions go out together through evdns.  A lookup owns itself: cancelling
 * only detaches the caller (evdns still calls back, with DNS_ERR_CANCEL), and the
 * struct is freed when both of its questions have called back, so a late callback
 * never finds freed memory.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>

#include "dnsaddr.h"
#include "log.h"

struct dnsaddr_ctx {
	struct evdns_base *dns; /* NULL in offline mode */
	const struct spf_zone *zone;
	bool offline;
};

struct dnsaddr {
	struct dnsaddr_ctx *x;
	struct spf_addr client;
	struct evdns_request *req;
	int outstanding;
	bool match;
	bool starting; /* inside dnsaddr_start(): finish there */
	bool detached; /* cancelled, or done() already called */
	dnsaddr_done_fn *done;
	void *arg;
};

struct dnsaddr_ctx *dnsaddr_ctx_new(struct event_base *base, const struct config *c,
    const struct spf_zone *zone, bool offline)
{
	struct dnsaddr_ctx *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return NULL;
	x->zone = zone;
	x->offline = offline;
	if (offline)
		return x;
	bool fwd = c->dns_mode == SPF_RESOLVER_FORWARD && c->forwarders.n > 0;
	x->dns = evdns_base_new(base, (fwd ? 0 : EVDNS_BASE_INITIALIZE_NAMESERVERS) |
	    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (x->dns == NULL) {
		log_warnx("helo_address: cannot set up DNS lookups");
		free(x);
		return NULL;
	}
	for (size_t i = 0; fwd && i < c->forwarders.n; i++) {
		/* unbound's "IP@port" is evdns's "IP:port" ("[IPv6]:port"). */
		char a[128];
		const char *f = c->forwarders.v[i], *at = strchr(f, '@');
		size_t hl = at ? (size_t)(at - f) : strlen(f);
		bool v6 = memchr(f, ':', hl) != NULL;
		if (hl + 10 >= sizeof(a))
			continue;
		a[0] = '\0';
		size_t o = 0;
		if (v6)
			a[o++] = '[';
		memcpy(a + o, f, hl);
		o += hl;
		if (v6)
			a[o++] = ']';
		a[o] = '\0';
		if (at) {
			a[o++] = ':';
			size_t pl = strlen(at + 1);
			if (pl > 5)
				continue;
			memcpy(a + o, at + 1, pl + 1);
		}
		if (evdns_base_nameserver_ip_add(x->dns, a) != 0)
			log_warnx("helo_address: cannot use forwarder %s", f);
	}
	evdns_base_set_option(x->dns, "timeout:", "5");
	evdns_base_set_option(x->dns, "attempts:", "2");
	return x;
}

void dnsaddr_ctx_free(struct dnsaddr_ctx *x)
{
	if (x == NULL)
		return;
	if (x->dns)
		evdns_base_free(x->dns, 1);
	free(x);
}

static void finish(struct dnsaddr *d)
{
	if (d->outstanding > 0)
		return;
	if (!d->detached) {
		d->detached = true;
		d->done(d->arg, d->match);
	}
	free(d);
}

static void on_answer(int result, char type, int count, int ttl, void *addrs, void *arg)
{
	struct dnsaddr *d = arg;
	int fam = type == DNS_IPv4_A ? 4 : type == DNS_IPv6_AAAA ? 6 : 0;
	size_t sz = fam == 4 ? 4 : 16;

	d->outstanding--;
	d->req = NULL;
	if (result == DNS_ERR_NONE && fam == d->client.family && count > 0) {
		for (int i = 0; i < count; i++)
			if (memcmp((const unsigned char *)addrs + (size_t)i * sz, d->client.a, sz) == 0)
				d->match = true;
	}
	if (!d->starting)
		finish(d);
}

static void zone_answer(struct dnsaddr *d, const char *name)
{
	uint16_t type = d->client.family == 4 ? SPF_RR_A : SPF_RR_AAAA;
	size_t sz = d->client.family == 4 ? 4 : 16;
	struct spf_answer ans;
	spf_zone_lookup(d->x->zone, name, type, &ans);
	if (ans.rcode != SPF_DNS_NOERROR)
		return;
	for (size_t i = 0; i < ans.nrr; i++)
		if (ans.rr[i].type == type && ans.rr[i].rdlen == sz &&
		    memcmp(ans.rr[i].rdata, d->client.a, sz) == 0)
			d->match = true;
}

struct dnsaddr *dnsaddr_start(struct dnsaddr_ctx *x, const char *name,
    const struct spf_addr *client, dnsaddr_done_fn *done, void *arg)
{
	struct dnsaddr *d = calloc(1, sizeof(*d));
	if (d == NULL) {
		done(arg, false);
		return NULL;
	}
	d->x = x;
	d->client = *client;
	d->done = done;
	d->arg = arg;
	if (x->zone && spf_zone_covers(x->zone, name)) {
		zone_answer(d, name);
		finish(d);
		return NULL;
	}
	if (x->dns == NULL) {
		finish(d); /* offline: no address */
		return NULL;
	}
	/* Only the client's family can match: one question. */
	struct evdns_request *r;
	d->outstanding = 1;
	d->starting = true;
	if (client->family == 4)
		r = evdns_base_resolve_ipv4(x->dns, name, DNS_QUERY_NO_SEARCH, on_answer, d);
	else
		r = evdns_base_resolve_ipv6(x->dns, name, DNS_QUERY_NO_SEARCH, on_answer, d);
	d->starting = false;
	if (r == NULL || d->outstanding == 0) {
		/* Could not ask, or answered at once. */
		d->outstanding = 0;
		finish(d);
		return NULL;
	}
	d->req = r;
	return d;
}

void dnsaddr_cancel(struct dnsaddr *d)
{
	if (d == NULL || d->detached)
		return;
	d->detached = true;
	/* evdns calls on_answer() with DNS_ERR_CANCEL, which frees d. */
	if (d->req)
		evdns_cancel_request(d->x->dns, d->req);
}
