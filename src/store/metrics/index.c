/*
 * index.c — symbol table and postings of the metrics TSDB (see index.h).
 *
 * Hash tables use open addressing with linear probing over power-of-two
 * slot arrays holding index + 1 (0 = empty) and are kept at most half
 * full. Symbols are removed with backward-shift deletion so no tombstones
 * accumulate. Matcher evaluation: a matcher that rejects "" yields the union
 * of the lists of the values it accepts; one that accepts "" yields the
 * union of the lists of the values it rejects, subtracted at the end. The
 * union is built by concatenation and sort (lists are short relative to the
 * number of series they cover); the intersection walks two sorted arrays.
 */
#include "store/metrics/index.h"

#include <stdlib.h>
#include <xxhash.h>

uint64_t ocl_hash_str(const void *p, size_t n)
{
    return XXH3_64bits(p, n);
}

/* ---- symbol table ---- */

void ocl_symtab_init(ocl_symtab_t *st, bool borrowed)
{
    memset(st, 0, sizeof *st);
    st->borrowed = borrowed;
    st->nslots = 64;
    st->slots = ocl_calloc(st->nslots, sizeof *st->slots);
}

void ocl_symtab_dispose(ocl_symtab_t *st)
{
    if (!st->borrowed)
        for (uint32_t i = 0; i < st->n; i++)
            if (st->refs[i]) ocl_free((void *)st->str[i]);
    ocl_free(st->str);
    ocl_free(st->len);
    ocl_free(st->refs);
    ocl_free(st->slots);
    ocl_free(st->freeids);
    memset(st, 0, sizeof *st);
}

static void sym_rehash(ocl_symtab_t *st, uint32_t nslots)
{
    ocl_free(st->slots);
    st->nslots = nslots;
    st->slots = ocl_calloc(nslots, sizeof *st->slots);
    for (uint32_t id = 0; id < st->n; id++) {
        if (!st->refs[id]) continue;
        uint32_t h = (uint32_t)ocl_hash_str(st->str[id], st->len[id]) & (nslots - 1);
        while (st->slots[h])
            h = (h + 1) & (nslots - 1);
        st->slots[h] = id + 1;
    }
}

uint32_t ocl_symtab_find(const ocl_symtab_t *st, ocl_str_t s)
{
    uint32_t h = (uint32_t)ocl_hash_str(s.p, s.n) & (st->nslots - 1);
    for (;;) {
        uint32_t e = st->slots[h];
        if (!e) return OCL_SYM_NONE;
        uint32_t id = e - 1;
        if (st->len[id] == s.n && (s.n == 0 || memcmp(st->str[id], s.p, s.n) == 0)) return id;
        h = (h + 1) & (st->nslots - 1);
    }
}

uint32_t ocl_symtab_intern(ocl_symtab_t *st, ocl_str_t s)
{
    uint32_t id = ocl_symtab_find(st, s);
    if (id != OCL_SYM_NONE) {
        st->refs[id]++;
        return id;
    }
    if ((st->used + 1) * 2 > st->nslots) sym_rehash(st, st->nslots * 2);
    if (st->nfree) {
        id = st->freeids[--st->nfree];
    } else {
        if (st->n == st->cap) {
            st->cap = st->cap ? st->cap * 2 : 64;
            st->str = ocl_realloc(st->str, st->cap * sizeof *st->str);
            st->len = ocl_realloc(st->len, st->cap * sizeof *st->len);
            st->refs = ocl_realloc(st->refs, st->cap * sizeof *st->refs);
        }
        id = st->n++;
    }
    st->str[id] = st->borrowed ? s.p : ocl_strndup(s.p ? s.p : "", s.n);
    st->len[id] = (uint32_t)s.n;
    st->refs[id] = 1;
    st->used++;
    st->bytes += s.n + 1;
    uint32_t h = (uint32_t)ocl_hash_str(s.p, s.n) & (st->nslots - 1);
    while (st->slots[h])
        h = (h + 1) & (st->nslots - 1);
    st->slots[h] = id + 1;
    return id;
}

