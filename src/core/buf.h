/*
 * buf.h — growable heap byte buffer used by encoders and response writers.
 * Owns its bytes; ocl_buf_dispose frees them. Growth is geometric.
 */
#ifndef OCL_BUF_H
#define OCL_BUF_H

#include "core/core.h"

typedef struct {
    unsigned char *p; /* bytes; NULL until first append */
    size_t len;       /* bytes used */
    size_t cap;       /* bytes allocated */
} ocl_buf_t;

static inline void ocl_buf_init(ocl_buf_t *b)
{
    b->p = NULL, b->len = 0, b->cap = 0;
}
void ocl_buf_dispose(ocl_buf_t *b);
/* Ensures room for `n` more bytes; returns a pointer to the free space. */
unsigned char *ocl_buf_reserve(ocl_buf_t *b, size_t n);
void ocl_buf_append(ocl_buf_t *b, const void *p, size_t n);
static inline void ocl_buf_putc(ocl_buf_t *b, char c)
{
    if (b->len == b->cap) ocl_buf_reserve(b, 1);
    b->p[b->len++] = (unsigned char)c;
}
static inline void ocl_buf_puts(ocl_buf_t *b, const char *s)
{
    ocl_buf_append(b, s, strlen(s));
}
void ocl_buf_printf(ocl_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Takes ownership of the bytes away from the buffer (caller frees). */
unsigned char *ocl_buf_steal(ocl_buf_t *b, size_t *len);

#endif
