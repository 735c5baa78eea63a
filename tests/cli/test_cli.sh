#!/usr/bin/env bash
# test_cli.sh - tests of the `spfgate` command line, run by CTest.
#
#   test_cli.sh PATH-TO-SPFGATE [SOURCE-DIR]
#
# Writes zone files into a temporary directory and runs `spfgate check --offline`
# against them: every result, the headers, --trace, --json (parsed with python3),
# the exit statuses with and without --exit-code, and the one-line error plus exit
# status 2 for each kind of bad input.  With SOURCE-DIR it also runs the shipped
# examples/.  Nothing here touches the network: the one live-DNS case asks a closed
# port on 127.0.0.1.  Every check asserts on what spfgate printed.
set -euo pipefail

SPFGATE=${1:?usage: test_cli.sh PATH-TO-SPFGATE [SOURCE-DIR]}
SRC=${2:-}
command -v python3 >/dev/null || { echo "test_cli.sh: python3 is required" >&2; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/spfgate-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT

failures=0
checks=0
current=""

# ---------------------------------------------------------------- helpers

# run ARGS...: runs spfgate, keeping stdout in $T/out, stderr in $T/err, status in $rc.
run() {
	set +e
	"$SPFGATE" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	set -e
}

# check NAME: starts a named group of assertions (for the messages).
check() {
	current=$1
}

fail() {
	failures=$((failures + 1))
	echo "not ok - $current: $*"
	echo "  --- stdout:"; sed 's/^/  | /' "$T/out"
	echo "  --- stderr:"; sed 's/^/  | /' "$T/err"
}

ok() {
	checks=$((checks + 1))
}

expect_rc() {
	if [ "$rc" -eq "$1" ]; then ok; else fail "exit status $rc, expected $1"; fi
}

# expect_line TEXT: stdout has a line exactly equal to TEXT.
expect_line() {
	if grep -qxF -- "$1" "$T/out"; then ok; else fail "no line '$1'"; fi
}

# expect_match REGEX: stdout has a line matching the extended REGEX.
expect_match() {
	if grep -qE -- "$1" "$T/out"; then ok; else fail "no line matching /$1/"; fi
}

expect_no_match() {
	if grep -qE -- "$1" "$T/out"; then fail "unexpected line matching /$1/"; else ok; fi
}

# expect_error TEXT: nothing on stdout, exactly one line on stderr equal to TEXT, and
# exit status 2.
expect_error() {
	expect_rc 2
	if [ -s "$T/out" ]; then fail "stdout not empty"; else ok; fi
	local lines
	lines=$(wc -l <"$T/err")
	if [ "$lines" -eq 1 ] && [ "$(cat "$T/err")" = "$1" ]; then
		ok
	else
		fail "stderr is not exactly '$1'"
	fi
}

# expect_error_match REGEX: like expect_error, for a line matching REGEX.
expect_error_match() {
	expect_rc 2
	if [ -s "$T/out" ]; then fail "stdout not empty"; else ok; fi
	local lines
	lines=$(wc -l <"$T/err")
	if [ "$lines" -eq 1 ] && grep -qE -- "$1" "$T/err"; then
		ok
	else
		fail "stderr is not one line matching /$1/"
	fi
}

# expect_json PYTHON-EXPRESSION...: each expression, with d the parsed JSON object on
# stdout, must be true.  One python3 process checks them all and names the false ones.
expect_json() {
	local bad
	if ! bad=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
for expr in sys.argv[2:]:
    try:
        good = eval(expr)
    except Exception as e:
        good = False
        expr += " (" + repr(e) + ")"
    print(("ok " if good else "FAILED ") + expr)
' "$T/out" "$@" 2>&1); then
		fail "stdout is not JSON: $bad"
		return
	fi
	local line
	while IFS= read -r line; do
		case $line in
		"ok "*) ok ;;
		*) fail "JSON check: $line" ;;
		esac
	done <<<"$bad"
}

# ---------------------------------------------------------------- zones

cat >"$T/test.zone" <<'EOF'
$ORIGIN test.example.
$TTL 300
@           IN SOA  ns.test.example. hostmaster.test.example. 1 7200 3600 1209600 300
            IN NS   ns.test.example.
