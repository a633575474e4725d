/*
 * otlp_pb.c — zero-copy protobuf decoder for the OTLP
 * Export{Trace,Metrics,Logs}ServiceRequest messages (opentelemetry-proto v1).
 * The model is documented in otlp.h; the encoders are in otlp_pb_enc.c.
 *
 * Decoder invariants:
 *  - strings, bytes and `raw` views point into the caller's input; arrays
 *    come from the arena, each allocated exactly once at its final size.
 *    A span's attributes, events and links are collected in one pass into
 *    scratch arrays of the decoder and copied out at the end (the hot
 *    path: no count pass, no growth); every other message first counts
 *    its repeated fields with a cheap tag scan (sub-messages skipped by
 *    length) and then fills arrays allocated at that size.
 *  - every read is bounds-checked (pb.h); a known field with the wrong wire
 *    type is OCL_EINVAL, unknown fields are skipped, groups are rejected.
 *  - AnyValue arrays/kvlists nest at most OCL_OTLP_MAX_DEPTH deep, which
 *    bounds recursion; every other nesting is fixed by the schema.
 *  - a singular message field that occurs twice: the last one wins
 *    (protobuf would merge them; no OTLP producer does this).
 *
 * Workload: batches of 100-10,000 spans of ~10 attributes each; the decoder
 * is the hottest code of the receive path.
 */
#include "wire/otlp.h"
#include "wire/pb.h"

#include <stdlib.h>

/* ---- error strings ---- */

/* Message ids, indexing wt_errs. */
// clang-format off
enum {
    M_ANY, M_ARRAY, M_KVLIST, M_KV, M_RESOURCE, M_SCOPE,
    M_TREQ, M_RS, M_SS, M_SPAN, M_EVENT, M_LINK, M_STATUS,
    M_MREQ, M_RM, M_SM, M_METRIC, M_GAUGE, M_SUM, M_HIST, M_EHIST, M_SUMMARY,
    M_NDP, M_HDP, M_EHDP, M_BUCKETS, M_SDP, M_QUANT, M_EXEMPLAR,
    M_LREQ, M_RL, M_SL, M_LOG,
    M_COUNT
};
// clang-format on

#define WTF(m, n) "field " #n " of " m ": wrong wire type"
#define WTROW(m)                                                                                   \
    {                                                                                              \
        NULL, WTF(m, 1), WTF(m, 2), WTF(m, 3), WTF(m, 4), WTF(m, 5), WTF(m, 6), WTF(m, 7),         \
            WTF(m, 8), WTF(m, 9), WTF(m, 10), WTF(m, 11), WTF(m, 12), WTF(m, 13), WTF(m, 14),      \
            WTF(m, 15), WTF(m, 16)                                                                 \
    }

static const char *const wt_errs[M_COUNT][17] = {
    [M_ANY] = WTROW("AnyValue"),
    [M_ARRAY] = WTROW("ArrayValue"),
    [M_KVLIST] = WTROW("KeyValueList"),
    [M_KV] = WTROW("KeyValue"),
    [M_RESOURCE] = WTROW("Resource"),
    [M_SCOPE] = WTROW("InstrumentationScope"),
    [M_TREQ] = WTROW("ExportTraceServiceRequest"),
    [M_RS] = WTROW("ResourceSpans"),
    [M_SS] = WTROW("ScopeSpans"),
    [M_SPAN] = WTROW("Span"),
    [M_EVENT] = WTROW("Span.Event"),
    [M_LINK] = WTROW("Span.Link"),
    [M_STATUS] = WTROW("Status"),
    [M_MREQ] = WTROW("ExportMetricsServiceRequest"),
    [M_RM] = WTROW("ResourceMetrics"),
    [M_SM] = WTROW("ScopeMetrics"),
    [M_METRIC] = WTROW("Metric"),
    [M_GAUGE] = WTROW("Gauge"),
    [M_SUM] = WTROW("Sum"),
    [M_HIST] = WTROW("Histogram"),
    [M_EHIST] = WTROW("ExponentialHistogram"),
    [M_SUMMARY] = WTROW("Summary"),
    [M_NDP] = WTROW("NumberDataPoint"),
    [M_HDP] = WTROW("HistogramDataPoint"),
    [M_EHDP] = WTROW("ExponentialHistogramDataPoint"),
    [M_BUCKETS] = WTROW("ExponentialHistogramDataPoint.Buckets"),
    [M_SDP] = WTROW("SummaryDataPoint"),
    [M_QUANT] = WTROW("SummaryDataPoint.ValueAtQuantile"),
    [M_EXEMPLAR] = WTROW("Exemplar"),
    [M_LREQ] = WTROW("ExportLogsServiceRequest"),
    [M_RL] = WTROW("ResourceLogs"),
    [M_SL] = WTROW("ScopeLogs"),
    [M_LOG] = WTROW("LogRecord"),
};

/* Bit mask of known field numbers. */
#define F(n) (1u << (n))

/* ---- decoder ---- */

#define SCRATCH_KV 64
#define SCRATCH_EV 8
#define SCRATCH_LK 4

/* The decoded model may use at most 1 MiB + 12 bytes per input byte of
 * arena (measured: realistic spans take ~1.3 bytes per input byte and
 * attribute-heavy metrics up to ~8, but a body of 2-byte empty spans would
 * expand a hundredfold). Over it, decoding fails with OCL_ETOOBIG. The
 * budget counts from the arena's use when decoding started. */
#define MODEL_BUDGET(len) (((size_t)1 << 20) + 12 * (size_t)(len))

/* Decoder state. The scratch arrays collect a span's attributes, events
 * and links in one pass; the span then copies them to the arena at their
 * final size. Only dec_span uses them (nothing nested in a span does), so
 * they need no stack discipline. They start in the struct and move to the
 * heap only for spans with very many attributes. */
typedef struct {
    ocl_arena_t *a;                  /* destination of arrays */
    size_t budget;                   /* arena total at which decoding gives up */
    const char *err;                 /* first error message */
    ocl_kv_t *kv;                    /* span attribute scratch (kv_inline or heap) */
    ocl_span_event_t *ev;            /* span event scratch */
    ocl_span_link_t *lk;             /* span link scratch */
    uint32_t kv_cap, ev_cap, lk_cap; /* capacities of the three */
    ocl_kv_t kv_inline[SCRATCH_KV];
    ocl_span_event_t ev_inline[SCRATCH_EV];
    ocl_span_link_t lk_inline[SCRATCH_LK];
} dec_t;

static void dec_init(dec_t *d, ocl_arena_t *a, size_t len)
{
    d->a = a;
    d->budget = a->total + MODEL_BUDGET(len);
    d->err = NULL;
    d->kv = d->kv_inline, d->kv_cap = SCRATCH_KV;
    d->ev = d->ev_inline, d->ev_cap = SCRATCH_EV;
    d->lk = d->lk_inline, d->lk_cap = SCRATCH_LK;
}

static void dec_dispose(dec_t *d)
{
    if (d->kv != d->kv_inline) ocl_free(d->kv);
    if (d->ev != d->ev_inline) ocl_free(d->ev);
    if (d->lk != d->lk_inline) ocl_free(d->lk);
}

/* Doubles a scratch array; `inl` is its in-struct storage. */
static void *grow_scratch(void *cur, const void *inl, uint32_t *cap, size_t size)
{
    void *p = ocl_malloc((size_t)*cap * 2 * size);
    memcpy(p, cur, (size_t)*cap * size);
    if (cur != inl) ocl_free(cur);
    *cap *= 2;
    return p;
}

static int too_big(dec_t *d)
{
    if (!d->err) d->err = "request expands beyond the decoder's memory budget";
    return OCL_ETOOBIG;
}

