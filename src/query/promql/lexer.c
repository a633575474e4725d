/*
 * lexer.c — PromQL tokenizer, string unquoting, duration parsing/printing.
 *
 * Mirrors Prometheus's lexer: the same token boundaries (numbers vs
 * durations, keywords matched case-insensitively, identifiers with ':' are
 * metric identifiers, a separate mode inside {...}), the same error texts
 * ("unexpected character: '}'", "unterminated quoted string", ...), and the
 * error position at the start of the token being lexed. The whole query is
 * lexed up front into an arena array; lexing stops at the first error,
 * which becomes the last token. Tuned for short queries (≤ a few KB).
 */
#include "query/promql/parse_internal.h"

#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct {
    const char *q;     /* input */
    uint32_t n;        /* input length */
    uint32_t pos;      /* next byte */
    uint32_t start;    /* start of the current token */
    int paren_depth;   /* open '(' */
    bool bracket_open; /* inside [...] */
    bool brace_open;   /* inside {...} */
    ocl_arena_t *a;    /* token/message memory */
    ocl_pql_tok_t *v;  /* tokens */
    uint32_t nt, cap;  /* count, capacity */
    bool done;         /* EOF or ERROR emitted */
} lexer_t;

static void emit(lexer_t *l, ocl_pql_tok_type_t t)
{
    if (l->nt == l->cap) {
        uint32_t nc = l->cap ? l->cap * 2 : 64;
        l->v = ocl_arena_realloc(l->a, l->v, l->cap * sizeof *l->v, nc * sizeof *l->v);
        l->cap = nc;
    }
    l->v[l->nt++] = (ocl_pql_tok_t){t, l->start, l->pos - l->start, NULL};
    l->start = l->pos;
    if (t == OCL_TOK_EOF || t == OCL_TOK_ERROR) l->done = true;
}

