/*
 * h2client.c — HTTP/2 cleartext client for gRPC unary calls (see h2client.h),
 * on nghttp2's client session API, non-blocking sockets and poll().
 *
 * Output path: nghttp2_session_send() hands frames to send_cb (copied into
 * the connection's `stage` buffer) and DATA payloads to send_data_cb
 * (NGHTTP2_DATA_FLAG_NO_COPY: only the 9-byte frame header is staged, the
 * payload is a segment pointing into the caller's body). Segments are
 * written with writev(); send_cb refuses more (WOULDBLOCK) once OUT_HIGH
 * bytes are queued, so a connection never buffers more than about that.
 *
 * Invariants:
 *  - send_data_cb never refuses, so every DATA payload nghttp2 has read from
 *    a body (read_cb) is in the segment queue when nghttp2_session_send()
 *    returns; when a call finishes, its still-queued body segments are
 *    copied into `stage` ("pinned") before the callback may free the body,
 *    and read_cb refuses to read a finished call's body again.
 *  - a call is linked in its connection's list while nghttp2 may refer to it
 *    (stream user data); it is freed once it is unlinked and reported.
 *  - connections are destroyed only between I/O rounds (never inside an
 *    nghttp2 callback); callbacks run at the end of ocl_h2client_poll().
 *
 * Workload: `ocelot gen` — up to ~1,000 concurrent unary calls carrying
 * 1 KB–4 MB messages to 127.0.0.1, tens of thousands per second, from one
 * thread. Windows are large (16 MiB) so a 4 MiB message never waits for a
 * WINDOW_UPDATE round trip from our side.
 */
#include "cli/h2client.h"
#include "core/buf.h"
#include "core/time.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define OUT_HIGH (1u << 20)   /* queued output bytes above which send_cb refuses */
#define READ_CHUNK (1u << 16) /* recv() size */
#define READS_PER_ROUND 64    /* recv() calls per connection per poll round */
#define IOV_BATCH 64          /* segments per writev() */

typedef struct conn conn_t;
typedef struct call call_t;

struct call {
    ocl_h2client_t *cli;       /* owner */
    conn_t *conn;              /* connection while linked, else NULL */
    call_t *prev, *next;       /* in conn->calls while linked */
    call_t *done_next;         /* in cli's done list while finished and unreported */
    bool linked;               /* in conn->calls (nghttp2 may hold it as stream user data) */
    bool finished;             /* outcome decided */
    bool reported;             /* callback has run */
    bool remote_ended;         /* the server ended its side of the stream */
    int32_t stream_id;         /* 0 until submitted */
    const unsigned char *body; /* borrowed request body */
    size_t len;                /* body length */
    size_t read_off;           /* body bytes handed to nghttp2 */
    size_t send_off;           /* body bytes queued as segments */
    uint32_t timeout_ms;       /* as requested, for the error text */
    uint64_t deadline;         /* monotonic ns; UINT64_MAX = none */
    ocl_h2client_done_fn done; /* completion callback */
    void *ud;                  /* its argument */
    int error;                 /* result: 0 or OCL_EIO */
    bool timed_out;            /* result: timeout expired */
    char err[128];             /* result: error text */
    int http_status;           /* result: :status */
    int grpc_status;           /* result: grpc-status, -1 if none */
    char grpc_msg[256];        /* result: grpc-message, decoded */
    double retry_after;        /* result: Retry-After seconds, -1 if none */
    ocl_buf_t resp;            /* result: response DATA */
};

/* One piece of queued output: borrowed body bytes or a range of `stage`. */
typedef struct {
    const unsigned char *p; /* borrowed bytes, or NULL: bytes at stage.p + off */
    size_t off;             /* offset in stage when p == NULL */
    size_t len;             /* bytes not yet written */
    call_t *owner;          /* call whose body p points into; NULL for stage */
} seg_t;

struct conn {
    ocl_h2client_t *cli; /* owner */
    conn_t *prev, *next; /* in cli->conns */
    int fd;              /* non-blocking socket, -1 if none */
    nghttp2_session *s;  /* client session */
    bool connecting;     /* non-blocking connect() in progress */
    bool goaway;         /* no new streams (GOAWAY received, ids exhausted) */
    bool dead;           /* to be destroyed at the end of the I/O round */
    char why[96];        /* why it died: error text for its calls */
    call_t *calls;       /* linked calls (streams) */
    uint32_t active;     /* linked calls not yet finished */
    seg_t *segs;         /* output queue; segs[head..n) pending */
    size_t n_segs;       /* used entries */
    size_t head;         /* first pending entry */
    size_t cap_segs;     /* allocated entries */
    size_t queued;       /* pending output bytes */
    ocl_buf_t stage;     /* owned output bytes (frames, DATA headers, pinned bodies) */
};

