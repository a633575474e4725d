/*
 * records.h — the pooled record layouts: a span slot and a log record slot.
 *
 * Invariants: a slot's arena and attribute arrays survive reuse (only
 * lengths are reset), so after warm-up starting a span allocates nothing.
 * Event and link attributes live in `sub`, contiguously per event/link
 * (they are given all at once). A slot with state NONREC is a sampled-out
 * span: only its ids, flags and epoch are meaningful.
 *
 * Workload: one slot per span in flight; written by one application
 * thread, then read by the export thread after the queue hand-off.
 */
#ifndef OCELOT_SDK_RECORDS_H
#define OCELOT_SDK_RECORDS_H

#include "internal.h"
#include "ocelot/logs.h"
#include "ocelot/trace.h"

enum { OSDK_SPAN_NOOP = 0, OSDK_SPAN_RECORDING = 1, OSDK_SPAN_NONREC = 2, OSDK_SPAN_ENDED = 3 };

typedef struct osdk_event {
    uint64_t time_ns;    /* event time */
    uint32_t name_off;   /* name in the arena */
    uint32_t name_len;   /* name length */
    uint32_t attr_first; /* first attribute in sub */
    uint32_t n_attrs;    /* attributes in sub */
    uint32_t dropped;    /* attributes over the limit */
} osdk_event_t;

typedef struct osdk_link {
    uint8_t trace_id[16];    /* linked trace */
    uint8_t span_id[8];      /* linked span */
    uint32_t flags;          /* W3C flags of the linked context */
    uint32_t ts_off, ts_len; /* tracestate in the arena */
    uint32_t attr_first;     /* first attribute in sub */
    uint32_t n_attrs;        /* attributes in sub */
    uint32_t dropped;        /* attributes over the limit */
} osdk_link_t;

struct ocelot_span {
    osdk_rec_t rec;                                /* pool header (must be first) */
    uint8_t trace_id[16];                          /* this span's trace */
    uint8_t span_id[8];                            /* this span */
    uint8_t parent_id[8];                          /* parent span or zero */
    uint8_t state;                                 /* OSDK_SPAN_* */
    uint8_t flags;                                 /* W3C trace flags */
    uint8_t kind;                                  /* ocelot_span_kind_t */
    uint8_t status;                                /* ocelot_status_t */
    uint8_t parent_remote;                         /* parent was extracted */
    uint8_t has_parent;                            /* parent_id is set */
    osdk_scope_t *scope;                           /* tracer */
    uint64_t start_ns;                             /* start time */
    uint64_t end_ns;                               /* end time */
    uint32_t name_off, name_len;                   /* name in the arena */
    uint32_t status_off, status_len;               /* status description in the arena */
    uint32_t ts_off, ts_len;                       /* tracestate in the arena */
    osdk_attrs_t attrs;                            /* span attributes */
    osdk_event_t *events;                          /* events (heap, kept) */
    uint32_t n_events, cap_events, dropped_events; /* counts */
    osdk_link_t *links;                            /* links (heap, kept) */
    uint32_t n_links, cap_links, dropped_links;    /* counts */
    osdk_attr_t *sub;                              /* event/link attributes (heap, kept) */
    uint32_t n_sub, cap_sub;                       /* counts */
    osdk_arena_t arena;                            /* strings */
};

/* A log record slot. */
typedef struct osdk_log {
    osdk_rec_t rec;                    /* pool header (must be first) */
    osdk_scope_t *scope;               /* logger */
    uint64_t time_ns;                  /* event time or 0 */
    uint64_t observed_ns;              /* when emitted */
    int32_t severity;                  /* severity number */
    uint32_t flags;                    /* trace flags of the context */
    uint8_t trace_id[16];              /* context trace or zero */
    uint8_t span_id[8];                /* context span or zero */
    uint8_t has_ctx;                   /* ids are set */
    uint32_t sevtext_off, sevtext_len; /* severity text in the arena */
    uint32_t body_off, body_len;       /* body (string) in the arena */
    uint32_t has_body;                 /* body present */
    uint32_t event_off, event_len;     /* event name in the arena */
    osdk_attrs_t attrs;                /* attributes */
    osdk_arena_t arena;                /* strings */
} osdk_log_t;

/* Pool hooks. */
void osdk_span_slot_init(struct ocelot_span *s);
void osdk_log_slot_init(osdk_log_t *l);

#endif
