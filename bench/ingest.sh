#!/usr/bin/env bash
# ingest.sh — OTLP trace ingest benchmark of one ocelot server worker.
#
# For each protocol (http/protobuf, grpc): starts `ocelot serve --workers 1`
# pinned to CPU 0 with an empty data dir, drives it with `ocelot gen`
# (pre-encoded 512-span requests, 8 in flight) pinned to CPU 1, and reports
# acknowledged spans/s, server CPU seconds (utime+stime from /proc/PID/stat)
# -> spans per CPU-second and CPU ns per span, and peak RSS (VmHWM).
# Also: idle RSS 2 s after start, binary size, and start-to-ready time
# (exec to the "ocelot: ready" line, median of 5 starts on an empty dir).
#
# Environment: OCELOT_BIN (default build/release/ocelot), BENCH_DURATION
# (seconds of load per protocol, default 15), BENCH_PROTOCOLS (default
# "http/protobuf grpc"). Everything listens on 127.0.0.1 with port 0; every
# wait is bounded. Figures are printed, never asserted.
set -u

OCELOT_BIN=${OCELOT_BIN:-build/release/ocelot}
DURATION=${BENCH_DURATION:-15}
PROTOCOLS=${BENCH_PROTOCOLS:-"http/protobuf grpc"}
READY_TIMEOUT_S=20

if [ ! -x "$OCELOT_BIN" ]; then
	echo "ingest.sh: $OCELOT_BIN is not an executable (set OCELOT_BIN)" >&2
	exit 2
fi
OCELOT_BIN=$(cd "$(dirname "$OCELOT_BIN")" && pwd)/$(basename "$OCELOT_BIN")

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ocelot-bench.XXXXXX")
SRV_PID=""
DRAIN_PID=""
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
	stop_server
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# CPU pinning when there are at least 2 CPUs and taskset exists.
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

now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }

# start_server DATADIR NAME — starts the server, waits for "ocelot: ready",
# sets SRV_PID, GRPC_PORT, HTTP_PORT, API_PORT and READY_MS. Returns 1 on
# failure (log printed).
start_server() {
	local dir=$1 name=$2
	local fifo="$TMP/$name.fifo" log="$TMP/$name.log" line t0 t1
	rm -f "$fifo"
	mkfifo "$fifo"
	GRPC_PORT="" HTTP_PORT="" API_PORT="" READY_MS=""
	export API_PORT # the Tempo/Prometheus API port, for whoever wants it
	t0=$(now_us)
	"${PIN_SRV[@]}" "$OCELOT_BIN" serve --workers 1 --data-dir "$dir" \
		--otlp-grpc 127.0.0.1:0 --otlp-http 127.0.0.1:0 --http 127.0.0.1:0 \
		>"$fifo" 2>"$log.err" &
	SRV_PID=$!
	exec 3<"$fifo"
	local deadline=$((SECONDS + READY_TIMEOUT_S))
	while [ $SECONDS -lt $deadline ]; do
		if ! IFS= read -r -t "$READY_TIMEOUT_S" -u 3 line; then break; fi
		echo "$line" >>"$log"
		case "$line" in
		"ocelot: otlp-grpc listening on "*) GRPC_PORT=${line##*:} ;;
		"ocelot: otlp-http listening on "*) HTTP_PORT=${line##*:} ;;
		"ocelot: http listening on "*) API_PORT=${line##*:} ;;
		"ocelot: ready")
			t1=$(now_us)
			READY_MS=$(((t1 - t0) / 1000)).$(printf '%03d' $(((t1 - t0) % 1000)))
			break
			;;
		esac
	done
	# Keep draining stdout so that the server never blocks on a full pipe.
	cat <&3 >>"$log" &
	DRAIN_PID=$!
	exec 3<&-
	if [ -z "$READY_MS" ] || [ -z "$GRPC_PORT" ] || [ -z "$HTTP_PORT" ]; then
		echo "ingest.sh: server did not become ready; its output:" >&2
		cat "$log" "$log.err" >&2
		stop_server
		return 1
	fi
	return 0
}

