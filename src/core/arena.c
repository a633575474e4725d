/*
 * arena.c — see arena.h. Blocks form a singly linked list, newest first; an
 * allocation larger than a quarter block gets a block of its own so that a
 * big request does not waste the tail of a regular block.
 */
#include "core/arena.h"

#include <stdlib.h>

struct ocl_arena_block {
    ocl_arena_block_t *next; /* older block */
    size_t size;             /* usable bytes in data[] */
    size_t used;             /* bytes handed out from data[] */
    size_t last;             /* offset of the most recent allocation */
    _Alignas(16) unsigned char data[];
};

void ocl_arena_init(ocl_arena_t *a, size_t block_size)
{
    a->head = NULL;
    a->block_size = block_size ? block_size : 64 * 1024;
    a->total = 0;
}

void ocl_arena_dispose(ocl_arena_t *a)
{
    ocl_arena_block_t *b = a->head;
    while (b) {
        ocl_arena_block_t *n = b->next;
        free(b);
        b = n;
    }
    a->head = NULL;
    a->total = 0;
}

void ocl_arena_reset(ocl_arena_t *a)
{
    ocl_arena_block_t *b = a->head, *keep = NULL;
    while (b) {
        ocl_arena_block_t *n = b->next;
        if (!n && b->size == a->block_size) {
            keep = b;
        } else {
            free(b);
        }
        b = n;
    }
    if (keep) {
        keep->used = 0;
        keep->last = 0;
        keep->next = NULL;
    }
    a->head = keep;
    a->total = 0;
}

static ocl_arena_block_t *new_block(size_t size)
{
    ocl_arena_block_t *b = ocl_malloc(sizeof(*b) + size);
    b->size = size;
    b->used = 0;
    b->last = 0;
    b->next = NULL;
    return b;
}

void *ocl_arena_alloc(ocl_arena_t *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    ocl_arena_block_t *b = a->head;
    if (!b || b->size - b->used < n) {
        if (n > a->block_size / 4) {
            /* Dedicated block, linked behind the current one so that the
             * current block keeps serving small allocations. */
            ocl_arena_block_t *d = new_block(n);
            d->used = n;
            if (b) {
                d->next = b->next;
                b->next = d;
            } else {
                a->head = d;
            }
            a->total += n;
            return d->data;
        }
        b = new_block(a->block_size);
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->last = b->used;
    b->used += n;
    a->total += n;
    return p;
}

void *ocl_arena_calloc(ocl_arena_t *a, size_t n)
{
    void *p = ocl_arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

void *ocl_arena_realloc(ocl_arena_t *a, void *p, size_t old, size_t n)
{
    ocl_arena_block_t *b = a->head;
    if (p && b && (unsigned char *)p == b->data + b->last) {
        size_t need = (n + 7) & ~(size_t)7;
        if (b->last + need <= b->size) {
            a->total += need - (b->used - b->last);
            b->used = b->last + need;
            return p;
        }
    }
    void *q = ocl_arena_alloc(a, n);
    if (p && old) memcpy(q, p, OCL_MIN(old, n));
    return q;
}

char *ocl_arena_strndup(ocl_arena_t *a, const char *s, size_t n)
{
    char *d = ocl_arena_alloc(a, n + 1);
    if (n) memcpy(d, s, n);
    d[n] = 0;
    return d;
}
