/*
 * fuzz_promql_eval.c — libFuzzer target for the PromQL evaluator (eval.c,
 * binop.c, aggregate.c, functions.c, rangefuncs.c, histogram.c).
 *
 * The input is a query. Queries that parse are evaluated against a small
 * fixed in-memory TSDB (counters with a reset, NaN and ±Inf values, a
 * staleness marker, a classic histogram) as an instant query and as a
 * range query, with a low sample limit and timeout. Invariants: no crash
 * or leak; an error has a class and a terminated message (it may quote
 * query text, newlines included, as Prometheus's do); a
 * vector has one point per series at the evaluation time; a matrix is
 * sorted by labels without duplicates and its points ascend within the
 * range, on the step grid for range queries.
 * Seeds: tests/fuzz/corpus/promql_eval/, dictionary tests/fuzz/promql_eval.dict.
 */
#include "query/promql/promql.h"
#include "store/metrics/tsdb.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ocl_tsdb_t *db;

static void check(int ok, const char *what, const char *q)
{
    if (!ok) {
        fprintf(stderr, "fuzz_promql_eval: %s (query: %s)\n", what, q);
        abort();
    }
}

static void add(const char *name, const char *ln, const char *lv, const double *v, int n)
{
    ocl_label_t l[2] = {{OCL_STR("__name__"), ocl_str_c(name)}, {ocl_str_c(ln), ocl_str_c(lv)}};
    ocl_labels_sort(l, 2);
    ocl_sample_t s[16];
    for (int i = 0; i < n; i++)
        s[i] = (ocl_sample_t){(int64_t)i * 60000, v[i]};
    ocl_prom_series_t ps = {{l, 2}, s, (uint32_t)n};
    ocl_prom_batch_t b = {&ps, 1, NULL, 0};
    ocl_tsdb_append(db, &b, NULL);
}

static void setup(void)
{
    ocl_tsdb_opts_t o = {0};
    if (ocl_tsdb_open(&o, &db)) abort();
    const double c1[] = {0, 10, 20, 5, 15, 25, 35, 45, 55, 65, 75};
    const double c2[] = {1, NAN, 3, INFINITY, -INFINITY, 6, 7, 8, 9, 10, 11};
    double g[] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5};
    g[6] = ocl_stale_nan();
    add("m_total", "a", "1", c1, 11);
    add("m_total", "a", "2", c2, 11);
    add("g", "b", "x", g, 11);
    add("g", "b", "y", c1, 5);
    static const char *const les[] = {"0.1", "1", "10", "+Inf", "bad"};
    for (int k = 0; k < 5; k++) {
        double h[11];
        for (int i = 0; i < 11; i++)
            h[i] = (double)(i * (k + 1));
        add("h_bucket", "le", les[k], h, 11);
    }
}

static void check_result(const ocl_pql_result_t *r, bool range, int64_t t0, int64_t t1,
                         int64_t step, const char *q)
{
    if (r->type == OCL_PQL_VECTOR) {
        check(!range, "vector from a range query", q);
        for (size_t i = 0; i < r->n_series; i++)
            check(r->series[i].n_points == 1 && r->series[i].points[0].t == t0,
                  "vector point count or time", q);
    }
    if (r->type != OCL_PQL_MATRIX) return;
    for (size_t i = 0; i < r->n_series; i++) {
        const ocl_pql_series_t *s = &r->series[i];
        if (i) check(ocl_labels_cmp(&r->series[i - 1].labels, &s->labels) < 0, "matrix order", q);
        check(s->n_points > 0, "empty series", q);
        for (uint32_t k = 0; k < s->n_points; k++) {
            if (k) check(s->points[k - 1].t < s->points[k].t, "points not ascending", q);
            if (range) {
                check(s->points[k].t >= t0 && s->points[k].t <= t1, "point outside range", q);
                check((s->points[k].t - t0) % step == 0, "point off the grid", q);
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 512) return 0;
    if (!db) setup();
    char q[520];
    memcpy(q, data, size);
    q[size] = 0;
    char perr[512];
    ocl_pql_expr_t *e = NULL;
    if (ocl_pql_parse(q, size, &e, perr, sizeof perr) != 0) return 0;
    ocl_pql_opts_t o = {0};
    o.max_samples = 100000;
    o.timeout_ms = 500;
    o.experimental_funcs = true;
    for (int mode = 0; mode < 2; mode++) {
        ocl_pql_result_t *r = NULL;
        ocl_pql_error_t err;
        memset(err.msg, 'x', sizeof err.msg);
        int64_t t0 = mode ? 0 : 330000, t1 = mode ? 600000 : 330000, step = 45000;
        int rc = mode ? ocl_pql_eval_range(db, e, t0, t1, step, &o, &r, &err)
                      : ocl_pql_eval_instant(db, e, t0, &o, &r, &err);
        if (rc) {
            check(r == NULL, "result on error", q);
            check(err.cls != OCL_PQL_OK, "error without class", q);
            check(memchr(err.msg, 0, sizeof err.msg) != NULL, "message not terminated", q);
            continue;
        }
        check_result(r, mode == 1, t0, t1, step, q);
        ocl_pql_result_free(r);
    }
    ocl_pql_expr_free(e);
    return 0;
}
