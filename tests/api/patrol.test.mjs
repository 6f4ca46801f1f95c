// patrol.test.mjs: patrols (巡查), worker positions and duty, the nearest
// available workers and household visits (走访) over HTTP on the Zhongshan demo
// (docs/PATROL.md): start and stop, GPS batches (sorted, duplicates dropped,
// the track in order, GeoJSON), every refused input with its code and field,
// statistics per China-time day against a haversine sum computed here, duty
// on/off/auto, the k nearest workers (order, freshness, scope, permission),
// visits whose opinions become events, and who sees what.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { addUser, makeTemplate, metres, signIn, signInAs, startDemoServer, P_001001 } from './grid/lib.mjs';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const GRID = '442000105001001'; // demo.worker's grid
const GRID2 = '442000105002001'; // demo.worker2's grid

let template, server, worker, worker2, duty, dispatcher, station, leader, citizen;
let seq = 0;

/** A new grid worker of `grid` (no staff record: its grid comes from its scope). */
async function newWorker(grid = GRID) {
  const u = addUser(server, `test.pw${++seq}`, { roles: 'grid_worker', scope: `grid:${grid}` });
  const c = await signIn(server.base, u.login, u.password);
  return Object.assign(c, { id: u.id, login: u.login });
}

const iso = (ms) => new Date(ms).toISOString();
/** The China-time (UTC+8) date of a time, "YYYY-MM-DD". */
const cstDate = (ms) => new Date(ms + 8 * HOUR).toISOString().slice(0, 10);
/** ms of a China-time wall clock: cst(date, 'HH:MM:SS'). */
const cst = (date, time) => Date.parse(`${date}T${time}+08:00`);
/** A point `east` and `north` metres from (lon, lat), at time t. */
function offset([lon, lat], east, north) {
  const dlat = north / 111_194.93; // metres per degree on the 6,371,008.8 m sphere
  const dlon = east / (111_194.93 * Math.cos((lat * Math.PI) / 180));
  return [Number((lon + dlon).toFixed(8)), Number((lat + dlat).toFixed(8))];
}
const pt = (t, [lon, lat], extra = {}) => ({ t: typeof t === 'number' ? iso(t) : t, lon, lat, ...extra });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** The nearest index is rebuilt at most every 100 ms: wait for the next snapshot. */
const settle = () => sleep(150);

async function start(c, body = {}) {
  const r = await c.post('/api/v1/patrols', body);
  assert.equal(r.status, 201, r.text);
  return r.json;
}
async function stop(c, id, body = {}) {
  const r = await c.post(`/api/v1/patrols/${id}/stop`, body);
  assert.equal(r.status, 200, r.text);
  return r.json;
}
async function upload(c, id, points) {
  const r = await c.post(`/api/v1/patrols/${id}/points`, { points });
  assert.equal(r.status, 200, r.text);
  return r.json;
}
function assertError(r, status, code, field) {
  assert.equal(r.status, status, r.text);
  assert.ok(r.json?.error, r.text);
  assert.equal(r.json.error.code, code, r.text);
  if (field !== undefined) assert.equal(r.json.error.field, field, r.text);
}

before(async () => {
  template = makeTemplate();
  server = await startDemoServer(template);
  worker = await signInAs(server, 'demo.worker');
  worker2 = await signInAs(server, 'demo.worker2');
  duty = await signInAs(server, 'demo.duty');
  dispatcher = await signInAs(server, 'demo.dispatcher');
  station = await signInAs(server, 'demo.station');
  leader = await signInAs(server, 'demo.gridleader');
  citizen = await signInAs(server, 'demo.citizen');
  server.handler = await signInAs(server, 'demo.handler');
});

after(async () => {
  await server?.stop();
  template?.remove();
});

// ---- start and stop --------------------------------------------------------------------------

