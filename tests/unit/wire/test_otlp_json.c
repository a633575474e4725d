/*
 * test_otlp_json.c — unit tests for the OTLP/JSON decoder/encoder
 * (src/wire/otlp_json.c) and the streaming JSON writer (json_writer.c).
 *
 * Covers: full decode of hand-written traces/metrics/logs documents with
 * every field, encode → decode round trips of hand-built models compared
 * field by field, the scalar mappings (64-bit ints as strings and numbers,
 * hex ids, enum names, NaN/Infinity, base64 variants, snake_case, nulls),
 * the error paths (wrong types, bad hex, depth, UTF-8, truncation) and the
 * writer's escaping and number formatting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/json_writer.h"
#include "wire/otlp.h"

/* ------------------------------------------------------------------ */
/* helpers                                                             */

static ocl_arena_t A;

static int setup(void **state)
{
    ocl_arena_init(&A, 4096);
    return 0;
}

static int teardown(void **state)
{
    ocl_arena_dispose(&A);
    return 0;
}

#define S(lit) OCL_STR(lit)
#define assert_str(s, lit) assert_true(ocl_str_eq((s), OCL_STR(lit)))
#define assert_bytes(s, lit) assert_true(ocl_str_eq((s), OCL_STR(lit)))

static int dec_t(const char *json, ocl_traces_req_t *r, const char **err)
{
    return ocl_otlp_json_decode_traces(json, strlen(json), &A, r, err);
}
static int dec_m(const char *json, ocl_metrics_req_t *r, const char **err)
{
    return ocl_otlp_json_decode_metrics(json, strlen(json), &A, r, err);
}
static int dec_l(const char *json, ocl_logs_req_t *r, const char **err)
{
    return ocl_otlp_json_decode_logs(json, strlen(json), &A, r, err);
}

/* Decodes a single span wrapped in the usual envelope. */
static int one_span(const char *span_json, ocl_span_t **sp, const char **err)
{
    char doc[4096];
    snprintf(doc, sizeof doc, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[%s]}]}]}",
             span_json);
    static ocl_traces_req_t r;
    int rc = dec_t(doc, &r, err);
    if (rc == 0) *sp = &r.rs[0].scope_spans[0].spans[0];
    return rc;
}

/* Decodes a single attribute value {"key":"k","value":<v>}. */
static int one_value(const char *value_json, ocl_anyvalue_t *out, const char **err)
{
    ocl_buf_t b;
    ocl_buf_init(&b);
    ocl_buf_puts(&b, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"k\","
                     "\"value\":");
    ocl_buf_puts(&b, value_json);
    ocl_buf_puts(&b, "}]}}]}");
    ocl_traces_req_t r;
    int rc = ocl_otlp_json_decode_traces(b.p, b.len, &A, &r, err);
    ocl_buf_dispose(&b);
    if (rc == 0) *out = r.rs[0].resource.attrs.v[0].value;
    return rc;
}
#define one_value_big one_value

static int one_log(const char *log_json, ocl_log_record_t **lr, const char **err)
{
    char doc[4096];
    snprintf(doc, sizeof doc, "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[%s]}]}]}",
             log_json);
    static ocl_logs_req_t r;
    int rc = dec_l(doc, &r, err);
    if (rc == 0) *lr = &r.rl[0].scope_logs[0].logs[0];
    return rc;
}

static int one_metric(const char *metric_json, ocl_metric_t **m, const char **err)
{
    char doc[4096];
    snprintf(doc, sizeof doc, "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[%s]}]}]}",
             metric_json);
    static ocl_metrics_req_t r;
    int rc = dec_m(doc, &r, err);
    if (rc == 0) *m = &r.rm[0].scope_metrics[0].metrics[0];
    return rc;
}

/* ---- deep equality of models ---- */

static bool dbl_eq(double a, double b)
{
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    return a == b && signbit(a) == signbit(b);
}

static bool av_eq(const ocl_anyvalue_t *a, const ocl_anyvalue_t *b);

static bool attrs_eq(const ocl_attrs_t *a, const ocl_attrs_t *b)
{
    if (a->n != b->n) return false;
    for (uint32_t i = 0; i < a->n; i++)
        if (!ocl_str_eq(a->v[i].key, b->v[i].key) || !av_eq(&a->v[i].value, &b->v[i].value))
            return false;
    return true;
}

static bool av_eq(const ocl_anyvalue_t *a, const ocl_anyvalue_t *b)
{
    if (a->type != b->type) return false;
    switch (a->type) {
    case OCL_AV_EMPTY:
        return true;
    case OCL_AV_STRING:
    case OCL_AV_BYTES:
        return ocl_str_eq(a->u.s, b->u.s);
    case OCL_AV_BOOL:
        return a->u.b == b->u.b;
    case OCL_AV_INT:
        return a->u.i == b->u.i;
    case OCL_AV_DOUBLE:
        return dbl_eq(a->u.d, b->u.d);
    case OCL_AV_ARRAY:
        if (a->u.arr.n != b->u.arr.n) return false;
        for (uint32_t i = 0; i < a->u.arr.n; i++)
            if (!av_eq(&a->u.arr.v[i], &b->u.arr.v[i])) return false;
        return true;
    case OCL_AV_KVLIST: {
        ocl_attrs_t x = {a->u.kvlist.kv, a->u.kvlist.n}, y = {b->u.kvlist.kv, b->u.kvlist.n};
        return attrs_eq(&x, &y);
    }
    }
    return false;
}

static void assert_resource_eq(const ocl_resource_t *a, const ocl_resource_t *b)
{
    assert_int_equal(a->present, b->present);
    assert_true(attrs_eq(&a->attrs, &b->attrs));
    assert_int_equal(a->dropped_attrs, b->dropped_attrs);
    assert_null(b->raw.p);
}

static void assert_scope_eq(const ocl_scope_t *a, const ocl_scope_t *b)
{
    assert_int_equal(a->present, b->present);
    assert_true(ocl_str_eq(a->name, b->name));
    assert_true(ocl_str_eq(a->version, b->version));
    assert_true(attrs_eq(&a->attrs, &b->attrs));
    assert_int_equal(a->dropped_attrs, b->dropped_attrs);
    assert_null(b->raw.p);
}

static void assert_span_eq(const ocl_span_t *a, const ocl_span_t *b)
{
    assert_null(b->raw.p);
    assert_true(ocl_str_eq(a->trace_id, b->trace_id));
    assert_true(ocl_str_eq(a->span_id, b->span_id));
    assert_true(ocl_str_eq(a->trace_state, b->trace_state));
    assert_true(ocl_str_eq(a->parent_span_id, b->parent_span_id));
    assert_true(ocl_str_eq(a->name, b->name));
    assert_int_equal(a->kind, b->kind);
    assert_true(a->start_unix_nano == b->start_unix_nano);
    assert_true(a->end_unix_nano == b->end_unix_nano);
    assert_true(attrs_eq(&a->attrs, &b->attrs));
    assert_int_equal(a->dropped_attrs, b->dropped_attrs);
    assert_int_equal(a->n_events, b->n_events);
    for (uint32_t i = 0; i < a->n_events; i++) {
        assert_true(a->events[i].time_unix_nano == b->events[i].time_unix_nano);
        assert_true(ocl_str_eq(a->events[i].name, b->events[i].name));
        assert_true(attrs_eq(&a->events[i].attrs, &b->events[i].attrs));
        assert_int_equal(a->events[i].dropped_attrs, b->events[i].dropped_attrs);
    }
    assert_int_equal(a->dropped_events, b->dropped_events);
    assert_int_equal(a->n_links, b->n_links);
    for (uint32_t i = 0; i < a->n_links; i++) {
        const ocl_span_link_t *x = &a->links[i], *y = &b->links[i];
        assert_true(ocl_str_eq(x->trace_id, y->trace_id));
        assert_true(ocl_str_eq(x->span_id, y->span_id));
        assert_true(ocl_str_eq(x->trace_state, y->trace_state));
        assert_true(attrs_eq(&x->attrs, &y->attrs));
        assert_int_equal(x->dropped_attrs, y->dropped_attrs);
        assert_int_equal(x->flags, y->flags);
    }
    assert_int_equal(a->dropped_links, b->dropped_links);
    assert_true(ocl_str_eq(a->status_message, b->status_message));
    assert_int_equal(a->status_code, b->status_code);
    assert_int_equal(a->has_status, b->has_status);
    assert_int_equal(a->flags, b->flags);
}

static void assert_traces_eq(const ocl_traces_req_t *a, const ocl_traces_req_t *b)
{
    assert_int_equal(a->n_rs, b->n_rs);
    for (uint32_t i = 0; i < a->n_rs; i++) {
        const ocl_resource_spans_t *x = &a->rs[i], *y = &b->rs[i];
        assert_resource_eq(&x->resource, &y->resource);
        assert_true(ocl_str_eq(x->schema_url, y->schema_url));
        assert_int_equal(x->n_scope_spans, y->n_scope_spans);
        for (uint32_t j = 0; j < x->n_scope_spans; j++) {
            const ocl_scope_spans_t *p = &x->scope_spans[j], *q = &y->scope_spans[j];
            assert_scope_eq(&p->scope, &q->scope);
            assert_true(ocl_str_eq(p->schema_url, q->schema_url));
            assert_int_equal(p->n_spans, q->n_spans);
            for (uint32_t k = 0; k < p->n_spans; k++)
                assert_span_eq(&p->spans[k], &q->spans[k]);
        }
    }
}

static void assert_exemplars_eq(const ocl_exemplars_t *a, const ocl_exemplars_t *b)
{
    assert_int_equal(a->n, b->n);
    for (uint32_t i = 0; i < a->n; i++) {
        const ocl_exemplar_t *x = &a->v[i], *y = &b->v[i];
        assert_true(attrs_eq(&x->filtered_attrs, &y->filtered_attrs));
        assert_true(x->time_unix_nano == y->time_unix_nano);
        assert_int_equal(x->is_int, y->is_int);
        if (x->is_int)
            assert_true(x->as_int == y->as_int);
        else
            assert_true(dbl_eq(x->as_double, y->as_double));
        assert_true(ocl_str_eq(x->span_id, y->span_id));
        assert_true(ocl_str_eq(x->trace_id, y->trace_id));
    }
}

