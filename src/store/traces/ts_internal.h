/*
 * ts_internal.h — shared internals of the trace store: the in-memory head
 * (tracestore.c) and the immutable segment files (segment.c).
 *
 * Invariants: a head's raw span bytes live in per-shard chunks that never
 * move once written (chunk pointers are stable, only the array of them
 * grows); dictionary entries are individually allocated and immutable, so a
 * pointer to one stays valid for the head's life. A head that is being cut
 * receives no more adds (the store swaps heads under its write lock).
 *
 * Workload: millions of span adds per second into the head; rare lookups.
 */
#ifndef OCL_TS_INTERNAL_H
#define OCL_TS_INTERNAL_H

#include "store/traces/tracestore.h"

#include <pthread.h>

#define TS_SHARDS 64
#define TS_CHUNK (256u << 10)        /* per-shard raw-span chunk size */
#define TS_BLOCK_TARGET (256u << 10) /* segment block size (uncompressed) */

/* An interned resource or scope: raw protobuf bytes + schema url. */
typedef struct {
    const uint8_t *raw; /* bytes of the Resource / InstrumentationScope (after this struct) */
    const uint8_t *url; /* schema_url bytes (after raw) */
    uint32_t raw_len;   /* length of raw */
    uint32_t url_len;   /* length of url */
    uint64_t hash;      /* hash of raw and url */
} ts_dent_t;

/* Interning table (one for resources, one for scopes, per head). */
typedef struct {
    pthread_mutex_t mu; /* guards all fields */
    ts_dent_t **v;      /* entries by id; each malloc'd once, immutable */
    uint32_t n;         /* entries used */
    uint32_t cap;       /* entries allocated in v */
    uint32_t *slots;    /* open addressing: id + 1, 0 = empty */
    uint32_t mask;      /* slots size - 1 (power of two) */
} ts_dict_t;

/* One span in the head. */
typedef struct {
    uint32_t res;       /* resource id (head dictionary) */
    uint32_t scope;     /* scope id (head dictionary) */
    uint32_t chunk;     /* shard chunk holding the raw bytes */
    uint32_t off;       /* offset of the raw bytes in the chunk */
    uint32_t len;       /* raw span length */
    uint8_t span_id[8]; /* span id (dedupe key) */
    uint64_t start;     /* start_time_unix_nano */
    uint64_t end;       /* end_time_unix_nano */
} ts_ref_t;

/* One trace in the head. */
typedef struct {
    uint8_t id[16]; /* trace id */
    uint64_t hash;  /* XXH3 of id (shard + slot) */
    ts_ref_t *refs; /* spans in arrival order (malloc, geometric growth) */
    uint32_t n;     /* spans used */
    uint32_t cap;   /* spans allocated */
} ts_trace_t;

typedef struct {
    pthread_mutex_t mu; /* guards the shard */
    ts_trace_t *traces; /* dense array of traces */
    uint32_t ntraces;   /* traces used */
    uint32_t captraces; /* traces allocated */
    uint32_t *slots;    /* open addressing: trace index + 1, 0 = empty */
    uint32_t mask;      /* slots size - 1 */
    uint8_t **chunks;   /* raw span byte chunks (stable pointers) */
    uint32_t nchunks;   /* chunks used */
    uint32_t capchunks; /* chunk pointers allocated */
    uint32_t used;      /* bytes used in the last chunk */
    uint32_t last_cap;  /* size of the last chunk */
} __attribute__((aligned(64))) ts_shard_t;

typedef struct {
    ts_shard_t shards[TS_SHARDS]; /* by trace id hash */
    ts_dict_t res;                /* interned resources */
    ts_dict_t scope;              /* interned scopes */
    uint64_t bytes;               /* approx. bytes held (atomic) */
    uint64_t spans;               /* spans held (atomic) */
    uint64_t traces;              /* traces held (atomic) */
    uint64_t first_mono;          /* monotonic ns of the first add, 0 none (atomic) */
    uint64_t min_seq;             /* lowest WAL seq added, UINT64_MAX none (atomic) */
    uint64_t max_seq;             /* highest WAL seq added (atomic) */
    uint64_t min_time;            /* lowest span start, UINT64_MAX none (atomic) */
    uint64_t max_time;            /* highest span start (atomic) */
} ts_head_t;

/* A span gathered by a lookup, pointing at memory valid during the get. */
typedef struct {
    const ts_dent_t *res;   /* resource */
    const ts_dent_t *scope; /* scope */
    const uint8_t *raw;     /* span bytes */
    uint32_t len;           /* span length */
    uint32_t order;         /* gather order (first wins on dedupe) */
    uint8_t span_id[8];     /* dedupe key */
} ts_item_t;

typedef struct {
    ts_item_t *v;   /* items */
    size_t n;       /* items used */
    size_t cap;     /* items allocated */
    void **bufs;    /* decompressed blocks kept alive for the items */
    size_t nbufs;   /* buffers used */
    size_t capbufs; /* buffers allocated */
} ts_gather_t;

ts_item_t *ocl_tsgather_push(ts_gather_t *g);
void ocl_tsgather_keep(ts_gather_t *g, void *buf);

