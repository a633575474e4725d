// Metrics and logs from the official OpenTelemetry JS SDK, sent over
// http/json, http/protobuf (each also gzipped) and gRPC, must be acknowledged
// (exporter result SUCCESS) and counted exactly by ocelot's own
// ocelot_receiver_accepted_total{signal="metrics"|"logs", transport="http"|"grpc"}
// (one per data point / log record). Read-back of metrics and logs is tested
// once the query engines exist.
//
// Metrics: counter, up-down counter, histogram (explicit buckets and
// exponential), gauge, observable counter / up-down counter / gauge; one
// cumulative and one delta reader, two collection cycles each.
// Logs: severity number and text, string body, map body (nested values and
// bytes), attributes of every type, trace/span id context, event name, scope
// attributes, explicit timestamps.

import test from 'node:test';
import assert from 'node:assert/strict';
import { trace, ROOT_CONTEXT, TraceFlags, diag, DiagConsoleLogger, DiagLogLevel } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { ExportResultCode } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, AggregationType, AggregationTemporality } from '@opentelemetry/sdk-metrics';
import { LoggerProvider, BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { OTLPMetricExporter as MetricHttpJson, AggregationTemporalityPreference } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as MetricHttpProto } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPMetricExporter as MetricGrpc } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPLogExporter as LogHttpJson } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as LogHttpProto } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPLogExporter as LogGrpc } from '@opentelemetry/exporter-logs-otlp-grpc';
import { startOcelot, get, poll, sumSamples } from './lib/ocelot.mjs';

diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.WARN);

const TIMEOUT_MS = 10_000;
const gz = { compression: 'gzip' };
const VARIANTS = [
  {
    name: 'http/json',
    transport: 'http',
    metrics: (s, o) => new MetricHttpJson({ url: `${s.http}/v1/metrics`, timeoutMillis: TIMEOUT_MS, ...o }),
    logs: (s) => new LogHttpJson({ url: `${s.http}/v1/logs`, timeoutMillis: TIMEOUT_MS }),
  },
  {
    name: 'http/json+gzip',
    transport: 'http',
    metrics: (s, o) => new MetricHttpJson({ url: `${s.http}/v1/metrics`, timeoutMillis: TIMEOUT_MS, ...gz, ...o }),
    logs: (s) => new LogHttpJson({ url: `${s.http}/v1/logs`, timeoutMillis: TIMEOUT_MS, ...gz }),
  },
  {
    name: 'http/protobuf',
    transport: 'http',
    metrics: (s, o) => new MetricHttpProto({ url: `${s.http}/v1/metrics`, timeoutMillis: TIMEOUT_MS, ...o }),
    logs: (s) => new LogHttpProto({ url: `${s.http}/v1/logs`, timeoutMillis: TIMEOUT_MS }),
  },
  {
    name: 'http/protobuf+gzip',
    transport: 'http',
    metrics: (s, o) => new MetricHttpProto({ url: `${s.http}/v1/metrics`, timeoutMillis: TIMEOUT_MS, ...gz, ...o }),
    logs: (s) => new LogHttpProto({ url: `${s.http}/v1/logs`, timeoutMillis: TIMEOUT_MS, ...gz }),
  },
  {
    name: 'grpc',
    transport: 'grpc',
    metrics: (s, o) => new MetricGrpc({ url: s.grpc, timeoutMillis: TIMEOUT_MS, ...o }),
    logs: (s) => new LogGrpc({ url: s.grpc, timeoutMillis: TIMEOUT_MS }),
  },
];

const ALL_TYPES = {
  'attr.string': 'hello',
  'attr.string.empty': '',
  'attr.string.unicode': 'héllo wörld ✓ 日本語 🚀',
  'attr.bool': true,
  'attr.bool.false': false,
  'attr.int': 42,
  'attr.int.negative': -7,
  'attr.int.max_safe': Number.MAX_SAFE_INTEGER,
  'attr.double': 3.14159,
  'attr.array.string': ['a', '', 'ü'],
  'attr.array.bool': [true, false],
  'attr.array.int': [1, -2, 2 ** 40],
  'attr.array.double': [1.5, -2.25],
};

