// audit.test.mjs: GET /api/v1/audit. The audit administrator finds sign-ins,
// refusals, account creation, role changes and reveals; every search is itself
// recorded (audit.search); nobody else reads the trail. The hash chain that
// the API shows is the documented one (recomputed here), `civgrid check` and
// `civgrid audit verify` pass after the run, and an edit made to a copy of the
// database behind civgrid's back (triggers dropped) is named by its id.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  auditAll, auditHead, auditRecordHash, auditSearch, auditSince, cli, demoAccounts, login, request, signIn, signInAdmin,
  sql, startAuthServer, strongPassword, trailStatus,
} from './lib.mjs';

let server;
let demo;
let auditor;
let sys;
let sec;
let station;
let created; // the account made by sys_admin

before(async () => {
  server = await startAuthServer();
  demo = demoAccounts(server);
  auditor = await signInAdmin(server.base, demo['demo.auditadmin']);
  sys = await signInAdmin(server.base, demo['demo.sysadmin']);
  sec = await signInAdmin(server.base, demo['demo.secadmin']);
  station = await signIn(server.base, demo['demo.station'].login, demo['demo.station'].password);

  // Something of every kind to find.
  assert.equal((await login(server.base, { login: 'ghost.user', password: 'Nothing-here-1' }, { from: '127.0.8.1' })).status, 401);
  assert.equal((await login(server.base, { login: 'demo.worker', password: 'Nothing-here-1' }, { from: '127.0.8.2' })).status, 401);
  assert.equal((await request(server.base, 'GET', '/api/v1/users', { token: 'x'.repeat(43) })).status, 401);
  assert.equal((await station.get('/api/v1/audit')).status, 403);
  const r = await sys.post('/api/v1/users', {
    login: 'audit.target', display_name: '审计对象', password: strongPassword(), roles: ['grid_worker'], scope: 'grid:442000105001001', phone: '13912345678',
  });
  assert.equal(r.status, 201, r.text);
  created = r.json;
  assert.equal((await sec.put(`/api/v1/users/${created.id}/roles`, { roles: ['grid_leader'], scope: 'grid:442000105001001' })).status, 200);
  assert.equal((await sys.post(`/api/v1/users/${created.id}/reveal`, { field: 'phone', reason: '审计测试：核实号码' })).status, 200);
});
after(async () => {
  await server?.stop();
});

