/*
 * prom_api.h — the Prometheus HTTP API (/api/v1/...) on the API port, so
 * that promtool, Grafana's Prometheus data source and Prometheus API
 * clients work unchanged: query, query_range, series, labels, label values,
 * metadata, format_query, status (buildinfo, runtimeinfo, flags, config),
 * and the empty answers of exemplars, rules, alerts and targets. Answers,
 * error types, messages and status codes are Prometheus's (docs/API.md).
 *
 * PromQL evaluation and TSDB reads run on a pool of query threads
 * (api/query_pool.h), never on the network worker; parameter errors are
 * answered at once from the worker. The tenant is X-Scope-OrgID.
 *
 * Ownership: the state is created on the first request and freed by
 * ocl_prom_api_destroy.
 */
#ifndef OCL_PROM_API_H
#define OCL_PROM_API_H

#include "net/net.h"
#include "pipeline/ingest.h"

typedef struct ocl_prom_api ocl_prom_api_t;

typedef struct {
    int64_t query_timeout_ms;   /* engine time limit per query (0 = 120,000, as Prometheus) */
    uint64_t query_max_samples; /* samples a query may hold (0 = 50,000,000) */
    int max_concurrency;        /* queries evaluated at once (0 = 20) */
    size_t max_queued;          /* queries waiting beyond that (0 = 1,024); more get 503 */
    int64_t lookback_ms;        /* lookback delta (0 = 300,000) */
} ocl_prom_api_cfg_t;

ocl_prom_api_t *ocl_prom_api_create(ocl_ingest_t *ing, const ocl_prom_api_cfg_t *cfg);
/* Handles a request whose path starts with /api/v1/ (except /api/v1/write);
 * answers it now or later from the worker's loop. */
void ocl_prom_api_handle(ocl_prom_api_t *pa, ocl_http_req_t *req);
/* Cancels running queries, answers queued ones, joins the query threads.
 * Call while the network workers still run. NULL is a no-op. */
void ocl_prom_api_destroy(ocl_prom_api_t *pa);

#endif
