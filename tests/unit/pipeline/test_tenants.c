/*
 * test_tenants.c — tenant id rules and per-tenant stores on disk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "pipeline/tenants.h"

static void test_ids(void **state)
{
    (void)state;
    static const struct {
        const char *id;
        int ok;
    } cases[] = {
        {"", 1},    {"team-a", 1}, {"A_b.c*d'e(f)g!", 1}, {"1234567890", 1}, {".", 0},   {"..", 0},
        {"a/b", 0}, {"a b", 0},    {"tab\t", 0},          {"é", 0},          {"a|b", 0},
    };
    for (size_t i = 0; i < OCL_ARRAY_LEN(cases); i++)
        assert_int_equal(ocl_tenant_id_valid(ocl_str_c(cases[i].id)), cases[i].ok);
    char longid[OCL_TENANT_MAX_LEN + 2];
    memset(longid, 'x', sizeof longid);
    longid[OCL_TENANT_MAX_LEN] = 0;
    assert_true(ocl_tenant_id_valid(ocl_str_c(longid)));
    longid[OCL_TENANT_MAX_LEN] = 'x';
    longid[OCL_TENANT_MAX_LEN + 1] = 0;
    assert_false(ocl_tenant_id_valid(ocl_str_c(longid)));
    /* An embedded NUL is not a valid character. */
    assert_false(ocl_tenant_id_valid((ocl_str_t){"a\0b", 3}));
}

static void test_stores(void **state)
{
    (void)state;
    char dir[] = "/tmp/ocl_tenants_XXXXXX";
    assert_non_null(mkdtemp(dir));
    ocl_tracestore_cfg_t tmpl = {0};
    ocl_tenants_t *t;
    assert_int_equal(ocl_tenants_open(dir, &tmpl, &t), 0);
    assert_int_equal(ocl_tenants_count(t), 1);
    ocl_tracestore_t *def, *a, *b, *x;
    assert_int_equal(ocl_tenants_get(t, OCL_STR(""), 0, &def), 0);
    assert_non_null(def);
    assert_int_equal(ocl_tenants_get(t, OCL_STR("team-a"), 0, &a), OCL_ENOTFOUND);
    assert_int_equal(ocl_tenants_get(t, OCL_STR("team-a"), 1, &a), 0);
    assert_ptr_not_equal(a, def);
    assert_int_equal(ocl_tenants_get(t, OCL_STR("team-a"), 1, &b), 0);
    assert_ptr_equal(a, b);
    assert_int_equal(ocl_tenants_get(t, OCL_STR("../x"), 1, &x), OCL_EINVAL);
    assert_int_equal(ocl_tenants_get(t, OCL_STR(".hidden"), 1, &x), 0); /* valid id */
    assert_int_equal(ocl_tenants_count(t), 3);
    ocl_tenants_close(t);

    char path[256];
    struct stat sb;
    snprintf(path, sizeof path, "%s/tenants/team-a/traces", dir);
    assert_int_equal(stat(path, &sb), 0);
    /* Reopen: the tenant found on disk is there without being created. */
    assert_int_equal(ocl_tenants_open(dir, &tmpl, &t), 0);
    assert_int_equal(ocl_tenants_count(t), 3);
    assert_int_equal(ocl_tenants_get(t, OCL_STR("team-a"), 0, &a), 0);
    assert_int_equal(ocl_tenants_get(t, OCL_STR(".hidden"), 0, &a), 0); /* found on disk again */
    ocl_tenants_close(t);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_stores),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
