/*
 * test_tsdb_edges.c — edge cases of the metrics TSDB found in review:
 * samples exactly at block boundaries through cut, flush, compaction and
 * reopen with inclusive [mint, maxt] selects; staleness markers through
 * DEC/XOR block encoding and compaction; blocks left overlapping by a
 * crash between a compaction's rename and the deletion of its sources;
 * label matchers that accept the empty string (Prometheus semantics) on
 * the head and on blocks. Each test works in its own mkdtemp() directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "store/metrics/block.h"
#include "store/wal/wal.h"
#include "tsdb_test_util.h"

#include <zstd.h>

static ocl_tsdb_t *open_dir(const char *dir, int64_t range, int64_t retention)
{
    ocl_tsdb_opts_t o = {.dir = dir, .block_range_ms = range, .retention_ms = retention};
    ocl_tsdb_t *db;
    assert_int_equal(ocl_tsdb_open(&o, &db), 0);
    return db;
}

/* Selects __name__="x" in [mint, maxt]; returns the sample count of the
 * single series (0 when none) and copies timestamps/values into t/v. */
static uint32_t sel(ocl_tsdb_t *db, int64_t mint, int64_t maxt, int64_t *t, double *v)
{
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_matcher_t m = tl_m(OCL_MATCH_EQ, "__name__", "x");
    ocl_series_t *out;
    size_t n;
    assert_int_equal(ocl_tsdb_select(db, &m, 1, mint, maxt, 0, &a, &out, &n), 0);
    assert_true(n <= 1);
    uint32_t k = n ? out[0].n : 0;
    for (uint32_t i = 0; i < k; i++) {
        if (t) t[i] = out[0].t[i];
        if (v) v[i] = out[0].v[i];
        if (i) assert_true(out[0].t[i] > out[0].t[i - 1]);
    }
    ocl_matcher_dispose(&m);
    ocl_arena_dispose(&a);
    return k;
}

static void check_boundaries(ocl_tsdb_t *db)
{
    /* samples at 0, 999, 1000, 1999, 2000, ..., 5000 */
    int64_t t[64];
    assert_int_equal(sel(db, INT64_MIN, INT64_MAX, t, NULL), 11);
    assert_int_equal(sel(db, 1000, 1000, t, NULL), 1);
    assert_true(t[0] == 1000);
    assert_int_equal(sel(db, 999, 1000, t, NULL), 2);
    assert_int_equal(sel(db, 1000, 1999, t, NULL), 2);
    assert_int_equal(sel(db, 1001, 1998, t, NULL), 0);
    assert_int_equal(sel(db, 1999, 2000, t, NULL), 2);
    assert_int_equal(sel(db, 5000, 5000, t, NULL), 1);
    assert_int_equal(sel(db, 5001, INT64_MAX, t, NULL), 0);
}

static void test_block_boundaries(void **st)
{
    (void)st;
    char *dir = tl_tmpdir();
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_tsdb_t *db = open_dir(dir, 1000, 1000000);
    ocl_labels_t ls = tl_labels(&a, "__name__=x", NULL);
    int64_t t[] = {0, 999, 1000, 1999, 2000, 2999, 3000, 3999, 4000, 4999, 5000};
    double v[11];
    for (int i = 0; i < 11; i++)
        v[i] = i;
    assert_int_equal(tl_append(db, ls, t, v, 11).appended, 11);
    check_boundaries(db);
    assert_int_equal(ocl_tsdb_maintain(db), 0);
    check_boundaries(db);
    assert_int_equal(ocl_tsdb_flush(db), 0);
    check_boundaries(db);
    ocl_tsdb_close(db);
    db = open_dir(dir, 1000, 1000000);
    check_boundaries(db);
    /* below the watermark: out of bounds, at it: accepted */
    assert_int_equal(tl_append1(db, ls, 5000, 9).out_of_bounds, 1);
    assert_int_equal(tl_append1(db, ls, 5001, 9).appended, 1);
    ocl_tsdb_close(db);
    ocl_arena_dispose(&a);
    tl_rmrf(dir);
    free(dir);
}

