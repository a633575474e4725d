/*
 * test_prom_api_pool.c — the API's query thread pool (api/query_pool.c)
 * behind a real one-worker server: a slow job does not stall the worker
 * (a fast request on another connection is answered first), jobs beyond
 * the thread limit wait and time out in the queue, a full queue refuses,
 * and destroy cancels running jobs and still answers them. A client that
 * goes away (closes, half-closes, resets its HTTP/2 stream or closes the
 * HTTP/2 connection) gets its waiting job dropped from the queue and its
 * running job stopped; fast jobs whose clients close at once (completion
 * and close racing in both orders) are all accounted for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "../net/net_test_util.h"
#include <poll.h>
#include "api/query_pool.h"
#include "core/time.h"

typedef struct {
    ocl_qjob_t job; /* first */
    int slow_ms;    /* how long run takes unless canceled */
} tjob_t;

static ocl_qpool_t *pool;
static _Atomic int canceled_runs;

static _Atomic int abandoned_runs; /* run called for a job dropped from the queue */

static bool is_canceled(ocl_qjob_t *job)
{
    return __atomic_load_n(&job->cancel, __ATOMIC_RELAXED) != 0;
}

static void run(ocl_qjob_t *job)
{
    tjob_t *t = (tjob_t *)job;
    if (job->queue_timeout || job->rejected || job->abandoned) {
        job->status = job->abandoned ? 499 : 503;
        if (job->abandoned) abandoned_runs++;
        ocl_buf_puts(&job->body, job->queue_timeout ? "queue-timeout"
                                 : job->rejected    ? "rejected"
                                                    : "abandoned");
        return;
    }
    for (int i = 0; i < t->slow_ms / 5 && !is_canceled(job); i++)
        sleep_ms(5);
    bool c = is_canceled(job);
    if (c) {
        canceled_runs++;
        job->stopped = true;
    }
    job->status = 200;
    job->content_type = "text/plain";
    ocl_buf_puts(&job->body, c ? "canceled" : t->slow_ms ? "slow" : "fast");
}

static _Atomic int done_jobs; /* jobs whose answer the worker has sent */

static void done(ocl_qjob_t *job)
{
    free(job);
    done_jobs++;
}

static void client_gone(ocl_http_req_t *req, void *ud)
{
    (void)req;
    ocl_qpool_abandon(&((tjob_t *)ud)->job);
}

static void handler(ocl_http_req_t *req, void *ud)
{
    bool abortable = ud != NULL;
    tjob_t *t = calloc(1, sizeof *t);
    t->job.req = req;
    t->job.run = run;
    t->job.done = done;
    if (ocl_str_eq_c(req->path, "/slow")) t->slow_ms = abortable ? 20000 : 2000;
    if (ocl_str_eq_c(req->path, "/expiring")) {
        t->slow_ms = 10;
        t->job.deadline_ns = (int64_t)ocl_mono_nano() + 100 * 1000000LL;
    }
    if (ocl_qpool_submit(pool, &t->job) != 0) {
        free(t);
        ocl_http_respond(req, 503, "text/plain", NULL, 0, "full", 4);
        return;
    }
    if (abortable) ocl_http_req_on_abort(req, client_gone, t);
}

