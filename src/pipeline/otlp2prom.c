/*
 * otlp2prom.c — OTLP metrics → Prometheus samples (rules in otlp2prom.h).
 *
 * Invariants: every produced series has sorted, unique, non-empty labels
 * with a valid (legacy charset) __name__; every series carries exactly one
 * sample; everything built here lives in the caller's arena.
 * Workload: per data point, the attribute labels are built and sorted once
 * and every series of the point (a histogram's buckets, _sum, _count) is
 * that base plus one or two labels merged in; names are built once per
 * metric. Delta state within a batch is an open-addressing map keyed by the
 * label-set hash, so accumulation is O(1) per series.
 */
#include "pipeline/otlp2prom.h"

#include "core/buf.h"
#include "wire/json_writer.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define FLAG_NO_RECORDED_VALUE 1u

/* ---- names ---- */

static bool is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

typedef struct {
    const char *ucum; /* UCUM unit */
    const char *prom; /* Prometheus word */
} unit_map_t;

/* The specification's unit mapping. */
static const unit_map_t main_units[] = {
    {"d", "days"},          {"h", "hours"},         {"min", "minutes"},    {"s", "seconds"},
    {"ms", "milliseconds"}, {"us", "microseconds"}, {"ns", "nanoseconds"}, {"By", "bytes"},
    {"KiBy", "kibibytes"},  {"MiBy", "mebibytes"},  {"GiBy", "gibibytes"}, {"TiBy", "tibibytes"},
    {"KBy", "kilobytes"},   {"MBy", "megabytes"},   {"GBy", "gigabytes"},  {"TBy", "terabytes"},
    {"m", "meters"},        {"V", "volts"},         {"A", "amperes"},      {"J", "joules"},
    {"W", "watts"},         {"g", "grams"},         {"Cel", "celsius"},    {"Hz", "hertz"},
    {"%", "percent"},
};
static const unit_map_t per_units[] = {
    {"s", "second"}, {"m", "minute"}, {"h", "hour"}, {"d", "day"},
    {"w", "week"},   {"mo", "month"}, {"y", "year"},
};

/* Appends the mapped or cleaned (non-alphanumerics dropped) unit part. */
static void unit_word(ocl_str_t u, const unit_map_t *map, size_t n_map, ocl_buf_t *out)
{
    for (size_t i = 0; i < n_map; i++)
        if (ocl_str_eq_c(u, map[i].ucum)) {
            ocl_buf_puts(out, map[i].prom);
            return;
        }
    for (size_t i = 0; i < u.n; i++)
        if (is_alnum((unsigned char)u.p[i])) ocl_buf_putc(out, u.p[i]);
}

/* The Prometheus unit suffix (without a leading '_') for `unit`, or empty.
 * `gauge`: whether "1" becomes "ratio". */
static void unit_suffix(ocl_str_t unit, bool gauge, ocl_buf_t *out)
{
    char clean[128];
    size_t n = 0;
    int depth = 0;
    /* drop {annotations} */
    for (size_t i = 0; i < unit.n && n < sizeof clean; i++) {
        char c = unit.p[i];
        if (c == '{')
            depth++;
        else if (c == '}' && depth)
            depth--;
        else if (!depth)
            clean[n++] = c;
    }
    ocl_str_t u = {clean, n};
    if (ocl_str_eq_c(u, "1")) {
        if (gauge) ocl_buf_puts(out, "ratio");
        return;
    }
    const char *slash = memchr(clean, '/', n);
    ocl_str_t main = {clean, slash ? (size_t)(slash - clean) : n};
    ocl_str_t per = slash ? (ocl_str_t){slash + 1, n - main.n - 1} : OCL_STR_NULL;
    size_t start = out->len;
    if (!ocl_str_eq_c(main, "1")) unit_word(main, main_units, OCL_ARRAY_LEN(main_units), out);
    size_t mid = out->len;
    if (per.n) {
        ocl_buf_puts(out, mid > start ? "_per_" : "per_");
        size_t before = out->len;
        unit_word(per, per_units, OCL_ARRAY_LEN(per_units), out);
        if (out->len == before) out->len = mid; /* nothing after "per" */
    }
}

