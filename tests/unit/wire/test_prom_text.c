/*
 * test_prom_text.c — the Prometheus text exposition parser: a table of
 * valid expositions (rendered back as "labels value@ts" lines), a table of
 * invalid ones with their line numbers, metadata and histogram families,
 * limits and float formatting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "wire/prom_text.h"

#include <math.h>

/* Renders a batch as one line per series: name{a="x"} value@ts. */
static void render(const ocl_prom_batch_t *b, ocl_buf_t *out)
{
    for (size_t i = 0; i < b->n_series; i++) {
        const ocl_prom_series_t *s = &b->series[i];
        ocl_labels_format(&s->labels, out);
        char v[64];
        double d = s->samples[0].v;
        if (ocl_is_stale_nan(d))
            snprintf(v, sizeof v, "stale");
        else
            ocl_prom_format_float(d, v, sizeof v);
        char line[128];
        snprintf(line, sizeof line, " %s@%lld\n", v, (long long)s->samples[0].t);
        ocl_buf_append(out, line, strlen(line));
    }
}

static char *parse_render(const char *text, const ocl_prom_text_opts_t *o, int *rc, char *err,
                          size_t errlen, ocl_prom_batch_t *b, ocl_arena_t *a)
{
    *rc = ocl_prom_text_parse(text, strlen(text), o, a, b, err, errlen);
    ocl_buf_t out;
    ocl_buf_init(&out);
    render(b, &out);
    char *r = ocl_strndup((const char *)out.p, out.len);
    ocl_buf_dispose(&out);
    return r;
}

static void test_valid(void **state)
{
    (void)state;
    static const struct {
        const char *in;   /* exposition */
        const char *want; /* rendered series */
    } cases[] = {
        {"", ""},
        {"\n\n  \n", ""},
        {"a 1\n", "a{} 1.0@1000\n"},
        {"a 1", "a{} 1.0@1000\n"},
        {"a 1\r\n", "a{} 1.0@1000\n"},
        {"  a\t 2.5 \n", "a{} 2.5@1000\n"},
        {"a 1 1700000000000\n", "a{} 1.0@1700000000000\n"},
        {"a 1 -5\n", "a{} 1.0@-5\n"},
        {"a{} 1\n", "a{} 1.0@1000\n"},
        {"a {b=\"c\"} 1\n", "a{b=\"c\"} 1.0@1000\n"},
        {"a{z=\"1\",b=\"2\",} 3\n", "a{b=\"2\", z=\"1\"} 3.0@1000\n"},
        {"a{ b = \"x\" , c=\"y\" } 1\n", "a{b=\"x\", c=\"y\"} 1.0@1000\n"},
        {"a{b=\"\"} 1\n", "a{} 1.0@1000\n"},
        {"a{b=\"q\\\"x\\\\y\\nz\"} 1\n", "a{b=\"q\\\"x\\\\y\\nz\"} 1.0@1000\n"},
        {"a{b=\"héllo ✓\"} 1\n", "a{b=\"héllo ✓\"} 1.0@1000\n"},
        {"a NaN\n", "a{} NaN@1000\n"},
        {"a +Inf\n", "a{} +Inf@1000\n"},
        {"a -Inf\n", "a{} -Inf@1000\n"},
        {"a inf\n", "a{} +Inf@1000\n"},
        {"a 1e3\n", "a{} 1000.0@1000\n"},
        {"a -1.5E-3\n", "a{} -0.0015@1000\n"},
        {"a .5\n", "a{} 0.5@1000\n"},
        {"a 1.\n", "a{} 1.0@1000\n"},
        {"a 1e400\n", "a{} +Inf@1000\n"},
        {"a_b:c 7\n", "a_b:c{} 7.0@1000\n"},
        {"# a comment\n#another\n# HELP\na 1\n", "a{} 1.0@1000\n"},
        {"# EOF\n", ""},
        {"{\"my.metric\", a=\"b\"} 1\n", "my.metric{a=\"b\"} 1.0@1000\n"},
        {"{\"my.metric\"} 1\n", "my.metric{} 1.0@1000\n"},
        {"a{\"my.label\"=\"v\"} 1\n", "a{\"my.label\"=\"v\"} 1.0@1000\n"},
        {"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_bucket{le=\"0.25\"} "
         "0\n"
         "h_sum 3\nh_count 2\n",
         "h_bucket{le=\"1.0\"} 1.0@1000\nh_bucket{le=\"+Inf\"} 2.0@1000\n"
         "h_bucket{le=\"0.25\"} 0.0@1000\nh_sum{} 3.0@1000\nh_count{} 2.0@1000\n"},
        {"# TYPE s summary\ns{quantile=\"1\"} 5\ns{quantile=\"0.99\"} 4\ns_count 1\n",
         "s{quantile=\"1.0\"} 5.0@1000\ns{quantile=\"0.99\"} 4.0@1000\ns_count{} 1.0@1000\n"},
        /* le of something that is not a histogram is left alone */
        {"x_bucket{le=\"1\"} 1\n", "x_bucket{le=\"1\"} 1.0@1000\n"},
        {"# TYPE c counter\nc_bucket{le=\"1\"} 1\n", "c_bucket{le=\"1\"} 1.0@1000\n"},
        {"a 1\na 2\n", "a{} 1.0@1000\na{} 2.0@1000\n"},
    };
    ocl_prom_text_opts_t o = {.default_ts = 1000};
    for (size_t i = 0; i < OCL_ARRAY_LEN(cases); i++) {
        ocl_arena_t a;
        ocl_arena_init(&a, 4096);
        ocl_prom_batch_t b;
        char err[256];
        int rc;
        char *got = parse_render(cases[i].in, &o, &rc, err, sizeof err, &b, &a);
        if (rc != 0 || strcmp(got, cases[i].want))
            fail_msg("case %zu: %s\nrc %d err %s\ngot:\n%s\nwant:\n%s", i, cases[i].in, rc, err,
                     got, cases[i].want);
        ocl_free(got);
        ocl_arena_dispose(&a);
    }
}

