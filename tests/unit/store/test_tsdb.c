/*
 * test_tsdb.c — unit tests of the memory-only metrics TSDB: chunk round
 * trips (random and edge values, NaN payloads, corrupt input), append rules
 * (order, duplicates, conflicts, series limit, invalid batches), matchers
 * of all four kinds with empty-value semantics, sorted output, series /
 * label names / label values, metadata, last sample, stats, memory-only
 * retention and concurrent readers during appends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "store/metrics/chunk.h"
#include "store/metrics/index.h"
#include "store/metrics/tsdb_int.h"
#include "tsdb_test_util.h"

#include <float.h>
#include <math.h>
#include <pthread.h>

static ocl_tsdb_t *open_mem(uint32_t max_series)
{
    ocl_tsdb_opts_t o = {.max_series = max_series};
    ocl_tsdb_t *db;
    assert_int_equal(ocl_tsdb_open(&o, &db), 0);
    return db;
}

static uint64_t bits(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}
static double from_bits(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

/* ---- chunks ---- */

/* ocl_chunk_decode must yield exactly what the iterator yields for the
 * range (the query loop: skip below mint, stop after maxt), or fail
 * exactly when the iterator fails within the range. */
static void bulk_vs_iter(int enc, const uint8_t *b, size_t len, uint32_t n, int64_t mint,
                         int64_t maxt)
{
    int64_t *et = malloc((n + 1) * sizeof *et), *gt = malloc((n + 1) * sizeof *gt);
    double *ev = malloc((n + 1) * sizeof *ev), *gv = malloc((n + 1) * sizeof *gv);
    ocl_chunk_iter_t it;
    ocl_chunk_iter_init_enc(&it, enc, b, len, n);
    int64_t tt;
    double vv;
    int rc, k = 0;
    while ((rc = ocl_chunk_iter_next(&it, &tt, &vv)) == 1) {
        if (tt < mint) continue;
        if (tt > maxt) break;
        et[k] = tt, ev[k++] = vv;
    }
    int got = ocl_chunk_decode(enc, b, len, n, mint, maxt, gt, gv);
    if (rc < 0) {
        assert_int_equal(got, OCL_ECORRUPT);
    } else {
        assert_int_equal(got, k);
        for (int i = 0; i < k; i++) {
            assert_true(gt[i] == et[i]);
            assert_true(bits(gv[i]) == bits(ev[i]));
        }
    }
    free(et), free(gt), free(ev), free(gv);
}

/* bulk_vs_iter over the whole chunk, sub-ranges and every truncation. */
static void check_bulk(int enc, const uint8_t *b, size_t len, uint32_t n, const int64_t *t)
{
    bulk_vs_iter(enc, b, len, n, INT64_MIN, INT64_MAX);
    if (n) {
        bulk_vs_iter(enc, b, len, n, t[n / 3], t[n - 1 - n / 4]);
        bulk_vs_iter(enc, b, len, n, t[n / 2] + 1, INT64_MAX);
        bulk_vs_iter(enc, b, len, n, INT64_MIN, t[0]);
        bulk_vs_iter(enc, b, len, n, t[n - 1], t[0]); /* empty unless n == 1 */
    }
    for (size_t l = 0; l < len; l++)
        bulk_vs_iter(enc, b, l, n, INT64_MIN, INT64_MAX);
    bulk_vs_iter(enc, b, len, n + 3, INT64_MIN, INT64_MAX); /* more announced than stored */
}

static void roundtrip(const int64_t *t, const double *v, uint32_t n)
{
    ocl_chunk_t c = {0};
    ocl_chunk_app_t app = {0};
    for (uint32_t i = 0; i < n; i++)
        ocl_chunk_append(&c, &app, t[i], v[i]);
    assert_int_equal(c.n, n);
    if (n) {
        assert_true(c.mint == t[0]);
        assert_true(c.maxt == t[n - 1]);
    }
    ocl_chunk_shrink(&c);
    ocl_chunk_iter_t it;
    ocl_chunk_iter_init(&it, c.b, ocl_chunk_bytes(&c), c.n);
    int64_t tt;
    double vv;
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(ocl_chunk_iter_next(&it, &tt, &vv), 1);
        assert_true(tt == t[i]);
        assert_true(bits(vv) == bits(v[i]));
    }
    assert_int_equal(ocl_chunk_iter_next(&it, &tt, &vv), 0);
    /* every truncation of the stream fails cleanly or yields a prefix */
    for (uint32_t len = 0; len < ocl_chunk_bytes(&c); len++) {
        ocl_chunk_iter_init(&it, c.b, len, c.n);
        int rc, k = 0;
        while ((rc = ocl_chunk_iter_next(&it, &tt, &vv)) == 1)
            k++;
        assert_true(rc == OCL_ECORRUPT || (rc == 0 && k == (int)n));
    }
    check_bulk(OCL_CHUNK_XOR, c.b, ocl_chunk_bytes(&c), c.n, t);
    ocl_chunk_dispose(&c);
}

