/*
 * http_api.c — request routing for the API port (see http_api.h).
 *
 * Tempo API: GET /api/traces/<id> answers {"batches":[ResourceSpans...]}
 * (Tempo's v1 shape), GET /api/v2/traces/<id> answers
 * {"trace":{"resourceSpans":[...]}}; both in OTLP/JSON, or protobuf when the
 * client asks for it with Accept: application/protobuf (Grafana does).
 * Unknown ids get 404, malformed ids 400, as Tempo does.
 */
#include "api/http_api.h"

#include "api/selfmetrics.h"
#include "receiver/prom_remote_write.h"
#include "wire/pb.h"

#include <pthread.h>
#include <stdio.h>

static void text(ocl_http_req_t *req, int status, const char *body)
{
    ocl_http_respond(req, status, "text/plain; charset=utf-8", NULL, 0, body, strlen(body));
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int ocl_parse_trace_id(ocl_str_t hex, uint8_t out[16])
{
    if (hex.n == 0 || hex.n > 32) return OCL_EINVAL;
    char padded[32];
    memset(padded, '0', sizeof padded);
    memcpy(padded + 32 - hex.n, hex.p, hex.n);
    for (int i = 0; i < 16; i++) {
        int hi = hexval(padded[2 * i]), lo = hexval(padded[2 * i + 1]);
        if (hi < 0 || lo < 0) return OCL_EINVAL;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static int wants_protobuf(const ocl_http_req_t *req)
{
    ocl_str_t acc = ocl_http_req_header(req, "accept");
    for (size_t i = 0; i + 20 <= acc.n; i++)
        if (ocl_str_ieq_c((ocl_str_t){acc.p + i, 20}, "application/protobuf")) return 1;
    return 0;
}

static void trace_by_id(ocl_http_api_t *api, ocl_http_req_t *req, ocl_str_t id, int v2)
{
    uint8_t tid[16];
    if (ocl_parse_trace_id(id, tid) != 0) {
        text(req, 400, "invalid trace id: expected 1 to 32 hex digits\n");
        return;
    }
    ocl_buf_t pb, out;
    ocl_buf_init(&pb);
    ocl_buf_init(&out);
    ocl_arena_t arena;
    ocl_arena_init(&arena, 64 * 1024);
    /* Tenants are kept apart as in Tempo: X-Scope-OrgID selects the store. */
    ocl_tracestore_t *ts =
        ocl_ingest_trace_store(api->ingest, ocl_http_req_header(req, "x-scope-orgid"));
    int rc = ts ? ocl_tracestore_get(ts, tid, &pb) : OCL_ENOTFOUND;
    if (rc == OCL_ENOTFOUND) {
        text(req, 404, "trace not found\n");
        goto done;
    }
    if (rc != 0) {
        text(req, 500, "error reading trace\n");
        goto done;
    }
    if (wants_protobuf(req)) {
        /* tempopb.Trace {batches = 1} is TracesData; v2 wraps it in
         * TraceByIDResponse {trace = 1}. */
        if (v2)
            ocl_pb_put_bytes(&out, 1, pb.p, pb.len);
        else
            ocl_buf_append(&out, pb.p, pb.len);
        ocl_http_respond(req, 200, "application/protobuf", NULL, 0, out.p, out.len);
        goto done;
    }
    ocl_traces_req_t tr;
    const char *err = NULL;
    if (ocl_otlp_pb_decode_traces(pb.p ? (void *)pb.p : "", pb.len, &arena, &tr, &err) != 0) {
        text(req, 500, "stored trace is corrupt\n");
        goto done;
    }
    if (v2) ocl_buf_puts(&out, "{\"trace\":");
    ocl_otlp_json_encode_traces(&tr, v2 ? "resourceSpans" : "batches", &out);
    if (v2) ocl_buf_putc(&out, '}');
    ocl_http_respond(req, 200, "application/json", NULL, 0, out.p, out.len);
done:
    ocl_arena_dispose(&arena);
    ocl_buf_dispose(&pb);
    ocl_buf_dispose(&out);
}

static int has_prefix(ocl_str_t s, const char *pfx, ocl_str_t *rest)
{
    size_t n = strlen(pfx);
    if (s.n < n || memcmp(s.p, pfx, n) != 0) return 0;
    *rest = (ocl_str_t){s.p + n, s.n - n};
    return 1;
}

/* The Prometheus API state, created on first use so that the server needs
 * no extra start-up call; creation is serialised by one process-wide mutex. */
static pthread_mutex_t prom_init_mu = PTHREAD_MUTEX_INITIALIZER;
/* Held shared while a handler hands a request to the API state, exclusively
 * while ocl_http_api_stop detaches it, so a handler never uses freed state. */
static pthread_rwlock_t prom_use_lk = PTHREAD_RWLOCK_INITIALIZER;

/* Call with prom_use_lk held shared; NULL once stopped. */
static ocl_prom_api_t *prom_api(ocl_http_api_t *api)
{
    ocl_prom_api_t *pa = __atomic_load_n(&api->prom_api, __ATOMIC_ACQUIRE);
    if (pa || api->prom_stopped) return pa;
    pthread_mutex_lock(&prom_init_mu);
    pa = api->prom_api;
    if (!pa && !api->prom_stopped) {
        pa = ocl_prom_api_create(api->ingest, &api->prom);
        __atomic_store_n(&api->prom_api, pa, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&prom_init_mu);
    return pa;
}

void ocl_http_api_stop(ocl_http_api_t *api)
{
    pthread_rwlock_wrlock(&prom_use_lk);
    pthread_mutex_lock(&prom_init_mu);
    ocl_prom_api_t *pa = api->prom_api;
    api->prom_api = NULL;
    api->prom_stopped = true;
    pthread_mutex_unlock(&prom_init_mu);
    pthread_rwlock_unlock(&prom_use_lk);
    ocl_prom_api_destroy(pa);
}

static const char index_html[] =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>ocelot</title></head><body>"
    "<h1>ocelot</h1><p>The web UI is not built yet. Endpoints on this port:</p><ul>"
    "<li><a href=\"/metrics\">/metrics</a> &mdash; ocelot's own metrics</li>"
    "<li>/api/v1/query, /api/v1/query_range, /api/v1/series, /api/v1/labels &mdash; "
    "Prometheus API</li>"
    "<li>/api/traces/&lt;trace id&gt; and /api/v2/traces/&lt;trace id&gt; &mdash; Tempo API</li>"
    "<li><a href=\"/-/healthy\">/-/healthy</a>, <a href=\"/-/ready\">/-/ready</a></li>"
    "</ul></body></html>\n";

void ocl_http_api_handle(ocl_http_req_t *req, void *ud)
{
    ocl_http_api_t *api = ud;
    ocl_str_t rest;
    int is_get = ocl_str_eq_c(req->method, "GET") || ocl_str_eq_c(req->method, "HEAD");
    if (ocl_str_eq_c(req->path, "/-/healthy")) {
        text(req, 200, "ocelot is Healthy.\n");
        return;
    }
    if (ocl_str_eq_c(req->path, "/-/ready")) {
        if (__atomic_load_n(&api->ready, __ATOMIC_ACQUIRE))
            text(req, 200, "ocelot is Ready.\n");
        else
            text(req, 503, "Service Unavailable\n");
        return;
    }
    if (ocl_str_eq_c(req->path, "/api/v1/write")) {
        ocl_prom_rw_handle(req, api->ingest);
        return;
    }
    if (has_prefix(req->path, "/api/v1/", &rest)) {
        pthread_rwlock_rdlock(&prom_use_lk);
        ocl_prom_api_t *pa = prom_api(api);
        if (pa)
            ocl_prom_api_handle(pa, req);
        else
            text(req, 503, "shutting down\n");
        pthread_rwlock_unlock(&prom_use_lk);
        return;
    }
    if (!is_get) {
        ocl_header_t allow = {"Allow", 5, "GET", 3};
        const char *m = "method not allowed\n";
        ocl_http_respond(req, 405, "text/plain; charset=utf-8", &allow, 1, m, strlen(m));
        return;
    }
    if (ocl_str_eq_c(req->path, "/metrics")) {
        ocl_buf_t b;
        ocl_buf_init(&b);
        ocl_sm_render(&b);
        ocl_http_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, 0, b.p, b.len);
        ocl_buf_dispose(&b);
        return;
    }
    if (has_prefix(req->path, "/api/v2/traces/", &rest)) {
        trace_by_id(api, req, rest, 1);
        return;
    }
    if (has_prefix(req->path, "/api/traces/", &rest)) {
        trace_by_id(api, req, rest, 0);
        return;
    }
    if (ocl_str_eq_c(req->path, "/api/echo")) {
        text(req, 200, "echo");
        return;
    }
    if (ocl_str_eq_c(req->path, "/") || ocl_str_eq_c(req->path, "/index.html")) {
        ocl_http_respond(req, 200, "text/html; charset=utf-8", NULL, 0, index_html,
                         sizeof index_html - 1);
        return;
    }
    text(req, 404, "404 page not found\n");
}