static inline int over_budget(dec_t *d, size_t bytes)
{
    return OCL_UNLIKELY(d->a->total + bytes > d->budget);
}

/* Copies n scratch elements to the arena. */
static void *to_arena(dec_t *d, const void *src, uint32_t n, size_t size)
{
    if (!n || over_budget(d, (size_t)n * size)) return NULL;
    void *p = ocl_arena_alloc(d->a, (size_t)n * size);
    memcpy(p, src, (size_t)n * size);
    return p;
}

static int fail(dec_t *d, const ocl_pb_reader_t *r, int rc)
{
    if (!d->err) d->err = r->err ? r->err : "malformed message";
    return rc;
}

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (OCL_UNLIKELY(rc_)) return fail(d, &r, rc_);                                            \
    } while (0)

#define READER(m)                                                                                  \
    ocl_pb_reader_t r;                                                                             \
    ocl_pb_reader_init(&r, (m).p, (m).n)

/* A field we do not decode: wrong wire type if the number is known. */
static int other(dec_t *d, ocl_pb_reader_t *r, uint32_t tag, uint32_t known, int msg)
{
    uint32_t f = tag >> 3;
    if (f < 32 && (known & F(f))) {
        d->err = wt_errs[msg][f];
        return OCL_EINVAL;
    }
    return ocl_pb_skip(r, tag & 7);
}

/* UTF-8 check with an inline ASCII fast path: most OTLP strings are short
 * ASCII, and the call into ocl_utf8_valid costs more than the check. */
static inline int utf8_ok(const char *p, size_t n)
{
    uint64_t acc = 0, w;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        memcpy(&w, p + i, 8);
        acc |= w;
    }
    for (; i < n; i++)
        acc |= (uint8_t)p[i];
    if (OCL_LIKELY((acc & 0x8080808080808080ull) == 0)) return 1;
    return ocl_utf8_valid(p, n);
}

static inline int rd_string(dec_t *d, ocl_pb_reader_t *r, ocl_str_t *s)
{
    int rc = ocl_pb_bytes(r, s);
    if (OCL_UNLIKELY(rc)) return rc;
    if (OCL_UNLIKELY(!utf8_ok(s->p, s->n))) {
        d->err = "invalid UTF-8 in a string field";
        return OCL_EUTF8;
    }
    return 0;
}

static inline int rd_u32(ocl_pb_reader_t *r, uint32_t *v)
{
    uint64_t x;
    int rc = ocl_pb_varint(r, &x);
    *v = (uint32_t)x;
    return rc;
}

static inline int rd_i32(ocl_pb_reader_t *r, int32_t *v)
{
    uint64_t x;
    int rc = ocl_pb_varint(r, &x);
    *v = (int32_t)(uint32_t)x;
    return rc;
}

static inline void *alloc_arr(dec_t *d, uint32_t n, size_t size)
{
    if (!n || over_budget(d, (size_t)n * size)) return NULL;
    return ocl_arena_alloc(d->a, (size_t)n * size);
}

/* First pass: counts occurrences of up to three tags in message m. */
static int count3(dec_t *d, ocl_str_t m, uint32_t t0, uint32_t t1, uint32_t t2, uint32_t c[3])
{
    READER(m);
    uint32_t c0 = 0, c1 = 0, c2 = 0;
    while (!ocl_pb_eof(&r)) {
        uint32_t tag;
        CHECK(ocl_pb_tag(&r, &tag));
        c0 += tag == t0;
        c1 += tag == t1;
        c2 += tag == t2;
        if (OCL_LIKELY((tag & 7) == OCL_PB_LEN)) {
            ocl_str_t s;
            CHECK(ocl_pb_bytes(&r, &s));
        } else {
            CHECK(ocl_pb_skip(&r, tag & 7));
        }
    }
    c[0] = c0, c[1] = c1, c[2] = c2;
    return 0;
}

static uint32_t count1(dec_t *d, ocl_str_t m, uint32_t t, int *rc)
{
    uint32_t c[3];
    *rc = count3(d, m, t, 0, 0, c);
    return c[0];
}

static int dec_anyvalue(dec_t *d, ocl_str_t m, ocl_anyvalue_t *v, int depth);

static int dec_kv(dec_t *d, ocl_str_t m, ocl_kv_t *kv, int depth)
{
    /* Fast path for the canonical layout every SDK writes:
     * 0x0a klen key 0x12 vlen {0x0a slen string | other AnyValue}, with
     * one-byte lengths. Anything else takes the general loop below. */
    const uint8_t *p = (const uint8_t *)m.p;
    if (m.n >= 4 && p[0] == 0x0a && p[1] < 0x80 && (size_t)p[1] + 4 <= m.n) {
        const uint8_t *q = p + 2 + p[1];
        if (q[0] == 0x12 && q[1] < 0x80 && q + 2 + q[1] == p + m.n) {
            kv->key = (ocl_str_t){(const char *)p + 2, p[1]};
            if (OCL_UNLIKELY(!utf8_ok(kv->key.p, kv->key.n))) {
                d->err = "invalid UTF-8 in a string field";
                return OCL_EUTF8;
            }
            const uint8_t *v = q + 2;
            if (q[1] >= 2 && v[0] == 0x0a && v[1] == q[1] - 2) {
                kv->value.type = OCL_AV_STRING;
                kv->value.u.s = (ocl_str_t){(const char *)v + 2, v[1]};
                if (OCL_UNLIKELY(!utf8_ok(kv->value.u.s.p, kv->value.u.s.n))) {
                    d->err = "invalid UTF-8 in a string field";
                    return OCL_EUTF8;
                }
                return 0;
            }
            return dec_anyvalue(d, (ocl_str_t){(const char *)v, q[1]}, &kv->value, depth);
        }
    }
    READER(m);
    kv->key = OCL_STR_NULL;
    kv->value.type = OCL_AV_EMPTY;
    while (!ocl_pb_eof(&r)) {
        uint32_t tag;
        ocl_str_t s;
        CHECK(ocl_pb_tag(&r, &tag));
        switch (tag) {
        case OCL_PB_TAG(1, 2):
            CHECK(rd_string(d, &r, &kv->key));
            break;
        case OCL_PB_TAG(2, 2):
            CHECK(ocl_pb_bytes(&r, &s));
            CHECK(dec_anyvalue(d, s, &kv->value, depth));
            break;
        default:
            CHECK(other(d, &r, tag, F(1) | F(2), M_KV));
        }
    }
    return 0;
}

static int add_kv(dec_t *d, ocl_pb_reader_t *r, ocl_attrs_t *at)
{
    ocl_str_t s;
    int rc = ocl_pb_bytes(r, &s);
    if (rc) return rc;
    return dec_kv(d, s, &at->v[at->n++], 0);
}

static int dec_array(dec_t *d, ocl_str_t m, ocl_anyvalue_t *v, int depth)
{
    if (depth > OCL_OTLP_MAX_DEPTH) {
        d->err = "AnyValue nesting too deep";
        return OCL_EDEPTH;
    }
    int rc;
    uint32_t n = count1(d, m, OCL_PB_TAG(1, 2), &rc);
    if (rc) return rc;
    ocl_anyvalue_t *arr = alloc_arr(d, n, sizeof(ocl_anyvalue_t));
    if (OCL_UNLIKELY(n && !arr)) return too_big(d);
    uint32_t i = 0;
    READER(m);
    while (!ocl_pb_eof(&r)) {
        uint32_t tag;
        ocl_str_t s;
        CHECK(ocl_pb_tag(&r, &tag));
        if (tag == OCL_PB_TAG(1, 2)) {
            CHECK(ocl_pb_bytes(&r, &s));
            CHECK(dec_anyvalue(d, s, &arr[i++], depth));
        } else {
            CHECK(other(d, &r, tag, F(1), M_ARRAY));
        }
    }
    v->type = OCL_AV_ARRAY;
    v->u.arr.v = arr;
    v->u.arr.n = i;
    return 0;
}

