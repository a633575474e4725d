/*
 * otlp_json.c — OTLP/JSON decoder (the "JSON Protobuf Encoding"
 * of the OTLP specification) for the model in otlp.h.
 *
 * Decoding parses the whole body with jansson, then walks the tree and
 * builds the model in the caller's arena. Every string and byte field is
 * copied into the arena (the jansson tree is freed before returning), so
 * the decoded model depends on the arena only; `raw` fields are always
 * OCL_STR_NULL. Field names are accepted in lowerCamelCase and in the
 * original snake_case; null members count as absent; unknown members are
 * ignored. Ids are hex (either case), 64-bit integers are decimal strings or
 * JSON numbers, enums are integers or their value names, doubles are
 * numbers or "NaN"/"Infinity"/"-Infinity", bytes are base64 (standard or
 * URL-safe, padding optional).
 *
 * Invariants: the tree walk recurses only through AnyValue, bounded by
 * OCL_OTLP_MAX_DEPTH; jansson bounds its own parser depth. Error messages
 * are static strings naming the field. JSON numbers outside the int64 range
 * are rejected by jansson (never converted with undefined behaviour);
 * uint64 fields take the full range as decimal strings.
 *
 * The encoder is in otlp_json_enc.c.
 *
 * Workload: /v1/{traces,metrics,logs} request bodies of up to 20 MiB;
 * decoding is dominated by jansson's parse, so the walk favours clarity.
 */
#include "wire/otlp.h"

#include <jansson.h>
#include <pthread.h>
#include <math.h>
#include <stdlib.h>

/* ------------------------------------------------------------------ */
/* Decoder context and scalar helpers                                  */

typedef struct {
    ocl_arena_t *a;  /* destination of every allocation */
    const char *err; /* first error message */
} dctx_t;

static int fail(dctx_t *c, int rc, const char *msg)
{
    if (!c->err) c->err = msg;
    return rc;
}

/* The member named `camel` or `snake` (either may be NULL); NULL when
 * absent or JSON null. */
static json_t *member(json_t *o, const char *camel, const char *snake)
{
    json_t *v = camel ? json_object_get(o, camel) : NULL;
    if ((!v || json_is_null(v)) && snake) v = json_object_get(o, snake);
    if (v && json_is_null(v)) v = NULL;
    return v;
}

static ocl_str_t copy_str(dctx_t *c, const char *s, size_t n)
{
    if (n == 0) return OCL_STR_NULL;
    char *p = ocl_arena_alloc(c->a, n);
    memcpy(p, s, n);
    return (ocl_str_t){p, n};
}

static int get_str(dctx_t *c, json_t *o, const char *camel, const char *snake, ocl_str_t *dst,
                   const char *emsg)
{
    json_t *v = member(o, camel, snake);
    if (!v) return 0;
    if (!json_is_string(v)) return fail(c, OCL_EINVAL, emsg);
    *dst = copy_str(c, json_string_value(v), json_string_length(v));
    return 0;
}

static int get_bool(dctx_t *c, json_t *o, const char *camel, const char *snake, bool *dst,
                    const char *emsg)
{
    json_t *v = member(o, camel, snake);
    if (!v) return 0;
    if (!json_is_boolean(v)) return fail(c, OCL_EINVAL, emsg);
    *dst = json_is_true(v);
    return 0;
}

/* Parses an unsigned decimal string (digits only) into the full uint64
 * range. */
static int parse_u64(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 20) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9) return -1;
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* A JSON value holding an integer: a JSON integer, an integral real, or a
 * decimal string (optionally negative when `neg_ok`). The magnitude is
 * returned in *mag and the sign in *neg. */
static int json_integer_parts(json_t *v, bool neg_ok, uint64_t *mag, bool *neg)
{
    *neg = false;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0) {
            if (!neg_ok) return -1;
            *neg = true;
            *mag = (uint64_t)0 - (uint64_t)i;
        } else {
            *mag = (uint64_t)i;
        }
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!isfinite(d) || d != floor(d)) return -1;
        if (d < 0) {
            if (!neg_ok || d < -9223372036854775808.0) return -1;
            *neg = true;
            *mag = (uint64_t)(-d);
            return 0;
        }
        if (d >= 18446744073709551616.0) return -1;
        *mag = (uint64_t)d;
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (n && s[0] == '-') {
            if (!neg_ok) return -1;
            *neg = true;
            s++, n--;
        }
        return parse_u64(s, n, mag);
    }
    return -1;
}

static int json_to_u64(json_t *v, uint64_t *out)
{
    uint64_t mag;
    bool neg;
    if (json_integer_parts(v, false, &mag, &neg) < 0) return -1;
    *out = mag;
    return 0;
}

static int json_to_i64(json_t *v, int64_t *out)
{
    uint64_t mag;
    bool neg;
    if (json_integer_parts(v, true, &mag, &neg) < 0) return -1;
    if (neg) {
        if (mag > (uint64_t)INT64_MAX + 1) return -1;
        *out = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
    } else {
        if (mag > (uint64_t)INT64_MAX) return -1;
        *out = (int64_t)mag;
    }
    return 0;
}

static int get_u64(dctx_t *c, json_t *o, const char *camel, const char *snake, uint64_t *dst,
                   const char *emsg)
{
    json_t *v = member(o, camel, snake);
    if (!v) return 0;
    if (json_to_u64(v, dst) < 0) return fail(c, OCL_EINVAL, emsg);
    return 0;
}

static int get_i64(dctx_t *c, json_t *o, const char *camel, const char *snake, int64_t *dst,
                   const char *emsg)
{
    json_t *v = member(o, camel, snake);
    if (!v) return 0;
    if (json_to_i64(v, dst) < 0) return fail(c, OCL_EINVAL, emsg);
    return 0;
}

static int get_u32(dctx_t *c, json_t *o, const char *camel, const char *snake, uint32_t *dst,
                   const char *emsg)
{
    json_t *v = member(o, camel, snake);
    if (!v) return 0;
    uint64_t x;
    if (json_to_u64(v, &x) < 0 || x > UINT32_MAX) return fail(c, OCL_EINVAL, emsg);
    *dst = (uint32_t)x;
    return 0;
}

static int get_i32(dctx_t *c, json_t *o, const char *camel, const char *snake, int32_t *dst,
                   const char *emsg)
{
    json_t *v = member(o, camel, snake);
    if (!v) return 0;
    int64_t x;
    if (json_to_i64(v, &x) < 0 || x < INT32_MIN || x > INT32_MAX) return fail(c, OCL_EINVAL, emsg);
    *dst = (int32_t)x;
    return 0;
}

/* A strict JSON-number-shaped decimal string ("1.5", "-2e3"). */
static bool decimal_shape(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-') i++;
    size_t d0 = i;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i == d0) return false;
    if (i < n && s[i] == '.') {
        size_t f0 = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == f0) return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        size_t e0 = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == e0) return false;
    }
    return i == n && n < 64;
}

