// locate.test.mjs: GET /api/v1/locate, the point-to-grid lookup, over the
// Zhongshan demo: a point inside a grid, outside every grid, on a border shared
// by two grids (and by three), a GCJ-02 point, bad numbers, a point of another
// grid for a grid worker, and callers without grid.read or without a session.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  P_001001, P_207002, P_OUTSIDE, TOWN, exportAll, interiorPoint, locate, makeTemplate, request, rings, signInAs, startDemoServer, wgs84ToGcj02,
} from './lib.mjs';

let template;
let server;
let sys; // sys_admin, scope all
let duty; // duty_officer, scope grid:442000105
let worker; // grid_worker, scope grid:442000105001001
let grids; // the exported grid features

before(async () => {
  template = makeTemplate();
  server = await startDemoServer(template);
  sys = await signInAs(server, 'demo.sysadmin');
  duty = await signInAs(server, 'demo.duty');
  worker = await signInAs(server, 'demo.worker');
  grids = (await exportAll(sys, 'level=grid')).features;
  assert.equal(grids.length, 68, 'the demo has 68 grids');
});
after(async () => {
  await server?.stop();
  template?.remove();
});

/** The positions shared by the rings of exactly `n` grids (or more when atLeast), with those grids' codes. */
function sharedVertices(n, atLeast = false) {
  const owners = new Map();
  for (const f of grids) {
    for (const ring of rings(f.geometry)) {
      for (const [lon, lat] of ring) {
        const key = `${lon},${lat}`;
        if (!owners.has(key)) owners.set(key, { lon, lat, codes: new Set() });
        owners.get(key).codes.add(f.properties.code);
      }
    }
  }
  return [...owners.values()]
    .filter((v) => (atLeast ? v.codes.size >= n : v.codes.size === n))
    .map((v) => ({ lon: v.lon, lat: v.lat, codes: [...v.codes].sort() }));
}

describe('a point inside a grid', () => {
  test('answers the grid, its community and town with codes and names, not on a border, no sector grids', async () => {
    const r = await locate(duty, ...P_001001);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.found, true);
    assert.equal(r.json.in_scope, true);
    assert.deepEqual(r.json.grid, { code: '442000105001001', name: '古镇社区第1网格', kind: 'territorial' });
    assert.deepEqual(r.json.community, { code: '442000105001', name: '古镇社区' });
    assert.deepEqual(r.json.town, { code: TOWN, name: '古镇镇' });
    assert.equal(r.json.on_border, false);
    assert.deepEqual(r.json.sector_grids, []);
    assert.ok(Math.abs(r.json.lon - P_001001[0]) < 1e-9 && Math.abs(r.json.lat - P_001001[1]) < 1e-9, r.text);
  });

  test('a point of a village grid (113.19, 22.61) is in 442000105207002', async () => {
    const r = await locate(sys, ...P_207002);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.found, true);
    assert.equal(r.json.grid.code, '442000105207002');
    assert.equal(r.json.community.code, '442000105207');
    assert.equal(r.json.town.code, TOWN);
    assert.equal(r.json.on_border, false);
  });

  test('a point well inside each of the 68 grids is answered with that grid, off its border', async () => {
    for (const f of grids) {
      const code = f.properties.code;
      const [lon, lat] = interiorPoint(f.geometry);
      const r = await locate(sys, lon, lat);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.grid?.code, code, `(${lon}, ${lat}) inside ${code} is located in ${r.text}`);
      assert.equal(r.json.on_border, false, r.text);
    }
  });
});

describe('a point outside every grid', () => {
  test('is found:false with a message, and no grid', async () => {
    const r = await locate(sys, ...P_OUTSIDE);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.found, false);
    assert.equal(typeof r.json.message, 'string');
    assert.ok(r.json.message.length > 0);
    assert.equal(r.json.grid, undefined);
    assert.equal(r.json.community, undefined);
    assert.equal(r.json.town, undefined);
  });
});

