/*
 * test_sdk_exporter.c — the OTLP/HTTP exporter against a local test HTTP
 * server on 127.0.0.1:0 that can be down, slow, answer 429 with
 * Retry-After, 400, 503, a partial_success body or a huge body. Checks
 * headers (User-Agent, Content-Type, gzip, custom headers), retry rules,
 * that application threads are never blocked beyond the deadline and that
 * memory stays bounded (counting allocator).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "sdk_testlib.h"

enum { M_OK, M_429_THEN_OK, M_400, M_503, M_SLOW, M_HUGE, M_PARTIAL, M_429_RA0, M_HANG };

typedef struct server {
    int fd;                  /* listening socket */
    int port;                /* bound port */
    _Atomic int mode;        /* M_* */
    _Atomic int stop;        /* ask the thread to exit */
    _Atomic int requests;    /* requests answered or held */
    pthread_t th;            /* server thread */
    char last_headers[4096]; /* headers of the last request */
    uint8_t *last_body;      /* body of the last request (malloc) */
    size_t last_len;         /* its length */
    uint64_t req_ms[16];     /* arrival times (monotonic ms) */
    pthread_mutex_t mu;      /* guards last_* */
} server_t;

/* Deadline checks below allow the deadline plus 1 s of scheduling slack
 * (the machine running the tests may be loaded); a real blocking bug
 * shows as the 5-10 s the stuck server or the retries would take. */
static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0) return;
        c += w;
        n -= (size_t)w;
    }
}

static void handle(server_t *s, int c)
{
    char buf[65536];
    size_t n = 0;
    char *hend = NULL;
    uint64_t t0 = mono_ms();
    while (!hend && n < sizeof buf - 1 && mono_ms() - t0 < 5000) {
        struct pollfd pf = {c, POLLIN, 0};
        if (poll(&pf, 1, 50) <= 0) continue;
        ssize_t r = recv(c, buf + n, sizeof buf - 1 - n, 0);
        if (r <= 0) return;
        n += (size_t)r;
        buf[n] = 0;
        hend = strstr(buf, "\r\n\r\n");
    }
    if (!hend) return;
    size_t hlen = (size_t)(hend - buf) + 4;
    const char *cl = strcasestr(buf, "content-length:");
    size_t blen = cl ? (size_t)strtoul(cl + 15, NULL, 10) : 0;
    uint8_t *body = malloc(blen + 1);
    size_t have = n - hlen < blen ? n - hlen : blen;
    memcpy(body, buf + hlen, have);
    while (have < blen && mono_ms() - t0 < 5000) {
        ssize_t r = recv(c, body + have, blen - have, 0);
        if (r <= 0) break;
        have += (size_t)r;
    }
    int k = atomic_fetch_add(&s->requests, 1);
    pthread_mutex_lock(&s->mu);
    if (k < 16) s->req_ms[k] = mono_ms();
    snprintf(s->last_headers, sizeof s->last_headers, "%.*s", (int)hlen, buf);
    free(s->last_body);
    s->last_body = body;
    s->last_len = have;
    pthread_mutex_unlock(&s->mu);

    int mode = atomic_load(&s->mode);
    const char *ok = "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\n"
                     "Content-Length: 0\r\nConnection: close\r\n\r\n";
    switch (mode) {
    case M_OK:
        send_all(c, ok, strlen(ok));
        break;
    case M_429_THEN_OK:
        if (k == 0) {
            const char *r = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\n"
                            "Content-Length: 0\r\nConnection: close\r\n\r\n";
            send_all(c, r, strlen(r));
        } else {
            send_all(c, ok, strlen(ok));
        }
        break;
    case M_400: {
        const char *r =
            "HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbad";
        send_all(c, r, strlen(r));
        break;
    }
    case M_503: {
        const char *r = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                        "Connection: close\r\n\r\n";
        send_all(c, r, strlen(r));
        break;
    }
    case M_SLOW:
        for (int i = 0; i < 100 && !atomic_load(&s->stop); i++)
            usleep(50000); /* holds the request up to 5 s */
        break;
    case M_HUGE: {
        const size_t total = 64u << 20;
        char hdr[200];
        snprintf(hdr, sizeof hdr,
                 "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", total);
        send_all(c, hdr, strlen(hdr));
        static char chunk[65536];
        memset(chunk, 'z', sizeof chunk);
        for (size_t sent = 0; sent < total && !atomic_load(&s->stop); sent += sizeof chunk) {
            ssize_t w = send(c, chunk, sizeof chunk, MSG_NOSIGNAL);
            if (w <= 0) break;
        }
        break;
    }
    case M_HANG:
        for (int i = 0; i < 6000 && !atomic_load(&s->stop); i++)
            usleep(10000); /* holds the request until the test ends (60 s at most) */
        break;
    case M_429_RA0: {
        /* "retry now", every time (a past HTTP-date means the same) */
        const char *r = (k & 1) ? "HTTP/1.1 429 Too Many Requests\r\n"
                                  "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n"
                                  "Content-Length: 0\r\nConnection: close\r\n\r\n"
                                : "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0\r\n"
                                  "Content-Length: 0\r\nConnection: close\r\n\r\n";
        send_all(c, r, strlen(r));
        break;
    }
    case M_PARTIAL: {
        const uint8_t pb[] = {0x0a, 0x07, 0x08, 0x01, 0x12, 0x03, 'b', 'a', 'd'};
        char hdr[200];
        snprintf(hdr, sizeof hdr,
                 "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", sizeof pb);
        send_all(c, hdr, strlen(hdr));
        send_all(c, pb, sizeof pb);
        break;
    }
    }
}

