/*
 * internal.h — libocelot's private structures shared by the files of sdk/:
 * global state, configuration, attribute storage, record pools, the MPSC
 * queue, the batch processor and the exporters.
 *
 * Invariants:
 *  - Nothing here is part of the ABI; everything non-static is hidden
 *    (built with -fvisibility=hidden; public headers push default).
 *  - Internal non-static names use the `osdk_` prefix.
 *  - Record slots (spans, log records) come from a pool, are recycled and
 *    never freed while the process runs (handles held by the application
 *    after shutdown stay harmless); each slot carries the epoch it was
 *    taken in and is ignored when the epoch changed (shutdown, fork).
 *  - Attribute values and names are copied into a per-slot arena that is
 *    retained across reuse, so steady state allocates nothing.
 *
 * Workload: spans started/ended at up to tens of millions per second per
 * process; one export thread per signal.
 */
#ifndef OCELOT_SDK_INTERNAL_H
#define OCELOT_SDK_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ocelot/ocelot.h"
#include "pbwire.h"

#define OSDK_LIKELY(x) __builtin_expect(!!(x), 1)
#define OSDK_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* Thread-locals of the hot path: initial-exec avoids __tls_get_addr calls
 * in the -fPIC builds (the variables are small). */
#define OSDK_TLS __thread __attribute__((tls_model("initial-exec")))

/* ---- allocation (alloc.c) ---- */
void *osdk_realloc(void *p, size_t n); /* NULL on failure; n == 0 frees */
void *osdk_malloc(size_t n);
void *osdk_calloc(size_t n);
void osdk_free(void *p);
char *osdk_strdup(const char *s);                    /* NULL for NULL or ENOMEM */
void *osdk_pbw_realloc(void *ud, void *p, size_t n); /* for pbw_buf_t */

/* ---- clocks ---- */
static inline uint64_t osdk_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
static inline uint64_t osdk_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- configuration (config.c) ---- */

enum {
    OSDK_SAMPLER_ALWAYS_ON = 1,
    OSDK_SAMPLER_ALWAYS_OFF,
    OSDK_SAMPLER_RATIO,
    OSDK_SAMPLER_PB_ALWAYS_ON,
    OSDK_SAMPLER_PB_ALWAYS_OFF,
    OSDK_SAMPLER_PB_RATIO
};

enum { OSDK_PROP_TRACECONTEXT = 1, OSDK_PROP_BAGGAGE = 2 };

/* Per-signal exporter settings. */
typedef struct osdk_export_cfg {
    ocelot_exporter_kind_t kind; /* OTLP, CONSOLE, NONE, CALLBACK */
    char *endpoint;              /* full URL incl. /v1/<signal> (owned) */
    char *headers;               /* "k=v,k2=v2" percent-decoded later (owned) or NULL */
    int gzip;                    /* 1 = Content-Encoding: gzip */
    uint32_t timeout_ms;         /* per request (OTEL_EXPORTER_OTLP_*_TIMEOUT) */
    char *certificate;           /* CA bundle file for https (owned) or NULL */
    char *client_key;            /* client private key file (mTLS, owned) or NULL */
    char *client_certificate;    /* client certificate file (mTLS, owned) or NULL */
} osdk_export_cfg_t;

/* Batch processor settings (OTEL_BSP_* / OTEL_BLRP_*). */
typedef struct osdk_batch_cfg {
    uint32_t max_queue;  /* queue capacity (rounded up to a power of two) */
    uint32_t max_batch;  /* records per export request */
    uint32_t delay_ms;   /* schedule delay */
    uint32_t timeout_ms; /* export timeout (whole export incl. retries) */
} osdk_batch_cfg_t;

/* Attribute limits. */
typedef struct osdk_limits {
    uint32_t attr_count;       /* attributes per span/log */
    uint32_t value_len;        /* max string length (UINT32_MAX = none) */
    uint32_t event_count;      /* events per span */
    uint32_t link_count;       /* links per span */
    uint32_t event_attr_count; /* attributes per event */
    uint32_t link_attr_count;  /* attributes per link */
} osdk_limits_t;

