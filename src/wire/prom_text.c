/*
 * prom_text.c — Prometheus text exposition format 0.0.4 parser (see
 * prom_text.h for what is accepted and the ownership of the output).
 *
 * One pass over the lines. The output arrays are sized up front from the
 * number of newlines (an upper bound on the samples), so a scrape costs a
 * few arena blocks and no per-sample malloc. Families (HELP/TYPE) are kept
 * in a small open-addressing table keyed by name so that a sample finds its
 * family (and whether `le`/`quantile` need normalising) in O(1); the last
 * family is cached because samples of one family are consecutive.
 * Invariants: every error path returns through `fail` with the line number;
 * nothing outside [text, text+len) is read.
 */
#include "wire/prom_text.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <xxhash.h>

typedef struct {
    const ocl_prom_text_opts_t *o; /* limits and timestamps */
    ocl_arena_t *a;                /* output arena */
    size_t line;                   /* current line, 1-based */
    char *err;                     /* error message buffer */
    size_t errlen;                 /* its size */
    ocl_prom_series_t *series;     /* output series, capacity cap */
    ocl_sample_t *samples;         /* one sample per series */
    size_t n, cap;                 /* series used / allocated */
    ocl_prom_meta_t *meta;         /* families with HELP or TYPE */
    uint8_t *meta_flags;           /* per family: 1 = HELP seen, 2 = TYPE seen */
    size_t n_meta, cap_meta;       /* used / allocated */
    uint32_t *fam_tab;             /* hash table of meta index + 1 (0 = empty) */
    size_t fam_cap;                /* slots, a power of two */
    int32_t last_fam;              /* family of the previous sample, -1 if none */
    bool om;                       /* OpenMetrics 1.0 text (else 0.0.4) */
    bool eof;                      /* OpenMetrics: "# EOF" was seen */
    ocl_label_t *scratch;          /* labels of the current line */
    size_t scratch_cap;            /* its capacity */
} parser_t;

static int fail(parser_t *p, int rc, const char *fmt, ...)
{
    if (p->errlen) {
        int k = snprintf(p->err, p->errlen, "line %zu: ", p->line);
        if (k >= 0 && (size_t)k < p->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(p->err + k, p->errlen - (size_t)k, fmt, ap);
            va_end(ap);
        }
    }
    return rc;
}

/* ---- floats ---------------------------------------------------------------- */

static int ieq(const char *s, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    if (n != l) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
        if (c != lit[i]) return 0;
    }
    return 1;
}

/* Go's ParseFloat syntax for base-10 text: [+-] digits [. digits]
 * [e [+-] digits], or [+-]Inf/Infinity, or NaN (case-insensitive). */
static int parse_float(const char *s, size_t n, double *out)
{
    size_t i = 0;
    int neg = 0;
    if (n && (s[0] == '+' || s[0] == '-')) neg = s[0] == '-', i = 1;
    if (ieq(s + i, n - i, "inf") || ieq(s + i, n - i, "infinity")) {
        *out = neg ? -INFINITY : INFINITY;
        return 0;
    }
    if (i == 0 && ieq(s, n, "nan")) {
        *out = NAN;
        return 0;
    }
    size_t digits = 0;
    uint64_t iv = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        iv = iv * 10 + (uint64_t)(s[i] - '0'); /* exact while digits <= 15 */
        i++, digits++;
    }
    if (i == n && digits && digits <= 15) { /* the common case: an integer */
        *out = neg ? -(double)iv : (double)iv;
        return 0;
    }
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++, digits++;
    }
    if (!digits) return OCL_EINVAL;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        size_t ed = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++, ed++;
        if (!ed) return OCL_EINVAL;
    }
    if (i != n || n >= 128) return OCL_EINVAL;
    char buf[128];
    memcpy(buf, s, n);
    buf[n] = 0;
    *out = strtod(buf, NULL); /* out of range gives ±HUGE_VAL / 0, like Go's ±Inf */
    return 0;
}

/* A sample timestamp: integer milliseconds (text 0.0.4) or float seconds
 * (OpenMetrics, truncated to milliseconds as Prometheus does). */
