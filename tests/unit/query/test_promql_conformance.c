/*
 * test_promql_conformance.c — runs Prometheus's PromQL test scripts (the
 * conformance corpus, format in SOURCE.md there) against ocelot's parser,
 * evaluator and an in-memory TSDB.
 *
 * Corpus directory: $OCL_PROMQL_CONFORMANCE_DIR, else
 * OCL_SRC_DIR/../shared/conformance/promql; when absent the test is skipped
 * (never passes silently). $OCL_CONFORMANCE_FILE=name.test runs one file;
 * $OCL_CONFORMANCE_VERBOSE=1 lists every failing case with its first
 * difference.
 *
 * Policy: in the target files every float case must pass except those
 * listed in promql_known_failures.txt (file:line); a listed case that now
 * passes also fails the test, so the list only shrinks. Cases that load or
 * expect native histograms ({{...}}) are counted as skipped. Other files
 * run and are reported as counts only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "query/promql/promql.h"
#include "store/metrics/tsdb.h"

#ifndef OCL_SRC_DIR
#define OCL_SRC_DIR "."
#endif

static const char *const targets[] = {
    "aggregators.test",         "at_modifier.test",   "collision.test",
    "functions.test",           "limit.test",         "literals.test",
    "operators.test",           "range_queries.test", "selectors.test",
    "staleness.test",           "subquery.test",      "trig_functions.test",
    "name_label_dropping.test",
};

/* ---- small utilities ---- */

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = 0;
    return s;
}

/* Duration like 5m, 1h30m, 10s53ms, or a plain number of seconds. */
static bool parse_dur(const char *s, int64_t *out)
{
    char *end;
    if (*s == 0) return false;
    double d = strtod(s, &end);
    if (*end == 0 && end != s) {
        *out = (int64_t)llround(d * 1000);
        return true;
    }
    int64_t total = 0;
    bool neg = false;
    if (*s == '-') {
        neg = true;
        s++;
    }
    while (*s) {
        if (*s < '0' || *s > '9') return false;
        int64_t v = 0;
        while (*s >= '0' && *s <= '9')
            v = v * 10 + (*s++ - '0');
        int64_t mul;
        if (!strncmp(s, "ms", 2)) {
            mul = 1;
            s += 2;
        } else if (*s == 's') {
            mul = 1000;
            s++;
        } else if (*s == 'm') {
            mul = 60000;
            s++;
        } else if (*s == 'h') {
            mul = 3600000;
            s++;
        } else if (*s == 'd') {
            mul = 86400000;
            s++;
        } else if (*s == 'w') {
            mul = 7 * 86400000LL;
            s++;
        } else if (*s == 'y') {
            mul = 365 * 86400000LL;
            s++;
        } else {
            return false;
        }
        total += v * mul;
    }
    *out = neg ? -total : total;
    return true;
}

/* Scans a float literal at *p (sign, digits, '.', exponent, Inf, NaN). */
static bool scan_num(const char **p, double *out)
{
    const char *s = *p, *st = s;
    if (*s == '+' || *s == '-') s++;
    if (!strncasecmp(s, "inf", 3)) {
        s += 3;
        *out = (*st == '-') ? -INFINITY : INFINITY;
        *p = s;
        return true;
    }
    if (!strncasecmp(s, "nan", 3)) {
        s += 3;
        *out = NAN;
        *p = s;
        return true;
    }
    const char *d = s;
    while ((*s >= '0' && *s <= '9') || *s == '.')
        s++;
    if (s == d) return false;
    if ((*s == 'e' || *s == 'E') && (s[1] == '+' || s[1] == '-' || (s[1] >= '0' && s[1] <= '9'))) {
        const char *e = s + 1;
        if (*e == '+' || *e == '-') e++;
        if (*e >= '0' && *e <= '9') {
            s = e;
            while (*s >= '0' && *s <= '9')
                s++;
        }
    }
    char buf[64];
    size_t n = (size_t)(s - st);
    if (n >= sizeof buf) return false;
    memcpy(buf, st, n);
    buf[n] = 0;
    *out = strtod(buf, NULL);
    *p = s;
    return true;
}

typedef struct {
    double v;   /* value */
    bool blank; /* _ */
    bool stale; /* stale marker */
} sval_t;

typedef struct {
    ocl_label_t *labels; /* sorted */
    uint32_t n_labels;
    sval_t *vals;
    size_t n_vals, cap_vals;
    bool native; /* contains {{...}} */
} sdesc_t;

static void sd_push(sdesc_t *d, sval_t v)
{
    if (d->n_vals == d->cap_vals) {
        d->cap_vals = d->cap_vals ? d->cap_vals * 2 : 16;
        d->vals = realloc(d->vals, d->cap_vals * sizeof(sval_t));
    }
    d->vals[d->n_vals++] = v;
}

static void sd_free(sdesc_t *d)
{
    for (uint32_t i = 0; i < d->n_labels; i++) {
        free((void *)d->labels[i].name.p);
        free((void *)d->labels[i].value.p);
    }
    free(d->labels);
    free(d->vals);
    memset(d, 0, sizeof *d);
}