describe('start and stop', () => {
  test('a patrol starts in the worker\'s own grid; a second running one is 409; stop ends it', async () => {
    const p = await start(worker);
    assert.equal(p.grid, GRID, 'the grid of demo.worker\'s staff record');
    assert.equal(p.running, true);
    assert.equal(p.ended_at, null);
    assert.equal(p.worker.login, 'demo.worker');
    assert.equal(p.points, 0);
    assert.equal(p.distance_m, 0);
    assert.match(p.started_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const again = await worker.post('/api/v1/patrols', {});
    assertError(again, 409, 'conflict');
    assert.match(again.json.error.message, new RegExp(`patrol ${p.id} is still running`));

    const s = await stop(worker, p.id);
    assert.equal(s.running, false);
    assert.ok(s.ended_at);
    assertError(await worker.post(`/api/v1/patrols/${p.id}/stop`, {}), 409, 'invalid_transition');

    const next = await start(worker);
    assert.ok(next.id > p.id, 'after the stop a new patrol may start');
    await stop(worker, next.id);
  });

  test('started_at and ended_at are checked', async () => {
    const w = await newWorker();
    assertError(await w.post('/api/v1/patrols', { started_at: 'yesterday' }), 400, 'invalid_input', 'started_at');
    assertError(await w.post('/api/v1/patrols', { started_at: 12 }), 400, 'wrong_type', 'started_at');
    assertError(await w.post('/api/v1/patrols', { started_at: iso(Date.now() + 10 * MIN) }), 400, 'invalid_input', 'started_at');
    assertError(await w.post('/api/v1/patrols', { started_at: iso(Date.now() - 8 * DAY) }), 400, 'invalid_input', 'started_at');
    assertError(await w.post('/api/v1/patrols', { grid: 'abc' }), 400, 'invalid_input', 'grid');
    assertError(await w.post('/api/v1/patrols', { colour: 'red' }), 400, 'invalid_input', 'colour');
    assertError(await w.post('/api/v1/patrols', { grid: GRID2 }), 403, 'forbidden');
    const t0 = Date.now() - HOUR;
    const p = await start(w, { started_at: iso(t0) });
    assert.equal(p.grid, GRID, 'a worker without a staff record patrols the grid of its scope');
    assert.equal(Date.parse(p.started_at), t0);
    assertError(await w.post(`/api/v1/patrols/${p.id}/stop`, { ended_at: iso(t0 - MIN) }), 400, 'invalid_input', 'ended_at');
    assertError(await w.post(`/api/v1/patrols/${p.id}/stop`, { ended_at: iso(Date.now() + 10 * MIN) }), 400, 'invalid_input', 'ended_at');
    assertError(await w.post(`/api/v1/patrols/${p.id}/stop`, { note: 'x' }), 400, 'invalid_input', 'note');
    const s = await stop(w, p.id, { ended_at: iso(t0 + 30 * MIN) });
    assert.equal(s.duration_s, 1800);
  });

  test('who may start and stop', async () => {
    assertError(await dispatcher.post('/api/v1/patrols', {}), 403, 'forbidden');
    assertError(await citizen.post('/api/v1/patrols', {}), 403, 'forbidden');
    const p = await start(worker);
    assertError(await worker2.post(`/api/v1/patrols/${p.id}/stop`, {}), 404, 'not_found');
    assertError(await dispatcher.post(`/api/v1/patrols/${p.id}/stop`, {}), 403, 'forbidden');
    assertError(await worker.post('/api/v1/patrols/999999/stop', {}), 404, 'not_found');
    assertError(await worker.post('/api/v1/patrols/abc/stop', {}), 404, 'not_found');
    await stop(worker, p.id);
  });
});

// ---- GPS batches -----------------------------------------------------------------------------

describe('GPS batches', () => {
  let w, patrol, t0;

  before(async () => {
    w = await newWorker();
    t0 = Date.now() - 30 * MIN;
    patrol = await start(w, { started_at: iso(t0) });
  });

  test('a batch is sorted, duplicates are dropped (in the batch and against the stored track)', async () => {
    const a = [0, 1, 2, 3, 4].map((i) => offset(P_001001, 20 * i, 0));
    const r = await upload(w, patrol.id, [
      pt(t0 + 3 * MIN, a[3], { accuracy_m: 5, speed: 1.2 }),
      pt(t0 + 1 * MIN, a[1]),
      pt(t0 + 1 * MIN, a[4]), // the same t as the one before it: dropped, the first stays
      pt(t0 + 2 * MIN, a[2]),
      { t: t0, lon: a[0][0], lat: a[0][1] }, // t in ms since 1970
    ]);
    assert.deepEqual(r, { patrol: patrol.id, received: 5, stored: 4, duplicates: 1, last_t: iso(t0 + 3 * MIN) });

    const again = await upload(w, patrol.id, [pt(t0 + 2 * MIN, a[4]), pt(t0 + 4 * MIN, a[4])]);
    assert.equal(again.stored, 1, 'the stored point at t0+2min stays, the new one is added');
    assert.equal(again.duplicates, 1);

    const tr = await w.get(`/api/v1/patrols/${patrol.id}/track`);
    assert.equal(tr.status, 200, tr.text);
    assert.deepEqual(
      tr.json.points.map((p) => [Date.parse(p.t) - t0, p.lon, p.lat]),
      [[0, ...a[0]], [MIN, ...a[1]], [2 * MIN, ...a[2]], [3 * MIN, ...a[3]], [4 * MIN, ...a[4]]],
      'the track in time order, the first of each duplicate kept',
    );
    assert.equal(tr.json.points[3].accuracy_m, 5);
    assert.equal(tr.json.points[3].speed, 1.2);
    assert.equal(tr.json.points[0].accuracy_m, null);
    assert.equal(tr.json.points[0].speed, null);
    assert.equal(tr.json.patrol.points, 5);
    const expect = a.slice(1).reduce((s, p, i) => s + metres(a[i], p), 0);
    assert.ok(Math.abs(tr.json.patrol.distance_m - expect) < 0.5, `${tr.json.patrol.distance_m} vs ${expect}`);

    const g = await w.get(`/api/v1/patrols/${patrol.id}`);
    assert.equal(g.status, 200, g.text);
    assert.equal(g.json.points, 5);
    assert.equal(g.json.running, true);
  });

  test('the track as GeoJSON: a LineString Feature with the times', async () => {
    const r = await w.get(`/api/v1/patrols/${patrol.id}/track?format=geojson`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.type, 'Feature');
    assert.equal(r.json.geometry.type, 'LineString');
    assert.equal(r.json.geometry.coordinates.length, 5);
    assert.equal(r.json.properties.patrol, patrol.id);
    assert.equal(r.json.properties.times.length, 5);
    const times = r.json.properties.times.map(Date.parse);
    assert.deepEqual(times, [...times].sort((x, y) => x - y));
    assert.deepEqual(r.json.geometry.coordinates[0], offset(P_001001, 0, 0));
    assertError(await w.get(`/api/v1/patrols/${patrol.id}/track?format=kml`), 400, 'invalid_input', 'format');
  });

  test('bad points refuse the whole batch, naming the point and its field', async () => {
    const now = Date.now();
    const ok = pt(now - MIN, P_001001);
    const cases = [
      // [points, status, code, field]
      [[ok, { ...ok, t: now - 50 * 1000, lon: '113.16' }], 400, 'wrong_type', 'points[1].lon'],
      [[{ ...ok, lat: true }], 400, 'wrong_type', 'points[0].lat'],
      [[{ ...ok, t: true }], 400, 'wrong_type', 'points[0].t'],
      [[{ ...ok, t: '2026-13-01T00:00:00Z' }], 400, 'invalid_input', 'points[0].t'],
      [[{ t: ok.t, lat: ok.lat }], 400, 'missing_field', 'points[0].lon'],
      [[{ lon: ok.lon, lat: ok.lat }], 400, 'missing_field', 'points[0].t'],
      [[{ ...ok, lon: 180.5 }], 400, 'invalid_input', 'points[0].lon'],
      [[{ ...ok, lon: -181 }], 400, 'invalid_input', 'points[0].lon'],
      [[{ ...ok, lat: 90.01 }], 400, 'invalid_input', 'points[0].lat'],
      [[{ ...ok, lat: -91 }], 400, 'invalid_input', 'points[0].lat'],
      [[{ ...ok, accuracy_m: -1 }], 400, 'invalid_input', 'points[0].accuracy_m'],
      [[{ ...ok, speed: 'fast' }], 400, 'wrong_type', 'points[0].speed'],
      [[ok, ok, pt(now + 10 * MIN, P_001001)], 400, 'invalid_input', 'points[2].t'], // 10 minutes ahead
      [[pt(now - 8 * DAY, P_001001)], 400, 'invalid_input', 'points[0].t'], // 8 days old
      [[pt(t0 - 10 * MIN, P_001001)], 400, 'invalid_input', 'points[0].t'], // before the patrol began
      [[{ ...ok, heading: 90 }], 400, 'invalid_input', 'points[0]'], // unknown field
      [['113.16,22.63'], 400, 'wrong_type', 'points[0]'],
    ];
    for (const [points, status, code, field] of cases) {
      const r = await w.post(`/api/v1/patrols/${patrol.id}/points`, { points });
      assertError(r, status, code, field);
    }
    assertError(await w.post(`/api/v1/patrols/${patrol.id}/points`, { points: [] }), 400, 'invalid_input', 'points');
    assertError(await w.post(`/api/v1/patrols/${patrol.id}/points`, { points: {} }), 400, 'wrong_type', 'points');
    assertError(await w.post(`/api/v1/patrols/${patrol.id}/points`, {}), 400, 'missing_field', 'points');
    assertError(await w.post(`/api/v1/patrols/${patrol.id}/points`, { points: [ok], extra: 1 }), 400, 'invalid_input', 'extra');
    assertError(await w.post(`/api/v1/patrols/${patrol.id}/points`, '[]'), 400, 'wrong_type');

    const many = Array.from({ length: 1001 }, (_, i) => ({ t: now - 20 * MIN + i * 1000, lon: ok.lon, lat: ok.lat }));
    assertError(await w.post(`/api/v1/patrols/${patrol.id}/points`, { points: many }), 413, 'body_too_large', 'points');
    const r = await upload(w, patrol.id, many.slice(0, 1000));
    assert.equal(r.received, 1000, '1,000 points are accepted');

    const tr = await w.get(`/api/v1/patrols/${patrol.id}`);
    assert.equal(tr.json.points, 1005, 'no refused batch stored anything');
  });

  test('a batch reads the same however it is spelled; bodies that are not JSON are refused first', async () => {
    // The plain batch (t in ms, numbers only: what phones send) is read without a JSON tree;
    // any other spelling goes through jansson: both store the same points.
    const w = await newWorker();
    const patrol = await start(w, { started_at: iso(Date.now() - 30 * MIN) });
    const path = `/api/v1/patrols/${patrol.id}/points`;
    const now = Date.now();
    const [lon, lat] = P_001001;
    const plain = `{"points":[{"t":${now - 20 * MIN},"lon":${lon},"lat":${lat},"accuracy_m":8},` +
      ` {"t":${now - 19 * MIN},"lon":${lon},"lat":${lat},"speed":1.5e0}]}`;
    let r = await w.post(path, plain);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual([r.json.received, r.json.stored, r.json.duplicates], [2, 2, 0]);
    const spelled = `{"points":[{"\\u0074":"${iso(now - 18 * MIN)}","lon":${lon},"lat":${lat},"speed":null},` +
      `{"t":${now - 20 * MIN},"lon":0,"lat":0}]}`;
    r = await w.post(path, spelled);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual([r.json.received, r.json.stored, r.json.duplicates], [2, 1, 1]);
    const tr = await w.get(`/api/v1/patrols/${patrol.id}/track`);
    assert.deepEqual(
      tr.json.points.map((p) => [Date.parse(p.t) - now, p.lon, p.accuracy_m, p.speed]),
      [[-20 * MIN, lon, 8, null], [-19 * MIN, lon, null, 1.5], [-18 * MIN, lon, null, null]],
    );
    // Not JSON, not UTF-8, not an object: the errors of every JSON route, before the patrol's.
    assertError(await w.post(path, `{"points":[{"t":${now},"lon":${lon},"lat":${lat}}]`), 400, 'malformed_json');
    assertError(await w.post(path, Buffer.from([0x7b, 0xff, 0x7d])), 400, 'invalid_utf8');
    assertError(await w.post(path, '5'), 400, 'wrong_type');
    assertError(await w.post('/api/v1/patrols/999999/points', '{"points":'), 400, 'malformed_json');
    assertError(await w.post('/api/v1/patrols/999999/points', plain), 404, 'not_found');
    // A plain batch with a point in the future is refused as any other, naming the point.
    const future = `{"points":[{"t":${now - MIN},"lon":${lon},"lat":${lat}},{"t":${now + 10 * MIN},"lon":${lon},"lat":${lat}}]}`;
    assertError(await w.post(path, future), 400, 'invalid_input', 'points[1].t');
    assert.equal((await w.get(`/api/v1/patrols/${patrol.id}`)).json.points, 3, 'refused batches stored nothing');
  });

  test('points outside a stopped patrol\'s time span are refused', async () => {
    const w2 = await newWorker();
    const s = Date.now() - 3 * HOUR;
    const p = await start(w2, { started_at: iso(s) });
    await stop(w2, p.id, { ended_at: iso(s + HOUR) });
    assertError(await w2.post(`/api/v1/patrols/${p.id}/points`, { points: [pt(s + 2 * HOUR, P_001001)] }), 400, 'invalid_input', 'points[0].t');
    const late = await upload(w2, p.id, [pt(s + 30 * MIN, P_001001)]);
    assert.equal(late.stored, 1, 'a late batch inside the span is still accepted');
  });

  test('a batch to someone else\'s patrol is refused, as is one without patrol.record', async () => {
    const ok = [pt(Date.now() - MIN, P_001001)];
    assertError(await worker2.post(`/api/v1/patrols/${patrol.id}/points`, { points: ok }), 404, 'not_found');
    assertError(await worker.post(`/api/v1/patrols/${patrol.id}/points`, { points: ok }), 404, 'not_found');
    assertError(await dispatcher.post(`/api/v1/patrols/${patrol.id}/points`, { points: ok }), 403, 'forbidden');
    assertError(await w.post('/api/v1/patrols/424242/points', { points: ok }), 404, 'not_found');
  });
});

// ---- statistics ------------------------------------------------------------------------------

describe('statistics per day', () => {
  test('distance of a known track within 1 % of the haversine sum; GPS jumps not counted', async () => {
    const w = await newWorker();
    const t0 = Date.now() - 50 * MIN;
    const p = await start(w, { started_at: iso(t0) });
    // A walk of 40 points, 30 s apart, 25 to 45 m each (under 2 m/s), with one jump of 5 km
    // in 30 s (167 m/s) and straight back.
    const pts = [];
    let here = P_001001;
    let expect = 0;
    for (let i = 0; i < 40; i++) {
      const next = i === 20 ? offset(here, 5000, 0) : i === 21 ? offset(here, -5000, 0) : offset(here, 25 + (i % 5) * 5, (i % 3) * 7 - 7);
      pts.push(pt(t0 + i * 30_000, here));
      if (i < 39) {
        const d = metres(here, next);
        if (i !== 20 && i !== 21) expect += d;
      }
      if (i < 39) here = next;
    }
    // the last pushed point is the 40th; the jump segments are points 20->21 and 21->22
    expect = 0;
    for (let i = 1; i < pts.length; i++) {
      const d = metres([pts[i - 1].lon, pts[i - 1].lat], [pts[i].lon, pts[i].lat]);
      if (d / 30 <= 50) expect += d;
    }
    await upload(w, p.id, pts);
    await stop(w, p.id, { ended_at: iso(t0 + 40 * MIN) });

    const from = cstDate(t0 - DAY);
    const to = cstDate(Date.now());
    const r = await w.get(`/api/v1/patrols/stats?from=${from}&to=${to}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.timezone, '+08:00');
    assert.equal(r.json.from, from);
    assert.equal(r.json.to, to);
    assert.ok(r.json.rows.every((row) => row.worker.account_id === w.id), 'a worker sees only its own rows');
    assert.equal(r.json.total.points, 40);
    assert.equal(r.json.total.patrols, 1);
    assert.equal(r.json.total.duration_s, 2400);
    assert.ok(Math.abs(r.json.total.distance_m - expect) <= expect * 0.01, `${r.json.total.distance_m} vs ${expect}`);
    assert.ok(expect > 800 && expect < 2000, `the walk is ${expect} m, without the 10 km of jumps`);

    const g = await w.get(`/api/v1/patrols/${p.id}`);
    assert.ok(Math.abs(g.json.distance_m - expect) <= expect * 0.01, 'the patrol counts the same distance');

    const byDuty = await duty.get(`/api/v1/patrols/stats?from=${from}&to=${to}&worker=${w.id}`);
    assert.equal(byDuty.status, 200, byDuty.text);
    assert.equal(byDuty.json.total.points, 40, 'the duty officer sees the worker of its town');
  });

  test('a patrol across midnight China time splits at 00:00 +08:00', async () => {
    const w = await newWorker();
    const day1 = cstDate(Date.now() - 3 * DAY);
    const day2 = cstDate(Date.now() - 2 * DAY);
    const s = cst(day1, '23:50:00');
    const p = await start(w, { started_at: iso(s) });
    const a = [0, 1, 2, 3].map((i) => offset(P_001001, 100 * i, 0));
    // 23:50, 23:55 | 00:05, 00:10: the 23:55 -> 00:05 segment counts on the day of its later point
    await upload(w, p.id, [pt(s, a[0]), pt(s + 5 * MIN, a[1]), pt(s + 15 * MIN, a[2]), pt(s + 20 * MIN, a[3])]);
    await stop(w, p.id, { ended_at: iso(s + 20 * MIN) });
    const r = await w.get(`/api/v1/patrols/stats?from=${day1}&to=${day2}`);
    assert.equal(r.status, 200, r.text);
    const rows = Object.fromEntries(r.json.rows.map((row) => [row.date, row]));
    assert.deepEqual(Object.keys(rows).sort(), [day1, day2]);
    assert.equal(rows[day1].points, 2);
    assert.equal(rows[day2].points, 2);
    assert.equal(rows[day1].duration_s, 600);
    assert.equal(rows[day2].duration_s, 600);
    assert.ok(Math.abs(rows[day1].distance_m - metres(a[0], a[1])) < 0.2, JSON.stringify(rows[day1]));
    assert.ok(Math.abs(rows[day2].distance_m - metres(a[1], a[2]) - metres(a[2], a[3])) < 0.2, JSON.stringify(rows[day2]));
    assert.equal(rows[day1].patrols, 1);
    const only2 = await w.get(`/api/v1/patrols/stats?from=${day2}&to=${day2}`);
    assert.equal(only2.json.total.points, 2);
    assert.equal(only2.json.total.duration_s, 600);
  });

  test('bad periods and other workers', async () => {
    assertError(await worker.get('/api/v1/patrols/stats?from=2026-02-30'), 400, 'invalid_input', 'from');
    assertError(await worker.get('/api/v1/patrols/stats?from=2026-05-01&to=May'), 400, 'invalid_input', 'to');
    assertError(await worker.get('/api/v1/patrols/stats?from=2026-05-02&to=2026-05-01'), 400, 'invalid_input', 'to');
    assertError(await worker.get('/api/v1/patrols/stats?from=2026-01-01&to=2026-04-30'), 400, 'invalid_input', 'to');
    assertError(await worker.get('/api/v1/patrols/stats?worker=abc'), 400, 'invalid_input', 'worker');
    assertError(await worker.get(`/api/v1/patrols/stats?worker=${worker2.account.id}`), 403, 'forbidden', 'worker');
    assertError(await citizen.get('/api/v1/patrols/stats'), 403, 'forbidden'); // no patrol.read
    assertError(await server.handler.get('/api/v1/patrols/stats'), 403, 'forbidden');
    const today = await worker.get('/api/v1/patrols/stats');
    assert.equal(today.status, 200, today.text);
    assert.equal(today.json.from, cstDate(Date.now()));
    assert.equal(today.json.to, today.json.from);
  });
});

// ---- duty and the nearest workers ------------------------------------------------------------

describe('duty and the nearest available workers', () => {
  // A query point away from the other tests' tracks, and workers 100, 200, 300, 400 m east of it.
  const Q = offset(P_001001, 0, 400);
  let ws;

  before(async () => {
    ws = [];
    for (let i = 1; i <= 4; i++) {
      const c = await newWorker();
      const p = await start(c, { started_at: iso(Date.now() - 5 * MIN) });
      await upload(c, p.id, [pt(Date.now() - 10_000, offset(Q, 100 * i, 0))]);
      ws.push(Object.assign(c, { patrol: p.id }));
    }
    await settle();
  });

  const nearest = (c, q = '') => c.get(`/api/v1/workers/nearest?lon=${Q[0]}&lat=${Q[1]}${q}`);
  const mine = (list) => list.filter((x) => ws.some((c) => c.id === x.account_id)).map((x) => x.account_id);

  test('k nearest, nearest first, with their distances', async () => {
    const r = await nearest(dispatcher, '&k=50');
    assert.equal(r.status, 200, r.text);
    const list = r.json.workers;
    const d = list.map((x) => x.distance_m);
    assert.deepEqual(d, [...d].sort((a, b) => a - b), 'sorted by distance');
    assert.deepEqual(mine(list), ws.map((c) => c.id));
    for (const [i, c] of ws.entries()) {
      const x = list.find((y) => y.account_id === c.id);
      assert.equal(x.login, c.login);
      assert.equal(x.grid, GRID);
      assert.ok(Math.abs(x.distance_m - 100 * (i + 1)) < 0.5, `${x.distance_m} m`);
      assert.ok(Date.now() - Date.parse(x.at) < 15 * MIN);
    }
    assert.ok(r.json.index.available >= 4);
    const k2 = await nearest(dispatcher, '&k=2');
    assert.equal(k2.json.workers.length, 2);
    assert.deepEqual(k2.json.workers, list.slice(0, 2));
    const dflt = await nearest(dispatcher);
    assert.ok(dflt.json.workers.length <= 5, 'k defaults to 5');
  });

  test('off duty, auto without a patrol, on duty, and stale positions', async () => {
    const [a, b, c] = ws;
    const off = await a.put('/api/v1/workers/me/duty', { duty: 'off' });
    assert.equal(off.status, 200, off.text);
    assert.equal(off.json.on_duty, false);
    assert.equal(off.json.duty, 'off');
    assert.ok(off.json.position, 'the position is kept');
    await stop(b, b.patrol); // auto, no patrol running: not available
    await settle();
    let r = await nearest(dispatcher, '&k=50');
    assert.deepEqual(mine(r.json.workers), [c.id, ws[3].id]);

    const on = await b.put('/api/v1/workers/me/duty', { duty: 'on' });
    assert.equal(on.json.on_duty, true, 'on duty without a patrol');
    const auto = await a.put('/api/v1/workers/me/duty', { duty: 'auto' });
    assert.equal(auto.json.on_duty, true, 'auto while its patrol runs');
    await settle();
    r = await nearest(dispatcher, '&k=50');
    assert.deepEqual(mine(r.json.workers), ws.map((x) => x.id));

    // A worker whose last point is 20 minutes old is not available, even on duty.
    const stale = await newWorker();
    const p = await start(stale, { started_at: iso(Date.now() - 30 * MIN) });
    await upload(stale, p.id, [pt(Date.now() - 20 * MIN, offset(Q, 10, 0))]);
    await stale.put('/api/v1/workers/me/duty', { duty: 'on' });
    await settle();
    r = await nearest(dispatcher, '&k=50');
    assert.ok(!r.json.workers.some((x) => x.account_id === stale.id), 'a stale position is left out');
    // A fresh point brings it back, nearest of all.
    await upload(stale, p.id, [pt(Date.now() - 1000, offset(Q, 10, 0))]);
    await settle();
    r = await nearest(dispatcher, '&k=1');
    assert.equal(r.json.workers[0].account_id, stale.id);
    await stale.put('/api/v1/workers/me/duty', { duty: 'off' });
  });

  test('a late batch to a stopped patrol leaves the running one available', async () => {
    const w = await newWorker();
    const s = Date.now() - HOUR;
    const a = await start(w, { started_at: iso(s) });
    await stop(w, a.id, { ended_at: iso(s + 30 * MIN) });
    const b = await start(w, {});
    await upload(w, b.id, [pt(Date.now() - 1000, offset(Q, 20, 0))]);
    await upload(w, a.id, [pt(s + 10 * MIN, offset(Q, 5000, 0))]); // a late upload of the earlier patrol
    await settle();
    const r = await nearest(dispatcher, '&k=50');
    const me = r.json.workers.find((x) => x.account_id === w.id);
    assert.ok(me, 'duty auto with patrol b running: still available');
    assert.ok(Math.abs(me.distance_m - 20) < 0.5, 'the newer position stays');
    await stop(w, b.id);
  });

  test('duty input', async () => {
    assertError(await worker.put('/api/v1/workers/me/duty', { duty: 'maybe' }), 400, 'invalid_input', 'duty');
    assertError(await worker.put('/api/v1/workers/me/duty', {}), 400, 'missing_field', 'duty');
    assertError(await worker.put('/api/v1/workers/me/duty', { duty: true }), 400, 'wrong_type', 'duty');
    assertError(await worker.put('/api/v1/workers/me/duty', { duty: 'on', until: 'x' }), 400, 'invalid_input', 'until');
    assertError(await dispatcher.put('/api/v1/workers/me/duty', { duty: 'on' }), 403, 'forbidden');
  });

  test('scope, permission and bad queries', async () => {
    // demo.station sees village 442000105001 only; a worker of 442000105002001 is outside it.
    const far = await newWorker(GRID2);
    const p = await start(far, {});
    await upload(far, p.id, [pt(Date.now() - 1000, offset(Q, 50, 0))]);
    await settle();
    const all = await nearest(dispatcher, '&k=50');
    assert.ok(all.json.workers.some((x) => x.account_id === far.id), 'the town\'s dispatcher sees both villages');
    const village = await nearest(station, '&k=50');
    assert.equal(village.status, 200, village.text);
    assert.ok(!village.json.workers.some((x) => x.account_id === far.id), 'the station sees its village only');
    assert.ok(village.json.workers.every((x) => x.grid.startsWith('442000105001')));
    assert.deepEqual(mine(village.json.workers), ws.map((x) => x.id));
    await stop(far, p.id);

    assertError(await nearest(worker), 403, 'forbidden'); // no event.dispatch
    assertError(await nearest(leader), 403, 'forbidden');
    assertError(await nearest(dispatcher, '&k=51'), 400, 'invalid_input', 'k');
    assertError(await nearest(dispatcher, '&k=0'), 400, 'invalid_input', 'k');
    assertError(await nearest(dispatcher, '&k=five'), 400, 'invalid_input', 'k');
    assertError(await dispatcher.get('/api/v1/workers/nearest?lat=22.6'), 400, 'missing_field', 'lon');
    assertError(await dispatcher.get('/api/v1/workers/nearest?lon=113.1'), 400, 'missing_field', 'lat');
    assertError(await dispatcher.get('/api/v1/workers/nearest?lon=181&lat=22.6'), 400, 'invalid_input', 'lon');
    assertError(await dispatcher.get('/api/v1/workers/nearest?lon=113.1&lat=-90.5'), 400, 'invalid_input', 'lat');
    assertError(await dispatcher.get('/api/v1/workers/nearest?lon=0x10&lat=22'), 400, 'invalid_input', 'lon');
    assertError(await dispatcher.get('/api/v1/workers/nearest?lon=nan&lat=22'), 400, 'invalid_input', 'lon');
  });
});

// ---- visits ----------------------------------------------------------------------------------

describe('household visits and their opinions', () => {
  let visit;

  test('a visit keeps its opinions; an opinion becomes an event once', async () => {
    const r = await worker.post('/api/v1/visits', {
      address: '古镇镇古一村 12 号',
      household: '独居老人，子女在外地',
      opinions: ['路灯坏了三个月，晚上不敢出门', '希望社区多组织义诊'],
    });
    assert.equal(r.status, 201, r.text);
    visit = r.json;
    assert.equal(visit.grid, GRID);
    assert.equal(visit.worker.login, 'demo.worker');
    assert.deepEqual(visit.opinions.map((o) => [o.n, o.text, o.event]), [
      [1, '路灯坏了三个月，晚上不敢出门', null],
      [2, '希望社区多组织义诊', null],
    ]);

    const e = await worker.post(`/api/v1/visits/${visit.id}/opinions/1/event`, {
      category: '0102', lon: P_001001[0], lat: P_001001[1],
    });
    assert.equal(e.status, 201, e.text);
    assert.equal(e.json.visit, visit.id);
    assert.equal(e.json.opinion, 1);
    const ev = e.json.event;
    assert.ok(ev.id);
    const g = await worker.get(`/api/v1/events/${ev.id}`);
    assert.equal(g.status, 200, g.text);
    assert.equal(g.json.source, 'patrol');
    assert.equal(g.json.title, '路灯坏了三个月，晚上不敢出门');
    assert.equal(g.json.description, '路灯坏了三个月，晚上不敢出门');
    assert.equal(g.json.address, '古镇镇古一村 12 号');
    assert.equal(g.json.grid, GRID);
    const byDuty = await duty.get(`/api/v1/events/${ev.id}`);
    assert.equal(byDuty.status, 200, 'the town\'s duty officer sees the event');

    const twice = await worker.post(`/api/v1/visits/${visit.id}/opinions/1/event`, {
      category: '0102', lon: P_001001[0], lat: P_001001[1],
    });
    assertError(twice, 409, 'conflict');
    assert.match(twice.json.error.message, new RegExp(`event ${ev.id}`));

    const v = await worker.get(`/api/v1/visits/${visit.id}`);
    assert.equal(v.json.opinions[0].event, ev.id);
    assert.equal(v.json.opinions[1].event, null);

    const own = await worker.post(`/api/v1/visits/${visit.id}/opinions/2/event`, {
      category: '0102', lon: P_001001[0], lat: P_001001[1], title: '义诊需求', address: '古一村活动中心',
    });
    assert.equal(own.status, 201, own.text);
    assert.equal(own.json.event.title, '义诊需求');
    assert.equal(own.json.event.address, '古一村活动中心');
  });

  test('bad visits and bad opinion events', async () => {
    const bad = [
      [{}, 400, 'missing_field', 'address'],
      [{ address: '' }, 400, 'invalid_input', 'address'],
      [{ address: 'x'.repeat(201) }, 400, 'invalid_input', 'address'],
      [{ address: 12 }, 400, 'wrong_type', 'address'],
      [{ address: 'a', opinions: 'x' }, 400, 'wrong_type', 'opinions'],
      [{ address: 'a', opinions: [1] }, 400, 'wrong_type', 'opinions[0]'],
      [{ address: 'a', opinions: ['ok', ''] }, 400, 'invalid_input', 'opinions[1]'],
      [{ address: 'a', opinions: Array(21).fill('x') }, 400, 'invalid_input', 'opinions'],
      [{ address: 'a', visited_at: iso(Date.now() - 31 * DAY) }, 400, 'invalid_input', 'visited_at'],
      [{ address: 'a', visited_at: iso(Date.now() + 10 * MIN) }, 400, 'invalid_input', 'visited_at'],
      [{ address: 'a', mood: 'good' }, 400, 'invalid_input', 'mood'],
      [{ address: 'a', grid: GRID2 }, 403, 'forbidden', undefined],
    ];
    for (const [body, status, code, field] of bad) assertError(await worker.post('/api/v1/visits', body), status, code, field);
    assertError(await dispatcher.post('/api/v1/visits', { address: 'a' }), 403, 'forbidden');

    const body = { category: '0102', lon: P_001001[0], lat: P_001001[1] };
    assertError(await worker.post(`/api/v1/visits/${visit.id}/opinions/3/event`, body), 404, 'not_found', 'n');
    assertError(await worker.post(`/api/v1/visits/${visit.id}/opinions/0/event`, body), 404, 'not_found', 'n');
    assertError(await worker.post(`/api/v1/visits/999999/opinions/1/event`, body), 404, 'not_found');
    assertError(await worker.post(`/api/v1/visits/${visit.id}/opinions/1/event`, { lon: 1, lat: 1 }), 400, 'missing_field', 'category');
    assertError(await worker.post(`/api/v1/visits/${visit.id}/opinions/1/event`, { category: '0102', lat: 22 }), 400, 'missing_field', 'lon');
    assertError(await worker.post(`/api/v1/visits/${visit.id}/opinions/1/event`, { ...body, lat: '22' }), 400, 'wrong_type', 'lat');
    assertError(await worker.post(`/api/v1/visits/${visit.id}/opinions/1/event`, { ...body, lat: 95 }), 400, 'invalid_input', 'lat');
    assertError(await worker.post(`/api/v1/visits/${visit.id}/opinions/1/event`, { ...body, source: 'x' }), 400, 'invalid_input', 'source');
  });
});

// ---- scope -----------------------------------------------------------------------------------

describe('who sees which patrols and visits', () => {
  let p, v, other;

  before(async () => {
    p = await start(worker, {});
    await upload(worker, p.id, [pt(Date.now() - 1000, P_001001)]);
    await stop(worker, p.id);
    const r = await worker.post('/api/v1/visits', { address: '古一村 3 号', opinions: ['垃圾桶不够'] });
    assert.equal(r.status, 201, r.text);
    v = r.json;
    other = await newWorker(); // same grid, another worker
  });

  test('a grid worker sees only its own; others are 404', async () => {
    for (const c of [worker2, other]) {
      assertError(await c.get(`/api/v1/patrols/${p.id}`), 404, 'not_found');
      assertError(await c.get(`/api/v1/patrols/${p.id}/track`), 404, 'not_found');
      assertError(await c.get(`/api/v1/patrols/${p.id}/track?format=geojson`), 404, 'not_found');
      assertError(await c.get(`/api/v1/visits/${v.id}`), 404, 'not_found');
      assertError(await c.post(`/api/v1/visits/${v.id}/opinions/1/event`, { category: '0102', lon: P_001001[0], lat: P_001001[1] }), 404, 'not_found');
      const pl = await c.get('/api/v1/patrols?limit=500');
      assert.equal(pl.status, 200, pl.text);
      assert.ok(pl.json.patrols.every((x) => x.worker.account_id === c.account.id), 'only its own patrols');
      const vl = await c.get('/api/v1/visits?limit=500');
      assert.equal(vl.status, 200, vl.text);
      assert.ok(vl.json.visits.every((x) => x.worker.account_id === c.account.id), 'only its own visits');
    }
    assertError(await other.get(`/api/v1/patrols?worker=${worker.account.id}`), 403, 'forbidden', 'worker');
    const mine = await worker.get('/api/v1/patrols');
    assert.ok(mine.json.patrols.some((x) => x.id === p.id));
    assert.ok(mine.json.patrols.every((x) => x.worker.login === 'demo.worker'));
    const vm = await worker.get('/api/v1/visits');
    assert.ok(vm.json.visits.some((x) => x.id === v.id));
  });

  test('readers see the patrols and visits of their grid scope', async () => {
    for (const c of [duty, dispatcher, station, leader]) {
      const g = await c.get(`/api/v1/patrols/${p.id}`);
      assert.equal(g.status, 200, g.text);
      assert.equal((await c.get(`/api/v1/patrols/${p.id}/track`)).status, 200);
      assert.equal((await c.get(`/api/v1/visits/${v.id}`)).status, 200);
    }
    // demo.worker2's patrol lies outside demo.station's village and demo.gridleader's grid.
    const p2 = await start(worker2, {});
    await stop(worker2, p2.id);
    assert.equal((await duty.get(`/api/v1/patrols/${p2.id}`)).status, 200);
    assertError(await station.get(`/api/v1/patrols/${p2.id}`), 404, 'not_found');
    assertError(await leader.get(`/api/v1/patrols/${p2.id}`), 404, 'not_found');
    const sl = await station.get('/api/v1/patrols?limit=500');
    assert.ok(sl.json.patrols.every((x) => x.grid.startsWith('442000105001')));
    assert.ok(!sl.json.patrols.some((x) => x.id === p2.id));
    assertError(await station.get('/api/v1/patrols?grid=442000105002'), 403, 'forbidden');
    // Citizens and department handlers read no patrols (no patrol.read): refused at the gate.
    assertError(await citizen.get(`/api/v1/patrols/${p.id}`), 403, 'forbidden');
    assertError(await citizen.get('/api/v1/patrols'), 403, 'forbidden');
    assertError(await server.handler.get('/api/v1/patrols'), 403, 'forbidden'); // department scope
  });

  test('lists filter by worker and grid and page newest first', async () => {
    const byWorker = await duty.get(`/api/v1/patrols?worker=${worker.account.id}&limit=2`);
    assert.equal(byWorker.status, 200, byWorker.text);
    assert.equal(byWorker.json.patrols.length, 2);
    assert.ok(byWorker.json.patrols.every((x) => x.worker.account_id === worker.account.id));
    assert.ok(byWorker.json.patrols[0].id > byWorker.json.patrols[1].id);
    const next = byWorker.json.next_before;
    assert.equal(next, byWorker.json.patrols[1].id);
    const page2 = await duty.get(`/api/v1/patrols?worker=${worker.account.id}&limit=2&before=${next}`);
    assert.ok(page2.json.patrols.every((x) => x.id < next));
    const byGrid = await duty.get(`/api/v1/patrols?grid=${GRID2}`);
    assert.ok(byGrid.json.patrols.length >= 1);
    assert.ok(byGrid.json.patrols.every((x) => x.grid === GRID2));
    assertError(await duty.get('/api/v1/patrols?grid=abc'), 400, 'invalid_input', 'grid');
    assertError(await duty.get('/api/v1/patrols?limit=501'), 400, 'invalid_input', 'limit');
    assertError(await duty.get('/api/v1/visits?before=x'), 400, 'invalid_input', 'before');
  });
});