static void test_stale_through_blocks(void **st)
{
    (void)st;
    char *dir = tl_tmpdir();
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_tsdb_t *db = open_dir(dir, 1000, 1000000);
    ocl_labels_t ls = tl_labels(&a, "__name__=x", NULL);
    /* decimal values (DEC-encodable) with staleness markers in between */
    enum { N = 400 };
    int64_t t[N];
    double v[N];
    for (int i = 0; i < N; i++) {
        t[i] = i * 25;
        v[i] = i % 37 == 5 ? ocl_stale_nan() : (double)(i % 10) / 4;
    }
    assert_int_equal(tl_append(db, ls, t, v, N).appended, N);
    assert_int_equal(ocl_tsdb_flush(db), 0); /* 10 blocks; compaction below */
    assert_int_equal(ocl_tsdb_maintain(db), 0);
    ocl_tsdb_close(db);
    db = open_dir(dir, 1000, 1000000);
    int64_t ot[N];
    double ov[N];
    assert_int_equal(sel(db, INT64_MIN, INT64_MAX, ot, ov), N);
    for (int i = 0; i < N; i++) {
        assert_true(ot[i] == t[i]);
        assert_memory_equal(&ov[i], &v[i], sizeof v[i]);
    }
    ocl_tsdb_close(db);
    ocl_arena_dispose(&a);
    tl_rmrf(dir);
    free(dir);
}

/* Copies directory src to dst (flat: block directories hold plain files). */
static void copy_dir(const char *src, const char *dst)
{
    assert_int_equal(mkdir(dst, 0755), 0);
    DIR *d = opendir(src);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        char a[4300], b[4300];
        assert_true(snprintf(a, sizeof a, "%.2000s/%.255s", src, de->d_name) < (int)sizeof a);
        assert_true(snprintf(b, sizeof b, "%.2000s/%.255s", dst, de->d_name) < (int)sizeof b);
        FILE *in = fopen(a, "rb"), *out = fopen(b, "wb");
        assert_non_null(in);
        assert_non_null(out);
        char buf[8192];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, in)) > 0)
            assert_int_equal(fwrite(buf, 1, n, out), n);
        fclose(in);
        fclose(out);
    }
    closedir(d);
}

static void test_overlapping_blocks_after_crash(void **st)
{
    (void)st;
    /* a crash after a compaction renamed its block but before it deleted
     * the sources leaves both: queries and the next compaction must keep
     * each sample once */
    char *dir = tl_tmpdir();
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_tsdb_t *db = open_dir(dir, 1000, 1000000);
    ocl_labels_t ls = tl_labels(&a, "__name__=x", NULL);
    enum { N = 400 };
    int64_t t[N];
    double v[N];
    for (int i = 0; i < N; i++)
        t[i] = i * 10, v[i] = i * 1.5;
    assert_int_equal(tl_append(db, ls, t, v, N).appended, N);
    assert_int_equal(ocl_tsdb_flush(db), 0); /* blocks [0,1000) ... [3000,3991) */
    struct ocl_tsdb *in = (struct ocl_tsdb *)db;
    assert_int_equal(in->nblocks, 4);
    char saved[3][4300];
    for (int i = 0; i < 3; i++) {
        snprintf(saved[i], sizeof saved[i], "%.2000s/SAVED%d", dir, i);
        copy_dir(in->blocks[i]->path, saved[i]);
    }
    assert_int_equal(ocl_tsdb_maintain(db), 0); /* compacts the first 3 into [0, 3000) */
    assert_int_equal(in->nblocks, 2);
    ocl_tsdb_close(db);
    /* the sources come back, as if their deletion never happened */
    for (int i = 0; i < 3; i++) {
        char p[4400];
        snprintf(p, sizeof p, "%.2000s/01SRC%d000000000000000000000", dir, i);
        assert_int_equal(rename(saved[i], p), 0);
    }
    db = open_dir(dir, 1000, 1000000);
    in = (struct ocl_tsdb *)db;
    assert_int_equal(in->nblocks, 5);
    int64_t ot[N];
    double ov[N];
    assert_int_equal(sel(db, INT64_MIN, INT64_MAX, ot, ov), N);
    for (int i = 0; i < N; i++)
        assert_true(ot[i] == t[i] && ov[i] == v[i]);
    assert_int_equal(ocl_tsdb_maintain(db), 0);
    assert_int_equal(in->nblocks, 2);
    ocl_tsdb_stats_t sts;
    ocl_tsdb_stats(db, &sts);
    assert_int_equal(sts.block_samples, N);
    assert_int_equal(sel(db, INT64_MIN, INT64_MAX, ot, ov), N);
    for (int i = 0; i < N; i++)
        assert_true(ot[i] == t[i] && ov[i] == v[i]);
    ocl_tsdb_close(db);
    ocl_arena_dispose(&a);
    tl_rmrf(dir);
    free(dir);
}

