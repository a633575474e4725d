/*
 * encode.c — turns batches of span and log-record slots into OTLP
 * protobuf requests (ExportTraceServiceRequest, ExportLogsServiceRequest)
 * and into console JSON lines.
 *
 * Invariants: proto3 defaults omitted; one ResourceSpans/ResourceLogs per
 * request carrying the pre-encoded resource; records grouped per scope
 * (tracer/logger) in first-seen order. Field numbers are those of
 * opentelemetry/proto/{trace,logs,common,resource}/v1 and the collector service requests.
 *
 * Workload: batches of up to OTEL_BSP_MAX_EXPORT_BATCH_SIZE records on the
 * export thread; the output buffer is reused between batches.
 */
#include "records.h"

static inline void put_str(pbw_buf_t *b, uint32_t f, const char *p, size_t n)
{
    if (n) pbw_bytes(b, f, p, n);
}
static inline void put_u(pbw_buf_t *b, uint32_t f, uint64_t v)
{
    if (v) pbw_uint(b, f, v);
}

static void enc_span(pbw_buf_t *b, const ocelot_span_t *s)
{
    const osdk_arena_t *a = &s->arena;
    size_t st = pbw_msg_begin(b, 2, 2);
    pbw_bytes(b, 1, s->trace_id, 16);
    pbw_bytes(b, 2, s->span_id, 8);
    put_str(b, 3, a->p + s->ts_off, s->ts_len);
    if (s->has_parent) pbw_bytes(b, 4, s->parent_id, 8);
    put_str(b, 5, a->p + s->name_off, s->name_len);
    put_u(b, 6, s->kind);
    pbw_fixed64(b, 7, s->start_ns);
    pbw_fixed64(b, 8, s->end_ns);
    osdk_attrs_encode(b, 9, s->attrs.v, s->attrs.n, a);
    put_u(b, 10, s->attrs.dropped);
    for (uint32_t i = 0; i < s->n_events; i++) {
        const osdk_event_t *e = &s->events[i];
        size_t es = pbw_msg_begin(b, 11, 1);
        pbw_fixed64(b, 1, e->time_ns);
        put_str(b, 2, a->p + e->name_off, e->name_len);
        if (e->n_attrs) osdk_attrs_encode(b, 3, s->sub + e->attr_first, e->n_attrs, a);
        put_u(b, 4, e->dropped);
        pbw_msg_end(b, es, 1);
    }
    put_u(b, 12, s->dropped_events);
    for (uint32_t i = 0; i < s->n_links; i++) {
        const osdk_link_t *l = &s->links[i];
        size_t ls = pbw_msg_begin(b, 13, 1);
        pbw_bytes(b, 1, l->trace_id, 16);
        pbw_bytes(b, 2, l->span_id, 8);
        put_str(b, 3, a->p + l->ts_off, l->ts_len);
        if (l->n_attrs) osdk_attrs_encode(b, 4, s->sub + l->attr_first, l->n_attrs, a);
        put_u(b, 5, l->dropped);
        pbw_fixed32(b, 6, (l->flags & 0xff) | 0x100); /* HAS_IS_REMOTE, not remote */
        pbw_msg_end(b, ls, 1);
    }
    put_u(b, 14, s->dropped_links);
    if (s->status) {
        size_t ss = pbw_msg_begin(b, 15, 1);
        put_str(b, 2, a->p + s->status_off, s->status_len);
        pbw_uint(b, 3, s->status);
        pbw_msg_end(b, ss, 1);
    }
    /* bits 0-7 trace flags, 0x100 HAS_IS_REMOTE, 0x200 IS_REMOTE (parent) */
    pbw_fixed32(b, 16, (uint32_t)s->flags | 0x100u | (s->parent_remote ? 0x200u : 0));
    pbw_msg_end(b, st, 2);
}

static void enc_log(pbw_buf_t *b, const osdk_log_t *l)
{
    const osdk_arena_t *a = &l->arena;
    size_t st = pbw_msg_begin(b, 2, 2);
    if (l->time_ns) pbw_fixed64(b, 1, l->time_ns);
    put_u(b, 2, (uint64_t)l->severity);
    put_str(b, 3, a->p + l->sevtext_off, l->sevtext_len);
    if (l->has_body) {
        size_t bs = pbw_msg_begin(b, 5, 1);
        pbw_bytes(b, 1, a->p + l->body_off, l->body_len);
        pbw_msg_end(b, bs, 1);
    }
    osdk_attrs_encode(b, 6, l->attrs.v, l->attrs.n, a);
    put_u(b, 7, l->attrs.dropped);
    if (l->flags) pbw_fixed32(b, 8, l->flags);
    if (l->has_ctx) {
        pbw_bytes(b, 9, l->trace_id, 16);
        pbw_bytes(b, 10, l->span_id, 8);
    }
    pbw_fixed64(b, 11, l->observed_ns);
    put_str(b, 12, a->p + l->event_off, l->event_len);
    pbw_msg_end(b, st, 2);
}

static osdk_scope_t *scope_of(int logs, void *r)
{
    return logs ? ((osdk_log_t *)r)->scope : ((ocelot_span_t *)r)->scope;
}

