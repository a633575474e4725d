/*
 * test_promql_eval.c — the PromQL evaluator's limits and result shapes
 * that the conformance corpus does not cover: the sample limit (class and
 * message, subquery grids bounded), cancellation, the timeout, range-query matrices sorted by
 * labels with merged series after name dropping, an instant query over a
 * range selector, the bad-step error, and range queries of counter
 * functions equal to instant queries at every step (the sliding window's
 * reset cursor).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "query/promql/promql.h"
#include "store/metrics/tsdb.h"

/* 3 series a_total{i="0..2"} with a sample every 10 s for 1 h (361 each). */
static ocl_tsdb_t *make_db(void)
{
    ocl_tsdb_opts_t o = {0};
    ocl_tsdb_t *db = NULL;
    assert_int_equal(ocl_tsdb_open(&o, &db), 0);
    static const char *const iv[] = {"0", "1", "2"};
    for (int s = 0; s < 3; s++) {
        ocl_label_t l[2] = {{OCL_STR("__name__"), OCL_STR("a_total")},
                            {OCL_STR("i"), ocl_str_c(iv[s])}};
        ocl_sample_t smp[361];
        for (int k = 0; k < 361; k++)
            smp[k] = (ocl_sample_t){(int64_t)k * 10000, (double)(k * (s + 1))};
        ocl_prom_series_t ps = {{l, 2}, smp, 361};
        ocl_prom_batch_t b = {&ps, 1, NULL, 0};
        assert_int_equal(ocl_tsdb_append(db, &b, NULL), 0);
    }
    return db;
}

static ocl_pql_expr_t *parse(const char *q)
{
    ocl_pql_expr_t *e = NULL;
    char err[256];
    int rc = ocl_pql_parse(q, strlen(q), &e, err, sizeof err);
    if (rc) fprintf(stderr, "parse %s: %s\n", q, err);
    assert_int_equal(rc, 0);
    return e;
}

static void test_max_samples(void **state)
{
    (void)state;
    ocl_tsdb_t *db = make_db();
    ocl_pql_expr_t *e = parse("sum(rate(a_total[5m]))");
    ocl_pql_opts_t o = {0};
    ocl_pql_result_t *r = NULL;
    ocl_pql_error_t err;
    /* 30 samples per series in a 5 m window: 90 held at once for an instant query */
    o.max_samples = 89;
    assert_int_not_equal(ocl_pql_eval_instant(db, e, 3600000, &o, &r, &err), 0);
    assert_null(r);
    assert_int_equal(err.cls, OCL_PQL_ERR_TOO_MANY_SAMPLES);
    assert_string_equal(err.msg, "query processing would load too many samples into memory in "
                                 "query execution");
    o.max_samples = 200;
    assert_int_equal(ocl_pql_eval_instant(db, e, 3600000, &o, &r, &err), 0);
    assert_int_equal(r->type, OCL_PQL_VECTOR);
    assert_int_equal(r->n_series, 1);
    /* rates 0.1, 0.2, 0.3 per second */
    assert_true(r->series[0].points[0].v > 0.599 && r->series[0].points[0].v < 0.601);
    ocl_pql_result_free(r);
    ocl_pql_expr_free(e);
    /* a subquery grid of 3e12 steps is refused before anything is allocated */
    e = parse("count_over_time(a_total[100y:1ms])");
    assert_int_not_equal(ocl_pql_eval_instant(db, e, 3600000, NULL, &r, &err), 0);
    assert_int_equal(err.cls, OCL_PQL_ERR_TOO_MANY_SAMPLES);
    ocl_pql_expr_free(e);
    /* a range query holding 3 series x 1,000 points exceeds a limit of 2,000 */
    e = parse("a_total * 1");
    o.max_samples = 2000;
    assert_int_not_equal(ocl_pql_eval_range(db, e, 0, 999000, 1000, &o, &r, &err), 0);
    assert_int_equal(err.cls, OCL_PQL_ERR_TOO_MANY_SAMPLES);
    ocl_pql_expr_free(e);
    ocl_tsdb_close(db);
}

