/*
 * ocelot.h — libocelot, an OpenTelemetry SDK for C programs: lifecycle,
 * configuration, attributes, allocator hook, error codes and self-metrics.
 *
 * Invariants of the whole API:
 *  - Every public name starts with `ocelot_` / `OCELOT_`.
 *  - No function aborts, blocks the caller beyond a deadline it was given,
 *    or dereferences a NULL handle: calls on NULL or no-op handles return
 *    OCELOT_EINVAL / do nothing. Functions that return handles never return
 *    NULL for spans (a shared no-op span is returned instead).
 *  - Allocation failure is reported as OCELOT_ENOMEM (or counted as a drop
 *    on paths with no return value); it never terminates the program.
 *  - Strings passed in are copied when the SDK keeps them; the caller keeps
 *    ownership of everything it passes.
 *  - With OTEL_SDK_DISABLED=true (or opts.disabled) every call is a cheap
 *    no-op.
 *  - ABI: option and record structs end in reserved fields that callers
 *    zero (designated initialisers do), so later versions can add fields
 *    without breaking programs built against this header.
 *
 * Include this header (it includes trace.h, propagation.h, metrics.h and
 * logs.h) and link with `pkg-config --libs ocelot`.
 */
#ifndef OCELOT_OCELOT_H
#define OCELOT_OCELOT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

#define OCELOT_VERSION "0.1.0"

/* Error codes: 0 is success, every failure is negative. */
enum {
    OCELOT_OK = 0,
    OCELOT_EINVAL = -22,     /* bad argument or malformed input */
    OCELOT_ENOMEM = -12,     /* the allocator returned NULL */
    OCELOT_ETIMEDOUT = -110, /* a deadline passed before the work finished */
    OCELOT_ESTATE = -1001,   /* wrong lifecycle state (not initialised, shut down) */
    OCELOT_EFULL = -1002,    /* a bounded queue or table is full; item dropped */
    OCELOT_EIO = -1003,      /* an export failed */
    OCELOT_ENOTSUP = -1004,  /* not implemented in this version */
};

/* Fixed English text for an error code (static storage). */
const char *ocelot_strerror(int err);

/* ---- allocator hook ---------------------------------------------------- */

/* Every allocation of the SDK goes through realloc_fn (malloc when p is
 * NULL, free when n is 0; must return NULL for n == 0). Must be thread-safe.
 * ud is passed through unchanged. */
typedef struct ocelot_allocator {
    void *(*realloc_fn)(void *ud, void *p, size_t n); /* required */
    void *ud;                                         /* opaque user data */
} ocelot_allocator_t;

/* Installs the allocator. Only before the first ocelot_init of the process
 * (OCELOT_ESTATE after: pooled memory outlives shutdown);
 * NULL restores the C library allocator. The struct is copied. */
int ocelot_set_allocator(const ocelot_allocator_t *a);

/* ---- attributes ---------------------------------------------------------- */

typedef enum {
    OCELOT_ATTR_STRING = 1,
    OCELOT_ATTR_BOOL,
    OCELOT_ATTR_INT,
    OCELOT_ATTR_DOUBLE,
    OCELOT_ATTR_STRING_ARRAY, /* arr.p is const char *const[] */
    OCELOT_ATTR_BOOL_ARRAY,   /* arr.p is const int[] (0 / non-zero) */
    OCELOT_ATTR_INT_ARRAY,    /* arr.p is const int64_t[] */
    OCELOT_ATTR_DOUBLE_ARRAY, /* arr.p is const double[] */
} ocelot_attr_type_t;

/* One key/value. Borrowed: the SDK copies key and value when it keeps
 * them. String values are NUL-terminated unless len != 0 (then exactly len
 * bytes are used; use len for strings with NUL bytes or without a
 * terminator). */
typedef struct ocelot_attr {
    const char *key;         /* NUL-terminated, non-empty */
    ocelot_attr_type_t type; /* which member of v is set */
    union {
        struct {
            const char *p; /* string bytes */
            size_t len;    /* 0 = strlen(p) */
        } s;
        int b;     /* bool */
        int64_t i; /* int */
        double d;  /* double */
        struct {
            const void *p; /* array of the element type */
            size_t n;      /* number of elements */
        } arr;
    } v;
} ocelot_attr_t;

/* Compound-literal constructors: OCELOT_STR("http.method", "GET"). */
#define OCELOT_STR(k, val)                                                                         \
    ((ocelot_attr_t){.key = (k), .type = OCELOT_ATTR_STRING, .v.s = {(val), 0}})
#define OCELOT_STRN(k, val, n)                                                                     \
    ((ocelot_attr_t){.key = (k), .type = OCELOT_ATTR_STRING, .v.s = {(val), (n)}})
#define OCELOT_INT(k, val) ((ocelot_attr_t){.key = (k), .type = OCELOT_ATTR_INT, .v.i = (val)})
#define OCELOT_DBL(k, val) ((ocelot_attr_t){.key = (k), .type = OCELOT_ATTR_DOUBLE, .v.d = (val)})
#define OCELOT_BOOL(k, val) ((ocelot_attr_t){.key = (k), .type = OCELOT_ATTR_BOOL, .v.b = (val)})
#define OCELOT_ARR(k, t, ptr, count)                                                               \
    ((ocelot_attr_t){.key = (k), .type = (t), .v.arr = {(ptr), (count)}})

