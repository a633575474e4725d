/*
 * json_writer.h — a small streaming JSON writer over ocl_buf_t, used by the
 * OTLP/JSON encoder and the HTTP APIs (Prometheus, Tempo, Loki answers).
 *
 * Usage: ocl_jw_init(&w, &buf); then nested ocl_jw_obj_begin / ocl_jw_key /
 * value / ocl_jw_obj_end calls. The writer inserts commas itself.
 *
 * Invariants: the writer keeps no nesting stack — whether a comma is needed
 * is decided from the last byte written since ocl_jw_init ('{', '[' and ':'
 * need none), so nesting depth is unlimited and the writer never fails. The
 * caller is responsible for well-formed call sequences (a key before every
 * value inside an object, balanced begin/end). Strings are written as UTF-8
 * with '"', '\\' and control characters escaped (\uXXXX, or the short forms
 * \n \r \t \b \f); invalid UTF-8 sequences are replaced by U+FFFD so the
 * output is always valid JSON. Doubles use the shortest of %.15g/%.16g/%.17g
 * that round-trips (negative zero as "-0.0" so it stays a double); NaN and
 * infinities are written as the strings "NaN", "Infinity", "-Infinity"
 * (proto3 JSON mapping).
 *
 * Ownership: the writer borrows `out`; the caller owns and disposes it.
 * Workload: responses of a few KiB to tens of MiB, written once.
 */
#ifndef OCL_WIRE_JSON_WRITER_H
#define OCL_WIRE_JSON_WRITER_H

#include "core/buf.h"
#include "core/core.h"

#include <stdbool.h>

typedef struct {
    ocl_buf_t *out; /* destination (borrowed) */
    size_t start;   /* out->len at init: nothing before it is inspected */
} ocl_jw_t;

void ocl_jw_init(ocl_jw_t *w, ocl_buf_t *out);

void ocl_jw_obj_begin(ocl_jw_t *w);
void ocl_jw_obj_end(ocl_jw_t *w);
void ocl_jw_arr_begin(ocl_jw_t *w);
void ocl_jw_arr_end(ocl_jw_t *w);

/* Object member name (escaped like a string). */
void ocl_jw_key(ocl_jw_t *w, const char *key);
void ocl_jw_key_str(ocl_jw_t *w, ocl_str_t key);

/* Values. */
void ocl_jw_str(ocl_jw_t *w, ocl_str_t s);
void ocl_jw_cstr(ocl_jw_t *w, const char *s); /* NULL writes null */
void ocl_jw_int(ocl_jw_t *w, int64_t v);
void ocl_jw_uint(ocl_jw_t *w, uint64_t v);
void ocl_jw_int_str(ocl_jw_t *w, int64_t v);   /* as a decimal string: "-12" */
void ocl_jw_uint_str(ocl_jw_t *w, uint64_t v); /* as a decimal string: "12" */
void ocl_jw_double(ocl_jw_t *w, double v);
void ocl_jw_bool(ocl_jw_t *w, bool v);
void ocl_jw_null(ocl_jw_t *w);
/* Bytes as a lowercase hex string / standard padded base64 string. */
void ocl_jw_hex(ocl_jw_t *w, const void *p, size_t n);
void ocl_jw_base64(ocl_jw_t *w, const void *p, size_t n);
/* Pre-encoded JSON value, copied verbatim (the caller vouches for it). */
void ocl_jw_raw(ocl_jw_t *w, const char *json, size_t n);

/* Formats a double the way ocl_jw_double does (without the quotes around
 * NaN/Infinity) into buf (>= 32 bytes); returns the length. */
size_t ocl_jw_fmt_double(double v, char *buf);

#endif