/* Appends `s` with every run of characters outside [A-Za-z0-9:] turned
 * into one '_' (none at the ends). */
static void append_tokens(ocl_buf_t *b, ocl_str_t s)
{
    bool pending = false;
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (is_alnum(c) || c == ':') {
            if (pending && b->len) ocl_buf_putc(b, '_');
            pending = false;
            ocl_buf_putc(b, (char)c);
        } else {
            pending = true;
        }
    }
}

/* Whether "_tok_" occurs in "_name_" (tok is a whole token sequence). */
static bool has_tokens(const ocl_buf_t *name, const char *tok, size_t n)
{
    if (!n || name->len < n) return false;
    for (size_t i = 0; i + n <= name->len; i++) {
        if ((i == 0 || name->p[i - 1] == '_') && (i + n == name->len || name->p[i + n] == '_') &&
            memcmp(name->p + i, tok, n) == 0)
            return true;
    }
    return false;
}

static ocl_str_t arena_str(ocl_arena_t *a, const void *p, size_t n)
{
    return (ocl_str_t){ocl_arena_strndup(a, p, n), n};
}

/* Kind of Prometheus family a metric becomes. */
typedef enum { K_GAUGE, K_COUNTER, K_HISTOGRAM, K_SUMMARY, K_NONE } kind_t;

static kind_t kind_of(const ocl_metric_t *m)
{
    switch (m->type) {
    case OCL_METRIC_GAUGE:
        return K_GAUGE;
    case OCL_METRIC_SUM:
        return m->is_monotonic ? K_COUNTER : K_GAUGE;
    case OCL_METRIC_HISTOGRAM:
        return K_HISTOGRAM;
    case OCL_METRIC_SUMMARY:
        return K_SUMMARY;
    default:
        return K_NONE;
    }
}

/* Builds the name; *unit_out gets the unit word (may be empty). */
static ocl_str_t build_name(const ocl_metric_t *m, ocl_arena_t *a, ocl_str_t *unit_out)
{
    kind_t k = kind_of(m);
    ocl_buf_t b, u;
    ocl_buf_init(&b);
    ocl_buf_init(&u);
    append_tokens(&b, m->name);
    if (b.len == 0) goto done;
    if (b.p[0] >= '0' && b.p[0] <= '9') {
        ocl_buf_putc(&b, '_');
        memmove(b.p + 1, b.p, b.len - 1);
        b.p[0] = '_';
    }
    if (k == K_COUNTER && b.len > 6 && memcmp(b.p + b.len - 6, "_total", 6) == 0) b.len -= 6;
    unit_suffix(m->unit, k == K_GAUGE, &u);
    if (u.len && !has_tokens(&b, (const char *)u.p, u.len)) {
        ocl_buf_putc(&b, '_');
        ocl_buf_append(&b, u.p, u.len);
    }
    if (k == K_COUNTER) ocl_buf_puts(&b, "_total");
done:;
    ocl_str_t out = b.len ? arena_str(a, b.p, b.len) : OCL_STR_NULL;
    if (unit_out) *unit_out = u.len ? arena_str(a, u.p, u.len) : OCL_STR_NULL;
    ocl_buf_dispose(&b);
    ocl_buf_dispose(&u);
    return out;
}

ocl_str_t ocl_o2p_metric_name(const ocl_metric_t *m, ocl_arena_t *a)
{
    return build_name(m, a, NULL);
}