/* The configuration values the recording paths read (spans, logs,
 * propagation). Immutable once published through osdk_g.hot: init
 * publishes a snapshot, shutdown publishes the defaults, and a thread that
 * records while init or shutdown runs reads either the old or the new
 * snapshot, never a half-written one. Snapshots are never freed; equal
 * ones are shared, so memory is bounded by the distinct configurations a
 * process uses. */
typedef struct osdk_hotcfg {
    int sampler;                     /* OSDK_SAMPLER_* */
    double sampler_arg;              /* ratio for *RATIO */
    int propagators;                 /* OSDK_PROP_* bits */
    osdk_limits_t span_limits;       /* OTEL_SPAN_* / OTEL_ATTRIBUTE_* */
    osdk_limits_t log_limits;        /* OTEL_LOGRECORD_* */
    struct osdk_hotcfg *next;        /* list of published snapshots (osdk_g.lock) */
} osdk_hotcfg_t;

/* Everything the environment and options decide. */
typedef struct osdk_config {
    int disabled;                /* OTEL_SDK_DISABLED */
    char *service_name;          /* owned; never NULL after load */
    char *resource_attrs;        /* raw OTEL_RESOURCE_ATTRIBUTES (owned) or NULL */
    int sampler;                 /* OSDK_SAMPLER_* */
    double sampler_arg;          /* ratio for *RATIO */
    int propagators;             /* OSDK_PROP_* bits */
    osdk_batch_cfg_t bsp;        /* spans */
    osdk_batch_cfg_t blrp;       /* logs */
    uint32_t metric_interval_ms; /* OTEL_METRIC_EXPORT_INTERVAL */
    uint32_t metric_timeout_ms;  /* OTEL_METRIC_EXPORT_TIMEOUT */
    int metric_delta;            /* temporality preference delta */
    osdk_export_cfg_t exp[3];    /* by ocelot_signal_t */
    osdk_limits_t span_limits;   /* OTEL_SPAN_* / OTEL_ATTRIBUTE_* */
    osdk_limits_t log_limits;    /* OTEL_LOGRECORD_* */
    int n_warnings;              /* invalid values seen (each warned on stderr) */
} osdk_config_t;

typedef const char *(*osdk_getenv_fn)(void *ud, const char *name);

/* Fills c from the defaults and the environment (getenv when fn is NULL).
 * Never fails on bad values (warns, ignores); OCELOT_ENOMEM only. */
int osdk_config_load(osdk_config_t *c, osdk_getenv_fn fn, void *ud);
void osdk_config_dispose(osdk_config_t *c);
/* Parses OTEL_EXPORTER_OTLP_HEADERS-style "k=v,..."; calls cb per pair
 * (percent-decoded, NUL-terminated). Returns pairs or OCELOT_EINVAL. */
int osdk_parse_kv_list(const char *s, int (*cb)(void *ud, const char *k, const char *v), void *ud);
void osdk_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- attributes (attrs.c) ---- */

#define OSDK_INLINE_ATTRS 8
#define OSDK_INLINE_ARENA 320

/* One stored attribute; strings live in the owner's arena. */
typedef struct osdk_attr {
    uint32_t key_off; /* key bytes in the arena */
    uint32_t key_len; /* key length */
    uint32_t type;    /* ocelot_attr_type_t */
    uint32_t n;       /* string length, or array element count */
    union {
        int64_t i;    /* INT, BOOL */
        double d;     /* DOUBLE */
        uint32_t off; /* STRING / arrays: offset in the arena */
    } u;
} osdk_attr_t;

/* Byte arena, inline first, heap when it grows (kept on reuse). */
typedef struct osdk_arena {
    char *p;                     /* inl or heap */
    uint32_t len;                /* bytes used */
    uint32_t cap;                /* bytes available at p */
    char inl[OSDK_INLINE_ARENA]; /* first bytes */
} osdk_arena_t;

/* Attribute list, inline first. */
typedef struct osdk_attrs {
    osdk_attr_t *v;                     /* inl or heap */
    uint32_t n;                         /* used */
    uint32_t cap;                       /* capacity at v */
    uint32_t dropped;                   /* over the count limit */
    osdk_attr_t inl[OSDK_INLINE_ATTRS]; /* first entries */
} osdk_attrs_t;

