/*
 * gen.c — `ocelot gen`: a telemetry load generator. Builds synthetic
 * traces, metrics and logs (synth.c), encodes them as OTLP protobuf or
 * OTLP/JSON, and sends them over OTLP/HTTP with libcurl's multi interface (one
 * easy handle per in-flight request, reused for the whole run so that
 * HTTP/1.1 connections stay alive) or over OTLP/gRPC with h2client.c (the
 * in-flight requests are streams multiplexed over a few HTTP/2 connections
 * with prior knowledge, as a gRPC channel does).
 *
 * Outcome of a request: acknowledged iff HTTP 2xx (OTLP/HTTP), or HTTP 200
 * with grpc-status 0 (gRPC, read from the trailers). HTTP 429/503 and gRPC
 * UNAVAILABLE are "throttled" (retried after Retry-After or 100 ms with
 * --retry); everything else, transport errors included, is "failed". A dead
 * server is not fatal: failures are counted and the run goes on until its
 * end, so that a crash test can restart the server underneath.
 *
 * Invariant for --ack-log: the trace ids of an acknowledged traces request
 * are written and flushed before the acknowledgement is counted and before
 * the slot that carried it sends anything else.
 *
 * Workload: up to tens of thousands of requests per second from one thread;
 * with --pregen the bodies are built up front so that generation and
 * encoding cost do not limit the send rate.
 */
#include "cli/cli.h"
#include "cli/h2client.h"
#include "cli/synth.h"
#include "core/time.h"
#include "wire/otlp.h"
#include "wire/remote_write.h"

#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

enum { PROTO_HTTP_PB, PROTO_HTTP_JSON, PROTO_GRPC };
/* Prometheus remote-write is a fourth "signal" next to the OTLP ones. */
#define SIG_PROM OCL_SIGNAL_COUNT
#define N_SIG (OCL_SIGNAL_COUNT + 1)
static const char *const proto_names[] = {"http/protobuf", "http/json", "grpc"};

#define MAX_CONCURRENCY 1024
#define MAX_BATCH 1000000

typedef struct {
    const char *endpoint;            /* base URL, no trailing slash */
    int proto;                       /* PROTO_* */
    unsigned signals;                /* bit per ocl_signal_t */
    uint32_t batch;                  /* records per request */
    uint32_t concurrency;            /* in-flight requests */
    double rate;                     /* requests/s overall, 0 = unlimited */
    double duration;                 /* seconds; <= 0 = unbounded */
    uint64_t max_requests;           /* 0 = unbounded */
    bool gzip;                       /* compress bodies */
    bool retry;                      /* retry throttled requests */
    uint64_t seed;                   /* synth seed */
    uint32_t pregen;                 /* bodies pre-encoded per signal, 0 = fresh */
    const char *ack_log;             /* file of acknowledged trace ids, or NULL */
    long timeout_ms;                 /* per request */
    struct curl_slist *user_headers; /* --header, as "K: V" */
    bool prom;                       /* --signals prom-rw: remote-write mode */
    bool protocol_set;               /* --protocol given (not allowed with prom-rw) */
    uint32_t series;                 /* prom-rw: series (hosts x 120) */
    uint64_t steps;                  /* prom-rw: scrape steps to send */
    int64_t interval_ms;             /* prom-rw: simulated scrape interval */
    bool realtime;                   /* prom-rw: send step s at start + s x interval */
    const char *job;                 /* prom-rw: job label value */
    int64_t start_ms;                /* prom-rw: time of step 0 (0 = from now and --steps) */
} opts_t;

/* One encoded request body. */
typedef struct {
    unsigned char *p; /* wire bytes (gRPC framed, gzipped if asked); owned */
    size_t len;
    uint32_t records; /* spans / data points / log records */
    uint8_t *tids;    /* unique trace ids, 16 bytes each (traces); owned */
    uint32_t n_tids;
    uint32_t *id_off; /* --pregen protobuf traces: offsets of trace ids in p; owned */
    uint16_t *id_idx; /* which of tids sits at each offset */
    uint32_t n_off;   /* entries in id_off / id_idx */
    uint32_t users;   /* slots sending it (or holding it for a retry) */
    uint64_t step;    /* prom-rw: scrape step of the samples */
    uint32_t first;   /* prom-rw: first series index */
    char *ack_text;   /* prom-rw with --ack-log: the lines to log on ack; owned */
    size_t ack_len;   /* bytes in ack_text */
} body_t;

typedef struct {
    CURL *h;             /* reused easy handle (HTTP); NULL for gRPC */
    struct gen *g;       /* owner, for the gRPC completion callback */
    bool busy;           /* a request is in flight */
    bool retry_pending;  /* body must be resent at not_before */
    int sig;             /* signal of the current body */
    body_t own;          /* freshly built body (no --pregen) */
    const body_t *body;  /* body being sent: &own or a pregen body */
    uint64_t t0;         /* monotonic start of the attempt */
    uint64_t not_before; /* monotonic time before which the slot is idle */
    double retry_after;  /* seconds, -1 if none (HTTP) */
    char resp[200];      /* start of the response body (error messages) */
    size_t resp_len;
    char errbuf[CURL_ERROR_SIZE]; /* libcurl's error text */
} slot_t;

