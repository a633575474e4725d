/*
 * synth.c — synthetic traces, metrics and logs of an online shop (see
 * synth.h for the model and its invariants).
 *
 * Traces are built depth first into one flat array per request: a span is
 * appended before its children, so a request that runs out of span budget
 * in the middle of a trace keeps a prefix of it in which every parent is
 * present. Each operation gets a time window [s, e] from its caller and
 * places its children sequentially inside it (win_* helpers), which keeps
 * children inside parents by construction. The flat array is then regrouped
 * per service into ResourceSpans (stable order).
 *
 * Metric series are a fixed table (service x metric x attribute set) walked
 * round-robin across calls; each full pass gets a timestamp strictly after
 * the previous pass's, so every series' timestamps increase. Cumulative
 * values are functions of the time since the generator's start, hence
 * monotonic.
 * Workload: the per-span cost is a few arena allocations and snprintf calls.
 */
#include "cli/synth.h"

#include "core/time.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- services ---- */

enum {
    SVC_FRONTEND,
    SVC_CART,
    SVC_CHECKOUT,
    SVC_PAYMENT,
    SVC_CURRENCY,
    SVC_SHIPPING,
    SVC_EMAIL,
    SVC_CATALOG,
};

typedef struct {
    const char *name;     /* service.name */
    const char *version;  /* service.version */
    const char *language; /* telemetry.sdk.language */
    const char *scope;    /* instrumentation scope name */
    uint16_t port;        /* port the service listens on */
} svc_info_t;

static const svc_info_t svcs[OCL_SYNTH_SERVICES] = {
    {"frontend", "2.4.1", "nodejs", "@opentelemetry/instrumentation-http", 8080},
    {"cart", "1.9.0", "dotnet", "OpenTelemetry.Instrumentation.AspNetCore", 7070},
    {"checkout", "3.1.2", "go",
     "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc", 5050},
    {"payment", "1.4.7", "nodejs", "@opentelemetry/instrumentation-grpc", 50051},
    {"currency", "1.2.0", "cpp", "opentelemetry-cpp", 7001},
    {"shipping", "2.0.3", "rust", "opentelemetry-otlp", 50050},
    {"email", "1.1.5", "ruby", "OpenTelemetry::Instrumentation::Sinatra", 6060},
    {"product-catalog", "2.2.0", "go",
     "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc", 3550},
};

/* Recently generated SERVER spans, for log correlation. */
#define RECENT 256

struct ocl_synth {
    uint64_t rng;                             /* splitmix64 state */
    uint64_t start_ns;                        /* start of cumulative metrics */
    char instance_id[OCL_SYNTH_SERVICES][40]; /* service.instance.id (uuid) */
    char host[OCL_SYNTH_SERVICES][32];        /* host.name */
    uint8_t prev_trace[16];                   /* previous root, link target */
    uint8_t prev_span[8];
    bool has_prev; /* prev_* is set */
    struct {
        uint8_t tid[16], sid[8]; /* ids of the span */
        uint8_t svc;             /* its service */
    } recent[RECENT];            /* ring of recent spans */
    uint32_t n_recent;           /* entries used (<= RECENT) */
    uint32_t recent_pos;         /* next slot to overwrite */
    uint32_t m_cursor;           /* next metric series */
    uint64_t m_round_t;          /* timestamp of the current pass */
    uint64_t order_seq;          /* order numbers in attributes */
};

/* ---- random numbers ---- */

