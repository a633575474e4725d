/*
 * fmt_shortest_ref.h — the previous shortest-digits search of
 * api/prom_fmt.c (printf "%.*e" + strtod at 15, 16, 17 digits after a
 * short-decimal shortcut), kept unchanged as the reference that
 * test_fmt_shortest.c compares api/fmt_shortest.c against and that
 * bench/bench_prom_fmt.c times. Test/bench only; static functions.
 */
#ifndef OCL_TEST_FMT_SHORTEST_REF_H
#define OCL_TEST_FMT_SHORTEST_REF_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes u in decimal; returns the number of digits. */
static int ref_u64_dec(uint64_t u, char *out)
{
    char t[20];
    int n = 0;
    do {
        t[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    for (int i = 0; i < n; i++)
        out[i] = t[n - 1 - i];
    return n;
}

/* Shortest round-trip decimal digits of v (> 0, finite): v = 0.d1d2...dn ×
 * 10^*dp. Returns n (1..17). Short decimals (v·10^k an integer below 2^50
 * for k <= 8 that divides back to v) take the integer's digits; otherwise
 * the first of 15, 16, 17 significant digits (all of 1..17 for subnormals)
 * that strtod reads back as v. */
static int ref_shortest_digits(double v, char *digits, int *dp)
{
    static const double p10[9] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8};
    for (int k = 0; k <= 8; k++) {
        double m = v * p10[k];
        if (m >= 1125899906842624.0) break; /* 2^50 */
        if (m == floor(m) && m / p10[k] == v) {
            char t[20];
            int n = ref_u64_dec((uint64_t)m, t);
            *dp = n - k;
            while (n > 1 && t[n - 1] == '0')
                n--;
            memcpy(digits, t, (size_t)n);
            return n;
        }
    }
    char t[40];
    for (int prec = v < 2.2250738585072014e-308 ? 1 : 15; prec <= 17; prec++) {
        snprintf(t, sizeof t, "%.*e", prec - 1, v);
        if (prec == 17 || strtod(t, NULL) == v) break;
    }
    int n = 0;
    const char *p = t;
    digits[n++] = *p++;
    if (*p == '.') {
        p++;
        while (*p != 'e')
            digits[n++] = *p++;
    }
    int e = atoi(p + 1);
    while (n > 1 && digits[n - 1] == '0')
        n--;
    *dp = e + 1;
    return n;
}

/* The previous ocl_prom_fmt_float: Go's FormatFloat(v, fmt, -1, 64) layout
 * of ref_shortest_digits. */
static size_t ref_fmt_float(double v, char fmt, char *buf)
{
    size_t o = 0;
    if (isnan(v)) {
        memcpy(buf, "NaN", 4);
        return 3;
    }
    if (isinf(v)) {
        memcpy(buf, v > 0 ? "+Inf" : "-Inf", 5);
        return 4;
    }
    if (signbit(v)) buf[o++] = '-', v = -v;
    if (v == 0) {
        if (fmt == 'e') {
            memcpy(buf + o, "0e+00", 6);
            return o + 5;
        }
        buf[o++] = '0';
        buf[o] = 0;
        return o;
    }
    char d[20];
    int dp, n = ref_shortest_digits(v, d, &dp);
    if (fmt == 'e') {
        buf[o++] = d[0];
        if (n > 1) {
            buf[o++] = '.';
            memcpy(buf + o, d + 1, (size_t)n - 1);
            o += (size_t)n - 1;
        }
        int e = dp - 1;
        o += (size_t)sprintf(buf + o, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
        return o;
    }
    if (dp <= 0) {
        buf[o++] = '0', buf[o++] = '.';
        for (int i = 0; i < -dp; i++)
            buf[o++] = '0';
        memcpy(buf + o, d, (size_t)n);
        o += (size_t)n;
    } else if (dp >= n) {
        memcpy(buf + o, d, (size_t)n);
        o += (size_t)n;
        for (int i = n; i < dp; i++)
            buf[o++] = '0';
    } else {
        memcpy(buf + o, d, (size_t)dp);
        o += (size_t)dp;
        buf[o++] = '.';
        memcpy(buf + o, d + dp, (size_t)(n - dp));
        o += (size_t)(n - dp);
    }
    buf[o] = 0;
    return o;
}

#endif