void ocl_symtab_unref(ocl_symtab_t *st, uint32_t id)
{
    if (--st->refs[id]) return;
    uint32_t mask = st->nslots - 1;
    uint32_t h = (uint32_t)ocl_hash_str(st->str[id], st->len[id]) & mask;
    while (st->slots[h] != id + 1)
        h = (h + 1) & mask;
    /* backward-shift deletion */
    uint32_t i = h, j = h;
    for (;;) {
        j = (j + 1) & mask;
        uint32_t e = st->slots[j];
        if (!e) break;
        uint32_t k = (uint32_t)ocl_hash_str(st->str[e - 1], st->len[e - 1]) & mask;
        /* move e to i unless its home k lies cyclically in (i, j] */
        if ((i <= j) ? (i < k && k <= j) : (i < k || k <= j)) continue;
        st->slots[i] = e;
        i = j;
    }
    st->slots[i] = 0;
    st->bytes -= st->len[id] + 1;
    if (!st->borrowed) ocl_free((void *)st->str[id]);
    st->str[id] = NULL;
    st->len[id] = 0;
    st->used--;
    if (st->nfree == st->capfree) {
        st->capfree = st->capfree ? st->capfree * 2 : 64;
        st->freeids = ocl_realloc(st->freeids, st->capfree * sizeof *st->freeids);
    }
    st->freeids[st->nfree++] = id;
}

/* ---- postings ---- */

static uint32_t pair_hash(uint32_t name, uint32_t value)
{
    uint64_t k = ((uint64_t)name << 32) | value;
    k *= 0x9E3779B97F4A7C15ULL;
    return (uint32_t)(k >> 32);
}

static uint32_t name_hash(uint32_t name)
{
    return (uint32_t)(((uint64_t)name * 0x9E3779B97F4A7C15ULL) >> 32);
}

void ocl_postings_init(ocl_postings_t *p)
{
    memset(p, 0, sizeof *p);
    p->nlslots = 64;
    p->lslots = ocl_calloc(p->nlslots, sizeof *p->lslots);
    p->nnslots = 16;
    p->nslots = ocl_calloc(p->nnslots, sizeof *p->nslots);
}

void ocl_postings_dispose(ocl_postings_t *p)
{
    for (uint32_t i = 0; i < p->nlists; i++)
        ocl_free(p->lists[i].ids);
    for (uint32_t i = 0; i < p->nnames; i++)
        ocl_free(p->names[i].lists);
    ocl_free(p->lists);
    ocl_free(p->lslots);
    ocl_free(p->names);
    ocl_free(p->nslots);
    ocl_free(p->all);
    memset(p, 0, sizeof *p);
}

static void push_id(uint32_t **v, uint32_t *n, uint32_t *cap, uint32_t id)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        *v = ocl_realloc(*v, *cap * sizeof **v);
    }
    (*v)[(*n)++] = id;
}

static uint32_t name_index(ocl_postings_t *p, uint32_t name, bool create)
{
    uint32_t mask = p->nnslots - 1, h = name_hash(name) & mask;
    for (;;) {
        uint32_t e = p->nslots[h];
        if (!e) break;
        if (p->names[e - 1].name == name) return e - 1;
        h = (h + 1) & mask;
    }
    if (!create) return UINT32_MAX;
    if ((p->nnames + 1) * 2 > p->nnslots) {
        ocl_free(p->nslots);
        p->nnslots *= 2;
        p->nslots = ocl_calloc(p->nnslots, sizeof *p->nslots);
        mask = p->nnslots - 1;
        for (uint32_t i = 0; i < p->nnames; i++) {
            uint32_t k = name_hash(p->names[i].name) & mask;
            while (p->nslots[k])
                k = (k + 1) & mask;
            p->nslots[k] = i + 1;
        }
        h = name_hash(name) & mask;
        while (p->nslots[h])
            h = (h + 1) & mask;
    }
    if (p->nnames == p->capnames) {
        p->capnames = p->capnames ? p->capnames * 2 : 16;
        p->names = ocl_realloc(p->names, p->capnames * sizeof *p->names);
    }
    uint32_t idx = p->nnames++;
    p->names[idx] = (ocl_pname_t){.name = name};
    p->nslots[h] = idx + 1;
    return idx;
}

