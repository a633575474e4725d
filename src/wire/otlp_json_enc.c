/*
 * otlp_json_enc.c — OTLP/JSON encoder: writes the model of otlp.h in the
 * canonical OTLP/JSON form (decoder: otlp_json.c).
 *
 * Invariants: lowerCamelCase member names, lowercase hex ids, 64-bit
 * integers as decimal strings, enums as integers, doubles via ocl_jw_double
 * (NaN/Infinity as strings); default values (0, "", empty arrays) are
 * omitted as proto3 JSON does, except oneof members (the AnyValue member,
 * asDouble/asInt, the metric data field) and optional fields that are
 * present (histogram sum/min/max, span status). `raw` fields are ignored.
 * The output is canonical: decoding it and encoding again gives the same
 * bytes (the fuzz target checks this).
 *
 * Workload: OTLP/HTTP JSON export bodies and Tempo trace answers of up to tens
 * of MiB, written once into a growable buffer.
 */
#include "wire/json_writer.h"
#include "wire/otlp.h"

static bool dbl_is_zero(double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return bits == 0; /* +0.0 only: -0.0 is kept */
}

static void enc_str(ocl_jw_t *w, const char *key, ocl_str_t s)
{
    if (!s.n) return;
    ocl_jw_key(w, key);
    ocl_jw_str(w, s);
}

static void enc_hex(ocl_jw_t *w, const char *key, ocl_str_t s)
{
    if (!s.n) return;
    ocl_jw_key(w, key);
    ocl_jw_hex(w, s.p, s.n);
}

static void enc_u64(ocl_jw_t *w, const char *key, uint64_t v)
{
    if (!v) return;
    ocl_jw_key(w, key);
    ocl_jw_uint_str(w, v);
}

static void enc_u32(ocl_jw_t *w, const char *key, uint32_t v)
{
    if (!v) return;
    ocl_jw_key(w, key);
    ocl_jw_uint(w, v);
}

static void enc_i32(ocl_jw_t *w, const char *key, int32_t v)
{
    if (!v) return;
    ocl_jw_key(w, key);
    ocl_jw_int(w, v);
}

static void enc_dbl(ocl_jw_t *w, const char *key, double v)
{
    if (dbl_is_zero(v)) return;
    ocl_jw_key(w, key);
    ocl_jw_double(w, v);
}

static void enc_attrs(ocl_jw_t *w, const char *key, const ocl_attrs_t *a);

static void enc_anyvalue(ocl_jw_t *w, const ocl_anyvalue_t *v)
{
    ocl_jw_obj_begin(w);
    switch (v->type) {
    case OCL_AV_STRING:
        ocl_jw_key(w, "stringValue");
        ocl_jw_str(w, v->u.s);
        break;
    case OCL_AV_BOOL:
        ocl_jw_key(w, "boolValue");
        ocl_jw_bool(w, v->u.b);
        break;
    case OCL_AV_INT:
        ocl_jw_key(w, "intValue");
        ocl_jw_int_str(w, v->u.i);
        break;
    case OCL_AV_DOUBLE:
        ocl_jw_key(w, "doubleValue");
        ocl_jw_double(w, v->u.d);
        break;
    case OCL_AV_BYTES:
        ocl_jw_key(w, "bytesValue");
        ocl_jw_base64(w, v->u.s.p, v->u.s.n);
        break;
    case OCL_AV_ARRAY:
        ocl_jw_key(w, "arrayValue");
        ocl_jw_obj_begin(w);
        if (v->u.arr.n) {
            ocl_jw_key(w, "values");
            ocl_jw_arr_begin(w);
            for (uint32_t i = 0; i < v->u.arr.n; i++)
                enc_anyvalue(w, &v->u.arr.v[i]);
            ocl_jw_arr_end(w);
        }
        ocl_jw_obj_end(w);
        break;
    case OCL_AV_KVLIST: {
        ocl_attrs_t kv = {v->u.kvlist.kv, v->u.kvlist.n};
        ocl_jw_key(w, "kvlistValue");
        ocl_jw_obj_begin(w);
        enc_attrs(w, "values", &kv);
        ocl_jw_obj_end(w);
        break;
    }
    default:
        break;
    }
    ocl_jw_obj_end(w);
}

static void enc_attrs(ocl_jw_t *w, const char *key, const ocl_attrs_t *a)
{
    if (!a->n) return;
    ocl_jw_key(w, key);
    ocl_jw_arr_begin(w);
    for (uint32_t i = 0; i < a->n; i++) {
        ocl_jw_obj_begin(w);
        ocl_jw_key(w, "key");
        ocl_jw_str(w, a->v[i].key);
        ocl_jw_key(w, "value");
        enc_anyvalue(w, &a->v[i].value);
        ocl_jw_obj_end(w);
    }
    ocl_jw_arr_end(w);
}

