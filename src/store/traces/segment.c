/*
 * segment.c — immutable trace segment files: writing a cut head, opening
 * and validating a file, looking a trace up. Layout in docs/FORMATS.md.
 *
 * Invariants: a segment file is complete or absent — it is written to
 * "<id>.trs.tmp", fdatasynced, renamed to "<id>.trs" and the directory is
 * fsynced. Everything a reader trusts is checked: the footer has its own
 * CRC, the metadata region (dictionary, index, block table) its CRC, every
 * offset and count is bounds-checked, blocks are zstd frames with content
 * checksums and must decompress to their recorded size.
 *
 * Workload: a cut writes tens of MB once a minute; lookups are rare and
 * touch one block per segment: the index and dictionary stay in memory,
 * blocks are read with pread and decompressed on demand.
 */
#include "store/traces/ts_internal.h"

#include "core/log.h"
#include "store/wal/wal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#define SEG_MAGIC "OCLTRS\0" /* 7 bytes, in the header and at the very end */
#define SEG_VERSION 2        /* written; version 1 (no compaction range) still reads */
#define SEG_HDR 8
#define SEG_FOOTER_V1 104 /* version 1 footer */
#define SEG_FOOTER 120    /* version 2 footer: + compacted_from_lo/hi */
#define SEG_TAIL 8        /* version byte + magic: the last bytes of every footer */
#define SEG_IDX_ENTRY 28
#define SEG_BTAB_ENTRY 16
#define SEG_SPAN_HDR 20
#define SEG_MAX_BLOCK (1u << 30)
/* zstd's fast mode: at a million spans/s the cut compresses ~500 MB/s on
 * the same core as ingest; level 1 cost ~7% more ingest throughput in
 * bench/ingest.sh for a modestly better ratio. */
#define SEG_ZSTD_LEVEL (-3)

/* ---- little-endian helpers ---- */

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}
static void buf_u32(ocl_buf_t *b, uint32_t v)
{
    put32(ocl_buf_reserve(b, 4), v);
    b->len += 4;
}
static void buf_u64(ocl_buf_t *b, uint64_t v)
{
    put64(ocl_buf_reserve(b, 8), v);
    b->len += 8;
}

/* Same hash as the head's dictionary (grouping compares by it). */
static uint64_t dent_hash(const void *raw, size_t rn, const void *url, size_t un)
{
    return XXH3_64bits_withSeed(raw, rn, 0) ^ (XXH3_64bits_withSeed(url, un, 1) * 31);
}

/* ---- writing ---- */

typedef struct {
    const ts_trace_t *t; /* the trace */
    const ts_shard_t *s; /* its shard (for the chunks) */
} wtrace_t;

static int cmp_wtrace(const void *a, const void *b)
{
    return memcmp(((const wtrace_t *)a)->t->id, ((const wtrace_t *)b)->t->id, 16);
}

