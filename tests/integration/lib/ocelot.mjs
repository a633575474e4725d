// Start and stop the real ocelot binary for a node integration test.
//
// startOcelot() runs `$OCELOT_BIN serve` on a fresh temporary data dir with
// port 0 on every listener (127.0.0.1 only), parses the addresses the server
// prints, and resolves once it prints `ocelot: ready` (10 s timeout). Every
// process started here is SIGKILLed and every temp dir removed when the node
// process exits, whatever the outcome (set OCELOT_KEEP_DATA=1 to keep dirs).
//
// Returned handle (fields are updated in place by restart()):
//   grpc     'http://127.0.0.1:PORT'  OTLP/gRPC (the URL form the JS gRPC exporters take)
//   http     'http://127.0.0.1:PORT'  OTLP/HTTP base (POST /v1/traces …)
//   api      'http://127.0.0.1:PORT'  HTTP API (Tempo, Prometheus, /metrics, /-/ready)
//   ports    { grpc, http, api } as numbers
//   dataDir  the data directory (survives restart())
//   proc     the ChildProcess
//   output() stdout+stderr of the current process so far (for diagnostics)
//   stop()   SIGTERM, wait ≤ 10 s; throws unless the exit is status 0
//   kill9()  SIGKILL and wait
//   restart() stop() then start again on the same data dir (new ports)

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;

const live = new Set(); // ChildProcess objects not yet exited
const tempDirs = new Set();

function cleanupSync() {
  for (const p of live) {
    try { p.kill('SIGKILL'); } catch { /* already gone */ }
  }
  live.clear();
  if (!process.env.OCELOT_KEEP_DATA) {
    for (const d of tempDirs) {
      try { fs.rmSync(d, { recursive: true, force: true }); } catch { /* ignore */ }
    }
  }
}
process.on('exit', cleanupSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => { cleanupSync(); process.exit(128 + os.constants.signals[sig]); });
}

export function ocelotBin() {
  const bin = process.env.OCELOT_BIN;
  if (!bin) throw new Error('OCELOT_BIN is not set (path to the ocelot binary)');
  if (!fs.existsSync(bin)) throw new Error(`OCELOT_BIN=${bin} does not exist`);
  return bin;
}

function waitExit(proc, ms) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      resolve({ code: proc.exitCode, signal: proc.signalCode });
      return;
    }
    const t = setTimeout(() => resolve(null), ms);
    proc.once('exit', (code, signal) => { clearTimeout(t); resolve({ code, signal }); });
  });
}