static void enc_resource(ocl_jw_t *w, const ocl_resource_t *r)
{
    if (!r->present && !r->attrs.n && !r->dropped_attrs) return;
    ocl_jw_key(w, "resource");
    ocl_jw_obj_begin(w);
    enc_attrs(w, "attributes", &r->attrs);
    enc_u32(w, "droppedAttributesCount", r->dropped_attrs);
    ocl_jw_obj_end(w);
}

static void enc_scope(ocl_jw_t *w, const ocl_scope_t *s)
{
    if (!s->present && !s->name.n && !s->version.n && !s->attrs.n && !s->dropped_attrs) return;
    ocl_jw_key(w, "scope");
    ocl_jw_obj_begin(w);
    enc_str(w, "name", s->name);
    enc_str(w, "version", s->version);
    enc_attrs(w, "attributes", &s->attrs);
    enc_u32(w, "droppedAttributesCount", s->dropped_attrs);
    ocl_jw_obj_end(w);
}

static void enc_span(ocl_jw_t *w, const ocl_span_t *s)
{
    ocl_jw_obj_begin(w);
    enc_hex(w, "traceId", s->trace_id);
    enc_hex(w, "spanId", s->span_id);
    enc_str(w, "traceState", s->trace_state);
    enc_hex(w, "parentSpanId", s->parent_span_id);
    enc_u32(w, "flags", s->flags);
    enc_str(w, "name", s->name);
    enc_i32(w, "kind", s->kind);
    enc_u64(w, "startTimeUnixNano", s->start_unix_nano);
    enc_u64(w, "endTimeUnixNano", s->end_unix_nano);
    enc_attrs(w, "attributes", &s->attrs);
    enc_u32(w, "droppedAttributesCount", s->dropped_attrs);
    if (s->n_events) {
        ocl_jw_key(w, "events");
        ocl_jw_arr_begin(w);
        for (uint32_t i = 0; i < s->n_events; i++) {
            const ocl_span_event_t *e = &s->events[i];
            ocl_jw_obj_begin(w);
            enc_u64(w, "timeUnixNano", e->time_unix_nano);
            enc_str(w, "name", e->name);
            enc_attrs(w, "attributes", &e->attrs);
            enc_u32(w, "droppedAttributesCount", e->dropped_attrs);
            ocl_jw_obj_end(w);
        }
        ocl_jw_arr_end(w);
    }
    enc_u32(w, "droppedEventsCount", s->dropped_events);
    if (s->n_links) {
        ocl_jw_key(w, "links");
        ocl_jw_arr_begin(w);
        for (uint32_t i = 0; i < s->n_links; i++) {
            const ocl_span_link_t *l = &s->links[i];
            ocl_jw_obj_begin(w);
            enc_hex(w, "traceId", l->trace_id);
            enc_hex(w, "spanId", l->span_id);
            enc_str(w, "traceState", l->trace_state);
            enc_attrs(w, "attributes", &l->attrs);
            enc_u32(w, "droppedAttributesCount", l->dropped_attrs);
            enc_u32(w, "flags", l->flags);
            ocl_jw_obj_end(w);
        }
        ocl_jw_arr_end(w);
    }
    enc_u32(w, "droppedLinksCount", s->dropped_links);
    if (s->has_status) {
        ocl_jw_key(w, "status");
        ocl_jw_obj_begin(w);
        enc_str(w, "message", s->status_message);
        enc_i32(w, "code", s->status_code);
        ocl_jw_obj_end(w);
    }
    ocl_jw_obj_end(w);
}

