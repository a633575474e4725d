/*
 * tsdb.c — the public face of the metrics TSDB (tsdb.h): open/close with
 * block discovery, appends with Prometheus's rules, queries that merge the
 * head and the blocks, metadata and stats. Maintenance (block cut,
 * compaction, retention) lives in compact.c, the head in head.c, the block
 * format in block.c.
 *
 * Queries take the read lock only to pick (and reference) the overlapping
 * blocks and to copy the head's matching labels and chunk bytes; block
 * lookups and all decoding run without it, straight into the caller's
 * arena (ocl_chunk_decode into one region per series, sized by the
 * overlapping chunks' sample counts and trimmed after). Each
 * source (blocks, then the head) contributes entries that are then sorted
 * by labels and merged (samples by time, a timestamp present in several
 * sources kept once). The lock prefers writers.
 * Tuned for many small appends (one batch per remote-write request or
 * scrape) and for queries touching up to ~10^5 series.
 */
#include "store/metrics/block.h"

#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#define DEFAULT_RANGE (2 * 3600 * 1000LL)
#define DEFAULT_RETENTION (15 * 24 * 3600 * 1000LL)

/* ---- open / close ---- */

static int block_cmp(const void *a, const void *b)
{
    const ocl_block_t *x = *(ocl_block_t *const *)a, *y = *(ocl_block_t *const *)b;
    if (x->mint != y->mint) return x->mint < y->mint ? -1 : 1;
    return strcmp(x->name, y->name);
}

void ocl_tsdb_sort_blocks(ocl_tsdb_t *db);
void ocl_tsdb_sort_blocks(ocl_tsdb_t *db)
{
    if (db->nblocks > 1) qsort(db->blocks, db->nblocks, sizeof *db->blocks, block_cmp);
    /* the watermark never moves back (retention may drop every block) */
    for (uint32_t i = 0; i < db->nblocks; i++)
        if (db->blocks[i]->maxt > db->persisted_before) db->persisted_before = db->blocks[i]->maxt;
}

int64_t ocl_tsdb_newest(const ocl_tsdb_t *db);

static bool has_suffix(const char *s, size_t l, const char *suf)
{
    size_t k = strlen(suf);
    return l > k && strcmp(s + l - k, suf) == 0;
}

/* Whether a block directory that failed to open is what an interrupted
 * deletion left behind. Versions before the rename protocol
 * (ocl_block_delete) unlinked a block's files in place, and a crash could
 * leave some of them. A published block always has all three files
 * (fsynced before its rename) and nothing but deletion removes one, so
 * a directory missing a file is being deleted — provided its data is not
 * needed: its meta is gone (the delete had begun; as a compaction source
 * its samples are in the published result, as a retention victim they
 * were expired), or its meta says that a loaded block covers its range,
 * or that it is past retention. A block with all its files that fails
 * its checks (damage) is kept and skipped. */
static bool is_leftover(ocl_tsdb_t *db, const char *path)
{
    static const char *const files[] = {"meta", "index", "chunks"};
    /* only a directory named like a block (26 Crockford base32 characters):
     * never someone else's directory (lost+found, a backup, …) */
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    if (strlen(name) != 26) return false;
    for (const char *c = name; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'A' && *c <= 'Z')) || strchr("ILOU", *c))
            return false;
    bool missing[3], any = false;
    for (int i = 0; i < 3; i++) {
        char p[4200];
        struct stat sb;
        snprintf(p, sizeof p, "%s/%s", path, files[i]);
        missing[i] = stat(p, &sb) != 0 && errno == ENOENT;
        any |= missing[i];
    }
    if (!any) return false;
    if (missing[0]) return true;
    int64_t mint, maxt;
    if (ocl_block_read_meta(path, &mint, &maxt) != 0) return false;
    for (uint32_t i = 0; i < db->nblocks; i++)
        if (db->blocks[i]->mint <= mint && db->blocks[i]->maxt >= maxt) return true;
    int64_t newest = ocl_tsdb_newest(db);
    return newest != INT64_MIN && maxt <= ocl_tsdb_sub_sat(newest, db->opts.retention_ms);
}

