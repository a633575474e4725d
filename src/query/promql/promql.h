/*
 * promql.h — the PromQL engine's public interface: parse a query, print it
 * back (format_query), evaluate it at an instant or over a range against
 * one tenant's TSDB.
 *
 * Semantics follow current Prometheus (3.x) as encoded in the conformance
 * corpus: 5-minute lookback, left-open range windows (a sample exactly at
 * t - range is excluded), staleness markers end a series, Prometheus's
 * error messages. Native histograms are not supported: queries that would
 * need them fail with a clear error.
 *
 * Ownership: ocl_pql_expr_t and ocl_pql_result_t are heap objects freed by
 * their _free function; everything a result points to lives in its arena.
 * Thread-safety: a parsed expression is read-only during evaluation and can
 * be evaluated from several threads at once.
 */
#ifndef OCL_PROMQL_H
#define OCL_PROMQL_H

#include "core/buf.h"
#include "query/promql/ast.h"
#include "store/metrics/tsdb.h"

typedef struct {
    ocl_arena_t arena;    /* owns the tree */
    ocl_pql_node_t *root; /* the expression */
    ocl_str_t query;      /* copy of the query text (arena) */
} ocl_pql_expr_t;

/* Parses and type-checks `q`. On error returns OCL_EINVAL and writes
 * Prometheus's message to err, e.g. "1:8: parse error: unexpected <EOF>"
 * or "1:1: parse error: expected type range vector in call to function
 * \"rate\", got instant vector". */
int ocl_pql_parse(const char *q, size_t n, ocl_pql_expr_t **out, char *err, size_t errlen);
void ocl_pql_expr_free(ocl_pql_expr_t *e);

/* Prints an expression the way Prometheus's String() / format_query do. */
void ocl_pql_format(const ocl_pql_node_t *n, ocl_buf_t *out);

/* Error classes, mapped by the HTTP API to Prometheus's errorType and
 * status: BAD_DATA → "bad_data" 400, EXECUTION → "execution" 422,
 * TIMEOUT → "timeout" 503, CANCELED → "canceled" 503,
 * TOO_MANY_SAMPLES → "execution" 422 ("query processing would load too
 * many samples into memory in query execution"), INTERNAL → "internal" 500. */
typedef enum {
    OCL_PQL_OK = 0,
    OCL_PQL_ERR_BAD_DATA,
    OCL_PQL_ERR_EXECUTION,
    OCL_PQL_ERR_TIMEOUT,
    OCL_PQL_ERR_CANCELED,
    OCL_PQL_ERR_TOO_MANY_SAMPLES,
    OCL_PQL_ERR_INTERNAL,
} ocl_pql_errclass_t;

typedef struct {
    ocl_pql_errclass_t cls; /* OCL_PQL_OK when there is no error */
    char msg[512];          /* Prometheus's message */
} ocl_pql_error_t;

typedef struct {
    uint64_t max_samples;     /* samples a query may hold at once (0 = 50,000,000 as Prometheus) */
    int64_t timeout_ms;       /* wall-clock limit (0 = 120,000) */
    int64_t lookback_ms;      /* lookback delta (0 = 300,000) */
    bool experimental_funcs;  /* allow functions marked experimental (default false) */
    const volatile int *cancel; /* optional: evaluation stops with CANCELED when *cancel != 0
                                   (read with a relaxed atomic load at work checkpoints, so
                                   another thread may set it with __atomic_store_n) */
} ocl_pql_opts_t;

typedef struct {
    int64_t t; /* ms */
    double v;
} ocl_pql_point_t;

typedef struct {
    ocl_labels_t labels;     /* arena-owned */
    ocl_pql_point_t *points; /* ascending by t; exactly 1 for a vector */
    uint32_t n_points;
} ocl_pql_series_t;

typedef struct {
    ocl_arena_t arena;        /* owns everything below */
    ocl_pql_type_t type;      /* SCALAR, VECTOR, MATRIX or STRING */
    int64_t t;                /* evaluation time of an instant scalar/string/vector */
    double scalar;            /* SCALAR (instant) */
    ocl_str_t string;         /* STRING */
    ocl_pql_series_t *series; /* VECTOR (n_points = 1 each) or MATRIX */
    size_t n_series;
    char **warnings;          /* Prometheus annotations ("PromQL warning: ..."), arena */
    size_t n_warnings;
    char **infos;             /* "PromQL info: ..." annotations, arena */
    size_t n_infos;
    uint64_t samples_loaded;  /* total samples read from storage (stats) */
} ocl_pql_result_t;

/* Instant query at t_ms. A range query (start..end by step) returns a
 * MATRIX; scalar results become one series without labels. Return 0, or
 * an OCL_E* code with `err` filled. */
int ocl_pql_eval_instant(ocl_tsdb_t *db, const ocl_pql_expr_t *e, int64_t t_ms,
                         const ocl_pql_opts_t *opts, ocl_pql_result_t **out, ocl_pql_error_t *err);
int ocl_pql_eval_range(ocl_tsdb_t *db, const ocl_pql_expr_t *e, int64_t start_ms, int64_t end_ms,
                       int64_t step_ms, const ocl_pql_opts_t *opts, ocl_pql_result_t **out,
                       ocl_pql_error_t *err);
void ocl_pql_result_free(ocl_pql_result_t *r);

#endif
