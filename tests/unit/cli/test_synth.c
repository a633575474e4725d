/*
 * test_synth.c — the synthetic telemetry generator (src/cli/synth.c)
 * produces valid OTLP models: 16-byte non-zero trace ids, 8-byte non-zero
 * span ids, parents present in the same trace and request, children inside
 * their parents in time, exactly the requested record counts, monotonic
 * metric series and a realistic error rate.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cli/synth.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1700000000000000000ull

static bool nonzero(ocl_str_t s)
{
    for (size_t i = 0; i < s.n; i++)
        if (s.p[i]) return true;
    return false;
}

/* Flattens a request's spans (pointers into the model). */
static size_t flatten(const ocl_traces_req_t *r, const ocl_span_t **out, size_t cap)
{
    size_t n = 0;
    for (uint32_t i = 0; i < r->n_rs; i++) {
        const ocl_resource_spans_t *rs = &r->rs[i];
        assert_true(rs->resource.present);
        assert_true(ocl_attrs_get_str(&rs->resource.attrs, "service.name").n > 0);
        assert_true(ocl_attrs_get_str(&rs->resource.attrs, "service.instance.id").n > 0);
        for (uint32_t j = 0; j < rs->n_scope_spans; j++)
            for (uint32_t k = 0; k < rs->scope_spans[j].n_spans; k++) {
                assert_true(n < cap);
                out[n++] = &rs->scope_spans[j].spans[k];
            }
    }
    return n;
}

static void check_traces(uint32_t want, uint64_t seed)
{
    ocl_synth_t *s = ocl_synth_create(seed, NOW - 3600000000000ull);
    ocl_arena_t a;
    ocl_arena_init(&a, 0);
    ocl_traces_req_t req;
    assert_int_equal(ocl_synth_traces(s, &a, want, NOW, &req), 0);
    assert_int_equal(ocl_otlp_traces_count(&req), want);
    const ocl_span_t **sp = ocl_malloc(sizeof(*sp) * want);
    size_t n = flatten(&req, sp, want);
    assert_int_equal(n, want);
    for (size_t i = 0; i < n; i++) {
        const ocl_span_t *x = sp[i];
        assert_int_equal(x->trace_id.n, 16);
        assert_true(nonzero(x->trace_id));
        assert_int_equal(x->span_id.n, 8);
        assert_true(nonzero(x->span_id));
        assert_true(x->name.n > 0);
        assert_true(x->start_unix_nano <= x->end_unix_nano);
        assert_true(x->end_unix_nano <= NOW);
        assert_true(x->kind >= OCL_SPAN_KIND_INTERNAL && x->kind <= OCL_SPAN_KIND_CONSUMER);
        for (uint32_t e = 0; e < x->n_events; e++) {
            assert_true(x->events[e].time_unix_nano >= x->start_unix_nano);
            assert_true(x->events[e].time_unix_nano <= x->end_unix_nano);
        }
        for (uint32_t l = 0; l < x->n_links; l++) {
            assert_int_equal(x->links[l].trace_id.n, 16);
            assert_int_equal(x->links[l].span_id.n, 8);
        }
        if (x->parent_span_id.n == 0) {
            assert_int_equal(x->kind, OCL_SPAN_KIND_SERVER);
            continue;
        }
        assert_int_equal(x->parent_span_id.n, 8);
        const ocl_span_t *p = NULL;
        for (size_t j = 0; j < n && !p; j++)
            if (ocl_str_eq(sp[j]->span_id, x->parent_span_id)) p = sp[j];
        assert_non_null(p);
        assert_true(ocl_str_eq(p->trace_id, x->trace_id));
        assert_true(x->start_unix_nano >= p->start_unix_nano);
        assert_true(x->end_unix_nano <= p->end_unix_nano);
    }
    /* span ids unique */
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            assert_false(ocl_str_eq(sp[i]->span_id, sp[j]->span_id));
    ocl_free(sp);
    ocl_arena_dispose(&a);
    ocl_synth_destroy(s);
}

static void test_trace_counts_and_validity(void **state)
{
    (void)state;
    uint32_t sizes[] = {1, 2, 7, 33, 512, 2000};
    for (size_t i = 0; i < OCL_ARRAY_LEN(sizes); i++)
        check_traces(sizes[i], 42 + i);
}

