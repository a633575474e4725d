/*
 * fuzz_remote_write.c — libFuzzer target for the remote-write path before
 * any storage: bounded snappy decompression and the WriteRequest decoder
 * (src/wire/remote_write.c), as the receiver runs them on every request.
 * Invariants checked: decompression never exceeds its bound and leaves the
 * buffer untouched on failure; a decoded batch satisfies wire/prom.h
 * (sorted unique label names, no empty value, a non-empty __name__, valid
 * UTF-8, within the limits); encoding it and decoding again gives the same
 * series, samples (bit for bit) and metadata; every failure has a message.
 * The first input byte picks raw protobuf or snappy-compressed input.
 */
#include "wire/remote_write.h"

#include <stdio.h>
#include <stdlib.h>

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "check failed: %s (%s:%d)\n", #c, __FILE__, __LINE__);                 \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void check_batch(const ocl_prom_batch_t *b, const ocl_rw_limits_t *lim)
{
    for (size_t i = 0; i < b->n_series; i++) {
        const ocl_prom_series_t *s = &b->series[i];
        CHECK(s->n_samples > 0);
        CHECK(s->labels.n <= lim->max_labels);
        CHECK(ocl_labels_get(&s->labels, OCL_STR(OCL_METRIC_NAME)).n > 0);
        for (uint32_t j = 0; j < s->labels.n; j++) {
            const ocl_label_t *l = &s->labels.v[j];
            CHECK(l->name.n > 0 && l->value.n > 0);
            CHECK(l->name.n <= lim->max_label_name_len && l->value.n <= lim->max_label_value_len);
            CHECK(ocl_utf8_valid(l->name.p, l->name.n) && ocl_utf8_valid(l->value.p, l->value.n));
            if (j) {
                const ocl_str_t a = s->labels.v[j - 1].name, c = l->name;
                int cmp = memcmp(a.p, c.p, OCL_MIN(a.n, c.n));
                CHECK(cmp < 0 || (cmp == 0 && a.n < c.n)); /* sorted and unique */
            }
        }
    }
}

static void check_same(const ocl_prom_batch_t *x, const ocl_prom_batch_t *y)
{
    CHECK(x->n_series == y->n_series && x->n_meta == y->n_meta);
    for (size_t i = 0; i < x->n_series; i++) {
        CHECK(ocl_labels_equal(&x->series[i].labels, &y->series[i].labels));
        CHECK(x->series[i].n_samples == y->series[i].n_samples);
        for (uint32_t j = 0; j < x->series[i].n_samples; j++) {
            CHECK(x->series[i].samples[j].t == y->series[i].samples[j].t);
            CHECK(memcmp(&x->series[i].samples[j].v, &y->series[i].samples[j].v, 8) == 0);
        }
    }
    for (size_t i = 0; i < x->n_meta; i++) {
        CHECK(x->meta[i].type == y->meta[i].type);
        CHECK(ocl_str_eq(x->meta[i].family, y->meta[i].family));
        CHECK(ocl_str_eq(x->meta[i].help, y->meta[i].help));
        CHECK(ocl_str_eq(x->meta[i].unit, y->meta[i].unit));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int snappy = data[0] & 1;
    data++, size--;
    ocl_rw_limits_t lim;
    ocl_rw_limits_default(&lim);
    lim.max_labels = 8; /* small limits so the fuzzer reaches them */
    lim.max_label_name_len = 16;
    lim.max_label_value_len = 32;
    ocl_buf_t body, enc;
    ocl_buf_init(&body);
    ocl_buf_init(&enc);
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    const void *p = data;
    size_t n = size;
    if (snappy) {
        size_t max_out = 1 << 16;
        ocl_buf_append(&body, "pre", 3);
        int rc = ocl_snappy_decompress(data, size, max_out, &body);
        CHECK(body.len >= 3 && memcmp(body.p, "pre", 3) == 0);
        if (rc) {
            CHECK(rc == OCL_EINVAL || rc == OCL_ETOOBIG);
            CHECK(body.len == 3);
            goto done;
        }
        CHECK(body.len - 3 <= max_out);
        p = body.p + 3;
        n = body.len - 3;
    }
    ocl_prom_batch_t b, b2;
    char err[256];
    int rc = ocl_rw_decode(p, n, &lim, &a, &b, err, sizeof err);
    if (rc) {
        CHECK(rc == OCL_EINVAL || rc == OCL_EUNSUPP);
        CHECK(err[0] != 0 && ocl_utf8_valid(err, strlen(err)));
        goto done;
    }
    check_batch(&b, &lim);
    ocl_rw_encode(&b, &enc);
    CHECK(ocl_rw_decode(enc.p, enc.len, &lim, &a, &b2, err, sizeof err) == 0);
    check_same(&b, &b2);
    if (snappy) { /* compress → decompress is the identity */
        ocl_buf_t z, back;
        ocl_buf_init(&z);
        ocl_buf_init(&back);
        ocl_snappy_compress(p, n, &z);
        CHECK(ocl_snappy_decompress(z.p, z.len, n, &back) == 0);
        CHECK(back.len == n && (n == 0 || memcmp(back.p, p, n) == 0));
        ocl_buf_dispose(&z);
        ocl_buf_dispose(&back);
    }
done:
    ocl_arena_dispose(&a);
    ocl_buf_dispose(&body);
    ocl_buf_dispose(&enc);
    return 0;
}
