/*
 * test_prom_api_fmt.c — Prometheus API parameter parsing and number/string
 * rendering (api/prom_fmt.c). Expected strings are what Prometheus (Go's
 * strconv, encoding/json and util/jsonutil) prints for the same inputs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <cmocka.h>

#include "api/prom_fmt.h"

static void test_values(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *prom; /* jsonutil.MarshalFloat (vector/matrix points) */
        const char *f;    /* strconv.FormatFloat(v, 'f', -1, 64) (scalars) */
    } cases[] = {
        {0.1, "0.1", "0.1"},
        {1.0 / 3, "0.3333333333333333", "0.3333333333333333"},
        {2.0 / 3, "0.6666666666666666", "0.6666666666666666"},
        {-0.0, "-0", "-0"},
        {0, "0", "0"},
        {1, "1", "1"},
        {-1.5, "-1.5", "-1.5"},
        {100, "100", "100"},
        {1e21, "1e+21", "1000000000000000000000"},
        {9.99e20, "999000000000000000000", "999000000000000000000"},
        {1e-7, "1e-07", "0.0000001"},
        {1e-6, "0.000001", "0.000001"},
        {0.000001234, "0.000001234", "0.000001234"},
        {-2.5e-9, "-2.5e-09", "-0.0000000025"},
        {1e300, "1e+300", NULL},
        {123456789012345678.0, "123456789012345680", "123456789012345680"},
        {1e15, "1000000000000000", "1000000000000000"},
        {1234567.875, "1234567.875", "1234567.875"},
        {0.30000000000000004, "0.30000000000000004", "0.30000000000000004"},
        {5e-324, "5e-324", NULL},
        {1.7976931348623157e308, "1.7976931348623157e+308", NULL},
        {NAN, "NaN", "NaN"},
        {INFINITY, "+Inf", "+Inf"},
        {-INFINITY, "-Inf", "-Inf"},
    };
    char buf[400];
    for (size_t i = 0; i < OCL_ARRAY_LEN(cases); i++) {
        size_t n = ocl_prom_fmt_value(cases[i].v, buf);
        buf[n] = 0;
        assert_string_equal(buf, cases[i].prom);
        if (cases[i].f) {
            n = ocl_prom_fmt_float(cases[i].v, 'f', buf);
            buf[n] = 0;
            assert_string_equal(buf, cases[i].f);
        }
    }
    /* 'f' of the smallest denormal: "0." then 323 zeros then "5". */
    size_t n = ocl_prom_fmt_float(5e-324, 'f', buf);
    assert_int_equal(n, 2 + 323 + 1);
    assert_int_equal(buf[n - 1], '5');
    assert_int_equal(buf[n - 2], '0');
    /* 'f' of the largest double: 309 digits. */
    n = ocl_prom_fmt_float(1.7976931348623157e308, 'f', buf);
    assert_int_equal(n, 309);
    assert_memory_equal(buf, "17976931348623157000", 20);
}

/* Reference: shortest round-trip digits by trying every precision. */
static void ref_e(double v, char *out)
{
    char t[64];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(t, sizeof t, "%.*e", prec - 1, v);
        if (strtod(t, NULL) == v) break;
    }
    /* Go's 'e' form: mantissa without trailing zeros, exponent >= 2 digits */
    char *e = strchr(t, 'e');
    int ex = atoi(e + 1);
    *e = 0;
    snprintf(out, 96, "%.40se%c%02d", t, ex < 0 ? '-' : '+', ex < 0 ? -ex : ex);
}

static void test_values_random(void **state)
{
    (void)state;
    srand(42);
    char got[400], want[96];
    for (int i = 0; i < 200000; i++) {
        double v;
        switch (i % 4) {
        case 0:
            v = (double)rand() / (double)(1 + rand() % 1000000);
            break; /* few decimals */
        case 1:
            v = (double)(rand() % 100000) / 1000.0;
            break; /* ms-like */
        case 2:
            v = ldexp((double)rand(), rand() % 200 - 100);
            break; /* any magnitude */
        default:
            v = (double)rand() * (double)rand() / 7.0;
            break;
        }
        if (v == 0) continue;
        size_t n = ocl_prom_fmt_float(v, 'e', got);
        got[n] = 0;
        ref_e(v, want);
        if (strcmp(got, want) != 0) fail_msg("%.17g: got %s, want %s", v, got, want);
        /* and the 'f' form reads back exactly */
        n = ocl_prom_fmt_float(v, 'f', got);
        got[n] = 0;
        assert_true(strtod(got, NULL) == v);
    }
}

