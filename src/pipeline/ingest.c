/*
 * ingest.c — see ingest.h. Hot path: ocl_ingest_write, once per export
 * request (hundreds of records): one WAL append (writev of a small prefix
 * and the request bytes) and one trace-store add.
 */
#include "pipeline/ingest.h"

#include "api/selfmetrics.h"
#include "core/log.h"
#include "core/time.h"
#include "pipeline/ingest_metrics.h"
#include "pipeline/tenants.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

struct ocl_ingest {
    ocl_ingest_cfg_t cfg;             /* copy of the configuration */
    char *data_dir;                   /* owned copy of cfg.data_dir */
    ocl_wal_t *wal[OCL_SIGNAL_COUNT]; /* one WAL per signal */
    ocl_tenants_t *tenants;           /* one trace store per tenant */
    ocl_mingest_t *metrics;           /* per-tenant TSDBs, metrics WAL bookkeeping */
    uint64_t max_memory;              /* limit on the heads of all tenants together */
    uint64_t last_trace_seq;          /* highest traces WAL seq appended or
                                       * replayed (atomic max) */
    pthread_rwlock_t append_lk;       /* read: a WAL append + store add pair in
                                       * flight; write: computing the checkpoint,
                                       * so no appended record is in neither the
                                       * WAL-covered heads nor a segment */
    pthread_t maint;                  /* maintenance thread */
    pthread_mutex_t mu;               /* guards stop */
    pthread_cond_t cv;                /* wakes the maintenance thread */
    int stop;                         /* set on close */
    int maint_started;                /* maint is running */
    ocl_replay_stats_t replay;        /* what the last open replayed */
    uint64_t checkpoint;              /* traces WAL records below are in segments
                                       * (persisted in wal/traces.checkpoint) */
};

/* wal/traces.checkpoint: u64 seq | u32 crc32c(seq), little endian. Written
 * to a temp name, fsynced and renamed, so it is either old or new. */
static void checkpoint_path(const ocl_ingest_t *ing, char *buf, size_t n, int tmp)
{
    snprintf(buf, n, "%s/wal/traces.checkpoint%s", ing->data_dir, tmp ? ".tmp" : "");
}

static uint64_t checkpoint_load(const ocl_ingest_t *ing)
{
    char path[PATH_MAX];
    unsigned char b[12];
    checkpoint_path(ing, path, sizeof path, 0);
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(b, 1, sizeof b, f);
    fclose(f);
    uint64_t seq;
    uint32_t crc;
    memcpy(&seq, b, 8);
    memcpy(&crc, b + 8, 4);
    if (n != sizeof b || ocl_crc32c(0, b, 8) != crc) {
        ocl_warn("ignoring corrupt %s: the whole traces WAL is replayed", path);
        return 0;
    }
    return seq;
}

static int checkpoint_store(const ocl_ingest_t *ing, uint64_t seq)
{
    char tmp[PATH_MAX], path[PATH_MAX];
    unsigned char b[12];
    uint32_t crc;
    memcpy(b, &seq, 8);
    crc = ocl_crc32c(0, b, 8);
    memcpy(b + 8, &crc, 4);
    checkpoint_path(ing, tmp, sizeof tmp, 1);
    checkpoint_path(ing, path, sizeof path, 0);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return OCL_EIO;
    int ok = write(fd, b, sizeof b) == (ssize_t)sizeof b && fdatasync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp, path) != 0) return OCL_EIO;
    return 0;
}

typedef struct {
    ocl_ingest_t *ing;    /* target */
    ocl_arena_t arena;    /* per-record decode memory */
    unsigned since_maint; /* records replayed since the last maintain call */
} replay_ctx_t;