describe('what the audit administrator finds', () => {
  test('sign-ins: successes and failures, with login, address and reason', async () => {
    const recs = await auditSearch(auditor, { action: 'auth.login' });
    assert.ok(recs.every((x) => x.action === 'auth.login'));
    assert.ok(recs.some((x) => x.result === 'ok' && x.actor_login === 'demo.station' && x.actor_id !== null));
    const ghost = recs.find((x) => x.actor_login === 'ghost.user');
    assert.ok(ghost, 'the failure of an unknown login');
    assert.equal(ghost.result, 'failed');
    assert.equal(ghost.remote, '127.0.8.1');
    assert.equal(ghost.actor_id, null);
    const wrong = recs.find((x) => x.actor_login === 'demo.worker' && x.result === 'failed');
    assert.ok(wrong && wrong.actor_id !== null && wrong.remote === '127.0.8.2');
    // The password tried is never recorded.
    assert.ok(!JSON.stringify(recs).includes('Nothing-here-1'));
  });

  test('refusals: a forged token (no actor) and a forbidden route (with the actor)', async () => {
    const recs = await auditSearch(auditor, { action: 'auth.refused' });
    assert.ok(recs.some((x) => x.actor_id === null && x.object_id === 'GET /api/v1/users' && x.result === 'denied'), JSON.stringify(recs));
    const mine = recs.find((x) => x.actor_login === 'demo.station');
    assert.ok(mine, JSON.stringify(recs));
    assert.equal(mine.object_type, 'route');
    assert.equal(mine.object_id, 'GET /api/v1/audit');
    assert.match(mine.detail, /audit\.read/);
    assert.ok(!JSON.stringify(recs).includes('x'.repeat(43)), 'the presented token is not recorded');
  });

  test('user.create, user.role and user.reveal_phone, naming actor and object', async () => {
    const create = (await auditSearch(auditor, { action: 'user.create' })).find((x) => x.object_id === 'audit.target');
    assert.ok(create, 'user.create');
    assert.equal(create.actor_login, 'demo.sysadmin');
    assert.equal(create.result, 'ok');
    const role = (await auditSearch(auditor, { action: 'user.role' })).find((x) => x.object_id === String(created.id));
    assert.ok(role, 'user.role');
    assert.equal(role.actor_login, 'demo.secadmin');
    assert.match(role.detail, /grid_leader/);
    const reveal = (await auditSearch(auditor, { action: 'user.reveal_phone' })).find((x) => x.object_id === String(created.id));
    assert.ok(reveal, 'user.reveal_phone');
    assert.equal(reveal.actor_login, 'demo.sysadmin');
    assert.match(reveal.detail, /审计测试：核实号码/);
    assert.ok(!JSON.stringify(reveal).includes('13912345678'));
    // The CLI's own account creations are there too, as "(cli)".
    assert.ok((await auditSearch(auditor, { action: 'user.create', actor: '(cli)' })).some((x) => x.object_id === 'demo.auditadmin'));
  });

  test('filters: actor (exact), action (prefix), result, object, time range, paging', async () => {
    const byActor = await auditSearch(auditor, { actor: 'demo.station' });
    assert.ok(byActor.length > 0 && byActor.every((x) => x.actor_login === 'demo.station'));
    assert.equal((await auditSearch(auditor, { actor: 'demo.statio' })).length, 0, 'actor is exact');
    const users = await auditSearch(auditor, { action: 'user.' });
    assert.ok(users.length >= 3 && users.every((x) => x.action.startsWith('user.')));
    const denied = await auditSearch(auditor, { result: 'denied' });
    assert.ok(denied.length > 0 && denied.every((x) => x.result === 'denied'));
    const obj = await auditSearch(auditor, { object_type: 'account', object_id: String(created.id) });
    assert.ok(obj.length >= 2 && obj.every((x) => x.object_id === String(created.id)));
    assert.equal((await auditSearch(auditor, { from: '2999-01-01T00:00:00Z' })).length, 0);
    assert.equal((await auditSearch(auditor, { to: '2000-01-01T00:00:00Z' })).length, 0);
    assert.ok((await auditSearch(auditor, { from: '2000-01-01T00:00:00+08:00' })).length > 0);

    // Paging: newest first, next_before continues without gaps or repeats.
    const all = await auditAll(auditor, { action: 'user.create' });
    const paged = [];
    let beforeId = 0;
    for (;;) {
      const r = await auditor.get(`/api/v1/audit?action=user.create&limit=4${beforeId ? `&before=${beforeId}` : ''}`);
      assert.equal(r.status, 200, r.text);
      paged.push(...r.json.records);
      if (!r.json.next_before) break;
      beforeId = r.json.next_before;
    }
    assert.deepEqual(paged.map((x) => x.id), all.map((x) => x.id));
    for (let i = 1; i < paged.length; i++) assert.ok(paged[i].id < paged[i - 1].id, 'newest first');
  });

  test('bad search parameters are 400 naming the parameter, and nothing is recorded for them', async () => {
    const head = auditHead(server);
    for (const [q, field] of [
      ['limit=0', 'limit'], ['limit=501', 'limit'], ['limit=ten', 'limit'], ['before=-1', 'before'], ['before=1e3', 'before'],
      ['limit=99999999999999999999', 'limit'], ['before=99999999999999999999', 'before'], ['limit=', 'limit'],
      ['from=yesterday', 'from'], ['to=2026-13-45T00:00:00Z', 'to'], ['result=maybe', 'result'], [`actor=${'a'.repeat(300)}`, 'actor'],
    ]) {
      const r = await auditor.get(`/api/v1/audit?${q}`);
      assert.equal(r.status, 400, `${q}: ${r.text}`);
      assert.equal(r.json.error.field, field, `${q}: ${r.text}`);
    }
    const recs = await auditSince(auditor, head, { action: 'audit.search' });
    assert.equal(recs.length, 0, `refused searches are not searches: ${JSON.stringify(recs)}`);
  });
});