static uint32_t list_index(ocl_postings_t *p, uint32_t name, uint32_t value, bool create)
{
    uint32_t mask = p->nlslots - 1, h = pair_hash(name, value) & mask;
    for (;;) {
        uint32_t e = p->lslots[h];
        if (!e) break;
        if (p->lists[e - 1].name == name && p->lists[e - 1].value == value) return e - 1;
        h = (h + 1) & mask;
    }
    if (!create) return UINT32_MAX;
    if ((p->nlists + 1) * 2 > p->nlslots) {
        ocl_free(p->lslots);
        p->nlslots *= 2;
        p->lslots = ocl_calloc(p->nlslots, sizeof *p->lslots);
        mask = p->nlslots - 1;
        for (uint32_t i = 0; i < p->nlists; i++) {
            uint32_t k = pair_hash(p->lists[i].name, p->lists[i].value) & mask;
            while (p->lslots[k])
                k = (k + 1) & mask;
            p->lslots[k] = i + 1;
        }
        h = pair_hash(name, value) & mask;
        while (p->lslots[h])
            h = (h + 1) & mask;
    }
    if (p->nlists == p->caplists) {
        p->caplists = p->caplists ? p->caplists * 2 : 64;
        p->lists = ocl_realloc(p->lists, p->caplists * sizeof *p->lists);
    }
    uint32_t idx = p->nlists++;
    p->lists[idx] = (ocl_plist_t){.name = name, .value = value};
    p->lslots[h] = idx + 1;
    uint32_t ni = name_index(p, name, true); /* may move p->names */
    ocl_pname_t *pn = &p->names[ni];
    push_id(&pn->lists, &pn->n, &pn->cap, idx);
    return idx;
}

void ocl_postings_add_one(ocl_postings_t *p, uint32_t name, uint32_t value, uint32_t id)
{
    uint32_t li = list_index(p, name, value, true); /* may move p->lists */
    ocl_plist_t *l = &p->lists[li];
    push_id(&l->ids, &l->n, &l->cap, id);
}

void ocl_postings_add(ocl_postings_t *p, uint32_t id, const uint32_t *pairs, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        ocl_postings_add_one(p, pairs[2 * i], pairs[2 * i + 1], id);
    push_id(&p->all, &p->nall, &p->capall, id);
}

const ocl_plist_t *ocl_postings_get(const ocl_postings_t *p, uint32_t name, uint32_t value)
{
    uint32_t i = list_index((ocl_postings_t *)p, name, value, false);
    return i == UINT32_MAX ? NULL : &p->lists[i];
}

const ocl_pname_t *ocl_postings_name(const ocl_postings_t *p, uint32_t name)
{
    uint32_t i = name_index((ocl_postings_t *)p, name, false);
    return i == UINT32_MAX ? NULL : &p->names[i];
}

uint64_t ocl_postings_bytes(const ocl_postings_t *p)
{
    uint64_t b = (uint64_t)p->caplists * sizeof(ocl_plist_t) + p->nlslots * 4ULL +
                 (uint64_t)p->capnames * sizeof(ocl_pname_t) + p->nnslots * 4ULL + p->capall * 4ULL;
    for (uint32_t i = 0; i < p->nlists; i++)
        b += p->lists[i].cap * 4ULL;
    for (uint32_t i = 0; i < p->nnames; i++)
        b += p->names[i].cap * 4ULL;
    return b;
}

uint32_t ocl_ids_intersect(const uint32_t *a, uint32_t na, const uint32_t *b, uint32_t nb,
                           uint32_t *out)
{
    uint32_t i = 0, j = 0, k = 0;
    while (i < na && j < nb) {
        if (a[i] < b[j])
            i++;
        else if (a[i] > b[j])
            j++;
        else
            out[k++] = a[i], i++, j++;
    }
    return k;
}

