/*
 * labels.c — label sets and matchers (see labels.h).
 *
 * Regex matchers use PCRE2 compiled ANCHORED | ENDANCHORED | DOTALL |
 * DOLLAR_ENDONLY so that, like Prometheus's RE2 matchers (^(?s:re)$), they
 * are fully anchored, '.' matches a newline and '$' is the end of the text
 * only (RE2 without multi-line mode). Match data is kept per thread so one
 * compiled matcher can serve concurrent queries without locks. Tuned for
 * short label values.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "store/metrics/labels.h"

#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

double ocl_stale_nan(void)
{
    uint64_t bits = OCL_STALE_NAN_BITS;
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static int str_cmp(ocl_str_t a, ocl_str_t b)
{
    size_t n = OCL_MIN(a.n, b.n);
    int c = n ? memcmp(a.p, b.p, n) : 0;
    if (c) return c;
    return a.n < b.n ? -1 : a.n > b.n;
}

static int label_cmp(const void *a, const void *b)
{
    return str_cmp(((const ocl_label_t *)a)->name, ((const ocl_label_t *)b)->name);
}

void ocl_labels_sort(ocl_label_t *v, uint32_t n)
{
    if (n > 16) {
        qsort(v, n, sizeof *v, label_cmp);
        return;
    }
    for (uint32_t i = 1; i < n; i++) {
        ocl_label_t x = v[i];
        uint32_t j = i;
        while (j > 0 && str_cmp(v[j - 1].name, x.name) > 0) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

int ocl_labels_cmp(const ocl_labels_t *a, const ocl_labels_t *b)
{
    uint32_t n = OCL_MIN(a->n, b->n);
    for (uint32_t i = 0; i < n; i++) {
        int c = str_cmp(a->v[i].name, b->v[i].name);
        if (c) return c;
        c = str_cmp(a->v[i].value, b->v[i].value);
        if (c) return c;
    }
    return a->n < b->n ? -1 : a->n > b->n;
}

bool ocl_labels_equal(const ocl_labels_t *a, const ocl_labels_t *b)
{
    if (a->n != b->n) return false;
    for (uint32_t i = 0; i < a->n; i++)
        if (!ocl_str_eq(a->v[i].name, b->v[i].name) || !ocl_str_eq(a->v[i].value, b->v[i].value))
            return false;
    return true;
}

uint64_t ocl_labels_hash(const ocl_labels_t *ls)
{
    XXH3_state_t st;
    static const unsigned char sep = 0xff;
    XXH3_64bits_reset(&st);
    for (uint32_t i = 0; i < ls->n; i++) {
        XXH3_64bits_update(&st, ls->v[i].name.p, ls->v[i].name.n);
        XXH3_64bits_update(&st, &sep, 1);
        XXH3_64bits_update(&st, ls->v[i].value.p, ls->v[i].value.n);
        XXH3_64bits_update(&st, &sep, 1);
    }
    return XXH3_64bits_digest(&st);
}

ocl_str_t ocl_labels_get(const ocl_labels_t *ls, ocl_str_t name)
{
    uint32_t lo = 0, hi = ls->n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        int c = str_cmp(ls->v[mid].name, name);
        if (c == 0) return ls->v[mid].value;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (ocl_str_t){"", 0};
}

ocl_labels_t ocl_labels_copy(ocl_arena_t *a, const ocl_labels_t *src)
{
    ocl_label_t *v = src->n ? ocl_arena_alloc(a, src->n * sizeof *v) : NULL;
    for (uint32_t i = 0; i < src->n; i++) {
        v[i].name.n = src->v[i].name.n;
        v[i].name.p = ocl_arena_strndup(a, src->v[i].name.p, src->v[i].name.n);
        v[i].value.n = src->v[i].value.n;
        v[i].value.p = ocl_arena_strndup(a, src->v[i].value.p, src->v[i].value.n);
    }
    return (ocl_labels_t){v, src->n};
}

/* Go's %q for printable UTF-8: escapes ", \ and control characters. */
static void put_quoted(ocl_buf_t *out, ocl_str_t s)
{
    ocl_buf_putc(out, '"');
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        switch (c) {
        case '"': ocl_buf_puts(out, "\\\""); break;
        case '\\': ocl_buf_puts(out, "\\\\"); break;
        case '\n': ocl_buf_puts(out, "\\n"); break;
        case '\t': ocl_buf_puts(out, "\\t"); break;
        case '\r': ocl_buf_puts(out, "\\r"); break;
        default:
            if (c < 0x20 || c == 0x7f)
                ocl_buf_printf(out, "\\x%02x", c);
            else
                ocl_buf_putc(out, (char)c);
        }
    }
    ocl_buf_putc(out, '"');
}

void ocl_labels_format(const ocl_labels_t *ls, ocl_buf_t *out)
{
    ocl_str_t name = ocl_labels_get(ls, OCL_STR(OCL_METRIC_NAME));
    if (name.n) ocl_buf_append(out, name.p, name.n);
    ocl_buf_putc(out, '{');
    int first = 1;
    for (uint32_t i = 0; i < ls->n; i++) {
        if (ocl_str_eq_c(ls->v[i].name, OCL_METRIC_NAME)) continue;
        if (!first) ocl_buf_puts(out, ", ");
        first = 0;
        if (ocl_label_name_valid(ls->v[i].name))
            ocl_buf_append(out, ls->v[i].name.p, ls->v[i].name.n);
        else
            put_quoted(out, ls->v[i].name);
        ocl_buf_putc(out, '=');
        put_quoted(out, ls->v[i].value);
    }
    ocl_buf_putc(out, '}');
}

