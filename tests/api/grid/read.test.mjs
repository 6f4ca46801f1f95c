// read.test.mjs: the read routes of the grid map over the Zhongshan demo: a
// grid's card (GET /api/v1/grids/:code), the grid list with its paging and
// filters, the divisions, the map settings and the GeoJSON export, each as
// seen by accounts of different scopes.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import {
  CITY, cli, GRID_COUNT, TOWN, VILLAGES, bbox, byCode, exportAll, listAllGrids, makeTemplate, metres, positions, request, signInAs,
  startDemoServer, wgs84ToGcj02,
} from './lib.mjs';

const G1 = '442000105001001';
const CLEAR_PHONE = /(?<!\d)1\d{10}(?!\d)/;

/** Every string value (and key) inside a JSON value. */
const strings = (v) => (typeof v === 'string' ? [v] : v && typeof v === 'object' ? Object.entries(v).flatMap(([k, x]) => [k, ...strings(x)]) : []);

let template;
let server;
let sys; // sys_admin: all
let duty; // duty_officer: grid:442000105
let station; // village_station: grid:442000105001
let worker; // grid_worker: grid:442000105001001
let hotline; // hotline_operator: grid:442000, but no grid.read
let all; // the full export, as the system administrator sees it

before(async () => {
  template = makeTemplate();
  server = await startDemoServer(template);
  sys = await signInAs(server, 'demo.sysadmin');
  duty = await signInAs(server, 'demo.duty');
  station = await signInAs(server, 'demo.station');
  worker = await signInAs(server, 'demo.worker');
  hotline = await signInAs(server, 'demo.hotline');
  all = await exportAll(sys);
});
after(async () => {
  await server?.stop();
  template?.remove();
});