typedef struct gen {
    opts_t o;
    CURLM *multi;                            /* HTTP transport */
    ocl_h2client_t *h2;                      /* gRPC transport */
    const char *grpc_path[N_SIG]; /* per-signal gRPC method path */
    slot_t *slots;
    struct curl_slist *headers;  /* request headers, shared by all handles */
    char *url[N_SIG]; /* per-signal URL */
    ocl_synth_t *synth;
    ocl_synth_prom_t *prom;     /* prom-rw workload */
    uint64_t prom_next;         /* prom-rw: index of the next request to build */
    uint32_t prom_per_step;     /* prom-rw: requests per scrape step */
    int64_t prom_start_ms;      /* prom-rw: wall time of step 0 */
    ocl_arena_t prom_arena;     /* prom-rw: batch arena */
    ocl_arena_t arena;             /* per-body model arena */
    ocl_buf_t enc, tmp;            /* encoder output, gzip scratch */
    body_t *pre[OCL_SIGNAL_COUNT]; /* --pregen bodies */
    uint32_t pre_next[OCL_SIGNAL_COUNT];
    int sig_list[N_SIG]; /* enabled signals in order */
    int n_sig;
    FILE *ack;                               /* --ack-log */
    uint64_t started;                        /* new requests started (not retries) */
    uint64_t id_counter;                     /* renew_ids: trace ids handed out */
    uint64_t sent, acked, throttled, failed; /* completed attempts */
    uint64_t acked_records[N_SIG];
    uint32_t *lat_us; /* latency of acknowledged requests */
    size_t n_lat, cap_lat;
    char first_error[256];     /* first failure, for the summary */
    uint64_t failed_transport; /* failures without an HTTP answer */
} gen_t;

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted++;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: ocelot gen [options]\n\n"
               "Sends synthetic traces, metrics and logs of a multi-service shop to an OTLP\n"
               "endpoint and reports throughput and latency.\n\n"
               "options:\n"
               "  --endpoint URL       base URL (default http://127.0.0.1:4318, grpc: :4317)\n"
               "  --protocol P         http/protobuf (default), http/json or grpc\n"
               "  --signals LIST       comma-separated traces,metrics,logs (default traces), or\n"
               "                       prom-rw alone (alias --signal): Prometheus remote-write\n"
               "  --batch N            spans / data points / log records per request (512)\n"
               "  --concurrency N      requests in flight (4)\n"
               "  --rate R             requests per second overall, 0 = unlimited (0)\n"
               "  --duration SECONDS   run time (10; unbounded when only --requests is given)\n"
               "  --requests N         stop after N requests\n"
               "  --gzip               gzip the bodies (gRPC: grpc-encoding gzip)\n"
               "  --retry              retry throttled requests (Retry-After or 100 ms)\n"
               "  --seed N             random seed (1)\n"
               "  --pregen N           pre-encode N bodies per signal and cycle through them\n"
               "  --ack-log FILE       append the trace ids of acknowledged trace requests\n"
               "  --header K:V         extra request header (repeatable), e.g. X-Scope-OrgID:t1\n"
               "  --timeout-ms N       per-request timeout (10000)\n"
               "  --help               this text\n\n"
               "prom-rw (Prometheus remote-write 1.0, snappy protobuf, POST <endpoint>/api/v1/write,\n"
               "default endpoint http://127.0.0.1:3000): node-exporter-like hosts of 120 series\n"
               "each (CPU, network, disk counters; memory, filesystem, load gauges; four classic\n"
               "histograms), one sample per series per step; values evolve like real ones.\n"
               "By default the steps are replayed as fast as possible with timestamps from\n"
               "now - steps x interval, so that all data is recent; the run ends after the last\n"
               "step. --batch is samples per request (default 2000, like Prometheus's\n"
               "max_samples_per_send); a series is never in two requests in flight at once.\n"
               "  --series N           series (100000; hosts = N / 120, the last one partial)\n"
               "  --steps N            scrape steps to send (20; 0 = until --duration)\n"
               "  --interval-ms N      simulated scrape interval (15000)\n"
               "  --realtime           send step s at start + s x interval, timestamps from now\n"
               "  --job NAME           job label value (node)\n"
               "  --start-ms T         timestamp of step 0, ms since the epoch (default: see above);\n"
               "                       the same --seed, --series and --start-ms send the same samples\n"
               "  --ack-log FILE       append every acknowledged sample as a line\n"
               "                       '<t ms> <value %%.17g> <series as Prometheus prints it>'\n\n"
               "Exit status: 0 if no request failed (throttled is not a failure), 1 otherwise.\n");
}

/* ---- bodies ---- */

static int gzip_into(const unsigned char *in, size_t len, ocl_buf_t *out)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return OCL_ENOMEM;
    size_t bound = deflateBound(&z, len);
    unsigned char *dst = ocl_buf_reserve(out, bound);
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)len;
    z.next_out = dst;
    z.avail_out = (uInt)bound;
    int rc = deflate(&z, Z_FINISH);
    size_t produced = bound - z.avail_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) return OCL_EIO;
    out->len += produced;
    return 0;
}

static int cmp_tid(const void *a, const void *b)
{
    return memcmp(a, b, 16);
}

static void collect_tids(const ocl_traces_req_t *r, body_t *b)
{
    size_t n = ocl_otlp_traces_count(r), k = 0;
    b->tids = ocl_malloc(n ? n * 16 : 16);
    for (uint32_t i = 0; i < r->n_rs; i++)
        for (uint32_t j = 0; j < r->rs[i].n_scope_spans; j++)
            for (uint32_t s = 0; s < r->rs[i].scope_spans[j].n_spans; s++) {
                const ocl_span_t *sp = &r->rs[i].scope_spans[j].spans[s];
                if (sp->trace_id.n == 16) memcpy(b->tids + 16 * k++, sp->trace_id.p, 16);
            }
    qsort(b->tids, k, 16, cmp_tid);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (!u || memcmp(b->tids + 16 * (u - 1), b->tids + 16 * i, 16))
            memmove(b->tids + 16 * u++, b->tids + 16 * i, 16);
    b->n_tids = (uint32_t)u;
}

static void body_free(body_t *b)
{
    ocl_free(b->p);
    ocl_free(b->tids);
    ocl_free(b->id_off);
    ocl_free(b->id_idx);
    ocl_free(b->ack_text);
    memset(b, 0, sizeof(*b));
}

/* A pre-encoded body is sent many times; so that every send carries new
 * traces (as a real service's would, rather than growing the same traces
 * forever), the positions of each trace id in the protobuf bytes are found
 * once here and rewritten with fresh ids before every send. Random 16-byte
 * ids do not occur by chance elsewhere in the body. */
static void index_ids(body_t *b)
{
    size_t cap = 64, n = 0;
    b->id_off = ocl_malloc(cap * sizeof *b->id_off);
    b->id_idx = ocl_malloc(cap * sizeof *b->id_idx);
    for (uint32_t t = 0; t < b->n_tids; t++) {
        const unsigned char *p = b->p, *end = b->p + b->len, *hit;
        while (p < end && (hit = memmem(p, (size_t)(end - p), b->tids + 16 * t, 16)) != NULL) {
            if (n == cap) {
                cap *= 2;
                b->id_off = ocl_realloc(b->id_off, cap * sizeof *b->id_off);
                b->id_idx = ocl_realloc(b->id_idx, cap * sizeof *b->id_idx);
            }
            b->id_off[n] = (uint32_t)(hit - b->p);
            b->id_idx[n++] = (uint16_t)t;
            p = hit + 16;
        }
    }
    b->n_off = (uint32_t)n;
}

