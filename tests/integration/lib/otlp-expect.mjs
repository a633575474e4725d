// What ocelot's OTLP/JSON read APIs must return for data recorded by the
// official JS SDK, and a field-by-field comparison that names every mismatch.
//
// The expected objects follow the contract for OTLP/JSON on the query side:
// lowerCamelCase keys, ids as lowercase hex, 64-bit integers (times,
// intValue) as decimal strings, enums as integers, and empty/zero fields
// omitted. Values are derived from the SDK's in-memory records (ReadableSpan,
// Resource, InstrumentationScope), never from the exporter's wire bytes.

import { isDeepStrictEqual } from 'node:util';

// JS attribute / AnyValue → OTLP/JSON AnyValue, with the JS SDK's typing rule:
// integral numbers within int64 are intValue, other numbers doubleValue. (The
// SDK's JSON encoder also sends integral numbers beyond int64, e.g. 1e300, as
// intValue, which is not valid OTLP; tests avoid such values.)
const INT64_MIN = -(2 ** 63);
const INT64_END = 2 ** 63;
export function anyValue(v) {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') {
    return Number.isInteger(v) && v >= INT64_MIN && v < INT64_END
      ? { intValue: BigInt(v).toString() } : { doubleValue: v };
  }
  if (v instanceof Uint8Array) return { bytesValue: Buffer.from(v).toString('base64') };
  if (Array.isArray(v)) return v.length ? { arrayValue: { values: v.map(anyValue) } } : { arrayValue: {} };
  if (v !== null && typeof v === 'object') {
    const ks = Object.keys(v);
    return ks.length
      ? { kvlistValue: { values: ks.map((k) => ({ key: k, value: anyValue(v[k]) })) } }
      : { kvlistValue: {} };
  }
  throw new Error(`no OTLP AnyValue for ${typeof v} ${v}`);
}

// An empty list inside arrayValue/kvlistValue may be written as [] or left out.
export function normAnyValue(v) {
  if (v === null || typeof v !== 'object') return v;
  if (v.arrayValue && typeof v.arrayValue === 'object') {
    const vals = v.arrayValue.values;
    return { ...v, arrayValue: Array.isArray(vals) && vals.length ? { values: vals.map(normAnyValue) } : (vals === undefined || (Array.isArray(vals) && !vals.length) ? {} : v.arrayValue) };
  }
  if (v.kvlistValue && typeof v.kvlistValue === 'object') {
    const vals = v.kvlistValue.values;
    return {
      ...v,
      kvlistValue: Array.isArray(vals) && vals.length
        ? { values: vals.map((kv) => ({ ...kv, value: normAnyValue(kv.value) })) }
        : (vals === undefined || (Array.isArray(vals) && !vals.length) ? {} : v.kvlistValue),
    };
  }
  return v;
}

export const hrToNanos = (hr) => (BigInt(hr[0]) * 1_000_000_000n + BigInt(hr[1])).toString();

// OTLP span flags as the SDK sends them: W3C trace flags plus the
// HAS_IS_REMOTE (0x100) and IS_REMOTE (0x200) bits.
export const spanFlags = (traceFlags, isRemote) => (traceFlags & 0xff) | 0x100 | (isRemote ? 0x200 : 0);

const nonEmpty = (o, k, v) => {
  if (v === undefined || v === null || v === '' || v === 0 || (Array.isArray(v) && v.length === 0)) return;
  if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) return;
  o[k] = v;
};

