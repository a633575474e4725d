/*
 * rangefuncs.c — PromQL functions over range vectors: rate, irate,
 * increase, delta, idelta (with Prometheus's extrapolation), resets,
 * changes, deriv, predict_linear, double_exponential_smoothing and every
 * *_over_time function (incl. quantile, mad, stddev/stdvar, first/last,
 * present, absent and ts_of_*).
 *
 * Each series is walked once per query: the window (ref - range, ref] of
 * consecutive steps only moves forward, so two cursors give the sample
 * slice of every step without searching. Float arithmetic follows
 * Prometheus (Kahan sums, incremental mean, regression with Kahan sums).
 */
#include "query/promql/engine_internal.h"

#include <stdio.h>
#include <stdlib.h>

typedef enum {
    RF_RATE,
    RF_INCREASE,
    RF_DELTA,
    RF_IRATE,
    RF_IDELTA,
    RF_RESETS,
    RF_CHANGES,
    RF_DERIV,
    RF_PREDICT,
    RF_DES,
    RF_AVG,
    RF_SUM,
    RF_COUNT,
    RF_MIN,
    RF_MAX,
    RF_QUANTILE,
    RF_STDDEV,
    RF_STDVAR,
    RF_LAST,
    RF_FIRST,
    RF_PRESENT,
    RF_MAD,
    RF_TS_MIN,
    RF_TS_MAX,
    RF_TS_LAST,
    RF_TS_FIRST,
    RF_ABSENT,
    RF_UNKNOWN
} rf_t;

static const char *const rf_names[] = {
    "rate",
    "increase",
    "delta",
    "irate",
    "idelta",
    "resets",
    "changes",
    "deriv",
    "predict_linear",
    "double_exponential_smoothing",
    "avg_over_time",
    "sum_over_time",
    "count_over_time",
    "min_over_time",
    "max_over_time",
    "quantile_over_time",
    "stddev_over_time",
    "stdvar_over_time",
    "last_over_time",
    "first_over_time",
    "present_over_time",
    "mad_over_time",
    "ts_of_min_over_time",
    "ts_of_max_over_time",
    "ts_of_last_over_time",
    "ts_of_first_over_time",
    "absent_over_time",
};

static rf_t rf_lookup(const char *name)
{
    if (!strcmp(name, "holt_winters")) return RF_DES;
    for (size_t i = 0; i < OCL_ARRAY_LEN(rf_names); i++)
        if (!strcmp(name, rf_names[i])) return (rf_t)i;
    return RF_UNKNOWN;
}

static bool has_suffix(ocl_str_t s, const char *suf)
{
    size_t n = strlen(suf);
    return s.n >= n && memcmp(s.p + s.n - n, suf, n) == 0;
}

/* `resets`: the window may hold a counter reset (false only when the
 * caller knows it holds none; the correction loop is then skipped). */
static double extrapolated(const int64_t *t, const double *v, uint32_t n, int64_t rs, int64_t re,
                           int64_t range, bool counter, bool resets, bool is_rate)
{
    uint32_t nm1 = n - 1;
    int64_t ft = t[0], lt = t[nm1];
    double res = v[nm1] - v[0];
    if (counter && resets) {
        double prev = v[0];
        for (uint32_t i = 1; i < n; i++) {
            if (v[i] < prev) res += prev;
            prev = v[i];
        }
    }
    double dstart = (double)(ft - rs) / 1000, dend = (double)(re - lt) / 1000;
    double sampled = (double)(lt - ft) / 1000;
    double avg = sampled / (double)nm1;
    double thr = avg * 1.1;
    double ext = sampled;
    if (dstart >= thr) dstart = avg / 2;
    if (counter && res > 0 && v[0] >= 0) {
        double dz = sampled * (v[0] / res);
        if (dz < dstart) dstart = dz;
    }
    ext += dstart;
    if (dend >= thr) dend = avg / 2;
    ext += dend;
    double factor = ext / sampled;
    if (is_rate) factor /= (double)range / 1000;
    return res * factor;
}

