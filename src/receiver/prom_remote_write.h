/*
 * prom_remote_write.h — Prometheus remote-write 1.0 receiver:
 * POST /api/v1/write on the API port (snappy-compressed WriteRequest
 * protobuf), answered with the spec's status codes: 204 stored, 400 bad
 * input (never retried by senders; invalid samples are refused after the
 * rest was stored), 413 too large, 415 wrong encoding / media type /
 * remote write 2.0, 429 per-tenant series limit, 500 WAL failure.
 * The tenant is X-Scope-OrgID. Limits: ocl_ingest_rw_limits().
 */
#ifndef OCL_PROM_REMOTE_WRITE_H
#define OCL_PROM_REMOTE_WRITE_H

#include "net/net.h"
#include "pipeline/ingest.h"

/* Handles one request; answers it before returning. */
void ocl_prom_rw_handle(ocl_http_req_t *req, ocl_ingest_t *ing);

#endif
