#!/usr/bin/env bash
# Prometheus-style scraping. ocelot scrapes (a) the /metrics endpoint of a
# real Prometheus (Debian's 2.42) started on a free loopback port, (b) a
# static exposition served by `python3 -m http.server`, and (c) itself.
# Checked through ocelot's own /metrics (scrapes by job and result) and,
# when the Prometheus query API is there, through GET /api/v1/query: up,
# target labels, a real Prometheus series, `le` normalisation, and staleness
# when a series is deleted from the file and when the file server stops.
# Only 127.0.0.1 is used; every process started here is stopped.
set -euo pipefail
. "$(dirname "$0")/lib/lib.sh"
command -v curl >/dev/null || fail "curl is not installed"
command -v python3 >/dev/null || fail "python3 is not installed"
command -v prometheus >/dev/null || skip "prometheus is not installed (Debian package prometheus)"

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

PROM_PID= WEB_PID=
stop_peers() {
	if [ -n "$PROM_PID" ]; then kill "$PROM_PID" 2>/dev/null || true; wait "$PROM_PID" 2>/dev/null || true; PROM_PID=; fi
	if [ -n "$WEB_PID" ]; then kill "$WEB_PID" 2>/dev/null || true; wait "$WEB_PID" 2>/dev/null || true; WEB_PID=; fi
}
trap 'stop_peers; ocl_cleanup' EXIT

# --- (a) a real Prometheus --------------------------------------------------
prom_port=$(free_port)
mkdir -p "$OCL_TMP/prom"
printf 'global: {scrape_interval: 1h}\nscrape_configs: []\n' >"$OCL_TMP/prom/prometheus.yml"
prometheus --config.file="$OCL_TMP/prom/prometheus.yml" --storage.tsdb.path="$OCL_TMP/prom/data" \
	--web.listen-address="127.0.0.1:$prom_port" >"$OCL_TMP/prom/log" 2>&1 &
PROM_PID=$!
for _ in $(seq 1 200); do
	curl -fsS "http://127.0.0.1:$prom_port/-/ready" >/dev/null 2>&1 && break
	kill -0 "$PROM_PID" 2>/dev/null || { tail "$OCL_TMP/prom/log" >&2; fail "prometheus exited"; }
	sleep 0.1
done
grep -q '^prometheus_build_info' <<<"$(curl -fsS "http://127.0.0.1:$prom_port/metrics")" ||
	fail "prometheus on port $prom_port does not serve /metrics"

# --- (b) a static exposition --------------------------------------------------
web_port=$(free_port)
mkdir -p "$OCL_TMP/web"
cat >"$OCL_TMP/web/metrics" <<'EOF'
# HELP demo_gauge A gauge for the scrape test.
# TYPE demo_gauge gauge
demo_gauge{series="keep"} 1
demo_gauge{series="vanish"} 2
# TYPE demo_latency histogram
demo_latency_bucket{le="1"} 3
demo_latency_bucket{le="+Inf"} 4
demo_latency_sum 2.5
demo_latency_count 4
EOF
(cd "$OCL_TMP/web" && exec python3 -m http.server --bind 127.0.0.1 "$web_port") >"$OCL_TMP/web.log" 2>&1 &
WEB_PID=$!
for _ in $(seq 1 100); do
	curl -fsS "http://127.0.0.1:$web_port/metrics" >/dev/null 2>&1 && break
	sleep 0.1
done
grep -q demo_gauge <<<"$(curl -fsS "http://127.0.0.1:$web_port/metrics")" || fail "http.server does not serve the file"

# --- ocelot ---------------------------------------------------------------------
cfg=$OCL_TMP/ocelot.yaml
cat >"$cfg" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 800ms
server:
  self_scrape_interval: 1s
scrape_configs:
  - job_name: prom
    static_configs:
      - targets: ['127.0.0.1:$prom_port']
  - job_name: file
    static_configs:
      - targets: ['127.0.0.1:$web_port']
        labels: {origin: file}
YAML
"$OCELOT_BIN" check "$cfg" >/dev/null || fail "ocelot check rejects the scrape config"
ocl_start --config "$cfg"
grep -q 'scraping 3 targets' "$OCL_LOG" || fail "no 'scraping 3 targets' log line"