static void assert_metric_eq(const ocl_metric_t *a, const ocl_metric_t *b)
{
    assert_true(ocl_str_eq(a->name, b->name));
    assert_true(ocl_str_eq(a->description, b->description));
    assert_true(ocl_str_eq(a->unit, b->unit));
    assert_int_equal(a->type, b->type);
    assert_true(attrs_eq(&a->metadata, &b->metadata));
    if (a->type == OCL_METRIC_SUM || a->type == OCL_METRIC_HISTOGRAM ||
        a->type == OCL_METRIC_EXP_HISTOGRAM)
        assert_int_equal(a->temporality, b->temporality);
    if (a->type == OCL_METRIC_SUM) assert_int_equal(a->is_monotonic, b->is_monotonic);
    assert_int_equal(a->n_dp, b->n_dp);
    for (uint32_t i = 0; i < a->n_dp; i++) {
        switch (a->type) {
        case OCL_METRIC_GAUGE:
        case OCL_METRIC_SUM: {
            const ocl_number_dp_t *x = &a->dp.number[i], *y = &b->dp.number[i];
            assert_true(attrs_eq(&x->attrs, &y->attrs));
            assert_true(x->start_unix_nano == y->start_unix_nano);
            assert_true(x->time_unix_nano == y->time_unix_nano);
            assert_int_equal(x->is_int, y->is_int);
            if (x->is_int)
                assert_true(x->as_int == y->as_int);
            else
                assert_true(dbl_eq(x->as_double, y->as_double));
            assert_exemplars_eq(&x->exemplars, &y->exemplars);
            assert_int_equal(x->flags, y->flags);
            break;
        }
        case OCL_METRIC_HISTOGRAM: {
            const ocl_histogram_dp_t *x = &a->dp.hist[i], *y = &b->dp.hist[i];
            assert_true(attrs_eq(&x->attrs, &y->attrs));
            assert_true(x->start_unix_nano == y->start_unix_nano);
            assert_true(x->time_unix_nano == y->time_unix_nano);
            assert_true(x->count == y->count);
            assert_int_equal(x->has_sum, y->has_sum);
            if (x->has_sum) assert_true(dbl_eq(x->sum, y->sum));
            assert_int_equal(x->n_bucket_counts, y->n_bucket_counts);
            for (uint32_t j = 0; j < x->n_bucket_counts; j++)
                assert_true(x->bucket_counts[j] == y->bucket_counts[j]);
            assert_int_equal(x->n_explicit_bounds, y->n_explicit_bounds);
            for (uint32_t j = 0; j < x->n_explicit_bounds; j++)
                assert_true(dbl_eq(x->explicit_bounds[j], y->explicit_bounds[j]));
            assert_exemplars_eq(&x->exemplars, &y->exemplars);
            assert_int_equal(x->flags, y->flags);
            assert_int_equal(x->has_min, y->has_min);
            assert_int_equal(x->has_max, y->has_max);
            if (x->has_min) assert_true(dbl_eq(x->min, y->min));
            if (x->has_max) assert_true(dbl_eq(x->max, y->max));
            break;
        }
        case OCL_METRIC_EXP_HISTOGRAM: {
            const ocl_exp_histogram_dp_t *x = &a->dp.ehist[i], *y = &b->dp.ehist[i];
            assert_true(attrs_eq(&x->attrs, &y->attrs));
            assert_true(x->start_unix_nano == y->start_unix_nano);
            assert_true(x->time_unix_nano == y->time_unix_nano);
            assert_true(x->count == y->count);
            assert_int_equal(x->has_sum, y->has_sum);
            if (x->has_sum) assert_true(dbl_eq(x->sum, y->sum));
            assert_int_equal(x->scale, y->scale);
            assert_true(x->zero_count == y->zero_count);
            const ocl_exp_buckets_t *bx[2] = {&x->positive, &x->negative};
            const ocl_exp_buckets_t *by[2] = {&y->positive, &y->negative};
            for (int k = 0; k < 2; k++) {
                assert_int_equal(bx[k]->offset, by[k]->offset);
                assert_int_equal(bx[k]->n_bucket_counts, by[k]->n_bucket_counts);
                for (uint32_t j = 0; j < bx[k]->n_bucket_counts; j++)
                    assert_true(bx[k]->bucket_counts[j] == by[k]->bucket_counts[j]);
            }
            assert_int_equal(x->flags, y->flags);
            assert_exemplars_eq(&x->exemplars, &y->exemplars);
            assert_int_equal(x->has_min, y->has_min);
            assert_int_equal(x->has_max, y->has_max);
            if (x->has_min) assert_true(dbl_eq(x->min, y->min));
            if (x->has_max) assert_true(dbl_eq(x->max, y->max));
            assert_true(dbl_eq(x->zero_threshold, y->zero_threshold));
            break;
        }
        case OCL_METRIC_SUMMARY: {
            const ocl_summary_dp_t *x = &a->dp.summary[i], *y = &b->dp.summary[i];
            assert_true(attrs_eq(&x->attrs, &y->attrs));
            assert_true(x->start_unix_nano == y->start_unix_nano);
            assert_true(x->time_unix_nano == y->time_unix_nano);
            assert_true(x->count == y->count);
            assert_true(dbl_eq(x->sum, y->sum));
            assert_int_equal(x->n_quantiles, y->n_quantiles);
            for (uint32_t j = 0; j < x->n_quantiles; j++) {
                assert_true(dbl_eq(x->quantiles[j].quantile, y->quantiles[j].quantile));
                assert_true(dbl_eq(x->quantiles[j].value, y->quantiles[j].value));
            }
            assert_int_equal(x->flags, y->flags);
            break;
        }
        default:
            break;
        }
    }
}

static void assert_metrics_eq(const ocl_metrics_req_t *a, const ocl_metrics_req_t *b)
{
    assert_int_equal(a->n_rm, b->n_rm);
    for (uint32_t i = 0; i < a->n_rm; i++) {
        const ocl_resource_metrics_t *x = &a->rm[i], *y = &b->rm[i];
        assert_resource_eq(&x->resource, &y->resource);
        assert_true(ocl_str_eq(x->schema_url, y->schema_url));
        assert_int_equal(x->n_scope_metrics, y->n_scope_metrics);
        for (uint32_t j = 0; j < x->n_scope_metrics; j++) {
            const ocl_scope_metrics_t *p = &x->scope_metrics[j], *q = &y->scope_metrics[j];
            assert_scope_eq(&p->scope, &q->scope);
            assert_true(ocl_str_eq(p->schema_url, q->schema_url));
            assert_int_equal(p->n_metrics, q->n_metrics);
            for (uint32_t k = 0; k < p->n_metrics; k++)
                assert_metric_eq(&p->metrics[k], &q->metrics[k]);
        }
    }
}

static void assert_log_eq(const ocl_log_record_t *a, const ocl_log_record_t *b)
{
    assert_true(a->time_unix_nano == b->time_unix_nano);
    assert_true(a->observed_time_unix_nano == b->observed_time_unix_nano);
    assert_int_equal(a->severity_number, b->severity_number);
    assert_true(ocl_str_eq(a->severity_text, b->severity_text));
    assert_true(av_eq(&a->body, &b->body));
    assert_true(attrs_eq(&a->attrs, &b->attrs));
    assert_int_equal(a->dropped_attrs, b->dropped_attrs);
    assert_int_equal(a->flags, b->flags);
    assert_true(ocl_str_eq(a->trace_id, b->trace_id));
    assert_true(ocl_str_eq(a->span_id, b->span_id));
    assert_true(ocl_str_eq(a->event_name, b->event_name));
}

static void assert_logs_eq(const ocl_logs_req_t *a, const ocl_logs_req_t *b)
{
    assert_int_equal(a->n_rl, b->n_rl);
    for (uint32_t i = 0; i < a->n_rl; i++) {
        const ocl_resource_logs_t *x = &a->rl[i], *y = &b->rl[i];
        assert_resource_eq(&x->resource, &y->resource);
        assert_true(ocl_str_eq(x->schema_url, y->schema_url));
        assert_int_equal(x->n_scope_logs, y->n_scope_logs);
        for (uint32_t j = 0; j < x->n_scope_logs; j++) {
            const ocl_scope_logs_t *p = &x->scope_logs[j], *q = &y->scope_logs[j];
            assert_scope_eq(&p->scope, &q->scope);
            assert_true(ocl_str_eq(p->schema_url, q->schema_url));
            assert_int_equal(p->n_logs, q->n_logs);
            for (uint32_t k = 0; k < p->n_logs; k++)
                assert_log_eq(&p->logs[k], &q->logs[k]);
        }
    }
}

/* ------------------------------------------------------------------ */
/* full documents                                                      */

static const char TRACES_DOC[] =
    "{\"resourceSpans\":[{"
    "  \"resource\":{\"attributes\":["
    "     {\"key\":\"service.name\",\"value\":{\"stringValue\":\"checkout\"}},"
    "     {\"key\":\"b\",\"value\":{\"boolValue\":true}},"
    "     {\"key\":\"i\",\"value\":{\"intValue\":\"-42\"}},"
    "     {\"key\":\"d\",\"value\":{\"doubleValue\":2.5}},"
    "     {\"key\":\"by\",\"value\":{\"bytesValue\":\"AQID/w==\"}},"
    "     {\"key\":\"arr\",\"value\":{\"arrayValue\":{\"values\":[{\"intValue\":1},"
    "         {\"stringValue\":\"x\"},{}]}}},"
    "     {\"key\":\"kv\",\"value\":{\"kvlistValue\":{\"values\":[{\"key\":\"n\","
    "         \"value\":{\"doubleValue\":\"NaN\"}}]}}},"
    "     {\"key\":\"empty\",\"value\":{}}],"
    "   \"droppedAttributesCount\":3},"
    "  \"scopeSpans\":[{"
    "    \"scope\":{\"name\":\"lib\",\"version\":\"1.2.3\",\"attributes\":[{\"key\":\"sa\","
    "       \"value\":{\"stringValue\":\"sv\"}}],\"droppedAttributesCount\":1},"
    "    \"spans\":[{"
    "      \"traceId\":\"5B8EFFF798038103D269B633813FC60C\","
    "      \"spanId\":\"eee19b7ec3c1b174\","
    "      \"traceState\":\"k=v\","
    "      \"parentSpanId\":\"eee19b7ec3c1b173\","
    "      \"flags\":257,"
    "      \"name\":\"GET /cart\","
    "      \"kind\":2,"
    "      \"startTimeUnixNano\":\"1544712660000000000\","
    "      \"endTimeUnixNano\":1544712661000000000,"
    "      \"attributes\":[{\"key\":\"http.status_code\",\"value\":{\"intValue\":200}}],"
    "      \"droppedAttributesCount\":4,"
    "      \"events\":[{\"timeUnixNano\":\"1544712660500000000\",\"name\":\"ev\","
    "         \"attributes\":[{\"key\":\"ea\",\"value\":{\"boolValue\":false}}],"
    "         \"droppedAttributesCount\":5}],"
    "      \"droppedEventsCount\":6,"
    "      \"links\":[{\"traceId\":\"00000000000000000000000000000001\",\"spanId\":"
    "         \"0000000000000002\",\"traceState\":\"l=1\",\"attributes\":[{\"key\":\"la\","
    "         \"value\":{\"stringValue\":\"lv\"}}],\"droppedAttributesCount\":7,\"flags\":1}],"
    "      \"droppedLinksCount\":8,"
    "      \"status\":{\"message\":\"boom\",\"code\":2},"
    "      \"unknownField\":{\"x\":[1,2,3]}"
    "    },{\"name\":\"second\"}],"
    "    \"schemaUrl\":\"https://scope/schema\"}],"
    "  \"schemaUrl\":\"https://opentelemetry.io/schemas/1.21.0\"}]}";

