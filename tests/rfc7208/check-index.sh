#!/bin/sh
# check-index.sh SPF-SUITE FILE.yml tests-index.tsv
#
# The rows spf-suite --list prints for FILE.yml must be exactly the index's rows for
# that file (and its header): the YAML loader sees every test, field for field.
set -eu
bin=$1 yml=$2 tsv=$3
base=$(basename "$yml")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{ head -n 1 "$tsv"; awk -F '\t' -v f="$base" 'NR > 1 && $1 == f' "$tsv"; } > "$tmp/want"
"$bin" --list "$yml" > "$tmp/got"
if ! diff -u "$tmp/want" "$tmp/got"; then
	echo "check-index: $base: the loader disagrees with $tsv" >&2
	exit 1
fi
echo "check-index: $base: $(($(wc -l < "$tmp/got") - 1)) rows match"
