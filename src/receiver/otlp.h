/*
 * otlp.h — the OTLP receivers: OTLP/HTTP (POST /v1/{traces,metrics,logs},
 * protobuf or JSON, optional gzip) and OTLP/gRPC (the three collector
 * Export services). Both decode the request, hand it to the ingest layer
 * and answer as the OTLP specification prescribes:
 *   success                  200 / OK, Export*ServiceResponse (partial_success
 *                            when some records were rejected)
 *   undecodable              400 / INVALID_ARGUMENT + google.rpc.Status
 *   too large                413 / RESOURCE_EXHAUSTED
 *   unsupported media type   415
 *   overloaded, WAL failure  503 + Retry-After / UNAVAILABLE
 * HTTP responses use the request's encoding (protobuf or JSON).
 */
#ifndef OCL_RECEIVER_OTLP_H
#define OCL_RECEIVER_OTLP_H

#include "net/net.h"
#include "pipeline/ingest.h"

typedef struct {
    ocl_ingest_t *ingest;  /* where decoded requests go */
    size_t max_body_bytes; /* decompressed HTTP body limit (default 20 MiB) */
} ocl_otlp_receiver_t;

/* ocl_http_handler_fn / ocl_grpc_handler_fn; ud = ocl_otlp_receiver_t *. */
void ocl_otlp_http_handle(ocl_http_req_t *req, void *ud);
void ocl_otlp_grpc_handle(ocl_grpc_call_t *call, void *ud);

#endif
