/*
 * server.c — worker threads, listeners, timers and the libuv transport of
 * a connection (the `io` of conn.h).
 *
 * Each worker owns one uv loop, one listening socket per listener (all bound
 * to the same port with SO_REUSEPORT, so the kernel spreads connections) and
 * the connections it accepted; nothing is shared between workers except the
 * atomic counters. ocl_server_stop() wakes every worker with a uv_async_t.
 *
 * Invariants:
 *  - a connection's handles (tcp + timer) are closed exactly once
 *    (close_handles); its memory is released only when the handles are gone
 *    and no handler still owes a response (conn refs);
 *  - reads stop while more than OCL_NET_MAX_PENDING_WRITE bytes are unsent
 *    (a client that does not read cannot grow our memory);
 *  - after an error response the write side is shut down and the input is
 *    drained for at most LINGER_MS ("lingering close"), so the client sees
 *    the response instead of a reset.
 *
 * Tuned for: ~2000 requests/s per core of 100-300 KB bodies; reads go into
 * one 256 KiB buffer per worker (or straight into the body buffer, see
 * ocl_h1_read_hint), writes are tried synchronously first (uv_try_write).
 */
#include "net/conn.h"
#include "core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define MAX_LISTENERS 8
#define MAX_TIMERS 32
#define READ_BUF_SIZE (256 << 10)
#define LINGER_MS 2000 /* drain input after an error response */
#define FLUSH_MS 5000  /* max time to flush output when closing */
#define BACKLOG 1024

typedef struct ocl_worker ocl_worker_t;

typedef struct uvconn {
    ocl_conn_t c;               /* protocol side; first so conn <-> uvconn casts work */
    uv_tcp_t tcp;               /* the socket */
    uv_timer_t timer;           /* header/idle/linger timer */
    uv_shutdown_t shut;         /* graceful close request */
    ocl_worker_t *w;            /* owning worker */
    struct uvconn *next, *prev; /* worker's connection list */
    int open_handles;           /* handles not yet closed (2 -> 0) */
    bool reading;               /* uv_read_start active */
    bool handles_closing;       /* close_handles() was called */
    bool lingering;             /* write side shut down; draining input */
} uvconn_t;

typedef struct {
    uv_write_t req;   /* libuv request */
    uvconn_t *uc;     /* connection */
    unsigned char *p; /* heap block being written (owned) */
    size_t len;       /* bytes in p */
} wreq_t;

typedef struct {
    uv_tcp_t tcp;                  /* listening handle */
    ocl_worker_t *w;               /* owning worker */
    const ocl_listener_cfg_t *cfg; /* handlers */
    int fd;                        /* socket before uv_tcp_open, -1 after */
    bool opened;                   /* tcp handle initialized */
} wlistener_t;

typedef struct {
    uint32_t period_ms;   /* period */
    void (*fn)(void *ud); /* callback */
    void *ud;             /* its argument */
    uv_timer_t h;         /* the handle on worker 0's loop */
} stimer_t;

struct ocl_worker {
    ocl_server_t *s;                /* owner */
    int idx;                        /* 0..n_workers-1 */
    uv_loop_t loop;                 /* this worker's loop */
    uv_async_t stop_async;          /* wakes the loop for ocl_server_stop */
    uv_thread_t thread;             /* the thread running `loop` */
    wlistener_t lst[MAX_LISTENERS]; /* one per server listener */
    uvconn_t *conns;                /* open connections */
    size_t n_conns;                 /* entries in `conns` */
    ocl_bufpool_t pool;             /* recycled body buffers */
    unsigned char *rbuf;            /* shared read buffer (READ_BUF_SIZE) */
};

struct ocl_server {
    ocl_net_limits_t limits;                /* copied at create */
    int n_workers;                          /* worker threads */
    ocl_worker_t *workers;                  /* array of n_workers */
    ocl_listener_cfg_t lcfg[MAX_LISTENERS]; /* listener configs (copies) */
    int n_listeners;                        /* entries in lcfg */
    stimer_t timers[MAX_TIMERS];            /* housekeeping timers on worker 0 */
    int n_timers;                           /* entries in timers */
    ocl_net_counters_t stats;               /* shared counters */
    bool started;                           /* threads running */
    bool stopped;                           /* ocl_server_stop done */
};

