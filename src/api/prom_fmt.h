/*
 * prom_fmt.h — the pieces of the Prometheus HTTP API that need no engine:
 * request parameters (form decoding, timestamps, durations, limits) parsed
 * the way Prometheus's web/api/v1 parses them, and the JSON rendering of
 * numbers, strings and envelopes byte for byte as Prometheus writes them.
 *
 * Two number formats exist in Prometheus answers and both are mirrored:
 *  - vector and matrix points (util/jsonutil): the timestamp as integer
 *    seconds plus ".ddd" when the millisecond part is not zero
 *    (1435781451.780), the value as strconv.FormatFloat with 'f' and the
 *    shortest round-trip digits, switching to 'e' below 1e-6 and from 1e21
 *    on ("1e-07", "1e+21");
 *  - scalar and string results (promql.Scalar.MarshalJSON): the timestamp as
 *    the float64 ms/1000 printed by encoding/json (1435781451.78), the value
 *    as FormatFloat 'f' -1 always ("1000000000000000000000").
 * NaN, +Inf and -Inf print as "NaN", "+Inf", "-Inf"; negative zero as "-0".
 *
 * Strings are escaped like Go's encoding/json (HTML-safe: <, >, & become
 * \u003c, \u003e, \u0026; U+2028/2029 escaped; invalid UTF-8 becomes
 * U+FFFD).
 *
 * Ownership: parsed forms and strings live in the arena passed in.
 * Thread-safety: every function is reentrant.
 */
#ifndef OCL_PROM_FMT_H
#define OCL_PROM_FMT_H

#include "core/arena.h"
#include "core/buf.h"
#include "core/core.h"

#include <stdbool.h>

/* Prometheus's MinTime / MaxTime in milliseconds: the defaults of start and
 * end for series and label queries (and what their RFC 3339 forms parse to). */
#define OCL_PROM_MIN_TIME_MS (-9223309901258974000LL)
#define OCL_PROM_MAX_TIME_MS (9223309901258974999LL)

/* One decoded form field. */
typedef struct {
    ocl_str_t key; /* decoded name (arena) */
    ocl_str_t val; /* decoded value (arena) */
} ocl_form_kv_t;

/* The request's parameters: a POSTed form body first, then the URL query
 * string, as Go's Request.Form orders them (FormValue takes the first). */
typedef struct {
    ocl_form_kv_t *kv; /* fields in order (arena) */
    size_t n;          /* number of fields */
    size_t cap;        /* allocated entries */
} ocl_form_t;

/* Most fields a form may hold (over all ocl_form_parse calls on it): each
 * costs ~50 bytes of arena for as little as 2 input bytes ("a&"), so a
 * 20 MiB body would otherwise cost ~1 GB. Far above what clients send. */
#define OCL_FORM_MAX_FIELDS 100000

/* Appends the fields of an application/x-www-form-urlencoded string
 * ('&'-separated, '+' = space, %XX escapes) to f. On a bad escape returns
 * OCL_EINVAL with Go's message in err ("invalid URL escape \"%zz\""); past
 * OCL_FORM_MAX_FIELDS fields it stops and returns OCL_ETOOBIG ("too many
 * form fields ..."), which takes precedence over a bad escape. */
int ocl_form_parse(ocl_form_t *f, ocl_arena_t *a, const char *p, size_t n, char *err,
                   size_t errlen);
/* First value of `key`; *found tells whether the key was present. */
ocl_str_t ocl_form_get(const ocl_form_t *f, const char *key, bool *found);
/* Number of values of `key`; fills out[0..max) with them. */
size_t ocl_form_all(const ocl_form_t *f, const char *key, ocl_str_t *out, size_t max);

/* Percent-decodes a URL path segment into the arena (no '+' rule).
 * OCL_EINVAL on a bad escape. */
int ocl_url_path_unescape(ocl_arena_t *a, ocl_str_t in, ocl_str_t *out);

/* The label name of /api/v1/label/<name>/values as Prometheus 3.x reads it:
 * a name starting with "U__" is value-encoding escaped (Grafana sends UTF-8
 * names that way, e.g. "U__http_2e_method" for "http.method"): "__" is
 * '_', "_<hex>_" one code point, other bytes themselves. A malformed
 * escape (or a code point that is not a valid rune) leaves `in` unchanged,
 * as model.UnescapeName does. Decoded names go into the arena. */
