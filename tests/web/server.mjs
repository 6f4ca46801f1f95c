// server.mjs: start and stop a real civgridd for the browser tests, and
// create accounts in its database with the civgrid CLI.
//
// The binary comes from the CIVGRIDD environment variable (set by
// `make test-web`); the CLI from CIVGRID, by default the `civgrid` next to
// it. Each server gets a free port, a database in a fresh temporary
// directory, and serves web/public of this repository. Password hashing is
// set to libsodium's cheapest argon2id (8 MiB, 1 pass) so that sign-ins take
// milliseconds, and the server and the CLI share one fixed test key for the
// encrypted account fields.

import { createRequire } from 'node:module';
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
const CLI_TIMEOUT_MS = 15_000;

/** A fixed key for the encrypted account fields (phone numbers, TOTP secrets): tests only. */
export const TEST_PII_KEYS = `1:${'5a'.repeat(32)}`;

/** Settings of every test server (`--set KEY=VALUE`), and the same for the CLI by environment. */
export const TEST_SETTINGS = {
  'auth.argon2_mem_kib': '8192',
  'auth.argon2_ops': '1',
  'pii.keys': TEST_PII_KEYS,
};

/** "auth.argon2_ops" -> "CIVGRID_AUTH_ARGON2_OPS", as civgridd --help documents. */
const settingEnv = (key) => `CIVGRID_${key.toUpperCase().replace(/\./g, '_')}`;

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

/** An executable given by environment variable `name`: absolute, else relative to the cwd or the repo root. */
function binary(name, bin) {
  const candidates = path.isAbsolute(bin) ? [bin] : [path.resolve(bin), path.resolve(REPO_ROOT, bin)];
  const found = candidates.find((p) => {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  });
  if (!found) throw new Error(`${name}=${bin}: no executable file at ${candidates.join(' or ')}`);
  return found;
}

/** Path of the server binary. */
function serverBinary() {
  const bin = process.env.CIVGRIDD;
  if (!bin) throw new Error('CIVGRIDD is not set: run `make test-web` or set CIVGRIDD=path/to/civgridd');
  return binary('CIVGRIDD', bin);
}

/** Path of the CLI: CIVGRID, else the civgrid next to the server binary. */
function cliBinary() {
  if (process.env.CIVGRID) return binary('CIVGRID', process.env.CIVGRID);
  return binary('CIVGRID (default: next to CIVGRIDD)', path.join(path.dirname(serverBinary()), 'civgrid'));
}

/** Runs the CLI with `args`, writing `input` to its standard input; resolves to its output. */
function runCli(args, input = '') {
  const bin = cliBinary();
  const env = { ...process.env };
  for (const [k, v] of Object.entries(TEST_SETTINGS)) env[settingEnv(k)] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c) => (out += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), CLI_TIMEOUT_MS);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`civgrid ${args.join(' ')} failed (${code ?? signal}):\n${out}`));
    });
    child.stdin.end(input);
  });
}

/**
 * Creates an account in the database at dbPath (before or while a server
 * runs on it) with `civgrid user add ... --password-stdin`.
 * roles: one name or a list; scope: "all", "grid:442000105", "department:城管" or "own".
 */
export async function addUser(dbPath, { login, name, roles, scope, password, phone }) {
  const args = ['--db', dbPath, 'user', 'add', login, '--name', name ?? login];
  for (const r of [].concat(roles)) args.push('--role', r);
  args.push('--scope', scope, '--password-stdin');
  if (phone) args.push('--phone', phone);
  const out = await runCli(args, `${password}\n`);
  const id = Number(/\(id (\d+)\)/.exec(out)?.[1]);
  return { id, login, name: name ?? login, password };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Sets a password with `civgrid user passwd`: the account must change it at its next sign-in. */
export async function resetPassword(dbPath, login, password) {
  await runCli(['--db', dbPath, 'user', 'passwd', login, '--password-stdin'], `${password}\n`);
}

/**
 * Start civgridd and wait until GET /healthz answers 200. `settings` adds or
 * overrides `--set KEY=VALUE` options (TEST_SETTINGS are always given).
 * Returns { url, port, dbPath, log(), stop(), addUser(user), resetPassword(login, pw) };
 * url ends with "/".
 */
export async function startServer({ settings = {} } = {}) {
  const bin = serverBinary();
  if (!fs.existsSync(path.join(WEB_ROOT, 'vendor', 'preact.js'))) {
    throw new Error('web/public/vendor is missing: run `make -f web/web.mk web-vendor` first');
  }
  const port = await freePort();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'civgrid-web-'));
  const dbPath = path.join(tmp, 'civgrid.db');
  const url = `http://127.0.0.1:${port}/`;

  const sets = Object.entries({ ...TEST_SETTINGS, ...settings }).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  const child = spawn(bin, ['--port', String(port), '--db', dbPath, '--web-root', WEB_ROOT, ...sets], {
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

  return {
    url,
    port,
    dbPath,
    log: () => output,
    stop,
    addUser: (user) => addUser(dbPath, user),
    resetPassword: (login, password) => resetPassword(dbPath, login, password),
  };
}

// The browser every web test drives: Debian's chromium through playwright-core
// (a dev dependency of web/), headless, with the network chatter switched off.
export const { chromium } = createRequire(new URL('../../web/package.json', import.meta.url))('playwright-core');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const LAUNCH = {
  executablePath: CHROMIUM,
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
};
export const TIMEOUT = 5_000;