/* ---- configuration --------------------------------------------------------- */

/* Exporter selection (OTEL_TRACES_EXPORTER etc.). */
typedef enum {
    OCELOT_EXPORTER_DEFAULT = 0, /* take it from the environment (default otlp) */
    OCELOT_EXPORTER_OTLP,        /* OTLP/HTTP protobuf */
    OCELOT_EXPORTER_CONSOLE,     /* one JSON object per line on stderr/stdout */
    OCELOT_EXPORTER_NONE,        /* records are processed and discarded */
    OCELOT_EXPORTER_CALLBACK,    /* encoded OTLP requests handed to opts.export_cb */
} ocelot_exporter_kind_t;

typedef enum {
    OCELOT_SIGNAL_TRACES = 0,
    OCELOT_SIGNAL_METRICS = 1,
    OCELOT_SIGNAL_LOGS = 2,
} ocelot_signal_t;

/* Callback exporter: receives the protobuf-encoded
 * Export{Trace,Metrics,Logs}ServiceRequest. body is valid only during the
 * call. Return 0 on success, negative to count a failure. Runs on the
 * SDK's export thread. */
typedef int (*ocelot_export_fn)(void *ud, ocelot_signal_t signal, const uint8_t *body, size_t len);

/* Options for ocelot_init. Zero/NULL fields mean "from the environment,
 * else the specification's default". Options override the environment. */
typedef struct ocelot_options {
    const char *service_name;               /* service.name */
    const ocelot_attr_t *resource_attrs;    /* extra resource attributes (copied) */
    size_t n_resource_attrs;                /* count of resource_attrs */
    int disabled;                           /* 1 = behave as OTEL_SDK_DISABLED=true */
    ocelot_exporter_kind_t traces_exporter; /* per-signal exporter choice */
    ocelot_exporter_kind_t metrics_exporter;
    ocelot_exporter_kind_t logs_exporter;
    ocelot_export_fn export_cb; /* for OCELOT_EXPORTER_CALLBACK */
    void *export_cb_ud;         /* passed to export_cb */
    int no_env;                 /* 1 = ignore OTEL_* variables (tests) */
    void *reserved[8];          /* future options; must be zero */
} ocelot_options_t;

/* Starts the SDK: reads the environment, builds the resource, starts the
 * export threads. opts may be NULL. Calling it twice returns OCELOT_ESTATE.
 * Invalid environment values are reported on stderr and ignored. */
int ocelot_init(const ocelot_options_t *opts);

/* Exports everything queued so far; returns within timeout_ms (0 =
 * OTEL_BSP_EXPORT_TIMEOUT) with 0 or OCELOT_ETIMEDOUT. A span or log export
 * still running at the deadline is aborted (see docs/SDK.md). */
int ocelot_force_flush(uint32_t timeout_ms);

/* Flushes (bounded by timeout_ms), stops the threads and frees everything.
 * Never hangs, even with the backend down. Handles obtained earlier become
 * no-ops; spans still open are dropped. ocelot_init may be called again. */
int ocelot_shutdown(uint32_t timeout_ms);

/* 1 when the SDK is initialised and not disabled. */
int ocelot_enabled(void);

/* ---- self-metrics ---------------------------------------------------------- */

/* Counters since init (monotonic) and current gauges. Also exported as
 * metrics named otel.sdk.* by the metrics pipeline when it runs. */
typedef struct ocelot_stats {
    uint64_t spans_ended;            /* recording spans ended: queued + dropped unqueued
                                      * (a queued span dropped later counts once) */
    uint64_t spans_dropped;          /* dropped: no slot, queue full, export failed, shutdown */
    uint64_t spans_exported;         /* accepted by the backend */
    uint64_t spans_rejected;         /* partial_success.rejected_spans */
    uint64_t span_export_failures;   /* export requests that failed for good */
    uint64_t span_queue_size;        /* spans waiting now */
    uint64_t logs_emitted;           /* log records emitted: queued + dropped unqueued
                                      * (a queued record dropped later counts once) */
    uint64_t logs_dropped;           /* dropped: queue full, export failed/rejected, shutdown */
    uint64_t logs_exported;          /* accepted by the backend */
    uint64_t log_export_failures;    /* export requests that failed for good */
    uint64_t log_queue_size;         /* records waiting now */
    uint64_t metric_exports;         /* metric export requests that succeeded */
    uint64_t metric_export_failures; /* metric export requests that failed */
    uint64_t metric_overflows;       /* measurements folded into overflow series */
    uint64_t export_retries;         /* retried requests, all signals */
    uint64_t reserved[16];           /* future counters (zero) */
} ocelot_stats_t;

/* Fills *out (any time, also before init: zeros). */
int ocelot_stats_get(ocelot_stats_t *out);

/* Nanoseconds since the Unix epoch (CLOCK_REALTIME). */
uint64_t ocelot_now_ns(void);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif

#include "ocelot/logs.h"
#include "ocelot/metrics.h"
#include "ocelot/propagation.h"
#include "ocelot/trace.h"

#endif
