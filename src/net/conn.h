/*
 * conn.h — private to src/net: the protocol-side view of one client
 * connection, shared by server.c (sockets, libuv), http1.c, http2.c and the
 * fuzz harnesses.
 *
 * The protocol code never touches sockets. It receives bytes through
 * ocl_conn_feed(), emits bytes through conn->io->write() and asks for the
 * connection to end with ocl_conn_close(). server.c implements `io` with
 * libuv; the fuzzers implement it with an in-memory sink. That split is what
 * lets fuzz_http1 / fuzz_grpc drive the real parsers without a network.
 *
 * Client gone: when the peer half-closes (HTTP/1.1 EOF) or closes the
 * connection, or resets an HTTP/2 stream, while a request is unanswered,
 * the request's abort callback runs (ocl_http_req_abort); the request and
 * its ref stay until the handler answers.
 *
 * Lifetime invariant: conn->refs counts the transport (1 while the socket
 * is open) plus one per request handed to a handler and not yet answered.
 * The connection is freed when the count reaches zero, so a handler that
 * answers after the client went away finds `closed` set and its response is
 * dropped instead of touching freed memory.
 *
 * Tuned for: few long-lived keep-alive connections carrying 100-300 KB
 * bodies at ~2000 req/s per core; per-connection state is small and body
 * buffers are recycled through a per-worker pool.
 */
#ifndef OCL_NET_CONN_H
#define OCL_NET_CONN_H

#include "core/buf.h"
#include "net/net.h"

#include <http_parser.h>
#include <stdatomic.h>

typedef struct ocl_conn ocl_conn_t;
typedef struct h2_stream h2_stream_t;

/* Stop reading from a peer while this many response bytes are unsent. */
#define OCL_NET_MAX_PENDING_WRITE ((size_t)4 << 20)

/* Shared counters (atomics: workers update, any thread reads). */
typedef struct {
    atomic_uint_fast64_t open;         /* currently open connections */
    atomic_uint_fast64_t total;        /* accepted since start */
    atomic_uint_fast64_t refused;      /* closed at once: over max_connections */
    atomic_uint_fast64_t proto_errors; /* malformed HTTP/1.1 or HTTP/2 input */
} ocl_net_counters_t;

/* Recycled body buffers, one pool per worker (single-threaded). */
#define OCL_NET_POOL_SLOTS 8
typedef struct {
    ocl_buf_t slot[OCL_NET_POOL_SLOTS]; /* free buffers, len 0, cap > 0 */
    int n;                              /* slots in use */
} ocl_bufpool_t;

/* Transport operations, implemented by server.c (libuv) or a fuzz harness. */
typedef struct {
    /* Queues `len` bytes at `p` for sending; takes ownership of the heap
     * block `p` (freed with free()). Adds len to conn->pending_write until
     * the bytes are handed to the kernel. */
    void (*write)(ocl_conn_t *c, unsigned char *p, size_t len);
    /* Stop reading, flush queued output, then close the socket. Called once,
     * from ocl_conn_close(). When the socket is gone the transport calls
     * ocl_conn_transport_closed(). */
    void (*close)(ocl_conn_t *c);
    /* Protocol state changed: re-evaluate ocl_conn_want_read() and re-arm the
     * timer with ocl_conn_timeout_ms(). */
    void (*update)(ocl_conn_t *c);
    /* Releases the transport's memory holding `c` (refs reached zero). */
    void (*release)(ocl_conn_t *c);
} ocl_conn_io_t;

enum { PROTO_DETECT = 0, PROTO_H1, PROTO_H2 };

/* HTTP/1.1 per-connection state. One request at a time. */
typedef struct {
    http_parser parser;        /* http-parser state; data -> conn */
    ocl_buf_t head;            /* URL and header bytes of the current request */
    size_t url_off, url_len;   /* request target inside `head` */
    size_t *hoff;              /* per header: name off, name len, value off, value len */
    size_t n_hdr, cap_hdr;     /* headers stored / room in hoff (in headers) */
    bool last_was_value;       /* last header callback was a value (new field starts) */
    ocl_header_t *hdrs;        /* finalized header array for the handler */
    ocl_buf_t body;            /* request body (from the worker pool) */
    ocl_http_req_t req;        /* the request handed to the handler */
    uint64_t head_deadline_ms; /* monotonic ms by which the head must be complete */
    bool in_message;           /* a request has begun (first byte parsed) */
    bool head_done;            /* headers complete; now in body */
    bool msg_ready;            /* message complete; dispatch after execute() */
    bool req_pending;          /* handed to the handler, not yet answered */
    bool keep_alive;           /* keep the connection after this response */
    bool in_process;           /* inside h1_process (re-entrancy guard) */
    bool saw_eof;              /* peer half-closed; close after the answer */
} h1_state_t;

/* HTTP/2 per-connection state. */
typedef struct {
    void *session;          /* nghttp2_session * */
    h2_stream_t *streams;   /* live stream objects (doubly linked) */
    uint32_t n_streams;     /* live stream objects, incl. ones awaiting a handler */
    size_t buffered;        /* request body bytes held by live streams */
    uint32_t rst_budget;    /* peer RST_STREAMs still tolerated (flood guard) */
    uint64_t rst_refill_ms; /* last time rst_budget was refilled */
    bool in_recv;           /* inside nghttp2_session_mem_recv (no send) */
} h2_state_t;

