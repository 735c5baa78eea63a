#!/usr/bin/env bash
# rfc7208.sh - the openspf conformance suite through real DNS.
#
#   rfc7208.sh SPF_SUITE DNSRELAY SUITE.yml EXCEPTIONS.tsv [BUDGET_MS]
#
# EXCEPTIONS.tsv is the suite's own list; exceptions-live.tsv beside this script adds
# the deviations that only real DNS shows (each with its reason).
#
# spf-suite --emit-zones writes each scenario's zonedata as a root zone
# (scenario-NN.zone) and its TIMEOUT names (scenario-NN.timeouts).  For each scenario
# this serves the zone with nsd on loopback, puts dnsrelay in front of it to make the
# TIMEOUT names time out (their queries go unanswered unless the answer holds
# records, as the suite's TIMEOUT means), and runs that scenario's tests through the
# resolver forwarding to the relay (libunbound, or the stub engine when
# SPFGATE_TEST_ENGINE=stub): every test must pass as it does with the
# in-memory driver, the timeout tests with temperror within the budget.
# Exit 77 (skipped) without nsd.
set -euo pipefail
SUITE=$1
DNSRELAY=$2
YML=$3
EXC=$4
BUDGET=${5:-2000}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

export PATH="$PATH:/usr/sbin:/sbin"
for t in nsd drill ss; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done

itest_init
cat "$EXC" "$here/exceptions-live.tsv" >"$ITEST_DIR/exceptions.tsv"
EXC="$ITEST_DIR/exceptions.tsv"
"$SUITE" --emit-zones "$ITEST_DIR/zones" "$YML" >"$ITEST_DIR/emit.out" ||
	{ cat "$ITEST_DIR/emit.out"; fail "spf-suite --emit-zones"; }

# Every scenario gets its own nsd and relay; the scenarios run in parallel (the
# timeout tests each wait for the budget).
t0=$(date +%s%N)
nos=()
for zone in "$ITEST_DIR"/zones/scenario-*.zone; do
	n=$(basename "$zone" .zone)
	n=${n#scenario-}
	NSD=$(free_port)
	start_nsd "nsd$n" "$NSD" . "$zone"
	RELAY=$(free_port)
	start_relay "relay$n" -l "$RELAY" -u "$NSD" -x "$ITEST_DIR/zones/scenario-$n.timeouts"
	echo "$RELAY" >"$ITEST_DIR/relay$n.port"
	nos+=("$n")
done
run_scenario() {
	local n=$1 s0 rc=0
	s0=$(date +%s%N)
	"$SUITE" --exceptions "$EXC" --scenario "$((10#$n))" \
		--resolver "127.0.0.1@$(cat "$ITEST_DIR/relay$n.port")" --timeout "$BUDGET" \
		"$YML" >"$ITEST_DIR/scenario-$n.out" 2>&1 || rc=$?
	echo "$rc $((($(date +%s%N) - s0) / 1000000))" >"$ITEST_DIR/scenario-$n.rc"
}
pids=()
for n in "${nos[@]}"; do
	run_scenario "$n" &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || true
done
total_pass=0 total_fail=0 scenarios=0
for n in "${nos[@]}"; do
	out="$ITEST_DIR/scenario-$n.out"
	read -r rc ms <"$ITEST_DIR/scenario-$n.rc" || { rc=1; ms=0; }
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1 || true)
	echo "scenario $n: ${line:-no summary} (${ms} ms, $(wc -l <"$ITEST_DIR/zones/scenario-$n.timeouts") timeout names)"
	grep -E '^(EXCEPTED|STALE)' "$out" || true
	if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
		grep -v '^WARN' "$out" | head -n 30 >&2
		total_fail=$((total_fail + 1))
	fi
	p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
	total_pass=$((total_pass + ${p:-0}))
	scenarios=$((scenarios + 1))
done
ms=$((($(date +%s%N) - t0) / 1000000))
echo "$(basename "$YML") through nsd + ${SPFGATE_TEST_ENGINE:-libunbound}: $scenarios scenarios, $total_pass tests passed, $total_fail scenarios failed, ${ms} ms"
[ "$total_fail" -eq 0 ] || fail "$total_fail scenario(s) failed through real DNS"
