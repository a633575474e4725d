/*
 * test_sdk_config.c — environment parsing (defaults, invalid values
 * warned and ignored, endpoint rules), samplers (TraceIdRatioBased on the
 * low-order 8 bytes; the four parent-based delegate cases), OTLP retry
 * decisions, Retry-After, partial_success parsing and the pbwire helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "internal.h"

int osdk_sample(int sampler, double ratio, int has_parent, int parent_sampled, int parent_remote,
                const uint8_t trace_id[16]);
int osdk_ratio_sample(double ratio, const uint8_t trace_id[16]);

/* fake environment */
static const char *const *g_env;
static const char *fake_getenv(void *ud, const char *name)
{
    (void)ud;
    for (const char *const *p = g_env; p && *p; p += 2)
        if (!strcmp(p[0], name)) return p[1];
    return NULL;
}

static void load(osdk_config_t *c, const char *const *env)
{
    g_env = env;
    assert_int_equal(osdk_config_load(c, fake_getenv, NULL), 0);
}

static void defaults(void **st)
{
    (void)st;
    osdk_config_t c;
    load(&c, NULL);
    assert_int_equal(c.disabled, 0);
    assert_int_equal(c.sampler, OSDK_SAMPLER_PB_ALWAYS_ON);
    assert_int_equal(c.bsp.max_queue, 2048);
    assert_int_equal(c.bsp.max_batch, 512);
    assert_int_equal(c.bsp.delay_ms, 5000);
    assert_int_equal(c.bsp.timeout_ms, 30000);
    assert_int_equal(c.blrp.delay_ms, 1000);
    assert_int_equal(c.metric_interval_ms, 60000);
    assert_int_equal(c.span_limits.attr_count, 128);
    assert_int_equal(c.span_limits.event_count, 128);
    assert_int_equal(c.span_limits.link_count, 128);
    assert_int_equal(c.span_limits.value_len, UINT32_MAX);
    assert_string_equal(c.exp[0].endpoint, "http://localhost:4318/v1/traces");
    assert_string_equal(c.exp[1].endpoint, "http://localhost:4318/v1/metrics");
    assert_string_equal(c.exp[2].endpoint, "http://localhost:4318/v1/logs");
    assert_int_equal(c.exp[0].kind, OCELOT_EXPORTER_OTLP);
    assert_int_equal(c.exp[0].timeout_ms, 10000);
    assert_int_equal(c.propagators, OSDK_PROP_TRACECONTEXT | OSDK_PROP_BAGGAGE);
    assert_int_equal(c.n_warnings, 0);
    osdk_config_dispose(&c);
}

