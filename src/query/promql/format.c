/*
 * format.c — prints a PromQL tree the way Prometheus's String() and
 * /api/v1/format_query do: `sum by (job) (rate(x{job="api"}[5m]))`,
 * `a + on (x) group_left (y) b`, `foo @ 1000.000 offset 5m`, matchers
 * sorted, numbers in Go's strconv.FormatFloat(v, 'f', -1, 64) form
 * (shortest round-trip digits, never an exponent), durations in
 * model.Duration form (1h30m, 0s), strings quoted like Go's %q.
 * Invariant: the output parses back to an equivalent tree (the fuzz target
 * checks it). Recursion is bounded by the tree depth (OCL_PQL_MAX_DEPTH).
 */
#include "query/promql/parse_internal.h"
#include "query/promql/promql.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* strconv.FormatFloat(v, 'f', -1, 64); +Inf, -Inf, NaN as Prometheus. */
void ocl_pql_format_number(ocl_buf_t *out, double v)
{
    if (isnan(v)) {
        ocl_buf_puts(out, "NaN");
        return;
    }
    if (isinf(v)) {
        ocl_buf_puts(out, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == 0) {
        ocl_buf_puts(out, signbit(v) ? "-0" : "0");
        return;
    }
    char e[40];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec - 1, v);
        if (strtod(e, NULL) == v) break;
    }
    /* e = [-]d[.ddd]e[+-]XX → digits and decimal exponent */
    const char *s = e;
    bool neg = *s == '-';
    if (neg) s++;
    char digits[24];
    int nd = 0;
    for (; *s && *s != 'e'; s++)
        if (*s != '.') digits[nd++] = *s;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    int exp = atoi(s + 1);
    int dp = exp + 1; /* position of the decimal point after `dp` digits */
    if (neg) ocl_buf_putc(out, '-');
    if (dp <= 0) {
        ocl_buf_puts(out, "0.");
        for (int i = 0; i < -dp; i++)
            ocl_buf_putc(out, '0');
        ocl_buf_append(out, digits, (size_t)nd);
    } else if (dp >= nd) {
        ocl_buf_append(out, digits, (size_t)nd);
        for (int i = nd; i < dp; i++)
            ocl_buf_putc(out, '0');
    } else {
        ocl_buf_append(out, digits, (size_t)dp);
        ocl_buf_putc(out, '.');
        ocl_buf_append(out, digits + dp, (size_t)(nd - dp));
    }
}

/* Go's %v of a float64 (strconv 'g', shortest): exponent form when the
 * decimal exponent is < -4 or >= 6 (1e+06, 1.5e-05), +Inf / -Inf / NaN. */
static void format_g(ocl_buf_t *out, double v)
{
    if (isnan(v) || isinf(v) || v == 0) {
        ocl_pql_format_number(out, v);
        return;
    }
    char e[40];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec - 1, v);
        if (strtod(e, NULL) == v) break;
    }
    int exp = atoi(strchr(e, 'e') + 1);
    if (exp < -4 || exp >= 6) {
        /* d.ddde±XX with trailing zeros removed */
        char *ep = strchr(e, 'e');
        char *end = ep;
        if (memchr(e, '.', (size_t)(ep - e))) {
            while (end[-1] == '0')
                end--;
            if (end[-1] == '.') end--;
        }
        ocl_buf_append(out, e, (size_t)(end - e));
        ocl_buf_printf(out, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
        return;
    }
    ocl_pql_format_number(out, v);
}

static void format_labels(ocl_buf_t *out, const ocl_str_t *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (i) ocl_buf_puts(out, ", ");
        if (ocl_pql_legacy_label(v[i]))
            ocl_buf_append(out, v[i].p, v[i].n);
        else
            ocl_pql_quote(out, v[i].p, v[i].n);
    }
}

static void format_matcher(ocl_buf_t *out, const ocl_matcher_t *m)
{
    if (ocl_pql_legacy_label(m->name))
        ocl_buf_append(out, m->name.p, m->name.n);
    else
        ocl_pql_quote(out, m->name.p, m->name.n);
    ocl_buf_puts(out, ocl_match_op_str(m->type));
    ocl_pql_quote(out, m->value.p, m->value.n);
}

typedef struct {
    size_t off, len;           /* a matcher's text inside the scratch buffer */
    const unsigned char *base; /* scratch buffer bytes (set before sorting) */
} mstr_t;

static int mstr_cmp(const void *a, const void *b)
{
    const mstr_t *x = a, *y = b;
    size_t n = OCL_MIN(x->len, y->len);
    int c = memcmp(x->base + x->off, y->base + y->off, n);
    return c ? c : (x->len < y->len ? -1 : x->len > y->len);
}

