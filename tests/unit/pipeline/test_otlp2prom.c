/*
 * test_otlp2prom.c — unit tests of the OTLP → Prometheus translation
 * (src/pipeline/otlp2prom.c): a table of OTLP/JSON requests and the exact
 * series (name, labels, value, time) they must become, covering name and
 * unit normalisation, label sanitisation and collisions, job / instance /
 * scope labels, target_info, counters, gauges, histograms, summaries,
 * staleness, rejected exponential histograms, and delta → cumulative
 * conversion across requests (with a fake "newest stored sample" store).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>
#include <math.h>

#include "pipeline/otlp2prom.h"

/* ---- fake store: newest sample per formatted label set ---- */

typedef struct {
    char key[512];
    int64_t t;
    double v;
} fake_t;

static fake_t store[256];
static size_t n_store;

static void fmt_labels(const ocl_labels_t *ls, char *out, size_t n)
{
    ocl_buf_t b;
    ocl_buf_init(&b);
    ocl_labels_format(ls, &b);
    snprintf(out, n, "%.*s", (int)b.len, (const char *)b.p);
    ocl_buf_dispose(&b);
}

static int fake_last(void *ud, const ocl_labels_t *ls, int64_t *t, double *v)
{
    (void)ud;
    char k[512];
    fmt_labels(ls, k, sizeof k);
    for (size_t i = 0; i < n_store; i++)
        if (strcmp(store[i].key, k) == 0) {
            *t = store[i].t;
            *v = store[i].v;
            return 0;
        }
    return OCL_ENOTFOUND;
}

static void fake_store(const ocl_prom_batch_t *b)
{
    for (size_t i = 0; i < b->n_series; i++) {
        char k[512];
        fmt_labels(&b->series[i].labels, k, sizeof k);
        size_t j;
        for (j = 0; j < n_store; j++)
            if (strcmp(store[j].key, k) == 0) break;
        if (j == n_store) {
            assert_true(n_store < 256);
            snprintf(store[n_store++].key, sizeof store[0].key, "%s", k);
        }
        const ocl_sample_t *s = &b->series[i].samples[b->series[i].n_samples - 1];
        store[j].t = s->t;
        store[j].v = s->v;
    }
}

/* Translates `json`; returns the series as "labels value @t\n" lines. */
static char *translate(const char *json, ocl_o2p_result_t *res, bool remember)
{
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_metrics_req_t req;
    const char *err = NULL;
    int rc = ocl_otlp_json_decode_metrics(json, strlen(json), &a, &req, &err);
    if (rc) fprintf(stderr, "decode: %s\n", err ? err : "?");
    assert_int_equal(rc, 0);
    ocl_prom_batch_t b;
    assert_int_equal(ocl_otlp2prom(&req, 42, fake_last, NULL, &a, &b, res), 0);
    ocl_buf_t out;
    ocl_buf_init(&out);
    for (size_t i = 0; i < b.n_series; i++) {
        const ocl_prom_series_t *s = &b.series[i];
        /* the batch invariants of wire/prom.h */
        assert_int_equal(s->n_samples, 1);
        for (uint32_t j = 0; j < s->labels.n; j++) {
            assert_true(s->labels.v[j].value.n > 0);
            if (j)
                assert_true(memcmp(s->labels.v[j - 1].name.p, s->labels.v[j].name.p,
                                   OCL_MIN(s->labels.v[j - 1].name.n, s->labels.v[j].name.n)) <= 0);
            assert_true(ocl_label_name_valid(s->labels.v[j].name) ||
                        ocl_str_eq_c(s->labels.v[j].name, "__name__"));
        }
        assert_true(ocl_metric_name_valid(ocl_labels_get(&s->labels, OCL_STR("__name__"))));
        ocl_labels_format(&s->labels, &out);
        char v[400];
        if (ocl_is_stale_nan(s->samples[0].v))
            snprintf(v, sizeof v, "stale");
        else
            ocl_o2p_format_float(s->samples[0].v, v, sizeof v);
        ocl_buf_printf(&out, " %s @%lld\n", v, (long long)s->samples[0].t);
    }
    ocl_buf_putc(&out, 0);
    if (remember) fake_store(&b);
    ocl_arena_dispose(&a);
    return (char *)ocl_buf_steal(&out, NULL);
}

