/*
 * info.c — the experimental info(v [, {selectors}]) function: enriches each
 * series of v with the data labels of the info series (target_info unless
 * the selector names others; with only negative __name__ matchers, the
 * metrics named *_info) that share its identifying labels (instance, job)
 * at the time the series' sample was read (so offset, @ and subquery
 * shifts apply to the info lookup too).
 *
 * Rules (Prometheus 3 as the corpus encodes them): series that are
 * themselves selected info metrics pass unchanged; only labels the base
 * series does not have are added, and with data-label matchers only the
 * labels they name; when no info series matches, the series passes
 * unchanged unless a data-label matcher rejects the empty string, in which
 * case it is dropped; two info series of the same name for the same
 * target resolve to the newest sample; different info series giving a
 * label different values is an error.
 *
 * Info series are loaded once per query and indexed by identifying labels,
 * so a base series costs a few hash lookups per step.
 */
#include "query/promql/engine_internal.h"

#include <stdio.h>

static const ocl_str_t ident[2] = {{"instance", 8}, {"job", 3}};

typedef struct {
    ocl_labels_t ls;  /* info series labels */
    const int64_t *t; /* samples */
    const double *v;  /* values (staleness markers included) */
    uint32_t n;       /* count */
    int32_t next;     /* next info series with the same identifying key, -1 */
} iser_t;

/* The time at which the samples of `n` are read for grid time t (the first
 * selector's offset/@ and those of enclosing subqueries). */
static int64_t ref_of(const ev_t *ev, const ocl_pql_node_t *n, int64_t t)
{
    while (n) {
        switch (n->kind) {
        case OCL_PQL_VECTOR_SEL: {
            int64_t at = n->vs.at == OCL_PQL_AT_TIME    ? n->vs.at_ms
                         : n->vs.at == OCL_PQL_AT_START ? ev->qstart
                         : n->vs.at == OCL_PQL_AT_END   ? ev->qend
                                                        : t;
            return tsub(at, n->vs.offset_ms);
        }
        case OCL_PQL_MATRIX_SEL:
            n = n->ms.vs;
            break;
        case OCL_PQL_SUBQUERY: {
            int64_t at = n->sq.at == OCL_PQL_AT_TIME    ? n->sq.at_ms
                         : n->sq.at == OCL_PQL_AT_START ? ev->qstart
                         : n->sq.at == OCL_PQL_AT_END   ? ev->qend
                                                        : t;
            t = tsub(at, n->sq.offset_ms);
            n = n->sq.expr;
            break;
        }
        case OCL_PQL_CALL: {
            const ocl_pql_node_t *next = NULL;
            for (uint32_t i = 0; i < n->call.n_args && !next; i++)
                if (n->call.args[i]->type == OCL_PQL_MATRIX ||
                    n->call.args[i]->type == OCL_PQL_VECTOR)
                    next = n->call.args[i];
            if (!next) return t;
            n = next;
            break;
        }
        case OCL_PQL_AGGREGATE:
            n = n->agg.expr;
            break;
        case OCL_PQL_BINARY:
            n = n->bin.lhs->type == OCL_PQL_VECTOR ? n->bin.lhs : n->bin.rhs;
            break;
        case OCL_PQL_UNARY:
            n = n->unary.expr;
            break;
        case OCL_PQL_PAREN:
            n = n->paren.expr;
            break;
        default:
            return t;
        }
    }
    return t;
}

/* Key of an identifying-label subset: the labels of `ls` among ident whose
 * bit is set in mask (all must be present). */
static bool key_of(ev_t *ev, const ocl_labels_t *ls, unsigned mask, ocl_labels_t *out)
{
    ocl_label_t *v = ocl_arena_alloc(ev->a, 2 * sizeof(ocl_label_t));
    uint32_t n = 0;
    for (unsigned i = 0; i < 2; i++) {
        if (!(mask & (1u << i))) continue;
        ocl_str_t x = ocl_labels_get(ls, ident[i]);
        if (!x.n) return false;
        v[n++] = (ocl_label_t){ident[i], x};
    }
    *out = (ocl_labels_t){v, n};
    return true;
}

static bool is_ident(ocl_str_t name)
{
    return ocl_str_eq(name, ident[0]) || ocl_str_eq(name, ident[1]);
}