static void test_decode_traces_full(void **state)
{
    ocl_traces_req_t r;
    const char *err = NULL;
    assert_int_equal(dec_t(TRACES_DOC, &r, &err), 0);
    assert_int_equal(r.n_rs, 1);
    ocl_resource_spans_t *rs = &r.rs[0];
    assert_null(rs->raw.p);
    assert_str(rs->schema_url, "https://opentelemetry.io/schemas/1.21.0");
    assert_true(rs->resource.present);
    assert_int_equal(rs->resource.dropped_attrs, 3);
    ocl_attrs_t *ra = &rs->resource.attrs;
    assert_int_equal(ra->n, 8);
    assert_str(ra->v[0].key, "service.name");
    assert_int_equal(ra->v[0].value.type, OCL_AV_STRING);
    assert_str(ra->v[0].value.u.s, "checkout");
    assert_str(ocl_attrs_get_str(ra, "service.name"), "checkout");
    assert_int_equal(ra->v[1].value.type, OCL_AV_BOOL);
    assert_true(ra->v[1].value.u.b);
    assert_int_equal(ra->v[2].value.type, OCL_AV_INT);
    assert_int_equal(ra->v[2].value.u.i, -42);
    assert_int_equal(ra->v[3].value.type, OCL_AV_DOUBLE);
    assert_true(ra->v[3].value.u.d == 2.5);
    assert_int_equal(ra->v[4].value.type, OCL_AV_BYTES);
    assert_bytes(ra->v[4].value.u.s, "\x01\x02\x03\xff");
    assert_int_equal(ra->v[5].value.type, OCL_AV_ARRAY);
    assert_int_equal(ra->v[5].value.u.arr.n, 3);
    assert_int_equal(ra->v[5].value.u.arr.v[0].type, OCL_AV_INT);
    assert_int_equal(ra->v[5].value.u.arr.v[0].u.i, 1);
    assert_str(ra->v[5].value.u.arr.v[1].u.s, "x");
    assert_int_equal(ra->v[5].value.u.arr.v[2].type, OCL_AV_EMPTY);
    assert_int_equal(ra->v[6].value.type, OCL_AV_KVLIST);
    assert_int_equal(ra->v[6].value.u.kvlist.n, 1);
    assert_str(ra->v[6].value.u.kvlist.kv[0].key, "n");
    assert_true(isnan(ra->v[6].value.u.kvlist.kv[0].value.u.d));
    assert_int_equal(ra->v[7].value.type, OCL_AV_EMPTY);

    assert_int_equal(rs->n_scope_spans, 1);
    ocl_scope_spans_t *ss = &rs->scope_spans[0];
    assert_str(ss->schema_url, "https://scope/schema");
    assert_true(ss->scope.present);
    assert_str(ss->scope.name, "lib");
    assert_str(ss->scope.version, "1.2.3");
    assert_int_equal(ss->scope.attrs.n, 1);
    assert_str(ss->scope.attrs.v[0].value.u.s, "sv");
    assert_int_equal(ss->scope.dropped_attrs, 1);
    assert_int_equal(ss->n_spans, 2);
    ocl_span_t *s = &ss->spans[0];
    assert_null(s->raw.p);
    assert_bytes(s->trace_id, "\x5b\x8e\xff\xf7\x98\x03\x81\x03\xd2\x69\xb6\x33\x81\x3f\xc6\x0c");
    assert_bytes(s->span_id, "\xee\xe1\x9b\x7e\xc3\xc1\xb1\x74");
    assert_str(s->trace_state, "k=v");
    assert_bytes(s->parent_span_id, "\xee\xe1\x9b\x7e\xc3\xc1\xb1\x73");
    assert_int_equal(s->flags, 257);
    assert_str(s->name, "GET /cart");
    assert_int_equal(s->kind, OCL_SPAN_KIND_SERVER);
    assert_true(s->start_unix_nano == 1544712660000000000ull);
    assert_true(s->end_unix_nano == 1544712661000000000ull);
    assert_int_equal(s->attrs.n, 1);
    assert_int_equal(s->attrs.v[0].value.u.i, 200);
    assert_int_equal(s->dropped_attrs, 4);
    assert_int_equal(s->n_events, 1);
    assert_true(s->events[0].time_unix_nano == 1544712660500000000ull);
    assert_str(s->events[0].name, "ev");
    assert_int_equal(s->events[0].attrs.n, 1);
    assert_false(s->events[0].attrs.v[0].value.u.b);
    assert_int_equal(s->events[0].attrs.v[0].value.type, OCL_AV_BOOL);
    assert_int_equal(s->events[0].dropped_attrs, 5);
    assert_int_equal(s->dropped_events, 6);
    assert_int_equal(s->n_links, 1);
    assert_bytes(s->links[0].trace_id,
                 "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01");
    assert_bytes(s->links[0].span_id, "\x00\x00\x00\x00\x00\x00\x00\x02");
    assert_str(s->links[0].trace_state, "l=1");
    assert_str(s->links[0].attrs.v[0].value.u.s, "lv");
    assert_int_equal(s->links[0].dropped_attrs, 7);
    assert_int_equal(s->links[0].flags, 1);
    assert_int_equal(s->dropped_links, 8);
    assert_true(s->has_status);
    assert_str(s->status_message, "boom");
    assert_int_equal(s->status_code, 2);

    ocl_span_t *s2 = &ss->spans[1];
    assert_str(s2->name, "second");
    assert_int_equal(s2->trace_id.n, 0);
    assert_false(s2->has_status);
    assert_int_equal(s2->kind, 0);
    assert_int_equal(ocl_otlp_traces_count(&r), 2);

    /* The model must not depend on the input buffer: decode from a heap
     * copy, scribble over it and check again. */
    size_t n = strlen(TRACES_DOC);
    char *copy = malloc(n);
    memcpy(copy, TRACES_DOC, n);
    assert_int_equal(ocl_otlp_json_decode_traces(copy, n, &A, &r, &err), 0);
    memset(copy, 'x', n);
    free(copy);
    assert_str(r.rs[0].scope_spans[0].spans[0].name, "GET /cart");
    assert_str(r.rs[0].resource.attrs.v[0].value.u.s, "checkout");
}

static const char METRICS_DOC[] =
    "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
    "  \"value\":{\"stringValue\":\"api\"}}]},"
    " \"scopeMetrics\":[{\"scope\":{\"name\":\"m\"},\"schemaUrl\":\"su\",\"metrics\":["
    "  {\"name\":\"g\",\"description\":\"a gauge\",\"unit\":\"1\",\"gauge\":{\"dataPoints\":["
    "     {\"attributes\":[{\"key\":\"a\",\"value\":{\"stringValue\":\"b\"}}],"
    "      \"startTimeUnixNano\":\"1\",\"timeUnixNano\":\"2\",\"asDouble\":0.25,\"flags\":1,"
    "      \"exemplars\":[{\"filteredAttributes\":[{\"key\":\"f\",\"value\":{\"intValue\":\"9\"}}],"
    "        \"timeUnixNano\":\"3\",\"asInt\":\"-7\",\"spanId\":\"0102030405060708\","
    "        \"traceId\":\"0102030405060708090a0b0c0d0e0f10\"},{\"asDouble\":1.5}]},"
    "     {\"asInt\":\"9223372036854775807\"}]},"
    "   \"metadata\":[{\"key\":\"md\",\"value\":{\"stringValue\":\"mv\"}}]},"
    "  {\"name\":\"s\",\"sum\":{\"dataPoints\":[{\"asInt\":5}],"
    "     \"aggregationTemporality\":\"AGGREGATION_TEMPORALITY_CUMULATIVE\",\"isMonotonic\":true}},"
    "  {\"name\":\"h\",\"histogram\":{\"aggregationTemporality\":1,\"dataPoints\":[{"
    "     \"startTimeUnixNano\":\"10\",\"timeUnixNano\":\"20\",\"count\":\"6\",\"sum\":12.5,"
    "     \"bucketCounts\":[\"1\",2,\"3\"],\"explicitBounds\":[1,2.5,\"Infinity\"],"
    "     \"exemplars\":[{\"asDouble\":3}],\"flags\":0,\"min\":0.5,\"max\":4}]}},"
    "  {\"name\":\"e\",\"exponentialHistogram\":{\"aggregationTemporality\":2,\"dataPoints\":[{"
    "     \"attributes\":[{\"key\":\"x\",\"value\":{\"boolValue\":true}}],"
    "     \"count\":\"10\",\"sum\":-1.5,\"scale\":-3,\"zeroCount\":\"2\","
    "     \"positive\":{\"offset\":-2,\"bucketCounts\":[\"1\",\"2\"]},"
    "     \"negative\":{\"bucketCounts\":[3]},\"flags\":1,\"min\":-1,\"max\":1,"
    "     \"zeroThreshold\":1e-9,\"exemplars\":[{\"asInt\":\"1\"}]}]}},"
    "  {\"name\":\"q\",\"summary\":{\"dataPoints\":[{\"timeUnixNano\":\"5\",\"count\":\"3\","
    "     \"sum\":7.5,\"quantileValues\":[{\"quantile\":0.5,\"value\":2},{\"value\":1}],"
    "     \"flags\":1}]}},"
    "  {\"name\":\"nodata\"}"
    "]}]}]}";

