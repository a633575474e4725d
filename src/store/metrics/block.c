/*
 * block.c — on-disk blocks of the metrics TSDB: the streaming writer and
 * the reader (see block.h; byte layout in docs/FORMATS.md, "Metrics TSDB").
 *
 * Writer: chunk bytes are packed into pages of up to OCL_BLOCK_PAGE bytes,
 * each compressed with zstd and checksummed, appended to `chunks`; the
 * series and postings sections are built in memory (labels interned in a
 * writer symbol table) and written to `index` at the end; `meta` last.
 * Everything lives in "<ulid>.tmp" until fsynced and renamed.
 * Reader: every length, count, id and offset read from disk is checked
 * against the bytes available before use; a bad checksum fails the open
 * (the caller skips the block). Tuned for blocks of 10^4..10^6 series.
 */
#include "store/metrics/block.h"

#include "core/log.h"
#include "store/wal/wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#define CHUNKS_MAGIC "OCLC"
#define INDEX_MAGIC "OCLI"
#define META_MAGIC "OCLM"
#define META_SIZE 88
#define PAGE_HDR 12
#define MAX_PAGE_RAW (64u << 20)
#define ZSTD_LEVEL 9

/* ---- little helpers ---- */

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static void buf_uvarint(ocl_buf_t *b, uint64_t x)
{
    uint8_t tmp[10];
    int n = 0;
    while (x >= 0x80) {
        tmp[n++] = (uint8_t)(x | 0x80);
        x >>= 7;
    }
    tmp[n++] = (uint8_t)x;
    ocl_buf_append(b, tmp, (size_t)n);
}
static void buf_varint(ocl_buf_t *b, int64_t x)
{
    buf_uvarint(b, ((uint64_t)x << 1) ^ (uint64_t)(x >> 63));
}

/* Bounded reader over a byte range. */
typedef struct {
    const uint8_t *p;   /* next byte */
    const uint8_t *end; /* one past the last byte */
    bool bad;           /* a read ran past the end or was malformed */
} rd_t;

static uint64_t rd_uvarint(rd_t *r)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) break;
        uint8_t c = *r->p++;
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) return x;
    }
    r->bad = true;
    return 0;
}
static int64_t rd_varint(rd_t *r)
{
    uint64_t x = rd_uvarint(r);
    return (int64_t)((x >> 1) ^ (0 - (x & 1)));
}

static int write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return OCL_EIO;
        }
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static int write_file(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return OCL_EIO;
    int rc = write_all(fd, p, n);
    if (!rc && fsync(fd) != 0) rc = OCL_EIO;
    close(fd);
    return rc;
}


/* 26-character Crockford base32 ULID: 48-bit ms time, 80 random bits. */
static void make_ulid(char out[27], uint8_t id[16])
{
    static const char alpha[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    for (int i = 0; i < 6; i++)
        id[i] = (uint8_t)(ms >> (40 - 8 * i));
    if (getrandom(id + 6, 10, 0) != 10) {
        uint64_t x = ms ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 20;
        for (int i = 6; i < 16; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            id[i] = (uint8_t)(x >> 56);
        }
    }
    /* 128 bits → 26 base32 digits (first digit holds 3 bits) */
    for (int i = 25; i >= 0; i--) {
        int bit = (25 - i) * 5; /* bit offset from the least significant end */
        uint32_t v = 0;
        for (int k = 0; k < 5; k++) {
            int b = bit + k;
            if (b < 128 && (id[15 - b / 8] >> (b % 8) & 1)) v |= 1u << k;
        }
        out[i] = alpha[v];
    }
    out[26] = 0;
}

int ocl_block_remove_dir(const char *path)
{
    DIR *d = opendir(path);
    if (!d) return errno == ENOENT ? 0 : OCL_EIO;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char p[4096];
        if (snprintf(p, sizeof p, "%s/%s", path, de->d_name) < (int)sizeof p) unlink(p);
    }
    closedir(d);
    return rmdir(path) == 0 ? 0 : OCL_EIO;
}

