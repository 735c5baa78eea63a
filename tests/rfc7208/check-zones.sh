#!/bin/sh
# check-zones.sh SPF-SUITE FILE.yml OUTDIR [NSD-CHECKZONE]
#
# Emits one master file per scenario (spf-suite checks that each loads back through
# spf_zone_load_file() with the same answers), then has nsd-checkzone read each as the
# root zone, as the integration test serving them with nsd will.
set -eu
bin=$1 yml=$2 out=$3 checkzone=${4:-}
rm -rf "$out"
"$bin" --emit-zones "$out" "$yml"
n=0
for f in "$out"/scenario-*.zone; do
	n=$((n + 1))
	[ -z "$checkzone" ] && continue
	if ! "$checkzone" . "$f" > "$out/checkzone.log" 2>&1; then
		cat "$out/checkzone.log" >&2
		echo "check-zones: nsd-checkzone rejects $f" >&2
		exit 1
	fi
done
[ "$n" -gt 0 ] || { echo "check-zones: no zones written" >&2; exit 1; }
if [ -z "$checkzone" ]; then
	echo "check-zones: $n zones load back; nsd-checkzone not installed, not run"
else
	echo "check-zones: $n zones load back and pass nsd-checkzone"
fi
