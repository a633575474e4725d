/*
 * test_remote_write.c — unit tests of the remote-write codec
 * (src/wire/remote_write.c): decoding of bytes produced by an independent
 * encoder (`protoc --encode` with the prompb field numbers, see
 * tests/integration/test_remote_write_bad_input.proto), byte-exact encoding
 * against the same reference, round trips incl. NaN / ±Inf / staleness
 * markers and negative timestamps, every validation error, truncated input
 * at every length, and bounded snappy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>
#include <math.h>
#include <snappy-c.h>

#include "wire/pb.h"
#include "wire/remote_write.h"

/* protoc --encode of: series {job="a", __name__="up", empty=""} with samples
 * (1.5, 1700000000000) and (-2, -5); series {__name__="x"} with only an
 * exemplar; metadata {COUNTER, "up", help "h", unit "s"}. */
static const unsigned char ref_unsorted[] = {
    0x0a, 0x4b, 0x0a, 0x08, 0x0a, 0x03, 0x6a, 0x6f, 0x62, 0x12, 0x01, 0x61, 0x0a, 0x0e, 0x0a,
    0x08, 0x5f, 0x5f, 0x6e, 0x61, 0x6d, 0x65, 0x5f, 0x5f, 0x12, 0x02, 0x75, 0x70, 0x0a, 0x07,
    0x0a, 0x05, 0x65, 0x6d, 0x70, 0x74, 0x79, 0x12, 0x10, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0xf8, 0x3f, 0x10, 0x80, 0xd0, 0x95, 0xff, 0xbc, 0x31, 0x12, 0x14, 0x09, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x10, 0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0x01, 0x0a, 0x1a, 0x0a, 0x0d, 0x0a, 0x08, 0x5f, 0x5f, 0x6e, 0x61, 0x6d, 0x65, 0x5f,
    0x5f, 0x12, 0x01, 0x78, 0x1a, 0x09, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x40,
    0x1a, 0x0c, 0x08, 0x01, 0x12, 0x02, 0x75, 0x70, 0x22, 0x01, 0x68, 0x2a, 0x01, 0x73};

/* protoc --encode of the first series with sorted labels and the metadata:
 * what ocl_rw_encode must produce byte for byte for the decoded batch. */
static const unsigned char ref_sorted[] = {
    0x0a, 0x42, 0x0a, 0x0e, 0x0a, 0x08, 0x5f, 0x5f, 0x6e, 0x61, 0x6d, 0x65, 0x5f, 0x5f,
    0x12, 0x02, 0x75, 0x70, 0x0a, 0x08, 0x0a, 0x03, 0x6a, 0x6f, 0x62, 0x12, 0x01, 0x61,
    0x12, 0x10, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x3f, 0x10, 0x80, 0xd0,
    0x95, 0xff, 0xbc, 0x31, 0x12, 0x14, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xc0, 0x10, 0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x1a, 0x0c,
    0x08, 0x01, 0x12, 0x02, 0x75, 0x70, 0x22, 0x01, 0x68, 0x2a, 0x01, 0x73};

static void test_decode_reference(void **state)
{
    (void)state;
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_prom_batch_t b;
    char err[256];
    ocl_rw_limits_t lim;
    ocl_rw_limits_default(&lim);
    assert_int_equal(
        ocl_rw_decode(ref_unsorted, sizeof ref_unsorted, &lim, &a, &b, err, sizeof err), 0);
    /* the exemplar-only series has no samples: dropped */
    assert_int_equal(b.n_series, 1);
    const ocl_prom_series_t *s = &b.series[0];
    assert_int_equal(s->labels.n, 2); /* empty="" dropped */
    assert_true(ocl_str_eq_c(s->labels.v[0].name, "__name__"));
    assert_true(ocl_str_eq_c(s->labels.v[0].value, "up"));
    assert_true(ocl_str_eq_c(s->labels.v[1].name, "job"));
    assert_true(ocl_str_eq_c(s->labels.v[1].value, "a"));
    /* zero-copy: strings point into the input */
    assert_true((const unsigned char *)s->labels.v[1].value.p >= ref_unsorted &&
                (const unsigned char *)s->labels.v[1].value.p < ref_unsorted + sizeof ref_unsorted);
    assert_int_equal(s->n_samples, 2);
    assert_true(s->samples[0].t == 1700000000000LL);
    assert_true(s->samples[0].v == 1.5);
    assert_true(s->samples[1].t == -5);
    assert_true(s->samples[1].v == -2.0);
    assert_int_equal(b.n_meta, 1);
    assert_int_equal(b.meta[0].type, OCL_PT_COUNTER);
    assert_true(ocl_str_eq_c(b.meta[0].family, "up"));
    assert_true(ocl_str_eq_c(b.meta[0].help, "h"));
    assert_true(ocl_str_eq_c(b.meta[0].unit, "s"));

    /* the encoder reproduces protoc's bytes */
    ocl_buf_t out;
    ocl_buf_init(&out);
    ocl_rw_encode(&b, &out);
    assert_int_equal(out.len, sizeof ref_sorted);
    assert_memory_equal(out.p, ref_sorted, sizeof ref_sorted);
    ocl_buf_dispose(&out);
    ocl_arena_dispose(&a);
}