static int write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t r = write(fd, b, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return OCL_EIO;
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

typedef struct {
    int fd;           /* tmp file */
    uint64_t off;     /* bytes written so far */
    ZSTD_CCtx *cctx;  /* compressor */
    ocl_buf_t blk;    /* current block, uncompressed */
    ocl_buf_t zbuf;   /* compressed scratch */
    ocl_buf_t btab;   /* block table being built */
    uint32_t nblocks; /* blocks written */
} writer_t;

static int flush_block(writer_t *w)
{
    if (!w->blk.len) return 0;
    size_t bound = ZSTD_compressBound(w->blk.len);
    w->zbuf.len = 0;
    ocl_buf_reserve(&w->zbuf, bound);
    size_t z = ZSTD_compress2(w->cctx, w->zbuf.p, bound, w->blk.p, w->blk.len);
    if (ZSTD_isError(z)) return OCL_EIO;
    if (write_all(w->fd, w->zbuf.p, z)) return OCL_EIO;
    buf_u64(&w->btab, w->off);
    buf_u32(&w->btab, (uint32_t)z);
    buf_u32(&w->btab, (uint32_t)w->blk.len);
    w->off += z;
    w->nblocks++;
    w->blk.len = 0;
    return 0;
}

static void dict_out(ocl_buf_t *m, ts_dict_t *d)
{
    buf_u32(m, d->n);
    for (uint32_t i = 0; i < d->n; i++) {
        buf_u32(m, d->v[i]->raw_len);
        ocl_buf_append(m, d->v[i]->raw, d->v[i]->raw_len);
        buf_u32(m, d->v[i]->url_len);
        ocl_buf_append(m, d->v[i]->url, d->v[i]->url_len);
    }
}


int ocl_tseg_write(const char *dir, uint64_t id, ts_head_t *h, uint64_t from_lo, uint64_t from_hi,
                   ts_seg_t **out)
{
    int rc = OCL_EIO;
    char tmp[4300], path[4200];
    snprintf(path, sizeof path, "%s/%020llu.trs", dir, (unsigned long long)id);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    writer_t w = {.fd = -1};
    ocl_buf_t meta, index;
    ocl_buf_init(&meta);
    ocl_buf_init(&index);
    ocl_buf_init(&w.blk);
    ocl_buf_init(&w.zbuf);
    ocl_buf_init(&w.btab);
    wtrace_t *tr = NULL;
    size_t ntr = 0;

    for (int i = 0; i < TS_SHARDS; i++)
        ntr += h->shards[i].ntraces;
    tr = ocl_malloc((ntr ? ntr : 1) * sizeof *tr);
    ntr = 0;
    for (int i = 0; i < TS_SHARDS; i++)
        for (uint32_t t = 0; t < h->shards[i].ntraces; t++)
            tr[ntr++] = (wtrace_t){&h->shards[i].traces[t], &h->shards[i]};
    if (ntr) qsort(tr, ntr, sizeof *tr, cmp_wtrace);

    w.cctx = ZSTD_createCCtx();
    if (!w.cctx) goto done;
    ZSTD_CCtx_setParameter(w.cctx, ZSTD_c_compressionLevel, SEG_ZSTD_LEVEL);
    ZSTD_CCtx_setParameter(w.cctx, ZSTD_c_checksumFlag, 1);
    w.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w.fd < 0) goto done;
    uint8_t hdr[SEG_HDR];
    memcpy(hdr, SEG_MAGIC, 7);
    hdr[7] = SEG_VERSION;
    if (write_all(w.fd, hdr, sizeof hdr)) goto done;
    w.off = SEG_HDR;

    uint64_t spans = 0;
    for (size_t i = 0; i < ntr; i++) {
        const ts_trace_t *t = tr[i].t;
        /* a trace never straddles blocks: start a new one when full */
        if (w.blk.len >= TS_BLOCK_TARGET && flush_block(&w)) goto done;
        ocl_buf_append(&index, t->id, 16);
        buf_u32(&index, w.nblocks);
        buf_u32(&index, (uint32_t)w.blk.len);
        buf_u32(&index, t->n);
        for (uint32_t k = 0; k < t->n; k++) {
            const ts_ref_t *r = &t->refs[k];
            buf_u32(&w.blk, r->res);
            buf_u32(&w.blk, r->scope);
            ocl_buf_append(&w.blk, r->span_id, 8);
            buf_u32(&w.blk, r->len);
            ocl_buf_append(&w.blk, tr[i].s->chunks[r->chunk] + r->off, r->len);
        }
        spans += t->n;
        if (w.blk.len > SEG_MAX_BLOCK) goto done; /* one trace over 1 GiB */
    }
    if (flush_block(&w)) goto done;

    uint64_t meta_off = w.off;
    dict_out(&meta, &h->res);
    dict_out(&meta, &h->scope);
    uint64_t dict_len = meta.len;
    ocl_buf_append(&meta, index.p, index.len);
    ocl_buf_append(&meta, w.btab.p, w.btab.len);
    uint8_t f[SEG_FOOTER];
    put64(f + 0, meta_off);
    put64(f + 8, dict_len);
    put64(f + 16, meta_off + dict_len);
    put64(f + 24, ntr);
    put64(f + 32, meta_off + dict_len + index.len);
    put64(f + 40, w.nblocks);
    put64(f + 48, h->min_time == UINT64_MAX ? 0 : h->min_time);
    put64(f + 56, h->max_time);
    put64(f + 64, spans);
    put64(f + 72, h->min_seq == UINT64_MAX ? 0 : h->min_seq);
    put64(f + 80, h->max_seq);
    put64(f + 88, from_lo);
    put64(f + 96, from_hi);
    put32(f + 104, ocl_crc32c(0, meta.p, meta.len));
    put32(f + 108, ocl_crc32c(0, f, 108));
    f[112] = SEG_VERSION;
    memcpy(f + 113, SEG_MAGIC, 7);
    if (write_all(w.fd, meta.p, meta.len) || write_all(w.fd, f, sizeof f)) goto done;
    if (fdatasync(w.fd) != 0) goto done;
    close(w.fd);
    w.fd = -1;
    if (rename(tmp, path) != 0) goto done;
    ocl_fsync_dir(dir);
    rc = ocl_tseg_open(path, id, out);
done:
    if (w.fd >= 0) close(w.fd);
    if (rc) unlink(tmp);
    ZSTD_freeCCtx(w.cctx);
    ocl_buf_dispose(&w.blk);
    ocl_buf_dispose(&w.zbuf);
    ocl_buf_dispose(&w.btab);
    ocl_buf_dispose(&meta);
    ocl_buf_dispose(&index);
    free(tr);
    return rc;
}