static uint64_t rnd(ocl_synth_t *s)
{
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static double rndf(ocl_synth_t *s)
{
    return (double)(rnd(s) >> 11) * (1.0 / 9007199254740992.0);
}
static uint32_t rndn(ocl_synth_t *s, uint32_t n)
{
    return (uint32_t)(rndf(s) * n);
}
static uint64_t rnd_range(ocl_synth_t *s, uint64_t lo, uint64_t hi)
{
    return lo + (uint64_t)(rndf(s) * (double)(hi - lo));
}

static void rnd_id(ocl_synth_t *s, uint8_t *p, size_t n)
{
    for (;;) {
        int nonzero = 0;
        for (size_t i = 0; i < n; i += 8) {
            uint64_t r = rnd(s);
            for (size_t j = 0; j < 8 && i + j < n; j++)
                p[i + j] = (uint8_t)(r >> (8 * j));
        }
        for (size_t i = 0; i < n; i++)
            nonzero |= p[i];
        if (nonzero) return;
    }
}

/* ---- arena helpers ---- */

static ocl_str_t astr(ocl_arena_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static ocl_str_t astr(ocl_arena_t *a, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof(tmp)) n = sizeof(tmp) - 1;
    return (ocl_str_t){ocl_arena_strndup(a, tmp, (size_t)n), (size_t)n};
}

static ocl_str_t abytes(ocl_arena_t *a, const uint8_t *p, size_t n)
{
    char *d = ocl_arena_alloc(a, n);
    memcpy(d, p, n);
    return (ocl_str_t){d, n};
}

static void attrs_alloc(ocl_arena_t *a, ocl_attrs_t *at, uint32_t cap)
{
    at->v = ocl_arena_alloc(a, sizeof(ocl_kv_t) * cap);
    at->n = 0;
}
static void kv_s(ocl_attrs_t *at, const char *k, ocl_str_t v)
{
    ocl_kv_t *kv = &at->v[at->n++];
    kv->key = ocl_str_c(k);
    kv->value.type = OCL_AV_STRING;
    kv->value.u.s = v;
}
static void kv_c(ocl_attrs_t *at, const char *k, const char *v)
{
    kv_s(at, k, ocl_str_c(v));
}
static void kv_i(ocl_attrs_t *at, const char *k, int64_t v)
{
    ocl_kv_t *kv = &at->v[at->n++];
    kv->key = ocl_str_c(k);
    kv->value.type = OCL_AV_INT;
    kv->value.u.i = v;
}
static void kv_d(ocl_attrs_t *at, const char *k, double v)
{
    ocl_kv_t *kv = &at->v[at->n++];
    kv->key = ocl_str_c(k);
    kv->value.type = OCL_AV_DOUBLE;
    kv->value.u.d = v;
}
static void kv_b(ocl_attrs_t *at, const char *k, bool v)
{
    ocl_kv_t *kv = &at->v[at->n++];
    kv->key = ocl_str_c(k);
    kv->value.type = OCL_AV_BOOL;
    kv->value.u.b = v;
}

static void resource_build(ocl_synth_t *s, ocl_arena_t *a, int svc, ocl_resource_t *r)
{
    memset(r, 0, sizeof(*r));
    r->present = true;
    attrs_alloc(a, &r->attrs, 10);
    kv_c(&r->attrs, "service.name", svcs[svc].name);
    kv_c(&r->attrs, "service.namespace", "shop");
    kv_c(&r->attrs, "service.version", svcs[svc].version);
    kv_c(&r->attrs, "service.instance.id", s->instance_id[svc]);
    kv_c(&r->attrs, "host.name", s->host[svc]);
    kv_c(&r->attrs, "deployment.environment", "production");
    kv_c(&r->attrs, "telemetry.sdk.name", "opentelemetry");
    kv_c(&r->attrs, "telemetry.sdk.language", svcs[svc].language);
    kv_c(&r->attrs, "telemetry.sdk.version", "1.29.0");
}

static void scope_build(int svc, ocl_scope_t *sc)
{
    memset(sc, 0, sizeof(*sc));
    sc->present = true;
    sc->name = ocl_str_c(svcs[svc].scope);
    sc->version = OCL_STR("0.52.0");
}

/* ---- lifecycle ---- */

ocl_synth_t *ocl_synth_create(uint64_t seed, uint64_t start_unix_nano)
{
    ocl_synth_t *s = ocl_calloc(1, sizeof(*s));
    s->rng = seed ^ 0x6f63656c6f74ull; /* "ocelot" */
    s->start_ns = start_unix_nano ? start_unix_nano : ocl_now_unix_nano();
    for (int i = 0; i < OCL_SYNTH_SERVICES; i++) {
        uint8_t u[16];
        rnd_id(s, u, sizeof(u));
        snprintf(s->instance_id[i], sizeof(s->instance_id[i]),
                 "%02x%02x%02x%02x-%02x%02x-4%x%02x-a%x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
                 u[2], u[3], u[4], u[5], u[6] & 15, u[7], u[8] & 15, u[9], u[10], u[11], u[12],
                 u[13], u[14], u[15]);
        snprintf(s->host[i], sizeof(s->host[i]), "%s-%05x", svcs[i].name,
                 (unsigned)(rnd(s) & 0xfffff));
    }
    return s;
}

void ocl_synth_destroy(ocl_synth_t *s)
{
    ocl_free(s);
}

/* ==== traces ==== */

typedef struct {
    ocl_synth_t *s;    /* generator */
    ocl_arena_t *a;    /* request arena */
    ocl_span_t *spans; /* flat, depth-first: parents before children */
    uint8_t *svc;      /* service of each span */
    uint32_t n, cap;   /* spans used / budget for this request */
    ocl_str_t tid;     /* trace id of the trace being built */
    int fail_at;       /* index of the failure candidate that fails, -1 none */
    int cand;          /* failure candidates seen so far in this trace */
} tgen_t;

/* Appends a span; -1 when the budget is spent (callers then stop, so that
 * the request holds a depth-first prefix). */
static int span_new(tgen_t *g, int parent, int svc, int kind, ocl_str_t name, uint64_t s,
                    uint64_t e, uint32_t attr_cap)
{
    if (g->n >= g->cap) return -1;
    int i = (int)g->n++;
    ocl_span_t *sp = &g->spans[i];
    memset(sp, 0, sizeof(*sp));
    uint8_t id[8];
    rnd_id(g->s, id, sizeof(id));
    sp->trace_id = g->tid;
    sp->span_id = abytes(g->a, id, 8);
    if (parent >= 0) sp->parent_span_id = g->spans[parent].span_id;
    sp->name = name;
    sp->kind = kind;
    sp->start_unix_nano = s;
    sp->end_unix_nano = e;
    sp->flags = 0x100 | 0x1; /* HAS_IS_REMOTE known, sampled */
    attrs_alloc(g->a, &sp->attrs, attr_cap);
    g->svc[i] = (uint8_t)svc;
    if (kind == OCL_SPAN_KIND_SERVER) {
        ocl_synth_t *sy = g->s;
        uint32_t r = sy->recent_pos;
        memcpy(sy->recent[r].tid, g->tid.p, 16);
        memcpy(sy->recent[r].sid, id, 8);
        sy->recent[r].svc = (uint8_t)svc;
        sy->recent_pos = (r + 1) % RECENT;
        if (sy->n_recent < RECENT) sy->n_recent++;
    }
    return i;
}

static void span_error(tgen_t *g, int i, const char *msg)
{
    if (i < 0) return;
    ocl_span_t *sp = &g->spans[i];
    sp->has_status = true;
    sp->status_code = 2;
    sp->status_message = msg ? ocl_str_c(msg) : OCL_STR_NULL;
}

static void span_exception(tgen_t *g, int i, const char *type, const char *msg, const char *stack)
{
    if (i < 0) return;
    ocl_span_t *sp = &g->spans[i];
    ocl_span_event_t *ev = ocl_arena_alloc(g->a, sizeof(*ev));
    memset(ev, 0, sizeof(*ev));
    ev->time_unix_nano = sp->end_unix_nano - (sp->end_unix_nano - sp->start_unix_nano) / 10;
    ev->name = OCL_STR("exception");
    attrs_alloc(g->a, &ev->attrs, 4);
    kv_c(&ev->attrs, "exception.type", type);
    kv_c(&ev->attrs, "exception.message", msg);
    kv_c(&ev->attrs, "exception.stacktrace", stack);
    kv_b(&ev->attrs, "exception.escaped", false);
    sp->events = ev;
    sp->n_events = 1;
    span_error(g, i, msg);
}

/* Is this failure candidate the one that fails in this trace? */
static bool should_fail(tgen_t *g)
{
    return g->cand++ == g->fail_at;
}

/* Sequential placement of k children inside [s, e]. */
typedef struct {
    uint64_t cur, end; /* free part of the window */
    int left;          /* children still to place */
} win_t;

static void win_init(win_t *w, uint64_t s, uint64_t e, int k)
{
    uint64_t d = e - s;
    w->cur = s + d / 40;
    w->end = e - d / 40;
    w->left = k;
}

static void win_next(tgen_t *g, win_t *w, uint64_t *cs, uint64_t *ce)
{
    uint64_t room = w->end > w->cur ? w->end - w->cur : 0;
    uint64_t share = room / (uint64_t)(w->left > 0 ? w->left : 1);
    uint64_t d = (uint64_t)((double)share * (0.55 + 0.4 * rndf(g->s)));
    uint64_t gap = (share - d) / 2;
    *cs = w->cur + gap;
    *ce = *cs + d;
    w->cur = *ce + gap;
    if (w->left > 0) w->left--;
}

/* Latency of one network hop: 80-600 us, bounded by a tenth of the window. */
static uint64_t hop(tgen_t *g, uint64_t s, uint64_t e)
{
    uint64_t h = rnd_range(g->s, 80000, 600000);
    return OCL_MIN(h, (e - s) / 10);
}

typedef bool (*op_fn)(tgen_t *g, int parent, uint64_t s, uint64_t e, int arg);

/* A gRPC call from `from` to `to`: CLIENT span, SERVER span inside it, then
 * the callee's own work `fn` inside the SERVER span. Returns true when the
 * call failed (both spans then carry status ERROR). */
static bool grpc_call(tgen_t *g, int parent, int from, int to, const char *service,
                      const char *method, uint64_t s, uint64_t e, op_fn fn, int arg)
{
    ocl_str_t name = astr(g->a, "%s/%s", service, method);
    int c = span_new(g, parent, from, OCL_SPAN_KIND_CLIENT, name, s, e, 7);
    if (c < 0) return false;
    ocl_attrs_t *ca = &g->spans[c].attrs;
    kv_c(ca, "rpc.system", "grpc");
    kv_c(ca, "rpc.service", service);
    kv_c(ca, "rpc.method", method);
    kv_c(ca, "server.address", svcs[to].name);
    kv_i(ca, "server.port", svcs[to].port);
    kv_c(ca, "net.peer.name", svcs[to].name);
    uint64_t h = hop(g, s, e);
    uint64_t ss = s + h, se = e - h;
    int sv = span_new(g, c, to, OCL_SPAN_KIND_SERVER, name, ss, se, 6);
    bool failed = false;
    if (sv >= 0) {
        ocl_attrs_t *sa = &g->spans[sv].attrs;
        kv_c(sa, "rpc.system", "grpc");
        kv_c(sa, "rpc.service", service);
        kv_c(sa, "rpc.method", method);
        kv_c(sa, "server.address", svcs[to].name);
        kv_s(sa, "client.address",
             astr(g->a, "10.1.%u.%u", (unsigned)from, 10u + (unsigned)(rnd(g->s) % 200)));
        if (fn) failed = fn(g, sv, ss, se, arg);
        kv_i(sa, "rpc.grpc.status_code", failed ? 2 : 0);
        if (failed) span_error(g, sv, "UNKNOWN");
    }
    kv_i(ca, "rpc.grpc.status_code", failed ? 2 : 0);
    if (failed) span_error(g, c, "UNKNOWN");
    return failed;
}

/* A database call (CLIENT span, no server side in the model). */
static bool db_call(tgen_t *g, int parent, int svc, const char *system, const char *ns,
                    const char *op, const char *target, ocl_str_t stmt, uint64_t s, uint64_t e)
{
    ocl_str_t name = astr(g->a, "%s %s", op, target);
    int i = span_new(g, parent, svc, OCL_SPAN_KIND_CLIENT, name, s, e, 8);
    if (i < 0) return false;
    ocl_attrs_t *at = &g->spans[i].attrs;
    bool redis = !strcmp(system, "redis");
    kv_c(at, "db.system", system);
    kv_c(at, "db.name", ns);
    kv_c(at, "db.operation", op);
    kv_s(at, "db.statement", stmt);
    kv_c(at, "server.address", redis ? "redis-cart" : "postgres-shop");
    kv_i(at, "server.port", redis ? 6379 : 5432);
    kv_c(at, "net.peer.name", redis ? "redis-cart" : "postgres-shop");
    if (!redis) kv_c(at, "db.sql.table", target);
    if (should_fail(g)) {
        if (redis)
            span_exception(g, i, "StackExchange.Redis.RedisTimeoutException",
                           "Timeout performing HGETALL (5000ms)",
                           "StackExchange.Redis.RedisTimeoutException: Timeout performing HGETALL\n"
                           "   at StackExchange.Redis.ConnectionMultiplexer.ExecuteSyncImpl\n"
                           "   at cart.cartstore.RedisCartStore.GetCartAsync(String userId)\n");
        else
            span_exception(g, i, "pq: OperationalError",
                           "canceling statement due to statement timeout",
                           "goroutine 117 [running]:\n"
                           "github.com/lib/pq.(*conn).query(0xc0001a2000)\n"
                           "\t/go/pkg/mod/github.com/lib/pq/conn.go:879 +0x2e5\n"
                           "main.(*store).lookup(0xc000124000)\n\t/app/store.go:142 +0x9a\n");
        return true;
    }
    return false;
}

static const char *const products[] = {"OLJCESPC7Z", "66VCHSJNUP", "1YMWWN1N4O", "L9ECAV7KIM",
                                       "2ZYFJ3GM2N", "0PUK6V6EV0", "LS4PSXUNUM", "9SIQT8TOJO",
                                       "6E92ZMYYFZ", "HQTGWGPNH4"};
static const char *const currencies[] = {"USD", "EUR", "GBP", "JPY", "CAD", "CHF"};

static bool op_product_lookup(tgen_t *g, int parent, uint64_t s, uint64_t e, int arg)
{
    (void)arg;
    win_t w;
    uint64_t cs, ce;
    win_init(&w, s, e, 1);
    win_next(g, &w, &cs, &ce);
    const char *p = products[rndn(g->s, OCL_ARRAY_LEN(products))];
    return db_call(g, parent, SVC_CATALOG, "postgresql", "shop", "SELECT", "products",
                   astr(g->a,
                        "SELECT id, name, description, picture, price_units, price_nanos "
                        "FROM products WHERE id = '%s'",
                        p),
                   cs, ce);
}

static bool op_list_products(tgen_t *g, int parent, uint64_t s, uint64_t e, int arg)
{
    (void)arg;
    win_t w;
    uint64_t cs, ce;
    win_init(&w, s, e, 1);
    win_next(g, &w, &cs, &ce);
    return db_call(g, parent, SVC_CATALOG, "postgresql", "shop", "SELECT", "products",
                   OCL_STR("SELECT id, name, price_units, price_nanos FROM products "
                           "ORDER BY id LIMIT 50"),
                   cs, ce);
}

static bool op_currency_convert(tgen_t *g, int parent, uint64_t s, uint64_t e, int arg)
{
    (void)arg;
    win_t w;
    uint64_t cs, ce;
    win_init(&w, s, e, 1);
    win_next(g, &w, &cs, &ce);
    int i =
        span_new(g, parent, SVC_CURRENCY, OCL_SPAN_KIND_INTERNAL, OCL_STR("convert"), cs, ce, 3);
    if (i < 0) return false;
    kv_c(&g->spans[i].attrs, "app.currency.from", "USD");
    kv_c(&g->spans[i].attrs, "app.currency.to", currencies[rndn(g->s, OCL_ARRAY_LEN(currencies))]);
    kv_d(&g->spans[i].attrs, "app.currency.rate", 0.5 + rndf(g->s));
    if (should_fail(g)) {
        span_exception(
            g, i, "std::out_of_range", "unsupported currency code",
            "std::out_of_range: unsupported currency code\n"
            "  at CurrencyService::Convert(ServerContext*, const CurrencyConversionRequest*)"
            " (server.cpp:142)\n  at grpc::internal::RpcMethodHandler::RunHandler\n");
        return true;
    }
    return false;
}

static bool op_supported_currencies(tgen_t *g, int parent, uint64_t s, uint64_t e, int arg)
{
    (void)s, (void)e, (void)arg;
    if (!should_fail(g)) return false;
    span_exception(g, parent, "std::runtime_error", "currency table not loaded",
                   "std::runtime_error: currency table not loaded\n"
                   "  at CurrencyService::GetSupportedCurrencies (server.cpp:88)\n");
    return true;
}

static bool op_redis(tgen_t *g, int parent, uint64_t s, uint64_t e, int cmd)
{
    static const char *const ops[] = {"HGETALL", "HSET", "EXPIRE", "DEL"};
    win_t w;
    uint64_t cs, ce;
    int k = cmd == 1 ? 2 : 1;
    win_init(&w, s, e, k);
    for (int j = 0; j < k; j++) {
        int c = cmd + j;
        win_next(g, &w, &cs, &ce);
        ocl_str_t st = astr(g->a, "%s cart:%08x%s", ops[c], (unsigned)(rnd(g->s) & 0xffffffff),
                            c == 1   ? " productId quantity"
                            : c == 2 ? " 3600"
                                     : "");
        if (db_call(g, parent, SVC_CART, "redis", "0", ops[c], "cart", st, cs, ce)) return true;
    }
    return false;
}

static bool op_shipping_quote(tgen_t *g, int parent, uint64_t s, uint64_t e, int arg)
{
    (void)arg;
    win_t w;
    uint64_t cs, ce;
    win_init(&w, s, e, 1);
    win_next(g, &w, &cs, &ce);
    int i = span_new(g, parent, SVC_SHIPPING, OCL_SPAN_KIND_INTERNAL, OCL_STR("calculate-quote"),
                     cs, ce, 2);
    if (i >= 0) {
        kv_i(&g->spans[i].attrs, "app.shipping.items.count", 1 + rndn(g->s, 5));
        kv_d(&g->spans[i].attrs, "app.shipping.cost.total", 5.0 + rndf(g->s) * 20);
    }
    return false;
}

static bool op_ship_order(tgen_t *g, int parent, uint64_t s, uint64_t e, int arg)
{
    (void)arg;
    win_t w;
    uint64_t cs, ce;
    win_init(&w, s, e, 1);
    win_next(g, &w, &cs, &ce);
    int i = span_new(g, parent, SVC_SHIPPING, OCL_SPAN_KIND_INTERNAL, OCL_STR("create-tracking-id"),
                     cs, ce, 1);
    if (i >= 0)
        kv_s(&g->spans[i].attrs, "app.shipping.tracking.id",
             astr(g->a, "%08x-%04x", (unsigned)rnd(g->s), (unsigned)(rnd(g->s) & 0xffff)));
    return false;
}

static bool op_charge(tgen_t *g, int parent, uint64_t s, uint64_t e, int arg)
{
    (void)arg;
    win_t w;
    uint64_t cs, ce;
    win_init(&w, s, e, 3);
    win_next(g, &w, &cs, &ce);
    int v = span_new(g, parent, SVC_PAYMENT, OCL_SPAN_KIND_INTERNAL, OCL_STR("validate-card"), cs,
                     ce, 2);
    if (v < 0) return false;
    kv_c(&g->spans[v].attrs, "app.payment.card_type", rndn(g->s, 2) ? "visa" : "mastercard");
    kv_b(&g->spans[v].attrs, "app.payment.card_valid", true);
    /* external payment API: a CLIENT span only */
    win_next(g, &w, &cs, &ce);
    int h = span_new(g, parent, SVC_PAYMENT, OCL_SPAN_KIND_CLIENT, OCL_STR("POST"), cs, ce, 6);
    if (h < 0) return false;
    ocl_attrs_t *at = &g->spans[h].attrs;
    kv_c(at, "http.request.method", "POST");
    kv_c(at, "url.full", "https://api.payments.example.net/v1/charges");
    kv_c(at, "server.address", "api.payments.example.net");
    kv_i(at, "server.port", 443);
    kv_c(at, "net.peer.name", "api.payments.example.net");
    if (should_fail(g)) {
        kv_i(at, "http.response.status_code", 402);
        span_exception(g, h, "PaymentDeclinedError", "card declined: insufficient funds",
                       "PaymentDeclinedError: card declined: insufficient funds\n"
                       "    at charge (/usr/src/app/charge.js:71:11)\n"
                       "    at async Object.chargeServiceHandler (/usr/src/app/index.js:24:22)\n");
        return true;
    }
    kv_i(at, "http.response.status_code", 200);
    win_next(g, &w, &cs, &ce);
    return db_call(g, parent, SVC_PAYMENT, "postgresql", "payments", "INSERT", "transactions",
                   OCL_STR("INSERT INTO transactions (id, order_id, amount, currency) "
                           "VALUES ($1, $2, $3, $4)"),
                   cs, ce);
}

static bool op_email(tgen_t *g, int parent, uint64_t s, uint64_t e, int arg)
{
    (void)arg;
    win_t w;
    uint64_t cs, ce;
    win_init(&w, s, e, 2);
    win_next(g, &w, &cs, &ce);
    span_new(g, parent, SVC_EMAIL, OCL_SPAN_KIND_INTERNAL, OCL_STR("render-template"), cs, ce, 0);
    win_next(g, &w, &cs, &ce);
    int i = span_new(g, parent, SVC_EMAIL, OCL_SPAN_KIND_CLIENT, OCL_STR("smtp send"), cs, ce, 3);
    if (i < 0) return false;
    kv_c(&g->spans[i].attrs, "server.address", "smtp.example.net");
    kv_i(&g->spans[i].attrs, "server.port", 587);
    kv_c(&g->spans[i].attrs, "net.peer.name", "smtp.example.net");
    return false;
}

static bool op_place_order(tgen_t *g, int parent, uint64_t s, uint64_t e, int arg)
{
    (void)arg;
    int items = 1 + (int)rndn(g->s, 3);
    win_t w;
    uint64_t cs, ce;
    /* GetCart, items x (GetProduct, Convert), GetQuote, Charge, ShipOrder,
     * EmptyCart, publish, SendOrderConfirmation */
    win_init(&w, s, e, 7 + 2 * items);
    uint64_t order = ++g->s->order_seq;
    win_next(g, &w, &cs, &ce);
    if (grpc_call(g, parent, SVC_CHECKOUT, SVC_CART, "oteldemo.CartService", "GetCart", cs, ce,
                  op_redis, 0))
        return true;
    for (int i = 0; i < items; i++) {
        win_next(g, &w, &cs, &ce);
        if (grpc_call(g, parent, SVC_CHECKOUT, SVC_CATALOG, "oteldemo.ProductCatalogService",
                      "GetProduct", cs, ce, op_product_lookup, 0))
            return true;
        win_next(g, &w, &cs, &ce);
        if (grpc_call(g, parent, SVC_CHECKOUT, SVC_CURRENCY, "oteldemo.CurrencyService", "Convert",
                      cs, ce, op_currency_convert, 0))
            return true;
    }
    win_next(g, &w, &cs, &ce);
    grpc_call(g, parent, SVC_CHECKOUT, SVC_SHIPPING, "oteldemo.ShippingService", "GetQuote", cs, ce,
              op_shipping_quote, 0);
    win_next(g, &w, &cs, &ce);
    if (grpc_call(g, parent, SVC_CHECKOUT, SVC_PAYMENT, "oteldemo.PaymentService", "Charge", cs, ce,
                  op_charge, 0))
        return true;
    win_next(g, &w, &cs, &ce);
    grpc_call(g, parent, SVC_CHECKOUT, SVC_SHIPPING, "oteldemo.ShippingService", "ShipOrder", cs,
              ce, op_ship_order, 0);
    win_next(g, &w, &cs, &ce);
    grpc_call(g, parent, SVC_CHECKOUT, SVC_CART, "oteldemo.CartService", "EmptyCart", cs, ce,
              op_redis, 3);
    win_next(g, &w, &cs, &ce);
    int p = span_new(g, parent, SVC_CHECKOUT, OCL_SPAN_KIND_PRODUCER, OCL_STR("orders publish"), cs,
                     ce, 5);
    if (p >= 0) {
        ocl_attrs_t *at = &g->spans[p].attrs;
        kv_c(at, "messaging.system", "kafka");
        kv_c(at, "messaging.destination.name", "orders");
        kv_c(at, "messaging.operation", "publish");
        kv_s(at, "messaging.kafka.message.key",
             astr(g->a, "order-%llu", (unsigned long long)order));
        kv_c(at, "server.address", "kafka");
    }
    win_next(g, &w, &cs, &ce);
    grpc_call(g, parent, SVC_CHECKOUT, SVC_EMAIL, "oteldemo.EmailService", "SendOrderConfirmation",
              cs, ce, op_email, 0);
    return false;
}

typedef struct {
    const char *method;      /* HTTP method */
    const char *route;       /* http.route */
    uint32_t weight;         /* share of traffic, percent */
    uint32_t min_ms, max_ms; /* root duration range */
} route_t;

static const route_t routes[] = {
    {"GET", "/api/products/{productId}", 35, 8, 40},
    {"GET", "/api/cart", 25, 10, 50},
    {"GET", "/", 15, 20, 80},
    {"POST", "/api/cart", 10, 5, 25},
    {"POST", "/api/checkout", 15, 80, 400},
};

static const char *const user_agents[] = {
    "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "python-requests/2.31.0",
};

/* One trace ending at `end`. */
static void gen_trace(tgen_t *g, uint64_t end)
{
    ocl_synth_t *s = g->s;
    uint8_t tid[16];
    rnd_id(s, tid, 16);
    g->tid = abytes(g->a, tid, 16);
    g->cand = 0;
    g->fail_at = rndf(s) < 0.02 ? (int)rndn(s, 2) : -1;

    uint32_t r = rndn(s, 100), acc = 0, ri = 0;
    for (ri = 0; ri < OCL_ARRAY_LEN(routes) - 1; ri++) {
        acc += routes[ri].weight;
        if (r < acc) break;
    }
    const route_t *rt = &routes[ri];
    uint64_t dur = rnd_range(s, rt->min_ms, rt->max_ms) * 1000000ull + rnd_range(s, 0, 999999);
    if (rndf(s) < 0.01) dur *= 5; /* tail latency */
    uint64_t start = end - dur;

    ocl_str_t path =
        ri == 0 ? astr(g->a, "/api/products/%s", products[rndn(s, OCL_ARRAY_LEN(products))])
                : ocl_str_c(rt->route);
    int root = span_new(g, -1, SVC_FRONTEND, OCL_SPAN_KIND_SERVER,
                        astr(g->a, "%s %s", rt->method, rt->route), start, end, 11);
    if (root < 0) return;
    ocl_attrs_t *ra = &g->spans[root].attrs;
    kv_c(ra, "http.request.method", rt->method);
    kv_c(ra, "http.route", rt->route);
    kv_s(ra, "url.path", path);
    kv_c(ra, "url.scheme", "http");
    kv_c(ra, "server.address", "shop.example.com");
    kv_i(ra, "server.port", 8080);
    kv_c(ra, "network.protocol.version", "1.1");
    kv_c(ra, "user_agent.original", user_agents[rndn(s, OCL_ARRAY_LEN(user_agents))]);
    kv_s(ra, "client.address", astr(g->a, "203.0.113.%u", 1 + rndn(s, 254)));
    if (s->has_prev && rndf(s) < 0.03) {
        ocl_span_link_t *l = ocl_arena_alloc(g->a, sizeof(*l));
        memset(l, 0, sizeof(*l));
        l->trace_id = abytes(g->a, s->prev_trace, 16);
        l->span_id = abytes(g->a, s->prev_span, 8);
        l->flags = 0x100 | 0x1;
        attrs_alloc(g->a, &l->attrs, 1);
        kv_c(&l->attrs, "link.reason", "retry");
        g->spans[root].links = l;
        g->spans[root].n_links = 1;
    }
    memcpy(s->prev_trace, tid, 16);
    memcpy(s->prev_span, g->spans[root].span_id.p, 8);
    s->has_prev = true;

    win_t w;
    uint64_t cs, ce;
    bool failed = false;
    switch (ri) {
    case 0: /* product page */
        win_init(&w, start, end, 2);
        win_next(g, &w, &cs, &ce);
        failed = grpc_call(g, root, SVC_FRONTEND, SVC_CATALOG, "oteldemo.ProductCatalogService",
                           "GetProduct", cs, ce, op_product_lookup, 0);
        win_next(g, &w, &cs, &ce);
        if (!failed)
            failed = grpc_call(g, root, SVC_FRONTEND, SVC_CURRENCY, "oteldemo.CurrencyService",
                               "Convert", cs, ce, op_currency_convert, 0);
        break;
    case 1: { /* cart page */
        int items = 1 + (int)rndn(s, 3);
        win_init(&w, start, end, 2 + items);
        win_next(g, &w, &cs, &ce);
        failed = grpc_call(g, root, SVC_FRONTEND, SVC_CART, "oteldemo.CartService", "GetCart", cs,
                           ce, op_redis, 0);
        for (int i = 0; i < items && !failed; i++) {
            win_next(g, &w, &cs, &ce);
            failed = grpc_call(g, root, SVC_FRONTEND, SVC_CATALOG, "oteldemo.ProductCatalogService",
                               "GetProduct", cs, ce, op_product_lookup, 0);
        }
        win_next(g, &w, &cs, &ce);
        if (!failed)
            failed = grpc_call(g, root, SVC_FRONTEND, SVC_CURRENCY, "oteldemo.CurrencyService",
                               "Convert", cs, ce, op_currency_convert, 0);
        break;
    }
    case 2: /* home page */
        win_init(&w, start, end, 3);
        win_next(g, &w, &cs, &ce);
        failed = grpc_call(g, root, SVC_FRONTEND, SVC_CURRENCY, "oteldemo.CurrencyService",
                           "GetSupportedCurrencies", cs, ce, op_supported_currencies, 0);
        win_next(g, &w, &cs, &ce);
        if (!failed)
            failed = grpc_call(g, root, SVC_FRONTEND, SVC_CATALOG, "oteldemo.ProductCatalogService",
                               "ListProducts", cs, ce, op_list_products, 0);
        win_next(g, &w, &cs, &ce);
        if (!failed)
            span_new(g, root, SVC_FRONTEND, OCL_SPAN_KIND_INTERNAL, OCL_STR("render home"), cs, ce,
                     0);
        break;
    case 3: /* add to cart */
        win_init(&w, start, end, 1);
        win_next(g, &w, &cs, &ce);
        failed = grpc_call(g, root, SVC_FRONTEND, SVC_CART, "oteldemo.CartService", "AddItem", cs,
                           ce, op_redis, 1);
        break;
    default: /* checkout */
        win_init(&w, start, end, 1);
        win_next(g, &w, &cs, &ce);
        failed = grpc_call(g, root, SVC_FRONTEND, SVC_CHECKOUT, "oteldemo.CheckoutService",
                           "PlaceOrder", cs, ce, op_place_order, 0);
        break;
    }
    kv_i(ra, "http.response.status_code", failed ? 500 : 200);
    if (failed) span_error(g, root, NULL);
}

int ocl_synth_traces(ocl_synth_t *s, ocl_arena_t *a, uint32_t n_spans, uint64_t now,
                     ocl_traces_req_t *out)
{
    memset(out, 0, sizeof(*out));
    if (!n_spans) return OCL_EINVAL;
    if (!now) now = ocl_now_unix_nano();
    tgen_t g = {0};
    g.s = s;
    g.a = a;
    g.cap = n_spans;
    g.spans = ocl_arena_alloc(a, sizeof(ocl_span_t) * n_spans);
    g.svc = ocl_arena_alloc(a, n_spans);
    while (g.n < g.cap)
        gen_trace(&g, now - rnd_range(s, 1000000, 1000000000));

    /* regroup per service, stable */
    uint32_t count[OCL_SYNTH_SERVICES] = {0}, off[OCL_SYNTH_SERVICES];
    for (uint32_t i = 0; i < g.n; i++)
        count[g.svc[i]]++;
    uint32_t n_rs = 0, o = 0;
    for (int k = 0; k < OCL_SYNTH_SERVICES; k++) {
        off[k] = o;
        o += count[k];
        if (count[k]) n_rs++;
    }
    ocl_span_t *sorted = ocl_arena_alloc(a, sizeof(ocl_span_t) * g.n);
    uint32_t pos[OCL_SYNTH_SERVICES];
    memcpy(pos, off, sizeof(pos));
    for (uint32_t i = 0; i < g.n; i++)
        sorted[pos[g.svc[i]]++] = g.spans[i];

    out->rs = ocl_arena_alloc(a, sizeof(ocl_resource_spans_t) * n_rs);
    out->n_rs = n_rs;
    uint32_t r = 0;
    for (int k = 0; k < OCL_SYNTH_SERVICES; k++) {
        if (!count[k]) continue;
        ocl_resource_spans_t *rs = &out->rs[r++];
        memset(rs, 0, sizeof(*rs));
        resource_build(s, a, k, &rs->resource);
        rs->schema_url = OCL_STR("https://opentelemetry.io/schemas/1.24.0");
        rs->scope_spans = ocl_arena_alloc(a, sizeof(ocl_scope_spans_t));
        rs->n_scope_spans = 1;
        ocl_scope_spans_t *ss = rs->scope_spans;
        memset(ss, 0, sizeof(*ss));
        scope_build(k, &ss->scope);
        ss->spans = sorted + off[k];
        ss->n_spans = count[k];
    }
    return 0;
}

/* ==== metrics ==== */

enum { M_CPU, M_MEM, M_THREADS, M_DURATION, M_DEFS };
static const uint32_t metric_sets[M_DEFS] = {2, 1, 1, 4};
#define SERIES_PER_SVC (2 + 1 + 1 + 4)
#define SERIES_TOTAL (SERIES_PER_SVC * OCL_SYNTH_SERVICES)

static const double http_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                     0.5,   0.75, 1.0,   2.5,  5.0,   7.5, 10.0};
#define N_BOUNDS OCL_ARRAY_LEN(http_bounds)

