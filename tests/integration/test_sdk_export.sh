#!/usr/bin/env bash
# libocelot end to end: the SDK is installed (cmake --install into a temp
# prefix), a program is compiled against it with `pkg-config ocelot`
# (shared library), exports a trace and a log record over OTLP/HTTP to a
# running ocelot, and the trace read back from the Tempo API
# (GET /api/traces/<id>) must equal what the program recorded, field by
# field, once plain and once gzip-compressed. Log and metric acceptance is checked through ocelot's
# self-metrics (ocelot_receiver_accepted_total{signal=...}). The same program's
# request bytes are decoded independently by `protoc --decode_raw`.
. "$(dirname "$0")/lib/lib.sh"
command -v jq >/dev/null || skip "jq is not installed"
command -v protoc >/dev/null || skip "protoc (protobuf-compiler) is not installed"
REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(dirname "$OCELOT_BIN")
[ -f "$BUILD/CMakeCache.txt" ] || skip "no CMake build next to OCELOT_BIN"

PREFIX="$OCL_TMP/prefix"
cmake --build "$BUILD" --target ocelot_sdk ocelot_sdk_shared >/dev/null || fail "building the SDK"
cmake --install "$BUILD" --prefix "$PREFIX" >/dev/null || fail "cmake --install"
[ -f "$PREFIX/include/ocelot/ocelot.h" ] || fail "headers not installed"
PC=$(find "$PREFIX" -name ocelot.pc | head -1)
[ -n "$PC" ] || fail "ocelot.pc not installed"
export PKG_CONFIG_PATH=$(dirname "$PC")
LIBDIR=$(pkg-config --variable=libdir ocelot)
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror -o "$OCL_TMP/prog" "$REPO/tests/integration/sdk/sdk_export_prog.c" \
	$(pkg-config --cflags --libs ocelot) || fail "compiling against the installed SDK"

# 1. exporter bytes, decoded by protoc
LD_LIBRARY_PATH=$LIBDIR "$OCL_TMP/prog" --dump "$OCL_TMP/body" >/dev/null || fail "dump run"
TB=$(ls "$OCL_TMP"/body.traces.* | head -1)
protoc --decode_raw <"$TB" >"$OCL_TMP/raw" || fail "protoc cannot decode the trace request"
for want in '5: "GET /checkout"' '5: "POST /payments"' '1: "sdk.export.test"' '2: "0.0.1"' \
	'1: "service.name"' '1: "sdk-export-test"' '1: "http.response.status_code"' '3: 503' \
	'2: "backend unavailable"' '1: "cart.items"' '1: 0x17979cfe362a03e8' '7: 0x17979cfe362a0000' '8: 0x17979cfe36394240' '6: 2' '6: 3' '4: 0x3fe8000000000000' '16: 0x00000101'; do
	grep -qF -- "$want" "$OCL_TMP/raw" || fail "protoc --decode_raw output lacks '$want'"
done
LB=$(ls "$OCL_TMP"/body.logs.* | head -1)
protoc --decode_raw <"$LB" >"$OCL_TMP/lraw" || fail "protoc cannot decode the logs request"
grep -qF '1: "payment backend returned 503"' "$OCL_TMP/lraw" || fail "log body missing: $(cat "$OCL_TMP/lraw")"
grep -qF '2: 17' "$OCL_TMP/lraw" || fail "log severity missing"
MB=$(ls "$OCL_TMP"/body.metrics.* | tail -1)
protoc --decode_raw <"$MB" >"$OCL_TMP/mraw" || fail "protoc cannot decode the metrics request"
for want in '1: "checkout.requests"' '1: "checkout.duration"' '3: "ms"' '1: "otel.sdk.span.dropped"'; do
	grep -qF -- "$want" "$OCL_TMP/mraw" || fail "metrics request lacks '$want'"
done

# 2. export to a running ocelot and read back
ocl_start
OUT=$(OTEL_EXPORTER_OTLP_ENDPOINT="http://$OCL_HTTP" LD_LIBRARY_PATH=$LIBDIR timeout 30 "$OCL_TMP/prog") ||
	fail "program failed: $OUT"
