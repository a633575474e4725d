/*
 * selfmetrics.c — see selfmetrics.h. Process metrics (RSS, CPU, start
 * time) are read from /proc at render time; scrapes are rare (seconds), so
 * rendering favours simplicity over speed.
 */
#include "api/selfmetrics.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

const double ocl_latency_bounds_s[OCL_LAT_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};

static const char *const transport_names[OCL_TRANSPORT_COUNT] = {"grpc", "http"};
static const char *const refuse_names[OCL_REFUSE_COUNT] = {
    "invalid", "too_large", "unsupported_media_type", "overloaded", "storage_error", "partial"};

typedef struct {
    _Atomic uint64_t accepted;                      /* records accepted */
    _Atomic uint64_t refused[OCL_REFUSE_COUNT];     /* records refused by reason */
    _Atomic uint64_t refused_req[OCL_REFUSE_COUNT]; /* requests refused by reason */
    _Atomic uint64_t lat[OCL_LAT_BUCKETS + 1];      /* non-cumulative latency buckets */
    _Atomic uint64_t lat_sum_ns;                    /* total latency */
    _Atomic uint64_t requests;                      /* requests handled */
} sig_stats_t;

static sig_stats_t stats[OCL_SIGNAL_COUNT][OCL_TRANSPORT_COUNT];
static double start_time_s;

#define MAX_COLLECTORS 16
static struct {
    ocl_sm_collect_fn fn; /* provider */
    void *ud;             /* its argument */
} collectors[MAX_COLLECTORS];
static int n_collectors;
static pthread_mutex_t collectors_mu = PTHREAD_MUTEX_INITIALIZER;