static void test_chunk_edges(void **st)
{
    (void)st;
    double v[] = {0.0,
                  -0.0,
                  1.0,
                  NAN,
                  INFINITY,
                  -INFINITY,
                  ocl_stale_nan(),
                  from_bits(0x7ff8dead00000001ULL),
                  1e308,
                  5e-324,
                  -1.5,
                  12345.678,
                  12345.678,
                  0.0,
                  DBL_MAX,
                  -DBL_MAX};
    uint32_t n = OCL_ARRAY_LEN(v);
    int64_t t[OCL_ARRAY_LEN(v)];
    /* extreme and irregular timestamps, including negative ones and huge jumps */
    int64_t ts[] = {INT64_MIN + 5,
                    -1000000,
                    -1,
                    0,
                    1,
                    15000,
                    30000,
                    45001,
                    60000,
                    60001,
                    1000000000000LL,
                    1000000015000LL,
                    1000000030000LL,
                    INT64_MAX / 2,
                    INT64_MAX - 10,
                    INT64_MAX};
    for (uint32_t i = 0; i < n; i++)
        t[i] = ts[i];
    roundtrip(t, v, n);
    for (uint32_t k = 1; k <= n; k++)
        roundtrip(t, v, k);
}

static void test_chunk_random(void **st)
{
    (void)st;
    srand(42);
    for (int round = 0; round < 200; round++) {
        uint32_t n = 1 + (uint32_t)(rand() % 200);
        int64_t *t = malloc(n * sizeof *t);
        double *v = malloc(n * sizeof *v);
        int64_t cur = (int64_t)(rand() % 100000) - 50000;
        double val = rand() % 1000;
        for (uint32_t i = 0; i < n; i++) {
            int mode = rand() % 6;
            cur += mode == 0   ? 1 + rand() % 3
                   : mode == 5 ? 1 + (int64_t)rand() * 1000
                               : 15000 + rand() % 50 - 25;
            switch (rand() % 5) {
            case 0:
                break;
            case 1:
                val += rand() % 100;
                break;
            case 2:
                val = (double)rand() / 7.0;
                break;
            case 3:
                val = from_bits(((uint64_t)rand() << 33) ^ ((uint64_t)rand() << 2) ^
                                (uint64_t)rand());
                break;
            default:
                val = val * 1.0001;
            }
            t[i] = cur;
            v[i] = val;
        }
        roundtrip(t, v, n);
        free(t);
        free(v);
    }
}

static void test_chunk_compression(void **st)
{
    (void)st;
    /* a regular 15 s gauge that never changes: ~2 bits per sample */
    ocl_chunk_t c = {0};
    ocl_chunk_app_t app = {0};
    for (int i = 0; i < 120; i++)
        ocl_chunk_append(&c, &app, 1700000000000LL + i * 15000, 42.0);
    assert_true(ocl_chunk_bytes(&c) < 50);
    ocl_chunk_dispose(&c);
}

static void dec_roundtrip(const int64_t *t, const double *v, uint32_t n)
{
    ocl_chunk_t c;
    assert_int_equal(ocl_chunk_encode_dec(&c, t, v, n), 0);
    assert_int_equal(c.enc, OCL_CHUNK_DEC);
    ocl_chunk_iter_t it;
    ocl_chunk_iter_init_enc(&it, OCL_CHUNK_DEC, c.b, ocl_chunk_bytes(&c), n);
    int64_t tt;
    double vv;
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(ocl_chunk_iter_next(&it, &tt, &vv), 1);
        assert_true(tt == t[i]);
        assert_true(bits(vv) == bits(v[i]));
    }
    assert_int_equal(ocl_chunk_iter_next(&it, &tt, &vv), 0);
    for (uint32_t len = 0; len < ocl_chunk_bytes(&c); len++) {
        ocl_chunk_iter_init_enc(&it, OCL_CHUNK_DEC, c.b, len, n);
        int rc;
        while ((rc = ocl_chunk_iter_next(&it, &tt, &vv)) == 1) {
        }
        assert_true(rc == OCL_ECORRUPT || rc == 0);
    }
    check_bulk(OCL_CHUNK_DEC, c.b, ocl_chunk_bytes(&c), n, t);
    ocl_chunk_dispose(&c);
}

