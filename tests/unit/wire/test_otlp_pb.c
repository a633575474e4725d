/*
 * test_otlp_pb.c — unit tests of the OTLP protobuf codec (src/wire/otlp_pb.c)
 * and the wire primitives (src/wire/pb.c): round trips of hand-built models
 * with every field set, hand-assembled byte vectors for the edge cases
 * (packed/unpacked, unknown fields, truncation, wrong wire types, overlong
 * varints, nesting depth, UTF-8, lengths past the end).
 *
 * Two extra modes serve tests/integration/test_protoc.sh:
 *   OCL_DUMP_SAMPLES=DIR   writes DIR/{traces,metrics,logs}.bin and exits
 *   OCL_DECODE_FILE=PATH OCL_DECODE_SIGNAL=traces|metrics|logs
 *                          decodes PATH and prints the canonical dump
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "otlp_dump.h"
#include "wire/otlp.h"
#include "wire/pb.h"

/* ---- hand-built models with every field set ---- */

#define S(lit) OCL_STR(lit)
#define B(lit) ((ocl_str_t){(lit), sizeof(lit) - 1})

static ocl_anyvalue_t nested_arr[3];
static ocl_kv_t nested_kv[2];
static ocl_kv_t span_attrs[9];
static ocl_kv_t res_attrs[2];
static ocl_kv_t scope_attrs[1];
static ocl_kv_t ev_attrs[1];
static ocl_kv_t link_attrs[1];
static ocl_span_event_t events[2];
static ocl_span_link_t links[1];
static ocl_span_t spans[2];
static ocl_scope_spans_t scope_spans[1];
static ocl_resource_spans_t rs[1];

static void init_common(void)
{
    nested_arr[0] = (ocl_anyvalue_t){.type = OCL_AV_INT, .u.i = -7};
    nested_arr[1] = (ocl_anyvalue_t){.type = OCL_AV_STRING, .u.s = S("")};
    nested_arr[2] = (ocl_anyvalue_t){.type = OCL_AV_EMPTY};
    nested_kv[0] = (ocl_kv_t){S("inner"), {.type = OCL_AV_BOOL, .u.b = true}};
    nested_kv[1] = (ocl_kv_t){S("arr"), {.type = OCL_AV_ARRAY, .u.arr = {nested_arr, 3}}};
    span_attrs[0] = (ocl_kv_t){S("http.method"), {.type = OCL_AV_STRING, .u.s = S("GET")}};
    span_attrs[1] = (ocl_kv_t){S("http.status_code"), {.type = OCL_AV_INT, .u.i = 200}};
    span_attrs[2] = (ocl_kv_t){S("ratio"), {.type = OCL_AV_DOUBLE, .u.d = 0.25}};
    span_attrs[3] = (ocl_kv_t){S("ok"), {.type = OCL_AV_BOOL, .u.b = false}};
    span_attrs[4] = (ocl_kv_t){S("zero"), {.type = OCL_AV_INT, .u.i = 0}};
    span_attrs[5] = (ocl_kv_t){S("blob"), {.type = OCL_AV_BYTES, .u.s = B("\x00\xff\x80")}};
    span_attrs[6] = (ocl_kv_t){S("list"), {.type = OCL_AV_ARRAY, .u.arr = {nested_arr, 3}}};
    span_attrs[7] = (ocl_kv_t){S("map"), {.type = OCL_AV_KVLIST, .u.kvlist = {nested_kv, 2}}};
    span_attrs[8] = (ocl_kv_t){S("utf8 \xc3\xa9\xe2\x82\xac"), {.type = OCL_AV_DOUBLE, .u.d = 0.0}};
    res_attrs[0] = (ocl_kv_t){S("service.name"), {.type = OCL_AV_STRING, .u.s = S("checkout")}};
    res_attrs[1] = (ocl_kv_t){S("host.cores"), {.type = OCL_AV_INT, .u.i = 4}};
    scope_attrs[0] = (ocl_kv_t){S("scope.attr"), {.type = OCL_AV_STRING, .u.s = S("x")}};
    ev_attrs[0] = (ocl_kv_t){S("exception.type"), {.type = OCL_AV_STRING, .u.s = S("IOError")}};
    link_attrs[0] = (ocl_kv_t){S("link.attr"), {.type = OCL_AV_INT, .u.i = -1}};
}

static ocl_resource_t make_resource(void)
{
    return (ocl_resource_t){.attrs = {res_attrs, 2}, .dropped_attrs = 3, .present = true};
}

static ocl_scope_t make_scope(void)
{
    return (ocl_scope_t){.name = S("io.ocelot.test"),
                         .version = S("1.2.3"),
                         .attrs = {scope_attrs, 1},
                         .dropped_attrs = 5,
                         .present = true};
}

static ocl_traces_req_t make_traces(void)
{
    init_common();
    events[0] = (ocl_span_event_t){1700000000000000100ull, S("exception"), {ev_attrs, 1}, 2};
    events[1] = (ocl_span_event_t){0, S(""), {NULL, 0}, 0};
    links[0] =
        (ocl_span_link_t){B("\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11"),
                          B("\x22\x22\x22\x22\x22\x22\x22\x22"),
                          S("k=v"),
                          {link_attrs, 1},
                          6,
                          0x301};
    spans[0] = (ocl_span_t){
        .trace_id = B("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10"),
        .span_id = B("\xa1\xa2\xa3\xa4\xa5\xa6\xa7\xa8"),
        .trace_state = S("rojo=00f067aa0ba902b7"),
        .parent_span_id = B("\xb1\xb2\xb3\xb4\xb5\xb6\xb7\xb8"),
        .name = S("span-name"),
        .kind = OCL_SPAN_KIND_SERVER,
        .start_unix_nano = 1700000000000000000ull,
        .end_unix_nano = 1700000000123456789ull,
        .attrs = {span_attrs, 9},
        .dropped_attrs = 1,
        .events = events,
        .n_events = 2,
        .dropped_events = 7,
        .links = links,
        .n_links = 1,
        .dropped_links = 8,
        .status_message = S("boom"),
        .status_code = 2,
        .has_status = true,
        .flags = 0x101,
    };
    /* A minimal span with an unknown (future) kind and an empty status. */
    spans[1] = (ocl_span_t){.name = S("min"), .kind = 99, .has_status = true};
    scope_spans[0] =
        (ocl_scope_spans_t){.scope = make_scope(),
                            .spans = spans,
                            .n_spans = 2,
                            .schema_url = S("https://opentelemetry.io/schemas/1.21.0")};
    rs[0] = (ocl_resource_spans_t){.resource = make_resource(),
                                   .scope_spans = scope_spans,
                                   .n_scope_spans = 1,
                                   .schema_url = S("https://rs.example/s")};
    return (ocl_traces_req_t){rs, 1};
}

