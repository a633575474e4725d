/*
 * test_labels.c — unit tests of label sets and matchers (labels.h): sorting,
 * Prometheus ordering, hashing, lookup, copying, formatting, name charsets,
 * the staleness marker, and matchers of all four kinds (anchoring, '.'
 * matching newlines, empty-value semantics, NUL bytes inside a regex, bad
 * regex messages, concurrent use from several threads).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <time.h>

#include "store/metrics/labels.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>

#define L(n, v) ((ocl_label_t){OCL_STR(n), OCL_STR(v)})

static void test_sort_cmp_hash(void **st)
{
    (void)st;
    ocl_label_t a[] = {L("job", "x"), L("__name__", "up"), L("instance", "h:1")};
    ocl_labels_sort(a, 3);
    assert_true(ocl_str_eq_c(a[0].name, "__name__"));
    assert_true(ocl_str_eq_c(a[2].name, "job"));
    ocl_label_t big[20];
    char names[20][8];
    for (int i = 0; i < 20; i++) {
        snprintf(names[i], sizeof names[i], "l%02d", 19 - i);
        big[i] = (ocl_label_t){ocl_str_c(names[i]), OCL_STR("v")};
    }
    ocl_labels_sort(big, 20); /* qsort path */
    for (int i = 1; i < 20; i++)
        assert_true(strcmp(big[i - 1].name.p, big[i].name.p) < 0);

    ocl_label_t b[] = {L("__name__", "up"), L("instance", "h:1")};
    ocl_labels_t la = {a, 3}, lb = {b, 2};
    assert_true(ocl_labels_cmp(&lb, &la) < 0); /* a prefix sorts first */
    assert_true(ocl_labels_cmp(&la, &lb) > 0);
    assert_int_equal(ocl_labels_cmp(&la, &la), 0);
    assert_true(ocl_labels_equal(&la, &la));
    assert_false(ocl_labels_equal(&la, &lb));
    ocl_label_t c[] = {L("__name__", "up"), L("instance", "h:2")};
    ocl_labels_t lc = {c, 2};
    assert_true(ocl_labels_cmp(&lb, &lc) < 0);
    assert_true(ocl_labels_hash(&lb) != ocl_labels_hash(&lc));
    /* the separator keeps {a="bc"} and {ab="c"} apart */
    ocl_label_t d1[] = {L("a", "bc")}, d2[] = {L("ab", "c")};
    ocl_labels_t l1 = {d1, 1}, l2 = {d2, 1};
    assert_true(ocl_labels_hash(&l1) != ocl_labels_hash(&l2));
    assert_true(ocl_labels_hash(&l1) == ocl_labels_hash(&l1));
}

static void test_get_copy_format(void **st)
{
    (void)st;
    ocl_label_t a[] = {L("__name__", "up"), L("path", "a\"b\\c\n"), L("zone", "eu")};
    ocl_labels_t ls = {a, 3};
    assert_true(ocl_str_eq_c(ocl_labels_get(&ls, OCL_STR("zone")), "eu"));
    assert_int_equal(ocl_labels_get(&ls, OCL_STR("nope")).n, 0);
    ocl_arena_t ar;
    ocl_arena_init(&ar, 1024);
    ocl_labels_t cp = ocl_labels_copy(&ar, &ls);
    assert_true(ocl_labels_equal(&cp, &ls));
    assert_ptr_not_equal(cp.v[0].value.p, a[0].value.p);
    ocl_buf_t b;
    ocl_buf_init(&b);
    ocl_labels_format(&ls, &b);
    assert_int_equal(b.len, strlen("up{path=\"a\\\"b\\\\c\\n\", zone=\"eu\"}"));
    assert_memory_equal(b.p, "up{path=\"a\\\"b\\\\c\\n\", zone=\"eu\"}", b.len);
    ocl_buf_dispose(&b);
    ocl_buf_init(&b);
    ocl_labels_t noname = {a + 2, 1};
    ocl_labels_format(&noname, &b);
    assert_memory_equal(b.p, "{zone=\"eu\"}", b.len);
    ocl_buf_dispose(&b);
    ocl_arena_dispose(&ar);
}

