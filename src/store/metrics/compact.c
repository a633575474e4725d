/*
 * compact.c — maintenance of the metrics TSDB: cutting head data into
 * blocks, compacting adjacent blocks, retention, and the persistence
 * watermark.
 *
 * Cut: when the head spans more than 1.5 block ranges, the oldest
 * range-aligned window [start, start + range) is snapshotted under the
 * write lock (labels copied, chunk structs copied, bytes shared: appends
 * below the window end become "out of bounds" from then on, so those chunks
 * are frozen), written to a block without the lock, then the block is
 * published and the head truncated under the write lock. Chunks never
 * straddle a range boundary, so the snapshot takes whole chunks.
 * Compaction: blocks inside one window of 3^k ranges (k ≥ 1, window at most
 * 10 % of the retention) are merged once the window is complete (a newer
 * block reaches its end); samples are merged by time and re-encoded.
 * Retention: whole blocks older than newest sample - retention are dropped,
 * then the oldest while the blocks exceed retention_bytes.
 * Memory-only databases apply age retention to the head.
 */
#include "store/metrics/block.h"

#include "core/log.h"

#include <stdio.h>

void ocl_tsdb_sort_blocks(ocl_tsdb_t *db);

typedef struct {
    ocl_labels_t ls;     /* arena copy */
    ocl_chunk_t *chunks; /* arena copies (b points into the arena) */
    uint32_t nchunks;    /* count */
} snap_t;

static int snap_cmp(const void *a, const void *b)
{
    return ocl_labels_cmp(&((const snap_t *)a)->ls, &((const snap_t *)b)->ls);
}

/* Adds a block to the list (write lock held by the caller). */
static void publish(ocl_tsdb_t *db, ocl_block_t *b)
{
    db->blocks = ocl_realloc(db->blocks, (db->nblocks + 1) * sizeof *db->blocks);
    db->blocks[db->nblocks++] = b;
    ocl_tsdb_sort_blocks(db);
}

/* Writes head samples in [start, end) to a block and truncates the head.
 * `end` is a range boundary; `seal` (flush) lowers it to just past the
 * head's newest sample, read under the same lock as the snapshot: read
 * before, an append in between would leave a chunk straddling `end` in the
 * head, below a watermark that says it is on disk. */
static int cut(ocl_tsdb_t *db, int64_t start, int64_t end, bool seal)
{
    int rc = 0;
    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 20);
    snap_t *sv = NULL;
    size_t n = 0;
    pthread_rwlock_wrlock(&db->lock);
    ocl_head_t *h = &db->head;
    if (seal && h->nsamples && h->maxt < end - 1) end = h->maxt + 1;
    int64_t old_valid = db->min_valid_t;
    if (end > db->min_valid_t) db->min_valid_t = end;
    sv = ocl_malloc((h->nseries ? h->nseries : 1) * sizeof *sv);
    for (uint32_t i = 0; i < h->nseries; i++) {
        ocl_hseries_t *s = h->series[i];
        uint32_t k = 0;
        while (k < s->nchunks && s->chunks[k].maxt < end)
            k++;
        if (!k) continue;
        if (k == s->nchunks) s->cut_at = INT64_MIN; /* the open chunk is taken: start anew */
        snap_t *e = &sv[n++];
        e->ls = ocl_head_labels(h, s, &a);
        e->nchunks = k;
        e->chunks = ocl_arena_alloc(&a, k * sizeof *e->chunks);
        /* No copy of the bytes: these chunks are frozen from now on (samples
         * below `end` are out of bounds, later ones start a new chunk) and
         * only the truncation below frees them. Shrinking now means the head
         * never reallocates them later (cap == length). */
        for (uint32_t j = 0; j < k; j++) {
            ocl_chunk_shrink(&s->chunks[j]);
            e->chunks[j] = s->chunks[j];
        }
    }
    pthread_rwlock_unlock(&db->lock);

    ocl_bwriter_t *w;
    ocl_block_t *b = NULL;
    if (n == 0) { /* nothing below `end` after all */
        pthread_rwlock_wrlock(&db->lock);
        ocl_head_truncate(&db->head, end);
        if (db->persisted_before < end) db->persisted_before = end;
        pthread_rwlock_unlock(&db->lock);
        goto done;
    }
    if (n > 1) qsort(sv, n, sizeof *sv, snap_cmp);
    if ((rc = ocl_bwriter_begin(db->dir, start, end, 1, &w)) != 0) goto fail;
    for (size_t i = 0; i < n && !rc; i++)
        rc = ocl_bwriter_add(w, &sv[i].ls, sv[i].chunks, sv[i].nchunks);
    if (rc) {
        ocl_bwriter_abort(w);
        goto fail;
    }
    if ((rc = ocl_bwriter_finish(w, &b)) != 0) goto fail;

    pthread_rwlock_wrlock(&db->lock);
    publish(db, b);
    ocl_head_truncate(&db->head, end);
    pthread_rwlock_unlock(&db->lock);
    ocl_info("tsdb: cut block %s [%lld, %lld): %llu series, %llu samples, %llu bytes", b->name,
             (long long)start, (long long)end, (unsigned long long)b->nseries,
             (unsigned long long)b->nsamples, (unsigned long long)b->bytes);
    goto done;