static void test_chunk_dec(void **st)
{
    (void)st;
    srand(7);
    int64_t t[200];
    double v[200];
    for (int round = 0; round < 300; round++) {
        uint32_t n = 1 + (uint32_t)(rand() % 200);
        int k = rand() % 10;
        double scale = 1;
        for (int i = 0; i < k; i++)
            scale *= 10;
        int64_t iv = (int64_t)(rand() % 2000000) - 1000000, cur = (int64_t)rand() * 100;
        for (uint32_t i = 0; i < n; i++) {
            cur += 1 + rand() % 30000;
            switch (rand() % 4) {
            case 0:
                break;
            case 1:
                iv += rand() % 100;
                break;
            case 2:
                iv -= rand() % 100000;
                break;
            default:
                iv = ((int64_t)rand() << 20) % 9000000000000000LL;
            }
            t[i] = cur;
            v[i] = (double)iv / scale;
        }
        dec_roundtrip(t, v, n);
    }
    /* regular scrapes with late ones (grid timestamps), including a huge step */
    for (int round = 0; round < 50; round++) {
        uint32_t n = 3 + (uint32_t)(rand() % 190);
        int64_t step = round % 10 == 0 ? 4000000000000000000LL / 200 : 15000;
        for (uint32_t i = 0; i < n; i++) {
            t[i] = -7000000 + (int64_t)i * step + (rand() % 20 == 0 ? rand() % 40 : 0);
            v[i] = (double)(rand() % 100) / 4;
        }
        dec_roundtrip(t, v, n);
    }
    /* extreme timestamps (grid arithmetic wraps modulo 2^64) */
    int64_t tx[] = {INT64_MIN + 5, INT64_MIN + 6, -1, 0, INT64_MAX - 10, INT64_MAX};
    double vx[] = {1, 2, 3, 4, 5, 6};
    dec_roundtrip(tx, vx, 6);
    /* perfectly regular and constant: a few bytes for the whole chunk */
    for (uint32_t i = 0; i < 120; i++)
        t[i] = 1700000000000LL + i * 15000, v[i] = 7.5;
    dec_roundtrip(t, v, 120);
    ocl_chunk_t reg;
    assert_int_equal(ocl_chunk_encode_dec(&reg, t, v, 120), 0);
    assert_true(ocl_chunk_bytes(&reg) < 16);
    ocl_chunk_dispose(&reg);
    /* edges: the largest integers, zero, negative decimals */
    int64_t te[] = {-5, 0, 1, 2, 1000000000000LL};
    double ve[] = {9007199254740991.0, -9007199254740991.0, 0.0, -5, 123};
    dec_roundtrip(te, ve, 5);
    double vf[] = {-0.5, 123.456, 0.001, 1e-9, 4.2};
    dec_roundtrip(te, vf, 5);
    /* a huge integer with a fraction elsewhere cannot share one scale */
    double vg[] = {9007199254740991.0, 0.5};
    ocl_chunk_t cg = {0};
    assert_int_equal(ocl_chunk_encode_dec(&cg, te, vg, 2), -1);
    /* not representable: NaN, -0.0, infinities, 1/3, 2^53 */
    double bad[] = {NAN, -0.0, INFINITY, 1.0 / 3.0, 9007199254740992.0, ocl_stale_nan()};
    for (size_t i = 0; i < OCL_ARRAY_LEN(bad); i++) {
        double vv[2] = {1.0, bad[i]};
        ocl_chunk_t c = {0};
        assert_int_equal(ocl_chunk_encode_dec(&c, te, vv, 2), -1);
        assert_null(c.b);
    }
    /* a 15 s counter of CPU seconds (2 decimals) is much smaller than XOR */
    ocl_chunk_t x = {0}, d;
    ocl_chunk_app_t app = {0};
    double cpu = 1000;
    for (int i = 0; i < 120; i++) {
        cpu = (double)(int64_t)((cpu + 14.0 + (i * 37 % 100) / 100.0) * 100 + 0.5) / 100;
        t[i] = 1700000000000LL + i * 15000;
        v[i] = cpu;
        ocl_chunk_append(&x, &app, t[i], v[i]);
    }
    assert_int_equal(ocl_chunk_encode_dec(&d, t, v, 120), 0);
    assert_true(ocl_chunk_bytes(&d) * 2 < ocl_chunk_bytes(&x));
    ocl_chunk_dispose(&x);
    ocl_chunk_dispose(&d);
}

/* Random bytes: the bulk decoder agrees with the iterator (mostly on
 * failing) and never reads out of bounds (ASan). Unknown encodings fail. */
static void test_chunk_decode_garbage(void **st)
{
    (void)st;
    srand(11);
    uint8_t buf[64];
    int64_t t[300];
    double v[300];
    for (int round = 0; round < 3000; round++) {
        size_t len = (size_t)(rand() % 64);
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)(round % 3 == 0 ? (rand() % 4 ? 0 : rand()) : rand());
        uint8_t *b = malloc(len ? len : 1); /* exact size for ASan */
        memcpy(b, buf, len);
        uint32_t n = (uint32_t)(rand() % 40);
        bulk_vs_iter(OCL_CHUNK_XOR, b, len, n, INT64_MIN, INT64_MAX);
        bulk_vs_iter(OCL_CHUNK_DEC, b, len, n, INT64_MIN, INT64_MAX);
        free(b);
    }
    assert_int_equal(ocl_chunk_decode(7, buf, 8, 1, INT64_MIN, INT64_MAX, t, v), OCL_ECORRUPT);
    assert_int_equal(ocl_chunk_decode(OCL_CHUNK_XOR, buf, 0, 0, INT64_MIN, INT64_MAX, t, v), 0);
}

