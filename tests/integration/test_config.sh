#!/usr/bin/env bash
# Configuration files: `ocelot check` on a good and a bad file (exit codes,
# messages, effective settings), and `ocelot serve --config` with port 0 for
# all three endpoints in the file and a flag that overrides one setting
# (defaults < file < flags): the printed listen lines and /-/ready work.
# Only 127.0.0.1 is used.
set -euo pipefail
. "$(dirname "$0")/lib/lib.sh"
command -v curl >/dev/null || fail "curl is not installed"

good=$OCL_TMP/good.yaml
cat >"$good" <<YAML
receivers:
  otlp:
    protocols:
      grpc: {endpoint: 127.0.0.1:0, max_recv_msg_size_mib: 8}
      http: {endpoint: 127.0.0.1:0, max_request_body_size: 10485760}
processors:
  memory_limiter: {limit_mib: 128}
  batch:
exporters:
  store:
server:
  http: {endpoint: 127.0.0.1:0}
  workers: 2
storage:
  path: $OCL_TMP/from-file
  wal: {fsync: never}
  traces: {retention: 2d}
log: {level: warn}
service:
  pipelines:
    traces: {receivers: [otlp], processors: [memory_limiter, batch], exporters: [store]}
    metrics: {receivers: [otlp], exporters: [store]}
    logs: {receivers: [otlp], exporters: [store]}
YAML

# --- ocelot check: good file -------------------------------------------------
out=$("$OCELOT_BIN" check "$good") || fail "ocelot check on a good file exited $?"
grep -qx "config OK: $good" <<<"$out" || fail "no 'config OK' line: $out"
for want in \
	'receivers.otlp.protocols.grpc.endpoint: 127.0.0.1:0' \
	'receivers.otlp.protocols.grpc.max_recv_msg_size: 8MiB' \
	'receivers.otlp.protocols.http.max_request_body_size: 10MiB' \
	'server.workers: 2' \
	'storage.wal.fsync: never' \
	'storage.wal.fsync_interval: 100ms' \
	'storage.traces.retention: 2d' \
	'memory_limiter.limit: 128MiB' \
	'log.level: warn'; do
	grep -qxF "$want" <<<"$out" || fail "ocelot check output lacks '$want': $out"
done
# Every further line is one effective setting "key: value" (the set grows
# with features; each must print in that form).
[ "$(wc -l <<<"$out")" -ge 14 ] || fail "expected 'config OK' and at least 13 settings, got: $out"
bad_lines=$(tail -n +2 <<<"$out" | grep -cvE '^[a-z_.]+(\[[0-9]+\])?[a-z_.]*: ' || true)
[ "$bad_lines" -eq 0 ] || fail "ocelot check printed lines that are not settings: $out"
[ ! -e "$OCL_TMP/from-file" ] || fail "ocelot check created the data dir"

# --- ocelot check: bad files -------------------------------------------------
bad=$OCL_TMP/bad.yaml
printf 'storage:\n  path: x\n  wal:\n    fsync: never\n    fsynk_interval: 5s\n' >"$bad"
rc=0
err=$("$OCELOT_BIN" check "$bad" 2>&1 >/dev/null) || rc=$?
[ "$rc" -eq 1 ] || fail "ocelot check on a bad file exited $rc, expected 1"
[ "$err" = "$bad:5: unknown key \"fsynk_interval\" in storage.wal" ] || fail "bad-file message: $err"

printf 'exporters:\n  otlp:\n    endpoint: collector:4317\n' >"$bad"
rc=0
err=$("$OCELOT_BIN" check "$bad" 2>&1 >/dev/null) || rc=$?
[ "$rc" -eq 1 ] || fail "ocelot check on an unsupported section exited $rc, expected 1"
grep -q "^$bad:2: exporters.otlp is not supported yet" <<<"$err" || fail "unsupported message: $err"

printf 'log:\n  level: "info\n' >"$bad"
rc=0
err=$("$OCELOT_BIN" check "$bad" 2>&1 >/dev/null) || rc=$?
[ "$rc" -eq 1 ] || fail "ocelot check on malformed YAML exited $rc, expected 1"
grep -q "^$bad:[0-9]*: YAML syntax error" <<<"$err" || fail "malformed-YAML message: $err"