# Every job is scraped successfully (ocelot's own counters).
scrapes() { # job result → count
	curl -fsS "http://$OCL_API/metrics" |
		awk -v m="ocelot_scrapes_total{job=\"$1\",result=\"$2\"}" '$1 == m { print $2 }'
}
for job in prom file ocelot; do
	ok=0
	for _ in $(seq 1 100); do
		n=$(scrapes "$job" success)
		if [ -n "$n" ] && [ "${n%.*}" -ge 2 ]; then ok=1; break; fi
		sleep 0.1
	done
	[ "$ok" = 1 ] || fail "job $job: no two successful scrapes within 10 s ($(scrapes "$job" failure) failures)"
	[ "$(scrapes "$job" failure)" = 0 ] || fail "job $job: failed scrapes: $(scrapes "$job" failure)"
done

# Every batch was stored, and the store holds series.
selfm=$(curl -fsS "http://$OCL_API/metrics")
grep -qx 'ocelot_scrape_write_failures_total 0' <<<"$selfm" ||
	fail "scraped batches were refused by the store: $(grep scrape_write_failures <<<"$selfm")"
grep -qx 'ocelot_scrape_targets 3' <<<"$selfm" || fail "ocelot_scrape_targets is not 3"
head_series=$(awk '$1 == "ocelot_tsdb_head_series" { print $2 }' <<<"$selfm")
[ -n "$head_series" ] && [ "${head_series%.*}" -gt 100 ] ||
	fail "the TSDB head holds '${head_series}' series after scraping Prometheus (expected > 100)"

# --- the query API -------------------------------------------------------------------
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$OCL_API/api/v1/query?query=up")
if [ "$code" = 404 ] || [ "$code" = 501 ]; then
	ocl_stop
	skip "scraping works (3 jobs scraped, see ocelot_scrapes_total) but GET /api/v1/query answers $code:" \
		"the Prometheus query API is not in this build, so stored values and staleness are not checked"
fi
[ "$code" = 200 ] || fail "GET /api/v1/query?query=up answered $code"

# query EXPR → one line per series: "labels-json value" (sorted), via python
query() {
	curl -fsS --get "http://$OCL_API/api/v1/query" --data-urlencode "query=$1" |
		python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["status"] == "success", d
for r in sorted(d["data"]["result"], key=lambda r: json.dumps(r["metric"], sort_keys=True)):
    print(json.dumps(r["metric"], sort_keys=True), r["value"][1])'
}
wait_query() { # EXPR WANT-REGEX: retries ≤ 10 s until the output matches
	local out=
	for _ in $(seq 1 50); do
		out=$(query "$1") || true
		grep -Eq "$2" <<<"$out" && return 0
		sleep 0.2
	done
	fail "query $1: wanted /$2/, got: $out"
}

wait_query 'up{job="prom"}' "\"instance\": \"127.0.0.1:$prom_port\", \"job\": \"prom\"\\} 1$"
wait_query 'up{job="file"}' "\"instance\": \"127.0.0.1:$web_port\", \"job\": \"file\", \"origin\": \"file\"\\} 1$"
wait_query 'up{job="ocelot"}' '"job": "ocelot"\} 1$'
wait_query "prometheus_build_info{job=\"prom\"}" '"version": "2\.42\.0[^"]*".* 1$'
wait_query 'scrape_samples_scraped{job="prom"} > 100' '"job": "prom"'
wait_query 'demo_latency_bucket{le="1.0"}' '"le": "1.0".* 3$'
wait_query 'demo_gauge{series="vanish"}' '"series": "vanish"\} 2$'

# Staleness: a series deleted from the exposition disappears at once
# (not after the 5 minute lookback), the others stay.
grep -v 'series="vanish"' "$OCL_TMP/web/metrics" >"$OCL_TMP/web/metrics.new"
mv "$OCL_TMP/web/metrics.new" "$OCL_TMP/web/metrics"
for _ in $(seq 1 50); do
	[ -z "$(query 'demo_gauge{series="vanish"}')" ] && break
	sleep 0.2
done
[ -z "$(query 'demo_gauge{series="vanish"}')" ] || fail "the deleted series is still returned (no staleness marker)"
wait_query 'demo_gauge{series="keep"}' '"series": "keep"\} 1$'

# The target goes down: up=0 and its series go stale.
kill "$WEB_PID"; wait "$WEB_PID" 2>/dev/null || true; WEB_PID=
wait_query 'up{job="file"}' '"job": "file".* 0$'
for _ in $(seq 1 50); do
	[ -z "$(query 'demo_gauge')" ] && break
	sleep 0.2
done
[ -z "$(query 'demo_gauge')" ] || fail "series of a failed target are still returned"
wait_query 'up{job="prom"}' '"job": "prom".* 1$'

ocl_stop
stop_peers
echo "PASS: scraping prometheus, a static file and ocelot itself"