static ocl_exemplar_t exemplars[2];
static ocl_number_dp_t ndp[2];
static uint64_t hbuckets[3] = {1, 0, 5};
static double hbounds[2] = {0.5, 10};
static ocl_histogram_dp_t hdp[2];
static uint64_t pos_counts[3] = {3, 0, 300};
static uint64_t neg_counts[1] = {1};
static ocl_exp_histogram_dp_t ehdp[1];
static ocl_quantile_t quantiles[2] = {{0.5, 1.5}, {0.99, 9.25}};
static ocl_summary_dp_t sdp[1];
static ocl_kv_t dp_attrs[1];
static ocl_kv_t meta[1];
static ocl_metric_t metrics[6];
static ocl_scope_metrics_t scope_metrics[1];
static ocl_resource_metrics_t rm[1];

static ocl_metrics_req_t make_metrics(void)
{
    init_common();
    dp_attrs[0] = (ocl_kv_t){S("route"), {.type = OCL_AV_STRING, .u.s = S("/a")}};
    meta[0] = (ocl_kv_t){S("meta"), {.type = OCL_AV_BOOL, .u.b = true}};
    exemplars[0] =
        (ocl_exemplar_t){{dp_attrs, 1},
                         1700000000000000001ull,
                         false,
                         3.5,
                         0,
                         B("\xa1\xa2\xa3\xa4\xa5\xa6\xa7\xa8"),
                         B("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10")};
    exemplars[1] = (ocl_exemplar_t){.is_int = true, .as_int = 0};
    ndp[0] = (ocl_number_dp_t){{dp_attrs, 1},
                               1699999999000000000ull,
                               1700000000000000000ull,
                               true,
                               0,
                               -42,
                               {exemplars, 2},
                               1};
    ndp[1] = (ocl_number_dp_t){.is_int = false, .as_double = 0.0, .time_unix_nano = 5};
    hdp[0] = (ocl_histogram_dp_t){.attrs = {dp_attrs, 1},
                                  .start_unix_nano = 1,
                                  .time_unix_nano = 2,
                                  .count = 6,
                                  .has_sum = true,
                                  .sum = 0.0,
                                  .bucket_counts = hbuckets,
                                  .n_bucket_counts = 3,
                                  .explicit_bounds = hbounds,
                                  .n_explicit_bounds = 2,
                                  .exemplars = {exemplars, 1},
                                  .flags = 1,
                                  .has_min = true,
                                  .min = 0.0,
                                  .has_max = true,
                                  .max = 12.5};
    hdp[1] = (ocl_histogram_dp_t){.count = 0};
    ehdp[0] = (ocl_exp_histogram_dp_t){.attrs = {dp_attrs, 1},
                                       .start_unix_nano = 10,
                                       .time_unix_nano = 20,
                                       .count = 304,
                                       .has_sum = true,
                                       .sum = 1234.5,
                                       .scale = -3,
                                       .zero_count = 1,
                                       .positive = {-2, pos_counts, 3},
                                       .negative = {5, neg_counts, 1},
                                       .flags = 0,
                                       .exemplars = {exemplars + 1, 1},
                                       .has_min = true,
                                       .min = -1,
                                       .has_max = true,
                                       .max = 4096,
                                       .zero_threshold = 1e-9};
    sdp[0] = (ocl_summary_dp_t){{dp_attrs, 1}, 7, 8, 100, 250.5, quantiles, 2, 0};
    metrics[0] = (ocl_metric_t){.name = S("g"),
                                .description = S("a gauge"),
                                .unit = S("1"),
                                .type = OCL_METRIC_GAUGE,
                                .dp.number = ndp,
                                .n_dp = 2,
                                .metadata = {meta, 1}};
    metrics[1] = (ocl_metric_t){.name = S("s"),
                                .type = OCL_METRIC_SUM,
                                .temporality = OCL_TEMPORALITY_CUMULATIVE,
                                .is_monotonic = true,
                                .dp.number = ndp,
                                .n_dp = 1};
    metrics[2] = (ocl_metric_t){.name = S("h"),
                                .unit = S("ms"),
                                .type = OCL_METRIC_HISTOGRAM,
                                .temporality = OCL_TEMPORALITY_DELTA,
                                .dp.hist = hdp,
                                .n_dp = 2};
    metrics[3] = (ocl_metric_t){.name = S("eh"),
                                .type = OCL_METRIC_EXP_HISTOGRAM,
                                .temporality = 7,
                                .dp.ehist = ehdp,
                                .n_dp = 1};
    metrics[4] =
        (ocl_metric_t){.name = S("sum"), .type = OCL_METRIC_SUMMARY, .dp.summary = sdp, .n_dp = 1};
    metrics[5] = (ocl_metric_t){.name = S("none"), .type = OCL_METRIC_NONE};
    scope_metrics[0] = (ocl_scope_metrics_t){make_scope(), metrics, 6, S("https://sm")};
    rm[0] = (ocl_resource_metrics_t){make_resource(), scope_metrics, 1, S("https://rm")};
    return (ocl_metrics_req_t){rm, 1};
}

static ocl_log_record_t logs[3];
static ocl_scope_logs_t scope_logs[1];
static ocl_resource_logs_t rl[1];
static ocl_kv_t log_attrs[2];

