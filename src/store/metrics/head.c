/*
 * head.c — the in-memory head of the metrics TSDB: series keyed by label
 * hash (open addressing, collisions resolved by comparing labels), each
 * with a list of Gorilla chunks of at most OCL_CHUNK_SAMPLES samples that
 * never straddle a block-range boundary (so a block cut takes whole
 * chunks), labels stored both as interned symbol ids (for the postings)
 * and as one contiguous blob (for cheap comparison and copying).
 *
 * Invariants: series ids are 0..nseries-1 and postings lists are in id
 * order; the map holds every series exactly once. Appending to an existing
 * series is a hash lookup plus a chunk append (no allocation except when a
 * chunk's bit buffer doubles or a new chunk starts). Callers hold the
 * TSDB's lock (see tsdb_int.h).
 */
#include "store/metrics/tsdb_int.h"

#include <stdlib.h>

void ocl_head_init(ocl_head_t *h, int64_t range)
{
    memset(h, 0, sizeof *h);
    ocl_symtab_init(&h->syms, false);
    ocl_postings_init(&h->post);
    h->nmap = 1024;
    h->map = ocl_calloc(h->nmap, sizeof *h->map);
    h->mint = INT64_MAX;
    h->maxt = INT64_MIN;
    h->range = range;
}

static void series_free(ocl_head_t *h, ocl_hseries_t *s)
{
    for (uint32_t i = 0; i < s->nchunks; i++)
        ocl_chunk_dispose(&s->chunks[i]);
    ocl_free(s->chunks);
    for (uint32_t i = 0; i < 2 * s->nlab; i++)
        ocl_symtab_unref(&h->syms, s->lab[i]);
    ocl_free(s);
}

void ocl_head_dispose(ocl_head_t *h)
{
    for (uint32_t i = 0; i < h->nseries; i++)
        series_free(h, h->series[i]);
    ocl_free(h->series);
    ocl_free(h->map);
    ocl_postings_dispose(&h->post);
    ocl_symtab_dispose(&h->syms);
    memset(h, 0, sizeof *h);
}

static size_t varint_len(size_t x)
{
    size_t n = 1;
    while (x >= 0x80)
        x >>= 7, n++;
    return n;
}

static uint8_t *put_varint(uint8_t *p, size_t x)
{
    while (x >= 0x80) {
        *p++ = (uint8_t)(x | 0x80);
        x >>= 7;
    }
    *p++ = (uint8_t)x;
    return p;
}

static const uint8_t *get_varint(const uint8_t *p, size_t *x)
{
    size_t v = 0;
    for (int shift = 0;; shift += 7) {
        v |= (size_t)(*p & 0x7f) << shift;
        if (!(*p++ & 0x80)) break;
    }
    *x = v;
    return p;
}

/* Compares the series' blob with `ls` in one pass over contiguous bytes. */
static bool series_is(const ocl_hseries_t *s, const ocl_labels_t *ls)
{
    if (s->nlab != ls->n) return false;
    const uint8_t *p = ocl_hseries_blob(s);
    for (uint32_t i = 0; i < ls->n; i++) {
        size_t n;
        p = get_varint(p, &n);
        if (n != ls->v[i].name.n || memcmp(p, ls->v[i].name.p, n) != 0) return false;
        p += n;
        p = get_varint(p, &n);
        if (n != ls->v[i].value.n || memcmp(p, ls->v[i].value.p, n) != 0) return false;
        p += n;
    }
    return true;
}

ocl_hseries_t *ocl_head_find(const ocl_head_t *h, const ocl_labels_t *ls, uint64_t hash)
{
    uint32_t mask = h->nmap - 1, i = (uint32_t)hash & mask;
    for (;;) {
        ocl_hseries_t *s = h->map[i];
        if (!s) return NULL;
        if (s->hash == hash && series_is(s, ls)) return s;
        i = (i + 1) & mask;
    }
}

static void map_insert(ocl_head_t *h, ocl_hseries_t *s)
{
    uint32_t mask = h->nmap - 1, i = (uint32_t)s->hash & mask;
    while (h->map[i])
        i = (i + 1) & mask;
    h->map[i] = s;
}

static void map_rebuild(ocl_head_t *h, uint32_t nmap)
{
    ocl_free(h->map);
    h->nmap = nmap;
    h->map = ocl_calloc(nmap, sizeof *h->map);
    for (uint32_t i = 0; i < h->nseries; i++)
        map_insert(h, h->series[i]);
}

ocl_hseries_t *ocl_head_create(ocl_head_t *h, const ocl_labels_t *ls, uint64_t hash)
{
    size_t blob = 0;
    for (uint32_t i = 0; i < ls->n; i++)
        blob += varint_len(ls->v[i].name.n) + ls->v[i].name.n + varint_len(ls->v[i].value.n) +
                ls->v[i].value.n;
    ocl_hseries_t *s = ocl_calloc(1, sizeof *s + 2 * ls->n * sizeof(uint32_t) + blob);
    s->hash = hash;
    s->nlab = ls->n;
    s->bloblen = (uint32_t)blob;
    uint8_t *p = (uint8_t *)ocl_hseries_blob(s);
    for (uint32_t i = 0; i < ls->n; i++) {
        p = put_varint(p, ls->v[i].name.n);
        if (ls->v[i].name.n) memcpy(p, ls->v[i].name.p, ls->v[i].name.n);
        p += ls->v[i].name.n;
        p = put_varint(p, ls->v[i].value.n);
        if (ls->v[i].value.n) memcpy(p, ls->v[i].value.p, ls->v[i].value.n);
        p += ls->v[i].value.n;
    }
    for (uint32_t i = 0; i < ls->n; i++) {
        s->lab[2 * i] = ocl_symtab_intern(&h->syms, ls->v[i].name);
        s->lab[2 * i + 1] = ocl_symtab_intern(&h->syms, ls->v[i].value);
    }
    if (h->nseries == h->capseries) {
        h->capseries = h->capseries ? h->capseries * 2 : 1024;
        h->series = ocl_realloc(h->series, h->capseries * sizeof *h->series);
    }
    s->id = h->nseries++;
    h->series[s->id] = s;
    if (h->nseries * 2 > h->nmap)
        map_rebuild(h, h->nmap * 2);
    else
        map_insert(h, s);
    ocl_postings_add(&h->post, s->id, s->lab, s->nlab);
    return s;
}

