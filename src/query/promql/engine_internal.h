/*
 * engine_internal.h — shared types of the PromQL evaluator (eval.c,
 * binop.c, aggregate.c, functions.c, rangefuncs.c). Not a public interface.
 *
 * Design: every node is evaluated once over the whole evaluation grid
 * (start, start + step, ..., end; an instant query is a grid of one step).
 * An instant-vector value is a set of series, each with a dense per-step
 * value array and a presence array; its labels do not change from step to
 * step, so grouping and vector matching work on labels once per series,
 * not once per step. Selectors load their data once per query for the
 * whole span they need (ocl_tsdb_select) and every step is answered from
 * those arrays with moving cursors. Range-vector values (matrix selectors,
 * subqueries) stay as raw (t, v) arrays plus the per-step window they are
 * read through; range functions slide over them.
 *
 * Invariants: all memory of one evaluation lives in the evaluator's arena
 * (the result's arena); series labels are sorted sets; `drop_name` marks
 * a series whose __name__ is removed lazily at the end (Prometheus 3's
 * delayed name removal).
 */
#ifndef OCL_PQL_ENGINE_INTERNAL_H
#define OCL_PQL_ENGINE_INTERNAL_H

#include "query/promql/promql.h"

#include <math.h>
#include <stdint.h>

/* One series of an instant-vector value over the grid. */
typedef struct {
    ocl_labels_t ls; /* labels (arena) */
    double *v;       /* per-step value */
    uint8_t *has;    /* per-step presence (0/1) */
    bool drop_name;  /* __name__ is to be removed at the end */
} es_t;

/* One raw series of a range-vector value. */
typedef struct {
    ocl_labels_t ls;  /* labels (arena) */
    const int64_t *t; /* sample times, ascending */
    const double *v;  /* sample values (no staleness markers) */
    uint32_t n;       /* number of samples */
    bool drop_name;   /* inherited from a subquery's inner result */
} rs_t;

/* A value over the grid. */
typedef struct {
    ocl_pql_type_t type; /* SCALAR, VECTOR, MATRIX or STRING */
    double *sc;          /* SCALAR: per-step value */
    es_t *s;             /* VECTOR: series */
    size_t n, cap;       /* VECTOR: count and capacity of s */
    ocl_str_t str;       /* STRING */
    rs_t *m;             /* MATRIX: raw series */
    size_t nm;           /* MATRIX: count */
    int64_t range_ms;    /* MATRIX: window length */
    int64_t offset_ms;   /* MATRIX: offset */
    ocl_pql_at_t at;     /* MATRIX: @ modifier */
    int64_t at_ms;       /* MATRIX: resolved @ time */
    bool anchored;       /* MATRIX: experimental `anchored` modifier */
    bool smoothed;       /* MATRIX: experimental `smoothed` modifier */
} val_t;

/* Evaluator state of one query. */
typedef struct ev {
    ocl_tsdb_t *db;             /* storage */
    ocl_arena_t *a;             /* arena for everything (the result's) */
    int64_t start, step;        /* current grid */
    size_t n;                   /* steps in the current grid */
    int64_t qstart, qend;       /* the query's start/end (for @ start()/end()) */
    int64_t qstep;              /* the query's step (0 for an instant query) */
    int64_t lookback;           /* lookback delta */
    int64_t default_step;       /* subquery step when none is written */
    uint64_t max_samples;       /* limit on samples held at once */
    uint64_t cur_samples;       /* samples currently accounted */
    uint64_t loaded;            /* samples read from storage */
    uint64_t cells;             /* per-step cells allocated for series (memory bound) */
    double *junk_v;             /* shared arrays handed out once the cell bound is hit */
    uint8_t *junk_has;          /* (see junk_v) */
    size_t junk_n;              /* their length */
    int64_t deadline_ns;        /* monotonic deadline */
    const volatile int *cancel; /* cancel flag or NULL */
    uint64_t work;              /* work units done (≈ samples/steps touched) */
    uint64_t next_check;        /* work count at which to look at the clock/cancel flag again */
    bool is_range;              /* the query is a range query */
    ocl_pql_error_t *err;       /* where errors go */
    int rc;                     /* first error code */
    char **warn;                /* warnings (arena) */
    size_t n_warn, cap_warn;    /*  */
    char **info;                /* infos (arena) */
    size_t n_info, cap_info;    /*  */
    const char *query;          /* query text (for positions in annotations) */
    size_t query_len;           /* its length */
    bool experimental;          /* experimental functions allowed */
} ev_t;

/* Times, offsets and ranges are clamped to ±2^61 ms (73 million years) so
 * that sums of a few of them never overflow. */
#define OCL_PQLX_TMAX ((int64_t)1 << 61)
static inline int64_t tclamp(int64_t t)
{
    return t > OCL_PQLX_TMAX ? OCL_PQLX_TMAX : t < -OCL_PQLX_TMAX ? -OCL_PQLX_TMAX : t;
}
static inline int64_t tsub(int64_t a, int64_t b)
{
    return tclamp(tclamp(a) - tclamp(b));
}

