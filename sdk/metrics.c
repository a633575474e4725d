/*
 * metrics.c — placeholder for the metrics pipeline (meters, instruments,
 * aggregation, periodic reader). NOT IMPLEMENTED YET: every creation call
 * returns OCELOT_ENOTSUP and recording calls are no-ops, so programs
 * written against metrics.h link and run without exporting metrics.
 */
#include "internal.h"

int osdk_metrics_start(void)
{
    return 0;
}

void osdk_metrics_stop(uint64_t deadline_mono)
{
    (void)deadline_mono;
}

void osdk_metrics_atfork_child(void)
{
}

ocelot_meter_t *ocelot_meter_get(const char *name, const char *version, const char *schema_url)
{
    (void)name;
    (void)version;
    (void)schema_url;
    return NULL;
}

int ocelot_instrument_create(ocelot_meter_t *m, ocelot_instrument_kind_t kind, const char *name,
                             const ocelot_instrument_options_t *opts, ocelot_instrument_t **out)
{
    (void)m;
    (void)kind;
    (void)name;
    (void)opts;
    if (out) *out = NULL;
    return OCELOT_ENOTSUP;
}

void ocelot_counter_add(ocelot_instrument_t *i, double v, const ocelot_attr_t *a, size_t n)
{
    (void)i, (void)v, (void)a, (void)n;
}
void ocelot_histogram_record(ocelot_instrument_t *i, double v, const ocelot_attr_t *a, size_t n)
{
    (void)i, (void)v, (void)a, (void)n;
}
void ocelot_gauge_set(ocelot_instrument_t *i, double v, const ocelot_attr_t *a, size_t n)
{
    (void)i, (void)v, (void)a, (void)n;
}
ocelot_series_t *ocelot_instrument_bind(ocelot_instrument_t *i, const ocelot_attr_t *a, size_t n)
{
    (void)i, (void)a, (void)n;
    return NULL;
}
void ocelot_series_add(ocelot_series_t *s, double v)
{
    (void)s, (void)v;
}
void ocelot_series_record(ocelot_series_t *s, double v)
{
    (void)s, (void)v;
}
int ocelot_observe(ocelot_observer_t *o, double v, const ocelot_attr_t *a, size_t n)
{
    (void)o, (void)v, (void)a, (void)n;
    return OCELOT_ENOTSUP;
}
int ocelot_metrics_flush(uint32_t timeout_ms)
{
    (void)timeout_ms;
    return OCELOT_ENOTSUP;
}
