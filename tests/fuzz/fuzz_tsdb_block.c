/*
 * fuzz_tsdb_block.c — libFuzzer target for the metrics TSDB's decoders.
 * The first byte picks the mode:
 *   0: Gorilla chunk decoder; bytes 1-2 are the sample count (LE), the rest
 *      the bit stream. When decoding succeeds with increasing timestamps,
 *      the samples are re-encoded and must decode bit for bit identically.
 *   1: the block index parser on the raw bytes (checksums included).
 *   2: the block index parser on an image built from the input with valid
 *      checksums, so the section parsers themselves are explored: bytes
 *      1-2 and 3-4 (LE) are the lengths of the symbols and series section
 *      bodies, the remainder is the postings body (each zstd-compressed
 *      here). A parsed index is then queried through its postings with a
 *      regex matcher.
 *   3: the decimal (DEC) chunk decoder; bytes 1-2 are the sample count.
 * In modes 0 and 3 the bulk decoder (ocl_chunk_decode) must agree with the
 * iterator: the same samples, or OCL_ECORRUPT exactly when it fails — over
 * the whole chunk and over a sub-range of the decoded times.
 * Seeds: tests/fuzz/corpus/tsdb_block/ (made from a real flushed block).
 */
#include "core/log.h"
#include "store/metrics/block.h"
#include "store/wal/wal.h"

#include <stdio.h>
#include <stdlib.h>
#include <zstd.h>

/* The bulk decoder over [mint, maxt] against the iterator's query loop. */
static void bulk_check(int enc, const uint8_t *d, size_t n, uint32_t cnt, int64_t mint,
                       int64_t maxt)
{
    int64_t *et = malloc((cnt + 1) * sizeof *et), *gt = malloc((cnt + 1) * sizeof *gt);
    double *ev = malloc((cnt + 1) * sizeof *ev), *gv = malloc((cnt + 1) * sizeof *gv);
    ocl_chunk_iter_t it;
    ocl_chunk_iter_init_enc(&it, enc, d, n, cnt);
    int64_t tt;
    double vv;
    int rc, k = 0;
    while ((rc = ocl_chunk_iter_next(&it, &tt, &vv)) == 1) {
        if (tt < mint) continue;
        if (tt > maxt) break;
        et[k] = tt, ev[k++] = vv;
    }
    int got = ocl_chunk_decode(enc, d, n, cnt, mint, maxt, gt, gv);
    if (rc < 0) {
        if (got != OCL_ECORRUPT) abort();
    } else {
        if (got != k) abort();
        for (int i = 0; i < k; i++)
            if (gt[i] != et[i] || memcmp(&gv[i], &ev[i], sizeof gv[i]) != 0) abort();
    }
    int64_t lo = k > 2 ? et[1] : 0, hi = k > 2 ? et[k - 2] : 0;
    free(et), free(gt), free(ev), free(gv);
    if (mint == INT64_MIN && maxt == INT64_MAX && lo < hi) bulk_check(enc, d, n, cnt, lo, hi);
}

static void fuzz_chunk(const uint8_t *d, size_t n)
{
    if (n < 2) return;
    uint32_t cnt = (uint32_t)d[0] | (uint32_t)d[1] << 8;
    d += 2, n -= 2;
    int64_t *t = malloc((cnt + 1) * sizeof *t);
    double *v = malloc((cnt + 1) * sizeof *v);
    bulk_check(OCL_CHUNK_XOR, d, n, cnt, INT64_MIN, INT64_MAX);
    ocl_chunk_iter_t it;
    ocl_chunk_iter_init(&it, d, n, cnt);
    uint32_t k = 0;
    int rc;
    bool inc = true;
    while ((rc = ocl_chunk_iter_next(&it, &t[k], &v[k])) == 1) {
        if (k && t[k] <= t[k - 1]) inc = false;
        if (++k > cnt) abort();
    }
    if (rc == 0 && inc && k == cnt) {
        ocl_chunk_t c = {0};
        ocl_chunk_app_t app = {0};
        for (uint32_t i = 0; i < k; i++)
            ocl_chunk_append(&c, &app, t[i], v[i]);
        ocl_chunk_iter_init(&it, c.b, ocl_chunk_bytes(&c), c.n);
        int64_t tt;
        double vv;
        for (uint32_t i = 0; i < k; i++) {
            if (ocl_chunk_iter_next(&it, &tt, &vv) != 1) abort();
            if (tt != t[i] || memcmp(&vv, &v[i], sizeof vv) != 0) abort();
        }
        if (ocl_chunk_iter_next(&it, &tt, &vv) != 0) abort();
        ocl_chunk_dispose(&c);
    }
    free(t);
    free(v);
}