static void test_invalid(void **state)
{
    (void)state;
    static const struct {
        const char *in;  /* exposition */
        int rc;          /* expected error */
        const char *err; /* expected message */
    } cases[] = {
        {"a\n", OCL_EINVAL, "line 1: expected a blank and a value"},
        {"a 1\nb\n", OCL_EINVAL, "line 2: expected a blank and a value"},
        {"a x\n", OCL_EINVAL, "line 1: invalid value \"x\""},
        {"a 0x10\n", OCL_EINVAL, "line 1: invalid value \"0x10\""},
        {"a 1 2 3\n", OCL_EINVAL, "line 1: unexpected text after the timestamp"},
        {"a 1 1.5\n", OCL_EINVAL, "line 1: invalid timestamp \"1.5\""},
        {"a 1 99999999999999999999\n", OCL_EINVAL,
         "line 1: invalid timestamp \"99999999999999999999\""},
        {"\n\na{b=\"1\",b=\"2\"} 1\n", OCL_EINVAL, "line 3: duplicate label name \"b\""},
        {"a{__name__=\"x\"} 1\n", OCL_EINVAL, "line 1: duplicate label name \"__name__\""},
        {"a{b=\"1\"\n", OCL_EINVAL, "line 1: expected ',' or '}' in the label set"},
        {"a{b=\"1} 1\n", OCL_EINVAL, "line 1: unterminated quoted string"},
        {"a{b=\"\\t\"} 1\n", OCL_EINVAL,
         "line 1: invalid escape sequence \"\\t\" in a quoted string"},
        {"a{b=1} 1\n", OCL_EINVAL, "line 1: expected a quoted label value"},
        {"a{b} 1\n", OCL_EINVAL, "line 1: expected '=' after label name"},
        {"a{1b=\"x\"} 1\n", OCL_EINVAL, "line 1: invalid label name"},
        {"a{b:c=\"x\"} 1\n", OCL_EINVAL, "line 1: expected '=' after label name"},
        {"1a 1\n", OCL_EINVAL, "line 1: invalid metric name"},
        {"{a=\"b\"} 1\n", OCL_EINVAL, "line 1: sample without a metric name"},
        {"a{\"x\"} 1\n", OCL_EINVAL, "line 1: metric name given twice"},
        {"a{b=\"\xff\"} 1\n", OCL_EUTF8, "line 1: invalid UTF-8 in a quoted string"},
        {"# TYPE a foo\n", OCL_EINVAL, "line 1: invalid metric type \"foo\""},
        {"# TYPE a counter\n# TYPE a gauge\n", OCL_EINVAL, "line 2: second TYPE line for metric a"},
        {"# HELP a x\n# HELP a y\n", OCL_EINVAL, "line 2: second HELP line for metric a"},
        {"# TYPE 1a counter\n", OCL_EINVAL, "line 1: invalid metric name in TYPE"},
        {"a 1\nb 1\nc 1\n", OCL_ETOOBIG, "line 3: sample_limit exceeded (2)"},
        /* a quoted string whose line ends in a backslash is unterminated
         * (the HELP/TYPE forms used to be accepted, cut at the backslash) */
        {"# HELP \"a\\\n", OCL_EINVAL, "line 1: unterminated quoted string"},
        {"# TYPE \"a\\", OCL_EINVAL, "line 1: unterminated quoted string"},
        {"a{b=\"c\\\n", OCL_EINVAL, "line 1: unterminated quoted string"},
    };
    ocl_prom_text_opts_t o = {.default_ts = 1000, .sample_limit = 2};
    for (size_t i = 0; i < OCL_ARRAY_LEN(cases); i++) {
        ocl_arena_t a;
        ocl_arena_init(&a, 4096);
        ocl_prom_batch_t b;
        char err[256];
        int rc = ocl_prom_text_parse(cases[i].in, strlen(cases[i].in), &o, &a, &b, err, sizeof err);
        if (rc != cases[i].rc || strcmp(err, cases[i].err))
            fail_msg("case %zu: %s\nrc %d (want %d) err '%s' want '%s'", i, cases[i].in, rc,
                     cases[i].rc, err, cases[i].err);
        assert_int_equal(b.n_series, 0);
        ocl_arena_dispose(&a);
    }
}

