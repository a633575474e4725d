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
        uint64_t hi = 0, lo = 0; /* set: the range was checked above */
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

/* ---- bulk decoder (ocl_chunk_decode) ----
 *
 * Same format as the iterator above, decoded in one loop per encoding with
 * the reader state in locals. The window `w` holds the stream from bit
 * pos = end - avail at its top, `avail` bits valid (57..64 after a
 * refill; only w, avail change per read). A refill
 * loads 8 bytes at pos / 8 (bytewise, zero-padded, in the last 8 bytes), so
 * bits past the end read as zero; a sample that consumed them is reported
 * as OCL_ECORRUPT by the check at its end (pos > 8 * len). Every read is at
 * most 57 bits wide; 64-bit fields are read as two halves. The reader's
 * helpers are forced inline: an out-of-line call would put it in memory. */

#define AINLINE static inline __attribute__((always_inline))

typedef struct {
    const uint8_t *b; /* bytes */
    size_t len;       /* length of b */
    size_t end;       /* stream position just past the bottom bit of w */
    uint64_t w;       /* bit window, MSB first */
    unsigned avail;   /* valid bits at the top of w (the stream from end - avail) */
} br_t;

/* The 8 bytes at `byte`, zero-padded past len (kept out of line so that
 * the reader's state stays in registers). */
static __attribute__((noinline)) uint64_t load_tail(const uint8_t *b, size_t len, size_t byte)
{
    uint64_t x = 0;
    for (size_t i = 0; i < 8; i++)
        x = x << 8 | (byte + i < len ? b[byte + i] : 0);
    return x;
}

/* Stream position of the next bit. */
AINLINE size_t br_pos(const br_t *r)
{
    return r->end - r->avail;
}

AINLINE void br_refill(br_t *r)
{
    size_t pos = br_pos(r), byte = pos >> 3;
    uint64_t x =
        OCL_LIKELY(byte + 8 <= r->len) ? load_be64(r->b + byte) : load_tail(r->b, r->len, byte);
    unsigned used = (unsigned)(pos & 7);
    r->w = x << used;
    r->avail = 64 - used;
    r->end = byte * 8 + 64;
}

/* The next k bits, 1 <= k <= 57. */
AINLINE uint64_t br_get(br_t *r, unsigned k)
{
    if (OCL_UNLIKELY(r->avail < k)) br_refill(r);
    uint64_t x = r->w >> (64 - k);
    r->w <<= k;
    r->avail -= k;
    return x;
}

/* The next k bits, 0 <= k <= 64. */
AINLINE uint64_t br_get64(br_t *r, unsigned k)
{
    if (k == 0) return 0;
    if (k <= 57) return br_get(r, k);
    uint64_t hi = br_get(r, k - 32);
    return hi << 32 | br_get(r, 32);
}

/* Drops k bits known to be in the window. */
AINLINE void br_skip(br_t *r, unsigned k)
{
    r->w <<= k;
    r->avail -= k;
}

/* Same rules as get_uvarint: 8-bit groups, at most 10, no bits past 64. */
static inline int br_uvarint(br_t *r, uint64_t *out)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        uint64_t g = br_get(r, 8);
        if (shift == 63 && (g & 0x7e)) return OCL_ECORRUPT;
        x |= (g & 0x7f) << shift;
        if (!(g & 0x80)) {
            *out = x;
            return 0;
        }
    }
    return OCL_ECORRUPT;
}

static inline int64_t unzigzag(uint64_t x)
{
    return (int64_t)((x >> 1) ^ (0 - (x & 1)));
}

/* Delta-of-delta of samples 2.. (prefix '0', '10', '110', '1110', '1111'). */
AINLINE int64_t br_dod(br_t *r)
{
    if (OCL_UNLIKELY(r->avail < 4)) br_refill(r);
    unsigned ones = (unsigned)__builtin_clzll(~r->w | (1ULL << 59)); /* 0..4 */
    if (OCL_LIKELY(ones == 0)) {
        br_skip(r, 1);
        return 0;
    }
    br_skip(r, ones < 4 ? ones + 1 : 4);
    static const unsigned widths[5] = {0, 7, 14, 20, 64};
    unsigned w = widths[ones];
    uint64_t x = br_get64(r, w);
    return w == 64 ? (int64_t)x : sign_extend(x, (int)w);
}

/* Stores sample (T, bits of VB) if it is in [mint, maxt]; past maxt ends the
 * decoding (decode_* locals: k, ot, ov, label done). */
#define STORE(T, VB)                                                                               \
    do {                                                                                           \
        if (!ranged || (T) >= mint) {                                                              \
            if (ranged && (T) > maxt) goto done;                                                   \
            ot[k] = (T);                                                                           \
            memcpy(&ov[k], &(VB), sizeof ov[k]);                                                   \
            k++;                                                                                   \
        }                                                                                          \
    } while (0)

