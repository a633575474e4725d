/*
 * prom_remote_write.c — placeholder until the remote-write receiver lands.
 */
#include "receiver/prom_remote_write.h"

void ocl_prom_rw_handle(ocl_http_req_t *req, ocl_ingest_t *ing)
{
    static const char msg[] = "remote write is not implemented yet\n";
    (void)ing;
    ocl_http_respond(req, 501, "text/plain; charset=utf-8", NULL, 0, msg, sizeof msg - 1);
}
