/*
 * chunk.c — Gorilla-style chunk encoder and decoder (see chunk.h and the
 * "Metrics TSDB" section of docs/FORMATS.md for the bit layout).
 *
 * All arithmetic on timestamps is done modulo 2^64 (uint64_t) so that any
 * pair of int64 timestamps encodes without overflow. The writer reserves
 * enough room for one whole sample before encoding it, so the per-bit
 * writes never check capacity. Tuned for regular scrapes: most timestamps
 * cost one bit and slowly changing values reuse the previous XOR window.
 */
#include "store/metrics/chunk.h"

#include <stdlib.h>

/* Longest sample encoding: dod 4+64 bits, value 2+5+6+64 bits (< 19 bytes),
 * or a first sample: 10 varint bytes + 8 value bytes. */
#define MAX_SAMPLE_BYTES 24

static void put_bits(ocl_chunk_t *c, uint64_t v, int nb)
{
    while (nb > 0) {
        uint32_t byte = c->nbits >> 3;
        int used = (int)(c->nbits & 7);
        int room = 8 - used;
        int take = nb < room ? nb : room;
        uint8_t bits = (uint8_t)((v >> (nb - take)) & ((1u << take) - 1));
        if (used == 0) c->b[byte] = 0;
        c->b[byte] |= (uint8_t)(bits << (room - take));
        nb -= take;
        c->nbits += (uint32_t)take;
    }
}

/* Unsigned varint written as whole 8-bit groups (7 data bits, MSB = more). */
static void put_uvarint(ocl_chunk_t *c, uint64_t x)
{
    while (x >= 0x80) {
        put_bits(c, (x & 0x7f) | 0x80, 8);
        x >>= 7;
    }
    put_bits(c, x, 8);
}

static void reserve(ocl_chunk_t *c)
{
    uint32_t need = (c->nbits >> 3) + MAX_SAMPLE_BYTES;
    if (need <= c->cap) return;
    uint32_t cap = c->cap ? c->cap : 32;
    while (cap < need)
        cap *= 2;
    c->b = ocl_realloc(c->b, cap);
    c->cap = cap;
}

static void put_value(ocl_chunk_t *c, ocl_chunk_app_t *a, uint64_t vb)
{
    uint64_t x = vb ^ a->v;
    a->v = vb;
    if (x == 0) {
        put_bits(c, 0, 1);
        return;
    }
    int lead = __builtin_clzll(x), trail = __builtin_ctzll(x);
    if (lead > 31) lead = 31;
    if (a->lead != 0xff && lead >= a->lead && trail >= a->trail) {
        int sig = 64 - a->lead - a->trail;
        put_bits(c, 2, 2); /* '10' */
        put_bits(c, x >> a->trail, sig);
        return;
    }
    int sig = 64 - lead - trail;
    put_bits(c, 3, 2); /* '11' */
    put_bits(c, (uint64_t)lead, 5);
    put_bits(c, (uint64_t)(sig & 63), 6);
    put_bits(c, x >> trail, sig);
    a->lead = (uint8_t)lead;
    a->trail = (uint8_t)trail;
}

void ocl_chunk_append(ocl_chunk_t *c, ocl_chunk_app_t *a, int64_t t, double v)
{
    uint64_t vb;
    memcpy(&vb, &v, sizeof vb);
    reserve(c);
    if (c->n == 0) {
        uint64_t ut = (uint64_t)t;
        put_uvarint(c, (ut << 1) ^ (uint64_t)(t >> 63)); /* zigzag */
        put_bits(c, vb, 64);
        a->v = vb;
        a->lead = 0xff;
        a->trail = 0;
        a->delta = 0;
        c->mint = t;
    } else if (c->n == 1) {
        uint64_t d = (uint64_t)t - (uint64_t)a->t;
        put_uvarint(c, d);
        a->delta = (int64_t)d;
        put_value(c, a, vb);
    } else {
        uint64_t d = (uint64_t)t - (uint64_t)a->t;
        int64_t dod = (int64_t)(d - (uint64_t)a->delta);
        if (dod == 0) {
            put_bits(c, 0, 1);
        } else if (dod >= -64 && dod <= 63) {
            put_bits(c, 2, 2); /* '10' */
            put_bits(c, (uint64_t)dod, 7);
        } else if (dod >= -8192 && dod <= 8191) {
            put_bits(c, 6, 3); /* '110' */
            put_bits(c, (uint64_t)dod, 14);
        } else if (dod >= -524288 && dod <= 524287) {
            put_bits(c, 14, 4); /* '1110' */
            put_bits(c, (uint64_t)dod, 20);
        } else {
            put_bits(c, 15, 4); /* '1111' */
            put_bits(c, (uint64_t)dod, 64);
        }
        a->delta = (int64_t)d;
        put_value(c, a, vb);
    }
    a->t = t;
    c->maxt = t;
    c->n++;
}