static void test_interleaved_overlap_compaction(void **st)
{
    (void)st;
    /* two blocks of one window from different databases interleave in
     * time (and share some timestamps with other values): queries and the
     * compaction agree on the result, sorted, each timestamp once, the
     * block first in the list winning */
    char *d1 = tl_tmpdir(), *d2 = tl_tmpdir();
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_labels_t ls = tl_labels(&a, "__name__=x", NULL);
    enum { N = 500 };
    int64_t t[N];
    double v[N];
    ocl_tsdb_t *db = open_dir(d1, 1000, 1000000);
    for (int i = 0; i < N; i++)
        t[i] = 2 * i, v[i] = 1; /* 0, 2, ..., 998 */
    assert_int_equal(tl_append(db, ls, t, v, N).appended, N);
    assert_int_equal(tl_append1(db, ls, 3500, 3).appended, 1); /* lets [0,3000) compact */
    assert_int_equal(ocl_tsdb_flush(db), 0);
    ocl_tsdb_close(db);
    db = open_dir(d2, 1000, 1000000);
    for (int i = 0; i < N; i++)
        t[i] = 3 * i, v[i] = 2; /* 0, 3, ..., 1497: every 6 ms a shared time */
    assert_int_equal(tl_append(db, ls, t, v, N).appended, N);
    assert_int_equal(ocl_tsdb_flush(db), 0);
    struct ocl_tsdb *in = (struct ocl_tsdb *)db;
    assert_int_equal(in->nblocks, 2);
    char p[4400];
    for (uint32_t i = 0; i < in->nblocks; i++) {
        snprintf(p, sizeof p, "%.2000s/%s", d1, in->blocks[i]->name);
        assert_int_equal(rename(in->blocks[i]->path, p), 0);
    }
    ocl_tsdb_close(db);
    db = open_dir(d1, 1000, 1000000);
    in = (struct ocl_tsdb *)db;
    assert_int_equal(in->nblocks, 4);
    /* expected: union of times; on a shared time the first block's value
     * (blocks sorted by mint, then name: d1's [0,1000) block first) */
    int64_t et[2 * N + 1];
    double ev[2 * N + 1];
    uint32_t ne = 0;
    for (int64_t x = 0; x <= 1497; x++) {
        bool even = x % 2 == 0 && x <= 998, third = x % 3 == 0;
        if (!even && !third) continue;
        et[ne] = x;
        ev[ne++] = even ? 1 : 2;
    }
    et[ne] = 3500, ev[ne++] = 3;
    int64_t ot[2 * N + 1];
    double ov[2 * N + 1];
    for (int round = 0; round < 2; round++) {
        assert_int_equal(sel(db, INT64_MIN, INT64_MAX, ot, ov), ne);
        for (uint32_t i = 0; i < ne; i++)
            assert_true(ot[i] == et[i] && ov[i] == ev[i]);
        assert_int_equal(ocl_tsdb_maintain(db), 0); /* compacts the 3 blocks of [0, 3000) */
        assert_int_equal(in->nblocks, 2);
    }
    ocl_tsdb_close(db);
    ocl_arena_dispose(&a);
    tl_rmrf(d1);
    tl_rmrf(d2);
    free(d1);
    free(d2);
}

