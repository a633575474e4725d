/*
 * config.c — ocelot's settings: defaults, one validating setter per
 * setting (shared by the command-line flags and the file), and the YAML
 * configuration file.
 *
 * The file is read with libyaml's event API into a small tree (mappings,
 * sequences, scalars, each with its line) in an arena, then the tree is
 * walked against a fixed schema: every mapping has a table of the keys it
 * accepts. A key is a setting (goes through ocl_config_set), a nested
 * mapping, something ocelot will support later (rejected with "not
 * supported yet"), or unknown (rejected with the line). Nothing is ignored.
 *
 * Invariants: aliases are refused (no cycles, no expansion bombs); nesting
 * is bounded (MAX_DEPTH) and the input size too (MAX_INPUT), so the walk
 * and the tree are linear in the input. Keys seen twice in one mapping, and
 * one setting given under two spellings (collector and ocelot), are errors.
 * Workload: once at startup, and under the fuzzer.
 */
#include "core/config.h"

#include "core/arena.h"
#include "core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <yaml.h>

#define MAX_INPUT (4u << 20) /* bytes of YAML accepted */
#define MAX_DEPTH 32         /* nesting of mappings/sequences */
#define MAX_NUMBER 9.2e18    /* parsed numbers stay below 2^63 */

/* ---- value syntax -------------------------------------------------------- */

/* A plain decimal: digits with an optional fraction, nothing else (no sign,
 * exponent, hex, whitespace, inf or nan). Returns the length consumed. */
static size_t scan_decimal(const char *s, double *out)
{
    size_t i = 0, digits = 0;
    while (s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (s[i] == '.') {
        i++;
        while (s[i] >= '0' && s[i] <= '9')
            i++, digits++;
    }
    if (!digits) return 0;
    *out = strtod(s, NULL); /* the prefix is only [0-9.]: strtod reads exactly it */
    return i;
}

static int scaled(double v, double mul, uint64_t *out)
{
    double r = v * mul;
    if (!(r >= 0) || r >= MAX_NUMBER) return OCL_EINVAL;
    *out = (uint64_t)r;
    return 0;
}

int ocl_config_parse_duration_ms(const char *s, uint64_t *out)
{
    double v;
    size_t n = scan_decimal(s, &v);
    if (!n) return OCL_EINVAL;
    const char *u = s + n;
    double mul;
    if (!strcmp(u, "ms"))
        mul = 1;
    else if (!strcmp(u, "s") || !*u)
        mul = 1e3;
    else if (!strcmp(u, "m"))
        mul = 60e3;
    else if (!strcmp(u, "h"))
        mul = 3600e3;
    else if (!strcmp(u, "d"))
        mul = 86400e3;
    else if (!strcmp(u, "w"))
        mul = 7 * 86400e3;
    else
        return OCL_EINVAL;
    return scaled(v, mul, out);
}

int ocl_config_parse_bytes(const char *s, uint64_t *out)
{
    double v;
    size_t n = scan_decimal(s, &v);
    if (!n) return OCL_EINVAL;
    const char *u = s + n;
    double mul;
    if (!*u || !strcmp(u, "B"))
        mul = 1;
    else if (!strcasecmp(u, "k") || !strcasecmp(u, "KiB") || !strcasecmp(u, "KB"))
        mul = 1024.0;
    else if (!strcasecmp(u, "m") || !strcasecmp(u, "MiB") || !strcasecmp(u, "MB"))
        mul = 1048576.0;
    else if (!strcasecmp(u, "g") || !strcasecmp(u, "GiB") || !strcasecmp(u, "GB"))
        mul = 1073741824.0;
    else
        return OCL_EINVAL;
    return scaled(v, mul, out);
}

/* "host:port" as the network layer accepts it: host empty (all IPv4
 * interfaces), "localhost", an IPv4 literal or a bracketed IPv6 literal;
 * port 0-65535 (0 = pick a free one). */
static int valid_addr(const char *a)
{
    const char *colon = strrchr(a, ':');
    if (!colon) return 0;
    const char *p = colon + 1;
    size_t pl = strlen(p);
    if (pl == 0 || pl > 5 || strspn(p, "0123456789") != pl || atol(p) > 65535) return 0;
    size_t hl = (size_t)(colon - a);
    char host[256];
    if (hl >= sizeof host) return 0;
    memcpy(host, a, hl);
    host[hl] = 0;
    if (hl == 0 || !strcmp(host, "localhost")) return 1;
    unsigned char bin[16];
    if (host[0] == '[') {
        if (hl < 3 || host[hl - 1] != ']') return 0;
        host[hl - 1] = 0;
        char *zone = strchr(host, '%');
        if (zone) *zone = 0;
        return inet_pton(AF_INET6, host + 1, bin) == 1;
    }
    return inet_pton(AF_INET, host, bin) == 1;
}

/* ---- the settings ---------------------------------------------------------- */

enum { T_ADDR, T_PATH, T_INT, T_FSYNC, T_LOG, T_DUR, T_BYTES, T_MIB, T_U64 };

typedef struct {
    const char *key; /* canonical dotted YAML path */
    int type;        /* T_* */
    size_t off;      /* field offset in ocl_config_t */
    uint64_t min;    /* inclusive range for numbers (ms, bytes, count) */
    uint64_t max;
    int canon;        /* index of the canonical setting (itself unless an alias) */
    const char *help; /* accepted values, for error messages */
} setting_t;

#define F(field) offsetof(ocl_config_t, field)
#define DAY (86400ull * 1000)
#define MIB (1ull << 20)
#define BIG (1ull << 60)

/* Canonical settings first (printed by `ocelot check`), then the collector's
 * alternative spellings of some of them. */
static const setting_t settings[] = {
    {"receivers.otlp.protocols.grpc.endpoint", T_ADDR, F(otlp_grpc_endpoint), 0, 0, 0,
     "host:port with an IP literal, localhost or an empty host; port 0 picks a free port"},
    {"receivers.otlp.protocols.grpc.max_recv_msg_size", T_BYTES, F(max_grpc_msg_bytes), 1024, BIG,
     1, "a size of at least 1KiB"},
    {"receivers.otlp.protocols.http.endpoint", T_ADDR, F(otlp_http_endpoint), 0, 0, 2,
     "host:port with an IP literal, localhost or an empty host; port 0 picks a free port"},
    {"receivers.otlp.protocols.http.max_request_body_size", T_BYTES, F(max_body_bytes), 1024, BIG,
     3, "a size of at least 1KiB"},
    {"server.http.endpoint", T_ADDR, F(http_endpoint), 0, 0, 4,
     "host:port with an IP literal, localhost or an empty host; port 0 picks a free port"},
    {"server.workers", T_INT, F(workers), 0, 256, 5, "an integer from 0 (one per core) to 256"},
    {"storage.path", T_PATH, F(data_dir), 0, 0, 6, "a non-empty directory path"},
    {"storage.wal.fsync", T_FSYNC, F(fsync), 0, 0, 7, "always, interval or never"},
    {"storage.wal.fsync_interval", T_DUR, F(fsync_interval_ms), 1, 60000, 8,
     "a duration from 1ms to 60s"},
    {"storage.traces.retention", T_DUR, F(trace_retention_ms), 1000, 36500 * DAY, 9,
     "a duration from 1s to 36500d"},
    {"storage.wal_retention", T_DUR, F(wal_retention_ms), 1000, 36500 * DAY, 10,
     "a duration from 1s to 36500d"},
    {"memory_limiter.limit", T_BYTES, F(max_memory_bytes), MIB, BIG, 11, "a size of at least 1MiB"},
    {"log.level", T_LOG, F(log_level), 0, 0, 12, "debug, info, warn or error"},
    /* metrics storage and ingest limits (docs/CONFIGURATION.md, "Metrics storage") */
    {"storage.metrics.retention", T_DUR, F(metrics_retention_ms), 1000, 36500 * DAY, 13,
     "a duration from 1s to 36500d"},
    {"storage.metrics.retention_size", T_BYTES, F(metrics_retention_bytes), 0, BIG, 14,
     "a size (0 = no size bound)"},
    {"storage.metrics.max_series_per_tenant", T_U64, F(metrics_max_series), 1, 1000000000, 15,
     "an integer from 1 to 1000000000"},
    {"limits.max_label_name_length", T_U64, F(max_label_name_len), 1, 65536, 16,
     "an integer from 1 to 65536 (bytes)"},
    {"limits.max_label_value_length", T_U64, F(max_label_value_len), 1, 1 << 20, 17,
     "an integer from 1 to 1048576 (bytes)"},
    {"limits.max_label_names_per_series", T_U64, F(max_labels_per_series), 1, 1000, 18,
     "an integer from 1 to 1000"},
    {"receivers.prometheusremotewrite.max_request_body_size", T_BYTES, F(rw_max_bytes), 1024, BIG,
     19, "a size of at least 1KiB (after snappy decompression)"},
    /* aliases */
    {"receivers.otlp.protocols.grpc.max_recv_msg_size_mib", T_MIB, F(max_grpc_msg_bytes), 1024, BIG,
     1, "a number of MiB (at least 1KiB in total)"},
    {"processors.memory_limiter.limit_mib", T_MIB, F(max_memory_bytes), MIB, BIG, 11,
     "a number of MiB, at least 1"},
};
#define N_CANON 20

static const char *const fsync_names[] = {"always", "interval", "never"};
static const char *const log_names[] = {"debug", "info", "warn", "error"};

void ocl_config_defaults(ocl_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->otlp_grpc_endpoint, "127.0.0.1:4317");
    strcpy(cfg->otlp_http_endpoint, "127.0.0.1:4318");
    strcpy(cfg->http_endpoint, "127.0.0.1:3000");
    cfg->workers = 0;
    strcpy(cfg->data_dir, "./ocelot-data");
    cfg->fsync = OCL_CONFIG_FSYNC_INTERVAL;
    cfg->fsync_interval_ms = 100;
    cfg->trace_retention_ms = 7 * DAY;
    cfg->wal_retention_ms = 7 * DAY;
    cfg->max_memory_bytes = 256 * MIB;
    cfg->max_body_bytes = 20 * MIB;
    cfg->max_grpc_msg_bytes = 4 * MIB;
    cfg->log_level = OCL_LOG_INFO;
    cfg->metrics_retention_ms = 15 * DAY;
    cfg->metrics_max_series = 1000000;
    cfg->max_label_name_len = 1024;
    cfg->max_label_value_len = 2048;
    cfg->max_labels_per_series = 30;
    cfg->rw_max_bytes = 20 * MIB;
}

