/*
 * propagation.c — W3C Trace Context (traceparent, tracestate) and W3C
 * Baggage: parsing with every validation rule of the specifications,
 * formatting, inject/extract through carrier callbacks, and the libcurl
 * helper. The rules are listed in include/ocelot/propagation.h.
 *
 * Invariants: parsers never read past len, never allocate except to store
 * baggage members, and leave their output untouched (baggage) or invalid
 * (span context) on failure.
 *
 * Workload: once per incoming / outgoing request.
 */
#include "internal.h"
#include "ocelot/propagation.h"

#include <curl/curl.h>

static int hexv(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1; /* upper case is invalid in traceparent */
}

static int parse_hex(const char *s, size_t n, uint8_t *out)
{
    uint8_t any = 0;
    for (size_t i = 0; i < n; i++) {
        int h = hexv(s[2 * i]), l = hexv(s[2 * i + 1]);
        if (h < 0 || l < 0) return -1;
        out[i] = (uint8_t)(h << 4 | l);
        any |= out[i];
    }
    return any ? 0 : 1; /* 1 = all zero */
}

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t'))
        (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

int ocelot_traceparent_parse(const char *s, size_t len, ocelot_span_context_t *out)
{
    if (!out) return OCELOT_EINVAL;
    memset(out, 0, offsetof(ocelot_span_context_t, trace_state) + 1);
    if (!s) return OCELOT_EINVAL;
    trim(&s, &len);
    if (len < OCELOT_TRACEPARENT_LEN) return OCELOT_EINVAL;
    uint8_t ver;
    if (parse_hex(s, 1, &ver) < 0) return OCELOT_EINVAL;
    if (ver == 0xff) return OCELOT_EINVAL;
    if (ver == 0 && len != OCELOT_TRACEPARENT_LEN) return OCELOT_EINVAL;
    if (ver > 0 && len > OCELOT_TRACEPARENT_LEN && s[OCELOT_TRACEPARENT_LEN] != '-')
        return OCELOT_EINVAL;
    if (s[2] != '-' || s[35] != '-' || s[52] != '-') return OCELOT_EINVAL;
    uint8_t tid[16], sid[8], fl;
    if (parse_hex(s + 3, 16, tid) != 0) return OCELOT_EINVAL; /* bad hex or all zero */
    if (parse_hex(s + 36, 8, sid) != 0) return OCELOT_EINVAL;
    if (parse_hex(s + 53, 1, &fl) < 0) return OCELOT_EINVAL;
    memcpy(out->trace_id, tid, 16);
    memcpy(out->span_id, sid, 8);
    out->flags = fl & OCELOT_FLAG_SAMPLED; /* unknown flags are not propagated */
    out->is_remote = 1;
    return 0;
}

int ocelot_traceparent_format(const ocelot_span_context_t *c, char out[OCELOT_TRACEPARENT_LEN + 1])
{
    static const char d[] = "0123456789abcdef";
    if (!out) return OCELOT_EINVAL;
    out[0] = 0;
    if (!ocelot_span_context_valid(c)) return OCELOT_EINVAL;
    char *p = out;
    *p++ = '0';
    *p++ = '0';
    *p++ = '-';
    for (int i = 0; i < 16; i++) {
        *p++ = d[c->trace_id[i] >> 4];
        *p++ = d[c->trace_id[i] & 15];
    }
    *p++ = '-';
    for (int i = 0; i < 8; i++) {
        *p++ = d[c->span_id[i] >> 4];
        *p++ = d[c->span_id[i] & 15];
    }
    *p++ = '-';
    *p++ = '0';
    *p++ = d[c->flags & OCELOT_FLAG_SAMPLED];
    *p = 0;
    return 0;
}

/* ---- tracestate ---- */

static int lcalpha(int c)
{
    return c >= 'a' && c <= 'z';
}
static int digit(int c)
{
    return c >= '0' && c <= '9';
}
static int keychar(int c)
{
    return lcalpha(c) || digit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}

static int valid_ts_key(const char *k, size_t n)
{
    const char *at = memchr(k, '@', n);
    if (!at) {
        if (n < 1 || n > 256 || !lcalpha(k[0])) return 0;
        for (size_t i = 1; i < n; i++)
            if (!keychar(k[i])) return 0;
        return 1;
    }
    size_t tn = (size_t)(at - k), sn = n - tn - 1;
    if (tn < 1 || tn > 241 || sn < 1 || sn > 14) return 0;
    if (!lcalpha(k[0]) && !digit(k[0])) return 0;
    for (size_t i = 1; i < tn; i++)
        if (!keychar(k[i])) return 0;
    if (!lcalpha(at[1])) return 0;
    for (size_t i = 1; i < sn; i++)
        if (!keychar(at[1 + i])) return 0;
    return 1;
}

static int valid_ts_value(const char *v, size_t n)
{
    if (n < 1 || n > 256) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c > 0x7e || c == ',' || c == '=') return 0;
    }
    return v[n - 1] != ' ';
}

