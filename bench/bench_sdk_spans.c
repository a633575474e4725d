/*
 * bench_sdk_spans.c — libocelot hot-path costs (issue 4's figures):
 * span start+end with 1 and 4 attributes (always-on sampling, batch
 * processor, an exporter that discards), a sampled-out span, the disabled
 * SDK, 1-vs-4-thread throughput, and allocations per span after warm-up
 * (counted through the allocator hook). Metrics instruments are not
 * implemented yet, so the counter/histogram figures are reported as such.
 *
 * Prints one line per figure; asserts nothing. BENCH_SDK_N sets the
 * iterations per run (default 2,000,000; best of 5 runs).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ocelot/ocelot.h"

static _Atomic long g_allocs;
static void *count_realloc(void *ud, void *p, size_t n)
{
    (void)ud;
    if (n == 0) {
        free(p);
        return NULL;
    }
    atomic_fetch_add_explicit(&g_allocs, 1, memory_order_relaxed);
    return realloc(p, n);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long N = 2000000;
static ocelot_tracer_t *g_t;

static void run_1attr(long n)
{
    for (long i = 0; i < n; i++) {
        ocelot_span_t *s = ocelot_span_start(g_t, "GET /items", NULL);
        ocelot_span_set_str(s, "http.route", "/items/{id}");
        ocelot_span_end(s, 0);
    }
}

static void run_4attr(long n)
{
    for (long i = 0; i < n; i++) {
        ocelot_span_t *s = ocelot_span_start(g_t, "GET /items", NULL);
        ocelot_attr_t a[4] = {
            OCELOT_STR("http.route", "/items/{id}"), OCELOT_STR("http.request.method", "GET"),
            OCELOT_INT("http.response.status_code", 200), OCELOT_BOOL("cache.hit", 1)};
        ocelot_span_set_attrs(s, a, 4);
        ocelot_span_end(s, 0);
    }
}

static void run_bare(long n)
{
    for (long i = 0; i < n; i++)
        ocelot_span_end(ocelot_span_start(g_t, "GET /items", NULL), 0);
}

static double best_ns(void (*fn)(long))
{
    double best = 1e18;
    fn(N / 10); /* warm-up */
    for (int r = 0; r < 5; r++) {
        double t0 = now_s();
        fn(N);
        double ns = (now_s() - t0) * 1e9 / (double)N;
        if (ns < best) best = ns;
    }
    return best;
}

static void *thread_fn(void *arg)
{
    run_1attr((long)(intptr_t)arg);
    return NULL;
}

static double throughput(int threads)
{
    pthread_t th[8];
    long per = N;
    double t0 = now_s();
    for (int i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, thread_fn, (void *)(intptr_t)per);
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    return (double)per * threads / (now_s() - t0);
}

static void init(const char *sampler, int disabled)
{
    setenv("OTEL_TRACES_SAMPLER", sampler, 1);
    ocelot_options_t o = {.traces_exporter = OCELOT_EXPORTER_NONE,
                          .logs_exporter = OCELOT_EXPORTER_NONE,
                          .metrics_exporter = OCELOT_EXPORTER_NONE,
                          .disabled = disabled};
    if (ocelot_init(&o) != 0) {
        fprintf(stderr, "init failed\n");
        exit(1);
    }
    g_t = ocelot_tracer_get("bench", NULL, NULL);
}

static void report_drops(const char *what, ocelot_stats_t *a, ocelot_stats_t *b)
{
    uint64_t ended = b->spans_ended - a->spans_ended, dropped = b->spans_dropped - a->spans_dropped;
    printf("   (%s: %llu spans ended, %.2f%% dropped by the full queue)\n", what,
           (unsigned long long)ended, ended ? 100.0 * (double)dropped / (double)ended : 0.0);
}

int main(void)
{
    ocelot_allocator_t al = {count_realloc, NULL};
    ocelot_set_allocator(&al);
    if (getenv("BENCH_SDK_N")) N = atol(getenv("BENCH_SDK_N"));
    if (!getenv("OTEL_BSP_MAX_QUEUE_SIZE")) setenv("OTEL_BSP_MAX_QUEUE_SIZE", "2048", 1);
    printf("libocelot %s, %ld iterations per run, best of 5, queue %s, batch processor, "
           "exporter 'none' (discards)\n",
           OCELOT_VERSION, N, getenv("OTEL_BSP_MAX_QUEUE_SIZE"));

    ocelot_stats_t a, b;
    init("always_on", 0);
    ocelot_stats_get(&a);
    double ns1 = best_ns(run_1attr);
    ocelot_stats_get(&b);
    printf("span start+end, 1 attribute, always_on:  %7.1f ns/span   (target <= 100)\n", ns1);
    report_drops("1 attribute", &a, &b);
    ocelot_stats_get(&a);
    double ns4 = best_ns(run_4attr);
    ocelot_stats_get(&b);
    printf("span start+end, 4 attributes, always_on: %7.1f ns/span   (target <= 150)\n", ns4);
    report_drops("4 attributes", &a, &b);

    /* allocations after warm-up */
    ocelot_force_flush(2000);
    long before = atomic_load(&g_allocs);
    run_4attr(N);
    long after = atomic_load(&g_allocs);
    printf("allocations per span after warm-up:      %7.4f        (%ld in %ld spans; target 0)\n",
           (double)(after - before) / (double)N, after - before, N);

    double t1 = throughput(1);
    double t4 = throughput(4);
    printf("throughput 1 thread:  %10.0f spans/s\n", t1);
    printf("throughput 4 threads: %10.0f spans/s   scaling %.2fx (target >= 3x; %ld CPUs online)\n",
           t4, t4 / t1, sysconf(_SC_NPROCESSORS_ONLN));
    ocelot_shutdown(2000);

    init("always_off", 0);
    double nso = best_ns(run_1attr);
    printf("sampled-out span (+1 attribute call):    %7.1f ns/span   (target <= 15)\n", nso);
    ocelot_shutdown(2000);

    init("always_on", 1);
    double nd = best_ns(run_bare);
    printf("disabled SDK (start + end):               %6.1f ns/span   (target <= 2)\n", nd);
    nd = best_ns(run_1attr);
    printf("disabled SDK (start + 1 attribute + end): %6.1f ns/span\n", nd);
    ocelot_shutdown(2000);

    printf("counter add / histogram record: see bench_sdk_metrics\n");
    return 0;
}
