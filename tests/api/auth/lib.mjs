// lib.mjs: helpers of the access-control tests (tests/api/auth/): a server with
// fast password hashing and a fixed key ring, accounts made with the CLI,
// HTTP requests as a given caller (Bearer token or cookie, from a chosen
// loopback source address), RFC 6238 codes, TOTP enrolment, audit searches.
//
// The server, CLI, raw HTTP and sqlite helpers come from ../lib/server.mjs.

import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

import { cliBinary, startServer } from '../lib/server.mjs';

export { sqlite, rawRequest, sleep } from '../lib/server.mjs';

/** One key ring per test process, given to the server and to the CLI alike. */
export const KEY_RING = `1:${crypto.randomBytes(32).toString('hex')}`;

/** Cheap argon2id so that a sign-in costs milliseconds, not a quarter second. */
export const FAST_SET = { 'auth.argon2_mem_kib': 8192, 'auth.argon2_ops': 1, 'pii.keys': KEY_RING };

export const CLI_ENV = { CIVGRID_AUTH_ARGON2_MEM_KIB: '8192', CIVGRID_AUTH_ARGON2_OPS: '1', CIVGRID_PII_KEYS: KEY_RING };

/** A password that meets the rules (10+ characters, three classes, not the login). */
export const strongPassword = () => `Pw-${crypto.randomBytes(9).toString('base64url')}7a`;

/** Starts civgridd with the fast hashing settings plus extra --set values. */
export async function startAuthServer(set = {}) {
  return startServer({ set: { ...FAST_SET, ...set }, env: CLI_ENV });
}

/** Runs the CLI on the server's database (or dbPath): { status, stdout, stderr }. */
export function cli(dbPathOrServer, args, { input } = {}) {
  const dbPath = typeof dbPathOrServer === 'string' ? dbPathOrServer : dbPathOrServer.dbPath;
  const r = spawnSync(cliBinary(), ['--db', dbPath, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...CLI_ENV },
    input,
    timeout: 30_000,
  });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Creates an account with `civgrid user add`. roles: a role name or a list.
 * Returns { id, login, password, roles, scope }.
 */
export function addUser(server, login, { roles, scope, name = `测试 ${login}`, phone, password = strongPassword() }) {
  const list = Array.isArray(roles) ? roles : [roles];
  const args = ['user', 'add', login, '--name', name, '--scope', scope, '--password-stdin'];
  for (const r of list) args.push('--role', r);
  if (phone) args.push('--phone', phone);
  const r = cli(server, args, { input: `${password}\n` });
  if (r.status !== 0) throw new Error(`civgrid user add ${login} failed (${r.status}): ${r.stderr}`);
  const m = /created account \S+ \(id (\d+)\)/.exec(r.stdout);
  if (!m) throw new Error(`civgrid user add: unexpected output ${r.stdout}`);
  return { id: Number(m[1]), login, password, roles: list, scope };
}

/**
 * Creates the demo accounts (`civgrid user demo --out FILE`) and returns
 * { login: { role, login, password, scope } } read back from FILE.
 */
export function demoAccounts(server) {
  const out = path.join(server.dir, 'demo-accounts.txt');
  const r = cli(server, ['user', 'demo', '--out', out]);
  if (r.status !== 0) throw new Error(`civgrid user demo failed (${r.status}): ${r.stderr}`);
  const accounts = {};
  for (const line of fs.readFileSync(out, 'utf8').split('\n')) {
    const [role, login, password, scope] = line.trim().split(/\s+/);
    if (login) accounts[login] = { role, login, password, scope };
  }
  return accounts;
}

// ---- HTTP -----------------------------------------------------------------------------------

/**
 * One request. opts:
 *   token       Authorization: Bearer <token>
 *   cookie      a cookie header value (e.g. "cg_session=...")
 *   csrf        X-CSRF-Token
 *   body        a JSON value (sent as application/json) or a Buffer/string sent verbatim
 *   headers     extra headers (lowercase names)
 *   from        the local address to connect from (127.0.0.x): throttles count per address
 * Returns { status, headers, text, json, cookies: [Set-Cookie values] }.
 */
