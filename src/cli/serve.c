/*
 * serve.c — `ocelot serve` and `ocelot up`: open the stores (replaying the
 * WAL), bind the three listeners, print their addresses, serve until
 * SIGINT/SIGTERM, then shut down cleanly (stop accepting, sync the WAL).
 *
 * Startup order matters for durability: replay completes before any
 * listener accepts, so new WAL records never interleave with replay.
 */
#include "cli/cli.h"

#include "api/http_api.h"
#include "api/selfmetrics.h"
#include "core/config.h"
#include "core/log.h"
#include "core/time.h"
#include "net/net.h"
#include "pipeline/ingest.h"
#include "receiver/otlp.h"
#include "receiver/prom_scrape.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void serve_usage(FILE *f, const char *cmd)
{
    fprintf(f,
            "usage: ocelot %s [options]\n\n"
            "  --data-dir DIR           data directory (default ./ocelot-data)\n"
            "  --otlp-grpc ADDR         OTLP/gRPC listen address (default 127.0.0.1:4317)\n"
            "  --otlp-http ADDR         OTLP/HTTP listen address (default 127.0.0.1:4318)\n"
            "  --http ADDR              HTTP API and UI address (default 127.0.0.1:3000)\n"
            "                           (port 0 picks a free port; the address is printed)\n"
            "  --workers N              network worker threads (default: number of cores)\n"
            "  --fsync POLICY           WAL fsync: always | interval | never (default interval)\n"
            "  --fsync-interval DUR     interval for --fsync=interval (default 100ms)\n"
            "  --trace-retention DUR    keep trace segments this long (default 7d)\n"
            "  --wal-retention DUR      keep the logs WAL this long (default 7d)\n"
            "  --metrics-retention DUR  keep metrics this long (default 15d)\n"
            "  --max-series-per-tenant N  active series per tenant (default 1000000)\n"
            "  --max-memory BYTES       trace head memory limit before 503 (default 256MiB)\n"
            "  --max-body BYTES         OTLP/HTTP body limit after decompression (default 20MiB)\n"
            "  --max-grpc-msg BYTES     gRPC message limit (default 4MiB)\n"
            "  --config FILE            configuration file (see docs/CONFIGURATION.md)\n"
            "  --log-level LEVEL        debug | info | warn | error (default info)\n"
            "  -h, --help               this help\n",
            cmd);
}

static void net_collect(ocl_buf_t *out, void *ud)
{
    ocl_net_stats_t st;
    ocl_server_stats(ud, &st);
    ocl_sm_header(out, "ocelot_net_connections_open", "gauge", "Open client connections.");
    ocl_sm_sample(out, "ocelot_net_connections_open", "", (double)st.connections_open);
    ocl_sm_header(out, "ocelot_net_connections_total", "counter", "Accepted client connections.");
    ocl_sm_sample(out, "ocelot_net_connections_total", "", (double)st.connections_total);
    ocl_sm_header(out, "ocelot_net_connections_refused_total", "counter",
                  "Connections closed at once because a worker was at its connection limit.");
    ocl_sm_sample(out, "ocelot_net_connections_refused_total", "", (double)st.connections_refused);
    ocl_sm_header(out, "ocelot_net_protocol_errors_total", "counter",
                  "Connections or streams ended for malformed HTTP/1.1 or HTTP/2.");
    ocl_sm_sample(out, "ocelot_net_protocol_errors_total", "", (double)st.protocol_errors);
}

/* Scraped batches go to the default tenant's metrics store. */
static int scrape_sink(void *ud, const ocl_prom_batch_t *b)
{
    ocl_tsdb_append_result_t res;
    return ocl_ingest_write_prom(ud, OCL_STR(""), b, NULL, 0, &res);
}

static int bad_value(const char *opt, const char *v)
{
    fprintf(stderr, "ocelot: invalid value '%s' for %s\n", v, opt);
    return 2;
}

/* Flags that map to one setting each: flag → canonical config key. */
static const struct {
    const char *flag; /* long option name, without "--" */
    const char *key;  /* ocl_config_set() key */
} flag_keys[] = {
    {"data-dir", "storage.path"},
    {"otlp-grpc", "receivers.otlp.protocols.grpc.endpoint"},
    {"otlp-http", "receivers.otlp.protocols.http.endpoint"},
    {"http", "server.http.endpoint"},
    {"workers", "server.workers"},
    {"fsync", "storage.wal.fsync"},
    {"fsync-interval", "storage.wal.fsync_interval"},
    {"trace-retention", "storage.traces.retention"},
    {"wal-retention", "storage.wal_retention"},
    {"max-memory", "memory_limiter.limit"},
    {"max-body", "receivers.otlp.protocols.http.max_request_body_size"},
    {"max-grpc-msg", "receivers.otlp.protocols.grpc.max_recv_msg_size"},
    {"log-level", "log.level"},
    {"metrics-retention", "storage.metrics.retention"},
    {"max-series-per-tenant", "storage.metrics.max_series_per_tenant"},
};

