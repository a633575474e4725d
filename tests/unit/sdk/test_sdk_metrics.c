/*
 * test_sdk_metrics.c — metrics through the callback exporter, decoded
 * from the ExportMetricsServiceRequest bytes: one series per attribute
 * set (any order), counter / up-down counter / gauge / histogram (default
 * OTel boundaries, min/max/sum/count), observable callbacks, the
 * cardinality cap with its overflow series, cumulative vs delta
 * temporality, bound series, and the SDK's self-metrics.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "sdk_testlib.h"

static void init_metrics(void)
{
    capture_reset();
    ocelot_options_t o = {.service_name = "metrics-svc",
                          .traces_exporter = OCELOT_EXPORTER_NONE,
                          .logs_exporter = OCELOT_EXPORTER_NONE,
                          .metrics_exporter = OCELOT_EXPORTER_CALLBACK,
                          .export_cb = capture_cb};
    assert_int_equal(ocelot_init(&o), 0);
}

/* The Metric named name in the last captured metrics request. */
static view_t find_metric(const char *name)
{
    for (int i = g_cap.n - 1; i >= 0; i--) {
        if (g_cap.signal[i] != OCELOT_SIGNAL_METRICS) continue;
        view_t req = {g_cap.body[i], g_cap.len[i]};
        view_t rm = pb_sub(req, 1), sm[16], m[64];
        int ns = pb_fields(rm, 2, sm, NULL, 16);
        for (int a = 0; a < ns && a < 16; a++) {
            int nm = pb_fields(sm[a], 2, m, NULL, 64);
            for (int b = 0; b < nm && b < 64; b++)
                if (pb_str_eq(pb_sub(m[b], 1), name)) return m[b];
        }
        break;
    }
    return (view_t){NULL, 0};
}

static double as_double(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, 8);
    return d;
}

/* Data point of a Sum/Gauge whose attribute key has string value val. */
static view_t dp_with(view_t data, const char *key, const char *val)
{
    view_t dps[64];
    int n = pb_fields(data, 1, dps, NULL, 64);
    for (int i = 0; i < n && i < 64; i++) {
        view_t v = pb_attr(dps[i], 7, key);
        if (v.p && (!val || pb_str_eq(pb_sub(v, 1), val))) return dps[i];
    }
    return (view_t){NULL, 0};
}

