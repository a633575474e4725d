/*
 * core.c — the SDK's lifecycle: ocelot_init, force_flush, shutdown, fork
 * handlers, self-metrics and error strings.
 *
 * Invariants:
 *  - init/shutdown are serialised by osdk_g.lock (shutdown drops it around
 *    the metrics stop; `shutting_down` keeps a second shutdown or an init
 *    out meanwhile); the hot paths read only
 *    osdk_g.enabled, osdk_g.epoch, osdk_g.cfg (immutable between init and
 *    shutdown) and osdk_g.proc.
 *  - shutdown first clears `enabled` (new spans become no-ops), bumps the
 *    epoch (spans started earlier are dropped when ended), then drains the
 *    processors within the deadline. It never waits past the deadline by
 *    more than one poll interval (10 ms).
 *  - Fork (pthread_atfork): prepare takes every SDK lock, the parent
 *    releases them, the child re-creates them, empties the queues and
 *    starts fresh export threads, and reseeds the id generator.
 *
 * Workload: called a few times per process.
 */
#include "records.h"

#include <curl/curl.h>

/* What recording paths see while the SDK is not initialised. */
static osdk_hotcfg_t g_hot_default = {
    .sampler = OSDK_SAMPLER_PB_ALWAYS_ON,
    .sampler_arg = 1.0,
    .propagators = OSDK_PROP_TRACECONTEXT | OSDK_PROP_BAGGAGE,
    .span_limits = {128, UINT32_MAX, 128, 128, 128, 128},
    .log_limits = {128, UINT32_MAX, 128, 128, 128, 128},
};

osdk_global_t osdk_g = {.lock = PTHREAD_MUTEX_INITIALIZER, .hot = &g_hot_default};

static int limits_eq(const osdk_limits_t *a, const osdk_limits_t *b)
{
    return a->attr_count == b->attr_count && a->value_len == b->value_len &&
           a->event_count == b->event_count && a->link_count == b->link_count &&
           a->event_attr_count == b->event_attr_count && a->link_attr_count == b->link_attr_count;
}

/* Publishes the recording paths' view of c (under osdk_g.lock). A snapshot
 * equal to one published before is reused: snapshots are never freed (a
 * thread racing init/shutdown may still read an old one), so memory stays
 * bounded by the number of distinct configurations. ENOMEM keeps the
 * current snapshot. */
static int publish_hot(const osdk_config_t *c)
{
    osdk_hotcfg_t want = {.sampler = c->sampler,
                          .sampler_arg = c->sampler_arg,
                          .propagators = c->propagators,
                          .span_limits = c->span_limits,
                          .log_limits = c->log_limits};
    osdk_hotcfg_t *h;
    for (h = &g_hot_default; h; h = h->next)
        if (h->sampler == want.sampler && h->propagators == want.propagators &&
            !memcmp(&h->sampler_arg, &want.sampler_arg, sizeof want.sampler_arg) &&
            limits_eq(&h->span_limits, &want.span_limits) &&
            limits_eq(&h->log_limits, &want.log_limits))
            break;
    if (!h) {
        h = osdk_malloc(sizeof *h);
        if (!h) return OCELOT_ENOMEM;
        *h = want;
        h->next = g_hot_default.next;
        g_hot_default.next = h;
    }
    atomic_store_explicit(&osdk_g.hot, h, memory_order_release);
    return 0;
}

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t g_plock =
    PTHREAD_MUTEX_INITIALIZER; /* guards osdk_g.proc for stats readers */

static const char *no_env(void *ud, const char *name)
{
    (void)ud;
    (void)name;
    return NULL;
}
static osdk_exporter_t *g_exp[3]; /* exporters of the processors */

void osdk_trace_atfork_child(void);
void osdk_trace_atfork_prepare(void);
void osdk_trace_atfork_parent(void);
void osdk_exporter_atfork_child(osdk_exporter_t *e);
void osdk_metrics_atfork_prepare(void);
void osdk_metrics_atfork_parent(void);