/* Member i: [ks, ks+kn) key. Returns members or -1. */
int ocelot_tracestate_validate(const char *s, size_t len)
{
    if (!s) return OCELOT_EINVAL;
    struct {
        const char *k;
        size_t n;
    } keys[OCELOT_TRACESTATE_MAX_MEMBERS];
    int count = 0;
    size_t i = 0;
    for (;;) {
        size_t j = i;
        while (j < len && s[j] != ',')
            j++;
        const char *m = s + i;
        size_t mn = j - i;
        trim(&m, &mn);
        if (mn) {
            const char *eq = memchr(m, '=', mn);
            if (!eq) return OCELOT_EINVAL;
            size_t kn = (size_t)(eq - m);
            if (!valid_ts_key(m, kn) || !valid_ts_value(eq + 1, mn - kn - 1)) return OCELOT_EINVAL;
            if (count == OCELOT_TRACESTATE_MAX_MEMBERS) return OCELOT_EINVAL;
            for (int k = 0; k < count; k++)
                if (keys[k].n == kn && !memcmp(keys[k].k, m, kn)) return OCELOT_EINVAL;
            keys[count].k = m;
            keys[count].n = kn;
            count++;
        }
        if (j >= len) break;
        i = j + 1;
    }
    return count;
}

/* Copies a valid tracestate into c, dropping trailing members that would
 * pass OCELOT_TRACESTATE_MAX characters, and normalising separators. */
static void store_tracestate(ocelot_span_context_t *c, const char *s, size_t len)
{
    size_t o = 0, i = 0;
    for (;;) {
        size_t j = i;
        while (j < len && s[j] != ',')
            j++;
        const char *m = s + i;
        size_t mn = j - i;
        trim(&m, &mn);
        if (mn) {
            size_t need = mn + (o ? 1 : 0);
            if (o + need > OCELOT_TRACESTATE_MAX) break;
            if (o) c->trace_state[o++] = ',';
            memcpy(c->trace_state + o, m, mn);
            o += mn;
        }
        if (j >= len) break;
        i = j + 1;
    }
    c->trace_state[o] = 0;
    c->trace_state_len = (uint16_t)o;
}

/* ---- baggage ---- */

typedef struct bmember {
    char *key;   /* token */
    char *value; /* decoded */
    char *props; /* verbatim properties after the first ';' or NULL */
} bmember_t;

struct ocelot_baggage {
    bmember_t *v; /* members in insertion order */
    size_t n;     /* used */
    size_t cap;   /* allocated */
};

ocelot_baggage_t *ocelot_baggage_create(void)
{
    return osdk_calloc(sizeof(ocelot_baggage_t));
}

static void free_member(bmember_t *m)
{
    osdk_free(m->key);
    osdk_free(m->value);
    osdk_free(m->props);
}

void ocelot_baggage_destroy(ocelot_baggage_t *b)
{
    if (!b) return;
    for (size_t i = 0; i < b->n; i++)
        free_member(&b->v[i]);
    osdk_free(b->v);
    osdk_free(b);
}

