/*
 * propagation.h — W3C Trace Context (traceparent, tracestate) and W3C
 * Baggage, through carrier callbacks, plus a libcurl helper.
 *
 * Validation follows the specifications:
 *  traceparent: version 2 lower-case hex digits, not "ff"; version 00 is
 *    exactly 55 characters; a higher version may carry more fields after a
 *    '-' past the 55th character; trace id 32 and parent id 16 lower-case
 *    hex digits, not all zero; flags 2 hex digits.
 *  tracestate: at most 32 list members; keys are simple keys
 *    ([a-z][a-z0-9_*-/]{0,255}) or multi-tenant keys (tenant@system, tenant
 *    [a-z0-9][a-z0-9_*-/]{0,240}, system [a-z][a-z0-9_*-/]{0,13}); values 1-256
 *    printable ASCII (0x20-0x7e) except ',' and '=' and not ending in a
 *    space; duplicate keys make the whole header invalid; empty members
 *    (OWS only) are allowed and skipped. An invalid tracestate is dropped
 *    while the traceparent is kept.
 *  baggage: at most 8192 bytes in total and 180 list members; keys are
 *    tokens (RFC 7230), values are percent-decoded baggage octets; member
 *    properties (";k" or ";k=v") are kept verbatim. A malformed header is
 *    ignored as a whole.
 *
 * Ownership: baggage objects are created by the caller or by extract and
 * freed with ocelot_baggage_destroy; strings returned by getters are
 * borrowed from the carrier or the baggage and valid until they change.
 */
#ifndef OCELOT_PROPAGATION_H
#define OCELOT_PROPAGATION_H

#include "ocelot/ocelot.h"
#include "ocelot/trace.h"

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

#define OCELOT_TRACEPARENT_LEN 55 /* version 00 */
#define OCELOT_BAGGAGE_MAX_BYTES 8192
#define OCELOT_BAGGAGE_MAX_MEMBERS 180
#define OCELOT_TRACESTATE_MAX_MEMBERS 32

/* Carrier callbacks. get returns the header value for key (case-insensitive
 * header names are the carrier's business) or NULL, and its length in
 * *len; set stores key=value (both NUL-terminated) and returns 0. */
typedef const char *(*ocelot_carrier_get_fn)(void *carrier, const char *key, size_t *len);
typedef int (*ocelot_carrier_set_fn)(void *carrier, const char *key, const char *value);

typedef struct ocelot_baggage ocelot_baggage_t;

/* Parses a traceparent value into out (ids + flags; tracestate cleared,
 * is_remote = 1). 0 or OCELOT_EINVAL. */
int ocelot_traceparent_parse(const char *s, size_t len, ocelot_span_context_t *out);

/* Writes "00-<trace>-<span>-<flags>" and a NUL into out (56 bytes).
 * OCELOT_EINVAL for an invalid context. */
int ocelot_traceparent_format(const ocelot_span_context_t *c, char out[OCELOT_TRACEPARENT_LEN + 1]);

/* Validates a tracestate value; returns the number of members (>= 0) or
 * OCELOT_EINVAL. */
int ocelot_tracestate_validate(const char *s, size_t len);

/* Extracts traceparent/tracestate (and baggage if bag_out is non-NULL;
 * *bag_out is set to a new baggage or NULL). Returns 0 when a valid
 * traceparent was found, OCELOT_EINVAL otherwise (out is then invalid);
 * baggage is extracted independently. */
int ocelot_extract(ocelot_carrier_get_fn get, void *carrier, ocelot_span_context_t *out,
                   ocelot_baggage_t **bag_out);

/* Injects traceparent and tracestate (if ctx is valid) and baggage (if
 * bag is non-NULL and non-empty) per OTEL_PROPAGATORS (default
 * tracecontext,baggage). Returns 0 or the first setter error. */
int ocelot_inject(const ocelot_span_context_t *ctx, const ocelot_baggage_t *bag,
                  ocelot_carrier_set_fn set, void *carrier);

/* ---- baggage ----------------------------------------------------------------- */

ocelot_baggage_t *ocelot_baggage_create(void); /* NULL on ENOMEM */
void ocelot_baggage_destroy(ocelot_baggage_t *b);

/* Sets key=value (replacing an existing key); props may be NULL (written
 * after the value as ";props"). Copies everything. OCELOT_EINVAL for a
 * non-token key; OCELOT_EFULL past 180 members or 8192 encoded bytes. */
int ocelot_baggage_set(ocelot_baggage_t *b, const char *key, const char *value, const char *props);
/* Value for key or NULL (borrowed). */
const char *ocelot_baggage_get(const ocelot_baggage_t *b, const char *key);
int ocelot_baggage_remove(ocelot_baggage_t *b, const char *key);
size_t ocelot_baggage_count(const ocelot_baggage_t *b);
/* i-th member (insertion order); 0 or OCELOT_EINVAL. Borrowed strings;
 * *props may be NULL. */
int ocelot_baggage_entry(const ocelot_baggage_t *b, size_t i, const char **key, const char **value,
                         const char **props);

/* Parses a baggage header (replacing nothing: members are added to b).
 * OCELOT_EINVAL when malformed or over the limits (b unchanged). */
int ocelot_baggage_parse(ocelot_baggage_t *b, const char *s, size_t len);

/* Writes the header value (percent-encoded) into out (NUL-terminated).
 * Returns its length, or OCELOT_EFULL when cap is too small. */
int ocelot_baggage_format(const ocelot_baggage_t *b, char *out, size_t cap);

/* ---- libcurl helper ----------------------------------------------------------- */

struct curl_slist;
/* Appends "traceparent: ...", "tracestate: ..." and "baggage: ..." headers
 * to list (curl_slist_append) and returns the new list head (the input list
 * when nothing was added or on failure). The caller owns the list. Needs
 * the program to link libcurl (the SDK does). */
struct curl_slist *ocelot_curl_inject(struct curl_slist *list, const ocelot_span_context_t *ctx,
                                      const ocelot_baggage_t *bag);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
