/*
 * fuzz_sdk_propagation.c — libFuzzer target for libocelot's W3C parsers:
 * traceparent, tracestate and baggage (parse, then format and re-parse a
 * valid result, which must round-trip). Links the SDK only.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ocelot/ocelot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    ocelot_span_context_t c;
    if (ocelot_traceparent_parse(s, size, &c) == 0) {
        char out[OCELOT_TRACEPARENT_LEN + 1];
        if (ocelot_traceparent_format(&c, out) != 0) abort();
        ocelot_span_context_t c2;
        if (ocelot_traceparent_parse(out, strlen(out), &c2) != 0) abort();
        if (memcmp(c.trace_id, c2.trace_id, 16) || memcmp(c.span_id, c2.span_id, 8)) abort();
    }
    int n = ocelot_tracestate_validate(s, size);
    if (n > OCELOT_TRACESTATE_MAX_MEMBERS) abort();
    ocelot_baggage_t *b = ocelot_baggage_create();
    if (b && ocelot_baggage_parse(b, s, size) == 0) {
        char *buf = malloc(3 * OCELOT_BAGGAGE_MAX_BYTES + 1);
        int k = buf ? ocelot_baggage_format(b, buf, 3 * OCELOT_BAGGAGE_MAX_BYTES + 1) : -1;
        if (k > 0) {
            ocelot_baggage_t *b2 = ocelot_baggage_create();
            /* a re-encoded header may exceed 8192 bytes (percent-encoding grows it) */
            if (b2 && k <= OCELOT_BAGGAGE_MAX_BYTES) {
                if (ocelot_baggage_parse(b2, buf, (size_t)k) != 0) abort();
                if (ocelot_baggage_count(b2) != ocelot_baggage_count(b)) abort();
            }
            ocelot_baggage_destroy(b2);
        }
        free(buf);
    }
    ocelot_baggage_destroy(b);
    return 0;
}
