/*
 * test_tsdb_meta.c — metric metadata of the TSDB (/api/v1/metadata): kept
 * in the "metadata" file across restarts (it used to live only in memory
 * and the WAL, and was gone once the WAL records were truncated), bounded
 * per database (max_meta), and pruned when a family was not received while
 * the data advanced by more than the retention. Also a damaged file is
 * ignored, not fatal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tsdb_test_util.h"

/* Appends one sample of `fam` at t with metadata for the families. */
static void put(ocl_tsdb_t *db, const char *fam, int64_t t, const char *const *fams, size_t nf,
                const char *help)
{
    ocl_label_t l[1] = {{OCL_STR("__name__"), ocl_str_c(fam)}};
    ocl_sample_t s = {t, 1};
    ocl_prom_series_t ps = {{l, 1}, &s, 1};
    ocl_prom_meta_t m[8];
    for (size_t i = 0; i < nf; i++)
        m[i] = (ocl_prom_meta_t){ocl_str_c(fams[i]), OCL_PT_COUNTER, ocl_str_c(help), OCL_STR("")};
    ocl_prom_batch_t b = {&ps, 1, m, nf};
    assert_int_equal(ocl_tsdb_append(db, &b, NULL), 0);
}

/* The families kept, joined with ',' (help of each after '='). */
static void families(ocl_tsdb_t *db, char *out, size_t cap)
{
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_prom_meta_t *m;
    size_t n;
    assert_int_equal(ocl_tsdb_metadata(db, OCL_STR(""), 0, &a, &m, &n), 0);
    size_t w = 0;
    out[0] = 0;
    for (size_t i = 0; i < n; i++)
        w += (size_t)snprintf(out + w, cap - w, "%s%.*s=%.*s", i ? "," : "", (int)m[i].family.n,
                              m[i].family.p, (int)m[i].help.n, m[i].help.p);
    ocl_arena_dispose(&a);
}

static ocl_tsdb_t *open_db(const char *dir, uint32_t max_meta)
{
    ocl_tsdb_opts_t o = {
        .dir = dir, .block_range_ms = 1000, .retention_ms = 100000, .max_meta = max_meta};
    ocl_tsdb_t *db;
    assert_int_equal(ocl_tsdb_open(&o, &db), 0);
    return db;
}

static void test_persisted_across_restart(void **st)
{
    (void)st;
    char *dir = tl_tmpdir();
    char got[512];
    ocl_tsdb_t *db = open_db(dir, 0);
    static const char *const f[] = {"b_total", "a_total", "c"};
    put(db, "a_total", 100, f, 3, "h1");
    assert_int_equal(ocl_tsdb_maintain(db), 0);
    ocl_tsdb_close(db); /* the head (and the WAL) are not needed for metadata */
    db = open_db(dir, 0);
    families(db, got, sizeof got);
    assert_string_equal(got, "a_total=h1,b_total=h1,c=h1");
    /* a change is written by the next maintenance */
    put(db, "a_total", 200, f, 1, "h2");
    assert_int_equal(ocl_tsdb_maintain(db), 0);
    ocl_tsdb_close(db);
    db = open_db(dir, 0);
    families(db, got, sizeof got);
    assert_string_equal(got, "a_total=h1,b_total=h2,c=h1");
    ocl_tsdb_close(db);

    /* a damaged file is ignored (with a warning), the database opens */
    char path[512];
    snprintf(path, sizeof path, "%s/metadata", dir);
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    fseek(fp, 20, SEEK_SET);
    fputc('#', fp);
    fclose(fp);
    db = open_db(dir, 0);
    families(db, got, sizeof got);
    assert_string_equal(got, "");
    ocl_tsdb_close(db);
    tl_rmrf(dir);
    free(dir);
}

static void test_bounded_and_pruned(void **st)
{
    (void)st;
    char *dir = tl_tmpdir();
    char got[512];
    ocl_tsdb_t *db = open_db(dir, 2);
    static const char *const f[] = {"a", "b", "c"};
    put(db, "a", 100, f, 3, "x");
    families(db, got, sizeof got);
    assert_string_equal(got, "a=x,b=x"); /* "c" is over the bound */
    ocl_tsdb_stats_t s;
    ocl_tsdb_stats(db, &s);
    assert_int_equal(s.meta_families, 2);
    assert_int_equal(s.meta_dropped, 1);
    put(db, "a", 200, f + 1, 1, "y"); /* updates still apply at the bound */
    families(db, got, sizeof got);
    assert_string_equal(got, "a=x,b=y");
    /* "b" keeps being received, "a" not, while the data moves on by more
     * than the retention (100 s): "a" is dropped, also from the file */
    for (int64_t t = 1000; t <= 120000; t += 1000)
        put(db, "a", t, f + 1, 1, "y");
    assert_int_equal(ocl_tsdb_maintain(db), 0);
    families(db, got, sizeof got);
    assert_string_equal(got, "b=y");
    ocl_tsdb_close(db);
    db = open_db(dir, 2);
    families(db, got, sizeof got);
    assert_string_equal(got, "b=y");
    ocl_tsdb_close(db);
    tl_rmrf(dir);
    free(dir);
}

/* Metadata received while the database holds no sample is not pruned at
 * the first maintenance after data arrives. */
static void test_meta_before_data(void **st)
{
    (void)st;
    char *dir = tl_tmpdir();
    char got[512];
    ocl_tsdb_t *db = open_db(dir, 0);
    ocl_prom_meta_t m = {OCL_STR("early"), OCL_PT_GAUGE, OCL_STR("e"), OCL_STR("")};
    ocl_prom_batch_t b = {NULL, 0, &m, 1};
    assert_int_equal(ocl_tsdb_append(db, &b, NULL), 0);
    put(db, "x", 500000, NULL, 0, "");
    assert_int_equal(ocl_tsdb_maintain(db), 0);
    families(db, got, sizeof got);
    assert_string_equal(got, "early=e");
    ocl_tsdb_close(db);
    tl_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_persisted_across_restart),
        cmocka_unit_test(test_bounded_and_pruned),
        cmocka_unit_test(test_meta_before_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
