/*
 * wal.c — write-ahead log (see wal.h for the contract, docs/FORMATS.md for
 * the bytes).
 *
 * Invariants (all under `mu`):
 *  - segs[0..nsegs) are the segment files on disk in seq order; the last one
 *    is the active segment, open as `fd`, `offset` bytes long (header
 *    included). Every earlier segment is closed and immutable.
 *  - `written` counts every record byte appended since open (a logical
 *    position across segments); `synced` <= `written` is the position up to
 *    which an fdatasync has completed. At most one fdatasync runs at a time
 *    (`syncing`); it covers `sync_target`.
 *  - the active fd is never closed while `syncing` (roll waits).
 *
 * Group commit (ALWAYS): an appender writes under the mutex, notes its end
 * position, and if no sync runs becomes the leader — it releases the mutex
 * for the fdatasync, so others keep writing and then wait on `cv` for the
 * next sync, which covers all of them at once.
 *
 * Workload: one append per accepted request (KBs to a few MBs) from every
 * worker thread; the CRC is computed before the lock, and the write is one
 * pwritev() of header + payload pieces, so the lock is held for a memcpy
 * into the page cache.
 */
#include "store/wal/wal.h"

#include "core/log.h"
#include "core/time.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define WAL_MAGIC "OCLWAL\0" /* 7 bytes incl. NUL, then the version byte */
#define WAL_VERSION 1
#define WAL_MAX_RECORD (1ull << 30)
#define WAL_NAME_LEN 24 /* %020llu.wal */

const double ocl_wal_fsync_bounds_s[11] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                           0.01,   0.025,   0.05,   0.1,   0.25};

typedef struct {
    uint64_t first_seq; /* seq in the file name (first record's seq) */
    uint64_t last_seq;  /* seq of the last record; first_seq - 1 when empty */
    uint64_t bytes;     /* file size (header included) */
} seg_t;

struct ocl_wal {
    char *dir;                /* owned copy of cfg->dir */
    ocl_fsync_policy_t fsync; /* policy */
    uint32_t interval_ms;     /* INTERVAL period */
    uint64_t segment_bytes;   /* roll threshold */

    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t cv;  /* sync completion and stop signal */
    int fd;             /* active segment, -1 if none */
    uint64_t offset;    /* bytes in the active segment */
    uint64_t next_seq;  /* seq of the next record */
    seg_t *segs;        /* segments in seq order; last = active */
    size_t nsegs;       /* entries used in segs */
    size_t capsegs;     /* entries allocated in segs */
    uint64_t written;   /* logical bytes appended since open */
    uint64_t synced;    /* logical position covered by a completed fdatasync */
    int syncing;        /* an fdatasync is in progress (outside the lock) */
    int poisoned;       /* a write rollback or fdatasync failed: refuse appends */
    int stop;           /* the interval thread must exit */
    int have_thread;    /* the interval thread was started */
    pthread_t thread;   /* INTERVAL syncer */
    ocl_wal_stats_t st; /* counters (segments/disk_bytes computed on read) */
};

/* ---- little-endian helpers ---- */

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* ---- scanning ---- */

static size_t scan_impl(const unsigned char *b, size_t len, uint64_t expect_seq,
                        ocl_wal_replay_fn cb, void *ud, int *cbret)
{
    if (len < OCL_WAL_SEG_HDR || memcmp(b, WAL_MAGIC, 7) != 0 || b[7] != WAL_VERSION) return 0;
    size_t off = OCL_WAL_SEG_HDR;
    while (len - off >= OCL_WAL_REC_HDR) {
        const unsigned char *h = b + off;
        uint32_t n = get32(h);
        if (n > len - off - OCL_WAL_REC_HDR) break;
        uint64_t seq = get64(h + 9);
        if (expect_seq && seq != expect_seq) break;
        uint32_t c = ocl_crc32c(0, h + OCL_WAL_REC_HDR, n);
        c = ocl_crc32c(c, h + 8, 9);
        if (c != get32(h + 4)) break;
        if (cb) {
            int r = cb(h[8], seq, h + OCL_WAL_REC_HDR, n, ud);
            if (r) {
                if (cbret) *cbret = r;
                break;
            }
        }
        off += OCL_WAL_REC_HDR + (size_t)n;
        if (expect_seq) expect_seq++;
    }
    return off;
}