/* Gives every trace of a pre-encoded body a new id (see index_ids). */
static void renew_ids(gen_t *g, body_t *b)
{
    for (uint32_t t = 0; t < b->n_tids; t++) {
        uint64_t x = ++g->id_counter * 0x9E3779B97F4A7C15ull;
        x ^= x >> 31;
        memcpy(b->tids + 16 * t, &x, 8); /* keep the random low half */
    }
    for (uint32_t i = 0; i < b->n_off; i++)
        memcpy(b->p + b->id_off[i], b->tids + 16 * b->id_idx[i], 16);
}

/* Builds one body of signal `sig` into `b` (previous contents freed). */
/* prom-rw: the step and first series of request number `idx`. */
static void prom_slot_of(const gen_t *g, uint64_t idx, uint64_t *step, uint32_t *first)
{
    *step = idx / g->prom_per_step;
    *first = (uint32_t)(idx % g->prom_per_step) * g->o.batch;
}

/* prom-rw: the next request's samples as a snappy-compressed WriteRequest
 * (and, with --ack-log, their text lines). */
static int prom_build(gen_t *g, body_t *b)
{
    uint64_t step;
    uint32_t first, total = ocl_synth_prom_series(g->prom);
    prom_slot_of(g, g->prom_next++, &step, &first);
    uint32_t n = OCL_MIN(g->o.batch, total - first);
    ocl_prom_batch_t batch;
    ocl_arena_reset(&g->prom_arena);
    int rc = ocl_synth_prom_batch(g->prom, &g->prom_arena, step, first, n, &batch);
    if (rc) return rc;
    g->tmp.len = 0;
    ocl_rw_encode(&batch, &g->tmp);
    g->enc.len = 0;
    ocl_snappy_compress(g->tmp.p, g->tmp.len, &g->enc);
    b->p = ocl_malloc(g->enc.len ? g->enc.len : 1);
    memcpy(b->p, g->enc.p, g->enc.len);
    b->len = g->enc.len;
    b->records = n;
    b->step = step;
    b->first = first;
    if (g->ack) {
        ocl_buf_t t;
        ocl_buf_init(&t);
        for (size_t i = 0; i < batch.n_series; i++) {
            const ocl_prom_series_t *ps = &batch.series[i];
            char num[64];
            int k = snprintf(num, sizeof(num), "%lld %.17g ", (long long)ps->samples[0].t,
                             ps->samples[0].v);
            ocl_buf_append(&t, num, (size_t)k);
            ocl_labels_format(&ps->labels, &t);
            ocl_buf_putc(&t, '\n');
        }
        b->ack_text = (char *)t.p; /* ownership moves to the body */
        b->ack_len = t.len;
    }
    return 0;
}

static int body_build(gen_t *g, int sig, body_t *b)
{
    body_free(b);
    if (sig == SIG_PROM) return prom_build(g, b);
    ocl_arena_reset(&g->arena);
    g->enc.len = 0;
    bool json = g->o.proto == PROTO_HTTP_JSON;
    int rc;
    if (sig == OCL_SIGNAL_TRACES) {
        ocl_traces_req_t r;
        if ((rc = ocl_synth_traces(g->synth, &g->arena, g->o.batch, 0, &r))) return rc;
        if (json)
            ocl_otlp_json_encode_traces(&r, "resourceSpans", &g->enc);
        else
            ocl_otlp_pb_encode_traces(&r, &g->enc);
        b->records = (uint32_t)ocl_otlp_traces_count(&r);
        collect_tids(&r, b);
    } else if (sig == OCL_SIGNAL_METRICS) {
        ocl_metrics_req_t r;
        if ((rc = ocl_synth_metrics(g->synth, &g->arena, g->o.batch, 0, &r))) return rc;
        if (json)
            ocl_otlp_json_encode_metrics(&r, &g->enc);
        else
            ocl_otlp_pb_encode_metrics(&r, &g->enc);
        b->records = (uint32_t)ocl_otlp_metrics_count(&r);
    } else {
        ocl_logs_req_t r;
        if ((rc = ocl_synth_logs(g->synth, &g->arena, g->o.batch, 0, &r))) return rc;
        if (json)
            ocl_otlp_json_encode_logs(&r, &g->enc);
        else
            ocl_otlp_pb_encode_logs(&r, &g->enc);
        b->records = (uint32_t)ocl_otlp_logs_count(&r);
    }
    const unsigned char *msg = g->enc.p;
    size_t len = g->enc.len;
    if (g->o.gzip) {
        g->tmp.len = 0;
        if ((rc = gzip_into(g->enc.p, g->enc.len, &g->tmp))) return rc;
        msg = g->tmp.p;
        len = g->tmp.len;
    }
    size_t hdr = g->o.proto == PROTO_GRPC ? 5 : 0;
    b->p = ocl_malloc(len + hdr + 1);
    if (hdr) {
        b->p[0] = g->o.gzip ? 1 : 0; /* compressed flag */
        b->p[1] = (unsigned char)(len >> 24);
        b->p[2] = (unsigned char)(len >> 16);
        b->p[3] = (unsigned char)(len >> 8);
        b->p[4] = (unsigned char)len;
    }
    if (len) memcpy(b->p + hdr, msg, len);
    b->len = len + hdr;
    if (g->o.pregen && !g->o.gzip && !json && b->n_tids && b->n_tids <= UINT16_MAX) index_ids(b);
    return 0;
}

/* ---- libcurl callbacks ---- */

static size_t on_write(char *p, size_t sz, size_t n, void *ud)
{
    slot_t *s = ud;
    size_t len = sz * n, room = sizeof(s->resp) - 1 - s->resp_len;
    size_t k = OCL_MIN(len, room);
    memcpy(s->resp + s->resp_len, p, k);
    s->resp_len += k;
    s->resp[s->resp_len] = 0;
    return len;
}

/* Matches a "name: value" header line (name case-insensitive); sets v and vn
 * to the value without surrounding blanks and CRLF. */
