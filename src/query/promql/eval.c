/*
 * eval.c — the PromQL evaluator's core: the public entry points, the
 * evaluation grid, selectors, subqueries, literals and the final shaping of
 * results (delayed __name__ removal, merging, sorting). Binary operators,
 * aggregations and functions live in binop.c, aggregate.c, functions.c,
 * rangefuncs.c and histogram.c (design in engine_internal.h).
 *
 * Semantics (Prometheus 3.x): lookback windows and range windows are left-
 * open ((t - d, t]); a staleness marker ends a series for instant selectors
 * and is dropped from range vectors; @ start()/end() refer to the query's
 * start and end; subquery steps are aligned to absolute multiples of the
 * step. Tuned for dashboards: range queries of a few hundred steps over
 * thousands of series; each selector is read from storage once per query.
 */
#include "query/promql/engine_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int ocl_pqlx_fail(ev_t *ev, ocl_pql_errclass_t cls, const char *fmt, ...)
{
    if (ev->rc == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ev->err->msg, sizeof ev->err->msg, fmt, ap);
        va_end(ap);
        ev->err->cls = cls;
        ev->rc = cls == OCL_PQL_ERR_TOO_MANY_SAMPLES ? OCL_ETOOBIG : OCL_EINVAL;
    }
    return ev->rc;
}

static void pos_str(const ev_t *ev, const ocl_pql_node_t *n, char *out, size_t len)
{
    uint32_t line = 1, col = 1;
    if (n) {
        for (uint32_t i = 0; i < n->pos && i < ev->query_len; i++) {
            if (ev->query[i] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
    }
    snprintf(out, len, " (%u:%u)", line, col);
}

void ocl_pqlx_annot(ev_t *ev, bool warn, const ocl_pql_node_t *pos, const char *fmt, ...)
{
    char buf[600];
    int k = snprintf(buf, sizeof buf, "%s", warn ? "PromQL warning: " : "PromQL info: ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + k, sizeof buf - (size_t)k, fmt, ap);
    va_end(ap);
    size_t l = strlen(buf);
    pos_str(ev, pos, buf + l, sizeof buf - l);
    char ***list = warn ? &ev->warn : &ev->info;
    size_t *n = warn ? &ev->n_warn : &ev->n_info;
    size_t *cap = warn ? &ev->cap_warn : &ev->cap_info;
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*list)[i], buf) == 0) return;
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        *list = ocl_arena_realloc(ev->a, *list, *cap * sizeof(char *), nc * sizeof(char *));
        *cap = nc;
    }
    (*list)[(*n)++] = ocl_arena_strndup(ev->a, buf, strlen(buf));
}

int ocl_pqlx_check(ev_t *ev)
{
    return ocl_pqlx_work(ev, 1);
}

int ocl_pqlx_work(ev_t *ev, uint64_t units)
{
    if (ev->rc) return ev->rc;
    ev->work += units;
    if (ev->work < ev->next_check) return 0;
    ev->next_check = ev->work + 8192;
    if (ev->cancel && __atomic_load_n(ev->cancel, __ATOMIC_RELAXED))
        return ocl_pqlx_fail(ev, OCL_PQL_ERR_CANCELED,
                             "query was canceled in expression evaluation");
    if (now_ns() > ev->deadline_ns)
        return ocl_pqlx_fail(ev, OCL_PQL_ERR_TIMEOUT, "query timed out in expression evaluation");
    return 0;
}

int ocl_pqlx_account(ev_t *ev, uint64_t n)
{
    ev->cur_samples += n;
    if (ev->cur_samples > ev->max_samples)
        return ocl_pqlx_fail(ev, OCL_PQL_ERR_TOO_MANY_SAMPLES,
                             "query processing would load too many samples into memory in query "
                             "execution");
    return 0;
}

double *ocl_pqlx_steps(ev_t *ev)
{
    return ocl_arena_alloc(ev->a, ev->n * sizeof(double) + 8);
}