static ocl_logs_req_t make_logs(void)
{
    init_common();
    log_attrs[0] = (ocl_kv_t){S("user"), {.type = OCL_AV_STRING, .u.s = S("alice")}};
    log_attrs[1] = (ocl_kv_t){S("n"), {.type = OCL_AV_INT, .u.i = INT64_MIN}};
    logs[0] = (ocl_log_record_t){
        .time_unix_nano = 1700000000000000000ull,
        .observed_time_unix_nano = 1700000000000000999ull,
        .severity_number = 17,
        .severity_text = S("ERROR"),
        .body = {.type = OCL_AV_STRING, .u.s = S("disk full")},
        .attrs = {log_attrs, 2},
        .dropped_attrs = 4,
        .flags = 1,
        .trace_id = B("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10"),
        .span_id = B("\xa1\xa2\xa3\xa4\xa5\xa6\xa7\xa8"),
        .event_name = S("device.error"),
    };
    logs[1] = (ocl_log_record_t){.body = {.type = OCL_AV_KVLIST, .u.kvlist = {nested_kv, 2}},
                                 .severity_number = -3};
    logs[2] = (ocl_log_record_t){.body = {.type = OCL_AV_BOOL, .u.b = false}};
    scope_logs[0] = (ocl_scope_logs_t){make_scope(), logs, 3, S("https://sl")};
    rl[0] = (ocl_resource_logs_t){make_resource(), scope_logs, 1, S("https://rl")};
    return (ocl_logs_req_t){rl, 1};
}

/* ---- helpers ---- */

static char *dump_t(const ocl_traces_req_t *r)
{
    ocl_buf_t b;
    ocl_buf_init(&b);
    dump_traces(&b, r);
    ocl_buf_putc(&b, 0);
    return (char *)b.p;
}
static char *dump_m(const ocl_metrics_req_t *r)
{
    ocl_buf_t b;
    ocl_buf_init(&b);
    dump_metrics(&b, r);
    ocl_buf_putc(&b, 0);
    return (char *)b.p;
}
static char *dump_l(const ocl_logs_req_t *r)
{
    ocl_buf_t b;
    ocl_buf_init(&b);
    dump_logs(&b, r);
    ocl_buf_putc(&b, 0);
    return (char *)b.p;
}

static int dec_t(const void *p, size_t n, ocl_arena_t *a, const char **err)
{
    ocl_traces_req_t r;
    return ocl_otlp_pb_decode_traces(p, n, a, &r, err);
}

/* ---- round trips ---- */

static void test_traces_roundtrip(void **state)
{
    ocl_traces_req_t in = make_traces();
    ocl_buf_t enc, enc2;
    ocl_buf_init(&enc);
    ocl_buf_init(&enc2);
    ocl_otlp_pb_encode_traces(&in, &enc);
    ocl_arena_t a;
    ocl_arena_init(&a, 0);
    ocl_traces_req_t out;
    const char *err = "unset";
    assert_int_equal(ocl_otlp_pb_decode_traces(enc.p, enc.len, &a, &out, &err), 0);
    assert_null(err);
    char *d1 = dump_t(&in), *d2 = dump_t(&out);
    assert_string_equal(d1, d2);
    /* raw views cover exactly the sub-messages. */
    const ocl_span_t *s = &out.rs[0].scope_spans[0].spans[0];
    assert_true(s->raw.n > 0 && s->raw.p > (const char *)enc.p &&
                s->raw.p + s->raw.n <= (const char *)enc.p + enc.len);
    assert_true(out.rs[0].raw.p + out.rs[0].raw.n == (const char *)enc.p + enc.len);
    assert_true(out.rs[0].resource.raw.n > 0 && out.rs[0].scope_spans[0].scope.raw.n > 0);
    assert_true(out.rs[0].scope_spans[0].raw.n > 0);
    /* Re-encoding the decoded model (raw copied) is byte-identical. */
    ocl_otlp_pb_encode_traces(&out, &enc2);
    assert_int_equal(enc.len, enc2.len);
    assert_memory_equal(enc.p, enc2.p, enc.len);
    free(d1);
    free(d2);
    ocl_buf_dispose(&enc);
    ocl_buf_dispose(&enc2);
    ocl_arena_dispose(&a);
}

static void test_metrics_roundtrip(void **state)
{
    ocl_metrics_req_t in = make_metrics();
    ocl_buf_t enc, enc2;
    ocl_buf_init(&enc);
    ocl_buf_init(&enc2);
    ocl_otlp_pb_encode_metrics(&in, &enc);
    ocl_arena_t a;
    ocl_arena_init(&a, 0);
    ocl_metrics_req_t out;
    const char *err = NULL;
    assert_int_equal(ocl_otlp_pb_decode_metrics(enc.p, enc.len, &a, &out, &err), 0);
    char *d1 = dump_m(&in), *d2 = dump_m(&out);
    assert_string_equal(d1, d2);
    assert_int_equal(ocl_otlp_metrics_count(&out), 7);
    ocl_otlp_pb_encode_metrics(&out, &enc2);
    assert_int_equal(enc.len, enc2.len);
    assert_memory_equal(enc.p, enc2.p, enc.len);
    free(d1);
    free(d2);
    ocl_buf_dispose(&enc);
    ocl_buf_dispose(&enc2);
    ocl_arena_dispose(&a);
}

static void test_logs_roundtrip(void **state)
{
    ocl_logs_req_t in = make_logs();
    ocl_buf_t enc, enc2;
    ocl_buf_init(&enc);
    ocl_buf_init(&enc2);
    ocl_otlp_pb_encode_logs(&in, &enc);
    ocl_arena_t a;
    ocl_arena_init(&a, 0);
    ocl_logs_req_t out;
    assert_int_equal(ocl_otlp_pb_decode_logs(enc.p, enc.len, &a, &out, NULL), 0);
    char *d1 = dump_l(&in), *d2 = dump_l(&out);
    assert_string_equal(d1, d2);
    ocl_otlp_pb_encode_logs(&out, &enc2);
    assert_int_equal(enc.len, enc2.len);
    assert_memory_equal(enc.p, enc2.p, enc.len);
    free(d1);
    free(d2);
    ocl_buf_dispose(&enc);
    ocl_buf_dispose(&enc2);
    ocl_arena_dispose(&a);
}