static int parse_ts(bool om, const char *s, size_t n, int64_t *out)
{
    if (om) {
        double d;
        if (parse_float(s, n, &d) || !isfinite(d) || fabs(d) > 9.2e15) return OCL_EINVAL;
        *out = (int64_t)(d * 1000);
        return 0;
    }
    size_t i = 0;
    int neg = 0;
    if (n && (s[0] == '-' || s[0] == '+')) neg = s[0] == '-', i = 1;
    if (i == n || n - i > 18) return OCL_EINVAL; /* 18 digits cannot overflow */
    uint64_t t = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return OCL_EINVAL;
        t = t * 10 + (uint64_t)(s[i] - '0');
    }
    *out = neg ? -(int64_t)t : (int64_t)t;
    return 0;
}

size_t ocl_prom_format_float(double v, char *buf, size_t n)
{
    int k;
    if (isnan(v))
        k = snprintf(buf, n, "NaN");
    else if (isinf(v))
        k = snprintf(buf, n, v > 0 ? "+Inf" : "-Inf");
    else if (v == 0)
        k = snprintf(buf, n, signbit(v) ? "-0.0" : "0.0");
    else {
        /* Shortest digits that read back exactly, laid out like Go's
         * FormatFloat(v, 'g', -1, 64): exponent form when exp < -4 or
         * exp >= 6 (Go's precision for shortest output). */
        char e[40];
        int prec = 1;
        for (; prec <= 17; prec++) {
            snprintf(e, sizeof e, "%.*e", prec - 1, v);
            if (strtod(e, NULL) == v) break;
        }
        int exp = atoi(strchr(e, 'e') + 1), eprec = 6;
        if (exp < -4 || exp >= eprec) {
            /* d.ddde±XX */
            k = snprintf(buf, n, "%.*e", prec - 1, v);
        } else {
            int dec = prec - 1 - exp;
            k = snprintf(buf, n, "%.*f", dec > 0 ? dec : 0, v);
            if (k > 0 && (size_t)k + 2 < n && !strchr(buf, '.')) {
                memcpy(buf + k, ".0", 3);
                k += 2;
            }
        }
    }
    return k > 0 ? (size_t)k : 0;
}

/* ---- lexing helpers -------------------------------------------------------- */

static inline int is_blank(char c)
{
    return c == ' ' || c == '\t';
}
static inline int name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
static inline int name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9');
}

/* A legacy name at s[*i]: metric names allow ':', label names do not. */
static ocl_str_t lex_name(const char *s, size_t e, size_t *i, int colon)
{
    size_t st = *i;
    if (st < e && name_start(s[st]) && (colon || s[st] != ':')) {
        size_t j = st + 1;
        while (j < e && name_char(s[j]) && (colon || s[j] != ':'))
            j++;
        *i = j;
        return (ocl_str_t){s + st, j - st};
    }
    return OCL_STR_NULL;
}

/* A quoted string at s[*i] == '"' with escapes \\ \" \n; decoded into the
 * arena only if it has escapes. */
static int lex_quoted(parser_t *p, const char *s, size_t e, size_t *i, ocl_str_t *out)
{
    size_t j = *i + 1, esc = 0;
    while (j < e && s[j] != '"') {
        if (s[j] == '\\') {
            /* A backslash ending the line: unterminated (breaking out with
             * j < e used to end the string at the backslash and accept
             * e.g. `# HELP "name\` with the name "name"). */
            if (j + 1 >= e) {
                j = e;
                break;
            }
            char c = s[j + 1];
            if (c != '\\' && c != '"' && c != 'n')
                return fail(p, OCL_EINVAL, "invalid escape sequence \"\\%c\" in a quoted string",
                            (c >= 0x20 && c < 0x7f) ? c : '?');
            esc++;
            j += 2;
            continue;
        }
        j++;
    }
    if (j >= e) return fail(p, OCL_EINVAL, "unterminated quoted string");
    const char *st = s + *i + 1;
    size_t n = (size_t)(s + j - st);
    *i = j + 1;
    if (!ocl_utf8_valid(st, n)) return fail(p, OCL_EUTF8, "invalid UTF-8 in a quoted string");
    if (!esc) {
        *out = (ocl_str_t){st, n};
        return 0;
    }
    char *d = ocl_arena_alloc(p->a, n - esc + 1), *w = d;
    for (size_t k = 0; k < n; k++) {
        if (st[k] == '\\') {
            k++;
            *w++ = st[k] == 'n' ? '\n' : st[k];
        } else {
            *w++ = st[k];
        }
    }
    *out = (ocl_str_t){d, (size_t)(w - d)};
    return 0;
}

