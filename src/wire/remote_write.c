/*
 * remote_write.c — Prometheus remote-write 1.0 WriteRequest codec and the
 * snappy block framing (see remote_write.h for the message layout).
 *
 * Invariants: the decoder never reads outside the input (pb.h readers), it
 * counts every repeated field before allocating its array (one arena
 * allocation per array, none per sample), and every batch it returns
 * satisfies wire/prom.h. Error messages never echo invalid UTF-8 and
 * truncate echoed names and values at a character boundary.
 *
 * Workload: remote-write bodies of a few hundred to a few thousand series
 * with one sample each (Prometheus's default shard batches of 2,000
 * samples), labels usually already sorted by the sender.
 */
#include "wire/remote_write.h"

#include "wire/pb.h"

#include <snappy-c.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>

void ocl_rw_limits_default(ocl_rw_limits_t *l)
{
    l->max_label_name_len = OCL_RW_MAX_LABEL_NAME_LEN;
    l->max_label_value_len = OCL_RW_MAX_LABEL_VALUE_LEN;
    l->max_labels = OCL_RW_MAX_LABELS;
}

/* ---- errors ---- */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Length of at most `max` bytes of valid UTF-8 `s` without cutting a
 * character. */
static int clip(ocl_str_t s, size_t max)
{
    if (s.n <= max) return (int)s.n;
    size_t n = max;
    while (n > 0 && ((unsigned char)s.p[n] & 0xC0) == 0x80)
        n--;
    return (int)n;
}

#define ECHO 64 /* bytes of a name or value quoted in an error message */

static ocl_str_t metric_name(const ocl_label_t *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (ocl_str_eq_c(v[i].name, OCL_METRIC_NAME)) return v[i].value;
    return OCL_STR_NULL;
}

/* ---- decoder ---- */

static bool utf8_ok(ocl_str_t s)
{
    return s.n == 0 || ocl_utf8_valid(s.p, s.n);
}

/* Whether every byte is < 0x80. Run over a whole Label message (tags and
 * lengths under 128 are ASCII too), it proves both strings valid UTF-8 in
 * one pass — the usual case, and far cheaper than two validator calls. */
static bool all_ascii(ocl_str_t m)
{
    const unsigned char *p = (const unsigned char *)m.p;
    size_t i = 0;
    uint64_t acc = 0;
    for (; i + 8 <= m.n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        acc |= w;
    }
    for (; i < m.n; i++)
        acc |= p[i];
    return (acc & 0x8080808080808080ull) == 0;
}

static int wire_error(ocl_pb_reader_t *r, const char *what, char *err, size_t errlen)
{
    seterr(err, errlen, "malformed remote-write request (%s): %s", what,
           r->err ? r->err : "wrong wire type");
    return OCL_EINVAL;
}

static int decode_label(ocl_str_t m, ocl_label_t *l)
{
    ocl_pb_reader_t r;
    ocl_pb_reader_init(&r, m.p, m.n);
    l->name = OCL_STR_NULL;
    l->value = OCL_STR_NULL;
    while (!ocl_pb_eof(&r)) {
        uint32_t tag;
        if (ocl_pb_tag(&r, &tag)) return OCL_EINVAL;
        if (tag == OCL_PB_TAG(1, OCL_PB_LEN)) {
            if (ocl_pb_bytes(&r, &l->name)) return OCL_EINVAL;
        } else if (tag == OCL_PB_TAG(2, OCL_PB_LEN)) {
            if (ocl_pb_bytes(&r, &l->value)) return OCL_EINVAL;
        } else if ((tag >> 3) == 1 || (tag >> 3) == 2) {
            return OCL_EINVAL;
        } else if (ocl_pb_skip(&r, tag & 7)) {
            return OCL_EINVAL;
        }
    }
    return 0;
}

static int decode_sample(ocl_str_t m, ocl_sample_t *s)
{
    ocl_pb_reader_t r;
    ocl_pb_reader_init(&r, m.p, m.n);
    s->t = 0;
    s->v = 0;
    while (!ocl_pb_eof(&r)) {
        uint32_t tag;
        if (ocl_pb_tag(&r, &tag)) return OCL_EINVAL;
        if (tag == OCL_PB_TAG(1, OCL_PB_I64)) {
            if (ocl_pb_double(&r, &s->v)) return OCL_EINVAL;
        } else if (tag == OCL_PB_TAG(2, OCL_PB_VARINT)) {
            uint64_t t;
            if (ocl_pb_varint(&r, &t)) return OCL_EINVAL;
            s->t = (int64_t)t;
        } else if ((tag >> 3) == 1 || (tag >> 3) == 2) {
            return OCL_EINVAL;
        } else if (ocl_pb_skip(&r, tag & 7)) {
            return OCL_EINVAL;
        }
    }
    return 0;
}

