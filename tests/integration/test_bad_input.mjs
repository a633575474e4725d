// Bad input: every malformed request gets the right status while a
// concurrent well-behaved client keeps being served, and the server stays
// up with bounded memory. Raw HTTP/1.1 and HTTP/2 (node's own clients), so
// that we can send what no SDK would.
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import fs from 'node:fs';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { startOcelot, get } from './lib/ocelot.mjs';

// ---- a tiny protobuf writer for hand-made OTLP requests ----
function varint(n) {
  const out = [];
  let v = BigInt(n);
  while (v >= 0x80n) { out.push(Number(v & 0x7fn) | 0x80); v >>= 7n; }
  out.push(Number(v));
  return Buffer.from(out);
}
const tag = (field, wt) => varint((field << 3) | wt);
const ld = (field, buf) => Buffer.concat([tag(field, 2), varint(buf.length), buf]);
const str = (field, s) => ld(field, Buffer.from(s, 'utf8'));
const fixed64 = (field, n) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return Buffer.concat([tag(field, 1), b]); };
const kv = (k, anyValue) => ld(1, Buffer.concat([str(1, k), ld(2, anyValue)]));  // attributes = KeyValue
const anyStr = (s) => str(1, s);

function span(traceId, spanId, name, attrs = []) {
  const now = BigInt(Date.now()) * 1000000n;
  return Buffer.concat([
    ld(1, traceId), ld(2, spanId), Buffer.isBuffer(name) ? ld(5, name) : str(5, name),
    tag(6, 0), varint(2), fixed64(7, now), fixed64(8, now + 1000n),
    ...attrs.map(([k, v]) => ld(9, Buffer.concat([str(1, k), ld(2, v)]))),
  ]);
}
function tracesReq(spans) {
  const resource = kv('service.name', anyStr('bad-input-test'));
  const scopeSpans = Buffer.concat([ld(1, str(1, 'scope')), ...spans.map((s) => ld(2, s))]);
  return ld(1, Buffer.concat([ld(1, resource), ld(2, scopeSpans)]));
}
const rid = (n) => crypto.randomBytes(n);

// ---- raw HTTP/1.1 POST with full control over headers ----
function post(port, path, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', headers, agent: false,
      timeout: 20000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

const ocl = await startOcelot();
const P = ocl.ports.http;
const pbHdr = { 'content-type': 'application/x-protobuf' };
const failures = [];
const check = (cond, msg) => { if (!cond) failures.push(msg); };

// ---- the well-behaved client, running throughout ----
let goodOk = 0, goodBad = 0, stopGood = false;
const goodIds = [];
const good = (async () => {
  while (!stopGood) {
    const tid = rid(16);
    const r = await post(P, '/v1/traces', tracesReq([span(tid, rid(8), 'good')]), pbHdr).catch((e) => ({ status: String(e) }));
    if (r.status === 200) { goodOk++; goodIds.push(tid.toString('hex')); } else { goodBad++; console.error('good client got', r.status); }
    await new Promise((r2) => setTimeout(r2, 5));
  }
})();

const valid = tracesReq([span(rid(16), rid(8), 'valid-span', [['k', anyStr('v')]])]);

// 1. truncated protobuf at every length: the request is one top-level
// length-delimited field, so every strict prefix is malformed → 400.
let truncBad = [];
for (let n = 1; n < valid.length; n++) {
  const r = await post(P, '/v1/traces', valid.subarray(0, n), pbHdr);
  if (r.status !== 400) truncBad.push(`${n}:${r.status}`);
}
check(truncBad.length === 0, `truncated protobuf not all 400: ${truncBad.slice(0, 10).join(' ')}`);

// 2. garbage: wire type 7 does not exist → 400 with a google.rpc.Status body.
{
  const r = await post(P, '/v1/traces', Buffer.from([0x0f, 0xff, 0xff, 0xff, 0xff]), pbHdr);
  check(r.status === 400, `garbage → ${r.status}`);
  check(r.headers['content-type'] === 'application/x-protobuf', `garbage error content-type ${r.headers['content-type']}`);
  // Status.code (field 1) = 3 INVALID_ARGUMENT
  check(r.body[0] === 0x08 && r.body[1] === 3, `garbage error body is not Status{code:3}: ${r.body.toString('hex').slice(0, 20)}`);
  for (let i = 0; i < 50; i++) {
    const rr = await post(P, '/v1/traces', rid(1 + (i * 37) % 3000), pbHdr);
    check(rr.status === 400 || rr.status === 200, `random garbage #${i} → ${rr.status}`);
  }
  const j = await post(P, '/v1/traces', '{"resourceSpans": [', { 'content-type': 'application/json' });
  check(j.status === 400, `malformed JSON → ${j.status}`);
  let jb = {};
  try { jb = JSON.parse(j.body.toString()); } catch { /* checked below */ }
  check(jb.code === 3 && typeof jb.message === 'string', `malformed JSON error body: ${j.body}`);
}

// 3. deeply nested AnyValue (arrays in arrays, depth 200) → 400, pb and JSON.
{
  let v = anyStr('leaf');
  for (let i = 0; i < 200; i++) v = ld(5, ld(1, v)); // array_value{values=[v]}
  const r = await post(P, '/v1/traces', tracesReq([span(rid(16), rid(8), 'deep', [['deep', v]])]), pbHdr);
  check(r.status === 400, `deep AnyValue (pb) → ${r.status}`);
  let jv = '{"stringValue":"leaf"}';
  for (let i = 0; i < 200; i++) jv = `{"arrayValue":{"values":[${jv}]}}`;
  const body = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${rid(16).toString('hex')}","spanId":"${rid(8).toString('hex')}","name":"deep","attributes":[{"key":"d","value":${jv}}]}]}]}]}`;
  const rj = await post(P, '/v1/traces', body, { 'content-type': 'application/json' });
  check(rj.status === 400, `deep AnyValue (json) → ${rj.status}`);
}

// 4. invalid UTF-8 in a string field → 400.
{
  const r = await post(P, '/v1/traces', tracesReq([span(rid(16), rid(8), Buffer.from([0x61, 0xc3, 0x28]))]), pbHdr);
  check(r.status === 400, `invalid UTF-8 → ${r.status}`);
}

// 5. gzip bomb: 256 MiB of zeros compress to ~256 KiB; limit is 20 MiB → 413,
// and the server's memory stays bounded.
{
  const bomb = zlib.gzipSync(Buffer.alloc(256 << 20), { level: 9 });
  const r = await post(P, '/v1/traces', bomb, { ...pbHdr, 'content-encoding': 'gzip' });
  check(r.status === 413, `gzip bomb → ${r.status}`);
  const status = fs.readFileSync(`/proc/${ocl.proc.pid}/status`, 'utf8');
  const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)[1]) * 1024;
  check(hwm < 200 * 1024 * 1024, `peak RSS after gzip bomb ${hwm} bytes (limit 200 MiB)`);
  const bad = await post(P, '/v1/traces', Buffer.from('not gzip at all'), { ...pbHdr, 'content-encoding': 'gzip' });
  check(bad.status === 400, `corrupt gzip → ${bad.status}`);
  const br = await post(P, '/v1/traces', valid, { ...pbHdr, 'content-encoding': 'br' });
  check(br.status === 415, `unsupported content-encoding → ${br.status}`);
}