static void test_decode_metrics_full(void **state)
{
    ocl_metrics_req_t r;
    const char *err = NULL;
    assert_int_equal(dec_m(METRICS_DOC, &r, &err), 0);
    assert_int_equal(r.n_rm, 1);
    assert_str(ocl_attrs_get_str(&r.rm[0].resource.attrs, "service.name"), "api");
    ocl_scope_metrics_t *sm = &r.rm[0].scope_metrics[0];
    assert_str(sm->scope.name, "m");
    assert_str(sm->schema_url, "su");
    assert_int_equal(sm->n_metrics, 6);

    ocl_metric_t *g = &sm->metrics[0];
    assert_str(g->name, "g");
    assert_str(g->description, "a gauge");
    assert_str(g->unit, "1");
    assert_int_equal(g->type, OCL_METRIC_GAUGE);
    assert_int_equal(g->metadata.n, 1);
    assert_str(g->metadata.v[0].value.u.s, "mv");
    assert_int_equal(g->n_dp, 2);
    ocl_number_dp_t *dp = &g->dp.number[0];
    assert_int_equal(dp->attrs.n, 1);
    assert_true(dp->start_unix_nano == 1 && dp->time_unix_nano == 2);
    assert_false(dp->is_int);
    assert_true(dp->as_double == 0.25);
    assert_int_equal(dp->flags, 1);
    assert_int_equal(dp->exemplars.n, 2);
    ocl_exemplar_t *x = &dp->exemplars.v[0];
    assert_int_equal(x->filtered_attrs.n, 1);
    assert_int_equal(x->filtered_attrs.v[0].value.u.i, 9);
    assert_true(x->time_unix_nano == 3);
    assert_true(x->is_int);
    assert_true(x->as_int == -7);
    assert_bytes(x->span_id, "\x01\x02\x03\x04\x05\x06\x07\x08");
    assert_int_equal(x->trace_id.n, 16);
    assert_int_equal((unsigned char)x->trace_id.p[15], 0x10);
    assert_false(dp->exemplars.v[1].is_int);
    assert_true(dp->exemplars.v[1].as_double == 1.5);
    assert_true(g->dp.number[1].is_int);
    assert_true(g->dp.number[1].as_int == INT64_MAX);

    ocl_metric_t *s = &sm->metrics[1];
    assert_int_equal(s->type, OCL_METRIC_SUM);
    assert_int_equal(s->temporality, OCL_TEMPORALITY_CUMULATIVE);
    assert_true(s->is_monotonic);
    assert_true(s->dp.number[0].is_int && s->dp.number[0].as_int == 5);

    ocl_metric_t *h = &sm->metrics[2];
    assert_int_equal(h->type, OCL_METRIC_HISTOGRAM);
    assert_int_equal(h->temporality, OCL_TEMPORALITY_DELTA);
    ocl_histogram_dp_t *hd = &h->dp.hist[0];
    assert_true(hd->start_unix_nano == 10 && hd->time_unix_nano == 20 && hd->count == 6);
    assert_true(hd->has_sum && hd->sum == 12.5);
    assert_int_equal(hd->n_bucket_counts, 3);
    assert_true(hd->bucket_counts[0] == 1 && hd->bucket_counts[1] == 2 &&
                hd->bucket_counts[2] == 3);
    assert_int_equal(hd->n_explicit_bounds, 3);
    assert_true(hd->explicit_bounds[1] == 2.5);
    assert_true(isinf(hd->explicit_bounds[2]) && hd->explicit_bounds[2] > 0);
    assert_int_equal(hd->exemplars.n, 1);
    assert_true(hd->exemplars.v[0].as_double == 3);
    assert_true(hd->has_min && hd->min == 0.5);
    assert_true(hd->has_max && hd->max == 4);

    ocl_metric_t *e = &sm->metrics[3];
    assert_int_equal(e->type, OCL_METRIC_EXP_HISTOGRAM);
    assert_int_equal(e->temporality, 2);
    ocl_exp_histogram_dp_t *ed = &e->dp.ehist[0];
    assert_int_equal(ed->attrs.n, 1);
    assert_true(ed->count == 10 && ed->has_sum && ed->sum == -1.5);
    assert_int_equal(ed->scale, -3);
    assert_true(ed->zero_count == 2);
    assert_int_equal(ed->positive.offset, -2);
    assert_int_equal(ed->positive.n_bucket_counts, 2);
    assert_true(ed->positive.bucket_counts[1] == 2);
    assert_int_equal(ed->negative.offset, 0);
    assert_int_equal(ed->negative.n_bucket_counts, 1);
    assert_true(ed->negative.bucket_counts[0] == 3);
    assert_int_equal(ed->flags, 1);
    assert_true(ed->has_min && ed->min == -1 && ed->has_max && ed->max == 1);
    assert_true(ed->zero_threshold == 1e-9);
    assert_true(ed->exemplars.n == 1 && ed->exemplars.v[0].is_int);

    ocl_metric_t *q = &sm->metrics[4];
    assert_int_equal(q->type, OCL_METRIC_SUMMARY);
    ocl_summary_dp_t *qd = &q->dp.summary[0];
    assert_true(qd->time_unix_nano == 5 && qd->count == 3 && qd->sum == 7.5);
    assert_int_equal(qd->n_quantiles, 2);
    assert_true(qd->quantiles[0].quantile == 0.5 && qd->quantiles[0].value == 2);
    assert_true(qd->quantiles[1].quantile == 0 && qd->quantiles[1].value == 1);
    assert_int_equal(qd->flags, 1);

    assert_int_equal(sm->metrics[5].type, OCL_METRIC_NONE);
    assert_int_equal(sm->metrics[5].n_dp, 0);
    assert_int_equal(ocl_otlp_metrics_count(&r), 6);
}

static const char LOGS_DOC[] =
    "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
    "  {\"stringValue\":\"web\"}}]},\"schemaUrl\":\"rs\","
    " \"scopeLogs\":[{\"scope\":{\"name\":\"logger\"},\"schemaUrl\":\"ss\",\"logRecords\":["
    "  {\"timeUnixNano\":\"1700000000000000001\",\"observedTimeUnixNano\":\"1700000000000000002\","
    "   \"severityNumber\":\"SEVERITY_NUMBER_INFO\",\"severityText\":\"Information\","
    "   \"body\":{\"stringValue\":\"hello \\\"world\\\"\\n\"},"
    "   \"attributes\":[{\"key\":\"k\",\"value\":{\"intValue\":\"1\"}}],"
    "   \"droppedAttributesCount\":2,\"flags\":1,"
    "   \"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"EEE19B7EC3C1B174\","
    "   \"eventName\":\"app.start\"},"
    "  {\"severityNumber\":17,\"body\":{\"kvlistValue\":{\"values\":[{\"key\":\"a\","
    "    \"value\":{\"arrayValue\":{\"values\":[{\"boolValue\":true}]}}}]}}}"
    "]}]}]}";

static void test_decode_logs_full(void **state)
{
    ocl_logs_req_t r;
    const char *err = NULL;
    assert_int_equal(dec_l(LOGS_DOC, &r, &err), 0);
    assert_int_equal(r.n_rl, 1);
    assert_str(r.rl[0].schema_url, "rs");
    ocl_scope_logs_t *sl = &r.rl[0].scope_logs[0];
    assert_str(sl->scope.name, "logger");
    assert_str(sl->schema_url, "ss");
    assert_int_equal(sl->n_logs, 2);
    ocl_log_record_t *l = &sl->logs[0];
    assert_true(l->time_unix_nano == 1700000000000000001ull);
    assert_true(l->observed_time_unix_nano == 1700000000000000002ull);
    assert_int_equal(l->severity_number, 9);
    assert_str(l->severity_text, "Information");
    assert_int_equal(l->body.type, OCL_AV_STRING);
    assert_str(l->body.u.s, "hello \"world\"\n");
    assert_int_equal(l->attrs.n, 1);
    assert_int_equal(l->dropped_attrs, 2);
    assert_int_equal(l->flags, 1);
    assert_int_equal(l->trace_id.n, 16);
    assert_bytes(l->span_id, "\xee\xe1\x9b\x7e\xc3\xc1\xb1\x74");
    assert_str(l->event_name, "app.start");
    ocl_log_record_t *l2 = &sl->logs[1];
    assert_int_equal(l2->severity_number, 17);
    assert_int_equal(l2->body.type, OCL_AV_KVLIST);
    assert_int_equal(l2->body.u.kvlist.kv[0].value.type, OCL_AV_ARRAY);
    assert_true(l2->body.u.kvlist.kv[0].value.u.arr.v[0].u.b);
    assert_int_equal(ocl_otlp_logs_count(&r), 2);
}

/* ------------------------------------------------------------------ */
/* round trips of hand-built models                                    */

static ocl_anyvalue_t nested_vals[3];
static ocl_kv_t nested_kv[2];
static ocl_kv_t all_attrs[9];

static void build_attrs(ocl_attrs_t *out)
{
    nested_vals[0] = (ocl_anyvalue_t){.type = OCL_AV_INT, .u.i = INT64_MIN};
    nested_vals[1] = (ocl_anyvalue_t){.type = OCL_AV_STRING, .u.s = S("n\"es\\ted\x01")};
    nested_vals[2] = (ocl_anyvalue_t){.type = OCL_AV_EMPTY};
    nested_kv[0] = (ocl_kv_t){S("inner"), {.type = OCL_AV_DOUBLE, .u.d = -0.0}};
    nested_kv[1] = (ocl_kv_t){S("arr"), {.type = OCL_AV_ARRAY, .u.arr = {nested_vals, 3}}};
    all_attrs[0] =
        (ocl_kv_t){S("s"), {.type = OCL_AV_STRING, .u.s = S("h\xc3\xa9llo \xe2\x82\xac")}};
    all_attrs[1] = (ocl_kv_t){S("b"), {.type = OCL_AV_BOOL, .u.b = true}};
    all_attrs[2] = (ocl_kv_t){S("i"), {.type = OCL_AV_INT, .u.i = INT64_MAX}};
    all_attrs[3] = (ocl_kv_t){S("d"), {.type = OCL_AV_DOUBLE, .u.d = 0.1}};
    all_attrs[4] = (ocl_kv_t){S("nan"), {.type = OCL_AV_DOUBLE, .u.d = NAN}};
    all_attrs[5] = (ocl_kv_t){S("inf"), {.type = OCL_AV_DOUBLE, .u.d = -INFINITY}};
    all_attrs[6] = (ocl_kv_t){S("by"), {.type = OCL_AV_BYTES, .u.s = S("\x00\xff\x10\x20\x30")}};
    all_attrs[7] = (ocl_kv_t){S("kv"), {.type = OCL_AV_KVLIST, .u.kvlist = {nested_kv, 2}}};
    all_attrs[8] = (ocl_kv_t){S(""), {.type = OCL_AV_EMPTY}};
    *out = (ocl_attrs_t){all_attrs, 9};
}

static void test_roundtrip_traces(void **state)
{
    ocl_attrs_t attrs;
    build_attrs(&attrs);
    ocl_span_event_t ev[2] = {
        {.time_unix_nano = UINT64_MAX, .name = S("e1"), .attrs = attrs, .dropped_attrs = 1},
        {0},
    };
    ocl_span_link_t ln[1] = {{.trace_id = S("0123456789abcdef"),
                              .span_id = S("\x01\x02\x03\x04\x05\x06\x07\x08"),
                              .trace_state = S("a=b"),
                              .attrs = attrs,
                              .dropped_attrs = 2,
                              .flags = 0x301}};
    ocl_span_t spans[2] = {
        {.trace_id = S("\xde\xad\xbe\xef\xde\xad\xbe\xef\xde\xad\xbe\xef\xde\xad\xbe\xef"),
         .span_id = S("\x00\x00\x00\x00\x00\x00\x00\x01"),
         .trace_state = S("x=y"),
         .parent_span_id = S("\xff\xff\xff\xff\xff\xff\xff\xff"),
         .name = S("span \xf0\x9f\x90\x88"),
         .kind = 5,
         .start_unix_nano = 1,
         .end_unix_nano = UINT64_MAX,
         .attrs = attrs,
         .dropped_attrs = 3,
         .events = ev,
         .n_events = 2,
         .dropped_events = 4,
         .links = ln,
         .n_links = 1,
         .dropped_links = UINT32_MAX,
         .status_message = S("msg"),
         .status_code = 2,
         .has_status = true,
         .flags = 1},
        {.has_status = true, .kind = 77},
    };
    ocl_scope_spans_t ss[2] = {
        {.scope = {.name = S("n"),
                   .version = S("v"),
                   .attrs = attrs,
                   .dropped_attrs = 9,
                   .present = true},
         .spans = spans,
         .n_spans = 2,
         .schema_url = S("u1")},
        {.n_spans = 0},
    };
    ocl_resource_spans_t rs[2] = {
        {.resource = {.attrs = attrs, .dropped_attrs = 5, .present = true},
         .scope_spans = ss,
         .n_scope_spans = 2,
         .schema_url = S("u0")},
        {.resource = {.present = true}},
    };
    ocl_traces_req_t req = {rs, 2};

    ocl_buf_t b1, b2;
    ocl_buf_init(&b1);
    ocl_buf_init(&b2);
    ocl_otlp_json_encode_traces(&req, "resourceSpans", &b1);
    ocl_traces_req_t got;
    const char *err = NULL;
    int rc = ocl_otlp_json_decode_traces(b1.p, b1.len, &A, &got, &err);
    if (rc) fprintf(stderr, "err=%s\n%.*s\n", err, (int)b1.len, b1.p);
    assert_int_equal(rc, 0);
    assert_traces_eq(&req, &got);
    ocl_otlp_json_encode_traces(&got, "resourceSpans", &b2);
    assert_int_equal(b1.len, b2.len);
    assert_memory_equal(b1.p, b2.p, b1.len);
    /* Canonical form spot checks. */
    ocl_buf_putc(&b1, 0);
    const char *j = (const char *)b1.p;
    assert_non_null(strstr(j, "\"traceId\":\"deadbeefdeadbeefdeadbeefdeadbeef\""));
    assert_non_null(strstr(j, "\"endTimeUnixNano\":\"18446744073709551615\""));
    assert_non_null(strstr(j, "\"kind\":5"));
    assert_non_null(strstr(j, "\"intValue\":\"-9223372036854775808\""));
    assert_non_null(strstr(j, "\"doubleValue\":\"NaN\""));
    assert_non_null(strstr(j, "\"doubleValue\":\"-Infinity\""));
    assert_non_null(strstr(j, "\"doubleValue\":0.1"));
    assert_non_null(strstr(j, "\"bytesValue\":\"AP8QIDA=\""));
    assert_non_null(strstr(j, "\"status\":{\"message\":\"msg\",\"code\":2}"));
    assert_non_null(strstr(j, "\"status\":{}"));
    assert_null(strstr(j, "\"raw\""));

    /* Tempo's v1 key. */
    ocl_buf_dispose(&b2);
    ocl_otlp_json_encode_traces(&req, "batches", &b2);
    assert_int_equal(memcmp(b2.p, "{\"batches\":[", 12), 0);
    ocl_buf_dispose(&b1);
    ocl_buf_dispose(&b2);

    /* Empty request. */
    ocl_traces_req_t empty = {0};
    ocl_otlp_json_encode_traces(&empty, "resourceSpans", &b1);
    assert_int_equal(b1.len, strlen("{\"resourceSpans\":[]}"));
    assert_memory_equal(b1.p, "{\"resourceSpans\":[]}", b1.len);
    ocl_buf_dispose(&b1);
}