ns          IN A    192.0.2.53
; one record per result
pass        IN TXT  "v=spf1 ip4:192.0.2.10 ip6:2001:db8:1::/48 -all"
soft        IN TXT  "v=spf1 ip4:192.0.2.10 ~all"
neutral     IN TXT  "v=spf1 ?all"
nomatch     IN TXT  "v=spf1 ip4:192.0.2.99"
nospf       IN A    192.0.2.10
nospf       IN TXT  "just some text"
bad         IN TXT  "v=spf1 ip4:192.0.2.0/33 -all"
; exp= and include and redirect
explained   IN TXT  "v=spf1 ip4:192.0.2.10 exp=why.test.example -all"
why         IN TXT  "%{i} may not send for %{d}"
inc         IN TXT  "v=spf1 include:provider.test.example -all"
provider    IN TXT  "v=spf1 ip4:198.51.100.0/24 ~all"
redir       IN TXT  "v=spf1 redirect=pass.test.example"
; a and mx, for prefetch
multi       IN TXT  "v=spf1 ip4:192.0.2.10 a mx -all"
multi       IN A    192.0.2.20
multi       IN MX   10 mail.test.example.
mail        IN A    192.0.2.21
; three void lookups
void        IN TXT  "v=spf1 a:gone1.test.example a:gone2.test.example a:gone3.test.example -all"
; the HELO identity and the null sender
helo        IN A    192.0.2.30
helo        IN TXT  "v=spf1 a -all"
EOF

TZ="--zone $T/test.zone --offline --receiver mx.receiver.example"

# ---------------------------------------------------------------- results

check "pass"
run check $TZ --helo client.example.org 192.0.2.10 alice@pass.test.example
expect_rc 0
expect_line "result: pass"
expect_line "mechanism: ip4:192.0.2.10"
expect_line "domain: pass.test.example"
expect_match "^dns lookups: 0 \(limit 10\), void lookups: 0 \(limit 2\), queries: [0-9]+$"
expect_line 'Received-SPF: pass (mx.receiver.example: domain of alice@pass.test.example designates 192.0.2.10 as permitted sender) client-ip=192.0.2.10; envelope-from="alice@pass.test.example"; helo=client.example.org; receiver=mx.receiver.example; identity=mailfrom; mechanism="ip4:192.0.2.10"'
expect_line 'Authentication-Results: mx.receiver.example; spf=pass (domain of alice@pass.test.example designates 192.0.2.10 as permitted sender) smtp.mailfrom=pass.test.example'
expect_no_match "^explanation:"
expect_no_match "^problem:"

check "pass, IPv6 client"
run check $TZ 2001:db8:1::25 alice@pass.test.example
expect_rc 0
expect_line "result: pass"
expect_line "mechanism: ip6:2001:db8:1::/48"
expect_match '^Received-SPF: pass .* client-ip="2001:db8:1::25"; '

check "pass, IPv4-mapped IPv6 client is matched as IPv4"
run check $TZ ::ffff:192.0.2.10 alice@pass.test.example
expect_rc 0
expect_line "result: pass"
expect_match '^Received-SPF: pass .* client-ip=192\.0\.2\.10; '

check "fail, with the default explanation"
run check $TZ 192.0.2.11 alice@pass.test.example
expect_rc 0
expect_line "result: fail"
expect_line "explanation: 192.0.2.11 is not one of pass.test.example's designated mail servers."
expect_line "mechanism: -all"
expect_line 'Received-SPF: fail (mx.receiver.example: domain of alice@pass.test.example does not designate 192.0.2.11 as permitted sender) client-ip=192.0.2.11; envelope-from="alice@pass.test.example"; receiver=mx.receiver.example; identity=mailfrom; mechanism=-all'
expect_line 'Authentication-Results: mx.receiver.example; spf=fail (domain of alice@pass.test.example does not designate 192.0.2.11 as permitted sender) smtp.mailfrom=pass.test.example'

check "fail, --explanation"
run check $TZ --explanation "%{i} may not use %{d}" 192.0.2.11 alice@pass.test.example
expect_rc 0
expect_line "explanation: 192.0.2.11 may not use pass.test.example"

check "fail, exp= explanation"
run check $TZ 192.0.2.11 alice@explained.test.example
expect_line "result: fail"
expect_line "explanation: 192.0.2.11 may not send for explained.test.example"

check "softfail"
run check $TZ 192.0.2.11 bob@soft.test.example
expect_rc 0
expect_line "result: softfail"
expect_line "mechanism: ~all"
expect_match '^Received-SPF: softfail \(mx\.receiver\.example: domain of transitioning bob@soft\.test\.example does not designate 192\.0\.2\.11 as permitted sender\) '
expect_line 'Authentication-Results: mx.receiver.example; spf=softfail (domain of transitioning bob@soft.test.example does not designate 192.0.2.11 as permitted sender) smtp.mailfrom=soft.test.example'