es_t *ocl_pqlx_vec_add(ev_t *ev, val_t *v, ocl_labels_t ls, bool drop_name)
{
    /* Dense per-step arrays cost memory even for sparse series: bound the
     * cells allocated by one query to twice the sample limit. Past it the
     * series still gets (shared, scratch) arrays so callers need no error
     * path here; the query fails at the next check. */
    ev->cells += ev->n;
    if (ev->cells > 2 * ev->max_samples && ev->rc == 0)
        ocl_pqlx_fail(ev, OCL_PQL_ERR_TOO_MANY_SAMPLES,
                      "query processing would load too many samples into memory in query "
                      "execution");
    bool junk = ev->rc != 0;
    if (junk && ev->junk_n < ev->n) {
        ev->junk_v = ocl_arena_alloc(ev->a, ev->n * sizeof(double) + 8);
        ev->junk_has = ocl_arena_calloc(ev->a, ev->n + 8);
        ev->junk_n = ev->n;
    }
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 8;
        v->s = ocl_arena_realloc(ev->a, v->s, v->cap * sizeof(es_t), nc * sizeof(es_t));
        v->cap = nc;
    }
    es_t *s = &v->s[v->n++];
    s->ls = ls;
    s->v = junk ? ev->junk_v : ocl_arena_alloc(ev->a, ev->n * sizeof(double) + 8);
    s->has = junk ? ev->junk_has : ocl_arena_calloc(ev->a, ev->n + 8);
    s->drop_name = drop_name;
    return s;
}

const ocl_pql_node_t *ocl_pqlx_unparen(const ocl_pql_node_t *n)
{
    while (n && n->kind == OCL_PQL_PAREN)
        n = n->paren.expr;
    return n;
}

/* ---- label building ---- */

void ocl_pqlx_lb_init(ev_t *ev, lb_t *b, const ocl_labels_t *src)
{
    b->cap = (src ? src->n : 0) + 4;
    b->v = ocl_arena_alloc(ev->a, b->cap * sizeof(ocl_label_t));
    b->n = 0;
    if (src) {
        if (src->n) memcpy(b->v, src->v, src->n * sizeof(ocl_label_t));
        b->n = src->n;
    }
    (void)ev;
}

void ocl_pqlx_lb_del(lb_t *b, ocl_str_t name)
{
    for (uint32_t i = 0; i < b->n; i++) {
        if (ocl_str_eq(b->v[i].name, name)) {
            memmove(&b->v[i], &b->v[i + 1], (b->n - i - 1) * sizeof(ocl_label_t));
            b->n--;
            return;
        }
    }
}

void ocl_pqlx_lb_set(ev_t *ev, lb_t *b, ocl_str_t name, ocl_str_t value)
{
    if (value.n == 0) {
        ocl_pqlx_lb_del(b, name);
        return;
    }
    for (uint32_t i = 0; i < b->n; i++) {
        if (ocl_str_eq(b->v[i].name, name)) {
            b->v[i].value = value;
            return;
        }
    }
    if (b->n == b->cap) {
        uint32_t nc = b->cap * 2 + 4;
        b->v =
            ocl_arena_realloc(ev->a, b->v, b->cap * sizeof(ocl_label_t), nc * sizeof(ocl_label_t));
        b->cap = nc;
    }
    b->v[b->n].name = name;
    b->v[b->n].value = value;
    b->n++;
}

ocl_labels_t ocl_pqlx_lb_done(lb_t *b)
{
    ocl_labels_sort(b->v, b->n);
    return (ocl_labels_t){b->v, b->n};
}

/* Drops __name__ together with the metadata labels __type__ and __unit__
 * (Prometheus's DropReserved(IsMetadataLabel)). */
ocl_labels_t ocl_pqlx_labels_without_name(ev_t *ev, const ocl_labels_t *ls)
{
    bool any = false;
    for (uint32_t i = 0; i < ls->n && !any; i++)
        any = ocl_str_eq_c(ls->v[i].name, OCL_METRIC_NAME) ||
              ocl_str_eq_c(ls->v[i].name, "__type__") || ocl_str_eq_c(ls->v[i].name, "__unit__");
    if (!any) return *ls;
    lb_t b;
    ocl_pqlx_lb_init(ev, &b, ls);
    ocl_pqlx_lb_del(&b, OCL_STR(OCL_METRIC_NAME));
    ocl_pqlx_lb_del(&b, OCL_STR("__type__"));
    ocl_pqlx_lb_del(&b, OCL_STR("__unit__"));
    return (ocl_labels_t){b.v, b.n};
}

lment_t *ocl_pqlx_lmap_get(ev_t *ev, lmap_t *m, const ocl_labels_t *ls, bool *created)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 16;
        lment_t *ne = ocl_arena_calloc(ev->a, nc * sizeof(lment_t));
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->e[i].used) continue;
            size_t j = m->e[i].h & (nc - 1);
            while (ne[j].used)
                j = (j + 1) & (nc - 1);
            ne[j] = m->e[i];
        }
        m->e = ne;
        m->cap = nc;
    }
    uint64_t h = ocl_labels_hash(ls);
    size_t j = h & (m->cap - 1);
    while (m->e[j].used) {
        if (m->e[j].h == h && ocl_labels_equal(&m->e[j].ls, ls)) {
            *created = false;
            return &m->e[j];
        }
        j = (j + 1) & (m->cap - 1);
    }
    m->e[j].used = true;
    m->e[j].h = h;
    m->e[j].ls = *ls;
    m->e[j].idx = 0;
    m->n++;
    *created = true;
    return &m->e[j];
}

