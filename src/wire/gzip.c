/*
 * gzip.c — TEMPORARY minimal implementation of wire/gzip.h (bounded gzip
 * inflate, gzip deflate) so that the network layer can be built and tested
 * on its own branch. The real implementation lives on another branch and
 * replaces this file at merge time.
 *
 * Invariant: inflate never grows `out` by more than max_out bytes.
 * Tuned for: single whole-buffer calls (request bodies, gRPC messages).
 */
#include "wire/gzip.h"

#include <zlib.h>

int ocl_gzip_inflate(const void *in, size_t len, size_t max_out, ocl_buf_t *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 32) != Z_OK) return OCL_ENOMEM;
    size_t start = out->len, produced = 0;
    int rc = OCL_OK, zrc = Z_OK;
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)OCL_MIN(len, (size_t)UINT32_MAX);
    for (;;) {
        size_t room = max_out - produced + 1; /* +1 detects overflow */
        size_t chunk = OCL_MIN(room, OCL_MAX(len * 4, (size_t)16384));
        chunk = OCL_MIN(chunk, (size_t)1 << 30);
        zs.next_out = ocl_buf_reserve(out, chunk);
        zs.avail_out = (uInt)chunk;
        zrc = inflate(&zs, Z_NO_FLUSH);
        size_t got = chunk - zs.avail_out;
        out->len += got;
        produced += got;
        if (produced > max_out) { rc = OCL_ETOOBIG; break; }
        if (zrc == Z_STREAM_END) break;
        if (zrc != Z_OK && zrc != Z_BUF_ERROR) { rc = OCL_EINVAL; break; }
        if (zrc == Z_BUF_ERROR && zs.avail_in == 0) { rc = OCL_EINVAL; break; } /* truncated */
    }
    inflateEnd(&zs);
    if (rc) out->len = start;
    return rc;
}

int ocl_gzip_deflate(const void *in, size_t len, int level, ocl_buf_t *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return OCL_ENOMEM;
    size_t bound = deflateBound(&zs, (uLong)len) + 32;
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    zs.next_out = ocl_buf_reserve(out, bound);
    zs.avail_out = (uInt)bound;
    int zrc = deflate(&zs, Z_FINISH);
    out->len += bound - zs.avail_out;
    deflateEnd(&zs);
    return zrc == Z_STREAM_END ? OCL_OK : OCL_EINVAL;
}
