/*
 * aggregate.c — PromQL aggregation operators (sum avg count min max group
 * stddev stdvar quantile topk bottomk limitk limit_ratio count_values) with
 * by/without grouping.
 *
 * Groups are computed once per series from its labels; members of a group
 * are visited in input order at each step so floating-point results match
 * Prometheus's (Kahan sums, incremental means, Welford variance, topk heap
 * order). topk/bottomk/limitk/limit_ratio return the input series; for an
 * instant query their output order is Prometheus's (per group, sorted).
 */
#include "query/promql/engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <xxhash.h>

ocl_labels_t ocl_pqlx_group_labels(ev_t *ev, const ocl_labels_t *ls, const ocl_str_t *names,
                                   uint32_t n_names, bool without, bool *has_name)
{
    ocl_label_t *v = ocl_arena_alloc(ev->a, (ls->n + 1) * sizeof(ocl_label_t));
    uint32_t m = 0;
    for (uint32_t i = 0; i < ls->n; i++) {
        bool listed = false;
        for (uint32_t j = 0; j < n_names && !listed; j++)
            listed = ocl_str_eq(ls->v[i].name, names[j]);
        bool is_name = ocl_str_eq_c(ls->v[i].name, OCL_METRIC_NAME);
        bool keep = without ? (!listed && !is_name) : listed;
        if (keep) {
            v[m++] = ls->v[i];
            if (is_name && has_name) *has_name = true;
        }
    }
    return (ocl_labels_t){v, m};
}

static int dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double ocl_pqlx_quantile(double q, double *v, size_t n)
{
    if (n == 0 || isnan(q)) return NAN;
    if (q < 0) return -INFINITY;
    if (q > 1) return INFINITY;
    /* NaNs first, like Go's sort of vectorByValueHeap */
    size_t nn = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(v[i])) {
            double t = v[nn];
            v[nn++] = v[i];
            v[i] = t;
        }
    }
    qsort(v + nn, n - nn, sizeof(double), dcmp);
    double rank = q * (double)(n - 1);
    size_t lo = (size_t)fmax(0, floor(rank));
    size_t hi = (size_t)fmin((double)(n - 1), (double)lo + 1);
    double w = rank - floor(rank);
    return v[lo] * (1 - w) + v[hi] * w;
}

/* Go's strconv.FormatFloat(f, fmt, -1, 64) for fmt 'f' or 'g' (%v). */
void ocl_pqlx_fmt_float(double f, char fmt, char *out, size_t len)
{
    if (isnan(f)) {
        snprintf(out, len, "NaN");
        return;
    }
    if (isinf(f)) {
        snprintf(out, len, f > 0 ? "+Inf" : "-Inf");
        return;
    }
    char e[40];
    int p;
    for (p = 1; p <= 17; p++) {
        snprintf(e, sizeof e, "%.*e", p - 1, f);
        if (strtod(e, NULL) == f) break;
    }
    /* e = [-]d.ddde[+-]xx */
    bool neg = e[0] == '-';
    const char *s = e + neg;
    char digs[24];
    int nd = 0;
    const char *c = s;
    for (; *c && *c != 'e'; c++)
        if (*c >= '0' && *c <= '9') digs[nd++] = *c;
    int exp = atoi(c + 1);
    while (nd > 1 && digs[nd - 1] == '0')
        nd--;
    if (f == 0) {
        nd = 1;
        exp = 0;
    }
    char buf[400];
    size_t k = 0;
    if (neg) buf[k++] = '-';
    bool use_e = fmt == 'g' && (exp < -4 || exp >= 21);
    if (use_e) {
        buf[k++] = digs[0];
        if (nd > 1) {
            buf[k++] = '.';
            for (int i = 1; i < nd; i++)
                buf[k++] = digs[i];
        }
        k += (size_t)snprintf(buf + k, sizeof buf - k, "e%c%02d", exp < 0 ? '-' : '+', abs(exp));
    } else {
        int dp = exp + 1; /* digits before the decimal point */
        if (dp <= 0) {
            buf[k++] = '0';
            buf[k++] = '.';
            for (int i = 0; i < -dp; i++)
                buf[k++] = '0';
            for (int i = 0; i < nd; i++)
                buf[k++] = digs[i];
        } else {
            for (int i = 0; i < dp; i++)
                buf[k++] = i < nd ? digs[i] : '0';
            if (nd > dp) {
                buf[k++] = '.';
                for (int i = dp; i < nd; i++)
                    buf[k++] = digs[i];
            }
        }
    }
    buf[k] = 0;
    snprintf(out, len, "%s", buf);
}

