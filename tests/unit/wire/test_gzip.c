/*
 * test_gzip.c — unit tests of the bounded gzip codec (src/wire/gzip.c):
 * round trips (gzip and zlib framing, concatenated members, appending to a
 * non-empty buffer), corrupt and truncated input, and a 100 MB bomb that
 * must stop at the bound without allocating past it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>
#include <zlib.h>

#include "wire/gzip.h"

static void fill(unsigned char *p, size_t n)
{
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        /* compressible but not trivial: a small alphabet */
        p[i] = (unsigned char)("abcdefgh{}\":,0123"[(x >> 16) % 17]);
    }
}

static void test_roundtrip(void **state)
{
    size_t sizes[] = {0, 1, 100, 65536, 1000003};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        unsigned char *src = malloc(n + 1);
        fill(src, n);
        ocl_buf_t z, out;
        ocl_buf_init(&z);
        ocl_buf_init(&out);
        assert_int_equal(ocl_gzip_deflate(src, n, 6, &z), 0);
        assert_true(z.len >= 18);
        assert_int_equal(z.p[0], 0x1f); /* gzip magic */
        assert_int_equal(z.p[1], 0x8b);
        ocl_buf_append(&out, "pre", 3); /* appends after existing bytes */
        assert_int_equal(ocl_gzip_inflate(z.p, z.len, n, &out), 0);
        assert_int_equal(out.len, n + 3);
        assert_memory_equal(out.p, "pre", 3);
        if (n) assert_memory_equal(out.p + 3, src, n);
        /* one byte less than needed is too big */
        if (n) {
            out.len = 0;
            assert_int_equal(ocl_gzip_inflate(z.p, z.len, n - 1, &out), OCL_ETOOBIG);
            assert_int_equal(out.len, 0);
        }
        ocl_buf_dispose(&z);
        ocl_buf_dispose(&out);
        free(src);
    }
}

static void test_zlib_and_members(void **state)
{
    const char *msg = "hello, zlib framing";
    unsigned char z[128];
    uLongf zl = sizeof z;
    assert_int_equal(compress(z, &zl, (const Bytef *)msg, strlen(msg)), Z_OK);
    ocl_buf_t out;
    ocl_buf_init(&out);
    assert_int_equal(ocl_gzip_inflate(z, zl, 1 << 20, &out), 0);
    assert_int_equal(out.len, strlen(msg));
    assert_memory_equal(out.p, msg, out.len);
    /* two concatenated gzip members */
    ocl_buf_t g;
    ocl_buf_init(&g);
    ocl_gzip_deflate("abc", 3, 1, &g);
    ocl_gzip_deflate("def", 3, 9, &g);
    out.len = 0;
    assert_int_equal(ocl_gzip_inflate(g.p, g.len, 100, &out), 0);
    assert_int_equal(out.len, 6);
    assert_memory_equal(out.p, "abcdef", 6);
    /* trailing garbage after the last member */
    ocl_buf_append(&g, "xx", 2);
    out.len = 0;
    assert_int_equal(ocl_gzip_inflate(g.p, g.len, 100, &out), OCL_EINVAL);
    ocl_buf_dispose(&g);
    ocl_buf_dispose(&out);
}

static void test_corrupt_truncated(void **state)
{
    unsigned char src[5000];
    fill(src, sizeof src);
    ocl_buf_t z, out;
    ocl_buf_init(&z);
    ocl_buf_init(&out);
    assert_int_equal(ocl_gzip_deflate(src, sizeof src, 6, &z), 0);
    /* every truncation fails */
    for (size_t n = 0; n < z.len; n++) {
        unsigned char *p = malloc(n ? n : 1);
        memcpy(p, z.p, n);
        out.len = 0;
        assert_int_equal(ocl_gzip_inflate(p, n, 1 << 20, &out), OCL_EINVAL);
        assert_int_equal(out.len, 0);
        free(p);
    }
    /* flipped bytes: in the body (data error or CRC) and in the trailer */
    size_t pos[] = {12, z.len / 2, z.len - 6, z.len - 2};
    for (size_t i = 0; i < 4; i++) {
        unsigned char *p = malloc(z.len);
        memcpy(p, z.p, z.len);
        p[pos[i]] ^= 0x55;
        out.len = 0;
        assert_int_equal(ocl_gzip_inflate(p, z.len, 1 << 20, &out), OCL_EINVAL);
        free(p);
    }
    /* not compressed at all */
    out.len = 0;
    assert_int_equal(ocl_gzip_inflate("plain text", 10, 100, &out), OCL_EINVAL);
    ocl_buf_dispose(&z);
    ocl_buf_dispose(&out);
}

static void test_bomb(void **state)
{
    /* 100 MB of zeros, compressed streaming so the test itself stays small. */
    const size_t total = 100u << 20;
    ocl_buf_t z;
    ocl_buf_init(&z);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY), Z_OK);
    static unsigned char zeros[1 << 20];
    unsigned char tmp[1 << 16];
    for (size_t done = 0; done < total; done += sizeof zeros) {
        zs.next_in = zeros;
        zs.avail_in = sizeof zeros;
        int flush = done + sizeof zeros >= total ? Z_FINISH : Z_NO_FLUSH;
        do {
            zs.next_out = tmp;
            zs.avail_out = sizeof tmp;
            deflate(&zs, flush);
            ocl_buf_append(&z, tmp, sizeof tmp - zs.avail_out);
        } while (zs.avail_out == 0);
    }
    deflateEnd(&zs);
    assert_true(z.len < 200000);

    const size_t max = 20u << 20;
    ocl_buf_t out;
    ocl_buf_init(&out);
    assert_int_equal(ocl_gzip_inflate(z.p, z.len, max, &out), OCL_ETOOBIG);
    assert_int_equal(out.len, 0);
    assert_true(out.cap <= max); /* never allocated past the bound */
    /* with a bound above the size it inflates completely */
    ocl_buf_dispose(&out);
    ocl_buf_init(&out);
    assert_int_equal(ocl_gzip_inflate(z.p, z.len, total, &out), 0);
    assert_int_equal(out.len, total);
    assert_true(out.cap <= total);
    ocl_buf_dispose(&out);
    ocl_buf_dispose(&z);
}

static void test_bad_level(void **state)
{
    ocl_buf_t z;
    ocl_buf_init(&z);
    assert_int_equal(ocl_gzip_deflate("x", 1, 42, &z), OCL_EINVAL);
    assert_int_equal(ocl_gzip_deflate("x", 1, -1, &z), 0); /* default level */
    ocl_buf_dispose(&z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),         cmocka_unit_test(test_zlib_and_members),
        cmocka_unit_test(test_corrupt_truncated), cmocka_unit_test(test_bomb),
        cmocka_unit_test(test_bad_level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
