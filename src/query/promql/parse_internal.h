/*
 * parse_internal.h — the PromQL lexer's tokens, shared by lexer.c and the
 * parser (parse.c, parse_check.c). Not part of the public interface.
 *
 * The lexer turns the whole query into a token array before parsing
 * (queries are short; the API bounds their length). A lexer error becomes
 * a final OCL_TOK_ERROR token carrying Prometheus's message, so the parser
 * reports it only when it reaches it, as Prometheus's yacc parser does.
 * Positions are byte offsets into the query.
 */
#ifndef OCL_PQL_PARSE_INTERNAL_H
#define OCL_PQL_PARSE_INTERNAL_H

#include "query/promql/ast.h"

#include <stdint.h>

typedef enum {
    OCL_TOK_EOF = 0,
    OCL_TOK_ERROR,     /* lexer error; msg holds the text */
    OCL_TOK_IDENT,     /* identifier without ':' */
    OCL_TOK_METRIC_ID, /* identifier with ':' */
    OCL_TOK_NUMBER,    /* number (incl. Inf/NaN) */
    OCL_TOK_DURATION,  /* 5m, 1h30m */
    OCL_TOK_STRING,    /* quoted string, text includes the quotes */
    OCL_TOK_LPAREN,
    OCL_TOK_RPAREN,
    OCL_TOK_LBRACE,
    OCL_TOK_RBRACE,
    OCL_TOK_LBRACKET,
    OCL_TOK_RBRACKET,
    OCL_TOK_COMMA,
    OCL_TOK_COLON,
    OCL_TOK_ASSIGN, /* '=' (label matching) */
    /* operators */
    OCL_TOK_ADD,
    OCL_TOK_SUB,
    OCL_TOK_MUL,
    OCL_TOK_DIV,
    OCL_TOK_MOD,
    OCL_TOK_POW,
    OCL_TOK_EQLC,
    OCL_TOK_NEQ,
    OCL_TOK_GTR,
    OCL_TOK_LSS,
    OCL_TOK_GTE,
    OCL_TOK_LTE,
    OCL_TOK_EQL_REGEX,
    OCL_TOK_NEQ_REGEX,
    OCL_TOK_AT,
    OCL_TOK_LAND,
    OCL_TOK_LOR,
    OCL_TOK_LUNLESS,
    OCL_TOK_ATAN2,
    /* aggregators */
    OCL_TOK_AGG_FIRST,
    OCL_TOK_SUM = OCL_TOK_AGG_FIRST,
    OCL_TOK_AVG,
    OCL_TOK_COUNT,
    OCL_TOK_MIN,
    OCL_TOK_MAX,
    OCL_TOK_GROUP,
    OCL_TOK_STDDEV,
    OCL_TOK_STDVAR,
    OCL_TOK_TOPK,
    OCL_TOK_BOTTOMK,
    OCL_TOK_COUNT_VALUES,
    OCL_TOK_QUANTILE,
    OCL_TOK_LIMITK,
    OCL_TOK_LIMIT_RATIO,
    OCL_TOK_AGG_LAST = OCL_TOK_LIMIT_RATIO,
    /* keywords */
    OCL_TOK_OFFSET,
    OCL_TOK_BY,
    OCL_TOK_WITHOUT,
    OCL_TOK_ON,
    OCL_TOK_IGNORING,
    OCL_TOK_GROUP_LEFT,
    OCL_TOK_GROUP_RIGHT,
    OCL_TOK_BOOL,
    OCL_TOK_START,
    OCL_TOK_END,
    OCL_TOK_STEP,
    OCL_TOK_RANGE,
    OCL_TOK_ANCHORED,
    OCL_TOK_SMOOTHED,
} ocl_pql_tok_type_t;

typedef struct {
    ocl_pql_tok_type_t type; /* token type */
    uint32_t pos;            /* byte offset of the first character */
    uint32_t len;            /* bytes of text */
    const char *msg;         /* OCL_TOK_ERROR: message (arena) */
} ocl_pql_tok_t;

typedef struct {
    ocl_pql_tok_t *v; /* tokens; the last is EOF or ERROR */
    uint32_t n;       /* count */
} ocl_pql_toks_t;

/* Lexes q[0..n) into tokens allocated from `a` (comments dropped). */
void ocl_pql_lex(ocl_arena_t *a, const char *q, uint32_t n, ocl_pql_toks_t *out);

/* Prometheus's description of a token for "unexpected X" messages, e.g.
 * `"("`, `identifier "foo"`, `<op:+>`, `<aggr:sum>`, `<by>`, `end of input`.
 * Writes into buf (NUL-terminated). */
void ocl_pql_tok_desc(const char *q, const ocl_pql_tok_t *t, char *buf, size_t len);

/* Go-style %q quoting of s into out (strconv.Quote). */
void ocl_pql_quote(ocl_buf_t *out, const char *s, size_t n);

/* Unquotes a string token's text (with quotes) into arena memory as
 * Prometheus's strutil.Unquote does. 0, or -1 with a message in err. */
int ocl_pql_unquote(ocl_arena_t *a, const char *s, size_t n, ocl_str_t *out, char *err,
                    size_t errlen);

/* Parses a Prometheus duration string (1y2w3d4h5m6s7ms) into ms.
 * 0, or -1 with Prometheus's message in err. */
int ocl_pql_parse_duration(const char *s, size_t n, int64_t *ms, char *err, size_t errlen);

/* Appends a duration in Prometheus's model.Duration format ("1h30m", "0s"). */
void ocl_pql_format_duration(ocl_buf_t *out, int64_t ms);

/* Go's strconv.FormatFloat(v, 'f', -1, 64), with +Inf/-Inf/NaN (format.c). */
void ocl_pql_format_number(ocl_buf_t *out, double v);

/* Prints a duration expression as Prometheus's DurationExpr.String() (durexpr.c). */
void ocl_pql_format_dur(ocl_buf_t *out, const ocl_pql_dur_t *d);

/* True for [a-zA-Z_][a-zA-Z0-9_]* (label names printed unquoted). */
bool ocl_pql_legacy_label(ocl_str_t s);

#endif
