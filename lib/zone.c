/*
 * zone.c - the in-memory zone driver: resource records held in memory, answering the
 * evaluator's questions the way a recursive resolver would.
 *
 * Entry points: spf_zone_new, spf_zone_free, spf_zone_add_rr and its conveniences
 * (add_txt, add_addr, add_mx, add_name_rr, add_name), spf_zone_set_timeout,
 * spf_zone_set_servfail, spf_zone_add_apex, spf_zone_covers, spf_zone_lookup,
 * spf_zone_run.  spf_zone_load_file lives in zonefile.c (it needs ldns).
 *
 * Store.  A chained hash table of owner names.  A name is kept as its key: the text
 * lower-cased (ASCII only) with one trailing dot removed; any byte but NUL may occur
 * in a label, so `foo:bar/baz.example.com` and names with spaces and '%' are ordinary
 * keys.  Each name holds its RRs as an array of struct spf_rr kept grouped by type
 * (a new RR goes after the last one of its type), so the records of one type are a
 * contiguous run in insertion order and an answer can point straight into the array.
 * RDATA is uncompressed wire form (RFC 1035 §3.3), one malloc'd copy per RR.
 *
 * Lookup (the semantics the conformance suite's harnesses agree on): an unknown name is
 * NXDOMAIN; records of the asked type are returned; otherwise a CNAME is followed, its
 * RRs leading the answer, up to SPF_ZONE_MAX_CHAIN links (a loop or a longer chain is
 * SERVFAIL); otherwise a name marked timeout/servfail answers so; otherwise NODATA.
 * A name that could not be sent as a DNS query (an empty label, a label over 63 octets,
 * more than 253 octets) is answered TIMEOUT: the evaluator must never ask one.
 *
 * Memory.  The zone owns everything.  Answers through a CNAME chain are assembled once
 * per (alias, type) and memoized on the alias's node, so that every answer handed out
 * stays valid until the zone is changed or freed, as zone.h promises; any change drops
 * the memo.  Because of that memo, one zone must not be looked up from two threads at
 * once.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "spfgate/zone.h"

#include "macro.h"

/* Links of a CNAME chain followed before the answer is SERVFAIL (RFC 1034 §3.6.2 asks
 * for loops to be caught; 8 is what FORMAT.md §6.5 suggests). */
#define SPF_ZONE_MAX_CHAIN 8
/* RFC 1035 §3.1: a wire-form name is at most 255 octets. */
#define WIRE_NAME_MAX 255
/* RFC 1035 §3.3.14: one character-string holds at most 255 bytes. */
#define TXT_STRING_MAX 255

/* One memoized answer through a CNAME chain. */
struct chain_memo {
	struct chain_memo *next;
	uint16_t type;
	enum spf_rcode rcode;
	uint32_t ttl;
	struct spf_rr *rr;
	size_t nrr;
};

struct zname {
	struct zname *next; /* hash chain */
	char *key;          /* lower-cased, no trailing dot, NUL-terminated */
	size_t keylen;
	uint32_t hash;
	struct spf_rr *rr;  /* grouped by type, insertion order within a type */
	uint32_t *ttl;      /* parallel to rr */
	size_t nrr, caprr;
	bool timeout;
	bool servfail;
	struct chain_memo *memo;
	struct zname *memo_next; /* next node holding memos (struct memo_list) */
};

/* The nodes that hold memos, so a change drops them without walking the table.  It is
 * reached through a pointer because lookups (on a const zone) add to it. */
struct memo_list {
	struct zname *head;
};

struct spf_zone {
	struct memo_list *memos;
	struct zname **bucket;
	size_t nbucket; /* a power of two */
	size_t nname;
	char **apex;    /* keys, as above ("" is the root) */
	size_t napex, capapex;
};

/* ------------------------------------------------------------------------------------ */
/* Names                                                                                */

/*
 * The key of a name: its view with one trailing dot dropped.  The bytes are folded to
 * lower case when hashed and compared, so the key is not copied here.
 */
static struct spf_slice name_view(const char *name)
{
	struct spf_slice s = spf_slice_cstr(name);
	if (s.len > 0 && s.p[s.len - 1] == '.')
		s.len--;
	return s;
}

