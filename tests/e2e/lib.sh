# lib.sh - a private Postfix on loopback for the end-to-end tests, and SMTP helpers.
#
# Source tests/integration/lib.sh first (nsd on a free loopback port, free_port, fail,
# the EXIT trap), then this file, then call e2e_init.
#
#   e2e_require                 exit 77 (skipped) unless root with postfix, swaks, nsd
#   e2e_init                    temp dir ($ITEST_DIR, mode 755: Postfix's users and
#                               "nobody" must reach into it), EXIT trap that stops
#                               Postfix first, then spfgated and nsd, then removes it
#   pf_init                     directories of a private instance in $ITEST_DIR/postfix
#                               (queue directories included), two free SMTP ports
#   pf_setup POLICY MAINCF MASTERCF
#                               writes its main.cf and master.cf; POLICY is the
#                               check_policy_service target; MAINCF and MASTERCF are
#                               the spfgate lines of main.cf and master.cf (as in
#                               POSTFIX-SNIPPET.md)
#   pf_start / pf_stop          master(8) in the foreground, as a child of the test
#   smtp NAME SWAKS-ARGS...     one SMTP session; transcript in $ITEST_DIR/smtp/NAME
#   reply NAME VERB             the server's reply to VERB in that session (MAIL,
#                               RCPT, XCLIENT, or END for the end of DATA)
#   expect_reply NAME VERB ERE  asserts on it
#   wait_delivered NAME N       waits for N delivered copies of message NAME
#   header_lines FILE NAME      the (unfolded) header fields NAME of a delivered message
#
# How the private Postfix runs (Debian 12, postfix 3.7, as root).  "postfix start"
# and "postfix check" run postfix-script, whose integrity checks (post-install
# create-missing, postsuper, find over the queue) take 2-5 s; so the test creates the
# queue directories itself, with the owners and modes post-install would give them,
# and starts /usr/lib/postfix/sbin/master -c CONFDIR directly.  master does not fork
# without -w: it stays in the foreground as our child, leads its own process group
# (setsid), and on SIGTERM takes every Postfix process with it.  Commands started by
# spawn(8) run in sessions of their own and end when their smtpd goes away.  pf_stop
# waits for both before the directory is removed.  No service is
# chrooted; all paths are absolute and below $ITEST_DIR; the system Postfix (if any)
# and /etc/postfix/main.cf are never read (everything comes from -c).
#
# Client identities.  smtpd_authorized_xclient_hosts = 127.0.0.1 lets swaks present
# any client address and SASL login with XCLIENT (swaks --xclient-addr,
# --xclient-login).  Postfix 3.7 then sends the login as "sasl_username" in policy
# requests, as after a real AUTH, even with smtpd_sasl_auth_enable = no (it logs
# sasl_method=XCLIENT, and its Received: header says "with ESMTPA").  The HELO
# name is the one of swaks' EHLO after the XCLIENT (--ehlo).

E2E_SBIN=/usr/lib/postfix/sbin
E2E_RCPT_DOMAIN=rcpt.test

e2e_require() {
	export PATH="$PATH:/usr/sbin:/sbin"
	local t
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: the end-to-end test starts Postfix's master(8) and must run as root"
		exit 77
	fi
	for t in postconf swaks nsd drill ss runuser; do
		command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
	done
	[ -x "$E2E_SBIN/master" ] || { echo "SKIP: no $E2E_SBIN/master"; exit 77; }
	getent passwd postfix >/dev/null && getent group postdrop >/dev/null ||
		{ echo "SKIP: no postfix user or postdrop group"; exit 77; }
	getent passwd nobody >/dev/null || { echo "SKIP: no user nobody"; exit 77; }
}

PF_PID=""