static int find_setting(const char *key)
{
    for (size_t i = 0; i < OCL_ARRAY_LEN(settings); i++)
        if (!strcmp(settings[i].key, key)) return (int)i;
    return -1;
}

static int name_index(const char *v, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v, names[i])) return (int)i;
    return -1;
}

static int set_one(ocl_config_t *cfg, const setting_t *s, const char *v)
{
    char *field = (char *)cfg + s->off;
    uint64_t u;
    double d;
    size_t n;
    int k;
    switch (s->type) {
    case T_ADDR:
        if (strlen(v) >= OCL_CONFIG_ADDR_MAX || !valid_addr(v)) return OCL_EINVAL;
        strcpy(field, v);
        return 0;
    case T_PATH:
        if (!*v || strlen(v) >= OCL_CONFIG_PATH_MAX) return OCL_EINVAL;
        strcpy(field, v);
        return 0;
    case T_INT:
        n = strlen(v);
        if (n == 0 || n > 6 || strspn(v, "0123456789") != n) return OCL_EINVAL;
        u = (uint64_t)atol(v);
        if (u < s->min || u > s->max) return OCL_EINVAL;
        *(int *)field = (int)u;
        return 0;
    case T_FSYNC:
        if ((k = name_index(v, fsync_names, OCL_ARRAY_LEN(fsync_names))) < 0) return OCL_EINVAL;
        *(ocl_config_fsync_t *)field = (ocl_config_fsync_t)k;
        return 0;
    case T_LOG:
        if ((k = name_index(v, log_names, OCL_ARRAY_LEN(log_names))) < 0) return OCL_EINVAL;
        *(int *)field = k;
        return 0;
    case T_DUR:
        if (ocl_config_parse_duration_ms(v, &u)) return OCL_EINVAL;
        break;
    case T_BYTES:
        if (ocl_config_parse_bytes(v, &u)) return OCL_EINVAL;
        break;
    case T_MIB:
        n = scan_decimal(v, &d);
        if (!n || v[n] || scaled(d, (double)MIB, &u)) return OCL_EINVAL;
        break;
    case T_U64:
        n = strlen(v);
        if (n == 0 || n > 18 || strspn(v, "0123456789") != n) return OCL_EINVAL;
        u = strtoull(v, NULL, 10);
        break;
    default:
        return OCL_EINVAL;
    }
    if (u < s->min || u > s->max) return OCL_EINVAL;
    *(uint64_t *)field = u;
    return 0;
}

int ocl_config_set(ocl_config_t *cfg, const char *key, const char *value)
{
    int i = find_setting(key);
    if (i < 0) return OCL_ENOTFOUND;
    return set_one(cfg, &settings[i], value);
}

size_t ocl_config_count(void)
{
    return N_CANON;
}
const char *ocl_config_key(size_t i)
{
    return i < N_CANON ? settings[i].key : NULL;
}
const char *ocl_config_help(size_t i)
{
    return i < N_CANON ? settings[i].help : NULL;
}

/* The largest unit that represents v exactly. */
static void fmt_unit(char *buf, size_t n, uint64_t v, const uint64_t *mul, const char *const *unit,
                     size_t nu)
{
    for (size_t i = 0; i < nu; i++) {
        if (v && v % mul[i] == 0) {
            snprintf(buf, n, "%llu%s", (unsigned long long)(v / mul[i]), unit[i]);
            return;
        }
    }
    snprintf(buf, n, "%llu%s", (unsigned long long)v, unit[nu - 1]);
}

void ocl_config_value(const ocl_config_t *cfg, size_t i, char *buf, size_t n)
{
    static const uint64_t dmul[] = {DAY, 3600000, 60000, 1000, 1};
    static const char *const dunit[] = {"d", "h", "m", "s", "ms"};
    static const uint64_t bmul[] = {1ull << 30, 1ull << 20, 1ull << 10, 1};
    static const char *const bunit[] = {"GiB", "MiB", "KiB", ""};
    if (!n) return;
    buf[0] = 0;
    if (i >= N_CANON) return;
    const setting_t *s = &settings[i];
    const char *field = (const char *)cfg + s->off;
    switch (s->type) {
    case T_ADDR:
    case T_PATH:
        snprintf(buf, n, "%s", field);
        break;
    case T_INT:
        snprintf(buf, n, "%d", *(const int *)field);
        break;
    case T_FSYNC: {
        unsigned k = (unsigned)*(const ocl_config_fsync_t *)field;
        snprintf(buf, n, "%s", k < OCL_ARRAY_LEN(fsync_names) ? fsync_names[k] : "?");
        break;
    }
    case T_LOG: {
        unsigned k = (unsigned)*(const int *)field;
        snprintf(buf, n, "%s", k < OCL_ARRAY_LEN(log_names) ? log_names[k] : "?");
        break;
    }
    case T_DUR:
        fmt_unit(buf, n, *(const uint64_t *)field, dmul, dunit, 5);
        break;
    case T_BYTES:
        fmt_unit(buf, n, *(const uint64_t *)field, bmul, bunit, 4);
        break;
    case T_U64:
        snprintf(buf, n, "%llu", (unsigned long long)*(const uint64_t *)field);
        break;
    default:
        break;
    }
}

