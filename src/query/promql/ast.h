/*
 * ast.h — the PromQL syntax tree produced by the parser (parse.c) and
 * walked by the evaluator (eval.c) and the printer (format.c).
 *
 * Ownership: every node, string and matcher array lives in the arena of the
 * ocl_pql_expr_t that holds the tree; regex matchers additionally own their
 * compiled pattern, released by ocl_pql_expr_free().
 * Invariants after a successful parse: every node's `type` is set and the
 * tree is type-checked the way Prometheus's parser checks it (argument
 * types, operand types, modifiers only where allowed); durations are in
 * milliseconds; ParenExpr nodes are kept (for printing) and evaluate to
 * their child.
 */
#ifndef OCL_PQL_AST_H
#define OCL_PQL_AST_H

#include "core/arena.h"
#include "store/metrics/labels.h"

#include <stdbool.h>

/* Value types, named as Prometheus names them in errors and the API:
 * "scalar", "instant vector" / "vector", "range vector" / "matrix", "string". */
typedef enum {
    OCL_PQL_NONE = 0,
    OCL_PQL_SCALAR,
    OCL_PQL_VECTOR,
    OCL_PQL_MATRIX,
    OCL_PQL_STRING,
} ocl_pql_type_t;

typedef enum {
    OCL_PQL_NUMBER,     /* number literal */
    OCL_PQL_STRING_LIT, /* string literal */
    OCL_PQL_VECTOR_SEL, /* instant vector selector */
    OCL_PQL_MATRIX_SEL, /* range vector selector: vector selector + range */
    OCL_PQL_SUBQUERY,   /* expr[range:step] */
    OCL_PQL_CALL,       /* function call */
    OCL_PQL_AGGREGATE,  /* sum by (x) (...) etc. */
    OCL_PQL_BINARY,     /* a op b */
    OCL_PQL_UNARY,      /* -a, +a */
    OCL_PQL_PAREN,      /* (a) */
} ocl_pql_kind_t;

/* The @ modifier. */
typedef enum {
    OCL_PQL_AT_NONE = 0,
    OCL_PQL_AT_TIME,  /* @ <timestamp>: at_ms holds it */
    OCL_PQL_AT_START, /* @ start() */
    OCL_PQL_AT_END,   /* @ end() */
} ocl_pql_at_t;

typedef enum {
    OCL_AGG_SUM, OCL_AGG_AVG, OCL_AGG_COUNT, OCL_AGG_MIN, OCL_AGG_MAX, OCL_AGG_GROUP,
    OCL_AGG_STDDEV, OCL_AGG_STDVAR, OCL_AGG_TOPK, OCL_AGG_BOTTOMK, OCL_AGG_COUNT_VALUES,
    OCL_AGG_QUANTILE, OCL_AGG_LIMITK, OCL_AGG_LIMIT_RATIO,
} ocl_pql_aggop_t;

typedef enum {
    /* arithmetic */
    OCL_BIN_ADD, OCL_BIN_SUB, OCL_BIN_MUL, OCL_BIN_DIV, OCL_BIN_MOD, OCL_BIN_POW, OCL_BIN_ATAN2,
    /* comparison */
    OCL_BIN_EQ, OCL_BIN_NE, OCL_BIN_GT, OCL_BIN_LT, OCL_BIN_GE, OCL_BIN_LE,
    /* set */
    OCL_BIN_AND, OCL_BIN_OR, OCL_BIN_UNLESS,
} ocl_pql_binop_t;

typedef enum {
    OCL_CARD_ONE_TO_ONE = 0,
    OCL_CARD_MANY_TO_ONE, /* group_left */
    OCL_CARD_ONE_TO_MANY, /* group_right */
    OCL_CARD_MANY_TO_MANY, /* set operators */
} ocl_pql_card_t;

