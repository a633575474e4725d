/*
 * test_prom_scrape.c — scrape-to-batch logic (target labels, honor_labels,
 * exported_ renaming, report series, staleness markers across scrapes,
 * up=0 on failure), the scrape_configs / global configuration, and the
 * manager against a one-shot HTTP server on loopback (request headers,
 * batch delivered to the sink) and a refused port (up=0).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "receiver/prom_scrape.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

/* Renders a batch as sorted lines "name{labels} value@ts" (stale = "stale"). */
static char *render(const ocl_prom_batch_t *b)
{
    char **lines = ocl_calloc(b->n_series + 1, sizeof *lines);
    for (size_t i = 0; i < b->n_series; i++) {
        ocl_buf_t o;
        ocl_buf_init(&o);
        ocl_labels_format(&b->series[i].labels, &o);
        char v[64], tail[96];
        double d = b->series[i].samples[0].v;
        if (ocl_is_stale_nan(d))
            snprintf(v, sizeof v, "stale");
        else
            ocl_prom_format_float(d, v, sizeof v);
        snprintf(tail, sizeof tail, " %s@%lld", v, (long long)b->series[i].samples[0].t);
        ocl_buf_puts(&o, tail);
        lines[i] = ocl_strndup((const char *)o.p, o.len);
        ocl_buf_dispose(&o);
    }
    for (size_t i = 1; i < b->n_series; i++) /* insertion sort: small */
        for (size_t j = i; j > 0 && strcmp(lines[j - 1], lines[j]) > 0; j--) {
            char *x = lines[j];
            lines[j] = lines[j - 1];
            lines[j - 1] = x;
        }
    ocl_buf_t all;
    ocl_buf_init(&all);
    for (size_t i = 0; i < b->n_series; i++) {
        ocl_buf_puts(&all, lines[i]);
        ocl_buf_putc(&all, '\n');
        ocl_free(lines[i]);
    }
    ocl_free(lines);
    char *r = ocl_strndup(all.p ? (const char *)all.p : "", all.len);
    ocl_buf_dispose(&all);
    return r;
}

static void expect_batch(const ocl_prom_batch_t *b, const char *want)
{
    char *got = render(b);
    if (strcmp(got, want)) fail_msg("got:\n%s\nwant:\n%s", got, want);
    ocl_free(got);
}

static ocl_scrape_target_t *target(bool honor_labels, bool honor_ts)
{
    static const ocl_label_t st[] = {{OCL_STR("env"), OCL_STR("prod")},
                                     {OCL_STR("empty"), OCL_STR("")}};
    ocl_scrape_target_cfg_t c = {.job = "j",
                                 .instance = "h:1",
                                 .labels = st,
                                 .n_labels = 2,
                                 .honor_labels = honor_labels,
                                 .honor_timestamps = honor_ts};
    return ocl_scrape_target_create(&c);
}

#define T "env=\"prod\", instance=\"h:1\", job=\"j\""
#define REPORT(up, dur, n, added, ts)                                                              \
    "scrape_duration_seconds{" T "} " dur "@" ts "\n"                                              \
    "scrape_samples_post_metric_relabeling{" T "} " n "@" ts "\n"                                  \
    "scrape_samples_scraped{" T "} " n "@" ts "\n"                                                 \
    "scrape_series_added{" T "} " added "@" ts "\n"                                                \
    "up{" T "} " up "@" ts "\n"

static void test_labels(void **state)
{
    (void)state;
    const char *text = "a{x=\"1\"} 1\n"
                       "b{job=\"other\",instance=\"z\",env=\"\"} 2 5\n"
                       "c{job=\"a\",exported_job=\"b\"} 3\n";
    ocl_scrape_target_t *t = target(false, true);
    ocl_prom_batch_t b;
    char err[128];
    assert_int_equal(
        ocl_scrape_target_build(t, NULL, NULL, text, strlen(text), 1000, 0.5, &b, err, sizeof err),
        0);
    expect_batch(
        &b, "a{env=\"prod\", instance=\"h:1\", job=\"j\", x=\"1\"} 1.0@1000\n"
            "b{env=\"prod\", exported_instance=\"z\", exported_job=\"other\", "
            "instance=\"h:1\", job=\"j\"} 2.0@5\n"
            "c{env=\"prod\", exported_exported_job=\"a\", exported_job=\"b\", "
            "instance=\"h:1\", job=\"j\"} 3.0@1000\n" REPORT("1.0", "0.5", "3.0", "3.0", "1000"));
    ocl_scrape_target_destroy(t);

    /* honor_labels: the exposition wins; honor_timestamps off: scrape time. */
    t = target(true, false);
    assert_int_equal(
        ocl_scrape_target_build(t, NULL, NULL, text, strlen(text), 1000, 0.25, &b, err, sizeof err),
        0);
    expect_batch(
        &b, "a{env=\"prod\", instance=\"h:1\", job=\"j\", x=\"1\"} 1.0@1000\n"
            "b{env=\"prod\", instance=\"z\", job=\"other\"} 2.0@1000\n"
            "c{env=\"prod\", exported_job=\"b\", instance=\"h:1\", job=\"a\"} 3.0@1000\n" REPORT(
                "1.0", "0.25", "3.0", "3.0", "1000"));
    ocl_scrape_target_destroy(t);
}