static bool header_is(const char *p, size_t n, const char *name, const char **v, size_t *vn)
{
    size_t k = strlen(name);
    if (n <= k || p[k] != ':' || !ocl_str_ieq_c((ocl_str_t){p, k}, name)) return false;
    size_t i = k + 1;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    size_t e = n;
    while (e > i && (p[e - 1] == '\r' || p[e - 1] == '\n' || p[e - 1] == ' '))
        e--;
    *v = p + i;
    *vn = e - i;
    return true;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    slot_t *s = ud;
    size_t len = sz * n;
    const char *v;
    size_t vn;
    char tmp[32];
    if (len >= 5 && !memcmp(p, "HTTP/", 5)) {
        s->retry_after = -1;
    } else if (header_is(p, len, "retry-after", &v, &vn)) {
        vn = OCL_MIN(vn, sizeof(tmp) - 1);
        memcpy(tmp, v, vn);
        tmp[vn] = 0;
        char *end;
        double d = strtod(tmp, &end);
        if (end != tmp && d >= 0 && d < 3600) s->retry_after = d;
    }
    return len;
}

/* ---- sending ---- */

static int slot_setup(gen_t *g, slot_t *s)
{
    s->h = curl_easy_init();
    if (!s->h) return OCL_ENOMEM;
    CURL *h = s->h;
    curl_easy_setopt(h, CURLOPT_PRIVATE, s);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, g->headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, s->errbuf);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, g->o.timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, OCL_MIN(g->o.timeout_ms, 5000L));
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "ocelot-gen/" OCL_VERSION);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    return 0;
}

static void on_grpc_done(void *ud, const ocl_h2client_result_t *res);

static void slot_send(gen_t *g, slot_t *s, uint64_t now)
{
    s->t0 = now;
    s->busy = true;
    s->retry_pending = false;
    if (g->h2) {
        int rc = ocl_h2client_call(g->h2, g->grpc_path[s->sig], s->body->p, s->body->len,
                                   (uint32_t)g->o.timeout_ms, on_grpc_done, s);
        if (rc) { /* only for a bad argument: report it as a transport failure */
            ocl_h2client_result_t r = {.error = rc, .error_text = ocl_strerror(rc)};
            on_grpc_done(s, &r);
        }
        return;
    }
    s->retry_after = -1;
    s->resp_len = 0;
    s->resp[0] = 0;
    s->errbuf[0] = 0;
    curl_easy_setopt(s->h, CURLOPT_URL, g->url[s->sig]);
    curl_easy_setopt(s->h, CURLOPT_POSTFIELDS, (const char *)s->body->p);
    curl_easy_setopt(s->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)s->body->len);
    curl_multi_add_handle(g->multi, s->h);
}

/* Starts a new request on an idle slot. */
static int slot_start(gen_t *g, slot_t *s, uint64_t now)
{
    int sig = g->sig_list[g->started % (uint64_t)g->n_sig];
    s->sig = sig;
    if (g->o.pregen) {
        /* Next body no slot is using (responses come back out of order). */
        body_t *b = NULL;
        for (uint32_t tries = 0; tries < g->o.pregen && !b; tries++) {
            body_t *c = &g->pre[sig][g->pre_next[sig]++ % g->o.pregen];
            if (!c->users) b = c;
        }
        if (b && b->n_off) renew_ids(g, b);
        if (!b) b = &g->pre[sig][g->pre_next[sig]++ % g->o.pregen]; /* all busy: resend as is */
        b->users++;
        s->body = b;
    } else {
        int rc = body_build(g, sig, &s->own);
        if (rc) return rc;
        s->body = &s->own;
    }
    g->started++;
    slot_send(g, s, now);
    return 0;
}

static void note_error(gen_t *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note_error(gen_t *g, const char *fmt, ...)
{
    if (g->first_error[0]) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->first_error, sizeof(g->first_error), fmt, ap);
    va_end(ap);
}

static void write_ack_log(gen_t *g, const body_t *b)
{
    static const char hex[] = "0123456789abcdef";
    char line[33];
    line[32] = '\n';
    for (uint32_t i = 0; i < b->n_tids; i++) {
        const uint8_t *t = b->tids + 16 * i;
        for (int j = 0; j < 16; j++) {
            line[2 * j] = hex[t[j] >> 4];
            line[2 * j + 1] = hex[t[j] & 15];
        }
        fwrite(line, 1, sizeof(line), g->ack);
    }
    fflush(g->ack);
}

/* What one attempt got back, whatever the transport. */
typedef struct {
    const char *transport_error; /* no HTTP answer: why; else NULL */
    long code;                   /* HTTP status */
    long grpc_status;            /* gRPC: from headers/trailers, -1 if none */
    const char *grpc_msg;        /* gRPC: grpc-message, "" if none */
    double retry_after;          /* seconds, -1 if none */
} attempt_t;

/* Counts the outcome of the slot's attempt (the slot is idle afterwards). */
static void slot_finish(gen_t *g, slot_t *s, const attempt_t *a, uint64_t now)
{
    long code = a->code;
    s->busy = false;
    g->sent++;
    enum { ACK, THROTTLED, FAILED } outcome;
    if (a->transport_error) {
        outcome = FAILED;
        g->failed_transport++;
        note_error(g, "%s", a->transport_error);
        s->not_before = now + 20000000ull; /* do not spin on a dead server */
    } else if (g->o.proto == PROTO_GRPC) {
        if (code == 200 && a->grpc_status == 0)
            outcome = ACK;
        else if (a->grpc_status == 14 || code == 429 || code == 503)
            outcome = THROTTLED;
        else {
            outcome = FAILED;
            note_error(g, "HTTP %ld grpc-status %ld %s", code, a->grpc_status, a->grpc_msg);
        }
    } else {
        if (code >= 200 && code < 300)
            outcome = ACK;
        else if (code == 429 || code == 503)
            outcome = THROTTLED;
        else {
            outcome = FAILED;
            note_error(g, "HTTP %ld %s", code, s->resp);
        }
    }
    if (outcome == ACK) {
        if (g->ack && s->sig == OCL_SIGNAL_TRACES) write_ack_log(g, s->body);
        if (g->ack && s->sig == SIG_PROM && s->body->ack_len) {
            fwrite(s->body->ack_text, 1, s->body->ack_len, g->ack);
            fflush(g->ack);
        }
        g->acked++;
        g->acked_records[s->sig] += s->body->records;
        if (g->n_lat == g->cap_lat) {
            g->cap_lat = g->cap_lat ? g->cap_lat * 2 : 4096;
            g->lat_us = ocl_realloc(g->lat_us, g->cap_lat * sizeof(*g->lat_us));
        }
        uint64_t us = (now - s->t0) / 1000;
        g->lat_us[g->n_lat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
    } else if (outcome == THROTTLED) {
        g->throttled++;
        if (g->o.retry) {
            double d = a->retry_after >= 0 ? a->retry_after : 0.1;
            s->retry_pending = true;
            s->not_before = now + (uint64_t)(d * 1e9);
        }
    } else {
        g->failed++;
    }
    if (!s->retry_pending && g->o.pregen) ((body_t *)s->body)->users--;
}

static void slot_done(gen_t *g, slot_t *s, CURLcode cc, uint64_t now)
{
    attempt_t a = {.grpc_status = -1, .grpc_msg = "", .retry_after = s->retry_after};
    curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &a.code);
    curl_multi_remove_handle(g->multi, s->h);
    if (cc != CURLE_OK) a.transport_error = s->errbuf[0] ? s->errbuf : curl_easy_strerror(cc);
    slot_finish(g, s, &a, now);
}