static uint32_t name_hash(struct spf_slice s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < s.len; i++) {
		h ^= (uint8_t)spf_ascii_lower(s.p[i]);
		h *= 16777619u;
	}
	return h;
}

/*
 * Could this name be sent as a DNS question?  Every label 1..63 octets, at most 253
 * octets in all (the trailing dot already dropped).  The empty view is the root.
 */
static bool name_valid(struct spf_slice s)
{
	return s.len == 0 || spf_domain_valid(s);
}

/*
 * Writes the uncompressed wire form of a dotted name (RFC 1035 §3.1) into out, which
 * holds WIRE_NAME_MAX bytes.  "" and "." are the root.  Returns the length, or 0 when
 * the name is not a valid DNS name.
 */
static size_t name_to_wire(const char *name, uint8_t *out)
{
	struct spf_slice s = name_view(name);
	if (!name_valid(s))
		return 0;
	size_t n = 0;
	size_t i = 0;
	while (i < s.len) {
		size_t start = i;
		while (i < s.len && s.p[i] != '.')
			i++;
		size_t label = i - start; /* 1..63 by name_valid() */
		out[n++] = (uint8_t)label;
		memcpy(out + n, s.p + start, label);
		n += label;
		if (i < s.len)
			i++; /* the dot */
	}
	out[n++] = 0; /* s.len <= 253 so n <= 255 */
	return n;
}

static struct zname *find(const struct spf_zone *z, struct spf_slice key)
{
	uint32_t h = name_hash(key);
	for (struct zname *n = z->bucket[h & (z->nbucket - 1)]; n != NULL; n = n->next)
		if (n->hash == h && spf_slice_eq_ci(spf_slice_make(n->key, n->keylen), key))
			return n;
	return NULL;
}

static void memo_drop(struct zname *n)
{
	while (n->memo != NULL) {
		struct chain_memo *m = n->memo;
		n->memo = m->next;
		free(m->rr);
		free(m);
	}
}

/* Any change to the zone invalidates every memoized chain answer (zone.h's contract
 * only promises answers until the next change). */
static void memo_drop_all(struct spf_zone *z)
{
	while (z->memos->head != NULL) {
		struct zname *n = z->memos->head;
		z->memos->head = n->memo_next;
		n->memo_next = NULL;
		memo_drop(n);
	}
}

static int grow_table(struct spf_zone *z)
{
	size_t nb = z->nbucket * 2;
	if (nb < z->nbucket || nb > SIZE_MAX / sizeof(struct zname *))
		return SPF_ENOMEM;
	struct zname **tab = calloc(nb, sizeof(*tab));
	if (tab == NULL)
		return SPF_ENOMEM;
	for (size_t b = 0; b < z->nbucket; b++) {
		struct zname *n = z->bucket[b];
		while (n != NULL) {
			struct zname *next = n->next;
			n->next = tab[n->hash & (nb - 1)];
			tab[n->hash & (nb - 1)] = n;
			n = next;
		}
	}
	free(z->bucket);
	z->bucket = tab;
	z->nbucket = nb;
	return SPF_OK;
}

/* The node of owner, created if needed.  Owners must be valid DNS names (they could
 * not be asked for otherwise).  Returns SPF_OK, SPF_EINVAL or SPF_ENOMEM. */
static int intern(struct spf_zone *z, const char *owner, struct zname **out)
{
	if (z == NULL || owner == NULL)
		return SPF_EINVAL;
	struct spf_slice key = name_view(owner);
	if (!name_valid(key))
		return SPF_EINVAL;
	memo_drop_all(z);
	struct zname *n = find(z, key);
	if (n != NULL) {
		*out = n;
		return SPF_OK;
	}
	if (z->nname >= z->nbucket && grow_table(z) != SPF_OK)
		return SPF_ENOMEM;
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return SPF_ENOMEM;
	n->key = malloc(key.len + 1);
	if (n->key == NULL) {
		free(n);
		return SPF_ENOMEM;
	}
	for (size_t i = 0; i < key.len; i++)
		n->key[i] = spf_ascii_lower(key.p[i]);
	n->key[key.len] = '\0';
	n->keylen = key.len;
	n->hash = name_hash(key);
	n->next = z->bucket[n->hash & (z->nbucket - 1)];
	z->bucket[n->hash & (z->nbucket - 1)] = n;
	z->nname++;
	*out = n;
	return SPF_OK;
}