/* Reads a quoted string ("..." or '...' or `...`), unescaping Go-style. */
static bool read_quoted(const char **pp, char **out, size_t *outn)
{
    const char *p = *pp;
    char q = *p++;
    size_t cap = 64, n = 0;
    char *b = malloc(cap);
    while (*p && *p != q) {
        if (n + 8 > cap) b = realloc(b, cap *= 2);
        if (*p == '\\' && q != '`') {
            p++;
            switch (*p) {
            case 'n':
                b[n++] = '\n';
                p++;
                break;
            case 't':
                b[n++] = '\t';
                p++;
                break;
            case 'r':
                b[n++] = '\r';
                p++;
                break;
            case '\\':
                b[n++] = '\\';
                p++;
                break;
            case '"':
                b[n++] = '"';
                p++;
                break;
            case '\'':
                b[n++] = '\'';
                p++;
                break;
            case 'x': {
                char h[3] = {p[1], p[2], 0};
                b[n++] = (char)strtol(h, NULL, 16);
                p += 3;
                break;
            }
            case 'u': {
                char h[5] = {p[1], p[2], p[3], p[4], 0};
                long cp = strtol(h, NULL, 16);
                p += 5;
                if (cp < 0x80) {
                    b[n++] = (char)cp;
                } else if (cp < 0x800) {
                    b[n++] = (char)(0xc0 | (cp >> 6));
                    b[n++] = (char)(0x80 | (cp & 0x3f));
                } else {
                    b[n++] = (char)(0xe0 | (cp >> 12));
                    b[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
                    b[n++] = (char)(0x80 | (cp & 0x3f));
                }
                break;
            }
            default:
                b[n++] = *p++;
                break;
            }
            continue;
        }
        b[n++] = *p++;
    }
    if (*p != q) {
        free(b);
        return false;
    }
    p++;
    b[n] = 0;
    *out = b;
    *outn = n;
    *pp = p;
    return true;
}

static int lab_cmp(const void *a, const void *b)
{
    const ocl_label_t *x = a, *y = b;
    size_t n = x->name.n < y->name.n ? x->name.n : y->name.n;
    int c = memcmp(x->name.p, y->name.p, n);
    if (c) return c;
    return x->name.n < y->name.n ? -1 : x->name.n > y->name.n;
}

static void add_label(sdesc_t *d, char *name, size_t nn, char *val, size_t vn)
{
    if (vn == 0) {
        free(name);
        free(val);
        return;
    }
    for (uint32_t i = 0; i < d->n_labels; i++) {
        if (d->labels[i].name.n == nn && !memcmp(d->labels[i].name.p, name, nn)) {
            free((void *)d->labels[i].value.p);
            d->labels[i].value = (ocl_str_t){val, vn};
            free(name);
            return;
        }
    }
    d->labels = realloc(d->labels, (d->n_labels + 1) * sizeof(ocl_label_t));
    d->labels[d->n_labels++] = (ocl_label_t){{name, nn}, {val, vn}};
}

static bool is_ident(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == ':' || c == '.';
}

/* Parses "name{labels} values..." (values optional). */
static bool parse_desc(const char *line, sdesc_t *d, bool with_values)
{
    memset(d, 0, sizeof *d);
    const char *p = line;
    const char *ns = p;
    while (is_ident(*p))
        p++;
    if (p > ns) {
        size_t n = (size_t)(p - ns);
        add_label(d, strdup("__name__"), 8, strndup(ns, n), n);
    }
    if (*p == '{') {
        p++;
        for (;;) {
            while (*p == ' ' || *p == '\t' || *p == ',')
                p++;
            if (*p == '}') {
                p++;
                break;
            }
            char *name;
            size_t nn;
            if (*p == '"' || *p == '\'') {
                if (!read_quoted(&p, &name, &nn)) return false;
            } else {
                const char *s = p;
                while (is_ident(*p))
                    p++;
                if (p == s) return false;
                nn = (size_t)(p - s);
                name = strndup(s, nn);
            }
            while (*p == ' ')
                p++;
            if (*p == '}' || *p == ',') {
                /* a bare quoted metric name inside braces */
                add_label(d, strdup("__name__"), 8, name, nn);
                continue;
            }
            if (*p != '=') {
                free(name);
                return false;
            }
            p++;
            while (*p == ' ')
                p++;
            char *val;
            size_t vn;
            if (!read_quoted(&p, &val, &vn)) {
                free(name);
                return false;
            }
            add_label(d, name, nn, val, vn);
        }
    }
    if (d->n_labels > 1) qsort(d->labels, d->n_labels, sizeof(ocl_label_t), lab_cmp);
    if (!with_values) return true;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p) break;
        if (p[0] == '{' && p[1] == '{') {
            const char *e = strstr(p, "}}");
            if (!e) return false;
            p = e + 2;
            d->native = true;
            int64_t times = 0;
            if (*p == 'x') {
                p++;
                times = strtoll(p, (char **)&p, 10);
            } else if (*p == '+' || *p == '-') {
                const char *e2 = strstr(p, "}}");
                if (e2) p = e2 + 2;
                if (*p == 'x') {
                    p++;
                    times = strtoll(p, (char **)&p, 10);
                }
            }
            for (int64_t i = 0; i <= times; i++)
                sd_push(d, (sval_t){0, true, false});
            while (*p && *p != ' ' && *p != '\t')
                p++;
            continue;
        }
        if (*p == '_') {
            p++;
            int64_t times = 1;
            if (*p == 'x') {
                p++;
                times = strtoll(p, (char **)&p, 10);
            }
            for (int64_t i = 0; i < times; i++)
                sd_push(d, (sval_t){0, true, false});
            continue;
        }
        if (!strncmp(p, "stale", 5)) {
            p += 5;
            int64_t times = 0;
            if (*p == 'x') {
                p++;
                times = strtoll(p, (char **)&p, 10);
            }
            for (int64_t i = 0; i <= times; i++)
                sd_push(d, (sval_t){0, false, true});
            continue;
        }
        double a;
        if (!scan_num(&p, &a)) return false;
        if (*p == 'x') {
            p++;
            int64_t times = strtoll(p, (char **)&p, 10);
            for (int64_t i = 0; i <= times; i++)
                sd_push(d, (sval_t){a, false, false});
        } else if (*p == '+' || *p == '-') {
            double b;
            if (!scan_num(&p, &b)) return false;
            if (*p != 'x') return false;
            p++;
            int64_t times = strtoll(p, (char **)&p, 10);
            for (int64_t i = 0; i <= times; i++) {
                sd_push(d, (sval_t){a, false, false});
                a += b;
            }
        } else {
            sd_push(d, (sval_t){a, false, false});
        }
        if (*p && *p != ' ' && *p != '\t') return false;
    }
    return true;
}

