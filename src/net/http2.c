/*
 * http2.c — HTTP/2 cleartext (prior knowledge) server side of a connection
 * on top of nghttp2, and unary gRPC over it.
 *
 * Bytes in: nghttp2_session_mem_recv() straight from the read buffer. Bytes
 * out: nghttp2_session_mem_send() gathered into one heap block per flush and
 * handed to conn->io->write(); flushing pauses while more than
 * OCL_NET_MAX_PENDING_WRITE bytes are unsent (resumed by ocl_conn_drained).
 *
 * Invariants:
 *  - one h2_stream_t per accepted request stream, at most limits.max_streams
 *    per connection counting streams whose handler has not answered yet
 *    (more are refused with RST_STREAM REFUSED_STREAM), so a stream or
 *    reset flood cannot grow memory;
 *  - a stream's request memory (headers, body, message) lives until both
 *    nghttp2 has closed the stream and the handler has answered;
 *  - request bodies are bounded while they arrive: max_grpc_msg_bytes + 5
 *    for gRPC, max_body_bytes otherwise; errors answer at once and the rest
 *    of the stream is reset (RST_STREAM NO_ERROR after our END_STREAM).
 *
 * Tuned for: OTLP/gRPC exporters — a few connections, each with a handful of
 * concurrent unary calls carrying 100 KB - 4 MB messages; windows are large
 * (1 MiB per stream, 8 MiB per connection) so a message needs few round trips.
 */
#include "net/conn.h"

#include <nghttp2/nghttp2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define H2_STREAM_WINDOW (1 << 20)
#define H2_CONN_WINDOW (8 << 20)

enum { HI_METHOD, HI_PATH, HI_CTYPE, HI_ENC, HI_ACCEPT_ENC, HI_N };

struct h2_stream {
    ocl_conn_t *conn;         /* owning connection */
    h2_stream_t *next, *prev; /* conn->u.h2.streams list (unlinked when orphaned) */
    int32_t id;               /* HTTP/2 stream id */
    ocl_buf_t hbytes;         /* header names and values, back to back */
    size_t *hoff;             /* per header: name off, name len, value off, value len */
    size_t n_hdr, cap_hdr;    /* headers stored / room in hoff */
    int hidx[HI_N];           /* index into hoff of interesting headers, -1 if absent */
    size_t hdr_bytes;         /* header list size as HTTP/2 counts it */
    ocl_header_t *hdrs;       /* finalized regular (non-pseudo) headers */
    size_t n_regular;         /* entries in hdrs */
    ocl_buf_t body;           /* collected DATA */
    size_t buffered;          /* bytes of body counted in u.h2.buffered */
    ocl_buf_t scratch;        /* decompressed gRPC message */
    ocl_buf_t out;            /* response body (or framed gRPC message) being sent */
    size_t out_off;           /* bytes of `out` already given to nghttp2 */
    ocl_http_req_t req;       /* when dispatched as HTTP */
    ocl_grpc_call_t call;     /* when dispatched as gRPC */
    int err_status;           /* request-level problem found while receiving (431) */
    bool is_grpc;             /* content-type application/grpc* */
    bool head_done;           /* request HEADERS complete (hdrs finalized) */
    bool remote_done;         /* END_STREAM received */
    bool answered;            /* a response was submitted */
    bool dispatched;          /* handed to a handler that has not answered */
    bool trailers;            /* send grpc-status: 0 trailers after `out` */
    bool closed;              /* nghttp2 closed the stream */
    bool orphan;              /* connection is gone; freed when the handler answers */
};

static nghttp2_session_callbacks *g_cbs;
static nghttp2_option *g_opt;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void flush(ocl_conn_t *c);

/* --- stream bookkeeping -------------------------------------------------- */

static void stream_free(h2_stream_t *st)
{
    ocl_conn_t *c = st->conn;
    if (!st->orphan) {
        if (st->prev)
            st->prev->next = st->next;
        else
            c->u.h2.streams = st->next;
        if (st->next) st->next->prev = st->prev;
        c->u.h2.n_streams--;
        c->u.h2.buffered -= st->buffered;
        ocl_bufpool_put(c->pool, &st->body);
    } else {
        ocl_buf_dispose(&st->body);
    }
    ocl_buf_dispose(&st->hbytes);
    ocl_buf_dispose(&st->scratch);
    ocl_buf_dispose(&st->out);
    free(st->hoff);
    free(st->hdrs);
    free(st);
}