// 5b. JSON amplification: 2M empty objects (6 MB) would parse into ~500 MB
// of tree; the parse budget answers 413 and memory stays bounded.
{
  const body = '{"resourceSpans":[' + Array(2_000_000).fill('{}').join(',') + ']}';
  const r = await post(P, '/v1/traces', body, { 'content-type': 'application/json' });
  check(r.status === 413, `JSON of 2M empty objects → ${r.status} ${r.body}`);
  const status = fs.readFileSync(`/proc/${ocl.proc.pid}/status`, 'utf8');
  const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)[1]) * 1024;
  check(hwm < 320 * 1024 * 1024, `peak RSS after JSON amplification ${hwm} bytes (limit 320 MiB)`);
}

// 6. oversized body (21 MiB > 20 MiB) → 413.
{
  const r = await post(P, '/v1/traces', Buffer.alloc(21 << 20, 0x0a), pbHdr).catch((e) => ({ status: `error ${e.message}` }));
  check(r.status === 413, `oversized body → ${r.status}`);
}

// 7. wrong content type → 415; Content-Length: 0 → 200 for protobuf (an
// empty ExportTraceServiceRequest is valid) and 400 for JSON.
{
  const r = await post(P, '/v1/traces', valid, { 'content-type': 'text/plain' });
  check(r.status === 415, `text/plain → ${r.status}`);
  const r2 = await post(P, '/v1/traces', valid, {});
  check(r2.status === 415, `no content-type → ${r2.status}`);
  const e = await post(P, '/v1/traces', Buffer.alloc(0), { ...pbHdr, 'content-length': '0' });
  check(e.status === 200, `empty protobuf → ${e.status}`);
  const ej = await post(P, '/v1/traces', Buffer.alloc(0), { 'content-type': 'application/json', 'content-length': '0' });
  check(ej.status === 400, `empty JSON → ${ej.status}`);
  const nf = await post(P, '/v1/nothing', valid, pbHdr);
  check(nf.status === 404, `unknown path → ${nf.status}`);
  const g = await get(`${ocl.http}/v1/traces`);
  check(g.status === 405, `GET /v1/traces → ${g.status}`);
}

// 8. partial success: one valid span and one with an 3-byte trace id.
{
  const r = await post(P, '/v1/traces', tracesReq([span(rid(16), rid(8), 'ok'), span(rid(3), rid(8), 'bad-id')]), pbHdr);
  check(r.status === 200, `partial → ${r.status}`);
  // ExportTraceServiceResponse{partial_success(1){rejected_spans(1)=1, error_message(2)}}
  check(r.body.length > 4 && r.body[0] === 0x0a && r.body[2] === 0x08 && r.body[3] === 1,
    `partial success body: ${r.body.toString('hex')}`);
}