static void errorf(lexer_t *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void errorf(lexer_t *l, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    uint32_t keep = l->pos;
    l->pos = l->start;
    emit(l, OCL_TOK_ERROR);
    l->pos = keep;
    l->v[l->nt - 1].msg = ocl_arena_strndup(l->a, buf, strlen(buf));
}

/* Decodes one UTF-8 rune at s[0..n); *w = width. Invalid → -1, width 1. */
static int32_t rune_at(const char *s, uint32_t n, uint32_t *w)
{
    const unsigned char *p = (const unsigned char *)s;
    *w = 1;
    if (n == 0) return -2;
    if (p[0] < 0x80) return p[0];
    int len = p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC0 ? 2 : 0;
    if (len == 0 || (uint32_t)len > n || p[0] > 0xF4) return -1;
    int32_t r = p[0] & (0x3F >> (len - 1));
    for (int i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) return -1;
        r = (r << 6) | (p[i] & 0x3F);
    }
    if ((len == 2 && r < 0x80) || (len == 3 && r < 0x800) || (len == 4 && r < 0x10000) ||
        r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
        return -1;
    *w = (uint32_t)len;
    return r;
}

/* Go's %q of a rune: 'x', '\n', '\x00', 'é'. */
static void quote_rune(int32_t r, char *buf, size_t len)
{
    if (r < 0)
        snprintf(buf, len, "'\\ufffd'");
    else if (r == '\'')
        snprintf(buf, len, "'\\''");
    else if (r == '\\')
        snprintf(buf, len, "'\\\\'");
    else if (r == '\n')
        snprintf(buf, len, "'\\n'");
    else if (r == '\t')
        snprintf(buf, len, "'\\t'");
    else if (r == '\r')
        snprintf(buf, len, "'\\r'");
    else if (r == '\a')
        snprintf(buf, len, "'\\a'");
    else if (r == '\b')
        snprintf(buf, len, "'\\b'");
    else if (r == '\f')
        snprintf(buf, len, "'\\f'");
    else if (r == '\v')
        snprintf(buf, len, "'\\v'");
    else if (r < 0x20 || r == 0x7f)
        snprintf(buf, len, "'\\x%02x'", (unsigned)r);
    else if (r < 0x80)
        snprintf(buf, len, "'%c'", (char)r);
    else if (r >= 0x80 && r < 0xA0)
        snprintf(buf, len, "'\\u%04x'", (unsigned)r);
    else {
        char u[5] = {0};
        if (r < 0x800)
            u[0] = (char)(0xC0 | (r >> 6)), u[1] = (char)(0x80 | (r & 0x3F));
        else if (r < 0x10000)
            u[0] = (char)(0xE0 | (r >> 12)), u[1] = (char)(0x80 | ((r >> 6) & 0x3F)),
            u[2] = (char)(0x80 | (r & 0x3F));
        else
            u[0] = (char)(0xF0 | (r >> 18)), u[1] = (char)(0x80 | ((r >> 12) & 0x3F)),
            u[2] = (char)(0x80 | ((r >> 6) & 0x3F)), u[3] = (char)(0x80 | (r & 0x3F));
        snprintf(buf, len, "'%s'", u);
    }
}

/* Go's %#U: U+0078 'x'. */
static void sharp_u(int32_t r, char *buf, size_t len)
{
    char q[16];
    quote_rune(r, q, sizeof q);
    if (r < 0) r = 0xFFFD;
    if (r < 0x20 || r == 0x7f)
        snprintf(buf, len, "U+%04X", (unsigned)r);
    else
        snprintf(buf, len, "U+%04X %s", (unsigned)r, q);
}

static bool is_alpha(int c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}
static bool is_alnum(int c)
{
    return is_alpha(c) || is_digit(c);
}
static bool is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int peek(lexer_t *l)
{
    return l->pos < l->n ? (unsigned char)l->q[l->pos] : -1;
}
static bool accept(lexer_t *l, const char *set)
{
    int c = peek(l);
    if (c > 0 && strchr(set, c)) {
        l->pos++;
        return true;
    }
    return false;
}
static void accept_run(lexer_t *l, const char *set)
{
    while (accept(l, set)) {
    }
}

static const struct {
    const char *word;
    ocl_pql_tok_type_t t;
} keywords[] = {
    {"and", OCL_TOK_LAND},
    {"or", OCL_TOK_LOR},
    {"unless", OCL_TOK_LUNLESS},
    {"atan2", OCL_TOK_ATAN2},
    {"sum", OCL_TOK_SUM},
    {"avg", OCL_TOK_AVG},
    {"count", OCL_TOK_COUNT},
    {"min", OCL_TOK_MIN},
    {"max", OCL_TOK_MAX},
    {"group", OCL_TOK_GROUP},
    {"stddev", OCL_TOK_STDDEV},
    {"stdvar", OCL_TOK_STDVAR},
    {"topk", OCL_TOK_TOPK},
    {"bottomk", OCL_TOK_BOTTOMK},
    {"count_values", OCL_TOK_COUNT_VALUES},
    {"quantile", OCL_TOK_QUANTILE},
    {"limitk", OCL_TOK_LIMITK},
    {"limit_ratio", OCL_TOK_LIMIT_RATIO},
    {"offset", OCL_TOK_OFFSET},
    {"by", OCL_TOK_BY},
    {"without", OCL_TOK_WITHOUT},
    {"on", OCL_TOK_ON},
    {"ignoring", OCL_TOK_IGNORING},
    {"group_left", OCL_TOK_GROUP_LEFT},
    {"group_right", OCL_TOK_GROUP_RIGHT},
    {"bool", OCL_TOK_BOOL},
    {"start", OCL_TOK_START},
    {"end", OCL_TOK_END},
    {"step", OCL_TOK_STEP},
    {"range", OCL_TOK_RANGE},
    {"anchored", OCL_TOK_ANCHORED},
    {"smoothed", OCL_TOK_SMOOTHED},
    {"inf", OCL_TOK_NUMBER},
    {"nan", OCL_TOK_NUMBER},
};

static void lex_ident(lexer_t *l)
{
    while (l->pos < l->n && (is_alnum((unsigned char)l->q[l->pos]) || l->q[l->pos] == ':'))
        l->pos++;
    const char *w = l->q + l->start;
    size_t wn = l->pos - l->start;
    for (size_t i = 0; i < OCL_ARRAY_LEN(keywords); i++)
        if (strlen(keywords[i].word) == wn && !strncasecmp(keywords[i].word, w, wn)) {
            emit(l, keywords[i].t);
            return;
        }
    emit(l, memchr(w, ':', wn) ? OCL_TOK_METRIC_ID : OCL_TOK_IDENT);
}

/* Returns true when the number scan ended at a non-alphanumeric. */
static bool scan_number(lexer_t *l)
{
    const char *digits = "0123456789_";
    bool hex = false;
    if (accept(l, "0") && accept(l, "xX")) {
        digits = "0123456789abcdefABCDEF_";
        hex = true;
    }
    accept_run(l, digits);
    if (accept(l, ".")) accept_run(l, digits);
    if (!hex && accept(l, "eE")) {
        accept(l, "+-");
        accept_run(l, "0123456789_");
    }
    return !is_alnum(peek(l));
}

static bool accept_remaining_duration(lexer_t *l)
{
    if (!accept(l, "smhdwy")) return false;
    accept(l, "s");
    while (accept(l, "0123456789")) {
        accept_run(l, "0123456789");
        if (!accept(l, "smhdw")) return false;
        accept(l, "s");
    }
    int c = peek(l);
    if (c >= 0) l->pos++;
    if (is_alnum(c)) return false;
    if (c >= 0) l->pos--;
    return true;
}

static void lex_number(lexer_t *l)
{
    if (scan_number(l)) {
        emit(l, OCL_TOK_NUMBER);
        return;
    }
    if (accept_remaining_duration(l)) {
        emit(l, OCL_TOK_DURATION);
        return;
    }
    char buf[160];
    ocl_buf_t b;
    ocl_buf_init(&b);
    ocl_pql_quote(&b, l->q + l->start, l->pos - l->start);
    snprintf(buf, sizeof buf, "%.*s", (int)OCL_MIN(b.len, 120), (const char *)b.p);
    ocl_buf_dispose(&b);
    errorf(l, "bad number or duration syntax: %s", buf);
}

static bool is_hex(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* After a backslash inside a quoted string. */
static bool lex_escape(lexer_t *l, char quote)
{
    if (l->pos >= l->n) {
        errorf(l, "escape sequence not terminated");
        return false;
    }
    uint32_t w;
    int32_t ch = rune_at(l->q + l->pos, l->n - l->pos, &w);
    l->pos += w;
    int nd, base;
    uint32_t max;
    switch (ch) {
    case 'a':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
    case 'v':
    case '\\':
        return true;
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
        nd = 3, base = 8, max = 255;
        l->pos--;
        break;
    case 'x':
        nd = 2, base = 16, max = 255;
        break;
    case 'u':
        nd = 4, base = 16, max = 0x10FFFF;
        break;
    case 'U':
        nd = 8, base = 16, max = 0x10FFFF;
        break;
    default:
        if (ch == quote) return true;
        {
            char u[32];
            sharp_u(ch, u, sizeof u);
            errorf(l, "unknown escape sequence %s", u);
        }
        return false;
    }
    uint32_t x = 0;
    for (; nd > 0; nd--) {
        if (l->pos >= l->n) {
            errorf(l, "escape sequence not terminated");
            return false;
        }
        int32_t c = rune_at(l->q + l->pos, l->n - l->pos, &w);
        l->pos += w;
        int d = is_digit(c)              ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                         : 99;
        if (d >= base) {
            char u[32];
            sharp_u(c, u, sizeof u);
            errorf(l, "illegal character %s in escape sequence", u);
            return false;
        }
        x = x * (uint32_t)base + (uint32_t)d;
    }
    if (x > max || (base == 16 && max > 255 && x >= 0xD800 && x < 0xE000)) {
        errorf(l, "escape sequence is an invalid Unicode code point");
        return false;
    }
    return true;
}

static void lex_string(lexer_t *l, char quote)
{
    for (;;) {
        if (l->pos >= l->n) {
            errorf(l, "unterminated quoted string");
            return;
        }
        uint32_t w;
        int32_t r = rune_at(l->q + l->pos, l->n - l->pos, &w);
        l->pos += w;
        if (r == '\\') {
            if (!lex_escape(l, quote)) return;
        } else if (r == -1) {
            errorf(l, "invalid UTF-8 rune");
            return;
        } else if (r == '\n') {
            errorf(l, "unterminated quoted string");
            return;
        } else if (r == quote) {
            emit(l, OCL_TOK_STRING);
            return;
        }
    }
}

static void lex_raw(lexer_t *l)
{
    for (;;) {
        if (l->pos >= l->n) {
            errorf(l, "unterminated raw string");
            return;
        }
        uint32_t w;
        int32_t r = rune_at(l->q + l->pos, l->n - l->pos, &w);
        l->pos += w;
        if (r == -1) {
            errorf(l, "invalid UTF-8 rune");
            return;
        }
        if (r == '`') {
            emit(l, OCL_TOK_STRING);
            return;
        }
    }
}

/* Reports the rune at byte `at` with `fmt` (one %s for the quoted rune). */
static void unexpected_char(lexer_t *l, const char *fmt, uint32_t at)
{
    uint32_t w;
    int32_t r = rune_at(l->q + at, l->n - at, &w);
    char q[24];
    quote_rune(r, q, sizeof q);
    l->pos = at + w;
    errorf(l, fmt, q);
}

static void lex_inside_braces(lexer_t *l)
{
    if (l->pos >= l->n) {
        errorf(l, "unexpected end of input inside braces");
        return;
    }
    int c = (unsigned char)l->q[l->pos++];
    if (is_space(c)) {
        l->start = l->pos;
        return;
    }
    if (is_alpha(c)) {
        while (l->pos < l->n && is_alnum((unsigned char)l->q[l->pos]))
            l->pos++;
        emit(l, OCL_TOK_IDENT);
        return;
    }
    switch (c) {
    case ',':
        emit(l, OCL_TOK_COMMA);
        return;
    case '"':
    case '\'':
        lex_string(l, (char)c);
        return;
    case '`':
        lex_raw(l);
        return;
    case '=':
        emit(l, accept(l, "~") ? OCL_TOK_EQL_REGEX : OCL_TOK_ASSIGN);
        if (l->v[l->nt - 1].type == OCL_TOK_EQL_REGEX) l->v[l->nt - 1].len = 2;
        return;
    case '!':
        if (accept(l, "~"))
            emit(l, OCL_TOK_NEQ_REGEX);
        else if (accept(l, "="))
            emit(l, OCL_TOK_NEQ);
        else {
            if (l->pos >= l->n) {
                errorf(l, "unexpected end of input inside braces");
                return;
            }
            unexpected_char(l, "unexpected character after '!' inside braces: %s", l->pos);
        }
        return;
    case '{':
        errorf(l, "unexpected left brace '{' inside braces");
        return;
    case '}':
        l->brace_open = false;
        emit(l, OCL_TOK_RBRACE);
        return;
    default:
        unexpected_char(l, "unexpected character inside braces: %s", l->pos - 1);
    }
}

static void lex_statement(lexer_t *l)
{
    if (l->brace_open) {
        lex_inside_braces(l);
        return;
    }
    if (l->pos >= l->n) {
        if (l->bracket_open)
            errorf(l, "unexpected end of input in duration expression");
        else if (l->paren_depth != 0)
            errorf(l, "unclosed left parenthesis");
        else
            emit(l, OCL_TOK_EOF);
        return;
    }
    int c = (unsigned char)l->q[l->pos++];
    if (is_space(c)) {
        l->start = l->pos;
        return;
    }
    if (l->bracket_open && !is_alnum(c) && !strchr(".+-*/%^(),:[]", c)) {
        unexpected_char(l, "unexpected character in duration expression: %s", l->pos - 1);
        return;
    }
    if (c == '#') {
        while (l->pos < l->n && l->q[l->pos] != '\n')
            l->pos++;
        l->start = l->pos;
        return;
    }
    if (is_digit(c) || (c == '.' && is_digit(peek(l)))) {
        l->pos--;
        lex_number(l);
        return;
    }
    if (is_alpha(c) || (c == ':' && !l->bracket_open)) {
        lex_ident(l);
        return;
    }
    switch (c) {
    case ',':
        emit(l, OCL_TOK_COMMA);
        return;
    case '*':
        emit(l, OCL_TOK_MUL);
        return;
    case '/':
        emit(l, OCL_TOK_DIV);
        return;
    case '%':
        emit(l, OCL_TOK_MOD);
        return;
    case '+':
        emit(l, OCL_TOK_ADD);
        return;
    case '-':
        emit(l, OCL_TOK_SUB);
        return;
    case '^':
        emit(l, OCL_TOK_POW);
        return;
    case '@':
        emit(l, OCL_TOK_AT);
        return;
    case ':':
        emit(l, OCL_TOK_COLON);
        return;
    case '=':
        if (accept(l, "="))
            emit(l, OCL_TOK_EQLC);
        else if (peek(l) == '~')
            unexpected_char(l, "unexpected character after '=': %s", l->pos);
        else
            emit(l, OCL_TOK_ASSIGN);
        return;
    case '!':
        if (accept(l, "="))
            emit(l, OCL_TOK_NEQ);
        else if (l->pos >= l->n)
            errorf(l, "unexpected character after '!': %s", "'\\x00'");
        else
            unexpected_char(l, "unexpected character after '!': %s", l->pos);
        return;
    case '<':
    case '>':
        if (peek(l) == '/') {
            /* </ and >/ trim native histograms, which ocelot does not store */
            l->pos++;
            errorf(l, "trim operator %c/ is not supported (native histograms are not supported)",
                   c);
            return;
        }
        if (c == '<')
            emit(l, accept(l, "=") ? OCL_TOK_LTE : OCL_TOK_LSS);
        else
            emit(l, accept(l, "=") ? OCL_TOK_GTE : OCL_TOK_GTR);
        return;
    case '"':
    case '\'':
        lex_string(l, (char)c);
        return;
    case '`':
        lex_raw(l);
        return;
    case '(':
        l->paren_depth++;
        emit(l, OCL_TOK_LPAREN);
        return;
    case ')':
        if (l->paren_depth == 0) {
            errorf(l, "unexpected right parenthesis ')'");
            return;
        }
        l->paren_depth--;
        emit(l, OCL_TOK_RPAREN);
        return;
    case '{':
        l->brace_open = true;
        emit(l, OCL_TOK_LBRACE);
        return;
    case '[':
        if (l->bracket_open) {
            errorf(l, "unexpected left bracket '['");
            return;
        }
        l->bracket_open = true;
        emit(l, OCL_TOK_LBRACKET);
        return;
    case ']':
        if (!l->bracket_open) {
            errorf(l, "unexpected right bracket ']'");
            return;
        }
        l->bracket_open = false;
        emit(l, OCL_TOK_RBRACKET);
        return;
    default:
        unexpected_char(l, "unexpected character: %s", l->pos - 1);
    }
}

void ocl_pql_lex(ocl_arena_t *a, const char *q, uint32_t n, ocl_pql_toks_t *out)
{
    lexer_t l = {.q = q, .n = n, .a = a};
    while (!l.done)
        lex_statement(&l);
    out->v = l.v;
    out->n = l.nt;
}

static bool printable_rune(int32_t r)
{
    return r >= 0x20 && r != 0x7f && !(r >= 0x80 && r < 0xA0) && r != 0xAD;
}

void ocl_pql_quote(ocl_buf_t *out, const char *s, size_t n)
{
    ocl_buf_putc(out, '"');
    for (size_t i = 0; i < n;) {
        uint32_t w;
        int32_t r = rune_at(s + i, (uint32_t)OCL_MIN(n - i, 8), &w);
        if (r == -1) {
            ocl_buf_printf(out, "\\x%02x", (unsigned char)s[i]);
            i++;
            continue;
        }
        switch (r) {
        case '"':
            ocl_buf_puts(out, "\\\"");
            break;
        case '\\':
            ocl_buf_puts(out, "\\\\");
            break;
        case '\a':
            ocl_buf_puts(out, "\\a");
            break;
        case '\b':
            ocl_buf_puts(out, "\\b");
            break;
        case '\f':
            ocl_buf_puts(out, "\\f");
            break;
        case '\n':
            ocl_buf_puts(out, "\\n");
            break;
        case '\r':
            ocl_buf_puts(out, "\\r");
            break;
        case '\t':
            ocl_buf_puts(out, "\\t");
            break;
        case '\v':
            ocl_buf_puts(out, "\\v");
            break;
        default:
            if (printable_rune(r))
                ocl_buf_append(out, s + i, w);
            else if (r < 0x80)
                ocl_buf_printf(out, "\\x%02x", (unsigned)r);
            else if (r < 0x10000)
                ocl_buf_printf(out, "\\u%04x", (unsigned)r);
            else
                ocl_buf_printf(out, "\\U%08x", (unsigned)r);
        }
        i += w;
    }
    ocl_buf_putc(out, '"');
}

static void put_utf8(char *d, size_t *k, uint32_t r)
{
    if (r < 0x80)
        d[(*k)++] = (char)r;
    else if (r < 0x800)
        d[(*k)++] = (char)(0xC0 | (r >> 6)), d[(*k)++] = (char)(0x80 | (r & 0x3F));
    else if (r < 0x10000)
        d[(*k)++] = (char)(0xE0 | (r >> 12)), d[(*k)++] = (char)(0x80 | ((r >> 6) & 0x3F)),
        d[(*k)++] = (char)(0x80 | (r & 0x3F));
    else
        d[(*k)++] = (char)(0xF0 | (r >> 18)), d[(*k)++] = (char)(0x80 | ((r >> 12) & 0x3F)),
        d[(*k)++] = (char)(0x80 | ((r >> 6) & 0x3F)), d[(*k)++] = (char)(0x80 | (r & 0x3F));
}

int ocl_pql_unquote(ocl_arena_t *a, const char *s, size_t n, ocl_str_t *out, char *err,
                    size_t errlen)
{
    if (n < 2 || s[0] != s[n - 1]) {
        snprintf(err, errlen, "invalid syntax");
        return -1;
    }
    char quote = s[0];
    s++, n -= 2;
    if (quote == '`') {
        out->p = ocl_arena_strndup(a, s, n);
        out->n = n;
        return 0;
    }
    char *d = ocl_arena_alloc(a, n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        if (s[i] != '\\') {
            d[k++] = s[i++];
            continue;
        }
        i++;
        if (i >= n) goto bad;
        char c = s[i++];
        int nd = 0, base = 16;
        switch (c) {
        case 'a':
            d[k++] = '\a';
            continue;
        case 'b':
            d[k++] = '\b';
            continue;
        case 'f':
            d[k++] = '\f';
            continue;
        case 'n':
            d[k++] = '\n';
            continue;
        case 'r':
            d[k++] = '\r';
            continue;
        case 't':
            d[k++] = '\t';
            continue;
        case 'v':
            d[k++] = '\v';
            continue;
        case '\\':
            d[k++] = '\\';
            continue;
        case '\'':
        case '"':
            if (c != quote) goto bad;
            d[k++] = c;
            continue;
        case 'x':
            nd = 2;
            break;
        case 'u':
            nd = 4;
            break;
        case 'U':
            nd = 8;
            break;
        default:
            if (c >= '0' && c <= '7') {
                nd = 3, base = 8;
                i--;
                break;
            }
            goto bad;
        }
        uint32_t x = 0;
        for (int j = 0; j < nd; j++, i++) {
            if (i >= n) goto bad;
            int ch = (unsigned char)s[i];
            int v = is_digit(ch) ? ch - '0' : is_hex(ch) ? (ch | 0x20) - 'a' + 10 : 99;
            if (v >= base) goto bad;
            x = x * (uint32_t)base + (uint32_t)v;
        }
        if (c == 'x' || base == 8) {
            if (x > 255) goto bad;
            d[k++] = (char)x;
        } else {
            if (x > 0x10FFFF || (x >= 0xD800 && x < 0xE000)) goto bad;
            put_utf8(d, &k, x);
        }
    }
    d[k] = 0;
    out->p = d;
    out->n = k;
    return 0;
bad:
    snprintf(err, errlen, "invalid syntax");
    return -1;
}

int ocl_pql_parse_duration(const char *s, size_t n, int64_t *ms, char *err, size_t errlen)
{
    static const struct {
        const char *u;
        int64_t mult;
    } units[] = {{"y", 365LL * 86400000},
                 {"w", 7LL * 86400000},
                 {"d", 86400000},
                 {"h", 3600000},
                 {"m", 60000},
                 {"s", 1000},
                 {"ms", 1}};
    ocl_buf_t q;
    ocl_buf_init(&q);
    size_t i = 0, next_unit = 0;
    int64_t total = 0;
    if (n == 1 && s[0] == '0') {
        *ms = 0;
        return 0;
    }
    if (n == 0) {
        snprintf(err, errlen, "empty duration string");
        return -1;
    }
    while (i < n) {
        size_t ds = i;
        while (i < n && is_digit((unsigned char)s[i]))
            i++;
        if (i == ds) goto bad;
        size_t us = i;
        while (i < n && !is_digit((unsigned char)s[i]))
            i++;
        size_t ul = i - us, u;
        for (u = 0; u < OCL_ARRAY_LEN(units); u++)
            if (strlen(units[u].u) == ul && !memcmp(units[u].u, s + us, ul)) break;
        if (u == OCL_ARRAY_LEN(units)) {
            if (ul == 0) goto bad;
            ocl_buf_t uq;
            ocl_buf_init(&uq);
            ocl_pql_quote(&uq, s + us, ul);
            ocl_pql_quote(&q, s, n);
            snprintf(err, errlen, "unknown unit %.*s in duration %.*s", (int)OCL_MIN(uq.len, 100),
                     (const char *)uq.p, (int)OCL_MIN(q.len, 200), (const char *)q.p);
            ocl_buf_dispose(&uq);
            ocl_buf_dispose(&q);
            return -1;
        }
        if (u < next_unit) goto bad;
        next_unit = u + 1;
        int64_t v = 0;
        for (size_t j = ds; j < us; j++) {
            if (v > (INT64_MAX - 9) / 10) goto range;
            v = v * 10 + (s[j] - '0');
        }
        if (v > INT64_MAX / units[u].mult) goto range;
        v *= units[u].mult;
        if (total > INT64_MAX - v) goto range;
        total += v;
    }
    /* Prometheus stores durations as int64 nanoseconds. */
    if (total > INT64_MAX / 1000000) goto range;
    *ms = total;
    ocl_buf_dispose(&q);
    return 0;
range:
    snprintf(err, errlen, "duration out of range");
    ocl_buf_dispose(&q);
    return -1;
bad:
    ocl_pql_quote(&q, s, n);
    snprintf(err, errlen, "not a valid duration string: %.*s", (int)OCL_MIN(q.len, 200),
             (const char *)q.p);
    ocl_buf_dispose(&q);
    return -1;
}

void ocl_pql_format_duration(ocl_buf_t *out, int64_t ms)
{
    if (ms == 0) {
        ocl_buf_puts(out, "0s");
        return;
    }
    static const struct {
        const char *u;
        int64_t mult;
        bool exact;
    } units[] = {{"y", 365LL * 86400000, true},
                 {"w", 7LL * 86400000, true},
                 {"d", 86400000, false},
                 {"h", 3600000, false},
                 {"m", 60000, false},
                 {"s", 1000, false},
                 {"ms", 1, false}};
    for (size_t i = 0; i < OCL_ARRAY_LEN(units); i++) {
        if (units[i].exact && ms % units[i].mult != 0) continue;
        int64_t v = ms / units[i].mult;
        if (v > 0) {
            ocl_buf_printf(out, "%lld%s", (long long)v, units[i].u);
            ms -= v * units[i].mult;
        }
    }
}

bool ocl_pql_legacy_label(ocl_str_t s)
{
    if (s.n == 0) return false;
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (!(is_alpha(c) || (i > 0 && is_digit(c)))) return false;
    }
    return true;
}

static const char *const tok_text[] = {
    [OCL_TOK_LPAREN] = "(", [OCL_TOK_RPAREN] = ")",   [OCL_TOK_LBRACE] = "{",
    [OCL_TOK_RBRACE] = "}", [OCL_TOK_LBRACKET] = "[", [OCL_TOK_RBRACKET] = "]",
    [OCL_TOK_COMMA] = ",",  [OCL_TOK_COLON] = ":",    [OCL_TOK_ASSIGN] = "=",
};

void ocl_pql_tok_desc(const char *q, const ocl_pql_tok_t *t, char *buf, size_t len)
{
    const char *text = q + t->pos;
    int tl = (int)t->len;
    switch (t->type) {
    case OCL_TOK_EOF:
        snprintf(buf, len, "end of input");
        return;
    case OCL_TOK_ERROR:
        snprintf(buf, len, "%s", t->msg);
        return;
    case OCL_TOK_IDENT:
    case OCL_TOK_METRIC_ID: {
        ocl_buf_t b;
        ocl_buf_init(&b);
        ocl_pql_quote(&b, text, t->len);
        snprintf(buf, len, "%s %.*s", t->type == OCL_TOK_IDENT ? "identifier" : "metric identifier",
                 (int)OCL_MIN(b.len, 200), (const char *)b.p);
        ocl_buf_dispose(&b);
        return;
    }
    default:
        break;
    }
    if (t->type >= OCL_TOK_ADD && t->type <= OCL_TOK_ATAN2) {
        snprintf(buf, len, "<op:%.*s>", tl, text);
        return;
    }
    if (t->type >= OCL_TOK_AGG_FIRST && t->type <= OCL_TOK_AGG_LAST) {
        snprintf(buf, len, "<aggr:%.*s>", tl, text);
        return;
    }
    if (t->type >= OCL_TOK_OFFSET) {
        snprintf(buf, len, "<%.*s>", tl, text);
        return;
    }
    /* number, duration, string, punctuation: Go's %q of the text, or the
     * first 10 runes quoted followed by "..." when longer than 10 bytes. */
    const char *prefix = t->type == OCL_TOK_NUMBER     ? "number "
                         : t->type == OCL_TOK_DURATION ? "duration "
                         : t->type == OCL_TOK_STRING   ? "string "
                                                       : "";
    ocl_buf_t b;
    ocl_buf_init(&b);
    if (t->type < OCL_ARRAY_LEN(tok_text) && tok_text[t->type]) {
        ocl_pql_quote(&b, tok_text[t->type], 1);
    } else if (t->len > 10) {
        size_t i = 0;
        for (int r = 0; r < 10 && i < t->len; r++) {
            uint32_t w;
            rune_at(text + i, t->len - (uint32_t)i, &w);
            i += w;
        }
        ocl_pql_quote(&b, text, i);
        ocl_buf_puts(&b, "...");
    } else {
        ocl_pql_quote(&b, text, t->len);
    }
    snprintf(buf, len, "%s%.*s", prefix, (int)OCL_MIN(b.len, 200), (const char *)b.p);
    ocl_buf_dispose(&b);
}
