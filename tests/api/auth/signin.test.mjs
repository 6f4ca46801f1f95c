// signin.test.mjs: POST /api/v1/auth/login: Bearer and cookie sign-in, identical
// refusals for unknown logins and wrong passwords, malformed sign-ins (4xx,
// nothing changed, audited), throttling with Retry-After, and the lock after
// auth.disable_after failures with its release by the security administrator.
//
// Throttles count per login name and per client address; requests come from
// distinct loopback addresses (127.0.x.y) so that one test's failures do not
// throttle the next test.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  addUser, auditSince, auditHead, cookieValue, demoAccounts, errorShape, login, request, signIn, signInAdmin,
  sql, startAuthServer, trailStatus,
} from './lib.mjs';

const nowS = () => Date.now() / 1000;

describe('sign-in', () => {
  let server;
  let auditor;
  let user;
  let demo;

  before(async () => {
    server = await startAuthServer();
    demo = demoAccounts(server);
    auditor = await signInAdmin(server.base, demo['demo.auditadmin']);
    user = addUser(server, 'signin.user', { roles: 'grid_worker', scope: 'grid:442000105001001' });
  });
  after(async () => {
    await server?.stop();
  });

  test('with a Bearer token: the token is in the body, no cookie is set, the token opens /auth/me', async () => {
    const r = await login(server.base, { login: user.login, password: user.password });
    assert.equal(r.status, 200, r.text);
    assert.match(r.json.token, /^[A-Za-z0-9_-]{43}$/);
    assert.match(r.json.csrf_token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(r.json.account.login, user.login);
    assert.equal(r.json.account.id, user.id);
    assert.deepEqual(r.json.account.roles, ['grid_worker']);
    assert.equal(r.json.account.password_hash, undefined);
    assert.equal(r.cookies.length, 0, `no Set-Cookie expected: ${r.cookies}`);
    assert.equal(r.headers['cache-control'], 'no-store');
    // Absolute expiry: auth.session_max_age (default 12 h) from now.
    const expires = Date.parse(r.json.expires_at) / 1000;
    assert.ok(Math.abs(expires - (nowS() + 43200)) < 120, `expires_at ${r.json.expires_at}`);

    const me = await request(server.base, 'GET', '/api/v1/auth/me', { token: r.json.token });
    assert.equal(me.status, 200, me.text);
    assert.equal(me.json.login, user.login);
    assert.equal(me.json.signed_in_with, 'token');
    assert.ok(me.json.permissions.includes('event.report'));
  });

  test('with "cookie": true: HttpOnly SameSite=Strict cg_session, a readable cg_csrf, no token in the body', async () => {
    const r = await login(server.base, { login: user.login, password: user.password, cookie: true });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.token, undefined, 'the session token must not be in the body');
    assert.ok(!r.text.includes(cookieValue(r.cookies, 'cg_session')), 'the body must not hold the session token');
    const session = r.cookies.find((c) => c.startsWith('cg_session='));
    const csrf = r.cookies.find((c) => c.startsWith('cg_csrf='));
    assert.ok(session, `cg_session cookie: ${r.cookies}`);
    assert.ok(csrf, `cg_csrf cookie: ${r.cookies}`);
    const attrs = (c) => c.split(';').slice(1).map((a) => a.trim().toLowerCase());
    assert.ok(attrs(session).includes('httponly'), session);
    assert.ok(attrs(session).includes('samesite=strict'), session);
    assert.ok(attrs(session).includes('path=/'), session);
    assert.ok(!attrs(csrf).includes('httponly'), `the UI reads cg_csrf: ${csrf}`);
    assert.ok(attrs(csrf).includes('samesite=strict'), csrf);
    assert.match(cookieValue(r.cookies, 'cg_session'), /^[A-Za-z0-9_-]{43}$/);
    assert.equal(cookieValue(r.cookies, 'cg_csrf'), r.json.csrf_token);

    const me = await request(server.base, 'GET', '/api/v1/auth/me', { cookie: `cg_session=${cookieValue(r.cookies, 'cg_session')}` });
    assert.equal(me.status, 200, me.text);
    assert.equal(me.json.signed_in_with, 'cookie');
  });

  test('an unknown login and a wrong password get the identical 401 invalid_credentials', async () => {
    const head = auditHead(server);
    const unknown = await login(server.base, { login: 'no.such.user', password: user.password }, { from: '127.0.2.1' });
    const wrong = await login(server.base, { login: user.login, password: `${user.password}x` }, { from: '127.0.2.2' });
    assert.equal(unknown.status, 401);
    assert.equal(wrong.status, 401);
    assert.deepEqual(errorShape(unknown), errorShape(wrong));
    assert.deepEqual(errorShape(wrong), { code: 'invalid_credentials', message: 'wrong login name or password' });
    assert.equal(unknown.headers['retry-after'], undefined);
    assert.equal(unknown.headers['content-type'], wrong.headers['content-type']);
    assert.equal(unknown.cookies.length + wrong.cookies.length, 0);

    const recs = await auditSince(auditor, head, { action: 'auth.login' });
    const u = recs.find((x) => x.remote === '127.0.2.1');
    const w = recs.find((x) => x.remote === '127.0.2.2');
    assert.ok(u && u.result === 'failed' && u.actor_login === 'no.such.user' && u.actor_id === null, JSON.stringify(u));
    assert.ok(w && w.result === 'failed' && w.actor_id === user.id, JSON.stringify(w));
    // A success of the same login clears its counters (so later tests start clean).
    await signIn(server.base, user.login, user.password, {}, { from: '127.0.2.2' });
    await signIn(server.base, user.login, user.password, {}, { from: '127.0.2.1' });
  });

  describe('malformed sign-ins: a clear 4xx, nothing changed, an audit record', () => {
    const valid = () => ({ login: user.login, password: user.password });
    const cases = [
      ['an over-long login (65 ASCII characters)', () => ({ ...valid(), login: 'a'.repeat(65) }), 400, 'invalid_input'],
      ['an over-long login (64 characters, 128 bytes)', () => ({ ...valid(), login: 'é'.repeat(64) }), 400, 'invalid_input'],
      ['an over-long password (129 characters)', () => ({ ...valid(), password: 'Aa1-'.repeat(33).slice(0, 129) }), 400, 'invalid_input'],
      ['a huge password (100 000 characters)', () => ({ ...valid(), password: 'x'.repeat(100_000) }), 400, 'invalid_input'],
      ['a control character in the login', () => ({ ...valid(), login: `${user.login}\u0007` }), 400, 'invalid_input'],
      ['a newline in the password', () => ({ ...valid(), password: `${user.password}\n` }), 400, 'invalid_input'],
      ['a NUL in the login', () => ({ ...valid(), login: `${user.login}\u0000x` }), 400, 'invalid_input'],
      ['a missing password', () => ({ login: user.login }), 400, 'missing_field'],
      ['a missing login', () => ({ password: user.password }), 400, 'missing_field'],
      ['an empty object', () => ({}), 400, 'missing_field'],
      ['an empty login', () => ({ ...valid(), login: '' }), 400, 'invalid_input'],
      ['a number as login', () => ({ ...valid(), login: 42 }), 400, 'wrong_type'],
      ['a list as password', () => ({ ...valid(), password: [user.password] }), 400, 'wrong_type'],
      ['"cookie": "yes"', () => ({ ...valid(), cookie: 'yes' }), 400, 'wrong_type'],
      ['an unknown field', () => ({ ...valid(), role: 'sys_admin' }), 400, 'invalid_input'],
      ['a number as totp_code', () => ({ ...valid(), totp_code: 123456 }), 400, 'wrong_type'],
      ['a JSON array body', () => '["x"]', 400, 'wrong_type'],
      ['invalid UTF-8 in the body', () => Buffer.concat([Buffer.from(`{"login":"${'signin.user'}","password":"`), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]), 400, 'invalid_utf8'],
      ['malformed JSON', () => '{"login": "signin.user", "password": ', 400, 'malformed_json'],
    ];

    const snapshot = () => ({
      sessions: sql(server.dbPath, 'SELECT COUNT(*) FROM session')[0],
      account: sql(server.dbPath, `SELECT status, failed_logins, password_hash, updated_at FROM account WHERE login = 'signin.user'`)[0],
    });

    cases.forEach(([name, body, status, code], i) => {
      test(name, async () => {
        const from = `127.0.3.${i + 1}`;
        const head = auditHead(server);
        const before = snapshot();
        const r = await login(server.base, body(), { from });
        assert.equal(r.status, status, r.text);
        assert.equal(r.json?.error?.code, code, r.text);
        assert.ok(r.json.error.message.length > 0);
        assert.equal(r.json.token, undefined);
        assert.equal(r.cookies.length, 0);
        assert.deepEqual(snapshot(), before, 'a malformed sign-in changes nothing');
        const recs = (await auditSince(auditor, head, { action: 'auth.login' })).filter((x) => x.remote === from);
        assert.equal(recs.length, 1, `one auth.login record from ${from} expected, found ${JSON.stringify(recs)}`);
        assert.equal(recs[0].result, 'denied');
        // The offending text itself is not copied into the trail.
        if (typeof body() === 'object' && !Buffer.isBuffer(body())) {
          const pw = body().password;
          if (typeof pw === 'string' && pw.length > 20) assert.ok(!(recs[0].detail || '').includes(pw));
        }
      });
    });

    test('after all that, the account still signs in', async () => {
      await signIn(server.base, user.login, user.password);
    });
  });

  test('throttling: after 5 failures the 6th attempt gets 429 rate_limited with Retry-After, even with the right password', async () => {
    const victim = addUser(server, 'throttle.user', { roles: 'grid_worker', scope: 'grid:442000105001001' });
    const head = auditHead(server);
    for (let i = 1; i <= 5; i++) {
      const r = await login(server.base, { login: victim.login, password: `Wrong-password-${i}` }, { from: '127.0.4.1' });
      assert.equal(r.status, 401, `failure ${i}: ${r.text}`);
      assert.equal(r.json.error.code, 'invalid_credentials');
    }
    const right = await login(server.base, { login: victim.login, password: victim.password }, { from: '127.0.4.1' });
    assert.equal(right.status, 429, right.text);
    assert.equal(right.json.error.code, 'rate_limited');
    assert.equal(right.json.token, undefined);
    const wait = Number(right.headers['retry-after']);
    assert.ok(Number.isInteger(wait) && wait >= 1 && wait <= 30, `Retry-After: ${right.headers['retry-after']}`);

    // The login itself is throttled, from any address...
    const elsewhere = await login(server.base, { login: victim.login, password: victim.password }, { from: '127.0.4.2' });
    assert.equal(elsewhere.status, 429, elsewhere.text);
    assert.ok(Number(elsewhere.headers['retry-after']) >= 1);
    // ... and the address, for any login.
    const sameAddress = await login(server.base, { login: user.login, password: user.password }, { from: '127.0.4.1' });
    assert.equal(sameAddress.status, 429, sameAddress.text);
    // Other logins from other addresses are not affected.
    await signIn(server.base, user.login, user.password, {}, { from: '127.0.4.3' });

    // Throttled attempts never reach the password check: the failure count stays at 5.
    assert.equal(sql(server.dbPath, `SELECT status, failed_logins FROM account WHERE id = ${victim.id}`)[0], 'active|5');
    const recs = await auditSince(auditor, head, { action: 'auth.login' });
    const throttled = recs.filter((x) => x.result === 'denied' && /throttled/.test(x.detail || ''));
    assert.ok(throttled.length >= 3, `throttled attempts are audited: ${JSON.stringify(recs.slice(0, 5))}`);
    assert.equal(recs.filter((x) => x.actor_login === victim.login && x.result === 'failed').length, 5);
  });

  test('throttling per address is not reset by a successful sign-in of another account (password spraying)', async () => {
    // An attacker with one valid account of their own tries one password on many logins,
    // signing in to their own account after every 4 failures.
    const own = addUser(server, 'spray.own', { roles: 'citizen', scope: 'own' });
    const from = '127.0.5.1';
    const statuses = [];
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 4; i++) {
        const r = await login(server.base, { login: `spray.target${round}${i}`, password: 'Spring-2026!' }, { from });
        statuses.push(r.status);
      }
      await login(server.base, { login: own.login, password: own.password }, { from });
    }
    assert.ok(statuses.includes(429),
      `16 failed sign-ins on 16 logins from ${from} were never throttled (statuses ${statuses.join(',')}): ` +
      'a success of any account clears the address counter (throttle_clear(ip_key) in cg_auth_login)');
  });

  test('the audit trail is intact after the run', () => {
    const { check, verify } = trailStatus(server.dbPath);
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.equal(check.stdout, 'ok\n');
    assert.equal(verify.status, 0, verify.stderr);
    assert.match(verify.stdout, /intact/);
  });
});

