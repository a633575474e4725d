/*
 * ingest_metrics.c — see ingest_metrics.h and docs/adr/0005-metrics-ingest.md.
 *
 * Invariants: a sample reaches a tenant's TSDB head only under that
 * tenant's lock, immediately followed (same lock) by the WAL record holding
 * it, so replaying the WAL in order rebuilds the head in the same order.
 * Every WAL record is accounted in a bucket before the append read lock is
 * released; truncation takes the write lock, so no record is ever in the
 * WAL without being accounted. Tenants are never removed while open.
 *
 * Workload: one call per remote-write or OTLP request (thousands of
 * samples); per sample work is the TSDB append and one max() here.
 */
#include "pipeline/ingest_metrics.h"

#include "api/selfmetrics.h"
#include "core/log.h"
#include "core/time.h"
#include "pipeline/otlp2prom.h"
#include "pipeline/tenants.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>

#define DEFAULT_DIR "@default"

typedef struct {
    char id[OCL_TENANT_MAX_LEN + 1]; /* tenant id; "" = default */
    size_t id_len;                   /* strlen(id) */
    uint32_t idx;                    /* position in the table (bucket bitsets) */
    ocl_tsdb_t *db;                  /* its TSDB */
    pthread_mutex_t lk;              /* append lock: TSDB append + WAL append */
    uint64_t flush_tried_ns;         /* last idle-head flush attempt (maint thread only) */
} mtenant_t;

typedef struct {
    uint32_t idx;  /* tenant index */
    int64_t max_t; /* newest sample time of that tenant's records in the bucket */
} btenant_t;

typedef struct {
    uint64_t min_seq, max_seq; /* WAL seqs accounted (min > max: empty) */
    btenant_t *tv;             /* tenants written, each with its own max time
                                * (one tenant's newer samples must not hold a
                                * bucket back for another: that forced idle
                                * flushes of tenants whose data was persisted) */
    uint32_t ntv, captv;       /* used / allocated */
    uint64_t created_ns;       /* monotonic time the bucket opened */
} bucket_t;

enum { R_OOO, R_DUP, R_OOB, R_LIMIT, R_COUNT };
static const char *const reason_names[R_COUNT] = {"out_of_order", "duplicate", "out_of_bounds",
                                                  "series_limit"};

struct ocl_mingest {
    ocl_mingest_cfg_t cfg;         /* copy (data_dir points at `dir`) */
    char *dir;                     /* data-dir/metrics */
    pthread_mutex_t create_mu;     /* serialises tenant creation */
    size_t n;                      /* published tenants (atomic, release/acquire) */
    mtenant_t *v[OCL_MAX_TENANTS]; /* tenants */
    pthread_rwlock_t trunc_lk;     /* read: append+account in flight; write: truncation */
    pthread_mutex_t bucket_mu;     /* guards buckets and meta_pending */
    /* Lowest seq of a record carrying metadata accounted since the last
     * maintenance pass began (UINT64_MAX: none). Its metadata may not be in
     * the TSDB's metadata file yet (written by ocl_tsdb_maintain), so the
     * truncation of that pass keeps it. */
    uint64_t meta_pending;
    bucket_t *buckets;             /* oldest first; the last one is open */
    size_t nb, capb;               /* used / allocated */
    uint64_t appended;             /* samples stored (atomic) */
    uint64_t rejected[R_COUNT];    /* samples refused by reason (atomic) */
    uint64_t wal_truncations;      /* truncation passes that advanced (maint thread) */
    uint64_t replay_records;       /* metrics WAL records replayed */
    uint64_t replay_bad;           /* records that could not be decoded */
    ocl_buf_t replay_buf;          /* decompressed record during replay (reused) */
    uint64_t replay_rejected;      /* samples the TSDB refused during replay */
    pthread_t maint;               /* maintenance thread (cuts can take seconds, so
                                    * not on the trace maintenance thread) */
    pthread_mutex_t maint_mu;      /* guards stop */
    pthread_cond_t maint_cv;       /* wakes the maintenance thread */
    bool stop;                     /* set on close */
    bool maint_started;            /* maint is running */
};

