// scope.test.mjs: scope holes and the separation of the administrators.
// Accounts are placed in the grid tree by their own scope; a grid-scoped
// caller sees only its subtree, a filter outside it is 403, and an account
// outside it is 404 (as if it did not exist) with the refusal audited.
// Nobody changes their own roles; one administrator role per account, never
// with a business role; phone numbers are masked everywhere but the audited
// reveal.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  addUser, auditSince, auditHead, demoAccounts, enrolTotp, errorShape, login, signIn, signInAdmin, sql, startAuthServer, strongPassword,
  trailStatus,
} from './lib.mjs';

const PHONE = '13812345678';
const MASKED = '138****5678';

let server;
let demo;
let sys;
let sec;
let auditor;
let station;
let gridLeader;
const ids = {}; // login -> id
const made = {}; // login -> { id, login, password }

before(async () => {
  server = await startAuthServer();
  demo = demoAccounts(server);
  sys = await signInAdmin(server.base, demo['demo.sysadmin']);
  sec = await signInAdmin(server.base, demo['demo.secadmin']);
  auditor = await signInAdmin(server.base, demo['demo.auditadmin']);
  station = await signIn(server.base, demo['demo.station'].login, demo['demo.station'].password);
  gridLeader = await signIn(server.base, demo['demo.gridleader'].login, demo['demo.gridleader'].password);
  // Accounts created by the system administrator over the API.
  for (const [login, scope, phone] of [
    ['scope.w1', 'grid:442000105001001', PHONE], // the station's village, the grid leader's grid
    ['scope.w2', 'grid:442000105002001', null], // the sibling village
    ['scope.w3', 'grid:442000105001002', null], // the station's village, another grid
  ]) {
    const password = strongPassword();
    const r = await sys.post('/api/v1/users', {
      login, display_name: `测试 ${login}`, password, roles: ['grid_worker'], scope, ...(phone ? { phone } : {}),
    });
    assert.equal(r.status, 201, r.text);
    made[login] = { id: r.json.id, login, password };
  }
  const all = await sys.get('/api/v1/users?limit=500');
  assert.equal(all.status, 200);
  for (const u of all.json.users) ids[u.login] = u.id;
});
after(async () => {
  await server?.stop();
});

/** Every page of GET /api/v1/users for a client. */
async function listAll(c, query = '', pageSize = 3) {
  const users = [];
  let afterId = 0;
  for (;;) {
    const r = await c.get(`/api/v1/users?limit=${pageSize}&after=${afterId}${query}`);
    assert.equal(r.status, 200, r.text);
    users.push(...r.json.users);
    if (!r.json.next_after) return users;
    afterId = r.json.next_after;
  }
}