static void test_names_and_stale(void **st)
{
    (void)st;
    assert_true(ocl_metric_name_valid(OCL_STR("a:b_c1")));
    assert_false(ocl_metric_name_valid(OCL_STR("1abc")));
    assert_false(ocl_metric_name_valid(OCL_STR("")));
    assert_true(ocl_label_name_valid(OCL_STR("_x9")));
    assert_false(ocl_label_name_valid(OCL_STR("a:b")));
    double s = ocl_stale_nan();
    assert_true(isnan(s));
    assert_true(ocl_is_stale_nan(s));
    assert_false(ocl_is_stale_nan(NAN));
    assert_false(ocl_is_stale_nan(1.0));
}

static ocl_matcher_t mk(ocl_match_type_t t, const char *v)
{
    ocl_matcher_t m;
    char err[128];
    assert_int_equal(ocl_matcher_init(&m, t, OCL_STR("l"), ocl_str_c(v), err, sizeof err), 0);
    return m;
}

static void test_matchers(void **st)
{
    (void)st;
    ocl_matcher_t m = mk(OCL_MATCH_EQ, "a");
    assert_true(ocl_matcher_match(&m, OCL_STR("a")));
    assert_false(ocl_matcher_match(&m, OCL_STR("ab")));
    assert_false(m.matches_empty);
    m = mk(OCL_MATCH_EQ, "");
    assert_true(m.matches_empty);
    m = mk(OCL_MATCH_NEQ, "");
    assert_false(m.matches_empty);
    assert_true(ocl_matcher_match(&m, OCL_STR("x")));
    m = mk(OCL_MATCH_NEQ, "a");
    assert_true(m.matches_empty);

    m = mk(OCL_MATCH_RE, "a|b");
    assert_true(ocl_matcher_match(&m, OCL_STR("a")));
    assert_false(ocl_matcher_match(&m, OCL_STR("ab"))); /* anchored */
    assert_false(ocl_matcher_match(&m, OCL_STR("xa")));
    assert_false(m.matches_empty);
    ocl_matcher_dispose(&m);
    m = mk(OCL_MATCH_RE, "a.b");
    assert_true(ocl_matcher_match(&m, OCL_STR("a\nb"))); /* (?s) */
    assert_false(ocl_matcher_match(&m, OCL_STR("a\nb\n")));
    ocl_matcher_dispose(&m);
    m = mk(OCL_MATCH_RE, ".*");
    assert_true(m.matches_empty);
    ocl_matcher_dispose(&m);
    m = mk(OCL_MATCH_NRE, ".*");
    assert_false(m.matches_empty);
    assert_false(ocl_matcher_match(&m, OCL_STR("anything")));
    ocl_matcher_dispose(&m);
    m = mk(OCL_MATCH_NRE, "x+");
    assert_true(m.matches_empty);
    assert_true(ocl_matcher_match(&m, OCL_STR("y")));
    assert_false(ocl_matcher_match(&m, OCL_STR("xx")));
    ocl_matcher_dispose(&m);

    /* a NUL byte inside the pattern is part of it (used to truncate it) */
    ocl_matcher_t z;
    char err[128];
    assert_int_equal(
        ocl_matcher_init(&z, OCL_MATCH_RE, OCL_STR("l"), (ocl_str_t){"a\0b", 3}, err, sizeof err),
        0);
    assert_true(ocl_matcher_match(&z, (ocl_str_t){"a\0b", 3}));
    assert_false(ocl_matcher_match(&z, OCL_STR("a")));
    ocl_matcher_dispose(&z);

    /* bad regex */
    assert_int_equal(
        ocl_matcher_init(&z, OCL_MATCH_RE, OCL_STR("l"), OCL_STR("a("), err, sizeof err),
        OCL_EINVAL);
    assert_non_null(strstr(err, "error parsing regexp"));
    assert_int_equal(ocl_matcher_init(&z, OCL_MATCH_RE, OCL_STR("l"), OCL_STR("("), NULL, 0),
                     OCL_EINVAL);

    /* match_labels: absent label = "" */
    ocl_label_t a[] = {L("__name__", "up")};
    ocl_labels_t ls = {a, 1};
    m = mk(OCL_MATCH_EQ, "");
    assert_true(ocl_matcher_match_labels(&m, &ls));
    assert_string_equal(ocl_match_op_str(OCL_MATCH_NRE), "!~");
}

static ocl_matcher_t shared;

/* Anchoring is a compile option, not text around the pattern: a pattern
 * cannot close the group and escape the anchors. */