static void check(const char *json, const char *want, uint64_t rejected)
{
    ocl_o2p_result_t res;
    char *got = translate(json, &res, true);
    if (strcmp(got, want) != 0) fprintf(stderr, "got:\n%s\nwant:\n%s\n", got, want);
    assert_string_equal(got, want);
    assert_int_equal(res.rejected, rejected);
    free(got);
}

#define RES(attrs, scope, metrics)                                                                 \
    "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[" attrs "]},\"scopeMetrics\":[{"         \
    "\"scope\":" scope ",\"metrics\":[" metrics "]}]}]}"
#define SATTR(k, v) "{\"key\":\"" k "\",\"value\":{\"stringValue\":\"" v "\"}}"
#define SVC SATTR("service.name", "api")
#define NOSCOPE "{}"

static void test_gauge_resource_scope(void **state)
{
    (void)state;
    check(RES(SVC "," SATTR("service.namespace", "shop") "," SATTR(
                  "service.instance.id", "i-1") "," SATTR("host.name", "h1"),
              "{\"name\":\"lib\",\"version\":\"1.2\"}",
              "{\"name\":\"system.cpu.utilization\",\"unit\":\"1\",\"gauge\":{\"dataPoints\":[{"
              "\"attributes\":[{\"key\":\"cpu\",\"value\":{\"intValue\":\"0\"}}],"
              "\"timeUnixNano\":\"1700000000123456789\",\"asDouble\":0.5}]}}"),
          "system_cpu_utilization_ratio{cpu=\"0\", instance=\"i-1\", job=\"shop/api\", "
          "otel_scope_name=\"lib\", otel_scope_version=\"1.2\"} 0.5 @1700000000123\n"
          "target_info{host_name=\"h1\", instance=\"i-1\", job=\"shop/api\"} 1 @1700000000123\n",
          0);
}

static void test_names_and_units(void **state)
{
    (void)state;
    check(RES(SVC, NOSCOPE,
              "{\"name\":\"net.io\",\"unit\":\"By\",\"sum\":{\"aggregationTemporality\":2,"
              "\"isMonotonic\":true,\"dataPoints\":[{\"timeUnixNano\":\"2000000\",\"asInt\":\"7\"}"
              "]}},"
              "{\"name\":\"http.requests_total\",\"unit\":\"{request}\",\"sum\":{"
              "\"aggregationTemporality\":2,\"isMonotonic\":true,\"dataPoints\":[{"
              "\"timeUnixNano\":\"2000000\",\"asInt\":\"3\"}]}},"
              "{\"name\":\"queue.len\",\"unit\":\"ms\",\"sum\":{\"aggregationTemporality\":2,"
              "\"dataPoints\":[{\"timeUnixNano\":\"2000000\",\"asDouble\":-1.5}]}},"
              "{\"name\":\"request.duration.seconds\",\"unit\":\"s\",\"gauge\":{\"dataPoints\":[{"
              "\"timeUnixNano\":\"2000000\",\"asDouble\":1e-7}]}},"
              "{\"name\":\"9lives..(x)\",\"unit\":\"{packets}/s\",\"gauge\":{\"dataPoints\":[{"
              "\"timeUnixNano\":\"2000000\",\"asDouble\":1e21}]}},"
              "{\"name\":\"disk.io\",\"unit\":\"MiBy/h\",\"gauge\":{\"dataPoints\":[{"
              "\"timeUnixNano\":\"2000000\",\"asDouble\":2}]}},"
              "{\"name\":\"ratio.counter\",\"unit\":\"1\",\"sum\":{\"aggregationTemporality\":2,"
              "\"isMonotonic\":true,\"dataPoints\":[{\"asDouble\":1}]}}"),
          "net_io_bytes_total{job=\"api\"} 7 @2\n"
          "http_requests_total{job=\"api\"} 3 @2\n"
          "queue_len_milliseconds{job=\"api\"} -1.5 @2\n"
          "request_duration_seconds{job=\"api\"} 0.0000001 @2\n"
          "_9lives_x_per_second{job=\"api\"} 1000000000000000000000 @2\n"
          "disk_io_mebibytes_per_hour{job=\"api\"} 2 @2\n"
          "ratio_counter_total{job=\"api\"} 1 @42\n",
          0);
}

