// Traces from the official OpenTelemetry JS SDK, sent over every OTLP
// transport the SDK has (http/json, http/protobuf, each also gzipped, and
// gRPC), must be acknowledged and read back from the Tempo APIs
// (/api/traces/<id>, /api/v2/traces/<id>) identical field by field to what the
// SDK recorded: names, kinds, ids, parent ids, flags, trace state, times to the
// nanosecond, attributes of every type, events, links, status, resource,
// scope and schema URLs. Unknown ids are 404. A graceful restart keeps them.

import test from 'node:test';
import assert from 'node:assert/strict';
import { trace, ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, diag, DiagConsoleLogger, DiagLogLevel } from '@opentelemetry/api';
import { ExportResultCode, TraceState } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as HttpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as HttpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { startOcelot, get, poll, sumSamples } from './lib/ocelot.mjs';
import { Diff, flattenResourceSpans, compareTrace } from './lib/otlp-expect.mjs';

diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.WARN);

const EXPORT_TIMEOUT_MS = 10_000;

const VARIANTS = [
  { name: 'http/json', transport: 'http', make: (s) => new HttpJsonExporter({ url: `${s.http}/v1/traces`, timeoutMillis: EXPORT_TIMEOUT_MS }) },
  { name: 'http/json+gzip', transport: 'http', make: (s) => new HttpJsonExporter({ url: `${s.http}/v1/traces`, compression: 'gzip', timeoutMillis: EXPORT_TIMEOUT_MS }) },
  { name: 'http/protobuf', transport: 'http', make: (s) => new HttpProtoExporter({ url: `${s.http}/v1/traces`, timeoutMillis: EXPORT_TIMEOUT_MS }) },
  { name: 'http/protobuf+gzip', transport: 'http', make: (s) => new HttpProtoExporter({ url: `${s.http}/v1/traces`, compression: 'gzip', timeoutMillis: EXPORT_TIMEOUT_MS }) },
  { name: 'grpc', transport: 'grpc', make: (s) => new GrpcExporter({ url: s.grpc, timeoutMillis: EXPORT_TIMEOUT_MS }) },
  { name: 'grpc+gzip', transport: 'grpc', make: (s) => new GrpcExporter({ url: s.grpc, compression: 'gzip', timeoutMillis: EXPORT_TIMEOUT_MS }) },
];

// Attribute values of every type the JS SDK accepts. Doubles have fractional
// parts: the SDK sends integral numbers as intValue (and, over JSON, even
// integral numbers beyond int64 such as 1e300, which makes the request invalid).
const ALL_TYPES = {
  'attr.string': 'hello',
  'attr.string.empty': '',
  'attr.string.unicode': 'héllo wörld ✓ 日本語 🚀',
  'attr.string.escapes': 'quote " backslash \\ slash / newline \n tab \t control \u0001 del \u007f',
  'attr.ключ.unicode-key': 'значение',
  'attr.bool.true': true,
  'attr.bool.false': false,
  'attr.int': 42,
  'attr.int.zero': 0,
  'attr.int.negative': -7,
  'attr.int.max_safe': Number.MAX_SAFE_INTEGER,
  'attr.int.min_safe': Number.MIN_SAFE_INTEGER,
  'attr.double': 3.14159,
  'attr.double.negative': -0.5,
  'attr.double.small': 2.5e-10,
  'attr.double.precise': -12345.678901234567,
  'attr.array.string': ['a', '', 'ü', 'long string value'],
  'attr.array.bool': [true, false, true],
  'attr.array.int': [1, -2, 0, 2 ** 40],
  'attr.array.double': [1.5, -2.25, 1e-9, 6.02214076e-23, 4503599627370495.5],
  'attr.array.empty': [],
};

// int64 values beyond 2^53, exact as doubles. Only for protobuf/gRPC: the
// SDK's JSON encoder writes them as JSON numbers in shortest form
// (2**62 → 4611686018427388000), i.e. it sends a different integer.
const BEYOND_2_53 = { 'attr.int.pow2_62': 2 ** 62, 'attr.int.neg_pow2_63': -(2 ** 63), 'attr.array.int.big': [2 ** 60, -(2 ** 61)] };

