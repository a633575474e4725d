#!/usr/bin/env bash
# PromQL answers of ocelot against a real Prometheus (Debian's 2.42), asked
# with the real promtool. Both servers receive the same remote-write samples
# (`ocelot gen --signals prom-rw` with the same --seed, --series and
# --start-ms: 10 node-exporter-like hosts, 1,200 series, 1 h of 15 s
# scrapes), then `promtool query instant` and `promtool query range -o json`
# run a set of typical dashboard queries against both; the results must
# have the same label sets with values equal within a relative 1e-9.
#
# Window edges: 2.42's range selectors and lookback are left-closed, 3.x's
# left-open (DESIGN.md). The data starts at a multiple of 15 s and every
# host's scrape offset keeps its samples >= 45 ms away from multiples of
# 15 s (synth.h); every evaluation time here is a multiple of 60 s and every
# range a multiple of 15 s, so no sample sits on a window edge. Functions
# missing from 2.42 are not used. Skips (exit 77, loudly) without
# prometheus or promtool.
. "$(dirname "$0")/lib/lib.sh"

command -v prometheus >/dev/null || skip "prometheus is not installed (apt-get install prometheus): ocelot's PromQL answers were NOT compared"
command -v promtool >/dev/null || skip "promtool is not installed (apt-get install prometheus): ocelot's PromQL answers were NOT compared"
command -v node >/dev/null || skip "node is required to compare the answers"

# --- Prometheus on a free port, its own temp dir
PROM_PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
PROM="http://127.0.0.1:$PROM_PORT"
mkdir -p "$OCL_TMP/prom"
printf 'global:\n  scrape_interval: 15s\n' >"$OCL_TMP/prom.yml"
prometheus --web.enable-remote-write-receiver --storage.tsdb.path="$OCL_TMP/prom" \
	--web.listen-address="127.0.0.1:$PROM_PORT" --config.file="$OCL_TMP/prom.yml" \
	>"$OCL_TMP/prometheus.log" 2>&1 &
PROM_PID=$!
trap 'kill -KILL "$PROM_PID" 2>/dev/null; wait "$PROM_PID" 2>/dev/null; ocl_cleanup' EXIT
deadline=$((SECONDS + 30))
until curl -sf -o /dev/null "$PROM/-/ready"; do
	kill -0 "$PROM_PID" 2>/dev/null || { cat "$OCL_TMP/prometheus.log" >&2; fail "prometheus exited"; }
	[ $SECONDS -lt $deadline ] || fail "prometheus not ready within 30 s"
	sleep 0.1
done

ocl_start

# --- the same samples to both: 240 steps of 15 s ending ~2 min ago
STEPS=240
NOW=$(date +%s)
START_S=$(((NOW - (STEPS + 8) * 15) / 60 * 60))
END_S=$((START_S + STEPS * 15))
for target in "$PROM" "http://$OCL_API"; do
	"$OCELOT_BIN" gen --signals prom-rw --endpoint "$target" --seed 42 --series 1200 \
		--steps "$STEPS" --start-ms "$((START_S * 1000))" --batch 2000 --concurrency 2 \
		>"$OCL_TMP/gen.log" 2>&1 || { cat "$OCL_TMP/gen.log" >&2; fail "gen to $target failed"; }
	grep -q "acknowledged: 288000 Prometheus samples" "$OCL_TMP/gen.log" ||
		{ cat "$OCL_TMP/gen.log" >&2; fail "$target did not acknowledge all 288000 samples"; }
done

# --- queries: evaluation times are multiples of 60 s inside the data
T_INSTANT=$((END_S - 120))
R_START=$((START_S + 1200))
R_END=$((END_S - 60))
QUERIES=(
	'rate(node_cpu_seconds_total{mode="user"}[5m])'
	'increase(node_network_receive_bytes_total[10m])'
	'sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))'
	'sum by (mode) (irate(node_cpu_seconds_total[1m]))'
	'1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes'
	'node_filesystem_avail_bytes / on (instance, device, mountpoint) node_filesystem_size_bytes'
	'sum by (handler) (rate(http_request_duration_seconds_count{code=~"5.."}[5m])) / sum by (handler) (rate(http_request_duration_seconds_count[5m]))'
	'histogram_quantile(0.99, sum by (le, handler) (rate(http_request_duration_seconds_bucket[5m])))'
	'histogram_quantile(0.5, rate(http_request_duration_seconds_bucket{handler="/api/v1/write"}[5m]))'
	'rate(http_request_duration_seconds_sum[5m]) / rate(http_request_duration_seconds_count[5m])'
	'topk(3, rate(node_network_transmit_bytes_total[5m]))'
	'bottomk(2, node_load1)'
	'avg_over_time(node_load1[10m])'
	'max_over_time(node_memory_MemFree_bytes[15m]) - min_over_time(node_memory_MemFree_bytes[15m])'
	'max_over_time(rate(node_disk_io_time_seconds_total[1m])[10m:1m])'
	'label_replace(node_load5, "host", "$1", "instance", "(.*):9100")'
	'count by (job) (up)'
	'sum(rate(node_disk_written_bytes_total[5m])) by (device)'
	'delta(node_filesystem_avail_bytes{mountpoint="/"}[30m])'
	'deriv(node_memory_Cached_bytes[10m])'
	'quantile(0.9, node_load15)'
	'stddev by (instance) (rate(node_cpu_seconds_total[5m]))'
	'abs(node_load1 - node_load5) > 0.1'
	'count(count by (instance) (node_cpu_seconds_total))'
)