void ocl_config_print(const ocl_config_t *cfg, FILE *f)
{
    char v[OCL_CONFIG_PATH_MAX];
    for (size_t i = 0; i < N_CANON; i++) {
        ocl_config_value(cfg, i, v, sizeof v);
        fprintf(f, "%s: %s\n", settings[i].key, v);
    }
}

/* ---- YAML → tree --------------------------------------------------------- */

enum { N_SCALAR, N_MAP, N_SEQ };

typedef struct node node_t;
struct node {
    int type;      /* N_SCALAR, N_MAP or N_SEQ */
    int is_null;   /* plain scalar "", "~", "null", "Null" or "NULL" */
    const char *s; /* scalar text, NUL-terminated (arena) */
    size_t line;   /* 1-based line where the node starts */
    node_t **kids; /* mapping: key, value, key, value...; sequence: items (arena) */
    size_t n;      /* used entries of kids */
    size_t cap;    /* allocated entries of kids */
};

typedef struct {
    const char *name;             /* file name for messages */
    ocl_config_t *cfg;            /* settings being updated */
    char *err;                    /* message buffer */
    size_t errlen;                /* its size */
    ocl_arena_t arena;            /* the tree */
    size_t set_line[N_CANON];     /* line where the file set each setting (0 = not) */
    const char *set_key[N_CANON]; /* under which key */
    ocl_scrape_config_t *sc;      /* scrape settings being filled (never NULL while walking) */
    ocl_scrape_job_cfg_t *job;    /* scrape_configs entry being walked */
    uint16_t group;               /* its static_configs entry being walked */
    size_t global_line;           /* line of `global:` (0 = absent) */
} ctx_t;

static int fail(ctx_t *c, int rc, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(ctx_t *c, int rc, size_t line, const char *fmt, ...)
{
    if (!c->errlen) return rc;
    int k = snprintf(c->err, c->errlen, "%s:%zu: ", c->name, line);
    if (k >= 0 && (size_t)k < c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + k, c->errlen - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Quotes text from the file for a message: at most 64 bytes, control
 * characters and quotes replaced so that the message stays one line. */
static const char *shown(const char *s, char *buf, size_t n)
{
    size_t i = 0;
    for (; s[i] && i + 4 < n && i < 64; i++)
        buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == '"') ? '?' : s[i];
    if (s[i] && i + 4 < n) buf[i++] = '.', buf[i++] = '.', buf[i++] = '.';
    buf[i] = 0;
    return buf;
}

static node_t *new_node(ctx_t *c, int type, size_t line)
{
    node_t *n = ocl_arena_calloc(&c->arena, sizeof *n);
    n->type = type;
    n->line = line;
    return n;
}

static void add_kid(ctx_t *c, node_t *parent, node_t *kid)
{
    if (parent->n == parent->cap) {
        size_t nc = parent->cap ? parent->cap * 2 : 8;
        parent->kids = ocl_arena_realloc(&c->arena, parent->kids, parent->cap * sizeof(node_t *),
                                         nc * sizeof(node_t *));
        parent->cap = nc;
    }
    parent->kids[parent->n++] = kid;
}

static size_t line_of_offset(const char *text, size_t len, size_t off)
{
    size_t line = 1;
    for (size_t i = 0; i < off && i < len; i++)
        line += text[i] == '\n';
    return line;
}

static int syntax_error(ctx_t *c, const yaml_parser_t *p, const char *text, size_t len)
{
    const char *problem = p->problem ? p->problem : "malformed YAML";
    if (p->error == YAML_READER_ERROR)
        return fail(c, OCL_EINVAL, line_of_offset(text, len, p->problem_offset),
                    "YAML syntax error: %s", problem);
    size_t line = p->problem_mark.line + 1;
    const char *hint = "";
    size_t at = p->problem_mark.index;
    if (at < len && text[at] == '\t') hint = " (tabs cannot indent YAML; use spaces)";
    if (p->context)
        return fail(c, OCL_EINVAL, line, "YAML syntax error: %s, %s at line %zu%s", problem,
                    p->context, p->context_mark.line + 1, hint);
    return fail(c, OCL_EINVAL, line, "YAML syntax error: %s%s", problem, hint);
}

/* Builds the tree of the single document in text; *root = NULL when the
 * stream holds no document. */
static int build_tree(ctx_t *c, const char *text, size_t len, node_t **root)
{
    yaml_parser_t p;
    yaml_event_t ev;
    node_t *stack[MAX_DEPTH];
    size_t depth = 0, docs = 0;
    int rc = 0, done = 0;
    *root = NULL;
    if (!yaml_parser_initialize(&p)) return fail(c, OCL_EINVAL, 1, "cannot initialise libyaml");
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    while (!done) {
        if (!yaml_parser_parse(&p, &ev)) {
            rc = syntax_error(c, &p, text, len);
            break;
        }
        size_t line = ev.start_mark.line + 1;
        node_t *n = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) rc = fail(c, OCL_EINVAL, line, "more than one YAML document");
            break;
        case YAML_ALIAS_EVENT:
            rc = fail(c, OCL_EINVAL, line, "YAML aliases (*name) are not supported");
            break;
        case YAML_SCALAR_EVENT: {
            const char *v = (const char *)ev.data.scalar.value;
            size_t vl = ev.data.scalar.length;
            if (memchr(v, 0, vl)) {
                rc = fail(c, OCL_EINVAL, line, "a value contains a NUL character");
                break;
            }
            n = new_node(c, N_SCALAR, line);
            n->s = ocl_arena_strndup(&c->arena, v, vl);
            n->is_null = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                         (!vl || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
                          !strcmp(v, "NULL"));
            break;
        }
        case YAML_SEQUENCE_START_EVENT:
            n = new_node(c, N_SEQ, line);
            break;
        case YAML_MAPPING_START_EVENT:
            n = new_node(c, N_MAP, line);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            if (depth) depth--;
            break;
        default:
            break;
        }
        if (n && !rc) {
            if (depth)
                add_kid(c, stack[depth - 1], n);
            else
                *root = n;
            if (n->type != N_SCALAR) {
                if (depth == MAX_DEPTH)
                    rc = fail(c, OCL_EINVAL, line, "nesting deeper than %d levels", MAX_DEPTH);
                else
                    stack[depth++] = n;
            }
        }
        yaml_event_delete(&ev);
        if (rc) break;
    }
    yaml_parser_delete(&p);
    return rc;
}

/* ---- tree → settings ------------------------------------------------------ */

