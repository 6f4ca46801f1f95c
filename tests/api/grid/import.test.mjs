// import.test.mjs: POST /api/v1/grids/validate and /import, and DELETE
// /api/v1/grids/:code, on good files: the export imported again changes
// nothing; a renamed grid gets a new version and the old one stays readable
// with ?at=; changed households are updated in place; a new town with a
// village and grids; numbering west to east, north to south; a gap is a
// warning only; a partial import; a redrawn border moves lookups at once;
// retiring a grid. Only the system administrator holds grid.manage.
//
// The tests of one file share a server and run in order: each builds on the
// state the previous ones left (new grids go to villages of a new town).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import {
  CITY, cli, GRID_COUNT, NEW_LAND, NEW_TOWN, NEW_TOWN_NAME, TOWN, assertInsideCity, boxArea, byCode, centre, exportAll, fc, gridFeature,
  interiorPoint, locate, makeTemplate, momentBefore, newTownFeatures, newVillage, problemsOf, quarters, rect, request, signInAs,
  startDemoServer, villageBox,
} from './lib.mjs';

let template;
let server;
let sys; // sys_admin: grid.manage, scope all
let duty; // duty_officer: grid.read and grid.staff on the town, not grid.manage
let original; // the export before any import

const validate = (body, qs = '') => sys.post(`/api/v1/grids/validate${qs}`, body);
const importFile = (body, qs = '') => sys.post(`/api/v1/grids/import${qs}`, body);

/** Imports and asserts 200; returns the result. */
async function importOk(body, qs = '') {
  const r = await importFile(body, qs);
  assert.equal(r.status, 200, r.text.slice(0, 2000));
  return r.json;
}

/** The one grid of the export as a file of its own. */
const gridFile = (col, code, props = {}) => {
  const f = structuredClone(byCode(col).get(code));
  Object.assign(f.properties, props);
  return fc([f]);
};

before(async () => {
  template = makeTemplate();
  server = await startDemoServer(template);
  sys = await signInAs(server, 'demo.sysadmin');
  duty = await signInAs(server, 'demo.duty');
  original = await exportAll(sys);
  assertInsideCity(byCode(original).get(CITY).geometry, NEW_LAND);
});
after(async () => {
  await server?.stop();
  template?.remove();
});

describe('permissions', () => {
  test('validate and import need grid.manage: the duty officer gets 403, no session 401', async () => {
    const body = fc([]);
    for (const path of ['/api/v1/grids/validate', '/api/v1/grids/import']) {
      const r = await duty.post(path, body);
      assert.equal(r.status, 403, `${path}: ${r.text}`);
      assert.equal(r.json.error.code, 'forbidden');
      const anon = await request(server.base, 'POST', path, { body });
      assert.equal(anon.status, 401, `${path}: ${anon.text}`);
    }
    const del = await duty.del('/api/v1/grids/442000105001001');
    assert.equal(del.status, 403, del.text);
    assert.equal((await duty.get('/api/v1/grids/442000105001001')).status, 200, 'the refused retire changed nothing');
  });
});

describe('the export imported again', () => {
  test('validates clean and imports with 68 grids unchanged and nothing else applied', async () => {
    const v = await validate(original);
    assert.equal(v.status, 200, v.text.slice(0, 2000));
    assert.equal(v.json.ok, true, v.text.slice(0, 2000));
    assert.equal(v.json.errors, 0);
    assert.deepEqual(v.json.problems, []);
    assert.equal(v.json.features, original.features.length);
    assert.deepEqual(v.json.changes, { divisions: 0, grids_new: 0, grids_changed: 0, grids_redrawn: 0, grids_updated: 0, grids_unchanged: GRID_COUNT });

    const r = await importOk(original);
    assert.deepEqual(r.applied, { divisions: 0, grids_new: 0, grids_changed: 0, grids_redrawn: 0, grids_updated: 0, grids_unchanged: GRID_COUNT });
    assert.deepEqual(r.skipped, []);
    const again = await exportAll(sys);
    assert.deepEqual(again, original, 'the map is exactly as it was (versions, valid_from, geometry)');
  });

  test('the CLI export imported over the API changes nothing either', async () => {
    const out = `${server.dir}/cli.geojson`;
    assert.equal(cli(server.dbPath, ['grid', 'export', out]).status, 0);
    const r = await importOk(readFileSync(out, 'utf8'));
    assert.equal(r.applied.grids_unchanged, GRID_COUNT);
    assert.equal(r.applied.grids_changed, 0);
  });
});

