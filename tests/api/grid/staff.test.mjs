// staff.test.mjs: grid staffing and duty lists. The staff roster (POST
// /api/v1/staff), assignments to grids (一格多员: workers, one leader, guiding
// officers), their end, the scope of an account that follows its assignment,
// the staff list with masked phones; the duty lists (职责清单) and admissible
// items (准入事项) per grid kind and their replacement.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { P_001001, addUser, locate, makeTemplate, request, signIn, signInAs, startDemoServer } from './lib.mjs';

const G1 = '442000105001001';
const G2 = '442000105001002';
const CLEAR_PHONE = /(?<!\d)1\d{10}(?!\d)/;

let template;
let server;
let sys; // sys_admin: grid.staff and grid.manage, scope all
let station; // village_station: grid.staff on 442000105001
let duty; // duty_officer: grid.staff on the town, no grid.manage
let worker; // grid_worker of G1: grid.read only

before(async () => {
  template = makeTemplate();
  server = await startDemoServer(template);
  sys = await signInAs(server, 'demo.sysadmin');
  station = await signInAs(server, 'demo.station');
  duty = await signInAs(server, 'demo.duty');
  worker = await signInAs(server, 'demo.worker');
});
after(async () => {
  await server?.stop();
  template?.remove();
});

const card = async (code, c = sys) => {
  const r = await c.get(`/api/v1/grids/${code}`);
  assert.equal(r.status, 200, r.text);
  return r.json;
};
const assign = (c, code, body) => c.post(`/api/v1/grids/${code}/staff`, body);
const staffOf = async (code) => (await card(code)).staff;

describe('POST /api/v1/staff: the roster', () => {
  test('name, phone and employment: 201 with the worker id; the phone is stored masked and shown masked', async () => {
    const r = await station.post('/api/v1/staff', { name: '测试网格员甲', phone: '13912345678', employment: 'part_time' });
    assert.equal(r.status, 201, r.text);
    assert.ok(Number.isInteger(r.json.worker_id) && r.json.worker_id > 0, r.text);
    assert.equal(r.json.name, '测试网格员甲');
    assert.equal(r.json.employment, 'part_time');
    assert.ok(!r.text.includes('13912345678'), r.text);
    const a = await assign(station, G1, { worker_id: r.json.worker_id, role: 'worker' });
    assert.equal(a.status, 200, a.text);
    const s = (await staffOf(G1)).find((x) => x.worker_id === r.json.worker_id);
    assert.ok(s, 'the new worker serves the grid');
    assert.equal(s.phone, '139****5678');
    assert.equal(s.employment, 'part_time');
    assert.equal(s.account_id, null);
  });

  test('without a phone, with a phone in +86 form: 201', async () => {
    const r = await sys.post('/api/v1/staff', { name: '测试网格员乙', employment: 'full_time' });
    assert.equal(r.status, 201, r.text);
    const p = await sys.post('/api/v1/staff', { name: '测试网格员丙', employment: 'full_time', phone: '+86 139 1234 5679' });
    assert.equal(p.status, 201, p.text);
  });

  test('bad phones are 400 invalid_input naming phone', async () => {
    for (const phone of ['12345', '1391234567x', '139123456789', 'phone', '23912345678']) {
      const r = await sys.post('/api/v1/staff', { name: '坏电话', phone, employment: 'full_time' });
      assert.equal(r.status, 400, `${phone}: ${r.text}`);
      assert.equal(r.json.error.code, 'invalid_input', `${phone}: ${r.text}`);
      assert.equal(r.json.error.field, 'phone');
    }
  });

  test('unknown fields, missing or bad name and employment, wrong types are 400 naming the field', async () => {
    for (const [body, code, field] of [
      [{ name: '甲', employment: 'full_time', role: 'leader' }, 'invalid_input', undefined],
      [{ name: '甲', employment: 'full_time', grid: G1 }, 'invalid_input', undefined],
      [{ employment: 'full_time' }, 'missing_field', 'name'],
      [{ name: '', employment: 'full_time' }, 'invalid_input', 'name'],
      [{ name: '名'.repeat(33), employment: 'full_time' }, 'invalid_input', 'name'],
      [{ name: '甲' }, 'missing_field', 'employment'],
      [{ name: '甲', employment: 'volunteer' }, 'invalid_input', 'employment'],
      [{ name: 7, employment: 'full_time' }, 'wrong_type', 'name'],
      [{ name: '甲', employment: 'full_time', phone: 13912345678 }, 'wrong_type', 'phone'],
      [{ name: '甲', employment: 'full_time', account_id: 'me' }, 'wrong_type', 'account_id'],
      [{ name: '甲', employment: 'full_time', account_id: 0 }, 'invalid_input', 'account_id'],
    ]) {
      const r = await sys.post('/api/v1/staff', body);
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
      assert.equal(r.json.error.code, code, `${JSON.stringify(body)}: ${r.text}`);
      if (field) assert.equal(r.json.error.field, field, `${JSON.stringify(body)}: ${r.text}`);
    }
  });

  test('an account that does not exist is 404; an account already on the roster is 409', async () => {
    const none = await sys.post('/api/v1/staff', { name: '无号', employment: 'full_time', account_id: 987654 });
    assert.equal(none.status, 404, none.text);
    assert.equal(none.json.error.field, 'account_id');
    const acc = addUser(server, 'staff.twice', { roles: 'grid_worker', scope: 'grid:442000105' });
    const first = await sys.post('/api/v1/staff', { name: '两次', employment: 'full_time', account_id: acc.id });
    assert.equal(first.status, 201, first.text);
    const second = await sys.post('/api/v1/staff', { name: '两次', employment: 'full_time', account_id: acc.id });
    assert.equal(second.status, 409, second.text);
    assert.equal(second.json.error.code, 'conflict');
  });

  test('needs grid.staff: a grid worker gets 403, no session 401', async () => {
    const r = await worker.post('/api/v1/staff', { name: '甲', employment: 'full_time' });
    assert.equal(r.status, 403, r.text);
    const anon = await request(server.base, 'POST', '/api/v1/staff', { body: { name: '甲', employment: 'full_time' } });
    assert.equal(anon.status, 401, anon.text);
  });
});