static void test_roundtrip_special_values(void **state)
{
    (void)state;
    ocl_label_t l1[] = {{OCL_STR("__name__"), OCL_STR("m")}, {OCL_STR("k"), OCL_STR("v\xc3\xa9")}};
    ocl_label_t l2[] = {{OCL_STR("__name__"), OCL_STR("n")}};
    ocl_sample_t s1[] = {{0, 0.0},  {1, NAN},           {2, INFINITY},      {3, -INFINITY},
                         {4, -0.0}, {INT64_MIN, 1e308}, {INT64_MAX, 1e-300}};
    ocl_sample_t s2[] = {{10, 0}};
    s1[0].v = ocl_stale_nan();
    ocl_prom_series_t ser[] = {{{l1, 2}, s1, 7}, {{l2, 1}, s2, 1}};
    ocl_prom_meta_t md[] = {{OCL_STR("m"), OCL_PT_GAUGE, OCL_STR(""), OCL_STR("")},
                            {OCL_STR("n"), OCL_PT_UNKNOWN, OCL_STR("help"), OCL_STR("")}};
    ocl_prom_batch_t in = {ser, 2, md, 2}, out;
    ocl_buf_t pb, z, back;
    ocl_buf_init(&pb);
    ocl_buf_init(&z);
    ocl_buf_init(&back);
    ocl_rw_encode(&in, &pb);
    ocl_snappy_compress(pb.p, pb.len, &z);
    assert_int_equal(ocl_snappy_decompress(z.p, z.len, pb.len, &back), 0);
    assert_int_equal(back.len, pb.len);
    assert_memory_equal(back.p, pb.p, pb.len);
    assert_int_equal(ocl_snappy_decompress(z.p, z.len, pb.len - 1, &back), OCL_ETOOBIG);
    assert_int_equal(back.len, pb.len); /* untouched on failure */

    ocl_arena_t a;
    ocl_arena_init(&a, 1024);
    char err[256];
    assert_int_equal(ocl_rw_decode(back.p, back.len, NULL, &a, &out, err, sizeof err), 0);
    assert_int_equal(out.n_series, 2);
    assert_int_equal(out.series[0].labels.n, 2);
    assert_true(ocl_labels_equal(&out.series[0].labels, &in.series[0].labels));
    assert_true(ocl_labels_equal(&out.series[1].labels, &in.series[1].labels));
    assert_int_equal(out.series[0].n_samples, 7);
    for (int i = 0; i < 7; i++) {
        assert_true(out.series[0].samples[i].t == s1[i].t);
        assert_memory_equal(&out.series[0].samples[i].v, &s1[i].v, 8); /* bit-exact */
    }
    assert_true(ocl_is_stale_nan(out.series[0].samples[0].v));
    assert_int_equal(out.series[1].n_samples, 1);
    assert_int_equal(out.n_meta, 2);
    assert_int_equal(out.meta[0].type, OCL_PT_GAUGE);
    assert_true(ocl_str_eq_c(out.meta[1].help, "help"));
    ocl_arena_dispose(&a);
    ocl_buf_dispose(&pb);
    ocl_buf_dispose(&z);
    ocl_buf_dispose(&back);
}

/* ---- a tiny encoder of arbitrary (also invalid) series for error tests ---- */

static void put_label(ocl_buf_t *b, const char *n, size_t nl, const char *v, size_t vl)
{
    ocl_buf_t m;
    ocl_buf_init(&m);
    ocl_pb_put_bytes(&m, 1, n, nl);
    ocl_pb_put_bytes(&m, 2, v, vl);
    ocl_pb_put_bytes(b, 1, m.p, m.len);
    ocl_buf_dispose(&m);
}

