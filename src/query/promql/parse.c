/*
 * parse.c — PromQL parser: tokens (lexer.c) → arena-allocated syntax tree
 * (ast.h), then the type check (parse_check.c).
 *
 * A precedence-climbing parser reproducing Prometheus's yacc grammar:
 * binary precedence or < and/unless < comparisons < +,- < *,/,%,atan2 < ^
 * (right-associative); unary +/- binds like * (so -2^2 = -(2^2) and
 * -a*b = (-a)*b) and folds into number literals; the postfix modifiers
 * [range], [range:step], offset and @ bind tightest, to the primary
 * expression just before them. Syntax errors name the unexpected token the
 * way Prometheus does ("unexpected <op:*>", "unexpected identifier \"b\" in
 * label matching, expected string"); the first error wins.
 * Duration expressions (x[5m+1m], offset (1h/2), min_of/max_of, step(),
 * range()) are kept as ocl_pql_dur_t trees for printing; constant ones are
 * also folded into the *_ms fields here, the others are evaluated per query.
 * Limits: nesting depth OCL_PQL_MAX_DEPTH (clean error, bounded stack), and
 * at most OCL_PQL_MAX_DEPTH nodes per duration expression.
 * Tuned for short queries parsed once per request.
 */
#include "query/promql/parse_internal.h"
#include "query/promql/parse_priv.h"
#include "query/promql/promql.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void ocl_pql_errorf(ocl_pql_parser_t *p, uint32_t pos, const char *fmt, ...)
{
    if (p->failed) return;
    p->failed = true;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p->n == 0) {
        snprintf(p->err, p->errlen, "unknown position: parse error: %s", msg);
        return;
    }
    if (pos > p->n) pos = p->n;
    uint32_t line = 1, last_nl = 0;
    bool seen_nl = false;
    for (uint32_t i = 0; i < pos; i++)
        if (p->q[i] == '\n') line++, last_nl = i, seen_nl = true;
    uint32_t col = seen_nl ? pos - last_nl : pos + 1;
    snprintf(p->err, p->errlen, "%u:%u: parse error: %s", line, col, msg);
}

static ocl_pql_tok_t *peek(ocl_pql_parser_t *p)
{
    return &p->toks.v[p->i];
}
static ocl_pql_tok_t *peek2(ocl_pql_parser_t *p)
{
    return p->i + 1 < p->toks.n ? &p->toks.v[p->i + 1] : &p->toks.v[p->i];
}
static ocl_pql_tok_t *next(ocl_pql_parser_t *p)
{
    ocl_pql_tok_t *t = &p->toks.v[p->i];
    if (p->i + 1 < p->toks.n) p->i++;
    return t;
}

/* "unexpected <token>[ in <context>][, expected <expected>]" at the current
 * token; a lexer error token reports its own message instead. */
static void unexpected(ocl_pql_parser_t *p, const char *context, const char *expected)
{
    ocl_pql_tok_t *t = peek(p);
    if (t->type == OCL_TOK_ERROR) {
        ocl_pql_errorf(p, t->pos, "%s", t->msg);
        return;
    }
    char d[300];
    ocl_pql_tok_desc(p->q, t, d, sizeof d);
    ocl_pql_errorf(p, t->pos, "unexpected %s%s%s%s%s", d, context ? " in " : "",
                   context ? context : "", expected ? ", expected " : "", expected ? expected : "");
}

static ocl_pql_node_t *new_node(ocl_pql_parser_t *p, ocl_pql_kind_t kind, uint32_t pos,
                                uint32_t end)
{
    ocl_pql_node_t *n = ocl_arena_calloc(p->a, sizeof *n);
    n->kind = kind;
    n->pos = pos;
    n->end = end;
    n->depth = 1;
    return n;
}

/* Sets n->depth from a child; fails the parse past OCL_PQL_MAX_DEPTH. */
static void child_depth(ocl_pql_parser_t *p, ocl_pql_node_t *n, const ocl_pql_node_t *c)
{
    if (c && c->depth + 1 > n->depth) n->depth = (uint16_t)(c->depth + 1);
    if (n->depth > OCL_PQL_MAX_DEPTH)
        ocl_pql_errorf(p, n->pos, "expression nesting exceeds the maximum depth of %d",
                       OCL_PQL_MAX_DEPTH);
}

static ocl_pql_node_t *parse_expr(ocl_pql_parser_t *p, int min_prec);

/* ---- numbers, strings, durations ---- */

static double parse_number_text(ocl_pql_parser_t *p, const ocl_pql_tok_t *t)
{
    const char *s = p->q + t->pos;
    char *buf = ocl_arena_alloc(p->a, (size_t)t->len + 1);
    size_t k = 0;
    if (t->len == 3 && (!strncasecmp(s, "inf", 3))) return INFINITY;
    if (t->len == 3 && (!strncasecmp(s, "nan", 3))) return NAN;
    for (uint32_t i = 0; i < t->len; i++)
        if (s[i] != '_') buf[k++] = s[i];
    buf[k] = 0;
    bool ok = k > 0 && s[t->len - 1] != '_';
    double v = 0;
    if (ok && k > 2 && buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X')) {
        char *e;
        if (strchr(buf, '.'))
            ok = false;
        else {
            v = strtod(buf, &e); /* hex integer; strtod keeps large values */
            ok = *e == 0;
        }
    } else if (ok && k > 1 && buf[0] == '0' && strspn(buf, "01234567") == k) {
        v = (double)strtoull(buf, NULL, 8);
    } else if (ok) {
        char *e;
        v = strtod(buf, &e);
        ok = *e == 0 && !strpbrk(buf, "xXpPiInN");
        if (ok && isinf(v)) {
            ocl_buf_t b;
            ocl_buf_init(&b);
            ocl_pql_quote(&b, s, t->len);
            ocl_pql_errorf(
                p, t->pos,
                "error parsing number: strconv.ParseFloat: parsing %.*s: value out of range",
                (int)OCL_MIN(b.len, 200), (const char *)b.p);
            ocl_buf_dispose(&b);
            return v;
        }
    }
    if (!ok) {
        ocl_buf_t b;
        ocl_buf_init(&b);
        ocl_pql_quote(&b, s, t->len);
        ocl_pql_errorf(p, t->pos,
                       "error parsing number: strconv.ParseFloat: parsing %.*s: invalid syntax",
                       (int)OCL_MIN(b.len, 200), (const char *)b.p);
        ocl_buf_dispose(&b);
    }
    return v;
}

