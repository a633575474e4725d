/*
 * state.c — small state files of a metrics TSDB directory, next to its
 * blocks (formats: docs/FORMATS.md, "Metrics TSDB", "State files"):
 *
 *   metadata   the metric metadata (families for /api/v1/metadata), so it
 *              survives the truncation of the WAL records that carried it.
 *   watermark  the "persisted before" time, which the blocks cannot tell
 *              once retention deleted them all (or a cut found nothing to
 *              write), so WAL records held back by newer samples do not
 *              bring older, already persisted or expired, samples back.
 *              Written after the cuts that advance it (once per block
 *              range), so that retention, which may be what frees a full
 *              disk, never has to write before deleting.
 *
 * Each file is written whole to "<name>.new", fsynced, renamed over the
 * old one and the directory fsynced: a reader sees the old or the new
 * version, never a mix. A missing file means "nothing kept"; a damaged one
 * is ignored with a warning (the WAL replay may still restore its data).
 * Written by maintenance only when the content changed: a few KiB per
 * change, never on the append path.
 */
#include "store/metrics/block.h"

#include "core/log.h"
#include "store/wal/wal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define META_FILE "metadata"
#define META_MAGIC "OCLD"
#define META_VERSION 1
/* A file larger than this is damaged (families are capped). */
#define STATE_MAX_BYTES (256u << 20)

static void put_u32(ocl_buf_t *b, uint32_t x)
{
    uint8_t p[4];
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(x >> (8 * i));
    ocl_buf_append(b, p, 4);
}

static void put_u64(ocl_buf_t *b, uint64_t x)
{
    uint8_t p[8];
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(x >> (8 * i));
    ocl_buf_append(b, p, 8);
}

static void put_str(ocl_buf_t *b, ocl_str_t s)
{
    put_u32(b, (uint32_t)s.n);
    if (s.n) ocl_buf_append(b, s.p, s.n);
}

static uint64_t get_u64(const uint8_t *p, int n)
{
    uint64_t x = 0;
    for (int i = 0; i < n; i++)
        x |= (uint64_t)p[i] << (8 * i);
    return x;
}

/* Writes `dir/name` atomically (see the file comment). */
int ocl_tsdb_state_write(const char *dir, const char *name, const void *p, size_t n);
int ocl_tsdb_state_write(const char *dir, const char *name, const void *p, size_t n)
{
    char tmp[4096], fin[4096];
    if (snprintf(tmp, sizeof tmp, "%s/%s.new", dir, name) >= (int)sizeof tmp ||
        snprintf(fin, sizeof fin, "%s/%s", dir, name) >= (int)sizeof fin)
        return OCL_EINVAL;
    int rc = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return OCL_EIO;
    const uint8_t *b = p;
    while (n && !rc) {
        ssize_t w = write(fd, b, n);
        if (w < 0) {
            if (errno != EINTR) rc = OCL_EIO;
            continue;
        }
        b += w;
        n -= (size_t)w;
    }
    if (!rc && fsync(fd) != 0) rc = OCL_EIO;
    if (close(fd) != 0 && !rc) rc = OCL_EIO;
    if (!rc && rename(tmp, fin) != 0) rc = OCL_EIO;
    if (!rc) rc = ocl_fsync_dir(dir);
    if (rc) unlink(tmp);
    return rc;
}

/* Reads `dir/name` whole: 0, OCL_ENOTFOUND (absent) or OCL_EIO/ECORRUPT. */
int ocl_tsdb_state_read(const char *dir, const char *name, uint8_t **out, size_t *len);
int ocl_tsdb_state_read(const char *dir, const char *name, uint8_t **out, size_t *len)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) return OCL_EINVAL;
    return ocl_read_file(path, STATE_MAX_BYTES, out, len);
}

/* ---- metadata ---- */

/* Layout: magic, u8 version, 3 reserved, u32 count, entries (u8 type,
 * i64 seen, family, help, unit as u32 length + bytes), u32 CRC32C of all
 * bytes before it. */
int ocl_tsdb_meta_save(ocl_tsdb_t *db)
{
    if (!db->dir) return 0;
    ocl_buf_t b;
    ocl_buf_init(&b);
    pthread_rwlock_wrlock(&db->lock);
    if (!db->meta_dirty) {
        pthread_rwlock_unlock(&db->lock);
        return 0;
    }
    db->meta_dirty = false;
    ocl_buf_append(&b, META_MAGIC, 4);
    uint8_t ver[4] = {META_VERSION, 0, 0, 0};
    ocl_buf_append(&b, ver, 4);
    put_u32(&b, db->nmeta);
    for (uint32_t i = 0; i < db->nmeta; i++) {
        const ocl_meta_ent_t *e = &db->meta[i];
        uint8_t ty = (uint8_t)e->m.type;
        ocl_buf_append(&b, &ty, 1);
        put_u64(&b, (uint64_t)e->seen);
        put_str(&b, e->m.family);
        put_str(&b, e->m.help);
        put_str(&b, e->m.unit);
    }
    pthread_rwlock_unlock(&db->lock);
    put_u32(&b, ocl_crc32c(0, b.p, b.len));
    int rc = ocl_tsdb_state_write(db->dir, META_FILE, b.p, b.len);
    if (rc) {
        ocl_warn("tsdb: cannot write %s/%s: %s (kept in memory, retried)", db->dir, META_FILE,
                 ocl_strerror(rc));
        pthread_rwlock_wrlock(&db->lock);
        db->meta_dirty = true;
        pthread_rwlock_unlock(&db->lock);
    }
    ocl_buf_dispose(&b);
    return rc;
}

