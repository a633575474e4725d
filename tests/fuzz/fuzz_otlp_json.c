/*
 * fuzz_otlp_json.c — libFuzzer target for the OTLP/JSON decoder
 * (src/wire/otlp_json.c).
 *
 * Decodes the input as each signal. On success it encodes the model,
 * decodes that again and checks that the record counts match and that the
 * second encoding is byte-identical to the first (the encoder's output is
 * canonical, so encode ∘ decode must be idempotent on it).
 * Seeds: tests/fuzz/corpus/otlp_json/.
 */
#include "wire/otlp.h"

#include <stdio.h>
#include <stdlib.h>

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_otlp_json: %s\n", what);
        abort();
    }
}

static void same(const ocl_buf_t *a, const ocl_buf_t *b, const char *what)
{
    check(a->len == b->len && memcmp(a->p, b->p, a->len) == 0, what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ocl_arena_t a;
    ocl_arena_init(&a, 16384);
    ocl_buf_t b1, b2;
    ocl_buf_init(&b1);
    ocl_buf_init(&b2);
    const char *err = NULL;

    ocl_traces_req_t t, t2;
    if (ocl_otlp_json_decode_traces(data, size, &a, &t, &err) == 0) {
        ocl_otlp_json_encode_traces(&t, "resourceSpans", &b1);
        check(ocl_otlp_json_decode_traces(b1.p, b1.len, &a, &t2, &err) == 0, "traces re-decode");
        check(ocl_otlp_traces_count(&t) == ocl_otlp_traces_count(&t2), "traces count");
        ocl_otlp_json_encode_traces(&t2, "resourceSpans", &b2);
        same(&b1, &b2, "traces re-encode");
    } else {
        check(err != NULL, "traces error without message");
    }
    b1.len = b2.len = 0;
    err = NULL;

    ocl_metrics_req_t m, m2;
    if (ocl_otlp_json_decode_metrics(data, size, &a, &m, &err) == 0) {
        ocl_otlp_json_encode_metrics(&m, &b1);
        check(ocl_otlp_json_decode_metrics(b1.p, b1.len, &a, &m2, &err) == 0, "metrics re-decode");
        check(ocl_otlp_metrics_count(&m) == ocl_otlp_metrics_count(&m2), "metrics count");
        ocl_otlp_json_encode_metrics(&m2, &b2);
        same(&b1, &b2, "metrics re-encode");
    } else {
        check(err != NULL, "metrics error without message");
    }
    b1.len = b2.len = 0;
    err = NULL;

    ocl_logs_req_t l, l2;
    if (ocl_otlp_json_decode_logs(data, size, &a, &l, &err) == 0) {
        ocl_otlp_json_encode_logs(&l, &b1);
        check(ocl_otlp_json_decode_logs(b1.p, b1.len, &a, &l2, &err) == 0, "logs re-decode");
        check(ocl_otlp_logs_count(&l) == ocl_otlp_logs_count(&l2), "logs count");
        ocl_otlp_json_encode_logs(&l2, &b2);
        same(&b1, &b2, "logs re-encode");
    } else {
        check(err != NULL, "logs error without message");
    }

    ocl_buf_dispose(&b1);
    ocl_buf_dispose(&b2);
    ocl_arena_dispose(&a);
    return 0;
}
