/*
 * bench_tsdb.c — metrics TSDB benchmark (not a test). Simulates a fleet of
 * node-exporter targets: S series (default 100,000) scraped every 15 s for
 * N rounds (default 120), each round one append batch per 1,000 series.
 * Values follow node-exporter shapes and proportions (see `groups`). 5 %
 * of scrapes are late by up to 25 ms. The machine may be shared: CPU time
 * is printed next to wall time.
 * Prints: append throughput (new series / existing series), head memory
 * (bytes per sample, per series, RSS growth per series), on-disk bytes per
 * sample after a flush, and select latencies from head and from blocks.
 * Usage: ./bench_tsdb [series] [rounds] [late-scrape-%] [dir-under-tmp]
 */
#include "core/arena.h"
#include "core/time.h"
#include "store/metrics/tsdb.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = 0;
        fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static void rmrf(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0) return;
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", path, de->d_name);
            rmrf(p);
        }
        if (d) closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* Adds the sizes of the files named chunks, index, meta under dir. */
static void sum_files(const char *path, uint64_t sz[3])
{
    DIR *d = opendir(path);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        char p[4096];
        struct stat sb;
        snprintf(p, sizeof p, "%s/%s", path, de->d_name);
        if (lstat(p, &sb) != 0) continue;
        if (S_ISDIR(sb.st_mode))
            sum_files(p, sz);
        else
            sz[!strcmp(de->d_name, "chunks")  ? 0
               : !strcmp(de->d_name, "index") ? 1
                                              : 2] += (uint64_t)sb.st_size;
    }
    if (d) closedir(d);
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t xr(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Per target (host), 100 series in node-exporter proportions:
 * [0,16) CPU-seconds counters, [16,26) byte counters, [26,46) error/drop
 * counters that rarely move, [46,76) constant gauges (sizes, info, boot
 * time), [76,90) slowly moving integer gauges (memory, free space),
 * [90,100) float gauges with 2 decimals (temperatures, load). */
static const struct {
    uint32_t end;     /* first index of the next group */
    const char *name; /* metric name */
    int shape; /* 0 float counter, 1 byte counter, 5 rare counter, 2 constant, 3 slow int, 4 float
                  gauge */
} groups[] = {
    {16, "node_cpu_seconds_total", 0},          {26, "node_network_receive_bytes_total", 1},
    {46, "node_network_receive_errs_total", 5}, {76, "node_filesystem_size_bytes", 2},
    {90, "node_memory_MemFree_bytes", 3},       {100, "node_hwmon_temp_celsius", 4}};

typedef struct {
    double v;  /* current value */
    int shape; /* see above */
} gen_t;

static double next_value(gen_t *g)
{
    switch (g->shape) {
    case 0:
        g->v = (double)(int64_t)((g->v + 15.0 * (double)(xr() % 1000) / 1000.0) * 100) / 100;
        break;
    case 1:
        g->v += (double)(xr() % 200000);
        break;
    case 2:
        break;
    case 3:
        if (xr() % 4 == 0) g->v += 4096.0 * (double)((int64_t)(xr() % 64) - 32);
        break;
    case 5:
        if (xr() % 100 == 0) g->v += 1;
        break;
    default:
        g->v = (double)(4000 + xr() % 400) / 100.0;
    }
    return g->v;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    uint32_t S = argc > 1 ? (uint32_t)atoi(argv[1]) : 100000;
    uint32_t N = argc > 2 ? (uint32_t)atoi(argv[2]) : 120;
    char dir[256];
    uint32_t late = argc > 3 ? (uint32_t)atoi(argv[3]) : 5;
    snprintf(dir, sizeof dir, "%s", argc > 4 ? argv[4] : "/tmp/ocl_bench_tsdb_XXXXXX");
    if (!mkdtemp(dir)) abort();
    const uint32_t per_target = 100, batch = 1000;
    ocl_arena_t la;
    ocl_arena_init(&la, 1 << 20);
    ocl_prom_series_t *ps = calloc(S, sizeof *ps);
    ocl_sample_t *smp = calloc(S, sizeof *smp);
    gen_t *gen = calloc(S, sizeof *gen);
    for (uint32_t i = 0; i < S; i++) {
        uint32_t sub = i % per_target, host = i / per_target, m = 0;
        while (sub >= groups[m].end)
            m++;
        ocl_label_t *l = ocl_arena_alloc(&la, 5 * sizeof *l);
        char *inst = ocl_arena_alloc(&la, 32), *dev = ocl_arena_alloc(&la, 16);
        snprintf(inst, 32, "10.%u.%u.%u:9100", host / 65536, host / 256 % 256, host % 256);
        snprintf(dev, 16, "%u", sub);
        l[0] = (ocl_label_t){OCL_STR("__name__"), ocl_str_c(groups[m].name)};
        l[1] = (ocl_label_t){OCL_STR("device"), ocl_str_c(dev)};
        l[2] = (ocl_label_t){OCL_STR("instance"), ocl_str_c(inst)};
        l[3] = (ocl_label_t){OCL_STR("job"), OCL_STR("node")};
        l[4] = (ocl_label_t){OCL_STR("region"),
                             host % 2 ? OCL_STR("eu-west-1") : OCL_STR("us-east-1")};
        ps[i].labels = (ocl_labels_t){l, 5};
        ps[i].samples = &smp[i];
        ps[i].n_samples = 1;
        gen[i].shape = groups[m].shape;
        gen[i].v = gen[i].shape == 2 ? (double)(xr() % 1000000) * 4096.0 : (double)(xr() % 100000);
    }
    ocl_tsdb_opts_t o = {.dir = dir, .max_series = S + 10};
    ocl_tsdb_t *db;
    if (ocl_tsdb_open(&o, &db) != 0) abort();
    long rss0 = rss_kb();
    int64_t t0 = 1700000000000LL;
    double t_new = 0, t_old = 0, c_new = 0, c_old = 0;
    uint64_t n_old = 0;
    for (uint32_t r = 0; r < N; r++) {
        for (uint32_t i = 0; i < S; i++) {
            int64_t jitter = xr() % 100 < late ? (int64_t)(xr() % 25) : 0;
            smp[i] = (ocl_sample_t){t0 + (int64_t)r * 15000 + jitter, next_value(&gen[i])};
        }
        double s0 = now_s(), c0 = cpu_s();
        for (uint32_t i = 0; i < S; i += batch) {
            ocl_prom_batch_t b = {ps + i, OCL_MIN(batch, S - i), NULL, 0};
            ocl_tsdb_append_result_t res;
            if (ocl_tsdb_append(db, &b, &res) != 0 || res.appended != b.n_series) abort();
        }
        double el = now_s() - s0, cel = cpu_s() - c0;
        if (r == 0)
            t_new = el, c_new = cel;
        else
            t_old += el, c_old += cel, n_old += S;
    }
    long rss1 = rss_kb();
    ocl_tsdb_stats_t st;
    ocl_tsdb_stats(db, &st);
    printf("series %u, samples per series %u, %u %% late scrapes, total samples %llu\n", S, N, late,
           (unsigned long long)st.head_samples);
    printf("append, new series:      %10.0f samples/s wall, %10.0f per CPU-second\n", S / t_new,
           S / c_new);
    printf("append, existing series: %10.0f samples/s wall, %10.0f per CPU-second\n", n_old / t_old,
           n_old / c_old);
    printf("head: %llu chunks, %.2f bytes/sample (all structures), %.0f bytes/series\n",
           (unsigned long long)st.head_chunks, (double)st.head_bytes / (double)st.head_samples,
           (double)st.head_bytes / S);
    printf("RSS growth: %.0f bytes/series (includes the benchmark's own label arrays)\n",
           (double)(rss1 - rss0) * 1024.0 / S);

    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 20);
    ocl_matcher_t one[3], metric[1], re[2];
    char err[128];
    ocl_matcher_init(&one[0], OCL_MATCH_EQ, OCL_STR("__name__"), OCL_STR("node_hwmon_temp_celsius"),
                     err, sizeof err);
    ocl_matcher_init(&one[1], OCL_MATCH_EQ, OCL_STR("instance"), OCL_STR("10.0.0.7:9100"), err,
                     sizeof err);
    ocl_matcher_init(&one[2], OCL_MATCH_EQ, OCL_STR("device"), OCL_STR("93"), err, sizeof err);
    ocl_matcher_init(&metric[0], OCL_MATCH_EQ, OCL_STR("__name__"),
                     OCL_STR("node_cpu_seconds_total"), err, sizeof err);
    ocl_matcher_init(&re[0], OCL_MATCH_RE, OCL_STR("instance"), OCL_STR("10\\.0\\.1\\..*"), err,
                     sizeof err);
    ocl_matcher_init(&re[1], OCL_MATCH_NEQ, OCL_STR("device"), OCL_STR("0"), err, sizeof err);
    struct {
        const char *what;
        ocl_matcher_t *m;
        size_t n;
    } qs[] = {{"1 series, all samples", one, 3},
              {"1 metric (16% of series)", metric, 1},
              {"regex instance=~10.0.1.*, device!=0", re, 2}};
    for (int phase = 0; phase < 2; phase++) {
        if (phase == 1) {
            double f0 = now_s();
            if (ocl_tsdb_flush(db) != 0) abort();
            double fl = now_s() - f0;
            ocl_tsdb_stats(db, &st);
            printf("flush: %.2f s, %llu blocks, %.3f bytes/sample on disk (chunks+index+meta)\n",
                   fl, (unsigned long long)st.blocks,
                   (double)st.block_bytes / (double)st.block_samples);
            uint64_t sz[3] = {0};
            sum_files(dir, sz);
            printf("       chunks %.3f, index %.3f, meta %.5f bytes/sample\n",
                   (double)sz[0] / (double)st.block_samples,
                   (double)sz[1] / (double)st.block_samples,
                   (double)sz[2] / (double)st.block_samples);
        }
        for (size_t q = 0; q < OCL_ARRAY_LEN(qs); q++) {
            int reps = q == 0 ? 1000 : 5;
            size_t n = 0, samples = 0;
            double s0 = now_s();
            for (int k = 0; k < reps; k++) {
                ocl_series_t *out;
                ocl_arena_reset(&a);
                if (ocl_tsdb_select(db, qs[q].m, qs[q].n, INT64_MIN, INT64_MAX, 0, &a, &out, &n) !=
                    0)
                    abort();
                samples = 0;
                for (size_t i = 0; i < n; i++)
                    samples += out[i].n;
            }
            double el = (now_s() - s0) / reps;
            printf("select from %s, %-38s %6zu series %8zu samples %9.3f ms\n",
                   phase ? "blocks" : "head  ", qs[q].what, n, samples, el * 1e3);
        }
    }
    for (int i = 0; i < 3; i++)
        ocl_matcher_dispose(&one[i]);
    ocl_matcher_dispose(&metric[0]);
    ocl_matcher_dispose(&re[0]);
    ocl_matcher_dispose(&re[1]);
    ocl_arena_dispose(&a);
    ocl_tsdb_close(db);
    rmrf(dir);
    free(ps);
    free(smp);
    free(gen);
    ocl_arena_dispose(&la);
    return 0;
}