/* Vector matching of a binary expression between two vectors. */
typedef struct {
    ocl_pql_card_t card;    /* cardinality */
    bool on;                /* true: on(labels); false: ignoring(labels) */
    bool explicit_matching; /* on()/ignoring() was written (for printing) */
    ocl_str_t *labels;      /* the on/ignoring label list */
    uint32_t n_labels;
    ocl_str_t *include; /* group_left/group_right extra labels */
    uint32_t n_include;
    /* Experimental fill modifiers (a + fill(0) b, fill_left(1) fill_right(2)):
     * a series missing on one side is matched against this value. */
    bool fill_lhs;         /* a value fills missing left-hand series */
    bool fill_rhs;         /* a value fills missing right-hand series */
    bool fill_same;        /* written as fill(v): both sides, printed once */
    double fill_lhs_value; /* value for missing left-hand series */
    double fill_rhs_value; /* value for missing right-hand series */
} ocl_pql_matching_t;

/* Function signature (functions_table.c): argument types and result. */
typedef struct {
    const char *name;         /* e.g. "rate" */
    ocl_pql_type_t args[6];   /* declared argument types */
    uint8_t n_args;           /* number of declared arguments */
    int8_t variadic;          /* 0: exactly n_args; k>0: the last k are optional; -1: last repeats */
    ocl_pql_type_t ret;       /* result type */
    bool experimental;        /* gated by --enable-feature=promql-experimental-functions in Prometheus */
    uint8_t min_args;         /* fewest arguments accepted (what the parser checks) */
    uint8_t max_args;         /* most arguments accepted; OCL_PQL_ARGS_UNBOUNDED for no limit;
                                 extra arguments beyond n_args have the type of the last one */
} ocl_pql_func_t;

#define OCL_PQL_ARGS_UNBOUNDED 255

/* Deepest expression tree the parser accepts (parentheses, operands,
 * arguments, ...); deeper queries fail with a parse error, so every
 * recursive walk over a parsed tree is bounded by this. */
#define OCL_PQL_MAX_DEPTH 200

/* The function named `name`, or NULL. */
const ocl_pql_func_t *ocl_pql_func_lookup(ocl_str_t name);

typedef struct ocl_pql_node ocl_pql_node_t;

/* A duration written as an expression rather than a literal: x[5m+1m],
 * offset (1h/2), [step()*2:], min_of(range(), 1h). Kept for printing and
 * because step() (the query step) and range() (end - start of the query)
 * are known only at evaluation time. Values are in seconds. */
typedef enum {
    OCL_PQL_DUR_NUM,    /* number or duration literal: num */
    OCL_PQL_DUR_STEP,   /* step() */
    OCL_PQL_DUR_RANGE,  /* range() */
    OCL_PQL_DUR_UNARY,  /* op rhs, op '-' or '+' ('+' only as a parenthesized literal) */
    OCL_PQL_DUR_BINARY, /* lhs op rhs, op one of + - * / % ^ */
    OCL_PQL_DUR_MIN,    /* min_of(lhs, rhs) */
    OCL_PQL_DUR_MAX,    /* max_of(lhs, rhs) */
} ocl_pql_dur_kind_t;

typedef struct ocl_pql_dur ocl_pql_dur_t;
struct ocl_pql_dur {
    ocl_pql_dur_kind_t kind; /* which fields are valid */
    char op;                 /* UNARY / BINARY operator */
    bool wrapped;            /* written in parentheses (for printing) */
    bool is_duration;        /* NUM written as a duration (5m), printed as one */
    bool is_const;           /* no step()/range() inside: the parser already folded it */
    double num;              /* NUM: seconds */
    ocl_pql_dur_t *lhs;      /* BINARY, MIN, MAX */
    ocl_pql_dur_t *rhs;      /* UNARY, BINARY, MIN, MAX */
};

/* Value of a duration expression in ms, given the query's step and range
 * (end - start) in ms (both 0 for an instant query). Returns 0, or
 * OCL_EINVAL with Prometheus's message in err ("division by zero",
 * "modulo by zero", "duration out of range"). */
int ocl_pql_dur_eval(const ocl_pql_dur_t *d, int64_t step_ms, int64_t range_ms, int64_t *ms, char *err,
                     size_t errlen);