static int tchar(int c)
{
    /* RFC 7230 token characters */
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || digit(c) ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int valid_token(const char *s, size_t n)
{
    if (!n) return 0;
    for (size_t i = 0; i < n; i++)
        if (!tchar((unsigned char)s[i])) return 0;
    return 1;
}

static int boctet(int c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a) ||
           (c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

static size_t enc_len(const char *v)
{
    size_t n = 0;
    for (; *v; v++)
        n += (boctet((unsigned char)*v) && *v != '%') ? 1 : 3;
    return n;
}

static size_t member_len(const bmember_t *m)
{
    return strlen(m->key) + 1 + enc_len(m->value) + (m->props ? 1 + strlen(m->props) : 0);
}

static size_t total_len(const ocelot_baggage_t *b, size_t skip)
{
    size_t t = 0;
    for (size_t i = 0; i < b->n; i++)
        if (i != skip) t += member_len(&b->v[i]) + 1;
    return t;
}

int ocelot_baggage_set(ocelot_baggage_t *b, const char *key, const char *value, const char *props)
{
    if (!b || !key || !value || !valid_token(key, strlen(key))) return OCELOT_EINVAL;
    size_t idx = b->n;
    for (size_t i = 0; i < b->n; i++)
        if (!strcmp(b->v[i].key, key)) idx = i;
    bmember_t m = {osdk_strdup(key), osdk_strdup(value),
                   props && *props ? osdk_strdup(props) : NULL};
    if (!m.key || !m.value || (props && *props && !m.props)) {
        free_member(&m);
        return OCELOT_ENOMEM;
    }
    size_t total = total_len(b, idx) + member_len(&m);
    if (total - 1 > OCELOT_BAGGAGE_MAX_BYTES ||
        (idx == b->n && b->n >= OCELOT_BAGGAGE_MAX_MEMBERS)) {
        free_member(&m);
        return OCELOT_EFULL;
    }
    if (idx < b->n) {
        free_member(&b->v[idx]);
        b->v[idx] = m;
        return 0;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 8;
        bmember_t *nv = osdk_realloc(b->v, cap * sizeof *nv);
        if (!nv) {
            free_member(&m);
            return OCELOT_ENOMEM;
        }
        b->v = nv;
        b->cap = cap;
    }
    b->v[b->n++] = m;
    return 0;
}

const char *ocelot_baggage_get(const ocelot_baggage_t *b, const char *key)
{
    if (!b || !key) return NULL;
    for (size_t i = 0; i < b->n; i++)
        if (!strcmp(b->v[i].key, key)) return b->v[i].value;
    return NULL;
}

int ocelot_baggage_remove(ocelot_baggage_t *b, const char *key)
{
    if (!b || !key) return OCELOT_EINVAL;
    for (size_t i = 0; i < b->n; i++)
        if (!strcmp(b->v[i].key, key)) {
            free_member(&b->v[i]);
            memmove(&b->v[i], &b->v[i + 1], (b->n - i - 1) * sizeof *b->v);
            b->n--;
            return 0;
        }
    return OCELOT_EINVAL;
}

size_t ocelot_baggage_count(const ocelot_baggage_t *b)
{
    return b ? b->n : 0;
}

int ocelot_baggage_entry(const ocelot_baggage_t *b, size_t i, const char **key, const char **value,
                         const char **props)
{
    if (!b || i >= b->n) return OCELOT_EINVAL;
    if (key) *key = b->v[i].key;
    if (value) *value = b->v[i].value;
    if (props) *props = b->v[i].props;
    return 0;
}

static int hexany(int c)
{
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return hexv(c);
}

/* Validates and decodes a value into out (NUL-terminated); -1 if invalid. */
static int decode_value(const char *v, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c == '%') {
            if (i + 2 >= n) return -1;
            int h = hexany(v[i + 1]), l = hexany(v[i + 2]);
            if (h < 0 || l < 0) return -1;
            out[o++] = (char)(h * 16 + l);
            i += 2;
        } else if (boctet(c)) {
            out[o++] = (char)c;
        } else {
            return -1;
        }
    }
    out[o] = 0;
    return 0;
}

/* Validates a property: key or key=value (OWS around '='). */
static int valid_prop(const char *p, size_t n)
{
    trim(&p, &n);
    const char *eq = memchr(p, '=', n);
    if (!eq) return valid_token(p, n);
    const char *k = p, *v = eq + 1;
    size_t kn = (size_t)(eq - p), vn = n - kn - 1;
    trim(&k, &kn);
    trim(&v, &vn);
    if (!valid_token(k, kn)) return 0;
    for (size_t i = 0; i < vn; i++)
        if (!boctet((unsigned char)v[i])) return 0;
    return 1;
}