static void valid_values(void **st)
{
    (void)st;
    static const char *const env[] = {"OTEL_SDK_DISABLED",
                                      "TRUE",
                                      "OTEL_SERVICE_NAME",
                                      "checkout",
                                      "OTEL_RESOURCE_ATTRIBUTES",
                                      "deployment.environment=prod,team=a%20b",
                                      "OTEL_TRACES_SAMPLER",
                                      "parentbased_traceidratio",
                                      "OTEL_TRACES_SAMPLER_ARG",
                                      "0.25",
                                      "OTEL_PROPAGATORS",
                                      "tracecontext",
                                      "OTEL_BSP_MAX_QUEUE_SIZE",
                                      "100",
                                      "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                                      "10",
                                      "OTEL_BSP_SCHEDULE_DELAY",
                                      "0",
                                      "OTEL_BLRP_EXPORT_TIMEOUT",
                                      "777",
                                      "OTEL_EXPORTER_OTLP_ENDPOINT",
                                      "http://collector:4318/",
                                      "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
                                      "https://logs.example/custom/path",
                                      "OTEL_EXPORTER_OTLP_HEADERS",
                                      "api-key=secret,x=1",
                                      "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
                                      "gzip",
                                      "OTEL_EXPORTER_OTLP_TIMEOUT",
                                      "2500",
                                      "OTEL_METRICS_EXPORTER",
                                      "console",
                                      "OTEL_LOGS_EXPORTER",
                                      "none",
                                      "OTEL_ATTRIBUTE_COUNT_LIMIT",
                                      "10",
                                      "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
                                      "5",
                                      "OTEL_SPAN_EVENT_COUNT_LIMIT",
                                      "3",
                                      "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
                                      "delta",
                                      "OTEL_EXPORTER_OTLP_CERTIFICATE",
                                      "/etc/ca.pem",
                                      "OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE",
                                      "/etc/logs-ca.pem",
                                      "OTEL_EXPORTER_OTLP_CLIENT_KEY",
                                      "/etc/key.pem",
                                      "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
                                      "/etc/cert.pem",
                                      NULL};
    osdk_config_t c;
    load(&c, env);
    assert_int_equal(c.n_warnings, 0);
    assert_int_equal(c.disabled, 1);
    assert_string_equal(c.service_name, "checkout");
    assert_int_equal(c.sampler, OSDK_SAMPLER_PB_RATIO);
    assert_true(c.sampler_arg == 0.25);
    assert_int_equal(c.propagators, OSDK_PROP_TRACECONTEXT);
    assert_int_equal(c.bsp.max_queue, 100);
    assert_int_equal(c.bsp.max_batch, 10);
    assert_int_equal(c.bsp.delay_ms, 0);
    assert_int_equal(c.blrp.timeout_ms, 777);
    /* generic endpoint: v1/<signal> appended (no double slash) */
    assert_string_equal(c.exp[0].endpoint, "http://collector:4318/v1/traces");
    assert_string_equal(c.exp[1].endpoint, "http://collector:4318/v1/metrics");
    /* per-signal endpoint used as is */
    assert_string_equal(c.exp[2].endpoint, "https://logs.example/custom/path");
    assert_string_equal(c.exp[0].headers, "api-key=secret,x=1");
    assert_int_equal(c.exp[0].gzip, 1);
    assert_int_equal(c.exp[1].gzip, 0);
    assert_int_equal(c.exp[0].timeout_ms, 2500);
    assert_int_equal(c.exp[1].kind, OCELOT_EXPORTER_CONSOLE);
    assert_int_equal(c.exp[2].kind, OCELOT_EXPORTER_NONE);
    assert_int_equal(c.span_limits.attr_count, 10);
    assert_int_equal(c.log_limits.attr_count, 10);
    assert_int_equal(c.span_limits.value_len, 5);
    assert_int_equal(c.span_limits.event_count, 3);
    assert_int_equal(c.metric_delta, 1);
    assert_string_equal(c.exp[0].certificate, "/etc/ca.pem");
    assert_string_equal(c.exp[2].certificate, "/etc/logs-ca.pem");
    assert_string_equal(c.exp[1].client_key, "/etc/key.pem");
    assert_string_equal(c.exp[0].client_certificate, "/etc/cert.pem");
    assert_null(c.exp[1].client_certificate);
    osdk_config_dispose(&c);

    static const char *const env2[] = {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://h:1",
                                       "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:2", NULL};
    load(&c, env2);
    assert_string_equal(c.exp[0].endpoint, "http://t:2");
    assert_string_equal(c.exp[2].endpoint, "http://h:1/v1/logs");
    osdk_config_dispose(&c);
}

