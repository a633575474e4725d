/*
 * http1.c — HTTP/1.1 server side of a connection, on top of http-parser.
 *
 * Requests are processed strictly one at a time: when a message is complete
 * the parser is paused and the request is handed to the handler; pipelined
 * bytes wait in conn->in until the response has been queued. Keep-alive and
 * HTTP/1.0 close semantics follow http_should_keep_alive().
 *
 * Invariants:
 *  - the head (URL + header bytes) of one request never exceeds
 *    limits.max_header_bytes (431), the body never exceeds
 *    limits.max_body_bytes (413), before we store it;
 *  - request memory (head, header array, body) belongs to the connection and
 *    stays untouched while req_pending; it is recycled once answered;
 *  - any protocol error answers with a short text/plain body, then closes.
 *
 * Tuned for: OTLP/HTTP exports — one 100-300 KB Content-Length body per
 * request on a keep-alive connection. Such bodies are received straight into
 * the body buffer (see ocl_h1_read_hint), so each byte is copied at most once.
 */
#include "net/conn.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#define H1_PIPELINE_SLACK ((size_t)64 << 10)

static int on_message_begin(http_parser *p);
static int on_url(http_parser *p, const char *at, size_t n);
static int on_header_field(http_parser *p, const char *at, size_t n);
static int on_header_value(http_parser *p, const char *at, size_t n);
static int on_headers_complete(http_parser *p);
static int on_body(http_parser *p, const char *at, size_t n);
static int on_message_complete(http_parser *p);

static const http_parser_settings SETTINGS = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* Error recorded by a callback, answered after http_parser_execute returns. */
static int err_status_of(ocl_conn_t *c);
static __thread int cb_err_status;

static const char *reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 411:
        return "Length Required";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 417:
        return "Expectation Failed";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 499:
        return "Client Closed Request";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Unknown";
    }
}

void ocl_h1_start(ocl_conn_t *c)
{
    h1_state_t *h = &c->u.h1;
    http_parser_init(&h->parser, HTTP_REQUEST);
    h->parser.data = c;
    ocl_buf_init(&h->head);
    ocl_buf_init(&h->body);
}

static void reset_request(ocl_conn_t *c)
{
    h1_state_t *h = &c->u.h1;
    h->head.len = 0;
    h->n_hdr = 0;
    h->url_off = h->url_len = 0;
    h->last_was_value = false;
    h->in_message = h->head_done = h->msg_ready = false;
    if (h->body.p) ocl_bufpool_put(c->pool, &h->body);
    /* A huge head buffer (an outlier) is not kept for the connection's life. */
    if (h->head.cap > ((size_t)16 << 10)) ocl_buf_dispose(&h->head);
}

static void free_request(ocl_conn_t *c)
{
    h1_state_t *h = &c->u.h1;
    ocl_buf_dispose(&h->head);
    ocl_buf_dispose(&h->body); /* the pool may be gone with its worker */
    free(h->hoff);
    free(h->hdrs);
    h->hoff = NULL, h->hdrs = NULL, h->cap_hdr = h->n_hdr = 0;
}

void ocl_h1_dispose(ocl_conn_t *c)
{
    if (!c->u.h1.req_pending)
        free_request(c);
    else
        ocl_http_req_abort(&c->u.h1.req); /* kept until the handler answers */
}

/* --- parser callbacks ---------------------------------------------------- */

static int fail(int status)
{
    cb_err_status = status;
    return -1;
}

static int head_append(ocl_conn_t *c, const char *at, size_t n)
{
    h1_state_t *h = &c->u.h1;
    if (h->head.len + n > c->limits->max_header_bytes) return fail(431);
    ocl_buf_append(&h->head, at, n);
    return 0;
}

