/*
 * test_tsdb_flush_race.c — ocl_tsdb_flush racing an append, made
 * deterministic: compact.c is included with its write-lock calls wrapped,
 * so that an append lands exactly between the flush's look at the head
 * (its newest time) and the cut's snapshot. Whatever the interleaving, the
 * watermark (ocl_tsdb_persisted_before) must never pass a sample that is
 * only in the head: the pipeline deletes the WAL below it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>

static int hook_armed;            /* the next write lock in compact.c appends first */
static void (*hook_fn)(void);     /* what it appends */
static int hooked_wrlock(pthread_rwlock_t *l);
#define pthread_rwlock_wrlock hooked_wrlock
#include "../../../src/store/metrics/compact.c"
#undef pthread_rwlock_wrlock

#include "tsdb_test_util.h"

static int hooked_wrlock(pthread_rwlock_t *l)
{
    if (hook_armed > 0 && --hook_armed == 0) hook_fn();
    return pthread_rwlock_wrlock(l);
}

static ocl_tsdb_t *g_db;
static ocl_labels_t g_ls;
static int64_t g_next_t;

static void append_next(void)
{
    assert_int_equal(tl_append1(g_db, g_ls, g_next_t, 1).appended, 1);
}

static void test_flush_with_concurrent_append(void **st)
{
    (void)st;
    char *dir = tl_tmpdir();
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_tsdb_opts_t o = {.dir = dir, .block_range_ms = 1000, .retention_ms = 1000000};
    assert_int_equal(ocl_tsdb_open(&o, &g_db), 0);
    g_ls = tl_labels(&a, "__name__=x", NULL);
    for (int64_t t = 0; t <= 100; t += 10)
        assert_int_equal(tl_append1(g_db, g_ls, t, 1).appended, 1);
    /* the flush sees newest = 100 and seals [0, 101); an append of 101
     * arrives before the snapshot */
    g_next_t = 101;
    hook_fn = append_next;
    hook_armed = 1;
    assert_int_equal(ocl_tsdb_flush(g_db), 0);
    assert_int_equal(hook_armed, 0);
    int64_t pb = ocl_tsdb_persisted_before(g_db);
    ocl_tsdb_stats_t sts;
    ocl_tsdb_stats(g_db, &sts);
    /* everything below the watermark is in a block, not only in the head */
    assert_true(sts.head_samples == 0 || sts.head_min_t >= pb);
    assert_int_equal(sts.block_samples + sts.head_samples, 12);
    ocl_tsdb_close(g_db);
    /* "crash": the head is gone and the WAL below the watermark with it */
    assert_int_equal(ocl_tsdb_open(&o, &g_db), 0);
    ocl_tsdb_stats(g_db, &sts);
    uint64_t want = 0;
    for (int64_t t = 0; t <= 101; t += t == 100 ? 1 : 10)
        want += t < pb;
    assert_int_equal(sts.block_samples, want);
    ocl_tsdb_close(g_db);
    ocl_arena_dispose(&a);
    tl_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flush_with_concurrent_append),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