/* A request with one series whose labels are given as name, value pairs
 * (NULL-terminated) and one sample. */
static void one_series(ocl_buf_t *req, const char *const *kv)
{
    ocl_buf_t ts, smp;
    ocl_buf_init(&ts);
    ocl_buf_init(&smp);
    for (size_t i = 0; kv[i]; i += 2)
        put_label(&ts, kv[i], strlen(kv[i]), kv[i + 1], strlen(kv[i + 1]));
    ocl_pb_put_double(&smp, 1, 1.0);
    ocl_pb_put_uint(&smp, 2, 1000);
    ocl_pb_put_bytes(&ts, 2, smp.p, smp.len);
    req->len = 0;
    ocl_pb_put_bytes(req, 1, ts.p, ts.len);
    ocl_buf_dispose(&ts);
    ocl_buf_dispose(&smp);
}

static int decode_kv(const char *const *kv, char *err, size_t errlen)
{
    ocl_buf_t req;
    ocl_buf_init(&req);
    one_series(&req, kv);
    ocl_arena_t a;
    ocl_arena_init(&a, 1024);
    ocl_prom_batch_t b;
    ocl_rw_limits_t lim;
    ocl_rw_limits_default(&lim);
    int rc = ocl_rw_decode(req.p, req.len, &lim, &a, &b, err, errlen);
    ocl_arena_dispose(&a);
    ocl_buf_dispose(&req);
    return rc;
}

static void test_validation_errors(void **state)
{
    (void)state;
    char err[256];
    const char *ok[] = {"b", "2", "__name__", "m", "a", "1", NULL};
    assert_int_equal(decode_kv(ok, err, sizeof err), 0);
    assert_string_equal(err, "");

    const char *noname[] = {"a", "1", NULL};
    assert_int_equal(decode_kv(noname, err, sizeof err), OCL_EINVAL);
    assert_non_null(strstr(err, "without a metric name"));
    const char *emptyname[] = {"__name__", "", "a", "1", NULL};
    assert_int_equal(decode_kv(emptyname, err, sizeof err), OCL_EINVAL);
    assert_non_null(strstr(err, "without a metric name"));

    const char *dup[] = {"__name__", "m", "a", "1", "a", "2", NULL};
    assert_int_equal(decode_kv(dup, err, sizeof err), OCL_EINVAL);
    assert_non_null(strstr(err, "duplicate label name, label: 'a', series: 'm'"));

    const char *badutf[] = {"__name__", "m", "a", "\xff\xfe", NULL};
    assert_int_equal(decode_kv(badutf, err, sizeof err), OCL_EINVAL);
    assert_non_null(strstr(err, "invalid UTF-8"));

    const char *emptylabel[] = {"__name__", "m", "", "x", NULL};
    assert_int_equal(decode_kv(emptylabel, err, sizeof err), OCL_EINVAL);
    assert_non_null(strstr(err, "empty label name"));

    /* limits: exactly at the limit passes, one byte more fails */
    char *longv = malloc(OCL_RW_MAX_LABEL_VALUE_LEN + 2);
    memset(longv, 'v', OCL_RW_MAX_LABEL_VALUE_LEN + 1);
    longv[OCL_RW_MAX_LABEL_VALUE_LEN] = 0;
    const char *atv[] = {"__name__", "m", "a", longv, NULL};
    assert_int_equal(decode_kv(atv, err, sizeof err), 0);
    longv[OCL_RW_MAX_LABEL_VALUE_LEN] = 'v';
    longv[OCL_RW_MAX_LABEL_VALUE_LEN + 1] = 0;
    assert_int_equal(decode_kv(atv, err, sizeof err), OCL_EINVAL);
    assert_non_null(strstr(err, "label value length of 2049 exceeds the limit of 2048"));
    assert_true(strlen(err) < 250); /* the value is echoed truncated */
    free(longv);

    char *longn = malloc(OCL_RW_MAX_LABEL_NAME_LEN + 2);
    memset(longn, 'n', OCL_RW_MAX_LABEL_NAME_LEN + 1);
    longn[OCL_RW_MAX_LABEL_NAME_LEN + 1] = 0;
    const char *ln[] = {"__name__", "m", longn, "x", NULL};
    assert_int_equal(decode_kv(ln, err, sizeof err), OCL_EINVAL);
    assert_non_null(strstr(err, "label name length of 1025 exceeds the limit of 1024"));
    free(longn);

    /* 30 labels incl. __name__ pass, 31 fail */
    const char *many[2 * 32 + 1];
    char names[32][8];
    many[0] = "__name__", many[1] = "m";
    for (int i = 0; i < 30; i++) {
        snprintf(names[i], sizeof names[i], "l%02d", i);
        many[2 + 2 * i] = names[i];
        many[3 + 2 * i] = "v";
    }
    many[2 + 2 * 29] = NULL;
    assert_int_equal(decode_kv(many, err, sizeof err), 0);
    many[2 + 2 * 29] = names[29];
    many[2 + 2 * 30] = NULL;
    assert_int_equal(decode_kv(many, err, sizeof err), OCL_EINVAL);
    assert_non_null(strstr(err, "number of labels (31) exceeds the limit of 30"));
    /* an empty value does not count */
    many[3 + 2 * 29] = "";
    assert_int_equal(decode_kv(many, err, sizeof err), 0);
}