int ocl_block_delete(const char *parent, const char *path)
{
    char gone[4200];
    if (snprintf(gone, sizeof gone, "%s" OCL_BLOCK_DELETED, path) >= (int)sizeof gone)
        return OCL_EINVAL;
    /* one atomic step takes the block out of the directory's namespace; a
     * crash after it leaves a "*.deleted" directory that open removes */
    if (rename(path, gone) != 0) return errno == ENOENT ? 0 : OCL_EIO;
    int rc = ocl_fsync_dir(parent);
    int rc2 = ocl_block_remove_dir(gone);
    return rc ? rc : rc2;
}

int ocl_block_read_meta(const char *path, int64_t *mint, int64_t *maxt)
{
    char p[4200];
    uint8_t *meta = NULL;
    size_t mlen = 0;
    snprintf(p, sizeof p, "%s/meta", path);
    int rc = ocl_read_file(p, 0, &meta, &mlen);
    if (rc) return rc;
    rc = OCL_ECORRUPT;
    if (mlen == META_SIZE && memcmp(meta, META_MAGIC, 4) == 0 && meta[4] == OCL_BLOCK_VERSION &&
        get_u32(meta + 84) == ocl_crc32c(0, meta, 84)) {
        *mint = (int64_t)get_u64(meta + 24);
        *maxt = (int64_t)get_u64(meta + 32);
        rc = 0;
    }
    ocl_free(meta);
    return rc;
}

/* ---- writer ---- */

struct ocl_bwriter {
    char tmp[4096];       /* "<parent>/<ulid>.tmp" */
    char final[4096];     /* "<parent>/<ulid>" */
    char parent[4096];    /* parent directory */
    int64_t mint, maxt;   /* covered range */
    int64_t dmint, dmaxt; /* data range */
    uint32_t level;       /* compaction level */
    int cfd;              /* chunks file */
    uint64_t foff;        /* offset of the page being filled */
    ocl_buf_t page;       /* uncompressed page */
    ocl_buf_t z;          /* compression buffer */
    ocl_symtab_t syms;    /* writer symbols (first-use order) */
    ocl_postings_t post;  /* postings by writer series id */
    ocl_buf_t series;     /* series section body without the count */
    uint32_t nseries;     /* series added */
    uint64_t nsamples;    /* samples added */
    uint64_t nchunks;     /* chunks added */
    uint32_t *pairs;      /* scratch label pairs */
    uint32_t cappairs;    /* allocated */
    uint8_t id[16];       /* ULID bytes */
    int64_t *st;          /* scratch timestamps for re-encoding */
    double *sv;           /* scratch values */
    uint32_t scap;        /* allocated scratch samples */
};

int ocl_bwriter_begin(const char *parent, int64_t mint, int64_t maxt, uint32_t level,
                      ocl_bwriter_t **out)
{
    ocl_bwriter_t *w = ocl_calloc(1, sizeof *w);
    char ulid[27];
    make_ulid(ulid, w->id);
    snprintf(w->parent, sizeof w->parent, "%s", parent);
    if (snprintf(w->final, sizeof w->final, "%s/%s", parent, ulid) >= (int)sizeof w->final ||
        snprintf(w->tmp, sizeof w->tmp, "%s/%s.tmp", parent, ulid) >= (int)sizeof w->tmp) {
        ocl_free(w);
        return OCL_EINVAL;
    }
    w->mint = mint, w->maxt = maxt, w->level = level;
    w->dmint = INT64_MAX, w->dmaxt = INT64_MIN;
    w->cfd = -1;
    ocl_symtab_init(&w->syms, false);
    ocl_postings_init(&w->post);
    if (mkdir(w->tmp, 0755) != 0) goto error;
    char p[4200];
    snprintf(p, sizeof p, "%s/chunks", w->tmp);
    w->cfd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->cfd < 0) goto error;
    uint8_t hdr[8] = {'O', 'C', 'L', 'C', OCL_BLOCK_VERSION, 0, 0, 0};
    if (write_all(w->cfd, hdr, sizeof hdr)) goto error;
    w->foff = sizeof hdr;
    *out = w;
    return 0;
