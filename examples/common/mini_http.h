/*
 * mini_http.h — a deliberately tiny blocking HTTP/1.1 server for the
 * libocelot examples (not for production): one thread per connection,
 * one request per connection (Connection: close), headers up to 16 KiB,
 * bodies up to 1 MiB. Header-only so each example stays one file.
 *
 * The handler gets the parsed request and writes the response with
 * mh_respond. Header lookup is case-insensitive; mh_header_all joins
 * repeated headers with "," (as tracestate needs) and reports how many
 * there were (a repeated traceparent is invalid).
 */
#ifndef MINI_HTTP_H
#define MINI_HTTP_H

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MH_MAX_HEADERS 64

typedef struct mh_req {
    int fd;                       /* connection */
    char method[16];              /* GET, POST, ... */
    char path[1024];              /* request target */
    int n_headers;                /* parsed headers */
    char *hname[MH_MAX_HEADERS];  /* names (in buf) */
    char *hvalue[MH_MAX_HEADERS]; /* values (in buf, trimmed) */
    char buf[16384];              /* raw header bytes */
    char *body;                   /* malloc'd, NUL-terminated */
    size_t body_len;              /* bytes of body */
} mh_req_t;

typedef void (*mh_handler_fn)(mh_req_t *r, void *ud);

/* Value of the first header called name, or NULL. */
static inline const char *mh_header(const mh_req_t *r, const char *name)
{
    for (int i = 0; i < r->n_headers; i++)
        if (!strcasecmp(r->hname[i], name)) return r->hvalue[i];
    return NULL;
}

/* All headers called name joined with ",", into out; returns the count. */
static inline int mh_header_all(const mh_req_t *r, const char *name, char *out, size_t cap)
{
    int n = 0;
    size_t o = 0;
    out[0] = 0;
    for (int i = 0; i < r->n_headers; i++) {
        if (strcasecmp(r->hname[i], name)) continue;
        int w = snprintf(out + o, cap - o, "%s%s", n ? "," : "", r->hvalue[i]);
        if (w < 0 || (size_t)w >= cap - o) break;
        o += (size_t)w;
        n++;
    }
    return n;
}

static inline void mh_respond(mh_req_t *r, int status, const char *ctype, const char *body)
{
    char hdr[256];
    size_t n = body ? strlen(body) : 0;
    int k = snprintf(hdr, sizeof hdr,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status,
                     status == 200   ? "OK"
                     : status == 404 ? "Not Found"
                                     : "Error",
                     ctype ? ctype : "text/plain", n);
    if (send(r->fd, hdr, (size_t)k, MSG_NOSIGNAL) < 0) return;
    if (n) send(r->fd, body, n, MSG_NOSIGNAL);
}

static inline int mh_parse(mh_req_t *r)
{
    size_t n = 0;
    char *end = NULL;
    while (!end) {
        if (n >= sizeof r->buf - 1) return -1;
        ssize_t k = recv(r->fd, r->buf + n, sizeof r->buf - 1 - n, 0);
        if (k <= 0) return -1;
        n += (size_t)k;
        r->buf[n] = 0;
        end = strstr(r->buf, "\r\n\r\n");
    }
    size_t hlen = (size_t)(end - r->buf) + 4;
    size_t extra = n - hlen;
    *end = 0;
    char *line = r->buf, *nl = strstr(line, "\r\n");
    if (nl) *nl = 0;
    if (sscanf(line, "%15s %1023s", r->method, r->path) != 2) return -1;
    r->n_headers = 0;
    while (nl && r->n_headers < MH_MAX_HEADERS) {
        line = nl + 2;
        nl = strstr(line, "\r\n");
        if (nl) *nl = 0;
        char *colon = strchr(line, ':');
        if (!colon) continue;
        *colon = 0;
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t vl = strlen(v);
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            v[--vl] = 0;
        r->hname[r->n_headers] = line;
        r->hvalue[r->n_headers] = v;
        r->n_headers++;
    }
    const char *cl = mh_header(r, "content-length");
    size_t blen = cl ? (size_t)strtoul(cl, NULL, 10) : 0;
    if (blen > (1u << 20)) return -1;
    r->body = malloc(blen + 1);
    if (!r->body) return -1;
    size_t have = extra < blen ? extra : blen;
    memcpy(r->body, end + 4, have);
    while (have < blen) {
        ssize_t k = recv(r->fd, r->body + have, blen - have, 0);
        if (k <= 0) return -1;
        have += (size_t)k;
    }
    r->body[blen] = 0;
    r->body_len = blen;
    return 0;
}

typedef struct mh_conn {
    int fd;           /* accepted socket */
    mh_handler_fn fn; /* handler */
    void *ud;         /* its argument */
} mh_conn_t;

static inline void *mh_conn_main(void *arg)
{
    mh_conn_t *c = arg;
    mh_req_t *r = calloc(1, sizeof *r);
    if (r) {
        r->fd = c->fd;
        if (mh_parse(r) == 0)
            c->fn(r, c->ud);
        else
            mh_respond(r, 400, NULL, "bad request\n");
        free(r->body);
        free(r);
    }
    close(c->fd);
    free(c);
    return NULL;
}

/* Listens on "host:port" (port 0 = any; the bound address is printed as
 * "listening on host:port") and serves forever. Returns only on error. */
static inline int mh_serve(const char *addr, mh_handler_fn fn, void *ud)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (!colon || (size_t)(colon - addr) >= sizeof host) return -1;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = 0;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) return -1;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 64)) return -1;
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    printf("listening on %s:%d\n", host, ntohs(sa.sin_port));
    fflush(stdout);
    for (;;) {
        int c = accept(fd, NULL, NULL);
        if (c < 0) continue;
        mh_conn_t *conn = malloc(sizeof *conn);
        if (!conn) {
            close(c);
            continue;
        }
        conn->fd = c;
        conn->fn = fn;
        conn->ud = ud;
        pthread_t th;
        if (pthread_create(&th, NULL, mh_conn_main, conn)) {
            close(c);
            free(conn);
            continue;
        }
        pthread_detach(th);
    }
}

/* Carrier getter over a request, for ocelot_extract: traceparent must
 * appear once (a repeated one is invalid), tracestate headers are joined. */
typedef struct mh_carrier {
    const mh_req_t *r; /* request */
    char joined[8192]; /* joined value storage */
} mh_carrier_t;

static inline const char *mh_carrier_get(void *carrier, const char *key, size_t *len)
{
    mh_carrier_t *c = carrier;
    int n = mh_header_all(c->r, key, c->joined, sizeof c->joined);
    if (n == 0 || (n > 1 && !strcasecmp(key, "traceparent"))) return NULL;
    *len = strlen(c->joined);
    return c->joined;
}

#endif