static void invalid_values(void **st)
{
    (void)st;
    static const char *const env[] = {"OTEL_SDK_DISABLED",
                                      "yes",
                                      "OTEL_TRACES_SAMPLER",
                                      "jaeger_remote",
                                      "OTEL_BSP_MAX_QUEUE_SIZE",
                                      "-5",
                                      "OTEL_BSP_SCHEDULE_DELAY",
                                      "5s",
                                      "OTEL_BSP_EXPORT_TIMEOUT",
                                      "99999999999",
                                      "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE",
                                      "0",
                                      "OTEL_EXPORTER_OTLP_ENDPOINT",
                                      "collector:4318",
                                      "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                                      "ftp://x",
                                      "OTEL_EXPORTER_OTLP_COMPRESSION",
                                      "zstd",
                                      "OTEL_TRACES_EXPORTER",
                                      "zipkin",
                                      "OTEL_EXPORTER_OTLP_HEADERS",
                                      "novalue",
                                      "OTEL_ATTRIBUTE_COUNT_LIMIT",
                                      "many",
                                      "OTEL_PROPAGATORS",
                                      "b3",
                                      "OTEL_METRIC_EXPORT_INTERVAL",
                                      "0",
                                      "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
                                      "sideways",
                                      NULL};
    osdk_config_t c;
    load(&c, env);
    assert_int_equal(c.n_warnings, 15);
    assert_int_equal(c.disabled, 0);
    assert_int_equal(c.sampler, OSDK_SAMPLER_PB_ALWAYS_ON);
    assert_int_equal(c.bsp.max_queue, 2048);
    assert_int_equal(c.bsp.delay_ms, 5000);
    assert_int_equal(c.bsp.timeout_ms, 30000);
    assert_int_equal(c.blrp.max_batch, 512);
    assert_string_equal(c.exp[0].endpoint, "http://localhost:4318/v1/traces");
    assert_int_equal(c.exp[0].gzip, 0);
    assert_int_equal(c.exp[0].kind, OCELOT_EXPORTER_OTLP);
    assert_null(c.exp[0].headers);
    assert_int_equal(c.span_limits.attr_count, 128);
    assert_int_equal(c.metric_interval_ms, 60000);
    assert_int_equal(c.metric_delta, 0);
    osdk_config_dispose(&c);

    /* batch larger than queue: clamped with a warning; ratio out of range */
    static const char *const env2[] = {"OTEL_BSP_MAX_QUEUE_SIZE",
                                       "64",
                                       "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                                       "512",
                                       "OTEL_TRACES_SAMPLER",
                                       "traceidratio",
                                       "OTEL_TRACES_SAMPLER_ARG",
                                       "1.5",
                                       NULL};
    load(&c, env2);
    assert_int_equal(c.n_warnings, 2);
    assert_int_equal(c.bsp.max_batch, 64);
    assert_true(c.sampler_arg == 1.0);
    osdk_config_dispose(&c);

    /* empty values are unset, not invalid */
    static const char *const env3[] = {"OTEL_BSP_MAX_QUEUE_SIZE", "", "OTEL_SERVICE_NAME", "",
                                       NULL};
    load(&c, env3);
    assert_int_equal(c.n_warnings, 0);
    assert_null(c.service_name);
    osdk_config_dispose(&c);
}

static void tid_low(uint8_t t[16], uint64_t low)
{
    memset(t, 0xab, 8);
    for (int i = 0; i < 8; i++)
        t[15 - i] = (uint8_t)(low >> (8 * i));
}