/* Series index -> (service, metric, attribute set). */
static void series_of(uint32_t idx, int *svc, int *def, uint32_t *set)
{
    *svc = (int)(idx / SERIES_PER_SVC);
    uint32_t r = idx % SERIES_PER_SVC;
    for (int d = 0; d < M_DEFS; d++) {
        if (r < metric_sets[d]) {
            *def = d;
            *set = r;
            return;
        }
        r -= metric_sets[d];
    }
    *def = M_DURATION, *set = 0; /* unreachable */
}

/* Two routes / RPC methods per service; attribute sets 0-1 are successes,
 * 2-3 the same two with an error status (at a small fraction of the rate). */
static const char *const svc_methods[OCL_SYNTH_SERVICES][2] = {
    {"/api/products/{productId}", "/api/checkout"},
    {"GetCart", "AddItem"},
    {"PlaceOrder", "GetOrder"},
    {"Charge", "Refund"},
    {"Convert", "GetSupportedCurrencies"},
    {"GetQuote", "ShipOrder"},
    {"SendOrderConfirmation", "SendShippingNotice"},
    {"GetProduct", "ListProducts"},
};

static void metric_meta(int svc, int def, ocl_metric_t *m)
{
    switch (def) {
    case M_CPU:
        m->name = OCL_STR("process.cpu.time");
        m->description = OCL_STR("Total CPU seconds broken down by different CPU modes.");
        m->unit = OCL_STR("s");
        m->type = OCL_METRIC_SUM;
        m->temporality = OCL_TEMPORALITY_CUMULATIVE;
        m->is_monotonic = true;
        break;
    case M_MEM:
        m->name = OCL_STR("process.memory.usage");
        m->description = OCL_STR("The amount of physical memory in use.");
        m->unit = OCL_STR("By");
        m->type = OCL_METRIC_GAUGE;
        break;
    case M_THREADS:
        m->name = OCL_STR("process.thread.count");
        m->description = OCL_STR("Process threads count.");
        m->unit = OCL_STR("{thread}");
        m->type = OCL_METRIC_SUM;
        m->temporality = OCL_TEMPORALITY_CUMULATIVE;
        m->is_monotonic = false;
        break;
    default:
        if (svc == SVC_FRONTEND) {
            m->name = OCL_STR("http.server.request.duration");
            m->description = OCL_STR("Duration of HTTP server requests.");
        } else {
            m->name = OCL_STR("rpc.server.duration");
            m->description = OCL_STR("Measures the duration of inbound RPC.");
        }
        m->unit = OCL_STR("s");
        m->type = OCL_METRIC_HISTOGRAM;
        m->temporality = OCL_TEMPORALITY_CUMULATIVE;
        break;
    }
}

