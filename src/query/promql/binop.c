/*
 * binop.c — PromQL binary operators: scalar/scalar, vector/scalar and
 * vector/vector with vector matching (on/ignoring, group_left/right), the
 * set operators and/or/unless, comparison filtering and the bool modifier.
 *
 * Matching works on labels once per series (signatures are constant over
 * the grid); only the presence checks (duplicates, which side matched)
 * run per step. Error texts are Prometheus's. Arithmetic marks results for
 * delayed __name__ removal; filtering comparisons keep the left series.
 */
#include "query/promql/engine_internal.h"

#include <stdio.h>

double ocl_pqlx_arith(ocl_pql_binop_t op, double a, double b, bool *keep)
{
    *keep = true;
    switch (op) {
    case OCL_BIN_ADD:
        return a + b;
    case OCL_BIN_SUB:
        return a - b;
    case OCL_BIN_MUL:
        return a * b;
    case OCL_BIN_DIV:
        return a / b;
    case OCL_BIN_MOD:
        return fmod(a, b);
    case OCL_BIN_POW:
        return pow(a, b);
    case OCL_BIN_ATAN2:
        return atan2(a, b);
    case OCL_BIN_EQ:
        *keep = a == b;
        return a;
    case OCL_BIN_NE:
        *keep = a != b;
        return a;
    case OCL_BIN_GT:
        *keep = a > b;
        return a;
    case OCL_BIN_LT:
        *keep = a < b;
        return a;
    case OCL_BIN_GE:
        *keep = a >= b;
        return a;
    case OCL_BIN_LE:
        *keep = a <= b;
        return a;
    default:
        *keep = false;
        return 0;
    }
}

static bool is_cmp(ocl_pql_binop_t op)
{
    return op >= OCL_BIN_EQ && op <= OCL_BIN_LE;
}

static int scalar_scalar(ev_t *ev, const ocl_pql_node_t *n, val_t *l, val_t *r, val_t *out)
{
    *out = *l;
    for (size_t i = 0; i < ev->n; i++) {
        bool keep;
        double v = ocl_pqlx_arith(n->bin.op, l->sc[i], r->sc[i], &keep);
        if (is_cmp(n->bin.op)) v = keep ? 1 : 0;
        out->sc[i] = v;
    }
    return 0;
}

/* vector op scalar (swap: scalar op vector) */
static int vector_scalar(ev_t *ev, const ocl_pql_node_t *n, val_t *vec, const double *sc, bool swap,
                         val_t *out)
{
    ocl_pql_binop_t op = n->bin.op;
    bool cmp = is_cmp(op);
    for (size_t k = 0; k < vec->n; k++) {
        es_t *s = &vec->s[k];
        for (size_t i = 0; i < ev->n; i++) {
            if (!s->has[i]) continue;
            double lv = s->v[i], rv = sc[i];
            if (swap) {
                double t = lv;
                lv = rv;
                rv = t;
            }
            bool keep;
            double v = ocl_pqlx_arith(op, lv, rv, &keep);
            if (cmp && swap) v = rv;
            if (n->bin.return_bool) {
                v = keep ? 1 : 0;
                keep = true;
            }
            if (!keep) {
                s->has[i] = 0;
                continue;
            }
            s->v[i] = v;
        }
        if (!cmp || n->bin.return_bool) s->drop_name = true;
    }
    *out = *vec;
    return 0;
}

/* Signature labels of a series for the matching. */
static ocl_labels_t sig_labels(ev_t *ev, const ocl_labels_t *ls, const ocl_pql_matching_t *m)
{
    if (!m) return ocl_pqlx_group_labels(ev, ls, NULL, 0, true, NULL);
    return ocl_pqlx_group_labels(ev, ls, m->labels, m->n_labels, !m->on, NULL);
}

/* Groups the series of v by signature: sig[k] = group index. */
static uint32_t group_sigs(ev_t *ev, lmap_t *map, val_t *v, const ocl_pql_matching_t *m,
                           uint32_t *sig)
{
    uint32_t ng = (uint32_t)map->n;
    for (size_t k = 0; k < v->n; k++) {
        ocl_labels_t sl = sig_labels(ev, &v->s[k].ls, m);
        bool created;
        lment_t *e = ocl_pqlx_lmap_get(ev, map, &sl, &created);
        if (created) e->idx = ng++;
        sig[k] = e->idx;
    }
    return ng;
}

