/*
 * prom_query.c — the Prometheus API endpoints that read data, run on a
 * query thread (api/query_pool.h): query, query_range, series, labels,
 * label values, metadata. Each writes its whole JSON answer into the job's
 * body; the worker thread sends it.
 *
 * Cancellation: job.cancel is set (relaxed atomic) when the client goes
 * away or the server shuts down; the evaluator polls it at its work
 * checkpoints, and the endpoints here poll it between storage calls and
 * before rendering. A job that gives up sets job.stopped (the pool counts
 * it) and answers "canceled" (499), which the net layer normally drops.
 *
 * Tenants without data: series/labels/metadata answer empty lists; queries
 * are evaluated against one shared empty in-memory TSDB (so `1+1` or
 * `vector(1)` still work).
 * Workload: matrix answers of up to 11,000 points × thousands of series;
 * points are rendered straight into the output buffer without allocation.
 */
#include "api/prom_api_int.h"
#include "query/promql/promql.h"
#include "wire/gzip.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static const char truncated_warning[] = "results truncated due to limit";

static void job_fail(pa_req_t *r, ocl_prom_errtype_t t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void job_fail(pa_req_t *r, ocl_prom_errtype_t t, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->job.body.len = 0;
    r->job.status = ocl_prom_write_error(&r->job.body, t, msg);
}

/* Whether the job was cancelled; if so fails it as Prometheus words it. */
static bool cancelled(pa_req_t *r, const char *where)
{
    if (!__atomic_load_n(&r->job.cancel, __ATOMIC_RELAXED)) return false;
    r->job.stopped = true;
    job_fail(r, OCL_PROM_ERR_CANCELED, "query was canceled in %s", where);
    return true;
}

static ocl_tsdb_t *tenant_db(pa_req_t *r, bool need)
{
    ocl_prom_api_t *pa = r->pa;
    ocl_tsdb_t *db = NULL;
    if (pa->ingest) db = ocl_ingest_tsdb(pa->ingest, (ocl_str_t){r->tenant, r->tenant_len}, false);
    if (db || !need) return db;
    pthread_mutex_lock(&pa->mu);
    if (!pa->empty) {
        ocl_tsdb_opts_t o = {0};
        if (ocl_tsdb_open(&o, &pa->empty) != 0) pa->empty = NULL;
    }
    db = pa->empty;
    pthread_mutex_unlock(&pa->mu);
    return db;
}

/* --- rendering ------------------------------------------------------------------ */

static void put_metric(ocl_buf_t *b, const ocl_labels_t *ls)
{
    ocl_buf_putc(b, '{');
    for (uint32_t i = 0; i < ls->n; i++) {
        if (i) ocl_buf_putc(b, ',');
        ocl_prom_json_str(b, ls->v[i].name);
        ocl_buf_putc(b, ':');
        ocl_prom_json_str(b, ls->v[i].value);
    }
    ocl_buf_putc(b, '}');
}

/* [ts,"value"] as jsonutil writes vector and matrix points. */
static void put_point(ocl_buf_t *b, int64_t t, double v)
{
    char *p = (char *)ocl_buf_reserve(b, 448);
    size_t o = 0;
    p[o++] = '[';
    o += ocl_prom_fmt_ts(t, p + o);
    p[o++] = ',';
    p[o++] = '"';
    o += ocl_prom_fmt_value(v, p + o);
    p[o++] = '"';
    p[o++] = ']';
    b->len += o;
}

/* [ts,"value"] as promql.Scalar.MarshalJSON writes it. */
static void put_scalar(ocl_buf_t *b, int64_t t, double v)
{
    char *p = (char *)ocl_buf_reserve(b, 448);
    size_t o = 0;
    p[o++] = '[';
    o += ocl_prom_fmt_json_ts(t, p + o);
    p[o++] = ',';
    p[o++] = '"';
    o += ocl_prom_fmt_float(v, 'f', p + o);
    p[o++] = '"';
    p[o++] = ']';
    b->len += o;
}

static void render(pa_req_t *r, const ocl_pql_result_t *res)
{
    ocl_buf_t *b = &r->job.body;
    size_t n = res->n_series;
    bool truncated = false;
    if ((res->type == OCL_PQL_VECTOR || res->type == OCL_PQL_MATRIX) && r->limit > 0 &&
        n > (size_t)r->limit) {
        n = (size_t)r->limit;
        truncated = true;
    }
    ocl_prom_ok_begin(b);
    switch (res->type) {
    case OCL_PQL_SCALAR:
        ocl_buf_puts(b, "{\"resultType\":\"scalar\",\"result\":");
        put_scalar(b, res->t, res->scalar);
        break;
    case OCL_PQL_STRING: {
        char t[48];
        ocl_buf_puts(b, "{\"resultType\":\"string\",\"result\":[");
        ocl_buf_append(b, t, ocl_prom_fmt_json_ts(res->t, t));
        ocl_buf_putc(b, ',');
        ocl_prom_json_str(b, res->string);
        ocl_buf_putc(b, ']');
        break;
    }
    case OCL_PQL_VECTOR:
        ocl_buf_puts(b, "{\"resultType\":\"vector\",\"result\":[");
        for (size_t i = 0; i < n; i++) {
            const ocl_pql_series_t *s = &res->series[i];
            if (i) ocl_buf_putc(b, ',');
            ocl_buf_puts(b, "{\"metric\":");
            put_metric(b, &s->labels);
            ocl_buf_puts(b, ",\"value\":");
            if (s->n_points)
                put_point(b, s->points[0].t, s->points[0].v);
            else
                put_point(b, res->t, 0);
            ocl_buf_putc(b, '}');
        }
        ocl_buf_putc(b, ']');
        break;
    default: /* MATRIX */
        ocl_buf_puts(b, "{\"resultType\":\"matrix\",\"result\":[");
        for (size_t i = 0; i < n; i++) {
            const ocl_pql_series_t *s = &res->series[i];
            if (i) ocl_buf_putc(b, ',');
            ocl_buf_puts(b, "{\"metric\":");
            put_metric(b, &s->labels);
            ocl_buf_puts(b, ",\"values\":[");
            for (uint32_t k = 0; k < s->n_points; k++) {
                if (k) ocl_buf_putc(b, ',');
                put_point(b, s->points[k].t, s->points[k].v);
            }
            ocl_buf_puts(b, "]}");
        }
        ocl_buf_putc(b, ']');
        break;
    }
    ocl_buf_putc(b, '}');
    /* warnings: the engine's, then the truncation note (as 3.x adds it) */
    size_t nw = res->n_warnings + (truncated ? 1 : 0);
    char *wbuf[64];
    char **w = nw <= 64 ? wbuf : ocl_malloc(nw * sizeof *w);
    for (size_t i = 0; i < res->n_warnings; i++)
        w[i] = res->warnings[i];
    if (truncated) w[res->n_warnings] = (char *)truncated_warning;
    ocl_prom_ok_end(b, w, nw, res->infos, res->n_infos);
    if (w != wbuf) ocl_free(w);
    r->job.status = 200;
}

/* --- query, query_range -------------------------------------------------------- */

static void run_query(pa_req_t *r, bool range)
{
    ocl_pql_expr_t *e = NULL;
    ocl_pql_result_t *res = NULL;
    char err[512];
    if (ocl_pql_parse(r->query.p ? r->query.p : "", r->query.n, &e, err, sizeof err) != 0) {
        job_fail(r, OCL_PROM_ERR_BAD_DATA, "invalid parameter \"query\": %s", err);
        goto done;
    }
    int64_t left_ms = (r->deadline_ns - (int64_t)ocl_mono_nano()) / 1000000;
    if (left_ms <= 0) {
        job_fail(r, OCL_PROM_ERR_TIMEOUT, "query timed out in query execution");
        goto done;
    }
    ocl_tsdb_t *db = tenant_db(r, true);
    if (!db) {
        job_fail(r, OCL_PROM_ERR_INTERNAL, "cannot open an empty database");
        goto done;
    }
    ocl_pql_opts_t o = {
        .max_samples = r->pa->cfg.query_max_samples,
        .timeout_ms = left_ms,
        .lookback_ms = r->pa->cfg.lookback_ms,
        .cancel = &r->job.cancel,
    };
    ocl_pql_error_t pe = {0};
    int rc = range ? ocl_pql_eval_range(db, e, r->start, r->end, r->step_ms, &o, &res, &pe)
                   : ocl_pql_eval_instant(db, e, r->t, &o, &res, &pe);
    if (rc != 0 || !res) {
        static const ocl_prom_errtype_t map[] = {
            [OCL_PQL_OK] = OCL_PROM_ERR_INTERNAL,
            [OCL_PQL_ERR_BAD_DATA] = OCL_PROM_ERR_BAD_DATA,
            [OCL_PQL_ERR_EXECUTION] = OCL_PROM_ERR_EXECUTION,
            [OCL_PQL_ERR_TIMEOUT] = OCL_PROM_ERR_TIMEOUT,
            [OCL_PQL_ERR_CANCELED] = OCL_PROM_ERR_CANCELED,
            [OCL_PQL_ERR_TOO_MANY_SAMPLES] = OCL_PROM_ERR_EXECUTION,
            [OCL_PQL_ERR_INTERNAL] = OCL_PROM_ERR_INTERNAL,
        };
        ocl_prom_errtype_t t =
            (unsigned)pe.cls < OCL_ARRAY_LEN(map) ? map[pe.cls] : OCL_PROM_ERR_INTERNAL;
        if (pe.cls == OCL_PQL_ERR_CANCELED) r->job.stopped = true;
        if (pe.cls == OCL_PQL_ERR_TOO_MANY_SAMPLES && !pe.msg[0])
            snprintf(pe.msg, sizeof pe.msg,
                     "query processing would load too many samples into memory in query "
                     "execution");
        job_fail(r, t, "%s", pe.msg[0] ? pe.msg : ocl_strerror(rc ? rc : OCL_EINVAL));
        goto done;
    }
    /* Rendering a big matrix costs as much as evaluating it: skip it when
     * nobody waits for the answer any more. */
    if (cancelled(r, "query execution")) goto done;
    render(r, res);
done:
    if (res) ocl_pql_result_free(res);
    if (e) ocl_pql_expr_free(e);
}

/* --- series, labels, label values -------------------------------------------- */

/* Series and label requests take any number of match[] values, each parsed
 * and looked up on its own; the request's deadline (checked per match[])
 * bounds the time (and so the memory) a huge list can take, as the
 * context deadline does in Prometheus. Fails the job when it has passed. */
static bool past_deadline(pa_req_t *r)
{
    if (!r->deadline_ns || (int64_t)ocl_mono_nano() < r->deadline_ns) return false;
    job_fail(r, OCL_PROM_ERR_TIMEOUT, "context deadline exceeded");
    return true;
}

/* Parses every match[] as a metric selector. `wrap`: prefix errors with
 * `invalid parameter "match[]": ` (series does, labels do not). Returns the
 * parsed expressions (caller frees each) or NULL after failing the job. */
static ocl_pql_expr_t **parse_selectors(pa_req_t *r, bool wrap)
{
    const char *pfx = wrap ? "invalid parameter \"match[]\": " : "";
    ocl_pql_expr_t **es = ocl_calloc(r->n_match ? r->n_match : 1, sizeof *es);
    char err[512];
    static const char empty_msg[] = "vector selector must contain at least one non-empty matcher";
    bool empty = false;
    for (size_t i = 0; i < r->n_match; i++) {
        ocl_str_t m = r->match[i];
        if (past_deadline(r)) goto error;
        if (ocl_pql_parse(m.p ? m.p : "", m.n, &es[i], err, sizeof err) != 0) {
            /* The PromQL parser refuses {a=""} as an expression; Prometheus's
             * metric-selector parser accepts it and the API then reports
             * the check below. */
            size_t el = strlen(err), ml = sizeof empty_msg - 1;
            if (el >= ml && strcmp(err + el - ml, empty_msg) == 0) {
                empty = true;
                es[i] = NULL;
                continue;
            }
            job_fail(r, OCL_PROM_ERR_BAD_DATA, "%s%s", pfx, err);
            goto error;
        }
        if (es[i]->root->kind != OCL_PQL_VECTOR_SEL) {
            job_fail(r, OCL_PROM_ERR_BAD_DATA, "%s1:1: parse error: expected a metric selector",
                     pfx);
            goto error;
        }
    }
    for (size_t i = 0; i < r->n_match; i++) {
        if (!es[i]) continue;
        const ocl_pql_node_t *vs = es[i]->root;
        bool ok = false;
        for (uint32_t k = 0; k < vs->vs.n_matchers; k++)
            if (!vs->vs.matchers[k].matches_empty) ok = true;
        if (!ok) empty = true;
    }
    if (empty) {
        job_fail(r, OCL_PROM_ERR_BAD_DATA, "%smatch[] must contain at least one non-empty matcher",
                 pfx);
        goto error;
    }
    return es;
error:
    for (size_t i = 0; i < r->n_match; i++)
        if (es[i]) ocl_pql_expr_free(es[i]);
    ocl_free(es);
    return NULL;
}

static void free_selectors(pa_req_t *r, ocl_pql_expr_t **es)
{
    for (size_t i = 0; i < r->n_match; i++)
        if (es[i]) ocl_pql_expr_free(es[i]);
    ocl_free(es);
}

static int cmp_series(const void *a, const void *b)
{
    return ocl_labels_cmp(&((const ocl_series_t *)a)->labels, &((const ocl_series_t *)b)->labels);
}

static int cmp_str(const void *a, const void *b)
{
    const ocl_str_t *x = a, *y = b;
    int c = memcmp(x->p, y->p, OCL_MIN(x->n, y->n));
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

static void db_error(pa_req_t *r, int rc)
{
    if (rc == OCL_ETOOBIG)
        job_fail(r, OCL_PROM_ERR_EXECUTION,
                 "query processing would load too many samples into memory in query execution");
    else if (rc == OCL_EREGEX_LIMIT)
        job_fail(r, OCL_PROM_ERR_EXECUTION, "%s", OCL_REGEX_LIMIT_MSG);
    else
        job_fail(r, OCL_PROM_ERR_EXECUTION, "storage error: %s", ocl_strerror(rc));
}

static void run_series(pa_req_t *r)
{
    ocl_buf_t *b = &r->job.body;
    ocl_pql_expr_t **es = parse_selectors(r, true);
    if (!es) return;
    ocl_arena_t a;
    ocl_arena_init(&a, 64 * 1024);
    ocl_series_t *all = NULL;
    size_t n_all = 0, cap = 0;
    bool truncated = false;
    ocl_tsdb_t *db = tenant_db(r, false);
    /* Each set sorted; the first limit+1 of each decide the first limit+1
     * of the union. */
    size_t per = r->limit > 0 ? (size_t)r->limit + 1 : 0;
    for (size_t i = 0; db && i < r->n_match; i++) {
        const ocl_pql_node_t *vs = es[i]->root;
        ocl_series_t *out = NULL;
        size_t n = 0;
        bool tr = false;
        if (past_deadline(r)) goto done;
        int rc = ocl_tsdb_series(db, vs->vs.matchers, vs->vs.n_matchers, r->start, r->end, per, &a,
                                 &out, &n, &tr);
        if (rc != 0) {
            db_error(r, rc);
            goto done;
        }
        if (n_all + n > cap) {
            cap = (n_all + n) * 2;
            all = ocl_realloc(all, cap * sizeof *all);
        }
        if (n) memcpy(all + n_all, out, n * sizeof *out);
        n_all += n;
        if (cancelled(r, "query execution")) goto done;
    }
    if (r->n_match > 1 && n_all > 1) {
        qsort(all, n_all, sizeof *all, cmp_series);
        size_t k = 1;
        for (size_t i = 1; i < n_all; i++)
            if (!ocl_labels_equal(&all[i].labels, &all[k - 1].labels)) all[k++] = all[i];
        n_all = k;
    }
    if (r->limit > 0 && n_all > (size_t)r->limit) {
        n_all = (size_t)r->limit;
        truncated = true;
    }
    ocl_prom_ok_begin(b);
    ocl_buf_putc(b, '[');
    for (size_t i = 0; i < n_all; i++) {
        if (i) ocl_buf_putc(b, ',');
        put_metric(b, &all[i].labels);
    }
    ocl_buf_putc(b, ']');
    char *w[1] = {(char *)truncated_warning};
    ocl_prom_ok_end(b, w, truncated ? 1 : 0, NULL, 0);
    r->job.status = 200;
done:
    ocl_free(all);
    ocl_arena_dispose(&a);
    free_selectors(r, es);
}

static void run_labels(pa_req_t *r, bool values)
{
    ocl_buf_t *b = &r->job.body;
    ocl_pql_expr_t **es = parse_selectors(r, false);
    if (!es) return;
    ocl_arena_t a;
    ocl_arena_init(&a, 64 * 1024);
    ocl_str_t *all = NULL;
    size_t n_all = 0, cap = 0;
    ocl_tsdb_t *db = tenant_db(r, false);
    size_t sets = r->n_match ? r->n_match : 1;
    for (size_t i = 0; db && i < sets; i++) {
        const ocl_matcher_t *ms = NULL;
        size_t nms = 0;
        if (r->n_match) {
            ms = es[i]->root->vs.matchers;
            nms = es[i]->root->vs.n_matchers;
        }
        ocl_str_t *out = NULL;
        size_t n = 0;
        if (past_deadline(r)) goto done;
        int rc = values
                     ? ocl_tsdb_label_values(db, r->name, ms, nms, r->start, r->end, &a, &out, &n)
                     : ocl_tsdb_label_names(db, ms, nms, r->start, r->end, &a, &out, &n);
        if (rc != 0) {
            db_error(r, rc);
            goto done;
        }
        if (n_all + n > cap) {
            cap = (n_all + n) * 2;
            all = ocl_realloc(all, cap * sizeof *all);
        }
        if (n) memcpy(all + n_all, out, n * sizeof *out);
        n_all += n;
        if (cancelled(r, "query execution")) goto done;
    }
    if (sets > 1 && n_all > 1) {
        qsort(all, n_all, sizeof *all, cmp_str);
        size_t k = 1;
        for (size_t i = 1; i < n_all; i++)
            if (!ocl_str_eq(all[i], all[k - 1])) all[k++] = all[i];
        n_all = k;
    }
    bool truncated = false;
    if (r->limit > 0 && n_all > (size_t)r->limit) {
        n_all = (size_t)r->limit;
        truncated = true;
    }
    ocl_prom_ok_begin(b);
    ocl_buf_putc(b, '[');
    for (size_t i = 0; i < n_all; i++) {
        if (i) ocl_buf_putc(b, ',');
        ocl_prom_json_str(b, all[i]);
    }
    ocl_buf_putc(b, ']');
    char *w[1] = {(char *)truncated_warning};
    ocl_prom_ok_end(b, w, truncated ? 1 : 0, NULL, 0);
    r->job.status = 200;
done:
    ocl_free(all);
    ocl_arena_dispose(&a);
    free_selectors(r, es);
}

/* --- metadata ------------------------------------------------------------------ */

static void run_metadata(pa_req_t *r)
{
    ocl_buf_t *b = &r->job.body;
    ocl_arena_t a;
    ocl_arena_init(&a, 16 * 1024);
    ocl_prom_meta_t *m = NULL;
    size_t n = 0;
    ocl_tsdb_t *db = r->limit == 0 ? NULL : tenant_db(r, false);
    if (db) {
        size_t lim = r->limit > 0 ? (size_t)r->limit : 0;
        int rc = ocl_tsdb_metadata(db, r->name, lim, &a, &m, &n);
        if (rc != 0) {
            db_error(r, rc);
            goto done;
        }
    }
    ocl_prom_ok_begin(b);
    ocl_buf_putc(b, '{');
    for (size_t i = 0; i < n; i++) {
        if (i) ocl_buf_putc(b, ',');
        ocl_prom_json_str(b, m[i].family);
        ocl_buf_puts(b, ":[{\"type\":");
        ocl_prom_json_cstr(b, ocl_metric_type_str(m[i].type));
        ocl_buf_puts(b, ",\"help\":");
        ocl_prom_json_str(b, m[i].help);
        ocl_buf_puts(b, ",\"unit\":");
        ocl_prom_json_str(b, m[i].unit);
        ocl_buf_puts(b, "}]");
    }
    ocl_buf_putc(b, '}');
    ocl_prom_ok_end(b, NULL, 0, NULL, 0);
    r->job.status = 200;
done:
    ocl_arena_dispose(&a);
}

/* Answers over 1 KiB are gzip-compressed when the client accepts it, as
 * Prometheus's CompressionHandler does (Grafana's Go client always asks);
 * level 1: large matrices shrink ~10x at a fraction of the render time. */
static void maybe_gzip(pa_req_t *r)
{
    ocl_qjob_t *job = &r->job;
    if (!r->accept_gzip || job->body.len <= 1024) return;
    ocl_buf_t z;
    ocl_buf_init(&z);
    if (ocl_gzip_deflate(job->body.p, job->body.len, 1, &z) == 0) {
        ocl_buf_dispose(&job->body);
        job->body = z;
        job->gzip = true;
    } else {
        ocl_buf_dispose(&z);
    }
}

static void run_endpoint(pa_req_t *r);

void pa_run(ocl_qjob_t *job)
{
    run_endpoint((pa_req_t *)job);
    maybe_gzip((pa_req_t *)job);
    /* last use of r->pa: destroy may free it once this thread is done */
    pa_release_bytes((pa_req_t *)job);
}

static void run_endpoint(pa_req_t *r)
{
    ocl_qjob_t *job = &r->job;
    if (job->rejected) {
        job_fail(r, OCL_PROM_ERR_UNAVAILABLE, "ocelot is shutting down");
        return;
    }
    if (job->queue_timeout) {
        job_fail(r, OCL_PROM_ERR_TIMEOUT, "query timed out in query queue");
        return;
    }
    if (job->abandoned) { /* on the worker thread: the client went away */
        job_fail(r, OCL_PROM_ERR_CANCELED, "query was canceled in query queue");
        return;
    }
    switch (r->ep) {
    case PA_EP_QUERY:
        run_query(r, false);
        break;
    case PA_EP_QUERY_RANGE:
        run_query(r, true);
        break;
    case PA_EP_SERIES:
        run_series(r);
        break;
    case PA_EP_LABELS:
        run_labels(r, false);
        break;
    case PA_EP_LABEL_VALUES:
        run_labels(r, true);
        break;
    case PA_EP_METADATA:
        run_metadata(r);
        break;
    default:
        job_fail(r, OCL_PROM_ERR_INTERNAL, "no such endpoint");
        break;
    }
}