describe('changes to stored grids', () => {
  const RENAMED = '442000105001002';
  const UPDATED = '442000105001003';
  let beforeRename;

  test('a renamed grid is redrawn: version 2 now, version 1 still readable with ?at= before the import', async () => {
    const old = (await sys.get(`/api/v1/grids/${RENAMED}`)).json;
    const file = gridFile(original, RENAMED, { name: '古镇社区第2网格（新）' });
    const v = await validate(file);
    assert.equal(v.json.ok, true, v.text);
    assert.equal(v.json.changes.grids_redrawn, 1, v.text);
    assert.equal(v.json.changes.grids_changed, 1, v.text);
    assert.equal((await sys.get(`/api/v1/grids/${RENAMED}`)).json.version, 1, 'validate changed nothing');

    beforeRename = await momentBefore();
    const r = await importOk(file);
    assert.equal(r.applied.grids_redrawn, 1, JSON.stringify(r));
    assert.equal(r.applied.grids_new, 0);

    const now = await sys.get(`/api/v1/grids/${RENAMED}`);
    assert.equal(now.status, 200, now.text);
    assert.equal(now.json.name, '古镇社区第2网格（新）');
    assert.equal(now.json.version, 2);
    assert.equal(now.json.valid_to, null);
    assert.deepEqual(now.json.versions.map((x) => x.version), [1, 2]);
    assert.ok(now.json.versions[0].valid_to, 'version 1 is closed');
    assert.equal(now.json.versions[0].valid_to, now.json.versions[1].valid_from, 'version 2 opens when version 1 closes');
    assert.ok(now.json.versions[1].valid_from > beforeRename);

    const then = await sys.get(`/api/v1/grids/${RENAMED}?at=${beforeRename}`);
    assert.equal(then.status, 200, then.text);
    assert.equal(then.json.name, old.name);
    assert.equal(then.json.version, 1);
    assert.equal(then.json.households, old.households);

    // The list and the export show version 2, the export at the earlier moment version 1.
    const listed = (await sys.get(`/api/v1/grids?within=${RENAMED}`)).json.grids;
    assert.deepEqual(listed.map((g) => [g.code, g.version, g.name]), [[RENAMED, 2, '古镇社区第2网格（新）']]);
    const past = byCode(await exportAll(sys, `at=${beforeRename}&level=grid`)).get(RENAMED);
    assert.equal(past.properties.version, 1);
    assert.equal(past.properties.name, old.name);
    // Lookups answer the new name at once.
    const p = interiorPoint(byCode(original).get(RENAMED).geometry);
    const l = await locate(sys, ...p);
    assert.equal(l.json.grid.code, RENAMED);
    assert.equal(l.json.grid.name, '古镇社区第2网格（新）');
  });

  test('the same file imported twice: the second time changes nothing', async () => {
    const r = await importOk(gridFile(original, RENAMED, { name: '古镇社区第2网格（新）' }));
    assert.deepEqual(r.applied, { divisions: 0, grids_new: 0, grids_changed: 0, grids_redrawn: 0, grids_updated: 0, grids_unchanged: 1 });
    assert.equal((await sys.get(`/api/v1/grids/${RENAMED}`)).json.version, 2);
  });

  test('changed households and population are updated in place: same version, no new history', async () => {
    const old = (await sys.get(`/api/v1/grids/${UPDATED}`)).json;
    const r = await importOk(gridFile(original, UPDATED, { households: old.households + 7, population: old.population + 20 }));
    assert.equal(r.applied.grids_updated, 1, JSON.stringify(r));
    assert.equal(r.applied.grids_redrawn, 0);
    const now = (await sys.get(`/api/v1/grids/${UPDATED}`)).json;
    assert.equal(now.households, old.households + 7);
    assert.equal(now.population, old.population + 20);
    assert.equal(now.version, 1);
    assert.equal(now.versions.length, 1);
    assert.equal(now.name, old.name);
  });
});

