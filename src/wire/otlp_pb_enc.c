/*
 * otlp_pb_enc.c — canonical protobuf encoder for the OTLP
 * Export{Trace,Metrics,Logs}ServiceRequest messages and the
 * Export*ServiceResponse (declared in otlp.h; the decoder is otlp_pb.c).
 *
 * Encoder invariants: fields in field-number order, proto3 defaults
 * omitted, optional/oneof members emitted when set even if zero, packed
 * repeated scalars. Span, Resource and InstrumentationScope with a
 * non-empty `raw` are copied verbatim; containers (ResourceSpans,
 * ScopeSpans) are always re-encoded from their children so that a
 * processor that dropped spans needs only to fix the arrays.
 *
 * Workload: the SDK's exporter and ocelot's own OTLP exporter, batches of
 * 100-10,000 records; sub-messages are written in place with a guessed
 * length prefix (pb.h) so nothing is sized twice.
 */
#include "wire/otlp.h"
#include "wire/pb.h"

static inline void put_str(ocl_buf_t *b, uint32_t f, ocl_str_t s)
{
    if (s.n) ocl_pb_put_bytes(b, f, s.p, s.n);
}
static inline void put_u(ocl_buf_t *b, uint32_t f, uint64_t v)
{
    if (v) ocl_pb_put_uint(b, f, v);
}
static inline void put_i32(ocl_buf_t *b, uint32_t f, int32_t v)
{
    if (v) ocl_pb_put_int32(b, f, v);
}
static inline void put_f64(ocl_buf_t *b, uint32_t f, uint64_t v)
{
    if (v) ocl_pb_put_fixed64(b, f, v);
}
static inline void put_f32(ocl_buf_t *b, uint32_t f, uint32_t v)
{
    if (v) ocl_pb_put_fixed32(b, f, v);
}
/* proto3 omits a double whose bit pattern is zero (so -0.0 is kept). */
static inline void put_dbl(ocl_buf_t *b, uint32_t f, double v)
{
    uint64_t x;
    memcpy(&x, &v, 8);
    if (x) ocl_pb_put_fixed64(b, f, x);
}

static void enc_anyvalue(ocl_buf_t *b, const ocl_anyvalue_t *v);

static void enc_kv(ocl_buf_t *b, uint32_t field, const ocl_kv_t *kv)
{
    size_t st = ocl_pb_msg_begin(b, field, 1);
    put_str(b, 1, kv->key);
    if (kv->value.type != OCL_AV_EMPTY) {
        size_t vs = ocl_pb_msg_begin(b, 2, 1);
        enc_anyvalue(b, &kv->value);
        ocl_pb_msg_end(b, vs, 1);
    }
    ocl_pb_msg_end(b, st, 1);
}

static void enc_attrs(ocl_buf_t *b, uint32_t field, const ocl_attrs_t *at)
{
    for (uint32_t i = 0; i < at->n; i++)
        enc_kv(b, field, &at->v[i]);
}

static void enc_anyvalue(ocl_buf_t *b, const ocl_anyvalue_t *v)
{
    uint64_t x;
    size_t st;
    switch (v->type) {
    case OCL_AV_EMPTY:
        break;
    case OCL_AV_STRING:
        ocl_pb_put_bytes(b, 1, v->u.s.p, v->u.s.n);
        break;
    case OCL_AV_BOOL:
        ocl_pb_put_uint(b, 2, v->u.b ? 1 : 0);
        break;
    case OCL_AV_INT:
        ocl_pb_put_uint(b, 3, (uint64_t)v->u.i);
        break;
    case OCL_AV_DOUBLE:
        memcpy(&x, &v->u.d, 8);
        ocl_pb_put_fixed64(b, 4, x);
        break;
    case OCL_AV_ARRAY:
        st = ocl_pb_msg_begin(b, 5, 1);
        for (uint32_t i = 0; i < v->u.arr.n; i++) {
            size_t es = ocl_pb_msg_begin(b, 1, 1);
            enc_anyvalue(b, &v->u.arr.v[i]);
            ocl_pb_msg_end(b, es, 1);
        }
        ocl_pb_msg_end(b, st, 1);
        break;
    case OCL_AV_KVLIST:
        st = ocl_pb_msg_begin(b, 6, 1);
        enc_attrs(b, 1, &(ocl_attrs_t){v->u.kvlist.kv, v->u.kvlist.n});
        ocl_pb_msg_end(b, st, 1);
        break;
    case OCL_AV_BYTES:
        ocl_pb_put_bytes(b, 7, v->u.s.p, v->u.s.n);
        break;
    }
}