static void *server_main(void *arg)
{
    server_t *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd pf = {s->fd, POLLIN, 0};
        if (poll(&pf, 1, 50) <= 0) continue;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0) continue;
        handle(s, c);
        close(c);
    }
    return NULL;
}

static server_t g_srv;
static int g_srv_running; /* a server thread is up */
static void server_stop(void);

static void server_start(int mode)
{
    server_t *s = &g_srv;
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->mode = mode;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    getsockname(s->fd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    assert_int_equal(listen(s->fd, 16), 0);
    pthread_create(&s->th, NULL, server_main, s);
    g_srv_running = 1;
}

/* After every test, also a failed one: stop the SDK and the server. */
static int teardown(void **st)
{
    (void)st;
    ocelot_shutdown(500);
    server_stop();
    return 0;
}

static void server_stop(void)
{
    if (!g_srv_running) return;
    g_srv_running = 0;
    atomic_store(&g_srv.stop, 1);
    pthread_join(g_srv.th, NULL);
    close(g_srv.fd);
    free(g_srv.last_body);
    g_srv.last_body = NULL;
}

/* A port with nothing listening. */
static int dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&a, sizeof a);
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd);
    return ntohs(a.sin_port);
}

static void init_otlp(int port, const char *timeout_ms)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/traces", port);
    setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", url, 1);
    setenv("OTEL_BSP_SCHEDULE_DELAY", "20", 1);
    setenv("OTEL_EXPORTER_OTLP_TIMEOUT", timeout_ms, 1);
    ocelot_options_t o = {.service_name = "exp-test",
                          .traces_exporter = OCELOT_EXPORTER_OTLP,
                          .logs_exporter = OCELOT_EXPORTER_NONE,
                          .metrics_exporter = OCELOT_EXPORTER_NONE};
    assert_int_equal(ocelot_init(&o), 0);
    unsetenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    unsetenv("OTEL_BSP_SCHEDULE_DELAY");
    unsetenv("OTEL_EXPORTER_OTLP_TIMEOUT");
}

static void spans(int n, const char *name)
{
    ocelot_tracer_t *t = ocelot_tracer_get("exp", NULL, NULL);
    for (int i = 0; i < n; i++) {
        ocelot_span_t *s = ocelot_span_start(t, name, NULL);
        ocelot_span_set_int(s, "i", i);
        ocelot_span_end(s, 0);
    }
}