fail:
    pthread_rwlock_wrlock(&db->lock);
    db->min_valid_t = old_valid;
    pthread_rwlock_unlock(&db->lock);
done:
    ocl_free(sv);
    ocl_arena_dispose(&a);
    return rc;
}

/* ---- compaction ---- */

typedef struct {
    int64_t *t;    /* timestamps */
    double *v;     /* values */
    size_t n, cap; /* count, allocated */
} samples_t;

static void samples_push(samples_t *s, int64_t t, double v)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->t = ocl_realloc(s->t, s->cap * sizeof *s->t);
        s->v = ocl_realloc(s->v, s->cap * sizeof *s->v);
    }
    s->t[s->n] = t;
    s->v[s->n++] = v;
}

/* Stable sort by time: bottom-up merge sort through `tmp` (swapped with s
 * after each pass), O(n log n) — blocks left overlapping by a crash during
 * a compaction hold every sample twice, and an insertion sort was
 * quadratic in the samples per series there. */
static void samples_sort(samples_t *s, samples_t *tmp)
{
    size_t n = s->n;
    if (tmp->cap < n) {
        tmp->cap = n;
        tmp->t = ocl_realloc(tmp->t, n * sizeof *tmp->t);
        tmp->v = ocl_realloc(tmp->v, n * sizeof *tmp->v);
    }
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = OCL_MIN(lo + w, n), hi = OCL_MIN(lo + 2 * w, n);
            size_t i = lo, j = mid, k = lo;
            while (i < mid || j < hi) {
                /* the left run wins ties: stable */
                bool left = j >= hi || (i < mid && s->t[i] <= s->t[j]);
                size_t x = left ? i++ : j++;
                tmp->t[k] = s->t[x];
                tmp->v[k++] = s->v[x];
            }
        }
        samples_t sw = *s;
        *s = *tmp;
        *tmp = sw;
        s->n = n;
    }
}