// Sub-millisecond explicit times (HrTime tuples), a few minutes in the past.
const BASE = Math.floor(Date.now() / 1000) - 300;
const T = (s, ns) => [BASE + s, ns];

function recordingExporter(inner) {
  const rec = { spans: [], results: [] };
  rec.exporter = {
    export(spans, cb) {
      rec.spans.push(...spans);
      inner.export(spans, (r) => { rec.results.push(r); cb(r); });
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
  };
  return rec;
}

function providerWith(resource, exporter) {
  return new BasicTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(exporter, {
      maxQueueSize: 1000, maxExportBatchSize: 512, scheduledDelayMillis: 60_000, exportTimeoutMillis: EXPORT_TIMEOUT_MS,
    })],
  });
}

// Builds one trace across two services (two resources, three scopes) and a
// second, separate trace that a link points to. Returns the trace id.
function buildTrace(variant, pA, pB) {
  const tracer = pA.getTracer('ocelot.test.js-sdk', '1.2.3-beta.4', { schemaUrl: 'https://opentelemetry.io/schemas/1.26.0' });
  const tracer2 = pA.getTracer('ocelot.test.secondary');
  const tracerB = pB.getTracer('ocelot.test.downstream', '0.0.1');

  const other = tracer.startSpan('other-trace-root', { kind: SpanKind.SERVER, startTime: T(0, 1) }, ROOT_CONTEXT);
  other.end(T(0, 2));

  const root = tracer.startSpan(`GET /api/users/{id} (${variant})`, {
    kind: SpanKind.SERVER,
    startTime: T(0, 100_000_001),
    attributes: { ...ALL_TYPES, ...(variant.startsWith('http/json') ? {} : BEYOND_2_53), 'http.request.method': 'GET', 'http.response.status_code': 502 },
    links: [{ context: other.spanContext(), attributes: { 'link.kind': 'follows-from', 'link.n': 7, 'link.ok': true, 'link.ratio': 0.25 } }],
  }, ROOT_CONTEXT);
  root.addEvent('request.received', { ...ALL_TYPES, 'event.seq': 1 }, T(0, 100_000_500));
  root.addEvent('no-attributes', T(0, 150_000_000));
  const rootCtx = trace.setSpan(ROOT_CONTEXT, root);

  const client = tracer.startSpan('SELECT users', {
    kind: SpanKind.CLIENT,
    startTime: T(0, 200_123_457),
    attributes: { 'db.system.name': 'postgresql', 'db.query.text': 'SELECT * FROM users WHERE id = $1', 'server.port': 5432 },
  }, rootCtx);
  const clientCtx = trace.setSpan(ROOT_CONTEXT, client);

  const internal = tracer.startSpan('decode rows', { kind: SpanKind.INTERNAL, startTime: T(0, 300_000_500) }, clientCtx);
  internal.setAttribute('rows', 3);
  internal.setAttribute('ratio', 0.75);
  internal.addEvent('row', { i: 0 }, T(0, 300_000_600));
  internal.addEvent('row', { i: 1 }, T(0, 300_000_700));
  internal.setStatus({ code: SpanStatusCode.OK });
  internal.end(T(0, 999_999_999));

  const minimal = tracer2.startSpan('minimal', { startTime: T(1, 0) }, clientCtx);
  minimal.end(T(1, 1));

  const err = new Error('connection reset by peer');
  err.name = 'ECONNRESET';
  client.recordException(err, T(1, 5));
  client.setStatus({ code: SpanStatusCode.OK });
  client.end(T(1, 7));

  const producer = tracer.startSpan('orders publish', {
    kind: SpanKind.PRODUCER,
    startTime: T(1, 500_000_000),
    attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders' },
  }, rootCtx);
  producer.addLink({ context: client.spanContext(), attributes: { 'link.reason': 'caused-by' } });
  producer.end(T(1, 600_000_001));

  // Downstream service: its parent arrives "over the wire" (remote, with trace state).
  const remoteParent = {
    traceId: producer.spanContext().traceId,
    spanId: producer.spanContext().spanId,
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
    traceState: new TraceState('ocelot=t61rcWkgMzE,vendor2=opaque-value'),
  };
  const consumer = tracerB.startSpan('orders process', {
    kind: SpanKind.CONSUMER,
    startTime: T(2, 1),
    attributes: { 'messaging.operation.type': 'process', 'messaging.batch.message_count': 1 },
    links: [{ context: remoteParent, attributes: { 'messaging.message.id': 'a1b2c3' } }],
  }, trace.setSpanContext(ROOT_CONTEXT, remoteParent));
  consumer.setStatus({ code: SpanStatusCode.ERROR });
  consumer.end(T(3, 123_456_789));

  root.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream failed: ünïcødé ✓ "quoted"' });
  root.end(T(5, 900_000_999));
  return { traceId: root.spanContext().traceId, otherTraceId: other.spanContext().traceId };
}