static void ok_headers_gzip(void **st)
{
    (void)st;
    server_start(M_OK);
    setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip", 1);
    setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=s3cret,x-team=a%20b", 1);
    init_otlp(g_srv.port, "5000");
    unsetenv("OTEL_EXPORTER_OTLP_COMPRESSION");
    unsetenv("OTEL_EXPORTER_OTLP_HEADERS");
    spans(3, "gz-span");
    assert_int_equal(ocelot_force_flush(5000), 0);
    ocelot_stats_t s;
    ocelot_stats_get(&s);
    assert_int_equal(s.spans_exported, 3);
    pthread_mutex_lock(&g_srv.mu);
    const char *h = g_srv.last_headers;
    assert_non_null(strstr(h, "POST /v1/traces HTTP/1.1\r\n"));
    assert_non_null(strcasestr(h, "User-Agent: OTel-OTLP-Exporter-C/0.1.0\r\n"));
    assert_non_null(strcasestr(h, "Content-Type: application/x-protobuf\r\n"));
    assert_non_null(strcasestr(h, "Content-Encoding: gzip\r\n"));
    assert_non_null(strcasestr(h, "x-api-key: s3cret\r\n"));
    assert_non_null(strcasestr(h, "x-team: a b\r\n"));
    assert_null(strcasestr(h, "Expect:"));
    /* gunzip the body and find the spans */
    static uint8_t out[1 << 20];
    z_stream z = {0};
    inflateInit2(&z, 15 + 16);
    z.next_in = g_srv.last_body;
    z.avail_in = (uInt)g_srv.last_len;
    z.next_out = out;
    z.avail_out = sizeof out;
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
    size_t n = z.total_out;
    inflateEnd(&z);
    pthread_mutex_unlock(&g_srv.mu);
    view_t req = {out, n};
    view_t ss = pb_sub(pb_sub(req, 1), 2);
    view_t sp[4];
    assert_int_equal(pb_fields(ss, 2, sp, NULL, 4), 3);
    assert_true(pb_str_eq(pb_sub(sp[0], 5), "gz-span"));
    assert_int_equal(ocelot_shutdown(2000), 0);
    server_stop();
}

static void retry_after_429(void **st)
{
    (void)st;
    server_start(M_429_THEN_OK);
    init_otlp(g_srv.port, "5000");
    ocelot_stats_t s0;
    ocelot_stats_get(&s0);
    spans(5, "r");
    assert_int_equal(ocelot_force_flush(8000), 0);
    ocelot_stats_t s;
    ocelot_stats_get(&s);
    assert_int_equal(atomic_load(&g_srv.requests), 2);
    uint64_t gap = g_srv.req_ms[1] - g_srv.req_ms[0];
    assert_true(gap >= 900 && gap < 3000); /* Retry-After: 1 honoured */
    assert_int_equal(s.spans_exported - s0.spans_exported, 5);
    assert_int_equal(s.export_retries - s0.export_retries, 1);
    assert_int_equal(ocelot_shutdown(2000), 0);
    server_stop();
}

/* Retry-After: 0 (or a date in the past) does not make retries back to
 * back: the normal backoff (0.5-1 s, then 1-2 s) is the floor. Inside a
 * 1.5 s export deadline that allows at most 2 attempts, however fast or
 * slow the machine (waits only get longer under load); back-to-back
 * retries made hundreds. */
static void retry_after_zero_backs_off(void **st)
{
    (void)st;
    server_start(M_429_RA0);
    setenv("OTEL_BSP_EXPORT_TIMEOUT", "1500", 1);
    init_otlp(g_srv.port, "1000");
    unsetenv("OTEL_BSP_EXPORT_TIMEOUT");
    ocelot_stats_t s0;
    ocelot_stats_get(&s0);
    spans(1, "ra0"); /* one span: one export, however the thread is scheduled */
    ocelot_force_flush(6000);
    ocelot_stats_t s;
    ocelot_stats_get(&s);
    int req = atomic_load(&g_srv.requests);
    assert_true(req >= 1 && req <= 2);
    assert_true(s.export_retries - s0.export_retries <= 1);
    assert_int_equal(s.span_export_failures - s0.span_export_failures, 1);
    assert_int_equal(ocelot_shutdown(500), 0);
    server_stop();
}

/* ocelot_force_flush aborts the running export at its deadline (docs):
 * with a backend that never answers and export timeouts of 30 s, the
 * flush returns OCELOT_ETIMEDOUT at its deadline and the export thread
 * gives the request up then (a failure), instead of waiting 30 s for the
 * backend with the flush long gone. The check waits up to 10 s (an upper
 * bound for a loaded machine; without the abort it never happens, as the
 * server holds the request until the test ends). */
