/*
 * otlp.h — the in-memory model of OTLP export requests (traces, metrics,
 * logs), shared by the protobuf decoder/encoder (otlp_pb.c), the OTLP/JSON
 * decoder/encoder (otlp_json.c), the receivers and the stores.
 *
 * Ownership: a decoded request lives in the arena passed to the decoder.
 * Strings and byte fields (ocl_str_t) point into the input buffer when it
 * came from protobuf (zero copy) or into the arena when it came from JSON;
 * either way the input buffer and the arena must outlive the model.
 * `raw` fields hold the exact protobuf encoding of the element (the bytes
 * of the sub-message, without its tag and length) when decoded from
 * protobuf, and OCL_STR_NULL when built any other way; the trace store keeps
 * these bytes verbatim instead of re-encoding.
 *
 * Field numbers are those of opentelemetry-proto v1 (see otlp_pb.c).
 * Workload: batches of 100-10,000 records, decoded once per request.
 */
#ifndef OCL_WIRE_OTLP_H
#define OCL_WIRE_OTLP_H

#include "core/arena.h"
#include "core/buf.h"
#include "core/core.h"

#include <stdbool.h>

/* Maximum nesting of AnyValue arrays/kvlists accepted by the decoders. */
#define OCL_OTLP_MAX_DEPTH 32

/* ---- common.proto ---- */

typedef enum {
    OCL_AV_EMPTY = 0, /* value not set */
    OCL_AV_STRING,
    OCL_AV_BOOL,
    OCL_AV_INT,
    OCL_AV_DOUBLE,
    OCL_AV_ARRAY,
    OCL_AV_KVLIST,
    OCL_AV_BYTES,
} ocl_av_type_t;

typedef struct ocl_anyvalue ocl_anyvalue_t;
typedef struct ocl_kv ocl_kv_t;

struct ocl_anyvalue {
    ocl_av_type_t type; /* which member of u is set */
    union {
        ocl_str_t s; /* STRING (valid UTF-8) and BYTES */
        bool b;      /* BOOL */
        int64_t i;   /* INT */
        double d;    /* DOUBLE */
        struct {
            ocl_anyvalue_t *v; /* arena array of n values */
            uint32_t n;
        } arr; /* ARRAY */
        struct {
            ocl_kv_t *kv; /* arena array of n pairs */
            uint32_t n;
        } kvlist; /* KVLIST */
    } u;
};

struct ocl_kv {
    ocl_str_t key;        /* attribute key (UTF-8) */
    ocl_anyvalue_t value; /* attribute value */
};

typedef struct {
    ocl_kv_t *v; /* arena array */
    uint32_t n;  /* number of pairs */
} ocl_attrs_t;

typedef struct {
    ocl_str_t raw;          /* protobuf bytes of the Resource message */
    ocl_attrs_t attrs;      /* attributes = 1 */
    uint32_t dropped_attrs; /* dropped_attributes_count = 2 */
    bool present;           /* the message carried a resource field */
} ocl_resource_t;

typedef struct {
    ocl_str_t raw;          /* protobuf bytes of the InstrumentationScope */
    ocl_str_t name;         /* name = 1 */
    ocl_str_t version;      /* version = 2 */
    ocl_attrs_t attrs;      /* attributes = 3 */
    uint32_t dropped_attrs; /* dropped_attributes_count = 4 */
    bool present;           /* the message carried a scope field */
} ocl_scope_t;

/* ---- trace.proto ---- */

typedef enum {
    OCL_SPAN_KIND_UNSPECIFIED = 0,
    OCL_SPAN_KIND_INTERNAL = 1,
    OCL_SPAN_KIND_SERVER = 2,
    OCL_SPAN_KIND_CLIENT = 3,
    OCL_SPAN_KIND_PRODUCER = 4,
    OCL_SPAN_KIND_CONSUMER = 5,
} ocl_span_kind_t;

typedef struct {
    uint64_t time_unix_nano; /* 1 */
    ocl_str_t name;          /* 2 */
    ocl_attrs_t attrs;       /* 3 */
    uint32_t dropped_attrs;  /* 4 */
} ocl_span_event_t;

typedef struct {
    ocl_str_t trace_id;     /* 1: 16 bytes when valid */
    ocl_str_t span_id;      /* 2: 8 bytes when valid */
    ocl_str_t trace_state;  /* 3 */
    ocl_attrs_t attrs;      /* 4 */
    uint32_t dropped_attrs; /* 5 */
    uint32_t flags;         /* 6 (fixed32) */
} ocl_span_link_t;

