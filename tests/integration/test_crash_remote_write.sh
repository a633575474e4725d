#!/usr/bin/env bash
# Crash test for Prometheus remote-write: `ocelot gen --signals prom-rw`
# drives sustained ingest into POST /api/v1/write while the server is killed
# with SIGKILL at random moments, several rounds. gen writes every sample of
# an acknowledged request to --ack-log before counting it. After each restart
# every acknowledged sample must be queryable with its exact timestamp and
# value: one range-vector query per round's job ({job="crash-N"}[span] at
# the newest acknowledged time) returns the raw samples, and a node script
# checks that each acknowledged (series, timestamp) is there with the same
# value. Each round uses its own job label, so its series are new (a new gen
# run starts its timestamps again from now - steps x 15 s).
. "$(dirname "$0")/lib/lib.sh"

command -v node >/dev/null || skip "node is required for the acknowledged-sample check"

ROUNDS=${CRASH_ROUNDS:-4}
RANDOM=$$

# check_acked LABEL — every sample in $OCL_TMP/ack.*.txt is stored.
check_acked() {
	local label=$1
	OCL_API_URL="http://$OCL_API" node --input-type=module - "$label" "$OCL_TMP"/ack.*.txt <<'EOF' || fail "$label: acknowledged samples are missing (see above)"
import { readFileSync } from 'node:fs';
const [label, ...files] = process.argv.slice(2);
const api = process.env.OCL_API_URL;
// ack lines: "<t ms> <value> <series as Prometheus prints it>"
const byJob = new Map();
for (const f of files) {
  for (const line of readFileSync(f, 'utf8').split('\n')) {
    if (!line) continue;
    const a = line.indexOf(' '), b = line.indexOf(' ', a + 1);
    const t = Number(line.slice(0, a)), v = Number(line.slice(a + 1, b)), series = line.slice(b + 1);
    const job = /job="([^"]*)"/.exec(series)[1];
    if (!byJob.has(job)) byJob.set(job, { min: t, max: t, acks: [] });
    const j = byJob.get(job);
    j.min = Math.min(j.min, t); j.max = Math.max(j.max, t);
    j.acks.push([series, t, v]);
  }
}
const key = (m) => {
  const names = Object.keys(m).filter((k) => k !== '__name__').sort();
  return `${m.__name__}{${names.map((k) => `${k}="${m[k]}"`).join(', ')}}`;
};
let total = 0, missing = 0, wrong = 0;
for (const [job, j] of byJob) {
  const span = Math.ceil((j.max - j.min) / 1000) + 60;
  const q = `{job="${job}"}[${span}s]`;
  const url = `${api}/api/v1/query?query=${encodeURIComponent(q)}&time=${(j.max + 1) / 1000}`;
  const res = await fetch(url);
  const body = await res.json();
  if (body.status !== 'success') {
    console.error(`${label}: ${q}: HTTP ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
    process.exit(1);
  }
  const got = new Map();
  for (const s of body.data.result) {
    const k = key(s.metric);
    for (const [ts, val] of s.values) got.set(`${k} ${Math.round(ts * 1000)}`, Number(val));
  }
  for (const [series, t, v] of j.acks) {
    total++;
    const g = got.get(`${series} ${t}`);
    if (g === undefined) {
      if (missing++ < 5) console.error(`${label}: missing ${series} @${t}`);
    } else if (g !== v && !(Number.isNaN(g) && Number.isNaN(v))) {
      if (wrong++ < 5) console.error(`${label}: ${series} @${t}: stored ${g}, acknowledged ${v}`);
    }
  }
}
if (!total) { console.error(`${label}: no acknowledged samples at all`); process.exit(1); }
if (missing || wrong) {
  console.error(`${label}: ${missing} missing and ${wrong} different of ${total} acknowledged samples`);
  process.exit(1);
}
console.log(`${label}: all ${total} acknowledged samples of ${byJob.size} job(s) are stored`);
EOF
}

ocl_start --fsync interval --workers 2
for round in $(seq 1 "$ROUNDS"); do
	ack="$OCL_TMP/ack.$round.txt"
	: >"$ack"
	# 1,200 series (10 hosts) x 200 steps in 300-sample requests at <= 100
	# requests/s: ~8 s of load, killed 0.5-3 s in.
	"$OCELOT_BIN" gen --signals prom-rw --endpoint "http://$OCL_API" --job "crash-$round" \
		--seed "$((RANDOM * 100 + round))" --series 1200 --steps 200 --batch 300 \
		--concurrency 4 --rate 100 --timeout-ms 3000 --ack-log "$ack" \
		>"$OCL_TMP/gen.$round.log" 2>&1 &
	gen=$!
	# Kill 0.5-3 s after the first acknowledgement (not after gen's start:
	# on a slow machine gen may not have had an answer yet).
	ocl_wait_acks "$ack" 0 "$gen"
	sleep "$((RANDOM % 3)).$((RANDOM % 10))"
	sleep 0.5
	before=$(wc -l <"$ack")
	ocl_kill9
	kill -INT "$gen" 2>/dev/null
	wait "$gen" 2>/dev/null
	after=$(wc -l <"$ack")
	[ "$after" -gt 0 ] || { cat "$OCL_TMP/gen.$round.log" >&2; fail "round $round: gen acknowledged nothing"; }
	echo "round $round: killed with $before acknowledged samples ($after after gen stopped)"
	ocl_restart
	check_acked "round $round"
done
# A clean stop and start must keep everything too.
ocl_restart
check_acked "round final"
ocl_stop
echo "test_crash_remote_write: ok"