static ocl_str_t hval(const h2_stream_t *st, int which)
{
    int i = st->hidx[which];
    if (i < 0) return OCL_STR_NULL;
    const size_t *o = st->hoff + 4 * i;
    return (ocl_str_t){(const char *)st->hbytes.p + o[2], o[3]};
}

/* --- submitting responses ------------------------------------------------ */

static ssize_t data_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
                         uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    h2_stream_t *st = src->ptr;
    size_t n = OCL_MIN(length, st->out.len - st->out_off);
    if (n) memcpy(buf, st->out.p + st->out_off, n);
    st->out_off += n;
    if (st->out_off == st->out.len) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (st->trailers) {
            static const nghttp2_nv tr[] = {
                {(uint8_t *)"grpc-status", (uint8_t *)"0", 11, 1, NGHTTP2_NV_FLAG_NONE}};
            if (nghttp2_submit_trailer(s, id, tr, 1) == 0)
                *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        }
    }
    return (ssize_t)n;
}

#define NV(n, v, vl)                                                                               \
    ((nghttp2_nv){(uint8_t *)(n), (uint8_t *)(v), strlen(n), (vl), NGHTTP2_NV_FLAG_NONE})

/* Once the answer is queued (the response bytes were copied into st->out
 * and nghttp2 copied the headers), the request's bytes are dead: give them back now rather than
 * when the client closes the stream, so the per-connection cap counts only live requests. */
static void release_request(h2_stream_t *st)
{
    ocl_conn_t *c = st->conn;
    c->u.h2.buffered -= st->buffered;
    st->buffered = 0;
    ocl_bufpool_put(c->pool, &st->body);
    ocl_buf_dispose(&st->scratch);
}

static void submit(h2_stream_t *st, const nghttp2_nv *nva, size_t n, bool with_data)
{
    ocl_conn_t *c = st->conn;
    nghttp2_data_provider prd = {.source.ptr = st, .read_callback = data_read};
    st->answered = true;
    st->out_off = 0;
    int rv = nghttp2_submit_response(c->u.h2.session, st->id, nva, n, with_data ? &prd : NULL);
    if (rv != 0)
        nghttp2_submit_rst_stream(c->u.h2.session, NGHTTP2_FLAG_NONE, st->id,
                                  NGHTTP2_INTERNAL_ERROR);
    release_request(st); /* before flush: it may complete and free the stream */
    if (!c->u.h2.in_recv) flush(c);
}

static void http_submit(h2_stream_t *st, int status, const char *ctype, const ocl_header_t *extra,
                        size_t n_extra, const void *body, size_t len)
{
    char sbuf[8], lbuf[24];
    snprintf(sbuf, sizeof sbuf, "%d", status);
    snprintf(lbuf, sizeof lbuf, "%zu", len);
    /* HTTP/2 header names must be lowercase: copy extras lowercased. */
    size_t names = 0;
    for (size_t i = 0; i < n_extra; i++)
        names += extra[i].name_len;
    char *low = ocl_malloc(names + 1);
    nghttp2_nv *nva = ocl_malloc((3 + n_extra) * sizeof *nva);
    size_t n = 0, at = 0;
    nva[n++] = NV(":status", sbuf, strlen(sbuf));
    if (ctype) nva[n++] = NV("content-type", ctype, strlen(ctype));
    nva[n++] = NV("content-length", lbuf, strlen(lbuf));
    for (size_t i = 0; i < n_extra; i++) {
        for (size_t k = 0; k < extra[i].name_len; k++) {
            char ch = extra[i].name[k];
            low[at + k] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
        }
        nva[n++] = (nghttp2_nv){(uint8_t *)low + at, (uint8_t *)(uintptr_t)extra[i].value,
                                extra[i].name_len, extra[i].value_len, NGHTTP2_NV_FLAG_NONE};
        at += extra[i].name_len;
    }
    st->out.len = 0;
    ocl_buf_append(&st->out, body, len);
    st->trailers = false;
    submit(st, nva, n, len > 0);
    free(nva);
    free(low);
}

