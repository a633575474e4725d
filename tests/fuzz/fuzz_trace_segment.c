/*
 * fuzz_trace_segment.c — libFuzzer target for the trace segment reader:
 * arbitrary bytes are written as a segment file, opened (footer, CRC,
 * bounds checks) and, when accepted, every indexed trace is looked up
 * (block decompression and span record parsing), then every span is walked
 * as compaction reads them. Must never crash.
 * Seeds: tests/fuzz/corpus/trace_segment/ (a version-1 cut and a version-2
 * compacted segment).
 */
#include "core/log.h"
#include "store/traces/ts_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[64];

static void at_exit(void)
{
    rmdir(dir);
}

/* ocl_tseg_foreach callback: touches every byte handed out. */
static int count_span(void *arg, const uint8_t *trace_id, uint32_t res, uint32_t scope,
                      const uint8_t *span_id, const uint8_t *raw, uint32_t len)
{
    uint64_t *n = arg;
    *n += trace_id[15] + span_id[7] + res + scope + (len ? raw[len - 1] : 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        ocl_log_level = OCL_LOG_ERROR + 1;
        snprintf(dir, sizeof dir, "/tmp/ocl_fuzz_trs_XXXXXX");
        if (!mkdtemp(dir)) abort();
        atexit(at_exit);
    }
    char path[512];
    /* a high id: a compacted segment must replace only lower ids */
    snprintf(path, sizeof path, "%s/%020llu.trs", dir, 1000000ull);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    ts_seg_t *s = NULL;
    if (ocl_tseg_open(path, 1000000, &s) == 0) {
        for (uint64_t i = 0; i < s->ntraces && i < 64; i++) {
            uint8_t id[16];
            memcpy(id, s->index + i * 28, 16);
            ts_gather_t g = {0};
            uint32_t order = 0;
            ocl_tseg_lookup(s, id, &g, &order);
            for (size_t k = 0; k < g.n; k++)
                if (g.v[k].len && g.v[k].raw[g.v[k].len - 1] == 0x42) order++;
            for (size_t k = 0; k < g.nbufs; k++)
                free(g.bufs[k]);
            free(g.bufs);
            free(g.v);
        }
        uint64_t sum = 0;
        ocl_tseg_foreach(s, count_span, &sum); /* the compaction reader */
        ocl_tseg_close(s, 0);
    }
    unlink(path);
    return 0;
}
