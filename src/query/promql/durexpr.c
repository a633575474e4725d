/*
 * durexpr.c — duration expressions (x[5m+1m], offset (1h/2), [step()*2:],
 * min_of(range(), 1h)): evaluation and printing.
 *
 * Arithmetic is in float seconds as in Prometheus; the result becomes
 * int64 nanoseconds (rounded) and then whole milliseconds (truncated).
 * Trees are small: the parser bounds them to OCL_PQL_MAX_DEPTH nodes, so
 * the recursion here is bounded.
 */
#include "query/promql/parse_internal.h"

#include <math.h>
#include <stdio.h>

static int eval(const ocl_pql_dur_t *d, double step, double range, double *v, char *err,
                size_t errlen)
{
    double a = 0, b = 0;
    switch (d->kind) {
    case OCL_PQL_DUR_NUM:
        *v = d->num;
        return 0;
    case OCL_PQL_DUR_STEP:
        *v = step;
        return 0;
    case OCL_PQL_DUR_RANGE:
        *v = range;
        return 0;
    case OCL_PQL_DUR_UNARY:
        if (eval(d->rhs, step, range, &b, err, errlen)) return OCL_EINVAL;
        *v = d->op == '-' ? -b : b;
        return 0;
    default:
        break;
    }
    if (eval(d->lhs, step, range, &a, err, errlen) || eval(d->rhs, step, range, &b, err, errlen))
        return OCL_EINVAL;
    switch (d->kind) {
    case OCL_PQL_DUR_MIN:
        *v = isnan(a) || isnan(b) ? NAN : fmin(a, b); /* Go's math.Min */
        return 0;
    case OCL_PQL_DUR_MAX:
        *v = isnan(a) || isnan(b) ? NAN : fmax(a, b);
        return 0;
    default:
        break;
    }
    switch (d->op) {
    case '+':
        *v = a + b;
        return 0;
    case '-':
        *v = a - b;
        return 0;
    case '*':
        *v = a * b;
        return 0;
    case '/':
        if (b == 0) {
            snprintf(err, errlen, "division by zero");
            return OCL_EINVAL;
        }
        *v = a / b;
        return 0;
    case '%':
        if (b == 0) {
            snprintf(err, errlen, "modulo by zero");
            return OCL_EINVAL;
        }
        *v = fmod(a, b);
        return 0;
    default:
        *v = pow(a, b);
        return 0;
    }
}

int ocl_pql_dur_eval(const ocl_pql_dur_t *d, int64_t step_ms, int64_t range_ms, int64_t *ms,
                     char *err, size_t errlen)
{
    double v = 0;
    if (eval(d, (double)step_ms / 1000.0, (double)range_ms / 1000.0, &v, err, errlen))
        return OCL_EINVAL;
    if (!(v <= 9223372036.854775807 && v >= -9223372036.854775808)) {
        snprintf(err, errlen, "duration out of range");
        return OCL_EINVAL;
    }
    double ns = round(v * 1e9);
    if (ns >= 9.2233720368547758e18) ns = 9.2233720368547748e18;
    if (ns <= -9.2233720368547758e18) ns = -9.2233720368547748e18;
    *ms = (int64_t)ns / 1000000;
    return 0;
}

static void format_num(ocl_buf_t *out, const ocl_pql_dur_t *d)
{
    if (!d->is_duration || !isfinite(d->num)) {
        ocl_pql_format_number(out, d->num);
        return;
    }
    double ms = fabs(d->num) * 1000.0;
    if (d->num < 0) ocl_buf_putc(out, '-');
    ocl_pql_format_duration(out, ms < 9.2e18 ? (int64_t)llround(ms) : INT64_MAX);
}

void ocl_pql_format_dur(ocl_buf_t *out, const ocl_pql_dur_t *d)
{
    if (d->wrapped) ocl_buf_putc(out, '(');
    switch (d->kind) {
    case OCL_PQL_DUR_NUM:
        format_num(out, d);
        break;
    case OCL_PQL_DUR_STEP:
        ocl_buf_puts(out, "step()");
        break;
    case OCL_PQL_DUR_RANGE:
        ocl_buf_puts(out, "range()");
        break;
    case OCL_PQL_DUR_MIN:
    case OCL_PQL_DUR_MAX:
        ocl_buf_puts(out, d->kind == OCL_PQL_DUR_MIN ? "min_of(" : "max_of(");
        ocl_pql_format_dur(out, d->lhs);
        ocl_buf_puts(out, ", ");
        ocl_pql_format_dur(out, d->rhs);
        ocl_buf_putc(out, ')');
        break;
    case OCL_PQL_DUR_UNARY:
        if (d->op == '-') ocl_buf_putc(out, '-');
        ocl_pql_format_dur(out, d->rhs);
        break;
    case OCL_PQL_DUR_BINARY:
        ocl_pql_format_dur(out, d->lhs);
        ocl_buf_putc(out, ' ');
        ocl_buf_putc(out, d->op);
        ocl_buf_putc(out, ' ');
        ocl_pql_format_dur(out, d->rhs);
        break;
    }
    if (d->wrapped) ocl_buf_putc(out, ')');
}