static void on_grpc_done(void *ud, const ocl_h2client_result_t *res)
{
    slot_t *s = ud;
    attempt_t a = {.transport_error = res->error ? res->error_text : NULL,
                   .code = res->http_status,
                   .grpc_status = res->grpc_status,
                   .grpc_msg = res->grpc_message ? res->grpc_message : "",
                   .retry_after = res->retry_after};
    slot_finish(s->g, s, &a, ocl_mono_nano());
}

/* ---- options ---- */

/* "--name VALUE" or "--name=VALUE"; advances *i past the value. */
static bool opt(int argc, char **argv, int *i, const char *name, const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n)) return false;
    if (a[n] == '=') {
        *val = a + n + 1;
        return true;
    }
    if (a[n] != 0) return false;
    if (*i + 1 >= argc) {
        fprintf(stderr, "ocelot gen: %s needs a value\n", name);
        *val = NULL;
        return true;
    }
    *val = argv[++*i];
    return true;
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-') return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max) return false;
    *out = v;
    return true;
}

static bool parse_f(const char *s, double *out)
{
    char *end;
    if (!s || !*s) return false;
    double v = strtod(s, &end);
    if (*end || v < 0 || v != v) return false;
    *out = v;
    return true;
}

/* Returns 0, 1 for --help, or 2 on a usage error. */
static int parse_args(int argc, char **argv, opts_t *o)
{
    bool duration_set = false, batch_set = false, steps_set = false;
    o->endpoint = NULL;
    o->series = 100000;
    o->steps = 20;
    o->interval_ms = 15000;
    o->proto = PROTO_HTTP_PB;
    o->signals = 1u << OCL_SIGNAL_TRACES;
    o->batch = 512;
    o->concurrency = 4;
    o->duration = 10;
    o->seed = 1;
    o->timeout_ms = 10000;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        uint64_t u;
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return 1;
        if (!strcmp(a, "--gzip")) {
            o->gzip = true;
        } else if (!strcmp(a, "--retry")) {
            o->retry = true;
        } else if (opt(argc, argv, &i, "--endpoint", &v)) {
            if (!v) return 2;
            o->endpoint = v;
        } else if (opt(argc, argv, &i, "--protocol", &v)) {
            if (!v) return 2;
            int p = -1;
            for (int k = 0; k < 3; k++)
                if (!strcmp(v, proto_names[k])) p = k;
            if (p < 0) {
                fprintf(stderr, "ocelot gen: unknown protocol '%s'\n", v);
                return 2;
            }
            o->proto = p;
            o->protocol_set = true;
        } else if (opt(argc, argv, &i, "--series", &v)) {
            if (!parse_u64(v, 50000000, &u) || !u) goto bad;
            o->series = (uint32_t)u;
        } else if (opt(argc, argv, &i, "--steps", &v)) {
            if (!parse_u64(v, UINT32_MAX, &u)) goto bad;
            o->steps = u;
            steps_set = true;
        } else if (opt(argc, argv, &i, "--interval-ms", &v)) {
            if (!parse_u64(v, 86400000, &u) || !u) goto bad;
            o->interval_ms = (int64_t)u;
        } else if (opt(argc, argv, &i, "--start-ms", &v)) {
            if (!parse_u64(v, INT64_MAX, &u) || !u) goto bad;
            o->start_ms = (int64_t)u;
        } else if (!strcmp(a, "--realtime")) {
            o->realtime = true;
        } else if (opt(argc, argv, &i, "--job", &v)) {
            if (!v || !*v || strlen(v) > 60) goto bad;
            o->job = v;
        } else if (opt(argc, argv, &i, "--signals", &v) || opt(argc, argv, &i, "--signal", &v)) {
            if (!v) return 2;
            o->signals = 0;
            o->prom = false;
            const char *p = v;
            while (*p) {
                size_t n = strcspn(p, ",");
                int found = -1;
                if (n == 7 && !strncmp(p, "prom-rw", 7)) found = SIG_PROM;
                for (int k = 0; k < OCL_SIGNAL_COUNT; k++)
                    if (strlen(ocl_signal_names[k]) == n && !strncmp(p, ocl_signal_names[k], n))
                        found = k;
                if (found < 0) {
                    fprintf(stderr, "ocelot gen: unknown signal '%.*s'\n", (int)n, p);
                    return 2;
                }
                o->signals |= 1u << found;
                p += n;
                if (*p == ',') p++;
            }
            if (!o->signals) return 2;
            if (o->signals & (1u << SIG_PROM)) {
                if (o->signals != (1u << SIG_PROM)) {
                    fprintf(stderr, "ocelot gen: prom-rw cannot be combined with OTLP signals\n");
                    return 2;
                }
                o->prom = true;
            }
        } else if (opt(argc, argv, &i, "--batch", &v)) {
            if (!parse_u64(v, MAX_BATCH, &u) || !u) goto bad;
            o->batch = (uint32_t)u;
            batch_set = true;
        } else if (opt(argc, argv, &i, "--concurrency", &v)) {
            if (!parse_u64(v, MAX_CONCURRENCY, &u) || !u) goto bad;
            o->concurrency = (uint32_t)u;
        } else if (opt(argc, argv, &i, "--rate", &v)) {
            if (!parse_f(v, &o->rate)) goto bad;
        } else if (opt(argc, argv, &i, "--duration", &v)) {
            if (!parse_f(v, &o->duration)) goto bad;
            duration_set = true;
        } else if (opt(argc, argv, &i, "--requests", &v)) {
            if (!parse_u64(v, UINT64_MAX, &u)) goto bad;
            o->max_requests = u;
        } else if (opt(argc, argv, &i, "--seed", &v)) {
            if (!parse_u64(v, UINT64_MAX, &u)) goto bad;
            o->seed = u;
        } else if (opt(argc, argv, &i, "--pregen", &v)) {
            if (!parse_u64(v, 100000, &u)) goto bad;
            o->pregen = (uint32_t)u;
        } else if (opt(argc, argv, &i, "--ack-log", &v)) {
            if (!v) return 2;
            o->ack_log = v;
        } else if (opt(argc, argv, &i, "--timeout-ms", &v)) {
            if (!parse_u64(v, 3600000, &u) || !u) goto bad;
            o->timeout_ms = (long)u;
        } else if (opt(argc, argv, &i, "--header", &v)) {
            if (!v) return 2;
            const char *c = strchr(v, ':');
            if (!c || c == v) {
                fprintf(stderr, "ocelot gen: --header wants K:V, got '%s'\n", v);
                return 2;
            }
            char line[1024];
            const char *val = c + 1;
            while (*val == ' ')
                val++;
            snprintf(line, sizeof(line), "%.*s: %s", (int)(c - v), v, val);
            o->user_headers = curl_slist_append(o->user_headers, line);
        } else {
            fprintf(stderr, "ocelot gen: unknown option '%s'\n", a);
            return 2;
        }
        continue;
    bad:
        fprintf(stderr, "ocelot gen: bad value for %s\n", a);
        return 2;
    }
    if (o->max_requests && !duration_set) o->duration = 0; /* only --requests bounds the run */
    if (o->prom) {
        if (o->protocol_set && o->proto != PROTO_HTTP_PB) {
            fprintf(stderr, "ocelot gen: prom-rw is sent over HTTP only\n");
            return 2;
        }
        if (o->pregen || o->gzip) {
            fprintf(stderr, "ocelot gen: --pregen and --gzip do not apply to prom-rw\n");
            return 2;
        }
        if (!batch_set) o->batch = 2000;
        if (!steps_set && o->realtime) o->steps = 0;
        if (!o->steps && (!o->realtime || (!duration_set && !o->max_requests))) {
            fprintf(stderr, "ocelot gen: --steps 0 needs --realtime and --duration or --requests\n");
            return 2;
        }
        if (!duration_set) o->duration = 0; /* the steps bound the run */
        if (!o->endpoint) o->endpoint = "http://127.0.0.1:3000";
    }
    if (!o->endpoint)
        o->endpoint = o->proto == PROTO_GRPC ? "http://127.0.0.1:4317" : "http://127.0.0.1:4318";
    return 0;
}

