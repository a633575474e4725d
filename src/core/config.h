/*
 * config.h — every setting of `ocelot serve` in one value struct, its
 * defaults, the YAML configuration file (collector-style layout, see
 * docs/CONFIGURATION.md) and the one validating setter that both the file
 * and the command-line flags go through.
 *
 * Precedence is the caller's: ocl_config_defaults(), then ocl_config_load()
 * for --config, then ocl_config_set() per flag, each overriding the last.
 *
 * Invariants: an ocl_config_t owns no heap memory (strings are inline,
 * NUL-terminated) and may be copied freely. Every value in it has passed the
 * same range checks whichever way it was set. On error a load or parse
 * leaves *cfg partly updated and writes one fixed-format line to err:
 *     "<name>:<line>: <message>"
 * Workload: read once at startup; the parser is bounded (input ≤ 4 MiB,
 * nesting ≤ 32) so that it may be fuzzed and fed anything.
 */
#ifndef OCL_CONFIG_H
#define OCL_CONFIG_H

#include "core/core.h"

#include <stdio.h>

/* WAL fsync policy (mapped to ocl_fsync_policy_t by the caller; core does
 * not depend on the store). */
typedef enum {
    OCL_CONFIG_FSYNC_ALWAYS,   /* fdatasync before every acknowledgement */
    OCL_CONFIG_FSYNC_INTERVAL, /* fdatasync every fsync_interval_ms */
    OCL_CONFIG_FSYNC_NEVER,    /* leave it to the kernel */
} ocl_config_fsync_t;

#define OCL_CONFIG_ADDR_MAX 262 /* "[" 256-byte host "]:" port, NUL */
#define OCL_CONFIG_PATH_MAX 4096

typedef struct {
    char otlp_grpc_endpoint[OCL_CONFIG_ADDR_MAX]; /* OTLP/gRPC listen "host:port" */
    char otlp_http_endpoint[OCL_CONFIG_ADDR_MAX]; /* OTLP/HTTP listen "host:port" */
    char http_endpoint[OCL_CONFIG_ADDR_MAX];      /* HTTP API + UI listen "host:port" */
    int workers;                                  /* network threads; 0 = cores */
    char data_dir[OCL_CONFIG_PATH_MAX];           /* data directory */
    ocl_config_fsync_t fsync;                     /* WAL fsync policy */
    uint64_t fsync_interval_ms;                   /* for OCL_CONFIG_FSYNC_INTERVAL */
    uint64_t trace_retention_ms;                  /* trace segment retention */
    uint64_t wal_retention_ms;                    /* metrics/logs WAL retention */
    uint64_t max_memory_bytes;                    /* trace head memory limit (503 beyond) */
    uint64_t max_body_bytes;                      /* OTLP/HTTP body after decompression */
    uint64_t max_grpc_msg_bytes;                  /* gRPC message after decompression */
    int log_level;                                /* OCL_LOG_* (core/log.h) */
    uint64_t metrics_retention_ms;                /* TSDB retention by age */
    uint64_t metrics_retention_bytes;             /* TSDB retention by size per tenant (0 = none) */
    uint64_t metrics_max_series;                  /* active series per tenant */
    uint64_t max_label_name_len;                  /* remote write: label name bytes */
    uint64_t max_label_value_len;                 /* remote write: label value bytes */
    uint64_t max_labels_per_series;               /* remote write: labels per series */
    uint64_t rw_max_bytes;                        /* remote write body after snappy */
} ocl_config_t;

/* Fills every field with its documented default. */
void ocl_config_defaults(ocl_config_t *cfg);

/* Reads and applies the YAML file at `path` over *cfg (call
 * ocl_config_defaults first). Returns 0, OCL_EIO (unreadable; err says
 * why), OCL_ETOOBIG (over 4 MiB), OCL_EINVAL (invalid; err has the line)
 * or OCL_EUNSUPP (a section that is not supported yet). Error messages
 * name the file as `path`. */
int ocl_config_load(const char *path, ocl_config_t *cfg, char *err, size_t errlen);

/* The same over a buffer (need not be NUL-terminated); `name` is used in
 * error messages in place of a file name. An empty text changes nothing. */
int ocl_config_parse(const char *text, size_t len, const char *name, ocl_config_t *cfg, char *err,
                     size_t errlen);

/* Sets one setting by its canonical key (the dotted YAML path printed by
 * `ocelot check`, e.g. "storage.wal.fsync_interval") from its text form.
 * Returns 0, OCL_ENOTFOUND (no such key) or OCL_EINVAL (value malformed or
 * out of range; *cfg unchanged). */
int ocl_config_set(ocl_config_t *cfg, const char *key, const char *value);

/* The canonical settings, in a stable order: count, key, accepted values
 * (for messages, e.g. "a duration from 1ms to 60s") and the current value
 * formatted so that ocl_config_set() reads it back unchanged. */
