/*
 * ingest.c — see ingest.h. Hot path: ocl_ingest_write, once per export
 * request (hundreds of records): one WAL append (writev of a small prefix
 * and the request bytes) and one trace-store add.
 */
#include "pipeline/ingest.h"

#include "api/selfmetrics.h"
#include "core/log.h"
#include "core/time.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

struct ocl_ingest {
    ocl_ingest_cfg_t cfg;                 /* copy of the configuration */
    char *data_dir;                       /* owned copy of cfg.data_dir */
    ocl_wal_t *wal[OCL_SIGNAL_COUNT];     /* one WAL per signal */
    ocl_tracestore_t *traces;             /* local trace store */
    pthread_rwlock_t append_lk;           /* read: a WAL append + store add pair in
                                           * flight; write: computing the checkpoint,
                                           * so no appended record is in neither the
                                           * WAL-covered heads nor a segment */
    pthread_t maint;                      /* maintenance thread */
    pthread_mutex_t mu;                   /* guards stop */
    pthread_cond_t cv;                    /* wakes the maintenance thread */
    int stop;                             /* set on close */
    int maint_started;                    /* maint is running */
    ocl_replay_stats_t replay;            /* what the last open replayed */
    uint64_t checkpoint;                  /* traces WAL records below are in segments
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

static int mkdir_p(const char *path)
{
    char tmp[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp) return OCL_EINVAL;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return OCL_EIO;
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return OCL_EIO;
    return 0;
}

typedef struct {
    ocl_ingest_t *ing; /* target */
    ocl_arena_t arena; /* per-record decode memory */
    unsigned since_maint; /* records replayed since the last maintain call */
} replay_ctx_t;

