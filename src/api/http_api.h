/*
 * http_api.h — the HTTP API and UI port (default 3000): Tempo trace by id,
 * health and readiness, self-metrics, and the UI placeholder.
 */
#ifndef OCL_HTTP_API_H
#define OCL_HTTP_API_H

#include "net/net.h"
#include "pipeline/ingest.h"

typedef struct {
    ocl_ingest_t *ingest; /* stores to query */
    int ready;            /* set (atomically) once the server serves ingest */
} ocl_http_api_t;

/* ocl_http_handler_fn; ud = ocl_http_api_t *. */
void ocl_http_api_handle(ocl_http_req_t *req, void *ud);

/* Parses a Tempo-style hex trace id (1-32 hex digits, left-padded with
 * zeros as Tempo does). Returns 0 or OCL_EINVAL. */
int ocl_parse_trace_id(ocl_str_t hex, uint8_t out[16]);

#endif