/* Value in seconds of a NUMBER or DURATION token. */
static double number_or_duration(ocl_pql_parser_t *p, const ocl_pql_tok_t *t)
{
    if (t->type == OCL_TOK_NUMBER) return parse_number_text(p, t);
    int64_t ms = 0;
    char err[256];
    if (ocl_pql_parse_duration(p->q + t->pos, t->len, &ms, err, sizeof err) != 0)
        ocl_pql_errorf(p, t->pos, "%s", err);
    return (double)ms / 1000.0;
}

static ocl_str_t unquote_tok(ocl_pql_parser_t *p, const ocl_pql_tok_t *t)
{
    ocl_str_t s = {0};
    char err[64];
    if (ocl_pql_unquote(p->a, p->q + t->pos, t->len, &s, err, sizeof err) != 0) {
        ocl_buf_t b;
        ocl_buf_init(&b);
        ocl_pql_quote(&b, p->q + t->pos, t->len);
        ocl_pql_errorf(p, t->pos, "error unquoting string %.*s: %s", (int)OCL_MIN(b.len, 200),
                       (const char *)b.p, err);
        ocl_buf_dispose(&b);
        s = (ocl_str_t){"", 0};
    }
    return s;
}

/* ---- duration expressions (trees; constants folded by the caller) ---- */

static ocl_pql_dur_t *dur_expr(ocl_pql_parser_t *p, int min_prec, const char *context,
                               const char *expected);

#define DUR_EXPECTED "number, duration, step(), or range()"

static int dur_prec(ocl_pql_tok_type_t t)
{
    switch (t) {
    case OCL_TOK_ADD:
    case OCL_TOK_SUB:
        return 1;
    case OCL_TOK_MUL:
    case OCL_TOK_DIV:
    case OCL_TOK_MOD:
        return 2;
    case OCL_TOK_POW:
        return 3;
    default:
        return -1;
    }
}

static ocl_pql_dur_t *dur_new(ocl_pql_parser_t *p, ocl_pql_dur_kind_t kind)
{
    /* bounds every recursive walk over duration trees */
    if (++p->dur_nodes > OCL_PQL_MAX_DEPTH)
        ocl_pql_errorf(p, peek(p)->pos, "expression nesting exceeds the maximum depth of %d",
                       OCL_PQL_MAX_DEPTH);
    ocl_pql_dur_t *d = ocl_arena_calloc(p->a, sizeof *d);
    d->kind = kind;
    d->is_const = kind != OCL_PQL_DUR_STEP && kind != OCL_PQL_DUR_RANGE;
    return d;
}

/* Seconds fit Prometheus's int64-nanosecond durations. */
static bool dur_in_range(double s)
{
    return s <= 9223372036.854775807 && s >= -9223372036.854775808;
}

/* The value of a constant subtree in seconds (no step()/range()). */
static double dur_const_value(const ocl_pql_dur_t *d)
{
    int64_t ms = 0;
    char err[64];
    if (ocl_pql_dur_eval(d, 0, 0, &ms, err, sizeof err) != 0) return NAN;
    return (double)ms / 1000.0;
}

/* name(a, b) for min_of/max_of. */
static ocl_pql_dur_t *dur_minmax(ocl_pql_parser_t *p, ocl_pql_dur_kind_t kind)
{
    next(p), next(p); /* name ( */
    ocl_pql_dur_t *d = dur_new(p, kind);
    if (!(d->lhs = dur_expr(p, 0, "duration expression", DUR_EXPECTED))) return NULL;
    if (peek(p)->type != OCL_TOK_COMMA) {
        unexpected(p, "duration expression", "\",\"");
        return NULL;
    }
    next(p);
    if (!(d->rhs = dur_expr(p, 0, "duration expression", DUR_EXPECTED))) return NULL;
    if (peek(p)->type != OCL_TOK_RPAREN) {
        unexpected(p, "duration expression", "\")\"");
        return NULL;
    }
    next(p);
    d->is_const = d->lhs->is_const && d->rhs->is_const;
    return d;
}

static bool is_minmax(ocl_pql_parser_t *p, const ocl_pql_tok_t *t, bool *is_min)
{
    if (peek2(p)->type != OCL_TOK_LPAREN) return false;
    if (t->type == OCL_TOK_MIN || t->type == OCL_TOK_MAX) {
        *is_min = t->type == OCL_TOK_MIN;
        return true;
    }
    if (t->type == OCL_TOK_IDENT && t->len == 6 &&
        (!strncmp(p->q + t->pos, "min_of", 6) || !strncmp(p->q + t->pos, "max_of", 6))) {
        *is_min = p->q[t->pos + 1] == 'i';
        return true;
    }
    return false;
}

/* An operand: literal, (expr), unary +/-, step(), range(), min_of/max_of. */
static ocl_pql_dur_t *dur_primary(ocl_pql_parser_t *p, const char *context, const char *expected)
{
    if (++p->depth > OCL_PQL_MAX_DEPTH) {
        ocl_pql_errorf(p, peek(p)->pos, "expression nesting exceeds the maximum depth of %d",
                       OCL_PQL_MAX_DEPTH);
        return NULL;
    }
    ocl_pql_dur_t *d = NULL;
    ocl_pql_tok_t *t = peek(p);
    bool is_min = false;
    switch (t->type) {
    case OCL_TOK_NUMBER:
    case OCL_TOK_DURATION:
        next(p);
        d = dur_new(p, OCL_PQL_DUR_NUM);
        d->num = number_or_duration(p, t);
        d->is_duration = t->type == OCL_TOK_DURATION;
        if (!p->failed && !dur_in_range(d->num)) ocl_pql_errorf(p, t->pos, "duration out of range");
        break;
    case OCL_TOK_ADD:
    case OCL_TOK_SUB: {
        next(p);
        ocl_pql_dur_t *e = dur_expr(p, 3, context, expected); /* unary binds like * */
        if (!e) break;
        if (e->kind == OCL_PQL_DUR_NUM) {
            if (t->type == OCL_TOK_SUB) e->num = -e->num;
            d = e;
        } else if (t->type == OCL_TOK_SUB) {
            d = dur_new(p, OCL_PQL_DUR_UNARY);
            d->op = '-';
            d->rhs = e;
            d->is_const = e->is_const;
        } else
            d = e;
        break;
    }
    case OCL_TOK_LPAREN: {
        next(p);
        ocl_pql_dur_t *e = dur_expr(p, 0, "duration expression", DUR_EXPECTED);
        if (!e) break;
        if (peek(p)->type != OCL_TOK_RPAREN) {
            unexpected(p, "duration expression", "\")\"");
            break;
        }
        next(p);
        if (e->kind == OCL_PQL_DUR_NUM) {
            d = dur_new(p, OCL_PQL_DUR_UNARY);
            d->op = '+';
            d->rhs = e;
        } else
            d = e;
        d->wrapped = true;
        break;
    }
    case OCL_TOK_STEP:
    case OCL_TOK_RANGE:
        if (peek2(p)->type != OCL_TOK_LPAREN) {
            next(p);
            unexpected(p, context, expected);
            break;
        }
        next(p), next(p);
        if (peek(p)->type != OCL_TOK_RPAREN) {
            unexpected(p, "duration expression", "\")\"");
            break;
        }
        next(p);
        d = dur_new(p, t->type == OCL_TOK_STEP ? OCL_PQL_DUR_STEP : OCL_PQL_DUR_RANGE);
        break;
    default:
        if (is_minmax(p, t, &is_min)) {
            d = dur_minmax(p, is_min ? OCL_PQL_DUR_MIN : OCL_PQL_DUR_MAX);
            break;
        }
        unexpected(p, context, expected);
    }
    p->depth--;
    return p->failed ? NULL : d;
}