ocl_str_t ocl_prom_unescape_label_name(ocl_arena_t *a, ocl_str_t in);

/* Prometheus's parseTime: a decimal float of Unix seconds (fraction rounded
 * to milliseconds) or RFC 3339 with optional fraction and zone, or the
 * formatted MinTime/MaxTime. On failure writes
 * "cannot parse \"<s>\" to a valid timestamp" to err. */
int ocl_prom_parse_time(ocl_str_t s, int64_t *ms, char *err, size_t errlen);

/* Prometheus's parseDuration: float seconds or a Prometheus duration
 * ("1m30s", "2h", "1w", "500ms"); result in nanoseconds (may be <= 0 for
 * float input). On failure: "cannot parse \"<s>\" to a valid duration"
 * (or "... It overflows int64"). */
int ocl_prom_parse_duration(ocl_str_t s, int64_t *ns, char *err, size_t errlen);

/* strconv.Atoi semantics for limit-like parameters: decimal int64 with
 * optional sign. OCL_EINVAL with Go's message
 * ("strconv.Atoi: parsing \"x\": invalid syntax" / "...: value out of range"). */
int ocl_prom_parse_int(ocl_str_t s, int64_t *v, char *err, size_t errlen);

/* Go's strconv.FormatFloat(v, fmt, -1, 64) for fmt 'f' or 'e'. buf >= 400
 * bytes ('f' of 1e308 is 309 digits). Returns the length. */
size_t ocl_prom_fmt_float(double v, char fmt, char *buf);
/* jsonutil.MarshalFloat (without the quotes): 'e' when 0 < |v| < 1e-6 or
 * |v| >= 1e21, else 'f'. buf >= 400 bytes. */
size_t ocl_prom_fmt_value(double v, char *buf);
/* jsonutil.MarshalTimestamp: "1435781451.780", "-1.500", "12". buf >= 32. */
size_t ocl_prom_fmt_ts(int64_t ms, char *buf);
/* encoding/json of float64(ms)/1000: "1435781451.78". buf >= 40. */
size_t ocl_prom_fmt_json_ts(int64_t ms, char *buf);

/* A JSON string escaped like Go's encoding/json. */
void ocl_prom_json_str(ocl_buf_t *out, ocl_str_t s);
static inline void ocl_prom_json_cstr(ocl_buf_t *out, const char *s)
{
    ocl_prom_json_str(out, ocl_str_c(s));
}

/* Prometheus errorType values and their HTTP status codes. */
typedef enum {
    OCL_PROM_ERR_BAD_DATA,    /* "bad_data" 400 */
    OCL_PROM_ERR_EXECUTION,   /* "execution" 422 */
    OCL_PROM_ERR_TIMEOUT,     /* "timeout" 503 */
    OCL_PROM_ERR_CANCELED,    /* "canceled" 499 */
    OCL_PROM_ERR_INTERNAL,    /* "internal" 500 */
    OCL_PROM_ERR_UNAVAILABLE, /* "unavailable" 503 */
    OCL_PROM_ERR_NOT_FOUND,   /* "not_found" 404 */
} ocl_prom_errtype_t;

const char *ocl_prom_errtype_str(ocl_prom_errtype_t t);
int ocl_prom_errtype_status(ocl_prom_errtype_t t);

/* Writes {"status":"error","errorType":...,"error":msg} and returns the
 * HTTP status to send. */
int ocl_prom_write_error(ocl_buf_t *out, ocl_prom_errtype_t t, const char *msg);

/* Success envelope: ocl_prom_ok_begin writes {"status":"success","data":
 * and the caller writes the data value; ocl_prom_ok_end writes the
 * optional "warnings"/"infos" arrays (omitted when empty) and the '}'. */
void ocl_prom_ok_begin(ocl_buf_t *out);
void ocl_prom_ok_end(ocl_buf_t *out, char *const *warnings, size_t n_warnings, char *const *infos,
                     size_t n_infos);

#endif
