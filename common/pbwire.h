/*
 * pbwire.h — dependency-free, header-only protobuf wire-format helpers
 * shared by libocelot (sdk/) and, later, the server's src/wire.
 *
 * Writer: appends to a pbw_buf_t that grows through a caller-supplied
 * realloc function. Errors are sticky: after an allocation failure
 * buf->err is set, further writes do nothing, and the caller checks err
 * once at the end. Nothing here aborts or allocates outside realloc_fn.
 * Sub-messages are written in place: pbw_msg_begin reserves a guessed
 * number of length bytes and pbw_msg_end writes the real length, moving the
 * body when the guess was wrong (canonical minimal varints).
 *
 * Reader: bounds-checked reads over [p, end); every read returns 0 and
 * advances, or returns -1 without a defined position.
 *
 * Workload: SDK export batches (hundreds of spans) — inline one-byte fast
 * paths, no per-field function call overhead beyond inlining.
 */
#ifndef OCL_COMMON_PBWIRE_H
#define OCL_COMMON_PBWIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum { PBW_VARINT = 0, PBW_I64 = 1, PBW_LEN = 2, PBW_I32 = 5 };

#define PBW_TAG(field, wt) (((uint32_t)(field) << 3) | (uint32_t)(wt))

typedef void *(*pbw_realloc_fn)(void *ud, void *p, size_t n);

typedef struct pbw_buf {
    uint8_t *p;                /* bytes; NULL until the first write */
    size_t len;                /* bytes used */
    size_t cap;                /* bytes allocated */
    pbw_realloc_fn realloc_fn; /* grows p; NULL on failure */
    void *ud;                  /* passed to realloc_fn */
    int err;                   /* 1 after an allocation failure (sticky) */
} pbw_buf_t;

static inline void pbw_init(pbw_buf_t *b, pbw_realloc_fn fn, void *ud)
{
    b->p = NULL;
    b->len = b->cap = 0;
    b->realloc_fn = fn;
    b->ud = ud;
    b->err = 0;
}

/* Frees the bytes (realloc to 0). */
static inline void pbw_free(pbw_buf_t *b)
{
    if (b->p) b->realloc_fn(b->ud, b->p, 0);
    b->p = NULL;
    b->len = b->cap = 0;
}

static inline void pbw_reset(pbw_buf_t *b)
{
    b->len = 0;
    b->err = 0;
}

/* Ensures room for n more bytes; 0 or -1 (err set). */
static inline int pbw_reserve(pbw_buf_t *b, size_t n)
{
    if (b->err) return -1;
    if (b->cap - b->len >= n) return 0;
    size_t want = b->cap ? b->cap : 256;
    while (want - b->len < n) {
        if (want > SIZE_MAX / 2) {
            b->err = 1;
            return -1;
        }
        want *= 2;
    }
    uint8_t *np = (uint8_t *)b->realloc_fn(b->ud, b->p, want);
    if (!np) {
        b->err = 1;
        return -1;
    }
    b->p = np;
    b->cap = want;
    return 0;
}

