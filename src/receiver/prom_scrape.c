/*
 * prom_scrape.c — one scrape target's scrape-to-batch logic (target labels,
 * honor_labels, report series, staleness) and the scrape manager: a single
 * thread that runs every target's loop through one libcurl multi handle.
 *
 * Target state is two generations (ping-pong): the one being filled holds
 * this scrape's body, its parsed labels and a hash set of its series; the
 * other holds the previous scrape's, so "which series disappeared" is one
 * hash lookup per previous series and nothing is copied: labels keep
 * pointing into the body they were parsed from.
 * Scheduling follows Prometheus: each target has a fixed phase inside its
 * interval (a hash of job and URL), so targets are spread over the interval
 * and each one is scraped at a steady period; a scrape that is still
 * running when its next slot comes skips that slot.
 * Workload: tens to thousands of targets, each every 10-60 s; the thread
 * sleeps in curl_multi_poll between events.
 */
#include "receiver/prom_scrape.h"

#include "api/selfmetrics.h"
#include "core/log.h"
#include "core/time.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <xxhash.h>

#define N_REPORT 5
#define DEFAULT_BODY_LIMIT (64ull << 20)

static const char *const report_names[N_REPORT] = {
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
};

/* ---- one target --------------------------------------------------------------- */

typedef struct {
    ocl_buf_t body;       /* the scrape's body; parsed strings point into it */
    ocl_arena_t arena;    /* labels, batch arrays, hash set */
    ocl_labels_t *series; /* distinct scraped series of the scrape */
    uint64_t *hashes;     /* their label hashes */
    uint8_t *track;       /* per series: 1 = gets a staleness marker when it
                           * disappears (0 for samples with an honoured
                           * timestamp of their own, as in Prometheus) */
    size_t n;             /* number of series */
    uint64_t *tab;        /* hash set of the series' hashes (0 = empty slot) */
    size_t tab_cap;       /* slots, a power of two (0 = no set) */
    bool report;          /* report series were written by this scrape */
} gen_t;

struct ocl_scrape_target {
    ocl_arena_t cfg_arena;         /* copies of the configured strings */
    ocl_label_t *tl;               /* target labels, sorted */
    uint32_t n_tl;                 /* their number */
    bool honor_labels;             /* exposition labels win conflicts */
    bool honor_timestamps;         /* keep exposition timestamps */
    ocl_prom_text_opts_t limits;   /* parser limits */
    ocl_labels_t report[N_REPORT]; /* label sets of the report series */
    gen_t gen[2];                  /* ping-pong scrape state */
    int cur;                       /* generation the next scrape fills */
};

static ocl_str_t arena_str(ocl_arena_t *a, const char *s)
{
    size_t n = strlen(s);
    return (ocl_str_t){ocl_arena_strndup(a, s, n), n};
}

ocl_scrape_target_t *ocl_scrape_target_create(const ocl_scrape_target_cfg_t *cfg)
{
    ocl_scrape_target_t *t = ocl_calloc(1, sizeof *t);
    ocl_arena_init(&t->cfg_arena, 4096);
    for (int g = 0; g < 2; g++) {
        ocl_buf_init(&t->gen[g].body);
        ocl_arena_init(&t->gen[g].arena, 64 * 1024);
    }
    t->honor_labels = cfg->honor_labels;
    t->honor_timestamps = cfg->honor_timestamps;
    t->limits = cfg->limits;
    t->tl = ocl_arena_alloc(&t->cfg_arena, (cfg->n_labels + 2) * sizeof *t->tl);
    bool has_job = false, has_inst = false;
    for (uint32_t i = 0; i < cfg->n_labels; i++) {
        if (!cfg->labels[i].value.n) continue;
        ocl_str_t nm = {
            ocl_arena_strndup(&t->cfg_arena, cfg->labels[i].name.p, cfg->labels[i].name.n),
            cfg->labels[i].name.n};
        ocl_str_t v = {
            ocl_arena_strndup(&t->cfg_arena, cfg->labels[i].value.p, cfg->labels[i].value.n),
            cfg->labels[i].value.n};
        has_job |= ocl_str_eq_c(nm, "job");
        has_inst |= ocl_str_eq_c(nm, "instance");
        t->tl[t->n_tl++] = (ocl_label_t){nm, v};
    }
    /* Static labels may set job and instance themselves, as in Prometheus. */
    if (!has_job && cfg->job && *cfg->job)
        t->tl[t->n_tl++] = (ocl_label_t){OCL_STR("job"), arena_str(&t->cfg_arena, cfg->job)};
    if (!has_inst && cfg->instance && *cfg->instance)
        t->tl[t->n_tl++] =
            (ocl_label_t){OCL_STR("instance"), arena_str(&t->cfg_arena, cfg->instance)};
    ocl_labels_sort(t->tl, t->n_tl);
    for (int r = 0; r < N_REPORT; r++) {
        ocl_label_t *v = ocl_arena_alloc(&t->cfg_arena, (t->n_tl + 1) * sizeof *v);
        memcpy(v, t->tl, t->n_tl * sizeof *v);
        v[t->n_tl] = (ocl_label_t){OCL_STR(OCL_METRIC_NAME), ocl_str_c(report_names[r])};
        ocl_labels_sort(v, t->n_tl + 1);
        t->report[r] = (ocl_labels_t){v, t->n_tl + 1};
    }
    return t;
}

