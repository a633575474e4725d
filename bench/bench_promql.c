/*
 * bench_promql.c — PromQL evaluation speed on a dashboard-like workload:
 * 2,000 counter series (20 jobs × 100 instances) scraped every 15 s for
 * 6 h (1,441 samples each, 2.9 M samples) plus a 12-bucket classic
 * histogram per job; range queries over the 6 h at a 60 s step (361
 * steps) and instant queries at the end. Prints per query the thread CPU
 * time (the bench machine is shared) and samples read from storage. Not a
 * test: `cmake --build build/release --target bench_promql &&
 * build/release/bench_promql [query-number]` (1-based; all by default —
 * one query is handy under callgrind).
 */
#include "query/promql/promql.h"
#include "store/metrics/tsdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JOBS 20
#define INST 100
#define NPTS 1441
#define STEP 15000

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void add(ocl_tsdb_t *db, ocl_label_t *l, uint32_t nl, ocl_sample_t *smp, double slope)
{
    for (int k = 0; k < NPTS; k++)
        smp[k] = (ocl_sample_t){(int64_t)k * STEP, (double)k * slope};
    ocl_labels_sort(l, nl);
    ocl_prom_series_t ps = {{l, nl}, smp, NPTS};
    ocl_prom_batch_t b = {&ps, 1, NULL, 0};
    ocl_tsdb_append(db, &b, NULL);
}

int main(int argc, char **argv)
{
    size_t only = argc > 1 ? (size_t)atoi(argv[1]) : 0;
    ocl_tsdb_opts_t o = {0};
    ocl_tsdb_t *db = NULL;
    if (ocl_tsdb_open(&o, &db)) return 1;
    ocl_sample_t *smp = malloc(NPTS * sizeof(ocl_sample_t));
    char jb[32], ib[32], lb[32];
    for (int j = 0; j < JOBS; j++) {
        snprintf(jb, sizeof jb, "job%d", j);
        for (int i = 0; i < INST; i++) {
            snprintf(ib, sizeof ib, "inst%d", i);
            ocl_label_t l[3] = {{OCL_STR("__name__"), OCL_STR("http_requests_total")},
                                {OCL_STR("job"), ocl_str_c(jb)},
                                {OCL_STR("instance"), ocl_str_c(ib)}};
            add(db, l, 3, smp, 1 + i % 7);
        }
        static const char *const les[] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                                          "0.5",   "1",    "2.5",   "5",    "10",  "+Inf"};
        for (int b = 0; b < 12; b++) {
            snprintf(lb, sizeof lb, "%s", les[b]);
            ocl_label_t l[3] = {{OCL_STR("__name__"), OCL_STR("latency_seconds_bucket")},
                                {OCL_STR("job"), ocl_str_c(jb)},
                                {OCL_STR("le"), ocl_str_c(lb)}};
            add(db, l, 3, smp, 1 + b);
        }
    }
    free(smp);
    static const char *const queries[] = {
        "sum(rate(http_requests_total[5m]))",
        "sum by (job) (rate(http_requests_total[5m]))",
        "topk(5, sum by (instance) (rate(http_requests_total[5m])))",
        "histogram_quantile(0.99, sum by (job, le) (rate(latency_seconds_bucket[5m])))",
        "rate(http_requests_total[5m]) / on(job) group_left sum by (job) "
        "(rate(http_requests_total[5m]))",
        "max_over_time(rate(http_requests_total{job=\"job1\"}[5m])[30m:1m])",
        "max_over_time(rate(http_requests_total[1m])[10m:1m])",
        "avg by (job) (avg_over_time(http_requests_total[10m]))",
    };
    int64_t end = (int64_t)(NPTS - 1) * STEP;
    for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
        if (only && q + 1 != only) continue;
        ocl_pql_expr_t *e = NULL;
        char err[256];
        if (ocl_pql_parse(queries[q], strlen(queries[q]), &e, err, sizeof err)) {
            printf("parse error: %s\n", err);
            continue;
        }
        ocl_pql_result_t *r = NULL;
        ocl_pql_error_t perr;
        double t0 = now();
        int rc = ocl_pql_eval_range(db, e, 0, end, 60000, NULL, &r, &perr);
        double t1 = now();
        printf("range   %7.1f ms  %9llu samples  %4zu series  %s%s%s\n", (t1 - t0) * 1e3,
               rc ? 0ULL : (unsigned long long)r->samples_loaded, rc ? 0 : r->n_series, queries[q],
               rc ? "  ERROR " : "", rc ? perr.msg : "");
        ocl_pql_result_free(r);
        t0 = now();
        rc = ocl_pql_eval_instant(db, e, end, NULL, &r, &perr);
        t1 = now();
        printf("instant %7.1f ms  %9llu samples  %4zu series\n", (t1 - t0) * 1e3,
               rc ? 0ULL : (unsigned long long)r->samples_loaded, rc ? 0 : r->n_series);
        ocl_pql_result_free(r);
        ocl_pql_expr_free(e);
    }
    ocl_tsdb_close(db);
    return 0;
}
