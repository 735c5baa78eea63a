# lib.sh - helpers for the integration tests: real DNS servers on loopback.
#
# Source it, then call itest_init.  Every server started here runs in the foreground
# as a child of the test, on 127.0.0.1 and a free port, with its configuration, zones,
# pid and log files in one temporary directory; an EXIT trap stops them all and removes
# the directory, whether the test passed, failed or was interrupted (set
# ITEST_KEEP=1 to keep the directory for a post-mortem).
#
#   itest_init                      temp dir in $ITEST_DIR, traps
#   free_port                       prints a UDP+TCP port nobody listens on
#   start_nsd NAME PORT ZONE FILE [ZONE FILE]...
#                                   nsd serving the zone files on 127.0.0.1@PORT
#   start_unbound NAME PORT WAITNAME CONFTEXT
#                                   unbound with "server:" settings for loopback
#                                   plus CONFTEXT (forward-zone: clauses etc.); up
#                                   once it answers a query for WAITNAME
#   start_relay NAME ARGS...        tests/integration dnsrelay with ARGS (-l PORT ...)
#   wait_dns PORT NAME TYPE         until the server on PORT answers (10 s)
#   stop_server NAME                stops one of them
#   fail MSG                        prints and exits 1

ITEST_PIDS=()
ITEST_NAMES=()

itest_cleanup() {
	local rc=$?
	local i
	for i in "${!ITEST_PIDS[@]}"; do
		kill "${ITEST_PIDS[$i]}" 2>/dev/null || true
	done
	for i in "${!ITEST_PIDS[@]}"; do
		wait "${ITEST_PIDS[$i]}" 2>/dev/null || true
	done
	if [ "$rc" -ne 0 ] && [ -n "${ITEST_DIR:-}" ]; then
		# Show the servers' logs when something failed.
		for f in "$ITEST_DIR"/*.log; do
			[ -s "$f" ] || continue
			echo "---- $f (last lines)" >&2
			tail -n 15 "$f" >&2
		done
	fi
	if [ -n "${ITEST_DIR:-}" ] && [ -z "${ITEST_KEEP:-}" ]; then
		rm -rf "$ITEST_DIR"
	elif [ -n "${ITEST_DIR:-}" ]; then
		echo "kept $ITEST_DIR" >&2
	fi
	exit "$rc"
}

itest_init() {
	ITEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/spfgate-itest.XXXXXX")
	trap itest_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# A port free for both UDP and TCP on loopback.  Racy by nature; the start_*
# functions retry with another port if the server cannot bind.
free_port() {
	local p tries=0
	while [ $tries -lt 200 ]; do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		tries=$((tries + 1))
		if [ -z "$(ss -Hlnu "( sport = :$p )" 2>/dev/null)" ] &&
			[ -z "$(ss -Hlnt "( sport = :$p )" 2>/dev/null)" ]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# wait_dns PORT NAME TYPE: until something on 127.0.0.1@PORT answers (any rcode).
wait_dns() {
	local port=$1 name=$2 type=$3 i
	for i in $(seq 1 100); do
		if timeout 1 drill -Q -p "$port" "$name" @127.0.0.1 "$type" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

_itest_track() {
	ITEST_PIDS+=("$1")
	ITEST_NAMES+=("$2")
}

# start_nsd NAME PORT ZONE FILE [ZONE FILE]...
start_nsd() {
	local name=$1 port=$2
	shift 2
	local d="$ITEST_DIR/$name"
	mkdir -p "$d"
	{
		echo "server:"
		echo "	ip-address: 127.0.0.1@$port"
		echo "	port: $port"
		echo "	do-ip6: no"
		echo "	username: \"\""
		echo "	chroot: \"\""
		echo "	zonesdir: \"$d\""
		echo "	pidfile: \"$d/nsd.pid\""
		echo "	database: \"\""
		echo "	zonelistfile: \"$d/zone.list\""
		echo "	xfrdfile: \"$d/xfrd.state\""
		echo "	xfrdir: \"$d\""
		echo "	logfile: \"$ITEST_DIR/$name.log\""
		echo "	server-count: 1"
		echo "	verbosity: 1"
		echo "	hide-version: yes"
		echo "	refuse-any: yes"
		echo "remote-control:"
		echo "	control-enable: no"
	} >"$d/nsd.conf"
	local first=""
	while [ $# -ge 2 ]; do
		local zone=$1 file=$2
		shift 2
		[ -n "$first" ] || first=$zone
		cp "$file" "$d/$(basename "$file")"
		{
			echo "zone:"
			echo "	name: \"$zone\""
			echo "	zonefile: \"$(basename "$file")\""
		} >>"$d/nsd.conf"
	done
	nsd -d -c "$d/nsd.conf" >>"$ITEST_DIR/$name.log" 2>&1 &
	_itest_track $! "$name"
	wait_dns "$port" "$first" SOA || fail "nsd $name did not come up on port $port"
}

# start_unbound NAME PORT WAITNAME CONFTEXT
start_unbound() {
	local name=$1 port=$2 waitname=$3 extra=$4
	local d="$ITEST_DIR/$name"
	mkdir -p "$d"
	cat >"$d/unbound.conf" <<EOF
server:
	interface: 127.0.0.1@$port
	port: $port
	do-ip6: no
	username: ""
	chroot: ""
	directory: "$d"
	pidfile: "$d/unbound.pid"
	logfile: ""
	use-syslog: no
	verbosity: 1
	num-threads: 1
	do-daemonize: no
	access-control: 127.0.0.0/8 allow
	do-not-query-localhost: no
	module-config: "iterator"
	qname-minimisation: no
	harden-referral-path: no
	auto-trust-anchor-file: ""
	trust-anchor-file: ""
	domain-insecure: "."
	infra-cache-min-rtt: 50
	local-zone: "test." nodefault
remote-control:
	control-enable: no
$extra
EOF
	unbound -d -c "$d/unbound.conf" >>"$ITEST_DIR/$name.log" 2>&1 &
	_itest_track $! "$name"
	wait_dns "$port" "$waitname" SOA || fail "unbound $name did not come up on port $port"
}

# start_relay NAME ARGS... (ARGS must contain -l PORT)
start_relay() {
	local name=$1
	shift
	rm -f "$ITEST_DIR/$name.ready"
	"$DNSRELAY" -r "$ITEST_DIR/$name.ready" "$@" >>"$ITEST_DIR/$name.log" 2>&1 &
	_itest_track $! "$name"
	local i
	for i in $(seq 1 100); do
		[ -e "$ITEST_DIR/$name.ready" ] && return 0
		kill -0 "${ITEST_PIDS[-1]}" 2>/dev/null || break
		sleep 0.05
	done
	fail "relay $name did not start"
}

# stop_server NAME: stops the server started under NAME (and forgets it).
stop_server() {
	local i
	for i in "${!ITEST_NAMES[@]}"; do
		if [ "${ITEST_NAMES[$i]}" = "$1" ]; then
			kill "${ITEST_PIDS[$i]}" 2>/dev/null || true
			wait "${ITEST_PIDS[$i]}" 2>/dev/null || true
			unset "ITEST_PIDS[$i]" "ITEST_NAMES[$i]"
		fi
	done
}