static uint64_t prom_hash(const ocl_labels_t *ls)
{
    XXH64_state_t *st = XXH64_createState();
    XXH64_reset(st, 0);
    static const char sep = (char)0xff;
    for (uint32_t i = 0; i < ls->n; i++) {
        XXH64_update(st, ls->v[i].name.p, ls->v[i].name.n);
        XXH64_update(st, &sep, 1);
        XXH64_update(st, ls->v[i].value.p, ls->v[i].value.n);
        XXH64_update(st, &sep, 1);
    }
    uint64_t h = XXH64_digest(st);
    XXH64_freeState(st);
    return h;
}

bool ocl_pqlx_utf8_valid(ocl_str_t s)
{
    const unsigned char *p = (const unsigned char *)s.p;
    size_t i = 0;
    while (i < s.n) {
        unsigned c = p[i];
        size_t l;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            l = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            l = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            l = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + l > s.n) return false;
        for (size_t j = 1; j < l; j++) {
            if ((p[i + j] & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (p[i + j] & 0x3f);
        }
        if ((l == 2 && cp < 0x80) || (l == 3 && cp < 0x800) || (l == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += l;
    }
    return true;
}

/* Go's %q of a string (enough for error messages). */
void ocl_pqlx_quote(ocl_str_t s, char *out, size_t len)
{
    size_t k = 0;
    if (len < 8) return;
    out[k++] = '"';
    for (size_t i = 0; i < s.n && k + 6 < len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c == '"' || c == '\\') {
            out[k++] = '\\';
            out[k++] = (char)c;
        } else if (c == '\n') {
            out[k++] = '\\';
            out[k++] = 'n';
        } else if (c == '\t') {
            out[k++] = '\\';
            out[k++] = 't';
        } else if (c < 0x20 || c == 0x7f) {
            k += (size_t)snprintf(out + k, len - k, "\\x%02x", c);
        } else if (c >= 0x80) {
            /* valid sequences pass through, invalid bytes as \x */
            size_t l = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
            if (l && i + l <= s.n && ocl_pqlx_utf8_valid((ocl_str_t){s.p + i, l}) &&
                k + l + 2 < len) {
                memcpy(out + k, s.p + i, l);
                k += l;
                i += l - 1;
            } else {
                k += (size_t)snprintf(out + k, len - k, "\\x%02x", c);
            }
        } else {
            out[k++] = (char)c;
        }
    }
    out[k++] = '"';
    out[k] = 0;
}

typedef struct {
    double v;   /* sample value */
    uint32_t k; /* series index */
} hent_t;

/* Go container/heap semantics with vectorByValueHeap (topk) or
 * vectorByReverseValueHeap (bottomk) ordering. */
static bool h_less(const hent_t *h, size_t i, size_t j, bool top)
{
    if (isnan(h[i].v)) return true;
    return top ? h[i].v < h[j].v : h[i].v > h[j].v;
}

static void h_swap(hent_t *h, size_t i, size_t j)
{
    hent_t t = h[i];
    h[i] = h[j];
    h[j] = t;
}

static void h_up(hent_t *h, size_t j, bool top)
{
    while (j > 0) {
        size_t i = (j - 1) / 2;
        if (!h_less(h, j, i, top)) break;
        h_swap(h, i, j);
        j = i;
    }
}

static bool h_down(hent_t *h, size_t i0, size_t n, bool top)
{
    size_t i = i0;
    for (;;) {
        size_t j1 = 2 * i + 1;
        if (j1 >= n) break;
        size_t j = j1;
        if (j1 + 1 < n && h_less(h, j1 + 1, j1, top)) j = j1 + 1;
        if (!h_less(h, j, i, top)) break;
        h_swap(h, i, j);
        i = j;
    }
    return i > i0;
}

typedef struct {
    uint32_t ng;       /* number of groups */
    uint32_t *gof;     /* group of each series */
    uint32_t *gstart;  /* members of group g: mem[gstart[g] .. gstart[g+1]) */
    uint32_t *mem;     /* series indexes ordered by group, input order within */
    ocl_labels_t *gls; /* group labels */
    bool *gdrop;       /* any member marked for name drop */
} groups_t;

static void make_groups(ev_t *ev, const ocl_pql_node_t *n, val_t *v, groups_t *g)
{
    lmap_t map = {0};
    g->gof = ocl_arena_alloc(ev->a, (v->n + 1) * sizeof(uint32_t));
    g->gls = ocl_arena_alloc(ev->a, (v->n + 1) * sizeof(ocl_labels_t));
    g->gdrop = ocl_arena_calloc(ev->a, (v->n + 1) * sizeof(bool));
    g->ng = 0;
    for (size_t k = 0; k < v->n; k++) {
        bool hn = false;
        ocl_labels_t gl = ocl_pqlx_group_labels(ev, &v->s[k].ls, n->agg.grouping, n->agg.n_grouping,
                                                n->agg.without, &hn);
        bool created;
        lment_t *e = ocl_pqlx_lmap_get(ev, &map, &gl, &created);
        if (created) {
            e->idx = g->ng;
            g->gls[g->ng++] = gl;
        }
        g->gof[k] = e->idx;
        if (hn && v->s[k].drop_name) g->gdrop[e->idx] = true;
    }
    g->gstart = ocl_arena_calloc(ev->a, (g->ng + 2) * sizeof(uint32_t));
    for (size_t k = 0; k < v->n; k++)
        g->gstart[g->gof[k] + 1]++;
    for (uint32_t i = 0; i < g->ng; i++)
        g->gstart[i + 1] += g->gstart[i];
    uint32_t *fill = ocl_arena_alloc(ev->a, (g->ng + 1) * sizeof(uint32_t));
    memcpy(fill, g->gstart, g->ng * sizeof(uint32_t));
    g->mem = ocl_arena_alloc(ev->a, (v->n + 1) * sizeof(uint32_t));
    for (size_t k = 0; k < v->n; k++)
        g->mem[fill[g->gof[k]]++] = (uint32_t)k;
}

/* topk, bottomk, limitk, limit_ratio */
static int agg_k(ev_t *ev, const ocl_pql_node_t *n, val_t *v, const double *param, val_t *out)
{
    groups_t g;
    make_groups(ev, n, v, &g);
    ocl_pql_aggop_t op = n->agg.op;
    uint8_t **nh = ocl_arena_alloc(ev->a, (v->n + 1) * sizeof(uint8_t *));
    for (size_t k = 0; k < v->n; k++)
        nh[k] = ocl_arena_calloc(ev->a, ev->n + 1);
    hent_t *heap = ocl_arena_alloc(ev->a, (v->n + 1) * sizeof(hent_t));
    uint32_t *order = ocl_arena_alloc(ev->a, (v->n + 1) * sizeof(uint32_t));
    size_t n_order = 0;
    bool warned = false;
    for (size_t i = 0; i < ev->n; i++) {
        double p = param[i];
        int64_t kk = 0;
        double ratio = 0;
        if (op == OCL_AGG_LIMIT_RATIO) {
            if (isnan(p)) return ocl_pqlx_fail(ev, OCL_PQL_ERR_EXECUTION, "Ratio value is NaN");
            ratio = p;
            if (p > 1 || p < -1) {
                ratio = p > 1 ? 1 : -1;
                if (!warned) {
                    char a[40], b[40];
                    ocl_pqlx_fmt_float(p, 'g', a, sizeof a);
                    ocl_pqlx_fmt_float(ratio, 'g', b, sizeof b);
                    ocl_pqlx_annot(ev, true, n->agg.param,
                                   "ratio value should be between -1 and 1, got %s, capping to %s",
                                   a, b);
                    warned = true;
                }
            }
        } else {
            if (isnan(p)) return ocl_pqlx_fail(ev, OCL_PQL_ERR_EXECUTION, "Parameter value is NaN");
            if (p >= 9.2e18)
                kk = INT64_MAX;
            else if (p <= -9.2e18)
                kk = INT64_MIN;
            else
                kk = (int64_t)p;
            if (kk < 1) continue;
        }
        for (uint32_t gi = 0; gi < g.ng; gi++) {
            size_t hn = 0;
            for (uint32_t mi = g.gstart[gi]; mi < g.gstart[gi + 1]; mi++) {
                uint32_t k = g.mem[mi];
                es_t *s = &v->s[k];
                if (!s->has[i]) continue;
                double f = s->v[i];
                if (op == OCL_AGG_LIMIT_RATIO) {
                    double off = (double)prom_hash(&s->ls) / (double)UINT64_MAX;
                    bool sel = (ratio >= 0 && off < ratio) || (ratio < 0 && off >= 1.0 + ratio);
                    if (sel) heap[hn++] = (hent_t){f, k};
                } else if (op == OCL_AGG_LIMITK) {
                    if ((int64_t)hn < kk) heap[hn++] = (hent_t){f, k};
                } else {
                    bool top = op == OCL_AGG_TOPK;
                    if ((int64_t)hn < kk) {
                        heap[hn] = (hent_t){f, k};
                        h_up(heap, hn, top);
                        hn++;
                    } else {
                        bool repl = top ? (heap[0].v < f) : (heap[0].v > f);
                        if (repl || (isnan(heap[0].v) && !isnan(f))) {
                            heap[0] = (hent_t){f, k};
                            if (kk > 1 && !h_down(heap, 0, hn, top)) h_up(heap, 0, top);
                        }
                    }
                }
            }
            if (op == OCL_AGG_TOPK || op == OCL_AGG_BOTTOMK) {
                /* sort.Sort(sort.Reverse(heap)): insertion sort for small sets */
                bool top = op == OCL_AGG_TOPK;
                for (size_t a = 1; a < hn; a++)
                    for (size_t b = a; b > 0 && h_less(heap, b - 1, b, top); b--)
                        h_swap(heap, b, b - 1);
            }
            for (size_t h = 0; h < hn; h++) {
                nh[heap[h].k][i] = 1;
                if (ev->n == 1) order[n_order++] = heap[h].k;
            }
        }
    }
    out->type = OCL_PQL_VECTOR;
    if (ev->n == 1) {
        for (size_t j = 0; j < n_order; j++) {
            es_t *s = &v->s[order[j]];
            es_t *o = ocl_pqlx_vec_add(ev, out, s->ls, s->drop_name);
            o->v = s->v;
            o->has = nh[order[j]];
        }
        return 0;
    }
    for (size_t k = 0; k < v->n; k++) {
        es_t *s = &v->s[k];
        es_t *o = ocl_pqlx_vec_add(ev, out, s->ls, s->drop_name);
        o->v = s->v;
        o->has = nh[k];
    }
    return 0;
}

static int agg_count_values(ev_t *ev, const ocl_pql_node_t *n, val_t *v, ocl_str_t label,
                            val_t *out)
{
    if (label.n == 0 || !ocl_pqlx_utf8_valid(label)) {
        char q[300];
        ocl_pqlx_quote(label, q, sizeof q);
        return ocl_pqlx_fail(ev, OCL_PQL_ERR_EXECUTION, "invalid label name %s", q);
    }
    out->type = OCL_PQL_VECTOR;
    lmap_t map = {0};
    bool valin = false;
    for (uint32_t j = 0; j < n->agg.n_grouping; j++)
        valin |= ocl_str_eq(n->agg.grouping[j], label);
    ocl_str_t *grp = ocl_arena_alloc(ev->a, (n->agg.n_grouping + 1) * sizeof(ocl_str_t));
    if (n->agg.n_grouping) memcpy(grp, n->agg.grouping, n->agg.n_grouping * sizeof(ocl_str_t));
    uint32_t ngrp = n->agg.n_grouping;
    if (!n->agg.without && !valin) grp[ngrp++] = label;
    for (size_t i = 0; i < ev->n; i++) {
        for (size_t k = 0; k < v->n; k++) {
            es_t *s = &v->s[k];
            if (!s->has[i]) continue;
            char num[64];
            ocl_pqlx_fmt_float(s->v[i], 'f', num, sizeof num);
            lb_t b;
            ocl_pqlx_lb_init(ev, &b, &s->ls);
            size_t nl = strlen(num);
            ocl_pqlx_lb_set(ev, &b, label, (ocl_str_t){ocl_arena_strndup(ev->a, num, nl), nl});
            ocl_labels_t ml = ocl_pqlx_lb_done(&b);
            ocl_labels_t gl = ocl_pqlx_group_labels(ev, &ml, grp, ngrp, n->agg.without, NULL);
            bool created;
            lment_t *e = ocl_pqlx_lmap_get(ev, &map, &gl, &created);
            if (created) {
                e->idx = (uint32_t)out->n;
                ocl_pqlx_vec_add(ev, out, gl, false);
            }
            es_t *o = &out->s[e->idx];
            if (!o->has[i]) {
                o->has[i] = 1;
                o->v[i] = 0;
            }
            o->v[i] += 1;
        }
    }
    return 0;
}

typedef struct {
    double val, c, mean; /* value, Kahan compensation, mean */
    double cnt;          /* group count */
    bool seen, incr;     /* group seen; avg switched to incremental mean */
} acc_t;

int ocl_pqlx_aggregate(ev_t *ev, const ocl_pql_node_t *n, val_t *out)
{
    val_t pv = {0}, v;
    int rc;
    ocl_pql_aggop_t op = n->agg.op;
    if (n->agg.param) {
        if ((rc = ocl_pqlx_eval(ev, n->agg.param, &pv))) return rc;
    }
    if ((rc = ocl_pqlx_eval(ev, n->agg.expr, &v))) return rc;
    if (op == OCL_AGG_COUNT_VALUES) return agg_count_values(ev, n, &v, pv.str, out);
    if (op == OCL_AGG_TOPK || op == OCL_AGG_BOTTOMK || op == OCL_AGG_LIMITK ||
        op == OCL_AGG_LIMIT_RATIO)
        return agg_k(ev, n, &v, pv.sc, out);
    groups_t g;
    make_groups(ev, n, &v, &g);
    out->type = OCL_PQL_VECTOR;
    for (uint32_t gi = 0; gi < g.ng; gi++)
        ocl_pqlx_vec_add(ev, out, g.gls[gi], g.gdrop[gi]);
    double *qbuf = ocl_arena_alloc(ev->a, (v.n + 1) * sizeof(double));
    bool qwarned = false;
    for (size_t i = 0; i < ev->n; i++) {
        if ((rc = ocl_pqlx_work(ev, v.n + 1))) return rc;
        if (op == OCL_AGG_QUANTILE && !qwarned &&
            (isnan(pv.sc[i]) || pv.sc[i] < 0 || pv.sc[i] > 1)) {
            char a[40];
            ocl_pqlx_fmt_float(pv.sc[i], 'g', a, sizeof a);
            ocl_pqlx_annot(ev, true, n->agg.param,
                           "quantile value should be between 0 and 1, got %s", a);
            qwarned = true;
        }
        for (uint32_t gi = 0; gi < g.ng; gi++) {
            acc_t a = {0};
            size_t nq = 0;
            for (uint32_t mi = g.gstart[gi]; mi < g.gstart[gi + 1]; mi++) {
                es_t *s = &v.s[g.mem[mi]];
                if (!s->has[i]) continue;
                double f = s->v[i];
                if (!a.seen) {
                    a.seen = true;
                    a.val = f;
                    a.mean = f;
                    a.cnt = 1;
                    a.c = 0;
                    if (op == OCL_AGG_STDDEV || op == OCL_AGG_STDVAR) {
                        /* the first sample goes through the update too, so
                         * NaN and Inf give NaN */
                        a.mean = f;
                        a.val = 0 * (f - a.mean);
                        if (isinf(f)) a.val = NAN;
                    }
                    if (op == OCL_AGG_GROUP) a.val = 1;
                    if (op == OCL_AGG_QUANTILE) qbuf[nq++] = f;
                    continue;
                }
                switch (op) {
                case OCL_AGG_SUM:
                    kahan_inc(f, &a.val, &a.c);
                    break;
                case OCL_AGG_AVG:
                    a.cnt++;
                    if (!a.incr) {
                        double nv = a.val, nc = a.c;
                        kahan_inc(f, &nv, &nc);
                        if (!isinf(nv)) {
                            a.val = nv;
                            a.c = nc;
                            break;
                        }
                        a.incr = true;
                        a.mean = a.val / (a.cnt - 1);
                        a.c /= a.cnt - 1;
                    }
                    if (isinf(a.mean)) {
                        if (isinf(f) && (a.mean > 0) == (f > 0)) break;
                        if (!isinf(f) && !isnan(f)) break;
                    }
                    {
                        double cur = a.mean + a.c;
                        kahan_inc(f / a.cnt - cur / a.cnt, &a.mean, &a.c);
                    }
                    break;
                case OCL_AGG_COUNT:
                    a.cnt++;
                    break;
                case OCL_AGG_MIN:
                    if (a.val > f || isnan(a.val)) a.val = f;
                    break;
                case OCL_AGG_MAX:
                    if (a.val < f || isnan(a.val)) a.val = f;
                    break;
                case OCL_AGG_GROUP:
                    break;
                case OCL_AGG_STDDEV:
                case OCL_AGG_STDVAR: {
                    a.cnt++;
                    double d = f - a.mean;
                    a.mean += d / a.cnt;
                    a.val += d * (f - a.mean);
                    break;
                }
                case OCL_AGG_QUANTILE:
                    qbuf[nq++] = f;
                    break;
                default:
                    break;
                }
            }
            if (!a.seen) continue;
            double r = 0;
            switch (op) {
            case OCL_AGG_SUM:
                r = a.val + a.c;
                break;
            case OCL_AGG_AVG:
                r = a.incr ? a.mean + a.c : (a.val + a.c) / a.cnt;
                break;
            case OCL_AGG_COUNT:
                r = a.cnt;
                break;
            case OCL_AGG_STDVAR:
                r = a.val / a.cnt;
                break;
            case OCL_AGG_STDDEV:
                r = sqrt(a.val / a.cnt);
                break;
            case OCL_AGG_QUANTILE:
                r = ocl_pqlx_quantile(pv.sc[i], qbuf, nq);
                break;
            default:
                r = a.val;
                break;
            }
            out->s[gi].v[i] = r;
            out->s[gi].has[i] = 1;
        }
    }
    return 0;
}
