// catalogue.test.mjs: the event catalogue (docs/CATALOGUE.md) over HTTP and from
// the CLI: the default classes loaded at first start, the tree and its filters,
// references kind:code, who may read and change, every check of a change with
// its JSON error, the audit record, edits kept across restarts, a stale version
// refused, and CSV export/import with `civgrid catalogue`.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  auditSearch, cli, demoAccounts, request, signIn, signInAdmin, sql, startAuthServer,
} from './auth/lib.mjs';
import { startServer } from './lib/server.mjs';
import { CLI_ENV, FAST_SET } from './auth/lib.mjs';

let server;
let demo;
let worker;
let sys;
let auditor;

const ACTIVE_MINORS = 472 - 250; // GB/T 47678.5 matters are loaded inactive

before(async () => {
  server = await startAuthServer();
  demo = demoAccounts(server);
  worker = await signIn(server.base, demo['demo.worker'].login, demo['demo.worker'].password);
  sys = await signInAdmin(server.base, demo['demo.sysadmin']);
  auditor = await signInAdmin(server.base, demo['demo.auditadmin']);
});
after(async () => {
  await server?.stop();
});

/** The sub-classes of a tree reply, flattened. */
const minorsOf = (tree) => tree.kinds.flatMap((k) => k.majors.flatMap((m) => m.minors));

/** Asserts a JSON error reply: status, stable code and (when given) the field named. */
function assertError(r, status, code, field) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.json.error.code, code, r.text);
  if (field !== undefined) assert.equal(r.json.error.field, field, r.text);
  assert.ok(r.json.error.message.length > 0);
}

describe('the default catalogue', () => {
  test('is there at first start: 34 classes, 472 sub-classes, the unverified ones inactive', async () => {
    const r = await worker.get('/api/v1/event-categories');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.count.minors, ACTIVE_MINORS);
    assert.deepEqual(r.json.kinds.map((k) => k.kind), ['event', 'component', 'social', 'hotline']);
    const all = await worker.get('/api/v1/event-categories?active=all');
    assert.equal(all.json.count.minors, 472);
    assert.equal(all.json.count.majors, 34);
    assert.deepEqual(all.json.kinds.map((k) => k.kind), ['event', 'component', 'matter', 'social', 'hotline']);
    const off = await worker.get('/api/v1/event-categories?active=false');
    assert.equal(off.json.count.minors, 250);
    assert.ok(minorsOf(off.json).every((m) => m.standard_ref === 'GB/T 47678.5-2026 [U]' && m.confidence === 'U'));
    // One seed record for the first start.
    assert.equal(sql(server.dbPath, "SELECT COUNT(*) FROM audit_log WHERE action = 'catalogue.seed'")[0], '1');
  });

  test('the social-governance classes of the issue, each sub-class complete', async () => {
    const r = await worker.get('/api/v1/event-categories?kind=social');
    assert.equal(r.status, 200);
    const names = r.json.kinds[0].majors.map((m) => m.name);
    for (const n of ['矛盾纠纷', '治安隐患', '安全生产', '消防隐患', '食品药品', '特殊人群', '民生服务', '环境保护']) {
      assert.ok(names.includes(n), `${n} in ${names}`);
    }
    const units = new Set(['work_hour', 'work_day', 'natural_hour']);
    for (const m of minorsOf(r.json)) {
      assert.equal(m.ref, `social:${m.code}`);
      assert.ok(m.department && m.urgency && m.standard_ref === 'civgrid default', JSON.stringify(m));
      assert.deepEqual(Object.keys(m.time_limits), ['accept', 'dispatch', 'handle', 'check']);
      for (const l of Object.values(m.time_limits)) {
        if (l !== null) assert.ok(l.value > 0 && units.has(l.unit), JSON.stringify(m));
      }
      assert.ok(m.code.startsWith(m.major.code));
    }
  });

  test('every role reads it; anonymous callers are 401', async () => {
    for (const acc of Object.values(demo)) {
      const c = acc.role.endsWith('_admin')
        ? { sys_admin: sys, audit_admin: auditor }[acc.role] ?? await signInAdmin(server.base, acc)
        : await signIn(server.base, acc.login, acc.password);
      const r = await c.get('/api/v1/event-categories?kind=hotline');
      assert.equal(r.status, 200, `${acc.login}: ${r.text}`);
      assert.equal(r.json.count.minors, 7);
    }
    assertError(await request(server.base, 'GET', '/api/v1/event-categories'), 401, 'unauthenticated');
    assertError(await request(server.base, 'GET', '/api/v1/event-categories/event:0101'), 401, 'unauthenticated');
  });
});