static void test_labels(void **state)
{
    (void)state;
    check(RES(SVC, NOSCOPE,
              "{\"name\":\"g\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":\"5000000\","
              "\"asDouble\":1,\"attributes\":["
              "{\"key\":\"a.b\",\"value\":{\"stringValue\":\"1\"}},"
              "{\"key\":\"a_b\",\"value\":{\"stringValue\":\"2\"}},"
              "{\"key\":\"_x\",\"value\":{\"boolValue\":true}},"
              "{\"key\":\"9z\",\"value\":{\"doubleValue\":0.25}},"
              "{\"key\":\"__y\",\"value\":{\"stringValue\":\"kept\"}},"
              "{\"key\":\"arr\",\"value\":{\"arrayValue\":{\"values\":[{\"intValue\":\"1\"},"
              "{\"stringValue\":\"x\"}]}}},"
              "{\"key\":\"empty\",\"value\":{\"stringValue\":\"\"}},"
              "{\"key\":\"job\",\"value\":{\"stringValue\":\"overridden\"}},"
              "{\"key\":\"__name__\",\"value\":{\"stringValue\":\"dropped\"}}"
              "]}]}}"),
          "g{__y=\"kept\", a_b=\"1;2\", arr=\"[1,\\\"x\\\"]\", job=\"api\", key_9z=\"0.25\", "
          "key_x=\"true\"} 1 @5\n",
          0);
}

/* Colliding keys join their values in the lexicographical order of the
 * original keys, whatever the order of the attributes ("a.b" < "a:b" <
 * "a_b" bytewise). */
static void test_label_collision_order(void **state)
{
    (void)state;
    check(RES(SVC, NOSCOPE,
              "{\"name\":\"g\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":\"5000000\","
              "\"asDouble\":1,\"attributes\":["
              "{\"key\":\"a_b\",\"value\":{\"stringValue\":\"third\"}},"
              "{\"key\":\"a.b\",\"value\":{\"stringValue\":\"first\"}},"
              "{\"key\":\"a:b\",\"value\":{\"stringValue\":\"second\"}}"
              "]}]}}"),
          "g{a_b=\"first;second;third\", job=\"api\"} 1 @5\n", 0);
}

/* The "key" prefixes apply to the sanitised name (".x" becomes "_x", so
 * "key_x"; "_.y" becomes "__y", which is kept). */
static void test_label_prefix_after_sanitising(void **state)
{
    (void)state;
    check(RES(SVC, NOSCOPE,
              "{\"name\":\"g\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":\"5000000\","
              "\"asDouble\":1,\"attributes\":["
              "{\"key\":\".x\",\"value\":{\"stringValue\":\"1\"}},"
              "{\"key\":\"_.y\",\"value\":{\"stringValue\":\"2\"}},"
              "{\"key\":\"-\",\"value\":{\"stringValue\":\"3\"}}"
              "]}]}}"),
          "g{__y=\"2\", job=\"api\", key_=\"3\", key_x=\"1\"} 1 @5\n", 0);
}

static void test_histogram_summary(void **state)
{
    (void)state;
    check(RES(SVC, NOSCOPE,
              "{\"name\":\"rpc.duration\",\"unit\":\"s\",\"histogram\":{"
              "\"aggregationTemporality\":2,\"dataPoints\":[{\"timeUnixNano\":\"9000000\","
              "\"count\":\"10\",\"sum\":10.5,\"bucketCounts\":[\"1\",\"2\",\"3\",\"4\"],"
              "\"explicitBounds\":[0.005,1,1000000]}]}},"
              "{\"name\":\"lat\",\"summary\":{\"dataPoints\":[{\"timeUnixNano\":\"9000000\","
              "\"count\":\"4\",\"sum\":2,\"quantileValues\":[{\"quantile\":0.5,\"value\":0.1},"
              "{\"quantile\":0.99,\"value\":0.9}]}]}}"),
          "rpc_duration_seconds_bucket{job=\"api\", le=\"0.005\"} 1 @9\n"
          "rpc_duration_seconds_bucket{job=\"api\", le=\"1\"} 3 @9\n"
          "rpc_duration_seconds_bucket{job=\"api\", le=\"1000000\"} 6 @9\n"
          "rpc_duration_seconds_bucket{job=\"api\", le=\"+Inf\"} 10 @9\n"
          "rpc_duration_seconds_sum{job=\"api\"} 10.5 @9\n"
          "rpc_duration_seconds_count{job=\"api\"} 10 @9\n"
          "lat{job=\"api\", quantile=\"0.5\"} 0.1 @9\n"
          "lat{job=\"api\", quantile=\"0.99\"} 0.9 @9\n"
          "lat_sum{job=\"api\"} 2 @9\n"
          "lat_count{job=\"api\"} 4 @9\n",
          0);
}

