/*
 * query_pool.c — query threads for the API port (see query_pool.h).
 *
 * One mutex guards the FIFO and the thread bookkeeping; a condition
 * variable wakes idle threads. A thread is started when a job is queued
 * and no thread is idle, up to max_threads, and then lives until destroy
 * (queries are bursty; thread start is cheap next to a query). Running jobs
 * are kept in a small array so that destroy can cancel them.
 *
 * Job states (job->state, under the mutex): QUEUED (in the FIFO) →
 * RUNNING (taken by a thread) → FINISHED (run returned, or dropped from
 * the FIFO by ocl_qpool_abandon). Abandoning acts only on QUEUED (unlink
 * and answer on the worker thread) or RUNNING (set the cancel flag), so a
 * job is answered exactly once whichever of completion and client close
 * comes first.
 */
#include "api/query_pool.h"

#include "core/log.h"
#include "core/time.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#define MAX_THREADS 64

enum { QJOB_QUEUED = 1, QJOB_RUNNING, QJOB_FINISHED };

struct ocl_qpool {
    pthread_mutex_t mu;               /* guards everything below */
    pthread_cond_t cv;                /* signalled on a new job or stop */
    ocl_qjob_t *head, *tail;          /* waiting jobs, FIFO */
    size_t queued;                    /* length of the FIFO */
    size_t max_queue;                 /* FIFO bound */
    int max_threads;                  /* thread bound */
    int n_threads;                    /* threads started */
    int idle;                         /* threads waiting for a job */
    bool stopping;                    /* destroy has begun */
    size_t unanswered;                /* jobs submitted whose answer the worker has
                                         not sent yet (on_closed not run) */
    pthread_cond_t answered_cv;       /* signalled when unanswered drops to 0 */
    pthread_t threads[MAX_THREADS];   /* started threads */
    ocl_qjob_t *running[MAX_THREADS]; /* job per thread slot, or NULL */
    uint64_t cancelled_queued;        /* abandoned jobs dropped from the FIFO */
    uint64_t cancelled_running;       /* abandoned jobs whose run stopped early */
};

typedef struct {
    ocl_qpool_t *p; /* the pool */
    int slot;       /* index in threads[] / running[] */
} targ_t;

static void on_closed(uv_handle_t *h)
{
    ocl_qjob_t *job = h->data;
    ocl_qpool_t *p = job->pool;
    ocl_buf_dispose(&job->body);
    job->done(job); /* frees the job */
    pthread_mutex_lock(&p->mu);
    if (--p->unanswered == 0) pthread_cond_broadcast(&p->answered_cv);
    pthread_mutex_unlock(&p->mu);
}

/* Removes a waiting job from the FIFO. */
static void unlink_job(ocl_qpool_t *p, ocl_qjob_t *job)
{
    if (job->prev)
        job->prev->next = job->next;
    else
        p->head = job->next;
    if (job->next)
        job->next->prev = job->prev;
    else
        p->tail = job->prev;
    job->next = job->prev = NULL;
    p->queued--;
}

/* On the worker thread that owns job->req. */
static void on_async(uv_async_t *a)
{
    ocl_qjob_t *job = a->data;
    /* Acquire what run wrote on the pool thread: uv_async_send orders it in
     * fact, but libuv is not instrumented, so say it for ThreadSanitizer. */
    (void)__atomic_load_n(&job->state, __ATOMIC_ACQUIRE);
    ocl_header_t ce = {"Content-Encoding", 16, "gzip", 4};
    ocl_http_respond(job->req, job->status,
                     job->content_type ? job->content_type : "application/json",
                     job->gzip ? &ce : NULL, job->gzip ? 1 : 0,
                     job->body.p ? (const void *)job->body.p : "", job->body.len);
    uv_close((uv_handle_t *)a, on_closed);
}

static void *thread_main(void *arg)
{
    targ_t t = *(targ_t *)arg;
    ocl_free(arg);
    ocl_qpool_t *p = t.p;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->head && !p->stopping) {
            p->idle++;
            pthread_cond_wait(&p->cv, &p->mu);
            p->idle--;
        }
        if (!p->head) break; /* stopping and nothing left */
        ocl_qjob_t *job = p->head;
        unlink_job(p, job);
        job->state = QJOB_RUNNING;
        if (p->stopping)
            job->rejected = true;
        else if (job->deadline_ns && (int64_t)ocl_mono_nano() >= job->deadline_ns)
            job->queue_timeout = true;
        else
            p->running[t.slot] = job;
        pthread_mutex_unlock(&p->mu);
        /* run answers the flags itself (an error body) without evaluating. */
        job->run(job);
        pthread_mutex_lock(&p->mu);
        p->running[t.slot] = NULL;
        if (job->cancel_client && job->stopped) p->cancelled_running++;
        /* Last touch of the job here (on_async pairs with it); abandoning
         * it is a no-op from now on. */
        __atomic_store_n(&job->state, QJOB_FINISHED, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&p->mu);
        uv_async_send(&job->async); /* the job may be freed from here on */
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