/* ---- summary ---- */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(const uint32_t *v, size_t n, double p)
{
    if (!n) return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i] / 1000.0;
}

static void summary(gen_t *g, double elapsed)
{
    if (g->n_lat) qsort(g->lat_us, g->n_lat, sizeof(*g->lat_us), cmp_u32);
    double p50 = pct_ms(g->lat_us, g->n_lat, 0.50), p99 = pct_ms(g->lat_us, g->n_lat, 0.99);
    uint64_t recs = 0;
    for (int k = 0; k < N_SIG; k++)
        recs += g->acked_records[k];
    double el = elapsed > 0 ? elapsed : 1e-9;
    printf("ocelot gen: %s %s, batch %u, concurrency %u%s\n",
           g->prom ? "prometheus/remote-write" : proto_names[g->o.proto],
           g->o.endpoint, g->o.batch, g->o.concurrency, g->o.gzip ? ", gzip" : "");
    printf("requests: sent %llu, acknowledged %llu, throttled %llu, failed %llu\n",
           (unsigned long long)g->sent, (unsigned long long)g->acked,
           (unsigned long long)g->throttled, (unsigned long long)g->failed);
    if (g->prom)
        printf("acknowledged: %llu Prometheus samples (%u series, %llu of %llu requests of %llu "
               "steps)\n",
               (unsigned long long)g->acked_records[SIG_PROM], ocl_synth_prom_series(g->prom),
               (unsigned long long)g->acked, (unsigned long long)g->o.max_requests,
               (unsigned long long)g->o.steps);
    else
        printf("acknowledged: %llu spans, %llu data points, %llu log records\n",
               (unsigned long long)g->acked_records[OCL_SIGNAL_TRACES],
               (unsigned long long)g->acked_records[OCL_SIGNAL_METRICS],
               (unsigned long long)g->acked_records[OCL_SIGNAL_LOGS]);
    printf("elapsed: %.3f s, records/s: %.1f (spans/s %.1f, points/s %.1f, logs/s %.1f)\n", elapsed,
           (double)recs / el, (double)g->acked_records[OCL_SIGNAL_TRACES] / el,
           (double)g->acked_records[OCL_SIGNAL_METRICS] / el,
           (double)g->acked_records[OCL_SIGNAL_LOGS] / el);
    printf("latency (acknowledged requests): p50 %.3f ms, p99 %.3f ms\n", p50, p99);
    if (g->first_error[0])
        printf("first failure: %s (%llu without an HTTP answer)\n", g->first_error,
               (unsigned long long)g->failed_transport);
    /* one machine-readable line for scripts */
    printf("result: sent=%llu acked=%llu throttled=%llu failed=%llu spans=%llu points=%llu "
           "logs=%llu elapsed_s=%.3f records_per_s=%.1f spans_per_s=%.1f p50_ms=%.3f "
           "p99_ms=%.3f samples=%llu samples_per_s=%.1f\n",
           (unsigned long long)g->sent, (unsigned long long)g->acked,
           (unsigned long long)g->throttled, (unsigned long long)g->failed,
           (unsigned long long)g->acked_records[OCL_SIGNAL_TRACES],
           (unsigned long long)g->acked_records[OCL_SIGNAL_METRICS],
           (unsigned long long)g->acked_records[OCL_SIGNAL_LOGS], elapsed, (double)recs / el,
           (double)g->acked_records[OCL_SIGNAL_TRACES] / el, p50, p99,
           (unsigned long long)g->acked_records[SIG_PROM],
           (double)g->acked_records[SIG_PROM] / el);
    fflush(stdout);
}

/* ---- main loop ---- */