static void test_timestamps(void **state)
{
    (void)state;
    static const struct {
        int64_t ms;
        const char *ts;   /* jsonutil.MarshalTimestamp */
        const char *json; /* encoding/json of float64(ms)/1000 */
    } cases[] = {
        {1435781451781, "1435781451.781", "1435781451.781"},
        {1435781451780, "1435781451.780", "1435781451.78"},
        {1500, "1.500", "1.5"},
        {1000, "1", "1"},
        {-1500, "-1.500", "-1.5"},
        {0, "0", "0"},
        {5, "0.005", "0.005"},
        {-5, "-0.005", "-0.005"},
        {1, "0.001", "0.001"},
    };
    char buf[64];
    for (size_t i = 0; i < OCL_ARRAY_LEN(cases); i++) {
        size_t n = ocl_prom_fmt_ts(cases[i].ms, buf);
        buf[n] = 0;
        assert_string_equal(buf, cases[i].ts);
        n = ocl_prom_fmt_json_ts(cases[i].ms, buf);
        buf[n] = 0;
        assert_string_equal(buf, cases[i].json);
    }
}

static void test_parse_time(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int64_t ms;
    } ok[] = {
        {"1435781451.781", 1435781451781},
        {"1435781451", 1435781451000},
        {"1.5", 1500},
        {"-1.5", -1500},
        {"1e3", 1000000},
        {".5", 500},
        {"0.0004", 0},
        {"2015-07-01T20:10:51.781Z", 1435781451781},
        {"2015-07-01T22:10:51.781+02:00", 1435781451781},
        {"2015-07-01T20:10:51Z", 1435781451000},
        {"2015-07-01T20:10:51.781999999999Z", 1435781451781},
        {"1970-01-01T00:00:00Z", 0},
        {"1969-12-31T23:59:59.5Z", -500},
        {"2024-02-29T00:00:00Z", 1709164800000},
        {"-292273086-05-16T16:47:06Z", OCL_PROM_MIN_TIME_MS},
        {"292277025-08-18T07:12:54.999999999Z", OCL_PROM_MAX_TIME_MS},
    };
    char err[256];
    for (size_t i = 0; i < OCL_ARRAY_LEN(ok); i++) {
        int64_t ms = 42;
        assert_int_equal(ocl_prom_parse_time(ocl_str_c(ok[i].in), &ms, err, sizeof err), 0);
        assert_int_equal(ms, ok[i].ms);
    }
    static const char *const bad[] = {"x",
                                      "",
                                      "0x10",
                                      "1_000",
                                      "2015-02-30T00:00:00Z",
                                      "2015-07-01 20:10:51Z",
                                      "2015-07-01T20:10:51",
                                      "2015-07-01T24:00:00Z",
                                      "2015-07-01T20:10:51.Z",
                                      "1e400",
                                      "NaN"};
    for (size_t i = 0; i < OCL_ARRAY_LEN(bad); i++) {
        int64_t ms;
        assert_int_equal(ocl_prom_parse_time(ocl_str_c(bad[i]), &ms, err, sizeof err), OCL_EINVAL);
    }
    int64_t ms;
    ocl_prom_parse_time(OCL_STR("x\"y"), &ms, err, sizeof err);
    assert_string_equal(err, "cannot parse \"x\\\"y\" to a valid timestamp");
}

