/*
 * tracestore.c — the trace store: the sharded in-memory head, ingest, the
 * lookup that merges head, cutting head and segments, cuts and retention.
 * Segment files are in segment.c; formats in docs/FORMATS.md.
 *
 * Invariants:
 *  - `lk` (a writer-preferring rwlock) guards the head/cutting pointers and
 *    the segment list. add and get hold it shared for their whole run; a cut
 *    and retention take it exclusively only to swap pointers, so after the
 *    swap nobody can still be adding to the old head, which is then written
 *    to disk with no lock held while gets keep reading it as `cutting`.
 *  - per-shard state is guarded by the shard mutex; head counters are
 *    atomics updated once per request and shard.
 *  - `maint_mu` serialises maintain() (one cut at a time).
 *
 * Workload: ingest is the hot path (target ≤ 200 ns/span amortised): one
 * dictionary lock per request for resources/scopes, span indices bucketed
 * by shard so each shard is locked once per request, raw span bytes copied
 * into 256 KiB chunks (no malloc per span).
 */
#include "store/traces/ts_internal.h"

#include "core/log.h"
#include "core/time.h"
#include "wire/pb.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

struct ocl_tracestore {
    char *dir;                 /* segment directory (owned) */
    uint64_t head_max_bytes;   /* cut threshold */
    uint64_t head_max_age_ns;  /* cut age */
    uint64_t retention_ns;     /* retention relative to newest data */
    uint64_t max_memory_bytes; /* admission limit */

    pthread_rwlock_t lk;      /* guards head, cutting, segs (see above) */
    ts_head_t *head;          /* receives adds */
    ts_head_t *cutting;       /* being written to a segment, or NULL */
    ts_seg_t **segs;          /* segments, oldest first */
    size_t nsegs;             /* segments used */
    size_t capsegs;           /* segments allocated */
    pthread_mutex_t maint_mu; /* serialises maintain */
    uint64_t next_seg_id;     /* id of the next segment file (maint_mu) */
    uint64_t newest_time;     /* newest span start seen (atomic) */
    uint64_t max_seq;         /* highest WAL seq added or in segments (atomic) */
    uint64_t spans_stored;    /* spans added since open (atomic) */
    uint64_t cuts;            /* cuts since open (atomic) */
    uint64_t compactions;     /* segment merges since open (atomic) */
    int replaying;            /* WAL replay: admission limit off (atomic) */
};

#define A_LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define A_ADD(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define A_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

