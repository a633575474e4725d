/*
 * pb.h — protobuf wire-format primitives: a bounds-checked reader over a
 * byte range and writer helpers that append to an ocl_buf_t.
 *
 * Invariants: a reader never reads outside [p, end); every read either
 * advances p and returns 0, or returns OCL_EINVAL and stores a fixed static
 * message in r->err without a defined position. Varints longer than 10 bytes
 * or whose 10th byte carries more than the top bit of a uint64 are rejected
 * ("overlong varint"). Groups (wire types 3 and 4) are rejected as
 * malformed: no OTLP message uses them. Fixed-width values are little endian.
 *
 * Workload: the OTLP decoder calls these for every field of every span, so
 * the one-byte cases are inline and the rest lives in pb.c.
 */
#ifndef OCL_WIRE_PB_H
#define OCL_WIRE_PB_H

#include "core/buf.h"
#include "core/core.h"

/* Wire types. */
enum {
    OCL_PB_VARINT = 0,
    OCL_PB_I64 = 1,
    OCL_PB_LEN = 2,
    OCL_PB_SGROUP = 3,
    OCL_PB_EGROUP = 4,
    OCL_PB_I32 = 5,
};

#define OCL_PB_TAG(field, wt) (((uint32_t)(field) << 3) | (uint32_t)(wt))

typedef struct {
    const uint8_t *p;   /* next unread byte */
    const uint8_t *end; /* one past the last readable byte */
    const char *err;    /* static message of the last failure, else NULL */
} ocl_pb_reader_t;

static inline void ocl_pb_reader_init(ocl_pb_reader_t *r, const void *p, size_t n)
{
    r->p = p;
    r->end = n ? r->p + n : r->p; /* no arithmetic on a NULL p */
    r->err = NULL;
}

/* Slow paths (pb.c). */
int ocl_pb_varint_slow(ocl_pb_reader_t *r, uint64_t *v);
int ocl_pb_tag_slow(ocl_pb_reader_t *r, uint32_t *tag);
int ocl_pb_skip(ocl_pb_reader_t *r, uint32_t wire_type);

static inline int ocl_pb_eof(const ocl_pb_reader_t *r)
{
    return r->p >= r->end;
}

static inline int ocl_pb_varint(ocl_pb_reader_t *r, uint64_t *v)
{
    if (OCL_LIKELY(r->p < r->end && *r->p < 0x80)) {
        *v = *r->p++;
        return 0;
    }
    return ocl_pb_varint_slow(r, v);
}

/* Reads a tag (field number << 3 | wire type). Field number 0 and tags
 * beyond 32 bits are malformed. */
static inline int ocl_pb_tag(ocl_pb_reader_t *r, uint32_t *tag)
{
    if (OCL_LIKELY(r->p < r->end && *r->p < 0x80 && *r->p >= 8)) {
        *tag = *r->p++;
        return 0;
    }
    return ocl_pb_tag_slow(r, tag);
}

static inline uint64_t ocl_pb_load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline uint32_t ocl_pb_load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

static inline int ocl_pb_fixed64(ocl_pb_reader_t *r, uint64_t *v)
{
    if (OCL_UNLIKELY(r->end - r->p < 8)) {
        r->err = "truncated fixed64";
        return OCL_EINVAL;
    }
    *v = ocl_pb_load64(r->p);
    r->p += 8;
    return 0;
}

static inline int ocl_pb_fixed32(ocl_pb_reader_t *r, uint32_t *v)
{
    if (OCL_UNLIKELY(r->end - r->p < 4)) {
        r->err = "truncated fixed32";
        return OCL_EINVAL;
    }
    *v = ocl_pb_load32(r->p);
    r->p += 4;
    return 0;
}

static inline int ocl_pb_double(ocl_pb_reader_t *r, double *d)
{
    uint64_t v;
    int rc = ocl_pb_fixed64(r, &v);
    if (OCL_LIKELY(rc == 0)) memcpy(d, &v, 8);
    return rc;
}

/* Reads a length-delimited payload as a view into the input. */
static inline int ocl_pb_bytes(ocl_pb_reader_t *r, ocl_str_t *s)
{
    uint64_t n;
    int rc = ocl_pb_varint(r, &n);
    if (OCL_UNLIKELY(rc)) return rc;
    if (OCL_UNLIKELY(n > (uint64_t)(r->end - r->p))) {
        r->err = "length past end";
        return OCL_EINVAL;
    }
    s->p = (const char *)r->p;
    s->n = (size_t)n;
    r->p += n;
    return 0;
}

