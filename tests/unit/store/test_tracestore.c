/*
 * test_tracestore.c — unit tests of the trace store: add/get with the
 * output checked by a tiny protobuf reader, grouping, dedupe, invalid ids,
 * cuts, reopen, retention, corrupt segments, admission, compaction (spans
 * kept once, crash between the merged file and the inputs' deletion,
 * version-1 files, metadata read without mmap), and concurrent adds + gets
 * + cuts + compactions. Requests are built by hand with `raw` fields pointing
 * at protobuf bytes encoded here (the store only copies raw bytes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/arena.h"
#include "store/traces/tracestore.h"
#include "store/traces/ts_internal.h"
#include "store/wal/wal.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- temp dirs ---- */

static char *mktmp(void)
{
    char *t = strdup("/tmp/ocl_ts_XXXXXX");
    assert_non_null(mkdtemp(t));
    return t;
}

static int count_suffix(const char *dir, const char *suffix)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name), s = strlen(suffix);
        if (l > s && strcmp(de->d_name + l - s, suffix) == 0) n++;
    }
    if (d) closedir(d);
    return n;
}

static void rmrf(char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    rmdir(dir);
    free(dir);
}

/* ---- a tiny protobuf writer ---- */

static void pb_varint(ocl_buf_t *b, uint64_t v)
{
    while (v >= 0x80)
        ocl_buf_putc(b, (char)(v | 0x80)), v >>= 7;
    ocl_buf_putc(b, (char)v);
}
static void pb_ld(ocl_buf_t *b, int field, const void *p, size_t n)
{
    pb_varint(b, (uint64_t)(field << 3 | 2));
    pb_varint(b, n);
    ocl_buf_append(b, p, n);
}
static void pb_fixed64(ocl_buf_t *b, int field, uint64_t v)
{
    pb_varint(b, (uint64_t)(field << 3 | 1));
    for (int i = 0; i < 8; i++)
        ocl_buf_putc(b, (char)(v >> (8 * i)));
}

static ocl_str_t arena_copy(ocl_arena_t *a, ocl_buf_t *b)
{
    char *p = ocl_arena_alloc(a, b->len ? b->len : 1);
    memcpy(p, b->p, b->len);
    ocl_str_t s = {p, b->len};
    b->len = 0;
    return s;
}

/* Resource { attributes: [ {key: "service.name", value: {string: svc}} ] } */
static ocl_str_t enc_resource(ocl_arena_t *a, const char *svc)
{
    ocl_buf_t av, kv, r;
    ocl_buf_init(&av), ocl_buf_init(&kv), ocl_buf_init(&r);
    pb_ld(&av, 1, svc, strlen(svc));
    pb_ld(&kv, 1, "service.name", 12);
    pb_ld(&kv, 2, av.p, av.len);
    pb_ld(&r, 1, kv.p, kv.len);
    ocl_str_t s = arena_copy(a, &r);
    ocl_buf_dispose(&av), ocl_buf_dispose(&kv), ocl_buf_dispose(&r);
    return s;
}

static ocl_str_t enc_scope(ocl_arena_t *a, const char *name)
{
    ocl_buf_t b;
    ocl_buf_init(&b);
    pb_ld(&b, 1, name, strlen(name));
    ocl_str_t s = arena_copy(a, &b);
    ocl_buf_dispose(&b);
    return s;
}

static void mk_tid(uint8_t t[16], uint32_t n)
{
    memset(t, 0, 16);
    t[0] = 0xAB;
    memcpy(t + 12, &n, 4);
}
static void mk_sid(uint8_t s[8], uint32_t n)
{
    memset(s, 0, 8);
    s[0] = 0xCD;
    memcpy(s + 4, &n, 4);
}

/* Fills a span: ids, name and times, raw = its protobuf encoding. */
static void mk_span(ocl_arena_t *a, ocl_span_t *sp, const uint8_t tid[16], const uint8_t sid[8],
                    const char *name, uint64_t start)
{
    memset(sp, 0, sizeof *sp);
    uint8_t *t = ocl_arena_alloc(a, 24);
    memcpy(t, tid, 16);
    memcpy(t + 16, sid, 8);
    sp->trace_id = (ocl_str_t){(const char *)t, 16};
    sp->span_id = (ocl_str_t){(const char *)t + 16, 8};
    sp->name = ocl_str_c(name);
    sp->start_unix_nano = start;
    sp->end_unix_nano = start + 1000;
    ocl_buf_t b;
    ocl_buf_init(&b);
    pb_ld(&b, 1, tid, 16);
    pb_ld(&b, 2, sid, 8);
    pb_ld(&b, 5, name, strlen(name));
    pb_fixed64(&b, 7, start);
    pb_fixed64(&b, 8, start + 1000);
    sp->raw = arena_copy(a, &b);
    ocl_buf_dispose(&b);
}

/* A request of nres resources × nscope scopes × nspan spans; span k of
 * (r, c) gets trace tids[(r*nscope+c)*nspan+k % ntids], span id from
 * sid_base + running index. */