static void grpc_submit(h2_stream_t *st, int status, const char *message, const void *resp,
                        size_t len)
{
    nghttp2_nv nva[8];
    size_t n = 0;
    nva[n++] = NV(":status", "200", 3);
    nva[n++] = NV("content-type", "application/grpc", 16);
    nva[n++] = NV("grpc-accept-encoding", "identity,gzip", 13);
    if (status == OCL_GRPC_OK) {
        ocl_str_t acc = hval(st, HI_ACCEPT_ENC);
        bool gz = len > 1024 && acc.n && memmem(acc.p, acc.n, "gzip", 4) != NULL;
        st->out.len = 0;
        ocl_grpc_frame(resp, len, gz, &st->out);
        if (st->out.p[0] == 1) nva[n++] = NV("grpc-encoding", "gzip", 4);
        st->trailers = true;
        submit(st, nva, n, true);
        return;
    }
    char sbuf[12];
    snprintf(sbuf, sizeof sbuf, "%d", status);
    nva[n++] = NV("grpc-status", sbuf, strlen(sbuf));
    ocl_buf_t m;
    ocl_buf_init(&m);
    if (message && *message) {
        ocl_grpc_pct_encode(message, &m);
        nva[n++] = NV("grpc-message", m.p, m.len);
    }
    st->trailers = false;
    submit(st, nva, n, false); /* trailers-only: HEADERS with END_STREAM */
    ocl_buf_dispose(&m);
}

/* --- dispatch ------------------------------------------------------------ */

static void finalize_headers(h2_stream_t *st)
{
    st->head_done = true;
    st->hdrs = ocl_malloc((st->n_hdr ? st->n_hdr : 1) * sizeof(ocl_header_t));
    const char *b = (const char *)st->hbytes.p;
    size_t k = 0;
    for (size_t i = 0; i < st->n_hdr; i++) {
        const size_t *o = st->hoff + 4 * i;
        if (o[1] && b[o[0]] == ':') continue;
        st->hdrs[k++] = (ocl_header_t){b + o[0], o[1], b + o[2], o[3]};
    }
    st->n_regular = k;
    ocl_str_t ct = hval(st, HI_CTYPE);
    st->is_grpc = ct.n >= 16 && strncasecmp(ct.p, "application/grpc", 16) == 0 &&
                  (ct.n == 16 || ct.p[16] == '+' || ct.p[16] == ';');
}

static void dispatch(h2_stream_t *st)
{
    ocl_conn_t *c = st->conn;
    const ocl_listener_cfg_t *l = c->lcfg;
    ocl_str_t method = hval(st, HI_METHOD), path = hval(st, HI_PATH);
    if (st->err_status) {
        if (st->is_grpc)
            grpc_submit(st, OCL_GRPC_RESOURCE_EXHAUSTED, "request headers too large", NULL, 0);
        else
            http_submit(st, 431, "text/plain; charset=utf-8", NULL, 0,
                        "request header fields too large\n", 32);
        return;
    }
    if (st->is_grpc) {
        if (!ocl_str_eq_c(method, "POST")) {
            static const char m[] = "gRPC requires POST\n";
            http_submit(st, 405, "text/plain; charset=utf-8", NULL, 0, m, sizeof m - 1);
            return;
        }
        if (!l || !l->grpc) {
            grpc_submit(st, OCL_GRPC_UNIMPLEMENTED, "unknown service", NULL, 0);
            return;
        }
        const unsigned char *msg;
        size_t msg_len;
        const char *err = NULL;
        int rc =
            ocl_grpc_unframe(st->body.p, st->body.len, hval(st, HI_ENC),
                             c->limits->max_grpc_msg_bytes, &st->scratch, &msg, &msg_len, &err);
        if (rc != OCL_GRPC_OK) {
            grpc_submit(st, rc, err, NULL, 0);
            return;
        }
        st->call = (ocl_grpc_call_t){.path = path,
                                     .headers = st->hdrs,
                                     .n_headers = st->n_regular,
                                     .msg = msg,
                                     .msg_len = msg_len,
                                     .conn_priv = st};
        st->dispatched = true;
        c->refs++;
        l->grpc(&st->call, l->ud);
        return;
    }
    ocl_http_req_t *r = &st->req;
    memset(r, 0, sizeof *r);
    r->method = method;
    const char *q = path.n ? memchr(path.p, '?', path.n) : NULL;
    r->path = q ? (ocl_str_t){path.p, (size_t)(q - path.p)} : path;
    r->query = q ? (ocl_str_t){q + 1, path.n - (size_t)(q - path.p) - 1} : (ocl_str_t){"", 0};
    r->headers = st->hdrs;
    r->n_headers = st->n_regular;
    r->body = st->body.p ? st->body.p : (const unsigned char *)"";
    r->body_len = st->body.len;
    r->http2 = true;
    r->conn_priv = st;
    st->dispatched = true;
    c->refs++;
    if (l && l->http) {
        l->http(r, l->ud);
    } else {
        static const char nf[] = "not found\n";
        ocl_h2_http_respond(st, 404, "text/plain; charset=utf-8", NULL, 0, nf, sizeof nf - 1);
    }
}