describe('auditors are audited', () => {
  test('every search is recorded as audit.search with what was searched for', async () => {
    const head = auditHead(server);
    for (const action of ['auth.', 'user.', 'nothing.']) await auditSearch(auditor, { action });
    await auditSearch(auditor, { actor: 'demo.worker', result: 'denied' });
    const recs = await auditSince(auditor, head, { action: 'audit.search' });
    assert.equal(recs.length, 4);
    assert.match(recs[0].detail, /(^| )actor=demo\.worker( |$)/);
    assert.match(recs[0].detail, /(^| )result=denied( |$)/);
    assert.deepEqual(recs.slice(1).map((x) => x.detail.match(/(?:^| )action=(\S+)/)?.[1]),
      ['nothing.', 'user.', 'auth.']);
    for (const x of recs) {
      assert.equal(x.actor_login, 'demo.auditadmin');
      assert.equal(x.result, 'ok');
      assert.equal(x.remote, '127.0.0.1');
    }
  });

  test('nobody else can read the trail: every other role gets 403, and the attempt is recorded', async () => {
    const head = auditHead(server);
    const others = Object.values(demo).filter((a) => a.role !== 'audit_admin');
    for (const acc of others) {
      const c = acc.role.endsWith('_admin') ? (acc.login === 'demo.sysadmin' ? sys : sec) : await signIn(server.base, acc.login, acc.password);
      const r = await c.get('/api/v1/audit?action=auth.');
      assert.equal(r.status, 403, `${acc.login}: ${r.text}`);
      assert.equal(r.json.records, undefined);
    }
    assert.equal((await request(server.base, 'GET', '/api/v1/audit')).status, 401);
    const refused = await auditSince(auditor, head, { action: 'auth.refused' });
    for (const acc of others) assert.ok(refused.some((x) => x.actor_login === acc.login && x.object_id === 'GET /api/v1/audit'), acc.login);
    const searches = await auditSince(auditor, head, { action: 'audit.search' });
    assert.ok(searches.every((x) => x.actor_login === 'demo.auditadmin'));
  });
});

describe('tamper evidence', () => {
  test('the chain the API shows is the documented hash chain, contiguous from id 1', async () => {
    const recs = (await auditAll(auditor)).reverse();
    assert.equal(recs[0].id, 1);
    assert.equal(recs[0].prev_hash, '0'.repeat(64));
    recs.forEach((x, i) => {
      if (i > 0) {
        assert.equal(x.id, recs[i - 1].id + 1, 'ids are contiguous');
        assert.equal(x.prev_hash, recs[i - 1].hash, `record ${x.id} links to ${recs[i - 1].id}`);
      }
      assert.equal(auditRecordHash(x), x.hash, `record ${x.id}: hash of its fields`);
    });
  });

  test('civgrid check prints ok and civgrid audit verify says intact', () => {
    const { check, verify } = trailStatus(server.dbPath);
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.equal(check.stdout, 'ok\n');
    assert.equal(verify.status, 0, verify.stderr);
    assert.match(verify.stdout, /^audit chain intact: \d+ records$/m);
  });

  test('an UPDATE made behind civgrid\'s back is refused by the triggers, on the live database', () => {
    assert.throws(() => sql(server.dbPath, "UPDATE audit_log SET detail = 'x' WHERE id = 2"), /./);
    assert.throws(() => sql(server.dbPath, 'DELETE FROM audit_log WHERE id = 2'), /./);
  });

  const copyWithoutTriggers = (name) => {
    const copy = path.join(server.dir, name);
    fs.rmSync(copy, { force: true });
    sql(server.dbPath, `VACUUM INTO '${copy}'`);
    const triggers = sql(copy, "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'");
    assert.ok(triggers.length >= 2, `triggers on audit_log: ${triggers}`);
    sql(copy, triggers.map((t) => `DROP TRIGGER IF EXISTS "${t}";`).join(' '));
    return copy;
  };

  test('an edited record in a copy: civgrid check exits 1 naming its id; audit verify too', async () => {
    const copy = copyWithoutTriggers('tampered-edit.db');
    const target = (await auditSearch(auditor, { action: 'user.reveal_phone' }))[0].id;
    sql(copy, `UPDATE audit_log SET detail = 'reason: nothing to see' WHERE id = ${target}`);
    assert.equal(sql(copy, `SELECT detail FROM audit_log WHERE id = ${target}`)[0], 'reason: nothing to see');

    const check = cli(copy, ['check']);
    assert.equal(check.status, 1, check.stdout + check.stderr);
    assert.match(check.stdout + check.stderr, new RegExp(`\\b${target}\\b`), `check names record ${target}: ${check.stdout}${check.stderr}`);
    const verify = cli(copy, ['audit', 'verify']);
    assert.equal(verify.status, 1, verify.stdout + verify.stderr);
    assert.match(verify.stdout + verify.stderr, new RegExp(`\\b${target}\\b`));
  });

  test('a record deleted from the middle of a copy is noticed too', async () => {
    const copy = copyWithoutTriggers('tampered-delete.db');
    const target = (await auditSearch(auditor, { action: 'user.role' }))[0].id;
    sql(copy, `DELETE FROM audit_log WHERE id = ${target}`);
    const check = cli(copy, ['check']);
    assert.equal(check.status, 1, check.stdout + check.stderr);
    assert.match(check.stdout + check.stderr, new RegExp(`\\b(${target}|${target + 1})\\b`));
  });

  test('the live database is untouched by all that', () => {
    const { check, verify } = trailStatus(server.dbPath);
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.equal(verify.status, 0, verify.stderr);
  });
});
