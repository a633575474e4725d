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

static inline uint64_t load_be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return __builtin_bswap64(v);
}

static inline void store_be64(uint8_t *p, uint64_t v)
{
    v = __builtin_bswap64(v);
    memcpy(p, &v, 8);
}

/* Writes the low nb (1..64) bits of v. The buffer has at least 8 zeroed
 * bytes past the current byte (see reserve), so one 64-bit read-modify-
 * write covers up to 57 bits. */
static inline void put_bits(ocl_chunk_t *c, uint64_t v, int nb)
{
    if (nb > 32) {
        put_bits(c, v >> 32, nb - 32);
        nb = 32;
    }
    v &= (1ULL << nb) - 1;
    uint32_t byte = c->nbits >> 3;
    int used = (int)(c->nbits & 7);
    uint64_t w = load_be64(c->b + byte);
    w |= v << (64 - used - nb);
    store_be64(c->b + byte, w);
    c->nbits += (uint32_t)nb;
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
    uint32_t need = (c->nbits >> 3) + MAX_SAMPLE_BYTES + 8;
    if (need <= c->cap) return;
    uint32_t cap = c->cap ? c->cap * 2 : 32;
    while (cap < need)
        cap *= 2;
    c->b = ocl_realloc(c->b, cap);
    memset(c->b + c->cap, 0, cap - c->cap); /* put_bits ORs into zeroed bytes */
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

/* Timestamp of sample c->n: zigzag varint, then delta, then dod buckets. */
static void put_time(ocl_chunk_t *c, ocl_chunk_app_t *a, int64_t t)
{
    if (c->n == 0) {
        uint64_t ut = (uint64_t)t;
        put_uvarint(c, (ut << 1) ^ (uint64_t)(t >> 63)); /* zigzag */
        a->delta = 0;
        c->mint = t;
    } else if (c->n == 1) {
        uint64_t d = (uint64_t)t - (uint64_t)a->t;
        put_uvarint(c, d);
        a->delta = (int64_t)d;
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
    }
    a->t = t;
    c->maxt = t;
}

void ocl_chunk_append(ocl_chunk_t *c, ocl_chunk_app_t *a, int64_t t, double v)
{
    uint64_t vb;
    memcpy(&vb, &v, sizeof vb);
    reserve(c);
    put_time(c, a, t);
    if (c->n == 0) {
        put_bits(c, vb, 64);
        a->v = vb;
        a->lead = 0xff;
        a->trail = 0;
    } else {
        put_value(c, a, vb);
    }
    c->n++;
}

/* ---- decimal encoding ---- */

static const double pow10_tab[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};

/* Nearest integer of |x| < 2^53 (doubles from 2^52 up are integers). */
static int64_t round_int(double x)
{
    if (x >= 4503599627370496.0 || x <= -4503599627370496.0) return (int64_t)x;
    return (int64_t)(x < 0 ? x - 0.5 : x + 0.5);
}

/* The smallest k such that every value is exactly iv / 10^k with an
 * integer |iv| < 2^53 (bitwise round trip), or -1. */
static int dec_scale(const double *v, uint32_t n)
{
    for (int k = 0; k < (int)OCL_ARRAY_LEN(pow10_tab); k++) {
        double scale = pow10_tab[k];
        bool ok = true;
        for (uint32_t i = 0; i < n && ok; i++) {
            double x = v[i] * scale;
            if (!(x > -9007199254740992.0 && x < 9007199254740992.0))
                return -1;                                       /* NaN, inf, huge */
            if (v[i] == 0 && __builtin_signbit(v[i])) return -1; /* -0.0 */
            int64_t iv = round_int(x);
            ok = (double)iv / scale == v[i];
        }
        if (ok) return k;
    }
    return -1;
}

static int bit_width(uint64_t x)
{
    return x ? 64 - __builtin_clzll(x) : 0;
}

static uint64_t zigzag(int64_t d)
{
    return ((uint64_t)d << 1) ^ (uint64_t)(d >> 63);
}

int ocl_chunk_encode_dec(ocl_chunk_t *c, const int64_t *t, const double *v, uint32_t n)
{
    int k = n ? dec_scale(v, n) : -1;
    if (k < 0) return -1;
    double scale = pow10_tab[k];
    /* width of the widest delta; zero deltas decide between the modes */
    uint64_t maxz = 0;
    uint32_t zeros = 0;
    int64_t prev = round_int(v[0] * scale);
    for (uint32_t i = 1; i < n; i++) {
        int64_t iv = round_int(v[i] * scale);
        uint64_t z = zigzag(iv - prev);
        if (z > maxz) maxz = z;
        zeros += z == 0;
        prev = iv;
    }
    int w = bit_width(maxz);
    uint64_t flagged = (uint64_t)(n - 1) + (uint64_t)(n - 1 - zeros) * (uint64_t)w;
    uint64_t plain = (uint64_t)(n - 1) * (uint64_t)w;
    int mode = plain < flagged; /* 1 = plain */
    /* timestamps: delta-of-delta, or offsets from the grid t0 + i·step
     * (a late scrape then costs one offset instead of two dods) */
    uint64_t step = n > 1 ? ((uint64_t)t[n - 1] - (uint64_t)t[0]) / (n - 1) : 0;
    uint64_t dod_bits = 0, maxo = 0;
    uint32_t ozero = 0;
    for (uint32_t i = 1; i < n; i++) {
        uint64_t o = zigzag((int64_t)((uint64_t)t[i] - (uint64_t)t[0] - (uint64_t)i * step));
        if (o > maxo) maxo = o;
        ozero += o == 0;
        if (i >= 2) {
            int64_t dod = (int64_t)(((uint64_t)t[i] - (uint64_t)t[i - 1]) -
                                    ((uint64_t)t[i - 1] - (uint64_t)t[i - 2]));
            dod_bits += dod == 0                            ? 1
                        : (dod >= -64 && dod <= 63)         ? 9
                        : (dod >= -8192 && dod <= 8191)     ? 17
                        : (dod >= -524288 && dod <= 524287) ? 24
                                                            : 68;
        }
    }
    int tw = bit_width(maxo);
    uint64_t grid_bits = 7 + 8 * (uint64_t)(bit_width(step) / 7 + 1) + (n > 1 ? n - 1 : 0) +
                         (uint64_t)(n - 1 - ozero) * (uint64_t)tw;
    if (n > 1) dod_bits += 8 * (uint64_t)(bit_width((uint64_t)t[1] - (uint64_t)t[0]) / 7 + 1);
    uint64_t grid_plain = grid_bits - (n - 1) - (uint64_t)(n - 1 - ozero) * (uint64_t)tw +
                          (uint64_t)(n - 1) * (uint64_t)tw;
    int tmode = n > 2 && OCL_MIN(grid_bits, grid_plain) < dod_bits;
    int tplain = grid_plain < grid_bits; /* offsets without zero flags */
    memset(c, 0, sizeof *c);
    c->enc = OCL_CHUNK_DEC;
    ocl_chunk_app_t a = {0};
    reserve(c);
    put_bits(c, (uint64_t)k, 4);
    put_bits(c, (uint64_t)mode, 1);
    put_bits(c, (uint64_t)w, 7);
    put_bits(c, (uint64_t)tmode, 1);
    if (tmode) {
        put_bits(c, (uint64_t)tplain, 1);
        put_bits(c, (uint64_t)tw, 7);
        put_uvarint(c, step);
    }
    prev = 0;
    for (uint32_t i = 0; i < n; i++) {
        reserve(c);
        int64_t iv = round_int(v[i] * scale);
        if (!tmode) {
            put_time(c, &a, t[i]);
        } else if (i == 0) {
            put_uvarint(c, zigzag(t[0]));
            c->mint = t[0];
        } else {
            uint64_t o = zigzag((int64_t)((uint64_t)t[i] - (uint64_t)t[0] - (uint64_t)i * step));
            if (!tplain) put_bits(c, o != 0, 1);
            if (tw && (tplain || o)) put_bits(c, o, tw);
        }
        c->maxt = t[i];
        if (i == 0) {
            put_uvarint(c, zigzag(iv));
        } else {
            uint64_t z = zigzag(iv - prev);
            if (!mode) put_bits(c, z != 0, 1);
            if (w && (mode || z)) put_bits(c, z, w);
        }
        prev = iv;
        c->n++;
    }
    return 0;
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
    ocl_chunk_iter_init_enc(it, OCL_CHUNK_XOR, b, len, n);
}

void ocl_chunk_iter_init_enc(ocl_chunk_iter_t *it, int enc, const uint8_t *b, size_t len,
                             uint32_t n)
{
    memset(it, 0, sizeof *it);
    it->b = b;
    it->len = len;
    it->n = n;
    it->lead = 0xff;
    it->enc = (uint8_t)enc;
}

static int get_bits(ocl_chunk_iter_t *it, int nb, uint64_t *out)
{
    if (it->pos + (size_t)nb > it->len * 8) return OCL_ECORRUPT;
    if (nb > 32) {
        uint64_t hi, lo;
        get_bits(it, nb - 32, &hi);
        get_bits(it, 32, &lo);
        *out = hi << 32 | lo;
        return 0;
    }
    size_t byte = it->pos >> 3;
    int used = (int)(it->pos & 7);
    uint64_t w;
    if (byte + 8 <= it->len) {
        w = load_be64(it->b + byte);
    } else { /* near the end: assemble from the bytes that exist */
        w = 0;
        for (size_t i = 0; i < 8; i++)
            w = w << 8 | (byte + i < it->len ? it->b[byte + i] : 0);
    }
    *out = (w << used) >> (64 - nb);
    it->pos += (size_t)nb;
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

static int get_time(ocl_chunk_iter_t *it)
{
    uint64_t x;
    if (it->i == 0) {
        if (get_uvarint(it, &x)) return OCL_ECORRUPT;
        it->t = (int64_t)((x >> 1) ^ (0 - (x & 1)));
    } else if (it->i == 1) {
        if (get_uvarint(it, &x)) return OCL_ECORRUPT;
        it->delta = (int64_t)x;
        it->t = (int64_t)((uint64_t)it->t + x);
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
    }
    return 0;
}

/* Value delta of sample i >= 1 in the decimal encoding. */
static int get_dec_value(ocl_chunk_iter_t *it)
{
    uint64_t z = 0, flag = 1;
    if (!it->dmode && get_bits(it, 1, &flag)) return OCL_ECORRUPT;
    if (flag && it->dwidth && get_bits(it, it->dwidth, &z)) return OCL_ECORRUPT;
    int64_t d = (int64_t)((z >> 1) ^ (0 - (z & 1)));
    it->iv = (int64_t)((uint64_t)it->iv + (uint64_t)d);
    double v = (double)it->iv / pow10_tab[it->scale];
    memcpy(&it->v, &v, sizeof v);
    return 0;
}

int ocl_chunk_iter_next(ocl_chunk_iter_t *it, int64_t *t, double *v)
{
    if (it->i >= it->n) return 0;
    if (it->enc == OCL_CHUNK_DEC) {
        /* the header (scale, mode, width) precedes the first timestamp */
        if (it->i == 0) {
            uint64_t k, mode, w;
            if (get_bits(it, 4, &k) || k >= OCL_ARRAY_LEN(pow10_tab)) return OCL_ECORRUPT;
            if (get_bits(it, 1, &mode) || get_bits(it, 7, &w) || w > 64) return OCL_ECORRUPT;
            it->scale = (uint8_t)k;
            it->dmode = (uint8_t)mode;
            it->dwidth = (uint8_t)w;
            uint64_t tmode, tplain = 0, tw = 0, step = 0;
            if (get_bits(it, 1, &tmode)) return OCL_ECORRUPT;
            if (tmode && (get_bits(it, 1, &tplain) || get_bits(it, 7, &tw) || tw > 64 ||
                          get_uvarint(it, &step)))
                return OCL_ECORRUPT;
            it->tmode = (uint8_t)(tmode ? 1 + tplain : 0);
            it->twidth = (uint8_t)tw;
            it->step = step;
        }
        if (!it->tmode) {
            if (get_time(it)) return OCL_ECORRUPT;
        } else if (it->i == 0) {
            uint64_t x;
            if (get_uvarint(it, &x)) return OCL_ECORRUPT;
            it->t0 = it->t = (int64_t)((x >> 1) ^ (0 - (x & 1)));
        } else {
            uint64_t flag = 1, o = 0;
            if (it->tmode == 1 && get_bits(it, 1, &flag)) return OCL_ECORRUPT;
            if (flag && it->twidth && get_bits(it, it->twidth, &o)) return OCL_ECORRUPT;
            if (flag && !it->twidth && it->tmode == 1) return OCL_ECORRUPT;
            int64_t off = (int64_t)((o >> 1) ^ (0 - (o & 1)));
            it->t = (int64_t)((uint64_t)it->t0 + (uint64_t)it->i * it->step + (uint64_t)off);
        }
        uint64_t z;
        if (it->i == 0) {
            if (get_uvarint(it, &z)) return OCL_ECORRUPT;
            it->iv = (int64_t)((z >> 1) ^ (0 - (z & 1)));
            double d = (double)it->iv / pow10_tab[it->scale];
            memcpy(&it->v, &d, sizeof d);
        } else if (get_dec_value(it)) {
            return OCL_ECORRUPT;
        }
    } else if (it->enc == OCL_CHUNK_XOR) {
        if (get_time(it)) return OCL_ECORRUPT;
        if (it->i == 0) {
            if (get_bits(it, 64, &it->v)) return OCL_ECORRUPT;
        } else if (get_value(it)) {
            return OCL_ECORRUPT;
        }
    } else {
        return OCL_ECORRUPT;
    }
    it->i++;
    *t = it->t;
    memcpy(v, &it->v, sizeof *v);
    return 1;
}