lment_t *ocl_pqlx_lmap_find(const lmap_t *m, const ocl_labels_t *ls)
{
    if (!m->cap) return NULL;
    uint64_t h = ocl_labels_hash(ls);
    size_t j = h & (m->cap - 1);
    while (m->e[j].used) {
        if (m->e[j].h == h && ocl_labels_equal(&m->e[j].ls, ls)) return &m->e[j];
        j = (j + 1) & (m->cap - 1);
    }
    return NULL;
}

/* ---- selectors ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}

static int64_t resolve_at(const ev_t *ev, ocl_pql_at_t at, int64_t at_ms)
{
    switch (at) {
    case OCL_PQL_AT_TIME:
        return tclamp(at_ms);
    case OCL_PQL_AT_START:
        return ev->qstart;
    case OCL_PQL_AT_END:
        return ev->qend;
    default:
        return 0;
    }
}

/* Reference time of step i for a selector/subquery with offset and @. */
static int64_t ref_time(const ev_t *ev, size_t i, ocl_pql_at_t at, int64_t at_res, int64_t off)
{
    return tsub(at != OCL_PQL_AT_NONE ? at_res : ev_t_at(ev, i), off);
}

/* A duration that may be an expression of step()/range(). */
static int dur_ms(ev_t *ev, const ocl_pql_dur_t *d, int64_t lit, int64_t *out)
{
    *out = tclamp(lit);
    if (!d || d->is_const) return 0;
    char err[256];
    int64_t v;
    if (ocl_pql_dur_eval(d, ev->qstep, ev->qend - ev->qstart, &v, err, sizeof err))
        return ocl_pqlx_fail(ev, OCL_PQL_ERR_EXECUTION, "%s", err);
    *out = tclamp(v);
    return 0;
}

static int load(ev_t *ev, const ocl_pql_node_t *vs, int64_t mint, int64_t maxt, ocl_series_t **out,
                size_t *n_out)
{
    int rc = ocl_tsdb_select(ev->db, vs->vs.matchers, vs->vs.n_matchers, mint, maxt,
                             ev->max_samples, ev->a, out, n_out);
    if (rc == OCL_ETOOBIG)
        return ocl_pqlx_fail(ev, OCL_PQL_ERR_TOO_MANY_SAMPLES,
                             "query processing would load too many samples into memory in query "
                             "execution");
    if (rc == OCL_EREGEX_LIMIT)
        return ocl_pqlx_fail(ev, OCL_PQL_ERR_EXECUTION, OCL_REGEX_LIMIT_MSG);
    if (rc < 0)
        return ocl_pqlx_fail(ev, OCL_PQL_ERR_INTERNAL, "storage error: %s", ocl_strerror(rc));
    for (size_t i = 0; i < *n_out; i++)
        ev->loaded += (*out)[i].n;
    return 0;
}

/* Instant vector selector; `ts_out` gives sample timestamps (timestamp()). */
static int eval_vector_sel(ev_t *ev, const ocl_pql_node_t *n, bool ts_out, val_t *out)
{
    int64_t atr = resolve_at(ev, n->vs.at, n->vs.at_ms);
    int64_t off;
    int rc = dur_ms(ev, n->vs.offset_expr, n->vs.offset_ms, &off);
    if (rc) return rc;
    int64_t r0 = ref_time(ev, 0, n->vs.at, atr, off);
    int64_t r1 = ref_time(ev, ev->n - 1, n->vs.at, atr, off);
    ocl_series_t *ss = NULL;
    size_t ns = 0;
    bool smooth = n->vs.smoothed;
    rc = load(ev, n, r0 - ev->lookback + 1, smooth ? r1 + ev->lookback : r1, &ss, &ns);
    if (rc) return rc;
    out->type = OCL_PQL_VECTOR;
    for (size_t k = 0; k < ns; k++) {
        if ((rc = ocl_pqlx_work(ev, ev->n + ss[k].n))) return rc;
        const ocl_series_t *s = &ss[k];
        es_t *e = NULL;
        uint32_t j = 0; /* first sample with t > ref */
        uint64_t pts = 0;
        for (size_t i = 0; i < ev->n; i++) {
            int64_t ref = ref_time(ev, i, n->vs.at, atr, off);
            while (j < s->n && s->t[j] <= ref)
                j++;
            if (j == 0) continue;
            int64_t st = s->t[j - 1];
            double sv = s->v[j - 1];
            if (st <= ref - ev->lookback || ocl_is_stale_nan(sv)) continue;
            if (smooth && st < ref && j < s->n && s->t[j] <= ref + ev->lookback &&
                !ocl_is_stale_nan(s->v[j])) {
                /* experimental `smoothed`: linear interpolation to ref */
                sv += (s->v[j] - sv) * (double)(ref - st) / (double)(s->t[j] - st);
            }
            if (!e) e = ocl_pqlx_vec_add(ev, out, s->labels, false);
            e->v[i] = ts_out ? (double)st / 1000.0 : sv;
            e->has[i] = 1;
            pts++;
        }
        if ((rc = ocl_pqlx_account(ev, pts))) return rc;
    }
    return 0;
}

