// totp.test.mjs: the second factor. Enrolment returns a base32 secret and its
// otpauth:// URI; a wrong first code is refused; once enrolled, a sign-in
// without a code is 401 second_factor_required, a wrong code is refused, the
// right code works once (replay refused), a recovery code works once.
//
// Codes are RFC 6238 (SHA-1, 6 digits, 30 s) computed here with node:crypto.
// The server accepts one step either side of now and never a step at or
// before the last one used, so the code of the step after the one spent at
// enrolment is valid at once: no test waits for the clock.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  addUser, auditHead, auditSince, base32Decode, currentStep, demoAccounts, hotp, login, signIn, signInAdmin, sql,
  startAuthServer, totp, trailStatus,
} from './lib.mjs';

let server;
let auditor;
let acc; // the administrator under test
let c; // its first session
let secret;
let enrolStep;
let recovery;

before(async () => {
  server = await startAuthServer();
  const demo = demoAccounts(server);
  auditor = await signInAdmin(server.base, demo['demo.auditadmin']);
  acc = addUser(server, 'totp.admin', { roles: 'sec_admin', scope: 'all' });
  c = await signIn(server.base, acc.login, acc.password);
});
after(async () => {
  await server?.stop();
});

const failedLogins = () => Number(sql(server.dbPath, `SELECT failed_logins FROM account WHERE id = ${acc.id}`)[0]);
const sessions = () => Number(sql(server.dbPath, `SELECT COUNT(*) FROM session WHERE account_id = ${acc.id}`)[0]);

describe('enrolment', () => {
  test('the RFC 6238 code generator of this file matches the RFC test vector', () => {
    // RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits); 6 digits: 287082.
    const key = Buffer.from('12345678901234567890');
    assert.equal(hotp(key, Math.floor(59 / 30), 8), '94287082');
    assert.equal(hotp(key, Math.floor(1111111109 / 30), 8), '07081804');
    assert.equal(base32Decode('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ').toString(), '12345678901234567890');
  });

  test('an administrator without a second factor may only use "session" routes', async () => {
    const me = await c.get('/api/v1/auth/me');
    assert.equal(me.json.must_enrol_totp, true);
    assert.equal(me.json.totp_enabled, false);
    const r = await c.get('/api/v1/users');
    assert.equal(r.status, 403);
    assert.equal(r.json.error.code, 'second_factor_enrolment_required');
  });

  test('POST /auth/totp/confirm before POST /auth/totp is a conflict', async () => {
    const r = await c.post('/api/v1/auth/totp/confirm', { code: '123456' });
    assert.equal(r.status, 409, r.text);
  });

  test('POST /auth/totp returns a base32 secret and the matching otpauth:// URI', async () => {
    const r = await c.post('/api/v1/auth/totp');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['cache-control'], 'no-store');
    secret = r.json.secret;
    assert.match(secret, /^[A-Z2-7]{32}$/, 'a 160-bit secret in base32');
    assert.equal(base32Decode(secret).length, 20);
    assert.equal(r.json.algorithm, 'SHA1');
    assert.equal(r.json.digits, 6);
    assert.equal(r.json.period, 30);
    const uri = new URL(r.json.otpauth_uri);
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.host, 'totp');
    assert.match(decodeURIComponent(uri.pathname), new RegExp(`^/(civgrid:)?${acc.login}$`));
    assert.equal(uri.searchParams.get('secret'), secret);
    assert.equal(uri.searchParams.get('issuer'), 'civgrid');
    assert.equal(uri.searchParams.get('digits') ?? '6', '6');
    assert.equal(uri.searchParams.get('period') ?? '30', '30');
    // The secret is stored encrypted, never in clear.
    assert.ok(!sql(server.dbPath, `SELECT totp_secret_enc FROM account WHERE id = ${acc.id}`)[0].includes(secret));
    // Not active before confirmation: sign-in still needs no code.
    const s = await login(server.base, { login: acc.login, password: acc.password });
    assert.equal(s.status, 200, s.text);
  });

  test('a wrong code at confirmation is refused and enables nothing; malformed codes are 400', async () => {
    const step = currentStep();
    const valid = new Set([step - 1, step, step + 1].map((s) => totp(secret, s)));
    let wrong = '000000';
    while (valid.has(wrong)) wrong = String(Number(wrong) + 1).padStart(6, '0');
    const r = await c.post('/api/v1/auth/totp/confirm', { code: wrong });
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json.error.field, 'code');
    assert.equal(r.json.recovery_codes, undefined);
    for (const bad of ['12345', '1234567', 'abcdef', '12 456']) {
      const m = await c.post('/api/v1/auth/totp/confirm', { code: bad });
      assert.equal(m.status, 400, `${bad}: ${m.text}`);
    }
    const wrongType = await c.post('/api/v1/auth/totp/confirm', { code: 123456 });
    assert.equal(wrongType.status, 400);
    assert.equal(wrongType.json.error.code, 'wrong_type');
    assert.equal((await c.get('/api/v1/auth/me')).json.totp_enabled, false);
    assert.equal((await c.get('/api/v1/users')).status, 403);
  });

  test('the right code enrols: ten one-time recovery codes, totp_enabled, audited; a second enrolment is a conflict', async () => {
    const head = auditHead(server);
    enrolStep = currentStep();
    const r = await c.post('/api/v1/auth/totp/confirm', { code: totp(secret, enrolStep) });
    assert.equal(r.status, 200, r.text);
    recovery = r.json.recovery_codes;
    assert.equal(recovery.length, 10);
    for (const code of recovery) assert.match(code, /^[A-Z2-9]{5}-[A-Z2-9]{5}$/);
    assert.equal(new Set(recovery).size, 10);
    const me = await c.get('/api/v1/auth/me');
    assert.equal(me.json.totp_enabled, true);
    assert.equal(me.json.must_enrol_totp, false);
    assert.equal((await c.get('/api/v1/users')).status, 200, 'the enrolling session may now use its permissions');
    assert.equal((await c.post('/api/v1/auth/totp')).status, 409);
    assert.equal((await c.post('/api/v1/auth/totp/confirm', { code: totp(secret, enrolStep + 1) })).status, 409);
    const recs = await auditSince(auditor, head, { action: 'auth.totp_enrol' });
    assert.equal(recs.length, 1);
    assert.equal(recs[0].actor_id, acc.id);
    assert.ok(!JSON.stringify(recs).includes(secret) && !recovery.some((x) => JSON.stringify(recs).includes(x)));
  });
});

