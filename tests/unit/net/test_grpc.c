/*
 * test_grpc.c — gRPC framing (pure functions) and HTTP/2 + unary gRPC over
 * real sockets, driven by an nghttp2 client session on a blocking socket:
 * echo (plain and gzip), error statuses with percent-encoded grpc-message,
 * size limits, malformed frames, encodings, non-POST, plain HTTP over
 * HTTP/2, asynchronous answers and a stream flood.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>
#include <nghttp2/nghttp2.h>
#include <uv.h>

#include "core/buf.h"
#include "net/conn.h"
#include "net/net.h"
#include "wire/gzip.h"
#include "net_test_util.h"

#define MAX_MSG (1 << 20)

static ocl_server_t *g_srv;
static int g_port;

/* --- server side handlers ------------------------------------------------ */

typedef struct {
    uv_timer_t t;          /* fires the late answer */
    ocl_grpc_call_t *call; /* call to answer */
} async_t;

static void async_closed(uv_handle_t *h)
{
    free(h->data);
}
static void async_fire(uv_timer_t *t)
{
    async_t *a = t->data;
    ocl_grpc_respond(a->call, 0, NULL, "late", 4);
    uv_close((uv_handle_t *)&a->t, async_closed);
}

static void grpc_handler(ocl_grpc_call_t *call, void *ud)
{
    if (ocl_str_eq_c(call->path, "/test.Echo/Echo")) {
        ocl_grpc_respond(call, 0, NULL, call->msg, call->msg_len);
    } else if (ocl_str_eq_c(call->path, "/test.Echo/Fail")) {
        ocl_grpc_respond(call, OCL_GRPC_INVALID_ARGUMENT, "bad 100% \xc3\xbc\n", NULL, 0);
    } else if (ocl_str_eq_c(call->path, "/test.Echo/Async")) {
        async_t *a = calloc(1, sizeof *a);
        a->call = call;
        uv_timer_init(ocl_grpc_call_loop(call), &a->t);
        a->t.data = a;
        uv_timer_start(&a->t, async_fire, 30, 0);
    } else {
        ocl_grpc_respond(call, OCL_GRPC_UNIMPLEMENTED, "unknown method", NULL, 0);
    }
}

static void http_handler(ocl_http_req_t *req, void *ud)
{
    ocl_buf_t b;
    ocl_buf_init(&b);
    ocl_buf_append(&b, req->method.p, req->method.n);
    ocl_buf_putc(&b, ' ');
    ocl_buf_append(&b, req->path.p, req->path.n);
    ocl_buf_printf(&b, " h2=%d\n", req->http2);
    ocl_buf_append(&b, req->body, req->body_len);
    ocl_header_t extra = {"X-Echo", 6, "1", 1};
    ocl_http_respond(req, 200, "text/plain", &extra, 1, b.p, b.len);
    ocl_buf_dispose(&b);
}

static int setup(void **state)
{
    ocl_net_limits_t l;
    ocl_net_limits_default(&l);
    l.max_grpc_msg_bytes = MAX_MSG;
    l.max_body_bytes = 64 << 10;
    l.max_streams = 100;
    g_srv = ocl_server_create(2, &l);
    ocl_listener_cfg_t cfg = {.addr = "127.0.0.1:0", .http = http_handler, .grpc = grpc_handler};
    assert_int_equal(ocl_server_listen(g_srv, &cfg, &g_port), 0);
    assert_int_equal(ocl_server_start(g_srv), 0);
    return 0;
}

static int teardown(void **state)
{
    ocl_server_destroy(g_srv);
    return 0;
}

/* --- nghttp2 client ------------------------------------------------------- */

typedef struct {
    int32_t id;             /* stream id */
    int status;             /* :status */
    int grpc_status;        /* grpc-status, -1 if absent */
    char grpc_message[256]; /* grpc-message raw */
    char content_type[64];  /* content-type */
    bool gzip;              /* grpc-encoding: gzip */
    bool x_echo;            /* x-echo header present */
    ocl_buf_t data;         /* DATA bytes */
    bool closed;            /* stream closed */
    uint32_t close_err;     /* RST error code */
    ocl_buf_t req;          /* request body */
    size_t req_off;         /* sent so far */
} cstream_t;