const isHex32 = (s) => /^[0-9a-f]{32}$/.test(s);

async function fetchTrace(srv, pathPrefix, traceId, key, wantSpans) {
  const url = `${srv.api}${pathPrefix}${traceId}`;
  let last;
  await poll(async () => {
    last = await get(url);
    if (last.status !== 200) return false;
    const body = last.json();
    const list = key === 'batches' ? body.batches : body.trace?.resourceSpans;
    if (!Array.isArray(list)) return false;
    const n = list.flatMap((rs) => (rs.scopeSpans ?? []).flatMap((ss) => ss.spans ?? [])).length;
    return n >= wantSpans;
  }, { timeoutMs: 10_000, intervalMs: 100 });
  assert.equal(last.status, 200, `GET ${url}: expected 200, got ${last.status}: ${last.text.slice(0, 500)}`);
  const ct = last.headers.get('content-type') ?? '';
  assert.match(ct, /application\/json/, `GET ${url}: Content-Type ${JSON.stringify(ct)} is not application/json`);
  return last.json();
}

function checkAnswer(srv, what, list, sdkSpans) {
  const diff = new Diff();
  const flat = flattenResourceSpans(diff, what, list);
  compareTrace(diff, flat, sdkSpans);
  if (!diff.ok) {
    assert.fail(`${what} differs from what the SDK recorded (${diff.problems.length} mismatches):\n${diff}`);
  }
}