static int set_op(ev_t *ev, const ocl_pql_node_t *n, val_t *l, val_t *r, val_t *out)
{
    const ocl_pql_matching_t *m = n->bin.matching;
    lmap_t map = {0};
    uint32_t *ls = ocl_arena_alloc(ev->a, (l->n + 1) * sizeof(uint32_t));
    uint32_t *rs = ocl_arena_alloc(ev->a, (r->n + 1) * sizeof(uint32_t));
    /* groups over both sides */
    uint32_t ng = group_sigs(ev, &map, l, m, ls);
    ng = group_sigs(ev, &map, r, m, rs);
    uint8_t *pres = ocl_arena_calloc(ev->a, (size_t)ng * ev->n + 1);
    val_t *src = n->bin.op == OCL_BIN_OR ? l : r;
    uint32_t *srcsig = n->bin.op == OCL_BIN_OR ? ls : rs;
    for (size_t k = 0; k < src->n; k++) {
        uint8_t *p = pres + (size_t)srcsig[k] * ev->n;
        for (size_t i = 0; i < ev->n; i++)
            p[i] |= src->s[k].has[i];
    }
    if (n->bin.op == OCL_BIN_OR) {
        for (size_t k = 0; k < r->n; k++) {
            uint8_t *p = pres + (size_t)rs[k] * ev->n;
            for (size_t i = 0; i < ev->n; i++)
                if (p[i]) r->s[k].has[i] = 0;
        }
        *out = *l;
        for (size_t k = 0; k < r->n; k++) {
            es_t *s = &r->s[k];
            es_t *o = ocl_pqlx_vec_add(ev, out, s->ls, s->drop_name);
            o->v = s->v;
            o->has = s->has;
        }
        return 0;
    }
    bool want = n->bin.op == OCL_BIN_AND;
    for (size_t k = 0; k < l->n; k++) {
        uint8_t *p = pres + (size_t)ls[k] * ev->n;
        for (size_t i = 0; i < ev->n; i++)
            if ((p[i] != 0) != want) l->s[k].has[i] = 0;
    }
    *out = *l;
    return 0;
}

/* Prometheus's labels.String(): {a="x", b="y"} (always with braces). */
static void fmt_labels(const ocl_labels_t *ls, char *buf, size_t len)
{
    size_t k = 0;
    k += (size_t)snprintf(buf + k, len - k, "{");
    for (uint32_t i = 0; i < ls->n && k + 4 < len; i++) {
        char q[300];
        ocl_pqlx_quote(ls->v[i].value, q, sizeof q);
        k += (size_t)snprintf(buf + k, len - k, "%s%.*s=%s", i ? ", " : "", (int)ls->v[i].name.n,
                              ls->v[i].name.p, q);
    }
    if (k + 2 < len) snprintf(buf + k, len - k, "}");
}

/* Result labels of a many-side series `ml` matched with one-side `ol`. */
static ocl_labels_t result_labels(ev_t *ev, const ocl_labels_t *ml, const ocl_labels_t *ol,
                                  const ocl_pql_matching_t *m)
{
    lb_t b;
    if (m->card == OCL_CARD_ONE_TO_ONE) {
        if (m->on) {
            ocl_labels_t k = ocl_pqlx_group_labels(ev, ml, m->labels, m->n_labels, false, NULL);
            ocl_pqlx_lb_init(ev, &b, &k);
        } else {
            ocl_pqlx_lb_init(ev, &b, ml);
            for (uint32_t i = 0; i < m->n_labels; i++)
                ocl_pqlx_lb_del(&b, m->labels[i]);
        }
    } else {
        ocl_pqlx_lb_init(ev, &b, ml);
    }
    for (uint32_t i = 0; i < m->n_include; i++)
        ocl_pqlx_lb_set(ev, &b, m->include[i], ocl_labels_get(ol, m->include[i]));
    return ocl_pqlx_lb_done(&b);
}

/* One vector-vector step: `many_v op one_v` (operands swapped back when the
 * many side is the right-hand one), then the bool modifier. False when a
 * comparison drops the sample. */
static bool apply_pair(ocl_pql_binop_t op, double many_v, double one_v, bool swap, bool rb,
                       double *v)
{
    double lv = swap ? one_v : many_v, rv = swap ? many_v : one_v;
    bool keep;
    *v = ocl_pqlx_arith(op, lv, rv, &keep);
    if (rb) {
        *v = keep ? 1 : 0;
        keep = true;
    }
    return keep;
}

