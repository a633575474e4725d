/*
 * block.h — immutable on-disk blocks of the metrics TSDB: a directory
 * named by a 26-character ULID holding `chunks` (zstd-compressed pages of
 * XOR or DEC chunks), `index` (zstd-compressed sections: symbols, series
 * with label and chunk references, postings) and `meta` (version, id, time
 * range, stats), everything checksummed (CRC32C). Layout: docs/FORMATS.md,
 * "Metrics TSDB".
 *
 * Writing: series are added in label order (ocl_labels_cmp); the block is
 * assembled in "<ulid>.tmp", fsynced, renamed and the parent directory
 * fsynced, so a block directory without ".tmp" is complete. Reading: the
 * index is parsed into memory (symbols borrowed from the decompressed
 * symbols section, postings rebuilt as in the head) and every offset is bounds-checked; the
 * chunks file is mmapped and pages are decompressed on demand.
 * An opened block is read-only and safe for concurrent readers, each with
 * its own ocl_page_cache_t.
 */
#ifndef OCL_METRICS_BLOCK_H
#define OCL_METRICS_BLOCK_H

#include "store/metrics/tsdb_int.h"

#define OCL_BLOCK_VERSION 1
/* Samples per chunk in blocks (the writer re-chunks head chunks). */
#define OCL_BLOCK_CHUNK_SAMPLES 480
/* Uncompressed bytes per chunks page (chunks never straddle pages). */
#define OCL_BLOCK_PAGE 65536

/* A chunk reference inside a block. */
typedef struct {
    int64_t mint;  /* first timestamp */
    int64_t maxt;  /* last timestamp */
    uint64_t page; /* file offset of the page header in `chunks` */
    uint32_t off;  /* offset of the chunk in the uncompressed page */
    uint32_t len;  /* encoded bytes */
    uint32_t n;    /* samples */
    uint8_t enc;   /* OCL_CHUNK_XOR or OCL_CHUNK_DEC */
} ocl_bchunk_t;

typedef struct {
    const uint32_t *lab;        /* (name, value) symbol ids × nlab */
    uint32_t nlab;              /* labels */
    const ocl_bchunk_t *chunks; /* by time */
    uint32_t nchunks;           /* count */
} ocl_bseries_t;

struct ocl_block {
    char *path;             /* directory */
    char name[32];          /* ULID (directory name) */
    int64_t mint;           /* covered range [mint, maxt) */
    int64_t maxt;           /*  */
    int64_t data_mint;      /* oldest sample */
    int64_t data_maxt;      /* newest sample */
    uint64_t nsamples;      /* samples */
    uint64_t nchunks_total; /* chunks */
    uint32_t level;         /* compaction level (1 = cut from the head) */
    uint64_t bytes;         /* size of the files */
    ocl_symtab_t syms;      /* borrowed from idx */
    ocl_postings_t post;    /* series ids = positions in `series` (label order) */
    ocl_bseries_t *series;  /* by id */
    uint32_t nseries;       /* count */
    uint8_t *idx;           /* index file contents */
    uint8_t *sec[3];        /* decompressed index sections (sec[0] owns symbol bytes) */
    size_t idxlen;          /* bytes */
    uint32_t *labmem;       /* all label pairs */
    ocl_bchunk_t *chunkmem; /* all chunk refs */
    const uint8_t *cmap;    /* mmapped chunks file */
    size_t clen;            /* its length */
    int refs;               /* the TSDB's reference + running queries' (atomic) */
};

/* Queries hold a reference while they read a block outside the TSDB lock;
 * the last unref closes it (its directory may already be deleted). */
static inline void ocl_block_ref(ocl_block_t *b)
{
    __atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
}
void ocl_block_unref(ocl_block_t *b);

/* Last decompressed page (one per reader). */
typedef struct {
    const ocl_block_t *b; /* block of the cached page */
    uint64_t page;        /* its offset */
    uint8_t *buf;         /* decompressed bytes (owned) */
    size_t cap;           /* allocated */
    size_t len;           /* valid bytes */
} ocl_page_cache_t;

void ocl_page_cache_dispose(ocl_page_cache_t *pc);

/* Opens the block in `path`; OCL_ECORRUPT/OCL_EIO on a damaged block. */
int ocl_block_open(const char *path, ocl_block_t **out);
void ocl_block_close(ocl_block_t *b);
/* Removes the block's directory (after ocl_block_close is not allowed;
 * call before closing). */
int ocl_block_remove_dir(const char *path);
/* Suffix of a block directory being deleted. */
#define OCL_BLOCK_DELETED ".deleted"
/* Deletes a published block crash-safely: renames `path` (in `parent`) to
 * "<path>.deleted", fsyncs the parent, then removes the files. A crash
 * leaves either the whole block or a "*.deleted" directory (removed at
 * open), never a half-deleted block. */
int ocl_block_delete(const char *parent, const char *path);
/* Reads and checks a block's `meta`: its covered range [mint, maxt). */
int ocl_block_read_meta(const char *path, int64_t *mint, int64_t *maxt);
/* Points *p at the encoded chunk; OCL_ECORRUPT on a bad page. */
int ocl_block_chunk(const ocl_block_t *b, const ocl_bchunk_t *c, ocl_page_cache_t *pc,
                    const uint8_t **p);
/* Labels of series `id` copied into `a`. */
ocl_labels_t ocl_block_labels(const ocl_block_t *b, uint32_t id, ocl_arena_t *a);

/* Parses an index file image (used by open and by the fuzzer). On success
 * fills the index fields of b (symbols, series, postings). */
int ocl_block_parse_index(ocl_block_t *b, uint8_t *buf, size_t len);
/* Frees what ocl_block_parse_index allocated (not idx). */
void ocl_block_index_dispose(ocl_block_t *b);

typedef struct ocl_bwriter ocl_bwriter_t;
/* Starts a block in `parent` covering [mint, maxt). */
int ocl_bwriter_begin(const char *parent, int64_t mint, int64_t maxt, uint32_t level,
                      ocl_bwriter_t **out);
/* Adds one series (labels in increasing order across calls) with encoded
 * chunks (enc, bytes, n used; samples strictly increasing in time). The
 * samples are re-chunked in runs of OCL_BLOCK_CHUNK_SAMPLES, each stored
 * as the smaller of DEC and XOR. A series without samples is skipped. */
int ocl_bwriter_add(ocl_bwriter_t *w, const ocl_labels_t *ls, const ocl_chunk_t *chunks,
                    uint32_t nchunks);
/* Finishes (fsync, rename) and opens the block; on error removes the
 * temporary directory. Always frees w. */
int ocl_bwriter_finish(ocl_bwriter_t *w, ocl_block_t **out);
void ocl_bwriter_abort(ocl_bwriter_t *w);

#endif