describe('lock after auth.disable_after failures', () => {
  let server;
  let demo;
  let sec;
  let sys;
  let auditor;

  before(async () => {
    server = await startAuthServer({ 'auth.disable_after': 3, 'auth.lock_after': 100 });
    demo = demoAccounts(server);
    auditor = await signInAdmin(server.base, demo['demo.auditadmin']);
    sec = await signInAdmin(server.base, demo['demo.secadmin']);
    sys = await signInAdmin(server.base, demo['demo.sysadmin']);
  });
  after(async () => {
    await server?.stop();
  });

  const status = async (id) => {
    const r = await sec.get(`/api/v1/users/${id}`);
    assert.equal(r.status, 200, r.text);
    return r.json.status;
  };

  test('3 failures lock the account; the right password then gets 403; open sessions end; the security administrator unlocks it', async () => {
    const v = addUser(server, 'lock.user', { roles: 'grid_worker', scope: 'grid:442000105001001' });
    const open = await signIn(server.base, v.login, v.password);
    const head = auditHead(server);
    for (let i = 1; i <= 3; i++) {
      const r = await login(server.base, { login: v.login, password: `Wrong-password-${i}` });
      assert.equal(r.status, 401, r.text);
      assert.equal(r.json.error.code, 'invalid_credentials');
    }
    assert.equal(await status(v.id), 'locked');

    const right = await login(server.base, { login: v.login, password: v.password });
    assert.equal(right.status, 403, right.text);
    assert.equal(right.json.error.code, 'forbidden');
    assert.match(right.json.error.message, /locked/);
    assert.equal(right.json.token, undefined);
    assert.equal((await open.get('/api/v1/auth/me')).status, 401, 'a session of a locked account no longer works');

    const recs = await auditSince(auditor, head, { action: 'auth.login' });
    assert.equal(recs.filter((x) => x.actor_id === v.id && x.result === 'failed').length, 3);
    assert.ok(recs.some((x) => x.actor_id === v.id && x.result === 'denied' && x.detail === 'locked'), JSON.stringify(recs));

    // Neither the locked account nor another business role may unlock.
    const worker = await signIn(server.base, demo['demo.station'].login, demo['demo.station'].password);
    assert.equal((await worker.post(`/api/v1/users/${v.id}/unlock`)).status, 403);
    assert.equal(await status(v.id), 'locked');

    const unlock = await sec.post(`/api/v1/users/${v.id}/unlock`);
    assert.equal(unlock.status, 200, unlock.text);
    assert.equal(unlock.json.status, 'active');
    await signIn(server.base, v.login, v.password);
    const audit = await auditSince(auditor, head, { action: 'user.status' });
    assert.ok(audit.some((x) => x.object_id === String(v.id) && x.actor_login === 'demo.secadmin' && x.detail === 'active'), JSON.stringify(audit));

    // The failure count starts again from zero after the unlock.
    const one = await login(server.base, { login: v.login, password: 'Wrong-password-9' });
    assert.equal(one.status, 401);
    assert.equal(await status(v.id), 'active');
  });

  test('separation of duties: /unlock (security administrator) does not re-enable a disabled account', async () => {
    const v = addUser(server, 'disabled.user', { roles: 'grid_worker', scope: 'grid:442000105001001' });
    const off = await sys.post(`/api/v1/users/${v.id}/disable`);
    assert.equal(off.status, 200, off.text);
    assert.equal(off.json.status, 'disabled');
    const r = await sec.post(`/api/v1/users/${v.id}/unlock`);
    assert.equal(await status(v.id), 'disabled',
      `POST /users/${v.id}/unlock by sec_admin answered ${r.status} and made a disabled account active ` +
      '(cg_api_user_unlock sets "active" whatever the current status)');
    assert.ok(r.status >= 400 && r.status < 500, r.text);
  });

  test('separation of duties: /enable (system administrator) does not unlock an account locked by failed sign-ins', async () => {
    const v = addUser(server, 'locked.user2', { roles: 'grid_worker', scope: 'grid:442000105001001' });
    for (let i = 1; i <= 3; i++) await login(server.base, { login: v.login, password: `Wrong-password-${i}` });
    assert.equal(await status(v.id), 'locked');
    const r = await sys.post(`/api/v1/users/${v.id}/enable`);
    assert.equal(await status(v.id), 'locked',
      `POST /users/${v.id}/enable by sys_admin answered ${r.status} and unlocked a locked account, ` +
      'which is the security administrator\'s user.unlock (cg_api_user_enable sets "active" whatever the current status)');
    assert.ok(r.status >= 400 && r.status < 500, r.text);
  });

  test('a disabled account cannot sign in, with the right password either', async () => {
    const v = addUser(server, 'disabled.user3', { roles: 'grid_worker', scope: 'grid:442000105001001' });
    const open = await signIn(server.base, v.login, v.password);
    assert.equal((await sys.post(`/api/v1/users/${v.id}/disable`)).status, 200);
    assert.equal((await open.get('/api/v1/auth/me')).status, 401, 'disabling ends the sessions');
    const r = await login(server.base, { login: v.login, password: v.password });
    assert.equal(r.status, 403, r.text);
    assert.match(r.json.error.message, /disabled/);
    assert.equal((await sys.post(`/api/v1/users/${v.id}/enable`)).status, 200);
    await signIn(server.base, v.login, v.password);
  });

  test('the audit trail is intact after the run', () => {
    const { check, verify } = trailStatus(server.dbPath);
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.equal(verify.status, 0, verify.stderr);
  });
});