static int replay_record(uint8_t type, uint64_t seq, const void *payload, size_t len, void *ud)
{
    replay_ctx_t *rc = ud;
    ocl_ingest_t *ing = rc->ing;
    const unsigned char *p = payload;
    if (type == OCL_WAL_PROM_RECORD || type == OCL_WAL_PROM_SNAPPY || type == OCL_SIGNAL_METRICS) {
        ing->replay.records[OCL_SIGNAL_METRICS]++;
        return ocl_mingest_replay(ing->metrics, type, seq, payload, len, &rc->arena);
    }
    if (type >= OCL_SIGNAL_COUNT || len < 1 || (size_t)p[0] + 1 > len) {
        ing->replay.bad_records++;
        return 0;
    }
    ing->replay.records[type]++;
    if (type != OCL_SIGNAL_TRACES) return 0; /* logs: kept in the WAL for a later engine */
    if (seq > ing->last_trace_seq) ing->last_trace_seq = seq;
    if (seq < ing->checkpoint) {
        ing->replay.skipped++; /* already in a segment */
        return 0;
    }
    ocl_tracestore_t *ts;
    int trc = ocl_tenants_get(ing->tenants, (ocl_str_t){(const char *)p + 1, p[0]}, 1, &ts);
    if (trc == OCL_EINVAL) {
        ing->replay.bad_records++; /* cannot have been written: count and skip */
        return 0;
    }
    if (trc != 0) {
        /* Acknowledged data with nowhere to go: refuse to start rather than
         * checkpoint past it. */
        ocl_error("replay: cannot open the trace store of tenant '%.*s': %s", p[0],
                  (const char *)p + 1, ocl_strerror(trc));
        return trc;
    }
    ocl_tracestore_set_replaying(ts, 1); /* stores may appear during replay */
    /* Replay ignores the memory limit, so cut as the heads grow. */
    if (++rc->since_maint >= 256) {
        rc->since_maint = 0;
        for (size_t i = 0; i < ocl_tenants_count(ing->tenants); i++)
            ocl_tracestore_maintain(ocl_tenants_at(ing->tenants, i), 0);
    }
    size_t off = 1 + p[0];
    ocl_traces_req_t req;
    const char *err = NULL;
    ocl_arena_reset(&rc->arena);
    if (ocl_otlp_pb_decode_traces(p + off, len - off, &rc->arena, &req, &err) != 0) {
        ing->replay.bad_records++;
        return 0;
    }
    size_t rejected = 0;
    if (ocl_tracestore_add(ts, &req, seq, &rejected) == 0)
        ing->replay.spans += ocl_otlp_traces_count(&req) - rejected;
    return 0;
}

static void wal_collect(ocl_buf_t *out, void *ud)
{
    ocl_ingest_t *ing = ud;
    ocl_wal_stats_t st[OCL_SIGNAL_COUNT];
    for (int s = 0; s < OCL_SIGNAL_COUNT; s++)
        ocl_wal_stats(ing->wal[s], &st[s]);
    char labels[64];
#define WAL_METRIC(name, type, help, field)                                                        \
    ocl_sm_header(out, name, type, help);                                                          \
    for (int s = 0; s < OCL_SIGNAL_COUNT; s++) {                                                   \
        snprintf(labels, sizeof labels, "signal=\"%s\"", ocl_signal_names[s]);                     \
        ocl_sm_sample(out, name, labels, (double)st[s].field);                                     \
    }
    WAL_METRIC("ocelot_wal_written_bytes_total", "counter", "Bytes appended to the WAL.",
               bytes_written)
    WAL_METRIC("ocelot_wal_records_total", "counter", "Records appended to the WAL.",
               records_written)
    WAL_METRIC("ocelot_wal_disk_bytes", "gauge", "Bytes in WAL segment files.", disk_bytes)
    WAL_METRIC("ocelot_wal_segments", "gauge", "WAL segment files.", segments)
    WAL_METRIC("ocelot_wal_corruptions_repaired_total", "counter",
               "Torn or corrupt WAL tails truncated at startup.", corruptions_repaired)
    WAL_METRIC("ocelot_wal_truncated_bytes_total", "counter",
               "Bytes dropped by WAL repairs at startup.", bytes_truncated)
#undef WAL_METRIC
    ocl_sm_header(out, "ocelot_wal_fsync_duration_seconds", "histogram",
                  "Duration of WAL fdatasync calls.");
    for (int s = 0; s < OCL_SIGNAL_COUNT; s++) {
        snprintf(labels, sizeof labels, "signal=\"%s\"", ocl_signal_names[s]);
        ocl_sm_histogram(out, "ocelot_wal_fsync_duration_seconds", labels, ocl_wal_fsync_bounds_s,
                         11, st[s].fsync_ns_buckets, st[s].fsync_ns_total / 1e9);
    }
    ocl_tracestore_stats_t ts = {0};
    size_t nt = ocl_tenants_count(ing->tenants);
    for (size_t i = 0; i < nt; i++) {
        ocl_tracestore_stats_t one;
        ocl_tracestore_stats(ocl_tenants_at(ing->tenants, i), &one);
        ts.head_spans += one.head_spans;
        ts.head_traces += one.head_traces;
        ts.head_bytes += one.head_bytes;
        ts.segments += one.segments;
        ts.segment_bytes += one.segment_bytes;
        ts.spans_stored += one.spans_stored;
        ts.cuts += one.cuts;
        ts.compactions += one.compactions;
    }
    ocl_sm_header(out, "ocelot_tenants", "gauge", "Tenants with a trace store (default included).");
    ocl_sm_sample(out, "ocelot_tenants", "", (double)nt);
#define TS_METRIC(name, type, help, field)                                                         \
    ocl_sm_header(out, name, type, help);                                                          \
    ocl_sm_sample(out, name, "", (double)ts.field);
    TS_METRIC("ocelot_tracestore_head_spans", "gauge", "Spans in the trace head.", head_spans)
    TS_METRIC("ocelot_tracestore_head_traces", "gauge", "Traces in the trace head.", head_traces)
    TS_METRIC("ocelot_tracestore_head_bytes", "gauge", "Bytes held by the trace head.", head_bytes)
    TS_METRIC("ocelot_tracestore_segments", "gauge", "Trace segment files.", segments)
    TS_METRIC("ocelot_tracestore_segment_bytes", "gauge", "Bytes in trace segment files.",
              segment_bytes)
    TS_METRIC("ocelot_tracestore_spans_stored_total", "counter",
              "Spans added to the trace store (including WAL replay).", spans_stored)
    TS_METRIC("ocelot_tracestore_cuts_total", "counter", "Trace head cuts into segments.", cuts)
    TS_METRIC("ocelot_tracestore_compactions_total", "counter",
              "Trace segment merges (compactions).", compactions)
#undef TS_METRIC
}