/* Checks, sorts and compacts the labels of one series in place; sets
 * *n to the number kept. */
static int check_labels(ocl_label_t *v, uint32_t *n, bool ascii, const ocl_rw_limits_t *lim,
                        char *err, size_t errlen)
{
    uint32_t cnt = 0;
    /* An empty value means "label absent": drop those first, so that only
     * real labels are counted, checked and sorted. */
    for (uint32_t i = 0; i < *n; i++)
        if (v[i].value.n) v[cnt++] = v[i];
    /* Over the limit before any sort: a 20 MiB body can hold millions of
     * labels in one series, and sorting them first cost seconds of CPU per
     * request. */
    if (lim && cnt > lim->max_labels) {
        ocl_str_t mn = metric_name(v, cnt);
        if (!utf8_ok(mn)) mn = OCL_STR_NULL;
        seterr(err, errlen,
               "received a series whose number of labels (%u) exceeds the limit of %u, "
               "series: '%.*s'",
               cnt, lim->max_labels, clip(mn, ECHO), mn.p);
        return OCL_EINVAL;
    }
    for (uint32_t i = 0; !ascii && i < cnt; i++) {
        if (!utf8_ok(v[i].name) || !utf8_ok(v[i].value)) {
            seterr(err, errlen, "received a series with invalid UTF-8 in a label name or value");
            return OCL_EINVAL;
        }
    }
    ocl_labels_sort(v, cnt);
    for (uint32_t i = 1; i < cnt; i++) {
        if (ocl_str_eq(v[i].name, v[i - 1].name)) {
            ocl_str_t mn = metric_name(v, cnt);
            seterr(err, errlen,
                   "received a series with duplicate label name, label: '%.*s', series: '%.*s'",
                   clip(v[i].name, ECHO), v[i].name.p, clip(mn, ECHO), mn.p);
            return OCL_EINVAL;
        }
    }
    if (cnt && v[0].name.n == 0) { /* sorted: an empty name comes first */
        seterr(err, errlen, "received a series with an empty label name");
        return OCL_EINVAL;
    }
    uint32_t k = cnt;
    *n = k;
    ocl_str_t mn = metric_name(v, k);
    if (mn.n == 0) {
        seterr(err, errlen, "received a series without a metric name (missing or empty __name__)");
        return OCL_EINVAL;
    }
    if (!lim) return 0;
    for (uint32_t i = 0; i < k; i++) {
        if (v[i].name.n > lim->max_label_name_len) {
            seterr(err, errlen,
                   "received a series whose label name length of %zu exceeds the limit of %u, "
                   "label: '%.*s' (truncated), series: '%.*s'",
                   v[i].name.n, lim->max_label_name_len, clip(v[i].name, ECHO), v[i].name.p,
                   clip(mn, ECHO), mn.p);
            return OCL_EINVAL;
        }
        if (v[i].value.n > lim->max_label_value_len) {
            seterr(err, errlen,
                   "received a series whose label value length of %zu exceeds the limit of %u, "
                   "label: '%.*s', value: '%.*s' (truncated), series: '%.*s'",
                   v[i].value.n, lim->max_label_value_len, clip(v[i].name, ECHO), v[i].name.p,
                   clip(v[i].value, ECHO), v[i].value.p, clip(mn, ECHO), mn.p);
            return OCL_EINVAL;
        }
    }
    return 0;
}