static void test_parse_duration(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int64_t ns;
    } ok[] = {
        {"15s", 15000000000LL},      {"1m30s", 90000000000LL},
        {"1.5", 1500000000LL},       {"0", 0},
        {"-1", -1000000000LL},       {"500ms", 500000000LL},
        {"1d", 86400000000000LL},    {"1w", 604800000000000LL},
        {"1y", 31536000000000000LL}, {"2h30m", 9000000000000LL},
        {"0.001", 1000000LL},        {"1h0m0s", 3600000000000LL},
    };
    char err[256];
    for (size_t i = 0; i < OCL_ARRAY_LEN(ok); i++) {
        int64_t ns = 42;
        assert_int_equal(ocl_prom_parse_duration(ocl_str_c(ok[i].in), &ns, err, sizeof err), 0);
        assert_int_equal(ns, ok[i].ns);
    }
    static const char *const bad[] = {"", "x", "1h1h", "30s1m", "1.5m", "5 s", "-5s", "1q", "s"};
    for (size_t i = 0; i < OCL_ARRAY_LEN(bad); i++) {
        int64_t ns;
        assert_int_equal(ocl_prom_parse_duration(ocl_str_c(bad[i]), &ns, err, sizeof err),
                         OCL_EINVAL);
    }
    int64_t ns;
    ocl_prom_parse_duration(OCL_STR("x"), &ns, err, sizeof err);
    assert_string_equal(err, "cannot parse \"x\" to a valid duration");
    ocl_prom_parse_duration(OCL_STR("1e100"), &ns, err, sizeof err);
    assert_string_equal(err, "cannot parse \"1e100\" to a valid duration. It overflows int64");
}

static void test_parse_int(void **state)
{
    (void)state;
    int64_t v;
    char err[256];
    assert_int_equal(ocl_prom_parse_int(OCL_STR("10"), &v, err, sizeof err), 0);
    assert_int_equal(v, 10);
    assert_int_equal(ocl_prom_parse_int(OCL_STR("-3"), &v, err, sizeof err), 0);
    assert_int_equal(v, -3);
    assert_int_equal(ocl_prom_parse_int(OCL_STR("+7"), &v, err, sizeof err), 0);
    assert_int_equal(v, 7);
    assert_int_equal(ocl_prom_parse_int(OCL_STR("x"), &v, err, sizeof err), OCL_EINVAL);
    assert_string_equal(err, "strconv.Atoi: parsing \"x\": invalid syntax");
    assert_int_equal(ocl_prom_parse_int(OCL_STR(""), &v, err, sizeof err), OCL_EINVAL);
    assert_int_equal(ocl_prom_parse_int(OCL_STR("1.5"), &v, err, sizeof err), OCL_EINVAL);
    assert_int_equal(ocl_prom_parse_int(OCL_STR("99999999999999999999"), &v, err, sizeof err),
                     OCL_EINVAL);
    assert_string_equal(err, "strconv.Atoi: parsing \"99999999999999999999\": value out of range");
    assert_int_equal(ocl_prom_parse_int(OCL_STR("-9223372036854775808"), &v, err, sizeof err), 0);
    assert_true(v == INT64_MIN);
}

static void test_form(void **state)
{
    (void)state;
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    ocl_form_t f = {0};
    char err[128] = "";
    const char *body = "query=up%7Bjob%3D%22a%22%7D&match[]=a&&match%5B%5D=b+c&time=&novalue";
    assert_int_equal(ocl_form_parse(&f, &a, body, strlen(body), err, sizeof err), 0);
    bool found;
    ocl_str_t q = ocl_form_get(&f, "query", &found);
    assert_true(found);
    assert_true(ocl_str_eq_c(q, "up{job=\"a\"}"));
    ocl_str_t all[4];
    assert_int_equal(ocl_form_all(&f, "match[]", all, 4), 2);
    assert_true(ocl_str_eq_c(all[0], "a"));
    assert_true(ocl_str_eq_c(all[1], "b c"));
    ocl_form_get(&f, "time", &found);
    assert_true(found);
    ocl_form_get(&f, "novalue", &found);
    assert_true(found);
    ocl_form_get(&f, "start", &found);
    assert_false(found);
    /* A bad escape: Go skips that pair and reports the first error. */
    ocl_form_t g = {0};
    const char *bad = "a=%zz&b=1&c=%4";
    assert_int_equal(ocl_form_parse(&g, &a, bad, strlen(bad), err, sizeof err), OCL_EINVAL);
    assert_string_equal(err, "invalid URL escape \"%zz\"");
    assert_int_equal(g.n, 1);
    assert_true(ocl_str_eq_c(ocl_form_get(&g, "b", NULL), "1"));
    ocl_str_t p;
    assert_int_equal(ocl_url_path_unescape(&a, OCL_STR("a%2Fb+c"), &p), 0);
    assert_true(ocl_str_eq_c(p, "a/b+c"));
    /* A body of OCL_FORM_MAX_FIELDS + 1 tiny fields ("a&a&...") is refused
     * instead of costing ~25x its size in arena (it used to be parsed
     * whole: a 20 MiB body took ~1 GB). The limit counts across calls. */
    ocl_form_t h = {0};
    size_t nb = 2 * ((size_t)OCL_FORM_MAX_FIELDS + 1);
    char *many = malloc(nb);
    for (size_t i = 0; i < nb; i += 2)
        many[i] = 'a', many[i + 1] = '&';
    assert_int_equal(ocl_form_parse(&h, &a, many, nb - 2, err, sizeof err), 0);
    assert_int_equal(h.n, OCL_FORM_MAX_FIELDS);
    assert_int_equal(ocl_form_parse(&h, &a, "b=1", 3, err, sizeof err), OCL_ETOOBIG);
    assert_string_equal(err, "too many form fields (over 100000)");
    ocl_form_t h2 = {0};
    assert_int_equal(ocl_form_parse(&h2, &a, many, nb, err, sizeof err), OCL_ETOOBIG);
    assert_int_equal(h2.n, OCL_FORM_MAX_FIELDS);
    free(many);
    ocl_arena_dispose(&a);
}