size_t ocl_wal_scan(const void *buf, size_t len, ocl_wal_replay_fn cb, void *ud)
{
    return scan_impl(buf, len, 0, cb, ud, NULL);
}

/* ---- files ---- */

static void seg_path(const ocl_wal_t *w, uint64_t first_seq, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%020llu.wal", w->dir, (unsigned long long)first_seq);
}



static void fsync_record(ocl_wal_t *w, uint64_t ns)
{
    w->st.fsyncs++;
    w->st.fsync_ns_total += ns;
    size_t i = 0;
    while (i < 11 && (double)ns > ocl_wal_fsync_bounds_s[i] * 1e9)
        i++;
    w->st.fsync_ns_buckets[i]++;
}

/* Ensures synced >= target (group commit). Called and returns with mu held. */
static int sync_to(ocl_wal_t *w, uint64_t target)
{
    while (w->synced < target && !w->poisoned) {
        if (w->syncing) {
            pthread_cond_wait(&w->cv, &w->mu);
            continue;
        }
        w->syncing = 1;
        uint64_t cover = w->written;
        int fd = w->fd;
        pthread_mutex_unlock(&w->mu);
        uint64_t t0 = ocl_mono_nano();
        int r = fdatasync(fd);
        uint64_t t1 = ocl_mono_nano();
        pthread_mutex_lock(&w->mu);
        w->syncing = 0;
        fsync_record(w, t1 - t0);
        if (r != 0) {
            ocl_error("wal: fdatasync failed (%s); refusing further appends", strerror(errno));
            w->poisoned = 1;
        } else if (cover > w->synced) {
            w->synced = cover;
        }
        pthread_cond_broadcast(&w->cv);
    }
    return w->synced >= target ? 0 : OCL_EIO;
}