struct ocl_h2client {
    struct sockaddr_storage addr;  /* resolved endpoint */
    socklen_t addr_len;            /* its length */
    char *authority;               /* ":authority", host:port as given */
    nghttp2_nv *extra;             /* extra headers, names lowercase (owned strings) */
    size_t n_extra;                /* their count */
    uint32_t max_conns;            /* cfg.max_connections */
    uint32_t per_conn;             /* cfg.streams_per_connection */
    uint32_t window;               /* cfg.window_bytes */
    size_t max_resp;               /* cfg.max_response_bytes */
    nghttp2_session_callbacks *cb; /* shared by all sessions */
    conn_t *conns;                 /* open connections */
    uint32_t n_conns;              /* their count */
    call_t *done_head, *done_tail; /* finished calls awaiting their callback (FIFO) */
    size_t pending;                /* calls whose callback has not run */
    struct pollfd *pfd;            /* poll() scratch */
    conn_t **pconn;                /* connection of each pfd entry */
    size_t cap_pfd;                /* allocated entries of both */
    unsigned char *rbuf;           /* READ_CHUNK receive buffer */
    ocl_h2client_stats_t stats;    /* counters */
};

/* ---- calls ---- */

static void call_free(call_t *k)
{
    ocl_buf_dispose(&k->resp);
    ocl_free(k);
}

static void link_call(conn_t *cn, call_t *k)
{
    k->conn = cn;
    k->prev = NULL;
    k->next = cn->calls;
    if (cn->calls) cn->calls->prev = k;
    cn->calls = k;
    k->linked = true;
    cn->active++;
}

static void unlink_call(call_t *k)
{
    conn_t *cn = k->conn;
    if (!k->linked) return;
    if (k->prev)
        k->prev->next = k->next;
    else
        cn->calls = k->next;
    if (k->next) k->next->prev = k->prev;
    if (!k->finished) cn->active--;
    k->prev = k->next = NULL;
    k->linked = false;
    k->conn = NULL;
}

/* Copies the call's still-queued body bytes into stage so that the caller
 * may free the body once the callback has run. */
static void pin_body(conn_t *cn, call_t *k)
{
    for (size_t i = cn->head; i < cn->n_segs; i++) {
        seg_t *sg = &cn->segs[i];
        if (sg->owner != k) continue;
        size_t off = cn->stage.len;
        ocl_buf_append(&cn->stage, sg->p, sg->len);
        sg->p = NULL;
        sg->off = off;
        sg->owner = NULL;
    }
}

/* Decides the outcome (error 0 = the response as received) and queues the
 * callback. Idempotent. */
static void finish(call_t *k, int error, const char *text)
{
    if (k->finished) return;
    if (k->linked) {
        pin_body(k->conn, k);
        k->conn->active--;
    }
    k->finished = true;
    k->error = error;
    if (error) snprintf(k->err, sizeof(k->err), "%s", text ? text : "transport error");
    ocl_h2client_t *c = k->cli;
    k->done_next = NULL;
    if (c->done_tail)
        c->done_tail->done_next = k;
    else
        c->done_head = k;
    c->done_tail = k;
}

static call_t *find_call(conn_t *cn, int32_t id)
{
    for (call_t *k = cn->calls; k; k = k->next)
        if (k->stream_id == id) return k;
    return NULL;
}

/* ---- output queue ---- */

static seg_t *seg_push(conn_t *cn)
{
    if (cn->n_segs == cn->cap_segs) {
        cn->cap_segs = cn->cap_segs ? cn->cap_segs * 2 : 64;
        cn->segs = ocl_realloc(cn->segs, cn->cap_segs * sizeof(*cn->segs));
    }
    return &cn->segs[cn->n_segs++];
}

static void stage_bytes(conn_t *cn, const void *p, size_t n)
{
    if (!n) return;
    size_t off = cn->stage.len;
    ocl_buf_append(&cn->stage, p, n);
    cn->queued += n;
    if (cn->n_segs > cn->head) {
        seg_t *last = &cn->segs[cn->n_segs - 1];
        if (!last->p && last->off + last->len == off) { /* extend the last stage range */
            last->len += n;
            return;
        }
    }
    seg_t *sg = seg_push(cn);
    *sg = (seg_t){NULL, off, n, NULL};
}

