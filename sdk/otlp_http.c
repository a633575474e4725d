/*
 * otlp_http.c — the OTLP/HTTP (protobuf) transport: one libcurl easy
 * handle per signal, driven through a private multi handle so the export
 * thread can stop a transfer at a deadline instead of waiting for curl's
 * own timeout.
 *
 * Rules (OTLP specification, "OTLP/HTTP"):
 *  - 2xx is success; the body may carry partial_success (rejected count and
 *    message), which is counted and reported, never retried.
 *  - 429, 502, 503, 504 and transport failures (connection refused, reset,
 *    timeout) are retried with exponential backoff (1 s doubling to 30 s)
 *    and jitter (50-100 % of the step), honouring Retry-After (seconds or
 *    HTTP-date) when present and longer than that wait (the backoff is the
 *    floor: "0" or a past date never means back to back); all other
 *    statuses are final failures.
 *  - Each attempt is bounded by the exporter timeout
 *    (OTEL_EXPORTER_OTLP_*_TIMEOUT) and the whole export by the batch
 *    processor's deadline; a retry that could not start before the deadline
 *    is abandoned.
 *  - At most 4 MiB of response body are read; the rest is discarded and
 *    the transfer stopped.
 *  - User-Agent: OTel-OTLP-Exporter-C/<version>; no "Expect: 100-continue".
 *
 * Workload: one request per batch (tens to hundreds of KiB), on the
 * signal's export thread only.
 */
#include "internal.h"

#include <ctype.h>
#include <curl/curl.h>
#include <strings.h>
#include <zlib.h>

#define RESP_CAP (4u << 20)

typedef struct http {
    CURL *easy;              /* reused connection */
    CURLM *multi;            /* drives easy with a poll timeout */
    struct curl_slist *hdrs; /* request headers */
    char *url;               /* endpoint (owned) */
    int gzip;                /* compress bodies */
    uint32_t timeout_ms;     /* per attempt */
    pbw_buf_t resp;          /* response body (<= RESP_CAP) */
    int resp_truncated;      /* body exceeded RESP_CAP */
    long retry_after;        /* seconds from Retry-After, -1 if none */
    pbw_buf_t gz;            /* compressed body */
} http_t;

int osdk_retry_decide(long status, int transport_failed)
{
    if (transport_failed) return OSDK_RETRY_YES;
    if (status >= 200 && status < 300) return OSDK_RETRY_OK;
    if (status == 429 || status == 502 || status == 503 || status == 504) return OSDK_RETRY_YES;
    return OSDK_RETRY_NO;
}

long osdk_parse_retry_after(const char *v, size_t n, time_t now)
{
    while (n && (*v == ' ' || *v == '\t'))
        v++, n--;
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' || v[n - 1] == '\n'))
        n--;
    if (!n || n > 64) return -1;
    size_t i;
    for (i = 0; i < n && isdigit((unsigned char)v[i]); i++)
        ;
    if (i == n) {
        if (n > 9) return 86400L * 365; /* absurd but valid: capped by the deadline */
        return strtol(v, NULL, 10);
    }
    char tmp[65];
    memcpy(tmp, v, n);
    tmp[n] = 0;
    time_t t = curl_getdate(tmp, NULL);
    if (t == (time_t)-1) return -1;
    return t > now ? (long)(t - now) : 0;
}

int osdk_parse_partial_success(const uint8_t *p, size_t n, int64_t *rejected, const char **msg,
                               size_t *msg_len)
{
    pbw_reader_t r;
    *rejected = 0;
    *msg = NULL;
    *msg_len = 0;
    pbw_reader_init(&r, p, n);
    while (r.p < r.end) {
        uint32_t f, wt;
        if (pbw_read_tag(&r, &f, &wt)) return -1;
        if (f == 1 && wt == PBW_LEN) {
            const uint8_t *sp;
            size_t sn;
            if (pbw_read_bytes(&r, &sp, &sn)) return -1;
            pbw_reader_t s;
            pbw_reader_init(&s, sp, sn);
            while (s.p < s.end) {
                uint32_t f2, wt2;
                if (pbw_read_tag(&s, &f2, &wt2)) return -1;
                if (f2 == 1 && wt2 == PBW_VARINT) {
                    uint64_t v;
                    if (pbw_read_varint(&s, &v)) return -1;
                    *rejected = (int64_t)v;
                } else if (f2 == 2 && wt2 == PBW_LEN) {
                    const uint8_t *mp;
                    if (pbw_read_bytes(&s, &mp, msg_len)) return -1;
                    *msg = (const char *)mp;
                } else if (pbw_skip(&s, wt2)) {
                    return -1;
                }
            }
        } else if (pbw_skip(&r, wt)) {
            return -1;
        }
    }
    return 0;
}

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    http_t *h = ud;
    size_t n = sz * nm;
    if (h->resp.len + n > RESP_CAP) {
        h->resp_truncated = 1;
        return 0; /* stops the transfer */
    }
    pbw_raw(&h->resp, p, n);
    return h->resp.err ? 0 : n;
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
    http_t *h = ud;
    size_t n = sz * nm;
    static const char name[] = "retry-after:";
    if (n > sizeof name - 1 && !strncasecmp(p, name, sizeof name - 1))
        h->retry_after =
            osdk_parse_retry_after(p + sizeof name - 1, n - (sizeof name - 1), time(NULL));
    return n;
}