n=0
for q in "${QUERIES[@]}"; do
	n=$((n + 1))
	for side in prom ocl; do
		if [ $side = prom ]; then srv=$PROM; else srv="http://$OCL_API"; fi
		promtool query instant -o json --time="$T_INSTANT" "$srv" "$q" \
			>"$OCL_TMP/q$n.instant.$side.json" 2>"$OCL_TMP/q$n.instant.$side.err" ||
			fail "promtool query instant against $side failed for: $q: $(cat "$OCL_TMP/q$n.instant.$side.err")"
		promtool query range -o json --start="$R_START" --end="$R_END" --step=60s "$srv" "$q" \
			>"$OCL_TMP/q$n.range.$side.json" 2>"$OCL_TMP/q$n.range.$side.err" ||
			fail "promtool query range against $side failed for: $q: $(cat "$OCL_TMP/q$n.range.$side.err")"
	done
done

printf '%s\n' "${QUERIES[@]}" >"$OCL_TMP/queries.txt"
node --input-type=module - "$OCL_TMP" "$n" <<'EOF' || fail "ocelot's answers differ from Prometheus's (see above)"
import { readFileSync } from 'node:fs';
const [dir, nq] = [process.argv[2], Number(process.argv[3])];
const queries = readFileSync(`${dir}/queries.txt`, 'utf8').split('\n');
const key = (m) => JSON.stringify(Object.keys(m).sort().map((k) => [k, m[k]]));
const close = (a, b) => {
  const x = Number(a), y = Number(b);
  if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) && Number.isNaN(y);
  if (x === y) return true;
  return Math.abs(x - y) <= 1e-9 * Math.max(Math.abs(x), Math.abs(y)) + 1e-12;
};
// instant: [{metric, value: [t, "v"]}], range: [{metric, values: [[t, "v"], ...]}]
const points = (r) => (r.values ? r.values : [r.value]);
let bad = 0, compared = 0, nonEmpty = 0;
for (let i = 1; i <= nq; i++) {
  for (const kind of ['instant', 'range']) {
    const p = JSON.parse(readFileSync(`${dir}/q${i}.${kind}.prom.json`, 'utf8') || 'null') ?? [];
    const o = JSON.parse(readFileSync(`${dir}/q${i}.${kind}.ocl.json`, 'utf8') || 'null') ?? [];
    const q = queries[i - 1];
    const pm = new Map(p.map((s) => [key(s.metric), points(s)]));
    const om = new Map(o.map((s) => [key(s.metric), points(s)]));
    const errs = [];
    for (const k of pm.keys()) if (!om.has(k)) errs.push(`series missing in ocelot: ${k}`);
    for (const k of om.keys()) if (!pm.has(k)) errs.push(`extra series in ocelot: ${k}`);
    for (const [k, pv] of pm) {
      const ov = om.get(k);
      if (!ov) continue;
      const pt = new Map(pv.map(([t, v]) => [Math.round(t * 1000), v]));
      const ot = new Map(ov.map(([t, v]) => [Math.round(t * 1000), v]));
      for (const [t, v] of pt) {
        compared++;
        if (!ot.has(t)) errs.push(`${k} @${t}: no point in ocelot (prometheus ${v})`);
        else if (!close(v, ot.get(t))) errs.push(`${k} @${t}: ocelot ${ot.get(t)}, prometheus ${v}`);
      }
      for (const t of ot.keys()) if (!pt.has(t)) errs.push(`${k} @${t}: extra point in ocelot`);
    }
    if (p.length) nonEmpty++;
    if (errs.length) {
      bad++;
      console.error(`DIFF ${kind} q${i}: ${q}\n  ${errs.slice(0, 5).join('\n  ')}${errs.length > 5 ? `\n  ... ${errs.length - 5} more` : ''}`);
    }
  }
}
console.log(`${nq} queries x instant/range: ${compared} points compared, ${nonEmpty} non-empty Prometheus answers, ${bad} differing`);
if (nonEmpty < nq * 2 - 2) { console.error('too many empty answers: the data did not arrive as intended'); process.exit(1); }
process.exit(bad ? 1 : 0);
EOF
ocl_stop
echo "test_promtool_compare: ok"