static void mark_dead(conn_t *cn, const char *why)
{
    if (cn->dead) return;
    cn->dead = true;
    snprintf(cn->why, sizeof(cn->why), "%s", why);
}

/* Drops written bytes from the front of stage and segs (when output never
 * fully drains, both would otherwise grow without bound). */
static void compact(conn_t *cn)
{
    size_t min_off = cn->stage.len;
    for (size_t i = cn->head; i < cn->n_segs; i++)
        if (!cn->segs[i].p && cn->segs[i].off < min_off) min_off = cn->segs[i].off;
    if (min_off) {
        memmove(cn->stage.p, cn->stage.p + min_off, cn->stage.len - min_off);
        cn->stage.len -= min_off;
        for (size_t i = cn->head; i < cn->n_segs; i++)
            if (!cn->segs[i].p) cn->segs[i].off -= min_off;
    }
    memmove(cn->segs, cn->segs + cn->head, (cn->n_segs - cn->head) * sizeof(*cn->segs));
    cn->n_segs -= cn->head;
    cn->head = 0;
}

/* Writes queued segments until the socket would block. */
static void flush_out(conn_t *cn)
{
    while (cn->head < cn->n_segs) {
        struct iovec iov[IOV_BATCH];
        int n = 0;
        for (size_t i = cn->head; i < cn->n_segs && n < IOV_BATCH; i++, n++) {
            seg_t *sg = &cn->segs[i];
            iov[n].iov_base = (void *)(sg->p ? sg->p : cn->stage.p + sg->off);
            iov[n].iov_len = sg->len;
        }
        ssize_t w = writev(cn->fd, iov, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (cn->head >= 1024 || cn->stage.len >= (256u << 10)) compact(cn);
                return;
            }
            char t[96];
            snprintf(t, sizeof(t), "send: %s", strerror(errno));
            mark_dead(cn, t);
            return;
        }
        size_t left = (size_t)w;
        cn->queued -= left;
        while (left) {
            seg_t *sg = &cn->segs[cn->head];
            size_t k = OCL_MIN(left, sg->len);
            if (sg->p)
                sg->p += k;
            else
                sg->off += k;
            sg->len -= k;
            left -= k;
            if (!sg->len) cn->head++;
        }
    }
    cn->head = cn->n_segs = 0;
    cn->stage.len = 0;
}

/* Moves what nghttp2 has to send into the queue and the queue to the
 * socket, until either blocks. */
static void pump(conn_t *cn)
{
    if (cn->dead) return;
    for (int round = 0; round < 16; round++) {
        int rv = nghttp2_session_send(cn->s);
        if (rv) {
            mark_dead(cn, nghttp2_strerror(rv));
            return;
        }
        if (cn->connecting) return; /* queued until the connection is up */
        flush_out(cn);
        if (cn->dead || cn->queued || !nghttp2_session_want_write(cn->s)) return;
    }
}

/* ---- nghttp2 callbacks ---- */

static ssize_t send_cb(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *ud)
{
    conn_t *cn = ud;
    if (cn->queued >= OUT_HIGH) return NGHTTP2_ERR_WOULDBLOCK;
    stage_bytes(cn, data, len);
    return (ssize_t)len;
}

static int send_data_cb(nghttp2_session *s, nghttp2_frame *frame, const uint8_t *framehd,
                        size_t length, nghttp2_data_source *src, void *ud)
{
    conn_t *cn = ud;
    call_t *k = src->ptr;
    size_t padlen = frame->data.padlen;
    stage_bytes(cn, framehd, 9);
    if (padlen) {
        uint8_t pl = (uint8_t)(padlen - 1);
        stage_bytes(cn, &pl, 1);
    }
    if (length) {
        seg_t *sg = seg_push(cn);
        *sg = (seg_t){k->body + k->send_off, 0, length, k};
        k->send_off += length;
        cn->queued += length;
    }
    if (padlen > 1) {
        static const uint8_t zeros[256];
        stage_bytes(cn, zeros, padlen - 1);
    }
    return 0;
}