e2e_cleanup() {
	local rc=$?
	set +e # under -e, the "(exit $rc)" below would end the trap early
	pf_stop
	if [ "$rc" -ne 0 ] && [ -s "${PF_LOG:-}" ]; then
		echo "---- $PF_LOG: warnings and errors" >&2
		grep -E "(warning|error|fatal|panic):" "$PF_LOG" | tail -n 30 >&2
	fi
	(exit "$rc")
	itest_cleanup # stops spfgated and nsd, shows the logs on failure, removes the dir
}

e2e_init() {
	itest_init
	trap e2e_cleanup EXIT
	chmod 755 "$ITEST_DIR"
	# Postfix's daemons run as "postfix", virtual(8) and spawned commands as "nobody".
	runuser -u nobody -- test -x "$ITEST_DIR" ||
		fail "$ITEST_DIR is not reachable for user nobody (set TMPDIR to a directory under /tmp)"
	mkdir -p "$ITEST_DIR/smtp"
}

# pf_init: the instance's directories, queue included (so that a policy server
# can put its socket into $PF_QUEUE/private before Postfix starts), and ports.
pf_init() {
	PF_DIR=$ITEST_DIR/postfix
	PF_CONF=$PF_DIR/conf
	PF_QUEUE=$PF_DIR/queue
	PF_LOG=$ITEST_DIR/postfix.log
	PF_MAILDIR=$PF_DIR/mail/inbox
	mkdir -p "$PF_CONF" "$PF_QUEUE" "$PF_DIR/data" "$PF_DIR/mail"
	chown postfix "$PF_DIR/data"
	chown 65534:65534 "$PF_DIR/mail"
	pf_mkqueue
	PF_PORT=$(free_port) || fail "no free port"
	PF_PORT_MAIL=$(free_port) || fail "no free port"
	[ "$PF_PORT" != "$PF_PORT_MAIL" ] || PF_PORT_MAIL=$(free_port)
}

# pf_setup POLICY MAINCF MASTERCF (after pf_init)
pf_setup() {
	local policy=$1 maincf=$2 mastercf=$3
	cat >"$PF_CONF/main.cf" <<EOF
# A private Postfix for the spfgate end-to-end test: loopback only, no DNS.
compatibility_level = 3.6
queue_directory = $PF_QUEUE
data_directory = $PF_DIR/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.e2e.test
mydomain = e2e.test
myorigin = \$myhostname
mydestination =
relay_domains =
relayhost =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
biff = no
# No DNS lookups by Postfix itself: the client name comes from XCLIENT or is
# "unknown"; nothing is ever sent out.
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
smtp_host_lookup = native
lmtp_host_lookup = native
# The test presents client addresses, HELO names and SASL logins with XCLIENT.
smtpd_authorized_xclient_hosts = 127.0.0.1
# Log into the test directory (postlogd, "postlog" in master.cf).
maillog_file = $PF_LOG
maillog_file_prefixes = $ITEST_DIR
# Everything for @$E2E_RCPT_DOMAIN goes to one Maildir, as user nobody.
virtual_mailbox_domains = $E2E_RCPT_DOMAIN
virtual_mailbox_base = $PF_DIR/mail
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
# Relay control stays where Postfix puts it by default; the policy service comes
# after it, so only mail for our own domain is ever checked.
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination

# ---- spfgate (POSTFIX-SNIPPET.md)
$maincf
EOF
	cat >"$PF_CONF/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:$PF_PORT inet n - n - - smtpd
# A second listener that checks at MAIL FROM (smtpd_delay_reject = no).
127.0.0.1:$PF_PORT_MAIL inet n - n - - smtpd
  -o smtpd_delay_reject=no
  -o { smtpd_sender_restrictions = check_policy_service $policy }
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd

# ---- spfgate (POSTFIX-SNIPPET.md)
$mastercf
EOF
	# postconf reports unknown or misspelt parameters as "unused parameter".
	local warn
	warn=$(postconf -c "$PF_CONF" -n 2>&1 >/dev/null | grep -i warning || true)
	[ -z "$warn" ] || fail "main.cf: $warn"
	warn=$(postconf -c "$PF_CONF" -M 2>&1 >/dev/null | grep -i -E "warning|fatal" || true)
	[ -z "$warn" ] || fail "master.cf: $warn"
}