/* Deletes traces-WAL segments whose records are all in segment files. The
 * write lock waits out every append whose record is in the WAL but not yet
 * in a head; without it, durable_seq could pass such a record (it counts
 * only what the heads hold) and its WAL segment could go before the record
 * reaches any segment. */
static void checkpoint(ocl_ingest_t *ing)
{
    pthread_rwlock_wrlock(&ing->append_lk);
    /* Tenants share the traces WAL: the lowest seq any head holds, or past
     * the last record when every head is empty. */
    uint64_t seq = UINT64_MAX;
    for (size_t i = 0; i < ocl_tenants_count(ing->tenants); i++) {
        uint64_t m = ocl_tracestore_min_head_seq(ocl_tenants_at(ing->tenants, i));
        if (m < seq) seq = m;
    }
    if (seq == UINT64_MAX) seq = __atomic_load_n(&ing->last_trace_seq, __ATOMIC_RELAXED) + 1;
    pthread_rwlock_unlock(&ing->append_lk);
    if (seq <= ing->checkpoint) return;
    /* Persist first: replay skips what the file covers, and the WAL may
     * only lose records the file already vouches for. */
    if (checkpoint_store(ing, seq) != 0) {
        ocl_warn("cannot write the traces WAL checkpoint: %s", strerror(errno));
        return;
    }
    ing->checkpoint = seq;
    ocl_wal_truncate_before(ing->wal[OCL_SIGNAL_TRACES], seq);
}

/* Sum of the heads of every tenant: what the memory limit applies to. */
static uint64_t live_bytes(ocl_ingest_t *ing, ocl_tracestore_t **largest)
{
    uint64_t sum = 0, most = 0;
    size_t n = ocl_tenants_count(ing->tenants);
    for (size_t i = 0; i < n; i++) {
        ocl_tracestore_t *ts = ocl_tenants_at(ing->tenants, i);
        uint64_t b = ocl_tracestore_live_bytes(ts);
        sum += b;
        if (largest && b > most) most = b, *largest = ts;
    }
    return sum;
}

/* Cuts due heads of every tenant (all of them when `force`), then
 * checkpoints. Many small tenants may each stay under their own cut size
 * while together they reach the memory limit: past half the limit, the
 * largest head is cut early. */
