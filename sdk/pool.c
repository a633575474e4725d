/*
 * pool.c — record pools for span and log-record slots: a per-thread cache
 * of free slots in front of a mutex-protected global free list.
 *
 * Invariants: slots are allocated in chunks and never freed while the
 * process runs (a handle kept by the application past shutdown still
 * points at valid memory); a thread's cache is returned to the global list
 * when the thread exits (pthread key destructor, registered by the first
 * get or by a put into an empty cache, so threads that only end spans
 * started elsewhere give their slots back too). The global lock is taken
 * once per POOL_BATCH slots at most, never per span.
 *
 * Workload: millions of get/put per second per thread; the export thread
 * returns whole batches with one lock.
 */
#include "records.h"

#define CACHE_MAX 64
#define POOL_BATCH 32

typedef struct tcache {
    osdk_rec_t *v[CACHE_MAX]; /* free slots owned by this thread */
    uint32_t n;               /* used entries */
} tcache_t;

typedef struct pool {
    pthread_mutex_t mu; /* guards free */
    osdk_rec_t *free;   /* global free list */
    size_t elem;        /* slot size */
    uint64_t allocated; /* slots ever created */
} pool_t;

static pool_t g_pools[OSDK_NPOOLS] = {
    {PTHREAD_MUTEX_INITIALIZER, NULL, sizeof(struct ocelot_span), 0},
    {PTHREAD_MUTEX_INITIALIZER, NULL, sizeof(osdk_log_t), 0},
};

static OSDK_TLS tcache_t tl_cache[OSDK_NPOOLS];
static OSDK_TLS int tl_registered;
static pthread_key_t g_key;
static pthread_once_t g_key_once = PTHREAD_ONCE_INIT;

static __attribute__((noinline)) void spill(int pool, osdk_rec_t **v, size_t n)
{
    if (!n) return;
    pool_t *p = &g_pools[pool];
    for (size_t i = 0; i + 1 < n; i++)
        v[i]->next = v[i + 1];
    pthread_mutex_lock(&p->mu);
    v[n - 1]->next = p->free;
    p->free = v[0];
    pthread_mutex_unlock(&p->mu);
}

static void thread_exit(void *unused)
{
    (void)unused;
    for (int i = 0; i < OSDK_NPOOLS; i++) {
        spill(i, tl_cache[i].v, tl_cache[i].n);
        tl_cache[i].n = 0;
    }
    tl_registered = 0; /* a later destructor that ends spans registers again */
}

static void make_key(void)
{
    if (pthread_key_create(&g_key, thread_exit) != 0) g_key = 0;
}

static void init_slot(int pool, osdk_rec_t *r)
{
    if (pool == OSDK_POOL_SPANS)
        osdk_span_slot_init((struct ocelot_span *)r);
    else
        osdk_log_slot_init((osdk_log_t *)r);
    r->pool_id = (uint32_t)pool;
}

/* Makes thread_exit run when this thread exits: a thread that holds slots
 * in its cache (it took some, or only ended spans other threads started)
 * must hand them back. */
static void register_thread(void)
{
    if (tl_registered) return;
    pthread_once(&g_key_once, make_key);
    pthread_setspecific(g_key, (void *)1);
    tl_registered = 1;
}

static __attribute__((noinline)) osdk_rec_t *refill(int pool)
{
    tcache_t *c = &tl_cache[pool];
    pool_t *p = &g_pools[pool];
    register_thread();
    pthread_mutex_lock(&p->mu);
    while (p->free && c->n < POOL_BATCH) {
        c->v[c->n++] = p->free;
        p->free = p->free->next;
    }
    pthread_mutex_unlock(&p->mu);
    if (c->n == 0) {
        char *chunk = osdk_malloc(p->elem * POOL_BATCH);
        if (!chunk) return NULL;
        for (size_t i = 0; i < POOL_BATCH; i++) {
            osdk_rec_t *r = (osdk_rec_t *)(chunk + i * p->elem);
            init_slot(pool, r);
            c->v[c->n++] = r;
        }
        pthread_mutex_lock(&p->mu);
        p->allocated += POOL_BATCH;
        pthread_mutex_unlock(&p->mu);
    }
    return c->v[--c->n];
}

osdk_rec_t *osdk_pool_get(int pool)
{
    tcache_t *c = &tl_cache[pool];
    if (OSDK_LIKELY(c->n)) return c->v[--c->n];
    return refill(pool);
}

static __attribute__((noinline)) void put_slow(tcache_t *c, osdk_rec_t *r)
{
    if (c->n == CACHE_MAX) {
        c->n -= POOL_BATCH;
        spill((int)r->pool_id, c->v + c->n, POOL_BATCH);
    } else {
        register_thread(); /* first slot into an empty cache */
    }
    c->v[c->n++] = r;
}

void osdk_pool_put(osdk_rec_t *r)
{
    tcache_t *c = &tl_cache[r->pool_id];
    if (OSDK_UNLIKELY(c->n == CACHE_MAX || c->n == 0)) {
        put_slow(c, r);
        return;
    }
    c->v[c->n++] = r;
}

void osdk_pool_put_many(int pool, osdk_rec_t **v, size_t n)
{
    spill(pool, v, n);
}

void osdk_pool_atfork_prepare(void)
{
    for (int i = 0; i < OSDK_NPOOLS; i++)
        pthread_mutex_lock(&g_pools[i].mu);
}

void osdk_pool_atfork_parent(void)
{
    for (int i = OSDK_NPOOLS - 1; i >= 0; i--)
        pthread_mutex_unlock(&g_pools[i].mu);
}

void osdk_pool_atfork_child(void)
{
    for (int i = 0; i < OSDK_NPOOLS; i++)
        pthread_mutex_init(&g_pools[i].mu, NULL);
}

/* For tests and benchmarks: slots ever created in a pool. */
uint64_t osdk_pool_allocated(int pool);
uint64_t osdk_pool_allocated(int pool)
{
    pthread_mutex_lock(&g_pools[pool].mu);
    uint64_t n = g_pools[pool].allocated;
    pthread_mutex_unlock(&g_pools[pool].mu);
    return n;
}
