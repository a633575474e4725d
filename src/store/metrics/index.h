/*
 * index.h — the inverted index shared by the TSDB head and its blocks: a
 * symbol table (interned label names and values, referenced by 32-bit id)
 * and postings (label name=value → sorted series ids) with matcher
 * evaluation (intersection of positive matchers, subtraction of matchers
 * that accept the empty string; regexes are run once per distinct value).
 *
 * Invariants: symbol ids are dense indexes; a freed id is reused. Series
 * ids in every postings list are strictly increasing: callers add series in
 * id order (the head renumbers its series and rebuilds postings when it
 * drops series). Not thread-safe; the TSDB's lock protects it.
 * Tuned for up to a few million series and ~10 labels per series.
 */
#ifndef OCL_METRICS_INDEX_H
#define OCL_METRICS_INDEX_H

#include "store/metrics/labels.h"

#define OCL_SYM_NONE UINT32_MAX

typedef struct {
    const char **str;  /* bytes by id (NUL-terminated copies unless borrowed) */
    uint32_t *len;     /* length by id */
    uint32_t *refs;    /* reference count by id (0 = free slot) */
    uint32_t n;        /* ids in use + free ones (array length) */
    uint32_t cap;      /* allocated entries of the arrays */
    uint32_t *slots;   /* open-addressing hash table: id + 1, 0 = empty */
    uint32_t nslots;   /* power of two */
    uint32_t used;     /* live symbols */
    uint32_t *freeids; /* free ids for reuse */
    uint32_t nfree;    /* number of free ids */
    uint32_t capfree;  /* allocated entries of freeids */
    uint64_t bytes;    /* string bytes held */
    bool borrowed;     /* strings point into someone else's memory (not freed) */
} ocl_symtab_t;

void ocl_symtab_init(ocl_symtab_t *st, bool borrowed);
void ocl_symtab_dispose(ocl_symtab_t *st);
/* Returns the id of s, adding it (copied unless borrowed) and taking one
 * reference. */
uint32_t ocl_symtab_intern(ocl_symtab_t *st, ocl_str_t s);
/* Id of s or OCL_SYM_NONE. */
uint32_t ocl_symtab_find(const ocl_symtab_t *st, ocl_str_t s);
/* Drops one reference; the id is freed at zero. */
void ocl_symtab_unref(ocl_symtab_t *st, uint32_t id);
static inline ocl_str_t ocl_symtab_get(const ocl_symtab_t *st, uint32_t id)
{
    return (ocl_str_t){st->str[id], st->len[id]};
}

/* One postings list. */
typedef struct {
    uint32_t name;  /* symbol id of the label name */
    uint32_t value; /* symbol id of the label value */
    uint32_t *ids;  /* series ids, strictly increasing */
    uint32_t n;     /* number of ids */
    uint32_t cap;   /* allocated ids */
} ocl_plist_t;

/* All lists of one label name. */
typedef struct {
    uint32_t name;   /* symbol id */
    uint32_t *lists; /* indexes into ocl_postings_t.lists */
    uint32_t n;      /* number of values */
    uint32_t cap;    /* allocated */
} ocl_pname_t;

typedef struct {
    ocl_plist_t *lists; /* all lists */
    uint32_t nlists;    /* count */
    uint32_t caplists;  /* allocated */
    uint32_t *lslots;   /* hash (name, value) → list index + 1 */
    uint32_t nlslots;   /* power of two */
    ocl_pname_t *names; /* per label name */
    uint32_t nnames;    /* count */
    uint32_t capnames;  /* allocated */
    uint32_t *nslots;   /* hash name → names index + 1 */
    uint32_t nnslots;   /* power of two */
    uint32_t *all;      /* every series id, increasing */
    uint32_t nall;      /* count */
    uint32_t capall;    /* allocated */
} ocl_postings_t;

void ocl_postings_init(ocl_postings_t *p);
void ocl_postings_dispose(ocl_postings_t *p);
/* Adds series `id` (greater than every id added before) with its label
 * pairs (name id, value id) × n. */
void ocl_postings_add(ocl_postings_t *p, uint32_t id, const uint32_t *pairs, uint32_t n);
/* Adds `id` to the list (name, value) only (block loading). */
void ocl_postings_add_one(ocl_postings_t *p, uint32_t name, uint32_t value, uint32_t id);
const ocl_plist_t *ocl_postings_get(const ocl_postings_t *p, uint32_t name, uint32_t value);
const ocl_pname_t *ocl_postings_name(const ocl_postings_t *p, uint32_t name);
uint64_t ocl_postings_bytes(const ocl_postings_t *p);

/* Series ids matching all matchers (n_ms may be 0: every series), sorted;
 * *out is ocl_malloc'd (free with ocl_free), may be NULL when *n == 0. */
void ocl_postings_select(const ocl_postings_t *p, const ocl_symtab_t *st, const ocl_matcher_t *ms,
                         size_t n_ms, uint32_t **out, uint32_t *n);

/* Sorted-set helpers (exposed for tests). Results written to `out` (room
 * for min/max of the inputs as appropriate); return the count. */
uint32_t ocl_ids_intersect(const uint32_t *a, uint32_t na, const uint32_t *b, uint32_t nb,
                           uint32_t *out);
uint32_t ocl_ids_subtract(const uint32_t *a, uint32_t na, const uint32_t *b, uint32_t nb,
                          uint32_t *out);

uint64_t ocl_hash_str(const void *p, size_t n);

#endif
