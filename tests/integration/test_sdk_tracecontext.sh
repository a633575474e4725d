#!/usr/bin/env bash
# examples/tracecontext-test-server behaves as the W3C trace-context
# harness expects: POST /test with [{"url", "arguments"}] makes it POST
# `arguments` to each url with a child traceparent (same trace id, new
# parent id, flags kept) and the tracestate passed on; invalid or repeated
# traceparent headers start a new trace; an invalid tracestate is dropped.
# The harness side is a small Python HTTP receiver recording the headers.
. "$(dirname "$0")/lib/lib.sh"
command -v python3 >/dev/null || skip "python3 is not installed"
BUILD=$(dirname "$OCELOT_BIN")
SRV="$BUILD/tracecontext-test-server"
[ -x "$SRV" ] || fail "$SRV not built (make build)"

cat >"$OCL_TMP/recv.py" <<'PY'
import http.server, json, sys
out = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("content-length", 0))
        body = self.rfile.read(n).decode()
        rec = {"traceparent": self.headers.get_all("traceparent") or [],
               "tracestate": self.headers.get_all("tracestate") or [], "body": body}
        with open(out, "a") as f:
            f.write(json.dumps(rec) + "\n")
        self.send_response(200); self.send_header("content-length", "0"); self.end_headers()
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print("listening on 127.0.0.1:%d" % s.server_address[1], flush=True)
s.serve_forever()
PY
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; ocl_cleanup' EXIT
wait_listen() {
	for _ in $(seq 100); do
		grep -q '^listening on ' "$1" 2>/dev/null && { sed -n 's/^listening on //p' "$1" | head -1; return 0; }
		sleep 0.05
	done
	return 1
}
python3 "$OCL_TMP/recv.py" "$OCL_TMP/got" >"$OCL_TMP/recv.log" 2>&1 &
PIDS+=($!)
RECV=$(wait_listen "$OCL_TMP/recv.log") || fail "receiver did not start"
OTEL_TRACES_EXPORTER=none OTEL_METRICS_EXPORTER=none OTEL_LOGS_EXPORTER=none \
	"$SRV" 127.0.0.1:0 >"$OCL_TMP/srv.log" 2>&1 &
PIDS+=($!)
SRVA=$(wait_listen "$OCL_TMP/srv.log") || fail "server did not start: $(cat "$OCL_TMP/srv.log")"

T=4bf92f3577b34da6a3ce929d0e0e4736
case_() { # name, then curl header args...
	local name=$1
	shift
	rm -f "$OCL_TMP/got"
	code=$(curl -s -o /dev/null -w '%{http_code}' "$@" -H 'Content-Type: application/json' \
		-d "[{\"url\":\"http://$RECV/cb\",\"arguments\":{\"case\":\"$name\"}}]" "http://$SRVA/test")
	[ "$code" = 200 ] || fail "$name: POST /test answered $code"
	[ -s "$OCL_TMP/got" ] || fail "$name: no callback received"
	GOT=$(head -1 "$OCL_TMP/got")
	[ "$(jq -r .body <<<"$GOT" | jq -r .case)" = "$name" ] || fail "$name: arguments not forwarded: $GOT"
	TP=$(jq -r '.traceparent | join("|")' <<<"$GOT")
	TS=$(jq -r '.tracestate | join("|")' <<<"$GOT")
	[[ "$TP" =~ ^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$ ]] || fail "$name: bad outgoing traceparent '$TP'"
}
case_ valid -H "traceparent: 00-$T-00f067aa0ba902b7-01" -H 'tracestate: foo=1,bar=2'
[ "${TP:3:32}" = "$T" ] || fail "valid: trace id not kept: $TP"
[ "${TP:36:16}" != 00f067aa0ba902b7 ] || fail "valid: parent id not replaced: $TP"
[ "${TP:53:2}" = 01 ] || fail "valid: sampled flag lost: $TP"
[ "$TS" = "foo=1,bar=2" ] || fail "valid: tracestate '$TS'"

case_ unsampled -H "traceparent: 00-$T-00f067aa0ba902b7-00"
[ "${TP:3:32}" = "$T" ] && [ "${TP:53:2}" = 00 ] || fail "unsampled: $TP"

case_ future_version -H "traceparent: cc-$T-00f067aa0ba902b7-01-what-the-future-will-be-like"
[ "${TP:3:32}" = "$T" ] || fail "future version: trace not continued: $TP"

case_ version_ff -H "traceparent: ff-$T-00f067aa0ba902b7-01" -H 'tracestate: foo=1'
[ "${TP:3:32}" != "$T" ] || fail "version ff: trace continued: $TP"
[ -z "$TS" ] || fail "version ff: tracestate kept: $TS"

case_ duplicated -H "traceparent: 00-$T-00f067aa0ba902b7-01" -H "traceparent: 00-$T-00f067aa0ba902b8-01"
[ "${TP:3:32}" != "$T" ] || fail "duplicated traceparent: trace continued: $TP"

case_ uppercase -H "traceparent: 00-${T^^}-00f067aa0ba902b7-01"
[ "${TP:3:32}" != "$T" ] || fail "upper case: trace continued: $TP"

case_ multi_tracestate -H "traceparent: 00-$T-00f067aa0ba902b7-01" -H 'tracestate: foo=1' -H 'tracestate: bar=2'
[ "$TS" = "foo=1,bar=2" ] || fail "repeated tracestate headers: '$TS'"

case_ bad_tracestate -H "traceparent: 00-$T-00f067aa0ba902b7-01" -H 'tracestate: foo=1,foo=2'
[ "${TP:3:32}" = "$T" ] || fail "bad tracestate: traceparent dropped: $TP"
[ -z "$TS" ] || fail "bad tracestate: kept '$TS'"

case_ no_context
[ "${TP:53:2}" = 01 ] || fail "new trace not sampled: $TP"
echo "test_sdk_tracecontext: ok"