/* ---- tenants ---- */

static mtenant_t *find(ocl_mingest_t *m, ocl_str_t id)
{
    size_t n = __atomic_load_n(&m->n, __ATOMIC_ACQUIRE);
    for (size_t i = 0; i < n; i++)
        if (m->v[i]->id_len == id.n && (id.n == 0 || memcmp(m->v[i]->id, id.p, id.n) == 0))
            return m->v[i];
    return NULL;
}

/* Opens (creating its directory) the TSDB of `id`; mu held. */
static int add_locked(ocl_mingest_t *m, ocl_str_t id, mtenant_t **out)
{
    size_t n = __atomic_load_n(&m->n, __ATOMIC_RELAXED);
    if (n == OCL_MAX_TENANTS) return OCL_ETOOBIG;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%.*s", m->dir, (int)(id.n ? id.n : strlen(DEFAULT_DIR)),
             id.n ? id.p : DEFAULT_DIR);
    if (ocl_mkdir_p(dir) != 0) {
        ocl_error("cannot create %s: %s", dir, strerror(errno));
        return OCL_EIO;
    }
    ocl_fsync_dir(m->dir);
    ocl_tsdb_opts_t o = m->cfg.tsdb;
    o.dir = dir;
    /* like Mimir's creation grace period: one far-future sample must not
     * poison a tenant's head */
    if (!o.max_future_ms) o.max_future_ms = OCL_METRICS_MAX_FUTURE_MS;
    ocl_tsdb_t *db;
    int rc = ocl_tsdb_open(&o, &db);
    if (rc) {
        ocl_error("cannot open the TSDB in %s: %s", dir, ocl_strerror(rc));
        return OCL_EIO;
    }
    mtenant_t *t = ocl_calloc(1, sizeof *t);
    memcpy(t->id, id.p ? id.p : "", id.n);
    t->id_len = id.n;
    t->idx = (uint32_t)n;
    t->db = db;
    pthread_mutex_init(&t->lk, NULL);
    m->v[n] = t;
    __atomic_store_n(&m->n, n + 1, __ATOMIC_RELEASE);
    *out = t;
    return 0;
}

/* 0 and *out, OCL_EINVAL (bad id), OCL_ENOTFOUND, OCL_ETOOBIG (limit), OCL_EIO. */
static int get_tenant(ocl_mingest_t *m, ocl_str_t id, bool create, mtenant_t **out)
{
    if (!ocl_tenant_id_valid(id)) return OCL_EINVAL;
    mtenant_t *t = find(m, id);
    if (t) {
        *out = t;
        return 0;
    }
    if (!create) return OCL_ENOTFOUND;
    pthread_mutex_lock(&m->create_mu);
    t = find(m, id);
    int rc = t ? 0 : add_locked(m, id, &t);
    pthread_mutex_unlock(&m->create_mu);
    if (rc == 0) *out = t;
    return rc;
}

ocl_tsdb_t *ocl_mingest_tsdb(ocl_mingest_t *m, ocl_str_t tenant, bool create)
{
    mtenant_t *t;
    return get_tenant(m, tenant, create, &t) == 0 ? t->db : NULL;
}

/* ---- accounting ---- */

static void bucket_open(ocl_mingest_t *m)
{
    if (m->nb && m->buckets[m->nb - 1].min_seq > m->buckets[m->nb - 1].max_seq) {
        m->buckets[m->nb - 1].created_ns = ocl_mono_nano(); /* reuse the empty one */
        m->buckets[m->nb - 1].ntv = 0;
        return;
    }
    if (m->nb == m->capb) {
        m->capb = m->capb ? m->capb * 2 : 64;
        m->buckets = ocl_realloc(m->buckets, m->capb * sizeof *m->buckets);
    }
    bucket_t *b = &m->buckets[m->nb++];
    memset(b, 0, sizeof *b);
    b->min_seq = UINT64_MAX;
    b->max_seq = 0;
    b->created_ns = ocl_mono_nano();
}