/* Merges blocks `in` (sorted by mint) into one block [mint, maxt). */
static int merge_blocks(ocl_tsdb_t *db, ocl_block_t **in, uint32_t nin, int64_t mint, int64_t maxt,
                        uint32_t level, ocl_block_t **out)
{
    int rc;
    ocl_bwriter_t *w;
    if ((rc = ocl_bwriter_begin(db->dir, mint, maxt, level, &w)) != 0) return rc;
    uint32_t *cur = ocl_calloc(nin, sizeof *cur);
    ocl_page_cache_t *pc = ocl_calloc(nin, sizeof *pc);
    ocl_labels_t *ls = ocl_calloc(nin, sizeof *ls);
    samples_t sm = {0}, tmp = {0};
    ocl_chunk_t *chunks = NULL;
    uint32_t capchunks = 0;
    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 16);
    for (;;) {
        ocl_arena_reset(&a);
        int best = -1;
        for (uint32_t i = 0; i < nin; i++) {
            if (cur[i] >= in[i]->nseries) continue;
            ls[i] = ocl_block_labels(in[i], cur[i], &a);
            if (best < 0 || ocl_labels_cmp(&ls[i], &ls[best]) < 0) best = (int)i;
        }
        if (best < 0) break;
        ocl_labels_t key = ls[best];
        sm.n = 0;
        bool sorted = true;
        for (uint32_t i = 0; i < nin; i++) {
            if (cur[i] >= in[i]->nseries || !ocl_labels_equal(&ls[i], &key)) continue;
            const ocl_bseries_t *s = &in[i]->series[cur[i]++];
            for (uint32_t k = 0; k < s->nchunks; k++) {
                const uint8_t *p;
                if (ocl_block_chunk(in[i], &s->chunks[k], &pc[i], &p) != 0) {
                    ocl_warn("tsdb: compaction: unreadable chunk in block %s skipped", in[i]->name);
                    continue;
                }
                ocl_chunk_iter_t it;
                ocl_chunk_iter_init_enc(&it, s->chunks[k].enc, p, s->chunks[k].len, s->chunks[k].n);
                int64_t t;
                double v;
                while (ocl_chunk_iter_next(&it, &t, &v) == 1) {
                    if (sm.n && t <= sm.t[sm.n - 1]) sorted = false;
                    samples_push(&sm, t, v);
                }
            }
        }
        if (!sorted) { /* overlapping blocks: stable sort, keeping the first of equal times */
            samples_sort(&sm, &tmp);
            size_t nu = 0;
            for (size_t i = 0; i < sm.n; i++)
                if (!nu || sm.t[i] != sm.t[nu - 1]) sm.t[nu] = sm.t[i], sm.v[nu++] = sm.v[i];
            sm.n = nu;
        }
        uint32_t nch = 0;
        ocl_chunk_app_t app = {0};
        for (size_t i = 0; i < sm.n; i++) {
            if (i % OCL_CHUNK_SAMPLES == 0) {
                if (nch == capchunks) {
                    capchunks = capchunks ? capchunks * 2 : 16;
                    chunks = ocl_realloc(chunks, capchunks * sizeof *chunks);
                }
                memset(&chunks[nch++], 0, sizeof *chunks);
            }
            ocl_chunk_append(&chunks[nch - 1], &app, sm.t[i], sm.v[i]);
        }
        rc = ocl_bwriter_add(w, &key, chunks, nch);
        for (uint32_t k = 0; k < nch; k++)
            ocl_chunk_dispose(&chunks[k]);
        if (rc) break;
    }
    for (uint32_t i = 0; i < nin; i++)
        ocl_page_cache_dispose(&pc[i]);
    ocl_free(pc);
    ocl_free(cur);
    ocl_free(ls);
    ocl_free(sm.t);
    ocl_free(sm.v);
    ocl_free(tmp.t);
    ocl_free(tmp.v);
    ocl_free(chunks);
    ocl_arena_dispose(&a);
    if (rc) {
        ocl_bwriter_abort(w);
        return rc;
    }
    return ocl_bwriter_finish(w, out);
}

/* Replaces `old` (nold blocks) by `nb` in the list and deletes them. */
static void replace_blocks(ocl_tsdb_t *db, ocl_block_t **old, uint32_t nold, ocl_block_t *nb)
{
    pthread_rwlock_wrlock(&db->lock);
    uint32_t w = 0;
    for (uint32_t i = 0; i < db->nblocks; i++) {
        bool gone = false;
        for (uint32_t k = 0; k < nold; k++)
            gone |= db->blocks[i] == old[k];
        if (!gone) db->blocks[w++] = db->blocks[i];
    }
    db->nblocks = w;
    if (nb)
        publish(db, nb);
    else
        ocl_tsdb_sort_blocks(db);
    if (db->persisted_before < db->min_valid_t) db->persisted_before = db->min_valid_t;
    pthread_rwlock_unlock(&db->lock);
    /* running queries may still hold references: the last one closes (the
     * mmapped chunks stay readable after the files are deleted) */
    for (uint32_t k = 0; k < nold; k++) {
        ocl_block_delete(db->dir, old[k]->path);
        ocl_block_unref(old[k]);
    }
}