const BASE = Math.floor(Date.now() / 1000) - 60;
const T = (s, ns) => [BASE + s, ns];

// Wraps an SDK exporter, recording what it was given and every result.
function recording(inner) {
  const rec = { sent: [], results: [] };
  rec.exporter = {
    export(items, cb) {
      rec.sent.push(items);
      inner.export(items, (r) => { rec.results.push(r); cb(r); });
    },
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
    shutdown: () => inner.shutdown(),
  };
  if (inner.selectAggregationTemporality) rec.exporter.selectAggregationTemporality = inner.selectAggregationTemporality.bind(inner);
  if (inner.selectAggregation) rec.exporter.selectAggregation = inner.selectAggregation.bind(inner);
  return rec;
}

function assertAllSucceeded(what, rec, srv) {
  assert.ok(rec.results.length > 0, `${what}: the exporter was never called`);
  rec.results.forEach((r, i) => assert.equal(r.code, ExportResultCode.SUCCESS,
    `${what}: export #${i + 1} result code ${r.code} (expected SUCCESS=0): ${r.error?.stack ?? r.error}\nocelot output:\n${srv.output().slice(-3000)}`));
}

async function scrape(srv) {
  const r = await get(`${srv.api}/metrics`);
  assert.equal(r.status, 200, `GET /metrics: expected 200, got ${r.status}`);
  return r.text;
}

// ocelot counts every accepted record (span, metric data point, log record)
// in ocelot_receiver_accepted_total{signal, transport}.
const ACCEPTED = 'ocelot_receiver_accepted_total';

// Metrics: data points the TSDB refuses inside an acknowledged request
// (exponential histograms; the cumulative and the delta reader writing the
// same series) are reported as partial success and counted in
// ocelot_receiver_refused_total{reason="partial"}: every exported point is
// in exactly one of the two counters.
async function acceptedCount(srv, signal, transport) {
  const text = await scrape(srv);
  const acc = sumSamples(text, ACCEPTED, { signal, transport });
  if (signal !== 'metrics') return acc;
  const part = sumSamples(text, 'ocelot_receiver_refused_total', { signal, transport, reason: 'partial' });
  return { sum: acc.sum + part.sum, matched: acc.matched };
}

// The counter must grow by exactly the number of records the SDK exported.
async function assertAccepted(srv, signal, transport, before, n, what) {
  let now;
  await poll(async () => {
    now = await acceptedCount(srv, signal, transport);
    return now.sum >= before.sum + n;
  }, { timeoutMs: 5_000, intervalMs: 100 });
  if (now.matched === 0) {
    const lines = (await scrape(srv)).split('\n').filter((l) => l.includes('accepted')).slice(0, 30);
    assert.fail(`${what}: /metrics has no sample ${ACCEPTED}{signal="${signal}",transport="${transport}"}; lines with "accepted":\n${lines.join('\n') || '(none)'}`);
  }
  assert.equal(now.sum - before.sum, n,
    `${what}: ${ACCEPTED}{signal="${signal}",transport="${transport}"} grew by ${now.sum - before.sum} (from ${before.sum} to ${now.sum}); the SDK exported ${n} and every export succeeded`);
}

function countPoints(resourceMetricsList) {
  let n = 0;
  const temporalities = new Set();
  for (const rm of resourceMetricsList) {
    for (const sm of rm.scopeMetrics) {
      for (const m of sm.metrics) {
        n += m.dataPoints.length;
        if (m.aggregationTemporality !== undefined && m.dataPointType !== 2 /* GAUGE */) temporalities.add(m.aggregationTemporality);
      }
    }
  }
  return { n, temporalities };
}