int ocl_pqlx_info(ev_t *ev, const ocl_pql_node_t *n, val_t *out)
{
    val_t base;
    int rc = ocl_pqlx_eval(ev, n->call.args[0], &base);
    if (rc) return rc;
    const ocl_pql_node_t *sel = n->call.n_args > 1 ? ocl_pqlx_unparen(n->call.args[1]) : NULL;
    /* name matchers (default target_info) and data matchers */
    uint32_t nm = sel ? sel->vs.n_matchers : 0;
    ocl_matcher_t *ms = ocl_arena_alloc(ev->a, (nm + 2) * sizeof(ocl_matcher_t));
    const ocl_matcher_t **namem = ocl_arena_alloc(ev->a, (nm + 2) * sizeof(void *));
    const ocl_matcher_t **datam = ocl_arena_alloc(ev->a, (nm + 2) * sizeof(void *));
    uint32_t n_name = 0, n_data = 0, n_ms = 0;
    for (uint32_t i = 0; i < nm; i++) {
        const ocl_matcher_t *m = &sel->vs.matchers[i];
        ms[n_ms++] = *m;
        if (ocl_str_eq_c(m->name, OCL_METRIC_NAME))
            namem[n_name++] = m;
        else
            datam[n_data++] = m;
    }
    /* no __name__ matcher: target_info; only negative ones: any *_info */
    char err[128];
    ocl_matcher_t def;
    bool have_def = false, positive = false;
    for (uint32_t j = 0; j < n_name; j++)
        positive |= namem[j]->type == OCL_MATCH_EQ || namem[j]->type == OCL_MATCH_RE;
    if (!positive) {
        bool none = n_name == 0;
        if (ocl_matcher_init(&def, none ? OCL_MATCH_EQ : OCL_MATCH_RE, OCL_STR(OCL_METRIC_NAME),
                             none ? OCL_STR("target_info") : OCL_STR(".+_info"), err, sizeof err))
            return ocl_pqlx_fail(ev, OCL_PQL_ERR_INTERNAL, "%s", err);
        have_def = true;
        ms[n_ms++] = def;
        if (none) namem[n_name++] = &def;
    }
    /* the reference time of every step, and the span to load */
    int64_t *ref = ocl_arena_alloc(ev->a, (ev->n + 1) * sizeof(int64_t));
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < ev->n; i++) {
        ref[i] = ref_of(ev, n->call.args[0], ev_t_at(ev, i));
        if (ref[i] < lo) lo = ref[i];
        if (ref[i] > hi) hi = ref[i];
    }
    ocl_series_t *ss = NULL;
    size_t ns = 0;
    rc = ocl_tsdb_select(ev->db, ms, n_ms, lo - ev->lookback + 1, hi, ev->max_samples, ev->a, &ss,
                         &ns);
    if (have_def) ocl_matcher_dispose(&def);
    if (rc == OCL_ETOOBIG)
        return ocl_pqlx_fail(ev, OCL_PQL_ERR_TOO_MANY_SAMPLES,
                             "query processing would load too many samples into memory in query "
                             "execution");
    if (rc == OCL_EREGEX_LIMIT)
        return ocl_pqlx_fail(ev, OCL_PQL_ERR_EXECUTION, OCL_REGEX_LIMIT_MSG);
    if (rc) return ocl_pqlx_fail(ev, OCL_PQL_ERR_INTERNAL, "storage error: %s", ocl_strerror(rc));
    /* index info series by their identifying labels */
    iser_t *is = ocl_arena_alloc(ev->a, (ns + 1) * sizeof(iser_t));
    lmap_t idx = {0};
    int32_t *heads = ocl_arena_alloc(ev->a, (ns + 1) * sizeof(int32_t));
    uint32_t nh = 0;
    for (size_t k = 0; k < ns; k++) {
        is[k] = (iser_t){ss[k].labels, ss[k].t, ss[k].v, ss[k].n, -1};
        ocl_labels_t key;
        unsigned mask = (ocl_labels_get(&ss[k].labels, ident[0]).n ? 1u : 0u) |
                        (ocl_labels_get(&ss[k].labels, ident[1]).n ? 2u : 0u);
        if (!mask || !key_of(ev, &ss[k].labels, mask, &key)) continue;
        bool created;
        lment_t *e = ocl_pqlx_lmap_get(ev, &idx, &key, &created);
        if (created) {
            e->idx = nh;
            heads[nh++] = -1;
        }
        is[k].next = heads[e->idx];
        heads[e->idx] = (int32_t)k;
    }
    bool drop_unmatched = false;
    for (uint32_t j = 0; j < n_data; j++)
        if (!datam[j]->matches_empty) drop_unmatched = true;
    out->type = OCL_PQL_VECTOR;
    lmap_t outmap = {0};
    int32_t *found = ocl_arena_alloc(ev->a, (ns + 1) * sizeof(int32_t));
    int64_t *ft = ocl_arena_alloc(ev->a, (ns + 1) * sizeof(int64_t));
    for (size_t k = 0; k < base.n; k++) {
        if ((rc = ocl_pqlx_work(ev, ev->n))) return rc;
        es_t *s = &base.s[k];
        /* selected info series themselves pass unchanged */
        ocl_str_t name = ocl_labels_get(&s->ls, OCL_STR(OCL_METRIC_NAME));
        bool self = false; /* every name matcher matches, one of them positive */
        for (uint32_t j = 0; j < n_name; j++)
            if (namem[j]->type == OCL_MATCH_EQ || namem[j]->type == OCL_MATCH_RE) self = name.n > 0;
        for (uint32_t j = 0; j < n_name && self; j++)
            self = ocl_matcher_match(namem[j], name);
        if (OCL_UNLIKELY(ocl_matcher_limit_take()))
            return ocl_pqlx_fail(ev, OCL_PQL_ERR_EXECUTION, OCL_REGEX_LIMIT_MSG);
        /* candidate info series: all keys the base series can match */
        int32_t cand[3] = {-1, -1, -1};
        for (unsigned mask = 1; mask <= 3; mask++) {
            ocl_labels_t key;
            if (self || !key_of(ev, &s->ls, mask, &key)) continue;
            const lment_t *e = ocl_pqlx_lmap_find(&idx, &key);
            if (e) cand[mask - 1] = heads[e->idx];
        }
        for (size_t i = 0; i < ev->n; i++) {
            if (!s->has[i]) continue;
            ocl_labels_t ol = s->ls;
            size_t nf = 0;
            if (!self) {
                /* info series present at ref[i]; per name keep the newest */
                for (unsigned c = 0; c < 3; c++) {
                    for (int32_t q = cand[c]; q >= 0; q = is[q].next) {
                        const iser_t *x = &is[q];
                        /* identifying labels of the info series must all be on the base */
                        bool ok = true;
                        for (unsigned d = 0; d < 2 && ok; d++) {
                            ocl_str_t iv = ocl_labels_get(&x->ls, ident[d]);
                            ok = !iv.n || ocl_str_eq(iv, ocl_labels_get(&s->ls, ident[d]));
                        }
                        if (!ok) continue;
                        uint32_t a = 0, b = x->n;
                        while (a < b) {
                            uint32_t mid = a + (b - a) / 2;
                            if (x->t[mid] <= ref[i])
                                a = mid + 1;
                            else
                                b = mid;
                        }
                        if (a == 0) continue;
                        if (x->t[a - 1] <= ref[i] - ev->lookback || ocl_is_stale_nan(x->v[a - 1]))
                            continue;
                        ocl_str_t xn = ocl_labels_get(&x->ls, OCL_STR(OCL_METRIC_NAME));
                        size_t f = 0;
                        while (f < nf &&
                               !ocl_str_eq(
                                   ocl_labels_get(&is[found[f]].ls, OCL_STR(OCL_METRIC_NAME)), xn))
                            f++;
                        if (f == nf) {
                            found[nf] = q;
                            ft[nf++] = x->t[a - 1];
                        } else if (x->t[a - 1] > ft[f]) {
                            found[f] = q;
                            ft[f] = x->t[a - 1];
                        }
                    }
                }
                if (nf == 0 && drop_unmatched) continue;
                if (nf > 0) {
                    lb_t b;
                    ocl_pqlx_lb_init(ev, &b, &s->ls);
                    for (size_t f = 0; f < nf; f++) {
                        const ocl_labels_t *xl = &is[found[f]].ls;
                        for (uint32_t l = 0; l < xl->n; l++) {
                            ocl_str_t ln = xl->v[l].name;
                            if (ocl_str_eq_c(ln, OCL_METRIC_NAME) || is_ident(ln)) continue;
                            if (ocl_labels_get(&s->ls, ln).n) continue;
                            if (n_data) {
                                bool named = false;
                                for (uint32_t j = 0; j < n_data && !named; j++)
                                    named = ocl_str_eq(datam[j]->name, ln);
                                if (!named) continue;
                            }
                            bool clash = false;
                            for (uint32_t e2 = 0; e2 < b.n; e2++) {
                                if (!ocl_str_eq(b.v[e2].name, ln)) continue;
                                if (!ocl_str_eq(b.v[e2].value, xl->v[l].value)) clash = true;
                            }
                            if (clash)
                                return ocl_pqlx_fail(ev, OCL_PQL_ERR_EXECUTION,
                                                     "conflicting label: info series disagree "
                                                     "on the value of label %.*s",
                                                     (int)ln.n, ln.p);
                            ocl_pqlx_lb_set(ev, &b, ln, xl->v[l].value);
                        }
                    }
                    ol = ocl_pqlx_lb_done(&b);
                }
            }
            bool created;
            lment_t *e = ocl_pqlx_lmap_get(ev, &outmap, &ol, &created);
            if (created) {
                e->idx = (uint32_t)out->n;
                ocl_pqlx_vec_add(ev, out, ol, s->drop_name);
            }
            es_t *o = &out->s[e->idx];
            if (o->has[i])
                return ocl_pqlx_fail(ev, OCL_PQL_ERR_EXECUTION,
                                     "vector cannot contain metrics with the same labelset");
            o->v[i] = s->v[i];
            o->has[i] = 1;
        }
    }
    return 0;
}
