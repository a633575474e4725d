/*
 * alloc.c — the SDK's allocator hook. Every allocation of libocelot goes
 * through osdk_realloc, which calls the host's realloc_fn when one was
 * installed with ocelot_set_allocator (before ocelot_init), else the C
 * library. Nothing here aborts: failures return NULL and callers turn them
 * into OCELOT_ENOMEM or counted drops.
 */
#include "internal.h"

static ocelot_allocator_t g_alloc; /* realloc_fn NULL = C library */

int ocelot_set_allocator(const ocelot_allocator_t *a)
{
    /* The allocator cannot change once SDK memory exists (pooled slots
     * outlive shutdown). */
    if (osdk_g.initialised || atomic_load(&osdk_g.epoch)) return OCELOT_ESTATE;
    if (a && !a->realloc_fn) return OCELOT_EINVAL;
    if (a)
        g_alloc = *a;
    else
        memset(&g_alloc, 0, sizeof g_alloc);
    return 0;
}

void *osdk_realloc(void *p, size_t n)
{
    if (g_alloc.realloc_fn) return g_alloc.realloc_fn(g_alloc.ud, p, n);
    if (n == 0) {
        free(p);
        return NULL;
    }
    return realloc(p, n);
}

void *osdk_malloc(size_t n)
{
    return n ? osdk_realloc(NULL, n) : NULL;
}

void *osdk_calloc(size_t n)
{
    void *p = osdk_malloc(n);
    if (p) memset(p, 0, n);
    return p;
}

void osdk_free(void *p)
{
    if (p) osdk_realloc(p, 0);
}

char *osdk_strdup(const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = osdk_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

void *osdk_pbw_realloc(void *ud, void *p, size_t n)
{
    (void)ud;
    return osdk_realloc(p, n);
}
