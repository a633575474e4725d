/*
 * test_config.c — core/config: defaults, the YAML file (full layout,
 * collector spellings, units, ranges, unknown keys with lines, sections
 * rejected as not supported yet, malformed YAML), the shared setter and
 * the value round trip that `ocelot check` prints.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/config.h"
#include "core/log.h"

#define MIB (1ull << 20)
#define DAY_MS (86400ull * 1000)

static char err[512];

static int parse(const char *yaml, ocl_config_t *cfg)
{
    ocl_config_defaults(cfg);
    err[0] = 0;
    return ocl_config_parse(yaml, strlen(yaml), "config.yaml", cfg, err, sizeof err);
}

/* Parses yaml expecting failure rc with `want` in the message. */
static void expect_error(const char *yaml, int rc, const char *want)
{
    ocl_config_t cfg;
    int got = parse(yaml, &cfg);
    if (got != rc || !strstr(err, want)) {
        print_error("yaml:\n%s\nrc %d (want %d), err \"%s\" (want \"%s\")\n", yaml, got, rc, err,
                    want);
        fail();
    }
}

static void test_defaults(void **state)
{
    (void)state;
    ocl_config_t cfg;
    ocl_config_defaults(&cfg);
    assert_string_equal(cfg.otlp_grpc_endpoint, "127.0.0.1:4317");
    assert_string_equal(cfg.otlp_http_endpoint, "127.0.0.1:4318");
    assert_string_equal(cfg.http_endpoint, "127.0.0.1:3000");
    assert_string_equal(cfg.data_dir, "./ocelot-data");
    assert_int_equal(cfg.workers, 0);
    assert_int_equal(cfg.fsync, OCL_CONFIG_FSYNC_INTERVAL);
    assert_int_equal(cfg.fsync_interval_ms, 100);
    assert_int_equal(cfg.trace_retention_ms, 7 * DAY_MS);
    assert_int_equal(cfg.wal_retention_ms, 7 * DAY_MS);
    assert_int_equal(cfg.max_memory_bytes, 256 * MIB);
    assert_int_equal(cfg.max_body_bytes, 20 * MIB);
    assert_int_equal(cfg.max_grpc_msg_bytes, 4 * MIB);
    assert_int_equal(cfg.log_level, OCL_LOG_INFO);
}

static void test_empty_file_is_defaults(void **state)
{
    (void)state;
    const char *empties[] = {"", "\n\n", "# only a comment\n", "---\n", "~\n", "---\n...\n"};
    ocl_config_t def, cfg;
    ocl_config_defaults(&def);
    for (size_t i = 0; i < OCL_ARRAY_LEN(empties); i++) {
        assert_int_equal(parse(empties[i], &cfg), 0);
        assert_memory_equal(&cfg, &def, sizeof cfg);
    }
}

static const char *full_yaml =
    "# every setting, ocelot spellings\n"
    "receivers:\n"
    "  otlp:\n"
    "    protocols:\n"
    "      grpc: {endpoint: 127.0.0.1:14317, max_recv_msg_size: 8MiB}\n"
    "      http:\n"
    "        endpoint: \"0.0.0.0:14318\"\n"
    "        max_request_body_size: 1GiB\n"
    "processors:\n"
    "  batch:\n"
    "exporters:\n"
    "  store: {}\n"
    "server:\n"
    "  http: {endpoint: 'localhost:13000'}\n"
    "  workers: 3\n"
    "storage:\n"
    "  path: /var/lib/ocelot\n"
    "  wal: {fsync: always, fsync_interval: 250ms}\n"
    "  traces: {retention: 2d}\n"
    "  wal_retention: 12h\n"
    "memory_limiter: {limit: 1GiB}\n"
    "log: {level: debug}\n"
    "service:\n"
    "  pipelines:\n"
    "    traces: {receivers: [otlp], processors: [memory_limiter, batch], exporters: [store]}\n"
    "    metrics:\n"
    "      receivers: [otlp]\n"
    "      exporters: [store]\n"
    "    logs: {receivers: [otlp], processors: [], exporters: [store]}\n";