void ocl_scrape_target_destroy(ocl_scrape_target_t *t)
{
    if (!t) return;
    for (int g = 0; g < 2; g++) {
        ocl_buf_dispose(&t->gen[g].body);
        ocl_arena_dispose(&t->gen[g].arena);
    }
    ocl_arena_dispose(&t->cfg_arena);
    ocl_free(t);
}

ocl_buf_t *ocl_scrape_target_body(ocl_scrape_target_t *t)
{
    ocl_buf_t *b = &t->gen[t->cur].body;
    b->len = 0;
    return b;
}

/* The hash of the set-of-series tables: one short XXH3 per name and value,
 * chained through the seed (much cheaper than a streaming hash for the
 * short strings of label sets). Only used inside this file. */
static uint64_t series_hash(const ocl_labels_t *ls)
{
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (uint32_t i = 0; i < ls->n; i++) {
        h = XXH3_64bits_withSeed(ls->v[i].name.p, ls->v[i].name.n, h);
        h = XXH3_64bits_withSeed(ls->v[i].value.p, ls->v[i].value.n, h ^ 0xff);
    }
    return h;
}

/* The set of series of a scrape holds their hashes only: like
 * Prometheus's scrape cache, series are told apart by their 64-bit label
 * hash (a collision could cost one staleness marker, never data), which
 * keeps the lookups to one cache line each. 0 marks an empty slot. */
static inline uint64_t slot_hash(uint64_t h)
{
    return h ? h : 1;
}

static bool set_has(const gen_t *g, uint64_t h)
{
    if (!g->tab_cap) return false;
    size_t mask = g->tab_cap - 1;
    h = slot_hash(h);
    for (size_t i = (size_t)(h ^ (h >> 29)) & mask;; i = (i + 1) & mask) {
        if (g->tab[i] == h) return true;
        if (!g->tab[i]) return false;
    }
}

/* Adds h; false if it was present. */
static bool set_add(gen_t *g, uint64_t h)
{
    size_t mask = g->tab_cap - 1;
    h = slot_hash(h);
    for (size_t i = (size_t)(h ^ (h >> 29)) & mask;; i = (i + 1) & mask) {
        if (g->tab[i] == h) return false;
        if (!g->tab[i]) {
            g->tab[i] = h;
            return true;
        }
    }
}

static bool has_name(const ocl_label_t *v, size_t n, ocl_str_t name)
{
    for (size_t i = 0; i < n; i++)
        if (ocl_str_eq(v[i].name, name)) return true;
    return false;
}

static int name_cmp(ocl_str_t a, ocl_str_t b)
{
    int c = memcmp(a.p, b.p, OCL_MIN(a.n, b.n));
    if (c) return c;
    return a.n < b.n ? -1 : a.n > b.n;
}

static int name_len_cmp(const void *a, const void *b)
{
    const ocl_label_t *x = a, *y = b;
    if (x->name.n != y->name.n) return x->name.n < y->name.n ? -1 : 1;
    return memcmp(x->name.p, y->name.p, x->name.n);
}

/* The scraped set `e` with the target labels: honor_labels keeps e's value
 * on a conflict; otherwise the target's wins and e's moves to
 * exported_<name> (prefixed again while that name is taken). Both inputs
 * are sorted, so this is one merge walk; conflicts are the rare path. */
