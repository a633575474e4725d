/*
 * otlp.c — OTLP/HTTP and OTLP/gRPC receivers (see otlp.h).
 *
 * Per request: (inflate) → decode into a thread-local arena → for JSON,
 * re-encode to protobuf and decode that (the WAL and the trace store keep
 * protobuf bytes only) → ingest → respond. Thread-local arenas and buffers
 * are reused across requests, so after warm-up a request allocates nothing
 * on the heap in this file.
 */
#include "receiver/otlp.h"

#include "api/selfmetrics.h"
#include "core/time.h"
#include "wire/gzip.h"
#include "wire/json_writer.h"
#include "wire/pb.h"

#include <malloc.h>
#include <pthread.h>
#include <stdio.h>

#define DEFAULT_MAX_BODY (20u << 20)

/* Per-thread scratch, reused by every request on a worker thread; freed
 * by a pthread key destructor when the worker exits. */
typedef struct {
    ocl_arena_t arena;      /* decoded model */
    ocl_arena_t json_arena; /* model decoded from JSON, before re-encoding */
    ocl_buf_t inflated;     /* decompressed body */
    ocl_buf_t pb;           /* JSON re-encoded as protobuf */
    ocl_buf_t resp;         /* response body */
    int ready;              /* initialised */
} scratch_t;

static __thread scratch_t tls;
static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;

static void scratch_dispose(void *p)
{
    scratch_t *sc = p;
    ocl_arena_dispose(&sc->arena);
    ocl_arena_dispose(&sc->json_arena);
    ocl_buf_dispose(&sc->inflated);
    ocl_buf_dispose(&sc->pb);
    ocl_buf_dispose(&sc->resp);
    sc->ready = 0;
}

static void tls_key_init(void)
{
    pthread_key_create(&tls_key, scratch_dispose);
}

static scratch_t *scratch(void)
{
    if (!tls.ready) {
        /* 1 MiB blocks: a 512-span request decodes into ~400 KB, so the
         * first block is reused and never freed between requests. */
        ocl_arena_init(&tls.arena, 1 << 20);
        ocl_arena_init(&tls.json_arena, 1 << 20);
        ocl_buf_init(&tls.inflated);
        ocl_buf_init(&tls.pb);
        ocl_buf_init(&tls.resp);
        tls.ready = 1;
        pthread_once(&tls_once, tls_key_init);
        pthread_setspecific(tls_key, &tls);
    }
    ocl_arena_reset(&tls.arena);
    ocl_arena_reset(&tls.json_arena);
    tls.inflated.len = tls.pb.len = tls.resp.len = 0;
    /* Don't keep a huge buffer from one big request forever. */
    if (tls.inflated.cap > (8u << 20)) ocl_buf_dispose(&tls.inflated);
    if (tls.pb.cap > (8u << 20)) ocl_buf_dispose(&tls.pb);
    return &tls;
}

typedef enum {
    OUT_OK,
    OUT_INVALID,
    OUT_TOO_LARGE,
    OUT_BUSY,
    OUT_STORAGE,
} outcome_kind_t;

typedef struct {
    outcome_kind_t kind; /* what happened */
    const char *msg;     /* static message for errors / partial success */
    int64_t accepted;    /* records accepted */
    int64_t rejected;    /* records rejected (partial success) */
} outcome_t;

typedef union {
    ocl_traces_req_t traces;
    ocl_metrics_req_t metrics;
    ocl_logs_req_t logs;
} any_req_t;

static int decode(ocl_signal_t sig, int json, const void *p, size_t n, ocl_arena_t *a, any_req_t *r,
                  const char **err)
{
    switch (sig) {
    case OCL_SIGNAL_TRACES:
        return json ? ocl_otlp_json_decode_traces(p, n, a, &r->traces, err)
                    : ocl_otlp_pb_decode_traces(p, n, a, &r->traces, err);
    case OCL_SIGNAL_METRICS:
        return json ? ocl_otlp_json_decode_metrics(p, n, a, &r->metrics, err)
                    : ocl_otlp_pb_decode_metrics(p, n, a, &r->metrics, err);
    case OCL_SIGNAL_LOGS:
        return json ? ocl_otlp_json_decode_logs(p, n, a, &r->logs, err)
                    : ocl_otlp_pb_decode_logs(p, n, a, &r->logs, err);
    }
    return OCL_EINVAL;
}

static size_t count(ocl_signal_t sig, const any_req_t *r)
{
    switch (sig) {
    case OCL_SIGNAL_TRACES:
        return ocl_otlp_traces_count(&r->traces);
    case OCL_SIGNAL_METRICS:
        return ocl_otlp_metrics_count(&r->metrics);
    case OCL_SIGNAL_LOGS:
        return ocl_otlp_logs_count(&r->logs);
    }
    return 0;
}

