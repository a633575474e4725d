#!/usr/bin/env bash
# Crash test: `ocelot gen` drives sustained ingest (gRPC and HTTP in turn)
# while the server is killed with SIGKILL at random moments, several times.
# After each restart every trace whose request was acknowledged (gen writes
# the trace ids of acknowledged requests to --ack-log before counting them)
# must be retrievable through the Tempo API.
. "$(dirname "$0")/lib/lib.sh"

ROUNDS=${CRASH_ROUNDS:-4}
ACK="$OCL_TMP/acked.txt"
: >"$ACK"
RANDOM=$$


ocl_start --fsync interval --workers 2
for round in $(seq 1 "$ROUNDS"); do
	acks=$(wc -l <"$ACK")
	if [ $((round % 2)) -eq 0 ]; then proto=grpc; ep="http://$OCL_GRPC"; else proto=http/protobuf; ep="http://$OCL_HTTP"; fi
	"$OCELOT_BIN" gen --seed "$((RANDOM * 100 + round))" --endpoint "$ep" --protocol "$proto" --batch 50 --concurrency 4 --rate 400 \
		--duration 20 --ack-log "$ACK" >"$OCL_TMP/gen.$round.log" 2>&1 &
	gen=$!
	# Kill at a random moment 0.5–2.5 s into the load, counted from the first
	# acknowledgement (a slow machine may take longer than that to start gen).
	ocl_wait_acks "$ACK" "$acks" "$gen"
	sleep "$((RANDOM % 3)).$((RANDOM % 10))"
	sleep 0.5
	before=$(sort -u "$ACK" | wc -l)
	ocl_kill9
	kill -INT "$gen" 2>/dev/null
	wait "$gen" 2>/dev/null
	after=$(sort -u "$ACK" | wc -l)
	[ "$after" -gt 0 ] || { cat "$OCL_TMP/gen.$round.log" >&2; fail "round $round: gen acknowledged nothing"; }
	echo "round $round ($proto): killed with $before acknowledged trace ids ($after after gen stopped)"
	ocl_restart
	ocl_check_acked "$ACK" "round $round"
done
# A clean stop and start must keep everything too (head cut into segments).
ocl_restart
ocl_check_acked "$ACK" "round final"
grep -q 'corrupt\|torn' "$OCL_TMP"/ocelot.*.log && echo "note: WAL repairs were logged (expected after kill -9 mid-write)"
ocl_stop
echo "test_crash: ok"