static int dec_kvlist(dec_t *d, ocl_str_t m, ocl_anyvalue_t *v, int depth)
{
    if (depth > OCL_OTLP_MAX_DEPTH) {
        d->err = "AnyValue nesting too deep";
        return OCL_EDEPTH;
    }
    int rc;
    uint32_t n = count1(d, m, OCL_PB_TAG(1, 2), &rc);
    if (rc) return rc;
    ocl_kv_t *kv = alloc_arr(d, n, sizeof(ocl_kv_t));
    if (OCL_UNLIKELY(n && !kv)) return too_big(d);
    uint32_t i = 0;
    READER(m);
    while (!ocl_pb_eof(&r)) {
        uint32_t tag;
        ocl_str_t s;
        CHECK(ocl_pb_tag(&r, &tag));
        if (tag == OCL_PB_TAG(1, 2)) {
            CHECK(ocl_pb_bytes(&r, &s));
            CHECK(dec_kv(d, s, &kv[i++], depth));
        } else {
            CHECK(other(d, &r, tag, F(1), M_KVLIST));
        }
    }
    v->type = OCL_AV_KVLIST;
    v->u.kvlist.kv = kv;
    v->u.kvlist.n = i;
    return 0;
}

static int dec_anyvalue(dec_t *d, ocl_str_t m, ocl_anyvalue_t *v, int depth)
{
    READER(m);
    v->type = OCL_AV_EMPTY;
    while (!ocl_pb_eof(&r)) {
        uint32_t tag;
        uint64_t x;
        ocl_str_t s;
        CHECK(ocl_pb_tag(&r, &tag));
        switch (tag) {
        case OCL_PB_TAG(1, 2):
            CHECK(rd_string(d, &r, &v->u.s));
            v->type = OCL_AV_STRING;
            break;
        case OCL_PB_TAG(2, 0):
            CHECK(ocl_pb_varint(&r, &x));
            v->u.b = x != 0;
            v->type = OCL_AV_BOOL;
            break;
        case OCL_PB_TAG(3, 0):
            CHECK(ocl_pb_varint(&r, &x));
            v->u.i = (int64_t)x;
            v->type = OCL_AV_INT;
            break;
        case OCL_PB_TAG(4, 1):
            CHECK(ocl_pb_double(&r, &v->u.d));
            v->type = OCL_AV_DOUBLE;
            break;
        case OCL_PB_TAG(5, 2):
            CHECK(ocl_pb_bytes(&r, &s));
            CHECK(dec_array(d, s, v, depth + 1));
            break;
        case OCL_PB_TAG(6, 2):
            CHECK(ocl_pb_bytes(&r, &s));
            CHECK(dec_kvlist(d, s, v, depth + 1));
            break;
        case OCL_PB_TAG(7, 2):
            CHECK(ocl_pb_bytes(&r, &v->u.s));
            v->type = OCL_AV_BYTES;
            break;
        default:
            CHECK(other(d, &r, tag, F(1) | F(2) | F(3) | F(4) | F(5) | F(6) | F(7), M_ANY));
        }
    }
    return 0;
}

static int dec_resource(dec_t *d, ocl_str_t m, void *out)
{
    ocl_resource_t *o = out;
    int rc;
    memset(o, 0, sizeof *o);
    o->raw = m;
    o->present = true;
    uint32_t n = count1(d, m, OCL_PB_TAG(1, 2), &rc);
    if (rc) return rc;
    o->attrs.v = alloc_arr(d, n, sizeof(ocl_kv_t));
    if (OCL_UNLIKELY(n && !o->attrs.v)) return too_big(d);
    READER(m);
    while (!ocl_pb_eof(&r)) {
        uint32_t tag;
        CHECK(ocl_pb_tag(&r, &tag));
        switch (tag) {
        case OCL_PB_TAG(1, 2):
            CHECK(add_kv(d, &r, &o->attrs));
            break;
        case OCL_PB_TAG(2, 0):
            CHECK(rd_u32(&r, &o->dropped_attrs));
            break;
        default:
            CHECK(other(d, &r, tag, F(1) | F(2), M_RESOURCE));
        }
    }
    return 0;
}

static int dec_scope(dec_t *d, ocl_str_t m, void *out)
{
    ocl_scope_t *o = out;
    int rc;
    memset(o, 0, sizeof *o);
    o->raw = m;
    o->present = true;
    uint32_t n = count1(d, m, OCL_PB_TAG(3, 2), &rc);
    if (rc) return rc;
    o->attrs.v = alloc_arr(d, n, sizeof(ocl_kv_t));
    if (OCL_UNLIKELY(n && !o->attrs.v)) return too_big(d);
    READER(m);
    while (!ocl_pb_eof(&r)) {
        uint32_t tag;
        ocl_str_t s;
        CHECK(ocl_pb_tag(&r, &tag));
        switch (tag) {
        case OCL_PB_TAG(1, 2):
            CHECK(rd_string(d, &r, &o->name));
            break;
        case OCL_PB_TAG(2, 2):
            CHECK(rd_string(d, &r, &o->version));
            break;
        case OCL_PB_TAG(3, 2):
            CHECK(ocl_pb_bytes(&r, &s));
            CHECK(dec_kv(d, s, &o->attrs.v[o->attrs.n++], 0));
            break;
        case OCL_PB_TAG(4, 0):
            CHECK(rd_u32(&r, &o->dropped_attrs));
            break;
        default:
            CHECK(other(d, &r, tag, F(1) | F(2) | F(3) | F(4), M_SCOPE));
        }
    }
    return 0;
}

/* ---- traces ---- */

static int dec_event(dec_t *d, ocl_str_t m, ocl_span_event_t *o)
{
    int rc;
    memset(o, 0, sizeof *o);
    uint32_t n = count1(d, m, OCL_PB_TAG(3, 2), &rc);
    if (rc) return rc;
    o->attrs.v = alloc_arr(d, n, sizeof(ocl_kv_t));
    if (OCL_UNLIKELY(n && !o->attrs.v)) return too_big(d);
    READER(m);
    while (!ocl_pb_eof(&r)) {
        uint32_t tag;
        ocl_str_t s;
        CHECK(ocl_pb_tag(&r, &tag));
        switch (tag) {
        case OCL_PB_TAG(1, 1):
            CHECK(ocl_pb_fixed64(&r, &o->time_unix_nano));
            break;
        case OCL_PB_TAG(2, 2):
            CHECK(rd_string(d, &r, &o->name));
            break;
        case OCL_PB_TAG(3, 2):
            CHECK(ocl_pb_bytes(&r, &s));
            CHECK(dec_kv(d, s, &o->attrs.v[o->attrs.n++], 0));
            break;
        case OCL_PB_TAG(4, 0):
            CHECK(rd_u32(&r, &o->dropped_attrs));
            break;
        default:
            CHECK(other(d, &r, tag, F(1) | F(2) | F(3) | F(4), M_EVENT));
        }
    }
    return 0;
}

