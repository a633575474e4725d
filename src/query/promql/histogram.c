/*
 * histogram.c — histogram_quantile and histogram_fraction over classic
 * histograms (series with an "le" bucket label). Native histograms are not
 * stored, so only the classic path exists.
 *
 * Buckets are grouped once per series (labels without "le"); at each step
 * the present buckets of a group are sorted, coalesced, made monotonic
 * (Prometheus's tolerance of 1e-12 for precision noise) and interpolated.
 * Annotations: bad "le" values (warning), forced monotonicity (info).
 */
#include "query/promql/engine_internal.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct {
    double ub; /* upper bound */
    double c;  /* cumulative count */
} bucket_t;

static int bcmp_ub(const void *a, const void *b)
{
    double x = ((const bucket_t *)a)->ub, y = ((const bucket_t *)b)->ub;
    return x < y ? -1 : x > y;
}

static bool almost_equal(double a, double b, double eps)
{
    const double min_normal = 2.2250738585072014e-308;
    if (isnan(a) && isnan(b)) return true;
    if (a == b) return true;
    double abs_sum = fabs(a) + fabs(b);
    double diff = fabs(a - b);
    if (a == 0 || b == 0 || abs_sum < min_normal) return diff < eps * min_normal;
    return diff / fmin(abs_sum, 1.7976931348623157e308) < eps;
}

/* Sorts, coalesces and fixes the buckets; returns the new count. */
static size_t prepare(bucket_t *b, size_t n, bool *forced)
{
    /* stable insertion sort keeps equal bounds in input order */
    for (size_t i = 1; i < n; i++) {
        bucket_t x = b[i];
        size_t j = i;
        while (j > 0 && bcmp_ub(&b[j - 1], &x) > 0) {
            b[j] = b[j - 1];
            j--;
        }
        b[j] = x;
    }
    size_t k = 0;
    bucket_t last = b[0];
    for (size_t i = 1; i < n; i++) {
        if (b[i].ub == last.ub) {
            last.c += b[i].c;
        } else {
            b[k++] = last;
            last = b[i];
        }
    }
    b[k++] = last;
    double prev = b[0].c;
    for (size_t i = 1; i < k; i++) {
        double cur = b[i].c;
        if (cur == prev) continue;
        if (almost_equal(prev, cur, 1e-12)) {
            b[i].c = prev;
            continue;
        }
        if (cur < prev) {
            b[i].c = prev;
            *forced = true;
            continue;
        }
        prev = cur;
    }
    return k;
}

static double bucket_quantile(double q, bucket_t *b, size_t n, bool *forced)
{
    if (isnan(q)) return NAN;
    if (q < 0) return -INFINITY;
    if (q > 1) return INFINITY;
    size_t k0 = n;
    for (size_t i = 0; i < n; i++)
        (void)k0;
    /* +Inf bucket required */
    double maxub = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (b[i].ub > maxub || isnan(maxub)) maxub = b[i].ub;
    if (!(isinf(maxub) && maxub > 0)) return NAN;
    n = prepare(b, n, forced);
    if (n < 2) return NAN;
    double obs = b[n - 1].c;
    if (obs == 0) return NAN;
    double rank = q * obs;
    size_t lo = 0, hi = n - 1; /* sort.Search over [0, n-1) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b[mid].c >= rank)
            hi = mid;
        else
            lo = mid + 1;
    }
    size_t i = lo;
    if (i == n - 1) return b[n - 2].ub;
    if (i == 0 && b[0].ub <= 0) return b[0].ub;
    double start = 0, end = b[i].ub, count = b[i].c;
    if (i > 0) {
        start = b[i - 1].ub;
        count -= b[i - 1].c;
        rank -= b[i - 1].c;
    }
    return start + (end - start) * (rank / count);
}

static double bucket_fraction(double lower, double upper, bucket_t *b, size_t n)
{
    bool forced = false;
    double maxub = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (b[i].ub > maxub) maxub = b[i].ub;
    if (!(isinf(maxub) && maxub > 0)) return NAN;
    n = prepare(b, n, &forced);
    double count = b[n - 1].c;
    if (count == 0 || isnan(lower) || isnan(upper)) return NAN;
    if (lower >= upper) return 0;
    double rank = 0, lr = 0, ur = 0;
    bool ls = false, us = false;
    for (size_t i = 0; i < n; i++) {
        double lb = i > 0 ? b[i - 1].ub : -INFINITY;
        double ub = b[i].ub;
        if (i == 0 && ub > 0) lb = 0; /* lowest bucket of positive values starts at 0 */
        if (!ls && lb >= lower) {
            lr = rank;
            ls = true;
        }
        if (!us && lb >= upper) {
            ur = rank;
            us = true;
        }
        if (ls && us) break;
        if (!ls && lb < lower && ub > lower) {
            lr = isinf(lb) || isinf(ub) ? (isinf(ub) ? rank : b[i].c)
                                        : rank + (b[i].c - rank) * (lower - lb) / (ub - lb);
            ls = true;
        }
        if (!us && lb < upper && ub > upper) {
            ur = isinf(lb) || isinf(ub) ? (isinf(ub) ? rank : b[i].c)
                                        : rank + (b[i].c - rank) * (upper - lb) / (ub - lb);
            us = true;
        }
        if (ls && us) break;
        rank = b[i].c;
    }
    if (!ls || lr > count) lr = count;
    if (!us || ur > count) ur = count;
    return (ur - lr) / count;
}

