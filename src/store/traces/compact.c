/*
 * compact.c — compaction of trace segments: several small segments are
 * merged into one, so that a week of retention is hundreds of files, not
 * tens of thousands (each open segment costs one mapping — the kernel's
 * vm.max_map_count is 65,530 — and one binary search per lookup).
 *
 * Policy (ocl_tscompact_pick, run by ocl_tracestore_maintain after the cut
 * and before retention, at most one merge per call): when the store holds
 * more than COMPACT_TRIGGER (16) segments, merge the oldest run of up to
 * COMPACT_MAX_INPUTS (32) segments consecutive by id whose total
 * decompressed size stays under COMPACT_MAX_BYTES (128 MiB: a merge holds
 * its inputs uncompressed in memory, next to the ingest heads, and stalls
 * cuts on the maintenance thread for ~0.1 s). A run starts at the oldest
 * segment that can form a run of at least two; a segment too big to join
 * its neighbour is skipped. The max span times (what retention looks at)
 * of a run's segments may differ by at most retention / COMPACT_SPREAD_DIV
 * (16): a merged segment is dropped when its newest span ages out, so
 * without this bound a segment re-merged with newer data again and again
 * would keep a quiet tenant's oldest spans forever; with it, compaction
 * delays deletion by at most 1/16 of the retention. Later calls repeat
 * until the count is back at or below the trigger. Simple and bounded: a
 * merge holds at most 128 MiB of span bytes; a merged segment is
 * merged again with newer ones until it reaches a cap (a write
 * amplification of up to ~16 per byte before a segment settles).
 *
 * Mechanics (ocl_tscompact_merge): the input spans are appended, newest
 * input first (the order a lookup gathers them in, so the copy of a span
 * kept is the one a lookup would have returned, and a trace held only by
 * the inputs reads back byte for byte the same), into a temporary head
 * built with the ingest code; duplicate (trace id, span id) pairs are
 * dropped, keeping the first; the head is written with ocl_tseg_write
 * under a new id.
 *
 * Invariants: the merged file records the id range it replaces
 * (compacted_from_lo/hi): hi = the highest input id, lo = the lowest id an
 * input replaced or had (so leftovers of earlier merges are covered too),
 * but above the id of the newest live segment older than the run. The
 * segment list is kept sorted by id and inputs are consecutive in it, and
 * ids are never reused, so no live segment other than an input ever has an
 * id in that range: after a crash between the merged file's rename and the
 * inputs' deletion, ocl_tracestore_open deletes every segment whose id lies
 * in a higher segment's range, and never anything live. The merged segment
 * has the newest id, so it goes to the end of the list (lookups gather
 * newest first; the order only decides which of two identical copies of a
 * span is kept, and the order of spans inside a group).
 *
 * Workload: one merge of up to 128 MiB of span bytes every few minutes on the
 * maintenance thread; memory is the uncompressed size of the inputs (the
 * temporary head), freed when the merge ends.
 */
#include "store/traces/ts_internal.h"

#include "core/log.h"

#include <stdlib.h>

#define COMPACT_TRIGGER 16               /* compact while more segments than this */
#define COMPACT_MAX_INPUTS 32            /* segments merged at most at once */
#define COMPACT_MAX_BYTES (128ull << 20) /* decompressed input bytes per merge (exclusive) */

int ocl_tscompact_pick(ts_seg_t *const *segs, size_t n, uint64_t max_spread, size_t *lo, size_t *hi)
{
    if (n <= COMPACT_TRIGGER) return 0;
    for (size_t i = 0; i + 1 < n; i++) {
        uint64_t total = 0, tmin = UINT64_MAX, tmax = 0;
        size_t j = i;
        while (j < n && j - i < COMPACT_MAX_INPUTS &&
               total + segs[j]->raw_bytes < COMPACT_MAX_BYTES) {
            uint64_t t = segs[j]->max_time;
            uint64_t nmin = t < tmin ? t : tmin, nmax = t > tmax ? t : tmax;
            if (nmax - nmin > max_spread) break;
            tmin = nmin;
            tmax = nmax;
            total += segs[j]->raw_bytes;
            j++;
        }
        if (j - i >= 2) {
            *lo = i;
            *hi = j;
            return 1;
        }
    }
    return 0;
}

/* State of a merge while walking one input segment. */
typedef struct {
    ts_head_t *h;     /* temporary head receiving the spans */
    ts_seg_t *seg;    /* input being walked */
    uint32_t *resmap; /* input resource index -> head id, UINT32_MAX = not yet */
    uint32_t *scmap;  /* input scope index -> head id, UINT32_MAX = not yet */
} merge_t;