typedef struct {
    int fd;             /* socket */
    nghttp2_session *s; /* client session */
    int refused;        /* streams closed with REFUSED_STREAM */
    int closed;         /* streams closed */
} client_t;

static ssize_t c_send(nghttp2_session *s, const uint8_t *d, size_t n, int flags, void *ud)
{
    client_t *c = ud;
    if (send_all(c->fd, d, n) != 0) return NGHTTP2_ERR_CALLBACK_FAILURE;
    return (ssize_t)n;
}

static int c_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nl,
                    const uint8_t *value, size_t vl, uint8_t flags, void *ud)
{
    cstream_t *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (!st) return 0;
    char v[512];
    snprintf(v, sizeof v, "%.*s", (int)vl, value);
    if (nl == 7 && !memcmp(name, ":status", 7))
        st->status = atoi(v);
    else if (nl == 11 && !memcmp(name, "grpc-status", 11))
        st->grpc_status = atoi(v);
    else if (nl == 12 && !memcmp(name, "grpc-message", 12))
        snprintf(st->grpc_message, sizeof st->grpc_message, "%.250s", v);
    else if (nl == 12 && !memcmp(name, "content-type", 12))
        snprintf(st->content_type, sizeof st->content_type, "%.60s", v);
    else if (nl == 13 && !memcmp(name, "grpc-encoding", 13))
        st->gzip = !strcmp(v, "gzip");
    else if (nl == 6 && !memcmp(name, "x-echo", 6))
        st->x_echo = true;
    return 0;
}

static int c_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *d, size_t n,
                  void *ud)
{
    cstream_t *st = nghttp2_session_get_stream_user_data(s, id);
    if (st) ocl_buf_append(&st->data, d, n);
    return 0;
}

static int c_close(nghttp2_session *s, int32_t id, uint32_t err, void *ud)
{
    client_t *c = ud;
    cstream_t *st = nghttp2_session_get_stream_user_data(s, id);
    c->closed++;
    if (err == NGHTTP2_REFUSED_STREAM) c->refused++;
    if (st) st->closed = true, st->close_err = err;
    return 0;
}

static ssize_t c_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                      nghttp2_data_source *src, void *ud)
{
    cstream_t *st = src->ptr;
    size_t n = OCL_MIN(len, st->req.len - st->req_off);
    if (n) memcpy(buf, st->req.p + st->req_off, n);
    st->req_off += n;
    if (st->req_off == st->req.len) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static void client_open(client_t *c)
{
    memset(c, 0, sizeof *c);
    c->fd = tcp_connect(g_port);
    assert_true(c->fd >= 0);
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_send_callback(cb, c_send);
    nghttp2_session_callbacks_set_on_header_callback(cb, c_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, c_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, c_close);
    nghttp2_option *opt;
    nghttp2_option_new(&opt);
    nghttp2_option_set_peer_max_concurrent_streams(opt, 100000);
    assert_int_equal(nghttp2_session_client_new2(&c->s, cb, c, opt), 0);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 24}};
    nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, iv, 1);
    nghttp2_session_set_local_window_size(c->s, NGHTTP2_FLAG_NONE, 0, 1 << 24);
}

static void client_close(client_t *c)
{
    nghttp2_session_del(c->s);
    close(c->fd);
}

/* Sends what is queued, then reads until `st` is closed (or EOF). */
static void client_run(client_t *c, cstream_t *st)
{
    assert_int_equal(nghttp2_session_send(c->s), 0);
    unsigned char buf[65536];
    while (!st->closed) {
        ssize_t k = recv(c->fd, buf, sizeof buf, 0);
        if (k <= 0) break;
        assert_true(nghttp2_session_mem_recv(c->s, buf, (size_t)k) == k);
        assert_int_equal(nghttp2_session_send(c->s), 0);
    }
}

