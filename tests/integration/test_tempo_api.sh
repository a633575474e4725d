#!/usr/bin/env bash
# Tempo API on the HTTP port: trace by id in JSON (v1 "batches", v2
# "trace.resourceSpans") and protobuf (Accept: application/protobuf, decoded
# by protoc --decode_raw), id parsing (short ids are left-padded, bad ids
# 400, unknown 404), tenants kept apart by X-Scope-OrgID (also across a
# kill -9), and HEAD answered without a body.
. "$(dirname "$0")/lib/lib.sh"
command -v protoc >/dev/null || skip "protoc (protobuf-compiler) is not installed"

span() { # trace id, span name
	printf '{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"tempo-api-test"}}]},"scopeSpans":[{"scope":{"name":"t"},"spans":[{"traceId":"%s","spanId":"00000000000000a1","name":"%s","kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000500000000"}]}]}]}' "$1" "$2"
}
post() { # tenant or "", body
	local h=()
	[ -n "$1" ] && h=(-H "X-Scope-OrgID: $1")
	curl -s -o /dev/null -w '%{http_code}' "${h[@]}" -H 'Content-Type: application/json' -d "$2" "http://$OCL_HTTP/v1/traces"
}
get() { # tenant or "", path, [accept]
	local h=()
	[ -n "$1" ] && h+=(-H "X-Scope-OrgID: $1")
	[ -n "${3:-}" ] && h+=(-H "Accept: $3")
	curl -s -o "$OCL_TMP/body" -w '%{http_code}' "${h[@]}" "http://$OCL_API$2"
}
expect() { # what, got, want
	[ "$2" = "$3" ] || fail "$1: got $2, want $3 ($(head -c 300 "$OCL_TMP/body" 2>/dev/null))"
}

ocl_start
A=000000000000000000000000000abc01   # default tenant; short form abc01 must work too
B=0f0e0d0c0b0a09080706050403020100   # tenant team-a
expect "post default" "$(post "" "$(span $A default-span)")" 200
expect "post team-a" "$(post team-a "$(span $B team-a-span)")" 200
expect "invalid tenant" "$(post '../etc' "$(span $B x)")" 400

check_reads() {
	expect "v1 default" "$(get "" /api/traces/$A)" 200
	grep -q '"batches":\[' "$OCL_TMP/body" || fail "v1 answer has no batches: $(head -c 200 "$OCL_TMP/body")"
	grep -q '"name":"default-span"' "$OCL_TMP/body" || fail "v1 answer lacks the span"
	expect "short id" "$(get "" /api/traces/abc01)" 200
	expect "v2 default" "$(get "" /api/v2/traces/$A)" 200
	grep -q '^{"trace":{"resourceSpans":\[' "$OCL_TMP/body" || fail "v2 shape: $(head -c 200 "$OCL_TMP/body")"
	expect "default trace from team-a" "$(get team-a /api/traces/$A)" 404
	expect "team-a trace" "$(get team-a /api/traces/$B)" 200
	grep -q '"name":"team-a-span"' "$OCL_TMP/body" || fail "team-a answer lacks its span"
	expect "team-a trace without tenant" "$(get "" /api/traces/$B)" 404
	expect "team-a trace as team-b" "$(get team-b /api/traces/$B)" 404
	# protobuf: tempopb.Trace{batches=1: ResourceSpans{scope_spans=2{spans=2{name=5}}}}
	expect "v1 protobuf" "$(get "" /api/traces/$A application/protobuf)" 200
	protoc --decode_raw <"$OCL_TMP/body" >"$OCL_TMP/raw" || fail "v1 protobuf does not decode"
	grep -q '5: "default-span"' "$OCL_TMP/raw" || fail "v1 protobuf lacks the span name: $(cat "$OCL_TMP/raw")"
	expect "v2 protobuf" "$(get "" /api/v2/traces/$A application/protobuf)" 200
	protoc --decode_raw <"$OCL_TMP/body" >"$OCL_TMP/raw" || fail "v2 protobuf does not decode"
	# TraceByIDResponse{trace=1{resourceSpans=1{...}}}: three levels of "1 {"
	[ "$(grep -c '^ *1 {' "$OCL_TMP/raw")" -ge 2 ] || fail "v2 protobuf is not wrapped: $(head -5 "$OCL_TMP/raw")"
	expect "bad id" "$(get "" /api/traces/xyz)" 400
	expect "too long id" "$(get "" /api/traces/000000000000000000000000000000000)" 400
	expect "unknown id" "$(get "" /api/traces/ffffffffffffffffffffffffffffffff)" 404
}
check_reads
# HEAD: status only, and the connection stays usable (no stray body bytes).
out=$(curl -s -I "http://$OCL_API/-/healthy" "http://$OCL_API/-/ready" | grep -c '^HTTP/1.1 200')
[ "$out" = 2 ] || fail "HEAD on health endpoints: $out of 2 OK"
ocl_kill9
ocl_restart
check_reads
ocl_restart   # clean stop: heads cut into segments, read from segments
check_reads
ocl_stop
echo "test_tempo_api: ok"