static ocl_labels_t merge_labels(ocl_scrape_target_t *t, const ocl_labels_t *e, ocl_arena_t *a)
{
    size_t cap = e->n + 2 * (size_t)t->n_tl;
    ocl_label_t *v = ocl_arena_alloc(a, cap * sizeof *v);
    ocl_label_t lost[64], *lp = lost;
    if (t->n_tl > OCL_ARRAY_LEN(lost)) lp = ocl_arena_alloc(a, t->n_tl * sizeof *lp);
    size_t i = 0, j = 0, n = 0, k = 0;
    while (i < e->n || j < t->n_tl) {
        int c = i == e->n ? 1 : j == t->n_tl ? -1 : name_cmp(e->v[i].name, t->tl[j].name);
        if (c == 0) {
            if (t->honor_labels) {
                v[n++] = e->v[i];
            } else {
                lp[k++] = e->v[i];
                v[n++] = t->tl[j];
            }
            i++, j++;
        } else if (c < 0) {
            v[n++] = e->v[i++];
        } else {
            v[n++] = t->tl[j++];
        }
    }
    if (k) {
        qsort(lp, k, sizeof *lp, name_len_cmp);
        for (size_t q = 0; q < k; q++) {
            ocl_str_t nm = lp[q].name;
            for (;;) {
                char *s = ocl_arena_alloc(a, nm.n + 10);
                memcpy(s, "exported_", 9);
                memcpy(s + 9, nm.p, nm.n);
                nm = (ocl_str_t){s, nm.n + 9};
                if (!has_name(v, n, nm)) break;
            }
            v[n++] = (ocl_label_t){nm, lp[q].value};
        }
        ocl_labels_sort(v, (uint32_t)n);
    }
    return (ocl_labels_t){v, (uint32_t)n};
}

int ocl_scrape_target_build(ocl_scrape_target_t *t, const char *fetch_err, const char *content_type,
                            const char *body, size_t len, int64_t start_ms, double duration_s,
                            ocl_prom_batch_t *out, char *err, size_t errlen)
{
    gen_t *g = &t->gen[t->cur], *prev = &t->gen[t->cur ^ 1];
    ocl_arena_reset(&g->arena);
    g->n = 0;
    g->tab_cap = 0;
    g->report = true;
    if (errlen) err[0] = 0;
    int rc = 0;
    ocl_prom_batch_t pb = {0};
    if (fetch_err) {
        if (errlen) snprintf(err, errlen, "%s", fetch_err);
        rc = OCL_EIO;
    } else {
        if (len && !(g->body.p && body >= (const char *)g->body.p &&
                     body + len <= (const char *)g->body.p + g->body.len)) {
            g->body.len = 0;
            ocl_buf_append(&g->body, body, len);
            body = (const char *)g->body.p;
        }
        ocl_prom_text_opts_t o = t->limits;
        o.default_ts = start_ms;
        o.ignore_timestamps = !t->honor_timestamps;
        o.openmetrics = content_type && !strncasecmp(content_type, "application/openmetrics-text",
                                                     strlen("application/openmetrics-text"));
        rc = ocl_prom_text_parse(body, len, &o, &g->arena, &pb, err, errlen);
    }
    size_t scraped = rc ? 0 : pb.n_series, added = 0;
    size_t cap = scraped + N_REPORT + prev->n;
    ocl_prom_series_t *series = ocl_arena_alloc(&g->arena, cap * sizeof *series);
    size_t ns = 0;
    if (!rc) {
        g->series = ocl_arena_alloc(&g->arena, (scraped ? scraped : 1) * sizeof *g->series);
        g->hashes = ocl_arena_alloc(&g->arena, (scraped ? scraped : 1) * sizeof *g->hashes);
        g->track = ocl_arena_alloc(&g->arena, scraped ? scraped : 1);
        g->tab_cap = 16;
        while (g->tab_cap < scraped * 2)
            g->tab_cap <<= 1;
        g->tab = ocl_arena_calloc(&g->arena, g->tab_cap * sizeof *g->tab);
        for (size_t i = 0; i < scraped; i++) {
            ocl_labels_t ls =
                t->n_tl ? merge_labels(t, &pb.series[i].labels, &g->arena) : pb.series[i].labels;
            if (t->limits.label_limit && ls.n > t->limits.label_limit) {
                if (errlen)
                    snprintf(err, errlen, "label_limit exceeded (metric with %u labels, limit %u)",
                             ls.n, t->limits.label_limit);
                rc = OCL_EINVAL;
                break;
            }
            series[ns++] = (ocl_prom_series_t){ls, pb.series[i].samples, 1};
            g->series[g->n] = ls;
            g->hashes[g->n] = series_hash(&ls);
            g->track[g->n] = !t->honor_timestamps || pb.series[i].samples[0].t == start_ms;
            if (set_add(g, g->hashes[g->n])) {
                if (!set_has(prev, g->hashes[g->n])) added++;
                g->n++;
            }
        }
        if (rc) { /* the whole scrape fails */
            ns = 0;
            g->n = 0;
            g->tab_cap = 0;
            scraped = 0;
            added = 0;
        }
    }
    /* Report series. */
    ocl_sample_t *rs = ocl_arena_alloc(&g->arena, (N_REPORT + 1) * sizeof *rs);
    double rv[N_REPORT] = {rc ? 0 : 1, duration_s, (double)scraped, (double)scraped, (double)added};
    for (int r = 0; r < N_REPORT; r++) {
        rs[r] = (ocl_sample_t){start_ms, rv[r]};
        series[ns++] = (ocl_prom_series_t){t->report[r], &rs[r], 1};
    }
    /* Staleness markers for the previous scrape's series that are gone. */
    rs[N_REPORT] = (ocl_sample_t){start_ms, ocl_stale_nan()};
    for (size_t i = 0; i < prev->n; i++)
        if (prev->track[i] && !set_has(g, prev->hashes[i]))
            series[ns++] = (ocl_prom_series_t){prev->series[i], &rs[N_REPORT], 1};
    *out = (ocl_prom_batch_t){series, ns, rc ? NULL : pb.meta, rc ? 0 : pb.n_meta};
    t->cur ^= 1;
    return rc;
}