check "neutral"
run check $TZ 192.0.2.11 bob@neutral.test.example
expect_rc 0
expect_line "result: neutral"
expect_line "mechanism: ?all"
expect_match '^Received-SPF: neutral \(mx\.receiver\.example: 192\.0\.2\.11 is neither permitted nor denied by domain of bob@neutral\.test\.example\) .*; mechanism=\?all$'

check "neutral by default (no term matched)"
run check $TZ 192.0.2.11 bob@nomatch.test.example
expect_rc 0
expect_line "result: neutral"
expect_line "mechanism: (default: no term matched)"
expect_match '^Received-SPF: neutral .*; mechanism=default$'

check "none"
run check $TZ 192.0.2.11 carol@nospf.test.example
expect_rc 0
expect_line "result: none"
expect_no_match "^mechanism:"
expect_line 'Received-SPF: none (mx.receiver.example: domain of carol@nospf.test.example does not designate permitted sender hosts) client-ip=192.0.2.11; envelope-from="carol@nospf.test.example"; receiver=mx.receiver.example; identity=mailfrom'
expect_line 'Authentication-Results: mx.receiver.example; spf=none (domain of carol@nospf.test.example does not designate permitted sender hosts) smtp.mailfrom=nospf.test.example'

check "none, name outside the zones is NXDOMAIN offline"
run check $TZ 192.0.2.11 dave@elsewhere.example
expect_rc 0
expect_line "result: none"

check "permerror"
run check $TZ 192.0.2.11 eve@bad.test.example
expect_rc 0
expect_line "result: permerror"
expect_match "^problem: bad\.test\.example: term 1 'ip4:192\.0\.2\.0/33' at byte [0-9]+: .+"
expect_match "^Received-SPF: permerror \(mx\.receiver\.example: permanent error in processing domain of eve@bad\.test\.example\) client-ip=192\.0\.2\.11; envelope-from=\"eve@bad\.test\.example\"; receiver=mx\.receiver\.example; identity=mailfrom; problem=\"bad\.test\.example: term 1 'ip4:192\.0\.2\.0/33' at byte [0-9]+: [^\"]+\"$"
expect_match "^Authentication-Results: mx\.receiver\.example; spf=permerror \(.*\) reason=\"bad\.test\.example: term 1 [^\"]+\" smtp\.mailfrom=bad\.test\.example$"

check "permerror, void lookup limit; --void-limit raises it"
run check $TZ 192.0.2.11 eve@void.test.example
expect_line "result: permerror"
expect_match "^problem: .*void lookups"
expect_match "^dns lookups: 3 \(limit 10\), void lookups: 3 \(limit 2\)"
run check $TZ --void-limit 3 192.0.2.11 eve@void.test.example
expect_line "result: fail"
expect_match "^dns lookups: 3 \(limit 10\), void lookups: 3 \(limit 3\)"

check "include: pass through the provider, and its ~all is no match"
run check $TZ 198.51.100.7 frank@inc.test.example
expect_line "result: pass"
expect_line "mechanism: include:provider.test.example"
run check $TZ 203.0.113.7 frank@inc.test.example
expect_line "result: fail"
expect_line "mechanism: -all"
expect_line "domain: inc.test.example"

check "redirect: the target decides"
run check $TZ 192.0.2.10 gina@redir.test.example
expect_line "result: pass"
expect_line "domain: pass.test.example"
expect_match "^dns lookups: 1 "

check "sender forms: bare domain is postmaster@domain"
run check $TZ 192.0.2.10 pass.test.example
expect_rc 0
expect_line "result: pass"
expect_match '^Received-SPF: pass \(mx\.receiver\.example: domain of postmaster@pass\.test\.example designates .* envelope-from="postmaster@pass\.test\.example"; '

check "null sender: postmaster@HELO"
run check $TZ --helo helo.test.example 192.0.2.30 ""
expect_rc 0
expect_line "result: pass"
expect_line "mechanism: a"
expect_match '^Received-SPF: pass \(mx\.receiver\.example: domain of postmaster@helo\.test\.example designates 192\.0\.2\.30 as permitted sender\) client-ip=192\.0\.2\.30; envelope-from="postmaster@helo\.test\.example"; helo=helo\.test\.example; '
expect_line 'Authentication-Results: mx.receiver.example; spf=pass (domain of postmaster@helo.test.example designates 192.0.2.30 as permitted sender) smtp.mailfrom=helo.test.example'