static void atomic_min(uint64_t *p, uint64_t v)
{
    uint64_t cur = A_LOAD(p);
    while (v < cur &&
           !__atomic_compare_exchange_n(p, &cur, v, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
}
static void atomic_max(uint64_t *p, uint64_t v)
{
    uint64_t cur = A_LOAD(p);
    while (v > cur &&
           !__atomic_compare_exchange_n(p, &cur, v, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
}

/* ---- dictionary ---- */

static void dict_init(ts_dict_t *d)
{
    pthread_mutex_init(&d->mu, NULL);
    d->v = NULL;
    d->n = d->cap = 0;
    d->mask = 63;
    d->slots = ocl_calloc(64, sizeof *d->slots);
}

static void dict_dispose(ts_dict_t *d)
{
    for (uint32_t i = 0; i < d->n; i++)
        free(d->v[i]);
    free(d->v);
    free(d->slots);
    pthread_mutex_destroy(&d->mu);
}

static uint64_t dent_hash(const void *raw, size_t rn, const void *url, size_t un)
{
    return XXH3_64bits_withSeed(raw, rn, 0) ^ (XXH3_64bits_withSeed(url, un, 1) * 31);
}

/* Interns (raw, url); returns its id. Caller holds d->mu. */
/* Interns (raw, url); *bytes grows by the memory a new entry takes. */
static uint32_t dict_intern(ts_dict_t *d, ocl_str_t raw, ocl_str_t url, uint64_t *bytes)
{
    uint64_t h = dent_hash(raw.p, raw.n, url.p, url.n);
    uint32_t i = (uint32_t)h & d->mask;
    for (;;) {
        uint32_t s = d->slots[i];
        if (!s) break;
        ts_dent_t *e = d->v[s - 1];
        if (e->hash == h && e->raw_len == raw.n && e->url_len == url.n &&
            (raw.n == 0 || memcmp(e->raw, raw.p, raw.n) == 0) &&
            (url.n == 0 || memcmp(e->url, url.p, url.n) == 0))
            return s - 1;
        i = (i + 1) & d->mask;
    }
    ts_dent_t *e = ocl_malloc(sizeof *e + raw.n + url.n);
    *bytes += sizeof *e + raw.n + url.n + 2 * sizeof(uint32_t) + sizeof(void *);
    uint8_t *p = (uint8_t *)(e + 1);
    if (raw.n) memcpy(p, raw.p, raw.n);
    if (url.n) memcpy(p + raw.n, url.p, url.n);
    e->raw = p;
    e->url = p + raw.n;
    e->raw_len = (uint32_t)raw.n;
    e->url_len = (uint32_t)url.n;
    e->hash = h;
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 16;
        d->v = ocl_realloc(d->v, d->cap * sizeof *d->v);
    }
    uint32_t id = d->n++;
    d->v[id] = e;
    d->slots[i] = id + 1;
    if ((uint64_t)d->n * 2 > d->mask) {
        uint32_t nmask = d->mask * 2 + 1;
        uint32_t *ns = ocl_calloc((size_t)nmask + 1, sizeof *ns);
        for (uint32_t k = 0; k < d->n; k++) {
            uint32_t j = (uint32_t)d->v[k]->hash & nmask;
            while (ns[j])
                j = (j + 1) & nmask;
            ns[j] = k + 1;
        }
        free(d->slots);
        d->slots = ns;
        d->mask = nmask;
    }
    return id;
}

/* ---- head ---- */

ts_head_t *ocl_tshead_create(void)
{
    ts_head_t *h = ocl_calloc(1, sizeof *h);
    for (int i = 0; i < TS_SHARDS; i++) {
        ts_shard_t *s = &h->shards[i];
        pthread_mutex_init(&s->mu, NULL);
        s->mask = 63;
        s->slots = ocl_calloc(64, sizeof *s->slots);
    }
    dict_init(&h->res);
    dict_init(&h->scope);
    h->min_seq = UINT64_MAX;
    h->min_time = UINT64_MAX;
    return h;
}

void ocl_tshead_destroy(ts_head_t *h)
{
    if (!h) return;
    for (int i = 0; i < TS_SHARDS; i++) {
        ts_shard_t *s = &h->shards[i];
        for (uint32_t t = 0; t < s->ntraces; t++)
            free(s->traces[t].refs);
        free(s->traces);
        free(s->slots);
        for (uint32_t c = 0; c < s->nchunks; c++)
            free(s->chunks[c]);
        free(s->chunks);
        pthread_mutex_destroy(&s->mu);
    }
    dict_dispose(&h->res);
    dict_dispose(&h->scope);
    free(h);
}

/* Finds or inserts the trace; returns its index. Shard lock held. *added
 * receives the bytes accounted for a new trace. */
static uint32_t shard_trace(ts_shard_t *s, const uint8_t *id, uint64_t h, uint64_t *added)
{
    uint32_t i = (uint32_t)(h >> 8) & s->mask;
    for (;;) {
        uint32_t v = s->slots[i];
        if (!v) break;
        ts_trace_t *t = &s->traces[v - 1];
        if (t->hash == h && memcmp(t->id, id, 16) == 0) return v - 1;
        i = (i + 1) & s->mask;
    }
    if (s->ntraces == s->captraces) {
        s->captraces = s->captraces ? s->captraces * 2 : 64;
        s->traces = ocl_realloc(s->traces, s->captraces * sizeof *s->traces);
    }
    uint32_t idx = s->ntraces++;
    ts_trace_t *t = &s->traces[idx];
    memcpy(t->id, id, 16);
    t->hash = h;
    t->refs = NULL;
    t->n = t->cap = 0;
    s->slots[i] = idx + 1;
    *added += sizeof *t + 2 * sizeof(uint32_t);
    if ((uint64_t)s->ntraces * 10 > (uint64_t)s->mask * 7) {
        uint32_t nmask = s->mask * 2 + 1;
        uint32_t *ns = ocl_calloc((size_t)nmask + 1, sizeof *ns);
        for (uint32_t k = 0; k < s->ntraces; k++) {
            uint32_t j = (uint32_t)(s->traces[k].hash >> 8) & nmask;
            while (ns[j])
                j = (j + 1) & nmask;
            ns[j] = k + 1;
        }
        free(s->slots);
        s->slots = ns;
        s->mask = nmask;
    }
    return idx;
}

/* Copies raw span bytes into the shard's chunks; returns chunk/offset. */
static void shard_store(ts_shard_t *s, const void *p, uint32_t n, uint32_t *chunk, uint32_t *off)
{
    if (!s->nchunks || s->last_cap - s->used < n) {
        uint32_t cap = n > TS_CHUNK ? n : TS_CHUNK;
        if (s->nchunks == s->capchunks) {
            s->capchunks = s->capchunks ? s->capchunks * 2 : 8;
            s->chunks = ocl_realloc(s->chunks, s->capchunks * sizeof *s->chunks);
        }
        s->chunks[s->nchunks++] = ocl_malloc(cap);
        s->last_cap = cap;
        s->used = 0;
    }
    *chunk = s->nchunks - 1;
    *off = s->used;
    memcpy(s->chunks[*chunk] + s->used, p, n);
    s->used += n;
}

/* Appends one span to trace t of shard s: the one place a span enters a
 * head (ingest and compaction). Shard lock held. Returns the bytes taken. */
static inline uint64_t trace_append(ts_shard_t *s, ts_trace_t *t, uint32_t res, uint32_t scope,
                                    const uint8_t *span_id, const void *raw, uint32_t len,
                                    uint64_t start, uint64_t end)
{
    uint64_t bytes = len;
    if (t->n == t->cap) {
        uint32_t ncap = t->cap ? t->cap * 2 : 4;
        t->refs = ocl_realloc(t->refs, ncap * sizeof *t->refs);
        bytes += (uint64_t)(ncap - t->cap) * sizeof *t->refs;
        t->cap = ncap;
    }
    ts_ref_t *r = &t->refs[t->n++];
    r->res = res;
    r->scope = scope;
    r->len = len;
    shard_store(s, raw, len, &r->chunk, &r->off);
    memcpy(r->span_id, span_id, 8);
    r->start = start;
    r->end = end;
    return bytes;
}

uint32_t ocl_tshead_intern(ts_head_t *h, int scope, const ts_dent_t *e)
{
    ts_dict_t *d = scope ? &h->scope : &h->res;
    uint64_t bytes = 0;
    pthread_mutex_lock(&d->mu);
    uint32_t id = dict_intern(d, (ocl_str_t){(const char *)e->raw, e->raw_len},
                              (ocl_str_t){(const char *)e->url, e->url_len}, &bytes);
    pthread_mutex_unlock(&d->mu);
    A_ADD(&h->bytes, bytes);
    return id;
}

void ocl_tshead_add_span(ts_head_t *h, const uint8_t *trace_id, uint32_t res, uint32_t scope,
                         const uint8_t *span_id, const uint8_t *raw, uint32_t len, uint64_t start,
                         uint64_t end)
{
    uint64_t hv = XXH3_64bits(trace_id, 16), bytes = 0;
    ts_shard_t *s = &h->shards[hv & (TS_SHARDS - 1)];
    pthread_mutex_lock(&s->mu);
    uint32_t ti = shard_trace(s, trace_id, hv, &bytes);
    int fresh = bytes != 0;
    bytes += trace_append(s, &s->traces[ti], res, scope, span_id, raw, len, start, end);
    pthread_mutex_unlock(&s->mu);
    A_ADD(&h->bytes, bytes);
    A_ADD(&h->spans, 1);
    if (fresh) A_ADD(&h->traces, 1);
}

/* ---- add ---- */

typedef struct {
    const ocl_span_t *sp; /* the span */
    uint64_t h;           /* XXH3 of its trace id */
    uint32_t res;         /* interned resource id */
    uint32_t scope;       /* interned scope id */
} pend_t;

static int id_valid(ocl_str_t id, size_t n)
{
    if (id.n != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (id.p[i]) return 1;
    return 0;
}

static uint64_t live_bytes(ocl_tracestore_t *ts)
{
    uint64_t b = A_LOAD(&ts->head->bytes);
    if (ts->cutting) b += A_LOAD(&ts->cutting->bytes);
    return b;
}

int ocl_tracestore_admit(ocl_tracestore_t *ts)
{
    pthread_rwlock_rdlock(&ts->lk);
    int rc = live_bytes(ts) > ts->max_memory_bytes ? OCL_EBUSY : 0;
    pthread_rwlock_unlock(&ts->lk);
    return rc;
}

/* Per-thread scratch reused across requests (no malloc per request after
 * warm-up); freed by a pthread key destructor when the thread exits. */
typedef struct {
    pend_t *pend;    /* pending spans */
    uint32_t *order; /* pend indices bucketed by shard */
    size_t cap;      /* entries allocated in both */
} scratch_t;
static __thread scratch_t *tl_scratch;
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_free(void *p)
{
    scratch_t *s = p;
    free(s->pend);
    free(s->order);
    free(s);
}
static void scratch_key_init(void)
{
    pthread_key_create(&scratch_key, scratch_free);
}

static scratch_t *scratch_get(size_t n)
{
    scratch_t *s = tl_scratch;
    if (OCL_UNLIKELY(!s)) {
        pthread_once(&scratch_once, scratch_key_init);
        s = tl_scratch = ocl_calloc(1, sizeof *s);
        pthread_setspecific(scratch_key, s);
    }
    if (n > s->cap) {
        free(s->pend);
        free(s->order);
        s->cap = n + n / 2;
        s->pend = ocl_malloc(s->cap * sizeof *s->pend);
        s->order = ocl_malloc(s->cap * sizeof *s->order);
    }
    return s;
}

int ocl_tracestore_add(ocl_tracestore_t *ts, const ocl_traces_req_t *req, uint64_t seq,
                       size_t *rejected)
{
    int rc = 0;
    size_t rej = 0, total = ocl_otlp_traces_count(req), np = 0;
    scratch_t *scr = scratch_get(total);
    pend_t *pend = scr->pend;
    uint32_t *order_ix = scr->order;
    pthread_rwlock_rdlock(&ts->lk);
    ts_head_t *h = ts->head;
    if (!A_LOAD(&ts->replaying) && live_bytes(ts) > ts->max_memory_bytes) {
        rc = OCL_EBUSY;
        goto done;
    }
    uint64_t bytes = 0, ntr = 0;

    /* 1. validate, intern resources and scopes (one lock each per request) */
    pthread_mutex_lock(&h->res.mu);
    pthread_mutex_lock(&h->scope.mu);
    uint64_t tmin = UINT64_MAX, tmax = 0;
    for (uint32_t r = 0; r < req->n_rs; r++) {
        const ocl_resource_spans_t *rs = &req->rs[r];
        uint32_t rid = UINT32_MAX;
        for (uint32_t c = 0; c < rs->n_scope_spans; c++) {
            const ocl_scope_spans_t *ss = &rs->scope_spans[c];
            uint32_t sid = UINT32_MAX;
            for (uint32_t k = 0; k < ss->n_spans; k++) {
                const ocl_span_t *sp = &ss->spans[k];
                if (!id_valid(sp->trace_id, 16) || !id_valid(sp->span_id, 8) || sp->raw.n == 0 ||
                    sp->raw.n > UINT32_MAX / 2) {
                    rej++;
                    continue;
                }
                if (rid == UINT32_MAX)
                    rid = dict_intern(&h->res, rs->resource.raw, rs->schema_url, &bytes);
                if (sid == UINT32_MAX)
                    sid = dict_intern(&h->scope, ss->scope.raw, ss->schema_url, &bytes);
                pend_t *p = &pend[np++];
                p->sp = sp;
                p->h = XXH3_64bits(sp->trace_id.p, 16);
                p->res = rid;
                p->scope = sid;
                if (sp->start_unix_nano < tmin) tmin = sp->start_unix_nano;
                if (sp->start_unix_nano > tmax) tmax = sp->start_unix_nano;
            }
        }
    }
    pthread_mutex_unlock(&h->scope.mu);
    pthread_mutex_unlock(&h->res.mu);
    if (!np) {
        A_ADD(&h->bytes, bytes);
        goto done;
    }

    /* 2. bucket by shard (counting sort, stable) */
    uint32_t cnt[TS_SHARDS + 1] = {0};
    for (size_t i = 0; i < np; i++)
        cnt[(pend[i].h & (TS_SHARDS - 1)) + 1]++;
    for (int i = 0; i < TS_SHARDS; i++)
        cnt[i + 1] += cnt[i];
    uint32_t pos[TS_SHARDS];
    memcpy(pos, cnt, sizeof pos);
    for (size_t i = 0; i < np; i++)
        order_ix[pos[pend[i].h & (TS_SHARDS - 1)]++] = (uint32_t)i;

    /* 3. one lock per shard touched */
    for (int sh = 0; sh < TS_SHARDS; sh++) {
        if (cnt[sh] == cnt[sh + 1]) continue;
        ts_shard_t *s = &h->shards[sh];
        pthread_mutex_lock(&s->mu);
        uint32_t prev = UINT32_MAX;
        const uint8_t *prev_id = NULL;
        for (uint32_t j = cnt[sh]; j < cnt[sh + 1]; j++) {
            const pend_t *p = &pend[order_ix[j]];
            const ocl_span_t *sp = p->sp;
            const uint8_t *tid = (const uint8_t *)sp->trace_id.p;
            uint32_t ti;
            if (prev_id && memcmp(prev_id, tid, 16) == 0) {
                ti = prev;
            } else {
                uint64_t before = bytes;
                ti = shard_trace(s, tid, p->h, &bytes);
                if (bytes != before) ntr++;
                prev = ti;
                prev_id = tid;
            }
            bytes += trace_append(s, &s->traces[ti], p->res, p->scope,
                                  (const uint8_t *)sp->span_id.p, sp->raw.p, (uint32_t)sp->raw.n,
                                  sp->start_unix_nano, sp->end_unix_nano);
        }
        pthread_mutex_unlock(&s->mu);
    }

    A_ADD(&h->bytes, bytes);
    A_ADD(&h->spans, np);
    A_ADD(&h->traces, ntr);
    uint64_t zero = 0, now = ocl_mono_nano();
    if (A_LOAD(&h->first_mono) == 0)
        __atomic_compare_exchange_n(&h->first_mono, &zero, now, 0, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED);
    atomic_min(&h->min_seq, seq);
    atomic_max(&h->max_seq, seq);
    atomic_min(&h->min_time, tmin);
    atomic_max(&h->max_time, tmax);
    /* Retention counts back from the newest span, so one span stamped far
     * in the future must not age everything out: clamp to now + 1 h. */
    uint64_t horizon = ocl_now_unix_nano() + 3600ull * 1000000000ull;
    atomic_max(&ts->newest_time, tmax < horizon ? tmax : horizon);
    atomic_max(&ts->max_seq, seq);
    A_ADD(&ts->spans_stored, np);
done:
    pthread_rwlock_unlock(&ts->lk);
    if (rejected) *rejected = rej;
    return rc;
}

/* ---- get ---- */

ts_item_t *ocl_tsgather_push(ts_gather_t *g)
{
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 64;
        g->v = ocl_realloc(g->v, g->cap * sizeof *g->v);
    }
    return &g->v[g->n++];
}

void ocl_tsgather_keep(ts_gather_t *g, void *buf)
{
    if (g->nbufs == g->capbufs) {
        g->capbufs = g->capbufs ? g->capbufs * 2 : 8;
        g->bufs = ocl_realloc(g->bufs, g->capbufs * sizeof *g->bufs);
    }
    g->bufs[g->nbufs++] = buf;
}

static void head_lookup(ts_head_t *h, const uint8_t id[16], ts_gather_t *g, uint32_t *order)
{
    uint64_t hv = XXH3_64bits(id, 16);
    ts_shard_t *s = &h->shards[hv & (TS_SHARDS - 1)];
    size_t first = g->n;
    pthread_mutex_lock(&s->mu);
    uint32_t i = (uint32_t)(hv >> 8) & s->mask;
    const ts_trace_t *t = NULL;
    for (;;) {
        uint32_t v = s->slots[i];
        if (!v) break;
        if (s->traces[v - 1].hash == hv && memcmp(s->traces[v - 1].id, id, 16) == 0) {
            t = &s->traces[v - 1];
            break;
        }
        i = (i + 1) & s->mask;
    }
    for (uint32_t k = 0; t && k < t->n; k++) {
        const ts_ref_t *r = &t->refs[k];
        ts_item_t *it = ocl_tsgather_push(g);
        /* res/scope hold ids until resolved below (outside the shard lock) */
        it->res = (const ts_dent_t *)(uintptr_t)r->res;
        it->scope = (const ts_dent_t *)(uintptr_t)r->scope;
        it->raw = s->chunks[r->chunk] + r->off;
        it->len = r->len;
        it->order = (*order)++;
        memcpy(it->span_id, r->span_id, 8);
    }
    pthread_mutex_unlock(&s->mu);
    if (g->n == first) return;
    pthread_mutex_lock(&h->res.mu);
    pthread_mutex_lock(&h->scope.mu);
    for (size_t k = first; k < g->n; k++) {
        g->v[k].res = h->res.v[(uintptr_t)g->v[k].res];
        g->v[k].scope = h->scope.v[(uintptr_t)g->v[k].scope];
    }
    pthread_mutex_unlock(&h->scope.mu);
    pthread_mutex_unlock(&h->res.mu);
}

static int cmp_spanid(const void *a, const void *b)
{
    const ts_item_t *x = a, *y = b;
    int c = memcmp(x->span_id, y->span_id, 8);
    if (c) return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int dent_cmp(const ts_dent_t *a, const ts_dent_t *b)
{
    if (a == b) return 0;
    if (a->hash != b->hash) return a->hash < b->hash ? -1 : 1;
    if (a->raw_len != b->raw_len) return a->raw_len < b->raw_len ? -1 : 1;
    if (a->url_len != b->url_len) return a->url_len < b->url_len ? -1 : 1;
    int c = a->raw_len ? memcmp(a->raw, b->raw, a->raw_len) : 0;
    if (c) return c;
    return a->url_len ? memcmp(a->url, b->url, a->url_len) : 0;
}

static int cmp_group(const void *a, const void *b)
{
    const ts_item_t *x = a, *y = b;
    int c = dent_cmp(x->res, y->res);
    if (c) return c;
    c = dent_cmp(x->scope, y->scope);
    if (c) return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Size of a length-delimited field with a one-byte tag. */
static size_t ld_size(uint64_t n)
{
    return 1 + ocl_pb_varint_size(n) + n;
}

/* Encodes the sorted, deduplicated items as TracesData into out. */
static void encode_items(const ts_item_t *v, size_t n, ocl_buf_t *out)
{
    size_t i = 0;
    while (i < n) {
        /* one ResourceSpans: items [i, j) */
        size_t j = i;
        while (j < n && dent_cmp(v[j].res, v[i].res) == 0)
            j++;
        const ts_dent_t *res = v[i].res;
        uint64_t rs_size = ld_size(res->raw_len) + (res->url_len ? ld_size(res->url_len) : 0);
        for (size_t a = i; a < j;) {
            size_t b = a;
            uint64_t ss = ld_size(v[a].scope->raw_len) +
                          (v[a].scope->url_len ? ld_size(v[a].scope->url_len) : 0);
            while (b < j && dent_cmp(v[b].scope, v[a].scope) == 0)
                ss += ld_size(v[b++].len);
            rs_size += ld_size(ss);
            a = b;
        }
        ocl_pb_put_tag(out, 1, OCL_PB_LEN);
        ocl_pb_put_varint(out, rs_size);
        ocl_pb_put_bytes(out, 1, res->raw, res->raw_len);
        for (size_t a = i; a < j;) {
            size_t b = a;
            const ts_dent_t *sc = v[a].scope;
            uint64_t ss = ld_size(sc->raw_len) + (sc->url_len ? ld_size(sc->url_len) : 0);
            while (b < j && dent_cmp(v[b].scope, sc) == 0)
                ss += ld_size(v[b++].len);
            ocl_pb_put_tag(out, 2, OCL_PB_LEN);
            ocl_pb_put_varint(out, ss);
            ocl_pb_put_bytes(out, 1, sc->raw, sc->raw_len);
            for (size_t k = a; k < b; k++)
                ocl_pb_put_bytes(out, 2, v[k].raw, v[k].len);
            if (sc->url_len) ocl_pb_put_bytes(out, 3, sc->url, sc->url_len);
            a = b;
        }
        if (res->url_len) ocl_pb_put_bytes(out, 3, res->url, res->url_len);
        i = j;
    }
}

int ocl_tracestore_get(ocl_tracestore_t *ts, const uint8_t trace_id[16], ocl_buf_t *out)
{
    int rc = 0;
    ts_gather_t g = {0};
    uint32_t order = 0;
    pthread_rwlock_rdlock(&ts->lk);
    head_lookup(ts->head, trace_id, &g, &order);
    if (ts->cutting) head_lookup(ts->cutting, trace_id, &g, &order);
    for (size_t i = ts->nsegs; i-- > 0;) {
        int r = ocl_tseg_lookup(ts->segs[i], trace_id, &g, &order);
        if (r == OCL_ECORRUPT)
            ocl_warn("tracestore: segment %s: corrupt block skipped", ts->segs[i]->path);
        else if (r == OCL_EIO) {
            /* Never answer with part of a trace as if it were all of it. */
            ocl_error("tracestore: segment %s: read failed", ts->segs[i]->path);
            rc = OCL_EIO;
            goto done;
        }
    }
    if (g.n == 0) {
        rc = OCL_ENOTFOUND;
        goto done;
    }
    /* dedupe by span id, first gathered wins */
    qsort(g.v, g.n, sizeof *g.v, cmp_spanid);
    size_t k = 0;
    for (size_t i = 0; i < g.n; i++)
        if (k == 0 || memcmp(g.v[k - 1].span_id, g.v[i].span_id, 8) != 0) g.v[k++] = g.v[i];
    g.n = k;
    qsort(g.v, g.n, sizeof *g.v, cmp_group);
    encode_items(g.v, g.n, out);
done:
    pthread_rwlock_unlock(&ts->lk);
    for (size_t i = 0; i < g.nbufs; i++)
        free(g.bufs[i]);
    free(g.bufs);
    free(g.v);
    return rc;
}

/* ---- open / close ---- */

static int cmp_seg(const void *a, const void *b)
{
    const ts_seg_t *x = *(ts_seg_t *const *)a, *y = *(ts_seg_t *const *)b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static void push_seg(ocl_tracestore_t *ts, ts_seg_t *s)
{
    if (ts->nsegs == ts->capsegs) {
        ts->capsegs = ts->capsegs ? ts->capsegs * 2 : 16;
        ts->segs = ocl_realloc(ts->segs, ts->capsegs * sizeof *ts->segs);
    }
    ts->segs[ts->nsegs++] = s;
}

/* Parses "%020llu.trs" (with `suffix` after it); 0 on match. */
static int parse_seg_name(const char *name, const char *suffix, uint64_t *id)
{
    size_t sl = strlen(suffix);
    if (strlen(name) != 20 + sl || strcmp(name + 20, suffix) != 0) return -1;
    uint64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9') return -1;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    *id = v;
    return 0;
}

/* After a crash between a compaction's rename and the deletion of its
 * inputs, both are on disk: deletes every segment whose id lies in the
 * replaced range of a (necessarily higher) compacted segment. segs sorted. */
static void drop_replaced(ocl_tracestore_t *ts)
{
    uint8_t *gone = NULL;
    for (size_t m = 0; m < ts->nsegs; m++) {
        const ts_seg_t *c = ts->segs[m];
        if (!c->from_hi) continue;
        /* first segment with id >= from_lo */
        size_t a = 0, b = m;
        while (a < b) {
            size_t mid = a + (b - a) / 2;
            if (ts->segs[mid]->id < c->from_lo)
                a = mid + 1;
            else
                b = mid;
        }
        for (; a < m && ts->segs[a]->id <= c->from_hi; a++) {
            if (!gone) gone = ocl_calloc(ts->nsegs, 1);
            gone[a] = 1;
        }
    }
    if (!gone) return;
    size_t k = 0;
    for (size_t i = 0; i < ts->nsegs; i++) {
        ts_seg_t *s = ts->segs[i];
        if (gone[i]) {
            ocl_info("tracestore: deleting %s: replaced by a compacted segment", s->path);
            ocl_tseg_close(s, 1);
        } else {
            ts->segs[k++] = s;
        }
    }
    ts->nsegs = k;
    free(gone);
}

int ocl_tracestore_open(const ocl_tracestore_cfg_t *cfg, ocl_tracestore_t **out)
{
    int rc = OCL_EINVAL;
    ocl_tracestore_t *ts = NULL;
    DIR *d = NULL;
    if (!cfg || !cfg->dir || !out) goto error;
    ts = ocl_calloc(1, sizeof *ts);
    ts->dir = ocl_strndup(cfg->dir, strlen(cfg->dir));
    ts->head_max_bytes = cfg->head_max_bytes ? cfg->head_max_bytes : 64ull << 20;
    ts->head_max_age_ns =
        (uint64_t)(cfg->head_max_age_s ? cfg->head_max_age_s : 60) * 1000000000ull;
    ts->retention_ns = (cfg->retention_s ? cfg->retention_s : 7 * 86400ull) * 1000000000ull;
    ts->max_memory_bytes = cfg->max_memory_bytes ? cfg->max_memory_bytes : 4 * ts->head_max_bytes;
    /* The head must be cut well before admission closes. */
    if (ts->head_max_bytes > ts->max_memory_bytes / 4)
        ts->head_max_bytes = ts->max_memory_bytes / 4;
    pthread_rwlockattr_t at;
    pthread_rwlockattr_init(&at);
    pthread_rwlockattr_setkind_np(&at, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&ts->lk, &at);
    pthread_rwlockattr_destroy(&at);
    pthread_mutex_init(&ts->maint_mu, NULL);
    ts->head = ocl_tshead_create();
    ts->next_seg_id = 1;
    rc = ocl_mkdir_p(ts->dir);
    if (rc) goto error;

    rc = OCL_EIO;
    d = opendir(ts->dir);
    if (!d) goto error;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char path[4200];
        uint64_t id;
        snprintf(path, sizeof path, "%s/%s", ts->dir, de->d_name);
        if (parse_seg_name(de->d_name, ".trs.tmp", &id) == 0) {
            ocl_info("tracestore: removing unfinished segment %s", path);
            unlink(path);
            continue;
        }
        if (parse_seg_name(de->d_name, ".trs", &id) != 0) continue;
        if (id >= ts->next_seg_id) ts->next_seg_id = id + 1;
        ts_seg_t *s = NULL;
        int r = ocl_tseg_open(path, id, &s);
        if (r == OCL_ECORRUPT) {
            char bad[4300];
            snprintf(bad, sizeof bad, "%s.corrupt", path);
            ocl_warn("tracestore: segment %s is corrupt; renamed to .corrupt", path);
            rename(path, bad);
            continue;
        }
        if (r) {
            ocl_error("tracestore: cannot open segment %s: %s", path, ocl_strerror(r));
            continue;
        }
        push_seg(ts, s);
        uint64_t horizon = ocl_now_unix_nano() + 3600ull * 1000000000ull;
        uint64_t mt = s->max_time < horizon ? s->max_time : horizon;
        if (mt > ts->newest_time) ts->newest_time = mt;
        if (s->max_seq > ts->max_seq) ts->max_seq = s->max_seq;
    }
    closedir(d);
    d = NULL;
    if (ts->nsegs) qsort(ts->segs, ts->nsegs, sizeof *ts->segs, cmp_seg);
    drop_replaced(ts);
    *out = ts;
    return 0;
error:
    if (d) closedir(d);
    ocl_tracestore_close(ts);
    return rc;
}

void ocl_tracestore_close(ocl_tracestore_t *ts)
{
    if (!ts) return;
    ocl_tshead_destroy(ts->head);
    ocl_tshead_destroy(ts->cutting);
    for (size_t i = 0; i < ts->nsegs; i++)
        ocl_tseg_close(ts->segs[i], 0);
    free(ts->segs);
    pthread_rwlock_destroy(&ts->lk);
    pthread_mutex_destroy(&ts->maint_mu);
    free(ts->dir);
    free(ts);
}

/* ---- maintain ---- */

/* One compaction step (policy in compact.c). maint_mu held: nobody else
 * changes the segment list, so the inputs stay valid while they are read
 * and written with no lock; the write lock is taken only for the swap. */
static void compact_once(ocl_tracestore_t *ts)
{
    size_t lo = 0, hi = 0;
    pthread_rwlock_rdlock(&ts->lk);
    int due =
        ocl_tscompact_pick(ts->segs, ts->nsegs, ts->retention_ns / COMPACT_SPREAD_DIV, &lo, &hi);
    size_t n = hi - lo;
    ts_seg_t **in = NULL;
    uint64_t floor = 0;
    if (due) {
        in = ocl_malloc(n * sizeof *in);
        memcpy(in, ts->segs + lo, n * sizeof *in);
        floor = lo ? ts->segs[lo - 1]->id + 1 : 0;
    }
    pthread_rwlock_unlock(&ts->lk);
    if (!due) return;
    ts_seg_t *merged = NULL;
    if (ocl_tscompact_merge(ts->dir, ts->next_seg_id, floor, in, n, &merged) != 0) {
        /* the inputs are untouched; the next call tries again */
        free(in);
        return;
    }
    ts->next_seg_id++;
    pthread_rwlock_wrlock(&ts->lk);
    /* the list is sorted by id and the merged id is the newest: drop the
     * run, append the merged segment */
    memmove(ts->segs + lo, ts->segs + hi, (ts->nsegs - hi) * sizeof *ts->segs);
    ts->nsegs -= n;
    push_seg(ts, merged);
    pthread_rwlock_unlock(&ts->lk);
    for (size_t i = 0; i < n; i++)
        ocl_tseg_close(in[i], 1);
    free(in);
    A_ADD(&ts->compactions, 1);
}

int ocl_tracestore_maintain(ocl_tracestore_t *ts, int force)
{
    int rc = 0;
    pthread_mutex_lock(&ts->maint_mu);

    /* a previous cut that failed to write is retried first */
    if (!ts->cutting) {
        pthread_rwlock_rdlock(&ts->lk);
        ts_head_t *h = ts->head;
        uint64_t spans = A_LOAD(&h->spans), first = A_LOAD(&h->first_mono);
        int due = spans > 0 && (force || A_LOAD(&h->bytes) > ts->head_max_bytes ||
                                (first && ocl_mono_nano() - first >= ts->head_max_age_ns));
        pthread_rwlock_unlock(&ts->lk);
        if (due) {
            ts_head_t *fresh = ocl_tshead_create();
            pthread_rwlock_wrlock(&ts->lk);
            ts->cutting = ts->head;
            ts->head = fresh;
            pthread_rwlock_unlock(&ts->lk);
        }
    }
    if (ts->cutting) {
        ts_seg_t *s = NULL;
        rc = ocl_tseg_write(ts->dir, ts->next_seg_id, ts->cutting, 0, 0, &s);
        if (rc) {
            ocl_error("tracestore: writing segment %llu failed: %s",
                      (unsigned long long)ts->next_seg_id, ocl_strerror(rc));
        } else {
            ts->next_seg_id++;
            pthread_rwlock_wrlock(&ts->lk);
            ts_head_t *old = ts->cutting;
            ts->cutting = NULL;
            push_seg(ts, s);
            pthread_rwlock_unlock(&ts->lk);
            ocl_tshead_destroy(old);
            A_ADD(&ts->cuts, 1);
        }
    }

    compact_once(ts);

    /* retention: relative to the newest span start seen */
    uint64_t newest = A_LOAD(&ts->newest_time);
    if (newest > ts->retention_ns) {
        uint64_t cutoff = newest - ts->retention_ns;
        ts_seg_t **drop = NULL;
        size_t ndrop = 0;
        int any = 0;
        pthread_rwlock_rdlock(&ts->lk);
        for (size_t i = 0; i < ts->nsegs && !any; i++)
            any = ts->segs[i]->max_time < cutoff;
        pthread_rwlock_unlock(&ts->lk);
        if (!any) goto unlock;
        pthread_rwlock_wrlock(&ts->lk);
        size_t k = 0;
        for (size_t i = 0; i < ts->nsegs; i++) {
            ts_seg_t *s = ts->segs[i];
            if (s->max_time < cutoff) {
                drop = ocl_realloc(drop, (ndrop + 1) * sizeof *drop);
                drop[ndrop++] = s;
            } else {
                ts->segs[k++] = s;
            }
        }
        ts->nsegs = k;
        pthread_rwlock_unlock(&ts->lk);
        for (size_t i = 0; i < ndrop; i++) {
            ocl_info("tracestore: retention drops %s", drop[i]->path);
            ocl_tseg_close(drop[i], 1);
        }
        free(drop);
    }
unlock:
    pthread_mutex_unlock(&ts->maint_mu);
    return rc;
}

void ocl_tracestore_set_replaying(ocl_tracestore_t *ts, int on)
{
    A_STORE(&ts->replaying, on ? 1 : 0);
}

uint64_t ocl_tracestore_min_head_seq(ocl_tracestore_t *ts)
{
    pthread_rwlock_rdlock(&ts->lk);
    uint64_t m = A_LOAD(&ts->head->min_seq);
    if (ts->cutting) {
        uint64_t c = A_LOAD(&ts->cutting->min_seq);
        if (c < m) m = c;
    }
    pthread_rwlock_unlock(&ts->lk);
    return m;
}

uint64_t ocl_tracestore_live_bytes(ocl_tracestore_t *ts)
{
    pthread_rwlock_rdlock(&ts->lk);
    uint64_t b = live_bytes(ts);
    pthread_rwlock_unlock(&ts->lk);
    return b;
}

uint64_t ocl_tracestore_durable_seq(ocl_tracestore_t *ts)
{
    pthread_rwlock_rdlock(&ts->lk);
    uint64_t m = A_LOAD(&ts->head->min_seq);
    if (ts->cutting) {
        uint64_t c = A_LOAD(&ts->cutting->min_seq);
        if (c < m) m = c;
    }
    if (m == UINT64_MAX) m = A_LOAD(&ts->max_seq) + 1;
    pthread_rwlock_unlock(&ts->lk);
    return m;
}

void ocl_tracestore_stats(ocl_tracestore_t *ts, ocl_tracestore_stats_t *out)
{
    memset(out, 0, sizeof *out);
    pthread_rwlock_rdlock(&ts->lk);
    ts_head_t *hs[2] = {ts->head, ts->cutting};
    for (int i = 0; i < 2; i++) {
        if (!hs[i]) continue;
        out->head_spans += A_LOAD(&hs[i]->spans);
        out->head_traces += A_LOAD(&hs[i]->traces);
        out->head_bytes += A_LOAD(&hs[i]->bytes);
    }
    out->segments = ts->nsegs;
    for (size_t i = 0; i < ts->nsegs; i++)
        out->segment_bytes += ts->segs[i]->file_bytes;
    out->spans_stored = A_LOAD(&ts->spans_stored);
    out->cuts = A_LOAD(&ts->cuts);
    out->compactions = A_LOAD(&ts->compactions);
    pthread_rwlock_unlock(&ts->lk);
}