describe('assignments: POST and DELETE /api/v1/grids/:code/staff', () => {
  test('a worker moved to another grid leaves the first (a worker serves one grid)', async () => {
    const from = (await staffOf(G2)).find((s) => s.role === 'worker' && s.account_id === null);
    assert.ok(from, 'G2 has a worker');
    const r = await assign(station, G1, { worker_id: from.worker_id, role: 'worker' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { grid: G1, worker_id: from.worker_id, role: 'worker' });
    assert.ok((await staffOf(G1)).some((s) => s.worker_id === from.worker_id && s.role === 'worker'));
    assert.ok(!(await staffOf(G2)).some((s) => s.worker_id === from.worker_id && s.role === 'worker'), 'no longer a worker of G2');
    const again = await assign(station, G1, { worker_id: from.worker_id, role: 'worker' });
    assert.equal(again.status, 409, `the same assignment twice: ${again.text}`);
  });

  test('a second leader is 409 conflict; after the first leader\'s assignment ends, the new one is accepted', async () => {
    const staff = await staffOf(G1);
    const leader = staff.find((s) => s.role === 'leader');
    assert.ok(leader, 'the demo grid has a leader');
    const other = staff.find((s) => s.role === 'worker' && s.worker_id !== leader.worker_id);
    const r = await assign(station, G1, { worker_id: other.worker_id, role: 'leader' });
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json.error.code, 'conflict');
    assert.equal((await staffOf(G1)).filter((s) => s.role === 'leader').length, 1);

    const end = await station.del(`/api/v1/grids/${G1}/staff/${leader.worker_id}?role=leader`);
    assert.equal(end.status, 200, end.text);
    assert.deepEqual(end.json, { grid: G1, worker_id: leader.worker_id, ended: true });
    const now = await staffOf(G1);
    assert.ok(!now.some((s) => s.worker_id === leader.worker_id && s.role === 'leader'), 'the leader role ended');
    assert.ok(now.some((s) => s.worker_id === leader.worker_id && s.role === 'worker'), 'role=leader ends that role only');
    const ok = await assign(station, G1, { worker_id: other.worker_id, role: 'leader' });
    assert.equal(ok.status, 200, ok.text);
    assert.equal((await staffOf(G1)).find((s) => s.role === 'leader').worker_id, other.worker_id);
  });

  test('a guiding officer may guide several grids', async () => {
    const guide = (await staffOf(G1)).find((s) => s.role === 'guide');
    assert.ok(guide);
    const g3 = '442000105001003';
    if (!(await staffOf(g3)).some((s) => s.worker_id === guide.worker_id && s.role === 'guide')) {
      const r = await assign(station, g3, { worker_id: guide.worker_id, role: 'guide' });
      assert.equal(r.status, 200, r.text);
    }
    assert.ok((await staffOf(G1)).some((s) => s.worker_id === guide.worker_id && s.role === 'guide'), 'still guides G1');
    assert.ok((await staffOf(g3)).some((s) => s.worker_id === guide.worker_id && s.role === 'guide'));
  });

  test('DELETE without role ends every role of the person on the grid; again it is 404', async () => {
    const s = (await staffOf(G1)).find((x) => x.role === 'worker' && x.account_id === null);
    const r = await station.del(`/api/v1/grids/${G1}/staff/${s.worker_id}`);
    assert.equal(r.status, 200, r.text);
    assert.ok(!(await staffOf(G1)).some((x) => x.worker_id === s.worker_id));
    const again = await station.del(`/api/v1/grids/${G1}/staff/${s.worker_id}`);
    assert.equal(again.status, 404, again.text);
    assert.equal(again.json.error.code, 'not_found');
  });

  test('bad assignments: unknown worker or grid 404, a grid outside the caller\'s scope 404, bad role or body 400', async () => {
    const someone = (await staffOf(G1)).find((x) => x.role === 'worker');
    for (const [c, code, body, status, errCode] of [
      [station, G1, { worker_id: 987654, role: 'worker' }, 404, 'not_found'],
      [station, '442000105001999', { worker_id: someone.worker_id, role: 'worker' }, 404, 'not_found'],
      [station, 'abc', { worker_id: someone.worker_id, role: 'worker' }, 404, 'not_found'],
      [station, '442000105002001', { worker_id: someone.worker_id, role: 'worker' }, 404, 'not_found'],
      [station, G1, { worker_id: someone.worker_id, role: 'chief' }, 400, 'invalid_input'],
      [station, G1, { worker_id: someone.worker_id }, 400, 'missing_field'],
      [station, G1, { role: 'worker' }, 400, 'missing_field'],
      [station, G1, { worker_id: String(someone.worker_id), role: 'worker' }, 400, 'wrong_type'],
      [station, G1, { worker_id: someone.worker_id, role: 'worker', since: '2026-01-01' }, 400, 'invalid_input'],
      [worker, G1, { worker_id: someone.worker_id, role: 'worker' }, 403, 'forbidden'],
    ]) {
      const r = await assign(c, code, body);
      assert.equal(r.status, status, `${code} ${JSON.stringify(body)}: ${r.text}`);
      assert.equal(r.json.error.code, errCode, `${code} ${JSON.stringify(body)}: ${r.text}`);
    }
    const outside = await station.del(`/api/v1/grids/442000105002001/staff/${someone.worker_id}`);
    assert.equal(outside.status, 404, outside.text);
    for (const id of ['abc', '0', '-1', '1.5']) {
      const r = await station.del(`/api/v1/grids/${G1}/staff/${id}`);
      assert.equal(r.status, 404, `${id}: ${r.text}`);
    }
    const badRole = await station.del(`/api/v1/grids/${G1}/staff/${someone.worker_id}?role=chief`);
    assert.equal(badRole.status, 400, badRole.text);
    assert.ok((await staffOf(G1)).some((x) => x.worker_id === someone.worker_id), 'the refused requests ended nothing');
  });
});

