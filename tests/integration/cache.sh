#!/usr/bin/env bash
# cache.sh - the answer cache of the libunbound driver against nsd on loopback.
#
#   cache.sh ITEST_RESOLVER
#
# Starts nsd with the zones of zones.sh and ttl.test (every TTL 3 s, negative TTL 3 s
# from the SOA), then runs the cache scenarios of itest_resolver: a warm evaluation
# finishes inside spf_resolver_start() with no question to libunbound (cache), TTL
# expiry of positive, NXDOMAIN and NODATA answers across a zone change (ttl), the
# entry and byte bounds (evict), and the brief cache of DNS errors (errcache).
# Exit 77 (skipped) when nsd is not installed.  Everything listens on 127.0.0.1 only.
set -euo pipefail
ITEST=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/zones.sh"

export PATH="$PATH:/usr/sbin:/sbin"
for t in nsd drill ss; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done

itest_init
write_zones "$ITEST_DIR"
ttl_zone() { # SERIAL, then records
	local serial=$1
	shift
	printf '$ORIGIN ttl.test.\n$TTL 3\n'
	printf '@\tSOA\tns hostmaster %s 3600 600 86400 3\n@\tNS\tns\nns\tA\t127.0.0.1\n' "$serial"
	printf '%s\n' "$@"
}
ttl_zone 1 'rec	TXT	"v=spf1 ip4:192.0.2.1 -all"' 'nodata	A	192.0.2.9' \
	>"$ITEST_DIR/ttl.test.zone"
ttl_zone 2 'rec	TXT	"v=spf1 ip4:192.0.2.2 -all"' 'nodata	A	192.0.2.9' \
	'nodata	TXT	"v=spf1 ip4:192.0.2.1 -all"' 'neg	TXT	"v=spf1 ip4:192.0.2.1 -all"' \
	>"$ITEST_DIR/ttl.test.zone.2"

NSD=$(free_port)
start_nsd nsd "$NSD" example.test "$ITEST_DIR/example.test.zone" \
	ttl.test "$ITEST_DIR/ttl.test.zone"
# The zone change of the ttl scenario: new file, SIGHUP, wait until nsd serves it.
cat >"$ITEST_DIR/change.sh" <<C
set -e
cp "$ITEST_DIR/ttl.test.zone.2" "$ITEST_DIR/nsd/ttl.test.zone"
touch -d '+2 seconds' "$ITEST_DIR/nsd/ttl.test.zone"
kill -HUP \$(cat "$ITEST_DIR/nsd/nsd.pid")
for i in \$(seq 1 100); do
	drill -p $NSD rec.ttl.test @127.0.0.1 TXT | grep -q 192.0.2.2 && exit 0
	sleep 0.02
done
echo "nsd did not load the changed ttl.test" >&2
exit 1
C

run() {
	echo "== itest_resolver $*"
	"$ITEST" "$@" || fail "itest_resolver $*"
}
F=(-f "127.0.0.1@$NSD")
run "${F[@]}" -x "bash $ITEST_DIR/change.sh" ttl
run "${F[@]}" -e 8 evict
run "${F[@]}" -B 1200 evict
run "${F[@]}" -b 3000 errcache other.test
echo "all answer cache scenarios passed"
