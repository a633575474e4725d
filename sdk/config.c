/*
 * config.c — reads the OpenTelemetry SDK environment variables into an
 * osdk_config_t (defaults from the specification).
 *
 * Invariants: an invalid value is reported once on stderr ("ocelot: ignoring
 * invalid NAME=value: reason"), counted in n_warnings and replaced by the
 * default; an empty value counts as unset (as the spec says). Endpoint
 * rules: OTEL_EXPORTER_OTLP_ENDPOINT is a base URL to which v1/<signal> is
 * appended; OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT is used exactly as given.
 * Only OTLP/HTTP with protobuf is implemented; other protocols are warned
 * about and replaced.
 *
 * Workload: runs once per ocelot_init.
 */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <strings.h>

void osdk_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ocelot: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

typedef struct env {
    osdk_getenv_fn fn; /* NULL = getenv */
    void *ud;          /* passed to fn */
    osdk_config_t *c;  /* where warnings are counted */
    int quiet;         /* 1 = do not warn (a generic variable already warned about) */
} env_t;

static const char *get(env_t *e, const char *name)
{
    const char *v = e->fn ? e->fn(e->ud, name) : getenv(name);
    if (v && !*v) return NULL; /* empty = unset */
    return v;
}

static void bad(env_t *e, const char *name, const char *v, const char *why)
{
    if (e->quiet) return;
    e->c->n_warnings++;
    osdk_warn("ignoring invalid %s=%s: %s", name, v, why);
}

/* Trims ASCII blanks into a static-size copy; returns length or -1. */
static int trimmed(const char *v, char *out, size_t cap)
{
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (n >= cap) return -1;
    memcpy(out, v, n);
    out[n] = 0;
    return (int)n;
}

static void get_u32(env_t *e, const char *name, uint32_t *dst, uint32_t min)
{
    const char *v = get(e, name);
    if (!v) return;
    char t[32];
    if (trimmed(v, t, sizeof t) <= 0) {
        bad(e, name, v, "not a non-negative integer");
        return;
    }
    for (const char *p = t; *p; p++)
        if (!isdigit((unsigned char)*p)) {
            bad(e, name, v, "not a non-negative integer");
            return;
        }
    errno = 0;
    unsigned long long x = strtoull(t, NULL, 10);
    if (errno || x > UINT32_MAX) {
        bad(e, name, v, "out of range");
        return;
    }
    if (x < min) {
        bad(e, name, v, min == 1 ? "must be positive" : "too small");
        return;
    }
    *dst = (uint32_t)x;
}

static void get_bool(env_t *e, const char *name, int *dst)
{
    const char *v = get(e, name);
    if (!v) return;
    char t[16];
    if (trimmed(v, t, sizeof t) < 0) {
        bad(e, name, v, "expected true or false");
    } else if (!strcasecmp(t, "true")) {
        *dst = 1;
    } else if (!strcasecmp(t, "false")) {
        *dst = 0;
    } else {
        bad(e, name, v, "expected true or false");
    }
}

static int valid_url(const char *s)
{
    return !strncmp(s, "http://", 7) ? s[7] != 0 : !strncmp(s, "https://", 8) ? s[8] != 0 : 0;
}

static int set_str(char **dst, const char *v)
{
    char *d = osdk_strdup(v);
    if (!d) return OCELOT_ENOMEM;
    osdk_free(*dst);
    *dst = d;
    return 0;
}

static const char *const SIG_UP[3] = {"TRACES", "METRICS", "LOGS"};
static const char *const SIG_PATH[3] = {"v1/traces", "v1/metrics", "v1/logs"};

