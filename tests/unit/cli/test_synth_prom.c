/*
 * test_synth_prom.c — the node-exporter-like Prometheus workload
 * (src/cli/synth_prom.c): valid, sorted label sets that the remote-write
 * decoder accepts; counters that never decrease; cumulative histogram
 * buckets with _count equal to the +Inf bucket; gauges and counters that
 * really move; timestamps that advance by the interval and stay away from
 * multiples of it; determinism per seed; argument errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cli/synth.h"
#include "wire/remote_write.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERIES 1000 /* 8 full hosts and a partial one */
#define STEPS 60
#define START 1700000000000ll /* a multiple of 15 s */

static ocl_synth_prom_t *mk(uint64_t seed)
{
    ocl_synth_prom_cfg_t c = {
        .series = SERIES, .seed = seed, .start_ms = START, .interval_ms = 15000, .job = "node"};
    return ocl_synth_prom_create(&c);
}

static bool ends_with(ocl_str_t s, const char *suf)
{
    size_t n = strlen(suf);
    return s.n >= n && !memcmp(s.p + s.n - n, suf, n);
}

static ocl_str_t name_of(const ocl_prom_series_t *ps)
{
    return ocl_labels_get(&ps->labels, OCL_STR(OCL_METRIC_NAME));
}

static void test_labels_valid_and_decodable(void **state)
{
    (void)state;
    ocl_synth_prom_t *s = mk(1);
    assert_int_equal(ocl_synth_prom_series(s), SERIES);
    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 16);
    ocl_prom_batch_t b;
    assert_int_equal(ocl_synth_prom_batch(s, &a, 0, 0, SERIES, &b), 0);
    assert_int_equal(b.n_series, SERIES);
    for (size_t i = 0; i < b.n_series; i++) {
        const ocl_labels_t *ls = &b.series[i].labels;
        assert_true(ls->n >= 3);
        assert_true(ocl_metric_name_valid(name_of(&b.series[i])));
        assert_string_equal(ocl_labels_get(ls, OCL_STR("job")).p, "node");
        for (uint32_t k = 0; k < ls->n; k++) {
            assert_true(ls->v[k].value.n > 0);
            if (k) {
                ocl_str_t p = ls->v[k - 1].name, q = ls->v[k].name;
                int c = memcmp(p.p, q.p, p.n < q.n ? p.n : q.n);
                assert_true(c < 0 || (c == 0 && p.n < q.n)); /* sorted, unique */
            }
            if (k && !ocl_label_name_valid(ls->v[k].name)) fail();
        }
        /* distinct series */
        if (i) assert_false(ocl_labels_equal(ls, &b.series[i - 1].labels));
        assert_int_equal(b.series[i].n_samples, 1);
    }
    /* the remote-write decoder (with its limits) takes the encoded batch */
    ocl_buf_t enc;
    ocl_buf_init(&enc);
    ocl_rw_encode(&b, &enc);
    ocl_rw_limits_t lim;
    ocl_rw_limits_default(&lim);
    ocl_prom_batch_t d;
    char err[256] = "";
    assert_int_equal(ocl_rw_decode(enc.p, enc.len, &lim, &a, &d, err, sizeof err), 0);
    assert_int_equal(d.n_series, SERIES);
    for (size_t i = 0; i < d.n_series; i++) {
        assert_true(ocl_labels_equal(&d.series[i].labels, &b.series[i].labels));
        assert_int_equal(d.series[i].samples[0].t, b.series[i].samples[0].t);
        assert_memory_equal(&d.series[i].samples[0].v, &b.series[i].samples[0].v, 8);
    }
    ocl_buf_dispose(&enc);
    ocl_arena_dispose(&a);
    ocl_synth_prom_destroy(s);
}

