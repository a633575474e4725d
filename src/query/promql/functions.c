/*
 * functions.c — PromQL functions on instant vectors and scalars: math and
 * trig, clamp/round, time functions, timestamp, scalar/vector/time, absent,
 * sort*, label_replace/label_join, the histogram_* functions on float
 * input (which have no output: native histograms are not stored). Calls
 * with a range-vector argument go to rangefuncs.c, histogram_quantile and
 * histogram_fraction to histogram.c.
 *
 * Functions that compute a new value mark the series for delayed __name__
 * removal, as Prometheus 3 does; label functions writing __name__ keep it.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "query/promql/engine_internal.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double sgn(double x)
{
    if (x > 0) return 1;
    if (x < 0) return -1;
    return x; /* 0 and NaN */
}

/* Go's math.Max/Min: NaN wins, +0 > -0. */
static double go_max(double a, double b)
{
    if (isnan(a) || isnan(b)) return NAN;
    if (a == 0 && b == 0) return signbit(a) ? b : a;
    return a > b ? a : b;
}

static double go_min(double a, double b)
{
    if (isnan(a) || isnan(b)) return NAN;
    if (a == 0 && b == 0) return signbit(a) ? a : b;
    return a < b ? a : b;
}

static double deg(double x)
{
    return x * 180 / M_PI;
}
static double rad(double x)
{
    return x * M_PI / 180;
}

typedef double (*mathfn_t)(double);

static const struct {
    const char *name;
    mathfn_t fn;
} mathfns[] = {
    {"abs", fabs},    {"ceil", ceil}, {"floor", floor}, {"exp", exp},     {"sqrt", sqrt},
    {"ln", log},      {"log2", log2}, {"log10", log10}, {"sgn", sgn},     {"sin", sin},
    {"cos", cos},     {"tan", tan},   {"asin", asin},   {"acos", acos},   {"atan", atan},
    {"sinh", sinh},   {"cosh", cosh}, {"tanh", tanh},   {"asinh", asinh}, {"acosh", acosh},
    {"atanh", atanh}, {"deg", deg},   {"rad", rad},
};

static double fn_time(const char *name, double v)
{
    /* out of int64 range: Go's conversion gives INT64_MIN on amd64, a year
     * gmtime cannot represent; answer NaN for it and for NaN/Inf */
    if (!(v >= -9.2e18 && v < 9.2e18)) return NAN;
    time_t t = (time_t)(int64_t)v;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) return NAN;
    if (!strcmp(name, "day_of_month")) return tm.tm_mday;
    if (!strcmp(name, "day_of_week")) return tm.tm_wday;
    if (!strcmp(name, "day_of_year")) return tm.tm_yday + 1;
    if (!strcmp(name, "hour")) return tm.tm_hour;
    if (!strcmp(name, "minute")) return tm.tm_min;
    if (!strcmp(name, "month")) return tm.tm_mon + 1;
    if (!strcmp(name, "year")) return tm.tm_year + 1900;
    if (!strcmp(name, "days_in_month")) {
        static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int y = tm.tm_year + 1900;
        int d = dm[tm.tm_mon];
        if (tm.tm_mon == 1 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) d = 29;
        return d;
    }
    return NAN;
}

static bool is_time_fn(const char *name)
{
    static const char *const names[] = {"day_of_month", "day_of_week",  "day_of_year",
                                        "hour",         "minute",       "month",
                                        "year",         "days_in_month"};
    for (size_t i = 0; i < OCL_ARRAY_LEN(names); i++)
        if (!strcmp(name, names[i])) return true;
    return false;
}

/* Go-style natural comparison used by sort_by_label. */
static int natcmp(ocl_str_t a, ocl_str_t b)
{
    size_t i = 0, j = 0;
    while (i < a.n && j < b.n) {
        unsigned char ca = (unsigned char)a.p[i], cb = (unsigned char)b.p[j];
        bool da = ca >= '0' && ca <= '9', db = cb >= '0' && cb <= '9';
        if (da && db) {
            size_t si = i, sj = j;
            while (si < a.n && a.p[si] == '0')
                si++;
            while (sj < b.n && b.p[sj] == '0')
                sj++;
            size_t ei = si, ej = sj;
            while (ei < a.n && a.p[ei] >= '0' && a.p[ei] <= '9')
                ei++;
            while (ej < b.n && b.p[ej] >= '0' && b.p[ej] <= '9')
                ej++;
            if (ei - si != ej - sj) return ei - si < ej - sj ? -1 : 1;
            int c = memcmp(a.p + si, b.p + sj, ei - si);
            if (c) return c;
            i = ei;
            j = ej;
            continue;
        }
        if (ca != cb) return ca < cb ? -1 : 1;
        i++;
        j++;
    }
    if (i < a.n) return 1;
    if (j < b.n) return -1;
    return 0;
}