/* Creates a new segment named `first_seq` and makes it active. mu held. */
static int seg_create(ocl_wal_t *w, uint64_t first_seq)
{
    char path[4096];
    seg_path(w, first_seq, path, sizeof path);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return OCL_EIO;
    unsigned char hdr[OCL_WAL_SEG_HDR];
    memcpy(hdr, WAL_MAGIC, 7);
    hdr[7] = WAL_VERSION;
    if (pwrite(fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr ||
        (w->fsync != OCL_FSYNC_NEVER && fdatasync(fd) != 0)) {
        close(fd);
        unlink(path);
        return OCL_EIO;
    }
    if (w->fsync != OCL_FSYNC_NEVER) ocl_fsync_dir(w->dir);
    if (w->nsegs == w->capsegs) {
        w->capsegs = w->capsegs ? w->capsegs * 2 : 16;
        w->segs = ocl_realloc(w->segs, w->capsegs * sizeof *w->segs);
    }
    w->segs[w->nsegs++] = (seg_t){first_seq, first_seq - 1, OCL_WAL_SEG_HDR};
    w->fd = fd;
    w->offset = OCL_WAL_SEG_HDR;
    return 0;
}

/* Closes the active segment (synced first) and starts a new one. mu held. */
static int roll(ocl_wal_t *w)
{
    while (w->syncing)
        pthread_cond_wait(&w->cv, &w->mu);
    if (w->fsync != OCL_FSYNC_NEVER && w->synced < w->written) {
        uint64_t t0 = ocl_mono_nano();
        int r = fdatasync(w->fd);
        fsync_record(w, ocl_mono_nano() - t0);
        if (r != 0) {
            w->poisoned = 1;
            return OCL_EIO;
        }
    }
    w->synced = w->written;
    pthread_cond_broadcast(&w->cv);
    close(w->fd);
    w->fd = -1;
    int r = seg_create(w, w->next_seq);
    if (r) w->poisoned = 1;
    return r;
}

int ocl_wal_reserve_seq(ocl_wal_t *w, uint64_t min_next)
{
    pthread_mutex_lock(&w->mu);
    int rc = 0;
    if (w->poisoned) {
        rc = OCL_EIO;
    } else if (w->next_seq < min_next) {
        /* Start a segment at min_next: seqs stay contiguous per segment. */
        w->next_seq = min_next;
        rc = roll(w);
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int ocl_wal_append2(ocl_wal_t *w, uint8_t type, const void *p1, size_t n1, const void *p2,
                    size_t n2, uint64_t *seq_out)
{
    if (n1 > WAL_MAX_RECORD || n2 > WAL_MAX_RECORD || n1 + n2 > WAL_MAX_RECORD) return OCL_ETOOBIG;
    int rc = 0;
    size_t n = n1 + n2, reclen = OCL_WAL_REC_HDR + n;
    uint32_t pcrc = ocl_crc32c(0, p1, n1);
    pcrc = ocl_crc32c(pcrc, p2, n2);
    unsigned char h[OCL_WAL_REC_HDR];

    pthread_mutex_lock(&w->mu);
    if (w->poisoned || w->fd < 0) {
        rc = OCL_EIO;
        goto done;
    }
    if (w->offset > OCL_WAL_SEG_HDR && w->offset + reclen > w->segment_bytes) {
        rc = roll(w);
        if (rc) goto done;
    }
    uint64_t seq = w->next_seq;
    put32(h, (uint32_t)n);
    h[8] = type;
    put64(h + 9, seq);
    put32(h + 4, ocl_crc32c(pcrc, h + 8, 9));
    struct iovec iov[3] = {{h, sizeof h}, {(void *)p1, n1}, {(void *)p2, n2}};
    int iovcnt = n2 ? 3 : (n1 ? 2 : 1);
    ssize_t wr;
    do
        wr = pwritev(w->fd, iov, iovcnt, (off_t)w->offset);
    while (wr < 0 && errno == EINTR);
    if (wr != (ssize_t)reclen) {
        int e = wr < 0 ? errno : ENOSPC;
        ocl_error("wal: write failed (%s)", strerror(e));
        if (ftruncate(w->fd, (off_t)w->offset) != 0) {
            ocl_error("wal: rollback failed (%s); refusing further appends", strerror(errno));
            w->poisoned = 1;
        }
        errno = e;
        rc = OCL_EIO;
        goto done;
    }
    w->offset += reclen;
    w->written += reclen;
    w->next_seq++;
    seg_t *s = &w->segs[w->nsegs - 1];
    s->last_seq = seq;
    s->bytes = w->offset;
    w->st.bytes_written += reclen;
    w->st.records_written++;
    if (seq_out) *seq_out = seq;
    if (w->fsync == OCL_FSYNC_ALWAYS) rc = sync_to(w, w->written);
done:
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int ocl_wal_append(ocl_wal_t *w, uint8_t type, const void *payload, size_t len, uint64_t *seq_out)
{
    return ocl_wal_append2(w, type, payload, len, NULL, 0, seq_out);
}

int ocl_wal_sync(ocl_wal_t *w)
{
    pthread_mutex_lock(&w->mu);
    int rc = w->fd < 0 ? 0 : sync_to(w, w->written);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

static void *interval_main(void *arg)
{
    ocl_wal_t *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t ns = (uint64_t)ts.tv_nsec + (uint64_t)w->interval_ms * 1000000ull;
        ts.tv_sec += (time_t)(ns / 1000000000ull);
        ts.tv_nsec = (long)(ns % 1000000000ull);
        /* The cv is shared with sync completion: wait out the full period. */
        while (!w->stop && pthread_cond_timedwait(&w->cv, &w->mu, &ts) == 0) {
        }
        if (w->stop) break;
        if (w->synced < w->written && !w->syncing && w->fd >= 0) sync_to(w, w->written);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ---- open ---- */

static int cmp_seg(const void *a, const void *b)
{
    const seg_t *x = a, *y = b;
    return x->first_seq < y->first_seq ? -1 : x->first_seq > y->first_seq;
}

/* Parses "%020llu.wal"; returns 0 and the seq on success. */
static int parse_name(const char *name, uint64_t *seq)
{
    if (strlen(name) != WAL_NAME_LEN || strcmp(name + 20, ".wal") != 0) return -1;
    uint64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9') return -1;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    *seq = v;
    return 0;
}

typedef struct {
    uint64_t last; /* seq of the last intact record seen */
    int any;       /* at least one record */
} scan_acc_t;

static int acc_cb(uint8_t type, uint64_t seq, const void *p, size_t n, void *ud)
{
    scan_acc_t *a = ud;
    a->last = seq;
    a->any = 1;
    return 0;
}

/* Checks and repairs one segment; fills *s. Returns 1 to keep it, 0 when it
 * was set aside as corrupt, negative on I/O error. */
static int open_segment(ocl_wal_t *w, seg_t *s)
{
    char path[4096];
    seg_path(w, s->first_seq, path, sizeof path);
    unsigned char *b = NULL;
    size_t len = 0;
    int rc = ocl_read_file(path, 0, &b, &len);
    if (rc) goto done;
    scan_acc_t acc = {0, 0};
    size_t end = scan_impl(b, len, s->first_seq, acc_cb, &acc, NULL);
    if (end == 0) {
        char bad[4200];
        snprintf(bad, sizeof bad, "%s.corrupt", path);
        ocl_warn("wal: %s has a bad header; renamed to .corrupt", path);
        w->st.corruptions_repaired++;
        w->st.bytes_truncated += len;
        rc = rename(path, bad) == 0 ? 0 : OCL_EIO;
        goto done;
    }
    if (end < len) {
        ocl_warn("wal: %s: corrupt or torn record at offset %zu; truncating %zu bytes", path, end,
                 len - end);
        int fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0 || ftruncate(fd, (off_t)end) != 0 || fsync(fd) != 0) {
            if (fd >= 0) close(fd);
            rc = OCL_EIO;
            goto done;
        }
        close(fd);
        w->st.corruptions_repaired++;
        w->st.bytes_truncated += len - end;
    }
    s->last_seq = acc.any ? acc.last : s->first_seq - 1;
    s->bytes = end;
    rc = 1;
done:
    free(b);
    return rc;
}

int ocl_wal_open(const ocl_wal_cfg_t *cfg, ocl_wal_t **out)
{
    int rc = OCL_EINVAL;
    ocl_wal_t *w = NULL;
    DIR *d = NULL;
    if (!cfg || !cfg->dir || !out) goto error;
    w = ocl_calloc(1, sizeof *w);
    w->dir = ocl_strndup(cfg->dir, strlen(cfg->dir));
    w->fsync = cfg->fsync;
    w->interval_ms = cfg->interval_ms ? cfg->interval_ms : 100;
    w->segment_bytes = cfg->segment_bytes ? cfg->segment_bytes : 64ull << 20;
    w->fd = -1;
    w->next_seq = 1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    rc = ocl_mkdir_p(w->dir);
    if (rc) goto error;

    rc = OCL_EIO;
    d = opendir(w->dir);
    if (!d) goto error;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t seq;
        if (parse_name(de->d_name, &seq) != 0) continue;
        if (w->nsegs == w->capsegs) {
            w->capsegs = w->capsegs ? w->capsegs * 2 : 16;
            w->segs = ocl_realloc(w->segs, w->capsegs * sizeof *w->segs);
        }
        w->segs[w->nsegs++] = (seg_t){seq, seq - 1, 0};
    }
    closedir(d);
    d = NULL;
    if (w->nsegs) qsort(w->segs, w->nsegs, sizeof *w->segs, cmp_seg);

    size_t keep = 0;
    for (size_t i = 0; i < w->nsegs; i++) {
        seg_t s = w->segs[i];
        int r = open_segment(w, &s);
        if (r < 0) {
            rc = r;
            goto error;
        }
        if (r == 0) continue;
        w->segs[keep++] = s;
        if (s.last_seq + 1 > w->next_seq) w->next_seq = s.last_seq + 1;
        if (s.first_seq > w->next_seq) w->next_seq = s.first_seq;
    }
    w->nsegs = keep;

    if (w->nsegs) {
        seg_t *last = &w->segs[w->nsegs - 1];
        char path[4096];
        seg_path(w, last->first_seq, path, sizeof path);
        w->fd = open(path, O_RDWR | O_CLOEXEC);
        if (w->fd < 0) goto error;
        w->offset = last->bytes;
        /* A later segment may start below the resume point if an earlier
         * one was set aside; never reuse a seq. */
        if (last->last_seq + 1 != w->next_seq) {
            close(w->fd);
            w->fd = -1;
            rc = seg_create(w, w->next_seq);
            if (rc) goto error;
        }
    } else {
        rc = seg_create(w, w->next_seq);
        if (rc) goto error;
    }
    if (w->fsync == OCL_FSYNC_INTERVAL) {
        if (pthread_create(&w->thread, NULL, interval_main, w) != 0) {
            rc = OCL_EIO;
            goto error;
        }
        w->have_thread = 1;
    }
    *out = w;
    return 0;
error:
    if (d) closedir(d);
    if (w) ocl_wal_close(w);
    return rc;
}

void ocl_wal_close(ocl_wal_t *w)
{
    if (!w) return;
    if (w->have_thread) {
        pthread_mutex_lock(&w->mu);
        w->stop = 1;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL);
    }
    if (w->fd >= 0) {
        if (w->fsync != OCL_FSYNC_NEVER && w->synced < w->written && !w->poisoned) fdatasync(w->fd);
        close(w->fd);
    }
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w->segs);
    free(w->dir);
    free(w);
}

/* ---- replay, truncation, retention, stats ---- */

int ocl_wal_replay(ocl_wal_t *w, ocl_wal_replay_fn cb, void *ud)
{
    int rc = 0;
    pthread_mutex_lock(&w->mu);
    size_t n = w->nsegs;
    seg_t *copy = ocl_malloc((n ? n : 1) * sizeof *copy);
    if (n) memcpy(copy, w->segs, n * sizeof *copy);
    pthread_mutex_unlock(&w->mu);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char path[4096];
        seg_path(w, copy[i].first_seq, path, sizeof path);
        unsigned char *b = NULL;
        size_t len = 0;
        int r = ocl_read_file(path, 0, &b, &len);
        if (r == OCL_ENOTFOUND) continue; /* truncated away meanwhile */
        if (r != 0) {
            rc = OCL_EIO;
            break;
        }
        scan_impl(b, len, copy[i].first_seq, cb, ud, &rc);
        free(b);
    }
    free(copy);
    return rc;
}

int ocl_wal_truncate_before(ocl_wal_t *w, uint64_t seq)
{
    int rc = 0;
    pthread_mutex_lock(&w->mu);
    size_t del = 0;
    while (del + 1 < w->nsegs && w->segs[del + 1].first_seq <= seq) {
        char path[4096];
        seg_path(w, w->segs[del].first_seq, path, sizeof path);
        if (unlink(path) != 0 && errno != ENOENT) {
            rc = OCL_EIO;
            break;
        }
        del++;
    }
    if (del) {
        memmove(w->segs, w->segs + del, (w->nsegs - del) * sizeof *w->segs);
        w->nsegs -= del;
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int ocl_wal_retain(ocl_wal_t *w, uint64_t max_age_s, uint64_t max_bytes)
{
    int rc = 0;
    pthread_mutex_lock(&w->mu);
    uint64_t total = 0;
    for (size_t i = 0; i < w->nsegs; i++)
        total += w->segs[i].bytes;
    uint64_t now = ocl_now_unix_nano() / 1000000000ull;
    size_t del = 0;
    while (del + 1 < w->nsegs) {
        char path[4096];
        seg_path(w, w->segs[del].first_seq, path, sizeof path);
        int drop = max_bytes && total > max_bytes;
        if (!drop && max_age_s) {
            struct stat sb;
            if (stat(path, &sb) == 0 && (uint64_t)sb.st_mtime + max_age_s < now) drop = 1;
        }
        if (!drop) break;
        if (unlink(path) != 0 && errno != ENOENT) {
            rc = OCL_EIO;
            break;
        }
        total -= w->segs[del].bytes;
        del++;
    }
    if (del) {
        memmove(w->segs, w->segs + del, (w->nsegs - del) * sizeof *w->segs);
        w->nsegs -= del;
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

void ocl_wal_stats(ocl_wal_t *w, ocl_wal_stats_t *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->st;
    out->segments = w->nsegs;
    out->disk_bytes = 0;
    for (size_t i = 0; i < w->nsegs; i++)
        out->disk_bytes += w->segs[i].bytes;
    pthread_mutex_unlock(&w->mu);
}