static void samplers(void **st)
{
    (void)st;
    uint8_t t[16];
    /* ratio: decided by the low 8 bytes only; threshold ratio * 2^63 on x >> 1 */
    tid_low(t, 0);
    assert_int_equal(osdk_ratio_sample(0.5, t), 1);
    tid_low(t, 0x7fffffffffffffffull);
    assert_int_equal(osdk_ratio_sample(0.5, t), 1); /* (x>>1) = 2^62-1 < 2^62 */
    tid_low(t, 0x8000000000000000ull);
    assert_int_equal(osdk_ratio_sample(0.5, t), 0); /* 2^62 not < 2^62 */
    tid_low(t, UINT64_MAX);
    assert_int_equal(osdk_ratio_sample(0.999, t), 0);
    assert_int_equal(osdk_ratio_sample(1.0, t), 1);
    tid_low(t, 0);
    assert_int_equal(osdk_ratio_sample(0.0, t), 0);
    /* the high bytes do not matter */
    tid_low(t, 0x1000);
    int a = osdk_ratio_sample(0.01, t);
    memset(t, 0x00, 8);
    assert_int_equal(osdk_ratio_sample(0.01, t), a);
    /* deterministic and close to the ratio over many ids */
    int hits = 0;
    uint64_t x = 12345;
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        tid_low(t, x);
        int d = osdk_ratio_sample(0.3, t);
        assert_int_equal(d, osdk_ratio_sample(0.3, t));
        hits += d;
    }
    assert_true(hits > 29000 && hits < 31000);

    /* parent based: the four delegate cases, for every root sampler */
    int pbs[] = {OSDK_SAMPLER_PB_ALWAYS_ON, OSDK_SAMPLER_PB_ALWAYS_OFF, OSDK_SAMPLER_PB_RATIO};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(osdk_sample(pbs[i], 0.0, 1, 1, 1, t), 1); /* remote sampled */
        assert_int_equal(osdk_sample(pbs[i], 1.0, 1, 0, 1, t), 0); /* remote not sampled */
        assert_int_equal(osdk_sample(pbs[i], 0.0, 1, 1, 0, t), 1); /* local sampled */
        assert_int_equal(osdk_sample(pbs[i], 1.0, 1, 0, 0, t), 0); /* local not sampled */
    }
    /* roots use the root sampler */
    assert_int_equal(osdk_sample(OSDK_SAMPLER_PB_ALWAYS_ON, 0, 0, 0, 0, t), 1);
    assert_int_equal(osdk_sample(OSDK_SAMPLER_PB_ALWAYS_OFF, 0, 0, 0, 0, t), 0);
    tid_low(t, 0);
    assert_int_equal(osdk_sample(OSDK_SAMPLER_PB_RATIO, 0.5, 0, 0, 0, t), 1);
    tid_low(t, UINT64_MAX);
    assert_int_equal(osdk_sample(OSDK_SAMPLER_PB_RATIO, 0.5, 0, 0, 0, t), 0);
    /* non parent-based samplers ignore the parent */
    assert_int_equal(osdk_sample(OSDK_SAMPLER_ALWAYS_ON, 0, 1, 0, 1, t), 1);
    assert_int_equal(osdk_sample(OSDK_SAMPLER_ALWAYS_OFF, 0, 1, 1, 1, t), 0);
    assert_int_equal(osdk_sample(OSDK_SAMPLER_RATIO, 0.5, 1, 1, 0, t), 0);
}