/* Common tail of the public respond calls. Returns false if the response
 * must be dropped (and has been: stream freed / ref released). */
static bool claim(h2_stream_t *st)
{
    if (!st->dispatched) return false; /* answered twice */
    st->dispatched = false;
    ocl_conn_t *c = st->conn;
    if (st->orphan || st->closed || c->closed) {
        if (st->orphan || st->closed) stream_free(st); /* else freed at dispose */
        ocl_conn_unref(c);
        return false;
    }
    return true;
}

void ocl_h2_http_respond(h2_stream_t *st, int status, const char *ctype, const ocl_header_t *extra,
                         size_t n_extra, const void *body, size_t len)
{
    if (!claim(st)) return;
    ocl_conn_t *c = st->conn;
    http_submit(st, status, ctype, extra, n_extra, body, len);
    ocl_conn_unref(c);
}

void ocl_h2_grpc_respond(h2_stream_t *st, int grpc_status, const char *message, const void *resp,
                         size_t len)
{
    if (!claim(st)) return;
    ocl_conn_t *c = st->conn;
    grpc_submit(st, grpc_status, message, resp, len);
    ocl_conn_unref(c);
}

/* --- nghttp2 callbacks --------------------------------------------------- */

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    ocl_conn_t *c = ud;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    if (c->u.h2.n_streams >= c->limits->max_streams) {
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_REFUSED_STREAM);
        return 0;
    }
    h2_stream_t *st = ocl_calloc(1, sizeof *st);
    st->conn = c;
    st->id = f->hd.stream_id;
    for (int i = 0; i < HI_N; i++)
        st->hidx[i] = -1;
    st->next = c->u.h2.streams;
    if (st->next) st->next->prev = st;
    c->u.h2.streams = st;
    c->u.h2.n_streams++;
    nghttp2_session_set_stream_user_data(s, st->id, st);
    return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
                     const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
    ocl_conn_t *c = ud;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    h2_stream_t *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (!st || st->head_done || st->err_status) return 0;
    st->hdr_bytes += nlen + vlen + 32;
    if (st->hdr_bytes > c->limits->max_header_bytes) {
        st->err_status = 431;
        return 0;
    }
    int which = -1;
    if (nlen == 7 && memcmp(name, ":method", 7) == 0)
        which = HI_METHOD;
    else if (nlen == 5 && memcmp(name, ":path", 5) == 0)
        which = HI_PATH;
    else if (nlen == 12 && memcmp(name, "content-type", 12) == 0)
        which = HI_CTYPE;
    else if (nlen == 13 && memcmp(name, "grpc-encoding", 13) == 0)
        which = HI_ENC;
    else if (nlen == 20 && memcmp(name, "grpc-accept-encoding", 20) == 0)
        which = HI_ACCEPT_ENC;
    if (which >= 0) st->hidx[which] = (int)st->n_hdr;
    if (st->n_hdr == st->cap_hdr) {
        st->cap_hdr = st->cap_hdr ? st->cap_hdr * 2 : 16;
        st->hoff = ocl_realloc(st->hoff, st->cap_hdr * 4 * sizeof(size_t));
    }
    size_t *o = st->hoff + 4 * st->n_hdr++;
    o[0] = st->hbytes.len, o[1] = nlen;
    ocl_buf_append(&st->hbytes, name, nlen);
    ocl_buf_putc(&st->hbytes, 0);
    o[2] = st->hbytes.len, o[3] = vlen;
    ocl_buf_append(&st->hbytes, value, vlen);
    ocl_buf_putc(&st->hbytes, 0);
    return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *ud)
{
    ocl_conn_t *c = ud;
    h2_stream_t *st = nghttp2_session_get_stream_user_data(s, id);
    if (!st || st->answered || st->dispatched || st->err_status) return 0;
    size_t limit = st->is_grpc ? c->limits->max_grpc_msg_bytes + 5 : c->limits->max_body_bytes;
    if (st->body.len + len > limit) {
        if (st->is_grpc)
            grpc_submit(st, OCL_GRPC_RESOURCE_EXHAUSTED, "message larger than max", NULL, 0);
        else
            http_submit(st, 413, "text/plain; charset=utf-8", NULL, 0, "request body too large\n",
                        23);
        return 0;
    }
    /* Flow control does not bound memory (windows are reopened as data
     * arrives), so cap what one connection's streams hold in total:
     * beyond three maximal bodies or messages, further streams are told to retry. */
    size_t most = OCL_MAX(c->limits->max_body_bytes, c->limits->max_grpc_msg_bytes + 5);
    if (c->u.h2.buffered + len > 3 * most) {
        if (st->is_grpc)
            grpc_submit(st, OCL_GRPC_UNAVAILABLE, "too much data in flight on this connection",
                        NULL, 0);
        else
            http_submit(st, 503, "text/plain; charset=utf-8", NULL, 0, "too much data in flight\n",
                        24);
        return 0;
    }
    if (!st->body.p) ocl_bufpool_get(c->pool, &st->body);
    ocl_buf_append(&st->body, data, len);
    st->buffered += len;
    c->u.h2.buffered += len;
    /* Reject an oversized uncompressed gRPC message by its prefix, early. */
    if (st->is_grpc && st->body.len >= 5 && st->body.p[0] == 0) {
        const unsigned char *p = st->body.p;
        size_t n = (size_t)p[1] << 24 | (size_t)p[2] << 16 | (size_t)p[3] << 8 | p[4];
        if (n > c->limits->max_grpc_msg_bytes)
            grpc_submit(st, OCL_GRPC_RESOURCE_EXHAUSTED, "message larger than max", NULL, 0);
    }
    return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) return 0;
    h2_stream_t *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (!st) return 0;
    if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST)
        finalize_headers(st);
    if (!(f->hd.flags & NGHTTP2_FLAG_END_STREAM)) return 0;
    st->remote_done = true;
    if (!st->answered) dispatch(st);
    return 0;
}