void ocl_otlp_json_encode_traces(const ocl_traces_req_t *req, const char *top_key, ocl_buf_t *out)
{
    ocl_jw_t w;
    ocl_jw_init(&w, out);
    ocl_jw_obj_begin(&w);
    ocl_jw_key(&w, top_key ? top_key : "resourceSpans");
    ocl_jw_arr_begin(&w);
    for (uint32_t i = 0; i < req->n_rs; i++) {
        const ocl_resource_spans_t *rs = &req->rs[i];
        ocl_jw_obj_begin(&w);
        enc_resource(&w, &rs->resource);
        if (rs->n_scope_spans) {
            ocl_jw_key(&w, "scopeSpans");
            ocl_jw_arr_begin(&w);
            for (uint32_t j = 0; j < rs->n_scope_spans; j++) {
                const ocl_scope_spans_t *ss = &rs->scope_spans[j];
                ocl_jw_obj_begin(&w);
                enc_scope(&w, &ss->scope);
                if (ss->n_spans) {
                    ocl_jw_key(&w, "spans");
                    ocl_jw_arr_begin(&w);
                    for (uint32_t k = 0; k < ss->n_spans; k++)
                        enc_span(&w, &ss->spans[k]);
                    ocl_jw_arr_end(&w);
                }
                enc_str(&w, "schemaUrl", ss->schema_url);
                ocl_jw_obj_end(&w);
            }
            ocl_jw_arr_end(&w);
        }
        enc_str(&w, "schemaUrl", rs->schema_url);
        ocl_jw_obj_end(&w);
    }
    ocl_jw_arr_end(&w);
    ocl_jw_obj_end(&w);
}

static void enc_exemplars(ocl_jw_t *w, const ocl_exemplars_t *x)
{
    if (!x->n) return;
    ocl_jw_key(w, "exemplars");
    ocl_jw_arr_begin(w);
    for (uint32_t i = 0; i < x->n; i++) {
        const ocl_exemplar_t *e = &x->v[i];
        ocl_jw_obj_begin(w);
        enc_attrs(w, "filteredAttributes", &e->filtered_attrs);
        enc_u64(w, "timeUnixNano", e->time_unix_nano);
        if (e->is_int) {
            ocl_jw_key(w, "asInt");
            ocl_jw_int_str(w, e->as_int);
        } else {
            ocl_jw_key(w, "asDouble");
            ocl_jw_double(w, e->as_double);
        }
        enc_hex(w, "spanId", e->span_id);
        enc_hex(w, "traceId", e->trace_id);
        ocl_jw_obj_end(w);
    }
    ocl_jw_arr_end(w);
}

static void enc_u64_array(ocl_jw_t *w, const char *key, const uint64_t *v, uint32_t n)
{
    if (!n) return;
    ocl_jw_key(w, key);
    ocl_jw_arr_begin(w);
    for (uint32_t i = 0; i < n; i++)
        ocl_jw_uint_str(w, v[i]);
    ocl_jw_arr_end(w);
}

static void enc_opt_dbl(ocl_jw_t *w, const char *key, bool has, double v)
{
    if (!has) return;
    ocl_jw_key(w, key);
    ocl_jw_double(w, v);
}

static void enc_exp_buckets(ocl_jw_t *w, const char *key, const ocl_exp_buckets_t *b)
{
    if (!b->offset && !b->n_bucket_counts) return;
    ocl_jw_key(w, key);
    ocl_jw_obj_begin(w);
    enc_i32(w, "offset", b->offset);
    enc_u64_array(w, "bucketCounts", b->bucket_counts, b->n_bucket_counts);
    ocl_jw_obj_end(w);
}

