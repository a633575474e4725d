/*
 * otlp.c — small helpers over the OTLP model (see otlp.h).
 */
#include "wire/otlp.h"

const char *const ocl_signal_names[OCL_SIGNAL_COUNT] = {"traces", "metrics", "logs"};

size_t ocl_otlp_traces_count(const ocl_traces_req_t *r)
{
    size_t n = 0;
    for (uint32_t i = 0; i < r->n_rs; i++)
        for (uint32_t j = 0; j < r->rs[i].n_scope_spans; j++)
            n += r->rs[i].scope_spans[j].n_spans;
    return n;
}

size_t ocl_otlp_metrics_count(const ocl_metrics_req_t *r)
{
    size_t n = 0;
    for (uint32_t i = 0; i < r->n_rm; i++)
        for (uint32_t j = 0; j < r->rm[i].n_scope_metrics; j++)
            for (uint32_t k = 0; k < r->rm[i].scope_metrics[j].n_metrics; k++)
                n += r->rm[i].scope_metrics[j].metrics[k].n_dp;
    return n;
}

size_t ocl_otlp_logs_count(const ocl_logs_req_t *r)
{
    size_t n = 0;
    for (uint32_t i = 0; i < r->n_rl; i++)
        for (uint32_t j = 0; j < r->rl[i].n_scope_logs; j++)
            n += r->rl[i].scope_logs[j].n_logs;
    return n;
}

ocl_str_t ocl_attrs_get_str(const ocl_attrs_t *attrs, const char *key)
{
    for (uint32_t i = 0; i < attrs->n; i++)
        if (ocl_str_eq_c(attrs->v[i].key, key) && attrs->v[i].value.type == OCL_AV_STRING)
            return attrs->v[i].value.u.s;
    return OCL_STR_NULL;
}
