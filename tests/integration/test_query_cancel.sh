#!/usr/bin/env bash
# A Prometheus API query whose client gives up is cancelled, as Prometheus
# cancels it with the request context (Grafana cancels superseded dashboard
# queries by closing their connections): 20,000 remote-written series make
# a 1 s-step query_range over 15 minutes (and the same work as an instant
# subquery) take seconds; curl --max-time 0.3 leaves after 0.3 s, over
# HTTP/1.1 and HTTP/2 (prior knowledge), alone and as a burst of 8. Checked
# from /metrics: ocelot_prom_api_queries_cancelled_total counts every one
# (stage="running" only moves when the evaluation actually stopped early),
# the running/queued gauges drop to 0, and a follow-up query is answered.
# Outcome does not depend on timing beyond "the heavy query takes longer
# than 0.3 s" (checked: curl must time out); every wait has a deadline.
. "$(dirname "$0")/lib/lib.sh"
curl -V | grep -q HTTP2 || skip "curl has no HTTP/2 support"

ocl_start
"$OCELOT_BIN" gen --signals prom-rw --endpoint "http://$OCL_API" --series 20000 --steps 60 \
	--job qcancel >"$OCL_TMP/gen.log" 2>&1 || { tail -5 "$OCL_TMP/gen.log" >&2; fail "gen failed"; }

# metric NAME{LABELS}: the value on /metrics, or empty (fetch failed).
metric() {
	curl -s --max-time 10 "http://$OCL_API/metrics" | awk -v n="$1" '$1 == n { print $2; exit }'
}
cancelled() { # total over both stages, or empty when /metrics did not answer
	local q r
	q=$(metric 'ocelot_prom_api_queries_cancelled_total{stage="queued"}')
	r=$(metric 'ocelot_prom_api_queries_cancelled_total{stage="running"}')
	if [ -z "$q" ] || [ -z "$r" ]; then
		echo "(/metrics without ocelot_prom_api_queries_cancelled_total; retrying)" >&2
		return
	fi
	echo $((q + r))
}
# wait_until DESC SECONDS CMD…: polls CMD every 0.1 s until it succeeds.
wait_until() {
	local what=$1 deadline=$((SECONDS + $2))
	shift 2
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || fail "$what: not within the deadline"
		sleep 0.1
	done
}
pool_idle() {
	[ "$(metric ocelot_prom_api_queries_running)" = 0 ] && [ "$(metric ocelot_prom_api_queries_queued)" = 0 ]
}
at_least() { # MIN: cancelled() >= MIN
	local c
	c=$(cancelled)
	[ -n "$c" ] && [ "$c" -ge "$1" ]
}
have_baseline() { # sets $before
	before=$(cancelled)
	[ -n "$before" ]
}

NOW=$(date +%s)
RANGE=(--data-urlencode 'query=sum(rate({__name__=~".+"}[1m]))'
	--data-urlencode "start=$((NOW - 900))" --data-urlencode "end=$NOW" --data-urlencode step=1)
INSTANT=(--data-urlencode 'query=sum(sum_over_time(rate({__name__=~".+"}[1m])[15m:1s]))'
	--data-urlencode "time=$NOW")

# abandon N PATH CURL-ARGS…: N clients at once, each leaving after 0.3 s;
# every one must have timed out (exit 28), i.e. the query was still going.
abandon() {
	local n=$1 path=$2 i pids=() rc bad=0
	shift 2
	for ((i = 0; i < n; i++)); do
		curl -s -o /dev/null --max-time 0.3 "$@" "http://$OCL_API$path" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		rc=0
		wait "$p" || rc=$?
		[ "$rc" -eq 28 ] || bad=$((bad + 1))
	done
	[ "$bad" -eq 0 ] || fail "$bad of $n heavy queries on $path did not time out in curl (answered within 0.3 s?)"
}

# follow-up: a small query must be answered (the pool is not clogged).
follow_up() {
	local code t0=$SECONDS
	code=$(curl -s -o "$OCL_TMP/body" -w '%{http_code}' --max-time 30 \
		--data-urlencode 'query=count(node_load1)' "http://$OCL_API/api/v1/query")
	[ "$code" = 200 ] || fail "$1: follow-up query: status $code ($(head -c 300 "$OCL_TMP/body"))"
	grep -q '"status":"success"' "$OCL_TMP/body" || fail "$1: follow-up query: $(head -c 300 "$OCL_TMP/body")"
	echo "$1: follow-up answered in $((SECONDS - t0)) s"
}

round() { # NAME N PATH CURL-ARGS…
	local name=$1 n=$2 before after
	shift 2
	wait_until "$name: reading /metrics" 30 have_baseline
	abandon "$n" "$@"
	wait_until "$name: $n cancellations counted" 60 at_least $((before + n))
	wait_until "$name: query threads idle again" 60 pool_idle
	after=$(cancelled)
	[ -n "$after" ] || fail "$name: /metrics did not answer"
	[ "$after" -eq $((before + n)) ] || fail "$name: $((after - before)) cancellations counted, want $n"
	echo "$name: $n abandoned queries cancelled"
	follow_up "$name"
}

# The Prometheus API (and its self-metrics) starts with its first request.
follow_up "warm-up"
round "query_range HTTP/1.1" 1 /api/v1/query_range "${RANGE[@]}"
round "query (subquery) HTTP/1.1" 1 /api/v1/query "${INSTANT[@]}"
round "query_range HTTP/2" 1 /api/v1/query_range --http2-prior-knowledge "${RANGE[@]}"
round "burst of 8 HTTP/1.1" 8 /api/v1/query_range "${RANGE[@]}"
round "burst of 8 HTTP/2" 8 /api/v1/query_range --http2-prior-knowledge "${RANGE[@]}"

# The running stage really counted stopped evaluations (20 threads: none queued).
r=$(metric 'ocelot_prom_api_queries_cancelled_total{stage="running"}')
[ -n "$r" ] && [ "$r" -ge 19 ] || fail "stage=\"running\" is $r, want 19"
# Clients that leave are answered 499 (dropped), never a server error.
e=$(metric 'ocelot_prom_api_requests_total{endpoint="query_range",code="5xx"}')
[ "$e" = 0 ] || fail "query_range answered $e server errors"
ocl_stop
echo "ok"
