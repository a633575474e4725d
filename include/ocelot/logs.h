/*
 * logs.h — loggers and log records (the OpenTelemetry Logs Bridge API in
 * C form).
 *
 * A record emitted while a span is current on the thread (or with an
 * explicit ctx) carries that span's trace id, span id and flags. Records go
 * to the batch log record processor (OTEL_BLRP_*: queue 2048, batch 512,
 * 1000 ms, 30000 ms timeout): never blocks, drops (counted) when full.
 *
 * Ownership: loggers belong to the SDK (valid until ocelot_shutdown).
 * Everything in a record is borrowed for the duration of the call and
 * copied.
 */
#ifndef OCELOT_LOGS_H
#define OCELOT_LOGS_H

#include "ocelot/ocelot.h"
#include "ocelot/trace.h"

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

typedef struct ocelot_logger ocelot_logger_t;

/* Severity numbers of the OpenTelemetry log data model. */
typedef enum {
    OCELOT_SEV_UNSPECIFIED = 0,
    OCELOT_SEV_TRACE = 1,
    OCELOT_SEV_DEBUG = 5,
    OCELOT_SEV_INFO = 9,
    OCELOT_SEV_WARN = 13,
    OCELOT_SEV_ERROR = 17,
    OCELOT_SEV_FATAL = 21,
} ocelot_severity_t;

/* One log record (borrowed). Zero fields are absent. */
typedef struct ocelot_log_record {
    uint64_t time_ns;                 /* event time; 0 = unset (observed time is always set) */
    int severity;                     /* 1..24, ocelot_severity_t */
    const char *severity_text;        /* e.g. "INFO"; NULL = derived from severity */
    const char *body;                 /* string body */
    const char *event_name;           /* event name (LogRecord.event_name) */
    const ocelot_attr_t *attrs;       /* attributes */
    size_t n_attrs;                   /* count of attrs */
    const ocelot_span_context_t *ctx; /* NULL = this thread's current span */
    void *reserved[4];                /* future fields; must be zero */
} ocelot_log_record_t;

/* Logger of the global logger provider; a no-op logger when disabled
 * (never NULL). */
ocelot_logger_t *ocelot_logger_get(const char *name, const char *version, const char *schema_url);

/* Emits a record. 0, OCELOT_EFULL (dropped), OCELOT_ENOMEM, OCELOT_EINVAL. */
int ocelot_log_emit(ocelot_logger_t *l, const ocelot_log_record_t *rec);

/* Convenience: severity + body + attributes, time = now. */
int ocelot_log(ocelot_logger_t *l, int severity, const char *body, const ocelot_attr_t *attrs,
               size_t n);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