/* A bucket covers this much wall time of appends. */
#define BUCKET_NS (1000ull * 1000 * 1000)

static void account(ocl_mingest_t *m, uint64_t seq, int64_t max_t, uint32_t idx, bool meta)
{
    pthread_mutex_lock(&m->bucket_mu);
    if (meta && seq < m->meta_pending) m->meta_pending = seq;
    /* the clock is read under the mutex: read before it, a waiter's time
     * could precede the bucket another thread just opened, and the
     * unsigned difference opened one more bucket per waiter */
    uint64_t now = ocl_mono_nano();
    if (!m->nb || (now > m->buckets[m->nb - 1].created_ns &&
                   now - m->buckets[m->nb - 1].created_ns >= BUCKET_NS))
        bucket_open(m);
    bucket_t *b = &m->buckets[m->nb - 1];
    if (seq < b->min_seq) b->min_seq = seq;
    if (seq > b->max_seq) b->max_seq = seq;
    uint32_t i = 0;
    while (i < b->ntv && b->tv[i].idx != idx) /* a few tenants per second */
        i++;
    if (i == b->ntv) {
        if (b->ntv == b->captv) {
            b->captv = b->captv ? b->captv * 2 : 4;
            b->tv = ocl_realloc(b->tv, b->captv * sizeof *b->tv);
        }
        b->tv[b->ntv++] = (btenant_t){idx, max_t};
    } else if (max_t > b->tv[i].max_t) {
        b->tv[i].max_t = max_t;
    }
    pthread_mutex_unlock(&m->bucket_mu);
}

static int64_t batch_max_t(const ocl_prom_batch_t *b)
{
    int64_t mx = INT64_MIN;
    for (size_t i = 0; i < b->n_series; i++)
        for (uint32_t j = 0; j < b->series[i].n_samples; j++)
            if (b->series[i].samples[j].t > mx) mx = b->series[i].samples[j].t;
    return mx;
}

/* The newest time a WAL record of batch `b` holds for the head: the batch's
 * maximum, except that samples the TSDB refused for their series (limit)
 * or for being too far in the future never reach the head, so the head's
 * cuts never pass them: counted in the bucket, a refused sample far in the
 * future would pin the WAL (and everything after it) for as long as it
 * stays ahead. Everything stored is at most the head's newest time (an
 * empty head means a concurrent flush persisted it all). t->lk held. */
static int64_t stored_max_t(mtenant_t *t, const ocl_prom_batch_t *b,
                            const ocl_tsdb_append_result_t *res)
{
    int64_t max_t = batch_max_t(b);
    if (res->series_limited || res->out_of_bounds) {
        ocl_tsdb_stats_t st;
        ocl_tsdb_stats(t->db, &st);
        if (st.head_max_t < max_t) max_t = st.head_max_t;
    }
    return max_t;
}

static void count_result(ocl_mingest_t *m, const ocl_tsdb_append_result_t *r)
{
    __atomic_fetch_add(&m->appended, r->appended, __ATOMIC_RELAXED);
    __atomic_fetch_add(&m->rejected[R_OOO], r->out_of_order, __ATOMIC_RELAXED);
    __atomic_fetch_add(&m->rejected[R_DUP], r->dup_conflict, __ATOMIC_RELAXED);
    __atomic_fetch_add(&m->rejected[R_OOB], r->out_of_bounds, __ATOMIC_RELAXED);
    __atomic_fetch_add(&m->rejected[R_LIMIT], r->series_limited, __ATOMIC_RELAXED);
}

/* ---- write ---- */

/* The TSDB append and the WAL record, under t->lk (held by the caller)
 * and the truncation read lock. */
