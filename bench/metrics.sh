#!/usr/bin/env bash
# metrics.sh — Prometheus remote-write benchmark: ocelot against Debian's
# Prometheus on the same machine, fed the same `ocelot gen --signals prom-rw`
# workload (node-exporter-like hosts, 120 series each, 15 s scrapes replayed
# fast with recent timestamps). Each server runs pinned to CPU 0 (taskset),
# the generator to CPU 1. Prints figures, asserts nothing.
#
# Per server, two phases, each on a fresh data dir:
#  A. ingest + memory: $BENCH_SERIES series (100k) x $BENCH_STEPS steps,
#     batches of 2,000 samples, 4 requests in flight.
#       ingest = acknowledged samples / server CPU seconds during the load
#                (utime + stime of the server process from /proc/PID/stat);
#       RSS/series = (VmRSS after the load - VmRSS idle 2 s after ready) / series.
#  B. storage + queries: $BENCH_DISK_SERIES series (6,000) x 3.5 h of
#     scrapes (840 steps), so that the head spans more than 1.5 block ranges
#     and both servers cut their first 2 h block on their own (Prometheus:
#     head compaction; ocelot: ocl_tsdb_maintain). Then:
#       bytes/sample = bytes of the block directories (every file in them:
#                      Prometheus chunks/ + index + meta.json + tombstones,
#                      ocelot chunks + index + meta) / samples in the blocks
#                      (as each block's meta records them: Prometheus
#                      meta.json stats.numSamples, ocelot meta's sample
#                      count). The WAL and head are not counted; total
#                      data-dir bytes are printed beside it.
#       query latency = /api/v1/query_range over the last 3 h at a 60 s step
#                      (block + head data) for a dashboard query set, curl's
#                      time_total, median of $BENCH_QUERY_RUNS runs after one
#                      warm-up run; every answer must be "success". Beside
#                      it the server's CPU time per run (sum over its threads
#                      of /proc/PID/task/*/schedstat), steadier than wall
#                      time on a shared machine.
#
# Environment: OCELOT_BIN (build/release/ocelot), PROMETHEUS_BIN
# (prometheus), BENCH_TARGETS ("prometheus ocelot"), BENCH_SERIES (100000),
# BENCH_STEPS (40), BENCH_DISK_SERIES (6000), BENCH_QUERY_RUNS (7),
# BENCH_COMPACT_TIMEOUT (120 s to wait for the first block),
# BENCH_METRICS_KEEP=1 keeps the data dirs. Everything listens on 127.0.0.1;
# every wait is bounded (gen 300 s, first block 120 s, queries 180 s per
# server, 30 s each); total run time is about 4-6 min.
set -u

OCELOT_BIN=${OCELOT_BIN:-build/release/ocelot}
PROMETHEUS_BIN=${PROMETHEUS_BIN:-prometheus}
TARGETS=${BENCH_TARGETS:-"prometheus ocelot"}
SERIES=${BENCH_SERIES:-100000}
STEPS=${BENCH_STEPS:-40}
DISK_SERIES=${BENCH_DISK_SERIES:-6000}
DISK_STEPS=840 # 3.5 h of 15 s scrapes
QUERY_RUNS=${BENCH_QUERY_RUNS:-7}
COMPACT_TIMEOUT=${BENCH_COMPACT_TIMEOUT:-120}
QUERY_BUDGET=180 # seconds of queries per server at most
GEN_TIMEOUT=300

if [ ! -x "$OCELOT_BIN" ]; then
	echo "metrics.sh: $OCELOT_BIN is not an executable (set OCELOT_BIN)" >&2
	exit 2
fi
OCELOT_BIN=$(cd "$(dirname "$OCELOT_BIN")" && pwd)/$(basename "$OCELOT_BIN")

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ocelot-bench-metrics.XXXXXX")
SRV_PID=""
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
	stop_server
	if [ -n "${BENCH_METRICS_KEEP:-}" ]; then echo "kept: $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PIN_SRV=()
PIN_GEN=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
	PIN_SRV=(taskset -c 0)
	PIN_GEN=(taskset -c 1)
	PINNING="server on CPU 0, gen on CPU 1"
else
	PINNING="no pinning (taskset missing or < 2 CPUs)"
fi
CLK_TCK=$(getconf CLK_TCK)

