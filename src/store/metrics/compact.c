/*
 * compact.c — maintenance of the metrics TSDB: head → block cut,
 * compaction, retention. Interim: memory-only retention of the head.
 */
#include "store/metrics/block.h"

int ocl_tsdb_maintain(ocl_tsdb_t *db)
{
    pthread_mutex_lock(&db->maint);
    pthread_rwlock_wrlock(&db->lock);
    ocl_head_t *h = &db->head;
    if (h->nsamples && h->maxt - h->mint > db->opts.retention_ms) {
        int64_t before = ocl_tsdb_align(h->maxt - db->opts.retention_ms, h->range);
        if (before > h->mint) ocl_head_truncate(h, before);
    }
    pthread_rwlock_unlock(&db->lock);
    pthread_mutex_unlock(&db->maint);
    return 0;
}

int ocl_tsdb_flush(ocl_tsdb_t *db)
{
    return db->dir ? OCL_EUNSUPP : 0;
}

int64_t ocl_tsdb_persisted_before(ocl_tsdb_t *db)
{
    pthread_rwlock_rdlock(&db->lock);
    int64_t t = db->persisted_before;
    pthread_rwlock_unlock(&db->lock);
    return t;
}
