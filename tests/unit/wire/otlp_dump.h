/*
 * otlp_dump.h — canonical text dump of OTLP models for tests, the fuzzer
 * and tests/integration/test_protoc.sh: every field of the model (never
 * `raw`), one element per line, so that two models are equal exactly when
 * their dumps are. Header-only, included by test programs only.
 */
#ifndef OCL_TEST_OTLP_DUMP_H
#define OCL_TEST_OTLP_DUMP_H

#include "wire/otlp.h"

#include <inttypes.h>
#include <stdio.h>

static void dump_str(ocl_buf_t *b, const char *name, ocl_str_t s)
{
    ocl_buf_printf(b, " %s=\"", name);
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            ocl_buf_putc(b, (char)c);
        else
            ocl_buf_printf(b, "\\x%02x", c);
    }
    ocl_buf_putc(b, '"');
}

static void dump_hex(ocl_buf_t *b, const char *name, ocl_str_t s)
{
    ocl_buf_printf(b, " %s=", name);
    for (size_t i = 0; i < s.n; i++)
        ocl_buf_printf(b, "%02x", (unsigned char)s.p[i]);
}

static void dump_dbl(ocl_buf_t *b, const char *name, double d)
{
    uint64_t x;
    memcpy(&x, &d, 8);
    ocl_buf_printf(b, " %s=%.17g(%016" PRIx64 ")", name, d, x);
}

static void dump_attrs(ocl_buf_t *b, const char *name, const ocl_attrs_t *a);

static void dump_av(ocl_buf_t *b, const ocl_anyvalue_t *v)
{
    switch (v->type) {
    case OCL_AV_EMPTY:
        ocl_buf_puts(b, "<empty>");
        break;
    case OCL_AV_STRING:
        dump_str(b, "s", v->u.s);
        break;
    case OCL_AV_BOOL:
        ocl_buf_printf(b, " b=%d", v->u.b);
        break;
    case OCL_AV_INT:
        ocl_buf_printf(b, " i=%" PRId64, v->u.i);
        break;
    case OCL_AV_DOUBLE:
        dump_dbl(b, "d", v->u.d);
        break;
    case OCL_AV_BYTES:
        dump_hex(b, "bytes", v->u.s);
        break;
    case OCL_AV_ARRAY:
        ocl_buf_puts(b, " [");
        for (uint32_t i = 0; i < v->u.arr.n; i++) {
            dump_av(b, &v->u.arr.v[i]);
            ocl_buf_puts(b, ",");
        }
        ocl_buf_puts(b, "]");
        break;
    case OCL_AV_KVLIST: {
        ocl_attrs_t at = {v->u.kvlist.kv, v->u.kvlist.n};
        ocl_buf_puts(b, " {");
        dump_attrs(b, "kv", &at);
        ocl_buf_puts(b, "}");
        break;
    }
    }
}

static void dump_attrs(ocl_buf_t *b, const char *name, const ocl_attrs_t *a)
{
    for (uint32_t i = 0; i < a->n; i++) {
        ocl_buf_printf(b, " %s:", name);
        dump_str(b, "key", a->v[i].key);
        dump_av(b, &a->v[i].value);
        ocl_buf_puts(b, ";");
    }
}

static void dump_resource(ocl_buf_t *b, const ocl_resource_t *r)
{
    ocl_buf_printf(b, "  resource present=%d dropped=%u", r->present, r->dropped_attrs);
    dump_attrs(b, "attr", &r->attrs);
    ocl_buf_putc(b, '\n');
}

static void dump_scope(ocl_buf_t *b, const ocl_scope_t *s)
{
    ocl_buf_printf(b, "  scope present=%d dropped=%u", s->present, s->dropped_attrs);
    dump_str(b, "name", s->name);
    dump_str(b, "version", s->version);
    dump_attrs(b, "attr", &s->attrs);
    ocl_buf_putc(b, '\n');
}

