/*
 * ingest_metrics.h — the metrics half of the ingest pipeline (internal to
 * pipeline/ingest.c; the public entry points are in ingest.h): one TSDB per
 * tenant under data-dir/metrics/<tenant>/ (the default tenant in
 * data-dir/metrics/@default/, a name no tenant id can take), the metrics WAL
 * as the durability point of every metrics path, its replay and its
 * truncation. Design: docs/adr/0005-metrics-ingest.md.
 *
 * WAL records (type OCL_WAL_PROM_SNAPPY):
 *     u8 tenant_len | tenant | snappy(remote-write WriteRequest)
 * — a remote-write body is logged exactly as it arrived (no re-encoding,
 * ~10x smaller than the uncompressed request), other batches are encoded
 * and compressed here. Type OCL_WAL_PROM_RECORD (the same, uncompressed)
 * is still replayed. Records are written under the tenant's append lock right after the TSDB append, so
 * WAL order equals head order per tenant. Records of type
 * OCL_SIGNAL_METRICS are version 0.1's (u8 tenant_len | tenant | OTLP
 * ExportMetricsServiceRequest): replay translates them the same way the
 * receiver does today and they are truncated like the new ones.
 *
 * Truncation: appends are accounted in buckets (one per second of wall
 * time, opened by the first append of the second) holding their WAL seq range and,
 * per tenant written, the max sample time of its records. A bucket is obsolete
 * once each tenant's max time is below that tenant's
 * ocl_tsdb_persisted_before(); WAL segments below the
 * lowest seq of any live bucket are deleted.
 *
 * Thread-safety: every function is safe from any thread; appends of one
 * tenant are serialised by its lock, tenants run in parallel.
 */
#ifndef OCL_INGEST_METRICS_H
#define OCL_INGEST_METRICS_H

#include "pipeline/ingest.h"
#include "wire/remote_write.h"

/* WAL record type of a metrics record (the signals use 0..2). */
#define OCL_WAL_PROM_RECORD 16 /* uncompressed WriteRequest (read only) */
#define OCL_WAL_PROM_SNAPPY 17 /* snappy-compressed WriteRequest */
/* Samples later than wall clock + this are refused (400, "too far in the
 * future"), as Mimir's creation grace period. */
#define OCL_METRICS_MAX_FUTURE_MS (10 * 60 * 1000)
/* Bound on a record's decompressed WriteRequest at replay (a record is at
 * most one request body, itself bounded far lower by the receivers). */
#define OCL_WAL_PROM_MAX_RAW (512u << 20)

typedef struct ocl_mingest ocl_mingest_t;

typedef struct {
    const char *data_dir;   /* root data directory */
    ocl_wal_t *wal;         /* the metrics WAL (owned by the caller) */
    bool sync_after;        /* fsync policy "always": sync after the tenant lock */
    ocl_tsdb_opts_t tsdb;   /* per-tenant options (dir is replaced) */
    uint64_t idle_flush_ms; /* flush a tenant head that holds the WAL back this long
                             * (0 = 4 h) */
} ocl_mingest_cfg_t;

int ocl_mingest_open(const ocl_mingest_cfg_t *cfg, ocl_mingest_t **out);
void ocl_mingest_close(ocl_mingest_t *m);

/* Replays one metrics WAL record (either type). Returns 0 (bad records are
 * counted, not fatal) or an error when a tenant store cannot be opened. */
int ocl_mingest_replay(ocl_mingest_t *m, uint8_t type, uint64_t seq, const void *p, size_t len,
                       ocl_arena_t *a);
/* Replay counters: records, bad records, samples the TSDB refused. */
void ocl_mingest_replay_counts(ocl_mingest_t *m, uint64_t *records, uint64_t *bad,
                               uint64_t *rejected);

int ocl_mingest_write_prom(ocl_mingest_t *m, ocl_str_t tenant, const ocl_prom_batch_t *b,
                           const void *pb, size_t pb_len, ocl_tsdb_append_result_t *res);
/* Translates and writes an OTLP request (ocl_ingest_write for metrics). */
int ocl_mingest_write_otlp(ocl_mingest_t *m, ocl_str_t tenant, const ocl_metrics_req_t *req,
                           ocl_ingest_result_t *res);
ocl_tsdb_t *ocl_mingest_tsdb(ocl_mingest_t *m, ocl_str_t tenant, bool create);
/* Per-tenant TSDB maintenance, WAL truncation, new accounting bucket. */
void ocl_mingest_maintain(ocl_mingest_t *m);
/* Starts the maintenance thread (after replay): ocl_mingest_maintain once
 * a second. A thread of its own because cutting and compacting blocks can
 * take seconds, which must not delay the trace heads' cuts. */
int ocl_mingest_start(ocl_mingest_t *m);

#endif