static int dec_link(dec_t *d, ocl_str_t m, ocl_span_link_t *o)
{
    int rc;
    memset(o, 0, sizeof *o);
    uint32_t n = count1(d, m, OCL_PB_TAG(4, 2), &rc);
    if (rc) return rc;
    o->attrs.v = alloc_arr(d, n, sizeof(ocl_kv_t));
    if (OCL_UNLIKELY(n && !o->attrs.v)) return too_big(d);
    READER(m);
    while (!ocl_pb_eof(&r)) {
        uint32_t tag;
        ocl_str_t s;
        CHECK(ocl_pb_tag(&r, &tag));
        switch (tag) {
        case OCL_PB_TAG(1, 2):
            CHECK(ocl_pb_bytes(&r, &o->trace_id));
            break;
        case OCL_PB_TAG(2, 2):
            CHECK(ocl_pb_bytes(&r, &o->span_id));
            break;
        case OCL_PB_TAG(3, 2):
            CHECK(rd_string(d, &r, &o->trace_state));
            break;
        case OCL_PB_TAG(4, 2):
            CHECK(ocl_pb_bytes(&r, &s));
            CHECK(dec_kv(d, s, &o->attrs.v[o->attrs.n++], 0));
            break;
        case OCL_PB_TAG(5, 0):
            CHECK(rd_u32(&r, &o->dropped_attrs));
            break;
        case OCL_PB_TAG(6, 5):
            CHECK(ocl_pb_fixed32(&r, &o->flags));
            break;
        default:
            CHECK(other(d, &r, tag, F(1) | F(2) | F(3) | F(4) | F(5) | F(6), M_LINK));
        }
    }
    return 0;
}

static int dec_status(dec_t *d, ocl_str_t m, ocl_span_t *o)
{
    READER(m);
    o->has_status = true;
    o->status_message = OCL_STR_NULL;
    o->status_code = 0;
    while (!ocl_pb_eof(&r)) {
        uint32_t tag;
        CHECK(ocl_pb_tag(&r, &tag));
        switch (tag) {
        case OCL_PB_TAG(2, 2):
            CHECK(rd_string(d, &r, &o->status_message));
            break;
        case OCL_PB_TAG(3, 0):
            CHECK(rd_i32(&r, &o->status_code));
            break;
        default:
            CHECK(other(d, &r, tag, F(2) | F(3), M_STATUS));
        }
    }
    return 0;
}

#define SPAN_KNOWN                                                                                 \
    (F(1) | F(2) | F(3) | F(4) | F(5) | F(6) | F(7) | F(8) | F(9) | F(10) | F(11) | F(12) |        \
     F(13) | F(14) | F(15) | F(16))

static int dec_span(dec_t *d, ocl_str_t m, void *out)
{
    ocl_span_t *o = out;
    uint32_t nkv = 0, nev = 0, nlk = 0;
    memset(o, 0, sizeof *o);
    o->raw = m;
    READER(m);
    while (!ocl_pb_eof(&r)) {
        uint32_t tag;
        ocl_str_t s;
        CHECK(ocl_pb_tag(&r, &tag));
        switch (tag) {
        case OCL_PB_TAG(1, 2):
            CHECK(ocl_pb_bytes(&r, &o->trace_id));
            break;
        case OCL_PB_TAG(2, 2):
            CHECK(ocl_pb_bytes(&r, &o->span_id));
            break;
        case OCL_PB_TAG(3, 2):
            CHECK(rd_string(d, &r, &o->trace_state));
            break;
        case OCL_PB_TAG(4, 2):
            CHECK(ocl_pb_bytes(&r, &o->parent_span_id));
            break;
        case OCL_PB_TAG(5, 2):
            CHECK(rd_string(d, &r, &o->name));
            break;
        case OCL_PB_TAG(6, 0):
            CHECK(rd_i32(&r, &o->kind));
            break;
        case OCL_PB_TAG(7, 1):
            CHECK(ocl_pb_fixed64(&r, &o->start_unix_nano));
            break;
        case OCL_PB_TAG(8, 1):
            CHECK(ocl_pb_fixed64(&r, &o->end_unix_nano));
            break;
        case OCL_PB_TAG(9, 2):
            CHECK(ocl_pb_bytes(&r, &s));
            if (OCL_UNLIKELY(nkv == d->kv_cap))
                d->kv = grow_scratch(d->kv, d->kv_inline, &d->kv_cap, sizeof *d->kv);
            CHECK(dec_kv(d, s, &d->kv[nkv++], 0));
            break;
        case OCL_PB_TAG(10, 0):
            CHECK(rd_u32(&r, &o->dropped_attrs));
            break;
        case OCL_PB_TAG(11, 2):
            CHECK(ocl_pb_bytes(&r, &s));
            if (OCL_UNLIKELY(nev == d->ev_cap))
                d->ev = grow_scratch(d->ev, d->ev_inline, &d->ev_cap, sizeof *d->ev);
            CHECK(dec_event(d, s, &d->ev[nev++]));
            break;
        case OCL_PB_TAG(12, 0):
            CHECK(rd_u32(&r, &o->dropped_events));
            break;
        case OCL_PB_TAG(13, 2):
            CHECK(ocl_pb_bytes(&r, &s));
            if (OCL_UNLIKELY(nlk == d->lk_cap))
                d->lk = grow_scratch(d->lk, d->lk_inline, &d->lk_cap, sizeof *d->lk);
            CHECK(dec_link(d, s, &d->lk[nlk++]));
            break;
        case OCL_PB_TAG(14, 0):
            CHECK(rd_u32(&r, &o->dropped_links));
            break;
        case OCL_PB_TAG(15, 2):
            CHECK(ocl_pb_bytes(&r, &s));
            CHECK(dec_status(d, s, o));
            break;
        case OCL_PB_TAG(16, 5):
            CHECK(ocl_pb_fixed32(&r, &o->flags));
            break;
        default:
            CHECK(other(d, &r, tag, SPAN_KNOWN, M_SPAN));
        }
    }
    o->attrs.v = to_arena(d, d->kv, nkv, sizeof *d->kv);
    if (OCL_UNLIKELY(nkv && !o->attrs.v)) return too_big(d);
    o->attrs.n = nkv;
    o->events = to_arena(d, d->ev, nev, sizeof *d->ev);
    if (OCL_UNLIKELY(nev && !o->events)) return too_big(d);
    o->n_events = nev;
    o->links = to_arena(d, d->lk, nlk, sizeof *d->lk);
    if (OCL_UNLIKELY(nlk && !o->links)) return too_big(d);
    o->n_links = nlk;
    return 0;
}

static int finish(dec_t *d, int rc, const char **err)
{
    dec_dispose(d);
    if (err) *err = rc ? (d->err ? d->err : "malformed message") : NULL;
    return rc;
}

/* Every OTLP container has one shape: field 1 a header message (resource
 * or scope), field 2 the repeated children, field 3 schema_url; the export
 * request is the same with only the children, as field 1. This decodes
 * either: `hdr` is NULL for a request. Children go to an arena array of
 * `size`-byte elements, counted first so it is allocated once. */
typedef int (*dec_fn)(dec_t *d, ocl_str_t m, void *out);

static int dec_container(dec_t *d, ocl_str_t m, int msg, dec_fn hdr, void *hdr_out, dec_fn child,
                         size_t size, void **children, uint32_t *n_children, ocl_str_t *schema_url)
{
    int rc;
    uint32_t cf = hdr ? 2 : 1; /* field number of the children */
    uint32_t n = count1(d, m, OCL_PB_TAG(cf, 2), &rc);
    if (rc) return rc;
    unsigned char *arr = alloc_arr(d, n, size);
    if (OCL_UNLIKELY(n && !arr)) return too_big(d);
    *children = arr;
    *n_children = 0;
    uint32_t known = hdr ? F(1) | F(2) | F(3) : F(1);
    READER(m);
    while (!ocl_pb_eof(&r)) {
        uint32_t tag;
        ocl_str_t s;
        CHECK(ocl_pb_tag(&r, &tag));
        if (tag == OCL_PB_TAG(cf, 2)) {
            CHECK(ocl_pb_bytes(&r, &s));
            CHECK(child(d, s, arr + (size_t)(*n_children)++ * size));
        } else if (hdr && tag == OCL_PB_TAG(1, 2)) {
            CHECK(ocl_pb_bytes(&r, &s));
            CHECK(hdr(d, s, hdr_out));
        } else if (hdr && tag == OCL_PB_TAG(3, 2)) {
            CHECK(rd_string(d, &r, schema_url));
        } else {
            CHECK(other(d, &r, tag, known, msg));
        }
    }
    return 0;
}