/* A series with far too many labels is refused on the count, before the
 * labels are sorted (which is where a duplicate would be found): 100k
 * labels with repeated names give the limit error, not the duplicate one.
 * Labels with empty values (absent) are dropped before anything else, so
 * 100k of them cost neither a sort nor an error. */
static void test_label_count_checked_before_sort(void **state)
{
    (void)state;
    enum { N = 100000 };
    ocl_buf_t ts, req;
    ocl_buf_init(&ts);
    ocl_buf_init(&req);
    static const unsigned char name[] = {0x0a, 0x0d, 0x0a, 0x08, '_',  '_',  'n', 'a',
                                         'm',  'e',  '_',  '_',  0x12, 0x01, 'm'};
    ocl_buf_append(&ts, name, sizeof name);
    for (int i = 0; i < N; i++) {
        unsigned char l[] = {0x0a, 0x06, 0x0a, 0x01, (unsigned char)('a' + i % 26),
                             0x12, 0x01, 'v'};
        ocl_buf_append(&ts, l, sizeof l);
    }
    unsigned char tag = 0x0a;
    ocl_buf_append(&req, &tag, 1);
    ocl_pb_put_varint(&req, ts.len);
    ocl_buf_append(&req, ts.p, ts.len);
    ocl_rw_limits_t lim;
    ocl_rw_limits_default(&lim);
    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 16);
    ocl_prom_batch_t b;
    char err[320];
    assert_int_equal(ocl_rw_decode(req.p, req.len, &lim, &a, &b, err, sizeof err), OCL_EINVAL);
    assert_non_null(strstr(err, "number of labels (100001) exceeds the limit of 30, series: 'm'"));

    /* the same with empty values: one label (__name__) remains */
    ocl_buf_t ts2;
    ocl_buf_init(&ts2);
    ocl_buf_append(&ts2, name, sizeof name);
    for (int i = 0; i < N; i++) {
        unsigned char l[] = {0x0a, 0x03, 0x0a, 0x01, (unsigned char)('a' + i % 26)};
        ocl_buf_append(&ts2, l, sizeof l);
    }
    static const unsigned char sample[] = {0x12, 0x0b, 0x09, 0,    0,    0,   0,
                                           0,    0,    0xf0, 0x3f, 0x10, 0x01};
    ocl_buf_append(&ts2, sample, sizeof sample);
    req.len = 0;
    ocl_buf_append(&req, &tag, 1);
    ocl_pb_put_varint(&req, ts2.len);
    ocl_buf_append(&req, ts2.p, ts2.len);
    assert_int_equal(ocl_rw_decode(req.p, req.len, &lim, &a, &b, err, sizeof err), 0);
    assert_int_equal(b.n_series, 1);
    assert_int_equal(b.series[0].labels.n, 1);
    assert_true(b.series[0].n_samples == 1 && b.series[0].samples[0].v == 1.0);
    ocl_buf_dispose(&ts2);
    ocl_arena_dispose(&a);
    ocl_buf_dispose(&ts);
    ocl_buf_dispose(&req);
}