describe('a grid-scoped caller sees its subtree only', () => {
  test('the village station (grid:442000105001) lists exactly the accounts of its village, on every page', async () => {
    const users = await listAll(station);
    const logins = users.map((u) => u.login).sort();
    for (const u of users) assert.ok(u.scope.startsWith('grid:442000105001'), `${u.login} ${u.scope} is outside the station's village`);
    assert.deepEqual(logins, ['demo.gridleader', 'demo.station', 'demo.worker', 'scope.w1', 'scope.w3']);
  });

  test('a filter on the sibling village (?grid=442000105002) gets 403 and is audited; a parent code too', async () => {
    const head = auditHead(server);
    const r = await station.get('/api/v1/users?grid=442000105002');
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json.error.code, 'forbidden');
    assert.equal(r.json.error.field, 'grid');
    assert.equal(r.json.users, undefined);
    const parent = await station.get('/api/v1/users?grid=4420001050');
    assert.equal(parent.status, 403, parent.text);
    const recs = await auditSince(auditor, head, { action: 'user.read', result: 'denied' });
    assert.ok(recs.some((x) => x.actor_login === 'demo.station' && x.object_id === '442000105002'), JSON.stringify(recs));
  });

  test('a filter inside the subtree narrows the list; a non-numeric filter is 400', async () => {
    const users = await listAll(station, '&grid=442000105001001');
    assert.deepEqual(users.map((u) => u.login).sort(), ['demo.gridleader', 'demo.worker', 'scope.w1']);
    const bad = await station.get('/api/v1/users?grid=44200%27%20OR%201=1');
    assert.equal(bad.status, 400, bad.text);
  });

  test('bad paging is 400 naming the parameter: out of range, empty, not a number, too big to hold', async () => {
    for (const [q, field] of [
      ['limit=0', 'limit'], ['limit=501', 'limit'], ['limit=', 'limit'], ['limit=5x', 'limit'],
      ['limit=4294967346', 'limit'], ['limit=99999999999999999999', 'limit'],
      ['after=-1', 'after'], ['after=1.5', 'after'], ['after=99999999999999999999', 'after'],
    ]) {
      const r = await station.get(`/api/v1/users?${q}`);
      assert.equal(r.status, 400, `${q}: ${r.text}`);
      assert.equal(r.json.error.field, field, `${q}: ${r.text}`);
    }
    const id = await station.get('/api/v1/users/99999999999999999999');
    assert.equal(id.status, 404, id.text);
  });

  test('an account of another grid, read by guessing its id, is 404 like a missing one, and the refusal is audited', async () => {
    const head = auditHead(server);
    const w2 = made['scope.w2'].id;
    const r = await station.get(`/api/v1/users/${w2}`);
    assert.equal(r.status, 404, r.text);
    assert.equal(r.json.error.code, 'not_found');
    assert.ok(!r.text.includes('scope.w2') && !r.text.includes('442000105002001'), `no data of the account: ${r.text}`);
    const missing = await station.get('/api/v1/users/987654');
    assert.equal(missing.status, 404);
    const shape = (x, id) => ({ ...errorShape(x), message: errorShape(x).message.replace(String(id), 'N') });
    assert.deepEqual(shape(r, w2), shape(missing, 987654), 'outside the scope looks exactly like no such account');
    // Administrators (scope 'all') are outside every grid too.
    assert.equal((await station.get(`/api/v1/users/${ids['demo.sysadmin']}`)).status, 404);
    assert.equal((await station.get(`/api/v1/users/${ids['demo.handler']}`)).status, 404);

    const recs = await auditSince(auditor, head, { action: 'user.read' });
    const denied = recs.find((x) => x.object_id === String(w2));
    assert.ok(denied, `a user.read refusal of ${w2}: ${JSON.stringify(recs)}`);
    assert.equal(denied.result, 'denied');
    assert.equal(denied.actor_login, 'demo.station');
  });

  test('inside the scope: the station reads a worker of its village; the grid leader a worker of its grid', async () => {
    const a = await station.get(`/api/v1/users/${made['scope.w3'].id}`);
    assert.equal(a.status, 200, a.text);
    assert.equal(a.json.login, 'scope.w3');
    const b = await gridLeader.get(`/api/v1/users/${ids['demo.worker']}`);
    assert.equal(b.status, 200, b.text);
    assert.equal(b.json.login, 'demo.worker');
    assert.equal(b.json.scope, 'grid:442000105001001');
  });

  test('the grid leader does not see the other grid of its own village', async () => {
    assert.equal((await gridLeader.get(`/api/v1/users/${made['scope.w3'].id}`)).status, 404);
    const users = await listAll(gridLeader);
    assert.deepEqual(users.map((u) => u.login).sort(), ['demo.gridleader', 'demo.worker', 'scope.w1']);
  });

  test('a citizen (scope own) and a department-scoped handler hold no user.read at all', async () => {
    for (const login of ['demo.citizen', 'demo.handler']) {
      const c = await signIn(server.base, login, demo[login].password);
      assert.equal((await c.get(`/api/v1/users/${ids['demo.worker']}`)).status, 403, login);
      const own = await c.get('/api/v1/auth/me');
      assert.equal(own.status, 200, login);
    }
  });
});

