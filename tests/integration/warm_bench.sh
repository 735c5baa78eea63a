#!/usr/bin/env bash
# warm_bench.sh - serves the records of warm_bench.c with nsd on loopback and runs it.
#
#   warm_bench.sh WARM_BENCH [N]
#
# Prints: wall and CPU time per warm policy request (N of them, default 20000), the
# start-up figures (median of 5 runs), and, when valgrind is installed, the
# instructions per warm request: callgrind's total for N2 requests less that for N1,
# over N2 - N1 (every thread counted, start-up and the warming request left out).
# Not a ctest: a measurement tool.  Exit 77 when nsd is missing.
set -euo pipefail
BENCH=$1
N=${2:-20000}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
export PATH="$PATH:/usr/sbin:/sbin"
for t in nsd drill ss; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
itest_init
cat >"$ITEST_DIR/bench.test.zone" <<'Z'
$ORIGIN bench.test.
$TTL 3600
@		SOA	ns hostmaster 1 3600 600 86400 3600
@		NS	ns
ns		A	127.0.0.1
mta.shop	TXT	"v=spf1 a -all"
mta.shop	A	192.0.2.77
shop		TXT	"v=spf1 mx include:_spf.prov.bench.test include:_spf.crm.bench.test -all"
shop		MX	10 mx1.shop
mx1.shop	A	198.51.100.1
_spf.prov	TXT	"v=spf1 include:_nb1.prov.bench.test include:_nb2.prov.bench.test ~all"
_nb1.prov	TXT	"v=spf1 ip4:203.0.113.0/25 ip6:2001:db8:1::/48 ~all"
_nb2.prov	TXT	"v=spf1 ip4:198.51.100.128/25 ip6:2001:db8:2::/48 ~all"
_spf.crm	TXT	"v=spf1 a:out.crm.bench.test ip4:203.0.113.128/26 -all"
out.crm		A	192.0.2.77
Z
NSD=$(free_port)
start_nsd nsd "$NSD" bench.test "$ITEST_DIR/bench.test.zone"
F=(-f "127.0.0.1@$NSD")

"$BENCH" "${F[@]}" -n "$N" warm
for i in 1 2 3 4 5; do
	"$BENCH" "${F[@]}" startup
done | sort -k12,12n | sed -n 3p | sed 's/^/median of 5 (by main to answer) /'
if command -v valgrind >/dev/null; then
	n1=200 n2=1200
	ir() {
		valgrind --tool=callgrind --callgrind-out-file="$ITEST_DIR/cg.$1" \
			"$BENCH" "${F[@]}" -n "$1" warm >/dev/null 2>"$ITEST_DIR/cg.$1.log"
		sed -n 's/^summary: //p' "$ITEST_DIR/cg.$1"
	}
	a=$(ir $n1)
	b=$(ir $n2)
	echo "callgrind: $(( (b - a) / (n2 - n1) )) instructions per warm request" \
		"(Ir $n1 requests: $a, $n2 requests: $b)"
fi
