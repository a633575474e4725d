/*
 * sdk_export_prog.c — the program of test_sdk_export.sh: records a small
 * trace (server span with typed attributes, an event, an error status; a
 * client child with a link) and a correlated log record with libocelot,
 * exports them over OTLP/HTTP (endpoint from OTEL_EXPORTER_OTLP_ENDPOINT)
 * and prints what it recorded as one JSON object on stdout, so the test
 * can compare it field by field with what ocelot serves back.
 *
 * Usage: sdk_export_prog            export over OTLP, print the record
 *        sdk_export_prog --dump F   also write every request body to F.<n>
 *                                   (callback exporter; nothing is sent)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocelot/ocelot.h"

static const char *g_dump; /* file prefix for --dump */
static int g_n;            /* bodies written */

static int dump_cb(void *ud, ocelot_signal_t sig, const uint8_t *b, size_t n)
{
    (void)ud;
    char path[512];
    snprintf(path, sizeof path, "%s.%s.%d", g_dump,
             sig == OCELOT_SIGNAL_LOGS      ? "logs"
             : sig == OCELOT_SIGNAL_METRICS ? "metrics"
                                            : "traces",
             g_n++);
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    fwrite(b, 1, n, f);
    fclose(f);
    return 0;
}

static void hex(char *out, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

int main(int argc, char **argv)
{
    ocelot_options_t o = {.service_name = "sdk-export-test"};
    if (argc == 3 && !strcmp(argv[1], "--dump")) {
        g_dump = argv[2];
        o.traces_exporter = o.logs_exporter = OCELOT_EXPORTER_CALLBACK;
        o.metrics_exporter = OCELOT_EXPORTER_CALLBACK;
        o.export_cb = dump_cb;
    }
    int rc = ocelot_init(&o);
    if (rc) {
        fprintf(stderr, "init: %s\n", ocelot_strerror(rc));
        return 1;
    }
    ocelot_tracer_t *t = ocelot_tracer_get("sdk.export.test", "0.0.1", NULL);
    ocelot_logger_t *lg = ocelot_logger_get("sdk.export.test", NULL, NULL);
    const uint64_t T0 = 1700000000000000000ull;
    int64_t codes[] = {200, 404};
    ocelot_attr_t a[] = {
        OCELOT_STR("http.request.method", "GET"),
        OCELOT_INT("http.response.status_code", 503),
        OCELOT_DBL("load", 0.75),
        OCELOT_BOOL("retry", 1),
        OCELOT_ARR("codes", OCELOT_ATTR_INT_ARRAY, codes, 2),
    };
    ocelot_span_options_t so = {
        .kind = OCELOT_SPAN_SERVER, .start_ns = T0, .attrs = a, .n_attrs = 5, .root = 1};
    ocelot_span_t *root = ocelot_span_start(t, "GET /checkout", &so);
    ocelot_attr_t ea = OCELOT_STR("cart.items", "3");
    ocelot_span_add_event(root, "cart.loaded", T0 + 1000, &ea, 1);
    ocelot_span_set_status(root, OCELOT_STATUS_ERROR, "backend unavailable");
    ocelot_span_t *prev = ocelot_span_attach(root);
    ocelot_span_context_t lctx;
    ocelot_traceparent_parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", 55, &lctx);
    ocelot_link_t link = {&lctx, NULL, 0};
    ocelot_span_options_t co = {
        .kind = OCELOT_SPAN_CLIENT, .start_ns = T0 + 2000, .links = &link, .n_links = 1};
    ocelot_span_t *child = ocelot_span_start(t, "POST /payments", &co);
    ocelot_span_context_t cc_;
    ocelot_span_get_context(child, &cc_);
    ocelot_span_set_str(child, "peer.service", "payments");
    ocelot_log(lg, OCELOT_SEV_ERROR, "payment backend returned 503", NULL, 0);
    ocelot_span_end(child, T0 + 900000);
    ocelot_span_detach(prev);
    ocelot_span_context_t rc_;
    ocelot_span_get_context(root, &rc_);
    char tid[33], rid[17], cid[17];
    hex(tid, rc_.trace_id, 16);
    hex(rid, rc_.span_id, 8);
    hex(cid, cc_.span_id, 8);
    ocelot_span_end(root, T0 + 1000000);
    /* metrics: exported by the final collection at shutdown */
    ocelot_meter_t *m = ocelot_meter_get("sdk.export.test", NULL, NULL);
    ocelot_instrument_t *cnt = NULL, *hist = NULL;
    ocelot_instrument_create(m, OCELOT_COUNTER, "checkout.requests", NULL, &cnt);
    ocelot_instrument_options_t ho = {.unit = "ms"};
    ocelot_instrument_create(m, OCELOT_HISTOGRAM, "checkout.duration", &ho, &hist);
    ocelot_attr_t ma = OCELOT_STR("http.route", "/checkout");
    ocelot_counter_add(cnt, 1, &ma, 1);
    ocelot_histogram_record(hist, 1.0, &ma, 1);
    rc = ocelot_force_flush(10000);
    ocelot_stats_t st;
    ocelot_stats_get(&st);
    ocelot_shutdown(5000);
    printf("{\"trace_id\":\"%s\",\"root_span_id\":\"%s\",\"child_span_id\":\"%s\",\"flush\":%d,"
           "\"spans_exported\":%llu,\"logs_exported\":%llu}\n",
           tid, rid, cid, rc, (unsigned long long)st.spans_exported,
           (unsigned long long)st.logs_exported);
    return rc ? 1 : 0;
}