static void linreg(const int64_t *t, const double *v, uint32_t n, int64_t it, double *slope,
                   double *icpt)
{
    double cnt = 0, sx = 0, cx = 0, sy = 0, cy = 0, sxy = 0, cxy = 0, sx2 = 0, cx2 = 0;
    double inity = v[0];
    bool consty = true;
    for (uint32_t i = 0; i < n; i++) {
        if (consty && i > 0 && v[i] != inity) consty = false;
        cnt += 1;
        double x = (double)(t[i] - it) / 1e3;
        kahan_inc(x, &sx, &cx);
        kahan_inc(v[i], &sy, &cy);
        kahan_inc(x * v[i], &sxy, &cxy);
        kahan_inc(x * x, &sx2, &cx2);
    }
    if (consty) {
        if (isinf(inity)) {
            *slope = NAN;
            *icpt = NAN;
        } else {
            *slope = 0;
            *icpt = inity;
        }
        return;
    }
    sx += cx;
    sy += cy;
    sxy += cxy;
    sx2 += cx2;
    double cov = sxy - sx * sy / cnt;
    double var = sx2 - sx * sx / cnt;
    *slope = cov / var;
    *icpt = sy / cnt - *slope * sx / cnt;
}

/* Computes the function over one window; false = no output. */
static bool apply(rf_t f, const int64_t *t, const double *v, uint32_t n, int64_t ref, int64_t range,
                  int64_t ts, double p1, double p2, double *scratch, bool resets, double *out)
{
    switch (f) {
    case RF_RATE:
    case RF_INCREASE:
    case RF_DELTA:
        if (n < 2) return false;
        *out = extrapolated(t, v, n, ref - range, ref, range, f != RF_DELTA, resets, f == RF_RATE);
        return true;
    case RF_IRATE:
    case RF_IDELTA: {
        if (n < 2) return false;
        double last = v[n - 1], prev = v[n - 2];
        double r;
        if (f == RF_IRATE && last < prev)
            r = last;
        else
            r = last - prev;
        int64_t iv = t[n - 1] - t[n - 2];
        if (iv == 0) return false;
        if (f == RF_IRATE) r /= (double)iv / 1000;
        *out = r;
        return true;
    }
    case RF_RESETS: {
        double c = 0;
        for (uint32_t i = 1; i < n; i++)
            if (v[i] < v[i - 1]) c++;
        *out = c;
        return true;
    }
    case RF_CHANGES: {
        double c = 0;
        for (uint32_t i = 1; i < n; i++)
            if (!(v[i] == v[i - 1] || (isnan(v[i]) && isnan(v[i - 1])))) c++;
        *out = c;
        return true;
    }
    case RF_DERIV: {
        if (n < 2) return false;
        double s, ic;
        linreg(t, v, n, t[0], &s, &ic);
        *out = s;
        return true;
    }
    case RF_PREDICT: {
        if (n < 2) return false;
        double s, ic;
        linreg(t, v, n, ts, &s, &ic);
        *out = s * p1 + ic;
        return true;
    }
    case RF_DES: {
        if (n < 2) return false;
        double s0 = 0, s1 = v[0], b = v[1] - v[0];
        for (uint32_t i = 1; i < n; i++) {
            double x = p1 * v[i];
            if (i - 1 != 0) b = p2 * (s1 - s0) + (1 - p2) * b;
            double y = (1 - p1) * (s1 + b);
            s0 = s1;
            s1 = x + y;
        }
        *out = s1;
        return true;
    }
    case RF_AVG: {
        double sum = v[0], cnt = 1, mean = 0, c = 0;
        bool incr = false;
        for (uint32_t i = 1; i < n; i++) {
            cnt = (double)(i + 1);
            if (!incr) {
                double ns = sum, nc = c;
                kahan_inc(v[i], &ns, &nc);
                if (!isinf(ns)) {
                    sum = ns;
                    c = nc;
                    continue;
                }
                incr = true;
                mean = sum / (cnt - 1);
                c /= cnt - 1;
            }
            double q = (cnt - 1) / cnt;
            mean *= q;
            c *= q;
            kahan_inc(v[i] / cnt, &mean, &c);
        }
        *out = incr ? mean + c : sum / cnt + c / cnt;
        return true;
    }
    case RF_SUM: {
        double s = 0, c = 0;
        for (uint32_t i = 0; i < n; i++)
            kahan_inc(v[i], &s, &c);
        *out = s + c;
        return true;
    }
    case RF_COUNT:
        *out = n;
        return true;
    case RF_MIN:
    case RF_MAX: {
        double m = v[0];
        for (uint32_t i = 1; i < n; i++) {
            if (f == RF_MAX ? (v[i] > m || isnan(m)) : (v[i] < m || isnan(m))) m = v[i];
        }
        *out = m;
        return true;
    }
    case RF_TS_MIN:
    case RF_TS_MAX: {
        double m = v[0];
        int64_t mt = t[0];
        for (uint32_t i = 1; i < n; i++) {
            if (f == RF_TS_MAX ? (v[i] >= m || isnan(m)) : (v[i] <= m || isnan(m))) {
                m = v[i];
                mt = t[i];
            }
        }
        *out = (double)mt / 1000;
        return true;
    }
    case RF_QUANTILE:
        memcpy(scratch, v, n * sizeof(double));
        *out = ocl_pqlx_quantile(p1, scratch, n);
        return true;
    case RF_MAD: {
        for (uint32_t i = 0; i < n; i++)
            if (isnan(v[i])) {
                *out = NAN;
                return true;
            }
        memcpy(scratch, v, n * sizeof(double));
        double med = ocl_pqlx_quantile(0.5, scratch, n);
        for (uint32_t i = 0; i < n; i++)
            scratch[i] = fabs(v[i] - med);
        *out = ocl_pqlx_quantile(0.5, scratch, n);
        return true;
    }
    case RF_STDDEV:
    case RF_STDVAR: {
        double cnt = 0, mean = 0, cm = 0, aux = 0, ca = 0;
        for (uint32_t i = 0; i < n; i++) {
            cnt++;
            double d = v[i] - (mean + cm);
            kahan_inc(d / cnt, &mean, &cm);
            kahan_inc(d * (v[i] - (mean + cm)), &aux, &ca);
        }
        double var = (aux + ca) / cnt;
        *out = f == RF_STDDEV ? sqrt(var) : var;
        return true;
    }
    case RF_LAST:
        *out = v[n - 1];
        return true;
    case RF_FIRST:
        *out = v[0];
        return true;
    case RF_PRESENT:
        *out = 1;
        return true;
    case RF_TS_LAST:
        *out = (double)t[n - 1] / 1000;
        return true;
    case RF_TS_FIRST:
        *out = (double)t[0] / 1000;
        return true;
    default:
        return false;
    }
}