/* Sort order of a sort* call (qsort_r context; evaluation is reentrant). */
typedef struct {
    int kind;                /* 0 asc, 1 desc, 2 by label, 3 by label desc */
    const ocl_str_t *labels; /* sort_by_label labels */
    uint32_t n_labels;       /* their count */
} sortctx_t;

static int sort_cmp(const void *pa, const void *pb, void *arg)
{
    const sortctx_t *sc = arg;
    const es_t *a = *(es_t *const *)pa, *b = *(es_t *const *)pb;
    if (sc->kind <= 1) {
        double x = a->v[0], y = b->v[0];
        /* NaN sorts last either way; ties keep input order */
        if (isnan(x) || isnan(y)) {
            if (isnan(x) && isnan(y)) return a < b ? -1 : a > b;
            return isnan(x) ? 1 : -1;
        }
        int c = x < y ? -1 : x > y;
        if (sc->kind == 1) c = -c;
        if (c) return c;
        return a < b ? -1 : a > b;
    }
    int c = 0;
    for (uint32_t i = 0; i < sc->n_labels && !c; i++) {
        ocl_str_t x = ocl_labels_get(&a->ls, sc->labels[i]);
        ocl_str_t y = ocl_labels_get(&b->ls, sc->labels[i]);
        if (ocl_str_eq(x, y)) continue;
        c = natcmp(x, y);
    }
    if (!c) c = ocl_labels_cmp(&a->ls, &b->ls);
    return sc->kind == 3 ? -c : c;
}

static int do_sort(ev_t *ev, const ocl_pql_node_t *n, const char *name, val_t *v, val_t *out)
{
    *out = *v;
    if (ev->is_range) {
        ocl_pqlx_annot(ev, true, n,
                       "sort is ineffective for range queries since results are always "
                       "ordered by labels");
        return 0;
    }
    if (ev->n != 1) return 0;
    es_t **p = ocl_arena_alloc(ev->a, (v->n + 1) * sizeof(es_t *));
    size_t m = 0;
    for (size_t k = 0; k < v->n; k++)
        if (v->s[k].has[0]) p[m++] = &v->s[k];
    sortctx_t sc;
    sc.kind = !strcmp(name, "sort")            ? 0
              : !strcmp(name, "sort_desc")     ? 1
              : !strcmp(name, "sort_by_label") ? 2
                                               : 3;
    ocl_str_t *labels = ocl_arena_alloc(ev->a, (n->call.n_args + 1) * sizeof(ocl_str_t));
    uint32_t nl = 0;
    for (uint32_t i = 1; i < n->call.n_args; i++) {
        const ocl_pql_node_t *a = ocl_pqlx_unparen(n->call.args[i]);
        if (a->kind == OCL_PQL_STRING_LIT) labels[nl++] = a->str;
    }
    sc.labels = labels;
    sc.n_labels = nl;
    /* stable: ties broken by original position (pointers ascend with it) */
    qsort_r(p, m, sizeof(es_t *), sort_cmp, &sc);
    es_t *ns = ocl_arena_alloc(ev->a, (m + 1) * sizeof(es_t));
    for (size_t k = 0; k < m; k++)
        ns[k] = *p[k];
    out->s = ns;
    out->n = out->cap = m;
    return 0;
}