static void test_cancel_and_timeout(void **state)
{
    (void)state;
    ocl_tsdb_t *db = make_db();
    ocl_pql_expr_t *e = parse("count_over_time(a_total[1m:1s])");
    ocl_pql_result_t *r = NULL;
    ocl_pql_error_t err;
    volatile int cancel = 1;
    ocl_pql_opts_t o = {0};
    o.cancel = &cancel;
    assert_int_not_equal(ocl_pql_eval_range(db, e, 0, 3600000, 1000, &o, &r, &err), 0);
    assert_int_equal(err.cls, OCL_PQL_ERR_CANCELED);
    o.cancel = NULL;
    o.timeout_ms = 1; /* the work below takes well over 1 ms */
    ocl_pql_expr_t *e2 = parse("quantile_over_time(0.5, (a_total * 2)[10m:1s])");
    int rc = ocl_pql_eval_range(db, e2, 0, 3600000, 1000, &o, &r, &err);
    assert_int_not_equal(rc, 0);
    assert_int_equal(err.cls, OCL_PQL_ERR_TIMEOUT);
    assert_string_equal(err.msg, "query timed out in expression evaluation");
    ocl_pql_expr_free(e);
    ocl_pql_expr_free(e2);
    ocl_tsdb_close(db);
}

static void test_range_matrix_shape(void **state)
{
    (void)state;
    ocl_tsdb_t *db = make_db();
    ocl_pql_result_t *r = NULL;
    ocl_pql_error_t err;
    /* name dropped by the arithmetic: 3 series, sorted by labels */
    ocl_pql_expr_t *e = parse("a_total{i=~\"2|0|1\"} * 1");
    assert_int_equal(ocl_pql_eval_range(db, e, 0, 60000, 30000, NULL, &r, &err), 0);
    assert_int_equal(r->type, OCL_PQL_MATRIX);
    assert_int_equal(r->n_series, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(r->series[i].labels.n, 1);
        assert_int_equal(r->series[i].labels.v[0].value.p[0], (char)('0' + i));
        assert_int_equal(r->series[i].n_points, 3);
        assert_int_equal(r->series[i].points[2].t, 60000);
        assert_true(r->series[i].points[2].v == 6.0 * (double)(i + 1));
    }
    ocl_pql_result_free(r);
    ocl_pql_expr_free(e);
    /* same labels after dropping the name at different steps merge; at the
     * same step they are an error */
    e = parse("label_replace(a_total{i=\"0\"}, \"i\", \"x\", \"i\", \".*\") * 1 or "
              "label_replace(a_total{i=\"1\"} offset 1h, \"i\", \"x\", \"i\", \".*\") * 1");
    assert_int_equal(ocl_pql_eval_range(db, e, 3600000, 3600000 + 600000, 60000, NULL, &r, &err),
                     0);
    assert_int_equal(r->n_series, 1);
    ocl_pql_result_free(r);
    ocl_pql_expr_free(e);
    e = parse("label_replace(a_total, \"i\", \"x\", \"i\", \".*\") * 1");
    assert_int_not_equal(ocl_pql_eval_range(db, e, 0, 60000, 30000, NULL, &r, &err), 0);
    assert_int_equal(err.cls, OCL_PQL_ERR_EXECUTION);
    assert_string_equal(err.msg, "vector cannot contain metrics with the same labelset");
    ocl_pql_expr_free(e);
    ocl_tsdb_close(db);
}

/* A counter with resets at irregular places (incl. back-to-back ones and a
 * reset to a higher value after a drop): rate/increase/resets/irate of a
 * range query match instant queries at each step bit for bit, so the
 * evaluator's incremental reset tracking changes nothing, and never
 * negative (every reset is corrected, also one at a window's edge). */