void osdk_arena_init(osdk_arena_t *a);
void osdk_arena_dispose(osdk_arena_t *a); /* frees the heap part */
uint32_t osdk_arena_put_slow(osdk_arena_t *a, const void *p, size_t n);
/* Appends n bytes; returns offset or UINT32_MAX on ENOMEM. */
static inline uint32_t osdk_arena_put(osdk_arena_t *a, const void *p, size_t n)
{
    if (OSDK_UNLIKELY(a->cap - a->len < n)) return osdk_arena_put_slow(a, p, n);
    uint32_t off = a->len;
    if (n) memcpy(a->p + off, p, n);
    a->len += (uint32_t)n;
    return off;
}
void osdk_attrs_init(osdk_attrs_t *l);
void osdk_attrs_dispose(osdk_attrs_t *l);
static inline void osdk_attrs_clear(osdk_attrs_t *l)
{
    l->n = 0;
    l->dropped = 0;
}
/* Sets (or overwrites) one attribute. dedup = 0 appends without looking
 * for an existing key. 0, OCELOT_EFULL (dropped, counted), OCELOT_EINVAL,
 * OCELOT_ENOMEM. */
int osdk_attrs_set(osdk_attrs_t *l, osdk_arena_t *a, const ocelot_attr_t *at, uint32_t max_count,
                   uint32_t max_len, int dedup);
/* Encodes the attributes as repeated KeyValue of field. */
void osdk_attrs_encode(pbw_buf_t *b, uint32_t field, const osdk_attr_t *v, uint32_t n,
                       const osdk_arena_t *a);
/* Encodes borrowed public attributes (resource, scope, metrics). */
void osdk_pub_attrs_encode(pbw_buf_t *b, uint32_t field, const ocelot_attr_t *v, size_t n);
/* Writes attributes as a JSON object body {"k":v,...} into f. */
void osdk_attrs_json(FILE *f, const osdk_attr_t *v, uint32_t n, const osdk_arena_t *a);
void osdk_json_str(FILE *f, const char *s, size_t n);

/* ---- MPSC queue of pointers (bounded, lock-free; Vyukov's sequence ring) ---- */

typedef struct osdk_cell {
    _Atomic size_t seq; /* sequence number gating the slot */
    void *data;         /* the record */
} osdk_cell_t;

/* The indexes are kept 64+ bytes apart by padding (not _Alignas: the
 * struct lives in allocator memory with only malloc alignment). */
typedef struct osdk_queue {
    osdk_cell_t *cells; /* capacity cells */
    size_t mask;        /* capacity - 1 */
    char pad0[64];      /* separates enq from the fields above */
    _Atomic size_t enq; /* next enqueue position (producers) */
    char pad1[64];      /* separates enq from deq */
    _Atomic size_t deq; /* next dequeue position (consumer) */
    char pad2[64];      /* keeps deq's line private */
} osdk_queue_t;

int osdk_queue_init(osdk_queue_t *q, size_t min_cap); /* 0 or OCELOT_ENOMEM */
void osdk_queue_dispose(osdk_queue_t *q);

/* Returns the size after the push, or 0 when full (x not queued). */
static inline size_t osdk_queue_push(osdk_queue_t *q, void *x)
{
    size_t pos = atomic_load_explicit(&q->enq, memory_order_relaxed);
    osdk_cell_t *c;
    for (;;) {
        c = &q->cells[pos & q->mask];
        size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
        intptr_t dif = (intptr_t)seq - (intptr_t)pos;
        if (dif == 0) {
            if (atomic_compare_exchange_weak_explicit(&q->enq, &pos, pos + 1, memory_order_relaxed,
                                                      memory_order_relaxed))
                break;
        } else if (dif < 0) {
            return 0;
        } else {
            pos = atomic_load_explicit(&q->enq, memory_order_relaxed);
        }
    }
    c->data = x;
    atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
    /* The consumer may already have popped this record (and more): the
     * estimate must never read as 0 ("full"), or the caller would recycle
     * a record the export thread owns. */
    intptr_t n = (intptr_t)(pos + 1 - atomic_load_explicit(&q->deq, memory_order_relaxed));
    return n > 0 ? (size_t)n : 1;
}

