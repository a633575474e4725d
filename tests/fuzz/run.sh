#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD_DIR for SECONDS each, starting from
# a copy of its seed corpus tests/fuzz/corpus/<name without fuzz_>/ (the
# repository's seeds are never modified), with tests/fuzz/<name>.dict as
# its dictionary when there is one. A crash, leak or timeout fails.
# Usage: tests/fuzz/run.sh BUILD_DIR SECONDS
set -uo pipefail
build=${1:?build dir}
secs=${2:-10}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/ocelot-fuzz-XXXXXX")
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
shopt -s nullglob
targets=("$build"/fuzz_*)
if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz: no targets in $build" >&2
	exit 1
fi
for bin in "${targets[@]}"; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin")
	seeds="$here/corpus/${name#fuzz_}"
	mkdir -p "$work/$name"
	[ -d "$seeds" ] && cp -r "$seeds/." "$work/$name/"
	log="$work/$name.log"
	dict=()
	[ -f "$here/${name#fuzz_}.dict" ] && dict=(-dict="$here/${name#fuzz_}.dict")
	if "$bin" "${dict[@]}" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$work/$name-" "$work/$name" >"$log" 2>&1; then
		runs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
		echo "PASS $name (${runs:-?} runs in ${secs}s)"
		pass=$((pass + 1))
	else
		echo "FAIL $name"
		tail -n 40 "$log"
		for a in "$work/$name"-*; do
			echo "artifact: $a ($(wc -c <"$a") bytes): $(head -c 200 "$a" | od -An -tx1 | head -3)"
		done
		fail=$((fail + 1))
	fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