static int add_header(void *ud, const char *k, const char *v)
{
    http_t *h = ud;
    size_t n = strlen(k) + strlen(v) + 3;
    char *line = osdk_malloc(n);
    if (!line) return OCELOT_ENOMEM;
    snprintf(line, n, "%s: %s", k, v);
    struct curl_slist *l = curl_slist_append(h->hdrs, line);
    osdk_free(line);
    if (!l) return OCELOT_ENOMEM;
    h->hdrs = l;
    return 0;
}

void osdk_http_destroy(void *hp)
{
    http_t *h = hp;
    if (!h) return;
    if (h->multi && h->easy) curl_multi_remove_handle(h->multi, h->easy);
    if (h->easy) curl_easy_cleanup(h->easy);
    if (h->multi) curl_multi_cleanup(h->multi);
    curl_slist_free_all(h->hdrs);
    osdk_free(h->url);
    pbw_free(&h->resp);
    pbw_free(&h->gz);
    osdk_free(h);
}

void *osdk_http_create(const osdk_export_cfg_t *cfg, int signal)
{
    (void)signal;
    http_t *h = osdk_calloc(sizeof *h);
    if (!h) return NULL;
    pbw_init(&h->resp, osdk_pbw_realloc, NULL);
    pbw_init(&h->gz, osdk_pbw_realloc, NULL);
    h->url = osdk_strdup(cfg->endpoint ? cfg->endpoint : "http://localhost:4318/v1/traces");
    h->gzip = cfg->gzip;
    h->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 10000;
    h->easy = curl_easy_init();
    h->multi = curl_multi_init();
    if (!h->url || !h->easy || !h->multi) goto fail;
    if (add_header(h, "Content-Type", "application/x-protobuf")) goto fail;
    if (h->gzip && add_header(h, "Content-Encoding", "gzip")) goto fail;
    struct curl_slist *l = curl_slist_append(h->hdrs, "Expect:");
    if (!l) goto fail;
    h->hdrs = l;
    if (cfg->headers && osdk_parse_kv_list(cfg->headers, add_header, h) < 0) goto fail;
    CURL *e = h->easy;
    curl_easy_setopt(e, CURLOPT_URL, h->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->hdrs);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "OTel-OTLP-Exporter-C/" OCELOT_VERSION);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)h->timeout_ms);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (cfg->certificate) curl_easy_setopt(e, CURLOPT_CAINFO, cfg->certificate);
    if (cfg->client_certificate) curl_easy_setopt(e, CURLOPT_SSLCERT, cfg->client_certificate);
    if (cfg->client_key) curl_easy_setopt(e, CURLOPT_SSLKEY, cfg->client_key);
    return h;
fail:
    osdk_http_destroy(h);
    return NULL;
}

static int gzip_body(http_t *h, const uint8_t *p, size_t n)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    size_t bound = deflateBound(&z, (uLong)n) + 32;
    pbw_reset(&h->gz);
    if (pbw_reserve(&h->gz, bound)) {
        deflateEnd(&z);
        return -1;
    }
    z.next_in = (Bytef *)(uintptr_t)p;
    z.avail_in = (uInt)n;
    z.next_out = h->gz.p;
    z.avail_out = (uInt)h->gz.cap;
    int rc = deflate(&z, Z_FINISH);
    h->gz.len = z.total_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END ? 0 : -1;
}

static int aborted(_Atomic uint64_t *abort_at, uint64_t now)
{
    uint64_t a = abort_at ? atomic_load(abort_at) : 0;
    return a && now >= a;
}