describe('an account linked to a staff member gets its scope from the assignment', () => {
  test('assigned to a grid: the sessions end, and after signing in again the scope is grid:<that grid>', async () => {
    const acc = addUser(server, 'follow.worker', { roles: 'grid_worker', scope: 'grid:442000105' });
    const before = await signIn(server.base, acc.login, acc.password);
    assert.equal((await before.get('/api/v1/auth/me')).json.scope, 'grid:442000105');

    const s = await duty.post('/api/v1/staff', { name: '跟随网格员', phone: '13612345678', employment: 'full_time', account_id: acc.id });
    assert.equal(s.status, 201, s.text);
    const target = '442000105201001';
    const a = await assign(duty, target, { worker_id: s.json.worker_id, role: 'worker' });
    assert.equal(a.status, 200, a.text);

    const stale = await before.get('/api/v1/auth/me');
    assert.equal(stale.status, 401, `the session ended on the change of scope: ${stale.text}`);
    const after1 = await signIn(server.base, acc.login, acc.password);
    const me = await after1.get('/api/v1/auth/me');
    assert.equal(me.status, 200, me.text);
    assert.equal(me.json.scope, `grid:${target}`);
    // The new scope is enforced: its grid only.
    const list = await after1.get('/api/v1/grids');
    assert.deepEqual(list.json.grids.map((g) => g.code), [target]);
    assert.equal((await locate(after1, ...P_001001)).json.in_scope, false);
    assert.equal((await after1.get(`/api/v1/grids/${G1}`)).status, 404);
    // The card shows the link.
    assert.equal((await staffOf(target)).find((x) => x.worker_id === s.json.worker_id).account_id, acc.id);

    // Guiding a grid of another village too: the scope widens to the smallest division holding both.
    const g = await assign(duty, '442000105202001', { worker_id: s.json.worker_id, role: 'guide' });
    assert.equal(g.status, 200, g.text);
    assert.equal((await after1.get('/api/v1/auth/me')).status, 401, 'the sessions end again');
    const after2 = await signIn(server.base, acc.login, acc.password);
    assert.equal((await after2.get('/api/v1/auth/me')).json.scope, 'grid:442000105');

    // Back to one grid when the guide role ends.
    const end = await duty.del(`/api/v1/grids/442000105202001/staff/${s.json.worker_id}`);
    assert.equal(end.status, 200, end.text);
    const after3 = await signIn(server.base, acc.login, acc.password);
    assert.equal((await after3.get('/api/v1/auth/me')).json.scope, `grid:${target}`);
  });

  test('moved to another grid: the scope moves with it', async () => {
    const acc = addUser(server, 'follow.mover', { roles: 'grid_worker', scope: 'grid:442000105' });
    const s = await duty.post('/api/v1/staff', { name: '调动网格员', employment: 'part_time', account_id: acc.id });
    assert.equal(s.status, 201, s.text);
    assert.equal((await assign(duty, '442000105203001', { worker_id: s.json.worker_id, role: 'worker' })).status, 200);
    assert.equal((await assign(duty, '442000105204001', { worker_id: s.json.worker_id, role: 'worker' })).status, 200);
    const c = await signIn(server.base, acc.login, acc.password);
    assert.equal((await c.get('/api/v1/auth/me')).json.scope, 'grid:442000105204001');
    // Its last assignment ended: the scope is its own items only.
    assert.equal((await duty.del(`/api/v1/grids/442000105204001/staff/${s.json.worker_id}`)).status, 200);
    assert.equal((await c.get('/api/v1/auth/me')).status, 401, 'the session ended');
    const c2 = await signIn(server.base, acc.login, acc.password);
    assert.equal((await c2.get('/api/v1/auth/me')).json.scope, 'own');
    assert.equal((await c2.get('/api/v1/grids')).status, 403, 'no area of the map any more');
  });

  test('the grid of a linked worker is retired: its assignment ends and the scope follows (own), the sessions end', async () => {
    const code = '442000105205001';
    const acc = addUser(server, 'follow.retired', { roles: 'grid_worker', scope: 'grid:442000105' });
    const s = await duty.post('/api/v1/staff', { name: '撤格网格员', employment: 'full_time', account_id: acc.id });
    assert.equal(s.status, 201, s.text);
    assert.equal((await assign(duty, code, { worker_id: s.json.worker_id, role: 'worker' })).status, 200);
    const c = await signIn(server.base, acc.login, acc.password);
    assert.equal((await c.get('/api/v1/auth/me')).json.scope, `grid:${code}`);

    const r = await sys.del(`/api/v1/grids/${code}`);
    assert.equal(r.status, 200, r.text);
    const staff = await sys.get(`/api/v1/staff?grid=${code}`);
    assert.deepEqual(staff.json.staff, [], 'the assignments ended');
    assert.equal((await c.get('/api/v1/auth/me')).status, 401, 'the sessions of the linked account end with its assignment');
    const again = await signIn(server.base, acc.login, acc.password);
    assert.equal((await again.get('/api/v1/auth/me')).json.scope, 'own', 'no grid left: own, as when the assignment is ended directly');
  });

  test('an administrator\'s account cannot be linked to the staff roster (三权分立)', async () => {
    const me = (await sys.get('/api/v1/auth/me')).json;
    const r = await sys.post('/api/v1/staff', { name: '管理员网格员', employment: 'full_time', account_id: me.id });
    assert.ok(r.status >= 400 && r.status < 500, `linking the system administrator is refused: ${r.status} ${r.text}`);
    const roster = (await sys.get('/api/v1/staff')).json.staff;
    assert.ok(!roster.some((x) => x.account_id === me.id));
    assert.equal((await sys.get('/api/v1/auth/me')).json.scope, 'all');
  });

  test('the demo grid worker is on the staff of its grid, linked to its account', async () => {
    const me = (await worker.get('/api/v1/auth/me')).json;
    const linked = (await staffOf(G1)).find((x) => x.account_id === me.id);
    assert.ok(linked, 'demo.worker serves its grid');
    assert.equal(linked.role, 'worker');
  });
});

