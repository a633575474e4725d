/*
 * test_ingest_metrics_wal.c — durability corner cases of the metrics ingest
 * path (src/pipeline/ingest_metrics.c, included here with its WAL append
 * wrapped so that a test can make it fail): a batch whose WAL write failed
 * is in the head but unacknowledged; when the sender retries it, the TSDB
 * sees only identical duplicates, and the retry must still be logged
 * before it is acknowledged, otherwise a crash loses acknowledged samples.
 * Also the WAL-truncation bookkeeping: a tenant whose records in a bucket
 * are persisted is not blamed (idle-flushed) for another tenant's newer
 * samples in the same bucket. And a stress run: one writer per tenant
 * racing the maintenance thread (cuts, WAL truncation), then a restart
 * that must give back every acknowledged sample.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/wal/wal.h"

static int fail_wal_appends; /* the next N appends fail */

static int flaky_wal_append2(ocl_wal_t *w, uint8_t type, const void *p1, size_t n1, const void *p2,
                             size_t n2, uint64_t *seq_out);
#define ocl_wal_append2 flaky_wal_append2
struct ocl_tsdb;
static int hooked_tsdb_maintain(struct ocl_tsdb *db);
#define ocl_tsdb_maintain hooked_tsdb_maintain
#include "../../../src/pipeline/ingest_metrics.c"
#undef ocl_wal_append2
#undef ocl_tsdb_maintain
int ocl_tsdb_maintain(ocl_tsdb_t *db); /* tsdb.h's declaration was renamed above */

/* When set, a record with metadata "arrives" (is accounted as seq 1)
 * while the maintenance pass runs the TSDB's maintenance. */
static ocl_mingest_t *meta_arrives_in;

static int hooked_tsdb_maintain(struct ocl_tsdb *db)
{
    int rc = ocl_tsdb_maintain(db);
    if (meta_arrives_in) {
        pthread_mutex_lock(&meta_arrives_in->bucket_mu);
        meta_arrives_in->meta_pending = 1;
        pthread_mutex_unlock(&meta_arrives_in->bucket_mu);
    }
    return rc;
}

static int flaky_wal_append2(ocl_wal_t *w, uint8_t type, const void *p1, size_t n1, const void *p2,
                             size_t n2, uint64_t *seq_out)
{
    if (fail_wal_appends > 0) {
        fail_wal_appends--;
        return OCL_EIO;
    }
    return ocl_wal_append2(w, type, p1, n1, p2, n2, seq_out);
}

typedef struct {
    ocl_mingest_t *m; /* replay target */
    ocl_arena_t a;    /* decode memory */
} replay_t;

static int replay_cb(uint8_t type, uint64_t seq, const void *p, size_t len, void *ud)
{
    replay_t *r = ud;
    return ocl_mingest_replay(r->m, type, seq, p, len, &r->a);
}

static ocl_wal_t *open_wal(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/wal", dir);
    assert_int_equal(ocl_mkdir_p(path), 0);
    ocl_wal_cfg_t wc = {.dir = path, .fsync = OCL_FSYNC_NEVER};
    ocl_wal_t *w = NULL;
    assert_int_equal(ocl_wal_open(&wc, &w), 0);
    return w;
}

/* Opens data dir + WAL, replays it; *wal_out receives the WAL. */
static ocl_mingest_t *open_all(const char *dir, ocl_wal_t **wal_out)
{
    ocl_wal_t *w = open_wal(dir);
    ocl_mingest_cfg_t cfg = {.data_dir = dir, .wal = w};
    ocl_mingest_t *m = NULL;
    assert_int_equal(ocl_mingest_open(&cfg, &m), 0);
    replay_t r = {.m = m};
    ocl_arena_init(&r.a, 1 << 16);
    assert_int_equal(ocl_wal_replay(w, replay_cb, &r), 0);
    ocl_arena_dispose(&r.a);
    *wal_out = w;
    return m;
}

