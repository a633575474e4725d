/*
 * attrs.c — attribute storage for spans and log records: typed values
 * copied into a per-record arena, count and length limits, protobuf
 * (KeyValue/AnyValue) and JSON rendering.
 *
 * Invariants: an attribute's key and string data live in the arena of the
 * record that holds it; offsets stay valid when the arena grows. Strings
 * are truncated at the value length limit on a UTF-8 boundary is NOT
 * guaranteed (the limit counts bytes, as the C API works on bytes).
 *
 * Workload: 1-10 attributes per span set on the application's hot path;
 * a linear key scan is cheaper than hashing at these counts.
 */
#include "internal.h"

#include <math.h>

void osdk_arena_init(osdk_arena_t *a)
{
    a->p = a->inl;
    a->len = 0;
    a->cap = sizeof a->inl;
}

void osdk_arena_dispose(osdk_arena_t *a)
{
    if (a->p != a->inl) osdk_free(a->p);
    osdk_arena_init(a);
}

static int arena_grow(osdk_arena_t *a, size_t need)
{
    size_t cap = a->cap;
    while (cap - a->len < need) {
        if (cap > (1u << 30)) return -1;
        cap *= 2;
    }
    char *np;
    if (a->p == a->inl) {
        np = osdk_malloc(cap);
        if (!np) return -1;
        memcpy(np, a->inl, a->len);
    } else {
        np = osdk_realloc(a->p, cap);
        if (!np) return -1;
    }
    a->p = np;
    a->cap = (uint32_t)cap;
    return 0;
}

uint32_t osdk_arena_put_slow(osdk_arena_t *a, const void *p, size_t n)
{
    if (arena_grow(a, n)) return UINT32_MAX;
    return osdk_arena_put(a, p, n);
}

void osdk_attrs_init(osdk_attrs_t *l)
{
    l->v = l->inl;
    l->n = 0;
    l->cap = OSDK_INLINE_ATTRS;
    l->dropped = 0;
}

void osdk_attrs_dispose(osdk_attrs_t *l)
{
    if (l->v != l->inl) osdk_free(l->v);
    osdk_attrs_init(l);
}

static int attrs_grow(osdk_attrs_t *l)
{
    uint32_t cap = l->cap * 2;
    osdk_attr_t *nv;
    if (l->v == l->inl) {
        nv = osdk_malloc(cap * sizeof *nv);
        if (!nv) return -1;
        memcpy(nv, l->inl, l->n * sizeof *nv);
    } else {
        nv = osdk_realloc(l->v, cap * sizeof *nv);
        if (!nv) return -1;
    }
    l->v = nv;
    l->cap = cap;
    return 0;
}

static int valid_type(int t)
{
    return t >= OCELOT_ATTR_STRING && t <= OCELOT_ATTR_DOUBLE_ARRAY;
}

