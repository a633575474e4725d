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

check_all() {
	# One curl process for all ids (connection reuse); prints one status per id.
	local cfg="$OCL_TMP/urls.cfg" n
	sort -u "$ACK" >"$OCL_TMP/ids"
	n=$(wc -l <"$OCL_TMP/ids")
	[ "$n" -gt 0 ] || fail "no acknowledged traces at all"
	awk -v api="$OCL_API" '{printf "url = \"http://%s/api/traces/%s\"\noutput = \"/dev/null\"\n", api, $1}' \
		"$OCL_TMP/ids" >"$cfg"
	local codes
	codes=$(curl -s --max-time 120 -K "$cfg" -w '%{http_code}\n')
	local ok
	ok=$(grep -c '^200$' <<<"$codes")
	if [ "$ok" -ne "$n" ]; then
		paste "$OCL_TMP/ids" <(echo "$codes") | grep -v '200$' | head -5 >&2
		fail "round $1: only $ok of $n acknowledged traces are retrievable"
	fi
	echo "round $1: all $n acknowledged traces retrievable"
}

ocl_start --fsync interval --workers 2
for round in $(seq 1 "$ROUNDS"); do
	if [ $((round % 2)) -eq 0 ]; then proto=grpc; ep="http://$OCL_GRPC"; else proto=http/protobuf; ep="http://$OCL_HTTP"; fi
	"$OCELOT_BIN" gen --seed "$((RANDOM * 100 + round))" --endpoint "$ep" --protocol "$proto" --batch 50 --concurrency 4 --rate 400 \
		--duration 20 --ack-log "$ACK" >"$OCL_TMP/gen.$round.log" 2>&1 &
	gen=$!
	# Kill at a random moment 0.5–2.5 s into the load.
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
	check_all "$round"
done
# A clean stop and start must keep everything too (head cut into segments).
ocl_restart
check_all final
grep -q 'corrupt\|torn' "$OCL_TMP"/ocelot.*.log && echo "note: WAL repairs were logged (expected after kill -9 mid-write)"
ocl_stop
echo "test_crash: ok"
