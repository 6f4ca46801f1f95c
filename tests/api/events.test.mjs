// events.test.mjs: the event workflow over HTTP on the Zhongshan demo: a
// worker's report through acceptance, dispatch, handling, a failed check
// (rework), closure; a citizen's report through a return visit; refusals
// that name the allowed actions; concurrent dispatchers (exactly one wins);
// scope by grid, department and reporter; and bad input.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { addUser, makeTemplate, signIn, signInAs, startDemoServer, P_001001, P_207002, P_OUTSIDE } from './grid/lib.mjs';

const DEPT = '环境卫生管理部门'; // the catalogue's department of 0102 暴露垃圾
const report = (c, extra = {}) =>
  c.post('/api/v1/events', {
    source: 'patrol',
    category: '0102',
    title: '路边暴露垃圾',
    lon: P_001001[0],
    lat: P_001001[1],
    ...extra,
  });
const act = (c, id, body) => c.post(`/api/v1/events/${id}/actions`, body);

let template, server, worker, duty, handler, water, citizen, otherWorker;

before(async () => {
  template = makeTemplate();
  server = await startDemoServer(template);
  worker = await signInAs(server, 'demo.worker');
  duty = await signInAs(server, 'demo.duty');
  const h = addUser(server, 'test.sanitation', { roles: 'dept_handler', scope: `department:${DEPT}` });
  handler = await signIn(server.base, h.login, h.password);
  const w = addUser(server, 'test.water', { roles: 'dept_handler', scope: 'department:水务部门' });
  water = await signIn(server.base, w.login, w.password);
  const o = addUser(server, 'test.worker207', { roles: 'grid_worker', scope: 'grid:442000105207002' });
  otherWorker = await signIn(server.base, o.login, o.password);
  citizen = await signInAs(server, 'demo.citizen');
});

after(async () => {
  await server?.stop();
  template?.remove();
});

async function step(c, id, action, state, extra = {}) {
  const r = await act(c, id, { action, ...extra });
  assert.equal(r.status, 200, `${action}: ${r.text}`);
  assert.equal(r.json.state, state, action);
  return r.json;
}