const char *ocelot_strerror(int err)
{
    switch (err) {
    case OCELOT_OK:
        return "success";
    case OCELOT_EINVAL:
        return "invalid argument";
    case OCELOT_ENOMEM:
        return "out of memory";
    case OCELOT_ETIMEDOUT:
        return "deadline exceeded";
    case OCELOT_ESTATE:
        return "wrong state (not initialised or already initialised)";
    case OCELOT_EFULL:
        return "queue or limit full; item dropped";
    case OCELOT_EIO:
        return "export failed";
    case OCELOT_ENOTSUP:
        return "not supported";
    }
    return "unknown error";
}

uint64_t ocelot_now_ns(void)
{
    return osdk_now_ns();
}

int ocelot_enabled(void)
{
    return atomic_load_explicit(&osdk_g.enabled, memory_order_relaxed);
}

static void fork_prepare(void)
{
    pthread_mutex_lock(&osdk_g.lock);
    pthread_mutex_lock(&g_plock); /* stats readers (the metric reader among them) */
    for (int i = 0; i < 3; i++)
        if (osdk_g.proc[i]) osdk_processor_atfork_prepare(osdk_g.proc[i]);
    osdk_pool_atfork_prepare();
    osdk_trace_atfork_prepare();
    osdk_metrics_atfork_prepare();
}

static void fork_parent(void)
{
    osdk_metrics_atfork_parent();
    osdk_trace_atfork_parent();
    osdk_pool_atfork_parent();
    for (int i = 2; i >= 0; i--)
        if (osdk_g.proc[i]) osdk_processor_atfork_parent(osdk_g.proc[i]);
    pthread_mutex_unlock(&g_plock);
    pthread_mutex_unlock(&osdk_g.lock);
}

static void fork_child(void)
{
    osdk_pool_atfork_child();
    pthread_mutex_init(&osdk_g.lock, NULL);
    pthread_mutex_init(&g_plock, NULL);
    /* a shutdown in progress in the parent (forked while it stopped the
     * metrics) did not come along: the child can shut down itself */
    osdk_g.shutting_down = 0;
    osdk_trace_atfork_child();
    atomic_fetch_add(&osdk_g.epoch, 1);
    for (int i = 0; i < 3; i++) {
        if (g_exp[i]) osdk_exporter_atfork_child(g_exp[i]);
        if (osdk_g.proc[i]) osdk_processor_atfork_child(osdk_g.proc[i]);
    }
    osdk_processor_atfork_child_retired();
    osdk_metrics_atfork_child();
}

static void once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

static void stop_all(uint64_t deadline, int *rc)
{
    osdk_metrics_stop(deadline);
    for (int i = 0; i < 3; i++) {
        if (osdk_g.proc[i]) {
            osdk_processor_t *p = osdk_g.proc[i];
            pthread_mutex_lock(&g_plock);
            atomic_store_explicit(&osdk_g.proc[i], NULL, memory_order_release);
            /* what it queued stays counted; records raced in until its
             * final drain are added after it, later ones when a next run
             * reuses it (as never queued) */
            size_t enq = atomic_load_explicit(&p->q.enq, memory_order_relaxed);
            osdk_g.queued_base[i] += enq - p->enq_base;
            p->enq_base = enq;
            pthread_mutex_unlock(&g_plock);
            int r = osdk_processor_destroy(p, deadline);
            if (r && !*rc) *rc = r;
            if (!p->abandoned) { /* records raced in before its final drain */
                pthread_mutex_lock(&g_plock);
                enq = atomic_load_explicit(&p->q.enq, memory_order_relaxed);
                osdk_g.queued_base[i] += enq - p->enq_base;
                p->enq_base = enq;
                pthread_mutex_unlock(&g_plock);
            }
            if (p->abandoned) g_exp[i] = NULL; /* still in use by the abandoned thread */
        }
        osdk_exporter_destroy(g_exp[i]);
        g_exp[i] = NULL;
    }
}