rc=0
"$OCELOT_BIN" check "$OCL_TMP/missing.yaml" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "ocelot check on a missing file exited $rc, expected 1"
"$OCELOT_BIN" check --help | grep -q 'usage: ocelot check CONFIG' || fail "ocelot check --help"
rc=0
"$OCELOT_BIN" check >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "ocelot check without an argument exited $rc, expected 2"

# --- serve refuses a bad file before binding anything -------------------------
rc=0
err=$("$OCELOT_BIN" serve --config "$bad" 2>&1) || rc=$?
[ "$rc" -eq 2 ] || fail "serve with a bad config exited $rc, expected 2"
grep -q "^ocelot: $bad:[0-9]*: YAML syntax error" <<<"$err" || fail "serve bad-config message: $err"

# --- serve --config: the file's ports (0) and data dir, a flag overrides ------
# Ports and data dir come from the file; --log-level info on the command line
# overrides the file's log.level: warn (visible as startup info lines).
OCL_LOG=$OCL_TMP/serve.log
"$OCELOT_BIN" serve --config "$good" --log-level info >"$OCL_LOG" 2>&1 &
OCL_PID=$!
deadline=$((SECONDS + 10))
until grep -qx 'ocelot: ready' "$OCL_LOG" 2>/dev/null; do
	kill -0 "$OCL_PID" 2>/dev/null || { OCL_PID=; fail "serve --config exited before 'ocelot: ready'"; }
	[ "$SECONDS" -lt "$deadline" ] || fail "serve --config not ready within 10 s"
	sleep 0.05
done
for l in otlp-grpc otlp-http http; do
	line=$(grep -m1 -E "^ocelot: $l listening on 127\.0\.0\.1:[1-9][0-9]*$" "$OCL_LOG") ||
		fail "no '$l listening' line with a real port"
	eval "addr_${l//-/_}=\${line#ocelot: $l listening on }"
done
[ -d "$OCL_TMP/from-file/wal" ] || fail "data dir from the file ($OCL_TMP/from-file) was not used"
# --log-level info overrode the file's warn: the startup info lines appear.
grep -q 'replayed WAL' "$OCL_LOG" || fail "--log-level info did not override log.level: warn"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$addr_http/-/ready") ||
	fail "GET /-/ready failed"
[ "$code" = 200 ] || fail "GET /-/ready returned $code"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H 'Content-Type: application/json' \
	--data '{}' "http://$addr_otlp_http/v1/traces") || fail "POST /v1/traces failed"
[ "$code" = 200 ] || fail "POST /v1/traces returned $code"
(exec 3<>"/dev/tcp/${addr_otlp_grpc%:*}/${addr_otlp_grpc##*:}") 2>/dev/null ||
	fail "cannot connect to otlp-grpc $addr_otlp_grpc"
ocl_stop

# Without the override the file's warn level holds: no info lines. (A new
# log file: the old one still says "ready" until the child truncates it.)
OCL_LOG=$OCL_TMP/serve-warn.log
"$OCELOT_BIN" serve --config "$good" >"$OCL_LOG" 2>&1 &
OCL_PID=$!
deadline=$((SECONDS + 10))
until grep -qx 'ocelot: ready' "$OCL_LOG" 2>/dev/null; do
	kill -0 "$OCL_PID" 2>/dev/null || { OCL_PID=; fail "serve --config exited before 'ocelot: ready'"; }
	[ "$SECONDS" -lt "$deadline" ] || fail "serve --config not ready within 10 s"
	sleep 0.05
done
! grep -q 'replayed WAL' "$OCL_LOG" || fail "log.level: warn from the file was not applied"
ocl_stop

# A flag value is validated the same way as the file's.
rc=0
err=$("$OCELOT_BIN" serve --config "$good" --fsync-interval 0 2>&1) || rc=$?
[ "$rc" -eq 2 ] || fail "serve --fsync-interval 0 exited $rc, expected 2"
grep -qx "ocelot: invalid value '0' for --fsync-interval" <<<"$err" || fail "flag message: $err"

# lib.sh's start passes --data-dir and the listen flags: they override the
# file wherever they appear on the command line.
ocl_start --config "$good"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$OCL_API/-/ready")
[ "$code" = 200 ] || fail "GET /-/ready via ocl_start returned $code"
[ -d "$OCL_DATA/wal" ] || fail "--data-dir did not override storage.path"
ocl_stop
echo "ok"
