// lib.mjs: helpers of the grid map tests (tests/api/grid/): a template
// database holding the Zhongshan demo (古镇镇, 13 villages, 68 grids, 958 grid
// workers) and the demo accounts, made once per test file with the CLI and
// copied for every server; sign-in by login name (administrators enrol TOTP on
// their first sign-in); GeoJSON builders; the published WGS-84 -> GCJ-02
// formula, written here independently of the server's; small geometry helpers.
//
// Accounts, sessions and the CLI come from ../auth/lib.mjs, the server from
// ../lib/server.mjs.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { CLI_ENV, FAST_SET, cli, signIn, signInAdmin } from '../auth/lib.mjs';
import { makeTempDir, startServer } from '../lib/server.mjs';

export { addUser, cli, client, request, signIn, sql, strongPassword } from '../auth/lib.mjs';

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

// ---- the demo -------------------------------------------------------------------------------

export const CITY = '442000';
export const TOWN = '442000105';
export const VILLAGES = ['442000105001', '442000105002', ...Array.from({ length: 11 }, (_, i) => `442000105${201 + i}`)];
export const GRID_COUNT = 68;
/** A point inside 442000105001001, one inside 442000105207002, one outside every grid. */
export const P_001001 = [113.160803, 22.637102];
export const P_207002 = [113.19, 22.61];
export const P_OUTSIDE = [113.0, 22.0];

/** The administrators' roles: they sign in with a second factor. */
const ADMIN_ROLES = new Set(['sys_admin', 'sec_admin', 'audit_admin']);

/**
 * Loads the Zhongshan demo and the demo accounts into a fresh database, once.
 * Returns { dir, dbPath, accounts: { login: { role, login, password, scope } }, remove() }.
 */