static ocl_traces_req_t mk_req(ocl_arena_t *a, int nres, int nscope, int nspan,
                               const uint32_t *tids, int ntids, uint32_t sid_base, uint64_t start)
{
    ocl_traces_req_t req = {0};
    req.n_rs = (uint32_t)nres;
    req.rs = ocl_arena_calloc(a, sizeof *req.rs * (size_t)nres);
    uint32_t run = 0;
    for (int r = 0; r < nres; r++) {
        char svc[32];
        snprintf(svc, sizeof svc, "svc-%d", r);
        ocl_resource_spans_t *rs = &req.rs[r];
        rs->resource.raw = enc_resource(a, svc);
        rs->resource.present = true;
        rs->schema_url = OCL_STR("https://opentelemetry.io/schemas/1.21.0");
        rs->n_scope_spans = (uint32_t)nscope;
        rs->scope_spans = ocl_arena_calloc(a, sizeof *rs->scope_spans * (size_t)nscope);
        for (int c = 0; c < nscope; c++) {
            char sc[32];
            snprintf(sc, sizeof sc, "lib-%d", c);
            ocl_scope_spans_t *ss = &rs->scope_spans[c];
            ss->scope.raw = enc_scope(a, sc);
            ss->n_spans = (uint32_t)nspan;
            ss->spans = ocl_arena_calloc(a, sizeof *ss->spans * (size_t)nspan);
            for (int k = 0; k < nspan; k++, run++) {
                uint8_t t[16], s[8];
                mk_tid(t, tids[run % (uint32_t)ntids]);
                mk_sid(s, sid_base + run);
                mk_span(a, &ss->spans[k], t, s, "op", start + run);
            }
        }
    }
    return req;
}

/* ---- a tiny protobuf reader for the output ---- */

typedef struct {
    const uint8_t *p, *end; /* remaining input */
} rd_t;

static uint64_t rd_varint(rd_t *r)
{
    uint64_t v = 0;
    for (int s = 0; s < 64 && r->p < r->end; s += 7) {
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << s;
        if (!(b & 0x80)) return v;
    }
    fail_msg("bad varint");
    return 0;
}

/* Next field: returns field number (0 at end); LD payload in *sub. */
static int rd_next(rd_t *r, rd_t *sub)
{
    if (r->p >= r->end) return 0;
    uint64_t tag = rd_varint(r);
    switch (tag & 7) {
    case 0:
        rd_varint(r);
        break;
    case 1:
        assert_true(r->end - r->p >= 8);
        r->p += 8;
        break;
    case 2: {
        uint64_t n = rd_varint(r);
        assert_true((uint64_t)(r->end - r->p) >= n);
        sub->p = r->p;
        sub->end = r->p + n;
        r->p += n;
        break;
    }
    default:
        fail_msg("unexpected wire type");
    }
    return (int)(tag >> 3);
}

typedef struct {
    int nrs;              /* ResourceSpans */
    int nss;              /* ScopeSpans */
    int nspans;           /* spans */
    uint32_t sids[4096];  /* span id numbers in output order */
    int rs_with_resource; /* ResourceSpans that carried field 1 */
    int rs_with_url;      /* ResourceSpans that carried field 3 */
} parsed_t;

static void parse_out(const ocl_buf_t *b, parsed_t *o)
{
    memset(o, 0, sizeof *o);
    rd_t r = {b->p, b->p + b->len}, rs, x;
    int f;
    while ((f = rd_next(&r, &rs)) != 0) {
        assert_int_equal(f, 1);
        o->nrs++;
        int g;
        while ((g = rd_next(&rs, &x)) != 0) {
            if (g == 1) o->rs_with_resource++;
            if (g == 3) o->rs_with_url++;
            if (g != 2) continue;
            o->nss++;
            rd_t ss = x, y;
            int h;
            while ((h = rd_next(&ss, &y)) != 0) {
                if (h != 2) continue;
                rd_t sp = y, z;
                int k;
                while ((k = rd_next(&sp, &z)) != 0) {
                    if (k == 2) {
                        assert_int_equal(z.end - z.p, 8);
                        uint32_t n;
                        memcpy(&n, z.p + 4, 4);
                        if (o->nspans < 4096) o->sids[o->nspans] = n;
                    }
                }
                o->nspans++;
            }
        }
    }
}

static ocl_tracestore_t *open_ts(const char *dir, uint64_t retention_s, uint64_t maxmem)
{
    ocl_tracestore_cfg_t cfg = {.dir = dir, .retention_s = retention_s, .max_memory_bytes = maxmem};
    ocl_tracestore_t *ts = NULL;
    assert_int_equal(ocl_tracestore_open(&cfg, &ts), 0);
    return ts;
}

static int get_parsed(ocl_tracestore_t *ts, uint32_t tid, parsed_t *o)
{
    uint8_t t[16];
    mk_tid(t, tid);
    ocl_buf_t b;
    ocl_buf_init(&b);
    int rc = ocl_tracestore_get(ts, t, &b);
    if (rc == 0) parse_out(&b, o);
    ocl_buf_dispose(&b);
    return rc;
}

static void get_bytes(ocl_tracestore_t *ts, uint32_t tid, ocl_buf_t *b)
{
    uint8_t t[16];
    mk_tid(t, tid);
    ocl_buf_init(b);
    assert_int_equal(ocl_tracestore_get(ts, t, b), 0);
}

/* ---- tests ---- */

