#!/usr/bin/env bash
# dnssec.sh - `spfgate check --trust-anchor` against a signed zone served by nsd.
#
#   dnssec.sh SPFGATE
#
# Generates an ECDSA P-256 key with ldns-keygen, signs signed.test with ldns-signzone
# (NSEC), spoils one signed TXT afterwards, and serves it beside an unsigned plain.test
# from one nsd on 127.0.0.1.  spfgate forwards to nsd (libunbound validates itself: nsd
# answers DNSKEY and RRSIG to the DO bit) with the key's DS, its DNSKEY, or an RFC 5011
# autotrust file as the anchor, and the test asserts on the result and the
# "dnssec:" line / "dnssec_secure" key.  Exit 77 (skipped) without nsd or ldnsutils.
set -euo pipefail
spfgate=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") # the test cd's away
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

export PATH="$PATH:/usr/sbin:/sbin"
for t in nsd drill ss ldns-keygen ldns-signzone python3; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done

itest_init
cd "$ITEST_DIR"

cat >signed.test.zone <<'ZONE'
$ORIGIN signed.test.
$TTL 300
@       IN SOA ns.signed.test. hostmaster.signed.test. 1 3600 600 86400 300
        IN NS  ns.signed.test.
ns      IN A   127.0.0.1
@       IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
void    IN TXT "v=spf1 a:missing.signed.test ip4:192.0.2.0/24 -all"
inc     IN TXT "v=spf1 include:_spf.plain.test -all"
mix     IN TXT "v=spf1 mx:mx.signed.test include:_spf.plain.test -all"
mx      IN MX  10 host.signed.test.
host    IN A   192.0.2.99
nospf   IN A   192.0.2.1
broken  IN TXT "v=spf1 -all"
ZONE
cat >plain.test.zone <<'ZONE'
$ORIGIN plain.test.
$TTL 300
@       IN SOA ns.plain.test. hostmaster.plain.test. 1 3600 600 86400 300
        IN NS  ns.plain.test.
_spf    IN TXT "v=spf1 ip4:198.51.100.0/24 -all"
ZONE

# -a 13: ECDSAP256SHA256, fast to make and to check.  -k: a KSK (flags 257), which
# also signs the zone: one key is enough here.
key=$(ldns-keygen -a 13 -k signed.test)
other=$(ldns-keygen -a 13 -k signed.test) # never signs anything
[ -s "$key.ds" ] && [ -s "$key.key" ] || fail "ldns-keygen wrote no $key.ds / $key.key"
ldns-signzone signed.test.zone "$key" || fail "ldns-signzone failed"
# Break one signature: change the TXT data after signing, keep its RRSIG.
sed -i 's/^\(broken\.signed\.test\.[[:space:]].*TXT[[:space:]]*\)"v=spf1 -all"$/\1"v=spf1 +all"/' \
	signed.test.zone.signed
grep -q '^broken\.signed\.test\..*"v=spf1 +all"' signed.test.zone.signed ||
	fail "could not edit broken.signed.test in the signed zone"

port=$(free_port)
start_nsd nsd "$port" signed.test "$ITEST_DIR/signed.test.zone.signed" \
	plain.test "$ITEST_DIR/plain.test.zone"

run() { "$spfgate" check --resolver "127.0.0.1@$port" --timeout 5000 "$@"; }
field() { sed -n "s/^$1: //p"; }

# expect ANCHOR|- IP SENDER RESULT DNSSEC [extra options]: DNSSEC is secure, insecure
# or "-" (no dnssec line at all).
expect() {
	local anchor=$1 ip=$2 sender=$3 want=$4 want_sec=$5
	shift 5
	local out
	if [ "$anchor" = - ]; then
		out=$(run "$@" "$ip" "$sender") || fail "$sender: exit status $?"
	else
		out=$(run --trust-anchor "$anchor" "$@" "$ip" "$sender") ||
			fail "$sender: exit status $?"
	fi
	local res sec
	res=$(printf '%s\n' "$out" | field result)
	sec=$(printf '%s\n' "$out" | field dnssec)
	[ "$res" = "$want" ] || { printf '%s\n' "$out" >&2; fail "$sender: result '$res', expected $want"; }
	if [ "$want_sec" = - ]; then
		[ -z "$sec" ] || fail "$sender: 'dnssec: $sec' printed without --trust-anchor"
	else
		[ "$sec" = "$want_sec" ] || { printf '%s\n' "$out" >&2
			fail "$sender: dnssec '$sec', expected $want_sec"; }
	fi
	LAST=$out
}

n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }

# 1. The signed record, with the DS as anchor: pass, secure.
expect "$key.ds" 192.0.2.10 a@signed.test pass secure
ok "DS anchor: signed record -> pass, dnssec: secure"