static inline size_t pbw_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static inline size_t pbw_varint_write(uint8_t *dst, uint64_t v)
{
    size_t i = 0;
    while (v >= 0x80) {
        dst[i++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    dst[i++] = (uint8_t)v;
    return i;
}

static inline uint32_t pbw_zigzag32(int32_t v)
{
    return ((uint32_t)v << 1) ^ (uint32_t)(v >> 31);
}
static inline uint64_t pbw_zigzag64(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline void pbw_raw(pbw_buf_t *b, const void *p, size_t n)
{
    if (pbw_reserve(b, n)) return;
    if (n) memcpy(b->p + b->len, p, n);
    b->len += n;
}

static inline void pbw_varint(pbw_buf_t *b, uint64_t v)
{
    if (pbw_reserve(b, 10)) return;
    b->len += pbw_varint_write(b->p + b->len, v);
}

static inline void pbw_tag(pbw_buf_t *b, uint32_t field, uint32_t wt)
{
    pbw_varint(b, PBW_TAG(field, wt));
}

/* varint field, always written. */
static inline void pbw_uint(pbw_buf_t *b, uint32_t field, uint64_t v)
{
    if (pbw_reserve(b, 15)) return;
    b->len += pbw_varint_write(b->p + b->len, PBW_TAG(field, PBW_VARINT));
    b->len += pbw_varint_write(b->p + b->len, v);
}
/* int32/enum: negatives sign-extended to 10 bytes. */
static inline void pbw_int32(pbw_buf_t *b, uint32_t field, int32_t v)
{
    pbw_uint(b, field, (uint64_t)(int64_t)v);
}
static inline void pbw_sint64(pbw_buf_t *b, uint32_t field, int64_t v)
{
    pbw_uint(b, field, pbw_zigzag64(v));
}

static inline void pbw_store64(uint8_t *d, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        d[i] = (uint8_t)(v >> (8 * i));
}
static inline void pbw_store32(uint8_t *d, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        d[i] = (uint8_t)(v >> (8 * i));
}

static inline void pbw_fixed64(pbw_buf_t *b, uint32_t field, uint64_t v)
{
    if (pbw_reserve(b, 13)) return;
    b->len += pbw_varint_write(b->p + b->len, PBW_TAG(field, PBW_I64));
    pbw_store64(b->p + b->len, v);
    b->len += 8;
}
static inline void pbw_fixed32(pbw_buf_t *b, uint32_t field, uint32_t v)
{
    if (pbw_reserve(b, 9)) return;
    b->len += pbw_varint_write(b->p + b->len, PBW_TAG(field, PBW_I32));
    pbw_store32(b->p + b->len, v);
    b->len += 4;
}
static inline void pbw_double(pbw_buf_t *b, uint32_t field, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    pbw_fixed64(b, field, v);
}

/* Length-delimited field: string, bytes or an already encoded message. */
static inline void pbw_bytes(pbw_buf_t *b, uint32_t field, const void *p, size_t n)
{
    if (pbw_reserve(b, 15 + n)) return;
    b->len += pbw_varint_write(b->p + b->len, PBW_TAG(field, PBW_LEN));
    b->len += pbw_varint_write(b->p + b->len, n);
    if (n) memcpy(b->p + b->len, p, n);
    b->len += n;
}

/* Begins a sub-message of field; guess (1..5) is the number of bytes
 * reserved for its length. Returns the offset of the body. */
static inline size_t pbw_msg_begin(pbw_buf_t *b, uint32_t field, size_t guess)
{
    if (pbw_reserve(b, 5 + guess)) return b->len;
    b->len += pbw_varint_write(b->p + b->len, PBW_TAG(field, PBW_LEN));
    b->len += guess;
    return b->len;
}

/* Ends the sub-message begun at body offset start with the same guess. */
static inline void pbw_msg_end(pbw_buf_t *b, size_t start, size_t guess)
{
    if (b->err) return;
    size_t n = b->len - start;
    size_t need = pbw_varint_size(n);
    if (need != guess) {
        if (need > guess && pbw_reserve(b, need - guess)) return;
        memmove(b->p + start - guess + need, b->p + start, n);
        b->len = b->len - guess + need;
        start = start - guess + need;
    }
    pbw_varint_write(b->p + start - need, n);
}

/* Packed repeated fixed64 / double. */
static inline void pbw_packed_fixed64(pbw_buf_t *b, uint32_t field, const uint64_t *v, size_t n)
{
    if (!n) return;
    if (pbw_reserve(b, 15 + 8 * n)) return;
    b->len += pbw_varint_write(b->p + b->len, PBW_TAG(field, PBW_LEN));
    b->len += pbw_varint_write(b->p + b->len, 8 * n);
    for (size_t i = 0; i < n; i++, b->len += 8)
        pbw_store64(b->p + b->len, v[i]);
}
static inline void pbw_packed_double(pbw_buf_t *b, uint32_t field, const double *v, size_t n)
{
    if (!n) return;
    if (pbw_reserve(b, 15 + 8 * n)) return;
    b->len += pbw_varint_write(b->p + b->len, PBW_TAG(field, PBW_LEN));
    b->len += pbw_varint_write(b->p + b->len, 8 * n);
    for (size_t i = 0; i < n; i++, b->len += 8) {
        uint64_t x;
        memcpy(&x, &v[i], 8);
        pbw_store64(b->p + b->len, x);
    }
}

/* ---- reader ---- */

typedef struct pbw_reader {
    const uint8_t *p;   /* next unread byte */
    const uint8_t *end; /* one past the last readable byte */
} pbw_reader_t;

static inline void pbw_reader_init(pbw_reader_t *r, const void *p, size_t n)
{
    r->p = (const uint8_t *)p;
    r->end = n ? r->p + n : r->p;
}

static inline int pbw_read_varint(pbw_reader_t *r, uint64_t *v)
{
    uint64_t x = 0;
    for (int i = 0; i < 10; i++) {
        if (r->p >= r->end) return -1;
        uint8_t c = *r->p++;
        if (i == 9 && c > 1) return -1;
        x |= (uint64_t)(c & 0x7f) << (7 * i);
        if (c < 0x80) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* Reads a tag; field 0 is malformed. */
static inline int pbw_read_tag(pbw_reader_t *r, uint32_t *field, uint32_t *wt)
{
    uint64_t t;
    if (pbw_read_varint(r, &t) || t > UINT32_MAX || (t >> 3) == 0) return -1;
    *field = (uint32_t)(t >> 3);
    *wt = (uint32_t)(t & 7);
    return 0;
}

static inline int pbw_read_bytes(pbw_reader_t *r, const uint8_t **p, size_t *n)
{
    uint64_t len;
    if (pbw_read_varint(r, &len) || len > (uint64_t)(r->end - r->p)) return -1;
    *p = r->p;
    *n = (size_t)len;
    r->p += len;
    return 0;
}

/* Skips a field's value of wire type wt (groups are malformed). */
static inline int pbw_skip(pbw_reader_t *r, uint32_t wt)
{
    uint64_t v;
    const uint8_t *p;
    size_t n;
    switch (wt) {
    case PBW_VARINT:
        return pbw_read_varint(r, &v);
    case PBW_I64:
        if (r->end - r->p < 8) return -1;
        r->p += 8;
        return 0;
    case PBW_LEN:
        return pbw_read_bytes(r, &p, &n);
    case PBW_I32:
        if (r->end - r->p < 4) return -1;
        r->p += 4;
        return 0;
    default:
        return -1;
    }
}

#endif
