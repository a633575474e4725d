/*
 * test_http1.c — HTTP/1.1 server behaviour over real sockets: bodies
 * (Content-Length, chunked), keep-alive, pipelining, 100-continue, limits
 * (431, 413, 400, 408), HTTP/1.0 and Connection: close, asynchronous
 * responses and a client that leaves before its asynchronous answer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>
#include <uv.h>

#include "core/buf.h"
#include "net/net.h"
#include "net_test_util.h"

static ocl_server_t *g_srv;
static int g_port;

typedef struct {
    uv_timer_t t;        /* fires the late answer */
    ocl_http_req_t *req; /* request to answer */
} async_t;

static void async_closed(uv_handle_t *h)
{
    free(h->data);
}

static void async_fire(uv_timer_t *t)
{
    async_t *a = t->data;
    ocl_http_respond(a->req, 200, "text/plain", NULL, 0, "async", 5);
    uv_close((uv_handle_t *)&a->t, async_closed);
}

static void echo(ocl_http_req_t *req, void *ud)
{
    if (ocl_str_eq_c(req->path, "/async")) {
        async_t *a = calloc(1, sizeof *a);
        a->req = req;
        uv_timer_init(ocl_http_req_loop(req), &a->t);
        a->t.data = a;
        uv_timer_start(&a->t, async_fire, 50, 0);
        return;
    }
    ocl_buf_t b;
    ocl_buf_init(&b);
    ocl_buf_append(&b, req->method.p, req->method.n);
    ocl_buf_putc(&b, ' ');
    ocl_buf_append(&b, req->path.p, req->path.n);
    if (req->query.n) {
        ocl_buf_putc(&b, '?');
        ocl_buf_append(&b, req->query.p, req->query.n);
    }
    ocl_str_t h = ocl_http_req_header(req, "x-test");
    if (h.n) {
        ocl_buf_puts(&b, " x-test=");
        ocl_buf_append(&b, h.p, h.n);
    }
    ocl_buf_putc(&b, '\n');
    ocl_buf_append(&b, req->body, req->body_len);
    ocl_header_t extra = {"X-Echo", 6, "1", 1};
    ocl_http_respond(req, 200, "text/plain", &extra, 1, b.p, b.len);
    ocl_buf_dispose(&b);
}

static int setup(void **state)
{
    ocl_net_limits_t l;
    ocl_net_limits_default(&l);
    l.max_header_bytes = 4096;
    l.max_body_bytes = 2 << 20;
    l.header_timeout_ms = 200;
    l.idle_timeout_ms = 5000;
    g_srv = ocl_server_create(2, &l);
    ocl_listener_cfg_t cfg = {.addr = "127.0.0.1:0", .http = echo};
    assert_int_equal(ocl_server_listen(g_srv, &cfg, &g_port), 0);
    assert_true(g_port > 0);
    assert_int_equal(ocl_server_start(g_srv), 0);
    return 0;
}

static int teardown(void **state)
{
    ocl_server_stop(g_srv);
    ocl_server_destroy(g_srv);
    return 0;
}

typedef struct {
    int status;      /* status code, -1 on EOF/timeout before a response */
    char head[8192]; /* raw head */
    ocl_buf_t body;  /* body bytes */
} resp_t;

/* Reads one response (skipping 1xx if skip_1xx). Leftover bytes are kept
 * in *pend for the next call. */
static char g_pend[1 << 16];
static size_t g_npend;

static int fill(int fd)
{
    if (g_npend == sizeof g_pend) return -1;
    ssize_t k = recv(fd, g_pend + g_npend, sizeof g_pend - g_npend, 0);
    if (k <= 0) return -1;
    g_npend += (size_t)k;
    return 0;
}

static void consume(size_t n)
{
    memmove(g_pend, g_pend + n, g_npend - n);
    g_npend -= n;
}

static int read_response(int fd, resp_t *r, bool skip_1xx)
{
    ocl_buf_init(&r->body);
    r->status = -1;
    for (;;) {
        char *end;
        while (!(end = memmem(g_pend, g_npend, "\r\n\r\n", 4)))
            if (fill(fd) < 0) return -1;
        size_t hl = (size_t)(end - g_pend) + 4;
        assert_true(hl < sizeof r->head);
        memcpy(r->head, g_pend, hl);
        r->head[hl] = 0;
        consume(hl);
        r->status = atoi(r->head + 9);
        if (r->status >= 200 || !skip_1xx) break;
    }
    if (r->status < 200) return 0;
    char *cl = strcasestr(r->head, "content-length:");
    assert_non_null(cl);
    size_t n = strtoul(cl + 15, NULL, 10);
    while (g_npend < n && g_npend < sizeof g_pend)
        if (fill(fd) < 0) return -1;
    while (n) {
        if (g_npend == 0 && fill(fd) < 0) return -1;
        size_t k = OCL_MIN(n, g_npend);
        ocl_buf_append(&r->body, g_pend, k);
        consume(k);
        n -= k;
    }
    return 0;
}