#define NVS(n, v)                                                                                  \
    {                                                                                              \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE             \
    }

static void submit(client_t *c, cstream_t *st, const char *method, const char *path,
                   const char *ctype, const char *encoding, bool end_stream)
{
    st->grpc_status = -1;
    nghttp2_nv nva[8] = {NVS(":method", method),         NVS(":scheme", "http"),
                         NVS(":authority", "localhost"), NVS(":path", path),
                         NVS("content-type", ctype),     NVS("te", "trailers")};
    size_t n = 6;
    if (encoding) nva[n++] = (nghttp2_nv)NVS("grpc-encoding", encoding);
    nghttp2_nv acc = NVS("grpc-accept-encoding", "gzip");
    nva[n++] = acc;
    nghttp2_data_provider prd = {.source.ptr = st, .read_callback = c_read};
    st->id = nghttp2_submit_request(c->s, NULL, nva, n, end_stream ? NULL : &prd, st);
    assert_true(st->id > 0);
}

static void frame_msg(ocl_buf_t *out, const void *msg, size_t len, bool gzip)
{
    ocl_grpc_frame(msg, len, gzip, out);
}

static void call(cstream_t *st, const char *path, const char *encoding, const void *body,
                 size_t len)
{
    client_t c;
    client_open(&c);
    memset(st, 0, sizeof *st);
    ocl_buf_append(&st->req, body, len);
    submit(&c, st, "POST", path, "application/grpc", encoding, false);
    client_run(&c, st);
    client_close(&c);
    assert_true(st->closed);
}

static void cs_free(cstream_t *st)
{
    ocl_buf_dispose(&st->data);
    ocl_buf_dispose(&st->req);
}

/* --- tests --------------------------------------------------------------- */