/* Single consumer. NULL when empty. */
static inline void *osdk_queue_pop(osdk_queue_t *q)
{
    size_t pos = atomic_load_explicit(&q->deq, memory_order_relaxed);
    osdk_cell_t *c = &q->cells[pos & q->mask];
    size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
    if ((intptr_t)seq - (intptr_t)(pos + 1) < 0) return NULL;
    void *x = c->data;
    atomic_store_explicit(&c->seq, pos + q->mask + 1, memory_order_release);
    atomic_store_explicit(&q->deq, pos + 1, memory_order_relaxed);
    return x;
}

static inline size_t osdk_queue_size(osdk_queue_t *q)
{
    size_t e = atomic_load_explicit(&q->enq, memory_order_relaxed);
    size_t d = atomic_load_explicit(&q->deq, memory_order_relaxed);
    return e > d ? e - d : 0;
}

/* ---- record pools (pool.c) ---- */

/* Every pooled record starts with this header. */
typedef struct osdk_rec {
    struct osdk_rec *next; /* free-list link */
    uint32_t epoch;        /* global epoch when taken */
    uint32_t pool_id;      /* which pool */
} osdk_rec_t;

enum { OSDK_POOL_SPANS = 0, OSDK_POOL_LOGS = 1, OSDK_NPOOLS = 2 };

/* Takes a record from this thread's cache (refilled from the global free
 * list, growing by a chunk when empty). NULL on ENOMEM. The record's
 * content is whatever it was (its init hook ran once at creation). */
osdk_rec_t *osdk_pool_get(int pool);
/* Returns one record to this thread's cache. */
void osdk_pool_put(osdk_rec_t *r);
/* Returns many records (from the export thread) to the global list. */
void osdk_pool_put_many(int pool, osdk_rec_t **v, size_t n);
/* Fork/child and shutdown support. */
void osdk_pool_atfork_prepare(void);
void osdk_pool_atfork_parent(void);
void osdk_pool_atfork_child(void);

/* ---- global state (core.c) ---- */

struct osdk_processor;

typedef struct osdk_global {
    _Atomic int enabled;            /* 1 while initialised and not disabled (hot-path check) */
    _Atomic uint32_t epoch;         /* bumped by init, shutdown and fork (child) */
    int initialised;                /* ocelot_init succeeded and no shutdown since */
    int shutting_down;              /* an ocelot_shutdown is between its two locked phases
                                     * (initialised is still 1; others get OCELOT_ESTATE) */
    osdk_config_t cfg;              /* configuration of this run */
    ocelot_options_t opts;          /* copy of the init options */
    pbw_buf_t resource_pb;          /* encoded Resource message body */
    char service_name[256];         /* resolved service.name (console output) */
    struct osdk_processor *_Atomic proc[3]; /* batch processors by signal (metrics unused);
                                             * read by recording threads, never freed */
    const osdk_hotcfg_t *_Atomic hot;       /* values the recording paths read (never NULL) */
    void *metrics;                  /* metrics state (metrics.c) */
    uint64_t queued_base[3];        /* records queued by processors of earlier runs, by
                                     * signal (stats: ended/emitted; guarded by g_plock) */
    pthread_mutex_t lock;           /* init/shutdown/tracer table */
    /* self-metrics */
    _Atomic uint64_t spans_started, spans_ended, spans_dropped, spans_exported, spans_rejected,
        span_export_failures, logs_emitted, logs_dropped, logs_exported, log_export_failures,
        metric_exports, metric_export_failures, metric_overflows, export_retries;
    /* Drops are counted in two parts, each once per record: *_dropped are
     * queued records dropped later (export failure, rejected logs, shutdown
     * drain); *_unqueued were dropped without being queued (no slot, queue
     * full, raced into a stopped processor). ocelot_stats_t.spans_dropped is
     * the sum, spans_ended is queued + unqueued (one atomic per dropped
     * span, as before). */
    _Atomic uint64_t spans_unqueued, logs_unqueued;
} osdk_global_t;

extern osdk_global_t osdk_g;

/* The configuration snapshot recording paths use (one acquire load). */
static inline const osdk_hotcfg_t *osdk_hot(void)
{
    return atomic_load_explicit(&osdk_g.hot, memory_order_acquire);
}
static inline struct osdk_processor *osdk_proc(int signal)
{
    return atomic_load_explicit(&osdk_g.proc[signal], memory_order_acquire);
}