/* Experimental `anchored` / `smoothed` range modifiers for one window
 * (ref - range, ref] of samples t/v[lo, hi), with the samples before (p)
 * and after (nx) it available in the arrays. Builds the boundary-adjusted
 * sequence and applies changes/resets/delta/increase/rate to it, without
 * extrapolation. false = no output. */
static bool apply_extended(rf_t f, const rs_t *s, uint32_t lo, uint32_t hi, int64_t ref,
                           int64_t range, int64_t lookback, bool smoothed, double *out)
{
    int64_t st = ref - range;
    bool counter = f == RF_RATE || f == RF_INCREASE || f == RF_RESETS;
    bool has_p = lo > 0 && s->t[lo - 1] > st - lookback;
    double first, last;
    uint32_t n = hi - lo;
    /* value sequence: optional start point, window samples, optional end point */
    double startv = 0, endv = 0;
    bool has_start = false, has_end = false;
    if (!smoothed) {
        if (n == 0) return false;
        if (has_p) {
            startv = s->v[lo - 1];
            has_start = true;
        }
    } else {
        bool has_n = hi < s->n && s->t[hi] <= ref + lookback;
        if (n == 0 && (!has_p || !has_n)) return false;
        if (has_p) {
            /* interpolate at st between p and the first sample after st */
            uint32_t a = lo - 1, b = n ? lo : hi;
            double va = s->v[a], vb = s->v[b];
            double w = (double)(st - s->t[a]) / (double)(s->t[b] - s->t[a]);
            if (counter && vb < va) va = 0; /* reset in between: count up from 0 */
            startv = va + (vb - va) * w;
            has_start = true;
        }
        if (has_n) {
            uint32_t a = n ? hi - 1 : lo - 1, b = hi;
            double va = s->v[a], vb = s->v[b];
            double w = (double)(ref - s->t[a]) / (double)(s->t[b] - s->t[a]);
            if (counter && vb < va) va = 0;
            endv = va + (vb - va) * w;
            has_end = true;
        }
    }
    /* walk the sequence */
    size_t total = (size_t)n + has_start + has_end;
    if (total == 0) return false;
    double prev = 0, res_resets = 0, changes = 0, resets = 0;
    bool started = false;
    first = last = 0;
    for (size_t i = 0; i < total; i++) {
        double x;
        if (has_start && i == 0)
            x = startv;
        else if (has_end && i == total - 1)
            x = endv;
        else
            x = s->v[lo + i - has_start];
        if (!started) {
            first = x;
            started = true;
        } else {
            if (x < prev) {
                res_resets += prev;
                resets++;
            }
            if (!(x == prev || (isnan(x) && isnan(prev)))) changes++;
        }
        prev = x;
        last = x;
    }
    switch (f) {
    case RF_CHANGES:
        *out = changes;
        return true;
    case RF_RESETS:
        *out = resets;
        return true;
    case RF_DELTA:
        *out = last - first;
        return true;
    case RF_INCREASE:
        *out = last - first + res_resets;
        return true;
    case RF_RATE:
        *out = (last - first + res_resets) / ((double)range / 1000);
        return true;
    default:
        return false;
    }
}