static void test_staleness(void **state)
{
    (void)state;
    ocl_scrape_target_t *t = target(false, true);
    ocl_prom_batch_t b;
    char err[128];
    const char *s1 = "# TYPE a gauge\na 1\nb 2\nb 2\n";
    assert_int_equal(
        ocl_scrape_target_build(t, NULL, NULL, s1, strlen(s1), 1000, 0.5, &b, err, sizeof err), 0);
    assert_int_equal(b.n_meta, 1);
    expect_batch(&b, "a{" T "} 1.0@1000\nb{" T "} 2.0@1000\nb{" T
                     "} 2.0@1000\n" REPORT("1.0", "0.5", "3.0", "2.0", "1000"));
    /* b disappears: one staleness marker at the second scrape's time. The
     * body goes through the target's own buffer (the zero-copy path). */
    ocl_buf_t *body = ocl_scrape_target_body(t);
    ocl_buf_puts(body, "a 1\n");
    assert_int_equal(ocl_scrape_target_build(t, NULL, NULL, (const char *)body->p, body->len, 2000,
                                             0.5, &b, err, sizeof err),
                     0);
    expect_batch(&b, "a{" T "} 1.0@2000\nb{" T
                     "} stale@2000\n" REPORT("1.0", "0.5", "1.0", "0.0", "2000"));
    /* The fetch fails: up=0 and every previous series goes stale. */
    assert_int_equal(ocl_scrape_target_build(t, "connection refused", NULL, NULL, 0, 3000, 0.5, &b,
                                             err, sizeof err),
                     OCL_EIO);
    assert_string_equal(err, "connection refused");
    expect_batch(&b, "a{" T "} stale@3000\n" REPORT("0.0", "0.5", "0.0", "0.0", "3000"));
    /* A failure after a failure has nothing left to mark stale. */
    assert_int_equal(
        ocl_scrape_target_build(t, "timeout", NULL, NULL, 0, 4000, 0.5, &b, err, sizeof err),
        OCL_EIO);
    expect_batch(&b, REPORT("0.0", "0.5", "0.0", "0.0", "4000"));
    /* Back up: a is new again. */
    assert_int_equal(
        ocl_scrape_target_build(t, NULL, NULL, "a 1\n", 4, 5000, 0.5, &b, err, sizeof err), 0);
    expect_batch(&b, "a{" T "} 1.0@5000\n" REPORT("1.0", "0.5", "1.0", "1.0", "5000"));
    /* A parse error fails the whole scrape (up=0, a goes stale). */
    const char *bad = "a 1\nb{x=\"1\",x=\"2\"} 1\n";
    assert_int_equal(
        ocl_scrape_target_build(t, NULL, NULL, bad, strlen(bad), 6000, 0.5, &b, err, sizeof err),
        OCL_EINVAL);
    assert_string_equal(err, "line 2: duplicate label name \"x\"");
    expect_batch(&b, "a{" T "} stale@6000\n" REPORT("0.0", "0.5", "0.0", "0.0", "6000"));
    /* The target goes away: markers for everything it wrote last. */
    assert_int_equal(
        ocl_scrape_target_build(t, NULL, NULL, "a 1\n", 4, 7000, 0.5, &b, err, sizeof err), 0);
    ocl_scrape_target_stale_all(t, 8000, &b);
    expect_batch(&b, "a{" T "} stale@8000\n" REPORT("stale", "stale", "stale", "stale", "8000"));
    ocl_scrape_target_stale_all(t, 9000, &b);
    assert_int_equal(b.n_series, 0);
    ocl_scrape_target_destroy(t);
}

