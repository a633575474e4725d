#!/usr/bin/env bash
# test_protoc.sh — checks ocelot's OTLP protobuf codec against protoc, an
# independent implementation, in both directions:
#   1. ocelot encodes sample requests (test_otlp_pb with OCL_DUMP_SAMPLES);
#      `protoc --decode_raw` must show the expected field numbers, nesting
#      and values, which are written here from the OTLP spec, not from
#      ocelot's encoder.
#   2. `protoc --encode` (with tests/integration/otlp_subset.proto) encodes
#      text-format requests; ocelot decodes them (test_otlp_pb with
#      OCL_DECODE_FILE) and its canonical dump must show the values.
# Usage: BUILD_DIR=build/release tests/integration/test_protoc.sh
# Exit: 0 ok, 1 mismatch, 77 skipped (no protoc).
set -u
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build/release}
PROTO=tests/integration/otlp_subset.proto

if ! command -v protoc >/dev/null 2>&1; then
    echo "test_protoc: SKIP: protoc not found (Debian package protobuf-compiler)"
    exit 77
fi
BIN=$BUILD_DIR/test_otlp_pb
if [ ! -x "$BIN" ]; then
    if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
        cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 1
    fi
    cmake --build "$BUILD_DIR" --target test_otlp_pb >/dev/null || exit 1
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail=0

# Flattens `protoc --decode_raw` output to one "path: value" line per
# scalar, e.g. "1.2.2.5: \"span-name\"" for field 5 inside 2 inside 2 in 1.
flatten() {
    awk '{
        line = $0; sub(/^ +/, "", line)
        if (line ~ /^[0-9]+ \{$/) { split(line, a, " "); stack[++d] = a[1]; next }
        if (line == "}") { d--; next }
        i = index(line, ": "); p = ""
        for (k = 1; k <= d; k++) p = p stack[k] "."
        print p substr(line, 1, i - 1) ": " substr(line, i + 2)
    }'
}

# want FILE LINE: FILE has a line exactly equal to LINE.
want() {
    if ! grep -qxF -- "$2" "$1"; then
        echo "test_protoc: MISMATCH in $(basename "$1"): missing line: $2"
        fail=1
    fi
}
# has FILE TEXT: FILE contains TEXT somewhere.
has() {
    if ! grep -qF -- "$2" "$1"; then
        echo "test_protoc: MISMATCH in $(basename "$1"): missing text: $2"
        fail=1
    fi
}
hex64() { printf '0x%016x' "$1"; }

# ---------------------------------------------------------------------------
# 1. ocelot encodes, protoc decodes
OCL_DUMP_SAMPLES=$TMP "$BIN" || { echo "test_protoc: sample dump failed"; exit 1; }
for s in traces metrics logs; do
    if ! protoc --decode_raw <"$TMP/$s.bin" >"$TMP/$s.raw" 2>"$TMP/$s.err"; then
        echo "test_protoc: protoc --decode_raw rejected ocelot's $s encoding:"
        cat "$TMP/$s.err"
        fail=1
    fi
    flatten <"$TMP/$s.raw" >"$TMP/$s.flat"
done

T=$TMP/traces.flat
# ExportTraceServiceRequest.resource_spans(1).resource(1).attributes(1)
want "$T" '1.1.1.1: "service.name"'
want "$T" '1.1.1.2.1: "checkout"'
want "$T" '1.1.1.2.3: 4'
want "$T" '1.1.2: 3'
# scope_spans(2).scope(1)
want "$T" '1.2.1.1: "io.ocelot.test"'
want "$T" '1.2.1.2: "1.2.3"'
want "$T" '1.2.1.4: 5'
# scope_spans(2).spans(2)
want "$T" '1.2.2.1: "\001\002\003\004\005\006\007\010\t\n\013\014\r\016\017\020"'
want "$T" '1.2.2.3: "rojo=00f067aa0ba902b7"'
want "$T" '1.2.2.5: "span-name"'
want "$T" '1.2.2.6: 2'
want "$T" "1.2.2.7: $(hex64 1700000000000000000)"
want "$T" "1.2.2.8: $(hex64 1700000000123456789)"
want "$T" '1.2.2.9.1: "http.status_code"'
want "$T" '1.2.2.9.2.3: 200'
want "$T" '1.2.2.9.2.4: 0x3fd0000000000000'
want "$T" '1.2.2.9.2.2: 0'
want "$T" '1.2.2.9.2.3: 0'
want "$T" '1.2.2.9.2.7: "\000\377\200"'
want "$T" '1.2.2.9.2.5.1.3: 18446744073709551609'
want "$T" '1.2.2.9.2.6.1.2.2: 1'
want "$T" '1.2.2.10: 1'
want "$T" "1.2.2.11.1: $(hex64 1700000000000000100)"
want "$T" '1.2.2.11.2: "exception"'
want "$T" '1.2.2.11.3.2.1: "IOError"'
want "$T" '1.2.2.11.4: 2'
want "$T" '1.2.2.12: 7'
want "$T" '1.2.2.13.3: "k=v"'
want "$T" '1.2.2.13.5: 6'
want "$T" '1.2.2.13.6: 0x00000301'
want "$T" '1.2.2.14: 8'
want "$T" '1.2.2.15.2: "boom"'
want "$T" '1.2.2.15.3: 2'
want "$T" '1.2.2.16: 0x00000101'
want "$T" '1.2.2.6: 99'
want "$T" '1.2.3: "https://opentelemetry.io/schemas/1.21.0"'
want "$T" '1.3: "https://rs.example/s"'