// 9. gRPC: malformed message → INVALID_ARGUMENT; then an HTTP/2 stream flood.
{
  const client = http2.connect(`http://127.0.0.1:${ocl.ports.grpc}`);
  client.on('error', () => {});
  const call = (msg) => new Promise((resolve) => {
    const frame = Buffer.alloc(5 + msg.length);
    frame.writeUInt32BE(msg.length, 1);
    msg.copy(frame, 5);
    const s = client.request({ ':method': 'POST', ':path': '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
      'content-type': 'application/grpc', te: 'trailers' });
    let headers = {};
    s.on('response', (h) => { headers = { ...headers, ...h }; });
    s.on('trailers', (t) => { headers = { ...headers, ...t }; });
    s.on('data', () => {});
    s.on('end', () => resolve(headers));
    s.on('error', (e) => resolve({ error: e.message }));
    s.end(frame);
  });
  const bad = await call(Buffer.from([0x0f, 0xff]));
  check(bad['grpc-status'] === '3', `gRPC garbage → grpc-status ${bad['grpc-status']} ${JSON.stringify(bad)}`);
  const ok = await call(valid);
  check(ok['grpc-status'] === '0', `gRPC valid → grpc-status ${ok['grpc-status']}`);
  const unk = await new Promise((resolve) => {
    const s = client.request({ ':method': 'POST', ':path': '/no.Such/Method', 'content-type': 'application/grpc' });
    let h = {};
    s.on('response', (x) => { h = { ...h, ...x }; });
    s.on('trailers', (x) => { h = { ...h, ...x }; });
    s.on('data', () => {});
    s.on('end', () => resolve(h));
    s.on('error', (e) => resolve({ error: e.message }));
    s.end(Buffer.from([0, 0, 0, 0, 0]));
  });
  check(unk['grpc-status'] === '12', `unknown gRPC method → ${JSON.stringify(unk)}`);
  client.close();

  // Flood: 5,000 streams opened and never finished, on raw sockets, from 5
  // connections; then a normal call must still succeed.
  const net = await import('node:net');
  const socks = [];
  for (let c = 0; c < 5; c++) {
    const sock = net.connect(ocl.ports.grpc, '127.0.0.1');
    sock.on('error', () => {});
    await new Promise((r) => sock.once('connect', r));
    const frames = [Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])];
    // HEADERS frames with END_HEADERS only (no END_STREAM), literal header
    // fields without indexing: :method POST (idx 3), :path / (idx 4), :scheme http (idx 6)
    const block = Buffer.from([0x83, 0x84, 0x86]);
    for (let i = 0; i < 1000; i++) {
      const id = 1 + 2 * i;
      const h = Buffer.alloc(9);
      h.writeUIntBE(block.length, 0, 3); h[3] = 0x1; h[4] = 0x4; h.writeUInt32BE(id, 5);
      frames.push(h, block);
    }
    sock.write(Buffer.concat(frames));
    socks.push(sock);
  }
  await new Promise((r) => setTimeout(r, 500));
  const c2 = http2.connect(`http://127.0.0.1:${ocl.ports.grpc}`);
  c2.on('error', () => {});
  const after = await new Promise((resolve) => {
    const frame = Buffer.alloc(5 + valid.length);
    frame.writeUInt32BE(valid.length, 1);
    valid.copy(frame, 5);
    const s = c2.request({ ':method': 'POST', ':path': '/opentelemetry.proto.collector.trace.v1.TraceService/Export', 'content-type': 'application/grpc', te: 'trailers' });
    let h = {};
    s.on('response', (x) => { h = { ...h, ...x }; });
    s.on('trailers', (x) => { h = { ...h, ...x }; });
    s.on('data', () => {});
    s.on('end', () => resolve(h));
    s.on('error', (e) => resolve({ error: e.message }));
    s.end(frame);
  });
  check(after['grpc-status'] === '0', `gRPC call after stream flood → ${JSON.stringify(after)}`);
  c2.close();
  for (const s of socks) s.destroy();
}

stopGood = true;
await good;
check(goodBad === 0, `well-behaved client saw ${goodBad} failures (${goodOk} ok)`);
check(goodOk >= 20, `well-behaved client made only ${goodOk} requests`);
// Everything the good client got acknowledged is readable.
let missing = 0;
for (const id of goodIds) {
  const r = await get(`${ocl.api}/api/traces/${id}`);
  if (r.status !== 200) missing++;
}
check(missing === 0, `${missing} of ${goodIds.length} acknowledged traces of the good client missing`);
const m = await get(`${ocl.api}/metrics`);
check(/ocelot_receiver_refused_requests_total\{signal="traces",transport="http",reason="invalid"\} [1-9]/.test(m.text),
  'refused invalid requests not counted in /metrics');
check(ocl.proc.exitCode === null, 'server died');
await ocl.stop();

if (failures.length) {
  console.error(`test_bad_input: ${failures.length} failures:\n  ` + failures.join('\n  '));
  process.exit(1);
}
console.log(`test_bad_input: ok (good client: ${goodOk} requests)`);
