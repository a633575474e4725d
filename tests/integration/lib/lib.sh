# Helpers for bash integration tests of the real ocelot binary. Source it:
#   . "$(dirname "$0")/lib/lib.sh"
#
#   ocl_start [extra serve args]  start on a fresh temp data dir, 127.0.0.1 and
#                                 port 0 everywhere; waits ≤ 10 s for
#                                 "ocelot: ready"; sets OCL_GRPC OCL_HTTP OCL_API
#                                 (host:port), OCL_DATA, OCL_PID, OCL_LOG
#   ocl_stop                      SIGTERM, wait ≤ 10 s, fail unless exit status 0
#   ocl_kill9                     SIGKILL and wait
#   ocl_restart                   ocl_stop, then start again on the same data dir
#                                 with the same args (new ports)
#   ocl_wait_acks FILE N PID      waits ≤ 30 s until FILE (an --ack-log) has
#                                 more than N lines; fails if PID (the gen
#                                 writing it) exits first or time runs out
#   ocl_check_acked FILE LABEL    every trace id in FILE (one hex id a line, as
#                                 written by `ocelot gen --ack-log`) must be
#                                 readable at /api/traces/<id>; fails otherwise
#   fail MSG…                     print MSG (and the server's output tail), exit 1
#   skip MSG…                     print "SKIP: MSG", exit 77
#
# An EXIT trap kills a server still running and removes the temp data dir
# (OCELOT_KEEP_DATA=1 keeps it). Only 127.0.0.1 is ever used.

set -u

: "${OCELOT_BIN:?OCELOT_BIN must point to the ocelot binary}"
[ -x "$OCELOT_BIN" ] || { echo "OCELOT_BIN=$OCELOT_BIN is not an executable file" >&2; exit 1; }

OCL_GRPC= OCL_HTTP= OCL_API= OCL_DATA= OCL_PID= OCL_LOG=
OCL_ARGS=()
OCL_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ocelot-it-XXXXXX")
OCL_RUNS=0

ocl_cleanup() {
	if [ -n "$OCL_PID" ] && kill -0 "$OCL_PID" 2>/dev/null; then
		kill -KILL "$OCL_PID" 2>/dev/null
		wait "$OCL_PID" 2>/dev/null || true
	fi
	if [ -z "${OCELOT_KEEP_DATA:-}" ]; then
		rm -rf "$OCL_TMP"
	else
		echo "kept: $OCL_TMP" >&2
	fi
}
trap ocl_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

fail() {
	echo "FAIL: $*" >&2
	if [ -n "$OCL_LOG" ] && [ -f "$OCL_LOG" ]; then
		echo "--- ocelot output (tail) ---" >&2
		tail -n 40 "$OCL_LOG" >&2
	fi
	exit 1
}

skip() {
	echo "SKIP: $*"
	exit 77
}

# Start a server process on $OCL_DATA with "${OCL_ARGS[@]}".
ocl_launch() {
	OCL_RUNS=$((OCL_RUNS + 1))
	OCL_LOG="$OCL_TMP/ocelot.$OCL_RUNS.log"
	OCL_GRPC= OCL_HTTP= OCL_API=
	"$OCELOT_BIN" serve --data-dir "$OCL_DATA" \
		--otlp-grpc 127.0.0.1:0 --otlp-http 127.0.0.1:0 --http 127.0.0.1:0 \
		"${OCL_ARGS[@]}" >"$OCL_LOG" 2>&1 &
	OCL_PID=$!
	local deadline=$((SECONDS + 10)) line
	while :; do
		if grep -qx 'ocelot: ready' "$OCL_LOG" 2>/dev/null; then
			break
		fi
		if ! kill -0 "$OCL_PID" 2>/dev/null; then
			local rc=0
			wait "$OCL_PID" || rc=$?
			OCL_PID=
			fail "ocelot exited (status $rc) before printing 'ocelot: ready'"
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			fail "ocelot did not print 'ocelot: ready' within 10 s"
		fi
		sleep 0.05
	done
	line=$(grep -m1 -E '^ocelot: otlp-grpc listening on 127\.0\.0\.1:[0-9]+$' "$OCL_LOG") || fail "no 'otlp-grpc listening' line"
	OCL_GRPC=${line#ocelot: otlp-grpc listening on }
	line=$(grep -m1 -E '^ocelot: otlp-http listening on 127\.0\.0\.1:[0-9]+$' "$OCL_LOG") || fail "no 'otlp-http listening' line"
	OCL_HTTP=${line#ocelot: otlp-http listening on }
	line=$(grep -m1 -E '^ocelot: http listening on 127\.0\.0\.1:[0-9]+$' "$OCL_LOG") || fail "no 'http listening' line"
	OCL_API=${line#ocelot: http listening on }
}

ocl_start() {
	OCL_ARGS=("$@")
	OCL_DATA="$OCL_TMP/data"
	rm -rf "$OCL_DATA"
	mkdir -p "$OCL_DATA"
	ocl_launch
}

ocl_stop() {
	[ -n "$OCL_PID" ] || fail "ocl_stop: no server running"
	kill -TERM "$OCL_PID" 2>/dev/null || fail "ocl_stop: server $OCL_PID already gone"
	local deadline=$((SECONDS + 10))
	while kill -0 "$OCL_PID" 2>/dev/null; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			kill -KILL "$OCL_PID" 2>/dev/null
			wait "$OCL_PID" 2>/dev/null || true
			OCL_PID=
			fail "ocelot did not exit within 10 s of SIGTERM"
		fi
		sleep 0.05
	done
	local rc=0
	wait "$OCL_PID" || rc=$?
	OCL_PID=
	[ "$rc" -eq 0 ] || fail "ocelot exited with status $rc after SIGTERM (expected 0)"
}

ocl_kill9() {
	[ -n "$OCL_PID" ] || fail "ocl_kill9: no server running"
	kill -KILL "$OCL_PID" 2>/dev/null
	wait "$OCL_PID" 2>/dev/null || true
	OCL_PID=
}

ocl_restart() {
	if [ -n "$OCL_PID" ]; then
		ocl_stop
	fi
	ocl_launch
}

ocl_wait_acks() {
	local file=$1 n=$2 pid=$3 deadline=$((SECONDS + 30))
	while [ "$(wc -l <"$file")" -le "$n" ]; do
		kill -0 "$pid" 2>/dev/null || fail "gen (pid $pid) exited before acknowledging anything in $file"
		if [ "$SECONDS" -ge "$deadline" ]; then
			kill -INT "$pid" 2>/dev/null
			fail "gen acknowledged nothing in $file within 30 s"
		fi
		sleep 0.05
	done
}

ocl_check_acked() {
	# One curl process for all ids (connection reuse); one status per id.
	local acked=$1 label=$2 cfg="$OCL_TMP/urls.cfg" ids="$OCL_TMP/ids" n ok codes
	sort -u "$acked" >"$ids"
	n=$(wc -l <"$ids")
	[ "$n" -gt 0 ] || fail "$label: no acknowledged traces at all"
	awk -v api="$OCL_API" '{printf "url = \"http://%s/api/traces/%s\"\noutput = \"/dev/null\"\n", api, $1}' \
		"$ids" >"$cfg"
	codes=$(curl -s --max-time 120 -K "$cfg" -w '%{http_code}\n')
	ok=$(grep -c '^200$' <<<"$codes")
	if [ "$ok" -ne "$n" ]; then
		paste "$ids" <(echo "$codes") | grep -v '200$' | head -5 >&2
		fail "$label: only $ok of $n acknowledged traces are retrievable"
	fi
	echo "$label: all $n acknowledged traces retrievable"
}
