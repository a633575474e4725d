/*
 * test_tsdb_blocks.c — unit tests of the TSDB's on-disk side: head → block
 * cut by ocl_tsdb_maintain, flush, reopen with identical query answers,
 * out-of-bounds appends below the watermark, compaction of adjacent
 * blocks, retention by age and by size, and damaged blocks (corrupt index,
 * corrupt chunk page, truncated meta, leftover .tmp) skipped without
 * failing. Each test works in its own mkdtemp() directory, removed after.
 * Block ranges are tiny (1 s) so that many blocks come from little data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "store/metrics/block.h"
#include "tsdb_test_util.h"

#include <fcntl.h>
#include <pthread.h>

#define NSER 40

static ocl_tsdb_t *open_dir(const char *dir, int64_t range, int64_t retention, uint64_t bytes)
{
    ocl_tsdb_opts_t o = {
        .dir = dir, .block_range_ms = range, .retention_ms = retention, .retention_bytes = bytes};
    ocl_tsdb_t *db;
    assert_int_equal(ocl_tsdb_open(&o, &db), 0);
    return db;
}

/* NSER series, samples every `step` ms in [t0, t1]; value = f(series, t). */
static void load(ocl_tsdb_t *db, int64_t t0, int64_t t1, int64_t step)
{
    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 16);
    ocl_prom_series_t ps[NSER];
    ocl_sample_t smp[NSER];
    for (int i = 0; i < NSER; i++) {
        char *id = ocl_arena_alloc(&a, 32);
        snprintf(id, 32, "id=%03d", i);
        ps[i].labels = tl_labels(&a, "__name__=metric", id, i % 3 ? "kind=gauge" : "kind=counter",
                                 "job=node", NULL);
        ps[i].samples = &smp[i];
        ps[i].n_samples = 1;
    }
    for (int64_t t = t0; t <= t1; t += step) {
        for (int i = 0; i < NSER; i++)
            smp[i] = (ocl_sample_t){t, i % 3 ? (double)((t / 1000) % 7) + i : (double)t * 0.5 + i};
        ocl_prom_batch_t b = {ps, NSER, NULL, 0};
        ocl_tsdb_append_result_t r;
        assert_int_equal(ocl_tsdb_append(db, &b, &r), 0);
        assert_int_equal(r.appended, NSER);
    }
    ocl_arena_dispose(&a);
}

/* Checks that a full select returns exactly the samples load() produced in
 * [t0, t1] for every series (and nothing else). */
static void check(ocl_tsdb_t *db, int64_t t0, int64_t t1, int64_t step, int64_t qmin, int64_t qmax)
{
    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 16);
    ocl_matcher_t m = tl_m(OCL_MATCH_EQ, "job", "node");
    ocl_series_t *out;
    size_t n;
    assert_int_equal(ocl_tsdb_select(db, &m, 1, qmin, qmax, 0, &a, &out, &n), 0);
    assert_int_equal(n, NSER);
    int64_t lo = OCL_MAX(t0, qmin), hi = OCL_MIN(t1, qmax);
    int64_t first = lo + ((step - (lo - t0) % step) % step);
    uint32_t want = first > hi ? 0 : (uint32_t)((hi - first) / step + 1);
    for (size_t i = 0; i < n; i++) {
        int id = atoi(ocl_labels_get(&out[i].labels, OCL_STR("id")).p);
        assert_int_equal((int)i, id); /* sorted by labels */
        assert_int_equal(out[i].n, want);
        for (uint32_t k = 0; k < out[i].n; k++) {
            int64_t t = first + (int64_t)k * step;
            assert_true(out[i].t[k] == t);
            double v = id % 3 ? (double)((t / 1000) % 7) + id : (double)t * 0.5 + id;
            assert_true(out[i].v[k] == v);
        }
    }
    ocl_matcher_dispose(&m);
    ocl_arena_dispose(&a);
}