static void dump_traces(ocl_buf_t *b, const ocl_traces_req_t *r)
{
    ocl_buf_printf(b, "traces n_rs=%u\n", r->n_rs);
    for (uint32_t i = 0; i < r->n_rs; i++) {
        const ocl_resource_spans_t *rs = &r->rs[i];
        ocl_buf_printf(b, "rs n_ss=%u", rs->n_scope_spans);
        dump_str(b, "schema_url", rs->schema_url);
        ocl_buf_putc(b, '\n');
        dump_resource(b, &rs->resource);
        for (uint32_t j = 0; j < rs->n_scope_spans; j++) {
            const ocl_scope_spans_t *ss = &rs->scope_spans[j];
            ocl_buf_printf(b, " ss n_spans=%u", ss->n_spans);
            dump_str(b, "schema_url", ss->schema_url);
            ocl_buf_putc(b, '\n');
            dump_scope(b, &ss->scope);
            for (uint32_t k = 0; k < ss->n_spans; k++) {
                const ocl_span_t *s = &ss->spans[k];
                ocl_buf_puts(b, "  span");
                dump_hex(b, "trace_id", s->trace_id);
                dump_hex(b, "span_id", s->span_id);
                dump_str(b, "trace_state", s->trace_state);
                dump_hex(b, "parent", s->parent_span_id);
                dump_str(b, "name", s->name);
                ocl_buf_printf(b,
                               " kind=%d start=%" PRIu64 " end=%" PRIu64
                               " dropped_attrs=%u dropped_events=%u dropped_links=%u"
                               " has_status=%d code=%d flags=%u",
                               s->kind, s->start_unix_nano, s->end_unix_nano, s->dropped_attrs,
                               s->dropped_events, s->dropped_links, s->has_status, s->status_code,
                               s->flags);
                dump_str(b, "status_msg", s->status_message);
                dump_attrs(b, "attr", &s->attrs);
                ocl_buf_putc(b, '\n');
                for (uint32_t e = 0; e < s->n_events; e++) {
                    const ocl_span_event_t *ev = &s->events[e];
                    ocl_buf_printf(b, "   event time=%" PRIu64 " dropped=%u", ev->time_unix_nano,
                                   ev->dropped_attrs);
                    dump_str(b, "name", ev->name);
                    dump_attrs(b, "attr", &ev->attrs);
                    ocl_buf_putc(b, '\n');
                }
                for (uint32_t l = 0; l < s->n_links; l++) {
                    const ocl_span_link_t *ln = &s->links[l];
                    ocl_buf_puts(b, "   link");
                    dump_hex(b, "trace_id", ln->trace_id);
                    dump_hex(b, "span_id", ln->span_id);
                    dump_str(b, "trace_state", ln->trace_state);
                    ocl_buf_printf(b, " dropped=%u flags=%u", ln->dropped_attrs, ln->flags);
                    dump_attrs(b, "attr", &ln->attrs);
                    ocl_buf_putc(b, '\n');
                }
            }
        }
    }
}

static void dump_exemplars(ocl_buf_t *b, const ocl_exemplars_t *ex)
{
    for (uint32_t i = 0; i < ex->n; i++) {
        const ocl_exemplar_t *e = &ex->v[i];
        ocl_buf_printf(b, "     exemplar time=%" PRIu64 " is_int=%d", e->time_unix_nano, e->is_int);
        if (e->is_int)
            ocl_buf_printf(b, " as_int=%" PRId64, e->as_int);
        else
            dump_dbl(b, "as_double", e->as_double);
        dump_hex(b, "span_id", e->span_id);
        dump_hex(b, "trace_id", e->trace_id);
        dump_attrs(b, "attr", &e->filtered_attrs);
        ocl_buf_putc(b, '\n');
    }
}

