/*
 * prom_remote_write.c — Prometheus remote-write 1.0 receiver (see
 * prom_remote_write.h; behaviour and status codes in docs/API.md).
 *
 * Invariants: a request is answered exactly once; nothing is written
 * unless the whole body decoded and validated (decode errors → 400, which
 * senders never retry); once written, the answer says what the TSDB
 * refused: 400 for invalid samples (out of order, duplicate, out of
 * bounds — the rest is stored), 429 for the per-tenant series limit (the
 * sender retries later; identical re-sent samples are ignored), 500 when
 * the WAL failed, 204 otherwise. The body is decompressed into a buffer of
 * at most the configured size; the decoded batch points into it.
 *
 * Workload: Prometheus/Agent/Alloy shards send ~2,000 samples per request,
 * many requests in parallel; per request: one snappy decompress, one
 * decode (arena), one ingest call.
 */
#include "receiver/prom_remote_write.h"

#include "api/selfmetrics.h"
#include "wire/remote_write.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

enum { C_2XX, C_4XX, C_5XX, C_COUNT };
static uint64_t requests[C_COUNT]; /* by status class (atomic) */
static uint64_t samples_in;        /* samples in requests that decoded (atomic) */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void collect(ocl_buf_t *out, void *ud)
{
    (void)ud;
    static const char *const cls[C_COUNT] = {"code=\"2xx\"", "code=\"4xx\"", "code=\"5xx\""};
    ocl_sm_header(out, "ocelot_remote_write_requests_total", "counter",
                  "Remote-write requests received, by status class.");
    for (int i = 0; i < C_COUNT; i++)
        ocl_sm_sample(out, "ocelot_remote_write_requests_total", cls[i],
                      (double)__atomic_load_n(&requests[i], __ATOMIC_RELAXED));
    ocl_sm_header(out, "ocelot_remote_write_samples_received_total", "counter",
                  "Samples in remote-write requests that decoded (stored or refused).");
    ocl_sm_sample(out, "ocelot_remote_write_samples_received_total", "",
                  (double)__atomic_load_n(&samples_in, __ATOMIC_RELAXED));
}

static void register_metrics(void)
{
    ocl_sm_register(collect, NULL);
}

static void answer(ocl_http_req_t *req, int status, const char *msg, size_t n)
{
    __atomic_fetch_add(&requests[status < 400   ? C_2XX
                                 : status < 500 ? C_4XX
                                                : C_5XX],
                       1, __ATOMIC_RELAXED);
    if (status == 204) {
        ocl_http_respond(req, 204, NULL, NULL, 0, NULL, 0);
        return;
    }
    ocl_http_respond(req, status, "text/plain; charset=utf-8", NULL, 0, msg, n);
}

static void answerf(ocl_http_req_t *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void answerf(ocl_http_req_t *req, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof msg) n = sizeof msg - 1;
    answer(req, status, msg, (size_t)n);
}

/* 0 when the media type is acceptable, else the status (message sent). */
static int check_content_type(ocl_http_req_t *req)
{
    ocl_str_t ct = ocl_http_req_header(req, "content-type");
    if (!ct.n) return 0; /* lenient: old senders */
    const char *semi = memchr(ct.p, ';', ct.n);
    ocl_str_t media = {ct.p, semi ? (size_t)(semi - ct.p) : ct.n};
    while (media.n && (media.p[media.n - 1] == ' ' || media.p[media.n - 1] == '\t'))
        media.n--;
    if (!ocl_str_ieq_c(media, "application/x-protobuf")) {
        answerf(req, 415,
                "unsupported Content-Type '%.*s': remote write expects application/x-protobuf\n",
                (int)OCL_MIN(ct.n, 100), ct.p);
        return 415;
    }
    /* proto= parameter (remote-write 2.0 negotiation) */
    for (size_t i = 0; semi && i + 6 <= ct.n; i++) {
        if (ct.p[i] != 'p' || memcmp(ct.p + i, "proto=", 6) != 0) continue;
        ocl_str_t v = {ct.p + i + 6, ct.n - i - 6};
        const char *end = memchr(v.p, ';', v.n);
        if (end) v.n = (size_t)(end - v.p);
        while (v.n && (v.p[v.n - 1] == ' ' || v.p[v.n - 1] == '\t'))
            v.n--;
        if (ocl_str_eq_c(v, "prometheus.WriteRequest")) return 0;
        if (ocl_str_eq_c(v, "io.prometheus.write.v2.Request")) {
            static const char m[] = "remote write 2.0 is not supported (io.prometheus.write.v2."
                                    "Request); send remote write 1.0 (prometheus.WriteRequest)\n";
            answer(req, 415, m, sizeof m - 1);
            return 415;
        }
        answerf(req, 415, "unsupported remote write protobuf message '%.*s'\n",
                (int)OCL_MIN(v.n, 100), v.p);
        return 415;
    }
    return 0;
}