// ReadableSpan → expected OTLP/JSON span; attributes kept as a JS object
// (compared by key, see compareAttributes).
export function expectedSpan(s) {
  const ctx = s.spanContext();
  const o = {};
  o.traceId = ctx.traceId;
  o.spanId = ctx.spanId;
  nonEmpty(o, 'traceState', ctx.traceState?.serialize());
  nonEmpty(o, 'parentSpanId', s.parentSpanContext?.spanId);
  o.flags = spanFlags(ctx.traceFlags, s.parentSpanContext?.isRemote);
  nonEmpty(o, 'name', s.name);
  o.kind = s.kind + 1; // API SpanKind INTERNAL=0 … CONSUMER=4; OTLP INTERNAL=1 … CONSUMER=5
  o.startTimeUnixNano = hrToNanos(s.startTime);
  o.endTimeUnixNano = hrToNanos(s.endTime);
  if (Object.keys(s.attributes).length) o.attributes = s.attributes;
  nonEmpty(o, 'droppedAttributesCount', s.droppedAttributesCount);
  nonEmpty(o, 'events', s.events.map((e) => {
    const eo = { timeUnixNano: hrToNanos(e.time), name: e.name };
    if (e.attributes && Object.keys(e.attributes).length) eo.attributes = e.attributes;
    nonEmpty(eo, 'droppedAttributesCount', e.droppedAttributesCount);
    return eo;
  }));
  nonEmpty(o, 'droppedEventsCount', s.droppedEventsCount);
  nonEmpty(o, 'links', s.links.map((l) => {
    const lo = { traceId: l.context.traceId, spanId: l.context.spanId };
    nonEmpty(lo, 'traceState', l.context.traceState?.serialize());
    if (l.attributes && Object.keys(l.attributes).length) lo.attributes = l.attributes;
    nonEmpty(lo, 'droppedAttributesCount', l.droppedAttributesCount);
    lo.flags = spanFlags(l.context.traceFlags, l.context.isRemote);
    return lo;
  }));
  nonEmpty(o, 'droppedLinksCount', s.droppedLinksCount);
  const st = {};
  nonEmpty(st, 'message', s.status.message);
  nonEmpty(st, 'code', s.status.code);
  o.status = st; // {} for UNSET: absent or {} both accepted
  return o;
}

// Collects mismatches as "path: detail" strings.
export class Diff {
  constructor() { this.problems = []; }
  add(path, msg) { this.problems.push(`${path}: ${msg}`); }
  get ok() { return this.problems.length === 0; }
  toString() { return this.problems.join('\n'); }
}

const show = (v) => JSON.stringify(v);

// actualList: OTLP/JSON KeyValue[] (or undefined); expectedObj: JS attributes object.
export function compareAttributes(diff, path, actualList, expectedObj) {
  const expected = expectedObj ?? {};
  if (actualList === undefined) actualList = [];
  if (!Array.isArray(actualList)) { diff.add(path, `expected a list of KeyValue, got ${show(actualList)}`); return; }
  const seen = new Map();
  for (const kv of actualList) {
    if (!kv || typeof kv.key !== 'string') { diff.add(path, `malformed KeyValue ${show(kv)}`); continue; }
    if (seen.has(kv.key)) diff.add(`${path}[${show(kv.key)}]`, 'key appears more than once');
    seen.set(kv.key, kv.value);
  }
  for (const [k, v] of Object.entries(expected)) {
    if (!seen.has(k)) { diff.add(`${path}[${show(k)}]`, `missing (expected ${show(anyValue(v))})`); continue; }
    const want = anyValue(v);
    const got = normAnyValue(seen.get(k));
    if (!isDeepStrictEqual(got, want)) diff.add(`${path}[${show(k)}]`, `expected ${show(want)}, got ${show(seen.get(k))}`);
  }
  for (const k of seen.keys()) {
    if (!Object.prototype.hasOwnProperty.call(expected, k)) diff.add(`${path}[${show(k)}]`, `unexpected attribute ${show(seen.get(k))}`);
  }
}

const ATTR_KEYS = new Set(['attributes']);

// Generic object comparison: attribute lists by key, lists element-wise,
// everything else strictly; keys present but not expected are reported
// (zero/empty values get a note that the contract omits them).
export function compareObject(diff, path, actual, expected, { optionalEmpty = [] } = {}) {
  if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) {
    diff.add(path, `expected an object, got ${show(actual)}`);
    return;
  }
  for (const [k, want] of Object.entries(expected)) {
    const p = `${path}.${k}`;
    const got = actual[k];
    if (ATTR_KEYS.has(k)) { compareAttributes(diff, p, got, want); continue; }
    if (got === undefined) {
      if (optionalEmpty.includes(k) && want && typeof want === 'object' && Object.keys(want).length === 0) continue;
      diff.add(p, `missing (expected ${show(want)})`);
      continue;
    }
    if (Array.isArray(want)) {
      if (!Array.isArray(got)) { diff.add(p, `expected a list, got ${show(got)}`); continue; }
      if (got.length !== want.length) diff.add(p, `expected ${want.length} entries, got ${got.length}: ${show(got).slice(0, 400)}`);
      for (let i = 0; i < Math.min(got.length, want.length); i++) {
        if (want[i] && typeof want[i] === 'object') compareObject(diff, `${p}[${i}]`, got[i], want[i]);
        else if (!isDeepStrictEqual(got[i], want[i])) diff.add(`${p}[${i}]`, `expected ${show(want[i])}, got ${show(got[i])}`);
      }
      continue;
    }
    if (want !== null && typeof want === 'object') { compareObject(diff, p, got, want); continue; }
    if (!isDeepStrictEqual(got, want)) diff.add(p, `expected ${show(want)} (${typeof want}), got ${show(got)} (${typeof got})`);
  }
  for (const k of Object.keys(actual)) {
    if (Object.prototype.hasOwnProperty.call(expected, k)) continue;
    const v = actual[k];
    const empty = v === 0 || v === '' || v === '0' || v === false || v === null ||
      (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && Object.keys(v).length === 0);
    diff.add(`${path}.${k}`, `unexpected field ${show(v)}${empty ? ' (empty/zero fields must be omitted)' : ''}`);
  }
}