check "HELO identity"
run check $TZ --identity helo --helo helo.test.example 192.0.2.31
expect_rc 0
expect_line "result: fail"
expect_line 'Received-SPF: fail (mx.receiver.example: domain of helo.test.example does not designate 192.0.2.31 as permitted sender) client-ip=192.0.2.31; helo=helo.test.example; receiver=mx.receiver.example; identity=helo; mechanism=-all'
expect_line 'Authentication-Results: mx.receiver.example; spf=fail (domain of helo.test.example does not designate 192.0.2.31 as permitted sender) smtp.helo=helo.test.example'

check "default receiver is the host name"
host=$(hostname 2>/dev/null || true)
if [[ "$host" =~ ^[A-Za-z0-9][A-Za-z0-9.-]*$ ]]; then
	run check --zone "$T/test.zone" --offline 192.0.2.10 alice@pass.test.example
	expect_match "^Received-SPF: pass \(${host//./\\.}: .*; receiver=${host//./\\.}; "
	expect_match "^Authentication-Results: ${host//./\\.}; spf=pass "
fi

# ---------------------------------------------------------------- exit codes

check "exit status 0 for every completed evaluation"
for s in alice@pass.test.example bob@soft.test.example bob@neutral.test.example \
    carol@nospf.test.example eve@bad.test.example; do
	run check $TZ 192.0.2.11 "$s"
	expect_rc 0
done

check "--exit-code"
run check $TZ --exit-code 192.0.2.10 alice@pass.test.example
expect_rc 0
run check $TZ --exit-code 192.0.2.11 alice@pass.test.example
expect_rc 3
run check $TZ --exit-code 192.0.2.11 bob@soft.test.example
expect_rc 4
run check $TZ --exit-code 192.0.2.11 bob@neutral.test.example
expect_rc 5
run check $TZ --exit-code 192.0.2.11 carol@nospf.test.example
expect_rc 6
run check $TZ --exit-code 192.0.2.11 eve@bad.test.example
expect_rc 8

check "temperror through live DNS (a resolver that does not answer), if built in"
run check --zone "$T/test.zone" --receiver mx.receiver.example --resolver 127.0.0.1@1 \
    --timeout 1000 --exit-code 192.0.2.11 alice@unreachable.example.net
if [ "$rc" -eq 2 ] && grep -q "without libunbound" "$T/err"; then
	echo "# skipped: built without libunbound"
else
	expect_rc 7
	expect_line "result: temperror"
	expect_match '^Received-SPF: temperror \(mx\.receiver\.example: temporary error in processing during lookup of alice@unreachable\.example\.net\) .*; problem="[^"]+"$'
	# The zone overlay still answers the names it covers.
	run check --zone "$T/test.zone" --receiver mx.receiver.example --resolver 127.0.0.1@1 \
	    --timeout 1000 192.0.2.10 alice@pass.test.example
	expect_rc 0
	expect_line "result: pass"
fi

# ---------------------------------------------------------------- --trace

check "--trace: queries, answers, terms, in order, indented by depth"
# Without prefetch, the include's TXT query is asked (and traced) inside the include.
run check $TZ --trace --no-prefetch 203.0.113.7 frank@inc.test.example
expect_rc 0
expect_match "^query +TXT inc\.test\.example$"
expect_match "^answer +TXT inc\.test\.example -> \"v=spf1 include:provider\.test\.example -all\""
expect_match "^record +\"v=spf1 include:provider\.test\.example -all\"$"
expect_match "^  query +TXT provider\.test\.example$"
expect_match "^  term +ip4:198\.51\.100\.0/24 -> no match$"
expect_match "^  term +~all -> match$"
expect_match "^term +-all -> match$"
expect_line "result: fail"
# The deciding term comes after the include's terms.
if awk '/^  term +~all/ { a = NR } /^term +-all -> match/ { b = NR } END { exit !(a && b && a < b) }' "$T/out"; then ok; else fail "trace out of order"; fi

check "--trace: without it, no trace"
run check $TZ 203.0.113.7 frank@inc.test.example
expect_no_match "^query "

# ---------------------------------------------------------------- --json

