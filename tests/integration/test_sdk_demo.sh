#!/usr/bin/env bash
# libocelot two-service demo (examples/two-service): a front end calls a
# back end over HTTP with libcurl; the trace context (and baggage) is
# propagated, so ocelot must hold ONE trace with the spans of both
# services: front-end SERVER -> front-end CLIENT -> back-end SERVER, the
# back end having seen the baggage. Logs and metrics of both services are
# accepted (ocelot self-metrics).
. "$(dirname "$0")/lib/lib.sh"
command -v jq >/dev/null || skip "jq is not installed"
BUILD=$(dirname "$OCELOT_BIN")
DEMO="$BUILD/ocelot-demo"
[ -x "$DEMO" ] || fail "$DEMO not built (make build)"

ocl_start
export OTEL_EXPORTER_OTLP_ENDPOINT="http://$OCL_HTTP" OTEL_BSP_SCHEDULE_DELAY=100 OTEL_BLRP_SCHEDULE_DELAY=100
PIDS=()
cleanup_demo() { for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
trap 'cleanup_demo; ocl_cleanup' EXIT

wait_listen() { # log file -> prints host:port
	local i
	for i in $(seq 100); do
		if grep -q '^listening on ' "$1" 2>/dev/null; then
			sed -n 's/^listening on //p' "$1" | head -1
			return 0
		fi
		sleep 0.05
	done
	return 1
}
"$DEMO" backend 127.0.0.1:0 >"$OCL_TMP/be.log" 2>&1 &
PIDS+=($!)
BE=$(wait_listen "$OCL_TMP/be.log") || fail "back end did not start: $(cat "$OCL_TMP/be.log")"
"$DEMO" frontend 127.0.0.1:0 "http://$BE" >"$OCL_TMP/fe.log" 2>&1 &
PIDS+=($!)
FE=$(wait_listen "$OCL_TMP/fe.log") || fail "front end did not start: $(cat "$OCL_TMP/fe.log")"

OUT=$(curl -s --max-time 10 "http://$FE/checkout") || fail "GET /checkout failed"
TID=$(jq -r .trace_id <<<"$OUT")
[ "$(jq -r .price <<<"$OUT")" = 90 ] || fail "price: $OUT (baggage not seen by the back end?)"
# stop both: SIGTERM flushes (bounded by 3 s)
for p in "${PIDS[@]}"; do kill -TERM "$p"; done
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
PIDS=()

J="$OCL_TMP/trace.json"
code=$(curl -s -o "$J" -w '%{http_code}' "http://$OCL_API/api/traces/$TID")
[ "$code" = 200 ] || fail "GET /api/traces/$TID: $code"
q() { jq -r "$1" "$J"; }
spans='[.batches[] | (.resource.attributes | map(select(.key=="service.name"))[0].value.stringValue) as $svc | .scopeSpans[].spans[] | . + {svc: $svc}]'
[ "$(q "$spans | length")" = 3 ] || fail "want 3 spans in the trace: $(head -c 2000 "$J")"
FS=$(q "$spans | map(select(.svc==\"demo-frontend\" and .kind==2))[0].spanId")
FC=$(q "$spans | map(select(.svc==\"demo-frontend\" and .kind==3))[0]")
BS=$(q "$spans | map(select(.svc==\"demo-backend\" and .kind==2))[0]")
[ "$FS" != null ] || fail "no front-end server span: $(head -c 2000 "$J")"
[ "$(jq -r .parentSpanId <<<"$FC")" = "$FS" ] || fail "client span's parent is not the server span"
[ "$(jq -r .parentSpanId <<<"$BS")" = "$(jq -r .spanId <<<"$FC")" ] || fail "back-end span's parent is not the client span"
[ "$(jq -r '.attributes | map(select(.key=="customer.tier"))[0].value.stringValue' <<<"$BS")" = gold ] ||
	fail "baggage did not reach the back end"
metric() { curl -s "http://$OCL_API/metrics" | awk -v s="$1" 'index($0, "ocelot_receiver_accepted_total{signal=\"" s "\",transport=\"http\"}") == 1 {print $2}'; }
n=$(metric logs)
[ "${n%.*}" -ge 2 ] 2>/dev/null || fail "logs accepted: '$n', want >= 2"
n=$(metric metrics)
[ "${n%.*}" -ge 2 ] 2>/dev/null || fail "metric points accepted: '$n', want >= 2"
ocl_stop
echo "test_sdk_demo: ok"
