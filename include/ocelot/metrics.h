/*
 * metrics.h — meters and instruments: counter, up-down counter, histogram,
 * gauge and their observable (callback) forms.
 *
 * Aggregation: one series per distinct attribute set of an instrument
 * (order of attributes does not matter). Sums are cumulative by default
 * (OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta selects delta
 * for counters and histograms). Histograms use explicit buckets, by default
 * the OTel boundaries 0,5,10,25,50,75,100,250,500,750,1000,2500,5000,7500,
 * 10000. Each instrument holds at most its cardinality limit (2000 by
 * default) of series; further attribute sets are folded into one series
 * with the attribute otel.metric.overflow=true. A periodic reader exports
 * every OTEL_METRIC_EXPORT_INTERVAL ms (60000).
 *
 * Ownership: meters and instruments belong to the SDK (valid until
 * ocelot_shutdown, never freed by the caller). Recording calls on NULL
 * instruments are no-ops. Creating an instrument twice with the same name
 * and kind returns the same instrument.
 *
 * Hot path: ocelot_*_add / _record hash the attribute set and update the
 * series with atomics; no locks once the series exists, no allocation.
 * For the fastest path bind the attribute set once (ocelot_instrument_bind)
 * and record on the bound series.
 */
#ifndef OCELOT_METRICS_H
#define OCELOT_METRICS_H

#include "ocelot/ocelot.h"

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

typedef struct ocelot_meter ocelot_meter_t;
typedef struct ocelot_instrument ocelot_instrument_t;
typedef struct ocelot_series ocelot_series_t;

typedef enum {
    OCELOT_COUNTER = 1,
    OCELOT_UPDOWN_COUNTER,
    OCELOT_HISTOGRAM,
    OCELOT_GAUGE,
    OCELOT_OBSERVABLE_COUNTER,
    OCELOT_OBSERVABLE_UPDOWN_COUNTER,
    OCELOT_OBSERVABLE_GAUGE,
} ocelot_instrument_kind_t;

/* Handed to observable callbacks: report one observation per series. */
typedef struct ocelot_observer ocelot_observer_t;
int ocelot_observe(ocelot_observer_t *o, double value, const ocelot_attr_t *attrs, size_t n);

/* Runs on the reader's thread at each collection. */
typedef void (*ocelot_observe_fn)(ocelot_observer_t *o, void *ud);

/* Optional settings of an instrument. */
typedef struct ocelot_instrument_options {
    const char *unit;           /* UCUM unit, e.g. "ms" (copied) */
    const char *description;    /* copied */
    const double *boundaries;   /* histogram bucket bounds, ascending (copied) */
    size_t n_boundaries;        /* 0 = default boundaries */
    uint32_t cardinality_limit; /* 0 = 2000 */
    ocelot_observe_fn callback; /* required for observable kinds */
    void *callback_ud;          /* passed to callback */
    void *reserved[4];          /* future options; must be zero */
} ocelot_instrument_options_t;

/* Meter of the global meter provider (same rules as ocelot_tracer_get).
 * Returns NULL when the SDK is disabled or not initialised; every function
 * below accepts NULL. */
ocelot_meter_t *ocelot_meter_get(const char *name, const char *version, const char *schema_url);

/* Creates (or finds) an instrument; name follows the API's instrument
 * name syntax. *out is NULL on error. opts may be NULL. */
int ocelot_instrument_create(ocelot_meter_t *m, ocelot_instrument_kind_t kind, const char *name,
                             const ocelot_instrument_options_t *opts, ocelot_instrument_t **out);

/* Recording (synchronous kinds). Counters ignore negative values. */
void ocelot_counter_add(ocelot_instrument_t *i, double value, const ocelot_attr_t *attrs, size_t n);
void ocelot_histogram_record(ocelot_instrument_t *i, double value, const ocelot_attr_t *attrs,
                             size_t n);
void ocelot_gauge_set(ocelot_instrument_t *i, double value, const ocelot_attr_t *attrs, size_t n);

/* Bound series: resolves the attribute set once. The series belongs to
 * the instrument. Returns NULL on error or disabled SDK. */
ocelot_series_t *ocelot_instrument_bind(ocelot_instrument_t *i, const ocelot_attr_t *attrs,
                                        size_t n);
void ocelot_series_add(ocelot_series_t *s, double value);    /* counters */
void ocelot_series_record(ocelot_series_t *s, double value); /* histogram, gauge */

/* Collects and exports all metrics now (bounded by timeout_ms). */
int ocelot_metrics_flush(uint32_t timeout_ms);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