// Flatten {resourceSpans|batches: [...]} into [{resource, schemaUrl, scope, scopeSchemaUrl, span, path}].
export function flattenResourceSpans(diff, path, list) {
  const out = [];
  if (!Array.isArray(list)) { diff.add(path, `expected a list of ResourceSpans, got ${show(list)?.slice(0, 200)}`); return out; }
  list.forEach((rs, i) => {
    const rp = `${path}[${i}]`;
    if (!rs || !Array.isArray(rs.scopeSpans)) { diff.add(rp, `ResourceSpans without a scopeSpans list: ${show(rs)?.slice(0, 300)}`); return; }
    rs.scopeSpans.forEach((ss, j) => {
      const sp = `${rp}.scopeSpans[${j}]`;
      if (!ss || !Array.isArray(ss.spans)) { diff.add(sp, `ScopeSpans without a spans list: ${show(ss)?.slice(0, 300)}`); return; }
      ss.spans.forEach((span, k) => out.push({
        resource: rs.resource, schemaUrl: rs.schemaUrl, scope: ss.scope, scopeSchemaUrl: ss.schemaUrl,
        span, path: `${sp}.spans[${k}]`, rpath: rp, spath: sp,
      }));
    });
  });
  return out;
}

// Compare every span the SDK recorded (ReadableSpan[] of one trace) with a
// flattened API answer; returns nothing, fills diff.
export function compareTrace(diff, flat, sdkSpans) {
  const byId = new Map();
  for (const f of flat) {
    const id = f.span?.spanId;
    if (byId.has(id)) diff.add(f.path, `span ${id} returned more than once`);
    byId.set(id, f);
  }
  for (const s of sdkSpans) {
    const id = s.spanContext().spanId;
    const f = byId.get(id);
    const label = `span ${show(s.name)} (${id})`;
    if (!f) { diff.add(label, 'not returned by the API'); continue; }
    byId.delete(id);
    compareObject(diff, `${label} @ ${f.path}`, f.span, expectedSpan(s), { optionalEmpty: ['status'] });
    // resource
    const res = {};
    if (Object.keys(s.resource.attributes).length) res.attributes = s.resource.attributes;
    if (f.resource === undefined) diff.add(`${label} resource @ ${f.rpath}`, 'missing');
    else compareObject(diff, `${label} resource @ ${f.rpath}.resource`, f.resource, res);
    if ((f.schemaUrl ?? '') !== (s.resource.schemaUrl ?? '')) {
      diff.add(`${label} @ ${f.rpath}.schemaUrl`, `expected ${show(s.resource.schemaUrl ?? '(omitted)')}, got ${show(f.schemaUrl)}`);
    }
    // scope
    const sc = {};
    nonEmpty(sc, 'name', s.instrumentationScope.name);
    nonEmpty(sc, 'version', s.instrumentationScope.version);
    if (f.scope === undefined) diff.add(`${label} @ ${f.spath}.scope`, `missing (expected ${show(sc)})`);
    else compareObject(diff, `${label} @ ${f.spath}.scope`, f.scope, sc);
    if ((f.scopeSchemaUrl ?? '') !== (s.instrumentationScope.schemaUrl ?? '')) {
      diff.add(`${label} @ ${f.spath}.schemaUrl`, `expected ${show(s.instrumentationScope.schemaUrl ?? '(omitted)')}, got ${show(f.scopeSchemaUrl)}`);
    }
  }
  for (const [id, f] of byId) diff.add(f.path, `span ${id} (${show(f.span?.name)}) was not sent by this test`);
}