# The queue directories with the owners and modes post-install create-missing gives.
pf_mkqueue() {
	local q=$PF_QUEUE d
	for d in active bounce corrupt defer deferred flush hold incoming private saved trace; do
		install -d -o postfix -g root -m 700 "$q/$d"
	done
	install -d -o postfix -g postdrop -m 730 "$q/maildrop"
	install -d -o postfix -g postdrop -m 710 "$q/public"
	install -d -o root -g root -m 755 "$q/pid"
}

port_listening() {
	[ -n "$(ss -Hlnt "( sport = :$1 )" 2>/dev/null)" ]
}

pf_start() {
	"$E2E_SBIN/master" -c "$PF_CONF" >>"$ITEST_DIR/postfix-master.log" 2>&1 &
	PF_PID=$!
	local i
	for i in $(seq 1 200); do
		kill -0 "$PF_PID" 2>/dev/null || fail "Postfix master exited at start-up"
		if port_listening "$PF_PORT" && port_listening "$PF_PORT_MAIL" &&
			grep -q "daemon started" "$PF_LOG" 2>/dev/null; then
			echo "postfix: master $PF_PID, smtpd on 127.0.0.1:$PF_PORT and :$PF_PORT_MAIL"
			return 0
		fi
		sleep 0.05
	done
	fail "Postfix did not come up on 127.0.0.1:$PF_PORT"
}

# Stops master and waits until no process of its process group is left.
pf_stop() {
	[ -n "$PF_PID" ] || return 0
	local spawned i pid
	spawned=$(pf_children_running "${SPFGATED:-/nonexistent}")
	kill -TERM "$PF_PID" 2>/dev/null || true
	wait "$PF_PID" 2>/dev/null || true
	for i in $(seq 1 100); do
		kill -0 -- "-$PF_PID" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL -- "-$PF_PID" 2>/dev/null || true
	# Spawned policy servers see their input end; give them a moment to exit.
	for pid in $spawned; do
		for i in $(seq 1 40); do
			kill -0 "$pid" 2>/dev/null || continue 2
			sleep 0.05
		done
		echo "spawned spfgated $pid did not exit with Postfix; killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
	done
	PF_PID=""
}