static void enc_resource(ocl_buf_t *b, uint32_t field, const ocl_resource_t *o)
{
    if (o->raw.n) {
        ocl_pb_put_bytes(b, field, o->raw.p, o->raw.n);
        return;
    }
    if (!o->present) return;
    size_t st = ocl_pb_msg_begin(b, field, 2);
    enc_attrs(b, 1, &o->attrs);
    put_u(b, 2, o->dropped_attrs);
    ocl_pb_msg_end(b, st, 2);
}

static void enc_scope(ocl_buf_t *b, uint32_t field, const ocl_scope_t *o)
{
    if (o->raw.n) {
        ocl_pb_put_bytes(b, field, o->raw.p, o->raw.n);
        return;
    }
    if (!o->present) return;
    size_t st = ocl_pb_msg_begin(b, field, 1);
    put_str(b, 1, o->name);
    put_str(b, 2, o->version);
    enc_attrs(b, 3, &o->attrs);
    put_u(b, 4, o->dropped_attrs);
    ocl_pb_msg_end(b, st, 1);
}

static void enc_span(ocl_buf_t *b, const ocl_span_t *o)
{
    if (o->raw.n) {
        ocl_pb_put_bytes(b, 2, o->raw.p, o->raw.n);
        return;
    }
    size_t st = ocl_pb_msg_begin(b, 2, 2);
    put_str(b, 1, o->trace_id);
    put_str(b, 2, o->span_id);
    put_str(b, 3, o->trace_state);
    put_str(b, 4, o->parent_span_id);
    put_str(b, 5, o->name);
    put_i32(b, 6, o->kind);
    put_f64(b, 7, o->start_unix_nano);
    put_f64(b, 8, o->end_unix_nano);
    enc_attrs(b, 9, &o->attrs);
    put_u(b, 10, o->dropped_attrs);
    for (uint32_t i = 0; i < o->n_events; i++) {
        const ocl_span_event_t *e = &o->events[i];
        size_t es = ocl_pb_msg_begin(b, 11, 1);
        put_f64(b, 1, e->time_unix_nano);
        put_str(b, 2, e->name);
        enc_attrs(b, 3, &e->attrs);
        put_u(b, 4, e->dropped_attrs);
        ocl_pb_msg_end(b, es, 1);
    }
    put_u(b, 12, o->dropped_events);
    for (uint32_t i = 0; i < o->n_links; i++) {
        const ocl_span_link_t *l = &o->links[i];
        size_t ls = ocl_pb_msg_begin(b, 13, 1);
        put_str(b, 1, l->trace_id);
        put_str(b, 2, l->span_id);
        put_str(b, 3, l->trace_state);
        enc_attrs(b, 4, &l->attrs);
        put_u(b, 5, l->dropped_attrs);
        put_f32(b, 6, l->flags);
        ocl_pb_msg_end(b, ls, 1);
    }
    put_u(b, 14, o->dropped_links);
    if (o->has_status || o->status_code || o->status_message.n) {
        size_t ss = ocl_pb_msg_begin(b, 15, 1);
        put_str(b, 2, o->status_message);
        put_i32(b, 3, o->status_code);
        ocl_pb_msg_end(b, ss, 1);
    }
    put_f32(b, 16, o->flags);
    ocl_pb_msg_end(b, st, 2);
}

