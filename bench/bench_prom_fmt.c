/*
 * bench_prom_fmt.c — cost of rendering one Prometheus sample value
 * (ocl_prom_fmt_value: shortest round-trip digits + Go layout), new
 * (api/fmt_shortest.c) against the previous printf/strtod search kept in
 * tests/unit/api/fmt_shortest_ref.h. Three inputs of n values each:
 * rate-like fractions (random counter increases / 15, 60, 300 s), short
 * decimals (k/100) and integer counters. Prints thread-CPU ns per value,
 * digits only and full rendering. Not a test:
 * `cmake --build build/release --target bench_prom_fmt &&
 * build/release/bench_prom_fmt [n] [old|new]` (default 1,000,000, both);
 * under callgrind toggle on run_old / run_new.
 */
#include "api/fmt_shortest.h"
#include "api/prom_fmt.h"
#include "../tests/unit/api/fmt_shortest_ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng = 42;

static uint64_t next(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* The old rendering of a sample value (ocl_prom_fmt_value's choice of
 * layout over ref_fmt_float). */
static size_t old_value(double v, char *buf)
{
    double a = fabs(v);
    return ref_fmt_float(v, (a != 0 && (a < 1e-6 || a >= 1e21)) ? 'e' : 'f', buf);
}

__attribute__((noinline)) size_t run_old(const double *v, size_t n, bool digits_only)
{
    size_t sum = 0;
    char buf[400];
    int dp;
    for (size_t i = 0; i < n; i++)
        sum += digits_only ? (size_t)ref_shortest_digits(v[i], buf, &dp) : old_value(v[i], buf);
    return sum;
}

__attribute__((noinline)) size_t run_new(const double *v, size_t n, bool digits_only)
{
    size_t sum = 0;
    char buf[400];
    int dp;
    for (size_t i = 0; i < n; i++)
        sum += digits_only ? (size_t)ocl_fmt_shortest(v[i], buf, &dp)
                           : ocl_prom_fmt_value(v[i], buf);
    return sum;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)atol(argv[1]) : 1000000;
    const char *which = argc > 2 ? argv[2] : "both";
    bool do_old = strcmp(which, "new") != 0, do_new = strcmp(which, "old") != 0;
    double *v = malloc(n * sizeof *v);
    static const char *const names[] = {"rate-like (counter / 15, 60, 300)",
                                        "short decimals (k / 100)", "integers (counters)"};
    static const double div[] = {15, 60, 300};
    printf("%-36s %12s %12s %12s %12s\n", "input", "old digits", "new digits", "old value",
           "new value");
    size_t sink = 0;
    for (int cls = 0; cls < 3; cls++) {
        for (size_t i = 0; i < n; i++) {
            uint64_t r = next();
            if (cls == 0)
                v[i] = (double)(r % 100000000) * (i % 2 ? 0.01 : 1) / div[i % 3];
            else if (cls == 1)
                v[i] = (double)(r % 1000000) / 100;
            else
                v[i] = (double)(r % 1000000000000);
        }
        double ns[4] = {0};
        for (int k = 0; k < 4; k++) {
            bool old = k % 2 == 0, digits = k < 2;
            if ((old && !do_old) || (!old && !do_new)) continue;
            double t0 = now();
            sink += old ? run_old(v, n, digits) : run_new(v, n, digits);
            ns[k] = (now() - t0) * 1e9 / (double)n;
        }
        printf("%-36s %9.1f ns %9.1f ns %9.1f ns %9.1f ns\n", names[cls], ns[0], ns[1], ns[2],
               ns[3]);
    }
    free(v);
    return sink == 0;
}