static void encode(pbw_buf_t *b, const pbw_buf_t *res, void **recs, size_t n, int logs)
{
    osdk_scope_t *seen[64];
    size_t nseen = 0;
    size_t rs = pbw_msg_begin(b, 1, 3);
    if (res->len) pbw_bytes(b, 1, res->p, res->len);
    for (size_t i = 0; i < n; i++) {
        osdk_scope_t *sc = scope_of(logs, recs[i]);
        size_t k;
        for (k = 0; k < nseen; k++)
            if (seen[k] == sc) break;
        if (k < nseen) continue;
        if (nseen < 64) seen[nseen++] = sc;
        size_t ss = pbw_msg_begin(b, 2, 3);
        size_t sc_st = pbw_msg_begin(b, 1, 1);
        pbw_raw(b, sc->pb.p, sc->pb.len);
        pbw_msg_end(b, sc_st, 1);
        for (size_t j = i; j < n; j++) {
            if (scope_of(logs, recs[j]) != sc) continue;
            if (logs)
                enc_log(b, recs[j]);
            else
                enc_span(b, recs[j]);
        }
        if (sc->schema_url) pbw_bytes(b, 3, sc->schema_url, strlen(sc->schema_url));
        pbw_msg_end(b, ss, 3);
    }
    pbw_msg_end(b, rs, 3);
}

void osdk_encode_spans(pbw_buf_t *b, const pbw_buf_t *res, void **spans, size_t n)
{
    encode(b, res, spans, n, 0);
}

void osdk_encode_logs(pbw_buf_t *b, const pbw_buf_t *res, void **logs, size_t n)
{
    encode(b, res, logs, n, 1);
}

/* ---- console JSON ---- */

static void hex(FILE *f, const uint8_t *p, size_t n)
{
    static const char d[] = "0123456789abcdef";
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        fputc(d[p[i] >> 4], f);
        fputc(d[p[i] & 15], f);
    }
    fputc('"', f);
}

static void scope_json(FILE *f, const osdk_scope_t *sc, const char *service)
{
    fputs(",\"scope\":", f);
    osdk_json_str(f, sc->name, strlen(sc->name));
    fputs(",\"service.name\":", f);
    osdk_json_str(f, service, strlen(service));
}

void osdk_console_spans(FILE *f, const char *service, void **spans, size_t n)
{
    static const char *const kinds[] = {"UNSPECIFIED", "INTERNAL", "SERVER",
                                        "CLIENT",      "PRODUCER", "CONSUMER"};
    static const char *const codes[] = {"UNSET", "OK", "ERROR"};
    for (size_t i = 0; i < n; i++) {
        const ocelot_span_t *s = spans[i];
        const osdk_arena_t *a = &s->arena;
        fputs("{\"type\":\"span\",\"name\":", f);
        osdk_json_str(f, a->p + s->name_off, s->name_len);
        fputs(",\"trace_id\":", f);
        hex(f, s->trace_id, 16);
        fputs(",\"span_id\":", f);
        hex(f, s->span_id, 8);
        if (s->has_parent) {
            fputs(",\"parent_span_id\":", f);
            hex(f, s->parent_id, 8);
        }
        fprintf(f, ",\"kind\":\"%s\",\"start_time_unix_nano\":%llu,\"end_time_unix_nano\":%llu",
                kinds[s->kind <= 5 ? s->kind : 0], (unsigned long long)s->start_ns,
                (unsigned long long)s->end_ns);
        fputs(",\"attributes\":", f);
        osdk_attrs_json(f, s->attrs.v, s->attrs.n, a);
        if (s->n_events) {
            fputs(",\"events\":[", f);
            for (uint32_t e = 0; e < s->n_events; e++) {
                const osdk_event_t *ev = &s->events[e];
                fprintf(f, "%s{\"time_unix_nano\":%llu,\"name\":", e ? "," : "",
                        (unsigned long long)ev->time_ns);
                osdk_json_str(f, a->p + ev->name_off, ev->name_len);
                fputs(",\"attributes\":", f);
                osdk_attrs_json(f, ev->n_attrs ? s->sub + ev->attr_first : NULL, ev->n_attrs, a);
                fputc('}', f);
            }
            fputc(']', f);
        }
        fprintf(f, ",\"status\":{\"code\":\"%s\"", codes[s->status <= 2 ? s->status : 0]);
        if (s->status_len) {
            fputs(",\"message\":", f);
            osdk_json_str(f, a->p + s->status_off, s->status_len);
        }
        fputc('}', f);
        scope_json(f, s->scope, service);
        fputs("}\n", f);
    }
    fflush(f);
}

void osdk_console_logs(FILE *f, const char *service, void **logs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const osdk_log_t *l = logs[i];
        const osdk_arena_t *a = &l->arena;
        fprintf(f,
                "{\"type\":\"log\",\"time_unix_nano\":%llu,\"observed_time_unix_nano\":%llu,"
                "\"severity_number\":%d",
                (unsigned long long)l->time_ns, (unsigned long long)l->observed_ns, l->severity);
        if (l->sevtext_len) {
            fputs(",\"severity_text\":", f);
            osdk_json_str(f, a->p + l->sevtext_off, l->sevtext_len);
        }
        if (l->has_body) {
            fputs(",\"body\":", f);
            osdk_json_str(f, a->p + l->body_off, l->body_len);
        }
        if (l->event_len) {
            fputs(",\"event_name\":", f);
            osdk_json_str(f, a->p + l->event_off, l->event_len);
        }
        if (l->has_ctx) {
            fputs(",\"trace_id\":", f);
            hex(f, l->trace_id, 16);
            fputs(",\"span_id\":", f);
            hex(f, l->span_id, 8);
        }
        fputs(",\"attributes\":", f);
        osdk_attrs_json(f, l->attrs.v, l->attrs.n, a);
        scope_json(f, l->scope, service);
        fputs("}\n", f);
    }
    fflush(f);
}
