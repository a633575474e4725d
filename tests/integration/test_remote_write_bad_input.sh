#!/usr/bin/env bash
# Remote write (POST /api/v1/write) against the real binary, with request
# bodies crafted independently of ocelot: `protoc --encode` with the prompb
# field numbers (test_remote_write_bad_input.proto) and Debian's
# python3-snappy for the block compression.
#   - valid samples incl. NaN, +Inf, -Inf and the staleness marker → 204
#     (and queryable when the Prometheus query API is there)
#   - malformed snappy, wrong protobuf, missing/unknown Content-Encoding,
#     remote write 2.0, native histograms, label limits, missing name → 4xx
#     with a clear message, nothing stored
#   - out-of-order samples → 400 naming them, the other series stored
#   - acknowledged samples survive kill -9 (a conflicting re-send is refused)
#   - a cardinality spike past the per-tenant series limit → 429, while
#     another tenant keeps writing (204)
#   - Debian's Prometheus remote-writes its own scrapes (when installed and
#     the query API is there): the series arrive, up == 1
# Only 127.0.0.1 is used.
set -euo pipefail
. "$(dirname "$0")/lib/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
command -v curl >/dev/null || fail "curl is not installed"
command -v protoc >/dev/null || skip "protoc is not installed (protobuf-compiler)"
PY=/usr/bin/python3
[ -x "$PY" ] && "$PY" -c 'import snappy' 2>/dev/null || skip "python3-snappy is not installed"

# enc OUT: protobuf text format on stdin → snappy-compressed WriteRequest
enc() {
	protoc --proto_path="$here" --encode=prometheus.WriteRequest test_remote_write_bad_input.proto |
		"$PY" -c 'import sys, snappy; sys.stdout.buffer.write(snappy.compress(sys.stdin.buffer.read()))' >"$1"
}
# post FILE [curl args…]: prints "<status> <body>" on one line
# (Content-Type application/x-protobuf unless $CT says otherwise)
post() {
	local f=$1
	shift
	curl -sS -m 10 -o "$OCL_TMP/resp" -w '%{http_code}' -H "Content-Type: ${CT:-application/x-protobuf}" \
		"$@" --data-binary @"$f" "http://$OCL_API/api/v1/write" >"$OCL_TMP/code"
	echo "$(cat "$OCL_TMP/code") $(tr '\n' ' ' <"$OCL_TMP/resp")"
}
expect() { # expect "<status>" "<substring of body>" RESULT LABEL
	case "$3" in
	"$1"*"$2"*) ;;
	*) fail "$4: want $1 with '$2', got: $3" ;;
	esac
}
metric() { # metric NAME_WITH_LABELS → value from /metrics
	curl -sS -m 10 "http://$OCL_API/metrics" | awk -v m="$1" '$1 == m {print $2}'
}

# No self-scrape: its ~100 series would land in the default tenant at a
# random moment and push it over the series limit set here.
printf 'server:\n  self_scrape_interval: 0\n' >"$OCL_TMP/ocelot.yaml"
ocl_start --config "$OCL_TMP/ocelot.yaml" --max-series-per-tenant 100
now=$(($(date +%s) * 1000))

# --- valid: special values ----------------------------------------------------
enc "$OCL_TMP/special.bin" <<EOF
timeseries { labels { name: "__name__" value: "rw_special" } labels { name: "kind" value: "nan" }
  samples { value: nan timestamp: $((now - 4000)) } }
timeseries { labels { name: "__name__" value: "rw_special" } labels { name: "kind" value: "inf" }
  samples { value: inf timestamp: $((now - 4000)) } samples { value: -inf timestamp: $((now - 3000)) } }
timeseries { labels { name: "kind" value: "ok" } labels { name: "__name__" value: "rw_special" }
  labels { name: "empty" value: "" } samples { value: 1.5 timestamp: $((now - 4000)) } }
metadata { type: GAUGE metric_family_name: "rw_special" help: "special values" }
EOF
r=$(post "$OCL_TMP/special.bin" -H 'Content-Encoding: snappy')
expect 204 "" "$r" "NaN/Inf samples"
[ "$(metric ocelot_metrics_samples_appended_total)" = 4 ] || fail "want 4 samples appended"
# the staleness marker (Prometheus's NaN bit pattern 0x7ff0000000000002) is a valid sample
printf '\x0a\x21\x0a\x12\x0a\x08__name__\x12\x06rw_stl\x12\x0b\x09\x02\x00\x00\x00\x00\x00\xf0\x7f\x10\x01' |
	"$PY" -c 'import sys, snappy; sys.stdout.buffer.write(snappy.compress(sys.stdin.buffer.read()))' >"$OCL_TMP/stale.bin"