describe('roles and the separation of the administrators', () => {
  test('nobody changes their own roles or scope, not even the security administrator', async () => {
    for (const [who, c, body] of [
      ['sec_admin', sec, { roles: ['sec_admin'], scope: 'all' }],
      ['sec_admin', sec, { roles: ['sys_admin'], scope: 'all' }],
      ['sys_admin', sys, { roles: ['sec_admin'], scope: 'all' }],
      ['grid_leader', gridLeader, { roles: ['duty_officer'], scope: 'grid:442000' }],
    ]) {
      const r = await c.put(`/api/v1/users/${c.account.id}/roles`, body);
      assert.equal(r.status, 403, `${who}: ${r.text}`);
      assert.equal(r.json.error.code, 'forbidden');
    }
    const me = await sec.get('/api/v1/auth/me');
    assert.deepEqual(me.json.roles, ['sec_admin']);
    assert.equal(me.json.scope, 'all');
    // Nor their own status.
    assert.equal((await sys.post(`/api/v1/users/${sys.account.id}/disable`)).status, 403);
  });

  test('two administrator roles, or an administrator and a business role, on one account: 400 invalid_input on roles', async () => {
    const target = made['scope.w3'].id;
    const cases = [
      [['sys_admin', 'sec_admin'], 'all'],
      [['sec_admin', 'audit_admin'], 'all'],
      [['sys_admin', 'audit_admin'], 'all'],
      [['audit_admin', 'grid_worker'], 'all'],
      [['sec_admin', 'leader'], 'all'],
      [['grid_worker', 'sys_admin'], 'all'],
    ];
    for (const [roles, scope] of cases) {
      const r = await sec.put(`/api/v1/users/${target}/roles`, { roles, scope });
      assert.equal(r.status, 400, `${roles}: ${r.text}`);
      assert.equal(r.json.error.code, 'invalid_input', `${roles}`);
      assert.equal(r.json.error.field, 'roles', `${roles}`);
    }
    // Creating such an account is refused the same way.
    const c = await sys.post('/api/v1/users', { login: 'two.hats', display_name: 'x', password: strongPassword(), roles: ['sys_admin', 'audit_admin'], scope: 'all' });
    assert.equal(c.status, 400, c.text);
    assert.equal(c.json.error.field, 'roles');
    const u = await sec.get(`/api/v1/users/${target}`);
    assert.deepEqual(u.json.roles, ['grid_worker'], 'nothing changed');
  });

  test('scope rules of roles: administrators have scope all, citizens own; unknown roles are refused', async () => {
    const target = made['scope.w3'].id;
    for (const [roles, scope, field] of [
      [['sec_admin'], 'grid:442000105', 'scope'],
      [['citizen'], 'grid:442000105001001', 'scope'],
      [['root'], 'all', 'roles'],
      [['grid_worker', 'grid_worker'], 'grid:442000105001002', 'roles'],
      [['grid_worker'], 'grid:44200x', 'scope'],
    ]) {
      const r = await sec.put(`/api/v1/users/${target}/roles`, { roles, scope });
      assert.equal(r.status, 400, `${roles} ${scope}: ${r.text}`);
      assert.equal(r.json.error.field, field, `${roles} ${scope}: ${r.text}`);
    }
  });

  test('the security administrator sets roles of another account: its sessions end, user.role is audited', async () => {
    const w3 = made['scope.w3'];
    const open = await signIn(server.base, w3.login, w3.password);
    const head = auditHead(server);
    const r = await sec.put(`/api/v1/users/${w3.id}/roles`, { roles: ['grid_leader'], scope: 'grid:442000105001002' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.roles, ['grid_leader']);
    assert.equal((await open.get('/api/v1/auth/me')).status, 401, 'the change takes effect at once');
    const again = await signIn(server.base, w3.login, w3.password);
    assert.ok((await again.get('/api/v1/auth/me')).json.permissions.includes('user.read'));
    const recs = await auditSince(auditor, head, { action: 'user.role' });
    assert.equal(recs.length, 1, JSON.stringify(recs));
    assert.equal(recs[0].object_id, String(w3.id));
    assert.equal(recs[0].actor_login, 'demo.secadmin');
    assert.match(recs[0].detail, /roles=grid_leader scope=grid:442000105001002/);
  });

  test('the system administrator creates accounts but cannot set roles of existing ones (no user.role)', async () => {
    const r = await sys.put(`/api/v1/users/${made['scope.w2'].id}/roles`, { roles: ['grid_leader'], scope: 'grid:442000105002001' });
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json.error.code, 'forbidden');
    assert.match(r.json.error.message, /user\.role/);
    assert.deepEqual((await sec.get(`/api/v1/users/${made['scope.w2'].id}`)).json.roles, ['grid_worker']);
  });

  test('the audit administrator cannot create accounts; the security administrator cannot either', async () => {
    for (const [who, c] of [['audit_admin', auditor], ['sec_admin', sec]]) {
      const r = await c.post('/api/v1/users', { login: `made.by.${who}`, display_name: 'x', password: strongPassword(), roles: ['grid_worker'], scope: 'grid:442000105001001' });
      assert.equal(r.status, 403, `${who}: ${r.text}`);
      assert.equal(r.json.error.code, 'forbidden');
    }
    assert.equal((await login(server.base, { login: 'made.by.audit_admin', password: 'x' })).status, 401);
  });

  test('the system administrator cannot create a security or audit administrator (that would hand out those roles without user.role)', async () => {
    const created = [];
    for (const role of ['sec_admin', 'audit_admin']) {
      const r = await sys.post('/api/v1/users', { login: `sys.made.${role.replace('_', '-')}`, display_name: 'x', password: strongPassword(), roles: [role], scope: 'all' });
      if (r.status === 201) created.push(`${role} (id ${r.json.id})`);
      else assert.equal(r.status, 403, r.text);
    }
    assert.deepEqual(created, [],
      'POST /api/v1/users by sys_admin created administrator accounts whose password it knows: ' +
      'cg_auth_account_create checks the role combination but not who may grant an administrator role');
  });
});