static int vector_vector(ev_t *ev, const ocl_pql_node_t *n, val_t *l, val_t *r, val_t *out)
{
    ocl_pql_matching_t defm = {0};
    const ocl_pql_matching_t *m = n->bin.matching ? n->bin.matching : &defm;
    ocl_pql_binop_t op = n->bin.op;
    bool cmp = is_cmp(op), rb = n->bin.return_bool;
    bool swap = m->card == OCL_CARD_ONE_TO_MANY;
    val_t *many = swap ? r : l, *one = swap ? l : r;
    lmap_t map = {0};
    uint32_t *osig = ocl_arena_alloc(ev->a, (one->n + 1) * sizeof(uint32_t));
    uint32_t *msig = ocl_arena_alloc(ev->a, (many->n + 1) * sizeof(uint32_t));
    uint32_t ng = group_sigs(ev, &map, one, m, osig);
    ng = group_sigs(ev, &map, many, m, msig);
    /* members of each group on the one side, as linked lists */
    int32_t *ohead = ocl_arena_alloc(ev->a, (ng + 1) * sizeof(int32_t));
    int32_t *onext = ocl_arena_alloc(ev->a, (one->n + 1) * sizeof(int32_t));
    for (uint32_t g = 0; g < ng; g++)
        ohead[g] = -1;
    for (size_t k = one->n; k-- > 0;) {
        onext[k] = ohead[osig[k]];
        ohead[osig[k]] = (int32_t)k;
    }
    /* per step: any many-side sample at all, the one-side sample of each group */
    uint8_t *many_any = ocl_arena_calloc(ev->a, ev->n + 1);
    for (size_t k = 0; k < many->n; k++)
        for (size_t i = 0; i < ev->n; i++)
            many_any[i] |= many->s[k].has[i];
    uint8_t *one_any = ocl_arena_calloc(ev->a, ev->n + 1);
    for (size_t k = 0; k < one->n; k++)
        for (size_t i = 0; i < ev->n; i++)
            one_any[i] |= one->s[k].has[i];
    int32_t *match = ocl_arena_alloc(ev->a, ((size_t)ng * ev->n + 1) * sizeof(int32_t));
    for (uint32_t g = 0; g < ng; g++) {
        for (size_t i = 0; i < ev->n; i++) {
            int32_t found = -1;
            for (int32_t k = ohead[g]; k >= 0; k = onext[k]) {
                if (!one->s[k].has[i]) continue;
                if (found >= 0 && many_any[i]) {
                    char a[200], b[200], c[200];
                    ocl_labels_t ml = ocl_pqlx_group_labels(ev, &one->s[k].ls, m->labels,
                                                            m->n_labels, !m->on, NULL);
                    fmt_labels(&ml, a, sizeof a);
                    fmt_labels(&one->s[found].ls, b, sizeof b);
                    fmt_labels(&one->s[k].ls, c, sizeof c);
                    return ocl_pqlx_fail(ev, OCL_PQL_ERR_EXECUTION,
                                         "found duplicate series for the match group %s on the %s "
                                         "hand-side of the operation: [%s, %s];many-to-many "
                                         "matching not allowed: matching labels must be unique on "
                                         "one side",
                                         a, swap ? "left" : "right", b, c);
                }
                found = k;
            }
            match[(size_t)g * ev->n + i] = found;
        }
    }
    /* one-to-one: a group may match at most one many-side sample per step */
    if (m->card == OCL_CARD_ONE_TO_ONE) {
        uint8_t *seen = ocl_arena_calloc(ev->a, (size_t)ng * ev->n + 1);
        for (size_t k = 0; k < many->n; k++) {
            for (size_t i = 0; i < ev->n; i++) {
                if (!many->s[k].has[i]) continue;
                size_t g = (size_t)msig[k] * ev->n + i;
                if (match[g] < 0) continue;
                if (seen[g])
                    return ocl_pqlx_fail(ev, OCL_PQL_ERR_EXECUTION,
                                         "multiple matches for labels: many-to-one matching must "
                                         "be explicit (group_left/group_right)");
                seen[g] = 1;
            }
        }
    }
    out->type = OCL_PQL_VECTOR;
    /* fill modifiers: a value for a missing one-side or many-side sample.
     * As in Prometheus (which swaps the operands for group_right first),
     * fill_left applies to the many side and fill_right to the one side. */
    bool fill_one = m->fill_rhs, fill_many = m->fill_lhs;
    double fill_one_v = m->fill_rhs_value, fill_many_v = m->fill_lhs_value;
    static const ocl_labels_t no_labels = {NULL, 0};
    lmap_t outmap = {0};
    for (size_t k = 0; k < many->n; k++) {
        if (ocl_pqlx_work(ev, ev->n)) return ev->rc;
        es_t *s = &many->s[k];
        int32_t last_one = -2;
        es_t *o = NULL;
        for (size_t i = 0; i < ev->n; i++) {
            if (!s->has[i] || (!one_any[i] && !fill_one)) continue;
            int32_t ok = match[(size_t)msig[k] * ev->n + i];
            if (ok < 0 && !fill_one) continue;
            es_t *os = ok >= 0 ? &one->s[ok] : NULL;
            if (ok != last_one) {
                ocl_labels_t rl = result_labels(ev, &s->ls, os ? &os->ls : &no_labels, m);
                bool created;
                lment_t *e = ocl_pqlx_lmap_get(ev, &outmap, &rl, &created);
                bool dn = (!cmp || rb) ? true : s->drop_name;
                if (created) {
                    e->idx = (uint32_t)out->n;
                    ocl_pqlx_vec_add(ev, out, rl, dn);
                }
                o = &out->s[e->idx];
                last_one = ok;
            }
            double v;
            if (!apply_pair(op, s->v[i], os ? os->v[i] : fill_one_v, swap, rb, &v)) continue;
            if (o->has[i]) {
                if (m->card == OCL_CARD_ONE_TO_ONE) continue;
                return ocl_pqlx_fail(ev, OCL_PQL_ERR_EXECUTION,
                                     "multiple matches for labels: grouping labels must ensure "
                                     "unique matches");
            }
            o->v[i] = v;
            o->has[i] = 1;
        }
    }
    if (!fill_many) return 0;
    /* one-side samples whose group has no many-side sample at the step */
    uint8_t *mpres = ocl_arena_calloc(ev->a, (size_t)ng * ev->n + 1);
    for (size_t k = 0; k < many->n; k++)
        for (size_t i = 0; i < ev->n; i++)
            mpres[(size_t)msig[k] * ev->n + i] |= many->s[k].has[i];
    for (size_t k = 0; k < one->n; k++) {
        if (ocl_pqlx_work(ev, ev->n)) return ev->rc;
        es_t *os = &one->s[k];
        es_t *o = NULL;
        for (size_t i = 0; i < ev->n; i++) {
            if (!os->has[i] || mpres[(size_t)osig[k] * ev->n + i]) continue;
            double v;
            if (!apply_pair(op, fill_many_v, os->v[i], swap, rb, &v)) continue;
            if (!o) {
                ocl_labels_t rl = sig_labels(ev, &os->ls, n->bin.matching);
                bool created;
                lment_t *e = ocl_pqlx_lmap_get(ev, &outmap, &rl, &created);
                if (created) {
                    e->idx = (uint32_t)out->n;
                    ocl_pqlx_vec_add(ev, out, rl, true);
                }
                o = &out->s[e->idx];
            }
            if (o->has[i])
                return ocl_pqlx_fail(ev, OCL_PQL_ERR_EXECUTION,
                                     "multiple matches for labels: grouping labels must ensure "
                                     "unique matches");
            o->v[i] = v;
            o->has[i] = 1;
        }
    }
    return 0;
}