/* Stores the value of at into slot d (key already set). */
static int store_value(osdk_attr_t *d, osdk_arena_t *a, const ocelot_attr_t *at, uint32_t max_len)
{
    d->type = (uint32_t)at->type;
    d->n = 0;
    switch (at->type) {
    case OCELOT_ATTR_STRING: {
        const char *s = at->v.s.p ? at->v.s.p : "";
        size_t n = at->v.s.len ? at->v.s.len : strlen(s);
        if (n > max_len) n = max_len;
        uint32_t off = osdk_arena_put(a, s, n);
        if (off == UINT32_MAX) return OCELOT_ENOMEM;
        d->u.off = off;
        d->n = (uint32_t)n;
        return 0;
    }
    case OCELOT_ATTR_BOOL:
        d->u.i = at->v.b ? 1 : 0;
        return 0;
    case OCELOT_ATTR_INT:
        d->u.i = at->v.i;
        return 0;
    case OCELOT_ATTR_DOUBLE:
        d->u.d = at->v.d;
        return 0;
    case OCELOT_ATTR_BOOL_ARRAY:
    case OCELOT_ATTR_INT_ARRAY:
    case OCELOT_ATTR_DOUBLE_ARRAY: {
        size_t n = at->v.arr.n;
        if (n > 65536 || (n && !at->v.arr.p)) return OCELOT_EINVAL;
        uint32_t off = a->len;
        for (size_t i = 0; i < n; i++) {
            int64_t x;
            if (at->type == OCELOT_ATTR_BOOL_ARRAY)
                x = ((const int *)at->v.arr.p)[i] ? 1 : 0;
            else
                memcpy(&x, (const char *)at->v.arr.p + 8 * i, 8);
            if (osdk_arena_put(a, &x, 8) == UINT32_MAX) return OCELOT_ENOMEM;
        }
        d->u.off = off;
        d->n = (uint32_t)n;
        return 0;
    }
    case OCELOT_ATTR_STRING_ARRAY: {
        size_t n = at->v.arr.n;
        if (n > 65536 || (n && !at->v.arr.p)) return OCELOT_EINVAL;
        uint32_t off = a->len;
        const char *const *sv = at->v.arr.p;
        for (size_t i = 0; i < n; i++) {
            const char *s = sv[i] ? sv[i] : "";
            uint32_t len = (uint32_t)strlen(s);
            if (len > max_len) len = max_len;
            if (osdk_arena_put(a, &len, 4) == UINT32_MAX || osdk_arena_put(a, s, len) == UINT32_MAX)
                return OCELOT_ENOMEM;
        }
        d->u.off = off;
        d->n = (uint32_t)n;
        return 0;
    }
    }
    return OCELOT_EINVAL;
}

int osdk_attrs_set(osdk_attrs_t *l, osdk_arena_t *a, const ocelot_attr_t *at, uint32_t max_count,
                   uint32_t max_len, int dedup)
{
    if (OSDK_UNLIKELY(!at || !at->key || !at->key[0] || !valid_type(at->type)))
        return OCELOT_EINVAL;
    size_t klen = strlen(at->key);
    if (dedup) {
        for (uint32_t i = 0; i < l->n; i++) {
            osdk_attr_t *d = &l->v[i];
            if (d->key_len == klen && memcmp(a->p + d->key_off, at->key, klen) == 0)
                return store_value(d, a, at, max_len); /* old bytes stay in the arena */
        }
    }
    if (l->n >= max_count) {
        l->dropped++;
        return OCELOT_EFULL;
    }
    if (OSDK_UNLIKELY(l->n == l->cap) && attrs_grow(l)) return OCELOT_ENOMEM;
    osdk_attr_t *d = &l->v[l->n];
    uint32_t save = a->len;
    uint32_t off = osdk_arena_put(a, at->key, klen);
    if (off == UINT32_MAX) return OCELOT_ENOMEM;
    d->key_off = off;
    d->key_len = (uint32_t)klen;
    int rc = store_value(d, a, at, max_len);
    if (rc) {
        a->len = save;
        return rc;
    }
    l->n++;
    return 0;
}

/* ---- protobuf ---- */

static void enc_value(pbw_buf_t *b, const osdk_attr_t *d, const osdk_arena_t *a)
{
    const char *base = a->p + d->u.off;
    switch (d->type) {
    case OCELOT_ATTR_STRING:
        pbw_bytes(b, 1, a->p + d->u.off, d->n);
        break;
    case OCELOT_ATTR_BOOL:
        pbw_uint(b, 2, (uint64_t)d->u.i);
        break;
    case OCELOT_ATTR_INT:
        pbw_uint(b, 3, (uint64_t)d->u.i);
        break;
    case OCELOT_ATTR_DOUBLE:
        pbw_double(b, 4, d->u.d);
        break;
    default: { /* arrays: ArrayValue (5) { repeated AnyValue values = 1 } */
        size_t st = pbw_msg_begin(b, 5, 2);
        size_t pos = 0;
        for (uint32_t i = 0; i < d->n; i++) {
            size_t es = pbw_msg_begin(b, 1, 1);
            int64_t x;
            double dv;
            uint32_t len;
            switch (d->type) {
            case OCELOT_ATTR_STRING_ARRAY:
                memcpy(&len, base + pos, 4);
                pbw_bytes(b, 1, base + pos + 4, len);
                pos += 4 + len;
                break;
            case OCELOT_ATTR_BOOL_ARRAY:
                memcpy(&x, base + 8 * i, 8);
                pbw_uint(b, 2, (uint64_t)x);
                break;
            case OCELOT_ATTR_INT_ARRAY:
                memcpy(&x, base + 8 * i, 8);
                pbw_uint(b, 3, (uint64_t)x);
                break;
            case OCELOT_ATTR_DOUBLE_ARRAY:
                memcpy(&dv, base + 8 * i, 8);
                pbw_double(b, 4, dv);
                break;
            }
            pbw_msg_end(b, es, 1);
        }
        pbw_msg_end(b, st, 2);
        break;
    }
    }
}

