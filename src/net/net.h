/*
 * net.h — the server's network layer: a pool of worker threads, each with
 * its own libuv loop and its own SO_REUSEPORT listening socket per listener,
 * serving HTTP/1.1 (keep-alive, http-parser) and HTTP/2 cleartext with prior
 * knowledge (nghttp2; detected by the connection preface on any listener),
 * with gRPC unary calls on HTTP/2.
 *
 * Handlers run on the worker thread that owns the connection and must be
 * thread-safe with respect to each other. A handler must answer every
 * request exactly once with ocl_http_respond() / ocl_grpc_respond(), either
 * before returning or later from the same worker thread. Request memory
 * (headers, body) stays valid until the response call returns.
 *
 * Limits (ocl_net_limits_t) are enforced here: header bytes, body bytes
 * (the compressed body as received; receivers bound the decompressed size),
 * gRPC message size (after grpc-encoding decompression), header and idle
 * timeouts, concurrent HTTP/2 streams per connection.
 */
#ifndef OCL_NET_H
#define OCL_NET_H

#include "core/core.h"

#include <stdbool.h>

typedef struct ocl_server ocl_server_t;
typedef struct ocl_http_req ocl_http_req_t;
typedef struct ocl_grpc_call ocl_grpc_call_t;

typedef struct {
    size_t max_header_bytes;    /* total request header bytes (default 64 KiB) */
    size_t max_body_bytes;      /* HTTP request body as received (default 20 MiB) */
    size_t max_grpc_msg_bytes;  /* gRPC message after decompression (default 4 MiB) */
    uint32_t header_timeout_ms; /* time to receive a full request head (default 10 s) */
    uint32_t idle_timeout_ms;   /* keep-alive idle connection timeout (default 120 s) */
    uint32_t max_streams;       /* HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS (default 100) */
    uint32_t max_connections;   /* per worker (default 10,000) */
} ocl_net_limits_t;

void ocl_net_limits_default(ocl_net_limits_t *l);

typedef struct {
    const char *name; /* header name as received (lowercase for HTTP/2) */
    size_t name_len;
    const char *value; /* header value */
    size_t value_len;
} ocl_header_t;

/* A received HTTP request (HTTP/1.1 or HTTP/2 non-gRPC). */
struct ocl_http_req {
    ocl_str_t method;            /* "GET", "POST", ... */
    ocl_str_t path;              /* path without the query string, not decoded */
    ocl_str_t query;             /* after '?', without it; empty if none */
    const ocl_header_t *headers; /* all request headers */
    size_t n_headers;
    const unsigned char *body; /* request body as received (may be compressed) */
    size_t body_len;
    bool http2;                                      /* arrived over HTTP/2 */
    void *conn_priv;                                 /* owned by net layer; handlers ignore */
    void (*abort_fn)(ocl_http_req_t *req, void *ud); /* net layer: ocl_http_req_on_abort */
    void *abort_ud;                                  /* net layer: its argument */
};

/* Case-insensitive header lookup; OCL_STR_NULL if absent. */
ocl_str_t ocl_http_req_header(const ocl_http_req_t *req, const char *name);

/* Sends the response. `extra` headers are added after Content-Type and
 * Content-Length (e.g. Retry-After). The body is copied. */
void ocl_http_respond(ocl_http_req_t *req, int status, const char *content_type,
                      const ocl_header_t *extra, size_t n_extra, const void *body, size_t len);

typedef void (*ocl_http_handler_fn)(ocl_http_req_t *req, void *ud);

/* The libuv loop (uv_loop_t *) of the worker thread that owns the request or
 * call, for handlers that answer later: arm a uv_timer_t / uv_async_t on it
 * and call ocl_http_respond() / ocl_grpc_respond() from its callback. A
 * response that arrives after the client disconnected is dropped safely. */
struct uv_loop_s;
struct uv_loop_s *ocl_http_req_loop(const ocl_http_req_t *req);

/* For handlers that answer later: asks the net layer to call fn(req, ud)
 * once, on the request's worker thread, if the client goes away before the
 * request is answered — the connection is closed or reset, an HTTP/1.1
 * client half-closes it (EOF; Go's server cancels the request context
 * then too) or an HTTP/2 stream is reset (RST_STREAM). Never called after
 * ocl_http_respond(). fn runs inside the net layer's own callbacks, so it
 * must not answer the request itself (arm a uv_async_t or similar); the
 * handler still answers exactly once afterwards (the answer is dropped, or
 * reaches a half-closed HTTP/1.1 client). If the client is already gone
 * when this is called, fn runs before it returns. Registering again
 * replaces fn; fn NULL unregisters. */
