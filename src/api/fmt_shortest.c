/*
 * fmt_shortest.c — shortest round-trip digits of a double (see
 * fmt_shortest.h), in the Schubfach style: one scaled multiplication per
 * interval end instead of printf + strtod at several precisions.
 *
 * Method. v = c·2^q. Every real in the rounding interval of v, from the
 * midpoint to the next smaller double to the midpoint to the next larger
 * one (ends included when c is even, as strtod rounds ties to even), reads
 * back as v. Pick k = floor(log10(2^q)) (or of ¾·2^q when v is a power of
 * two whose lower neighbour is half as far), so 10^k is at most the
 * interval's width: the multiples of 10^k inside it are s·10^k and/or
 * (s+1)·10^k with s = floor(v / 10^k), and at most one multiple of 10^(k+1)
 * fits. So: if exactly one multiple of 10^(k+1) lies inside, it is the
 * answer (a shorter candidate would be one of those too; its trailing
 * zeros are dropped); otherwise the one of s, s+1 inside, or the nearer to
 * v when both are. The products v/10^k and the interval ends are computed
 * as 4× fixed-point values rounded to odd from a 126-bit g ≈ 10^-k·2^-r
 * (fmt_shortest_tab.h, generated exactly by scripts/gen_fmt_pow10.py);
 * the round-to-odd bit keeps "exactly on an end" distinguishable from
 * "just past it", which is what makes the comparisons exact.
 *
 * Invariants: no allocation, no libc float code, no global state; the
 * results equal the former printf/strtod search digit for digit
 * (tests/unit/api/test_fmt_shortest.c: edge classes and millions of
 * random values), except for 46 powers of two where that search returned
 * 17 digits although 16 read back (Go prints the 16; see the test). Workload: every sample value of a Prometheus API answer
 * (matrix answers print up to millions), mostly rate-like fractions with
 * 15-17 digits, plus integer counters (which take a shortcut).
 */
#include "api/fmt_shortest.h"
#include "api/fmt_shortest_tab.h"

#include <stdint.h>
#include <string.h>

#define C_MIN (UINT64_C(1) << 52) /* hidden bit: smallest normal significand */
#define Q_MIN (-1074)             /* exponent of the subnormals */

static const char pairs[201] = "00010203040506070809"
                               "10111213141516171819"
                               "20212223242526272829"
                               "30313233343536373839"
                               "40414243444546474849"
                               "50515253545556575859"
                               "60616263646566676869"
                               "70717273747576777879"
                               "80818283848586878889"
                               "90919293949596979899";

/* Round to odd of g·cp / 2^127, g = {hi, lo}: the integer part, with its
 * lowest bit set when a fraction bit above 2^-63 is. The lowest 64 bits
 * of the 192-bit product are left out on purpose: g exceeds 10^-k·2^-r by
 * less than 1 and cp < 2^61, so g's excess only reaches those bits, and a
 * product that is exactly an integer (a tie between s and s+1, or v on an
 * interval end) keeps its even value instead of being forced odd. With
 * them included, ties picked the odd digit and odd-c ends were taken as
 * inside (the test caught both). */
static uint64_t rop(const uint64_t g[2], uint64_t cp)
{
    unsigned __int128 lo = (unsigned __int128)g[1] * cp;
    unsigned __int128 hi = (unsigned __int128)g[0] * cp + (uint64_t)(lo >> 64);
    uint64_t r = (uint64_t)(hi >> 63);
    return r | (((uint64_t)hi & (UINT64_MAX >> 1)) != 0);
}

static const uint64_t pow10_u64[20] = {1,
                                       10,
                                       100,
                                       1000,
                                       10000,
                                       100000,
                                       1000000,
                                       10000000,
                                       100000000,
                                       1000000000,
                                       10000000000,
                                       100000000000,
                                       1000000000000,
                                       10000000000000,
                                       100000000000000,
                                       1000000000000000,
                                       10000000000000000,
                                       100000000000000000,
                                       1000000000000000000,
                                       10000000000000000000u};

