/*
 * prom_text.h — parser for the Prometheus text exposition format 0.0.4
 * (what /metrics endpoints serve), producing the ocl_prom_batch_t that every
 * metrics ingest path hands on (wire/prom.h).
 *
 * Accepted: `# HELP name text` and `# TYPE name type` lines (metadata, one
 * entry per family; histogram and summary series `_bucket`, `_sum`,
 * `_count`, `quantile` belong to their family), other `#` comments, blank
 * lines, and samples `name{label="value",...} value [timestamp_ms]` with
 * label value escapes \\ \" \n, values in Go's ParseFloat syntax (decimal,
 * exponent, NaN, ±Inf), and UTF-8 names quoted inside the braces
 * (`{"my.metric", "my.label"="v"}`). Like Prometheus 3.x, `le` of histogram
 * buckets and `quantile` of summaries are normalised to OpenMetrics floats
 * ("1" → "1.0"). A parse error fails the whole exposition, with the line.
 *
 * OpenMetrics 1.0 text (opts->openmetrics) differs in: `# UNIT` lines, the
 * types unknown/gaugehistogram/info/stateset (not untyped), counters'
 * `_total`/`_created` and info's `_info` samples belonging to their family,
 * \" in HELP, timestamps in (float) seconds, exemplars after the value
 * (`# {labels} value [ts]`; validated and dropped), and the mandatory final
 * `# EOF` line with nothing after it.
 *
 * Output invariants (those of wire/prom.h): one series per sample line,
 * labels sorted by name, unique, no empty values, "__name__" present.
 * Strings point into `text` (zero-copy) unless an escape had to be
 * decoded, then into the arena; the caller keeps both alive while it uses
 * the batch. Everything else is allocated from the arena.
 * Workload: a scrape of a few hundred to ~100k lines every 15-60 s per
 * target; linear in the input, no per-sample malloc.
 */
#ifndef OCL_WIRE_PROM_TEXT_H
#define OCL_WIRE_PROM_TEXT_H

#include "core/arena.h"
#include "wire/prom.h"

#include <stdbool.h>

#define OCL_PROM_TEXT_MAX_LINE_DEFAULT (1u << 20) /* bytes per line */

typedef struct {
    int64_t default_ts;       /* ms: timestamp of samples that carry none */
    bool ignore_timestamps;   /* use default_ts even when a sample has one */
    bool openmetrics;         /* parse OpenMetrics 1.0 text instead of 0.0.4 */
    uint32_t max_line;        /* longest accepted line (0 = 1 MiB) */
    uint32_t sample_limit;    /* more samples fail the parse (0 = no limit) */
    uint32_t label_limit;     /* more labels per series fail (0 = no limit) */
    uint32_t label_name_len;  /* longest label name (0 = no limit) */
    uint32_t label_value_len; /* longest label value (0 = no limit) */
} ocl_prom_text_opts_t;

/* Parses `text` into *out (series, samples and metadata in `a`). Returns
 * 0, OCL_EINVAL (syntax error), OCL_ETOOBIG (a line over max_line) or
 * OCL_EUTF8 (invalid UTF-8 in a name or value); on error `err` holds one
 * line "line N: message" and *out is empty. `opts` may be NULL (no limits,
 * default_ts 0). */
int ocl_prom_text_parse(const char *text, size_t len, const ocl_prom_text_opts_t *opts,
                        ocl_arena_t *a, ocl_prom_batch_t *out, char *err, size_t errlen);

/* Formats v as OpenMetrics prints floats (Go's FormatFloat 'g' shortest,
 * ".0" added to integers; "+Inf", "-Inf", "NaN"). Returns the length. */
size_t ocl_prom_format_float(double v, char *buf, size_t n);

#endif