static int append_locked(ocl_mingest_t *m, mtenant_t *t, const ocl_prom_batch_t *b, const void *pb,
                         size_t pb_len, ocl_tsdb_append_result_t *res)
{
    ocl_buf_t enc;
    ocl_buf_init(&enc);
    int rc = ocl_tsdb_append(t->db, b, res);
    if (rc) goto done;
    /* Nothing stored and nothing re-sent (all refused): nothing to log.
     * Identical re-sends are logged: they may be the retry of a batch whose
     * WAL write failed (stored in the head, never logged), and the retry
     * is acknowledged, so its record must reach the WAL. Replay ignores
     * the duplicates. */
    if (res->appended == 0 && res->duplicates == 0 && b->n_meta == 0) goto done;
    ocl_prom_series_t *fser = NULL;
    ocl_sample_t *fsam = NULL;
    ocl_prom_batch_t fb = {NULL, 0, NULL, 0};
    if (res->too_new || res->series_limited) {
        /* Replay applies neither the future bound (the wall clock may have
         * gone back since) nor the series limit (see
         * ocl_tsdb_append_replay), so the record must not hold the samples
         * refused for them: log the batch without them (rare path, two
         * allocations and a head lookup per series). A series absent
         * from the head after the append was refused (t->lk excludes other
         * appends; a cut drops a series only once its samples are in a
         * published block). */
        size_t ns = 0;
        for (size_t i = 0; i < b->n_series; i++)
            ns += b->series[i].n_samples;
        fser = ocl_malloc((b->n_series ? b->n_series : 1) * sizeof *fser);
        fsam = ocl_malloc((ns ? ns : 1) * sizeof *fsam);
        size_t nf = 0, k = 0;
        for (size_t i = 0; i < b->n_series; i++) {
            const ocl_prom_series_t *s = &b->series[i];
            int64_t lt;
            double lv;
            if (res->series_limited && s->n_samples &&
                ocl_tsdb_last_sample(t->db, &s->labels, &lt, &lv) == OCL_ENOTFOUND)
                continue;
            size_t k0 = k;
            for (uint32_t j = 0; j < s->n_samples; j++)
                if (s->samples[j].t <= res->max_valid_t) fsam[k++] = s->samples[j];
            if (k > k0) fser[nf++] = (ocl_prom_series_t){s->labels, fsam + k0, (uint32_t)(k - k0)};
        }
        fb = (ocl_prom_batch_t){fser, nf, b->meta, b->n_meta};
        pb = NULL;
    }
    if (!pb) {
        ocl_buf_t raw;
        ocl_buf_init(&raw);
        ocl_rw_encode(fser ? &fb : b, &raw);
        ocl_snappy_compress(raw.p ? (const void *)raw.p : "", raw.len, &enc);
        ocl_buf_dispose(&raw);
        pb = enc.p ? (const void *)enc.p : "";
        pb_len = enc.len;
        ocl_free(fser);
        ocl_free(fsam);
    }
    unsigned char prefix[1 + OCL_TENANT_MAX_LEN];
    prefix[0] = (unsigned char)t->id_len;
    memcpy(prefix + 1, t->id, t->id_len);
    uint64_t seq;
    if (ocl_wal_append2(m->cfg.wal, OCL_WAL_PROM_SNAPPY, prefix, 1 + t->id_len, pb, pb_len, &seq) !=
        0) {
        rc = OCL_EIO;
        goto done;
    }
    int64_t max_t = stored_max_t(t, b, res);
    account(m, seq, max_t, t->idx, b->n_meta > 0);
done:
    ocl_buf_dispose(&enc);
    return rc;
}

int ocl_mingest_write_prom(ocl_mingest_t *m, ocl_str_t tenant, const ocl_prom_batch_t *b,
                           const void *pb, size_t pb_len, ocl_tsdb_append_result_t *res)
{
    ocl_tsdb_append_result_t local;
    if (!res) res = &local;
    memset(res, 0, sizeof *res);
    mtenant_t *t;
    int rc = get_tenant(m, tenant, true, &t);
    if (rc == OCL_EINVAL || rc == OCL_ETOOBIG) return OCL_EINVAL;
    if (rc) return OCL_EIO;
    pthread_rwlock_rdlock(&m->trunc_lk);
    pthread_mutex_lock(&t->lk);
    rc = append_locked(m, t, b, pb, pb_len, res);
    pthread_mutex_unlock(&t->lk);
    pthread_rwlock_unlock(&m->trunc_lk);
    if (rc == 0 && m->cfg.sync_after && ocl_wal_sync(m->cfg.wal) != 0) rc = OCL_EIO;
    count_result(m, res);
    return rc;
}

