/*
 * bench_decode.c — throughput of the OTLP protobuf codec on a realistic
 * ExportTraceServiceRequest: 512 spans, each with 16/8-byte ids, a parent,
 * an HTTP-ish name, 10 attributes (strings, ints, a double, a bool), one
 * event with 2 attributes and a status; one resource with 6 attributes.
 * Prints spans/s and ns/span for decode, encode from a decoded model (raw
 * spans copied) and canonical encode from a hand-built model (no raw).
 * Times are thread CPU time (the bench machine is shared). Not a test: run `cmake --build build/dev
 * --target bench_decode && build/dev/bench_decode [iterations]`.
 */
#include "wire/otlp.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NSPANS 512

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static char ids[NSPANS][32];
static char names[NSPANS][48];
static char routes[NSPANS][40];
static ocl_kv_t attrs[NSPANS][10];
static ocl_kv_t ev_attrs[NSPANS][2];
static ocl_span_event_t events[NSPANS];
static ocl_span_t spans[NSPANS];
static ocl_kv_t res_attrs[6];

static ocl_kv_t kv_s(const char *k, const char *v)
{
    return (ocl_kv_t){ocl_str_c(k), {.type = OCL_AV_STRING, .u.s = ocl_str_c(v)}};
}
static ocl_kv_t kv_i(const char *k, int64_t v)
{
    return (ocl_kv_t){ocl_str_c(k), {.type = OCL_AV_INT, .u.i = v}};
}

static ocl_traces_req_t build(ocl_resource_spans_t *rs, ocl_scope_spans_t *ss)
{
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < NSPANS; i++) {
        for (int j = 0; j < 32; j++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            ids[i][j] = (char)x;
        }
        memcpy(ids[i], ids[0], 16); /* one trace */
        snprintf(routes[i], sizeof routes[i], "/api/v1/users/%d/orders", i % 37);
        snprintf(names[i], sizeof names[i], "GET %s", routes[i]);
        attrs[i][0] = kv_s("http.request.method", "GET");
        attrs[i][1] = kv_s("http.route", routes[i]);
        attrs[i][2] = kv_i("http.response.status_code", i % 17 ? 200 : 503);
        attrs[i][3] = kv_s("server.address", "checkout.internal.example.com");
        attrs[i][4] = kv_i("server.port", 8443);
        attrs[i][5] = kv_s("url.scheme", "https");
        attrs[i][6] = kv_s("network.protocol.version", "1.1");
        attrs[i][7] =
            kv_s("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64) ocelot-bench/1.0");
        attrs[i][8] = (ocl_kv_t){ocl_str_c("sampling.ratio"), {.type = OCL_AV_DOUBLE, .u.d = 0.25}};
        attrs[i][9] = (ocl_kv_t){ocl_str_c("cache.hit"), {.type = OCL_AV_BOOL, .u.b = i & 1}};
        ev_attrs[i][0] = kv_s("exception.type", "java.net.SocketTimeoutException");
        ev_attrs[i][1] = kv_s("exception.message", "Read timed out after 3000 ms");
        events[i] = (ocl_span_event_t){1700000000000000000ull + (uint64_t)i * 1000,
                                       ocl_str_c("exception"),
                                       {ev_attrs[i], 2},
                                       0};
        spans[i] = (ocl_span_t){
            .trace_id = {ids[i], 16},
            .span_id = {ids[i] + 16, 8},
            .parent_span_id = {ids[i] + 24, 8},
            .name = ocl_str_c(names[i]),
            .kind = OCL_SPAN_KIND_SERVER,
            .start_unix_nano = 1700000000000000000ull + (uint64_t)i * 1000,
            .end_unix_nano = 1700000000000000000ull + (uint64_t)i * 1000 + 1234567,
            .attrs = {attrs[i], 10},
            .events = &events[i],
            .n_events = 1,
            .has_status = true,
            .status_code = i % 17 ? 0 : 2,
            .flags = 0x101,
        };
    }
    res_attrs[0] = kv_s("service.name", "checkout");
    res_attrs[1] = kv_s("service.version", "2.14.1");
    res_attrs[2] = kv_s("deployment.environment.name", "production");
    res_attrs[3] = kv_s("host.name", "ip-10-0-3-17.ec2.internal");
    res_attrs[4] = kv_s("telemetry.sdk.language", "java");
    res_attrs[5] = kv_i("process.pid", 4242);
    *ss = (ocl_scope_spans_t){.scope = {.name = ocl_str_c("io.opentelemetry.tomcat-10.0"),
                                        .version = ocl_str_c("2.1.0-alpha"),
                                        .present = true},
                              .spans = spans,
                              .n_spans = NSPANS};
    *rs = (ocl_resource_spans_t){.resource = {.attrs = {res_attrs, 6}, .present = true},
                                 .scope_spans = ss,
                                 .n_scope_spans = 1};
    return (ocl_traces_req_t){rs, 1};
}

static void report(const char *what, double secs, long iters, size_t bytes)
{
    double n = (double)iters * NSPANS;
    printf("%-28s %10.0f spans/s %8.1f ns/span %8.1f MB/s\n", what, n / secs, secs * 1e9 / n,
           (double)bytes * (double)iters / secs / 1e6);
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 4000;
    ocl_resource_spans_t rs;
    ocl_scope_spans_t ss;
    ocl_traces_req_t req = build(&rs, &ss);
    ocl_buf_t enc;
    ocl_buf_init(&enc);
    ocl_otlp_pb_encode_traces(&req, &enc);
    printf("request: %d spans, %zu bytes (%.0f bytes/span), %ld iterations\n", NSPANS, enc.len,
           (double)enc.len / NSPANS, iters);

    /* A worker's request arena sized for its typical request, so that the
     * steady state makes no malloc calls (a 64 KiB block would free and
     * re-fault pages on every reset and measure the allocator instead). */
    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 20);
    ocl_traces_req_t out;
    const char *err;
    /* warm-up, and sanity */
    if (ocl_otlp_pb_decode_traces(enc.p, enc.len, &a, &out, &err) != 0 ||
        ocl_otlp_traces_count(&out) != NSPANS) {
        fprintf(stderr, "decode failed: %s\n", err ? err : "?");
        return 1;
    }
    size_t arena_bytes = a.total;
    double t0 = now();
    for (long i = 0; i < iters; i++) {
        ocl_arena_reset(&a);
        if (ocl_otlp_pb_decode_traces(enc.p, enc.len, &a, &out, &err) != 0) return 1;
    }
    report("decode", now() - t0, iters, enc.len);
    printf("%-28s %zu bytes of arena per request (%.0f per span)\n", "", arena_bytes,
           (double)arena_bytes / NSPANS);

    ocl_buf_t b;
    ocl_buf_init(&b);
    t0 = now();
    for (long i = 0; i < iters; i++) {
        b.len = 0;
        ocl_otlp_pb_encode_traces(&out, &b);
    }
    report("encode (decoded, raw copy)", now() - t0, iters, enc.len);

    t0 = now();
    for (long i = 0; i < iters; i++) {
        b.len = 0;
        ocl_otlp_pb_encode_traces(&req, &b);
    }
    report("encode (built, canonical)", now() - t0, iters, enc.len);
    if (b.len != enc.len || memcmp(b.p, enc.p, b.len) != 0) {
        fprintf(stderr, "encode mismatch\n");
        return 1;
    }
    ocl_buf_dispose(&b);
    ocl_buf_dispose(&enc);
    ocl_arena_dispose(&a);
    return 0;
}