/* Deterministic per-series constant in [0, 1). */
static double series_const(uint32_t idx, uint32_t salt)
{
    uint64_t z = (uint64_t)idx * 0x9e3779b97f4a7c15ull + salt * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 31)) * 0x94d049bb133111ebull;
    z ^= z >> 29;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

static void fill_point(ocl_synth_t *s, ocl_arena_t *a, uint32_t idx, int svc, int def, uint32_t set,
                       uint64_t t, ocl_number_dp_t *nd, ocl_histogram_dp_t *hd)
{
    double el = t > s->start_ns ? (double)(t - s->start_ns) / 1e9 : 0.0;
    uint64_t st = s->start_ns < t ? s->start_ns : t;
    switch (def) {
    case M_CPU:
        memset(nd, 0, sizeof(*nd));
        attrs_alloc(a, &nd->attrs, 1);
        kv_c(&nd->attrs, "cpu.mode", set ? "system" : "user");
        nd->start_unix_nano = st;
        nd->time_unix_nano = t;
        nd->as_double = el * (0.05 + 0.25 * series_const(idx, 1)) * (set ? 0.25 : 0.75);
        break;
    case M_MEM:
        memset(nd, 0, sizeof(*nd));
        nd->time_unix_nano = t;
        nd->is_int = true;
        nd->as_int = (int64_t)((60 + 300 * series_const(idx, 2)) * 1048576.0 *
                                   (1.0 + 0.05 * sin(el / 60.0)) +
                               (double)rndn(s, 1 << 20));
        break;
    case M_THREADS:
        memset(nd, 0, sizeof(*nd));
        nd->start_unix_nano = st;
        nd->time_unix_nano = t;
        nd->is_int = true;
        nd->as_int = 12 + svc * 3 + (int64_t)rndn(s, 4);
        break;
    default: {
        memset(hd, 0, sizeof(*hd));
        attrs_alloc(a, &hd->attrs, 4);
        const char *m = svc_methods[svc][set & 1];
        bool err = set >= 2;
        if (svc == SVC_FRONTEND) {
            kv_c(&hd->attrs, "http.request.method", set & 1 ? "POST" : "GET");
            kv_c(&hd->attrs, "http.route", m);
            kv_i(&hd->attrs, "http.response.status_code", err ? 500 : 200);
            kv_c(&hd->attrs, "url.scheme", "http");
        } else {
            kv_c(&hd->attrs, "rpc.system", "grpc");
            kv_c(&hd->attrs, "rpc.method", m);
            kv_i(&hd->attrs, "rpc.grpc.status_code", err ? 2 : 0);
        }
        hd->start_unix_nano = st;
        hd->time_unix_nano = t;
        hd->n_bucket_counts = N_BOUNDS + 1;
        hd->n_explicit_bounds = N_BOUNDS;
        hd->explicit_bounds = (double *)http_bounds; /* read-only by encoders */
        hd->bucket_counts = ocl_arena_alloc(a, sizeof(uint64_t) * (N_BOUNDS + 1));
        double rate = (2 + 40 * series_const(idx, 3)) * (err ? 0.02 : 1); /* requests/s */
        int mode = 1 + (int)(series_const(idx, 4) * 5);
        double total = rate * el, sum = 0, norm = 0, w[N_BOUNDS + 1];
        for (uint32_t b = 0; b <= N_BOUNDS; b++) {
            int dist = (int)b - mode;
            w[b] = exp(-0.5 * dist * dist) + (b > (uint32_t)mode ? 0.01 : 0);
            norm += w[b];
        }
        uint64_t count = 0;
        for (uint32_t b = 0; b <= N_BOUNDS; b++) {
            uint64_t c = (uint64_t)(total * w[b] / norm);
            hd->bucket_counts[b] = c;
            count += c;
            double lo = b ? http_bounds[b - 1] : 0, hi = b < N_BOUNDS ? http_bounds[b] : 15.0;
            sum += (double)c * (lo + hi) / 2;
        }
        hd->count = count;
        hd->has_sum = true;
        hd->sum = sum;
        break;
    }
    }
}

