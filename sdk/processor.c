/*
 * processor.c — the batch processor shared by spans and log records: a
 * bounded lock-free MPSC queue drained by one export thread per signal.
 *
 * Invariants:
 *  - Producers never block and never allocate: osdk_processor_offer is a
 *    CAS on the ring; when the ring is full the record is dropped and
 *    counted by the caller. The mutex/condvar is touched by a producer only
 *    to wake the thread once a batch is ready (at most once per wake-up).
 *  - The export thread exports at most max_batch records per request, when
 *    a batch is ready, every delay_ms, on flush and on shutdown.
 *  - Flush and shutdown wait on a deadline (monotonic clock); past it the
 *    running export is aborted through abort_at and the caller returns
 *    OCELOT_ETIMEDOUT. Nothing waits forever. abort_at is written only
 *    under mu: a flush raises it to its deadline (the latest of the
 *    waiting flushes counts), the export thread clears it when no flush
 *    waits and no stop was asked, and a stop sets it for good.
 *  - After fork the child gets an empty queue and a new thread; records
 *    that were queued in the parent are abandoned in the child.
 *
 * Workload: up to millions of records/s; batches of 512.
 */
#include "records.h"

#include <errno.h>
#include <signal.h>

int osdk_queue_init(osdk_queue_t *q, size_t min_cap)
{
    size_t cap = 2;
    while (cap < min_cap)
        cap *= 2;
    q->cells = osdk_malloc(cap * sizeof *q->cells);
    if (!q->cells) return OCELOT_ENOMEM;
    for (size_t i = 0; i < cap; i++) {
        atomic_init(&q->cells[i].seq, i);
        q->cells[i].data = NULL;
    }
    q->mask = cap - 1;
    atomic_init(&q->enq, 0);
    atomic_init(&q->deq, 0);
    return 0;
}

void osdk_queue_dispose(osdk_queue_t *q)
{
    osdk_free(q->cells);
    q->cells = NULL;
}

static void abs_deadline(struct timespec *ts, uint64_t mono_ns)
{
    ts->tv_sec = (time_t)(mono_ns / 1000000000u);
    ts->tv_nsec = (long)(mono_ns % 1000000000u);
}

void osdk_processor_wake(osdk_processor_t *p)
{
    pthread_mutex_lock(&p->mu);
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void osdk_release(void **recs, size_t n)
{
    size_t i = 0;
    while (i < n) {
        int pool = (int)((osdk_rec_t *)recs[i])->pool_id;
        size_t j = i;
        while (j < n && (int)((osdk_rec_t *)recs[j])->pool_id == pool)
            j++;
        osdk_pool_put_many(pool, (osdk_rec_t **)recs + i, j - i);
        i = j;
    }
}

/* Pops up to max_batch records and exports them. Returns the count. */
static size_t export_one(osdk_processor_t *p, uint64_t deadline)
{
    size_t n = 0;
    void *x;
    while (n < p->cfg.max_batch && (x = osdk_queue_pop(&p->q)) != NULL)
        p->batch[n++] = x;
    if (!n) return 0;
    osdk_exporter_export(p->exp, p->batch, n, &p->abort_at, deadline);
    osdk_release(p->batch, n);
    return n;
}

static void *thread_main(void *arg)
{
    osdk_processor_t *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        uint64_t now = osdk_mono_ns();
        uint64_t wake_at = now + (uint64_t)p->cfg.delay_ms * 1000000u;
        while (!p->stop && p->flush_req == p->flush_done &&
               osdk_queue_size(&p->q) < p->cfg.max_batch) {
            struct timespec ts;
            abs_deadline(&ts, wake_at);
            atomic_store(&p->wake_pending, 0);
            if (osdk_queue_size(&p->q) >= p->cfg.max_batch) break;
            int rc = pthread_cond_timedwait(&p->cv, &p->mu, &ts);
            if (rc == ETIMEDOUT) break;
        }
        int stop = p->stop;
        uint64_t flush_target = p->flush_req;
        uint64_t stop_deadline = p->stop_deadline;
        /* a flush covers what was queued when it was asked for (the
         * request happened before this): records ended later must not
         * keep it going under steady load */
        size_t upto = atomic_load_explicit(&p->q.enq, memory_order_relaxed);
        pthread_mutex_unlock(&p->mu);

        if (stop) {
            /* drain everything, until the deadline */
            while (osdk_queue_size(&p->q)) {
                uint64_t dl = osdk_mono_ns() + (uint64_t)p->cfg.timeout_ms * 1000000u;
                if (dl > stop_deadline) dl = stop_deadline;
                if (osdk_mono_ns() >= stop_deadline) break;
                if (!export_one(p, dl)) break;
            }
        } else if (flush_target != p->flush_done) {
            /* drain up to the enqueue position seen with the request, until
             * the latest deadline of the waiting flushes (abort_at): what
             * is left then stays queued for the next export */
            while ((intptr_t)(upto - atomic_load_explicit(&p->q.deq, memory_order_relaxed)) > 0) {
                uint64_t t = osdk_mono_ns();
                uint64_t a = atomic_load(&p->abort_at);
                if (a && t >= a) break;
                if (!export_one(p, t + (uint64_t)p->cfg.timeout_ms * 1000000u)) break;
            }
        } else {
            /* one batch, then more while full batches are waiting */
            do {
                uint64_t dl = osdk_mono_ns() + (uint64_t)p->cfg.timeout_ms * 1000000u;
                if (!export_one(p, dl)) break;
            } while (osdk_queue_size(&p->q) >= p->cfg.max_batch);
        }

        pthread_mutex_lock(&p->mu);
        if (flush_target != p->flush_done) {
            p->flush_done = flush_target;
            pthread_cond_broadcast(&p->done_cv);
        }
        /* the flushes' abort time ends with them (shutdown's stays) */
        if (!p->stop && p->flush_req == p->flush_done) atomic_store(&p->abort_at, 0);
        if (stop) break;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static int start_thread(osdk_processor_t *p)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the thread takes no signals */
    int rc = pthread_create(&p->thread, NULL, thread_main, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) return OCELOT_ENOMEM;
    p->thread_started = 1;
    return 0;
}

static int init_sync(osdk_processor_t *p)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, &ca);
    pthread_cond_init(&p->done_cv, &ca);
    pthread_condattr_destroy(&ca);
    return 0;
}