static void test_full_file(void **state)
{
    (void)state;
    ocl_config_t cfg;
    assert_int_equal(parse(full_yaml, &cfg), 0);
    assert_string_equal(cfg.otlp_grpc_endpoint, "127.0.0.1:14317");
    assert_string_equal(cfg.otlp_http_endpoint, "0.0.0.0:14318");
    assert_string_equal(cfg.http_endpoint, "localhost:13000");
    assert_string_equal(cfg.data_dir, "/var/lib/ocelot");
    assert_int_equal(cfg.workers, 3);
    assert_int_equal(cfg.fsync, OCL_CONFIG_FSYNC_ALWAYS);
    assert_int_equal(cfg.fsync_interval_ms, 250);
    assert_int_equal(cfg.trace_retention_ms, 2 * DAY_MS);
    assert_int_equal(cfg.wal_retention_ms, 12 * 3600 * 1000ull);
    assert_int_equal(cfg.max_memory_bytes, 1024 * MIB);
    assert_int_equal(cfg.max_body_bytes, 1024 * MIB);
    assert_int_equal(cfg.max_grpc_msg_bytes, 8 * MIB);
    assert_int_equal(cfg.log_level, OCL_LOG_DEBUG);
}

static void test_collector_spellings(void **state)
{
    (void)state;
    ocl_config_t cfg;
    const char *y = "receivers:\n"
                    "  otlp:\n"
                    "    protocols:\n"
                    "      grpc:\n"
                    "        endpoint: 127.0.0.1:4317\n"
                    "        max_recv_msg_size_mib: 16\n"
                    "      http:\n"
                    "        endpoint: 127.0.0.1:4318\n"
                    "        max_request_body_size: 10485760\n"
                    "processors:\n"
                    "  memory_limiter:\n"
                    "    limit_mib: 512\n"
                    "  batch:\n"
                    "exporters:\n"
                    "  store:\n"
                    "service:\n"
                    "  pipelines:\n"
                    "    traces:\n"
                    "      receivers: [otlp]\n"
                    "      processors: [memory_limiter, batch]\n"
                    "      exporters: [store]\n"
                    "    metrics:\n"
                    "      receivers: [otlp]\n"
                    "      processors: [memory_limiter, batch]\n"
                    "      exporters: [store]\n"
                    "    logs:\n"
                    "      receivers: [otlp]\n"
                    "      processors: [memory_limiter, batch]\n"
                    "      exporters: [store]\n";
    assert_int_equal(parse(y, &cfg), 0);
    assert_int_equal(cfg.max_grpc_msg_bytes, 16 * MIB);
    assert_int_equal(cfg.max_body_bytes, 10 * MIB);
    assert_int_equal(cfg.max_memory_bytes, 512 * MIB);
    /* Null protocol sections keep the defaults, as in the collector. */
    assert_int_equal(parse("receivers:\n  otlp:\n    protocols:\n      grpc:\n      http:\n", &cfg),
                     0);
    assert_string_equal(cfg.otlp_grpc_endpoint, "127.0.0.1:4317");
    /* The same setting under both spellings is refused, whatever the order. */
    expect_error("processors: {memory_limiter: {limit_mib: 100}}\nmemory_limiter: {limit: 1GiB}\n",
                 OCL_EINVAL,
                 "config.yaml:2: memory_limiter.limit and "
                 "processors.memory_limiter.limit_mib (line 1) set the same thing");
    expect_error("receivers:\n  otlp:\n    protocols:\n"
                 "      grpc: {max_recv_msg_size: 1MiB, max_recv_msg_size_mib: 1}\n      http:\n",
                 OCL_EINVAL, "config.yaml:4: receivers.otlp.protocols.grpc.max_recv_msg_size_mib");
    /* Fractional MiB. */
    assert_int_equal(parse("processors: {memory_limiter: {limit_mib: 1.5}}\n", &cfg), 0);
    assert_int_equal(cfg.max_memory_bytes, 3 * MIB / 2);
}

