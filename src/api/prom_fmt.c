/*
 * prom_fmt.c — Prometheus API parameter parsing and number/string
 * rendering (see prom_fmt.h).
 *
 * Floats: the shortest round-trip digits come from ocl_fmt_shortest
 * (api/fmt_shortest.c, no printf/strtod), then are laid out like Go's
 * strconv ('f' or 'e' with an exponent of at least two digits).
 * Workload: a matrix answer renders one timestamp and one value per point,
 * up to 11,000 points per series times thousands of series.
 */
#include "api/prom_fmt.h"
#include "api/fmt_shortest.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* --- Go-style quoting for error messages ------------------------------- */

/* Appends s quoted roughly like Go's %q (escapes quotes, backslashes and
 * control bytes); used only inside error messages. */
static void go_quote(char *dst, size_t cap, ocl_str_t s)
{
    size_t o = 0;
    if (cap < 4) {
        if (cap) dst[0] = 0;
        return;
    }
    dst[o++] = '"';
    for (size_t i = 0; i < s.n && o + 6 < cap; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c == '"' || c == '\\') {
            dst[o++] = '\\';
            dst[o++] = (char)c;
        } else if (c == '\n') {
            dst[o++] = '\\', dst[o++] = 'n';
        } else if (c == '\t') {
            dst[o++] = '\\', dst[o++] = 't';
        } else if (c == '\r') {
            dst[o++] = '\\', dst[o++] = 'r';
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", c);
        } else {
            dst[o++] = (char)c;
        }
    }
    dst[o++] = '"';
    dst[o] = 0;
}

/* --- forms ---------------------------------------------------------------- */

static int hexv(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Unescapes p[0..n) into the arena; plus = whether '+' means space. On a
 * bad escape writes Go's message and returns OCL_EINVAL. */
static int unescape(ocl_arena_t *a, const char *p, size_t n, bool plus, ocl_str_t *out, char *err,
                    size_t errlen)
{
    char *d = ocl_arena_alloc(a, n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '%') {
            if (i + 2 >= n || hexv(p[i + 1]) < 0 || hexv(p[i + 2]) < 0) {
                size_t el = n - i < 3 ? n - i : 3;
                if (err) {
                    char q[16];
                    go_quote(q, sizeof q, (ocl_str_t){p + i, el});
                    snprintf(err, errlen, "invalid URL escape %s", q);
                }
                return OCL_EINVAL;
            }
            d[o++] = (char)(hexv(p[i + 1]) << 4 | hexv(p[i + 2]));
            i += 2;
        } else if (c == '+' && plus) {
            d[o++] = ' ';
        } else {
            d[o++] = c;
        }
    }
    d[o] = 0;
    *out = (ocl_str_t){d, o};
    return 0;
}

int ocl_form_parse(ocl_form_t *f, ocl_arena_t *a, const char *p, size_t n, char *err, size_t errlen)
{
    int rc = 0;
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && p[j] != '&')
            j++;
        if (j > i) {
            size_t eq = i;
            while (eq < j && p[eq] != '=')
                eq++;
            ocl_str_t k, v = {"", 0};
            char e2[64];
            int r1 = unescape(a, p + i, eq - i, true, &k, e2, sizeof e2);
            int r2 = r1 == 0 && eq < j
                         ? unescape(a, p + eq + 1, j - eq - 1, true, &v, e2, sizeof e2)
                         : r1;
            if (r1 != 0 || r2 != 0) {
                /* Go skips the bad pair and reports the first error. */
                if (rc == 0 && err) snprintf(err, errlen, "%s", e2);
                rc = OCL_EINVAL;
            } else {
                if (f->n >= OCL_FORM_MAX_FIELDS) {
                    if (err)
                        snprintf(err, errlen, "too many form fields (over %d)",
                                 OCL_FORM_MAX_FIELDS);
                    return OCL_ETOOBIG;
                }
                if (f->n == f->cap) {
                    size_t nc = f->cap ? f->cap * 2 : 16;
                    f->kv = ocl_arena_realloc(a, f->kv, f->cap * sizeof *f->kv, nc * sizeof *f->kv);
                    f->cap = nc;
                }
                f->kv[f->n++] = (ocl_form_kv_t){k, v};
            }
        }
        i = j + 1;
    }
    return rc;
}

