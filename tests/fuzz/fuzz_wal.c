/*
 * fuzz_wal.c — libFuzzer target for WAL segment reading: the bytes are fed
 * to ocl_wal_scan() and also written as a segment file that ocl_wal_open()
 * must repair without crashing; the replayed record count must equal the
 * scanned prefix of records whose seqs run 1, 2, 3, ...
 * Seeds: tests/fuzz/corpus/wal/.
 */
#include "core/log.h"
#include "store/wal/wal.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct {
    size_t n;    /* records seen */
    size_t good; /* length of the prefix with seq == index + 1 */
    int broken;  /* the prefix ended */
} cnt_t;

static int count_cb(uint8_t type, uint64_t seq, const void *p, size_t n, void *ud)
{
    cnt_t *c = ud;
    c->n++;
    if (!c->broken && seq == c->n)
        c->good++;
    else
        c->broken = 1;
    return 0;
}

static char dir[64];

static void clean(void)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        unlink(p);
    }
    if (d) closedir(d);
}

static void at_exit(void)
{
    clean();
    rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        ocl_log_level = OCL_LOG_ERROR + 1;
        snprintf(dir, sizeof dir, "/tmp/ocl_fuzz_wal_XXXXXX");
        if (!mkdtemp(dir)) abort();
        atexit(at_exit);
    }
    cnt_t scanned = {0};
    size_t end = ocl_wal_scan(data, size, count_cb, &scanned);
    if (end > size) abort();

    clean();
    char path[512];
    snprintf(path, sizeof path, "%s/%020llu.wal", dir, 1ull);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    ocl_wal_cfg_t cfg = {.dir = dir, .fsync = OCL_FSYNC_NEVER};
    ocl_wal_t *w = NULL;
    if (ocl_wal_open(&cfg, &w) != 0) abort();
    cnt_t replayed = {0};
    if (ocl_wal_replay(w, count_cb, &replayed) != 0) abort();
    if (replayed.n != scanned.good) abort();
    uint64_t seq = 0;
    if (ocl_wal_append(w, 1, "x", 1, &seq) != 0 || seq != replayed.n + 1) abort();
    ocl_wal_close(w);
    clean();
    return 0;
}