describe('the system administrator and the other administrators', () => {
  test('the system administrator can neither reset the password of, nor disable, a security or audit administrator', async () => {
    const victimSec = addUser(server, 'victim.sec', { roles: 'sec_admin', scope: 'all' });
    const victimAudit = addUser(server, 'victim.audit', { roles: 'audit_admin', scope: 'all' });
    const done = [];
    const temp = strongPassword();
    const reset = await sys.post(`/api/v1/users/${victimSec.id}/password`, { password: temp });
    if (reset.status === 200) {
      // Not yet enrolled: the temporary password is all it takes to become this security administrator.
      const c = await signIn(server.base, victimSec.login, temp);
      const mine = strongPassword();
      await c.post('/api/v1/auth/password', { current_password: temp, new_password: mine });
      await enrolTotp(c);
      const target = addUser(server, 'victim.target', { roles: 'grid_worker', scope: 'grid:442000105001001' });
      const roles = await c.put(`/api/v1/users/${target.id}/roles`, { roles: ['duty_officer'], scope: 'grid:442000105' });
      done.push(`reset the password of sec_admin ${victimSec.login} (${reset.status}), signed in as it and set roles (${roles.status})`);
    } else {
      assert.equal(reset.status, 403, reset.text);
    }
    const disable = await sys.post(`/api/v1/users/${victimAudit.id}/disable`);
    if (disable.status === 200) done.push(`disabled audit_admin ${victimAudit.login} (${disable.status})`);
    else assert.equal(disable.status, 403, disable.text);
    assert.deepEqual(done, [], 'user.password_reset and user.disable apply to administrator accounts too (account_in_scope only checks scope)');
  });
});

