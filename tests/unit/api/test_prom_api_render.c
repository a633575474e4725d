/*
 * test_prom_api_render.c — the JSON of query answers (api/prom_query.c's
 * render): vector, matrix, scalar and string shapes byte for byte as
 * Prometheus writes them, label escaping, limit truncation with its
 * warning, and the engine's warnings/infos.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <cmocka.h>

#include "../../../src/api/prom_query.c"

static pa_req_t req;

static const char *rendered(const ocl_pql_result_t *res, int64_t limit)
{
    ocl_buf_dispose(&req.job.body);
    ocl_buf_init(&req.job.body);
    req.limit = limit;
    render(&req, res);
    assert_int_equal(req.job.status, 200);
    ocl_buf_putc(&req.job.body, 0);
    return (const char *)req.job.body.p;
}

static void test_shapes(void **state)
{
    (void)state;
    ocl_pql_result_t res;
    memset(&res, 0, sizeof res);
    ocl_label_t l1[] = {{OCL_STR("__name__"), OCL_STR("up")},
                        {OCL_STR("job"), OCL_STR("a<b&\"c\"")}};
    ocl_label_t l2[] = {{OCL_STR("__name__"), OCL_STR("up")}, {OCL_STR("job"), OCL_STR("z")}};
    ocl_pql_point_t p1[] = {{1435781451781, 1}}, p2[] = {{1500, 1e-7}};
    ocl_pql_series_t vs[] = {{{l1, 2}, p1, 1}, {{l2, 2}, p2, 1}};
    res.type = OCL_PQL_VECTOR;
    res.series = vs;
    res.n_series = 2;
    assert_string_equal(
        rendered(&res, 0),
        "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
        "{\"metric\":{\"__name__\":\"up\",\"job\":\"a\\u003cb\\u0026\\\"c\\\"\"},"
        "\"value\":[1435781451.781,\"1\"]},"
        "{\"metric\":{\"__name__\":\"up\",\"job\":\"z\"},\"value\":[1.500,\"1e-07\"]}]}}");
    /* limit: first series only, with the truncation warning after the
     * engine's warnings; infos last */
    char *warn[] = {"PromQL warning: w"}, *info[] = {"PromQL info: i"};
    res.warnings = warn, res.n_warnings = 1;
    res.infos = info, res.n_infos = 1;
    assert_string_equal(rendered(&res, 1),
                        "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
                        "{\"metric\":{\"__name__\":\"up\",\"job\":\"a\\u003cb\\u0026\\\"c\\\"\"},"
                        "\"value\":[1435781451.781,\"1\"]}]},"
                        "\"warnings\":[\"PromQL warning: w\",\"results truncated due to limit\"],"
                        "\"infos\":[\"PromQL info: i\"]}");
    res.n_warnings = res.n_infos = 0;
    /* matrix */
    ocl_pql_point_t pm[] = {{0, NAN}, {300, INFINITY}, {-1000, -0.0}};
    ocl_pql_series_t ms[] = {{{NULL, 0}, pm, 3}};
    res.type = OCL_PQL_MATRIX;
    res.series = ms;
    res.n_series = 1;
    assert_string_equal(rendered(&res, 5),
                        "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
                        "{\"metric\":{},\"values\":[[0,\"NaN\"],[0.300,\"+Inf\"],[-1,\"-0\"]]}]}}");
    res.n_series = 0;
    assert_string_equal(
        rendered(&res, 0),
        "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[]}}");
    /* scalar and string */
    res.type = OCL_PQL_SCALAR;
    res.t = 1435781451780;
    res.scalar = 1e21;
    assert_string_equal(rendered(&res, 0),
                        "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":"
                        "[1435781451.78,\"1000000000000000000000\"]}}");
    res.type = OCL_PQL_STRING;
    res.t = 1500;
    res.string = OCL_STR("a\nb");
    assert_string_equal(rendered(&res, 0),
                        "{\"status\":\"success\",\"data\":{\"resultType\":\"string\",\"result\":"
                        "[1.5,\"a\\nb\"]}}");
    ocl_buf_dispose(&req.job.body);
}

static void test_errors(void **state)
{
    (void)state;
    ocl_buf_init(&req.job.body);
    req.job.queue_timeout = true;
    pa_run(&req.job);
    assert_int_equal(req.job.status, 503);
    ocl_buf_putc(&req.job.body, 0);
    assert_string_equal((char *)req.job.body.p, "{\"status\":\"error\",\"errorType\":\"timeout\","
                                                "\"error\":\"query timed out in query queue\"}");
    ocl_buf_dispose(&req.job.body);
    req.job.queue_timeout = false;
}

/* A series/labels request whose deadline passed while it worked through a
 * huge match[] list stops with a timeout instead of running on past it
 * (it used to parse and look up every match[] whatever the time). */
static void test_match_deadline(void **state)
{
    (void)state;
    pa_req_t r;
    memset(&r, 0, sizeof r);
    ocl_prom_api_t pa;
    memset(&pa, 0, sizeof pa);
    r.pa = &pa;
    ocl_str_t m[3] = {OCL_STR("up"), OCL_STR("{a=\"b\"}"), OCL_STR("x")};
    r.match = m;
    r.n_match = 3;
    r.deadline_ns = (int64_t)ocl_mono_nano() - 1;
    for (int ep = PA_EP_SERIES; ep <= PA_EP_LABEL_VALUES; ep++) {
        r.ep = ep;
        ocl_buf_init(&r.job.body);
        pa_run(&r.job);
        assert_int_equal(r.job.status, 503);
        ocl_buf_putc(&r.job.body, 0);
        assert_string_equal((char *)r.job.body.p, "{\"status\":\"error\",\"errorType\":\"timeout\","
                                                  "\"error\":\"context deadline exceeded\"}");
        ocl_buf_dispose(&r.job.body);
    }
    /* with time left the same request succeeds (no data: empty lists) */
    r.deadline_ns = (int64_t)ocl_mono_nano() + 60 * 1000000000LL;
    r.ep = PA_EP_SERIES;
    ocl_buf_init(&r.job.body);
    pa_run(&r.job);
    assert_int_equal(r.job.status, 200);
    ocl_buf_putc(&r.job.body, 0);
    assert_string_equal((char *)r.job.body.p, "{\"status\":\"success\",\"data\":[]}");
    ocl_buf_dispose(&r.job.body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_shapes),
                                       cmocka_unit_test(test_errors),
                                       cmocka_unit_test(test_match_deadline)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
