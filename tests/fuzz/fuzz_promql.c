/*
 * fuzz_promql.c — libFuzzer target for the PromQL parser and printer
 * (src/query/promql: lexer.c, parse.c, parse_check.c, format.c).
 *
 * Any input must either fail with OCL_EINVAL and a one-line message of the
 * form "<line>:<col>: parse error: ..." (or "unknown position: ..." for an
 * empty query), or parse; a parsed query is printed, the printed text must
 * parse again to a tree of the same type that prints identically (the
 * printer's round-trip promise, which format_query relies on).
 * Seeds: tests/fuzz/corpus/promql/, dictionary tests/fuzz/promql.dict.
 */
#include "query/promql/promql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what, const char *detail)
{
    if (!ok) {
        fprintf(stderr, "fuzz_promql: %s: %s\n", what, detail ? detail : "");
        abort();
    }
}

static void check_error(const char *err)
{
    check(memchr(err, 0, 512) != NULL, "error not terminated", NULL);
    check(strchr(err, '\n') == NULL, "error spans lines", err);
    check(strstr(err, ": parse error: ") != NULL, "error without the parse error prefix", err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0; /* the HTTP API bounds query length */
    char err[512];
    memset(err, 'x', sizeof err);
    ocl_pql_expr_t *e = NULL;
    int rc = ocl_pql_parse((const char *)data, size, &e, err, sizeof err);
    if (rc != 0) {
        check(rc == OCL_EINVAL && e == NULL, "unexpected code", NULL);
        check_error(err);
        return 0;
    }
    ocl_buf_t a, b;
    ocl_buf_init(&a);
    ocl_buf_init(&b);
    ocl_pql_format(e->root, &a);
    ocl_buf_putc(&a, 0);
    ocl_pql_expr_t *e2 = NULL;
    rc = ocl_pql_parse((const char *)a.p, a.len - 1, &e2, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "input: %.*s\nprinted: %s\n", (int)size, (const char *)data,
                (const char *)a.p);
        check(0, "printed query does not parse", err);
    }
    check(e2->root->type == e->root->type, "type changed", (const char *)a.p);
    ocl_pql_format(e2->root, &b);
    ocl_buf_putc(&b, 0);
    if (a.len != b.len || memcmp(a.p, b.p, a.len) != 0) {
        fprintf(stderr, "input: %.*s\nprinted: %s\nreprinted: %s\n", (int)size, (const char *)data,
                (const char *)a.p, (const char *)b.p);
        check(0, "printing is not stable", NULL);
    }
    ocl_buf_dispose(&a);
    ocl_buf_dispose(&b);
    ocl_pql_expr_free(e);
    ocl_pql_expr_free(e2);
    return 0;
}