static void test_cut_and_reopen(void **st)
{
    (void)st;
    char *dir = tl_tmpdir();
    ocl_tsdb_t *db = open_dir(dir, 1000, 0, 0);
    assert_true(ocl_tsdb_persisted_before(db) == INT64_MIN);
    load(db, 0, 9950, 50);
    check(db, 0, 9950, 50, INT64_MIN, INT64_MAX);
    assert_int_equal(ocl_tsdb_maintain(db), 0);
    ocl_tsdb_stats_t sts;
    ocl_tsdb_stats(db, &sts);
    assert_true(sts.blocks >= 1);
    int64_t pb = ocl_tsdb_persisted_before(db);
    /* head max 9950: cut while max - min > 1500 → blocks up to 9000 */
    assert_true(pb == 9000);
    assert_true(sts.head_min_t == 9000);
    assert_true(sts.block_samples + sts.head_samples == NSER * 200ULL);
    /* head and blocks merged transparently */
    check(db, 0, 9950, 50, INT64_MIN, INT64_MAX);
    check(db, 0, 9950, 50, 7000, 8500);
    /* below the watermark: out of bounds */
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_tsdb_append_result_t r = tl_append1(db, tl_labels(&a, "__name__=late", NULL), 8999, 1);
    assert_int_equal(r.out_of_bounds, 1);
    assert_non_null(strstr(r.first_error, "out of bounds"));
    r = tl_append1(db, tl_labels(&a, "__name__=late", NULL), 9000, 1);
    assert_int_equal(r.appended, 1);
    /* labels across blocks and head */
    ocl_str_t *v;
    size_t n;
    assert_int_equal(
        ocl_tsdb_label_values(db, OCL_STR("__name__"), NULL, 0, INT64_MIN, INT64_MAX, &a, &v, &n),
        0);
    assert_int_equal(n, 2);
    assert_int_equal(ocl_tsdb_label_values(db, OCL_STR("__name__"), NULL, 0, 0, 100, &a, &v, &n),
                     0);
    assert_int_equal(n, 1);
    ocl_matcher_t m = tl_m(OCL_MATCH_EQ, "kind", "counter");
    assert_int_equal(ocl_tsdb_label_values(db, OCL_STR("id"), &m, 1, 0, 100, &a, &v, &n), 0);
    assert_int_equal(n, (NSER + 2) / 3);
    ocl_matcher_dispose(&m);
    ocl_tsdb_close(db);

    /* reopen: the blocks answer for [0, 9000) */
    db = open_dir(dir, 1000, 0, 0);
    assert_true(ocl_tsdb_persisted_before(db) == 9000);
    check(db, 0, 8950, 50, INT64_MIN, INT64_MAX);
    r = tl_append1(db, tl_labels(&a, "__name__=late", NULL), 7000, 1);
    assert_int_equal(r.out_of_bounds, 1);
    /* replaying the rest (as the WAL would) and flushing persists all */
    load(db, 9000, 9950, 50);
    assert_int_equal(ocl_tsdb_flush(db), 0);
    assert_true(ocl_tsdb_persisted_before(db) == 9951);
    ocl_tsdb_stats(db, &sts);
    assert_int_equal(sts.head_samples, 0);
    ocl_tsdb_close(db);
    db = open_dir(dir, 1000, 0, 0);
    check(db, 0, 9950, 50, INT64_MIN, INT64_MAX);
    check(db, 0, 9950, 50, 3333, 6666);
    /* appends continue after a flush */
    load(db, 10000, 10500, 50);
    check(db, 0, 10500, 50, INT64_MIN, INT64_MAX);
    ocl_tsdb_close(db);
    ocl_arena_dispose(&a);
    tl_rmrf(dir);
    free(dir);
}

static void test_compaction(void **st)
{
    (void)st;
    char *dir = tl_tmpdir();
    /* range 1 s, retention 100 s → compaction windows of 3 s and 9 s */
    ocl_tsdb_t *db = open_dir(dir, 1000, 100000, 0);
    load(db, 0, 29950, 50);
    assert_int_equal(ocl_tsdb_maintain(db), 0);
    ocl_tsdb_stats_t sts;
    ocl_tsdb_stats(db, &sts);
    /* 28 one-second blocks would have been cut; compaction leaves far fewer */
    assert_true(sts.blocks < 10);
    assert_true(sts.block_samples + sts.head_samples == NSER * 600ULL);
    check(db, 0, 29950, 50, INT64_MIN, INT64_MAX);
    struct ocl_tsdb *in = (struct ocl_tsdb *)db;
    uint32_t max_level = 0;
    for (uint32_t i = 0; i < in->nblocks; i++) {
        max_level = OCL_MAX(max_level, in->blocks[i]->level);
        int64_t span = in->blocks[i]->maxt - in->blocks[i]->mint;
        assert_true(span == 1000 || span == 3000 || span == 9000);
        if (i) assert_true(in->blocks[i]->mint >= in->blocks[i - 1]->maxt); /* no overlap */
    }
    assert_true(max_level >= 3);
    ocl_tsdb_close(db);
    db = open_dir(dir, 1000, 100000, 0);
    check(db, 0, 28950, 50, INT64_MIN, INT64_MAX);
    ocl_tsdb_close(db);
    tl_rmrf(dir);
    free(dir);
}