static void test_add_get(void **state)
{
    char *dir = mktmp();
    ocl_tracestore_t *ts = open_ts(dir, 0, 0);
    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 16);
    uint32_t tids[] = {1, 2};
    ocl_traces_req_t req = mk_req(&a, 1, 1, 6, tids, 2, 100, 1000);
    size_t rej = 99;
    assert_int_equal(ocl_tracestore_add(ts, &req, 7, &rej), 0);
    assert_int_equal(rej, 0);
    parsed_t *o = calloc(1, sizeof *o);
    assert_int_equal(get_parsed(ts, 1, o), 0);
    assert_int_equal(o->nrs, 1);
    assert_int_equal(o->nss, 1);
    assert_int_equal(o->nspans, 3);
    assert_int_equal(o->rs_with_resource, 1);
    assert_int_equal(o->rs_with_url, 1);
    assert_int_equal(o->sids[0], 100);
    assert_int_equal(o->sids[1], 102);
    assert_int_equal(o->sids[2], 104);
    assert_int_equal(get_parsed(ts, 3, o), OCL_ENOTFOUND);
    /* exact bytes of one span: the raw is copied verbatim */
    ocl_buf_t b;
    get_bytes(ts, 2, &b);
    assert_non_null(memmem(b.p, b.len, req.rs[0].scope_spans[0].spans[1].raw.p,
                           req.rs[0].scope_spans[0].spans[1].raw.n));
    assert_non_null(memmem(b.p, b.len, req.rs[0].resource.raw.p, req.rs[0].resource.raw.n));
    ocl_buf_dispose(&b);
    ocl_tracestore_stats_t st;
    ocl_tracestore_stats(ts, &st);
    assert_int_equal(st.head_spans, 6);
    assert_int_equal(st.head_traces, 2);
    assert_int_equal(ocl_tracestore_durable_seq(ts), 7);
    assert_int_equal(ocl_tracestore_admit(ts), 0);
    free(o);
    ocl_arena_dispose(&a);
    ocl_tracestore_close(ts);
    rmrf(dir);
}

static void test_grouping(void **state)
{
    char *dir = mktmp();
    ocl_tracestore_t *ts = open_ts(dir, 0, 0);
    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 16);
    uint32_t tids[] = {5};
    ocl_traces_req_t req = mk_req(&a, 2, 2, 3, tids, 1, 0, 1000);
    assert_int_equal(ocl_tracestore_add(ts, &req, 1, NULL), 0);
    /* a second request with the same resources/scopes joins the groups */
    ocl_traces_req_t req2 = mk_req(&a, 2, 2, 1, tids, 1, 50, 2000);
    assert_int_equal(ocl_tracestore_add(ts, &req2, 2, NULL), 0);
    parsed_t *o = calloc(1, sizeof *o);
    assert_int_equal(get_parsed(ts, 5, o), 0);
    assert_int_equal(o->nrs, 2);
    assert_int_equal(o->nss, 4);
    assert_int_equal(o->nspans, 16);
    free(o);
    ocl_arena_dispose(&a);
    ocl_tracestore_close(ts);
    rmrf(dir);
}

static void test_dedupe(void **state)
{
    char *dir = mktmp();
    ocl_tracestore_t *ts = open_ts(dir, 0, 0);
    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 16);
    uint32_t tids[] = {9};
    ocl_traces_req_t req = mk_req(&a, 1, 1, 4, tids, 1, 0, 1000);
    assert_int_equal(ocl_tracestore_add(ts, &req, 1, NULL), 0);
    assert_int_equal(ocl_tracestore_add(ts, &req, 2, NULL), 0);
    parsed_t *o = calloc(1, sizeof *o);
    assert_int_equal(get_parsed(ts, 9, o), 0);
    assert_int_equal(o->nspans, 4);
    /* and across head + segment */
    assert_int_equal(ocl_tracestore_maintain(ts, 1), 0);
    assert_int_equal(ocl_tracestore_add(ts, &req, 3, NULL), 0);
    assert_int_equal(get_parsed(ts, 9, o), 0);
    assert_int_equal(o->nspans, 4);
    assert_int_equal(o->nrs, 1);
    assert_int_equal(o->nss, 1);
    free(o);
    ocl_arena_dispose(&a);
    ocl_tracestore_close(ts);
    rmrf(dir);
}

static void test_invalid_ids(void **state)
{
    char *dir = mktmp();
    ocl_tracestore_t *ts = open_ts(dir, 0, 0);
    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 16);
    uint32_t tids[] = {4};
    ocl_traces_req_t req = mk_req(&a, 1, 1, 6, tids, 1, 0, 1000);
    ocl_span_t *sp = req.rs[0].scope_spans[0].spans;
    static const uint8_t zeros[16] = {0};
    sp[0].trace_id = (ocl_str_t){(const char *)zeros, 16}; /* all-zero trace id */
    sp[1].trace_id.n = 15;                                 /* short trace id */
    sp[2].span_id = (ocl_str_t){(const char *)zeros, 8};   /* all-zero span id */
    sp[3].span_id.n = 0;                                   /* missing span id */
    sp[4].raw = OCL_STR_NULL;                              /* no raw bytes */
    size_t rej = 0;
    assert_int_equal(ocl_tracestore_add(ts, &req, 1, &rej), 0);
    assert_int_equal(rej, 5);
    parsed_t *o = calloc(1, sizeof *o);
    assert_int_equal(get_parsed(ts, 4, o), 0);
    assert_int_equal(o->nspans, 1);
    assert_int_equal(o->sids[0], 5);
    free(o);
    ocl_arena_dispose(&a);
    ocl_tracestore_close(ts);
    rmrf(dir);
}

