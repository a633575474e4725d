/*
 * fuzz_trace_segment.c — libFuzzer target for the trace segment reader:
 * arbitrary bytes are written as a segment file, opened (footer, CRC,
 * bounds checks) and, when accepted, every indexed trace is looked up
 * (block decompression and span record parsing). Must never crash.
 * Seeds: tests/fuzz/corpus/trace_segment/.
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
    snprintf(path, sizeof path, "%s/%020llu.trs", dir, 1ull);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    ts_seg_t *s = NULL;
    if (ocl_tseg_open(path, 1, &s) == 0) {
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
        ocl_tseg_close(s, 0);
    }
    unlink(path);
    return 0;
}
