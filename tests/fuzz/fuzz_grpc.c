/*
 * fuzz_grpc.c — libFuzzer target for gRPC: the pure de-framing +
 * decompression function on the raw input, then the HTTP/2 server session
 * (nghttp2 + our callbacks and gRPC dispatch) fed the input after the
 * client connection preface, with an in-memory transport.
 */
#include "fuzz_conn_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint8_t mode = data[0];
    data++, size--;

    static const char *const enc[] = {"", "identity", "gzip", "deflate"};
    ocl_buf_t scratch;
    ocl_buf_init(&scratch);
    const unsigned char *msg;
    size_t n;
    const char *err;
    int st =
        ocl_grpc_unframe(data, size, ocl_str_c(enc[mode & 3]), 1 << 16, &scratch, &msg, &n, &err);
    if (st == OCL_GRPC_OK && msg != data + 5 && msg != scratch.p) abort();
    if (st == OCL_GRPC_OK && n > (1 << 16)) abort();
    ocl_buf_dispose(&scratch);

    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    unsigned char *in = malloc(sizeof preface - 1 + size);
    memcpy(in, preface, sizeof preface - 1);
    memcpy(in + sizeof preface - 1, data, size);
    run_conn(in, sizeof preface - 1 + size, mode);
    free(in);
    return 0;
}
