// bad-input.test.mjs: grid files with problems (issue #4, "Bad input"). Each
// file is sent to POST /api/v1/grids/validate (200, ok:false, a report that
// names the feature and the problem) and to POST /api/v1/grids/import (422
// invalid_grids with the same report), and afterwards the map must be exactly
// as before: nothing is applied unless everything is valid. Files that are
// not JSON are refused by the body parser (400 malformed_json), bodies over
// http.max_upload with 413.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { openRaw, rawRequest } from '../lib/server.mjs';
import {
  CITY, NEW_LAND, assertInsideCity, boxArea, byCode, exportAll, fc, feature, fixture, fixtureText, gridFeature, interiorPoint,
  makeTemplate, newTownFeatures, newVillage, problemsOf, quarters, rect, request, signInAs, startDemoServer, villageBox,
} from './lib.mjs';

let template;
let server;
let sys;
let baseline; // the export text before anything was tried

before(async () => {
  template = makeTemplate();
  server = await startDemoServer(template);
  sys = await signInAs(server, 'demo.sysadmin');
  const r = await sys.get('/api/v1/grids/export');
  assert.equal(r.status, 200);
  baseline = r.text;
  assertInsideCity(byCode(r.json).get(CITY).geometry, NEW_LAND);
});
after(async () => {
  await server?.stop();
  template?.remove();
});

/** The map is exactly as it was before (export, divisions). */
async function assertUnchanged(what) {
  const r = await sys.get('/api/v1/grids/export');
  assert.equal(r.status, 200);
  assert.ok(r.text === baseline, `${what}: the map changed although the file was refused`);
}

/**
 * Sends the file to validate and import; both must report a problem of `kind`
 * (on feature `featureIdx` when given); returns the validate report's problems of that kind.
 */
async function refused(file, kind, { featureIdx, what = kind } = {}) {
  const v = await sys.post('/api/v1/grids/validate', file);
  assert.equal(v.status, 200, `${what}: validate answers 200 with a report: ${v.text.slice(0, 1500)}`);
  assert.equal(v.json.ok, false, `${what}: ${v.text.slice(0, 1500)}`);
  assert.ok(v.json.errors >= 1, `${what}: ${v.text.slice(0, 1500)}`);
  const found = problemsOf(v.json, kind);
  assert.ok(found.length > 0, `${what}: a problem of kind ${kind} in ${JSON.stringify(v.json.problems)}`);
  for (const p of v.json.problems) {
    assert.equal(typeof p.message, 'string');
    assert.ok(p.message.length > 0, JSON.stringify(p));
    assert.ok(['error', 'warning'].includes(p.severity), JSON.stringify(p));
    assert.ok(p.feature === null || Number.isInteger(p.feature), JSON.stringify(p));
  }
  if (featureIdx !== undefined) {
    assert.ok(found.some((p) => p.feature === featureIdx), `${what}: ${kind} names feature ${featureIdx}: ${JSON.stringify(found)}`);
  }

  const i = await sys.post('/api/v1/grids/import', file);
  assert.equal(i.status, 422, `${what}: import ${i.text.slice(0, 1500)}`);
  assert.equal(i.json.error.code, 'invalid_grids');
  assert.equal(typeof i.json.error.message, 'string');
  assert.ok(i.json.error.request_id, 'the error has its request id');
  assert.ok(i.json.report, 'the refusal carries the report');
  assert.equal(i.json.report.ok, false);
  assert.ok(problemsOf(i.json.report, kind).length > 0, `${what}: import report ${JSON.stringify(i.json.report.problems)}`);
  assert.equal(i.json.applied, undefined);
  await assertUnchanged(what);
  return found;
}

const V1 = newVillage(1);
const B1 = villageBox(1);
/** A grid of new village 1 with the town and its villages in the same file (so that its parents exist). */
const inNewTown = (...grids) => fc([...newTownFeatures(), ...grids]);