void ocl_scrape_target_stale_all(ocl_scrape_target_t *t, int64_t ts_ms, ocl_prom_batch_t *out)
{
    gen_t *last = &t->gen[t->cur ^ 1], *next = &t->gen[t->cur];
    ocl_arena_reset(&next->arena);
    next->n = 0;
    next->tab_cap = 0;
    next->report = false;
    size_t cap = last->n + N_REPORT, ns = 0;
    ocl_prom_series_t *series = ocl_arena_alloc(&next->arena, cap * sizeof *series);
    ocl_sample_t *s = ocl_arena_alloc(&next->arena, sizeof *s);
    *s = (ocl_sample_t){ts_ms, ocl_stale_nan()};
    for (size_t i = 0; i < last->n; i++)
        if (last->track[i]) series[ns++] = (ocl_prom_series_t){last->series[i], s, 1};
    if (last->report)
        for (int r = 0; r < N_REPORT; r++)
            series[ns++] = (ocl_prom_series_t){t->report[r], s, 1};
    *out = (ocl_prom_batch_t){series, ns, NULL, 0};
    /* `last` keeps its arena (the batch points into it) but forgets its set. */
    last->n = 0;
    last->tab_cap = 0;
    last->report = false;
}

/* ---- the manager ------------------------------------------------------------------ */

typedef struct {
    char *label;                          /* `job="<escaped name>"` */
    uint64_t ok;                          /* successful scrapes (atomic) */
    uint64_t failed;                      /* failed scrapes (atomic) */
    uint64_t counts[OCL_LAT_BUCKETS + 1]; /* duration histogram (atomic) */
    uint64_t sum_ns;                      /* duration sum (atomic) */
} job_stats_t;

typedef struct {
    ocl_scrape_target_t *t;         /* labels and state */
    char *url;                      /* what is fetched */
    char *desc;                     /* "job/instance", for log lines */
    uint32_t job;                   /* index into stats */
    uint64_t interval_ns;           /* period */
    uint64_t body_limit;            /* bytes */
    uint64_t next_ns;               /* monotonic time of the next scrape */
    CURL *easy;                     /* reused handle */
    struct curl_slist *hdrs;        /* s->hdrs' Accept plus this target's
                                       X-Prometheus-Scrape-Timeout-Seconds */
    bool busy;                      /* a scrape is in flight */
    bool too_big;                   /* the body went over body_limit */
    bool was_up;                    /* last scrape's result, for logging changes */
    bool scraped;                   /* scraped at least once */
    uint64_t start_ns;              /* monotonic start of the scrape in flight */
    int64_t start_ms;               /* wall-clock start, the samples' timestamp */
    char curl_err[CURL_ERROR_SIZE]; /* libcurl's message for the last failure */
} loop_t;

