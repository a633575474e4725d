/*
 * test_prom_api_params.c — request parameter handling of the Prometheus
 * API that lives in prom_api.c (static helpers, hence the #include):
 * regressions found in review.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "../../../src/api/prom_api.c"

/* A request whose form is `qs`, with the default engine limits. */
static void mkreq(pa_req_t *r, ocl_prom_api_t *pa, const char *qs)
{
    memset(r, 0, sizeof *r);
    memset(pa, 0, sizeof *pa);
    pa->cfg.query_timeout_ms = 120000;
    r->pa = pa;
    ocl_arena_init(&r->arena, 4096);
    char err[128];
    assert_int_equal(ocl_form_parse(&r->form, &r->arena, qs, strlen(qs), err, sizeof err), 0);
}

/* timeout= as a float just below 2^63 ns used to overflow (ns + 999999)
 * into a negative limit, so the query timed out at once (and UBSan
 * reported signed overflow); it must leave the engine limit in place. */
static void test_timeout_huge(void **state)
{
    (void)state;
    pa_req_t r;
    ocl_prom_api_t pa;
    int64_t tmo = 0;
    mkreq(&r, &pa, "timeout=9223372036.854775");
    assert_int_equal(timeout_param(&r, &tmo), 0);
    assert_int_equal(tmo, 120000);
    ocl_arena_dispose(&r.arena);

    /* and rounding up still works: 1.0000001 s → 1001 ms, 2 ms → 2 ms */
    mkreq(&r, &pa, "timeout=1.0000001");
    assert_int_equal(timeout_param(&r, &tmo), 0);
    assert_int_equal(tmo, 1001);
    ocl_arena_dispose(&r.arena);
    mkreq(&r, &pa, "timeout=2ms");
    assert_int_equal(timeout_param(&r, &tmo), 0);
    assert_int_equal(tmo, 2);
    ocl_arena_dispose(&r.arena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timeout_huge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
