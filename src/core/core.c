/*
 * core.c — error strings, allocation wrappers, UTF-8 validation.
 * ocl_utf8_valid runs on every string of every OTLP request, so it scans
 * 8 bytes at a time while they are ASCII.
 */
#include "core/core.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

const char *ocl_strerror(int err)
{
    switch (err) {
    case OCL_OK:
        return "ok";
    case OCL_EINVAL:
        return "invalid input";
    case OCL_ENOMEM:
        return "out of memory";
    case OCL_EAGAIN:
        return "need more input";
    case OCL_ETOOBIG:
        return "exceeds size limit";
    case OCL_EIO:
        return "i/o error";
    case OCL_ENOTFOUND:
        return "not found";
    case OCL_EBUSY:
        return "overloaded";
    case OCL_EDEPTH:
        return "nesting too deep";
    case OCL_EUTF8:
        return "invalid UTF-8";
    case OCL_ECORRUPT:
        return "corrupt data";
    case OCL_EUNSUPP:
        return "unsupported";
    }
    return "unknown error";
}

int ocl_str_ieq_c(ocl_str_t a, const char *c)
{
    size_t n = strlen(c);
    if (a.n != n) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a.p[i], y = (unsigned char)c[i];
        if (x >= 'A' && x <= 'Z') x += 32;
        if (y >= 'A' && y <= 'Z') y += 32;
        if (x != y) return 0;
    }
    return 1;
}

static void oom(size_t n)
{
    fprintf(stderr, "ocelot: out of memory allocating %zu bytes\n", n);
    abort();
}

void *ocl_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *ocl_calloc(size_t count, size_t n)
{
    void *p = calloc(count ? count : 1, n ? n : 1);
    if (!p) oom(count * n);
    return p;
}

void *ocl_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

char *ocl_strndup(const char *s, size_t n)
{
    char *d = ocl_malloc(n + 1);
    if (n) memcpy(d, s, n);
    d[n] = 0;
    return d;
}

int ocl_utf8_valid(const void *data, size_t n)
{
    const unsigned char *s = data, *end = s + n;
    while (s < end) {
        if (end - s >= 8) {
            uint64_t w;
            memcpy(&w, s, 8);
            if ((w & 0x8080808080808080ull) == 0) {
                s += 8;
                continue;
            }
        }
        unsigned c = *s;
        if (c < 0x80) {
            s++;
            continue;
        }
        size_t len;
        unsigned min;
        unsigned cp;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2, min = 0x80, cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3, min = 0x800, cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4, min = 0x10000, cp = c & 0x07;
        } else {
            return 0;
        }
        if ((size_t)(end - s) < len) return 0;
        for (size_t i = 1; i < len; i++) {
            if ((s[i] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        s += len;
    }
    return 1;
}

int ocl_mkdir_p(const char *path)
{
    char tmp[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp) return OCL_EINVAL;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return OCL_EIO;
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return OCL_EIO;
    return 0;
}

int ocl_read_file(const char *path, size_t max_bytes, uint8_t **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? OCL_ENOTFOUND : OCL_EIO;
    int rc = OCL_EIO;
    uint8_t *buf = NULL;
    size_t got = 0;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || sb.st_size < 0) goto done;
    size_t n = (size_t)sb.st_size;
    if (max_bytes && n > max_bytes) {
        rc = OCL_ECORRUPT;
        goto done;
    }
    buf = ocl_malloc(n + 1);
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) goto done;
        if (r == 0) break; /* shrank meanwhile */
        got += (size_t)r;
    }
    buf[got] = 0;
    *out = buf;
    *len = got;
    buf = NULL;
    rc = 0;
done:
    ocl_free(buf);
    close(fd);
    return rc;
}

int ocl_fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return OCL_EIO;
    int rc = fsync(fd) == 0 ? 0 : OCL_EIO;
    close(fd);
    return rc;
}