static ssize_t read_cb(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
                       nghttp2_data_source *src, void *ud)
{
    call_t *k = src->ptr;
    if (k->finished) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* body may be gone */
    size_t n = OCL_MIN(length, k->len - k->read_off);
    k->read_off += n;
    *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    if (k->read_off == k->len) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static int parse_int(const uint8_t *v, size_t n, int *out)
{
    if (!n || n > 9) return -1;
    int x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') return -1;
        x = x * 10 + (v[i] - '0');
    }
    *out = x;
    return 0;
}

static int hexval(uint8_t ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* grpc-message is percent-encoded; invalid escapes are kept as they are. */
static void pct_decode(const uint8_t *v, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        int hi, lo;
        if (v[i] == '%' && i + 2 < n && (hi = hexval(v[i + 1])) >= 0 &&
            (lo = hexval(v[i + 2])) >= 0) {
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = (char)v[i];
        }
    }
    out[o] = 0;
}

static bool name_is(const uint8_t *name, size_t n, const char *lit)
{
    return strlen(lit) == n && !memcmp(name, lit, n);
}

static int on_header_cb(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
                        size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                        void *ud)
{
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    call_t *k = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
    if (!k || k->finished) return 0;
    int x;
    if (name_is(name, namelen, ":status")) {
        if (parse_int(value, valuelen, &x) == 0) k->http_status = x;
    } else if (name_is(name, namelen, "grpc-status")) {
        if (parse_int(value, valuelen, &x) == 0) k->grpc_status = x;
    } else if (name_is(name, namelen, "grpc-message")) {
        pct_decode(value, valuelen, k->grpc_msg, sizeof(k->grpc_msg));
    } else if (name_is(name, namelen, "retry-after")) {
        if (parse_int(value, valuelen, &x) == 0 && x < 3600) k->retry_after = x;
    }
    return 0;
}

static int on_data_cb(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
                      size_t len, void *ud)
{
    call_t *k = nghttp2_session_get_stream_user_data(s, id);
    if (!k || k->finished) return 0;
    if (k->resp.len + len > k->cli->max_resp) {
        finish(k, OCL_EIO, "response larger than the client's bound");
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
        return 0;
    }
    ocl_buf_append(&k->resp, data, len);
    return 0;
}

static int on_frame_recv_cb(nghttp2_session *s, const nghttp2_frame *frame, void *ud)
{
    conn_t *cn = ud;
    if (frame->hd.type == NGHTTP2_GOAWAY) {
        cn->goaway = true;
        cn->cli->stats.goaways++;
        return 0;
    }
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        call_t *k = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
        if (k) k->remote_ended = true;
    }
    return 0;
}

static int on_stream_close_cb(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
    call_t *k = nghttp2_session_get_stream_user_data(s, id);
    if (!k) return 0;
    if (!k->finished) {
        if (k->remote_ended && k->http_status) {
            finish(k, 0, NULL);
        } else {
            char t[96];
            if (code == NGHTTP2_REFUSED_STREAM)
                snprintf(t, sizeof(t), "stream refused by the server (not processed)");
            else if (code)
                snprintf(t, sizeof(t), "stream reset: %s", nghttp2_http2_strerror(code));
            else
                snprintf(t, sizeof(t), "stream closed without a complete response");
            finish(k, OCL_EIO, t);
        }
    }
    nghttp2_session_set_stream_user_data(s, id, NULL);
    unlink_call(k);
    if (k->reported) call_free(k);
    return 0;
}

static int on_not_send_cb(nghttp2_session *s, const nghttp2_frame *frame, int lib_error, void *ud)
{
    conn_t *cn = ud;
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    call_t *k = find_call(cn, frame->hd.stream_id);
    if (!k) return 0;
    char t[96];
    snprintf(t, sizeof(t), "request not sent: %s", nghttp2_strerror(lib_error));
    finish(k, OCL_EIO, t);
    if (!nghttp2_session_find_stream(s, k->stream_id)) {
        /* never opened (e.g. cancelled before it was sent): nghttp2 will not
         * report its close, so it is released here */
        unlink_call(k);
        if (k->reported) call_free(k);
    }
    return 0;
}

/* ---- connections ---- */