static void test_explicit_timestamps(void **state)
{
    (void)state;
    /* A series with its own (honoured) timestamp gets no staleness marker
     * when it disappears; without honor_timestamps it does. */
    for (int honor = 0; honor < 2; honor++) {
        ocl_scrape_target_t *t = target(false, honor);
        ocl_prom_batch_t b;
        char err[64];
        const char *s1 = "a 1 500\nb 2\n";
        assert_int_equal(
            ocl_scrape_target_build(t, NULL, NULL, s1, strlen(s1), 1000, 0, &b, err, sizeof err),
            0);
        assert_int_equal(
            ocl_scrape_target_build(t, NULL, NULL, "c 1\n", 4, 2000, 0, &b, err, sizeof err), 0);
        if (honor)
            expect_batch(&b, "b{" T "} stale@2000\nc{" T
                             "} 1.0@2000\n" REPORT("1.0", "0.0", "1.0", "1.0", "2000"));
        else
            expect_batch(&b, "a{" T "} stale@2000\nb{" T "} stale@2000\nc{" T
                             "} 1.0@2000\n" REPORT("1.0", "0.0", "1.0", "1.0", "2000"));
        ocl_scrape_target_destroy(t);
    }
}

static void test_openmetrics_target(void **state)
{
    (void)state;
    ocl_scrape_target_t *t = target(false, true);
    ocl_prom_batch_t b;
    char err[128];
    const char *ct = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    const char *om = "# TYPE a counter\na_total 3 1.5\n# EOF\n";
    assert_int_equal(
        ocl_scrape_target_build(t, NULL, ct, om, strlen(om), 2000, 0, &b, err, sizeof err), 0);
    expect_batch(&b, "a_total{" T "} 3.0@1500\n" REPORT("1.0", "0.0", "1.0", "1.0", "2000"));
    /* The same body as text 0.0.4: the float timestamp is an error. */
    assert_int_equal(ocl_scrape_target_build(t, NULL, "text/plain; version=0.0.4", om, strlen(om),
                                             3000, 0, &b, err, sizeof err),
                     OCL_EINVAL);
    assert_string_equal(err, "line 2: invalid timestamp \"1.5\"");
    /* OpenMetrics without # EOF fails the scrape. */
    assert_int_equal(ocl_scrape_target_build(t, NULL, ct, "a 1\n", 4, 4000, 0, &b, err, sizeof err),
                     OCL_EINVAL);
    assert_string_equal(err, "line 2: missing # EOF at the end of an OpenMetrics exposition");
    ocl_scrape_target_destroy(t);
}

static void test_many_series(void **state)
{
    (void)state;
    /* 5000 series, then the odd ones vanish: 2500 markers, hash set grows. */
    ocl_buf_t a, c;
    ocl_buf_init(&a);
    ocl_buf_init(&c);
    for (int i = 0; i < 5000; i++) {
        char l[64];
        int n = snprintf(l, sizeof l, "m{i=\"%d\"} %d\n", i, i);
        ocl_buf_append(&a, l, (size_t)n);
        if (i % 2 == 0) ocl_buf_append(&c, l, (size_t)n);
    }
    ocl_scrape_target_t *t = target(false, true);
    ocl_prom_batch_t b;
    char err[64];
    assert_int_equal(
        ocl_scrape_target_build(t, NULL, NULL, (const char *)a.p, a.len, 1, 0, &b, err, sizeof err),
        0);
    assert_int_equal(b.n_series, 5005);
    assert_int_equal(
        ocl_scrape_target_build(t, NULL, NULL, (const char *)c.p, c.len, 2, 0, &b, err, sizeof err),
        0);
    size_t stale = 0;
    for (size_t i = 0; i < b.n_series; i++)
        if (ocl_is_stale_nan(b.series[i].samples[0].v)) {
            stale++;
            ocl_str_t v = ocl_labels_get(&b.series[i].labels, OCL_STR("i"));
            assert_true((v.p[v.n - 1] - '0') % 2 == 1);
        }
    assert_int_equal(stale, 2500);
    ocl_scrape_target_destroy(t);
    ocl_buf_dispose(&a);
    ocl_buf_dispose(&c);
}

/* ---- configuration ---------------------------------------------------------- */

static int parse(const char *y, ocl_scrape_config_t *sc, char *err, size_t n)
{
    ocl_config_t cfg;
    ocl_config_defaults(&cfg);
    ocl_config_scrape_defaults(sc);
    return ocl_config_parse_all(y, strlen(y), "c.yaml", &cfg, sc, err, n);
}