int ocl_synth_metrics(ocl_synth_t *s, ocl_arena_t *a, uint32_t n_points, uint64_t now,
                      ocl_metrics_req_t *out)
{
    memset(out, 0, sizeof(*out));
    if (!n_points) return OCL_EINVAL;
    if (!now) now = ocl_now_unix_nano();
    /* Upper bounds: every point may start a new resource / metric. The
     * points of one metric are consecutive in these arrays. */
    out->rm = ocl_arena_alloc(a, sizeof(ocl_resource_metrics_t) * n_points);
    ocl_metric_t *metrics = ocl_arena_alloc(a, sizeof(ocl_metric_t) * n_points);
    ocl_number_dp_t *nds = ocl_arena_alloc(a, sizeof(ocl_number_dp_t) * n_points);
    ocl_histogram_dp_t *hds = ocl_arena_alloc(a, sizeof(ocl_histogram_dp_t) * n_points);
    uint32_t n_metrics = 0, n_nd = 0, n_hd = 0;
    ocl_resource_metrics_t *rm = NULL;
    ocl_metric_t *m = NULL;
    int cur_svc = -1, cur_def = -1;
    for (uint32_t k = 0; k < n_points; k++) {
        if (s->m_cursor == 0) {
            uint64_t t = s->m_round_t + 1000000;
            s->m_round_t = now > t ? now : t;
        }
        uint32_t idx = s->m_cursor;
        s->m_cursor = (s->m_cursor + 1) % SERIES_TOTAL;
        int svc, def;
        uint32_t set;
        series_of(idx, &svc, &def, &set);
        if (svc != cur_svc || idx == 0) {
            rm = &out->rm[out->n_rm++];
            memset(rm, 0, sizeof(*rm));
            resource_build(s, a, svc, &rm->resource);
            rm->schema_url = OCL_STR("https://opentelemetry.io/schemas/1.24.0");
            rm->scope_metrics = ocl_arena_alloc(a, sizeof(ocl_scope_metrics_t));
            rm->n_scope_metrics = 1;
            memset(rm->scope_metrics, 0, sizeof(ocl_scope_metrics_t));
            scope_build(svc, &rm->scope_metrics->scope);
            rm->scope_metrics->metrics = metrics + n_metrics;
            cur_svc = svc;
            cur_def = -1;
        }
        if (def != cur_def) {
            m = &metrics[n_metrics++];
            memset(m, 0, sizeof(*m));
            metric_meta(svc, def, m);
            if (m->type == OCL_METRIC_HISTOGRAM)
                m->dp.hist = hds + n_hd;
            else
                m->dp.number = nds + n_nd;
            rm->scope_metrics->n_metrics++;
            cur_def = def;
        }
        if (m->type == OCL_METRIC_HISTOGRAM)
            fill_point(s, a, idx, svc, def, set, s->m_round_t, NULL, &hds[n_hd++]);
        else
            fill_point(s, a, idx, svc, def, set, s->m_round_t, &nds[n_nd++], NULL);
        m->n_dp++;
    }
    return 0;
}

