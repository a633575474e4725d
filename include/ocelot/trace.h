/*
 * trace.h — tracers and spans.
 *
 * Ownership: tracers belong to the SDK (valid until ocelot_shutdown; never
 * free them). A span handle returned by ocelot_span_start is owned by the
 * caller until ocelot_span_end, after which it must not be used (the slot
 * is recycled). ocelot_span_start never returns NULL: when the SDK is
 * disabled, not initialised, out of memory or the span is sampled out, it
 * returns a non-recording span on which every call is cheap and harmless
 * (a sampled-out span still carries a valid span context for propagation
 * and must still be ended).
 *
 * Threads: a span may be used from one thread at a time; different spans
 * from any threads. The "current span" is per thread.
 */
#ifndef OCELOT_TRACE_H
#define OCELOT_TRACE_H

#include "ocelot/ocelot.h"

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

typedef struct ocelot_tracer ocelot_tracer_t;
typedef struct ocelot_span ocelot_span_t;

/* Trace flags. */
#define OCELOT_FLAG_SAMPLED 0x01u

/* Longest tracestate header value kept (W3C: vendors must propagate at
 * least 512 characters). */
#define OCELOT_TRACESTATE_MAX 512

/* A span context as a value: ids, flags and the tracestate header text. */
typedef struct ocelot_span_context {
    uint8_t trace_id[16];                        /* all zero = invalid */
    uint8_t span_id[8];                          /* all zero = invalid */
    uint8_t flags;                               /* OCELOT_FLAG_SAMPLED, ... */
    uint8_t is_remote;                           /* 1 when extracted from a carrier */
    uint16_t trace_state_len;                    /* bytes used in trace_state */
    char trace_state[OCELOT_TRACESTATE_MAX + 1]; /* validated W3C tracestate, NUL-terminated */
} ocelot_span_context_t;

/* 1 when both ids are non-zero. */
int ocelot_span_context_valid(const ocelot_span_context_t *c);

typedef enum {
    OCELOT_SPAN_INTERNAL = 1,
    OCELOT_SPAN_SERVER = 2,
    OCELOT_SPAN_CLIENT = 3,
    OCELOT_SPAN_PRODUCER = 4,
    OCELOT_SPAN_CONSUMER = 5,
} ocelot_span_kind_t;

typedef enum {
    OCELOT_STATUS_UNSET = 0,
    OCELOT_STATUS_OK = 1,
    OCELOT_STATUS_ERROR = 2,
} ocelot_status_t;

/* A link to another span (borrowed; copied by the SDK). */
typedef struct ocelot_link {
    const ocelot_span_context_t *ctx; /* linked span */
    const ocelot_attr_t *attrs;       /* link attributes */
    size_t n_attrs;                   /* count of attrs */
} ocelot_link_t;

/* Options of ocelot_span_start; all optional (pass NULL for defaults:
 * INTERNAL, parent = this thread's current span, start = now). */
typedef struct ocelot_span_options {
    ocelot_span_kind_t kind;             /* 0 = INTERNAL */
    const ocelot_span_context_t *parent; /* explicit parent (e.g. extracted) */
    ocelot_span_t *parent_span;          /* explicit local parent span */
    int root;                            /* 1 = ignore the current span: new trace */
    uint64_t start_ns;                   /* 0 = now */
    const ocelot_attr_t *attrs;          /* initial attributes (seen by the sampler) */
    size_t n_attrs;                      /* count of attrs */
    const ocelot_link_t *links;          /* initial links */
    size_t n_links;                      /* count of links */
    void *reserved[4];                   /* future options; must be zero */
} ocelot_span_options_t;

/* Returns the tracer for (name, version, schema_url) of the global tracer
 * provider, creating it on first use. version/schema_url may be NULL.
 * Returns a no-op tracer (never NULL) when the SDK is disabled or not
 * initialised. The same arguments return the same tracer. */
ocelot_tracer_t *ocelot_tracer_get(const char *name, const char *version, const char *schema_url);

/* Starts a span. name is copied. See the header comment for NULL. */
ocelot_span_t *ocelot_span_start(ocelot_tracer_t *t, const char *name,
                                 const ocelot_span_options_t *opts);

/* Ends the span (end_ns 0 = now) and hands it to the processor. The
 * handle is invalid afterwards. Never blocks; drops (counted) when the
 * queue is full. */
void ocelot_span_end(ocelot_span_t *s, uint64_t end_ns);

/* 1 when the span records (sampled in and not ended). */
int ocelot_span_is_recording(const ocelot_span_t *s);

/* Copies the span's context into *out (a no-op span gives an invalid one). */
void ocelot_span_get_context(const ocelot_span_t *s, ocelot_span_context_t *out);

/* Sets attributes (same key overwrites). Beyond the attribute count limit
 * new keys are dropped and counted; strings are truncated to the value
 * length limit. Returns 0, OCELOT_EINVAL, OCELOT_EFULL (dropped) or
 * OCELOT_ENOMEM. */
int ocelot_span_set_attrs(ocelot_span_t *s, const ocelot_attr_t *attrs, size_t n);
int ocelot_span_set_str(ocelot_span_t *s, const char *key, const char *value);
int ocelot_span_set_int(ocelot_span_t *s, const char *key, int64_t value);
int ocelot_span_set_double(ocelot_span_t *s, const char *key, double value);
int ocelot_span_set_bool(ocelot_span_t *s, const char *key, int value);

/* Adds an event (time_ns 0 = now). */
int ocelot_span_add_event(ocelot_span_t *s, const char *name, uint64_t time_ns,
                          const ocelot_attr_t *attrs, size_t n);

/* Records an exception event (exception.type / exception.message). */
int ocelot_span_record_exception(ocelot_span_t *s, const char *type, const char *message);

/* Adds a link after start. */
int ocelot_span_add_link(ocelot_span_t *s, const ocelot_link_t *link);

/* Sets the status; description is kept only for ERROR. OK is final. */
void ocelot_span_set_status(ocelot_span_t *s, ocelot_status_t code, const char *description);

/* Renames the span. */
int ocelot_span_update_name(ocelot_span_t *s, const char *name);

/* ---- thread-local current span ------------------------------------------- */

/* This thread's current span, or NULL. Borrowed. */
ocelot_span_t *ocelot_span_current(void);

/* Makes s current on this thread and returns the previous current span,
 * which the caller passes to ocelot_span_detach to restore it. Call
 * ocelot_span_detach before ending s. */
ocelot_span_t *ocelot_span_attach(ocelot_span_t *s);
void ocelot_span_detach(ocelot_span_t *previous);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
