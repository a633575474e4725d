/*
 * test_wal.c — unit tests of the write-ahead log: framing round trip, seq
 * numbering, segment roll, reopen, torn-tail and corruption repair, bad
 * headers, truncation, retention and group commit from several threads.
 * Each test works in its own mkdtemp() directory under /tmp, removed after.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "store/wal/wal.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ---- */

static char *mktmp(void)
{
    char *t = strdup("/tmp/ocl_wal_XXXXXX");
    assert_non_null(mkdtemp(t));
    return t;
}

static void rmrf(char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.') continue;
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
    free(dir);
}

static int count_suffix(const char *dir, const char *suffix)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name), s = strlen(suffix);
        if (l > s && strcmp(de->d_name + l - s, suffix) == 0) n++;
    }
    if (d) closedir(d);
    return n;
}

typedef struct {
    uint64_t seqs[4096]; /* seqs seen in order */
    size_t n;            /* records seen */
    int bad;             /* payload mismatch seen */
} rec_t;

/* Payload of record `seq`: its length is seq*37 % 1000, bytes derived from seq. */
static size_t pay_len(uint64_t seq)
{
    return (size_t)(seq * 37 % 1000);
}
static void pay_fill(uint64_t seq, unsigned char *p)
{
    for (size_t i = 0; i < pay_len(seq); i++)
        p[i] = (unsigned char)(seq * 13 + i);
}

static int rec_cb(uint8_t type, uint64_t seq, const void *p, size_t n, void *ud)
{
    rec_t *r = ud;
    unsigned char tmp[1000];
    pay_fill(seq, tmp);
    if (type != (uint8_t)(seq & 7) || n != pay_len(seq) || memcmp(tmp, p, n) != 0) r->bad = 1;
    if (r->n < 4096) r->seqs[r->n] = seq;
    r->n++;
    return 0;
}

static void append_n(ocl_wal_t *w, uint64_t first, size_t n)
{
    unsigned char buf[1000];
    for (size_t i = 0; i < n; i++) {
        uint64_t seq = first + i, got = 0;
        pay_fill(seq, buf);
        size_t l = pay_len(seq);
        /* exercise append2 with a split payload half the time */
        if (seq & 1)
            assert_int_equal(
                ocl_wal_append2(w, (uint8_t)(seq & 7), buf, l / 2, buf + l / 2, l - l / 2, &got),
                0);
        else
            assert_int_equal(ocl_wal_append(w, (uint8_t)(seq & 7), buf, l, &got), 0);
        assert_int_equal(got, seq);
    }
}

static ocl_wal_t *open_wal(const char *dir, ocl_fsync_policy_t pol, uint64_t segbytes)
{
    ocl_wal_cfg_t cfg = {.dir = dir, .fsync = pol, .segment_bytes = segbytes};
    ocl_wal_t *w = NULL;
    assert_int_equal(ocl_wal_open(&cfg, &w), 0);
    return w;
}