/* ---- families ---------------------------------------------------------------- */

static uint64_t str_hash(ocl_str_t s)
{
    return XXH3_64bits(s.p, s.n);
}

static int32_t fam_find(parser_t *p, ocl_str_t name)
{
    if (!p->fam_cap) return -1;
    size_t mask = p->fam_cap - 1;
    for (size_t h = (size_t)str_hash(name) & mask;; h = (h + 1) & mask) {
        uint32_t v = p->fam_tab[h];
        if (!v) return -1;
        if (ocl_str_eq(p->meta[v - 1].family, name)) return (int32_t)(v - 1);
    }
}

static void fam_insert_slot(parser_t *p, uint32_t idx)
{
    size_t mask = p->fam_cap - 1;
    size_t h = (size_t)str_hash(p->meta[idx].family) & mask;
    while (p->fam_tab[h])
        h = (h + 1) & mask;
    p->fam_tab[h] = idx + 1;
}

static int32_t fam_get(parser_t *p, ocl_str_t name)
{
    int32_t f = fam_find(p, name);
    if (f >= 0) return f;
    if (p->n_meta == p->cap_meta) {
        size_t nc = p->cap_meta ? p->cap_meta * 2 : 16;
        p->meta =
            ocl_arena_realloc(p->a, p->meta, p->cap_meta * sizeof *p->meta, nc * sizeof *p->meta);
        p->meta_flags = ocl_arena_realloc(p->a, p->meta_flags, p->cap_meta, nc);
        p->cap_meta = nc;
    }
    uint32_t idx = (uint32_t)p->n_meta++;
    p->meta[idx] = (ocl_prom_meta_t){.family = name, .type = OCL_PT_UNKNOWN};
    p->meta_flags[idx] = 0;
    if (p->n_meta * 2 > p->fam_cap) {
        size_t nc = p->fam_cap ? p->fam_cap * 2 : 32;
        p->fam_tab = ocl_arena_calloc(p->a, nc * sizeof *p->fam_tab);
        p->fam_cap = nc;
        for (uint32_t k = 0; k < p->n_meta; k++)
            fam_insert_slot(p, k);
    } else {
        fam_insert_slot(p, idx);
    }
    return (int32_t)idx;
}

/* The family of a sample called `name` and which part of it the sample is:
 * 0 = the family's own name, 1 = _bucket, 2 = _sum/_count/_created. */
static int32_t sample_family(parser_t *p, ocl_str_t name, int *part)
{
    *part = 0;
    if (!p->n_meta) return -1;
    if (p->last_fam >= 0 && ocl_str_eq(p->meta[p->last_fam].family, name)) return p->last_fam;
    static const struct {
        const char *s; /* suffix */
        size_t n;      /* its length */
        int part;      /* 1 = bucket, 2 = sum/count/created */
    } suf[] = {{"_bucket", 7, 1}, {"_count", 6, 2}, {"_sum", 4, 2},    {"_created", 8, 2},
               {"_total", 6, 3},  {"_info", 5, 3},  {"_gcount", 7, 2}, {"_gsum", 5, 2}};
    for (size_t k = 0; k < OCL_ARRAY_LEN(suf); k++) {
        if (name.n > suf[k].n && !memcmp(name.p + name.n - suf[k].n, suf[k].s, suf[k].n)) {
            ocl_str_t base = {name.p, name.n - suf[k].n};
            int32_t f = (p->last_fam >= 0 && ocl_str_eq(p->meta[p->last_fam].family, base))
                            ? p->last_fam
                            : fam_find(p, base);
            if (f >= 0) {
                ocl_prom_type_t t = p->meta[f].type;
                int ok = suf[k].part == 3 ? (t == OCL_PT_COUNTER && suf[k].s[1] == 't') ||
                                                (t == OCL_PT_INFO && suf[k].s[1] == 'i')
                                          : t == OCL_PT_HISTOGRAM || t == OCL_PT_GAUGEHISTOGRAM ||
                                                ((t == OCL_PT_SUMMARY || t == OCL_PT_COUNTER) &&
                                                 suf[k].part == 2 && suf[k].s[1] != 'g');
                if (ok) {
                    *part = suf[k].part;
                    return p->last_fam = f;
                }
            }
        }
    }
    int32_t f = fam_find(p, name);
    if (f >= 0) p->last_fam = f;
    return f;
}