static void parse(uint8_t *img, size_t len)
{
    ocl_block_t b = {0};
    if (ocl_block_parse_index(&b, img, len) == 0) {
        ocl_matcher_t m;
        if (ocl_matcher_init(&m, OCL_MATCH_RE, OCL_STR("__name__"), OCL_STR(".+"), NULL, 0) == 0) {
            uint32_t *ids, nids;
            ocl_postings_select(&b.post, &b.syms, &m, 1, &ids, &nids);
            ocl_arena_t a;
            ocl_arena_init(&a, 4096);
            for (uint32_t i = 0; i < nids; i++) {
                if (ids[i] >= b.nseries) abort();
                ocl_block_labels(&b, ids[i], &a);
            }
            ocl_arena_dispose(&a);
            ocl_free(ids);
            ocl_matcher_dispose(&m);
        }
        ocl_block_index_dispose(&b);
    }
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void fuzz_sections(const uint8_t *d, size_t n)
{
    if (n < 4) return;
    size_t l1 = (size_t)d[0] | (size_t)d[1] << 8, l2 = (size_t)d[2] | (size_t)d[3] << 8;
    d += 4, n -= 4;
    if (l1 > n) l1 = n;
    if (l2 > n - l1) l2 = n - l1;
    size_t l3 = n - l1 - l2;
    size_t cap =
        8 + 3 * 12 + ZSTD_compressBound(l1) + ZSTD_compressBound(l2) + ZSTD_compressBound(l3);
    uint8_t *img = malloc(cap), *p = img;
    memcpy(p, "OCLI\x01\0\0\0", 8);
    p += 8;
    size_t ls[3] = {l1, l2, l3};
    for (int i = 0; i < 3; i++) {
        size_t cl =
            ZSTD_compress(p + 8, ZSTD_compressBound(ls[i]), ls[i] ? (const void *)d : "", ls[i], 1);
        if (ZSTD_isError(cl)) abort();
        put_u32(p, (uint32_t)cl);
        put_u32(p + 4, (uint32_t)ls[i]);
        put_u32(p + 8 + cl, ocl_crc32c(0, p + 8, cl));
        p += 12 + cl;
        d += ls[i];
    }
    parse(img, (size_t)(p - img));
    free(img);
}

static void fuzz_dec(const uint8_t *d, size_t n)
{
    if (n < 2) return;
    uint32_t cnt = (uint32_t)d[0] | (uint32_t)d[1] << 8;
    bulk_check(OCL_CHUNK_DEC, d + 2, n - 2, cnt, INT64_MIN, INT64_MAX);
    ocl_chunk_iter_t it;
    ocl_chunk_iter_init_enc(&it, OCL_CHUNK_DEC, d + 2, n - 2, cnt);
    int64_t t;
    double v;
    uint32_t k = 0;
    while (ocl_chunk_iter_next(&it, &t, &v) == 1)
        if (++k > cnt) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ocl_log_level = OCL_LOG_ERROR + 1;
    if (size < 1) return 0;
    switch (data[0] % 4) {
    case 0:
        fuzz_chunk(data + 1, size - 1);
        break;
    case 3:
        fuzz_dec(data + 1, size - 1);
        break;
    case 1: {
        uint8_t *copy = malloc(size);
        memcpy(copy, data + 1, size - 1);
        parse(copy, size - 1);
        free(copy);
        break;
    }
    default: /* 2 */
        fuzz_sections(data + 1, size - 1);
        break;
    }
    return 0;
}