static void test_ids_ops(void **st)
{
    (void)st;
    uint32_t a[] = {1, 3, 5, 7, 9}, b[] = {3, 4, 5, 10}, out[8];
    assert_int_equal(ocl_ids_intersect(a, 5, b, 4, out), 2);
    assert_int_equal(out[0], 3);
    assert_int_equal(out[1], 5);
    assert_int_equal(ocl_ids_subtract(a, 5, b, 4, out), 3);
    assert_int_equal(out[0], 1);
    assert_int_equal(out[1], 7);
    assert_int_equal(out[2], 9);
}

static void test_symtab(void **st)
{
    (void)st;
    ocl_symtab_t s;
    ocl_symtab_init(&s, false);
    char buf[32];
    uint32_t ids[500];
    for (int i = 0; i < 500; i++) {
        snprintf(buf, sizeof buf, "sym%d", i);
        ids[i] = ocl_symtab_intern(&s, ocl_str_c(buf));
    }
    for (int i = 0; i < 500; i += 2)
        ocl_symtab_unref(&s, ids[i]);
    for (int i = 0; i < 500; i++) {
        snprintf(buf, sizeof buf, "sym%d", i);
        uint32_t id = ocl_symtab_find(&s, ocl_str_c(buf));
        if (i % 2)
            assert_int_equal(id, ids[i]);
        else
            assert_int_equal(id, OCL_SYM_NONE);
    }
    uint32_t again = ocl_symtab_intern(&s, OCL_STR("again"));
    assert_true(again < 500); /* a freed id is reused */
    assert_int_equal(again, ocl_symtab_find(&s, OCL_STR("again")));
    ocl_symtab_dispose(&s);
}

/* ---- append rules ---- */

static void test_append_rules(void **st)
{
    (void)st;
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_tsdb_t *db = open_mem(0);
    ocl_labels_t ls = tl_labels(&a, "__name__=up", "job=api", NULL);
    int64_t t[] = {0, 1000, 2000, 2000, 1500, 3000};
    double v[] = {1, 2, 3, 3, 9, 4};
    ocl_tsdb_append_result_t r = tl_append(db, ls, t, v, 6);
    assert_int_equal(r.appended, 4);
    assert_int_equal(r.duplicates, 1);
    assert_int_equal(r.out_of_order, 1);
    assert_int_equal(r.new_series, 1);
    assert_non_null(strstr(r.first_error, "out of order sample"));
    r = tl_append1(db, ls, 3000, 5);
    assert_int_equal(r.dup_conflict, 1);
    assert_non_null(strstr(r.first_error, "duplicate sample for timestamp"));
    r = tl_append1(db, ls, 3000, 4);
    assert_int_equal(r.duplicates, 1);
    assert_string_equal(r.first_error, "");
    /* staleness marker: identical NaN bits are a duplicate, other NaN bits a conflict */
    r = tl_append1(db, ls, 4000, ocl_stale_nan());
    assert_int_equal(r.appended, 1);
    r = tl_append1(db, ls, 4000, ocl_stale_nan());
    assert_int_equal(r.duplicates, 1);
    r = tl_append1(db, ls, 4000, NAN);
    assert_int_equal(r.dup_conflict, 1);

    int64_t lt;
    double lv;
    assert_int_equal(ocl_tsdb_last_sample(db, &ls, &lt, &lv), 0);
    assert_true(lt == 4000);
    assert_true(ocl_is_stale_nan(lv));
    ocl_labels_t other = tl_labels(&a, "__name__=up", "job=x", NULL);
    assert_int_equal(ocl_tsdb_last_sample(db, &other, &lt, &lv), OCL_ENOTFOUND);

    ocl_matcher_t m = tl_m(OCL_MATCH_EQ, "__name__", "up");
    ocl_series_t *out;
    size_t n;
    assert_int_equal(ocl_tsdb_select(db, &m, 1, INT64_MIN, INT64_MAX, 0, &a, &out, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].n, 5);
    int64_t want_t[] = {0, 1000, 2000, 3000, 4000};
    double want_v[] = {1, 2, 3, 4};
    for (int i = 0; i < 5; i++)
        assert_true(out[0].t[i] == want_t[i]);
    for (int i = 0; i < 4; i++)
        assert_true(out[0].v[i] == want_v[i]);
    assert_true(ocl_is_stale_nan(out[0].v[4]));
    /* inclusive bounds */
    assert_int_equal(ocl_tsdb_select(db, &m, 1, 1000, 3000, 0, &a, &out, &n), 0);
    assert_int_equal(out[0].n, 3);
    assert_int_equal(ocl_tsdb_select(db, &m, 1, 5000, 6000, 0, &a, &out, &n), 0);
    assert_int_equal(n, 0);
    /* sample limit */
    assert_int_equal(ocl_tsdb_select(db, &m, 1, INT64_MIN, INT64_MAX, 3, &a, &out, &n),
                     OCL_ETOOBIG);
    assert_int_equal(ocl_tsdb_select(db, &m, 1, INT64_MIN, INT64_MAX, 5, &a, &out, &n), 0);

    ocl_tsdb_close(db);
    ocl_arena_dispose(&a);
}