int ocelot_init(const ocelot_options_t *opts)
{
    int rc = 0;
    pthread_once(&g_once, once);
    pthread_mutex_lock(&osdk_g.lock);
    if (osdk_g.initialised) {
        rc = OCELOT_ESTATE;
        goto done;
    }
    memset(&osdk_g.opts, 0, sizeof osdk_g.opts);
    if (opts) osdk_g.opts = *opts;
    rc = osdk_config_load(&osdk_g.cfg, opts && opts->no_env ? no_env : NULL, NULL);
    if (rc) goto done;
    if (opts && opts->disabled) osdk_g.cfg.disabled = 1;
    ocelot_exporter_kind_t kinds[3] = {opts ? opts->traces_exporter : 0,
                                       opts ? opts->metrics_exporter : 0,
                                       opts ? opts->logs_exporter : 0};
    for (int i = 0; i < 3; i++)
        if (kinds[i] != OCELOT_EXPORTER_DEFAULT) osdk_g.cfg.exp[i].kind = kinds[i];
    if ((rc = publish_hot(&osdk_g.cfg)) != 0) {
        osdk_config_dispose(&osdk_g.cfg);
        goto done;
    }
    osdk_g.initialised = 1;
    if (osdk_g.cfg.disabled) goto done; /* everything stays a no-op */

    pbw_init(&osdk_g.resource_pb, osdk_pbw_realloc, NULL);
    if ((rc = osdk_resource_build(&osdk_g.resource_pb, &osdk_g.cfg, opts)) != 0) goto fail;
    atomic_fetch_add(&osdk_g.epoch, 1);
    for (int i = 0; i < 3; i++) {
        if (i == OCELOT_SIGNAL_METRICS) continue;
        g_exp[i] = osdk_exporter_create(i, &osdk_g.cfg.exp[i]);
        if (!g_exp[i]) {
            rc = OCELOT_ENOMEM;
            goto fail;
        }
        osdk_processor_t *p = NULL;
        rc = osdk_processor_create(
            i, i == OCELOT_SIGNAL_LOGS ? &osdk_g.cfg.blrp : &osdk_g.cfg.bsp, g_exp[i],
            i == OCELOT_SIGNAL_LOGS ? &osdk_g.logs_dropped : &osdk_g.spans_dropped, &p);
        if (rc) goto fail;
        atomic_store_explicit(&osdk_g.proc[i], p, memory_order_release);
    }
    if ((rc = osdk_metrics_start()) != 0) goto fail;
    atomic_store(&osdk_g.enabled, 1);
    goto done;
fail:
    atomic_store_explicit(&osdk_g.hot, &g_hot_default, memory_order_release);
    stop_all(osdk_mono_ns(), &(int){0});
    pbw_free(&osdk_g.resource_pb);
    osdk_config_dispose(&osdk_g.cfg);
    osdk_g.initialised = 0;
done:
    pthread_mutex_unlock(&osdk_g.lock);
    return rc;
}

static uint64_t deadline_of(uint32_t timeout_ms)
{
    uint32_t t = timeout_ms ? timeout_ms : osdk_g.cfg.bsp.timeout_ms;
    return osdk_mono_ns() + (uint64_t)t * 1000000u;
}

int ocelot_force_flush(uint32_t timeout_ms)
{
    int rc = 0;
    pthread_mutex_lock(&osdk_g.lock);
    if (!osdk_g.initialised) {
        pthread_mutex_unlock(&osdk_g.lock);
        return OCELOT_ESTATE;
    }
    uint64_t dl = deadline_of(timeout_ms);
    osdk_processor_t *procs[3];
    for (int i = 0; i < 3; i++)
        procs[i] = osdk_g.proc[i];
    /* Wait without the lock: a shutdown (or fork) on another thread must
     * not wait for this flush. Processors are never freed; one stopped
     * meanwhile releases its flush waiters when its thread has exited. */
    pthread_mutex_unlock(&osdk_g.lock);
    for (int i = 0; i < 3; i++) {
        if (!procs[i]) continue;
        int r = osdk_processor_flush(procs[i], dl);
        if (r && !rc) rc = r;
    }
    uint64_t now = osdk_mono_ns();
    uint32_t left = now < dl ? (uint32_t)((dl - now) / 1000000u) + 1 : 1;
    int r = ocelot_metrics_flush(left);
    if (r && r != OCELOT_ESTATE && r != OCELOT_ENOTSUP && !rc) rc = r;
    return rc;
}