// Spawn one server process on dataDir; resolves with its addresses once ready.
function launch(dataDir, extraArgs) {
  const bin = ocelotBin();
  const args = ['serve', '--data-dir', dataDir,
    '--otlp-grpc', '127.0.0.1:0', '--otlp-http', '127.0.0.1:0', '--http', '127.0.0.1:0',
    ...extraArgs];
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  let out = '';
  const ports = {};
  const tail = () => out.split('\n').slice(-40).join('\n');

  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) {
        try { proc.kill('SIGKILL'); } catch { /* ignore */ }
        reject(new Error(`${err}\ncommand: ${bin} ${args.join(' ')}\noutput:\n${tail()}`));
      } else {
        resolve({ proc, ports, output: () => out });
      }
    };
    const timer = setTimeout(() => finish(`ocelot did not print "ocelot: ready" within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
    let lineBuf = '';
    proc.stdout.setEncoding('utf8');
    proc.stderr.setEncoding('utf8');
    proc.stdout.on('data', (chunk) => {
      out += chunk;
      lineBuf += chunk;
      let nl;
      while ((nl = lineBuf.indexOf('\n')) >= 0) {
        const line = lineBuf.slice(0, nl).replace(/\r$/, '');
        lineBuf = lineBuf.slice(nl + 1);
        const m = /^ocelot: (otlp-grpc|otlp-http|http) listening on 127\.0\.0\.1:(\d+)$/.exec(line);
        if (m) {
          const key = { 'otlp-grpc': 'grpc', 'otlp-http': 'http', http: 'api' }[m[1]];
          ports[key] = Number(m[2]);
        } else if (line === 'ocelot: ready') {
          const missing = ['grpc', 'http', 'api'].filter((k) => !ports[k]);
          if (missing.length) finish(`"ocelot: ready" printed before the listen lines for: ${missing.join(', ')}`);
          else finish(null);
        }
      }
    });
    proc.stderr.on('data', (chunk) => { out += chunk; });
    proc.once('error', (e) => finish(`cannot start ocelot: ${e.message}`));
    proc.once('exit', (code, signal) => finish(`ocelot exited before ready (code ${code}, signal ${signal})`));
  });
}

export async function startOcelot(extraArgs = [], opts = {}) {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ocelot-it-'));
  if (!opts.dataDir) tempDirs.add(dataDir);
  const h = { dataDir, args: extraArgs };

  const adopt = (r) => {
    h.proc = r.proc;
    h.ports = { ...r.ports };
    h.grpc = `http://127.0.0.1:${r.ports.grpc}`;
    h.http = `http://127.0.0.1:${r.ports.http}`;
    h.api = `http://127.0.0.1:${r.ports.api}`;
    h.output = r.output;
  };
  adopt(await launch(dataDir, extraArgs));

  h.stop = async () => {
    const p = h.proc;
    if (p.exitCode !== null || p.signalCode !== null) {
      throw new Error(`ocelot had already exited (code ${p.exitCode}, signal ${p.signalCode})\n${h.output().slice(-4000)}`);
    }
    p.kill('SIGTERM');
    const r = await waitExit(p, STOP_TIMEOUT_MS);
    if (r === null) {
      p.kill('SIGKILL');
      await waitExit(p, STOP_TIMEOUT_MS);
      throw new Error(`ocelot did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM\n${h.output().slice(-4000)}`);
    }
    if (r.code !== 0) {
      throw new Error(`ocelot exited with code ${r.code} signal ${r.signal} after SIGTERM (expected 0)\n${h.output().slice(-4000)}`);
    }
  };
  h.kill9 = async () => {
    h.proc.kill('SIGKILL');
    await waitExit(h.proc, STOP_TIMEOUT_MS);
  };
  h.restart = async () => {
    if (h.proc.exitCode === null && h.proc.signalCode === null) await h.stop();
    adopt(await launch(dataDir, extraArgs));
  };
  return h;
}

// fetch with a hard timeout; returns { status, headers, text, json() }.
export async function get(url, { timeoutMs = 10_000, headers = {} } = {}) {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text,
    json() {
      try { return JSON.parse(text); } catch (e) {
        throw new Error(`GET ${url}: response is not JSON (${e.message}): ${text.slice(0, 500)}`);
      }
    },
  };
}

// Retry fn() until it returns a truthy value or timeoutMs passes; returns the last value.
export async function poll(fn, { timeoutMs = 10_000, intervalMs = 100 } = {}) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v || Date.now() >= end) return v;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// Sum of every sample in Prometheus text whose metric name is nameParts (a
// string: exact name) or contains every string in nameParts (an array), and
// whose label set contains every label in labels.
export function sumSamples(promText, nameParts, labels = {}) {
  const nameOk = typeof nameParts === 'string'
    ? (name) => name === nameParts
    : (name) => nameParts.every((p) => name.includes(p));
  let sum = 0;
  let matched = 0;
  for (const line of promText.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const [, name, , lbls = ''] = m;
    if (!nameOk(name)) continue;
    if (!Object.entries(labels).every(([k, v]) => lbls.includes(`${k}="${v}"`))) continue;
    const v = Number(m[4]);
    if (Number.isFinite(v)) { sum += v; matched++; }
  }
  return { sum, matched };
}