int ocl_cmd_serve(int argc, char **argv, int developer_defaults)
{
    const char *cmd = developer_defaults ? "up" : "serve";
    enum { O_FLAG = 1000, O_CONFIG = O_FLAG + 100 };
    struct option opts[OCL_ARRAY_LEN(flag_keys) + 3];
    size_t no = 0;
    for (size_t i = 0; i < OCL_ARRAY_LEN(flag_keys); i++)
        opts[no++] = (struct option){flag_keys[i].flag, required_argument, 0, O_FLAG + (int)i};
    opts[no++] = (struct option){"config", required_argument, 0, O_CONFIG};
    opts[no++] = (struct option){"help", no_argument, 0, 'h'};
    opts[no] = (struct option){0, 0, 0, 0};

    /* Precedence: defaults < --config file < flags. Pass 1 finds --config
     * (the last one wins) and --help; pass 2 applies the flags in order. */
    const char *config_path = NULL;
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == O_CONFIG)
            config_path = optarg;
        else if (c == 'h') {
            serve_usage(stdout, cmd);
            return 0;
        }
    }
    opterr = 1;
    ocl_config_t cfg;
    ocl_config_defaults(&cfg);
    static ocl_scrape_config_t scrape_cfg; /* large: not on the stack */
    ocl_config_scrape_defaults(&scrape_cfg);
    if (config_path) {
        char err[512];
        if (ocl_config_load_all(config_path, &cfg, &scrape_cfg, err, sizeof err) != 0) {
            fprintf(stderr, "ocelot: %s\n", err);
            return 2;
        }
    }
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c >= O_FLAG && c < O_FLAG + (int)OCL_ARRAY_LEN(flag_keys)) {
            size_t i = (size_t)(c - O_FLAG);
            if (ocl_config_set(&cfg, flag_keys[i].key, optarg) != 0) {
                char opt[64];
                snprintf(opt, sizeof opt, "--%s", flag_keys[i].flag);
                return bad_value(opt, optarg);
            }
        } else if (c != O_CONFIG) {
            serve_usage(stderr, cmd);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ocelot %s: unexpected argument '%s'\n", cmd, argv[optind]);
        return 2;
    }
    ocl_log_level = cfg.log_level;

    static const ocl_fsync_policy_t fsync_policy[] = {
        [OCL_CONFIG_FSYNC_ALWAYS] = OCL_FSYNC_ALWAYS,
        [OCL_CONFIG_FSYNC_INTERVAL] = OCL_FSYNC_INTERVAL,
        [OCL_CONFIG_FSYNC_NEVER] = OCL_FSYNC_NEVER,
    };
    const char *data_dir = cfg.data_dir;
    ocl_ingest_cfg_t icfg = {
        .data_dir = cfg.data_dir,
        .fsync = fsync_policy[cfg.fsync],
        .fsync_interval_ms = (uint32_t)cfg.fsync_interval_ms,
        .trace_retention_s = cfg.trace_retention_ms / 1000,
        .wal_retention_s = cfg.wal_retention_ms / 1000,
        .max_memory_bytes = cfg.max_memory_bytes,
        .metrics_retention_ms = (int64_t)cfg.metrics_retention_ms,
        .metrics_retention_bytes = cfg.metrics_retention_bytes,
        .metrics_max_series = (uint32_t)cfg.metrics_max_series,
        .rw_max_bytes = cfg.rw_max_bytes,
        .rw_max_label_name_len = (uint32_t)cfg.max_label_name_len,
        .rw_max_label_value_len = (uint32_t)cfg.max_label_value_len,
        .rw_max_labels = (uint32_t)cfg.max_labels_per_series,
    };
    ocl_net_limits_t limits;
    ocl_net_limits_default(&limits);
    limits.max_body_bytes = (size_t)cfg.max_body_bytes;
    limits.max_grpc_msg_bytes = (size_t)cfg.max_grpc_msg_bytes;
    size_t max_body = (size_t)cfg.max_body_bytes;
    int workers = cfg.workers;
    const char *grpc_addr = cfg.otlp_grpc_endpoint, *http_addr = cfg.otlp_http_endpoint,
               *api_addr = cfg.http_endpoint;

    /* Signals are handled by sigwait in this thread only. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    uint64_t t0 = ocl_mono_nano();
    int rc = 2;
    ocl_ingest_t *ing = NULL;
    ocl_server_t *srv = NULL;
    ocl_scraper_t *scraper = NULL;
    if (ocl_ingest_open(&icfg, &ing) != 0) {
        fprintf(stderr, "ocelot: cannot open data dir %s\n", data_dir);
        return 1;
    }
    ocl_replay_stats_t rs;
    ocl_ingest_replay_stats(ing, &rs);
    ocl_info("replayed WAL: %llu trace (%llu already in segments), %llu metric, %llu log "
             "records; %llu spans, %llu undecodable records, in %.1f ms",
             (unsigned long long)rs.records[0], (unsigned long long)rs.skipped,
             (unsigned long long)rs.records[1], (unsigned long long)rs.records[2],
             (unsigned long long)rs.spans, (unsigned long long)rs.bad_records, rs.nanos / 1e6);

    static ocl_otlp_receiver_t rcv;
    static ocl_http_api_t api;
    rcv.ingest = ing;
    rcv.max_body_bytes = max_body;
    api.ingest = ing;
    srv = ocl_server_create(workers, &limits);
    if (!srv) {
        fprintf(stderr, "ocelot: cannot create the network server\n");
        goto done;
    }
    struct {
        const char *name;
        ocl_listener_cfg_t cfg;
        int port;
    } ls[] = {
        {"otlp-grpc", {grpc_addr, ocl_otlp_http_handle, ocl_otlp_grpc_handle, &rcv}, 0},
        {"otlp-http", {http_addr, ocl_otlp_http_handle, ocl_otlp_grpc_handle, &rcv}, 0},
        {"http", {api_addr, ocl_http_api_handle, NULL, &api}, 0},
    };
    for (size_t i = 0; i < OCL_ARRAY_LEN(ls); i++) {
        if (ocl_server_listen(srv, &ls[i].cfg, &ls[i].port) != 0) {
            fprintf(stderr, "ocelot: cannot listen on %s (%s)\n", ls[i].cfg.addr, ls[i].name);
            goto done;
        }
    }
    ocl_sm_register(net_collect, srv);
    if (ocl_server_start(srv) != 0) {
        fprintf(stderr, "ocelot: cannot start the worker threads\n");
        goto done;
    }
    char hosts[3][128];
    for (size_t i = 0; i < OCL_ARRAY_LEN(ls); i++) {
        const char *colon = strrchr(ls[i].cfg.addr, ':');
        size_t hl = colon ? (size_t)(colon - ls[i].cfg.addr) : strlen(ls[i].cfg.addr);
        snprintf(hosts[i], sizeof hosts[i], "%.*s", (int)hl, ls[i].cfg.addr);
        if (!hosts[i][0]) snprintf(hosts[i], sizeof hosts[i], "0.0.0.0");
        printf("ocelot: %s listening on %s:%d\n", ls[i].name, hosts[i], ls[i].port);
        fflush(stdout);
    }
    {
        /* Scraping starts once /metrics answers; ocelot scrapes itself
         * over loopback when it listens on every interface. */
        char self[160];
        const char *h = hosts[2];
        if (!strcmp(h, "0.0.0.0")) h = "127.0.0.1";
        if (!strcmp(h, "[::]")) h = "[::1]";
        snprintf(self, sizeof self, "%s:%d", h, ls[2].port);
        if (ocl_scraper_create(&scrape_cfg, self, scrape_sink, ing, &scraper) != 0 ||
            ocl_scraper_start(scraper) != 0) {
            fprintf(stderr, "ocelot: cannot start the scraper\n");
            goto done;
        }
        if (ocl_scraper_targets(scraper))
            ocl_info("scraping %zu targets", ocl_scraper_targets(scraper));
    }
    __atomic_store_n(&api.ready, 1, __ATOMIC_RELEASE);
    printf("ocelot: ready\n");
    if (developer_defaults) {
        const char *h = hosts[2];
        if (!strcmp(h, "0.0.0.0")) h = "127.0.0.1";
        printf("\n  ocelot %s is up (data in %s, ready in %.0f ms)\n\n"
               "  Send OTLP to   grpc://%s:%d   or   http://%s:%d\n"
               "  Prometheus API http://%s:%d/api/v1/query?query=up\n"
               "  Tempo API      http://%s:%d/api/traces/<trace id>\n"
               "  Own metrics    http://%s:%d/metrics\n"
               "  Load test      ocelot gen --endpoint http://%s:%d --duration 10\n\n",
               OCL_VERSION, data_dir, (ocl_mono_nano() - t0) / 1e6, hosts[0], ls[0].port, hosts[1],
               ls[1].port, h, ls[2].port, h, ls[2].port, h, ls[2].port, hosts[1], ls[1].port);
    }
    fflush(stdout);
    ocl_info("ready in %.1f ms", (ocl_mono_nano() - t0) / 1e6);

    int sig = 0;
    sigwait(&sigs, &sig);
    ocl_info("received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    rc = 0;
done:
    ocl_scraper_destroy(scraper); /* stops it; its last staleness markers go to ingest */
    if (srv) {
        ocl_sm_unregister(net_collect, srv);
        ocl_http_api_stop(&api); /* answers running queries before ingest closes */
        ocl_server_stop(srv);
        ocl_server_destroy(srv);
    }
    ocl_ingest_close(ing);
    return rc;
}