static void encode_pb(ocl_signal_t sig, const any_req_t *r, ocl_buf_t *out)
{
    switch (sig) {
    case OCL_SIGNAL_TRACES:
        ocl_otlp_pb_encode_traces(&r->traces, out);
        break;
    case OCL_SIGNAL_METRICS:
        ocl_otlp_pb_encode_metrics(&r->metrics, out);
        break;
    case OCL_SIGNAL_LOGS:
        ocl_otlp_pb_encode_logs(&r->logs, out);
        break;
    }
}

static const char *decode_error(int rc, const char *err)
{
    if (err) return err;
    switch (rc) {
    case OCL_EDEPTH:
        return "AnyValue nesting too deep";
    case OCL_EUTF8:
        return "invalid UTF-8 in a string field";
    default:
        return "malformed request";
    }
}

/* The shared core of both transports: body (uncompressed) → outcome. */
static void process(ocl_otlp_receiver_t *rcv, scratch_t *sc, ocl_signal_t sig, int json,
                    const unsigned char *body, size_t len, ocl_str_t tenant, outcome_t *o)
{
    any_req_t req;
    const char *err = NULL;
    memset(o, 0, sizeof *o);
    if (ocl_ingest_admit(rcv->ingest, sig) != 0) {
        o->kind = OUT_BUSY;
        o->msg = "server overloaded: memory limit reached, retry later";
        return;
    }
    int rc = decode(sig, json, body, len, json ? &sc->json_arena : &sc->arena, &req, &err);
    if (rc == OCL_ETOOBIG) {
        o->kind = OUT_TOO_LARGE;
        o->msg = err ? err : "request too large once decoded";
        return;
    }
    if (rc != 0) {
        o->kind = OUT_INVALID;
        o->msg = decode_error(rc, err);
        return;
    }
    const unsigned char *pb = body;
    size_t pb_len = len;
    /* Metrics are translated from the model (the WAL keeps the translation,
     * ADR 0005), so their JSON needs no protobuf round trip. */
    if (json && sig != OCL_SIGNAL_METRICS) {
        /* The WAL and stores keep protobuf: encode, then decode those bytes
         * so that the model's raw fields point at them. */
        encode_pb(sig, &req, &sc->pb);
        ocl_arena_reset(&sc->json_arena);
        pb = sc->pb.p;
        pb_len = sc->pb.len;
        err = NULL;
        rc = decode(sig, 0, pb ? (const void *)pb : "", pb_len, &sc->arena, &req, &err);
        if (rc != 0) {
            o->kind = rc == OCL_ETOOBIG ? OUT_TOO_LARGE : OUT_INVALID;
            o->msg = decode_error(rc, err);
            return;
        }
    }
    int64_t total = (int64_t)count(sig, &req);
    ocl_ingest_result_t res;
    rc = ocl_ingest_write(rcv->ingest, sig, tenant, pb ? (const void *)pb : "", pb_len, &req, &res);
    if (rc == OCL_EINVAL) {
        o->kind = OUT_INVALID;
        o->msg = res.reason ? res.reason : "invalid request";
        return;
    }
    if (rc == OCL_EBUSY) {
        o->kind = OUT_BUSY;
        o->msg = "server overloaded: memory limit reached, retry later";
        o->rejected = total;
        return;
    }
    if (rc != 0) {
        o->kind = OUT_STORAGE;
        o->msg = "write-ahead log unavailable, retry later";
        o->rejected = total;
        return;
    }
    o->kind = OUT_OK;
    o->rejected = res.rejected;
    o->accepted = total - res.rejected;
    o->msg = res.reason;
}

static void account(ocl_signal_t sig, ocl_transport_t t, const outcome_t *o, uint64_t t0)
{
    switch (o->kind) {
    case OUT_OK:
        ocl_sm_accepted(sig, t, (uint64_t)o->accepted);
        if (o->rejected) ocl_sm_refused(sig, t, OCL_REFUSE_PARTIAL, (uint64_t)o->rejected);
        break;
    case OUT_INVALID:
        ocl_sm_refused(sig, t, OCL_REFUSE_INVALID, 0);
        break;
    case OUT_TOO_LARGE:
        ocl_sm_refused(sig, t, OCL_REFUSE_TOO_LARGE, 0);
        break;
    case OUT_BUSY:
        ocl_sm_refused(sig, t, OCL_REFUSE_OVERLOADED, (uint64_t)o->rejected);
        break;
    case OUT_STORAGE:
        ocl_sm_refused(sig, t, OCL_REFUSE_STORAGE, (uint64_t)o->rejected);
        break;
    }
    ocl_sm_request(sig, t, ocl_mono_nano() - t0);
}

/* ---- OTLP/HTTP ---- */

static const char *const rejected_json_field[OCL_SIGNAL_COUNT] = {
    "rejectedSpans", "rejectedDataPoints", "rejectedLogRecords"};