static int decode_series(ocl_str_t m, const ocl_rw_limits_t *lim, ocl_arena_t *a,
                         ocl_prom_series_t *out, char *err, size_t errlen)
{
    ocl_pb_reader_t r;
    uint32_t n_labels = 0, n_samples = 0, n_hist = 0;
    uint32_t tag;
    ocl_str_t sub = OCL_STR_NULL;

    /* Pass 1: count. */
    ocl_pb_reader_init(&r, m.p, m.n);
    while (!ocl_pb_eof(&r)) {
        if (ocl_pb_tag(&r, &tag)) return wire_error(&r, "TimeSeries", err, errlen);
        uint32_t f = tag >> 3;
        if (f >= 1 && f <= 4) {
            if ((tag & 7) != OCL_PB_LEN || ocl_pb_bytes(&r, &sub))
                return wire_error(&r, "TimeSeries", err, errlen);
            n_labels += f == 1;
            n_samples += f == 2;
            n_hist += f == 4;
        } else if (ocl_pb_skip(&r, tag & 7)) {
            return wire_error(&r, "TimeSeries", err, errlen);
        }
    }
    if (n_hist) {
        seterr(err, errlen, "native histograms are not supported");
        return OCL_EUNSUPP;
    }

    ocl_label_t *labels = ocl_arena_alloc(a, (size_t)OCL_MAX(n_labels, 1) * sizeof *labels);
    ocl_sample_t *samples = ocl_arena_alloc(a, (size_t)OCL_MAX(n_samples, 1) * sizeof *samples);
    uint32_t il = 0, is = 0;
    bool ascii = true; /* every Label message is pure ASCII */

    /* Pass 2: fill (the structure was checked by pass 1). */
    ocl_pb_reader_init(&r, m.p, m.n);
    while (!ocl_pb_eof(&r)) {
        (void)ocl_pb_tag(&r, &tag);
        uint32_t f = tag >> 3;
        if (f >= 1 && f <= 4) {
            (void)ocl_pb_bytes(&r, &sub);
            if (f == 1) ascii = ascii && all_ascii(sub);
            if (f == 1 && decode_label(sub, &labels[il++])) {
                seterr(err, errlen, "malformed remote-write request: bad Label");
                return OCL_EINVAL;
            }
            if (f == 2 && decode_sample(sub, &samples[is++])) {
                seterr(err, errlen, "malformed remote-write request: bad Sample");
                return OCL_EINVAL;
            }
        } else {
            (void)ocl_pb_skip(&r, tag & 7);
        }
    }
    int rc = check_labels(labels, &n_labels, ascii, lim, err, errlen);
    if (rc) return rc;
    out->labels.v = labels;
    out->labels.n = n_labels;
    out->samples = samples;
    out->n_samples = n_samples;
    return 0;
}

static int decode_meta(ocl_str_t m, ocl_prom_meta_t *md, char *err, size_t errlen)
{
    ocl_pb_reader_t r;
    ocl_pb_reader_init(&r, m.p, m.n);
    memset(md, 0, sizeof *md);
    while (!ocl_pb_eof(&r)) {
        uint32_t tag;
        uint64_t v;
        if (ocl_pb_tag(&r, &tag)) return wire_error(&r, "MetricMetadata", err, errlen);
        int rc;
        switch (tag) {
        case OCL_PB_TAG(1, OCL_PB_VARINT):
            rc = ocl_pb_varint(&r, &v);
            md->type = v <= OCL_PT_STATESET ? (ocl_prom_type_t)v : OCL_PT_UNKNOWN;
            break;
        case OCL_PB_TAG(2, OCL_PB_LEN):
            rc = ocl_pb_bytes(&r, &md->family);
            break;
        case OCL_PB_TAG(4, OCL_PB_LEN):
            rc = ocl_pb_bytes(&r, &md->help);
            break;
        case OCL_PB_TAG(5, OCL_PB_LEN):
            rc = ocl_pb_bytes(&r, &md->unit);
            break;
        default:
            rc = (tag >> 3) == 1 || (tag >> 3) == 2 || (tag >> 3) == 4 || (tag >> 3) == 5
                     ? OCL_EINVAL
                     : ocl_pb_skip(&r, tag & 7);
        }
        if (rc) return wire_error(&r, "MetricMetadata", err, errlen);
    }
    if (!utf8_ok(md->family) || !utf8_ok(md->help) || !utf8_ok(md->unit)) {
        seterr(err, errlen, "received metadata with invalid UTF-8");
        return OCL_EINVAL;
    }
    return 0;
}

int ocl_rw_decode(const void *p, size_t n, const ocl_rw_limits_t *lim, ocl_arena_t *a,
                  ocl_prom_batch_t *out, char *err, size_t errlen)
{
    ocl_pb_reader_t r;
    uint32_t tag;
    ocl_str_t sub = OCL_STR_NULL;
    size_t n_series = 0, n_meta = 0;

    memset(out, 0, sizeof *out);
    if (err && errlen) err[0] = 0;
    ocl_pb_reader_init(&r, p, n);
    while (!ocl_pb_eof(&r)) {
        if (ocl_pb_tag(&r, &tag)) return wire_error(&r, "WriteRequest", err, errlen);
        uint32_t f = tag >> 3;
        if (f == 1 || f == 3) {
            if ((tag & 7) != OCL_PB_LEN || ocl_pb_bytes(&r, &sub))
                return wire_error(&r, "WriteRequest", err, errlen);
            n_series += f == 1;
            n_meta += f == 3;
        } else if (ocl_pb_skip(&r, tag & 7)) {
            return wire_error(&r, "WriteRequest", err, errlen);
        }
    }
    ocl_prom_series_t *series = n_series ? ocl_arena_alloc(a, n_series * sizeof *series) : NULL;
    ocl_prom_meta_t *meta = n_meta ? ocl_arena_alloc(a, n_meta * sizeof *meta) : NULL;
    size_t is = 0, im = 0;
    ocl_pb_reader_init(&r, p, n);
    while (!ocl_pb_eof(&r)) {
        (void)ocl_pb_tag(&r, &tag);
        uint32_t f = tag >> 3;
        if (f == 1) {
            (void)ocl_pb_bytes(&r, &sub);
            int rc = decode_series(sub, lim, a, &series[is], err, errlen);
            if (rc) return rc;
            if (series[is].n_samples) is++;
        } else if (f == 3) {
            (void)ocl_pb_bytes(&r, &sub);
            int rc = decode_meta(sub, &meta[im], err, errlen);
            if (rc) return rc;
            if (meta[im].family.n) im++;
        } else {
            (void)ocl_pb_skip(&r, tag & 7);
        }
    }
    out->series = series;
    out->n_series = is;
    out->meta = meta;
    out->n_meta = im;
    return 0;
}