static inline int64_t ev_t_at(const ev_t *ev, size_t i)
{
    return ev->start + (int64_t)i * ev->step;
}

/* eval.c */
int ocl_pqlx_eval(ev_t *ev, const ocl_pql_node_t *n, val_t *out);
int ocl_pqlx_fail(ev_t *ev, ocl_pql_errclass_t cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ocl_pqlx_annot(ev_t *ev, bool warn, const ocl_pql_node_t *pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int ocl_pqlx_check(ev_t *ev);
/* Counts work; every few thousand units checks the cancel flag and the deadline. */
int ocl_pqlx_work(ev_t *ev, uint64_t units);
es_t *ocl_pqlx_vec_add(ev_t *ev, val_t *v, ocl_labels_t ls, bool drop_name);
double *ocl_pqlx_steps(ev_t *ev);
int ocl_pqlx_account(ev_t *ev, uint64_t n);
const ocl_pql_node_t *ocl_pqlx_unparen(const ocl_pql_node_t *n);

/* Label building. */
typedef struct {
    ocl_label_t *v; /* labels (arena) */
    uint32_t n;     /* count */
    uint32_t cap;   /* capacity */
} lb_t;
void ocl_pqlx_lb_init(ev_t *ev, lb_t *b, const ocl_labels_t *src);
void ocl_pqlx_lb_set(ev_t *ev, lb_t *b, ocl_str_t name, ocl_str_t value);
void ocl_pqlx_lb_del(lb_t *b, ocl_str_t name);
ocl_labels_t ocl_pqlx_lb_done(lb_t *b); /* sorts; value empty means deleted */
ocl_labels_t ocl_pqlx_labels_without_name(ev_t *ev, const ocl_labels_t *ls);

/* Hash map from label sets to indexes (open addressing). */
typedef struct {
    uint64_t h;      /* hash of ls */
    ocl_labels_t ls; /* key */
    uint32_t idx;    /* value */
    bool used;       /* slot in use */
} lment_t;
typedef struct {
    lment_t *e; /* slots */
    size_t cap; /* slot count (power of two) */
    size_t n;   /* used slots */
} lmap_t;
/* Returns the slot of `ls`; *created tells whether it was inserted (its
 * idx is then to be set by the caller). */
lment_t *ocl_pqlx_lmap_get(ev_t *ev, lmap_t *m, const ocl_labels_t *ls, bool *created);
/* The slot of `ls`, or NULL. */
lment_t *ocl_pqlx_lmap_find(const lmap_t *m, const ocl_labels_t *ls);

/* binop.c */
int ocl_pqlx_binary(ev_t *ev, const ocl_pql_node_t *n, val_t *out);
double ocl_pqlx_arith(ocl_pql_binop_t op, double a, double b, bool *keep);

/* aggregate.c */
int ocl_pqlx_aggregate(ev_t *ev, const ocl_pql_node_t *n, val_t *out);
double ocl_pqlx_quantile(double q, double *v, size_t n); /* sorts v */
/* Grouping key of a series: labels kept by by/without. */
ocl_labels_t ocl_pqlx_group_labels(ev_t *ev, const ocl_labels_t *ls, const ocl_str_t *names,
                                   uint32_t n_names, bool without, bool *has_name);

/* functions.c */
int ocl_pqlx_call(ev_t *ev, const ocl_pql_node_t *n, val_t *out);
/* rangefuncs.c: the function applied to a window; returns false when the
 * function has no output for it. */
int ocl_pqlx_call_range(ev_t *ev, const ocl_pql_node_t *n, val_t *args, val_t *out);

/* helpers shared by several files */
ocl_labels_t ocl_pqlx_absent_labels(ev_t *ev, const ocl_pql_node_t *arg);
void ocl_pqlx_fmt_float(double f, char fmt, char *out, size_t len); /* Go FormatFloat 'f'/'g' -1 */
void ocl_pqlx_quote(ocl_str_t s, char *out, size_t len);            /* Go %q */
bool ocl_pqlx_utf8_valid(ocl_str_t s);
int ocl_pqlx_eval_timestamp_sel(ev_t *ev, const ocl_pql_node_t *n, val_t *out);

/* info.c */
int ocl_pqlx_info(ev_t *ev, const ocl_pql_node_t *n, val_t *out);

/* histogram.c */
int ocl_pqlx_histogram_quantile(ev_t *ev, const ocl_pql_node_t *n, val_t *args, val_t *out);
int ocl_pqlx_histogram_quantiles(ev_t *ev, const ocl_pql_node_t *n, val_t *args, val_t *out);
int ocl_pqlx_histogram_fraction(ev_t *ev, const ocl_pql_node_t *n, val_t *args, val_t *out);

/* Kahan-Neumaier summation step as Prometheus does it. */
static inline void kahan_inc(double inc, double *sum, double *c)
{
    double t = *sum + inc;
    if (isinf(t)) {
        *c = 0;
    } else if (fabs(*sum) >= fabs(inc)) {
        *c += (*sum - t) + inc;
    } else {
        *c += (inc - t) + *sum;
    }
    *sum = t;
}

#endif