static int on_message_begin(http_parser *p)
{
    ocl_conn_t *c = p->data;
    h1_state_t *h = &c->u.h1;
    h->in_message = true;
    h->head_deadline_ms = ocl_net_now_ms() + c->limits->header_timeout_ms;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    ocl_conn_t *c = p->data;
    h1_state_t *h = &c->u.h1;
    if (h->url_len == 0) h->url_off = h->head.len;
    h->url_len += n;
    return head_append(c, at, n);
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
    ocl_conn_t *c = p->data;
    h1_state_t *h = &c->u.h1;
    if (h->head_done) return 0; /* chunked trailers: ignored */
    if (h->n_hdr == 0 || h->last_was_value) {
        if (h->n_hdr == h->cap_hdr) {
            h->cap_hdr = h->cap_hdr ? h->cap_hdr * 2 : 16;
            h->hoff = ocl_realloc(h->hoff, h->cap_hdr * 4 * sizeof(size_t));
        }
        size_t *o = h->hoff + 4 * h->n_hdr++;
        o[0] = h->head.len, o[1] = 0, o[2] = 0, o[3] = 0;
        h->last_was_value = false;
    }
    h->hoff[4 * (h->n_hdr - 1) + 1] += n;
    return head_append(c, at, n);
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    ocl_conn_t *c = p->data;
    h1_state_t *h = &c->u.h1;
    if (h->head_done || h->n_hdr == 0) return 0;
    size_t *o = h->hoff + 4 * (h->n_hdr - 1);
    if (!h->last_was_value) {
        o[2] = h->head.len;
        h->last_was_value = true;
    }
    o[3] += n;
    return head_append(c, at, n);
}

static void split_target(h1_state_t *h)
{
    const char *u = (const char *)h->head.p + h->url_off;
    size_t n = h->url_len;
    /* absolute-form: skip scheme and authority */
    if (n > 7 && (memcmp(u, "http://", 7) == 0 || (n > 8 && memcmp(u, "https://", 8) == 0))) {
        const char *s = memchr(u + 8 - (u[4] == ':'), '/', n - 8 + (u[4] == ':'));
        if (s)
            n -= (size_t)(s - u), u = s;
        else
            u = "/", n = 1;
    }
    const char *hash = memchr(u, '#', n);
    if (hash) n = (size_t)(hash - u);
    const char *q = memchr(u, '?', n);
    if (q) {
        h->req.path = (ocl_str_t){u, (size_t)(q - u)};
        h->req.query = (ocl_str_t){q + 1, n - (size_t)(q - u) - 1};
    } else {
        h->req.path = (ocl_str_t){u, n};
        h->req.query = (ocl_str_t){"", 0};
    }
}

static int on_headers_complete(http_parser *p)
{
    ocl_conn_t *c = p->data;
    h1_state_t *h = &c->u.h1;
    h->head_done = true;
    h->hdrs = ocl_realloc(h->hdrs, (h->n_hdr ? h->n_hdr : 1) * sizeof(ocl_header_t));
    const char *base = (const char *)h->head.p;
    for (size_t i = 0; i < h->n_hdr; i++) {
        const size_t *o = h->hoff + 4 * i;
        h->hdrs[i] = (ocl_header_t){base + o[0], o[1], o[3] ? base + o[2] : "", o[3]};
    }
    memset(&h->req, 0, sizeof h->req);
    h->req.method = ocl_str_c(http_method_str((enum http_method)p->method));
    split_target(h);
    h->req.headers = h->hdrs;
    h->req.n_headers = h->n_hdr;
    h->req.conn_priv = c;
    h->keep_alive = http_should_keep_alive(p) && !p->upgrade;

    bool has_body =
        (p->flags & F_CHUNKED) || (p->content_length != ULLONG_MAX && p->content_length > 0);
    if (p->content_length != ULLONG_MAX && p->content_length > c->limits->max_body_bytes)
        return fail(413);
    if (has_body) {
        ocl_bufpool_get(c->pool, &h->body);
        if (p->content_length != ULLONG_MAX) ocl_buf_reserve(&h->body, (size_t)p->content_length);
        ocl_str_t exp = ocl_http_req_header(&h->req, "expect");
        if (exp.n && p->http_minor >= 1 && ocl_str_ieq_c(exp, "100-continue")) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            unsigned char *m = ocl_malloc(sizeof cont - 1);
            memcpy(m, cont, sizeof cont - 1);
            c->io->write(c, m, sizeof cont - 1);
        }
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    ocl_conn_t *c = p->data;
    h1_state_t *h = &c->u.h1;
    if (h->body.len + n > c->limits->max_body_bytes) return fail(413);
    if (h->body.p && (const unsigned char *)at == h->body.p + h->body.len &&
        h->body.cap - h->body.len >= n)
        h->body.len += n; /* read straight into the body buffer: no copy */
    else
        ocl_buf_append(&h->body, at, n);
    return 0;
}

static int on_message_complete(http_parser *p)
{
    ocl_conn_t *c = p->data;
    c->u.h1.msg_ready = true;
    http_parser_pause(p, 1);
    return 0;
}