/* Bucket counts whose sum exceeds 2^64 saturate instead of wrapping (the
 * cumulative buckets never decrease). */
static void test_histogram_count_overflow(void **state)
{
    (void)state;
    check(RES(SVC, NOSCOPE,
              "{\"name\":\"h\",\"histogram\":{"
              "\"aggregationTemporality\":2,\"dataPoints\":[{\"timeUnixNano\":\"9000000\","
              "\"count\":\"18446744073709551615\",\"bucketCounts\":[\"18446744073709551615\","
              "\"2\",\"0\"],\"explicitBounds\":[1,2]}]}}"),
          "h_bucket{job=\"api\", le=\"1\"} 18446744073709551616 @9\n"
          "h_bucket{job=\"api\", le=\"2\"} 18446744073709551616 @9\n"
          "h_bucket{job=\"api\", le=\"+Inf\"} 18446744073709551616 @9\n"
          "h_count{job=\"api\"} 18446744073709551616 @9\n",
          0);
}

static void test_rejections_and_staleness(void **state)
{
    (void)state;
    ocl_o2p_result_t res;
    char *got = translate(
        RES(SVC, NOSCOPE,
            "{\"name\":\"eh\",\"exponentialHistogram\":{\"aggregationTemporality\":2,"
            "\"dataPoints\":[{\"count\":\"1\"},{\"count\":\"2\"}]}},"
            "{\"name\":\"bad.hist\",\"histogram\":{\"aggregationTemporality\":2,\"dataPoints\":[{"
            "\"count\":\"1\",\"bucketCounts\":[\"1\"],\"explicitBounds\":[1,2]}]}},"
            "{\"name\":\"***\",\"gauge\":{\"dataPoints\":[{\"asDouble\":1}]}},"
            "{\"name\":\"gone\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":\"3000000\","
            "\"flags\":1}]}},"
            "{\"name\":\"h\",\"histogram\":{\"aggregationTemporality\":2,\"dataPoints\":[{"
            "\"timeUnixNano\":\"3000000\",\"count\":\"5\"}]}}"),
        &res, false);
    assert_string_equal(got, "gone{job=\"api\"} stale @3\n"
                             "h_bucket{job=\"api\", le=\"+Inf\"} 5 @3\n"
                             "h_count{job=\"api\"} 5 @3\n");
    assert_int_equal(res.rejected, 4);
    assert_int_equal(res.points, 6);
    assert_string_equal(res.reason, "exponential histograms are not supported");
    free(got);
}

#define DELTA_SUM(start, time, v)                                                                  \
    RES(SVC, NOSCOPE,                                                                              \
        "{\"name\":\"reqs\",\"sum\":{\"aggregationTemporality\":1,\"isMonotonic\":true,"           \
        "\"dataPoints\":[{\"startTimeUnixNano\":\"" start "\",\"timeUnixNano\":\"" time            \
        "\",\"asInt\":\"" v "\"}]}}")