static void test_append_invalid(void **st)
{
    (void)st;
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_tsdb_t *db = open_mem(0);
    ocl_sample_t s = {1, 1};
    ocl_label_t unsorted[] = {{OCL_STR("b"), OCL_STR("1")}, {OCL_STR("__name__"), OCL_STR("x")}};
    ocl_label_t noname[] = {{OCL_STR("a"), OCL_STR("1")}};
    ocl_label_t empty[] = {{OCL_STR("__name__"), OCL_STR("x")}, {OCL_STR("a"), OCL_STR("")}};
    ocl_label_t good[] = {{OCL_STR("__name__"), OCL_STR("x")}};
    ocl_prom_series_t ps[2] = {{{good, 1}, &s, 1}, {{unsorted, 2}, &s, 1}};
    ocl_prom_batch_t b = {ps, 2, NULL, 0};
    ocl_tsdb_append_result_t r;
    assert_int_equal(ocl_tsdb_append(db, &b, &r), OCL_EINVAL);
    ps[1].labels = (ocl_labels_t){noname, 1};
    assert_int_equal(ocl_tsdb_append(db, &b, &r), OCL_EINVAL);
    ps[1].labels = (ocl_labels_t){empty, 2};
    assert_int_equal(ocl_tsdb_append(db, &b, &r), OCL_EINVAL);
    ocl_tsdb_stats_t sts;
    ocl_tsdb_stats(db, &sts);
    assert_int_equal(sts.head_series, 0); /* nothing stored */
    assert_int_equal(ocl_tsdb_append(db, &b, NULL), OCL_EINVAL);
    b.n_series = 1;
    assert_int_equal(ocl_tsdb_append(db, &b, NULL), 0);
    ocl_tsdb_stats(db, &sts);
    assert_int_equal(sts.head_series, 1);
    ocl_tsdb_close(db);
    ocl_arena_dispose(&a);
}

static void test_series_limit(void **st)
{
    (void)st;
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_tsdb_t *db = open_mem(2);
    ocl_tsdb_append_result_t r;
    r = tl_append1(db, tl_labels(&a, "__name__=m", "i=1", NULL), 1, 1);
    assert_int_equal(r.new_series, 1);
    r = tl_append1(db, tl_labels(&a, "__name__=m", "i=2", NULL), 1, 1);
    r = tl_append1(db, tl_labels(&a, "__name__=m", "i=3", NULL), 1, 1);
    assert_int_equal(r.series_limited, 1);
    assert_int_equal(r.appended, 0);
    assert_true(r.first_error[0] != 0);
    r = tl_append1(db, tl_labels(&a, "__name__=m", "i=1", NULL), 2, 1);
    assert_int_equal(r.appended, 1); /* existing series still accepted */
    ocl_tsdb_close(db);
    ocl_arena_dispose(&a);
}

/* ---- matchers and queries ---- */

static ocl_tsdb_t *fixture(ocl_arena_t *a)
{
    ocl_tsdb_t *db = open_mem(0);
    const char *jobs[] = {"api", "db", "web"};
    const char *insts[] = {"a:1", "b:2"};
    for (int j = 0; j < 3; j++)
        for (int i = 0; i < 2; i++) {
            char *job = ocl_arena_alloc(a, 32), *inst = ocl_arena_alloc(a, 32);
            snprintf(job, 32, "job=%s", jobs[j]);
            snprintf(inst, 32, "instance=%s", insts[i]);
            /* inserted in reverse order to check sorting */
            tl_append1(db, tl_labels(a, "__name__=up", job, inst, NULL), 1000, j * 10 + i);
        }
    tl_append1(db, tl_labels(a, "__name__=up", "job=api", "instance=c:3", "env=prod", NULL), 1000,
               99);
    tl_append1(db, tl_labels(a, "__name__=other", "job=api", NULL), 5000, 1);
    return db;
}

static size_t sel(ocl_tsdb_t *db, ocl_arena_t *a, ocl_matcher_t *ms, size_t n, ocl_series_t **out)
{
    size_t k;
    assert_int_equal(ocl_tsdb_select(db, ms, n, INT64_MIN, INT64_MAX, 0, a, out, &k), 0);
    for (size_t i = 1; i < k; i++)
        assert_true(ocl_labels_cmp(&(*out)[i - 1].labels, &(*out)[i].labels) < 0);
    return k;
}