/* ---- lines ------------------------------------------------------------------ */

static int comment_line(parser_t *p, const char *s, size_t i, size_t e)
{
    i++; /* '#' */
    while (i < e && is_blank(s[i]))
        i++;
    size_t w = i;
    while (i < e && !is_blank(s[i]))
        i++;
    int help = i - w == 4 && !memcmp(s + w, "HELP", 4);
    int type = i - w == 4 && !memcmp(s + w, "TYPE", 4);
    int unit = p->om && i - w == 4 && !memcmp(s + w, "UNIT", 4);
    if (p->om && i - w == 3 && !memcmp(s + w, "EOF", 3)) {
        while (i < e && is_blank(s[i]))
            i++;
        if (i < e) return 0;
        p->eof = true;
        return 0;
    }
    if (!help && !type && !unit) return 0; /* a plain comment */
    if (i == e || !is_blank(s[i])) return 0;
    while (i < e && is_blank(s[i]))
        i++;
    ocl_str_t name;
    const char *what = help ? "HELP" : type ? "TYPE" : "UNIT";
    if (i < e && s[i] == '"') {
        int rc = lex_quoted(p, s, e, &i, &name);
        if (rc) return rc;
        if (!name.n) return fail(p, OCL_EINVAL, "empty metric name in %s", what);
    } else {
        name = lex_name(s, e, &i, 1);
        if (!name.n) return fail(p, OCL_EINVAL, "invalid metric name in %s", what);
    }
    if (i < e && !is_blank(s[i])) return fail(p, OCL_EINVAL, "invalid metric name in %s", what);
    while (i < e && is_blank(s[i]))
        i++;
    int32_t f = fam_get(p, name);
    ocl_prom_meta_t *m = &p->meta[f];
    char nb[64];
    snprintf(nb, sizeof nb, "%.*s", (int)OCL_MIN(name.n, 48), name.p);
    if (unit) {
        if (p->meta_flags[f] & 4) return fail(p, OCL_EINVAL, "second UNIT line for metric %s", nb);
        p->meta_flags[f] |= 4;
        size_t u0 = i;
        while (i < e && !is_blank(s[i]))
            i++;
        m->unit = (ocl_str_t){s + u0, i - u0};
        while (i < e && is_blank(s[i]))
            i++;
        if (i < e) return fail(p, OCL_EINVAL, "invalid UNIT line");
        if (!ocl_utf8_valid(m->unit.p, m->unit.n))
            return fail(p, OCL_EUTF8, "invalid UTF-8 in UNIT");
        return 0;
    }
    if (help) {
        if (p->meta_flags[f] & 1) return fail(p, OCL_EINVAL, "second HELP line for metric %s", nb);
        p->meta_flags[f] |= 1;
        const char *h = s + i;
        size_t hn = e - i;
        if (!ocl_utf8_valid(h, hn)) return fail(p, OCL_EUTF8, "invalid UTF-8 in HELP");
        if (memchr(h, '\\', hn)) {
            char *d = ocl_arena_alloc(p->a, hn + 1), *o = d;
            for (size_t k = 0; k < hn; k++) {
                if (h[k] == '\\' && k + 1 < hn &&
                    (h[k + 1] == '\\' || h[k + 1] == 'n' || (p->om && h[k + 1] == '"'))) {
                    *o++ = h[k + 1] == 'n' ? '\n' : h[k + 1];
                    k++;
                } else {
                    *o++ = h[k];
                }
            }
            m->help = (ocl_str_t){d, (size_t)(o - d)};
        } else {
            m->help = (ocl_str_t){h, hn};
        }
        return 0;
    }
    if (p->meta_flags[f] & 2) return fail(p, OCL_EINVAL, "second TYPE line for metric %s", nb);
    p->meta_flags[f] |= 2;
    size_t t0 = i;
    while (i < e && !is_blank(s[i]))
        i++;
    size_t tn = i - t0;
    while (i < e && is_blank(s[i]))
        i++;
    static const struct {
        const char *s;     /* type word */
        ocl_prom_type_t t; /* its type */
        int fmt;           /* 1 = text 0.0.4, 2 = OpenMetrics, 3 = both */
    } types[] = {{"counter", OCL_PT_COUNTER, 3},
                 {"gauge", OCL_PT_GAUGE, 3},
                 {"histogram", OCL_PT_HISTOGRAM, 3},
                 {"summary", OCL_PT_SUMMARY, 3},
                 {"untyped", OCL_PT_UNKNOWN, 1},
                 {"unknown", OCL_PT_UNKNOWN, 2},
                 {"gaugehistogram", OCL_PT_GAUGEHISTOGRAM, 2},
                 {"info", OCL_PT_INFO, 2},
                 {"stateset", OCL_PT_STATESET, 2}};
    for (size_t k = 0; k < OCL_ARRAY_LEN(types); k++) {
        if (!(types[k].fmt & (p->om ? 2 : 1))) continue;
        if (tn == strlen(types[k].s) && !memcmp(s + t0, types[k].s, tn) && i == e) {
            m->type = types[k].t;
            return 0;
        }
    }
    char tb[40];
    snprintf(tb, sizeof tb, "%.*s", (int)OCL_MIN(tn, 32), s + t0);
    for (char *c = tb; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f) *c = '?';
    return fail(p, OCL_EINVAL, "invalid metric type \"%s\"", tb);
}