export function request(base, method, pathname, opts = {}) {
  const url = new URL(pathname, base);
  const headers = { connection: 'close', ...(opts.headers || {}) };
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  if (opts.cookie !== undefined) headers.cookie = opts.cookie;
  if (opts.csrf !== undefined) headers['x-csrf-token'] = opts.csrf;
  let payload = null;
  if (opts.body !== undefined) {
    if (Buffer.isBuffer(opts.body) || typeof opts.body === 'string') {
      payload = Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body, 'utf8');
    } else {
      payload = Buffer.from(JSON.stringify(opts.body), 'utf8');
    }
    if (!('content-type' in headers)) headers['content-type'] = 'application/json';
    headers['content-length'] = String(payload.length);
  }
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: url.hostname,
      port: url.port,
      method,
      path: url.pathname + url.search,
      headers,
      localAddress: opts.from,
      timeout: 20_000,
    }, (res) => {
      const sc = res.headers['set-cookie'];
      if ((res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        // An endless stream (the live map): its status and headers are the answer.
        resolve({ status: res.statusCode, headers: res.headers, text: '', json: null, cookies: sc ? [].concat(sc) : [] });
        req.destroy();
        return;
      }
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try {
          json = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode, headers: res.headers, text, json, cookies: sc ? [].concat(sc) : [] });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${pathname}: timed out`)));
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/** A caller bound to a session: get/post/put/del with its credentials. */
export function client(base, creds = {}) {
  const call = (method) => (pathname, body, extra = {}) =>
    request(base, method, pathname, { ...creds, ...extra, ...(body !== undefined ? { body } : {}) });
  return { ...creds, get: call('GET'), post: call('POST'), put: call('PUT'), del: call('DELETE') };
}

/** POST /api/v1/auth/login; returns the raw response. */
export function login(base, body, opts = {}) {
  return request(base, 'POST', '/api/v1/auth/login', { ...opts, body });
}

/** Signs in and returns a Bearer client with .token, .csrf, .account; throws unless 200. */
export async function signIn(base, loginName, password, extra = {}, opts = {}) {
  const r = await login(base, { login: loginName, password, ...extra }, opts);
  if (r.status !== 200) throw new Error(`sign-in of ${loginName} failed: ${r.status} ${r.text}`);
  const c = client(base, { token: r.json.token });
  return Object.assign(c, { csrf: r.json.csrf_token, account: r.json.account, reply: r });
}

/** The value of cookie name from a list of Set-Cookie header values. */
export function cookieValue(setCookies, name) {
  for (const c of setCookies) {
    const m = new RegExp(`^${name}=([^;]*)`).exec(c);
    if (m) return m[1];
  }
  return undefined;
}

// ---- TOTP (RFC 6238 over RFC 4226, SHA-1, 6 digits, 30 s) -------------------------------------

export function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of text.replace(/=+$/, '').toUpperCase()) {
    const v = alphabet.indexOf(ch);
    if (v < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

export function hotp(key, counter, digits = 6) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const md = crypto.createHmac('sha1', key).update(msg).digest();
  const off = md[md.length - 1] & 0x0f;
  const bin = ((md[off] & 0x7f) << 24) | (md[off + 1] << 16) | (md[off + 2] << 8) | md[off + 3];
  return String(bin % 10 ** digits).padStart(digits, '0');
}

export const currentStep = () => Math.floor(Date.now() / 1000 / 30);

/** The code of a base32 secret for a time step (default: now). */
export const totp = (secretB32, step = currentStep()) => hotp(base32Decode(secretB32), step);

/**
 * Enrols a TOTP second factor for a signed-in client (POST /auth/totp, then
 * /auth/totp/confirm with the current code). Returns { secret, uri, step,
 * recovery: [codes] }; the step used at confirmation can never be used again.
 */
export async function enrolTotp(c) {
  const begin = await c.post('/api/v1/auth/totp');
  if (begin.status !== 200) throw new Error(`totp begin: ${begin.status} ${begin.text}`);
  const step = currentStep();
  const confirm = await c.post('/api/v1/auth/totp/confirm', { code: totp(begin.json.secret, step) });
  if (confirm.status !== 200) throw new Error(`totp confirm: ${confirm.status} ${confirm.text}`);
  return { secret: begin.json.secret, uri: begin.json.otpauth_uri, step, recovery: confirm.json.recovery_codes.slice() };
}

/**
 * Signs in an administrator: the first time, enrols TOTP on that session and
 * keeps its recovery codes in the account record (acc.totp); later sign-ins
 * spend one recovery code each. Returns the Bearer client.
 */
export async function signInAdmin(base, acc, opts = {}) {
  if (!acc.totp) {
    const c = await signIn(base, acc.login, acc.password, {}, opts);
    acc.totp = await enrolTotp(c);
    return c;
  }
  const code = acc.totp.recovery.shift();
  if (!code) throw new Error(`${acc.login}: no recovery codes left`);
  return signIn(base, acc.login, acc.password, { recovery_code: code }, opts);
}

// ---- audit ------------------------------------------------------------------------------------

/** GET /api/v1/audit with query params as the auditor client; returns the records (throws unless 200). */
export async function auditSearch(auditor, query = {}) {
  const qs = new URLSearchParams({ limit: '500', ...query }).toString();
  const r = await auditor.get(`/api/v1/audit?${qs}`);
  if (r.status !== 200) throw new Error(`audit search ${qs}: ${r.status} ${r.text}`);
  return r.json.records;
}

/** The newest audit id (0 when none), read from the database so that looking leaves no record. */
export function auditHead(server) {
  return Number(sql(server.dbPath, 'SELECT COALESCE(MAX(id), 0) FROM audit_log')[0]);
}

/** Records newer than id matching query (newest first). */
export async function auditSince(auditor, id, query = {}) {
  return (await auditSearch(auditor, query)).filter((r) => r.id > id);
}

// ---- the database, directly -------------------------------------------------------------------

/** Runs SQL with the sqlite3 shell, waiting up to 5 s for the server's locks; returns output lines. */
export function sql(dbPath, query) {
  const r = spawnSync('sqlite3', ['-cmd', '.timeout 5000', dbPath, query], { encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`sqlite3 ${dbPath} '${query}' failed (${r.status}): ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '');
}

