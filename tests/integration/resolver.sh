#!/usr/bin/env bash
# resolver.sh - the resolver against real DNS servers on loopback, through libunbound
# or, with SPFGATE_TEST_ENGINE=stub, the stub engine.
#
#   resolver.sh ITEST_RESOLVER DNSRELAY
#
# Starts nsd (authoritative for example.test and slow.test), a dnsrelay in front of it
# that logs every query and answers slow.test late, and an unbound that forwards
# everything to nsd (which refuses names outside its zones, so unbound answers them
# SERVFAIL).  Then runs the scenarios of itest_resolver against them.  Exit 77 (skipped) when nsd or unbound is
# not installed.  Everything listens on 127.0.0.1 only and is stopped on exit.
set -euo pipefail
ITEST=$1
DNSRELAY=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/zones.sh"

export PATH="$PATH:/usr/sbin:/sbin"
for t in nsd unbound drill ss; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done

itest_init
write_zones "$ITEST_DIR"

NSD=$(free_port)
start_nsd nsd "$NSD" example.test "$ITEST_DIR/example.test.zone" \
	slow.test "$ITEST_DIR/slow.test.zone"
RELAY=$(free_port)
start_relay relay -l "$RELAY" -u "$NSD" -d 300 -m slow.test -q "$ITEST_DIR/queries.log"
DEAD=$(free_port) # nothing listens here
UB=$(free_port)
start_unbound unbound "$UB" example.test "
forward-zone:
	name: \".\"
	forward-addr: 127.0.0.1@$NSD"

run() {
	local t0=$SECONDS
	echo "== itest_resolver $*"
	if ! "$ITEST" "$@"; then
		fail "itest_resolver $*"
	fi
}

Q=(-q "$ITEST_DIR/queries.log")
run -f "127.0.0.1@$NSD" basic
run -f "127.0.0.1@$NSD" run
run -f "127.0.0.1@$RELAY" "${Q[@]}" cache
run -f "127.0.0.1@$RELAY" "${Q[@]}" coalesce
# big.example.test must not fit a UDP answer of 1232 bytes (the driver's EDNS size).
drill -b 1232 -p "$NSD" big.example.test @127.0.0.1 TXT | grep -q "flags:.* tc" ||
	fail "nsd did not truncate big.example.test over UDP"
run -f "127.0.0.1@$NSD" big
run -f "127.0.0.1@$NSD" -t big
run -f "127.0.0.1@$NSD" -b 2000 cnameloop
run -f "127.0.0.1@$NSD" -b 3000 servfail other.test
# A real SERVFAIL rcode from a caching resolver (nsd itself only says REFUSED).
drill -p "$UB" refused.test @127.0.0.1 TXT | grep -q "rcode: SERVFAIL" ||
	fail "unbound did not answer SERVFAIL for refused.test"
run -f "127.0.0.1@$UB" -b 3000 servfail refused.test
run -f "127.0.0.1@$DEAD" -b 1500 down
run -f "127.0.0.1@$RELAY" -b 2000 slow
run -f "127.0.0.1@$RELAY" -b 1500 run-budget
run -f "127.0.0.1@$RELAY" "${Q[@]}" -b 3000 -n 1000 many
echo "all resolver integration scenarios passed"