ocl_str_t ocl_o2p_label_name(ocl_str_t key, ocl_arena_t *a)
{
    if (key.n == 0) return OCL_STR_NULL;
    /* the prefix rules look at the sanitised name: ".x" is "_x" → "key_x" */
    unsigned char c0 = (unsigned char)key.p[0];
    bool u0 = !is_alnum(c0), u1 = key.n > 1 && !is_alnum((unsigned char)key.p[1]);
    const char *prefix = "";
    if (c0 >= '0' && c0 <= '9')
        prefix = "key_";
    else if (u0 && !u1)
        prefix = "key";
    size_t pn = strlen(prefix);
    char *s = ocl_arena_alloc(a, pn + key.n + 1);
    memcpy(s, prefix, pn);
    for (size_t i = 0; i < key.n; i++) {
        unsigned char c = (unsigned char)key.p[i];
        s[pn + i] = (is_alnum(c) || c == '_') ? (char)c : '_';
    }
    s[pn + key.n] = 0;
    return (ocl_str_t){s, pn + key.n};
}

size_t ocl_o2p_format_float(double v, char *buf, size_t n)
{
    if (isnan(v)) return (size_t)snprintf(buf, n, "NaN");
    if (isinf(v)) return (size_t)snprintf(buf, n, v > 0 ? "+Inf" : "-Inf");
    /* shortest %e that reads back exactly, then the same digits without an
     * exponent */
    char e[40];
    int p;
    for (p = 0; p < 17; p++) {
        snprintf(e, sizeof e, "%.*e", p, v);
        if (strtod(e, NULL) == v) break;
    }
    const char *x = strchr(e, 'e');
    int exp10 = x ? atoi(x + 1) : 0;
    int frac = p - exp10;
    if (frac < 0) frac = 0;
    return (size_t)snprintf(buf, n, "%.*f", frac, v);
}

/* ---- labels ---- */

typedef struct {
    ocl_str_t name;  /* sanitised name */
    ocl_str_t key;   /* original attribute key (orders the ';' joins) */
    ocl_str_t value; /* value */
    uint8_t prio;    /* 0 attribute, 1 generated (wins) */
    uint32_t order;  /* position among the inputs (for ';' joins) */
} lab_t;