/** The hash of an audit record as src/domain/audit/audit.h documents it (netstrings, SHA-256). */
export function auditRecordHash(rec) {
  const field = (v) => {
    if (v === null || v === undefined) return '-,';
    const s = String(v);
    return `${Buffer.byteLength(s, 'utf8')}:${s},`;
  };
  const text = `${rec.prev_hash}\n${[rec.id, rec.at, rec.actor_id, rec.actor_login, rec.remote, rec.action,
    rec.object_type, rec.object_id, rec.result, rec.detail].map(field).join('')}`;
  return crypto.createHash('sha256').update(text, 'utf8').digest('hex');
}

/** `civgrid check` says ok and `civgrid audit verify` says intact; returns the verify output. */
export function trailStatus(dbPath) {
  return { check: cli(dbPath, ['check']), verify: cli(dbPath, ['audit', 'verify']) };
}

// ---- the error body ---------------------------------------------------------------------------

/** The error object of a reply without its request_id (for comparing two refusals). */
export function errorShape(r) {
  const e = r.json && r.json.error ? { ...r.json.error } : { body: r.text };
  delete e.request_id;
  return e;
}

/** Every audit record matching query (all pages), newest first. */
export async function auditAll(auditor, query = {}) {
  const out = [];
  let before = 0;
  for (;;) {
    const qs = new URLSearchParams({ limit: '500', ...query, ...(before ? { before: String(before) } : {}) }).toString();
    const r = await auditor.get(`/api/v1/audit?${qs}`);
    if (r.status !== 200) throw new Error(`audit search ${qs}: ${r.status} ${r.text}`);
    out.push(...r.json.records);
    if (!r.json.next_before) return out;
    before = r.json.next_before;
  }
}