static bool parse_le(ocl_str_t s, double *out)
{
    if (s.n == 0 || s.n > 60) return false;
    char buf[64];
    memcpy(buf, s.p, s.n);
    buf[s.n] = 0;
    char *end;
    *out = strtod(buf, &end);
    return *end == 0;
}

static int classic(ev_t *ev, const ocl_pql_node_t *n, val_t *args, uint32_t vi, bool quantile,
                   val_t *out)
{
    const ocl_pql_node_t *vnode =
        !strcmp(n->call.func->name, "histogram_quantiles") ? n->call.args[0] : n->call.args[vi];
    val_t *v = &args[vi];
    out->type = OCL_PQL_VECTOR;
    lmap_t map = {0};
    uint32_t *grp = ocl_arena_alloc(ev->a, (v->n + 1) * sizeof(uint32_t));
    double *ub = ocl_arena_alloc(ev->a, (v->n + 1) * sizeof(double));
    uint32_t ng = 0;
    for (size_t k = 0; k < v->n; k++) {
        es_t *s = &v->s[k];
        ocl_str_t le = ocl_labels_get(&s->ls, OCL_STR("le"));
        if (!parse_le(le, &ub[k])) {
            grp[k] = UINT32_MAX;
            bool any = false;
            for (size_t i = 0; i < ev->n && !any; i++)
                any = s->has[i];
            if (any) {
                ocl_str_t nm = ocl_labels_get(&s->ls, OCL_STR(OCL_METRIC_NAME));
                char q1[300], q2[300];
                ocl_pqlx_quote(le, q1, sizeof q1);
                ocl_pqlx_quote(nm, q2, sizeof q2);
                ocl_pqlx_annot(ev, true, vnode,
                               "bucket label \"le\" is missing or has a malformed value of %s for "
                               "metric name %s",
                               q1, q2);
            }
            continue;
        }
        lb_t b;
        ocl_pqlx_lb_init(ev, &b, &s->ls);
        ocl_pqlx_lb_del(&b, OCL_STR("le"));
        ocl_labels_t gl = ocl_pqlx_lb_done(&b);
        bool created;
        lment_t *e = ocl_pqlx_lmap_get(ev, &map, &gl, &created);
        if (created) {
            e->idx = ng++;
            ocl_pqlx_vec_add(ev, out, gl, true);
        }
        grp[k] = e->idx;
    }
    /* members per group */
    uint32_t *start = ocl_arena_calloc(ev->a, (ng + 2) * sizeof(uint32_t));
    for (size_t k = 0; k < v->n; k++)
        if (grp[k] != UINT32_MAX) start[grp[k] + 1]++;
    for (uint32_t g = 0; g < ng; g++)
        start[g + 1] += start[g];
    uint32_t *fill = ocl_arena_alloc(ev->a, (ng + 1) * sizeof(uint32_t));
    memcpy(fill, start, ng * sizeof(uint32_t));
    uint32_t *mem = ocl_arena_alloc(ev->a, (v->n + 1) * sizeof(uint32_t));
    for (size_t k = 0; k < v->n; k++)
        if (grp[k] != UINT32_MAX) mem[fill[grp[k]]++] = (uint32_t)k;
    bucket_t *bk = ocl_arena_alloc(ev->a, (v->n + 1) * sizeof(bucket_t));
    for (uint32_t g = 0; g < ng; g++) {
        es_t *o = &out->s[g];
        for (size_t i = 0; i < ev->n; i++) {
            size_t nb = 0;
            for (uint32_t j = start[g]; j < start[g + 1]; j++) {
                es_t *s = &v->s[mem[j]];
                if (!s->has[i]) continue;
                bk[nb++] = (bucket_t){ub[mem[j]], s->v[i]};
            }
            if (!nb) continue;
            bool forced = false;
            double r = quantile ? bucket_quantile(args[0].sc[i], bk, nb, &forced)
                                : bucket_fraction(args[0].sc[i], args[1].sc[i], bk, nb);
            if (forced) {
                ocl_str_t nm = ocl_labels_get(&o->ls, OCL_STR(OCL_METRIC_NAME));
                char q[300];
                ocl_pqlx_quote(nm, q, sizeof q);
                ocl_pqlx_annot(ev, false, vnode,
                               "input to histogram_quantile needed to be fixed for monotonicity "
                               "(see https://prometheus.io/docs/prometheus/latest/querying/"
                               "functions/#histogram_quantile) for metric name %s",
                               q);
            }
            o->v[i] = r;
            o->has[i] = 1;
        }
    }
    return 0;
}