/* ------------------------------------------------------------------------------------ */
/* Lifecycle and adding                                                                 */

struct spf_zone *spf_zone_new(void)
{
	struct spf_zone *z = calloc(1, sizeof(*z));
	if (z == NULL)
		return NULL;
	z->nbucket = 64;
	z->bucket = calloc(z->nbucket, sizeof(*z->bucket));
	z->memos = calloc(1, sizeof(*z->memos));
	if (z->bucket == NULL || z->memos == NULL) {
		free(z->bucket);
		free(z->memos);
		free(z);
		return NULL;
	}
	return z;
}

void spf_zone_free(struct spf_zone *z)
{
	if (z == NULL)
		return;
	for (size_t b = 0; b < z->nbucket; b++) {
		struct zname *n = z->bucket[b];
		while (n != NULL) {
			struct zname *next = n->next;
			memo_drop(n);
			for (size_t i = 0; i < n->nrr; i++)
				free((void *)n->rr[i].rdata);
			free(n->rr);
			free(n->ttl);
			free(n->key);
			free(n);
			n = next;
		}
	}
	free(z->bucket);
	free(z->memos);
	for (size_t i = 0; i < z->napex; i++)
		free(z->apex[i]);
	free(z->apex);
	free(z);
}

int spf_zone_add_rr(struct spf_zone *z, const char *owner, uint16_t type, uint32_t ttl,
    const uint8_t *rdata, size_t rdlen)
{
	if (rdlen > UINT16_MAX || (rdlen > 0 && rdata == NULL))
		return SPF_EINVAL;
	struct zname *n;
	int rc = intern(z, owner, &n);
	if (rc != SPF_OK)
		return rc;
	if (n->nrr == n->caprr) {
		size_t cap = n->caprr ? n->caprr * 2 : 4;
		if (cap > SIZE_MAX / sizeof(struct spf_rr))
			return SPF_ENOMEM;
		struct spf_rr *rr = realloc(n->rr, cap * sizeof(*rr));
		if (rr == NULL)
			return SPF_ENOMEM;
		n->rr = rr;
		uint32_t *t = realloc(n->ttl, cap * sizeof(*t));
		if (t == NULL)
			return SPF_ENOMEM;
		n->ttl = t;
		n->caprr = cap;
	}
	uint8_t *copy = malloc(rdlen > 0 ? rdlen : 1);
	if (copy == NULL)
		return SPF_ENOMEM;
	if (rdlen > 0)
		memcpy(copy, rdata, rdlen);

	/* After the last RR of the same type, or at the end: keeps each type contiguous. */
	size_t pos = n->nrr;
	for (size_t i = n->nrr; i > 0; i--) {
		if (n->rr[i - 1].type == type) {
			pos = i;
			break;
		}
	}
	memmove(n->rr + pos + 1, n->rr + pos, (n->nrr - pos) * sizeof(*n->rr));
	memmove(n->ttl + pos + 1, n->ttl + pos, (n->nrr - pos) * sizeof(*n->ttl));
	n->rr[pos].type = type;
	n->rr[pos].rdlen = (uint16_t)rdlen;
	n->rr[pos].rdata = copy;
	n->ttl[pos] = ttl;
	n->nrr++;
	return SPF_OK;
}

int spf_zone_add_txt(struct spf_zone *z, const char *owner, const char *const *str,
    const size_t *len, size_t nstr)
{
	if (nstr > 0 && (str == NULL || len == NULL))
		return SPF_EINVAL;
	/* Heap, not stack: 64 KiB is a lot to put on a caller's stack. */
	struct spf_buf b;
	char *rdata = malloc(SPF_MAX_RECORD);
	if (rdata == NULL)
		return SPF_ENOMEM;
	spf_buf_init(&b, rdata, SPF_MAX_RECORD);
	int rc = SPF_OK;
	for (size_t i = 0; i < nstr; i++) {
		if (len[i] > TXT_STRING_MAX || (len[i] > 0 && str[i] == NULL)) {
			rc = SPF_EINVAL;
			break;
		}
		spf_buf_putc(&b, (char)(uint8_t)len[i]);
		spf_buf_put(&b, str[i], len[i]);
	}
	if (rc == SPF_OK && b.overflow)
		rc = SPF_EINVAL; /* more than an RR can hold */
	if (rc == SPF_OK)
		rc = spf_zone_add_rr(z, owner, SPF_RR_TXT, 3600, (const uint8_t *)rdata, b.len);
	free(rdata);
	return rc;
}

