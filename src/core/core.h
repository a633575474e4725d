/*
 * core.h — the few definitions every ocelot module uses: error codes, the
 * string view, allocation wrappers and small helpers.
 *
 * Invariants: functions return 0 on success and a negative OCL_E* code on
 * failure. ocl_str_t never owns its bytes; its owner is stated where the view
 * is handed out. The server's allocation wrappers abort on out-of-memory (the
 * server cannot do anything useful without memory; the SDK never uses them).
 */
#ifndef OCL_CORE_H
#define OCL_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Error codes (negative). Keep ocl_strerror() in sync. */
enum {
    OCL_OK = 0,
    OCL_EINVAL = -1,    /* malformed input */
    OCL_ENOMEM = -2,    /* allocation failed (SDK) */
    OCL_EAGAIN = -3,    /* need more input */
    OCL_ETOOBIG = -4,   /* input exceeds a configured limit */
    OCL_EIO = -5,       /* I/O error, errno holds details */
    OCL_ENOTFOUND = -6, /* no such item */
    OCL_EBUSY = -7,     /* overloaded, retry later */
    OCL_EDEPTH = -8,    /* nesting bound exceeded */
    OCL_EUTF8 = -9,     /* invalid UTF-8 in a string field */
    OCL_ECORRUPT = -10, /* checksum or framing failure in stored data */
    OCL_EUNSUPP = -11,  /* unsupported feature / content type */
};

const char *ocl_strerror(int err);

/* A borrowed byte range. */
typedef struct {
    const char *p; /* first byte; may be NULL when n == 0 */
    size_t n;      /* length in bytes */
} ocl_str_t;

#define OCL_STR(lit) ((ocl_str_t){(lit), sizeof(lit) - 1})
#define OCL_STR_NULL ((ocl_str_t){NULL, 0})

static inline ocl_str_t ocl_str_c(const char *s)
{
    return (ocl_str_t){s, s ? strlen(s) : 0};
}
static inline int ocl_str_eq(ocl_str_t a, ocl_str_t b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}
static inline int ocl_str_eq_c(ocl_str_t a, const char *c)
{
    return ocl_str_eq(a, ocl_str_c(c));
}
/* ASCII case-insensitive comparison (HTTP header names, media types). */
int ocl_str_ieq_c(ocl_str_t a, const char *c);

#define OCL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define OCL_MIN(a, b) ((a) < (b) ? (a) : (b))
#define OCL_MAX(a, b) ((a) > (b) ? (a) : (b))
#define OCL_LIKELY(x) __builtin_expect(!!(x), 1)
#define OCL_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Allocation wrappers: abort with a message on out-of-memory. */
void *ocl_malloc(size_t n);
void *ocl_calloc(size_t count, size_t n);
void *ocl_realloc(void *p, size_t n);
char *ocl_strndup(const char *s, size_t n);
#define ocl_free free

/* Creates a directory and its missing parents (mode 0755). 0 or OCL_EIO
 * (errno set), OCL_EINVAL for a path longer than PATH_MAX. */
int ocl_mkdir_p(const char *path);
/* fsyncs a directory (its entries become durable). 0 or OCL_EIO. */
int ocl_fsync_dir(const char *path);
/* Reads a whole file into an ocl_malloc'd buffer with a NUL byte after the
 * content (*out is never NULL on success). 0; OCL_ENOTFOUND when it does
 * not exist; OCL_ECORRUPT when larger than max_bytes (0 = no limit);
 * OCL_EIO on any other failure (errno set) — a read error part-way is an
 * error, never a shorter file. A file that shrinks while being read yields
 * what it still held. */
int ocl_read_file(const char *path, size_t max_bytes, uint8_t **out, size_t *len);

/* Validates UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF). */
int ocl_utf8_valid(const void *p, size_t n);

#endif
