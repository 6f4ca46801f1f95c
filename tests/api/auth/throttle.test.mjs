// throttle.test.mjs: the delays after failed sign-ins grow. With
// auth.lock_after=1 every failure blocks the login and the address: the first
// for 30 s, the next for 60 s (doubling up to an hour). This file waits out
// one 30 s delay, so it runs in parallel with the others and takes ~32 s.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { addUser, login, signIn, sleep, sql, startAuthServer } from './lib.mjs';

let server;
let user;

before(async () => {
  server = await startAuthServer({ 'auth.lock_after': 1, 'auth.disable_after': 100 });
  user = addUser(server, 'delay.user', { roles: 'grid_worker', scope: 'grid:442000105001001' });
});
after(async () => {
  await server?.stop();
});

test('each failure past auth.lock_after doubles the wait: 30 s, then 60 s; the right password waits too', { timeout: 60_000 }, async () => {
  const from = '127.0.9.1';
  const fail = () => login(server.base, { login: user.login, password: 'Wrong-password-1' }, { from });
  const right = () => login(server.base, { login: user.login, password: user.password }, { from: '127.0.9.2' });

  const first = await fail();
  assert.equal(first.status, 401, first.text);
  const t0 = Date.now();
  const blocked = await right();
  assert.equal(blocked.status, 429, blocked.text);
  const wait1 = Number(blocked.headers['retry-after']);
  assert.ok(wait1 >= 29 && wait1 <= 30, `first delay ${wait1}`);

  // Wait the delay out (Retry-After rounds up: +1 s).
  await sleep(wait1 * 1000 - (Date.now() - t0) + 1000);
  const second = await fail();
  assert.equal(second.status, 401, `the delay is over: ${second.text}`);
  const blocked2 = await right();
  assert.equal(blocked2.status, 429, blocked2.text);
  const wait2 = Number(blocked2.headers['retry-after']);
  assert.ok(wait2 >= 59 && wait2 <= 60, `second delay ${wait2}, twice the first`);
  // Throttled attempts are not counted in the account: 2 real failures.
  assert.equal(sql(server.dbPath, `SELECT failed_logins FROM account WHERE id = ${user.id}`)[0], '2');
  // Other logins from other addresses are free.
  const other = addUser(server, 'delay.other', { roles: 'grid_worker', scope: 'grid:442000105001001' });
  await signIn(server.base, other.login, other.password, {}, { from: '127.0.9.3' });
});