struct ocl_scraper {
    loop_t *loops;           /* one per target */
    size_t n;                /* number of loops */
    job_stats_t *jobs;       /* per job */
    size_t n_jobs;           /* number of jobs */
    ocl_scrape_sink_fn sink; /* batch consumer */
    void *ud;                /* its argument */
    CURLM *multi;            /* the multi handle (scraper thread only) */
    struct curl_slist *hdrs; /* the Accept header (copied into each loop's list) */
    pthread_t thr;           /* scraper thread */
    bool started;            /* thr is running */
    int stop;                /* set to end the thread (atomic) */
    uint64_t sink_errors;    /* batches the sink refused (atomic) */
    bool warned_sink;        /* a refusal was logged */
    bool registered;         /* the self-metrics collector is registered */
};

static void collect(ocl_buf_t *out, void *ud)
{
    ocl_scraper_t *s = ud;
    char lb[512];
    ocl_sm_header(out, "ocelot_scrapes_total", "counter", "Scrapes by job and result.");
    for (size_t j = 0; j < s->n_jobs; j++) {
        snprintf(lb, sizeof lb, "%s,result=\"success\"", s->jobs[j].label);
        ocl_sm_sample(out, "ocelot_scrapes_total", lb,
                      (double)__atomic_load_n(&s->jobs[j].ok, __ATOMIC_RELAXED));
        snprintf(lb, sizeof lb, "%s,result=\"failure\"", s->jobs[j].label);
        ocl_sm_sample(out, "ocelot_scrapes_total", lb,
                      (double)__atomic_load_n(&s->jobs[j].failed, __ATOMIC_RELAXED));
    }
    ocl_sm_header(out, "ocelot_scrape_duration_seconds", "histogram",
                  "Time to fetch, parse and store one scrape, by job.");
    for (size_t j = 0; j < s->n_jobs; j++) {
        uint64_t c[OCL_LAT_BUCKETS + 1];
        for (int b = 0; b <= OCL_LAT_BUCKETS; b++)
            c[b] = __atomic_load_n(&s->jobs[j].counts[b], __ATOMIC_RELAXED);
        ocl_sm_histogram(out, "ocelot_scrape_duration_seconds", s->jobs[j].label,
                         ocl_latency_bounds_s, OCL_LAT_BUCKETS, c,
                         (double)__atomic_load_n(&s->jobs[j].sum_ns, __ATOMIC_RELAXED) / 1e9);
    }
    ocl_sm_header(out, "ocelot_scrape_targets", "gauge", "Configured scrape targets.");
    ocl_sm_sample(out, "ocelot_scrape_targets", "", (double)s->n);
    ocl_sm_header(out, "ocelot_scrape_write_failures_total", "counter",
                  "Scrape batches that could not be stored.");
    ocl_sm_sample(out, "ocelot_scrape_write_failures_total", "",
                  (double)__atomic_load_n(&s->sink_errors, __ATOMIC_RELAXED));
}

