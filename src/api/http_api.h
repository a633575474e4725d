/*
 * http_api.h — the HTTP API and UI port (default 3000): the Prometheus API
 * under /api/v1/ (api/prom_api.h) with remote-write at POST /api/v1/write,
 * Tempo trace by id, health and readiness, self-metrics, and the UI
 * placeholder.
 */
#ifndef OCL_HTTP_API_H
#define OCL_HTTP_API_H

#include "api/prom_api.h"
#include "net/net.h"
#include "pipeline/ingest.h"

typedef struct {
    ocl_ingest_t *ingest;     /* stores to query */
    int ready;                /* set (atomically) once the server serves ingest */
    ocl_prom_api_cfg_t prom;  /* Prometheus API limits (zero = Prometheus's defaults) */
    ocl_prom_api_t *prom_api; /* created on the first /api/v1 request */
    bool prom_stopped;        /* set by ocl_http_api_stop: /api/v1 answers 503 */
} ocl_http_api_t;

/* Stops the Prometheus API's query threads (running queries are canceled
 * and answered). Call before ocl_server_stop; safe if never started. */
void ocl_http_api_stop(ocl_http_api_t *api);

/* ocl_http_handler_fn; ud = ocl_http_api_t *. */
void ocl_http_api_handle(ocl_http_req_t *req, void *ud);

/* Parses a Tempo-style hex trace id (1-32 hex digits, left-padded with
 * zeros as Tempo does). Returns 0 or OCL_EINVAL. */
int ocl_parse_trace_id(ocl_str_t hex, uint8_t out[16]);

#endif