int ocl_pqlx_histogram_quantile(ev_t *ev, const ocl_pql_node_t *n, val_t *args, val_t *out)
{
    for (size_t i = 0; i < ev->n; i++) {
        double q = args[0].sc[i];
        if (isnan(q) || q < 0 || q > 1) {
            char a[40];
            ocl_pqlx_fmt_float(q, 'g', a, sizeof a);
            ocl_pqlx_annot(ev, true, n->call.args[0],
                           "quantile value should be between 0 and 1, got %s", a);
            break;
        }
    }
    return classic(ev, n, args, 1, true, out);
}

/* histogram_quantiles(v, "label", q1, q2, ...): one output series per
 * group and quantile, the quantile written into `label`. */
int ocl_pqlx_histogram_quantiles(ev_t *ev, const ocl_pql_node_t *n, val_t *args, val_t *out)
{
    ocl_str_t label = args[1].str;
    out->type = OCL_PQL_VECTOR;
    for (uint32_t qi = 2; qi < n->call.n_args; qi++) {
        double *q = args[qi].sc;
        for (size_t i = 0; i < ev->n; i++) {
            if (isnan(q[i]) || q[i] < 0 || q[i] > 1) {
                char a[40];
                ocl_pqlx_fmt_float(q[i], 'g', a, sizeof a);
                ocl_pqlx_annot(ev, true, n->call.args[qi],
                               "quantile value should be between 0 and 1, got %s", a);
                break;
            }
        }
        val_t tmp[2] = {args[qi], args[0]};
        val_t part = {0};
        int rc = classic(ev, n, tmp, 1, true, &part);
        if (rc) return rc;
        for (size_t k = 0; k < part.n; k++) {
            es_t *s = &part.s[k];
            /* the label value: shortest decimal, with ".0" for integers */
            char num[64];
            ocl_pqlx_fmt_float(q[0], 'f', num, sizeof num);
            if (isfinite(q[0]) && !strchr(num, '.')) strcat(num, ".0");
            lb_t b;
            ocl_pqlx_lb_init(ev, &b, &s->ls);
            size_t nl = strlen(num);
            ocl_pqlx_lb_set(ev, &b, label, (ocl_str_t){ocl_arena_strndup(ev->a, num, nl), nl});
            es_t *o = ocl_pqlx_vec_add(ev, out, ocl_pqlx_lb_done(&b), s->drop_name);
            o->v = s->v;
            o->has = s->has;
        }
    }
    return 0;
}

int ocl_pqlx_histogram_fraction(ev_t *ev, const ocl_pql_node_t *n, val_t *args, val_t *out)
{
    return classic(ev, n, args, 2, false, out);
}