/* ---- almost.Equal ---- */

static bool almost_equal(double a, double b)
{
    const double eps = 1e-6, min_normal = 2.2250738585072014e-308;
    if (isnan(a) && isnan(b)) return true;
    if (a == b) return true;
    double abs_sum = fabs(a) + fabs(b), diff = fabs(a - b);
    if (a == 0 || b == 0 || abs_sum < min_normal) return diff < eps * min_normal;
    return diff / fmin(abs_sum, 1.7976931348623157e308) < eps;
}

/* ---- test state ---- */

typedef struct {
    char name[64];
    int pass, fail, native, native_pass, known_fail, known_pass;
    bool target;
} fstat_t;

typedef struct {
    char (*known)[96];
    size_t n_known;
    bool *known_hit;
    bool verbose;
    bool range_check; /* $OCL_CONFORMANCE_RANGE_CHECK=1 */
    int unexpected;
    sdesc_t *native; /* series loaded with native-histogram samples */
    size_t n_native;
} gstate_t;

static bool known_has(gstate_t *g, const char *key, size_t *idx)
{
    for (size_t i = 0; i < g->n_known; i++)
        if (!strcmp(g->known[i], key)) {
            *idx = i;
            return true;
        }
    return false;
}

static void fmt_labels(const ocl_label_t *v, uint32_t n, char *out, size_t len)
{
    ocl_buf_t b;
    ocl_buf_init(&b);
    ocl_labels_t ls = {v, n};
    ocl_labels_format(&ls, &b);
    snprintf(out, len, "%.*s", (int)b.len, b.p ? (const char *)b.p : "");
    ocl_buf_dispose(&b);
}

typedef struct {
    char *text; /* eval line */
    int line;   /* line number */
    bool range; /* eval range */
    int64_t t0, t1, step;
    const char *expr;
    bool fail, ordered, warn_any, no_warn, info_any, no_info;
    char *fail_msg, *fail_re;
    char *warn_msgs[8];
    int n_warn_msgs;
    bool warn_is_re[8];
    char *info_msgs[8];
    int n_info_msgs;
    bool info_is_re[8];
    bool exp_string;
    char *string_val;
    bool exp_rv;
    int64_t rv0, rv1, rvstep;
    bool exp_scalar;
    double scalar;
    sdesc_t exp[256];
    int n_exp;
    bool native;
    bool bad;
} ecase_t;

#include <regex.h>

static bool rx_match(const char *re, const char *s)
{
    regex_t r;
    if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB)) return false;
    bool m = regexec(&r, s, 0, NULL, 0) == 0;
    regfree(&r);
    return m;
}

static bool labels_eq(const ocl_label_t *a, uint32_t na, const ocl_labels_t *b)
{
    ocl_labels_t x = {a, na};
    return ocl_labels_equal(&x, b);
}