error:
    ocl_error("tsdb: cannot create block %s: %s", w->tmp, strerror(errno));
    ocl_bwriter_abort(w);
    return OCL_EIO;
}

static void writer_free(ocl_bwriter_t *w)
{
    if (w->cfd >= 0) close(w->cfd);
    ocl_buf_dispose(&w->page);
    ocl_buf_dispose(&w->z);
    ocl_buf_dispose(&w->series);
    ocl_symtab_dispose(&w->syms);
    ocl_postings_dispose(&w->post);
    ocl_free(w->pairs);
    ocl_free(w->st);
    ocl_free(w->sv);
    ocl_free(w);
}

void ocl_bwriter_abort(ocl_bwriter_t *w)
{
    if (!w) return;
    if (w->cfd >= 0) close(w->cfd);
    w->cfd = -1;
    ocl_block_remove_dir(w->tmp);
    writer_free(w);
}

static int flush_page(ocl_bwriter_t *w)
{
    if (!w->page.len) return 0;
    size_t bound = ZSTD_compressBound(w->page.len);
    w->z.len = 0;
    uint8_t *z = ocl_buf_reserve(&w->z, bound + PAGE_HDR);
    size_t cl = ZSTD_compress(z + PAGE_HDR, bound, w->page.p, w->page.len, ZSTD_LEVEL);
    if (ZSTD_isError(cl)) return OCL_EIO;
    put_u32(z, (uint32_t)w->page.len);
    put_u32(z + 4, (uint32_t)cl);
    put_u32(z + 8, ocl_crc32c(0, z + PAGE_HDR, cl));
    if (write_all(w->cfd, z, cl + PAGE_HDR)) return OCL_EIO;
    w->foff += cl + PAGE_HDR;
    w->page.len = 0;
    return 0;
}

/* Encodes samples [off, off + n) of the scratch arrays as the smaller of
 * DEC (when representable) and XOR. */
static void encode_run(ocl_bwriter_t *w, uint32_t off, uint32_t n, ocl_chunk_t *out)
{
    ocl_chunk_t x = {0};
    ocl_chunk_app_t app = {0};
    for (uint32_t i = 0; i < n; i++)
        ocl_chunk_append(&x, &app, w->st[off + i], w->sv[off + i]);
    ocl_chunk_t d;
    if (ocl_chunk_encode_dec(&d, w->st + off, w->sv + off, n) == 0) {
        if (ocl_chunk_bytes(&d) < ocl_chunk_bytes(&x)) {
            ocl_chunk_dispose(&x);
            *out = d;
            return;
        }
        ocl_chunk_dispose(&d);
    }
    *out = x;
}

/* Appends one encoded chunk to the page and its reference to the series. */
static int put_chunk(ocl_bwriter_t *w, const ocl_chunk_t *c, int64_t *prev, uint64_t *prevpage)
{
    int rc;
    uint32_t len = ocl_chunk_bytes(c);
    if (w->page.len && w->page.len + len > OCL_BLOCK_PAGE)
        if ((rc = flush_page(w)) != 0) return rc;
    buf_varint(&w->series, (int64_t)((uint64_t)c->mint - (uint64_t)*prev));
    buf_uvarint(&w->series, (uint64_t)c->maxt - (uint64_t)c->mint);
    buf_uvarint(&w->series, (uint64_t)c->n << 1 | c->enc);
    buf_uvarint(&w->series, w->foff - *prevpage);
    buf_uvarint(&w->series, w->page.len);
    buf_uvarint(&w->series, len);
    *prev = c->maxt;
    *prevpage = w->foff;
    ocl_buf_append(&w->page, c->b, len);
    w->nsamples += c->n;
    w->nchunks++;
    if (c->mint < w->dmint) w->dmint = c->mint;
    if (c->maxt > w->dmaxt) w->dmaxt = c->maxt;
    return 0;
}