static void dump_buckets(ocl_buf_t *b, const char *name, const ocl_exp_buckets_t *x)
{
    ocl_buf_printf(b, " %s{offset=%d", name, x->offset);
    for (uint32_t i = 0; i < x->n_bucket_counts; i++)
        ocl_buf_printf(b, " %" PRIu64, x->bucket_counts[i]);
    ocl_buf_puts(b, "}");
}

static void dump_metrics(ocl_buf_t *b, const ocl_metrics_req_t *r)
{
    ocl_buf_printf(b, "metrics n_rm=%u\n", r->n_rm);
    for (uint32_t i = 0; i < r->n_rm; i++) {
        const ocl_resource_metrics_t *rm = &r->rm[i];
        ocl_buf_printf(b, "rm n_sm=%u", rm->n_scope_metrics);
        dump_str(b, "schema_url", rm->schema_url);
        ocl_buf_putc(b, '\n');
        dump_resource(b, &rm->resource);
        for (uint32_t j = 0; j < rm->n_scope_metrics; j++) {
            const ocl_scope_metrics_t *sm = &rm->scope_metrics[j];
            ocl_buf_printf(b, " sm n_metrics=%u", sm->n_metrics);
            dump_str(b, "schema_url", sm->schema_url);
            ocl_buf_putc(b, '\n');
            dump_scope(b, &sm->scope);
            for (uint32_t k = 0; k < sm->n_metrics; k++) {
                const ocl_metric_t *m = &sm->metrics[k];
                ocl_buf_printf(b, "  metric type=%d temporality=%d monotonic=%d n_dp=%u", m->type,
                               m->temporality, m->is_monotonic, m->n_dp);
                dump_str(b, "name", m->name);
                dump_str(b, "description", m->description);
                dump_str(b, "unit", m->unit);
                dump_attrs(b, "metadata", &m->metadata);
                ocl_buf_putc(b, '\n');
                for (uint32_t p = 0; p < m->n_dp; p++) {
                    ocl_buf_puts(b, "   dp");
                    switch (m->type) {
                    case OCL_METRIC_GAUGE:
                    case OCL_METRIC_SUM: {
                        const ocl_number_dp_t *d = &m->dp.number[p];
                        ocl_buf_printf(b, " start=%" PRIu64 " time=%" PRIu64 " flags=%u is_int=%d",
                                       d->start_unix_nano, d->time_unix_nano, d->flags, d->is_int);
                        if (d->is_int)
                            ocl_buf_printf(b, " as_int=%" PRId64, d->as_int);
                        else
                            dump_dbl(b, "as_double", d->as_double);
                        dump_attrs(b, "attr", &d->attrs);
                        ocl_buf_putc(b, '\n');
                        dump_exemplars(b, &d->exemplars);
                        break;
                    }
                    case OCL_METRIC_HISTOGRAM: {
                        const ocl_histogram_dp_t *d = &m->dp.hist[p];
                        ocl_buf_printf(b,
                                       " start=%" PRIu64 " time=%" PRIu64 " count=%" PRIu64
                                       " flags=%u has_sum=%d has_min=%d has_max=%d",
                                       d->start_unix_nano, d->time_unix_nano, d->count, d->flags,
                                       d->has_sum, d->has_min, d->has_max);
                        if (d->has_sum) dump_dbl(b, "sum", d->sum);
                        if (d->has_min) dump_dbl(b, "min", d->min);
                        if (d->has_max) dump_dbl(b, "max", d->max);
                        ocl_buf_puts(b, " buckets=");
                        for (uint32_t q = 0; q < d->n_bucket_counts; q++)
                            ocl_buf_printf(b, "%" PRIu64 ",", d->bucket_counts[q]);
                        ocl_buf_puts(b, " bounds=");
                        for (uint32_t q = 0; q < d->n_explicit_bounds; q++)
                            ocl_buf_printf(b, "%.17g,", d->explicit_bounds[q]);
                        dump_attrs(b, "attr", &d->attrs);
                        ocl_buf_putc(b, '\n');
                        dump_exemplars(b, &d->exemplars);
                        break;
                    }
                    case OCL_METRIC_EXP_HISTOGRAM: {
                        const ocl_exp_histogram_dp_t *d = &m->dp.ehist[p];
                        ocl_buf_printf(b,
                                       " start=%" PRIu64 " time=%" PRIu64 " count=%" PRIu64
                                       " flags=%u scale=%d zero_count=%" PRIu64
                                       " has_sum=%d has_min=%d has_max=%d",
                                       d->start_unix_nano, d->time_unix_nano, d->count, d->flags,
                                       d->scale, d->zero_count, d->has_sum, d->has_min, d->has_max);
                        if (d->has_sum) dump_dbl(b, "sum", d->sum);
                        if (d->has_min) dump_dbl(b, "min", d->min);
                        if (d->has_max) dump_dbl(b, "max", d->max);
                        dump_dbl(b, "zero_threshold", d->zero_threshold);
                        dump_buckets(b, "positive", &d->positive);
                        dump_buckets(b, "negative", &d->negative);
                        dump_attrs(b, "attr", &d->attrs);
                        ocl_buf_putc(b, '\n');
                        dump_exemplars(b, &d->exemplars);
                        break;
                    }
                    case OCL_METRIC_SUMMARY: {
                        const ocl_summary_dp_t *d = &m->dp.summary[p];
                        ocl_buf_printf(
                            b, " start=%" PRIu64 " time=%" PRIu64 " count=%" PRIu64 " flags=%u",
                            d->start_unix_nano, d->time_unix_nano, d->count, d->flags);
                        dump_dbl(b, "sum", d->sum);
                        for (uint32_t q = 0; q < d->n_quantiles; q++) {
                            dump_dbl(b, "q", d->quantiles[q].quantile);
                            dump_dbl(b, "v", d->quantiles[q].value);
                        }
                        dump_attrs(b, "attr", &d->attrs);
                        ocl_buf_putc(b, '\n');
                        break;
                    }
                    default:
                        ocl_buf_putc(b, '\n');
                        break;
                    }
                }
            }
        }
    }
}