/* Checks a result; returns NULL when it matches, else a message. */
static const char *check(ecase_t *c, ocl_pql_result_t *r, char *msg, size_t len)
{
    /* annotations */
    if (c->no_warn && r->n_warnings) {
        snprintf(msg, len, "unexpected warning: %s", r->warnings[0]);
        return msg;
    }
    if (c->no_info && r->n_infos) {
        snprintf(msg, len, "unexpected info: %s", r->infos[0]);
        return msg;
    }
    if (c->warn_any && !r->n_warnings) {
        snprintf(msg, len, "expected a warning, got none");
        return msg;
    }
    if (c->info_any && !r->n_infos) {
        snprintf(msg, len, "expected an info, got none");
        return msg;
    }
    for (int i = 0; i < c->n_warn_msgs; i++) {
        bool found = false;
        for (size_t j = 0; j < r->n_warnings && !found; j++)
            found = c->warn_is_re[i] ? rx_match(c->warn_msgs[i], r->warnings[j])
                                     : !strcmp(c->warn_msgs[i], r->warnings[j]);
        if (!found) {
            snprintf(msg, len, "expected warning \"%s\", got %zu warnings%s%s", c->warn_msgs[i],
                     r->n_warnings, r->n_warnings ? ": " : "", r->n_warnings ? r->warnings[0] : "");
            return msg;
        }
    }
    for (int i = 0; i < c->n_info_msgs; i++) {
        bool found = false;
        for (size_t j = 0; j < r->n_infos && !found; j++)
            found = c->info_is_re[i] ? rx_match(c->info_msgs[i], r->infos[j])
                                     : !strcmp(c->info_msgs[i], r->infos[j]);
        if (!found) {
            snprintf(msg, len, "expected info \"%s\", got %zu infos%s%s", c->info_msgs[i],
                     r->n_infos, r->n_infos ? ": " : "", r->n_infos ? r->infos[0] : "");
            return msg;
        }
    }
    if (c->exp_string) {
        if (r->type != OCL_PQL_STRING || r->string.n != strlen(c->string_val) ||
            memcmp(r->string.p, c->string_val, r->string.n)) {
            snprintf(msg, len, "expected string \"%s\"", c->string_val);
            return msg;
        }
        return NULL;
    }
    if (r->type == OCL_PQL_SCALAR) {
        if (!c->exp_scalar) {
            if (c->n_exp == 1 && c->exp[0].n_labels == 0 && c->exp[0].n_vals == 1 &&
                almost_equal(c->exp[0].vals[0].v, r->scalar))
                return NULL;
            snprintf(msg, len, "got scalar %g, expected a vector", r->scalar);
            return msg;
        }
        if (!almost_equal(c->scalar, r->scalar)) {
            snprintf(msg, len, "expected scalar %g, got %g", c->scalar, r->scalar);
            return msg;
        }
        return NULL;
    }
    if (c->exp_scalar) {
        snprintf(msg, len, "expected scalar %g, got a %s", c->scalar, ocl_pql_type_str(r->type));
        return msg;
    }
    if (r->type == OCL_PQL_STRING) {
        snprintf(msg, len, "unexpected string result");
        return msg;
    }
    bool matrix = c->range || c->exp_rv;
    if (matrix && r->type != OCL_PQL_MATRIX) {
        snprintf(msg, len, "expected a range vector, got %s", ocl_pql_type_str(r->type));
        return msg;
    }
    if (!matrix && r->type != OCL_PQL_VECTOR) {
        snprintf(msg, len, "expected an instant vector, got %s", ocl_pql_type_str(r->type));
        return msg;
    }
    if ((size_t)c->n_exp != r->n_series) {
        char l[300] = "";
        if (r->n_series > 0) {
            /* name an unexpected series */
            for (size_t j = 0; j < r->n_series; j++) {
                bool found = false;
                for (int k = 0; k < c->n_exp && !found; k++)
                    found = labels_eq(c->exp[k].labels, c->exp[k].n_labels, &r->series[j].labels);
                if (!found) {
                    fmt_labels(r->series[j].labels.v, r->series[j].labels.n, l, sizeof l);
                    break;
                }
            }
        }
        snprintf(msg, len, "expected %d series, got %zu%s%s", c->n_exp, r->n_series,
                 l[0] ? "; unexpected " : "", l);
        return msg;
    }
    for (int k = 0; k < c->n_exp; k++) {
        sdesc_t *e = &c->exp[k];
        size_t j = 0;
        for (; j < r->n_series; j++)
            if (labels_eq(e->labels, e->n_labels, &r->series[j].labels)) break;
        char l[300];
        fmt_labels(e->labels, e->n_labels, l, sizeof l);
        if (j == r->n_series) {
            snprintf(msg, len, "missing series %s", l);
            return msg;
        }
        if (c->ordered && j != (size_t)k) {
            snprintf(msg, len, "series %s at position %zu, expected %d", l, j, k);
            return msg;
        }
        ocl_pql_series_t *s = &r->series[j];
        if (!matrix) {
            if (e->n_vals != 1 || !almost_equal(e->vals[0].v, s->points[0].v)) {
                snprintf(msg, len, "%s: expected %g, got %g", l, e->n_vals ? e->vals[0].v : NAN,
                         s->points[0].v);
                return msg;
            }
            continue;
        }
        int64_t t0 = c->exp_rv ? c->rv0 : c->t0, step = c->exp_rv ? c->rvstep : c->step;
        uint32_t pi = 0;
        for (size_t vi = 0; vi < e->n_vals; vi++) {
            if (e->vals[vi].blank) continue;
            int64_t t = t0 + (int64_t)vi * step;
            if (pi >= s->n_points || s->points[pi].t != t) {
                snprintf(msg, len, "%s: expected a point at %lld (%g), got %s %lld", l,
                         (long long)t, e->vals[vi].v, pi < s->n_points ? "point at" : "none",
                         pi < s->n_points ? (long long)s->points[pi].t : 0LL);
                return msg;
            }
            if (!almost_equal(e->vals[vi].v, s->points[pi].v)) {
                snprintf(msg, len, "%s at %lld: expected %g, got %g", l, (long long)t,
                         e->vals[vi].v, s->points[pi].v);
                return msg;
            }
            pi++;
        }
        if (pi != s->n_points) {
            snprintf(msg, len, "%s: %u extra points (first at %lld = %g)", l, s->n_points - pi,
                     (long long)s->points[pi].t, s->points[pi].v);
            return msg;
        }
    }
    return NULL;
}

static bool node_touches_native(gstate_t *g, const ocl_pql_node_t *n)
{
    if (!n) return false;
    switch (n->kind) {
    case OCL_PQL_VECTOR_SEL:
        for (size_t i = 0; i < g->n_native; i++) {
            ocl_labels_t ls = {g->native[i].labels, g->native[i].n_labels};
            bool all = true;
            for (uint32_t k = 0; k < n->vs.n_matchers && all; k++)
                all = ocl_matcher_match_labels(&n->vs.matchers[k], &ls);
            if (all) return true;
        }
        return false;
    case OCL_PQL_MATRIX_SEL:
        return node_touches_native(g, n->ms.vs);
    case OCL_PQL_SUBQUERY:
        return node_touches_native(g, n->sq.expr);
    case OCL_PQL_CALL:
        for (uint32_t i = 0; i < n->call.n_args; i++)
            if (node_touches_native(g, n->call.args[i])) return true;
        return false;
    case OCL_PQL_AGGREGATE:
        return node_touches_native(g, n->agg.expr) || node_touches_native(g, n->agg.param);
    case OCL_PQL_BINARY:
        return node_touches_native(g, n->bin.lhs) || node_touches_native(g, n->bin.rhs);
    case OCL_PQL_UNARY:
        return node_touches_native(g, n->unary.expr);
    case OCL_PQL_PAREN:
        return node_touches_native(g, n->paren.expr);
    default:
        return false;
    }
}