static void test_trace_shape(void **state)
{
    (void)state;
    ocl_synth_t *s = ocl_synth_create(7, NOW - 1);
    ocl_arena_t a;
    ocl_arena_init(&a, 0);
    size_t roots = 0, err_roots = 0, kinds[6] = {0}, services = 0, db = 0, exc = 0;
    for (int round = 0; round < 40; round++) {
        ocl_traces_req_t req;
        ocl_arena_reset(&a);
        assert_int_equal(ocl_synth_traces(s, &a, 1000, NOW, &req), 0);
        if (req.n_rs > services) services = req.n_rs;
        for (uint32_t i = 0; i < req.n_rs; i++)
            for (uint32_t k = 0; k < req.rs[i].scope_spans[0].n_spans; k++) {
                const ocl_span_t *x = &req.rs[i].scope_spans[0].spans[k];
                kinds[x->kind]++;
                if (ocl_attrs_get_str(&x->attrs, "db.system").n) db++;
                if (x->n_events) exc++;
                if (!x->parent_span_id.n) {
                    roots++;
                    if (x->has_status && x->status_code == 2) err_roots++;
                    assert_true(ocl_attrs_get_str(&x->attrs, "http.request.method").n > 0);
                }
            }
    }
    assert_true(services >= 5);
    assert_true(kinds[OCL_SPAN_KIND_SERVER] > 0 && kinds[OCL_SPAN_KIND_CLIENT] > 0);
    assert_true(kinds[OCL_SPAN_KIND_INTERNAL] > 0);
    assert_true(db > 0);
    /* about 2% of traces fail */
    double rate = (double)err_roots / (double)roots;
    assert_true(rate > 0.005 && rate < 0.05);
    assert_true(exc >= err_roots / 2);
    ocl_arena_dispose(&a);
    ocl_synth_destroy(s);
}

static void test_deterministic(void **state)
{
    (void)state;
    ocl_synth_t *s1 = ocl_synth_create(99, NOW - 1), *s2 = ocl_synth_create(99, NOW - 1);
    ocl_arena_t a1, a2;
    ocl_arena_init(&a1, 0);
    ocl_arena_init(&a2, 0);
    ocl_traces_req_t r1, r2;
    assert_int_equal(ocl_synth_traces(s1, &a1, 100, NOW, &r1), 0);
    assert_int_equal(ocl_synth_traces(s2, &a2, 100, NOW, &r2), 0);
    assert_int_equal(r1.n_rs, r2.n_rs);
    const ocl_span_t *x = &r1.rs[0].scope_spans[0].spans[0], *y = &r2.rs[0].scope_spans[0].spans[0];
    assert_true(ocl_str_eq(x->span_id, y->span_id));
    assert_true(ocl_str_eq(x->trace_id, y->trace_id));
    assert_int_equal(x->start_unix_nano, y->start_unix_nano);
    ocl_arena_dispose(&a1);
    ocl_arena_dispose(&a2);
    ocl_synth_destroy(s1);
    ocl_synth_destroy(s2);
}

/* Series key: resource index of service name + metric name + first attr. */
typedef struct {
    char key[160];
    uint64_t t;
    double v;
} seen_t;