/* One attempt. Returns the HTTP status, or 0 on a transport failure, or
 * -1 when aborted by the deadline. */
static long attempt(http_t *h, const uint8_t *body, size_t len, uint64_t deadline,
                    _Atomic uint64_t *abort_at)
{
    uint64_t now = osdk_mono_ns();
    if (now >= deadline || aborted(abort_at, now)) return -1;
    uint64_t left_ms = (deadline - now) / 1000000u + 1;
    long tmo = (long)(left_ms < h->timeout_ms ? left_ms : h->timeout_ms);
    pbw_reset(&h->resp);
    h->resp_truncated = 0;
    h->retry_after = -1;
    curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, (const char *)body);
    curl_easy_setopt(h->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h->easy, CURLOPT_TIMEOUT_MS, tmo);
    if (curl_multi_add_handle(h->multi, h->easy) != CURLM_OK) return 0;
    int running = 1, stopped = 0;
    while (running) {
        if (curl_multi_perform(h->multi, &running) != CURLM_OK) break;
        if (!running) break;
        now = osdk_mono_ns();
        if (now >= deadline || aborted(abort_at, now)) {
            stopped = 1;
            break;
        }
        curl_multi_poll(h->multi, NULL, 0, 10, NULL);
    }
    CURLcode res = CURLE_OK;
    int got = 0, left;
    CURLMsg *m;
    while ((m = curl_multi_info_read(h->multi, &left)) != NULL)
        if (m->msg == CURLMSG_DONE) {
            res = m->data.result;
            got = 1;
        }
    curl_multi_remove_handle(h->multi, h->easy);
    if (stopped) return -1;
    long status = 0;
    curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
    if (!got) return 0;
    if (res == CURLE_WRITE_ERROR && h->resp_truncated && status) return status;
    if (res != CURLE_OK) return 0;
    return status;
}

static uint64_t jitter(uint64_t ms)
{
    uint64_t r = osdk_rand64() % (ms / 2 + 1);
    return ms / 2 + r;
}

int osdk_http_send(void *hp, const uint8_t *body, size_t len, _Atomic uint64_t *abort_at,
                   uint64_t deadline, int64_t *rejected)
{
    http_t *h = hp;
    *rejected = 0;
    if (h->gzip) {
        if (gzip_body(h, body, len)) return OCELOT_ENOMEM;
        body = h->gz.p;
        len = h->gz.len;
    }
    uint64_t backoff_ms = 1000;
    for (int tries = 0;; tries++) {
        long st = attempt(h, body, len, deadline, abort_at);
        if (st < 0) return OCELOT_ETIMEDOUT;
        int d = osdk_retry_decide(st, st == 0);
        if (d == OSDK_RETRY_OK) {
            if (h->resp.len && !h->resp_truncated) {
                const char *msg;
                size_t mn;
                if (osdk_parse_partial_success(h->resp.p, h->resp.len, rejected, &msg, &mn) == 0 &&
                    (*rejected || mn))
                    osdk_warn("export partially rejected: %lld rejected: %.*s",
                              (long long)*rejected, (int)(mn > 200 ? 200 : mn), msg ? msg : "");
            }
            return 0;
        }
        if (d == OSDK_RETRY_NO) {
            osdk_warn("export to %s failed with HTTP %ld (not retried)", h->url, st);
            return OCELOT_EIO;
        }
        /* Retry-After may lengthen the wait, never shorten it below the
         * backoff: "0" or a past date would otherwise retry back to back */
        uint64_t wait_ms = jitter(backoff_ms);
        if (h->retry_after > 0 && (uint64_t)h->retry_after * 1000u > wait_ms)
            wait_ms = (uint64_t)h->retry_after * 1000u;
        if (backoff_ms < 30000) backoff_ms *= 2;
        uint64_t now = osdk_mono_ns();
        if (now + wait_ms * 1000000u >= deadline) {
            osdk_warn("export to %s failed (%s%ld); no time left to retry", h->url,
                      st ? "HTTP " : "transport error ", st);
            return OCELOT_ETIMEDOUT;
        }
        osdk_count(&osdk_g.export_retries, 1);
        uint64_t until = now + wait_ms * 1000000u;
        while ((now = osdk_mono_ns()) < until) {
            if (aborted(abort_at, now)) return OCELOT_ETIMEDOUT;
            uint64_t step = until - now;
            if (step > 10000000u) step = 10000000u;
            struct timespec ts = {0, (long)step};
            nanosleep(&ts, NULL);
        }
    }
}