static void instruments(void **st)
{
    (void)st;
    init_metrics();
    ocelot_meter_t *m = ocelot_meter_get("unit.meter", "2.0", NULL);
    assert_non_null(m);
    ocelot_instrument_t *c, *c2, *ud, *h, *g;
    ocelot_instrument_options_t co = {.unit = "{request}", .description = "requests"};
    assert_int_equal(ocelot_instrument_create(m, OCELOT_COUNTER, "http.requests", &co, &c), 0);
    assert_int_equal(ocelot_instrument_create(m, OCELOT_COUNTER, "http.requests", NULL, &c2), 0);
    assert_ptr_equal(c, c2);
    assert_int_equal(ocelot_instrument_create(m, OCELOT_COUNTER, "9bad", NULL, &c2), OCELOT_EINVAL);
    assert_int_equal(ocelot_instrument_create(m, OCELOT_UPDOWN_COUNTER, "queue.depth", NULL, &ud),
                     0);
    assert_int_equal(ocelot_instrument_create(m, OCELOT_HISTOGRAM, "latency", NULL, &h), 0);
    assert_int_equal(ocelot_instrument_create(m, OCELOT_GAUGE, "temp", NULL, &g), 0);

    ocelot_attr_t a1[3] = {OCELOT_STR("method", "GET"), OCELOT_INT("code", 200),
                           OCELOT_BOOL("tls", 1)};
    ocelot_attr_t a1r[3] = {OCELOT_BOOL("tls", 1), OCELOT_STR("method", "GET"),
                            OCELOT_INT("code", 200)};
    ocelot_attr_t a2[3] = {OCELOT_STR("method", "POST"), OCELOT_INT("code", 200),
                           OCELOT_BOOL("tls", 1)};
    ocelot_counter_add(c, 1, a1, 3);
    ocelot_counter_add(c, 2, a1r, 3); /* same set, other order */
    ocelot_counter_add(c, 5, a2, 3);
    ocelot_counter_add(c, -4, a2, 3); /* counters ignore negatives */
    ocelot_series_t *bound = ocelot_instrument_bind(c, a2, 3);
    assert_non_null(bound);
    ocelot_series_add(bound, 0.5);
    ocelot_counter_add(ud, 10, NULL, 0);
    ocelot_counter_add(ud, -3, NULL, 0);
    double vals[] = {0, 5, 7, 10000, 20000};
    for (int i = 0; i < 5; i++)
        ocelot_histogram_record(h, vals[i], a1, 1);
    ocelot_gauge_set(g, 20.5, NULL, 0);
    ocelot_gauge_set(g, 21.5, NULL, 0);
    assert_int_equal(ocelot_metrics_flush(5000), 0);

    view_t mc = find_metric("http.requests");
    assert_non_null(mc.p);
    assert_true(pb_str_eq(pb_sub(mc, 2), "requests"));
    assert_true(pb_str_eq(pb_sub(mc, 3), "{request}"));
    view_t sum = pb_sub(mc, 7);
    assert_int_equal(pb_fields(sum, 1, NULL, NULL, 0), 2);
    assert_int_equal(pb_num(sum, 2), 2); /* cumulative */
    assert_int_equal(pb_num(sum, 3), 1); /* monotonic */
    assert_true(as_double(pb_num(dp_with(sum, "method", "GET"), 4)) == 3.0);
    assert_true(as_double(pb_num(dp_with(sum, "method", "POST"), 4)) == 5.5);
    view_t dp = dp_with(sum, "method", "GET");
    assert_int_equal(pb_num(pb_attr(dp, 7, "code"), 3), 200);
    assert_true(pb_num(dp, 2) > 0 && pb_num(dp, 3) >= pb_num(dp, 2));

    view_t su = pb_sub(find_metric("queue.depth"), 7);
    assert_int_equal(pb_num(su, 3), 0); /* not monotonic */
    assert_true(as_double(pb_num(pb_sub(su, 1), 4)) == 7.0);

    view_t gg = pb_sub(find_metric("temp"), 5);
    assert_true(as_double(pb_num(pb_sub(gg, 1), 4)) == 21.5);

    view_t hh = pb_sub(find_metric("latency"), 9);
    assert_int_equal(pb_num(hh, 2), 2);
    view_t hdp = pb_sub(hh, 1);
    assert_int_equal(pb_num(hdp, 4), 5);
    assert_true(as_double(pb_num(hdp, 5)) == 30012.0);
    assert_true(as_double(pb_num(hdp, 11)) == 0.0);
    assert_true(as_double(pb_num(hdp, 12)) == 20000.0);
    view_t bc = pb_sub(hdp, 6), eb = pb_sub(hdp, 7);
    assert_int_equal(eb.n, 15 * 8); /* default boundaries */
    assert_int_equal(bc.n, 16 * 8);
    uint64_t counts[16];
    for (int i = 0; i < 16; i++) {
        counts[i] = 0;
        for (int k = 7; k >= 0; k--)
            counts[i] = counts[i] << 8 | bc.p[8 * i + k];
    }
    /* (-inf,0] (0,5] (5,10] ... (7500,10000] (10000,+inf) */
    assert_int_equal(counts[0], 1);
    assert_int_equal(counts[1], 1);
    assert_int_equal(counts[2], 1);
    assert_int_equal(counts[14], 1);
    assert_int_equal(counts[15], 1);
    uint64_t b0;
    memcpy(&b0, eb.p + 8 * 14, 8);
    assert_true(as_double(b0) == 10000.0);

    /* self-metrics */
    assert_non_null(find_metric("otel.sdk.span.dropped").p);
    assert_non_null(find_metric("otel.sdk.log.queue_size").p);
    /* resource and scope */
    view_t req = {g_cap.body[g_cap.n - 1], g_cap.len[g_cap.n - 1]};
    view_t res = pb_sub(pb_sub(req, 1), 1);
    assert_true(pb_str_eq(pb_sub(pb_attr(res, 1, "service.name"), 1), "metrics-svc"));
    assert_int_equal(ocelot_shutdown(2000), 0);
}

static void observe_cb(ocelot_observer_t *o, void *ud)
{
    int *calls = ud;
    (*calls)++;
    ocelot_attr_t a = OCELOT_STR("cpu", "0");
    ocelot_observe(o, 100.0 * *calls, &a, 1);
}