static void put_uv(ocl_buf_t *b, uint64_t x)
{
    while (x >= 0x80) {
        ocl_buf_putc(b, (char)(x | 0x80));
        x >>= 7;
    }
    ocl_buf_putc(b, (char)x);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The index of block b (one series, one chunk) with that chunk's sample
 * count replaced by n, checksums recomputed. */
static void rebuild_index(const ocl_block_t *b, uint64_t n, ocl_buf_t *idx)
{
    const ocl_bchunk_t c = b->series[0].chunks[0];
    ocl_buf_t body;
    ocl_buf_init(&body);
    put_uv(&body, 1);
    put_uv(&body, 1);
    put_uv(&body, b->series[0].lab[0]);
    put_uv(&body, b->series[0].lab[1]);
    put_uv(&body, 1);
    put_uv(&body, (uint64_t)(c.mint - b->mint) << 1);
    put_uv(&body, (uint64_t)(c.maxt - c.mint));
    put_uv(&body, n << 1 | c.enc);
    put_uv(&body, c.page);
    put_uv(&body, c.off);
    put_uv(&body, c.len);
    const uint8_t *old = b->idx;
    size_t s0 = 8 + 12 + le32(old + 8); /* header + symbols section */
    size_t s1 = 12 + le32(old + s0);    /* series section */
    idx->len = 0;
    ocl_buf_append(idx, old, s0);
    size_t bound = ZSTD_compressBound(body.len);
    uint8_t *z = malloc(bound + 12);
    size_t cl = ZSTD_compress(z + 8, bound, body.p, body.len, 1);
    assert_false(ZSTD_isError(cl));
    uint32_t crc = ocl_crc32c(0, z + 8, cl);
    for (int i = 0; i < 4; i++) {
        z[i] = (uint8_t)((uint32_t)cl >> (8 * i));
        z[4 + i] = (uint8_t)((uint32_t)body.len >> (8 * i));
        z[8 + cl + (size_t)i] = (uint8_t)(crc >> (8 * i));
    }
    ocl_buf_append(idx, z, cl + 12);
    ocl_buf_append(idx, old + s0 + s1, b->idxlen - s0 - s1);
    free(z);
    ocl_buf_dispose(&body);
}

static int parse_copy(const ocl_buf_t *idx)
{
    ocl_block_t tmp = {0};
    uint8_t *copy = malloc(idx->len);
    memcpy(copy, idx->p, idx->len);
    int rc = ocl_block_parse_index(&tmp, copy, idx->len);
    if (rc == 0) ocl_block_index_dispose(&tmp);
    free(copy);
    return rc;
}

static void test_chunk_sample_count_bound(void **st)
{
    (void)st;
    /* an index whose checksums are right but whose chunk announces more
     * samples than a block chunk may hold (480) is skipped at open: a query
     * would size its decode buffer by that count (16 bytes per sample) */
    char *dir = tl_tmpdir();
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_tsdb_t *db = open_dir(dir, 1000, 1000000);
    ocl_labels_t ls = tl_labels(&a, "__name__=x", NULL);
    int64_t t[] = {10, 20, 30};
    double v[] = {1.5, 2.5, 3.25};
    assert_int_equal(tl_append(db, ls, t, v, 3).appended, 3);
    assert_int_equal(ocl_tsdb_flush(db), 0);
    struct ocl_tsdb *in = (struct ocl_tsdb *)db;
    assert_int_equal(in->nblocks, 1);
    const ocl_block_t *b = in->blocks[0];
    assert_int_equal(b->nseries, 1);
    assert_int_equal(b->series[0].nchunks, 1);
    ocl_buf_t idx;
    ocl_buf_init(&idx);
    /* the rebuild itself is faithful: with the true count it parses */
    rebuild_index(b, b->series[0].chunks[0].n, &idx);
    assert_int_equal(parse_copy(&idx), 0);
    rebuild_index(b, OCL_BLOCK_CHUNK_SAMPLES, &idx);
    assert_int_equal(parse_copy(&idx), 0);
    rebuild_index(b, OCL_BLOCK_CHUNK_SAMPLES + 1, &idx);
    assert_int_equal(parse_copy(&idx), OCL_ECORRUPT);
    rebuild_index(b, INT32_MAX, &idx);
    assert_int_equal(parse_copy(&idx), OCL_ECORRUPT);
    char p[4400];
    snprintf(p, sizeof p, "%.2000s/index", b->path);
    ocl_tsdb_close(db);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(idx.p, 1, idx.len, f), idx.len);
    fclose(f);
    db = open_dir(dir, 1000, 1000000);
    ocl_tsdb_stats_t sts;
    ocl_tsdb_stats(db, &sts);
    assert_int_equal(sts.blocks, 0);
    assert_int_equal(sel(db, INT64_MIN, INT64_MAX, NULL, NULL), 0);
    ocl_tsdb_close(db);
    ocl_buf_dispose(&idx);
    ocl_arena_dispose(&a);
    tl_rmrf(dir);
    free(dir);
}

