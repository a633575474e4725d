/*
 * parse_priv.h — parser state shared by parse.c (syntax) and
 * parse_check.c (type check). Not part of the public interface.
 */
#ifndef OCL_PQL_PARSE_PRIV_H
#define OCL_PQL_PARSE_PRIV_H

#include "query/promql/parse_internal.h"

typedef struct {
    const char *q;             /* query text (arena copy) */
    uint32_t n;                /* its length */
    ocl_pql_toks_t toks;       /* all tokens; last is EOF or ERROR */
    uint32_t i;                /* current token */
    ocl_arena_t *a;            /* the tree's arena */
    char *err;                 /* caller's error buffer */
    size_t errlen;             /* its size */
    bool failed;               /* an error was recorded (the first one wins) */
    int depth;                 /* current parse recursion depth */
    int dur_nodes;             /* duration-expression nodes built (bounded like depth) */
    ocl_pql_node_t **sels;     /* every vector selector built (to release regexes on failure) */
    uint32_t n_sels, cap_sels; /* count, capacity */
} ocl_pql_parser_t;

/* Records the first error: "<line>:<col>: parse error: <msg>" at byte pos. */
void ocl_pql_errorf(ocl_pql_parser_t *p, uint32_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Type-checks the tree the way Prometheus's checkAST does. */
void ocl_pql_check(ocl_pql_parser_t *p, ocl_pql_node_t *root);

#endif