int spf_zone_add_addr(struct spf_zone *z, const char *owner, const char *addr_text)
{
	char text[SPF_ADDR_TEXT_MAX + 1];
	uint8_t a[16];
	if (addr_text == NULL)
		return SPF_EINVAL;
	size_t len = strlen(addr_text);
	if (len >= sizeof(text))
		return SPF_EINVAL;
	memcpy(text, addr_text, len + 1);
	/* inet_pton rather than spf_addr_parse(): an AAAA record of ::ffff:a.b.c.d must
	 * stay an AAAA record, not become an A record. */
	if (memchr(text, ':', len) != NULL) {
		if (inet_pton(AF_INET6, text, a) != 1)
			return SPF_EINVAL;
		return spf_zone_add_rr(z, owner, SPF_RR_AAAA, 3600, a, 16);
	}
	if (inet_pton(AF_INET, text, a) != 1)
		return SPF_EINVAL;
	return spf_zone_add_rr(z, owner, SPF_RR_A, 3600, a, 4);
}

int spf_zone_add_mx(struct spf_zone *z, const char *owner, uint16_t pref, const char *target)
{
	uint8_t rdata[2 + WIRE_NAME_MAX];
	if (target == NULL)
		return SPF_EINVAL;
	rdata[0] = (uint8_t)(pref >> 8);
	rdata[1] = (uint8_t)(pref & 0xff);
	size_t n = name_to_wire(target, rdata + 2);
	if (n == 0)
		return SPF_EINVAL;
	return spf_zone_add_rr(z, owner, SPF_RR_MX, 3600, rdata, 2 + n);
}

int spf_zone_add_name_rr(struct spf_zone *z, const char *owner, uint16_t type,
    const char *target)
{
	uint8_t rdata[WIRE_NAME_MAX];
	if (target == NULL || (type != SPF_RR_PTR && type != SPF_RR_CNAME))
		return SPF_EINVAL;
	size_t n = name_to_wire(target, rdata);
	if (n == 0)
		return SPF_EINVAL;
	return spf_zone_add_rr(z, owner, type, 3600, rdata, n);
}

int spf_zone_add_name(struct spf_zone *z, const char *owner)
{
	struct zname *n;
	return intern(z, owner, &n);
}

int spf_zone_set_timeout(struct spf_zone *z, const char *owner)
{
	struct zname *n;
	int rc = intern(z, owner, &n);
	if (rc == SPF_OK)
		n->timeout = true;
	return rc;
}

int spf_zone_set_servfail(struct spf_zone *z, const char *owner)
{
	struct zname *n;
	int rc = intern(z, owner, &n);
	if (rc == SPF_OK)
		n->servfail = true;
	return rc;
}

int spf_zone_add_apex(struct spf_zone *z, const char *apex)
{
	if (z == NULL || apex == NULL)
		return SPF_EINVAL;
	struct spf_slice key = name_view(apex);
	if (!name_valid(key))
		return SPF_EINVAL;
	for (size_t i = 0; i < z->napex; i++)
		if (spf_slice_eq_ci(spf_slice_cstr(z->apex[i]), key))
			return SPF_OK;
	if (z->napex == z->capapex) {
		size_t cap = z->capapex ? z->capapex * 2 : 4;
		char **a = realloc(z->apex, cap * sizeof(*a));
		if (a == NULL)
			return SPF_ENOMEM;
		z->apex = a;
		z->capapex = cap;
	}
	char *k = malloc(key.len + 1);
	if (k == NULL)
		return SPF_ENOMEM;
	for (size_t i = 0; i < key.len; i++)
		k[i] = spf_ascii_lower(key.p[i]);
	k[key.len] = '\0';
	z->apex[z->napex++] = k;
	return SPF_OK;
}