static void io_write(ocl_conn_t *c, unsigned char *p, size_t len);
static void io_close(ocl_conn_t *c);
static void io_update(ocl_conn_t *c);
static void io_release(ocl_conn_t *c);
static const ocl_conn_io_t UV_IO = {io_write, io_close, io_update, io_release};

/* --- connection transport ------------------------------------------------ */

static void on_handle_closed(uv_handle_t *h)
{
    uvconn_t *uc = h->data;
    if (--uc->open_handles > 0) return;
    ocl_worker_t *w = uc->w;
    if (uc->prev)
        uc->prev->next = uc->next;
    else
        w->conns = uc->next;
    if (uc->next) uc->next->prev = uc->prev;
    w->n_conns--;
    atomic_fetch_sub(&w->s->stats.open, 1);
    ocl_conn_transport_closed(&uc->c); /* may free uc */
}

static void close_handles(uvconn_t *uc)
{
    if (uc->handles_closing) return;
    uc->handles_closing = true;
    uc->c.closed = true;
    uv_close((uv_handle_t *)&uc->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&uc->timer, on_handle_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    uvconn_t *uc = h->data;
    size_t n;
    unsigned char *p = uc->lingering ? NULL : ocl_h1_read_hint(&uc->c, &n);
    if (p) {
        *buf = uv_buf_init((char *)p, (unsigned)OCL_MIN(n, (size_t)1 << 30));
        return;
    }
    *buf = uv_buf_init((char *)uc->w->rbuf, READ_BUF_SIZE);
}

static void on_timer(uv_timer_t *t)
{
    uvconn_t *uc = t->data;
    if (uc->lingering || uc->c.closed) {
        close_handles(uc);
        return;
    }
    ocl_conn_timeout(&uc->c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    uvconn_t *uc = s->data;
    if (nread == 0 || uc->handles_closing) return;
    if (uc->lingering) {
        if (nread < 0) close_handles(uc);
        return; /* discard */
    }
    if (nread < 0) {
        if (nread == UV_EOF)
            ocl_conn_eof(&uc->c);
        else
            close_handles(uc);
        return;
    }
    ocl_conn_feed(&uc->c, (const unsigned char *)buf->base, (size_t)nread);
}

static void on_write(uv_write_t *req, int status)
{
    wreq_t *wr = (wreq_t *)req;
    uvconn_t *uc = wr->uc;
    bool was_full = uc->c.pending_write > OCL_NET_MAX_PENDING_WRITE;
    uc->c.pending_write -= wr->len;
    free(wr->p);
    free(wr);
    if (status < 0) {
        if (!uc->c.closed) uc->c.closed = true;
        if (!uc->lingering) close_handles(uc);
        return;
    }
    if (!uc->c.closed && (was_full || uc->c.pending_write == 0)) ocl_conn_drained(&uc->c);
}

static void io_write(ocl_conn_t *c, unsigned char *p, size_t len)
{
    uvconn_t *uc = (uvconn_t *)c;
    if (uc->handles_closing || uc->lingering) {
        free(p);
        return;
    }
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)len);
    int n = uv_try_write((uv_stream_t *)&uc->tcp, &b, 1);
    if (n == (int)len) {
        free(p);
        return;
    }
    if (n < 0 && n != UV_EAGAIN) {
        free(p);
        c->closed = true;
        close_handles(uc);
        return;
    }
    size_t done = n > 0 ? (size_t)n : 0;
    wreq_t *wr = ocl_malloc(sizeof *wr);
    wr->uc = uc, wr->p = p, wr->len = len - done;
    b = uv_buf_init((char *)p + done, (unsigned)(len - done));
    c->pending_write += wr->len;
    if (uv_write(&wr->req, (uv_stream_t *)&uc->tcp, &b, 1, on_write) != 0) {
        c->pending_write -= wr->len;
        free(p);
        free(wr);
        c->closed = true;
        close_handles(uc);
    }
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    uvconn_t *uc = req->data;
    if (uc->handles_closing) return;
    if (status < 0) {
        close_handles(uc);
        return;
    }
    /* Drain (and drop) what the client still sends, briefly. */
    uc->lingering = true;
    if (!uc->reading && uv_read_start((uv_stream_t *)&uc->tcp, on_alloc, on_read) != 0) {
        close_handles(uc);
        return;
    }
    uc->reading = true;
    uv_timer_start(&uc->timer, on_timer, LINGER_MS, 0);
}