static int decode_request(const void *buf, size_t len, ocl_arena_t *a, int msg, dec_fn child,
                          size_t size, void **children, uint32_t *n, const char **err)
{
    dec_t dd, *d = &dd;
    dec_init(d, a, len);
    *children = NULL;
    *n = 0;
    int rc =
        dec_container(d, (ocl_str_t){buf, len}, msg, NULL, NULL, child, size, children, n, NULL);
    if (rc) *children = NULL, *n = 0;
    return finish(d, rc, err);
}

static int dec_scope_spans(dec_t *d, ocl_str_t m, void *out)
{
    ocl_scope_spans_t *o = out;
    memset(o, 0, sizeof *o);
    o->raw = m;
    void *arr = NULL;
    int rc = dec_container(d, m, M_SS, dec_scope, &o->scope, dec_span, sizeof(ocl_span_t), &arr,
                           &o->n_spans, &o->schema_url);
    o->spans = arr;
    return rc;
}

static int dec_resource_spans(dec_t *d, ocl_str_t m, void *out)
{
    ocl_resource_spans_t *o = out;
    memset(o, 0, sizeof *o);
    o->raw = m;
    void *arr = NULL;
    int rc = dec_container(d, m, M_RS, dec_resource, &o->resource, dec_scope_spans,
                           sizeof(ocl_scope_spans_t), &arr, &o->n_scope_spans, &o->schema_url);
    o->scope_spans = arr;
    return rc;
}

int ocl_otlp_pb_decode_traces(const void *buf, size_t len, ocl_arena_t *a, ocl_traces_req_t *out,
                              const char **err)
{
    void *arr = NULL;
    int rc = decode_request(buf, len, a, M_TREQ, dec_resource_spans, sizeof(ocl_resource_spans_t),
                            &arr, &out->n_rs, err);
    out->rs = arr;
    return rc;
}

/* ---- metrics ---- */

static int dec_exemplar(dec_t *d, ocl_str_t m, ocl_exemplar_t *o)
{
    int rc;
    memset(o, 0, sizeof *o);
    uint32_t n = count1(d, m, OCL_PB_TAG(7, 2), &rc);
    if (rc) return rc;
    o->filtered_attrs.v = alloc_arr(d, n, sizeof(ocl_kv_t));
    if (OCL_UNLIKELY(n && !o->filtered_attrs.v)) return too_big(d);
    READER(m);
    while (!ocl_pb_eof(&r)) {
        uint32_t tag;
        ocl_str_t s;
        uint64_t x;
        CHECK(ocl_pb_tag(&r, &tag));
        switch (tag) {
        case OCL_PB_TAG(2, 1):
            CHECK(ocl_pb_fixed64(&r, &o->time_unix_nano));
            break;
        case OCL_PB_TAG(3, 1):
            CHECK(ocl_pb_double(&r, &o->as_double));
            o->is_int = false;
            break;
        case OCL_PB_TAG(4, 2):
            CHECK(ocl_pb_bytes(&r, &o->span_id));
            break;
        case OCL_PB_TAG(5, 2):
            CHECK(ocl_pb_bytes(&r, &o->trace_id));
            break;
        case OCL_PB_TAG(6, 1):
            CHECK(ocl_pb_fixed64(&r, &x));
            o->as_int = (int64_t)x;
            o->is_int = true;
            break;
        case OCL_PB_TAG(7, 2):
            CHECK(ocl_pb_bytes(&r, &s));
            CHECK(dec_kv(d, s, &o->filtered_attrs.v[o->filtered_attrs.n++], 0));
            break;
        default:
            CHECK(other(d, &r, tag, F(2) | F(3) | F(4) | F(5) | F(6) | F(7), M_EXEMPLAR));
        }
    }
    return 0;
}

static int add_exemplar(dec_t *d, ocl_pb_reader_t *r, ocl_exemplars_t *ex)
{
    ocl_str_t s;
    int rc = ocl_pb_bytes(r, &s);
    if (rc) return rc;
    return dec_exemplar(d, s, &ex->v[ex->n++]);
}

static int dec_number_dp(dec_t *d, ocl_str_t m, ocl_number_dp_t *o)
{
    uint32_t c[3];
    int rc;
    memset(o, 0, sizeof *o);
    if ((rc = count3(d, m, OCL_PB_TAG(5, 2), OCL_PB_TAG(7, 2), 0, c))) return rc;
    o->exemplars.v = alloc_arr(d, c[0], sizeof(ocl_exemplar_t));
    if (OCL_UNLIKELY(c[0] && !o->exemplars.v)) return too_big(d);
    o->attrs.v = alloc_arr(d, c[1], sizeof(ocl_kv_t));
    if (OCL_UNLIKELY(c[1] && !o->attrs.v)) return too_big(d);
    READER(m);
    while (!ocl_pb_eof(&r)) {
        uint32_t tag;
        uint64_t x;
        CHECK(ocl_pb_tag(&r, &tag));
        switch (tag) {
        case OCL_PB_TAG(2, 1):
            CHECK(ocl_pb_fixed64(&r, &o->start_unix_nano));
            break;
        case OCL_PB_TAG(3, 1):
            CHECK(ocl_pb_fixed64(&r, &o->time_unix_nano));
            break;
        case OCL_PB_TAG(4, 1):
            CHECK(ocl_pb_double(&r, &o->as_double));
            o->is_int = false;
            break;
        case OCL_PB_TAG(5, 2):
            CHECK(add_exemplar(d, &r, &o->exemplars));
            break;
        case OCL_PB_TAG(6, 1):
            CHECK(ocl_pb_fixed64(&r, &x));
            o->as_int = (int64_t)x;
            o->is_int = true;
            break;
        case OCL_PB_TAG(7, 2):
            CHECK(add_kv(d, &r, &o->attrs));
            break;
        case OCL_PB_TAG(8, 0):
            CHECK(rd_u32(&r, &o->flags));
            break;
        default:
            CHECK(other(d, &r, tag, F(2) | F(3) | F(4) | F(5) | F(6) | F(7) | F(8), M_NDP));
        }
    }
    return 0;
}

/* Number of elements of a packed fixed-width payload. */
static int packed_fixed_count(ocl_pb_reader_t *r, size_t width, uint32_t *n)
{
    ocl_str_t s;
    int rc = ocl_pb_bytes(r, &s);
    if (rc) return rc;
    if (s.n % width) {
        r->err = "packed fixed-width field: length not a multiple of the element size";
        return OCL_EINVAL;
    }
    *n += (uint32_t)(s.n / width);
    return 0;
}

/* Appends a packed payload of little-endian 64-bit values to arr. */
static int packed_fixed64(ocl_pb_reader_t *r, uint64_t *arr, uint32_t *n)
{
    ocl_str_t s;
    int rc = ocl_pb_bytes(r, &s);
    if (rc) return rc;
    if (s.n % 8) {
        r->err = "packed fixed-width field: length not a multiple of the element size";
        return OCL_EINVAL;
    }
    for (size_t i = 0; i < s.n; i += 8)
        arr[(*n)++] = ocl_pb_load64((const uint8_t *)s.p + i);
    return 0;
}