static bool name_valid(ocl_str_t s, bool colon)
{
    if (s.n == 0) return false;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
        if (!ok) return false;
    }
    return true;
}

bool ocl_metric_name_valid(ocl_str_t s)
{
    return name_valid(s, true);
}

bool ocl_label_name_valid(ocl_str_t s)
{
    return name_valid(s, false);
}

/* ---- matchers ---- */

/* Per-thread match data, freed at thread exit by the key's destructor. */
static __thread pcre2_match_data *tl_md;
static pthread_key_t md_key;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_free(void *p)
{
    pcre2_match_data_free(p);
}
/* Shared, read-only match settings: a backtracking bound so that a
 * catastrophic pattern costs bounded CPU per value. A value that hits the
 * bound has no answer (neither =~ nor !~ match it) and sets the thread's
 * flag, which queries turn into an error (ocl_matcher_limit_take). */
static pcre2_match_context *match_ctx;
#define MATCH_LIMIT 100000
/* A match on this thread hit a PCRE2 resource limit since the last take. */
static __thread bool tl_limit_hit;

bool ocl_matcher_limit_take(void)
{
    bool hit = tl_limit_hit;
    tl_limit_hit = false;
    return hit;
}

static void md_key_init(void)
{
    pthread_key_create(&md_key, md_free);
    match_ctx = pcre2_match_context_create(NULL);
    if (match_ctx) pcre2_set_match_limit(match_ctx, MATCH_LIMIT);
}

int ocl_matcher_init(ocl_matcher_t *m, ocl_match_type_t type, ocl_str_t name, ocl_str_t value,
                     char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    m->type = type, m->name = name, m->value = value;
    if (type == OCL_MATCH_EQ || type == OCL_MATCH_NEQ) {
        m->matches_empty = (value.n == 0) == (type == OCL_MATCH_EQ);
        return 0;
    }
    /* Fully anchored, '.' matches newline: options rather than wrapping the
     * source as ^(?s:...)\z, so that a pattern such as "a)|(b" is a syntax
     * error (as in RE2) instead of escaping the group and its anchors. */
    int ecode;
    PCRE2_SIZE eoff;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)(value.p ? value.p : ""), (PCRE2_SIZE)value.n,
                                   PCRE2_UTF | PCRE2_DOTALL | PCRE2_ANCHORED | PCRE2_ENDANCHORED |
                                       PCRE2_DOLLAR_ENDONLY,
                                   &ecode, &eoff, NULL);
    if (!re) {
        if (err && errlen) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(ecode, msg, sizeof msg);
            snprintf(err, errlen, "error parsing regexp: %s: `%.*s`", (const char *)msg,
                     (int)OCL_MIN(value.n, 200), value.p ? value.p : "");
        }
        return OCL_EINVAL;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* best effort */
    m->re = re;
    /* ocl_matcher_match already applies the negation of !~ */
    bool was = ocl_matcher_limit_take();
    m->matches_empty = ocl_matcher_match(m, (ocl_str_t){"", 0});
    if (ocl_matcher_limit_take()) {
        if (err && errlen)
            snprintf(err, errlen, "regexp exceeds the match limit on the empty string: `%.*s`",
                     (int)OCL_MIN(value.n, 200), value.p ? value.p : "");
        pcre2_code_free(re);
        m->re = NULL;
        return OCL_EINVAL;
    }
    tl_limit_hit = was;
    return 0;
}

void ocl_matcher_dispose(ocl_matcher_t *m)
{
    if (m->re) pcre2_code_free(m->re);
    m->re = NULL;
}

bool ocl_matcher_match(const ocl_matcher_t *m, ocl_str_t value)
{
    switch (m->type) {
    case OCL_MATCH_EQ: return ocl_str_eq(m->value, value);
    case OCL_MATCH_NEQ: return !ocl_str_eq(m->value, value);
    default: break;
    }
    if (!tl_md) {
        tl_md = pcre2_match_data_create(1, NULL);
        if (!tl_md) abort();
        pthread_once(&md_once, md_key_init);
        pthread_setspecific(md_key, tl_md);
    }
    /* Invalid UTF-8 in a value is a non-match (PCRE2 checks it). */
    int rc = pcre2_match(m->re, (PCRE2_SPTR)(value.p ? value.p : ""), value.n, 0, 0, tl_md,
                         match_ctx);
    if (OCL_UNLIKELY(rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
                     rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT)) {
        tl_limit_hit = true;
        return false; /* no answer: the caller must report the error */
    }
    bool hit = rc >= 0;
    return m->type == OCL_MATCH_RE ? hit : !hit;
}

bool ocl_matcher_match_labels(const ocl_matcher_t *m, const ocl_labels_t *ls)
{
    return ocl_matcher_match(m, ocl_labels_get(ls, m->name));
}

const char *ocl_match_op_str(ocl_match_type_t t)
{
    switch (t) {
    case OCL_MATCH_EQ: return "=";
    case OCL_MATCH_NEQ: return "!=";
    case OCL_MATCH_RE: return "=~";
    case OCL_MATCH_NRE: return "!~";
    }
    return "?";
}

#include "wire/prom.h"

const char *ocl_metric_type_str(ocl_prom_type_t t)
{
    static const char *const names[] = {"unknown", "counter", "gauge", "histogram",
                                        "gaugehistogram", "summary", "info", "stateset"};
    return (unsigned)t < OCL_ARRAY_LEN(names) ? names[t] : "unknown";
}