/* `ranged` false: every sample is in [mint, maxt] (no comparisons). */
AINLINE int decode_xor(const uint8_t *b, size_t len, uint32_t n, bool ranged, int64_t mint,
                       int64_t maxt, int64_t *ot, double *ov)
{
    br_t r = {.b = b, .len = len};
    const size_t limit = len * 8;
    uint32_t k = 0;
    uint64_t x, v;
    if (br_uvarint(&r, &x)) return OCL_ECORRUPT;
    int64_t t = unzigzag(x), delta = 0;
    v = br_get64(&r, 64);
    if (br_pos(&r) > limit) return OCL_ECORRUPT;
    STORE(t, v);
    unsigned lead = 0xff, trail = 0;
    for (uint32_t i = 1; i < n; i++) {
        if (OCL_UNLIKELY(i == 1)) {
            if (br_uvarint(&r, &x)) return OCL_ECORRUPT;
            delta = (int64_t)x;
        } else {
            delta = (int64_t)((uint64_t)delta + (uint64_t)br_dod(&r));
        }
        t = (int64_t)((uint64_t)t + (uint64_t)delta);
        if (OCL_UNLIKELY(r.avail < 2)) br_refill(&r);
        uint64_t ctl = r.w >> 62;
        if (ctl < 2) { /* '0': unchanged */
            br_skip(&r, 1);
        } else if (ctl == 2) { /* '10': previous window */
            br_skip(&r, 2);
            if (lead == 0xff) return OCL_ECORRUPT;
            x = br_get64(&r, 64 - lead - trail);
            v ^= x << trail;
        } else { /* '11': new window */
            br_skip(&r, 2);
            uint64_t hdr = br_get(&r, 11);
            unsigned l = (unsigned)(hdr >> 6), sig = (unsigned)(hdr & 63);
            if (sig == 0) sig = 64;
            if (l + sig > 64) return OCL_ECORRUPT;
            lead = l;
            trail = 64 - l - sig;
            x = br_get64(&r, sig);
            v ^= x << trail;
        }
        if (OCL_UNLIKELY(br_pos(&r) > limit)) return OCL_ECORRUPT;
        STORE(t, v);
    }
done:
    return (int)k;
}

AINLINE int decode_dec(const uint8_t *b, size_t len, uint32_t n, bool ranged, int64_t mint,
                       int64_t maxt, int64_t *ot, double *ov)
{
    br_t r = {.b = b, .len = len};
    const size_t limit = len * 8;
    uint32_t k = 0;
    uint64_t x, step = 0;
    uint64_t hdr = br_get(&r, 13); /* scale 4, mode 1, width 7, tmode 1 */
    unsigned scale = (unsigned)(hdr >> 9), dmode = (unsigned)(hdr >> 8) & 1;
    unsigned dw = (unsigned)(hdr >> 1) & 127, tmode = (unsigned)hdr & 1, tw = 0;
    if (scale >= OCL_ARRAY_LEN(pow10_tab) || dw > 64) return OCL_ECORRUPT;
    if (tmode) {
        uint64_t th = br_get(&r, 8); /* plain 1, width 7 */
        tmode = 1 + (unsigned)(th >> 7);
        tw = (unsigned)th & 127;
        if (tw > 64 || br_uvarint(&r, &step)) return OCL_ECORRUPT;
    }
    const double div = pow10_tab[scale];
    if (br_uvarint(&r, &x)) return OCL_ECORRUPT;
    int64_t t = unzigzag(x), t0 = t, delta = 0;
    if (br_uvarint(&r, &x)) return OCL_ECORRUPT;
    int64_t iv = unzigzag(x);
    if (br_pos(&r) > limit) return OCL_ECORRUPT;
    double d = scale ? (double)iv / div : (double)iv;
    STORE(t, d);
    for (uint32_t i = 1; i < n; i++) {
        if (!tmode) {
            if (OCL_UNLIKELY(i == 1)) {
                if (br_uvarint(&r, &x)) return OCL_ECORRUPT;
                delta = (int64_t)x;
            } else {
                delta = (int64_t)((uint64_t)delta + (uint64_t)br_dod(&r));
            }
            t = (int64_t)((uint64_t)t + (uint64_t)delta);
        } else {
            uint64_t flag = tmode == 1 ? br_get(&r, 1) : 1, o = 0;
            if (flag) {
                if (tw)
                    o = br_get64(&r, tw);
                else if (tmode == 1)
                    return OCL_ECORRUPT;
            }
            t = (int64_t)((uint64_t)t0 + (uint64_t)i * step + (uint64_t)unzigzag(o));
        }
        uint64_t z = 0, flag = dmode ? 1 : br_get(&r, 1);
        if (flag) z = br_get64(&r, dw);
        iv = (int64_t)((uint64_t)iv + (uint64_t)unzigzag(z));
        if (OCL_UNLIKELY(br_pos(&r) > limit)) return OCL_ECORRUPT;
        d = scale ? (double)iv / div : (double)iv;
        STORE(t, d);
    }
done:
    return (int)k;
}

#undef STORE

int ocl_chunk_decode(int enc, const uint8_t *b, size_t len, uint32_t n, int64_t mint, int64_t maxt,
                     int64_t *t, double *v)
{
    if (n == 0) return 0;
    /* whole-chunk decoding (the common case) is compiled without the range
     * tests; the caller passes INT64_MIN, INT64_MAX when the chunk's time
     * range lies inside the query's */
    bool all = mint == INT64_MIN && maxt == INT64_MAX;
    if (enc == OCL_CHUNK_XOR)
        return all ? decode_xor(b, len, n, false, mint, maxt, t, v)
                   : decode_xor(b, len, n, true, mint, maxt, t, v);
    if (enc == OCL_CHUNK_DEC)
        return all ? decode_dec(b, len, n, false, mint, maxt, t, v)
                   : decode_dec(b, len, n, true, mint, maxt, t, v);
    return OCL_ECORRUPT;
}