static void http_error(ocl_http_req_t *req, scratch_t *sc, int json, int status, int grpc_code,
                       const char *msg)
{
    sc->resp.len = 0;
    ocl_header_t retry = {"Retry-After", 11, "1", 1};
    int retryable = status == 503 || status == 429;
    /* google.rpc.Status { int32 code = 1; string message = 2; } */
    if (json) {
        ocl_jw_t w;
        ocl_jw_init(&w, &sc->resp);
        ocl_jw_obj_begin(&w);
        ocl_jw_key(&w, "code");
        ocl_jw_int(&w, grpc_code);
        ocl_jw_key(&w, "message");
        ocl_jw_cstr(&w, msg);
        ocl_jw_obj_end(&w);
    } else {
        ocl_pb_put_int32(&sc->resp, 1, grpc_code);
        ocl_pb_put_bytes(&sc->resp, 2, msg, strlen(msg));
    }
    ocl_http_respond(req, status, json ? "application/json" : "application/x-protobuf",
                     retryable ? &retry : NULL, retryable ? 1 : 0, sc->resp.p, sc->resp.len);
}

/* Media type without parameters, compared case-insensitively. */
static int media_is(ocl_str_t ct, const char *want)
{
    size_t n = 0;
    while (n < ct.n && ct.p[n] != ';' && ct.p[n] != ' ')
        n++;
    return ocl_str_ieq_c((ocl_str_t){ct.p, n}, want);
}

static int path_signal(ocl_str_t path, ocl_signal_t *sig)
{
    /* Accept a trailing slash, as the collector does. */
    if (path.n > 1 && path.p[path.n - 1] == '/') path.n--;
    if (ocl_str_eq_c(path, "/v1/traces"))
        *sig = OCL_SIGNAL_TRACES;
    else if (ocl_str_eq_c(path, "/v1/metrics"))
        *sig = OCL_SIGNAL_METRICS;
    else if (ocl_str_eq_c(path, "/v1/logs"))
        *sig = OCL_SIGNAL_LOGS;
    else
        return 0;
    return 1;
}

void ocl_otlp_http_handle(ocl_http_req_t *req, void *ud)
{
    ocl_otlp_receiver_t *rcv = ud;
    uint64_t t0 = ocl_mono_nano();
    ocl_signal_t sig;
    if (!path_signal(req->path, &sig)) {
        const char *m =
            "404 page not found: OTLP/HTTP paths are /v1/traces, /v1/metrics, /v1/logs\n";
        ocl_http_respond(req, 404, "text/plain; charset=utf-8", NULL, 0, m, strlen(m));
        return;
    }
    if (!ocl_str_eq_c(req->method, "POST")) {
        ocl_header_t allow = {"Allow", 5, "POST", 4};
        const char *m = "405 method not allowed, supported: [POST]\n";
        ocl_http_respond(req, 405, "text/plain; charset=utf-8", &allow, 1, m, strlen(m));
        return;
    }
    scratch_t *sc = scratch();
    outcome_t o = {0};
    ocl_str_t ct = ocl_http_req_header(req, "content-type");
    int json;
    if (media_is(ct, "application/x-protobuf") || media_is(ct, "application/protobuf")) {
        json = 0;
    } else if (media_is(ct, "application/json")) {
        json = 1;
    } else {
        char m[200];
        snprintf(m, sizeof m,
                 "415 unsupported media type, supported: [application/json, "
                 "application/x-protobuf]\n");
        ocl_sm_refused(sig, OCL_TRANSPORT_HTTP, OCL_REFUSE_MEDIA_TYPE, 0);
        ocl_http_respond(req, 415, "text/plain; charset=utf-8", NULL, 0, m, strlen(m));
        return;
    }
    size_t max_body = rcv->max_body_bytes ? rcv->max_body_bytes : DEFAULT_MAX_BODY;
    const unsigned char *body = req->body;
    size_t len = req->body_len;
    ocl_str_t ce = ocl_http_req_header(req, "content-encoding");
    if (ce.n && ocl_str_ieq_c(ce, "gzip")) {
        int rc = ocl_gzip_inflate(body, len, max_body, &sc->inflated);
        if (rc == OCL_ETOOBIG) {
            o.kind = OUT_TOO_LARGE;
            account(sig, OCL_TRANSPORT_HTTP, &o, t0);
            http_error(req, sc, json, 413, OCL_GRPC_RESOURCE_EXHAUSTED,
                       "request body exceeds the limit after decompression");
            return;
        }
        if (rc != 0) {
            o.kind = OUT_INVALID;
            account(sig, OCL_TRANSPORT_HTTP, &o, t0);
            http_error(req, sc, json, 400, OCL_GRPC_INVALID_ARGUMENT, "invalid gzip body");
            return;
        }
        body = sc->inflated.p;
        len = sc->inflated.len;
    } else if (ce.n && !ocl_str_ieq_c(ce, "identity")) {
        const char *m = "415 unsupported content encoding, supported: [gzip, identity]\n";
        ocl_sm_refused(sig, OCL_TRANSPORT_HTTP, OCL_REFUSE_MEDIA_TYPE, 0);
        ocl_http_respond(req, 415, "text/plain; charset=utf-8", NULL, 0, m, strlen(m));
        return;
    } else if (len > max_body) {
        o.kind = OUT_TOO_LARGE;
        account(sig, OCL_TRANSPORT_HTTP, &o, t0);
        http_error(req, sc, json, 413, OCL_GRPC_RESOURCE_EXHAUSTED, "request body too large");
        return;
    }
    process(rcv, sc, sig, json, body ? body : (const unsigned char *)"", len,
            ocl_http_req_header(req, "x-scope-orgid"), &o);
    /* A huge request leaves its parse trees in this thread's malloc arena;
     * give the pages back instead of keeping the peak forever. */
    if (len > (8u << 20)) malloc_trim(0);
    account(sig, OCL_TRANSPORT_HTTP, &o, t0);
    switch (o.kind) {
    case OUT_OK: {
        ocl_str_t msg = o.msg ? ocl_str_c(o.msg) : OCL_STR_NULL;
        if (json)
            ocl_otlp_json_encode_response(rejected_json_field[sig], o.rejected, msg, &sc->resp);
        else
            ocl_otlp_pb_encode_response(o.rejected, msg, &sc->resp);
        ocl_http_respond(req, 200, json ? "application/json" : "application/x-protobuf", NULL, 0,
                         sc->resp.p, sc->resp.len);
        return;
    }
    case OUT_INVALID:
        http_error(req, sc, json, 400, OCL_GRPC_INVALID_ARGUMENT, o.msg);
        return;
    case OUT_TOO_LARGE:
        http_error(req, sc, json, 413, OCL_GRPC_RESOURCE_EXHAUSTED,
                   o.msg ? o.msg : "request too large");
        return;
    case OUT_BUSY:
    case OUT_STORAGE:
        http_error(req, sc, json, 503, OCL_GRPC_UNAVAILABLE, o.msg);
        return;
    }
}