static void test_cut_and_reopen(void **state)
{
    char *dir = mktmp();
    ocl_tracestore_t *ts = open_ts(dir, 0, 0);
    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 16);
    uint32_t tids[64];
    for (int i = 0; i < 64; i++)
        tids[i] = (uint32_t)(i * 7919 + 1);
    ocl_traces_req_t req = mk_req(&a, 2, 2, 128, tids, 64, 0, 1000);
    assert_int_equal(ocl_tracestore_add(ts, &req, 10, NULL), 0);
    ocl_traces_req_t req2 = mk_req(&a, 1, 1, 64, tids, 64, 10000, 5000);
    assert_int_equal(ocl_tracestore_add(ts, &req2, 11, NULL), 0);
    ocl_buf_t before[64];
    for (int i = 0; i < 64; i++)
        get_bytes(ts, tids[i], &before[i]);
    assert_int_equal(ocl_tracestore_maintain(ts, 0), 0); /* not due */
    ocl_tracestore_stats_t st;
    ocl_tracestore_stats(ts, &st);
    assert_int_equal(st.segments, 0);
    assert_int_equal(ocl_tracestore_maintain(ts, 1), 0);
    ocl_tracestore_stats(ts, &st);
    assert_int_equal(st.segments, 1);
    assert_int_equal(st.cuts, 1);
    assert_int_equal(st.head_spans, 0);
    assert_true(st.segment_bytes > 0);
    assert_int_equal(ocl_tracestore_durable_seq(ts), 12);
    for (int i = 0; i < 64; i++) {
        ocl_buf_t b;
        get_bytes(ts, tids[i], &b);
        assert_int_equal(b.len, before[i].len);
        assert_memory_equal(b.p, before[i].p, b.len);
        ocl_buf_dispose(&b);
    }
    ocl_tracestore_close(ts);

    /* a leftover temp file is removed on open */
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s/%020llu.trs.tmp", dir, 77ull);
    FILE *f = fopen(tmp, "w");
    fputs("junk", f);
    fclose(f);
    ts = open_ts(dir, 0, 0);
    assert_int_equal(count_suffix(dir, ".tmp"), 0);
    assert_int_equal(ocl_tracestore_durable_seq(ts), 12);
    for (int i = 0; i < 64; i++) {
        ocl_buf_t b;
        get_bytes(ts, tids[i], &b);
        assert_int_equal(b.len, before[i].len);
        assert_memory_equal(b.p, before[i].p, b.len);
        ocl_buf_dispose(&b);
        ocl_buf_dispose(&before[i]);
    }
    /* a second cut: lookups merge two segments */
    ocl_traces_req_t req3 = mk_req(&a, 1, 1, 1, tids, 1, 20000, 9000);
    assert_int_equal(ocl_tracestore_add(ts, &req3, 12, NULL), 0);
    assert_int_equal(ocl_tracestore_maintain(ts, 1), 0);
    parsed_t *o = calloc(1, sizeof *o);
    assert_int_equal(get_parsed(ts, tids[0], o), 0);
    assert_int_equal(o->nspans, 4 * 128 / 64 + 1 + 1);
    free(o);
    ocl_tracestore_close(ts);
    ocl_arena_dispose(&a);
    rmrf(dir);
}

static void test_retention(void **state)
{
    char *dir = mktmp();
    ocl_tracestore_t *ts = open_ts(dir, 3600, 0);
    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 16);
    uint64_t t0 = 1700000000ull * 1000000000ull;
    uint32_t old[] = {1}, mid[] = {2}, fresh[] = {3};
    ocl_traces_req_t r1 = mk_req(&a, 1, 1, 2, old, 1, 0, t0);
    assert_int_equal(ocl_tracestore_add(ts, &r1, 1, NULL), 0);
    assert_int_equal(ocl_tracestore_maintain(ts, 1), 0);
    ocl_traces_req_t r2 = mk_req(&a, 1, 1, 2, mid, 1, 10, t0 + 1800ull * 1000000000ull);
    assert_int_equal(ocl_tracestore_add(ts, &r2, 2, NULL), 0);
    assert_int_equal(ocl_tracestore_maintain(ts, 1), 0);
    ocl_tracestore_stats_t st;
    ocl_tracestore_stats(ts, &st);
    assert_int_equal(st.segments, 2);
    /* newest data 2 h after t0: the first segment is past retention */
    ocl_traces_req_t r3 = mk_req(&a, 1, 1, 2, fresh, 1, 20, t0 + 5000ull * 1000000000ull);
    assert_int_equal(ocl_tracestore_add(ts, &r3, 3, NULL), 0);
    assert_int_equal(ocl_tracestore_maintain(ts, 0), 0);
    ocl_tracestore_stats(ts, &st);
    assert_int_equal(st.segments, 1);
    parsed_t *o = calloc(1, sizeof *o);
    assert_int_equal(get_parsed(ts, 1, o), OCL_ENOTFOUND);
    assert_int_equal(get_parsed(ts, 2, o), 0);
    assert_int_equal(get_parsed(ts, 3, o), 0);
    free(o);
    assert_int_equal(count_suffix(dir, ".trs"), 1);
    ocl_arena_dispose(&a);
    ocl_tracestore_close(ts);
    rmrf(dir);
}

static void test_corrupt_segment(void **state)
{
    char *dir = mktmp();
    ocl_tracestore_t *ts = open_ts(dir, 0, 0);
    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 16);
    uint32_t tids[] = {1, 2, 3};
    ocl_traces_req_t req = mk_req(&a, 1, 1, 30, tids, 3, 0, 1000);
    assert_int_equal(ocl_tracestore_add(ts, &req, 1, NULL), 0);
    assert_int_equal(ocl_tracestore_maintain(ts, 1), 0);
    ocl_tracestore_close(ts);
    char path[4200];
    snprintf(path, sizeof path, "%s/%020llu.trs", dir, 1ull);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, sb.st_size - 104 - 20, SEEK_SET); /* inside the block table/index */
    int c = fgetc(f);
    fseek(f, sb.st_size - 104 - 20, SEEK_SET);
    fputc(c ^ 0x55, f);
    fclose(f);
    ts = open_ts(dir, 0, 0);
    assert_int_equal(count_suffix(dir, ".corrupt"), 1);
    assert_int_equal(count_suffix(dir, ".trs"), 0);
    parsed_t *o = calloc(1, sizeof *o);
    assert_int_equal(get_parsed(ts, 1, o), OCL_ENOTFOUND);
    free(o);
    /* new cuts do not reuse the corrupt file's number */
    assert_int_equal(ocl_tracestore_add(ts, &req, 2, NULL), 0);
    assert_int_equal(ocl_tracestore_maintain(ts, 1), 0);
    assert_int_equal(count_suffix(dir, ".trs"), 1);
    ocl_arena_dispose(&a);
    ocl_tracestore_close(ts);
    rmrf(dir);
}