struct ocl_conn {
    const ocl_conn_io_t *io;        /* transport operations */
    const ocl_listener_cfg_t *lcfg; /* handlers of the listener that accepted us */
    const ocl_net_limits_t *limits; /* server limits */
    ocl_net_counters_t *stats;      /* counters to update */
    ocl_bufpool_t *pool;            /* body buffer pool, or NULL */
    void *loop;                     /* uv_loop_t * of the owning worker (NULL in fuzz) */
    int proto;                      /* PROTO_* */
    int refs;                       /* transport + outstanding handler calls */
    bool closed;                    /* no more input or output; closing or gone */
    ocl_buf_t in;                   /* received bytes not yet consumed by a parser */
    size_t pending_write;           /* bytes given to io->write not yet sent */
    union {
        h1_state_t h1; /* when proto == PROTO_H1 */
        h2_state_t h2; /* when proto == PROTO_H2 */
    } u;
};

/* Initializes the protocol side of a fresh connection (refs = 1). */
void ocl_conn_init(ocl_conn_t *c, const ocl_conn_io_t *io, const ocl_listener_cfg_t *lcfg,
                   const ocl_net_limits_t *limits, ocl_net_counters_t *stats, ocl_bufpool_t *pool);
/* Feeds received bytes (they are consumed or copied into c->in). */
void ocl_conn_feed(ocl_conn_t *c, const unsigned char *p, size_t n);
/* The peer closed its sending side (EOF). */
void ocl_conn_eof(ocl_conn_t *c);
/* Called by the transport when its timer fires. */
void ocl_conn_timeout(ocl_conn_t *c);
/* Called by the transport when queued bytes were sent (pending_write fell). */
void ocl_conn_drained(ocl_conn_t *c);
/* Whether the transport should read now. */
bool ocl_conn_want_read(const ocl_conn_t *c);
/* Milliseconds until ocl_conn_timeout() should fire; 0 = no timer. */
uint64_t ocl_conn_timeout_ms(const ocl_conn_t *c);
/* Ends the connection (idempotent): marks it closed and asks io to close. */
void ocl_conn_close(ocl_conn_t *c);
/* The transport is gone: drops protocol state and the transport's ref. */
void ocl_conn_transport_closed(ocl_conn_t *c);
void ocl_conn_unref(ocl_conn_t *c);
/* The client of an unanswered request went away: runs and clears the
 * handler's abort callback (ocl_http_req_on_abort), if any. */
void ocl_http_req_abort(ocl_http_req_t *req);

/* Monotonic milliseconds. */
uint64_t ocl_net_now_ms(void);

/* Body buffers from the pool. */
void ocl_bufpool_get(ocl_bufpool_t *pool, ocl_buf_t *b);
void ocl_bufpool_put(ocl_bufpool_t *pool, ocl_buf_t *b);

/* http1.c */
void ocl_h1_start(ocl_conn_t *c);
void ocl_h1_feed(ocl_conn_t *c);
void ocl_h1_input(ocl_conn_t *c, const unsigned char *p, size_t n);
/* Where the transport may read next to avoid a copy (see http1.c), or NULL. */
unsigned char *ocl_h1_read_hint(ocl_conn_t *c, size_t *len);
void ocl_h1_timeout(ocl_conn_t *c);
void ocl_h1_dispose(ocl_conn_t *c);
uint64_t ocl_h1_timeout_ms(const ocl_conn_t *c);
bool ocl_h1_want_read(const ocl_conn_t *c);
/* The client can no longer take an answer it waits for (EOF or closed). */
bool ocl_h1_client_gone(const ocl_conn_t *c);
void ocl_h1_respond(ocl_conn_t *c, int status, const char *ctype, const ocl_header_t *extra,
                    size_t n_extra, const void *body, size_t len);

/* http2.c */
int ocl_h2_start(ocl_conn_t *c);
void ocl_h2_feed(ocl_conn_t *c);
void ocl_h2_input(ocl_conn_t *c, const unsigned char *p, size_t n);
void *ocl_h2_stream_loop(const h2_stream_t *st);
/* The stream was reset or its connection is gone. */
bool ocl_h2_stream_gone(const h2_stream_t *st);
void ocl_h2_timeout(ocl_conn_t *c);
void ocl_h2_dispose(ocl_conn_t *c);
bool ocl_h2_want_read(const ocl_conn_t *c);
void ocl_h2_http_respond(h2_stream_t *st, int status, const char *ctype, const ocl_header_t *extra,
                         size_t n_extra, const void *body, size_t len);
void ocl_h2_grpc_respond(h2_stream_t *st, int grpc_status, const char *message, const void *resp,
                         size_t len);

/* grpc.c: pure functions (fuzzed). */
/* De-frames exactly one unary request message from `body`, decompressing
 * it when flagged (encoding is the grpc-encoding header, may be empty).
 * Returns OCL_GRPC_OK and sets *msg / *msg_len (pointing into `body` or into
 * `scratch`), or a gRPC status code with *err set to a fixed message. */
int ocl_grpc_unframe(const unsigned char *body, size_t len, ocl_str_t encoding, size_t max_msg,
                     ocl_buf_t *scratch, const unsigned char **msg, size_t *msg_len,
                     const char **err);
/* Whether a grpc-encoding value is one we can decode ("", identity, gzip). */
bool ocl_grpc_encoding_known(ocl_str_t encoding);
/* Appends `msg` percent-encoded as grpc-message requires. */
void ocl_grpc_pct_encode(const char *msg, ocl_buf_t *out);
/* Appends the 5-byte prefix + message (gzip-compressed if `gzip`). */
void ocl_grpc_frame(const void *msg, size_t len, bool gzip, ocl_buf_t *out);

#endif