M=$TMP/metrics.flat
want "$M" '1.2.2.1: "g"'
want "$M" '1.2.2.2: "a gauge"'
want "$M" '1.2.2.3: "1"'
want "$M" '1.2.2.5.1.6: 0xffffffffffffffd6'
want "$M" "1.2.2.5.1.3: $(hex64 1700000000000000000)"
want "$M" '1.2.2.5.1.5.3: 0x400c000000000000'
want "$M" '1.2.2.5.1.5.6: 0x0000000000000000'
want "$M" '1.2.2.5.1.8: 1'
want "$M" '1.2.2.5.1.4: 0x0000000000000000'
want "$M" '1.2.2.12.1: "meta"'
want "$M" '1.2.2.7.2: 2'
want "$M" '1.2.2.7.3: 1'
want "$M" '1.2.2.9.2: 1'
want "$M" '1.2.2.9.1.4: 0x0000000000000006'
want "$M" '1.2.2.9.1.5: 0x0000000000000000'
want "$M" '1.2.2.9.1.11: 0x0000000000000000'
want "$M" '1.2.2.9.1.12: 0x4029000000000000'
# packed repeated fixed64 {1,0,5} and double {0.5, 10}: one length-delimited field
want "$M" '1.2.2.9.1.6: "\001\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\005\000\000\000\000\000\000\000"'
want "$M" '1.2.2.9.1.7: "\000\000\000\000\000\000\340?\000\000\000\000\000\000$@"'
want "$M" '1.2.2.10.2: 7'
want "$M" '1.2.2.10.1.5: 0x40934a0000000000'
want "$M" '1.2.2.10.1.6: 5'
want "$M" '1.2.2.10.1.8.1: 3'
want "$M" '1.2.2.10.1.9.1: 10'
want "$M" '1.2.2.10.1.14: 0x3e112e0be826d695'
want "$M" '1.2.2.11.1.6.1: 0x3fefae147ae147ae'
want "$M" '1.2.2.11.1.6.2: 0x4022800000000000'
want "$M" '1.2.2.11.1.4: 0x0000000000000064'
want "$M" '1.2.3: "https://sm"'

L=$TMP/logs.flat
want "$L" "1.2.2.1: $(hex64 1700000000000000000)"
want "$L" "1.2.2.11: $(hex64 1700000000000000999)"
want "$L" '1.2.2.2: 17'
want "$L" '1.2.2.2: 18446744073709551613'
# decode_raw guesses that "ERROR" is a message: 'E' (0x45) reads as the tag
# of field 8 / fixed32, followed by "RROR" as a little-endian fixed32.
want "$L" '1.2.2.3.8: 0x524f5252'
want "$L" '1.2.2.5.1: "disk full"'
want "$L" '1.2.2.5.2: 0'
want "$L" '1.2.2.5.6.1.1: "inner"'
want "$L" '1.2.2.6.1: "n"'
want "$L" '1.2.2.6.2.3: 9223372036854775808'
want "$L" '1.2.2.7: 4'
want "$L" '1.2.2.8: 0x00000001'
want "$L" '1.2.2.12: "device.error"'
want "$L" '1.2.3: "https://sl"'