describe('geometry problems', () => {
  test('two new grids that overlap: overlap naming both features, with the area in m2 and a point inside the overlap', async () => {
    const [w, s, , n] = B1;
    const a = [w, s, w + 0.012, n];
    const b = [w + 0.008, s, w + 0.02, n];
    const file = inNewTown(gridFeature(`${V1}001`, '甲', rect(...a)), gridFeature(`${V1}002`, '乙', rect(...b)));
    const [p] = await refused(file, 'overlap');
    const idx = [5, 6]; // after the town and its four villages
    assert.ok(idx.includes(p.feature) && idx.includes(p.other_feature) && p.feature !== p.other_feature, JSON.stringify(p));
    assert.deepEqual([p.code, p.other_code].sort(), [`${V1}001`, `${V1}002`]);
    const want = boxArea([w + 0.008, s, w + 0.012, n]);
    assert.ok(Math.abs(p.area_m2 - want) / want < 0.01, `overlap ${p.area_m2} m2, expected ~${want.toFixed(0)}`);
    assert.ok(p.lon > w + 0.008 && p.lon < w + 0.012 && p.lat > s && p.lat < n, `the location lies in the overlap: ${JSON.stringify(p)}`);
  });

  test('a new grid overlapping a stored grid: overlap naming the stored grid, with the area', async () => {
    // A small square inside 442000105001001, given as a new grid of the same village.
    const exp = await exportAll(sys, 'level=grid&within=442000105001001');
    const [x, y] = interiorPoint(exp.features[0].geometry);
    const box = [x - 0.0005, y - 0.0005, x + 0.0005, y + 0.0005];
    const file = fc([gridFeature('442000105001099', '重叠网格', rect(...box))]);
    const [p] = await refused(file, 'overlap', { featureIdx: 0 });
    assert.equal(p.code, '442000105001099');
    assert.match(p.message, /442000105001001/, 'the message names the stored grid');
    assert.ok(Math.abs(p.area_m2 - boxArea(box)) / boxArea(box) < 0.01, `overlap ${p.area_m2}, expected ~${boxArea(box).toFixed(0)}`);
    assert.ok(Math.abs(p.lon - x) < 0.0005 && Math.abs(p.lat - y) < 0.0005, JSON.stringify(p));
    assert.equal(p.other_code, '442000105001001', `the pair is named by code, as for two features of the file: ${JSON.stringify(p)}`);
  });

  test('a self-intersecting polygon (a bow tie): invalid_geometry with the lon/lat of the crossing', async () => {
    const [p] = await refused(inNewTown(...fixture('bowtie.geojson').features), 'invalid_geometry', { featureIdx: 5 });
    assert.match(p.message, /self.?intersection/i, JSON.stringify(p));
    assert.ok(Math.abs(p.lon - 113.385) < 1e-6 && Math.abs(p.lat - 22.505) < 1e-6, `the crossing is at (113.385, 22.505): ${JSON.stringify(p)}`);
    assert.equal(p.code, `${V1}001`);
  });

  test('a ring that is not closed: ring_not_closed', async () => {
    const [p] = await refused(fixtureText('ring-not-closed.geojson'), 'ring_not_closed', { featureIdx: 0 });
    assert.equal(p.code, '442000199201001');
  });

  test('a ring of three positions, and one of two: too_few_points', async () => {
    await refused(fixtureText('too-few-points.geojson'), 'too_few_points', { featureIdx: 0 });
    await refused(fc([gridFeature(`${V1}001`, '二点', { type: 'Polygon', coordinates: [[[113.38, 22.5], [113.38, 22.5]]] })]), 'too_few_points');
  });

  test('lat/lon swapped: swapped_lon_lat, located where the point would be the right way round', async () => {
    const [p] = await refused(fixtureText('swapped.geojson'), 'swapped_lon_lat', { featureIdx: 0 });
    assert.ok(p.lon > 113 && p.lon < 114 && p.lat > 22 && p.lat < 23, `the location is given as lon, lat: ${JSON.stringify(p)}`);
  });

  test('coordinates outside China: outside_china with the position', async () => {
    const [p] = await refused(fixtureText('outside-china.geojson'), 'outside_china', { featureIdx: 0 });
    assert.ok(Math.abs(p.lon - 2.34) < 1e-6 && Math.abs(p.lat - 48.85) < 1e-6, JSON.stringify(p));
  });

  test('positions that are not two numbers, and a geometry that is not a polygon', async () => {
    await refused(fc([gridFeature(`${V1}001`, '字符串坐标', { type: 'Polygon', coordinates: [[['113.38', 22.5], [113.39, 22.5], [113.39, 22.51], ['113.38', 22.5]]] })]), 'invalid_coordinates');
    await refused(fc([gridFeature(`${V1}001`, '一维坐标', { type: 'Polygon', coordinates: [[113.38, 22.5, 113.39, 22.5]] })]), 'invalid_coordinates');
    await refused(fc([gridFeature(`${V1}001`, '点', { type: 'Point', coordinates: [113.38, 22.5] })]), 'not_polygon');
    await refused(fc([gridFeature(`${V1}001`, '无几何', null)]), 'not_polygon');
    await refused(fc([gridFeature(`${V1}001`, '空多边形', { type: 'MultiPolygon', coordinates: [] })]), 'invalid_coordinates');
  });

  test('a grid reaching outside its village: outside_parent with the area outside and a point of it', async () => {
    const [w, s, e, n] = B1;
    const grid = [w, s, e + 0.004, n]; // 0.004 degrees into village 2
    // Village 2 is left out of the file so that only the village boundary is crossed, not a sibling's grids.
    const file = fc([...newTownFeatures([1, 2]), gridFeature(`${V1}001`, '出界网格', rect(...grid))]);
    const found = await refused(file, 'outside_parent', { featureIdx: 3 });
    const p = found.find((x) => x.code === `${V1}001`);
    assert.ok(p, JSON.stringify(found));
    const want = boxArea([e, s, e + 0.004, n]);
    assert.ok(Math.abs(p.area_m2 - want) / want < 0.01, `outside ${p.area_m2} m2, expected ~${want.toFixed(0)}`);
    assert.ok(p.lon > e && p.lon < e + 0.004 && p.lat > s && p.lat < n, `the point lies outside the village: ${JSON.stringify(p)}`);
    assert.match(p.message, new RegExp(V1));
  });

  test('a grid of 古镇 reaching into the next village: outside_parent', async () => {
    // 442000105001001 redrawn as its bbox grown by 0.01 degrees crosses into the neighbours.
    const exp = await exportAll(sys, 'level=grid&within=442000105001001');
    const f = structuredClone(exp.features[0]);
    const coords = f.geometry.coordinates[0];
    const xs = coords.map((c) => c[0]);
    const ys = coords.map((c) => c[1]);
    f.geometry = rect(Math.min(...xs) - 0.01, Math.min(...ys) - 0.01, Math.max(...xs) + 0.01, Math.max(...ys) + 0.01);
    await refused(fc([f]), 'outside_parent', { featureIdx: 0 });
  });
});

