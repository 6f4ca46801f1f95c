// sessions.test.mjs: what a session token opens and when it stops: /auth/me,
// logout, logout-all, password change (other sessions end, this one stays),
// forged, truncated, ended and expired tokens (401, audited as auth.refused),
// absolute and idle expiry; and CSRF: cookie-authenticated writes need the
// X-CSRF-Token header, reads and Bearer requests do not.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import {
  addUser, auditHead, auditSince, client, cookieValue, demoAccounts, login, request, signIn, signInAdmin, sleep, sql,
  startAuthServer, strongPassword, trailStatus,
} from './lib.mjs';

const MAX_AGE = 7200; // auth.session_max_age of this server
const IDLE = 1800; // auth.session_idle (default)
// A session edited by another process (here: SQL by hand) is seen once the server's cached
// copy is older than this (src/domain/auth/auth_cache.c, docs/SECURITY.md "Sessions").
const SESSION_CACHE_MS = 1000;
const afterOtherProcess = () => sleep(SESSION_CACHE_MS + 100);

let server;
let auditor;
let demo;

before(async () => {
  server = await startAuthServer({ 'auth.session_max_age': MAX_AGE });
  demo = demoAccounts(server);
  auditor = await signInAdmin(server.base, demo['demo.auditadmin']);
});
after(async () => {
  await server?.stop();
});

const me = (c) => c.get('/api/v1/auth/me');
const newUser = (login) => addUser(server, login, { roles: 'grid_worker', scope: 'grid:442000105001001' });
/** The id of the newest session of an account. */
const lastSessionId = (accountId) => Number(sql(server.dbPath, `SELECT MAX(id) FROM session WHERE account_id = ${accountId}`)[0]);
const unixNow = () => Math.floor(Date.now() / 1000);

