/*
 * fuzz_conn_harness.h — an in-memory transport for the net fuzzers: a
 * connection whose writes are counted and dropped, so http1.c / http2.c can
 * be driven from a buffer with no sockets. Handlers echo synchronously or,
 * depending on the input, answer later (before or after the "socket" goes
 * away) to exercise the deferred-answer and dropped-answer paths.
 */
#ifndef OCL_FUZZ_CONN_HARNESS_H
#define OCL_FUZZ_CONN_HARNESS_H

#include "net/conn.h"

#include <stdlib.h>

static size_t g_written;                  /* bytes the server wrote */
static bool g_released;                   /* conn memory released */
static ocl_http_req_t *g_late_http[128];  /* requests to answer later */
static ocl_grpc_call_t *g_late_grpc[128]; /* calls to answer later */
static int g_n_late_http, g_n_late_grpc;
static bool g_defer; /* answer later instead of at once */

static void f_write(ocl_conn_t *c, unsigned char *p, size_t len)
{
    g_written += len;
    free(p);
}
static void f_close(ocl_conn_t *c) {}
static void f_update(ocl_conn_t *c) {}
static void f_release(ocl_conn_t *c)
{
    g_released = true;
}
static const ocl_conn_io_t FAKE_IO = {f_write, f_close, f_update, f_release};

static void f_http(ocl_http_req_t *req, void *ud)
{
    if (g_defer && g_n_late_http < 128) {
        g_late_http[g_n_late_http++] = req;
        return;
    }
    ocl_header_t x = {"X-A", 3, "b", 1};
    ocl_http_respond(req, 200, "text/plain", &x, 1, req->body, req->body_len);
}

static void f_grpc(ocl_grpc_call_t *call, void *ud)
{
    if (g_defer && g_n_late_grpc < 128) {
        g_late_grpc[g_n_late_grpc++] = call;
        return;
    }
    if (call->msg_len & 1)
        ocl_grpc_respond(call, OCL_GRPC_INVALID_ARGUMENT, "odd\n%", NULL, 0);
    else
        ocl_grpc_respond(call, 0, NULL, call->msg, call->msg_len);
}

static void answer_late(void)
{
    for (int i = 0; i < g_n_late_http; i++)
        ocl_http_respond(g_late_http[i], 204, NULL, NULL, 0, NULL, 0);
    for (int i = 0; i < g_n_late_grpc; i++)
        ocl_grpc_respond(g_late_grpc[i], 0, NULL, "r", 1);
    g_n_late_http = g_n_late_grpc = 0;
}

/* Feeds data in chunks whose sizes come from `sizes`; then ends the
 * connection, answering deferred requests before or after that. */
static void run_conn(const uint8_t *data, size_t size, uint8_t mode)
{
    static ocl_net_limits_t lim;
    static ocl_net_counters_t stats;
    static const ocl_listener_cfg_t cfg = {.addr = "fuzz", .http = f_http, .grpc = f_grpc};
    ocl_net_limits_default(&lim);
    lim.max_header_bytes = 2048;
    lim.max_body_bytes = 8192;
    lim.max_grpc_msg_bytes = 8192;
    lim.max_streams = 8;
    ocl_conn_t *c = malloc(sizeof *c);
    ocl_conn_init(c, &FAKE_IO, &cfg, &lim, &stats, NULL);
    g_released = false;
    g_defer = mode & 1;
    size_t chunk = (size_t)(mode >> 2) + 1, off = 0;
    while (off < size && !c->closed) {
        size_t n = OCL_MIN(chunk, size - off);
        ocl_conn_feed(c, data + off, n);
        off += n;
        if (mode & 2) answer_late(); /* answers between reads */
    }
    if (!(mode & 2)) {
        ocl_conn_eof(c);
        answer_late();
    }
    ocl_conn_transport_closed(c);
    answer_late();            /* dropped safely: the "socket" is gone */
    if (!g_released) abort(); /* every ref must have been returned */
    free(c);
}

#endif