int ocelot_shutdown(uint32_t timeout_ms)
{
    int rc = 0;
    pthread_mutex_lock(&osdk_g.lock);
    if (!osdk_g.initialised || osdk_g.shutting_down) {
        /* a shutdown running on another thread owns the teardown */
        pthread_mutex_unlock(&osdk_g.lock);
        return OCELOT_ESTATE;
    }
    osdk_g.shutting_down = 1; /* the lock is released around the metrics stop below */
    uint64_t dl = deadline_of(timeout_ms);
    atomic_store(&osdk_g.enabled, 0);
    /* Spans ended from now on by other threads see proc == NULL or the new
     * epoch; flush what is queued, then stop. */
    for (int i = 0; i < 3; i++)
        if (osdk_g.proc[i]) osdk_processor_flush(osdk_g.proc[i], dl);
    atomic_fetch_add(&osdk_g.epoch, 1);
    pthread_mutex_unlock(&osdk_g.lock);
    /* metrics stop takes osdk_g.lock itself for its final collection */
    osdk_metrics_stop(dl);
    pthread_mutex_lock(&osdk_g.lock);
    stop_all(dl, &rc);
    atomic_store_explicit(&osdk_g.hot, &g_hot_default, memory_order_release);
    pbw_free(&osdk_g.resource_pb);
    osdk_config_dispose(&osdk_g.cfg);
    osdk_g.initialised = 0;
    osdk_g.shutting_down = 0;
    pthread_mutex_unlock(&osdk_g.lock);
    return rc;
}

int ocelot_stats_get(ocelot_stats_t *o)
{
    if (!o) return OCELOT_EINVAL;
    memset(o, 0, sizeof *o);
#define L(x) atomic_load_explicit(&osdk_g.x, memory_order_relaxed)
    o->spans_dropped = L(spans_dropped) + L(spans_unqueued);
    o->spans_exported = L(spans_exported);
    o->spans_rejected = L(spans_rejected);
    o->span_export_failures = L(span_export_failures);
    o->logs_dropped = L(logs_dropped) + L(logs_unqueued);
    o->logs_exported = L(logs_exported);
    o->log_export_failures = L(log_export_failures);
    o->metric_exports = L(metric_exports);
    o->metric_export_failures = L(metric_export_failures);
    o->metric_overflows = L(metric_overflows);
    o->export_retries = L(export_retries);
#undef L
    pthread_mutex_lock(&g_plock);
    o->spans_ended = osdk_g.queued_base[OCELOT_SIGNAL_TRACES];
    o->logs_emitted = osdk_g.queued_base[OCELOT_SIGNAL_LOGS];
    osdk_processor_t *p = osdk_g.proc[OCELOT_SIGNAL_TRACES];
    if (p) {
        o->span_queue_size = osdk_queue_size(&p->q);
        o->spans_ended += atomic_load_explicit(&p->q.enq, memory_order_relaxed) - p->enq_base;
    }
    p = osdk_g.proc[OCELOT_SIGNAL_LOGS];
    if (p) {
        o->log_queue_size = osdk_queue_size(&p->q);
        o->logs_emitted += atomic_load_explicit(&p->q.enq, memory_order_relaxed) - p->enq_base;
    }
    pthread_mutex_unlock(&g_plock);
    /* queued + dropped before queueing: a queued record dropped later
     * (export failure, shutdown) is in *_dropped but ended only once */
    o->spans_ended += atomic_load_explicit(&osdk_g.spans_unqueued, memory_order_relaxed);
    o->logs_emitted += atomic_load_explicit(&osdk_g.logs_unqueued, memory_order_relaxed);
    return 0;
}