describe('GET /api/v1/grids/:code: the card', () => {
  test('has code, name, kind, households, population, community, town, bbox, centroid and versions', async () => {
    const r = await duty.get(`/api/v1/grids/${G1}`);
    assert.equal(r.status, 200, r.text);
    const c = r.json;
    assert.equal(c.code, G1);
    assert.equal(c.name, '古镇社区第1网格');
    assert.equal(c.kind, 'territorial');
    assert.equal(c.sector_type, null);
    assert.ok(Number.isInteger(c.households) && c.households > 0, `households ${c.households}`);
    assert.ok(Number.isInteger(c.population) && c.population >= c.households, `population ${c.population}`);
    assert.deepEqual(c.community, { code: '442000105001', name: '古镇社区' });
    assert.deepEqual(c.town, { code: TOWN, name: '古镇镇' });
    assert.ok(c.area_m2 > 10_000 && c.area_m2 < 10_000_000, `area ${c.area_m2}`);
    assert.equal(c.version, 1);
    assert.equal(c.valid_to, null);
    assert.deepEqual(c.versions.map((v) => [v.version, v.valid_to]), [[1, null]]);
    assert.equal(c.versions[0].valid_from, c.valid_from);
    // The attributes match the export of the same grid.
    const f = byCode(all).get(G1);
    assert.equal(f.properties.households, c.households);
    assert.equal(f.properties.population, c.population);
    assert.equal(f.properties.name, c.name);
    const b = bbox(f.geometry);
    for (let i = 0; i < 4; i++) assert.ok(Math.abs(b[i] - c.bbox[i]) < 1e-9, `bbox ${c.bbox} vs the geometry's ${b}`);
  });

  test('lists its staff (一格多员) with masked phones like 155****9315, never a clear phone number', async () => {
    const r = await duty.get(`/api/v1/grids/${G1}`);
    assert.equal(r.status, 200, r.text);
    const staff = r.json.staff;
    assert.ok(staff.length >= 3, `the demo grid has several staff: ${staff.length}`);
    for (const s of staff) {
      assert.ok(Number.isInteger(s.worker_id), JSON.stringify(s));
      assert.equal(typeof s.name, 'string');
      assert.ok(['worker', 'leader', 'guide'].includes(s.role), JSON.stringify(s));
      assert.ok(['full_time', 'part_time'].includes(s.employment), JSON.stringify(s));
      if (s.phone !== null) assert.match(s.phone, /^1\d{2}\*{4}\d{4}$/, JSON.stringify(s));
    }
    assert.equal(staff.filter((s) => s.role === 'leader').length, 1, 'one grid leader');
    assert.ok(staff.some((s) => s.role === 'guide'), 'a guiding officer');
    assert.ok(staff.some((s) => s.role === 'worker'), 'grid workers');
    for (const v of strings(r.json)) assert.doesNotMatch(v, CLEAR_PHONE, 'no clear 11-digit phone number anywhere in the card');
    // The export counts the same workers and leaders.
    const distinct = new Set(staff.filter((s) => s.role !== 'guide').map((s) => s.worker_id));
    assert.equal(byCode(all).get(G1).properties.staff, distinct.size);
  });

  test('carries the duty list (职责清单) and admissible items (准入事项) of its kind', async () => {
    const [card, duties] = await Promise.all([duty.get(`/api/v1/grids/${G1}`), duty.get('/api/v1/grid-duties')]);
    assert.equal(duties.status, 200, duties.text);
    const territorial = duties.json.kinds.find((k) => k.kind === 'territorial');
    assert.ok(territorial && territorial.duties.length > 0, duties.text);
    assert.deepEqual(card.json.duties, territorial.duties);
    assert.deepEqual(card.json.admissible, territorial.admissible);
  });

  test('an unknown code, a non-digit code and a too long code are 404 not_found', async () => {
    for (const code of ['442000105001999', '442000105999001', '12345', 'abc', '44200010500100a', '4'.repeat(40), '%20']) {
      const r = await sys.get(`/api/v1/grids/${code}`);
      assert.equal(r.status, 404, `${code}: ${r.text}`);
      assert.equal(r.json.error.code, 'not_found', `${code}: ${r.text}`);
    }
  });

  test('a grid outside a grid worker\'s scope is 404, exactly like a missing one (not 403)', async () => {
    const other = await worker.get('/api/v1/grids/442000105002001');
    assert.equal(other.status, 404, other.text);
    assert.equal(other.json.error.code, 'not_found');
    assert.ok(!other.text.includes('古镇社区') && !other.text.includes('网格 '), other.text);
    const missing = await worker.get('/api/v1/grids/442000105001999');
    assert.equal(missing.status, 404);
    const shape = (x, code) => ({ code: x.json.error.code, message: x.json.error.message.replace(code, 'C'), field: x.json.error.field });
    assert.deepEqual(shape(other, '442000105002001'), shape(missing, '442000105001999'));
    // The village station sees the grids of its village, not the next one.
    assert.equal((await station.get('/api/v1/grids/442000105001004')).status, 200);
    assert.equal((await station.get('/api/v1/grids/442000105002001')).status, 404);
    // Its own grid it sees.
    assert.equal((await worker.get(`/api/v1/grids/${G1}`)).status, 200);
  });

  test('?at= in a bad format is 400 naming at; a date before the demo existed is 404', async () => {
    for (const at of ['yesterday', '2026-13-01', '2026-02-30', '2026-01-31T25:00:00Z', '2026-01-31T08:00:00+08:00', '1700000000', '']) {
      const r = await sys.get(`/api/v1/grids/${G1}?at=${encodeURIComponent(at)}`);
      assert.equal(r.status, 400, `at=${at}: ${r.text}`);
      assert.equal(r.json.error.code, 'invalid_input', `at=${at}: ${r.text}`);
      assert.equal(r.json.error.field, 'at');
    }
    const past = await sys.get(`/api/v1/grids/${G1}?at=2001-01-01`);
    assert.equal(past.status, 404, past.text);
    const now = await sys.get(`/api/v1/grids/${G1}?at=${new Date().toISOString()}`);
    assert.equal(now.status, 200, now.text);
  });

  test('without grid.read: 403; without a session: 401', async () => {
    assert.equal((await hotline.get(`/api/v1/grids/${G1}`)).status, 403);
    assert.equal((await request(server.base, 'GET', `/api/v1/grids/${G1}`)).status, 401);
  });
});