static char *job_label(const char *name)
{
    ocl_buf_t b;
    ocl_buf_init(&b);
    ocl_buf_append(&b, "job=\"", 5);
    for (const char *p = name; *p; p++) {
        if (*p == '\\' || *p == '"')
            ocl_buf_putc(&b, '\\'), ocl_buf_putc(&b, *p);
        else if (*p == '\n')
            ocl_buf_append(&b, "\\n", 2);
        else
            ocl_buf_putc(&b, *p);
    }
    ocl_buf_putc(&b, '"');
    char *r = ocl_strndup((const char *)b.p, b.len);
    ocl_buf_dispose(&b);
    return r;
}

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    loop_t *l = ud;
    size_t n = sz * nm;
    ocl_buf_t *b = &l->t->gen[l->t->cur].body;
    if (b->len + n > l->body_limit) {
        l->too_big = true;
        return 0; /* aborts the transfer */
    }
    ocl_buf_append(b, p, n);
    return n;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int add_loop(ocl_scraper_t *s, size_t *cap, const ocl_scrape_job_cfg_t *jc,
                    const ocl_scrape_config_t *sc, const char *job, const char *target,
                    const char *path, uint32_t group, uint32_t job_idx)
{
    if (s->n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        s->loops = ocl_realloc(s->loops, *cap * sizeof *s->loops);
    }
    loop_t *l = &s->loops[s->n];
    memset(l, 0, sizeof *l);
    ocl_label_t labels[256];
    uint32_t nl = 0;
    ocl_buf_t url;
    ocl_buf_init(&url);
    ocl_buf_puts(&url, "http://");
    ocl_buf_puts(&url, target);
    ocl_buf_puts(&url, path);
    char sep = '?';
    if (jc) {
        for (uint32_t i = jc->first_item; i < jc->first_item + jc->n_items; i++) {
            const ocl_scrape_item_t *it = &sc->items[i];
            if (it->kind == OCL_SCRAPE_ITEM_LABEL && it->group == group && nl < 256)
                labels[nl++] = (ocl_label_t){ocl_str_c(ocl_scrape_str(sc, it->k)),
                                             ocl_str_c(ocl_scrape_str(sc, it->v))};
            if (it->kind == OCL_SCRAPE_ITEM_PARAM) {
                char *k = curl_easy_escape(NULL, ocl_scrape_str(sc, it->k), 0);
                char *v = curl_easy_escape(NULL, ocl_scrape_str(sc, it->v), 0);
                ocl_buf_putc(&url, sep);
                sep = '&';
                ocl_buf_puts(&url, k);
                ocl_buf_putc(&url, '=');
                ocl_buf_puts(&url, v);
                curl_free(k);
                curl_free(v);
            }
        }
    }
    ocl_scrape_target_cfg_t tc = {
        .job = job,
        .instance = target,
        .labels = labels,
        .n_labels = nl,
        .honor_labels = jc ? jc->honor_labels : false,
        .honor_timestamps = jc ? jc->honor_timestamps : true,
    };
    if (jc) {
        tc.limits.sample_limit = jc->sample_limit;
        tc.limits.label_limit = jc->label_limit;
        tc.limits.label_name_len = jc->label_name_length_limit;
        tc.limits.label_value_len = jc->label_value_length_limit;
    }
    l->t = ocl_scrape_target_create(&tc);
    l->url = ocl_strndup((const char *)url.p, url.len);
    ocl_buf_dispose(&url);
    size_t dl = strlen(job) + strlen(target) + 2;
    l->desc = ocl_malloc(dl);
    snprintf(l->desc, dl, "%s/%s", job, target);
    l->job = job_idx;
    uint64_t interval_ms = jc ? jc->interval_ms : sc->self_interval_ms;
    uint64_t timeout_ms = jc ? jc->timeout_ms : OCL_MIN(sc->timeout_ms, sc->self_interval_ms);
    l->interval_ns = interval_ms * 1000000ull;
    l->body_limit = jc && jc->body_size_limit ? jc->body_size_limit : DEFAULT_BODY_LIMIT;
    l->was_up = true;
    l->easy = curl_easy_init();
    /* Prometheus tells every target its scrape timeout; exporters that
     * probe something else (blackbox, snmp) bound their work by it. */
    char th[96];
    snprintf(th, sizeof th, "X-Prometheus-Scrape-Timeout-Seconds: %g", (double)timeout_ms / 1000);
    l->hdrs = curl_slist_append(NULL, s->hdrs->data);
    if (l->hdrs) {
        struct curl_slist *h2 = curl_slist_append(l->hdrs, th);
        if (h2) l->hdrs = h2;
    }
    if (!l->easy || !l->hdrs) {
        if (l->easy) curl_easy_cleanup(l->easy);
        if (l->hdrs) curl_slist_free_all(l->hdrs);
        ocl_scrape_target_destroy(l->t);
        ocl_free(l->url);
        ocl_free(l->desc);
        return OCL_ENOMEM;
    }
    CURL *e = l->easy;
    curl_easy_setopt(e, CURLOPT_URL, l->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, l->hdrs);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "ocelot/" OCL_VERSION);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, l);
    curl_easy_setopt(e, CURLOPT_PRIVATE, l);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, l->curl_err);
    s->n++;
    return 0;
}

size_t ocl_scraper_targets(const ocl_scraper_t *s)
{
    return s ? s->n : 0;
}