typedef struct {
    ocl_str_t raw;            /* protobuf bytes of the Span */
    ocl_str_t trace_id;       /* 1 */
    ocl_str_t span_id;        /* 2 */
    ocl_str_t trace_state;    /* 3 */
    ocl_str_t parent_span_id; /* 4 */
    ocl_str_t name;           /* 5 */
    int32_t kind;             /* 6 (ocl_span_kind_t; unknown values kept) */
    uint64_t start_unix_nano; /* 7 */
    uint64_t end_unix_nano;   /* 8 */
    ocl_attrs_t attrs;        /* 9 */
    uint32_t dropped_attrs;   /* 10 */
    ocl_span_event_t *events; /* 11, arena array */
    uint32_t n_events;
    uint32_t dropped_events; /* 12 */
    ocl_span_link_t *links;  /* 13, arena array */
    uint32_t n_links;
    uint32_t dropped_links;   /* 14 */
    ocl_str_t status_message; /* 15.2 */
    int32_t status_code;      /* 15.3: 0 unset, 1 ok, 2 error */
    bool has_status;          /* field 15 present */
    uint32_t flags;           /* 16 (fixed32) */
} ocl_span_t;

typedef struct {
    ocl_str_t raw;     /* protobuf bytes of the ScopeSpans */
    ocl_scope_t scope; /* 1 */
    ocl_span_t *spans; /* 2, arena array */
    uint32_t n_spans;
    ocl_str_t schema_url; /* 3 */
} ocl_scope_spans_t;

typedef struct {
    ocl_str_t raw;                  /* protobuf bytes of the ResourceSpans */
    ocl_resource_t resource;        /* 1 */
    ocl_scope_spans_t *scope_spans; /* 2, arena array */
    uint32_t n_scope_spans;
    ocl_str_t schema_url; /* 3 */
} ocl_resource_spans_t;

typedef struct {
    ocl_resource_spans_t *rs; /* resource_spans = 1, arena array */
    uint32_t n_rs;
} ocl_traces_req_t;

/* ---- metrics.proto ---- */

typedef enum {
    OCL_METRIC_NONE = 0,      /* no data field set */
    OCL_METRIC_GAUGE,         /* 5 */
    OCL_METRIC_SUM,           /* 7 */
    OCL_METRIC_HISTOGRAM,     /* 9 */
    OCL_METRIC_EXP_HISTOGRAM, /* 10 */
    OCL_METRIC_SUMMARY,       /* 11 */
} ocl_metric_type_t;

typedef enum {
    OCL_TEMPORALITY_UNSPECIFIED = 0,
    OCL_TEMPORALITY_DELTA = 1,
    OCL_TEMPORALITY_CUMULATIVE = 2,
} ocl_temporality_t;

typedef struct {
    ocl_attrs_t filtered_attrs; /* 7 */
    uint64_t time_unix_nano;    /* 2 */
    bool is_int;                /* as_int (6) set, else as_double (3) */
    double as_double;           /* 3 */
    int64_t as_int;             /* 6 (sfixed64) */
    ocl_str_t span_id;          /* 4 */
    ocl_str_t trace_id;         /* 5 */
} ocl_exemplar_t;

typedef struct {
    ocl_exemplar_t *v; /* arena array */
    uint32_t n;
} ocl_exemplars_t;

typedef struct {
    ocl_attrs_t attrs;         /* 7 */
    uint64_t start_unix_nano;  /* 2 */
    uint64_t time_unix_nano;   /* 3 */
    bool is_int;               /* as_int (6) set, else as_double (4) */
    double as_double;          /* 4 */
    int64_t as_int;            /* 6 (sfixed64) */
    ocl_exemplars_t exemplars; /* 5 */
    uint32_t flags;            /* 8 */
} ocl_number_dp_t;

typedef struct {
    ocl_attrs_t attrs;        /* 9 */
    uint64_t start_unix_nano; /* 2 */
    uint64_t time_unix_nano;  /* 3 */
    uint64_t count;           /* 4 (fixed64) */
    bool has_sum;             /* 5 present */
    double sum;               /* 5 */
    uint64_t *bucket_counts;  /* 6 (packed fixed64), arena array */
    uint32_t n_bucket_counts;
    double *explicit_bounds; /* 7 (packed double), arena array */
    uint32_t n_explicit_bounds;
    ocl_exemplars_t exemplars; /* 8 */
    uint32_t flags;            /* 10 */
    bool has_min, has_max;     /* 11, 12 present */
    double min, max;           /* 11, 12 */
} ocl_histogram_dp_t;