# ---------------------------------------------------------------------------
# 2. protoc encodes, ocelot decodes
enc() { # enc MESSAGE NAME  (text format on stdin)
    if ! protoc -I tests/integration --encode="ocelot.otlp_subset.$1" "$PROTO" \
            >"$TMP/$2.bin" 2>"$TMP/$2.err"; then
        echo "test_protoc: protoc --encode $1 failed:"; cat "$TMP/$2.err"; fail=1
    fi
}
dec() { # dec SIGNAL NAME
    if ! OCL_DECODE_FILE="$TMP/$2.bin" OCL_DECODE_SIGNAL=$1 "$BIN" >"$TMP/$2.dump"; then
        echo "test_protoc: ocelot failed to decode protoc's $2"; fail=1
    fi
}

enc ExportTraceServiceRequest ptraces <<'EOF'
resource_spans {
  resource {
    attributes { key: "service.name" value { string_value: "protoc-svc" } }
    dropped_attributes_count: 2
  }
  scope_spans {
    scope { name: "protoc-scope" version: "9.9" }
    spans {
      trace_id: "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10"
      span_id: "\xaa\xbb\xcc\xdd\xee\xff\x00\x11"
      trace_state: "a=b"
      name: "from-protoc"
      kind: 3
      start_time_unix_nano: 1700000000000000042
      end_time_unix_nano: 1700000000000000043
      attributes { key: "n" value { int_value: -5 } }
      attributes { key: "d" value { double_value: 2.5 } }
      attributes { key: "b" value { bool_value: true } }
      attributes { key: "arr" value { array_value { values { string_value: "x" } values { int_value: 1 } } } }
      attributes { key: "kv" value { kvlist_value { values { key: "in" value { bytes_value: "\x00\x01" } } } } }
      attributes { key: "utf8" value { string_value: "caf\303\251" } }
      dropped_attributes_count: 3
      events { time_unix_nano: 5 name: "ev" attributes { key: "e" value { string_value: "v" } } }
      dropped_events_count: 4
      links { trace_id: "\x10\x20" span_id: "\x30" flags: 257 dropped_attributes_count: 1 }
      dropped_links_count: 6
      status { message: "err" code: 2 }
      flags: 769
    }
    schema_url: "https://schema"
  }
}
EOF
dec traces ptraces
D=$TMP/ptraces.dump
has "$D" 'resource present=1 dropped=2 attr: key="service.name" s="protoc-svc";'
has "$D" 'scope present=1 dropped=0 name="protoc-scope" version="9.9"'
has "$D" 'ss n_spans=1 schema_url="https://schema"'
has "$D" 'span trace_id=0102030405060708090a0b0c0d0e0f10 span_id=aabbccddeeff0011 trace_state="a=b" parent= name="from-protoc" kind=3 start=1700000000000000042 end=1700000000000000043 dropped_attrs=3 dropped_events=4 dropped_links=6 has_status=1 code=2 flags=769 status_msg="err"'
has "$D" 'attr: key="n" i=-5;'
has "$D" 'attr: key="d" d=2.5(4004000000000000);'
has "$D" 'attr: key="b" b=1;'
has "$D" 'attr: key="arr" [ s="x", i=1,];'
has "$D" 'attr: key="kv" { kv: key="in" bytes=0001;};'
has "$D" 'attr: key="utf8" s="caf\xc3\xa9";'
has "$D" 'event time=5 dropped=0 name="ev" attr: key="e" s="v";'
has "$D" 'link trace_id=1020 span_id=30 trace_state="" dropped=1 flags=257'