static int json_to_double(json_t *v, double *out)
{
    if (json_is_real(v)) {
        *out = json_real_value(v);
        return 0;
    }
    if (json_is_integer(v)) {
        *out = (double)json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v)) return -1;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 3 && memcmp(s, "NaN", 3) == 0) {
        *out = NAN;
        return 0;
    }
    if (n == 8 && memcmp(s, "Infinity", 8) == 0) {
        *out = INFINITY;
        return 0;
    }
    if (n == 9 && memcmp(s, "-Infinity", 9) == 0) {
        *out = -INFINITY;
        return 0;
    }
    if (!decimal_shape(s, n)) return -1;
    char tmp[64];
    memcpy(tmp, s, n);
    tmp[n] = 0;
    *out = strtod(tmp, NULL);
    return 0;
}

/* *present (optional) is set when the member exists. */
static int get_double(dctx_t *c, json_t *o, const char *camel, const char *snake, double *dst,
                      bool *present, const char *emsg)
{
    json_t *v = member(o, camel, snake);
    if (!v) return 0;
    if (json_to_double(v, dst) < 0) return fail(c, OCL_EINVAL, emsg);
    if (present) *present = true;
    return 0;
}

static int hexval(unsigned char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Hex string → bytes in the arena. The length is not validated here (the
 * store decides what an acceptable id is); it must be even. */
static int get_hex(dctx_t *c, json_t *o, const char *camel, const char *snake, ocl_str_t *dst,
                   const char *emsg)
{
    json_t *v = member(o, camel, snake);
    if (!v) return 0;
    if (!json_is_string(v)) return fail(c, OCL_EINVAL, emsg);
    const unsigned char *s = (const unsigned char *)json_string_value(v);
    size_t n = json_string_length(v);
    if (n % 2) return fail(c, OCL_EINVAL, emsg);
    if (n == 0) {
        *dst = OCL_STR_NULL;
        return 0;
    }
    unsigned char *p = ocl_arena_alloc(c->a, n / 2);
    for (size_t i = 0; i < n; i += 2) {
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0) return fail(c, OCL_EINVAL, emsg);
        p[i / 2] = (unsigned char)(hi << 4 | lo);
    }
    *dst = (ocl_str_t){(const char *)p, n / 2};
    return 0;
}

static int b64val(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+' || ch == '-') return 62;
    if (ch == '/' || ch == '_') return 63;
    return -1;
}

/* Base64 (standard or URL-safe alphabet, padding optional) → arena bytes. */
static int decode_base64(dctx_t *c, const char *str, size_t n, ocl_str_t *dst)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t pad = 0;
    while (n > 0 && s[n - 1] == '=' && pad < 2)
        n--, pad++;
    if (pad && (n + pad) % 4) return -1;
    if (n % 4 == 1) return -1;
    if (n == 0) {
        *dst = OCL_STR_NULL;
        return 0;
    }
    unsigned char *p = ocl_arena_alloc(c->a, n / 4 * 3 + 3);
    size_t o = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val(s[i]);
        if (v < 0) return -1;
        acc = (acc << 6 | (uint32_t)v) & 0xFFFFFF;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            p[o++] = (unsigned char)(acc >> bits);
        }
    }
    /* Leftover bits must be zero (canonical encoding). */
    if (acc & ((1u << bits) - 1)) return -1;
    *dst = (ocl_str_t){(const char *)p, o};
    return 0;
}

typedef struct {
    const char *name; /* proto enum value name */
    int32_t value;    /* its number */
} enum_name_t;

/* Enum: a JSON integer (any int32, unknown values kept), a decimal string,
 * or one of the value names in `names`. */
static int get_enum(dctx_t *c, json_t *o, const char *camel, const char *snake, int32_t *dst,
                    const enum_name_t *names, size_t n_names, const char *emsg)
{
    json_t *v = member(o, camel, snake);
    if (!v) return 0;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        for (size_t i = 0; i < n_names; i++)
            if (strcmp(s, names[i].name) == 0) {
                *dst = names[i].value;
                return 0;
            }
    }
    int64_t x;
    if (json_to_i64(v, &x) < 0 || x < INT32_MIN || x > INT32_MAX || json_is_real(v))
        return fail(c, OCL_EINVAL, emsg);
    *dst = (int32_t)x;
    return 0;
}

static const enum_name_t span_kind_names[] = {
    {"SPAN_KIND_UNSPECIFIED", 0}, {"SPAN_KIND_INTERNAL", 1}, {"SPAN_KIND_SERVER", 2},
    {"SPAN_KIND_CLIENT", 3},      {"SPAN_KIND_PRODUCER", 4}, {"SPAN_KIND_CONSUMER", 5},
};
static const enum_name_t status_code_names[] = {
    {"STATUS_CODE_UNSET", 0},
    {"STATUS_CODE_OK", 1},
    {"STATUS_CODE_ERROR", 2},
};
static const enum_name_t temporality_names[] = {
    {"AGGREGATION_TEMPORALITY_UNSPECIFIED", 0},
    {"AGGREGATION_TEMPORALITY_DELTA", 1},
    {"AGGREGATION_TEMPORALITY_CUMULATIVE", 2},
};
static const enum_name_t severity_names[] = {
    {"SEVERITY_NUMBER_UNSPECIFIED", 0}, {"SEVERITY_NUMBER_TRACE", 1},
    {"SEVERITY_NUMBER_TRACE2", 2},      {"SEVERITY_NUMBER_TRACE3", 3},
    {"SEVERITY_NUMBER_TRACE4", 4},      {"SEVERITY_NUMBER_DEBUG", 5},
    {"SEVERITY_NUMBER_DEBUG2", 6},      {"SEVERITY_NUMBER_DEBUG3", 7},
    {"SEVERITY_NUMBER_DEBUG4", 8},      {"SEVERITY_NUMBER_INFO", 9},
    {"SEVERITY_NUMBER_INFO2", 10},      {"SEVERITY_NUMBER_INFO3", 11},
    {"SEVERITY_NUMBER_INFO4", 12},      {"SEVERITY_NUMBER_WARN", 13},
    {"SEVERITY_NUMBER_WARN2", 14},      {"SEVERITY_NUMBER_WARN3", 15},
    {"SEVERITY_NUMBER_WARN4", 16},      {"SEVERITY_NUMBER_ERROR", 17},
    {"SEVERITY_NUMBER_ERROR2", 18},     {"SEVERITY_NUMBER_ERROR3", 19},
    {"SEVERITY_NUMBER_ERROR4", 20},     {"SEVERITY_NUMBER_FATAL", 21},
    {"SEVERITY_NUMBER_FATAL2", 22},     {"SEVERITY_NUMBER_FATAL3", 23},
    {"SEVERITY_NUMBER_FATAL4", 24},
};
#define ENUM(t) t, OCL_ARRAY_LEN(t)