static void test_config(void **state)
{
    (void)state;
    static ocl_scrape_config_t sc;
    char err[256];
    const char *y = "global:\n  scrape_interval: 30s\n  scrape_timeout: 20s\n"
                    "server:\n  self_scrape_interval: 0\n"
                    "scrape_configs:\n"
                    "  - job_name: node\n"
                    "    scrape_interval: 10s\n"
                    "    metrics_path: /m\n"
                    "    scheme: http\n"
                    "    honor_labels: true\n"
                    "    honor_timestamps: false\n"
                    "    sample_limit: 1000\n"
                    "    params: {module: [a, b]}\n"
                    "    static_configs:\n"
                    "      - targets: ['127.0.0.1:9100', 'host-a:9100']\n"
                    "        labels: {env: prod}\n"
                    "      - targets: ['[::1]:9100']\n"
                    "  - job_name: other\n"
                    "    static_configs: [{targets: [localhost]}]\n";
    assert_int_equal(parse(y, &sc, err, sizeof err), 0);
    assert_int_equal(sc.self_interval_ms, 0);
    assert_int_equal(sc.n_jobs, 2);
    const ocl_scrape_job_cfg_t *j = &sc.jobs[0];
    assert_string_equal(ocl_scrape_str(&sc, j->name), "node");
    assert_string_equal(ocl_scrape_str(&sc, j->metrics_path), "/m");
    assert_int_equal(j->interval_ms, 10000);
    assert_int_equal(j->timeout_ms, 10000); /* inherited 20s, capped at the interval */
    assert_int_equal(j->honor_labels, 1);
    assert_int_equal(j->honor_timestamps, 0);
    assert_int_equal(j->sample_limit, 1000);
    assert_int_equal(j->n_items, 2 + 3 + 1); /* params, targets, label */
    int targets = 0, labels = 0;
    for (uint32_t i = j->first_item; i < j->first_item + j->n_items; i++) {
        targets += sc.items[i].kind == OCL_SCRAPE_ITEM_TARGET;
        if (sc.items[i].kind == OCL_SCRAPE_ITEM_LABEL) {
            labels++;
            assert_int_equal(sc.items[i].group, 0);
            assert_string_equal(ocl_scrape_str(&sc, sc.items[i].v), "prod");
        }
    }
    assert_int_equal(targets, 3);
    assert_int_equal(labels, 1);
    j = &sc.jobs[1];
    assert_int_equal(j->interval_ms, 30000);
    assert_int_equal(j->timeout_ms, 20000);
    assert_int_equal(j->honor_timestamps, 1);
    assert_string_equal(ocl_scrape_str(&sc, j->metrics_path), "/metrics");

    static const struct {
        const char *y;   /* config */
        int rc;          /* expected code */
        const char *err; /* expected message */
    } bad[] = {
        {"scrape_configs:\n  - job_name: a\n    scheme: https\n", OCL_EUNSUPP,
         "c.yaml:3: scrape_configs[0].scheme: https is not supported yet (http only)"},
        {"scrape_configs:\n  - job_name: a\n    colour: red\n", OCL_EINVAL,
         "c.yaml:3: unknown key \"colour\" in scrape_configs[0]"},
        {"scrape_configs:\n  - scrape_interval: 5s\n", OCL_EINVAL,
         "c.yaml:2: scrape_configs[0] needs a job_name"},
        {"scrape_configs:\n  - job_name: a\n  - job_name: a\n", OCL_EINVAL,
         "c.yaml:3: found multiple scrape configs with job name \"a\""},
        {"scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 6s\n",
         OCL_EINVAL,
         "c.yaml:2: scrape timeout greater than scrape interval for scrape config with job "
         "name \"a\""},
        {"global: {scrape_interval: 5s, scrape_timeout: 6s}\n", OCL_EINVAL,
         "c.yaml:1: global scrape timeout greater than scrape interval"},
        {"global:\n  scrape_intervall: 5s\n", OCL_EINVAL,
         "c.yaml:2: unknown key \"scrape_intervall\" in global"},
        {"scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: ['http://x:1']\n",
         OCL_EINVAL,
         "c.yaml:4: invalid target \"http://x:1\" in scrape_configs[0].static_configs[0].targets: "
         "expected host:port (http scheme only)"},
        {"scrape_configs:\n  - job_name: a\n    static_configs:\n      - labels: {__x: y}\n",
         OCL_EUNSUPP,
         "c.yaml:4: scrape_configs[0].static_configs[0].labels: label \"__x\" is not supported "
         "yet (labels starting with __ drive relabeling)"},
        {"scrape_configs:\n  - job_name: a\n    honor_labels: yes\n", OCL_EINVAL,
         "c.yaml:3: invalid value \"yes\" for scrape_configs[0].honor_labels: expected true or "
         "false"},
        {"scrape_configs:\n  - job_name: a\n    metrics_path: metrics\n", OCL_EINVAL,
         "c.yaml:3: invalid value \"metrics\" for scrape_configs[0].metrics_path: expected a path "
         "starting with /"},
        {"scrape_configs: {a: 1}\n", OCL_EINVAL, "c.yaml:1: scrape_configs must be a list"},
        {"scrape_configs:\n  - job_name: a\n    static_configs: [{labels: {a: [1]}}]\n", OCL_EINVAL,
         "c.yaml:3: scrape_configs[0].static_configs[0].labels.a must be a string"},
        {"scrape_configs:\n  - job_name: a\n    params: {m: [[x]]}\n", OCL_EINVAL,
         "c.yaml:3: scrape_configs[0].params.m must list strings"},
        {"server: {self_scrape_interval: 10ms}\n", OCL_EINVAL,
         "c.yaml:1: invalid value \"10ms\" for server.self_scrape_interval: expected 0 (off) or a "
         "duration from 1s to 1d"},
    };
    for (size_t i = 0; i < OCL_ARRAY_LEN(bad); i++) {
        int rc = parse(bad[i].y, &sc, err, sizeof err);
        if (rc != bad[i].rc || strcmp(err, bad[i].err))
            fail_msg("case %zu: rc %d want %d\n got '%s'\nwant '%s'", i, rc, bad[i].rc, err,
                     bad[i].err);
    }
    /* The plain parser validates the same way. */
    ocl_config_t cfg;
    ocl_config_defaults(&cfg);
    assert_int_equal(ocl_config_parse(bad[0].y, strlen(bad[0].y), "c.yaml", &cfg, err, sizeof err),
                     OCL_EUNSUPP);
}