void osdk_attrs_encode(pbw_buf_t *b, uint32_t field, const osdk_attr_t *v, uint32_t n,
                       const osdk_arena_t *a)
{
    for (uint32_t i = 0; i < n; i++) {
        size_t st = pbw_msg_begin(b, field, 1);
        pbw_bytes(b, 1, a->p + v[i].key_off, v[i].key_len);
        size_t vs = pbw_msg_begin(b, 2, 1);
        enc_value(b, &v[i], a);
        pbw_msg_end(b, vs, 1);
        pbw_msg_end(b, st, 1);
    }
}

void osdk_pub_attrs_encode(pbw_buf_t *b, uint32_t field, const ocelot_attr_t *v, size_t n)
{
    /* Copy through a temporary record so that both paths share one encoder. */
    for (size_t i = 0; i < n; i++) {
        osdk_arena_t a;
        osdk_attrs_t l;
        osdk_arena_init(&a);
        osdk_attrs_init(&l);
        if (osdk_attrs_set(&l, &a, &v[i], 1, UINT32_MAX, 0) == 0)
            osdk_attrs_encode(b, field, l.v, l.n, &a);
        osdk_attrs_dispose(&l);
        osdk_arena_dispose(&a);
    }
}

/* ---- JSON ---- */

void osdk_json_str(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        default:
            if (c < 0x20)
                fprintf(f, "\\u%04x", c);
            else
                fputc(c, f);
        }
    }
    fputc('"', f);
}

static void json_double(FILE *f, double d)
{
    if (isfinite(d))
        fprintf(f, "%.17g", d);
    else
        fputs(isnan(d) ? "\"NaN\"" : (d > 0 ? "\"Infinity\"" : "\"-Infinity\""), f);
}

void osdk_attrs_json(FILE *f, const osdk_attr_t *v, uint32_t n, const osdk_arena_t *a)
{
    fputc('{', f);
    for (uint32_t i = 0; i < n; i++) {
        const osdk_attr_t *d = &v[i];
        const char *base = a->p + d->u.off;
        if (i) fputc(',', f);
        osdk_json_str(f, a->p + d->key_off, d->key_len);
        fputc(':', f);
        switch (d->type) {
        case OCELOT_ATTR_STRING:
            osdk_json_str(f, base, d->n);
            break;
        case OCELOT_ATTR_BOOL:
            fputs(d->u.i ? "true" : "false", f);
            break;
        case OCELOT_ATTR_INT:
            fprintf(f, "%lld", (long long)d->u.i);
            break;
        case OCELOT_ATTR_DOUBLE:
            json_double(f, d->u.d);
            break;
        default: {
            size_t pos = 0;
            fputc('[', f);
            for (uint32_t j = 0; j < d->n; j++) {
                int64_t x;
                double dv;
                uint32_t len;
                if (j) fputc(',', f);
                switch (d->type) {
                case OCELOT_ATTR_STRING_ARRAY:
                    memcpy(&len, base + pos, 4);
                    osdk_json_str(f, base + pos + 4, len);
                    pos += 4 + len;
                    break;
                case OCELOT_ATTR_BOOL_ARRAY:
                    memcpy(&x, base + 8 * j, 8);
                    fputs(x ? "true" : "false", f);
                    break;
                case OCELOT_ATTR_INT_ARRAY:
                    memcpy(&x, base + 8 * j, 8);
                    fprintf(f, "%lld", (long long)x);
                    break;
                default:
                    memcpy(&dv, base + 8 * j, 8);
                    json_double(f, dv);
                }
            }
            fputc(']', f);
        }
        }
    }
    fputc('}', f);
}