static void test_retention_age(void **st)
{
    (void)st;
    char *dir = tl_tmpdir();
    ocl_tsdb_t *db = open_dir(dir, 1000, 5000, 0);
    load(db, 0, 19950, 50);
    assert_int_equal(ocl_tsdb_maintain(db), 0);
    ocl_tsdb_stats_t sts;
    ocl_tsdb_stats(db, &sts);
    /* newest 19950: blocks ending at or before 14950 are gone */
    assert_true(sts.min_t >= 14000);
    assert_true(sts.blocks >= 1);
    check(db, sts.min_t, 19950, 50, sts.min_t, INT64_MAX);
    /* old data is valid on its own: nothing is dropped by wall-clock age */
    assert_true(sts.max_t == 19950);
    ocl_tsdb_close(db);
    tl_rmrf(dir);
    free(dir);
}

static void test_retention_size(void **st)
{
    (void)st;
    char *dir = tl_tmpdir();
    /* retention 20 s: no compaction (windows ≤ 2 s), nothing too old */
    ocl_tsdb_t *db = open_dir(dir, 1000, 20000, 0);
    load(db, 0, 9950, 50);
    assert_int_equal(ocl_tsdb_flush(db), 0);
    ocl_tsdb_stats_t sts;
    ocl_tsdb_stats(db, &sts);
    uint64_t nblocks = sts.blocks, bytes = sts.block_bytes;
    assert_int_equal(nblocks, 10);
    ocl_tsdb_close(db);
    db = open_dir(dir, 1000, 20000, bytes / 2);
    assert_int_equal(ocl_tsdb_maintain(db), 0);
    ocl_tsdb_stats(db, &sts);
    assert_true(sts.block_bytes <= bytes / 2);
    assert_true(sts.blocks >= 3 && sts.blocks < nblocks);
    /* the newest blocks survive */
    assert_true(sts.max_t == 9950);
    check(db, sts.min_t, 9950, 50, sts.min_t, INT64_MAX);
    ocl_tsdb_close(db);
    tl_rmrf(dir);
    free(dir);
}

/* Names of the block directories (and other directories), sorted. */
static int block_dirs(const char *dir, char names[][64], int max)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL && n < max) {
        char p[4400];
        struct stat sb;
        snprintf(p, sizeof p, "%.2000s/%.255s", dir, de->d_name);
        /* directories only: the state files (metadata, watermark) are not blocks */
        if (de->d_name[0] != '.' && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
            snprintf(names[n++], 64, "%.60s", de->d_name);
    }
    if (d) closedir(d);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char t[64];
            memcpy(t, names[j], 64);
            memcpy(names[j], names[j - 1], 64);
            memcpy(names[j - 1], t, 64);
        }
    return n;
}