describe('GET /api/v1/grids: the list', () => {
  test('pages of 7 with after= give the 68 grids once each, in code order, then next_after null', async () => {
    const codes = await listAllGrids(sys, '', 7);
    assert.equal(codes.length, GRID_COUNT);
    assert.equal(new Set(codes).size, GRID_COUNT, 'no grid twice');
    assert.deepEqual(codes, [...codes].sort());
    const exported = all.features.filter((f) => f.properties.level === 'grid').map((f) => f.properties.code);
    assert.deepEqual(codes, exported);
  });

  test('a page carries the attributes without geometry, and next_after is the last code of a full page', async () => {
    const r = await sys.get('/api/v1/grids?limit=5');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.grids.length, 5);
    assert.equal(r.json.next_after, r.json.grids[4].code);
    const g = r.json.grids[0];
    for (const k of ['code', 'name', 'community_code', 'kind', 'households', 'population', 'area_m2', 'version', 'valid_from', 'staff']) {
      assert.ok(k in g, `${k} in ${JSON.stringify(g)}`);
    }
    assert.equal(g.geometry, undefined);
    assert.ok(!r.text.includes('coordinates'));
    const last = await sys.get(`/api/v1/grids?limit=1000&after=${r.json.grids[4].code}`);
    assert.equal(last.json.grids.length, GRID_COUNT - 5);
    assert.equal(last.json.next_after, null);
  });

  test('within= narrows to a village; kind= filters; each grid lies in its community', async () => {
    const v = await listAllGrids(sys, '&within=442000105001');
    assert.deepEqual(v, ['442000105001001', '442000105001002', '442000105001003', '442000105001004'].filter((c) => v.includes(c)));
    assert.ok(v.length >= 2 && v.every((c) => c.startsWith('442000105001')), JSON.stringify(v));
    assert.equal((await listAllGrids(sys, '&kind=territorial')).length, GRID_COUNT);
    assert.deepEqual(await listAllGrids(sys, '&kind=sector'), [], 'the demo has no sector grids');
    let total = 0;
    for (const village of VILLAGES) total += (await listAllGrids(sys, `&within=${village}`)).length;
    assert.equal(total, GRID_COUNT, 'the villages hold the 68 grids between them');
  });

  test('a grid worker sees one grid; the village station its village; within= outside the scope is 403', async () => {
    assert.deepEqual(await listAllGrids(worker), [G1]);
    const village = await listAllGrids(station);
    assert.ok(village.length >= 2 && village.every((c) => c.startsWith('442000105001')), JSON.stringify(village));
    // A wider within= is the scope itself.
    assert.deepEqual(await listAllGrids(worker, `&within=${TOWN}`), [G1]);
    const r = await worker.get('/api/v1/grids?within=442000105002');
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json.error.code, 'forbidden');
    assert.equal(r.json.error.field, 'within');
  });

  test('bad limit, kind, within, after and at are 400 naming the parameter', async () => {
    for (const [qs, field] of [
      ['limit=0', 'limit'], ['limit=1001', 'limit'], ['limit=abc', 'limit'], ['limit=', 'limit'], ['limit=-5', 'limit'], ['limit=5x', 'limit'],
      ['limit=99999999999999999999', 'limit'],
      ['kind=school', 'kind'], ['within=abc', 'within'], ['within=', 'within'], ['after=x%27', 'after'], ['at=soon', 'at'],
    ]) {
      const r = await sys.get(`/api/v1/grids?${qs}`);
      assert.equal(r.status, 400, `${qs}: ${r.text}`);
      assert.equal(r.json.error.field, field, `${qs}: ${r.text}`);
    }
  });
});