static void io_close(ocl_conn_t *c)
{
    uvconn_t *uc = (uvconn_t *)c;
    if (uc->handles_closing) return;
    if (uc->reading) uv_read_stop((uv_stream_t *)&uc->tcp);
    uc->reading = false;
    /* Hard deadline: a peer that never reads cannot keep us flushing. */
    uv_timer_start(&uc->timer, on_timer, FLUSH_MS, 0);
    uc->shut.data = uc;
    if (uv_shutdown(&uc->shut, (uv_stream_t *)&uc->tcp, on_shutdown) != 0) close_handles(uc);
}

static void io_update(ocl_conn_t *c)
{
    uvconn_t *uc = (uvconn_t *)c;
    if (c->closed || uc->handles_closing) return;
    bool want = ocl_conn_want_read(c);
    if (want && !uc->reading) {
        if (uv_read_start((uv_stream_t *)&uc->tcp, on_alloc, on_read) != 0) {
            c->closed = true;
            close_handles(uc);
            return;
        }
        uc->reading = true;
    } else if (!want && uc->reading) {
        uv_read_stop((uv_stream_t *)&uc->tcp);
        uc->reading = false;
    }
    uint64_t ms = ocl_conn_timeout_ms(c);
    if (ms)
        uv_timer_start(&uc->timer, on_timer, ms, 0);
    else
        uv_timer_stop(&uc->timer);
}

static void io_release(ocl_conn_t *c)
{
    free((uvconn_t *)c);
}

static void on_refused_closed(uv_handle_t *h)
{
    free(h);
}

static void on_accept_failed_closed(uv_handle_t *h)
{
    free(h->data);
}

static void on_connection(uv_stream_t *server, int status)
{
    wlistener_t *l = server->data;
    ocl_worker_t *w = l->w;
    if (status < 0) return;
    if (w->n_conns >= w->s->limits.max_connections) {
        uv_tcp_t *t = ocl_malloc(sizeof *t);
        uv_tcp_init(&w->loop, t);
        if (uv_accept(server, (uv_stream_t *)t) == 0) atomic_fetch_add(&w->s->stats.refused, 1);
        uv_close((uv_handle_t *)t, on_refused_closed);
        return;
    }
    uvconn_t *uc = ocl_malloc(sizeof *uc);
    memset(uc, 0, offsetof(uvconn_t, c) + sizeof(ocl_conn_t)); /* protocol side zeroed */
    uv_tcp_init(&w->loop, &uc->tcp);
    uc->tcp.data = uc;
    if (uv_accept(server, (uv_stream_t *)&uc->tcp) != 0) {
        uv_close((uv_handle_t *)&uc->tcp, on_accept_failed_closed);
        return;
    }
    uv_timer_init(&w->loop, &uc->timer);
    uc->tcp.data = uc->timer.data = uc;
    uc->w = w;
    uc->open_handles = 2;
    uc->reading = uc->handles_closing = uc->lingering = false;
    uc->prev = NULL;
    uc->next = w->conns;
    if (uc->next) uc->next->prev = uc;
    w->conns = uc;
    w->n_conns++;
    uv_tcp_nodelay(&uc->tcp, 1);
    ocl_conn_init(&uc->c, &UV_IO, l->cfg, &w->s->limits, &w->s->stats, &w->pool);
    uc->c.loop = &w->loop;
    atomic_fetch_add(&w->s->stats.open, 1);
    atomic_fetch_add(&w->s->stats.total, 1);
    io_update(&uc->c);
}