void ocl_chunk_shrink(ocl_chunk_t *c)
{
    uint32_t len = ocl_chunk_bytes(c);
    if (len && len < c->cap) {
        c->b = ocl_realloc(c->b, len);
        c->cap = len;
    }
}

void ocl_chunk_dispose(ocl_chunk_t *c)
{
    ocl_free(c->b);
    memset(c, 0, sizeof *c);
}

/* ---- decoder ---- */

void ocl_chunk_iter_init(ocl_chunk_iter_t *it, const uint8_t *b, size_t len, uint32_t n)
{
    memset(it, 0, sizeof *it);
    it->b = b;
    it->len = len;
    it->n = n;
    it->lead = 0xff;
}

static int get_bits(ocl_chunk_iter_t *it, int nb, uint64_t *out)
{
    if (it->pos + (size_t)nb > it->len * 8) return OCL_ECORRUPT;
    uint64_t v = 0;
    while (nb > 0) {
        size_t byte = it->pos >> 3;
        int used = (int)(it->pos & 7);
        int room = 8 - used;
        int take = nb < room ? nb : room;
        uint8_t bits = (uint8_t)((it->b[byte] >> (room - take)) & ((1u << take) - 1));
        v = (take == 64 ? 0 : v << take) | bits;
        nb -= take;
        it->pos += (size_t)take;
    }
    *out = v;
    return 0;
}

static int get_uvarint(ocl_chunk_iter_t *it, uint64_t *out)
{
    uint64_t x = 0, g;
    for (int shift = 0; shift < 70; shift += 7) {
        if (get_bits(it, 8, &g)) return OCL_ECORRUPT;
        if (shift == 63 && (g & 0x7e)) return OCL_ECORRUPT;
        x |= (g & 0x7f) << shift;
        if (!(g & 0x80)) {
            *out = x;
            return 0;
        }
    }
    return OCL_ECORRUPT;
}

static int64_t sign_extend(uint64_t v, int nb)
{
    uint64_t m = 1ULL << (nb - 1);
    return (int64_t)((v ^ m) - m);
}

static int get_value(ocl_chunk_iter_t *it)
{
    uint64_t bit, x;
    if (get_bits(it, 1, &bit)) return OCL_ECORRUPT;
    if (!bit) return 0;
    if (get_bits(it, 1, &bit)) return OCL_ECORRUPT;
    if (!bit) {
        if (it->lead == 0xff) return OCL_ECORRUPT;
        int sig = 64 - it->lead - it->trail;
        if (get_bits(it, sig, &x)) return OCL_ECORRUPT;
        it->v ^= x << it->trail;
        return 0;
    }
    uint64_t lead, sig;
    if (get_bits(it, 5, &lead) || get_bits(it, 6, &sig)) return OCL_ECORRUPT;
    if (sig == 0) sig = 64;
    if (lead + sig > 64) return OCL_ECORRUPT;
    if (get_bits(it, (int)sig, &x)) return OCL_ECORRUPT;
    it->lead = (uint8_t)lead;
    it->trail = (uint8_t)(64 - lead - sig);
    it->v ^= it->trail == 64 ? 0 : x << it->trail;
    return 0;
}

int ocl_chunk_iter_next(ocl_chunk_iter_t *it, int64_t *t, double *v)
{
    uint64_t x;
    if (it->i >= it->n) return 0;
    if (it->i == 0) {
        if (get_uvarint(it, &x)) return OCL_ECORRUPT;
        it->t = (int64_t)((x >> 1) ^ (0 - (x & 1)));
        if (get_bits(it, 64, &it->v)) return OCL_ECORRUPT;
    } else if (it->i == 1) {
        if (get_uvarint(it, &x)) return OCL_ECORRUPT;
        it->delta = (int64_t)x;
        it->t = (int64_t)((uint64_t)it->t + x);
        if (get_value(it)) return OCL_ECORRUPT;
    } else {
        int64_t dod = 0;
        uint64_t bit;
        int ones = 0;
        while (ones < 4) {
            if (get_bits(it, 1, &bit)) return OCL_ECORRUPT;
            if (!bit) break;
            ones++;
        }
        static const int widths[5] = {0, 7, 14, 20, 64};
        if (ones > 0) {
            int w = widths[ones];
            if (get_bits(it, w, &x)) return OCL_ECORRUPT;
            dod = w == 64 ? (int64_t)x : sign_extend(x, w);
        }
        it->delta = (int64_t)((uint64_t)it->delta + (uint64_t)dod);
        it->t = (int64_t)((uint64_t)it->t + (uint64_t)it->delta);
        if (get_value(it)) return OCL_ECORRUPT;
    }
    it->i++;
    *t = it->t;
    memcpy(v, &it->v, sizeof *v);
    return 1;
}