static void test_admit(void **state)
{
    char *dir = mktmp();
    ocl_tracestore_t *ts = open_ts(dir, 0, 4096);
    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 16);
    uint32_t tids[] = {1};
    ocl_traces_req_t req = mk_req(&a, 1, 1, 100, tids, 1, 0, 1000);
    assert_int_equal(ocl_tracestore_add(ts, &req, 1, NULL), 0);
    assert_int_equal(ocl_tracestore_admit(ts), OCL_EBUSY);
    assert_int_equal(ocl_tracestore_add(ts, &req, 2, NULL), OCL_EBUSY);
    /* head_max_bytes default 64 MiB: not due; force frees the head */
    assert_int_equal(ocl_tracestore_maintain(ts, 1), 0);
    assert_int_equal(ocl_tracestore_admit(ts), 0);
    ocl_arena_dispose(&a);
    ocl_tracestore_close(ts);
    rmrf(dir);
}

static void test_cut_by_size(void **state)
{
    char *dir = mktmp();
    ocl_tracestore_cfg_t cfg = {.dir = dir, .head_max_bytes = 10000};
    ocl_tracestore_t *ts = NULL;
    assert_int_equal(ocl_tracestore_open(&cfg, &ts), 0);
    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 16);
    uint32_t tids[] = {1, 2};
    ocl_traces_req_t req = mk_req(&a, 1, 1, 200, tids, 2, 0, 1000);
    assert_int_equal(ocl_tracestore_add(ts, &req, 1, NULL), 0);
    assert_int_equal(ocl_tracestore_maintain(ts, 0), 0);
    ocl_tracestore_stats_t st;
    ocl_tracestore_stats(ts, &st);
    assert_int_equal(st.segments, 1);
    ocl_arena_dispose(&a);
    ocl_tracestore_close(ts);
    rmrf(dir);
}

/* ---- compaction ---- */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The trace holds exactly the span ids want[0..n) (each once). */
static void check_sids(ocl_tracestore_t *ts, uint32_t tid, uint32_t *want, int n)
{
    parsed_t *o = calloc(1, sizeof *o);
    assert_int_equal(get_parsed(ts, tid, o), 0);
    assert_int_equal(o->nspans, n);
    qsort(o->sids, (size_t)n, sizeof *o->sids, cmp_u32);
    qsort(want, (size_t)n, sizeof *want, cmp_u32);
    assert_memory_equal(o->sids, want, (size_t)n * sizeof *want);
    free(o);
}

#define CP_CUTS 40
#define CP_SPREAD 1000u /* a trace with one span in every cut */
#define CP_DUP 5u       /* a trace whose first spans are replayed in every cut */

/* Adds cut i's data: one span of the spread trace, the replayed spans
 * 0..2 of the dup trace plus a new one, and trace 2000+i (two resources,
 * interned in a different order on odd cuts). */
static void cp_add(ocl_tracestore_t *ts, ocl_arena_t *a, uint32_t i)
{
    uint32_t spread[] = {CP_SPREAD}, dup[] = {CP_DUP}, own[] = {2000 + i};
    ocl_traces_req_t r1 = mk_req(a, 1, 1, 1, spread, 1, 1000 + i, 1000 + i * 100);
    ocl_traces_req_t r2 = mk_req(a, 1, 1, 3, dup, 1, 0, 1000 + i * 100);
    ocl_traces_req_t r3 = mk_req(a, 1, 1, 1, dup, 1, 100 + i, 1000 + i * 100);
    ocl_traces_req_t r4 = mk_req(a, 2, 1, 2, own, 1, 5000 + 10 * i, 1000 + i * 100);
    if (i & 1) {
        ocl_resource_spans_t t = r4.rs[0];
        r4.rs[0] = r4.rs[1];
        r4.rs[1] = t;
    }
    assert_int_equal(ocl_tracestore_add(ts, &r4, i * 4 + 1, NULL), 0);
    assert_int_equal(ocl_tracestore_add(ts, &r1, i * 4 + 2, NULL), 0);
    assert_int_equal(ocl_tracestore_add(ts, &r2, i * 4 + 3, NULL), 0);
    assert_int_equal(ocl_tracestore_add(ts, &r3, i * 4 + 4, NULL), 0);
}

/* Every trace of cuts 0..ncuts-1 is there with each span once. */
static void cp_check(ocl_tracestore_t *ts, uint32_t ncuts)
{
    uint32_t want[64];
    for (uint32_t i = 0; i < ncuts; i++)
        want[i] = 1000 + i;
    check_sids(ts, CP_SPREAD, want, (int)ncuts);
    for (uint32_t i = 0; i < 3; i++)
        want[i] = i;
    for (uint32_t i = 0; i < ncuts; i++)
        want[3 + i] = 100 + i;
    check_sids(ts, CP_DUP, want, (int)ncuts + 3);
    for (uint32_t i = 0; i < ncuts; i++) {
        for (uint32_t k = 0; k < 4; k++)
            want[k] = 5000 + 10 * i + k;
        check_sids(ts, 2000 + i, want, 4);
    }
}