describe('a point on a shared border resolves deterministically to the smaller code', () => {
  test('a vertex shared by two grids, asked ten times, is always the grid with the smaller code, on_border true', async () => {
    const shared = sharedVertices(2);
    assert.ok(shared.length >= 5, `the demo grids share vertices (${shared.length})`);
    for (const v of shared.slice(0, 5)) {
      for (let i = 0; i < 10; i++) {
        const r = await locate(sys, v.lon, v.lat);
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.found, true, `${v.lon},${v.lat} shared by ${v.codes}: ${r.text}`);
        assert.equal(r.json.grid.code, v.codes[0], `${v.lon},${v.lat} shared by ${v.codes} answers the smaller code`);
        assert.equal(r.json.on_border, true, `${v.lon},${v.lat} lies on the border: ${r.text}`);
      }
    }
  });

  test('a vertex shared by three or more grids answers the smallest of them', async () => {
    const shared = sharedVertices(3, true);
    assert.ok(shared.length > 0, 'the demo has vertices where three grids meet');
    for (const v of shared.slice(0, 10)) {
      const answers = new Set();
      for (let i = 0; i < 3; i++) answers.add((await locate(sys, v.lon, v.lat)).json.grid?.code);
      assert.deepEqual([...answers], [v.codes[0]], `${v.lon},${v.lat} shared by ${v.codes}`);
    }
  });

  test('concurrent lookups of a shared vertex all agree', async () => {
    const [v] = sharedVertices(2);
    const rs = await Promise.all(Array.from({ length: 20 }, () => locate(sys, v.lon, v.lat)));
    for (const r of rs) assert.equal(r.json.grid.code, v.codes[0], r.text);
  });
});

describe('crs=gcj02', () => {
  test('a point converted with the published WGS-84 -> GCJ-02 formula lands in the grid of its WGS-84 original', async () => {
    for (const [p, code] of [[P_001001, '442000105001001'], [P_207002, '442000105207002']]) {
      const [glon, glat] = wgs84ToGcj02(...p);
      const r = await locate(sys, glon.toFixed(9), glat.toFixed(9), '&crs=gcj02');
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.grid?.code, code, r.text);
      // The answer gives the WGS-84 point it looked up: back where it started (to ~1 cm).
      assert.ok(Math.abs(r.json.lon - p[0]) < 1e-7 && Math.abs(r.json.lat - p[1]) < 1e-7, `back-converted to ${p}: ${r.text}`);
    }
  });

  test('the GCJ-02 point read as WGS-84 lies some hundred metres away (the offset is applied, not ignored)', async () => {
    const [glon, glat] = wgs84ToGcj02(...P_001001);
    const asWgs = await locate(sys, glon.toFixed(9), glat.toFixed(9), '&crs=wgs84');
    assert.equal(asWgs.status, 200, asWgs.text);
    assert.ok(Math.abs(asWgs.json.lon - glon) < 1e-9, 'crs=wgs84 takes the point as given');
  });

  test('an unknown crs is 400', async () => {
    const r = await locate(sys, ...P_001001, '&crs=bd09');
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.code, 'invalid_input');
    assert.equal(r.json.error.field, 'crs');
  });
});