static void test_values_evolve_like_real_ones(void **state)
{
    (void)state;
    ocl_synth_prom_t *s = mk(7);
    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 16);
    double *prev = calloc(SERIES, sizeof(double));
    int64_t *prev_t = calloc(SERIES, sizeof(int64_t));
    uint32_t *changes = calloc(SERIES, sizeof(uint32_t));
    size_t jittered = 0, total = 0;
    for (uint64_t step = 0; step < STEPS; step++) {
        ocl_prom_batch_t b;
        ocl_arena_reset(&a);
        /* ask in two ranges, as gen does with its batches */
        assert_int_equal(ocl_synth_prom_batch(s, &a, step, 0, 400, &b), 0);
        ocl_prom_series_t *all = ocl_arena_alloc(&a, SERIES * sizeof(*all));
        memcpy(all, b.series, 400 * sizeof(*all));
        assert_int_equal(ocl_synth_prom_batch(s, &a, step, 400, SERIES - 400, &b), 0);
        memcpy(all + 400, b.series, (SERIES - 400) * sizeof(*all));
        double hist_prev = 0, hist_inf = -1;
        for (uint32_t i = 0; i < SERIES; i++) {
            const ocl_prom_series_t *ps = &all[i];
            ocl_str_t name = name_of(ps);
            double v = ps->samples[0].v;
            int64_t t = ps->samples[0].t;
            assert_true(isfinite(v));
            assert_true(v >= 0);
            /* never within 45 ms of a multiple of the interval */
            int64_t ph = (t - START) % 15000;
            assert_true(ph >= 45 && ph <= 15000 - 45);
            assert_int_equal(t, ocl_synth_prom_time(s, step, i));
            total++;
            if (step) {
                int64_t dt = t - prev_t[i];
                assert_true(dt >= 15000 - 10 && dt <= 15000 + 10);
                if (dt != 15000) jittered++;
                bool counter = ends_with(name, "_total") || ends_with(name, "_bucket") ||
                               ends_with(name, "_count") || ends_with(name, "_sum");
                if (counter) assert_true(v >= prev[i]);
                if (v != prev[i]) changes[i]++;
            }
            if (ends_with(name, "_bucket")) {
                ocl_str_t le = ocl_labels_get(&ps->labels, OCL_STR("le"));
                if (le.n == 5 && !memcmp(le.p, "0.005", 5)) hist_prev = 0;
                assert_true(v >= hist_prev); /* cumulative over le */
                hist_prev = v;
                if (le.n == 4 && !memcmp(le.p, "+Inf", 4)) hist_inf = v;
            } else if (ends_with(name, "_count")) {
                assert_true(v == hist_inf); /* _count == +Inf bucket */
            }
            if (ends_with(name, "MemAvailable_bytes")) /* MemTotal comes just before */
                assert_true(v < all[i - 1].samples[0].v);
            prev[i] = v;
            prev_t[i] = t;
        }
    }
    /* most series move at every step; constant ones are the few real ones */
    uint32_t moving = 0;
    for (uint32_t i = 0; i < SERIES; i++)
        if (changes[i] >= STEPS / 2) moving++;
    printf("series moving at most steps: %u of %u\n", moving, SERIES);
    assert_true(moving > SERIES * 7 / 10);
    assert_true(moving < SERIES); /* MemTotal, size, up are constant */
    /* about 20 % of scrapes jitter: intervals differ from 15 s often */
    assert_true(jittered > total / 10 && jittered < total / 2);
    free(prev);
    free(prev_t);
    free(changes);
    ocl_arena_dispose(&a);
    ocl_synth_prom_destroy(s);
}

static void test_deterministic_per_seed(void **state)
{
    (void)state;
    ocl_synth_prom_t *x = mk(3), *y = mk(3), *z = mk(4);
    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 16);
    ocl_prom_batch_t bx, by, bz;
    size_t differ = 0;
    for (uint64_t step = 0; step < 5; step += 2) { /* steps may be skipped */
        assert_int_equal(ocl_synth_prom_batch(x, &a, step, 100, 300, &bx), 0);
        assert_int_equal(ocl_synth_prom_batch(y, &a, step, 100, 300, &by), 0);
        assert_int_equal(ocl_synth_prom_batch(z, &a, step, 100, 300, &bz), 0);
        for (size_t i = 0; i < 300; i++) {
            assert_int_equal(bx.series[i].samples[0].t, by.series[i].samples[0].t);
            assert_memory_equal(&bx.series[i].samples[0].v, &by.series[i].samples[0].v, 8);
            if (bx.series[i].samples[0].v != bz.series[i].samples[0].v) differ++;
        }
    }
    assert_true(differ > 600);
    ocl_arena_dispose(&a);
    ocl_synth_prom_destroy(x);
    ocl_synth_prom_destroy(y);
    ocl_synth_prom_destroy(z);
}

static void test_bad_requests(void **state)
{
    (void)state;
    ocl_synth_prom_t *s = mk(1);
    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 16);
    ocl_prom_batch_t b;
    assert_int_equal(ocl_synth_prom_batch(s, &a, 0, 0, 0, &b), OCL_EINVAL);
    assert_int_equal(ocl_synth_prom_batch(s, &a, 0, SERIES, 1, &b), OCL_EINVAL);
    assert_int_equal(ocl_synth_prom_batch(s, &a, 0, SERIES - 1, 2, &b), OCL_EINVAL);
    assert_int_equal(ocl_synth_prom_batch(s, &a, 3, 0, 1, &b), 0);
    assert_int_equal(ocl_synth_prom_batch(s, &a, 2, 0, 1, &b), OCL_EINVAL); /* went back */
    ocl_arena_dispose(&a);
    ocl_synth_prom_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labels_valid_and_decodable),
        cmocka_unit_test(test_values_evolve_like_real_ones),
        cmocka_unit_test(test_deterministic_per_seed),
        cmocka_unit_test(test_bad_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
