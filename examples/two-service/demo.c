/*
 * ocelot-demo — a two-service demo of libocelot: an HTTP front end that
 * calls a back end over HTTP with libcurl. The trace context travels in
 * the traceparent/tracestate/baggage headers, so one trace spans both
 * services; each service writes log records correlated with its span and
 * records metrics. Point both at ocelot with OTEL_EXPORTER_OTLP_ENDPOINT.
 *
 *   ocelot-demo backend  127.0.0.1:0                     (prints "listening on ...")
 *   ocelot-demo frontend 127.0.0.1:0 http://<backend>    (GET /checkout)
 *
 * GET /checkout on the front end answers {"trace_id": "...", "price": N}.
 * examples/two-service/run.sh runs the whole thing against a local ocelot.
 */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mini_http.h"
#include "ocelot/ocelot.h"

static ocelot_tracer_t *g_tracer;
static ocelot_logger_t *g_log;
static ocelot_instrument_t *g_requests, *g_duration;
static const char *g_backend; /* front end: back end base URL */

typedef struct membuf {
    char data[4096]; /* response body (truncated) */
    size_t n;        /* bytes used */
} membuf_t;

static size_t collect(char *p, size_t s, size_t n, void *ud)
{
    membuf_t *b = ud;
    size_t k = s * n;
    size_t room = sizeof b->data - 1 - b->n;
    memcpy(b->data + b->n, p, k < room ? k : room);
    b->n += k < room ? k : room;
    b->data[b->n] = 0;
    return k;
}

/* Starts the SERVER span of an incoming request (child of its context). */
static ocelot_span_t *server_span(mh_req_t *r, const char *name, ocelot_baggage_t **bag)
{
    mh_carrier_t *car = calloc(1, sizeof *car);
    ocelot_span_context_t parent;
    ocelot_span_options_t o = {.kind = OCELOT_SPAN_SERVER, .root = 1};
    if (car) {
        car->r = r;
        if (ocelot_extract(mh_carrier_get, car, &parent, bag) == 0) o.parent = &parent;
        free(car);
    }
    ocelot_span_t *s = ocelot_span_start(g_tracer, name, &o);
    ocelot_span_set_str(s, "http.request.method", r->method);
    ocelot_span_set_str(s, "url.path", r->path);
    return s;
}

static void frontend(mh_req_t *r, void *ud)
{
    (void)ud;
    if (strcmp(r->path, "/checkout") != 0) {
        mh_respond(r, 404, NULL, "not found\n");
        return;
    }
    uint64_t t0 = ocelot_now_ns();
    ocelot_span_t *s = server_span(r, "GET /checkout", NULL);
    ocelot_span_t *prev = ocelot_span_attach(s);
    ocelot_baggage_t *bag = ocelot_baggage_create();
    ocelot_baggage_set(bag, "customer.tier", "gold", NULL);

    ocelot_span_options_t co = {.kind = OCELOT_SPAN_CLIENT};
    ocelot_span_t *c = ocelot_span_start(g_tracer, "GET /price", &co);
    ocelot_span_context_t cctx;
    ocelot_span_get_context(c, &cctx);
    char url[512];
    snprintf(url, sizeof url, "%s/price", g_backend);
    ocelot_span_set_str(c, "url.full", url);
    membuf_t body = {.n = 0};
    long status = 0;
    CURL *h = curl_easy_init();
    if (h) {
        struct curl_slist *hdrs = ocelot_curl_inject(NULL, &cctx, bag);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, 5L);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(h);
    }
    ocelot_span_set_int(c, "http.response.status_code", status);
    if (status != 200) ocelot_span_set_status(c, OCELOT_STATUS_ERROR, "back end call failed");
    ocelot_span_end(c, 0);
    ocelot_baggage_destroy(bag);

    int price = 0;
    const char *p = strstr(body.data, "\"price\":");
    if (p) price = atoi(p + 8);
    ocelot_attr_t la[] = {OCELOT_INT("price", price)};
    ocelot_log(g_log, status == 200 ? OCELOT_SEV_INFO : OCELOT_SEV_ERROR,
               status == 200 ? "checkout priced" : "checkout failed", la, 1);

    ocelot_span_context_t sctx;
    ocelot_span_get_context(s, &sctx);
    char tid[33];
    for (int i = 0; i < 16; i++)
        sprintf(tid + 2 * i, "%02x", sctx.trace_id[i]);
    char out[128];
    snprintf(out, sizeof out, "{\"trace_id\":\"%s\",\"price\":%d}\n", tid, price);
    ocelot_span_set_int(s, "http.response.status_code", status == 200 ? 200 : 502);
    ocelot_span_detach(prev);
    ocelot_span_end(s, 0);
    ocelot_attr_t ma[] = {OCELOT_STR("http.route", "/checkout"),
                          OCELOT_INT("http.response.status_code", status == 200 ? 200 : 502)};
    ocelot_counter_add(g_requests, 1, ma, 2);
    ocelot_histogram_record(g_duration, (double)(ocelot_now_ns() - t0) / 1e6, ma, 1);
    mh_respond(r, status == 200 ? 200 : 502, "application/json", out);
}