static int dec_hist_dp(dec_t *d, ocl_str_t m, ocl_histogram_dp_t *o)
{
    memset(o, 0, sizeof *o);
    uint32_t n_ex = 0, n_kv = 0, n_bc = 0, n_eb = 0;
    {
        READER(m);
        while (!ocl_pb_eof(&r)) {
            uint32_t tag;
            CHECK(ocl_pb_tag(&r, &tag));
            switch (tag) {
            case OCL_PB_TAG(6, 2):
                CHECK(packed_fixed_count(&r, 8, &n_bc));
                break;
            case OCL_PB_TAG(6, 1):
                n_bc++;
                CHECK(ocl_pb_skip(&r, OCL_PB_I64));
                break;
            case OCL_PB_TAG(7, 2):
                CHECK(packed_fixed_count(&r, 8, &n_eb));
                break;
            case OCL_PB_TAG(7, 1):
                n_eb++;
                CHECK(ocl_pb_skip(&r, OCL_PB_I64));
                break;
            case OCL_PB_TAG(8, 2):
                n_ex++;
                CHECK(ocl_pb_skip(&r, OCL_PB_LEN));
                break;
            case OCL_PB_TAG(9, 2):
                n_kv++;
                CHECK(ocl_pb_skip(&r, OCL_PB_LEN));
                break;
            default:
                CHECK(ocl_pb_skip(&r, tag & 7));
            }
        }
    }
    o->exemplars.v = alloc_arr(d, n_ex, sizeof(ocl_exemplar_t));
    if (OCL_UNLIKELY(n_ex && !o->exemplars.v)) return too_big(d);
    o->attrs.v = alloc_arr(d, n_kv, sizeof(ocl_kv_t));
    if (OCL_UNLIKELY(n_kv && !o->attrs.v)) return too_big(d);
    o->bucket_counts = alloc_arr(d, n_bc, sizeof(uint64_t));
    if (OCL_UNLIKELY(n_bc && !o->bucket_counts)) return too_big(d);
    o->explicit_bounds = alloc_arr(d, n_eb, sizeof(double));
    if (OCL_UNLIKELY(n_eb && !o->explicit_bounds)) return too_big(d);
    READER(m);
    while (!ocl_pb_eof(&r)) {
        uint32_t tag;
        uint64_t x;
        CHECK(ocl_pb_tag(&r, &tag));
        switch (tag) {
        case OCL_PB_TAG(2, 1):
            CHECK(ocl_pb_fixed64(&r, &o->start_unix_nano));
            break;
        case OCL_PB_TAG(3, 1):
            CHECK(ocl_pb_fixed64(&r, &o->time_unix_nano));
            break;
        case OCL_PB_TAG(4, 1):
            CHECK(ocl_pb_fixed64(&r, &o->count));
            break;
        case OCL_PB_TAG(5, 1):
            CHECK(ocl_pb_double(&r, &o->sum));
            o->has_sum = true;
            break;
        case OCL_PB_TAG(6, 2):
            CHECK(packed_fixed64(&r, o->bucket_counts, &o->n_bucket_counts));
            break;
        case OCL_PB_TAG(6, 1):
            CHECK(ocl_pb_fixed64(&r, &o->bucket_counts[o->n_bucket_counts++]));
            break;
        case OCL_PB_TAG(7, 2):
            CHECK(packed_fixed64(&r, (uint64_t *)o->explicit_bounds, &o->n_explicit_bounds));
            break;
        case OCL_PB_TAG(7, 1):
            CHECK(ocl_pb_fixed64(&r, &x));
            memcpy(&o->explicit_bounds[o->n_explicit_bounds++], &x, 8);
            break;
        case OCL_PB_TAG(8, 2):
            CHECK(add_exemplar(d, &r, &o->exemplars));
            break;
        case OCL_PB_TAG(9, 2):
            CHECK(add_kv(d, &r, &o->attrs));
            break;
        case OCL_PB_TAG(10, 0):
            CHECK(rd_u32(&r, &o->flags));
            break;
        case OCL_PB_TAG(11, 1):
            CHECK(ocl_pb_double(&r, &o->min));
            o->has_min = true;
            break;
        case OCL_PB_TAG(12, 1):
            CHECK(ocl_pb_double(&r, &o->max));
            o->has_max = true;
            break;
        default:
            CHECK(
                other(d, &r, tag,
                      F(2) | F(3) | F(4) | F(5) | F(6) | F(7) | F(8) | F(9) | F(10) | F(11) | F(12),
                      M_HDP));
        }
    }
    return 0;
}

static int dec_buckets(dec_t *d, ocl_str_t m, ocl_exp_buckets_t *o)
{
    uint32_t n = 0;
    memset(o, 0, sizeof *o);
    {
        READER(m);
        while (!ocl_pb_eof(&r)) {
            uint32_t tag;
            ocl_str_t s;
            CHECK(ocl_pb_tag(&r, &tag));
            if (tag == OCL_PB_TAG(2, 2)) {
                CHECK(ocl_pb_bytes(&r, &s));
                /* Each varint ends with exactly one byte below 0x80. */
                for (size_t i = 0; i < s.n; i++)
                    n += (uint8_t)s.p[i] < 0x80;
            } else {
                n += tag == OCL_PB_TAG(2, 0);
                CHECK(ocl_pb_skip(&r, tag & 7));
            }
        }
    }
    o->bucket_counts = alloc_arr(d, n, sizeof(uint64_t));
    if (OCL_UNLIKELY(n && !o->bucket_counts)) return too_big(d);
    READER(m);
    while (!ocl_pb_eof(&r)) {
        uint32_t tag;
        uint64_t x;
        ocl_str_t s;
        CHECK(ocl_pb_tag(&r, &tag));
        switch (tag) {
        case OCL_PB_TAG(1, 0):
            CHECK(ocl_pb_varint(&r, &x));
            o->offset = ocl_pb_unzigzag32(x);
            break;
        case OCL_PB_TAG(2, 2): {
            CHECK(ocl_pb_bytes(&r, &s));
            ocl_pb_reader_t pr;
            ocl_pb_reader_init(&pr, s.p, s.n);
            while (!ocl_pb_eof(&pr)) {
                int rc = ocl_pb_varint(&pr, &x);
                if (rc) return fail(d, &pr, rc);
                o->bucket_counts[o->n_bucket_counts++] = x;
            }
            break;
        }
        case OCL_PB_TAG(2, 0):
            CHECK(ocl_pb_varint(&r, &o->bucket_counts[o->n_bucket_counts++]));
            break;
        default:
            CHECK(other(d, &r, tag, F(1) | F(2), M_BUCKETS));
        }
    }
    return 0;
}