int ocelot_baggage_parse(ocelot_baggage_t *b, const char *s, size_t len)
{
    if (!b || !s) return OCELOT_EINVAL;
    if (len > OCELOT_BAGGAGE_MAX_BYTES) return OCELOT_EINVAL;
    ocelot_baggage_t tmp = {0};
    char *val = osdk_malloc(len + 1), *key = osdk_malloc(len + 1);
    int rc = OCELOT_ENOMEM;
    if (!val || !key) goto done;
    rc = OCELOT_EINVAL;
    size_t i = 0, members = 0;
    for (;;) {
        size_t j = i;
        while (j < len && s[j] != ',')
            j++;
        const char *m = s + i;
        size_t mn = j - i;
        trim(&m, &mn);
        if (mn) {
            if (++members > OCELOT_BAGGAGE_MAX_MEMBERS) goto done;
            const char *semi = memchr(m, ';', mn);
            size_t kvn = semi ? (size_t)(semi - m) : mn;
            const char *eq = memchr(m, '=', kvn);
            if (!eq) goto done;
            const char *k = m, *v = eq + 1;
            size_t kn = (size_t)(eq - m), vn = kvn - kn - 1;
            trim(&k, &kn);
            trim(&v, &vn);
            if (!valid_token(k, kn)) goto done;
            if (decode_value(v, vn, val)) goto done;
            memcpy(key, k, kn);
            key[kn] = 0;
            const char *props = NULL;
            char *pcopy = NULL;
            if (semi) {
                const char *p = semi + 1;
                size_t pn = mn - kvn - 1;
                /* each ';'-separated property must be valid */
                size_t a = 0;
                for (;;) {
                    size_t e = a;
                    while (e < pn && p[e] != ';')
                        e++;
                    if (!valid_prop(p + a, e - a)) goto done;
                    if (e >= pn) break;
                    a = e + 1;
                }
                pcopy = osdk_malloc(pn + 1);
                if (!pcopy) {
                    rc = OCELOT_ENOMEM;
                    goto done;
                }
                memcpy(pcopy, p, pn);
                pcopy[pn] = 0;
                props = pcopy;
            }
            int r = ocelot_baggage_set(&tmp, key, val, props);
            osdk_free(pcopy);
            if (r == OCELOT_ENOMEM) {
                rc = r;
                goto done;
            }
            if (r) goto done;
        }
        if (j >= len) break;
        i = j + 1;
    }
    /* merge into b */
    for (size_t k = 0; k < tmp.n; k++) {
        int r = ocelot_baggage_set(b, tmp.v[k].key, tmp.v[k].value, tmp.v[k].props);
        if (r == OCELOT_ENOMEM) {
            rc = r;
            goto done;
        }
    }
    rc = 0;
done:
    for (size_t k = 0; k < tmp.n; k++)
        free_member(&tmp.v[k]);
    osdk_free(tmp.v);
    osdk_free(val);
    osdk_free(key);
    return rc;
}

int ocelot_baggage_format(const ocelot_baggage_t *b, char *out, size_t cap)
{
    static const char d[] = "0123456789ABCDEF";
    if (!out || !cap) return OCELOT_EINVAL;
    size_t o = 0;
    out[0] = 0;
    for (size_t i = 0; b && i < b->n; i++) {
        const bmember_t *m = &b->v[i];
        size_t need = member_len(m) + (i ? 1 : 0);
        if (o + need + 1 > cap) return OCELOT_EFULL;
        if (i) out[o++] = ',';
        size_t kn = strlen(m->key);
        memcpy(out + o, m->key, kn);
        o += kn;
        out[o++] = '=';
        for (const char *v = m->value; *v; v++) {
            unsigned char c = (unsigned char)*v;
            if (boctet(c) && c != '%') {
                out[o++] = (char)c;
            } else {
                out[o++] = '%';
                out[o++] = d[c >> 4];
                out[o++] = d[c & 15];
            }
        }
        if (m->props) {
            out[o++] = ';';
            size_t pn = strlen(m->props);
            memcpy(out + o, m->props, pn);
            o += pn;
        }
    }
    out[o] = 0;
    return (int)o;
}