static void retry_rules(void **st)
{
    (void)st;
    static const struct {
        long status;
        int transport;
        int want;
    } t[] = {
        {200, 0, OSDK_RETRY_OK},  {202, 0, OSDK_RETRY_OK},  {204, 0, OSDK_RETRY_OK},
        {429, 0, OSDK_RETRY_YES}, {502, 0, OSDK_RETRY_YES}, {503, 0, OSDK_RETRY_YES},
        {504, 0, OSDK_RETRY_YES}, {0, 1, OSDK_RETRY_YES},   {400, 0, OSDK_RETRY_NO},
        {401, 0, OSDK_RETRY_NO},  {403, 0, OSDK_RETRY_NO},  {404, 0, OSDK_RETRY_NO},
        {408, 0, OSDK_RETRY_NO},  {413, 0, OSDK_RETRY_NO},  {500, 0, OSDK_RETRY_NO},
        {501, 0, OSDK_RETRY_NO},  {505, 0, OSDK_RETRY_NO},  {301, 0, OSDK_RETRY_NO},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (osdk_retry_decide(t[i].status, t[i].transport) != t[i].want)
            fail_msg("status %ld", t[i].status);
    time_t now = 1700000000;
    assert_int_equal(osdk_parse_retry_after(" 7\r\n", 4, now), 7);
    assert_int_equal(osdk_parse_retry_after("0", 1, now), 0);
    assert_int_equal(osdk_parse_retry_after("-1", 2, now), -1);
    assert_int_equal(osdk_parse_retry_after("abc", 3, now), -1);
    assert_int_equal(osdk_parse_retry_after("", 0, now), -1);
    /* HTTP-date: Tue, 14 Nov 2023 22:13:40 GMT is 1700000020 */
    const char *d = "Tue, 14 Nov 2023 22:13:40 GMT";
    assert_int_equal(osdk_parse_retry_after(d, strlen(d), now), 20);
    const char *past = "Tue, 14 Nov 2023 22:00:00 GMT";
    assert_int_equal(osdk_parse_retry_after(past, strlen(past), now), 0);
}

static void partial_success(void **st)
{
    (void)st;
    /* ExportTraceServiceResponse { partial_success(1) { rejected_spans(1)=3, error_message(2)="bad"
     * } } */
    const uint8_t body[] = {0x0a, 0x07, 0x08, 0x03, 0x12, 0x03, 'b', 'a', 'd'};
    int64_t rej;
    const char *msg;
    size_t mn;
    assert_int_equal(osdk_parse_partial_success(body, sizeof body, &rej, &msg, &mn), 0);
    assert_int_equal(rej, 3);
    assert_int_equal(mn, 3);
    assert_memory_equal(msg, "bad", 3);
    assert_int_equal(osdk_parse_partial_success(body, 0, &rej, &msg, &mn), 0);
    assert_int_equal(rej, 0);
    const uint8_t trunc[] = {0x0a, 0x09, 0x08};
    assert_int_equal(osdk_parse_partial_success(trunc, sizeof trunc, &rej, &msg, &mn), -1);
}

static int fail_after; /* allocation budget for the pbwire test */
static void *budget_realloc(void *ud, void *p, size_t n)
{
    (void)ud;
    if (n == 0) {
        free(p);
        return NULL;
    }
    if (fail_after-- <= 0) return NULL;
    return realloc(p, n);
}

static void pbwire(void **st)
{
    (void)st;
    pbw_buf_t b;
    fail_after = 100;
    pbw_init(&b, budget_realloc, NULL);
    pbw_uint(&b, 1, 150);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.p, "\x08\x96\x01", 3);
    pbw_reset(&b);
    pbw_int32(&b, 2, -1);
    assert_int_equal(b.len, 11);
    pbw_reset(&b);
    assert_int_equal(pbw_zigzag64(-1), 1);
    assert_int_equal(pbw_zigzag32(1), 2);
    pbw_fixed64(&b, 3, 0x0102030405060708ull);
    assert_memory_equal(b.p, "\x19\x08\x07\x06\x05\x04\x03\x02\x01", 9);
    pbw_reset(&b);
    /* a sub-message whose length needs 2 bytes while 1 was guessed */
    size_t s = pbw_msg_begin(&b, 4, 1);
    char big[200];
    memset(big, 'x', sizeof big);
    pbw_bytes(&b, 1, big, sizeof big);
    pbw_msg_end(&b, s, 1);
    assert_int_equal(b.len, 1 + 2 + 3 + 200);
    assert_memory_equal(b.p, "\x22\xcb\x01\x0a\xc8\x01", 6);
    pbw_reader_t r;
    pbw_reader_init(&r, b.p, b.len);
    uint32_t f, wt;
    const uint8_t *p;
    size_t n;
    assert_int_equal(pbw_read_tag(&r, &f, &wt), 0);
    assert_int_equal(f, 4);
    assert_int_equal(pbw_read_bytes(&r, &p, &n), 0);
    assert_int_equal(n, 203);
    /* a guess too large shrinks */
    pbw_reset(&b);
    s = pbw_msg_begin(&b, 5, 3);
    pbw_uint(&b, 1, 1);
    pbw_msg_end(&b, s, 3);
    assert_memory_equal(b.p, "\x2a\x02\x08\x01", 4);
    assert_int_equal(b.len, 4);
    pbw_free(&b);
    /* allocation failure is sticky, never fatal */
    fail_after = 0;
    pbw_init(&b, budget_realloc, NULL);
    pbw_bytes(&b, 1, big, sizeof big);
    pbw_uint(&b, 1, 1);
    assert_int_equal(b.err, 1);
    assert_int_equal(b.len, 0);
    pbw_free(&b);
    /* overlong varint rejected */
    const uint8_t bad[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    uint64_t v;
    pbw_reader_init(&r, bad, sizeof bad);
    assert_int_equal(pbw_read_varint(&r, &v), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),       cmocka_unit_test(valid_values),
        cmocka_unit_test(invalid_values), cmocka_unit_test(samplers),
        cmocka_unit_test(retry_rules),    cmocka_unit_test(partial_success),
        cmocka_unit_test(pbwire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