static void test_matchers(void **st)
{
    (void)st;
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_tsdb_t *db = fixture(&a);
    ocl_series_t *out;
    ocl_matcher_t ms[4];

    ms[0] = tl_m(OCL_MATCH_EQ, "__name__", "up");
    assert_int_equal(sel(db, &a, ms, 1, &out), 7);
    assert_true(ocl_str_eq_c(ocl_labels_get(&out[0].labels, OCL_STR("job")), "api"));

    ms[1] = tl_m(OCL_MATCH_EQ, "job", "db");
    assert_int_equal(sel(db, &a, ms, 2, &out), 2);
    assert_true(out[0].v[0] == 10 && out[1].v[0] == 11);

    ocl_matcher_dispose(&ms[1]);
    ms[1] = tl_m(OCL_MATCH_NEQ, "job", "api");
    assert_int_equal(sel(db, &a, ms, 2, &out), 4);

    ocl_matcher_dispose(&ms[1]);
    ms[1] = tl_m(OCL_MATCH_RE, "job", "a.*|w.b");
    assert_int_equal(sel(db, &a, ms, 2, &out), 5);

    ocl_matcher_dispose(&ms[1]);
    ms[1] = tl_m(OCL_MATCH_NRE, "instance", "[ab]:.*");
    assert_int_equal(sel(db, &a, ms, 2, &out), 1);

    /* absent label = "": env="" selects series without env */
    ocl_matcher_dispose(&ms[1]);
    ms[1] = tl_m(OCL_MATCH_EQ, "env", "");
    assert_int_equal(sel(db, &a, ms, 2, &out), 6);
    ocl_matcher_dispose(&ms[1]);
    ms[1] = tl_m(OCL_MATCH_NEQ, "env", "");
    assert_int_equal(sel(db, &a, ms, 2, &out), 1);
    ocl_matcher_dispose(&ms[1]);
    ms[1] = tl_m(OCL_MATCH_RE, "env", "prod|");
    assert_int_equal(sel(db, &a, ms, 2, &out), 7);
    ocl_matcher_dispose(&ms[1]);
    ms[1] = tl_m(OCL_MATCH_NRE, "env", "prod");
    assert_int_equal(sel(db, &a, ms, 2, &out), 6); /* absent env = "" is kept */
    ocl_matcher_dispose(&ms[1]);
    ms[1] = tl_m(OCL_MATCH_NRE, "env", ".*");
    assert_int_equal(sel(db, &a, ms, 2, &out), 0);
    ocl_matcher_dispose(&ms[1]);
    ms[1] = tl_m(OCL_MATCH_NRE, "env", ".+");
    assert_int_equal(sel(db, &a, ms, 2, &out), 6);
    ocl_matcher_dispose(&ms[1]);
    ms[1] = tl_m(OCL_MATCH_RE, "nosuch", ".*");
    assert_int_equal(sel(db, &a, ms, 2, &out), 7);
    ocl_matcher_dispose(&ms[1]);
    ms[1] = tl_m(OCL_MATCH_RE, "nosuch", ".+");
    assert_int_equal(sel(db, &a, ms, 2, &out), 0);
    ocl_matcher_dispose(&ms[1]);
    ms[1] = tl_m(OCL_MATCH_EQ, "job", "nosuch");
    assert_int_equal(sel(db, &a, ms, 2, &out), 0);
    ocl_matcher_dispose(&ms[1]);

    /* a regex on the name only */
    ocl_matcher_dispose(&ms[0]);
    ms[0] = tl_m(OCL_MATCH_RE, "__name__", ".+");
    assert_int_equal(sel(db, &a, ms, 1, &out), 8);
    assert_true(ocl_str_eq_c(ocl_labels_get(&out[0].labels, OCL_STR("__name__")), "other"));
    ocl_matcher_dispose(&ms[0]);

    /* every matcher matches "": rejected */
    ms[0] = tl_m(OCL_MATCH_RE, "job", ".*");
    ms[1] = tl_m(OCL_MATCH_NEQ, "job", "x");
    size_t n;
    assert_int_equal(ocl_tsdb_select(db, ms, 2, 0, 1, 0, &a, &out, &n), OCL_EINVAL);
    assert_int_equal(ocl_tsdb_select(db, NULL, 0, 0, 1, 0, &a, &out, &n), OCL_EINVAL);
    /* ...but fine for the series endpoint */
    bool trunc;
    assert_int_equal(ocl_tsdb_series(db, ms, 2, INT64_MIN, INT64_MAX, 0, &a, &out, &n, &trunc), 0);
    assert_int_equal(n, 8);
    assert_false(trunc);
    assert_null(out[0].t);
    assert_int_equal(ocl_tsdb_series(db, NULL, 0, INT64_MIN, INT64_MAX, 3, &a, &out, &n, &trunc),
                     0);
    assert_int_equal(n, 3);
    assert_true(trunc);
    /* time filter: only "other" has data at 5000 */
    assert_int_equal(ocl_tsdb_series(db, NULL, 0, 4000, 6000, 0, &a, &out, &n, &trunc), 0);
    assert_int_equal(n, 1);
    ocl_matcher_dispose(&ms[0]);
    ocl_matcher_dispose(&ms[1]);

    ocl_tsdb_close(db);
    ocl_arena_dispose(&a);
}