ocl_qpool_t *ocl_qpool_create(int max_threads, size_t max_queue)
{
    ocl_qpool_t *p = ocl_calloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    pthread_cond_init(&p->answered_cv, NULL);
    p->max_threads = max_threads > 0 ? OCL_MIN(max_threads, MAX_THREADS) : 20;
    p->max_queue = max_queue ? max_queue : 1024;
    return p;
}

int ocl_qpool_submit(ocl_qpool_t *p, ocl_qjob_t *job)
{
    int rc = 0;
    pthread_mutex_lock(&p->mu);
    if (p->stopping || p->queued >= p->max_queue) {
        rc = OCL_EBUSY;
        goto done;
    }
    if (p->idle <= (int)p->queued && p->n_threads < p->max_threads) {
        targ_t *a = ocl_malloc(sizeof *a);
        a->p = p;
        a->slot = p->n_threads;
        if (pthread_create(&p->threads[p->n_threads], NULL, thread_main, a) != 0) {
            ocl_free(a);
            if (p->n_threads == 0) {
                ocl_error("api: cannot start a query thread");
                rc = OCL_EBUSY;
                goto done;
            }
        } else {
            p->n_threads++;
        }
    }
    job->next = NULL;
    job->prev = p->tail;
    job->pool = p;
    job->cancel = 0;
    job->state = QJOB_QUEUED;
    job->queue_timeout = job->rejected = job->abandoned = job->stopped = false;
    job->cancel_client = false;
    uv_async_init(ocl_http_req_loop(job->req), &job->async, on_async);
    job->async.data = job;
    if (p->tail)
        p->tail->next = job;
    else
        p->head = job;
    p->tail = job;
    p->queued++;
    p->unanswered++;
    pthread_cond_signal(&p->cv);
done:
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void ocl_qpool_load(ocl_qpool_t *p, size_t *running, size_t *queued)
{
    pthread_mutex_lock(&p->mu);
    size_t r = 0;
    for (int i = 0; i < p->n_threads; i++)
        r += p->running[i] != NULL;
    *running = r;
    *queued = p->queued;
    pthread_mutex_unlock(&p->mu);
}

void ocl_qpool_abandon(ocl_qjob_t *job)
{
    ocl_qpool_t *p = job->pool;
    bool drop = false;
    pthread_mutex_lock(&p->mu);
    if (job->state == QJOB_QUEUED) {
        unlink_job(p, job);
        job->state = QJOB_FINISHED;
        job->abandoned = true;
        p->cancelled_queued++;
        drop = true;
    } else if (job->state == QJOB_RUNNING) {
        job->cancel_client = true;
        __atomic_store_n(&job->cancel, 1, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&p->mu);
    if (!drop) return;
    /* No thread will see it now; run only writes the error answer. The
     * answer goes out on a later loop iteration (we are inside the net
     * layer's callback, which must not answer). */
    job->run(job);
    uv_async_send(&job->async);
}

void ocl_qpool_cancelled(ocl_qpool_t *p, uint64_t *queued, uint64_t *running)
{
    pthread_mutex_lock(&p->mu);
    *queued = p->cancelled_queued;
    *running = p->cancelled_running;
    pthread_mutex_unlock(&p->mu);
}

void ocl_qpool_destroy(ocl_qpool_t *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    for (int i = 0; i < p->n_threads; i++)
        if (p->running[i]) __atomic_store_n(&p->running[i]->cancel, 1, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&p->cv);
    int n = p->n_threads;
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < n; i++)
        pthread_join(p->threads[i], NULL);
    /* The threads have handed every answer to its worker (uv_async_send),
     * but the worker sends it later; ocl_server_stop closing the
     * connections first would drop it (clients saw the connection close
     * without an answer). Wait for the workers, boundedly. */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&p->mu);
    while (p->unanswered &&
           pthread_cond_timedwait(&p->answered_cv, &p->mu, &until) != ETIMEDOUT) {
    }
    size_t left = p->unanswered;
    pthread_mutex_unlock(&p->mu);
    if (left) {
        ocl_warn("api: %zu query answers not sent within 10 s of shutdown", left);
        return; /* a late on_closed still finds the pool */
    }
    pthread_cond_destroy(&p->answered_cv);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    ocl_free(p);
}
