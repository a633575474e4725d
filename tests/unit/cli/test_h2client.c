/*
 * test_h2client.c — the gen HTTP/2 gRPC client (src/cli/h2client.c) against
 * the real server network layer (net/net.h) running in-process on
 * 127.0.0.1: many multiplexed echo calls on one connection, a large message,
 * grpc-status 14, per-call timeouts, the server stopped mid-run (in-flight
 * calls fail promptly, no hang) and restarted on the same port (the client
 * reconnects). Every wait is bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>
#include <uv.h>

#include "cli/h2client.h"
#include "core/buf.h"
#include "core/time.h"
#include "net/net.h"

#define M_ECHO "/test.Echo/Echo"
#define M_UNAVAIL "/test.Echo/Unavailable"
#define M_SLOW "/test.Echo/Slow" /* answers after 300 ms */

static ocl_server_t *g_srv;
static int g_port;

/* ---- server side ---- */

typedef struct {
    uv_timer_t t;          /* fires the late answer */
    ocl_grpc_call_t *call; /* call to answer */
} late_t;

static void late_closed(uv_handle_t *h)
{
    free(h->data);
}
static void late_fire(uv_timer_t *t)
{
    late_t *a = t->data;
    ocl_grpc_respond(a->call, 0, NULL, "late", 4);
    uv_close((uv_handle_t *)&a->t, late_closed);
}

static void grpc_handler(ocl_grpc_call_t *call, void *ud)
{
    if (ocl_str_eq_c(call->path, M_ECHO)) {
        ocl_grpc_respond(call, 0, NULL, call->msg, call->msg_len);
    } else if (ocl_str_eq_c(call->path, M_UNAVAIL)) {
        ocl_grpc_respond(call, OCL_GRPC_UNAVAILABLE, "try later 100%", NULL, 0);
    } else if (ocl_str_eq_c(call->path, M_SLOW)) {
        late_t *a = calloc(1, sizeof(*a));
        a->call = call;
        uv_timer_init(ocl_grpc_call_loop(call), &a->t);
        a->t.data = a;
        uv_timer_start(&a->t, late_fire, 300, 0);
    } else {
        ocl_grpc_respond(call, OCL_GRPC_UNIMPLEMENTED, "unknown method", NULL, 0);
    }
}

static void server_up(int port)
{
    ocl_net_limits_t l;
    ocl_net_limits_default(&l);
    g_srv = ocl_server_create(1, &l);
    char addr[32];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    ocl_listener_cfg_t cfg = {.addr = addr, .grpc = grpc_handler};
    assert_int_equal(ocl_server_listen(g_srv, &cfg, &g_port), 0);
    assert_int_equal(ocl_server_start(g_srv), 0);
}

static void server_down(void)
{
    if (!g_srv) return;
    ocl_server_stop(g_srv);
    ocl_server_destroy(g_srv);
    g_srv = NULL;
}

static int setup(void **state)
{
    server_up(0);
    return 0;
}

static int teardown(void **state)
{
    server_down();
    return 0;
}

/* ---- client side ---- */

typedef struct {
    int done;        /* callback ran (count: must end at 1) */
    int error;       /* result.error */
    bool timed_out;  /* result.timed_out */
    int http_status; /* result.http_status */
    int grpc_status; /* result.grpc_status */
    char msg[64];    /* result.grpc_message */
    char err[128];   /* result.error_text */
    ocl_buf_t body;  /* result body */
    ocl_buf_t req;   /* framed request */
} rec_t;

static int g_done; /* callbacks run, all recs */

static void on_done(void *ud, const ocl_h2client_result_t *r)
{
    rec_t *x = ud;
    x->done++;
    g_done++;
    x->error = r->error;
    x->timed_out = r->timed_out;
    x->http_status = r->http_status;
    x->grpc_status = r->grpc_status;
    snprintf(x->msg, sizeof(x->msg), "%s", r->grpc_message);
    if (r->error) {
        assert_non_null(r->error_text);
        snprintf(x->err, sizeof(x->err), "%s", r->error_text);
    }
    x->body.len = 0;
    ocl_buf_append(&x->body, r->body, r->body_len);
}

static void frame(ocl_buf_t *b, const void *msg, size_t n)
{
    unsigned char h[5] = {0, (unsigned char)(n >> 24), (unsigned char)(n >> 16),
                          (unsigned char)(n >> 8), (unsigned char)n};
    b->len = 0;
    ocl_buf_append(b, h, 5);
    ocl_buf_append(b, msg, n);
}

static ocl_h2client_t *client_new(void)
{
    char ep[64];
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", g_port);
    ocl_header_t h = {"X-Scope-OrgID", 13, "t1", 2};
    ocl_h2client_cfg_t cfg = {.endpoint = ep, .max_connections = 8, .headers = &h, .n_headers = 1};
    const char *err = NULL;
    ocl_h2client_t *c = ocl_h2client_create(&cfg, &err);
    assert_non_null(c);
    return c;
}

