/*
 * json_writer.c — streaming JSON writer (see json_writer.h).
 *
 * Invariants: every value/key entry point first calls sep(), which appends a
 * comma unless the output is at the start of the writer or the previous
 * byte opens a container or ends a key. String escaping has an ASCII fast
 * path that copies runs of safe bytes in one append.
 * Workload: many short strings (attribute keys and values) and numbers.
 */
#include "wire/json_writer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

void ocl_jw_init(ocl_jw_t *w, ocl_buf_t *out)
{
    w->out = out;
    w->start = out->len;
}

static void sep(ocl_jw_t *w)
{
    ocl_buf_t *b = w->out;
    if (b->len <= w->start) return;
    char c = (char)b->p[b->len - 1];
    if (c == '{' || c == '[' || c == ':' || c == ',') return;
    ocl_buf_putc(b, ',');
}

void ocl_jw_obj_begin(ocl_jw_t *w)
{
    sep(w);
    ocl_buf_putc(w->out, '{');
}

void ocl_jw_obj_end(ocl_jw_t *w)
{
    ocl_buf_putc(w->out, '}');
}

void ocl_jw_arr_begin(ocl_jw_t *w)
{
    sep(w);
    ocl_buf_putc(w->out, '[');
}

void ocl_jw_arr_end(ocl_jw_t *w)
{
    ocl_buf_putc(w->out, ']');
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    if (c < 0x80) return 1;
    if (c < 0xC2) return 0;
    if (c < 0xE0) return (n >= 2 && (p[1] & 0xC0) == 0x80) ? 2 : 0;
    if (c < 0xF0) {
        if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && p[1] < 0xA0) return 0;  /* overlong */
        if (c == 0xED && p[1] >= 0xA0) return 0; /* surrogate */
        return 3;
    }
    if (c < 0xF5) {
        if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && p[1] < 0x90) return 0;  /* overlong */
        if (c == 0xF4 && p[1] >= 0x90) return 0; /* > U+10FFFF */
        return 4;
    }
    return 0;
}

static void put_escaped(ocl_buf_t *b, const char *s, size_t n)
{
    static const char hexd[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    ocl_buf_putc(b, '"');
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\')
            run++;
        if (run > i) {
            ocl_buf_append(b, p + i, run - i);
            i = run;
            if (i == n) break;
        }
        unsigned c = p[i];
        if (c >= 0x80) {
            size_t l = utf8_len(p + i, n - i);
            if (l) {
                ocl_buf_append(b, p + i, l);
                i += l;
            } else {
                ocl_buf_append(b, "\\ufffd", 6);
                i++;
            }
            continue;
        }
        i++;
        switch (c) {
        case '"':
            ocl_buf_append(b, "\\\"", 2);
            break;
        case '\\':
            ocl_buf_append(b, "\\\\", 2);
            break;
        case '\n':
            ocl_buf_append(b, "\\n", 2);
            break;
        case '\r':
            ocl_buf_append(b, "\\r", 2);
            break;
        case '\t':
            ocl_buf_append(b, "\\t", 2);
            break;
        case '\b':
            ocl_buf_append(b, "\\b", 2);
            break;
        case '\f':
            ocl_buf_append(b, "\\f", 2);
            break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hexd[c >> 4], hexd[c & 15]};
            ocl_buf_append(b, u, 6);
        }
        }
    }
    ocl_buf_putc(b, '"');
}

void ocl_jw_key(ocl_jw_t *w, const char *key)
{
    ocl_jw_key_str(w, ocl_str_c(key));
}

void ocl_jw_key_str(ocl_jw_t *w, ocl_str_t key)
{
    sep(w);
    put_escaped(w->out, key.p, key.n);
    ocl_buf_putc(w->out, ':');
}

void ocl_jw_str(ocl_jw_t *w, ocl_str_t s)
{
    sep(w);
    put_escaped(w->out, s.p, s.n);
}

void ocl_jw_cstr(ocl_jw_t *w, const char *s)
{
    if (!s) {
        ocl_jw_null(w);
        return;
    }
    ocl_jw_str(w, ocl_str_c(s));
}

/* Writes v in decimal ending at end; returns the first digit. */
static char *fmt_u64(uint64_t v, char *end)
{
    char *p = end;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return p;
}