/* Reads one length-prefixed string; false past the end. */
static bool get_str(const uint8_t *p, size_t len, size_t *off, ocl_str_t *out)
{
    if (len - *off < 4) return false;
    uint64_t n = get_u64(p + *off, 4);
    *off += 4;
    if (len - *off < n) return false;
    *out = (ocl_str_t){(const char *)p + *off, (size_t)n};
    *off += (size_t)n;
    return true;
}

void ocl_tsdb_meta_load(ocl_tsdb_t *db)
{
    uint8_t *p = NULL;
    size_t len = 0;
    int rc = ocl_tsdb_state_read(db->dir, META_FILE, &p, &len);
    if (rc == OCL_ENOTFOUND) return;
    if (rc) goto bad;
    rc = OCL_ECORRUPT;
    if (len < 16 || memcmp(p, META_MAGIC, 4) != 0 || p[4] != META_VERSION) goto bad;
    if ((uint32_t)get_u64(p + len - 4, 4) != ocl_crc32c(0, p, len - 4)) goto bad;
    size_t end = len - 4, off = 12;
    uint64_t n = get_u64(p + 8, 4);
    for (uint64_t i = 0; i < n; i++) {
        ocl_prom_meta_t m;
        if (end - off < 9) goto bad;
        m.type = (ocl_prom_type_t)p[off];
        int64_t seen = (int64_t)get_u64(p + off + 1, 8);
        off += 9;
        if (!get_str(p, end, &off, &m.family) || !get_str(p, end, &off, &m.help) ||
            !get_str(p, end, &off, &m.unit) || m.family.n == 0)
            goto bad;
        ocl_tsdb_meta_put(db, &m, seen);
    }
    db->meta_dirty = false; /* as on disk */
    ocl_free(p);
    return;
bad:
    ocl_warn("tsdb: ignoring %s/%s: %s", db->dir, META_FILE, ocl_strerror(rc));
    ocl_free(p);
}

/* ---- watermark ---- */

#define WM_FILE "watermark"
#define WM_MAGIC "OCLW"
#define WM_SIZE 20

int ocl_tsdb_watermark_save(ocl_tsdb_t *db)
{
    if (!db->dir) return 0;
    pthread_rwlock_rdlock(&db->lock);
    int64_t pb = db->persisted_before;
    pthread_rwlock_unlock(&db->lock);
    /* only maintenance (holding `maint`) writes wm_saved */
    if (pb <= db->wm_saved) return 0;
    uint8_t b[WM_SIZE] = {'O', 'C', 'L', 'W', 1, 0, 0, 0};
    for (int i = 0; i < 8; i++)
        b[8 + i] = (uint8_t)((uint64_t)pb >> (8 * i));
    uint32_t crc = ocl_crc32c(0, b, 16);
    for (int i = 0; i < 4; i++)
        b[16 + i] = (uint8_t)(crc >> (8 * i));
    int rc = ocl_tsdb_state_write(db->dir, WM_FILE, b, sizeof b);
    if (rc)
        ocl_warn("tsdb: cannot write %s/%s: %s", db->dir, WM_FILE, ocl_strerror(rc));
    else
        db->wm_saved = pb;
    return rc;
}

void ocl_tsdb_watermark_load(ocl_tsdb_t *db)
{
    uint8_t *p = NULL;
    size_t len = 0;
    int rc = ocl_tsdb_state_read(db->dir, WM_FILE, &p, &len);
    if (rc == OCL_ENOTFOUND) return;
    if (!rc && (len != WM_SIZE || memcmp(p, WM_MAGIC, 4) != 0 || p[4] != 1 ||
                (uint32_t)get_u64(p + 16, 4) != ocl_crc32c(0, p, 16)))
        rc = OCL_ECORRUPT;
    if (rc) {
        ocl_warn("tsdb: ignoring %s/%s: %s", db->dir, WM_FILE, ocl_strerror(rc));
    } else {
        int64_t pb = (int64_t)get_u64(p + 8, 8);
        db->wm_saved = pb;
        if (pb > db->persisted_before) db->persisted_before = pb;
    }
    ocl_free(p);
}