static void test_range_counter_resets(void **state)
{
    (void)state;
    ocl_tsdb_opts_t o = {0};
    ocl_tsdb_t *db = NULL;
    assert_int_equal(ocl_tsdb_open(&o, &db), 0);
    ocl_label_t l[1] = {{OCL_STR("__name__"), OCL_STR("c_total")}};
    ocl_sample_t smp[400];
    double v = 5;
    for (int k = 0; k < 400; k++) {
        if (k == 50 || k == 51 || k == 200 || k == 333 || (k > 370 && k % 7 == 0))
            v = (double)(k % 5); /* reset */
        else
            v += 0.1 * (double)(k % 13) + 1;
        smp[k] = (ocl_sample_t){(int64_t)k * 15000 + (k % 9 == 0 ? 700 : 0), v};
    }
    ocl_prom_series_t ps = {{l, 1}, smp, 400};
    ocl_prom_batch_t b = {&ps, 1, NULL, 0};
    assert_int_equal(ocl_tsdb_append(db, &b, NULL), 0);
    static const char *const qs[] = {"rate(c_total[2m])", "increase(c_total[5m])",
                                     "resets(c_total[3m])", "irate(c_total[1m])",
                                     "rate(c_total[45s] offset 30s)"};
    for (size_t q = 0; q < sizeof qs / sizeof qs[0]; q++) {
        ocl_pql_expr_t *e = parse(qs[q]);
        ocl_pql_result_t *r = NULL, *ri = NULL;
        ocl_pql_error_t err;
        assert_int_equal(ocl_pql_eval_range(db, e, 0, 400 * 15000, 20000, NULL, &r, &err), 0);
        assert_int_equal(r->n_series, 1);
        uint32_t checked = 0;
        for (int64_t t = 0; t <= 400 * 15000; t += 20000) {
            assert_int_equal(ocl_pql_eval_instant(db, e, t, NULL, &ri, &err), 0);
            const ocl_pql_point_t *p = NULL;
            for (uint32_t i = 0; i < r->series[0].n_points; i++)
                if (r->series[0].points[i].t == t) p = &r->series[0].points[i];
            assert_true((ri->n_series == 1) == (p != NULL));
            if (p) {
                assert_memory_equal(&p->v, &ri->series[0].points[0].v, sizeof p->v);
                assert_true(p->v >= 0); /* a reset missed anywhere in a window goes negative */
                checked++;
            }
            ocl_pql_result_free(ri);
        }
        assert_true(checked > 250);
        ocl_pql_result_free(r);
        ocl_pql_expr_free(e);
    }
    ocl_tsdb_close(db);
}

static void test_instant_range_selector(void **state)
{
    (void)state;
    ocl_tsdb_t *db = make_db();
    ocl_pql_result_t *r = NULL;
    ocl_pql_error_t err;
    ocl_pql_expr_t *e = parse("a_total{i=\"1\"}[1m]");
    assert_int_equal(ocl_pql_eval_instant(db, e, 60000, NULL, &r, &err), 0);
    assert_int_equal(r->type, OCL_PQL_MATRIX);
    assert_int_equal(r->n_series, 1);
    /* left-open window: (0, 60 s] holds 6 samples, not 7 */
    assert_int_equal(r->series[0].n_points, 6);
    assert_int_equal(r->series[0].points[0].t, 10000);
    ocl_pql_result_free(r);
    assert_int_not_equal(ocl_pql_eval_range(db, e, 0, 60000, 0, NULL, &r, &err), 0);
    assert_int_equal(err.cls, OCL_PQL_ERR_BAD_DATA);
    assert_int_not_equal(ocl_pql_eval_range(db, e, 0, 60000, 1000, NULL, &r, &err), 0);
    assert_int_equal(err.cls, OCL_PQL_ERR_BAD_DATA);
    ocl_pql_expr_free(e);
    ocl_tsdb_close(db);
}

/* A regex matcher over the bound of backtracking on some label value is an
 * execution error (HTTP 422), not "no match" (which made !~ select it). */
static void test_regex_limit_is_execution_error(void **state)
{
    (void)state;
    ocl_tsdb_t *db = make_db();
    ocl_label_t l[2] = {{OCL_STR("__name__"), OCL_STR("a_total")},
                        {OCL_STR("i"), OCL_STR("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")}};
    ocl_sample_t smp = {0, 1};
    ocl_prom_series_t ps = {{l, 2}, &smp, 1};
    ocl_prom_batch_t b = {&ps, 1, NULL, 0};
    assert_int_equal(ocl_tsdb_append(db, &b, NULL), 0);
    const char *qs[] = {"a_total{i!~\"(a|aa)+(b|c)\"}", "count(a_total{i=~\"(a|aa)+(b|c)\"})"};
    for (size_t k = 0; k < 2; k++) {
        ocl_pql_expr_t *e = parse(qs[k]);
        ocl_pql_result_t *r = NULL;
        ocl_pql_error_t err;
        assert_int_not_equal(ocl_pql_eval_instant(db, e, 60000, NULL, &r, &err), 0);
        assert_null(r);
        assert_int_equal(err.cls, OCL_PQL_ERR_EXECUTION);
        assert_string_equal(err.msg, OCL_REGEX_LIMIT_MSG);
        ocl_pql_expr_free(e);
    }
    ocl_tsdb_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_max_samples),
        cmocka_unit_test(test_cancel_and_timeout),
        cmocka_unit_test(test_range_matrix_shape),
        cmocka_unit_test(test_instant_range_selector),
        cmocka_unit_test(test_range_counter_resets),
        cmocka_unit_test(test_regex_limit_is_execution_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