/* ---- the manager over loopback -------------------------------------------------- */

typedef struct {
    int fd;            /* listening socket */
    char req[4096];    /* the request received */
    const char *reply; /* full HTTP response */
} server_t;

static void *serve_once(void *arg)
{
    server_t *s = arg;
    int c = accept(s->fd, NULL, NULL);
    if (c < 0) return NULL;
    size_t n = 0;
    while (n < sizeof s->req - 1) {
        ssize_t r = read(c, s->req + n, sizeof s->req - 1 - n);
        if (r <= 0) break;
        n += (size_t)r;
        s->req[n] = 0;
        if (strstr(s->req, "\r\n\r\n")) break;
    }
    ssize_t w = write(c, s->reply, strlen(s->reply));
    (void)w;
    close(c);
    return NULL;
}

typedef struct {
    pthread_mutex_t mu; /* guards the fields below */
    int batches;        /* batches received */
    char last[4096];    /* rendering of the last one */
} sink_t;

static int sink(void *ud, const ocl_prom_batch_t *b)
{
    sink_t *s = ud;
    char *r = render(b);
    pthread_mutex_lock(&s->mu);
    s->batches++;
    snprintf(s->last, sizeof s->last, "%s", r);
    pthread_mutex_unlock(&s->mu);
    ocl_free(r);
    return 0;
}

static int listen_port(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 4), 0);
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    *port = ntohs(a.sin_port);
    return fd;
}

static int wait_batches(sink_t *s, int n)
{
    for (int i = 0; i < 500; i++) { /* at most 5 s */
        pthread_mutex_lock(&s->mu);
        int got = s->batches;
        pthread_mutex_unlock(&s->mu);
        if (got >= n) return got;
        usleep(10000);
    }
    return -1;
}

