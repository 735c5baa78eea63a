# zones.sh - writes the test zones of resolver.sh into directory $1.
#   example.test  results, MX, include, CNAME, NXDOMAIN/NODATA, a CNAME loop, a TXT
#                 record too large for UDP, and 50 domains for the concurrency test
#   slow.test     a chain of ten includes (the relay answers them late)

write_zones() {
	local d=$1 i
	{
		cat <<'Z'
$ORIGIN example.test.
$TTL 300
@		SOA	ns hostmaster 1 3600 600 86400 300
@		NS	ns
ns		A	127.0.0.1
pass		TXT	"v=spf1 ip4:192.0.2.0/24 -all"
mx		TXT	"v=spf1 mx -all"
mx		MX	10 mail1.mx
mx		MX	20 mail2.mx
mail1.mx	A	192.0.2.21
mail1.mx	AAAA	2001:db8::21
mail2.mx	A	192.0.2.22
mail2.mx	AAAA	2001:db8::22
inc		TXT	"v=spf1 include:pass.example.test include:mx.example.test ~all"
alias		CNAME	pass
norecord	A	192.0.2.1
loop1		CNAME	loop2
loop2		CNAME	loop1
common.many	TXT	"v=spf1 ip4:198.51.100.0/24 -all"
Z
		for i in $(seq 0 49); do
			printf 'd%d.many\tTXT\t"v=spf1 a:h%d.many.example.test include:common.many.example.test -all"\n' "$i" "$i"
			printf 'h%d.many\tA\t192.0.2.%d\n' "$i" $((i + 1))
		done
		# big: ~1.9 kB of TXT in 255-byte strings; the only match is at the end.
		printf 'big\tTXT\t"v=spf1"'
		local s="" n=0
		for i in $(seq 1 140); do
			local tok=" ip4:10.$((i / 200)).$((i % 200)).1"
			if [ $((${#s} + ${#tok})) -gt 250 ]; then
				printf ' "%s"' "$s"
				s=""
			fi
			s="$s$tok"
			n=$((n + 1))
		done
		printf ' "%s" " ip4:192.0.2.99 -all"\n' "$s"
	} >"$d/example.test.zone"
	{
		cat <<'Z'
$ORIGIN slow.test.
$TTL 300
@		SOA	ns.example.test. hostmaster.example.test. 1 3600 600 86400 300
@		NS	ns.example.test.
one		TXT	"v=spf1 ip4:192.0.2.0/24 -all"
two		TXT	"v=spf1 ip4:192.0.2.0/24 -all"
c10		TXT	"v=spf1 ip4:192.0.2.0/24 -all"
Z
		for i in $(seq 1 9); do
			printf 'c%d\tTXT\t"v=spf1 include:c%d.slow.test -all"\n' "$i" $((i + 1))
		done
	} >"$d/slow.test.zone"
}