static inline int32_t ocl_pb_unzigzag32(uint64_t v)
{
    uint32_t u = (uint32_t)v;
    return (int32_t)((u >> 1) ^ (0u - (u & 1)));
}
static inline int64_t ocl_pb_unzigzag64(uint64_t v)
{
    return (int64_t)((v >> 1) ^ (0 - (v & 1)));
}
static inline uint32_t ocl_pb_zigzag32(int32_t v)
{
    return ((uint32_t)v << 1) ^ (uint32_t)(v >> 31);
}
static inline uint64_t ocl_pb_zigzag64(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

/* ---- writer ---- */

static inline size_t ocl_pb_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80)
        v >>= 7, n++;
    return n;
}

/* Writes v at dst (room for 10 bytes); returns bytes written. */
static inline size_t ocl_pb_varint_write(unsigned char *dst, uint64_t v)
{
    size_t i = 0;
    while (v >= 0x80) {
        dst[i++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    dst[i++] = (unsigned char)v;
    return i;
}

static inline void ocl_pb_put_varint(ocl_buf_t *b, uint64_t v)
{
    unsigned char *d = (b->cap - b->len >= 10) ? b->p + b->len : ocl_buf_reserve(b, 10);
    b->len += ocl_pb_varint_write(d, v);
}

static inline void ocl_pb_put_tag(ocl_buf_t *b, uint32_t field, uint32_t wt)
{
    ocl_pb_put_varint(b, OCL_PB_TAG(field, wt));
}

/* field = varint, always emitted. */
static inline void ocl_pb_put_uint(ocl_buf_t *b, uint32_t field, uint64_t v)
{
    ocl_pb_put_tag(b, field, OCL_PB_VARINT);
    ocl_pb_put_varint(b, v);
}
/* int32/enum: negative values are sign-extended to 10 bytes. */
static inline void ocl_pb_put_int32(ocl_buf_t *b, uint32_t field, int32_t v)
{
    ocl_pb_put_uint(b, field, (uint64_t)(int64_t)v);
}

/* Out-of-line versions that grow the buffer first (pb.c). */
void ocl_pb_put_fixed64_slow(ocl_buf_t *b, uint32_t field, uint64_t v);
void ocl_pb_put_bytes_slow(ocl_buf_t *b, uint32_t field, const void *p, size_t n);
void ocl_pb_msg_end_slow(ocl_buf_t *b, size_t start, size_t guess);

static inline void ocl_pb_put_fixed64(ocl_buf_t *b, uint32_t field, uint64_t v)
{
    if (OCL_UNLIKELY(b->cap - b->len < 15)) {
        ocl_pb_put_fixed64_slow(b, field, v);
        return;
    }
    unsigned char *d = b->p + b->len;
    size_t n = ocl_pb_varint_write(d, OCL_PB_TAG(field, OCL_PB_I64));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    memcpy(d + n, &v, 8);
    b->len += n + 8;
}

void ocl_pb_put_fixed32(ocl_buf_t *b, uint32_t field, uint32_t v);

static inline void ocl_pb_put_double(ocl_buf_t *b, uint32_t field, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    ocl_pb_put_fixed64(b, field, v);
}

/* Length-delimited field (string, bytes, or an encoded sub-message). */
static inline void ocl_pb_put_bytes(ocl_buf_t *b, uint32_t field, const void *p, size_t n)
{
    if (OCL_UNLIKELY(b->cap - b->len < 15 || b->cap - b->len - 15 < n)) {
        ocl_pb_put_bytes_slow(b, field, p, n);
        return;
    }
    unsigned char *d = b->p + b->len;
    size_t k = ocl_pb_varint_write(d, OCL_PB_TAG(field, OCL_PB_LEN));
    k += ocl_pb_varint_write(d + k, n);
    if (n) memcpy(d + k, p, n);
    b->len += k + n;
}

/* Sub-messages written in place: begin writes the tag and reserves
 * `guess` (1..5) bytes for the length, returns the offset where the body
 * starts; end writes the real length, moving the body when its varint size
 * differs from the guess. Guess the size of the usual body to avoid the
 * move (1 for < 128 bytes, 2 for < 16 KiB, 3 for < 2 MiB). */
static inline size_t ocl_pb_msg_begin(ocl_buf_t *b, uint32_t field, size_t guess)
{
    if (OCL_UNLIKELY(b->cap - b->len < 10 + guess)) ocl_buf_reserve(b, 10 + guess);
    b->len += ocl_pb_varint_write(b->p + b->len, OCL_PB_TAG(field, OCL_PB_LEN));
    b->len += guess;
    return b->len;
}

static inline void ocl_pb_msg_end(ocl_buf_t *b, size_t start, size_t guess)
{
    size_t body = b->len - start;
    if (OCL_LIKELY(guess == 1 && body < 0x80)) {
        b->p[start - 1] = (unsigned char)body;
        return;
    }
    ocl_pb_msg_end_slow(b, start, guess);
}

#endif
