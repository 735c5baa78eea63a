#!/usr/bin/env bash
# cli-live.sh - `spfgate check` against real DNS: nsd on loopback serves a provider
# zone; the sender's own domain comes from a draft zone file laid over live DNS
# (--zone without --offline), which is how an admin tries a record before publishing.
#
# usage: cli-live.sh SPFGATE
set -euo pipefail
spfgate=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
command -v nsd >/dev/null || exit 77
itest_init

port=$(free_port)
cat >"$ITEST_DIR/provider.zone" <<ZONE
\$ORIGIN provider.test.
\$TTL 300
@       IN SOA ns.provider.test. hostmaster.provider.test. 1 3600 600 86400 300
        IN NS  ns.provider.test.
ns      IN A   127.0.0.1
_spf    IN TXT "v=spf1 ip4:198.51.100.0/24 include:_spf2.provider.test ~all"
_spf2   IN TXT "v=spf1 ip6:2001:db8:77::/48 -all"
ZONE
start_nsd nsd "$port" provider.test "$ITEST_DIR/provider.zone"

# The draft: not published anywhere, only in this file.
cat >"$ITEST_DIR/draft.zone" <<'ZONE'
$ORIGIN draft.example.
$TTL 300
@ IN SOA ns.draft.example. hostmaster.draft.example. 1 3600 600 86400 300
  IN TXT "v=spf1 ip4:192.0.2.0/28 include:_spf.provider.test -all"
ZONE

run() { "$spfgate" check --zone "$ITEST_DIR/draft.zone" --resolver "127.0.0.1@$port" \
	--timeout 3000 "$@"; }

# 1. The include resolves live through nsd; the deciding term is the include.
out=$(run --json --trace 198.51.100.20 user@draft.example)
python3 - "$out" <<'PY'
import json, sys
o = json.loads(sys.argv[1])
assert o["result"] == "pass", o["result"]
assert o["mechanism"] == "include:_spf.provider.test", o["mechanism"]
assert o["dns_lookups"] == 1, o["dns_lookups"]  # the include; ip4 matches before include:_spf2
answers = [t["text"] for t in o["trace"] if t["kind"] == "answer"]
live = [a for a in answers if "_spf.provider.test" in a]
assert live and " ms" in live[0], answers        # latency of the live answer
draft = [a for a in answers if a.startswith("TXT draft.example")]
assert draft, answers                             # the draft answered from the file
PY
echo "ok 1 - draft record with a live include: pass"

# 2. IPv6 client matched two levels down, live.
res=$(run 2001:db8:77::5 user@draft.example | sed -n 's/^result: //p')
[ "$res" = pass ] || fail "IPv6 through nested live include: got '$res'"
echo "ok 2 - nested live include, IPv6: pass"

# 3. Not listed anywhere: the draft's -all decides.
res=$(run 203.0.113.5 user@draft.example | sed -n 's/^result: //p')
[ "$res" = fail ] || fail "expected fail, got '$res'"
echo "ok 3 - unlisted client: fail"

# 4. DNS down: temperror within the budget, and exit status 0 (a completed check).
stop_server nsd
start=$(date +%s%N)
set +e
out=$(run --timeout 1500 198.51.100.20 user@draft.example)
rc=$?
set -e
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
res=$(printf '%s\n' "$out" | sed -n 's/^result: //p')
[ "$rc" -eq 0 ] || fail "exit status $rc with DNS down"
[ "$res" = temperror ] || fail "DNS down: expected temperror, got '$res'"
[ "$elapsed" -lt 4000 ] || fail "DNS down took ${elapsed} ms for a 1500 ms budget"
echo "ok 4 - DNS down: temperror in ${elapsed} ms (budget 1500 ms)"

# 5. --offline never asks live DNS: the include target does not exist.
res=$("$spfgate" check --zone "$ITEST_DIR/draft.zone" --offline 198.51.100.20 \
	user@draft.example | sed -n 's/^result: //p')
[ "$res" = permerror ] || fail "offline include of an unknown domain: got '$res'"
echo "ok 5 - --offline: include target outside the zones is NXDOMAIN -> permerror"