describe('codes, names and parents', () => {
  test('two features with the same code: duplicate_code on the second, naming the first', async () => {
    const q = quarters(B1);
    const file = inNewTown(gridFeature(`${V1}001`, '甲', rect(...q.nw)), gridFeature(`${V1}001`, '乙', rect(...q.se)));
    const [p] = await refused(file, 'duplicate_code', { featureIdx: 6 });
    assert.equal(p.other_feature, 5);
    assert.equal(p.code, `${V1}001`);
  });

  test('a grid carrying a village\'s code: invalid_code', async () => {
    const q = quarters(B1);
    const file = inNewTown(gridFeature(V1, '村码网格', rect(...q.nw), { level: 'grid' }));
    await refused(file, 'invalid_code', { featureIdx: 5 });
  });

  test('a grid whose village does not exist: missing_parent', async () => {
    const file = fc([gridFeature('442000199299001', '无村网格', rect(...quarters(B1).nw))]);
    const [p] = await refused(file, 'missing_parent', { featureIdx: 0 });
    assert.equal(p.code, '442000199299001');
    assert.match(p.message, /442000199299/);
  });

  test('a village whose town does not exist, and its grid: missing_parent for both', async () => {
    const file = fc([
      feature({ level: 'village', code: '442000198201', name: '无镇村' }, rect(...B1)),
      gridFeature('442000198201001', '无镇村网格', rect(...quarters(B1).nw)),
    ]);
    const found = await refused(file, 'missing_parent');
    assert.deepEqual(found.map((p) => p.feature).sort(), [0, 1], JSON.stringify(found));
  });

  test('a grid without a name, or with a name over 64 characters: missing_name', async () => {
    const q = quarters(B1);
    await refused(inNewTown(gridFeature(`${V1}001`, undefined, rect(...q.nw))), 'missing_name', { featureIdx: 5 });
    await refused(inNewTown(gridFeature(`${V1}001`, '', rect(...q.nw))), 'missing_name', { featureIdx: 5 });
    await refused(inNewTown(gridFeature(`${V1}001`, '网'.repeat(65), rect(...q.nw))), 'missing_name', { featureIdx: 5 });
  });

  test('a grid without a code (and no community to number it in): missing_code', async () => {
    const q = quarters(B1);
    await refused(inNewTown(feature({ level: 'grid', name: '无码网格' }, rect(...q.nw))), 'missing_code', { featureIdx: 5 });
    await refused(inNewTown(feature({ level: 'grid', code: '', name: '空码网格' }, rect(...q.nw))), 'missing_code', { featureIdx: 5 });
  });

  test('bad code lengths and characters: invalid_code', async () => {
    const q = quarters(B1);
    for (const code of [`${V1}01`, `${V1}0001`, `${V1}1`, '4420001992010011', `${V1}00a`, '44200019920', '44200']) {
      const found = await refused(inNewTown(gridFeature(code, '码长不对', rect(...q.nw))), 'invalid_code', { featureIdx: 5, what: `code ${code}` });
      assert.equal(found[0].code, code);
    }
  });

  test('a level that does not match the code, an unknown level, kind or sector type, negative households: named problems', async () => {
    const q = quarters(B1);
    await refused(inNewTown(gridFeature(`${V1}001`, '层级', rect(...q.nw), { level: 'village' })), 'invalid_code', { featureIdx: 5 });
    await refused(inNewTown(gridFeature(`${V1}001`, '层级', rect(...q.nw), { level: 'street' })), 'invalid_property', { featureIdx: 5 });
    await refused(inNewTown(gridFeature(`${V1}001`, '类别', rect(...q.nw), { kind: 'special' })), 'invalid_property', { featureIdx: 5 });
    await refused(inNewTown(gridFeature(`${V1}001`, '专属', rect(...q.nw), { kind: 'sector', sector_type: 'zoo' })), 'invalid_property', { featureIdx: 5 });
    await refused(inNewTown(gridFeature(`${V1}001`, '专属', rect(...q.nw), { kind: 'sector' })), 'invalid_property', { featureIdx: 5 });
    await refused(inNewTown(gridFeature(`${V1}001`, '户数', rect(...q.nw), { households: -1 })), 'invalid_property', { featureIdx: 5 });
    await refused(inNewTown(gridFeature(`${V1}001`, '户数', rect(...q.nw), { households: 12.5 })), 'invalid_property', { featureIdx: 5 });
    await refused(inNewTown(gridFeature(`${V1}001`, '人口', rect(...q.nw), { population: '300' })), 'invalid_property', { featureIdx: 5 });
  });

  test('a new village overlapping stored villages: overlap between divisions', async () => {
    const [x, y] = [113.19, 22.61]; // in 442000105207
    const file = fc([feature({ level: 'village', code: '442000105299', name: '重叠村' }, rect(x - 0.002, y - 0.002, x + 0.002, y + 0.002))]);
    const found = await refused(file, 'overlap', { featureIdx: 0 });
    assert.ok(found.some((p) => p.other_code === '442000105207'), JSON.stringify(found));
  });

  test('a grid whose village in the same file has errors: missing_parent for the grid as well', async () => {
    const file = fc([
      ...newTownFeatures([2, 3, 4]),
      feature({ level: 'village', code: V1 }, rect(...B1)), // no name
      gridFeature(`${V1}001`, '孤网格', rect(...quarters(B1).nw)),
    ]);
    await refused(file, 'missing_name', { featureIdx: 4 });
    await refused(file, 'missing_parent', { featureIdx: 5 });
  });

  test('one bad feature among good ones: the good ones are not applied either', async () => {
    const q = quarters(B1);
    const file = inNewTown(
      gridFeature(`${V1}001`, '好', rect(...q.nw)),
      gridFeature(`${V1}002`, '好', rect(...q.ne)),
      gridFeature(`${V1}003`, '坏', fixture('bowtie.geojson').features[0].geometry),
    );
    await refused(file, 'invalid_geometry', { featureIdx: 7 });
    const l = await sys.get(`/api/v1/grids/${V1}001`);
    assert.equal(l.status, 404, 'the good grid was not applied');
  });
});