describe('sessions', () => {
  test('GET /auth/me describes the signed-in account, its scope and permissions', async () => {
    const u = newUser('sess.me');
    const c = await signIn(server.base, u.login, u.password);
    const r = await me(c);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.id, u.id);
    assert.equal(r.json.login, u.login);
    assert.equal(r.json.scope, 'grid:442000105001001');
    assert.deepEqual(r.json.roles, ['grid_worker']);
    assert.deepEqual([...r.json.permissions].sort(), ['catalogue.read', 'event.read', 'event.report', 'event.resolve',
      'event.verify', 'grid.read', 'patrol.read', 'patrol.record', 'registry.collect', 'registry.read',
      'visit.read', 'visit.record']);
    assert.equal(r.json.must_enrol_totp, false);
    assert.equal(r.headers['cache-control'], 'no-store');
  });

  test('expires_at is auth.session_max_age ahead, and so is the cookie Max-Age', async () => {
    const u = newUser('sess.expiry');
    const t0 = Date.now() / 1000;
    const r = await login(server.base, { login: u.login, password: u.password, cookie: true });
    assert.equal(r.status, 200, r.text);
    const expires = Date.parse(r.json.expires_at) / 1000;
    assert.ok(expires >= Math.floor(t0) + MAX_AGE - 2 && expires <= t0 + MAX_AGE + 5, `expires_at ${r.json.expires_at}, now ${new Date(t0 * 1000).toISOString()}`);
    const session = r.cookies.find((c) => c.startsWith('cg_session='));
    assert.match(session, new RegExp(`Max-Age=${MAX_AGE}(;|$)`));
    // The database agrees with what the client was told.
    assert.equal(Number(sql(server.dbPath, `SELECT expires_at FROM session WHERE id = ${lastSessionId(u.id)}`)[0]), expires);
  });

  test('logout ends this session only; the token then gets 401; the logout is audited', async () => {
    const u = newUser('sess.logout');
    const a = await signIn(server.base, u.login, u.password);
    const b = await signIn(server.base, u.login, u.password);
    const head = auditHead(server);
    const out = await a.post('/api/v1/auth/logout');
    assert.equal(out.status, 204, out.text);
    // The cookies are cleared too (for the browser).
    assert.ok(out.cookies.some((c) => /^cg_session=;.*Max-Age=0/.test(c)), out.cookies.join(' | '));
    const after = await me(a);
    assert.equal(after.status, 401);
    assert.equal(after.json.error.code, 'unauthenticated');
    assert.equal((await a.post('/api/v1/auth/logout')).status, 401, 'a second logout with the same token');
    assert.equal((await me(b)).status, 200, 'the other session stays');
    const recs = await auditSince(auditor, head, { action: 'auth.logout' });
    assert.ok(recs.some((x) => x.actor_id === u.id && x.action === 'auth.logout' && x.result === 'ok'), JSON.stringify(recs));
  });

  test('logout-all ends every session of the account and no other account\'s', async () => {
    const u = newUser('sess.all');
    const other = newUser('sess.other');
    const sessions = [];
    for (let i = 0; i < 3; i++) sessions.push(await signIn(server.base, u.login, u.password));
    const cookieLogin = await login(server.base, { login: u.login, password: u.password, cookie: true });
    const cookieClient = client(server.base, { cookie: `cg_session=${cookieValue(cookieLogin.cookies, 'cg_session')}` });
    const bystander = await signIn(server.base, other.login, other.password);
    assert.equal((await me(cookieClient)).status, 200);

    const head = auditHead(server);
    const r = await sessions[1].post('/api/v1/auth/logout-all');
    assert.equal(r.status, 204, r.text);
    for (const s of sessions) assert.equal((await me(s)).status, 401);
    assert.equal((await me(cookieClient)).status, 401);
    assert.equal((await me(bystander)).status, 200);
    assert.equal(sql(server.dbPath, `SELECT COUNT(*) FROM session WHERE account_id = ${u.id}`)[0], '0');
    const recs = await auditSince(auditor, head, { action: 'auth.logout_all' });
    assert.equal(recs.filter((x) => x.actor_id === u.id).length, 1, JSON.stringify(recs));
    // Signing in again works.
    await signIn(server.base, u.login, u.password);
  });

  test('password change: the other sessions end, this one stays; the old password stops working', async () => {
    const u = newUser('sess.pw');
    const a = await signIn(server.base, u.login, u.password);
    const b = await signIn(server.base, u.login, u.password);
    const next = strongPassword();

    const wrong = await a.post('/api/v1/auth/password', { current_password: `${u.password}x`, new_password: next });
    assert.equal(wrong.status, 403, wrong.text);
    assert.equal(wrong.json.error.field, 'current_password');
    assert.equal((await me(b)).status, 200, 'a refused change ends nothing');
    const weak = await a.post('/api/v1/auth/password', { current_password: u.password, new_password: 'short' });
    assert.equal(weak.status, 400, weak.text);
    assert.equal(weak.json.error.field, 'password');
    const same = await a.post('/api/v1/auth/password', { current_password: u.password, new_password: u.password });
    assert.equal(same.status, 400, same.text);

    const head = auditHead(server);
    const ok = await a.post('/api/v1/auth/password', { current_password: u.password, new_password: next });
    assert.equal(ok.status, 200, ok.text);
    assert.equal((await me(a)).status, 200, 'the session that changed the password stays');
    assert.equal((await me(b)).status, 401, 'the other session ends');
    const old = await login(server.base, { login: u.login, password: u.password }, { from: '127.0.6.1' });
    assert.equal(old.status, 401);
    assert.equal(old.json.error.code, 'invalid_credentials');
    await signIn(server.base, u.login, next, {}, { from: '127.0.6.1' });
    const recs = await auditSince(auditor, head, { action: 'auth.password_change' });
    assert.equal(recs.filter((x) => x.actor_id === u.id && x.result === 'ok').length, 1, JSON.stringify(recs));
    assert.ok(!JSON.stringify(recs).includes(next), 'the password is not in the trail');
  });

  describe('tokens that open nothing: 401 unauthenticated, audited as auth.refused', () => {
    let u;
    let valid;
    before(async () => {
      u = newUser('sess.tokens');
      valid = await signIn(server.base, u.login, u.password);
    });

    const check = async (name, token, extra = {}) => {
      const head = auditHead(server);
      const r = await request(server.base, 'GET', '/api/v1/users', { token, ...extra });
      assert.equal(r.status, 401, `${name}: ${r.text}`);
      assert.equal(r.json.error.code, 'unauthenticated', name);
      const recs = await auditSince(auditor, head, { action: 'auth.refused' });
      assert.equal(recs.length, 1, `${name}: one auth.refused record expected: ${JSON.stringify(recs)}`);
      assert.equal(recs[0].object_id, 'GET /api/v1/users');
      assert.equal(recs[0].result, 'denied');
      assert.equal(recs[0].actor_id, null);
      assert.ok(!JSON.stringify(recs[0]).includes(valid.token), 'a presented token is never written to the trail');
      return r;
    };

    test('a forged token (random 43 characters)', () => check('forged', crypto.randomBytes(32).toString('base64url')));
    test('a truncated token', () => check('truncated', valid.token.slice(0, 42)));
    test('a token with one more character', () => check('extended', `${valid.token}A`));
    test('a token with one character changed', () => check('changed', (valid.token[0] === 'A' ? 'B' : 'A') + valid.token.slice(1)));
    test('the CSRF token used as the session token', () => check('csrf as session', valid.csrf));
    test('a forged cookie', () => check('forged cookie', undefined, { cookie: `cg_session=${crypto.randomBytes(32).toString('base64url')}` }));
    test('an ended session\'s token', async () => {
      const c = await signIn(server.base, u.login, u.password);
      assert.equal((await c.post('/api/v1/auth/logout')).status, 204);
      await check('ended', c.token);
    });

    test('anonymous: 401 without a record per request (nothing to refuse but the route)', async () => {
      const r = await request(server.base, 'GET', '/api/v1/users');
      assert.equal(r.status, 401);
      assert.equal(r.json.error.code, 'unauthenticated');
      assert.equal((await me(valid)).status, 200, 'the valid token still works after all that');
    });

    test('a token past its absolute expiry (expires_at moved into the past in the database)', async () => {
      const c = await signIn(server.base, u.login, u.password);
      assert.equal((await me(c)).status, 200);
      sql(server.dbPath, `UPDATE session SET expires_at = ${unixNow() - 1} WHERE id = ${lastSessionId(u.id)}`);
      await afterOtherProcess();
      const r = await check('expired', c.token);
      assert.match(r.json.error.message, /expired/);
    });

    test('a token idle for auth.session_idle (last_seen_at moved back in the database); just under it still works', async () => {
      const fresh = await signIn(server.base, u.login, u.password);
      const id = lastSessionId(u.id);
      sql(server.dbPath, `UPDATE session SET last_seen_at = ${unixNow() - IDLE + 30} WHERE id = ${id}`);
      await afterOtherProcess();
      assert.equal((await me(fresh)).status, 200, 'idle for less than auth.session_idle');
      const seen = Number(sql(server.dbPath, `SELECT last_seen_at FROM session WHERE id = ${id}`)[0]);
      assert.ok(seen >= unixNow() - 5, `use moves last_seen_at forward (${seen})`);

      sql(server.dbPath, `UPDATE session SET last_seen_at = ${unixNow() - IDLE} WHERE id = ${id}`);
      await afterOtherProcess();
      const r = await check('idle', fresh.token);
      assert.match(r.json.error.message, /expired/);
    });
  });
});