static int cmp_lab(const void *x, const void *y)
{
    const lab_t *a = x, *b = y;
    size_t n = OCL_MIN(a->name.n, b->name.n);
    int c = n ? memcmp(a->name.p, b->name.p, n) : 0;
    if (c) return c;
    if (a->name.n != b->name.n) return a->name.n < b->name.n ? -1 : 1;
    if (a->prio != b->prio) return a->prio < b->prio ? -1 : 1;
    /* colliding keys: values are joined in the lexicographical order of
     * the original keys (the specification's rule) */
    n = OCL_MIN(a->key.n, b->key.n);
    c = n ? memcmp(a->key.p, b->key.p, n) : 0;
    if (c) return c;
    if (a->key.n != b->key.n) return a->key.n < b->key.n ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

static void av_json(ocl_jw_t *w, const ocl_anyvalue_t *v);

static void av_json(ocl_jw_t *w, const ocl_anyvalue_t *v)
{
    switch (v->type) {
    case OCL_AV_STRING:
        ocl_jw_str(w, v->u.s);
        break;
    case OCL_AV_BOOL:
        ocl_jw_bool(w, v->u.b);
        break;
    case OCL_AV_INT:
        ocl_jw_int(w, v->u.i);
        break;
    case OCL_AV_DOUBLE:
        ocl_jw_double(w, v->u.d);
        break;
    case OCL_AV_BYTES:
        ocl_jw_base64(w, v->u.s.p, v->u.s.n);
        break;
    case OCL_AV_ARRAY:
        ocl_jw_arr_begin(w);
        for (uint32_t i = 0; i < v->u.arr.n; i++)
            av_json(w, &v->u.arr.v[i]);
        ocl_jw_arr_end(w);
        break;
    case OCL_AV_KVLIST:
        ocl_jw_obj_begin(w);
        for (uint32_t i = 0; i < v->u.kvlist.n; i++) {
            ocl_jw_key_str(w, v->u.kvlist.kv[i].key);
            av_json(w, &v->u.kvlist.kv[i].value);
        }
        ocl_jw_obj_end(w);
        break;
    default:
        ocl_jw_null(w);
    }
}

/* The label value of an attribute (empty = no label). */
static ocl_str_t av_string(const ocl_anyvalue_t *v, ocl_arena_t *a)
{
    char tmp[64];
    size_t n;
    switch (v->type) {
    case OCL_AV_STRING:
        return v->u.s;
    case OCL_AV_BOOL:
        return v->u.b ? OCL_STR("true") : OCL_STR("false");
    case OCL_AV_INT:
        n = (size_t)snprintf(tmp, sizeof tmp, "%" PRId64, v->u.i);
        return arena_str(a, tmp, n);
    case OCL_AV_DOUBLE: {
        char big[400];
        n = ocl_o2p_format_float(v->u.d, big, sizeof big);
        return arena_str(a, big, n);
    }
    case OCL_AV_EMPTY:
        return OCL_STR_NULL;
    default: {
        ocl_buf_t b;
        ocl_jw_t w;
        ocl_buf_init(&b);
        ocl_jw_init(&w, &b);
        av_json(&w, v);
        ocl_str_t s = OCL_STR_NULL;
        if (v->type == OCL_AV_BYTES && b.len >= 2) /* the base64 text, unquoted */
            s = arena_str(a, b.p + 1, b.len - 2);
        else if (b.len)
            s = arena_str(a, b.p, b.len);
        ocl_buf_dispose(&b);
        return s;
    }
    }
}

/* Sorted, merged label set from attributes plus generated labels (which
 * override attributes of the same name). */
static ocl_labels_t build_labels(ocl_arena_t *a, const ocl_attrs_t *attrs, const lab_t *gen,
                                 size_t n_gen, bool (*skip)(ocl_str_t key))
{
    size_t cap = (attrs ? attrs->n : 0) + n_gen;
    lab_t *t = ocl_arena_alloc(a, (cap ? cap : 1) * sizeof *t);
    size_t n = 0;
    for (uint32_t i = 0; attrs && i < attrs->n; i++) {
        const ocl_kv_t *kv = &attrs->v[i];
        if (skip && skip(kv->key)) continue;
        ocl_str_t name = ocl_o2p_label_name(kv->key, a);
        if (!name.n || ocl_str_eq_c(name, OCL_METRIC_NAME)) continue;
        ocl_str_t val = av_string(&kv->value, a);
        if (!val.n) continue;
        t[n++] = (lab_t){name, kv->key, val, 0, i};
    }
    for (size_t i = 0; i < n_gen; i++)
        if (gen[i].value.n) {
            t[n] = gen[i];
            t[n].prio = 1;
            t[n].order = (uint32_t)i;
            n++;
        }
    if (n > 1) qsort(t, n, sizeof *t, cmp_lab);
    ocl_label_t *out = ocl_arena_alloc(a, (n ? n : 1) * sizeof *out);
    uint32_t k = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && ocl_str_eq(t[j].name, t[i].name))
            j++;
        if (t[j - 1].prio == 1) {
            out[k++] = (ocl_label_t){t[j - 1].name, t[j - 1].value};
        } else if (j - i == 1) {
            out[k++] = (ocl_label_t){t[i].name, t[i].value};
        } else {
            /* colliding attribute names: values joined with ';' in key order */
            size_t len = 0;
            for (size_t x = i; x < j; x++)
                len += t[x].value.n + 1;
            char *s = ocl_arena_alloc(a, len);
            size_t off = 0;
            for (size_t x = i; x < j; x++) {
                if (off) s[off++] = ';';
                memcpy(s + off, t[x].value.p, t[x].value.n);
                off += t[x].value.n;
            }
            out[k++] = (ocl_label_t){t[i].name, {s, off}};
        }
        i = j;
    }
    return (ocl_labels_t){out, k};
}

static int name_cmp(ocl_str_t a, ocl_str_t b)
{
    size_t n = OCL_MIN(a.n, b.n);
    int c = n ? memcmp(a.p, b.p, n) : 0;
    if (c) return c;
    return a.n < b.n ? -1 : a.n > b.n;
}

