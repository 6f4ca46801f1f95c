// server.mjs: start and stop a real civgridd for the browser tests, create
// accounts and load demo cities in its database with the civgrid CLI, and set
// up second factors (TOTP) through the API.
//
// The binary comes from the CIVGRIDD environment variable (set by
// `make test-web`); the CLI from CIVGRID, by default the `civgrid` next to
// it. Each server gets a free port, a database in a fresh temporary
// directory, and serves web/public of this repository. Password hashing is
// set to libsodium's cheapest argon2id (8 MiB, 1 pass) so that sign-ins take
// milliseconds, and the server and the CLI share one fixed test key for the
// encrypted account fields.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
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
const DEMO_TIMEOUT_MS = 180_000;

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
export function runCli(args, input = '', timeoutMs = CLI_TIMEOUT_MS) {
  const bin = cliBinary();
  const env = { ...process.env };
  for (const [k, v] of Object.entries(TEST_SETTINGS)) env[settingEnv(k)] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c) => (out += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
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

/**
 * Creates the database at dbPath (`civgrid init`) and loads a demo city into
 * it (`civgrid demo --city CITY`): for zhongshan, 古镇镇 (442000105) with 13
 * villages, 68 grids and their staff. Give it as `prepare` to startServer.
 */
export async function loadDemo(dbPath, city = 'zhongshan') {
  await runCli(['--db', dbPath, 'init']);
  await runCli(['--db', dbPath, 'demo', '--city', city], '', DEMO_TIMEOUT_MS);
}

/** Sets a password with `civgrid user passwd`: the account must change it at its next sign-in. */
export async function resetPassword(dbPath, login, password) {
  await runCli(['--db', dbPath, 'user', 'passwd', login, '--password-stdin'], `${password}\n`);
}

// RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30 s) from a base32 secret, as an authenticator app does.
function base32(secret) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of secret.replace(/[\s=]/g, '').toUpperCase()) {
    const v = alphabet.indexOf(ch);
    if (v < 0) throw new Error(`not a base32 digit: ${ch}`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The TOTP code of `secret` (base32) at time `ms`. */
export function totp(secret, ms = Date.now()) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(ms / 1000 / 30)));
  const mac = createHmac('sha1', base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

/** The API of the server at `url` called directly (bearer tokens, no browser): for set-up steps. */
export async function callApi(url, method, path, { token, body } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${url}${path}`, { method, headers, body: body && JSON.stringify(body) });
  const data = res.status === 204 ? null : await res.json();
  return { status: res.status, data };
}

/** Sets up the second factor of `login` through the API; resolves to its recovery codes. */
export async function enrolTotp(url, login, password) {
  const step = async (what, res) => {
    if (res.status !== 200) throw new Error(`${what} for ${login}: HTTP ${res.status} ${JSON.stringify(res.data)}`);
    return res.data;
  };
  const { token } = await step('sign-in', await callApi(url, 'POST', 'api/v1/auth/login', { body: { login, password } }));
  const begin = await step('TOTP set-up', await callApi(url, 'POST', 'api/v1/auth/totp', { token }));
  const confirm = await step(
    'TOTP confirmation',
    await callApi(url, 'POST', 'api/v1/auth/totp/confirm', { token, body: { code: totp(begin.secret) } }),
  );
  return confirm.recovery_codes;
}

/**
 * Start civgridd and wait until GET /healthz answers 200. `settings` adds or
 * overrides `--set KEY=VALUE` options (TEST_SETTINGS are always given), or is
 * a function of {port, url} that returns them;
 * `prepare(dbPath)`, when given, runs before the server starts (loadDemo).
 * Returns { url, port, dbPath, log(), stop(), addUser(user), resetPassword(login, pw),
 * enrolTotp(login, pw) }; url ends with "/".
 */
export async function startServer({ settings = {}, prepare } = {}) {
  const bin = serverBinary();
  if (!fs.existsSync(path.join(WEB_ROOT, 'vendor', 'preact.js'))) {
    throw new Error('web/public/vendor is missing: run `make -f web/web.mk web-vendor` first');
  }
  const port = await freePort();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'civgrid-web-'));
  const dbPath = path.join(tmp, 'civgrid.db');
  const url = `http://127.0.0.1:${port}/`;
  if (prepare) {
    try {
      await prepare(dbPath);
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  }

  const extra = typeof settings === 'function' ? settings({ port, url }) : settings;
  const sets = Object.entries({ ...TEST_SETTINGS, ...extra }).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
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
    enrolTotp: (login, password) => enrolTotp(url, login, password),
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

/**
 * A browser context signed in as login with one page: viewport and geolocation as given,
 * TIMEOUT for every wait. Returns {context, page, errors, close()}; errors collects the
 * pages' uncaught script errors, and close() (after `before`, when given) closes the
 * context and fails when there were any.
 */
export async function signedInContext(browser, baseURL, login, password, { viewport, geolocation, name = login, before } = {}) {
  const context = await browser.newContext({
    viewport: viewport ?? { width: 1280, height: 900 },
    baseURL,
    ...(geolocation ? { geolocation, permissions: ['geolocation'] } : {}),
  });
  context.setDefaultTimeout(TIMEOUT);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto('/#/login');
  await page.getByTestId('login-name').fill(login);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('user-menu').waitFor();
  return {
    context,
    page,
    errors,
    async close() {
      if (before) await before(context);
      await context.close();
      assert.deepEqual(errors, [], `no script errors in ${name}'s pages`);
    },
  };
}
