/*
 * tsdb_int.h — internals of the metrics TSDB shared by its files:
 * tsdb.c (public API, locking, queries), head.c (in-memory head: series
 * map, chunks, append, truncation), block.c (on-disk blocks: writer,
 * reader), compact.c (head → block cut, compaction, retention) and
 * state.c (small state files next to the blocks: metadata, watermark).
 *
 * Locking: `lock` (rwlock, writers preferred) protects the head, the block
 * list and the metadata; appends and structural changes take it for
 * writing, queries for reading while they reference blocks and copy head
 * data (see tsdb.c). `maint` serialises ocl_tsdb_maintain/flush, which do
 * their slow I/O (writing a block, compacting) without holding `lock`:
 * blocks are immutable, only maintenance removes them from the list (under
 * the write lock) and the last reference closes them.
 */
#ifndef OCL_TSDB_INT_H
#define OCL_TSDB_INT_H

#include "store/metrics/chunk.h"
#include "store/metrics/index.h"
#include "store/metrics/tsdb.h"

#include <pthread.h>
#include <stdlib.h>

/* One head series. Allocated with its label pairs inline. */
typedef struct {
    uint64_t hash;       /* ocl_labels_hash of the labels */
    uint32_t id;         /* current id (index in head.series, postings) */
    uint32_t nlab;       /* number of labels */
    ocl_chunk_t *chunks; /* chunks by time; the last one is open */
    uint32_t nchunks;    /* chunks in use */
    uint32_t capchunks;  /* allocated */
    int64_t cut_at;      /* the open chunk ends before this block-range boundary */
    ocl_chunk_app_t app; /* encoder state of the open chunk */
    uint32_t bloblen;    /* bytes of the label blob */
    /* (name symbol, value symbol) × nlab, sorted by name; followed by the
     * label blob: per label varint name length, name, varint value length,
     * value — one contiguous copy for cheap comparison and copying */
    uint32_t lab[];
} ocl_hseries_t;

typedef struct {
    ocl_symtab_t syms;      /* label strings */
    ocl_postings_t post;    /* inverted index over series ids */
    ocl_hseries_t **series; /* by id */
    uint32_t nseries;       /* live series (ids 0..nseries-1) */
    uint32_t capseries;     /* allocated */
    ocl_hseries_t **map;    /* hash table of series (NULL = empty), linear probing */
    uint32_t nmap;          /* slots, power of two */
    int64_t mint;           /* oldest sample (INT64_MAX when empty) */
    int64_t maxt;           /* newest sample (INT64_MIN when empty) */
    uint64_t nsamples;      /* samples held */
    uint64_t nchunks;       /* chunks held */
    int64_t range;          /* block range (chunks never straddle a multiple of it) */
} ocl_head_t;

static inline const uint8_t *ocl_hseries_blob(const ocl_hseries_t *s)
{
    return (const uint8_t *)(s->lab + 2 * s->nlab);
}

typedef struct ocl_block ocl_block_t;

/* Metadata of one family (strings owned, one allocation). */
typedef struct {
    ocl_prom_meta_t m; /* family, type, help, unit */
    char *mem;         /* owns the strings */
    int64_t seen;      /* newest sample time of the database when last received */
} ocl_meta_ent_t;

struct ocl_tsdb {
    ocl_tsdb_opts_t opts;     /* effective options (dir points to `dir`) */
    char *dir;                /* block directory, NULL for memory only */
    pthread_rwlock_t lock;    /* see file comment */
    pthread_mutex_t maint;    /* serialises maintenance */
    ocl_head_t head;          /* in-memory head */
    ocl_block_t **blocks;     /* on-disk blocks sorted by mint */
    uint32_t nblocks;         /* count */
    ocl_meta_ent_t *meta;     /* sorted by family */
    uint32_t nmeta;           /* count */
    uint32_t capmeta;         /* allocated */
    bool meta_dirty;          /* metadata changed since the metadata file was written */
    uint64_t meta_dropped;    /* new families refused over max_meta */
    int64_t min_valid_t;      /* samples below are out of bounds (INT64_MIN: none) */
    int64_t persisted_before; /* every sample below is in a block (or expired) */
    int64_t wm_saved;         /* value in the watermark file (INT64_MIN: none); under `maint` */
};

/* ---- tsdb.c / state.c: metadata ---- */
/* Stores (or refreshes) one family's metadata; `seen` as in ocl_meta_ent_t.
 * Write lock held (or the database not yet shared). */
void ocl_tsdb_meta_put(ocl_tsdb_t *db, const ocl_prom_meta_t *m, int64_t seen);
/* Writes the metadata file if the metadata changed (maintenance). */
int ocl_tsdb_meta_save(ocl_tsdb_t *db);
/* Loads the metadata file at open (absent or damaged: nothing). */
void ocl_tsdb_meta_load(ocl_tsdb_t *db);
/* Writes the watermark file when persisted_before is above its value
 * (after cuts). `maint` held. */
int ocl_tsdb_watermark_save(ocl_tsdb_t *db);
/* Raises persisted_before to the watermark file's value (open). */
void ocl_tsdb_watermark_load(ocl_tsdb_t *db);

/* ---- head.c ---- */
void ocl_head_init(ocl_head_t *h, int64_t range);
void ocl_head_dispose(ocl_head_t *h);
/* Series with exactly these labels or NULL. */
ocl_hseries_t *ocl_head_find(const ocl_head_t *h, const ocl_labels_t *ls, uint64_t hash);
/* Hints the CPU to fetch the map slot of `hash` (batched appends). */
static inline void ocl_head_prefetch(const ocl_head_t *h, uint64_t hash)
{
    __builtin_prefetch(&h->map[(uint32_t)hash & (h->nmap - 1)]);
}
/* Creates the series (labels must be valid and absent from the head). */
ocl_hseries_t *ocl_head_create(ocl_head_t *h, const ocl_labels_t *ls, uint64_t hash);
/* Appends one sample after the caller checked ordering. */
void ocl_head_append(ocl_head_t *h, ocl_hseries_t *s, int64_t t, double v);
/* Drops chunks entirely below `before` and series left without chunks;
 * renumbers series and rebuilds the map and postings. */
void ocl_head_truncate(ocl_head_t *h, int64_t before);
uint64_t ocl_head_bytes(const ocl_head_t *h);
/* Copies the labels of s into `a`. */
ocl_labels_t ocl_head_labels(const ocl_head_t *h, const ocl_hseries_t *s, ocl_arena_t *a);

/* floor(t / r) * r (saturating at INT64_MIN). */
static inline int64_t ocl_tsdb_align(int64_t t, int64_t r)
{
    int64_t m = t % r, out;
    if (m < 0) m += r;
    return __builtin_sub_overflow(t, m, &out) ? INT64_MIN : out;
}

/* a + b and a - b saturated to the int64 range. */
static inline int64_t ocl_tsdb_add_sat(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}
static inline int64_t ocl_tsdb_sub_sat(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r)) return b > 0 ? INT64_MIN : INT64_MAX;
    return r;
}

/* maxt - mint for maxt >= mint, exact. */
static inline uint64_t ocl_tsdb_span(int64_t mint, int64_t maxt)
{
    return (uint64_t)maxt - (uint64_t)mint;
}

#endif