typedef struct {
    int32_t offset;          /* 1 (sint32) */
    uint64_t *bucket_counts; /* 2 (packed uint64), arena array */
    uint32_t n_bucket_counts;
} ocl_exp_buckets_t;

typedef struct {
    ocl_attrs_t attrs;          /* 1 */
    uint64_t start_unix_nano;   /* 2 */
    uint64_t time_unix_nano;    /* 3 */
    uint64_t count;             /* 4 (fixed64) */
    bool has_sum;               /* 5 present */
    double sum;                 /* 5 */
    int32_t scale;              /* 6 (sint32) */
    uint64_t zero_count;        /* 7 (fixed64) */
    ocl_exp_buckets_t positive; /* 8 */
    ocl_exp_buckets_t negative; /* 9 */
    uint32_t flags;             /* 10 */
    ocl_exemplars_t exemplars;  /* 11 */
    bool has_min, has_max;      /* 12, 13 present */
    double min, max;            /* 12, 13 */
    double zero_threshold;      /* 14 */
} ocl_exp_histogram_dp_t;

typedef struct {
    double quantile; /* 1 */
    double value;    /* 2 */
} ocl_quantile_t;

typedef struct {
    ocl_attrs_t attrs;         /* 7 */
    uint64_t start_unix_nano;  /* 2 */
    uint64_t time_unix_nano;   /* 3 */
    uint64_t count;            /* 4 (fixed64) */
    double sum;                /* 5 */
    ocl_quantile_t *quantiles; /* 6, arena array */
    uint32_t n_quantiles;
    uint32_t flags; /* 8 */
} ocl_summary_dp_t;

typedef struct {
    ocl_str_t name;         /* 1 */
    ocl_str_t description;  /* 2 */
    ocl_str_t unit;         /* 3 */
    ocl_metric_type_t type; /* which data field was set */
    int32_t temporality;    /* Sum/Histogram/ExpHistogram field 2 */
    bool is_monotonic;      /* Sum field 3 */
    union {
        ocl_number_dp_t *number;       /* GAUGE, SUM */
        ocl_histogram_dp_t *hist;      /* HISTOGRAM */
        ocl_exp_histogram_dp_t *ehist; /* EXP_HISTOGRAM */
        ocl_summary_dp_t *summary;     /* SUMMARY */
    } dp;                              /* data_points = 1 of the data message, arena array */
    uint32_t n_dp;
    ocl_attrs_t metadata; /* 12 */
} ocl_metric_t;

typedef struct {
    ocl_scope_t scope;     /* 1 */
    ocl_metric_t *metrics; /* 2, arena array */
    uint32_t n_metrics;
    ocl_str_t schema_url; /* 3 */
} ocl_scope_metrics_t;

typedef struct {
    ocl_resource_t resource;            /* 1 */
    ocl_scope_metrics_t *scope_metrics; /* 2, arena array */
    uint32_t n_scope_metrics;
    ocl_str_t schema_url; /* 3 */
} ocl_resource_metrics_t;

typedef struct {
    ocl_resource_metrics_t *rm; /* resource_metrics = 1, arena array */
    uint32_t n_rm;
} ocl_metrics_req_t;

/* ---- logs.proto ---- */

typedef struct {
    uint64_t time_unix_nano;          /* 1 (fixed64) */
    uint64_t observed_time_unix_nano; /* 11 (fixed64) */
    int32_t severity_number;          /* 2 */
    ocl_str_t severity_text;          /* 3 */
    ocl_anyvalue_t body;              /* 5 */
    ocl_attrs_t attrs;                /* 6 */
    uint32_t dropped_attrs;           /* 7 */
    uint32_t flags;                   /* 8 (fixed32) */
    ocl_str_t trace_id;               /* 9 */
    ocl_str_t span_id;                /* 10 */
    ocl_str_t event_name;             /* 12 */
} ocl_log_record_t;

typedef struct {
    ocl_scope_t scope;      /* 1 */
    ocl_log_record_t *logs; /* 2, arena array */
    uint32_t n_logs;
    ocl_str_t schema_url; /* 3 */
} ocl_scope_logs_t;

typedef struct {
    ocl_resource_t resource;      /* 1 */
    ocl_scope_logs_t *scope_logs; /* 2, arena array */
    uint32_t n_scope_logs;
    ocl_str_t schema_url; /* 3 */
} ocl_resource_logs_t;

typedef struct {
    ocl_resource_logs_t *rl; /* resource_logs = 1, arena array */
    uint32_t n_rl;
} ocl_logs_req_t;