static void test_units(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        uint64_t ms;
    } d[] = {{"100ms", 100},
             {"5s", 5000},
             {"5", 5000},
             {"2m", 120000},
             {"3h", 10800000},
             {"7d", 7 * DAY_MS},
             {"1w", 7 * DAY_MS},
             {"1.5s", 1500},
             {"0.5m", 30000},
             {"0ms", 0},
             {"36500d", 36500 * DAY_MS}};
    static const char *bad_d[] = {
        "",     "s",   "5x",  "-1s", "+1s",  " 5s", "5 s",   "1e3s",
        "0x10", "inf", "nan", "5S",  "5sec", ".",   "1..2s", "99999999999999999999w"};
    for (size_t i = 0; i < OCL_ARRAY_LEN(d); i++) {
        uint64_t v = 1;
        assert_int_equal(ocl_config_parse_duration_ms(d[i].s, &v), 0);
        assert_int_equal(v, d[i].ms);
    }
    for (size_t i = 0; i < OCL_ARRAY_LEN(bad_d); i++) {
        uint64_t v;
        if (ocl_config_parse_duration_ms(bad_d[i], &v) != OCL_EINVAL) {
            print_error("duration \"%s\" accepted\n", bad_d[i]);
            fail();
        }
    }
    static const struct {
        const char *s;
        uint64_t b;
    } b[] = {{"512", 512},        {"512B", 512},       {"512k", 512 << 10},  {"2KiB", 2048},
             {"2kb", 2048},       {"64MiB", 64 * MIB}, {"64m", 64 * MIB},    {"64MB", 64 * MIB},
             {"1GB", 1024 * MIB}, {"1g", 1024 * MIB},  {"2GiB", 2048 * MIB}, {"1.5k", 1536}};
    static const char *bad_b[] = {
        "", "MiB", "5TB", "-5", "5 MiB", "1e6", "5b", "0x1000", "99999999999999999999"};
    for (size_t i = 0; i < OCL_ARRAY_LEN(b); i++) {
        uint64_t v = 1;
        assert_int_equal(ocl_config_parse_bytes(b[i].s, &v), 0);
        assert_int_equal(v, b[i].b);
    }
    for (size_t i = 0; i < OCL_ARRAY_LEN(bad_b); i++) {
        uint64_t v;
        if (ocl_config_parse_bytes(bad_b[i], &v) != OCL_EINVAL) {
            print_error("size \"%s\" accepted\n", bad_b[i]);
            fail();
        }
    }
    /* The same units through the file. */
    ocl_config_t cfg;
    assert_int_equal(parse("storage: {wal: {fsync_interval: 1m}, traces: {retention: 1w},"
                           " wal_retention: 36h}\nmemory_limiter: {limit: 2g}\n",
                           &cfg),
                     0);
    assert_int_equal(cfg.fsync_interval_ms, 60000);
    assert_int_equal(cfg.trace_retention_ms, 7 * DAY_MS);
    assert_int_equal(cfg.wal_retention_ms, 36 * 3600 * 1000ull);
    assert_int_equal(cfg.max_memory_bytes, 2048 * MIB);
}

static void test_out_of_range(void **state)
{
    (void)state;
    expect_error("storage:\n  wal:\n    fsync_interval: 0ms\n", OCL_EINVAL,
                 "config.yaml:3: invalid value \"0ms\" for storage.wal.fsync_interval: expected a "
                 "duration from 1ms to 60s");
    expect_error("storage: {wal: {fsync_interval: 61s}}\n", OCL_EINVAL, "fsync_interval");
    expect_error("storage: {traces: {retention: 999ms}}\n", OCL_EINVAL, "storage.traces.retention");
    expect_error("storage: {wal_retention: 36501d}\n", OCL_EINVAL, "storage.wal_retention");
    expect_error("server: {workers: 257}\n", OCL_EINVAL, "server.workers");
    expect_error("server: {workers: -1}\n", OCL_EINVAL, "server.workers");
    expect_error("server: {workers: four}\n", OCL_EINVAL, "server.workers");
    expect_error("memory_limiter: {limit: 1023KiB}\n", OCL_EINVAL, "memory_limiter.limit");
    expect_error("processors: {memory_limiter: {limit_mib: 0}}\n", OCL_EINVAL,
                 "processors.memory_limiter.limit_mib");
    expect_error("receivers: {otlp: {protocols: {grpc: {max_recv_msg_size: 1023}}, http: }}\n",
                 OCL_EINVAL, "config.yaml:1: invalid value \"1023\"");
    expect_error("receivers: {otlp: {protocols: {grpc: , http: {max_request_body_size: 10}}}}\n",
                 OCL_EINVAL, "max_request_body_size");
    expect_error("storage: {wal: {fsync: sometimes}}\n", OCL_EINVAL,
                 "expected always, interval or never");
    expect_error("log: {level: verbose}\n", OCL_EINVAL, "log.level");
    expect_error("storage: {path: \"\"}\n", OCL_EINVAL, "storage.path");
    expect_error("server: {http: {endpoint: 127.0.0.1:65536}}\n", OCL_EINVAL,
                 "server.http.endpoint");
    expect_error("server: {http: {endpoint: example.com:80}}\n", OCL_EINVAL, "endpoint");
    expect_error("server: {http: {endpoint: 4317}}\n", OCL_EINVAL, "endpoint");
    expect_error("server: {http: {endpoint: }}\n", OCL_EINVAL,
                 "config.yaml:1: server.http.endpoint needs a value");
    expect_error("server: {workers: [1]}\n", OCL_EINVAL, "server.workers needs a value");
    /* Accepted edges. */
    ocl_config_t cfg;
    assert_int_equal(parse("server: {http: {endpoint: \"[::1]:0\"}, workers: 256}\n"
                           "storage: {wal: {fsync_interval: 60s}}\n"
                           "receivers: {otlp: {protocols: {grpc: {endpoint: \":0\"}, http: }}}\n",
                           &cfg),
                     0);
    assert_string_equal(cfg.http_endpoint, "[::1]:0");
    assert_string_equal(cfg.otlp_grpc_endpoint, ":0");
}