# The processes of our Postfix instance running the program at path $1 (the
# policy servers that spawn(8) started): descendants of master (spawn puts its
# command in a session of its own, so the process group does not tell), matched by
# executable.
pf_children_running() {
	local exe=$1 pid
	[ -n "$PF_PID" ] || return 0
	for pid in $(ps -e -o pid= -o ppid= | awk -v root="$PF_PID" '
		{ parent[$1] = $2 }
		END {
			for (p in parent) {
				q = p
				for (depth = 0; depth < 10 && q != "" && q != root; depth++)
					q = parent[q]
				if (q == root && p != root) print p
			}
		}'); do
		[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$exe" ] && echo "$pid"
	done
	return 0
}

# ---------------------------------------------------------------- SMTP

# smtp NAME [swaks options]: one SMTP session with the private Postfix (port
# $SMTP_PORT, default the main listener).  The message carries "X-E2E-Id: NAME"
# so that its delivered copies can be found.  The transcript is in
# $ITEST_DIR/smtp/NAME; swaks' exit status is ignored: tests assert on replies.
smtp() {
	local name=$1
	shift
	swaks --server 127.0.0.1 --port "${SMTP_PORT:-$PF_PORT}" --timeout 60 \
		--header "X-E2E-Id: $name" "$@" >"$ITEST_DIR/smtp/$name" 2>&1 || true
}

# reply NAME VERB: the final line of the server's reply to VERB (MAIL, RCPT,
# XCLIENT, DATA, or END for the end of the message data), one line per command
# sent (several RCPT TO); nothing when the command was never sent.
reply() {
	awk -v verb="$2" '
		/^ -> / {
			cmd = substr($0, 5)
			if (verb == "END") want = (cmd == ".")
			else if (verb == "MAIL") want = (index(cmd, "MAIL FROM:") == 1)
			else if (verb == "RCPT") want = (index(cmd, "RCPT TO:") == 1)
			else want = (index(cmd, verb) == 1)
			next
		}
		want && /^<(-|\*\*) / {
			line = $0
			sub(/^<(-|\*\*) +/, "", line)
			if (line ~ /^[0-9][0-9][0-9]( |$)/) { print line; want = 0 }
		}' "$ITEST_DIR/smtp/$1"
}

show_transcript() {
	echo "---- SMTP transcript $1:" >&2
	sed 's/^/    /' "$ITEST_DIR/smtp/$1" >&2
}

# expect_reply NAME VERB ERE: every reply to VERB in session NAME matches ERE.
expect_reply() {
	local name=$1 verb=$2 re=$3 r
	r=$(reply "$name" "$verb")
	if [ -z "$r" ] || printf '%s\n' "$r" | grep -vE -- "$re" >/dev/null; then
		show_transcript "$name"
		fail "$name: reply to $verb is \"$r\"; expected /$re/"
	fi
	echo "ok   $name: $verb -> $(printf '%s' "$r" | head -n 1)"
}

# XCLIENT must have been accepted, or every other assertion means nothing.
expect_xclient() {
	expect_reply "$1" XCLIENT '^220 '
}

# wait_delivered NAME N: prints the N delivered copies of message NAME (fails after
# 15 s, or when more than N arrive).
wait_delivered() {
	local name=$1 n=$2 i files count
	for i in $(seq 1 150); do
		files=$(grep -l -x -F "X-E2E-Id: $name" "$PF_MAILDIR"/new/* 2>/dev/null || true)
		count=$(printf '%s' "$files" | grep -c . || true)
		if [ "$count" -ge "$n" ]; then
			[ "$count" -eq "$n" ] || fail "$name: $count copies delivered, expected $n"
			printf '%s\n' "$files"
			return 0
		fi
		sleep 0.1
	done
	grep -F "$(reply "$name" END | sed -n 's/.*queued as \([0-9A-F]*\).*/\1/p' | head -n 1)" \
		"$PF_LOG" >&2 || true
	fail "$name: $count of $n copies delivered after 15 s"
}

# header_lines FILE NAME: the header fields NAME of a message, unfolded, one a line.
header_lines() {
	awk -v want="$2" '
		BEGIN { want = tolower(want) ":" }
		/^\r?$/ { flush(); exit }
		/^[ \t]/ { cur = cur " " substr($0, 2); next }
		{ flush(); cur = $0 }
		function flush() {
			if (cur != "" && tolower(substr(cur, 1, length(want))) == want) print cur
			cur = ""
		}' "$1"
}

# expect_header FILE NAME ERE: exactly one NAME field, matching ERE.
expect_header() {
	local file=$1 name=$2 re=$3 h n
	[ -f "$file" ] || fail "expect_header: no message file \"$file\""
	h=$(header_lines "$file" "$name")
	n=$(printf '%s' "$h" | grep -c . || true)
	if [ "$n" -ne 1 ] || ! printf '%s\n' "$h" | grep -E -- "$re" >/dev/null; then
		echo "---- header of $file:" >&2
		sed -n '1,/^$/p' "$file" >&2
		fail "$(basename "$file"): $n $name field(s); expected exactly one matching /$re/"
	fi
	echo "ok   $(grep -m1 '^X-E2E-Id:' "$file" | cut -d' ' -f2): $h"
}

expect_no_header() {
	[ -f "$1" ] || fail "expect_no_header: no message file \"$1\""
	local file=$1 name=$2 h
	h=$(header_lines "$file" "$name")
	[ -z "$h" ] || fail "$(basename "$file"): unexpected $h"
}