describe('GET /api/v1/staff', () => {
  test('the town has its 958 grid workers and 13 guiding officers on the roster, every phone masked', async () => {
    const r = await duty.get(`/api/v1/staff?grid=${TOWN}`);
    assert.equal(r.status, 200, r.text.slice(0, 300));
    const roster = r.json.staff.filter((s) => s.account_id === null); // the demo accounts of grid workers are on it too
    const workers = new Set(roster.filter((s) => s.role !== 'guide').map((s) => s.worker_id));
    const guides = new Set(roster.filter((s) => s.role === 'guide').map((s) => s.worker_id));
    assert.equal(workers.size, 958);
    assert.equal(guides.size, 13);
    const leaders = r.json.staff.filter((s) => s.role === 'leader');
    assert.equal(leaders.length, GRID_COUNT, 'one leader per grid');
    assert.equal(new Set(leaders.map((s) => s.grid)).size, GRID_COUNT);
    for (const s of r.json.staff) {
      if (s.phone !== null) assert.match(s.phone, /^1\d{2}\*{4}\d{4}$/, JSON.stringify(s));
    }
    for (const v of strings(r.json)) assert.doesNotMatch(v, CLEAR_PHONE);
  });
});

describe('GET /api/v1/divisions', () => {
  test('the top level is the city; ?parent= walks down to the town and its 13 villages, with grid counts', async () => {
    const top = await sys.get('/api/v1/divisions');
    assert.equal(top.status, 200, top.text);
    assert.deepEqual(top.json.divisions.map((d) => [d.code, d.level, d.name, d.parent]), [[CITY, 'city', '中山市', null]]);
    assert.equal(top.json.divisions[0].grids, GRID_COUNT);
    const towns = await sys.get(`/api/v1/divisions?parent=${CITY}`);
    assert.equal(towns.status, 200, towns.text);
    assert.deepEqual(towns.json.divisions.map((d) => [d.code, d.level, d.name, d.parent, d.grids]), [[TOWN, 'town', '古镇镇', CITY, GRID_COUNT]]);
    const villages = await sys.get(`/api/v1/divisions?parent=${TOWN}`);
    assert.equal(villages.status, 200, villages.text);
    assert.deepEqual(villages.json.divisions.map((d) => d.code), VILLAGES);
    assert.ok(villages.json.divisions.every((d) => d.level === 'village' && d.parent === TOWN && d.grids > 0 && d.area_m2 > 0));
    assert.equal(villages.json.divisions.reduce((n, d) => n + d.grids, 0), GRID_COUNT);
    // Each village's count agrees with the grid list.
    const v1 = villages.json.divisions.find((d) => d.code === '442000105001');
    assert.equal(v1.grids, (await listAllGrids(sys, '&within=442000105001')).length);
    assert.equal(villages.json.divisions.find((d) => d.code === '442000105001').name, '古镇社区');
    const none = await sys.get('/api/v1/divisions?parent=442000105001');
    assert.deepEqual(none.json.divisions, [], 'a village has no divisions under it');
  });

  test('a grid worker sees the path down to its grid only', async () => {
    const villages = await worker.get(`/api/v1/divisions?parent=${TOWN}`);
    assert.equal(villages.status, 200, villages.text);
    assert.deepEqual(villages.json.divisions.map((d) => d.code), ['442000105001']);
    const top = await worker.get('/api/v1/divisions');
    assert.deepEqual(top.json.divisions.map((d) => d.code), [CITY]);
  });

  test('a bad parent is 400; without grid.read 403', async () => {
    const r = await sys.get('/api/v1/divisions?parent=44x');
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.field, 'parent');
    assert.equal((await hotline.get('/api/v1/divisions')).status, 403);
  });
});