/* Diagnostic ($OCL_CONFORMANCE_RANGE_CHECK=1): a passing instant query
 * re-run as a range query ending at the same time must give the same
 * vector at its last step (the grid evaluation must not depend on where
 * the grid starts). Mismatches are printed, not counted. */
static int range_checks, range_mismatches;

static void range_check(ocl_tsdb_t *db, const ocl_pql_expr_t *e, const ecase_t *c,
                        const ocl_pql_result_t *ir, const char *key)
{
    static const char *const skip_words[] = {"start()", "end()", "step()", "range()", "sort", "@"};
    for (size_t i = 0; i < OCL_ARRAY_LEN(skip_words); i++)
        if (strstr(c->expr, skip_words[i])) return;
    if (ir->type != OCL_PQL_VECTOR && ir->type != OCL_PQL_SCALAR) return;
    ocl_pql_opts_t o = {0};
    o.experimental_funcs = true;
    ocl_pql_result_t *r = NULL;
    ocl_pql_error_t err;
    range_checks++;
    if (ocl_pql_eval_range(db, e, c->t0 - 3 * 47000, c->t0, 47000, &o, &r, &err)) {
        printf("  RANGECHECK %s: %s\n      range query failed: %s\n", key, c->expr, err.msg);
        return;
    }
    size_t n_at_t = 0;
    const char *bad = NULL;
    for (size_t k = 0; k < r->n_series; k++) {
        const ocl_pql_series_t *s = &r->series[k];
        if (!s->n_points || s->points[s->n_points - 1].t != c->t0) continue;
        double v = s->points[s->n_points - 1].v;
        n_at_t++;
        if (ir->type == OCL_PQL_SCALAR) {
            if (!almost_equal(v, ir->scalar)) bad = "scalar value differs";
            continue;
        }
        size_t j = 0;
        while (j < ir->n_series && !ocl_labels_equal(&ir->series[j].labels, &s->labels))
            j++;
        if (j == ir->n_series)
            bad = "series only in the range result";
        else if (!almost_equal(ir->series[j].points[0].v, v))
            bad = "value differs";
    }
    size_t want = ir->type == OCL_PQL_SCALAR ? 1 : ir->n_series;
    if (!bad && n_at_t != want) bad = "series count differs";
    if (bad) {
        range_mismatches++;
        printf("  RANGECHECK %s: %s\n      %s\n", key, c->expr, bad);
    }
    ocl_pql_result_free(r);
}

static void run_case(gstate_t *g, fstat_t *fs, ocl_tsdb_t *db, ecase_t *c)
{
    char key[96];
    snprintf(key, sizeof key, "%s:%d", fs->name, c->line);
    if (c->native) {
        fs->native++;
        return;
    }
    char msgbuf[1024];
    const char *diff = NULL;
    ocl_pql_expr_t *e = NULL;
    char perr[512] = "";
    int rc = c->bad ? -1 : ocl_pql_parse(c->expr, strlen(c->expr), &e, perr, sizeof perr);
    ocl_pql_result_t *r = NULL;
    ocl_pql_error_t err = {0};
    const char *errmsg = NULL;
    if (c->bad) {
        diff = "could not parse the test case";
    } else if (rc != 0) {
        errmsg = perr;
    } else {
        ocl_pql_opts_t o = {0};
        o.max_samples = 50000000;
        o.experimental_funcs = true; /* promqltest enables them */
        if (c->range)
            rc = ocl_pql_eval_range(db, e, c->t0, c->t1, c->step, &o, &r, &err);
        else
            rc = ocl_pql_eval_instant(db, e, c->t0, &o, &r, &err);
        if (rc != 0) errmsg = err.msg;
    }
    if (!diff) {
        if (c->fail) {
            if (!errmsg) {
                diff = "expected an error, got none";
            } else if (c->fail_msg && strcmp(c->fail_msg, errmsg)) {
                snprintf(msgbuf, sizeof msgbuf, "expected error \"%s\", got \"%s\"", c->fail_msg,
                         errmsg);
                diff = msgbuf;
            } else if (c->fail_re && !rx_match(c->fail_re, errmsg)) {
                snprintf(msgbuf, sizeof msgbuf, "expected error matching \"%s\", got \"%s\"",
                         c->fail_re, errmsg);
                diff = msgbuf;
            }
        } else if (errmsg) {
            snprintf(msgbuf, sizeof msgbuf, "unexpected error: %s", errmsg);
            diff = msgbuf;
        } else {
            diff = check(c, r, msgbuf, sizeof msgbuf);
        }
    }
    bool touches = e && node_touches_native(g, e->root);
    if (!diff && r && !c->range && g->range_check) range_check(db, e, c, r, key);
    ocl_pql_result_free(r);
    ocl_pql_expr_free(e);
    if (touches) {
        /* the query reads series whose native-histogram samples storage
         * cannot hold: a pass still counts, a failure is a native skip */
        if (diff) {
            fs->native++;
            if (g->verbose) printf("  NATIVE %s: %s\n      %s\n", key, c->expr, diff);
            return;
        }
        fs->native_pass++;
    }
    size_t ki;
    bool listed = fs->target && known_has(g, key, &ki);
    if (listed) g->known_hit[ki] = true;
    if (!diff) {
        fs->pass++;
        if (listed) {
            fs->known_pass++;
            g->unexpected++;
            printf("  NOW PASSING (remove from known failures): %s\n", key);
        }
        return;
    }
    fs->fail++;
    if (listed) {
        fs->known_fail++;
    } else if (fs->target) {
        g->unexpected++;
    }
    if (g->verbose || (fs->target && !listed))
        printf("  FAIL %s%s: %s\n      %s\n", key, listed ? " (known)" : "", c->expr, diff);
}