static int load_exporter(env_t *e, int sig)
{
    osdk_config_t *c = e->c;
    osdk_export_cfg_t *x = &c->exp[sig];
    char name[64];
    char t[32];

    /* OTEL_<SIGNAL>_EXPORTER */
    snprintf(name, sizeof name, "OTEL_%s_EXPORTER", SIG_UP[sig]);
    const char *v = get(e, name);
    if (v) {
        const char *comma = strchr(v, ',');
        size_t n = comma ? (size_t)(comma - v) : strlen(v);
        if (comma) bad(e, name, v, "only the first exporter is used");
        if (n < sizeof t) {
            memcpy(t, v, n);
            t[n] = 0;
        } else {
            t[0] = 0;
        }
        char tt[32];
        if (trimmed(t, tt, sizeof tt) < 0) tt[0] = 0;
        if (!strcmp(tt, "otlp"))
            x->kind = OCELOT_EXPORTER_OTLP;
        else if (!strcmp(tt, "console") || !strcmp(tt, "logging"))
            x->kind = OCELOT_EXPORTER_CONSOLE;
        else if (!strcmp(tt, "none"))
            x->kind = OCELOT_EXPORTER_NONE;
        else if (!comma)
            bad(e, name, v, "expected otlp, console or none");
    }

    /* protocol */
    snprintf(name, sizeof name, "OTEL_EXPORTER_OTLP_%s_PROTOCOL", SIG_UP[sig]);
    v = get(e, name);
    if (!v) v = get(e, strcpy(name, "OTEL_EXPORTER_OTLP_PROTOCOL")), e->quiet = sig > 0;
    if (v && strcmp(v, "http/protobuf") != 0) bad(e, name, v, "only http/protobuf is implemented");
    e->quiet = 0;

    /* endpoint */
    snprintf(name, sizeof name, "OTEL_EXPORTER_OTLP_%s_ENDPOINT", SIG_UP[sig]);
    v = get(e, name);
    if (v && !valid_url(v)) {
        bad(e, name, v, "not an http:// or https:// URL");
        v = NULL;
    }
    if (v) {
        if (set_str(&x->endpoint, v)) return OCELOT_ENOMEM;
    } else {
        const char *base = get(e, "OTEL_EXPORTER_OTLP_ENDPOINT");
        if (base && !valid_url(base)) {
            if (sig == 0)
                bad(e, "OTEL_EXPORTER_OTLP_ENDPOINT", base, "not an http:// or https:// URL");
            base = NULL;
        }
        if (!base) base = "http://localhost:4318";
        size_t bn = strlen(base);
        char *u = osdk_malloc(bn + 16);
        if (!u) return OCELOT_ENOMEM;
        snprintf(u, bn + 16, "%s%s%s", base, bn && base[bn - 1] == '/' ? "" : "/", SIG_PATH[sig]);
        osdk_free(x->endpoint);
        x->endpoint = u;
    }

    /* headers */
    snprintf(name, sizeof name, "OTEL_EXPORTER_OTLP_%s_HEADERS", SIG_UP[sig]);
    v = get(e, name);
    if (!v) v = get(e, strcpy(name, "OTEL_EXPORTER_OTLP_HEADERS")), e->quiet = sig > 0;
    if (v) {
        if (osdk_parse_kv_list(v, NULL, NULL) < 0)
            bad(e, name, v, "expected key=value pairs separated by commas");
        else if (set_str(&x->headers, v))
            return OCELOT_ENOMEM;
    }

    /* compression */
    snprintf(name, sizeof name, "OTEL_EXPORTER_OTLP_%s_COMPRESSION", SIG_UP[sig]);
    e->quiet = 0;
    v = get(e, name);
    if (!v) v = get(e, strcpy(name, "OTEL_EXPORTER_OTLP_COMPRESSION")), e->quiet = sig > 0;
    if (v) {
        if (!strcmp(v, "gzip"))
            x->gzip = 1;
        else if (!strcmp(v, "none"))
            x->gzip = 0;
        else
            bad(e, name, v, "expected gzip or none");
    }

    /* TLS files (https endpoints) */
    static const char *const tls_var[3] = {"CERTIFICATE", "CLIENT_KEY", "CLIENT_CERTIFICATE"};
    char **tls_dst[3] = {&x->certificate, &x->client_key, &x->client_certificate};
    for (int k = 0; k < 3; k++) {
        snprintf(name, sizeof name, "OTEL_EXPORTER_OTLP_%s_%s", SIG_UP[sig], tls_var[k]);
        v = get(e, name);
        if (!v) {
            snprintf(name, sizeof name, "OTEL_EXPORTER_OTLP_%s", tls_var[k]);
            v = get(e, name);
        }
        if (v && set_str(tls_dst[k], v)) return OCELOT_ENOMEM;
    }

    /* timeout */
    snprintf(name, sizeof name, "OTEL_EXPORTER_OTLP_%s_TIMEOUT", SIG_UP[sig]);
    e->quiet = 0;
    if (get(e, name)) {
        get_u32(e, name, &x->timeout_ms, 1);
    } else {
        e->quiet = sig > 0;
        get_u32(e, "OTEL_EXPORTER_OTLP_TIMEOUT", &x->timeout_ms, 1);
    }
    e->quiet = 0;
    return 0;
}