enum {
    K_SET,    /* a setting: `setting` is its key in settings[] */
    K_MAP,    /* a nested mapping described by `sub` */
    K_FN,     /* handled by `fn` */
    K_UNSUPP, /* a feature that is not supported yet; `note` explains */
    K_END,    /* end of table; `kind2` says what other keys are (K_UNSUPP or unknown) */
};

typedef struct field field_t;
struct field {
    const char *key;     /* key in the mapping (NULL for K_END) */
    int kind;            /* K_* */
    const char *setting; /* K_SET */
    const field_t *sub;  /* K_MAP */
    int (*fn)(ctx_t *c, const node_t *v, const char *path); /* K_FN */
    const char *note; /* K_UNSUPP, and K_END when other keys are K_UNSUPP */
};

#define SET(k, s)                                                                                  \
    {                                                                                              \
        k, K_SET, s, NULL, NULL, NULL                                                              \
    }
#define MAP(k, t)                                                                                  \
    {                                                                                              \
        k, K_MAP, NULL, t, NULL, NULL                                                              \
    }
#define FN(k, f)                                                                                   \
    {                                                                                              \
        k, K_FN, NULL, NULL, f, NULL                                                               \
    }
#define UNSUPP(k, note)                                                                            \
    {                                                                                              \
        k, K_UNSUPP, NULL, NULL, NULL, note                                                        \
    }
#define END_UNKNOWN                                                                                \
    {                                                                                              \
        NULL, K_END, NULL, NULL, NULL, NULL                                                        \
    }
#define END_UNSUPP(note)                                                                           \
    {                                                                                              \
        NULL, K_END, NULL, NULL, NULL, note                                                        \
    }

static int walk_map(ctx_t *c, const node_t *m, const char *path, const field_t *fields,
                    uint64_t *seen_out);

static void join(char *out, size_t n, const char *path, const char *key)
{
    if (*path)
        snprintf(out, n, "%s.%s", path, key);
    else
        snprintf(out, n, "%s", key);
}

static int apply_setting(ctx_t *c, const node_t *v, const char *path, const char *skey)
{
    int si = find_setting(skey);
    char b[80];
    if (si < 0) return fail(c, OCL_EINVAL, v->line, "internal: no setting %s", skey);
    const setting_t *s = &settings[si];
    if (v->type != N_SCALAR || v->is_null)
        return fail(c, OCL_EINVAL, v->line, "%s needs a value: %s", path, s->help);
    int canon = s->canon;
    if (c->set_line[canon] && strcmp(c->set_key[canon], s->key))
        return fail(c, OCL_EINVAL, v->line, "%s and %s (line %zu) set the same thing; keep one",
                    path, c->set_key[canon], c->set_line[canon]);
    if (set_one(c->cfg, s, v->s))
        return fail(c, OCL_EINVAL, v->line, "invalid value \"%s\" for %s: expected %s",
                    shown(v->s, b, sizeof b), path, s->help);
    c->set_line[canon] = v->line;
    c->set_key[canon] = s->key;
    return 0;
}

/* Walks mapping m (a null scalar counts as an empty mapping); bit i of
 * *seen_out is set when fields[i] was present. */
static int walk_map(ctx_t *c, const node_t *m, const char *path, const field_t *fields,
                    uint64_t *seen_out)
{
    char sub[512], b[80];
    uint64_t seen = 0;
    if (seen_out) *seen_out = 0;
    if (m->type == N_SCALAR && m->is_null) return 0;
    if (m->type != N_MAP)
        return fail(c, OCL_EINVAL, m->line, "%s must be a mapping", *path ? path : "the top level");
    for (size_t i = 0; i + 1 < m->n; i += 2) {
        const node_t *k = m->kids[i], *v = m->kids[i + 1];
        if (k->type != N_SCALAR)
            return fail(c, OCL_EINVAL, k->line, "keys in %s must be plain strings",
                        *path ? path : "the top level");
        size_t fi = 0;
        while (fields[fi].kind != K_END && strcmp(fields[fi].key, k->s))
            fi++;
        const field_t *f = &fields[fi];
        join(sub, sizeof sub, path, shown(k->s, b, sizeof b));
        if (f->kind == K_END) {
            if (f->note)
                return fail(c, OCL_EUNSUPP, k->line, "%s is not supported yet (%s)", sub, f->note);
            if (*path)
                return fail(c, OCL_EINVAL, k->line, "unknown key \"%s\" in %s",
                            shown(k->s, b, sizeof b), path);
            return fail(c, OCL_EINVAL, k->line, "unknown key \"%s\" at the top level",
                        shown(k->s, b, sizeof b));
        }
        if (seen & (1ull << fi)) return fail(c, OCL_EINVAL, k->line, "%s is given twice", sub);
        seen |= 1ull << fi;
        int rc = 0;
        switch (f->kind) {
        case K_SET:
            rc = apply_setting(c, v, sub, f->setting);
            break;
        case K_MAP:
            rc = walk_map(c, v, sub, f->sub, NULL);
            break;
        case K_FN:
            rc = f->fn(c, v, sub);
            break;
        case K_UNSUPP:
            rc = fail(c, OCL_EUNSUPP, k->line, "%s is not supported yet%s%s%s", sub,
                      f->note ? " (" : "", f->note ? f->note : "", f->note ? ")" : "");
            break;
        }
        if (rc) return rc;
    }
    if (seen_out) *seen_out = seen;
    return 0;
}

/* ---- scraping: global, scrape_configs, server.self_scrape_interval ------------ */

static const char *scalar(ctx_t *c, const node_t *v)
{
    (void)c;
    return (v->type == N_SCALAR && !v->is_null) ? v->s : NULL;
}

static int pool_add(ctx_t *c, size_t line, const char *str, uint32_t *off)
{
    ocl_scrape_config_t *sc = c->sc;
    size_t n = strlen(str) + 1;
    if (sc->pool_len + n > OCL_SCRAPE_POOL)
        return fail(c, OCL_EINVAL, line, "scrape settings too large (over %d KiB of names)",
                    OCL_SCRAPE_POOL >> 10);
    memcpy(sc->pool + sc->pool_len, str, n);
    *off = sc->pool_len;
    sc->pool_len += (uint32_t)n;
    return 0;
}

static int item_add(ctx_t *c, size_t line, int kind, const char *k, const char *v)
{
    ocl_scrape_config_t *sc = c->sc;
    if (sc->n_items == OCL_SCRAPE_MAX_ITEMS)
        return fail(c, OCL_EINVAL, line, "more than %d scrape targets, labels and params",
                    OCL_SCRAPE_MAX_ITEMS);
    ocl_scrape_item_t *it = &sc->items[sc->n_items];
    memset(it, 0, sizeof *it);
    it->kind = (uint8_t)kind;
    it->group = c->group;
    int rc = pool_add(c, line, k, &it->k);
    if (!rc && v) rc = pool_add(c, line, v, &it->v);
    if (!rc) sc->n_items++;
    return rc;
}

static int scrape_dur(ctx_t *c, const node_t *v, const char *path, uint64_t *out)
{
    char b[80];
    const char *s = scalar(c, v);
    uint64_t ms;
    if (!s || ocl_config_parse_duration_ms(s, &ms) || ms < 1 || ms > 86400000)
        return fail(c, OCL_EINVAL, v->line, "invalid value \"%s\" for %s: expected %s",
                    shown(s ? s : "", b, sizeof b), path, "a duration from 1ms to 1d");
    *out = ms;
    return 0;
}