static void observable_and_cap(void **st)
{
    (void)st;
    init_metrics();
    ocelot_meter_t *m = ocelot_meter_get("unit.meter", NULL, NULL);
    int calls = 0;
    ocelot_instrument_t *ob, *c;
    ocelot_instrument_options_t oo = {.callback = observe_cb, .callback_ud = &calls};
    assert_int_equal(ocelot_instrument_create(m, OCELOT_OBSERVABLE_COUNTER, "cpu.time", NULL, &ob),
                     OCELOT_EINVAL); /* callback required */
    assert_int_equal(ocelot_instrument_create(m, OCELOT_OBSERVABLE_COUNTER, "cpu.time", &oo, &ob),
                     0);
    ocelot_instrument_options_t co = {.cardinality_limit = 3};
    assert_int_equal(ocelot_instrument_create(m, OCELOT_COUNTER, "capped", &co, &c), 0);
    ocelot_stats_t s0;
    ocelot_stats_get(&s0);
    for (int i = 0; i < 10; i++) {
        char v[8];
        snprintf(v, sizeof v, "u%d", i);
        ocelot_attr_t a = OCELOT_STR("user", v);
        ocelot_counter_add(c, 1, &a, 1);
    }
    assert_int_equal(ocelot_metrics_flush(5000), 0);
    assert_int_equal(ocelot_metrics_flush(5000), 0);
    assert_int_equal(calls, 2);
    view_t ov = pb_sub(find_metric("cpu.time"), 7);
    assert_true(as_double(pb_num(pb_sub(ov, 1), 4)) == 200.0); /* last observation */
    view_t cs = pb_sub(find_metric("capped"), 7);
    assert_int_equal(pb_fields(cs, 1, NULL, NULL, 0), 3); /* 2 series + overflow */
    view_t odp = dp_with(cs, "otel.metric.overflow", NULL);
    assert_non_null(odp.p);
    assert_int_equal(pb_num(pb_attr(odp, 7, "otel.metric.overflow"), 2), 1);
    assert_true(as_double(pb_num(odp, 4)) == 8.0);
    ocelot_stats_t s;
    ocelot_stats_get(&s);
    assert_int_equal(s.metric_overflows - s0.metric_overflows, 8);
    assert_int_equal(ocelot_shutdown(2000), 0);
}

static void delta(void **st)
{
    (void)st;
    setenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta", 1);
    init_metrics();
    unsetenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE");
    ocelot_meter_t *m = ocelot_meter_get("unit.meter", NULL, NULL);
    ocelot_instrument_t *c, *ud;
    assert_int_equal(ocelot_instrument_create(m, OCELOT_COUNTER, "d.count", NULL, &c), 0);
    assert_int_equal(ocelot_instrument_create(m, OCELOT_UPDOWN_COUNTER, "d.updown", NULL, &ud), 0);
    ocelot_counter_add(c, 4, NULL, 0);
    ocelot_counter_add(ud, 4, NULL, 0);
    assert_int_equal(ocelot_metrics_flush(5000), 0);
    view_t s1 = pb_sub(find_metric("d.count"), 7);
    assert_int_equal(pb_num(s1, 2), 1); /* DELTA */
    assert_true(as_double(pb_num(pb_sub(s1, 1), 4)) == 4.0);
    uint64_t end1 = pb_num(pb_sub(s1, 1), 3);
    ocelot_counter_add(c, 1, NULL, 0);
    ocelot_counter_add(ud, 1, NULL, 0);
    assert_int_equal(ocelot_metrics_flush(5000), 0);
    view_t s2 = pb_sub(find_metric("d.count"), 7);
    assert_true(as_double(pb_num(pb_sub(s2, 1), 4)) == 1.0);
    assert_int_equal(pb_num(pb_sub(s2, 1), 2), end1); /* window starts where the last ended */
    view_t u2 = pb_sub(find_metric("d.updown"), 7);
    assert_int_equal(pb_num(u2, 2), 2); /* up-down counters stay cumulative */
    assert_true(as_double(pb_num(pb_sub(u2, 1), 4)) == 5.0);
    assert_int_equal(ocelot_metrics_flush(5000), 0);
    view_t s3 = pb_sub(find_metric("d.count"), 7);
    assert_int_equal(pb_fields(s3, 1, NULL, NULL, 0), 0); /* nothing new: no point */
    assert_int_equal(ocelot_shutdown(2000), 0);
}

static void handles_survive_reinit(void **st)
{
    (void)st;
    init_metrics();
    ocelot_meter_t *m = ocelot_meter_get("reinit.meter", NULL, NULL);
    ocelot_instrument_t *c, *c2;
    assert_int_equal(ocelot_instrument_create(m, OCELOT_COUNTER, "re.count", NULL, &c), 0);
    ocelot_counter_add(c, 5, NULL, 0);
    assert_int_equal(ocelot_shutdown(2000), 0);
    ocelot_counter_add(c, 1, NULL, 0); /* after shutdown: a harmless no-op */
    init_metrics();
    ocelot_counter_add(c, 1, NULL, 0); /* not created in this run yet: no-op */
    m = ocelot_meter_get("reinit.meter", NULL, NULL);
    assert_int_equal(ocelot_instrument_create(m, OCELOT_COUNTER, "re.count", NULL, &c2), 0);
    assert_ptr_equal(c, c2);
    ocelot_counter_add(c, 2, NULL, 0);
    assert_int_equal(ocelot_metrics_flush(5000), 0);
    view_t sum = pb_sub(find_metric("re.count"), 7);
    assert_int_equal(pb_fields(sum, 1, NULL, NULL, 0), 1);
    assert_true(as_double(pb_num(pb_sub(sum, 1), 4)) == 2.0); /* fresh series */
    assert_int_equal(ocelot_shutdown(2000), 0);
}