enc ExportMetricsServiceRequest pmetrics <<'EOF'
resource_metrics {
  scope_metrics {
    metrics {
      name: "gauge" unit: "By"
      gauge { data_points { time_unix_nano: 10 as_int: -42 attributes { key: "k" value { string_value: "v" } } } }
    }
    metrics {
      name: "counter"
      sum {
        data_points { start_time_unix_nano: 1 time_unix_nano: 2 as_double: 2.5 flags: 1
                      exemplars { time_unix_nano: 3 as_int: 7 span_id: "\x01\x02" } }
        aggregation_temporality: 2 is_monotonic: true
      }
    }
    metrics {
      name: "hist"
      histogram {
        data_points { count: 6 sum: 12.5 bucket_counts: [1, 2, 3] explicit_bounds: [0.5, 10] min: 0 max: 9.25 }
        aggregation_temporality: 1
      }
    }
    metrics {
      name: "ehist"
      exponential_histogram {
        data_points { count: 4 scale: -3 zero_count: 1 zero_threshold: 2.5
                      positive { offset: -2 bucket_counts: [1, 300] }
                      negative { offset: 5 bucket_counts: [2] } }
      }
    }
    metrics {
      name: "summary"
      summary { data_points { count: 100 sum: 250.5
                              quantile_values { quantile: 0.5 value: 1.5 }
                              quantile_values { quantile: 0.99 value: 9.25 } } }
      metadata { key: "m" value { bool_value: false } }
    }
  }
}
EOF
dec metrics pmetrics
D=$TMP/pmetrics.dump
has "$D" 'metric type=1 temporality=0 monotonic=0 n_dp=1 name="gauge" description="" unit="By"'
has "$D" 'dp start=0 time=10 flags=0 is_int=1 as_int=-42 attr: key="k" s="v";'
has "$D" 'metric type=2 temporality=2 monotonic=1 n_dp=1 name="counter"'
has "$D" 'dp start=1 time=2 flags=1 is_int=0 as_double=2.5(4004000000000000)'
has "$D" 'exemplar time=3 is_int=1 as_int=7 span_id=0102 trace_id='
has "$D" 'metric type=3 temporality=1 monotonic=0 n_dp=1 name="hist"'
has "$D" 'count=6 flags=0 has_sum=1 has_min=1 has_max=1 sum=12.5(4029000000000000) min=0(0000000000000000) max=9.25(4022800000000000) buckets=1,2,3, bounds=0.5,10,'
has "$D" 'metric type=4 temporality=0 monotonic=0 n_dp=1 name="ehist"'
has "$D" 'count=4 flags=0 scale=-3 zero_count=1 has_sum=0 has_min=0 has_max=0 zero_threshold=2.5(4004000000000000) positive{offset=-2 1 300} negative{offset=5 2}'
has "$D" 'metric type=5 temporality=0 monotonic=0 n_dp=1 name="summary" description="" unit="" metadata: key="m" b=0;'
has "$D" 'count=100 flags=0 sum=250.5(406f500000000000) q=0.5(3fe0000000000000) v=1.5(3ff8000000000000) q=0.98999999999999999(3fefae147ae147ae) v=9.25(4022800000000000)'

# The same histogram with unpacked repeated scalars.
enc ExportMetricsUnpacked punpacked <<'EOF'
resource_metrics { scope_metrics { metrics { name: "unpacked"
  histogram { data_points { count: 6 bucket_counts: [4, 5, 6] explicit_bounds: [1.5, 2.5] } } } } }
EOF
dec metrics punpacked
D=$TMP/punpacked.dump
has "$D" 'name="unpacked"'
has "$D" 'count=6 flags=0 has_sum=0 has_min=0 has_max=0 buckets=4,5,6, bounds=1.5,2.5,'

enc ExportLogsServiceRequest plogs <<'EOF'
resource_logs {
  resource { attributes { key: "service.name" value { string_value: "logsvc" } } }
  scope_logs {
    log_records {
      time_unix_nano: 1700000000000000000
      observed_time_unix_nano: 1700000000000000001
      severity_number: 13 severity_text: "WARN"
      body { kvlist_value { values { key: "msg" value { string_value: "hi" } } } }
      attributes { key: "a" value { double_value: -0.5 } }
      dropped_attributes_count: 2
      flags: 1
      trace_id: "\x01\x02" span_id: "\x03"
      event_name: "evt"
    }
    log_records { body { int_value: 0 } }
    schema_url: "https://logs"
  }
}
EOF
dec logs plogs
D=$TMP/plogs.dump
has "$D" 'resource present=1 dropped=0 attr: key="service.name" s="logsvc";'
has "$D" 'sl n_logs=2 schema_url="https://logs"'
has "$D" 'log time=1700000000000000000 observed=1700000000000000001 severity=13 dropped=2 flags=1 severity_text="WARN" trace_id=0102 span_id=03 event_name="evt" body= { kv: key="msg" s="hi";} attr: key="a" d=-0.5(bfe0000000000000);'
has "$D" 'log time=0 observed=0 severity=0 dropped=0 flags=0 severity_text="" trace_id= span_id= event_name="" body= i=0'

if [ "$fail" -ne 0 ]; then
    echo "test_protoc: FAILED"
    exit 1
fi
echo "test_protoc: ok"