/* Labels of absent(): the equality matchers of a selector argument. */
ocl_labels_t ocl_pqlx_absent_labels(ev_t *ev, const ocl_pql_node_t *arg)
{
    const ocl_pql_node_t *vs = NULL;
    if (arg->kind == OCL_PQL_VECTOR_SEL) vs = arg;
    if (arg->kind == OCL_PQL_MATRIX_SEL) vs = arg->ms.vs;
    lb_t b;
    ocl_pqlx_lb_init(ev, &b, NULL);
    if (!vs) return (ocl_labels_t){NULL, 0};
    ocl_str_t *has = ocl_arena_alloc(ev->a, (vs->vs.n_matchers + 1) * sizeof(ocl_str_t));
    uint32_t nh = 0;
    for (uint32_t i = 0; i < vs->vs.n_matchers; i++) {
        const ocl_matcher_t *m = &vs->vs.matchers[i];
        if (ocl_str_eq_c(m->name, OCL_METRIC_NAME)) continue;
        bool seen = false;
        for (uint32_t j = 0; j < nh && !seen; j++)
            seen = ocl_str_eq(has[j], m->name);
        if (m->type == OCL_MATCH_EQ && !seen) {
            ocl_pqlx_lb_set(ev, &b, m->name, m->value);
            has[nh++] = m->name;
        } else {
            ocl_pqlx_lb_del(&b, m->name);
        }
    }
    return ocl_pqlx_lb_done(&b);
}

/* Go regexp.Expand of `tmpl` with the match of `subj`. */
static void expand(pcre2_code *re, pcre2_match_data *md, ocl_str_t subj, ocl_str_t tmpl,
                   ocl_buf_t *out)
{
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    uint32_t ncap = pcre2_get_ovector_count(md);
    for (size_t i = 0; i < tmpl.n; i++) {
        char c = tmpl.p[i];
        if (c != '$' || i + 1 >= tmpl.n) {
            ocl_buf_putc(out, c);
            continue;
        }
        if (tmpl.p[i + 1] == '$') {
            ocl_buf_putc(out, '$');
            i++;
            continue;
        }
        size_t s = i + 1, e;
        bool brace = tmpl.p[s] == '{';
        if (brace) s++;
        e = s;
        while (e < tmpl.n &&
               (tmpl.p[e] == '_' || (tmpl.p[e] >= '0' && tmpl.p[e] <= '9') ||
                (tmpl.p[e] >= 'a' && tmpl.p[e] <= 'z') || (tmpl.p[e] >= 'A' && tmpl.p[e] <= 'Z')))
            e++;
        if (e == s || (brace && (e >= tmpl.n || tmpl.p[e] != '}'))) {
            ocl_buf_putc(out, c); /* malformed: literal $ */
            continue;
        }
        char name[128];
        size_t nl = OCL_MIN(e - s, sizeof name - 1);
        memcpy(name, tmpl.p + s, nl);
        name[nl] = 0;
        bool num = true;
        for (size_t k = 0; k < nl; k++)
            num &= name[k] >= '0' && name[k] <= '9';
        long g = -1;
        if (num) {
            g = strtol(name, NULL, 10);
        } else {
            int r = pcre2_substring_number_from_name(re, (PCRE2_SPTR)name);
            g = r >= 0 ? r : -1;
        }
        if (g >= 0 && (uint32_t)g < ncap && ov[2 * g] != PCRE2_UNSET)
            ocl_buf_append(out, subj.p + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
        i = brace ? e : e - 1;
    }
}

static int str_arg(const ocl_pql_node_t *n, uint32_t i, ocl_str_t *out)
{
    const ocl_pql_node_t *a = ocl_pqlx_unparen(n->call.args[i]);
    if (a->kind != OCL_PQL_STRING_LIT) return -1;
    *out = a->str;
    return 0;
}

static int label_replace(ev_t *ev, const ocl_pql_node_t *n, val_t *v, val_t *out)
{
    ocl_str_t dst = {0}, repl = {0}, src = {0}, rex = {0};
    str_arg(n, 1, &dst);
    str_arg(n, 2, &repl);
    str_arg(n, 3, &src);
    str_arg(n, 4, &rex);
    char *pat = ocl_arena_alloc(ev->a, rex.n + 16);
    snprintf(pat, rex.n + 16, "^(?s:%.*s)$", (int)rex.n, rex.p ? rex.p : "");
    int ecode;
    PCRE2_SIZE eoff;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_NO_UTF_CHECK * 0, &ecode, &eoff, NULL);
    if (!re) {
        char m[256];
        pcre2_get_error_message(ecode, (PCRE2_UCHAR *)m, sizeof m);
        return ocl_pqlx_fail(ev, OCL_PQL_ERR_EXECUTION,
                             "invalid regular expression in label_replace(): %.*s", (int)rex.n,
                             rex.p ? rex.p : "");
    }
    if (dst.n == 0 || !ocl_pqlx_utf8_valid(dst)) {
        pcre2_code_free(re);
        char q[300];
        ocl_pqlx_quote(dst, q, sizeof q);
        return ocl_pqlx_fail(ev, OCL_PQL_ERR_EXECUTION,
                             "invalid destination label name in label_replace(): %.*s", (int)dst.n,
                             dst.p ? dst.p : "");
    }
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    ocl_buf_t b;
    ocl_buf_init(&b);
    *out = *v;
    for (size_t k = 0; k < v->n; k++) {
        es_t *s = &out->s[k];
        ocl_str_t sv = ocl_labels_get(&s->ls, src);
        int r = pcre2_match(re, (PCRE2_SPTR)(sv.p ? sv.p : ""), sv.n, 0, 0, md, NULL);
        if (r < 0) continue;
        b.len = 0;
        expand(re, md, sv, repl, &b);
        lb_t lb;
        ocl_pqlx_lb_init(ev, &lb, &s->ls);
        ocl_str_t nv = {b.len ? ocl_arena_strndup(ev->a, (const char *)b.p, b.len) : NULL, b.len};
        ocl_pqlx_lb_set(ev, &lb, dst, nv);
        s->ls = ocl_pqlx_lb_done(&lb);
        if (ocl_str_eq_c(dst, OCL_METRIC_NAME)) s->drop_name = false;
    }
    ocl_buf_dispose(&b);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return 0;
}