int ocl_bwriter_add(ocl_bwriter_t *w, const ocl_labels_t *ls, const ocl_chunk_t *chunks,
                    uint32_t nchunks)
{
    int rc = 0;
    /* decode everything, then re-chunk in runs of OCL_BLOCK_CHUNK_SAMPLES */
    uint64_t total = 0;
    for (uint32_t i = 0; i < nchunks; i++)
        total += chunks[i].n;
    if (!total) return 0;
    if (total > UINT32_MAX / 2) return OCL_ETOOBIG;
    if (total > w->scap) {
        w->scap = (uint32_t)total * 2;
        w->st = ocl_realloc(w->st, w->scap * sizeof *w->st);
        w->sv = ocl_realloc(w->sv, w->scap * sizeof *w->sv);
    }
    uint32_t k = 0;
    for (uint32_t i = 0; i < nchunks; i++) {
        ocl_chunk_iter_t it;
        ocl_chunk_iter_init_enc(&it, chunks[i].enc, chunks[i].b, ocl_chunk_bytes(&chunks[i]),
                                chunks[i].n);
        uint32_t got = 0;
        while (ocl_chunk_iter_next(&it, &w->st[k], &w->sv[k]) == 1) {
            if (k && w->st[k] <= w->st[k - 1]) return OCL_EINVAL; /* not increasing */
            k++, got++;
        }
        if (got != chunks[i].n) return OCL_ECORRUPT;
    }
    if (ls->n > w->cappairs) {
        w->cappairs = ls->n * 2;
        w->pairs = ocl_realloc(w->pairs, 2 * w->cappairs * sizeof *w->pairs);
    }
    buf_uvarint(&w->series, ls->n);
    for (uint32_t i = 0; i < ls->n; i++) {
        w->pairs[2 * i] = ocl_symtab_intern(&w->syms, ls->v[i].name);
        w->pairs[2 * i + 1] = ocl_symtab_intern(&w->syms, ls->v[i].value);
        buf_uvarint(&w->series, w->pairs[2 * i]);
        buf_uvarint(&w->series, w->pairs[2 * i + 1]);
    }
    ocl_postings_add(&w->post, w->nseries++, w->pairs, ls->n);
    uint32_t runs = (k + OCL_BLOCK_CHUNK_SAMPLES - 1) / OCL_BLOCK_CHUNK_SAMPLES;
    buf_uvarint(&w->series, runs);
    int64_t prev = w->mint;
    uint64_t prevpage = 0;
    for (uint32_t r = 0; r < runs && !rc; r++) {
        uint32_t off = r * OCL_BLOCK_CHUNK_SAMPLES;
        ocl_chunk_t c;
        encode_run(w, off, OCL_MIN(OCL_BLOCK_CHUNK_SAMPLES, k - off), &c);
        rc = put_chunk(w, &c, &prev, &prevpage);
        ocl_chunk_dispose(&c);
    }
    return rc;
}

/* Section: u32 stored length, u32 raw length, zstd frame, u32 CRC32C of
 * the stored bytes. */
static int put_section(ocl_buf_t *out, const ocl_buf_t *body)
{
    size_t bound = ZSTD_compressBound(body->len);
    size_t at = out->len;
    uint8_t *p = ocl_buf_reserve(out, bound + 12);
    size_t cl =
        ZSTD_compress(p + 8, bound, body->p ? (const void *)body->p : "", body->len, ZSTD_LEVEL);
    if (ZSTD_isError(cl) || cl > UINT32_MAX || body->len > UINT32_MAX) return OCL_EIO;
    put_u32(p, (uint32_t)cl);
    put_u32(p + 4, (uint32_t)body->len);
    put_u32(p + 8 + cl, ocl_crc32c(0, p + 8, cl));
    out->len = at + cl + 12;
    return 0;
}