static void scratch_push(parser_t *p, size_t *n, ocl_str_t name, ocl_str_t value)
{
    if (*n == p->scratch_cap) {
        size_t nc = p->scratch_cap * 2;
        p->scratch = ocl_arena_realloc(p->a, p->scratch, p->scratch_cap * sizeof *p->scratch,
                                       nc * sizeof *p->scratch);
        p->scratch_cap = nc;
    }
    p->scratch[(*n)++] = (ocl_label_t){name, value};
}

/* Rewrites the value of label `lname` as an OpenMetrics float if it is a
 * number that is not already in that form. */
static void normalize_float_label(parser_t *p, size_t n, const char *lname)
{
    for (size_t k = 0; k < n; k++) {
        if (!ocl_str_eq_c(p->scratch[k].name, lname)) continue;
        ocl_str_t v = p->scratch[k].value;
        double d;
        if (parse_float(v.p, v.n, &d)) return;
        char b[40];
        size_t bn = ocl_prom_format_float(d, b, sizeof b);
        if (bn == v.n && !memcmp(b, v.p, bn)) return;
        p->scratch[k].value = (ocl_str_t){ocl_arena_strndup(p->a, b, bn), bn};
        return;
    }
}

static int sample_line(parser_t *p, const char *s, size_t i, size_t e)
{
    const ocl_prom_text_opts_t *o = p->o;
    ocl_str_t name = OCL_STR_NULL;
    size_t n = 0;
    int rc;
    if (s[i] != '{') {
        name = lex_name(s, e, &i, 1);
        if (!name.n) return fail(p, OCL_EINVAL, "invalid metric name");
        size_t j = i;
        while (j < e && is_blank(s[j]))
            j++;
        if (j < e && s[j] == '{') i = j; /* "name {labels}" */
    }
    if (i < e && s[i] == '{') {
        i++;
        for (;;) {
            while (i < e && is_blank(s[i]))
                i++;
            if (i < e && s[i] == '}') {
                i++;
                break;
            }
            ocl_str_t ln;
            int quoted = i < e && s[i] == '"';
            if (quoted) {
                if ((rc = lex_quoted(p, s, e, &i, &ln))) return rc;
            } else {
                ln = lex_name(s, e, &i, 0);
                if (!ln.n) return fail(p, OCL_EINVAL, "invalid label name");
            }
            while (i < e && is_blank(s[i]))
                i++;
            if (quoted && (i >= e || s[i] == ',' || s[i] == '}')) {
                /* {"metric.name", ...}: the metric name inside the braces */
                if (name.p) return fail(p, OCL_EINVAL, "metric name given twice");
                if (!ln.n) return fail(p, OCL_EINVAL, "empty metric name");
                name = ln;
            } else {
                if (!ln.n) return fail(p, OCL_EINVAL, "empty label name");
                if (i >= e || s[i] != '=')
                    return fail(p, OCL_EINVAL, "expected '=' after label name");
                i++;
                while (i < e && is_blank(s[i]))
                    i++;
                if (i >= e || s[i] != '"')
                    return fail(p, OCL_EINVAL, "expected a quoted label value");
                ocl_str_t lv;
                if ((rc = lex_quoted(p, s, e, &i, &lv))) return rc;
                if (o->label_name_len && ln.n > o->label_name_len)
                    return fail(p, OCL_EINVAL, "label name longer than label_name_length_limit %u",
                                o->label_name_len);
                if (o->label_value_len && lv.n > o->label_value_len)
                    return fail(p, OCL_EINVAL,
                                "label value longer than label_value_length_limit %u",
                                o->label_value_len);
                scratch_push(p, &n, ln, lv);
            }
            while (i < e && is_blank(s[i]))
                i++;
            if (i < e && s[i] == ',') {
                i++;
                continue;
            }
            if (i < e && s[i] == '}') {
                i++;
                break;
            }
            return fail(p, OCL_EINVAL, "expected ',' or '}' in the label set");
        }
    }
    if (!name.p) return fail(p, OCL_EINVAL, "sample without a metric name");
    if (i >= e || !is_blank(s[i])) return fail(p, OCL_EINVAL, "expected a blank and a value");
    while (i < e && is_blank(s[i]))
        i++;
    size_t v0 = i;
    while (i < e && !is_blank(s[i]))
        i++;
    double v;
    if (parse_float(s + v0, i - v0, &v)) {
        char vb[40];
        snprintf(vb, sizeof vb, "%.*s", (int)OCL_MIN(i - v0, 32), s + v0);
        for (char *c = vb; *c; c++)
            if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f || *c == '"') *c = '?';
        return fail(p, OCL_EINVAL, "invalid value \"%s\"", vb);
    }
    while (i < e && is_blank(s[i]))
        i++;
    int64_t ts = o->default_ts;
    if (i < e && !(p->om && s[i] == '#')) {
        size_t t0 = i;
        while (i < e && !is_blank(s[i]))
            i++;
        int64_t got;
        if (parse_ts(p->om, s + t0, i - t0, &got)) {
            char tb[40];
            snprintf(tb, sizeof tb, "%.*s", (int)OCL_MIN(i - t0, 32), s + t0);
            for (char *c = tb; *c; c++)
                if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f || *c == '"') *c = '?';
            return fail(p, OCL_EINVAL, "invalid timestamp \"%s\"", tb);
        }
        while (i < e && is_blank(s[i]))
            i++;
        if (!o->ignore_timestamps) ts = got;
    }
    if (i < e && p->om && s[i] == '#') {
        /* An exemplar: "# {labels} value [timestamp]"; checked, not kept. */
        i++;
        while (i < e && is_blank(s[i]))
            i++;
        if (i >= e || s[i] != '{') return fail(p, OCL_EINVAL, "invalid exemplar");
        while (i < e && s[i] != '}') {
            if (s[i] == '"') {
                ocl_str_t skip;
                if ((rc = lex_quoted(p, s, e, &i, &skip))) return rc;
            } else {
                i++;
            }
        }
        if (i >= e) return fail(p, OCL_EINVAL, "invalid exemplar");
        i = e;
    }
    if (i < e) return fail(p, OCL_EINVAL, "unexpected text after the timestamp");
    if (o->sample_limit && p->n >= o->sample_limit)
        return fail(p, OCL_ETOOBIG, "sample_limit exceeded (%u)", o->sample_limit);

    /* Labels: the name, then sort, reject duplicates, drop empty values. */
    scratch_push(p, &n, OCL_STR(OCL_METRIC_NAME), name);
    int part;
    int32_t f = sample_family(p, name, &part);
    if (f >= 0) {
        ocl_prom_type_t t = p->meta[f].type;
        if (part == 1) normalize_float_label(p, n, "le");
        if (part == 0 && t == OCL_PT_SUMMARY) normalize_float_label(p, n, "quantile");
    }
    ocl_labels_sort(p->scratch, (uint32_t)n);
    size_t kept = 0;
    for (size_t k = 0; k < n; k++) {
        if (k && ocl_str_eq(p->scratch[k].name, p->scratch[k - 1].name)) {
            ocl_str_t d = p->scratch[k].name;
            char nb[64];
            snprintf(nb, sizeof nb, "%.*s", (int)OCL_MIN(d.n, 48), d.p);
            for (char *c = nb; *c; c++)
                if ((unsigned char)*c < 0x20 || *c == '"') *c = '?';
            return fail(p, OCL_EINVAL, "duplicate label name \"%s\"", nb);
        }
        if (p->scratch[k].value.n) kept++;
    }
    if (o->label_limit && kept > o->label_limit)
        return fail(p, OCL_EINVAL, "more than label_limit %u labels", o->label_limit);
    ocl_label_t *ls = ocl_arena_alloc(p->a, kept * sizeof *ls);
    size_t w = 0;
    for (size_t k = 0; k < n; k++)
        if (p->scratch[k].value.n) ls[w++] = p->scratch[k];
    p->samples[p->n] = (ocl_sample_t){ts, v};
    p->series[p->n] = (ocl_prom_series_t){{ls, (uint32_t)kept}, &p->samples[p->n], 1};
    p->n++;
    return 0;
}

