/*
 * addr.c - IP addresses: parsing, RFC 5952 formatting, prefix matching.
 *
 * IPv4-mapped IPv6 addresses are folded to IPv4 on parsing (RFC 7208 §5: a client
 * connecting over IPv6 with a mapped address is matched as IPv4).  Parsing is strict
 * for IPv4 (four decimal octets, no leading zeros, as the ip4-network rule of §12)
 * and delegates IPv6 to inet_pton() on a bounded, NUL-terminated copy.
 */
#include <arpa/inet.h>
#include <string.h>

#include "spfgate/spfgate.h"

static int parse_ip4(const char *s, size_t len, uint8_t out[4])
{
	size_t i = 0;
	for (int part = 0; part < 4; part++) {
		if (part > 0) {
			if (i >= len || s[i] != '.')
				return SPF_EINVAL;
			i++;
		}
		size_t start = i;
		unsigned v = 0;
		while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 3) {
			v = v * 10 + (unsigned)(s[i] - '0');
			i++;
		}
		size_t n = i - start;
		if (n == 0 || v > 255 || (n > 1 && s[start] == '0'))
			return SPF_EINVAL;
		out[part] = (uint8_t)v;
	}
	return i == len ? SPF_OK : SPF_EINVAL;
}

int spf_addr_parse_n(const char *text, size_t len, struct spf_addr *out)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	memset(out, 0, sizeof(*out));
	if (text == NULL || len == 0)
		return SPF_EINVAL;
	if (memchr(text, ':', len) == NULL) {
		out->family = 4;
		return parse_ip4(text, len, out->a);
	}
	char tmp[64];
	if (len >= sizeof(tmp) || memchr(text, '\0', len) != NULL)
		return SPF_EINVAL;
	memcpy(tmp, text, len);
	tmp[len] = '\0';
	if (inet_pton(AF_INET6, tmp, out->a) != 1)
		return SPF_EINVAL;
	out->family = 6;
	if (memcmp(out->a, mapped, sizeof(mapped)) == 0) {
		memmove(out->a, out->a + 12, 4);
		memset(out->a + 4, 0, 12);
		out->family = 4;
	}
	return SPF_OK;
}

int spf_addr_parse(const char *text, struct spf_addr *out)
{
	return spf_addr_parse_n(text, text ? strlen(text) : 0, out);
}

/* Dotted-quad text of a[0..4), NUL-terminated, as inet_ntop() writes it; 0 when it
 * does not fit in cap bytes.  (glibc's inet_ntop() formats IPv4 through sprintf().) */
static size_t format_ip4(const uint8_t a[4], char *buf, size_t cap)
{
	char tmp[16];
	size_t n = 0;
	for (int i = 0; i < 4; i++) {
		unsigned v = a[i];
		if (i > 0)
			tmp[n++] = '.';
		if (v >= 100)
			tmp[n++] = (char)('0' + v / 100);
		if (v >= 10)
			tmp[n++] = (char)('0' + v / 10 % 10);
		tmp[n++] = (char)('0' + v % 10);
	}
	if (n >= cap)
		return 0;
	memcpy(buf, tmp, n);
	buf[n] = '\0';
	return n;
}

size_t spf_addr_format(const struct spf_addr *addr, char *buf, size_t cap)
{
	int af = addr->family == 6 ? AF_INET6 : AF_INET;
	if (cap == 0 || cap > (size_t)INT32_MAX)
		return 0;
	if (af == AF_INET)
		return format_ip4(addr->a, buf, cap);
	if (inet_ntop(af, addr->a, buf, (socklen_t)cap) == NULL)
		return 0;
	return strlen(buf);
}

bool spf_addr_in_net(const struct spf_addr *addr, const struct spf_addr *net, unsigned prefix)
{
	if (addr->family != net->family)
		return false;
	unsigned bits = addr->family == 6 ? 128 : 32;
	if (prefix > bits)
		return false;
	unsigned whole = prefix / 8, rest = prefix % 8;
	if (memcmp(addr->a, net->a, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (addr->a[whole] & mask) == (net->a[whole] & mask);
}
