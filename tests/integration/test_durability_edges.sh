#!/usr/bin/env bash
# Durability edge cases found in review:
#  1. WAL replay must not drop acknowledged spans because of the memory
#     limit (replay ignores admission and cuts the head as it grows);
#  2. a span stamped far in the future must not age out stored segments;
#  3. after a clean restart the checkpoint makes replay skip records that
#     are already in segments;
#  4. if the traces WAL loses its files, new records still get seqs above
#     the checkpoint (else replay would skip them after a crash);
#  5. a tenant whose id starts with a dot is found again after a restart.
. "$(dirname "$0")/lib/lib.sh"

ACK="$OCL_TMP/acked.txt"
: >"$ACK"


send() { # seed, requests
	"$OCELOT_BIN" gen --seed "$1" --endpoint "http://$OCL_HTTP" --batch 100 --requests "$2" \
		--concurrency 2 --retry --ack-log "$ACK" >"$OCL_TMP/gen.$1.log" 2>&1 ||
		{ cat "$OCL_TMP/gen.$1.log" >&2; fail "gen $1 failed"; }
}

# 1. A 1 MiB memory limit and more acknowledged data than that in the WAL.
ocl_start --max-memory 1MiB --workers 1
send 11 60
ocl_kill9
ocl_restart
ocl_check_acked "$ACK" "replay over the memory limit (1)"
send 12 60
ocl_kill9
ocl_restart
ocl_check_acked "$ACK" "replay over the memory limit (2)"

# 3. Clean restart: the head is cut, the checkpoint written; replay skips.
ocl_restart
line=$(grep -m1 'replayed WAL' "$OCL_LOG")
skipped=$(sed -E 's/.*trace \(([0-9]+) already in segments\).*/\1/' <<<"$line")
total=$(sed -E 's/.*replayed WAL: ([0-9]+) trace.*/\1/' <<<"$line")
[ "$total" -eq "$skipped" ] || fail "after a clean stop replay re-added records: $line"
ocl_check_acked "$ACK" "after clean restart"

# 2. One span from the far future (year 2255) must not drop the segments.
now=$(date +%s%N)
body='{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"future","startTimeUnixNano":"9000000000000000000","endTimeUnixNano":"9000000000000000001"}]}]}]}'
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d "$body" "http://$OCL_HTTP/v1/traces")
[ "$code" = 200 ] || fail "future span: HTTP $code"
sleep 1.5
grep -q 'retention drops' "$OCL_LOG" && fail "a future-dated span made retention drop segments"
ocl_check_acked "$ACK" "after a future-dated span"

# 4. WAL files lost (checkpoint kept), then a new acknowledged trace, kill -9.
ocl_stop
rm -f "$OCL_DATA"/wal/traces/*.wal
ocl_restart
body4='{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a","spanId":"0a0a0a0a0a0a0a0a","name":"after-wal-loss","startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000000000001"}]}]}]}'
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d "$body4" "http://$OCL_HTTP/v1/traces")
[ "$code" = 200 ] || fail "post after WAL loss: HTTP $code"
ocl_kill9
ocl_restart
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$OCL_API/api/traces/0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a")
[ "$code" = 200 ] || fail "trace acknowledged after the WAL lost its files is gone after kill -9 (HTTP $code)"
echo "WAL loss: acknowledged trace survives"

# 5. Tenant ".x": written, cut by a clean stop, read after restart.
body5='{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b","spanId":"0b0b0b0b0b0b0b0b","name":"dot-tenant","startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000000000001"}]}]}]}'
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Scope-OrgID: .x' -H 'Content-Type: application/json' -d "$body5" "http://$OCL_HTTP/v1/traces")
[ "$code" = 200 ] || fail "post as tenant .x: HTTP $code"
ocl_restart
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Scope-OrgID: .x' "http://$OCL_API/api/traces/0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b")
[ "$code" = 200 ] || fail "tenant .x lost its trace across a restart (HTTP $code)"
echo "tenant .x: found after restart"
ocl_stop
echo "test_durability_edges: ok"