/* base ∪ extra (extra sorted by name, overriding base). */
static ocl_labels_t merge_labels(ocl_arena_t *a, ocl_labels_t base, const ocl_label_t *extra,
                                 uint32_t n_extra)
{
    ocl_label_t *out = ocl_arena_alloc(a, (base.n + n_extra) * sizeof *out);
    uint32_t i = 0, j = 0, k = 0;
    while (i < base.n || j < n_extra) {
        int c;
        if (i == base.n)
            c = 1;
        else if (j == n_extra)
            c = -1;
        else
            c = name_cmp(base.v[i].name, extra[j].name);
        if (c < 0)
            out[k++] = base.v[i++];
        else if (c > 0)
            out[k++] = extra[j++];
        else
            out[k++] = extra[j++], i++;
    }
    return (ocl_labels_t){out, k};
}

/* ---- batch building ---- */

typedef struct {
    uint64_t h;   /* label hash; 0 = empty slot */
    uint32_t idx; /* series index in the batch */
} dslot_t;

typedef struct {
    ocl_arena_t *a;            /* everything lives here */
    ocl_prom_series_t *series; /* produced series */
    size_t n, cap;             /* used / allocated */
    ocl_prom_meta_t *meta;     /* produced metadata */
    size_t nm, capm;           /* used / allocated */
    ocl_o2p_last_fn last;      /* previous sample lookup */
    void *ud;                  /* for last */
    dslot_t *map;              /* delta series produced in this batch */
    size_t map_cap, map_n;     /* slots (power of 2) / used */
    int64_t now_ms;            /* time for points without one */
    ocl_o2p_result_t *res;     /* counters */
} ctx_t;

static void reject(ctx_t *c, uint64_t n, const char *why)
{
    c->res->rejected += n;
    if (!c->res->reason) c->res->reason = why;
}

static ocl_prom_series_t *push(ctx_t *c, ocl_labels_t ls, int64_t t, double v)
{
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 64;
        c->series =
            ocl_arena_realloc(c->a, c->series, c->cap * sizeof *c->series, nc * sizeof *c->series);
        c->cap = nc;
    }
    ocl_sample_t *s = ocl_arena_alloc(c->a, sizeof *s);
    s->t = t;
    s->v = v;
    ocl_prom_series_t *ps = &c->series[c->n++];
    ps->labels = ls;
    ps->samples = s;
    ps->n_samples = 1;
    return ps;
}

static void map_grow(ctx_t *c)
{
    size_t nc = c->map_cap ? c->map_cap * 2 : 64;
    dslot_t *nm = ocl_arena_calloc(c->a, nc * sizeof *nm);
    for (size_t i = 0; i < c->map_cap; i++) {
        if (!c->map[i].h) continue;
        size_t j = c->map[i].h & (nc - 1);
        while (nm[j].h)
            j = (j + 1) & (nc - 1);
        nm[j] = c->map[i];
    }
    c->map = nm;
    c->map_cap = nc;
}

/* Emits a delta series value accumulated onto the previous one. */
static void push_delta(ctx_t *c, ocl_labels_t ls, int64_t start_ms, bool has_start, int64_t t,
                       double delta)
{
    if (c->map_n * 2 >= c->map_cap) map_grow(c);
    uint64_t h = ocl_labels_hash(&ls) | 1; /* never 0 */
    size_t j = h & (c->map_cap - 1);
    int64_t pt = 0;
    double pv = 0;
    bool have = false;
    while (c->map[j].h) {
        if (c->map[j].h == h && ocl_labels_equal(&c->series[c->map[j].idx].labels, &ls)) {
            const ocl_sample_t *s = c->series[c->map[j].idx].samples;
            pt = s->t, pv = s->v, have = true;
            break;
        }
        j = (j + 1) & (c->map_cap - 1);
    }
    bool slot_used = c->map[j].h != 0;
    if (!have && c->last && c->last(c->ud, &ls, &pt, &pv) == 0) have = true;
    double v = delta;
    /* a NaN (staleness marker or a NaN point) starts a new run: added to,
     * it would make every later value of the series NaN */
    if (have && !isnan(pv) && (!has_start || start_ms >= pt)) v = pv + delta;
    push(c, ls, t, v);
    c->map[j].h = h;
    c->map[j].idx = (uint32_t)(c->n - 1);
    if (!slot_used) c->map_n++;
}