static void enc_dp(ocl_jw_t *w, const ocl_metric_t *m, uint32_t i)
{
    ocl_jw_obj_begin(w);
    switch (m->type) {
    case OCL_METRIC_GAUGE:
    case OCL_METRIC_SUM: {
        const ocl_number_dp_t *dp = &m->dp.number[i];
        enc_attrs(w, "attributes", &dp->attrs);
        enc_u64(w, "startTimeUnixNano", dp->start_unix_nano);
        enc_u64(w, "timeUnixNano", dp->time_unix_nano);
        if (dp->is_int) {
            ocl_jw_key(w, "asInt");
            ocl_jw_int_str(w, dp->as_int);
        } else {
            ocl_jw_key(w, "asDouble");
            ocl_jw_double(w, dp->as_double);
        }
        enc_exemplars(w, &dp->exemplars);
        enc_u32(w, "flags", dp->flags);
        break;
    }
    case OCL_METRIC_HISTOGRAM: {
        const ocl_histogram_dp_t *dp = &m->dp.hist[i];
        enc_attrs(w, "attributes", &dp->attrs);
        enc_u64(w, "startTimeUnixNano", dp->start_unix_nano);
        enc_u64(w, "timeUnixNano", dp->time_unix_nano);
        enc_u64(w, "count", dp->count);
        enc_opt_dbl(w, "sum", dp->has_sum, dp->sum);
        enc_u64_array(w, "bucketCounts", dp->bucket_counts, dp->n_bucket_counts);
        if (dp->n_explicit_bounds) {
            ocl_jw_key(w, "explicitBounds");
            ocl_jw_arr_begin(w);
            for (uint32_t j = 0; j < dp->n_explicit_bounds; j++)
                ocl_jw_double(w, dp->explicit_bounds[j]);
            ocl_jw_arr_end(w);
        }
        enc_exemplars(w, &dp->exemplars);
        enc_u32(w, "flags", dp->flags);
        enc_opt_dbl(w, "min", dp->has_min, dp->min);
        enc_opt_dbl(w, "max", dp->has_max, dp->max);
        break;
    }
    case OCL_METRIC_EXP_HISTOGRAM: {
        const ocl_exp_histogram_dp_t *dp = &m->dp.ehist[i];
        enc_attrs(w, "attributes", &dp->attrs);
        enc_u64(w, "startTimeUnixNano", dp->start_unix_nano);
        enc_u64(w, "timeUnixNano", dp->time_unix_nano);
        enc_u64(w, "count", dp->count);
        enc_opt_dbl(w, "sum", dp->has_sum, dp->sum);
        enc_i32(w, "scale", dp->scale);
        enc_u64(w, "zeroCount", dp->zero_count);
        enc_exp_buckets(w, "positive", &dp->positive);
        enc_exp_buckets(w, "negative", &dp->negative);
        enc_u32(w, "flags", dp->flags);
        enc_exemplars(w, &dp->exemplars);
        enc_opt_dbl(w, "min", dp->has_min, dp->min);
        enc_opt_dbl(w, "max", dp->has_max, dp->max);
        enc_dbl(w, "zeroThreshold", dp->zero_threshold);
        break;
    }
    case OCL_METRIC_SUMMARY: {
        const ocl_summary_dp_t *dp = &m->dp.summary[i];
        enc_attrs(w, "attributes", &dp->attrs);
        enc_u64(w, "startTimeUnixNano", dp->start_unix_nano);
        enc_u64(w, "timeUnixNano", dp->time_unix_nano);
        enc_u64(w, "count", dp->count);
        enc_dbl(w, "sum", dp->sum);
        if (dp->n_quantiles) {
            ocl_jw_key(w, "quantileValues");
            ocl_jw_arr_begin(w);
            for (uint32_t j = 0; j < dp->n_quantiles; j++) {
                ocl_jw_obj_begin(w);
                enc_dbl(w, "quantile", dp->quantiles[j].quantile);
                enc_dbl(w, "value", dp->quantiles[j].value);
                ocl_jw_obj_end(w);
            }
            ocl_jw_arr_end(w);
        }
        enc_u32(w, "flags", dp->flags);
        break;
    }
    default:
        break;
    }
    ocl_jw_obj_end(w);
}

static void enc_metric(ocl_jw_t *w, const ocl_metric_t *m)
{
    ocl_jw_obj_begin(w);
    enc_str(w, "name", m->name);
    enc_str(w, "description", m->description);
    enc_str(w, "unit", m->unit);
    const char *key = NULL;
    switch (m->type) {
    case OCL_METRIC_GAUGE:
        key = "gauge";
        break;
    case OCL_METRIC_SUM:
        key = "sum";
        break;
    case OCL_METRIC_HISTOGRAM:
        key = "histogram";
        break;
    case OCL_METRIC_EXP_HISTOGRAM:
        key = "exponentialHistogram";
        break;
    case OCL_METRIC_SUMMARY:
        key = "summary";
        break;
    default:
        break;
    }
    if (key) {
        ocl_jw_key(w, key);
        ocl_jw_obj_begin(w);
        if (m->n_dp) {
            ocl_jw_key(w, "dataPoints");
            ocl_jw_arr_begin(w);
            for (uint32_t i = 0; i < m->n_dp; i++)
                enc_dp(w, m, i);
            ocl_jw_arr_end(w);
        }
        if (m->type == OCL_METRIC_SUM || m->type == OCL_METRIC_HISTOGRAM ||
            m->type == OCL_METRIC_EXP_HISTOGRAM)
            enc_i32(w, "aggregationTemporality", m->temporality);
        if (m->type == OCL_METRIC_SUM && m->is_monotonic) {
            ocl_jw_key(w, "isMonotonic");
            ocl_jw_bool(w, true);
        }
        ocl_jw_obj_end(w);
    }
    enc_attrs(w, "metadata", &m->metadata);
    ocl_jw_obj_end(w);
}

