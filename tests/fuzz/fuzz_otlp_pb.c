/*
 * fuzz_otlp_pb.c — libFuzzer target for the OTLP protobuf decoders
 * (src/wire/otlp_pb.c). Every input is decoded as traces, metrics and logs.
 * When a decode succeeds:
 *   1. the model is re-encoded (raw views copied verbatim) and decoded
 *      again: the record counts must be equal;
 *   2. the `raw` views are cleared and the model encoded canonically; that
 *      encoding must decode to a model with the same canonical dump, and
 *      re-encode to the same bytes (the encoder is a fixed point).
 * Seeds: tests/fuzz/corpus/otlp_pb/ (written by test_otlp_pb with
 * OCL_DUMP_SAMPLES=DIR).
 */
#include "../unit/wire/otlp_dump.h"
#include "wire/otlp.h"

#include <stdlib.h>

static ocl_arena_t arena;
static int initialized;

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "check failed: %s (%s:%d)\n", #c, __FILE__, __LINE__);                 \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void clear_res(ocl_resource_t *r)
{
    r->raw = OCL_STR_NULL;
}
static void clear_scope(ocl_scope_t *s)
{
    s->raw = OCL_STR_NULL;
}

static void clear_traces(ocl_traces_req_t *t)
{
    for (uint32_t i = 0; i < t->n_rs; i++) {
        t->rs[i].raw = OCL_STR_NULL;
        clear_res(&t->rs[i].resource);
        for (uint32_t j = 0; j < t->rs[i].n_scope_spans; j++) {
            ocl_scope_spans_t *ss = &t->rs[i].scope_spans[j];
            ss->raw = OCL_STR_NULL;
            clear_scope(&ss->scope);
            for (uint32_t k = 0; k < ss->n_spans; k++)
                ss->spans[k].raw = OCL_STR_NULL;
        }
    }
}

static void clear_metrics(ocl_metrics_req_t *m)
{
    for (uint32_t i = 0; i < m->n_rm; i++) {
        clear_res(&m->rm[i].resource);
        for (uint32_t j = 0; j < m->rm[i].n_scope_metrics; j++)
            clear_scope(&m->rm[i].scope_metrics[j].scope);
    }
}

static void clear_logs(ocl_logs_req_t *l)
{
    for (uint32_t i = 0; i < l->n_rl; i++) {
        clear_res(&l->rl[i].resource);
        for (uint32_t j = 0; j < l->rl[i].n_scope_logs; j++)
            clear_scope(&l->rl[i].scope_logs[j].scope);
    }
}

static int same(const ocl_buf_t *a, const ocl_buf_t *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

/* One signal: decode, re-encode with raw, decode; then canonical checks. */
#define FUZZ_SIGNAL(req_t, decode, encode, count, clear, dump)                                     \
    do {                                                                                           \
        req_t m1, m2, m3;                                                                          \
        const char *err = NULL;                                                                    \
        int rc = decode(data, size, &arena, &m1, &err);                                            \
        CHECK(rc <= 0 && (rc == 0) == (err == NULL));                                              \
        if (rc == 0) {                                                                             \
            size_t n1 = count(&m1);                                                                \
            ocl_buf_t e1, e2, e3, d1, d2;                                                          \
            ocl_buf_init(&e1), ocl_buf_init(&e2), ocl_buf_init(&e3);                               \
            ocl_buf_init(&d1), ocl_buf_init(&d2);                                                  \
            encode(&m1, &e1);                                                                      \
            CHECK(decode(e1.p, e1.len, &arena, &m2, &err) == 0);                                   \
            CHECK(count(&m2) == n1);                                                               \
            clear(&m1);                                                                            \
            encode(&m1, &e2);                                                                      \
            CHECK(decode(e2.p, e2.len, &arena, &m3, &err) == 0);                                   \
            CHECK(count(&m3) == n1);                                                               \
            dump(&d1, &m1);                                                                        \
            dump(&d2, &m3);                                                                        \
            CHECK(same(&d1, &d2));                                                                 \
            clear(&m3);                                                                            \
            encode(&m3, &e3);                                                                      \
            CHECK(same(&e2, &e3));                                                                 \
            ocl_buf_dispose(&e1), ocl_buf_dispose(&e2), ocl_buf_dispose(&e3);                      \
            ocl_buf_dispose(&d1), ocl_buf_dispose(&d2);                                            \
        }                                                                                          \
        ocl_arena_reset(&arena);                                                                   \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!initialized) {
        ocl_arena_init(&arena, 0);
        initialized = 1;
    }
    FUZZ_SIGNAL(ocl_traces_req_t, ocl_otlp_pb_decode_traces, ocl_otlp_pb_encode_traces,
                ocl_otlp_traces_count, clear_traces, dump_traces);
    FUZZ_SIGNAL(ocl_metrics_req_t, ocl_otlp_pb_decode_metrics, ocl_otlp_pb_encode_metrics,
                ocl_otlp_metrics_count, clear_metrics, dump_metrics);
    FUZZ_SIGNAL(ocl_logs_req_t, ocl_otlp_pb_decode_logs, ocl_otlp_pb_encode_logs,
                ocl_otlp_logs_count, clear_logs, dump_logs);
    return 0;
}
