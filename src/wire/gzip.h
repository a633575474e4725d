/*
 * gzip.h — bounded gzip/deflate for request bodies and gRPC messages.
 * Decompression stops with OCL_ETOOBIG as soon as the output would pass
 * `max_out`, so a gzip bomb costs at most max_out bytes of memory.
 */
#ifndef OCL_WIRE_GZIP_H
#define OCL_WIRE_GZIP_H

#include "core/buf.h"

/* Inflates gzip into `out`
 * (appended). Returns 0, OCL_EINVAL (corrupt) or OCL_ETOOBIG. */
int ocl_gzip_inflate(const void *in, size_t len, size_t max_out, ocl_buf_t *out);
/* Compresses `in` as gzip into `out` (appended). */
int ocl_gzip_deflate(const void *in, size_t len, int level, ocl_buf_t *out);

#endif
