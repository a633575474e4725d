/*
 * conn.c — protocol-side connection lifecycle: protocol detection (HTTP/2
 * prior-knowledge preface vs HTTP/1.1), dispatch of input/timeouts to the
 * protocol, reference counting, and the per-worker body buffer pool.
 *
 * Invariants: see conn.h. Detection looks only at the first 24 bytes; a
 * connection never changes protocol afterwards.
 *
 * Tuned for: cheap per-connection dispatch; fresh bytes are handed to the
 * protocol in place and only unconsumed tails are copied into conn->in.
 */
#include "net/conn.h"

#include <stdlib.h>
#include <strings.h>
#include <time.h>

static const char PREFACE[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define PREFACE_LEN (sizeof(PREFACE) - 1)

uint64_t ocl_net_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void ocl_bufpool_get(ocl_bufpool_t *pool, ocl_buf_t *b)
{
    if (pool && pool->n > 0) {
        *b = pool->slot[--pool->n];
        return;
    }
    ocl_buf_init(b);
}

void ocl_bufpool_put(ocl_bufpool_t *pool, ocl_buf_t *b)
{
    /* Keep moderately sized buffers only: a 20 MiB outlier is not cached. */
    if (pool && b->p && pool->n < OCL_NET_POOL_SLOTS && b->cap <= ((size_t)8 << 20)) {
        b->len = 0;
        pool->slot[pool->n++] = *b;
        ocl_buf_init(b);
        return;
    }
    ocl_buf_dispose(b);
}

void ocl_conn_init(ocl_conn_t *c, const ocl_conn_io_t *io, const ocl_listener_cfg_t *lcfg,
                   const ocl_net_limits_t *limits, ocl_net_counters_t *stats, ocl_bufpool_t *pool)
{
    memset(c, 0, offsetof(ocl_conn_t, u));
    memset(&c->u, 0, sizeof c->u);
    c->io = io, c->lcfg = lcfg, c->limits = limits, c->stats = stats, c->pool = pool;
    c->refs = 1;
    ocl_buf_init(&c->in);
}

static void run_proto(ocl_conn_t *c)
{
    if (c->proto == PROTO_H1)
        ocl_h1_feed(c);
    else if (c->proto == PROTO_H2)
        ocl_h2_feed(c);
}

void ocl_conn_feed(ocl_conn_t *c, const unsigned char *p, size_t n)
{
    if (c->closed || n == 0) return;
    if (c->proto == PROTO_H1) {
        ocl_h1_input(c, p, n);
        return;
    }
    if (c->proto == PROTO_H2 && c->in.len == 0) {
        ocl_h2_input(c, p, n);
        return;
    }
    ocl_buf_append(&c->in, p, n);
    if (c->proto == PROTO_DETECT) {
        size_t k = OCL_MIN(c->in.len, PREFACE_LEN);
        if (memcmp(c->in.p, PREFACE, k) != 0) {
            c->proto = PROTO_H1;
            ocl_h1_start(c);
        } else if (k == PREFACE_LEN) {
            c->proto = PROTO_H2;
            if (ocl_h2_start(c) != 0) {
                ocl_conn_close(c);
                return;
            }
        } else {
            c->io->update(c); /* partial preface: wait for more */
            return;
        }
    }
    run_proto(c);
}

void ocl_conn_eof(ocl_conn_t *c)
{
    if (c->closed) return;
    if (c->proto == PROTO_H1 && c->u.h1.req_pending) {
        /* Half-closed after sending: answer (and any complete pipelined
         * requests), then close. A partial request can never complete. */
        c->u.h1.saw_eof = true;
        c->io->update(c);
        ocl_http_req_abort(&c->u.h1.req); /* the client gave up waiting */
        return;
    }
    ocl_conn_close(c);
}

void ocl_conn_timeout(ocl_conn_t *c)
{
    if (c->closed) return;
    if (c->proto == PROTO_H1)
        ocl_h1_timeout(c);
    else if (c->proto == PROTO_H2)
        ocl_h2_timeout(c);
    else
        ocl_conn_close(c);
}

void ocl_conn_drained(ocl_conn_t *c)
{
    if (c->closed) return;
    /* HTTP/2 may have output it held back while the socket was full. */
    if (c->proto == PROTO_H2)
        ocl_h2_feed(c);
    else
        c->io->update(c);
}

bool ocl_conn_want_read(const ocl_conn_t *c)
{
    if (c->closed || c->pending_write > OCL_NET_MAX_PENDING_WRITE) return false;
    if (c->proto == PROTO_H1) return ocl_h1_want_read(c);
    if (c->proto == PROTO_H2) return ocl_h2_want_read(c);
    return true;
}

uint64_t ocl_conn_timeout_ms(const ocl_conn_t *c)
{
    if (c->closed) return 0;
    if (c->proto == PROTO_H1) return ocl_h1_timeout_ms(c);
    if (c->proto == PROTO_H2) return c->limits->idle_timeout_ms;
    return c->limits->idle_timeout_ms;
}

void ocl_conn_close(ocl_conn_t *c)
{
    if (c->closed) return;
    c->closed = true;
    c->io->close(c);
}

void ocl_conn_transport_closed(ocl_conn_t *c)
{
    c->closed = true;
    if (c->proto == PROTO_H1)
        ocl_h1_dispose(c);
    else if (c->proto == PROTO_H2)
        ocl_h2_dispose(c);
    c->proto = -1; /* disposed; outstanding handlers see closed */
    ocl_buf_dispose(&c->in);
    ocl_conn_unref(c);
}

void ocl_conn_unref(ocl_conn_t *c)
{
    if (--c->refs > 0) return;
    c->io->release(c);
}

/* --- request-facing API (net.h) ------------------------------------------ */

void ocl_net_limits_default(ocl_net_limits_t *l)
{
    l->max_header_bytes = 64 << 10;
    l->max_body_bytes = 20 << 20;
    l->max_grpc_msg_bytes = 4 << 20;
    l->header_timeout_ms = 10000;
    l->idle_timeout_ms = 120000;
    l->max_streams = 100;
    l->max_connections = 10000;
}

static ocl_str_t find_header(const ocl_header_t *h, size_t n, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < n; i++) {
        if (h[i].name_len == len && strncasecmp(h[i].name, name, len) == 0)
            return (ocl_str_t){h[i].value, h[i].value_len};
    }
    return OCL_STR_NULL;
}

