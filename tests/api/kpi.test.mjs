// kpi.test.mjs: the first KPIs (GET /api/v1/kpi) over a known history built
// through the API on the Zhongshan demo, compared with counts worked out by
// hand below: 上报, 立案, 应结案, 结案, 按期结案 and their rates, 返工,
// self-resolution and satisfaction; report-only records never count; scope;
// the roll-ups (China-day periods) agree with the scan of the events.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { addUser, makeTemplate, signIn, signInAs, startDemoServer, P_001001, P_207002 } from './grid/lib.mjs';

const DEPT = '环境卫生管理部门';
const ALL = 'from=2000-01-01&to=2100-01-01';
let template, server, worker, other, duty, handler, citizen;

const report = async (c, extra = {}) => {
  const r = await c.post('/api/v1/events', {
    source: 'patrol', category: '0102', title: '暴露垃圾', lon: P_001001[0], lat: P_001001[1], ...extra,
  });
  assert.equal(r.status, 201, r.text);
  return r.json.id;
};
const run = async (id, steps) => {
  for (const [c, action, extra] of steps) {
    const r = await c.post(`/api/v1/events/${id}/actions`, { action, ...(extra || {}) });
    assert.equal(r.status, 200, `${action}: ${r.text}`);
  }
};

before(async () => {
  template = makeTemplate();
  server = await startDemoServer(template);
  worker = await signInAs(server, 'demo.worker');
  duty = await signInAs(server, 'demo.duty');
  citizen = await signInAs(server, 'demo.citizen');
  const h = addUser(server, 'kpi.handler', { roles: 'dept_handler', scope: `department:${DEPT}` });
  handler = await signIn(server.base, h.login, h.password);
  const o = addUser(server, 'kpi.worker207', { roles: 'grid_worker', scope: 'grid:442000105207002' });
  other = await signIn(server.base, o.login, o.password);

  // e1: filed, dispatched, one failed check (返工), closed on time.
  const e1 = await report(worker);
  await run(e1, [[duty, 'accept'], [duty, 'file'], [duty, 'dispatch'], [handler, 'sign'], [handler, 'feedback'],
    [worker, 'check_fail'], [handler, 'feedback'], [worker, 'check_pass'], [duty, 'close']]);
  // e2: resolved on the spot (自行处置).
  await report(worker, { kind: 'self_resolved' });
  // e3: a report-only record (报备): never counted.
  await report(worker, { kind: 'report_only' });
  // e4: dispatched and still being handled: due in the period, not closed.
  const e4 = await report(worker);
  await run(e4, [[duty, 'accept'], [duty, 'file'], [duty, 'dispatch'], [handler, 'sign']]);
  // e5: a citizen's report, an unsatisfied visit (返工), then satisfied (4).
  const e5 = await report(citizen, { source: 'citizen' });
  await run(e5, [[duty, 'accept'], [duty, 'file'], [duty, 'dispatch'], [handler, 'sign'], [handler, 'feedback'],
    [worker, 'check_pass'], [duty, 'revisit', { satisfaction: 2 }], [handler, 'feedback'], [worker, 'check_pass'],
    [duty, 'revisit', { satisfaction: 4 }]]);
  // e6: reported in another grid, not acted on.
  await report(other, { lon: P_207002[0], lat: P_207002[1] });
  // e7: resolved by the grid worker from the queue (reported -> resolve).
  const e7 = await report(worker);
  await run(e7, [[worker, 'resolve']]);
});

after(async () => {
  await server?.stop();
  template?.remove();
});