static void test_unknown_keys_with_line(void **state)
{
    (void)state;
    expect_error("receivers:\n  otlp:\n    protocols:\n      grpc:\n      http:\n\n\n\n"
                 "\n\n\n    foo: 1\n",
                 OCL_EINVAL, "config.yaml:12: unknown key \"foo\" in receivers.otlp");
    expect_error("# c\nstorage: {path: x}\nbogus: 1\n", OCL_EINVAL,
                 "config.yaml:3: unknown key \"bogus\" at the top level");
    expect_error("storage:\n  wal:\n    fsync: never\n    fsnyc_interval: 1s\n", OCL_EINVAL,
                 "config.yaml:4: unknown key \"fsnyc_interval\" in storage.wal");
    expect_error("exporters:\n  store:\n    path: x\n", OCL_EINVAL,
                 "config.yaml:3: unknown key \"path\" in exporters.store");
    expect_error("log:\n  level: info\n  level: debug\n", OCL_EINVAL,
                 "config.yaml:3: log.level is given twice");
    expect_error("storage: [a, b]\n", OCL_EINVAL, "config.yaml:1: storage must be a mapping");
    expect_error("- a\n- b\n", OCL_EINVAL, "config.yaml:1: the top level must be a mapping");
    expect_error("hello\n", OCL_EINVAL, "config.yaml:1: the top level must be a mapping");
    expect_error("? [a]\n: 1\n", OCL_EINVAL, "keys in the top level must be plain strings");
    /* Control characters in keys do not break the one-line message. */
    expect_error("\"a\\nb\": 1\n", OCL_EINVAL, "unknown key \"a?b\"");
}

static void test_not_supported_yet(void **state)
{
    (void)state;
    static const struct {
        const char *yaml;
        const char *want;
    } t[] = {
        {"rules:\n  - groups: []\n", "config.yaml:1: rules is not supported yet"},
        {"scrape_configs:\n  - job_name: a\n    relabel_configs: []\n",
         "config.yaml:3: scrape_configs[0].relabel_configs is not supported yet"},
        {"extensions: {health_check: {}}\n", "extensions is not supported yet"},
        {"connectors: {spanmetrics: {}}\n", "connectors is not supported yet"},
        {"exporters:\n  store:\n  otlp:\n    endpoint: x:4317\n",
         "config.yaml:3: exporters.otlp is not supported yet"},
        {"exporters: {debug: {}}\n", "exporters.debug is not supported yet"},
        {"processors:\n  attributes: {}\n",
         "config.yaml:2: processors.attributes is not supported yet"},
        {"processors: {batch: {timeout: 1s}}\n", "processors.batch.timeout is not supported yet"},
        {"processors: {memory_limiter: {check_interval: 1s}}\n",
         "processors.memory_limiter.check_interval is not supported yet"},
        {"receivers: {prometheus: {}}\n", "receivers.prometheus is not supported yet"},
        {"receivers: {otlp: {protocols: {grpc: {tls: {}}, http: }}}\n",
         "receivers.otlp.protocols.grpc.tls is not supported yet"},
        {"receivers: {otlp: {protocols: {grpc: , http: {cors: {}}}}}\n",
         "receivers.otlp.protocols.http.cors is not supported yet"},
        {"receivers: {otlp: {protocols: {grpc: }}}\n",
         "turning off the http protocol is not supported yet"},
        {"receivers: {otlp: {protocols: {grpc: , http: , websocket: }}}\n",
         "receivers.otlp.protocols.websocket is not supported yet"},
        {"service:\n  pipelines:\n    traces: {receivers: [otlp], exporters: [store]}\n",
         "config.yaml:3: service.pipelines has no metrics pipeline: turning a signal off is not "
         "supported yet"},
        {"service:\n  pipelines:\n    traces/2: {receivers: [otlp], exporters: [store]}\n",
         "service.pipelines.traces/2 is not supported yet"},
        {"service:\n  pipelines:\n    traces:\n      receivers: [otlp, jaeger]\n",
         "config.yaml:4: service.pipelines.traces.receivers: receiver \"jaeger\" is not supported "
         "yet"},
        {"service: {pipelines: {logs: {receivers: [otlp], exporters: [store, otlphttp]}}}\n",
         "exporter \"otlphttp\" is not supported yet"},
        {"service: {pipelines: {logs: {receivers: [otlp], processors: [filter], "
         "exporters: [store]}}}\n",
         "processor \"filter\" is not supported yet"},
        {"service: {telemetry: {logs: {level: debug}}}\n",
         "service.telemetry is not supported yet"},
        {"storage: {logs: {retention: 1d}}\n", "storage.logs is not supported yet"},
    };
    for (size_t i = 0; i < OCL_ARRAY_LEN(t); i++)
        expect_error(t[i].yaml, OCL_EUNSUPP, t[i].want);
    /* Malformed pipelines are plain errors. */
    expect_error("service: {pipelines: {traces: {exporters: [store]}}}\n", OCL_EINVAL,
                 "service.pipelines.traces needs receivers: [otlp]");
    expect_error("service: {pipelines: {traces: {receivers: [otlp]}}}\n", OCL_EINVAL,
                 "needs exporters: [store]");
    expect_error("service: {pipelines: {traces: {receivers: otlp, exporters: [store]}}}\n",
                 OCL_EINVAL, "service.pipelines.traces.receivers must be a list");
    expect_error("service: {pipelines: {traces: {receivers: [otlp, otlp], exporters: [store]}}}\n",
                 OCL_EINVAL, "lists \"otlp\" twice");
}