expect 204 "" "$(post "$OCL_TMP/stale.bin" -H 'Content-Encoding: snappy')" "staleness marker"

# --- transport errors ---------------------------------------------------------
printf 'definitely not snappy' >"$OCL_TMP/junk.bin"
expect 400 "snappy: corrupt input" "$(post "$OCL_TMP/junk.bin" -H 'Content-Encoding: snappy')" \
	"malformed snappy"
printf '\xff\xff\xff\xff\x0f' >"$OCL_TMP/bomb.bin" # declares 4 GiB
expect 413 "decompressed" "$(post "$OCL_TMP/bomb.bin" -H 'Content-Encoding: snappy')" \
	"snappy length past the limit"
printf '\x0a\x05\x0a\x03\x0a\x01' | "$PY" -c 'import sys, snappy; sys.stdout.buffer.write(snappy.compress(sys.stdin.buffer.read()))' >"$OCL_TMP/trunc.bin"
expect 400 "malformed remote-write request" \
	"$(post "$OCL_TMP/trunc.bin" -H 'Content-Encoding: snappy')" "truncated protobuf"
printf '{"timeseries":[]}' | "$PY" -c 'import sys, snappy; sys.stdout.buffer.write(snappy.compress(sys.stdin.buffer.read()))' >"$OCL_TMP/json.bin"
expect 400 "malformed remote-write request" "$(post "$OCL_TMP/json.bin" -H 'Content-Encoding: snappy')" \
	"JSON instead of protobuf"
expect 415 "snappy" "$(post "$OCL_TMP/special.bin")" "missing Content-Encoding"
expect 415 "gzip" "$(post "$OCL_TMP/special.bin" -H 'Content-Encoding: gzip')" "gzip encoding"
expect 415 "remote write 2.0 is not supported" \
	"$(CT='application/x-protobuf;proto=io.prometheus.write.v2.Request' \
		post "$OCL_TMP/special.bin" -H 'Content-Encoding: snappy')" "RW 2.0"
expect 415 "application/x-protobuf" \
	"$(CT='application/json' post "$OCL_TMP/special.bin" -H 'Content-Encoding: snappy')" \
	"JSON media type"
enc "$OCL_TMP/v1.bin" <<EOF
timeseries { labels { name: "__name__" value: "rw_v1" } samples { value: 1 timestamp: $now } }
EOF
expect 204 "" "$(CT='application/x-protobuf;proto=prometheus.WriteRequest' \
	post "$OCL_TMP/v1.bin" -H 'Content-Encoding: snappy')" "RW 1.0 proto="

# --- invalid series: nothing of the request is stored --------------------------
before=$(metric ocelot_metrics_samples_appended_total)
long_value=$(head -c 2049 /dev/zero | tr '\0' v)
long_name=$(head -c 1025 /dev/zero | tr '\0' n)
enc "$OCL_TMP/longv.bin" <<EOF
timeseries { labels { name: "__name__" value: "rw_fine" } samples { value: 1 timestamp: $now } }
timeseries { labels { name: "__name__" value: "rw_long" } labels { name: "l" value: "$long_value" }
  samples { value: 1 timestamp: $now } }
EOF
expect 400 "label value length of 2049 exceeds the limit of 2048" \
	"$(post "$OCL_TMP/longv.bin" -H 'Content-Encoding: snappy')" "long label value"
enc "$OCL_TMP/longn.bin" <<EOF
timeseries { labels { name: "__name__" value: "rw_long" } labels { name: "$long_name" value: "x" }
  samples { value: 1 timestamp: $now } }
EOF
expect 400 "label name length of 1025 exceeds the limit of 1024" \
	"$(post "$OCL_TMP/longn.bin" -H 'Content-Encoding: snappy')" "long label name"
{
	printf 'timeseries { labels { name: "__name__" value: "rw_many" }'
	for i in $(seq 1 30); do printf ' labels { name: "l%02d" value: "v" }' "$i"; done
	printf ' samples { value: 1 timestamp: %d } }\n' "$now"
} | enc "$OCL_TMP/many.bin"
expect 400 "number of labels (31) exceeds the limit of 30" \
	"$(post "$OCL_TMP/many.bin" -H 'Content-Encoding: snappy')" "too many labels"