static void put_int(ocl_jw_t *w, int64_t v, bool quoted)
{
    char tmp[24];
    char *end = tmp + sizeof tmp;
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    char *p = fmt_u64(mag, end);
    if (v < 0) *--p = '-';
    sep(w);
    if (quoted) ocl_buf_putc(w->out, '"');
    ocl_buf_append(w->out, p, (size_t)(end - p));
    if (quoted) ocl_buf_putc(w->out, '"');
}

static void put_uint(ocl_jw_t *w, uint64_t v, bool quoted)
{
    char tmp[24];
    char *end = tmp + sizeof tmp;
    char *p = fmt_u64(v, end);
    sep(w);
    if (quoted) ocl_buf_putc(w->out, '"');
    ocl_buf_append(w->out, p, (size_t)(end - p));
    if (quoted) ocl_buf_putc(w->out, '"');
}

void ocl_jw_int(ocl_jw_t *w, int64_t v)
{
    put_int(w, v, false);
}
void ocl_jw_uint(ocl_jw_t *w, uint64_t v)
{
    put_uint(w, v, false);
}
void ocl_jw_int_str(ocl_jw_t *w, int64_t v)
{
    put_int(w, v, true);
}
void ocl_jw_uint_str(ocl_jw_t *w, uint64_t v)
{
    put_uint(w, v, true);
}

size_t ocl_jw_fmt_double(double v, char *buf)
{
    if (isnan(v)) return (size_t)sprintf(buf, "NaN");
    if (isinf(v)) return (size_t)sprintf(buf, v < 0 ? "-Infinity" : "Infinity");
    /* "-0" would be read back as the integer 0 by most parsers. */
    if (v == 0 && signbit(v)) return (size_t)sprintf(buf, "-0.0");
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(buf, 32, "%.*g", prec, v);
        if (prec == 17 || strtod(buf, NULL) == v) break;
    }
    return (size_t)n;
}

void ocl_jw_double(ocl_jw_t *w, double v)
{
    char tmp[32];
    size_t n = ocl_jw_fmt_double(v, tmp);
    sep(w);
    if (!isfinite(v)) {
        ocl_buf_putc(w->out, '"');
        ocl_buf_append(w->out, tmp, n);
        ocl_buf_putc(w->out, '"');
    } else {
        ocl_buf_append(w->out, tmp, n);
    }
}

void ocl_jw_bool(ocl_jw_t *w, bool v)
{
    sep(w);
    if (v)
        ocl_buf_append(w->out, "true", 4);
    else
        ocl_buf_append(w->out, "false", 5);
}

void ocl_jw_null(ocl_jw_t *w)
{
    sep(w);
    ocl_buf_append(w->out, "null", 4);
}

void ocl_jw_hex(ocl_jw_t *w, const void *p, size_t n)
{
    static const char hexd[] = "0123456789abcdef";
    const unsigned char *s = p;
    sep(w);
    unsigned char *d = ocl_buf_reserve(w->out, 2 * n + 2);
    *d++ = '"';
    for (size_t i = 0; i < n; i++) {
        *d++ = (unsigned char)hexd[s[i] >> 4];
        *d++ = (unsigned char)hexd[s[i] & 15];
    }
    *d = '"';
    w->out->len += 2 * n + 2;
}

void ocl_jw_base64(ocl_jw_t *w, const void *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *s = p;
    size_t outn = (n + 2) / 3 * 4;
    sep(w);
    unsigned char *d = ocl_buf_reserve(w->out, outn + 2);
    unsigned char *d0 = d;
    *d++ = '"';
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        *d++ = (unsigned char)tab[v >> 18];
        *d++ = (unsigned char)tab[(v >> 12) & 63];
        *d++ = (unsigned char)tab[(v >> 6) & 63];
        *d++ = (unsigned char)tab[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)s[i] << 16;
        *d++ = (unsigned char)tab[v >> 18];
        *d++ = (unsigned char)tab[(v >> 12) & 63];
        *d++ = '=';
        *d++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
        *d++ = (unsigned char)tab[v >> 18];
        *d++ = (unsigned char)tab[(v >> 12) & 63];
        *d++ = (unsigned char)tab[(v >> 6) & 63];
        *d++ = '=';
    }
    *d++ = '"';
    w->out->len += (size_t)(d - d0);
}

void ocl_jw_raw(ocl_jw_t *w, const char *json, size_t n)
{
    sep(w);
    ocl_buf_append(w->out, json, n);
}