uint32_t ocl_ids_subtract(const uint32_t *a, uint32_t na, const uint32_t *b, uint32_t nb,
                          uint32_t *out)
{
    uint32_t i = 0, j = 0, k = 0;
    while (i < na) {
        while (j < nb && b[j] < a[i])
            j++;
        if (j < nb && b[j] == a[i])
            i++;
        else
            out[k++] = a[i++];
    }
    return k;
}

static int u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Union of the lists of `name` whose value satisfies match == want. */
static void union_lists(const ocl_postings_t *p, const ocl_symtab_t *st, const ocl_pname_t *pn,
                        const ocl_matcher_t *m, bool want, uint32_t **out, uint32_t *n)
{
    uint32_t total = 0, nsel = 0;
    uint32_t *sel = ocl_malloc((pn->n + 1) * sizeof *sel);
    for (uint32_t i = 0; i < pn->n; i++) {
        const ocl_plist_t *l = &p->lists[pn->lists[i]];
        if (ocl_matcher_match(m, ocl_symtab_get(st, l->value)) != want) continue;
        sel[nsel++] = pn->lists[i];
        total += l->n;
    }
    uint32_t *v = ocl_malloc((total + 1) * sizeof *v), k = 0;
    for (uint32_t i = 0; i < nsel; i++) {
        const ocl_plist_t *l = &p->lists[sel[i]];
        memcpy(v + k, l->ids, l->n * sizeof *v);
        k += l->n;
    }
    ocl_free(sel);
    if (nsel > 1) {
        qsort(v, k, sizeof *v, u32_cmp);
        uint32_t w = 0;
        for (uint32_t i = 0; i < k; i++)
            if (w == 0 || v[w - 1] != v[i]) v[w++] = v[i];
        k = w;
    }
    *out = v;
    *n = k;
}

void ocl_postings_select(const ocl_postings_t *p, const ocl_symtab_t *st, const ocl_matcher_t *ms,
                         size_t n_ms, uint32_t **out, uint32_t *n_out)
{
    uint32_t *cur = NULL, ncur = 0;
    bool have = false;
    uint32_t *neg = NULL, nneg = 0;
    /* positives first: they shrink the candidate set */
    for (size_t i = 0; i < n_ms; i++) {
        const ocl_matcher_t *m = &ms[i];
        if (m->matches_empty) continue;
        uint32_t *v = NULL, nv = 0;
        uint32_t name = ocl_symtab_find(st, m->name);
        const ocl_pname_t *pn = name == OCL_SYM_NONE ? NULL : ocl_postings_name(p, name);
        if (pn && m->type == OCL_MATCH_EQ) {
            uint32_t val = ocl_symtab_find(st, m->value);
            const ocl_plist_t *l = val == OCL_SYM_NONE ? NULL : ocl_postings_get(p, name, val);
            if (l) {
                v = ocl_malloc((l->n + 1) * sizeof *v);
                memcpy(v, l->ids, l->n * sizeof *v);
                nv = l->n;
            }
        } else if (pn) {
            union_lists(p, st, pn, m, true, &v, &nv);
        }
        if (!have) {
            cur = v, ncur = nv, have = true;
        } else {
            ncur = ocl_ids_intersect(cur, ncur, v, nv, cur);
            ocl_free(v);
        }
        if (ncur == 0) goto done;
    }
    if (!have) {
        cur = ocl_malloc((p->nall + 1) * sizeof *cur);
        memcpy(cur, p->all, p->nall * sizeof *cur);
        ncur = p->nall;
    }
    for (size_t i = 0; i < n_ms && ncur; i++) {
        const ocl_matcher_t *m = &ms[i];
        if (!m->matches_empty) continue;
        uint32_t name = ocl_symtab_find(st, m->name);
        const ocl_pname_t *pn = name == OCL_SYM_NONE ? NULL : ocl_postings_name(p, name);
        if (!pn) continue; /* label absent everywhere: "" matches all */
        union_lists(p, st, pn, m, false, &neg, &nneg);
        ncur = ocl_ids_subtract(cur, ncur, neg, nneg, cur);
        ocl_free(neg);
        neg = NULL;
    }
done:
    if (ncur == 0) {
        ocl_free(cur);
        cur = NULL;
    }
    *out = cur;
    *n_out = ncur;
}