/* ---- signals ---- */

typedef enum {
    OCL_SIGNAL_TRACES = 0,
    OCL_SIGNAL_METRICS = 1,
    OCL_SIGNAL_LOGS = 2,
} ocl_signal_t;
#define OCL_SIGNAL_COUNT 3
extern const char *const ocl_signal_names[OCL_SIGNAL_COUNT]; /* "traces", ... */

/* ---- protobuf (otlp_pb.c) ----
 * Decoders: 0 on success; OCL_EINVAL malformed wire data (message in *err),
 * OCL_EDEPTH AnyValue nesting over OCL_OTLP_MAX_DEPTH, OCL_EUTF8 a string
 * field is not UTF-8. Unknown fields are skipped (proto3 rules). `err`
 * receives a fixed static string; may be NULL. */
int ocl_otlp_pb_decode_traces(const void *buf, size_t len, ocl_arena_t *a, ocl_traces_req_t *out,
                              const char **err);
int ocl_otlp_pb_decode_metrics(const void *buf, size_t len, ocl_arena_t *a, ocl_metrics_req_t *out,
                               const char **err);
int ocl_otlp_pb_decode_logs(const void *buf, size_t len, ocl_arena_t *a, ocl_logs_req_t *out,
                            const char **err);

/* Encoders: append the ExportXServiceRequest encoding to `out`. Elements
 * with a non-empty `raw` may be copied verbatim. Field order follows the
 * field numbers; default (zero) scalars are omitted as proto3 does. */
void ocl_otlp_pb_encode_traces(const ocl_traces_req_t *req, ocl_buf_t *out);
void ocl_otlp_pb_encode_metrics(const ocl_metrics_req_t *req, ocl_buf_t *out);
void ocl_otlp_pb_encode_logs(const ocl_logs_req_t *req, ocl_buf_t *out);

/* Export*ServiceResponse with partial_success { rejected = 1 (int64),
 * error_message = 2 } — the partial_success field is omitted when
 * rejected == 0 and msg is empty. Same layout for all three signals. */
void ocl_otlp_pb_encode_response(int64_t rejected, ocl_str_t msg, ocl_buf_t *out);

/* ---- OTLP/JSON (otlp_json.c) ----
 * JSON mapping of the OTLP spec: lowerCamelCase field names (snake_case
 * accepted too), trace/span ids as hex strings, 64-bit integers as decimal
 * strings or numbers, enums as integers (names accepted), bytes values in
 * base64. Same error convention as the protobuf decoders. */
int ocl_otlp_json_decode_traces(const void *buf, size_t len, ocl_arena_t *a, ocl_traces_req_t *out,
                                const char **err);
int ocl_otlp_json_decode_metrics(const void *buf, size_t len, ocl_arena_t *a,
                                 ocl_metrics_req_t *out, const char **err);
int ocl_otlp_json_decode_logs(const void *buf, size_t len, ocl_arena_t *a, ocl_logs_req_t *out,
                              const char **err);

/* OTLP/JSON writers. encode_traces writes `{"resourceSpans":[...]}` (the
 * body of /v1/traces and of Tempo's trace-by-id answer: Tempo names the
 * top-level key "batches" in v1 — `top_key` selects it). */
void ocl_otlp_json_encode_traces(const ocl_traces_req_t *req, const char *top_key, ocl_buf_t *out);
void ocl_otlp_json_encode_metrics(const ocl_metrics_req_t *req, ocl_buf_t *out);
void ocl_otlp_json_encode_logs(const ocl_logs_req_t *req, ocl_buf_t *out);
/* `{"partialSuccess":{"rejectedSpans":"3","errorMessage":"..."}}` or `{}`;
 * `rejected_field` is "rejectedSpans", "rejectedDataPoints" or
 * "rejectedLogRecords". */
void ocl_otlp_json_encode_response(const char *rejected_field, int64_t rejected, ocl_str_t msg,
                                   ocl_buf_t *out);

/* ---- helpers (otlp.c) ---- */
/* Number of spans / data points / log records in a request. */
size_t ocl_otlp_traces_count(const ocl_traces_req_t *r);
size_t ocl_otlp_metrics_count(const ocl_metrics_req_t *r);
size_t ocl_otlp_logs_count(const ocl_logs_req_t *r);
/* Finds a string-valued attribute (e.g. "service.name"); OCL_STR_NULL if none. */
ocl_str_t ocl_attrs_get_str(const ocl_attrs_t *attrs, const char *key);

#endif
