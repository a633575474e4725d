#!/usr/bin/env bash
# `ocelot serve` lifecycle through lib.sh: port-0 listeners are printed and
# answer, /-/ready is 200 once "ocelot: ready" is printed, /metrics has ocelot_
# metrics, SIGTERM exits 0, and the server restarts on the same data dir after
# a graceful stop and after kill -9.
set -euo pipefail
. "$(dirname "$0")/lib/lib.sh"
command -v curl >/dev/null || fail "curl is not installed"

check_up() {
	local what=$1 code body
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$OCL_API/-/ready") || fail "$what: GET /-/ready failed"
	[ "$code" = 200 ] || fail "$what: GET /-/ready returned $code, expected 200"
	body=$(curl -sf --max-time 5 "http://$OCL_API/metrics") || fail "$what: GET /metrics failed"
	grep -q 'ocelot_' <<<"$body" || fail "$what: /metrics has no ocelot_ metric"
	# The OTLP/HTTP listener answers HTTP (any status; an empty JSON export is valid OTLP).
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H 'Content-Type: application/json' \
		--data '{}' "http://$OCL_HTTP/v1/traces") || fail "$what: POST /v1/traces to $OCL_HTTP failed"
	[ "$code" = 200 ] || fail "$what: POST /v1/traces with an empty request returned $code, expected 200"
	# The gRPC listener accepts TCP connections.
	(exec 3<>"/dev/tcp/${OCL_GRPC%:*}/${OCL_GRPC##*:}") 2>/dev/null || fail "$what: cannot connect to otlp-grpc $OCL_GRPC"
}

ocl_start
for v in "$OCL_GRPC" "$OCL_HTTP" "$OCL_API"; do
	[[ $v =~ ^127\.0\.0\.1:[1-9][0-9]*$ ]] || fail "bad listen address '$v'"
done
[ "$OCL_GRPC" != "$OCL_HTTP" ] && [ "$OCL_HTTP" != "$OCL_API" ] || fail "listeners share a port: $OCL_GRPC $OCL_HTTP $OCL_API"
check_up "first start"
data=$OCL_DATA

ocl_restart
[ "$OCL_DATA" = "$data" ] || fail "restart changed the data dir"
check_up "after graceful restart"

ocl_kill9
ocl_restart
check_up "after kill -9 and restart"
ocl_stop
echo "ok"
