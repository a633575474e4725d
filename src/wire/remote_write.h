/*
 * remote_write.h — Prometheus remote-write 1.0: the WriteRequest protobuf
 * (decoder and encoder) and the snappy block format around it.
 *
 * Messages (field numbers from prometheus/prompb):
 *   WriteRequest   { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }
 *   TimeSeries     { repeated Label labels = 1; repeated Sample samples = 2;
 *                    repeated Exemplar exemplars = 3; repeated Histogram histograms = 4; }
 *   Label          { string name = 1; string value = 2; }
 *   Sample         { double value = 1; int64 timestamp = 2; }
 *   MetricMetadata { MetricType type = 1; string metric_family_name = 2;
 *                    string help = 4; string unit = 5; }
 *
 * The decoder is zero-copy: label strings, help and unit texts of the
 * decoded batch point into the input bytes, which must outlive the batch;
 * arrays (series, sorted labels, samples) come from the caller's arena. It
 * establishes the invariants of wire/prom.h: labels sorted, unique by name,
 * empty values dropped, a non-empty __name__, valid UTF-8. Exemplars are
 * skipped; native histograms are refused (the TSDB stores floats only).
 * Series without samples are dropped after validation.
 *
 * Workload: every remote-write request (Prometheus agents, Grafana Alloy,
 * OpenTelemetry collectors) and every metrics WAL record at replay pass
 * through ocl_rw_decode, so it counts first and allocates once per array.
 */
#ifndef OCL_WIRE_REMOTE_WRITE_H
#define OCL_WIRE_REMOTE_WRITE_H

#include "core/arena.h"
#include "core/buf.h"
#include "wire/prom.h"

/* Per-series limits checked by the decoder (defaults as in Mimir). */
typedef struct {
    uint32_t max_label_name_len;  /* bytes (default 1024) */
    uint32_t max_label_value_len; /* bytes (default 2048) */
    uint32_t max_labels;          /* labels per series incl. __name__ (default 30) */
} ocl_rw_limits_t;

#define OCL_RW_MAX_LABEL_NAME_LEN 1024
#define OCL_RW_MAX_LABEL_VALUE_LEN 2048
#define OCL_RW_MAX_LABELS 30

void ocl_rw_limits_default(ocl_rw_limits_t *l);

/* Decodes an uncompressed WriteRequest from `p`/`n` into `out`. `lim` NULL =
 * no limits (WAL replay: the record was validated when it was written).
 * Returns 0, or OCL_EINVAL with a message in `err` (malformed protobuf,
 * invalid series, over a limit) or OCL_EUNSUPP ("native histograms are not
 * supported"). On error nothing in `out` is meaningful. */
int ocl_rw_decode(const void *p, size_t n, const ocl_rw_limits_t *lim, ocl_arena_t *a,
                  ocl_prom_batch_t *out, char *err, size_t errlen);

/* Appends the batch as a WriteRequest to `out`. Decoding the result gives
 * the same series, samples and metadata. */
void ocl_rw_encode(const ocl_prom_batch_t *b, ocl_buf_t *out);

/* Snappy block format (not the framed stream format), as remote-write uses.
 * Decompression reads the declared length first and fails with OCL_ETOOBIG
 * before allocating anything when it exceeds `max_out`; corrupt input →
 * OCL_EINVAL. Output is appended to `out`; on failure `out` keeps its
 * previous length. */
int ocl_snappy_decompress(const void *in, size_t len, size_t max_out, ocl_buf_t *out);
void ocl_snappy_compress(const void *in, size_t len, ocl_buf_t *out);

#endif