static bool body_is(resp_t *r, const char *s)
{
    return r->body.len == strlen(s) && memcmp(r->body.p, s, r->body.len) == 0;
}

/* After a closing response the server must send EOF. */
static void expect_eof(int fd)
{
    char c;
    assert_int_equal(g_npend, 0);
    assert_true(recv(fd, &c, 1, 0) <= 0);
}

static int conn(void)
{
    g_npend = 0;
    int fd = tcp_connect(g_port);
    assert_true(fd >= 0);
    return fd;
}

static void test_get(void **state)
{
    int fd = conn();
    const char req[] = "GET /hello?x=1 HTTP/1.1\r\nHost: a\r\nX-Test: yes\r\n\r\n";
    send_all(fd, req, sizeof req - 1);
    resp_t r;
    assert_int_equal(read_response(fd, &r, true), 0);
    assert_int_equal(r.status, 200);
    assert_true(body_is(&r, "GET /hello?x=1 x-test=yes\n"));
    assert_non_null(strstr(r.head, "X-Echo: 1\r\n"));
    assert_non_null(strstr(r.head, "Content-Type: text/plain\r\n"));
    assert_null(strstr(r.head, "Connection: close"));
    ocl_buf_dispose(&r.body);
    close(fd);
}

static void test_post_content_length(void **state)
{
    int fd = conn();
    const char req[] = "POST /v1/traces HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";
    send_all(fd, req, sizeof req - 1);
    resp_t r;
    assert_int_equal(read_response(fd, &r, true), 0);
    assert_int_equal(r.status, 200);
    assert_true(body_is(&r, "POST /v1/traces\nhello"));
    ocl_buf_dispose(&r.body);
    close(fd);
}

static void test_post_large_split(void **state)
{
    /* 1 MiB body sent in pieces: exercises reading straight into the body. */
    size_t n = 1 << 20;
    char *body = malloc(n);
    for (size_t i = 0; i < n; i++)
        body[i] = (char)('a' + i % 26);
    int fd = conn();
    char head[128];
    int hl = snprintf(head, sizeof head,
                      "POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: %zu\r\n\r\n", n);
    send_all(fd, head, (size_t)hl);
    send_all(fd, body, 1000);
    sleep_ms(10);
    send_all(fd, body + 1000, n - 1000);
    resp_t r;
    assert_int_equal(read_response(fd, &r, true), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, n + 10);
    assert_memory_equal(r.body.p, "POST /big\n", 10);
    assert_memory_equal(r.body.p + 10, body, n);
    ocl_buf_dispose(&r.body);
    free(body);
    close(fd);
}

static void test_chunked(void **state)
{
    int fd = conn();
    const char req[] = "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "3\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n";
    /* byte by byte: every parser callback is split */
    for (size_t i = 0; i < sizeof req - 1; i++)
        send_all(fd, req + i, 1);
    resp_t r;
    assert_int_equal(read_response(fd, &r, true), 0);
    assert_int_equal(r.status, 200);
    assert_true(body_is(&r, "POST /c\nabcde"));
    ocl_buf_dispose(&r.body);
    close(fd);
}

static void test_keepalive_two(void **state)
{
    int fd = conn();
    for (int i = 0; i < 2; i++) {
        char req[128], want[32];
        int n = snprintf(req, sizeof req, "GET /k%d HTTP/1.1\r\nHost: a\r\n\r\n", i);
        snprintf(want, sizeof want, "GET /k%d\n", i);
        send_all(fd, req, (size_t)n);
        resp_t r;
        assert_int_equal(read_response(fd, &r, true), 0);
        assert_int_equal(r.status, 200);
        assert_true(body_is(&r, want));
        ocl_buf_dispose(&r.body);
    }
    close(fd);
}

static void test_pipelined(void **state)
{
    int fd = conn();
    const char req[] = "POST /p1 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nxy"
                       "GET /async HTTP/1.1\r\nHost: a\r\n\r\n"
                       "GET /p3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    send_all(fd, req, sizeof req - 1);
    resp_t r;
    assert_int_equal(read_response(fd, &r, true), 0);
    assert_true(body_is(&r, "POST /p1\nxy"));
    ocl_buf_dispose(&r.body);
    assert_int_equal(read_response(fd, &r, true), 0);
    assert_true(body_is(&r, "async"));
    ocl_buf_dispose(&r.body);
    assert_int_equal(read_response(fd, &r, true), 0);
    assert_true(body_is(&r, "GET /p3\n"));
    assert_non_null(strstr(r.head, "Connection: close\r\n"));
    ocl_buf_dispose(&r.body);
    expect_eof(fd);
    close(fd);
}