describe('a new town, its villages and grids', () => {
  const V1 = newVillage(1);
  const q1 = quarters(villageBox(1));
  const codes1 = { nw: `${V1}001`, ne: `${V1}002`, sw: `${V1}003`, se: `${V1}004` };

  test('with the codes given: validate says what would change, import applies it, locate finds the grids at once', async () => {
    const file = fc([
      ...newTownFeatures(),
      ...Object.entries(codes1).map(([q, code]) => gridFeature(code, `测试1村${q}网格`, rect(...q1[q]), { households: 100, population: 300 })),
    ]);
    for (const q of Object.keys(codes1)) {
      const before = await locate(sys, ...centre(q1[q]));
      assert.equal(before.json.found, false, 'the land is empty before the import');
    }
    const v = await validate(file);
    assert.equal(v.status, 200, v.text);
    assert.equal(v.json.ok, true, v.text);
    assert.equal(v.json.warnings, 0, v.text);
    assert.deepEqual(v.json.changes, { divisions: 5, grids_new: 4, grids_changed: 0, grids_redrawn: 0, grids_updated: 0, grids_unchanged: 0 });
    assert.ok(Math.abs(v.json.total_area_m2 - 2 * boxArea(NEW_LAND) - boxArea(villageBox(1))) / v.json.total_area_m2 < 0.01, v.text);

    const r = await importOk(file);
    assert.deepEqual(r.applied, { divisions: 5, grids_new: 4, grids_changed: 0, grids_redrawn: 0, grids_updated: 0, grids_unchanged: 0 });

    for (const [q, code] of Object.entries(codes1)) {
      const l = await locate(sys, ...centre(q1[q]));
      assert.equal(l.status, 200, l.text);
      assert.equal(l.json.found, true, `the new grid ${code} is found right after the import: ${l.text}`);
      assert.equal(l.json.grid.code, code);
      assert.equal(l.json.grid.name, `测试1村${q}网格`);
      assert.deepEqual(l.json.community, { code: V1, name: '测试1村' });
      assert.deepEqual(l.json.town, { code: NEW_TOWN, name: NEW_TOWN_NAME });
    }
    const card = await sys.get(`/api/v1/grids/${codes1.nw}`);
    assert.equal(card.status, 200, card.text);
    assert.equal(card.json.version, 1);
    assert.equal(card.json.households, 100);
    assert.deepEqual(card.json.staff, []);
    assert.ok(Math.abs(card.json.area_m2 - boxArea(q1.nw)) / card.json.area_m2 < 0.01, `area ${card.json.area_m2}`);

    const towns = await sys.get(`/api/v1/divisions?parent=${CITY}`);
    assert.deepEqual(towns.json.divisions.map((d) => [d.code, d.grids]), [[TOWN, GRID_COUNT], [NEW_TOWN, 4]]);
    const villages = await sys.get(`/api/v1/divisions?parent=${NEW_TOWN}`);
    assert.deepEqual(villages.json.divisions.map((d) => [d.code, d.grids]), [[V1, 4], [newVillage(2), 0], [newVillage(3), 0], [newVillage(4), 0]]);
    // The duty officer of 古镇 does not see the new town.
    const dutyTowns = await duty.get(`/api/v1/divisions?parent=${CITY}`);
    assert.deepEqual(dutyTowns.json.divisions.map((d) => d.code), [TOWN]);
    assert.equal((await duty.get(`/api/v1/grids/${codes1.nw}`)).status, 404);
    const dutyLocate = await locate(duty, ...centre(q1.nw));
    assert.equal(dutyLocate.json.in_scope, false, dutyLocate.text);
  });

  test('?number=true gives codes to grids that name their community, west to east, north to south', async () => {
    const V2 = newVillage(2);
    const q2 = quarters(villageBox(2));
    // In a scrambled file order, without codes.
    const order = ['se', 'nw', 'sw', 'ne'];
    const file = fc(order.map((q) => gridFeature(null, `测试2村${q}网格`, rect(...q2[q]), { community: V2 })));

    const without = await validate(file);
    assert.equal(without.json.ok, false, 'without numbering the grids have no code');
    assert.equal(problemsOf(without.json, 'missing_code').length, 4, without.text);
    const refused = await importFile(file);
    assert.equal(refused.status, 422, refused.text);

    const v = await validate(file, '?number=true');
    assert.equal(v.json.ok, true, v.text);
    assert.equal(v.json.changes.grids_new, 4, v.text);
    const r = await importOk(file, '?number=true');
    assert.equal(r.applied.grids_new, 4, JSON.stringify(r));
    const want = { nw: `${V2}001`, ne: `${V2}002`, sw: `${V2}003`, se: `${V2}004` };
    for (const [q, code] of Object.entries(want)) {
      const l = await locate(sys, ...centre(q2[q]));
      assert.equal(l.json.grid?.code, code, `the ${q} grid is numbered ${code}: ${l.text}`);
      assert.equal(l.json.grid.name, `测试2村${q}网格`);
    }
    const bad = await validate(file, '?number=yes');
    assert.equal(bad.status, 400, bad.text);
  });

  test('numbering continues after the highest code the community has', async () => {
    const V2 = newVillage(2);
    // Redraw nothing: a sector grid (专属网格) over the NE quarter needs no room of its own.
    const file = fc([gridFeature(null, '测试2村学校', rect(...quarters(quarters(villageBox(2)).ne).sw), { community: V2, kind: 'sector', sector_type: 'school' })]);
    const r = await importOk(file, '?number=true');
    assert.equal(r.applied.grids_new, 1, JSON.stringify(r));
    const card = await sys.get(`/api/v1/grids/${V2}005`);
    assert.equal(card.status, 200, card.text);
    assert.equal(card.json.kind, 'sector');
    assert.equal(card.json.sector_type, 'school');
    // A point in it answers the territorial grid, with the sector grid beside it.
    const l = await locate(sys, ...centre(quarters(quarters(villageBox(2)).ne).sw));
    assert.equal(l.json.grid.code, `${V2}002`, l.text);
    assert.deepEqual(l.json.sector_grids.map((s) => [s.code, s.sector_type]), [[`${V2}005`, 'school']]);
    // The sector grid's card carries the school duty list.
    const duties = (await sys.get('/api/v1/grid-duties')).json.kinds.find((k) => k.kind === 'sector:school');
    assert.deepEqual(card.json.duties, duties.duties);
  });

  test('a gap inside a village is a warning (kind gap, with its area and a point) that does not block the import', async () => {
    const V3 = newVillage(3);
    const q3 = quarters(villageBox(3));
    // Only the two southern quarters: the northern half of the village is in no grid.
    const file = fc([
      gridFeature(`${V3}001`, '测试3村西南网格', rect(...q3.sw)),
      gridFeature(`${V3}002`, '测试3村东南网格', rect(...q3.se)),
    ]);
    const v = await validate(file);
    assert.equal(v.status, 200, v.text);
    assert.equal(v.json.ok, true, `a gap is no error: ${v.text}`);
    assert.equal(v.json.errors, 0);
    assert.equal(v.json.warnings, 1, v.text);
    const [gap] = problemsOf(v.json, 'gap');
    assert.ok(gap, v.text);
    assert.equal(gap.severity, 'warning');
    assert.equal(gap.code, V3);
    const north = [villageBox(3)[0], q3.nw[1], villageBox(3)[2], villageBox(3)[3]];
    assert.ok(Math.abs(gap.area_m2 - boxArea(north)) / boxArea(north) < 0.01, `gap ${gap.area_m2} m2, expected ~${boxArea(north)}`);
    assert.ok(gap.lat > q3.nw[1] && gap.lat < north[3] && gap.lon > north[0] && gap.lon < north[2], `the gap's point lies in it: ${JSON.stringify(gap)}`);

    const r = await importOk(file);
    assert.equal(r.applied.grids_new, 2);
    assert.equal(r.report.warnings, 1);
    assert.equal((await locate(sys, ...centre(q3.sw))).json.grid?.code, `${V3}001`);
    assert.equal((await locate(sys, ...centre(q3.nw))).json.found, false, 'the gap is in no grid');
  });

  test('partial=true applies the good features and lists the skipped ones; without it nothing is applied', async () => {
    const V4 = newVillage(4);
    const q4 = quarters(villageBox(4));
    const [w, s] = q4.ne;
    const file = fc([
      gridFeature(`${V4}001`, '测试4村西北网格', rect(...q4.nw)),
      gridFeature(`${V4}002`, '测试4村东北网格', { type: 'Polygon', coordinates: [[[w, s], [w + 0.01, s], [w + 0.01, s + 0.01], [w, s + 0.01]]] }), // not closed
      gridFeature(`${V4}003`, '测试4村西南网格', rect(...q4.sw)),
      gridFeature(`${V4}04`, '测试4村东南网格', rect(...q4.se)), // a 2-digit sequence
    ]);
    const all = await importFile(file);
    assert.equal(all.status, 422, all.text);
    assert.equal(all.json.error.code, 'invalid_grids');
    assert.equal((await locate(sys, ...centre(q4.nw))).json.found, false, 'nothing was applied');

    const part = await importOk(file, '?partial=true');
    assert.deepEqual(part.skipped, [1, 3], JSON.stringify(part));
    assert.equal(part.applied.grids_new, 2, JSON.stringify(part));
    assert.deepEqual(problemsOf(part.report, 'ring_not_closed').map((p) => p.feature), [1]);
    assert.deepEqual(problemsOf(part.report, 'invalid_code').map((p) => p.feature), [3]);
    assert.equal((await locate(sys, ...centre(q4.nw))).json.grid?.code, `${V4}001`);
    assert.equal((await locate(sys, ...centre(q4.sw))).json.grid?.code, `${V4}003`);
    assert.equal((await sys.get(`/api/v1/grids/${V4}002`)).status, 404, 'the skipped grid was not applied');
    assert.equal((await locate(sys, ...centre(q4.ne))).json.found, false);
    const bad = await importFile(file, '?partial=maybe');
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.json.error.field, 'partial');
  });

  test('a border moved between two grids: both are redrawn and lookups follow at once', async () => {
    const V1 = newVillage(1);
    const { nw, ne } = quarters(villageBox(1));
    // Move the border between NW and NE 0.002 degrees east.
    const x = Number((nw[2] + 0.002).toFixed(6));
    const probe = [Number((nw[2] + 0.001).toFixed(6)), centre(nw)[1]];
    assert.equal((await locate(sys, ...probe)).json.grid.code, `${V1}002`, 'the probe lies in NE before');
    const at = await momentBefore();
    const r = await importOk(fc([
      gridFeature(`${V1}001`, '测试1村nw网格', rect(nw[0], nw[1], x, nw[3]), { households: 100, population: 300 }),
      gridFeature(`${V1}002`, '测试1村ne网格', rect(x, ne[1], ne[2], ne[3]), { households: 100, population: 300 }),
    ]));
    assert.equal(r.applied.grids_redrawn, 2, JSON.stringify(r));
    assert.equal(r.report.warnings, 0, JSON.stringify(r.report));
    const l = await locate(sys, ...probe);
    assert.equal(l.json.grid.code, `${V1}001`, `the probe lies in NW now: ${l.text}`);
    const then = await sys.get(`/api/v1/grids/${V1}001?at=${at}`);
    assert.equal(then.json.version, 1);
    assert.ok(then.json.bbox[2] < x, 'version 1 has its old outline');
    assert.equal((await sys.get(`/api/v1/grids/${V1}001`)).json.version, 2);
  });
});

