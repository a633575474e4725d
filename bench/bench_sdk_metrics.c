/*
 * bench_sdk_metrics.c — libocelot metric recording costs (issue 4's
 * figures): counter add and histogram record with 3 attributes (hash +
 * lock-free series lookup + atomic update), the same on a bound series,
 * and 1-vs-4-thread scaling of counter adds on distinct series. Prints
 * figures; asserts nothing. BENCH_SDK_N sets iterations (default 5,000,000,
 * best of 5).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "ocelot/ocelot.h"

static long N = 5000000;
static ocelot_instrument_t *g_c, *g_h;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void counter3(long n)
{
    ocelot_attr_t a[3] = {OCELOT_STR("http.request.method", "GET"),
                          OCELOT_STR("http.route", "/items/{id}"),
                          OCELOT_INT("http.response.status_code", 200)};
    for (long i = 0; i < n; i++)
        ocelot_counter_add(g_c, 1, a, 3);
}

static void hist3(long n)
{
    ocelot_attr_t a[3] = {OCELOT_STR("http.request.method", "GET"),
                          OCELOT_STR("http.route", "/items/{id}"),
                          OCELOT_INT("http.response.status_code", 200)};
    for (long i = 0; i < n; i++)
        ocelot_histogram_record(g_h, (double)(i & 1023), a, 3);
}

static ocelot_series_t *g_bc, *g_bh;
static void bound_counter(long n)
{
    for (long i = 0; i < n; i++)
        ocelot_series_add(g_bc, 1);
}
static void bound_hist(long n)
{
    for (long i = 0; i < n; i++)
        ocelot_series_record(g_bh, (double)(i & 1023));
}

static double best_ns(void (*fn)(long))
{
    double best = 1e18;
    fn(N / 10);
    for (int r = 0; r < 5; r++) {
        double t0 = now_s();
        fn(N);
        double ns = (now_s() - t0) * 1e9 / (double)N;
        if (ns < best) best = ns;
    }
    return best;
}

static void *thr(void *arg)
{
    ocelot_attr_t a[3] = {OCELOT_STR("http.request.method", "GET"),
                          OCELOT_STR("http.route", "/items/{id}"),
                          OCELOT_INT("thread", (int64_t)(intptr_t)arg)};
    for (long i = 0; i < N; i++)
        ocelot_counter_add(g_c, 1, a, 3);
    return NULL;
}

static double tput(int k)
{
    pthread_t th[8];
    double t0 = now_s();
    for (int i = 0; i < k; i++)
        pthread_create(&th[i], NULL, thr, (void *)(intptr_t)i);
    for (int i = 0; i < k; i++)
        pthread_join(th[i], NULL);
    return (double)N * k / (now_s() - t0);
}

int main(void)
{
    if (getenv("BENCH_SDK_N")) N = atol(getenv("BENCH_SDK_N"));
    ocelot_options_t o = {.traces_exporter = OCELOT_EXPORTER_NONE,
                          .logs_exporter = OCELOT_EXPORTER_NONE,
                          .metrics_exporter = OCELOT_EXPORTER_NONE};
    if (ocelot_init(&o)) return 1;
    ocelot_meter_t *m = ocelot_meter_get("bench", NULL, NULL);
    ocelot_instrument_create(m, OCELOT_COUNTER, "requests", NULL, &g_c);
    ocelot_instrument_create(m, OCELOT_HISTOGRAM, "latency", NULL, &g_h);
    ocelot_attr_t a[3] = {OCELOT_STR("http.request.method", "GET"),
                          OCELOT_STR("http.route", "/items/{id}"),
                          OCELOT_INT("http.response.status_code", 200)};
    g_bc = ocelot_instrument_bind(g_c, a, 3);
    g_bh = ocelot_instrument_bind(g_h, a, 3);
    printf("libocelot %s, %ld iterations per run, best of 5\n", OCELOT_VERSION, N);
    printf("counter add, 3 attributes:        %6.1f ns  (target <= 20)\n", best_ns(counter3));
    printf("histogram record, 3 attributes:   %6.1f ns  (target <= 30)\n", best_ns(hist3));
    printf("counter add, bound series:        %6.1f ns\n", best_ns(bound_counter));
    printf("histogram record, bound series:   %6.1f ns\n", best_ns(bound_hist));
    double t1 = tput(1), t4 = tput(4);
    printf("counter add throughput: 1 thread %.0f/s, 4 threads %.0f/s (%.2fx; %ld CPUs online)\n",
           t1, t4, t4 / t1, sysconf(_SC_NPROCESSORS_ONLN));
    ocelot_shutdown(1000);
    return 0;
}