static int scrape_bool(ctx_t *c, const node_t *v, const char *path, uint8_t *out)
{
    char b[80];
    const char *s = scalar(c, v);
    if (s && !strcmp(s, "true"))
        *out = 1;
    else if (s && !strcmp(s, "false"))
        *out = 0;
    else
        return fail(c, OCL_EINVAL, v->line, "invalid value \"%s\" for %s: expected true or false",
                    shown(s ? s : "", b, sizeof b), path);
    return 0;
}

static int scrape_count(ctx_t *c, const node_t *v, const char *path, uint32_t *out)
{
    char b[80];
    const char *s = scalar(c, v);
    size_t n = s ? strlen(s) : 0;
    if (!n || n > 10 || strspn(s, "0123456789") != n || strtoull(s, NULL, 10) > UINT32_MAX)
        return fail(c, OCL_EINVAL, v->line,
                    "invalid value \"%s\" for %s: expected an integer from 0 (no limit) to %u",
                    shown(s ? s : "", b, sizeof b), path, UINT32_MAX);
    *out = (uint32_t)strtoull(s, NULL, 10);
    return 0;
}

static int self_scrape_interval(ctx_t *c, const node_t *v, const char *path)
{
    char b[80];
    const char *s = scalar(c, v);
    uint64_t ms;
    if (!s || ocl_config_parse_duration_ms(s, &ms) || ms > 86400000 || (ms && ms < 1000))
        return fail(c, OCL_EINVAL, v->line, "invalid value \"%s\" for %s: expected %s",
                    shown(s ? s : "", b, sizeof b), path, "0 (off) or a duration from 1s to 1d");
    c->sc->self_interval_ms = ms;
    return 0;
}

static int g_interval(ctx_t *c, const node_t *v, const char *path)
{
    return scrape_dur(c, v, path, &c->sc->interval_ms);
}
static int g_timeout(ctx_t *c, const node_t *v, const char *path)
{
    return scrape_dur(c, v, path, &c->sc->timeout_ms);
}

static const field_t global_fields[] = {
    FN("scrape_interval", g_interval),
    FN("scrape_timeout", g_timeout),
    UNSUPP("evaluation_interval", "rules come later"),
    UNSUPP("external_labels", "they apply to exporters and alerts, which come later"),
    UNSUPP("query_log_file", NULL),
    UNSUPP("scrape_protocols", "text 0.0.4 is asked for, OpenMetrics 1.0 read when answered"),
    UNSUPP("body_size_limit", "set it per scrape config"),
    UNSUPP("sample_limit", "set it per scrape config"),
    UNSUPP("label_limit", "set it per scrape config"),
    UNSUPP("label_name_length_limit", "set it per scrape config"),
    UNSUPP("label_value_length_limit", "set it per scrape config"),
    UNSUPP("target_limit", NULL),
    UNSUPP("keep_dropped_targets", NULL),
    END_UNKNOWN,
};

static int global_section(ctx_t *c, const node_t *v, const char *path)
{
    c->global_line = v->line;
    return walk_map(c, v, path, global_fields, NULL);
}

/* A target as Prometheus accepts it without relabeling: host or host:port,
 * host a name, an IPv4 or a bracketed IPv6 literal. */
static int valid_target(const char *t)
{
    size_t n = strlen(t);
    if (!n || n > 255) return 0;
    const char *h = t, *end = t + n, *port = NULL;
    if (*t == '[') {
        const char *rb = strchr(t, ']');
        if (!rb || rb == t + 1) return 0;
        for (const char *q = t + 1; q < rb; q++)
            if (!strchr("0123456789abcdefABCDEF:.%", *q)) return 0;
        if (rb[1] && rb[1] != ':') return 0;
        port = rb[1] ? rb + 2 : NULL;
    } else {
        const char *colon = strchr(t, ':');
        if (colon && strchr(colon + 1, ':')) return 0;
        for (const char *q = h; q < (colon ? colon : end); q++)
            if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
                  (*q >= '0' && *q <= '9') || *q == '.' || *q == '-' || *q == '_'))
                return 0;
        if (colon == t) return 0;
        port = colon ? colon + 1 : NULL;
    }
    if (port) {
        size_t pl = strlen(port);
        if (!pl || pl > 5 || strspn(port, "0123456789") != pl) return 0;
        long p = atol(port);
        if (p < 1 || p > 65535) return 0;
    }
    return 1;
}

static int sc_targets(ctx_t *c, const node_t *v, const char *path)
{
    char b[80];
    if (v->type != N_SEQ) return fail(c, OCL_EINVAL, v->line, "%s must be a list", path);
    for (size_t i = 0; i < v->n; i++) {
        const char *t = scalar(c, v->kids[i]);
        if (!t || !valid_target(t))
            return fail(c, OCL_EINVAL, v->kids[i]->line,
                        "invalid target \"%s\" in %s: expected host:port (http scheme only)",
                        shown(t ? t : "", b, sizeof b), path);
        int rc = item_add(c, v->kids[i]->line, OCL_SCRAPE_ITEM_TARGET, t, NULL);
        if (rc) return rc;
    }
    return 0;
}

static int label_name_ok(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_')) return 0;
    for (const char *q = s; *q; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
              *q == '_'))
            return 0;
    return 1;
}

static int sc_labels(ctx_t *c, const node_t *v, const char *path)
{
    char b[80];
    if (v->type == N_SCALAR && v->is_null) return 0;
    if (v->type != N_MAP) return fail(c, OCL_EINVAL, v->line, "%s must be a mapping", path);
    for (size_t i = 0; i + 1 < v->n; i += 2) {
        const char *k = scalar(c, v->kids[i]),
                   *val = v->kids[i + 1]->type == N_SCALAR ? v->kids[i + 1]->s : NULL;
        if (!k || !label_name_ok(k))
            return fail(c, OCL_EINVAL, v->kids[i]->line, "invalid label name \"%s\" in %s",
                        shown(k ? k : "", b, sizeof b), path);
        if (!strncmp(k, "__", 2))
            return fail(c, OCL_EUNSUPP, v->kids[i]->line,
                        "%s: label \"%s\" is not supported yet (labels starting with __ drive "
                        "relabeling)",
                        path, shown(k, b, sizeof b));
        if (!val)
            return fail(c, OCL_EINVAL, v->kids[i + 1]->line, "%s.%s must be a string", path,
                        shown(k, b, sizeof b));
        if (v->kids[i + 1]->is_null) val = "";
        if (!ocl_utf8_valid(val, strlen(val)))
            return fail(c, OCL_EINVAL, v->kids[i + 1]->line, "invalid UTF-8 in %s", path);
        for (size_t j = 0; j < i; j += 2)
            if (!strcmp(v->kids[j]->s, k))
                return fail(c, OCL_EINVAL, v->kids[i]->line, "%s.%s is given twice", path,
                            shown(k, b, sizeof b));
        int rc = item_add(c, v->kids[i]->line, OCL_SCRAPE_ITEM_LABEL, k, val);
        if (rc) return rc;
    }
    return 0;
}

static const field_t static_config_fields[] = {
    FN("targets", sc_targets),
    FN("labels", sc_labels),
    END_UNKNOWN,
};

static int j_static(ctx_t *c, const node_t *v, const char *path)
{
    char sub[512];
    if (v->type != N_SEQ) return fail(c, OCL_EINVAL, v->line, "%s must be a list", path);
    if (v->n > 65535) return fail(c, OCL_EINVAL, v->line, "%s has too many entries", path);
    for (size_t i = 0; i < v->n; i++) {
        snprintf(sub, sizeof sub, "%s[%zu]", path, i);
        c->group = (uint16_t)i;
        int rc = walk_map(c, v->kids[i], sub, static_config_fields, NULL);
        if (rc) return rc;
    }
    c->group = 0;
    return 0;
}