typedef struct {
    ocl_tsdb_t *db; /* where the delta state comes from */
} last_ctx_t;

static int last_sample(void *ud, const ocl_labels_t *ls, int64_t *t, double *v)
{
    return ocl_tsdb_last_sample(((last_ctx_t *)ud)->db, ls, t, v);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Static texts for the OTLP partial-success message. */
static const char *tsdb_reason(const ocl_tsdb_append_result_t *r)
{
    if (r->series_limited) return "per-tenant series limit reached; new series were refused";
    if (r->out_of_order) return "out of order sample";
    if (r->dup_conflict) return "duplicate sample for timestamp";
    if (r->out_of_bounds) return "out of bounds";
    return NULL;
}

int ocl_mingest_write_otlp(ocl_mingest_t *m, ocl_str_t tenant, const ocl_metrics_req_t *req,
                           ocl_ingest_result_t *res)
{
    res->rejected = 0;
    res->reason = NULL;
    mtenant_t *t;
    int rc = get_tenant(m, tenant, true, &t);
    if (rc == OCL_EINVAL) {
        res->reason = "invalid X-Scope-OrgID: 1-150 characters of [A-Za-z0-9!-_.*'()]";
        return OCL_EINVAL;
    }
    if (rc == OCL_ETOOBIG) {
        res->reason = "tenant limit reached (256 tenants)";
        return OCL_EINVAL;
    }
    if (rc) return OCL_EIO;
    ocl_arena_t a;
    ocl_arena_init(&a, 64 << 10);
    ocl_prom_batch_t b;
    ocl_o2p_result_t tr;
    ocl_tsdb_append_result_t ar;
    memset(&ar, 0, sizeof ar);
    last_ctx_t lc = {t->db};
    pthread_rwlock_rdlock(&m->trunc_lk);
    pthread_mutex_lock(&t->lk);
    /* Under the lock: delta points continue from the head's newest sample. */
    ocl_otlp2prom(req, now_ms(), last_sample, &lc, &a, &b, &tr);
    rc = b.n_series || b.n_meta ? append_locked(m, t, &b, NULL, 0, &ar) : 0;
    pthread_mutex_unlock(&t->lk);
    pthread_rwlock_unlock(&m->trunc_lk);
    ocl_arena_dispose(&a);
    if (rc == OCL_EINVAL) rc = OCL_EIO; /* a translation bug, not the client's */
    if (rc == 0 && m->cfg.sync_after && ocl_wal_sync(m->cfg.wal) != 0) rc = OCL_EIO;
    count_result(m, &ar);
    uint64_t refused = ar.out_of_order + ar.dup_conflict + ar.out_of_bounds + ar.series_limited;
    uint64_t rej = tr.rejected + refused;
    if (rej > tr.points) rej = tr.points; /* samples outnumber points for histograms */
    res->rejected = (int64_t)rej;
    res->reason = tr.reason ? tr.reason : tsdb_reason(&ar);
    return rc;
}

/* ---- replay ---- */

int ocl_mingest_replay(ocl_mingest_t *m, uint8_t type, uint64_t seq, const void *payload,
                       size_t len, ocl_arena_t *a)
{
    const unsigned char *p = payload;
    if (len < 1 || (size_t)p[0] + 1 > len) {
        m->replay_bad++;
        return 0;
    }
    ocl_str_t id = {(const char *)p + 1, p[0]};
    mtenant_t *t;
    int rc = get_tenant(m, id, true, &t);
    if (rc == OCL_EINVAL) {
        m->replay_bad++;
        return 0;
    }
    if (rc) {
        ocl_error("replay: cannot open the TSDB of tenant '%.*s': %s", (int)id.n, id.p,
                  ocl_strerror(rc));
        return rc;
    }
    m->replay_records++;
    size_t off = 1 + p[0];
    ocl_prom_batch_t b;
    ocl_arena_reset(a);
    if (type == OCL_WAL_PROM_RECORD || type == OCL_WAL_PROM_SNAPPY) {
        char err[256];
        const void *pb = p + off;
        size_t pb_len = len - off;
        if (type == OCL_WAL_PROM_SNAPPY) {
            m->replay_buf.len = 0;
            if (ocl_snappy_decompress(pb, pb_len, OCL_WAL_PROM_MAX_RAW, &m->replay_buf) != 0) {
                m->replay_bad++;
                return 0;
            }
            pb = m->replay_buf.p ? (const void *)m->replay_buf.p : "";
            pb_len = m->replay_buf.len;
        }
        if (ocl_rw_decode(pb, pb_len, NULL, a, &b, err, sizeof err) != 0) {
            m->replay_bad++;
            return 0;
        }
    } else {
        /* Version 0.1: an OTLP request, translated as the receiver does. */
        ocl_metrics_req_t req;
        const char *err = NULL;
        if (ocl_otlp_pb_decode_metrics(p + off, len - off, a, &req, &err) != 0) {
            m->replay_bad++;
            return 0;
        }
        ocl_o2p_result_t tr;
        last_ctx_t lc = {t->db};
        ocl_otlp2prom(&req, now_ms(), last_sample, &lc, a, &b, &tr);
    }
    ocl_tsdb_append_result_t r;
    if (ocl_tsdb_append_replay(t->db, &b, &r) != 0) {
        m->replay_bad++;
        return 0;
    }
    m->replay_rejected += r.out_of_order + r.dup_conflict + r.out_of_bounds + r.series_limited;
    account(m, seq, stored_max_t(t, &b, &r), t->idx, b.n_meta > 0);
    return 0;
}

void ocl_mingest_replay_counts(ocl_mingest_t *m, uint64_t *records, uint64_t *bad,
                               uint64_t *rejected)
{
    *records = m->replay_records;
    *bad = m->replay_bad;
    *rejected = m->replay_rejected;
}

/* ---- maintenance ---- */

void ocl_mingest_maintain(ocl_mingest_t *m)
{
    size_t n = __atomic_load_n(&m->n, __ATOMIC_ACQUIRE);
    int64_t pb[OCL_MAX_TENANTS];
    /* metadata accounted before this point is in memory before the TSDB
     * maintenance below writes it to the metadata files */
    pthread_mutex_lock(&m->bucket_mu);
    m->meta_pending = UINT64_MAX;
    pthread_mutex_unlock(&m->bucket_mu);
    for (size_t i = 0; i < n; i++) {
        ocl_tsdb_maintain(m->v[i]->db);
        pb[i] = ocl_tsdb_persisted_before(m->v[i]->db);
    }
    uint64_t now = ocl_mono_nano();
    uint64_t idle_ns = (m->cfg.idle_flush_ms ? m->cfg.idle_flush_ms : 4 * 3600 * 1000ull) * 1000000;
    bool flush[OCL_MAX_TENANTS] = {false};
    bool any_flush = false;

    pthread_rwlock_wrlock(&m->trunc_lk);
    pthread_mutex_lock(&m->bucket_mu);
    uint64_t keep = UINT64_MAX, last = 0;
    for (size_t i = 0; i < m->nb; i++) {
        bucket_t *b = &m->buckets[i];
        if (b->min_seq > b->max_seq) continue; /* empty */
        if (b->max_seq > last) last = b->max_seq;
        bool obsolete = true;
        for (uint32_t j = 0; j < b->ntv; j++) {
            size_t idx = b->tv[j].idx;
            if (idx >= n || b->tv[j].max_t >= pb[idx]) {
                obsolete = false;
                /* a head that holds this old bucket back: persist it */
                /* (a bucket opened after `now` was read is young, not
                 * 2^64 ns old) */
                if (idx < n && b->created_ns < now && now - b->created_ns > idle_ns)
                    flush[idx] = any_flush = true;
            }
        }
        if (!obsolete && b->min_seq < keep) keep = b->min_seq;
    }
    if (keep == UINT64_MAX) keep = last + 1; /* everything obsolete */
    if (m->meta_pending < keep) keep = m->meta_pending;
    /* drop the buckets wholly below `keep` (they are all obsolete) */
    size_t k = 0;
    for (size_t i = 0; i < m->nb; i++) {
        bucket_t *b = &m->buckets[i];
        bool empty = b->min_seq > b->max_seq;
        if ((!empty && b->max_seq < keep) || (empty && i + 1 < m->nb)) {
            free(b->tv);
            continue;
        }
        m->buckets[k++] = *b;
    }
    m->nb = k;
    pthread_mutex_unlock(&m->bucket_mu);
    pthread_rwlock_unlock(&m->trunc_lk);
    if (last && keep > 1) ocl_wal_truncate_before(m->cfg.wal, keep);
    if (any_flush)
        for (size_t i = 0; i < n; i++) {
            mtenant_t *t = m->v[i];
            /* at most one attempt per idle period, so a failing flush is not
             * retried (and logged) every second */
            if (!flush[i] || (t->flush_tried_ns && now - t->flush_tried_ns < idle_ns)) continue;
            t->flush_tried_ns = now;
            int rc = ocl_tsdb_flush(t->db);
            if (rc == 0)
                ocl_info("metrics: persisted the idle head of tenant '%s' so the WAL can be "
                         "truncated",
                         t->id);
            else
                ocl_warn("metrics: cannot persist the idle head of tenant '%s' (%s); the "
                         "metrics WAL keeps its records",
                         t->id, ocl_strerror(rc));
        }
}

static void *maint_main(void *arg)
{
    ocl_mingest_t *m = arg;
    pthread_mutex_lock(&m->maint_mu);
    while (!m->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&m->maint_cv, &m->maint_mu, &ts);
        if (m->stop) break;
        pthread_mutex_unlock(&m->maint_mu);
        ocl_mingest_maintain(m);
        pthread_mutex_lock(&m->maint_mu);
    }
    pthread_mutex_unlock(&m->maint_mu);
    return NULL;
}