void ocl_prom_rw_handle(ocl_http_req_t *req, ocl_ingest_t *ing)
{
    pthread_once(&once, register_metrics);
    ocl_buf_t body;
    ocl_arena_t a;
    ocl_buf_init(&body);
    ocl_arena_init(&a, 64 << 10);
    if (!ocl_str_eq_c(req->method, "POST")) {
        ocl_header_t allow = {"Allow", 5, "POST", 4};
        static const char m[] = "method not allowed: remote write is POST /api/v1/write\n";
        __atomic_fetch_add(&requests[C_4XX], 1, __ATOMIC_RELAXED);
        ocl_http_respond(req, 405, "text/plain; charset=utf-8", &allow, 1, m, sizeof m - 1);
        goto done;
    }
    if (check_content_type(req)) goto done;
    ocl_str_t enc = ocl_http_req_header(req, "content-encoding");
    if (!ocl_str_ieq_c(enc, "snappy")) {
        if (enc.n)
            answerf(req, 415,
                    "unsupported Content-Encoding '%.*s': remote write bodies must be "
                    "snappy-compressed\n",
                    (int)OCL_MIN(enc.n, 100), enc.p);
        else
            answerf(req, 415,
                    "missing Content-Encoding: remote write bodies must be "
                    "snappy-compressed (Content-Encoding: snappy)\n");
        goto done;
    }
    ocl_rw_limits_t lim;
    uint64_t max_body;
    ocl_ingest_rw_limits(ing, &lim, &max_body);
    int rc = ocl_snappy_decompress(req->body, req->body_len, max_body, &body);
    if (rc == OCL_ETOOBIG) {
        answerf(req, 413, "remote write body larger than %llu bytes once decompressed\n",
                (unsigned long long)max_body);
        goto done;
    }
    if (rc) {
        answerf(req, 400, "snappy: corrupt input\n");
        goto done;
    }
    ocl_prom_batch_t b;
    char err[320];
    rc = ocl_rw_decode(body.p, body.len, &lim, &a, &b, err, sizeof err);
    if (rc) {
        answerf(req, 400, "%s\n", err);
        goto done;
    }
    uint64_t n = 0;
    for (size_t i = 0; i < b.n_series; i++)
        n += b.series[i].n_samples;
    __atomic_fetch_add(&samples_in, n, __ATOMIC_RELAXED);
    ocl_str_t tenant = ocl_http_req_header(req, "x-scope-orgid");
    ocl_tsdb_append_result_t res;
    /* the WAL keeps the snappy body as it arrived */
    rc = ocl_ingest_write_prom(ing, tenant, &b, req->body, req->body_len, &res);
    if (rc == OCL_EINVAL) {
        answerf(req, 400,
                "invalid X-Scope-OrgID or tenant limit reached: 1-150 characters of "
                "[A-Za-z0-9!-_.*'()], at most 256 tenants\n");
        goto done;
    }
    if (rc) {
        answerf(req, 500, "write-ahead log unavailable, retry later\n");
        goto done;
    }
    if (res.series_limited) {
        answerf(req, 429,
                "per-tenant series limit reached: %llu samples of new series refused, "
                "%llu samples stored\n",
                (unsigned long long)res.series_limited, (unsigned long long)res.appended);
        goto done;
    }
    uint64_t bad = res.out_of_order + res.dup_conflict + res.out_of_bounds;
    if (bad) {
        answerf(req, 400,
                "%s (%llu samples refused: %llu out of order, %llu duplicate timestamp with a "
                "different value, %llu out of bounds; %llu samples stored)\n",
                res.first_error[0] ? res.first_error : "samples refused", (unsigned long long)bad,
                (unsigned long long)res.out_of_order, (unsigned long long)res.dup_conflict,
                (unsigned long long)res.out_of_bounds, (unsigned long long)res.appended);
        goto done;
    }
    answer(req, 204, NULL, 0);
done:
    ocl_arena_dispose(&a);
    ocl_buf_dispose(&body);
}