/* Immutable segment opened for reading (segment.c). */
typedef struct ts_seg {
    uint64_t id;          /* file number */
    char *path;           /* file path (owned) */
    int fd;               /* open only while ocl_tseg_open runs; -1 after */
    void *map;            /* mmap of the metadata region (page aligned) */
    size_t map_len;       /* bytes mapped; 0 = nothing mapped */
    uint8_t *heap_meta;   /* metadata read with pread when mmap failed (owned), or NULL */
    uint64_t file_bytes;  /* file size */
    uint64_t raw_bytes;   /* span bytes once decompressed (sum of block sizes) */
    uint64_t min_time;    /* lowest span start */
    uint64_t max_time;    /* highest span start */
    uint64_t spans;       /* span count */
    uint64_t ntraces;     /* trace count (index entries) */
    uint64_t min_seq;     /* lowest WAL seq of its spans */
    uint64_t max_seq;     /* highest WAL seq of its spans */
    uint64_t from_lo;     /* compaction: lowest segment id it replaces (0 = a plain cut) */
    uint64_t from_hi;     /* compaction: highest segment id it replaces (0 = a plain cut) */
    uint8_t *meta;        /* dict + index + block table, inside map or heap_meta */
    ts_dent_t *res;       /* resources (point into meta) */
    uint32_t nres;        /* resource count */
    ts_dent_t *scope;     /* scopes (point into meta) */
    uint32_t nscope;      /* scope count */
    const uint8_t *index; /* ntraces entries of 28 bytes */
    const uint8_t *btab;  /* nblocks entries of 16 bytes */
    uint64_t nblocks;     /* block count */
} ts_seg_t;

/* Writes head `h` as segment `id` in `dir` (tmp + fsync + rename + fsync
 * dir) and opens it. A compaction passes the range of segment ids the new
 * file replaces in from_lo..from_hi (both 0 for a cut). */
int ocl_tseg_write(const char *dir, uint64_t id, ts_head_t *h, uint64_t from_lo, uint64_t from_hi,
                   ts_seg_t **out);
/* Opens and validates a segment file (OCL_ECORRUPT when it is bad). */
int ocl_tseg_open(const char *path, uint64_t id, ts_seg_t **out);
/* Appends the spans of `trace_id` to g. 0, OCL_ENOTFOUND or OCL_ECORRUPT. */
int ocl_tseg_lookup(ts_seg_t *s, const uint8_t trace_id[16], ts_gather_t *g, uint32_t *order);
/* Closes (and with `remove`, deletes) the segment. */
void ocl_tseg_close(ts_seg_t *s, int remove);

/* Called for every span record of a segment, in index (trace id) order:
 * `trace_id` (16 bytes), resource and scope as indices into s->res and
 * s->scope (checked), span id (8 bytes), raw span bytes. Everything points
 * into memory valid only during the call. Start/end times are not stored
 * per span in a segment. A non-zero return stops the walk and is returned. */
typedef int (*ocl_tseg_span_fn)(void *arg, const uint8_t *trace_id, uint32_t res, uint32_t scope,
                                const uint8_t *span_id, const uint8_t *raw, uint32_t len);
/* Walks every span of `s` (each block read and decompressed once).
 * 0, OCL_EIO, OCL_ECORRUPT or the callback's return. */
int ocl_tseg_foreach(ts_seg_t *s, ocl_tseg_span_fn fn, void *arg);
/* Test hook: non-zero makes ocl_tseg_open read metadata with pread as if
 * mmap had failed. */
extern int ocl_tseg_force_pread;

/* ---- the head, shared by ingest (tracestore.c) and compaction ---- */

ts_head_t *ocl_tshead_create(void);
void ocl_tshead_destroy(ts_head_t *h);
/* Interns a resource (`scope` 0) or scope (`scope` 1) into h; returns its id. */
uint32_t ocl_tshead_intern(ts_head_t *h, int scope, const ts_dent_t *e);
/* Appends one span to h exactly as ocl_tracestore_add does (same shard,
 * trace, chunk and accounting code), without touching the time/seq
 * counters (the caller sets those). res/scope are ids from
 * ocl_tshead_intern. */
void ocl_tshead_add_span(ts_head_t *h, const uint8_t *trace_id, uint32_t res, uint32_t scope,
                         const uint8_t *span_id, const uint8_t *raw, uint32_t len, uint64_t start,
                         uint64_t end);

/* ---- compaction (compact.c) ---- */

/* Merges input segments in[0..n) (consecutive, sorted by id) into one new
 * segment with id `id` in `dir`, spans deduplicated by (trace id, span id),
 * carrying the id range it replaces (see compact.c), whose low end is
 * clamped to `floor` (the id of the newest live segment older than the run
 * + 1, or 0). Does not touch the inputs. */
int ocl_tscompact_merge(const char *dir, uint64_t id, uint64_t floor, ts_seg_t *const *in, size_t n,
                        ts_seg_t **out);
/* Divisor of the retention: the max times of a run's segments differ by at
 * most retention / COMPACT_SPREAD_DIV. */
#define COMPACT_SPREAD_DIV 16
/* Policy: picks the run to merge from segs[0..n) (sorted by id) into
 * [*lo, *hi), max times within max_spread ns; returns 0 when there is
 * nothing to do. */
int ocl_tscompact_pick(ts_seg_t *const *segs, size_t n, uint64_t max_spread, size_t *lo,
                       size_t *hi);

#endif