/* prom-rw: whether the next request may start now. It may not while a
 * request of an earlier step with the same series is in flight or waiting
 * for a retry (samples of a series must arrive in time order), nor, with
 * --realtime, before its step is due. */
static bool prom_ready(gen_t *g, uint64_t t_start, uint64_t now, uint64_t *wake)
{
    uint64_t step;
    uint32_t first;
    prom_slot_of(g, g->prom_next, &step, &first);
    if (g->o.realtime) {
        uint64_t due = t_start + step * (uint64_t)g->o.interval_ms * 1000000ull;
        if (now < due) {
            if (due < *wake) *wake = due;
            return false;
        }
    }
    for (uint32_t i = 0; i < g->o.concurrency; i++) {
        const slot_t *s = &g->slots[i];
        if ((s->busy || s->retry_pending) && s->body && s->body->first == first &&
            s->body->step != step)
            return false;
    }
    return true;
}

static int run(gen_t *g)
{
    const opts_t *o = &g->o;
    uint64_t t_start = ocl_mono_nano();
    uint64_t deadline = o->duration > 0 ? t_start + (uint64_t)(o->duration * 1e9) : UINT64_MAX;
    double interval = o->rate > 0 ? 1e9 / o->rate : 0;
    uint64_t drain_deadline = 0; /* bound on waiting for in-flight requests */
    uint64_t int_deadline = 0;   /* shorter bound once interrupted */
    for (;;) {
        uint64_t now = ocl_mono_nano();
        bool hard_stop = interrupted || now >= deadline; /* retries dropped too */
        bool stop_new = hard_stop || (o->max_requests && g->started >= o->max_requests);
        uint32_t inflight = 0, retrying = 0;
        uint64_t wake = now + 100000000ull; /* at most 100 ms asleep */
        if (stop_new && !drain_deadline)
            drain_deadline = now + ((uint64_t)o->timeout_ms + 1000ull) * 1000000ull;
        if (interrupted && !int_deadline) /* interrupted: do not linger */
            int_deadline = now + OCL_MIN((uint64_t)o->timeout_ms, 2000ull) * 1000000ull;
        for (uint32_t i = 0; i < o->concurrency; i++) {
            slot_t *s = &g->slots[i];
            if (s->busy) {
                inflight++;
                continue;
            }
            if (s->retry_pending) {
                if (hard_stop) {
                    s->retry_pending = false;
                } else if (now >= s->not_before) {
                    slot_send(g, s, now);
                    inflight++;
                } else {
                    retrying++;
                    if (s->not_before < wake) wake = s->not_before;
                }
                continue;
            }
            if (stop_new) continue;
            if (now < s->not_before) {
                if (s->not_before < wake) wake = s->not_before;
                continue;
            }
            if (interval > 0) {
                uint64_t due = t_start + (uint64_t)((double)g->started * interval);
                if (now < due) {
                    if (due < wake) wake = due;
                    continue;
                }
            }
            if (o->max_requests && g->started >= o->max_requests) continue;
            if (g->prom && !prom_ready(g, t_start, now, &wake)) continue;
            int rc = slot_start(g, s, now);
            if (rc) {
                fprintf(stderr, "ocelot gen: cannot build a request: %s\n", ocl_strerror(rc));
                return rc;
            }
            inflight++;
        }
        if (stop_new && !inflight && !retrying) break;
        if (stop_new &&
            (interrupted > 1 || now >= drain_deadline || (int_deadline && now >= int_deadline)))
            break;
        bool any = false;
        if (g->h2) {
            any = ocl_h2client_poll(g->h2, 0) > 0; /* sends, reads, completes */
        } else {
            int running = 0;
            curl_multi_perform(g->multi, &running);
            CURLMsg *m;
            int left;
            while ((m = curl_multi_info_read(g->multi, &left))) {
                if (m->msg != CURLMSG_DONE) continue;
                slot_t *s = NULL;
                curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
                slot_done(g, s, m->data.result, ocl_mono_nano());
                any = true;
            }
        }
        if (any) continue; /* refill slots before sleeping */
        now = ocl_mono_nano();
        if (!hard_stop && deadline < wake) wake = deadline;
        int ms = wake > now ? (int)((wake - now + 999999) / 1000000) : 0;
        if (g->h2)
            ocl_h2client_poll(g->h2, ms); /* completions are counted inside */
        else
            curl_multi_poll(g->multi, NULL, 0, ms, NULL);
    }
    return 0;
}

static void join_url(char **dst, const char *base, const char *path)
{
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    size_t m = strlen(path);
    *dst = ocl_malloc(n + m + 1);
    memcpy(*dst, base, n);
    memcpy(*dst + n, path, m + 1);
}