static void test_malformed_yaml(void **state)
{
    (void)state;
    expect_error("storage:\n\tpath: x\n", OCL_EINVAL,
                 "config.yaml:2: YAML syntax error: found character that cannot start any token");
    expect_error("storage:\n\tpath: x\n", OCL_EINVAL, "tabs cannot indent YAML");
    expect_error("log:\n  level: \"info\n\n", OCL_EINVAL,
                 "while scanning a quoted scalar at line 2");
    expect_error("log: {level: info\n", OCL_EINVAL, "config.yaml:2: YAML syntax error");
    expect_error("a: b: c\n", OCL_EINVAL, "config.yaml:1: YAML syntax error");
    expect_error("log: &x {level: info}\nstorage: *x\n", OCL_EINVAL,
                 "config.yaml:2: YAML aliases (*name) are not supported");
    expect_error("log: {level: info}\n---\nlog: {level: info}\n", OCL_EINVAL,
                 "config.yaml:2: more than one YAML document");
    expect_error("log: {level: \"in\\0fo\"}\n", OCL_EINVAL, "NUL character");
    /* Deep nesting is bounded. */
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    ocl_config_t cfg;
    ocl_config_defaults(&cfg);
    assert_int_equal(ocl_config_parse(deep, sizeof deep, "d", &cfg, err, sizeof err), OCL_EINVAL);
    assert_non_null(strstr(err, "nesting deeper than 32 levels"));
    /* Invalid UTF-8 is a reader error with a line. */
    expect_error("log:\n  level: \xff\xfe\n", OCL_EINVAL, "config.yaml:2: YAML syntax error");
    /* Too big. */
    assert_int_equal(ocl_config_parse("", (4u << 20) + 1, "big", &cfg, err, sizeof err),
                     OCL_ETOOBIG);
    /* A tiny error buffer is safe and still terminated. */
    char small[8];
    assert_int_equal(ocl_config_parse("x: 1", 4, "config.yaml", &cfg, small, sizeof small),
                     OCL_EINVAL);
    assert_string_equal(small, "config.");
}