bool spf_zone_covers(const struct spf_zone *z, const char *name)
{
	if (z == NULL || name == NULL)
		return false;
	struct spf_slice s = name_view(name);
	for (size_t i = 0; i < z->napex; i++) {
		size_t alen = strlen(z->apex[i]);
		if (alen == 0)
			return true; /* the root covers every name */
		if (s.len < alen)
			continue;
		struct spf_slice tail = spf_slice_make(s.p + (s.len - alen), alen);
		if (!spf_slice_eq_cstr_ci(tail, z->apex[i]))
			continue;
		/* At a label boundary: "example.com" covers "a.example.com", not
		 * "badexample.com". */
		if (s.len == alen || s.p[s.len - alen - 1] == '.')
			return true;
	}
	return false;
}

/* ------------------------------------------------------------------------------------ */
/* Lookup                                                                               */

/* The run of RRs of type at n: *first and the count. */
static size_t rrs_of_type(const struct zname *n, uint16_t type, size_t *first)
{
	*first = 0;
	for (size_t i = 0; i < n->nrr; i++) {
		if (n->rr[i].type != type)
			continue;
		size_t j = i;
		while (j < n->nrr && n->rr[j].type == type)
			j++;
		*first = i;
		return j - i;
	}
	return 0;
}

static uint32_t min_ttl(const uint32_t *ttl, size_t n)
{
	uint32_t m = n > 0 ? ttl[0] : 0;
	for (size_t i = 1; i < n; i++)
		if (ttl[i] < m)
			m = ttl[i];
	return m;
}

/*
 * Decodes the target of a CNAME RR into dotted text (labels may hold any byte but NUL
 * and '.', as zone.h says of names).  Returns false for a malformed name.
 */
static bool wire_to_name(const struct spf_rr *rr, char *out, size_t cap)
{
	struct spf_buf b;
	spf_buf_init(&b, out, cap);
	size_t i = 0;
	while (i < rr->rdlen) {
		uint8_t len = rr->rdata[i++];
		if (len == 0)
			return spf_buf_cstr(&b) != NULL;
		if (len > SPF_MAX_LABEL || len > rr->rdlen - i)
			return false;
		if (b.len > 0)
			spf_buf_putc(&b, '.');
		spf_buf_put(&b, (const char *)rr->rdata + i, len);
		i += len;
	}
	return false; /* no terminating root label */
}

/*
 * Follows the CNAME at alias for type and memoizes the answer on alias.  The answer
 * holds the CNAME RRs of the chain, then the records of the final name; its rcode is
 * the final name's (NOERROR, NXDOMAIN, TIMEOUT, SERVFAIL), or SERVFAIL for a loop or
 * a chain longer than SPF_ZONE_MAX_CHAIN.  Returns NULL when out of memory.
 */