/* ---- inject / extract ---- */

static int propagators(void)
{
    return osdk_hot()->propagators; /* the defaults when not initialised */
}

int ocelot_extract(ocelot_carrier_get_fn get, void *carrier, ocelot_span_context_t *out,
                   ocelot_baggage_t **bag_out)
{
    if (bag_out) *bag_out = NULL;
    if (!get || !out) return OCELOT_EINVAL;
    memset(out, 0, offsetof(ocelot_span_context_t, trace_state) + 1);
    int props = propagators();
    int rc = OCELOT_EINVAL;
    size_t n = 0;
    const char *v;
    if (props & OSDK_PROP_TRACECONTEXT) {
        v = get(carrier, "traceparent", &n);
        if (v && ocelot_traceparent_parse(v, n, out) == 0) {
            rc = 0;
            n = 0;
            v = get(carrier, "tracestate", &n);
            if (v && ocelot_tracestate_validate(v, n) > 0) store_tracestate(out, v, n);
        }
    }
    if (bag_out && (props & OSDK_PROP_BAGGAGE)) {
        n = 0;
        v = get(carrier, "baggage", &n);
        if (v) {
            ocelot_baggage_t *b = ocelot_baggage_create();
            if (b && ocelot_baggage_parse(b, v, n) == 0 && b->n)
                *bag_out = b;
            else
                ocelot_baggage_destroy(b);
        }
    }
    return rc;
}

int ocelot_inject(const ocelot_span_context_t *ctx, const ocelot_baggage_t *bag,
                  ocelot_carrier_set_fn set, void *carrier)
{
    if (!set) return OCELOT_EINVAL;
    int props = propagators();
    int rc;
    if ((props & OSDK_PROP_TRACECONTEXT) && ocelot_span_context_valid(ctx)) {
        char tp[OCELOT_TRACEPARENT_LEN + 1];
        ocelot_traceparent_format(ctx, tp);
        if ((rc = set(carrier, "traceparent", tp)) != 0) return rc;
        if (ctx->trace_state_len && ctx->trace_state_len <= OCELOT_TRACESTATE_MAX) {
            char ts[OCELOT_TRACESTATE_MAX + 1];
            memcpy(ts, ctx->trace_state, ctx->trace_state_len);
            ts[ctx->trace_state_len] = 0;
            if ((rc = set(carrier, "tracestate", ts)) != 0) return rc;
        }
    }
    if ((props & OSDK_PROP_BAGGAGE) && bag && bag->n) {
        char *buf = osdk_malloc(OCELOT_BAGGAGE_MAX_BYTES + 1);
        if (!buf) return OCELOT_ENOMEM;
        int n = ocelot_baggage_format(bag, buf, OCELOT_BAGGAGE_MAX_BYTES + 1);
        rc = n > 0 ? set(carrier, "baggage", buf) : 0;
        osdk_free(buf);
        if (rc) return rc;
    }
    return 0;
}

/* ---- libcurl ---- */

typedef struct curl_carrier {
    struct curl_slist *list; /* current head */
    int failed;              /* an append failed */
} curl_carrier_t;

static int curl_set(void *c, const char *key, const char *value)
{
    curl_carrier_t *cc = c;
    size_t n = strlen(key) + strlen(value) + 3;
    char *line = osdk_malloc(n);
    if (!line) return OCELOT_ENOMEM;
    snprintf(line, n, "%s: %s", key, value);
    struct curl_slist *l = curl_slist_append(cc->list, line);
    osdk_free(line);
    if (!l) {
        cc->failed = 1;
        return OCELOT_ENOMEM;
    }
    cc->list = l;
    return 0;
}

struct curl_slist *ocelot_curl_inject(struct curl_slist *list, const ocelot_span_context_t *ctx,
                                      const ocelot_baggage_t *bag)
{
    curl_carrier_t cc = {list, 0};
    ocelot_inject(ctx, bag, curl_set, &cc);
    return cc.list;
}