/* The per-thread memo: literal attributes hit by pointer; a mutable buffer
 * reused at the same address with other bytes, another explicit length or
 * another scalar is another series. Bucket choice with 3 and 40 bounds
 * (branchless count and binary search) on and between the bounds. */
static void memo_and_buckets(void **st)
{
    (void)st;
    init_metrics();
    ocelot_meter_t *m = ocelot_meter_get("memo.meter", NULL, NULL);
    ocelot_instrument_t *c, *h3, *h40;
    assert_int_equal(ocelot_instrument_create(m, OCELOT_COUNTER, "memo.count", NULL, &c), 0);
    char buf[8];
    for (int i = 0; i < 6; i++) {
        ocelot_attr_t lit[2] = {OCELOT_STR("route", "/a"), OCELOT_INT("code", 200)};
        ocelot_counter_add(c, 1, lit, 2); /* 6 x the same literal set */
        snprintf(buf, sizeof buf, "b%d", i % 2); /* same pointer, 2 contents */
        ocelot_attr_t mut[1] = {OCELOT_STR("route", buf)};
        ocelot_counter_add(c, 10, mut, 1);
    }
    ocelot_attr_t n1[1] = {OCELOT_STRN("route", "/abc", 2)}; /* "/a" by length */
    ocelot_attr_t n2[1] = {OCELOT_STRN("route", "/abc", 3)}; /* "/ab" */
    ocelot_counter_add(c, 100, n1, 1);
    ocelot_counter_add(c, 100, n2, 1);
    ocelot_counter_add(c, 100, n1, 1);
    ocelot_attr_t i1[2] = {OCELOT_STR("route", "/a"), OCELOT_INT("code", 500)};
    ocelot_counter_add(c, 1000, i1, 2); /* same pointers, other int */

    double b3[] = {1, 2, 3};
    double b40[40];
    for (int i = 0; i < 40; i++)
        b40[i] = i * 10;
    ocelot_instrument_options_t o3 = {.boundaries = b3, .n_boundaries = 3};
    ocelot_instrument_options_t o40 = {.boundaries = b40, .n_boundaries = 40};
    assert_int_equal(ocelot_instrument_create(m, OCELOT_HISTOGRAM, "memo.h3", &o3, &h3), 0);
    assert_int_equal(ocelot_instrument_create(m, OCELOT_HISTOGRAM, "memo.h40", &o40, &h40), 0);
    double v3[] = {-5, 1, 1.5, 2, 3, 3.01, INFINITY};
    for (int i = 0; i < 7; i++)
        ocelot_histogram_record(h3, v3[i], NULL, 0);
    double v40[] = {-1, 0, 0.5, 10, 11, 385, 390, 391, 1e9};
    for (int i = 0; i < 9; i++)
        ocelot_histogram_record(h40, v40[i], NULL, 0);
    assert_int_equal(ocelot_metrics_flush(5000), 0);

    view_t sum = pb_sub(find_metric("memo.count"), 7);
    assert_int_equal(pb_fields(sum, 1, NULL, NULL, 0), 6);
    view_t dps[8];
    int n = pb_fields(sum, 1, dps, NULL, 8);
    double seen[6];
    for (int i = 0; i < n && i < 6; i++)
        seen[i] = as_double(pb_num(dps[i], 4));
    /* {/a,200} 6, {b0} 30, {b1} 30, {"/a" by length} 200, {"/ab"} 100,
     * {/a,500} 1000: compared as a multiset (series order is not defined) */
    double want[] = {6, 30, 30, 200, 100, 1000};
    for (int w = 0; w < 6; w++) {
        int found = 0;
        for (int i = 0; i < 6; i++)
            if (seen[i] == want[w]) {
                seen[i] = -1;
                found = 1;
                break;
            }
        assert_true(found);
    }
    assert_true(as_double(pb_num(dp_with(sum, "route", "b0"), 4)) == 30.0);
    assert_true(as_double(pb_num(dp_with(sum, "route", "/ab"), 4)) == 100.0);

    uint64_t cnt[64];
    view_t hd = pb_sub(pb_sub(find_metric("memo.h3"), 9), 1);
    view_t packed = pb_sub(hd, 6);
    assert_int_equal(packed.n, 4 * 8);
    for (int i = 0; i < 4; i++) {
        cnt[i] = 0;
        for (int k = 7; k >= 0; k--)
            cnt[i] = cnt[i] << 8 | packed.p[i * 8 + k];
    }
    /* (-inf,1] {-5,1}; (1,2] {1.5,2}; (2,3] {3}; (3,+inf) {3.01,inf} */
    assert_int_equal(cnt[0], 2);
    assert_int_equal(cnt[1], 2);
    assert_int_equal(cnt[2], 1);
    assert_int_equal(cnt[3], 2);
    hd = pb_sub(pb_sub(find_metric("memo.h40"), 9), 1);
    packed = pb_sub(hd, 6);
    assert_int_equal(packed.n, 41 * 8);
    for (int i = 0; i < 41; i++) {
        cnt[i] = 0;
        for (int k = 7; k >= 0; k--)
            cnt[i] = cnt[i] << 8 | packed.p[i * 8 + k];
    }
    assert_int_equal(cnt[0], 2);  /* -1, 0 */
    assert_int_equal(cnt[1], 2);  /* 0.5, 10 */
    assert_int_equal(cnt[2], 1);  /* 11 */
    assert_int_equal(cnt[39], 2); /* 385, 390 */
    assert_int_equal(cnt[40], 2); /* 391, 1e9 */
}