static void test_roundtrip_metrics(void **state)
{
    ocl_attrs_t attrs;
    build_attrs(&attrs);
    ocl_exemplar_t ex[2] = {
        {.filtered_attrs = attrs,
         .time_unix_nano = 7,
         .is_int = true,
         .as_int = -5,
         .span_id = S("12345678"),
         .trace_id = S("1234567812345678")},
        {.as_double = 0.0},
    };
    ocl_number_dp_t nd[3] = {
        {.attrs = attrs,
         .start_unix_nano = 1,
         .time_unix_nano = 2,
         .as_double = 1e300,
         .exemplars = {ex, 2},
         .flags = 1},
        {.is_int = true, .as_int = 0},
        {.as_double = 0.0},
    };
    uint64_t bc[3] = {0, UINT64_MAX, 5};
    double eb[2] = {-INFINITY, 1.0 / 3.0};
    ocl_histogram_dp_t hd[2] = {
        {.attrs = attrs,
         .start_unix_nano = 3,
         .time_unix_nano = 4,
         .count = 99,
         .has_sum = true,
         .sum = 0.0,
         .bucket_counts = bc,
         .n_bucket_counts = 3,
         .explicit_bounds = eb,
         .n_explicit_bounds = 2,
         .exemplars = {ex, 1},
         .flags = 1,
         .has_min = true,
         .min = -0.0,
         .has_max = true,
         .max = 5e-324},
        {.count = 0},
    };
    ocl_exp_histogram_dp_t ed[1] = {{.attrs = attrs,
                                     .start_unix_nano = 5,
                                     .time_unix_nano = 6,
                                     .count = 7,
                                     .has_sum = true,
                                     .sum = 8.5,
                                     .scale = -10,
                                     .zero_count = 11,
                                     .positive = {-3, bc, 3},
                                     .negative = {4, NULL, 0},
                                     .flags = 1,
                                     .exemplars = {ex, 2},
                                     .has_min = true,
                                     .min = 1,
                                     .zero_threshold = 1e-12}};
    ocl_quantile_t qv[2] = {{0.99, 12.0}, {0, 0}};
    ocl_summary_dp_t sd[1] = {{.attrs = attrs,
                               .time_unix_nano = 9,
                               .count = 2,
                               .sum = 24.0,
                               .quantiles = qv,
                               .n_quantiles = 2,
                               .flags = 1}};
    ocl_metric_t ms[7] = {
        {.name = S("g"),
         .description = S("d"),
         .unit = S("ms"),
         .type = OCL_METRIC_GAUGE,
         .dp.number = nd,
         .n_dp = 3,
         .metadata = attrs},
        {.name = S("s"),
         .type = OCL_METRIC_SUM,
         .temporality = 2,
         .is_monotonic = true,
         .dp.number = nd,
         .n_dp = 1},
        {.name = S("h"), .type = OCL_METRIC_HISTOGRAM, .temporality = 1, .dp.hist = hd, .n_dp = 2},
        {.name = S("e"),
         .type = OCL_METRIC_EXP_HISTOGRAM,
         .temporality = 2,
         .dp.ehist = ed,
         .n_dp = 1},
        {.name = S("q"), .type = OCL_METRIC_SUMMARY, .dp.summary = sd, .n_dp = 1},
        {.name = S("empty gauge"), .type = OCL_METRIC_GAUGE},
        {.name = S("none")},
    };
    ocl_scope_metrics_t sm[1] = {{.scope = {.name = S("sc"), .present = true},
                                  .metrics = ms,
                                  .n_metrics = 7,
                                  .schema_url = S("x")}};
    ocl_resource_metrics_t rm[1] = {{.resource = {.attrs = attrs, .present = true},
                                     .scope_metrics = sm,
                                     .n_scope_metrics = 1,
                                     .schema_url = S("y")}};
    ocl_metrics_req_t req = {rm, 1};

    ocl_buf_t b1, b2;
    ocl_buf_init(&b1);
    ocl_buf_init(&b2);
    ocl_otlp_json_encode_metrics(&req, &b1);
    ocl_metrics_req_t got;
    const char *err = NULL;
    int rc = ocl_otlp_json_decode_metrics(b1.p, b1.len, &A, &got, &err);
    if (rc) fprintf(stderr, "err=%s\n%.*s\n", err, (int)b1.len, b1.p);
    assert_int_equal(rc, 0);
    assert_metrics_eq(&req, &got);
    ocl_otlp_json_encode_metrics(&got, &b2);
    assert_int_equal(b1.len, b2.len);
    assert_memory_equal(b1.p, b2.p, b1.len);
    ocl_buf_putc(&b1, 0);
    const char *j = (const char *)b1.p;
    assert_non_null(strstr(j, "\"asInt\":\"0\""));
    assert_non_null(strstr(j, "\"asDouble\":0}"));
    assert_non_null(strstr(j, "\"bucketCounts\":[\"0\",\"18446744073709551615\",\"5\"]"));
    assert_non_null(strstr(j, "\"explicitBounds\":[\"-Infinity\",0.3333333333333333]"));
    assert_non_null(strstr(j, "\"aggregationTemporality\":2,\"isMonotonic\":true"));
    assert_non_null(strstr(j, "{\"name\":\"empty gauge\",\"gauge\":{}}"));
    assert_non_null(strstr(j, "{\"name\":\"none\"}"));
    ocl_buf_dispose(&b1);
    ocl_buf_dispose(&b2);
}

static void test_roundtrip_logs(void **state)
{
    ocl_attrs_t attrs;
    build_attrs(&attrs);
    ocl_log_record_t lr[3] = {
        {.time_unix_nano = UINT64_MAX,
         .observed_time_unix_nano = 1,
         .severity_number = 24,
         .severity_text = S("FATAL4"),
         .body = {.type = OCL_AV_KVLIST, .u.kvlist = {nested_kv, 2}},
         .attrs = attrs,
         .dropped_attrs = 1,
         .flags = 1,
         .trace_id = S("abcdefghijklmnop"),
         .span_id = S("abcdefgh"),
         .event_name = S("ev")},
        {.body = {.type = OCL_AV_BYTES, .u.s = S("\x01")}},
        {.body = {.type = OCL_AV_STRING, .u.s = S("ctl\x1f\x7f\t")}, .severity_number = -3},
    };
    ocl_scope_logs_t sl[1] = {{.logs = lr, .n_logs = 3}};
    ocl_resource_logs_t rl[1] = {{.scope_logs = sl, .n_scope_logs = 1}};
    ocl_logs_req_t req = {rl, 1};

    ocl_buf_t b1, b2;
    ocl_buf_init(&b1);
    ocl_buf_init(&b2);
    ocl_otlp_json_encode_logs(&req, &b1);
    ocl_logs_req_t got;
    const char *err = NULL;
    int rc = ocl_otlp_json_decode_logs(b1.p, b1.len, &A, &got, &err);
    if (rc) fprintf(stderr, "err=%s\n%.*s\n", err, (int)b1.len, b1.p);
    assert_int_equal(rc, 0);
    assert_logs_eq(&req, &got);
    ocl_otlp_json_encode_logs(&got, &b2);
    assert_int_equal(b1.len, b2.len);
    assert_memory_equal(b1.p, b2.p, b1.len);
    ocl_buf_putc(&b1, 0);
    const char *j = (const char *)b1.p;
    assert_non_null(strstr(j, "\"bytesValue\":\"AQ==\""));
    assert_non_null(strstr(j, "\"stringValue\":\"ctl\\u001f\x7f\\t\""));
    assert_non_null(strstr(j, "\"severityNumber\":-3"));
    /* Resource and scope absent in the model: not emitted. */
    assert_null(strstr(j, "\"resource\""));
    assert_null(strstr(j, "\"scope\""));
    ocl_buf_dispose(&b1);
    ocl_buf_dispose(&b2);
}

static void test_encode_response(void **state)
{
    ocl_buf_t b;
    ocl_buf_init(&b);
    ocl_otlp_json_encode_response("rejectedSpans", 0, OCL_STR_NULL, &b);
    assert_int_equal(b.len, 2);
    assert_memory_equal(b.p, "{}", 2);
    b.len = 0;
    ocl_otlp_json_encode_response("rejectedSpans", 3, S("bad \"span\""), &b);
    const char *want = "{\"partialSuccess\":{\"rejectedSpans\":\"3\",\"errorMessage\":"
                       "\"bad \\\"span\\\"\"}}";
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.p, want, b.len);
    b.len = 0;
    ocl_otlp_json_encode_response("rejectedLogRecords", 12, OCL_STR_NULL, &b);
    want = "{\"partialSuccess\":{\"rejectedLogRecords\":\"12\"}}";
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.p, want, b.len);
    b.len = 0;
    ocl_otlp_json_encode_response("rejectedDataPoints", 0, S("warn"), &b);
    want = "{\"partialSuccess\":{\"errorMessage\":\"warn\"}}";
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.p, want, b.len);
    ocl_buf_dispose(&b);
}