test('OpenTelemetry JS SDK traces round-trip through ocelot', { timeout: 240_000 }, async (t) => {
  const srv = await startOcelot();
  const sent = []; // { variant, traceId, spans }
  let stopped = false;
  t.after(async () => { if (!stopped) await srv.stop(); });

  for (const v of VARIANTS) {
    await t.test(`export over ${v.name} and read back`, { timeout: 60_000 }, async () => {
      const acceptedSpans = async () => sumSamples((await get(`${srv.api}/metrics`)).text,
        'ocelot_receiver_accepted_total', { signal: 'traces', transport: v.transport });
      const before = await acceptedSpans();
      const recA = recordingExporter(v.make(srv));
      const recB = recordingExporter(v.make(srv));
      const pA = providerWith(resourceFromAttributes({
        'service.name': 'ocelot-js-test',
        'service.version': '9.8.7',
        'service.namespace': 'ocelot',
        'deployment.environment.name': 'integration',
        ...ALL_TYPES,
      }, { schemaUrl: 'https://opentelemetry.io/schemas/1.25.0' }), recA.exporter);
      const pB = providerWith(resourceFromAttributes({ 'service.name': 'ocelot-js-test-downstream', 'host.name': 'worker-1' }), recB.exporter);

      const { traceId, otherTraceId } = buildTrace(v.name, pA, pB);
      assert.ok(isHex32(traceId), `SDK trace id ${traceId}`);
      // A failed export rejects forceFlush; the recorded result codes below say why.
      const flushErrors = [];
      await pA.forceFlush().catch((e) => flushErrors.push(e));
      await pB.forceFlush().catch((e) => flushErrors.push(e));
      for (const [who, rec] of [['service A', recA], ['service B', recB]]) {
        assert.ok(rec.results.length > 0, `${v.name}: the ${who} exporter was never called`);
        rec.results.forEach((r, i) => assert.equal(r.code, ExportResultCode.SUCCESS,
          `${v.name}: ${who} export #${i + 1} result code ${r.code} (expected SUCCESS=0): ${r.error?.stack ?? r.error}\nocelot output:\n${srv.output().slice(-3000)}`));
      }
      assert.equal(flushErrors.length, 0, `${v.name}: forceFlush failed: ${flushErrors.map((e) => e?.stack ?? e).join('\n')}`);
      await pA.shutdown();
      await pB.shutdown();

      const all = [...recA.spans, ...recB.spans];
      const spans = all.filter((s) => s.spanContext().traceId === traceId);
      const otherSpans = all.filter((s) => s.spanContext().traceId === otherTraceId);
      assert.equal(spans.length, 6, `${v.name}: the SDK recorded ${spans.length} spans of the trace, expected 6`);
      sent.push({ variant: v.name, traceId, spans, otherTraceId, otherSpans });

      // ocelot counts every accepted span in ocelot_receiver_accepted_total{signal="traces",transport}.
      const after = await acceptedSpans();
      assert.ok(after.matched > 0, `${v.name}: /metrics has no ocelot_receiver_accepted_total{signal="traces",transport="${v.transport}"}`);
      assert.equal(after.sum - before.sum, all.length,
        `${v.name}: ocelot_receiver_accepted_total{signal="traces",transport="${v.transport}"} grew by ${after.sum - before.sum}, the SDK exported ${all.length} spans`);

      const v1 = await fetchTrace(srv, '/api/traces/', traceId, 'batches', spans.length);
      checkAnswer(srv, `${v.name}: GET /api/traces/${traceId} .batches`, v1.batches, spans);
      const resources = new Set(v1.batches.map((b) => JSON.stringify(b.resource)));
      assert.ok(resources.size >= 2, `${v.name}: /api/traces: spans of two services must come in (at least) two batches, got ${v1.batches.length}`);

      const v2 = await fetchTrace(srv, '/api/v2/traces/', traceId, 'v2', spans.length);
      assert.ok(v2.trace && typeof v2.trace === 'object', `${v.name}: /api/v2/traces: no "trace" object: ${JSON.stringify(v2).slice(0, 300)}`);
      checkAnswer(srv, `${v.name}: GET /api/v2/traces/${traceId} .trace.resourceSpans`, v2.trace.resourceSpans, spans);

      const o = await fetchTrace(srv, '/api/traces/', otherTraceId, 'batches', otherSpans.length);
      checkAnswer(srv, `${v.name}: GET /api/traces/${otherTraceId} (linked trace) .batches`, o.batches, otherSpans);
    });
  }

  await t.test('unknown trace id is 404 on both APIs', async () => {
    for (const id of ['0123456789abcdef0123456789abcdef', 'ffffffffffffffffffffffffffffffff']) {
      for (const p of ['/api/traces/', '/api/v2/traces/']) {
        const r = await get(`${srv.api}${p}${id}`);
        assert.equal(r.status, 404, `GET ${p}${id}: expected 404, got ${r.status}: ${r.text.slice(0, 300)}`);
      }
    }
  });

  await t.test('traces survive a graceful restart', { timeout: 60_000 }, async () => {
    assert.ok(sent.length > 0, 'no trace was sent successfully before the restart');
    await srv.restart();
    for (const s of sent) {
      const v1 = await fetchTrace(srv, '/api/traces/', s.traceId, 'batches', s.spans.length);
      checkAnswer(srv, `after restart, ${s.variant}: GET /api/traces/${s.traceId} .batches`, v1.batches, s.spans);
    }
  });

  await t.test('SIGTERM exits with status 0', async () => {
    stopped = true;
    await srv.stop();
  });
});