static void flip_byte(const char *path, long off)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    off_t size = lseek(fd, 0, SEEK_END);
    if (off < 0) off += size;
    uint8_t c;
    assert_int_equal(pread(fd, &c, 1, off), 1);
    c ^= 0x5a;
    assert_int_equal(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

static void test_corrupt_blocks(void **st)
{
    (void)st;
    char *dir = tl_tmpdir();
    ocl_tsdb_t *db = open_dir(dir, 1000, 0, 0);
    load(db, 0, 3950, 50);
    assert_int_equal(ocl_tsdb_flush(db), 0);
    ocl_tsdb_close(db);
    char names[16][64], p[4300];
    assert_int_equal(block_dirs(dir, names, 16), 4);
    int by_time[4] = {-1, -1, -1, -1};
    for (int i = 0; i < 4; i++) {
        ocl_block_t *b;
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        assert_int_equal(ocl_block_open(p, &b), 0);
        assert_true(b->mint >= 0 && b->mint < 4000);
        by_time[b->mint / 1000] = i;
        ocl_block_close(b);
    }
    /* block 0: index damaged; block 1: meta truncated; block 2: a chunk page damaged */
    snprintf(p, sizeof p, "%s/%s/index", dir, names[by_time[0]]);
    flip_byte(p, 20);
    snprintf(p, sizeof p, "%s/%s/meta", dir, names[by_time[1]]);
    assert_int_equal(truncate(p, 40), 0);
    snprintf(p, sizeof p, "%s/%s/chunks", dir, names[by_time[2]]);
    flip_byte(p, 30);
    /* an unfinished block is removed */
    snprintf(p, sizeof p, "%s/01ZZZZZZZZZZZZZZZZZZZZZZZZ.tmp", dir);
    assert_int_equal(mkdir(p, 0755), 0);
    db = open_dir(dir, 1000, 0, 0);
    ocl_tsdb_stats_t sts;
    ocl_tsdb_stats(db, &sts);
    assert_int_equal(sts.blocks, 2);
    assert_int_equal(access(p, F_OK), -1);
    /* block 2's page fails its checksum: its series come back without
     * samples there, block 3 is intact */
    check(db, 3000, 3950, 50, 3000, INT64_MAX);
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_matcher_t m = tl_m(OCL_MATCH_EQ, "job", "node");
    ocl_series_t *out;
    size_t n;
    assert_int_equal(ocl_tsdb_select(db, &m, 1, 2000, 2999, 0, &a, &out, &n), 0);
    assert_int_equal(n, 0);
    ocl_matcher_dispose(&m);
    ocl_arena_dispose(&a);
    ocl_tsdb_close(db);
    tl_rmrf(dir);
    free(dir);
}

static void test_index_truncations(void **st)
{
    (void)st;
    /* every prefix of a valid index fails to parse cleanly, and so does
     * every single-byte corruption (checksums) */
    char *dir = tl_tmpdir();
    ocl_tsdb_t *db = open_dir(dir, 1000, 0, 0);
    load(db, 0, 950, 50);
    assert_int_equal(ocl_tsdb_flush(db), 0);
    struct ocl_tsdb *in = (struct ocl_tsdb *)db;
    assert_int_equal(in->nblocks, 1);
    const ocl_block_t *b = in->blocks[0];
    for (size_t len = 0; len < b->idxlen; len++) {
        ocl_block_t tmp = {0};
        uint8_t *copy = malloc(len + 1);
        memcpy(copy, b->idx, len);
        assert_int_equal(ocl_block_parse_index(&tmp, copy, len), OCL_ECORRUPT);
        free(copy);
    }
    for (size_t i = 0; i < b->idxlen; i += 7) {
        ocl_block_t tmp = {0};
        uint8_t *copy = malloc(b->idxlen);
        memcpy(copy, b->idx, b->idxlen);
        copy[i] ^= 0x01;
        assert_int_equal(ocl_block_parse_index(&tmp, copy, b->idxlen), OCL_ECORRUPT);
        free(copy);
    }
    ocl_tsdb_close(db);
    tl_rmrf(dir);
    free(dir);
}

static void test_extreme_times(void **st)
{
    (void)st;
    /* timestamps at the ends of the int64 range survive cut, flush, reopen */
    char *dir = tl_tmpdir();
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    /* retention by age is relative to the newest sample (INT64_MAX here) */
    ocl_tsdb_t *db = open_dir(dir, 1000, INT64_MAX, 0);
    ocl_labels_t ls = tl_labels(&a, "__name__=x", NULL);
    int64_t t[] = {0, 5, 1700000000000LL, INT64_MAX - 1, INT64_MAX};
    double v[] = {1, 2, 3, 4, 5};
    ocl_tsdb_append_result_t r = tl_append(db, ls, t, v, 5);
    assert_int_equal(r.appended, 5);
    assert_int_equal(ocl_tsdb_maintain(db), 0);
    assert_int_equal(ocl_tsdb_flush(db), 0);
    ocl_tsdb_close(db);
    db = open_dir(dir, 1000, INT64_MAX, 0);
    ocl_matcher_t m = tl_m(OCL_MATCH_EQ, "__name__", "x");
    ocl_series_t *out;
    size_t n;
    assert_int_equal(ocl_tsdb_select(db, &m, 1, INT64_MIN, INT64_MAX, 0, &a, &out, &n), 0);
    assert_int_equal(n, 1);
    /* INT64_MAX itself stays in the head (no block can end after it), which
     * is gone after the reopen (the WAL would replay it) */
    assert_int_equal(out[0].n, 4);
    for (uint32_t i = 0; i < out[0].n; i++)
        assert_true(out[0].t[i] == t[i] && out[0].v[i] == v[i]);
    ocl_matcher_dispose(&m);
    ocl_tsdb_close(db);
    ocl_arena_dispose(&a);
    tl_rmrf(dir);
    free(dir);
}

typedef struct {
    ocl_tsdb_t *db; /* database under test */
    int stop;       /* set when the appender is done */
    int errors;     /* failed calls or unsorted answers */
} conc_t;

static void *maintainer(void *arg)
{
    conc_t *c = arg;
    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 16);
    ocl_matcher_t m = tl_m(OCL_MATCH_EQ, "job", "node");
    for (int i = 0; i < 100000 && !__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE); i++) {
        if (ocl_tsdb_maintain(c->db) != 0) c->errors++;
        ocl_series_t *out;
        size_t n;
        if (ocl_tsdb_select(c->db, &m, 1, INT64_MIN, INT64_MAX, 0, &a, &out, &n) != 0) c->errors++;
        for (size_t k = 0; k < n; k++)
            for (uint32_t j = 1; j < out[k].n; j++)
                if (out[k].t[j] <= out[k].t[j - 1]) c->errors++;
        ocl_arena_reset(&a);
    }
    ocl_matcher_dispose(&m);
    ocl_arena_dispose(&a);
    return NULL;
}