static void test_manager(void **state)
{
    (void)state;
    server_t srv = {.reply = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                             "Content-Length: 18\r\nConnection: close\r\n\r\n"
                             "# TYPE x gauge\nx 7\n"};
    int port;
    srv.fd = listen_port(&port);
    /* A port that refuses connections: bind, then close. */
    int dead_port;
    close(listen_port(&dead_port));
    char y[512];
    snprintf(y, sizeof y,
             "scrape_configs:\n"
             "  - job_name: t\n    scrape_interval: 100ms\n    params: {a: ['x y']}\n"
             "    static_configs: [{targets: ['127.0.0.1:%d']}]\n"
             "  - job_name: dead\n    scrape_interval: 100ms\n"
             "    static_configs: [{targets: ['127.0.0.1:%d']}]\n",
             port, dead_port);
    static ocl_scrape_config_t sc;
    char err[256];
    assert_int_equal(parse(y, &sc, err, sizeof err), 0);
    pthread_t thr;
    pthread_create(&thr, NULL, serve_once, &srv);

    sink_t sk = {.mu = PTHREAD_MUTEX_INITIALIZER};
    ocl_scraper_t *s;
    assert_int_equal(ocl_scraper_create(&sc, "127.0.0.1:1", sink, &sk, &s), 0);
    assert_int_equal(ocl_scraper_targets(s), 3); /* two jobs and ocelot itself */
    ocl_scraper_stop(s);                         /* not started: a no-op */
    ocl_scraper_destroy(s);

    sc.self_interval_ms = 0;
    assert_int_equal(ocl_scraper_create(&sc, "127.0.0.1:1", sink, &sk, &s), 0);
    assert_int_equal(ocl_scraper_targets(s), 2);
    assert_int_equal(ocl_scraper_start(s), 0);
    /* Both targets are scraped within ~2 intervals; wait for several batches. */
    assert_true(wait_batches(&sk, 6) >= 6);
    pthread_join(thr, NULL);
    ocl_scraper_stop(s);
    pthread_mutex_lock(&sk.mu);
    int before = sk.batches;
    pthread_mutex_unlock(&sk.mu);
    ocl_scraper_destroy(s);
    assert_int_equal(sk.batches, before); /* destroy after stop writes nothing more */

    assert_non_null(strstr(srv.req, "GET /metrics?a=x%20y HTTP/1.1\r\n"));
    assert_non_null(strstr(srv.req, "Accept: text/plain;version=0.0.4;q=1,application/"
                                    "openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1\r\n"));
    assert_non_null(strstr(srv.req, "Accept-Encoding: gzip\r\n"));
    /* the target learns its timeout (min(10 s, interval) here), as from
     * Prometheus; it used to be missing */
    assert_non_null(strstr(srv.req, "X-Prometheus-Scrape-Timeout-Seconds: 0.1\r\n"));
    assert_non_null(strstr(srv.req, "User-Agent: ocelot/"));
    close(srv.fd);
}

static void test_manager_refused(void **state)
{
    (void)state;
    int dead_port;
    close(listen_port(&dead_port));
    char y[256];
    snprintf(y, sizeof y,
             "scrape_configs:\n  - job_name: dead\n    scrape_interval: 50ms\n"
             "    static_configs: [{targets: ['127.0.0.1:%d'], labels: {k: v}}]\n",
             dead_port);
    static ocl_scrape_config_t sc;
    char err[256];
    assert_int_equal(parse(y, &sc, err, sizeof err), 0);
    sink_t sk = {.mu = PTHREAD_MUTEX_INITIALIZER};
    ocl_scraper_t *s;
    assert_int_equal(ocl_scraper_create(&sc, NULL, sink, &sk, &s), 0);
    assert_int_equal(ocl_scraper_start(s), 0);
    assert_true(wait_batches(&sk, 1) >= 1);
    pthread_mutex_lock(&sk.mu);
    char inst[64];
    snprintf(inst, sizeof inst, "up{instance=\"127.0.0.1:%d\", job=\"dead\", k=\"v\"} 0.0@",
             dead_port);
    if (!strstr(sk.last, inst)) fail_msg("no '%s' in:\n%s", inst, sk.last);
    pthread_mutex_unlock(&sk.mu);
    ocl_scraper_stop(s);
    /* The stop wrote staleness markers for the report series. */
    pthread_mutex_lock(&sk.mu);
    snprintf(inst, sizeof inst, "up{instance=\"127.0.0.1:%d\", job=\"dead\", k=\"v\"} stale@",
             dead_port);
    if (!strstr(sk.last, inst)) fail_msg("no '%s' in:\n%s", inst, sk.last);
    pthread_mutex_unlock(&sk.mu);
    ocl_scraper_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_staleness),
        cmocka_unit_test(test_explicit_timestamps),
        cmocka_unit_test(test_openmetrics_target),
        cmocka_unit_test(test_many_series),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_manager),
        cmocka_unit_test(test_manager_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