static void maintain_all(ocl_ingest_t *ing, int force)
{
    size_t n = ocl_tenants_count(ing->tenants);
    for (size_t i = 0; i < n; i++)
        ocl_tracestore_maintain(ocl_tenants_at(ing->tenants, i), force);
    ocl_tracestore_t *largest = NULL;
    if (!force && n > 1 && live_bytes(ing, &largest) > ing->max_memory / 2 && largest)
        ocl_tracestore_maintain(largest, 1);
    /* Even after a failed cut: its head stays and min_head_seq counts it. */
    checkpoint(ing);
}

/* Ticks every 100 ms: at a million spans/s the head grows by ~400 MB/s,
 * so the cut check must run far more often than the cut age. Retention of
 * the metrics/logs WALs (a directory scan) runs once per 10 s. */
static void *maint_main(void *arg)
{
    ocl_ingest_t *ing = arg;
    unsigned tick = 0;
    pthread_mutex_lock(&ing->mu);
    while (!ing->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&ing->cv, &ing->mu, &ts);
        if (ing->stop) break;
        pthread_mutex_unlock(&ing->mu);
        maintain_all(ing, 0);
        ++tick;
        /* The logs WAL is bounded by retention (the metrics WAL by the TSDB). */
        if (tick % 100 == 0)
            ocl_wal_retain(ing->wal[OCL_SIGNAL_LOGS], ing->cfg.wal_retention_s,
                           ing->cfg.wal_max_bytes);
        pthread_mutex_lock(&ing->mu);
    }
    pthread_mutex_unlock(&ing->mu);
    return NULL;
}