/* Array member: arr and n are set (n = 0 when absent). */
static int get_arr(dctx_t *c, json_t *o, const char *camel, const char *snake, json_t **arr,
                   uint32_t *n, const char *emsg)
{
    json_t *v = member(o, camel, snake);
    *arr = NULL;
    *n = 0;
    if (!v) return 0;
    if (!json_is_array(v)) return fail(c, OCL_EINVAL, emsg);
    size_t sz = json_array_size(v);
    if (sz > UINT32_MAX) return fail(c, OCL_EINVAL, emsg);
    *arr = v;
    *n = (uint32_t)sz;
    return 0;
}

/* Element i of an array that must be an object. */
static int elem_obj(dctx_t *c, json_t *arr, size_t i, json_t **out, const char *emsg)
{
    json_t *v = json_array_get(arr, i);
    if (!json_is_object(v)) return fail(c, OCL_EINVAL, emsg);
    *out = v;
    return 0;
}

/* Object member (NULL when absent). */
static int get_obj(dctx_t *c, json_t *o, const char *camel, const char *snake, json_t **out,
                   const char *emsg)
{
    json_t *v = member(o, camel, snake);
    *out = NULL;
    if (!v) return 0;
    if (!json_is_object(v)) return fail(c, OCL_EINVAL, emsg);
    *out = v;
    return 0;
}

static void *arena_array(dctx_t *c, uint32_t n, size_t elem)
{
    if (n == 0) return NULL;
    return ocl_arena_calloc(c->a, (size_t)n * elem);
}

/* ------------------------------------------------------------------ */
/* AnyValue, attributes, resource, scope                               */

static int dec_attrs(dctx_t *c, json_t *o, const char *camel, const char *snake, ocl_attrs_t *out,
                     int depth, const char *emsg);

static int dec_anyvalue(dctx_t *c, json_t *v, ocl_anyvalue_t *out, int depth)
{
    memset(out, 0, sizeof *out);
    if (depth > OCL_OTLP_MAX_DEPTH) return fail(c, OCL_EDEPTH, "AnyValue: nesting too deep");
    if (!json_is_object(v)) return fail(c, OCL_EINVAL, "AnyValue: expected an object");
    json_t *m;
    int set = 0, rc;
    if ((m = member(v, "stringValue", "string_value"))) {
        if (!json_is_string(m))
            return fail(c, OCL_EINVAL, "AnyValue.stringValue: expected a string");
        out->type = OCL_AV_STRING;
        out->u.s = copy_str(c, json_string_value(m), json_string_length(m));
        set++;
    }
    if ((m = member(v, "boolValue", "bool_value"))) {
        if (!json_is_boolean(m))
            return fail(c, OCL_EINVAL, "AnyValue.boolValue: expected a boolean");
        out->type = OCL_AV_BOOL;
        out->u.b = json_is_true(m);
        set++;
    }
    if ((m = member(v, "intValue", "int_value"))) {
        if (json_to_i64(m, &out->u.i) < 0)
            return fail(c, OCL_EINVAL, "AnyValue.intValue: invalid int64");
        out->type = OCL_AV_INT;
        set++;
    }
    if ((m = member(v, "doubleValue", "double_value"))) {
        if (json_to_double(m, &out->u.d) < 0)
            return fail(c, OCL_EINVAL, "AnyValue.doubleValue: invalid double");
        out->type = OCL_AV_DOUBLE;
        set++;
    }
    if ((m = member(v, "bytesValue", "bytes_value"))) {
        if (!json_is_string(m) ||
            decode_base64(c, json_string_value(m), json_string_length(m), &out->u.s) < 0)
            return fail(c, OCL_EINVAL, "AnyValue.bytesValue: invalid base64");
        out->type = OCL_AV_BYTES;
        set++;
    }
    if ((m = member(v, "arrayValue", "array_value"))) {
        if (!json_is_object(m))
            return fail(c, OCL_EINVAL, "AnyValue.arrayValue: expected an object");
        json_t *arr;
        uint32_t n;
        if ((rc = get_arr(c, m, "values", NULL, &arr, &n,
                          "AnyValue.arrayValue.values: expected an array")))
            return rc;
        if (n && depth + 1 > OCL_OTLP_MAX_DEPTH)
            return fail(c, OCL_EDEPTH, "AnyValue: nesting too deep");
        out->type = OCL_AV_ARRAY;
        out->u.arr.v = arena_array(c, n, sizeof(ocl_anyvalue_t));
        out->u.arr.n = n;
        for (uint32_t i = 0; i < n; i++) {
            json_t *e = json_array_get(arr, i);
            if (json_is_null(e)) continue; /* empty value */
            if ((rc = dec_anyvalue(c, e, &out->u.arr.v[i], depth + 1))) return rc;
        }
        set++;
    }
    if ((m = member(v, "kvlistValue", "kvlist_value"))) {
        if (!json_is_object(m))
            return fail(c, OCL_EINVAL, "AnyValue.kvlistValue: expected an object");
        ocl_attrs_t kv = {0};
        if ((rc = dec_attrs(c, m, "values", NULL, &kv, depth + 1,
                            "AnyValue.kvlistValue.values: expected an array of key/values")))
            return rc;
        out->type = OCL_AV_KVLIST;
        out->u.kvlist.kv = kv.v;
        out->u.kvlist.n = kv.n;
        set++;
    }
    if (set > 1) return fail(c, OCL_EINVAL, "AnyValue: more than one value set");
    return 0;
}

/* A list of KeyValue; values are at nesting level `depth`. */
static int dec_attrs(dctx_t *c, json_t *o, const char *camel, const char *snake, ocl_attrs_t *out,
                     int depth, const char *emsg)
{
    json_t *arr;
    uint32_t n;
    int rc;
    if ((rc = get_arr(c, o, camel, snake, &arr, &n, emsg))) return rc;
    if (n && depth > OCL_OTLP_MAX_DEPTH) return fail(c, OCL_EDEPTH, "AnyValue: nesting too deep");
    out->v = arena_array(c, n, sizeof(ocl_kv_t));
    out->n = n;
    for (uint32_t i = 0; i < n; i++) {
        json_t *e;
        if ((rc = elem_obj(c, arr, i, &e, emsg))) return rc;
        ocl_kv_t *kv = &out->v[i];
        if ((rc = get_str(c, e, "key", NULL, &kv->key, "KeyValue.key: expected a string")))
            return rc;
        json_t *val = member(e, "value", NULL);
        if (val && (rc = dec_anyvalue(c, val, &kv->value, depth))) return rc;
    }
    return 0;
}

static int dec_resource(dctx_t *c, json_t *parent, ocl_resource_t *r)
{
    json_t *o;
    int rc;
    if ((rc = get_obj(c, parent, "resource", NULL, &o, "resource: expected an object"))) return rc;
    if (!o) return 0;
    r->present = true;
    if ((rc = dec_attrs(c, o, "attributes", NULL, &r->attrs, 1,
                        "resource.attributes: expected an array of objects")))
        return rc;
    return get_u32(c, o, "droppedAttributesCount", "dropped_attributes_count", &r->dropped_attrs,
                   "resource.droppedAttributesCount: invalid uint32");
}