/* ---- reading ---- */

static int pread_all(int fd, void *p, size_t n, uint64_t off)
{
    uint8_t *b = p;
    while (n) {
        ssize_t r = pread(fd, b, n, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return OCL_EIO;
        b += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

/* Parses a dictionary of `*n` entries at m[*pos..end). */
static int parse_dict(const uint8_t *m, uint64_t end, uint64_t *pos, ts_dent_t **out, uint32_t *n)
{
    if (end - *pos < 4) return OCL_ECORRUPT;
    uint32_t cnt = get32(m + *pos);
    *pos += 4;
    if (cnt > (end - *pos) / 8) return OCL_ECORRUPT;
    ts_dent_t *v = ocl_malloc((cnt ? cnt : 1) * sizeof *v);
    for (uint32_t i = 0; i < cnt; i++) {
        uint32_t l[2];
        const uint8_t *p[2];
        for (int k = 0; k < 2; k++) {
            if (end - *pos < 4) goto bad;
            l[k] = get32(m + *pos);
            *pos += 4;
            if (l[k] > end - *pos) goto bad;
            p[k] = m + *pos;
            *pos += l[k];
        }
        v[i] = (ts_dent_t){p[0], p[1], l[0], l[1], dent_hash(p[0], l[0], p[1], l[1])};
    }
    *out = v;
    *n = cnt;
    return 0;
bad:
    free(v);
    return OCL_ECORRUPT;
}

/* Test hook: when set, open reads the metadata with pread as if mmap had
 * failed (tests/unit/store/test_tracestore.c). */
int ocl_tseg_force_pread;

int ocl_tseg_open(const char *path, uint64_t id, ts_seg_t **out)
{
    int rc = OCL_EIO;
    ts_seg_t *s = ocl_calloc(1, sizeof *s);
    s->id = id;
    s->path = ocl_strndup(path, strlen(path));
    s->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (s->fd < 0) goto error;
    struct stat sb;
    if (fstat(s->fd, &sb) != 0) goto error;
    uint64_t size = (uint64_t)sb.st_size;
    s->file_bytes = size;
    rc = OCL_ECORRUPT;
    if (size < SEG_HDR + SEG_FOOTER_V1) goto error;
    uint8_t hdr[SEG_HDR], f[SEG_FOOTER], tail[SEG_TAIL];
    if (pread_all(s->fd, hdr, SEG_HDR, 0) || pread_all(s->fd, tail, SEG_TAIL, size - SEG_TAIL)) {
        rc = OCL_EIO;
        goto error;
    }
    /* the version (at both ends) decides the footer size */
    uint8_t ver = hdr[7];
    if (memcmp(hdr, SEG_MAGIC, 7) != 0 || (ver != 1 && ver != 2)) goto error;
    if (memcmp(tail + 1, SEG_MAGIC, 7) != 0 || tail[0] != ver) goto error;
    uint64_t flen = ver == 1 ? SEG_FOOTER_V1 : SEG_FOOTER;
    if (size < SEG_HDR + flen) goto error;
    if (pread_all(s->fd, f, flen, size - flen)) {
        rc = OCL_EIO;
        goto error;
    }
    /* version 1 has no compaction range: its CRCs sit 16 bytes earlier */
    uint64_t crc_at = ver == 1 ? 88 : 104;
    (void)crc_at; /* unused when fuzzing (no CRC checks) */
    if (ver == 2) {
        s->from_lo = get64(f + 88);
        s->from_hi = get64(f + 96);
        if (s->from_lo > s->from_hi || (s->from_hi && s->from_hi >= id)) goto error;
    }
#ifndef OCL_FUZZING /* the fuzz target reaches the parsers behind the CRCs */
    if (get32(f + crc_at + 4) != ocl_crc32c(0, f, crc_at + 4)) goto error;
#endif
    uint64_t fstart = size - flen;
    uint64_t meta_off = get64(f), dict_len = get64(f + 8), index_off = get64(f + 16);
    uint64_t ntr = get64(f + 24), btab_off = get64(f + 32), nblocks = get64(f + 40);
    if (meta_off < SEG_HDR || meta_off > fstart || dict_len > fstart - meta_off ||
        index_off != meta_off + dict_len || ntr > (fstart - index_off) / SEG_IDX_ENTRY ||
        btab_off != index_off + ntr * SEG_IDX_ENTRY ||
        nblocks > (fstart - btab_off) / SEG_BTAB_ENTRY ||
        btab_off + nblocks * SEG_BTAB_ENTRY != fstart)
        goto error;
    s->min_time = get64(f + 48);
    s->max_time = get64(f + 56);
    s->spans = get64(f + 64);
    s->ntraces = ntr;
    s->min_seq = get64(f + 72);
    s->max_seq = get64(f + 80);
    s->nblocks = nblocks;
    uint64_t mlen = fstart - meta_off;
    /* The metadata (dictionary, index, block table) is mapped, not read:
     * a week of segments holds billions of index entries, and the kernel
     * can page them out and back as lookups need them. When mmap fails
     * (vm.max_map_count reached, ENOMEM) it is read into the heap instead:
     * the segment stays readable, only its metadata is no longer pageable. */
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), map_off = meta_off / page * page;
    size_t map_len = (size_t)(mlen + (meta_off - map_off));
    void *map = ocl_tseg_force_pread
                    ? MAP_FAILED
                    : mmap(NULL, map_len, PROT_READ, MAP_SHARED, s->fd, (off_t)map_off);
    if (map != MAP_FAILED) {
        s->map = map;
        s->map_len = map_len;
        s->meta = (uint8_t *)map + (meta_off - map_off);
    } else {
        s->heap_meta = ocl_malloc(mlen ? (size_t)mlen : 1);
        s->meta = s->heap_meta;
        if (pread_all(s->fd, s->heap_meta, (size_t)mlen, meta_off)) {
            rc = OCL_EIO;
            goto error;
        }
    }
#ifndef OCL_FUZZING
    if (ocl_crc32c(0, s->meta, mlen) != get32(f + crc_at)) goto error;
#endif
    uint64_t pos = 0;
    if (parse_dict(s->meta, dict_len, &pos, &s->res, &s->nres) ||
        parse_dict(s->meta, dict_len, &pos, &s->scope, &s->nscope) || pos != dict_len)
        goto error;
    s->index = s->meta + dict_len;
    s->btab = s->index + ntr * SEG_IDX_ENTRY;
    for (uint64_t b = 0; b < nblocks; b++) {
        const uint8_t *e = s->btab + b * SEG_BTAB_ENTRY;
        uint64_t off = get64(e);
        uint32_t clen = get32(e + 8), rlen = get32(e + 12);
        if (off < SEG_HDR || off > meta_off || clen > meta_off - off || rlen > SEG_MAX_BLOCK)
            goto error;
        s->raw_bytes += rlen;
    }
    for (uint64_t t = 0; t < ntr; t++) {
        const uint8_t *e = s->index + t * SEG_IDX_ENTRY;
        if (get32(e + 16) >= nblocks) goto error;
        if (t && memcmp(e - SEG_IDX_ENTRY, e, 16) >= 0) goto error; /* must be sorted */
    }
    /* Blocks are read by path on lookup: keeping a descriptor per segment
     * would exhaust the fd limit over a week of segments. */
    close(s->fd);
    s->fd = -1;
    *out = s;
    return 0;
error:
    ocl_tseg_close(s, 0);
    return rc;
}

/* Reads and decompresses block `bno` from `fd` into a malloc'd buffer. */
static int read_block(const ts_seg_t *s, int fd, uint32_t bno, uint8_t **out, uint32_t *out_len)
{
    const uint8_t *be = s->btab + (uint64_t)bno * SEG_BTAB_ENTRY;
    uint64_t boff = get64(be);
    uint32_t clen = get32(be + 8), rlen = get32(be + 12);
    int rc = OCL_EIO;
    uint8_t *z = ocl_malloc(clen ? clen : 1);
    uint8_t *b = ocl_malloc(rlen ? rlen : 1);
    if (pread_all(fd, z, clen, boff)) goto error;
    rc = OCL_ECORRUPT;
    size_t got = ZSTD_decompress(b, rlen, z, clen);
    if (ZSTD_isError(got) || got != rlen) goto error;
    free(z);
    *out = b;
    *out_len = rlen;
    return 0;
error:
    free(z);
    free(b);
    return rc;
}

/* One span record parsed from a block. */
typedef struct {
    uint32_t res;           /* resource dictionary index (checked) */
    uint32_t scope;         /* scope dictionary index (checked) */
    const uint8_t *span_id; /* 8 bytes */
    const uint8_t *raw;     /* span bytes */
    uint32_t len;           /* span length */
} rec_t;

/* Parses the record at b[*pos] (block of rlen bytes); advances *pos. */
static int next_rec(const ts_seg_t *s, const uint8_t *b, uint32_t rlen, uint64_t *pos, rec_t *r)
{
    if (*pos > rlen || rlen - *pos < SEG_SPAN_HDR) return OCL_ECORRUPT;
    const uint8_t *p = b + *pos;
    r->res = get32(p);
    r->scope = get32(p + 4);
    r->len = get32(p + 16);
    if (r->res >= s->nres || r->scope >= s->nscope || r->len > rlen - *pos - SEG_SPAN_HDR)
        return OCL_ECORRUPT;
    r->span_id = p + 8;
    r->raw = p + SEG_SPAN_HDR;
    *pos += SEG_SPAN_HDR + (uint64_t)r->len;
    return 0;
}

int ocl_tseg_lookup(ts_seg_t *s, const uint8_t trace_id[16], ts_gather_t *g, uint32_t *order)
{
    uint64_t lo = 0, hi = s->ntraces;
    const uint8_t *e = NULL;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        const uint8_t *m = s->index + mid * SEG_IDX_ENTRY;
        int c = memcmp(m, trace_id, 16);
        if (c == 0) {
            e = m;
            break;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!e) return OCL_ENOTFOUND;
    uint32_t off = get32(e + 20), cnt = get32(e + 24), rlen = 0;
    uint8_t *b = NULL;
    int fd = open(s->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return OCL_EIO;
    int rc = read_block(s, fd, get32(e + 16), &b, &rlen);
    close(fd);
    if (rc) return rc;
    uint64_t pos = off;
    size_t first = g->n;
    for (uint32_t i = 0; i < cnt; i++) {
        rec_t r;
        if (next_rec(s, b, rlen, &pos, &r)) {
            g->n = first;
            free(b);
            return OCL_ECORRUPT;
        }
        ts_item_t *it = ocl_tsgather_push(g);
        it->res = &s->res[r.res];
        it->scope = &s->scope[r.scope];
        it->raw = r.raw;
        it->len = r.len;
        it->order = (*order)++;
        memcpy(it->span_id, r.span_id, 8);
    }
    ocl_tsgather_keep(g, b);
    return 0;
}

int ocl_tseg_foreach(ts_seg_t *s, ocl_tseg_span_fn fn, void *arg)
{
    int rc = OCL_EIO;
    uint8_t *b = NULL;
    uint32_t rlen = 0, cur = UINT32_MAX;
    int fd = open(s->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) goto done;
    for (uint64_t t = 0; t < s->ntraces; t++) {
        const uint8_t *e = s->index + t * SEG_IDX_ENTRY;
        uint32_t bno = get32(e + 16), cnt = get32(e + 24);
        /* traces are in block order: each block is decompressed once */
        if (bno != cur) {
            free(b);
            b = NULL;
            cur = UINT32_MAX;
            rc = read_block(s, fd, bno, &b, &rlen);
            if (rc) goto done;
            cur = bno;
        }
        uint64_t pos = get32(e + 20);
        for (uint32_t i = 0; i < cnt; i++) {
            rec_t r;
            rc = next_rec(s, b, rlen, &pos, &r);
            if (rc) goto done;
            rc = fn(arg, e, r.res, r.scope, r.span_id, r.raw, r.len);
            if (rc) goto done;
        }
    }
    rc = 0;
done:
    if (fd >= 0) close(fd);
    free(b);
    return rc;
}

void ocl_tseg_close(ts_seg_t *s, int remove)
{
    if (!s) return;
    if (s->fd >= 0) close(s->fd);
    if (remove && s->path) unlink(s->path);
    free(s->res);
    free(s->scope);
    if (s->map_len) munmap(s->map, s->map_len);
    free(s->heap_meta);
    free(s->path);
    free(s);
}
