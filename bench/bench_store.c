/*
 * bench_store.c — storage benchmarks (not a test): WAL append throughput
 * (300 KB records, fsync interval and always with 4 appenders) and trace
 * store ingest cost (ns/span with 512-span requests). Prints figures; run
 * from a build directory: ./bench_store [dir-under-tmp].
 */
#include "core/arena.h"
#include "core/time.h"
#include "store/traces/tracestore.h"
#include "store/wal/wal.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void rmrf(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    rmdir(dir);
}

typedef struct {
    ocl_wal_t *w;       /* log */
    const uint8_t *rec; /* payload */
    size_t len;         /* payload size */
    int n;              /* records to append */
} wal_job_t;

static void *wal_worker(void *arg)
{
    wal_job_t *j = arg;
    for (int i = 0; i < j->n; i++)
        if (ocl_wal_append(j->w, 1, j->rec, j->len, NULL) != 0) abort();
    return NULL;
}

static void bench_wal(const char *label, ocl_fsync_policy_t pol, int threads, size_t len, int n)
{
    char dir[] = "/tmp/ocl_bench_XXXXXX";
    if (!mkdtemp(dir)) abort();
    ocl_wal_cfg_t cfg = {.dir = dir, .fsync = pol};
    ocl_wal_t *w = NULL;
    if (ocl_wal_open(&cfg, &w) != 0) abort();
    uint8_t *rec = malloc(len);
    for (size_t i = 0; i < len; i++)
        rec[i] = (uint8_t)(i * 31 + (i >> 7));
    pthread_t th[16];
    wal_job_t job = {w, rec, len, n / threads};
    uint64_t t0 = ocl_mono_nano();
    for (int i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, wal_worker, &job);
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    ocl_wal_sync(w);
    double s = (double)(ocl_mono_nano() - t0) / 1e9;
    ocl_wal_stats_t st;
    ocl_wal_stats(w, &st);
    printf("wal %-28s %2d thr  %7zu B/rec  %8.0f rec/s  %8.1f MB/s  fsyncs %llu (avg %.2f ms)\n",
           label, threads, len, (double)st.records_written / s, (double)st.bytes_written / s / 1e6,
           (unsigned long long)st.fsyncs,
           st.fsyncs ? (double)st.fsync_ns_total / (double)st.fsyncs / 1e6 : 0.0);
    ocl_wal_close(w);
    free(rec);
    rmrf(dir);
}

/* ---- trace store ---- */

static void pb_varint(ocl_buf_t *b, uint64_t v)
{
    while (v >= 0x80)
        ocl_buf_putc(b, (char)(v | 0x80)), v >>= 7;
    ocl_buf_putc(b, (char)v);
}
static void pb_ld(ocl_buf_t *b, int field, const void *p, size_t n)
{
    pb_varint(b, (uint64_t)(field << 3 | 2));
    pb_varint(b, n);
    ocl_buf_append(b, p, n);
}

/* 512 spans: 1 resource, 1 scope, 64 traces x 8 spans, ~200-byte spans. */
static ocl_traces_req_t mk_req(ocl_arena_t *a, ocl_buf_t *bytes, uint64_t salt)
{
    ocl_traces_req_t r = {0};
    r.n_rs = 1;
    r.rs = ocl_arena_calloc(a, sizeof *r.rs);
    r.rs->resource.raw = OCL_STR("\x0a\x1c\x0a\x0cservice.name\x12\x0c\x0a\x0a"
                                 "checkout-1");
    r.rs->n_scope_spans = 1;
    r.rs->scope_spans = ocl_arena_calloc(a, sizeof *r.rs->scope_spans);
    ocl_scope_spans_t *ss = r.rs->scope_spans;
    ss->scope.raw = OCL_STR("\x0a\x05otelx");
    ss->n_spans = 512;
    ss->spans = ocl_arena_calloc(a, 512 * sizeof *ss->spans);
    bytes->len = 0;
    ocl_buf_reserve(bytes, 512 * 256);
    size_t offs[513];
    for (int i = 0; i < 512; i++) {
        uint8_t tid[16] = {1}, sid[8] = {2};
        uint64_t t = salt * 64 + (uint64_t)(i / 8);
        memcpy(tid + 8, &t, 8);
        uint64_t s = salt * 512 + (uint64_t)i + 1;
        memcpy(sid, &s, 8);
        offs[i] = bytes->len;
        pb_ld(bytes, 1, tid, 16);
        pb_ld(bytes, 2, sid, 8);
        pb_ld(bytes, 5, "GET /api/v1/cart/items", 22);
        char attrs[140];
        memset(attrs, 'a', sizeof attrs);
        pb_ld(bytes, 9, attrs, sizeof attrs);
    }
    offs[512] = bytes->len;
    for (int i = 0; i < 512; i++) {
        ocl_span_t *sp = &ss->spans[i];
        const char *p = (const char *)bytes->p + offs[i];
        sp->raw = (ocl_str_t){p, offs[i + 1] - offs[i]};
        sp->trace_id = (ocl_str_t){p + 2, 16};
        sp->span_id = (ocl_str_t){p + 20, 8};
        sp->start_unix_nano = 1700000000000000000ull + salt * 1000 + (uint64_t)i;
        sp->end_unix_nano = sp->start_unix_nano + 5000;
    }
    return r;
}