int ocl_ingest_open(const ocl_ingest_cfg_t *cfg, ocl_ingest_t **out)
{
    int rc = 0;
    char path[PATH_MAX];
    ocl_ingest_t *ing = ocl_calloc(1, sizeof *ing);
    ing->cfg = *cfg;
    if (!ing->cfg.trace_retention_s) ing->cfg.trace_retention_s = 7 * 86400;
    if (!ing->cfg.wal_retention_s) ing->cfg.wal_retention_s = 7 * 86400;
    if (!ing->cfg.fsync_interval_ms) ing->cfg.fsync_interval_ms = 100;
    ing->data_dir = ocl_strndup(cfg->data_dir, strlen(cfg->data_dir));
    pthread_mutex_init(&ing->mu, NULL);
    pthread_cond_init(&ing->cv, NULL);
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    /* Writer preference: under constant ingest the readers overlap forever
     * and a reader-preferring lock would starve the checkpoint. */
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&ing->append_lk, &ra);
    pthread_rwlockattr_destroy(&ra);
    if ((rc = ocl_mkdir_p(ing->data_dir)) != 0) {
        ocl_error("cannot create data dir %s: %s", ing->data_dir, strerror(errno));
        goto error;
    }
    for (int s = 0; s < OCL_SIGNAL_COUNT; s++) {
        snprintf(path, sizeof path, "%s/wal/%s", ing->data_dir, ocl_signal_names[s]);
        if ((rc = ocl_mkdir_p(path)) != 0) goto error;
        ocl_wal_cfg_t wc = {.dir = path,
                            .fsync = cfg->fsync,
                            .interval_ms = ing->cfg.fsync_interval_ms,
                            .segment_bytes = cfg->wal_segment_bytes};
        /* Metrics appends hold a tenant lock: with "always" they sync after
         * releasing it (ocl_wal_sync, group commit) instead of inside. */
        if (s == OCL_SIGNAL_METRICS && cfg->fsync == OCL_FSYNC_ALWAYS) {
            wc.fsync = OCL_FSYNC_INTERVAL;
            wc.interval_ms = 1000;
        }
        if ((rc = ocl_wal_open(&wc, &ing->wal[s])) != 0) {
            ocl_error("cannot open WAL %s: %s", path, ocl_strerror(rc));
            goto error;
        }
    }
    ing->max_memory = cfg->max_memory_bytes ? cfg->max_memory_bytes : (256u << 20);
    ocl_tracestore_cfg_t tc = {.head_max_bytes = cfg->trace_head_bytes,
                               .head_max_age_s = cfg->trace_head_age_s,
                               .retention_s = ing->cfg.trace_retention_s,
                               .max_memory_bytes = ing->max_memory};
    if ((rc = ocl_tenants_open(ing->data_dir, &tc, &ing->tenants)) != 0) {
        ocl_error("cannot open the trace stores in %s", ing->data_dir);
        goto error;
    }
    ocl_mingest_cfg_t mc = {.data_dir = ing->data_dir,
                            .wal = ing->wal[OCL_SIGNAL_METRICS],
                            .sync_after = cfg->fsync == OCL_FSYNC_ALWAYS,
                            .tsdb = {.block_range_ms = cfg->metrics_block_range_ms,
                                     .retention_ms = cfg->metrics_retention_ms,
                                     .retention_bytes = cfg->metrics_retention_bytes,
                                     .max_series = cfg->metrics_max_series}};
    if ((rc = ocl_mingest_open(&mc, &ing->metrics)) != 0) {
        ocl_error("cannot open the metrics stores in %s/metrics", ing->data_dir);
        goto error;
    }
    uint64_t t0 = ocl_mono_nano();
    replay_ctx_t rctx = {.ing = ing};
    ocl_arena_init(&rctx.arena, 1 << 20);
    ing->checkpoint = checkpoint_load(ing);
    for (int s = 0; s < OCL_SIGNAL_COUNT && rc == 0; s++)
        rc = ocl_wal_replay(ing->wal[s], replay_record, &rctx);
    for (size_t i = 0; i < ocl_tenants_count(ing->tenants); i++)
        ocl_tracestore_set_replaying(ocl_tenants_at(ing->tenants, i), 0);
    /* If the traces WAL lost its files, its seqs restarted at 1; replay
     * would skip new records below the checkpoint, so jump past it. */
    if (rc == 0 && ing->checkpoint)
        rc = ocl_wal_reserve_seq(ing->wal[OCL_SIGNAL_TRACES], ing->checkpoint);
    ocl_arena_dispose(&rctx.arena);
    if (rc != 0) goto error;
    ing->replay.nanos = ocl_mono_nano() - t0;
    {
        uint64_t recs, bad, rej;
        ocl_mingest_replay_counts(ing->metrics, &recs, &bad, &rej);
        ing->replay.bad_records += bad;
        if (recs)
            ocl_info("metrics WAL replay: %llu records, %llu samples refused by the TSDB "
                     "(expected for data already in blocks), %llu undecodable",
                     (unsigned long long)recs, (unsigned long long)rej, (unsigned long long)bad);
    }
    ocl_sm_register(wal_collect, ing);
    if ((rc = ocl_mingest_start(ing->metrics)) != 0) goto error;
    if (pthread_create(&ing->maint, NULL, maint_main, ing) != 0) {
        rc = OCL_EIO;
        goto error;
    }
    ing->maint_started = 1;
    *out = ing;
    return 0;
error:
    ocl_ingest_close(ing);
    return rc ? rc : OCL_EIO;
}

void ocl_ingest_close(ocl_ingest_t *ing)
{
    if (!ing) return;
    if (ing->maint_started) {
        pthread_mutex_lock(&ing->mu);
        ing->stop = 1;
        pthread_cond_signal(&ing->cv);
        pthread_mutex_unlock(&ing->mu);
        pthread_join(ing->maint, NULL);
    }
    ocl_sm_unregister(wal_collect, ing);
    /* Cut what the heads hold so that the next start replays little. */
    if (ing->tenants && ing->maint_started) maintain_all(ing, 1);
    ocl_tenants_close(ing->tenants);
    ocl_mingest_close(ing->metrics);
    for (int s = 0; s < OCL_SIGNAL_COUNT; s++)
        if (ing->wal[s]) {
            ocl_wal_sync(ing->wal[s]);
            ocl_wal_close(ing->wal[s]);
        }
    pthread_mutex_destroy(&ing->mu);
    pthread_cond_destroy(&ing->cv);
    pthread_rwlock_destroy(&ing->append_lk);
    free(ing->data_dir);
    free(ing);
}

int ocl_ingest_admit(ocl_ingest_t *ing, ocl_signal_t sig)
{
    if (sig != OCL_SIGNAL_TRACES) return 0;
    return live_bytes(ing, NULL) > ing->max_memory ? OCL_EBUSY : 0;
}