static int eval_matrix_sel(ev_t *ev, const ocl_pql_node_t *n, val_t *out)
{
    const ocl_pql_node_t *vs = n->ms.vs;
    int64_t atr = resolve_at(ev, vs->vs.at, vs->vs.at_ms);
    int64_t off, range;
    int rc = dur_ms(ev, vs->vs.offset_expr, vs->vs.offset_ms, &off);
    if (rc == 0) rc = dur_ms(ev, n->ms.range_expr, n->ms.range_ms, &range);
    if (rc) return rc;
    int64_t r0 = ref_time(ev, 0, vs->vs.at, atr, off);
    int64_t r1 = ref_time(ev, ev->n - 1, vs->vs.at, atr, off);
    ocl_series_t *ss = NULL;
    size_t ns = 0;
    bool ext = vs->vs.anchored || vs->vs.smoothed;
    rc = load(ev, vs, r0 - range + 1 - (ext ? ev->lookback : 0),
              vs->vs.smoothed ? r1 + ev->lookback : r1, &ss, &ns);
    if (rc) return rc;
    out->type = OCL_PQL_MATRIX;
    out->m = ocl_arena_alloc(ev->a, (ns + 1) * sizeof(rs_t));
    out->nm = 0;
    out->range_ms = range;
    out->offset_ms = off;
    out->anchored = vs->vs.anchored;
    out->smoothed = vs->vs.smoothed;
    out->at = vs->vs.at;
    out->at_ms = atr;
    uint64_t total = 0;
    for (size_t k = 0; k < ns; k++) {
        const ocl_series_t *s = &ss[k];
        /* drop staleness markers */
        uint32_t stale = 0;
        for (uint32_t i = 0; i < s->n; i++)
            stale += ocl_is_stale_nan(s->v[i]);
        rs_t *r = &out->m[out->nm];
        r->ls = s->labels;
        r->drop_name = false;
        if (stale == 0) {
            r->t = s->t;
            r->v = s->v;
            r->n = s->n;
        } else {
            int64_t *t = ocl_arena_alloc(ev->a, (s->n - stale + 1) * sizeof(int64_t));
            double *v = ocl_arena_alloc(ev->a, (s->n - stale + 1) * sizeof(double));
            uint32_t m = 0;
            for (uint32_t i = 0; i < s->n; i++) {
                if (ocl_is_stale_nan(s->v[i])) continue;
                t[m] = s->t[i];
                v[m++] = s->v[i];
            }
            r->t = t;
            r->v = v;
            r->n = m;
        }
        if (r->n == 0) continue;
        total += r->n;
        out->nm++;
    }
    return ocl_pqlx_account(ev, total);
}

