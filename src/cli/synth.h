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

#endif
