/*
 * test_core.c — arena, buffer, UTF-8 validation and string helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/core.h"

static void test_arena_alignment_and_reuse(void **state)
{
    (void)state;
    ocl_arena_t a;
    ocl_arena_init(&a, 1024);
    for (int i = 1; i < 100; i++) {
        void *p = ocl_arena_alloc(&a, (size_t)i);
        assert_int_equal((uintptr_t)p % 8, 0);
        memset(p, 0xab, (size_t)i);
    }
    /* A big allocation gets its own block and does not break small ones. */
    unsigned char *big = ocl_arena_alloc(&a, 100000);
    memset(big, 1, 100000);
    unsigned char *small = ocl_arena_calloc(&a, 16);
    for (int i = 0; i < 16; i++)
        assert_int_equal(small[i], 0);
    assert_true(a.total >= 100000);
    ocl_arena_reset(&a);
    assert_int_equal(a.total, 0);
    void *p = ocl_arena_alloc(&a, 8);
    assert_non_null(p);
    ocl_arena_dispose(&a);
}

static void test_arena_realloc_in_place(void **state)
{
    (void)state;
    ocl_arena_t a;
    ocl_arena_init(&a, 4096);
    char *p = ocl_arena_alloc(&a, 16);
    memcpy(p, "0123456789abcdef", 16);
    char *q = ocl_arena_realloc(&a, p, 16, 64);
    assert_ptr_equal(p, q); /* last allocation grows in place */
    assert_memory_equal(q, "0123456789abcdef", 16);
    char *r = ocl_arena_alloc(&a, 8);
    char *s = ocl_arena_realloc(&a, q, 64, 128); /* no longer last: copied */
    assert_ptr_not_equal(s, q);
    assert_memory_equal(s, "0123456789abcdef", 16);
    (void)r;
    char *d = ocl_arena_strndup(&a, "hello", 3);
    assert_string_equal(d, "hel");
    ocl_arena_dispose(&a);
}

static void test_buf(void **state)
{
    (void)state;
    ocl_buf_t b;
    ocl_buf_init(&b);
    for (int i = 0; i < 1000; i++)
        ocl_buf_putc(&b, (char)('a' + i % 26));
    assert_int_equal(b.len, 1000);
    ocl_buf_printf(&b, "%d-%s", 42, "x");
    assert_memory_equal(b.p + 1000, "42-x", 4);
    char longs[600];
    memset(longs, 'z', sizeof longs - 1);
    longs[599] = 0;
    ocl_buf_printf(&b, "%s", longs); /* longer than the stack buffer */
    assert_int_equal(b.len, 1004 + 599);
    size_t n;
    unsigned char *p = ocl_buf_steal(&b, &n);
    assert_int_equal(n, 1603);
    assert_null(b.p);
    free(p);
}

static void test_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t n;
        int ok;
    } cases[] = {
        {"plain ascii text that is longer than eight bytes", 48, 1},
        {"caf\xc3\xa9", 5, 1},
        {"\xe2\x82\xac", 3, 1},     /* euro sign */
        {"\xf0\x9f\x98\x80", 4, 1}, /* emoji */
        {"\xf4\x8f\xbf\xbf", 4, 1}, /* U+10FFFF */
        {"\xc3", 1, 0},             /* truncated */
        {"\xc0\xaf", 2, 0},         /* overlong */
        {"\xe0\x80\xaf", 3, 0},     /* overlong 3-byte */
        {"\xed\xa0\x80", 3, 0},     /* surrogate */
        {"\xf4\x90\x80\x80", 4, 0}, /* > U+10FFFF */
        {"\xff", 1, 0},
        {"a\xc3(", 3, 0},       /* bad continuation */
        {"12345678\x80", 9, 0}, /* after the 8-byte fast path */
        {"", 0, 1},
    };
    for (size_t i = 0; i < OCL_ARRAY_LEN(cases); i++)
        assert_int_equal(ocl_utf8_valid(cases[i].s, cases[i].n), cases[i].ok);
}

static void test_str(void **state)
{
    (void)state;
    assert_true(ocl_str_ieq_c(OCL_STR("Content-Type"), "content-type"));
    assert_false(ocl_str_ieq_c(OCL_STR("Content-Typ"), "content-type"));
    assert_true(ocl_str_eq_c(OCL_STR("abc"), "abc"));
    assert_false(ocl_str_eq(OCL_STR("abc"), OCL_STR("abd")));
    assert_true(ocl_str_eq(OCL_STR_NULL, OCL_STR("")));
    assert_string_equal(ocl_strerror(OCL_ETOOBIG), "exceeds size limit");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_alignment_and_reuse),
        cmocka_unit_test(test_arena_realloc_in_place),
        cmocka_unit_test(test_buf),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_str),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