static ocl_pql_dur_t *dur_expr(ocl_pql_parser_t *p, int min_prec, const char *context,
                               const char *expected)
{
    ocl_pql_dur_t *lhs = dur_primary(p, context, expected);
    while (lhs) {
        ocl_pql_tok_t *t = peek(p);
        int prec = dur_prec(t->type);
        if (prec < 0 || prec < min_prec) break;
        next(p);
        ocl_pql_dur_t *rhs = dur_expr(p, t->type == OCL_TOK_POW ? prec : prec + 1,
                                      "duration expression", DUR_EXPECTED);
        if (!rhs) return NULL;
        ocl_pql_dur_t *d = dur_new(p, OCL_PQL_DUR_BINARY);
        d->op = p->q[t->pos];
        d->lhs = lhs;
        d->rhs = rhs;
        d->is_const = lhs->is_const && rhs->is_const;
        if ((d->op == '/' || d->op == '%') && rhs->is_const && dur_const_value(rhs) == 0) {
            ocl_pql_errorf(p, t->pos, d->op == '/' ? "division by zero" : "modulo by zero");
            return NULL;
        }
        lhs = d;
    }
    return lhs;
}

/* A duration in brackets or after offset. A bare literal gives only *ms;
 * an expression is also returned in *expr, with *ms its value when it is
 * constant (0 otherwise). `positive`: ranges and steps must be > 0. */
static bool parse_duration_value(ocl_pql_parser_t *p, ocl_pql_dur_t *d, uint32_t pos, bool positive,
                                 int64_t *ms, ocl_pql_dur_t **expr)
{
    *ms = 0;
    *expr = NULL;
    if (!d) return false;
    if (d->kind != OCL_PQL_DUR_NUM) *expr = d;
    if (!d->is_const) return true;
    char err[128];
    if (ocl_pql_dur_eval(d, 0, 0, ms, err, sizeof err) != 0) {
        ocl_pql_errorf(p, pos, "%s", err);
        return false;
    }
    if (positive && *ms <= 0) {
        ocl_pql_errorf(p, pos, "duration must be greater than 0");
        return false;
    }
    return true;
}

/* ---- label lists and matchers ---- */

/* Label names allowed unquoted in grouping lists: identifiers and keywords. */
static bool label_tok(const ocl_pql_tok_t *t)
{
    return t->type == OCL_TOK_IDENT || t->type >= OCL_TOK_AGG_FIRST ||
           (t->type >= OCL_TOK_LAND && t->type <= OCL_TOK_ATAN2);
}

static bool valid_utf8(ocl_str_t s)
{
    const unsigned char *u = (const unsigned char *)s.p;
    for (size_t i = 0; i < s.n;) {
        unsigned char c = u[i];
        size_t len = c < 0x80                 ? 1
                     : c >= 0xF0 && c <= 0xF4 ? 4
                     : c >= 0xE0              ? 3
                     : c >= 0xC2 && c < 0xE0  ? 2
                                              : 0;
        if (len == 0 || i + len > s.n) return false;
        uint32_t r = len == 1 ? c : (uint32_t)(c & (0x3F >> (len - 1)));
        for (size_t j = 1; j < len; j++) {
            if ((u[i + j] & 0xC0) != 0x80) return false;
            r = (r << 6) | (u[i + j] & 0x3F);
        }
        if ((len == 3 && r < 0x800) || (len == 4 && (r < 0x10000 || r > 0x10FFFF)) ||
            (r >= 0xD800 && r < 0xE000))
            return false;
        i += len;
    }
    return true;
}