static void case_free(ecase_t *c)
{
    for (int i = 0; i < c->n_exp; i++)
        sd_free(&c->exp[i]);
    free(c->text);
    free(c->fail_msg);
    free(c->fail_re);
    free(c->string_val);
    for (int i = 0; i < c->n_warn_msgs; i++)
        free(c->warn_msgs[i]);
    for (int i = 0; i < c->n_info_msgs; i++)
        free(c->info_msgs[i]);
}

static ocl_tsdb_t *open_db(void)
{
    ocl_tsdb_opts_t o = {0};
    ocl_tsdb_t *db = NULL;
    assert_int_equal(ocl_tsdb_open(&o, &db), 0);
    return db;
}

static void note_native(gstate_t *g, sdesc_t *d)
{
    g->native = realloc(g->native, (g->n_native + 1) * sizeof(sdesc_t));
    sdesc_t *n = &g->native[g->n_native++];
    memset(n, 0, sizeof *n);
    n->labels = malloc((d->n_labels + 1) * sizeof(ocl_label_t));
    for (uint32_t i = 0; i < d->n_labels; i++) {
        n->labels[i].name =
            (ocl_str_t){strndup(d->labels[i].name.p, d->labels[i].name.n), d->labels[i].name.n};
        n->labels[i].value =
            (ocl_str_t){strndup(d->labels[i].value.p, d->labels[i].value.n), d->labels[i].value.n};
    }
    n->n_labels = d->n_labels;
}

/* load_with_nhcb also creates a native histogram named without _bucket
 * (and without le) for every classic bucket series. */
static void note_nhcb(gstate_t *g, sdesc_t *d)
{
    sdesc_t n = {0};
    n.labels = calloc(d->n_labels + 1, sizeof(ocl_label_t));
    bool bucket = false;
    for (uint32_t i = 0; i < d->n_labels; i++) {
        ocl_str_t nm = d->labels[i].name, v = d->labels[i].value;
        if (nm.n == 2 && !memcmp(nm.p, "le", 2)) continue;
        if (nm.n == 8 && !memcmp(nm.p, "__name__", 8)) {
            if (v.n > 7 && !memcmp(v.p + v.n - 7, "_bucket", 7)) {
                bucket = true;
                v.n -= 7;
            }
        }
        n.labels[n.n_labels++] = (ocl_label_t){nm, v};
    }
    if (bucket) note_native(g, &n);
    free(n.labels);
}

static void clear_native(gstate_t *g)
{
    for (size_t i = 0; i < g->n_native; i++)
        sd_free(&g->native[i]);
    g->n_native = 0;
}

typedef struct {
    sdesc_t d;       /* labels */
    ocl_sample_t *s; /* samples, ascending */
    uint32_t n, cap; /* count, capacity */
} lser_t;

/* Loads one block. A series given twice in a block is merged, the later
 * value winning at an equal timestamp (as Prometheus's test loader). */
static void do_load(gstate_t *g, ocl_tsdb_t *db, char **lines, int n, int64_t step, bool nhcb)
{
    lser_t *ls = calloc((size_t)n + 1, sizeof(lser_t));
    int nls = 0;
    for (int i = 0; i < n; i++) {
        sdesc_t d;
        if (!parse_desc(lines[i], &d, true)) {
            if (g->verbose) printf("  cannot parse series line: %s\n", lines[i]);
            sd_free(&d);
            continue;
        }
        if (d.native) note_native(g, &d);
        if (nhcb) note_nhcb(g, &d);
        ocl_labels_t dl = {d.labels, d.n_labels};
        lser_t *e = NULL;
        for (int k = 0; k < nls && !e; k++) {
            ocl_labels_t kl = {ls[k].d.labels, ls[k].d.n_labels};
            if (ocl_labels_equal(&kl, &dl)) e = &ls[k];
        }
        if (!e) {
            e = &ls[nls++];
            e->d = d;
        }
        for (size_t k = 0; k < d.n_vals; k++) {
            if (d.vals[k].blank) continue;
            ocl_sample_t smp = {(int64_t)k * step, d.vals[k].stale ? ocl_stale_nan() : d.vals[k].v};
            uint32_t pos = e->n;
            while (pos > 0 && e->s[pos - 1].t > smp.t)
                pos--;
            if (pos > 0 && e->s[pos - 1].t == smp.t) {
                e->s[pos - 1].v = smp.v;
                continue;
            }
            if (e->n == e->cap) {
                e->cap = e->cap ? e->cap * 2 : 64;
                e->s = realloc(e->s, e->cap * sizeof(ocl_sample_t));
            }
            memmove(&e->s[pos + 1], &e->s[pos], (e->n - pos) * sizeof(ocl_sample_t));
            e->s[pos] = smp;
            e->n++;
        }
        if (e->d.labels != d.labels) sd_free(&d);
    }
    for (int k = 0; k < nls; k++) {
        ocl_prom_series_t ps = {{ls[k].d.labels, ls[k].d.n_labels}, ls[k].s, ls[k].n};
        ocl_prom_batch_t b = {&ps, 1, NULL, 0};
        ocl_tsdb_append_result_t res;
        if (ls[k].n) ocl_tsdb_append(db, &b, &res);
        free(ls[k].s);
        sd_free(&ls[k].d);
    }
    free(ls);
}