describe('GET /api/v1/staff', () => {
  test('?grid= lists the staff serving under the code with grid, role and since, phones masked', async () => {
    const r = await station.get(`/api/v1/staff?grid=${G1}`);
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.staff.length >= 3);
    for (const s of r.json.staff) {
      assert.equal(s.grid, G1);
      assert.ok(['worker', 'leader', 'guide'].includes(s.role));
      assert.match(s.since, /^\d{4}-\d\d-\d\dT/);
      if (s.phone !== null) assert.match(s.phone, /^1\d{2}\*{4}\d{4}$/);
      assert.doesNotMatch(s.name, CLEAR_PHONE);
      assert.doesNotMatch(String(s.phone), CLEAR_PHONE);
    }
    // The same people as the card.
    const fromCard = (await staffOf(G1)).map((s) => `${s.worker_id}/${s.role}`).sort();
    assert.deepEqual(r.json.staff.map((s) => `${s.worker_id}/${s.role}`).sort(), fromCard);
    const village = await station.get('/api/v1/staff?grid=442000105001');
    assert.ok(village.json.staff.length > r.json.staff.length);
    assert.ok(village.json.staff.every((s) => s.grid.startsWith('442000105001')));
    const mine = await station.get('/api/v1/staff');
    assert.equal(mine.json.staff.length, village.json.staff.length, 'by default the caller\'s scope');
  });

  test('a grid worker sees its grid\'s staff; ?grid= outside the scope is 403; a bad code 400; no grid.read 403', async () => {
    const r = await worker.get('/api/v1/staff');
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.staff.length > 0 && r.json.staff.every((s) => s.grid === G1));
    const out = await worker.get('/api/v1/staff?grid=442000105002001');
    assert.equal(out.status, 403, out.text);
    const wider = await worker.get('/api/v1/staff?grid=442000105');
    assert.equal(wider.status, 403, wider.text);
    const bad = await worker.get('/api/v1/staff?grid=x1');
    assert.equal(bad.status, 400, bad.text);
    const citizen = await signInAs(server, 'demo.citizen');
    assert.equal((await citizen.get('/api/v1/staff')).status, 403);
  });
});