static int label_join(ev_t *ev, const ocl_pql_node_t *n, val_t *v, val_t *out)
{
    ocl_str_t dst = {0}, sep = {0};
    str_arg(n, 1, &dst);
    str_arg(n, 2, &sep);
    if (dst.n == 0 || !ocl_pqlx_utf8_valid(dst))
        return ocl_pqlx_fail(ev, OCL_PQL_ERR_EXECUTION,
                             "invalid destination label name in label_join(): %.*s", (int)dst.n,
                             dst.p ? dst.p : "");
    for (uint32_t i = 3; i < n->call.n_args; i++) {
        ocl_str_t src = {0};
        str_arg(n, i, &src);
        if (!ocl_pqlx_utf8_valid(src))
            return ocl_pqlx_fail(ev, OCL_PQL_ERR_EXECUTION,
                                 "invalid source label name in label_join(): %.*s", (int)src.n,
                                 src.p ? src.p : "");
    }
    ocl_buf_t b;
    ocl_buf_init(&b);
    *out = *v;
    for (size_t k = 0; k < v->n; k++) {
        es_t *s = &out->s[k];
        b.len = 0;
        for (uint32_t i = 3; i < n->call.n_args; i++) {
            ocl_str_t src = {0};
            str_arg(n, i, &src);
            if (i > 3) ocl_buf_append(&b, sep.p, sep.n);
            ocl_str_t sv = ocl_labels_get(&s->ls, src);
            ocl_buf_append(&b, sv.p, sv.n);
        }
        lb_t lb;
        ocl_pqlx_lb_init(ev, &lb, &s->ls);
        ocl_str_t nv = {b.len ? ocl_arena_strndup(ev->a, (const char *)b.p, b.len) : NULL, b.len};
        ocl_pqlx_lb_set(ev, &lb, dst, nv);
        s->ls = ocl_pqlx_lb_done(&lb);
        if (ocl_str_eq_c(dst, OCL_METRIC_NAME)) s->drop_name = false;
    }
    ocl_buf_dispose(&b);
    return 0;
}

static bool has_matrix_arg(const ocl_pql_node_t *n)
{
    for (uint32_t i = 0; i < n->call.n_args; i++)
        if (n->call.args[i]->type == OCL_PQL_MATRIX) return true;
    return false;
}