static void flush_aborts_export_at_deadline(void **st)
{
    (void)st;
    server_start(M_HANG);
    setenv("OTEL_BSP_EXPORT_TIMEOUT", "30000", 1);
    init_otlp(g_srv.port, "30000");
    unsetenv("OTEL_BSP_EXPORT_TIMEOUT");
    ocelot_stats_t s0, s;
    ocelot_stats_get(&s0);
    spans(1, "hang"); /* one span: one export, however the thread is scheduled */
    assert_int_equal(ocelot_force_flush(300), OCELOT_ETIMEDOUT);
    uint64_t t0 = mono_ms();
    do {
        usleep(10000);
        ocelot_stats_get(&s);
    } while (s.span_export_failures == s0.span_export_failures && mono_ms() - t0 < 10000);
    assert_int_equal(s.span_export_failures - s0.span_export_failures, 1);
    assert_int_equal(s.spans_dropped - s0.spans_dropped, 1);
    assert_true(atomic_load(&g_srv.requests) <= 1); /* aborted, not retried */
    assert_int_equal(ocelot_shutdown(500), 0);
    server_stop();
}

static void status_400_not_retried(void **st)
{
    (void)st;
    server_start(M_400);
    init_otlp(g_srv.port, "5000");
    ocelot_stats_t s0;
    ocelot_stats_get(&s0);
    spans(4, "bad");
    assert_int_equal(ocelot_force_flush(5000), 0);
    usleep(300000);
    ocelot_stats_t s;
    ocelot_stats_get(&s);
    assert_int_equal(atomic_load(&g_srv.requests), 1);
    assert_int_equal(s.span_export_failures - s0.span_export_failures, 1);
    assert_int_equal(s.spans_dropped - s0.spans_dropped, 4);
    assert_int_equal(ocelot_shutdown(2000), 0);
    server_stop();
}

static void partial_success_counted(void **st)
{
    (void)st;
    server_start(M_PARTIAL);
    init_otlp(g_srv.port, "5000");
    ocelot_stats_t s0;
    ocelot_stats_get(&s0);
    spans(4, "p");
    assert_int_equal(ocelot_force_flush(5000), 0);
    ocelot_stats_t s;
    ocelot_stats_get(&s);
    assert_int_equal(atomic_load(&g_srv.requests), 1);
    assert_int_equal(s.spans_rejected - s0.spans_rejected, 1);
    assert_int_equal(s.spans_exported - s0.spans_exported, 3);
    assert_int_equal(ocelot_shutdown(2000), 0);
    server_stop();
}

/* Floods spans and returns the longest single start+end in µs. */
static uint64_t flood(int n)
{
    ocelot_tracer_t *t = ocelot_tracer_get("flood", NULL, NULL);
    uint64_t worst = 0;
    for (int i = 0; i < n; i++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        ocelot_span_t *s = ocelot_span_start(t, "flood", NULL);
        ocelot_span_set_str(s, "payload", "0123456789012345678901234567890123456789");
        ocelot_span_end(s, 0);
        clock_gettime(CLOCK_MONOTONIC, &b);
        int64_t ns = (int64_t)(b.tv_sec - a.tv_sec) * 1000000000 + (b.tv_nsec - a.tv_nsec);
        uint64_t us = (uint64_t)(ns / 1000);
        if (us > worst) worst = us;
    }
    return worst;
}

static void backend_down(void **st)
{
    (void)st;
    init_otlp(dead_port(), "500");
    long live0 = atomic_load(&g_live_bytes);
    uint64_t t0 = mono_ms();
    uint64_t worst = flood(200000);
    uint64_t took = mono_ms() - t0;
    long grown = atomic_load(&g_live_bytes) - live0;
    /* a queue of 2048 slots (~1.5 KiB each) and the batch buffers: bounded */
    assert_true(grown < 16L << 20);
    /* The application never waits on the network: ~400 batches whose
     * export attempts each fail after connection refused / 500 ms would
     * take minutes if the spans waited for them. The whole flood takes
     * seconds at most (even under ThreadSanitizer on a loaded machine) and
     * no single call comes near a request timeout (500 ms). */
    if (getenv("SDK_TEST_VERBOSE"))
        fprintf(stderr, "flood: %llu ms, worst call %llu us\n", (unsigned long long)took,
                (unsigned long long)worst);
    assert_true(took < 20000);
    assert_true(worst < 450000); /* under the 500 ms request timeout */
    ocelot_stats_t s;
    ocelot_stats_get(&s);
    assert_true(s.spans_dropped > 0);
    t0 = mono_ms();
    int rc = ocelot_force_flush(300);
    assert_true(mono_ms() - t0 < 300 + 1000);
    assert_true(rc == 0 || rc == OCELOT_ETIMEDOUT);
    t0 = mono_ms();
    ocelot_shutdown(500);
    assert_true(mono_ms() - t0 < 500 + 1000);
}