void ocl_otlp_pb_encode_traces(const ocl_traces_req_t *req, ocl_buf_t *out)
{
    for (uint32_t i = 0; i < req->n_rs; i++) {
        const ocl_resource_spans_t *rs = &req->rs[i];
        size_t rst = ocl_pb_msg_begin(out, 1, 3);
        enc_resource(out, 1, &rs->resource);
        for (uint32_t j = 0; j < rs->n_scope_spans; j++) {
            const ocl_scope_spans_t *ss = &rs->scope_spans[j];
            size_t sst = ocl_pb_msg_begin(out, 2, 3);
            enc_scope(out, 1, &ss->scope);
            for (uint32_t k = 0; k < ss->n_spans; k++)
                enc_span(out, &ss->spans[k]);
            put_str(out, 3, ss->schema_url);
            ocl_pb_msg_end(out, sst, 3);
        }
        put_str(out, 3, rs->schema_url);
        ocl_pb_msg_end(out, rst, 3);
    }
}

static void enc_exemplars(ocl_buf_t *b, uint32_t field, const ocl_exemplars_t *ex)
{
    for (uint32_t i = 0; i < ex->n; i++) {
        const ocl_exemplar_t *e = &ex->v[i];
        size_t st = ocl_pb_msg_begin(b, field, 1);
        put_f64(b, 2, e->time_unix_nano);
        if (!e->is_int) ocl_pb_put_double(b, 3, e->as_double);
        put_str(b, 4, e->span_id);
        put_str(b, 5, e->trace_id);
        if (e->is_int) ocl_pb_put_fixed64(b, 6, (uint64_t)e->as_int);
        enc_attrs(b, 7, &e->filtered_attrs);
        ocl_pb_msg_end(b, st, 1);
    }
}

static void put_packed_fixed64(ocl_buf_t *b, uint32_t f, const void *arr, uint32_t n)
{
    if (!n) return;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    size_t st = ocl_pb_msg_begin(b, f, 2);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t v;
        memcpy(&v, (const char *)arr + 8 * i, 8);
        v = __builtin_bswap64(v);
        ocl_buf_append(b, &v, 8);
    }
    ocl_pb_msg_end(b, st, 2);
#else
    ocl_pb_put_bytes(b, f, arr, (size_t)n * 8);
#endif
}

static void enc_number_dp(ocl_buf_t *b, const ocl_number_dp_t *o)
{
    size_t st = ocl_pb_msg_begin(b, 1, 1);
    put_f64(b, 2, o->start_unix_nano);
    put_f64(b, 3, o->time_unix_nano);
    if (!o->is_int) ocl_pb_put_double(b, 4, o->as_double);
    enc_exemplars(b, 5, &o->exemplars);
    if (o->is_int) ocl_pb_put_fixed64(b, 6, (uint64_t)o->as_int);
    enc_attrs(b, 7, &o->attrs);
    put_u(b, 8, o->flags);
    ocl_pb_msg_end(b, st, 1);
}

static void enc_hist_dp(ocl_buf_t *b, const ocl_histogram_dp_t *o)
{
    size_t st = ocl_pb_msg_begin(b, 1, 2);
    put_f64(b, 2, o->start_unix_nano);
    put_f64(b, 3, o->time_unix_nano);
    put_f64(b, 4, o->count);
    if (o->has_sum) ocl_pb_put_double(b, 5, o->sum);
    put_packed_fixed64(b, 6, o->bucket_counts, o->n_bucket_counts);
    put_packed_fixed64(b, 7, o->explicit_bounds, o->n_explicit_bounds);
    enc_exemplars(b, 8, &o->exemplars);
    enc_attrs(b, 9, &o->attrs);
    put_u(b, 10, o->flags);
    if (o->has_min) ocl_pb_put_double(b, 11, o->min);
    if (o->has_max) ocl_pb_put_double(b, 12, o->max);
    ocl_pb_msg_end(b, st, 2);
}

