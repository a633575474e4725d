/*
 * gzip.c — bounded gzip/zlib inflate and gzip deflate over zlib (gzip.h).
 *
 * Invariants: inflate never lets the output buffer grow past its length at
 * entry + max_out (capacity is grown by hand, not by ocl_buf_reserve's
 * doubling), and reports OCL_ETOOBIG as soon as one more byte would be
 * produced. gzip and zlib headers are auto-detected (windowBits 15+32);
 * concatenated gzip members are accepted; anything else after the last
 * member, a bad checksum or a truncated stream is OCL_EINVAL. On error the
 * bytes appended so far are removed again.
 *
 * Workload: request bodies of a few KiB to 20 MiB, compressed 5-20x.
 */
#include "wire/gzip.h"

#include <limits.h>
#include <zlib.h>

#define CHUNK_IN ((size_t)1 << 30) /* zlib's avail_in is an unsigned int */

/* Grows out's capacity to at least `want` bytes, never beyond `limit`. */
static void grow(ocl_buf_t *out, size_t want, size_t limit)
{
    if (out->cap >= want) return;
    size_t cap = out->cap ? out->cap * 2 : 4096;
    if (cap < want) cap = want;
    if (cap > limit) cap = limit;
    out->p = ocl_realloc(out->p, cap);
    out->cap = cap;
}

int ocl_gzip_inflate(const void *in, size_t len, size_t max_out, ocl_buf_t *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 32) != Z_OK) return OCL_ENOMEM;
    const size_t start = out->len;
    const size_t limit = max_out > SIZE_MAX - start ? SIZE_MAX : start + max_out;
    const unsigned char *src = in;
    size_t left = len;
    int rc = OCL_EINVAL, zr = Z_OK;
    /* First guess: 4x the input, a common ratio for telemetry. */
    size_t guess = len > (SIZE_MAX / 4) ? limit : start + len * 4 + 256;
    grow(out, OCL_MIN(guess, limit), limit);

    for (;;) {
        if (zs.avail_in == 0 && left) {
            size_t n = OCL_MIN(left, CHUNK_IN);
            zs.next_in = (unsigned char *)src;
            zs.avail_in = (uInt)n;
            src += n;
            left -= n;
        }
        if (out->len >= limit) {
            /* At the bound: probe whether the stream has more output. */
            unsigned char probe;
            zs.next_out = &probe;
            zs.avail_out = 1;
            zr = inflate(&zs, Z_NO_FLUSH);
            if (zs.avail_out == 0) {
                rc = OCL_ETOOBIG;
                goto error;
            }
            goto check;
        }
        if (out->len == out->cap) grow(out, out->cap + 1, limit);
        size_t room = OCL_MIN(OCL_MIN(out->cap, limit) - out->len, (size_t)UINT_MAX);
        zs.next_out = out->p + out->len;
        zs.avail_out = (uInt)room;
        zr = inflate(&zs, Z_NO_FLUSH);
        out->len += room - zs.avail_out;
    check:
        if (zr == Z_STREAM_END) {
            if (zs.avail_in == 0 && left == 0) break;
            /* Another gzip member follows. */
            if (inflateReset(&zs) != Z_OK) goto error;
            continue;
        }
        if (zr == Z_BUF_ERROR) {
            /* No progress possible: out of input (truncated) unless we
             * merely ran out of output room. */
            if (zs.avail_in == 0 && left == 0) goto error;
            if (zs.avail_out != 0) goto error;
            continue;
        }
        if (zr != Z_OK) goto error; /* Z_DATA_ERROR, Z_NEED_DICT, ... */
        if (zs.avail_in == 0 && left == 0 && zs.avail_out != 0) goto error; /* truncated */
    }
    inflateEnd(&zs);
    return 0;

error:
    inflateEnd(&zs);
    out->len = start;
    return rc;
}

int ocl_gzip_deflate(const void *in, size_t len, int level, ocl_buf_t *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return OCL_EINVAL;
    const size_t start = out->len;
    const unsigned char *src = in;
    size_t left = len;
    int zr;
    ocl_buf_reserve(out, (len <= ULONG_MAX ? deflateBound(&zs, (uLong)len) : len) + 64);
    do {
        if (zs.avail_in == 0 && left) {
            size_t n = OCL_MIN(left, CHUNK_IN);
            zs.next_in = (unsigned char *)src;
            zs.avail_in = (uInt)n;
            src += n;
            left -= n;
        }
        if (out->cap - out->len < 64) ocl_buf_reserve(out, out->cap - out->len + 4096);
        size_t room = OCL_MIN(out->cap - out->len, (size_t)UINT_MAX);
        zs.next_out = out->p + out->len;
        zs.avail_out = (uInt)room;
        zr = deflate(&zs, left ? Z_NO_FLUSH : Z_FINISH);
        out->len += room - zs.avail_out;
        if (zr == Z_STREAM_ERROR) {
            deflateEnd(&zs);
            out->len = start;
            return OCL_EINVAL;
        }
    } while (zr != Z_STREAM_END);
    deflateEnd(&zs);
    return 0;
}
