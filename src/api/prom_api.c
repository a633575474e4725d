/*
 * prom_api.c — routing, parameter checks and the cheap endpoints of the
 * Prometheus HTTP API (see prom_api.h); the endpoints that read data run
 * on query threads in prom_query.c.
 *
 * Checks happen in Prometheus's order (web/api/v1/api.go) so that a request
 * with several bad parameters gets the same first error. Parameters come
 * from a form-encoded POST body first, then the URL query string (Go's
 * Request.Form order).
 * Self-metrics: requests by endpoint and status class, latency by endpoint,
 * running and queued queries — all label values from fixed tables.
 */
#include "api/prom_api.h"

#include "api/prom_api_int.h"
#include "api/selfmetrics.h"
#include "pipeline/tenants.h"
#include "query/promql/promql.h"

#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <unistd.h>

static const char *const ep_names[PA_EP_COUNT] = {
    "query",        "query_range",     "series", "labels", "label_values", "metadata",
    "format_query", "query_exemplars", "status", "rules",  "other"};

typedef struct {
    _Atomic uint64_t codes[3];                 /* 2xx, 4xx, 5xx answers */
    _Atomic uint64_t lat[OCL_LAT_BUCKETS + 1]; /* non-cumulative latency buckets */
    _Atomic uint64_t lat_sum_ns;               /* total latency */
} ep_stats_t;

static ep_stats_t ep_stats[PA_EP_COUNT];
static double start_time_s;

__attribute__((constructor)) static void record_start(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    start_time_s = (double)tv.tv_sec + tv.tv_usec / 1e6;
}

