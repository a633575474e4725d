/*
 * prom_remote_write.h — Prometheus remote-write 1.0 receiver:
 * POST /api/v1/write on the API port (snappy-compressed WriteRequest
 * protobuf), answered with the spec's status codes.
 */
#ifndef OCL_PROM_REMOTE_WRITE_H
#define OCL_PROM_REMOTE_WRITE_H

#include "net/net.h"
#include "pipeline/ingest.h"

/* Handles one request; answers it before returning. */
void ocl_prom_rw_handle(ocl_http_req_t *req, ocl_ingest_t *ing);

#endif
