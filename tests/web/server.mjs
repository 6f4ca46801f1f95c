// server.mjs: start and stop a real civgridd for the browser tests.
//
// The binary comes from the CIVGRIDD environment variable (set by
// `make test-web`). Each server gets a free port, a database in a fresh
// temporary directory, and serves web/public of this repository.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const WEB_ROOT = path.join(REPO_ROOT, 'web', 'public');

const HEALTH_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

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

/** Path of the server binary: absolute, else relative to the cwd or the repo root. */
function serverBinary() {
  const bin = process.env.CIVGRIDD;
  if (!bin) throw new Error('CIVGRIDD is not set: run `make test-web` or set CIVGRIDD=path/to/civgridd');
  const candidates = path.isAbsolute(bin) ? [bin] : [path.resolve(bin), path.resolve(REPO_ROOT, bin)];
  const found = candidates.find((p) => {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  });
  if (!found) throw new Error(`CIVGRIDD=${bin}: no executable file at ${candidates.join(' or ')}`);
  return found;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Start civgridd and wait until GET /healthz answers 200.
 * Returns { url, port, dbPath, log(), stop() }; url ends with "/".
 */
export async function startServer() {
  const bin = serverBinary();
  if (!fs.existsSync(path.join(WEB_ROOT, 'vendor', 'preact.js'))) {
    throw new Error('web/public/vendor is missing: run `make -f web/web.mk web-vendor` first');
  }
  const port = await freePort();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'civgrid-web-'));
  const dbPath = path.join(tmp, 'civgrid.db');
  const url = `http://127.0.0.1:${port}/`;

  const child = spawn(bin, ['--port', String(port), '--db', dbPath, '--web-root', WEB_ROOT], {
    cwd: tmp,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk) => {
    output = (output + chunk).slice(-64 * 1024);
  };
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let exitInfo = null;
  exited.then((info) => {
    exitInfo = info;
  });

  const cleanup = () => fs.rmSync(tmp, { recursive: true, force: true });

  async function stop() {
    if (!exitInfo) {
      child.kill('SIGTERM');
      const timer = sleep(STOP_TIMEOUT_MS).then(() => 'timeout');
      if ((await Promise.race([exited, timer])) === 'timeout') {
        child.kill('SIGKILL');
        await exited;
      }
    }
    cleanup();
    return exitInfo;
  }

  // Wait for /healthz, failing early if the server exits.
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  for (;;) {
    if (exitInfo) {
      cleanup();
      throw new Error(`civgridd exited early (${JSON.stringify(exitInfo)}); output:\n${output}`);
    }
    try {
      const res = await fetch(`${url}healthz`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`civgridd did not answer /healthz within ${HEALTH_TIMEOUT_MS} ms; output:\n${output}`);
    }
    await sleep(100);
  }

  return { url, port, dbPath, log: () => output, stop };
}