static void test_compaction(void **state)
{
    char *dir = mktmp();
    ocl_tracestore_t *ts = open_ts(dir, 0, 0);
    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 16);
    ocl_buf_t before[CP_CUTS];
    ocl_tracestore_stats_t st;
    for (uint32_t i = 0; i < CP_CUTS; i++) {
        cp_add(ts, &a, i);
        get_bytes(ts, 2000 + i, &before[i]);
        assert_int_equal(ocl_tracestore_maintain(ts, 1), 0);
        ocl_tracestore_stats(ts, &st);
        assert_true(st.segments <= 17);
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(ocl_tracestore_maintain(ts, 0), 0);
    ocl_tracestore_stats(ts, &st);
    assert_int_equal(st.cuts, CP_CUTS);
    assert_true(st.compactions >= 1);
    assert_true(st.segments <= 17);
    assert_int_equal(count_suffix(dir, ".trs"), (int)st.segments);
    assert_int_equal(ocl_tracestore_durable_seq(ts), CP_CUTS * 4 + 1);
    cp_check(ts, CP_CUTS);
    /* a trace held by one input reads back byte for byte the same */
    for (uint32_t i = 0; i < CP_CUTS; i++) {
        ocl_buf_t b;
        get_bytes(ts, 2000 + i, &b);
        assert_int_equal(b.len, before[i].len);
        assert_memory_equal(b.p, before[i].p, b.len);
        ocl_buf_dispose(&b);
    }
    uint64_t nseg = st.segments;
    ocl_tracestore_close(ts);

    ts = open_ts(dir, 0, 0);
    ocl_tracestore_stats(ts, &st);
    assert_int_equal(st.segments, nseg);
    assert_int_equal(ocl_tracestore_durable_seq(ts), CP_CUTS * 4 + 1);
    cp_check(ts, CP_CUTS);
    for (uint32_t i = 0; i < CP_CUTS; i++) {
        ocl_buf_t b;
        get_bytes(ts, 2000 + i, &b);
        assert_int_equal(b.len, before[i].len);
        assert_memory_equal(b.p, before[i].p, b.len);
        ocl_buf_dispose(&b);
        ocl_buf_dispose(&before[i]);
    }
    ocl_tracestore_close(ts);
    ocl_arena_dispose(&a);
    rmrf(dir);
}

static void test_compaction_retention(void **state)
{
    char *dir = mktmp();
    ocl_tracestore_t *ts = open_ts(dir, 3600, 0);
    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 16);
    uint64_t t0 = 1700000000ull * 1000000000ull, sec = 1000000000ull;
    ocl_tracestore_stats_t st;
    /* an old burst of 17 cuts a second apart: merged into one */
    for (uint32_t i = 0; i < 17; i++) {
        uint32_t tid[] = {100 + i};
        ocl_traces_req_t r = mk_req(&a, 1, 1, 1, tid, 1, i, t0 + i * sec);
        assert_int_equal(ocl_tracestore_add(ts, &r, i + 1, NULL), 0);
        assert_int_equal(ocl_tracestore_maintain(ts, 1), 0);
    }
    ocl_tracestore_stats(ts, &st);
    assert_int_equal(st.compactions, 1);
    assert_int_equal(st.segments, 1);
    /* a burst 50 min later (within retention, beyond retention/16 of the
     * old one): merged on its own, never into the old segment */
    for (uint32_t i = 0; i < 17; i++) {
        uint32_t tid[] = {200 + i};
        ocl_traces_req_t r = mk_req(&a, 1, 1, 1, tid, 1, 100 + i, t0 + (3000 + i) * sec);
        assert_int_equal(ocl_tracestore_add(ts, &r, 100 + i, NULL), 0);
        assert_int_equal(ocl_tracestore_maintain(ts, 1), 0);
    }
    ocl_tracestore_stats(ts, &st);
    assert_int_equal(st.compactions, 2); /* at 1 + 16 segments: the 16 new ones */
    assert_int_equal(st.segments, 3);    /* old merged, new merged, last cut */
    parsed_t *o = calloc(1, sizeof *o);
    assert_int_equal(get_parsed(ts, 100, o), 0);
    /* newest data 70 min after the old burst: it ages out whole */
    uint32_t fresh[] = {300};
    ocl_traces_req_t r = mk_req(&a, 1, 1, 1, fresh, 1, 500, t0 + 4200 * sec);
    assert_int_equal(ocl_tracestore_add(ts, &r, 500, NULL), 0);
    assert_int_equal(ocl_tracestore_maintain(ts, 1), 0);
    ocl_tracestore_stats(ts, &st);
    assert_int_equal(st.segments, 3); /* + the fresh cut - the old merged one */
    for (uint32_t i = 0; i < 17; i++) {
        assert_int_equal(get_parsed(ts, 100 + i, o), OCL_ENOTFOUND);
        assert_int_equal(get_parsed(ts, 200 + i, o), 0);
        assert_int_equal(o->nspans, 1);
    }
    free(o);
    ocl_arena_dispose(&a);
    ocl_tracestore_close(ts);
    rmrf(dir);
}

typedef struct {
    char name[64]; /* file name */
    char *data;    /* contents */
    size_t len;    /* bytes */
} saved_t;

static size_t save_segments(const char *dir, saved_t *out, size_t max)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL && n < max) {
        size_t l = strlen(de->d_name);
        if (l < 4 || strcmp(de->d_name + l - 4, ".trs") != 0) continue;
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        FILE *f = fopen(p, "rb");
        assert_non_null(f);
        fseek(f, 0, SEEK_END);
        out[n].len = (size_t)ftell(f);
        fseek(f, 0, SEEK_SET);
        out[n].data = malloc(out[n].len);
        assert_int_equal(fread(out[n].data, 1, out[n].len, f), out[n].len);
        fclose(f);
        snprintf(out[n].name, sizeof out[n].name, "%s", de->d_name);
        n++;
    }
    if (d) closedir(d);
    return n;
}