int ocl_scraper_create(const ocl_scrape_config_t *sc, const char *self_addr,
                       ocl_scrape_sink_fn sink, void *ud, ocl_scraper_t **out)
{
    pthread_once(&curl_once, curl_init);
    ocl_scraper_t *s = ocl_calloc(1, sizeof *s);
    s->sink = sink;
    s->ud = ud;
    s->multi = curl_multi_init();
    s->hdrs = curl_slist_append(NULL, "Accept: text/plain;version=0.0.4;q=1,"
                                      "application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1");
    int rc = 0;
    if (!s->multi || !s->hdrs) {
        rc = OCL_ENOMEM;
        goto done;
    }
    bool self = self_addr && *self_addr && sc->self_interval_ms;
    for (uint32_t j = 0; j < sc->n_jobs; j++)
        if (!strcmp(ocl_scrape_str(sc, sc->jobs[j].name), "ocelot")) self = false;
    s->n_jobs = sc->n_jobs + (self ? 1 : 0);
    s->jobs = ocl_calloc(s->n_jobs ? s->n_jobs : 1, sizeof *s->jobs);
    size_t cap = 0;
    for (uint32_t j = 0; j < sc->n_jobs && !rc; j++) {
        const ocl_scrape_job_cfg_t *jc = &sc->jobs[j];
        const char *name = ocl_scrape_str(sc, jc->name);
        s->jobs[j].label = job_label(name);
        for (uint32_t i = jc->first_item; i < jc->first_item + jc->n_items && !rc; i++) {
            const ocl_scrape_item_t *it = &sc->items[i];
            if (it->kind == OCL_SCRAPE_ITEM_TARGET)
                rc = add_loop(s, &cap, jc, sc, name, ocl_scrape_str(sc, it->k),
                              ocl_scrape_str(sc, jc->metrics_path), it->group, j);
        }
    }
    if (self && !rc) {
        s->jobs[sc->n_jobs].label = job_label("ocelot");
        rc = add_loop(s, &cap, NULL, sc, "ocelot", self_addr, "/metrics", 0, sc->n_jobs);
    }
    if (!rc) {
        ocl_sm_register(collect, s);
        s->registered = true;
    }
done:
    if (rc) {
        ocl_scraper_destroy(s);
        s = NULL;
    }
    *out = s;
    return rc;
}

static void write_batch(ocl_scraper_t *s, loop_t *l, const ocl_prom_batch_t *b)
{
    int rc = s->sink ? s->sink(s->ud, b) : 0;
    if (rc) {
        __atomic_add_fetch(&s->sink_errors, 1, __ATOMIC_RELAXED);
        if (!s->warned_sink) {
            s->warned_sink = true;
            ocl_warn("scrape %s: storing the scraped samples failed: %s (logged once)", l->desc,
                     ocl_strerror(rc));
        }
    }
}

static void finish(ocl_scraper_t *s, loop_t *l, CURLcode res)
{
    curl_multi_remove_handle(s->multi, l->easy);
    l->busy = false;
    char fe[CURL_ERROR_SIZE + 64], err[256];
    const char *fetch_err = NULL;
    if (res != CURLE_OK) {
        if (l->too_big)
            snprintf(fe, sizeof fe, "body size limit exceeded (%llu bytes)",
                     (unsigned long long)l->body_limit);
        else
            snprintf(fe, sizeof fe, "%s", l->curl_err[0] ? l->curl_err : curl_easy_strerror(res));
        fetch_err = fe;
    } else {
        long code = 0;
        curl_easy_getinfo(l->easy, CURLINFO_RESPONSE_CODE, &code);
        if (code != 200) {
            snprintf(fe, sizeof fe, "server returned HTTP status %ld", code);
            fetch_err = fe;
        }
    }
    ocl_buf_t *body = &l->t->gen[l->t->cur].body;
    uint64_t dur = ocl_mono_nano() - l->start_ns;
    char *ctype = NULL;
    if (!fetch_err) curl_easy_getinfo(l->easy, CURLINFO_CONTENT_TYPE, &ctype);
    ocl_prom_batch_t b;
    int rc = ocl_scrape_target_build(l->t, fetch_err, ctype, (const char *)body->p, body->len,
                                     l->start_ms, dur / 1e9, &b, err, sizeof err);
    write_batch(s, l, &b);
    l->scraped = true;
    job_stats_t *js = &s->jobs[l->job];
    __atomic_add_fetch(rc ? &js->failed : &js->ok, 1, __ATOMIC_RELAXED);
    uint64_t total = ocl_mono_nano() - l->start_ns;
    size_t bk = 0;
    while (bk < OCL_LAT_BUCKETS && total / 1e9 > ocl_latency_bounds_s[bk])
        bk++;
    __atomic_add_fetch(&js->counts[bk], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&js->sum_ns, total, __ATOMIC_RELAXED);
    if (rc && l->was_up)
        ocl_warn("scrape %s failed: %s", l->desc, err);
    else if (!rc && !l->was_up)
        ocl_info("scrape %s is up again", l->desc);
    l->was_up = rc == 0;
}

