/*
 * prom_api_int.h — private to src/api/prom_api*.c and prom_query.c: the
 * state of the Prometheus API and of one request in flight.
 */
#ifndef OCL_PROM_API_INT_H
#define OCL_PROM_API_INT_H

#include "api/prom_api.h"
#include "api/prom_fmt.h"
#include "api/query_pool.h"
#include "core/arena.h"
#include "core/time.h"
#include "pipeline/tenants.h"

#include <pthread.h>

/* The Prometheus version reported by /api/v1/status/buildinfo: the API
 * level ocelot mirrors (PromQL 3.x semantics). */
#define OCL_PROM_API_VERSION "3.0.0"

/* Endpoints, for self-metrics (label `endpoint`). */
enum {
    PA_EP_QUERY,
    PA_EP_QUERY_RANGE,
    PA_EP_SERIES,
    PA_EP_LABELS,
    PA_EP_LABEL_VALUES,
    PA_EP_METADATA,
    PA_EP_FORMAT_QUERY,
    PA_EP_EXEMPLARS,
    PA_EP_STATUS,
    PA_EP_RULES, /* rules, alerts, targets */
    PA_EP_OTHER,
    PA_EP_COUNT
};

struct ocl_prom_api {
    ocl_ingest_t *ingest;   /* tenants' TSDBs */
    ocl_prom_api_cfg_t cfg; /* limits, defaults applied */
    ocl_qpool_t *pool;      /* query threads */
    pthread_mutex_t mu;     /* guards `empty` creation */
    ocl_tsdb_t *empty;      /* memory-only empty TSDB for tenants without data */
    size_t held_bytes;      /* request bytes (body + query string) held by jobs
                               in the pool, queued or running (atomic) */
};

/* Most request bytes the jobs in the pool may hold at once: each holds its
 * body (up to the 20 MiB network limit) and its decoded parameters until
 * answered, so 1,044 queued and running form POSTs could otherwise pin
 * ~40 GB. A request that finds the pool empty is always taken. */
#define PA_MAX_HELD_BYTES (256u << 20)

/* One request. The job must stay the first member (the pool hands it back). */
typedef struct {
    ocl_qjob_t job;                      /* pool job */
    ocl_prom_api_t *pa;                  /* API state */
    ocl_http_req_t *req;                 /* the request */
    ocl_arena_t arena;                   /* parameters (decoded) */
    ocl_form_t form;                     /* all parameters */
    int ep;                              /* PA_EP_* */
    uint64_t t0;                         /* arrival, monotonic ns */
    int64_t deadline_ns;                 /* monotonic deadline of the query */
    char tenant[OCL_TENANT_MAX_LEN + 1]; /* X-Scope-OrgID ("" = default) */
    size_t tenant_len;                   /* its length */
    ocl_str_t query;                     /* query parameter */
    int64_t t, start, end, step_ms;      /* time parameters, ms */
    int64_t limit;                       /* limit (0 = none; metadata: -1 = none) */
    int64_t limit_per_metric;            /* metadata: -1 = none */
    ocl_str_t *match;                    /* match[] values */
    size_t n_match;                      /* their number */
    ocl_str_t name;                      /* label name (label values) or metric (metadata) */
    bool accept_gzip;                    /* the client accepts gzip answers */
    size_t held;                         /* bytes counted in pa->held_bytes */
} pa_req_t;

/* Runs a data endpoint on a query thread (prom_query.c). */
void pa_run(ocl_qjob_t *job);
/* Returns the request's bytes to pa->held_bytes (prom_api.c); pa_run calls
 * it last, on the query thread. */
void pa_release_bytes(pa_req_t *r);
/* Counts an answered request (prom_api.c). */
void pa_observe(int ep, int status, uint64_t t0);

#endif