static void emit(ctx_t *c, ocl_labels_t ls, bool delta, int64_t start_ms, bool has_start, int64_t t,
                 double v, bool stale)
{
    if (stale)
        push(c, ls, t, ocl_stale_nan());
    else if (delta)
        push_delta(c, ls, start_ms, has_start, t, v);
    else
        push(c, ls, t, v);
}

static void add_meta(ctx_t *c, ocl_str_t family, ocl_prom_type_t type, ocl_str_t help,
                     ocl_str_t unit)
{
    if (help.n && !ocl_utf8_valid(help.p, help.n)) help = OCL_STR_NULL;
    if (c->nm == c->capm) {
        size_t nc = c->capm ? c->capm * 2 : 16;
        c->meta = ocl_arena_realloc(c->a, c->meta, c->capm * sizeof *c->meta, nc * sizeof *c->meta);
        c->capm = nc;
    }
    c->meta[c->nm++] = (ocl_prom_meta_t){family, type, help, unit};
}

static int64_t to_ms(const ctx_t *c, uint64_t ns)
{
    return ns ? (int64_t)(ns / 1000000u) : c->now_ms;
}

static ocl_str_t suffixed(ocl_arena_t *a, ocl_str_t base, const char *suffix)
{
    size_t sn = strlen(suffix);
    char *s = ocl_arena_alloc(a, base.n + sn + 1);
    memcpy(s, base.p, base.n);
    memcpy(s + base.n, suffix, sn + 1);
    return (ocl_str_t){s, base.n + sn};
}

static ocl_str_t fmt_label_float(ocl_arena_t *a, double v)
{
    char buf[400];
    size_t n = ocl_o2p_format_float(v, buf, sizeof buf);
    return arena_str(a, buf, n);
}

