/*
 * prom_scrape.h — Prometheus-style scraping: the scrape manager (one
 * thread driving every target through libcurl's multi interface) and the
 * per-target logic that turns one scrape into one ocl_prom_batch_t.
 *
 * Per scrape a target writes: the exposition's samples with the target
 * labels (job, instance, static labels; honor_labels decides conflicts, the
 * losers being renamed exported_<name>), the report series up,
 * scrape_duration_seconds, scrape_samples_scraped,
 * scrape_samples_post_metric_relabeling and scrape_series_added, and a
 * staleness marker for every series of the previous scrape that is gone
 * (all of them when the scrape failed; up is then 0). Timestamps are the
 * scrape start unless the exposition has its own and honor_timestamps;
 * series with such a timestamp of their own get no staleness markers
 * (Prometheus's rule: their writer decides when they end).
 * A target remembers the previous scrape's series in a hash set whose
 * labels point into that scrape's body, kept alive until the next one.
 *
 * Ownership: a batch returned by a target points into the target and stays
 * valid until the next call on that target. Thread-safety: a target is used
 * by one thread at a time; the manager's functions are called from one
 * (the main) thread.
 */
#ifndef OCL_PROM_SCRAPE_H
#define OCL_PROM_SCRAPE_H

#include "core/config.h"
#include "wire/prom_text.h"

#include <stdbool.h>

/* ---- one target ------------------------------------------------------------ */

typedef struct ocl_scrape_target ocl_scrape_target_t;

typedef struct {
    const char *job;             /* job name (copied) */
    const char *instance;        /* host:port, the `instance` label (copied) */
    const ocl_label_t *labels;   /* static labels (copied; empty values ignored) */
    uint32_t n_labels;           /* number of static labels */
    bool honor_labels;           /* exposition labels win over target labels */
    bool honor_timestamps;       /* keep the exposition's timestamps */
    ocl_prom_text_opts_t limits; /* sample/label limits (timestamps set per scrape) */
} ocl_scrape_target_cfg_t;

ocl_scrape_target_t *ocl_scrape_target_create(const ocl_scrape_target_cfg_t *cfg);
void ocl_scrape_target_destroy(ocl_scrape_target_t *t);

/* The buffer the next scrape's body should be read into (emptied by the
 * call). Passing its bytes to ocl_scrape_target_build avoids a copy. */
ocl_buf_t *ocl_scrape_target_body(ocl_scrape_target_t *t);

/* Builds the batch of one scrape that started at `start_ms` (wall clock)
 * and took `duration_s`. `fetch_err` NULL: the fetch succeeded and
 * body/len is the exposition, in OpenMetrics 1.0 text when `content_type`
 * says application/openmetrics-text, else in text 0.0.4 (content_type may
 * be NULL); else the fetch failed with that message.
 * Returns 0 (up=1) or the parse/fetch error (up=0; `err` says why); *out
 * is filled either way. */
int ocl_scrape_target_build(ocl_scrape_target_t *t, const char *fetch_err, const char *content_type,
                            const char *body, size_t len, int64_t start_ms, double duration_s,
                            ocl_prom_batch_t *out, char *err, size_t errlen);

/* Staleness markers at `ts_ms` for every series the target wrote last
 * (report series included): the target is going away. Afterwards the
 * target is as new. */
void ocl_scrape_target_stale_all(ocl_scrape_target_t *t, int64_t ts_ms, ocl_prom_batch_t *out);

/* ---- the manager ------------------------------------------------------------- */

typedef struct ocl_scraper ocl_scraper_t;

/* Where batches go (ocl_ingest_write_prom in the server). Called on the
 * scraper thread; returns 0 or a negative code (logged, counted). */
typedef int (*ocl_scrape_sink_fn)(void *ud, const ocl_prom_batch_t *b);

/* Creates the scrape loops of `sc`, plus ocelot's own /metrics at
 * `self_addr` (host:port) as job "ocelot" every sc->self_interval_ms unless
 * that is 0, self_addr is NULL or a job is named "ocelot". */
int ocl_scraper_create(const ocl_scrape_config_t *sc, const char *self_addr,
                       ocl_scrape_sink_fn sink, void *ud, ocl_scraper_t **out);
/* Starts the scraper thread (no-op without targets). */
int ocl_scraper_start(ocl_scraper_t *s);
/* Stops the thread (in-flight scrapes are abandoned) and writes staleness
 * markers for every target's series. */
void ocl_scraper_stop(ocl_scraper_t *s);
void ocl_scraper_destroy(ocl_scraper_t *s);
/* Number of targets (for the startup log and tests). */
size_t ocl_scraper_targets(const ocl_scraper_t *s);

#endif