static int j_name(ctx_t *c, const node_t *v, const char *path)
{
    char b[80];
    const char *s = scalar(c, v);
    if (!s || !*s || !ocl_utf8_valid(s, strlen(s)) || strlen(s) > 128)
        return fail(c, OCL_EINVAL, v->line, "%s must be a non-empty name of at most 128 bytes",
                    path);
    for (uint32_t i = 0; c->sc->jobs + i < c->job; i++)
        if (!strcmp(ocl_scrape_str(c->sc, c->sc->jobs[i].name), s))
            return fail(c, OCL_EINVAL, v->line,
                        "found multiple scrape configs with job name \"%s\"",
                        shown(s, b, sizeof b));
    return pool_add(c, v->line, s, &c->job->name);
}
static int j_interval(ctx_t *c, const node_t *v, const char *path)
{
    return scrape_dur(c, v, path, &c->job->interval_ms);
}
static int j_timeout(ctx_t *c, const node_t *v, const char *path)
{
    return scrape_dur(c, v, path, &c->job->timeout_ms);
}
static int j_path(ctx_t *c, const node_t *v, const char *path)
{
    char b[80];
    const char *s = scalar(c, v);
    if (!s || s[0] != '/' || strlen(s) > 1024 || strpbrk(s, " \t\r\n?#"))
        return fail(c, OCL_EINVAL, v->line,
                    "invalid value \"%s\" for %s: expected a path starting with /",
                    shown(s ? s : "", b, sizeof b), path);
    return pool_add(c, v->line, s, &c->job->metrics_path);
}
static int j_scheme(ctx_t *c, const node_t *v, const char *path)
{
    char b[80];
    const char *s = scalar(c, v);
    if (s && !strcmp(s, "http")) return 0;
    if (s && !strcmp(s, "https"))
        return fail(c, OCL_EUNSUPP, v->line, "%s: https is not supported yet (http only)", path);
    return fail(c, OCL_EINVAL, v->line, "invalid value \"%s\" for %s: expected http",
                shown(s ? s : "", b, sizeof b), path);
}
static int j_params(ctx_t *c, const node_t *v, const char *path)
{
    char b[80];
    if (v->type != N_MAP) return fail(c, OCL_EINVAL, v->line, "%s must be a mapping", path);
    for (size_t i = 0; i + 1 < v->n; i += 2) {
        const char *k = scalar(c, v->kids[i]);
        const node_t *l = v->kids[i + 1];
        if (!k || !*k) return fail(c, OCL_EINVAL, v->kids[i]->line, "%s: empty parameter", path);
        if (l->type != N_SEQ)
            return fail(c, OCL_EINVAL, l->line, "%s.%s must be a list of values", path,
                        shown(k, b, sizeof b));
        for (size_t j = 0; j < l->n; j++) {
            if (l->kids[j]->type != N_SCALAR)
                return fail(c, OCL_EINVAL, l->kids[j]->line, "%s.%s must list strings", path,
                            shown(k, b, sizeof b));
            const char *val = l->kids[j]->is_null ? "" : l->kids[j]->s;
            int rc = item_add(c, l->kids[j]->line, OCL_SCRAPE_ITEM_PARAM, k, val);
            if (rc) return rc;
        }
    }
    return 0;
}
static int j_honor_labels(ctx_t *c, const node_t *v, const char *path)
{
    return scrape_bool(c, v, path, &c->job->honor_labels);
}
static int j_honor_ts(ctx_t *c, const node_t *v, const char *path)
{
    return scrape_bool(c, v, path, &c->job->honor_timestamps);
}
#define LIMIT_FN(fn, field)                                                                        \
    static int fn(ctx_t *c, const node_t *v, const char *path)                                     \
    {                                                                                              \
        return scrape_count(c, v, path, &c->job->field);                                           \
    }
LIMIT_FN(j_sample_limit, sample_limit)
LIMIT_FN(j_label_limit, label_limit)
LIMIT_FN(j_label_name_len, label_name_length_limit)
LIMIT_FN(j_label_value_len, label_value_length_limit)
static int j_body_size(ctx_t *c, const node_t *v, const char *path)
{
    char b[80];
    const char *s = scalar(c, v);
    if (!s || ocl_config_parse_bytes(s, &c->job->body_size_limit) ||
        c->job->body_size_limit > (1ull << 32))
        return fail(c, OCL_EINVAL, v->line, "invalid value \"%s\" for %s: expected %s",
                    shown(s ? s : "", b, sizeof b), path, "a size up to 4GiB (0 = 64MiB)");
    return 0;
}

#define SD_UNSUPP(k) UNSUPP(k, "static_configs only")
static const field_t job_fields[] = {
    FN("job_name", j_name),
    FN("scrape_interval", j_interval),
    FN("scrape_timeout", j_timeout),
    FN("metrics_path", j_path),
    FN("scheme", j_scheme),
    FN("params", j_params),
    FN("honor_labels", j_honor_labels),
    FN("honor_timestamps", j_honor_ts),
    FN("static_configs", j_static),
    FN("sample_limit", j_sample_limit),
    FN("label_limit", j_label_limit),
    FN("label_name_length_limit", j_label_name_len),
    FN("label_value_length_limit", j_label_value_len),
    FN("body_size_limit", j_body_size),
    UNSUPP("relabel_configs", NULL),
    UNSUPP("metric_relabel_configs", NULL),
    UNSUPP("target_limit", NULL),
    UNSUPP("keep_dropped_targets", NULL),
    UNSUPP("track_timestamps_staleness", NULL),
    UNSUPP("scrape_protocols", "text 0.0.4 is asked for, OpenMetrics 1.0 read when answered"),
    UNSUPP("scrape_classic_histograms", NULL),
    UNSUPP("native_histogram_bucket_limit", NULL),
    UNSUPP("native_histogram_min_bucket_factor", NULL),
    UNSUPP("enable_compression", "gzip is always accepted"),
    UNSUPP("basic_auth", NULL),
    UNSUPP("authorization", NULL),
    UNSUPP("oauth2", NULL),
    UNSUPP("bearer_token", NULL),
    UNSUPP("bearer_token_file", NULL),
    UNSUPP("tls_config", NULL),
    UNSUPP("proxy_url", NULL),
    UNSUPP("follow_redirects", NULL),
    UNSUPP("enable_http2", NULL),
    SD_UNSUPP("file_sd_configs"),
    SD_UNSUPP("dns_sd_configs"),
    SD_UNSUPP("http_sd_configs"),
    SD_UNSUPP("kubernetes_sd_configs"),
    SD_UNSUPP("consul_sd_configs"),
    SD_UNSUPP("ec2_sd_configs"),
    SD_UNSUPP("docker_sd_configs"),
    END_UNKNOWN,
};