void pa_observe(int ep, int status, uint64_t t0)
{
    ep_stats_t *s = &ep_stats[ep];
    int cls = status >= 500 ? 2 : status >= 400 ? 1 : 0;
    atomic_fetch_add_explicit(&s->codes[cls], 1, memory_order_relaxed);
    uint64_t ns = ocl_mono_nano() - t0;
    double sec = ns / 1e9;
    int b = 0;
    while (b < OCL_LAT_BUCKETS && sec > ocl_latency_bounds_s[b])
        b++;
    atomic_fetch_add_explicit(&s->lat[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->lat_sum_ns, ns, memory_order_relaxed);
}

static void collect(ocl_buf_t *out, void *ud)
{
    ocl_prom_api_t *pa = ud;
    static const char *const cls[3] = {"2xx", "4xx", "5xx"};
    ocl_sm_header(out, "ocelot_prom_api_requests_total", "counter",
                  "Prometheus API requests answered, by endpoint and status class.");
    char labels[96];
    for (int e = 0; e < PA_EP_COUNT; e++)
        for (int c = 0; c < 3; c++) {
            snprintf(labels, sizeof labels, "endpoint=\"%s\",code=\"%s\"", ep_names[e], cls[c]);
            ocl_sm_sample(
                out, "ocelot_prom_api_requests_total", labels,
                (double)atomic_load_explicit(&ep_stats[e].codes[c], memory_order_relaxed));
        }
    ocl_sm_header(out, "ocelot_prom_api_request_duration_seconds", "histogram",
                  "Prometheus API request latency from arrival to answer, by endpoint.");
    for (int e = 0; e < PA_EP_COUNT; e++) {
        uint64_t counts[OCL_LAT_BUCKETS + 1];
        for (int b = 0; b <= OCL_LAT_BUCKETS; b++)
            counts[b] = atomic_load_explicit(&ep_stats[e].lat[b], memory_order_relaxed);
        snprintf(labels, sizeof labels, "endpoint=\"%s\"", ep_names[e]);
        ocl_sm_histogram(out, "ocelot_prom_api_request_duration_seconds", labels,
                         ocl_latency_bounds_s, OCL_LAT_BUCKETS, counts,
                         atomic_load_explicit(&ep_stats[e].lat_sum_ns, memory_order_relaxed) / 1e9);
    }
    size_t running = 0, queued = 0;
    ocl_qpool_load(pa->pool, &running, &queued);
    ocl_sm_header(out, "ocelot_prom_api_queries_running", "gauge",
                  "Queries being evaluated on the query threads.");
    ocl_sm_sample(out, "ocelot_prom_api_queries_running", "", (double)running);
    ocl_sm_header(out, "ocelot_prom_api_queries_queued", "gauge",
                  "Queries waiting for a query thread.");
    ocl_sm_sample(out, "ocelot_prom_api_queries_queued", "", (double)queued);
    uint64_t cq = 0, cr = 0;
    ocl_qpool_cancelled(pa->pool, &cq, &cr);
    ocl_sm_header(out, "ocelot_prom_api_queries_cancelled_total", "counter",
                  "Queries whose client went away before the answer: dropped from the queue "
                  "(stage=queued) or stopped while being evaluated (stage=running).");
    ocl_sm_sample(out, "ocelot_prom_api_queries_cancelled_total", "stage=\"queued\"", (double)cq);
    ocl_sm_sample(out, "ocelot_prom_api_queries_cancelled_total", "stage=\"running\"", (double)cr);
}

ocl_prom_api_t *ocl_prom_api_create(ocl_ingest_t *ing, const ocl_prom_api_cfg_t *cfg)
{
    ocl_prom_api_t *pa = ocl_calloc(1, sizeof *pa);
    pa->ingest = ing;
    if (cfg) pa->cfg = *cfg;
    if (pa->cfg.query_timeout_ms <= 0) pa->cfg.query_timeout_ms = 120000;
    if (!pa->cfg.query_max_samples) pa->cfg.query_max_samples = 50000000;
    if (pa->cfg.max_concurrency <= 0) pa->cfg.max_concurrency = 20;
    if (!pa->cfg.max_queued) pa->cfg.max_queued = 1024;
    if (pa->cfg.lookback_ms <= 0) pa->cfg.lookback_ms = 300000;
    pa->pool = ocl_qpool_create(pa->cfg.max_concurrency, pa->cfg.max_queued);
    pthread_mutex_init(&pa->mu, NULL);
    ocl_sm_register(collect, pa);
    return pa;
}

void ocl_prom_api_destroy(ocl_prom_api_t *pa)
{
    if (!pa) return;
    ocl_sm_unregister(collect, pa);
    ocl_qpool_destroy(pa->pool);
    if (pa->empty) ocl_tsdb_close(pa->empty);
    pthread_mutex_destroy(&pa->mu);
    ocl_free(pa);
}

/* --- answers ---------------------------------------------------------------- */

static void answer(pa_req_t *r, int status, ocl_buf_t *body)
{
    ocl_http_respond(r->req, status, "application/json", NULL, 0, body->p ? (void *)body->p : "",
                     body->len);
    pa_observe(r->ep, status, r->t0);
}

static void answer_error(pa_req_t *r, ocl_prom_errtype_t t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void answer_error(pa_req_t *r, ocl_prom_errtype_t t, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ocl_buf_t b;
    ocl_buf_init(&b);
    int status = ocl_prom_write_error(&b, t, msg);
    answer(r, status, &b);
    ocl_buf_dispose(&b);
}

static void free_req(pa_req_t *r)
{
    ocl_arena_dispose(&r->arena);
    ocl_free(r);
}

/* Counts the request's bytes into pa->held_bytes; false (nothing counted)
 * when that would pass PA_MAX_HELD_BYTES while other requests hold bytes. */
static bool hold_bytes(pa_req_t *r)
{
    size_t n = r->req->body_len + r->req->query.n;
    size_t before = __atomic_fetch_add(&r->pa->held_bytes, n, __ATOMIC_RELAXED);
    if (before && before + n > PA_MAX_HELD_BYTES) {
        __atomic_fetch_sub(&r->pa->held_bytes, n, __ATOMIC_RELAXED);
        return false;
    }
    r->held = n;
    return true;
}

/* Called on the query thread at the end of the job (pa_run), never from
 * job_done: the pool (and pa) may be gone by the time the worker loop
 * sends the answer (ocl_prom_api_destroy joins only the query threads). */
void pa_release_bytes(pa_req_t *r)
{
    if (!r->held) return;
    __atomic_fetch_sub(&r->pa->held_bytes, r->held, __ATOMIC_RELAXED);
    r->held = 0;
}

static void job_done(ocl_qjob_t *job)
{
    pa_req_t *r = (pa_req_t *)job;
    pa_observe(r->ep, job->status, r->t0);
    free_req(r);
}

/* The client went away (closed, half-closed or reset its stream) before
 * the answer: drop the query from the queue or stop its evaluation, as
 * Prometheus does when the request context is cancelled. */
static void on_client_gone(ocl_http_req_t *req, void *ud)
{
    (void)req;
    ocl_qpool_abandon(&((pa_req_t *)ud)->job);
}

/* Hands the request to a query thread; answers 503 when the queue is full. */
static void submit(pa_req_t *r, int64_t timeout_ms)
{
    r->job.req = r->req;
    r->job.run = pa_run;
    r->job.done = job_done;
    r->deadline_ns = (int64_t)r->t0 + timeout_ms * 1000000;
    r->job.deadline_ns = r->deadline_ns;
    if (!hold_bytes(r)) {
        answer_error(r, OCL_PROM_ERR_UNAVAILABLE, "too many queries waiting; try again later");
        free_req(r);
        return;
    }
    if (ocl_qpool_submit(r->pa->pool, &r->job) != 0) {
        pa_release_bytes(r);
        answer_error(r, OCL_PROM_ERR_UNAVAILABLE, "too many queries waiting; try again later");
        free_req(r);
        return;
    }
    /* The job lives until its answer is sent on this thread, which is after
     * any abort callback (the net layer calls none once answered). */
    ocl_http_req_on_abort(r->req, on_client_gone, r);
}

/* --- parameters -------------------------------------------------------------- */

static bool param(pa_req_t *r, const char *key, ocl_str_t *v)
{
    bool found;
    *v = ocl_form_get(&r->form, key, &found);
    return found && v->n > 0;
}

/* parseTimeParam: absent or empty → def; else parseTime wrapped as
 * "Invalid time value for '<name>': ...". */
static int time_param(pa_req_t *r, const char *name, int64_t def, int64_t *out)
{
    ocl_str_t v;
    char err[256];
    if (!param(r, name, &v)) {
        *out = def;
        return 0;
    }
    if (ocl_prom_parse_time(v, out, err, sizeof err) != 0) {
        answer_error(r, OCL_PROM_ERR_BAD_DATA,
                     "invalid parameter \"%s\": Invalid time value for '%s': %s", name, name, err);
        return -1;
    }
    return 0;
}

/* parseLimitParam (3.x): empty → 0; Atoi; negative → "limit must be non-negative". */
static int limit_param(pa_req_t *r, int64_t *out)
{
    ocl_str_t v;
    char err[256];
    *out = 0;
    if (!param(r, "limit", &v)) return 0;
    if (ocl_prom_parse_int(v, out, err, sizeof err) != 0) {
        answer_error(r, OCL_PROM_ERR_BAD_DATA, "invalid parameter \"limit\": %s", err);
        return -1;
    }
    if (*out < 0) {
        answer_error(r, OCL_PROM_ERR_BAD_DATA,
                     "invalid parameter \"limit\": limit must be non-negative");
        return -1;
    }
    return 0;
}

/* The effective time limit in ms: the engine limit, shortened by a
 * timeout parameter. Returns -1 after answering a parse error, 1 after
 * answering an already expired timeout, else 0. */
static int timeout_param(pa_req_t *r, int64_t *out)
{
    ocl_str_t v;
    char err[256];
    *out = r->pa->cfg.query_timeout_ms;
    if (!param(r, "timeout", &v)) return 0;
    int64_t ns;
    if (ocl_prom_parse_duration(v, &ns, err, sizeof err) != 0) {
        answer_error(r, OCL_PROM_ERR_BAD_DATA, "invalid parameter \"timeout\": %s", err);
        return -1;
    }
    if (ns <= 0) {
        answer_error(r, OCL_PROM_ERR_TIMEOUT, "query timed out in query execution");
        return 1;
    }
    /* Round up to whole ms without (ns + 999999), which overflows for
     * float timeouts just below 2^63 ns (timeout=9223372036.854775). */
    int64_t ms = ns / 1000000 + (ns % 1000000 != 0);
    if (ms < *out) *out = ms;
    return 0;
}

static int match_params(pa_req_t *r)
{
    size_t n = ocl_form_all(&r->form, "match[]", NULL, 0);
    r->match = ocl_arena_alloc(&r->arena, (n ? n : 1) * sizeof *r->match);
    r->n_match = ocl_form_all(&r->form, "match[]", r->match, n);
    return 0;
}

/* --- endpoints answered on the worker ---------------------------------------- */

static void put_kv(ocl_buf_t *b, const char *k, const char *v, bool comma)
{
    if (comma) ocl_buf_putc(b, ',');
    ocl_prom_json_cstr(b, k);
    ocl_buf_putc(b, ':');
    ocl_prom_json_cstr(b, v);
}

static void ok_raw(pa_req_t *r, const char *data)
{
    ocl_buf_t b;
    ocl_buf_init(&b);
    ocl_prom_ok_begin(&b);
    ocl_buf_puts(&b, data);
    ocl_prom_ok_end(&b, NULL, 0, NULL, 0);
    answer(r, 200, &b);
    ocl_buf_dispose(&b);
}

/* Go's time.Time JSON form (RFC 3339 with nanoseconds, zeros trimmed). */
static void put_go_time(ocl_buf_t *b, double unix_s)
{
    time_t s = (time_t)floor(unix_s);
    long ns = (long)((unix_s - (double)s) * 1e9);
    struct tm tm;
    gmtime_r(&s, &tm);
    char t[64], f[16] = "";
    strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%S", &tm);
    if (ns > 0) {
        int n = snprintf(f, sizeof f, ".%09ld", ns);
        while (n > 1 && f[n - 1] == '0')
            f[--n] = 0;
    }
    ocl_buf_printf(b, "\"%s%sZ\"", t, f);
}

/* model.Duration's String(): "5m", "2m", "1h30m", "500ms", "0s". */
static void fmt_duration(char *out, size_t cap, int64_t ms)
{
    static const struct {
        const char *u; /* unit */
        int64_t ms;    /* its length */
    } units[] = {{"y", 31536000000LL}, {"w", 604800000LL}, {"d", 86400000LL}, {"h", 3600000LL},
                 {"m", 60000LL},       {"s", 1000LL},      {"ms", 1LL}};
    size_t o = 0;
    out[0] = 0;
    if (ms <= 0) {
        snprintf(out, cap, "0s");
        return;
    }
    for (size_t i = 0; i < OCL_ARRAY_LEN(units) && o < cap; i++) {
        if (ms >= units[i].ms) {
            o += (size_t)snprintf(out + o, cap - o, "%lld%s", (long long)(ms / units[i].ms),
                                  units[i].u);
            ms %= units[i].ms;
        }
    }
}

static void status_endpoint(pa_req_t *r, ocl_str_t what)
{
    ocl_prom_api_cfg_t *c = &r->pa->cfg;
    ocl_buf_t b;
    ocl_buf_init(&b);
    if (ocl_str_eq_c(what, "buildinfo")) {
        /* version: the Prometheus API level mirrored (clients such as
         * Grafana enable features by it); ocelot's own version in branch. */
        ocl_prom_ok_begin(&b);
        ocl_buf_putc(&b, '{');
        put_kv(&b, "version", OCL_PROM_API_VERSION, false);
        put_kv(&b, "revision", OCL_GIT_REV, true);
        put_kv(&b, "branch", "ocelot-" OCL_VERSION, true);
        put_kv(&b, "buildUser", "ocelot", true);
        put_kv(&b, "buildDate", "unknown", true);
        put_kv(&b, "goVersion", "none (ocelot is written in C)", true);
        ocl_buf_putc(&b, '}');
    } else if (ocl_str_eq_c(what, "runtimeinfo")) {
        char cwd[4096] = "", host[256] = "";
        if (!getcwd(cwd, sizeof cwd)) cwd[0] = 0;
        if (gethostname(host, sizeof host) != 0) host[0] = 0;
        struct timeval tv;
        gettimeofday(&tv, NULL);
        ocl_prom_ok_begin(&b);
        ocl_buf_puts(&b, "{\"startTime\":");
        put_go_time(&b, start_time_s);
        put_kv(&b, "CWD", cwd, true);
        put_kv(&b, "hostname", host, true);
        ocl_buf_puts(&b, ",\"serverTime\":");
        put_go_time(&b, (double)tv.tv_sec + tv.tv_usec / 1e6);
        ocl_buf_puts(&b, ",\"reloadConfigSuccess\":true,\"lastConfigTime\":");
        put_go_time(&b, floor(start_time_s));
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        ocl_buf_printf(&b,
                       ",\"corruptionCount\":0,\"goroutineCount\":0,\"GOMAXPROCS\":%ld,"
                       "\"GOMEMLIMIT\":9223372036854775807,\"GOGC\":\"\",\"GODEBUG\":\"\","
                       "\"storageRetention\":\"15d\"}",
                       ncpu > 0 ? ncpu : 1);
    } else if (ocl_str_eq_c(what, "flags")) {
        char v[64];
        ocl_prom_ok_begin(&b);
        ocl_buf_putc(&b, '{');
        fmt_duration(v, sizeof v, c->lookback_ms);
        put_kv(&b, "query.lookback-delta", v, false);
        snprintf(v, sizeof v, "%d", c->max_concurrency);
        put_kv(&b, "query.max-concurrency", v, true);
        snprintf(v, sizeof v, "%llu", (unsigned long long)c->query_max_samples);
        put_kv(&b, "query.max-samples", v, true);
        fmt_duration(v, sizeof v, c->query_timeout_ms);
        put_kv(&b, "query.timeout", v, true);
        put_kv(&b, "storage.tsdb.retention.time", "15d", true);
        ocl_buf_putc(&b, '}');
    } else if (ocl_str_eq_c(what, "config")) {
        ocl_prom_ok_begin(&b);
        ocl_buf_puts(&b, "{\"yaml\":");
        ocl_prom_json_cstr(&b, "global:\n  scrape_interval: 1m\n  scrape_timeout: 10s\n"
                               "  evaluation_interval: 1m\n");
        ocl_buf_putc(&b, '}');
    } else {
        int st = ocl_prom_write_error(&b, OCL_PROM_ERR_NOT_FOUND, "unknown API endpoint");
        answer(r, st, &b);
        ocl_buf_dispose(&b);
        return;
    }
    ocl_prom_ok_end(&b, NULL, 0, NULL, 0);
    answer(r, 200, &b);
    ocl_buf_dispose(&b);
}

static void format_query(pa_req_t *r)
{
    ocl_str_t q = ocl_form_get(&r->form, "query", NULL);
    ocl_pql_expr_t *e = NULL;
    char err[512];
    if (ocl_pql_parse(q.p ? q.p : "", q.n, &e, err, sizeof err) != 0) {
        answer_error(r, OCL_PROM_ERR_BAD_DATA, "invalid parameter \"query\": %s", err);
        return;
    }
    ocl_buf_t s, b;
    ocl_buf_init(&s);
    ocl_buf_init(&b);
    ocl_pql_format(e->root, &s);
    ocl_prom_ok_begin(&b);
    ocl_prom_json_str(&b, (ocl_str_t){(const char *)s.p, s.len});
    ocl_prom_ok_end(&b, NULL, 0, NULL, 0);
    answer(r, 200, &b);
    ocl_buf_dispose(&s);
    ocl_buf_dispose(&b);
    ocl_pql_expr_free(e);
}

static void query_exemplars(pa_req_t *r)
{
    int64_t start, end, tmo;
    if (timeout_param(r, &tmo) != 0) return;
    ocl_str_t q = ocl_form_get(&r->form, "query", NULL);
    ocl_pql_expr_t *e = NULL;
    char err[512];
    if (ocl_pql_parse(q.p ? q.p : "", q.n, &e, err, sizeof err) != 0) {
        answer_error(r, OCL_PROM_ERR_BAD_DATA, "invalid parameter \"query\": %s", err);
        return;
    }
    ocl_pql_expr_free(e);
    if (time_param(r, "start", OCL_PROM_MIN_TIME_MS, &start) != 0) return;
    if (time_param(r, "end", OCL_PROM_MAX_TIME_MS, &end) != 0) return;
    ok_raw(r, "[]"); /* exemplars are not stored */
}

/* --- routing ------------------------------------------------------------------ */

static bool method_is(const ocl_http_req_t *req, const char *m)
{
    return ocl_str_eq_c(req->method, m);
}

static void method_not_allowed(pa_req_t *r, const char *allow)
{
    ocl_header_t h = {"Allow", 5, allow, strlen(allow)};
    static const char msg[] = "Method Not Allowed\n";
    ocl_http_respond(r->req, 405, "text/plain; charset=utf-8", &h, 1, msg, sizeof msg - 1);
    pa_observe(r->ep, 405, r->t0);
}

static bool form_body(const ocl_http_req_t *req)
{
    ocl_str_t ct = ocl_http_req_header(req, "content-type");
    const char *want = "application/x-www-form-urlencoded";
    size_t n = strlen(want);
    return ct.n >= n && ocl_str_ieq_c((ocl_str_t){ct.p, n}, want);
}

/* Accept-Encoding lists gzip (and not with q=0). */
static bool accepts_gzip(const ocl_http_req_t *req)
{
    ocl_str_t ae = ocl_http_req_header(req, "accept-encoding");
    for (size_t i = 0; i + 4 <= ae.n; i++) {
        if (!ocl_str_ieq_c((ocl_str_t){ae.p + i, 4}, "gzip")) continue;
        /* parameters up to the next ',' */
        size_t j = i + 4, end = j;
        while (end < ae.n && ae.p[end] != ',')
            end++;
        char prm[32];
        size_t n = OCL_MIN(end - j, sizeof prm - 1);
        memcpy(prm, ae.p + j, n);
        prm[n] = 0;
        const char *q = strstr(prm, "q=");
        return !(q && strtod(q + 2, NULL) == 0);
    }
    return false;
}

void ocl_prom_api_handle(ocl_prom_api_t *pa, ocl_http_req_t *req)
{
    pa_req_t *r = ocl_calloc(1, sizeof *r);
    r->t0 = ocl_mono_nano();
    r->pa = pa;
    r->req = req;
    r->ep = PA_EP_OTHER;
    ocl_arena_init(&r->arena, 8192);
    ocl_str_t path = {req->path.p + 8, req->path.n - 8}; /* after "/api/v1/" */
    bool get = method_is(req, "GET") || method_is(req, "HEAD");
    bool post = method_is(req, "POST");
    bool get_post = true; /* endpoint accepts GET and POST (else GET only) */

    if (ocl_str_eq_c(path, "query"))
        r->ep = PA_EP_QUERY;
    else if (ocl_str_eq_c(path, "query_range"))
        r->ep = PA_EP_QUERY_RANGE;
    else if (ocl_str_eq_c(path, "series"))
        r->ep = PA_EP_SERIES;
    else if (ocl_str_eq_c(path, "labels"))
        r->ep = PA_EP_LABELS;
    else if (ocl_str_eq_c(path, "format_query"))
        r->ep = PA_EP_FORMAT_QUERY;
    else if (ocl_str_eq_c(path, "query_exemplars"))
        r->ep = PA_EP_EXEMPLARS;
    else {
        get_post = false;
        if (path.n > 6 + 7 && memcmp(path.p, "label/", 6) == 0 &&
            memcmp(path.p + path.n - 7, "/values", 7) == 0)
            r->ep = PA_EP_LABEL_VALUES;
        else if (ocl_str_eq_c(path, "metadata"))
            r->ep = PA_EP_METADATA;
        else if (path.n > 7 && memcmp(path.p, "status/", 7) == 0)
            r->ep = PA_EP_STATUS;
        else if (ocl_str_eq_c(path, "rules") || ocl_str_eq_c(path, "alerts") ||
                 ocl_str_eq_c(path, "targets"))
            r->ep = PA_EP_RULES;
    }
    if (r->ep == PA_EP_OTHER) {
        answer_error(r, OCL_PROM_ERR_NOT_FOUND, "unknown API endpoint: /api/v1/%.*s",
                     (int)OCL_MIN(path.n, 200), path.p);
        goto free;
    }
    if (method_is(req, "OPTIONS")) {
        /* CORS preflight, as Prometheus answers it */
        ocl_header_t h[] = {{"Access-Control-Allow-Methods", 28, "GET, POST, OPTIONS", 18},
                            {"Access-Control-Allow-Headers", 28,
                             "Accept, Authorization, Content-Type, Origin", 43}};
        ocl_http_respond(req, 204, "text/plain", h, 2, "", 0);
        pa_observe(r->ep, 204, r->t0);
        goto free;
    }
    if (!(get || (post && get_post))) {
        method_not_allowed(r, get_post ? "GET, POST" : "GET");
        goto free;
    }

    /* Parameters: body first, then the query string (Go's Request.Form). */
    char ferr[128] = "";
    int frc = 0;
    if (post && form_body(req))
        frc = ocl_form_parse(&r->form, &r->arena, (const char *)req->body, req->body_len, ferr,
                             sizeof ferr);
    char ferr2[128] = "";
    int frc2 = ocl_form_parse(&r->form, &r->arena, req->query.p ? req->query.p : "", req->query.n,
                              ferr2, sizeof ferr2);
    if ((frc == 0 && frc2 != 0) || frc2 == OCL_ETOOBIG) {
        frc = frc2;
        memcpy(ferr, ferr2, sizeof ferr);
    }
    if (frc == OCL_ETOOBIG) {
        /* Unlike a bad escape (Go skips that pair), a truncated form would
         * silently drop parameters (match[]): refuse the request. */
        answer_error(r, OCL_PROM_ERR_BAD_DATA, "error parsing form values: %s", ferr);
        goto free;
    }

    r->accept_gzip = accepts_gzip(req);
    ocl_str_t tenant = ocl_http_req_header(req, "x-scope-orgid");
    if (tenant.n && !ocl_tenant_id_valid(tenant)) {
        answer_error(r, OCL_PROM_ERR_BAD_DATA, "invalid tenant ID in X-Scope-OrgID");
        goto free;
    }
    memcpy(r->tenant, tenant.p ? tenant.p : "", tenant.n);
    r->tenant_len = tenant.n;

    int64_t tmo;
    switch (r->ep) {
    case PA_EP_QUERY:
        if (limit_param(r, &r->limit) != 0) goto free;
        if (time_param(r, "time", (int64_t)(ocl_now_unix_nano() / 1000000), &r->t) != 0) goto free;
        if (timeout_param(r, &tmo) != 0) goto free;
        r->query = ocl_form_get(&r->form, "query", NULL);
        submit(r, tmo);
        return;
    case PA_EP_QUERY_RANGE: {
        ocl_str_t v;
        char err[256];
        if (limit_param(r, &r->limit) != 0) goto free;
        v = ocl_form_get(&r->form, "start", NULL);
        if (ocl_prom_parse_time(v, &r->start, err, sizeof err) != 0) {
            answer_error(r, OCL_PROM_ERR_BAD_DATA, "invalid parameter \"start\": %s", err);
            goto free;
        }
        v = ocl_form_get(&r->form, "end", NULL);
        if (ocl_prom_parse_time(v, &r->end, err, sizeof err) != 0) {
            answer_error(r, OCL_PROM_ERR_BAD_DATA, "invalid parameter \"end\": %s", err);
            goto free;
        }
        if (r->end < r->start) {
            answer_error(r, OCL_PROM_ERR_BAD_DATA,
                         "invalid parameter \"end\": end timestamp must not be before start time");
            goto free;
        }
        int64_t step_ns;
        v = ocl_form_get(&r->form, "step", NULL);
        if (ocl_prom_parse_duration(v, &step_ns, err, sizeof err) != 0) {
            answer_error(r, OCL_PROM_ERR_BAD_DATA, "invalid parameter \"step\": %s", err);
            goto free;
        }
        if (step_ns <= 0) {
            answer_error(r, OCL_PROM_ERR_BAD_DATA,
                         "invalid parameter \"step\": zero or negative query resolution step "
                         "widths are not accepted. Try a positive integer");
            goto free;
        }
        /* end.Sub(start)/step > 11000, in nanoseconds (Sub saturates) */
        __int128 span = ((__int128)r->end - r->start) * 1000000;
        if (span > INT64_MAX) span = INT64_MAX;
        if (span / step_ns > 11000) {
            answer_error(r, OCL_PROM_ERR_BAD_DATA,
                         "exceeded maximum resolution of 11,000 points per timeseries. Try "
                         "decreasing the query resolution (?step=XX)");
            goto free;
        }
        r->step_ms = step_ns / 1000000;
        if (r->step_ms <= 0) r->step_ms = 1;
        if (timeout_param(r, &tmo) != 0) goto free;
        r->query = ocl_form_get(&r->form, "query", NULL);
        submit(r, tmo);
        return;
    }
    case PA_EP_SERIES:
        if (frc != 0) {
            answer_error(r, OCL_PROM_ERR_BAD_DATA, "error parsing form values: %s", ferr);
            goto free;
        }
        match_params(r);
        if (r->n_match == 0) {
            answer_error(r, OCL_PROM_ERR_BAD_DATA, "no match[] parameter provided");
            goto free;
        }
        if (limit_param(r, &r->limit) != 0) goto free;
        if (time_param(r, "start", OCL_PROM_MIN_TIME_MS, &r->start) != 0) goto free;
        if (time_param(r, "end", OCL_PROM_MAX_TIME_MS, &r->end) != 0) goto free;
        submit(r, r->pa->cfg.query_timeout_ms);
        return;
    case PA_EP_LABEL_VALUES: {
        ocl_str_t raw = {path.p + 6, path.n - 6 - 7};
        int urc = ocl_url_path_unescape(&r->arena, raw, &r->name);
        /* "U__..." names are value-encoding escaped UTF-8 names (Grafana) */
        if (urc == 0) r->name = ocl_prom_unescape_label_name(&r->arena, r->name);
        if (urc != 0 || r->name.n == 0 || !ocl_utf8_valid(r->name.p, r->name.n)) {
            char q[300];
            int n = snprintf(q, sizeof q, "%.*s", (int)OCL_MIN(raw.n, 250), raw.p);
            (void)n;
            answer_error(r, OCL_PROM_ERR_BAD_DATA, "invalid label name: \"%s\"", q);
            goto free;
        }
    }
        /* fall through */
    case PA_EP_LABELS:
        if (limit_param(r, &r->limit) != 0) goto free;
        if (time_param(r, "start", OCL_PROM_MIN_TIME_MS, &r->start) != 0) goto free;
        if (time_param(r, "end", OCL_PROM_MAX_TIME_MS, &r->end) != 0) goto free;
        match_params(r);
        submit(r, r->pa->cfg.query_timeout_ms);
        return;
    case PA_EP_METADATA: {
        ocl_str_t v;
        char err[256];
        r->limit = -1;
        r->limit_per_metric = -1;
        if (param(r, "limit", &v) && ocl_prom_parse_int(v, &r->limit, err, sizeof err) != 0) {
            answer_error(r, OCL_PROM_ERR_BAD_DATA, "limit must be a number");
            goto free;
        }
        if (param(r, "limit_per_metric", &v) &&
            ocl_prom_parse_int(v, &r->limit_per_metric, err, sizeof err) != 0) {
            answer_error(r, OCL_PROM_ERR_BAD_DATA, "limit_per_metric must be a number");
            goto free;
        }
        r->name = ocl_form_get(&r->form, "metric", NULL);
        submit(r, r->pa->cfg.query_timeout_ms);
        return;
    }
    case PA_EP_FORMAT_QUERY:
        format_query(r);
        goto free;
    case PA_EP_EXEMPLARS:
        query_exemplars(r);
        goto free;
    case PA_EP_STATUS:
        status_endpoint(r, (ocl_str_t){path.p + 7, path.n - 7});
        goto free;
    case PA_EP_RULES:
        if (ocl_str_eq_c(path, "rules"))
            ok_raw(r, "{\"groups\":[]}");
        else if (ocl_str_eq_c(path, "alerts"))
            ok_raw(r, "{\"alerts\":[]}");
        else
            ok_raw(r, "{\"activeTargets\":[],\"droppedTargets\":[],\"droppedTargetCounts\":{}}");
        goto free;
    default:
        break;
    }
free:
    free_req(r);
}
