/*
 * selfmetrics.h — ocelot's own metrics, rendered at GET /metrics in the
 * Prometheus text exposition format.
 *
 * Counters are process-global relaxed atomics indexed by small enums, so
 * every label value is bounded (never taken from client input). Updating a
 * counter is one atomic add on the hot path.
 */
#ifndef OCL_SELFMETRICS_H
#define OCL_SELFMETRICS_H

#include "core/buf.h"
#include "wire/otlp.h"

typedef enum {
    OCL_TRANSPORT_GRPC = 0,
    OCL_TRANSPORT_HTTP = 1,
} ocl_transport_t;
#define OCL_TRANSPORT_COUNT 2

/* Why records or requests were refused (label `reason`). */
typedef enum {
    OCL_REFUSE_INVALID = 0, /* undecodable request (400 / INVALID_ARGUMENT) */
    OCL_REFUSE_TOO_LARGE,   /* over a size limit (413 / RESOURCE_EXHAUSTED) */
    OCL_REFUSE_MEDIA_TYPE,  /* unsupported content type or encoding (415) */
    OCL_REFUSE_OVERLOADED,  /* memory limit / storage busy (503 / UNAVAILABLE) */
    OCL_REFUSE_STORAGE,     /* WAL write failed (503 / UNAVAILABLE) */
    OCL_REFUSE_PARTIAL,     /* records rejected inside an accepted request */
} ocl_refuse_t;
#define OCL_REFUSE_COUNT 6

/* Latency histogram bucket upper bounds, seconds. */
#define OCL_LAT_BUCKETS 14
extern const double ocl_latency_bounds_s[OCL_LAT_BUCKETS];

/* Record accepted records for a signal and transport. */
void ocl_sm_accepted(ocl_signal_t s, ocl_transport_t t, uint64_t records);
/* Record refused records (records may be 0 when the request could not be
 * decoded: then only the request counter moves). */
void ocl_sm_refused(ocl_signal_t s, ocl_transport_t t, ocl_refuse_t why, uint64_t records);
/* Record one request's handling time. */
void ocl_sm_request(ocl_signal_t s, ocl_transport_t t, uint64_t nanos);

/* A provider of extra lines (stores, WAL, net) called at render time. */
typedef void (*ocl_sm_collect_fn)(ocl_buf_t *out, void *ud);
void ocl_sm_register(ocl_sm_collect_fn fn, void *ud);
void ocl_sm_unregister(ocl_sm_collect_fn fn, void *ud);

/* Renders every metric (Prometheus text format 0.0.4). */
void ocl_sm_render(ocl_buf_t *out);

/* Helpers for collectors: HELP/TYPE header and one sample line. */
void ocl_sm_header(ocl_buf_t *out, const char *name, const char *type, const char *help);
void ocl_sm_sample(ocl_buf_t *out, const char *name, const char *labels, double v);
/* A histogram from non-cumulative bucket counts (n_bounds + 1 counts; the
 * last is +Inf), with sum in seconds. `labels` may be "" or `k="v",...`. */
void ocl_sm_histogram(ocl_buf_t *out, const char *name, const char *labels, const double *bounds,
                      size_t n_bounds, const uint64_t *counts, double sum);

#endif