static int dec_scope(dctx_t *c, json_t *parent, ocl_scope_t *s)
{
    json_t *o;
    int rc;
    if ((rc = get_obj(c, parent, "scope", NULL, &o, "scope: expected an object"))) return rc;
    if (!o) return 0;
    s->present = true;
    if ((rc = get_str(c, o, "name", NULL, &s->name, "scope.name: expected a string")) ||
        (rc = get_str(c, o, "version", NULL, &s->version, "scope.version: expected a string")) ||
        (rc = dec_attrs(c, o, "attributes", NULL, &s->attrs, 1,
                        "scope.attributes: expected an array of objects")) ||
        (rc = get_u32(c, o, "droppedAttributesCount", "dropped_attributes_count", &s->dropped_attrs,
                      "scope.droppedAttributesCount: invalid uint32")))
        return rc;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Traces                                                              */

static int dec_span(dctx_t *c, json_t *o, ocl_span_t *s)
{
    int rc;
    json_t *arr, *st;
    uint32_t n;
    if ((rc = get_hex(c, o, "traceId", "trace_id", &s->trace_id,
                      "spans[].traceId: invalid hex string")) ||
        (rc = get_hex(c, o, "spanId", "span_id", &s->span_id,
                      "spans[].spanId: invalid hex string")) ||
        (rc = get_str(c, o, "traceState", "trace_state", &s->trace_state,
                      "spans[].traceState: expected a string")) ||
        (rc = get_hex(c, o, "parentSpanId", "parent_span_id", &s->parent_span_id,
                      "spans[].parentSpanId: invalid hex string")) ||
        (rc = get_u32(c, o, "flags", NULL, &s->flags, "spans[].flags: invalid uint32")) ||
        (rc = get_str(c, o, "name", NULL, &s->name, "spans[].name: expected a string")) ||
        (rc = get_enum(c, o, "kind", NULL, &s->kind, ENUM(span_kind_names),
                       "spans[].kind: invalid SpanKind")) ||
        (rc = get_u64(c, o, "startTimeUnixNano", "start_time_unix_nano", &s->start_unix_nano,
                      "spans[].startTimeUnixNano: invalid uint64")) ||
        (rc = get_u64(c, o, "endTimeUnixNano", "end_time_unix_nano", &s->end_unix_nano,
                      "spans[].endTimeUnixNano: invalid uint64")) ||
        (rc = dec_attrs(c, o, "attributes", NULL, &s->attrs, 1,
                        "spans[].attributes: expected an array of objects")) ||
        (rc = get_u32(c, o, "droppedAttributesCount", "dropped_attributes_count", &s->dropped_attrs,
                      "spans[].droppedAttributesCount: invalid uint32")) ||
        (rc = get_u32(c, o, "droppedEventsCount", "dropped_events_count", &s->dropped_events,
                      "spans[].droppedEventsCount: invalid uint32")) ||
        (rc = get_u32(c, o, "droppedLinksCount", "dropped_links_count", &s->dropped_links,
                      "spans[].droppedLinksCount: invalid uint32")))
        return rc;

    if ((rc = get_arr(c, o, "events", NULL, &arr, &n, "spans[].events: expected an array")))
        return rc;
    s->events = arena_array(c, n, sizeof(ocl_span_event_t));
    s->n_events = n;
    for (uint32_t i = 0; i < n; i++) {
        json_t *e;
        ocl_span_event_t *ev = &s->events[i];
        if ((rc = elem_obj(c, arr, i, &e, "spans[].events[]: expected an object")) ||
            (rc = get_u64(c, e, "timeUnixNano", "time_unix_nano", &ev->time_unix_nano,
                          "spans[].events[].timeUnixNano: invalid uint64")) ||
            (rc = get_str(c, e, "name", NULL, &ev->name,
                          "spans[].events[].name: expected a string")) ||
            (rc = dec_attrs(c, e, "attributes", NULL, &ev->attrs, 1,
                            "spans[].events[].attributes: expected an array of objects")) ||
            (rc = get_u32(c, e, "droppedAttributesCount", "dropped_attributes_count",
                          &ev->dropped_attrs,
                          "spans[].events[].droppedAttributesCount: invalid uint32")))
            return rc;
    }

    if ((rc = get_arr(c, o, "links", NULL, &arr, &n, "spans[].links: expected an array")))
        return rc;
    s->links = arena_array(c, n, sizeof(ocl_span_link_t));
    s->n_links = n;
    for (uint32_t i = 0; i < n; i++) {
        json_t *e;
        ocl_span_link_t *l = &s->links[i];
        if ((rc = elem_obj(c, arr, i, &e, "spans[].links[]: expected an object")) ||
            (rc = get_hex(c, e, "traceId", "trace_id", &l->trace_id,
                          "spans[].links[].traceId: invalid hex string")) ||
            (rc = get_hex(c, e, "spanId", "span_id", &l->span_id,
                          "spans[].links[].spanId: invalid hex string")) ||
            (rc = get_str(c, e, "traceState", "trace_state", &l->trace_state,
                          "spans[].links[].traceState: expected a string")) ||
            (rc = dec_attrs(c, e, "attributes", NULL, &l->attrs, 1,
                            "spans[].links[].attributes: expected an array of objects")) ||
            (rc = get_u32(c, e, "droppedAttributesCount", "dropped_attributes_count",
                          &l->dropped_attrs,
                          "spans[].links[].droppedAttributesCount: invalid uint32")) ||
            (rc = get_u32(c, e, "flags", NULL, &l->flags, "spans[].links[].flags: invalid uint32")))
            return rc;
    }

    if ((rc = get_obj(c, o, "status", NULL, &st, "spans[].status: expected an object"))) return rc;
    if (st) {
        s->has_status = true;
        if ((rc = get_str(c, st, "message", NULL, &s->status_message,
                          "spans[].status.message: expected a string")) ||
            (rc = get_enum(c, st, "code", NULL, &s->status_code, ENUM(status_code_names),
                           "spans[].status.code: invalid StatusCode")))
            return rc;
    }
    return 0;
}

static int dec_traces(dctx_t *c, json_t *root, ocl_traces_req_t *out)
{
    json_t *rs_arr;
    uint32_t n;
    int rc;
    if ((rc = get_arr(c, root, "resourceSpans", "resource_spans", &rs_arr, &n,
                      "resourceSpans: expected an array")))
        return rc;
    out->rs = arena_array(c, n, sizeof(ocl_resource_spans_t));
    out->n_rs = n;
    for (uint32_t i = 0; i < n; i++) {
        ocl_resource_spans_t *rs = &out->rs[i];
        json_t *o, *ss_arr;
        uint32_t nss;
        if ((rc = elem_obj(c, rs_arr, i, &o, "resourceSpans[]: expected an object")) ||
            (rc = dec_resource(c, o, &rs->resource)) ||
            (rc = get_str(c, o, "schemaUrl", "schema_url", &rs->schema_url,
                          "resourceSpans[].schemaUrl: expected a string")) ||
            (rc = get_arr(c, o, "scopeSpans", "scope_spans", &ss_arr, &nss,
                          "resourceSpans[].scopeSpans: expected an array")))
            return rc;
        rs->scope_spans = arena_array(c, nss, sizeof(ocl_scope_spans_t));
        rs->n_scope_spans = nss;
        for (uint32_t j = 0; j < nss; j++) {
            ocl_scope_spans_t *ss = &rs->scope_spans[j];
            json_t *so, *sp_arr;
            uint32_t nsp;
            if ((rc = elem_obj(c, ss_arr, j, &so, "scopeSpans[]: expected an object")) ||
                (rc = dec_scope(c, so, &ss->scope)) ||
                (rc = get_str(c, so, "schemaUrl", "schema_url", &ss->schema_url,
                              "scopeSpans[].schemaUrl: expected a string")) ||
                (rc = get_arr(c, so, "spans", NULL, &sp_arr, &nsp,
                              "scopeSpans[].spans: expected an array")))
                return rc;
            ss->spans = arena_array(c, nsp, sizeof(ocl_span_t));
            ss->n_spans = nsp;
            for (uint32_t k = 0; k < nsp; k++) {
                json_t *sp;
                if ((rc = elem_obj(c, sp_arr, k, &sp, "spans[]: expected an object")) ||
                    (rc = dec_span(c, sp, &ss->spans[k])))
                    return rc;
            }
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Metrics                                                             */

static int dec_exemplars(dctx_t *c, json_t *o, ocl_exemplars_t *out)
{
    json_t *arr;
    uint32_t n;
    int rc;
    if ((rc = get_arr(c, o, "exemplars", NULL, &arr, &n,
                      "dataPoints[].exemplars: expected an array")))
        return rc;
    out->v = arena_array(c, n, sizeof(ocl_exemplar_t));
    out->n = n;
    for (uint32_t i = 0; i < n; i++) {
        ocl_exemplar_t *x = &out->v[i];
        json_t *e;
        if ((rc = elem_obj(c, arr, i, &e, "exemplars[]: expected an object")) ||
            (rc = dec_attrs(c, e, "filteredAttributes", "filtered_attributes", &x->filtered_attrs,
                            1, "exemplars[].filteredAttributes: expected an array of objects")) ||
            (rc = get_u64(c, e, "timeUnixNano", "time_unix_nano", &x->time_unix_nano,
                          "exemplars[].timeUnixNano: invalid uint64")) ||
            (rc = get_double(c, e, "asDouble", "as_double", &x->as_double, NULL,
                             "exemplars[].asDouble: invalid double")) ||
            (rc = get_hex(c, e, "spanId", "span_id", &x->span_id,
                          "exemplars[].spanId: invalid hex string")) ||
            (rc = get_hex(c, e, "traceId", "trace_id", &x->trace_id,
                          "exemplars[].traceId: invalid hex string")))
            return rc;
        if (member(e, "asInt", "as_int")) {
            x->is_int = true;
            if ((rc = get_i64(c, e, "asInt", "as_int", &x->as_int,
                              "exemplars[].asInt: invalid int64")))
                return rc;
        }
    }
    return 0;
}

static int dec_number_dp(dctx_t *c, json_t *e, ocl_number_dp_t *dp)
{
    int rc;
    if ((rc = dec_attrs(c, e, "attributes", NULL, &dp->attrs, 1,
                        "dataPoints[].attributes: expected an array of objects")) ||
        (rc = get_u64(c, e, "startTimeUnixNano", "start_time_unix_nano", &dp->start_unix_nano,
                      "dataPoints[].startTimeUnixNano: invalid uint64")) ||
        (rc = get_u64(c, e, "timeUnixNano", "time_unix_nano", &dp->time_unix_nano,
                      "dataPoints[].timeUnixNano: invalid uint64")) ||
        (rc = get_double(c, e, "asDouble", "as_double", &dp->as_double, NULL,
                         "dataPoints[].asDouble: invalid double")) ||
        (rc = dec_exemplars(c, e, &dp->exemplars)) ||
        (rc = get_u32(c, e, "flags", NULL, &dp->flags, "dataPoints[].flags: invalid uint32")))
        return rc;
    if (member(e, "asInt", "as_int")) {
        dp->is_int = true;
        if ((rc = get_i64(c, e, "asInt", "as_int", &dp->as_int,
                          "dataPoints[].asInt: invalid int64")))
            return rc;
    }
    return 0;
}

/* A JSON array of uint64 (strings or numbers). */
static int dec_u64_array(dctx_t *c, json_t *o, const char *camel, const char *snake, uint64_t **out,
                         uint32_t *n_out, const char *emsg)
{
    json_t *arr;
    uint32_t n;
    int rc;
    if ((rc = get_arr(c, o, camel, snake, &arr, &n, emsg))) return rc;
    *out = arena_array(c, n, sizeof(uint64_t));
    *n_out = n;
    for (uint32_t i = 0; i < n; i++)
        if (json_to_u64(json_array_get(arr, i), &(*out)[i]) < 0) return fail(c, OCL_EINVAL, emsg);
    return 0;
}

static int dec_double_array(dctx_t *c, json_t *o, const char *camel, const char *snake,
                            double **out, uint32_t *n_out, const char *emsg)
{
    json_t *arr;
    uint32_t n;
    int rc;
    if ((rc = get_arr(c, o, camel, snake, &arr, &n, emsg))) return rc;
    *out = arena_array(c, n, sizeof(double));
    *n_out = n;
    for (uint32_t i = 0; i < n; i++)
        if (json_to_double(json_array_get(arr, i), &(*out)[i]) < 0)
            return fail(c, OCL_EINVAL, emsg);
    return 0;
}

static int dec_hist_dp(dctx_t *c, json_t *e, ocl_histogram_dp_t *dp)
{
    int rc;
    if ((rc = dec_attrs(c, e, "attributes", NULL, &dp->attrs, 1,
                        "dataPoints[].attributes: expected an array of objects")) ||
        (rc = get_u64(c, e, "startTimeUnixNano", "start_time_unix_nano", &dp->start_unix_nano,
                      "dataPoints[].startTimeUnixNano: invalid uint64")) ||
        (rc = get_u64(c, e, "timeUnixNano", "time_unix_nano", &dp->time_unix_nano,
                      "dataPoints[].timeUnixNano: invalid uint64")) ||
        (rc = get_u64(c, e, "count", NULL, &dp->count, "dataPoints[].count: invalid uint64")) ||
        (rc = get_double(c, e, "sum", NULL, &dp->sum, &dp->has_sum,
                         "dataPoints[].sum: invalid double")) ||
        (rc = dec_u64_array(c, e, "bucketCounts", "bucket_counts", &dp->bucket_counts,
                            &dp->n_bucket_counts,
                            "dataPoints[].bucketCounts: expected an array of uint64")) ||
        (rc = dec_double_array(c, e, "explicitBounds", "explicit_bounds", &dp->explicit_bounds,
                               &dp->n_explicit_bounds,
                               "dataPoints[].explicitBounds: expected an array of doubles")) ||
        (rc = dec_exemplars(c, e, &dp->exemplars)) ||
        (rc = get_u32(c, e, "flags", NULL, &dp->flags, "dataPoints[].flags: invalid uint32")) ||
        (rc = get_double(c, e, "min", NULL, &dp->min, &dp->has_min,
                         "dataPoints[].min: invalid double")) ||
        (rc = get_double(c, e, "max", NULL, &dp->max, &dp->has_max,
                         "dataPoints[].max: invalid double")))
        return rc;
    return 0;
}

static int dec_exp_buckets(dctx_t *c, json_t *e, const char *name, ocl_exp_buckets_t *b)
{
    json_t *o;
    int rc;
    if ((rc = get_obj(c, e, name, NULL, &o, "dataPoints[].positive/negative: expected an object")))
        return rc;
    if (!o) return 0;
    if ((rc = get_i32(c, o, "offset", NULL, &b->offset,
                      "dataPoints[].positive/negative.offset: invalid int32")) ||
        (rc = dec_u64_array(c, o, "bucketCounts", "bucket_counts", &b->bucket_counts,
                            &b->n_bucket_counts,
                            "dataPoints[].positive/negative.bucketCounts: expected an array of "
                            "uint64")))
        return rc;
    return 0;
}

static int dec_ehist_dp(dctx_t *c, json_t *e, ocl_exp_histogram_dp_t *dp)
{
    int rc;
    if ((rc = dec_attrs(c, e, "attributes", NULL, &dp->attrs, 1,
                        "dataPoints[].attributes: expected an array of objects")) ||
        (rc = get_u64(c, e, "startTimeUnixNano", "start_time_unix_nano", &dp->start_unix_nano,
                      "dataPoints[].startTimeUnixNano: invalid uint64")) ||
        (rc = get_u64(c, e, "timeUnixNano", "time_unix_nano", &dp->time_unix_nano,
                      "dataPoints[].timeUnixNano: invalid uint64")) ||
        (rc = get_u64(c, e, "count", NULL, &dp->count, "dataPoints[].count: invalid uint64")) ||
        (rc = get_double(c, e, "sum", NULL, &dp->sum, &dp->has_sum,
                         "dataPoints[].sum: invalid double")) ||
        (rc = get_i32(c, e, "scale", NULL, &dp->scale, "dataPoints[].scale: invalid int32")) ||
        (rc = get_u64(c, e, "zeroCount", "zero_count", &dp->zero_count,
                      "dataPoints[].zeroCount: invalid uint64")) ||
        (rc = dec_exp_buckets(c, e, "positive", &dp->positive)) ||
        (rc = dec_exp_buckets(c, e, "negative", &dp->negative)) ||
        (rc = get_u32(c, e, "flags", NULL, &dp->flags, "dataPoints[].flags: invalid uint32")) ||
        (rc = dec_exemplars(c, e, &dp->exemplars)) ||
        (rc = get_double(c, e, "min", NULL, &dp->min, &dp->has_min,
                         "dataPoints[].min: invalid double")) ||
        (rc = get_double(c, e, "max", NULL, &dp->max, &dp->has_max,
                         "dataPoints[].max: invalid double")) ||
        (rc = get_double(c, e, "zeroThreshold", "zero_threshold", &dp->zero_threshold, NULL,
                         "dataPoints[].zeroThreshold: invalid double")))
        return rc;
    return 0;
}

static int dec_summary_dp(dctx_t *c, json_t *e, ocl_summary_dp_t *dp)
{
    int rc;
    json_t *arr;
    uint32_t n;
    if ((rc = dec_attrs(c, e, "attributes", NULL, &dp->attrs, 1,
                        "dataPoints[].attributes: expected an array of objects")) ||
        (rc = get_u64(c, e, "startTimeUnixNano", "start_time_unix_nano", &dp->start_unix_nano,
                      "dataPoints[].startTimeUnixNano: invalid uint64")) ||
        (rc = get_u64(c, e, "timeUnixNano", "time_unix_nano", &dp->time_unix_nano,
                      "dataPoints[].timeUnixNano: invalid uint64")) ||
        (rc = get_u64(c, e, "count", NULL, &dp->count, "dataPoints[].count: invalid uint64")) ||
        (rc = get_double(c, e, "sum", NULL, &dp->sum, NULL, "dataPoints[].sum: invalid double")) ||
        (rc = get_u32(c, e, "flags", NULL, &dp->flags, "dataPoints[].flags: invalid uint32")) ||
        (rc = get_arr(c, e, "quantileValues", "quantile_values", &arr, &n,
                      "dataPoints[].quantileValues: expected an array")))
        return rc;
    dp->quantiles = arena_array(c, n, sizeof(ocl_quantile_t));
    dp->n_quantiles = n;
    for (uint32_t i = 0; i < n; i++) {
        json_t *q;
        if ((rc = elem_obj(c, arr, i, &q, "quantileValues[]: expected an object")) ||
            (rc = get_double(c, q, "quantile", NULL, &dp->quantiles[i].quantile, NULL,
                             "quantileValues[].quantile: invalid double")) ||
            (rc = get_double(c, q, "value", NULL, &dp->quantiles[i].value, NULL,
                             "quantileValues[].value: invalid double")))
            return rc;
    }
    return 0;
}

typedef struct {
    const char *camel, *snake; /* member names of the data field */
    ocl_metric_type_t type;    /* model type */
    size_t dp_size;            /* sizeof the data point struct */
} metric_kind_t;

static const metric_kind_t metric_kinds[] = {
    {"gauge", NULL, OCL_METRIC_GAUGE, sizeof(ocl_number_dp_t)},
    {"sum", NULL, OCL_METRIC_SUM, sizeof(ocl_number_dp_t)},
    {"histogram", NULL, OCL_METRIC_HISTOGRAM, sizeof(ocl_histogram_dp_t)},
    {"exponentialHistogram", "exponential_histogram", OCL_METRIC_EXP_HISTOGRAM,
     sizeof(ocl_exp_histogram_dp_t)},
    {"summary", NULL, OCL_METRIC_SUMMARY, sizeof(ocl_summary_dp_t)},
};

static int dec_metric(dctx_t *c, json_t *o, ocl_metric_t *m)
{
    int rc;
    if ((rc = get_str(c, o, "name", NULL, &m->name, "metrics[].name: expected a string")) ||
        (rc = get_str(c, o, "description", NULL, &m->description,
                      "metrics[].description: expected a string")) ||
        (rc = get_str(c, o, "unit", NULL, &m->unit, "metrics[].unit: expected a string")) ||
        (rc = dec_attrs(c, o, "metadata", NULL, &m->metadata, 1,
                        "metrics[].metadata: expected an array of objects")))
        return rc;
    json_t *data = NULL;
    const metric_kind_t *kind = NULL;
    for (size_t i = 0; i < OCL_ARRAY_LEN(metric_kinds); i++) {
        json_t *d = member(o, metric_kinds[i].camel, metric_kinds[i].snake);
        if (!d) continue;
        if (data) return fail(c, OCL_EINVAL, "metrics[]: more than one data field set");
        if (!json_is_object(d))
            return fail(c, OCL_EINVAL, "metrics[]: gauge/sum/histogram/... expected an object");
        data = d;
        kind = &metric_kinds[i];
    }
    if (!data) return 0;
    m->type = kind->type;
    if ((rc = get_enum(c, data, "aggregationTemporality", "aggregation_temporality",
                       &m->temporality, ENUM(temporality_names),
                       "metrics[].aggregationTemporality: invalid AggregationTemporality")) ||
        (rc = get_bool(c, data, "isMonotonic", "is_monotonic", &m->is_monotonic,
                       "metrics[].sum.isMonotonic: expected a boolean")))
        return rc;
    json_t *arr;
    uint32_t n;
    if ((rc = get_arr(c, data, "dataPoints", "data_points", &arr, &n,
                      "metrics[].dataPoints: expected an array")))
        return rc;
    void *dps = arena_array(c, n, kind->dp_size);
    m->n_dp = n;
    for (uint32_t i = 0; i < n; i++) {
        json_t *e;
        if ((rc = elem_obj(c, arr, i, &e, "dataPoints[]: expected an object"))) return rc;
        switch (kind->type) {
        case OCL_METRIC_GAUGE:
        case OCL_METRIC_SUM:
            rc = dec_number_dp(c, e, (ocl_number_dp_t *)dps + i);
            break;
        case OCL_METRIC_HISTOGRAM:
            rc = dec_hist_dp(c, e, (ocl_histogram_dp_t *)dps + i);
            break;
        case OCL_METRIC_EXP_HISTOGRAM:
            rc = dec_ehist_dp(c, e, (ocl_exp_histogram_dp_t *)dps + i);
            break;
        case OCL_METRIC_SUMMARY:
            rc = dec_summary_dp(c, e, (ocl_summary_dp_t *)dps + i);
            break;
        default:
            break;
        }
        if (rc) return rc;
    }
    switch (kind->type) {
    case OCL_METRIC_GAUGE:
    case OCL_METRIC_SUM:
        m->dp.number = dps;
        break;
    case OCL_METRIC_HISTOGRAM:
        m->dp.hist = dps;
        break;
    case OCL_METRIC_EXP_HISTOGRAM:
        m->dp.ehist = dps;
        break;
    case OCL_METRIC_SUMMARY:
        m->dp.summary = dps;
        break;
    default:
        break;
    }
    return 0;
}

static int dec_metrics(dctx_t *c, json_t *root, ocl_metrics_req_t *out)
{
    json_t *rm_arr;
    uint32_t n;
    int rc;
    if ((rc = get_arr(c, root, "resourceMetrics", "resource_metrics", &rm_arr, &n,
                      "resourceMetrics: expected an array")))
        return rc;
    out->rm = arena_array(c, n, sizeof(ocl_resource_metrics_t));
    out->n_rm = n;
    for (uint32_t i = 0; i < n; i++) {
        ocl_resource_metrics_t *rm = &out->rm[i];
        json_t *o, *sm_arr;
        uint32_t nsm;
        if ((rc = elem_obj(c, rm_arr, i, &o, "resourceMetrics[]: expected an object")) ||
            (rc = dec_resource(c, o, &rm->resource)) ||
            (rc = get_str(c, o, "schemaUrl", "schema_url", &rm->schema_url,
                          "resourceMetrics[].schemaUrl: expected a string")) ||
            (rc = get_arr(c, o, "scopeMetrics", "scope_metrics", &sm_arr, &nsm,
                          "resourceMetrics[].scopeMetrics: expected an array")))
            return rc;
        rm->scope_metrics = arena_array(c, nsm, sizeof(ocl_scope_metrics_t));
        rm->n_scope_metrics = nsm;
        for (uint32_t j = 0; j < nsm; j++) {
            ocl_scope_metrics_t *sm = &rm->scope_metrics[j];
            json_t *so, *m_arr;
            uint32_t nm;
            if ((rc = elem_obj(c, sm_arr, j, &so, "scopeMetrics[]: expected an object")) ||
                (rc = dec_scope(c, so, &sm->scope)) ||
                (rc = get_str(c, so, "schemaUrl", "schema_url", &sm->schema_url,
                              "scopeMetrics[].schemaUrl: expected a string")) ||
                (rc = get_arr(c, so, "metrics", NULL, &m_arr, &nm,
                              "scopeMetrics[].metrics: expected an array")))
                return rc;
            sm->metrics = arena_array(c, nm, sizeof(ocl_metric_t));
            sm->n_metrics = nm;
            for (uint32_t k = 0; k < nm; k++) {
                json_t *mo;
                if ((rc = elem_obj(c, m_arr, k, &mo, "metrics[]: expected an object")) ||
                    (rc = dec_metric(c, mo, &sm->metrics[k])))
                    return rc;
            }
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Logs                                                                */

static int dec_log(dctx_t *c, json_t *o, ocl_log_record_t *l)
{
    int rc;
    if ((rc = get_u64(c, o, "timeUnixNano", "time_unix_nano", &l->time_unix_nano,
                      "logRecords[].timeUnixNano: invalid uint64")) ||
        (rc = get_u64(c, o, "observedTimeUnixNano", "observed_time_unix_nano",
                      &l->observed_time_unix_nano,
                      "logRecords[].observedTimeUnixNano: invalid uint64")) ||
        (rc = get_enum(c, o, "severityNumber", "severity_number", &l->severity_number,
                       ENUM(severity_names),
                       "logRecords[].severityNumber: invalid SeverityNumber")) ||
        (rc = get_str(c, o, "severityText", "severity_text", &l->severity_text,
                      "logRecords[].severityText: expected a string")) ||
        (rc = dec_attrs(c, o, "attributes", NULL, &l->attrs, 1,
                        "logRecords[].attributes: expected an array of objects")) ||
        (rc = get_u32(c, o, "droppedAttributesCount", "dropped_attributes_count", &l->dropped_attrs,
                      "logRecords[].droppedAttributesCount: invalid uint32")) ||
        (rc = get_u32(c, o, "flags", NULL, &l->flags, "logRecords[].flags: invalid uint32")) ||
        (rc = get_hex(c, o, "traceId", "trace_id", &l->trace_id,
                      "logRecords[].traceId: invalid hex string")) ||
        (rc = get_hex(c, o, "spanId", "span_id", &l->span_id,
                      "logRecords[].spanId: invalid hex string")) ||
        (rc = get_str(c, o, "eventName", "event_name", &l->event_name,
                      "logRecords[].eventName: expected a string")))
        return rc;
    json_t *body = member(o, "body", NULL);
    if (body && (rc = dec_anyvalue(c, body, &l->body, 1))) return rc;
    return 0;
}

static int dec_logs(dctx_t *c, json_t *root, ocl_logs_req_t *out)
{
    json_t *rl_arr;
    uint32_t n;
    int rc;
    if ((rc = get_arr(c, root, "resourceLogs", "resource_logs", &rl_arr, &n,
                      "resourceLogs: expected an array")))
        return rc;
    out->rl = arena_array(c, n, sizeof(ocl_resource_logs_t));
    out->n_rl = n;
    for (uint32_t i = 0; i < n; i++) {
        ocl_resource_logs_t *rl = &out->rl[i];
        json_t *o, *sl_arr;
        uint32_t nsl;
        if ((rc = elem_obj(c, rl_arr, i, &o, "resourceLogs[]: expected an object")) ||
            (rc = dec_resource(c, o, &rl->resource)) ||
            (rc = get_str(c, o, "schemaUrl", "schema_url", &rl->schema_url,
                          "resourceLogs[].schemaUrl: expected a string")) ||
            (rc = get_arr(c, o, "scopeLogs", "scope_logs", &sl_arr, &nsl,
                          "resourceLogs[].scopeLogs: expected an array")))
            return rc;
        rl->scope_logs = arena_array(c, nsl, sizeof(ocl_scope_logs_t));
        rl->n_scope_logs = nsl;
        for (uint32_t j = 0; j < nsl; j++) {
            ocl_scope_logs_t *sl = &rl->scope_logs[j];
            json_t *so, *l_arr;
            uint32_t nl;
            if ((rc = elem_obj(c, sl_arr, j, &so, "scopeLogs[]: expected an object")) ||
                (rc = dec_scope(c, so, &sl->scope)) ||
                (rc = get_str(c, so, "schemaUrl", "schema_url", &sl->schema_url,
                              "scopeLogs[].schemaUrl: expected a string")) ||
                (rc = get_arr(c, so, "logRecords", "log_records", &l_arr, &nl,
                              "scopeLogs[].logRecords: expected an array")))
                return rc;
            sl->logs = arena_array(c, nl, sizeof(ocl_log_record_t));
            sl->n_logs = nl;
            for (uint32_t k = 0; k < nl; k++) {
                json_t *lo;
                if ((rc = elem_obj(c, l_arr, k, &lo, "logRecords[]: expected an object")) ||
                    (rc = dec_log(c, lo, &sl->logs[k])))
                    return rc;
            }
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Entry points                                                        */

/* jansson's tree costs far more than the text it came from (a `{}` is a
 * hash table), so parsing runs under a per-thread byte budget: 1 MiB + 24
 * bytes per input byte (realistic OTLP/JSON measures 11-12 bytes per byte).
 * jansson's allocator hooks are process-wide; outside
 * a parse (no budget set) they just count nothing. Each block carries its
 * size in a 16-byte header so that free can give the bytes back. */
#define JSON_BUDGET(len) (((size_t)1 << 20) + 24 * (size_t)(len))

static __thread size_t tl_json_left;  /* bytes the current parse may still take */
static __thread int tl_json_budgeted; /* a parse with a budget is running */
static __thread int tl_json_refused;  /* the budget refused an allocation */
static pthread_once_t json_alloc_once = PTHREAD_ONCE_INIT;

static void *json_budget_malloc(size_t n)
{
    if (tl_json_budgeted) {
        if (n > tl_json_left || tl_json_left - n < 16) {
            tl_json_refused = 1;
            return NULL;
        }
        tl_json_left -= n + 16;
    }
    if (n > SIZE_MAX - 16) return NULL;
    unsigned char *p = malloc(n + 16);
    if (!p) return NULL;
    memcpy(p, &n, sizeof n);
    p[sizeof n] = (unsigned char)tl_json_budgeted;
    return p + 16;
}

static void json_budget_free(void *q)
{
    if (!q) return;
    unsigned char *p = (unsigned char *)q - 16;
    size_t n;
    memcpy(&n, p, sizeof n);
    /* Give bytes back only to the parse that took them. */
    if (p[sizeof n] && tl_json_budgeted) tl_json_left += n + 16;
    free(p);
}

static void json_alloc_init(void)
{
    json_set_alloc_funcs(json_budget_malloc, json_budget_free);
}

/* Parses buf; on failure maps jansson's error to an OCL_E* code. */
static int parse(const void *buf, size_t len, json_t **root, const char **err)
{
    json_error_t je;
    pthread_once(&json_alloc_once, json_alloc_init);
    tl_json_left = JSON_BUDGET(len);
    tl_json_budgeted = 1;
    tl_json_refused = 0;
    *root = json_loadb(buf, len, JSON_ALLOW_NUL, &je);
    tl_json_budgeted = 0;
    if (!*root && tl_json_refused) {
        /* jansson reports a refused allocation in several ways. */
        if (err) *err = "JSON request too large once parsed";
        return OCL_ETOOBIG;
    }
    if (!*root) {
        switch (json_error_code(&je)) {
        case json_error_invalid_utf8:
            if (err) *err = "invalid UTF-8 in JSON";
            return OCL_EUTF8;
        case json_error_stack_overflow:
            if (err) *err = "JSON nesting too deep";
            return OCL_EDEPTH;
        case json_error_numeric_overflow:
            if (err) *err = "JSON number out of range";
            return OCL_EINVAL;
        case json_error_out_of_memory:
            if (err) *err = "JSON request too large once parsed";
            return OCL_ETOOBIG;
        default:
            /* Escaped lone surrogates ("\ud800") are not valid Unicode. */
            if (strstr(je.text, "invalid Unicode")) {
                if (err) *err = "invalid Unicode escape in JSON";
                return OCL_EUTF8;
            }
            if (err) *err = "malformed JSON";
            return OCL_EINVAL;
        }
    }
    if (!json_is_object(*root)) {
        json_decref(*root);
        *root = NULL;
        if (err) *err = "expected a JSON object";
        return OCL_EINVAL;
    }
    return 0;
}

#define DECODE_BODY(fn)                                                                            \
    do {                                                                                           \
        json_t *root;                                                                              \
        memset(out, 0, sizeof *out);                                                               \
        int rc = parse(buf, len, &root, err);                                                      \
        if (rc) return rc;                                                                         \
        dctx_t c = {a, NULL};                                                                      \
        rc = fn(&c, root, out);                                                                    \
        json_decref(root);                                                                         \
        if (rc) {                                                                                  \
            if (err) *err = c.err;                                                                 \
            memset(out, 0, sizeof *out);                                                           \
        }                                                                                          \
        return rc;                                                                                 \
    } while (0)

int ocl_otlp_json_decode_traces(const void *buf, size_t len, ocl_arena_t *a, ocl_traces_req_t *out,
                                const char **err)
{
    DECODE_BODY(dec_traces);
}

int ocl_otlp_json_decode_metrics(const void *buf, size_t len, ocl_arena_t *a,
                                 ocl_metrics_req_t *out, const char **err)
{
    DECODE_BODY(dec_metrics);
}

int ocl_otlp_json_decode_logs(const void *buf, size_t len, ocl_arena_t *a, ocl_logs_req_t *out,
                              const char **err)
{
    DECODE_BODY(dec_logs);
}