static void test_retry_after_wal_failure_is_logged(void **state)
{
    (void)state;
    char dir[] = "/tmp/ocl_mingest_walfail_XXXXXX";
    assert_non_null(mkdtemp(dir));
    ocl_wal_t *w;
    ocl_mingest_t *m = open_all(dir, &w);

    /* one sample per series, as Prometheus sends them */
    ocl_label_t l[] = {{OCL_STR("__name__"), OCL_STR("up")}, {OCL_STR("job"), OCL_STR("x")}};
    ocl_label_t l2[] = {{OCL_STR("__name__"), OCL_STR("up")}, {OCL_STR("job"), OCL_STR("y")}};
    ocl_sample_t s[] = {{2000, 0}, {2000, 1}};
    ocl_prom_series_t ser[] = {{{l, 2}, &s[0], 1}, {{l2, 2}, &s[1], 1}};
    ocl_prom_batch_t b = {ser, 2, NULL, 0};
    ocl_tsdb_append_result_t res;

    /* first attempt: stored in the head, WAL write fails → not acknowledged */
    fail_wal_appends = 1;
    assert_int_equal(ocl_mingest_write_prom(m, OCL_STR(""), &b, NULL, 0, &res), OCL_EIO);
    assert_int_equal(res.appended, 2);
    /* the sender retries the identical batch: acknowledged now ... */
    assert_int_equal(ocl_mingest_write_prom(m, OCL_STR(""), &b, NULL, 0, &res), 0);
    assert_int_equal(res.appended, 0);
    assert_int_equal(res.duplicates, 2);
    assert_int_equal(res.out_of_order + res.dup_conflict + res.out_of_bounds, 0);
    ocl_mingest_close(m);
    ocl_wal_sync(w);
    ocl_wal_close(w); /* the head is gone, as after a crash */

    /* ... so the samples must come back from the WAL */
    m = open_all(dir, &w);
    ocl_tsdb_t *db = ocl_mingest_tsdb(m, OCL_STR(""), false);
    assert_non_null(db);
    int64_t t = 0;
    double v = -1;
    ocl_labels_t ls = {l, 2};
    assert_int_equal(ocl_tsdb_last_sample(db, &ls, &t, &v), 0);
    assert_true(t == 2000 && v == 0);
    ls.v = l2;
    assert_int_equal(ocl_tsdb_last_sample(db, &ls, &t, &v), 0);
    assert_true(t == 2000 && v == 1);
    ocl_mingest_close(m);
    ocl_wal_close(w);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void write1(ocl_mingest_t *m, const char *tenant, const char *job, int64_t t)
{
    ocl_label_t l[] = {{OCL_STR("__name__"), OCL_STR("m")}, {OCL_STR("job"), ocl_str_c(job)}};
    ocl_sample_t s = {t, (double)t};
    ocl_prom_series_t ser = {{l, 2}, &s, 1};
    ocl_prom_batch_t b = {&ser, 1, NULL, 0};
    ocl_tsdb_append_result_t res;
    assert_int_equal(ocl_mingest_write_prom(m, ocl_str_c(tenant), &b, NULL, 0, &res), 0);
    assert_int_equal(res.appended, 1);
}

/* Makes every accounting bucket look `ns` older. */
static void age_buckets(ocl_mingest_t *m, uint64_t ns)
{
    for (size_t i = 0; i < m->nb; i++)
        m->buckets[i].created_ns -= ns;
}

static void test_lagging_tenant_not_flushed_for_another(void **state)
{
    (void)state;
    char dir[] = "/tmp/ocl_mingest_lag_XXXXXX";
    assert_non_null(mkdtemp(dir));
    ocl_wal_t *w = open_wal(dir);
    ocl_mingest_cfg_t cfg = {
        .data_dir = dir, .wal = w, .tsdb = {.block_range_ms = 1000}, .idle_flush_ms = 1000};
    ocl_mingest_t *m = NULL;
    assert_int_equal(ocl_mingest_open(&cfg, &m), 0);
    /* bucket 1: the lagging tenant's old samples, the live tenant's new one */
    for (int64_t t = 0; t <= 5000; t += 100)
        write1(m, "lag", "a", t);
    write1(m, "live", "a", 1000000);
    /* bucket 1 is now older than idle_flush_ms, and the next append opens
     * bucket 2 (young) */
    age_buckets(m, 2 * BUCKET_NS);
    /* bucket 2: the lagging tenant moves on; its head spans > 1.5 ranges */
    for (int64_t t = 5100; t <= 10000; t += 100)
        write1(m, "lag", "a", t);
    write1(m, "lag", "b", 10000);
    ocl_mingest_maintain(m);
    ocl_tsdb_t *lag = ocl_mingest_tsdb(m, OCL_STR("lag"), false);
    ocl_tsdb_t *live = ocl_mingest_tsdb(m, OCL_STR("live"), false);
    /* the cut persisted lag's bucket-1 samples; bucket 1 is held back by
     * "live" alone, so only "live" is flushed */
    int64_t pb_lag = ocl_tsdb_persisted_before(lag);
    assert_true(pb_lag > 5000);
    assert_true(pb_lag <= 10000);
    assert_true(ocl_tsdb_persisted_before(live) > 1000000);
    /* lag's head still takes a late sample of another series */
    write1(m, "lag", "c", pb_lag);
    ocl_mingest_close(m);
    ocl_wal_close(w);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* A bucket whose opening time is after the clock a writer read is young:
 * appends go into it instead of opening one bucket each. */
static void test_bucket_opened_after_clock_read(void **state)
{
    (void)state;
    char dir[] = "/tmp/ocl_mingest_bucket_XXXXXX";
    assert_non_null(mkdtemp(dir));
    ocl_wal_t *w = open_wal(dir);
    ocl_mingest_cfg_t cfg = {.data_dir = dir, .wal = w};
    ocl_mingest_t *m = NULL;
    assert_int_equal(ocl_mingest_open(&cfg, &m), 0);
    write1(m, "", "a", 1000);
    assert_int_equal(m->nb, 1);
    m->buckets[0].created_ns = ocl_mono_nano() + 10 * BUCKET_NS;
    for (int i = 0; i < 5; i++)
        write1(m, "", "a", 2000 + i);
    assert_int_equal(m->nb, 1);
    assert_int_equal(m->buckets[0].max_seq - m->buckets[0].min_seq, 5);
    ocl_mingest_close(m);
    ocl_wal_close(w);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* A sample refused by the series limit is not durable data: its time
 * (here far in the future) must not hold the WAL back. */
static void test_series_limited_sample_does_not_pin_wal(void **state)
{
    (void)state;
    char dir[] = "/tmp/ocl_mingest_limit_XXXXXX";
    assert_non_null(mkdtemp(dir));
    ocl_wal_t *w = open_wal(dir);
    ocl_mingest_cfg_t cfg = {.data_dir = dir, .wal = w, .tsdb = {.max_series = 1}};
    ocl_mingest_t *m = NULL;
    assert_int_equal(ocl_mingest_open(&cfg, &m), 0);
    write1(m, "", "a", 1000);
    ocl_label_t la[] = {{OCL_STR("__name__"), OCL_STR("m")}, {OCL_STR("job"), OCL_STR("a")}};
    ocl_label_t lb[] = {{OCL_STR("__name__"), OCL_STR("m")}, {OCL_STR("job"), OCL_STR("b")}};
    ocl_sample_t sa = {2000, 2}, sb = {INT64_C(1) << 60, 1};
    ocl_prom_series_t ser[] = {{{la, 2}, &sa, 1}, {{lb, 2}, &sb, 1}};
    ocl_prom_batch_t b = {ser, 2, NULL, 0};
    ocl_tsdb_append_result_t res;
    assert_int_equal(ocl_mingest_write_prom(m, OCL_STR(""), &b, NULL, 0, &res), 0);
    assert_int_equal(res.appended, 1);
    assert_int_equal(res.series_limited, 1);
    /* once the head is persisted, every bucket is obsolete */
    assert_int_equal(ocl_tsdb_flush(ocl_mingest_tsdb(m, OCL_STR(""), false)), 0);
    ocl_mingest_maintain(m);
    for (size_t i = 0; i < m->nb; i++)
        assert_true(m->buckets[i].min_seq > m->buckets[i].max_seq); /* empty */
    ocl_mingest_close(m);
    ocl_wal_close(w);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* Same for a sample refused as too far in the future (max_future_ms): the
 * batch's other samples are stored and logged, the refused one must not
 * set the bucket's time. */
static void test_future_sample_does_not_pin_wal(void **state)
{
    (void)state;
    char dir[] = "/tmp/ocl_mingest_future_XXXXXX";
    assert_non_null(mkdtemp(dir));
    ocl_wal_t *w = open_wal(dir);
    ocl_mingest_cfg_t cfg = {.data_dir = dir, .wal = w};
    ocl_mingest_t *m = NULL;
    assert_int_equal(ocl_mingest_open(&cfg, &m), 0);
    ocl_label_t la[] = {{OCL_STR("__name__"), OCL_STR("m")}, {OCL_STR("job"), OCL_STR("a")}};
    ocl_label_t lb[] = {{OCL_STR("__name__"), OCL_STR("m")}, {OCL_STR("job"), OCL_STR("b")}};
    ocl_sample_t sa = {2000, 2}, sb = {INT64_C(1) << 60, 1};
    ocl_prom_series_t ser[] = {{{la, 2}, &sa, 1}, {{lb, 2}, &sb, 1}};
    ocl_prom_batch_t b = {ser, 2, NULL, 0};
    ocl_tsdb_append_result_t res;
    assert_int_equal(ocl_mingest_write_prom(m, OCL_STR(""), &b, NULL, 0, &res), 0);
    assert_int_equal(res.appended, 1);
    assert_int_equal(res.out_of_bounds, 1);
    assert_int_equal(ocl_tsdb_flush(ocl_mingest_tsdb(m, OCL_STR(""), false)), 0);
    ocl_mingest_maintain(m);
    for (size_t i = 0; i < m->nb; i++)
        assert_true(m->buckets[i].min_seq > m->buckets[i].max_seq); /* empty */
    ocl_mingest_close(m);
    ocl_wal_close(w);

    /* the record (whole batch, refused sample included) is replayed after a
     * restart that comes before the truncation: same accounting */
    char sub[sizeof dir + 8];
    snprintf(sub, sizeof sub, "%s/2", dir);
    assert_int_equal(ocl_mkdir_p(sub), 0);
    w = open_wal(sub);
    cfg = (ocl_mingest_cfg_t){.data_dir = sub, .wal = w};
    assert_int_equal(ocl_mingest_open(&cfg, &m), 0);
    assert_int_equal(ocl_mingest_write_prom(m, OCL_STR(""), &b, NULL, 0, &res), 0);
    assert_int_equal(res.out_of_bounds, 1);
    ocl_mingest_close(m);
    ocl_wal_sync(w);
    ocl_wal_close(w);
    m = open_all(sub, &w);
    assert_int_equal(m->replay_records, 1);
    assert_int_equal(ocl_tsdb_flush(ocl_mingest_tsdb(m, OCL_STR(""), false)), 0);
    ocl_mingest_maintain(m);
    for (size_t i = 0; i < m->nb; i++)
        assert_true(m->buckets[i].min_seq > m->buckets[i].max_seq); /* empty */
    ocl_mingest_close(m);
    ocl_wal_close(w);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* A sample acknowledged within max_future_ms of the wall clock must come
 * back from the WAL even if the clock is behind at the restart (simulated
 * by a smaller bound on reopen), and a sample refused as too far in the
 * future must not come back (the record holds only what was stored). The
 * replayed future sample keeps its record until persisted. */
static void test_replay_ignores_future_bound(void **state)
{
    (void)state;
    char dir[] = "/tmp/ocl_mingest_clockback_XXXXXX";
    assert_non_null(mkdtemp(dir));
    ocl_wal_t *w = open_wal(dir);
    ocl_mingest_cfg_t cfg = {.data_dir = dir, .wal = w};
    ocl_mingest_t *m = NULL;
    assert_int_equal(ocl_mingest_open(&cfg, &m), 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    ocl_label_t la[] = {{OCL_STR("__name__"), OCL_STR("m")}, {OCL_STR("job"), OCL_STR("a")}};
    ocl_label_t lb[] = {{OCL_STR("__name__"), OCL_STR("m")}, {OCL_STR("job"), OCL_STR("b")}};
    ocl_sample_t sa[] = {{now + 5 * 60 * 1000, 1}, {now + 3600 * 1000, 2}};
    ocl_sample_t sb = {now + 3600 * 1000, 3};
    ocl_prom_series_t ser[] = {{{la, 2}, sa, 2}, {{lb, 2}, &sb, 1}};
    ocl_prom_batch_t b = {ser, 2, NULL, 0};
    ocl_tsdb_append_result_t res;
    assert_int_equal(ocl_mingest_write_prom(m, OCL_STR(""), &b, NULL, 0, &res), 0);
    assert_int_equal(res.appended, 1);
    assert_int_equal(res.out_of_bounds, 2);
    assert_int_equal(res.too_new, 2);
    ocl_mingest_close(m);
    ocl_wal_sync(w);
    ocl_wal_close(w);

    /* restart with the wall clock "behind": bound 1 ms */
    w = open_wal(dir);
    cfg = (ocl_mingest_cfg_t){.data_dir = dir, .wal = w, .tsdb = {.max_future_ms = 1}};
    assert_int_equal(ocl_mingest_open(&cfg, &m), 0);
    replay_t r = {.m = m};
    ocl_arena_init(&r.a, 1 << 16);
    assert_int_equal(ocl_wal_replay(w, replay_cb, &r), 0);
    ocl_arena_dispose(&r.a);
    assert_int_equal(m->replay_rejected, 0);
    ocl_tsdb_t *db = ocl_mingest_tsdb(m, OCL_STR(""), false);
    assert_non_null(db);
    int64_t t = 0;
    double v = -1;
    ocl_labels_t ls = {la, 2};
    assert_int_equal(ocl_tsdb_last_sample(db, &ls, &t, &v), 0);
    assert_true(t == sa[0].t && v == 1);
    ls.v = lb;
    assert_int_equal(ocl_tsdb_last_sample(db, &ls, &t, &v), OCL_ENOTFOUND);
    /* accounting: the record stays until its sample is persisted */
    ocl_mingest_maintain(m);
    bool held = false;
    for (size_t i = 0; i < m->nb; i++)
        held |= m->buckets[i].min_seq <= m->buckets[i].max_seq;
    assert_true(held);
    assert_int_equal(ocl_tsdb_flush(db), 0);
    ocl_mingest_maintain(m);
    for (size_t i = 0; i < m->nb; i++)
        assert_true(m->buckets[i].min_seq > m->buckets[i].max_seq); /* empty */
    ocl_mingest_close(m);
    ocl_wal_close(w);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* Metadata outlives the truncation of the WAL records that carried it
 * (it used to live only in memory and the WAL: gone after a restart). A
 * record with metadata accounted after a maintenance pass began is kept by
 * that pass's truncation (its metadata may not be in the file yet). */
static void test_metadata_survives_wal_truncation(void **state)
{
    (void)state;
    char dir[] = "/tmp/ocl_mingest_meta_XXXXXX";
    assert_non_null(mkdtemp(dir));
    ocl_wal_t *w;
    ocl_mingest_t *m = open_all(dir, &w);
    ocl_label_t l[] = {{OCL_STR("__name__"), OCL_STR("up")}, {OCL_STR("job"), OCL_STR("x")}};
    ocl_sample_t smp = {2000, 1};
    ocl_prom_series_t ser = {{l, 2}, &smp, 1};
    ocl_prom_meta_t meta = {OCL_STR("up"), OCL_PT_GAUGE, OCL_STR("is it up"), OCL_STR("")};
    ocl_prom_batch_t b = {&ser, 1, &meta, 1};
    ocl_tsdb_append_result_t res;
    assert_int_equal(ocl_mingest_write_prom(m, OCL_STR(""), &b, NULL, 0, &res), 0);
    assert_int_equal(ocl_tsdb_flush(ocl_mingest_tsdb(m, OCL_STR(""), false)), 0);
    /* a record with metadata accounted during the pass is kept by it */
    meta_arrives_in = m;
    ocl_mingest_maintain(m);
    meta_arrives_in = NULL;
    bool held = false;
    for (size_t i = 0; i < m->nb; i++)
        held |= m->buckets[i].min_seq <= m->buckets[i].max_seq;
    assert_true(held);
    ocl_mingest_maintain(m); /* the next pass wrote it: truncatable */
    for (size_t i = 0; i < m->nb; i++)
        assert_true(m->buckets[i].min_seq > m->buckets[i].max_seq); /* empty */
    ocl_mingest_close(m);
    ocl_wal_close(w);
    /* truncation is per segment and keeps the active one: remove the WAL
     * to get the state after the segment is truncated */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s/wal", dir);
    assert_int_equal(system(cmd), 0);
    m = open_all(dir, &w);
    assert_int_equal(m->replay_records, 0);
    ocl_tsdb_t *db = ocl_mingest_tsdb(m, OCL_STR(""), false);
    assert_non_null(db);
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_prom_meta_t *out;
    size_t n;
    assert_int_equal(ocl_tsdb_metadata(db, OCL_STR(""), 0, &a, &out, &n), 0);
    assert_int_equal(n, 1);
    assert_true(ocl_str_eq(out[0].help, OCL_STR("is it up")));
    ocl_arena_dispose(&a);
    ocl_mingest_close(m);
    ocl_wal_close(w);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* Samples refused by the series limit are not in the WAL record: replay
 * skips the limit, and used to store them after a restart (the head then
 * held more series than the limit, with samples the sender was told were
 * refused). */
static void test_series_limited_not_replayed(void **state)
{
    (void)state;
    char dir[] = "/tmp/ocl_mingest_limrep_XXXXXX";
    assert_non_null(mkdtemp(dir));
    ocl_wal_t *w = open_wal(dir);
    ocl_mingest_cfg_t cfg = {.data_dir = dir, .wal = w, .tsdb = {.max_series = 1}};
    ocl_mingest_t *m = NULL;
    assert_int_equal(ocl_mingest_open(&cfg, &m), 0);
    write1(m, "", "a", 1000);
    ocl_label_t la[] = {{OCL_STR("__name__"), OCL_STR("m")}, {OCL_STR("job"), OCL_STR("a")}};
    ocl_label_t lb[] = {{OCL_STR("__name__"), OCL_STR("m")}, {OCL_STR("job"), OCL_STR("b")}};
    ocl_sample_t sa = {2000, 2}, sb = {3000, 3};
    ocl_prom_series_t ser[] = {{{la, 2}, &sa, 1}, {{lb, 2}, &sb, 1}};
    ocl_prom_batch_t b = {ser, 2, NULL, 0};
    ocl_tsdb_append_result_t res;
    assert_int_equal(ocl_mingest_write_prom(m, OCL_STR(""), &b, NULL, 0, &res), 0);
    assert_int_equal(res.appended, 1);
    assert_int_equal(res.series_limited, 1);
    ocl_mingest_close(m);
    ocl_wal_sync(w);
    ocl_wal_close(w);
    w = open_wal(dir);
    assert_int_equal(ocl_mingest_open(&cfg, &m), 0);
    replay_t r = {.m = m};
    ocl_arena_init(&r.a, 1 << 16);
    assert_int_equal(ocl_wal_replay(w, replay_cb, &r), 0);
    ocl_arena_dispose(&r.a);
    ocl_tsdb_t *db = ocl_mingest_tsdb(m, OCL_STR(""), false);
    int64_t t = 0;
    double v = 0;
    ocl_labels_t ls = {la, 2};
    assert_int_equal(ocl_tsdb_last_sample(db, &ls, &t, &v), 0);
    assert_true(t == 2000 && v == 2);
    ls.v = lb;
    assert_int_equal(ocl_tsdb_last_sample(db, &ls, &t, &v), OCL_ENOTFOUND);
    ocl_mingest_close(m);
    ocl_wal_close(w);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

enum { STRESS_WRITERS = 4, STRESS_PER_WRITER = 1500 };

typedef struct {
    ocl_mingest_t *m; /* target */
    int id;           /* writer number: tenant "t<id>" ("" for 0), series "w<id>" */
    int acked;        /* samples acknowledged */
    int done;         /* set when the writer ends (atomic) */
} stress_t;

static void *stress_writer(void *arg)
{
    stress_t *st = arg;
    char job[8];
    snprintf(job, sizeof job, "w%d", st->id);
    char tenant[8] = "";
    if (st->id) snprintf(tenant, sizeof tenant, "t%d", st->id);
    for (int i = 0; i < STRESS_PER_WRITER; i++) {
        ocl_label_t l[] = {{OCL_STR("__name__"), OCL_STR("m")}, {OCL_STR("job"), ocl_str_c(job)}};
        ocl_sample_t s = {(int64_t)i * 10, (double)i};
        ocl_prom_series_t ser = {{l, 2}, &s, 1};
        ocl_prom_batch_t b = {&ser, 1, NULL, 0};
        ocl_tsdb_append_result_t res;
        if (ocl_mingest_write_prom(st->m, ocl_str_c(tenant), &b, NULL, 0, &res) == 0 &&
            res.appended == 1)
            st->acked = i + 1;
        else
            break;                   /* one writer per tenant: in order, never refused */
        if (i % 5 == 0) usleep(200); /* spread over many maintenance passes */
    }
    __atomic_store_n(&st->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void test_stress_restart_keeps_acked(void **state)
{
    (void)state;
    char dir[] = "/tmp/ocl_mingest_stress_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[512];
    snprintf(path, sizeof path, "%s/wal", dir);
    assert_int_equal(ocl_mkdir_p(path), 0);
    ocl_wal_cfg_t wc = {.dir = path, .fsync = OCL_FSYNC_NEVER, .segment_bytes = 4096};
    ocl_wal_t *w = NULL;
    assert_int_equal(ocl_wal_open(&wc, &w), 0);
    ocl_mingest_cfg_t cfg = {.data_dir = dir, .wal = w, .tsdb = {.block_range_ms = 1000}};
    ocl_mingest_t *m = NULL;
    assert_int_equal(ocl_mingest_open(&cfg, &m), 0);
    pthread_t th[STRESS_WRITERS];
    stress_t st[STRESS_WRITERS];
    for (int i = 0; i < STRESS_WRITERS; i++) {
        st[i] = (stress_t){m, i, 0, 0};
        assert_int_equal(pthread_create(&th[i], NULL, stress_writer, &st[i]), 0);
    }
    /* the maintenance runs in parallel, as often as it can; every pass
     * also makes the open bucket a second old, so that the next append
     * opens another and truncation has buckets to retire */
    int running = STRESS_WRITERS;
    for (int k = 0; k < 20000 && running; k++) {
        pthread_mutex_lock(&m->bucket_mu);
        age_buckets(m, BUCKET_NS);
        pthread_mutex_unlock(&m->bucket_mu);
        ocl_mingest_maintain(m);
        usleep(500);
        running = 0;
        for (int i = 0; i < STRESS_WRITERS; i++)
            running += __atomic_load_n(&st[i].done, __ATOMIC_ACQUIRE) == 0;
    }
    for (int i = 0; i < STRESS_WRITERS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    ocl_mingest_maintain(m); /* truncate after the last appends */
    ocl_wal_stats_t ws;
    ocl_wal_stats(w, &ws);
    /* segments were deleted (without truncation the segment headers make
     * the files larger than the records written; how much goes depends on
     * how far the writers drifted apart: the WAL keeps everything from the
     * oldest record not yet in a block of its tenant) */
    assert_true(ws.disk_bytes < ws.bytes_written);
    ocl_mingest_close(m);
    ocl_wal_close(w); /* like a crash: heads gone, only blocks + WAL remain */

    m = open_all(dir, &w);
    for (int i = 0; i < STRESS_WRITERS; i++) {
        assert_int_equal(st[i].acked, STRESS_PER_WRITER);
        char tenant[8] = "";
        if (i) snprintf(tenant, sizeof tenant, "t%d", i);
        ocl_tsdb_t *db = ocl_mingest_tsdb(m, ocl_str_c(tenant), false);
        assert_non_null(db);
        char job[8];
        snprintf(job, sizeof job, "w%d", i);
        ocl_matcher_t mt;
        char err[64];
        assert_int_equal(
            ocl_matcher_init(&mt, OCL_MATCH_EQ, OCL_STR("job"), ocl_str_c(job), err, sizeof err),
            0);
        ocl_arena_t a;
        ocl_arena_init(&a, 1 << 16);
        ocl_series_t *ser;
        size_t n;
        assert_int_equal(ocl_tsdb_select(db, &mt, 1, 0, INT64_MAX, 0, &a, &ser, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(ser[0].n, STRESS_PER_WRITER);
        for (uint32_t j = 0; j < ser[0].n; j++)
            assert_true(ser[0].t[j] == (int64_t)j * 10 && ser[0].v[j] == (double)j);
        ocl_arena_dispose(&a);
        ocl_matcher_dispose(&mt);
    }
    ocl_mingest_close(m);
    ocl_wal_close(w);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_after_wal_failure_is_logged),
        cmocka_unit_test(test_lagging_tenant_not_flushed_for_another),
        cmocka_unit_test(test_bucket_opened_after_clock_read),
        cmocka_unit_test(test_series_limited_sample_does_not_pin_wal),
        cmocka_unit_test(test_future_sample_does_not_pin_wal),
        cmocka_unit_test(test_replay_ignores_future_bound),
        cmocka_unit_test(test_metadata_survives_wal_truncation),
        cmocka_unit_test(test_series_limited_not_replayed),
        cmocka_unit_test(test_stress_restart_keeps_acked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