static int scrape_configs(ctx_t *c, const node_t *v, const char *path)
{
    char sub[512];
    ocl_scrape_config_t *sc = c->sc;
    if (v->type == N_SCALAR && v->is_null) return 0;
    if (v->type != N_SEQ) return fail(c, OCL_EINVAL, v->line, "%s must be a list", path);
    for (size_t i = 0; i < v->n; i++) {
        if (sc->n_jobs == OCL_SCRAPE_MAX_JOBS)
            return fail(c, OCL_EINVAL, v->kids[i]->line, "more than %d scrape configs",
                        OCL_SCRAPE_MAX_JOBS);
        ocl_scrape_job_cfg_t *j = &sc->jobs[sc->n_jobs];
        memset(j, 0, sizeof *j);
        j->honor_timestamps = 1;
        j->first_item = sc->n_items;
        j->line = v->kids[i]->line;
        j->name = UINT32_MAX;
        c->job = j;
        snprintf(sub, sizeof sub, "%s[%zu]", path, i);
        int rc = walk_map(c, v->kids[i], sub, job_fields, NULL);
        if (rc) return rc;
        if (j->name == UINT32_MAX) return fail(c, OCL_EINVAL, j->line, "%s needs a job_name", sub);
        if (!j->metrics_path && (rc = pool_add(c, j->line, "/metrics", &j->metrics_path)))
            return rc;
        j->n_items = sc->n_items - j->first_item;
        sc->n_jobs++;
    }
    return 0;
}

/* After the walk: jobs inherit the global interval and timeout (a timeout
 * is capped at the job's interval when inherited, as in Prometheus). */
static int scrape_finish(ctx_t *c)
{
    ocl_scrape_config_t *sc = c->sc;
    if (sc->timeout_ms > sc->interval_ms)
        return fail(c, OCL_EINVAL, c->global_line ? c->global_line : 1,
                    "global scrape timeout greater than scrape interval");
    for (uint32_t i = 0; i < sc->n_jobs; i++) {
        ocl_scrape_job_cfg_t *j = &sc->jobs[i];
        if (!j->interval_ms) j->interval_ms = sc->interval_ms;
        if (!j->timeout_ms)
            j->timeout_ms = sc->timeout_ms < j->interval_ms ? sc->timeout_ms : j->interval_ms;
        if (j->timeout_ms > j->interval_ms)
            return fail(c, OCL_EINVAL, j->line,
                        "scrape timeout greater than scrape interval for scrape config with job "
                        "name \"%s\"",
                        ocl_scrape_str(sc, j->name));
    }
    return 0;
}

void ocl_config_scrape_defaults(ocl_scrape_config_t *sc)
{
    sc->interval_ms = 60000;
    sc->timeout_ms = 10000;
    sc->self_interval_ms = 15000;
    sc->n_jobs = 0;
    sc->n_items = 0;
    sc->first_ext = sc->n_ext = 0;
    sc->pool_len = 1;
    sc->pool[0] = 0; /* offset 0 = "" */
}

/* receivers.otlp.protocols.{grpc,http} */
static const field_t grpc_fields[] = {
    SET("endpoint", "receivers.otlp.protocols.grpc.endpoint"),
    SET("max_recv_msg_size_mib", "receivers.otlp.protocols.grpc.max_recv_msg_size_mib"),
    SET("max_recv_msg_size", "receivers.otlp.protocols.grpc.max_recv_msg_size"),
    UNSUPP("tls", NULL),
    UNSUPP("transport", "TCP only"),
    UNSUPP("max_concurrent_streams", "fixed at 100 per connection"),
    UNSUPP("read_buffer_size", NULL),
    UNSUPP("write_buffer_size", NULL),
    UNSUPP("keepalive", NULL),
    UNSUPP("auth", NULL),
    UNSUPP("include_metadata", NULL),
    END_UNKNOWN,
};
static const field_t http_fields[] = {
    SET("endpoint", "receivers.otlp.protocols.http.endpoint"),
    SET("max_request_body_size", "receivers.otlp.protocols.http.max_request_body_size"),
    UNSUPP("tls", NULL),
    UNSUPP("cors", NULL),
    UNSUPP("auth", NULL),
    UNSUPP("include_metadata", NULL),
    UNSUPP("response_headers", NULL),
    UNSUPP("traces_url_path", "the paths are /v1/traces, /v1/metrics, /v1/logs"),
    UNSUPP("metrics_url_path", "the paths are /v1/traces, /v1/metrics, /v1/logs"),
    UNSUPP("logs_url_path", "the paths are /v1/traces, /v1/metrics, /v1/logs"),
    END_UNKNOWN,
};
static const field_t protocols_fields[] = {
    MAP("grpc", grpc_fields),
    MAP("http", http_fields),
    END_UNSUPP("OTLP protocols are grpc and http"),
};

static int otlp_protocols(ctx_t *c, const node_t *v, const char *path)
{
    uint64_t seen;
    int rc = walk_map(c, v, path, protocols_fields, &seen);
    if (rc) return rc;
    if (seen != 3)
        return fail(c, OCL_EUNSUPP, v->line,
                    "%s: turning off the %s protocol is not supported yet (list both grpc and "
                    "http)",
                    path, (seen & 1) ? "http" : "grpc");
    return 0;
}

static const field_t otlp_fields[] = {
    FN("protocols", otlp_protocols),
    END_UNKNOWN,
};
static const field_t prw_fields[] = {
    SET("max_request_body_size", "receivers.prometheusremotewrite.max_request_body_size"),
    END_UNKNOWN,
};
static const field_t receivers_fields[] = {
    MAP("otlp", otlp_fields),
    MAP("prometheusremotewrite", prw_fields),
    END_UNSUPP("the only receiver today is otlp"),
};

/* processors */
static const field_t memory_limiter_fields[] = {
    SET("limit_mib", "processors.memory_limiter.limit_mib"),
    UNSUPP("check_interval", "the limit is checked on every request"),
    UNSUPP("spike_limit_mib", NULL),
    UNSUPP("limit_percentage", NULL),
    UNSUPP("spike_limit_percentage", NULL),
    END_UNKNOWN,
};
static const field_t batch_fields[] = {
    UNSUPP("timeout", "each request is written as one batch"),
    UNSUPP("send_batch_size", "each request is written as one batch"),
    UNSUPP("send_batch_max_size", "each request is written as one batch"),
    UNSUPP("metadata_keys", NULL),
    UNSUPP("metadata_cardinality_limit", NULL),
    END_UNKNOWN,
};
static const field_t processors_fields[] = {
    MAP("memory_limiter", memory_limiter_fields),
    MAP("batch", batch_fields),
    END_UNSUPP("the processors today are memory_limiter and batch"),
};

/* exporters */
static const field_t store_fields[] = {END_UNKNOWN};
static const field_t exporters_fields[] = {
    MAP("store", store_fields),
    END_UNSUPP("the only exporter today is store, the local storage"),
};

/* service.pipelines.<signal>.{receivers,processors,exporters} */
static int name_list(ctx_t *c, const node_t *v, const char *path, const char *const *ok,
                     size_t n_ok, const char *what, const char *note)
{
    char b[80];
    if (v->type != N_SEQ) return fail(c, OCL_EINVAL, v->line, "%s must be a list", path);
    uint64_t seen = 0;
    for (size_t i = 0; i < v->n; i++) {
        const node_t *e = v->kids[i];
        if (e->type != N_SCALAR || e->is_null)
            return fail(c, OCL_EINVAL, e->line, "%s must list names", path);
        size_t k = 0;
        while (k < n_ok && strcmp(ok[k], e->s))
            k++;
        if (k == n_ok)
            return fail(c, OCL_EUNSUPP, e->line, "%s: %s \"%s\" is not supported yet (%s)", path,
                        what, shown(e->s, b, sizeof b), note);
        if (seen & (1ull << k))
            return fail(c, OCL_EINVAL, e->line, "%s lists \"%s\" twice", path,
                        shown(e->s, b, sizeof b));
        seen |= 1ull << k;
    }
    return 0;
}