static int on_frame_send(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) return 0;
    if (!(f->hd.flags & NGHTTP2_FLAG_END_STREAM)) return 0;
    h2_stream_t *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    /* We answered before the request ended: tell the client to stop. */
    if (st && !st->remote_done)
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_NO_ERROR);
    return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t err, void *ud)
{
    h2_stream_t *st = nghttp2_session_get_stream_user_data(s, id);
    if (!st) return 0;
    st->closed = true;
    if (!st->dispatched)
        stream_free(st);
    else if (!st->is_grpc)
        ocl_http_req_abort(&st->req); /* reset by the client before the answer */
    return 0;
}

/* nghttp2 reports a protocol violation by the peer (it answers it itself). */
static int on_error(nghttp2_session *s, int lib_error_code, const char *msg, size_t len, void *ud)
{
    ocl_conn_t *c = ud;
    atomic_fetch_add(&c->stats->proto_errors, 1);
    return 0;
}

static void init_once(void)
{
    nghttp2_session_callbacks_new(&g_cbs);
    nghttp2_session_callbacks_set_on_begin_headers_callback(g_cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(g_cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(g_cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(g_cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_frame_send_callback(g_cbs, on_frame_send);
    nghttp2_session_callbacks_set_on_stream_close_callback(g_cbs, on_stream_close);
    nghttp2_session_callbacks_set_error_callback2(g_cbs, on_error);
    nghttp2_option_new(&g_opt);
    nghttp2_option_set_no_closed_streams(g_opt, 1);
    nghttp2_option_set_max_outbound_ack(g_opt, 1000);
    nghttp2_option_set_max_settings(g_opt, 32);
    nghttp2_option_set_stream_reset_rate_limit(g_opt, 1000, 100);
    nghttp2_option_set_max_continuations(g_opt, 8);
}

/* --- connection ---------------------------------------------------------- */

int ocl_h2_start(ocl_conn_t *c)
{
    pthread_once(&g_once, init_once);
    nghttp2_session *s;
    if (nghttp2_session_server_new2(&s, g_cbs, c, g_opt) != 0) return OCL_ENOMEM;
    c->u.h2.session = s;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, c->limits->max_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_STREAM_WINDOW},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
         (uint32_t)OCL_MIN(c->limits->max_header_bytes, UINT32_MAX)},
    };
    if (nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, iv, OCL_ARRAY_LEN(iv)) != 0 ||
        nghttp2_session_set_local_window_size(s, NGHTTP2_FLAG_NONE, 0, H2_CONN_WINDOW) != 0)
        return OCL_EINVAL;
    return 0;
}

