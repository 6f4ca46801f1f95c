// server.mjs: start and stop a real civgridd for the API tests, run the civgrid
// CLI, and speak raw HTTP for requests that fetch() refuses to send.
//
// Binaries: CIVGRIDD (default build/civgridd) and CIVGRID (default
// build/civgrid), absolute or relative to the cwd or the repository root.
// Each server gets a free port, a fresh temporary directory holding its
// database and a small generated web root, so nothing depends on web/.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const HEALTH_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 15_000; // generous: the ASan build is slow to tear down

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves a binary named by an environment variable, with a default under build/. */
function binary(envName, fallback) {
  const bin = process.env[envName] || fallback;
  const candidates = path.isAbsolute(bin) ? [bin] : [path.resolve(bin), path.resolve(REPO_ROOT, bin)];
  for (const p of candidates) {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // try the next candidate
    }
  }
  throw new Error(`${envName}=${bin}: no executable at ${candidates.join(' or ')} (run make)`);
}

export const serverBinary = () => binary('CIVGRIDD', 'build/civgridd');
export const cliBinary = () => binary('CIVGRID', 'build/civgrid');

/** A TCP port that was free a moment ago on the loopback interface. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** The files of the generated web root, by path below it. */
export const WEB_FILES = {
  'index.html': '<!doctype html>\n<html lang="zh-CN"><head><meta charset="utf-8"><title>civgrid test</title>' +
    '<link rel="stylesheet" href="style.css"></head><body><h1>网格化社会治理平台</h1>' +
    '<script type="module" src="app.js"></script></body></html>\n',
  'app.js': "export const answer = 42; // civgrid test script\n",
  'style.css': 'body { font-family: sans-serif; }\n',
  'a.svg': '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"><rect width="1" height="1"/></svg>\n',
  'sub/index.html': '<!doctype html>\n<title>sub page</title><p>SUB-INDEX-MARKER</p>\n',
  '.hidden': 'HIDDEN-FILE-SECRET\n',
};

function fillWebRoot(dir) {
  for (const [rel, text] of Object.entries(WEB_FILES)) {
    const file = path.join(dir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
}

/** A fresh temporary directory with a web root in it: { dir, webRoot, dbPath }. */
export function makeTempDir(prefix = 'civgrid-api-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const webRoot = path.join(dir, 'web');
  fillWebRoot(webRoot);
  return { dir, webRoot, dbPath: path.join(dir, 'civgrid.db') };
}

/**
 * Starts civgridd and waits until GET /healthz answers 200.
 *
 * options:
 *   set:   { 'http.max_body': 4096, ... } passed as --set key=value
 *   env:   extra environment variables
 *   args:  extra command-line arguments
 *   dir:   reuse this temporary directory (from makeTempDir() or a previous
 *          server's .dir); the caller then owns it and stop() keeps it
 *
 * Returns { port, base, dir, dbPath, webRoot, child, pid, stderr(), logs(),
 * waitForLog(pred), stop(), kill9(), signal(sig), exited }.
 */
export async function startServer(options = {}) {
  const bin = serverBinary();
  const owned = !options.dir;
  const tmp = owned ? makeTempDir() : { dir: options.dir, webRoot: path.join(options.dir, 'web'), dbPath: path.join(options.dir, 'civgrid.db') };
  const port = await freePort();
  const args = ['--port', String(port), '--db', tmp.dbPath, '--web-root', tmp.webRoot];
  for (const [k, v] of Object.entries(options.set || {})) args.push('--set', `${k}=${v}`);
  args.push(...(options.args || []));

  const child = spawn(bin, args, {
    cwd: tmp.dir,
    env: { ...process.env, ...(options.env || {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderrText = '';
  let stdoutText = '';
  const lines = [];
  const logWaiters = new Set();
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (c) => {
    stdoutText += c;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk) => {
    stderrText += chunk;
    partial += chunk;
    let nl;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      let parsed = null;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = { raw: line }; // a sanitizer report or other non-JSON text
      }
      lines.push(parsed);
      for (const w of logWaiters) {
        if (w.pred(parsed)) {
          logWaiters.delete(w);
          w.resolve(parsed);
        }
      }
    }
  });
  let exitInfo = null;
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      for (const w of logWaiters) w.reject(new Error(`civgridd exited (${code ?? signal}) while waiting for a log line\n${stderrText}`));
      logWaiters.clear();
      resolve(exitInfo);
    });
  });
  const base = `http://127.0.0.1:${port}`;

  const cleanup = () => {
    if (owned) fs.rmSync(tmp.dir, { recursive: true, force: true });
  };

  // Wait for /healthz; fail at once, with the server's stderr, if it exits.
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  for (;;) {
    if (exitInfo) {
      cleanup();
      throw new Error(`civgridd exited (code ${exitInfo.code}, signal ${exitInfo.signal}) before answering /healthz:\n${stderrText}`);
    }
    try {
      const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      cleanup();
      throw new Error(`civgridd did not answer /healthz within ${HEALTH_TIMEOUT_MS} ms:\n${stderrText}`);
    }
    await sleep(25);
  }

  const server = {
    port,
    base,
    dir: tmp.dir,
    dbPath: tmp.dbPath,
    webRoot: tmp.webRoot,
    child,
    pid: child.pid,
    exited,
    /** Everything the server wrote on stderr so far. */
    stderr: () => stderrText,
    stdout: () => stdoutText,
    /** Parsed stderr lines (JSON log records; non-JSON lines as { raw }). */
    logs: () => lines.slice(),
    /** Resolves with the first log record (past or future) for which pred is true. */
    waitForLog(pred, timeoutMs = 10_000) {
      const found = lines.find(pred);
      if (found) return Promise.resolve(found);
      if (exitInfo) return Promise.reject(new Error(`civgridd has exited\n${stderrText}`));
      return new Promise((resolve, reject) => {
        const w = { pred, resolve, reject };
        logWaiters.add(w);
        setTimeout(() => {
          if (logWaiters.delete(w)) reject(new Error(`no such log line within ${timeoutMs} ms\n${stderrText}`));
        }, timeoutMs).unref();
      });
    },
    signal(sig) {
      if (!exitInfo) child.kill(sig);
    },
    /** Graceful stop: SIGTERM, wait, assert exit code 0, remove the temp dir (when owned). */
    async stop() {
      if (!exitInfo) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      const info = await exited;
      clearTimeout(timer);
      cleanup();
      if (info.code !== 0) {
        throw new Error(`civgridd exited with code ${info.code} signal ${info.signal} on SIGTERM:\n${stderrText.slice(-8000)}`);
      }
      return info;
    },
    /** Crash: SIGKILL and wait; the directory stays (kill9 is for restart tests). */
    async kill9() {
      if (!exitInfo) child.kill('SIGKILL');
      return exited;
    },
    /** Removes the temp directory (after kill9, when the test is done with it). */
    removeDir() {
      fs.rmSync(tmp.dir, { recursive: true, force: true });
    },
  };
  return server;
}