static void enc_buckets(ocl_buf_t *b, uint32_t field, const ocl_exp_buckets_t *o)
{
    if (!o->offset && !o->n_bucket_counts) return;
    size_t st = ocl_pb_msg_begin(b, field, 1);
    if (o->offset) ocl_pb_put_uint(b, 1, ocl_pb_zigzag32(o->offset));
    if (o->n_bucket_counts) {
        size_t ps = ocl_pb_msg_begin(b, 2, 1);
        for (uint32_t i = 0; i < o->n_bucket_counts; i++)
            ocl_pb_put_varint(b, o->bucket_counts[i]);
        ocl_pb_msg_end(b, ps, 1);
    }
    ocl_pb_msg_end(b, st, 1);
}

static void enc_ehist_dp(ocl_buf_t *b, const ocl_exp_histogram_dp_t *o)
{
    size_t st = ocl_pb_msg_begin(b, 1, 2);
    enc_attrs(b, 1, &o->attrs);
    put_f64(b, 2, o->start_unix_nano);
    put_f64(b, 3, o->time_unix_nano);
    put_f64(b, 4, o->count);
    if (o->has_sum) ocl_pb_put_double(b, 5, o->sum);
    if (o->scale) ocl_pb_put_uint(b, 6, ocl_pb_zigzag32(o->scale));
    put_f64(b, 7, o->zero_count);
    enc_buckets(b, 8, &o->positive);
    enc_buckets(b, 9, &o->negative);
    put_u(b, 10, o->flags);
    enc_exemplars(b, 11, &o->exemplars);
    if (o->has_min) ocl_pb_put_double(b, 12, o->min);
    if (o->has_max) ocl_pb_put_double(b, 13, o->max);
    put_dbl(b, 14, o->zero_threshold);
    ocl_pb_msg_end(b, st, 2);
}

static void enc_summary_dp(ocl_buf_t *b, const ocl_summary_dp_t *o)
{
    size_t st = ocl_pb_msg_begin(b, 1, 2);
    put_f64(b, 2, o->start_unix_nano);
    put_f64(b, 3, o->time_unix_nano);
    put_f64(b, 4, o->count);
    put_dbl(b, 5, o->sum);
    for (uint32_t i = 0; i < o->n_quantiles; i++) {
        size_t qs = ocl_pb_msg_begin(b, 6, 1);
        put_dbl(b, 1, o->quantiles[i].quantile);
        put_dbl(b, 2, o->quantiles[i].value);
        ocl_pb_msg_end(b, qs, 1);
    }
    enc_attrs(b, 7, &o->attrs);
    put_u(b, 8, o->flags);
    ocl_pb_msg_end(b, st, 2);
}

static void enc_metric(ocl_buf_t *b, const ocl_metric_t *o)
{
    static const uint32_t field_of[] = {
        [OCL_METRIC_GAUGE] = 5,          [OCL_METRIC_SUM] = 7,      [OCL_METRIC_HISTOGRAM] = 9,
        [OCL_METRIC_EXP_HISTOGRAM] = 10, [OCL_METRIC_SUMMARY] = 11,
    };
    size_t st = ocl_pb_msg_begin(b, 2, 2);
    put_str(b, 1, o->name);
    put_str(b, 2, o->description);
    put_str(b, 3, o->unit);
    if (o->type >= OCL_METRIC_GAUGE && o->type <= OCL_METRIC_SUMMARY) {
        size_t ds = ocl_pb_msg_begin(b, field_of[o->type], 2);
        for (uint32_t i = 0; i < o->n_dp; i++) {
            switch (o->type) {
            case OCL_METRIC_GAUGE:
            case OCL_METRIC_SUM:
                enc_number_dp(b, &o->dp.number[i]);
                break;
            case OCL_METRIC_HISTOGRAM:
                enc_hist_dp(b, &o->dp.hist[i]);
                break;
            case OCL_METRIC_EXP_HISTOGRAM:
                enc_ehist_dp(b, &o->dp.ehist[i]);
                break;
            case OCL_METRIC_SUMMARY:
                enc_summary_dp(b, &o->dp.summary[i]);
                break;
            default:
                break;
            }
        }
        if (o->type == OCL_METRIC_SUM || o->type == OCL_METRIC_HISTOGRAM ||
            o->type == OCL_METRIC_EXP_HISTOGRAM)
            put_i32(b, 2, o->temporality);
        if (o->type == OCL_METRIC_SUM) put_u(b, 3, o->is_monotonic);
        ocl_pb_msg_end(b, ds, 2);
    }
    enc_attrs(b, 12, &o->metadata);
    ocl_pb_msg_end(b, st, 2);
}

