/*
 * synth.h — synthetic but realistic telemetry for `ocelot gen`, benchmarks
 * and tests, built directly as OTLP model structs (wire/otlp.h).
 *
 * Traces model an online shop: frontend, cart, checkout, payment, currency,
 * shipping, email and a product catalog, talking HTTP and gRPC to each other
 * and to PostgreSQL and Redis. Every trace has one SERVER root span; every
 * cross-service call is a CLIENT span with the callee's SERVER span as its
 * child; database calls are CLIENT spans with db.* attributes; some work is
 * INTERNAL. About 2% of traces fail: the failing span and its ancestors get
 * status ERROR, the failing span an "exception" event. A few roots carry a
 * link to the previous trace.
 * Metrics: per service, gauges, monotonic cumulative sums and explicit-bucket
 * histograms over a few attribute sets each, cumulative since the
 * generator's start time. Logs: per service, with severities, templated
 * bodies, attributes and the trace/span ids of recently generated spans.
 *
 * Invariants: trace ids are 16 non-zero bytes, span ids 8 non-zero bytes;
 * every parent_span_id names a span of the same trace in the same request
 * (spans are generated parent first and a request holds a prefix of the last
 * trace when the span budget ends inside it); a child's [start, end] lies
 * within its parent's. A call asking for n records yields exactly n.
 * The output is deterministic for a given seed and `now`.
 *
 * Ownership: the request and everything it points to live in the arena
 * passed in, except string constants and per-generator strings owned by the
 * ocl_synth_t (so the generator must outlive the request). Not thread-safe.
 * Workload: batches of 100-10,000 records, produced as fast as they can be
 * encoded (a few hundred ns per span).
 */
#ifndef OCL_CLI_SYNTH_H
#define OCL_CLI_SYNTH_H

#include "core/arena.h"
#include "wire/otlp.h"

typedef struct ocl_synth ocl_synth_t;

/* `seed` selects the random stream (ids, shapes, values); `start_unix_nano`
 * is the start time of the cumulative metrics (0 = now). Never NULL. */
ocl_synth_t *ocl_synth_create(uint64_t seed, uint64_t start_unix_nano);
void ocl_synth_destroy(ocl_synth_t *s);

/* Fills `out` with exactly `n_spans` spans of traces ending at about `now`
 * (0 = the wall clock). Returns 0 or OCL_EINVAL for n_spans == 0. */
int ocl_synth_traces(ocl_synth_t *s, ocl_arena_t *a, uint32_t n_spans, uint64_t now,
                     ocl_traces_req_t *out);
/* Exactly `n_points` data points, series taken round-robin. */
int ocl_synth_metrics(ocl_synth_t *s, ocl_arena_t *a, uint32_t n_points, uint64_t now,
                      ocl_metrics_req_t *out);
/* Exactly `n_logs` log records. */
int ocl_synth_logs(ocl_synth_t *s, ocl_arena_t *a, uint32_t n_logs, uint64_t now,
                   ocl_logs_req_t *out);

/* Number of services in the model (resource count upper bound). */
#define OCL_SYNTH_SERVICES 8

/* ---- Prometheus workload (synth_prom.c): node-exporter-like hosts ----
 * Each host (instance="host-NNNN:9100") has OCL_SYNTH_PROM_PER_HOST series:
 * CPU, network, disk counters, memory, filesystem and load gauges and four
 * classic histograms; one sample per series per step of `interval_ms`.
 * Label arrays and strings are owned by the generator. Not thread-safe. */
#include "wire/prom.h"

#define OCL_SYNTH_PROM_PER_HOST 120

typedef struct ocl_synth_prom ocl_synth_prom_t;

typedef struct {
    uint32_t series;     /* number of series (0 = 100,000) */
    uint64_t seed;       /* random stream of rates, offsets and values */
    int64_t start_ms;    /* nominal time of step 0 (ms since the epoch) */
    int64_t interval_ms; /* simulated scrape interval (0 = 15,000) */
    const char *job;     /* value of the job label (NULL = "node"); copied */
} ocl_synth_prom_cfg_t;

ocl_synth_prom_t *ocl_synth_prom_create(const ocl_synth_prom_cfg_t *cfg);
void ocl_synth_prom_destroy(ocl_synth_prom_t *s);
uint32_t ocl_synth_prom_series(const ocl_synth_prom_t *s);
/* Timestamp (ms) of series `series` at step `step`: start + step x interval
 * + the host's scrape offset + a jitter: 0 for 80 % of the scrapes, +-1 ms
 * for 15 %, +-2..5 ms for 5 %. The offset lies in [50, interval - 50) ms
 * (intervals over 200 ms), so with `start` a multiple of the interval no
 * sample is within 45 ms of a multiple of the interval: PromQL windows whose
 * edges are such multiples never have a sample on an edge (tests compare
 * engines whose edges differ: left-open vs left-closed). */
int64_t ocl_synth_prom_time(const ocl_synth_prom_t *s, uint64_t step, uint32_t series);
/* Fills `out` with one sample of each series in [first, first + n) at step
 * `step` (no metadata). Steps must not decrease from call to call; the
 * series and sample arrays come from `a`, labels from the generator.
 * Returns 0 or OCL_EINVAL (empty or out-of-range request, step went back). */
int ocl_synth_prom_batch(ocl_synth_prom_t *s, ocl_arena_t *a, uint64_t step, uint32_t first,
                         uint32_t n, ocl_prom_batch_t *out);

#endif