static void conn_destroy(conn_t *cn)
{
    ocl_h2client_t *c = cn->cli;
    const char *why = cn->why[0] ? cn->why : "connection closed";
    if (cn->active) c->stats.connections_failed++;
    while (cn->calls) {
        call_t *k = cn->calls;
        finish(k, OCL_EIO, why);
        unlink_call(k);
        if (k->reported) call_free(k);
    }
    if (cn->s) nghttp2_session_del(cn->s);
    if (cn->fd >= 0) close(cn->fd);
    ocl_free(cn->segs);
    ocl_buf_dispose(&cn->stage);
    if (cn->prev)
        cn->prev->next = cn->next;
    else
        c->conns = cn->next;
    if (cn->next) cn->next->prev = cn->prev;
    c->n_conns--;
    c->stats.connections_open = c->n_conns;
    ocl_free(cn);
}

/* Opens a connection (connect() may still be in progress). On failure the
 * connection is returned marked dead, so that its calls fail uniformly. */
static conn_t *conn_open(ocl_h2client_t *c)
{
    conn_t *cn = ocl_calloc(1, sizeof(*cn));
    cn->cli = c;
    cn->fd = -1;
    ocl_buf_init(&cn->stage);
    cn->next = c->conns;
    if (c->conns) c->conns->prev = cn;
    c->conns = cn;
    c->n_conns++;
    c->stats.connections_opened++;
    c->stats.connections_open = c->n_conns;
    char t[96];
    int one = 1;
    if (nghttp2_session_client_new(&cn->s, c->cb, cn) != 0) {
        cn->s = NULL;
        mark_dead(cn, "nghttp2 session allocation failed");
        return cn;
    }
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, c->window},
    };
    if (nghttp2_submit_settings(cn->s, NGHTTP2_FLAG_NONE, iv, OCL_ARRAY_LEN(iv)) != 0 ||
        nghttp2_session_set_local_window_size(cn->s, NGHTTP2_FLAG_NONE, 0, (int32_t)c->window)) {
        mark_dead(cn, "cannot submit HTTP/2 settings");
        return cn;
    }
    cn->fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (cn->fd < 0) {
        snprintf(t, sizeof(t), "socket: %s", strerror(errno));
        mark_dead(cn, t);
        return cn;
    }
    setsockopt(cn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(cn->fd, (struct sockaddr *)&c->addr, c->addr_len) != 0) {
        if (errno != EINPROGRESS) {
            snprintf(t, sizeof(t), "connect: %s", strerror(errno));
            mark_dead(cn, t);
            return cn;
        }
        cn->connecting = true;
    }
    return cn;
}