/* Large sub-messages exercise the length-prefix move in the encoder. */
static void test_big_messages(void **state)
{
    static char big[70000];
    memset(big, 'x', sizeof big);
    ocl_kv_t kv[2] = {{S("a"), {.type = OCL_AV_STRING, .u.s = {big, 200}}},
                      {S("b"), {.type = OCL_AV_STRING, .u.s = {big, sizeof big}}}};
    ocl_span_t sp[3] = {
        {.name = S("tiny")}, {.name = {big, 20000}, .attrs = {kv, 2}}, {.name = {big, 100}}};
    ocl_scope_spans_t ss = {.spans = sp, .n_spans = 3};
    ocl_resource_spans_t r = {.scope_spans = &ss, .n_scope_spans = 1};
    ocl_traces_req_t in = {&r, 1}, out;
    ocl_buf_t enc;
    ocl_buf_init(&enc);
    ocl_otlp_pb_encode_traces(&in, &enc);
    ocl_arena_t a;
    ocl_arena_init(&a, 0);
    assert_int_equal(ocl_otlp_pb_decode_traces(enc.p, enc.len, &a, &out, NULL), 0);
    char *d1 = dump_t(&in), *d2 = dump_t(&out);
    assert_string_equal(d1, d2);
    free(d1);
    free(d2);
    ocl_buf_dispose(&enc);
    ocl_arena_dispose(&a);
}

/* Spans with more attributes, events and links than the decoder's
 * in-struct scratch holds. */
static void test_many_children(void **state)
{
    static ocl_kv_t kv[300];
    static char keys[300][8];
    static ocl_span_event_t ev[40];
    static ocl_span_link_t lk[20];
    for (int i = 0; i < 300; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        kv[i] = (ocl_kv_t){ocl_str_c(keys[i]), {.type = OCL_AV_INT, .u.i = i}};
    }
    for (int i = 0; i < 40; i++)
        ev[i] = (ocl_span_event_t){.time_unix_nano = (uint64_t)i + 1, .attrs = {kv, (uint32_t)i}};
    for (int i = 0; i < 20; i++)
        lk[i] = (ocl_span_link_t){.flags = (uint32_t)i, .attrs = {kv + i, 3}};
    ocl_span_t sp[3] = {{.name = S("a"),
                         .attrs = {kv, 300},
                         .events = ev,
                         .n_events = 40,
                         .links = lk,
                         .n_links = 20},
                        {.name = S("b"), .attrs = {kv, 65}, .events = ev, .n_events = 9},
                        {.name = S("c"), .attrs = {kv + 7, 1}, .links = lk, .n_links = 5}};
    ocl_scope_spans_t ss = {.spans = sp, .n_spans = 3};
    ocl_resource_spans_t r = {.scope_spans = &ss, .n_scope_spans = 1};
    ocl_traces_req_t in = {&r, 1}, out;
    ocl_buf_t enc;
    ocl_buf_init(&enc);
    ocl_otlp_pb_encode_traces(&in, &enc);
    ocl_arena_t a;
    ocl_arena_init(&a, 0);
    assert_int_equal(ocl_otlp_pb_decode_traces(enc.p, enc.len, &a, &out, NULL), 0);
    char *d1 = dump_t(&in), *d2 = dump_t(&out);
    assert_string_equal(d1, d2);
    free(d1);
    free(d2);
    ocl_buf_dispose(&enc);
    ocl_arena_dispose(&a);
}

static void test_response(void **state)
{
    ocl_buf_t b;
    ocl_buf_init(&b);
    ocl_otlp_pb_encode_response(0, OCL_STR_NULL, &b);
    assert_int_equal(b.len, 0);
    ocl_otlp_pb_encode_response(3, S("bad"), &b);
    static const unsigned char want[] = {0x0a, 0x07, 0x08, 0x03, 0x12, 0x03, 'b', 'a', 'd'};
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.p, want, sizeof want);
    b.len = 0;
    ocl_otlp_pb_encode_response(0, S("m"), &b);
    static const unsigned char want2[] = {0x0a, 0x03, 0x12, 0x01, 'm'};
    assert_int_equal(b.len, sizeof want2);
    assert_memory_equal(b.p, want2, sizeof want2);
    ocl_buf_dispose(&b);
}

/* ---- hand-assembled vectors ---- */

/* Wraps `span` bytes as ExportTraceServiceRequest{rs{ss{span}}}. */
static size_t wrap_span(const unsigned char *span, size_t n, unsigned char *out)
{
    ocl_buf_t b;
    ocl_buf_init(&b);
    size_t r = ocl_pb_msg_begin(&b, 1, 1);
    size_t s = ocl_pb_msg_begin(&b, 2, 1);
    ocl_pb_put_bytes(&b, 2, span, n);
    ocl_pb_msg_end(&b, s, 1);
    ocl_pb_msg_end(&b, r, 1);
    memcpy(out, b.p, b.len);
    size_t len = b.len;
    ocl_buf_dispose(&b);
    return len;
}

static int decode_span(const unsigned char *span, size_t n, ocl_arena_t *a, ocl_span_t **sp,
                       const char **err)
{
    static unsigned char buf[4096];
    static ocl_traces_req_t r;
    size_t len = wrap_span(span, n, buf);
    int rc = ocl_otlp_pb_decode_traces(buf, len, a, &r, err);
    if (rc == 0 && sp) *sp = &r.rs[0].scope_spans[0].spans[0];
    return rc;
}

