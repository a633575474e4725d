/*
 * tracestore.h — trace storage, first version.
 *
 * Spans arrive as decoded OTLP requests (the `raw` protobuf bytes of each
 * span, scope and resource are kept verbatim: no re-encoding). The head
 * groups spans per trace id in memory (sharded, one mutex per shard);
 * resources and scopes are interned once per head. When the head is older
 * than `head_max_age_s` or larger than `head_max_bytes`, it is cut into an
 * immutable segment file: zstd-compressed blocks of spans ordered by trace
 * id, a sorted trace-id index with block references, min/max span time,
 * written to a temp name, fsynced and renamed. Segments past retention
 * (by their max time, relative to the newest data) are deleted whole.
 *
 * Durability is the WAL's job: every span in the head is also in the WAL;
 * after a cut, ocl_tracestore_durable_seq() tells the WAL sequence number
 * below which all records are in segments (the checkpoint). On start the
 * whole remaining traces WAL is replayed into the head; spans that were
 * also cut into a segment are deduplicated on read.
 *
 * Compaction (compact.c) merges runs of small segments into one once a
 * store holds more than 16, so a week of retention stays a bounded number
 * of files and mappings; a merged file records the ids it replaces and a
 * crash mid-way is repaired at open.
 *
 * Retention is relative to the newest span start time seen (as in
 * Prometheus), never the wall clock: a segment is dropped when its newest
 * span start is older than newest - retention_s. No per-segment bloom filter
 * yet: each segment's sorted trace-id index is in memory and binary-searched.
 *
 * Thread-safety: all functions are safe from any thread.
 * Workload: millions of spans/s ingest; rare lookups by trace id.
 */
#ifndef OCL_TRACESTORE_H
#define OCL_TRACESTORE_H

#include "core/buf.h"
#include "wire/otlp.h"

typedef struct ocl_tracestore ocl_tracestore_t;

typedef struct {
    const char *dir;           /* directory for segment files (created) */
    uint64_t head_max_bytes;   /* cut when the head holds this much (default 64 MiB) */
    uint32_t head_max_age_s;   /* cut when the oldest head data is this old (default 60 s) */
    uint64_t retention_s;      /* drop segments older than this (default 7 days) */
    uint64_t max_memory_bytes; /* ingest refuses (OCL_EBUSY) beyond this head size
                                  (default 4 × head_max_bytes) */
} ocl_tracestore_cfg_t;

int ocl_tracestore_open(const ocl_tracestore_cfg_t *cfg, ocl_tracestore_t **out);
void ocl_tracestore_close(ocl_tracestore_t *ts);

/* Adds every span with a valid trace id (16 bytes, not all zero) and span id
 * (8 bytes, not all zero) from `req`, tagged with WAL sequence `seq`.
 * REQUIRES protobuf-decoded requests: each span's `raw` (and the resource's
 * and scope's `raw`, which may be empty when the element was absent) must
 * hold the exact protobuf bytes; the store copies them verbatim and never
 * re-encodes. A span with an empty `raw` (a model built by hand or decoded
 * from JSON) is rejected like an invalid id — the receiver re-encodes JSON
 * requests to protobuf and decodes them again before calling add.
 * The store copies everything it keeps: `req` may be freed on return.
 * Returns the number of spans rejected in *rejected (may be NULL).
 * Returns 0 or OCL_EBUSY (head over max_memory_bytes; nothing added). */
int ocl_tracestore_add(ocl_tracestore_t *ts, const ocl_traces_req_t *req, uint64_t seq,
                       size_t *rejected);

/* WAL replay: while on, ocl_tracestore_add ignores the memory limit (the
 * data was acknowledged; refusing it would lose it). The replayer cuts the
 * head itself with ocl_tracestore_maintain as it grows. */
void ocl_tracestore_set_replaying(ocl_tracestore_t *ts, int on);

/* Checks, without adding, whether the store accepts more data now. */
int ocl_tracestore_admit(ocl_tracestore_t *ts);

/* Looks a trace up in the head and every segment and writes it to `out`
 * (appended) as a protobuf TracesData / ExportTraceServiceRequest: spans
 * grouped by resource and scope, each span once (spans replayed from the
 * WAL that are also in a segment are deduplicated by span id; the newest
 * copy wins: head, then the head being cut, then segments newest first).
 * Every ResourceSpans carries field 1 (the resource, possibly empty) and
 * every ScopeSpans field 1 (the scope, possibly empty); schema_url fields
 * only when non-empty. Spans keep their arrival order within a group.
 * Returns 0 or OCL_ENOTFOUND. */
int ocl_tracestore_get(ocl_tracestore_t *ts, const uint8_t trace_id[16], ocl_buf_t *out);

/* Housekeeping (called periodically): cuts the head when due, merges at
 * most one run of small segments (compact.c), applies retention. `force`
 * cuts whatever the head holds (shutdown). */
int ocl_tracestore_maintain(ocl_tracestore_t *ts, int force);

/* Lowest WAL seq held only by the heads (head and cutting head), or
 * UINT64_MAX when they hold nothing: used to combine several stores that
 * share one WAL. */
uint64_t ocl_tracestore_min_head_seq(ocl_tracestore_t *ts);
/* Bytes held by the heads now (what admission compares with the limit). */
uint64_t ocl_tracestore_live_bytes(ocl_tracestore_t *ts);

/* Every WAL record with seq < the returned value is in segments: the
 * lowest seq still only in memory, or (heads empty) the highest seq added
 * (or found in segments at open) + 1. */
uint64_t ocl_tracestore_durable_seq(ocl_tracestore_t *ts);

typedef struct {
    uint64_t head_spans;    /* spans in the head */
    uint64_t head_traces;   /* traces in the head */
    uint64_t head_bytes;    /* bytes held by the head */
    uint64_t segments;      /* segment files */
    uint64_t segment_bytes; /* bytes in segment files */
    uint64_t spans_stored;  /* spans added since open */
    uint64_t cuts;          /* head cuts since open */
    uint64_t compactions;   /* segment merges since open */
} ocl_tracestore_stats_t;
void ocl_tracestore_stats(ocl_tracestore_t *ts, ocl_tracestore_stats_t *out);

#endif
