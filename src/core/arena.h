/*
 * arena.h — bump allocator for per-request and per-batch memory.
 *
 * Everything allocated from an arena is freed at once by ocl_arena_reset()
 * or ocl_arena_dispose(). Allocations are 8-byte aligned. The first block is
 * embedded-free (allocated lazily) and kept across resets, so a worker that
 * reuses one arena per request stops calling malloc after warm-up.
 * Not thread-safe: one arena belongs to one thread at a time.
 */
#ifndef OCL_ARENA_H
#define OCL_ARENA_H

#include "core/core.h"

typedef struct ocl_arena_block ocl_arena_block_t;

typedef struct {
    ocl_arena_block_t *head; /* current block (newest); owns the chain */
    size_t block_size;       /* size of regular blocks */
    size_t total;            /* bytes handed out since the last reset */
} ocl_arena_t;

void ocl_arena_init(ocl_arena_t *a, size_t block_size);
void ocl_arena_dispose(ocl_arena_t *a);
/* Frees all but the first block and rewinds it. */
void ocl_arena_reset(ocl_arena_t *a);
void *ocl_arena_alloc(ocl_arena_t *a, size_t n);
void *ocl_arena_calloc(ocl_arena_t *a, size_t n);
/* Grows the allocation `p` of `old` bytes to `n` bytes (in place when it is
 * the last allocation). Returns the new pointer. */
void *ocl_arena_realloc(ocl_arena_t *a, void *p, size_t old, size_t n);
char *ocl_arena_strndup(ocl_arena_t *a, const char *s, size_t n);

#endif