async function sendMetrics(srv, v) {
  const cumulative = recording(v.metrics(srv, { temporalityPreference: AggregationTemporalityPreference.CUMULATIVE }));
  const delta = recording(v.metrics(srv, { temporalityPreference: AggregationTemporalityPreference.DELTA }));
  const reader = (rec) => new PeriodicExportingMetricReader({ exporter: rec.exporter, exportIntervalMillis: 600_000, exportTimeoutMillis: TIMEOUT_MS });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'ocelot-js-test-metrics', 'service.instance.id': `i-${v.name}`, ...ALL_TYPES }),
    readers: [reader(cumulative), reader(delta)],
    views: [{ instrumentName: 'ocelot.test.latency.exp', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
  });
  const meter = provider.getMeter('ocelot.test.js-sdk.metrics', '1.0.0', { schemaUrl: 'https://opentelemetry.io/schemas/1.26.0' });
  const counter = meter.createCounter('ocelot.test.requests', { description: 'requests handled', unit: '{request}' });
  const updown = meter.createUpDownCounter('ocelot.test.inflight', { unit: '{request}' });
  const hist = meter.createHistogram('ocelot.test.latency', { unit: 's', advice: { explicitBucketBoundaries: [0.005, 0.01, 0.1, 1, 10] } });
  const expHist = meter.createHistogram('ocelot.test.latency.exp', { unit: 's' });
  const gauge = meter.createGauge('ocelot.test.temperature', { unit: 'Cel' });
  let ticks = 0;
  meter.createObservableCounter('ocelot.test.cpu.time', { unit: 's' })
    .addCallback((r) => { ticks++; r.observe(12.5 * ticks, { 'cpu.mode': 'user' }); r.observe(3 * ticks, { 'cpu.mode': 'system' }); });
  meter.createObservableUpDownCounter('ocelot.test.queue.size').addCallback((r) => r.observe(7 - ticks, { queue: 'q1' }));
  meter.createObservableGauge('ocelot.test.memory.utilization', { unit: '1' }).addCallback((r) => r.observe(0.625, { 'memory.state': 'used' }));

  const record = (round) => {
    for (const [route, code] of [['/a', 200], ['/b', 500], ['/ü', 200]]) {
      counter.add(3 + round, { 'http.route': route, 'http.response.status_code': code, ok: code === 200 });
      hist.record(0.0042 * (round + 1), { 'http.route': route });
      hist.record(0.25, { 'http.route': route });
      hist.record(12.75, { 'http.route': route });
      expHist.record(0.001 * (round + 1), { 'http.route': route });
      expHist.record(0.5, { 'http.route': route });
    }
    updown.add(5, { pool: 'p' });
    updown.add(-2 - round, { pool: 'p' });
    gauge.record(21.5 + round, { room: 'lab' });
    gauge.record(-3, { room: 'freezer' });
  };
  // A failed export rejects forceFlush; the recorded result codes say why.
  const flushErrors = [];
  record(0);
  await provider.forceFlush({ timeoutMillis: TIMEOUT_MS }).catch((e) => flushErrors.push(e));
  record(1);
  await provider.forceFlush({ timeoutMillis: TIMEOUT_MS }).catch((e) => flushErrors.push(e));
  await provider.shutdown({ timeoutMillis: TIMEOUT_MS }).catch((e) => flushErrors.push(e));
  return { cumulative, delta, flushErrors };
}