static void test_expect_continue(void **state)
{
    int fd = conn();
    const char head[] =
        "POST /e HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n";
    send_all(fd, head, sizeof head - 1);
    resp_t r;
    assert_int_equal(read_response(fd, &r, false), 0);
    assert_int_equal(r.status, 100);
    send_all(fd, "body", 4);
    assert_int_equal(read_response(fd, &r, true), 0);
    assert_int_equal(r.status, 200);
    assert_true(body_is(&r, "POST /e\nbody"));
    ocl_buf_dispose(&r.body);
    close(fd);
}

static void test_header_too_large(void **state)
{
    int fd = conn();
    ocl_buf_t b;
    ocl_buf_init(&b);
    ocl_buf_puts(&b, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 100; i++)
        ocl_buf_printf(&b, "X-Pad-%d: %060d\r\n", i, i);
    ocl_buf_puts(&b, "\r\n");
    send_all(fd, b.p, b.len);
    ocl_buf_dispose(&b);
    resp_t r;
    assert_int_equal(read_response(fd, &r, true), 0);
    assert_int_equal(r.status, 431);
    assert_non_null(strstr(r.head, "Connection: close\r\n"));
    assert_true(r.body.len > 0);
    ocl_buf_dispose(&r.body);
    expect_eof(fd);
    close(fd);
}

static void test_body_too_large(void **state)
{
    int fd = conn();
    const char head[] = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3000000\r\n\r\n";
    send_all(fd, head, sizeof head - 1);
    char junk[4096];
    memset(junk, 'j', sizeof junk);
    send_all(fd, junk, sizeof junk);
    resp_t r;
    assert_int_equal(read_response(fd, &r, true), 0);
    assert_int_equal(r.status, 413);
    assert_true(body_is(&r, "request body too large\n"));
    ocl_buf_dispose(&r.body);
    expect_eof(fd);
    close(fd);
}

static void test_chunked_too_large(void **state)
{
    int fd = conn();
    const char head[] = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    send_all(fd, head, sizeof head - 1);
    char *chunk = malloc(1 << 20);
    memset(chunk, 'z', 1 << 20);
    int status = -1;
    resp_t r;
    for (int i = 0; i < 3; i++) {
        const char ch[] = "100000\r\n";
        if (send_all(fd, ch, sizeof ch - 1) || send_all(fd, chunk, 1 << 20) ||
            send_all(fd, "\r\n", 2))
            break;
    }
    if (read_response(fd, &r, true) == 0) {
        status = r.status;
        ocl_buf_dispose(&r.body);
    }
    assert_int_equal(status, 413);
    free(chunk);
    close(fd);
}

static void test_garbage(void **state)
{
    int fd = conn();
    const char req[] = "\x01\x02 garbage \r\n\r\n";
    send_all(fd, req, sizeof req - 1);
    resp_t r;
    assert_int_equal(read_response(fd, &r, true), 0);
    assert_int_equal(r.status, 400);
    assert_true(body_is(&r, "malformed HTTP request\n"));
    ocl_buf_dispose(&r.body);
    expect_eof(fd);
    close(fd);
}

static void test_header_timeout(void **state)
{
    int fd = conn();
    const char req[] = "GET / HTTP/1.1\r\nHost: a\r\n";
    send_all(fd, req, sizeof req - 1);
    resp_t r;
    assert_int_equal(read_response(fd, &r, true), 0);
    assert_int_equal(r.status, 408);
    ocl_buf_dispose(&r.body);
    expect_eof(fd);
    close(fd);
}

static void test_http10_closes(void **state)
{
    int fd = conn();
    const char req[] = "GET /old HTTP/1.0\r\n\r\n";
    send_all(fd, req, sizeof req - 1);
    resp_t r;
    assert_int_equal(read_response(fd, &r, true), 0);
    assert_int_equal(r.status, 200);
    assert_true(body_is(&r, "GET /old\n"));
    ocl_buf_dispose(&r.body);
    expect_eof(fd);
    close(fd);
}