static int eval_subquery(ev_t *ev, const ocl_pql_node_t *n, val_t *out)
{
    int64_t atr = resolve_at(ev, n->sq.at, n->sq.at_ms);
    int64_t off, range, step;
    int rc = dur_ms(ev, n->sq.offset_expr, n->sq.offset_ms, &off);
    if (rc == 0) rc = dur_ms(ev, n->sq.range_expr, n->sq.range_ms, &range);
    if (rc == 0) rc = dur_ms(ev, n->sq.step_expr, n->sq.step_ms, &step);
    if (rc) return rc;
    if (step <= 0) step = ev->default_step;
    int64_t r0 = ref_time(ev, 0, n->sq.at, atr, off);
    int64_t r1 = ref_time(ev, ev->n - 1, n->sq.at, atr, off);
    int64_t lo = tsub(r0, range);
    int64_t start = floor_div(lo, step) * step;
    if (start < lo) start += step;
    /* save the grid */
    int64_t o_start = ev->start, o_step = ev->step;
    size_t o_n = ev->n;
    val_t inner = {0};
    if (start > r1) {
        out->type = OCL_PQL_MATRIX;
        out->nm = 0;
    } else if ((uint64_t)((r1 - start) / step) + 1 > 2 * ev->max_samples) {
        rc = ocl_pqlx_fail(ev, OCL_PQL_ERR_TOO_MANY_SAMPLES,
                           "query processing would load too many samples into memory in query "
                           "execution");
    } else {
        ev->start = start;
        ev->step = step;
        ev->n = (size_t)((r1 - start) / step) + 1;
        rc = ocl_pqlx_eval(ev, n->sq.expr, &inner);
        if (rc == 0) {
            out->type = OCL_PQL_MATRIX;
            if (inner.type == OCL_PQL_SCALAR) {
                out->m = ocl_arena_alloc(ev->a, sizeof(rs_t));
                int64_t *t = ocl_arena_alloc(ev->a, ev->n * sizeof(int64_t) + 8);
                for (size_t i = 0; i < ev->n; i++)
                    t[i] = ev_t_at(ev, i);
                out->m[0] = (rs_t){{NULL, 0}, t, inner.sc, (uint32_t)ev->n, false};
                out->nm = 1;
            } else {
                out->m = ocl_arena_alloc(ev->a, (inner.n + 1) * sizeof(rs_t));
                out->nm = 0;
                for (size_t k = 0; k < inner.n && rc == 0; k++) {
                    rc = ocl_pqlx_work(ev, ev->n);
                    es_t *s = &inner.s[k];
                    uint32_t cnt = 0;
                    for (size_t i = 0; i < ev->n; i++)
                        cnt += s->has[i];
                    if (!cnt) continue;
                    int64_t *t = ocl_arena_alloc(ev->a, cnt * sizeof(int64_t));
                    double *v = ocl_arena_alloc(ev->a, cnt * sizeof(double));
                    uint32_t m = 0;
                    for (size_t i = 0; i < ev->n; i++) {
                        if (!s->has[i]) continue;
                        t[m] = ev_t_at(ev, i);
                        v[m++] = s->v[i];
                    }
                    out->m[out->nm++] = (rs_t){s->ls, t, v, m, s->drop_name};
                }
            }
        }
    }
    ev->start = o_start;
    ev->step = o_step;
    ev->n = o_n;
    out->range_ms = range;
    out->offset_ms = off;
    out->at = n->sq.at;
    out->at_ms = atr;
    return rc;
}

int ocl_pqlx_eval_timestamp_sel(ev_t *ev, const ocl_pql_node_t *n, val_t *out)
{
    return eval_vector_sel(ev, n, true, out);
}

static uint64_t val_points(const ev_t *ev, const val_t *v)
{
    uint64_t c = 0;
    if (v->type == OCL_PQL_VECTOR) {
        for (size_t k = 0; k < v->n; k++)
            for (size_t i = 0; i < ev->n; i++)
                c += v->s[k].has[i];
    } else if (v->type == OCL_PQL_MATRIX) {
        for (size_t k = 0; k < v->nm; k++)
            c += v->m[k].n;
    }
    return c;
}

static int eval_node(ev_t *ev, const ocl_pql_node_t *n, val_t *out);

/* Evaluates a node with Prometheus-like sample accounting: the samples a
 * node's children hold are released once it has its own result, so the
 * limit applies to what is held at once (checked at every allocation
 * point), not to the total. */
int ocl_pqlx_eval(ev_t *ev, const ocl_pql_node_t *n, val_t *out)
{
    uint64_t base = ev->cur_samples;
    int rc = eval_node(ev, n, out);
    if (rc) return rc;
    if (n->kind == OCL_PQL_PAREN) return 0;
    ev->cur_samples = base;
    return ocl_pqlx_account(ev, val_points(ev, out));
}