size_t ocl_config_count(void);
const char *ocl_config_key(size_t i);
const char *ocl_config_help(size_t i);
void ocl_config_value(const ocl_config_t *cfg, size_t i, char *buf, size_t n);

/* Writes "key: value\n" for every setting. */
void ocl_config_print(const ocl_config_t *cfg, FILE *f);

/* Value syntax shared by the file and the flags.
 * Durations: a decimal number and a unit ms, s, m, h, d or w; no unit =
 * seconds. Sizes: a decimal number and an optional unit B, k/KB/KiB,
 * m/MB/MiB, g/GB/GiB (case-insensitive, all powers of 1024). Both return 0
 * or OCL_EINVAL (also when the result does not fit in 63 bits). */
int ocl_config_parse_duration_ms(const char *s, uint64_t *out);
int ocl_config_parse_bytes(const char *s, uint64_t *out);

/* ---- Prometheus scraping (`global:` and `scrape_configs:`) -------------------
 * Kept apart from ocl_config_t (whose settings are all flat and printable)
 * but with the same rules: inline storage only (strings in `pool`, referred
 * to by offset), copyable, every value validated while loading.
 * After a successful load every job's interval and timeout are resolved
 * (inherited from `global`, an inherited timeout capped at the interval). */
#define OCL_SCRAPE_MAX_JOBS 64     /* scrape_configs entries */
#define OCL_SCRAPE_MAX_ITEMS 4096  /* targets + labels + params, all jobs */
#define OCL_SCRAPE_POOL (96 << 10) /* bytes of strings, all jobs */

typedef enum {
    OCL_SCRAPE_ITEM_TARGET, /* k = "host:port" */
    OCL_SCRAPE_ITEM_LABEL,  /* k = name, v = value (of the static config `group`) */
    OCL_SCRAPE_ITEM_PARAM,  /* k = URL parameter name, v = one value */
} ocl_scrape_item_kind_t;

typedef struct {
    uint8_t kind;   /* ocl_scrape_item_kind_t */
    uint16_t group; /* index of the static_configs entry (targets, labels) */
    uint32_t k;     /* pool offset of the first string */
    uint32_t v;     /* pool offset of the second string (labels, params) */
} ocl_scrape_item_t;

typedef struct {
    uint32_t name;                     /* pool offset: job_name */
    uint32_t metrics_path;             /* pool offset: path starting with '/' */
    uint64_t interval_ms;              /* scrape_interval (0 = global) */
    uint64_t timeout_ms;               /* scrape_timeout (0 = global, capped at interval) */
    uint64_t body_size_limit;          /* bytes of body after decompression (0 = 64 MiB) */
    uint32_t sample_limit;             /* 0 = none */
    uint32_t label_limit;              /* 0 = none */
    uint32_t label_name_length_limit;  /* 0 = none */
    uint32_t label_value_length_limit; /* 0 = none */
    uint8_t honor_labels;              /* scraped labels win over target labels */
    uint8_t honor_timestamps;          /* use the exposition's timestamps (default 1) */
    uint32_t first_item;               /* its items are items[first_item, +n_items) */
    uint32_t n_items;                  /* number of items */
    size_t line;                       /* line of the entry in the file, for messages */
} ocl_scrape_job_cfg_t;

typedef struct {
    uint64_t interval_ms;                           /* global.scrape_interval (default 1m) */
    uint64_t timeout_ms;                            /* global.scrape_timeout (default 10s) */
    uint64_t self_interval_ms;                      /* server.self_scrape_interval (15s; 0 = off) */
    uint32_t n_jobs;                                /* entries used in jobs */
    ocl_scrape_job_cfg_t jobs[OCL_SCRAPE_MAX_JOBS]; /* scrape_configs */
    uint32_t n_items;                               /* entries used in items */
    ocl_scrape_item_t items[OCL_SCRAPE_MAX_ITEMS];  /* per job, contiguous */
    uint32_t first_ext, n_ext;                      /* global.external_labels items */
    uint32_t pool_len;                              /* bytes used in pool */
    char pool[OCL_SCRAPE_POOL];                     /* NUL-terminated strings */
} ocl_scrape_config_t;

/* Defaults: no jobs, interval 1m, timeout 10s, self-scrape every 15s. */
void ocl_config_scrape_defaults(ocl_scrape_config_t *sc);
/* The string at pool offset `off`. */
static inline const char *ocl_scrape_str(const ocl_scrape_config_t *sc, uint32_t off)
{
    return sc->pool + off;
}

/* ocl_config_load / ocl_config_parse that also fill *sc (call
 * ocl_config_scrape_defaults first). The plain versions validate the scrape
 * sections the same way and discard them. */
int ocl_config_load_all(const char *path, ocl_config_t *cfg, ocl_scrape_config_t *sc, char *err,
                        size_t errlen);
int ocl_config_parse_all(const char *text, size_t len, const char *name, ocl_config_t *cfg,
                         ocl_scrape_config_t *sc, char *err, size_t errlen);

#endif