int ocl_bwriter_finish(ocl_bwriter_t *w, ocl_block_t **out)
{
    int rc;
    ocl_buf_t idx, sec;
    ocl_buf_init(&idx);
    ocl_buf_init(&sec);
    char p[4200];
    if ((rc = flush_page(w)) != 0) goto error;
    if (fsync(w->cfd) != 0) {
        rc = OCL_EIO;
        goto error;
    }
    close(w->cfd);
    w->cfd = -1;

    ocl_buf_append(&idx, INDEX_MAGIC, 4);
    uint8_t ver[4] = {OCL_BLOCK_VERSION, 0, 0, 0};
    ocl_buf_append(&idx, ver, 4);
    buf_uvarint(&sec, w->syms.n);
    for (uint32_t i = 0; i < w->syms.n; i++) {
        buf_uvarint(&sec, w->syms.len[i]);
        ocl_buf_append(&sec, w->syms.str[i], w->syms.len[i]);
    }
    if ((rc = put_section(&idx, &sec)) != 0) goto error;
    sec.len = 0;
    buf_uvarint(&sec, w->nseries);
    ocl_buf_append(&sec, w->series.p, w->series.len);
    if ((rc = put_section(&idx, &sec)) != 0) goto error;
    sec.len = 0;
    buf_uvarint(&sec, w->post.nlists);
    for (uint32_t i = 0; i < w->post.nlists; i++) {
        const ocl_plist_t *l = &w->post.lists[i];
        buf_uvarint(&sec, l->name);
        buf_uvarint(&sec, l->value);
        buf_uvarint(&sec, l->n);
        uint32_t prev = 0;
        for (uint32_t k = 0; k < l->n; k++) {
            buf_uvarint(&sec, l->ids[k] - prev);
            prev = l->ids[k];
        }
    }
    if ((rc = put_section(&idx, &sec)) != 0) goto error;
    snprintf(p, sizeof p, "%s/index", w->tmp);
    if ((rc = write_file(p, idx.p, idx.len)) != 0) goto error;

    uint8_t meta[META_SIZE] = {'O', 'C', 'L', 'M', OCL_BLOCK_VERSION, 0, 0, 0};
    memcpy(meta + 8, w->id, 16);
    put_u64(meta + 24, (uint64_t)w->mint);
    put_u64(meta + 32, (uint64_t)w->maxt);
    put_u64(meta + 40, (uint64_t)w->dmint);
    put_u64(meta + 48, (uint64_t)w->dmaxt);
    put_u64(meta + 56, w->nseries);
    put_u64(meta + 64, w->nsamples);
    put_u64(meta + 72, w->nchunks);
    put_u32(meta + 80, w->level);
    put_u32(meta + 84, ocl_crc32c(0, meta, 84));
    snprintf(p, sizeof p, "%s/meta", w->tmp);
    if ((rc = write_file(p, meta, sizeof meta)) != 0) goto error;
    if ((rc = ocl_fsync_dir(w->tmp)) != 0) goto error;
    if (rename(w->tmp, w->final) != 0) {
        rc = OCL_EIO;
        goto error;
    }
    if ((rc = ocl_fsync_dir(w->parent)) != 0) goto error_final;
    if ((rc = ocl_block_open(w->final, out)) != 0) goto error_final;
    ocl_buf_dispose(&idx);
    ocl_buf_dispose(&sec);
    writer_free(w);
    return 0;
error_final:
    ocl_block_remove_dir(w->final);
error:
    ocl_error("tsdb: writing block %s failed: %s", w->final, ocl_strerror(rc));
    ocl_buf_dispose(&idx);
    ocl_buf_dispose(&sec);
    ocl_bwriter_abort(w);
    return rc;
}

/* ---- reader ---- */

void ocl_page_cache_dispose(ocl_page_cache_t *pc)
{
    ocl_free(pc->buf);
    memset(pc, 0, sizeof *pc);
}

void ocl_block_index_dispose(ocl_block_t *b)
{
    ocl_symtab_dispose(&b->syms);
    ocl_postings_dispose(&b->post);
    ocl_free(b->series);
    ocl_free(b->labmem);
    ocl_free(b->chunkmem);
    for (int i = 0; i < 3; i++) {
        ocl_free(b->sec[i]);
        b->sec[i] = NULL;
    }
    b->series = NULL;
    b->labmem = NULL;
    b->chunkmem = NULL;
    b->nseries = 0;
}

/* Next section of the index: checks length and checksum. */
#define MAX_SECTION_RAW (1u << 30)

