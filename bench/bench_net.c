/*
 * bench_net.c — throughput of the network layer alone: one server worker,
 * one keep-alive HTTP/1.1 client thread posting 300 KB bodies (the size of a
 * 512-span OTLP batch) to a handler that answers 200 at once. Prints
 * requests/s and MB/s. Not a test: numbers go to docs/BENCHMARKS.md.
 *   cmake --build build/dev --target bench_net && build/dev/bench_net [requests]
 */
#include "net/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void ok(ocl_http_req_t *req, void *ud)
{
    ocl_http_respond(req, 200, "application/x-protobuf", NULL, 0, NULL, 0);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 5000;
    size_t body = 300 << 10;
    ocl_server_t *s = ocl_server_create(1, NULL);
    ocl_listener_cfg_t cfg = {.addr = "127.0.0.1:0", .http = ok};
    int port;
    if (ocl_server_listen(s, &cfg, &port) || ocl_server_start(s)) return 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) return 1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char head[256];
    int hl =
        snprintf(head, sizeof head,
                 "POST /v1/traces HTTP/1.1\r\nHost: b\r\nContent-Type: application/x-protobuf\r\n"
                 "Content-Length: %zu\r\n\r\n",
                 body);
    char *req = malloc((size_t)hl + body);
    memcpy(req, head, (size_t)hl);
    memset(req + hl, 'x', body);
    char resp[4096];
    double t0 = now();
    for (int i = 0; i < n; i++) {
        size_t len = (size_t)hl + body, off = 0;
        while (off < len) {
            ssize_t k = send(fd, req + off, len - off, 0);
            if (k <= 0) return 1;
            off += (size_t)k;
        }
        size_t got = 0;
        while (!memmem(resp, got, "\r\n\r\n", 4)) {
            ssize_t k = recv(fd, resp + got, sizeof resp - got, 0);
            if (k <= 0) return 1;
            got += (size_t)k;
        }
    }
    double dt = now() - t0;
    printf("http1 keep-alive, %zu KB bodies, 1 worker: %.0f req/s, %.0f MB/s\n", body >> 10, n / dt,
           (double)n * (double)body / dt / 1e6);
    close(fd);
    ocl_server_destroy(s);
    free(req);
    return 0;
}