/* ------------------------------------------------------------------ */
/* scalar mappings                                                     */

static void test_int64_forms(void **state)
{
    ocl_span_t *s;
    const char *err = NULL;
    assert_int_equal(one_span("{\"startTimeUnixNano\":\"18446744073709551615\","
                              "\"endTimeUnixNano\":9223372036854775807}",
                              &s, &err),
                     0);
    assert_true(s->start_unix_nano == UINT64_MAX);
    assert_true(s->end_unix_nano == (uint64_t)INT64_MAX);
    assert_int_equal(one_span("{\"startTimeUnixNano\":1e3,\"endTimeUnixNano\":\"0\"}", &s, &err),
                     0);
    assert_true(s->start_unix_nano == 1000 && s->end_unix_nano == 0);

    /* Out of range / malformed. */
    const char *bad[] = {
        "{\"startTimeUnixNano\":\"18446744073709551616\"}",
        "{\"startTimeUnixNano\":\"-1\"}",
        "{\"startTimeUnixNano\":-1}",
        "{\"startTimeUnixNano\":1.5}",
        "{\"startTimeUnixNano\":\"\"}",
        "{\"startTimeUnixNano\":\"12a\"}",
        "{\"startTimeUnixNano\":\" 12\"}",
        "{\"startTimeUnixNano\":\"+12\"}",
        "{\"startTimeUnixNano\":true}",
        "{\"startTimeUnixNano\":1e20}",
        "{\"droppedAttributesCount\":4294967296}",
        "{\"droppedAttributesCount\":-1}",
        "{\"flags\":\"x\"}",
    };
    for (size_t i = 0; i < OCL_ARRAY_LEN(bad); i++) {
        err = NULL;
        assert_int_equal(one_span(bad[i], &s, &err), OCL_EINVAL);
        assert_non_null(err);
    }
    /* A JSON number beyond int64 is rejected by the parser. */
    err = NULL;
    assert_int_equal(one_span("{\"startTimeUnixNano\":18446744073709551615}", &s, &err),
                     OCL_EINVAL);
    assert_non_null(err);
    assert_int_equal(one_span("{\"droppedAttributesCount\":\"4294967295\"}", &s, &err), 0);
    assert_int_equal(s->dropped_attrs, UINT32_MAX);

    ocl_anyvalue_t v;
    assert_int_equal(one_value("{\"intValue\":\"-9223372036854775808\"}", &v, &err), 0);
    assert_true(v.type == OCL_AV_INT && v.u.i == INT64_MIN);
    assert_int_equal(one_value("{\"intValue\":-9223372036854775808}", &v, &err), 0);
    assert_true(v.u.i == INT64_MIN);
    assert_int_equal(one_value("{\"intValue\":9223372036854775807}", &v, &err), 0);
    assert_true(v.u.i == INT64_MAX);
    assert_int_equal(one_value("{\"intValue\":\"9223372036854775808\"}", &v, &err), OCL_EINVAL);
    assert_int_equal(one_value("{\"intValue\":\"-9223372036854775809\"}", &v, &err), OCL_EINVAL);
    assert_int_equal(one_value("{\"intValue\":\"--1\"}", &v, &err), OCL_EINVAL);
    assert_int_equal(one_value("{\"intValue\":\"-\"}", &v, &err), OCL_EINVAL);
    assert_int_equal(one_value("{\"intValue\":2.5}", &v, &err), OCL_EINVAL);
    assert_int_equal(one_value("{\"intValue\":-2e0}", &v, &err), 0);
    assert_true(v.u.i == -2);
}

static void test_hex_ids(void **state)
{
    ocl_span_t *s;
    const char *err = NULL;
    assert_int_equal(one_span("{\"traceId\":\"AbCdEf0123456789aBcDeF0123456789\",\"spanId\":\"\","
                              "\"parentSpanId\":\"00\"}",
                              &s, &err),
                     0);
    assert_bytes(s->trace_id, "\xab\xcd\xef\x01\x23\x45\x67\x89\xab\xcd\xef\x01\x23\x45\x67\x89");
    assert_int_equal(s->span_id.n, 0);
    assert_bytes(s->parent_span_id, "\x00");
    /* Length is not validated here; hex-ness and evenness are. */
    assert_int_equal(one_span("{\"spanId\":\"0102\"}", &s, &err), 0);
    assert_int_equal(s->span_id.n, 2);
    err = NULL;
    assert_int_equal(one_span("{\"traceId\":\"abc\"}", &s, &err), OCL_EINVAL);
    assert_string_equal(err, "spans[].traceId: invalid hex string");
    assert_int_equal(one_span("{\"spanId\":\"zz00000000000000\"}", &s, &err), OCL_EINVAL);
    assert_string_equal(err, "spans[].spanId: invalid hex string");
    assert_int_equal(one_span("{\"parentSpanId\":\"0x00\"}", &s, &err), OCL_EINVAL);
    assert_int_equal(one_span("{\"spanId\":12}", &s, &err), OCL_EINVAL);
    assert_int_equal(one_span("{\"links\":[{\"traceId\":\"g0\"}]}", &s, &err), OCL_EINVAL);
    assert_string_equal(err, "spans[].links[].traceId: invalid hex string");
    ocl_log_record_t *l;
    assert_int_equal(one_log("{\"traceId\":\"0\"}", &l, &err), OCL_EINVAL);
    assert_string_equal(err, "logRecords[].traceId: invalid hex string");
}

static void test_enum_names(void **state)
{
    ocl_span_t *s;
    const char *err = NULL;
    assert_int_equal(one_span("{\"kind\":\"SPAN_KIND_SERVER\",\"status\":{\"code\":"
                              "\"STATUS_CODE_ERROR\"}}",
                              &s, &err),
                     0);
    assert_int_equal(s->kind, 2);
    assert_int_equal(s->status_code, 2);
    assert_int_equal(one_span("{\"kind\":\"SPAN_KIND_CONSUMER\",\"status\":{\"code\":"
                              "\"STATUS_CODE_OK\"}}",
                              &s, &err),
                     0);
    assert_int_equal(s->kind, 5);
    assert_int_equal(s->status_code, 1);
    /* Unknown numeric values are kept. */
    assert_int_equal(one_span("{\"kind\":42}", &s, &err), 0);
    assert_int_equal(s->kind, 42);
    assert_int_equal(one_span("{\"kind\":\"SPAN_KIND_NOPE\"}", &s, &err), OCL_EINVAL);
    assert_string_equal(err, "spans[].kind: invalid SpanKind");
    assert_int_equal(one_span("{\"kind\":1.5}", &s, &err), OCL_EINVAL);
    assert_int_equal(one_span("{\"kind\":4294967296}", &s, &err), OCL_EINVAL);

    ocl_log_record_t *l;
    assert_int_equal(one_log("{\"severityNumber\":\"SEVERITY_NUMBER_WARN3\"}", &l, &err), 0);
    assert_int_equal(l->severity_number, 15);
    assert_int_equal(one_log("{\"severity_number\":\"SEVERITY_NUMBER_FATAL4\"}", &l, &err), 0);
    assert_int_equal(l->severity_number, 24);
    assert_int_equal(one_log("{\"severityNumber\":\"SEVERITY_NUMBER_TRACE\"}", &l, &err), 0);
    assert_int_equal(l->severity_number, 1);

    ocl_metric_t *m;
    assert_int_equal(one_metric("{\"sum\":{\"aggregationTemporality\":"
                                "\"AGGREGATION_TEMPORALITY_DELTA\"}}",
                                &m, &err),
                     0);
    assert_int_equal(m->temporality, 1);
    assert_int_equal(m->type, OCL_METRIC_SUM);
    assert_int_equal(one_metric("{\"histogram\":{\"aggregation_temporality\":2}}", &m, &err), 0);
    assert_int_equal(m->temporality, 2);
}

static void test_doubles(void **state)
{
    ocl_anyvalue_t v;
    const char *err = NULL;
    assert_int_equal(one_value("{\"doubleValue\":\"NaN\"}", &v, &err), 0);
    assert_true(v.type == OCL_AV_DOUBLE && isnan(v.u.d));
    assert_int_equal(one_value("{\"doubleValue\":\"Infinity\"}", &v, &err), 0);
    assert_true(isinf(v.u.d) && v.u.d > 0);
    assert_int_equal(one_value("{\"doubleValue\":\"-Infinity\"}", &v, &err), 0);
    assert_true(isinf(v.u.d) && v.u.d < 0);
    assert_int_equal(one_value("{\"doubleValue\":\"1.25e2\"}", &v, &err), 0);
    assert_true(v.u.d == 125);
    assert_int_equal(one_value("{\"doubleValue\":3}", &v, &err), 0);
    assert_true(v.u.d == 3);
    assert_int_equal(one_value("{\"doubleValue\":-0.0}", &v, &err), 0);
    assert_true(v.u.d == 0 && signbit(v.u.d));
    assert_int_equal(one_value("{\"doubleValue\":1.7976931348623157e308}", &v, &err), 0);
    assert_true(v.u.d == 1.7976931348623157e308);
    const char *bad[] = {"\"nan\"", "\"inf\"", "\"0x10\"", "\"1.\"", "\" 1\"", "true", "[]", "{}"};
    for (size_t i = 0; i < OCL_ARRAY_LEN(bad); i++) {
        char doc[64];
        snprintf(doc, sizeof doc, "{\"doubleValue\":%s}", bad[i]);
        assert_int_equal(one_value(doc, &v, &err), OCL_EINVAL);
    }
    assert_string_equal(err, "AnyValue.doubleValue: invalid double");

    ocl_metric_t *m;
    assert_int_equal(
        one_metric("{\"gauge\":{\"dataPoints\":[{\"asDouble\":\"-Infinity\"}]}}", &m, &err), 0);
    assert_true(isinf(m->dp.number[0].as_double));
}

static void test_base64(void **state)
{
    ocl_anyvalue_t v;
    const char *err = NULL;
    struct {
        const char *in;
        const char *out;
        size_t n;
    } ok[] = {
        {"\"aGk=\"", "hi", 2},
        {"\"aGk\"", "hi", 2},
        {"\"aGVsbG8=\"", "hello", 5},
        {"\"aGVsbG8\"", "hello", 5},
        {"\"+/8=\"", "\xfb\xff", 2},
        {"\"-_8\"", "\xfb\xff", 2},
        {"\"\"", "", 0},
        {"\"AAAA\"", "\0\0\0", 3},
        {"\"aA==\"", "h", 1},
        {"\"aA\"", "h", 1},
    };
    for (size_t i = 0; i < OCL_ARRAY_LEN(ok); i++) {
        char doc[64];
        snprintf(doc, sizeof doc, "{\"bytesValue\":%s}", ok[i].in);
        assert_int_equal(one_value(doc, &v, &err), 0);
        assert_int_equal(v.type, OCL_AV_BYTES);
        assert_int_equal(v.u.s.n, ok[i].n);
        if (ok[i].n) assert_memory_equal(v.u.s.p, ok[i].out, ok[i].n);
    }
    const char *bad[] = {"\"a\"", "\"a===\"", "\"aGk*\"", "\"aG=k\"", "\"aGk==\"", "\"aB==\"", "5"};
    for (size_t i = 0; i < OCL_ARRAY_LEN(bad); i++) {
        char doc[64];
        snprintf(doc, sizeof doc, "{\"bytesValue\":%s}", bad[i]);
        err = NULL;
        assert_int_equal(one_value(doc, &v, &err), OCL_EINVAL);
        assert_string_equal(err, "AnyValue.bytesValue: invalid base64");
    }
}