static int dec_ehist_dp(dec_t *d, ocl_str_t m, ocl_exp_histogram_dp_t *o)
{
    uint32_t c[3];
    int rc;
    memset(o, 0, sizeof *o);
    if ((rc = count3(d, m, OCL_PB_TAG(1, 2), OCL_PB_TAG(11, 2), 0, c))) return rc;
    o->attrs.v = alloc_arr(d, c[0], sizeof(ocl_kv_t));
    if (OCL_UNLIKELY(c[0] && !o->attrs.v)) return too_big(d);
    o->exemplars.v = alloc_arr(d, c[1], sizeof(ocl_exemplar_t));
    if (OCL_UNLIKELY(c[1] && !o->exemplars.v)) return too_big(d);
    READER(m);
    while (!ocl_pb_eof(&r)) {
        uint32_t tag;
        uint64_t x;
        ocl_str_t s;
        CHECK(ocl_pb_tag(&r, &tag));
        switch (tag) {
        case OCL_PB_TAG(1, 2):
            CHECK(add_kv(d, &r, &o->attrs));
            break;
        case OCL_PB_TAG(2, 1):
            CHECK(ocl_pb_fixed64(&r, &o->start_unix_nano));
            break;
        case OCL_PB_TAG(3, 1):
            CHECK(ocl_pb_fixed64(&r, &o->time_unix_nano));
            break;
        case OCL_PB_TAG(4, 1):
            CHECK(ocl_pb_fixed64(&r, &o->count));
            break;
        case OCL_PB_TAG(5, 1):
            CHECK(ocl_pb_double(&r, &o->sum));
            o->has_sum = true;
            break;
        case OCL_PB_TAG(6, 0):
            CHECK(ocl_pb_varint(&r, &x));
            o->scale = ocl_pb_unzigzag32(x);
            break;
        case OCL_PB_TAG(7, 1):
            CHECK(ocl_pb_fixed64(&r, &o->zero_count));
            break;
        case OCL_PB_TAG(8, 2):
            CHECK(ocl_pb_bytes(&r, &s));
            CHECK(dec_buckets(d, s, &o->positive));
            break;
        case OCL_PB_TAG(9, 2):
            CHECK(ocl_pb_bytes(&r, &s));
            CHECK(dec_buckets(d, s, &o->negative));
            break;
        case OCL_PB_TAG(10, 0):
            CHECK(rd_u32(&r, &o->flags));
            break;
        case OCL_PB_TAG(11, 2):
            CHECK(add_exemplar(d, &r, &o->exemplars));
            break;
        case OCL_PB_TAG(12, 1):
            CHECK(ocl_pb_double(&r, &o->min));
            o->has_min = true;
            break;
        case OCL_PB_TAG(13, 1):
            CHECK(ocl_pb_double(&r, &o->max));
            o->has_max = true;
            break;
        case OCL_PB_TAG(14, 1):
            CHECK(ocl_pb_double(&r, &o->zero_threshold));
            break;
        default:
            CHECK(other(d, &r, tag,
                        F(1) | F(2) | F(3) | F(4) | F(5) | F(6) | F(7) | F(8) | F(9) | F(10) |
                            F(11) | F(12) | F(13) | F(14),
                        M_EHDP));
        }
    }
    return 0;
}

static int dec_quantile(dec_t *d, ocl_str_t m, ocl_quantile_t *o)
{
    READER(m);
    o->quantile = 0;
    o->value = 0;
    while (!ocl_pb_eof(&r)) {
        uint32_t tag;
        CHECK(ocl_pb_tag(&r, &tag));
        switch (tag) {
        case OCL_PB_TAG(1, 1):
            CHECK(ocl_pb_double(&r, &o->quantile));
            break;
        case OCL_PB_TAG(2, 1):
            CHECK(ocl_pb_double(&r, &o->value));
            break;
        default:
            CHECK(other(d, &r, tag, F(1) | F(2), M_QUANT));
        }
    }
    return 0;
}

static int dec_summary_dp(dec_t *d, ocl_str_t m, ocl_summary_dp_t *o)
{
    uint32_t c[3];
    int rc;
    memset(o, 0, sizeof *o);
    if ((rc = count3(d, m, OCL_PB_TAG(6, 2), OCL_PB_TAG(7, 2), 0, c))) return rc;
    o->quantiles = alloc_arr(d, c[0], sizeof(ocl_quantile_t));
    if (OCL_UNLIKELY(c[0] && !o->quantiles)) return too_big(d);
    o->attrs.v = alloc_arr(d, c[1], sizeof(ocl_kv_t));
    if (OCL_UNLIKELY(c[1] && !o->attrs.v)) return too_big(d);
    READER(m);
    while (!ocl_pb_eof(&r)) {
        uint32_t tag;
        ocl_str_t s;
        CHECK(ocl_pb_tag(&r, &tag));
        switch (tag) {
        case OCL_PB_TAG(2, 1):
            CHECK(ocl_pb_fixed64(&r, &o->start_unix_nano));
            break;
        case OCL_PB_TAG(3, 1):
            CHECK(ocl_pb_fixed64(&r, &o->time_unix_nano));
            break;
        case OCL_PB_TAG(4, 1):
            CHECK(ocl_pb_fixed64(&r, &o->count));
            break;
        case OCL_PB_TAG(5, 1):
            CHECK(ocl_pb_double(&r, &o->sum));
            break;
        case OCL_PB_TAG(6, 2):
            CHECK(ocl_pb_bytes(&r, &s));
            CHECK(dec_quantile(d, s, &o->quantiles[o->n_quantiles++]));
            break;
        case OCL_PB_TAG(7, 2):
            CHECK(add_kv(d, &r, &o->attrs));
            break;
        case OCL_PB_TAG(8, 0):
            CHECK(rd_u32(&r, &o->flags));
            break;
        default:
            CHECK(other(d, &r, tag, F(2) | F(3) | F(4) | F(5) | F(6) | F(7) | F(8), M_SDP));
        }
    }
    return 0;
}

/* Gauge, Sum, Histogram, ExponentialHistogram or Summary message. */
static int dec_metric_data(dec_t *d, ocl_str_t m, ocl_metric_t *o, ocl_metric_type_t type)
{
    static const int msg_of[] = {
        [OCL_METRIC_GAUGE] = M_GAUGE,     [OCL_METRIC_SUM] = M_SUM,
        [OCL_METRIC_HISTOGRAM] = M_HIST,  [OCL_METRIC_EXP_HISTOGRAM] = M_EHIST,
        [OCL_METRIC_SUMMARY] = M_SUMMARY,
    };
    static const uint32_t known_of[] = {
        [OCL_METRIC_GAUGE] = F(1),
        [OCL_METRIC_SUM] = F(1) | F(2) | F(3),
        [OCL_METRIC_HISTOGRAM] = F(1) | F(2),
        [OCL_METRIC_EXP_HISTOGRAM] = F(1) | F(2),
        [OCL_METRIC_SUMMARY] = F(1),
    };
    static const size_t size_of[] = {
        [OCL_METRIC_GAUGE] = sizeof(ocl_number_dp_t),
        [OCL_METRIC_SUM] = sizeof(ocl_number_dp_t),
        [OCL_METRIC_HISTOGRAM] = sizeof(ocl_histogram_dp_t),
        [OCL_METRIC_EXP_HISTOGRAM] = sizeof(ocl_exp_histogram_dp_t),
        [OCL_METRIC_SUMMARY] = sizeof(ocl_summary_dp_t),
    };
    int rc;
    uint32_t known = known_of[type];
    uint32_t n = count1(d, m, OCL_PB_TAG(1, 2), &rc);
    if (rc) return rc;
    o->type = type;
    o->temporality = 0;
    o->is_monotonic = false;
    o->n_dp = 0;
    void *arr = alloc_arr(d, n, size_of[type]);
    if (OCL_UNLIKELY(n && !arr)) return too_big(d);
    o->dp.number = arr;
    READER(m);
    while (!ocl_pb_eof(&r)) {
        uint32_t tag;
        uint64_t x;
        ocl_str_t s;
        CHECK(ocl_pb_tag(&r, &tag));
        if (tag == OCL_PB_TAG(1, 2)) {
            CHECK(ocl_pb_bytes(&r, &s));
            uint32_t i = o->n_dp++;
            switch (type) {
            case OCL_METRIC_GAUGE:
            case OCL_METRIC_SUM:
                CHECK(dec_number_dp(d, s, &o->dp.number[i]));
                break;
            case OCL_METRIC_HISTOGRAM:
                CHECK(dec_hist_dp(d, s, &o->dp.hist[i]));
                break;
            case OCL_METRIC_EXP_HISTOGRAM:
                CHECK(dec_ehist_dp(d, s, &o->dp.ehist[i]));
                break;
            case OCL_METRIC_SUMMARY:
                CHECK(dec_summary_dp(d, s, &o->dp.summary[i]));
                break;
            default:
                break;
            }
        } else if (tag == OCL_PB_TAG(2, 0) && (known & F(2))) {
            CHECK(rd_i32(&r, &o->temporality));
        } else if (tag == OCL_PB_TAG(3, 0) && (known & F(3))) {
            CHECK(ocl_pb_varint(&r, &x));
            o->is_monotonic = x != 0;
        } else {
            CHECK(other(d, &r, tag, known, msg_of[type]));
        }
    }
    return 0;
}

