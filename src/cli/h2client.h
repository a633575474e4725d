/*
 * h2client.h — a small HTTP/2 cleartext (prior knowledge) client for gRPC
 * unary calls, used by `ocelot gen --protocol grpc`. Single-threaded and
 * poll()-driven: the caller submits calls with ocl_h2client_call() and runs
 * ocl_h2client_poll() in its loop, which does the socket I/O and reports
 * every finished call to its callback exactly once.
 *
 * Calls are multiplexed as streams over a few connections to one endpoint:
 * a new connection is opened only when every open one already carries
 * `streams_per_connection` streams (or the server's
 * SETTINGS_MAX_CONCURRENT_STREAMS, if lower). A connection that fails (refused,
 * reset, closed by the server, protocol error) fails every call on it; later
 * calls open a new connection. After a GOAWAY, streams the server will still
 * answer finish normally, the others fail, and new calls go elsewhere.
 *
 * Ownership: the request body passed to ocl_h2client_call() is borrowed (sent
 * without copying) and must stay valid and unchanged until the call's
 * callback has run. Everything in ocl_h2client_result_t is valid only during
 * the callback. Configuration strings are copied by ocl_h2client_create().
 */
#ifndef OCL_H2CLIENT_H
#define OCL_H2CLIENT_H

#include "core/core.h"
#include "net/net.h"

#include <stdbool.h>

typedef struct ocl_h2client ocl_h2client_t;

typedef struct {
    const char *endpoint;            /* "http://host:port" (path ignored); https unsupported */
    uint32_t max_connections;        /* upper bound on open connections (0 = 64) */
    uint32_t streams_per_connection; /* streams per connection before opening another (0 = 100) */
    uint32_t window_bytes;           /* local stream and connection windows (0 = 16 MiB) */
    size_t max_response_bytes;       /* response DATA bound per call (0 = 8 MiB) */
    const ocl_header_t *headers;     /* extra request headers (any case; sent lowercase) */
    size_t n_headers;
} ocl_h2client_cfg_t;

/* Outcome of one call; valid only during the callback. */
typedef struct {
    int error;                 /* 0 = an HTTP response arrived; OCL_EIO = transport failure */
    bool timed_out;            /* error because the call's timeout expired */
    const char *error_text;    /* what went wrong when error != 0, else NULL */
    int http_status;           /* :status, 0 if none */
    int grpc_status;           /* grpc-status from headers or trailers, -1 if none */
    const char *grpc_message;  /* grpc-message, percent-decoded; "" if none */
    double retry_after;        /* Retry-After in seconds, -1 if none */
    const unsigned char *body; /* response DATA bytes (gRPC-framed messages) */
    size_t body_len;
} ocl_h2client_result_t;

typedef void (*ocl_h2client_done_fn)(void *ud, const ocl_h2client_result_t *res);

/* Parses the endpoint and resolves it (getaddrinfo). No connection is made
 * yet. Returns NULL on a bad or unresolvable endpoint (message in *err). */
ocl_h2client_t *ocl_h2client_create(const ocl_h2client_cfg_t *cfg, const char **err);

/* Closes the connections and frees the client. Unfinished calls are dropped
 * without running their callbacks (their bodies are no longer referenced). */
void ocl_h2client_destroy(ocl_h2client_t *c);

/* Starts a unary call: POST `path` with content-type application/grpc and
 * te: trailers, body = `body` (already gRPC-framed), timing out after
 * `timeout_ms` (0 = never). `done(ud, result)` runs from a later
 * ocl_h2client_poll(), never from inside this function. Returns 0, or
 * OCL_EINVAL for a bad argument (the callback then never runs). */
int ocl_h2client_call(ocl_h2client_t *c, const char *path, const void *body, size_t len,
                      uint32_t timeout_ms, ocl_h2client_done_fn done, void *ud);

/* Does pending I/O, waiting at most `timeout_ms` (0 = do not block, < 0 =
 * until something happens), then runs the callbacks of calls that finished.
 * Returns the number of callbacks run (>= 0). */
int ocl_h2client_poll(ocl_h2client_t *c, int timeout_ms);

/* Unfinished calls (submitted, callback not yet run). */
size_t ocl_h2client_pending(const ocl_h2client_t *c);

typedef struct {
    uint64_t connections_opened; /* connect() attempts */
    uint64_t connections_failed; /* connections that ended with unfinished calls */
    uint32_t connections_open;   /* open now */
    uint64_t goaways;            /* GOAWAY frames received */
} ocl_h2client_stats_t;
void ocl_h2client_stats(const ocl_h2client_t *c, ocl_h2client_stats_t *out);

#endif
