/*
 * tsdb_test_util.h — helpers shared by the TSDB unit tests: label sets from
 * "name=value" argument lists, one-series appends, matcher construction,
 * and a temporary directory that is removed recursively afterwards.
 */
#ifndef OCL_TSDB_TEST_UTIL_H
#define OCL_TSDB_TEST_UTIL_H

#include "store/metrics/tsdb.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Labels from "a=x", "b=y", ..., NULL (sorted here; strings borrowed). */
static __attribute__((unused)) ocl_labels_t tl_labels(ocl_arena_t *a, const char *first, ...)
{
    ocl_label_t *v = ocl_arena_alloc(a, 32 * sizeof *v);
    uint32_t n = 0;
    va_list ap;
    va_start(ap, first);
    for (const char *s = first; s && n < 32; s = va_arg(ap, const char *)) {
        const char *eq = strchr(s, '=');
        v[n].name = (ocl_str_t){s, (size_t)(eq - s)};
        v[n].value = ocl_str_c(eq + 1);
        n++;
    }
    va_end(ap);
    ocl_labels_sort(v, n);
    return (ocl_labels_t){v, n};
}

/* Appends samples to one series; returns the append result. */
static __attribute__((unused)) ocl_tsdb_append_result_t
tl_append(ocl_tsdb_t *db, ocl_labels_t ls, const int64_t *t, const double *v, uint32_t n)
{
    ocl_sample_t *s = calloc(n ? n : 1, sizeof *s);
    for (uint32_t i = 0; i < n; i++)
        s[i] = (ocl_sample_t){t[i], v[i]};
    ocl_prom_series_t ps = {ls, s, n};
    ocl_prom_batch_t b = {&ps, 1, NULL, 0};
    ocl_tsdb_append_result_t r;
    int rc = ocl_tsdb_append(db, &b, &r);
    if (rc) {
        fprintf(stderr, "append failed: %d\n", rc);
        abort();
    }
    free(s);
    return r;
}

static __attribute__((unused)) ocl_tsdb_append_result_t tl_append1(ocl_tsdb_t *db, ocl_labels_t ls,
                                                                   int64_t t, double v)
{
    return tl_append(db, ls, &t, &v, 1);
}

static __attribute__((unused)) ocl_matcher_t tl_m(ocl_match_type_t ty, const char *name,
                                                  const char *value)
{
    ocl_matcher_t m;
    char err[256];
    if (ocl_matcher_init(&m, ty, ocl_str_c(name), ocl_str_c(value), err, sizeof err) != 0) {
        fprintf(stderr, "bad matcher: %s\n", err);
        abort();
    }
    return m;
}

static __attribute__((unused)) void tl_rmrf(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0) return;
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", path, de->d_name);
            tl_rmrf(p);
        }
        if (d) closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static __attribute__((unused)) char *tl_tmpdir(void)
{
    char *t = strdup("/tmp/ocl_tsdb_XXXXXX");
    if (!mkdtemp(t)) abort();
    return t;
}

#endif