void ocl_head_append(ocl_head_t *h, ocl_hseries_t *s, int64_t t, double v)
{
    ocl_chunk_t *c = s->nchunks ? &s->chunks[s->nchunks - 1] : NULL;
    if (OCL_UNLIKELY(!c || c->n >= OCL_CHUNK_SAMPLES || t >= s->cut_at)) {
        if (c) ocl_chunk_shrink(c);
        if (s->nchunks == s->capchunks) {
            s->capchunks = s->capchunks ? s->capchunks * 2 : 1;
            s->chunks = ocl_realloc(s->chunks, s->capchunks * sizeof *s->chunks);
        }
        c = &s->chunks[s->nchunks++];
        memset(c, 0, sizeof *c);
        int64_t start = ocl_tsdb_align(t, h->range);
        s->cut_at = start > INT64_MAX - h->range ? INT64_MAX : start + h->range;
        h->nchunks++;
    }
    ocl_chunk_append(c, &s->app, t, v);
    h->nsamples++;
    if (t < h->mint) h->mint = t;
    if (t > h->maxt) h->maxt = t;
}

void ocl_head_truncate(ocl_head_t *h, int64_t before)
{
    uint32_t w = 0;
    h->mint = INT64_MAX;
    h->maxt = INT64_MIN;
    h->nsamples = h->nchunks = 0;
    for (uint32_t i = 0; i < h->nseries; i++) {
        ocl_hseries_t *s = h->series[i];
        uint32_t drop = 0;
        while (drop < s->nchunks && s->chunks[drop].maxt < before)
            drop++;
        for (uint32_t k = 0; k < drop; k++)
            ocl_chunk_dispose(&s->chunks[k]);
        if (drop) {
            memmove(s->chunks, s->chunks + drop, (s->nchunks - drop) * sizeof *s->chunks);
            s->nchunks -= drop;
        }
        if (!s->nchunks) {
            series_free(h, s);
            continue;
        }
        if (s->capchunks > 4 && s->nchunks * 4 < s->capchunks) {
            s->capchunks = s->nchunks * 2;
            s->chunks = ocl_realloc(s->chunks, s->capchunks * sizeof *s->chunks);
        }
        for (uint32_t k = 0; k < s->nchunks; k++)
            h->nsamples += s->chunks[k].n;
        h->nchunks += s->nchunks;
        if (s->chunks[0].mint < h->mint) h->mint = s->chunks[0].mint;
        if (s->chunks[s->nchunks - 1].maxt > h->maxt) h->maxt = s->chunks[s->nchunks - 1].maxt;
        s->id = w;
        h->series[w++] = s;
    }
    h->nseries = w;
    uint32_t nmap = 1024;
    while (nmap < w * 2)
        nmap *= 2;
    map_rebuild(h, nmap);
    ocl_postings_dispose(&h->post);
    ocl_postings_init(&h->post);
    for (uint32_t i = 0; i < w; i++)
        ocl_postings_add(&h->post, i, h->series[i]->lab, h->series[i]->nlab);
}

uint64_t ocl_head_bytes(const ocl_head_t *h)
{
    uint64_t b = sizeof *h + h->capseries * sizeof(void *) + h->nmap * sizeof(void *);
    for (uint32_t i = 0; i < h->nseries; i++) {
        const ocl_hseries_t *s = h->series[i];
        b += sizeof *s + s->nlab * 8ULL + s->bloblen + s->capchunks * sizeof(ocl_chunk_t);
        for (uint32_t k = 0; k < s->nchunks; k++)
            b += s->chunks[k].cap;
    }
    b += h->syms.bytes + h->syms.cap * 16ULL + h->syms.nslots * 4ULL;
    b += ocl_postings_bytes(&h->post);
    return b;
}

ocl_labels_t ocl_head_labels(const ocl_head_t *h, const ocl_hseries_t *s, ocl_arena_t *a)
{
    (void)h;
    ocl_label_t *v = ocl_arena_alloc(a, (s->nlab ? s->nlab : 1) * sizeof *v);
    /* one copy of the blob; the label views point into it */
    char *mem = ocl_arena_alloc(a, s->bloblen ? s->bloblen : 1);
    memcpy(mem, ocl_hseries_blob(s), s->bloblen);
    const uint8_t *p = (const uint8_t *)mem;
    for (uint32_t i = 0; i < s->nlab; i++) {
        size_t n;
        p = get_varint(p, &n);
        v[i].name = (ocl_str_t){(const char *)p, n};
        p += n;
        p = get_varint(p, &n);
        v[i].value = (ocl_str_t){(const char *)p, n};
        p += n;
    }
    return (ocl_labels_t){v, s->nlab};
}
