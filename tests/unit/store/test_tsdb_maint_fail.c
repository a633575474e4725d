/*
 * test_tsdb_maint_fail.c — ocl_tsdb_maintain when writing a block fails
 * (disk full, permissions), made deterministic by including compact.c with
 * ocl_bwriter_begin wrapped: retention only deletes, so it must still run
 * (often it is what frees the space the cut needs), and the head keeps
 * every sample for the next attempt.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>

#include "store/metrics/block.h"

static int fail_begins; /* block writes that fail from now on */
static int failing_bwriter_begin(const char *parent, int64_t mint, int64_t maxt, uint32_t level,
                                 ocl_bwriter_t **out);
#define ocl_bwriter_begin failing_bwriter_begin
#include "../../../src/store/metrics/compact.c"
#undef ocl_bwriter_begin

#include "tsdb_test_util.h"

static int failing_bwriter_begin(const char *parent, int64_t mint, int64_t maxt, uint32_t level,
                                 ocl_bwriter_t **out)
{
    if (fail_begins) return OCL_EIO;
    return ocl_bwriter_begin(parent, mint, maxt, level, out);
}

static void test_retention_despite_failed_cut(void **st)
{
    (void)st;
    char *dir = tl_tmpdir();
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    /* range 1 s, retention 5 s (no compaction: windows would exceed 10 %) */
    ocl_tsdb_opts_t o = {.dir = dir, .block_range_ms = 1000, .retention_ms = 5000};
    ocl_tsdb_t *db;
    assert_int_equal(ocl_tsdb_open(&o, &db), 0);
    ocl_labels_t ls = tl_labels(&a, "__name__=x", NULL);
    for (int64_t t = 0; t <= 2950; t += 50)
        assert_int_equal(tl_append1(db, ls, t, 1).appended, 1);
    assert_int_equal(ocl_tsdb_flush(db), 0);
    ocl_tsdb_stats_t sts;
    ocl_tsdb_stats(db, &sts);
    assert_int_equal(sts.blocks, 3);
    for (int64_t t = 3000; t <= 9950; t += 50)
        assert_int_equal(tl_append1(db, ls, t, 2).appended, 1);
    /* the head spans 7 s: maintain would cut, but block writes fail */
    fail_begins = 1;
    assert_int_not_equal(ocl_tsdb_maintain(db), 0);
    ocl_tsdb_stats(db, &sts);
    /* newest 9950, retention 5 s: the blocks ending at or before 4950 go */
    assert_int_equal(sts.blocks, 0);
    assert_int_equal(sts.head_samples, 140); /* nothing lost from the head */
    assert_true(sts.head_min_t == 3000);
    /* writes work again: the cut catches up */
    fail_begins = 0;
    assert_int_equal(ocl_tsdb_maintain(db), 0);
    ocl_tsdb_stats(db, &sts);
    /* blocks [4000, 5000) ... [8000, 9000), head from 9000; [3000, 4000)
     * ends at or before 4950 and goes */
    assert_int_equal(sts.blocks, 5);
    assert_int_equal(sts.block_samples + sts.head_samples, 120);
    assert_true(sts.min_t == 4000);
    ocl_tsdb_close(db);
    ocl_arena_dispose(&a);
    tl_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retention_despite_failed_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