/* Next section of the index: checks lengths and checksum and decompresses
 * the body into b->sec[i] (owned by the block). */
static int next_section(ocl_block_t *b, int i, rd_t *r, rd_t *body)
{
    if (r->end - r->p < 12) return OCL_ECORRUPT;
    uint32_t len = get_u32(r->p), raw = get_u32(r->p + 4);
    if ((uint64_t)(r->end - r->p) < (uint64_t)len + 12 || raw > MAX_SECTION_RAW)
        return OCL_ECORRUPT;
    const uint8_t *z = r->p + 8;
    if (get_u32(z + len) != ocl_crc32c(0, z, len)) return OCL_ECORRUPT;
    unsigned long long fsz = ZSTD_getFrameContentSize(z, len);
    if (fsz != raw) return OCL_ECORRUPT;
    b->sec[i] = ocl_malloc(raw + 1);
    size_t got = ZSTD_decompress(b->sec[i], raw, z, len);
    if (ZSTD_isError(got) || got != raw) return OCL_ECORRUPT;
    body->p = b->sec[i];
    body->end = b->sec[i] + raw;
    body->bad = false;
    r->p = z + len + 4;
    return 0;
}

int ocl_block_parse_index(ocl_block_t *b, uint8_t *buf, size_t len)
{
    rd_t r = {buf, buf + len, false}, s;
    uint32_t *labidx = NULL; /* per series: offset into labmem (pairs) */
    uint32_t *chkidx = NULL; /* per series: offset into chunkmem */
    size_t nlab = 0, caplab = 0, nchk = 0, capchk = 0;
    int rc = OCL_ECORRUPT;
    ocl_symtab_init(&b->syms, true);
    ocl_postings_init(&b->post);
    if (len < 8 || memcmp(buf, INDEX_MAGIC, 4) != 0 || buf[4] != OCL_BLOCK_VERSION || buf[5] ||
        buf[6] || buf[7])
        goto error;
    r.p += 8;

    /* symbols */
    if (next_section(b, 0, &r, &s)) goto error;
    uint64_t nsym = rd_uvarint(&s);
    if (s.bad || nsym > (uint64_t)(s.end - s.p)) goto error;
    for (uint64_t i = 0; i < nsym; i++) {
        uint64_t l = rd_uvarint(&s);
        if (s.bad || l > (uint64_t)(s.end - s.p)) goto error;
        if (ocl_symtab_intern(&b->syms, (ocl_str_t){(const char *)s.p, l}) != i) goto error;
        s.p += l;
    }

    /* series */
    if (next_section(b, 1, &r, &s)) goto error;
    uint64_t nser = rd_uvarint(&s);
    if (s.bad || nser > (uint64_t)(s.end - s.p) || nser > UINT32_MAX / 2) goto error;
    b->nseries = (uint32_t)nser;
    b->series = ocl_calloc(nser ? nser : 1, sizeof *b->series);
    labidx = ocl_malloc((nser + 1) * sizeof *labidx);
    chkidx = ocl_malloc((nser + 1) * sizeof *chkidx);
    for (uint64_t i = 0; i < nser; i++) {
        ocl_bseries_t *se = &b->series[i];
        uint64_t nl = rd_uvarint(&s);
        if (s.bad || nl > (uint64_t)(s.end - s.p)) goto error;
        se->nlab = (uint32_t)nl;
        labidx[i] = (uint32_t)nlab;
        if (nlab + 2 * nl > caplab) {
            caplab = (nlab + 2 * nl) * 2;
            b->labmem = ocl_realloc(b->labmem, caplab * sizeof *b->labmem);
        }
        for (uint64_t k = 0; k < 2 * nl; k++) {
            uint64_t id = rd_uvarint(&s);
            if (s.bad || id >= nsym) goto error;
            b->labmem[nlab++] = (uint32_t)id;
        }
        uint64_t nc = rd_uvarint(&s);
        if (s.bad || nc > (uint64_t)(s.end - s.p)) goto error;
        se->nchunks = (uint32_t)nc;
        chkidx[i] = (uint32_t)nchk;
        if (nchk + nc > capchk) {
            capchk = (nchk + nc) * 2;
            b->chunkmem = ocl_realloc(b->chunkmem, capchk * sizeof *b->chunkmem);
        }
        int64_t prev = b->mint;
        uint64_t page = 0;
        for (uint64_t k = 0; k < nc; k++) {
            ocl_bchunk_t *c = &b->chunkmem[nchk++];
            c->mint = (int64_t)((uint64_t)prev + (uint64_t)rd_varint(&s));
            c->maxt = (int64_t)((uint64_t)c->mint + rd_uvarint(&s));
            uint64_t ne = rd_uvarint(&s), n = ne >> 1;
            c->enc = (uint8_t)(ne & 1);
            page += rd_uvarint(&s);
            uint64_t off = rd_uvarint(&s), l = rd_uvarint(&s);
            /* n is bounded as written (queries size their buffers by it) */
            if (s.bad || n == 0 || n > OCL_BLOCK_CHUNK_SAMPLES || off > MAX_PAGE_RAW ||
                l > MAX_PAGE_RAW || c->maxt < c->mint)
                goto error;
            c->n = (uint32_t)n, c->page = page, c->off = (uint32_t)off, c->len = (uint32_t)l;
            prev = c->maxt;
        }
    }
    for (uint64_t i = 0; i < nser; i++) {
        b->series[i].lab = b->labmem + labidx[i];
        b->series[i].chunks = b->chunkmem + chkidx[i];
    }

    /* postings */
    if (next_section(b, 2, &r, &s)) goto error;
    uint64_t nl = rd_uvarint(&s);
    if (s.bad || nl > (uint64_t)(s.end - s.p)) goto error;
    for (uint64_t i = 0; i < nl; i++) {
        uint64_t name = rd_uvarint(&s), value = rd_uvarint(&s), n = rd_uvarint(&s);
        if (s.bad || name >= nsym || value >= nsym || n > nser) goto error;
        if (ocl_postings_get(&b->post, (uint32_t)name, (uint32_t)value)) goto error;
        uint64_t id = 0;
        for (uint64_t k = 0; k < n; k++) {
            uint64_t d = rd_uvarint(&s);
            if (s.bad || (k && d == 0)) goto error;
            id += d;
            if (id >= nser) goto error;
            ocl_postings_add_one(&b->post, (uint32_t)name, (uint32_t)value, (uint32_t)id);
        }
    }
    b->post.capall = b->post.nall = (uint32_t)nser;
    b->post.all = ocl_malloc((nser ? nser : 1) * sizeof *b->post.all);
    for (uint32_t i = 0; i < nser; i++)
        b->post.all[i] = i;
    if (r.p != r.end) goto error;
    rc = 0;
    goto done;
error:
    ocl_block_index_dispose(b);
done:
    ocl_free(labidx);
    ocl_free(chkidx);
    return rc;
}