/* ---- encoder ---- */

static size_t field_size(size_t n)
{
    return 1 + ocl_pb_varint_size(n) + n;
}

static size_t label_size(const ocl_label_t *l)
{
    return field_size(l->name.n) + field_size(l->value.n);
}

static size_t sample_size(const ocl_sample_t *s)
{
    return 9 + 1 + ocl_pb_varint_size((uint64_t)s->t);
}

static void put_len(ocl_buf_t *b, uint32_t field, size_t n)
{
    ocl_pb_put_tag(b, field, OCL_PB_LEN);
    ocl_pb_put_varint(b, n);
}

void ocl_rw_encode(const ocl_prom_batch_t *b, ocl_buf_t *out)
{
    for (size_t i = 0; i < b->n_series; i++) {
        const ocl_prom_series_t *s = &b->series[i];
        size_t ts = 0;
        for (uint32_t j = 0; j < s->labels.n; j++)
            ts += field_size(label_size(&s->labels.v[j]));
        for (uint32_t j = 0; j < s->n_samples; j++)
            ts += field_size(sample_size(&s->samples[j]));
        ocl_buf_reserve(out, field_size(ts));
        put_len(out, 1, ts);
        for (uint32_t j = 0; j < s->labels.n; j++) {
            const ocl_label_t *l = &s->labels.v[j];
            put_len(out, 1, label_size(l));
            ocl_pb_put_bytes(out, 1, l->name.p, l->name.n);
            ocl_pb_put_bytes(out, 2, l->value.p, l->value.n);
        }
        for (uint32_t j = 0; j < s->n_samples; j++) {
            const ocl_sample_t *sm = &s->samples[j];
            put_len(out, 2, sample_size(sm));
            ocl_pb_put_double(out, 1, sm->v);
            ocl_pb_put_uint(out, 2, (uint64_t)sm->t);
        }
    }
    for (size_t i = 0; i < b->n_meta; i++) {
        const ocl_prom_meta_t *m = &b->meta[i];
        size_t ms = 1 + ocl_pb_varint_size((uint64_t)m->type) + field_size(m->family.n) +
                    (m->help.n ? field_size(m->help.n) : 0) +
                    (m->unit.n ? field_size(m->unit.n) : 0);
        put_len(out, 3, ms);
        ocl_pb_put_uint(out, 1, (uint64_t)m->type);
        ocl_pb_put_bytes(out, 2, m->family.p, m->family.n);
        if (m->help.n) ocl_pb_put_bytes(out, 4, m->help.p, m->help.n);
        if (m->unit.n) ocl_pb_put_bytes(out, 5, m->unit.p, m->unit.n);
    }
}

/* ---- snappy ---- */

int ocl_snappy_decompress(const void *in, size_t len, size_t max_out, ocl_buf_t *out)
{
    size_t ulen;
    if (snappy_uncompressed_length(in, len, &ulen) != SNAPPY_OK) return OCL_EINVAL;
    if (ulen > max_out) return OCL_ETOOBIG;
    if (ulen == 0) return len == 1 ? 0 : OCL_EINVAL; /* a bare zero length header */
    unsigned char *dst = ocl_buf_reserve(out, ulen);
    size_t got = ulen;
    if (snappy_uncompress(in, len, (char *)dst, &got) != SNAPPY_OK || got != ulen)
        return OCL_EINVAL;
    out->len += ulen;
    return 0;
}

void ocl_snappy_compress(const void *in, size_t len, ocl_buf_t *out)
{
    size_t cap = snappy_max_compressed_length(len);
    unsigned char *dst = ocl_buf_reserve(out, cap);
    size_t got = cap;
    snappy_status st = snappy_compress(in ? in : "", len, (char *)dst, &got);
    if (st != SNAPPY_OK) abort(); /* only fails for a too-small buffer */
    out->len += got;
}