static void test_setter_and_round_trip(void **state)
{
    (void)state;
    ocl_config_t cfg, back;
    char v[4096];
    assert_int_equal(ocl_config_set(&cfg, "no.such.key", "1"), OCL_ENOTFOUND);
    ocl_config_defaults(&cfg);
    ocl_config_t before = cfg;
    assert_int_equal(ocl_config_set(&cfg, "storage.wal.fsync_interval", "0"), OCL_EINVAL);
    assert_memory_equal(&cfg, &before, sizeof cfg); /* unchanged on error */
    /* Metrics storage and remote-write limits (ADR 0005). */
    assert_int_equal(parse("storage: {metrics: {retention: 30d, retention_size: 1GiB, "
                           "max_series_per_tenant: 5000}}\n"
                           "limits: {max_label_name_length: 100, max_label_value_length: 200, "
                           "max_label_names_per_series: 10}\n"
                           "receivers: {prometheusremotewrite: {max_request_body_size: 1MiB}}\n",
                           &cfg),
                     0);
    assert_true(cfg.metrics_retention_ms == 30ull * 86400000);
    assert_true(cfg.metrics_retention_bytes == 1ull << 30);
    assert_true(cfg.metrics_max_series == 5000);
    assert_true(cfg.max_label_name_len == 100 && cfg.max_label_value_len == 200);
    assert_true(cfg.max_labels_per_series == 10 && cfg.rw_max_bytes == 1ull << 20);
    assert_int_equal(ocl_config_set(&cfg, "storage.metrics.max_series_per_tenant", "0"),
                     OCL_EINVAL);
    assert_int_equal(ocl_config_set(&cfg, "limits.max_label_names_per_series", "x"), OCL_EINVAL);
    assert_int_equal(parse(full_yaml, &cfg), 0);
    assert_int_equal(ocl_config_set(&cfg, "storage.traces.retention", "90m"), 0);
    assert_int_equal(
        ocl_config_set(&cfg, "receivers.otlp.protocols.http.max_request_body_size", "1025"), 0);
    /* Every printed value reads back to the same setting. */
    ocl_config_defaults(&back);
    assert_int_equal(ocl_config_count(), 20);
    for (size_t i = 0; i < ocl_config_count(); i++) {
        assert_non_null(ocl_config_help(i));
        ocl_config_value(&cfg, i, v, sizeof v);
        assert_int_equal(ocl_config_set(&back, ocl_config_key(i), v), 0);
    }
    assert_memory_equal(&cfg, &back, sizeof cfg);
    ocl_config_value(&cfg, 9, v, sizeof v);
    assert_string_equal(ocl_config_key(9), "storage.traces.retention");
    assert_string_equal(v, "90m");
    assert_null(ocl_config_key(20));
    /* ocl_config_print: one "key: value" line per setting. */
    char *out = NULL;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    ocl_config_defaults(&cfg);
    ocl_config_print(&cfg, f);
    fclose(f);
    assert_non_null(strstr(out, "storage.wal.fsync_interval: 100ms\n"));
    assert_non_null(strstr(out, "storage.traces.retention: 7d\n"));
    assert_non_null(strstr(out, "memory_limiter.limit: 256MiB\n"));
    assert_non_null(strstr(out, "storage.metrics.retention: 15d\n"));
    assert_non_null(strstr(out, "storage.metrics.max_series_per_tenant: 1000000\n"));
    assert_non_null(strstr(out, "receivers.otlp.protocols.grpc.endpoint: 127.0.0.1:4317\n"));
    size_t lines = 0;
    for (char *p = out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 20);
    free(out);
}

static void test_load_file(void **state)
{
    (void)state;
    char path[] = "/tmp/ocl-test-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("log: {level: warn}\nstorage:\n  bad: 1\n", f);
    fclose(f);
    ocl_config_t cfg;
    ocl_config_defaults(&cfg);
    assert_int_equal(ocl_config_load(path, &cfg, err, sizeof err), OCL_EINVAL);
    char want[128];
    snprintf(want, sizeof want, "%s:3: unknown key \"bad\" in storage", path);
    assert_string_equal(err, want);
    f = fopen(path, "w");
    fputs("log: {level: warn}\n", f);
    fclose(f);
    assert_int_equal(ocl_config_load(path, &cfg, err, sizeof err), 0);
    assert_int_equal(cfg.log_level, OCL_LOG_WARN);
    unlink(path);
    assert_int_equal(ocl_config_load(path, &cfg, err, sizeof err), OCL_EIO);
    assert_non_null(strstr(err, "cannot open"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_empty_file_is_defaults),
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_collector_spellings),
        cmocka_unit_test(test_units),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_unknown_keys_with_line),
        cmocka_unit_test(test_not_supported_yet),
        cmocka_unit_test(test_malformed_yaml),
        cmocka_unit_test(test_setter_and_round_trip),
        cmocka_unit_test(test_load_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