static osdk_processor_t *g_retired; /* stopped processors (guarded by osdk_g.lock) */
/* Processors whose export thread was abandoned at shutdown: still in use by
 * that thread, so never reused or freed; kept reachable here (guarded by
 * osdk_g.lock). */
static osdk_processor_t *g_abandoned;

/* Empties a queue, returning the records to their pools; returns how many. */
static size_t drain_queue(osdk_queue_t *q)
{
    void *x;
    size_t n = 0;
    while ((x = osdk_queue_pop(q)) != NULL) {
        osdk_release(&x, 1);
        n++;
    }
    return n;
}

int osdk_processor_create(int signal, const osdk_batch_cfg_t *cfg, osdk_exporter_t *exp,
                          _Atomic uint64_t *dropped, osdk_processor_t **out)
{
    int rc = OCELOT_ENOMEM;
    for (osdk_processor_t **pp = &g_retired; *pp; pp = &(*pp)->retired_next) {
        osdk_processor_t *p = *pp;
        if (p->signal != signal || p->cfg.max_batch != cfg->max_batch ||
            p->q.mask + 1 < cfg->max_queue || (p->q.mask + 1) / 2 >= cfg->max_queue)
            continue;
        *pp = p->retired_next;
        /* raced into a stopped processor after its last count (stats) */
        osdk_count(signal == OCELOT_SIGNAL_LOGS ? &osdk_g.logs_unqueued : &osdk_g.spans_unqueued,
                   drain_queue(&p->q));
        p->enq_base = atomic_load_explicit(&p->q.enq, memory_order_relaxed);
        p->cfg = *cfg;
        p->exp = exp;
        p->dropped = dropped;
        pthread_mutex_lock(&p->mu); /* a late force_flush may read stop */
        p->stop = 0;
        atomic_store(&p->abort_at, 0);
        pthread_mutex_unlock(&p->mu);
        p->stop_deadline = 0;
        /* flush_req / flush_done keep counting: a force_flush of the old
         * run may still be waiting for its ticket */
        atomic_store(&p->wake_pending, 0);
        p->retired_next = NULL;
        if ((rc = start_thread(p)) != 0) {
            p->retired_next = g_retired;
            g_retired = p;
            return rc;
        }
        *out = p;
        return 0;
    }
    osdk_processor_t *p = osdk_calloc(sizeof *p);
    *out = NULL;
    if (!p) return rc;
    p->signal = signal;
    p->cfg = *cfg;
    p->wake_batch = cfg->max_batch;
    p->exp = exp;
    p->dropped = dropped;
    if (osdk_queue_init(&p->q, cfg->max_queue)) goto fail;
    p->batch = osdk_malloc(cfg->max_batch * sizeof(void *));
    if (!p->batch) goto fail;
    init_sync(p);
    if ((rc = start_thread(p)) != 0) goto fail;
    *out = p;
    return 0;
fail:
    osdk_queue_dispose(&p->q);
    osdk_free(p->batch);
    osdk_free(p);
    return rc;
}