int ocl_cmd_gen(int argc, char **argv)
{
    gen_t g;
    memset(&g, 0, sizeof(g));
    int ret = 1;
    int pa = parse_args(argc, argv, &g.o);
    if (pa == 1) {
        usage(stdout);
        curl_slist_free_all(g.o.user_headers);
        return 0;
    }
    if (pa) {
        usage(stderr);
        curl_slist_free_all(g.o.user_headers);
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "ocelot gen: libcurl initialisation failed\n");
        curl_slist_free_all(g.o.user_headers);
        return 1;
    }
    const opts_t *o = &g.o;
    static const char *const http_paths[] = {"/v1/traces", "/v1/metrics", "/v1/logs"};
    static const char *const grpc_paths[] = {
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
        "/opentelemetry.proto.collector.logs.v1.LogsService/Export"};
    for (int k = 0; k < OCL_SIGNAL_COUNT; k++) {
        if (o->proto == PROTO_GRPC)
            g.grpc_path[k] = grpc_paths[k];
        else
            join_url(&g.url[k], o->endpoint, http_paths[k]);
        if (o->signals & (1u << k)) g.sig_list[g.n_sig++] = k;
    }
    if (o->prom) {
        join_url(&g.url[SIG_PROM], o->endpoint, "/api/v1/write");
        g.sig_list[g.n_sig++] = SIG_PROM;
        g.prom_per_step = (o->series + o->batch - 1) / o->batch;
        int64_t now_ms = (int64_t)(ocl_now_unix_nano() / 1000000ull);
        /* replay: every timestamp (step offsets < 1 interval) lies in the past */
        g.prom_start_ms = o->start_ms         ? o->start_ms
                          : o->realtime ? now_ms
                                        : now_ms - (int64_t)(o->steps + 1) * o->interval_ms;
        ocl_synth_prom_cfg_t pc = {.series = o->series,
                                   .seed = o->seed,
                                   .start_ms = g.prom_start_ms,
                                   .interval_ms = o->interval_ms,
                                   .job = o->job};
        g.prom = ocl_synth_prom_create(&pc);
        ocl_arena_init(&g.prom_arena, 256 * 1024);
        uint64_t total = (uint64_t)g.prom_per_step * o->steps;
        if (total && (!g.o.max_requests || g.o.max_requests > total)) g.o.max_requests = total;
    }
    if (o->proto == PROTO_GRPC) {
        /* gRPC: our own HTTP/2 client, streams multiplexed over
         * ceil(concurrency / 100) connections (more if the server allows
         * fewer concurrent streams) */
        ocl_header_t hv[64];
        size_t nh = 0;
        hv[nh++] = (ocl_header_t){"user-agent", 10, "ocelot-gen/" OCL_VERSION,
                                  strlen("ocelot-gen/" OCL_VERSION)};
        if (o->gzip) hv[nh++] = (ocl_header_t){"grpc-encoding", 13, "gzip", 4};
        for (struct curl_slist *h = o->user_headers; h && nh < OCL_ARRAY_LEN(hv); h = h->next) {
            const char *c = strchr(h->data, ':'), *v = c + 1; /* "K: V" (parse_args) */
            while (*v == ' ')
                v++;
            hv[nh++] = (ocl_header_t){h->data, (size_t)(c - h->data), v, strlen(v)};
        }
        ocl_h2client_cfg_t hc = {.endpoint = o->endpoint,
                                 .max_connections = o->concurrency,
                                 .streams_per_connection = 100,
                                 .headers = hv,
                                 .n_headers = nh};
        const char *err = NULL;
        g.h2 = ocl_h2client_create(&hc, &err);
        if (!g.h2) {
            fprintf(stderr, "ocelot gen: %s: %s\n", o->endpoint, err ? err : "bad endpoint");
            goto done;
        }
    } else if (o->prom) {
        g.headers = curl_slist_append(g.headers, "Content-Type: application/x-protobuf");
        g.headers = curl_slist_append(g.headers, "Content-Encoding: snappy");
        g.headers = curl_slist_append(g.headers, "X-Prometheus-Remote-Write-Version: 0.1.0");
        g.headers = curl_slist_append(g.headers, "Expect:");
        for (struct curl_slist *h = o->user_headers; h; h = h->next)
            g.headers = curl_slist_append(g.headers, h->data);
    } else {
        g.headers = curl_slist_append(g.headers, o->proto == PROTO_HTTP_JSON
                                                     ? "Content-Type: application/json"
                                                     : "Content-Type: application/x-protobuf");
        if (o->gzip) g.headers = curl_slist_append(g.headers, "Content-Encoding: gzip");
        g.headers = curl_slist_append(g.headers, "Expect:");
        for (struct curl_slist *h = o->user_headers; h; h = h->next)
            g.headers = curl_slist_append(g.headers, h->data);
    }
    g.synth = ocl_synth_create(o->seed, 0);
    ocl_arena_init(&g.arena, 256 * 1024);
    if (o->ack_log) {
        g.ack = fopen(o->ack_log, "a");
        if (!g.ack) {
            fprintf(stderr, "ocelot gen: cannot open %s: %s\n", o->ack_log, strerror(errno));
            goto done;
        }
    }
    if (o->pregen) {
        for (int j = 0; j < g.n_sig; j++) {
            int k = g.sig_list[j];
            g.pre[k] = ocl_calloc(o->pregen, sizeof(body_t));
            for (uint32_t i = 0; i < o->pregen; i++) {
                int rc = body_build(&g, k, &g.pre[k][i]);
                if (rc) {
                    fprintf(stderr, "ocelot gen: cannot build a request: %s\n", ocl_strerror(rc));
                    goto done;
                }
            }
        }
    }
    g.slots = ocl_calloc(o->concurrency, sizeof(slot_t));
    for (uint32_t i = 0; i < o->concurrency; i++)
        g.slots[i].g = &g;
    if (!g.h2) {
        g.multi = curl_multi_init();
        curl_multi_setopt(g.multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)o->concurrency);
        curl_multi_setopt(g.multi, CURLMOPT_MAXCONNECTS, (long)o->concurrency + 4);
        for (uint32_t i = 0; i < o->concurrency; i++)
            if (slot_setup(&g, &g.slots[i])) {
                fprintf(stderr, "ocelot gen: libcurl handle allocation failed\n");
                goto done;
            }
    }

    struct sigaction sa, old_int, old_term, old_pipe;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, &old_pipe);
    interrupted = 0;

    uint64_t t0 = ocl_mono_nano();
    int rc = run(&g);
    double elapsed = (double)(ocl_mono_nano() - t0) / 1e9;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGPIPE, &old_pipe, NULL);
    summary(&g, elapsed);
    ret = rc || g.failed ? 1 : 0;

done:
    ocl_h2client_destroy(g.h2); /* in-flight calls dropped: bodies unreferenced after this */
    if (g.slots) {
        for (uint32_t i = 0; i < o->concurrency; i++) {
            slot_t *s = &g.slots[i];
            if (s->h) {
                if (s->busy) curl_multi_remove_handle(g.multi, s->h);
                curl_easy_cleanup(s->h);
            }
            body_free(&s->own);
        }
        ocl_free(g.slots);
    }
    if (g.multi) curl_multi_cleanup(g.multi);
    for (int k = 0; k < N_SIG; k++) {
        if (k < OCL_SIGNAL_COUNT && g.pre[k]) {
            for (uint32_t i = 0; i < o->pregen; i++)
                body_free(&g.pre[k][i]);
            ocl_free(g.pre[k]);
        }
        ocl_free(g.url[k]);
    }
    if (g.ack) fclose(g.ack);
    ocl_free(g.lat_us);
    ocl_buf_dispose(&g.enc);
    ocl_buf_dispose(&g.tmp);
    ocl_arena_dispose(&g.arena);
    ocl_synth_destroy(g.synth);
    ocl_synth_prom_destroy(g.prom);
    if (g.prom) ocl_arena_dispose(&g.prom_arena);
    curl_slist_free_all(g.headers);
    curl_slist_free_all(g.o.user_headers);
    curl_global_cleanup();
    return ret;
}