int ocl_block_open(const char *path, ocl_block_t **out)
{
    int rc = OCL_ECORRUPT, fd = -1;
    char p[4200];
    uint8_t *meta = NULL;
    size_t mlen = 0;
    ocl_block_t *b = ocl_calloc(1, sizeof *b);
    b->path = ocl_strndup(path, strlen(path));
    const char *slash = strrchr(path, '/');
    snprintf(b->name, sizeof b->name, "%s", slash ? slash + 1 : path);

    snprintf(p, sizeof p, "%s/meta", path);
    if ((rc = ocl_read_file(p, 0, &meta, &mlen)) != 0) goto error;
    rc = OCL_ECORRUPT;
    if (mlen != META_SIZE || memcmp(meta, META_MAGIC, 4) != 0 || meta[4] != OCL_BLOCK_VERSION ||
        get_u32(meta + 84) != ocl_crc32c(0, meta, 84))
        goto error;
    b->mint = (int64_t)get_u64(meta + 24);
    b->maxt = (int64_t)get_u64(meta + 32);
    b->data_mint = (int64_t)get_u64(meta + 40);
    b->data_maxt = (int64_t)get_u64(meta + 48);
    uint64_t nseries = get_u64(meta + 56);
    b->nsamples = get_u64(meta + 64);
    b->nchunks_total = get_u64(meta + 72);
    b->level = get_u32(meta + 80);
    b->bytes = mlen;

    snprintf(p, sizeof p, "%s/index", path);
    if ((rc = ocl_read_file(p, 0, &b->idx, &b->idxlen)) != 0) goto error;
    b->bytes += b->idxlen;
    if ((rc = ocl_block_parse_index(b, b->idx, b->idxlen)) != 0) goto error;
    rc = OCL_ECORRUPT;
    if (b->nseries != nseries) goto error;

    snprintf(p, sizeof p, "%s/chunks", path);
    fd = open(p, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        rc = OCL_EIO;
        goto error;
    }
    if (sb.st_size < 8) goto error;
    b->clen = (size_t)sb.st_size;
    b->bytes += b->clen;
    void *m = mmap(NULL, b->clen, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        rc = OCL_EIO;
        goto error;
    }
    b->cmap = m;
    if (memcmp(b->cmap, CHUNKS_MAGIC, 4) != 0 || b->cmap[4] != OCL_BLOCK_VERSION) goto error;
    close(fd);
    ocl_free(meta);
    b->refs = 1;
    *out = b;
    return 0;
error:
    if (fd >= 0) close(fd);
    ocl_free(meta);
    ocl_block_close(b);
    *out = NULL;
    return rc;
}