describe('duty lists: GET and PUT /api/v1/grid-duties', () => {
  test('GET lists the territorial kind first, then the sector kinds, each with duties and admissible items', async () => {
    const r = await worker.get('/api/v1/grid-duties');
    assert.equal(r.status, 200, r.text);
    const kinds = r.json.kinds.map((k) => k.kind);
    assert.equal(kinds[0], 'territorial');
    assert.ok(kinds.includes('sector:school'), JSON.stringify(kinds));
    for (const k of r.json.kinds) {
      assert.ok(Array.isArray(k.duties) && Array.isArray(k.admissible));
      for (const item of [...k.duties, ...k.admissible]) assert.equal(typeof item.text, 'string');
    }
    assert.ok(r.json.kinds[0].duties.length >= 5);
  });

  test('PUT /territorial by the system administrator replaces both lists; GET and the grid card show them', async () => {
    const body = {
      duties: [{ text: '测试职责一', standard_ref: 'DB11/T 2157-2023' }, { text: '测试职责二' }],
      admissible: [{ text: '测试准入事项' }],
    };
    const r = await sys.put('/api/v1/grid-duties/territorial', body);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { kind: 'territorial', ...body });
    const got = (await worker.get('/api/v1/grid-duties')).json.kinds.find((k) => k.kind === 'territorial');
    assert.deepEqual(got.duties, body.duties);
    assert.deepEqual(got.admissible, body.admissible);
    const c = await card(G1, worker);
    assert.deepEqual(c.duties, body.duties);
    assert.deepEqual(c.admissible, body.admissible);
    // Other kinds are untouched.
    assert.ok((await worker.get('/api/v1/grid-duties')).json.kinds.find((k) => k.kind === 'sector:school').duties.length > 0);
    // Empty lists are allowed.
    const empty = await sys.put('/api/v1/grid-duties/territorial', { duties: [], admissible: [] });
    assert.equal(empty.status, 200, empty.text);
    assert.deepEqual((await card(G1)).duties, []);
  });

  test('a new sector kind\'s lists can be set too', async () => {
    const r = await sys.put('/api/v1/grid-duties/sector:government', { duties: [{ text: '机关单位安全检查' }], admissible: [] });
    assert.equal(r.status, 200, r.text);
    const got = (await sys.get('/api/v1/grid-duties')).json.kinds.find((k) => k.kind === 'sector:government');
    assert.deepEqual(got?.duties, [{ text: '机关单位安全检查' }]);
  });

  test('an unknown kind is 404', async () => {
    for (const kind of ['bogus', 'sector', 'sector:zoo', 'Territorial', 'territorial%20']) {
      const r = await sys.put(`/api/v1/grid-duties/${kind}`, { duties: [], admissible: [] });
      assert.equal(r.status, 404, `${kind}: ${r.text}`);
      assert.equal(r.json.error.code, 'not_found');
    }
  });

  test('wrong types and shapes are 400 and change nothing', async () => {
    const before = (await sys.get('/api/v1/grid-duties')).json;
    for (const [body, code] of [
      [{ duties: 'x', admissible: [] }, 'wrong_type'],
      [{ duties: [], admissible: {} }, 'wrong_type'],
      [{ duties: ['巡查'], admissible: [] }, 'wrong_type'],
      [{ duties: [{ text: 5 }], admissible: [] }, 'wrong_type'],
      [{ duties: [{ text: '' }], admissible: [] }, 'invalid_input'],
      [{ duties: [{ text: '长'.repeat(201) }], admissible: [] }, 'invalid_input'],
      [{ duties: [{ text: 'a', note: 'b' }], admissible: [] }, 'invalid_input'],
      [{ duties: [{ standard_ref: 'x' }], admissible: [] }, 'missing_field'],
      [{ duties: [], admissible: [], extra: 1 }, 'invalid_input'],
      [{ duties: [] }, 'missing_field'],
      [{ admissible: [] }, 'missing_field'],
      [{ duties: Array.from({ length: 101 }, (_, i) => ({ text: `第${i}项` })), admissible: [] }, 'invalid_input'],
    ]) {
      const r = await sys.put('/api/v1/grid-duties/territorial', body);
      assert.equal(r.status, 400, `${JSON.stringify(body).slice(0, 80)}: ${r.text}`);
      assert.equal(r.json.error.code, code, `${JSON.stringify(body).slice(0, 80)}: ${r.text}`);
    }
    assert.deepEqual((await sys.get('/api/v1/grid-duties')).json, before);
  });

  test('PUT needs grid.manage: the duty officer gets 403, no session 401; GET needs grid.read', async () => {
    const body = { duties: [], admissible: [] };
    assert.equal((await duty.put('/api/v1/grid-duties/territorial', body)).status, 403);
    assert.equal((await request(server.base, 'PUT', '/api/v1/grid-duties/territorial', { body })).status, 401);
    const citizen = await signInAs(server, 'demo.citizen');
    assert.equal((await citizen.get('/api/v1/grid-duties')).status, 403);
  });
});