static void test_native_histogram_refused(void **state)
{
    (void)state;
    ocl_buf_t ts, req, h;
    ocl_buf_init(&ts);
    ocl_buf_init(&req);
    ocl_buf_init(&h);
    put_label(&ts, "__name__", 8, "h", 1);
    ocl_pb_put_uint(&h, 1, 3);
    ocl_pb_put_bytes(&ts, 4, h.p, h.len);
    ocl_pb_put_bytes(&req, 1, ts.p, ts.len);
    ocl_arena_t a;
    ocl_arena_init(&a, 1024);
    ocl_prom_batch_t b;
    char err[256];
    assert_int_equal(ocl_rw_decode(req.p, req.len, NULL, &a, &b, err, sizeof err), OCL_EUNSUPP);
    assert_string_equal(err, "native histograms are not supported");
    ocl_arena_dispose(&a);
    ocl_buf_dispose(&ts);
    ocl_buf_dispose(&req);
    ocl_buf_dispose(&h);
}

static void test_malformed(void **state)
{
    (void)state;
    ocl_arena_t a;
    ocl_arena_init(&a, 1024);
    ocl_prom_batch_t b;
    char err[256];
    /* every strict prefix of the reference either decodes or fails cleanly;
     * the prefixes that cut a top-level message in the middle must fail */
    for (size_t n = 0; n < sizeof ref_unsorted; n++) {
        int rc = ocl_rw_decode(ref_unsorted, n, NULL, &a, &b, err, sizeof err);
        bool boundary = n == 0 || n == 77 || n == 105;
        if (boundary)
            assert_int_equal(rc, 0);
        else
            assert_int_equal(rc, OCL_EINVAL);
        ocl_arena_reset(&a);
    }
    /* wrong wire type for timeseries */
    static const unsigned char wt[] = {0x08, 0x01};
    assert_int_equal(ocl_rw_decode(wt, sizeof wt, NULL, &a, &b, err, sizeof err), OCL_EINVAL);
    assert_non_null(strstr(err, "malformed remote-write request"));
    /* unknown fields are skipped */
    static const unsigned char unk[] = {0x10, 0x05, 0x22, 0x01, 0x00};
    assert_int_equal(ocl_rw_decode(unk, sizeof unk, NULL, &a, &b, err, sizeof err), 0);
    assert_int_equal(b.n_series, 0);
    /* JSON is not protobuf */
    static const char json[] = "{\"timeseries\":[]}";
    assert_int_equal(ocl_rw_decode(json, sizeof json - 1, NULL, &a, &b, err, sizeof err),
                     OCL_EINVAL);
    ocl_arena_dispose(&a);
}

static void test_snappy_bounds(void **state)
{
    (void)state;
    ocl_buf_t out, z;
    ocl_buf_init(&out);
    ocl_buf_init(&z);
    /* garbage */
    assert_int_equal(ocl_snappy_decompress("\xff\xff\xff\xff\xff\xff", 6, 1 << 20, &out),
                     OCL_EINVAL);
    assert_int_equal(ocl_snappy_decompress(NULL, 0, 1 << 20, &out), OCL_EINVAL);
    /* a header that claims 4 GiB is refused before allocating */
    static const unsigned char bomb[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00};
    assert_int_equal(ocl_snappy_decompress(bomb, sizeof bomb, 20 << 20, &out), OCL_ETOOBIG);
    assert_int_equal(out.len, 0);
    /* a valid header with a truncated body */
    size_t n = 100000;
    unsigned char *src = malloc(n);
    for (size_t i = 0; i < n; i++)
        src[i] = (unsigned char)(i * 7 % 13);
    ocl_snappy_compress(src, n, &z);
    assert_int_equal(snappy_validate_compressed_buffer((const char *)z.p, z.len), SNAPPY_OK);
    assert_int_equal(ocl_snappy_decompress(z.p, z.len / 2, n, &out), OCL_EINVAL);
    assert_int_equal(out.len, 0);
    ocl_buf_append(&out, "pre", 3);
    assert_int_equal(ocl_snappy_decompress(z.p, z.len, n, &out), 0);
    assert_int_equal(out.len, n + 3);
    assert_memory_equal(out.p + 3, src, n);
    /* empty input round trip */
    z.len = 0;
    out.len = 0;
    ocl_snappy_compress(NULL, 0, &z);
    assert_int_equal(ocl_snappy_decompress(z.p, z.len, 10, &out), 0);
    assert_int_equal(out.len, 0);
    free(src);
    ocl_buf_dispose(&out);
    ocl_buf_dispose(&z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_reference),
        cmocka_unit_test(test_roundtrip_special_values),
        cmocka_unit_test(test_validation_errors),
        cmocka_unit_test(test_native_histogram_refused),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_snappy_bounds),
        cmocka_unit_test(test_label_count_checked_before_sort),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