check "--json: the documented keys"
run check $TZ --json --helo client.example.org 192.0.2.11 alice@pass.test.example
expect_rc 0
if [ "$(wc -l <"$T/out")" -eq 1 ]; then ok; else fail "JSON is not one line"; fi
expect_json \
	'd["result"] == "fail"' \
	'd["explanation"] == "192.0.2.11 is not one of pass.test.example'"'"'s designated mail servers."' \
	'd["mechanism"] == "-all"' \
	'd["domain"] == "pass.test.example"' \
	'd["identity"] == "mailfrom"' \
	'd["dns_lookups"] == 0 and d["void_lookups"] == 0' \
	'isinstance(d["dns_queries"], int) and d["dns_queries"] >= 1' \
	'd["problem"] is None' \
	'd["client_ip"] == "192.0.2.11"' \
	'd["sender"] == "alice@pass.test.example"' \
	'd["helo"] == "client.example.org"' \
	'd["received_spf"].startswith("Received-SPF: fail (mx.receiver.example: domain of alice@pass.test.example does not designate 192.0.2.11 as permitted sender) ")' \
	'd["authentication_results"] == "Authentication-Results: mx.receiver.example; spf=fail (domain of alice@pass.test.example does not designate 192.0.2.11 as permitted sender) smtp.mailfrom=pass.test.example"' \
	'"trace" not in d'

check "--json: permerror"
run check $TZ --json 192.0.2.11 eve@bad.test.example
expect_json \
	'd["result"] == "permerror"' \
	'd["problem"].startswith("bad.test.example: term 1 '"'"'ip4:192.0.2.0/33'"'"' at byte ")' \
	'd["explanation"] is None'

check "--json --trace"
run check $TZ --json --trace 203.0.113.7 frank@inc.test.example
expect_json \
	'isinstance(d["trace"], list) and len(d["trace"]) > 0' \
	'all(set(e) == {"kind", "depth", "domain", "text"} for e in d["trace"])' \
	'{"kind": "query", "depth": 0, "domain": "inc.test.example", "text": "TXT inc.test.example"} in d["trace"]' \
	'any(e["kind"] == "term" and e["depth"] == 1 and e["domain"] == "provider.test.example" and e["text"] == "~all -> match" for e in d["trace"])' \
	'any(e["kind"] == "term" and e["depth"] == 0 and e["text"] == "-all -> match" for e in d["trace"])' \
	'set(e["kind"] for e in d["trace"]) >= {"query", "answer", "record", "term", "result"}'

check "--json: control characters and bytes that are not UTF-8"
run check $TZ --json 192.0.2.11 $'al\x01ice\xff\xc3\xa9"\\@pass.test.example'
expect_rc 0
expect_json \
	'd["sender"] == "al\x01ice\xff\u00e9\"\\@pass.test.example"' \
	'"\\x01" in d["received_spf"] and "\r" not in d["received_spf"]'
if LC_ALL=C grep -q $'\x01' "$T/out"; then fail "raw control byte in JSON"; else ok; fi

check "--no-prefetch asks only what evaluation reaches"
run check $TZ --json 192.0.2.10 alice@multi.test.example
expect_json 'd["result"] == "pass" and d["dns_queries"] > 1'
run check $TZ --json --no-prefetch 192.0.2.10 alice@multi.test.example
expect_json 'd["result"] == "pass" and d["dns_queries"] == 1'

# ---------------------------------------------------------------- bad input

check "bad input: invalid IP"
run check $TZ 192.0.2.300 alice@pass.test.example
expect_error "spfgate: invalid client IP address '192.0.2.300'"
run check $TZ not-an-ip alice@pass.test.example
expect_error "spfgate: invalid client IP address 'not-an-ip'"

check "bad input: sender without a domain"
run check $TZ 192.0.2.10 alice@
expect_error "spfgate: sender 'alice@' has no domain"

check "bad input: invalid sender domain"
run check $TZ 192.0.2.10 alice@pass..test.example
expect_error "spfgate: invalid sender domain 'pass..test.example': empty label"
run check $TZ 192.0.2.10 $'alice@pass\r\n.example'
expect_error "spfgate: invalid sender domain 'pass\\x0d\\x0a.example': space or control character"
run check $TZ 192.0.2.10 "alice@$(printf 'a%.0s' {1..64}).example"
expect_error_match "^spfgate: invalid sender domain 'a{64}\.example': label longer than 63 characters$"

check "bad input: null sender without --helo"
run check $TZ 192.0.2.10 ""
expect_error_match "^spfgate: the null sender .* give --helo$"