async function sendLogs(srv, v, traceId, spanId) {
  const rec = recording(v.logs(srv));
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'ocelot-js-test-logs', 'service.instance.id': `i-${v.name}`, ...ALL_TYPES }),
    processors: [new BatchLogRecordProcessor({ exporter: rec.exporter, scheduledDelayMillis: 600_000, exportTimeoutMillis: TIMEOUT_MS, maxExportBatchSize: 512 })],
  });
  const logger = provider.getLogger('ocelot.test.js-sdk.logs', '2.0.0', {
    schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
    attributes: { 'scope.attr': 'x', 'scope.n': 3 },
  });
  const spanCtx = trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: false });
  logger.emit({
    timestamp: T(0, 123_456_789), observedTimestamp: T(0, 223_456_789),
    severityNumber: SeverityNumber.INFO, severityText: 'INFO',
    body: `plain string body over ${v.name}: ünïcødé ✓ "quoted" \\ \n second line`,
    attributes: { ...ALL_TYPES, 'log.seq': 1 },
  });
  logger.emit({
    timestamp: T(1, 1), context: spanCtx,
    severityNumber: SeverityNumber.ERROR, severityText: 'ERROR',
    body: {
      message: 'structured body', n: 42, d: 1.5, ok: false, empty: '',
      list: [1, 'two', 3.5, true], nested: { k: 'v', deeper: { x: [1, 2] } }, bytes: new Uint8Array([0, 1, 2, 254, 255]),
    },
    attributes: { 'exception.type': 'TypeError', 'exception.message': 'x is undefined' },
  });
  logger.emit({
    timestamp: T(2, 999_999_999), context: spanCtx,
    eventName: 'ocelot.test.event', severityNumber: SeverityNumber.WARN, severityText: 'WARN',
    attributes: { 'event.domain': 'test' },
  });
  logger.emit({ severityNumber: SeverityNumber.FATAL4, body: '' }); // no timestamp: SDK fills observed time
  rec.flushErrors = [];
  await provider.forceFlush().catch((e) => rec.flushErrors.push(e));
  await provider.shutdown().catch((e) => rec.flushErrors.push(e));
  return rec;
}

test('OpenTelemetry JS SDK metrics and logs are accepted over every transport', { timeout: 240_000 }, async (t) => {
  const srv = await startOcelot();
  let stopped = false;
  t.after(async () => { if (!stopped) await srv.stop(); });

  await t.test('server health and self-metrics', async () => {
    const ready = await get(`${srv.api}/-/ready`);
    assert.equal(ready.status, 200, `GET /-/ready: expected 200, got ${ready.status}: ${ready.text.slice(0, 200)}`);
    const text = await scrape(srv);
    assert.ok(text.includes('ocelot_'), `GET /metrics: no metric named ocelot_*:\n${text.slice(0, 1000)}`);
  });

  for (const v of VARIANTS) {
    await t.test(`metrics over ${v.name} (cumulative and delta)`, { timeout: 60_000 }, async () => {
      const before = await acceptedCount(srv, 'metrics', v.transport);
      const { cumulative, delta, flushErrors } = await sendMetrics(srv, v);
      assertAllSucceeded(`${v.name} metrics, cumulative reader`, cumulative, srv);
      assertAllSucceeded(`${v.name} metrics, delta reader`, delta, srv);
      assert.equal(flushErrors.length, 0, `${v.name}: metrics forceFlush/shutdown failed: ${flushErrors.map((e) => e?.stack ?? e).join('\n')}`);
      // Sanity of the test itself: the SDK really produced both temporalities.
      const c = countPoints(cumulative.sent);
      const d = countPoints(delta.sent);
      assert.ok(c.n > 10 && d.n > 10, `${v.name}: too few data points exported (cumulative ${c.n}, delta ${d.n})`);
      assert.deepEqual([...c.temporalities], [AggregationTemporality.CUMULATIVE], `${v.name}: cumulative reader temporalities`);
      assert.ok(d.temporalities.has(AggregationTemporality.DELTA), `${v.name}: delta reader sent no DELTA metric`);
      await assertAccepted(srv, 'metrics', v.transport, before, c.n + d.n, `${v.name} metrics`);
    });

    await t.test(`logs over ${v.name}`, { timeout: 60_000 }, async () => {
      const before = await acceptedCount(srv, 'logs', v.transport);
      const rec = await sendLogs(srv, v, '5b8efff798038103d269b633813fc60c', 'eee19b7ec3c1b174');
      assertAllSucceeded(`${v.name} logs`, rec, srv);
      assert.equal(rec.flushErrors.length, 0, `${v.name}: logs forceFlush/shutdown failed: ${rec.flushErrors.map((e) => e?.stack ?? e).join('\n')}`);
      const n = rec.sent.reduce((a, b) => a + b.length, 0);
      assert.equal(n, 4, `${v.name}: the SDK exported ${n} log records, expected 4`);
      await assertAccepted(srv, 'logs', v.transport, before, n, `${v.name} logs`);
    });
  }

  await t.test('SIGTERM exits with status 0', async () => {
    stopped = true;
    await srv.stop();
  });
});