static void dump_logs(ocl_buf_t *b, const ocl_logs_req_t *r)
{
    ocl_buf_printf(b, "logs n_rl=%u\n", r->n_rl);
    for (uint32_t i = 0; i < r->n_rl; i++) {
        const ocl_resource_logs_t *rl = &r->rl[i];
        ocl_buf_printf(b, "rl n_sl=%u", rl->n_scope_logs);
        dump_str(b, "schema_url", rl->schema_url);
        ocl_buf_putc(b, '\n');
        dump_resource(b, &rl->resource);
        for (uint32_t j = 0; j < rl->n_scope_logs; j++) {
            const ocl_scope_logs_t *sl = &rl->scope_logs[j];
            ocl_buf_printf(b, " sl n_logs=%u", sl->n_logs);
            dump_str(b, "schema_url", sl->schema_url);
            ocl_buf_putc(b, '\n');
            dump_scope(b, &sl->scope);
            for (uint32_t k = 0; k < sl->n_logs; k++) {
                const ocl_log_record_t *l = &sl->logs[k];
                ocl_buf_printf(b,
                               "  log time=%" PRIu64 " observed=%" PRIu64
                               " severity=%d dropped=%u flags=%u",
                               l->time_unix_nano, l->observed_time_unix_nano, l->severity_number,
                               l->dropped_attrs, l->flags);
                dump_str(b, "severity_text", l->severity_text);
                dump_hex(b, "trace_id", l->trace_id);
                dump_hex(b, "span_id", l->span_id);
                dump_str(b, "event_name", l->event_name);
                ocl_buf_puts(b, " body=");
                dump_av(b, &l->body);
                dump_attrs(b, "attr", &l->attrs);
                ocl_buf_putc(b, '\n');
            }
        }
    }
}

#endif
