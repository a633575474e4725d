/*
 * tsdb.h — the metrics time-series database of one tenant: an in-memory
 * head (compressed chunks, symbol table, postings index) plus immutable
 * on-disk blocks cut from the head every block range (2 h) and compacted,
 * with retention by age (relative to the newest sample, as in Prometheus)
 * and by size. Formats: docs/FORMATS.md.
 *
 * Durability is NOT handled here: the pipeline's metrics WAL is the
 * durability point (pipeline/ingest.h). The pipeline replays the WAL into
 * the head at start and truncates the WAL below ocl_tsdb_persisted_before().
 *
 * Append rules (Prometheus's defaults): per series, samples must arrive in
 * time order. A sample at the same timestamp as the newest stored one is
 * ignored if its value is identical (bitwise) and rejected otherwise
 * ("duplicate sample for timestamp"); an older one is rejected
 * ("out of order sample"), and so is one older than the head's minimum
 * time once data has been persisted ("out of bounds"). Rejections are
 * counted per kind; the rest of the batch is stored.
 *
 * Thread-safety: every function may be called from any thread. Appends to
 * one tsdb are serialised by the caller when WAL order matters (the
 * pipeline holds a per-tenant lock); queries run concurrently with appends
 * and see a consistent snapshot of each series.
 */
#ifndef OCL_TSDB_H
#define OCL_TSDB_H

#include "core/arena.h"
#include "store/metrics/labels.h"
#include "wire/prom.h"

typedef struct ocl_tsdb ocl_tsdb_t;

typedef struct {
    const char *dir;          /* block directory (created); NULL = memory only, no blocks */
    int64_t block_range_ms;   /* head → block cut span (0 = 2 h) */
    int64_t retention_ms;     /* drop blocks whose max time is older than newest - this (0 = 15 d) */
    uint64_t retention_bytes; /* drop oldest blocks while blocks exceed this (0 = no size bound) */
    uint32_t max_series;      /* active (head) series limit (0 = 1,000,000) */
    int64_t max_future_ms;    /* refuse samples later than wall clock + this (0 = no bound) */
    uint32_t max_meta;        /* metadata families kept (0 = OCL_TSDB_MAX_META) */
} ocl_tsdb_opts_t;

/* Default bound on the metric families whose metadata is kept: beyond it,
 * metadata of new families is dropped (counted in stats.meta_dropped). */
#define OCL_TSDB_MAX_META 20000

int ocl_tsdb_open(const ocl_tsdb_opts_t *opts, ocl_tsdb_t **out);
/* Closes; does NOT persist the head (the WAL holds it). */
void ocl_tsdb_close(ocl_tsdb_t *db);

typedef struct {
    uint64_t appended;       /* samples stored */
    uint64_t duplicates;     /* identical re-sent samples, ignored (not an error) */
    uint64_t out_of_order;   /* rejected: older than the series' newest sample */
    uint64_t dup_conflict;   /* rejected: same timestamp, different value */
    uint64_t out_of_bounds;  /* rejected: older than the head's minimum time */
    uint64_t series_limited; /* rejected: samples of new series over max_series */
    uint64_t new_series;     /* series created by this batch */
    uint64_t too_new;        /* of out_of_bounds: later than wall clock + max_future_ms */
    int64_t max_valid_t;     /* the future bound applied (INT64_MAX: none, as in replay) */
    char first_error[192];   /* Prometheus-style message for the first rejection, "" if none */
} ocl_tsdb_append_result_t;

/* Appends every sample of the batch and stores its metadata. Always stores
 * what it can; returns 0, or OCL_EINVAL for a batch that breaks the
 * invariants of wire/prom.h (nothing stored). `res` may be NULL. */
int ocl_tsdb_append(ocl_tsdb_t *db, const ocl_prom_batch_t *b, ocl_tsdb_append_result_t *res);

/* ocl_tsdb_append for WAL replay: the series limit does not apply (the
 * samples were acknowledged when the limit held for a head that was being
 * cut; a replayed head is not cut until replay ends), nor does the
 * max_future_ms bound (the samples were acknowledged against the wall
 * clock of their time; if the clock went back since, they would be lost).
 * The pipeline therefore logs only the samples that passed both (see
 * too_new, series_limited). */
int ocl_tsdb_append_replay(ocl_tsdb_t *db, const ocl_prom_batch_t *b,
                           ocl_tsdb_append_result_t *res);

/* The newest sample of the series with exactly these labels in the head:
 * 0 and *t, *v set, or OCL_ENOTFOUND. (Delta-to-cumulative translation
 * continues from it.) */
int ocl_tsdb_last_sample(ocl_tsdb_t *db, const ocl_labels_t *ls, int64_t *t, double *v);

