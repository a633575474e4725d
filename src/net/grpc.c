/*
 * grpc.c — gRPC length-prefixed message framing (unary calls only) and the
 * grpc-message percent-encoding. Pure functions: no I/O, no nghttp2, so the
 * fuzzer drives them directly.
 *
 * Frame: 1 byte compressed flag (0 or 1), 4 bytes big-endian length, then
 * the message. A unary request carries exactly one frame.
 *
 * Invariants: never reads past `len`; decompression output is bounded by
 * max_msg (a gzip bomb costs at most max_msg bytes). Uncompressed messages
 * are returned in place (no copy) — the common OTLP case.
 */
#include "net/conn.h"
#include "wire/gzip.h"

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool ocl_grpc_encoding_known(ocl_str_t enc)
{
    return enc.n == 0 || ocl_str_ieq_c(enc, "identity") || ocl_str_ieq_c(enc, "gzip");
}

int ocl_grpc_unframe(const unsigned char *body, size_t len, ocl_str_t encoding, size_t max_msg,
                     ocl_buf_t *scratch, const unsigned char **msg, size_t *msg_len,
                     const char **err)
{
    *msg = NULL, *msg_len = 0;
    if (len == 0) {
        *err = "missing request message";
        return OCL_GRPC_INVALID_ARGUMENT;
    }
    if (len < 5 || body[0] > 1) {
        *err = "malformed gRPC frame";
        return OCL_GRPC_INVALID_ARGUMENT;
    }
    size_t n = be32(body + 1);
    bool compressed = body[0] == 1;
    if (!compressed && n > max_msg) {
        *err = "message larger than max";
        return OCL_GRPC_RESOURCE_EXHAUSTED;
    }
    if (n > len - 5) {
        *err = "malformed gRPC frame";
        return OCL_GRPC_INVALID_ARGUMENT;
    }
    if (n < len - 5) {
        /* A second frame: client streaming on a unary method. */
        *err = "more than one request message for a unary call";
        return OCL_GRPC_UNIMPLEMENTED;
    }
    if (!ocl_grpc_encoding_known(encoding)) {
        *err = "unsupported grpc-encoding";
        return OCL_GRPC_UNIMPLEMENTED;
    }
    if (!compressed) {
        *msg = body + 5, *msg_len = n;
        return OCL_GRPC_OK;
    }
    if (!ocl_str_ieq_c(encoding, "gzip")) {
        *err = "compressed flag set without grpc-encoding";
        return OCL_GRPC_INTERNAL;
    }
    scratch->len = 0;
    int rc = ocl_gzip_inflate(body + 5, n, max_msg, scratch);
    if (rc == OCL_ETOOBIG) {
        *err = "message larger than max";
        return OCL_GRPC_RESOURCE_EXHAUSTED;
    }
    if (rc) {
        *err = "failed to decompress message";
        return OCL_GRPC_INTERNAL;
    }
    *msg = scratch->p ? scratch->p : body + 5; /* empty output: any valid pointer */
    *msg_len = scratch->len;
    return OCL_GRPC_OK;
}

void ocl_grpc_pct_encode(const char *msg, ocl_buf_t *out)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
        if (*p >= 0x20 && *p <= 0x7e && *p != '%') {
            ocl_buf_putc(out, (char)*p);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            ocl_buf_append(out, e, 3);
        }
    }
}

void ocl_grpc_frame(const void *msg, size_t len, bool gzip, ocl_buf_t *out)
{
    size_t at = out->len;
    unsigned char *h = ocl_buf_reserve(out, 5 + (gzip ? 0 : len));
    (void)h;
    out->len += 5;
    if (gzip && ocl_gzip_deflate(msg, len, 6, out) == 0) {
        out->p[at] = 1;
    } else {
        out->len = at + 5;
        ocl_buf_append(out, msg, len);
        out->p[at] = 0;
    }
    size_t n = out->len - at - 5;
    out->p[at + 1] = (unsigned char)(n >> 24);
    out->p[at + 2] = (unsigned char)(n >> 16);
    out->p[at + 3] = (unsigned char)(n >> 8);
    out->p[at + 4] = (unsigned char)n;
}