int ocl_ingest_write(ocl_ingest_t *ing, ocl_signal_t sig, ocl_str_t tenant, const void *pb,
                     size_t len, const void *req, ocl_ingest_result_t *res)
{
    unsigned char prefix[1 + OCL_TENANT_MAX_LEN];
    res->rejected = 0;
    res->reason = NULL;
    if (!ocl_tenant_id_valid(tenant)) {
        res->reason = "invalid X-Scope-OrgID: 1-150 characters of [A-Za-z0-9!-_.*'()]";
        return OCL_EINVAL;
    }
    /* Metrics are translated and go through the metrics WAL (ADR 0005). */
    if (sig == OCL_SIGNAL_METRICS) return ocl_mingest_write_otlp(ing->metrics, tenant, req, res);
    prefix[0] = (unsigned char)tenant.n;
    if (tenant.n) memcpy(prefix + 1, tenant.p, tenant.n);
    ocl_tracestore_t *ts = NULL;
    if (sig == OCL_SIGNAL_TRACES) {
        int trc = ocl_tenants_get(ing->tenants, tenant, 1, &ts);
        if (trc == OCL_ETOOBIG) {
            res->reason = "tenant limit reached (256 tenants)";
            return OCL_EINVAL;
        }
        if (trc != 0) return OCL_EIO;
        if (live_bytes(ing, NULL) > ing->max_memory) return OCL_EBUSY;
    }
    uint64_t seq = 0;
    int rc = 0;
    pthread_rwlock_rdlock(&ing->append_lk);
    if (ocl_wal_append2(ing->wal[sig], (uint8_t)sig, prefix, 1 + tenant.n, pb, len, &seq) != 0) {
        rc = OCL_EIO;
        goto done;
    }
    switch (sig) {
    case OCL_SIGNAL_TRACES: {
        size_t rejected = 0;
        /* On OCL_EBUSY the record is in the WAL but the client is told to
         * retry: it was not acknowledged, and reads dedupe the replay. */
        rc = ocl_tracestore_add(ts, req, seq, &rejected);
        uint64_t last = __atomic_load_n(&ing->last_trace_seq, __ATOMIC_RELAXED);
        while (seq > last && !__atomic_compare_exchange_n(&ing->last_trace_seq, &last, seq, 1,
                                                          __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        }
        res->rejected = (int64_t)rejected;
        if (rejected) res->reason = "invalid trace or span id (must be 16 and 8 non-zero bytes)";
        break;
    }
    case OCL_SIGNAL_METRICS: /* handled above */
    case OCL_SIGNAL_LOGS:
        break;
    }
done:
    pthread_rwlock_unlock(&ing->append_lk);
    return rc;
}

ocl_tracestore_t *ocl_ingest_trace_store(ocl_ingest_t *ing, ocl_str_t tenant)
{
    ocl_tracestore_t *ts;
    return ocl_tenants_get(ing->tenants, tenant, 0, &ts) == 0 ? ts : NULL;
}

void ocl_ingest_replay_stats(ocl_ingest_t *ing, ocl_replay_stats_t *out)
{
    *out = ing->replay;
}

int ocl_ingest_write_prom(ocl_ingest_t *ing, ocl_str_t tenant, const ocl_prom_batch_t *b,
                          const void *pb, size_t pb_len, ocl_tsdb_append_result_t *res)
{
    return ocl_mingest_write_prom(ing->metrics, tenant, b, pb, pb_len, res);
}

ocl_tsdb_t *ocl_ingest_tsdb(ocl_ingest_t *ing, ocl_str_t tenant, bool create)
{
    return ocl_mingest_tsdb(ing->metrics, tenant, create);
}

void ocl_ingest_rw_limits(ocl_ingest_t *ing, ocl_rw_limits_t *lim, uint64_t *max_bytes)
{
    ocl_rw_limits_default(lim);
    if (ing->cfg.rw_max_label_name_len) lim->max_label_name_len = ing->cfg.rw_max_label_name_len;
    if (ing->cfg.rw_max_label_value_len) lim->max_label_value_len = ing->cfg.rw_max_label_value_len;
    if (ing->cfg.rw_max_labels) lim->max_labels = ing->cfg.rw_max_labels;
    *max_bytes = ing->cfg.rw_max_bytes ? ing->cfg.rw_max_bytes : (20u << 20);
}