int ocl_mingest_start(ocl_mingest_t *m)
{
    if (pthread_create(&m->maint, NULL, maint_main, m) != 0) return OCL_EIO;
    m->maint_started = true;
    return 0;
}

/* ---- self-metrics ---- */

static void collect(ocl_buf_t *out, void *ud)
{
    ocl_mingest_t *m = ud;
    size_t n = __atomic_load_n(&m->n, __ATOMIC_ACQUIRE);
    ocl_tsdb_stats_t sum = {0};
    for (size_t i = 0; i < n; i++) {
        ocl_tsdb_stats_t st;
        ocl_tsdb_stats(m->v[i]->db, &st);
        sum.head_series += st.head_series;
        sum.head_samples += st.head_samples;
        sum.head_bytes += st.head_bytes;
        sum.blocks += st.blocks;
        sum.block_bytes += st.block_bytes;
    }
    ocl_sm_header(out, "ocelot_metrics_samples_appended_total", "counter",
                  "Samples stored in the TSDB (all tenants, all metrics paths).");
    ocl_sm_sample(out, "ocelot_metrics_samples_appended_total", "",
                  (double)__atomic_load_n(&m->appended, __ATOMIC_RELAXED));
    ocl_sm_header(out, "ocelot_metrics_samples_rejected_total", "counter",
                  "Samples the TSDB refused, by reason.");
    char lb[64];
    for (int r = 0; r < R_COUNT; r++) {
        snprintf(lb, sizeof lb, "reason=\"%s\"", reason_names[r]);
        ocl_sm_sample(out, "ocelot_metrics_samples_rejected_total", lb,
                      (double)__atomic_load_n(&m->rejected[r], __ATOMIC_RELAXED));
    }
    ocl_sm_header(out, "ocelot_metrics_tenants", "gauge", "Tenants with a TSDB.");
    ocl_sm_sample(out, "ocelot_metrics_tenants", "", (double)n);
#define SUM_METRIC(name, help, field)                                                              \
    ocl_sm_header(out, name, "gauge", help);                                                       \
    ocl_sm_sample(out, name, "", (double)sum.field);
    SUM_METRIC("ocelot_tsdb_head_series", "Series in the TSDB heads.", head_series)
    SUM_METRIC("ocelot_tsdb_head_samples", "Samples in the TSDB heads.", head_samples)
    SUM_METRIC("ocelot_tsdb_head_bytes", "Approximate memory of the TSDB heads.", head_bytes)
    SUM_METRIC("ocelot_tsdb_blocks", "TSDB blocks on disk.", blocks)
    SUM_METRIC("ocelot_tsdb_block_bytes", "Bytes of TSDB blocks on disk.", block_bytes)
#undef SUM_METRIC
}