static void test_metrics(void **state)
{
    (void)state;
    ocl_synth_t *s = ocl_synth_create(5, NOW - 600000000000ull);
    ocl_arena_t a;
    ocl_arena_init(&a, 0);
    static seen_t seen[512];
    size_t n_seen = 0, hist = 0, sums = 0, gauges = 0;
    uint32_t sizes[] = {1, 13, 64, 200, 512};
    for (size_t round = 0; round < OCL_ARRAY_LEN(sizes); round++) {
        ocl_metrics_req_t req;
        ocl_arena_reset(&a);
        uint64_t now = NOW + round * 1000000000ull;
        assert_int_equal(ocl_synth_metrics(s, &a, sizes[round], now, &req), 0);
        assert_int_equal(ocl_otlp_metrics_count(&req), sizes[round]);
        for (uint32_t i = 0; i < req.n_rm; i++) {
            ocl_str_t svc = ocl_attrs_get_str(&req.rm[i].resource.attrs, "service.name");
            assert_true(svc.n > 0);
            const ocl_scope_metrics_t *sm = &req.rm[i].scope_metrics[0];
            for (uint32_t j = 0; j < sm->n_metrics; j++) {
                const ocl_metric_t *m = &sm->metrics[j];
                assert_true(m->n_dp > 0);
                for (uint32_t k = 0; k < m->n_dp; k++) {
                    uint64_t t;
                    double v = 0;
                    const ocl_attrs_t *at;
                    if (m->type == OCL_METRIC_HISTOGRAM) {
                        const ocl_histogram_dp_t *h = &m->dp.hist[k];
                        hist++;
                        assert_int_equal(h->n_bucket_counts, h->n_explicit_bounds + 1);
                        uint64_t c = 0;
                        for (uint32_t b = 0; b < h->n_bucket_counts; b++)
                            c += h->bucket_counts[b];
                        assert_int_equal(c, h->count);
                        for (uint32_t b = 1; b < h->n_explicit_bounds; b++)
                            assert_true(h->explicit_bounds[b] > h->explicit_bounds[b - 1]);
                        t = h->time_unix_nano;
                        v = (double)h->count;
                        at = &h->attrs;
                        assert_true(h->start_unix_nano <= t);
                    } else {
                        const ocl_number_dp_t *d = &m->dp.number[k];
                        if (m->type == OCL_METRIC_SUM)
                            sums++;
                        else
                            gauges++;
                        t = d->time_unix_nano;
                        v = d->is_int ? (double)d->as_int : d->as_double;
                        at = &d->attrs;
                    }
                    char key[160];
                    int kl = snprintf(key, sizeof(key), "%.*s|%.*s", (int)svc.n, svc.p,
                                      (int)m->name.n, m->name.p);
                    for (uint32_t q = 0; q < at->n; q++) {
                        const ocl_anyvalue_t *av = &at->v[q].value;
                        if (av->type == OCL_AV_STRING)
                            kl += snprintf(key + kl, sizeof(key) - (size_t)kl, "|%.*s",
                                           (int)av->u.s.n, av->u.s.p);
                        else
                            kl += snprintf(key + kl, sizeof(key) - (size_t)kl, "|%lld",
                                           (long long)av->u.i);
                    }
                    size_t x = 0;
                    while (x < n_seen && strcmp(seen[x].key, key))
                        x++;
                    if (x == n_seen) {
                        assert_true(n_seen < OCL_ARRAY_LEN(seen));
                        strcpy(seen[n_seen].key, key);
                        seen[n_seen].t = t;
                        seen[n_seen].v = v;
                        n_seen++;
                        continue;
                    }
                    assert_true(t > seen[x].t); /* per-series time increases */
                    bool cumulative_mono = m->type == OCL_METRIC_HISTOGRAM ||
                                           (m->type == OCL_METRIC_SUM && m->is_monotonic);
                    if (cumulative_mono) assert_true(v >= seen[x].v);
                    seen[x].t = t;
                    seen[x].v = v;
                }
            }
        }
    }
    assert_true(hist > 0 && sums > 0 && gauges > 0);
    ocl_arena_dispose(&a);
    ocl_synth_destroy(s);
}

static void test_logs(void **state)
{
    (void)state;
    ocl_synth_t *s = ocl_synth_create(11, NOW - 1);
    ocl_arena_t a;
    ocl_arena_init(&a, 0);
    ocl_traces_req_t tr;
    assert_int_equal(ocl_synth_traces(s, &a, 300, NOW, &tr), 0);
    uint32_t sizes[] = {1, 5, 512};
    for (size_t round = 0; round < OCL_ARRAY_LEN(sizes); round++) {
        ocl_logs_req_t req;
        assert_int_equal(ocl_synth_logs(s, &a, sizes[round], NOW, &req), 0);
        assert_int_equal(ocl_otlp_logs_count(&req), sizes[round]);
        size_t linked = 0;
        for (uint32_t i = 0; i < req.n_rl; i++) {
            assert_true(ocl_attrs_get_str(&req.rl[i].resource.attrs, "service.name").n > 0);
            const ocl_scope_logs_t *sl = &req.rl[i].scope_logs[0];
            for (uint32_t k = 0; k < sl->n_logs; k++) {
                const ocl_log_record_t *l = &sl->logs[k];
                assert_true(l->severity_number >= 1 && l->severity_number <= 24);
                assert_int_equal(l->body.type, OCL_AV_STRING);
                assert_true(l->body.u.s.n > 0);
                assert_true(l->time_unix_nano <= NOW);
                if (l->trace_id.n) {
                    linked++;
                    assert_int_equal(l->trace_id.n, 16);
                    assert_true(nonzero(l->trace_id));
                    assert_int_equal(l->span_id.n, 8);
                }
            }
        }
        if (sizes[round] >= 512) assert_true(linked > 100);
    }
    ocl_traces_req_t bad;
    assert_int_equal(ocl_synth_traces(s, &a, 0, NOW, &bad), OCL_EINVAL);
    ocl_arena_dispose(&a);
    ocl_synth_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_counts_and_validity),
        cmocka_unit_test(test_trace_shape),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_logs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