int ocl_pqlx_call_range(ev_t *ev, const ocl_pql_node_t *n, val_t *args, val_t *out)
{
    const char *name = n->call.func->name;
    rf_t f = rf_lookup(name);
    if (f == RF_UNKNOWN)
        return ocl_pqlx_fail(ev, OCL_PQL_ERR_BAD_DATA, "function \"%s\" is not supported", name);
    uint32_t mi = 0;
    for (uint32_t i = 0; i < n->call.n_args; i++)
        if (args[i].type == OCL_PQL_MATRIX) mi = i;
    val_t *m = &args[mi];
    const double *p1 = NULL, *p2 = NULL;
    if (f == RF_QUANTILE) p1 = args[0].sc;
    if (f == RF_PREDICT) p1 = args[1].sc;
    if (f == RF_DES) {
        p1 = args[1].sc;
        p2 = args[2].sc;
    }
    if (m->smoothed && f != RF_DELTA && f != RF_INCREASE && f != RF_RATE)
        return ocl_pqlx_fail(ev, OCL_PQL_ERR_BAD_DATA,
                             "smoothed modifier can only be used with: delta, increase, rate - not "
                             "with %s",
                             name);
    if (m->anchored && f != RF_CHANGES && f != RF_DELTA && f != RF_INCREASE && f != RF_RATE &&
        f != RF_RESETS)
        return ocl_pqlx_fail(ev, OCL_PQL_ERR_BAD_DATA,
                             "anchored modifier can only be used with: changes, delta, increase, "
                             "rate, resets - not with %s",
                             name);
    bool ext = m->anchored || m->smoothed;
    out->type = OCL_PQL_VECTOR;
    bool keep_name = f == RF_LAST || f == RF_FIRST;
    bool counter = f == RF_RATE || f == RF_INCREASE; /* engine.go checks these two */
    size_t maxn = 0;
    for (size_t k = 0; k < m->nm; k++)
        if (m->m[k].n > maxn) maxn = m->m[k].n;
    double *scratch = ocl_arena_alloc(ev->a, (maxn + 1) * sizeof(double));
    bool qwarn = false;
    if (f == RF_QUANTILE) {
        for (size_t i = 0; i < ev->n && !qwarn; i++) {
            double q = p1[i];
            if (isnan(q) || q < 0 || q > 1) {
                char a[40];
                ocl_pqlx_fmt_float(q, 'g', a, sizeof a);
                ocl_pqlx_annot(ev, true, n->call.args[0],
                               "quantile value should be between 0 and 1, got %s", a);
                qwarn = true;
            }
        }
    }
    if (f == RF_DES) {
        for (size_t i = 0; i < ev->n; i++) {
            if (!(p1[i] > 0 && p1[i] < 1))
                return ocl_pqlx_fail(ev, OCL_PQL_ERR_EXECUTION,
                                     "invalid smoothing factor. Expected: 0 < sf < 1, got: %f",
                                     p1[i]);
            if (!(p2[i] > 0 && p2[i] < 1))
                return ocl_pqlx_fail(ev, OCL_PQL_ERR_EXECUTION,
                                     "invalid trend factor. Expected: 0 < tf < 1, got: %f", p2[i]);
        }
    }
    es_t *absent = NULL;
    if (f == RF_ABSENT) {
        absent = ocl_pqlx_vec_add(ev, out, ocl_pqlx_absent_labels(ev, n->call.args[0]), false);
        for (size_t i = 0; i < ev->n; i++) {
            absent->v[i] = 1;
            absent->has[i] = 1;
        }
    }
    for (size_t k = 0; k < m->nm; k++) {
        int rc = ocl_pqlx_work(ev, ev->n + m->m[k].n);
        if (rc) return rc;
        rs_t *s = &m->m[k];
        es_t *o = NULL;
        uint32_t lo = 0, hi = 0;
        /* rz: the first index > lo where a counter resets (v[rz] < v[rz - 1]),
         * or s->n; it only moves forward, so finding it costs one pass over
         * the series, and a window [lo, hi) holds a reset iff rz < hi */
        uint32_t rz = 1;
        bool noted = false;
        /* locals: the stores into o->has (bytes) would otherwise force
         * reloads of every field through the pointers in each iteration */
        const int64_t *st = s->t;
        const double *sv = s->v;
        const uint32_t sn = s->n;
        const int64_t g0 = ev->start, gstep = ev->step, mrange = m->range_ms;
        const int64_t moff = m->offset_ms, mat = m->at_ms;
        const bool has_at = m->at != OCL_PQL_AT_NONE;
        const size_t steps = ev->n;
        for (size_t i = 0; i < steps; i++) {
            int64_t ts = g0 + (int64_t)i * gstep;
            int64_t ref = tsub(has_at ? mat : ts, moff);
            if (has_at) ts = g0;
            while (hi < sn && st[hi] <= ref)
                hi++;
            int64_t left = tsub(ref, mrange);
            while (lo < hi && st[lo] <= left)
                lo++;
            if (counter) {
                if (rz <= lo) rz = lo + 1;
                while (rz < sn && !(sv[rz] < sv[rz - 1]))
                    rz++;
            }
            if (ext) {
                double r;
                if (!apply_extended(f, s, lo, hi, ref, m->range_ms, ev->lookback, m->smoothed, &r))
                    continue;
                if (!o) o = ocl_pqlx_vec_add(ev, out, s->ls, true);
                o->v[i] = r;
                o->has[i] = 1;
                continue;
            }
            if (hi <= lo) continue;
            if (absent) {
                absent->has[i] = 0;
                continue;
            }
            double r;
            if (!apply(f, st + lo, sv + lo, hi - lo, ref, mrange, ts, p1 ? p1[i] : 0,
                       p2 ? p2[i] : 0, scratch, !counter || rz < hi, &r))
                continue;
            if (counter && !noted) {
                /* once per series with output, as Prometheus's engine does */
                ocl_str_t nm = ocl_labels_get(&s->ls, OCL_STR(OCL_METRIC_NAME));
                if (nm.n && !has_suffix(nm, "_total") && !has_suffix(nm, "_sum") &&
                    !has_suffix(nm, "_count") && !has_suffix(nm, "_bucket"))
                    ocl_pqlx_annot(ev, false, n->call.args[mi],
                                   "metric might not be a counter, name does not end in "
                                   "_total/_sum/_count/_bucket: \"%.*s\"",
                                   (int)nm.n, nm.p);
                noted = true;
            }
            if (!o) o = ocl_pqlx_vec_add(ev, out, s->ls, keep_name ? s->drop_name : true);
            o->v[i] = r;
            o->has[i] = 1;
        }
    }
    return 0;
}