/* Polls until `target` callbacks have run in total or `ms` pass. */
static void poll_until(ocl_h2client_t *c, int target, int ms)
{
    uint64_t end = ocl_mono_nano() + (uint64_t)ms * 1000000ull;
    while (g_done < target && ocl_mono_nano() < end)
        ocl_h2client_poll(c, 50);
}

static void rec_free(rec_t *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ocl_buf_dispose(&r[i].body);
        ocl_buf_dispose(&r[i].req);
    }
}

static void test_endpoint_parsing(void **state)
{
    const char *err = NULL;
    ocl_h2client_cfg_t cfg = {.endpoint = "https://127.0.0.1:4317"};
    assert_null(ocl_h2client_create(&cfg, &err));
    assert_non_null(err);
    cfg.endpoint = "http://127.0.0.1:43x7";
    assert_null(ocl_h2client_create(&cfg, &err));
    cfg.endpoint = "http://[::1]:4317/";
    ocl_h2client_t *c = ocl_h2client_create(&cfg, &err);
    assert_non_null(c);
    assert_int_equal(ocl_h2client_call(c, "no-slash", "", 0, 0, on_done, NULL), OCL_EINVAL);
    ocl_h2client_destroy(c);
}

/* 500 calls, 64 in flight, one connection: all echo their own message. */
static void test_many_calls_one_connection(void **state)
{
    enum { N = 500, CONC = 64 };
    ocl_h2client_t *c = client_new();
    rec_t *r = calloc(N, sizeof(*r));
    g_done = 0;
    int started = 0;
    uint64_t end = ocl_mono_nano() + 20000000000ull;
    while (g_done < N && ocl_mono_nano() < end) {
        while (started < N && started - g_done < CONC) {
            char msg[64];
            int n = snprintf(msg, sizeof(msg), "message %d", started);
            frame(&r[started].req, msg, (size_t)n);
            assert_int_equal(ocl_h2client_call(c, M_ECHO, r[started].req.p, r[started].req.len,
                                               5000, on_done, &r[started]),
                             0);
            started++;
        }
        ocl_h2client_poll(c, 100);
    }
    assert_int_equal(g_done, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(r[i].done, 1);
        assert_int_equal(r[i].error, 0);
        assert_int_equal(r[i].http_status, 200);
        assert_int_equal(r[i].grpc_status, 0);
        assert_int_equal(r[i].body.len, r[i].req.len); /* echo: same frame back */
        assert_memory_equal(r[i].body.p, r[i].req.p, r[i].req.len);
    }
    ocl_h2client_stats_t st;
    ocl_h2client_stats(c, &st);
    assert_int_equal(st.connections_opened, 1);
    assert_int_equal(ocl_h2client_pending(c), 0);
    ocl_h2client_destroy(c);
    rec_free(r, N);
    free(r);
}

/* Multi-MiB messages in concurrent calls flow and come back. 4 x 3 MiB
 * passes the server's 4 MiB pending-write bound, which once stalled a
 * response whose last frames were produced after a synchronous write. */
static void test_large_messages(void **state)
{
    enum { N = 4, SZ = 3 << 20 };
    ocl_h2client_t *c = client_new();
    rec_t r[N];
    memset(r, 0, sizeof(r));
    unsigned char *msg = malloc(SZ);
    for (size_t i = 0; i < SZ; i++)
        msg[i] = (unsigned char)(i * 31 + 7);
    g_done = 0;
    for (int i = 0; i < N; i++) {
        msg[0] = (unsigned char)i;
        frame(&r[i].req, msg, SZ);
        assert_int_equal(
            ocl_h2client_call(c, M_ECHO, r[i].req.p, r[i].req.len, 10000, on_done, &r[i]), 0);
    }
    poll_until(c, N, 15000);
    assert_int_equal(g_done, N);
    for (int i = 0; i < N; i++) {
        if (r[i].error) print_error("call %d: %s\n", i, r[i].err);
        assert_int_equal(r[i].error, 0);
        assert_int_equal(r[i].grpc_status, 0);
        assert_int_equal(r[i].body.len, r[i].req.len);
        assert_memory_equal(r[i].body.p, r[i].req.p, r[i].req.len);
    }
    ocl_h2client_destroy(c);
    rec_free(r, N);
    free(msg);
}

static void test_unavailable(void **state)
{
    ocl_h2client_t *c = client_new();
    rec_t r;
    memset(&r, 0, sizeof(r));
    frame(&r.req, "x", 1);
    g_done = 0;
    assert_int_equal(ocl_h2client_call(c, M_UNAVAIL, r.req.p, r.req.len, 5000, on_done, &r), 0);
    poll_until(c, 1, 5000);
    assert_int_equal(r.done, 1);
    assert_int_equal(r.error, 0);
    assert_int_equal(r.http_status, 200);
    assert_int_equal(r.grpc_status, 14);
    assert_string_equal(r.msg, "try later 100%"); /* percent-decoded */
    ocl_h2client_destroy(c);
    rec_free(&r, 1);
}