static int replay_record(uint8_t type, uint64_t seq, const void *payload, size_t len, void *ud)
{
    replay_ctx_t *rc = ud;
    ocl_ingest_t *ing = rc->ing;
    const unsigned char *p = payload;
    if (type >= OCL_SIGNAL_COUNT || len < 1 || (size_t)p[0] + 1 > len) {
        ing->replay.bad_records++;
        return 0;
    }
    ing->replay.records[type]++;
    if (type != OCL_SIGNAL_TRACES) return 0; /* kept in the WAL for later engines */
    if (seq < ing->checkpoint) {
        ing->replay.skipped++; /* already in a segment */
        return 0;
    }
    /* Replay ignores the memory limit, so cut as the head grows. */
    if (++rc->since_maint >= 256) {
        rc->since_maint = 0;
        ocl_tracestore_maintain(ing->traces, 0);
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
    if (ocl_tracestore_add(ing->traces, &req, seq, &rejected) == 0)
        ing->replay.spans += ocl_otlp_traces_count(&req) - rejected;
    return 0;
}

static void wal_collect(ocl_buf_t *out, void *ud)
{
    ocl_ingest_t *ing = ud;
    ocl_wal_stats_t st[OCL_SIGNAL_COUNT];
    for (int s = 0; s < OCL_SIGNAL_COUNT; s++) ocl_wal_stats(ing->wal[s], &st[s]);
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
        ocl_sm_histogram(out, "ocelot_wal_fsync_duration_seconds", labels,
                         ocl_wal_fsync_bounds_s, 11, st[s].fsync_ns_buckets,
                         st[s].fsync_ns_total / 1e9);
    }
    ocl_tracestore_stats_t ts;
    ocl_tracestore_stats(ing->traces, &ts);
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
    uint64_t seq = ocl_tracestore_durable_seq(ing->traces);
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
        if (ocl_tracestore_maintain(ing->traces, 0) == 0) checkpoint(ing);
        if (++tick % 100 == 0)
            for (int s = OCL_SIGNAL_METRICS; s < OCL_SIGNAL_COUNT; s++)
                ocl_wal_retain(ing->wal[s], ing->cfg.wal_retention_s, ing->cfg.wal_max_bytes);
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
    if ((rc = mkdir_p(ing->data_dir)) != 0) {
        ocl_error("cannot create data dir %s: %s", ing->data_dir, strerror(errno));
        goto error;
    }
    for (int s = 0; s < OCL_SIGNAL_COUNT; s++) {
        snprintf(path, sizeof path, "%s/wal/%s", ing->data_dir, ocl_signal_names[s]);
        if ((rc = mkdir_p(path)) != 0) goto error;
        ocl_wal_cfg_t wc = {.dir = path,
                            .fsync = cfg->fsync,
                            .interval_ms = ing->cfg.fsync_interval_ms};
        if ((rc = ocl_wal_open(&wc, &ing->wal[s])) != 0) {
            ocl_error("cannot open WAL %s: %s", path, ocl_strerror(rc));
            goto error;
        }
    }
    snprintf(path, sizeof path, "%s/traces", ing->data_dir);
    ocl_tracestore_cfg_t tc = {.dir = path,
                               .head_max_bytes = cfg->trace_head_bytes,
                               .head_max_age_s = cfg->trace_head_age_s,
                               .retention_s = ing->cfg.trace_retention_s,
                               .max_memory_bytes = cfg->max_memory_bytes};
    if ((rc = ocl_tracestore_open(&tc, &ing->traces)) != 0) {
        ocl_error("cannot open trace store %s: %s", path, ocl_strerror(rc));
        goto error;
    }
    uint64_t t0 = ocl_mono_nano();
    replay_ctx_t rctx = {.ing = ing};
    ocl_arena_init(&rctx.arena, 1 << 20);
    ing->checkpoint = checkpoint_load(ing);
    ocl_tracestore_set_replaying(ing->traces, 1);
    for (int s = 0; s < OCL_SIGNAL_COUNT && rc == 0; s++)
        rc = ocl_wal_replay(ing->wal[s], replay_record, &rctx);
    ocl_tracestore_set_replaying(ing->traces, 0);
    ocl_arena_dispose(&rctx.arena);
    if (rc != 0) goto error;
    ing->replay.nanos = ocl_mono_nano() - t0;
    ocl_sm_register(wal_collect, ing);
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
    if (ing->traces && ing->maint_started) {
        /* Cut what the head holds so that the next start replays little. */
        if (ocl_tracestore_maintain(ing->traces, 1) == 0) checkpoint(ing);
    }
    if (ing->traces) ocl_tracestore_close(ing->traces);
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

int64_t ocl_ingest_check_metrics(const ocl_metrics_req_t *req, const char **reason)
{
    int64_t bad = 0;
    for (uint32_t i = 0; i < req->n_rm; i++)
        for (uint32_t j = 0; j < req->rm[i].n_scope_metrics; j++)
            for (uint32_t k = 0; k < req->rm[i].scope_metrics[j].n_metrics; k++) {
                const ocl_metric_t *m = &req->rm[i].scope_metrics[j].metrics[k];
                if (m->name.n == 0) {
                    bad += m->n_dp;
                    if (reason && !*reason) *reason = "metric with empty name";
                } else if (m->type == OCL_METRIC_NONE) {
                    bad += 1;
                    if (reason && !*reason) *reason = "metric without data";
                }
            }
    return bad;
}

int ocl_ingest_write(ocl_ingest_t *ing, ocl_signal_t sig, ocl_str_t tenant, const void *pb,
                     size_t len, const void *req, ocl_ingest_result_t *res)
{
    unsigned char prefix[256];
    res->rejected = 0;
    res->reason = NULL;
    if (tenant.n > 255) tenant.n = 255;
    prefix[0] = (unsigned char)tenant.n;
    if (tenant.n) memcpy(prefix + 1, tenant.p, tenant.n);
    if (sig == OCL_SIGNAL_TRACES && ocl_tracestore_admit(ing->traces) != 0) return OCL_EBUSY;
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
        rc = ocl_tracestore_add(ing->traces, req, seq, &rejected);
        res->rejected = (int64_t)rejected;
        if (rejected) res->reason = "invalid trace or span id (must be 16 and 8 non-zero bytes)";
        break;
    }
    case OCL_SIGNAL_METRICS:
        res->rejected = ocl_ingest_check_metrics(req, &res->reason);
        break;
    case OCL_SIGNAL_LOGS:
        break;
    }
done:
    pthread_rwlock_unlock(&ing->append_lk);
    return rc;
}

ocl_tracestore_t *ocl_ingest_traces(ocl_ingest_t *ing) { return ing->traces; }

void ocl_ingest_replay_stats(ocl_ingest_t *ing, ocl_replay_stats_t *out) { *out = ing->replay; }
