/*
 * labels.h — the Prometheus data model shared by every metrics module:
 * label sets, label matchers, samples and the staleness marker.
 *
 * Invariants: an ocl_labels_t is sorted by name (byte order), names are
 * unique and no value is empty (an empty value means "label absent", as in
 * Prometheus). The metric name is the label "__name__". Label sets never own
 * their bytes: whoever hands one out says who owns the strings.
 * Matchers follow PromQL: =, !=, =~, !~; regexes are fully anchored and
 * '.' matches newlines (Prometheus wraps them as ^(?s:re)$); a matcher on an
 * absent label sees the empty string.
 * Thread-safety: all functions are reentrant; a matcher may be used from
 * several threads at once (match data is per thread).
 */
#ifndef OCL_LABELS_H
#define OCL_LABELS_H

#include "core/arena.h"
#include "core/buf.h"
#include "core/core.h"

#include <stdbool.h>

#define OCL_METRIC_NAME "__name__"

typedef struct {
    ocl_str_t name;  /* label name */
    ocl_str_t value; /* label value, never empty in a stored set */
} ocl_label_t;

typedef struct {
    const ocl_label_t *v; /* sorted by name; borrowed */
    uint32_t n;           /* number of labels */
} ocl_labels_t;

/* One float sample. Timestamps are milliseconds since the Unix epoch. */
typedef struct {
    int64_t t; /* ms */
    double v;  /* value; may be NaN, ±Inf or the staleness marker */
} ocl_sample_t;

/* Prometheus's staleness marker: a NaN with this exact bit pattern. It is
 * stored like a sample and ends a series for PromQL's lookback. */
#define OCL_STALE_NAN_BITS 0x7ff0000000000002ULL
double ocl_stale_nan(void);
/* Inline: PromQL tests every loaded sample. */
static inline bool ocl_is_stale_nan(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits == OCL_STALE_NAN_BITS;
}

/* Sorts `v` by name (insertion sort for small sets, else qsort). */
void ocl_labels_sort(ocl_label_t *v, uint32_t n);
/* Compares two sets the way Prometheus orders series: label by label, name
 * then value, a shorter prefix first. <0, 0, >0. */
int ocl_labels_cmp(const ocl_labels_t *a, const ocl_labels_t *b);
bool ocl_labels_equal(const ocl_labels_t *a, const ocl_labels_t *b);
/* Stable 64-bit hash of a set (xxh3 over name 0xff value 0xff ...). */
uint64_t ocl_labels_hash(const ocl_labels_t *ls);
/* The value of label `name`, or an empty string if absent. */
ocl_str_t ocl_labels_get(const ocl_labels_t *ls, ocl_str_t name);
/* Deep copy of the set (array and strings) into `a`. */
ocl_labels_t ocl_labels_copy(ocl_arena_t *a, const ocl_labels_t *src);
/* Writes the set as Prometheus prints it: name{a="x", b="y"} (values
 * escaped like Go's %q), or {a="x"} when there is no name. */
void ocl_labels_format(const ocl_labels_t *ls, ocl_buf_t *out);
/* Legacy (pre-UTF-8) Prometheus charset checks: [a-zA-Z_:][a-zA-Z0-9_:]*
 * for metric names, [a-zA-Z_][a-zA-Z0-9_]* for label names. */
bool ocl_metric_name_valid(ocl_str_t s);
bool ocl_label_name_valid(ocl_str_t s);

typedef enum {
    OCL_MATCH_EQ,  /* =  */
    OCL_MATCH_NEQ, /* != */
    OCL_MATCH_RE,  /* =~ */
    OCL_MATCH_NRE, /* !~ */
} ocl_match_type_t;

typedef struct {
    ocl_match_type_t type; /* operator */
    ocl_str_t name;        /* label name; bytes owned by the matcher's creator */
    ocl_str_t value;       /* literal or regex source; owned by the creator */
    void *re;              /* pcre2_code * for RE/NRE (owned; freed by dispose) */
    bool matches_empty;    /* whether the matcher accepts the empty string */
} ocl_matcher_t;

/* Initialises a matcher. For regexes the pattern is compiled (PCRE2, JIT
 * when available, UTF mode). On a bad regex returns OCL_EINVAL and writes
 * a message ("error parsing regexp: ...") to err. `name` and `value` are
 * not copied. */
int ocl_matcher_init(ocl_matcher_t *m, ocl_match_type_t type, ocl_str_t name, ocl_str_t value,
                     char *err, size_t errlen);
void ocl_matcher_dispose(ocl_matcher_t *m);
/* A regex match that exceeds PCRE2's backtracking bound (100,000) returns
 * false for both =~ and !~ and flags the calling thread: a caller whose
 * answer depends on the matches must check ocl_matcher_limit_take() and
 * report an error instead of a result (a silent "no match" would make !~
 * select the value: a wrong answer). */
bool ocl_matcher_match(const ocl_matcher_t *m, ocl_str_t value);
/* Whether a match on this thread hit the bound since the last call (clears). */
bool ocl_matcher_limit_take(void);
/* Error code of storage queries whose matchers hit the bound, and the
 * message the APIs answer with (errorType "execution", HTTP 422). */
#define OCL_EREGEX_LIMIT OCL_EDEPTH
#define OCL_REGEX_LIMIT_MSG                                                                        \
    "a regex label matcher exceeded its backtracking limit on a label value in query execution"
/* Applies the matcher to a whole set (absent label = empty string). */
bool ocl_matcher_match_labels(const ocl_matcher_t *m, const ocl_labels_t *ls);
/* "=", "!=", "=~", "!~" */
const char *ocl_match_op_str(ocl_match_type_t t);

#endif