# CPU time of all threads of a process in ns (/proc/PID/task/*/schedstat,
# first field: time on CPU); finer than the clock ticks of /proc/PID/stat.
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f", s}'; }
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
median() { sort -g | awk '{v[NR] = $1} END {if (!NR) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# jget FILE EXPR — a value from a JSON file (node is a project dependency).
jget() { node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); const v = eval(process.argv[2]); console.log(v === undefined ? "" : v)' "$1" "$2"; }
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# start_server KIND DATADIR — sets SRV_PID and BASE (http://127.0.0.1:port).
start_server() {
	local kind=$1 dir=$2 log="$TMP/$1.$(basename "$2").log" deadline line
	mkdir -p "$dir"
	BASE=""
	if [ "$kind" = prometheus ]; then
		local port
		port=$(free_port) || return 1
		printf 'global:\n  scrape_interval: 15s\n' >"$TMP/prometheus.yml"
		"${PIN_SRV[@]}" "$PROMETHEUS_BIN" --web.enable-remote-write-receiver \
			--storage.tsdb.path="$dir" --web.listen-address="127.0.0.1:$port" \
			--config.file="$TMP/prometheus.yml" >"$log" 2>&1 &
		SRV_PID=$!
		BASE="http://127.0.0.1:$port"
		deadline=$((SECONDS + 30))
		until curl -sf -o /dev/null "$BASE/-/ready"; do
			if [ $SECONDS -ge $deadline ] || ! kill -0 "$SRV_PID" 2>/dev/null; then
				echo "metrics.sh: prometheus did not become ready:" >&2
				tail -20 "$log" >&2
				stop_server
				return 1
			fi
			sleep 0.1
		done
	else
		: >"$log" # truncated here: a restart must not see the last run's "ready"
		"${PIN_SRV[@]}" "$OCELOT_BIN" serve --workers 1 --data-dir "$dir" \
			--otlp-grpc 127.0.0.1:0 --otlp-http 127.0.0.1:0 --http 127.0.0.1:0 >"$log" 2>&1 &
		SRV_PID=$!
		deadline=$((SECONDS + 30))
		until grep -qx 'ocelot: ready' "$log" 2>/dev/null; do
			if [ $SECONDS -ge $deadline ] || ! kill -0 "$SRV_PID" 2>/dev/null; then
				echo "metrics.sh: ocelot did not become ready:" >&2
				tail -20 "$log" >&2
				stop_server
				return 1
			fi
			sleep 0.05
		done
		line=$(grep -m1 '^ocelot: http listening on ' "$log")
		BASE="http://${line#ocelot: http listening on }"
	fi
	return 0
}

stop_server() {
	[ -n "$SRV_PID" ] || return 0
	kill -TERM "$SRV_PID" 2>/dev/null
	local i
	for i in $(seq 1 150); do
		kill -0 "$SRV_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$SRV_PID" 2>/dev/null
	wait "$SRV_PID" 2>/dev/null
	SRV_PID=""
}

# gen OUT ARGS… — runs the generator pinned, bounded; prints its result line.
gen() {
	local out=$1
	shift
	timeout "$GEN_TIMEOUT" "${PIN_GEN[@]}" "$OCELOT_BIN" gen --signals prom-rw --endpoint "$BASE" \
		--concurrency 4 --batch 2000 "$@" >"$out" 2>&1
	local rc=$?
	if ! grep -q '^result:' "$out"; then
		echo "gen printed no result (exit $rc):" >&2
		tail -5 "$out" >&2
		return 1
	fi
	[ $rc -eq 0 ] || echo "note: gen exit status $rc ($(grep -m1 '^first failure' "$out"))" >&2
	return 0
}
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $(grep '^result:' "$1")"; }

# Block directories of a data dir: directories with an `index` file and a
# `chunks` entry, not being written (".tmp") and not snapshots.
block_dirs() {
	find "$1" -name index -type f 2>/dev/null | while read -r f; do
		d=$(dirname "$f")
		case "$d" in *.tmp | *.tmp-for-* | */snapshots/*) continue ;; esac
		[ -e "$d/chunks" ] && echo "$d"
	done
}

QUERIES=(
	'sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))'
	'sum by (mode) (rate(node_cpu_seconds_total[5m]))'
	'1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes'
	'histogram_quantile(0.99, sum by (le, handler) (rate(http_request_duration_seconds_bucket[5m])))'
	'sum(rate(http_request_duration_seconds_count{code=~"5.."}[5m])) / sum(rate(http_request_duration_seconds_count[5m]))'
	'topk(5, rate(node_network_receive_bytes_total[5m]))'
	'max_over_time(rate(node_disk_io_time_seconds_total[1m])[10m:1m])'
	'avg by (instance) (node_load1)'
)

declare -A R # results: R[kind,metric]

run_target() {
	local kind=$1 dir out c0 c1 idle rss samples cpu
	echo "-- $kind"
	# Phase A: ingest and memory.
	dir="$TMP/$kind-a"
	start_server "$kind" "$dir" || return 1
	sleep 2
	idle=$(status_kb "$SRV_PID" VmRSS)
	c0=$(cpu_ticks "$SRV_PID")
	out="$TMP/$kind-a.gen"
	gen "$out" --series "$SERIES" --steps "$STEPS" || { stop_server; return 1; }
	c1=$(cpu_ticks "$SRV_PID")
	sleep 1
	rss=$(status_kb "$SRV_PID" VmRSS)
	stop_server
	samples=$(field "$out" samples)
	cpu=$(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", t / hz}')
	R[$kind,samples]=$samples
	R[$kind,cpu]=$cpu
	R[$kind,wall]=$(field "$out" samples_per_s)
	R[$kind,ingest]=$(awk -v s="$samples" -v c="$cpu" 'BEGIN {printf "%.0f", (c > 0 ? s / c : 0)}')
	R[$kind,idle]=$idle
	R[$kind,rss]=$rss
	R[$kind,rss_series]=$(awk -v a="$rss" -v b="$idle" -v n="$SERIES" 'BEGIN {printf "%.0f", (a - b) * 1024 / n}')
	echo "$kind: A: $(grep '^requests:' "$out"); $samples samples, server CPU $cpu s -> ${R[$kind,ingest]} samples per CPU-second; wall ${R[$kind,wall]} samples/s; RSS idle $idle kB, after load $rss kB"
	[ -n "${BENCH_METRICS_KEEP:-}" ] || rm -rf "$dir"

	# Phase B: a cut block, bytes per sample, queries.
	dir="$TMP/$kind-b"
	start_server "$kind" "$dir" || return 1
	out="$TMP/$kind-b.gen"
	gen "$out" --series "$DISK_SERIES" --steps "$DISK_STEPS" || { stop_server; return 1; }
	local deadline=$((SECONDS + COMPACT_TIMEOUT)) blocks=""
	while [ $SECONDS -lt $deadline ]; do
		blocks=$(block_dirs "$dir")
		[ -n "$blocks" ] && break
		sleep 1
	done
	sleep 2 # let a block being renamed settle
	blocks=$(block_dirs "$dir")
	local bbytes=0 bsamples=0 d bmax=0 bmin=0
	if [ -z "$blocks" ]; then
		echo "$kind: B: no block was cut within ${COMPACT_TIMEOUT} s" >&2
	else
		for d in $blocks; do
			bbytes=$((bbytes + $(du -sb "$d" | cut -f1)))
			if [ -f "$d/meta.json" ]; then
				bsamples=$((bsamples + $(jget "$d/meta.json" j.stats.numSamples)))
				bmin=$(jget "$d/meta.json" j.minTime)
				bmax=$(jget "$d/meta.json" j.maxTime)
			fi
			if [ -f "$d/meta" ] && [ "$(head -c 4 "$d/meta")" = OCLM ]; then
				# ocelot's binary meta (docs/FORMATS.md): little-endian u64
				# mint at 24, maxt at 32, samples at 64
				bsamples=$((bsamples + $(od -An -t u8 -j 64 -N 8 "$d/meta" | tr -d ' ')))
				bmin=$(od -An -t d8 -j 24 -N 8 "$d/meta" | tr -d ' ')
				bmax=$(od -An -t d8 -j 32 -N 8 "$d/meta" | tr -d ' ')
			fi
		done
	fi
	local total
	total=$(du -sb "$dir" | cut -f1)
	R[$kind,blocks]=$(echo "$blocks" | grep -c .)
	R[$kind,bbytes]=$bbytes
	R[$kind,bsamples]=$bsamples
	R[$kind,bps]=$(awk -v b="$bbytes" -v s="$bsamples" 'BEGIN {printf "%.3f", (s > 0 ? b / s : 0)}')
	R[$kind,total]=$total
	R[$kind,all_samples]=$(field "$out" samples)
	[ "${R[$kind,blocks]}" -gt 1 ] && echo "$kind: WARNING: ${R[$kind,blocks]} blocks instead of 1: the head was persisted early; bytes/sample of this run is not comparable" >&2
	echo "$kind: B: $(grep '^requests:' "$out"); ${R[$kind,blocks]} block(s) [$bmin, $bmax): $bbytes bytes, $bsamples samples -> ${R[$kind,bps]} bytes/sample; data dir $total bytes for ${R[$kind,all_samples]} samples (WAL + head + blocks)"

	# Queries over the last 3 h (block + head), step 60 s.
	local end start q i t ok runs med total_ms=0 total_cpu=0 qi=0 n0 n1 cpu_ms
	end=$(date +%s)
	start=$((end - 3 * 3600))
	local q_deadline=$((SECONDS + QUERY_BUDGET))
	for q in "${QUERIES[@]}"; do
		qi=$((qi + 1))
		if [ $SECONDS -ge $q_deadline ]; then
			echo "$kind: query budget of ${QUERY_BUDGET} s spent; q$qi and later not run" >&2
			R[$kind,q$qi]=skipped
			continue
		fi
		runs=()
		ok=1
		for i in $(seq 0 "$QUERY_RUNS"); do
			t=$(curl -s -o "$TMP/q.json" -w '%{time_total}' --max-time 30 "$BASE/api/v1/query_range" \
				--data-urlencode "query=$q" --data-urlencode "start=$start" \
				--data-urlencode "end=$end" --data-urlencode "step=60")
			if ! grep -q '^{"status":"success"' "$TMP/q.json"; then
				ok=0
				echo "$kind: query $qi failed: $(head -c 300 "$TMP/q.json")" >&2
				break
			fi
			[ "$i" -gt 0 ] && runs+=("$t")
			[ "$i" -eq 0 ] && n0=$(cpu_ns "$SRV_PID") # after the warm-up
		done
		n1=$(cpu_ns "$SRV_PID")
		if [ $ok -eq 1 ]; then
			med=$(printf '%s\n' "${runs[@]}" | median | awk '{printf "%.2f", $1 * 1000}')
			R[$kind,q$qi]=$med
			R[$kind,q${qi}_n]=$(jget "$TMP/q.json" j.data.result.length)
			cpu_ms=$(awk -v a="$n0" -v b="$n1" -v r="$QUERY_RUNS" 'BEGIN {printf "%.2f", (b - a) / r / 1e6}')
			R[$kind,c$qi]=$cpu_ms
			total_ms=$(awk -v a="$total_ms" -v b="$med" 'BEGIN {print a + b}')
			total_cpu=$(awk -v a="$total_cpu" -v b="$cpu_ms" 'BEGIN {print a + b}')
			echo "$kind: q$qi: ${R[$kind,q${qi}_n]} series, median $med ms, server CPU $cpu_ms ms per run"
		else
			R[$kind,q$qi]=fail
		fi
	done
	R[$kind,qtotal]=$total_ms
	R[$kind,ctotal]=$total_cpu
	stop_server
	[ -n "${BENCH_METRICS_KEEP:-}" ] || rm -rf "$dir"
}

echo "== metrics benchmark: remote-write ingest, storage, memory, queries ($PINNING, $(nproc) CPUs)"
echo "workload: ocelot gen --signals prom-rw; A: $SERIES series x $STEPS steps; B: $DISK_SERIES series x $DISK_STEPS steps (3.5 h at 15 s)"
status=0
ran=()
for kind in $TARGETS; do
	if [ "$kind" = prometheus ] && ! command -v "$PROMETHEUS_BIN" >/dev/null 2>&1; then
		echo "prometheus: SKIPPED ($PROMETHEUS_BIN not found; apt-get install prometheus)"
		continue
	fi
	[ "$kind" = prometheus ] && echo "prometheus: $("$PROMETHEUS_BIN" --version 2>&1 | head -1)"
	if run_target "$kind"; then ran+=("$kind"); else status=1; fi
done
[ ${#ran[@]} -gt 0 ] || exit $status

echo
v() { echo "${R[$1,$2]:-n/a}"; }
ratio() { awk -v a="${R[$1,$3]:-0}" -v b="${R[$2,$3]:-0}" 'BEGIN {if (a > 0 && b > 0) printf "%.2f", a / b; else print "n/a"}'; }
printf '| %-46s |' "figure"
for k in "${ran[@]}"; do printf ' %-14s |' "$k"; done
[ ${#ran[@]} -eq 2 ] && printf ' %-18s |' "${ran[1]} / ${ran[0]}"
echo
row() { # row LABEL KEY
	printf '| %-46s |' "$1"
	for k in "${ran[@]}"; do printf ' %-14s |' "$(v "$k" "$2")"; done
	[ ${#ran[@]} -eq 2 ] && printf ' %-18s |' "$(ratio "${ran[1]}" "${ran[0]}" "$2")"
	echo
}
row "ingest: samples per server CPU-second" ingest
row "ingest: wall samples/s (1 core)" wall
row "idle RSS (kB)" idle
row "RSS after phase A (kB)" rss
row "RSS per active series (bytes)" rss_series
row "bytes per sample in blocks" bps
row "samples in blocks" bsamples
row "data dir bytes after phase B" total
qi=0
for q in "${QUERIES[@]}"; do
	qi=$((qi + 1))
	row "q$qi ms: ${q:0:40}" "q$qi"
	row "q$qi server CPU ms" "c$qi"
done
row "dashboard total (sum of medians, ms)" qtotal
row "dashboard total server CPU (ms)" ctotal
echo "queries: /api/v1/query_range, last 3 h, step 60 s; ms = median of $QUERY_RUNS runs after 1 warm-up"
echo "(curl time_total); server CPU = CPU time of all server threads over those runs / $QUERY_RUNS"
exit $status