describe('phone numbers', () => {
  test('a created account\'s phone is masked in every response', async () => {
    const w1 = made['scope.w1'];
    const texts = [];
    const keep = async (p, expectStatus = 200) => {
      const r = await p;
      assert.equal(r.status, expectStatus, r.text);
      texts.push(r.text);
      return r;
    };
    const one = await keep(sys.get(`/api/v1/users/${w1.id}`));
    assert.equal(one.json.phone, MASKED);
    const list = await keep(sys.get('/api/v1/users?limit=500'));
    assert.equal(list.json.users.find((u) => u.id === w1.id).phone, MASKED);
    await keep(station.get(`/api/v1/users/${w1.id}`));
    await keep(gridLeader.get('/api/v1/users'));
    const own = await signIn(server.base, w1.login, w1.password);
    texts.push(own.reply.text);
    assert.equal(own.account.phone, MASKED);
    await keep(own.get('/api/v1/auth/me'));
    await keep(sys.post(`/api/v1/users/${w1.id}/disable`));
    await keep(sys.post(`/api/v1/users/${w1.id}/enable`));
    await keep(sec.put(`/api/v1/users/${w1.id}/roles`, { roles: ['grid_worker'], scope: 'grid:442000105001001' }));
    const created = await keep(sys.post('/api/v1/users', { login: 'phone.two', display_name: 'x', password: strongPassword(), roles: ['grid_worker'], scope: 'grid:442000105001001', phone: '+86 139-0000-1234' }), 201);
    assert.equal(created.json.phone, '139****1234');
    texts.push(JSON.stringify(await auditSince(auditor, 0)));
    for (const t of texts) {
      assert.ok(!t.includes(PHONE) && !t.includes('13900001234'), `a clear number in a response: ${t.slice(0, 300)}`);
    }
    // Nor is it in the database in clear.
    const raw = JSON.stringify(sql(server.dbPath, 'SELECT * FROM account'));
    assert.ok(!raw.includes(PHONE), 'the database holds the number encrypted only');
  });

  test('reveal needs a reason (400 otherwise), a role with user.reveal (403 otherwise), and leaves user.reveal_phone with the reason', async () => {
    const id = made['scope.w1'].id;
    for (const [body, code, field] of [
      [{ field: 'phone' }, 'missing_field', 'reason'],
      [{ field: 'phone', reason: '' }, 'invalid_input', 'reason'],
      [{ field: 'phone', reason: 'ab' }, 'invalid_input', 'reason'],
      [{ field: 'phone', reason: 'why\u0001not' }, 'invalid_input', 'reason'],
      [{ field: 'phone', reason: 'x'.repeat(201) }, 'invalid_input', 'reason'],
      [{ reason: '核实身份信息' }, 'missing_field', 'field'],
      [{ field: 'password_hash', reason: '核实身份信息' }, 'invalid_input', 'field'],
    ]) {
      const r = await sys.post(`/api/v1/users/${id}/reveal`, body);
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
      assert.equal(r.json.error.code, code, JSON.stringify(body));
      assert.equal(r.json.error.field, field, JSON.stringify(body));
      assert.ok(!r.text.includes(PHONE));
    }
    const denied = await station.post(`/api/v1/users/${id}/reveal`, { field: 'phone', reason: '核实身份信息' });
    assert.equal(denied.status, 403, denied.text);
    assert.ok(!denied.text.includes(PHONE));

    const head = auditHead(server);
    const reason = '回访核实：市民投诉工单 #42';
    const r = await sys.post(`/api/v1/users/${id}/reveal`, { field: 'phone', reason });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { field: 'phone', value: PHONE });
    assert.equal(r.headers['cache-control'], 'no-store');
    const bySec = await sec.post(`/api/v1/users/${id}/reveal`, { field: 'phone', reason: '账户找回核实' });
    assert.equal(bySec.status, 200, bySec.text);

    const recs = await auditSince(auditor, head, { action: 'user.reveal_phone' });
    assert.equal(recs.length, 2, JSON.stringify(recs));
    const mine = recs.find((x) => x.actor_login === 'demo.sysadmin');
    assert.equal(mine.object_id, String(id));
    assert.equal(mine.result, 'ok');
    assert.ok(mine.detail.includes(reason), mine.detail);
    assert.ok(!JSON.stringify(recs).includes(PHONE), 'the clear number is not in the trail');

    const none = await sys.post(`/api/v1/users/${made['scope.w2'].id}/reveal`, { field: 'phone', reason: '核实身份信息' });
    assert.equal(none.status, 404, `an account without a phone: ${none.text}`);
  });
});

test('the audit trail is intact after the run', () => {
  const { check, verify } = trailStatus(server.dbPath);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.equal(verify.status, 0, verify.stderr);
});