/* /api/v1/label/<name>/values: "U__" names are value-encoding escaped
 * (model.UnescapeName); Grafana sends UTF-8 label names that way. They
 * used to be looked up literally (no values). */
static void test_unescape_label_name(void **state)
{
    (void)state;
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"job", "job"},
        {"U__http_2e_method", "http.method"},
        {"U__a__b", "a_b"},
        {"U___1F600_", "\xf0\x9f\x98\x80"},
        {"U___e9_t_E9_", "\xc3\xa9t\xc3\xa9"},
        {"U__", ""},
        /* malformed: unchanged */
        {"U__a_", "U__a_"},
        {"U__a_2e", "U__a_2e"},
        {"U__a_xy_", "U__a_xy_"},
        {"U___d800_", "U___d800_"},
        {"U___110000_", "U___110000_"},
        {"U___010ffff_", "U___010ffff_"},
        {"u__a_2e_b", "u__a_2e_b"},
    };
    for (size_t i = 0; i < OCL_ARRAY_LEN(cases); i++) {
        ocl_str_t got = ocl_prom_unescape_label_name(&a, ocl_str_c(cases[i].in));
        if (!ocl_str_eq_c(got, cases[i].out))
            fail_msg("case %zu: %s → '%.*s', want '%s'", i, cases[i].in, (int)got.n, got.p,
                     cases[i].out);
    }
    ocl_arena_dispose(&a);
}

static void test_json(void **state)
{
    (void)state;
    ocl_buf_t b;
    ocl_buf_init(&b);
    ocl_prom_json_str(&b, OCL_STR("a<b>&\"\\\n\x01\xc3\xa9\xff\xe2\x80\xa8z"));
    ocl_buf_putc(&b, 0);
    assert_string_equal((char *)b.p,
                        "\"a\\u003cb\\u003e\\u0026\\\"\\\\\\n\\u0001\xc3\xa9\\ufffd\\u2028z\"");
    b.len = 0;
    assert_int_equal(
        ocl_prom_write_error(&b, OCL_PROM_ERR_BAD_DATA, "no match[] parameter provided"), 400);
    ocl_buf_putc(&b, 0);
    assert_string_equal((char *)b.p, "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":"
                                     "\"no match[] parameter provided\"}");
    assert_int_equal(ocl_prom_errtype_status(OCL_PROM_ERR_EXECUTION), 422);
    assert_int_equal(ocl_prom_errtype_status(OCL_PROM_ERR_TIMEOUT), 503);
    b.len = 0;
    char *w[] = {"PromQL warning: x"};
    ocl_prom_ok_begin(&b);
    ocl_buf_puts(&b, "[]");
    ocl_prom_ok_end(&b, w, 1, NULL, 0);
    ocl_buf_putc(&b, 0);
    assert_string_equal(
        (char *)b.p, "{\"status\":\"success\",\"data\":[],\"warnings\":[\"PromQL warning: x\"]}");
    ocl_buf_dispose(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),         cmocka_unit_test(test_values_random),
        cmocka_unit_test(test_timestamps),     cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_parse_duration), cmocka_unit_test(test_parse_int),
        cmocka_unit_test(test_form),           cmocka_unit_test(test_json),
        cmocka_unit_test(test_unescape_label_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