static void test_snake_case(void **state)
{
    const char *doc =
        "{\"resource_spans\":[{\"schema_url\":\"s\",\"resource\":{\"attributes\":[{\"key\":\"a\","
        "\"value\":{\"string_value\":\"x\"}},{\"key\":\"b\",\"value\":{\"int_value\":\"5\"}},"
        "{\"key\":\"c\",\"value\":{\"kvlist_value\":{\"values\":[{\"key\":\"d\",\"value\":"
        "{\"bool_value\":true}}]}}},{\"key\":\"e\",\"value\":{\"array_value\":{\"values\":"
        "[{\"double_value\":1.5},{\"bytes_value\":\"AQ==\"}]}}}],\"dropped_attributes_count\":2},"
        "\"scope_spans\":[{\"spans\":[{\"trace_id\":\"01\",\"span_id\":\"02\","
        "\"parent_span_id\":\"03\",\"trace_state\":\"t\",\"start_time_unix_nano\":\"4\","
        "\"end_time_unix_nano\":5,\"dropped_attributes_count\":6,\"dropped_events_count\":7,"
        "\"dropped_links_count\":8,\"events\":[{\"time_unix_nano\":\"9\"}]}]}]}]}";
    ocl_traces_req_t r;
    const char *err = NULL;
    assert_int_equal(dec_t(doc, &r, &err), 0);
    ocl_resource_spans_t *rs = &r.rs[0];
    assert_str(rs->schema_url, "s");
    assert_int_equal(rs->resource.dropped_attrs, 2);
    assert_str(rs->resource.attrs.v[0].value.u.s, "x");
    assert_int_equal(rs->resource.attrs.v[1].value.u.i, 5);
    assert_int_equal(rs->resource.attrs.v[2].value.type, OCL_AV_KVLIST);
    assert_true(rs->resource.attrs.v[2].value.u.kvlist.kv[0].value.u.b);
    assert_int_equal(rs->resource.attrs.v[3].value.type, OCL_AV_ARRAY);
    assert_true(rs->resource.attrs.v[3].value.u.arr.v[0].u.d == 1.5);
    assert_int_equal(rs->resource.attrs.v[3].value.u.arr.v[1].type, OCL_AV_BYTES);
    ocl_span_t *s = &rs->scope_spans[0].spans[0];
    assert_bytes(s->trace_id, "\x01");
    assert_bytes(s->span_id, "\x02");
    assert_bytes(s->parent_span_id, "\x03");
    assert_str(s->trace_state, "t");
    assert_true(s->start_unix_nano == 4 && s->end_unix_nano == 5);
    assert_int_equal(s->dropped_attrs, 6);
    assert_int_equal(s->dropped_events, 7);
    assert_int_equal(s->dropped_links, 8);
    assert_true(s->events[0].time_unix_nano == 9);

    ocl_metric_t *m;
    assert_int_equal(one_metric("{\"exponential_histogram\":{\"data_points\":[{\"zero_count\":"
                                "\"3\",\"zero_threshold\":0.5,\"positive\":{\"bucket_counts\":"
                                "[1]}}]}}",
                                &m, &err),
                     0);
    assert_int_equal(m->type, OCL_METRIC_EXP_HISTOGRAM);
    assert_true(m->dp.ehist[0].zero_count == 3 && m->dp.ehist[0].zero_threshold == 0.5);
    assert_int_equal(m->dp.ehist[0].positive.n_bucket_counts, 1);
    assert_int_equal(one_metric("{\"summary\":{\"data_points\":[{\"quantile_values\":[{"
                                "\"quantile\":1}]}]}}",
                                &m, &err),
                     0);
    assert_int_equal(m->dp.summary[0].n_quantiles, 1);

    ocl_log_record_t *l;
    assert_int_equal(one_log("{\"time_unix_nano\":\"1\",\"observed_time_unix_nano\":\"2\","
                             "\"severity_text\":\"x\",\"event_name\":\"e\"}",
                             &l, &err),
                     0);
    assert_true(l->time_unix_nano == 1 && l->observed_time_unix_nano == 2);
    assert_str(l->severity_text, "x");
    assert_str(l->event_name, "e");
}

static void test_nulls(void **state)
{
    ocl_span_t *s;
    const char *err = NULL;
    assert_int_equal(one_span("{\"name\":null,\"traceId\":null,\"kind\":null,\"status\":null,"
                              "\"attributes\":null,\"events\":null,\"startTimeUnixNano\":null}",
                              &s, &err),
                     0);
    assert_int_equal(s->name.n, 0);
    assert_false(s->has_status);
    assert_int_equal(s->n_events, 0);
    ocl_traces_req_t r;
    assert_int_equal(dec_t("{\"resourceSpans\":[{\"resource\":null,\"scopeSpans\":[{\"scope\":"
                           "null}]}]}",
                           &r, &err),
                     0);
    assert_false(r.rs[0].resource.present);
    assert_false(r.rs[0].scope_spans[0].scope.present);
    assert_int_equal(dec_t("{\"resourceSpans\":null}", &r, &err), 0);
    assert_int_equal(r.n_rs, 0);
    assert_int_equal(dec_t("{}", &r, &err), 0);
    assert_int_equal(r.n_rs, 0);
    ocl_anyvalue_t v;
    assert_int_equal(one_value("null", &v, &err), 0);
    assert_int_equal(v.type, OCL_AV_EMPTY);
    assert_int_equal(one_value("{\"stringValue\":null}", &v, &err), 0);
    assert_int_equal(v.type, OCL_AV_EMPTY);
    assert_int_equal(one_value("{\"stringValue\":null,\"intValue\":3}", &v, &err), 0);
    assert_int_equal(v.type, OCL_AV_INT);
    /* camelCase null falls back to snake_case. */
    assert_int_equal(one_span("{\"traceId\":null,\"trace_id\":\"ab\"}", &s, &err), 0);
    assert_bytes(s->trace_id, "\xab");
}

static void test_wrong_types(void **state)
{
    struct {
        const char *span;
        const char *msg;
    } cases[] = {
        {"{\"name\":5}", "spans[].name: expected a string"},
        {"{\"traceState\":[]}", "spans[].traceState: expected a string"},
        {"{\"attributes\":{}}", "spans[].attributes: expected an array of objects"},
        {"{\"attributes\":[5]}", "spans[].attributes: expected an array of objects"},
        {"{\"attributes\":[{\"key\":1}]}", "KeyValue.key: expected a string"},
        {"{\"attributes\":[{\"key\":\"k\",\"value\":\"v\"}]}", "AnyValue: expected an object"},
        {"{\"attributes\":[{\"key\":\"k\",\"value\":{\"stringValue\":1}}]}",
         "AnyValue.stringValue: expected a string"},
        {"{\"attributes\":[{\"key\":\"k\",\"value\":{\"boolValue\":\"true\"}}]}",
         "AnyValue.boolValue: expected a boolean"},
        {"{\"attributes\":[{\"key\":\"k\",\"value\":{\"arrayValue\":[]}}]}",
         "AnyValue.arrayValue: expected an object"},
        {"{\"attributes\":[{\"key\":\"k\",\"value\":{\"arrayValue\":{\"values\":{}}}}]}",
         "AnyValue.arrayValue.values: expected an array"},
        {"{\"attributes\":[{\"key\":\"k\",\"value\":{\"kvlistValue\":{\"values\":[1]}}}]}",
         "AnyValue.kvlistValue.values: expected an array of key/values"},
        {"{\"attributes\":[{\"key\":\"k\",\"value\":{\"stringValue\":\"a\",\"intValue\":1}}]}",
         "AnyValue: more than one value set"},
        {"{\"events\":{}}", "spans[].events: expected an array"},
        {"{\"events\":[1]}", "spans[].events[]: expected an object"},
        {"{\"events\":[{\"name\":true}]}", "spans[].events[].name: expected a string"},
        {"{\"links\":[[]]}", "spans[].links[]: expected an object"},
        {"{\"status\":\"ok\"}", "spans[].status: expected an object"},
        {"{\"status\":{\"message\":1}}", "spans[].status.message: expected a string"},
        {"{\"status\":{\"code\":\"STATUS_CODE_BAD\"}}", "spans[].status.code: invalid StatusCode"},
        {"{\"endTimeUnixNano\":{}}", "spans[].endTimeUnixNano: invalid uint64"},
    };
    for (size_t i = 0; i < OCL_ARRAY_LEN(cases); i++) {
        ocl_span_t *s;
        const char *err = NULL;
        int rc = one_span(cases[i].span, &s, &err);
        if (rc != OCL_EINVAL || !err || strcmp(err, cases[i].msg) != 0)
            fprintf(stderr, "case %zu: rc=%d err=%s\n", i, rc, err ? err : "(null)");
        assert_int_equal(rc, OCL_EINVAL);
        assert_string_equal(err, cases[i].msg);
    }

    const char *err = NULL;
    ocl_traces_req_t r;
    ocl_metrics_req_t mr;
    ocl_logs_req_t lr;
    assert_int_equal(dec_t("[]", &r, &err), OCL_EINVAL);
    assert_string_equal(err, "expected a JSON object");
    assert_int_equal(dec_t("\"x\"", &r, &err), OCL_EINVAL);
    assert_int_equal(dec_t("{\"resourceSpans\":{}}", &r, &err), OCL_EINVAL);
    assert_string_equal(err, "resourceSpans: expected an array");
    assert_int_equal(dec_t("{\"resourceSpans\":[1]}", &r, &err), OCL_EINVAL);
    assert_int_equal(dec_t("{\"resourceSpans\":[{\"resource\":[]}]}", &r, &err), OCL_EINVAL);
    assert_string_equal(err, "resource: expected an object");
    assert_int_equal(
        dec_t("{\"resourceSpans\":[{\"scopeSpans\":[{\"scope\":{\"name\":1}}]}]}", &r, &err),
        OCL_EINVAL);
    assert_string_equal(err, "scope.name: expected a string");
    assert_int_equal(r.n_rs, 0); /* output reset on error */
    assert_int_equal(dec_m("{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"gauge\":"
                           "{},\"sum\":{}}]}]}]}",
                           &mr, &err),
                     OCL_EINVAL);
    assert_string_equal(err, "metrics[]: more than one data field set");
    ocl_metric_t *m;
    assert_int_equal(one_metric("{\"gauge\":[]}", &m, &err), OCL_EINVAL);
    assert_int_equal(
        one_metric("{\"histogram\":{\"dataPoints\":[{\"bucketCounts\":[\"x\"]}]}}", &m, &err),
        OCL_EINVAL);
    assert_string_equal(err, "dataPoints[].bucketCounts: expected an array of uint64");
    assert_int_equal(
        one_metric("{\"histogram\":{\"dataPoints\":[{\"explicitBounds\":[null]}]}}", &m, &err),
        OCL_EINVAL);
    assert_int_equal(one_metric("{\"sum\":{\"isMonotonic\":1}}", &m, &err), OCL_EINVAL);
    assert_string_equal(err, "metrics[].sum.isMonotonic: expected a boolean");
    assert_int_equal(one_metric("{\"gauge\":{\"dataPoints\":[{\"asInt\":1.5}]}}", &m, &err),
                     OCL_EINVAL);
    assert_string_equal(err, "dataPoints[].asInt: invalid int64");
    assert_int_equal(one_metric("{\"name\":[]}", &m, &err), OCL_EINVAL);
    assert_int_equal(
        dec_l("{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":5}]}]}]}", &lr, &err),
        OCL_EINVAL);
    assert_string_equal(err, "AnyValue: expected an object");
    /* err may be NULL. */
    assert_int_equal(ocl_otlp_json_decode_traces("[", 1, &A, &r, NULL), OCL_EINVAL);
    assert_int_equal(ocl_otlp_json_decode_traces("{\"resourceSpans\":5}", 19, &A, &r, NULL),
                     OCL_EINVAL);
}