TID=$(jq -r .trace_id <<<"$OUT")
RID=$(jq -r .root_span_id <<<"$OUT")
CID=$(jq -r .child_span_id <<<"$OUT")
[ "$(jq -r .spans_exported <<<"$OUT")" = 2 ] || fail "spans_exported: $OUT"
[ "$(jq -r .logs_exported <<<"$OUT")" = 1 ] || fail "logs_exported: $OUT"
code=$(curl -s -o "$OCL_TMP/trace.json" -w '%{http_code}' "http://$OCL_API/api/traces/$TID")
[ "$code" = 200 ] || fail "GET /api/traces/$TID: $code"
J="$OCL_TMP/trace.json"
q() { jq -r "$1" "$J"; }
span='[.batches[].scopeSpans[].spans[]]'
[ "$(q "$span | length")" = 2 ] || fail "want 2 spans: $(cat "$J")"
R="$span | map(select(.spanId == \"$RID\"))[0]"
C="$span | map(select(.spanId == \"$CID\"))[0]"
check() { # what, jq expression, want
	local got
	got=$(q "$2")
	[ "$got" = "$3" ] || fail "$1: got '$got', want '$3' (trace: $(head -c 1500 "$J"))"
}
attr() { echo "($1).attributes | map(select(.key == \"$2\"))[0].value"; }
check "resource service.name" ".batches[0].resource.attributes | map(select(.key == \"service.name\"))[0].value.stringValue" sdk-export-test
check "resource telemetry.sdk.language" ".batches[0].resource.attributes | map(select(.key == \"telemetry.sdk.language\"))[0].value.stringValue" c
check "scope" ".batches[0].scopeSpans[0].scope.name" sdk.export.test
check "root trace id" "($R).traceId" "$TID"
check "root name" "($R).name" "GET /checkout"
check "root kind" "($R).kind | tostring" "2"
check "root parent" "($R).parentSpanId // \"\"" ""
check "root start" "($R).startTimeUnixNano | tostring" 1700000000000000000
check "root end" "($R).endTimeUnixNano | tostring" 1700000000001000000
check "attr string" "$(attr "$R" http.request.method).stringValue" GET
check "attr int" "$(attr "$R" http.response.status_code).intValue | tostring" 503
check "attr double" "$(attr "$R" load).doubleValue | tostring" 0.75
check "attr bool" "$(attr "$R" retry).boolValue | tostring" true
check "attr array" "[$(attr "$R" codes).arrayValue.values[].intValue | tostring] | join(\",\")" "200,404"
check "event name" "($R).events[0].name" cart.loaded
check "event time" "($R).events[0].timeUnixNano | tostring" 1700000000000001000
check "event attr" "($R).events[0].attributes[0].value.stringValue" 3
check "status code" "($R).status.code | tostring" 2
check "status message" "($R).status.message" "backend unavailable"
check "child trace id" "($C).traceId" "$TID"
check "child parent" "($C).parentSpanId" "$RID"
check "child name" "($C).name" "POST /payments"
check "child kind" "($C).kind | tostring" "3"
check "child start" "($C).startTimeUnixNano | tostring" 1700000000000002000
check "child end" "($C).endTimeUnixNano | tostring" 1700000000000900000
check "child attr" "$(attr "$C" peer.service).stringValue" payments
check "link trace" "($C).links[0].traceId" 0af7651916cd43dd8448eb211c80319c
check "link span" "($C).links[0].spanId" b7ad6b7169203331

# the same over gzip-compressed requests
OUT2=$(OTEL_EXPORTER_OTLP_COMPRESSION=gzip OTEL_EXPORTER_OTLP_ENDPOINT="http://$OCL_HTTP" \
	LD_LIBRARY_PATH=$LIBDIR timeout 30 "$OCL_TMP/prog") || fail "gzip run failed: $OUT2"
TID2=$(jq -r .trace_id <<<"$OUT2")
code=$(curl -s -o "$OCL_TMP/trace2.json" -w '%{http_code}' "http://$OCL_API/api/traces/$TID2")
[ "$code" = 200 ] || fail "gzip: GET /api/traces/$TID2: $code"
[ "$(jq '[.batches[].scopeSpans[].spans[]] | length' "$OCL_TMP/trace2.json")" = 2 ] || fail "gzip: want 2 spans"

# logs and metrics accepted (read back through LogQL / PromQL is other issues' work)
n=$(curl -s "http://$OCL_API/metrics" | awk '/^ocelot_receiver_accepted_total\{signal="logs",transport="http"\}/ {print $2}')
[ "${n%.*}" = 2 ] || fail "ocelot_receiver_accepted_total{signal=logs,transport=http} = '$n', want 2 (one per run)"
n=$(curl -s "http://$OCL_API/metrics" | awk '/^ocelot_receiver_accepted_total\{signal="traces",transport="http"\}/ {print $2}')
[ "${n%.*}" = 4 ] || fail "ocelot_receiver_accepted_total{signal=traces,transport=http} = '$n', want 4 (two per run)"
n=$(curl -s "http://$OCL_API/metrics" | awk '/^ocelot_receiver_accepted_total\{signal="metrics",transport="http"\}/ {print $2}')
[ "${n%.*}" -ge 2 ] 2>/dev/null || fail "ocelot_receiver_accepted_total{signal=metrics,transport=http} = '$n', want >= 2"
ocl_stop
echo "test_sdk_export: ok"