describe('CSRF', () => {
  let u;
  let cookieSession;
  let cookieHeader;
  let csrf;

  before(async () => {
    u = newUser('csrf.user');
    const r = await login(server.base, { login: u.login, password: u.password, cookie: true });
    assert.equal(r.status, 200, r.text);
    cookieSession = cookieValue(r.cookies, 'cg_session');
    csrf = cookieValue(r.cookies, 'cg_csrf');
    cookieHeader = `cg_session=${cookieSession}; cg_csrf=${csrf}`;
  });

  test('a cookie POST without X-CSRF-Token gets 403 csrf_token_invalid, changes nothing, and is audited', async () => {
    const head = auditHead(server);
    const next = strongPassword();
    const r = await request(server.base, 'POST', '/api/v1/auth/password', {
      cookie: cookieHeader, body: { current_password: u.password, new_password: next },
    });
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json.error.code, 'csrf_token_invalid');
    const out = await request(server.base, 'POST', '/api/v1/auth/logout', { cookie: cookieHeader });
    assert.equal(out.status, 403, out.text);
    assert.equal(out.json.error.code, 'csrf_token_invalid');
    // Nothing changed: the session lives, the password is the old one.
    assert.equal((await request(server.base, 'GET', '/api/v1/auth/me', { cookie: cookieHeader })).status, 200);
    await signIn(server.base, u.login, u.password);
    const recs = await auditSince(auditor, head, { action: 'auth.refused' });
    assert.equal(recs.filter((x) => x.actor_id === u.id && /CSRF/i.test(x.detail || '')).length, 2, JSON.stringify(recs));
  });

  test('a wrong X-CSRF-Token is refused: another session\'s, an empty one, the session token itself', async () => {
    const other = await login(server.base, { login: u.login, password: u.password, cookie: true });
    const otherCsrf = cookieValue(other.cookies, 'cg_csrf');
    for (const bad of [otherCsrf, '', cookieSession, csrf.slice(0, 42), `${csrf}x`]) {
      const r = await request(server.base, 'POST', '/api/v1/auth/logout', { cookie: cookieHeader, csrf: bad });
      assert.equal(r.status, 403, `X-CSRF-Token ${JSON.stringify(bad)}: ${r.text}`);
      assert.equal(r.json.error.code, 'csrf_token_invalid');
    }
    assert.equal((await request(server.base, 'GET', '/api/v1/auth/me', { cookie: cookieHeader })).status, 200);
  });

  test('a cookie GET needs no header', async () => {
    const r = await request(server.base, 'GET', '/api/v1/auth/me', { cookie: cookieHeader });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.signed_in_with, 'cookie');
    assert.equal((await request(server.base, 'GET', '/api/v1/roles', { cookie: cookieHeader })).status, 200);
  });

  test('a cookie POST with the right header works', async () => {
    const next = strongPassword();
    const r = await request(server.base, 'POST', '/api/v1/auth/password', {
      cookie: cookieHeader, csrf, body: { current_password: u.password, new_password: next },
    });
    assert.equal(r.status, 200, r.text);
    u.password = next;
    await signIn(server.base, u.login, next);
    const out = await request(server.base, 'POST', '/api/v1/auth/logout', { cookie: cookieHeader, csrf });
    assert.equal(out.status, 204, out.text);
    assert.equal((await request(server.base, 'GET', '/api/v1/auth/me', { cookie: cookieHeader })).status, 401);
  });

  test('Bearer requests need no CSRF header', async () => {
    const c = await signIn(server.base, u.login, u.password);
    const next = strongPassword();
    const r = await c.post('/api/v1/auth/password', { current_password: u.password, new_password: next });
    assert.equal(r.status, 200, r.text);
    u.password = next;
    assert.equal((await c.post('/api/v1/auth/logout')).status, 204);
  });

  test('a Bearer token wins over a cookie: no CSRF check, and the Bearer session is the one used', async () => {
    const cookieLogin = await login(server.base, { login: u.login, password: u.password, cookie: true });
    const ck = `cg_session=${cookieValue(cookieLogin.cookies, 'cg_session')}`;
    const bearer = await signIn(server.base, u.login, u.password);
    const r = await request(server.base, 'POST', '/api/v1/auth/logout', { token: bearer.token, cookie: ck });
    assert.equal(r.status, 204, r.text);
    assert.equal((await me(bearer)).status, 401, 'the Bearer session ended');
    assert.equal((await request(server.base, 'GET', '/api/v1/auth/me', { cookie: ck })).status, 200, 'the cookie session did not');
  });

  test('a stale cookie does not stop a new sign-in (public route)', async () => {
    const r = await login(server.base, { login: u.login, password: u.password }, { cookie: `cg_session=${crypto.randomBytes(32).toString('base64url')}` });
    assert.equal(r.status, 200, r.text);
  });
});

test('the audit trail is intact after the run', () => {
  const { check, verify } = trailStatus(server.dbPath);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.equal(verify.status, 0, verify.stderr);
});