/* ---- OTLP/gRPC ---- */

static int grpc_signal(ocl_str_t path, ocl_signal_t *sig)
{
    if (ocl_str_eq_c(path, "/opentelemetry.proto.collector.trace.v1.TraceService/Export"))
        *sig = OCL_SIGNAL_TRACES;
    else if (ocl_str_eq_c(path, "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"))
        *sig = OCL_SIGNAL_METRICS;
    else if (ocl_str_eq_c(path, "/opentelemetry.proto.collector.logs.v1.LogsService/Export"))
        *sig = OCL_SIGNAL_LOGS;
    else
        return 0;
    return 1;
}

void ocl_otlp_grpc_handle(ocl_grpc_call_t *call, void *ud)
{
    ocl_otlp_receiver_t *rcv = ud;
    uint64_t t0 = ocl_mono_nano();
    ocl_signal_t sig;
    if (!grpc_signal(call->path, &sig)) {
        char m[160];
        snprintf(m, sizeof m, "unknown method %.*s", (int)OCL_MIN(call->path.n, 100),
                 call->path.p ? call->path.p : "");
        ocl_grpc_respond(call, OCL_GRPC_UNIMPLEMENTED, m, NULL, 0);
        return;
    }
    scratch_t *sc = scratch();
    outcome_t o;
    process(rcv, sc, sig, 0, call->msg ? call->msg : (const unsigned char *)"", call->msg_len,
            ocl_grpc_call_header(call, "x-scope-orgid"), &o);
    account(sig, OCL_TRANSPORT_GRPC, &o, t0);
    switch (o.kind) {
    case OUT_OK:
        ocl_otlp_pb_encode_response(o.rejected, o.msg ? ocl_str_c(o.msg) : OCL_STR_NULL, &sc->resp);
        ocl_grpc_respond(call, OCL_GRPC_OK, NULL, sc->resp.p ? (void *)sc->resp.p : "",
                         sc->resp.len);
        return;
    case OUT_INVALID:
        ocl_grpc_respond(call, OCL_GRPC_INVALID_ARGUMENT, o.msg, NULL, 0);
        return;
    case OUT_TOO_LARGE:
        ocl_grpc_respond(call, OCL_GRPC_RESOURCE_EXHAUSTED, o.msg ? o.msg : "message too large",
                         NULL, 0);
        return;
    case OUT_BUSY:
    case OUT_STORAGE:
        ocl_grpc_respond(call, OCL_GRPC_UNAVAILABLE, o.msg, NULL, 0);
        return;
    }
}
