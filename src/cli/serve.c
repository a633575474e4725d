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
#include "core/log.h"
#include "core/time.h"
#include "net/net.h"
#include "pipeline/ingest.h"
#include "receiver/otlp.h"

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
            "  --wal-retention DUR      keep metrics/logs WAL this long (default 7d)\n"
            "  --max-memory BYTES       trace head memory limit before 503 (default 256MiB)\n"
            "  --max-body BYTES         OTLP/HTTP body limit after decompression (default 20MiB)\n"
            "  --max-grpc-msg BYTES     gRPC message limit (default 4MiB)\n"
            "  --config FILE            configuration file (see docs/CONFIGURATION.md)\n"
            "  --log-level LEVEL        debug | info | warn | error (default info)\n"
            "  -h, --help               this help\n",
            cmd);
}

/* "100ms", "5s", "2m", "3h", "7d" or plain seconds → milliseconds. */
static int parse_duration_ms(const char *s, uint64_t *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0) return OCL_EINVAL;
    double mul = 1000;
    if (!strcmp(end, "ms")) mul = 1;
    else if (!strcmp(end, "s") || !*end) mul = 1000;
    else if (!strcmp(end, "m")) mul = 60e3;
    else if (!strcmp(end, "h")) mul = 3600e3;
    else if (!strcmp(end, "d")) mul = 86400e3;
    else if (!strcmp(end, "w")) mul = 7 * 86400e3;
    else return OCL_EINVAL;
    *out = (uint64_t)(v * mul);
    return 0;
}

/* "64MiB", "1GB", "512k", plain bytes. */
static int parse_bytes(const char *s, uint64_t *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0) return OCL_EINVAL;
    double mul = 1;
    if (!*end || !strcmp(end, "B")) mul = 1;
    else if (!strcasecmp(end, "k") || !strcasecmp(end, "KiB") || !strcasecmp(end, "KB")) mul = 1024;
    else if (!strcasecmp(end, "m") || !strcasecmp(end, "MiB") || !strcasecmp(end, "MB")) mul = 1 << 20;
    else if (!strcasecmp(end, "g") || !strcasecmp(end, "GiB") || !strcasecmp(end, "GB")) mul = 1 << 30;
    else return OCL_EINVAL;
    *out = (uint64_t)(v * mul);
    return 0;
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

static int bad_value(const char *opt, const char *v)
{
    fprintf(stderr, "ocelot: invalid value '%s' for %s\n", v, opt);
    return 2;
}

