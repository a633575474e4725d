/*
 * synth_prom.c — a node-exporter-like Prometheus workload for
 * `ocelot gen --signals prom-rw`, benchmarks and crash tests (synth.h).
 *
 * The model: hosts (label instance="host-NNNN:9100", job=<job>) each expose
 * the same 120 series, in this order:
 *   node_cpu_seconds_total{cpu,mode}           32 counters (4 CPUs x 8 modes)
 *   node_network_{receive,transmit}_{bytes,packets}_total{device}   8 counters
 *   node_disk_{read_bytes,written_bytes,io_time_seconds}_total{device}  6 counters
 *   node_context_switches_total, node_intr_total                    2 counters
 *   node_memory_{MemTotal,MemAvailable,MemFree,Cached,Buffers}_bytes 5 gauges
 *   node_filesystem_{size,avail}_bytes{device,fstype,mountpoint}    6 gauges
 *   node_load1, node_load5, node_load15                             3 gauges
 *   http_requests_in_flight, up                                     2 gauges
 *   http_request_duration_seconds_{bucket{le},sum,count}{handler,method,code}
 *                                                  56 (4 histograms x 14)
 * Series i is template i % 120 of host i / 120; the last host is partial when
 * the series count is not a multiple of 120.
 *
 * Values evolve like real ones, never constant except where the real ones
 * are (MemTotal, filesystem size, up): CPU seconds grow by 15 s x a jittered
 * per-mode share, rounded to 1/100 s (USER_HZ); byte and packet counters by
 * jittered per-series rates, as integers; memory and filesystem gauges walk
 * in 4 KiB pages; load averages walk with 2 decimals and smooth as the
 * kernel's do; each histogram draws a request count per step and spreads it
 * over the buckets by a per-histogram log-normal latency, so buckets stay
 * cumulative and _count equals the +Inf bucket. Timestamps: step s of a host
 * is at start + s x interval + the host's fixed scrape offset (50 ms to
 * interval - 50 ms)
 * + a jitter (0 for 80 % of scrapes, +-1 ms for 15 %, +-2..5 ms for 5 %),
 * like scrapes of independent targets by a ticker with sub-ms delays. Steal
 * time only on 30 % of hosts (VMs), nice time on 20 %; /boot/efi is never
 * written.
 *
 * Invariants: the values of step s depend only on the seed and s (state is
 * advanced one step at a time, all series at once, O(series)); a step's
 * samples are requested in any order of ranges but steps never go back.
 * Workload: 10^4-10^6 series; a 2,000-sample batch costs microseconds.
 */
#include "cli/synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define CPUS 4
#define MODES 8
#define BUCKETS 12 /* 11 bounds + +Inf, the Go client's defaults */
#define HISTS 4
#define MAX_EXTRA 3 /* labels besides __name__, instance, job */

enum {
    K_CPU,      /* counter: CPU seconds, param = share of the mode */
    K_BYTES,    /* counter: integer, param = rate per second */
    K_SECONDS,  /* counter: seconds with 3 decimals, param = utilisation */
    K_CONST,    /* gauge: constant (MemTotal, size, up) */
    K_MEM,      /* gauge: 4 KiB pages random walk, param = fraction of total */
    K_FS_AVAIL, /* gauge: 4 KiB pages slow drift */
    K_LOAD,     /* gauge: load average, param = smoothing factor (1 = load1) */
    K_INFLIGHT, /* gauge: small integer */
    K_BUCKET,   /* histogram bucket, param = probability of its interval */
    K_HSUM,     /* histogram _sum */
    K_HCOUNT,   /* histogram _count */
};

typedef struct {
    const char *name;                 /* metric name */
    const char *ln[MAX_EXTRA];        /* extra label names (NULL = none) */
    const char *lv[MAX_EXTRA];        /* extra label values */
    int kind;                         /* K_* */
    double param;                     /* per-kind parameter (see K_*) */
    int bucket;                       /* K_BUCKET: index 0..BUCKETS-1 */
} tmpl_t;