/* One compaction step; 1 if something was compacted, 0 if nothing to do. */
static int compact_once(ocl_tsdb_t *db)
{
    int64_t R = db->opts.block_range_ms, limit = db->opts.retention_ms / 10;
    /* the block list only changes under `maint`, which we hold */
    uint32_t nb = db->nblocks;
    if (nb < 2) return 0;
    int64_t newest = INT64_MIN;
    for (uint32_t i = 0; i < nb; i++)
        if (db->blocks[i]->maxt > newest) newest = db->blocks[i]->maxt;
    int64_t L;
    for (bool ok = !__builtin_mul_overflow(R, 3, &L); ok && L <= limit;
         ok = !__builtin_mul_overflow(L, 3, &L)) {
        int64_t wend;
        for (uint32_t i = 0; i < nb;) {
            int64_t ws = ocl_tsdb_align(db->blocks[i]->mint, L);
            wend = ocl_tsdb_add_sat(ws, L);
            uint32_t j = i;
            bool fits = true;
            while (j < nb && ocl_tsdb_align(db->blocks[j]->mint, L) == ws) {
                if (db->blocks[j]->maxt > wend) fits = false;
                j++;
            }
            if (j - i >= 2 && fits && wend <= newest) {
                ocl_block_t *out, **grp = ocl_malloc((j - i) * sizeof *grp);
                memcpy(grp, db->blocks + i, (j - i) * sizeof *grp);
                uint32_t level = 0;
                for (uint32_t k = 0; k < j - i; k++)
                    level = OCL_MAX(level, grp[k]->level);
                int rc = merge_blocks(db, grp, j - i, ws, wend, level + 1, &out);
                if (rc == 0) {
                    ocl_info("tsdb: compacted %u blocks into %s [%lld, %lld)", j - i, out->name,
                             (long long)ws, (long long)wend);
                    replace_blocks(db, grp, j - i, out);
                }
                ocl_free(grp);
                return rc == 0 ? 1 : rc;
            }
            i = j;
        }
    }
    return 0;
}

static void retention(ocl_tsdb_t *db)
{
    for (int guard = 0; guard < 100000; guard++) {
        ocl_block_t *victim = NULL;
        pthread_rwlock_rdlock(&db->lock);
        int64_t newest = db->head.nsamples ? db->head.maxt : INT64_MIN;
        uint64_t total = 0;
        for (uint32_t i = 0; i < db->nblocks; i++) {
            total += db->blocks[i]->bytes;
            if (db->blocks[i]->data_maxt > newest) newest = db->blocks[i]->data_maxt;
        }
        if (db->nblocks) {
            ocl_block_t *oldest = db->blocks[0];
            if (oldest->maxt <= ocl_tsdb_sub_sat(newest, db->opts.retention_ms) ||
                (db->opts.retention_bytes && total > db->opts.retention_bytes))
                victim = oldest;
        }
        pthread_rwlock_unlock(&db->lock);
        if (!victim) return;
        /* the blocks may no longer tell the watermark after this: it is on
         * disk already (written after the cut), else tried once more; a
         * failure does not stop retention, which may be what frees a full
         * disk (the file then lags by the cuts since its last write) */
        ocl_tsdb_watermark_save(db);
        ocl_info("tsdb: retention drops block %s", victim->name);
        replace_blocks(db, &victim, 1, NULL);
    }
}

int64_t ocl_tsdb_newest(const ocl_tsdb_t *db);

/* Drops the metadata of families not received while the newest sample
 * advanced by more than the retention (as blocks age out). */