static void restore_segment(const char *dir, saved_t *s)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, s->name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(s->data, 1, s->len, f), s->len);
    fclose(f);
    free(s->data);
}

static void test_compaction_crash(void **state)
{
    char *dir = mktmp();
    ocl_tracestore_t *ts = open_ts(dir, 0, 0);
    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 16);
    for (uint32_t i = 0; i < 16; i++) {
        cp_add(ts, &a, i);
        assert_int_equal(ocl_tracestore_maintain(ts, 1), 0);
    }
    ocl_tracestore_stats_t st;
    ocl_tracestore_stats(ts, &st);
    assert_int_equal(st.segments, 16);
    assert_int_equal(st.compactions, 0);
    saved_t saved[16];
    assert_int_equal(save_segments(dir, saved, 16), 16);
    /* the 17th cut triggers a merge of all 17 into one */
    cp_add(ts, &a, 16);
    assert_int_equal(ocl_tracestore_maintain(ts, 1), 0);
    ocl_tracestore_stats(ts, &st);
    assert_int_equal(st.compactions, 1);
    assert_int_equal(st.segments, 1);
    assert_int_equal(count_suffix(dir, ".trs"), 1);
    ocl_tracestore_close(ts);

    /* "crash" before the inputs were deleted: they come back */
    for (int i = 0; i < 16; i++)
        restore_segment(dir, &saved[i]);
    assert_int_equal(count_suffix(dir, ".trs"), 17);
    ts = open_ts(dir, 0, 0);
    ocl_tracestore_stats(ts, &st);
    assert_int_equal(st.segments, 1);
    assert_int_equal(count_suffix(dir, ".trs"), 1);
    cp_check(ts, 17);
    /* newer segments are not in the merged range: they stay */
    cp_add(ts, &a, 17);
    assert_int_equal(ocl_tracestore_maintain(ts, 1), 0);
    ocl_tracestore_close(ts);
    ts = open_ts(dir, 0, 0);
    ocl_tracestore_stats(ts, &st);
    assert_int_equal(st.segments, 2);
    cp_check(ts, 18);
    ocl_tracestore_close(ts);
    ocl_arena_dispose(&a);
    rmrf(dir);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Rewrites a version-2 plain cut as the version-1 file it would have been
 * (header version byte, 104-byte footer without the compaction range). */
static void downgrade_to_v1(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    size_t len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *d = malloc(len);
    assert_int_equal(fread(d, 1, len, f), len);
    fclose(f);
    uint8_t *f2 = d + len - 120, f1[104];
    assert_int_equal(f2[112], 2);
    for (int i = 88; i < 104; i++)
        assert_int_equal(f2[i], 0); /* a plain cut replaces nothing */
    memcpy(f1, f2, 88);
    memcpy(f1 + 88, f2 + 104, 4); /* metadata CRC */
    put_le32(f1 + 92, ocl_crc32c(0, f1, 92));
    f1[96] = 1;
    memcpy(f1 + 97, f2 + 113, 7);
    d[7] = 1;
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, len - 120, f), len - 120);
    assert_int_equal(fwrite(f1, 1, 104, f), 104);
    fclose(f);
    free(d);
}

static void test_v1_segment(void **state)
{
    char *dir = mktmp();
    ocl_tracestore_t *ts = open_ts(dir, 0, 0);
    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 16);
    cp_add(ts, &a, 0);
    ocl_buf_t before;
    get_bytes(ts, 2000, &before);
    assert_int_equal(ocl_tracestore_maintain(ts, 1), 0);
    ocl_tracestore_close(ts);
    char path[4200];
    snprintf(path, sizeof path, "%s/%020llu.trs", dir, 1ull);
    downgrade_to_v1(path);
    ts_seg_t *s = NULL;
    assert_int_equal(ocl_tseg_open(path, 1, &s), 0);
    assert_int_equal(s->from_lo, 0);
    assert_int_equal(s->from_hi, 0);
    ocl_tseg_close(s, 0);
    ts = open_ts(dir, 0, 0);
    ocl_tracestore_stats_t st;
    ocl_tracestore_stats(ts, &st);
    assert_int_equal(st.segments, 1);
    cp_check(ts, 1);
    ocl_buf_t b;
    get_bytes(ts, 2000, &b);
    assert_int_equal(b.len, before.len);
    assert_memory_equal(b.p, before.p, b.len);
    ocl_buf_dispose(&b);
    ocl_buf_dispose(&before);
    /* a version-1 file merges like any other */
    for (uint32_t i = 1; i < 17; i++) {
        cp_add(ts, &a, i);
        assert_int_equal(ocl_tracestore_maintain(ts, 1), 0);
    }
    ocl_tracestore_stats(ts, &st);
    assert_int_equal(st.compactions, 1);
    cp_check(ts, 17);
    ocl_tracestore_close(ts);
    ocl_arena_dispose(&a);
    rmrf(dir);
}