static void do_metric(ctx_t *c, const ocl_metric_t *m, const lab_t *gen, size_t n_gen,
                      int64_t *max_t)
{
    c->res->points += m->n_dp;
    if (m->type == OCL_METRIC_NONE) {
        reject(c, 1, "metric without data");
        return;
    }
    if (m->type == OCL_METRIC_EXP_HISTOGRAM) {
        reject(c, m->n_dp, "exponential histograms are not supported");
        return;
    }
    ocl_str_t unit;
    ocl_str_t name = build_name(m, c->a, &unit);
    if (!name.n) {
        reject(c, m->n_dp ? m->n_dp : 1, "metric name is empty or has no valid character");
        return;
    }
    kind_t k = kind_of(m);
    bool delta = m->temporality == OCL_TEMPORALITY_DELTA &&
                 (m->type == OCL_METRIC_SUM || m->type == OCL_METRIC_HISTOGRAM);
    static const ocl_prom_type_t ptype[] = {OCL_PT_GAUGE, OCL_PT_COUNTER, OCL_PT_HISTOGRAM,
                                            OCL_PT_SUMMARY};
    add_meta(c, name, ptype[k], m->description, unit);
    ocl_label_t ex[2];
    for (uint32_t i = 0; i < m->n_dp; i++) {
        const ocl_attrs_t *attrs;
        uint64_t start_ns, time_ns;
        uint32_t flags;
        switch (m->type) {
        case OCL_METRIC_GAUGE:
        case OCL_METRIC_SUM:
            attrs = &m->dp.number[i].attrs;
            start_ns = m->dp.number[i].start_unix_nano;
            time_ns = m->dp.number[i].time_unix_nano;
            flags = m->dp.number[i].flags;
            break;
        case OCL_METRIC_HISTOGRAM:
            attrs = &m->dp.hist[i].attrs;
            start_ns = m->dp.hist[i].start_unix_nano;
            time_ns = m->dp.hist[i].time_unix_nano;
            flags = m->dp.hist[i].flags;
            break;
        default:
            attrs = &m->dp.summary[i].attrs;
            start_ns = m->dp.summary[i].start_unix_nano;
            time_ns = m->dp.summary[i].time_unix_nano;
            flags = m->dp.summary[i].flags;
            break;
        }
        int64_t t = to_ms(c, time_ns), st = (int64_t)(start_ns / 1000000u);
        bool has_start = start_ns != 0;
        bool stale = (flags & FLAG_NO_RECORDED_VALUE) != 0;
        if (m->type == OCL_METRIC_HISTOGRAM) {
            const ocl_histogram_dp_t *h = &m->dp.hist[i];
            if (h->n_bucket_counts && h->n_bucket_counts != h->n_explicit_bounds + 1) {
                reject(c, 1, "histogram bucket counts do not match its explicit bounds");
                continue;
            }
        }
        if (t > *max_t) *max_t = t;
        ocl_labels_t base = build_labels(c->a, attrs, gen, n_gen, NULL);
        ex[0] = (ocl_label_t){OCL_STR(OCL_METRIC_NAME), name};
        switch (m->type) {
        case OCL_METRIC_GAUGE:
        case OCL_METRIC_SUM: {
            const ocl_number_dp_t *d = &m->dp.number[i];
            double v = d->is_int ? (double)d->as_int : d->as_double;
            emit(c, merge_labels(c->a, base, ex, 1), delta, st, has_start, t, v, stale);
            break;
        }
        case OCL_METRIC_HISTOGRAM: {
            const ocl_histogram_dp_t *h = &m->dp.hist[i];
            ocl_str_t bname = suffixed(c->a, name, "_bucket");
            ex[0].value = bname;
            uint64_t cum = 0;
            for (uint32_t b = 0; b + 1 < h->n_bucket_counts; b++) {
                /* saturating: a wrapped sum would make the buckets decrease */
                cum =
                    h->bucket_counts[b] > UINT64_MAX - cum ? UINT64_MAX : cum + h->bucket_counts[b];
                ex[1] = (ocl_label_t){OCL_STR("le"), fmt_label_float(c->a, h->explicit_bounds[b])};
                emit(c, merge_labels(c->a, base, ex, 2), delta, st, has_start, t, (double)cum,
                     stale);
            }
            ex[1] = (ocl_label_t){OCL_STR("le"), OCL_STR("+Inf")};
            emit(c, merge_labels(c->a, base, ex, 2), delta, st, has_start, t, (double)h->count,
                 stale);
            if (h->has_sum) {
                ex[0].value = suffixed(c->a, name, "_sum");
                emit(c, merge_labels(c->a, base, ex, 1), delta, st, has_start, t, h->sum, stale);
            }
            ex[0].value = suffixed(c->a, name, "_count");
            emit(c, merge_labels(c->a, base, ex, 1), delta, st, has_start, t, (double)h->count,
                 stale);
            break;
        }
        default: {
            const ocl_summary_dp_t *s = &m->dp.summary[i];
            for (uint32_t q = 0; q < s->n_quantiles; q++) {
                ex[1] = (ocl_label_t){OCL_STR("quantile"),
                                      fmt_label_float(c->a, s->quantiles[q].quantile)};
                emit(c, merge_labels(c->a, base, ex, 2), false, 0, false, t, s->quantiles[q].value,
                     stale);
            }
            ex[0].value = suffixed(c->a, name, "_sum");
            emit(c, merge_labels(c->a, base, ex, 1), false, 0, false, t, s->sum, stale);
            ex[0].value = suffixed(c->a, name, "_count");
            emit(c, merge_labels(c->a, base, ex, 1), false, 0, false, t, (double)s->count, stale);
            break;
        }
        }
    }
}

static const ocl_anyvalue_t *res_attr(const ocl_resource_t *r, const char *key)
{
    for (uint32_t i = 0; i < r->attrs.n; i++)
        if (ocl_str_eq_c(r->attrs.v[i].key, key)) return &r->attrs.v[i].value;
    return NULL;
}