static int load_blocks(ocl_tsdb_t *db)
{
    DIR *d = opendir(db->dir);
    if (!d) return OCL_EIO;
    struct dirent *de;
    char **bad = NULL; /* directories that failed to open */
    size_t nbad = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        size_t l = strlen(de->d_name);
        char path[4096];
        if (snprintf(path, sizeof path, "%s/%s", db->dir, de->d_name) >= (int)sizeof path) continue;
        if (has_suffix(de->d_name, l, ".tmp") || has_suffix(de->d_name, l, OCL_BLOCK_DELETED)) {
            ocl_info("tsdb: removing %s block %s",
                     has_suffix(de->d_name, l, ".tmp") ? "unfinished" : "deleted", path);
            ocl_block_remove_dir(path);
            continue;
        }
        struct stat sb;
        if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) continue;
        ocl_block_t *b;
        int rc = ocl_block_open(path, &b);
        if (rc) {
            ocl_warn("tsdb: cannot open block %s: %s", path, ocl_strerror(rc));
            bad = ocl_realloc(bad, (nbad + 1) * sizeof *bad);
            bad[nbad++] = ocl_strndup(path, strlen(path));
            continue;
        }
        db->blocks = ocl_realloc(db->blocks, (db->nblocks + 1) * sizeof *db->blocks);
        db->blocks[db->nblocks++] = b;
    }
    closedir(d);
    ocl_tsdb_sort_blocks(db);
    for (size_t i = 0; i < nbad; i++) {
        if (is_leftover(db, bad[i])) {
            ocl_info("tsdb: removing %s, left half-deleted by a crash", bad[i]);
            ocl_block_delete(db->dir, bad[i]);
        } else {
            ocl_warn("tsdb: skipping block %s (kept on disk)", bad[i]);
        }
        ocl_free(bad[i]);
    }
    ocl_free(bad);
    ocl_tsdb_watermark_load(db);
    db->min_valid_t = db->persisted_before;
    return 0;
}

int ocl_tsdb_open(const ocl_tsdb_opts_t *opts, ocl_tsdb_t **out)
{
    int rc = 0;
    ocl_tsdb_t *db = ocl_calloc(1, sizeof *db);
    db->opts = *opts;
    if (db->opts.block_range_ms <= 0) db->opts.block_range_ms = DEFAULT_RANGE;
    if (db->opts.retention_ms <= 0) db->opts.retention_ms = DEFAULT_RETENTION;
    if (db->opts.max_series == 0) db->opts.max_series = 1000000;
    if (db->opts.max_meta == 0) db->opts.max_meta = OCL_TSDB_MAX_META;
    /* writers first: a stream of overlapping queries must not starve appends */
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&db->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    pthread_mutex_init(&db->maint, NULL);
    ocl_head_init(&db->head, db->opts.block_range_ms);
    db->min_valid_t = INT64_MIN;
    db->persisted_before = INT64_MIN;
    db->wm_saved = INT64_MIN;
    if (opts->dir) {
        db->dir = ocl_strndup(opts->dir, strlen(opts->dir));
        db->opts.dir = db->dir;
        if ((rc = ocl_mkdir_p(db->dir)) != 0) goto error;
        if ((rc = load_blocks(db)) != 0) goto error;
        ocl_tsdb_meta_load(db);
    }
    *out = db;
    return 0;
error:
    ocl_tsdb_close(db);
    return rc;
}

void ocl_tsdb_close(ocl_tsdb_t *db)
{
    if (!db) return;
    for (uint32_t i = 0; i < db->nblocks; i++)
        ocl_block_unref(db->blocks[i]);
    ocl_free(db->blocks);
    for (uint32_t i = 0; i < db->nmeta; i++)
        ocl_free(db->meta[i].mem);
    ocl_free(db->meta);
    ocl_head_dispose(&db->head);
    pthread_rwlock_destroy(&db->lock);
    pthread_mutex_destroy(&db->maint);
    ocl_free(db->dir);
    ocl_free(db);
}

/* ---- append ---- */

static int str_cmp(ocl_str_t a, ocl_str_t b)
{
    size_t n = OCL_MIN(a.n, b.n);
    int c = n ? memcmp(a.p, b.p, n) : 0;
    if (c) return c;
    return a.n < b.n ? -1 : a.n > b.n;
}

static bool batch_valid(const ocl_prom_batch_t *b)
{
    if (b->n_series && !b->series) return false;
    if (b->n_meta && !b->meta) return false;
    for (size_t i = 0; i < b->n_series; i++) {
        const ocl_prom_series_t *s = &b->series[i];
        if (s->n_samples && !s->samples) return false;
        if (s->labels.n && !s->labels.v) return false;
        bool name = false;
        for (uint32_t k = 0; k < s->labels.n; k++) {
            const ocl_label_t *l = &s->labels.v[k];
            if (l->name.n == 0 || l->value.n == 0) return false;
            if (k && str_cmp(s->labels.v[k - 1].name, l->name) >= 0) return false;
            if (ocl_str_eq_c(l->name, OCL_METRIC_NAME)) name = true;
        }
        if (!name) return false;
    }
    return true;
}

static void set_error(ocl_tsdb_append_result_t *res, const char *what, const ocl_labels_t *ls,
                      int64_t t)
{
    if (!res || res->first_error[0]) return;
    ocl_buf_t b;
    ocl_buf_init(&b);
    ocl_labels_format(ls, &b);
    snprintf(res->first_error, sizeof res->first_error, "%s for series %.*s at timestamp %lld",
             what, (int)OCL_MIN(b.len, 120), (const char *)b.p, (long long)t);
    ocl_buf_dispose(&b);
}