/** Runs the civgrid CLI synchronously: { status, stdout, stderr }. */
export function runCli(args, options = {}) {
  const r = spawnSync(cliBinary(), args, {
    encoding: 'utf8',
    env: { ...process.env, ...(options.env || {}) },
    cwd: options.cwd,
    timeout: 30_000,
  });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the civgrid CLI without blocking the event loop (the server keeps being driven). */
export function runCliAsync(args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cliBinary(), args, { env: { ...process.env, ...(options.env || {}) }, cwd: options.cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

/** Runs the sqlite3 shell on a database and returns its stdout lines. */
export function sqlite(dbPath, sql) {
  const r = spawnSync('sqlite3', [dbPath, sql], { encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`sqlite3 ${dbPath} '${sql}' failed (${r.status}): ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '');
}

// ---- raw HTTP ------------------------------------------------------------------------------

/**
 * Parses one HTTP/1.x response at the start of buf. Returns null while it is
 * incomplete; with eof, a response whose body is delimited by the close is
 * complete. headRequest: the request was HEAD (no body follows).
 */
export function parseResponse(buf, { headRequest = false, eof = false } = {}) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const head = buf.subarray(0, end).toString('latin1');
  const [statusLine, ...headerLines] = head.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  const headers = {};
  for (const line of headerLines) {
    const i = line.indexOf(':');
    if (i > 0) {
      const k = line.slice(0, i).trim().toLowerCase();
      const v = line.slice(i + 1).trim();
      headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
    }
  }
  const status = m ? Number(m[1]) : 0;
  const rest = buf.subarray(end + 4);
  let body;
  let consumed;
  if (headRequest || status === 204 || status === 304 || (status >= 100 && status < 200)) {
    body = Buffer.alloc(0);
    consumed = end + 4;
  } else if (/chunked/i.test(headers['transfer-encoding'] || '')) {
    const parts = [];
    let off = 0;
    for (;;) {
      const nl = rest.indexOf('\r\n', off);
      if (nl < 0) return null;
      const size = parseInt(rest.subarray(off, nl).toString('latin1'), 16);
      if (Number.isNaN(size)) throw new Error('bad chunk size');
      if (size === 0) {
        // Optional trailers, then an empty line.
        const after = nl + 2;
        let trailerEnd;
        if (rest.subarray(after, after + 2).toString('latin1') === '\r\n') {
          trailerEnd = after + 2;
        } else {
          const i = rest.indexOf('\r\n\r\n', after);
          if (i < 0) return null;
          trailerEnd = i + 4;
        }
        consumed = end + 4 + trailerEnd;
        break;
      }
      if (rest.length < nl + 2 + size + 2) return null;
      parts.push(rest.subarray(nl + 2, nl + 2 + size));
      off = nl + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  } else if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    if (rest.length < n) return null;
    body = rest.subarray(0, n);
    consumed = end + 4 + n;
  } else {
    if (!eof) return null;
    body = rest;
    consumed = buf.length;
  }
  const text = body.toString('utf8');
  return {
    statusLine,
    status,
    headers,
    body,
    text,
    consumed,
    json() {
      return JSON.parse(text);
    },
  };
}

/**
 * Opens a raw connection for requests sent piece by piece.
 * Returns { socket, write(bytes), response(): Promise<parsed response>,
 * closed: Promise<{ error }>, data(): Buffer received so far, end(), destroy() }.
 * response() rejects when the connection ends before a full response.
 */
export function openRaw(port, { headRequest = false, timeoutMs = 10_000 } = {}) {
  const socket = net.connect({ port, host: '127.0.0.1' });
  let received = Buffer.alloc(0);
  let done = false;
  let closeInfo = null;
  let waiter = null;
  let socketError = null;

  const connected = new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  connected.catch(() => {});
  const check = (eof) => {
    if (!waiter) return;
    let parsed = null;
    try {
      parsed = parseResponse(received, { headRequest, eof });
    } catch (e) {
      waiter.reject(e);
      waiter = null;
      return;
    }
    if (parsed) {
      waiter.resolve(parsed);
      waiter = null;
    } else if (eof) {
      const err = new Error(`connection closed before a complete response (${received.length} bytes: ${JSON.stringify(received.toString('latin1').slice(0, 200))})${socketError ? `: ${socketError.code}` : ''}`);
      err.code = 'ERR_NO_RESPONSE';
      err.received = received;
      waiter.reject(err);
      waiter = null;
    }
  };
  socket.on('data', (chunk) => {
    received = Buffer.concat([received, chunk]);
    check(false);
  });
  socket.on('error', (e) => {
    socketError = e; // EPIPE/ECONNRESET when the server cuts us off
  });
  const closed = new Promise((resolve) => {
    socket.on('close', () => {
      done = true;
      closeInfo = { error: socketError };
      check(true);
      resolve(closeInfo);
    });
  });
  const timer = setTimeout(() => socket.destroy(new Error('raw request timed out')), timeoutMs);
  timer.unref();
  closed.then(() => clearTimeout(timer));

  return {
    socket,
    connected,
    closed,
    get isClosed() {
      return done;
    },
    data: () => received,
    write(bytes) {
      return new Promise((resolve) => {
        if (done || socket.destroyed) return resolve(false);
        socket.write(bytes, (err) => resolve(!err));
      });
    },
    response() {
      return new Promise((resolve, reject) => {
        waiter = { resolve, reject };
        check(done);
      });
    },
    end: () => socket.end(),
    destroy: () => socket.destroy(),
  };
}

/**
 * Sends bytes (a string is sent as latin1 so every byte value can be
 * written; pass a Buffer for UTF-8) and returns the parsed response
 * { statusLine, status, headers, body, text, json() }. The connection is
 * closed afterwards.
 */
export async function rawRequest(port, bytes, options = {}) {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'latin1');
  const headRequest = buf.subarray(0, 5).toString('latin1') === 'HEAD ';
  const conn = openRaw(port, { headRequest, ...options });
  try {
    await conn.connected;
    await conn.write(buf);
    return await conn.response();
  } finally {
    conn.destroy();
  }
}

/** A GET request line plus minimal headers for rawRequest. */
export const rawGet = (target, extra = '') => `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${extra}\r\n`;

/** Fetches a JSON endpoint and returns { status, headers, json }. */
export async function getJson(base, pathname, init = {}) {
  const res = await fetch(base + pathname, init);
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON: leave null
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** POSTs a JSON value to /api/v1/client-errors. */
export function postClientError(base, body, headers = {}) {
  return getJson(base, '/api/v1/client-errors', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Parses the Prometheus text format into { 'name{labels}': value }, plus sum(name). */
export function parseMetrics(text) {
  const samples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    samples.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return {
    samples,
    /** Sum of every sample of this metric name (any labels). */
    sum(name) {
      let total = 0;
      let seen = false;
      for (const [k, v] of samples) {
        if (k === name || k.startsWith(`${name}{`)) {
          total += v;
          seen = true;
        }
      }
      return seen ? total : undefined;
    },
  };
}