describe('more shapes and changes', () => {
  test('a grid with a hole and a grid in the hole; a MultiPolygon grid: lookups answer each part', async () => {
    const V4 = newVillage(4);
    const { ne, se } = quarters(villageBox(4));
    const [w, s, e, n] = ne;
    const r6 = (x) => Number(x.toFixed(6));
    const hole = [r6(w + 0.003), r6(s + 0.003), r6(e - 0.003), r6(n - 0.003)];
    const holeRing = [[hole[0], hole[1]], [hole[0], hole[3]], [hole[2], hole[3]], [hole[2], hole[1]], [hole[0], hole[1]]]; // clockwise
    const a = [r6(se[0] + 0.001), r6(se[1] + 0.001), r6(se[0] + 0.004), r6(se[1] + 0.004)];
    const b = [r6(se[2] - 0.004), r6(se[3] - 0.004), r6(se[2] - 0.001), r6(se[3] - 0.001)];
    const file = fc([
      gridFeature(`${V4}002`, '回字网格', { type: 'Polygon', coordinates: [rect(...ne).coordinates[0], holeRing] }),
      gridFeature(`${V4}004`, '岛网格', rect(...hole)),
      gridFeature(`${V4}005`, '飞地网格', { type: 'MultiPolygon', coordinates: [rect(...a).coordinates, rect(...b).coordinates] }),
    ]);
    const v = await validate(file);
    assert.equal(v.json.ok, true, v.text);
    await importOk(file);
    assert.equal((await locate(sys, (w + hole[0]) / 2, (s + n) / 2)).json.grid?.code, `${V4}002`, 'the ring around the hole');
    assert.equal((await locate(sys, ...centre(hole))).json.grid?.code, `${V4}004`, 'the hole is the island grid');
    assert.equal((await locate(sys, ...centre(a))).json.grid?.code, `${V4}005`, 'the first part of the MultiPolygon');
    assert.equal((await locate(sys, ...centre(b))).json.grid?.code, `${V4}005`, 'the second part of the MultiPolygon');
    assert.equal((await locate(sys, ...centre(se))).json.found, false, 'between the parts');
    // The border of the hole is shared: the smaller code answers.
    assert.equal((await locate(sys, hole[0], hole[1])).json.grid?.code, `${V4}002`);
    // The export gives them back as they were: importing it again changes nothing.
    const exp = await exportAll(sys, `within=${V4}`);
    const again = await importOk(fc(exp.features.filter((f) => f.properties.level === 'grid')));
    assert.equal(again.applied.grids_changed, 0, JSON.stringify(again));
    assert.equal(byCode(exp).get(`${V4}005`).geometry.type, 'MultiPolygon');
  });

  test('a renamed village: the division is updated and lookups give the new community name at once', async () => {
    const exp = await exportAll(sys, 'within=442000105201&level=village');
    const [f] = exp.features;
    assert.equal(f.properties.code, '442000105201');
    const p = interiorPoint(byCode(original).get('442000105201001').geometry);
    const oldName = (await locate(sys, ...p)).json.community.name;
    assert.equal(oldName, f.properties.name);
    f.properties.name = `${f.properties.name}（改名）`;
    const r = await importOk(fc([f]));
    assert.equal(r.applied.divisions, 1, JSON.stringify(r));
    assert.equal(r.applied.grids_changed, 0);
    const l = await locate(sys, ...p);
    assert.equal(l.json.community.name, f.properties.name, l.text);
    assert.equal((await sys.get('/api/v1/grids/442000105201001')).json.community.name, f.properties.name);
    const d = (await sys.get(`/api/v1/divisions?parent=${TOWN}`)).json.divisions.find((x) => x.code === '442000105201');
    assert.equal(d.name, f.properties.name);
  });

  test('lookups go on during an import: every answer is 200 and right', async () => {
    const p = interiorPoint(byCode(original).get('442000105207002').geometry);
    const exp = await exportAll(sys);
    const lookups = Array.from({ length: 60 }, (_, i) => new Promise((res) => setTimeout(res, i * 2)).then(() => locate(duty, ...p)));
    const [imp, ...answers] = await Promise.all([importFile(exp), ...lookups]);
    assert.equal(imp.status, 200, imp.text.slice(0, 500));
    for (const a of answers) {
      assert.equal(a.status, 200, a.text);
      assert.equal(a.json.grid?.code, '442000105207002', a.text);
    }
  });

  test('concurrent imports of overlapping new grids: exactly one is applied, the map keeps no overlap', async () => {
    const V3 = newVillage(3);
    const [w, , e, n] = villageBox(3);
    const mid = quarters(villageBox(3)).nw[1];
    // Five files, each alone valid, each a grid over most of the free north half of village 3.
    const files = [3, 4, 5, 6, 7].map((k, i) =>
      fc([gridFeature(`${V3}00${k}`, `抢占网格${k}`, rect(w + 0.001 * i, mid, e - 0.001 * (4 - i), n))]));
    for (const f of files) assert.equal((await validate(f)).json.ok, true);
    const rs = await Promise.all(files.map((f) => importFile(f)));
    const statuses = rs.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 200).length, 1, `one import wins: ${statuses} ${rs.map((r) => r.text.slice(0, 200)).join('\n')}`);
    for (const r of rs.filter((x) => x.status !== 200)) {
      assert.equal(r.status, 422, r.text.slice(0, 500));
      assert.ok(problemsOf(r.json.report, 'overlap').length > 0, r.text.slice(0, 500));
    }
    // Whatever happened, the stored map has no overlapping grids.
    const whole = await validate(await exportAll(sys));
    assert.deepEqual(problemsOf(whole.json, 'overlap'), [], 'no overlaps in the store');
  });

  test('concurrent imports of the same new grid: one is applied, the other refused or unchanged, never a 5xx', async () => {
    const V3 = newVillage(3);
    const [w, s] = villageBox(3);
    // A sector grid, so that it needs no free land; the same file twice at once.
    const file = fc([gridFeature(`${V3}009`, '同时导入', rect(w + 0.001, s + 0.001, w + 0.002, s + 0.002), { kind: 'sector', sector_type: 'park' })]);
    const rs = await Promise.all([importFile(file), importFile(file), importFile(file)]);
    for (const r of rs) assert.ok(r.status < 500, `no server error: ${r.status} ${r.text.slice(0, 300)}`);
    assert.ok(rs.filter((r) => r.status === 200).some((r) => r.json.applied.grids_new === 1), rs.map((r) => r.text.slice(0, 200)).join('\n'));
    assert.equal(rs.filter((r) => r.status === 200 && r.json.applied.grids_new === 1).length, 1, 'the grid is new once');
    const card = await sys.get(`/api/v1/grids/${V3}009`);
    assert.equal(card.json.versions.length, 1, card.text);
  });

  test('every applied import leaves one audit record grid.import', async () => {
    const auditor = await signInAs(server, 'demo.auditadmin');
    const r = await auditor.get('/api/v1/audit?action=grid.import&limit=500');
    assert.equal(r.status, 200, r.text);
    const mine = r.json.records.filter((x) => x.actor_login === 'demo.sysadmin');
    assert.ok(mine.length >= 10, `${mine.length} grid.import records of the system administrator`);
    assert.ok(mine.every((x) => x.result === 'ok' && x.remote === '127.0.0.1'), JSON.stringify(mine).slice(0, 500));
    assert.ok(mine.some((x) => /divisions 5, grids new 4/.test(x.detail)), `the detail counts what changed: ${mine.map((x) => x.detail)}`);
    // The demo load was an import by the CLI.
    assert.ok(r.json.records.some((x) => x.actor_login === null || x.actor_login === undefined), 'the demo load by the CLI is on record too');
  });
});