static void test_maintain_concurrent(void **st)
{
    (void)st;
    /* appends race with cuts, compactions and queries: nothing may be lost */
    char *dir = tl_tmpdir();
    conc_t c = {.db = open_dir(dir, 1000, 1000000, 0)};
    pthread_t th;
    pthread_create(&th, NULL, maintainer, &c);
    for (int64_t t0 = 0; t0 < 40000; t0 += 1000)
        load(c.db, t0, t0 + 950, 50);
    __atomic_store_n(&c.stop, 1, __ATOMIC_RELEASE);
    pthread_join(th, NULL);
    assert_int_equal(c.errors, 0);
    assert_int_equal(ocl_tsdb_maintain(c.db), 0);
    check(c.db, 0, 39950, 50, INT64_MIN, INT64_MAX);
    ocl_tsdb_stats_t sts;
    ocl_tsdb_stats(c.db, &sts);
    assert_true(sts.blocks >= 1);
    assert_true(sts.block_samples + sts.head_samples == NSER * 800ULL);
    ocl_tsdb_close(c.db);
    tl_rmrf(dir);
    free(dir);
}

/* When retention deletes every block, the "persisted before" watermark
 * must survive a restart (watermark file): a WAL record held back by a
 * newer sample is replayed whole, and its old samples (persisted, then
 * expired) must stay out instead of coming back into the head. */
static void test_watermark_survives_retention(void **st)
{
    (void)st;
    char *dir = tl_tmpdir();
    ocl_tsdb_t *db = open_dir(dir, 1000, 20000, 0);
    load(db, 0, 2950, 50);
    assert_int_equal(ocl_tsdb_flush(db), 0);
    int64_t pb = ocl_tsdb_persisted_before(db);
    assert_true(pb > 2950);
    ocl_tsdb_close(db);
    db = open_dir(dir, 1000, 20000, 1); /* a 1-byte bound drops every block */
    assert_int_equal(ocl_tsdb_maintain(db), 0);
    ocl_tsdb_stats_t sts;
    ocl_tsdb_stats(db, &sts);
    assert_int_equal(sts.blocks, 0);
    assert_int_equal(ocl_tsdb_persisted_before(db), pb);
    ocl_tsdb_close(db);
    db = open_dir(dir, 1000, 20000, 0);
    assert_int_equal(ocl_tsdb_persisted_before(db), pb);
    /* the replay of a record holding an old and a new sample */
    ocl_label_t l[1] = {{OCL_STR("__name__"), OCL_STR("x")}};
    ocl_sample_t smp[2] = {{100, 1}, {pb + 10, 2}};
    ocl_prom_series_t ps = {{l, 1}, smp, 2};
    ocl_prom_batch_t b = {&ps, 1, NULL, 0};
    ocl_tsdb_append_result_t r;
    assert_int_equal(ocl_tsdb_append_replay(db, &b, &r), 0);
    assert_int_equal(r.appended, 1);
    assert_int_equal(r.out_of_bounds, 1);
    ocl_tsdb_close(db);
    /* a damaged watermark file is ignored, not fatal */
    char p[512];
    snprintf(p, sizeof p, "%s/watermark", dir);
    flip_byte(p, 9);
    db = open_dir(dir, 1000, 20000, 0);
    assert_int_equal(ocl_tsdb_persisted_before(db), INT64_MIN);
    ocl_tsdb_close(db);
    tl_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cut_and_reopen),
        cmocka_unit_test(test_compaction),
        cmocka_unit_test(test_retention_age),
        cmocka_unit_test(test_retention_size),
        cmocka_unit_test(test_corrupt_blocks),
        cmocka_unit_test(test_index_truncations),
        cmocka_unit_test(test_maintain_concurrent),
        cmocka_unit_test(test_extreme_times),
        cmocka_unit_test(test_watermark_survives_retention),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