/* Streams this connection may carry now. */
static uint32_t conn_cap(const ocl_h2client_t *c, conn_t *cn)
{
    uint32_t peer =
        nghttp2_session_get_remote_settings(cn->s, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
    return OCL_MIN(c->per_conn, peer);
}

/* A connection for one more stream: the least loaded usable one with room,
 * else a new one, else (at max_connections) the least loaded usable one. */
static conn_t *conn_pick(ocl_h2client_t *c)
{
    conn_t *room = NULL, *any = NULL;
    uint32_t usable = 0;
    for (conn_t *cn = c->conns; cn; cn = cn->next) {
        if (cn->dead || cn->goaway) continue;
        usable++;
        if (!any || cn->active < any->active) any = cn;
        if (cn->active < conn_cap(c, cn) && (!room || cn->active < room->active)) room = cn;
    }
    if (room) return room;
    if (usable < c->max_conns || !any) return conn_open(c);
    return any;
}

static void conn_read(conn_t *cn)
{
    ocl_h2client_t *c = cn->cli;
    for (int i = 0; i < READS_PER_ROUND; i++) {
        ssize_t n = recv(cn->fd, c->rbuf, READ_CHUNK, 0);
        if (n > 0) {
            ssize_t rv = nghttp2_session_mem_recv(cn->s, c->rbuf, (size_t)n);
            if (rv < 0) {
                char t[96];
                snprintf(t, sizeof(t), "HTTP/2 error: %s", nghttp2_strerror((int)rv));
                mark_dead(cn, t);
                return;
            }
            if ((size_t)n < READ_CHUNK) return;
            continue;
        }
        if (n == 0) {
            mark_dead(cn, cn->goaway ? "connection closed by the server after GOAWAY"
                                     : "connection closed by the server");
            return;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        char t[96];
        snprintf(t, sizeof(t), "recv: %s", strerror(errno));
        mark_dead(cn, t);
        return;
    }
}

/* Fails calls whose deadline passed; returns the earliest remaining one. */
static uint64_t expire(ocl_h2client_t *c, uint64_t now)
{
    uint64_t next = UINT64_MAX;
    for (conn_t *cn = c->conns; cn; cn = cn->next) {
        for (call_t *k = cn->calls; k; k = k->next) {
            if (k->finished || k->deadline == UINT64_MAX) continue;
            if (k->deadline > now) {
                if (k->deadline < next) next = k->deadline;
                continue;
            }
            char t[64];
            snprintf(t, sizeof(t), "timeout after %u ms", k->timeout_ms);
            finish(k, OCL_EIO, t);
            k->timed_out = true;
            if (!cn->dead && k->stream_id > 0)
                nghttp2_submit_rst_stream(cn->s, NGHTTP2_FLAG_NONE, k->stream_id, NGHTTP2_CANCEL);
        }
    }
    return next;
}

/* Destroys dead connections and quiet ones that cannot be used again. */
static void reap(ocl_h2client_t *c)
{
    conn_t *next;
    for (conn_t *cn = c->conns; cn; cn = next) {
        next = cn->next;
        if (!cn->dead && !cn->connecting) {
            if (cn->goaway && !cn->active && !cn->queued)
                mark_dead(cn, "connection closed after GOAWAY");
            else if (!nghttp2_session_want_read(cn->s) && !nghttp2_session_want_write(cn->s) &&
                     !cn->queued)
                mark_dead(cn, "HTTP/2 session ended");
        }
        if (cn->dead) conn_destroy(cn);
    }
}

static int run_callbacks(ocl_h2client_t *c)
{
    int n = 0;
    while (c->done_head) {
        call_t *k = c->done_head;
        c->done_head = k->done_next;
        if (!c->done_head) c->done_tail = NULL;
        ocl_h2client_result_t r = {
            .error = k->error,
            .timed_out = k->timed_out,
            .error_text = k->error ? k->err : NULL,
            .http_status = k->http_status,
            .grpc_status = k->grpc_status,
            .grpc_message = k->grpc_msg,
            .retry_after = k->retry_after,
            .body = k->resp.p,
            .body_len = k->resp.len,
        };
        k->reported = true;
        c->pending--;
        k->done(k->ud, &r);
        n++;
        if (!k->linked) call_free(k);
    }
    return n;
}

/* ---- public API ---- */

/* Splits "http://host:port/..." into host and port; [v6] hosts allowed. */
static int parse_endpoint(const char *ep, char *host, size_t hcap, char *port, size_t pcap,
                          const char **auth_start, size_t *auth_len, const char **err)
{
    const char *p = ep;
    if (!strncmp(p, "http://", 7)) {
        p += 7;
    } else if (strstr(p, "://")) {
        *err = "only http:// endpoints are supported (h2c with prior knowledge)";
        return OCL_EUNSUPP;
    }
    size_t alen = strcspn(p, "/?#");
    *auth_start = p;
    *auth_len = alen;
    const char *h = p, *he, *ps;
    if (*p == '[') {
        const char *rb = memchr(p, ']', alen);
        if (!rb) goto bad;
        h = p + 1;
        he = rb;
        ps = rb + 1;
    } else {
        he = memchr(p, ':', alen);
        if (!he) he = p + alen;
        ps = he;
    }
    size_t hn = (size_t)(he - h);
    if (!hn || hn >= hcap) goto bad;
    memcpy(host, h, hn);
    host[hn] = 0;
    size_t rest = alen - (size_t)(ps - p);
    if (rest == 0) {
        snprintf(port, pcap, "80");
        return 0;
    }
    if (*ps != ':' || rest < 2 || rest - 1 >= pcap) goto bad;
    memcpy(port, ps + 1, rest - 1);
    port[rest - 1] = 0;
    for (const char *d = port; *d; d++)
        if (*d < '0' || *d > '9') goto bad;
    return 0;
bad:
    *err = "malformed endpoint (want http://host:port)";
    return OCL_EINVAL;
}

ocl_h2client_t *ocl_h2client_create(const ocl_h2client_cfg_t *cfg, const char **err)
{
    const char *dummy;
    if (!err) err = &dummy;
    *err = NULL;
    char host[256], port[16];
    const char *auth;
    size_t auth_len;
    if (!cfg || !cfg->endpoint) {
        *err = "no endpoint";
        return NULL;
    }
    if (parse_endpoint(cfg->endpoint, host, sizeof(host), port, sizeof(port), &auth, &auth_len,
                       err))
        return NULL;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0 || !res) {
        *err = "cannot resolve the endpoint's host";
        return NULL;
    }
    ocl_h2client_t *c = ocl_calloc(1, sizeof(*c));
    memcpy(&c->addr, res->ai_addr, res->ai_addrlen);
    c->addr_len = res->ai_addrlen;
    freeaddrinfo(res);
    c->authority = ocl_strndup(auth, auth_len);
    c->max_conns = cfg->max_connections ? cfg->max_connections : 64;
    c->per_conn = cfg->streams_per_connection ? cfg->streams_per_connection : 100;
    c->window = cfg->window_bytes ? OCL_MIN(cfg->window_bytes, (uint32_t)INT32_MAX) : 16u << 20;
    c->max_resp = cfg->max_response_bytes ? cfg->max_response_bytes : 8u << 20;
    c->n_extra = cfg->n_headers;
    c->extra = ocl_calloc(cfg->n_headers + 1, sizeof(nghttp2_nv));
    for (size_t i = 0; i < cfg->n_headers; i++) {
        const ocl_header_t *h = &cfg->headers[i];
        char *name = ocl_strndup(h->name, h->name_len);
        for (char *q = name; *q; q++)
            if (*q >= 'A' && *q <= 'Z') *q = (char)(*q - 'A' + 'a');
        c->extra[i] = (nghttp2_nv){(uint8_t *)name, (uint8_t *)ocl_strndup(h->value, h->value_len),
                                   h->name_len, h->value_len,
                                   NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE};
    }
    c->rbuf = ocl_malloc(READ_CHUNK);
    nghttp2_session_callbacks_new(&c->cb);
    nghttp2_session_callbacks_set_send_callback(c->cb, send_cb);
    nghttp2_session_callbacks_set_send_data_callback(c->cb, send_data_cb);
    nghttp2_session_callbacks_set_on_header_callback(c->cb, on_header_cb);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(c->cb, on_data_cb);
    nghttp2_session_callbacks_set_on_frame_recv_callback(c->cb, on_frame_recv_cb);
    nghttp2_session_callbacks_set_on_stream_close_callback(c->cb, on_stream_close_cb);
    nghttp2_session_callbacks_set_on_frame_not_send_callback(c->cb, on_not_send_cb);
    return c;
}

void ocl_h2client_destroy(ocl_h2client_t *c)
{
    if (!c) return;
    while (c->conns) {
        conn_t *cn = c->conns;
        mark_dead(cn, "client destroyed");
        conn_destroy(cn);
    }
    while (c->done_head) { /* dropped without callbacks */
        call_t *k = c->done_head;
        c->done_head = k->done_next;
        call_free(k);
    }
    for (size_t i = 0; i < c->n_extra; i++) {
        ocl_free(c->extra[i].name);
        ocl_free(c->extra[i].value);
    }
    ocl_free(c->extra);
    ocl_free(c->authority);
    ocl_free(c->pfd);
    ocl_free(c->pconn);
    ocl_free(c->rbuf);
    nghttp2_session_callbacks_del(c->cb);
    ocl_free(c);
}

#define NV_LIT(n, v)                                                                               \
    {                                                                                              \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1,                              \
            NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE                           \
    }

int ocl_h2client_call(ocl_h2client_t *c, const char *path, const void *body, size_t len,
                      uint32_t timeout_ms, ocl_h2client_done_fn done, void *ud)
{
    if (!c || !path || path[0] != '/' || !done || (!body && len)) return OCL_EINVAL;
    call_t *k = ocl_calloc(1, sizeof(*k));
    k->cli = c;
    k->body = body;
    k->len = len;
    k->done = done;
    k->ud = ud;
    k->grpc_status = -1;
    k->retry_after = -1;
    k->timeout_ms = timeout_ms;
    k->deadline = timeout_ms ? ocl_mono_nano() + (uint64_t)timeout_ms * 1000000ull : UINT64_MAX;
    ocl_buf_init(&k->resp);
    c->pending++;

    size_t nnv = 6 + c->n_extra;
    nghttp2_nv nva[6 + 32];
    nghttp2_nv *nv = nnv <= OCL_ARRAY_LEN(nva) ? nva : ocl_malloc(nnv * sizeof(*nv));
    nv[0] = (nghttp2_nv)NV_LIT(":method", "POST");
    nv[1] = (nghttp2_nv)NV_LIT(":scheme", "http");
    nv[2] = (nghttp2_nv){(uint8_t *)":authority", (uint8_t *)c->authority, 10, strlen(c->authority),
                         NGHTTP2_NV_FLAG_NO_COPY_NAME};
    nv[3] = (nghttp2_nv){(uint8_t *)":path", (uint8_t *)path, 5, strlen(path),
                         NGHTTP2_NV_FLAG_NO_COPY_NAME};
    nv[4] = (nghttp2_nv)NV_LIT("content-type", "application/grpc");
    nv[5] = (nghttp2_nv)NV_LIT("te", "trailers");
    if (c->n_extra) memcpy(nv + 6, c->extra, c->n_extra * sizeof(*nv));
    nghttp2_data_provider prd;
    prd.source.ptr = k;
    prd.read_callback = read_cb;

    for (int attempt = 0; attempt < 2; attempt++) {
        conn_t *cn = conn_pick(c);
        link_call(cn, k);
        if (cn->dead) break; /* fails with the connection's reason in the next poll */
        int32_t id = nghttp2_submit_request(cn->s, NULL, nv, nnv, &prd, k);
        if (id > 0) {
            k->stream_id = id;
            break;
        }
        unlink_call(k);
        if (id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE) {
            cn->goaway = true; /* ids exhausted: drain it, use another */
            continue;
        }
        finish(k, OCL_EIO, nghttp2_strerror(id));
        break;
    }
    if (!k->linked && !k->finished) finish(k, OCL_EIO, "no usable connection");
    if (nv != nva) ocl_free(nv);
    return 0;
}

int ocl_h2client_poll(ocl_h2client_t *c, int timeout_ms)
{
    for (conn_t *cn = c->conns; cn; cn = cn->next)
        pump(cn);
    reap(c);
    uint64_t now = ocl_mono_nano();
    uint64_t next = expire(c, now);
    for (conn_t *cn = c->conns; cn; cn = cn->next)
        pump(cn); /* RST_STREAMs of expired calls */

    int wait = timeout_ms;
    if (c->done_head) wait = 0;
    if (next != UINT64_MAX) {
        uint64_t ms = next > now ? (next - now + 999999) / 1000000 : 0;
        if (wait < 0 || ms < (uint64_t)wait) wait = (int)OCL_MIN(ms, (uint64_t)INT32_MAX);
    }
    if (c->n_conns > c->cap_pfd) {
        c->cap_pfd = c->n_conns * 2;
        c->pfd = ocl_realloc(c->pfd, c->cap_pfd * sizeof(*c->pfd));
        c->pconn = ocl_realloc(c->pconn, c->cap_pfd * sizeof(*c->pconn));
    }
    nfds_t n = 0;
    for (conn_t *cn = c->conns; cn; cn = cn->next) {
        if (cn->dead || cn->fd < 0) continue;
        short ev = POLLIN;
        if (cn->connecting)
            ev = POLLOUT;
        else if (cn->queued || nghttp2_session_want_write(cn->s))
            ev |= POLLOUT;
        c->pfd[n] = (struct pollfd){cn->fd, ev, 0};
        c->pconn[n++] = cn;
    }
    int pr = n ? poll(c->pfd, n, wait) : 0;
    if (!n && wait > 0 && !c->done_head) poll(NULL, 0, wait); /* nothing open: just sleep */
    if (pr < 0) pr = 0;                                       /* EINTR: treat as a timeout */
    for (nfds_t i = 0; pr > 0 && i < n; i++) {
        conn_t *cn = c->pconn[i];
        short re = c->pfd[i].revents;
        if (!re) continue;
        if (cn->connecting) {
            int e = 0;
            socklen_t el = sizeof(e);
            if (getsockopt(cn->fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0) e = errno;
            if (e) {
                char t[96];
                snprintf(t, sizeof(t), "connect: %s", strerror(e));
                mark_dead(cn, t);
                continue;
            }
            cn->connecting = false;
        }
        if (re & (POLLIN | POLLHUP | POLLERR)) conn_read(cn);
        pump(cn);
    }
    expire(c, ocl_mono_nano());
    for (conn_t *cn = c->conns; cn; cn = cn->next)
        pump(cn);
    reap(c);
    return run_callbacks(c);
}

size_t ocl_h2client_pending(const ocl_h2client_t *c)
{
    return c->pending;
}

void ocl_h2client_stats(const ocl_h2client_t *c, ocl_h2client_stats_t *out)
{
    *out = c->stats;
}