describe('DELETE /api/v1/grids/:code: retiring a grid', () => {
  const CODE = '442000105001004';

  test('the card is 404 now, ?at= before still shows it, locate no longer finds it, its staff assignments end', async () => {
    const card = (await sys.get(`/api/v1/grids/${CODE}`)).json;
    assert.ok(card.staff.length > 0);
    const p = interiorPoint(byCode(original).get(CODE).geometry);
    assert.equal((await locate(sys, ...p)).json.grid.code, CODE);
    const at = await momentBefore();

    const r = await sys.del(`/api/v1/grids/${CODE}`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { code: CODE, retired: true });

    const now = await sys.get(`/api/v1/grids/${CODE}`);
    assert.equal(now.status, 404, now.text);
    assert.equal(now.json.error.code, 'not_found');
    const then = await sys.get(`/api/v1/grids/${CODE}?at=${at}`);
    assert.equal(then.status, 200, then.text);
    assert.equal(then.json.code, CODE);
    assert.equal(then.json.name, card.name);
    assert.ok(then.json.versions.at(-1).valid_to, 'its last version is closed');
    const l = await locate(sys, ...p);
    assert.equal(l.status, 200, l.text);
    assert.equal(l.json.found, false, `a point of the retired grid is in no grid now: ${l.text}`);

    const list = (await sys.get('/api/v1/grids?within=442000105001')).json.grids.map((g) => g.code);
    assert.ok(!list.includes(CODE), JSON.stringify(list));
    const staff = (await sys.get(`/api/v1/staff?grid=${CODE}`)).json.staff;
    assert.deepEqual(staff, [], 'nobody serves a retired grid');
    const villages = (await sys.get(`/api/v1/divisions?parent=${TOWN}`)).json.divisions;
    assert.equal(villages.find((d) => d.code === '442000105001').grids, 3);
  });

  test('retiring it again, an unknown grid or a non-digit code is 404', async () => {
    for (const code of [CODE, '442000105001999', 'abc']) {
      const r = await sys.del(`/api/v1/grids/${code}`);
      assert.equal(r.status, 404, `${code}: ${r.text}`);
      assert.equal(r.json.error.code, 'not_found');
    }
  });

  test('the export at a moment before still has it; an import of the old file brings it back as version 2', async () => {
    const r = await importOk(gridFile(original, CODE));
    assert.equal(r.applied.grids_new + r.applied.grids_redrawn, 1, JSON.stringify(r));
    const card = await sys.get(`/api/v1/grids/${CODE}`);
    assert.equal(card.status, 200, card.text);
    assert.equal(card.json.version, 2, 'a new version; version 1 keeps its history');
    const p = interiorPoint(byCode(original).get(CODE).geometry);
    assert.equal((await locate(sys, ...p)).json.grid?.code, CODE);
  });
});