static void test_delta(void **state)
{
    (void)state;
    n_store = 0;
    /* first point: a new run */
    check(DELTA_SUM("1000000000", "2000000000", "5"), "reqs_total{job=\"api\"} 5 @2000\n", 0);
    /* continues the previous point: accumulated */
    check(DELTA_SUM("2000000000", "3000000000", "3"), "reqs_total{job=\"api\"} 8 @3000\n", 0);
    /* a gap (start after the previous point) still accumulates */
    check(DELTA_SUM("4000000000", "5000000000", "1"), "reqs_total{job=\"api\"} 9 @5000\n", 0);
    /* a stored NaN does not poison the run: the next point starts anew */
    assert_int_equal(n_store, 1);
    double keep = store[0].v;
    store[0].v = NAN;
    check(DELTA_SUM("5000000000", "5500000000", "4"), "reqs_total{job=\"api\"} 4 @5500\n", 0);
    store[0].v = keep;
    store[0].t = 5000;
    /* overlapping start (the producer restarted): a new run */
    check(DELTA_SUM("4500000000", "6000000000", "2"), "reqs_total{job=\"api\"} 2 @6000\n", 0);
    /* two points in one request: the second builds on the first */
    check(RES(SVC, NOSCOPE,
              "{\"name\":\"reqs\",\"sum\":{\"aggregationTemporality\":1,\"isMonotonic\":true,"
              "\"dataPoints\":[{\"startTimeUnixNano\":\"6000000000\",\"timeUnixNano\":"
              "\"7000000000\",\"asInt\":\"1\"},{\"startTimeUnixNano\":\"7000000000\","
              "\"timeUnixNano\":\"8000000000\",\"asInt\":\"10\"}]}}"),
          "reqs_total{job=\"api\"} 3 @7000\nreqs_total{job=\"api\"} 13 @8000\n", 0);
    /* delta histogram: every series accumulates */
    const char *dh = RES(SVC, NOSCOPE,
                         "{\"name\":\"d\",\"histogram\":{\"aggregationTemporality\":1,"
                         "\"dataPoints\":[{\"startTimeUnixNano\":\"%s\",\"timeUnixNano\":\"%s\","
                         "\"count\":\"%s\",\"sum\":%s,\"bucketCounts\":[\"%s\",\"%s\"],"
                         "\"explicitBounds\":[1]}]}}");
    char buf[1024];
    snprintf(buf, sizeof buf, dh, "1000000", "2000000", "3", "4", "1", "2");
    check(buf,
          "d_bucket{job=\"api\", le=\"1\"} 1 @2\nd_bucket{job=\"api\", le=\"+Inf\"} 3 @2\n"
          "d_sum{job=\"api\"} 4 @2\nd_count{job=\"api\"} 3 @2\n",
          0);
    snprintf(buf, sizeof buf, dh, "2000000", "3000000", "2", "1.5", "2", "0");
    check(buf,
          "d_bucket{job=\"api\", le=\"1\"} 3 @3\nd_bucket{job=\"api\", le=\"+Inf\"} 5 @3\n"
          "d_sum{job=\"api\"} 5.5 @3\nd_count{job=\"api\"} 5 @3\n",
          0);
    /* non-monotonic delta sum (an up-down counter) accumulates into a gauge */
    check(RES(SVC, NOSCOPE,
              "{\"name\":\"inflight\",\"sum\":{\"aggregationTemporality\":1,\"dataPoints\":[{"
              "\"startTimeUnixNano\":\"1000000\",\"timeUnixNano\":\"2000000\",\"asInt\":\"4\"},"
              "{\"startTimeUnixNano\":\"2000000\",\"timeUnixNano\":\"3000000\",\"asInt\":\"-3\"}"
              "]}}"),
          "inflight{job=\"api\"} 4 @2\ninflight{job=\"api\"} 1 @3\n", 0);
}

static void test_format_float(void **state)
{
    (void)state;
    char b[400];
    struct {
        double v;
        const char *s;
    } cases[] = {{0, "0"},
                 {1, "1"},
                 {0.1, "0.1"},
                 {0.005, "0.005"},
                 {2.5e-5, "0.000025"},
                 {1e6, "1000000"},
                 {-3.25, "-3.25"},
                 {INFINITY, "+Inf"},
                 {-INFINITY, "-Inf"},
                 {NAN, "NaN"},
                 {123456.789, "123456.789"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ocl_o2p_format_float(cases[i].v, b, sizeof b);
        assert_string_equal(b, cases[i].s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gauge_resource_scope),
        cmocka_unit_test(test_names_and_units),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_label_collision_order),
        cmocka_unit_test(test_label_prefix_after_sanitising),
        cmocka_unit_test(test_histogram_summary),
        cmocka_unit_test(test_histogram_count_overflow),
        cmocka_unit_test(test_rejections_and_staleness),
        cmocka_unit_test(test_delta),
        cmocka_unit_test(test_format_float),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