/* Sends GET path on a new connection; returns the fd. */
static int get(int port, const char *path)
{
    int fd = tcp_connect(port);
    assert_true(fd >= 0);
    char rq[128];
    int n = snprintf(rq, sizeof rq, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    assert_int_equal(send_all(fd, rq, (size_t)n), 0);
    return fd;
}

/* Reads one whole response (Content-Length framed) into buf. */
static void read_resp(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    for (;;) {
        ssize_t k = recv(fd, buf + n, cap - 1 - n, 0);
        assert_true(k > 0);
        n += (size_t)k;
        buf[n] = 0;
        char *hdr_end = strstr(buf, "\r\n\r\n");
        char *cl = strcasestr(buf, "content-length:");
        if (hdr_end && cl && (size_t)(hdr_end + 4 - buf) + (size_t)atoi(cl + 15) <= n) break;
    }
}

/* Waits (at most 5 s) until the pool holds this many running/queued jobs. */
static void wait_load(size_t want_running, size_t want_queued)
{
    size_t running = 0, queued = 0;
    for (int i = 0; i < 500; i++) {
        ocl_qpool_load(pool, &running, &queued);
        if (running == want_running && queued == want_queued) return;
        sleep_ms(10);
    }
    fail_msg("pool load %zu running %zu queued, want %zu %zu", running, queued, want_running,
             want_queued);
}

static void test_pool(void **state)
{
    (void)state;
    ocl_server_t *s = ocl_server_create(1, NULL);
    ocl_listener_cfg_t cfg = {"127.0.0.1:0", handler, NULL, NULL};
    int port = 0;
    assert_int_equal(ocl_server_listen(s, &cfg, &port), 0);
    pool = ocl_qpool_create(2, 2);
    assert_int_equal(ocl_server_start(s), 0);
    char buf[2048];

    /* A slow job does not hold up the worker: the fast one comes first. */
    uint64_t t0 = ocl_mono_nano();
    int slow = get(port, "/slow");
    sleep_ms(50);
    int fast = get(port, "/fast");
    read_resp(fast, buf, sizeof buf);
    assert_non_null(strstr(buf, "200 OK"));
    assert_non_null(strstr(buf, "\r\n\r\nfast"));
    /* ordering, not timing: the slow answer has not come yet */
    struct pollfd pf = {.fd = slow, .events = POLLIN};
    assert_int_equal(poll(&pf, 1, 0), 0);
    read_resp(slow, buf, sizeof buf);
    assert_non_null(strstr(buf, "\r\n\r\nslow"));
    assert_true(ocl_mono_nano() - t0 >= 1900 * 1000000ULL);
    close(slow);
    close(fast);

    /* Two threads busy, two waiting (one expires), a fifth refused. */
    int a = get(port, "/slow"), b = get(port, "/slow");
    wait_load(2, 0);
    int c = get(port, "/expiring"), d = get(port, "/fast");
    wait_load(2, 2);
    int e = get(port, "/fast");
    read_resp(e, buf, sizeof buf);
    assert_non_null(strstr(buf, "503"));
    assert_non_null(strstr(buf, "\r\n\r\nfull"));
    read_resp(c, buf, sizeof buf);
    assert_non_null(strstr(buf, "\r\n\r\nqueue-timeout"));
    read_resp(d, buf, sizeof buf);
    assert_non_null(strstr(buf, "\r\n\r\nfast"));
    read_resp(a, buf, sizeof buf);
    read_resp(b, buf, sizeof buf);
    close(a), close(b), close(c), close(d), close(e);

    /* Destroy cancels the running jobs and rejects the queued one, and
     * returns only once the worker has sent all three answers (it used to
     * return when the threads were joined, and ocl_server_stop right after
     * could close the connections first: the client got no answer). */
    int fs[3];
    for (int i = 0; i < 3; i++) {
        fs[i] = get(port, "/slow");
        wait_load(i < 2 ? (size_t)i + 1 : 2, i < 2 ? 0 : 1);
    }
    int done_before = done_jobs;
    ocl_qpool_destroy(pool);
    assert_int_equal(done_jobs - done_before, 3);
    for (int i = 0; i < 3; i++) {
        read_resp(fs[i], buf, sizeof buf);
        assert_non_null(strstr(buf, i < 2 ? "\r\n\r\ncanceled" : "\r\n\r\nrejected"));
        close(fs[i]);
    }
    assert_int_equal(canceled_runs, 2);
    ocl_server_stop(s);
    ocl_server_destroy(s);
}

/* Waits (at most 10 s) until the pool counts these cancellations. */
static void wait_cancelled(uint64_t want_queued, uint64_t want_running)
{
    uint64_t q = 0, r = 0;
    for (int i = 0; i < 1000; i++) {
        ocl_qpool_cancelled(pool, &q, &r);
        if (q == want_queued && r == want_running) return;
        sleep_ms(10);
    }
    fail_msg("cancelled %llu queued %llu running, want %llu %llu", (unsigned long long)q,
             (unsigned long long)r, (unsigned long long)want_queued,
             (unsigned long long)want_running);
}

/* Waits (at most 10 s) until done_jobs reaches want. */
static void wait_done(int want)
{
    for (int i = 0; i < 1000 && done_jobs < want; i++)
        sleep_ms(10);
    assert_int_equal(done_jobs, want);
}

/* An HTTP/2 prior-knowledge connection with one GET /slow on stream 1
 * (HPACK: :method GET, :scheme http from the static table, :path and
 * :authority literal). */
static int h2_get_slow(int port)
{
    int fd = tcp_connect(port);
    assert_true(fd >= 0);
    static const unsigned char pre[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    /* clang-format off */
    static const unsigned char frames[] = {
        0, 0, 0, 4, 0, 0, 0, 0, 0,  /* SETTINGS, empty */
        0, 0, 12, 1, 5, 0, 0, 0, 1, /* HEADERS END_STREAM|END_HEADERS, id 1 */
        0x82, 0x86, 0x04, 5, '/', 's', 'l', 'o', 'w', 0x01, 1, 'x', /* :authority x */
    };
    /* clang-format on */
    assert_int_equal(send_all(fd, pre, sizeof pre - 1), 0);
    assert_int_equal(send_all(fd, frames, sizeof frames), 0);
    return fd;
}

/* RST_STREAM(CANCEL) on stream 1. */
static void assert_send_rst(int fd)
{
    static const unsigned char rst[] = {0, 0, 4, 3, 0, 0, 0, 0, 1, 0, 0, 0, 8};
    assert_int_equal(send_all(fd, rst, sizeof rst), 0);
}

static void test_abandon(void **state)
{
    (void)state;
    ocl_server_t *s = ocl_server_create(1, NULL);
    int port = 0;
    ocl_listener_cfg_t cfg = {"127.0.0.1:0", handler, NULL, (void *)1};
    assert_int_equal(ocl_server_listen(s, &cfg, &port), 0);
    pool = ocl_qpool_create(1, 256); /* room for the 200 racing jobs below */
    assert_int_equal(ocl_server_start(s), 0);
    char buf[2048];
    int done0 = done_jobs, canceled0 = canceled_runs;

    /* One job runs, one waits; the waiting one's client leaves: it leaves
     * the queue at once (without a thread), then the running one's client
     * leaves: it stops long before its 20 s. */
    uint64_t t0 = ocl_mono_nano();
    int a = get(port, "/slow");
    wait_load(1, 0);
    int b = get(port, "/slow");
    wait_load(1, 1);
    close(b);
    wait_cancelled(1, 0);
    wait_load(1, 0);
    wait_done(done0 + 1);
    assert_int_equal(abandoned_runs, 1);
    close(a);
    wait_cancelled(1, 1);
    wait_load(0, 0);
    wait_done(done0 + 2);
    assert_int_equal(canceled_runs - canceled0, 1);
    assert_true(ocl_mono_nano() - t0 < 15000 * 1000000ULL);

    /* Half-close (EOF) cancels too, as in Go's server; the answer still
     * reaches the half-closed client. */
    int c = get(port, "/slow");
    wait_load(1, 0);
    shutdown(c, SHUT_WR);
    wait_cancelled(1, 2);
    read_resp(c, buf, sizeof buf);
    assert_non_null(strstr(buf, "\r\n\r\ncanceled"));
    close(c);
    wait_done(done0 + 3);

    /* Two pipelined requests, then a half-close: the EOF cancels the first;
     * the second is handed over after the client left, so registering its
     * abort callback cancels it at once (queued or just started). Both
     * answers reach the half-closed client, then the server closes. */
    {
        int pfd = tcp_connect(port);
        assert_true(pfd >= 0);
        static const char two[] = "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
                                  "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_int_equal(send_all(pfd, two, sizeof two - 1), 0);
        wait_load(1, 0);
        shutdown(pfd, SHUT_WR);
        char all[4096];
        size_t n = 0;
        for (;;) { /* until the server closes (bounded by SO_RCVTIMEO) */
            ssize_t k = recv(pfd, all + n, sizeof all - 1 - n, 0);
            assert_true(k >= 0);
            if (k == 0) break;
            n += (size_t)k;
        }
        all[n] = 0;
        char *first = strstr(all, "\r\n\r\ncanceled");
        assert_non_null(first);
        assert_true(strstr(first + 1, "\r\n\r\ncanceled") ||
                    strstr(first + 1, "\r\n\r\nabandoned"));
        close(pfd);
        uint64_t q = 0, r = 0;
        ocl_qpool_cancelled(pool, &q, &r);
        assert_int_equal(q + r, 5);
        wait_done(done0 + 5);
        wait_load(0, 0);
    }

    /* HTTP/2: RST_STREAM on a running request, then a closed connection. */
    int h = h2_get_slow(port);
    wait_load(1, 0);
    uint64_t q0 = 0, r0 = 0;
    ocl_qpool_cancelled(pool, &q0, &r0);
    assert_send_rst(h);
    wait_cancelled(q0, r0 + 1);
    wait_load(0, 0);
    wait_done(done0 + 6);
    close(h);
    h = h2_get_slow(port);
    wait_load(1, 0);
    close(h);
    wait_cancelled(q0, r0 + 2);
    wait_load(0, 0);
    wait_done(done0 + 7);

    /* Completion and close racing: fast jobs whose clients leave right
     * away (before, during or after the run). Every job is answered once
     * and freed (ASan/TSan builds check the rest). */
    int base = done_jobs;
    for (int i = 0; i < 200; i++) {
        int f = get(port, "/fast");
        if (i % 2) shutdown(f, SHUT_WR);
        close(f);
    }
    wait_done(base + 200);
    wait_load(0, 0);

    ocl_qpool_destroy(pool);
    ocl_server_stop(s);
    ocl_server_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_pool), cmocka_unit_test(test_abandon)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