stop_server() {
	[ -n "$SRV_PID" ] || return 0
	kill -TERM "$SRV_PID" 2>/dev/null
	local i
	for i in $(seq 1 100); do
		kill -0 "$SRV_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$SRV_PID" 2>/dev/null
	wait "$SRV_PID" 2>/dev/null
	SRV_PID=""
	if [ -n "$DRAIN_PID" ]; then
		kill "$DRAIN_PID" 2>/dev/null
		wait "$DRAIN_PID" 2>/dev/null
		DRAIN_PID=""
	fi
}

# CPU seconds (utime + stime) of a process, in clock ticks.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

median() { sort -n | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

echo "== ingest benchmark ($(basename "$OCELOT_BIN"), $PINNING, $(nproc) CPUs)"
echo "binary size: $(stat -c %s "$OCELOT_BIN") bytes"

# Start-to-ready, 5 starts on empty data dirs.
readies=()
for i in 1 2 3 4 5; do
	rm -rf "$TMP/ready$i"
	if start_server "$TMP/ready$i" "ready$i"; then
		readies+=("$READY_MS")
		if [ "$i" -eq 1 ]; then
			sleep 2
			echo "idle RSS 2 s after ready: $(status_kb "$SRV_PID" VmRSS) kB"
		fi
		stop_server
	fi
	rm -rf "$TMP/ready$i"
done
if [ ${#readies[@]} -gt 0 ]; then
	echo "start-to-ready: median $(printf '%s\n' "${readies[@]}" | median) ms of ${#readies[@]} starts (${readies[*]})"
fi

status=0
for proto in $PROTOCOLS; do
	name=${proto//\//-}
	rm -rf "$TMP/data-$name"
	if ! start_server "$TMP/data-$name" "$name"; then
		status=1
		continue
	fi
	if [ "$proto" = grpc ]; then ep="http://127.0.0.1:$GRPC_PORT"; else ep="http://127.0.0.1:$HTTP_PORT"; fi
	c0=$(cpu_ticks "$SRV_PID")
	"${PIN_GEN[@]}" "$OCELOT_BIN" gen --endpoint "$ep" --protocol "$proto" --pregen 64 \
		--batch 512 --concurrency 8 --duration "$DURATION" >"$TMP/gen-$name.out" 2>&1
	c1=$(cpu_ticks "$SRV_PID")
	hwm=$(status_kb "$SRV_PID" VmHWM)
	rss=$(status_kb "$SRV_PID" VmRSS)
	stop_server
	res=$(grep '^result:' "$TMP/gen-$name.out")
	if [ -z "$res" ]; then
		echo "$proto: gen printed no result:" >&2
		cat "$TMP/gen-$name.out" >&2
		status=1
		continue
	fi
	field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $res"; }
	spans=$(field spans)
	echo "-- $proto ($(grep '^requests:' "$TMP/gen-$name.out"))"
	awk -v spans="$spans" -v sps="$(field spans_per_s)" -v ticks=$((c1 - c0)) -v hz="$CLK_TCK" \
		-v hwm="$hwm" -v rss="$rss" -v p50="$(field p50_ms)" -v p99="$(field p99_ms)" \
		-v proto="$proto" 'BEGIN {
		cpu = ticks / hz
		printf "%s: %.0f spans/s acknowledged; server CPU %.2f s", proto, sps, cpu
		if (cpu > 0 && spans > 0)
			printf " -> %.0f spans per CPU-second (per core), %.0f ns CPU per span", spans / cpu, cpu * 1e9 / spans
		printf "\n%s: peak RSS (VmHWM) %d kB, RSS at end %d kB; request latency p50 %s ms, p99 %s ms\n", proto, hwm, rss, p50, p99
	}'
	rm -rf "$TMP/data-$name"
done
exit $status