describe('GET /api/v1/map/config', () => {
  test('the bbox covers the caller\'s grids: the whole town for the duty officer, one grid for a worker; tile_url empty by default', async () => {
    const grids = all.features.filter((f) => f.properties.level === 'grid');
    const townBox = bbox(...grids.map((f) => f.geometry));
    const r = await duty.get('/api/v1/map/config');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.tile_url, '');
    assert.equal(r.json.tile_crs, 'wgs84');
    assert.equal(r.json.seq_width, 3);
    assert.equal(r.json.bbox.length, 4);
    for (let i = 0; i < 4; i++) assert.ok(Math.abs(r.json.bbox[i] - townBox[i]) < 1e-9, `bbox ${r.json.bbox} vs ${townBox}`);
    // 古镇 lies around 113.19 E, 22.61 N.
    assert.ok(r.json.bbox[0] < 113.19 && r.json.bbox[2] > 113.19 && r.json.bbox[1] < 22.61 && r.json.bbox[3] > 22.61, r.text);

    const w = await worker.get('/api/v1/map/config');
    assert.equal(w.status, 200, w.text);
    const gridBox = bbox(byCode(all).get(G1).geometry);
    for (let i = 0; i < 4; i++) assert.ok(Math.abs(w.json.bbox[i] - gridBox[i]) < 1e-9, `bbox ${w.json.bbox} vs ${gridBox}`);
  });

  test('a configured tile URL is passed on', async () => {
    const other = await startDemoServer(template, { 'map.tile_url': 'https://tiles.example.org/{z}/{x}/{y}.png', 'map.tile_crs': 'gcj02' });
    try {
      const c = await signInAs(other, 'demo.duty');
      const r = await c.get('/api/v1/map/config');
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.tile_url, 'https://tiles.example.org/{z}/{x}/{y}.png');
      assert.equal(r.json.tile_crs, 'gcj02');
    } finally {
      await other.stop();
    }
  });

  test('without grid.read 403, without a session 401', async () => {
    assert.equal((await hotline.get('/api/v1/map/config')).status, 403);
    assert.equal((await request(server.base, 'GET', '/api/v1/map/config')).status, 401);
  });
});