/* --- workers ------------------------------------------------------------- */

static void on_timer_tick(uv_timer_t *t)
{
    stimer_t *st = t->data;
    st->fn(st->ud);
}

static void on_stop(uv_async_t *a)
{
    ocl_worker_t *w = a->data;
    for (int i = 0; i < w->s->n_listeners; i++)
        if (w->lst[i].opened && !uv_is_closing((uv_handle_t *)&w->lst[i].tcp))
            uv_close((uv_handle_t *)&w->lst[i].tcp, NULL);
    for (uvconn_t *uc = w->conns; uc; uc = uc->next)
        close_handles(uc);
    if (w->idx == 0)
        for (int i = 0; i < w->s->n_timers; i++)
            uv_close((uv_handle_t *)&w->s->timers[i].h, NULL);
    uv_close((uv_handle_t *)&w->stop_async, NULL);
}

static void close_any(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

static void worker_main(void *arg)
{
    ocl_worker_t *w = arg;
    ocl_server_t *s = w->s;
    for (int i = 0; i < s->n_listeners; i++) {
        wlistener_t *l = &w->lst[i];
        uv_tcp_init(&w->loop, &l->tcp);
        l->tcp.data = l;
        l->opened = true;
        if (uv_tcp_open(&l->tcp, l->fd) != 0 ||
            uv_listen((uv_stream_t *)&l->tcp, BACKLOG, on_connection) != 0) {
            ocl_error("net: worker %d cannot listen on %s", w->idx, l->cfg->addr);
        }
        l->fd = -1; /* owned by the handle now */
    }
    if (w->idx == 0) {
        for (int i = 0; i < s->n_timers; i++) {
            stimer_t *t = &s->timers[i];
            uv_timer_init(&w->loop, &t->h);
            t->h.data = t;
            uv_timer_start(&t->h, on_timer_tick, t->period_ms, t->period_ms);
        }
    }
    uv_run(&w->loop, UV_RUN_DEFAULT);
    /* Handles a handler left behind (its own timers): close them too. */
    uv_walk(&w->loop, close_any, NULL);
    uv_run(&w->loop, UV_RUN_DEFAULT);
}

/* --- public API ------------------------------------------------------------ */

ocl_server_t *ocl_server_create(int workers, const ocl_net_limits_t *limits)
{
    if (workers <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        workers = n > 0 ? (int)n : 1;
    }
    ocl_server_t *s = ocl_calloc(1, sizeof *s);
    if (limits)
        s->limits = *limits;
    else
        ocl_net_limits_default(&s->limits);
    s->n_workers = workers;
    s->workers = ocl_calloc((size_t)workers, sizeof *s->workers);
    for (int i = 0; i < workers; i++) {
        ocl_worker_t *w = &s->workers[i];
        w->s = s;
        w->idx = i;
        uv_loop_init(&w->loop);
        uv_async_init(&w->loop, &w->stop_async, on_stop);
        w->stop_async.data = w;
        w->rbuf = ocl_malloc(READ_BUF_SIZE);
        for (int k = 0; k < MAX_LISTENERS; k++)
            w->lst[k].fd = -1;
    }
    return s;
}

static int parse_addr(const char *addr, struct sockaddr_storage *ss)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (!colon) return OCL_EINVAL;
    size_t hl = (size_t)(colon - addr);
    if (hl >= sizeof host) return OCL_EINVAL;
    memcpy(host, addr, hl);
    host[hl] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535) return OCL_EINVAL;
    memset(ss, 0, sizeof *ss);
    if (host[0] == '[' && hl >= 2 && host[hl - 1] == ']') {
        host[hl - 1] = 0;
        return uv_ip6_addr(host + 1, (int)port, (struct sockaddr_in6 *)ss) ? OCL_EINVAL : 0;
    }
    if (hl == 0)
        strcpy(host, "0.0.0.0");
    else if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    return uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) ? OCL_EINVAL : 0;
}