/* ==== logs ==== */

static ocl_str_t log_body(ocl_synth_t *s, ocl_arena_t *a, int svc, int sev, ocl_attrs_t *at)
{
    unsigned u = (unsigned)(rnd(s) & 0xffffff);
    const char *p = products[rndn(s, OCL_ARRAY_LEN(products))];
    if (sev >= 17) {
        kv_c(at, "exception.type", "TimeoutError");
        return astr(a, "request failed: upstream timeout after %u ms", 1000 + u % 4000);
    }
    if (sev >= 13)
        return astr(a, "slow request: %u ms spent waiting for a connection", 200 + u % 800);
    switch (svc) {
    case SVC_FRONTEND:
        kv_c(at, "http.route", "/api/products/{productId}");
        return astr(a, "GET /api/products/%s 200 %u.%03u ms", p, u % 40, u % 1000);
    case SVC_CART:
        kv_s(at, "app.user.id", astr(a, "%08x", u));
        return astr(a, "GetCartAsync called with userId=%08x", u);
    case SVC_CHECKOUT: {
        uint64_t o = ++s->order_seq;
        kv_s(at, "app.order.id", astr(a, "%llu", (unsigned long long)o));
        return astr(a, "order placed: id=%llu items=%u total=%u.%02u USD", (unsigned long long)o,
                    1 + u % 5, 10 + u % 300, u % 100);
    }
    case SVC_PAYMENT:
        kv_c(at, "app.payment.card_type", u & 1 ? "visa" : "mastercard");
        return astr(a, "Transaction complete. transactionId=%06x amount=%u.%02u", u, 10 + u % 300,
                    u % 100);
    case SVC_CURRENCY:
        return astr(a, "Currency conversion successful: USD -> %s",
                    currencies[u % OCL_ARRAY_LEN(currencies)]);
    case SVC_SHIPPING:
        return astr(a, "Shipping quote calculated: %u.%02u USD for %u items", 5 + u % 30, u % 100,
                    1 + u % 6);
    case SVC_EMAIL:
        return astr(a, "Order confirmation email sent to user%u@example.com", u % 100000);
    default:
        kv_c(at, "app.product.id", p);
        return astr(a, "Product found: id=%s", p);
    }
}