/* Builds {"stringValue":"leaf"} wrapped in `levels` arrayValues (or
 * kvlistValues). */
static char *nested_value(int levels, bool kv)
{
    ocl_buf_t b;
    ocl_buf_init(&b);
    for (int i = 0; i < levels; i++)
        ocl_buf_puts(&b, kv ? "{\"kvlistValue\":{\"values\":[{\"key\":\"k\",\"value\":"
                            : "{\"arrayValue\":{\"values\":[");
    ocl_buf_puts(&b, "{\"stringValue\":\"leaf\"}");
    for (int i = 0; i < levels; i++)
        ocl_buf_puts(&b, kv ? "}]}}" : "]}}");
    ocl_buf_putc(&b, 0);
    return (char *)ocl_buf_steal(&b, NULL);
}

static void test_depth(void **state)
{
    for (int kv = 0; kv < 2; kv++) {
        ocl_anyvalue_t v;
        const char *err = NULL;
        /* The attribute value is level 1: 31 wrappers + the leaf = 32 levels. */
        char *ok = nested_value(OCL_OTLP_MAX_DEPTH - 1, kv);
        assert_int_equal(one_value_big(ok, &v, &err), 0);
        free(ok);
        char *deep = nested_value(OCL_OTLP_MAX_DEPTH, kv);
        err = NULL;
        assert_int_equal(one_value_big(deep, &v, &err), OCL_EDEPTH);
        assert_string_equal(err, "AnyValue: nesting too deep");
        free(deep);
        char *very = nested_value(1000, kv);
        assert_int_equal(one_value_big(very, &v, &err), OCL_EDEPTH);
        free(very);
    }
    /* Beyond jansson's own parser limit (in an unknown field). */
    ocl_buf_t b;
    ocl_buf_init(&b);
    ocl_buf_puts(&b, "{\"x\":");
    for (int i = 0; i < 5000; i++)
        ocl_buf_putc(&b, '[');
    for (int i = 0; i < 5000; i++)
        ocl_buf_putc(&b, ']');
    ocl_buf_putc(&b, '}');
    ocl_traces_req_t r;
    const char *err = NULL;
    assert_int_equal(ocl_otlp_json_decode_traces(b.p, b.len, &A, &r, &err), OCL_EDEPTH);
    ocl_buf_dispose(&b);
}

static void test_utf8(void **state)
{
    ocl_traces_req_t r;
    const char *err = NULL;
    const char bad1[] = "{\"resourceSpans\":[{\"schemaUrl\":\"\xff\"}]}";
    assert_int_equal(dec_t(bad1, &r, &err), OCL_EUTF8);
    assert_non_null(err);
    const char bad2[] = "{\"resourceSpans\":[{\"schemaUrl\":\"\xc0\xaf\"}]}"; /* overlong */
    assert_int_equal(dec_t(bad2, &r, &err), OCL_EUTF8);
    const char bad3[] = "{\"resourceSpans\":[{\"schemaUrl\":\"\xed\xa0\x80\"}]}"; /* surrogate */
    assert_int_equal(dec_t(bad3, &r, &err), OCL_EUTF8);
    const char bad4[] = "{\"resourceSpans\":[{\"schemaUrl\":\"\\ud800\"}]}"; /* lone escape */
    assert_int_equal(dec_t(bad4, &r, &err), OCL_EUTF8);
    /* Valid multi-byte text and escapes decode to UTF-8; embedded NUL kept. */
    const char good[] =
        "{\"resourceSpans\":[{\"schemaUrl\":\"\xc3\xa9\\u00e9\\ud83d\\ude00\\u0000z\"}]}";
    assert_int_equal(dec_t(good, &r, &err), 0);
    assert_true(ocl_str_eq(r.rs[0].schema_url, OCL_STR("\xc3\xa9\xc3\xa9\xf0\x9f\x98\x80\0z")));
}

static void test_truncation(void **state)
{
    const char *docs[] = {TRACES_DOC, METRICS_DOC, LOGS_DOC};
    for (int d = 0; d < 3; d++) {
        size_t n = strlen(docs[d]);
        for (size_t len = 0; len < n; len++) {
            /* Heap copy of exactly len bytes so ASan catches over-reads. */
            char *p = malloc(len ? len : 1);
            memcpy(p, docs[d], len);
            const char *err = NULL;
            int rc;
            ocl_arena_reset(&A);
            if (d == 0) {
                ocl_traces_req_t r;
                rc = ocl_otlp_json_decode_traces(p, len, &A, &r, &err);
            } else if (d == 1) {
                ocl_metrics_req_t r;
                rc = ocl_otlp_json_decode_metrics(p, len, &A, &r, &err);
            } else {
                ocl_logs_req_t r;
                rc = ocl_otlp_json_decode_logs(p, len, &A, &r, &err);
            }
            free(p);
            /* Only whitespace can be dropped from the end of a document. */
            if (rc == 0) {
                for (size_t k = len; k < n; k++)
                    assert_true(docs[d][k] == ' ');
            } else {
                assert_true(rc < 0);
                assert_non_null(err);
            }
        }
    }
}

/* ------------------------------------------------------------------ */
/* writer                                                              */

static void assert_buf(ocl_buf_t *b, const char *want)
{
    if (b->len != strlen(want) || memcmp(b->p, want, b->len) != 0)
        fprintf(stderr, "got  %.*s\nwant %s\n", (int)b->len, b->p, want);
    assert_int_equal(b->len, strlen(want));
    assert_memory_equal(b->p, want, b->len);
}

static void test_writer(void **state)
{
    ocl_buf_t b;
    ocl_jw_t w;
    ocl_buf_init(&b);
    ocl_jw_init(&w, &b);
    ocl_jw_obj_begin(&w);
    ocl_jw_key(&w, "q\"k");
    ocl_jw_str(&w, S("a\"b\\c/d"));
    ocl_jw_key(&w, "ctl");
    ocl_jw_str(&w, S("\x00\x01\x1f\b\f\n\r\t\x7f"));
    ocl_jw_key(&w, "utf8");
    ocl_jw_str(&w, S("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
    ocl_jw_key(&w, "bad");
    ocl_jw_str(&w, S("a\xff"
                     "b\xc3"
                     "\xed\xa0\x80"
                     "\xe2\x82"));
    ocl_jw_key(&w, "arr");
    ocl_jw_arr_begin(&w);
    ocl_jw_int(&w, INT64_MIN);
    ocl_jw_uint(&w, UINT64_MAX);
    ocl_jw_int_str(&w, -1);
    ocl_jw_uint_str(&w, 0);
    ocl_jw_bool(&w, true);
    ocl_jw_bool(&w, false);
    ocl_jw_null(&w);
    ocl_jw_cstr(&w, NULL);
    ocl_jw_arr_begin(&w);
    ocl_jw_arr_end(&w);
    ocl_jw_obj_begin(&w);
    ocl_jw_obj_end(&w);
    ocl_jw_raw(&w, "{\"r\":1}", 7);
    ocl_jw_arr_end(&w);
    ocl_jw_key_str(&w, S("hex"));
    ocl_jw_hex(&w, "\x00\xab\xff", 3);
    ocl_jw_key(&w, "b64");
    ocl_jw_arr_begin(&w);
    ocl_jw_base64(&w, "", 0);
    ocl_jw_base64(&w, "f", 1);
    ocl_jw_base64(&w, "fo", 2);
    ocl_jw_base64(&w, "foo", 3);
    ocl_jw_base64(&w, "foob", 4);
    ocl_jw_arr_end(&w);
    ocl_jw_obj_end(&w);
    assert_buf(&b, "{\"q\\\"k\":\"a\\\"b\\\\c/d\","
                   "\"ctl\":\"\\u0000\\u0001\\u001f\\b\\f\\n\\r\\t\x7f\","
                   "\"utf8\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\","
                   "\"bad\":\"a\\ufffdb\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\","
                   "\"arr\":[-9223372036854775808,18446744073709551615,\"-1\",\"0\",true,false,"
                   "null,null,[],{},{\"r\":1}],"
                   "\"hex\":\"00abff\","
                   "\"b64\":[\"\",\"Zg==\",\"Zm8=\",\"Zm9v\",\"Zm9vYg==\"]}");

    /* The writer may start in the middle of a buffer. */
    b.len = 0;
    ocl_buf_puts(&b, "prefix,");
    ocl_jw_init(&w, &b);
    ocl_jw_arr_begin(&w);
    ocl_jw_int(&w, 1);
    ocl_jw_arr_end(&w);
    assert_buf(&b, "prefix,[1]");
    ocl_buf_dispose(&b);
}

static void test_writer_doubles(void **state)
{
    struct {
        double v;
        const char *want;
    } cases[] = {
        {0.0, "0"},
        {-0.0, "-0.0"},
        {1.0, "1"},
        {0.1, "0.1"},
        {1.0 / 3.0, "0.3333333333333333"},
        {2.5, "2.5"},
        {1e300, "1e+300"},
        {5e-324, "4.94065645841247e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {123456789012345678.0, "1.2345678901234568e+17"},
        {NAN, "\"NaN\""},
        {INFINITY, "\"Infinity\""},
        {-INFINITY, "\"-Infinity\""},
    };
    for (size_t i = 0; i < OCL_ARRAY_LEN(cases); i++) {
        ocl_buf_t b;
        ocl_jw_t w;
        ocl_buf_init(&b);
        ocl_jw_init(&w, &b);
        ocl_jw_double(&w, cases[i].v);
        assert_buf(&b, cases[i].want);
        ocl_buf_dispose(&b);
    }
    /* Every formatted finite double parses back to itself. */
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double d;
        memcpy(&d, &x, sizeof d);
        if (!isfinite(d)) continue;
        char tmp[32];
        size_t n = ocl_jw_fmt_double(d, tmp);
        assert_true(n < 32);
        assert_true(strtod(tmp, NULL) == d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_decode_traces_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_metrics_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_logs_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip_traces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip_logs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encode_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_int64_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hex_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enum_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_doubles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_base64, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snake_case, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nulls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_depth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncation, setup, teardown),
        cmocka_unit_test(test_writer),
        cmocka_unit_test(test_writer_doubles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
