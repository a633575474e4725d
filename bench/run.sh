#!/usr/bin/env bash
# run.sh — all benchmarks (what `make bench` runs): the ingest benchmark
# (bench/ingest.sh), the Prometheus remote-write comparison with Debian's
# Prometheus (bench/metrics.sh) and every bench_* binary that exists in
# $BUILD (bench_decode, bench_store, ...). Prints the figures; asserts nothing.
# Each binary is bounded by BENCH_TIMEOUT seconds (default 600).
#
# Environment: OCELOT_BIN, BUILD (default build/release), BENCH_TIMEOUT,
# plus what bench/ingest.sh and bench/metrics.sh read.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:-build/release}
OCELOT_BIN=${OCELOT_BIN:-$BUILD/ocelot}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-600}
export OCELOT_BIN BUILD

echo "== ocelot benchmarks: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) CPUs, $(uname -sr)"
echo "   $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //')"
echo "   $("$OCELOT_BIN" version 2>/dev/null || echo "ocelot binary: $OCELOT_BIN")"
status=0

timeout "$((BENCH_TIMEOUT * 2))" "$HERE/ingest.sh" || status=1
echo
timeout "$((BENCH_TIMEOUT * 2))" "$HERE/metrics.sh" || status=1

found=0
for b in "$BUILD"/bench_*; do
	if [ ! -f "$b" ] || [ ! -x "$b" ]; then continue; fi
	found=1
	echo
	echo "== $(basename "$b")"
	timeout "$BENCH_TIMEOUT" "$b" || { echo "$(basename "$b"): exit status $?"; status=1; }
done
[ $found -eq 1 ] || echo "(no bench_* binaries in $BUILD)"
exit $status