static void test_meta_and_timestamps(void **state)
{
    (void)state;
    const char *text = "# HELP http_requests_total Requests \\\\ served.\\nSecond line.\n"
                       "# TYPE http_requests_total counter\n"
                       "http_requests_total{code=\"200\"} 10 5000\n"
                       "# TYPE lat histogram\n# HELP lat Latency.\n"
                       "lat_bucket{le=\"0.1\"} 1\nlat_bucket{le=\"+Inf\"} 1\nlat_sum 0.05\n"
                       "lat_count 1\n# TYPE u untyped\nu 1\n";
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_prom_batch_t b;
    char err[128];
    ocl_prom_text_opts_t o = {.default_ts = 42};
    assert_int_equal(ocl_prom_text_parse(text, strlen(text), &o, &a, &b, err, sizeof err), 0);
    assert_int_equal(b.n_meta, 3);
    assert_true(ocl_str_eq_c(b.meta[0].family, "http_requests_total"));
    assert_int_equal(b.meta[0].type, OCL_PT_COUNTER);
    assert_true(ocl_str_eq_c(b.meta[0].help, "Requests \\ served.\nSecond line."));
    assert_true(ocl_str_eq_c(b.meta[1].family, "lat"));
    assert_int_equal(b.meta[1].type, OCL_PT_HISTOGRAM);
    assert_true(ocl_str_eq_c(b.meta[1].help, "Latency."));
    assert_int_equal(b.meta[2].type, OCL_PT_UNKNOWN);
    assert_int_equal(b.n_series, 6);
    assert_int_equal(b.series[0].samples[0].t, 5000);
    assert_int_equal(b.series[1].samples[0].t, 42);
    /* Strings without escapes point into the input (zero-copy). */
    ocl_str_t code = ocl_labels_get(&b.series[0].labels, OCL_STR("code"));
    assert_true(code.p > text && code.p < text + strlen(text));
    ocl_arena_reset(&a);
    o.ignore_timestamps = true;
    assert_int_equal(ocl_prom_text_parse(text, strlen(text), &o, &a, &b, err, sizeof err), 0);
    assert_int_equal(b.series[0].samples[0].t, 42);
    ocl_arena_dispose(&a);
}