int ocl_pqlx_binary(ev_t *ev, const ocl_pql_node_t *n, val_t *out)
{
    val_t l, r;
    int rc = ocl_pqlx_eval(ev, n->bin.lhs, &l);
    if (rc) return rc;
    if ((rc = ocl_pqlx_eval(ev, n->bin.rhs, &r))) return rc;
    if (l.type == OCL_PQL_SCALAR && r.type == OCL_PQL_SCALAR)
        return scalar_scalar(ev, n, &l, &r, out);
    if (l.type == OCL_PQL_VECTOR && r.type == OCL_PQL_SCALAR)
        return vector_scalar(ev, n, &l, r.sc, false, out);
    if (l.type == OCL_PQL_SCALAR && r.type == OCL_PQL_VECTOR)
        return vector_scalar(ev, n, &r, l.sc, true, out);
    if (l.type == OCL_PQL_VECTOR && r.type == OCL_PQL_VECTOR) {
        if (n->bin.op == OCL_BIN_AND || n->bin.op == OCL_BIN_OR || n->bin.op == OCL_BIN_UNLESS)
            return set_op(ev, n, &l, &r, out);
        return vector_vector(ev, n, &l, &r, out);
    }
    return ocl_pqlx_fail(ev, OCL_PQL_ERR_BAD_DATA, "invalid binary operand types");
}
