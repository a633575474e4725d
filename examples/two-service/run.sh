#!/usr/bin/env bash
# Runs the two-service demo against a local ocelot and prints the trace:
#   examples/two-service/run.sh [build dir, default build/release]
# Starts ocelot (temp data dir), the back end and the front end on free
# loopback ports, calls GET /checkout three times, stops everything and
# prints each trace's spans (service, name, parent) from the Tempo API.
set -u
BUILD=${1:-build/release}
TMP=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait; rm -rf "$TMP"' EXIT
listen() { for _ in $(seq 200); do sed -n "s/^$2//p" "$1" | head -1 | grep . && return 0; sleep 0.05; done; return 1; }

"$BUILD/ocelot" serve --data-dir "$TMP/data" --otlp-grpc 127.0.0.1:0 --otlp-http 127.0.0.1:0 \
	--http 127.0.0.1:0 >"$TMP/ocelot.log" 2>&1 &
PIDS+=($!)
OTLP=$(listen "$TMP/ocelot.log" 'ocelot: otlp-http listening on ') || { cat "$TMP/ocelot.log"; exit 1; }
API=$(listen "$TMP/ocelot.log" 'ocelot: http listening on ') || exit 1
export OTEL_EXPORTER_OTLP_ENDPOINT="http://$OTLP" OTEL_BSP_SCHEDULE_DELAY=200
"$BUILD/ocelot-demo" backend 127.0.0.1:0 >"$TMP/be.log" 2>&1 &
PIDS+=($!)
BE=$(listen "$TMP/be.log" 'listening on ') || exit 1
"$BUILD/ocelot-demo" frontend 127.0.0.1:0 "http://$BE" >"$TMP/fe.log" 2>&1 &
FE_PID=$!
PIDS+=($FE_PID)
FE=$(listen "$TMP/fe.log" 'listening on ') || exit 1
IDS=()
for _ in 1 2 3; do
	out=$(curl -s "http://$FE/checkout")
	echo "GET /checkout -> $out"
	IDS+=("$(sed 's/.*"trace_id":"\([0-9a-f]*\)".*/\1/' <<<"$out")")
done
kill -TERM "${PIDS[1]}" "$FE_PID"
sleep 1
for id in "${IDS[@]}"; do
	echo "trace $id (http://$API/api/traces/$id):"
	curl -s "http://$API/api/traces/$id" | jq -r '.batches[] |
		(.resource.attributes | map(select(.key=="service.name"))[0].value.stringValue) as $s |
		.scopeSpans[].spans[] | "  \($s)\t\(.name)\tspan \(.spanId) parent \(.parentSpanId // "-")"'
done