describe('files that are not GeoJSON FeatureCollections', () => {
  test('a Feature, a geometry, an object without features: not_geojson (200 ok:false on validate, 422 with the report on import)', async () => {
    await refused(fixtureText('feature-not-collection.geojson'), 'not_geojson');
    await refused({ type: 'Polygon', coordinates: [] }, 'not_geojson');
    await refused({ type: 'FeatureCollection' }, 'not_geojson');
    await refused({ type: 'FeatureCollection', features: {} }, 'not_geojson');
    await refused({ features: [] }, 'not_geojson');
  });

  test('features that are not Feature objects: not_feature naming each', async () => {
    const found = await refused(fc([1, 'x', { type: 'Point' }, null]), 'not_feature');
    assert.deepEqual(found.map((p) => p.feature), [0, 1, 2, 3]);
  });

  test('an empty FeatureCollection validates ok and changes nothing', async () => {
    const v = await sys.post('/api/v1/grids/validate', fc([]));
    assert.equal(v.status, 200, v.text);
    assert.equal(v.json.ok, true);
    assert.equal(v.json.features, 0);
  });

  test('malformed JSON is 400 malformed_json from the body parser, on validate and import', async () => {
    for (const body of [fixtureText('malformed.geojson'), '{"type": "FeatureCollection", "features": [', "{'type': 'FeatureCollection'}", '{"type":"FeatureCollection","features":[]} x']) {
      for (const path of ['/api/v1/grids/validate', '/api/v1/grids/import']) {
        const r = await sys.post(path, body);
        assert.equal(r.status, 400, `${path} ${body.slice(0, 40)}: ${r.text}`);
        assert.equal(r.json.error.code, 'malformed_json', r.text);
      }
    }
    await assertUnchanged('malformed JSON');
  });

  test('duplicate keys are malformed_json; a JSON array is wrong_type; a body that is not UTF-8 is invalid_utf8', async () => {
    const dup = await sys.post('/api/v1/grids/import', '{"type":"FeatureCollection","features":[],"features":[]}');
    assert.equal(dup.status, 400, dup.text);
    assert.equal(dup.json.error.code, 'malformed_json');
    const arr = await sys.post('/api/v1/grids/import', '[]');
    assert.equal(arr.status, 400, arr.text);
    assert.equal(arr.json.error.code, 'wrong_type');
    const latin1 = await sys.post('/api/v1/grids/import', Buffer.from('{"type":"FeatureCollection","features":[],"x":"\xe9"}', 'latin1'));
    assert.equal(latin1.status, 400, latin1.text);
    assert.equal(latin1.json.error.code, 'invalid_utf8');
    const text = await sys.post('/api/v1/grids/import', '{}', { headers: { 'content-type': 'text/plain' } });
    assert.equal(text.status, 415, text.text);
    await assertUnchanged('not JSON');
  });

  test('deeply nested JSON is refused (400) and the server keeps answering', async () => {
    const deep = `{"type":"FeatureCollection","features":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    for (const path of ['/api/v1/grids/validate', '/api/v1/grids/import']) {
      const r = await sys.post(path, deep);
      assert.equal(r.status, 400, `${path}: ${r.text.slice(0, 300)}`);
      assert.equal(r.json.error.code, 'malformed_json', r.text.slice(0, 300));
    }
    // Nesting the parser accepts, inside the coordinates: a named problem, not a crash.
    const coords = `${'['.repeat(500)}113.38, 22.5${']'.repeat(500)}`;
    const body = `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"${V1}001","name":"深"},` +
      `"geometry":{"type":"Polygon","coordinates":${coords}}}]}`;
    const v = await sys.post('/api/v1/grids/validate', body);
    assert.equal(v.status, 200, v.text.slice(0, 300));
    assert.equal(v.json.ok, false);
    const i = await sys.post('/api/v1/grids/import', body);
    assert.equal(i.status, 422, i.text.slice(0, 300));
    assert.equal((await request(server.base, 'GET', '/healthz')).status, 200);
    await assertUnchanged('deep nesting');
  });
});

describe('huge files', () => {
  test('a body over http.max_upload is 413 body_too_large and nothing is applied; one under it is read', async () => {
    const small = await startDemoServer(template, { 'http.max_upload': 2048 });
    try {
      const admin = await signInAs(small, 'demo.sysadmin');
      const before = (await admin.get('/api/v1/grids/export')).text;
      const q = quarters(B1);
      const big = Buffer.from(JSON.stringify(inNewTown(gridFeature(`${V1}001`, '大文件', rect(...q.nw), { note: 'x'.repeat(4000) }))), 'utf8');
      assert.ok(big.length > 2048);
      const head = (path, framing) => `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${admin.token}\r\n` +
        `Content-Type: application/json\r\n${framing}Connection: close\r\n\r\n`;
      for (const path of ['/api/v1/grids/validate', '/api/v1/grids/import']) {
        // Announced by Content-Length: refused from the headers, before any byte of the body.
        const conn = openRaw(small.port);
        await conn.connected;
        await conn.write(head(path, `Content-Length: ${big.length}\r\n`));
        const r = await conn.response();
        conn.destroy();
        assert.equal(r.status, 413, `${path}: ${r.text.slice(0, 300)}`);
        assert.equal(r.json().error.code, 'body_too_large', r.text.slice(0, 300));
        // Chunked, so that the server finds out while reading: 413 at the end of the body.
        const chunked = `${big.length.toString(16)}\r\n${big.toString('latin1')}\r\n0\r\n\r\n`;
        const c = await rawRequest(small.port, head(path, 'Transfer-Encoding: chunked\r\n') + chunked);
        assert.equal(c.status, 413, `${path} chunked: ${c.text.slice(0, 300)}`);
        assert.equal(c.json().error.code, 'body_too_large');
      }
      assert.equal((await admin.get('/api/v1/grids/export')).text, before, 'nothing applied');
      assert.equal((await admin.get(`/api/v1/grids/${V1}001`)).status, 404);
      // Under the limit the file is read and checked (its village is missing).
      const fits = fc([gridFeature('442000199299001', '小', rect(...q.nw))]);
      assert.ok(JSON.stringify(fits).length < 2048);
      const v = await admin.post('/api/v1/grids/validate', fits);
      assert.equal(v.status, 200, v.text);
      assert.ok(problemsOf(v.json, 'missing_parent').length === 1, v.text);
      // Other routes keep the ordinary body limit (http.max_body): the upload limit is for grid files.
      const duties = Array.from({ length: 40 }, (_, i) => ({ text: `第${i}项职责：${'巡查'.repeat(20)}` }));
      const body = { duties, admissible: [] };
      assert.ok(Buffer.byteLength(JSON.stringify(body)) > 4096);
      const other = await admin.put('/api/v1/grid-duties/territorial', body);
      assert.equal(other.status, 200, other.text.slice(0, 300));
    } finally {
      await small.stop();
    }
  });
});