static void parse_eval(char *line, int lineno, char **body, int nb, ecase_t *c)
{
    memset(c, 0, sizeof *c);
    c->line = lineno;
    c->text = strdup(line);
    char *p = c->text;
    char *cmd = p;
    while (*p && *p != ' ')
        p++;
    *p++ = 0;
    if (!strcmp(cmd, "eval_fail")) c->fail = true;
    if (!strcmp(cmd, "eval_warn")) c->warn_any = true;
    if (!strcmp(cmd, "eval_info")) c->info_any = true;
    if (!strcmp(cmd, "eval_ordered")) c->ordered = true;
    p = trim(p);
    if (!strncmp(p, "instant", 7)) {
        p = trim(p + 7);
        if (!strncmp(p, "at ", 3)) p = trim(p + 3);
        char *t = p;
        while (*p && *p != ' ')
            p++;
        *p++ = 0;
        if (!parse_dur(t, &c->t0)) c->bad = true;
        c->expr = trim(p);
    } else if (!strncmp(p, "range", 5)) {
        c->range = true;
        p = trim(p + 5);
        char *tok[6];
        for (int i = 0; i < 6; i++) {
            tok[i] = p;
            while (*p && *p != ' ')
                p++;
            if (*p) *p++ = 0;
            p = trim(p);
        }
        if (strcmp(tok[0], "from") || strcmp(tok[2], "to") || strcmp(tok[4], "step") ||
            !parse_dur(tok[1], &c->t0) || !parse_dur(tok[3], &c->t1) ||
            !parse_dur(tok[5], &c->step))
            c->bad = true;
        c->expr = p;
    } else {
        c->bad = true;
        c->expr = p;
    }
    for (int i = 0; i < nb; i++) {
        char *l = body[i];
        if (!strncmp(l, "expect ", 7)) {
            char *d = trim(l + 7);
            if (!strncmp(d, "fail", 4)) {
                c->fail = true;
                char *m = trim(d + 4);
                if (!strncmp(m, "msg:", 4)) c->fail_msg = strdup(trim(m + 4));
                if (!strncmp(m, "regex:", 6)) c->fail_re = strdup(trim(m + 6));
            } else if (!strncmp(d, "no_warn", 7)) {
                c->no_warn = true;
            } else if (!strncmp(d, "no_info", 7)) {
                c->no_info = true;
            } else if (!strncmp(d, "warn", 4) || !strncmp(d, "info", 4)) {
                bool w = d[0] == 'w';
                char *m = trim(d + 4);
                char **slot = w ? &c->warn_msgs[c->n_warn_msgs] : &c->info_msgs[c->n_info_msgs];
                bool *isre = w ? &c->warn_is_re[c->n_warn_msgs] : &c->info_is_re[c->n_info_msgs];
                int *cnt = w ? &c->n_warn_msgs : &c->n_info_msgs;
                if (!strncmp(m, "msg:", 4) && *cnt < 8) {
                    *slot = strdup(trim(m + 4));
                    *isre = false;
                    (*cnt)++;
                } else if (!strncmp(m, "regex:", 6) && *cnt < 8) {
                    *slot = strdup(trim(m + 6));
                    *isre = true;
                    (*cnt)++;
                } else if (w) {
                    c->warn_any = true;
                } else {
                    c->info_any = true;
                }
            } else if (!strncmp(d, "ordered", 7)) {
                c->ordered = true;
            } else if (!strncmp(d, "string", 6)) {
                c->exp_string = true;
                const char *q = trim(d + 6);
                char *s;
                size_t sn;
                if (read_quoted(&q, &s, &sn))
                    c->string_val = s;
                else
                    c->bad = true;
            } else if (!strncmp(d, "range vector", 12)) {
                c->exp_rv = true;
                char *q = trim(d + 12);
                char *tok[6];
                for (int k = 0; k < 6; k++) {
                    tok[k] = q;
                    while (*q && *q != ' ')
                        q++;
                    if (*q) *q++ = 0;
                    q = trim(q);
                }
                if (!parse_dur(tok[1], &c->rv0) || !parse_dur(tok[3], &c->rv1) ||
                    !parse_dur(tok[5], &c->rvstep))
                    c->bad = true;
            } else {
                c->bad = true;
            }
            continue;
        }
        if (strstr(l, "{{")) c->native = true;
        /* bare scalar */
        const char *q = l;
        double v;
        if (scan_num(&q, &v) && *trim((char *)q) == 0) {
            c->exp_scalar = true;
            c->scalar = v;
            continue;
        }
        if (c->n_exp >= 256) {
            c->bad = true;
            continue;
        }
        if (!parse_desc(l, &c->exp[c->n_exp], true)) {
            if (!c->native) c->bad = true;
            sd_free(&c->exp[c->n_exp]);
            continue;
        }
        if (c->exp[c->n_exp].native) c->native = true;
        c->n_exp++;
    }
}