static void test_matcher_anchoring(void **st)
{
    (void)st;
    ocl_matcher_t m;
    char err[256];
    assert_int_equal(ocl_matcher_init(&m, OCL_MATCH_RE, OCL_STR("a"), OCL_STR("a)|(b"), err,
                                      sizeof err),
                     OCL_EINVAL);
    assert_non_null(strstr(err, "error parsing regexp"));
    assert_int_equal(ocl_matcher_init(&m, OCL_MATCH_RE, OCL_STR("a"), OCL_STR("a|ab"), err,
                                      sizeof err),
                     0);
    assert_true(ocl_matcher_match(&m, OCL_STR("ab")));
    assert_true(ocl_matcher_match(&m, OCL_STR("a")));
    assert_false(ocl_matcher_match(&m, OCL_STR("abc")));
    assert_false(ocl_matcher_match(&m, OCL_STR("xab")));
    ocl_matcher_dispose(&m);
    assert_int_equal(ocl_matcher_init(&m, OCL_MATCH_RE, OCL_STR("a"), OCL_STR("a.b"), err,
                                      sizeof err),
                     0);
    assert_true(ocl_matcher_match(&m, OCL_STR("a\nb")));
    assert_false(ocl_matcher_match(&m, OCL_STR("a\nbb")));
    ocl_matcher_dispose(&m);
    /* '$' is the end of the text as in RE2 (no multi-line mode), not also
     * "before a final newline" as PCRE's default */
    assert_int_equal(ocl_matcher_init(&m, OCL_MATCH_RE, OCL_STR("a"), OCL_STR("a$\n"), err,
                                      sizeof err),
                     0);
    assert_false(ocl_matcher_match(&m, OCL_STR("a\n")));
    ocl_matcher_dispose(&m);
    assert_int_equal(ocl_matcher_init(&m, OCL_MATCH_RE, OCL_STR("a"), OCL_STR("a\n$"), err,
                                      sizeof err),
                     0);
    assert_true(ocl_matcher_match(&m, OCL_STR("a\n")));
    ocl_matcher_dispose(&m);
}

/* A catastrophic pattern is bounded per value (no match), not minutes. */
static void test_matcher_backtracking_bound(void **st)
{
    (void)st;
    ocl_matcher_t m;
    char err[256];
    assert_int_equal(ocl_matcher_init(&m, OCL_MATCH_RE, OCL_STR("a"), OCL_STR("((a|aa)+)+b"), err,
                                      sizeof err),
                     0);
    /* 40 a's then "cb": every split of the a's is tried before failing */
    char v[42];
    memset(v, 'a', 40);
    v[40] = 'c', v[41] = 'b';
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_false(ocl_matcher_match(&m, (ocl_str_t){v, sizeof v}));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(secs < 0.5); /* PCRE2's default bound (10^7 steps) is ~0.1 s per value */
    assert_true(ocl_matcher_limit_take());  /* no answer: flagged for the caller */
    assert_false(ocl_matcher_limit_take()); /* cleared */
    assert_true(ocl_matcher_match(&m, OCL_STR("aaab")));
    assert_false(ocl_matcher_limit_take());
    ocl_matcher_dispose(&m);
    /* !~ does not turn the missing answer into a match */
    assert_int_equal(
        ocl_matcher_init(&m, OCL_MATCH_NRE, OCL_STR("a"), OCL_STR("((a|aa)+)+b"), err, sizeof err),
        0);
    assert_false(ocl_matcher_match(&m, (ocl_str_t){v, sizeof v}));
    assert_true(ocl_matcher_limit_take());
    assert_true(ocl_matcher_match(&m, OCL_STR("aaac")));
    ocl_matcher_dispose(&m);
}

static void *thr(void *arg)
{
    int *bad = arg;
    for (int i = 0; i < 20000; i++) {
        if (!ocl_matcher_match(&shared, OCL_STR("prod-1"))) (*bad)++;
        if (ocl_matcher_match(&shared, OCL_STR("dev-1"))) (*bad)++;
    }
    return NULL;
}

static void test_matcher_threads(void **st)
{
    (void)st;
    shared = mk(OCL_MATCH_RE, "prod-[0-9]+");
    pthread_t t[4];
    int bad[4] = {0};
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, thr, &bad[i]);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++)
        assert_int_equal(bad[i], 0);
    ocl_matcher_dispose(&shared);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sort_cmp_hash),   cmocka_unit_test(test_get_copy_format),
        cmocka_unit_test(test_names_and_stale), cmocka_unit_test(test_matchers),
        cmocka_unit_test(test_matcher_threads), cmocka_unit_test(test_matcher_anchoring),
        cmocka_unit_test(test_matcher_backtracking_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