describe('reading', () => {
  test('filters: kind, major, q, urgency, department, standard', async () => {
    const count = async (qs) => {
      const r = await worker.get(`/api/v1/event-categories?${qs}`);
      assert.equal(r.status, 200, `${qs}: ${r.text}`);
      return r.json.count.minors;
    };
    assert.equal(await count('kind=event'), 55);
    assert.equal(await count('kind=event&major=04'), 10);
    assert.equal(await count('kind=event&major=04&urgency=emergency'), 5);
    assert.equal(await count(`kind=social&q=${encodeURIComponent('矛盾纠纷')}`), 16); // a class's name
    assert.ok((await count(`q=${encodeURIComponent('垃圾')}`)) >= 3);
    assert.equal(await count('standard=47678&active=all'), 250);
    assert.ok((await count(`department=${encodeURIComponent('消防救援')}`)) >= 8);
    assert.equal(await count(`q=${encodeURIComponent('没有这样的类别')}`), 0);
  });

  test('bad filters are 400 naming the parameter', async () => {
    assertError(await worker.get('/api/v1/event-categories?kind=incident'), 400, 'invalid_input', 'kind');
    assertError(await worker.get('/api/v1/event-categories?urgency=soon'), 400, 'invalid_input', 'urgency');
    assertError(await worker.get('/api/v1/event-categories?active=maybe'), 400, 'invalid_input', 'active');
    assertError(await worker.get('/api/v1/event-categories?major=0-1'), 400, 'invalid_input', 'major');
    assertError(await worker.get(`/api/v1/event-categories?q=${'长'.repeat(65)}`), 400, 'invalid_input', 'q');
  });

  test('one sub-class by kind:code, with its limits, conditions and sources', async () => {
    const r = await worker.get('/api/v1/event-categories/event:0101');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.name, '私搭乱建');
    assert.equal(r.json.level, 'minor');
    assert.deepEqual(r.json.major, { code: '01', name: '市容环境' });
    assert.deepEqual(r.json.time_limits.handle, { value: 7, unit: 'work_day' });
    assert.deepEqual(r.json.time_limits.accept, { value: 0.5, unit: 'work_hour' });
    assert.ok(r.json.filing_condition.length > 0);
    assert.equal(r.json.standard_ref, 'CJ/T 214-2007 / GB/T 30428.2-2013');
    assert.match(r.json.limits_ref, /renrendoc/);
    assert.equal(r.json.version, 1);
  });

  test('a class lists its sub-classes; the same code in two kinds needs the kind', async () => {
    const cls = await worker.get('/api/v1/event-categories/matter:06');
    assert.equal(cls.status, 200);
    assert.equal(cls.json.level, 'major');
    assert.equal(cls.json.minors.length, 51);
    // 0101 is an event (私搭乱建) and a component (上水井盖).
    assertError(await worker.get('/api/v1/event-categories/0101'), 400, 'invalid_input', 'kind');
    const comp = await worker.get('/api/v1/event-categories/0101?kind=component');
    assert.equal(comp.status, 200);
    assert.equal(comp.json.name, '上水井盖');
    const only = await worker.get('/api/v1/event-categories/0199'); // only the events have it
    assert.equal(only.status, 200);
    assert.equal(only.json.ref, 'event:0199');
    assertError(await worker.get('/api/v1/event-categories/event:0999'), 404, 'not_found', 'code');
    assertError(await worker.get('/api/v1/event-categories/bogus:01'), 404, 'not_found', 'code');
    assertError(await worker.get('/api/v1/event-categories/9999'), 404, 'not_found', 'code');
    assertError(await worker.get('/api/v1/event-categories/event:01?kind=social'), 400, 'invalid_input', 'kind');
  });
});