__attribute__((constructor)) static void record_start(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    start_time_s = (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void ocl_sm_accepted(ocl_signal_t s, ocl_transport_t t, uint64_t records)
{
    atomic_fetch_add_explicit(&stats[s][t].accepted, records, memory_order_relaxed);
}

void ocl_sm_refused(ocl_signal_t s, ocl_transport_t t, ocl_refuse_t why, uint64_t records)
{
    atomic_fetch_add_explicit(&stats[s][t].refused[why], records, memory_order_relaxed);
    if (why != OCL_REFUSE_PARTIAL)
        atomic_fetch_add_explicit(&stats[s][t].refused_req[why], 1, memory_order_relaxed);
}

void ocl_sm_request(ocl_signal_t s, ocl_transport_t t, uint64_t nanos)
{
    sig_stats_t *st = &stats[s][t];
    double sec = nanos / 1e9;
    int b = 0;
    while (b < OCL_LAT_BUCKETS && sec > ocl_latency_bounds_s[b])
        b++;
    atomic_fetch_add_explicit(&st->lat[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&st->lat_sum_ns, nanos, memory_order_relaxed);
    atomic_fetch_add_explicit(&st->requests, 1, memory_order_relaxed);
}

void ocl_sm_register(ocl_sm_collect_fn fn, void *ud)
{
    pthread_mutex_lock(&collectors_mu);
    if (n_collectors < MAX_COLLECTORS) {
        collectors[n_collectors].fn = fn;
        collectors[n_collectors].ud = ud;
        n_collectors++;
    }
    pthread_mutex_unlock(&collectors_mu);
}

void ocl_sm_unregister(ocl_sm_collect_fn fn, void *ud)
{
    pthread_mutex_lock(&collectors_mu);
    int k = 0;
    for (int i = 0; i < n_collectors; i++)
        if (collectors[i].fn != fn || collectors[i].ud != ud) collectors[k++] = collectors[i];
    n_collectors = k;
    pthread_mutex_unlock(&collectors_mu);
}


void ocl_sm_header(ocl_buf_t *out, const char *name, const char *type, const char *help)
{
    ocl_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void put_value(ocl_buf_t *out, double v)
{
    if (isnan(v)) {
        ocl_buf_puts(out, "NaN");
    } else if (isinf(v)) {
        ocl_buf_puts(out, v > 0 ? "+Inf" : "-Inf");
    } else if (v == (double)(int64_t)v && fabs(v) < 1e15) {
        ocl_buf_printf(out, "%lld", (long long)v);
    } else {
        ocl_buf_printf(out, "%.17g", v);
    }
}

void ocl_sm_sample(ocl_buf_t *out, const char *name, const char *labels, double v)
{
    if (labels && *labels)
        ocl_buf_printf(out, "%s{%s} ", name, labels);
    else
        ocl_buf_printf(out, "%s ", name);
    put_value(out, v);
    ocl_buf_putc(out, '\n');
}

void ocl_sm_histogram(ocl_buf_t *out, const char *name, const char *labels, const double *bounds,
                      size_t n_bounds, const uint64_t *counts, double sum)
{
    const char *sep = (labels && *labels) ? "," : "";
    uint64_t cum = 0;
    for (size_t i = 0; i <= n_bounds; i++) {
        cum += counts[i];
        if (i < n_bounds)
            ocl_buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, bounds[i],
                           (unsigned long long)cum);
        else
            ocl_buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
                           (unsigned long long)cum);
    }
    char n[160];
    snprintf(n, sizeof n, "%s_sum", name);
    ocl_sm_sample(out, n, labels, sum);
    snprintf(n, sizeof n, "%s_count", name);
    ocl_sm_sample(out, n, labels, (double)cum);
}

static void render_process(ocl_buf_t *out)
{
    long rss_pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        long size;
        if (fscanf(f, "%ld %ld", &size, &rss_pages) != 2) rss_pages = 0;
        fclose(f);
    }
    struct timespec cpu;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
    ocl_sm_header(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    ocl_sm_sample(out, "process_resident_memory_bytes", "",
                  (double)rss_pages * (double)sysconf(_SC_PAGESIZE));
    ocl_sm_header(out, "process_cpu_seconds_total", "counter",
                  "Total user and system CPU time spent in seconds.");
    ocl_sm_sample(out, "process_cpu_seconds_total", "", cpu.tv_sec + cpu.tv_nsec / 1e9);
    ocl_sm_header(out, "process_start_time_seconds", "gauge",
                  "Start time of the process since unix epoch in seconds.");
    ocl_sm_sample(out, "process_start_time_seconds", "", start_time_s);
    ocl_sm_header(out, "ocelot_build_info", "gauge", "Build information; always 1.");
    ocl_buf_printf(out, "ocelot_build_info{version=\"%s\",revision=\"%s\"} 1\n", OCL_VERSION,
                   OCL_GIT_REV);
}

void ocl_sm_render(ocl_buf_t *out)
{
    char labels[128];
    render_process(out);
    ocl_sm_header(
        out, "ocelot_receiver_accepted_total", "counter",
        "Records (spans, metric data points, log records) accepted and written to the WAL.");
    for (int s = 0; s < OCL_SIGNAL_COUNT; s++)
        for (int t = 0; t < OCL_TRANSPORT_COUNT; t++) {
            snprintf(labels, sizeof labels, "signal=\"%s\",transport=\"%s\"", ocl_signal_names[s],
                     transport_names[t]);
            ocl_sm_sample(out, "ocelot_receiver_accepted_total", labels,
                          (double)atomic_load(&stats[s][t].accepted));
        }
    ocl_sm_header(out, "ocelot_receiver_refused_total", "counter",
                  "Records refused, by reason (0 records are counted for undecodable requests; see "
                  "ocelot_receiver_refused_requests_total).");
    for (int s = 0; s < OCL_SIGNAL_COUNT; s++)
        for (int t = 0; t < OCL_TRANSPORT_COUNT; t++)
            for (int r = 0; r < OCL_REFUSE_COUNT; r++) {
                snprintf(labels, sizeof labels, "signal=\"%s\",transport=\"%s\",reason=\"%s\"",
                         ocl_signal_names[s], transport_names[t], refuse_names[r]);
                ocl_sm_sample(out, "ocelot_receiver_refused_total", labels,
                              (double)atomic_load(&stats[s][t].refused[r]));
            }
    ocl_sm_header(out, "ocelot_receiver_refused_requests_total", "counter",
                  "Export requests answered with an error, by reason.");
    for (int s = 0; s < OCL_SIGNAL_COUNT; s++)
        for (int t = 0; t < OCL_TRANSPORT_COUNT; t++)
            for (int r = 0; r < OCL_REFUSE_COUNT; r++) {
                if (r == OCL_REFUSE_PARTIAL) continue;
                snprintf(labels, sizeof labels, "signal=\"%s\",transport=\"%s\",reason=\"%s\"",
                         ocl_signal_names[s], transport_names[t], refuse_names[r]);
                ocl_sm_sample(out, "ocelot_receiver_refused_requests_total", labels,
                              (double)atomic_load(&stats[s][t].refused_req[r]));
            }
    ocl_sm_header(out, "ocelot_receiver_request_duration_seconds", "histogram",
                  "Time from a complete export request to its response.");
    for (int s = 0; s < OCL_SIGNAL_COUNT; s++)
        for (int t = 0; t < OCL_TRANSPORT_COUNT; t++) {
            uint64_t counts[OCL_LAT_BUCKETS + 1];
            for (int b = 0; b <= OCL_LAT_BUCKETS; b++)
                counts[b] = atomic_load(&stats[s][t].lat[b]);
            snprintf(labels, sizeof labels, "signal=\"%s\",transport=\"%s\"", ocl_signal_names[s],
                     transport_names[t]);
            ocl_sm_histogram(out, "ocelot_receiver_request_duration_seconds", labels,
                             ocl_latency_bounds_s, OCL_LAT_BUCKETS, counts,
                             atomic_load(&stats[s][t].lat_sum_ns) / 1e9);
        }
    /* Copy under the lock; owners unregister before they free `ud`, and
     * shutdown stops the HTTP server before that, so no render outlives it. */
    struct {
        ocl_sm_collect_fn fn;
        void *ud;
    } copy[MAX_COLLECTORS];
    pthread_mutex_lock(&collectors_mu);
    int n = n_collectors;
    memcpy(copy, collectors, (size_t)n * sizeof copy[0]);
    pthread_mutex_unlock(&collectors_mu);
    for (int i = 0; i < n; i++)
        copy[i].fn(out, copy[i].ud);
}
