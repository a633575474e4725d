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

/* Jobs in the pool hold their request (body up to 20 MiB) until answered;
 * their bytes are bounded by PA_MAX_HELD_BYTES (1,044 big POSTs used to pin
 * ~40 GB). The first request is always taken, whatever its size. */
static void test_held_bytes(void **state)
{
    (void)state;
    ocl_prom_api_t pa;
    memset(&pa, 0, sizeof pa);
    ocl_http_req_t big = {.body_len = 20u << 20}, huge = {.body_len = PA_MAX_HELD_BYTES + 1};
    pa_req_t r[16];
    memset(r, 0, sizeof r);
    size_t taken = 0;
    for (size_t i = 0; i < 16; i++) {
        r[i].pa = &pa;
        r[i].req = &big;
        if (hold_bytes(&r[i])) taken++;
    }
    assert_int_equal(taken, PA_MAX_HELD_BYTES / (20u << 20)); /* 12 of 16 */
    assert_int_equal(pa.held_bytes, taken * (20u << 20));
    for (size_t i = 0; i < taken; i++)
        pa_release_bytes(&r[i]);
    assert_int_equal(pa.held_bytes, 0);
    pa_req_t h = {.pa = &pa, .req = &huge};
    assert_true(hold_bytes(&h)); /* alone: taken */
    assert_false(hold_bytes(&r[0]));
    pa_release_bytes(&h);
    assert_int_equal(pa.held_bytes, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timeout_huge),
        cmocka_unit_test(test_held_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
