/*
 * fuzz_gzip.c — libFuzzer target for the bounded inflater (src/wire/gzip.c),
 * which sees every gzip request body and gRPC message before any decoder.
 * Invariants checked: the output never grows past the bound (the buffer's
 * length stays within max_out), a failed inflate leaves the buffer as it
 * was, and what inflates re-deflates and inflates back to the same bytes.
 */
#include "wire/gzip.h"

#include <stdio.h>
#include <stdlib.h>

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "check failed: %s (%s:%d)\n", #c, __FILE__, __LINE__);                 \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The first byte picks the bound, so the fuzzer explores both sides. */
    size_t max_out = size ? (size_t)data[0] * 64 + 1 : 1024;
    ocl_buf_t out, again, z;
    ocl_buf_init(&out);
    ocl_buf_init(&again);
    ocl_buf_init(&z);
    ocl_buf_append(&out, "pre", 3); /* inflate appends; the prefix must survive */
    int rc = ocl_gzip_inflate(data, size, max_out, &out);
    CHECK(out.len >= 3 && memcmp(out.p, "pre", 3) == 0);
    if (rc == 0) {
        CHECK(out.len - 3 <= max_out);
        CHECK(ocl_gzip_deflate(out.p + 3, out.len - 3, 1, &z) == 0);
        CHECK(ocl_gzip_inflate(z.p, z.len, max_out, &again) == 0);
        CHECK(again.len == out.len - 3);
        CHECK(again.len == 0 || memcmp(again.p, out.p + 3, again.len) == 0);
    } else {
        CHECK(rc == OCL_EINVAL || rc == OCL_ETOOBIG);
        CHECK(out.len == 3); /* nothing partial left behind */
    }
    ocl_buf_dispose(&out);
    ocl_buf_dispose(&again);
    ocl_buf_dispose(&z);
    return 0;
}