static int eval_node(ev_t *ev, const ocl_pql_node_t *n, val_t *out)
{
    int rc = ocl_pqlx_check(ev);
    if (rc) return rc;
    memset(out, 0, sizeof *out);
    switch (n->kind) {
    case OCL_PQL_NUMBER:
        out->type = OCL_PQL_SCALAR;
        out->sc = ocl_pqlx_steps(ev);
        for (size_t i = 0; i < ev->n; i++)
            out->sc[i] = n->number;
        return 0;
    case OCL_PQL_STRING_LIT:
        out->type = OCL_PQL_STRING;
        out->str = n->str;
        return 0;
    case OCL_PQL_PAREN:
        return ocl_pqlx_eval(ev, n->paren.expr, out);
    case OCL_PQL_UNARY:
        if ((rc = ocl_pqlx_eval(ev, n->unary.expr, out))) return rc;
        if (n->unary.op != '-') return 0;
        if (out->type == OCL_PQL_SCALAR) {
            for (size_t i = 0; i < ev->n; i++)
                out->sc[i] = -out->sc[i];
        } else if (out->type == OCL_PQL_VECTOR) {
            for (size_t k = 0; k < out->n; k++) {
                es_t *s = &out->s[k];
                for (size_t i = 0; i < ev->n; i++)
                    s->v[i] = -s->v[i];
                s->drop_name = true;
            }
        }
        return 0;
    case OCL_PQL_VECTOR_SEL:
        return eval_vector_sel(ev, n, false, out);
    case OCL_PQL_MATRIX_SEL:
        return eval_matrix_sel(ev, n, out);
    case OCL_PQL_SUBQUERY:
        return eval_subquery(ev, n, out);
    case OCL_PQL_CALL:
        return ocl_pqlx_call(ev, n, out);
    case OCL_PQL_AGGREGATE:
        return ocl_pqlx_aggregate(ev, n, out);
    case OCL_PQL_BINARY:
        return ocl_pqlx_binary(ev, n, out);
    }
    return ocl_pqlx_fail(ev, OCL_PQL_ERR_INTERNAL, "unknown node kind %d", (int)n->kind);
}

/* ---- result shaping ---- */

typedef struct {
    ocl_labels_t ls; /* final labels */
    const es_t *s;   /* source series */
} fin_t;

static int fin_cmp(const void *a, const void *b)
{
    const fin_t *x = a, *y = b;
    int c = ocl_labels_cmp(&x->ls, &y->ls);
    if (c) return c;
    return x->s < y->s ? -1 : x->s > y->s;
}

static const char dup_msg[] = "vector cannot contain metrics with the same labelset";

/* Copies a vector value over the grid into the result, dropping names,
 * merging series whose labels became equal (error when they overlap). */
static int shape_vector(ev_t *ev, val_t *v, ocl_pql_result_t *r, bool as_matrix)
{
    fin_t *f = ocl_arena_alloc(ev->a, (v->n + 1) * sizeof(fin_t));
    size_t nf = 0;
    for (size_t k = 0; k < v->n; k++) {
        es_t *s = &v->s[k];
        bool any = false;
        for (size_t i = 0; i < ev->n && !any; i++)
            any = s->has[i];
        if (!any) continue;
        f[nf].ls = s->drop_name ? ocl_pqlx_labels_without_name(ev, &s->ls) : s->ls;
        f[nf].s = s;
        nf++;
    }
    /* sort to find equal label sets; for vectors keep the original order
     * afterwards (Prometheus returns instant vectors unsorted) */
    fin_t *sorted = ocl_arena_alloc(ev->a, (nf + 1) * sizeof(fin_t));
    memcpy(sorted, f, nf * sizeof(fin_t));
    qsort(sorted, nf, sizeof(fin_t), fin_cmp);
    r->series = ocl_arena_calloc(ev->a, (nf + 1) * sizeof(ocl_pql_series_t));
    r->n_series = 0;
    if (!as_matrix) {
        for (size_t k = 1; k < nf; k++)
            if (ocl_labels_equal(&sorted[k].ls, &sorted[k - 1].ls))
                return ocl_pqlx_fail(ev, OCL_PQL_ERR_EXECUTION, "%s", dup_msg);
        for (size_t k = 0; k < nf; k++) {
            ocl_pql_series_t *o = &r->series[r->n_series++];
            o->labels = f[k].ls;
            o->points = ocl_arena_alloc(ev->a, sizeof(ocl_pql_point_t));
            o->points[0] = (ocl_pql_point_t){ev->start, f[k].s->v[0]};
            o->n_points = 1;
        }
        return 0;
    }
    for (size_t k = 0; k < nf;) {
        size_t e = k + 1;
        while (e < nf && ocl_labels_equal(&sorted[e].ls, &sorted[k].ls))
            e++;
        uint32_t cnt = 0;
        for (size_t i = 0; i < ev->n; i++) {
            int c = 0;
            for (size_t j = k; j < e; j++)
                c += sorted[j].s->has[i];
            if (c > 1) return ocl_pqlx_fail(ev, OCL_PQL_ERR_EXECUTION, "%s", dup_msg);
            cnt += (uint32_t)c;
        }
        ocl_pql_series_t *o = &r->series[r->n_series++];
        o->labels = sorted[k].ls;
        o->points = ocl_arena_alloc(ev->a, (cnt + 1) * sizeof(ocl_pql_point_t));
        o->n_points = 0;
        for (size_t i = 0; i < ev->n; i++)
            for (size_t j = k; j < e; j++)
                if (sorted[j].s->has[i])
                    o->points[o->n_points++] = (ocl_pql_point_t){ev_t_at(ev, i), sorted[j].s->v[i]};
        k = e;
    }
    return 0;
}