/* --- responses ----------------------------------------------------------- */

static void write_response(ocl_conn_t *c, int status, const char *ctype, const ocl_header_t *extra,
                           size_t n_extra, const void *body, size_t len, bool close, bool ka10)
{
    ocl_buf_t b;
    ocl_buf_init(&b);
    size_t need = 160 + len + (ctype ? strlen(ctype) : 0);
    for (size_t i = 0; i < n_extra; i++)
        need += extra[i].name_len + extra[i].value_len + 4;
    ocl_buf_reserve(&b, need);
    ocl_buf_printf(&b, "HTTP/1.1 %d %s\r\n", status, reason(status));
    if (ctype) {
        ocl_buf_puts(&b, "Content-Type: ");
        ocl_buf_puts(&b, ctype);
        ocl_buf_puts(&b, "\r\n");
    }
    ocl_buf_printf(&b, "Content-Length: %zu\r\n", len);
    for (size_t i = 0; i < n_extra; i++) {
        ocl_buf_append(&b, extra[i].name, extra[i].name_len);
        ocl_buf_append(&b, ": ", 2);
        ocl_buf_append(&b, extra[i].value, extra[i].value_len);
        ocl_buf_append(&b, "\r\n", 2);
    }
    if (close)
        ocl_buf_puts(&b, "Connection: close\r\n");
    else if (ka10)
        ocl_buf_puts(&b, "Connection: keep-alive\r\n");
    ocl_buf_append(&b, "\r\n", 2);
    ocl_buf_append(&b, body, len);
    size_t n;
    unsigned char *p = ocl_buf_steal(&b, &n);
    c->io->write(c, p, n);
}

static void send_error(ocl_conn_t *c, int status, const char *msg)
{
    if (status == 400) atomic_fetch_add(&c->stats->proto_errors, 1);
    write_response(c, status, "text/plain; charset=utf-8", NULL, 0, msg, strlen(msg), true, false);
    ocl_conn_close(c);
}

static int err_status_of(ocl_conn_t *c)
{
    enum http_errno e = HTTP_PARSER_ERRNO(&c->u.h1.parser);
    if (e == HPE_HEADER_OVERFLOW) return 431;
    return 400;
}

static const char *error_text(int status)
{
    switch (status) {
    case 408:
        return "request header timeout\n";
    case 413:
        return "request body too large\n";
    case 431:
        return "request header fields too large\n";
    default:
        return "malformed HTTP request\n";
    }
}

static void dispatch(ocl_conn_t *c)
{
    h1_state_t *h = &c->u.h1;
    h->req.body = h->body.p ? h->body.p : (const unsigned char *)"";
    h->req.body_len = h->body.len;
    h->req_pending = true;
    c->refs++;
    if (c->lcfg && c->lcfg->http) {
        c->lcfg->http(&h->req, c->lcfg->ud);
    } else {
        static const char nf[] = "not found\n";
        ocl_h1_respond(c, 404, "text/plain; charset=utf-8", NULL, 0, nf, sizeof nf - 1);
    }
}

void ocl_h1_respond(ocl_conn_t *c, int status, const char *ctype, const ocl_header_t *extra,
                    size_t n_extra, const void *body, size_t len)
{
    h1_state_t *h = &c->u.h1;
    if (!h->req_pending) return; /* answered twice: ignore */
    h->req_pending = false;
    if (c->closed) {
        /* The client went away (or the server is stopping): drop. */
        if (c->proto != PROTO_H1) free_request(c); /* transport already disposed */
        ocl_conn_unref(c);
        return;
    }
    bool close = !h->keep_alive || (h->saw_eof && c->in.len == 0);
    write_response(c, status, ctype, extra, n_extra, body, len, close,
                   !close && h->parser.http_major == 1 && h->parser.http_minor == 0);
    reset_request(c);
    if (close) ocl_conn_close(c);
    ocl_conn_unref(c); /* the transport still holds a ref */
    if (!h->in_process && !c->closed) ocl_h1_feed(c);
}

/* --- input --------------------------------------------------------------- */