describe('sign-in with a second factor', () => {
  test('without a code: 401 second_factor_required, no session, not counted as a failure', async () => {
    const before = sessions();
    const r = await login(server.base, { login: acc.login, password: acc.password });
    assert.equal(r.status, 401, r.text);
    assert.equal(r.json.error.code, 'second_factor_required');
    assert.equal(r.json.token, undefined);
    assert.equal(sessions(), before);
    assert.equal(failedLogins(), 0);
    // The wrong password still says only "wrong login name or password".
    const w = await login(server.base, { login: acc.login, password: `${acc.password}x`, totp_code: totp(secret, enrolStep + 1) }, { from: '127.0.7.1' });
    assert.equal(w.status, 401);
    assert.equal(w.json.error.code, 'invalid_credentials');
  });

  test('with a wrong code: refused, counted and audited', async () => {
    const head = auditHead(server);
    const before = failedLogins();
    const step = currentStep();
    const valid = new Set([step - 1, step, step + 1].map((s) => totp(secret, s)));
    let wrong = '999999';
    while (valid.has(wrong)) wrong = String(Number(wrong) - 1).padStart(6, '0');
    const r = await login(server.base, { login: acc.login, password: acc.password, totp_code: wrong }, { from: '127.0.7.2' });
    assert.equal(r.status, 401, r.text);
    assert.equal(r.json.error.code, 'second_factor_required');
    assert.equal(r.json.token, undefined);
    assert.equal(failedLogins(), before + 1);
    const recs = await auditSince(auditor, head, { action: 'auth.login' });
    assert.ok(recs.some((x) => x.actor_id === acc.id && x.result === 'failed' && /second-factor/.test(x.detail)), JSON.stringify(recs));
  });

  let used;
  test('with the right code: 200 and a session', async () => {
    used = totp(secret, enrolStep + 1); // the next step: inside the window, after the enrolment step
    const r = await login(server.base, { login: acc.login, password: acc.password, totp_code: used }, { from: '127.0.7.3' });
    assert.equal(r.status, 200, r.text);
    assert.match(r.json.token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(failedLogins(), 0, 'a success resets the failure count');
  });

  test('the same code again (replay) is refused; so is the older code spent at enrolment', async () => {
    const again = await login(server.base, { login: acc.login, password: acc.password, totp_code: used }, { from: '127.0.7.4' });
    assert.equal(again.status, 401, again.text);
    assert.equal(again.json.error.code, 'second_factor_required');
    assert.match(again.json.error.message, /already used|wrong|expired/);
    const older = await login(server.base, { login: acc.login, password: acc.password, totp_code: totp(secret, enrolStep) }, { from: '127.0.7.5' });
    assert.equal(older.status, 401, older.text);
    // A code far in the future (outside the window) is refused too.
    const future = await login(server.base, { login: acc.login, password: acc.password, totp_code: totp(secret, currentStep() + 5) }, { from: '127.0.7.6' });
    assert.equal(future.status, 401, future.text);
  });

  test('a recovery code works once (any case and spacing), then never again', async () => {
    const code = recovery[0];
    const first = await login(server.base, { login: acc.login, password: acc.password, recovery_code: code.toLowerCase().replace('-', ' ') }, { from: '127.0.7.7' });
    assert.equal(first.status, 200, first.text);
    const second = await login(server.base, { login: acc.login, password: acc.password, recovery_code: code }, { from: '127.0.7.8' });
    assert.equal(second.status, 401, second.text);
    assert.equal(second.json.error.code, 'second_factor_required');
    assert.equal(second.json.token, undefined);
    // Another code still works.
    await signIn(server.base, acc.login, acc.password, { recovery_code: recovery[1] }, { from: '127.0.7.9' });
    assert.equal(sql(server.dbPath, `SELECT COUNT(*) FROM recovery_code WHERE account_id = ${acc.id} AND used_at IS NOT NULL`)[0], '2');
  });

  test('a refused recovery code (spent or made up) is audited and counted like a wrong TOTP code', async () => {
    const head = auditHead(server);
    const before = failedLogins();
    const r = await login(server.base, { login: acc.login, password: acc.password, recovery_code: 'AAAAA-BBBBB' }, { from: '127.0.7.10' });
    assert.equal(r.status, 401, r.text);
    const recs = (await auditSince(auditor, head, { action: 'auth.login' })).filter((x) => x.remote === '127.0.7.10');
    assert.equal(recs.length, 1,
      `a refused recovery code left ${recs.length} auth.login records (expected one "failed"): login_ok_run in auth_store.c rolls back, ` +
      'cg_auth_login only calls throttle_fail');
    assert.equal(recs[0].result, 'failed');
    assert.equal(failedLogins(), before + 1, 'counted towards auth.disable_after like a wrong TOTP code');
  });

  test('a recovery code of another account does not work', async () => {
    const other = addUser(server, 'totp.other', { roles: 'audit_admin', scope: 'all' });
    const oc = await signIn(server.base, other.login, other.password);
    const b = await oc.post('/api/v1/auth/totp');
    const conf = await oc.post('/api/v1/auth/totp/confirm', { code: totp(b.json.secret) });
    assert.equal(conf.status, 200, conf.text);
    const r = await login(server.base, { login: acc.login, password: acc.password, recovery_code: conf.json.recovery_codes[0] }, { from: '127.0.7.11' });
    assert.equal(r.status, 401, r.text);
    await signIn(server.base, other.login, other.password, { recovery_code: conf.json.recovery_codes[0] }, { from: '127.0.7.12' });
  });
});

test('the audit trail is intact after the run', () => {
  const { check, verify } = trailStatus(server.dbPath);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.equal(verify.status, 0, verify.stderr);
});