/* Writes x (< 10000) as 4 digits ending at end. */
static void put4(char *end, uint32_t x)
{
    memcpy(end - 2, pairs + 2 * (x % 100), 2);
    memcpy(end - 4, pairs + 2 * (x / 100), 2);
}

/* Writes f (> 0) in decimal without its trailing zeros: v = 0.digits ×
 * 10^*dp for v = f·10^e. Returns the number of digits written (the
 * buffer needs room for all of f's digits, at most 18 here). */
static int emit(uint64_t f, int e, char *digits, int *dp)
{
    if (f % 100000000 == 0) /* short decimals: s = 1225 followed by zeros */
        f /= 100000000, e += 8;
    /* digit count: ~bits·log10(2), then one comparison to correct it */
    int n = ((64 - __builtin_clzll(f)) * 1233) >> 12;
    n += f >= pow10_u64[n];
    char *p = digits + n;
    while (f >= 100000000) {
        uint32_t lo = (uint32_t)(f % 100000000);
        f /= 100000000;
        put4(p, lo % 10000);
        put4(p - 4, lo / 10000);
        p -= 8;
    }
    uint32_t x = (uint32_t)f;
    for (; x >= 100; x /= 100) {
        p -= 2;
        memcpy(p, pairs + 2 * (x % 100), 2);
    }
    if (x >= 10)
        memcpy(p - 2, pairs + 2 * x, 2);
    else
        p[-1] = (char)('0' + x);
    *dp = n + e;
    while (digits[n - 1] == '0') /* f > 0: a nonzero digit stops this */
        n--;
    return n;
}

int ocl_fmt_shortest(double v, char *digits, int *dp)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    int be = (int)(bits >> 52 & 0x7ff);
    uint64_t t = bits & (C_MIN - 1);
    uint64_t c = be ? t | C_MIN : t;
    int q = be ? be - 1075 : Q_MIN;
    /* Integers below 2^53: every neighbour is at most 1 away, so the
     * integer's own digits are the shortest (and the only) candidate. */
    if (q <= 0 && q > -53 && (c & ((UINT64_C(1) << -q) - 1)) == 0)
        return emit(c >> -q, 0, digits, dp);

    uint64_t out = c & 1, cb = c << 2, cbr = cb + 2, cbl;
    int k;
    if (t != 0 || be <= 1) {
        cbl = cb - 2;
        k = (int)(((int64_t)q * FMT_L10_2) >> 41);
    } else {
        cbl = cb - 1; /* lower neighbour at half the distance */
        k = (int)(((int64_t)q * FMT_L10_2 + FMT_L10_34) >> 41);
    }
    int h = q + (int)(((int64_t)-k * FMT_L2_10) >> 38) + 2; /* 2..5 */
    const uint64_t *g = fmt_pow10_tab[-k - FMT_E_MIN];
    uint64_t vb = rop(g, cb << h), vbl = rop(g, cbl << h), vbr = rop(g, cbr << h);
    /* vb ≈ 4·v/10^k; vbl, vbr: the interval ends, same scale */
    uint64_t s = vb >> 2;
    uint64_t sp10 = s / 10 * 10, tp10 = sp10 + 10;
    int upin = vbl + out <= sp10 << 2, wpin = (tp10 << 2) + out <= vbr;
    if (upin != wpin) return emit(upin ? sp10 : tp10, k, digits, dp);
    uint64_t sn = s + 1;
    int uin = vbl + out <= s << 2, win = (sn << 2) + out <= vbr;
    if (uin != win) return emit(uin ? s : sn, k, digits, dp);
    /* both inside: the nearer to v; on a tie the even one */
    int64_t cmp = (int64_t)(vb - ((s + sn) << 1));
    return emit(cmp < 0 || (cmp == 0 && (s & 1) == 0) ? s : sn, k, digits, dp);
}