enc "$OCL_TMP/noname.bin" <<EOF
timeseries { labels { name: "job" value: "x" } samples { value: 1 timestamp: $now } }
EOF
expect 400 "without a metric name" "$(post "$OCL_TMP/noname.bin" -H 'Content-Encoding: snappy')" \
	"missing __name__"
enc "$OCL_TMP/dup.bin" <<EOF
timeseries { labels { name: "__name__" value: "rw_dup" } labels { name: "a" value: "1" }
  labels { name: "a" value: "2" } samples { value: 1 timestamp: $now } }
EOF
expect 400 "duplicate label name" "$(post "$OCL_TMP/dup.bin" -H 'Content-Encoding: snappy')" \
	"duplicate label"
enc "$OCL_TMP/hist.bin" <<EOF
timeseries { labels { name: "__name__" value: "rw_hist" } histograms { count_int: 3 sum: 1 timestamp: $now } }
EOF
expect 400 "native histograms are not supported" \
	"$(post "$OCL_TMP/hist.bin" -H 'Content-Encoding: snappy')" "native histogram"
[ "$(metric ocelot_metrics_samples_appended_total)" = "$before" ] ||
	fail "a refused request stored samples"

# --- out of order: 400, the rest is stored -----------------------------------
enc "$OCL_TMP/first.bin" <<EOF
timeseries { labels { name: "__name__" value: "rw_ooo" } labels { name: "s" value: "a" }
  samples { value: 10 timestamp: $((now - 1000)) } }
EOF
expect 204 "" "$(post "$OCL_TMP/first.bin" -H 'Content-Encoding: snappy')" "first sample"
enc "$OCL_TMP/ooo.bin" <<EOF
timeseries { labels { name: "__name__" value: "rw_ooo" } labels { name: "s" value: "a" }
  samples { value: 5 timestamp: $((now - 2000)) } }
timeseries { labels { name: "__name__" value: "rw_ooo" } labels { name: "s" value: "b" }
  samples { value: 7 timestamp: $((now - 2000)) } samples { value: 8 timestamp: $((now - 1000)) } }
EOF
before=$(metric ocelot_metrics_samples_appended_total)
expect 400 "out of order sample" "$(post "$OCL_TMP/ooo.bin" -H 'Content-Encoding: snappy')" \
	"out-of-order sample"
grep -q "2 samples stored" "$OCL_TMP/resp" || fail "400 does not say the rest was stored: $(cat "$OCL_TMP/resp")"
[ "$(metric ocelot_metrics_samples_appended_total)" = $((before + 2)) ] ||
	fail "the in-order samples of the request were not stored"
[ "$(metric 'ocelot_metrics_samples_rejected_total{reason="out_of_order"}')" = 1 ] ||
	fail "out-of-order rejection not counted"

# --- acknowledged samples survive kill -9 ------------------------------------
ocl_kill9
ocl_launch
grep -q "metrics WAL replay: " "$OCL_LOG" || fail "no metrics WAL replay after kill -9"
# rw_ooo{s="a"} @now-1000 = 10 is back: a different value at that time is a conflict
enc "$OCL_TMP/conflict.bin" <<EOF
timeseries { labels { name: "__name__" value: "rw_ooo" } labels { name: "s" value: "a" }
  samples { value: 11 timestamp: $((now - 1000)) } }
EOF
expect 400 "duplicate sample for timestamp" \
	"$(post "$OCL_TMP/conflict.bin" -H 'Content-Encoding: snappy')" "replayed sample"
# an identical re-send is not an error
expect 204 "" "$(post "$OCL_TMP/first.bin" -H 'Content-Encoding: snappy')" "identical re-send"

# --- query back (when the Prometheus query API exists) ------------------------
code=$(curl -sS -m 10 -o "$OCL_TMP/q" -w '%{http_code}' -G "http://$OCL_API/api/v1/query" \
	--data-urlencode 'query=rw_special' --data-urlencode "time=$(((now - 3000) / 1000)).5")
if [ "$code" = 404 ]; then
	echo "note: /api/v1/query not available yet; special values checked through /metrics only"