static void test_unframe_pure(void **state)
{
    ocl_buf_t scratch, f;
    ocl_buf_init(&scratch);
    ocl_buf_init(&f);
    const unsigned char *m;
    size_t n;
    const char *err;
    frame_msg(&f, "abc", 3, false);
    assert_int_equal(ocl_grpc_unframe(f.p, f.len, OCL_STR_NULL, 10, &scratch, &m, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(m, "abc", 3);
    assert_int_equal(ocl_grpc_unframe(f.p, f.len, OCL_STR_NULL, 2, &scratch, &m, &n, &err),
                     OCL_GRPC_RESOURCE_EXHAUSTED);
    assert_int_equal(ocl_grpc_unframe(f.p, f.len - 1, OCL_STR_NULL, 10, &scratch, &m, &n, &err),
                     OCL_GRPC_INVALID_ARGUMENT);
    assert_int_equal(ocl_grpc_unframe(f.p, 0, OCL_STR_NULL, 10, &scratch, &m, &n, &err),
                     OCL_GRPC_INVALID_ARGUMENT);
    frame_msg(&f, "de", 2, false); /* two messages */
    assert_int_equal(ocl_grpc_unframe(f.p, f.len, OCL_STR_NULL, 10, &scratch, &m, &n, &err),
                     OCL_GRPC_UNIMPLEMENTED);
    f.len = 0;
    frame_msg(&f, "hello hello hello", 17, true);
    assert_int_equal(f.p[0], 1);
    assert_int_equal(ocl_grpc_unframe(f.p, f.len, OCL_STR("gzip"), 100, &scratch, &m, &n, &err), 0);
    assert_int_equal(n, 17);
    assert_int_equal(ocl_grpc_unframe(f.p, f.len, OCL_STR_NULL, 100, &scratch, &m, &n, &err),
                     OCL_GRPC_INTERNAL);
    assert_int_equal(ocl_grpc_unframe(f.p, f.len, OCL_STR("snappy"), 100, &scratch, &m, &n, &err),
                     OCL_GRPC_UNIMPLEMENTED);
    assert_int_equal(ocl_grpc_unframe(f.p, f.len, OCL_STR("gzip"), 16, &scratch, &m, &n, &err),
                     OCL_GRPC_RESOURCE_EXHAUSTED);
    ocl_buf_t p;
    ocl_buf_init(&p);
    ocl_grpc_pct_encode("a%b \xc3\xbc\n~", &p);
    ocl_buf_putc(&p, 0);
    assert_string_equal((char *)p.p, "a%25b %C3%BC%0A~");
    ocl_buf_dispose(&p);
    ocl_buf_dispose(&f);
    ocl_buf_dispose(&scratch);
}

static void test_echo(void **state)
{
    cstream_t st;
    ocl_buf_t f;
    ocl_buf_init(&f);
    frame_msg(&f, "hello", 5, false);
    call(&st, "/test.Echo/Echo", NULL, f.p, f.len);
    assert_int_equal(st.status, 200);
    assert_string_equal(st.content_type, "application/grpc");
    assert_int_equal(st.grpc_status, 0);
    assert_int_equal(st.close_err, 0);
    assert_int_equal(st.data.len, 10);
    assert_memory_equal(st.data.p, "\0\0\0\0\5hello", 10);
    cs_free(&st);
    ocl_buf_dispose(&f);
}

static void test_echo_gzip_large(void **state)
{
    /* 900 KB compressible message, gzip both ways; crosses window sizes. */
    size_t n = 900 << 10;
    unsigned char *msg = malloc(n);
    for (size_t i = 0; i < n; i++)
        msg[i] = (unsigned char)(i * 7 / 13);
    ocl_buf_t f, out;
    ocl_buf_init(&f);
    ocl_buf_init(&out);
    frame_msg(&f, msg, n, true);
    cstream_t st;
    call(&st, "/test.Echo/Echo", "gzip", f.p, f.len);
    assert_int_equal(st.grpc_status, 0);
    assert_true(st.gzip);
    assert_true(st.data.len > 5);
    assert_int_equal(st.data.p[0], 1);
    assert_int_equal(ocl_gzip_inflate(st.data.p + 5, st.data.len - 5, n, &out), 0);
    assert_int_equal(out.len, n);
    assert_memory_equal(out.p, msg, n);
    cs_free(&st);
    /* and uncompressed, same size */
    f.len = 0;
    frame_msg(&f, msg, n, false);
    call(&st, "/test.Echo/Echo", NULL, f.p, f.len);
    assert_int_equal(st.grpc_status, 0);
    cs_free(&st);
    ocl_buf_dispose(&f);
    ocl_buf_dispose(&out);
    free(msg);
}

static void test_error_status(void **state)
{
    ocl_buf_t f;
    ocl_buf_init(&f);
    frame_msg(&f, "x", 1, false);
    cstream_t st;
    call(&st, "/test.Echo/Fail", NULL, f.p, f.len);
    assert_int_equal(st.status, 200);
    assert_int_equal(st.grpc_status, OCL_GRPC_INVALID_ARGUMENT);
    assert_string_equal(st.grpc_message, "bad 100%25 %C3%BC%0A");
    assert_int_equal(st.data.len, 0);
    cs_free(&st);
    call(&st, "/test.Echo/Nope", NULL, f.p, f.len);
    assert_int_equal(st.grpc_status, OCL_GRPC_UNIMPLEMENTED);
    cs_free(&st);
    ocl_buf_dispose(&f);
}

static void test_too_large(void **state)
{
    size_t n = MAX_MSG + 1000;
    unsigned char *msg = calloc(1, n);
    ocl_buf_t f;
    ocl_buf_init(&f);
    frame_msg(&f, msg, n, false);
    cstream_t st;
    call(&st, "/test.Echo/Echo", NULL, f.p, f.len);
    assert_int_equal(st.grpc_status, OCL_GRPC_RESOURCE_EXHAUSTED);
    cs_free(&st);
    /* gzip bomb: small on the wire, too big inflated */
    f.len = 0;
    frame_msg(&f, msg, n, true);
    assert_true(f.len < 64 << 10);
    call(&st, "/test.Echo/Echo", "gzip", f.p, f.len);
    assert_int_equal(st.grpc_status, OCL_GRPC_RESOURCE_EXHAUSTED);
    assert_string_equal(st.grpc_message, "message larger than max");
    cs_free(&st);
    ocl_buf_dispose(&f);
    free(msg);
}

static void test_malformed(void **state)
{
    cstream_t st;
    call(&st, "/test.Echo/Echo", NULL, "\0\0\0", 3);
    assert_int_equal(st.grpc_status, OCL_GRPC_INVALID_ARGUMENT);
    assert_string_equal(st.grpc_message, "malformed gRPC frame");
    cs_free(&st);
    call(&st, "/test.Echo/Echo", NULL, "\0\0\0\0\x09short", 10);
    assert_int_equal(st.grpc_status, OCL_GRPC_INVALID_ARGUMENT);
    cs_free(&st);
    /* compressed flag without grpc-encoding */
    call(&st, "/test.Echo/Echo", NULL, "\1\0\0\0\1x", 6);
    assert_int_equal(st.grpc_status, OCL_GRPC_INTERNAL);
    cs_free(&st);
    /* unknown encoding */
    call(&st, "/test.Echo/Echo", "br", "\1\0\0\0\1x", 6);
    assert_int_equal(st.grpc_status, OCL_GRPC_UNIMPLEMENTED);
    cs_free(&st);
    /* no message at all */
    call(&st, "/test.Echo/Echo", NULL, "", 0);
    assert_true(st.grpc_status == OCL_GRPC_INVALID_ARGUMENT ||
                st.grpc_status == OCL_GRPC_UNIMPLEMENTED);
    cs_free(&st);
}

static void test_non_post_and_http(void **state)
{
    client_t c;
    client_open(&c);
    cstream_t a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    submit(&c, &a, "GET", "/test.Echo/Echo", "application/grpc", NULL, true);
    ocl_buf_append(&b.req, "payload", 7);
    submit(&c, &b, "POST", "/v1/traces?x=1", "application/x-protobuf", NULL, false);
    client_run(&c, &a);
    client_run(&c, &b);
    assert_int_equal(a.status, 405);
    assert_int_equal(b.status, 200);
    assert_true(b.x_echo);
    const char want[] = "POST /v1/traces h2=1\npayload";
    assert_int_equal(b.data.len, sizeof want - 1);
    assert_memory_equal(b.data.p, want, sizeof want - 1);
    cs_free(&a);
    cs_free(&b);
    /* HTTP/2 body over max_body_bytes -> 413 */
    cstream_t big;
    memset(&big, 0, sizeof big);
    char *z = calloc(1, 100 << 10);
    ocl_buf_append(&big.req, z, 100 << 10);
    free(z);
    submit(&c, &big, "POST", "/v1/traces", "application/x-protobuf", NULL, false);
    client_run(&c, &big);
    assert_int_equal(big.status, 413);
    cs_free(&big);
    client_close(&c);
}

static void test_async(void **state)
{
    ocl_buf_t f;
    ocl_buf_init(&f);
    frame_msg(&f, "x", 1, false);
    cstream_t st;
    call(&st, "/test.Echo/Async", NULL, f.p, f.len);
    assert_int_equal(st.grpc_status, 0);
    assert_int_equal(st.data.len, 9);
    assert_memory_equal(st.data.p + 5, "late", 4);
    cs_free(&st);
    /* client leaves before the late answer */
    client_t c;
    client_open(&c);
    memset(&st, 0, sizeof st);
    ocl_buf_append(&st.req, f.p, f.len);
    submit(&c, &st, "POST", "/test.Echo/Async", "application/grpc", NULL, false);
    assert_int_equal(nghttp2_session_send(c.s), 0);
    sleep_ms(5);
    client_close(&c);
    cs_free(&st);
    sleep_ms(80);
    ocl_buf_dispose(&f);
}

static void test_stream_flood(void **state)
{
    enum { N = 1000 };
    client_t c;
    client_open(&c);
    cstream_t *st = calloc(N, sizeof *st);
    for (int i = 0; i < N; i++) {
        /* HEADERS without END_STREAM and no DATA: each stream stays open */
        ocl_buf_append(&st[i].req, "\0\0\0\0\1x", 6);
        st[i].req_off = 6; /* provider has nothing to send: defers */
        st[i].grpc_status = -1;
        nghttp2_nv nva[] = {NVS(":method", "POST"), NVS(":scheme", "http"), NVS(":authority", "l"),
                            NVS(":path", "/test.Echo/Echo"),
                            NVS("content-type", "application/grpc")};
        st[i].id = nghttp2_submit_headers(c.s, NGHTTP2_FLAG_NONE, -1, NULL, nva, 5, &st[i]);
        assert_true(st[i].id > 0);
    }
    assert_int_equal(nghttp2_session_send(c.s), 0); /* all 1000 without reading */
    unsigned char buf[65536];
    while (c.refused < N - 100) {
        ssize_t k = recv(c.fd, buf, sizeof buf, 0);
        if (k <= 0) break;
        assert_true(nghttp2_session_mem_recv(c.s, buf, (size_t)k) == k);
    }
    assert_true(c.refused >= N - 100);
    /* The server keeps serving another connection. */
    ocl_buf_t f;
    ocl_buf_init(&f);
    frame_msg(&f, "ok", 2, false);
    cstream_t one;
    call(&one, "/test.Echo/Echo", NULL, f.p, f.len);
    assert_int_equal(one.grpc_status, 0);
    cs_free(&one);
    client_close(&c);
    for (int i = 0; i < N; i++)
        cs_free(&st[i]);
    free(st);
    ocl_buf_dispose(&f);
}

static void test_ping_flood(void **state)
{
    /* 100k PINGs from a client that never reads: the server must bound its
     * output (stop reading / drop the connection) and keep serving others. */
    int fd = tcp_connect(g_port);
    ocl_buf_t b;
    ocl_buf_init(&b);
    ocl_buf_append(&b, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
    ocl_buf_append(&b, "\0\0\0\4\0\0\0\0\0", 9); /* empty SETTINGS */
    for (int i = 0; i < 100000; i++)
        ocl_buf_append(&b,
                       "\0\0\x08\x06\0\0\0\0\0"
                       "12345678",
                       17);
    size_t off = 0;
    for (int spins = 0; off < b.len && spins < 200;) {
        ssize_t k = send(fd, b.p + off, b.len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (k > 0)
            off += (size_t)k;
        else if (k < 0 && errno == EAGAIN)
            sleep_ms(5), spins++;
        else
            break;
    }
    ocl_buf_dispose(&b);
    ocl_buf_t f;
    ocl_buf_init(&f);
    frame_msg(&f, "ok", 2, false);
    cstream_t one;
    call(&one, "/test.Echo/Echo", NULL, f.p, f.len);
    assert_int_equal(one.grpc_status, 0);
    cs_free(&one);
    ocl_buf_dispose(&f);
    close(fd);
}

static void test_garbage_after_preface(void **state)
{
    int fd = tcp_connect(g_port);
    const char junk[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nthis is not a frame at all.....";
    send_all(fd, junk, sizeof junk - 1);
    char buf[4096];
    ssize_t k;
    while ((k = recv(fd, buf, sizeof buf, 0)) > 0) {
    } /* SETTINGS, GOAWAY, then EOF */
    assert_true(k == 0 || errno == ECONNRESET);
    close(fd);
    ocl_net_stats_t s;
    ocl_server_stats(g_srv, &s);
    assert_true(s.protocol_errors >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unframe_pure),
        cmocka_unit_test(test_echo),
        cmocka_unit_test(test_echo_gzip_large),
        cmocka_unit_test(test_error_status),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_non_post_and_http),
        cmocka_unit_test(test_async),
        cmocka_unit_test(test_stream_flood),
        cmocka_unit_test(test_ping_flood),
        cmocka_unit_test(test_garbage_after_preface),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