int ocl_synth_logs(ocl_synth_t *s, ocl_arena_t *a, uint32_t n_logs, uint64_t now,
                   ocl_logs_req_t *out)
{
    static const int sev_num[] = {5, 9, 13, 17};
    static const char *const sev_txt[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    memset(out, 0, sizeof(*out));
    if (!n_logs) return OCL_EINVAL;
    if (!now) now = ocl_now_unix_nano();
    ocl_log_record_t *flat = ocl_arena_alloc(a, sizeof(*flat) * n_logs);
    uint8_t *svc_of = ocl_arena_alloc(a, n_logs);
    uint32_t count[OCL_SYNTH_SERVICES] = {0};
    for (uint32_t i = 0; i < n_logs; i++) {
        ocl_log_record_t *l = &flat[i];
        memset(l, 0, sizeof(*l));
        int svc;
        bool linked = s->n_recent && rndf(s) < 0.7;
        uint32_t ri = 0;
        if (linked) {
            ri = rndn(s, s->n_recent);
            svc = s->recent[ri].svc;
        } else {
            svc = (int)rndn(s, OCL_SYNTH_SERVICES);
        }
        uint32_t r = rndn(s, 100);
        int sv = r < 5 ? 0 : r < 87 ? 1 : r < 96 ? 2 : 3;
        l->time_unix_nano = now - rnd_range(s, 0, 1000000000);
        l->observed_time_unix_nano = l->time_unix_nano + rnd_range(s, 100000, 5000000);
        l->severity_number = sev_num[sv];
        l->severity_text = ocl_str_c(sev_txt[sv]);
        attrs_alloc(a, &l->attrs, 4);
        kv_c(&l->attrs, "code.function", svc == SVC_FRONTEND ? "handleRequest" : "Export");
        kv_i(&l->attrs, "thread.id", 1 + rndn(s, 32));
        l->body.type = OCL_AV_STRING;
        l->body.u.s = log_body(s, a, svc, sev_num[sv], &l->attrs);
        if (linked) {
            l->trace_id = abytes(a, s->recent[ri].tid, 16);
            l->span_id = abytes(a, s->recent[ri].sid, 8);
            l->flags = 1;
        }
        svc_of[i] = (uint8_t)svc;
        count[svc]++;
    }
    uint32_t off[OCL_SYNTH_SERVICES], pos[OCL_SYNTH_SERVICES], o = 0, n_rl = 0;
    for (int k = 0; k < OCL_SYNTH_SERVICES; k++) {
        off[k] = pos[k] = o;
        o += count[k];
        if (count[k]) n_rl++;
    }
    ocl_log_record_t *sorted = ocl_arena_alloc(a, sizeof(*sorted) * n_logs);
    for (uint32_t i = 0; i < n_logs; i++)
        sorted[pos[svc_of[i]]++] = flat[i];
    out->rl = ocl_arena_alloc(a, sizeof(ocl_resource_logs_t) * n_rl);
    out->n_rl = n_rl;
    uint32_t r = 0;
    for (int k = 0; k < OCL_SYNTH_SERVICES; k++) {
        if (!count[k]) continue;
        ocl_resource_logs_t *rl = &out->rl[r++];
        memset(rl, 0, sizeof(*rl));
        resource_build(s, a, k, &rl->resource);
        rl->schema_url = OCL_STR("https://opentelemetry.io/schemas/1.24.0");
        rl->scope_logs = ocl_arena_alloc(a, sizeof(ocl_scope_logs_t));
        rl->n_scope_logs = 1;
        memset(rl->scope_logs, 0, sizeof(ocl_scope_logs_t));
        scope_build(k, &rl->scope_logs->scope);
        rl->scope_logs->logs = sorted + off[k];
        rl->scope_logs->n_logs = count[k];
    }
    return 0;
}