static void start_scrape(ocl_scraper_t *s, loop_t *l, uint64_t now)
{
    ocl_scrape_target_body(l->t);
    l->too_big = false;
    l->curl_err[0] = 0;
    l->start_ns = now;
    l->start_ms = (int64_t)(ocl_now_unix_nano() / 1000000);
    l->busy = true;
    if (curl_multi_add_handle(s->multi, l->easy) != CURLM_OK) {
        l->busy = false;
        ocl_warn("scrape %s: cannot start the request", l->desc);
    }
}

static void *run(void *arg)
{
    ocl_scraper_t *s = arg;
    /* Phase of each target inside its interval, from a hash of job and URL. */
    uint64_t mono = ocl_mono_nano(), wall = ocl_now_unix_nano();
    for (size_t i = 0; i < s->n; i++) {
        loop_t *l = &s->loops[i];
        uint64_t off = XXH3_64bits(l->desc, strlen(l->desc)) ^ XXH3_64bits(l->url, strlen(l->url));
        off %= l->interval_ns;
        uint64_t first = wall - wall % l->interval_ns + off;
        if (first < wall) first += l->interval_ns;
        l->next_ns = mono + (first - wall);
    }
    while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
        uint64_t now = ocl_mono_nano();
        for (size_t i = 0; i < s->n; i++) {
            loop_t *l = &s->loops[i];
            if (now < l->next_ns) continue;
            if (!l->busy) start_scrape(s, l, now);
            /* Next slot; slots missed while busy or asleep are skipped. */
            l->next_ns += l->interval_ns;
            if (l->next_ns <= now)
                l->next_ns += ((now - l->next_ns) / l->interval_ns + 1) * l->interval_ns;
        }
        int running = 0;
        curl_multi_perform(s->multi, &running);
        CURLMsg *m;
        int q;
        while ((m = curl_multi_info_read(s->multi, &q))) {
            if (m->msg != CURLMSG_DONE) continue;
            loop_t *l = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&l);
            if (l) finish(s, l, m->data.result);
        }
        now = ocl_mono_nano();
        uint64_t wait = 1000000000ull;
        for (size_t i = 0; i < s->n; i++) {
            uint64_t d = s->loops[i].next_ns > now ? s->loops[i].next_ns - now : 0;
            if (d < wait) wait = d;
        }
        curl_multi_poll(s->multi, NULL, 0, (int)(wait / 1000000) + (wait % 1000000 ? 1 : 0), NULL);
    }
    return NULL;
}

int ocl_scraper_start(ocl_scraper_t *s)
{
    if (!s || !s->n || s->started) return 0;
    if (pthread_create(&s->thr, NULL, run, s) != 0) return OCL_EIO;
    s->started = true;
    return 0;
}

void ocl_scraper_stop(ocl_scraper_t *s)
{
    if (!s || !s->started) return;
    __atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
    curl_multi_wakeup(s->multi);
    pthread_join(s->thr, NULL);
    s->started = false;
    int64_t now_ms = (int64_t)(ocl_now_unix_nano() / 1000000);
    for (size_t i = 0; i < s->n; i++) {
        loop_t *l = &s->loops[i];
        if (l->busy) {
            curl_multi_remove_handle(s->multi, l->easy);
            l->busy = false;
        }
        if (!l->scraped) continue;
        ocl_prom_batch_t b;
        ocl_scrape_target_stale_all(l->t, now_ms, &b);
        if (b.n_series) write_batch(s, l, &b);
        l->scraped = false;
    }
}

void ocl_scraper_destroy(ocl_scraper_t *s)
{
    if (!s) return;
    ocl_scraper_stop(s);
    if (s->registered) ocl_sm_unregister(collect, s);
    for (size_t i = 0; i < s->n; i++) {
        if (s->loops[i].easy) curl_easy_cleanup(s->loops[i].easy);
        if (s->loops[i].hdrs) curl_slist_free_all(s->loops[i].hdrs);
        ocl_scrape_target_destroy(s->loops[i].t);
        ocl_free(s->loops[i].url);
        ocl_free(s->loops[i].desc);
    }
    for (size_t j = 0; j < s->n_jobs; j++)
        ocl_free(s->jobs[j].label);
    ocl_free(s->jobs);
    ocl_free(s->loops);
    if (s->hdrs) curl_slist_free_all(s->hdrs);
    if (s->multi) curl_multi_cleanup(s->multi);
    ocl_free(s);
}