static void meta_prune(ocl_tsdb_t *db)
{
    pthread_rwlock_wrlock(&db->lock);
    int64_t newest = ocl_tsdb_newest(db);
    if (newest != INT64_MIN) {
        int64_t cutoff = ocl_tsdb_sub_sat(newest, db->opts.retention_ms);
        uint32_t w = 0;
        for (uint32_t i = 0; i < db->nmeta; i++) {
            /* received while the database was empty: its age starts now */
            if (db->meta[i].seen == INT64_MIN) db->meta[i].seen = newest;
            if (db->meta[i].seen <= cutoff) {
                ocl_free(db->meta[i].mem);
                continue;
            }
            db->meta[w++] = db->meta[i];
        }
        if (w != db->nmeta) db->meta_dirty = true;
        db->nmeta = w;
    }
    pthread_rwlock_unlock(&db->lock);
}

int ocl_tsdb_maintain(ocl_tsdb_t *db)
{
    int rc = 0;
    pthread_mutex_lock(&db->maint);
    if (!db->dir) {
        pthread_rwlock_wrlock(&db->lock);
        ocl_head_t *h = &db->head;
        if (h->nsamples && ocl_tsdb_span(h->mint, h->maxt) > (uint64_t)db->opts.retention_ms) {
            int64_t before =
                ocl_tsdb_align(ocl_tsdb_sub_sat(h->maxt, db->opts.retention_ms), h->range);
            if (before > h->mint) ocl_head_truncate(h, before);
        }
        pthread_rwlock_unlock(&db->lock);
        meta_prune(db);
        goto done;
    }
    int64_t R = db->opts.block_range_ms, last_mint = 0;
    for (int guard = 0; guard < 100000; guard++) {
        pthread_rwlock_rdlock(&db->lock);
        bool empty = db->head.nsamples == 0;
        int64_t mint = db->head.mint, maxt = db->head.maxt;
        pthread_rwlock_unlock(&db->lock);
        if (empty || ocl_tsdb_span(mint, maxt) <= (uint64_t)(R / 2) * 3) break;
        if (guard && mint == last_mint) break; /* no progress */
        last_mint = mint;
        int64_t start = ocl_tsdb_align(mint, R);
        /* a failed write (disk full?) skips compaction, not retention: it
         * only deletes, and may free what the next attempt needs */
        if ((rc = cut(db, start, ocl_tsdb_add_sat(start, R), false)) != 0) break;
    }
    ocl_tsdb_watermark_save(db); /* when the cuts advanced it */
    for (int guard = 0; rc == 0 && guard < 1000; guard++) {
        int r = compact_once(db);
        if (r < 0) {
            rc = r;
            break;
        }
        if (r == 0) break;
    }
    retention(db);
    meta_prune(db);
    /* after the cuts: the pipeline truncates the WAL (and the metadata
     * records in it) only after this returns */
    int mrc = ocl_tsdb_meta_save(db);
    if (!rc) rc = mrc;
done:
    pthread_mutex_unlock(&db->maint);
    return rc;
}

int ocl_tsdb_flush(ocl_tsdb_t *db)
{
    int rc = 0;
    if (!db->dir) return 0;
    pthread_mutex_lock(&db->maint);
    int64_t R = db->opts.block_range_ms, last_mint = 0;
    for (int guard = 0; guard < 1000000; guard++) {
        pthread_rwlock_rdlock(&db->lock);
        bool empty = db->head.nsamples == 0;
        int64_t mint = db->head.mint;
        pthread_rwlock_unlock(&db->lock);
        if (empty || (guard && mint == last_mint)) break; /* no progress: t = INT64_MAX */
        last_mint = mint;
        int64_t start = ocl_tsdb_align(mint, R);
        /* seals only up to the newest sample (read by cut, under its lock) */
        if ((rc = cut(db, start, ocl_tsdb_add_sat(start, R), true)) != 0) break;
    }
    int wrc = ocl_tsdb_watermark_save(db);
    if (rc == 0) rc = wrc;
    pthread_mutex_unlock(&db->maint);
    return rc;
}

int64_t ocl_tsdb_persisted_before(ocl_tsdb_t *db)
{
    pthread_rwlock_rdlock(&db->lock);
    int64_t t = db->persisted_before;
    pthread_rwlock_unlock(&db->lock);
    return t;
}