ocl_str_t ocl_http_req_header(const ocl_http_req_t *req, const char *name)
{
    return find_header(req->headers, req->n_headers, name);
}

ocl_str_t ocl_grpc_call_header(const ocl_grpc_call_t *call, const char *name)
{
    return find_header(call->headers, call->n_headers, name);
}

void ocl_http_req_abort(ocl_http_req_t *req)
{
    ocl_http_abort_fn fn = req->abort_fn;
    if (!fn) return;
    req->abort_fn = NULL; /* once */
    fn(req, req->abort_ud);
}

void ocl_http_req_on_abort(ocl_http_req_t *req, ocl_http_abort_fn fn, void *ud)
{
    req->abort_fn = fn;
    req->abort_ud = ud;
    if (!fn) return;
    bool gone =
        req->http2 ? ocl_h2_stream_gone(req->conn_priv) : ocl_h1_client_gone(req->conn_priv);
    if (gone) ocl_http_req_abort(req);
}

void ocl_http_respond(ocl_http_req_t *req, int status, const char *content_type,
                      const ocl_header_t *extra, size_t n_extra, const void *body, size_t len)
{
    req->abort_fn = NULL; /* answered: the client's leaving no longer matters */
    /* A HEAD response carries no body; Content-Length 0 keeps the framing
     * right for the next response on the connection. */
    if (ocl_str_eq_c(req->method, "HEAD")) len = 0;
    if (req->http2)
        ocl_h2_http_respond(req->conn_priv, status, content_type, extra, n_extra, body, len);
    else
        ocl_h1_respond(req->conn_priv, status, content_type, extra, n_extra, body, len);
}

void ocl_grpc_respond(ocl_grpc_call_t *call, int grpc_status, const char *message, const void *resp,
                      size_t len)
{
    ocl_h2_grpc_respond(call->conn_priv, grpc_status, message, resp, len);
}

struct uv_loop_s *ocl_http_req_loop(const ocl_http_req_t *req)
{
    if (req->http2) return ocl_h2_stream_loop(req->conn_priv);
    return ((ocl_conn_t *)req->conn_priv)->loop;
}

struct uv_loop_s *ocl_grpc_call_loop(const ocl_grpc_call_t *call)
{
    return ocl_h2_stream_loop(call->conn_priv);
}