/* Number of series selected by the matchers. */
static size_t count(ocl_tsdb_t *db, const ocl_matcher_t *ms, size_t n)
{
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_series_t *out;
    size_t k;
    assert_int_equal(ocl_tsdb_select(db, ms, n, INT64_MIN, INT64_MAX, 0, &a, &out, &k), 0);
    ocl_arena_dispose(&a);
    return k;
}

static void check_matchers(ocl_tsdb_t *db)
{
    ocl_matcher_t name = tl_m(OCL_MATCH_EQ, "__name__", "x");
    struct {
        ocl_match_type_t ty;
        const char *label, *value;
        size_t want;
    } cases[] = {
        {OCL_MATCH_EQ, "env", "", 1},       /* absent only */
        {OCL_MATCH_NEQ, "env", "", 4},      /* present only */
        {OCL_MATCH_RE, "env", "", 1},       /* =~"" */
        {OCL_MATCH_NRE, "env", ".+", 1},    /* !~".+" */
        {OCL_MATCH_RE, "env", ".*", 5},     /* everything */
        {OCL_MATCH_RE, "env", "a|", 2},     /* a or absent */
        {OCL_MATCH_RE, "env", "a|ab", 2},   /* anchored, alternation backtracks */
        {OCL_MATCH_RE, "env", "b", 0},      /* anchored: not a substring search */
        {OCL_MATCH_RE, "env", "a.c", 1},    /* '.' matches a newline */
        {OCL_MATCH_NRE, "env", "a.*", 2},   /* zz and absent */
        {OCL_MATCH_NEQ, "env", "a", 4},     /* absent counts */
        {OCL_MATCH_EQ, "nolabel", "", 5},   /* a label nobody has */
        {OCL_MATCH_NEQ, "nolabel", "", 0},  /*  */
        {OCL_MATCH_RE, "nolabel", ".+", 0}, /*  */
    };
    for (size_t i = 0; i < OCL_ARRAY_LEN(cases); i++) {
        ocl_matcher_t ms[2] = {name, tl_m(cases[i].ty, cases[i].label, cases[i].value)};
        size_t got = count(db, ms, 2);
        if (got != cases[i].want)
            fprintf(stderr, "case %zu: %s%s\"%s\": %zu, want %zu\n", i, cases[i].label,
                    ocl_match_op_str(cases[i].ty), cases[i].value, got, cases[i].want);
        assert_int_equal(got, cases[i].want);
        ocl_matcher_dispose(&ms[1]);
    }
    ocl_matcher_dispose(&name);
}

static void test_empty_matchers(void **st)
{
    (void)st;
    char *dir = tl_tmpdir();
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_tsdb_t *db = open_dir(dir, 1000, 1000000);
    ocl_labels_t sets[] = {
        tl_labels(&a, "__name__=x", NULL),
        tl_labels(&a, "__name__=x", "env=a", NULL),
        tl_labels(&a, "__name__=x", "env=ab", NULL),
        tl_labels(&a, "__name__=x", "env=a\nc", NULL),
        tl_labels(&a, "__name__=x", "env=zz", NULL),
    };
    for (size_t i = 0; i < OCL_ARRAY_LEN(sets); i++)
        assert_int_equal(tl_append1(db, sets[i], 100, 1).appended, 1);
    check_matchers(db);
    assert_int_equal(ocl_tsdb_flush(db), 0);
    check_matchers(db);
    ocl_tsdb_close(db);
    ocl_arena_dispose(&a);
    tl_rmrf(dir);
    free(dir);
}

