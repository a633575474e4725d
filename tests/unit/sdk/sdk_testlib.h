/*
 * sdk_testlib.h — helpers for the SDK unit tests: a minimal protobuf
 * field reader over captured export bodies (independent of the SDK's
 * encoder: it only knows the wire format), a capturing callback exporter
 * and a counting allocator.
 */
#ifndef SDK_TESTLIB_H
#define SDK_TESTLIB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ocelot/ocelot.h"

typedef struct view {
    const uint8_t *p; /* bytes */
    size_t n;         /* length */
} view_t;

static __attribute__((unused)) int rd_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    for (int s = 0; s < 64 && *p < end; s += 7) {
        uint8_t c = *(*p)++;
        x |= (uint64_t)(c & 0x7f) << s;
        if (c < 0x80) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* Visits every occurrence of field in msg; returns how many, storing up
 * to max of them (LEN fields as views, numbers in num). */
static __attribute__((unused)) int pb_fields(view_t msg, uint32_t field, view_t *out, uint64_t *num,
                                             int max)
{
    const uint8_t *p = msg.p, *end = msg.p + msg.n;
    int n = 0;
    while (p < end) {
        uint64_t tag, v = 0;
        if (rd_varint(&p, end, &tag)) return -1;
        uint32_t f = (uint32_t)(tag >> 3), wt = (uint32_t)(tag & 7);
        view_t w = {NULL, 0};
        switch (wt) {
        case 0:
            if (rd_varint(&p, end, &v)) return -1;
            break;
        case 1:
            if (end - p < 8) return -1;
            for (int i = 7; i >= 0; i--)
                v = v << 8 | p[i];
            p += 8;
            break;
        case 5:
            if (end - p < 4) return -1;
            for (int i = 3; i >= 0; i--)
                v = v << 8 | p[i];
            p += 4;
            break;
        case 2:
            if (rd_varint(&p, end, &v) || v > (uint64_t)(end - p)) return -1;
            w.p = p;
            w.n = (size_t)v;
            p += v;
            break;
        default:
            return -1;
        }
        if (f == field) {
            if (n < max) {
                if (out) out[n] = w;
                if (num) num[n] = v;
            }
            n++;
        }
    }
    return n;
}

static __attribute__((unused)) view_t pb_sub(view_t msg, uint32_t field)
{
    view_t v = {NULL, 0};
    pb_fields(msg, field, &v, NULL, 1);
    return v;
}

static __attribute__((unused)) uint64_t pb_num(view_t msg, uint32_t field)
{
    uint64_t v = 0;
    pb_fields(msg, field, NULL, &v, 1);
    return v;
}

static __attribute__((unused)) int pb_str_eq(view_t v, const char *s)
{
    return v.p && v.n == strlen(s) && !memcmp(v.p, s, v.n);
}

/* Finds attribute key in a message whose KeyValues are in field kvf;
 * returns the AnyValue view. */
static __attribute__((unused)) view_t pb_attr(view_t msg, uint32_t kvf, const char *key)
{
    view_t kv[256];
    int n = pb_fields(msg, kvf, kv, NULL, 256);
    for (int i = 0; i < n && i < 256; i++)
        if (pb_str_eq(pb_sub(kv[i], 1), key)) return pb_sub(kv[i], 2);
    return (view_t){NULL, 0};
}

/* ---- capturing exporter ---- */

#define CAP_MAX 4096
typedef struct capture {
    pthread_mutex_t mu;
    uint8_t *body[CAP_MAX];
    size_t len[CAP_MAX];
    int signal[CAP_MAX];
    int n;
    int fail; /* return failure */
} capture_t;

static capture_t g_cap = {PTHREAD_MUTEX_INITIALIZER};

static __attribute__((unused)) int capture_cb(void *ud, ocelot_signal_t sig, const uint8_t *b,
                                              size_t n)
{
    (void)ud;
    pthread_mutex_lock(&g_cap.mu);
    if (g_cap.n < CAP_MAX) {
        g_cap.body[g_cap.n] = malloc(n ? n : 1);
        memcpy(g_cap.body[g_cap.n], b, n);
        g_cap.len[g_cap.n] = n;
        g_cap.signal[g_cap.n] = sig;
        g_cap.n++;
    }
    int f = g_cap.fail;
    pthread_mutex_unlock(&g_cap.mu);
    return f ? -1 : 0;
}

static __attribute__((unused)) void capture_reset(void)
{
    pthread_mutex_lock(&g_cap.mu);
    for (int i = 0; i < g_cap.n; i++)
        free(g_cap.body[i]);
    g_cap.n = 0;
    g_cap.fail = 0;
    pthread_mutex_unlock(&g_cap.mu);
}

/* Collects every span (field 2 of ScopeSpans) of captured trace requests. */
static __attribute__((unused)) int captured_spans(view_t *out, int max)
{
    int n = 0;
    for (int i = 0; i < g_cap.n; i++) {
        if (g_cap.signal[i] != OCELOT_SIGNAL_TRACES) continue;
        view_t req = {g_cap.body[i], g_cap.len[i]};
        view_t rs[8], ss[64], sp[4096];
        int nrs = pb_fields(req, 1, rs, NULL, 8);
        for (int a = 0; a < nrs && a < 8; a++) {
            int nss = pb_fields(rs[a], 2, ss, NULL, 64);
            for (int b = 0; b < nss && b < 64; b++) {
                int nsp = pb_fields(ss[b], 2, sp, NULL, 4096);
                for (int c = 0; c < nsp && c < 4096; c++) {
                    if (n < max) out[n] = sp[c];
                    n++;
                }
            }
        }
    }
    return n;
}

/* ---- counting allocator ---- */

static _Atomic long g_allocs;     /* allocations (realloc with n > 0) */
static _Atomic long g_live_bytes; /* approximate bytes live */

static __attribute__((unused)) void *count_realloc(void *ud, void *p, size_t n)
{
    (void)ud;
    size_t old = p ? ((size_t *)p)[-2] : 0;
    if (n == 0) {
        if (p) {
            atomic_fetch_sub(&g_live_bytes, (long)old);
            free((size_t *)p - 2);
        }
        return NULL;
    }
    atomic_fetch_add(&g_allocs, 1);
    size_t *b = realloc(p ? (size_t *)p - 2 : NULL, n + 2 * sizeof(size_t));
    if (!b) return NULL;
    b[0] = n;
    atomic_fetch_add(&g_live_bytes, (long)n - (long)old);
    return b + 2;
}

#endif