static int pl_receivers(ctx_t *c, const node_t *v, const char *path)
{
    static const char *const ok[] = {"otlp"};
    if (v->type == N_SEQ && v->n == 0)
        return fail(c, OCL_EINVAL, v->line, "%s must list otlp", path);
    return name_list(c, v, path, ok, 1, "receiver", "the only receiver today is otlp");
}
static int pl_processors(ctx_t *c, const node_t *v, const char *path)
{
    static const char *const ok[] = {"memory_limiter", "batch"};
    return name_list(c, v, path, ok, 2, "processor",
                     "the processors today are memory_limiter and batch");
}
static int pl_exporters(ctx_t *c, const node_t *v, const char *path)
{
    static const char *const ok[] = {"store"};
    if (v->type == N_SEQ && v->n == 0)
        return fail(c, OCL_EINVAL, v->line, "%s must list store", path);
    return name_list(c, v, path, ok, 1, "exporter",
                     "the only exporter today is store, the local storage");
}

static const field_t pipeline_fields[] = {
    FN("receivers", pl_receivers),
    FN("processors", pl_processors),
    FN("exporters", pl_exporters),
    END_UNKNOWN,
};

static int pipeline(ctx_t *c, const node_t *v, const char *path)
{
    uint64_t seen;
    int rc = walk_map(c, v, path, pipeline_fields, &seen);
    if (rc) return rc;
    if (!(seen & 1)) return fail(c, OCL_EINVAL, v->line, "%s needs receivers: [otlp]", path);
    if (!(seen & 4)) return fail(c, OCL_EINVAL, v->line, "%s needs exporters: [store]", path);
    return 0;
}

static const field_t pipelines_fields[] = {
    FN("traces", pipeline),
    FN("metrics", pipeline),
    FN("logs", pipeline),
    END_UNSUPP("one pipeline per signal: traces, metrics and logs"),
};

static int pipelines(ctx_t *c, const node_t *v, const char *path)
{
    static const char *const sig[] = {"traces", "metrics", "logs"};
    uint64_t seen;
    int rc = walk_map(c, v, path, pipelines_fields, &seen);
    if (rc) return rc;
    for (int i = 0; i < 3; i++)
        if (!(seen & (1u << i)))
            return fail(c, OCL_EUNSUPP, v->line,
                        "%s has no %s pipeline: turning a signal off is not supported yet "
                        "(every signal is received and stored)",
                        path, sig[i]);
    return 0;
}

static const field_t service_fields[] = {
    FN("pipelines", pipelines),
    UNSUPP("telemetry", "use log.level for ocelot's own log"),
    UNSUPP("extensions", NULL),
    END_UNKNOWN,
};

/* ocelot's own sections */
static const field_t server_http_fields[] = {
    SET("endpoint", "server.http.endpoint"),
    END_UNKNOWN,
};
static const field_t server_fields[] = {
    MAP("http", server_http_fields),
    SET("workers", "server.workers"),
    FN("self_scrape_interval", self_scrape_interval),
    END_UNKNOWN,
};
static const field_t wal_fields[] = {
    SET("fsync", "storage.wal.fsync"),
    SET("fsync_interval", "storage.wal.fsync_interval"),
    END_UNKNOWN,
};
static const field_t traces_fields[] = {
    SET("retention", "storage.traces.retention"),
    END_UNKNOWN,
};
static const field_t metrics_storage_fields[] = {
    SET("retention", "storage.metrics.retention"),
    SET("retention_size", "storage.metrics.retention_size"),
    SET("max_series_per_tenant", "storage.metrics.max_series_per_tenant"),
    END_UNKNOWN,
};
static const field_t limits_fields[] = {
    SET("max_label_name_length", "limits.max_label_name_length"),
    SET("max_label_value_length", "limits.max_label_value_length"),
    SET("max_label_names_per_series", "limits.max_label_names_per_series"),
    END_UNKNOWN,
};
static const field_t storage_fields[] = {
    SET("path", "storage.path"),
    MAP("wal", wal_fields),
    MAP("traces", traces_fields),
    SET("wal_retention", "storage.wal_retention"),
    MAP("metrics", metrics_storage_fields),
    UNSUPP("logs", "logs are kept in their WAL; see storage.wal_retention"),
    END_UNKNOWN,
};
static const field_t top_memory_limiter_fields[] = {
    SET("limit", "memory_limiter.limit"),
    END_UNKNOWN,
};
static const field_t log_fields[] = {
    SET("level", "log.level"),
    END_UNKNOWN,
};

static const field_t top_fields[] = {
    MAP("receivers", receivers_fields),
    MAP("processors", processors_fields),
    MAP("exporters", exporters_fields),
    MAP("service", service_fields),
    MAP("server", server_fields),
    MAP("storage", storage_fields),
    MAP("memory_limiter", top_memory_limiter_fields),
    MAP("limits", limits_fields),
    MAP("log", log_fields),
    UNSUPP("rules", "alerting and recording rules come later"),
    FN("global", global_section),
    FN("scrape_configs", scrape_configs),
    UNSUPP("extensions", NULL),
    UNSUPP("connectors", NULL),
    END_UNKNOWN,
};

int ocl_config_parse(const char *text, size_t len, const char *name, ocl_config_t *cfg, char *err,
                     size_t errlen)
{
    return ocl_config_parse_all(text, len, name, cfg, NULL, err, errlen);
}

int ocl_config_parse_all(const char *text, size_t len, const char *name, ocl_config_t *cfg,
                         ocl_scrape_config_t *sc, char *err, size_t errlen)
{
    ctx_t c;
    memset(&c, 0, sizeof c);
    c.name = name ? name : "config";
    c.cfg = cfg;
    c.err = err;
    c.errlen = errlen;
    if (errlen) err[0] = 0;
    if (len > MAX_INPUT) return fail(&c, OCL_ETOOBIG, 1, "larger than 4 MiB");
    ocl_arena_init(&c.arena, 16384);
    if (sc) {
        c.sc = sc;
    } else { /* validated the same way, then discarded */
        c.sc = ocl_arena_alloc(&c.arena, sizeof *c.sc);
        ocl_config_scrape_defaults(c.sc);
    }
    node_t *root;
    int rc = build_tree(&c, text, len, &root);
    if (!rc && root) {
        if (root->type == N_SCALAR && !root->is_null)
            rc = fail(&c, OCL_EINVAL, root->line, "the top level must be a mapping of sections");
        else
            rc = walk_map(&c, root, "", top_fields, NULL);
    }
    if (!rc) rc = scrape_finish(&c);
    ocl_arena_dispose(&c.arena);
    return rc;
}

int ocl_config_load(const char *path, ocl_config_t *cfg, char *err, size_t errlen)
{
    return ocl_config_load_all(path, cfg, NULL, err, errlen);
}

int ocl_config_load_all(const char *path, ocl_config_t *cfg, ocl_scrape_config_t *sc, char *err,
                        size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errlen) snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return OCL_EIO;
    }
    char *buf = ocl_malloc(MAX_INPUT + 1);
    size_t n = fread(buf, 1, MAX_INPUT + 1, f);
    int rerr = ferror(f) ? errno : 0;
    fclose(f);
    int rc;
    if (rerr) {
        if (errlen) snprintf(err, errlen, "%s: cannot read: %s", path, strerror(rerr));
        rc = OCL_EIO;
    } else {
        rc = ocl_config_parse_all(buf, n, path, cfg, sc, err, errlen);
    }
    ocl_free(buf);
    return rc;
}