/* ---- open / close ---- */

int ocl_mingest_open(const ocl_mingest_cfg_t *cfg, ocl_mingest_t **out)
{
    ocl_mingest_t *m = ocl_calloc(1, sizeof *m);
    m->cfg = *cfg;
    size_t dl = strlen(cfg->data_dir) + sizeof "/metrics";
    m->dir = ocl_malloc(dl);
    snprintf(m->dir, dl, "%s/metrics", cfg->data_dir);
    m->cfg.data_dir = m->dir;
    pthread_mutex_init(&m->create_mu, NULL);
    pthread_mutex_init(&m->bucket_mu, NULL);
    m->meta_pending = UINT64_MAX;
    pthread_mutex_init(&m->maint_mu, NULL);
    pthread_cond_init(&m->maint_cv, NULL);
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&m->trunc_lk, &ra);
    pthread_rwlockattr_destroy(&ra);
    int rc = ocl_mkdir_p(m->dir);
    if (rc) {
        ocl_error("cannot create %s: %s", m->dir, strerror(errno));
        goto error;
    }
    /* Tenants with blocks on disk exist before any WAL record names them. */
    DIR *d = opendir(m->dir);
    if (!d) {
        rc = OCL_EIO;
        goto error;
    }
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
            continue;
        ocl_str_t id = strcmp(e->d_name, DEFAULT_DIR) == 0 ? OCL_STR("") : ocl_str_c(e->d_name);
        if (!ocl_tenant_id_valid(id)) continue;
        mtenant_t *t;
        rc = get_tenant(m, id, true, &t);
        if (rc == OCL_ETOOBIG) rc = 0;
    }
    closedir(d);
    if (rc) goto error;
    ocl_sm_register(collect, m);
    *out = m;
    return 0;
error:
    ocl_mingest_close(m);
    return rc;
}

void ocl_mingest_close(ocl_mingest_t *m)
{
    if (!m) return;
    if (m->maint_started) {
        pthread_mutex_lock(&m->maint_mu);
        m->stop = true;
        pthread_cond_signal(&m->maint_cv);
        pthread_mutex_unlock(&m->maint_mu);
        pthread_join(m->maint, NULL);
    }
    ocl_sm_unregister(collect, m);
    for (size_t i = 0; i < m->n; i++) {
        ocl_tsdb_close(m->v[i]->db);
        pthread_mutex_destroy(&m->v[i]->lk);
        free(m->v[i]);
    }
    pthread_mutex_destroy(&m->create_mu);
    pthread_mutex_destroy(&m->bucket_mu);
    pthread_mutex_destroy(&m->maint_mu);
    pthread_cond_destroy(&m->maint_cv);
    pthread_rwlock_destroy(&m->trunc_lk);
    for (size_t i = 0; i < m->nb; i++)
        free(m->buckets[i].tv);
    free(m->buckets);
    free(m->dir);
    ocl_buf_dispose(&m->replay_buf);
    free(m);
}