/* A regex matcher that hits PCRE2's backtracking bound on a label value
 * has no answer: counting it as "no match" made !~ select the value (a
 * wrong result, silently). Every query with matchers must fail with
 * OCL_EREGEX_LIMIT instead, from the head and from blocks. */
static void check_regex_limit(ocl_tsdb_t *db)
{
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    const char *bad = "(a|aa)+(b|c)"; /* exponential on a run of a's */
    for (int neg = 0; neg < 2; neg++) {
        ocl_matcher_t ms[2] = {tl_m(OCL_MATCH_EQ, "__name__", "x"),
                               tl_m(neg ? OCL_MATCH_NRE : OCL_MATCH_RE, "v", bad)};
        ocl_series_t *out;
        size_t n = 99;
        bool tr;
        ocl_str_t *sv;
        assert_int_equal(ocl_tsdb_select(db, ms, 2, INT64_MIN, INT64_MAX, 0, &a, &out, &n),
                         OCL_EREGEX_LIMIT);
        assert_int_equal(n, 0);
        assert_int_equal(ocl_tsdb_series(db, ms, 2, INT64_MIN, INT64_MAX, 0, &a, &out, &n, &tr),
                         OCL_EREGEX_LIMIT);
        assert_int_equal(ocl_tsdb_label_names(db, ms, 2, INT64_MIN, INT64_MAX, &a, &sv, &n),
                         OCL_EREGEX_LIMIT);
        assert_int_equal(
            ocl_tsdb_label_values(db, OCL_STR("v"), ms, 2, INT64_MIN, INT64_MAX, &a, &sv, &n),
            OCL_EREGEX_LIMIT);
        /* the flag does not leak into the next query */
        ocl_matcher_t ok[2] = {ms[0], tl_m(OCL_MATCH_NRE, "v", "a+")};
        assert_int_equal(ocl_tsdb_select(db, ok, 2, INT64_MIN, INT64_MAX, 0, &a, &out, &n), 0);
        assert_int_equal(n, 1); /* v="short" */
        ocl_matcher_dispose(&ok[1]);
        ocl_matcher_dispose(&ms[0]);
        ocl_matcher_dispose(&ms[1]);
    }
    ocl_arena_dispose(&a);
}