static int shape_matrix(ev_t *ev, val_t *v, ocl_pql_result_t *r)
{
    int64_t ref = (v->at != OCL_PQL_AT_NONE ? v->at_ms : ev->start) - v->offset_ms;
    r->series = ocl_arena_calloc(ev->a, (v->nm + 1) * sizeof(ocl_pql_series_t));
    r->n_series = 0;
    for (size_t k = 0; k < v->nm; k++) {
        rs_t *s = &v->m[k];
        ocl_pql_series_t *o = &r->series[r->n_series];
        o->labels = s->drop_name ? ocl_pqlx_labels_without_name(ev, &s->ls) : s->ls;
        o->points = ocl_arena_alloc(ev->a, (s->n + 1) * sizeof(ocl_pql_point_t));
        o->n_points = 0;
        for (uint32_t i = 0; i < s->n; i++)
            if (s->t[i] > tsub(ref, v->range_ms) && s->t[i] <= ref)
                o->points[o->n_points++] = (ocl_pql_point_t){s->t[i], s->v[i]};
        if (o->n_points) r->n_series++;
    }
    return 0;
}

static int series_cmp(const void *a, const void *b)
{
    return ocl_labels_cmp(&((const ocl_pql_series_t *)a)->labels,
                          &((const ocl_pql_series_t *)b)->labels);
}

/* Experimental functions and aggregations are refused unless enabled, with
 * the parser's message (Prometheus checks them while parsing). */
static int check_experimental(ev_t *ev, const ocl_pql_node_t *n)
{
    if (!n || ev->experimental) return 0;
    char pos[32];
    pos_str(ev, n, pos, sizeof pos);
    /* pos is " (l:c)"; turn it into "l:c" */
    char lc[32];
    snprintf(lc, sizeof lc, "%.*s", (int)strlen(pos) - 3, pos + 2);
    switch (n->kind) {
    case OCL_PQL_CALL:
        if (n->call.func->experimental)
            return ocl_pqlx_fail(ev, OCL_PQL_ERR_BAD_DATA,
                                 "%s: parse error: function \"%s\" is not enabled", lc,
                                 n->call.func->name);
        for (uint32_t i = 0; i < n->call.n_args; i++)
            if (check_experimental(ev, n->call.args[i])) return ev->rc;
        return 0;
    case OCL_PQL_AGGREGATE:
        if (n->agg.op == OCL_AGG_LIMITK || n->agg.op == OCL_AGG_LIMIT_RATIO)
            return ocl_pqlx_fail(ev, OCL_PQL_ERR_BAD_DATA,
                                 "%s: parse error: %s() is experimental and must be enabled with "
                                 "--enable-feature=promql-experimental-functions",
                                 lc, ocl_pql_aggop_str(n->agg.op));
        if (check_experimental(ev, n->agg.param)) return ev->rc;
        return check_experimental(ev, n->agg.expr);
    case OCL_PQL_BINARY:
        if (check_experimental(ev, n->bin.lhs)) return ev->rc;
        return check_experimental(ev, n->bin.rhs);
    case OCL_PQL_UNARY:
        return check_experimental(ev, n->unary.expr);
    case OCL_PQL_PAREN:
        return check_experimental(ev, n->paren.expr);
    case OCL_PQL_SUBQUERY:
        return check_experimental(ev, n->sq.expr);
    default:
        return 0;
    }
}