check "bad input: HELO identity without --helo"
run check $TZ --identity helo 192.0.2.10
expect_error "spfgate: --identity helo needs --helo NAME"

check "bad input: missing zone file"
run check --zone "$T/missing.zone" --offline 192.0.2.10 alice@pass.test.example
expect_error "spfgate: $T/missing.zone: No such file or directory"

check "bad input: malformed zone file, with file:line"
cat >"$T/broken.zone" <<'EOF'
$ORIGIN broken.example.
$TTL 300
@   IN TXT "v=spf1 -all"
www IN A   192.0.2.300
EOF
run check --zone "$T/test.zone" --zone "$T/broken.zone" --offline 192.0.2.10 alice@pass.test.example
expect_error_match "^spfgate: ${T//./\\.}/broken\.zone:4: .+$"

check "bad input: options and arguments"
run check --frobnicate 192.0.2.10 alice@pass.test.example
expect_error "spfgate: check: unknown option '--frobnicate'"
run check $TZ --zone
expect_error "spfgate: check: option '--zone' needs an argument"
run check $TZ
expect_error "spfgate: check: missing CLIENT-IP and SENDER (see 'spfgate help')"
run check $TZ 192.0.2.10
expect_error "spfgate: check: missing SENDER (use \"\" for the null sender)"
run check $TZ 192.0.2.10 a@pass.test.example extra
expect_error "spfgate: check: too many arguments (expected CLIENT-IP SENDER)"
run check $TZ --void-limit lots 192.0.2.10 a@pass.test.example
expect_error "spfgate: check: --void-limit needs a number from 0 to 1000, not 'lots'"
run check $TZ --identity pra 192.0.2.10 a@pass.test.example
expect_error "spfgate: check: --identity must be 'mailfrom' or 'helo', not 'pra'"
run check $TZ --timeout 0 192.0.2.10 a@pass.test.example
expect_error_match "^spfgate: check: --timeout needs milliseconds from 1 to [0-9]+, not '0'$"
run frobnicate
expect_error "spfgate: unknown command 'frobnicate' (try 'spfgate help')"
run
expect_error "spfgate: missing command (try 'spfgate help')"

check "help and version"
run help
expect_rc 0
expect_match "^usage: spfgate check \[options\] CLIENT-IP SENDER$"
run --help
expect_rc 0
expect_match "--exit-code"
run --version
expect_rc 0
expect_match "^spfgate [0-9]+\.[0-9]+\.[0-9]+$"
run check --help
expect_rc 0
expect_match "^usage: spfgate check"

# ---------------------------------------------------------------- shipped examples

if [ -n "$SRC" ]; then
	EX="--zone $SRC/examples/example.com.zone --offline --receiver mx.receiver.example"
	check "examples/example.com.zone: the README's command"
	run check $EX --trace 192.0.2.10 alice@example.com
	expect_rc 0
	expect_line "result: pass"
	expect_line "mechanism: ip4:192.0.2.10"
	expect_match "^query +TXT example\.com$"
	check "examples/example.com.zone: every documented case"
	for c in "192.0.2.26 alice@example.com pass" "2001:db8::25 alice@example.com pass" \
	    "198.51.100.77 alice@example.com pass" "203.0.113.9 alice@example.com fail" \
	    "203.0.113.9 bob@lists.example.com softfail" \
	    "192.0.2.200 news@newsletter.example.com pass" \
	    "192.0.2.99 carol@legacy.example.com neutral" "192.0.2.10 dave@www.example.com none"; do
		set -- $c
		run check $EX "$1" "$2"
		expect_line "result: $3"
	done
	run check $EX 203.0.113.9 alice@example.com
	expect_line "explanation: 203.0.113.9 is not one of example.com's mail servers; see https://www.example.com/spf"
	run check $EX --identity helo --helo mx1.example.com 192.0.2.25
	expect_line "result: pass"

	BX="--zone $SRC/examples/broken.example.zone --offline"
	check "examples/broken.example.zone: permerror diagnostics"
	run check $BX 192.0.2.10 alice@broken.example
	expect_match "^problem: broken\.example: term 3 'ip4:192\.0\.2\.0/33' at byte [0-9]+: "
	for d in typo twice redirect loop void; do
		run check $BX 192.0.2.10 "alice@$d.broken.example"
		expect_line "result: permerror"
	done
fi

echo "# $checks checks passed, $failures failed"
[ "$failures" -eq 0 ]