static bool is_service_attr(ocl_str_t key)
{
    return ocl_str_eq_c(key, "service.name") || ocl_str_eq_c(key, "service.namespace") ||
           ocl_str_eq_c(key, "service.instance.id");
}

int ocl_otlp2prom(const ocl_metrics_req_t *req, int64_t now_ms, ocl_o2p_last_fn last, void *ud,
                  ocl_arena_t *a, ocl_prom_batch_t *out, ocl_o2p_result_t *res)
{
    ctx_t c = {.a = a, .last = last, .ud = ud, .now_ms = now_ms, .res = res};
    memset(res, 0, sizeof *res);
    bool target_meta = false;
    for (uint32_t r = 0; r < req->n_rm; r++) {
        const ocl_resource_metrics_t *rm = &req->rm[r];
        const ocl_resource_t *rs = &rm->resource;
        /* job and instance from the service attributes */
        const ocl_anyvalue_t *sn = res_attr(rs, "service.name");
        const ocl_anyvalue_t *ns = res_attr(rs, "service.namespace");
        const ocl_anyvalue_t *iid = res_attr(rs, "service.instance.id");
        ocl_str_t job = sn ? av_string(sn, a) : OCL_STR_NULL;
        ocl_str_t nss = ns ? av_string(ns, a) : OCL_STR_NULL;
        if (job.n && nss.n) {
            char *s = ocl_arena_alloc(a, nss.n + 1 + job.n);
            memcpy(s, nss.p, nss.n);
            s[nss.n] = '/';
            memcpy(s + nss.n + 1, job.p, job.n);
            job = (ocl_str_t){s, nss.n + 1 + job.n};
        }
        ocl_str_t inst = iid ? av_string(iid, a) : OCL_STR_NULL;
        int64_t max_t = INT64_MIN;
        lab_t gen[4];
        for (uint32_t s = 0; s < rm->n_scope_metrics; s++) {
            const ocl_scope_metrics_t *sm = &rm->scope_metrics[s];
            size_t ng = 0;
            gen[ng++] = (lab_t){OCL_STR("job"), OCL_STR("job"), job, 1, 0};
            gen[ng++] = (lab_t){OCL_STR("instance"), OCL_STR("instance"), inst, 1, 0};
            gen[ng++] = (lab_t){OCL_STR("otel_scope_name"), OCL_STR("otel_scope_name"),
                                sm->scope.name, 1, 0};
            gen[ng++] = (lab_t){OCL_STR("otel_scope_version"), OCL_STR("otel_scope_version"),
                                sm->scope.version, 1, 0};
            for (uint32_t k = 0; k < sm->n_metrics; k++)
                do_metric(&c, &sm->metrics[k], gen, ng, &max_t);
        }
        /* target_info: the other resource attributes, once per resource */
        bool other = false;
        for (uint32_t i = 0; i < rs->attrs.n; i++)
            if (!is_service_attr(rs->attrs.v[i].key)) other = true;
        if (other && max_t != INT64_MIN) {
            lab_t g[2] = {{OCL_STR("job"), OCL_STR("job"), job, 1, 0},
                          {OCL_STR("instance"), OCL_STR("instance"), inst, 1, 0}};
            ocl_labels_t base = build_labels(a, &rs->attrs, g, 2, is_service_attr);
            ocl_label_t nm = {OCL_STR(OCL_METRIC_NAME), OCL_STR("target_info")};
            push(&c, merge_labels(a, base, &nm, 1), max_t, 1.0);
            if (!target_meta)
                add_meta(&c, OCL_STR("target_info"), OCL_PT_GAUGE, OCL_STR("Target metadata"),
                         OCL_STR_NULL);
            target_meta = true;
        }
    }
    out->series = c.series;
    out->n_series = c.n;
    out->meta = c.meta;
    out->n_meta = c.nm;
    return 0;
}