describe('a worker\'s report from patrol to closure', () => {
  test('each step moves the state, the log keeps every one', async () => {
    const r = await report(worker);
    assert.equal(r.status, 201, r.text);
    const ev = r.json;
    assert.equal(ev.grid, '442000105001001');
    assert.equal(ev.state, 'reported');
    assert.equal(ev.department, DEPT);
    assert.match(ev.deadline_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    await step(duty, ev.id, 'accept', 'accepted');
    await step(duty, ev.id, 'file', 'filed');
    const d = await step(duty, ev.id, 'dispatch', 'dispatched');
    assert.ok(d.due_at, 'dispatch sets the handling due time');
    await step(handler, ev.id, 'sign', 'handling');
    await step(handler, ev.id, 'feedback', 'handled', { note: '已清理' });
    await step(worker, ev.id, 'check_fail', 'handling', { note: '仍有残留' });
    await step(handler, ev.id, 'feedback', 'handled');
    await step(worker, ev.id, 'check_pass', 'checked');
    const closed = await step(duty, ev.id, 'close', 'closed');
    assert.equal(closed.closure_type, 'normal');
    assert.equal(closed.rework_count, 1);
    const g = await duty.get(`/api/v1/events/${ev.id}`);
    assert.equal(g.status, 200);
    assert.deepEqual(
      g.json.log.map((l) => l.action),
      ['report', 'accept', 'file', 'dispatch', 'sign', 'feedback', 'check_fail', 'feedback', 'check_pass', 'close'],
    );
    assert.equal(g.json.log[6].note, '仍有残留');
    assert.equal(g.json.log[3].actor, 'demo.duty');
    assert.deepEqual(g.json.actions, []);
  });

  test('self-resolved and report-only events', async () => {
    const s = await report(worker, { kind: 'self_resolved', note: '当场劝导清理' });
    assert.equal(s.status, 201, s.text);
    assert.equal(s.json.state, 'closed');
    const r = await report(worker, { kind: 'report_only' });
    assert.equal(r.json.state, 'recorded');
    const c = await report(citizen, { source: 'citizen', kind: 'self_resolved' });
    assert.equal(c.status, 403, 'a citizen does not resolve on the spot');
  });
});

describe('a citizen\'s report through the return visit', () => {
  test('close needs a visit; an unsatisfied visit sends it back', async () => {
    const r = await report(citizen, { source: 'citizen' });
    assert.equal(r.status, 201, r.text);
    const id = r.json.id;
    await step(duty, id, 'accept', 'accepted');
    await step(duty, id, 'file', 'filed');
    await step(duty, id, 'dispatch', 'dispatched');
    await step(handler, id, 'sign', 'handling');
    await step(handler, id, 'feedback', 'handled');
    await step(worker, id, 'check_pass', 'checked');
    const c = await act(duty, id, { action: 'close' });
    assert.equal(c.status, 409);
    assert.equal(c.json.error.code, 'invalid_transition');
    assert.match(c.json.error.message, /revisit/);
    const bad = await act(duty, id, { action: 'revisit', satisfaction: 9 });
    assert.equal(bad.status, 400);
    await step(duty, id, 'revisit', 'handling', { satisfaction: 2 });
    await step(handler, id, 'feedback', 'handled');
    await step(worker, id, 'check_pass', 'checked');
    const done = await step(duty, id, 'revisit', 'closed', { satisfaction: 5 });
    assert.equal(done.satisfaction, 5);
    const mine = await citizen.get(`/api/v1/events/${id}`);
    assert.equal(mine.status, 200, 'the reporter follows its own event');
    const list = await citizen.get('/api/v1/events');
    assert.ok(list.json.events.every((e) => e.reporter_id === citizen.account.id));
  });
});

describe('refusals and conflicts', () => {
  test('a wrong state or role names the allowed actions', async () => {
    const { json: ev } = await report(worker);
    const r = await act(duty, ev.id, { action: 'dispatch' });
    assert.equal(r.status, 409);
    assert.equal(r.json.error.code, 'invalid_transition');
    assert.match(r.json.error.message, /"accept"/);
    const w = await act(worker, ev.id, { action: 'accept' });
    assert.equal(w.status, 409, 'a grid worker does not accept');
    const u = await act(duty, ev.id, { action: 'teleport' });
    assert.equal(u.status, 400);
    assert.equal(u.json.error.field, 'action');
    const stale = await act(duty, ev.id, { action: 'accept', expected_state: 'filed' });
    assert.equal(stale.status, 409);
    assert.equal(stale.json.error.code, 'conflict');
  });

  test('two dispatchers at once: exactly one wins', async () => {
    const dispatcher = await signInAs(server, 'demo.dispatcher');
    for (let round = 0; round < 3; round++) {
      const { json: ev } = await report(worker);
      await step(duty, ev.id, 'accept', 'accepted');
      await step(duty, ev.id, 'file', 'filed');
      const tries = await Promise.all(
        [duty, dispatcher, duty, dispatcher].map((c) => act(c, ev.id, { action: 'dispatch', expected_state: 'filed' })),
      );
      assert.equal(tries.filter((t) => t.status === 200).length, 1, tries.map((t) => t.text).join('\n'));
      for (const t of tries.filter((x) => x.status !== 200)) {
        assert.equal(t.status, 409);
        assert.match(t.json.error.message, /dispatched/);
      }
      const g = await duty.get(`/api/v1/events/${ev.id}`);
      assert.equal(g.json.log.length, 4, 'one dispatch in the log');
    }
  });
});

describe('scope', () => {
  test('by grid, department and reporter', async () => {
    const { json: ev } = await report(otherWorker, { lon: P_207002[0], lat: P_207002[1] });
    assert.equal(ev.grid, '442000105207002');
    assert.equal((await worker.get(`/api/v1/events/${ev.id}`)).status, 404);
    assert.equal((await water.get(`/api/v1/events/${ev.id}`)).status, 404);
    assert.equal((await handler.get(`/api/v1/events/${ev.id}`)).status, 200);
    assert.equal((await act(worker, ev.id, { action: 'resolve' })).status, 404);
    const mine = await worker.get('/api/v1/events?limit=500');
    assert.ok(mine.json.events.length > 0);
    assert.ok(mine.json.events.every((e) => e.grid === '442000105001001'));
    const out = await report(worker, { lon: P_207002[0], lat: P_207002[1] });
    assert.equal(out.status, 403, 'a worker reports inside its own grid');
    assert.match(out.json.error.message, /442000105207002/);
  });
});

describe('bad input', () => {
  const cases = [
    ['outside every grid', { lon: P_OUTSIDE[0], lat: P_OUTSIDE[1] }, 422, 'outside_grids'],
    ['unknown category', { category: '9999' }, 400, 'invalid_input'],
    ['an inactive catalogue (GB/T 47678.5 matters)', { category_kind: 'matter', category: '06010' }, 400, 'invalid_input'],
    ['missing title', { title: undefined }, 400, 'missing_field'],
    ['lon as text', { lon: '113.16' }, 400, 'wrong_type'],
    ['lat out of range', { lat: 95 }, 400, 'invalid_input'],
    ['unknown source', { source: 'pigeon' }, 400, 'invalid_input'],
    ['unknown kind', { kind: 'rumour' }, 400, 'invalid_input'],
    ['unknown field', { colour: 'red' }, 400, 'invalid_input'],
    ['a title of 81 characters', { title: '垃'.repeat(81) }, 400, 'invalid_input'],
  ];
  for (const [name, extra, status, code] of cases) {
    test(name, async () => {
      const body = { source: 'patrol', category: '0102', title: '路边暴露垃圾', lon: P_001001[0], lat: P_001001[1], ...extra };
      for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
      const r = await worker.post('/api/v1/events', body);
      assert.equal(r.status, status, r.text);
      assert.equal(r.json.error.code, code);
    });
  }

  test('a retry with the same Idempotency-Key answers the first event (200, replayed) instead of making another', async () => {
    const body = { source: 'patrol', category: '0102', title: '重发的上报', lon: P_001001[0], lat: P_001001[1] };
    const key = `outbox-${Date.now()}`;
    const first = await worker.post('/api/v1/events', body, { headers: { 'idempotency-key': key } });
    assert.equal(first.status, 201, first.text);
    assert.equal(first.json.replayed, undefined);
    // The answer was lost: the phone sends the same report again, and again at once twice.
    const again = await Promise.all([1, 2, 3].map(() => worker.post('/api/v1/events', body, { headers: { 'idempotency-key': key } })));
    for (const r of again) {
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.id, first.json.id);
      assert.equal(r.json.replayed, true);
      assert.equal(r.json.log.length, 1, 'one report in the log');
    }
    // Keys belong to their reporter: another account's same key is another report.
    const other = await citizen.post('/api/v1/events', { ...body, source: 'citizen' }, { headers: { 'idempotency-key': key } });
    assert.equal(other.status, 201, other.text);
    assert.notEqual(other.json.id, first.json.id);
    // Without a key, the same body is a new report (offered as a near-duplicate).
    const plain = await worker.post('/api/v1/events', body);
    assert.equal(plain.status, 201);
    assert.ok(plain.json.duplicates.some((d) => d.id === first.json.id));
    for (const bad of ['', 'x'.repeat(65), 'has space', 'a/b', 'ke%y']) {
      const r = await worker.post('/api/v1/events', body, { headers: { 'idempotency-key': bad } });
      assert.equal(r.status, 400, `${JSON.stringify(bad)}: ${r.text}`);
      assert.equal(r.json.error.field, 'Idempotency-Key');
    }
  });

  test('unknown events and bad queries', async () => {
    assert.equal((await duty.get('/api/v1/events/999999')).status, 404);
    assert.equal((await duty.get('/api/v1/events/abc')).status, 404);
    assert.equal((await act(duty, 999999, { action: 'accept' })).status, 404);
    assert.equal((await duty.get('/api/v1/events?limit=0')).status, 400);
    assert.equal((await duty.get('/api/v1/events/99999999999999999999')).status, 404);
    for (const q of ['limit=4294967346', 'limit=', 'before=99999999999999999999', 'before=0']) {
      const r = await duty.get(`/api/v1/events?${q}`);
      assert.equal(r.status, 400, `${q}: ${r.text}`);
      assert.equal(r.json.error.field, q.split('=')[0], `${q}: ${r.text}`);
    }
    assert.equal((await duty.get('/api/v1/notices?after=-1')).json.error.field, 'after');
    assert.equal((await duty.get('/api/v1/events?warning=green')).status, 400);
    assert.equal((await duty.get('/api/v1/events?grid=44x')).status, 400);
    assert.equal((await worker.get('/api/v1/events?grid=442000105207')).status, 403);
    const wf = await duty.get('/api/v1/events/workflow');
    assert.equal(wf.status, 200);
    assert.ok(wf.json.transitions.some((t) => t.from === 'filed' && t.action === 'dispatch' && t.to === 'dispatched'));
  });
});
