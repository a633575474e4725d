/*
 * buf.c — see buf.h.
 */
#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void ocl_buf_dispose(ocl_buf_t *b)
{
    free(b->p);
    ocl_buf_init(b);
}

unsigned char *ocl_buf_reserve(ocl_buf_t *b, size_t n)
{
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < n)
            cap *= 2;
        b->p = ocl_realloc(b->p, cap);
        b->cap = cap;
    }
    return b->p + b->len;
}

void ocl_buf_append(ocl_buf_t *b, const void *p, size_t n)
{
    if (!n) return;
    memcpy(ocl_buf_reserve(b, n), p, n);
    b->len += n;
}

void ocl_buf_printf(ocl_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        ocl_buf_append(b, tmp, (size_t)n);
        return;
    }
    unsigned char *dst = ocl_buf_reserve(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf((char *)dst, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

unsigned char *ocl_buf_steal(ocl_buf_t *b, size_t *len)
{
    unsigned char *p = b->p;
    if (len) *len = b->len;
    ocl_buf_init(b);
    return p;
}