export function makeTemplate() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'civgrid-gridtpl-'));
  const dbPath = path.join(dir, 'civgrid.db');
  const demo = cli(dbPath, ['demo', '--city', 'zhongshan']);
  if (demo.status !== 0) throw new Error(`civgrid demo --city zhongshan failed (${demo.status}): ${demo.stderr}${demo.stdout}`);
  const out = path.join(dir, 'demo-accounts.txt');
  const users = cli(dbPath, ['user', 'demo', '--out', out]);
  if (users.status !== 0) throw new Error(`civgrid user demo failed (${users.status}): ${users.stderr}`);
  const accounts = {};
  for (const line of fs.readFileSync(out, 'utf8').split('\n')) {
    const [role, login, password, scope] = line.trim().split(/\s+/);
    if (login) accounts[login] = { role, login, password, scope };
  }
  return { dir, dbPath, accounts, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Starts civgridd on a copy of the template (fast password hashing, the test
 * key ring of personal data, plus `set`). The server's .accounts are its own
 * copy of the template's (TOTP enrolments are per database); stop() also
 * removes the copy.
 */
export async function startDemoServer(template, set = {}) {
  const tmp = makeTempDir('civgrid-grid-');
  for (const suffix of ['', '-wal', '-shm']) {
    if (fs.existsSync(template.dbPath + suffix)) fs.copyFileSync(template.dbPath + suffix, tmp.dbPath + suffix);
  }
  let server;
  try {
    server = await startServer({ dir: tmp.dir, set: { ...FAST_SET, ...set }, env: CLI_ENV });
  } catch (e) {
    fs.rmSync(tmp.dir, { recursive: true, force: true });
    throw e;
  }
  const stop = server.stop.bind(server);
  server.accounts = structuredClone(template.accounts);
  server.stop = async () => {
    try {
      return await stop();
    } finally {
      fs.rmSync(tmp.dir, { recursive: true, force: true });
    }
  };
  return server;
}

/** Signs in a demo account (or any { login, password, role }) of the server; returns its client. */
export async function signInAs(server, who) {
  const acc = typeof who === 'string' ? server.accounts[who] : who;
  assert.ok(acc, `no account ${who}`);
  if (ADMIN_ROLES.has(acc.role)) return signInAdmin(server.base, acc);
  return signIn(server.base, acc.login, acc.password);
}

// ---- GeoJSON --------------------------------------------------------------------------------

export const fc = (features) => ({ type: 'FeatureCollection', features });

export const feature = (properties, geometry) => ({ type: 'Feature', properties, geometry });

/** A closed rectangular ring, counter-clockwise from the south-west corner. */
export const rectRing = (w, s, e, n) => [[w, s], [e, s], [e, n], [w, n], [w, s]];

export const polygon = (...rings) => ({ type: 'Polygon', coordinates: rings });

export const rect = (w, s, e, n) => polygon(rectRing(w, s, e, n));

/** A grid feature: code (or null with props.community), name, a geometry, more properties. */
export const gridFeature = (code, name, geometry, props = {}) =>
  feature({ level: 'grid', ...(code ? { code } : {}), ...(name !== undefined ? { name } : {}), ...props }, geometry);

export const divisionFeature = (level, code, name, geometry) => feature({ level, code, name }, geometry);

/** Reads a fixture file as text or JSON. */
export const fixtureText = (name) => fs.readFileSync(path.join(FIXTURES, name), 'utf8');
export const fixture = (name) => JSON.parse(fixtureText(name));

/** The rings of a Polygon or MultiPolygon. */
export function rings(geometry) {
  if (geometry.type === 'Polygon') return geometry.coordinates;
  if (geometry.type === 'MultiPolygon') return geometry.coordinates.flat();
  throw new Error(`not a polygon: ${geometry.type}`);
}

/** Every position of a geometry. */
export const positions = (geometry) => rings(geometry).flat();

/** Even-odd point-in-ring test (a point on the ring may go either way). */
export function inRing(lon, lat, ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if ((yi > lat) !== (yj > lat) && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** True when (lon, lat) lies inside the polygon (outer ring, not in a hole), or one of a MultiPolygon's. */
export function inPolygon(lon, lat, geometry) {
  const polys = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
  return polys.some(([outer, ...holes]) => inRing(lon, lat, outer) && !holes.some((h) => inRing(lon, lat, h)));
}

/** Distance in degrees from a point to a segment. */
function segmentDistance(x, y, [x1, y1], [x2, y2]) {
  const dx = x2 - x1;
  const dy = y2 - y1;
  const len2 = dx * dx + dy * dy;
  const t = len2 ? Math.max(0, Math.min(1, ((x - x1) * dx + (y - y1) * dy) / len2)) : 0;
  return Math.hypot(x - (x1 + t * dx), y - (y1 + t * dy));
}

/** A point inside the polygon as far from its boundary as a 24 x 24 sample of its bbox finds. */
export function interiorPoint(geometry) {
  const [w, s, e, n] = bbox(geometry);
  const edges = rings(geometry).flatMap((r) => r.slice(1).map((p, i) => [r[i], p]));
  let best = null;
  for (let i = 1; i < 24; i++) {
    for (let j = 1; j < 24; j++) {
      const x = w + ((e - w) * i) / 24;
      const y = s + ((n - s) * j) / 24;
      if (!inPolygon(x, y, geometry)) continue;
      const d = Math.min(...edges.map(([a, b]) => segmentDistance(x, y, a, b)));
      if (!best || d > best.d) best = { x, y, d };
    }
  }
  assert.ok(best && best.d > 1e-5, 'the polygon has an interior point away from its boundary');
  return [Number(best.x.toFixed(9)), Number(best.y.toFixed(9))];
}

/** Bounding box [w, s, e, n] of geometries. */
export function bbox(...geometries) {
  const b = [Infinity, Infinity, -Infinity, -Infinity];
  for (const g of geometries) {
    for (const [x, y] of positions(g)) {
      b[0] = Math.min(b[0], x);
      b[1] = Math.min(b[1], y);
      b[2] = Math.max(b[2], x);
      b[3] = Math.max(b[3], y);
    }
  }
  return b;
}

/** Distance in metres between two lon/lat points (spherical, good to well under 1 %). */
export function metres([lon1, lat1], [lon2, lat2]) {
  const r = 6371008.8;
  const rad = Math.PI / 180;
  const dlat = (lat2 - lat1) * rad;
  const dlon = (lon2 - lon1) * rad;
  const a = Math.sin(dlat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dlon / 2) ** 2;
  return 2 * r * Math.asin(Math.sqrt(a));
}

// ---- WGS-84 -> GCJ-02 -----------------------------------------------------------------------

/**
 * The published WGS-84 -> GCJ-02 transform (the Krasovsky-ellipsoid offset
 * of 《地形图非线性保密处理》 as every Chinese web-map SDK reproduces it).
 */
export function wgs84ToGcj02(lon, lat) {
  const a = 6378245.0;
  const ee = 0.00669342162296594323;
  const x = lon - 105.0;
  const y = lat - 35.0;
  let dLat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  dLat += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0;
  dLat += ((20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin((y / 3.0) * Math.PI)) * 2.0) / 3.0;
  dLat += ((160.0 * Math.sin((y / 12.0) * Math.PI) + 320 * Math.sin((y * Math.PI) / 30.0)) * 2.0) / 3.0;
  let dLon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  dLon += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0;
  dLon += ((20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin((x / 3.0) * Math.PI)) * 2.0) / 3.0;
  dLon += ((150.0 * Math.sin((x / 12.0) * Math.PI) + 300.0 * Math.sin((x / 30.0) * Math.PI)) * 2.0) / 3.0;
  const radLat = (lat / 180.0) * Math.PI;
  let magic = Math.sin(radLat);
  magic = 1 - ee * magic * magic;
  const sqrtMagic = Math.sqrt(magic);
  dLat = (dLat * 180.0) / (((a * (1 - ee)) / (magic * sqrtMagic)) * Math.PI);
  dLon = (dLon * 180.0) / ((a / sqrtMagic) * Math.cos(radLat) * Math.PI);
  return [lon + dLon, lat + dLat];
}

// ---- requests -------------------------------------------------------------------------------

/** GET /api/v1/locate as client c; returns the response. */
export const locate = (c, lon, lat, extra = '') => c.get(`/api/v1/locate?lon=${lon}&lat=${lat}${extra}`);

/** GET /api/v1/grids/export?query as client c; asserts 200 and returns the FeatureCollection. */
export async function exportAll(c, query = '') {
  const r = await c.get(`/api/v1/grids/export${query ? `?${query}` : ''}`);
  assert.equal(r.status, 200, r.text);
  assert.ok(r.json, `the export is JSON: ${r.text.slice(0, 200)}`);
  return r.json;
}

/** The features of a collection by code. */
export const byCode = (collection) => new Map(collection.features.map((f) => [f.properties.code, f]));

/** The problems of a report of this kind. */
export const problemsOf = (report, kind) => report.problems.filter((p) => p.kind === kind);

/** Every grid code visible to c, following the pages of GET /api/v1/grids. */
export async function listAllGrids(c, query = '', limit = 1000) {
  const codes = [];
  let after = '';
  for (let page = 0; page < 1000; page++) {
    const r = await c.get(`/api/v1/grids?limit=${limit}${after ? `&after=${after}` : ''}${query}`);
    assert.equal(r.status, 200, r.text);
    codes.push(...r.json.grids.map((g) => g.code));
    if (!r.json.next_after) return codes;
    after = r.json.next_after;
  }
  throw new Error('GET /api/v1/grids: more than 1000 pages');
}

/** An ISO time a few milliseconds in the past and a pause, so that the next write is strictly later. */
export async function momentBefore() {
  const at = new Date().toISOString();
  await new Promise((r) => setTimeout(r, 15));
  return at;
}

// ---- a new town on empty land ----------------------------------------------------------------

/**
 * The land of the new town the tests add: inside 中山市's outline, far from 古镇镇
 * (113.38-113.46 E, 22.50-22.54 N), cut into four villages 0.02 degrees wide.
 */
export const NEW_TOWN = '442000199';
export const NEW_TOWN_NAME = '测试新镇';
export const NEW_LAND = [113.38, 22.5, 113.46, 22.54];
const r6 = (x) => Number(x.toFixed(6));

/** The code of new village k (1..4): 442000199201 ... 442000199204. */
export const newVillage = (k) => `${NEW_TOWN}${200 + k}`;

/** The box [w, s, e, n] of new village k (1..4), west to east. */
export function villageBox(k) {
  const w = NEW_LAND[0] + 0.02 * (k - 1);
  return [r6(w), NEW_LAND[1], r6(w + 0.02), NEW_LAND[3]];
}

/** The four quarters of a box: { nw, ne, sw, se }. */
export function quarters([w, s, e, n]) {
  const x = r6((w + e) / 2);
  const y = r6((s + n) / 2);
  return { nw: [w, y, x, n], ne: [x, y, e, n], sw: [w, s, x, y], se: [x, s, e, y] };
}

/** The centre of a box. */
export const centre = ([w, s, e, n]) => [r6((w + e) / 2), r6((s + n) / 2)];

/** The new town and its four villages as features (the villages tile the town). */
export function newTownFeatures(villages = [1, 2, 3, 4]) {
  return [
    divisionFeature('town', NEW_TOWN, NEW_TOWN_NAME, rect(...NEW_LAND)),
    ...villages.map((k) => divisionFeature('village', newVillage(k), `测试${k}村`, rect(...villageBox(k)))),
  ];
}

/** Area in m2 of a lon/lat box as the server measures it (equirectangular at its centre). */
export const boxArea = ([w, s, e, n]) => (e - w) * 111320 * Math.cos((((s + n) / 2) * Math.PI) / 180) * (n - s) * 110574;

/** Asserts that a box lies inside the city outline (points along its edges), so it can hold a new town. */
export function assertInsideCity(cityGeometry, [w, s, e, n]) {
  for (let i = 0; i <= 20; i++) {
    const t = i / 20;
    for (const [x, y] of [[w + (e - w) * t, s], [w + (e - w) * t, n], [w, s + (n - s) * t], [e, s + (n - s) * t]]) {
      assert.ok(inPolygon(x, y, cityGeometry), `(${x}, ${y}) lies inside 中山市's outline`);
    }
  }
}
