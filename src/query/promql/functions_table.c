/*
 * functions_table.c — signatures of every PromQL function of Prometheus
 * 3.x (the documented ones plus the experimental ones gated behind
 * --enable-feature=promql-experimental-functions, marked `experimental`).
 *
 * Invariants: the table is sorted by name (binary search); min_args and
 * max_args are what the parser checks, the types of arguments past n_args
 * are the type of the last declared argument. `variadic` follows ast.h:
 * 0 exactly n_args, k > 0 the last k are optional, -1 the last repeats
 * (zero or more times) — histogram_quantiles (3 to 12 arguments) is marked
 * -1 and bounded by max_args.
 * Lookups happen once per call node at parse time.
 */
#include "query/promql/ast.h"

#include <string.h>

static const ocl_pql_func_t funcs[] = {
    {"abs", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"absent", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"absent_over_time", {OCL_PQL_MATRIX}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"acos", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"acosh", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"asin", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"asinh", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"atan", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"atanh", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"avg_over_time", {OCL_PQL_MATRIX}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"ceil", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"changes", {OCL_PQL_MATRIX}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"clamp", {OCL_PQL_VECTOR, OCL_PQL_SCALAR, OCL_PQL_SCALAR}, 3, 0, OCL_PQL_VECTOR, false, 3, 3},
    {"clamp_max", {OCL_PQL_VECTOR, OCL_PQL_SCALAR}, 2, 0, OCL_PQL_VECTOR, false, 2, 2},
    {"clamp_min", {OCL_PQL_VECTOR, OCL_PQL_SCALAR}, 2, 0, OCL_PQL_VECTOR, false, 2, 2},
    {"cos", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"cosh", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"count_over_time", {OCL_PQL_MATRIX}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"day_of_month", {OCL_PQL_VECTOR}, 1, 1, OCL_PQL_VECTOR, false, 0, 1},
    {"day_of_week", {OCL_PQL_VECTOR}, 1, 1, OCL_PQL_VECTOR, false, 0, 1},
    {"day_of_year", {OCL_PQL_VECTOR}, 1, 1, OCL_PQL_VECTOR, false, 0, 1},
    {"days_in_month", {OCL_PQL_VECTOR}, 1, 1, OCL_PQL_VECTOR, false, 0, 1},
    {"deg", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"delta", {OCL_PQL_MATRIX}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"deriv", {OCL_PQL_MATRIX}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"double_exponential_smoothing",
     {OCL_PQL_MATRIX, OCL_PQL_SCALAR, OCL_PQL_SCALAR},
     3,
     0,
     OCL_PQL_VECTOR,
     true,
     3,
     3},
    {"end", {OCL_PQL_NONE}, 0, 0, OCL_PQL_SCALAR, true, 0, 0},
    {"exp", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"first_over_time", {OCL_PQL_MATRIX}, 1, 0, OCL_PQL_VECTOR, true, 1, 1},
    {"floor", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"histogram_avg", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"histogram_count", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"histogram_fraction",
     {OCL_PQL_SCALAR, OCL_PQL_SCALAR, OCL_PQL_VECTOR},
     3,
     0,
     OCL_PQL_VECTOR,
     false,
     3,
     3},
    {"histogram_quantile", {OCL_PQL_SCALAR, OCL_PQL_VECTOR}, 2, 0, OCL_PQL_VECTOR, false, 2, 2},
    {"histogram_quantiles",
     {OCL_PQL_VECTOR, OCL_PQL_STRING, OCL_PQL_SCALAR, OCL_PQL_SCALAR},
     4,
     -1,
     OCL_PQL_VECTOR,
     true,
     3,
     12},
    {"histogram_stddev", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"histogram_stdvar", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"histogram_sum", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"hour", {OCL_PQL_VECTOR}, 1, 1, OCL_PQL_VECTOR, false, 0, 1},
    {"idelta", {OCL_PQL_MATRIX}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"increase", {OCL_PQL_MATRIX}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"info", {OCL_PQL_VECTOR, OCL_PQL_VECTOR}, 2, 1, OCL_PQL_VECTOR, true, 1, 2},
    {"integral", {OCL_PQL_MATRIX, OCL_PQL_SCALAR}, 2, 1, OCL_PQL_VECTOR, true, 1, 2},
    {"irate", {OCL_PQL_MATRIX}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"label_join",
     {OCL_PQL_VECTOR, OCL_PQL_STRING, OCL_PQL_STRING, OCL_PQL_STRING},
     4,
     -1,
     OCL_PQL_VECTOR,
     false,
     3,
     255},
    {"label_replace",
     {OCL_PQL_VECTOR, OCL_PQL_STRING, OCL_PQL_STRING, OCL_PQL_STRING, OCL_PQL_STRING},
     5,
     0,
     OCL_PQL_VECTOR,
     false,
     5,
     5},
    {"last_over_time", {OCL_PQL_MATRIX}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"ln", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"log10", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"log2", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"mad_over_time", {OCL_PQL_MATRIX}, 1, 0, OCL_PQL_VECTOR, true, 1, 1},
    {"max_of", {OCL_PQL_SCALAR, OCL_PQL_SCALAR}, 2, 0, OCL_PQL_SCALAR, true, 2, 2},
    {"max_over_time", {OCL_PQL_MATRIX}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"min_of", {OCL_PQL_SCALAR, OCL_PQL_SCALAR}, 2, 0, OCL_PQL_SCALAR, true, 2, 2},
    {"min_over_time", {OCL_PQL_MATRIX}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"minute", {OCL_PQL_VECTOR}, 1, 1, OCL_PQL_VECTOR, false, 0, 1},
    {"month", {OCL_PQL_VECTOR}, 1, 1, OCL_PQL_VECTOR, false, 0, 1},
    {"pi", {OCL_PQL_NONE}, 0, 0, OCL_PQL_SCALAR, false, 0, 0},
    {"predict_linear", {OCL_PQL_MATRIX, OCL_PQL_SCALAR}, 2, 0, OCL_PQL_VECTOR, false, 2, 2},
    {"present_over_time", {OCL_PQL_MATRIX}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"quantile_over_time", {OCL_PQL_SCALAR, OCL_PQL_MATRIX}, 2, 0, OCL_PQL_VECTOR, false, 2, 2},
    {"rad", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"range", {OCL_PQL_NONE}, 0, 0, OCL_PQL_SCALAR, true, 0, 0},
    {"rate", {OCL_PQL_MATRIX}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"resets", {OCL_PQL_MATRIX}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"round", {OCL_PQL_VECTOR, OCL_PQL_SCALAR}, 2, 1, OCL_PQL_VECTOR, false, 1, 2},
    {"scalar", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_SCALAR, false, 1, 1},
    {"sgn", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"sin", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"sinh", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"sort", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"sort_by_label", {OCL_PQL_VECTOR, OCL_PQL_STRING}, 2, -1, OCL_PQL_VECTOR, true, 1, 255},
    {"sort_by_label_desc", {OCL_PQL_VECTOR, OCL_PQL_STRING}, 2, -1, OCL_PQL_VECTOR, true, 1, 255},
    {"sort_desc", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"sqrt", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"start", {OCL_PQL_NONE}, 0, 0, OCL_PQL_SCALAR, true, 0, 0},
    {"start_timestamp", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, true, 1, 1},
    {"stddev_over_time", {OCL_PQL_MATRIX}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"stdvar_over_time", {OCL_PQL_MATRIX}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"step", {OCL_PQL_NONE}, 0, 0, OCL_PQL_SCALAR, true, 0, 0},
    {"sum_over_time", {OCL_PQL_MATRIX}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"tan", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"tanh", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"time", {OCL_PQL_NONE}, 0, 0, OCL_PQL_SCALAR, false, 0, 0},
    {"timestamp", {OCL_PQL_VECTOR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"ts_of_first_over_time", {OCL_PQL_MATRIX}, 1, 0, OCL_PQL_VECTOR, true, 1, 1},
    {"ts_of_last_over_time", {OCL_PQL_MATRIX}, 1, 0, OCL_PQL_VECTOR, true, 1, 1},
    {"ts_of_max_over_time", {OCL_PQL_MATRIX}, 1, 0, OCL_PQL_VECTOR, true, 1, 1},
    {"ts_of_min_over_time", {OCL_PQL_MATRIX}, 1, 0, OCL_PQL_VECTOR, true, 1, 1},
    {"vector", {OCL_PQL_SCALAR}, 1, 0, OCL_PQL_VECTOR, false, 1, 1},
    {"year", {OCL_PQL_VECTOR}, 1, 1, OCL_PQL_VECTOR, false, 0, 1},
};

const ocl_pql_func_t *ocl_pql_func_lookup(ocl_str_t name)
{
    size_t lo = 0, hi = OCL_ARRAY_LEN(funcs);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        size_t fl = strlen(funcs[mid].name);
        int c = memcmp(funcs[mid].name, name.p ? name.p : "", OCL_MIN(fl, name.n));
        if (c == 0) c = fl < name.n ? -1 : fl > name.n ? 1 : 0;
        if (c == 0) return &funcs[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}
