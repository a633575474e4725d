/*
 * otlp2prom.h — OTLP metrics → Prometheus samples, following the
 * OpenTelemetry "Prometheus and OpenMetrics compatibility" specification
 * (details, deviations and the delta rule: docs/adr/0005-metrics-ingest.md).
 *
 *   name      invalid characters → '_', runs of '_' collapsed, leading digit
 *             → '_' prefix; unit suffix from the UCUM unit (s → _seconds,
 *             By → _bytes, 1 → _ratio for gauges, a/b → _a_per_b, {x}
 *             dropped) unless the name already holds it; _total for
 *             monotonic sums.
 *   gauge, non-monotonic sum → gauge; monotonic sum → counter _total;
 *   histogram → _bucket{le} (cumulative, +Inf = count), _sum, _count;
 *   summary   → {quantile}, _sum, _count; exponential histogram → rejected.
 *   labels    data point attributes (sanitised, then "key_" before a leading
 *             digit, "key" before a single leading '_'; names that collide
 *             are merged, values joined with ';' in the order of the
 *             original keys), otel_scope_name / otel_scope_version, job (service.namespace/service.name) and
 *             instance (service.instance.id); one target_info series per
 *             resource with the other resource attributes, value 1.
 *   time      ns → ms (truncated); a point without a time gets `now_ms`.
 *   NoRecordedValue flag → staleness marker.
 *   delta     sums and histograms: each produced series is accumulated onto
 *             its previous value (earlier in this batch, else `last` — the
 *             TSDB's newest sample) when the point starts at or after that
 *             sample (or has no start time); otherwise, or without a previous
 *             value, a new cumulative run starts at the delta itself.
 *
 * Ownership: the batch (arrays, label names built here, formatted values)
 * lives in `a`; label values and names copied verbatim point into `req`,
 * which must outlive the batch. The batch satisfies wire/prom.h.
 * Workload: one call per OTLP metrics export request (hundreds to thousands
 * of data points); no allocation outside the arena.
 */
#ifndef OCL_OTLP2PROM_H
#define OCL_OTLP2PROM_H

#include "core/arena.h"
#include "wire/otlp.h"
#include "wire/prom.h"

#include <stdbool.h>

/* The newest stored sample of a series: 0 with *t, *v set, or non-zero
 * when there is none. */
typedef int (*ocl_o2p_last_fn)(void *ud, const ocl_labels_t *ls, int64_t *t, double *v);

typedef struct {
    uint64_t points;    /* data points seen */
    uint64_t rejected;  /* data points (or metrics without data) not translated */
    const char *reason; /* static text for the first rejection, NULL if none */
} ocl_o2p_result_t;

/* Translates `req` into `out`. `last` may be NULL (no delta state: every
 * delta point starts a run). Returns 0 (rejections are counted in `res`). */
int ocl_otlp2prom(const ocl_metrics_req_t *req, int64_t now_ms, ocl_o2p_last_fn last, void *ud,
                  ocl_arena_t *a, ocl_prom_batch_t *out, ocl_o2p_result_t *res);

/* The Prometheus metric name of `m` (as used for its series; histograms
 * and summaries get _bucket/_sum/_count on top), written into `a`. */
ocl_str_t ocl_o2p_metric_name(const ocl_metric_t *m, ocl_arena_t *a);
/* A sanitised label name for attribute key `key`, in `a`. */
ocl_str_t ocl_o2p_label_name(ocl_str_t key, ocl_arena_t *a);
/* Formats v the way Go's strconv.FormatFloat(v, 'f', -1, 64) does (also
 * "+Inf", "-Inf", "NaN"); returns the length written into buf (≥ 32 bytes
 * needed for ordinary values, 400 for any double). */
size_t ocl_o2p_format_float(double v, char *buf, size_t n);

#endif