/* An attribute set that repeats a key (the last value wins, as for spans)
 * is the same series as its deduplicated form, and a set with an invalid
 * attribute is ignored. Both used to create a new series per call (the
 * stored copy never compared equal to the input), so an instrument's
 * cardinality was used up by one call site and every later attribute set
 * went to the overflow series. */
static void dup_keys_one_series(void **st)
{
    (void)st;
    init_metrics();
    ocelot_meter_t *m = ocelot_meter_get("unit.meter", NULL, NULL);
    ocelot_instrument_t *c;
    ocelot_instrument_options_t co = {.cardinality_limit = 8};
    assert_int_equal(ocelot_instrument_create(m, OCELOT_COUNTER, "dupkeys", &co, &c), 0);
    ocelot_stats_t s0;
    ocelot_stats_get(&s0);
    char route[16] = "/a"; /* not a literal: the memo compares in full */
    for (int i = 0; i < 20; i++) {
        ocelot_attr_t dup[3] = {OCELOT_STR("route", "/x"), OCELOT_INT("code", 200),
                                OCELOT_STR("route", route)};
        ocelot_counter_add(c, 1, dup, 3);
        ocelot_attr_t bad[2] = {OCELOT_STR("route", "/a"), OCELOT_INT("code", 200)};
        bad[1].type = (ocelot_attr_type_t)99; /* invalid type */
        ocelot_counter_add(c, 100, bad, 2);
    }
    ocelot_attr_t canon[2] = {OCELOT_INT("code", 200), OCELOT_STR("route", "/a")};
    ocelot_counter_add(c, 1, canon, 2);
    for (int i = 0; i < 6; i++) { /* distinct sets still fit under the limit */
        char v[8];
        snprintf(v, sizeof v, "u%d", i);
        ocelot_attr_t a = OCELOT_STR("user", v);
        ocelot_counter_add(c, 1, &a, 1);
    }
    assert_int_equal(ocelot_metrics_flush(5000), 0);
    ocelot_stats_t s;
    ocelot_stats_get(&s);
    assert_int_equal(s.metric_overflows - s0.metric_overflows, 0);
    view_t cs = pb_sub(find_metric("dupkeys"), 7);
    assert_int_equal(pb_fields(cs, 1, NULL, NULL, 0), 7); /* /a + u0..u5 */
    view_t dp = dp_with(cs, "route", "/a");
    assert_non_null(dp.p);
    assert_true(as_double(pb_num(dp, 4)) == 21.0);
    view_t kv[8];
    assert_int_equal(pb_fields(dp, 7, kv, NULL, 8), 2); /* route once, code */
    assert_int_equal(ocelot_shutdown(2000), 0);
}

static int teardown(void **st)
{
    (void)st;
    ocelot_shutdown(500);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(instruments, teardown),
        cmocka_unit_test_teardown(observable_and_cap, teardown),
        cmocka_unit_test_teardown(delta, teardown),
        cmocka_unit_test_teardown(handles_survive_reinit, teardown),
        cmocka_unit_test_teardown(memo_and_buckets, teardown),
        cmocka_unit_test_teardown(dup_keys_one_series, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