static void format_at(ocl_buf_t *out, ocl_pql_at_t at, int64_t at_ms)
{
    if (at == OCL_PQL_AT_TIME) {
        /* Go's %.3f of ms/1000, exact for every int64 */
        uint64_t a = at_ms < 0 ? (uint64_t)0 - (uint64_t)at_ms : (uint64_t)at_ms;
        ocl_buf_printf(out, " @ %s%llu.%03llu", at_ms < 0 ? "-" : "",
                       (unsigned long long)(a / 1000), (unsigned long long)(a % 1000));
    } else if (at == OCL_PQL_AT_START)
        ocl_buf_puts(out, " @ start()");
    else if (at == OCL_PQL_AT_END)
        ocl_buf_puts(out, " @ end()");
}

static void format_offset(ocl_buf_t *out, int64_t ms, const ocl_pql_dur_t *expr)
{
    if (expr) {
        ocl_buf_puts(out, " offset ");
        ocl_pql_format_dur(out, expr);
    } else if (ms > 0) {
        ocl_buf_puts(out, " offset ");
        ocl_pql_format_duration(out, ms);
    } else if (ms < 0) {
        ocl_buf_puts(out, " offset -");
        ocl_pql_format_duration(out, ms == INT64_MIN ? INT64_MAX : -ms);
    }
}

static void format_extended(ocl_buf_t *out, const ocl_pql_node_t *vs)
{
    if (vs->vs.anchored)
        ocl_buf_puts(out, " anchored");
    else if (vs->vs.smoothed)
        ocl_buf_puts(out, " smoothed");
}

/* name{sorted matchers} without @/offset. */
static void format_selector_body(const ocl_pql_node_t *n, ocl_buf_t *out)
{
    ocl_buf_append(out, n->vs.name.p, n->vs.name.n);
    ocl_buf_t scratch;
    ocl_buf_init(&scratch);
    mstr_t stack[16];
    mstr_t *ms = n->vs.n_matchers <= 16 ? stack : ocl_malloc(n->vs.n_matchers * sizeof *ms);
    uint32_t k = 0;
    for (uint32_t i = 0; i < n->vs.n_matchers; i++) {
        const ocl_matcher_t *m = &n->vs.matchers[i];
        if (n->vs.name.n > 0 && m->type == OCL_MATCH_EQ && ocl_str_eq_c(m->name, OCL_METRIC_NAME) &&
            ocl_str_eq(m->value, n->vs.name))
            continue;
        size_t off = scratch.len;
        format_matcher(&scratch, m);
        ms[k++] = (mstr_t){off, scratch.len - off, NULL};
    }
    if (k > 0) {
        for (uint32_t i = 0; i < k; i++)
            ms[i].base = scratch.p;
        qsort(ms, k, sizeof *ms, mstr_cmp);
        ocl_buf_putc(out, '{');
        for (uint32_t i = 0; i < k; i++) {
            if (i) ocl_buf_putc(out, ',');
            ocl_buf_append(out, scratch.p + ms[i].off, ms[i].len);
        }
        ocl_buf_putc(out, '}');
    }
    if (ms != stack) ocl_free(ms);
    ocl_buf_dispose(&scratch);
}