int ocl_prom_text_parse(const char *text, size_t len, const ocl_prom_text_opts_t *opts,
                        ocl_arena_t *a, ocl_prom_batch_t *out, char *err, size_t errlen)
{
    static const ocl_prom_text_opts_t none = {0};
    parser_t p;
    memset(&p, 0, sizeof p);
    p.o = opts ? opts : &none;
    p.a = a;
    p.err = err;
    p.errlen = errlen;
    p.last_fam = -1;
    p.om = p.o->openmetrics;
    memset(out, 0, sizeof *out);
    if (errlen) err[0] = 0;
    size_t max_line = p.o->max_line ? p.o->max_line : OCL_PROM_TEXT_MAX_LINE_DEFAULT;

    size_t lines = 1;
    for (const char *q = text, *end = text + len; q < end;) {
        const char *nl = memchr(q, '\n', (size_t)(end - q));
        if (!nl) break;
        lines++;
        q = nl + 1;
    }
    p.cap = lines;
    if (p.o->sample_limit && p.cap > (size_t)p.o->sample_limit + 1) p.cap = p.o->sample_limit + 1;
    p.series = ocl_arena_alloc(a, p.cap * sizeof *p.series);
    p.samples = ocl_arena_alloc(a, p.cap * sizeof *p.samples);
    p.scratch_cap = 16;
    p.scratch = ocl_arena_alloc(a, p.scratch_cap * sizeof *p.scratch);

    int rc = 0;
    size_t pos = 0;
    while (pos < len) {
        p.line++;
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t e = nl ? (size_t)(nl - text) : len;
        size_t next = nl ? e + 1 : len;
        if (e - pos > max_line) {
            rc = fail(&p, OCL_ETOOBIG, "line longer than %zu bytes", max_line);
            goto done;
        }
        if (e > pos && text[e - 1] == '\r') e--;
        size_t i = pos;
        while (i < e && is_blank(text[i]))
            i++;
        if (i < e) {
            if (p.eof) {
                rc = fail(&p, OCL_EINVAL, "unexpected content after # EOF");
                goto done;
            }
            if (memchr(text + i, 0, e - i)) {
                rc = fail(&p, OCL_EINVAL, "NUL byte in the exposition");
                goto done;
            }
            rc = text[i] == '#' ? comment_line(&p, text, i, e) : sample_line(&p, text, i, e);
            if (rc) goto done;
        }
        pos = next;
    }
    if (p.om && !p.eof) {
        p.line++;
        rc = fail(&p, OCL_EINVAL, "missing # EOF at the end of an OpenMetrics exposition");
        goto done;
    }
    out->series = p.series;
    out->n_series = p.n;
    out->meta = p.meta;
    out->n_meta = p.n_meta;
done:
    return rc;
}