static int dec_metric(dec_t *d, ocl_str_t m, void *out)
{
    ocl_metric_t *o = out;
    int rc;
    memset(o, 0, sizeof *o);
    uint32_t n = count1(d, m, OCL_PB_TAG(12, 2), &rc);
    if (rc) return rc;
    o->metadata.v = alloc_arr(d, n, sizeof(ocl_kv_t));
    if (OCL_UNLIKELY(n && !o->metadata.v)) return too_big(d);
    READER(m);
    while (!ocl_pb_eof(&r)) {
        uint32_t tag;
        ocl_str_t s;
        CHECK(ocl_pb_tag(&r, &tag));
        ocl_metric_type_t t = OCL_METRIC_NONE;
        switch (tag) {
        case OCL_PB_TAG(1, 2):
            CHECK(rd_string(d, &r, &o->name));
            break;
        case OCL_PB_TAG(2, 2):
            CHECK(rd_string(d, &r, &o->description));
            break;
        case OCL_PB_TAG(3, 2):
            CHECK(rd_string(d, &r, &o->unit));
            break;
        case OCL_PB_TAG(5, 2):
            t = OCL_METRIC_GAUGE;
            break;
        case OCL_PB_TAG(7, 2):
            t = OCL_METRIC_SUM;
            break;
        case OCL_PB_TAG(9, 2):
            t = OCL_METRIC_HISTOGRAM;
            break;
        case OCL_PB_TAG(10, 2):
            t = OCL_METRIC_EXP_HISTOGRAM;
            break;
        case OCL_PB_TAG(11, 2):
            t = OCL_METRIC_SUMMARY;
            break;
        case OCL_PB_TAG(12, 2):
            CHECK(add_kv(d, &r, &o->metadata));
            break;
        default:
            CHECK(other(d, &r, tag, F(1) | F(2) | F(3) | F(5) | F(7) | F(9) | F(10) | F(11) | F(12),
                        M_METRIC));
        }
        if (t != OCL_METRIC_NONE) {
            CHECK(ocl_pb_bytes(&r, &s));
            CHECK(dec_metric_data(d, s, o, t));
        }
    }
    return 0;
}

static int dec_scope_metrics(dec_t *d, ocl_str_t m, void *out)
{
    ocl_scope_metrics_t *o = out;
    memset(o, 0, sizeof *o);
    void *arr = NULL;
    int rc = dec_container(d, m, M_SM, dec_scope, &o->scope, dec_metric, sizeof(ocl_metric_t), &arr,
                           &o->n_metrics, &o->schema_url);
    o->metrics = arr;
    return rc;
}

static int dec_resource_metrics(dec_t *d, ocl_str_t m, void *out)
{
    ocl_resource_metrics_t *o = out;
    memset(o, 0, sizeof *o);
    void *arr = NULL;
    int rc = dec_container(d, m, M_RM, dec_resource, &o->resource, dec_scope_metrics,
                           sizeof(ocl_scope_metrics_t), &arr, &o->n_scope_metrics, &o->schema_url);
    o->scope_metrics = arr;
    return rc;
}

int ocl_otlp_pb_decode_metrics(const void *buf, size_t len, ocl_arena_t *a, ocl_metrics_req_t *out,
                               const char **err)
{
    void *arr = NULL;
    int rc = decode_request(buf, len, a, M_MREQ, dec_resource_metrics,
                            sizeof(ocl_resource_metrics_t), &arr, &out->n_rm, err);
    out->rm = arr;
    return rc;
}

/* ---- logs ---- */

static int dec_log(dec_t *d, ocl_str_t m, void *out)
{
    ocl_log_record_t *o = out;
    int rc;
    memset(o, 0, sizeof *o);
    uint32_t n = count1(d, m, OCL_PB_TAG(6, 2), &rc);
    if (rc) return rc;
    o->attrs.v = alloc_arr(d, n, sizeof(ocl_kv_t));
    if (OCL_UNLIKELY(n && !o->attrs.v)) return too_big(d);
    READER(m);
    while (!ocl_pb_eof(&r)) {
        uint32_t tag;
        ocl_str_t s;
        CHECK(ocl_pb_tag(&r, &tag));
        switch (tag) {
        case OCL_PB_TAG(1, 1):
            CHECK(ocl_pb_fixed64(&r, &o->time_unix_nano));
            break;
        case OCL_PB_TAG(2, 0):
            CHECK(rd_i32(&r, &o->severity_number));
            break;
        case OCL_PB_TAG(3, 2):
            CHECK(rd_string(d, &r, &o->severity_text));
            break;
        case OCL_PB_TAG(5, 2):
            CHECK(ocl_pb_bytes(&r, &s));
            CHECK(dec_anyvalue(d, s, &o->body, 0));
            break;
        case OCL_PB_TAG(6, 2):
            CHECK(add_kv(d, &r, &o->attrs));
            break;
        case OCL_PB_TAG(7, 0):
            CHECK(rd_u32(&r, &o->dropped_attrs));
            break;
        case OCL_PB_TAG(8, 5):
            CHECK(ocl_pb_fixed32(&r, &o->flags));
            break;
        case OCL_PB_TAG(9, 2):
            CHECK(ocl_pb_bytes(&r, &o->trace_id));
            break;
        case OCL_PB_TAG(10, 2):
            CHECK(ocl_pb_bytes(&r, &o->span_id));
            break;
        case OCL_PB_TAG(11, 1):
            CHECK(ocl_pb_fixed64(&r, &o->observed_time_unix_nano));
            break;
        case OCL_PB_TAG(12, 2):
            CHECK(rd_string(d, &r, &o->event_name));
            break;
        default:
            CHECK(
                other(d, &r, tag,
                      F(1) | F(2) | F(3) | F(5) | F(6) | F(7) | F(8) | F(9) | F(10) | F(11) | F(12),
                      M_LOG));
        }
    }
    return 0;
}

static int dec_scope_logs(dec_t *d, ocl_str_t m, void *out)
{
    ocl_scope_logs_t *o = out;
    memset(o, 0, sizeof *o);
    void *arr = NULL;
    int rc = dec_container(d, m, M_SL, dec_scope, &o->scope, dec_log, sizeof(ocl_log_record_t),
                           &arr, &o->n_logs, &o->schema_url);
    o->logs = arr;
    return rc;
}

static int dec_resource_logs(dec_t *d, ocl_str_t m, void *out)
{
    ocl_resource_logs_t *o = out;
    memset(o, 0, sizeof *o);
    void *arr = NULL;
    int rc = dec_container(d, m, M_RL, dec_resource, &o->resource, dec_scope_logs,
                           sizeof(ocl_scope_logs_t), &arr, &o->n_scope_logs, &o->schema_url);
    o->scope_logs = arr;
    return rc;
}

int ocl_otlp_pb_decode_logs(const void *buf, size_t len, ocl_arena_t *a, ocl_logs_req_t *out,
                            const char **err)
{
    void *arr = NULL;
    int rc = decode_request(buf, len, a, M_LREQ, dec_resource_logs, sizeof(ocl_resource_logs_t),
                            &arr, &out->n_rl, err);
    out->rl = arr;
    return rc;
}
