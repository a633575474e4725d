/*
 * test_tsdb_limits.c — the TSDB's ingest guards: the bound on future
 * timestamps (max_future_ms) and WAL replay ignoring the series limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <time.h>

#include "tsdb_test_util.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_future_bound(void **st)
{
    (void)st;
    ocl_tsdb_opts_t o = {.max_future_ms = 60000};
    ocl_tsdb_t *db;
    assert_int_equal(ocl_tsdb_open(&o, &db), 0);
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_labels_t ls = tl_labels(&a, "__name__=x", "job=j", NULL);
    int64_t now = now_ms();
    /* an hour ahead: refused, and the series is not even created */
    ocl_tsdb_append_result_t r = tl_append1(db, ls, now + 3600 * 1000, 1);
    assert_int_equal(r.appended, 0);
    assert_int_equal(r.out_of_bounds, 1);
    assert_int_equal(r.new_series, 0);
    assert_non_null(strstr(r.first_error, "too far in the future"));
    /* now, and within the bound: stored, and the earlier refusal did not
     * make them "out of order" */
    r = tl_append1(db, ls, now, 2);
    assert_int_equal(r.appended, 1);
    r = tl_append1(db, ls, now + 30000, 3);
    assert_int_equal(r.appended, 1);
    /* old data is fine (the bound is one-sided) */
    ocl_labels_t old = tl_labels(&a, "__name__=old", NULL);
    r = tl_append1(db, old, 1000, 1);
    assert_int_equal(r.appended, 1);
    ocl_tsdb_close(db);
    ocl_arena_dispose(&a);
}

static void test_replay_ignores_series_limit(void **st)
{
    (void)st;
    ocl_tsdb_opts_t o = {.max_series = 2};
    ocl_tsdb_t *db;
    assert_int_equal(ocl_tsdb_open(&o, &db), 0);
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    const char *names[] = {"__name__=a", "__name__=b", "__name__=c"};
    for (int i = 0; i < 3; i++) {
        ocl_labels_t ls = tl_labels(&a, names[i], NULL);
        ocl_sample_t s = {1000, 1};
        ocl_prom_series_t ps = {ls, &s, 1};
        ocl_prom_batch_t b = {&ps, 1, NULL, 0};
        ocl_tsdb_append_result_t r;
        assert_int_equal(ocl_tsdb_append_replay(db, &b, &r), 0);
        assert_int_equal(r.appended, 1);
        assert_int_equal(r.series_limited, 0);
    }
    /* a live append of a new series is still limited */
    ocl_labels_t d = tl_labels(&a, "__name__=d", NULL);
    ocl_tsdb_append_result_t r = tl_append1(db, d, 1000, 1);
    assert_int_equal(r.series_limited, 1);
    ocl_tsdb_stats_t s;
    ocl_tsdb_stats(db, &s);
    assert_int_equal(s.head_series, 3);
    ocl_tsdb_close(db);
    ocl_arena_dispose(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_future_bound),
        cmocka_unit_test(test_replay_ignores_series_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