static void test_label_queries(void **st)
{
    (void)st;
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_tsdb_t *db = fixture(&a);
    ocl_str_t *v;
    size_t n;
    assert_int_equal(ocl_tsdb_label_names(db, NULL, 0, INT64_MIN, INT64_MAX, &a, &v, &n), 0);
    assert_int_equal(n, 4);
    assert_true(ocl_str_eq_c(v[0], "__name__") && ocl_str_eq_c(v[1], "env") &&
                ocl_str_eq_c(v[2], "instance") && ocl_str_eq_c(v[3], "job"));
    ocl_matcher_t m = tl_m(OCL_MATCH_EQ, "__name__", "other");
    assert_int_equal(ocl_tsdb_label_names(db, &m, 1, INT64_MIN, INT64_MAX, &a, &v, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(
        ocl_tsdb_label_values(db, OCL_STR("job"), NULL, 0, INT64_MIN, INT64_MAX, &a, &v, &n), 0);
    assert_int_equal(n, 3);
    assert_true(ocl_str_eq_c(v[0], "api") && ocl_str_eq_c(v[2], "web"));
    assert_int_equal(
        ocl_tsdb_label_values(db, OCL_STR("__name__"), &m, 1, INT64_MIN, INT64_MAX, &a, &v, &n), 0);
    assert_int_equal(n, 1);
    assert_true(ocl_str_eq_c(v[0], "other"));
    assert_int_equal(
        ocl_tsdb_label_values(db, OCL_STR("instance"), &m, 1, INT64_MIN, INT64_MAX, &a, &v, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(
        ocl_tsdb_label_values(db, OCL_STR("nosuch"), NULL, 0, INT64_MIN, INT64_MAX, &a, &v, &n), 0);
    assert_int_equal(n, 0);
    /* time range outside all data */
    assert_int_equal(ocl_tsdb_label_names(db, NULL, 0, 10000, 20000, &a, &v, &n), 0);
    assert_int_equal(n, 0);
    ocl_tsdb_close(db);
    ocl_arena_dispose(&a);
}

static void test_metadata(void **st)
{
    (void)st;
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_tsdb_t *db = open_mem(0);
    ocl_prom_meta_t m[] = {{OCL_STR("zeta"), OCL_PT_GAUGE, OCL_STR("z help"), OCL_STR("")},
                           {OCL_STR("alpha"), OCL_PT_COUNTER, OCL_STR("a help"), OCL_STR("s")}};
    ocl_prom_batch_t b = {NULL, 0, m, 2};
    assert_int_equal(ocl_tsdb_append(db, &b, NULL), 0);
    m[0].help = OCL_STR("new help");
    b.n_meta = 1;
    assert_int_equal(ocl_tsdb_append(db, &b, NULL), 0);
    ocl_prom_meta_t *out;
    size_t n;
    assert_int_equal(ocl_tsdb_metadata(db, OCL_STR_NULL, 0, &a, &out, &n), 0);
    assert_int_equal(n, 2);
    assert_true(ocl_str_eq_c(out[0].family, "alpha") && out[0].type == OCL_PT_COUNTER);
    assert_true(ocl_str_eq_c(out[0].unit, "s"));
    assert_true(ocl_str_eq_c(out[1].help, "new help"));
    assert_int_equal(ocl_tsdb_metadata(db, OCL_STR("zeta"), 0, &a, &out, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ocl_tsdb_metadata(db, OCL_STR_NULL, 1, &a, &out, &n), 0);
    assert_int_equal(n, 1);
    ocl_tsdb_close(db);
    ocl_arena_dispose(&a);
}

static void test_many_series_and_chunks(void **st)
{
    (void)st;
    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 16);
    ocl_tsdb_t *db = open_mem(0);
    enum { NS = 2000, NT = 300 };
    ocl_prom_series_t *ps = calloc(NS, sizeof *ps);
    ocl_sample_t *smp = calloc(NS, sizeof *smp);
    for (int i = 0; i < NS; i++) {
        char *name = ocl_arena_alloc(&a, 32);
        snprintf(name, 32, "i=%05d", i);
        ps[i].labels = tl_labels(&a, "__name__=m", name, i % 2 ? "odd=1" : "even=1", NULL);
        ps[i].samples = &smp[i];
        ps[i].n_samples = 1;
    }
    for (int k = 0; k < NT; k++) {
        for (int i = 0; i < NS; i++)
            smp[i] = (ocl_sample_t){k * 15000LL, (double)(i + k)};
        ocl_prom_batch_t b = {ps, NS, NULL, 0};
        ocl_tsdb_append_result_t r;
        assert_int_equal(ocl_tsdb_append(db, &b, &r), 0);
        assert_int_equal(r.appended, NS);
    }
    ocl_tsdb_stats_t sts;
    ocl_tsdb_stats(db, &sts);
    assert_int_equal(sts.head_series, NS);
    assert_int_equal(sts.head_samples, NS * NT);
    assert_true(sts.head_chunks >= NS * 3); /* 300 samples > 2 chunks of 120 */
    assert_true(sts.head_max_t == (NT - 1) * 15000LL);
    ocl_arena_t q;
    ocl_arena_init(&q, 1 << 16);
    ocl_matcher_t m[2] = {tl_m(OCL_MATCH_EQ, "odd", "1"), tl_m(OCL_MATCH_RE, "i", "0001.")};
    ocl_series_t *out;
    size_t n = sel(db, &q, m, 2, &out);
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(out[i].n, NT);
        int idx = atoi(ocl_labels_get(&out[i].labels, OCL_STR("i")).p);
        for (int k = 0; k < NT; k++)
            assert_true(out[i].v[k] == idx + k && out[i].t[k] == k * 15000LL);
    }
    ocl_matcher_dispose(&m[0]);
    ocl_matcher_dispose(&m[1]);
    ocl_arena_dispose(&q);
    /* memory-only retention drops old chunks */
    ocl_tsdb_close(db);
    free(ps);
    free(smp);
    ocl_arena_dispose(&a);
}

static void test_hash_collision(void **st)
{
    (void)st;
    /* force every series into the same hash chain by inserting through the
     * head directly with one hash value */
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_tsdb_t *db = open_mem(0);
    ocl_head_t *h = &((struct ocl_tsdb *)db)->head;
    ocl_labels_t l1 = tl_labels(&a, "__name__=a", NULL), l2 = tl_labels(&a, "__name__=b", NULL);
    ocl_hseries_t *s1 = ocl_head_create(h, &l1, 7), *s2 = ocl_head_create(h, &l2, 7);
    assert_ptr_not_equal(s1, s2);
    assert_ptr_equal(ocl_head_find(h, &l1, 7), s1);
    assert_ptr_equal(ocl_head_find(h, &l2, 7), s2);
    ocl_tsdb_close(db);
    ocl_arena_dispose(&a);
}

static void test_memory_retention(void **st)
{
    (void)st;
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_tsdb_opts_t o = {.block_range_ms = 1000, .retention_ms = 5000};
    ocl_tsdb_t *db;
    assert_int_equal(ocl_tsdb_open(&o, &db), 0);
    ocl_labels_t keep = tl_labels(&a, "__name__=k", NULL), gone = tl_labels(&a, "__name__=g", NULL);
    for (int64_t t = 0; t <= 20000; t += 100)
        tl_append1(db, keep, t, 1);
    tl_append1(db, gone, 50, 1);
    assert_int_equal(ocl_tsdb_maintain(db), 0);
    ocl_tsdb_stats_t sts;
    ocl_tsdb_stats(db, &sts);
    assert_int_equal(sts.head_series, 1);
    assert_true(sts.head_min_t >= 15000 - 1000 && sts.head_min_t <= 15000);
    ocl_tsdb_close(db);
    ocl_arena_dispose(&a);
}

typedef struct {
    ocl_tsdb_t *db; /* database under test */
    int stop;       /* set (atomically) when the writer is done */
    int errors;     /* failed calls or unsorted answers */
} conc_t;

static void *reader(void *arg)
{
    conc_t *c = arg;
    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 16);
    ocl_matcher_t m = tl_m(OCL_MATCH_EQ, "__name__", "c");
    for (int i = 0; i < 2000 && !__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE); i++) {
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

static void test_concurrent(void **st)
{
    (void)st;
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    conc_t c = {.db = open_mem(0)};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, reader, &c);
    ocl_labels_t ls[4];
    for (int i = 0; i < 4; i++) {
        char *x = ocl_arena_alloc(&a, 16);
        snprintf(x, 16, "x=%d", i);
        ls[i] = tl_labels(&a, "__name__=c", x, NULL);
    }
    for (int64_t t = 0; t < 5000; t++)
        for (int i = 0; i < 4; i++)
            tl_append1(c.db, ls[i], t * 10, (double)t);
    __atomic_store_n(&c.stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(c.errors, 0);
    ocl_tsdb_close(c.db);
    ocl_arena_dispose(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunk_edges),
        cmocka_unit_test(test_chunk_random),
        cmocka_unit_test(test_chunk_compression),
        cmocka_unit_test(test_chunk_dec),
        cmocka_unit_test(test_chunk_decode_garbage),
        cmocka_unit_test(test_ids_ops),
        cmocka_unit_test(test_symtab),
        cmocka_unit_test(test_append_rules),
        cmocka_unit_test(test_append_invalid),
        cmocka_unit_test(test_series_limit),
        cmocka_unit_test(test_matchers),
        cmocka_unit_test(test_label_queries),
        cmocka_unit_test(test_metadata),
        cmocka_unit_test(test_many_series_and_chunks),
        cmocka_unit_test(test_hash_collision),
        cmocka_unit_test(test_memory_retention),
        cmocka_unit_test(test_concurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
