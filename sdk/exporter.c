/*
 * exporter.c — dispatches a batch to the configured exporter of its
 * signal: OTLP/HTTP (encode + otlp_http.c), console (JSON lines on
 * stdout), callback (encoded bytes to the host) or none (discard), and
 * keeps the self-metrics of exports.
 *
 * Invariants: runs only on the signal's export thread; the encode buffer
 * is reused (shrunk when a batch left it above 8 MiB).
 *
 * Workload: one call per batch.
 */
#include "records.h"

osdk_exporter_t *osdk_exporter_create(int signal, const osdk_export_cfg_t *cfg)
{
    osdk_exporter_t *e = osdk_calloc(sizeof *e);
    if (!e) return NULL;
    e->signal = signal;
    e->cfg = *cfg;
    e->cb = osdk_g.opts.export_cb;
    e->cb_ud = osdk_g.opts.export_cb_ud;
    memcpy(e->service_name, osdk_g.service_name, sizeof e->service_name);
    e->service_name[sizeof e->service_name - 1] = 0;
    pbw_init(&e->body, osdk_pbw_realloc, NULL);
    pbw_init(&e->resource, osdk_pbw_realloc, NULL);
    if (osdk_g.resource_pb.len) pbw_raw(&e->resource, osdk_g.resource_pb.p, osdk_g.resource_pb.len);
    if (e->resource.err) goto fail;
    if (cfg->kind == OCELOT_EXPORTER_OTLP) {
        e->http = osdk_http_create(cfg, signal);
        if (!e->http) goto fail;
    }
    return e;
fail:
    pbw_free(&e->resource);
    osdk_free(e);
    return NULL;
}

void osdk_exporter_destroy(osdk_exporter_t *e)
{
    if (!e) return;
    osdk_http_destroy(e->http);
    pbw_free(&e->body);
    pbw_free(&e->resource);
    osdk_free(e);
}

void osdk_exporter_atfork_child(osdk_exporter_t *e);
void osdk_exporter_atfork_child(osdk_exporter_t *e)
{
    /* The parent's connection and buffer may have been in use mid-request:
     * abandon them (a small leak in the child) and start fresh. */
    pbw_init(&e->body, osdk_pbw_realloc, NULL);
    if (e->http) e->http = osdk_http_create(&e->cfg, e->signal);
}

int osdk_exporter_send(osdk_exporter_t *e, const uint8_t *body, size_t len,
                       _Atomic uint64_t *abort_at, uint64_t deadline, int64_t *rejected)
{
    *rejected = 0;
    switch (e->cfg.kind) {
    case OCELOT_EXPORTER_OTLP:
        if (!e->http) return OCELOT_EIO;
        return osdk_http_send(e->http, body, len, abort_at, deadline, rejected);
    case OCELOT_EXPORTER_CALLBACK:
        if (!e->cb) return 0;
        return e->cb(e->cb_ud, (ocelot_signal_t)e->signal, body, len) < 0
                   ? OCELOT_EIO
                   : 0;
    default:
        return 0;
    }
}

int osdk_exporter_export(osdk_exporter_t *e, void **recs, size_t n, _Atomic uint64_t *abort_at,
                         uint64_t deadline)
{
    int logs = e->signal == OCELOT_SIGNAL_LOGS;
    _Atomic uint64_t *ok = logs ? &osdk_g.logs_exported : &osdk_g.spans_exported;
    _Atomic uint64_t *failed = logs ? &osdk_g.log_export_failures : &osdk_g.span_export_failures;
    _Atomic uint64_t *dropped = logs ? &osdk_g.logs_dropped : &osdk_g.spans_dropped;
    int rc = 0;
    switch (e->cfg.kind) {
    case OCELOT_EXPORTER_NONE:
        osdk_count(ok, n);
        return 0;
    case OCELOT_EXPORTER_CONSOLE:
        if (logs)
            osdk_console_logs(stdout, e->service_name, recs, n);
        else
            osdk_console_spans(stdout, e->service_name, recs, n);
        osdk_count(ok, n);
        return 0;
    default:
        break;
    }
    pbw_reset(&e->body);
    if (logs)
        osdk_encode_logs(&e->body, &e->resource, recs, n);
    else
        osdk_encode_spans(&e->body, &e->resource, recs, n);
    if (e->body.err) {
        rc = OCELOT_ENOMEM;
    } else {
        int64_t rejected = 0;
        rc = osdk_exporter_send(e, e->body.p, e->body.len, abort_at, deadline, &rejected);
        if (rc == 0) {
            if (rejected < 0 || (uint64_t)rejected > n) rejected = (int64_t)n;
            osdk_count(ok, n - (uint64_t)rejected);
            if (rejected && !logs) osdk_count(&osdk_g.spans_rejected, (uint64_t)rejected);
            if (rejected && logs) osdk_count(dropped, (uint64_t)rejected);
        }
    }
    if (rc) {
        osdk_count(failed, 1);
        osdk_count(dropped, n);
    }
    if (e->body.cap > (8u << 20)) pbw_free(&e->body);
    return rc;
}