static void load_batch(env_t *e, const char *pfx, osdk_batch_cfg_t *b)
{
    char name[64];
    snprintf(name, sizeof name, "%s_SCHEDULE_DELAY", pfx);
    get_u32(e, name, &b->delay_ms, 0);
    snprintf(name, sizeof name, "%s_EXPORT_TIMEOUT", pfx);
    get_u32(e, name, &b->timeout_ms, 1);
    snprintf(name, sizeof name, "%s_MAX_QUEUE_SIZE", pfx);
    get_u32(e, name, &b->max_queue, 1);
    if (b->max_queue > (1u << 24)) b->max_queue = 1u << 24;
    snprintf(name, sizeof name, "%s_MAX_EXPORT_BATCH_SIZE", pfx);
    get_u32(e, name, &b->max_batch, 1);
    if (b->max_batch > b->max_queue) {
        e->c->n_warnings++;
        osdk_warn("%s (%u) is larger than the queue (%u); using %u", name, b->max_batch,
                  b->max_queue, b->max_queue);
        b->max_batch = b->max_queue;
    }
}

static void load_sampler(env_t *e)
{
    osdk_config_t *c = e->c;
    const char *v = get(e, "OTEL_TRACES_SAMPLER");
    if (v) {
        static const struct {
            const char *name;
            int id;
        } tab[] = {{"always_on", OSDK_SAMPLER_ALWAYS_ON},
                   {"always_off", OSDK_SAMPLER_ALWAYS_OFF},
                   {"traceidratio", OSDK_SAMPLER_RATIO},
                   {"parentbased_always_on", OSDK_SAMPLER_PB_ALWAYS_ON},
                   {"parentbased_always_off", OSDK_SAMPLER_PB_ALWAYS_OFF},
                   {"parentbased_traceidratio", OSDK_SAMPLER_PB_RATIO}};
        size_t i;
        for (i = 0; i < sizeof tab / sizeof tab[0]; i++)
            if (!strcmp(v, tab[i].name)) break;
        if (i < sizeof tab / sizeof tab[0])
            c->sampler = tab[i].id;
        else
            bad(e, "OTEL_TRACES_SAMPLER", v, "unknown or unsupported sampler");
    }
    v = get(e, "OTEL_TRACES_SAMPLER_ARG");
    if (v && (c->sampler == OSDK_SAMPLER_RATIO || c->sampler == OSDK_SAMPLER_PB_RATIO)) {
        char *end;
        errno = 0;
        double d = strtod(v, &end);
        while (*end == ' ')
            end++;
        if (errno || end == v || *end || !(d >= 0.0 && d <= 1.0))
            bad(e, "OTEL_TRACES_SAMPLER_ARG", v, "expected a probability in [0, 1]");
        else
            c->sampler_arg = d;
    }
}

static void load_propagators(env_t *e)
{
    const char *v = get(e, "OTEL_PROPAGATORS");
    if (!v) return;
    int bits = 0, ok = 1;
    const char *p = v;
    while (*p) {
        const char *q = strchr(p, ',');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        char t[40], tt[40];
        if (n < sizeof t) {
            memcpy(t, p, n);
            t[n] = 0;
        } else {
            t[0] = 0;
        }
        if (trimmed(t, tt, sizeof tt) < 0) tt[0] = 0;
        if (!strcmp(tt, "tracecontext"))
            bits |= OSDK_PROP_TRACECONTEXT;
        else if (!strcmp(tt, "baggage"))
            bits |= OSDK_PROP_BAGGAGE;
        else if (!strcmp(tt, "none"))
            ;
        else
            ok = 0;
        if (!q) break;
        p = q + 1;
    }
    if (!ok) bad(e, "OTEL_PROPAGATORS", v, "only tracecontext, baggage and none are implemented");
    e->c->propagators = bits;
}

static void load_limits(env_t *e)
{
    osdk_config_t *c = e->c;
    uint32_t count = 128, len = UINT32_MAX;
    get_u32(e, "OTEL_ATTRIBUTE_COUNT_LIMIT", &count, 0);
    get_u32(e, "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", &len, 0);
    osdk_limits_t *s = &c->span_limits;
    s->attr_count = count;
    s->value_len = len;
    s->event_count = s->link_count = 128;
    s->event_attr_count = s->link_attr_count = 128;
    get_u32(e, "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", &s->attr_count, 0);
    get_u32(e, "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", &s->value_len, 0);
    get_u32(e, "OTEL_SPAN_EVENT_COUNT_LIMIT", &s->event_count, 0);
    get_u32(e, "OTEL_SPAN_LINK_COUNT_LIMIT", &s->link_count, 0);
    get_u32(e, "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", &s->event_attr_count, 0);
    get_u32(e, "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", &s->link_attr_count, 0);
    osdk_limits_t *l = &c->log_limits;
    *l = *s;
    l->attr_count = count;
    l->value_len = len;
    get_u32(e, "OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT", &l->attr_count, 0);
    get_u32(e, "OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT", &l->value_len, 0);
}