typedef void (*ocl_http_abort_fn)(ocl_http_req_t *req, void *ud);
void ocl_http_req_on_abort(ocl_http_req_t *req, ocl_http_abort_fn fn, void *ud);

/* A unary gRPC call: one request message, already de-framed and (if it was
 * compressed with grpc-encoding gzip) decompressed. */
struct ocl_grpc_call {
    ocl_str_t path;              /* ":path", e.g. "/pkg.Service/Method" */
    const ocl_header_t *headers; /* request metadata */
    size_t n_headers;
    const unsigned char *msg; /* the request message */
    size_t msg_len;
    void *conn_priv; /* owned by net layer */
};

ocl_str_t ocl_grpc_call_header(const ocl_grpc_call_t *call, const char *name);
struct uv_loop_s *ocl_grpc_call_loop(const ocl_grpc_call_t *call);

/* Finishes the call: on status 0 sends `resp` as one message, then the
 * trailers grpc-status and grpc-message (percent-encoded as gRPC requires).
 * The response is gzip-compressed when the client allowed it and it is
 * larger than 1 KiB. */
void ocl_grpc_respond(ocl_grpc_call_t *call, int grpc_status, const char *message, const void *resp,
                      size_t len);

typedef void (*ocl_grpc_handler_fn)(ocl_grpc_call_t *call, void *ud);

/* gRPC status codes used by ocelot. */
enum {
    OCL_GRPC_OK = 0,
    OCL_GRPC_CANCELLED = 1,
    OCL_GRPC_UNKNOWN = 2,
    OCL_GRPC_INVALID_ARGUMENT = 3,
    OCL_GRPC_DEADLINE_EXCEEDED = 4,
    OCL_GRPC_NOT_FOUND = 5,
    OCL_GRPC_RESOURCE_EXHAUSTED = 8,
    OCL_GRPC_UNIMPLEMENTED = 12,
    OCL_GRPC_INTERNAL = 13,
    OCL_GRPC_UNAVAILABLE = 14,
};

typedef struct {
    const char *addr;         /* "host:port"; port 0 picks a free port */
    ocl_http_handler_fn http; /* HTTP/1.1 and HTTP/2 non-gRPC requests; may be NULL (404) */
    ocl_grpc_handler_fn grpc; /* gRPC calls (content-type application/grpc*); may be NULL */
    void *ud;                 /* passed to the handlers */
} ocl_listener_cfg_t;

/* Creates a server with `workers` threads (0 = number of cores). */
ocl_server_t *ocl_server_create(int workers, const ocl_net_limits_t *limits);
/* Binds a listener on every worker. Returns 0 or OCL_EIO; on success
 * *bound_port receives the actual port. Call before ocl_server_start. */
int ocl_server_listen(ocl_server_t *s, const ocl_listener_cfg_t *cfg, int *bound_port);
/* Starts the worker threads. Sets SIGPIPE to SIG_IGN (process-wide). */
int ocl_server_start(ocl_server_t *s);
/* Stops accepting, closes connections, joins the workers. Thread-safe,
 * callable from a signal-handling thread. Handles that handlers armed on a
 * worker loop are closed too; answers still owed are then never sent (and
 * must not be attempted after this returns). */
void ocl_server_stop(ocl_server_t *s);
void ocl_server_destroy(ocl_server_t *s);

/* Per-worker timer callback hook: fn runs every `period_ms` on worker 0's
 * loop (used for housekeeping such as WAL flush and trace-head cuts).
 * Call before ocl_server_start (OCL_EINVAL afterwards); at most 32 timers. */
int ocl_server_add_timer(ocl_server_t *s, uint32_t period_ms, void (*fn)(void *ud), void *ud);

/* Connection counters for self-metrics. */
typedef struct {
    uint64_t connections_open;    /* currently open */
    uint64_t connections_total;   /* accepted since start */
    uint64_t connections_refused; /* over max_connections */
    uint64_t protocol_errors;     /* malformed HTTP/1.1 or HTTP/2 framing */
} ocl_net_stats_t;
void ocl_server_stats(ocl_server_t *s, ocl_net_stats_t *out);

#endif