static void test_unknown_fields(void **state)
{
    static const unsigned char span[] = {
        0x2a, 0x01, 'n',                                /* name */
        0x98, 0x06, 0x96, 0x01,                         /* 99: varint 150 */
        0x99, 0x06, 1,    2,    3,    4,    5, 6, 7, 8, /* 99: fixed64 */
        0x9a, 0x06, 0x03, 'a',  'b',  'c',              /* 99: bytes */
        0x9d, 0x06, 1,    2,    3,    4,                /* 99: fixed32 */
        0xf8, 0xff, 0xff, 0xff, 0x0f, 0x01,             /* 536870911: varint */
        0x30, 0x03,                                     /* kind = 3 */
    };
    ocl_arena_t a;
    ocl_arena_init(&a, 0);
    ocl_span_t *s = NULL;
    assert_int_equal(decode_span(span, sizeof span, &a, &s, NULL), 0);
    assert_true(ocl_str_eq_c(s->name, "n"));
    assert_int_equal(s->kind, 3);
    assert_int_equal(s->raw.n, sizeof span);
    assert_memory_equal(s->raw.p, span, sizeof span);
    /* groups are rejected */
    static const unsigned char grp[] = {0x9b, 0x06, 0x9c, 0x06};
    const char *err;
    assert_int_equal(decode_span(grp, sizeof grp, &a, NULL, &err), OCL_EINVAL);
    assert_non_null(err);
    /* wire types 6 and 7 are invalid */
    static const unsigned char wt7[] = {0x9f, 0x06, 0x00};
    assert_int_equal(decode_span(wt7, sizeof wt7, &a, NULL, &err), OCL_EINVAL);
    /* field number 0 */
    static const unsigned char f0[] = {0x00, 0x00};
    assert_int_equal(decode_span(f0, sizeof f0, &a, NULL, &err), OCL_EINVAL);
    ocl_arena_dispose(&a);
}

static void test_wrong_wire_type(void **state)
{
    ocl_arena_t a;
    ocl_arena_init(&a, 0);
    const char *err = NULL;
    static const unsigned char name_varint[] = {0x28, 0x01};
    assert_int_equal(decode_span(name_varint, sizeof name_varint, &a, NULL, &err), OCL_EINVAL);
    assert_string_equal(err, "field 5 of Span: wrong wire type");
    static const unsigned char start_varint[] = {0x38, 0x01};
    assert_int_equal(decode_span(start_varint, sizeof start_varint, &a, NULL, &err), OCL_EINVAL);
    assert_string_equal(err, "field 7 of Span: wrong wire type");
    static const unsigned char flags_varint[] = {0x80, 0x01, 0x01};
    assert_int_equal(decode_span(flags_varint, sizeof flags_varint, &a, NULL, &err), OCL_EINVAL);
    assert_string_equal(err, "field 16 of Span: wrong wire type");
    /* attribute value: int as fixed64 */
    static const unsigned char kv_bad[] = {0x4a, 0x07, 0x0a, 0x01, 'k', 0x12, 0x02, 0x1d, 0x00};
    assert_int_equal(decode_span(kv_bad, sizeof kv_bad, &a, NULL, &err), OCL_EINVAL);
    /* top-level resource_spans as varint */
    static const unsigned char top[] = {0x08, 0x01};
    assert_int_equal(dec_t(top, sizeof top, &a, &err), OCL_EINVAL);
    assert_string_equal(err, "field 1 of ExportTraceServiceRequest: wrong wire type");
    ocl_arena_dispose(&a);
}