describe('bad coordinates', () => {
  test('a missing lon or lat is 400 missing_field naming it', async () => {
    for (const [qs, field] of [['lat=22.6', 'lon'], ['lon=113.1', 'lat'], ['', 'lon']]) {
      const r = await sys.get(`/api/v1/locate?${qs}`);
      assert.equal(r.status, 400, `${qs}: ${r.text}`);
      assert.equal(r.json.error.code, 'missing_field', `${qs}: ${r.text}`);
      assert.equal(r.json.error.field, field, `${qs}: ${r.text}`);
    }
  });

  for (const bad of ['abc', '1e999', '-1e999', 'NaN', 'Infinity', '113.1x', '0x71', '113,19', ' 113.19', '113.19.1']) {
    test(`lon=${JSON.stringify(bad)} is 400 invalid_input`, async () => {
      const r = await sys.get(`/api/v1/locate?lon=${encodeURIComponent(bad)}&lat=22.61`);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error.code, 'invalid_input', r.text);
      assert.equal(r.json.error.field, 'lon');
    });
  }

  test('lat="abc" is 400 invalid_input naming lat', async () => {
    const r = await sys.get('/api/v1/locate?lon=113.19&lat=abc');
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.code, 'invalid_input');
    assert.equal(r.json.error.field, 'lat');
  });

  test('an empty lon ("lon=&lat=22.61") is 400 invalid_input: given, but not a number', async () => {
    const r = await sys.get('/api/v1/locate?lon=&lat=22.61');
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.field, 'lon', r.text);
    assert.equal(r.json.error.code, 'invalid_input', `an empty value is present and not a number: ${r.text}`);
  });

  test('out of range (lon 200, lon -181, lat -91, lat 90.5) is 400 invalid_input naming the field', async () => {
    for (const [lon, lat, field] of [[200, 22.6, 'lon'], [-181, 22.6, 'lon'], [113.1, -91, 'lat'], [113.1, 90.5, 'lat']]) {
      const r = await locate(sys, lon, lat);
      assert.equal(r.status, 400, `${lon},${lat}: ${r.text}`);
      assert.equal(r.json.error.code, 'invalid_input', r.text);
      assert.equal(r.json.error.field, field, r.text);
    }
  });

  test('lat and lon swapped (lon=22.61&lat=113.19) is 400 with a message that says the order looks swapped', async () => {
    const r = await sys.get('/api/v1/locate?lon=22.61&lat=113.19');
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.code, 'invalid_input');
    assert.match(r.json.error.message, /swap|order/i, `the message should tell that lon and lat look swapped: ${r.text}`);
  });
});

describe('scope and permission', () => {
  test('a grid worker of 442000105001001 locating its own grid gets the full answer', async () => {
    const r = await locate(worker, ...P_001001);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.found, true);
    assert.equal(r.json.in_scope, true);
    assert.equal(r.json.grid.code, '442000105001001');
  });

  test('a grid worker of 442000105001001 locating a point of another grid gets found:true, in_scope:false and no codes', async () => {
    const r = await locate(worker, ...P_207002);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.found, true);
    assert.equal(r.json.in_scope, false);
    assert.equal(r.json.grid, undefined);
    assert.equal(r.json.community, undefined);
    assert.equal(r.json.town, undefined);
    assert.equal(r.json.sector_grids, undefined);
    assert.ok(!/442000105207|古镇镇|网格/.test(r.text), `no code or name of the other grid: ${r.text}`);
  });

  test('accounts without grid.read (citizen, dept_handler, hotline_operator) get 403', async () => {
    for (const login of ['demo.citizen', 'demo.handler', 'demo.hotline']) {
      const c = await signInAs(server, login);
      const r = await locate(c, ...P_001001);
      assert.equal(r.status, 403, `${login}: ${r.text}`);
      assert.equal(r.json.error.code, 'forbidden');
      assert.ok(!r.text.includes('442000105001001'), r.text);
    }
  });

  test('without a session: 401; with a made-up token: 401', async () => {
    const anon = await request(server.base, 'GET', `/api/v1/locate?lon=${P_001001[0]}&lat=${P_001001[1]}`);
    assert.equal(anon.status, 401, anon.text);
    assert.equal(anon.json.error.code, 'unauthenticated');
    const forged = await request(server.base, 'GET', `/api/v1/locate?lon=${P_001001[0]}&lat=${P_001001[1]}`, { token: 'x'.repeat(43) });
    assert.equal(forged.status, 401, forged.text);
  });

  test('bad input from an account without grid.read is still 403 (the permission comes first)', async () => {
    const c = await signInAs(server, 'demo.citizen');
    const r = await c.get('/api/v1/locate?lon=abc');
    assert.equal(r.status, 403, r.text);
  });
});