void ocl_tsdb_meta_put(ocl_tsdb_t *db, const ocl_prom_meta_t *m, int64_t seen)
{
    uint32_t lo = 0, hi = db->nmeta;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        int c = str_cmp(db->meta[mid].m.family, m->family);
        if (c == 0) {
            ocl_meta_ent_t *e = &db->meta[mid];
            if (e->m.type == m->type && ocl_str_eq(e->m.help, m->help) &&
                ocl_str_eq(e->m.unit, m->unit)) {
                /* re-sent unchanged (every minute by Prometheus): the file
                 * is rewritten for it at most once per block range */
                if (seen > e->seen) {
                    if (ocl_tsdb_sub_sat(seen, e->seen) > db->opts.block_range_ms)
                        db->meta_dirty = true;
                    e->seen = seen;
                }
                return;
            }
            lo = mid;
            hi = UINT32_MAX;
            break;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (hi != UINT32_MAX && db->nmeta >= db->opts.max_meta) {
        if (db->meta_dropped++ == 0)
            ocl_warn("tsdb: %s: more than %u metric families; metadata of new families is dropped",
                     db->dir ? db->dir : "(memory)", db->opts.max_meta);
        return;
    }
    db->meta_dirty = true;
    size_t n = m->family.n + m->help.n + m->unit.n + 3;
    char *mem = ocl_malloc(n), *p = mem;
    ocl_prom_meta_t c = {.type = m->type};
    ocl_str_t src[3] = {m->family, m->help, m->unit};
    ocl_str_t *dst[3] = {&c.family, &c.help, &c.unit};
    for (int i = 0; i < 3; i++) {
        if (src[i].n) memcpy(p, src[i].p, src[i].n);
        p[src[i].n] = 0;
        *dst[i] = (ocl_str_t){p, src[i].n};
        p += src[i].n + 1;
    }
    if (hi == UINT32_MAX) { /* replace */
        ocl_free(db->meta[lo].mem);
        db->meta[lo] = (ocl_meta_ent_t){c, mem, OCL_MAX(seen, db->meta[lo].seen)};
        return;
    }
    if (db->nmeta == db->capmeta) {
        db->capmeta = db->capmeta ? db->capmeta * 2 : 64;
        db->meta = ocl_realloc(db->meta, db->capmeta * sizeof *db->meta);
    }
    memmove(db->meta + lo + 1, db->meta + lo, (db->nmeta - lo) * sizeof *db->meta);
    db->meta[lo] = (ocl_meta_ent_t){c, mem, seen};
    db->nmeta++;
}

/* Newest sample time of the database (INT64_MIN when empty); lock held. */
int64_t ocl_tsdb_newest(const ocl_tsdb_t *db);
int64_t ocl_tsdb_newest(const ocl_tsdb_t *db)
{
    int64_t newest = db->head.nsamples ? db->head.maxt : INT64_MIN;
    for (uint32_t i = 0; i < db->nblocks; i++)
        if (db->blocks[i]->nsamples && db->blocks[i]->data_maxt > newest)
            newest = db->blocks[i]->data_maxt;
    return newest;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int append(ocl_tsdb_t *db, const ocl_prom_batch_t *b, ocl_tsdb_append_result_t *res,
                  bool replay)
{
    ocl_tsdb_append_result_t local;
    if (!res) res = &local;
    memset(res, 0, sizeof *res);
    if (!batch_valid(b)) return OCL_EINVAL;
    uint32_t max_series = replay ? UINT32_MAX : db->opts.max_series;
    int64_t max_t = INT64_MAX;
    if (db->opts.max_future_ms > 0 && !replay) {
        int64_t now = wall_ms();
        max_t = now > INT64_MAX - db->opts.max_future_ms ? INT64_MAX : now + db->opts.max_future_ms;
    }
    res->max_valid_t = max_t;
    pthread_rwlock_wrlock(&db->lock);
    ocl_head_t *h = &db->head;
    /* Hashes are computed PF series ahead and their map slots prefetched,
     * hiding most of the cache miss of a random lookup. */
    enum { PF = 8 };
    uint64_t hashes[PF];
    for (size_t i = 0; i < b->n_series && i < PF; i++) {
        hashes[i] = ocl_labels_hash(&b->series[i].labels);
        ocl_head_prefetch(h, hashes[i]);
    }
    for (size_t i = 0; i < b->n_series; i++) {
        const ocl_prom_series_t *ps = &b->series[i];
        uint64_t hash = hashes[i % PF];
        if (i + PF < b->n_series) {
            hashes[i % PF] = ocl_labels_hash(&b->series[i + PF].labels);
            ocl_head_prefetch(h, hashes[i % PF]);
        }
        if (!ps->n_samples) continue;
        ocl_hseries_t *s = ocl_head_find(h, &ps->labels, hash);
        if (!s) {
            if (h->nseries >= max_series) {
                res->series_limited += ps->n_samples;
                if (!res->first_error[0])
                    snprintf(res->first_error, sizeof res->first_error,
                             "too many series: the limit of %u active series is reached",
                             db->opts.max_series);
                continue;
            }
            /* a series whose samples are all out of bounds is not created */
            bool any = false;
            for (uint32_t k = 0; k < ps->n_samples && !any; k++)
                any = ps->samples[k].t >= db->min_valid_t && ps->samples[k].t <= max_t;
            if (!any) {
                res->out_of_bounds += ps->n_samples;
                for (uint32_t k = 0; k < ps->n_samples; k++)
                    res->too_new += ps->samples[k].t > max_t;
                set_error(res,
                          ps->samples[0].t > max_t ? "sample timestamp too far in the future"
                                                   : "out of bounds",
                          &ps->labels, ps->samples[0].t);
                continue;
            }
            s = ocl_head_create(h, &ps->labels, hash);
            res->new_series++;
        }
        for (uint32_t k = 0; k < ps->n_samples; k++) {
            int64_t t = ps->samples[k].t;
            double v = ps->samples[k].v;
            if (OCL_UNLIKELY(t < db->min_valid_t)) {
                res->out_of_bounds++;
                set_error(res, "out of bounds", &ps->labels, t);
                continue;
            }
            if (OCL_UNLIKELY(t > max_t)) {
                /* one far-future sample would make everything after it
                 * "out of order" for its series and, once persisted, push
                 * the head's lower bound past every real sample */
                res->out_of_bounds++;
                res->too_new++;
                set_error(res, "sample timestamp too far in the future", &ps->labels, t);
                continue;
            }
            if (s->nchunks && t <= s->app.t) {
                if (t < s->app.t) {
                    res->out_of_order++;
                    set_error(res, "out of order sample", &ps->labels, t);
                    continue;
                }
                uint64_t vb;
                memcpy(&vb, &v, sizeof vb);
                if (vb == s->app.v) {
                    res->duplicates++;
                } else {
                    res->dup_conflict++;
                    set_error(res, "duplicate sample for timestamp", &ps->labels, t);
                }
                continue;
            }
            ocl_head_append(h, s, t, v);
            res->appended++;
        }
    }
    int64_t seen = b->n_meta ? ocl_tsdb_newest(db) : 0;
    for (size_t i = 0; i < b->n_meta; i++)
        if (b->meta[i].family.n) ocl_tsdb_meta_put(db, &b->meta[i], seen);
    pthread_rwlock_unlock(&db->lock);
    return 0;
}

int ocl_tsdb_append(ocl_tsdb_t *db, const ocl_prom_batch_t *b, ocl_tsdb_append_result_t *res)
{
    return append(db, b, res, false);
}

int ocl_tsdb_append_replay(ocl_tsdb_t *db, const ocl_prom_batch_t *b,
                           ocl_tsdb_append_result_t *res)
{
    return append(db, b, res, true);
}

int ocl_tsdb_last_sample(ocl_tsdb_t *db, const ocl_labels_t *ls, int64_t *t, double *v)
{
    int rc = OCL_ENOTFOUND;
    uint64_t hash = ocl_labels_hash(ls);
    pthread_rwlock_rdlock(&db->lock);
    ocl_hseries_t *s = ocl_head_find(&db->head, ls, hash);
    if (s && s->nchunks) {
        *t = s->app.t;
        memcpy(v, &s->app.v, sizeof *v);
        rc = 0;
    }
    pthread_rwlock_unlock(&db->lock);
    return rc;
}

/* ---- queries ---- */

typedef struct {
    ocl_labels_t ls; /* arena copy */
    int64_t *t;      /* arena samples (NULL in label mode) */
    double *v;       /*  */
    uint32_t n;      /* samples */
    uint32_t src;    /* source order (blocks by time, head last) */
} qent_t;

typedef struct {
    qent_t *e;            /* entries */
    size_t n, cap;        /* count, allocated */
    bool samples;         /* select mode (else labels only) */
    uint64_t max_samples; /* limit (0 = none) */
    uint64_t total;       /* samples loaded */
    int64_t mint, maxt;   /* time range (inclusive) */
    ocl_page_cache_t pc;  /* block page cache */
    ocl_arena_t *a;       /* caller's arena */
    /* head series copied under the lock, decoded after it */
    struct hpend {
        ocl_labels_t ls; /* arena copy */
        uint32_t c0, nc; /* first chunk in hc, count */
        uint32_t ns;     /* samples in those chunks */
    } * hp;
    size_t nhp, caphp; /* count, allocated */
    struct hchunk {
        size_t off;   /* offset of the bytes in raw */
        uint32_t len; /* encoded length */
        uint32_t n;   /* samples */
        uint8_t enc;  /* encoding */
        bool inside;  /* every sample is in [mint, maxt] */
    } * hc;
    size_t nhc, caphc; /* count, allocated */
    ocl_buf_t raw;     /* copied chunk bytes */
} query_t;

/* Samples of one series being decoded straight into the caller's arena:
 * one region of cap timestamps followed by cap values, cap = the samples
 * of the overlapping chunks (an upper bound), trimmed by sdec_finish. */
typedef struct {
    int64_t *t;   /* region start (timestamps) */
    double *v;    /* values: t + cap */
    uint32_t n;   /* decoded so far */
    uint32_t cap; /* room */
} sdec_t;

static void sdec_begin(query_t *q, sdec_t *d, uint32_t cap)
{
    d->t = ocl_arena_alloc(q->a, (size_t)(cap ? cap : 1) * 16);
    d->v = (double *)(d->t + cap);
    d->n = 0;
    d->cap = cap;
}

/* Decodes one chunk (at most cap - n samples) after the ones decoded.
 * `inside`: the chunk's samples are known to lie in [mint, maxt] (head
 * chunks, whose time range is exact), so the decoder skips the tests. */
static int sdec_chunk(query_t *q, sdec_t *d, int enc, const uint8_t *b, size_t len, uint32_t n,
                      bool inside)
{
    if (n > d->cap - d->n) return OCL_ECORRUPT;
    int rc = ocl_chunk_decode(enc, b, len, n, inside ? INT64_MIN : q->mint,
                              inside ? INT64_MAX : q->maxt, d->t + d->n, d->v + d->n);
    if (rc < 0) return rc;
    d->n += (uint32_t)rc;
    return 0;
}

/* Moves the values next to the timestamps and gives the rest back. */
static void sdec_finish(query_t *q, sdec_t *d)
{
    if (d->n == d->cap) return;
    memmove(d->t + d->n, d->v, (size_t)d->n * sizeof *d->v);
    d->v = (double *)(d->t + d->n);
    int64_t *t = ocl_arena_realloc(q->a, d->t, (size_t)d->cap * 16, (size_t)(d->n ? d->n : 1) * 16);
    d->v = (double *)(t + d->n);
    d->t = t;
}

/* Adds an entry (samples already in the arena in select mode). */
static int push_entry(query_t *q, ocl_labels_t ls, uint32_t src, const sdec_t *d)
{
    if (q->n == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 256;
        q->e = ocl_realloc(q->e, q->cap * sizeof *q->e);
    }
    qent_t *e = &q->e[q->n++];
    *e = (qent_t){.ls = ls, .src = src};
    if (q->samples) {
        q->total += d->n;
        if (q->max_samples && q->total > q->max_samples) return OCL_ETOOBIG;
        e->n = d->n;
        e->t = d->t;
        e->v = d->v;
    }
    return 0;
}

static bool overlaps(int64_t a0, int64_t a1, int64_t mint, int64_t maxt)
{
    return a0 <= maxt && a1 >= mint;
}

/* Under the read lock: selects head series and copies their labels and the
 * bytes of their overlapping chunks (decoding happens after the lock). */
static int collect_head(ocl_tsdb_t *db, query_t *q, const ocl_matcher_t *ms, size_t n_ms)
{
    ocl_head_t *h = &db->head;
    int rc = 0;
    if (!h->nseries || !overlaps(h->mint, h->maxt, q->mint, q->maxt)) return 0;
    uint32_t *ids, nids;
    ocl_postings_select(&h->post, &h->syms, ms, n_ms, &ids, &nids);
    for (uint32_t i = 0; i < nids; i++) {
        ocl_hseries_t *s = h->series[ids[i]];
        uint32_t c0 = (uint32_t)q->nhc, ns = 0;
        bool hit = false;
        for (uint32_t k = 0; k < s->nchunks; k++) {
            const ocl_chunk_t *c = &s->chunks[k];
            if (!overlaps(c->mint, c->maxt, q->mint, q->maxt)) continue;
            hit = true;
            if (!q->samples) break;
            if (q->nhc == q->caphc) {
                q->caphc = q->caphc ? q->caphc * 2 : 256;
                q->hc = ocl_realloc(q->hc, q->caphc * sizeof *q->hc);
            }
            uint32_t len = ocl_chunk_bytes(c);
            q->hc[q->nhc++] = (struct hchunk){q->raw.len, len, c->n, c->enc,
                                              c->mint >= q->mint && c->maxt <= q->maxt};
            ns += c->n;
            ocl_buf_append(&q->raw, c->b, len);
        }
        if (!hit) continue;
        if (!q->samples) {
            if ((rc = push_entry(q, ocl_head_labels(h, s, q->a), UINT32_MAX, NULL)) != 0) break;
            continue;
        }
        if (q->nhp == q->caphp) {
            q->caphp = q->caphp ? q->caphp * 2 : 256;
            q->hp = ocl_realloc(q->hp, q->caphp * sizeof *q->hp);
        }
        q->hp[q->nhp++] =
            (struct hpend){ocl_head_labels(h, s, q->a), c0, (uint32_t)q->nhc - c0, ns};
    }
    ocl_free(ids);
    return rc;
}

/* After the lock: decodes the copied head chunks into entries. */
static int decode_head(query_t *q)
{
    for (size_t i = 0; i < q->nhp; i++) {
        const struct hpend *p = &q->hp[i];
        sdec_t d;
        sdec_begin(q, &d, p->ns);
        for (uint32_t k = 0; k < p->nc; k++) {
            const struct hchunk *c = &q->hc[p->c0 + k];
            int rc = sdec_chunk(q, &d, c->enc, q->raw.p + c->off, c->len, c->n, c->inside);
            if (rc) return rc;
        }
        sdec_finish(q, &d);
        if (d.n == 0) continue;
        int rc = push_entry(q, p->ls, UINT32_MAX, &d);
        if (rc) return rc;
    }
    return 0;
}

static int collect_block(ocl_block_t *b, uint32_t src, query_t *q, const ocl_matcher_t *ms,
                         size_t n_ms)
{
    int rc = 0;
    uint32_t *ids, nids, bad = 0;
    bool warned = false;
    ocl_postings_select(&b->post, &b->syms, ms, n_ms, &ids, &nids);
    for (uint32_t i = 0; i < nids; i++) {
        const ocl_bseries_t *s = &b->series[ids[i]];
        bool hit = false;
        sdec_t d = {0};
        uint32_t ns = 0;
        for (uint32_t k = 0; k < s->nchunks; k++) {
            const ocl_bchunk_t *c = &s->chunks[k];
            if (!overlaps(c->mint, c->maxt, q->mint, q->maxt)) continue;
            hit = true;
            if (!q->samples) break;
            ns += c->n;
        }
        if (hit && q->samples) {
            sdec_begin(q, &d, ns);
            for (uint32_t k = 0; k < s->nchunks; k++) {
                const ocl_bchunk_t *c = &s->chunks[k];
                if (!overlaps(c->mint, c->maxt, q->mint, q->maxt)) continue;
                const uint8_t *p;
                /* a damaged chunk yields nothing (its samples are dropped) */
                if (ocl_block_chunk(b, c, &q->pc, &p) != 0 ||
                    sdec_chunk(q, &d, c->enc, p, c->len, c->n, false) != 0)
                    bad++;
            }
            sdec_finish(q, &d);
        }
        if (bad && !warned) {
            ocl_warn("tsdb: block %s: unreadable chunks skipped", b->name);
            warned = true;
        }
        if (!hit || (q->samples && d.n == 0)) continue;
        if ((rc = push_entry(q, ocl_block_labels(b, ids[i], q->a), src, &d)) != 0) goto done;
    }
done:
    ocl_free(ids);
    return rc;
}

static int qent_cmp(const void *a, const void *b)
{
    const qent_t *x = a, *y = b;
    int c = ocl_labels_cmp(&x->ls, &y->ls);
    if (c) return c;
    return x->src < y->src ? -1 : x->src > y->src;
}

/* Runs the query over blocks and head, leaving sorted, merged entries.
 * The read lock covers only the choice of blocks (each referenced) and the
 * copy of head data; postings lookups in blocks and all decoding run
 * without it. */
static int collect(ocl_tsdb_t *db, query_t *q, const ocl_matcher_t *ms, size_t n_ms)
{
    int rc = 0;
    ocl_matcher_limit_take(); /* matching runs on this thread: start clean */
    pthread_rwlock_rdlock(&db->lock);
    uint32_t nb = 0;
    ocl_block_t **bl = ocl_malloc((db->nblocks + 1) * sizeof *bl);
    uint32_t *src = ocl_malloc((db->nblocks + 1) * sizeof *src);
    for (uint32_t i = 0; i < db->nblocks; i++) {
        ocl_block_t *b = db->blocks[i];
        if (!overlaps(b->data_mint, b->data_maxt, q->mint, q->maxt)) continue;
        ocl_block_ref(b);
        src[nb] = i;
        bl[nb++] = b;
    }
    rc = collect_head(db, q, ms, n_ms);
    pthread_rwlock_unlock(&db->lock);
    for (uint32_t i = 0; i < nb; i++) {
        if (!rc) rc = collect_block(bl[i], src[i], q, ms, n_ms);
        ocl_block_unref(bl[i]);
    }
    ocl_free(bl);
    ocl_free(src);
    if (ocl_matcher_limit_take() && !rc) rc = OCL_EREGEX_LIMIT; /* no wrong answer */
    if (!rc) rc = decode_head(q);
    if (rc || q->n < 2) return rc;
    qsort(q->e, q->n, sizeof *q->e, qent_cmp);
    size_t w = 0;
    for (size_t i = 0; i < q->n; i++) {
        if (w == 0 || !ocl_labels_equal(&q->e[w - 1].ls, &q->e[i].ls)) {
            q->e[w++] = q->e[i];
            continue;
        }
        if (!q->samples) continue;
        qent_t *d = &q->e[w - 1], *s = &q->e[i];
        int64_t *t = ocl_arena_alloc(q->a, (d->n + s->n) * sizeof *t);
        double *v = ocl_arena_alloc(q->a, (d->n + s->n) * sizeof *v);
        uint32_t x = 0, y = 0, k = 0;
        while (x < d->n || y < s->n) {
            if (y >= s->n || (x < d->n && d->t[x] <= s->t[y])) {
                if (y < s->n && d->t[x] == s->t[y]) y++;
                t[k] = d->t[x], v[k++] = d->v[x++];
            } else {
                t[k] = s->t[y], v[k++] = s->v[y++];
            }
        }
        d->t = t, d->v = v, d->n = k;
    }
    q->n = w;
    return 0;
}

static void query_dispose(query_t *q)
{
    ocl_free(q->e);
    ocl_free(q->hp);
    ocl_free(q->hc);
    ocl_buf_dispose(&q->raw);
    ocl_page_cache_dispose(&q->pc);
}

int ocl_tsdb_select(ocl_tsdb_t *db, const ocl_matcher_t *ms, size_t n_ms, int64_t mint,
                    int64_t maxt, uint64_t max_samples, ocl_arena_t *a, ocl_series_t **out,
                    size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    bool ok = false;
    for (size_t i = 0; i < n_ms; i++)
        ok |= !ms[i].matches_empty;
    if (!ok) return OCL_EINVAL;
    if (mint > maxt) return 0;
    query_t q = {.samples = true, .max_samples = max_samples, .mint = mint, .maxt = maxt, .a = a};
    int rc = collect(db, &q, ms, n_ms);
    if (rc) goto done;
    ocl_series_t *v = ocl_arena_alloc(a, (q.n ? q.n : 1) * sizeof *v);
    for (size_t i = 0; i < q.n; i++)
        v[i] = (ocl_series_t){q.e[i].ls, q.e[i].t, q.e[i].v, q.e[i].n};
    *out = v;
    *n_out = q.n;
done:
    query_dispose(&q);
    return rc;
}

int ocl_tsdb_series(ocl_tsdb_t *db, const ocl_matcher_t *ms, size_t n_ms, int64_t mint,
                    int64_t maxt, size_t limit, ocl_arena_t *a, ocl_series_t **out, size_t *n_out,
                    bool *truncated)
{
    *out = NULL;
    *n_out = 0;
    if (truncated) *truncated = false;
    if (mint > maxt) return 0;
    query_t q = {.mint = mint, .maxt = maxt, .a = a};
    int rc = collect(db, &q, ms, n_ms);
    if (rc) goto done;
    size_t n = q.n;
    if (limit && n > limit) {
        n = limit;
        if (truncated) *truncated = true;
    }
    ocl_series_t *v = ocl_arena_alloc(a, (n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = (ocl_series_t){q.e[i].ls, NULL, NULL, 0};
    *out = v;
    *n_out = n;
done:
    query_dispose(&q);
    return rc;
}

static int strp_cmp(const void *a, const void *b)
{
    return str_cmp(*(const ocl_str_t *)a, *(const ocl_str_t *)b);
}

/* Sorts, dedupes and copies strings into the arena. */
static void finish_strs(ocl_str_t *v, size_t n, ocl_arena_t *a, ocl_str_t **out, size_t *n_out)
{
    if (n > 1) qsort(v, n, sizeof *v, strp_cmp);
    ocl_str_t *r = ocl_arena_alloc(a, (n ? n : 1) * sizeof *r);
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (w && ocl_str_eq(r[w - 1], v[i])) continue;
        r[w++] = (ocl_str_t){ocl_arena_strndup(a, v[i].p, v[i].n), v[i].n};
    }
    *out = r;
    *n_out = w;
}

/* Growable array of borrowed strings. */
typedef struct {
    ocl_str_t *v;  /* strings */
    size_t n, cap; /* count, allocated */
} strvec_t;

static void strvec_push(strvec_t *s, ocl_str_t x)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = ocl_realloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = x;
}

/* name.p == NULL: label names; else values of `name`. Without matchers the
 * postings of each overlapping source answer directly. */
static int label_query(ocl_tsdb_t *db, const ocl_str_t *name, const ocl_matcher_t *ms, size_t n_ms,
                       int64_t mint, int64_t maxt, ocl_arena_t *a, ocl_str_t **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    strvec_t sv = {0};
    int rc = 0;
    query_t q = {.mint = mint, .maxt = maxt, .a = a};
    if (mint > maxt) goto done;
    if (n_ms == 0) {
        pthread_rwlock_rdlock(&db->lock);
        for (uint32_t i = 0; i <= db->nblocks; i++) {
            const ocl_symtab_t *st;
            const ocl_postings_t *p;
            if (i < db->nblocks) {
                ocl_block_t *b = db->blocks[i];
                if (!overlaps(b->data_mint, b->data_maxt, mint, maxt)) continue;
                st = &b->syms, p = &b->post;
            } else {
                if (!db->head.nseries || !overlaps(db->head.mint, db->head.maxt, mint, maxt))
                    continue;
                st = &db->head.syms, p = &db->head.post;
            }
            if (!name) {
                for (uint32_t k = 0; k < p->nnames; k++) {
                    const ocl_pname_t *pn = &p->names[k];
                    bool any = false;
                    for (uint32_t j = 0; j < pn->n && !any; j++)
                        any = p->lists[pn->lists[j]].n > 0;
                    if (any) strvec_push(&sv, ocl_symtab_get(st, pn->name));
                }
            } else {
                uint32_t nid = ocl_symtab_find(st, *name);
                const ocl_pname_t *pn = nid == OCL_SYM_NONE ? NULL : ocl_postings_name(p, nid);
                for (uint32_t j = 0; pn && j < pn->n; j++) {
                    const ocl_plist_t *l = &p->lists[pn->lists[j]];
                    if (l->n) strvec_push(&sv, ocl_symtab_get(st, l->value));
                }
            }
        }
        finish_strs(sv.v, sv.n, a, out, n_out); /* copies before unlocking */
        pthread_rwlock_unlock(&db->lock);
        goto done;
    }
    rc = collect(db, &q, ms, n_ms);
    if (rc) goto done;
    for (size_t i = 0; i < q.n; i++) {
        const ocl_labels_t *ls = &q.e[i].ls;
        if (!name) {
            for (uint32_t k = 0; k < ls->n; k++)
                strvec_push(&sv, ls->v[k].name);
        } else {
            ocl_str_t v = ocl_labels_get(ls, *name);
            if (v.n) strvec_push(&sv, v);
        }
    }
    finish_strs(sv.v, sv.n, a, out, n_out);
done:
    ocl_free(sv.v);
    query_dispose(&q);
    return rc;
}

int ocl_tsdb_label_names(ocl_tsdb_t *db, const ocl_matcher_t *ms, size_t n_ms, int64_t mint,
                         int64_t maxt, ocl_arena_t *a, ocl_str_t **out, size_t *n_out)
{
    return label_query(db, NULL, ms, n_ms, mint, maxt, a, out, n_out);
}

int ocl_tsdb_label_values(ocl_tsdb_t *db, ocl_str_t name, const ocl_matcher_t *ms, size_t n_ms,
                          int64_t mint, int64_t maxt, ocl_arena_t *a, ocl_str_t **out,
                          size_t *n_out)
{
    return label_query(db, &name, ms, n_ms, mint, maxt, a, out, n_out);
}

int ocl_tsdb_metadata(ocl_tsdb_t *db, ocl_str_t metric, size_t limit, ocl_arena_t *a,
                      ocl_prom_meta_t **out, size_t *n_out)
{
    pthread_rwlock_rdlock(&db->lock);
    size_t n = 0;
    ocl_prom_meta_t *v = ocl_arena_alloc(a, (db->nmeta ? db->nmeta : 1) * sizeof *v);
    for (uint32_t i = 0; i < db->nmeta && (!limit || n < limit); i++) {
        const ocl_prom_meta_t *m = &db->meta[i].m;
        if (metric.n && !ocl_str_eq(metric, m->family)) continue;
        v[n].type = m->type;
        v[n].family = (ocl_str_t){ocl_arena_strndup(a, m->family.p, m->family.n), m->family.n};
        v[n].help = (ocl_str_t){ocl_arena_strndup(a, m->help.p, m->help.n), m->help.n};
        v[n].unit = (ocl_str_t){ocl_arena_strndup(a, m->unit.p, m->unit.n), m->unit.n};
        n++;
    }
    pthread_rwlock_unlock(&db->lock);
    *out = v;
    *n_out = n;
    return 0;
}

void ocl_tsdb_stats(ocl_tsdb_t *db, ocl_tsdb_stats_t *st)
{
    memset(st, 0, sizeof *st);
    pthread_rwlock_rdlock(&db->lock);
    const ocl_head_t *h = &db->head;
    st->head_series = h->nseries;
    st->head_samples = h->nsamples;
    st->head_chunks = h->nchunks;
    st->head_bytes = ocl_head_bytes(h);
    st->head_min_t = h->nsamples ? h->mint : INT64_MAX;
    st->head_max_t = h->nsamples ? h->maxt : INT64_MIN;
    st->min_t = st->head_min_t;
    st->max_t = st->head_max_t;
    st->blocks = db->nblocks;
    st->meta_families = db->nmeta;
    st->meta_dropped = db->meta_dropped;
    for (uint32_t i = 0; i < db->nblocks; i++) {
        const ocl_block_t *b = db->blocks[i];
        st->block_bytes += b->bytes;
        st->block_samples += b->nsamples;
        if (b->nsamples && b->data_mint < st->min_t) st->min_t = b->data_mint;
        if (b->nsamples && b->data_maxt > st->max_t) st->max_t = b->data_maxt;
    }
    pthread_rwlock_unlock(&db->lock);
}