static void run_file(gstate_t *g, const char *dir, fstat_t *fs)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, fs->name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char **lines = NULL;
    int n = 0, cap = 0;
    char buf[65536];
    while (fgets(buf, sizeof buf, f)) {
        size_t l = strlen(buf);
        if (l && buf[l - 1] == '\n') buf[--l] = 0;
        char *t = trim(buf);
        if (*t == '#') *t = 0;
        if (n == cap) lines = realloc(lines, (size_t)(cap = cap ? cap * 2 : 256) * sizeof(char *));
        lines[n++] = strdup(t);
    }
    fclose(f);
    ocl_tsdb_t *db = open_db();
    clear_native(g);
    for (int i = 0; i < n; i++) {
        char *l = lines[i];
        if (!*l) continue;
        int j = i + 1;
        while (j < n && lines[j][0])
            j++;
        if (!strncmp(l, "load", 4)) {
            char *p = l + 4;
            bool nhcb = !strncmp(p, "_with_nhcb", 10);
            if (nhcb) p += 10;
            int64_t step;
            if (parse_dur(trim(p), &step)) do_load(g, db, lines + i + 1, j - i - 1, step, nhcb);
            i = j - 1;
        } else if (!strcmp(l, "clear")) {
            ocl_tsdb_close(db);
            db = open_db();
            clear_native(g);
        } else if (!strncmp(l, "eval", 4)) {
            ecase_t *c = calloc(1, sizeof *c);
            parse_eval(l, i + 1, lines + i + 1, j - i - 1, c);
            run_case(g, fs, db, c);
            case_free(c);
            free(c);
            i = j - 1;
        }
    }
    ocl_tsdb_close(db);
    clear_native(g);
    for (int i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(((const fstat_t *)a)->name, ((const fstat_t *)b)->name);
}

static void test_conformance(void **state)
{
    (void)state;
    const char *dir = getenv("OCL_PROMQL_CONFORMANCE_DIR");
    if (!dir || !*dir) dir = OCL_SRC_DIR "/../shared/conformance/promql";
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        /* exit 77: CTest reports the test as skipped (SKIP_RETURN_CODE),
         * never as passed */
        printf("SKIPPED: PromQL conformance corpus not found at %s "
               "(set OCL_PROMQL_CONFORMANCE_DIR)\n", dir);
        fflush(stdout);
        exit(77);
    }
    gstate_t g = {0};
    const char *v = getenv("OCL_CONFORMANCE_VERBOSE");
    g.verbose = v && !strcmp(v, "1");
    const char *rcenv = getenv("OCL_CONFORMANCE_RANGE_CHECK");
    g.range_check = rcenv && !strcmp(rcenv, "1");
    const char *only = getenv("OCL_CONFORMANCE_FILE");
    /* known failures */
    char kpath[1024];
    snprintf(kpath, sizeof kpath, "%s/tests/unit/query/promql_known_failures.txt", OCL_SRC_DIR);
    FILE *kf = fopen(kpath, "r");
    if (kf) {
        char line[512];
        while (fgets(line, sizeof line, kf)) {
            char *t = trim(line);
            char *h = strchr(t, '#');
            if (h) *h = 0;
            t = trim(t);
            char *sp = strpbrk(t, " \t\n");
            if (sp) *sp = 0;
            if (!*t) continue;
            g.known = realloc(g.known, (g.n_known + 1) * sizeof *g.known);
            snprintf(g.known[g.n_known++], 96, "%s", t);
        }
        fclose(kf);
    }
    g.known_hit = calloc(g.n_known + 1, sizeof(bool));
    DIR *d = opendir(dir);
    assert_non_null(d);
    fstat_t *files = NULL;
    size_t nf = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 6 || strcmp(de->d_name + l - 5, ".test")) continue;
        if (only && strcmp(only, de->d_name)) continue;
        if (l >= sizeof files[0].name) continue;
        files = realloc(files, (nf + 1) * sizeof(fstat_t));
        memset(&files[nf], 0, sizeof(fstat_t));
        if (l >= sizeof files[nf].name) continue;
        memcpy(files[nf].name, de->d_name, l + 1);
        for (size_t i = 0; i < OCL_ARRAY_LEN(targets); i++)
            if (!strcmp(targets[i], de->d_name)) files[nf].target = true;
        nf++;
    }
    closedir(d);
    qsort(files, nf, sizeof(fstat_t), name_cmp);
    int tp = 0, tf = 0, tn = 0;
    for (size_t i = 0; i < nf; i++) {
        printf("%s\n", files[i].name);
        run_file(&g, dir, &files[i]);
        fstat_t *fs = &files[i];
        printf("  %-28s passed %4d (%d reading native series)  failed %4d (known %d)  "
               "skipped(native) %4d%s\n",
               fs->name, fs->pass, fs->native_pass, fs->fail, fs->known_fail, fs->native,
               fs->target ? "" : "  [not targeted]");
        tp += fs->pass;
        tf += fs->fail;
        tn += fs->native;
    }
    printf("TOTAL passed %d failed %d skipped(native) %d\n", tp, tf, tn);
    /* listed cases that no longer exist/fail in files that ran */
    for (size_t i = 0; i < g.n_known; i++) {
        if (g.known_hit[i]) continue;
        bool ran = false;
        for (size_t k = 0; k < nf; k++) {
            size_t l = strlen(files[k].name);
            if (!strncmp(g.known[i], files[k].name, l) && g.known[i][l] == ':') ran = true;
        }
        if (ran) {
            printf("  STALE known-failure entry (no such case): %s\n", g.known[i]);
            g.unexpected++;
        }
    }
    if (g.range_check)
        printf("range checks: %d, mismatches: %d\n", range_checks, range_mismatches);
    printf("unexpected results in target files: %d\n", g.unexpected);
    free(files);
    free(g.known);
    free(g.known_hit);
    free(g.native);
    assert_int_equal(g.unexpected, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conformance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
