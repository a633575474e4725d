/*
 * ast.c — names of PromQL value types and operators, as Prometheus spells
 * them in error messages and printed queries.
 */
#include "query/promql/ast.h"

const char *ocl_pql_type_str(ocl_pql_type_t t)
{
    switch (t) {
    case OCL_PQL_SCALAR:
        return "scalar";
    case OCL_PQL_VECTOR:
        return "instant vector";
    case OCL_PQL_MATRIX:
        return "range vector";
    case OCL_PQL_STRING:
        return "string";
    case OCL_PQL_NONE:
        break;
    }
    return "none";
}

const char *ocl_pql_aggop_str(ocl_pql_aggop_t op)
{
    static const char *const names[] = {
        [OCL_AGG_SUM] = "sum",
        [OCL_AGG_AVG] = "avg",
        [OCL_AGG_COUNT] = "count",
        [OCL_AGG_MIN] = "min",
        [OCL_AGG_MAX] = "max",
        [OCL_AGG_GROUP] = "group",
        [OCL_AGG_STDDEV] = "stddev",
        [OCL_AGG_STDVAR] = "stdvar",
        [OCL_AGG_TOPK] = "topk",
        [OCL_AGG_BOTTOMK] = "bottomk",
        [OCL_AGG_COUNT_VALUES] = "count_values",
        [OCL_AGG_QUANTILE] = "quantile",
        [OCL_AGG_LIMITK] = "limitk",
        [OCL_AGG_LIMIT_RATIO] = "limit_ratio",
    };
    return (unsigned)op < OCL_ARRAY_LEN(names) && names[op] ? names[op] : "?";
}

const char *ocl_pql_binop_str(ocl_pql_binop_t op)
{
    static const char *const names[] = {
        [OCL_BIN_ADD] = "+",         [OCL_BIN_SUB] = "-",   [OCL_BIN_MUL] = "*",
        [OCL_BIN_DIV] = "/",         [OCL_BIN_MOD] = "%",   [OCL_BIN_POW] = "^",
        [OCL_BIN_ATAN2] = "atan2",   [OCL_BIN_EQ] = "==",   [OCL_BIN_NE] = "!=",
        [OCL_BIN_GT] = ">",          [OCL_BIN_LT] = "<",    [OCL_BIN_GE] = ">=",
        [OCL_BIN_LE] = "<=",         [OCL_BIN_AND] = "and", [OCL_BIN_OR] = "or",
        [OCL_BIN_UNLESS] = "unless",
    };
    return (unsigned)op < OCL_ARRAY_LEN(names) && names[op] ? names[op] : "?";
}

bool ocl_pql_binop_is_comparison(ocl_pql_binop_t op)
{
    return op >= OCL_BIN_EQ && op <= OCL_BIN_LE;
}

bool ocl_pql_binop_is_set(ocl_pql_binop_t op)
{
    return op == OCL_BIN_AND || op == OCL_BIN_OR || op == OCL_BIN_UNLESS;
}
