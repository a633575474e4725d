/*
 * test_ingest_metrics.c — the metrics ingest paths through ocl_ingest_*
 * (src/pipeline/ingest_metrics.c) on a real data directory: remote-write
 * batches and OTLP requests land in per-tenant TSDBs, survive a reopen
 * (WAL replay), version 0.1's OTLP metrics WAL records are replayed
 * (translated) into the TSDB, delta sums accumulate across requests,
 * invalid tenants and refused samples are reported, and the tenant
 * directories are created where docs/FORMATS.md says.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "pipeline/ingest.h"
#include "pipeline/ingest_metrics.h"

static ocl_ingest_t *open_ing(const char *dir)
{
    ocl_ingest_cfg_t cfg = {.data_dir = dir, .fsync = OCL_FSYNC_NEVER};
    ocl_ingest_t *ing = NULL;
    assert_int_equal(ocl_ingest_open(&cfg, &ing), 0);
    return ing;
}

static int last(ocl_ingest_t *ing, const char *tenant, const ocl_label_t *l, uint32_t n, int64_t *t,
                double *v)
{
    ocl_tsdb_t *db = ocl_ingest_tsdb(ing, ocl_str_c(tenant), false);
    if (!db) return OCL_ENOTFOUND;
    ocl_labels_t ls = {l, n};
    return ocl_tsdb_last_sample(db, &ls, t, v);
}

static int otlp_json(ocl_ingest_t *ing, const char *tenant, const char *json,
                     ocl_ingest_result_t *res, ocl_buf_t *pb)
{
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_metrics_req_t req;
    const char *err = NULL;
    assert_int_equal(ocl_otlp_json_decode_metrics(json, strlen(json), &a, &req, &err), 0);
    if (pb) ocl_otlp_pb_encode_metrics(&req, pb);
    int rc = ocl_ingest_write(ing, OCL_SIGNAL_METRICS, ocl_str_c(tenant), "", 0, &req, res);
    ocl_arena_dispose(&a);
    return rc;
}

#define SUM(temporality, start, time, v)                                                           \
    "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{"   \
    "\"stringValue\":\"svc\"}}]},\"scopeMetrics\":[{\"metrics\":[{\"name\":\"jobs\",\"sum\":{"     \
    "\"aggregationTemporality\":" temporality ",\"isMonotonic\":true,\"dataPoints\":[{"            \
    "\"startTimeUnixNano\":\"" start "\",\"timeUnixNano\":\"" time "\",\"asInt\":\"" v "\"}]}},"   \
    "{\"name\":\"eh\",\"exponentialHistogram\":{\"dataPoints\":[{\"count\":\"1\"}]}}]}]}]}"

static const ocl_label_t jobs_labels[] = {{OCL_STR("__name__"), OCL_STR("jobs_total")},
                                          {OCL_STR("job"), OCL_STR("svc")}};

static void test_paths_and_replay(void **state)
{
    (void)state;
    char dir[] = "/tmp/ocl_ingest_metrics_XXXXXX";
    assert_non_null(mkdtemp(dir));
    ocl_ingest_t *ing = open_ing(dir);

    /* remote-write batch into tenant "a" */
    ocl_label_t l[] = {{OCL_STR("__name__"), OCL_STR("up")}, {OCL_STR("job"), OCL_STR("x")}};
    ocl_sample_t s[] = {{1000, 1}, {2000, 0}};
    ocl_prom_series_t ser = {{l, 2}, s, 2};
    ocl_prom_batch_t b = {&ser, 1, NULL, 0};
    ocl_tsdb_append_result_t res;
    assert_int_equal(ocl_ingest_write_prom(ing, OCL_STR("a"), &b, NULL, 0, &res), 0);
    assert_int_equal(res.appended, 2);
    /* an older sample is refused and reported, the WAL append still succeeds */
    ocl_sample_t old = {1500, 9};
    ocl_prom_series_t ser_old = {{l, 2}, &old, 1};
    ocl_prom_batch_t b_old = {&ser_old, 1, NULL, 0};
    assert_int_equal(ocl_ingest_write_prom(ing, OCL_STR("a"), &b_old, NULL, 0, &res), 0);
    assert_int_equal(res.out_of_order, 1);
    assert_int_equal(res.appended, 0);
    assert_true(strstr(res.first_error, "out of order") != NULL);
    /* invalid tenant: nothing written */
    assert_int_equal(ocl_ingest_write_prom(ing, OCL_STR("../x"), &b, NULL, 0, &res), OCL_EINVAL);
    assert_null(ocl_ingest_tsdb(ing, OCL_STR("../x"), true));

    /* OTLP: delta sum accumulates across requests; exp histogram refused */
    ocl_ingest_result_t ir;
    assert_int_equal(otlp_json(ing, "", SUM("1", "1000000000", "2000000000", "5"), &ir, NULL), 0);
    assert_int_equal(ir.rejected, 1);
    assert_string_equal(ir.reason, "exponential histograms are not supported");
    assert_int_equal(otlp_json(ing, "", SUM("1", "2000000000", "3000000000", "4"), &ir, NULL), 0);
    int64_t t;
    double v;
    assert_int_equal(last(ing, "", jobs_labels, 2, &t, &v), 0);
    assert_true(t == 3000 && v == 9.0);

    struct stat st;
    char path[512];
    snprintf(path, sizeof path, "%s/metrics/a", dir);
    assert_int_equal(stat(path, &st), 0);
    snprintf(path, sizeof path, "%s/metrics/@default", dir);
    assert_int_equal(stat(path, &st), 0);
    ocl_ingest_close(ing);

    /* reopen: both tenants come back from the WAL, in order */
    ing = open_ing(dir);
    assert_int_equal(last(ing, "a", l, 2, &t, &v), 0);
    assert_true(t == 2000 && v == 0.0);
    assert_int_equal(last(ing, "", jobs_labels, 2, &t, &v), 0);
    assert_true(t == 3000 && v == 9.0);
    /* the delta state continues after the restart */
    assert_int_equal(otlp_json(ing, "", SUM("1", "3000000000", "4000000000", "1"), &ir, NULL), 0);
    assert_int_equal(last(ing, "", jobs_labels, 2, &t, &v), 0);
    assert_true(t == 4000 && v == 10.0);
    ocl_replay_stats_t rs;
    ocl_ingest_replay_stats(ing, &rs);
    assert_int_equal(rs.records[OCL_SIGNAL_METRICS], 3); /* the refused-only batch was not logged */
    ocl_ingest_close(ing);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_legacy_wal(void **state)
{
    (void)state;
    char dir[] = "/tmp/ocl_ingest_legacy_XXXXXX";
    assert_non_null(mkdtemp(dir));
    /* A version 0.1 metrics WAL: u8 tenant_len | tenant | OTLP request,
     * record type = OCL_SIGNAL_METRICS. */
    char wdir[512];
    snprintf(wdir, sizeof wdir, "%s/wal/metrics", dir);
    assert_int_equal(ocl_mkdir_p(wdir), 0);
    ocl_wal_cfg_t wc = {.dir = wdir, .fsync = OCL_FSYNC_NEVER};
    ocl_wal_t *w;
    assert_int_equal(ocl_wal_open(&wc, &w), 0);
    const char *reqs[] = {SUM("2", "1000000000", "2000000000", "7"),
                          SUM("2", "1000000000", "3000000000", "8")};
    for (int i = 0; i < 2; i++) {
        ocl_arena_t a;
        ocl_arena_init(&a, 4096);
        ocl_metrics_req_t req;
        const char *err = NULL;
        assert_int_equal(ocl_otlp_json_decode_metrics(reqs[i], strlen(reqs[i]), &a, &req, &err), 0);
        ocl_buf_t rec;
        ocl_buf_init(&rec);
        ocl_buf_append(&rec, "\x03old", 4);
        ocl_otlp_pb_encode_metrics(&req, &rec);
        assert_int_equal(ocl_wal_append(w, OCL_SIGNAL_METRICS, rec.p, rec.len, NULL), 0);
        ocl_buf_dispose(&rec);
        ocl_arena_dispose(&a);
    }
    /* and a record that is not a valid request: counted, not fatal */
    assert_int_equal(ocl_wal_append(w, OCL_SIGNAL_METRICS, "\x00\xff\xff", 3, NULL), 0);
    ocl_wal_close(w);

    ocl_ingest_t *ing = open_ing(dir);
    int64_t t;
    double v;
    assert_int_equal(last(ing, "old", jobs_labels, 2, &t, &v), 0);
    assert_true(t == 3000 && v == 8.0);
    ocl_replay_stats_t rs;
    ocl_ingest_replay_stats(ing, &rs);
    assert_int_equal(rs.records[OCL_SIGNAL_METRICS], 3);
    assert_int_equal(rs.bad_records, 1);
    ocl_ingest_close(ing);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static size_t wal_segments(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls %s/wal/metrics | grep -c '\\.wal$'", dir);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t n = 0;
    assert_int_equal(fscanf(f, "%zu", &n), 1);
    pclose(f);
    return n;
}

static void write_range(ocl_ingest_t *ing, const char *tenant, int64_t from, int64_t to)
{
    ocl_label_t l[] = {{OCL_STR("__name__"), OCL_STR("m")}};
    for (int64_t t = from; t < to; t += 100) {
        ocl_sample_t s = {t, (double)t};
        ocl_prom_series_t ser = {{l, 1}, &s, 1};
        ocl_prom_batch_t b = {&ser, 1, NULL, 0};
        ocl_tsdb_append_result_t res;
        assert_int_equal(ocl_ingest_write_prom(ing, ocl_str_c(tenant), &b, NULL, 0, &res), 0);
        assert_int_equal(res.appended, 1);
    }
}

/* Samples persisted into blocks let their WAL segments go; everything
 * stays readable, also after a restart; a tenant that wrote into the same
 * segments without persisting holds them back. */
static void test_truncation(void **state)
{
    (void)state;
    char dir[] = "/tmp/ocl_ingest_trunc_XXXXXX";
    assert_non_null(mkdtemp(dir));
    ocl_ingest_cfg_t cfg = {.data_dir = dir,
                            .fsync = OCL_FSYNC_NEVER,
                            .metrics_block_range_ms = 1000,
                            .wal_segment_bytes = 2048};
    ocl_ingest_t *ing = NULL;
    assert_int_equal(ocl_ingest_open(&cfg, &ing), 0);
    write_range(ing, "", 0, 10000); /* 100 records, ~7 KB: several segments */
    size_t before = wal_segments(dir);
    assert_true(before >= 3);
    /* appends a second later go into the next accounting bucket */
    usleep(1300 * 1000);
    write_range(ing, "", 10000, 20000);
    size_t all = wal_segments(dir);
    size_t now = all;
    for (int i = 0; i < 600 && now >= all; i++) { /* cuts are slow on a loaded machine */
        usleep(100 * 1000);
        now = wal_segments(dir);
    }
    assert_true(now < all); /* the first second's segments were deleted */
    ocl_tsdb_t *db = ocl_ingest_tsdb(ing, OCL_STR(""), false);
    assert_true(ocl_tsdb_persisted_before(db) > 9900);
    ocl_ingest_close(ing);

    /* reopen: blocks + the remaining WAL give every sample back */
    ing = NULL;
    assert_int_equal(ocl_ingest_open(&cfg, &ing), 0);
    db = ocl_ingest_tsdb(ing, OCL_STR(""), false);
    assert_non_null(db);
    ocl_matcher_t m;
    char err[64];
    assert_int_equal(
        ocl_matcher_init(&m, OCL_MATCH_EQ, OCL_STR("__name__"), OCL_STR("m"), err, sizeof err), 0);
    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 16);
    ocl_series_t *ser;
    size_t n;
    assert_int_equal(ocl_tsdb_select(db, &m, 1, 0, 20000, 0, &a, &ser, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ser[0].n, 200);
    for (uint32_t i = 0; i < ser[0].n; i++)
        assert_true(ser[0].t[i] == (int64_t)i * 100 && ser[0].v[i] == (double)i * 100);
    ocl_arena_dispose(&a);
    ocl_matcher_dispose(&m);
    ocl_ingest_close(ing);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* A second tenant that wrote into the same buckets but whose data is not
 * persisted keeps those WAL segments. */
static void test_truncation_other_tenant(void **state)
{
    (void)state;
    char dir[] = "/tmp/ocl_ingest_trunc2_XXXXXX";
    assert_non_null(mkdtemp(dir));
    ocl_ingest_cfg_t cfg = {.data_dir = dir,
                            .fsync = OCL_FSYNC_NEVER,
                            .metrics_block_range_ms = 1000,
                            .wal_segment_bytes = 2048};
    ocl_ingest_t *ing = NULL;
    assert_int_equal(ocl_ingest_open(&cfg, &ing), 0);
    write_range(ing, "", 0, 10000);
    write_range(ing, "quiet", 0, 300); /* 3 samples: never cut */
    usleep(1300 * 1000);
    write_range(ing, "", 10000, 20000);
    size_t all = wal_segments(dir);
    /* wait until the default tenant's blocks are past the first second's
     * records, then for one more maintenance pass */
    ocl_tsdb_t *db = ocl_ingest_tsdb(ing, OCL_STR(""), false);
    for (int i = 0; i < 600 && ocl_tsdb_persisted_before(db) < 15000; i++)
        usleep(100 * 1000);
    assert_true(ocl_tsdb_persisted_before(db) >= 15000);
    usleep(2200 * 1000);
    assert_int_equal(wal_segments(dir), all);
    ocl_ingest_close(ing);
    ing = NULL;
    assert_int_equal(ocl_ingest_open(&cfg, &ing), 0);
    int64_t t;
    double v;
    assert_int_equal(
        last(ing, "quiet", (ocl_label_t[]){{OCL_STR("__name__"), OCL_STR("m")}}, 1, &t, &v), 0);
    assert_true(t == 200);
    ocl_ingest_close(ing);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths_and_replay),
        cmocka_unit_test(test_legacy_wal),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_truncation_other_tenant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