static void test_limits(void **state)
{
    (void)state;
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_prom_batch_t b;
    char err[128];
    ocl_prom_text_opts_t o = {.label_limit = 2};
    const char *t = "a{b=\"1\"} 1\na{b=\"1\",c=\"2\"} 1\n";
    assert_int_equal(ocl_prom_text_parse(t, strlen(t), &o, &a, &b, err, sizeof err), OCL_EINVAL);
    assert_string_equal(err, "line 2: more than label_limit 2 labels");
    o = (ocl_prom_text_opts_t){.label_name_len = 3, .label_value_len = 4};
    t = "a{abc=\"1234\"} 1\na{abcd=\"1\"} 1\n";
    assert_int_equal(ocl_prom_text_parse(t, strlen(t), &o, &a, &b, err, sizeof err), OCL_EINVAL);
    assert_string_equal(err, "line 2: label name longer than label_name_length_limit 3");
    t = "a{abc=\"12345\"} 1\n";
    assert_int_equal(ocl_prom_text_parse(t, strlen(t), &o, &a, &b, err, sizeof err), OCL_EINVAL);
    assert_string_equal(err, "line 1: label value longer than label_value_length_limit 4");
    o = (ocl_prom_text_opts_t){.max_line = 8};
    t = "a 1\nabcdefgh 1\n";
    assert_int_equal(ocl_prom_text_parse(t, strlen(t), &o, &a, &b, err, sizeof err), OCL_ETOOBIG);
    assert_string_equal(err, "line 2: line longer than 8 bytes");
    /* Many families: the family table grows and still finds every one. */
    ocl_buf_t big;
    ocl_buf_init(&big);
    for (int i = 0; i < 500; i++) {
        char l[128];
        int n = snprintf(l, sizeof l, "# TYPE f%d histogram\nf%d_bucket{le=\"2\"} %d\n", i, i, i);
        ocl_buf_append(&big, l, (size_t)n);
    }
    assert_int_equal(
        ocl_prom_text_parse((const char *)big.p, big.len, NULL, &a, &b, err, sizeof err), 0);
    assert_int_equal(b.n_series, 500);
    assert_int_equal(b.n_meta, 500);
    for (size_t i = 0; i < 500; i++)
        assert_true(ocl_str_eq_c(ocl_labels_get(&b.series[i].labels, OCL_STR("le")), "2.0"));
    ocl_buf_dispose(&big);
    ocl_arena_dispose(&a);
}