describe('GET /api/v1/grids/export', () => {
  const count = (col) => {
    const n = { city: 0, town: 0, village: 0, grid: 0 };
    for (const f of col.features) n[f.properties.level]++;
    return n;
  };

  test('a town-scoped account gets 1 town, 13 villages and 68 grids, plus the city as their ancestor, as application/geo+json', async () => {
    const r = await duty.get('/api/v1/grids/export');
    assert.equal(r.status, 200, r.text.slice(0, 300));
    assert.match(r.headers['content-type'], /^application\/geo\+json/);
    assert.equal(r.json.type, 'FeatureCollection');
    assert.deepEqual(count(r.json), { city: 1, town: 1, village: 13, grid: 68 });
    const codes = byCode(r.json);
    assert.ok(codes.has(CITY) && codes.has(TOWN));
    for (const v of VILLAGES) assert.equal(codes.get(v)?.properties.parent, TOWN, v);
    for (const f of r.json.features) {
      assert.equal(f.type, 'Feature');
      assert.ok(['Polygon', 'MultiPolygon'].includes(f.geometry?.type), `${f.properties.code} has a polygon`);
      if (f.properties.level === 'grid') {
        assert.equal(f.properties.parent, f.properties.code.slice(0, 12));
        for (const k of ['name', 'kind', 'households', 'population', 'area_m2', 'version', 'valid_from', 'staff']) {
          assert.ok(k in f.properties, `${k} in ${JSON.stringify(f.properties)}`);
        }
      }
    }
    for (const f of r.json.features) for (const v of strings(f.properties)) assert.doesNotMatch(v, CLEAR_PHONE, 'no phone numbers in the export');
  });

  test('a grid worker gets exactly its grid and its ancestors', async () => {
    const col = await exportAll(worker);
    assert.deepEqual(col.features.map((f) => [f.properties.level, f.properties.code]), [
      ['city', CITY], ['town', TOWN], ['village', '442000105001'], ['grid', G1],
    ]);
  });

  test('?level=grid gives only the grids; ?level=town,village only those; a bad level is 400', async () => {
    assert.deepEqual(count(await exportAll(duty, 'level=grid')), { city: 0, town: 0, village: 0, grid: 68 });
    assert.deepEqual(count(await exportAll(duty, 'level=town,village')), { city: 0, town: 1, village: 13, grid: 0 });
    for (const bad of ['street', '', 'grid,,x']) {
      const r = await duty.get(`/api/v1/grids/export?level=${bad}`);
      assert.equal(r.status, 400, `level=${bad}: ${r.text}`);
      assert.equal(r.json.error.field, 'level');
    }
  });

  test('?within= inside the scope narrows it; outside the scope is 403', async () => {
    const v = await exportAll(duty, 'within=442000105002&level=grid');
    assert.ok(v.features.length > 0 && v.features.every((f) => f.properties.code.startsWith('442000105002')));
    const r = await worker.get('/api/v1/grids/export?within=442000105002');
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json.error.code, 'forbidden');
    assert.ok(!r.text.includes('coordinates'));
    const s = await station.get('/api/v1/grids/export?within=442000105201');
    assert.equal(s.status, 403, s.text);
    const bad = await duty.get('/api/v1/grids/export?within=44200010500x');
    assert.equal(bad.status, 400, bad.text);
  });

  test('crs=gcj02 moves every coordinate as the published formula does, by a few hundred metres', async () => {
    const wgs = await exportAll(worker);
    const gcj = await exportAll(worker, 'crs=gcj02');
    assert.equal(gcj.features.length, wgs.features.length);
    let checked = 0;
    for (let i = 0; i < wgs.features.length; i++) {
      const a = positions(wgs.features[i].geometry);
      const b = positions(gcj.features[i].geometry);
      assert.equal(b.length, a.length);
      for (let k = 0; k < a.length; k++) {
        const want = wgs84ToGcj02(...a[k]);
        assert.ok(Math.abs(b[k][0] - want[0]) < 1e-6 && Math.abs(b[k][1] - want[1]) < 1e-6, `${a[k]} -> ${b[k]}, expected ${want}`);
        const d = metres(a[k], b[k]);
        assert.ok(d > 200 && d < 1000, `moved by ${d.toFixed(0)} m`);
        checked++;
      }
    }
    assert.ok(checked > 10);
    // Properties are not converted.
    assert.deepEqual(gcj.features.map((f) => f.properties), wgs.features.map((f) => f.properties));
    const bad = await worker.get('/api/v1/grids/export?crs=epsg3857');
    assert.equal(bad.status, 400, bad.text);
  });

  test('?at= a time before the demo existed exports the divisions but no grids; a bad at is 400', async () => {
    const past = await exportAll(duty, 'at=2001-01-01T00:00:00Z');
    assert.deepEqual(count(past).grid, 0);
    const r = await duty.get('/api/v1/grids/export?at=2001-01-01T00:00:00');
    assert.equal(r.status, 400, r.text);
  });

  test('the CLI export and the API export of the system administrator hold the same features', async () => {
    const out = `${server.dir}/cli-export.geojson`;
    const r = cli(server.dbPath, ['grid', 'export', out]);
    assert.equal(r.status, 0, r.stderr);
    const fromCli = JSON.parse(readFileSync(out, 'utf8'));
    assert.deepEqual(fromCli.features.map((f) => f.properties.code), all.features.map((f) => f.properties.code));
    assert.deepEqual(count(fromCli), { city: 1, town: 1, village: 13, grid: 68 });
  });

  test('without grid.read 403', async () => {
    assert.equal((await hotline.get('/api/v1/grids/export')).status, 403);
  });
});