else
	[ "$code" = 200 ] || fail "query rw_special: HTTP $code $(cat "$OCL_TMP/q")"
	for v in '"NaN"' '"-Inf"' '"1.5"'; do
		grep -q "$v" "$OCL_TMP/q" || fail "query result lacks $v: $(cat "$OCL_TMP/q")"
	done
fi

# --- cardinality spike: 429 for that tenant, others unaffected -----------------
{
	for i in $(seq 1 150); do
		printf 'timeseries { labels { name: "__name__" value: "rw_spike" } labels { name: "i" value: "%d" } samples { value: 1 timestamp: %d } }\n' "$i" "$now"
	done
} | enc "$OCL_TMP/spike.bin"
expect 429 "series limit" "$(post "$OCL_TMP/spike.bin" -H 'Content-Encoding: snappy' -H 'X-Scope-OrgID: noisy')" \
	"cardinality spike"
{
	for i in $(seq 1 20); do
		printf 'timeseries { labels { name: "__name__" value: "rw_calm" } labels { name: "i" value: "%d" } samples { value: 1 timestamp: %d } }\n' "$i" "$now"
	done
} | enc "$OCL_TMP/calm.bin"
for k in 1 2 3; do
	expect 204 "" "$(post "$OCL_TMP/calm.bin" -H 'Content-Encoding: snappy' -H 'X-Scope-OrgID: calm')" \
		"other tenant during the spike ($k)"
	expect 429 "series limit" "$(post "$OCL_TMP/spike.bin" -H 'Content-Encoding: snappy' -H 'X-Scope-OrgID: noisy')" \
		"spike again ($k)"
done
expect 400 "X-Scope-OrgID" "$(post "$OCL_TMP/calm.bin" -H 'Content-Encoding: snappy' -H 'X-Scope-OrgID: ../x')" \
	"invalid tenant"
[ "$(metric 'ocelot_remote_write_requests_total{code="5xx"}')" = 0 ] || fail "5xx answers"

# --- a real sender: Debian's Prometheus scrapes itself and remote-writes ----------
if command -v prometheus >/dev/null && [ "$code" != 404 ]; then
	ocl_stop
	ocl_start # without the small series limit: Prometheus has ~400 series
	pport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	cat >"$OCL_TMP/prom.yml" <<EOF
global: {scrape_interval: 1s}
scrape_configs:
  - job_name: promself
    static_configs: [{targets: ['127.0.0.1:$pport']}]
remote_write:
  - url: http://$OCL_API/api/v1/write
    queue_config: {batch_send_deadline: 1s}
EOF
	prometheus --config.file="$OCL_TMP/prom.yml" --storage.tsdb.path="$OCL_TMP/promdata" \
		--web.listen-address="127.0.0.1:$pport" >"$OCL_TMP/prom.log" 2>&1 &
	ppid=$!
	got=
	for _ in $(seq 1 120); do # Prometheus ships its WAL to remote write after ~10-20 s
		sleep 0.5
		n=$(curl -sS -m 5 -G "http://$OCL_API/api/v1/query" \
			--data-urlencode 'query=count({job="promself"})' | sed -n 's/.*"value":\[[^,]*,"\([0-9]*\)".*/\1/p')
		if [ -n "$n" ] && [ "$n" -gt 100 ]; then got=$n; break; fi
		last_q=$(curl -sS -m 5 -G "http://$OCL_API/api/v1/query" --data-urlencode 'query=count({job="promself"})')
	done
	kill "$ppid" 2>/dev/null
	wait "$ppid" 2>/dev/null || true
	[ -n "$got" ] || fail "Prometheus's remote write did not arrive (remote-write requests by class:" \
		"$(metric 'ocelot_remote_write_requests_total{code="2xx"}')/$(metric 'ocelot_remote_write_requests_total{code="4xx"}');" \
		"last answer: $last_q): $(grep -i 'remote' "$OCL_TMP/prom.log" | tail -5)"
	up=$(curl -sS -m 5 -G "http://$OCL_API/api/v1/query" --data-urlencode 'query=up{job="promself"}')
	grep -q '"1"\]' <<<"$up" || fail "up{job=\"promself\"} is not 1: $up"
	[ "$(metric 'ocelot_remote_write_requests_total{code="5xx"}')" = 0 ] || fail "5xx answers to Prometheus"
	[ "$(metric 'ocelot_remote_write_requests_total{code="4xx"}')" = 0 ] || fail "4xx answers to Prometheus"
fi
ocl_stop
echo "PASS"