/* Runs the parser over data[0..len); returns bytes consumed. */
static size_t run(ocl_conn_t *c, const unsigned char *data, size_t len)
{
    h1_state_t *h = &c->u.h1;
    size_t off = 0;
    while (!c->closed && !h->req_pending && off < len) {
        cb_err_status = 0;
        size_t n = http_parser_execute(&h->parser, &SETTINGS, (const char *)data + off, len - off);
        off += n;
        if (h->msg_ready) {
            h->msg_ready = false;
            http_parser_pause(&h->parser, 0);
            if (h->parser.upgrade) h->keep_alive = false, off = len; /* ignore what follows */
            dispatch(c);
            continue;
        }
        enum http_errno e = HTTP_PARSER_ERRNO(&h->parser);
        if (e != HPE_OK) {
            int st = cb_err_status ? cb_err_status : err_status_of(c);
            send_error(c, st, error_text(st));
            return len;
        }
        if (h->parser.upgrade) { /* upgrade without a completed message */
            send_error(c, 400, error_text(400));
            return len;
        }
    }
    return off;
}

static void after_run(ocl_conn_t *c)
{
    h1_state_t *h = &c->u.h1;
    if (c->in.len == 0 && c->in.cap > ((size_t)64 << 10)) ocl_buf_dispose(&c->in);
    h->in_process = false;
    if (c->closed) return;
    if (h->saw_eof && !h->req_pending) {
        ocl_conn_close(c); /* nothing more can arrive; partial input is dropped */
        return;
    }
    c->io->update(c);
}

/* Processes bytes buffered in conn->in (after an answer, or slow input). */
void ocl_h1_feed(ocl_conn_t *c)
{
    h1_state_t *h = &c->u.h1;
    if (h->in_process || c->closed) return;
    h->in_process = true;
    size_t off = run(c, c->in.p, c->in.len);
    if (off && !c->closed) {
        memmove(c->in.p, c->in.p + off, c->in.len - off);
        c->in.len -= off;
    }
    after_run(c);
}

/* Processes fresh bytes while conn->in is empty: parsed in place, only the
 * unconsumed tail (pipelined requests) is copied into conn->in. */
void ocl_h1_input(ocl_conn_t *c, const unsigned char *p, size_t n)
{
    h1_state_t *h = &c->u.h1;
    if (c->closed) return;
    if (h->in_process || h->req_pending || c->in.len) {
        ocl_buf_append(&c->in, p, n);
        if (!h->in_process) ocl_h1_feed(c);
        return;
    }
    h->in_process = true;
    size_t off = run(c, p, n);
    if (off < n && !c->closed) ocl_buf_append(&c->in, p + off, n - off);
    after_run(c);
}

/* Where the transport may read next to avoid a copy: the free space of the
 * body buffer while a Content-Length body is still due and no bytes are
 * buffered. Returns NULL when reading into conn->in is required. */
unsigned char *ocl_h1_read_hint(ocl_conn_t *c, size_t *len)
{
    h1_state_t *h = &c->u.h1;
    if (c->proto != PROTO_H1 || c->closed || c->in.len || !h->head_done || h->msg_ready ||
        h->req_pending || (h->parser.flags & F_CHUNKED) || h->parser.content_length == ULLONG_MAX ||
        h->parser.content_length == 0)
        return NULL;
    size_t want = (size_t)h->parser.content_length;
    if (h->body.cap - h->body.len < want) return NULL;
    *len = want;
    return h->body.p + h->body.len;
}

bool ocl_h1_client_gone(const ocl_conn_t *c)
{
    return c->closed || c->u.h1.saw_eof;
}

bool ocl_h1_want_read(const ocl_conn_t *c)
{
    const h1_state_t *h = &c->u.h1;
    if (h->saw_eof) return false;
    if (h->req_pending) return c->in.len < c->limits->max_header_bytes + H1_PIPELINE_SLACK;
    return true;
}

uint64_t ocl_h1_timeout_ms(const ocl_conn_t *c)
{
    const h1_state_t *h = &c->u.h1;
    if (h->req_pending) return 0;
    if (h->in_message && !h->head_done) {
        uint64_t now = ocl_net_now_ms();
        return h->head_deadline_ms > now ? h->head_deadline_ms - now : 1;
    }
    if (h->in_message) return c->limits->idle_timeout_ms; /* slow body */
    if (c->in.len) return c->limits->header_timeout_ms;   /* bytes, but no message yet */
    return c->limits->idle_timeout_ms;
}

void ocl_h1_timeout(ocl_conn_t *c)
{
    h1_state_t *h = &c->u.h1;
    if (h->req_pending) return;
    if (h->in_message || c->in.len)
        send_error(c, 408, error_text(408));
    else
        ocl_conn_close(c);
}