typedef struct {
    ocl_tracestore_t *ts; /* store */
    int id;               /* thread */
    int nreq;             /* requests */
    uint64_t ns;          /* time spent in add */
} ts_job_t;

static void *ts_worker(void *arg)
{
    ts_job_t *j = arg;
    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 20);
    ocl_buf_t b;
    ocl_buf_init(&b);
    for (int i = 0; i < j->nreq; i++) {
        ocl_traces_req_t r = mk_req(&a, &b, (uint64_t)j->id * 1000000 + (uint64_t)i);
        uint64_t t0 = ocl_mono_nano();
        if (ocl_tracestore_add(j->ts, &r, (uint64_t)i + 1, NULL) != 0) abort();
        j->ns += ocl_mono_nano() - t0;
        ocl_arena_reset(&a);
    }
    ocl_buf_dispose(&b);
    ocl_arena_dispose(&a);
    return NULL;
}

static void bench_ts(int threads, int nreq)
{
    char dir[] = "/tmp/ocl_bench_XXXXXX";
    if (!mkdtemp(dir)) abort();
    ocl_tracestore_cfg_t cfg = {.dir = dir, .head_max_bytes = 1ull << 30};
    ocl_tracestore_t *ts = NULL;
    if (ocl_tracestore_open(&cfg, &ts) != 0) abort();
    pthread_t th[16];
    ts_job_t jobs[16];
    uint64_t t0 = ocl_mono_nano();
    for (int i = 0; i < threads; i++) {
        jobs[i] = (ts_job_t){ts, i, nreq / threads, 0};
        pthread_create(&th[i], NULL, ts_worker, &jobs[i]);
    }
    uint64_t ns = 0;
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL), ns += jobs[i].ns;
    double wall = (double)(ocl_mono_nano() - t0) / 1e9;
    double spans = (double)nreq * 512;
    ocl_tracestore_stats_t st;
    ocl_tracestore_stats(ts, &st);
    printf("tracestore add  %d thr  512 spans/req  %6.1f ns/span in add (per thread)  "
           "%5.2f Mspans/s wall incl. request building  head %.1f MB\n",
           threads, (double)ns / spans, spans / wall / 1e6, (double)st.head_bytes / 1e6);
    uint64_t c0 = ocl_mono_nano();
    ocl_tracestore_maintain(ts, 1);
    double cut = (double)(ocl_mono_nano() - c0) / 1e9;
    ocl_tracestore_stats(ts, &st);
    printf("tracestore cut  %.0f spans in %.3f s (%.2f Mspans/s), segment %.1f MB\n", spans, cut,
           spans / cut / 1e6, (double)st.segment_bytes / 1e6);
    uint8_t id[16] = {1};
    uint64_t t = 5;
    memcpy(id + 8, &t, 8);
    ocl_buf_t out;
    ocl_buf_init(&out);
    uint64_t g0 = ocl_mono_nano();
    for (int i = 0; i < 1000; i++) {
        out.len = 0;
        if (ocl_tracestore_get(ts, id, &out) != 0) abort();
    }
    printf("tracestore get  from segment: %.1f us/lookup (%zu bytes)\n",
           (double)(ocl_mono_nano() - g0) / 1000 / 1e3, out.len);
    ocl_buf_dispose(&out);
    ocl_tracestore_close(ts);
    rmrf(dir);
}

int main(void)
{
    bench_wal("interval(100ms)", OCL_FSYNC_INTERVAL, 1, 300 * 1000, 2000);
    bench_wal("interval(100ms)", OCL_FSYNC_INTERVAL, 4, 300 * 1000, 2000);
    bench_wal("never", OCL_FSYNC_NEVER, 1, 300 * 1000, 2000);
    bench_wal("always", OCL_FSYNC_ALWAYS, 1, 300 * 1000, 300);
    bench_wal("always (group commit)", OCL_FSYNC_ALWAYS, 4, 300 * 1000, 600);
    bench_wal("always (group commit)", OCL_FSYNC_ALWAYS, 4, 4 * 1000, 4000);
    bench_ts(1, 2000);
    bench_ts(2, 2000);
    return 0;
}