void ocl_pql_format(const ocl_pql_node_t *n, ocl_buf_t *out)
{
    switch (n->kind) {
    case OCL_PQL_NUMBER:
        if (n->is_duration && isfinite(n->number)) {
            double ms = n->number * 1000.0;
            if (ms < 0) ocl_buf_putc(out, '-');
            ocl_pql_format_duration(out,
                                    fabs(ms) < 9.2e18 ? (int64_t)llround(fabs(ms)) : INT64_MAX);
        } else
            ocl_pql_format_number(out, n->number);
        break;
    case OCL_PQL_STRING_LIT:
        ocl_pql_quote(out, n->str.p, n->str.n);
        break;
    case OCL_PQL_VECTOR_SEL:
        format_selector_body(n, out);
        format_at(out, n->vs.at, n->vs.at_ms);
        format_extended(out, n);
        format_offset(out, n->vs.offset_ms, n->vs.offset_expr);
        break;
    case OCL_PQL_MATRIX_SEL:
        format_selector_body(n->ms.vs, out);
        ocl_buf_putc(out, '[');
        if (n->ms.range_expr)
            ocl_pql_format_dur(out, n->ms.range_expr);
        else
            ocl_pql_format_duration(out, n->ms.range_ms);
        ocl_buf_putc(out, ']');
        format_extended(out, n->ms.vs);
        format_at(out, n->ms.vs->vs.at, n->ms.vs->vs.at_ms);
        format_offset(out, n->ms.vs->vs.offset_ms, n->ms.vs->vs.offset_expr);
        break;
    case OCL_PQL_SUBQUERY:
        ocl_pql_format(n->sq.expr, out);
        ocl_buf_putc(out, '[');
        if (n->sq.range_expr)
            ocl_pql_format_dur(out, n->sq.range_expr);
        else
            ocl_pql_format_duration(out, n->sq.range_ms);
        ocl_buf_putc(out, ':');
        if (n->sq.step_expr)
            ocl_pql_format_dur(out, n->sq.step_expr);
        else if (n->sq.step_ms != 0)
            ocl_pql_format_duration(out, n->sq.step_ms);
        ocl_buf_putc(out, ']');
        format_at(out, n->sq.at, n->sq.at_ms);
        format_offset(out, n->sq.offset_ms, n->sq.offset_expr);
        break;
    case OCL_PQL_CALL:
        ocl_buf_puts(out, n->call.func->name);
        ocl_buf_putc(out, '(');
        for (uint32_t i = 0; i < n->call.n_args; i++) {
            if (i) ocl_buf_puts(out, ", ");
            ocl_pql_format(n->call.args[i], out);
        }
        ocl_buf_putc(out, ')');
        break;
    case OCL_PQL_AGGREGATE:
        ocl_buf_puts(out, ocl_pql_aggop_str(n->agg.op));
        if (n->agg.without || n->agg.n_grouping > 0) {
            ocl_buf_puts(out, n->agg.without ? " without (" : " by (");
            format_labels(out, n->agg.grouping, n->agg.n_grouping);
            ocl_buf_puts(out, ") ");
        }
        ocl_buf_putc(out, '(');
        if (n->agg.param) {
            ocl_pql_format(n->agg.param, out);
            ocl_buf_puts(out, ", ");
        }
        ocl_pql_format(n->agg.expr, out);
        ocl_buf_putc(out, ')');
        break;
    case OCL_PQL_BINARY: {
        /* "+Inf ^ x" would parse back as +(Inf ^ x): print a literal +Inf
         * base of ^ as plain Inf */
        if (n->bin.op == OCL_BIN_POW && n->bin.lhs->kind == OCL_PQL_NUMBER &&
            !n->bin.lhs->is_duration && isinf(n->bin.lhs->number) && n->bin.lhs->number > 0)
            ocl_buf_puts(out, "Inf");
        else
            ocl_pql_format(n->bin.lhs, out);
        ocl_buf_putc(out, ' ');
        ocl_buf_puts(out, ocl_pql_binop_str(n->bin.op));
        if (n->bin.return_bool) ocl_buf_puts(out, " bool");
        const ocl_pql_matching_t *m = n->bin.matching;
        if (m) {
            bool group = m->card == OCL_CARD_MANY_TO_ONE || m->card == OCL_CARD_ONE_TO_MANY;
            if (m->n_labels > 0 || m->on || group) {
                ocl_buf_puts(out, m->on ? " on (" : " ignoring (");
                format_labels(out, m->labels, m->n_labels);
                ocl_buf_putc(out, ')');
            }
            if (group) {
                ocl_buf_puts(out,
                             m->card == OCL_CARD_MANY_TO_ONE ? " group_left (" : " group_right (");
                format_labels(out, m->include, m->n_include);
                ocl_buf_putc(out, ')');
            }
            if (m->fill_same) {
                ocl_buf_puts(out, " fill (");
                format_g(out, m->fill_lhs_value);
                ocl_buf_putc(out, ')');
            } else {
                if (m->fill_lhs) {
                    ocl_buf_puts(out, " fill_left (");
                    format_g(out, m->fill_lhs_value);
                    ocl_buf_putc(out, ')');
                }
                if (m->fill_rhs) {
                    ocl_buf_puts(out, " fill_right (");
                    format_g(out, m->fill_rhs_value);
                    ocl_buf_putc(out, ')');
                }
            }
        }
        ocl_buf_putc(out, ' ');
        ocl_pql_format(n->bin.rhs, out);
        break;
    }
    case OCL_PQL_UNARY:
        ocl_buf_putc(out, n->unary.op);
        ocl_pql_format(n->unary.expr, out);
        break;
    case OCL_PQL_PAREN:
        ocl_buf_putc(out, '(');
        ocl_pql_format(n->paren.expr, out);
        ocl_buf_putc(out, ')');
        break;
    }
}