static void test_async_and_disconnect(void **state)
{
    int fd = conn();
    const char req[] = "GET /async HTTP/1.1\r\nHost: a\r\n\r\n";
    send_all(fd, req, sizeof req - 1);
    resp_t r;
    assert_int_equal(read_response(fd, &r, true), 0);
    assert_true(body_is(&r, "async"));
    ocl_buf_dispose(&r.body);
    close(fd);
    /* The client leaves before the late answer: it must be dropped safely. */
    for (int i = 0; i < 5; i++) {
        fd = conn();
        send_all(fd, req, sizeof req - 1);
        sleep_ms(5);
        close(fd);
    }
    sleep_ms(150);
    ocl_net_stats_t st;
    ocl_server_stats(g_srv, &st);
    assert_true(st.connections_total >= 6);
    assert_true(st.protocol_errors >= 1);
}

static void test_max_connections(void **state)
{
    ocl_net_limits_t l;
    ocl_net_limits_default(&l);
    l.max_connections = 1;
    ocl_server_t *s = ocl_server_create(1, &l);
    ocl_listener_cfg_t cfg = {.addr = "127.0.0.1:0", .http = echo};
    int port;
    assert_int_equal(ocl_server_listen(s, &cfg, &port), 0);
    assert_int_equal(ocl_server_start(s), 0);
    int a = tcp_connect(port);
    const char req[] = "GET /one HTTP/1.1\r\nHost: a\r\n\r\n";
    send_all(a, req, sizeof req - 1);
    char buf[512];
    assert_true(recv(a, buf, sizeof buf, 0) > 0); /* a is served */
    int b = tcp_connect(port);
    send_all(b, req, sizeof req - 1);
    assert_true(recv(b, buf, sizeof buf, 0) <= 0); /* b is refused */
    ocl_net_stats_t st;
    ocl_server_stats(s, &st);
    assert_int_equal(st.connections_refused, 1);
    close(a);
    close(b);
    ocl_server_destroy(s);
}

static void test_idle_timeout_silent(void **state)
{
    ocl_net_limits_t l;
    ocl_net_limits_default(&l);
    l.idle_timeout_ms = 100;
    ocl_server_t *s = ocl_server_create(1, &l);
    ocl_listener_cfg_t cfg = {.addr = "127.0.0.1:0", .http = echo};
    int port;
    assert_int_equal(ocl_server_listen(s, &cfg, &port), 0);
    assert_int_equal(ocl_server_start(s), 0);
    int fd = tcp_connect(port);
    const char req[] = "GET /one HTTP/1.1\r\nHost: a\r\n\r\n";
    send_all(fd, req, sizeof req - 1);
    char buf[512];
    ssize_t k = recv(fd, buf, sizeof buf, 0);
    assert_true(k > 0 && memmem(buf, (size_t)k, "GET /one", 8));
    /* keep-alive idle: closed without a response */
    assert_int_equal(recv(fd, buf, sizeof buf, 0), 0);
    close(fd);
    ocl_server_destroy(s);
}

static int g_ticks;
static void tick(void *ud)
{
    __atomic_add_fetch(&g_ticks, 1, __ATOMIC_SEQ_CST);
}

static void test_timer_and_stop(void **state)
{
    ocl_server_t *s = ocl_server_create(0, NULL);
    assert_int_equal(ocl_server_add_timer(s, 10, tick, NULL), 0);
    ocl_listener_cfg_t cfg = {.addr = "127.0.0.1:0", .http = echo};
    int port;
    assert_int_equal(ocl_server_listen(s, &cfg, &port), 0);
    assert_int_equal(ocl_server_start(s), 0);
    int fd = tcp_connect(port); /* an open idle connection must not block stop */
    /* three 10 ms ticks: waited for (≤ 10 s), not assumed to fit in a fixed
     * 100 ms, which a loaded machine's scheduler need not grant the loop */
    for (int i = 0; i < 1000 && __atomic_load_n(&g_ticks, __ATOMIC_SEQ_CST) < 3; i++)
        sleep_ms(10);
    ocl_server_stop(s);
    assert_true(__atomic_load_n(&g_ticks, __ATOMIC_SEQ_CST) >= 3);
    ocl_server_destroy(s);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_post_content_length),
        cmocka_unit_test(test_post_large_split),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_keepalive_two),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_expect_continue),
        cmocka_unit_test(test_header_too_large),
        cmocka_unit_test(test_body_too_large),
        cmocka_unit_test(test_chunked_too_large),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_header_timeout),
        cmocka_unit_test(test_http10_closes),
        cmocka_unit_test(test_async_and_disconnect),
        cmocka_unit_test(test_max_connections),
        cmocka_unit_test(test_idle_timeout_silent),
        cmocka_unit_test(test_timer_and_stop),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
