/*
 * block.c — on-disk blocks of the metrics TSDB (see block.h).
 * Interim: blocks are not implemented yet; opening reports OCL_EUNSUPP.
 */
#include "store/metrics/block.h"

void ocl_page_cache_dispose(ocl_page_cache_t *pc)
{
    ocl_free(pc->buf);
    memset(pc, 0, sizeof *pc);
}

int ocl_block_open(const char *path, ocl_block_t **out)
{
    (void)path;
    *out = NULL;
    return OCL_EUNSUPP;
}

void ocl_block_close(ocl_block_t *b)
{
    (void)b;
}

int ocl_block_remove_dir(const char *path)
{
    (void)path;
    return OCL_EUNSUPP;
}

int ocl_block_chunk(const ocl_block_t *b, const ocl_bchunk_t *c, ocl_page_cache_t *pc,
                    const uint8_t **p)
{
    (void)b, (void)c, (void)pc, (void)p;
    return OCL_EUNSUPP;
}

ocl_labels_t ocl_block_labels(const ocl_block_t *b, uint32_t id, ocl_arena_t *a)
{
    (void)b, (void)id, (void)a;
    return (ocl_labels_t){NULL, 0};
}