static int open_socket(const struct sockaddr_storage *ss)
{
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    socklen_t len =
        ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
        bind(fd, (const struct sockaddr *)ss, len) != 0 || listen(fd, BACKLOG) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int ocl_server_listen(ocl_server_t *s, const ocl_listener_cfg_t *cfg, int *bound_port)
{
    if (s->started || s->n_listeners >= MAX_LISTENERS) return OCL_EINVAL;
    struct sockaddr_storage ss;
    if (parse_addr(cfg->addr, &ss) != 0) return OCL_EINVAL;
    int idx = s->n_listeners;
    s->lcfg[idx] = *cfg;
    int port = 0;
    for (int i = 0; i < s->n_workers; i++) {
        int fd = open_socket(&ss);
        if (fd < 0) {
            ocl_error("net: cannot listen on %s: %s", cfg->addr, strerror(errno));
            for (int k = 0; k < i; k++) {
                close(s->workers[k].lst[idx].fd);
                s->workers[k].lst[idx].fd = -1;
            }
            return OCL_EIO;
        }
        if (i == 0) {
            struct sockaddr_storage got;
            socklen_t gl = sizeof got;
            getsockname(fd, (struct sockaddr *)&got, &gl);
            port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                                   : ((struct sockaddr_in *)&got)->sin_port);
            if (ss.ss_family == AF_INET6)
                ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
            else
                ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
        }
        wlistener_t *l = &s->workers[i].lst[idx];
        l->fd = fd;
        l->w = &s->workers[i];
        l->cfg = &s->lcfg[idx];
    }
    s->n_listeners++;
    if (bound_port) *bound_port = port;
    return 0;
}

int ocl_server_start(ocl_server_t *s)
{
    if (s->started || s->stopped) return OCL_EINVAL;
    s->started = true;
    /* libuv writes with write(2): a peer that resets must not kill us. */
    signal(SIGPIPE, SIG_IGN);
    for (int i = 0; i < s->n_workers; i++) {
        if (uv_thread_create(&s->workers[i].thread, worker_main, &s->workers[i]) != 0) {
            ocl_error("net: cannot start worker thread %d", i);
            abort();
        }
    }
    return 0;
}

void ocl_server_stop(ocl_server_t *s)
{
    if (s->stopped) return;
    s->stopped = true;
    if (!s->started) return;
    for (int i = 0; i < s->n_workers; i++)
        uv_async_send(&s->workers[i].stop_async);
    for (int i = 0; i < s->n_workers; i++)
        uv_thread_join(&s->workers[i].thread);
}

void ocl_server_destroy(ocl_server_t *s)
{
    if (!s) return;
    ocl_server_stop(s);
    for (int i = 0; i < s->n_workers; i++) {
        ocl_worker_t *w = &s->workers[i];
        if (!s->started) {
            uv_close((uv_handle_t *)&w->stop_async, NULL);
            uv_run(&w->loop, UV_RUN_DEFAULT);
        }
        for (int k = 0; k < MAX_LISTENERS; k++)
            if (w->lst[k].fd >= 0) close(w->lst[k].fd);
        uv_loop_close(&w->loop);
        for (int k = 0; k < w->pool.n; k++)
            ocl_buf_dispose(&w->pool.slot[k]);
        free(w->rbuf);
    }
    free(s->workers);
    free(s);
}

int ocl_server_add_timer(ocl_server_t *s, uint32_t period_ms, void (*fn)(void *ud), void *ud)
{
    if (s->started || s->n_timers >= MAX_TIMERS || !fn || period_ms == 0) return OCL_EINVAL;
    stimer_t *t = &s->timers[s->n_timers++];
    t->period_ms = period_ms, t->fn = fn, t->ud = ud;
    return 0;
}

void ocl_server_stats(ocl_server_t *s, ocl_net_stats_t *out)
{
    out->connections_open = atomic_load(&s->stats.open);
    out->connections_total = atomic_load(&s->stats.total);
    out->connections_refused = atomic_load(&s->stats.refused);
    out->protocol_errors = atomic_load(&s->stats.proto_errors);
}