static void test_mmap_fallback(void **state)
{
    char *dir = mktmp();
    ocl_tracestore_t *ts = open_ts(dir, 0, 0);
    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 16);
    for (uint32_t i = 0; i < 3; i++) {
        cp_add(ts, &a, i);
        assert_int_equal(ocl_tracestore_maintain(ts, 1), 0);
    }
    ocl_tracestore_close(ts);
    ocl_tseg_force_pread = 1;
    char path[4200];
    snprintf(path, sizeof path, "%s/%020llu.trs", dir, 2ull);
    ts_seg_t *s = NULL;
    assert_int_equal(ocl_tseg_open(path, 2, &s), 0);
    assert_non_null(s->heap_meta);
    assert_int_equal(s->map_len, 0);
    ocl_tseg_close(s, 0);
    ts = open_ts(dir, 0, 0);
    cp_check(ts, 3);
    /* cuts and merges in pread mode too */
    for (uint32_t i = 3; i < 18; i++) {
        cp_add(ts, &a, i);
        assert_int_equal(ocl_tracestore_maintain(ts, 1), 0);
    }
    ocl_tracestore_stats_t st;
    ocl_tracestore_stats(ts, &st);
    assert_int_equal(st.compactions, 1);
    cp_check(ts, 18);
    ocl_tracestore_close(ts);
    ocl_tseg_force_pread = 0;
    ocl_arena_dispose(&a);
    rmrf(dir);
}

/* ---- concurrency ---- */

#define CT_THREADS 4
#define CT_REQS 150
#define CT_SPANS 16

typedef struct {
    ocl_tracestore_t *ts; /* store */
    int id;               /* thread number */
    volatile int *stop;   /* set when adders are done */
} ct_t;

static void *ct_adder(void *arg)
{
    ct_t *c = arg;
    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 16);
    for (int r = 0; r < CT_REQS; r++) {
        /* each thread owns traces id*1000 + 0..7; spans unique per thread */
        uint32_t tids[8];
        for (int k = 0; k < 8; k++)
            tids[k] = (uint32_t)(c->id * 1000 + k);
        ocl_traces_req_t req =
            mk_req(&a, 1, 1, CT_SPANS, tids, 8, (uint32_t)(c->id * 100000 + r * CT_SPANS), 1000);
        int rc;
        while ((rc = ocl_tracestore_add(c->ts, &req, (uint64_t)r + 1, NULL)) == OCL_EBUSY)
            usleep(100);
        if (rc) abort();
        ocl_arena_reset(&a);
        if (r == CT_REQS / 2) {
            /* make sure cuts overlap with adds */
            ocl_tracestore_stats_t st;
            do {
                usleep(500);
                ocl_tracestore_stats(c->ts, &st);
            } while (st.cuts == 0);
        }
    }
    ocl_arena_dispose(&a);
    return NULL;
}

static void *ct_getter(void *arg)
{
    ct_t *c = arg;
    ocl_buf_t b;
    ocl_buf_init(&b);
    while (!*c->stop) {
        for (int t = 0; t < CT_THREADS; t++) {
            uint8_t id[16];
            mk_tid(id, (uint32_t)(t * 1000 + 3));
            b.len = 0;
            int rc = ocl_tracestore_get(c->ts, id, &b);
            if (rc != 0 && rc != OCL_ENOTFOUND) abort();
        }
    }
    ocl_buf_dispose(&b);
    return NULL;
}

static void *ct_cutter(void *arg)
{
    ct_t *c = arg;
    while (!*c->stop) {
        if (ocl_tracestore_maintain(c->ts, 1) != 0) abort();
        usleep(2000);
    }
    return NULL;
}

static void test_concurrency(void **state)
{
    char *dir = mktmp();
    ocl_tracestore_t *ts = open_ts(dir, 0, 0);
    volatile int stop = 0;
    pthread_t th[CT_THREADS + 2];
    ct_t c[CT_THREADS + 2];
    for (int i = 0; i < CT_THREADS + 2; i++)
        c[i] = (ct_t){ts, i, &stop};
    for (int i = 0; i < CT_THREADS; i++)
        pthread_create(&th[i], NULL, ct_adder, &c[i]);
    pthread_create(&th[CT_THREADS], NULL, ct_getter, &c[CT_THREADS]);
    pthread_create(&th[CT_THREADS + 1], NULL, ct_cutter, &c[CT_THREADS + 1]);
    for (int i = 0; i < CT_THREADS; i++)
        pthread_join(th[i], NULL);
    stop = 1;
    pthread_join(th[CT_THREADS], NULL);
    pthread_join(th[CT_THREADS + 1], NULL);
    ocl_tracestore_stats_t st;
    ocl_tracestore_stats(ts, &st);
    assert_int_equal(st.spans_stored, CT_THREADS * CT_REQS * CT_SPANS);
    assert_true(st.cuts >= 1);
    parsed_t *o = calloc(1, sizeof *o);
    for (int round = 0; round < 2; round++) {
        for (int t = 0; t < CT_THREADS; t++)
            for (int k = 0; k < 8; k++) {
                assert_int_equal(get_parsed(ts, (uint32_t)(t * 1000 + k), o), 0);
                assert_int_equal(o->nspans, CT_REQS * CT_SPANS / 8);
            }
        assert_int_equal(ocl_tracestore_maintain(ts, 1), 0);
    }
    free(o);
    ocl_tracestore_close(ts);
    rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_get),
        cmocka_unit_test(test_grouping),
        cmocka_unit_test(test_dedupe),
        cmocka_unit_test(test_invalid_ids),
        cmocka_unit_test(test_cut_and_reopen),
        cmocka_unit_test(test_retention),
        cmocka_unit_test(test_corrupt_segment),
        cmocka_unit_test(test_admit),
        cmocka_unit_test(test_cut_by_size),
        cmocka_unit_test(test_compaction),
        cmocka_unit_test(test_compaction_retention),
        cmocka_unit_test(test_compaction_crash),
        cmocka_unit_test(test_v1_segment),
        cmocka_unit_test(test_mmap_fallback),
        cmocka_unit_test(test_concurrency),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