int ocl_pqlx_call(ev_t *ev, const ocl_pql_node_t *n, val_t *out)
{
    const char *name = n->call.func->name;
    int rc;
    if (!strcmp(name, "info")) return ocl_pqlx_info(ev, n, out);
    if (!strcmp(name, "integral"))
        return ocl_pqlx_fail(ev, OCL_PQL_ERR_BAD_DATA, "function \"%s\" is not supported", name);
    if (!strcmp(name, "time")) {
        out->type = OCL_PQL_SCALAR;
        out->sc = ocl_pqlx_steps(ev);
        for (size_t i = 0; i < ev->n; i++)
            out->sc[i] = (double)ev_t_at(ev, i) / 1000.0;
        return 0;
    }
    if (!strcmp(name, "pi") || !strcmp(name, "step") || !strcmp(name, "range") ||
        !strcmp(name, "start") || !strcmp(name, "end")) {
        double c = name[0] == 'p'                     ? M_PI
                   : name[1] == 't' && name[2] == 'e' ? (double)ev->qstep / 1000
                   : name[0] == 'r'                   ? (double)(ev->qend - ev->qstart) / 1000
                   : name[0] == 's'                   ? (double)ev->qstart / 1000
                                                      : (double)ev->qend / 1000;
        out->type = OCL_PQL_SCALAR;
        out->sc = ocl_pqlx_steps(ev);
        for (size_t i = 0; i < ev->n; i++)
            out->sc[i] = c;
        return 0;
    }
    if (!strcmp(name, "min_of") || !strcmp(name, "max_of")) {
        val_t a, b;
        if ((rc = ocl_pqlx_eval(ev, n->call.args[0], &a))) return rc;
        if ((rc = ocl_pqlx_eval(ev, n->call.args[1], &b))) return rc;
        *out = a;
        for (size_t i = 0; i < ev->n; i++)
            out->sc[i] = name[1] == 'i' ? go_min(a.sc[i], b.sc[i]) : go_max(a.sc[i], b.sc[i]);
        return 0;
    }
    if (!strcmp(name, "timestamp")) {
        const ocl_pql_node_t *a = ocl_pqlx_unparen(n->call.args[0]);
        if (a->kind == OCL_PQL_VECTOR_SEL) {
            if ((rc = ocl_pqlx_eval_timestamp_sel(ev, a, out))) return rc;
        } else {
            if ((rc = ocl_pqlx_eval(ev, a, out))) return rc;
            for (size_t k = 0; k < out->n; k++)
                for (size_t i = 0; i < ev->n; i++)
                    out->s[k].v[i] = (double)ev_t_at(ev, i) / 1000.0;
        }
        for (size_t k = 0; k < out->n; k++)
            out->s[k].drop_name = true;
        return 0;
    }
    if (has_matrix_arg(n)) {
        val_t args[6];
        memset(args, 0, sizeof args);
        for (uint32_t i = 0; i < n->call.n_args && i < 6; i++)
            if ((rc = ocl_pqlx_eval(ev, n->call.args[i], &args[i]))) return rc;
        return ocl_pqlx_call_range(ev, n, args, out);
    }
    if (!strcmp(name, "histogram_quantiles")) {
        val_t *args = ocl_arena_calloc(ev->a, (n->call.n_args + 1) * sizeof(val_t));
        for (uint32_t i = 0; i < n->call.n_args; i++)
            if ((rc = ocl_pqlx_eval(ev, n->call.args[i], &args[i]))) return rc;
        return ocl_pqlx_histogram_quantiles(ev, n, args, out);
    }
    if (!strcmp(name, "histogram_quantile") || !strcmp(name, "histogram_fraction")) {
        val_t args[3];
        memset(args, 0, sizeof args);
        for (uint32_t i = 0; i < n->call.n_args && i < 3; i++)
            if ((rc = ocl_pqlx_eval(ev, n->call.args[i], &args[i]))) return rc;
        if (name[10] == 'q') return ocl_pqlx_histogram_quantile(ev, n, args, out);
        return ocl_pqlx_histogram_fraction(ev, n, args, out);
    }
    /* time functions without argument use vector(time()) */
    if (is_time_fn(name) && n->call.n_args == 0) {
        out->type = OCL_PQL_VECTOR;
        es_t *s = ocl_pqlx_vec_add(ev, out, (ocl_labels_t){NULL, 0}, false);
        for (size_t i = 0; i < ev->n; i++) {
            s->v[i] = fn_time(name, (double)ev_t_at(ev, i) / 1000.0);
            s->has[i] = 1;
        }
        return 0;
    }
    val_t a0 = {0};
    if (n->call.n_args > 0 && (rc = ocl_pqlx_eval(ev, n->call.args[0], &a0))) return rc;
    if (!strcmp(name, "scalar")) {
        out->type = OCL_PQL_SCALAR;
        out->sc = ocl_pqlx_steps(ev);
        for (size_t i = 0; i < ev->n; i++) {
            int cnt = 0;
            double v = NAN;
            for (size_t k = 0; k < a0.n; k++)
                if (a0.s[k].has[i]) {
                    cnt++;
                    v = a0.s[k].v[i];
                }
            out->sc[i] = cnt == 1 ? v : NAN;
        }
        return 0;
    }
    if (!strcmp(name, "vector")) {
        out->type = OCL_PQL_VECTOR;
        es_t *s = ocl_pqlx_vec_add(ev, out, (ocl_labels_t){NULL, 0}, false);
        for (size_t i = 0; i < ev->n; i++) {
            s->v[i] = a0.sc[i];
            s->has[i] = 1;
        }
        return 0;
    }
    if (!strcmp(name, "absent")) {
        out->type = OCL_PQL_VECTOR;
        es_t *s = ocl_pqlx_vec_add(ev, out, ocl_pqlx_absent_labels(ev, n->call.args[0]), false);
        for (size_t i = 0; i < ev->n; i++) {
            bool any = false;
            for (size_t k = 0; k < a0.n && !any; k++)
                any = a0.s[k].has[i];
            s->v[i] = 1;
            s->has[i] = !any;
        }
        return 0;
    }
    if (!strncmp(name, "sort", 4)) return do_sort(ev, n, name, &a0, out);
    if (!strcmp(name, "label_replace")) return label_replace(ev, n, &a0, out);
    if (!strcmp(name, "label_join")) return label_join(ev, n, &a0, out);
    if (!strncmp(name, "histogram_", 10)) {
        /* float input: native-histogram functions have no output */
        out->type = OCL_PQL_VECTOR;
        return 0;
    }
    /* element-wise functions */
    double p1[1] = {0}, *pa = NULL, *pb = NULL;
    val_t a1 = {0}, a2 = {0};
    if (n->call.n_args > 1) {
        if ((rc = ocl_pqlx_eval(ev, n->call.args[1], &a1))) return rc;
        pa = a1.sc;
    }
    if (n->call.n_args > 2) {
        if ((rc = ocl_pqlx_eval(ev, n->call.args[2], &a2))) return rc;
        pb = a2.sc;
    }
    (void)p1;
    mathfn_t fn = NULL;
    for (size_t i = 0; i < OCL_ARRAY_LEN(mathfns); i++)
        if (!strcmp(name, mathfns[i].name)) fn = mathfns[i].fn;
    bool tfn = is_time_fn(name);
    int kind = fn                           ? 0
               : tfn                        ? 1
               : !strcmp(name, "round")     ? 2
               : !strcmp(name, "clamp")     ? 3
               : !strcmp(name, "clamp_min") ? 4
               : !strcmp(name, "clamp_max") ? 5
                                            : -1;
    if (kind < 0)
        return ocl_pqlx_fail(ev, OCL_PQL_ERR_BAD_DATA, "function \"%s\" is not supported", name);
    *out = a0;
    out->type = OCL_PQL_VECTOR;
    if (kind == 3) {
        /* clamp with min > max: empty result */
        for (size_t k = 0; k < out->n; k++)
            for (size_t i = 0; i < ev->n; i++)
                if (pa[i] > pb[i]) out->s[k].has[i] = 0;
    }
    for (size_t k = 0; k < out->n; k++) {
        es_t *s = &out->s[k];
        s->drop_name = true;
        for (size_t i = 0; i < ev->n; i++) {
            if (!s->has[i]) continue;
            double x = s->v[i];
            switch (kind) {
            case 0:
                x = fn(x);
                break;
            case 1:
                x = fn_time(name, x);
                break;
            case 2: {
                double to = pa ? pa[i] : 1;
                /* Prometheus: floor(v * (1/to) + 0.5) / (1/to) */
                double inv = 1.0 / to;
                x = floor(x * inv + 0.5) / inv;
                break;
            }
            case 3:
                x = go_max(pa[i], go_min(pb[i], x));
                break;
            case 4:
                x = go_max(pa[i], x);
                break;
            case 5:
                x = go_min(pa[i], x);
                break;
            }
            s->v[i] = x;
        }
    }
    return 0;
}