static void backend(mh_req_t *r, void *ud)
{
    (void)ud;
    if (strcmp(r->path, "/price") != 0) {
        mh_respond(r, 404, NULL, "not found\n");
        return;
    }
    ocelot_baggage_t *bag = NULL;
    ocelot_span_t *s = server_span(r, "GET /price", &bag);
    ocelot_span_t *prev = ocelot_span_attach(s);
    const char *tier = bag ? ocelot_baggage_get(bag, "customer.tier") : NULL;
    if (tier) ocelot_span_set_str(s, "customer.tier", tier);
    int price = tier && !strcmp(tier, "gold") ? 90 : 100;
    ocelot_attr_t la[] = {OCELOT_INT("price", price)};
    ocelot_log(g_log, OCELOT_SEV_INFO, "price computed", la, 1);
    ocelot_attr_t ma[] = {OCELOT_STR("http.route", "/price")};
    ocelot_counter_add(g_requests, 1, ma, 1);
    ocelot_span_detach(prev);
    ocelot_span_end(s, 0);
    ocelot_baggage_destroy(bag);
    char out[64];
    snprintf(out, sizeof out, "{\"price\":%d}\n", price);
    mh_respond(r, 200, "application/json", out);
}

typedef struct serve_args {
    const char *addr; /* listen address */
    mh_handler_fn fn; /* frontend or backend */
} serve_args_t;

static void *serve_main(void *arg)
{
    serve_args_t *a = arg;
    if (mh_serve(a->addr, a->fn, NULL)) {
        fprintf(stderr, "cannot listen on %s\n", a->addr);
        kill(getpid(), SIGTERM); /* main's sigwait: flush and exit */
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int fe = argc == 4 && !strcmp(argv[1], "frontend");
    int be = argc == 3 && !strcmp(argv[1], "backend");
    if (!fe && !be) {
        fprintf(stderr, "usage: %s backend HOST:PORT | frontend HOST:PORT BACKEND_URL\n", argv[0]);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    ocelot_options_t o = {.service_name = fe ? "demo-frontend" : "demo-backend"};
    if (ocelot_init(&o)) return 1;
    g_tracer = ocelot_tracer_get("ocelot-demo", OCELOT_VERSION, NULL);
    g_log = ocelot_logger_get("ocelot-demo", OCELOT_VERSION, NULL);
    ocelot_meter_t *m = ocelot_meter_get("ocelot-demo", OCELOT_VERSION, NULL);
    ocelot_instrument_options_t ro = {.unit = "{request}", .description = "requests served"};
    ocelot_instrument_create(m, OCELOT_COUNTER, "demo.requests", &ro, &g_requests);
    ocelot_instrument_options_t dop = {.unit = "ms", .description = "checkout duration"};
    ocelot_instrument_create(m, OCELOT_HISTOGRAM, "demo.checkout.duration", &dop, &g_duration);
    g_backend = fe ? argv[3] : NULL;
    /* SIGINT/SIGTERM are taken by sigwait in this thread, so the shutdown
     * (which locks and joins threads: not async-signal-safe) runs in normal
     * context. Blocked before the server thread starts; it inherits that. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    serve_args_t sa = {argv[2], fe ? frontend : backend};
    pthread_t th;
    if (pthread_create(&th, NULL, serve_main, &sa)) return 1;
    int sig = 0;
    sigwait(&sigs, &sig);
    ocelot_shutdown(3000); /* flush what is queued; bounded */
    _exit(0);              /* the server thread and its connections end with us */
}