int osdk_join_until(pthread_t t, uint64_t deadline_mono)
{
    uint64_t now = osdk_mono_ns();
    uint64_t wait = (deadline_mono > now ? deadline_mono - now : 0) +
                    (uint64_t)OSDK_JOIN_GRACE_MS * 1000000u;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts); /* pthread_timedjoin_np's clock */
    uint64_t ns = (uint64_t)ts.tv_nsec + wait % 1000000000u;
    ts.tv_sec += (time_t)(wait / 1000000000u + ns / 1000000000u);
    ts.tv_nsec = (long)(ns % 1000000000u);
    if (pthread_timedjoin_np(t, NULL, &ts) == 0) return 0;
    pthread_detach(t);
    return OCELOT_ETIMEDOUT;
}

int osdk_processor_flush(osdk_processor_t *p, uint64_t deadline)
{
    int rc = 0;
    pthread_mutex_lock(&p->mu);
    if (p->stop) { /* stopped (or stopping) by a shutdown: nothing will answer */
        pthread_mutex_unlock(&p->mu);
        return OCELOT_ESTATE;
    }
    uint64_t ticket = ++p->flush_req;
    /* the running export (whichever started it) and the flush's drain
     * abort at the latest deadline of the waiting flushes; the thread
     * clears it when no flush is waiting any more */
    uint64_t a = atomic_load(&p->abort_at);
    if (a < deadline) atomic_store(&p->abort_at, deadline);
    pthread_cond_signal(&p->cv);
    while (p->flush_done < ticket) {
        struct timespec ts;
        abs_deadline(&ts, deadline);
        if (pthread_cond_timedwait(&p->done_cv, &p->mu, &ts) == ETIMEDOUT) {
            rc = OCELOT_ETIMEDOUT;
            break;
        }
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int osdk_processor_destroy(osdk_processor_t *p, uint64_t deadline)
{
    if (!p) return 0;
    int rc = 0;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    p->stop_deadline = deadline;
    atomic_store(&p->abort_at, deadline);
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (p->thread_started && osdk_join_until(p->thread, deadline) != 0) {
        /* stuck past the deadline (an export callback, a blocked stdout):
         * the thread keeps p and its exporter; nothing here is reused */
        p->thread_started = 0;
        p->abandoned = 1;
        p->retired_next = g_abandoned;
        g_abandoned = p;
        osdk_warn("export thread still busy %d ms after the shutdown deadline; abandoned",
                  OSDK_JOIN_GRACE_MS);
        return OCELOT_ETIMEDOUT;
    }
    if (osdk_mono_ns() > deadline) rc = OCELOT_ETIMEDOUT;
    p->thread_started = 0;
    /* A force_flush that asked after the thread's last look would wait for
     * its whole timeout: the thread drained what it could, so release it. */
    pthread_mutex_lock(&p->mu);
    if (p->flush_done != p->flush_req) {
        p->flush_done = p->flush_req;
        pthread_cond_broadcast(&p->done_cv);
    }
    pthread_mutex_unlock(&p->mu);
    /* The thread exported everything queued before it stopped, unless the
     * deadline passed (rc says so). What is left now was offered by a
     * producer racing shutdown: dropped and counted, not a timeout. */
    osdk_count(p->dropped, drain_queue(&p->q));
    /* keep the memory (and its mutex) valid for producers racing shutdown */
    p->retired_next = g_retired;
    g_retired = p;
    return rc;
}

void osdk_processor_atfork_prepare(osdk_processor_t *p)
{
    pthread_mutex_lock(&p->mu);
}

void osdk_processor_atfork_parent(osdk_processor_t *p)
{
    pthread_mutex_unlock(&p->mu);
}

void osdk_processor_atfork_child(osdk_processor_t *p)
{
    /* Fresh queue state: the parent's records are abandoned here. */
    for (size_t i = 0; i <= p->q.mask; i++) {
        atomic_store(&p->q.cells[i].seq, i);
        p->q.cells[i].data = NULL;
    }
    atomic_store(&p->q.enq, 0);
    atomic_store(&p->q.deq, 0);
    p->enq_base = 0;
    atomic_store(&p->wake_pending, 0);
    atomic_store(&p->abort_at, 0);
    p->flush_req = p->flush_done = 0;
    p->stop = 0;
    p->thread_started = 0;
    init_sync(p);
    if (start_thread(p)) osdk_warn("could not restart the export thread after fork");
}

void osdk_processor_atfork_child_retired(void)
{
    /* A producer that raced a shutdown may have been waking a stopped
     * processor (holding its mutex) in the parent: a later init here
     * reuses it, so its mutex and condition variables start fresh. */
    for (osdk_processor_t *p = g_retired; p; p = p->retired_next)
        init_sync(p);
}
