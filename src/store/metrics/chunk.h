/*
 * chunk.h — Gorilla-style compressed sample chunks of the metrics TSDB:
 * delta-of-delta timestamps and XOR-encoded float values in one bit stream
 * (layout in docs/FORMATS.md, "Metrics TSDB", chunk encoding).
 *
 * Invariants: timestamps in a chunk strictly increase (the head only
 * appends in order); values round-trip bit for bit (NaN payloads such as
 * the staleness marker included). A chunk's sample count is kept outside
 * the bit stream (chunk metadata), so a decoder is given (bytes, count).
 * Decoding never reads past the given length and reports OCL_ECORRUPT on
 * truncated input. Tuned for ~120 samples per chunk at a regular scrape
 * interval: a regular timestamp costs 1 bit, an unchanged value 1 bit.
 */
#ifndef OCL_CHUNK_H
#define OCL_CHUNK_H

#include "core/core.h"

#include <stdbool.h>

/* Encodings: XOR (Gorilla; the head's, appendable) and DEC (values that
 * are decimal numbers with at most 9 fraction digits and |v·10^k| < 2^53,
 * stored as integer deltas; chosen for blocks when it is smaller). */
#define OCL_CHUNK_XOR 0
#define OCL_CHUNK_DEC 1

/* Samples per chunk before the head cuts a new one. */
#define OCL_CHUNK_SAMPLES 120

/* A chunk being appended to, or a closed one (heap-owned bytes). */
typedef struct {
    uint8_t *b;     /* bit stream, MSB first; owned */
    uint32_t cap;   /* allocated bytes of b */
    uint32_t nbits; /* bits written */
    uint32_t n;     /* samples in the chunk */
    uint8_t enc;    /* OCL_CHUNK_XOR or OCL_CHUNK_DEC */
    int64_t mint;   /* first timestamp */
    int64_t maxt;   /* last timestamp */
} ocl_chunk_t;

/* Encoder state for the open chunk (not needed once the chunk is closed). */
typedef struct {
    int64_t t;     /* previous timestamp */
    int64_t delta; /* previous timestamp delta */
    uint64_t v;    /* previous value bits */
    uint8_t lead;  /* leading zero bits of the previous XOR window */
    uint8_t trail; /* trailing zero bits of the previous XOR window (lead=0xff: none yet) */
} ocl_chunk_app_t;

/* Appends (t, v) to c; t must be greater than the previous timestamp. No
 * allocation unless the bit buffer has to grow (amortised doubling). */
void ocl_chunk_append(ocl_chunk_t *c, ocl_chunk_app_t *a, int64_t t, double v);
/* Encodes n samples (increasing times) as a DEC chunk into c (overwritten);
 * -1 (c untouched) when some value is not representable. */
int ocl_chunk_encode_dec(ocl_chunk_t *c, const int64_t *t, const double *v, uint32_t n);
/* Shrinks the buffer of a closed chunk to its size. */
void ocl_chunk_shrink(ocl_chunk_t *c);
void ocl_chunk_dispose(ocl_chunk_t *c);
static inline uint32_t ocl_chunk_bytes(const ocl_chunk_t *c)
{
    return (c->nbits + 7) / 8;
}

/* Decoder over an encoded chunk. */
typedef struct {
    const uint8_t *b; /* bytes */
    size_t len;       /* length of b in bytes */
    size_t pos;       /* next bit */
    uint32_t n;       /* samples announced */
    uint32_t i;       /* samples decoded */
    int64_t t;        /* current timestamp */
    int64_t delta;    /* current delta */
    uint64_t v;       /* current value bits */
    uint8_t lead;     /* XOR window */
    uint8_t trail;    /* XOR window */
    uint8_t enc;      /* encoding */
    uint8_t scale;    /* DEC: power of ten */
    uint8_t dmode;    /* DEC: 0 = flagged deltas, 1 = plain */
    uint8_t dwidth;   /* DEC: bits per delta */
    uint8_t tmode;    /* DEC: 0 = dod timestamps, 1 = grid offsets with flags, 2 = without */
    uint8_t twidth;   /* DEC grid: bits per offset */
    uint64_t step;    /* DEC grid: step (ms) */
    int64_t t0;       /* DEC grid: first timestamp */
    int64_t iv;       /* DEC: current scaled integer */
} ocl_chunk_iter_t;

void ocl_chunk_iter_init(ocl_chunk_iter_t *it, const uint8_t *b, size_t len, uint32_t n);
void ocl_chunk_iter_init_enc(ocl_chunk_iter_t *it, int enc, const uint8_t *b, size_t len,
                             uint32_t n);
/* 1 and (*t, *v) set; 0 at the end; OCL_ECORRUPT on malformed input. */
int ocl_chunk_iter_next(ocl_chunk_iter_t *it, int64_t *t, double *v);

/* Bulk decoder for queries: decodes the chunk (encoding `enc`, `len` bytes,
 * `n` samples) and stores the samples with mint <= t <= maxt into t[] and
 * v[] (room for n each), stopping at the first sample after maxt. Returns
 * the number stored, or OCL_ECORRUPT when a decoded sample is malformed
 * (the samples after maxt are not decoded, hence not checked). Yields
 * exactly what ocl_chunk_iter_next yields for the same range with ~4x
 * fewer instructions: one bit window refilled by 64-bit loads, no call
 * per sample. */
int ocl_chunk_decode(int enc, const uint8_t *b, size_t len, uint32_t n, int64_t mint, int64_t maxt,
                     int64_t *t, double *v);

#endif