static int merge_span(void *arg, const uint8_t *trace_id, uint32_t res, uint32_t scope,
                      const uint8_t *span_id, const uint8_t *raw, uint32_t len)
{
    merge_t *m = arg;
    if (m->resmap[res] == UINT32_MAX)
        m->resmap[res] = ocl_tshead_intern(m->h, 0, &m->seg->res[res]);
    if (m->scmap[scope] == UINT32_MAX)
        m->scmap[scope] = ocl_tshead_intern(m->h, 1, &m->seg->scope[scope]);
    ocl_tshead_add_span(m->h, trace_id, m->resmap[res], m->scmap[scope], span_id, raw, len, 0, 0);
    return 0;
}

/* A span of one trace, for finding duplicates. */
typedef struct {
    uint8_t sid[8]; /* span id */
    uint32_t i;     /* index in the trace's refs */
} dup_t;

static int cmp_dup(const void *a, const void *b)
{
    const dup_t *x = a, *y = b;
    int c = memcmp(x->sid, y->sid, 8);
    if (c) return c;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Drops every span whose id already occurred earlier in its trace (keeping
 * arrival order). Returns the number dropped. */
static uint64_t dedupe_head(ts_head_t *h)
{
    uint64_t dropped = 0;
    dup_t *d = NULL;
    uint8_t *drop = NULL;
    size_t cap = 0;
    for (int sh = 0; sh < TS_SHARDS; sh++) {
        ts_shard_t *s = &h->shards[sh];
        for (uint32_t t = 0; t < s->ntraces; t++) {
            ts_trace_t *tr = &s->traces[t];
            if (tr->n < 2) continue;
            if (tr->n > cap) {
                cap = tr->n;
                d = ocl_realloc(d, cap * sizeof *d);
                drop = ocl_realloc(drop, cap);
            }
            for (uint32_t k = 0; k < tr->n; k++) {
                memcpy(d[k].sid, tr->refs[k].span_id, 8);
                d[k].i = k;
                drop[k] = 0;
            }
            qsort(d, tr->n, sizeof *d, cmp_dup);
            int any = 0;
            for (uint32_t k = 1; k < tr->n; k++)
                if (memcmp(d[k - 1].sid, d[k].sid, 8) == 0) drop[d[k].i] = 1, any = 1;
            if (!any) continue;
            uint32_t w = 0;
            for (uint32_t k = 0; k < tr->n; k++)
                if (!drop[k]) tr->refs[w++] = tr->refs[k];
            dropped += tr->n - w;
            tr->n = w;
        }
    }
    free(d);
    free(drop);
    return dropped;
}

int ocl_tscompact_merge(const char *dir, uint64_t id, uint64_t floor, ts_seg_t *const *in, size_t n,
                        ts_seg_t **out)
{
    int rc = OCL_EINVAL;
    ts_head_t *h = NULL;
    merge_t m = {0};
    if (n < 1) goto done;
    h = ocl_tshead_create();
    m.h = h;
    uint64_t from_lo = UINT64_MAX, from_hi = 0;
    /* newest input first: the copy a lookup would have returned wins */
    for (size_t k = n; k-- > 0;) {
        ts_seg_t *s = in[k];
        m.seg = s;
        m.resmap = ocl_realloc(m.resmap, (s->nres ? s->nres : 1) * sizeof *m.resmap);
        m.scmap = ocl_realloc(m.scmap, (s->nscope ? s->nscope : 1) * sizeof *m.scmap);
        memset(m.resmap, 0xff, (s->nres ? s->nres : 1) * sizeof *m.resmap);
        memset(m.scmap, 0xff, (s->nscope ? s->nscope : 1) * sizeof *m.scmap);
        rc = ocl_tseg_foreach(s, merge_span, &m);
        if (rc) {
            ocl_error("tracestore: compaction cannot read %s: %s", s->path, ocl_strerror(rc));
            goto done;
        }
        /* a merged input's range is inside [its from_lo, its id] */
        uint64_t lo = s->from_lo ? s->from_lo : s->id;
        if (lo < from_lo) from_lo = lo;
        if (s->id > from_hi) from_hi = s->id;
        if (s->spans == 0) continue; /* footer times of an empty segment are 0 */
        if (s->min_time < h->min_time) h->min_time = s->min_time;
        if (s->max_time > h->max_time) h->max_time = s->max_time;
        if (s->min_seq < h->min_seq) h->min_seq = s->min_seq;
        if (s->max_seq > h->max_seq) h->max_seq = s->max_seq;
    }
    /* never claim the id of a live segment older than the run */
    if (from_lo < floor) from_lo = floor;
    uint64_t dropped = dedupe_head(h);
    rc = ocl_tseg_write(dir, id, h, from_lo, from_hi, out);
    if (rc) {
        ocl_error("tracestore: writing compacted segment %llu failed: %s", (unsigned long long)id,
                  ocl_strerror(rc));
        goto done;
    }
    ocl_info("tracestore: compacted %zu segments (%llu..%llu) into %s, %llu duplicate spans "
             "dropped",
             n, (unsigned long long)from_lo, (unsigned long long)from_hi, (*out)->path,
             (unsigned long long)dropped);
done:
    free(m.resmap);
    free(m.scmap);
    ocl_tshead_destroy(h);
    return rc;
}