describe('changing', () => {
  test('only the system administrator may change the catalogue', async () => {
    const body = { department: '别的部门' };
    assertError(await worker.put('/api/v1/event-categories/event:0102', body), 403, 'forbidden');
    const duty = await signIn(server.base, demo['demo.duty'].login, demo['demo.duty'].password);
    assertError(await duty.put('/api/v1/event-categories/event:0102', body), 403, 'forbidden');
    assertError(await request(server.base, 'PUT', '/api/v1/event-categories/event:0102', { body }), 401, 'unauthenticated');
    assert.equal((await worker.get('/api/v1/event-categories/event:0102')).json.department, '环境卫生管理部门');
  });

  test('every bad input is a JSON error naming the field, and changes nothing', async () => {
    const cases = [
      [{ colour: 'red' }, 400, 'invalid_input', 'colour'],
      [{ name: 5 }, 400, 'wrong_type', 'name'],
      [{ name: '' }, 400, 'invalid_input', 'name'],
      [{ urgency: 'soon' }, 400, 'invalid_input', 'urgency'],
      [{ department: null }, 400, 'invalid_input', 'department'],
      [{ time_limits: [] }, 400, 'wrong_type', 'time_limits'],
      [{ time_limits: { later: null } }, 400, 'invalid_input', 'time_limits.later'],
      [{ time_limits: { handle: '4 work_hour' } }, 400, 'wrong_type', 'time_limits.handle'],
      [{ time_limits: { handle: { value: -2, unit: 'work_hour' } } }, 400, 'invalid_input', 'time_limits.handle.value'],
      [{ time_limits: { handle: { value: 0, unit: 'work_hour' } } }, 400, 'invalid_input', 'time_limits.handle.value'],
      [{ time_limits: { handle: { value: 1.1, unit: 'work_hour' } } }, 400, 'invalid_input', 'time_limits.handle.value'],
      [{ time_limits: { handle: { value: '4', unit: 'work_hour' } } }, 400, 'wrong_type', 'time_limits.handle.value'],
      [{ time_limits: { handle: { value: 4, unit: 'hours' } } }, 400, 'invalid_input', 'time_limits.handle.unit'],
      [{ time_limits: { handle: { value: 4 } } }, 400, 'missing_field', 'time_limits.handle.unit'],
      [{ time_limits: { handle: { unit: 'work_day' } } }, 400, 'missing_field', 'time_limits.handle.value'],
      [{ time_limits: { handle: { value: 4, unit: 'work_day', by: 'me' } } }, 400, 'invalid_input', 'time_limits.handle.by'],
      [{ active: 1 }, 400, 'wrong_type', 'active'],
      [{ version: 'one', name: 'x' }, 400, 'wrong_type', 'version'],
      [{}, 400, 'invalid_input'],
    ];
    for (const [body, status, code, field] of cases) {
      const r = await sys.put('/api/v1/event-categories/event:0102', body);
      assertError(r, status, code, field);
    }
    assertError(await sys.put('/api/v1/event-categories/event:01', { department: 'x' }), 400, 'invalid_input', 'department');
    assertError(await sys.put('/api/v1/event-categories/event:0999', { name: 'x' }), 404, 'not_found', 'code');
    const raw = await sys.put('/api/v1/event-categories/event:0102', '{"name": ', {});
    assertError(raw, 400, 'malformed_json');
    const wrongType = await sys.put('/api/v1/event-categories/event:0102', 'name=x', { headers: { 'content-type': 'text/plain' } });
    assert.equal(wrongType.status, 415);
    const after = await worker.get('/api/v1/event-categories/event:0102');
    assert.equal(after.json.version, 1);
    assert.equal(after.json.department, '环境卫生管理部门');
  });

  test('a change is applied, shown, versioned and audited', async () => {
    const r = await sys.put('/api/v1/event-categories/event:0102', {
      version: 1,
      department: '古镇镇环卫站',
      urgency: 'urgent',
      time_limits: { handle: { value: 2, unit: 'work_hour' }, check: null },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.department, '古镇镇环卫站');
    assert.equal(r.json.urgency, 'urgent');
    assert.deepEqual(r.json.time_limits.handle, { value: 2, unit: 'work_hour' });
    assert.equal(r.json.time_limits.check, null);
    assert.deepEqual(r.json.time_limits.accept, { value: 0.5, unit: 'work_hour' }); // not named: kept
    assert.equal(r.json.limits_ref, 'local setting');
    assert.equal(r.json.version, 2);
    const seen = await worker.get('/api/v1/event-categories/event:0102');
    assert.deepEqual(seen.json, r.json);

    const recs = await auditSearch(auditor, { action: 'catalogue.update', object_id: 'event:0102' });
    assert.equal(recs.length, 1);
    assert.equal(recs[0].actor_login, 'demo.sysadmin');
    assert.equal(recs[0].object_type, 'event_category');
    assert.match(recs[0].detail, /department: '环境卫生管理部门' -> '古镇镇环卫站'/);
    assert.match(recs[0].detail, /handle: 4 work_hour -> 2 work_hour/);
    assert.match(recs[0].detail, /check: 0.5 work_hour -> none/);

    // The same values again: nothing changes, nothing is recorded.
    const same = await sys.put('/api/v1/event-categories/event:0102', { department: '古镇镇环卫站' });
    assert.equal(same.status, 200);
    assert.equal(same.json.version, 2);
    assert.equal((await auditSearch(auditor, { action: 'catalogue.update', object_id: 'event:0102' })).length, 1);
  });

  test('a stale version is a conflict; of two concurrent changes exactly one wins', async () => {
    assertError(await sys.put('/api/v1/event-categories/event:0102', { version: 1, name: '暴露垃圾' }), 409, 'conflict', 'version');
    const before = (await worker.get('/api/v1/event-categories/social:01001')).json.version;
    const [a, b] = await Promise.all([
      sys.put('/api/v1/event-categories/social:01001', { version: before, department: '甲' }),
      sys.put('/api/v1/event-categories/social:01001', { version: before, department: '乙' }),
    ]);
    assert.deepEqual([a.status, b.status].sort(), [200, 409], `${a.text} ${b.text}`);
    const now = (await worker.get('/api/v1/event-categories/social:01001')).json;
    assert.equal(now.version, before + 1);
    assert.equal(now.department, a.status === 200 ? '甲' : '乙');
  });

  test('turning a class on turns on its sub-classes', async () => {
    const on = await sys.put('/api/v1/event-categories/matter:06', { active: true });
    assert.equal(on.status, 200, on.text);
    assert.ok(on.json.minors.every((m) => m.active));
    const tree = await worker.get('/api/v1/event-categories?kind=matter');
    assert.equal(tree.json.count.minors, 51);
    const off = await sys.put('/api/v1/event-categories/matter:06', { active: false });
    assert.equal(off.status, 200);
    assert.equal((await worker.get('/api/v1/event-categories?kind=matter')).json.count.minors, 0);
  });
});

describe('CSV and restarts', () => {
  test('export, edit a line, import: one row updated, shown at once', async () => {
    const file = path.join(server.dir, 'catalogue.csv');
    const ex = cli(server, ['catalogue', 'export', file]);
    assert.equal(ex.status, 0, ex.stderr);
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    const i = lines.findIndex((l) => l.startsWith('hotline,01,12345 诉求,01003,投诉,'));
    assert.ok(i > 0);
    lines[i] = lines[i].replace(',15 work_day,', ',10 work_day,');
    fs.writeFileSync(file, lines.join('\n'));
    const im = cli(server, ['catalogue', 'import', file]);
    assert.equal(im.status, 0, im.stderr);
    assert.match(im.stdout, /472 sub-classes; 0 rows added, 1 updated, 505 unchanged/);
    const r = await worker.get('/api/v1/event-categories/hotline:01003');
    assert.deepEqual(r.json.time_limits.handle, { value: 10, unit: 'work_day' });
    const recs = await auditSearch(auditor, { action: 'catalogue.import' });
    assert.equal(recs.length, 1);
    assert.equal(recs[0].object_id, file);
  });

  test('a file with problems is refused whole, every problem with its line', async () => {
    const file = path.join(server.dir, 'bad.csv');
    fs.writeFileSync(file, 'kind,major_code,major_name,code,name,urgency,department,standard_ref,handle\n'
      + 'social,K1,本地,K1001,占道晾晒,normal,村委会,本地表,1 work_day\n'
      + 'social,K1,本地,K1002,乱拉电线,whenever,供电所,本地表,-4 work_hour\n');
    const r = cli(server, ['catalogue', 'import', file]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^line 3: urgency 'whenever'/m);
    assert.match(r.stderr, /^line 3: column 'handle': the value of time limit '-4 work_hour' must be greater than 0/m);
    assert.match(r.stderr, /nothing was imported/);
    assertError(await worker.get('/api/v1/event-categories/social:K1001'), 404, 'not_found');
    const dry = cli(server, ['catalogue', 'import', '--dry-run', file]);
    assert.equal(dry.status, 1);
    const good = path.join(server.dir, 'good.csv');
    fs.writeFileSync(good, 'kind,major_code,major_name,code,name,urgency,department,standard_ref\n'
      + 'social,K1,本地,K1001,占道晾晒,normal,村委会,本地表\n');
    const ok = cli(server, ['catalogue', 'import', '--dry-run', good]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /1 sub-classes, no problems/);
  });

  test('edits survive a restart: missing defaults are added, changed ones are kept', async () => {
    const dir = server.dir;
    sql(server.dbPath, "DELETE FROM event_category WHERE kind = 'hotline' AND code = '01006'");
    await server.kill9();
    const again = await startServer({ dir, set: FAST_SET, env: CLI_ENV });
    try {
      const w = await signIn(again.base, demo['demo.worker'].login, demo['demo.worker'].password);
      const kept = await w.get('/api/v1/event-categories/event:0102');
      assert.equal(kept.json.department, '古镇镇环卫站');
      const back = await w.get('/api/v1/event-categories/hotline:01006');
      assert.equal(back.status, 200);
      assert.equal(back.json.name, '表扬');
      assert.equal(sql(again.dbPath, "SELECT COUNT(*) FROM audit_log WHERE action = 'catalogue.seed'")[0], '2');
      await again.stop();
      // A third start adds nothing and records nothing.
      const third = await startServer({ dir, set: FAST_SET, env: CLI_ENV });
      await third.stop();
      assert.equal(sql(again.dbPath, "SELECT COUNT(*) FROM audit_log WHERE action = 'catalogue.seed'")[0], '2');
      const check = cli(again.dbPath, ['check']);
      assert.equal(check.status, 0, check.stdout + check.stderr);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      server = null;
    }
  });
});