static void backend_slow(void **st)
{
    (void)st;
    server_start(M_SLOW);
    init_otlp(g_srv.port, "10000"); /* request timeout longer than the deadlines below */
    spans(10, "slow");
    uint64_t t0 = mono_ms();
    assert_int_equal(ocelot_force_flush(400), OCELOT_ETIMEDOUT);
    assert_true(mono_ms() - t0 < 400 + 1000);
    t0 = mono_ms();
    uint64_t worst = flood(10000);
    assert_true(mono_ms() - t0 < 10000); /* the export is stuck for 10 s */
    assert_true(worst < 2000000);         /* a blocked call would take ~10 s */
    t0 = mono_ms();
    ocelot_shutdown(500);
    assert_true(mono_ms() - t0 < 500 + 1000);
    server_stop();
}

static void backend_503_until_deadline(void **st)
{
    (void)st;
    server_start(M_503);
    setenv("OTEL_BSP_EXPORT_TIMEOUT", "4000", 1);
    init_otlp(g_srv.port, "1000");
    unsetenv("OTEL_BSP_EXPORT_TIMEOUT");
    ocelot_stats_t s0;
    ocelot_stats_get(&s0);
    spans(2, "x");
    uint64_t t0 = mono_ms();
    ocelot_force_flush(9000);
    uint64_t took = mono_ms() - t0;
    ocelot_stats_t s;
    ocelot_stats_get(&s);
    /* attempts at 0, +0.5-1 s, +1-2 s, +2-4 s: 2 to 4 inside the 4 s export
     * timeout (the second comes at ~1 s even on a slow machine), then given
     * up; the fifth would be 7.5 s in at the earliest */
    int req = atomic_load(&g_srv.requests);
    assert_true(req >= 2 && req <= 4);
    assert_true(took < 7000);
    assert_int_equal(s.span_export_failures - s0.span_export_failures, 1);
    assert_int_equal(ocelot_shutdown(500), 0);
    server_stop();
}

static void huge_response(void **st)
{
    (void)st;
    server_start(M_HUGE);
    init_otlp(g_srv.port, "5000");
    long live0 = atomic_load(&g_live_bytes);
    ocelot_stats_t s0;
    ocelot_stats_get(&s0);
    spans(3, "h");
    assert_int_equal(ocelot_force_flush(5000), 0);
    ocelot_stats_t s;
    ocelot_stats_get(&s);
    assert_int_equal(s.spans_exported - s0.spans_exported, 3);
    long grown = atomic_load(&g_live_bytes) - live0;
    assert_true(grown < 8L << 20); /* read at most 4 MiB of the 64 MiB */
    assert_int_equal(ocelot_shutdown(2000), 0);
    server_stop();
}

int main(void)
{
    ocelot_allocator_t a = {count_realloc, NULL};
    if (ocelot_set_allocator(&a) != 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(ok_headers_gzip, teardown),
        cmocka_unit_test_teardown(retry_after_429, teardown),
        cmocka_unit_test_teardown(retry_after_zero_backs_off, teardown),
        cmocka_unit_test_teardown(flush_aborts_export_at_deadline, teardown),
        cmocka_unit_test_teardown(status_400_not_retried, teardown),
        cmocka_unit_test_teardown(partial_success_counted, teardown),
        cmocka_unit_test_teardown(backend_down, teardown),
        cmocka_unit_test_teardown(backend_slow, teardown),
        cmocka_unit_test_teardown(backend_503_until_deadline, teardown),
        cmocka_unit_test_teardown(huge_response, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
