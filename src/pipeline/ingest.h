/*
 * ingest.h — where receivers hand over decoded telemetry: the durability
 * point (WAL append, then acknowledge) and the fan-out into the local
 * stores. One ingest object serves all receivers and worker threads.
 *
 * Tenants (X-Scope-OrgID) share the WALs; each has its own trace store
 * (pipeline/tenants.h), and the memory limit covers all of them together.
 * Per signal there is one WAL (data-dir/wal/<signal>/). Each traces and
 * logs record is
 *     u8 tenant_len | tenant bytes | ExportXServiceRequest protobuf
 * with the record type = the signal. Metrics from every path (OTLP after
 * translation, remote write, scrape) are Prometheus batches: each record
 * is u8 tenant_len | tenant | remote-write WriteRequest (record type 16);
 * they go into one TSDB per tenant (data-dir/metrics/<tenant>/) and the
 * metrics WAL is truncated once the TSDBs have persisted them (ADR 0005,
 * pipeline/ingest_metrics.h). Traces go on into the trace store and
 * the traces WAL is truncated once the store has cut them into segments.
 * wal/traces.checkpoint records the sequence number below which every
 * traces record is in a segment file: replay skips those records.
 * Logs stay in their WAL (replayed into the log engine when it exists),
 * bounded by the WAL retention settings.
 *
 * A maintenance thread cuts trace-store heads, checkpoints and applies
 * retention every second.
 * Thread-safety: every function is safe from any thread.
 */
#ifndef OCL_INGEST_H
#define OCL_INGEST_H

#include "store/traces/tracestore.h"
#include "store/wal/wal.h"
#include "store/metrics/tsdb.h"
#include "wire/otlp.h"
#include "wire/prom.h"
#include "wire/remote_write.h"

typedef struct ocl_ingest ocl_ingest_t;

typedef struct {
    const char *data_dir;             /* root data directory (created) */
    ocl_fsync_policy_t fsync;         /* WAL fsync policy */
    uint32_t fsync_interval_ms;       /* for OCL_FSYNC_INTERVAL */
    uint64_t trace_retention_s;       /* trace segment retention (0 = default 7 d) */
    uint64_t wal_retention_s;         /* logs WAL retention (0 = default 7 d) */
    uint64_t wal_max_bytes;           /* logs WAL size bound (0 = none) */
    uint64_t trace_head_bytes;        /* trace head cut size (0 = default) */
    uint32_t trace_head_age_s;        /* trace head cut age (0 = default) */
    uint64_t max_memory_bytes;        /* trace head memory limit (0 = default) */
    int64_t metrics_retention_ms;     /* TSDB retention by age (0 = 15 d) */
    uint64_t metrics_retention_bytes; /* TSDB retention by size per tenant (0 = none) */
    uint32_t metrics_max_series;      /* active series per tenant (0 = 1,000,000) */
    uint64_t rw_max_bytes;            /* remote-write body once decompressed (0 = 20 MiB) */
    uint32_t rw_max_label_name_len;   /* bytes (0 = 1024) */
    uint32_t rw_max_label_value_len;  /* bytes (0 = 2048) */
    uint32_t rw_max_labels;           /* labels per series incl. __name__ (0 = 30) */
    int64_t metrics_block_range_ms;   /* TSDB block range (0 = 2 h; tests use less) */
    uint64_t wal_segment_bytes;       /* WAL segment roll size (0 = 64 MiB; tests use less) */
} ocl_ingest_cfg_t;

typedef struct {
    int64_t rejected;   /* records rejected inside the accepted request */
    const char *reason; /* static text describing the first rejection, or NULL */
} ocl_ingest_result_t;

/* Opens the WALs and stores and replays the WALs. */
int ocl_ingest_open(const ocl_ingest_cfg_t *cfg, ocl_ingest_t **out);
void ocl_ingest_close(ocl_ingest_t *ing);

/* Appends one export request (protobuf bytes `pb`, already decoded into
 * `req` from exactly those bytes) of `tenant` ("" = default) to the
 * signal's WAL and then to the tenant's stores. Returns 0 (durable;
 * acknowledge), OCL_EINVAL (invalid tenant id or tenant limit; res->reason
 * says which; nothing written), OCL_EBUSY (over the memory limit; nothing
 * written) or OCL_EIO (WAL write failed). `req` must point
 * to an ocl_traces_req_t / ocl_metrics_req_t / ocl_logs_req_t per signal.
 * Metrics are translated to Prometheus series (pipeline/otlp2prom.h) and
 * written as by ocl_ingest_write_prom; `pb` is not used (may be empty);
 * res counts the data points refused (exponential histograms, samples the
 * TSDB refused) with a static reason, for OTLP's partial success. */
int ocl_ingest_write(ocl_ingest_t *ing, ocl_signal_t sig, ocl_str_t tenant, const void *pb,
                     size_t len, const void *req, ocl_ingest_result_t *res);

/* Cheap admission check before a request is decoded: OCL_EBUSY when the
 * trace heads are over the memory limit (decoding a request that will be
 * refused would spend the CPU the server lacks), else 0. */
int ocl_ingest_admit(ocl_ingest_t *ing, ocl_signal_t sig);

/* The trace store of `tenant` ("" = the default tenant), or NULL if that
 * tenant has none or the id is invalid. */
ocl_tracestore_t *ocl_ingest_trace_store(ocl_ingest_t *ing, ocl_str_t tenant);

/* Appends a batch of Prometheus samples (remote-write, scrape, translated
 * OTLP) for `tenant`: into the tenant's TSDB and then as one metrics WAL
 * record, both under the tenant's append lock so that WAL order equals
 * head order. `pb`/`pb_len`: the batch already encoded as a
 * snappy-compressed remote-write WriteRequest (the body as received), or
 * NULL to have it encoded and compressed here.
 * Returns 0 when the WAL append succeeded (res says which samples the TSDB
 * refused: the caller answers 400 for invalid samples, 429 for
 * series_limited, else success), OCL_EINVAL (invalid tenant; nothing
 * written) or OCL_EIO. */
int ocl_ingest_write_prom(ocl_ingest_t *ing, ocl_str_t tenant, const ocl_prom_batch_t *b,
                          const void *pb, size_t pb_len, ocl_tsdb_append_result_t *res);

/* The remote-write limits in force (defaults filled in). */
void ocl_ingest_rw_limits(ocl_ingest_t *ing, ocl_rw_limits_t *lim, uint64_t *max_bytes);

/* The metrics TSDB of `tenant` ("" = default), created on first use when
 * `create`; NULL if the tenant id is invalid or (create false) unknown. */
ocl_tsdb_t *ocl_ingest_tsdb(ocl_ingest_t *ing, ocl_str_t tenant, bool create);

/* Replay summary of the last open, for the startup log and tests. */
typedef struct {
    uint64_t records[OCL_SIGNAL_COUNT]; /* WAL records replayed per signal */
    uint64_t spans;                     /* spans re-added to the trace head */
    uint64_t bad_records;               /* intact records that failed to decode */
    uint64_t skipped;                   /* traces records below the checkpoint */
    uint64_t nanos;                     /* replay duration */
} ocl_replay_stats_t;
void ocl_ingest_replay_stats(ocl_ingest_t *ing, ocl_replay_stats_t *out);

#endif