static void test_overlong_varint(void **state)
{
    ocl_arena_t a;
    ocl_arena_init(&a, 0);
    const char *err;
    static const unsigned char ok10[] = {0x30, 0xff, 0xff, 0xff, 0xff, 0xff,
                                         0xff, 0xff, 0xff, 0xff, 0x01};
    ocl_span_t *s = NULL;
    assert_int_equal(decode_span(ok10, sizeof ok10, &a, &s, &err), 0);
    assert_int_equal(s->kind, -1);
    static const unsigned char bad10[] = {0x30, 0xff, 0xff, 0xff, 0xff, 0xff,
                                          0xff, 0xff, 0xff, 0xff, 0x02};
    assert_int_equal(decode_span(bad10, sizeof bad10, &a, NULL, &err), OCL_EINVAL);
    assert_string_equal(err, "overlong varint");
    static const unsigned char bad11[] = {0x30, 0x80, 0x80, 0x80, 0x80, 0x80,
                                          0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    assert_int_equal(decode_span(bad11, sizeof bad11, &a, NULL, &err), OCL_EINVAL);
    assert_string_equal(err, "overlong varint");
    static const unsigned char trunc[] = {0x30, 0x80};
    assert_int_equal(decode_span(trunc, sizeof trunc, &a, NULL, &err), OCL_EINVAL);
    assert_string_equal(err, "truncated varint");
    ocl_arena_dispose(&a);
}

static void test_length_past_end(void **state)
{
    ocl_arena_t a;
    ocl_arena_init(&a, 0);
    const char *err;
    static const unsigned char top[] = {0x0a, 0x05, 0x12, 0x00};
    assert_int_equal(dec_t(top, sizeof top, &a, &err), OCL_EINVAL);
    assert_string_equal(err, "length past end");
    static const unsigned char huge[] = {0x0a, 0xff, 0xff, 0xff, 0xff,
                                         0xff, 0xff, 0xff, 0xff, 0x7f};
    assert_int_equal(dec_t(huge, sizeof huge, &a, &err), OCL_EINVAL);
    static const unsigned char name[] = {0x2a, 0x05, 'a'};
    assert_int_equal(decode_span(name, sizeof name, &a, NULL, &err), OCL_EINVAL);
    static const unsigned char fx[] = {0x39, 1, 2, 3};
    assert_int_equal(decode_span(fx, sizeof fx, &a, NULL, &err), OCL_EINVAL);
    assert_string_equal(err, "truncated fixed64");
    static const unsigned char f32[] = {0x85, 0x01, 1, 2};
    assert_int_equal(decode_span(f32, sizeof f32, &a, NULL, &err), OCL_EINVAL);
    assert_string_equal(err, "truncated fixed32");
    ocl_arena_dispose(&a);
}

static void test_truncation_everywhere(void **state)
{
    ocl_traces_req_t t = make_traces();
    ocl_metrics_req_t m = make_metrics();
    ocl_logs_req_t l = make_logs();
    ocl_buf_t bt, bm, bl;
    ocl_buf_init(&bt);
    ocl_buf_init(&bm);
    ocl_buf_init(&bl);
    ocl_otlp_pb_encode_traces(&t, &bt);
    ocl_otlp_pb_encode_metrics(&m, &bm);
    ocl_otlp_pb_encode_logs(&l, &bl);
    ocl_arena_t a;
    ocl_arena_init(&a, 0);
    for (size_t n = 1; n < bt.len; n++) {
        /* copy to an exact-size heap block so ASan sees over-reads */
        unsigned char *p = malloc(n);
        memcpy(p, bt.p, n);
        const char *err = NULL;
        ocl_traces_req_t r;
        assert_int_not_equal(ocl_otlp_pb_decode_traces(p, n, &a, &r, &err), 0);
        assert_non_null(err);
        free(p);
        ocl_arena_reset(&a);
    }
    for (size_t n = 1; n < bm.len; n++) {
        unsigned char *p = malloc(n);
        memcpy(p, bm.p, n);
        ocl_metrics_req_t r;
        assert_int_not_equal(ocl_otlp_pb_decode_metrics(p, n, &a, &r, NULL), 0);
        free(p);
        ocl_arena_reset(&a);
    }
    for (size_t n = 1; n < bl.len; n++) {
        unsigned char *p = malloc(n);
        memcpy(p, bl.p, n);
        ocl_logs_req_t r;
        assert_int_not_equal(ocl_otlp_pb_decode_logs(p, n, &a, &r, NULL), 0);
        free(p);
        ocl_arena_reset(&a);
    }
    /* the empty request is valid */
    ocl_traces_req_t r;
    assert_int_equal(ocl_otlp_pb_decode_traces("", 0, &a, &r, NULL), 0);
    assert_int_equal(r.n_rs, 0);
    assert_int_equal(ocl_otlp_pb_decode_traces(NULL, 0, &a, &r, NULL), 0);
    ocl_metrics_req_t rm0;
    assert_int_equal(ocl_otlp_pb_decode_metrics(NULL, 0, &a, &rm0, NULL), 0);
    ocl_logs_req_t rl0;
    assert_int_equal(ocl_otlp_pb_decode_logs(NULL, 0, &a, &rl0, NULL), 0);
    ocl_buf_dispose(&bt);
    ocl_buf_dispose(&bm);
    ocl_buf_dispose(&bl);
    ocl_arena_dispose(&a);
}

/* Builds a log record whose body nests `depth` arrays around an int. */
static void build_nested_log(ocl_buf_t *out, int depth)
{
    ocl_buf_t v, w;
    ocl_buf_init(&v);
    ocl_pb_put_uint(&v, 3, 42); /* AnyValue{int_value: 42} */
    for (int i = 0; i < depth; i++) {
        ocl_buf_init(&w);
        size_t arr = ocl_pb_msg_begin(&w, 5, 1); /* AnyValue.array_value */
        ocl_pb_put_bytes(&w, 1, v.p, v.len);     /* ArrayValue.values */
        ocl_pb_msg_end(&w, arr, 1);
        ocl_buf_dispose(&v);
        v = w;
    }
    size_t r = ocl_pb_msg_begin(out, 1, 3);
    size_t s = ocl_pb_msg_begin(out, 2, 3);
    size_t lr = ocl_pb_msg_begin(out, 2, 3);
    ocl_pb_put_bytes(out, 5, v.p, v.len);
    ocl_pb_msg_end(out, lr, 3);
    ocl_pb_msg_end(out, s, 3);
    ocl_pb_msg_end(out, r, 3);
    ocl_buf_dispose(&v);
}

static void test_depth(void **state)
{
    ocl_arena_t a;
    ocl_arena_init(&a, 0);
    ocl_buf_t b;
    ocl_buf_init(&b);
    ocl_logs_req_t r;
    const char *err;
    build_nested_log(&b, OCL_OTLP_MAX_DEPTH);
    assert_int_equal(ocl_otlp_pb_decode_logs(b.p, b.len, &a, &r, &err), 0);
    const ocl_anyvalue_t *v = &r.rl[0].scope_logs[0].logs[0].body;
    for (int i = 0; i < OCL_OTLP_MAX_DEPTH; i++) {
        assert_int_equal(v->type, OCL_AV_ARRAY);
        assert_int_equal(v->u.arr.n, 1);
        v = &v->u.arr.v[0];
    }
    assert_int_equal(v->type, OCL_AV_INT);
    assert_int_equal(v->u.i, 42);
    b.len = 0;
    build_nested_log(&b, OCL_OTLP_MAX_DEPTH + 1);
    assert_int_equal(ocl_otlp_pb_decode_logs(b.p, b.len, &a, &r, &err), OCL_EDEPTH);
    b.len = 0;
    build_nested_log(&b, 5000);
    assert_int_equal(ocl_otlp_pb_decode_logs(b.p, b.len, &a, &r, &err), OCL_EDEPTH);
    ocl_buf_dispose(&b);
    ocl_arena_dispose(&a);
}

static void test_utf8(void **state)
{
    ocl_arena_t a;
    ocl_arena_init(&a, 0);
    const char *err;
    static const unsigned char name[] = {0x2a, 0x02, 0xc3, 0x28};
    assert_int_equal(decode_span(name, sizeof name, &a, NULL, &err), OCL_EUTF8);
    static const unsigned char surrogate[] = {0x1a, 0x03, 0xed, 0xa0, 0x80}; /* trace_state */
    assert_int_equal(decode_span(surrogate, sizeof surrogate, &a, NULL, &err), OCL_EUTF8);
    static const unsigned char key[] = {0x4a, 0x03, 0x0a, 0x01, 0xff};
    assert_int_equal(decode_span(key, sizeof key, &a, NULL, &err), OCL_EUTF8);
    static const unsigned char sval[] = {0x4a, 0x08, 0x0a, 0x01, 'k', 0x12, 0x03, 0x0a, 0x01, 0x80};
    assert_int_equal(decode_span(sval, sizeof sval, &a, NULL, &err), OCL_EUTF8);
    /* bytes are not checked: ids and bytes_value */
    static const unsigned char ok[] = {0x0a, 0x02, 0xff, 0xfe, 0x4a, 0x08, 0x0a,
                                       0x01, 'k',  0x12, 0x03, 0x3a, 0x01, 0xff};
    ocl_span_t *s = NULL;
    assert_int_equal(decode_span(ok, sizeof ok, &a, &s, &err), 0);
    assert_int_equal(s->trace_id.n, 2); /* id length not validated */
    assert_int_equal(s->attrs.v[0].value.type, OCL_AV_BYTES);
    ocl_arena_dispose(&a);
}

/* Histogram data point with bucket_counts/explicit_bounds packed, unpacked
 * and mixed; exponential buckets packed and unpacked. */
static size_t metric_wrap(ocl_buf_t *dp, uint32_t data_field, unsigned char *out)
{
    ocl_buf_t b;
    ocl_buf_init(&b);
    size_t r = ocl_pb_msg_begin(&b, 1, 2);
    size_t s = ocl_pb_msg_begin(&b, 2, 2);
    size_t m = ocl_pb_msg_begin(&b, 2, 2);
    size_t d = ocl_pb_msg_begin(&b, data_field, 2);
    ocl_pb_put_bytes(&b, 1, dp->p, dp->len);
    ocl_pb_msg_end(&b, d, 2);
    ocl_pb_msg_end(&b, m, 2);
    ocl_pb_msg_end(&b, s, 2);
    ocl_pb_msg_end(&b, r, 2);
    memcpy(out, b.p, b.len);
    size_t n = b.len;
    ocl_buf_dispose(&b);
    return n;
}

static void test_packed_unpacked(void **state)
{
    ocl_arena_t a;
    ocl_arena_init(&a, 0);
    unsigned char buf[1024];
    ocl_metrics_req_t r;
    ocl_buf_t dp;
    ocl_buf_init(&dp);
    /* unpacked: bucket_counts 1, 2 (fixed64 each); bounds 0.5 unpacked */
    ocl_pb_put_fixed64(&dp, 6, 1);
    ocl_pb_put_double(&dp, 7, 0.5);
    ocl_pb_put_fixed64(&dp, 6, 2);
    /* then a packed run appending 3, 4 and bound 7.5 */
    uint64_t packed[2] = {3, 4};
    ocl_pb_put_bytes(&dp, 6, packed, sizeof packed);
    double pb[1] = {7.5};
    ocl_pb_put_bytes(&dp, 7, pb, sizeof pb);
    size_t n = metric_wrap(&dp, 9, buf);
    assert_int_equal(ocl_otlp_pb_decode_metrics(buf, n, &a, &r, NULL), 0);
    const ocl_histogram_dp_t *h = &r.rm[0].scope_metrics[0].metrics[0].dp.hist[0];
    assert_int_equal(h->n_bucket_counts, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(h->bucket_counts[i], i + 1);
    assert_int_equal(h->n_explicit_bounds, 2);
    assert_true(h->explicit_bounds[0] == 0.5 && h->explicit_bounds[1] == 7.5);
    /* packed length not a multiple of 8 */
    dp.len = 0;
    ocl_pb_put_bytes(&dp, 6, packed, 7);
    n = metric_wrap(&dp, 9, buf);
    assert_int_equal(ocl_otlp_pb_decode_metrics(buf, n, &a, &r, NULL), OCL_EINVAL);

    /* exponential: positive buckets packed {1, 300}, then unpacked 5 */
    dp.len = 0;
    ocl_buf_t bk;
    ocl_buf_init(&bk);
    ocl_pb_put_uint(&bk, 1, ocl_pb_zigzag32(-4));
    static const unsigned char pk[] = {0x01, 0xac, 0x02};
    ocl_pb_put_bytes(&bk, 2, pk, sizeof pk);
    ocl_pb_put_uint(&bk, 2, 5);
    ocl_pb_put_bytes(&dp, 8, bk.p, bk.len);
    n = metric_wrap(&dp, 10, buf);
    assert_int_equal(ocl_otlp_pb_decode_metrics(buf, n, &a, &r, NULL), 0);
    const ocl_exp_histogram_dp_t *e = &r.rm[0].scope_metrics[0].metrics[0].dp.ehist[0];
    assert_int_equal(e->positive.offset, -4);
    assert_int_equal(e->positive.n_bucket_counts, 3);
    assert_int_equal(e->positive.bucket_counts[0], 1);
    assert_int_equal(e->positive.bucket_counts[1], 300);
    assert_int_equal(e->positive.bucket_counts[2], 5);
    /* truncated varint inside the packed payload */
    dp.len = 0;
    bk.len = 0;
    static const unsigned char pkbad[] = {0x01, 0xac};
    ocl_pb_put_bytes(&bk, 2, pkbad, sizeof pkbad);
    ocl_pb_put_bytes(&dp, 8, bk.p, bk.len);
    n = metric_wrap(&dp, 10, buf);
    const char *err;
    assert_int_equal(ocl_otlp_pb_decode_metrics(buf, n, &a, &r, &err), OCL_EINVAL);
    assert_string_equal(err, "truncated varint");
    ocl_buf_dispose(&bk);
    ocl_buf_dispose(&dp);
    ocl_arena_dispose(&a);
}

static void test_oneof_and_enums(void **state)
{
    ocl_arena_t a;
    ocl_arena_init(&a, 0);
    /* AnyValue with string then int: last member wins. */
    static const unsigned char span[] = {0x4a, 0x0a, 0x0a, 0x01, 'k',  0x12, 0x05, 0x0a, 0x01,
                                         'x',  0x18, 0x07, 0x7a, 0x0d, 0x18, 0xff, 0xff, 0xff,
                                         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x12, 0x00};
    ocl_span_t *s = NULL;
    const char *err;
    assert_int_equal(decode_span(span, sizeof span, &a, &s, &err), 0);
    assert_int_equal(s->attrs.n, 1);
    assert_int_equal(s->attrs.v[0].value.type, OCL_AV_INT);
    assert_int_equal(s->attrs.v[0].value.u.i, 7);
    assert_true(s->has_status);
    assert_int_equal(s->status_code, -1);
    ocl_arena_dispose(&a);
}

static void test_pb_primitives(void **state)
{
    ocl_buf_t b;
    ocl_buf_init(&b);
    uint64_t vals[] = {0, 1, 127, 128, 300, 16383, 16384, UINT32_MAX, UINT64_MAX};
    for (size_t i = 0; i < OCL_ARRAY_LEN(vals); i++)
        ocl_pb_put_varint(&b, vals[i]);
    ocl_pb_reader_t r;
    ocl_pb_reader_init(&r, b.p, b.len);
    for (size_t i = 0; i < OCL_ARRAY_LEN(vals); i++) {
        uint64_t v;
        assert_int_equal(ocl_pb_varint(&r, &v), 0);
        assert_true(v == vals[i]);
    }
    assert_true(ocl_pb_eof(&r));
    int32_t zs[] = {0, -1, 1, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < OCL_ARRAY_LEN(zs); i++)
        assert_int_equal(ocl_pb_unzigzag32(ocl_pb_zigzag32(zs[i])), zs[i]);
    assert_int_equal(ocl_pb_zigzag32(-1), 1);
    assert_int_equal(ocl_pb_zigzag32(1), 2);
    assert_true(ocl_pb_unzigzag64(ocl_pb_zigzag64(INT64_MIN)) == INT64_MIN);
    /* msg_begin/end with every guess and body size crossing boundaries */
    static char body[20000];
    size_t sizes[] = {0, 1, 127, 128, 16383, 16384};
    for (size_t g = 1; g <= 3; g++)
        for (size_t i = 0; i < OCL_ARRAY_LEN(sizes); i++) {
            b.len = 0;
            size_t st = ocl_pb_msg_begin(&b, 7, g);
            ocl_buf_append(&b, body, sizes[i]);
            ocl_pb_msg_end(&b, st, g);
            ocl_pb_reader_init(&r, b.p, b.len);
            uint32_t tag;
            ocl_str_t s;
            assert_int_equal(ocl_pb_tag(&r, &tag), 0);
            assert_int_equal(tag, OCL_PB_TAG(7, 2));
            assert_int_equal(ocl_pb_bytes(&r, &s), 0);
            assert_int_equal(s.n, sizes[i]);
            assert_true(ocl_pb_eof(&r));
            assert_int_equal(b.len, 1 + ocl_pb_varint_size(sizes[i]) + sizes[i]);
        }
    ocl_buf_dispose(&b);
}

/* ---- modes for tests/integration/test_protoc.sh ---- */

static int write_file(const char *dir, const char *name, const ocl_buf_t *b)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(b->p, 1, b->len, f);
    return (fclose(f) == 0 && w == b->len) ? 0 : -1;
}

static int dump_samples(const char *dir)
{
    ocl_buf_t b;
    ocl_buf_init(&b);
    ocl_traces_req_t t = make_traces();
    ocl_otlp_pb_encode_traces(&t, &b);
    int rc = write_file(dir, "traces.bin", &b);
    b.len = 0;
    ocl_metrics_req_t m = make_metrics();
    ocl_otlp_pb_encode_metrics(&m, &b);
    rc |= write_file(dir, "metrics.bin", &b);
    b.len = 0;
    ocl_logs_req_t l = make_logs();
    ocl_otlp_pb_encode_logs(&l, &b);
    rc |= write_file(dir, "logs.bin", &b);
    ocl_buf_dispose(&b);
    return rc ? 1 : 0;
}

static int decode_file(const char *path, const char *signal)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    ocl_buf_t in, out;
    ocl_buf_init(&in);
    ocl_buf_init(&out);
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        ocl_buf_append(&in, tmp, n);
    fclose(f);
    ocl_arena_t a;
    ocl_arena_init(&a, 0);
    const char *err = NULL;
    int rc;
    if (!strcmp(signal, "traces")) {
        ocl_traces_req_t r;
        if ((rc = ocl_otlp_pb_decode_traces(in.p, in.len, &a, &r, &err)) == 0)
            dump_traces(&out, &r);
    } else if (!strcmp(signal, "metrics")) {
        ocl_metrics_req_t r;
        if ((rc = ocl_otlp_pb_decode_metrics(in.p, in.len, &a, &r, &err)) == 0)
            dump_metrics(&out, &r);
    } else {
        ocl_logs_req_t r;
        if ((rc = ocl_otlp_pb_decode_logs(in.p, in.len, &a, &r, &err)) == 0) dump_logs(&out, &r);
    }
    if (rc)
        fprintf(stderr, "decode failed: %s (%s)\n", ocl_strerror(rc), err ? err : "");
    else
        fwrite(out.p, 1, out.len, stdout);
    ocl_buf_dispose(&in);
    ocl_buf_dispose(&out);
    ocl_arena_dispose(&a);
    return rc ? 1 : 0;
}

int main(void)
{
    const char *dir = getenv("OCL_DUMP_SAMPLES");
    if (dir) return dump_samples(dir);
    const char *file = getenv("OCL_DECODE_FILE");
    if (file) {
        const char *sig = getenv("OCL_DECODE_SIGNAL");
        return decode_file(file, sig ? sig : "traces");
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pb_primitives),
        cmocka_unit_test(test_traces_roundtrip),
        cmocka_unit_test(test_metrics_roundtrip),
        cmocka_unit_test(test_logs_roundtrip),
        cmocka_unit_test(test_big_messages),
        cmocka_unit_test(test_many_children),
        cmocka_unit_test(test_response),
        cmocka_unit_test(test_unknown_fields),
        cmocka_unit_test(test_wrong_wire_type),
        cmocka_unit_test(test_overlong_varint),
        cmocka_unit_test(test_length_past_end),
        cmocka_unit_test(test_truncation_everywhere),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_packed_unpacked),
        cmocka_unit_test(test_oneof_and_enums),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
