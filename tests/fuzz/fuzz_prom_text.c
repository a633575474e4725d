/*
 * fuzz_prom_text.c — libFuzzer target for the Prometheus text exposition
 * parser (src/wire/prom_text.c) and the scrape-to-batch logic that consumes
 * it (src/receiver/prom_scrape.c).
 *
 * Inputs of odd length are read as OpenMetrics 1.0, even ones as text 0.0.4.
 * Any input must either fail with a one-line message "line N: ..." or give
 * a batch that keeps wire/prom.h's invariants: labels sorted, unique names,
 * no empty values, a non-empty __name__, valid UTF-8. The input is then
 * scraped twice through one target (whole, then its first half) and the
 * second batch must carry only well-formed series as well.
 * Seeds: tests/fuzz/corpus/prom_text/; dictionary prom_text.dict.
 */
#include "receiver/prom_scrape.h"

#include <stdio.h>
#include <stdlib.h>

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_prom_text: %s\n", what);
        abort();
    }
}

static void check_batch(const ocl_prom_batch_t *b)
{
    for (size_t i = 0; i < b->n_series; i++) {
        const ocl_labels_t *ls = &b->series[i].labels;
        check(b->series[i].n_samples == 1, "one sample per series");
        check(ocl_labels_get(ls, OCL_STR(OCL_METRIC_NAME)).n > 0, "no __name__");
        for (uint32_t k = 0; k < ls->n; k++) {
            check(ls->v[k].name.n > 0 && ls->v[k].value.n > 0, "empty name or value");
            check(ocl_utf8_valid(ls->v[k].name.p, ls->v[k].name.n), "name not UTF-8");
            check(ocl_utf8_valid(ls->v[k].value.p, ls->v[k].value.n), "value not UTF-8");
            if (k) {
                ocl_labels_t a = {&ls->v[k - 1], 1}, c = {&ls->v[k], 1};
                check(!ocl_str_eq(ls->v[k - 1].name, ls->v[k].name), "duplicate name");
                check(ocl_labels_cmp(&a, &c) < 0, "labels not sorted");
            }
        }
    }
    for (size_t i = 0; i < b->n_meta; i++)
        check(b->meta[i].family.n > 0, "empty family");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_prom_batch_t b;
    char err[256];
    memset(err, 'x', sizeof err);
    /* The input's length picks the format: odd sizes are OpenMetrics. */
    bool om = size & 1;
    ocl_prom_text_opts_t o = {
        .default_ts = 1, .max_line = 4096, .sample_limit = 10000, .openmetrics = om};
    int rc = ocl_prom_text_parse((const char *)data, size, &o, &a, &b, err, sizeof err);
    if (rc) {
        check(rc == OCL_EINVAL || rc == OCL_ETOOBIG || rc == OCL_EUTF8, "unexpected code");
        check(memchr(err, 0, sizeof err) != NULL, "error not terminated");
        check(!strncmp(err, "line ", 5), "error does not start with the line");
        check(b.n_series == 0, "series on error");
    } else {
        check_batch(&b);
    }
    ocl_arena_dispose(&a);

    static const ocl_label_t st[] = {{{"job", 3}, {"x", 1}}, {{"zone", 4}, {"z", 1}}};
    ocl_scrape_target_cfg_t tc = {.job = "j",
                                  .instance = "i:1",
                                  .labels = st,
                                  .n_labels = 2,
                                  .honor_labels = (size & 2) != 0,
                                  .honor_timestamps = true};
    tc.limits = o;
    ocl_scrape_target_t *t = ocl_scrape_target_create(&tc);
    ocl_scrape_target_build(t, NULL, om ? "application/openmetrics-text" : NULL, (const char *)data,
                            size, 1000, 0.1, &b, err, sizeof err);
    check_batch(&b);
    ocl_scrape_target_build(t, NULL, NULL, (const char *)data, size / 2, 2000, 0.1, &b, err,
                            sizeof err);
    check_batch(&b);
    ocl_scrape_target_stale_all(t, 3000, &b);
    check_batch(&b);
    ocl_scrape_target_destroy(t);
    return 0;
}