ocl_str_t ocl_form_get(const ocl_form_t *f, const char *key, bool *found)
{
    for (size_t i = 0; i < f->n; i++)
        if (ocl_str_eq_c(f->kv[i].key, key)) {
            if (found) *found = true;
            return f->kv[i].val;
        }
    if (found) *found = false;
    return (ocl_str_t){"", 0};
}

size_t ocl_form_all(const ocl_form_t *f, const char *key, ocl_str_t *out, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < f->n; i++)
        if (ocl_str_eq_c(f->kv[i].key, key)) {
            if (k < max) out[k] = f->kv[i].val;
            k++;
        }
    return k;
}

int ocl_url_path_unescape(ocl_arena_t *a, ocl_str_t in, ocl_str_t *out)
{
    return unescape(a, in.p ? in.p : "", in.n, false, out, NULL, 0);
}

ocl_str_t ocl_prom_unescape_label_name(ocl_arena_t *a, ocl_str_t in)
{
    if (in.n < 3 || memcmp(in.p, "U__", 3) != 0) return in;
    /* Never longer than the input (see the UTF-8 lengths below). */
    char *d = ocl_arena_alloc(a, in.n + 1);
    size_t o = 0;
    for (size_t i = 3; i < in.n; i++) {
        char c = in.p[i];
        if (c != '_') {
            d[o++] = c;
            continue;
        }
        if (++i >= in.n) return in;
        if (in.p[i] == '_') {
            d[o++] = '_';
            continue;
        }
        uint32_t cp = 0;
        size_t nd = 0;
        while (i < in.n && in.p[i] != '_') {
            int h = hexv(in.p[i]);
            if (h < 0 || ++nd > 5) return in; /* Go gives up after 5 digits */
            cp = cp << 4 | (uint32_t)h;
            i++;
        }
        if (i >= in.n || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return in;
        /* UTF-8 of cp: "_<hex>_" took nd + 2 >= 3 bytes; 2 output bytes
         * need nd >= 2, 3 need nd >= 3, 4 need nd = 5. */
        if (cp < 0x80) {
            d[o++] = (char)cp;
        } else if (cp < 0x800) {
            d[o++] = (char)(0xc0 | cp >> 6);
            d[o++] = (char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            d[o++] = (char)(0xe0 | cp >> 12);
            d[o++] = (char)(0x80 | (cp >> 6 & 0x3f));
            d[o++] = (char)(0x80 | (cp & 0x3f));
        } else {
            d[o++] = (char)(0xf0 | cp >> 18);
            d[o++] = (char)(0x80 | (cp >> 12 & 0x3f));
            d[o++] = (char)(0x80 | (cp >> 6 & 0x3f));
            d[o++] = (char)(0x80 | (cp & 0x3f));
        }
    }
    d[o] = 0;
    return (ocl_str_t){d, o};
}

/* --- numbers in parameters --------------------------------------------- */

/* Go's strconv.ParseFloat syntax (decimal, inf/infinity/nan, hex floats
 * with a mandatory p exponent; no underscores) → strtod. 0 or OCL_EINVAL
 * (also for overflow to infinity, which Go reports as ErrRange). */
static int go_parse_float(ocl_str_t s, double *out)
{
    char tmp[128];
    if (s.n == 0 || s.n >= sizeof tmp) return OCL_EINVAL;
    memcpy(tmp, s.p, s.n);
    tmp[s.n] = 0;
    const char *p = tmp;
    if (*p == '+' || *p == '-') p++;
    if (!strcasecmp(p, "inf") || !strcasecmp(p, "infinity")) {
        *out = tmp[0] == '-' ? -INFINITY : INFINITY;
        return 0;
    }
    if (!strcasecmp(p, "nan")) {
        *out = NAN;
        return 0;
    }
    bool hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
    const char *q = hex ? p + 2 : p;
    int digits = 0;
    while (hex ? hexv(*q) >= 0 : (*q >= '0' && *q <= '9'))
        q++, digits++;
    if (*q == '.') {
        q++;
        while (hex ? hexv(*q) >= 0 : (*q >= '0' && *q <= '9'))
            q++, digits++;
    }
    if (!digits) return OCL_EINVAL;
    if (hex ? (*q == 'p' || *q == 'P') : (*q == 'e' || *q == 'E')) {
        q++;
        if (*q == '+' || *q == '-') q++;
        if (!(*q >= '0' && *q <= '9')) return OCL_EINVAL;
        while (*q >= '0' && *q <= '9')
            q++;
    } else if (hex) {
        return OCL_EINVAL;
    }
    if (*q) return OCL_EINVAL;
    errno = 0;
    double v = strtod(tmp, NULL);
    if (errno == ERANGE && isinf(v)) return OCL_EINVAL;
    *out = v;
    return 0;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int num(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* RFC 3339 as Go's time.Parse(time.RFC3339Nano) accepts it. */
static int parse_rfc3339(ocl_str_t s, int64_t *ms)
{
    const char *p = s.p;
    size_t n = s.n;
    if (n < 20 || p[4] != '-' || p[7] != '-' || p[10] != 'T' || p[13] != ':' || p[16] != ':')
        return OCL_EINVAL;
    int y = num(p, 4), mo = num(p + 5, 2), d = num(p + 8, 2), h = num(p + 11, 2),
        mi = num(p + 14, 2), se = num(p + 17, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 ||
        se > 59)
        return OCL_EINVAL;
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int dim = mdays[mo - 1] + (mo == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)));
    if (d > dim) return OCL_EINVAL;
    size_t i = 19;
    int64_t nanos = 0;
    if (i < n && p[i] == '.') {
        i++;
        int nd = 0;
        while (i < n && p[i] >= '0' && p[i] <= '9') {
            if (nd < 9) nanos = nanos * 10 + (p[i] - '0');
            nd++, i++;
        }
        if (nd == 0) return OCL_EINVAL;
        for (int k = nd; k < 9; k++)
            nanos *= 10;
    }
    int64_t off = 0;
    if (i + 1 == n && p[i] == 'Z') {
        i++;
    } else if (i + 6 == n && (p[i] == '+' || p[i] == '-') && p[i + 3] == ':') {
        int oh = num(p + i + 1, 2), om = num(p + i + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59) return OCL_EINVAL;
        off = (int64_t)(oh * 3600 + om * 60) * (p[i] == '-' ? -1 : 1);
        i += 6;
    } else {
        return OCL_EINVAL;
    }
    int64_t secs =
        days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se - off;
    *ms = secs * 1000 + nanos / 1000000;
    return 0;
}

int ocl_prom_parse_time(ocl_str_t s, int64_t *ms, char *err, size_t errlen)
{
    double t;
    if (go_parse_float(s, &t) == 0 && isfinite(t)) {
        /* parseTime: s, ns := math.Modf(t); ns = math.Round(ns*1000)/1000;
         * time.Unix(int64(s), int64(ns*1e9)); then ms = Unix()*1000 +
         * Nanosecond()/1e6. Out-of-range seconds are clamped. */
        double ip, fr = modf(t, &ip);
        if (ip < -9.2e15 || ip > 9.2e15) {
            *ms = ip < 0 ? OCL_PROM_MIN_TIME_MS : OCL_PROM_MAX_TIME_MS;
            return 0;
        }
        fr = round(fr * 1000) / 1000;
        int64_t sec = (int64_t)ip, nsec = (int64_t)(fr * 1e9);
        if (nsec < 0) sec -= 1, nsec += 1000000000;
        *ms = sec * 1000 + nsec / 1000000;
        return 0;
    }
    if (parse_rfc3339(s, ms) == 0) return 0;
    if (ocl_str_eq_c(s, "-292273086-05-16T16:47:06Z")) {
        *ms = OCL_PROM_MIN_TIME_MS;
        return 0;
    }
    if (ocl_str_eq_c(s, "292277025-08-18T07:12:54.999999999Z")) {
        *ms = OCL_PROM_MAX_TIME_MS;
        return 0;
    }
    if (err) {
        char q[160];
        go_quote(q, sizeof q, s);
        snprintf(err, errlen, "cannot parse %s to a valid timestamp", q);
    }
    return OCL_EINVAL;
}

/* model.ParseDuration: [0-9]+ unit, units in order y w d h m s ms, "0" alone ok. */
static int prom_model_duration(ocl_str_t s, int64_t *ns)
{
    static const struct {
        const char *u; /* unit */
        uint64_t mult; /* nanoseconds */
    } units[] = {{"y", 365ULL * 86400 * 1000000000},
                 {"w", 7ULL * 86400 * 1000000000},
                 {"d", 86400ULL * 1000000000},
                 {"h", 3600ULL * 1000000000},
                 {"m", 60ULL * 1000000000},
                 {"s", 1000000000ULL},
                 {"ms", 1000000ULL}};
    if (ocl_str_eq_c(s, "0")) {
        *ns = 0;
        return 0;
    }
    if (s.n == 0) return OCL_EINVAL;
    uint64_t dur = 0;
    int last = -1;
    size_t i = 0;
    while (i < s.n) {
        if (s.p[i] < '0' || s.p[i] > '9') return OCL_EINVAL;
        uint64_t v = 0;
        while (i < s.n && s.p[i] >= '0' && s.p[i] <= '9') {
            if (v > (UINT64_MAX - 9) / 10) return OCL_EINVAL;
            v = v * 10 + (uint64_t)(s.p[i++] - '0');
        }
        size_t us = i;
        while (i < s.n && !(s.p[i] >= '0' && s.p[i] <= '9'))
            i++;
        ocl_str_t u = {s.p + us, i - us};
        int k = -1;
        for (int j = 0; j < (int)OCL_ARRAY_LEN(units); j++)
            if (ocl_str_eq_c(u, units[j].u)) k = j;
        if (k < 0 || k <= last) return OCL_EINVAL;
        last = k;
        if (v > (1ULL << 63) / units[k].mult) return OCL_EINVAL;
        dur += v * units[k].mult;
        if (dur > (uint64_t)INT64_MAX) return OCL_EINVAL;
    }
    *ns = (int64_t)dur;
    return 0;
}

int ocl_prom_parse_duration(ocl_str_t s, int64_t *ns, char *err, size_t errlen)
{
    double d;
    char q[160];
    if (go_parse_float(s, &d) == 0) {
        double t = d * 1e9;
        if (t >= 9223372036854775807.0 || t < -9223372036854775808.0 || isnan(t)) {
            if (err) {
                go_quote(q, sizeof q, s);
                snprintf(err, errlen, "cannot parse %s to a valid duration. It overflows int64", q);
            }
            return OCL_EINVAL;
        }
        *ns = (int64_t)t;
        return 0;
    }
    if (prom_model_duration(s, ns) == 0) return 0;
    if (err) {
        go_quote(q, sizeof q, s);
        snprintf(err, errlen, "cannot parse %s to a valid duration", q);
    }
    return OCL_EINVAL;
}

int ocl_prom_parse_int(ocl_str_t s, int64_t *v, char *err, size_t errlen)
{
    char q[160];
    size_t i = 0;
    bool neg = false;
    if (s.n && (s.p[0] == '+' || s.p[0] == '-')) neg = s.p[0] == '-', i = 1;
    uint64_t acc = 0;
    bool range = false;
    if (i == s.n) goto syntax;
    for (; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9') goto syntax;
        if (acc > (UINT64_MAX - 9) / 10)
            range = true;
        else
            acc = acc * 10 + (uint64_t)(s.p[i] - '0');
    }
    if (range || acc > (uint64_t)INT64_MAX + (neg ? 1 : 0)) {
        if (err) {
            go_quote(q, sizeof q, s);
            snprintf(err, errlen, "strconv.Atoi: parsing %s: value out of range", q);
        }
        return OCL_EINVAL;
    }
    *v = neg ? (int64_t)(0 - acc) : (int64_t)acc;
    return 0;
syntax:
    if (err) {
        go_quote(q, sizeof q, s);
        snprintf(err, errlen, "strconv.Atoi: parsing %s: invalid syntax", q);
    }
    return OCL_EINVAL;
}

/* --- float output ----------------------------------------------------------- */

/* Writes u in decimal; returns the number of digits. */
static int u64_dec(uint64_t u, char *out)
{
    char t[20];
    int n = 0;
    do {
        t[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    for (int i = 0; i < n; i++)
        out[i] = t[n - 1 - i];
    return n;
}

size_t ocl_prom_fmt_float(double v, char fmt, char *buf)
{
    size_t o = 0;
    if (isnan(v)) {
        memcpy(buf, "NaN", 4);
        return 3;
    }
    if (isinf(v)) {
        memcpy(buf, v > 0 ? "+Inf" : "-Inf", 5);
        return 4;
    }
    if (signbit(v)) buf[o++] = '-', v = -v;
    if (v == 0) {
        if (fmt == 'e') {
            memcpy(buf + o, "0e+00", 6);
            return o + 5;
        }
        buf[o++] = '0';
        buf[o] = 0;
        return o;
    }
    /* d: room for 40 so the fixed 20-byte copies below may read past the
     * n <= 17 digits: at most 21 bytes past the last digit, which buf
     * holds (>= 400 bytes; >= 40 from ocl_prom_fmt_json_ts, |v| < 1e16) */
    char d[40];
    int dp, n = ocl_fmt_shortest(v, d, &dp);
    if (fmt == 'e') {
        buf[o] = d[0];
        if (n > 1) {
            buf[o + 1] = '.';
            memcpy(buf + o + 2, d + 1, 20);
            o += (size_t)n + 1;
        } else {
            o++;
        }
        int e = dp - 1;
        buf[o++] = 'e';
        buf[o++] = e < 0 ? '-' : '+';
        if (e < 0) e = -e;
        if (e >= 100) buf[o++] = (char)('0' + e / 100), e %= 100;
        buf[o++] = (char)('0' + e / 10);
        buf[o++] = (char)('0' + e % 10);
        buf[o] = 0;
        return o;
    }
    if (dp <= 0) {
        buf[o++] = '0', buf[o++] = '.';
        for (int i = 0; i < -dp; i++)
            buf[o++] = '0';
        memcpy(buf + o, d, 20);
        o += (size_t)n;
    } else if (dp >= n) {
        memcpy(buf + o, d, 20);
        o += (size_t)n;
        for (int i = n; i < dp; i++)
            buf[o++] = '0';
    } else {
        memcpy(buf + o, d, 20);
        buf[o + (size_t)dp] = '.';
        memcpy(buf + o + (size_t)dp + 1, d + dp, 20);
        o += (size_t)n + 1;
    }
    buf[o] = 0;
    return o;
}

size_t ocl_prom_fmt_value(double v, char *buf)
{
    double a = fabs(v);
    char fmt = (a != 0 && (a < 1e-6 || a >= 1e21)) ? 'e' : 'f';
    return ocl_prom_fmt_float(v, fmt, buf);
}

size_t ocl_prom_fmt_ts(int64_t ms, char *buf)
{
    size_t o = 0;
    uint64_t t = (uint64_t)ms;
    if (ms < 0) buf[o++] = '-', t = 0 - (uint64_t)ms;
    o += (size_t)u64_dec(t / 1000, buf + o);
    unsigned f = (unsigned)(t % 1000);
    if (f) {
        buf[o++] = '.';
        buf[o++] = (char)('0' + f / 100);
        buf[o++] = (char)('0' + f / 10 % 10);
        buf[o++] = (char)('0' + f % 10);
    }
    buf[o] = 0;
    return o;
}

size_t ocl_prom_fmt_json_ts(int64_t ms, char *buf)
{
    double v = (double)ms / 1000.0;
    double a = fabs(v);
    if (a != 0 && (a < 1e-6 || a >= 1e21)) {
        size_t n = ocl_prom_fmt_float(v, 'e', buf);
        /* encoding/json cleans e-09 to e-9 */
        if (n >= 4 && buf[n - 4] == 'e' && buf[n - 3] == '-' && buf[n - 2] == '0') {
            buf[n - 2] = buf[n - 1];
            buf[--n] = 0;
        }
        return n;
    }
    return ocl_prom_fmt_float(v, 'f', buf);
}

/* --- JSON strings ------------------------------------------------------------ */

/* Decodes one UTF-8 sequence at p (n bytes left); returns its length, or 0
 * when invalid (overlong, surrogate, > U+10FFFF, truncated). */
static size_t utf8_len(const unsigned char *p, size_t n, uint32_t *cp)
{
    unsigned char c = p[0];
    if (c < 0x80) return *cp = c, 1;
    size_t len;
    uint32_t v, min;
    if ((c & 0xe0) == 0xc0)
        len = 2, v = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0)
        len = 3, v = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0)
        len = 4, v = c & 0x07, min = 0x10000;
    else
        return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;
        v = v << 6 | (p[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
    *cp = v;
    return len;
}

void ocl_prom_json_str(ocl_buf_t *out, ocl_str_t s)
{
    static const char hx[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s.p;
    size_t n = s.n, start = 0, i = 0;
    ocl_buf_reserve(out, n + 2);
    ocl_buf_putc(out, '"');
    while (i < n) {
        unsigned char c = p[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') {
            i++;
            continue;
        }
        uint32_t cp = 0;
        size_t l = c < 0x80 ? 1 : utf8_len(p + i, n - i, &cp);
        if (c >= 0x80 && l > 0 && cp != 0x2028 && cp != 0x2029) {
            i += l;
            continue;
        }
        ocl_buf_append(out, p + start, i - start);
        if (c < 0x80) {
            switch (c) {
            case '"':
                ocl_buf_puts(out, "\\\"");
                break;
            case '\\':
                ocl_buf_puts(out, "\\\\");
                break;
            case '\n':
                ocl_buf_puts(out, "\\n");
                break;
            case '\r':
                ocl_buf_puts(out, "\\r");
                break;
            case '\t':
                ocl_buf_puts(out, "\\t");
                break;
            default: {
                char e[7] = {'\\', 'u', '0', '0', hx[c >> 4], hx[c & 15], 0};
                ocl_buf_append(out, e, 6);
            }
            }
            i++;
        } else if (l == 0) {
            ocl_buf_puts(out, "\\ufffd");
            i++;
        } else {
            ocl_buf_puts(out, cp == 0x2028 ? "\\u2028" : "\\u2029");
            i += l;
        }
        start = i;
    }
    ocl_buf_append(out, p + start, n - start);
    ocl_buf_putc(out, '"');
}

/* --- envelopes ----------------------------------------------------------- */

const char *ocl_prom_errtype_str(ocl_prom_errtype_t t)
{
    static const char *const names[] = {"bad_data", "execution",   "timeout",  "canceled",
                                        "internal", "unavailable", "not_found"};
    return names[t];
}

int ocl_prom_errtype_status(ocl_prom_errtype_t t)
{
    static const int codes[] = {400, 422, 503, 499, 500, 503, 404};
    return codes[t];
}

int ocl_prom_write_error(ocl_buf_t *out, ocl_prom_errtype_t t, const char *msg)
{
    ocl_buf_puts(out, "{\"status\":\"error\",\"errorType\":\"");
    ocl_buf_puts(out, ocl_prom_errtype_str(t));
    ocl_buf_puts(out, "\",\"error\":");
    ocl_prom_json_cstr(out, msg);
    ocl_buf_putc(out, '}');
    return ocl_prom_errtype_status(t);
}

void ocl_prom_ok_begin(ocl_buf_t *out)
{
    ocl_buf_puts(out, "{\"status\":\"success\",\"data\":");
}

static void str_array(ocl_buf_t *out, const char *key, char *const *v, size_t n)
{
    if (!n) return;
    ocl_buf_puts(out, key);
    ocl_buf_putc(out, '[');
    for (size_t i = 0; i < n; i++) {
        if (i) ocl_buf_putc(out, ',');
        ocl_prom_json_cstr(out, v[i]);
    }
    ocl_buf_putc(out, ']');
}

void ocl_prom_ok_end(ocl_buf_t *out, char *const *warnings, size_t n_warnings, char *const *infos,
                     size_t n_infos)
{
    str_array(out, ",\"warnings\":", warnings, n_warnings);
    str_array(out, ",\"infos\":", infos, n_infos);
    ocl_buf_putc(out, '}');
}