typedef struct {
    double v;    /* current value */
    double rate; /* per-series parameter drawn at creation (rate, median, total) */
} st_t;

struct ocl_synth_prom {
    ocl_synth_prom_cfg_t cfg; /* configuration (job string copied below) */
    char job[64];             /* job label value */
    tmpl_t t[OCL_SYNTH_PROM_PER_HOST]; /* the per-host templates */
    uint32_t n_t;                      /* templates filled (== PER_HOST) */
    uint32_t hosts;                    /* hosts, the last maybe partial */
    char (*inst)[24];                  /* instance value per host */
    int32_t *host_off;                 /* scrape offset per host (ms) */
    ocl_label_t *labels;               /* labels of all series, 8 slots each */
    uint8_t *n_labels;                 /* labels per series */
    st_t *st;                          /* state per series */
    uint64_t rng;                      /* random stream */
    uint64_t step;                     /* step the state holds */
};

static const char *const modes[MODES] = {"idle", "iowait", "irq", "nice",
                                         "softirq", "steal", "system", "user"};
static const double mode_share[MODES] = {0.70, 0.02, 0.005, 0.004, 0.01, 0.003, 0.06, 0.198};
static const char *const cpus[CPUS] = {"0", "1", "2", "3"};
static const char *const les[BUCKETS] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                                         "0.5",   "1",    "2.5",   "5",    "10",  "+Inf"};
static const double le_v[BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                     0.5,   1,    2.5,   5,    10,  INFINITY};
static const struct {
    const char *handler, *method, *code;
    double median; /* seconds */
    double rps;    /* requests per second */
} hists[HISTS] = {{"/api/v1/query", "GET", "200", 0.03, 40},
                  {"/api/v1/query", "GET", "500", 0.2, 0.5},
                  {"/api/v1/write", "POST", "204", 0.008, 120},
                  {"/metrics", "GET", "200", 0.004, 0.1}};

/* ---- random numbers (splitmix64) ---- */