static void replay_expect(ocl_wal_t *w, uint64_t first, size_t n)
{
    rec_t *r = calloc(1, sizeof *r);
    assert_int_equal(ocl_wal_replay(w, rec_cb, r), 0);
    assert_int_equal(r->n, n);
    assert_false(r->bad);
    for (size_t i = 0; i < n && i < 4096; i++)
        assert_int_equal(r->seqs[i], first + i);
    free(r);
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void spit(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
}

/* ---- tests ---- */

static void test_crc32c(void **state)
{
    assert_int_equal(ocl_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(ocl_crc32c_sw(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(ocl_crc32c(0, "", 0), 0);
    unsigned char b[1031];
    for (size_t i = 0; i < sizeof b; i++)
        b[i] = (unsigned char)(i * 7 + 3);
    for (size_t off = 0; off < 9; off++) {
        size_t n = sizeof b - off;
        uint32_t a = ocl_crc32c(0, b + off, n);
        assert_int_equal(a, ocl_crc32c_sw(0, b + off, n));
        /* incremental == one-shot */
        assert_int_equal(ocl_crc32c(ocl_crc32c(0, b + off, 100), b + off + 100, n - 100), a);
    }
}

static void test_roundtrip(void **state)
{
    char *dir = mktmp();
    ocl_wal_t *w = open_wal(dir, OCL_FSYNC_NEVER, 0);
    append_n(w, 1, 300);
    replay_expect(w, 1, 300);
    ocl_wal_stats_t st;
    ocl_wal_stats(w, &st);
    assert_int_equal(st.records_written, 300);
    assert_int_equal(st.segments, 1);
    assert_int_equal(st.corruptions_repaired, 0);
    ocl_wal_close(w);
    /* reopen continues the sequence in the same segment */
    w = open_wal(dir, OCL_FSYNC_INTERVAL, 0);
    replay_expect(w, 1, 300);
    append_n(w, 301, 10);
    replay_expect(w, 1, 310);
    ocl_wal_close(w);
    rmrf(dir);
}

static void test_empty_and_toobig(void **state)
{
    char *dir = mktmp();
    ocl_wal_t *w = open_wal(dir, OCL_FSYNC_ALWAYS, 0);
    uint64_t s = 0;
    assert_int_equal(ocl_wal_append(w, 0, NULL, 0, &s), 0);
    assert_int_equal(s, 1);
    static const char c = 0;
    assert_int_equal(ocl_wal_append2(w, 0, &c, (size_t)1 << 30, &c, 1, NULL), OCL_ETOOBIG);
    assert_int_equal(ocl_wal_sync(w), 0);
    ocl_wal_close(w);
    rmrf(dir);
}

static void test_roll_and_reopen(void **state)
{
    char *dir = mktmp();
    ocl_wal_t *w = open_wal(dir, OCL_FSYNC_INTERVAL, 4096);
    append_n(w, 1, 200);
    ocl_wal_stats_t st;
    ocl_wal_stats(w, &st);
    assert_true(st.segments > 10);
    assert_int_equal(count_suffix(dir, ".wal"), (int)st.segments);
    replay_expect(w, 1, 200);
    ocl_wal_close(w);
    w = open_wal(dir, OCL_FSYNC_NEVER, 4096);
    replay_expect(w, 1, 200);
    append_n(w, 201, 50);
    ocl_wal_close(w);
    w = open_wal(dir, OCL_FSYNC_NEVER, 4096);
    replay_expect(w, 1, 250);
    ocl_wal_close(w);
    rmrf(dir);
}

static void test_torn_tail_every_offset(void **state)
{
    char *dir = mktmp();
    ocl_wal_t *w = open_wal(dir, OCL_FSYNC_NEVER, 0);
    append_n(w, 1, 4); /* record 4 has 148 payload bytes */
    ocl_wal_close(w);
    char path[4200];
    snprintf(path, sizeof path, "%s/%020llu.wal", dir, 1ull);
    size_t len;
    unsigned char *img = slurp(path, &len);
    size_t last = len - OCL_WAL_REC_HDR - pay_len(4);
    assert_int_equal(ocl_wal_scan(img, len, NULL, NULL), len);
    assert_int_equal(ocl_wal_scan(img, len - 1, NULL, NULL), last);
    for (size_t cut = last + 1; cut < len; cut++) {
        spit(path, img, cut);
        w = open_wal(dir, OCL_FSYNC_NEVER, 0);
        ocl_wal_stats_t st;
        ocl_wal_stats(w, &st);
        assert_int_equal(st.corruptions_repaired, 1);
        assert_int_equal(st.bytes_truncated, cut - last);
        replay_expect(w, 1, 3);
        ocl_wal_close(w);
        struct stat sb;
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal((size_t)sb.st_size, last);
    }
    /* after the repair, appends continue at seq 4 */
    w = open_wal(dir, OCL_FSYNC_NEVER, 0);
    append_n(w, 4, 2);
    replay_expect(w, 1, 5);
    ocl_wal_close(w);
    free(img);
    rmrf(dir);
}

static void test_corrupt_middle(void **state)
{
    char *dir = mktmp();
    ocl_wal_t *w = open_wal(dir, OCL_FSYNC_NEVER, 0);
    append_n(w, 1, 5);
    ocl_wal_close(w);
    char path[4200];
    snprintf(path, sizeof path, "%s/%020llu.wal", dir, 1ull);
    size_t len;
    unsigned char *img = slurp(path, &len);
    size_t off = OCL_WAL_SEG_HDR;
    for (uint64_t s = 1; s < 3; s++)
        off += OCL_WAL_REC_HDR + pay_len(s);
    img[off + OCL_WAL_REC_HDR + 5] ^= 0x40; /* a payload byte of record 3 */
    spit(path, img, len);
    w = open_wal(dir, OCL_FSYNC_NEVER, 0);
    ocl_wal_stats_t st;
    ocl_wal_stats(w, &st);
    assert_int_equal(st.corruptions_repaired, 1);
    assert_int_equal(st.bytes_truncated, len - off);
    replay_expect(w, 1, 2);
    append_n(w, 3, 1);
    replay_expect(w, 1, 3);
    ocl_wal_close(w);
    free(img);
    rmrf(dir);
}

static void test_bad_header(void **state)
{
    char *dir = mktmp();
    ocl_wal_t *w = open_wal(dir, OCL_FSYNC_NEVER, 0);
    append_n(w, 1, 3);
    ocl_wal_close(w);
    char path[4200];
    snprintf(path, sizeof path, "%s/%020llu.wal", dir, 1ull);
    size_t len;
    unsigned char *img = slurp(path, &len);
    img[0] = 'X';
    spit(path, img, len);
    assert_int_equal(ocl_wal_scan(img, len, NULL, NULL), 0);
    w = open_wal(dir, OCL_FSYNC_NEVER, 0);
    ocl_wal_stats_t st;
    ocl_wal_stats(w, &st);
    assert_int_equal(st.corruptions_repaired, 1);
    assert_int_equal(count_suffix(dir, ".corrupt"), 1);
    replay_expect(w, 1, 0);
    uint64_t s = 0;
    assert_int_equal(ocl_wal_append(w, 1, "x", 1, &s), 0);
    assert_int_equal(s, 1);
    ocl_wal_close(w);
    free(img);
    rmrf(dir);
}

static void test_truncate_before(void **state)
{
    char *dir = mktmp();
    ocl_wal_t *w = open_wal(dir, OCL_FSYNC_NEVER, 4096);
    append_n(w, 1, 200);
    ocl_wal_stats_t a, b;
    ocl_wal_stats(w, &a);
    assert_int_equal(ocl_wal_truncate_before(w, 100), 0);
    ocl_wal_stats(w, &b);
    assert_true(b.segments < a.segments);
    rec_t *r = calloc(1, sizeof *r);
    assert_int_equal(ocl_wal_replay(w, rec_cb, r), 0);
    assert_false(r->bad);
    assert_true(r->seqs[0] <= 100 && r->seqs[0] > 80);
    assert_int_equal(r->seqs[r->n - 1], 200);
    free(r);
    /* everything: only the active segment stays */
    assert_int_equal(ocl_wal_truncate_before(w, 1000), 0);
    ocl_wal_stats(w, &b);
    assert_int_equal(b.segments, 1);
    assert_int_equal(count_suffix(dir, ".wal"), 1);
    ocl_wal_close(w);
    w = open_wal(dir, OCL_FSYNC_NEVER, 4096);
    append_n(w, 201, 1);
    ocl_wal_close(w);
    rmrf(dir);
}

static void test_retain(void **state)
{
    char *dir = mktmp();
    ocl_wal_t *w = open_wal(dir, OCL_FSYNC_NEVER, 4096);
    append_n(w, 1, 200);
    ocl_wal_stats_t a;
    assert_int_equal(ocl_wal_retain(w, 3600, 0), 0); /* nothing that old */
    ocl_wal_stats(w, &a);
    assert_true(a.segments > 10);
    assert_int_equal(ocl_wal_retain(w, 0, 3 * 4096), 0);
    ocl_wal_stats(w, &a);
    assert_true(a.disk_bytes <= 3 * 4096);
    assert_true(a.segments >= 1 && a.segments <= 4);
    rec_t *r = calloc(1, sizeof *r);
    assert_int_equal(ocl_wal_replay(w, rec_cb, r), 0);
    assert_int_equal(r->seqs[r->n - 1], 200);
    free(r);
    ocl_wal_close(w);
    rmrf(dir);
}

typedef struct {
    ocl_wal_t *w; /* shared log */
    int id;       /* thread number */
} thr_t;

static void *thr_main(void *arg)
{
    thr_t *t = arg;
    char buf[256];
    for (int i = 0; i < 200; i++) {
        int n = snprintf(buf, sizeof buf, "thread %d record %d", t->id, i);
        if (ocl_wal_append(t->w, (uint8_t)t->id, buf, (size_t)n, NULL) != 0) abort();
    }
    return NULL;
}

typedef struct {
    int per_thread[4]; /* records seen per thread */
    uint64_t last;     /* last seq */
    int bad;           /* out of order or malformed */
} mt_t;

static int mt_cb(uint8_t type, uint64_t seq, const void *p, size_t n, void *ud)
{
    mt_t *m = ud;
    if (seq != m->last + 1 || type > 3) m->bad = 1;
    m->last = seq;
    if (type <= 3) {
        char exp[64];
        snprintf(exp, sizeof exp, "thread %d record %d", type, m->per_thread[type]);
        if (n != strlen(exp) || memcmp(exp, p, n) != 0) m->bad = 1;
        m->per_thread[type]++;
    }
    return 0;
}

static void test_group_commit(void **state)
{
    char *dir = mktmp();
    ocl_wal_t *w = open_wal(dir, OCL_FSYNC_ALWAYS, 16384);
    pthread_t th[4];
    thr_t t[4];
    for (int i = 0; i < 4; i++) {
        t[i] = (thr_t){w, i};
        pthread_create(&th[i], NULL, thr_main, &t[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    ocl_wal_stats_t st;
    ocl_wal_stats(w, &st);
    assert_int_equal(st.records_written, 800);
    assert_true(st.fsyncs > 0);
    assert_true(st.fsyncs < 800);
    uint64_t hsum = 0;
    for (int i = 0; i < 12; i++)
        hsum += st.fsync_ns_buckets[i];
    assert_int_equal(hsum, st.fsyncs);
    ocl_wal_close(w);
    w = open_wal(dir, OCL_FSYNC_NEVER, 16384);
    mt_t m = {{0}, 0, 0};
    assert_int_equal(ocl_wal_replay(w, mt_cb, &m), 0);
    assert_false(m.bad);
    assert_int_equal(m.last, 800);
    for (int i = 0; i < 4; i++)
        assert_int_equal(m.per_thread[i], 200);
    ocl_wal_close(w);
    rmrf(dir);
}

static int stop_cb(uint8_t type, uint64_t seq, const void *p, size_t n, void *ud)
{
    return seq == 3 ? 42 : 0;
}

static void test_replay_stop(void **state)
{
    char *dir = mktmp();
    ocl_wal_t *w = open_wal(dir, OCL_FSYNC_NEVER, 0);
    append_n(w, 1, 5);
    assert_int_equal(ocl_wal_replay(w, stop_cb, NULL), 42);
    ocl_wal_close(w);
    rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_empty_and_toobig),
        cmocka_unit_test(test_roll_and_reopen),
        cmocka_unit_test(test_torn_tail_every_offset),
        cmocka_unit_test(test_corrupt_middle),
        cmocka_unit_test(test_bad_header),
        cmocka_unit_test(test_truncate_before),
        cmocka_unit_test(test_retain),
        cmocka_unit_test(test_group_commit),
        cmocka_unit_test(test_replay_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
