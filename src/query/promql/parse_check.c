/*
 * parse_check.c — the PromQL type check, run on a syntactically valid tree
 * in the order Prometheus's checkAST visits it, so the first error reported
 * is the one Prometheus reports (same message, same position).
 *
 * Also finalizes the tree: set operators get many-to-many matching, and
 * vector matching is dropped (NULL) unless both operands are instant
 * vectors. Recursion is bounded by OCL_PQL_MAX_DEPTH (parse.c).
 */
#include "query/promql/parse_priv.h"

#include <stdio.h>
#include <string.h>

/* ValueType.String() of Prometheus (used by the subquery message). */
static const char *value_type_name(ocl_pql_type_t t)
{
    switch (t) {
    case OCL_PQL_SCALAR:
        return "scalar";
    case OCL_PQL_VECTOR:
        return "vector";
    case OCL_PQL_MATRIX:
        return "matrix";
    case OCL_PQL_STRING:
        return "string";
    default:
        return "none";
    }
}

static ocl_pql_type_t check(ocl_pql_parser_t *p, ocl_pql_node_t *n, bool bypass_empty);

static void expect_type(ocl_pql_parser_t *p, ocl_pql_node_t *n, ocl_pql_type_t want,
                        const char *context)
{
    ocl_pql_type_t t = check(p, n, false);
    if (t != want)
        ocl_pql_errorf(p, n->pos, "expected type %s in %s, got %s", ocl_pql_type_str(want), context,
                       ocl_pql_type_str(t));
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Start of the operator text between the operands (Prometheus's opRange). */
static uint32_t op_pos(ocl_pql_parser_t *p, const ocl_pql_node_t *n)
{
    uint32_t i = n->bin.lhs->end;
    while (i < p->n && is_space(p->q[i]))
        i++;
    return i;
}

static void quote_str(char *buf, size_t len, ocl_str_t s)
{
    ocl_buf_t b;
    ocl_buf_init(&b);
    ocl_pql_quote(&b, s.p, s.n);
    snprintf(buf, len, "%.*s", (int)OCL_MIN(b.len, len - 1), (const char *)b.p);
    ocl_buf_dispose(&b);
}

static void check_binary(ocl_pql_parser_t *p, ocl_pql_node_t *n)
{
    ocl_pql_type_t lt = check(p, n->bin.lhs, false);
    ocl_pql_type_t rt = check(p, n->bin.rhs, false);
    ocl_pql_binop_t op = n->bin.op;
    ocl_pql_matching_t *m = n->bin.matching;
    if (n->bin.return_bool && !ocl_pql_binop_is_comparison(op))
        ocl_pql_errorf(p, op_pos(p, n), "bool modifier can only be used on comparison operators");
    if (ocl_pql_binop_is_comparison(op) && !n->bin.return_bool && lt == OCL_PQL_SCALAR &&
        rt == OCL_PQL_SCALAR)
        ocl_pql_errorf(p, op_pos(p, n), "comparisons between scalars must use BOOL modifier");
    if (ocl_pql_binop_is_set(op) && m->card == OCL_CARD_ONE_TO_ONE) m->card = OCL_CARD_MANY_TO_MANY;
    if (m->on)
        for (uint32_t i = 0; i < m->n_labels; i++)
            for (uint32_t j = 0; j < m->n_include; j++)
                if (ocl_str_eq(m->labels[i], m->include[j])) {
                    char q[300];
                    quote_str(q, sizeof q, m->labels[i]);
                    ocl_pql_errorf(p, op_pos(p, n),
                                   "label %s must not occur in ON and GROUP clause at once", q);
                }
    if (lt != OCL_PQL_SCALAR && lt != OCL_PQL_VECTOR)
        ocl_pql_errorf(p, n->bin.lhs->pos,
                       "binary expression must contain only scalar and instant vector types");
    if (rt != OCL_PQL_SCALAR && rt != OCL_PQL_VECTOR)
        ocl_pql_errorf(p, n->bin.rhs->pos,
                       "binary expression must contain only scalar and instant vector types");
    if (lt != OCL_PQL_VECTOR || rt != OCL_PQL_VECTOR) {
        if (m->n_labels > 0)
            ocl_pql_errorf(p, n->pos, "vector matching only allowed between instant vectors");
        if (m->fill_lhs || m->fill_rhs)
            ocl_pql_errorf(p, n->pos,
                           "filling in missing series only allowed between instant vectors");
        n->bin.matching = NULL;
    } else if (ocl_pql_binop_is_set(op)) {
        if (m->card == OCL_CARD_ONE_TO_MANY || m->card == OCL_CARD_MANY_TO_ONE)
            ocl_pql_errorf(p, n->pos, "no grouping allowed for \"%s\" operation",
                           ocl_pql_binop_str(op));
        if (m->fill_lhs || m->fill_rhs)
            ocl_pql_errorf(p, n->pos, "filling in missing series not allowed for set operators");
    }
    if ((lt == OCL_PQL_SCALAR || rt == OCL_PQL_SCALAR) && ocl_pql_binop_is_set(op))
        ocl_pql_errorf(p, n->pos, "set operator \"%s\" not allowed in binary scalar expression",
                       ocl_pql_binop_str(op));
    n->type = lt == OCL_PQL_SCALAR && rt == OCL_PQL_SCALAR ? OCL_PQL_SCALAR : OCL_PQL_VECTOR;
}

static void check_call(ocl_pql_parser_t *p, ocl_pql_node_t *n)
{
    const ocl_pql_func_t *f = n->call.func;
    uint32_t na = n->call.n_args;
    char fq[300];
    quote_str(fq, sizeof fq, ocl_str_c(f->name));
    if (f->min_args == f->max_args) {
        if (na != f->n_args)
            ocl_pql_errorf(p, n->pos, "expected %u argument(s) in call to %s, got %u", f->n_args,
                           fq, na);
    } else if (na < f->min_args) {
        ocl_pql_errorf(p, n->pos, "expected at least %u argument(s) in call to %s, got %u",
                       f->min_args, fq, na);
    } else if (f->max_args != OCL_PQL_ARGS_UNBOUNDED && na > f->max_args) {
        ocl_pql_errorf(p, n->pos, "expected at most %u argument(s) in call to %s, got %u",
                       f->max_args, fq, na);
    }
    bool bypass1 = false;
    if (!strcmp(f->name, "info") && na > 1) {
        ocl_pql_node_t *a1 = n->call.args[1];
        if (a1->type != OCL_PQL_VECTOR)
            ocl_pql_errorf(p, n->pos, "expected type instant vector in call to function %s, got %s",
                           fq, ocl_pql_type_str(a1->type));
        if (a1->kind == OCL_PQL_VECTOR_SEL && a1->vs.name.n > 0)
            ocl_pql_errorf(p, a1->pos,
                           "expected label selectors only, got vector selector instead");
        else if (a1->kind == OCL_PQL_VECTOR_SEL)
            bypass1 = true;
        else
            ocl_pql_errorf(p, a1->pos, "expected label selectors only");
    }
    for (uint32_t i = 0; i < na; i++) {
        uint32_t d = i;
        if (i >= f->n_args) {
            if (f->min_args == f->max_args) break;
            d = f->n_args - 1u;
        }
        ocl_pql_type_t t = check(p, n->call.args[i], i == 1 && bypass1);
        if (t != f->args[d])
            ocl_pql_errorf(p, n->call.args[i]->pos,
                           "expected type %s in call to function %s, got %s",
                           ocl_pql_type_str(f->args[d]), fq, ocl_pql_type_str(t));
    }
}

static void check_selector(ocl_pql_parser_t *p, ocl_pql_node_t *n, bool bypass_empty)
{
    if (n->vs.name.n > 0) {
        /* the last matcher is the one for the name written before '{' */
        for (uint32_t i = 0; i + 1 < n->vs.n_matchers; i++)
            if (ocl_str_eq_c(n->vs.matchers[i].name, OCL_METRIC_NAME)) {
                char a[300], b[300];
                quote_str(a, sizeof a, n->vs.name);
                quote_str(b, sizeof b, n->vs.matchers[i].value);
                ocl_pql_errorf(p, n->pos, "metric name must not be set twice: %s or %s", a, b);
            }
        return;
    }
    if (bypass_empty) return;
    for (uint32_t i = 0; i < n->vs.n_matchers; i++)
        if (!ocl_matcher_match(&n->vs.matchers[i], OCL_STR(""))) return;
    ocl_pql_errorf(p, n->pos, "vector selector must contain at least one non-empty matcher");
}

static ocl_pql_type_t check(ocl_pql_parser_t *p, ocl_pql_node_t *n, bool bypass_empty)
{
    switch (n->kind) {
    case OCL_PQL_AGGREGATE:
        expect_type(p, n->agg.expr, OCL_PQL_VECTOR, "aggregation expression");
        if (n->agg.param)
            expect_type(p, n->agg.param,
                        n->agg.op == OCL_AGG_COUNT_VALUES ? OCL_PQL_STRING : OCL_PQL_SCALAR,
                        "aggregation parameter");
        break;
    case OCL_PQL_BINARY:
        check_binary(p, n);
        break;
    case OCL_PQL_CALL:
        check_call(p, n);
        break;
    case OCL_PQL_PAREN:
        n->type = check(p, n->paren.expr, false);
        break;
    case OCL_PQL_UNARY: {
        ocl_pql_type_t t = check(p, n->unary.expr, false);
        n->type = t;
        if (t != OCL_PQL_SCALAR && t != OCL_PQL_VECTOR)
            ocl_pql_errorf(p, n->pos,
                           "unary expression only allowed on expressions of type scalar or instant "
                           "vector, got \"%s\"",
                           ocl_pql_type_str(t));
        break;
    }
    case OCL_PQL_SUBQUERY: {
        ocl_pql_type_t t = check(p, n->sq.expr, false);
        if (t != OCL_PQL_VECTOR)
            ocl_pql_errorf(p, n->pos, "subquery is only allowed on instant vector, got %s instead",
                           value_type_name(t));
        break;
    }
    case OCL_PQL_MATRIX_SEL:
        check(p, n->ms.vs, false);
        break;
    case OCL_PQL_VECTOR_SEL:
        check_selector(p, n, bypass_empty);
        break;
    case OCL_PQL_NUMBER:
    case OCL_PQL_STRING_LIT:
        break;
    }
    return n->type;
}

void ocl_pql_check(ocl_pql_parser_t *p, ocl_pql_node_t *root)
{
    if (root) check(p, root, false);
}