static void test_regex_match_limit_is_error(void **st)
{
    (void)st;
    char *dir = tl_tmpdir();
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_tsdb_t *db = open_dir(dir, 1000, 1000000);
    assert_int_equal(tl_append1(db,
                                tl_labels(&a, "__name__=x",
                                          "v=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL),
                                100, 1)
                         .appended,
                     1);
    assert_int_equal(tl_append1(db, tl_labels(&a, "__name__=x", "v=short", NULL), 100, 2).appended,
                     1);
    check_regex_limit(db);
    assert_int_equal(ocl_tsdb_flush(db), 0);
    check_regex_limit(db);
    ocl_tsdb_close(db);
    ocl_arena_dispose(&a);
    tl_rmrf(dir);
    free(dir);
}

static bool exists(const char *dir, const char *name)
{
    char p[4400];
    struct stat sb;
    snprintf(p, sizeof p, "%.2000s/%.255s", dir, name);
    return stat(p, &sb) == 0;
}

static void rm_file(const char *dir, const char *name, const char *file)
{
    char p[4400];
    snprintf(p, sizeof p, "%.2000s/%.255s/%.100s", dir, name, file);
    assert_int_equal(unlink(p), 0);
}

/* A crash while deleting compaction sources (versions that unlinked the
 * files in place) left directories that failed to open at every start and
 * were never removed. Open now removes a directory missing a file when its
 * data is provably elsewhere (meta gone, or its range covered by a loaded
 * block), and "*.deleted" directories of the rename protocol; a damaged
 * block with all its files, or a partial one nobody covers, stays. */
static void test_half_deleted_block_removed(void **st)
{
    (void)st;
    char *dir = tl_tmpdir();
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_tsdb_t *db = open_dir(dir, 1000, 1000000);
    ocl_labels_t ls = tl_labels(&a, "__name__=x", NULL);
    enum { N = 400 };
    int64_t t[N];
    double v[N];
    for (int i = 0; i < N; i++)
        t[i] = i * 10, v[i] = i * 1.5;
    assert_int_equal(tl_append(db, ls, t, v, N).appended, N);
    assert_int_equal(ocl_tsdb_flush(db), 0); /* blocks [0,1000) ... [3000,3991) */
    struct ocl_tsdb *in = (struct ocl_tsdb *)db;
    assert_int_equal(in->nblocks, 4);
    static const char *const names[3] = {"01SRC000000000000000000000", "01SRC100000000000000000000",
                                         "01SRC200000000000000000000"};
    for (int i = 0; i < 3; i++) {
        char p[4300];
        snprintf(p, sizeof p, "%.2000s/%s", dir, names[i]);
        copy_dir(in->blocks[i]->path, p);
    }
    assert_int_equal(ocl_tsdb_maintain(db), 0); /* compacts the first 3 into [0, 3000) */
    assert_int_equal(in->nblocks, 2);
    ocl_tsdb_close(db);
    /* the copies now stand for sources whose deletion a crash interrupted */
    rm_file(dir, names[0], "meta");  /* the delete had begun with meta */
    rm_file(dir, names[1], "index"); /* meta left: its range is covered */
    char p[4400];
    snprintf(p, sizeof p, "%.2000s/%s/meta", dir, names[2]); /* damaged, all files present */
    FILE *fp = fopen(p, "r+b");
    assert_non_null(fp);
    fseek(fp, 30, SEEK_SET);
    fputc(0x5a, fp);
    fclose(fp);
    snprintf(p, sizeof p, "%.2000s/01DEL0000000000000000000000" OCL_BLOCK_DELETED, dir);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%.2000s/lost+found", dir); /* not a block: never removed */
    assert_int_equal(mkdir(p, 0755), 0);
    db = open_dir(dir, 1000, 1000000);
    in = (struct ocl_tsdb *)db;
    assert_int_equal(in->nblocks, 2);
    assert_false(exists(dir, names[0]));
    assert_false(exists(dir, names[1]));
    assert_true(exists(dir, names[2])); /* not provably a leftover: kept */
    assert_false(exists(dir, "01DEL0000000000000000000000" OCL_BLOCK_DELETED));
    assert_true(exists(dir, "lost+found"));
    int64_t ot[N];
    double ov[N];
    assert_int_equal(sel(db, INT64_MIN, INT64_MAX, ot, ov), N);
    for (int i = 0; i < N; i++)
        assert_true(ot[i] == t[i] && ov[i] == v[i]);
    /* deletions by this version leave nothing behind */
    struct ocl_tsdb *in2 = in;
    in2->opts.retention_ms = 1; /* drop everything but the newest block */
    assert_int_equal(ocl_tsdb_maintain(db), 0);
    assert_int_equal(in2->nblocks, 1);
    ocl_tsdb_close(db);
    DIR *d = opendir(dir);
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        assert_null(strstr(de->d_name, OCL_BLOCK_DELETED));
    closedir(d);
    tl_rmrf(dir);

    /* a partial block whose range nobody covers is kept */
    dir = (free(dir), tl_tmpdir());
    db = open_dir(dir, 1000, 1000000);
    in = (struct ocl_tsdb *)db;
    assert_int_equal(tl_append(db, ls, t, v, 50).appended, 50);
    assert_int_equal(ocl_tsdb_flush(db), 0);
    assert_int_equal(in->nblocks, 1);
    char only[64];
    snprintf(only, sizeof only, "%s", in->blocks[0]->name);
    ocl_tsdb_close(db);
    rm_file(dir, only, "index");
    db = open_dir(dir, 1000, 1000000);
    assert_int_equal(((struct ocl_tsdb *)db)->nblocks, 0);
    assert_true(exists(dir, only));
    ocl_tsdb_close(db);
    ocl_arena_dispose(&a);
    tl_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_boundaries),
        cmocka_unit_test(test_stale_through_blocks),
        cmocka_unit_test(test_overlapping_blocks_after_crash),
        cmocka_unit_test(test_interleaved_overlap_compaction),
        cmocka_unit_test(test_chunk_sample_count_bound),
        cmocka_unit_test(test_empty_matchers),
        cmocka_unit_test(test_regex_match_limit_is_error),
        cmocka_unit_test(test_half_deleted_block_removed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