/* Inf / NaN lex as numbers but are valid label names. */
static bool is_alpha_tok(ocl_pql_parser_t *p, const ocl_pql_tok_t *t)
{
    char c = p->q[t->pos];
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* ( label, ... ) — grouping labels of by/without/on/ignoring/group_x. */
static bool parse_label_list(ocl_pql_parser_t *p, ocl_str_t **out, uint32_t *n_out)
{
    if (peek(p)->type != OCL_TOK_LPAREN) {
        unexpected(p, "grouping opts", "\"(\"");
        return false;
    }
    next(p);
    uint32_t n = 0, cap = 0;
    ocl_str_t *v = NULL;
    for (;;) {
        ocl_pql_tok_t *t = peek(p);
        if (t->type == OCL_TOK_RPAREN) break;
        ocl_str_t name;
        if (label_tok(t) || (t->type == OCL_TOK_NUMBER && t->len == 3 && is_alpha_tok(p, t))) {
            name = (ocl_str_t){p->q + t->pos, t->len};
        } else if (t->type == OCL_TOK_STRING) {
            name = unquote_tok(p, t);
            if (p->failed) return false;
            if (!valid_utf8(name) || name.n == 0) {
                unexpected(p, "grouping opts", "label");
                return false;
            }
        } else {
            unexpected(p, "grouping opts", "label");
            return false;
        }
        next(p);
        if (n == cap) {
            uint32_t nc = cap ? cap * 2 : 4;
            v = ocl_arena_realloc(p->a, v, cap * sizeof *v, nc * sizeof *v);
            cap = nc;
        }
        v[n++] = name;
        t = peek(p);
        if (t->type == OCL_TOK_COMMA) {
            next(p);
            continue;
        }
        if (t->type != OCL_TOK_RPAREN) {
            unexpected(p, "grouping opts", "\",\" or \")\"");
            return false;
        }
    }
    next(p);
    *out = v;
    *n_out = n;
    return true;
}

static void add_matcher(ocl_pql_parser_t *p, ocl_pql_node_t *vs, uint32_t *cap,
                        ocl_match_type_t type, ocl_str_t name, ocl_str_t value, uint32_t pos)
{
    if (vs->vs.n_matchers == *cap) {
        uint32_t nc = *cap ? *cap * 2 : 4;
        vs->vs.matchers = ocl_arena_realloc(p->a, vs->vs.matchers, *cap * sizeof(ocl_matcher_t),
                                            nc * sizeof(ocl_matcher_t));
        *cap = nc;
    }
    ocl_matcher_t *m = &vs->vs.matchers[vs->vs.n_matchers];
    char err[256];
    if (ocl_matcher_init(m, type, name, value, err, sizeof err) != 0) {
        ocl_pql_errorf(p, pos, "%s", err);
        return;
    }
    vs->vs.n_matchers++;
}

static bool is_match_op(ocl_pql_tok_type_t t)
{
    return t == OCL_TOK_ASSIGN || t == OCL_TOK_NEQ || t == OCL_TOK_EQL_REGEX ||
           t == OCL_TOK_NEQ_REGEX;
}

static ocl_match_type_t match_type(ocl_pql_tok_type_t t)
{
    return t == OCL_TOK_ASSIGN      ? OCL_MATCH_EQ
           : t == OCL_TOK_NEQ       ? OCL_MATCH_NEQ
           : t == OCL_TOK_EQL_REGEX ? OCL_MATCH_RE
                                    : OCL_MATCH_NRE;
}

/* Vector selector: [name] [{matchers}]; `name_tok` may be NULL. */
static ocl_pql_node_t *parse_selector(ocl_pql_parser_t *p, ocl_pql_tok_t *name_tok)
{
    uint32_t start = name_tok ? name_tok->pos : peek(p)->pos;
    ocl_pql_node_t *n =
        new_node(p, OCL_PQL_VECTOR_SEL, start, name_tok ? name_tok->pos + name_tok->len : start);
    n->type = OCL_PQL_VECTOR;
    uint32_t cap = 0;
    if (name_tok) n->vs.name = (ocl_str_t){p->q + name_tok->pos, name_tok->len};
    if (p->n_sels == p->cap_sels) {
        uint32_t nc = p->cap_sels ? p->cap_sels * 2 : 8;
        p->sels =
            ocl_arena_realloc(p->a, p->sels, p->cap_sels * sizeof *p->sels, nc * sizeof *p->sels);
        p->cap_sels = nc;
    }
    p->sels[p->n_sels++] = n;
    if (peek(p)->type == OCL_TOK_LBRACE) {
        next(p);
        for (;;) {
            ocl_pql_tok_t *t = peek(p);
            if (t->type == OCL_TOK_RBRACE) break;
            if (t->type == OCL_TOK_IDENT || t->type == OCL_TOK_STRING) {
                ocl_str_t lname;
                if (t->type == OCL_TOK_IDENT)
                    lname = (ocl_str_t){p->q + t->pos, t->len};
                else {
                    lname = unquote_tok(p, t);
                    if (p->failed) return NULL;
                }
                next(p);
                ocl_pql_tok_t *op = peek(p);
                if (t->type == OCL_TOK_STRING && !is_match_op(op->type)) {
                    /* {"metric.name"}: a bare quoted string is the metric name */
                    add_matcher(p, n, &cap, OCL_MATCH_EQ, OCL_STR(OCL_METRIC_NAME), lname, t->pos);
                } else {
                    if (!is_match_op(op->type)) {
                        unexpected(p, "label matching", "label matching operator");
                        return NULL;
                    }
                    next(p);
                    ocl_pql_tok_t *val = peek(p);
                    if (val->type != OCL_TOK_STRING) {
                        unexpected(p, "label matching", "string");
                        return NULL;
                    }
                    next(p);
                    ocl_str_t v = unquote_tok(p, val);
                    if (p->failed) return NULL;
                    add_matcher(p, n, &cap, match_type(op->type), lname, v, t->pos);
                }
                if (p->failed) return NULL;
                t = peek(p);
                if (t->type == OCL_TOK_COMMA) {
                    next(p);
                    continue;
                }
                if (t->type != OCL_TOK_RBRACE) {
                    unexpected(p, "label matching", "\",\" or \"}\"");
                    return NULL;
                }
                continue;
            }
            unexpected(p, "label matching", "identifier or \"}\"");
            return NULL;
        }
        n->end = next(p)->pos + 1;
    }
    if (name_tok)
        add_matcher(p, n, &cap, OCL_MATCH_EQ, OCL_STR(OCL_METRIC_NAME), n->vs.name, name_tok->pos);
    return p->failed ? NULL : n;
}

/* ---- calls and aggregations ---- */

/* ( expr, ... ) into args. */
static bool parse_args(ocl_pql_parser_t *p, ocl_pql_node_t ***args, uint32_t *n_args, uint32_t *end)
{
    if (peek(p)->type != OCL_TOK_LPAREN) {
        unexpected(p, NULL, NULL);
        return false;
    }
    next(p);
    uint32_t n = 0, cap = 0;
    ocl_pql_node_t **v = NULL;
    if (peek(p)->type != OCL_TOK_RPAREN) {
        for (;;) {
            ocl_pql_node_t *a = parse_expr(p, 0);
            if (!a) return false;
            if (n == cap) {
                uint32_t nc = cap ? cap * 2 : 4;
                v = ocl_arena_realloc(p->a, v, cap * sizeof *v, nc * sizeof *v);
                cap = nc;
            }
            v[n++] = a;
            ocl_pql_tok_t *t = peek(p);
            if (t->type == OCL_TOK_COMMA) {
                next(p);
                if (peek(p)->type == OCL_TOK_RPAREN) {
                    ocl_pql_errorf(p, t->pos, "trailing commas not allowed in function call args");
                    return false;
                }
                continue;
            }
            if (t->type != OCL_TOK_RPAREN) {
                unexpected(p, NULL, NULL);
                return false;
            }
            break;
        }
    }
    *end = next(p)->pos + 1;
    *args = v;
    *n_args = n;
    return true;
}

static ocl_pql_node_t *parse_call(ocl_pql_parser_t *p, ocl_pql_tok_t *name)
{
    ocl_pql_node_t *n = new_node(p, OCL_PQL_CALL, name->pos, 0);
    if (!parse_args(p, &n->call.args, &n->call.n_args, &n->end)) return NULL;
    for (uint32_t i = 0; i < n->call.n_args; i++)
        child_depth(p, n, n->call.args[i]);
    ocl_str_t fname = {p->q + name->pos, name->len};
    n->call.func = ocl_pql_func_lookup(fname);
    if (!n->call.func) {
        ocl_buf_t b;
        ocl_buf_init(&b);
        ocl_pql_quote(&b, fname.p, fname.n);
        ocl_pql_errorf(p, name->pos, "unknown function with name %.*s", (int)OCL_MIN(b.len, 200),
                       (const char *)b.p);
        ocl_buf_dispose(&b);
        return NULL;
    }
    n->type = n->call.func->ret;
    return p->failed ? NULL : n;
}

static bool agg_has_param(ocl_pql_aggop_t op)
{
    return op == OCL_AGG_TOPK || op == OCL_AGG_BOTTOMK || op == OCL_AGG_COUNT_VALUES ||
           op == OCL_AGG_QUANTILE || op == OCL_AGG_LIMITK || op == OCL_AGG_LIMIT_RATIO;
}

static ocl_pql_node_t *parse_aggregate(ocl_pql_parser_t *p, ocl_pql_tok_t *op)
{
    ocl_pql_node_t *n = new_node(p, OCL_PQL_AGGREGATE, op->pos, 0);
    n->type = OCL_PQL_VECTOR;
    n->agg.op = (ocl_pql_aggop_t)(op->type - OCL_TOK_SUM);
    bool grouped = false;
    ocl_pql_tok_t *t = peek(p);
    if (t->type == OCL_TOK_BY || t->type == OCL_TOK_WITHOUT) {
        next(p);
        n->agg.without = t->type == OCL_TOK_WITHOUT;
        n->agg.grouping_written = true;
        if (!parse_label_list(p, &n->agg.grouping, &n->agg.n_grouping)) return NULL;
        grouped = true;
    }
    if (peek(p)->type != OCL_TOK_LPAREN) {
        unexpected(p, NULL, NULL);
        return NULL;
    }
    ocl_pql_node_t **args;
    uint32_t n_args;
    if (!parse_args(p, &args, &n_args, &n->end)) return NULL;
    t = peek(p);
    if (!grouped && (t->type == OCL_TOK_BY || t->type == OCL_TOK_WITHOUT)) {
        next(p);
        n->agg.without = t->type == OCL_TOK_WITHOUT;
        n->agg.grouping_written = true;
        if (!parse_label_list(p, &n->agg.grouping, &n->agg.n_grouping)) return NULL;
    }
    if (n_args == 0) {
        ocl_pql_errorf(p, n->pos, "no arguments for aggregate expression provided");
        return NULL;
    }
    uint32_t want = agg_has_param(n->agg.op) ? 2 : 1;
    if (n_args != want) {
        ocl_pql_errorf(
            p, n->pos,
            "wrong number of arguments for aggregate expression provided, expected %u, got %u",
            want, n_args);
        return NULL;
    }
    if (want == 2) n->agg.param = args[0];
    n->agg.expr = args[want - 1];
    child_depth(p, n, n->agg.param);
    child_depth(p, n, n->agg.expr);
    return p->failed ? NULL : n;
}

/* ---- postfix modifiers ---- */

static ocl_pql_node_t *parse_range(ocl_pql_parser_t *p, ocl_pql_node_t *e)
{
    ocl_pql_tok_t *lb = next(p);
    uint32_t rpos = peek(p)->pos;
    p->dur_nodes = 0; /* the bound is per duration expression */
    int64_t range_ms, step_ms = 0;
    ocl_pql_dur_t *range_expr, *step_expr = NULL;
    ocl_pql_dur_t *rd = dur_expr(p, 0, "subquery or range selector", DUR_EXPECTED);
    if (!parse_duration_value(p, rd, rpos, true, &range_ms, &range_expr)) return NULL;
    ocl_pql_tok_t *t = peek(p);
    if (t->type == OCL_TOK_COLON) {
        next(p);
        if (peek(p)->type != OCL_TOK_RBRACKET) {
            uint32_t spos = peek(p)->pos;
            p->dur_nodes = 0;
            ocl_pql_dur_t *sd = dur_expr(p, 0, "subquery selector", DUR_EXPECTED " or \"]\"");
            if (!parse_duration_value(p, sd, spos, true, &step_ms, &step_expr)) return NULL;
            if (peek(p)->type != OCL_TOK_RBRACKET) {
                unexpected(p, "subquery selector", "\"]\"");
                return NULL;
            }
        }
        ocl_pql_tok_t *rb = next(p);
        ocl_pql_node_t *n = new_node(p, OCL_PQL_SUBQUERY, e->pos, rb->pos + 1);
        n->type = OCL_PQL_MATRIX;
        n->sq.expr = e;
        n->sq.range_ms = range_ms;
        n->sq.range_expr = range_expr;
        n->sq.step_ms = step_ms;
        n->sq.step_expr = step_expr;
        child_depth(p, n, e);
        return p->failed ? NULL : n;
    }
    if (t->type != OCL_TOK_RBRACKET) {
        unexpected(p, "subquery or range selector", "\":\" or \"]\"");
        return NULL;
    }
    ocl_pql_tok_t *rb = next(p);
    if (e->kind != OCL_PQL_VECTOR_SEL) {
        ocl_pql_errorf(p, lb->pos, "ranges only allowed for vector selectors");
        return NULL;
    }
    if (e->vs.offset_ms != 0 || e->vs.offset_expr) {
        ocl_pql_errorf(p, lb->pos, "no offset modifiers allowed before range");
        return NULL;
    }
    if (e->vs.at != OCL_PQL_AT_NONE) {
        ocl_pql_errorf(p, lb->pos, "no @ modifiers allowed before range");
        return NULL;
    }
    ocl_pql_node_t *n = new_node(p, OCL_PQL_MATRIX_SEL, e->pos, rb->pos + 1);
    n->type = OCL_PQL_MATRIX;
    n->ms.vs = e;
    n->ms.range_ms = range_ms;
    n->ms.range_expr = range_expr;
    child_depth(p, n, e);
    return p->failed ? NULL : n;
}

/* offset <number|duration>, offset -<...>, offset (expr), offset step(),
 * offset min_of(...): without parentheses only one operand binds, so
 * `x offset 5m + 1` is (x offset 5m) + 1. */
static bool parse_offset(ocl_pql_parser_t *p, ocl_pql_node_t *e)
{
    next(p);
    p->dur_nodes = 0;
    ocl_pql_tok_t *t = peek(p);
    uint32_t pos = t->pos;
    bool neg = false;
    if (t->type == OCL_TOK_SUB || t->type == OCL_TOK_ADD) {
        neg = t->type == OCL_TOK_SUB;
        next(p);
    }
    ocl_pql_dur_t *d = dur_primary(p, "offset", DUR_EXPECTED);
    if (!d) return false;
    if (neg && d->kind == OCL_PQL_DUR_NUM) {
        d->num = -d->num;
    } else if (neg) {
        ocl_pql_dur_t *u = dur_new(p, OCL_PQL_DUR_UNARY);
        u->op = '-';
        u->rhs = d;
        u->is_const = d->is_const;
        d = u;
    }
    int64_t ms;
    ocl_pql_dur_t *expr;
    if (!parse_duration_value(p, d, pos, false, &ms, &expr)) return false;
    int64_t *slot;
    ocl_pql_dur_t **xslot;
    if (e->kind == OCL_PQL_VECTOR_SEL)
        slot = &e->vs.offset_ms, xslot = &e->vs.offset_expr;
    else if (e->kind == OCL_PQL_MATRIX_SEL)
        slot = &e->ms.vs->vs.offset_ms, xslot = &e->ms.vs->vs.offset_expr;
    else if (e->kind == OCL_PQL_SUBQUERY)
        slot = &e->sq.offset_ms, xslot = &e->sq.offset_expr;
    else {
        ocl_pql_errorf(p, e->pos,
                       "offset modifier must be preceded by an instant vector selector or range "
                       "vector selector or a subquery");
        return false;
    }
    if (*slot != 0 || *xslot) {
        ocl_pql_errorf(p, e->pos, "offset may not be set multiple times");
        return false;
    }
    *slot = ms;
    *xslot = expr;
    e->end = p->toks.v[p->i - 1].pos + p->toks.v[p->i - 1].len;
    return true;
}

static bool parse_at(ocl_pql_parser_t *p, ocl_pql_node_t *e)
{
    next(p);
    ocl_pql_tok_t *t = peek(p);
    ocl_pql_at_t at = OCL_PQL_AT_TIME;
    double ts = 0;
    if ((t->type == OCL_TOK_START || t->type == OCL_TOK_END) && peek2(p)->type == OCL_TOK_LPAREN) {
        at = t->type == OCL_TOK_START ? OCL_PQL_AT_START : OCL_PQL_AT_END;
        next(p), next(p);
        if (peek(p)->type != OCL_TOK_RPAREN) {
            unexpected(p, "@", "\")\"");
            return false;
        }
        next(p);
    } else {
        bool neg = false;
        if ((t->type == OCL_TOK_ADD || t->type == OCL_TOK_SUB) &&
            (peek2(p)->type == OCL_TOK_NUMBER || peek2(p)->type == OCL_TOK_DURATION)) {
            neg = t->type == OCL_TOK_SUB;
            next(p);
            t = peek(p);
        }
        if (t->type != OCL_TOK_NUMBER && t->type != OCL_TOK_DURATION) {
            unexpected(p, "@", "timestamp");
            return false;
        }
        next(p);
        ts = number_or_duration(p, t);
        if (p->failed) return false;
        if (neg) ts = -ts;
        if (isinf(ts) || isnan(ts) || ts >= 9223372036854775807.0 || ts <= -9223372036854775808.0) {
            char v[64];
            if (isnan(ts))
                snprintf(v, sizeof v, "NaN");
            else if (isinf(ts))
                snprintf(v, sizeof v, ts > 0 ? "+Inf" : "-Inf");
            else
                snprintf(v, sizeof v, "%f", ts);
            ocl_pql_errorf(p, e->pos, "timestamp out of bounds for @ modifier: %s", v);
            return false;
        }
    }
    ocl_pql_at_t *slot;
    int64_t *ms;
    if (e->kind == OCL_PQL_VECTOR_SEL)
        slot = &e->vs.at, ms = &e->vs.at_ms;
    else if (e->kind == OCL_PQL_MATRIX_SEL)
        slot = &e->ms.vs->vs.at, ms = &e->ms.vs->vs.at_ms;
    else if (e->kind == OCL_PQL_SUBQUERY)
        slot = &e->sq.at, ms = &e->sq.at_ms;
    else {
        ocl_pql_errorf(p, e->pos,
                       "@ modifier must be preceded by an instant vector selector or range vector "
                       "selector or a subquery");
        return false;
    }
    if (*slot != OCL_PQL_AT_NONE) {
        ocl_pql_errorf(p, e->pos, "@ <timestamp> may not be set multiple times");
        return false;
    }
    *slot = at;
    if (at == OCL_PQL_AT_TIME) {
        double r = round(ts * 1000.0);
        *ms = r >= 9.2233720368547758e18    ? INT64_MAX
              : r <= -9.2233720368547758e18 ? INT64_MIN
                                            : (int64_t)r;
    }
    e->end = p->toks.v[p->i - 1].pos + p->toks.v[p->i - 1].len;
    return true;
}

/* The experimental `anchored` / `smoothed` modifiers of range selectors. */
static bool set_extended(ocl_pql_parser_t *p, ocl_pql_node_t *e, bool anchored)
{
    const char *name = anchored ? "anchored" : "smoothed";
    ocl_pql_node_t *vs = e->kind == OCL_PQL_MATRIX_SEL   ? e->ms.vs
                         : e->kind == OCL_PQL_VECTOR_SEL ? e
                                                         : NULL;
    if (!vs) {
        if (e->kind == OCL_PQL_SUBQUERY)
            ocl_pql_errorf(p, e->pos, "%s modifier is not supported for subqueries", name);
        else
            ocl_pql_errorf(p, e->pos, "%s modifier not implemented", name);
        return false;
    }
    if (anchored)
        vs->vs.anchored = true;
    else
        vs->vs.smoothed = true;
    if (vs->vs.anchored && vs->vs.smoothed) {
        ocl_pql_errorf(p, e->pos, "anchored and smoothed modifiers cannot be used together");
        return false;
    }
    e->end = p->toks.v[p->i - 1].pos + p->toks.v[p->i - 1].len;
    return true;
}

static ocl_pql_node_t *parse_postfix(ocl_pql_parser_t *p, ocl_pql_node_t *e)
{
    while (e && !p->failed) {
        ocl_pql_tok_t *t = peek(p);
        if (t->type == OCL_TOK_LBRACKET)
            e = parse_range(p, e);
        else if (t->type == OCL_TOK_OFFSET) {
            if (!parse_offset(p, e)) return NULL;
        } else if (t->type == OCL_TOK_AT) {
            if (!parse_at(p, e)) return NULL;
        } else if (t->type == OCL_TOK_ANCHORED || t->type == OCL_TOK_SMOOTHED) {
            next(p);
            if (!set_extended(p, e, t->type == OCL_TOK_ANCHORED)) return NULL;
        } else
            break;
    }
    return p->failed ? NULL : e;
}

/* ---- primary, unary, binary ---- */

/* Keywords Prometheus accepts as metric names (metric_identifier). */
static bool metric_keyword(ocl_pql_tok_type_t t)
{
    switch (t) {
    case OCL_TOK_BY:
    case OCL_TOK_WITHOUT:
    case OCL_TOK_LAND:
    case OCL_TOK_LOR:
    case OCL_TOK_LUNLESS:
    case OCL_TOK_OFFSET:
    case OCL_TOK_START:
    case OCL_TOK_END:
    case OCL_TOK_STEP:
    case OCL_TOK_RANGE:
    case OCL_TOK_ANCHORED:
    case OCL_TOK_SMOOTHED:
        return true;
    default:
        return t >= OCL_TOK_AGG_FIRST && t <= OCL_TOK_AGG_LAST;
    }
}

static ocl_pql_node_t *parse_primary(ocl_pql_parser_t *p)
{
    ocl_pql_tok_t *t = peek(p);
    ocl_pql_node_t *n;
    switch (t->type) {
    case OCL_TOK_NUMBER:
    case OCL_TOK_DURATION:
        next(p);
        n = new_node(p, OCL_PQL_NUMBER, t->pos, t->pos + t->len);
        n->type = OCL_PQL_SCALAR;
        n->number = number_or_duration(p, t);
        n->is_duration = t->type == OCL_TOK_DURATION;
        return p->failed ? NULL : n;
    case OCL_TOK_STRING:
        next(p);
        n = new_node(p, OCL_PQL_STRING_LIT, t->pos, t->pos + t->len);
        n->type = OCL_PQL_STRING;
        n->str = unquote_tok(p, t);
        return p->failed ? NULL : n;
    case OCL_TOK_LPAREN: {
        next(p);
        ocl_pql_node_t *inner = parse_expr(p, 0);
        if (!inner) return NULL;
        if (peek(p)->type != OCL_TOK_RPAREN) {
            unexpected(p, NULL, NULL);
            return NULL;
        }
        n = new_node(p, OCL_PQL_PAREN, t->pos, next(p)->pos + 1);
        n->paren.expr = inner;
        n->type = inner->type;
        child_depth(p, n, inner);
        return p->failed ? NULL : n;
    }
    case OCL_TOK_LBRACE:
        return parse_selector(p, NULL);
    case OCL_TOK_IDENT:
        next(p);
        if (peek(p)->type == OCL_TOK_LPAREN) return parse_call(p, t);
        return parse_selector(p, t);
    case OCL_TOK_METRIC_ID:
        next(p);
        return parse_selector(p, t);
    default:
        break;
    }
    if (t->type >= OCL_TOK_AGG_FIRST && t->type <= OCL_TOK_AGG_LAST) {
        ocl_pql_tok_type_t nt = peek2(p)->type;
        if (nt == OCL_TOK_LPAREN || nt == OCL_TOK_BY || nt == OCL_TOK_WITHOUT) {
            next(p);
            return parse_aggregate(p, t);
        }
    }
    if ((t->type == OCL_TOK_START || t->type == OCL_TOK_END || t->type == OCL_TOK_STEP ||
         t->type == OCL_TOK_RANGE) &&
        peek2(p)->type == OCL_TOK_LPAREN) {
        next(p);
        return parse_call(p, t);
    }
    if (metric_keyword(t->type)) {
        next(p);
        return parse_selector(p, t);
    }
    unexpected(p, NULL, NULL);
    return NULL;
}

static ocl_pql_node_t *parse_unary(ocl_pql_parser_t *p)
{
    ocl_pql_tok_t *t = peek(p);
    if (t->type == OCL_TOK_ADD || t->type == OCL_TOK_SUB) {
        next(p);
        ocl_pql_node_t *e = parse_expr(p, 6 /* ^ */);
        if (!e) return NULL;
        if (e->kind == OCL_PQL_NUMBER) {
            if (t->type == OCL_TOK_SUB) e->number = -e->number;
            e->pos = t->pos;
            return e;
        }
        ocl_pql_node_t *n = new_node(p, OCL_PQL_UNARY, t->pos, e->end);
        n->unary.op = t->type == OCL_TOK_SUB ? '-' : '+';
        n->unary.expr = e;
        n->type = e->type;
        child_depth(p, n, e);
        return p->failed ? NULL : n;
    }
    ocl_pql_node_t *e = parse_primary(p);
    return e ? parse_postfix(p, e) : NULL;
}

static int binop_prec(ocl_pql_tok_type_t t, ocl_pql_binop_t *op)
{
    switch (t) {
    case OCL_TOK_LOR:
        *op = OCL_BIN_OR;
        return 1;
    case OCL_TOK_LAND:
        *op = OCL_BIN_AND;
        return 2;
    case OCL_TOK_LUNLESS:
        *op = OCL_BIN_UNLESS;
        return 2;
    case OCL_TOK_EQLC:
        *op = OCL_BIN_EQ;
        return 3;
    case OCL_TOK_NEQ:
        *op = OCL_BIN_NE;
        return 3;
    case OCL_TOK_GTR:
        *op = OCL_BIN_GT;
        return 3;
    case OCL_TOK_LSS:
        *op = OCL_BIN_LT;
        return 3;
    case OCL_TOK_GTE:
        *op = OCL_BIN_GE;
        return 3;
    case OCL_TOK_LTE:
        *op = OCL_BIN_LE;
        return 3;
    case OCL_TOK_ADD:
        *op = OCL_BIN_ADD;
        return 4;
    case OCL_TOK_SUB:
        *op = OCL_BIN_SUB;
        return 4;
    case OCL_TOK_MUL:
        *op = OCL_BIN_MUL;
        return 5;
    case OCL_TOK_DIV:
        *op = OCL_BIN_DIV;
        return 5;
    case OCL_TOK_MOD:
        *op = OCL_BIN_MOD;
        return 5;
    case OCL_TOK_ATAN2:
        *op = OCL_BIN_ATAN2;
        return 5;
    case OCL_TOK_POW:
        *op = OCL_BIN_POW;
        return 6;
    default:
        return -1;
    }
}

/* fill(v) | fill_left(v) [fill_right(v)] | fill_right(v) [fill_left(v)],
 * v a signed number literal. */
static bool parse_fill(ocl_pql_parser_t *p, ocl_pql_matching_t *m)
{
    for (;;) {
        ocl_pql_tok_t *t = peek(p);
        if (t->type != OCL_TOK_IDENT || peek2(p)->type != OCL_TOK_LPAREN) return true;
        ocl_str_t w = {p->q + t->pos, t->len};
        int which = ocl_str_eq_c(w, "fill")         ? 0
                    : ocl_str_eq_c(w, "fill_left")  ? 1
                    : ocl_str_eq_c(w, "fill_right") ? 2
                                                    : -1;
        if (which < 0) return true;
        if ((which == 0 && (m->fill_lhs || m->fill_rhs)) || (which == 1 && m->fill_lhs) ||
            (which == 2 && m->fill_rhs)) {
            unexpected(p, NULL, NULL);
            return false;
        }
        next(p), next(p);
        ocl_pql_tok_t *v = peek(p);
        bool neg = false;
        if (v->type == OCL_TOK_ADD || v->type == OCL_TOK_SUB) {
            neg = v->type == OCL_TOK_SUB;
            next(p);
            v = peek(p);
        }
        if (v->type != OCL_TOK_NUMBER) {
            unexpected(p, "fill modifier", "number");
            return false;
        }
        next(p);
        double x = parse_number_text(p, v);
        if (p->failed) return false;
        if (neg) x = -x;
        if (peek(p)->type != OCL_TOK_RPAREN) {
            unexpected(p, "fill modifier", "\")\"");
            return false;
        }
        next(p);
        if (which != 2) m->fill_lhs = true, m->fill_lhs_value = x;
        if (which != 1) m->fill_rhs = true, m->fill_rhs_value = x;
        m->fill_same = which == 0;
    }
}

/* bool / on(...) / ignoring(...) / group_left(...) / group_right(...). */
static bool parse_bin_modifiers(ocl_pql_parser_t *p, ocl_pql_node_t *n)
{
    ocl_pql_matching_t *m = ocl_arena_calloc(p->a, sizeof *m);
    n->bin.matching = m;
    if (peek(p)->type == OCL_TOK_BOOL) {
        next(p);
        n->bin.return_bool = true;
    }
    ocl_pql_tok_t *t = peek(p);
    if (t->type == OCL_TOK_ON || t->type == OCL_TOK_IGNORING) {
        next(p);
        m->on = t->type == OCL_TOK_ON;
        m->explicit_matching = true;
        if (!parse_label_list(p, &m->labels, &m->n_labels)) return false;
        t = peek(p);
        if (t->type == OCL_TOK_GROUP_LEFT || t->type == OCL_TOK_GROUP_RIGHT) {
            next(p);
            m->card = t->type == OCL_TOK_GROUP_LEFT ? OCL_CARD_MANY_TO_ONE : OCL_CARD_ONE_TO_MANY;
            if (peek(p)->type == OCL_TOK_LPAREN && !parse_label_list(p, &m->include, &m->n_include))
                return false;
        }
    }
    return parse_fill(p, m);
}

static ocl_pql_node_t *parse_expr(ocl_pql_parser_t *p, int min_prec)
{
    if (++p->depth > OCL_PQL_MAX_DEPTH) {
        ocl_pql_errorf(p, peek(p)->pos, "expression nesting exceeds the maximum depth of %d",
                       OCL_PQL_MAX_DEPTH);
        return NULL;
    }
    ocl_pql_node_t *lhs = parse_unary(p);
    while (lhs && !p->failed) {
        ocl_pql_binop_t op;
        ocl_pql_tok_t *t = peek(p);
        int prec = binop_prec(t->type, &op);
        if (prec < 0 || prec < min_prec) break;
        next(p);
        ocl_pql_node_t *n = new_node(p, OCL_PQL_BINARY, lhs->pos, 0);
        n->bin.op = op;
        n->bin.lhs = lhs;
        if (!parse_bin_modifiers(p, n)) {
            lhs = NULL;
            break;
        }
        ocl_pql_node_t *rhs = parse_expr(p, op == OCL_BIN_POW ? prec : prec + 1);
        if (!rhs) {
            lhs = NULL;
            break;
        }
        n->bin.rhs = rhs;
        n->end = rhs->end;
        n->type = lhs->type == OCL_PQL_SCALAR && rhs->type == OCL_PQL_SCALAR ? OCL_PQL_SCALAR
                                                                             : OCL_PQL_VECTOR;
        child_depth(p, n, lhs);
        child_depth(p, n, rhs);
        lhs = p->failed ? NULL : n;
    }
    p->depth--;
    return p->failed ? NULL : lhs;
}

/* ---- entry points ---- */

static void dispose_matchers(ocl_pql_node_t *n)
{
    if (!n) return;
    switch (n->kind) {
    case OCL_PQL_VECTOR_SEL:
        for (uint32_t i = 0; i < n->vs.n_matchers; i++)
            ocl_matcher_dispose(&n->vs.matchers[i]);
        n->vs.n_matchers = 0;
        break;
    case OCL_PQL_MATRIX_SEL:
        dispose_matchers(n->ms.vs);
        break;
    case OCL_PQL_SUBQUERY:
        dispose_matchers(n->sq.expr);
        break;
    case OCL_PQL_CALL:
        for (uint32_t i = 0; i < n->call.n_args; i++)
            dispose_matchers(n->call.args[i]);
        break;
    case OCL_PQL_AGGREGATE:
        dispose_matchers(n->agg.param);
        dispose_matchers(n->agg.expr);
        break;
    case OCL_PQL_BINARY:
        dispose_matchers(n->bin.lhs);
        dispose_matchers(n->bin.rhs);
        break;
    case OCL_PQL_UNARY:
        dispose_matchers(n->unary.expr);
        break;
    case OCL_PQL_PAREN:
        dispose_matchers(n->paren.expr);
        break;
    default:
        break;
    }
}

int ocl_pql_parse(const char *q, size_t n, ocl_pql_expr_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (errlen) err[0] = 0;
    if (n > UINT32_MAX / 2) {
        snprintf(err, errlen, "query too long");
        return OCL_EINVAL;
    }
    ocl_pql_expr_t *e = ocl_calloc(1, sizeof *e);
    ocl_arena_init(&e->arena, 4096);
    char *copy = ocl_arena_strndup(&e->arena, q, n);
    e->query = (ocl_str_t){copy, n};
    ocl_pql_parser_t p = {
        .q = copy, .n = (uint32_t)n, .a = &e->arena, .err = err, .errlen = errlen};
    ocl_pql_lex(&e->arena, copy, (uint32_t)n, &p.toks);
    ocl_pql_node_t *root = NULL;
    if (peek(&p)->type == OCL_TOK_EOF) {
        ocl_pql_errorf(&p, 0, "no expression found in input");
    } else {
        root = parse_expr(&p, 0);
        if (root && peek(&p)->type != OCL_TOK_EOF) unexpected(&p, NULL, NULL);
    }
    if (!p.failed) ocl_pql_check(&p, root);
    if (p.failed) {
        /* release the regexes of every selector built so far, in the tree or not */
        for (uint32_t i = 0; i < p.n_sels; i++)
            dispose_matchers(p.sels[i]);
        ocl_arena_dispose(&e->arena);
        ocl_free(e);
        return OCL_EINVAL;
    }
    e->root = root;
    *out = e;
    return 0;
}

void ocl_pql_expr_free(ocl_pql_expr_t *e)
{
    if (!e) return;
    dispose_matchers(e->root);
    ocl_arena_dispose(&e->arena);
    ocl_free(e);
}
