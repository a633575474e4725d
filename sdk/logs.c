/*
 * logs.c — loggers and log records: a record is copied into a pooled slot
 * and offered to the batch log record processor.
 *
 * Invariants: never blocks; drops (counted) when the queue is full; the
 * trace id, span id and flags of the explicit context or of this thread's
 * current span are attached automatically.
 *
 * Workload: application logging rates (10^4-10^6 records/s).
 */
#include "records.h"

static osdk_scope_t g_noop_logger; /* returned when disabled */

void osdk_log_slot_init(osdk_log_t *l)
{
    memset(l, 0, sizeof *l);
    osdk_attrs_init(&l->attrs);
    osdk_arena_init(&l->arena);
}

ocelot_logger_t *ocelot_logger_get(const char *name, const char *version, const char *schema_url)
{
    if (!atomic_load_explicit(&osdk_g.enabled, memory_order_relaxed))
        return (ocelot_logger_t *)&g_noop_logger;
    osdk_scope_t *s = osdk_scope_get(1, name, version, schema_url);
    return (ocelot_logger_t *)(s ? s : &g_noop_logger);
}

static const char *sev_text(int sev)
{
    static const char *const t[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
    if (sev < 1 || sev > 24) return NULL;
    return t[(sev - 1) / 4];
}

static uint32_t put(osdk_log_t *l, const char *s, uint32_t *len, uint32_t max)
{
    size_t n = strlen(s);
    if (n > max) n = max;
    uint32_t off = osdk_arena_put(&l->arena, s, n);
    *len = off == UINT32_MAX ? 0 : (uint32_t)n;
    return off == UINT32_MAX ? 0 : off;
}

int ocelot_log_emit(ocelot_logger_t *lg, const ocelot_log_record_t *r)
{
    if (!atomic_load_explicit(&osdk_g.enabled, memory_order_relaxed) || !lg ||
        (osdk_scope_t *)lg == &g_noop_logger)
        return 0;
    if (!r || r->severity < 0 || r->severity > 24) return OCELOT_EINVAL;
    osdk_processor_t *p = osdk_proc(OCELOT_SIGNAL_LOGS);
    if (!p) return 0;
    osdk_log_t *l = (osdk_log_t *)osdk_pool_get(OSDK_POOL_LOGS);
    if (!l) {
        osdk_count(&osdk_g.logs_unqueued, 1); /* dropped (stats) */
        return OCELOT_ENOMEM;
    }
    l->rec.epoch = atomic_load_explicit(&osdk_g.epoch, memory_order_relaxed);
    if (l->arena.cap > (64u << 10)) osdk_arena_dispose(&l->arena);
    l->arena.len = 0;
    osdk_attrs_clear(&l->attrs);
    l->scope = (osdk_scope_t *)lg;
    l->time_ns = r->time_ns;
    l->observed_ns = osdk_now_ns();
    l->severity = r->severity;
    const osdk_limits_t *lim = &osdk_hot()->log_limits;
    const char *st = r->severity_text ? r->severity_text : sev_text(r->severity);
    l->sevtext_len = 0;
    if (st) l->sevtext_off = put(l, st, &l->sevtext_len, 64);
    l->has_body = r->body != NULL;
    l->body_len = 0;
    if (r->body) l->body_off = put(l, r->body, &l->body_len, UINT32_MAX);
    l->event_len = 0;
    if (r->event_name) l->event_off = put(l, r->event_name, &l->event_len, 1024);
    for (size_t i = 0; i < r->n_attrs && r->attrs; i++)
        osdk_attrs_set(&l->attrs, &l->arena, &r->attrs[i], lim->attr_count, lim->value_len, 1);
    /* context */
    l->has_ctx = 0;
    l->flags = 0;
    if (r->ctx && ocelot_span_context_valid(r->ctx)) {
        memcpy(l->trace_id, r->ctx->trace_id, 16);
        memcpy(l->span_id, r->ctx->span_id, 8);
        l->flags = r->ctx->flags;
        l->has_ctx = 1;
    } else if (!r->ctx) {
        ocelot_span_t *cur = ocelot_span_current();
        if (cur) {
            ocelot_span_context_t c;
            ocelot_span_get_context(cur, &c);
            if (ocelot_span_context_valid(&c)) {
                memcpy(l->trace_id, c.trace_id, 16);
                memcpy(l->span_id, c.span_id, 8);
                l->flags = c.flags;
                l->has_ctx = 1;
            }
        }
    }
    if (osdk_processor_offer(p, l) != 0) {
        osdk_count(&osdk_g.logs_unqueued, 1); /* dropped (stats) */
        osdk_pool_put(&l->rec);
        return OCELOT_EFULL;
    }
    return 0;
}

int ocelot_log(ocelot_logger_t *lg, int severity, const char *body, const ocelot_attr_t *attrs,
               size_t n)
{
    ocelot_log_record_t r = {.severity = severity, .body = body, .attrs = attrs, .n_attrs = n};
    r.time_ns = osdk_now_ns();
    return ocelot_log_emit(lg, &r);
}