# 2. The same in JSON.
out=$(run --trust-anchor "$key.ds" --json 192.0.2.10 a@signed.test)
python3 - "$out" <<'PY'
import json, sys
o = json.loads(sys.argv[1])
assert o["result"] == "pass", o["result"]
assert o["dnssec_secure"] is True, o.get("dnssec_secure")
PY
ok "DS anchor, --json: dnssec_secure true"

# 3. No anchor: same result, no dnssec line, no dnssec_secure key.
expect - 192.0.2.10 a@signed.test pass -
out=$(run --json 192.0.2.10 a@signed.test)
python3 - "$out" <<'PY'
import json, sys
o = json.loads(sys.argv[1])
assert o["result"] == "pass", o["result"]
assert "dnssec_secure" not in o, o
PY
ok "no anchor: pass, no dnssec line, no dnssec_secure"

# 4. The DNSKEY as anchor (ldns-keygen's .key file).
expect "$key.key" 192.0.2.10 a@signed.test pass secure
ok "DNSKEY anchor: pass, secure"

# 5. An RFC 5011 autotrust file (";;id:" line): loaded with ub_ctx_add_ta_autr, which
#    rewrites it with the key's state; a static file would be left alone.
{
	echo "; autotrust trust anchor file"
	echo ";;id: signed.test. 1"
	cat "$key.ds"
} >autotrust.key
cp "$key.ds" static.key
expect autotrust.key 192.0.2.10 a@signed.test pass secure
grep -q '^signed\.test\..*DNSKEY.*;;state=2 \[  VALID  \]' autotrust.key ||
	{ cat autotrust.key >&2; fail "autotrust file not rewritten with the key's state"; }
expect static.key 192.0.2.10 a@signed.test pass secure
cmp -s static.key "$key.ds" || fail "a static anchor file was rewritten"
ok "autotrust file: pass, secure, state written back; static file untouched"

# 6. Negative answers are proven by NSEC: a void a: lookup (NXDOMAIN), a domain
#    without SPF (NODATA) and one that does not exist (NXDOMAIN) are all secure.
expect "$key.ds" 192.0.2.10 a@void.signed.test pass secure
printf '%s\n' "$LAST" | grep -q '^dns lookups: 1 (limit 10), void lookups: 1 ' ||
	fail "void.signed.test: the a: lookup was not void"
expect "$key.ds" 192.0.2.10 a@nospf.signed.test none secure
expect "$key.ds" 192.0.2.10 a@nxdomain.signed.test none secure
ok "NXDOMAIN and NODATA under the anchor: secure"

# 7. Outside the anchor's zone: insecure.  An include into it makes the whole
#    evaluation insecure.
expect "$key.ds" 198.51.100.1 a@_spf.plain.test pass insecure
expect "$key.ds" 198.51.100.1 a@inc.signed.test pass insecure
expect "$key.ds" 198.51.100.1 a@mix.signed.test pass insecure --no-prefetch
ok "unsigned zone, and a signed record including it: insecure"

# 8. The same with prefetch (the default): the include's unsigned TXT was asked ahead
#    and is already in when the evaluation reaches its term; it decides, so it counts.
expect "$key.ds" 198.51.100.1 a@mix.signed.test pass insecure
ok "prefetched include from an unsigned zone: insecure"

# 9. A signature that does not match its data is bogus: libunbound reports SERVFAIL,
#    the evaluation temperror.  Without an anchor nothing is validated and the forged
#    record decides.
expect "$key.ds" 192.0.2.10 a@broken.signed.test temperror insecure
printf '%s\n' "$LAST" | grep -q '^problem: broken.signed.test: DNS error (SERVFAIL)' ||
	{ printf '%s\n' "$LAST" >&2; fail "broken.signed.test: no SERVFAIL problem"; }
expect - 192.0.2.10 a@broken.signed.test pass -
ok "bad signature: temperror with the anchor, the forged +all without"

# 10. An anchor for another key: the zone's DNSKEY set does not match, every answer
#     from it is bogus.
expect "$other.ds" 192.0.2.10 a@signed.test temperror insecure
ok "anchor of a key that did not sign: temperror"

# 11. A file that is no anchor fails at startup (exit 1, one line naming it), before
#     any evaluation; --offline with an anchor is a usage error.
echo "this is not a DS record" >junk.key
set +e
err=$(run --trust-anchor junk.key 192.0.2.10 a@signed.test 2>&1 >/dev/null)
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "junk anchor: exit status $rc, expected 1"
printf '%s\n' "$err" | grep -q '^spfgate: junk.key: cannot load the trust anchor' ||
	fail "junk anchor: unexpected error output: $err"
set +e
err=$("$spfgate" check --offline --trust-anchor "$key.ds" 192.0.2.10 a@signed.test 2>&1)
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "--offline --trust-anchor: exit status $rc, expected 2"
[ "$err" = "spfgate: check: --trust-anchor needs live DNS, not --offline" ] ||
	fail "--offline --trust-anchor: '$err'"
ok "unparsable anchor: exit 1 at startup; --offline with an anchor: exit 2"
