/*
 * tracecontext-test-server — a service for the W3C Trace Context test
 * harness (github.com/w3c/trace-context, test/test.py), built on libocelot.
 *
 *   tracecontext-test-server 127.0.0.1:5000
 *
 * Accepts POST /test whose JSON body is an array of
 * {"url": ..., "arguments": ...}; for each element it POSTs `arguments` as
 * JSON to `url`, from a child span of the incoming trace context
 * (traceparent/tracestate extracted with every validation rule; a
 * repeated traceparent header is invalid, repeated tracestate headers are
 * joined), injecting the child's traceparent and tracestate. Invalid
 * incoming context starts a new trace. Spans go wherever OTEL_* says
 * (default: OTLP to localhost:4318; OTEL_TRACES_EXPORTER=none to discard).
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mini_http.h"
#include "ocelot/ocelot.h"

static ocelot_tracer_t *g_tracer;

static size_t discard(char *p, size_t s, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return s * n;
}

static void call(const char *url, const char *body, const ocelot_span_context_t *ctx)
{
    CURL *c = curl_easy_init();
    if (!c) return;
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = ocelot_curl_inject(h, ctx, NULL);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_perform(c);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

static void handle(mh_req_t *r, void *ud)
{
    (void)ud;
    if (strcmp(r->method, "POST") || strcmp(r->path, "/test")) {
        mh_respond(r, 404, NULL, "not found\n");
        return;
    }
    json_error_t err;
    json_t *arr = json_loads(r->body, 0, &err);
    if (!json_is_array(arr)) {
        json_decref(arr);
        mh_respond(r, 400, NULL, "expected a JSON array\n");
        return;
    }
    mh_carrier_t *car = calloc(1, sizeof *car);
    ocelot_span_context_t parent;
    ocelot_span_options_t o = {.kind = OCELOT_SPAN_SERVER, .root = 1};
    car->r = r;
    if (ocelot_extract(mh_carrier_get, car, &parent, NULL) == 0) o.parent = &parent;
    free(car);
    ocelot_span_t *span = ocelot_span_start(g_tracer, "POST /test", &o);
    ocelot_span_context_t ctx;
    ocelot_span_get_context(span, &ctx);
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        const char *url = json_string_value(json_object_get(e, "url"));
        json_t *args = json_object_get(e, "arguments");
        if (!url) continue;
        char *body = json_dumps(args ? args : json_null(), JSON_ENCODE_ANY | JSON_COMPACT);
        call(url, body ? body : "null", &ctx);
        free(body);
    }
    ocelot_span_end(span, 0);
    json_decref(arr);
    mh_respond(r, 200, "text/plain", "");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s HOST:PORT\n", argv[0]);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    ocelot_options_t o = {.service_name = "tracecontext-test-server"};
    ocelot_init(&o);
    g_tracer = ocelot_tracer_get("tracecontext-test-server", OCELOT_VERSION, NULL);
    if (mh_serve(argv[1], handle, NULL)) {
        fprintf(stderr, "cannot listen on %s\n", argv[1]);
        ocelot_shutdown(1000);
        return 1;
    }
    return 0;
}