static void flush(ocl_conn_t *c)
{
    nghttp2_session *s = c->u.h2.session;
    if (c->closed || !s) return;
    /* Produce output until nghttp2 has none left or more than
     * OCL_NET_MAX_PENDING_WRITE bytes are unsent; in the latter case the
     * write callback resumes us (it sees the connection was full). A batch
     * the socket takes synchronously leaves pending_write low, so keep
     * going: nobody else would call us back. */
    for (;;) {
        ocl_buf_t out;
        ocl_buf_init(&out);
        ssize_t n = 1;
        while (c->pending_write + out.len <= OCL_NET_MAX_PENDING_WRITE) {
            const uint8_t *d;
            n = nghttp2_session_mem_send(s, &d);
            if (n < 0) {
                free(out.p);
                ocl_conn_close(c);
                return;
            }
            if (n == 0) break;
            ocl_buf_append(&out, d, (size_t)n);
        }
        if (out.len) {
            size_t len;
            unsigned char *p = ocl_buf_steal(&out, &len);
            c->io->write(c, p, len);
        }
        if (n == 0 || c->closed || c->pending_write > OCL_NET_MAX_PENDING_WRITE) break;
    }
    if (c->closed) return;
    if (!nghttp2_session_want_read(s) && !nghttp2_session_want_write(s)) {
        ocl_conn_close(c);
        return;
    }
    c->io->update(c);
}

static void recv_bytes(ocl_conn_t *c, const unsigned char *p, size_t n)
{
    c->u.h2.in_recv = true;
    ssize_t rv = nghttp2_session_mem_recv(c->u.h2.session, p, n);
    c->u.h2.in_recv = false;
    if (rv < 0) {
        atomic_fetch_add(&c->stats->proto_errors, 1);
        /* nghttp2 queued a GOAWAY for most errors: try to send it. */
        if (rv != NGHTTP2_ERR_NOMEM && rv != NGHTTP2_ERR_CALLBACK_FAILURE) flush(c);
        ocl_conn_close(c);
    }
}

void ocl_h2_input(ocl_conn_t *c, const unsigned char *p, size_t n)
{
    if (c->closed) return;
    recv_bytes(c, p, n);
    flush(c);
}

void ocl_h2_feed(ocl_conn_t *c)
{
    if (c->closed) return;
    if (c->in.len) {
        recv_bytes(c, c->in.p, c->in.len);
        ocl_buf_dispose(&c->in);
    }
    flush(c);
}

bool ocl_h2_want_read(const ocl_conn_t *c)
{
    return c->u.h2.session && nghttp2_session_want_read(c->u.h2.session);
}

void ocl_h2_timeout(ocl_conn_t *c)
{
    if (c->u.h2.n_streams > 0) return; /* requests in progress: not idle */
    nghttp2_session_terminate_session(c->u.h2.session, NGHTTP2_NO_ERROR);
    flush(c);
    ocl_conn_close(c);
}

void ocl_h2_dispose(ocl_conn_t *c)
{
    h2_stream_t *st = c->u.h2.streams;
    while (st) {
        h2_stream_t *next = st->next;
        if (st->dispatched) {
            st->orphan = true; /* freed when the handler answers */
            st->next = st->prev = NULL;
            c->u.h2.n_streams--;
            if (!st->is_grpc) ocl_http_req_abort(&st->req);
        } else {
            stream_free(st);
        }
        st = next;
    }
    c->u.h2.streams = NULL;
    nghttp2_session_del(c->u.h2.session);
    c->u.h2.session = NULL;
}

bool ocl_h2_stream_gone(const h2_stream_t *st)
{
    return st->orphan || st->closed || st->conn->closed;
}

void *ocl_h2_stream_loop(const h2_stream_t *st)
{
    return st->conn->loop;
}
