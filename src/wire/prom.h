/*
 * prom.h — a batch of Prometheus samples as every metrics ingest path hands
 * it to the pipeline: remote-write requests, scraped expositions and OTLP
 * metrics translated to the Prometheus model all become an ocl_prom_batch_t.
 *
 * Ownership: a batch and everything it points to belong to whoever built it
 * (usually a per-request arena); consumers copy what they keep.
 * Invariants expected by consumers (producers must establish them):
 * each series' labels are sorted, unique by name, without empty values, and
 * include a non-empty "__name__"; strings are valid UTF-8; samples of one
 * series are in the order they were produced (not necessarily sorted).
 */
#ifndef OCL_WIRE_PROM_H
#define OCL_WIRE_PROM_H

#include "store/metrics/labels.h"

typedef struct {
    ocl_labels_t labels;         /* series identity, sorted */
    const ocl_sample_t *samples; /* float samples */
    uint32_t n_samples;          /* number of samples */
} ocl_prom_series_t;

/* Metric metadata types, numbered as remote-write's MetricMetadata.MetricType. */
typedef enum {
    OCL_PT_UNKNOWN = 0,
    OCL_PT_COUNTER = 1,
    OCL_PT_GAUGE = 2,
    OCL_PT_HISTOGRAM = 3,
    OCL_PT_GAUGEHISTOGRAM = 4,
    OCL_PT_SUMMARY = 5,
    OCL_PT_INFO = 6,
    OCL_PT_STATESET = 7,
} ocl_prom_type_t;

typedef struct {
    ocl_str_t family;       /* metric family name (no _bucket/_sum/_count suffix) */
    ocl_prom_type_t type; /* declared type */
    ocl_str_t help;         /* help text, may be empty */
    ocl_str_t unit;         /* unit, may be empty */
} ocl_prom_meta_t;

typedef struct {
    const ocl_prom_series_t *series; /* series with their samples */
    size_t n_series;
    const ocl_prom_meta_t *meta; /* metadata per family, may be empty */
    size_t n_meta;
} ocl_prom_batch_t;

/* "counter", "gauge", "histogram", "gaugehistogram", "summary", "info",
 * "stateset", "unknown" — the strings /api/v1/metadata uses. */
const char *ocl_metric_type_str(ocl_prom_type_t t);

#endif