static int run(ocl_tsdb_t *db, const ocl_pql_expr_t *e, int64_t start, int64_t end, int64_t step,
               bool is_range, const ocl_pql_opts_t *opts, ocl_pql_result_t **out,
               ocl_pql_error_t *err)
{
    static const ocl_pql_opts_t defopts;
    if (!opts) opts = &defopts;
    ocl_pql_error_t dummy;
    if (!err) err = &dummy;
    err->cls = OCL_PQL_OK;
    err->msg[0] = 0;
    *out = NULL;
    ocl_pql_result_t *r = calloc(1, sizeof *r);
    if (!r) return OCL_ENOMEM;
    ocl_arena_init(&r->arena, 64 * 1024);
    ev_t ev = {0};
    ev.db = db;
    ev.a = &r->arena;
    start = tclamp(start);
    end = tclamp(end);
    ev.start = start;
    ev.step = step > 0 ? step : 1;
    ev.n = (size_t)((end - start) / ev.step) + 1;
    ev.qstart = start;
    ev.qend = end;
    ev.qstep = is_range ? step : 0;
    ev.lookback = opts->lookback_ms > 0 ? tclamp(opts->lookback_ms) : 300000;
    ev.default_step = 60000;
    ev.max_samples = opts->max_samples ? opts->max_samples : 50000000;
    ev.deadline_ns = now_ns() + (opts->timeout_ms > 0 ? opts->timeout_ms : 120000) * 1000000LL;
    ev.cancel = opts->cancel;
    ev.is_range = is_range;
    ev.err = err;
    ev.query = e->query.p;
    ev.query_len = e->query.n;
    ev.experimental = opts->experimental_funcs;
    int rc = 0;
    if (end < start) {
        rc =
            ocl_pqlx_fail(&ev, OCL_PQL_ERR_BAD_DATA, "end timestamp must not be before start time");
        goto done;
    }
    if ((uint64_t)((end - start) / ev.step) + 1 > 2 * ev.max_samples) {
        rc = ocl_pqlx_fail(&ev, OCL_PQL_ERR_TOO_MANY_SAMPLES,
                           "query processing would load too many samples into memory in query "
                           "execution");
        goto done;
    }
    rc = check_experimental(&ev, e->root);
    if (rc) goto done;
    val_t v;
    rc = ocl_pqlx_eval(&ev, e->root, &v);
    if (rc) goto done;
    r->t = start;
    if (!is_range) {
        switch (v.type) {
        case OCL_PQL_SCALAR:
            r->type = OCL_PQL_SCALAR;
            r->scalar = v.sc[0];
            break;
        case OCL_PQL_STRING:
            r->type = OCL_PQL_STRING;
            r->string.p = ocl_arena_strndup(ev.a, v.str.p ? v.str.p : "", v.str.n);
            r->string.n = v.str.n;
            break;
        case OCL_PQL_VECTOR:
            r->type = OCL_PQL_VECTOR;
            rc = shape_vector(&ev, &v, r, false);
            break;
        default:
            r->type = OCL_PQL_MATRIX;
            rc = shape_matrix(&ev, &v, r);
            if (rc == 0) qsort(r->series, r->n_series, sizeof(ocl_pql_series_t), series_cmp);
            break;
        }
    } else {
        r->type = OCL_PQL_MATRIX;
        if (v.type == OCL_PQL_SCALAR) {
            r->series = ocl_arena_calloc(ev.a, sizeof(ocl_pql_series_t));
            r->n_series = 1;
            r->series[0].points = ocl_arena_alloc(ev.a, ev.n * sizeof(ocl_pql_point_t));
            r->series[0].n_points = (uint32_t)ev.n;
            for (size_t i = 0; i < ev.n; i++)
                r->series[0].points[i] = (ocl_pql_point_t){ev_t_at(&ev, i), v.sc[i]};
        } else if (v.type == OCL_PQL_VECTOR) {
            rc = shape_vector(&ev, &v, r, true);
        } else {
            rc = ocl_pqlx_fail(&ev, OCL_PQL_ERR_BAD_DATA,
                               "invalid expression type \"%s\" for range query, must be Scalar or "
                               "instant Vector",
                               v.type == OCL_PQL_MATRIX ? "range vector" : "string");
        }
    }
done:
    r->warnings = ev.warn;
    r->n_warnings = ev.n_warn;
    r->infos = ev.info;
    r->n_infos = ev.n_info;
    r->samples_loaded = ev.loaded;
    if (rc) {
        ocl_pql_result_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int ocl_pql_eval_instant(ocl_tsdb_t *db, const ocl_pql_expr_t *e, int64_t t_ms,
                         const ocl_pql_opts_t *opts, ocl_pql_result_t **out, ocl_pql_error_t *err)
{
    return run(db, e, t_ms, t_ms, 1, false, opts, out, err);
}

int ocl_pql_eval_range(ocl_tsdb_t *db, const ocl_pql_expr_t *e, int64_t start_ms, int64_t end_ms,
                       int64_t step_ms, const ocl_pql_opts_t *opts, ocl_pql_result_t **out,
                       ocl_pql_error_t *err)
{
    if (step_ms <= 0) {
        *out = NULL;
        if (err) {
            err->cls = OCL_PQL_ERR_BAD_DATA;
            snprintf(err->msg, sizeof err->msg,
                     "zero or negative query resolution step widths are not accepted. Try a "
                     "positive integer");
        }
        return OCL_EINVAL;
    }
    return run(db, e, start_ms, end_ms, step_ms, true, opts, out, err);
}

void ocl_pql_result_free(ocl_pql_result_t *r)
{
    if (!r) return;
    ocl_arena_dispose(&r->arena);
    free(r);
}