void ocl_otlp_pb_encode_metrics(const ocl_metrics_req_t *req, ocl_buf_t *out)
{
    for (uint32_t i = 0; i < req->n_rm; i++) {
        const ocl_resource_metrics_t *rm = &req->rm[i];
        size_t rst = ocl_pb_msg_begin(out, 1, 3);
        enc_resource(out, 1, &rm->resource);
        for (uint32_t j = 0; j < rm->n_scope_metrics; j++) {
            const ocl_scope_metrics_t *sm = &rm->scope_metrics[j];
            size_t sst = ocl_pb_msg_begin(out, 2, 3);
            enc_scope(out, 1, &sm->scope);
            for (uint32_t k = 0; k < sm->n_metrics; k++)
                enc_metric(out, &sm->metrics[k]);
            put_str(out, 3, sm->schema_url);
            ocl_pb_msg_end(out, sst, 3);
        }
        put_str(out, 3, rm->schema_url);
        ocl_pb_msg_end(out, rst, 3);
    }
}

static void enc_log(ocl_buf_t *b, const ocl_log_record_t *o)
{
    size_t st = ocl_pb_msg_begin(b, 2, 2);
    put_f64(b, 1, o->time_unix_nano);
    put_i32(b, 2, o->severity_number);
    put_str(b, 3, o->severity_text);
    if (o->body.type != OCL_AV_EMPTY) {
        size_t bs = ocl_pb_msg_begin(b, 5, 1);
        enc_anyvalue(b, &o->body);
        ocl_pb_msg_end(b, bs, 1);
    }
    enc_attrs(b, 6, &o->attrs);
    put_u(b, 7, o->dropped_attrs);
    put_f32(b, 8, o->flags);
    put_str(b, 9, o->trace_id);
    put_str(b, 10, o->span_id);
    put_f64(b, 11, o->observed_time_unix_nano);
    put_str(b, 12, o->event_name);
    ocl_pb_msg_end(b, st, 2);
}

void ocl_otlp_pb_encode_logs(const ocl_logs_req_t *req, ocl_buf_t *out)
{
    for (uint32_t i = 0; i < req->n_rl; i++) {
        const ocl_resource_logs_t *rl = &req->rl[i];
        size_t rst = ocl_pb_msg_begin(out, 1, 3);
        enc_resource(out, 1, &rl->resource);
        for (uint32_t j = 0; j < rl->n_scope_logs; j++) {
            const ocl_scope_logs_t *sl = &rl->scope_logs[j];
            size_t sst = ocl_pb_msg_begin(out, 2, 3);
            enc_scope(out, 1, &sl->scope);
            for (uint32_t k = 0; k < sl->n_logs; k++)
                enc_log(out, &sl->logs[k]);
            put_str(out, 3, sl->schema_url);
            ocl_pb_msg_end(out, sst, 3);
        }
        put_str(out, 3, rl->schema_url);
        ocl_pb_msg_end(out, rst, 3);
    }
}

void ocl_otlp_pb_encode_response(int64_t rejected, ocl_str_t msg, ocl_buf_t *out)
{
    if (rejected == 0 && msg.n == 0) return;
    size_t st = ocl_pb_msg_begin(out, 1, 1);
    if (rejected) ocl_pb_put_uint(out, 1, (uint64_t)rejected);
    put_str(out, 2, msg);
    ocl_pb_msg_end(out, st, 1);
}