static uint64_t rnd(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rndf(uint64_t *x)
{
    return (double)(rnd(x) >> 11) * (1.0 / 9007199254740992.0);
}

/* uniform in [lo, hi) */
static double uni(uint64_t *x, double lo, double hi)
{
    return lo + (hi - lo) * rndf(x);
}

static double round_to(double v, double unit)
{
    return round(v / unit) * unit;
}

/* ---- templates ---- */

static tmpl_t *add(ocl_synth_prom_t *s, const char *name, int kind, double param)
{
    tmpl_t *t = &s->t[s->n_t++];
    memset(t, 0, sizeof(*t));
    t->name = name;
    t->kind = kind;
    t->param = param;
    return t;
}

static void lab(tmpl_t *t, const char *n, const char *v)
{
    int i = 0;
    while (t->ln[i])
        i++;
    t->ln[i] = n;
    t->lv[i] = v;
}

static double norm_cdf(double x)
{
    return 0.5 * erfc(-x / sqrt(2.0));
}

static void build_templates(ocl_synth_prom_t *s)
{
    tmpl_t *t;
    for (int c = 0; c < CPUS; c++)
        for (int m = 0; m < MODES; m++) {
            t = add(s, "node_cpu_seconds_total", K_CPU, mode_share[m]);
            lab(t, "cpu", cpus[c]);
            lab(t, "mode", modes[m]);
        }
    static const char *const net[] = {"node_network_receive_bytes_total",
                                      "node_network_transmit_bytes_total",
                                      "node_network_receive_packets_total",
                                      "node_network_transmit_packets_total"};
    for (int k = 0; k < 4; k++)
        for (int d = 0; d < 2; d++) {
            t = add(s, net[k], K_BYTES, k < 2 ? 2e5 : 300);
            lab(t, "device", d ? "eth1" : "eth0");
        }
    static const char *const disk[] = {"node_disk_read_bytes_total",
                                       "node_disk_written_bytes_total"};
    for (int k = 0; k < 2; k++)
        for (int d = 0; d < 2; d++) {
            t = add(s, disk[k], K_BYTES, 5e5);
            lab(t, "device", d ? "sda" : "nvme0n1");
        }
    for (int d = 0; d < 2; d++) {
        t = add(s, "node_disk_io_time_seconds_total", K_SECONDS, 0.05);
        lab(t, "device", d ? "sda" : "nvme0n1");
    }
    add(s, "node_context_switches_total", K_BYTES, 4000);
    add(s, "node_intr_total", K_BYTES, 2500);
    add(s, "node_memory_MemTotal_bytes", K_CONST, 0);
    add(s, "node_memory_MemAvailable_bytes", K_MEM, 0.55);
    add(s, "node_memory_MemFree_bytes", K_MEM, 0.2);
    add(s, "node_memory_Cached_bytes", K_MEM, 0.3);
    add(s, "node_memory_Buffers_bytes", K_MEM, 0.02);
    static const char *const fs[3][3] = {{"/dev/nvme0n1p2", "ext4", "/"},
                                         {"/dev/nvme0n1p1", "vfat", "/boot/efi"},
                                         {"/dev/sda1", "xfs", "/var/lib/data"}};
    for (int k = 0; k < 2; k++)
        for (int f = 0; f < 3; f++) {
            t = add(s, k ? "node_filesystem_avail_bytes" : "node_filesystem_size_bytes",
                    k ? K_FS_AVAIL : K_CONST, 0);
            lab(t, "device", fs[f][0]);
            lab(t, "fstype", fs[f][1]);
            lab(t, "mountpoint", fs[f][2]);
        }
    add(s, "node_load1", K_LOAD, 1);
    add(s, "node_load5", K_LOAD, 1 - exp(-15.0 / 300));
    add(s, "node_load15", K_LOAD, 1 - exp(-15.0 / 900));
    add(s, "http_requests_in_flight", K_INFLIGHT, 0);
    add(s, "up", K_CONST, 0);
    for (int h = 0; h < HISTS; h++) {
        double sigma = 0.9, prev = 0;
        for (int b = 0; b < BUCKETS; b++) {
            double cdf =
                b == BUCKETS - 1 ? 1 : norm_cdf((log(le_v[b]) - log(hists[h].median)) / sigma);
            t = add(s, "http_request_duration_seconds_bucket", K_BUCKET, cdf - prev);
            t->bucket = b;
            prev = cdf;
            lab(t, "code", hists[h].code);
            lab(t, "handler", hists[h].handler);
            lab(t, "le", les[b]);
            /* "method" is the 4th extra label: see series_labels */
        }
        t = add(s, "http_request_duration_seconds_sum", K_HSUM, 0);
        lab(t, "code", hists[h].code);
        lab(t, "handler", hists[h].handler);
        t = add(s, "http_request_duration_seconds_count", K_HCOUNT, 0);
        lab(t, "code", hists[h].code);
        lab(t, "handler", hists[h].handler);
    }
}

/* Which histogram a template belongs to (-1 if none). */
static int hist_of(uint32_t ti)
{
    uint32_t first = OCL_SYNTH_PROM_PER_HOST - HISTS * (BUCKETS + 2);
    return ti < first ? -1 : (int)((ti - first) / (BUCKETS + 2));
}

static void series_labels(ocl_synth_prom_t *s, uint32_t i)
{
    uint32_t host = i / OCL_SYNTH_PROM_PER_HOST, ti = i % OCL_SYNTH_PROM_PER_HOST;
    const tmpl_t *t = &s->t[ti];
    ocl_label_t *l = s->labels + (size_t)i * 8;
    uint32_t n = 0;
    l[n++] = (ocl_label_t){OCL_STR(OCL_METRIC_NAME), ocl_str_c(t->name)};
    l[n++] = (ocl_label_t){OCL_STR("instance"), ocl_str_c(s->inst[host])};
    l[n++] = (ocl_label_t){OCL_STR("job"), ocl_str_c(s->job)};
    for (int k = 0; k < MAX_EXTRA && t->ln[k]; k++)
        l[n++] = (ocl_label_t){ocl_str_c(t->ln[k]), ocl_str_c(t->lv[k])};
    int h = hist_of(ti);
    if (h >= 0) l[n++] = (ocl_label_t){OCL_STR("method"), ocl_str_c(hists[h].method)};
    ocl_labels_sort(l, n);
    s->n_labels[i] = (uint8_t)n;
}

/* ---- state ---- */

static void init_state(ocl_synth_prom_t *s)
{
    uint64_t *x = &s->rng;
    double mem_total = 0, cpu_busy = 1;
    bool vm = false, niced = false;
    for (uint32_t i = 0; i < s->cfg.series; i++) {
        uint32_t ti = i % OCL_SYNTH_PROM_PER_HOST;
        const tmpl_t *t = &s->t[ti];
        st_t *st = &s->st[i];
        if (ti == 0) {
            mem_total = (double)(8ull << (rnd(x) % 3)) * 1073741824.0 -
                        (double)(rnd(x) % 65536) * 4096.0; /* 8/16/32 GiB less reserved */
            cpu_busy = uni(x, 0.3, 2.0);                   /* host load factor */
            vm = rndf(x) < 0.3;    /* only VMs have steal time */
            niced = rndf(x) < 0.2; /* most hosts run nothing niced */
        }
        switch (t->kind) {
        case K_CPU:
            st->rate = t->param * (t->param > 0.5 ? 1 : cpu_busy);
            if ((!strcmp(t->lv[1], "steal") && !vm) || (!strcmp(t->lv[1], "nice") && !niced))
                st->rate = 0;
            st->v = round_to(uni(x, 1e5, 5e6) * t->param, 0.01);
            break;
        case K_BYTES:
            st->rate = t->param * exp(uni(x, -2.5, 2.5));
            st->v = round(st->rate * uni(x, 1e4, 1e6));
            break;
        case K_SECONDS:
            st->rate = t->param * uni(x, 0.1, 3);
            st->v = round_to(st->rate * uni(x, 1e4, 1e6), 0.001);
            break;
        case K_CONST:
            st->v = !strcmp(t->name, "up") ? 1
                    : !strcmp(t->name, "node_memory_MemTotal_bytes")
                        ? mem_total
                        : (double)((rnd(x) % 4000 + 1) * 262144ull) * 4096.0; /* fs size */
            st->rate = st->v;
            break;
        case K_MEM:
            st->rate = mem_total;
            st->v = round_to(mem_total * t->param * uni(x, 0.5, 1.5), 4096);
            break;
        case K_FS_AVAIL:
            st->rate = s->st[i - 3].v; /* the size of the same filesystem */
            if (!strcmp(t->lv[2], "/boot/efi")) st->rate = -st->rate; /* never written */
            st->v = round_to(fabs(st->rate) * uni(x, 0.05, 0.9), 4096);
            break;
        case K_LOAD:
            st->rate = cpu_busy;
            st->v = round_to(cpu_busy * uni(x, 0.5, 1.5), 0.01);
            break;
        case K_INFLIGHT:
            st->v = (double)(rnd(x) % 5);
            break;
        case K_BUCKET:
        case K_HSUM:
        case K_HCOUNT:
            st->rate = hists[hist_of(ti)].rps * exp(uni(x, -1, 1)); /* per histogram */
            st->v = 0;
            break;
        }
    }
}

/* One interval of a histogram: n requests spread over the buckets (k[b]
 * observations in bucket b's interval), and the sum of their latencies.
 * Up to 64 requests are drawn one by one from the histogram's log-normal;
 * more are spread by the expected shares with jitter, the rounding rest
 * going to the most likely bucket. */
static void hist_step(uint64_t *x, const tmpl_t *t0, double median, double n, double *k,
                      double *sum)
{
    *sum = 0;
    for (int b = 0; b < BUCKETS; b++)
        k[b] = 0;
    if (n <= 64) {
        for (int i = 0; i < (int)n; i++) {
            double u1 = rndf(x), u2 = rndf(x);
            double z = sqrt(-2 * log(u1 > 0 ? u1 : 1e-300)) * cos(2 * M_PI * u2);
            double lat = median * exp(0.9 * z);
            int b = 0;
            while (b < BUCKETS - 1 && lat > le_v[b])
                b++;
            k[b]++;
            *sum += lat;
        }
        return;
    }
    double got = 0;
    int mode = 0;
    for (int b = 0; b < BUCKETS; b++) {
        k[b] = round(n * t0[b].param * uni(x, 0.85, 1.15));
        if (t0[b].param > t0[mode].param) mode = b;
        got += k[b];
    }
    k[mode] += n - got;
    if (k[mode] < 0) { /* jitter overshot: fall back to exact shares */
        got = 0;
        for (int b = 0; b < BUCKETS; b++)
            got += (k[b] = floor(n * t0[b].param));
        k[mode] += n - got;
    }
    for (int b = 0; b < BUCKETS; b++) {
        double lo = b ? le_v[b - 1] : 0, hi = b == BUCKETS - 1 ? lo * 2 : le_v[b];
        *sum += k[b] * uni(x, lo, hi);
    }
}

/* Advances every series by one interval. Histograms: at the first bucket
 * the whole interval is drawn (hist_step); buckets accumulate it over le;
 * _sum and _count follow from the same draw. */
static void advance(ocl_synth_prom_t *s, double scale)
{
    uint64_t *x = &s->rng;
    double iv = (double)s->cfg.interval_ms / 1000.0 * scale;
    double h_k[BUCKETS], h_cum = 0, h_sum = 0, load1 = 0;
    for (uint32_t i = 0; i < s->cfg.series; i++) {
        uint32_t ti = i % OCL_SYNTH_PROM_PER_HOST;
        const tmpl_t *t = &s->t[ti];
        st_t *st = &s->st[i];
        switch (t->kind) {
        case K_CPU:
            st->v = round_to(st->v + iv * st->rate * uni(x, 0.6, 1.4), 0.01);
            break;
        case K_BYTES:
            st->v += round(iv * st->rate * uni(x, 0.5, 1.5));
            break;
        case K_SECONDS:
            st->v = round_to(st->v + iv * st->rate * uni(x, 0.5, 1.5), 0.001);
            break;
        case K_CONST:
            break;
        case K_MEM: {
            double nv = st->v + round_to(st->rate * 0.002 * uni(x, -1, 1), 4096);
            if (nv > st->rate * 0.05 && nv < st->rate * 0.95) st->v = nv;
            break;
        }
        case K_FS_AVAIL: {
            double nv = st->v - round_to(uni(x, -2e6, 6e6) * scale, 4096);
            if (nv > 0 && nv < st->rate) st->v = nv; /* rate < 0: read-only */
            break;
        }
        case K_LOAD:
            if (t->param == 1) {
                double nv = st->v + uni(x, -0.35, 0.35) * st->rate;
                st->v = round_to(nv < 0 ? -nv : nv, 0.01);
                load1 = st->v;
            } else {
                st->v = round_to(st->v + (load1 - st->v) * t->param, 0.01);
            }
            break;
        case K_INFLIGHT:
            st->v = (double)(rnd(x) % 12);
            break;
        case K_BUCKET:
            if (t->bucket == 0) {
                double n = round(iv * st->rate * uni(x, 0.7, 1.3));
                hist_step(x, t, hists[hist_of(ti)].median, n, h_k, &h_sum);
                h_cum = 0;
            }
            h_cum += h_k[t->bucket];
            st->v += h_cum;
            break;
        case K_HSUM:
            st->v += h_sum;
            break;
        case K_HCOUNT:
            st->v += h_cum;
            break;
        }
    }
}

/* ---- public ---- */

ocl_synth_prom_t *ocl_synth_prom_create(const ocl_synth_prom_cfg_t *cfg)
{
    ocl_synth_prom_t *s = ocl_calloc(1, sizeof(*s));
    s->cfg = *cfg;
    if (!s->cfg.series) s->cfg.series = 100000;
    if (s->cfg.interval_ms <= 0) s->cfg.interval_ms = 15000;
    snprintf(s->job, sizeof(s->job), "%s", cfg->job && *cfg->job ? cfg->job : "node");
    s->cfg.job = s->job;
    s->rng = cfg->seed * 0x2545F4914F6CDD1Dull + 1;
    build_templates(s);
    if (s->n_t != OCL_SYNTH_PROM_PER_HOST) abort(); /* the template table is fixed */
    s->hosts = (s->cfg.series + OCL_SYNTH_PROM_PER_HOST - 1) / OCL_SYNTH_PROM_PER_HOST;
    s->inst = ocl_calloc(s->hosts, sizeof(*s->inst));
    s->host_off = ocl_calloc(s->hosts, sizeof(*s->host_off));
    for (uint32_t h = 0; h < s->hosts; h++) {
        snprintf(s->inst[h], sizeof(s->inst[h]), "host-%04u:9100", h);
        /* never within 50 ms of a multiple of the interval (see synth.h) */
        uint64_t span = s->cfg.interval_ms > 200 ? (uint64_t)s->cfg.interval_ms - 100 : 1;
        s->host_off[h] = (int32_t)(rnd(&s->rng) % span + (span > 1 ? 50 : 0));
    }
    s->labels = ocl_calloc((size_t)s->cfg.series * 8, sizeof(ocl_label_t));
    s->n_labels = ocl_calloc(s->cfg.series, 1);
    for (uint32_t i = 0; i < s->cfg.series; i++)
        series_labels(s, i);
    s->st = ocl_calloc(s->cfg.series, sizeof(st_t));
    init_state(s);
    advance(s, 1000); /* histograms and counters: a plausible history */
    return s;
}

void ocl_synth_prom_destroy(ocl_synth_prom_t *s)
{
    if (!s) return;
    ocl_free(s->inst);
    ocl_free(s->host_off);
    ocl_free(s->labels);
    ocl_free(s->n_labels);
    ocl_free(s->st);
    ocl_free(s);
}

uint32_t ocl_synth_prom_series(const ocl_synth_prom_t *s)
{
    return s->cfg.series;
}

int64_t ocl_synth_prom_time(const ocl_synth_prom_t *s, uint64_t step, uint32_t series)
{
    uint32_t host = series / OCL_SYNTH_PROM_PER_HOST;
    uint64_t h = (step + 1) * 0x9E3779B97F4A7C15ull ^ (uint64_t)host * 0xC2B2AE3D27D4EB4Full;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    /* scrape jitter: 80 % on time to the ms, 15 % +-1 ms, 5 % +-2..5 ms */
    uint32_t r = (uint32_t)(h % 100);
    int64_t sign = (h >> 8) & 1 ? 1 : -1;
    int64_t jitter = r < 80 ? 0 : r < 95 ? sign : sign * (2 + (int64_t)((h >> 9) % 4));
    return s->cfg.start_ms + (int64_t)step * s->cfg.interval_ms + s->host_off[host] + jitter;
}

int ocl_synth_prom_batch(ocl_synth_prom_t *s, ocl_arena_t *a, uint64_t step, uint32_t first,
                         uint32_t n, ocl_prom_batch_t *out)
{
    if (!n || first >= s->cfg.series || n > s->cfg.series - first || step < s->step)
        return OCL_EINVAL;
    while (s->step < step) {
        advance(s, 1);
        s->step++;
    }
    ocl_prom_series_t *ser = ocl_arena_alloc(a, n * sizeof(*ser));
    ocl_sample_t *smp = ocl_arena_alloc(a, n * sizeof(*smp));
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = first + k;
        smp[k].t = ocl_synth_prom_time(s, step, i);
        smp[k].v = s->st[i].v;
        ser[k].labels = (ocl_labels_t){s->labels + (size_t)i * 8, s->n_labels[i]};
        ser[k].samples = &smp[k];
        ser[k].n_samples = 1;
    }
    memset(out, 0, sizeof(*out));
    out->series = ser;
    out->n_series = n;
    return 0;
}