static void test_openmetrics(void **state)
{
    (void)state;
    const char *text =
        "# TYPE req counter\n# UNIT req requests\n# HELP req Say \\\"hi\\\".\n"
        "req_total{code=\"200\"} 17 1520879607.789 # {trace_id=\"KOO5S4vxi0o\"} 0.67\n"
        "req_created{code=\"200\"} 1520430000.123\n"
        "# TYPE b info\nb_info{v=\"1\"} 1\n"
        "# TYPE g gaugehistogram\ng_bucket{le=\"1\"} 2 # {a=\"}\"} 1 2\ng_gcount 2\n"
        "# TYPE u unknown\nu 1\n# EOF\n";
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_prom_batch_t b;
    char err[128];
    ocl_prom_text_opts_t o = {.default_ts = 42, .openmetrics = true};
    int rc = ocl_prom_text_parse(text, strlen(text), &o, &a, &b, err, sizeof err);
    if (rc) fail_msg("%s", err);
    assert_int_equal(b.n_meta, 4);
    assert_true(ocl_str_eq_c(b.meta[0].unit, "requests"));
    assert_true(ocl_str_eq_c(b.meta[0].help, "Say \"hi\"."));
    assert_int_equal(b.meta[1].type, OCL_PT_INFO);
    assert_int_equal(b.meta[2].type, OCL_PT_GAUGEHISTOGRAM);
    ocl_buf_t out;
    ocl_buf_init(&out);
    render(&b, &out);
    ocl_buf_putc(&out, 0);
    assert_string_equal((const char *)out.p, "req_total{code=\"200\"} 17.0@1520879607789\n"
                                             "req_created{code=\"200\"} 1.520430000123e+09@42\n"
                                             "b_info{v=\"1\"} 1.0@42\n"
                                             "g_bucket{le=\"1.0\"} 2.0@42\n"
                                             "g_gcount{} 2.0@42\n"
                                             "u{} 1.0@42\n");
    ocl_buf_dispose(&out);
    static const struct {
        const char *in;  /* exposition */
        const char *err; /* expected message */
    } bad[] = {
        {"a 1\n", "line 2: missing # EOF at the end of an OpenMetrics exposition"},
        {"a 1\n# EOF\nb 1\n", "line 3: unexpected content after # EOF"},
        {"# TYPE a untyped\n# EOF\n", "line 1: invalid metric type \"untyped\""},
        {"a 1 # x\n# EOF\n", "line 1: invalid exemplar"},
        {"a 1 # {x=\"1\" 1\n# EOF\n", "line 1: invalid exemplar"},
        {"a 1 NaN\n# EOF\n", "line 1: invalid timestamp \"NaN\""},
        {"# UNIT a s x\n# EOF\n", "line 1: invalid UNIT line"},
    };
    for (size_t i = 0; i < OCL_ARRAY_LEN(bad); i++) {
        rc = ocl_prom_text_parse(bad[i].in, strlen(bad[i].in), &o, &a, &b, err, sizeof err);
        if (rc != OCL_EINVAL || strcmp(err, bad[i].err))
            fail_msg("case %zu: rc %d err '%s' want '%s'", i, rc, err, bad[i].err);
    }
    /* In text 0.0.4, # EOF is a comment and # UNIT is ignored. */
    const char *t4 = "# UNIT a s\na 1\n# EOF\n";
    assert_int_equal(ocl_prom_text_parse(t4, strlen(t4), NULL, &a, &b, err, sizeof err), 0);
    assert_int_equal(b.n_series, 1);
    ocl_arena_dispose(&a);
}

static void test_format_float(void **state)
{
    (void)state;
    static const struct {
        double v;         /* value */
        const char *want; /* Go's FormatFloat 'g' -1 plus ".0" for integers */
    } cases[] = {
        {1, "1.0"},
        {0.25, "0.25"},
        {0, "0.0"},
        {-2, "-2.0"},
        {100000, "100000.0"},
        {1e6, "1e+06"},
        {1234567, "1.234567e+06"},
        {0.0001, "0.0001"},
        {0.00001, "1e-05"},
        {0.1, "0.1"},
        {2.5e-7, "2.5e-07"},
        {INFINITY, "+Inf"},
        {-INFINITY, "-Inf"},
    };
    for (size_t i = 0; i < OCL_ARRAY_LEN(cases); i++) {
        char b[40];
        ocl_prom_format_float(cases[i].v, b, sizeof b);
        assert_string_equal(b, cases[i].want);
    }
    char b[40];
    ocl_prom_format_float(NAN, b, sizeof b);
    assert_string_equal(b, "NaN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_meta_and_timestamps),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_openmetrics),
        cmocka_unit_test(test_format_float),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