int osdk_config_load(osdk_config_t *c, osdk_getenv_fn fn, void *ud)
{
    int rc = OCELOT_ENOMEM;
    memset(c, 0, sizeof *c);
    env_t e = {fn, ud, c};
    c->sampler = OSDK_SAMPLER_PB_ALWAYS_ON;
    c->sampler_arg = 1.0;
    c->propagators = OSDK_PROP_TRACECONTEXT | OSDK_PROP_BAGGAGE;
    c->bsp = (osdk_batch_cfg_t){2048, 512, 5000, 30000};
    c->blrp = (osdk_batch_cfg_t){2048, 512, 1000, 30000};
    c->metric_interval_ms = 60000;
    c->metric_timeout_ms = 30000;
    for (int i = 0; i < 3; i++) {
        c->exp[i].kind = OCELOT_EXPORTER_OTLP;
        c->exp[i].timeout_ms = 10000;
    }

    get_bool(&e, "OTEL_SDK_DISABLED", &c->disabled);
    const char *v = get(&e, "OTEL_SERVICE_NAME");
    if (v && set_str(&c->service_name, v)) goto done;
    v = get(&e, "OTEL_RESOURCE_ATTRIBUTES");
    if (v) {
        if (osdk_parse_kv_list(v, NULL, NULL) < 0)
            bad(&e, "OTEL_RESOURCE_ATTRIBUTES", v, "expected key=value pairs separated by commas");
        else if (set_str(&c->resource_attrs, v))
            goto done;
    }
    load_sampler(&e);
    load_propagators(&e);
    load_batch(&e, "OTEL_BSP", &c->bsp);
    load_batch(&e, "OTEL_BLRP", &c->blrp);
    get_u32(&e, "OTEL_METRIC_EXPORT_INTERVAL", &c->metric_interval_ms, 1);
    get_u32(&e, "OTEL_METRIC_EXPORT_TIMEOUT", &c->metric_timeout_ms, 1);
    v = get(&e, "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE");
    if (v) {
        if (!strcasecmp(v, "delta") || !strcasecmp(v, "lowmemory"))
            c->metric_delta = 1;
        else if (strcasecmp(v, "cumulative") != 0)
            bad(&e, "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", v,
                "expected cumulative, delta or lowmemory");
    }
    for (int i = 0; i < 3; i++)
        if (load_exporter(&e, i)) goto done;
    load_limits(&e);
    rc = 0;
done:
    if (rc) osdk_config_dispose(c);
    return rc;
}

void osdk_config_dispose(osdk_config_t *c)
{
    osdk_free(c->service_name);
    osdk_free(c->resource_attrs);
    for (int i = 0; i < 3; i++) {
        osdk_free(c->exp[i].endpoint);
        osdk_free(c->exp[i].headers);
        osdk_free(c->exp[i].certificate);
        osdk_free(c->exp[i].client_key);
        osdk_free(c->exp[i].client_certificate);
    }
    memset(c, 0, sizeof *c);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Copies [p, p+n) trimmed and percent-decoded into out (cap bytes). */
static int decode_part(const char *p, size_t n, char *out, size_t cap)
{
    while (n && (*p == ' ' || *p == '\t'))
        p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (ch == '%') {
            if (i + 2 >= n) return -1;
            int h = hexval(p[i + 1]), l = hexval(p[i + 2]);
            if (h < 0 || l < 0) return -1;
            ch = (char)(h * 16 + l);
            i += 2;
        }
        if (o + 1 >= cap) return -1;
        out[o++] = ch;
    }
    out[o] = 0;
    return (int)o;
}

int osdk_parse_kv_list(const char *s, int (*cb)(void *ud, const char *k, const char *v), void *ud)
{
    int count = 0;
    const char *p = s;
    char k[256], v[4096];
    while (*p) {
        const char *q = strchr(p, ',');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (!eq) {
            /* an all-blank member is tolerated */
            for (size_t i = 0; i < n; i++)
                if (p[i] != ' ' && p[i] != '\t') return OCELOT_EINVAL;
        } else {
            int kn = decode_part(p, (size_t)(eq - p), k, sizeof k);
            int vn = decode_part(eq + 1, n - (size_t)(eq - p) - 1, v, sizeof v);
            if (kn <= 0 || vn < 0) return OCELOT_EINVAL;
            if (cb) {
                int rc = cb(ud, k, v);
                if (rc) return rc;
            }
            count++;
        }
        if (!q) break;
        p = q + 1;
    }
    return count;
}