/* The call times out; the connection stays usable. */
static void test_timeout(void **state)
{
    ocl_h2client_t *c = client_new();
    rec_t r[2];
    memset(r, 0, sizeof(r));
    frame(&r[0].req, "slow", 4);
    frame(&r[1].req, "fast", 4);
    g_done = 0;
    uint64_t t0 = ocl_mono_nano();
    assert_int_equal(ocl_h2client_call(c, M_SLOW, r[0].req.p, r[0].req.len, 50, on_done, &r[0]), 0);
    poll_until(c, 1, 5000);
    assert_int_equal(r[0].done, 1);
    assert_true(r[0].timed_out);
    assert_int_equal(r[0].error, OCL_EIO);
    assert_true(ocl_mono_nano() - t0 < 250000000ull); /* before the 300 ms answer */
    assert_int_equal(ocl_h2client_call(c, M_ECHO, r[1].req.p, r[1].req.len, 5000, on_done, &r[1]),
                     0);
    poll_until(c, 2, 5000);
    assert_int_equal(r[1].error, 0);
    assert_int_equal(r[1].grpc_status, 0);
    poll_until(c, 3, 400); /* the late answer to the cancelled call is ignored */
    assert_int_equal(r[0].done, 1);
    ocl_h2client_stats_t st;
    ocl_h2client_stats(c, &st);
    assert_int_equal(st.connections_opened, 1);
    ocl_h2client_destroy(c);
    rec_free(r, 2);
}

/* Server stopped with calls in flight: they fail promptly; calls while it is
 * down fail too; after a restart on the same port the client reconnects. */
static void test_server_restart(void **state)
{
    enum { N = 32 };
    ocl_h2client_t *c = client_new();
    rec_t r[N];
    memset(r, 0, sizeof(r));
    g_done = 0;
    for (int i = 0; i < N; i++) {
        frame(&r[i].req, "pending", 7);
        assert_int_equal(
            ocl_h2client_call(c, M_SLOW, r[i].req.p, r[i].req.len, 10000, on_done, &r[i]), 0);
    }
    /* let the requests reach the server (their answers are 300 ms away) */
    uint64_t end = ocl_mono_nano() + 100000000ull;
    while (ocl_mono_nano() < end)
        ocl_h2client_poll(c, 10);
    assert_int_equal(g_done, 0);
    int port = g_port;
    uint64_t t0 = ocl_mono_nano();
    server_down();
    poll_until(c, N, 5000);
    assert_int_equal(g_done, N);
    assert_true(ocl_mono_nano() - t0 < 2000000000ull); /* promptly, not at the 10 s timeout */
    for (int i = 0; i < N; i++) {
        assert_int_equal(r[i].done, 1);
        assert_int_equal(r[i].error, OCL_EIO);
        assert_false(r[i].timed_out);
    }
    assert_int_equal(ocl_h2client_pending(c), 0);

    /* down: new calls fail (connection refused), without hanging */
    rec_t d;
    memset(&d, 0, sizeof(d));
    frame(&d.req, "down", 4);
    g_done = 0;
    assert_int_equal(ocl_h2client_call(c, M_ECHO, d.req.p, d.req.len, 10000, on_done, &d), 0);
    poll_until(c, 1, 3000);
    assert_int_equal(d.done, 1);
    assert_int_equal(d.error, OCL_EIO);

    /* back up on the same port: the client reconnects */
    server_up(port);
    assert_int_equal(g_port, port);
    g_done = 0;
    for (int i = 0; i < N; i++) {
        memset(&r[i].done, 0, sizeof(r[i].done));
        frame(&r[i].req, "again", 5);
        assert_int_equal(
            ocl_h2client_call(c, M_ECHO, r[i].req.p, r[i].req.len, 5000, on_done, &r[i]), 0);
    }
    poll_until(c, N, 5000);
    assert_int_equal(g_done, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(r[i].done, 1);
        assert_int_equal(r[i].error, 0);
        assert_int_equal(r[i].grpc_status, 0);
        assert_int_equal(r[i].body.len, r[i].req.len);
    }
    ocl_h2client_stats_t st;
    ocl_h2client_stats(c, &st);
    assert_true(st.connections_opened >= 3);
    assert_int_equal(st.connections_open, 1);
    ocl_h2client_destroy(c);
    rec_free(r, N);
    rec_free(&d, 1);
}

/* Calls still in flight when the client is destroyed are dropped quietly. */
static void test_destroy_in_flight(void **state)
{
    ocl_h2client_t *c = client_new();
    rec_t r;
    memset(&r, 0, sizeof(r));
    frame(&r.req, "x", 1);
    assert_int_equal(ocl_h2client_call(c, M_SLOW, r.req.p, r.req.len, 5000, on_done, &r), 0);
    ocl_h2client_poll(c, 20);
    ocl_h2client_destroy(c);
    assert_int_equal(r.done, 0);
    rec_free(&r, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoint_parsing), cmocka_unit_test(test_many_calls_one_connection),
        cmocka_unit_test(test_large_messages),   cmocka_unit_test(test_unavailable),
        cmocka_unit_test(test_timeout),          cmocka_unit_test(test_destroy_in_flight),
        cmocka_unit_test(test_server_restart),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