static inline void osdk_count(_Atomic uint64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* ---- ids (trace.c) ---- */
uint64_t osdk_rand64(void); /* per-thread wyrand, seeded from getrandom */

/* ---- scopes: tracers / loggers / meters (trace.c) ---- */

/* An instrumentation scope; tracers, loggers and meters are all scopes. */
typedef struct osdk_scope {
    struct osdk_scope *next;           /* list link in the global table */
    int kind;                          /* 0 tracer, 1 logger, 2 meter */
    char *name, *version, *schema_url; /* owned */
    pbw_buf_t pb;                      /* encoded InstrumentationScope body */
} osdk_scope_t;

/* Finds or creates a scope (never freed until process exit). NULL on ENOMEM. */
osdk_scope_t *osdk_scope_get(int kind, const char *name, const char *version,
                             const char *schema_url);

/* ---- batch processor (processor.c) ---- */

/* Exports a batch of records of one signal; returns 0 or negative. */
typedef struct osdk_exporter osdk_exporter_t;

typedef struct osdk_processor {
    int signal;                          /* ocelot_signal_t */
    osdk_batch_cfg_t cfg;                /* sizes and delays (export thread only) */
    uint32_t wake_batch;                 /* queue size that wakes the thread: the
                                          * max_batch of the first create, never changed
                                          * (producers read it; reuse needs equal max_batch) */
    osdk_queue_t q;                      /* records waiting */
    osdk_exporter_t *exp;                /* where batches go */
    pthread_t thread;                    /* export thread */
    int thread_started;                  /* 1 when thread is joinable */
    int abandoned;                       /* thread missed the shutdown deadline: detached,
                                          * it keeps this struct and its exporter forever */
    pthread_mutex_t mu;                  /* guards the fields below */
    pthread_cond_t cv;                   /* wakes the thread */
    pthread_cond_t done_cv;              /* signals flush completion */
    _Atomic int wake_pending;            /* a producer already signalled */
    int stop;                            /* shutdown requested */
    uint64_t stop_deadline;              /* monotonic ns; drain until then */
    uint64_t flush_req;                  /* flush requests issued */
    uint64_t flush_done;                 /* flush requests completed */
    _Atomic uint64_t abort_at;           /* monotonic ns past which exports abort (0 = none) */
    _Atomic uint64_t *dropped;           /* counter for drops */
    size_t enq_base;                     /* q.enq when this run started (stats) */
    void **batch;                        /* max_batch scratch pointers */
    struct osdk_processor *retired_next; /* list of stopped processors kept for reuse */
} osdk_processor_t;

int osdk_processor_create(int signal, const osdk_batch_cfg_t *cfg, osdk_exporter_t *exp,
                          _Atomic uint64_t *dropped, osdk_processor_t **out);
/* Enqueues (never blocks). 0 or OCELOT_EFULL (caller recycles the record). */
static inline int osdk_processor_offer(osdk_processor_t *p, void *rec);
/* Exports what is queued; 0, OCELOT_ETIMEDOUT, or OCELOT_ESTATE when p is
 * stopped or stopping (callable without osdk_g.lock: p is never freed). */
int osdk_processor_flush(osdk_processor_t *p, uint64_t deadline_mono);
/* Joins t if it exits by deadline_mono + OSDK_JOIN_GRACE_MS; otherwise
 * detaches it and returns OCELOT_ETIMEDOUT (the caller must then leave the
 * thread's memory alone forever). */
#define OSDK_JOIN_GRACE_MS 200
int osdk_join_until(pthread_t t, uint64_t deadline_mono);
/* Stops the thread (drains until deadline). The struct is not freed but
 * retired for reuse by the next create (same sizes): a producer racing
 * shutdown may still touch it safely. Called under osdk_g.lock. */
int osdk_processor_destroy(osdk_processor_t *p, uint64_t deadline_mono);
void osdk_processor_wake(osdk_processor_t *p);
void osdk_processor_atfork_prepare(osdk_processor_t *p);
void osdk_processor_atfork_parent(osdk_processor_t *p);
void osdk_processor_atfork_child(osdk_processor_t *p);
void osdk_processor_atfork_child_retired(void); /* stopped processors kept for reuse */

static inline int osdk_processor_offer(osdk_processor_t *p, void *rec)
{
    size_t n = osdk_queue_push(&p->q, rec);
    if (OSDK_UNLIKELY(n == 0)) return OCELOT_EFULL;
    if (OSDK_UNLIKELY(n >= p->wake_batch) &&
        !atomic_load_explicit(&p->wake_pending, memory_order_relaxed) &&
        !atomic_exchange_explicit(&p->wake_pending, 1, memory_order_acq_rel))
        osdk_processor_wake(p);
    return 0;
}

/* ---- exporters (exporter.c, otlp_http.c, console.c) ---- */

/* An exporter owns everything its thread reads while exporting (resource
 * bytes, callback), so a thread abandoned at a shutdown deadline keeps
 * working on valid memory after osdk_g is reinitialised. */
struct osdk_exporter {
    int signal;            /* ocelot_signal_t */
    osdk_export_cfg_t cfg; /* copy; its strings are borrowed from osdk_g.cfg (used at create only) */
    pbw_buf_t body;        /* reused encode buffer */
    pbw_buf_t resource;    /* copy of the encoded Resource (osdk_g.resource_pb at create) */
    char service_name[256]; /* copy of osdk_g.service_name at create (console output) */
    int (*cb)(void *ud, ocelot_signal_t sig, const uint8_t *body, size_t len); /* CALLBACK kind */
    void *cb_ud;           /* its argument */
    void *http;            /* otlp_http state or NULL */
};

osdk_exporter_t *osdk_exporter_create(int signal, const osdk_export_cfg_t *cfg);
void osdk_exporter_destroy(osdk_exporter_t *e);
/* Exports n records of e->signal (spans or logs); counts results.
 * abort_at: pointer to the monotonic abort deadline (0 = none). */
int osdk_exporter_export(osdk_exporter_t *e, void **recs, size_t n, _Atomic uint64_t *abort_at,
                         uint64_t deadline_mono);
/* Sends an encoded request body of signal (metrics use it directly). */
int osdk_exporter_send(osdk_exporter_t *e, const uint8_t *body, size_t len,
                       _Atomic uint64_t *abort_at, uint64_t deadline_mono, int64_t *rejected);
/* Releases a batch of records back to their pool. */
void osdk_release(void **recs, size_t n);

/* OTLP/HTTP transport (otlp_http.c). */
void *osdk_http_create(const osdk_export_cfg_t *cfg, int signal);
void osdk_http_destroy(void *h);
/* POSTs body with retries until deadline_mono; returns 0, OCELOT_EIO or
 * OCELOT_ETIMEDOUT; *rejected gets partial_success's rejected count. */
int osdk_http_send(void *h, const uint8_t *body, size_t len, _Atomic uint64_t *abort_at,
                   uint64_t deadline_mono, int64_t *rejected);

/* Retry decision for an HTTP status (0 = transport failure). */
enum { OSDK_RETRY_NO = 0, OSDK_RETRY_OK = 1, OSDK_RETRY_YES = 2 };
int osdk_retry_decide(long status, int transport_failed);
/* Parses a Retry-After value (delta seconds or HTTP-date) into seconds
 * from now; -1 when invalid. */
long osdk_parse_retry_after(const char *v, size_t n, time_t now);
/* Parses an Export*ServiceResponse body's partial_success. 0 or -1. */
int osdk_parse_partial_success(const uint8_t *p, size_t n, int64_t *rejected, const char **msg,
                               size_t *msg_len);

/* Encoders (encode.c); res is the encoded Resource body. */
void osdk_encode_spans(pbw_buf_t *b, const pbw_buf_t *res, void **spans, size_t n);
void osdk_encode_logs(pbw_buf_t *b, const pbw_buf_t *res, void **logs, size_t n);
/* service: the run's service.name (the exporter's copy: osdk_g's is
 * rewritten by the next init while an abandoned thread may still print) */
void osdk_console_spans(FILE *f, const char *service, void **spans, size_t n);
void osdk_console_logs(FILE *f, const char *service, void **logs, size_t n);

/* Resource (resource.c). */
int osdk_resource_build(pbw_buf_t *out, const osdk_config_t *c, const ocelot_options_t *o);

/* Logs / metrics lifecycle hooks. */
int osdk_metrics_start(void);
void osdk_metrics_stop(uint64_t deadline_mono);
void osdk_metrics_atfork_child(void);

#endif