void ocl_otlp_json_encode_metrics(const ocl_metrics_req_t *req, ocl_buf_t *out)
{
    ocl_jw_t w;
    ocl_jw_init(&w, out);
    ocl_jw_obj_begin(&w);
    ocl_jw_key(&w, "resourceMetrics");
    ocl_jw_arr_begin(&w);
    for (uint32_t i = 0; i < req->n_rm; i++) {
        const ocl_resource_metrics_t *rm = &req->rm[i];
        ocl_jw_obj_begin(&w);
        enc_resource(&w, &rm->resource);
        if (rm->n_scope_metrics) {
            ocl_jw_key(&w, "scopeMetrics");
            ocl_jw_arr_begin(&w);
            for (uint32_t j = 0; j < rm->n_scope_metrics; j++) {
                const ocl_scope_metrics_t *sm = &rm->scope_metrics[j];
                ocl_jw_obj_begin(&w);
                enc_scope(&w, &sm->scope);
                if (sm->n_metrics) {
                    ocl_jw_key(&w, "metrics");
                    ocl_jw_arr_begin(&w);
                    for (uint32_t k = 0; k < sm->n_metrics; k++)
                        enc_metric(&w, &sm->metrics[k]);
                    ocl_jw_arr_end(&w);
                }
                enc_str(&w, "schemaUrl", sm->schema_url);
                ocl_jw_obj_end(&w);
            }
            ocl_jw_arr_end(&w);
        }
        enc_str(&w, "schemaUrl", rm->schema_url);
        ocl_jw_obj_end(&w);
    }
    ocl_jw_arr_end(&w);
    ocl_jw_obj_end(&w);
}

static void enc_log(ocl_jw_t *w, const ocl_log_record_t *l)
{
    ocl_jw_obj_begin(w);
    enc_u64(w, "timeUnixNano", l->time_unix_nano);
    enc_u64(w, "observedTimeUnixNano", l->observed_time_unix_nano);
    enc_i32(w, "severityNumber", l->severity_number);
    enc_str(w, "severityText", l->severity_text);
    if (l->body.type != OCL_AV_EMPTY) {
        ocl_jw_key(w, "body");
        enc_anyvalue(w, &l->body);
    }
    enc_attrs(w, "attributes", &l->attrs);
    enc_u32(w, "droppedAttributesCount", l->dropped_attrs);
    enc_u32(w, "flags", l->flags);
    enc_hex(w, "traceId", l->trace_id);
    enc_hex(w, "spanId", l->span_id);
    enc_str(w, "eventName", l->event_name);
    ocl_jw_obj_end(w);
}

void ocl_otlp_json_encode_logs(const ocl_logs_req_t *req, ocl_buf_t *out)
{
    ocl_jw_t w;
    ocl_jw_init(&w, out);
    ocl_jw_obj_begin(&w);
    ocl_jw_key(&w, "resourceLogs");
    ocl_jw_arr_begin(&w);
    for (uint32_t i = 0; i < req->n_rl; i++) {
        const ocl_resource_logs_t *rl = &req->rl[i];
        ocl_jw_obj_begin(&w);
        enc_resource(&w, &rl->resource);
        if (rl->n_scope_logs) {
            ocl_jw_key(&w, "scopeLogs");
            ocl_jw_arr_begin(&w);
            for (uint32_t j = 0; j < rl->n_scope_logs; j++) {
                const ocl_scope_logs_t *sl = &rl->scope_logs[j];
                ocl_jw_obj_begin(&w);
                enc_scope(&w, &sl->scope);
                if (sl->n_logs) {
                    ocl_jw_key(&w, "logRecords");
                    ocl_jw_arr_begin(&w);
                    for (uint32_t k = 0; k < sl->n_logs; k++)
                        enc_log(&w, &sl->logs[k]);
                    ocl_jw_arr_end(&w);
                }
                enc_str(&w, "schemaUrl", sl->schema_url);
                ocl_jw_obj_end(&w);
            }
            ocl_jw_arr_end(&w);
        }
        enc_str(&w, "schemaUrl", rl->schema_url);
        ocl_jw_obj_end(&w);
    }
    ocl_jw_arr_end(&w);
    ocl_jw_obj_end(&w);
}

void ocl_otlp_json_encode_response(const char *rejected_field, int64_t rejected, ocl_str_t msg,
                                   ocl_buf_t *out)
{
    ocl_jw_t w;
    ocl_jw_init(&w, out);
    ocl_jw_obj_begin(&w);
    if (rejected != 0 || msg.n) {
        ocl_jw_key(&w, "partialSuccess");
        ocl_jw_obj_begin(&w);
        if (rejected != 0) {
            ocl_jw_key(&w, rejected_field);
            ocl_jw_int_str(&w, rejected);
        }
        enc_str(&w, "errorMessage", msg);
        ocl_jw_obj_end(&w);
    }
    ocl_jw_obj_end(&w);
}