int ocl_cmd_serve(int argc, char **argv, int developer_defaults)
{
    const char *cmd = developer_defaults ? "up" : "serve";
    const char *data_dir = "./ocelot-data";
    const char *grpc_addr = "127.0.0.1:4317", *http_addr = "127.0.0.1:4318",
               *api_addr = "127.0.0.1:3000";
    int workers = 0;
    uint64_t v;
    ocl_ingest_cfg_t icfg = {.fsync = OCL_FSYNC_INTERVAL, .fsync_interval_ms = 100};
    ocl_net_limits_t limits;
    ocl_net_limits_default(&limits);
    size_t max_body = 20u << 20;
    enum {
        O_DATA = 1000, O_GRPC, O_HTTP, O_API, O_WORKERS, O_FSYNC, O_FSYNC_INT, O_TRET, O_WRET,
        O_MEM, O_BODY, O_GMSG, O_CONFIG, O_LOG
    };
    static const struct option opts[] = {
        {"data-dir", required_argument, 0, O_DATA},
        {"otlp-grpc", required_argument, 0, O_GRPC},
        {"otlp-http", required_argument, 0, O_HTTP},
        {"http", required_argument, 0, O_API},
        {"workers", required_argument, 0, O_WORKERS},
        {"fsync", required_argument, 0, O_FSYNC},
        {"fsync-interval", required_argument, 0, O_FSYNC_INT},
        {"trace-retention", required_argument, 0, O_TRET},
        {"wal-retention", required_argument, 0, O_WRET},
        {"max-memory", required_argument, 0, O_MEM},
        {"max-body", required_argument, 0, O_BODY},
        {"max-grpc-msg", required_argument, 0, O_GMSG},
        {"config", required_argument, 0, O_CONFIG},
        {"log-level", required_argument, 0, O_LOG},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_DATA: data_dir = optarg; break;
        case O_GRPC: grpc_addr = optarg; break;
        case O_HTTP: http_addr = optarg; break;
        case O_API: api_addr = optarg; break;
        case O_WORKERS:
            workers = atoi(optarg);
            if (workers < 0 || workers > 256) return bad_value("--workers", optarg);
            break;
        case O_FSYNC:
            if (!strcmp(optarg, "always")) icfg.fsync = OCL_FSYNC_ALWAYS;
            else if (!strcmp(optarg, "interval")) icfg.fsync = OCL_FSYNC_INTERVAL;
            else if (!strcmp(optarg, "never")) icfg.fsync = OCL_FSYNC_NEVER;
            else return bad_value("--fsync", optarg);
            break;
        case O_FSYNC_INT:
            if (parse_duration_ms(optarg, &v) || v == 0 || v > 60000)
                return bad_value("--fsync-interval", optarg);
            icfg.fsync_interval_ms = (uint32_t)v;
            break;
        case O_TRET:
            if (parse_duration_ms(optarg, &v) || v < 1000) return bad_value("--trace-retention", optarg);
            icfg.trace_retention_s = v / 1000;
            break;
        case O_WRET:
            if (parse_duration_ms(optarg, &v) || v < 1000) return bad_value("--wal-retention", optarg);
            icfg.wal_retention_s = v / 1000;
            break;
        case O_MEM:
            if (parse_bytes(optarg, &v) || v < (1 << 20)) return bad_value("--max-memory", optarg);
            icfg.max_memory_bytes = v;
            break;
        case O_BODY:
            if (parse_bytes(optarg, &v) || v < 1024) return bad_value("--max-body", optarg);
            max_body = v;
            limits.max_body_bytes = v;
            break;
        case O_GMSG:
            if (parse_bytes(optarg, &v) || v < 1024) return bad_value("--max-grpc-msg", optarg);
            limits.max_grpc_msg_bytes = v;
            break;
        case O_CONFIG:
            fprintf(stderr, "ocelot: --config: configuration files are not supported yet; "
                            "use the command-line flags\n");
            return 2;
        case O_LOG:
            if (!strcmp(optarg, "debug")) ocl_log_level = OCL_LOG_DEBUG;
            else if (!strcmp(optarg, "info")) ocl_log_level = OCL_LOG_INFO;
            else if (!strcmp(optarg, "warn")) ocl_log_level = OCL_LOG_WARN;
            else if (!strcmp(optarg, "error")) ocl_log_level = OCL_LOG_ERROR;
            else return bad_value("--log-level", optarg);
            break;
        case 'h': serve_usage(stdout, cmd); return 0;
        default: serve_usage(stderr, cmd); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ocelot %s: unexpected argument '%s'\n", cmd, argv[optind]);
        return 2;
    }

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
    icfg.data_dir = data_dir;
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
    __atomic_store_n(&api.ready, 1, __ATOMIC_RELEASE);
    printf("ocelot: ready\n");
    if (developer_defaults) {
        const char *h = hosts[2];
        if (!strcmp(h, "0.0.0.0")) h = "127.0.0.1";
        printf("\n  ocelot %s is up (data in %s, ready in %.0f ms)\n\n"
               "  Send OTLP to   grpc://%s:%d   or   http://%s:%d\n"
               "  Tempo API      http://%s:%d/api/traces/<trace id>\n"
               "  Own metrics    http://%s:%d/metrics\n"
               "  Load test      ocelot gen --endpoint http://%s:%d --duration 10\n\n",
               OCL_VERSION, data_dir, (ocl_mono_nano() - t0) / 1e6, hosts[0], ls[0].port,
               hosts[1], ls[1].port, h, ls[2].port, h, ls[2].port, hosts[1], ls[1].port);
    }
    fflush(stdout);
    ocl_info("ready in %.1f ms", (ocl_mono_nano() - t0) / 1e6);

    int sig = 0;
    sigwait(&sigs, &sig);
    ocl_info("received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    rc = 0;
done:
    if (srv) {
        ocl_sm_unregister(net_collect, srv);
        ocl_server_stop(srv);
        ocl_server_destroy(srv);
    }
    ocl_ingest_close(ing);
    return rc;
}