test('town totals are what the history says', async () => {
  const r = await duty.get(`/api/v1/kpi?by=town&${ALL}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.rows.length, 1);
  const k = r.json.rows[0];
  assert.equal(k.key, '442000105');
  assert.equal(k.reported, 6, 'e1 e2 e4 e5 e6 e7 (not the report-only e3)');
  assert.equal(k.filed, 3, 'e1 e4 e5');
  assert.equal(k.due, 3, 'e1 e4 e5: dispatched, due in the period');
  assert.equal(k.closed, 2, 'e1 e5');
  assert.equal(k.closed_on_time, 2);
  assert.equal(k.closure_rate, 2 / 3);
  assert.equal(k.on_time_rate, 2 / 3);
  assert.equal(k.rework, 2, 'e1 check_fail, e5 unsatisfied visit');
  assert.equal(k.self_resolved, 2, 'e2 and e7: closed without a dispatch');
  assert.equal(k.self_resolution_rate, 2 / 6);
  assert.equal(k.revisits, 1);
  assert.equal(k.satisfaction, 4);
  assert.deepEqual(r.json.total.reported, 6);
});

test('by grid, by department, by worker', async () => {
  const g = await duty.get(`/api/v1/kpi?by=grid&${ALL}`);
  assert.deepEqual(g.json.rows.map((x) => [x.key, x.reported]), [['442000105001001', 5], ['442000105207002', 1]]);
  const d = await duty.get(`/api/v1/kpi?by=department&${ALL}`);
  assert.deepEqual(d.json.rows.map((x) => [x.key, x.filed]), [[DEPT, 3]]);
  const w = await duty.get(`/api/v1/kpi?by=worker&${ALL}`);
  const byId = Object.fromEntries(w.json.rows.map((x) => [x.key, x.reported]));
  assert.equal(byId[String(worker.account.id)], 4, 'e1 e2 e4 e7');
  assert.equal(byId[String(citizen.account.id)], 1);

  // names to read the rows by: a grid's, a town's, a grid worker's; a citizen stays a number
  assert.ok(g.json.rows.every((x) => typeof x.name === 'string' && x.name.length > 0), JSON.stringify(g.json.rows));
  const town = await duty.get(`/api/v1/kpi?by=town&${ALL}`);
  assert.equal(town.json.rows[0].name, '古镇镇');
  const names = Object.fromEntries(w.json.rows.map((x) => [x.key, x.name]));
  assert.equal(typeof names[String(worker.account.id)], 'string', 'demo.worker is on the staff of a grid');
  assert.equal(names[String(citizen.account.id)], null, 'citizens are not named to the statistics');
  assert.equal(d.json.rows[0].name, null, 'a department is its key');
  assert.equal('name' in (await duty.get(`/api/v1/kpi?by=town&${ALL}`)).json.total, false);
});

test('a period before everything counts nothing; scope and bad input', async () => {
  const r = await duty.get('/api/v1/kpi?by=town&from=2001-01-01&to=2002-01-01');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.rows, [], 'groups with nothing in the period are left out');
  assert.equal(r.json.total.reported, 0);
  assert.equal(r.json.total.closure_rate, null, 'no 应结案: no rate, not 0 %');
  const leader = addUser(server, 'kpi.leader', { roles: 'grid_leader', scope: 'grid:442000105207002' });
  const l = await signIn(server.base, leader.login, leader.password);
  const mine = await l.get(`/api/v1/kpi?by=grid&${ALL}`);
  assert.deepEqual(mine.json.rows.map((x) => x.key), ['442000105207002']);
  assert.equal((await l.get(`/api/v1/kpi?by=grid&${ALL}&within=442000105001`)).status, 403);
  assert.equal((await duty.get(`/api/v1/kpi?by=planet&${ALL}`)).status, 400);
  assert.equal((await duty.get('/api/v1/kpi?by=town&from=2026-13-01&to=2027-01-01')).status, 400);
  assert.equal((await duty.get('/api/v1/kpi?by=town&from=2027-01-01&to=2026-01-01')).status, 400);
  assert.equal((await duty.get('/api/v1/kpi?by=town')).status, 400);
  assert.equal((await worker.get(`/api/v1/kpi?${ALL}`)).status, 403, 'grid workers do not read statistics');
});

test('dates are China days; China midnights read the roll-ups, other periods the events', async () => {
  const d = await duty.get('/api/v1/kpi?by=town&from=2026-03-01&to=2026-04-01');
  assert.equal(d.status, 200, d.text);
  assert.equal(d.json.from, '2026-02-28T16:00:00.000Z', 'a date starts at 00:00 in China (UTC+8)');
  assert.equal(d.json.to, '2026-03-31T16:00:00.000Z');
  assert.equal(d.json.source, 'rollup');
  const off = await duty.get('/api/v1/kpi?by=town&from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z');
  assert.equal(off.json.source, 'scan', 'UTC midnight is 08:00 in China: not a roll-up boundary');
  for (const by of ['grid', 'village', 'town', 'department', 'worker']) {
    const a = await duty.get(`/api/v1/kpi?by=${by}&${ALL}`);
    const b = await duty.get(`/api/v1/kpi?by=${by}&from=1999-12-31T16:00:00.001Z&to=2100-01-01T00:00:00Z`);
    assert.equal(a.json.source, 'rollup');
    assert.equal(b.json.source, 'scan');
    assert.deepEqual(a.json.rows, b.json.rows, `by ${by}: the roll-ups count what the events say`);
  }
});

test('the dashboard: today, this month, open events by state, warnings', async () => {
  const r = await duty.get('/api/v1/dashboard');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.today.reported, 6, 'everything above was reported today');
  assert.equal(r.json.month.reported, 6);
  assert.equal(r.json.today.closed, 2);
  assert.deepEqual(r.json.open, { handling: 1, reported: 1 }, 'e4 being handled, e6 just reported');
  assert.deepEqual(r.json.warnings, { red: 0, yellow: 0 });
  assert.equal(r.json.month.from.slice(11), '16:00:00.000Z', 'the China month, from its first day');
  const w = await other.get('/api/v1/dashboard');
  assert.equal(w.status, 403, 'grid workers do not read statistics');
});

test('rankings: rows sorted by any figure, then paged; totals and group counts cover them all', async () => {
  const all = await duty.get(`/api/v1/kpi?by=worker&${ALL}`);
  assert.equal(all.json.order, 'key');
  assert.equal(all.json.limit, null, 'no limit asked: every group');
  assert.equal(all.json.groups, all.json.rows.length);
  const keys = all.json.rows.map((x) => x.key);
  assert.deepEqual(keys, [...keys].sort(), 'by key unless asked otherwise');

  const top = await duty.get(`/api/v1/kpi?by=worker&${ALL}&order=-reported`);
  assert.equal(top.status, 200, top.text);
  assert.equal(top.json.rows[0].key, String(worker.account.id), 'the busiest reporter first');
  const reported = top.json.rows.map((x) => x.reported);
  assert.deepEqual(reported, [...reported].sort((a, b) => b - a));
  for (let i = 1; i < top.json.rows.length; i++) {
    const [a, b] = [top.json.rows[i - 1], top.json.rows[i]];
    if (a.reported === b.reported) assert.ok(a.key < b.key, 'ties by key');
  }
  const up = await duty.get(`/api/v1/kpi?by=worker&${ALL}&order=reported`);
  assert.equal(up.json.rows.at(-1).key, String(worker.account.id), 'ascending: the busiest last');

  // a rate without a denominator (no 应结案) has no value and comes last both ways
  for (const order of ['closure_rate', '-closure_rate']) {
    const r = await duty.get(`/api/v1/kpi?by=worker&${ALL}&order=${order}`);
    const rates = r.json.rows.map((x) => x.closure_rate);
    const firstNull = rates.indexOf(null);
    assert.ok(firstNull === -1 || rates.slice(firstNull).every((x) => x === null), `${order}: nulls last`);
  }

  // pages of the ranking: the same rows, a page at a time; totals and groups are the whole
  const page1 = await duty.get(`/api/v1/kpi?by=worker&${ALL}&order=-reported&limit=1`);
  const page2 = await duty.get(`/api/v1/kpi?by=worker&${ALL}&order=-reported&limit=1&offset=1`);
  assert.equal(page1.json.limit, 1);
  assert.equal(page2.json.offset, 1);
  assert.deepEqual([...page1.json.rows, ...page2.json.rows], top.json.rows.slice(0, 2));
  assert.equal(page1.json.groups, top.json.rows.length);
  assert.deepEqual(page1.json.total, top.json.total);
  const past = await duty.get(`/api/v1/kpi?by=worker&${ALL}&limit=5&offset=1000`);
  assert.deepEqual(past.json.rows, [], 'a page past the end is empty, not an error');
  const byKey = await duty.get(`/api/v1/kpi?by=grid&${ALL}&order=-key`);
  assert.deepEqual(byKey.json.rows.map((x) => x.key), ['442000105207002', '442000105001001']);

  for (const [q, field] of [['order=planet', 'order'], ['order=-', 'order'], ['limit=0', 'limit'],
    ['limit=abc', 'limit'], ['limit=100001', 'limit'], ['offset=-1', 'offset'], ['offset=1.5', 'offset']]) {
    const r = await duty.get(`/api/v1/kpi?by=worker&${ALL}&${q}`);
    assert.equal(r.status, 400, `${q}: ${r.text}`);
    assert.equal(r.json.error.field, field, q);
  }
});