void ocl_block_unref(ocl_block_t *b)
{
    if (b && __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) == 0) ocl_block_close(b);
}

void ocl_block_close(ocl_block_t *b)
{
    if (!b) return;
    ocl_block_index_dispose(b);
    if (b->cmap) munmap((void *)b->cmap, b->clen);
    ocl_free(b->idx);
    ocl_free(b->path);
    ocl_free(b);
}

int ocl_block_chunk(const ocl_block_t *b, const ocl_bchunk_t *c, ocl_page_cache_t *pc,
                    const uint8_t **p)
{
    if (pc->b != b || pc->page != c->page || !pc->buf) {
        pc->b = NULL;
        if (c->page < 8 || c->page > b->clen || b->clen - c->page < PAGE_HDR) return OCL_ECORRUPT;
        const uint8_t *h = b->cmap + c->page;
        uint32_t raw = get_u32(h), cl = get_u32(h + 4);
        if (raw > MAX_PAGE_RAW || (uint64_t)cl > b->clen - c->page - PAGE_HDR) return OCL_ECORRUPT;
        if (get_u32(h + 8) != ocl_crc32c(0, h + PAGE_HDR, cl)) return OCL_ECORRUPT;
        if (pc->cap < raw + 1) {
            pc->cap = raw + 1;
            pc->buf = ocl_realloc(pc->buf, pc->cap);
        }
        size_t got = ZSTD_decompress(pc->buf, raw, h + PAGE_HDR, cl);
        if (ZSTD_isError(got) || got != raw) return OCL_ECORRUPT;
        pc->b = b, pc->page = c->page, pc->len = raw;
    }
    if ((uint64_t)c->off + c->len > pc->len) return OCL_ECORRUPT;
    *p = pc->buf + c->off;
    return 0;
}

ocl_labels_t ocl_block_labels(const ocl_block_t *b, uint32_t id, ocl_arena_t *a)
{
    const ocl_bseries_t *s = &b->series[id];
    ocl_label_t *v = ocl_arena_alloc(a, (s->nlab ? s->nlab : 1) * sizeof *v);
    for (uint32_t i = 0; i < s->nlab; i++) {
        ocl_str_t n = ocl_symtab_get(&b->syms, s->lab[2 * i]);
        ocl_str_t val = ocl_symtab_get(&b->syms, s->lab[2 * i + 1]);
        v[i].name = (ocl_str_t){ocl_arena_strndup(a, n.p, n.n), n.n};
        v[i].value = (ocl_str_t){ocl_arena_strndup(a, val.p, val.n), val.n};
    }
    return (ocl_labels_t){v, s->nlab};
}