/* One selected series with its samples in [mint, maxt] (both inclusive),
 * ascending by time, staleness markers included. */
typedef struct {
    ocl_labels_t labels; /* owned by the arena passed to the call */
    const int64_t *t;    /* timestamps (ms), arena-owned */
    const double *v;     /* values, arena-owned */
    uint32_t n;          /* number of samples (may be 0 when no_samples) */
} ocl_series_t;

/* Selects the series matching ALL `ms` (at least one matcher must not match
 * the empty string, else OCL_EINVAL) that have samples in [mint, maxt], and
 * copies labels and samples into `a`. Result sorted by labels
 * (ocl_labels_cmp). Loading more than `max_samples` samples in total
 * (0 = unlimited) stops with OCL_ETOOBIG. A regex matcher that hits its
 * backtracking bound on some label value fails the call with
 * OCL_EREGEX_LIMIT (labels.h) — so do ocl_tsdb_series and the label
 * queries with matchers. */
int ocl_tsdb_select(ocl_tsdb_t *db, const ocl_matcher_t *ms, size_t n_ms, int64_t mint,
                    int64_t maxt, uint64_t max_samples, ocl_arena_t *a, ocl_series_t **out,
                    size_t *n_out);

/* Like ocl_tsdb_select but labels only (n = 0, t = v = NULL): the series
 * that have at least one sample in [mint, maxt]. n_ms may be 0 (all series).
 * At most `limit` series (0 = unlimited); *truncated set if more existed. */
int ocl_tsdb_series(ocl_tsdb_t *db, const ocl_matcher_t *ms, size_t n_ms, int64_t mint,
                    int64_t maxt, size_t limit, ocl_arena_t *a, ocl_series_t **out,
                    size_t *n_out, bool *truncated);

/* Sorted distinct label names of the series matching `ms` (n_ms may be 0)
 * with samples in [mint, maxt]. Strings are copied into `a`. */
int ocl_tsdb_label_names(ocl_tsdb_t *db, const ocl_matcher_t *ms, size_t n_ms, int64_t mint,
                         int64_t maxt, ocl_arena_t *a, ocl_str_t **out, size_t *n_out);
/* Sorted distinct values of label `name` over the same selection. */
int ocl_tsdb_label_values(ocl_tsdb_t *db, ocl_str_t name, const ocl_matcher_t *ms, size_t n_ms,
                          int64_t mint, int64_t maxt, ocl_arena_t *a, ocl_str_t **out,
                          size_t *n_out);

/* Latest metadata per metric family, sorted by family; `metric` empty =
 * all; at most `limit` families (0 = all). Copied into `a`.
 * Metadata is kept per family (latest type, help, unit), at most max_meta
 * families; a family not received again while the database's newest
 * sample advanced by more than the retention is dropped by maintenance.
 * With a directory it is persisted in the "metadata" file (written by
 * maintenance when it changed), so it outlives the WAL records that
 * carried it. */
int ocl_tsdb_metadata(ocl_tsdb_t *db, ocl_str_t metric, size_t limit, ocl_arena_t *a,
                      ocl_prom_meta_t **out, size_t *n_out);

/* Background work, called by the pipeline's maintenance thread: cut head
 * data older than (head max time - 1.5 × block range) into a block (tmp dir,
 * fsync, rename), compact blocks, apply retention, drop series without
 * samples in the head. Cheap when there is nothing to do. */
int ocl_tsdb_maintain(ocl_tsdb_t *db);
/* Persists the whole head into blocks (tests, shutdown if desired). */
int ocl_tsdb_flush(ocl_tsdb_t *db);
/* Every sample with t < the returned time is in a block on disk
 * (INT64_MIN when nothing has been persisted). WAL records whose samples
 * are all older may be deleted. */
int64_t ocl_tsdb_persisted_before(ocl_tsdb_t *db);

typedef struct {
    uint64_t head_series;    /* series in the head */
    uint64_t head_samples;   /* samples in the head */
    uint64_t head_chunks;    /* chunks in the head */
    uint64_t head_bytes;     /* memory used by the head (approximate) */
    int64_t head_min_t;      /* head time range (INT64_MAX/MIN when empty) */
    int64_t head_max_t;      /*  */
    uint64_t blocks;         /* blocks on disk */
    uint64_t block_bytes;    /* bytes of blocks on disk */
    uint64_t block_samples;  /* samples in blocks */
    int64_t min_t, max_t;    /* whole database time range */
    uint64_t meta_families;  /* metadata families kept */
    uint64_t meta_dropped;   /* new families refused over max_meta */
} ocl_tsdb_stats_t;
void ocl_tsdb_stats(ocl_tsdb_t *db, ocl_tsdb_stats_t *st);

#endif
