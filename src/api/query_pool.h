/*
 * query_pool.h — a small pool of query threads for the API port, so that a
 * slow PromQL evaluation or series scan never runs on (and stalls) a
 * network worker thread.
 *
 * A handler on a worker thread fills an ocl_qjob_t and submits it; a pool
 * thread runs job->run (which fills status, content type and body), then
 * wakes the worker's loop with a uv_async_t armed on it at submit time; the
 * async callback sends the answer with ocl_http_respond(), calls
 * job->done and frees the job. At most max_threads jobs run at once (the
 * threads are started on demand); up to max_queue more wait in FIFO order.
 * A job whose deadline passes while it waits is answered without running.
 *
 * Abandoned jobs (the client went away: ocl_qpool_abandon, called from the
 * net layer's abort callback on the worker thread): a waiting job leaves
 * the queue at once and is answered without running; a running job gets
 * its cancel flag set, which the PromQL evaluator reads (relaxed atomic
 * load) at its existing work checkpoints, so the thread is free again
 * within one checkpoint; a job that has already run is left alone (its
 * answer is on its way and the net layer drops it). The job's `state`,
 * guarded by the pool mutex, decides which case applies, so completion on
 * the pool thread and abandonment on the worker thread cannot both act.
 * The job stays allocated until its answer has been sent (on the worker
 * thread, the same thread that abandons it), so neither order frees it
 * under the other.
 *
 * Shutdown: ocl_qpool_destroy() sets every running job's cancel flag,
 * answers waiting jobs with 503, joins the threads and then waits (up to
 * 10 s) until the workers have sent every answer; call it while the
 * network workers still run (before ocl_server_stop) and not from a
 * worker thread, so that the answers owed are delivered.
 * Thread-safety: submit from worker threads, destroy from one thread.
 */
#ifndef OCL_QUERY_POOL_H
#define OCL_QUERY_POOL_H

#include "core/buf.h"
#include "net/net.h"

#include <uv.h>

typedef struct ocl_qpool ocl_qpool_t;
typedef struct ocl_qjob ocl_qjob_t;

struct ocl_qjob {
    /* set by the submitter */
    void (*run)(ocl_qjob_t *job);  /* runs on a pool thread; fills status/body; when
                                      queue_timeout, rejected or abandoned is set it
                                      must only write the error answer (abandoned:
                                      it then runs on the worker thread) */
    void (*done)(ocl_qjob_t *job); /* runs on the worker after the answer; frees the job */
    ocl_http_req_t *req;           /* request to answer (valid until answered) */
    int64_t deadline_ns;           /* monotonic deadline incl. queue wait; 0 = none */
    /* filled by run (or by the pool when the job does not run) */
    int status;               /* HTTP status */
    const char *content_type; /* NULL = application/json */
    ocl_buf_t body;           /* response body (disposed by the pool after the answer) */
    bool gzip;                /* body is gzip-compressed: send Content-Encoding: gzip */
    bool queue_timeout;       /* the deadline passed before the job ran */
    bool rejected;            /* the pool shut down before the job ran */
    bool abandoned;           /* the client went away before the job ran */
    bool stopped;             /* set by run: it gave up early because cancel was set */
    /* set by the pool */
    volatile int cancel; /* nonzero: stop early (shutdown or client gone); written and
                            read with relaxed __atomic builtins across threads */
    int state;           /* QJOB_* in query_pool.c; guarded by the pool mutex */
    bool cancel_client;  /* cancel was set because the client went away (pool mutex) */
    uv_async_t async;    /* wakes the worker's loop */
    ocl_qpool_t *pool;   /* the pool, told when the answer has been sent */
    ocl_qjob_t *next;    /* queue link */
    ocl_qjob_t *prev;    /* queue link (O(1) removal when abandoned) */
};

/* Creates a pool (no threads yet). max_threads 0 = 20, max_queue 0 = 1024. */
ocl_qpool_t *ocl_qpool_create(int max_threads, size_t max_queue);
/* Queues the job. On the worker thread of job->req. Returns 0, or OCL_EBUSY
 * (queue full or pool stopping: the caller answers itself; nothing armed). */
int ocl_qpool_submit(ocl_qpool_t *p, ocl_qjob_t *job);
/* Jobs running and waiting (for self-metrics). */
void ocl_qpool_load(ocl_qpool_t *p, size_t *running, size_t *queued);
/* The client of the job went away (see above). On the worker thread of
 * job->req, before the job's answer has been sent. */
void ocl_qpool_abandon(ocl_qjob_t *job);
/* Jobs cancelled because their client went away, since start: dropped
 * from the queue, and stopped early while running (for self-metrics). */
void ocl_qpool_cancelled(ocl_qpool_t *p, uint64_t *queued, uint64_t *running);
/* Cancels running jobs, answers waiting ones (rejected set, then job->run
 * writes the error), joins the threads, waits until the workers have sent
 * every answer, frees the pool (or, if a worker never sends within 10 s,
 * leaves it allocated so that a late answer does not touch freed memory). */
void ocl_qpool_destroy(ocl_qpool_t *p);

#endif
