/*
 * pb.c — slow paths of the protobuf wire primitives (see pb.h): multi-byte
 * varints and tags, skipping unknown fields, and the writer helpers that
 * are too large to inline.
 *
 * Invariants: as in pb.h — no read outside [p, end), fixed error strings.
 * Workload: multi-byte varints are common (lengths > 127, timestamps are
 * fixed64), so the varint loop is unrolled by the compiler with a bound.
 */
#include "wire/pb.h"

int ocl_pb_varint_slow(ocl_pb_reader_t *r, uint64_t *v)
{
    const uint8_t *p = r->p;
    uint64_t x = 0;
    for (unsigned i = 0; i < 10; i++) {
        if (OCL_UNLIKELY(p >= r->end)) {
            r->err = "truncated varint";
            return OCL_EINVAL;
        }
        uint64_t c = *p++;
        if (i == 9 && c > 1) {
            r->err = "overlong varint";
            return OCL_EINVAL;
        }
        x |= (c & 0x7f) << (7 * i);
        if (c < 0x80) {
            *v = x;
            r->p = p;
            return 0;
        }
    }
    r->err = "overlong varint";
    return OCL_EINVAL;
}

int ocl_pb_tag_slow(ocl_pb_reader_t *r, uint32_t *tag)
{
    uint64_t v;
    int rc = ocl_pb_varint_slow(r, &v);
    if (rc) return rc;
    if (v > UINT32_MAX) {
        r->err = "field number too large";
        return OCL_EINVAL;
    }
    if ((v >> 3) == 0) {
        r->err = "field number 0";
        return OCL_EINVAL;
    }
    *tag = (uint32_t)v;
    return 0;
}

int ocl_pb_skip(ocl_pb_reader_t *r, uint32_t wire_type)
{
    uint64_t v;
    ocl_str_t s;
    switch (wire_type) {
    case OCL_PB_VARINT:
        return ocl_pb_varint(r, &v);
    case OCL_PB_I64:
        if (r->end - r->p < 8) {
            r->err = "truncated fixed64";
            return OCL_EINVAL;
        }
        r->p += 8;
        return 0;
    case OCL_PB_LEN:
        return ocl_pb_bytes(r, &s);
    case OCL_PB_I32:
        if (r->end - r->p < 4) {
            r->err = "truncated fixed32";
            return OCL_EINVAL;
        }
        r->p += 4;
        return 0;
    case OCL_PB_SGROUP:
    case OCL_PB_EGROUP:
        r->err = "groups are not supported";
        return OCL_EINVAL;
    default:
        r->err = "invalid wire type";
        return OCL_EINVAL;
    }
}

void ocl_pb_put_fixed64_slow(ocl_buf_t *b, uint32_t field, uint64_t v)
{
    unsigned char *d = ocl_buf_reserve(b, 15);
    size_t n = ocl_pb_varint_write(d, OCL_PB_TAG(field, OCL_PB_I64));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    memcpy(d + n, &v, 8);
    b->len += n + 8;
}

void ocl_pb_put_fixed32(ocl_buf_t *b, uint32_t field, uint32_t v)
{
    unsigned char *d = ocl_buf_reserve(b, 10);
    size_t n = ocl_pb_varint_write(d, OCL_PB_TAG(field, OCL_PB_I32));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    memcpy(d + n, &v, 4);
    b->len += n + 4;
}

void ocl_pb_put_bytes_slow(ocl_buf_t *b, uint32_t field, const void *p, size_t n)
{
    unsigned char *d = ocl_buf_reserve(b, 15 + n);
    size_t k = ocl_pb_varint_write(d, OCL_PB_TAG(field, OCL_PB_LEN));
    k += ocl_pb_varint_write(d + k, n);
    if (n) memcpy(d + k, p, n);
    b->len += k + n;
}

void ocl_pb_msg_end_slow(ocl_buf_t *b, size_t start, size_t guess)
{
    size_t body = b->len - start;
    size_t k = ocl_pb_varint_size(body);
    if (k != guess) {
        if (k > guess) ocl_buf_reserve(b, k - guess);
        memmove(b->p + start - guess + k, b->p + start, body);
        b->len = b->len - guess + k;
    }
    ocl_pb_varint_write(b->p + start - guess, body);
}