struct ocl_pql_node {
    ocl_pql_kind_t kind; /* which union member is valid */
    ocl_pql_type_t type; /* result type */
    uint32_t pos;        /* byte offset of the node's first character in the query */
    uint32_t end;        /* byte offset just past the node */
    uint16_t depth;      /* height of the subtree (1 for a leaf), <= OCL_PQL_MAX_DEPTH */
    bool is_duration;    /* OCL_PQL_NUMBER written as a duration (5m = 300): printed as one */
    union {
        double number; /* OCL_PQL_NUMBER */
        ocl_str_t str; /* OCL_PQL_STRING_LIT: unescaped value */
        struct {
            ocl_str_t name;           /* metric name as written before '{', may be empty */
            ocl_matcher_t *matchers;  /* all matchers, incl. __name__="name" when a name was written */
            uint32_t n_matchers;
            int64_t offset_ms;        /* offset modifier (may be negative) */
            ocl_pql_at_t at;          /* @ modifier */
            int64_t at_ms;            /* for OCL_PQL_AT_TIME */
            ocl_pql_dur_t *offset_expr; /* offset written as an expression, else NULL; when it is
                                           not is_const, offset_ms is 0 and the evaluator computes it */
            bool anchored;            /* experimental `anchored` range modifier (on a range: ms.vs) */
            bool smoothed;            /* experimental `smoothed` range modifier (on a range: ms.vs) */
        } vs; /* OCL_PQL_VECTOR_SEL */
        struct {
            ocl_pql_node_t *vs; /* the OCL_PQL_VECTOR_SEL (holds offset and @) */
            int64_t range_ms;   /* [range]; 0 when range_expr is not is_const */
            ocl_pql_dur_t *range_expr; /* range written as an expression, else NULL */
        } ms; /* OCL_PQL_MATRIX_SEL */
        struct {
            ocl_pql_node_t *expr; /* inner expression (instant vector) */
            int64_t range_ms;     /* [range:...] */
            int64_t step_ms;      /* [...:step]; 0 = the default evaluation interval */
            int64_t offset_ms;    /* offset modifier */
            ocl_pql_at_t at;      /* @ modifier */
            int64_t at_ms;        /* for OCL_PQL_AT_TIME */
            ocl_pql_dur_t *range_expr;  /* as in ms.range_expr */
            ocl_pql_dur_t *step_expr;   /* step written as an expression, else NULL */
            ocl_pql_dur_t *offset_expr; /* as in vs.offset_expr */
        } sq; /* OCL_PQL_SUBQUERY */
        struct {
            const ocl_pql_func_t *func; /* signature; never NULL */
            ocl_pql_node_t **args;      /* arguments */
            uint32_t n_args;
        } call; /* OCL_PQL_CALL */
        struct {
            ocl_pql_aggop_t op;      /* aggregation operator */
            ocl_pql_node_t *expr;    /* aggregated vector expression */
            ocl_pql_node_t *param;   /* topk/bottomk/quantile/count_values/limitk/limit_ratio parameter, else NULL */
            ocl_str_t *grouping;     /* by/without labels */
            uint32_t n_grouping;
            bool without;            /* true: without(...); false: by(...) */
            bool grouping_written;   /* a by/without clause was written (for printing) */
        } agg; /* OCL_PQL_AGGREGATE */
        struct {
            ocl_pql_binop_t op;            /* operator */
            ocl_pql_node_t *lhs, *rhs;     /* operands */
            bool return_bool;              /* comparison with the bool modifier */
            ocl_pql_matching_t *matching;  /* non-NULL when both sides are vectors */
        } bin; /* OCL_PQL_BINARY */
        struct {
            char op;              /* '-' or '+' */
            ocl_pql_node_t *expr; /* operand */
        } unary; /* OCL_PQL_UNARY */
        struct {
            ocl_pql_node_t *expr; /* inner expression */
        } paren; /* OCL_PQL_PAREN */
    };
};

const char *ocl_pql_type_str(ocl_pql_type_t t);       /* "scalar", "instant vector", ... */
const char *ocl_pql_aggop_str(ocl_pql_aggop_t op);    /* "sum", ... */
const char *ocl_pql_binop_str(ocl_pql_binop_t op);    /* "+", "and", ... */
bool ocl_pql_binop_is_comparison(ocl_pql_binop_t op);
bool ocl_pql_binop_is_set(ocl_pql_binop_t op);

#endif