static const struct chain_memo *chase(const struct spf_zone *z, struct zname *alias,
    uint16_t type)
{
	for (struct chain_memo *m = alias->memo; m != NULL; m = m->next)
		if (m->type == type)
			return m;

	struct chain_memo *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	/* At most one CNAME per link plus the final RRset: counted first, then copied
	 * (the RR structs only; rdata stays owned by the nodes). */
	const struct zname *path[SPF_ZONE_MAX_CHAIN + 1];
	size_t npath = 0;
	const struct zname *cur = alias;
	enum spf_rcode rcode = SPF_DNS_NOERROR;
	const struct zname *final = NULL;
	size_t final_first = 0, final_n = 0;
	for (;;) {
		size_t first;
		size_t k = rrs_of_type(cur, type, &first);
		if (k > 0 && npath > 0) { /* the records themselves (not at the alias) */
			final = cur;
			final_first = first;
			final_n = k;
			break;
		}
		size_t cfirst;
		if (rrs_of_type(cur, SPF_RR_CNAME, &cfirst) == 0) {
			if (cur->timeout)
				rcode = SPF_DNS_TIMEOUT;
			else if (cur->servfail)
				rcode = SPF_DNS_SERVFAIL;
			break; /* NODATA at the end of the chain */
		}
		if (npath == SPF_ZONE_MAX_CHAIN) {
			rcode = SPF_DNS_SERVFAIL;
			break;
		}
		path[npath++] = cur;
		char target[WIRE_NAME_MAX + 1];
		if (!wire_to_name(&cur->rr[cfirst], target, sizeof(target))) {
			rcode = SPF_DNS_SERVFAIL;
			break;
		}
		const struct zname *next = find(z, spf_slice_cstr(target));
		if (next == NULL) {
			rcode = SPF_DNS_NXDOMAIN;
			break;
		}
		for (size_t i = 0; i < npath; i++) {
			if (path[i] == next) { /* a loop */
				rcode = SPF_DNS_SERVFAIL;
				break;
			}
		}
		if (rcode != SPF_DNS_NOERROR)
			break;
		cur = next;
	}

	size_t total = npath + final_n;
	m->rr = calloc(total > 0 ? total : 1, sizeof(*m->rr));
	uint32_t *ttls = calloc(total > 0 ? total : 1, sizeof(*ttls));
	if (m->rr == NULL || ttls == NULL) {
		free(m->rr);
		free(ttls);
		free(m);
		return NULL;
	}
	for (size_t i = 0; i < npath; i++) {
		size_t cfirst;
		/* Every name on the path was reached through its CNAME; an entry without one
		 * (never expected) stays zeroed, type 0, which the evaluator ignores. */
		if (rrs_of_type(path[i], SPF_RR_CNAME, &cfirst) == 0)
			continue;
		m->rr[i] = path[i]->rr[cfirst];
		ttls[i] = path[i]->ttl[cfirst];
	}
	for (size_t i = 0; i < final_n; i++) {
		m->rr[npath + i] = final->rr[final_first + i];
		ttls[npath + i] = final->ttl[final_first + i];
	}
	m->nrr = total;
	m->rcode = rcode;
	m->ttl = min_ttl(ttls, total);
	m->type = type;
	free(ttls);
	if (alias->memo == NULL) {
		alias->memo_next = z->memos->head;
		z->memos->head = alias;
	}
	m->next = alias->memo;
	alias->memo = m;
	return m;
}

void spf_zone_lookup(const struct spf_zone *z, const char *name, uint16_t type,
    struct spf_answer *out)
{
	memset(out, 0, sizeof(*out));
	out->rcode = SPF_DNS_NXDOMAIN;
	if (z == NULL || name == NULL)
		return;
	struct spf_slice key = name_view(name);
	if (!name_valid(key)) {
		/* Not a name a resolver would send: the evaluator should have caught it
		 * (RFC 7208 §4.3, §4.8).  A timeout makes the mistake visible as temperror. */
		out->rcode = SPF_DNS_TIMEOUT;
		return;
	}
	struct zname *n = find(z, key);
	if (n == NULL)
		return; /* NXDOMAIN */

	size_t first;
	size_t k = rrs_of_type(n, type, &first);
	if (k > 0) {
		out->rcode = SPF_DNS_NOERROR;
		out->rr = n->rr + first;
		out->nrr = k;
		out->ttl = min_ttl(n->ttl + first, k);
		return;
	}
	if (type != SPF_RR_CNAME && rrs_of_type(n, SPF_RR_CNAME, &first) > 0) {
		const struct chain_memo *m = chase(z, n, type);
		if (m == NULL) {
			out->rcode = SPF_DNS_SERVFAIL; /* out of memory: a resolver failure */
			return;
		}
		out->rcode = m->rcode;
		out->rr = m->rr;
		out->nrr = m->nrr;
		out->ttl = m->ttl;
		return;
	}
	if (n->timeout)
		out->rcode = SPF_DNS_TIMEOUT;
	else if (n->servfail)
		out->rcode = SPF_DNS_SERVFAIL;
	else
		out->rcode = SPF_DNS_NOERROR; /* NODATA */
}

int spf_zone_run(const struct spf_zone *z, struct spf_eval *ev)
{
	while (spf_eval_run(ev) == SPF_STEP_NEED_DNS) {
		struct spf_query q;
		bool asked = false;
		while (spf_eval_next_query(ev, &q)) {
			struct spf_answer ans;
			spf_zone_lookup(z, q.name, q.type, &ans);
			int rc = spf_eval_answer(ev, q.id, &ans);
			if (rc != SPF_OK && rc != SPF_ENOENT)
				return rc;
			asked = true;
		}
		/* Every question is answered at once here, so an evaluation that wants DNS
		 * but asks nothing would spin forever: report it instead. */
		if (!asked)
			return SPF_ESTATE;
	}
	return SPF_OK;
}
