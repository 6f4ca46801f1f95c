// map.test.mjs: browser tests of the map page (一张网, #/map) against a real
// civgridd whose database holds the Zhongshan demo city (古镇镇, 442000105:
// 13 villages, 68 grids), with accounts made by the civgrid CLI.
//
// Run with `make test-web` (or: CIVGRIDD=build/civgridd node --test tests/web/map.test.mjs).

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { LAUNCH, TIMEOUT, callApi, chromium, loadDemo, startServer } from './server.mjs';

const PASSWORD = 'Grid-Worker-2026';
const TOWN = '442000105';
const TOWN_NAME = '古镇镇';
const DEMO = { towns: 1, villages: 13, grids: 68 };
const LOAD_TIMEOUT = 20_000; // the first export of a city may take a moment

// A 1x1 PNG, the tile of the test tile server.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==',
  'base64',
);

const USERS = {
  town: { login: 'duty.guzhen', name: '古镇值班员', roles: 'duty_officer', scope: `grid:${TOWN}` },
  admin: { login: 'sysadm', name: '系统管理员陈工', roles: 'sys_admin', scope: 'all' },
};

let server;
let browser;
let demo; // what the API says about the demo: {fc, grids, villages, grid (a code), village (a code)}
let recovery = []; // unused recovery codes of the administrator

/** Signs in through the API and returns the bearer token. */
async function tokenOf(login) {
  const res = await callApi(server.url, 'POST', 'api/v1/auth/login', { body: { login, password: PASSWORD } });
  assert.equal(res.status, 200, JSON.stringify(res.data));
  return res.data.token;
}

before(async () => {
  [server, browser] = await Promise.all([startServer({ prepare: loadDemo }), chromium.launch(LAUNCH)]);
  await server.addUser({ ...USERS.town, password: PASSWORD });
  await server.addUser({ ...USERS.admin, password: PASSWORD });
  recovery = await server.enrolTotp(USERS.admin.login, PASSWORD);

  // The demo as the API sees it, to check the page against.
  const token = await tokenOf(USERS.town.login);
  const res = await callApi(server.url, 'GET', `api/v1/grids/export?level=town,village,grid`, { token });
  assert.equal(res.status, 200, JSON.stringify(res.data));
  const features = res.data.features;
  const grids = features.filter((f) => f.properties.level === 'grid');
  const villages = features.filter((f) => f.properties.level === 'village');
  // A village and one of its grids, to go down to.
  const village = villages[Math.floor(villages.length / 2)].properties.code;
  const grid = grids.find((f) => f.properties.parent === village).properties.code;
  demo = { features, grids, villages, village, grid };

  // A grid worker of that one grid.
  USERS.worker = { login: 'worker.one', name: '网格员单格', roles: 'grid_worker', scope: `grid:${grid}` };
  await server.addUser({ ...USERS.worker, password: PASSWORD });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/**
 * A fresh browser context and page on `srv`, failing on any uncaught script
 * error (console errors are not: a sign-in that needs a second factor is a 401). Closed after `fn`.
 */
async function withPage(fn, { srv = server, viewport = { width: 1280, height: 860 } } = {}) {
  const context = await browser.newContext({ viewport, baseURL: srv.url });
  context.setDefaultTimeout(TIMEOUT);
  const page = await context.newPage();
  const rec = { errors: [], requests: [] };
  page.on('pageerror', (e) => rec.errors.push(String(e)));
  page.on('request', (r) => rec.requests.push(r.url()));
  try {
    await fn(page, rec);
    assert.deepEqual(rec.errors, [], 'no script or console errors');
  } finally {
    await context.close();
  }
}

/** Signs in on the sign-in page (the administrator with a recovery code) and lands on `next`. */
async function signIn(page, user, next = '/map') {
  await page.goto(`/#/login?next=${encodeURIComponent(next)}`);
  await page.getByTestId('login-name').fill(user.login);
  await page.getByTestId('login-password').fill(PASSWORD);
  await page.getByTestId('login-submit').click();
  if (user.roles === 'sys_admin') {
    await page.getByTestId('login-totp').waitFor();
    await page.getByTestId('login-switch-factor').click();
    const code = recovery.shift();
    assert.ok(code, 'a recovery code is left');
    await page.getByTestId('login-recovery').fill(code);
    await page.getByTestId('login-submit').click();
  }
  await page.getByTestId('user-menu').waitFor();
}

/** Waits until the map has drawn the data it loaded. */
async function mapReady(page) {
  await page.locator('[data-testid="map-wrap"][data-ready="true"]').waitFor({ timeout: LOAD_TIMEOUT });
}

/** Waits until the map has been brought to `code` ('' for the whole area). */
const viewAt = (page, code) => page.locator(`[data-testid="map-wrap"][data-view="${code}"]`).waitFor();

/** Waits until nothing matches `selector` (a state the page clears after it renders). */
const gone = (page, selector) => page.locator(selector).first().waitFor({ state: 'detached' });

const count = (page, selector) => page.locator(selector).count();

/**
 * A point in the page (client pixels) inside the drawn path of grid `code`
 * where a click reaches that path and nothing else; null when none is in view.
 */
function pointInGrid(page, code) {
  return page.evaluate((c) => {
    const path = document.querySelector(`path.cg-grid[data-code="${c}"]`);
    if (!path) return null;
    const box = path.getBBox();
    const ctm = path.getScreenCTM();
    const steps = 12;
    for (let i = 1; i < steps; i += 1) {
      for (let j = 1; j < steps; j += 1) {
        const p = new DOMPoint(box.x + (box.width * i) / steps, box.y + (box.height * j) / steps);
        if (!path.isPointInFill(p)) continue;
        const s = p.matrixTransform(ctm);
        if (document.elementFromPoint(s.x, s.y) === path) return { x: s.x, y: s.y };
      }
    }
    return null;
  }, code);
}

/** Width in pixels of the drawn path of grid `code`. */
const gridWidth = (page, code) =>
  page.locator(`path.cg-grid[data-code="${code}"]`).evaluate((p) => p.getBoundingClientRect().width);

describe('the map page (一张网)', () => {
  test('a town account sees the town, its 13 villages and 68 grids, with names', async () => {
    await withPage(async (page) => {
      await signIn(page, USERS.town);
      await mapReady(page);
      assert.equal(await count(page, 'path.cg-grid'), DEMO.grids);
      assert.equal(await count(page, 'path.cg-village'), DEMO.villages);
      assert.equal(await count(page, 'path.cg-town'), DEMO.towns);
      const summary = page.getByTestId('map-summary');
      assert.equal(await summary.getAttribute('data-grids'), String(DEMO.grids));
      assert.equal(await summary.getAttribute('data-villages'), String(DEMO.villages));
      assert.equal(await summary.innerText(), '1 个镇街 · 13 个村居 · 68 个网格');
      assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), '一张网');
      assert.equal(await page.getByTestId('nav-map').getAttribute('aria-current'), 'page');

      // Names: every drawn polygon has one, and those that fit at this zoom show.
      assert.equal(await count(page, '.cg-map .cg-label'), DEMO.towns + DEMO.villages + DEMO.grids);
      assert.ok((await count(page, '.cg-map .cg-label:not(.is-hidden)')) > 0, 'some names show');
      const names = await page.locator('.cg-map .cg-label-village').allInnerTexts();
      for (const v of demo.villages) assert.ok(names.includes(v.properties.name), v.properties.name);

      // The panel lists the villages of the town, which is the whole area.
      assert.equal(await page.getByTestId('map-division').getAttribute('data-code'), '');
      assert.match(await page.getByTestId('map-division').innerText(), new RegExp(TOWN_NAME));
      assert.equal(await count(page, '[data-testid="map-list"] [data-level="village"]'), DEMO.villages);
      assert.equal(await page.getByTestId('map-totals-grids').innerText(), String(DEMO.grids));

      // No base map is configured: a blank background, no tile layer, no tile requested.
      assert.equal(await page.getByTestId('map-wrap').getAttribute('data-tiles'), 'off');
      assert.equal(await count(page, '.leaflet-tile-pane .leaflet-layer'), 0);
      assert.equal(await count(page, 'img.leaflet-tile'), 0);
      // Only a town account's business: no upload.
      assert.equal(await page.getByTestId('map-upload').count(), 0);
    });
  });

  test('clicking a grid selects it and shows its card with code and staff', async () => {
    const token = await tokenOf(USERS.town.login);
    const card = await callApi(server.url, 'GET', `api/v1/grids/${demo.grid}`, { token });
    assert.equal(card.status, 200);
    assert.ok(card.data.staff.length > 0, 'the demo grid has staff');

    await withPage(async (page) => {
      await signIn(page, USERS.town);
      await mapReady(page);
      // Close enough to the grid's village that the grid is easy to hit.
      await page.getByTestId(`map-item-${demo.village}`).click();
      await viewAt(page, demo.village);
      const at = await pointInGrid(page, demo.grid);
      assert.ok(at, 'the grid is in view');
      await page.mouse.click(at.x, at.y);

      const shown = page.locator(`[data-testid="grid-card"][data-code="${demo.grid}"][data-loaded="true"]`);
      await shown.waitFor();
      assert.equal(await shown.getByTestId('grid-card-code').innerText(), demo.grid);
      assert.equal(await shown.getByTestId('grid-card-name').innerText(), card.data.name);
      assert.equal(await shown.getByTestId('grid-card-households').innerText(), card.data.households.toLocaleString('zh-CN'));
      assert.match(await shown.getByTestId('grid-card-kind').innerText(), /综合网格|专属网格/);
      assert.match(await shown.getByTestId('grid-card-community').innerText(), new RegExp(card.data.community.name));
      assert.match(await shown.getByTestId('grid-card-town').innerText(), new RegExp(TOWN_NAME));
      const staff = shown.getByTestId('grid-card-staff-item');
      assert.equal(await staff.count(), card.data.staff.length);
      const text = await shown.getByTestId('grid-card-staff').innerText();
      for (const s of card.data.staff) assert.ok(text.includes(s.name), s.name);
      assert.match(text, /网格员|网格长|网格指导员/);
      assert.match(text, /专职|兼职/);

      // Selected on the map, in the address and in the breadcrumb.
      await page.locator(`path.cg-grid.is-selected[data-code="${demo.grid}"]`).waitFor();
      assert.equal(await count(page, 'path.cg-grid.is-selected'), 1);
      assert.equal(decodeURIComponent(new URL(page.url()).hash), `#/map?code=${demo.grid}`);
      assert.equal(await page.getByTestId(`crumb-${demo.grid}`).getAttribute('aria-current'), 'location');

      // Closing the card goes back to the grid's village.
      await page.getByTestId('grid-card-close').click();
      await page.locator(`[data-testid="map-division"][data-code="${demo.village}"]`).waitFor();
      await gone(page, 'path.cg-grid.is-selected');
    });
  });

  test('the panel zooms from the town to a village and to one grid, and back', async () => {
    const inVillage = demo.grids.filter((f) => f.properties.parent === demo.village).length;
    await withPage(async (page) => {
      await signIn(page, USERS.town);
      await mapReady(page);
      await viewAt(page, '');
      const atTown = await gridWidth(page, demo.grid);

      await page.getByTestId(`map-item-${demo.village}`).click();
      await page.locator(`[data-testid="map-division"][data-code="${demo.village}"]`).waitFor();
      await viewAt(page, demo.village);
      assert.equal(await count(page, '[data-testid="map-list"] [data-level="grid"]'), inVillage);
      assert.equal(await page.getByTestId(`crumb-${TOWN}`).count(), 1);
      const atVillage = await gridWidth(page, demo.grid);
      assert.ok(atVillage > atTown, `zoomed in: ${atVillage} > ${atTown}`);

      await page.getByTestId(`map-item-${demo.grid}`).click();
      await page.locator(`[data-testid="grid-card"][data-code="${demo.grid}"]`).waitFor();
      await viewAt(page, demo.grid);
      const atGrid = await gridWidth(page, demo.grid);
      assert.ok(atGrid > atVillage, `zoomed in: ${atGrid} > ${atVillage}`);
      // At one grid its name shows.
      await page.locator(`.cg-map .cg-label-grid.is-selected[data-code="${demo.grid}"]`).waitFor();

      // The breadcrumb goes back up to the whole area.
      await page.getByTestId('crumb-root').click();
      await page.locator('[data-testid="map-division"][data-code=""]').waitFor();
      await viewAt(page, '');
      assert.ok(Math.abs((await gridWidth(page, demo.grid)) - atTown) < 1, 'back to the whole town');

      // The search finds a grid by its code.
      await page.getByTestId('map-search').fill(demo.grid);
      await page.getByTestId('map-search-list').getByTestId(`map-item-${demo.grid}`).click();
      await page.locator(`[data-testid="grid-card"][data-code="${demo.grid}"]`).waitFor();
    });
  });

  test('a point typed in the search finds its grid', async () => {
    const token = await tokenOf(USERS.town.login);
    const card = await callApi(server.url, 'GET', `api/v1/grids/${demo.grid}`, { token });
    const [lon, lat] = card.data.centroid;
    const located = await callApi(server.url, 'GET', `api/v1/locate?lon=${lon}&lat=${lat}`, { token });
    assert.equal(located.data.found, true);
    await withPage(async (page) => {
      await signIn(page, USERS.town);
      await mapReady(page);
      const search = page.getByTestId('map-search');
      await search.fill(`${lon.toFixed(6)}, ${lat.toFixed(6)}`);
      await page.getByTestId('map-locate').click();
      await page.locator(`[data-testid="grid-card"][data-code="${located.data.grid.code}"]`).waitFor();
      await viewAt(page, located.data.grid.code);

      // Outside every grid, and lon and lat the wrong way round.
      await search.fill('113.0, 22.0');
      await page.getByTestId('map-locate').click();
      await page.getByTestId('map-locate-result').filter({ hasText: '该坐标不在任何网格内。' }).waitFor();
      await search.fill(`${lat.toFixed(6)} ${lon.toFixed(6)}`);
      await search.press('Enter');
      await page.getByTestId('map-locate-result').filter({ hasText: '经纬度顺序似乎颠倒了' }).waitFor();
    });
  });

  test('a grid worker sees exactly the one grid of their scope', async () => {
    await withPage(async (page) => {
      await signIn(page, USERS.worker);
      await mapReady(page);
      assert.equal(await count(page, 'path.cg-grid'), 1);
      assert.equal(await page.locator('path.cg-grid').getAttribute('data-code'), demo.grid);
      assert.equal(await page.getByTestId('map-summary').getAttribute('data-grids'), '1');
      // Another grid of the town is not there, even when asked for by its code.
      const other = demo.grids.find((f) => f.properties.code !== demo.grid).properties.code;
      await page.goto(`/#/map?code=${other}`);
      await page.getByTestId('map-notfound').waitFor();
      assert.equal(await count(page, 'path.cg-grid'), 1);
    });
  });

  test('the page is in English when chosen', async () => {
    await withPage(async (page) => {
      await signIn(page, USERS.town);
      await mapReady(page);
      await page.getByTestId('lang-en').click();
      assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Grid map');
      assert.equal(await page.getByTestId('crumb-root').innerText(), 'All');
      assert.match(await page.getByTestId('map-summary').innerText(), /Towns: 1 · villages: 13 · grids: 68/);
      assert.equal(await page.getByTestId('nav-map').innerText(), 'Grid map');
    });
  });
});

/**
 * Two squares of about 1 km, new grids of the village of grid `at` (the demo grid by
 * default), centred on that grid: they overlap each other, the stored grids around, and
 * reach outside their village.
 */
function overlappingFile(at = demo.grid) {
  const g = demo.grids.find((f) => f.properties.code === at);
  const v = g.properties.parent;
  const [minLon, minLat, maxLon, maxLat] = bboxOf(g.geometry);
  const lon = (minLon + maxLon) / 2;
  const lat = (minLat + maxLat) / 2;
  const d = 0.005;
  const square = (x, y) => [
    [
      [x, y],
      [x + 2 * d, y],
      [x + 2 * d, y + 2 * d],
      [x, y + 2 * d],
      [x, y],
    ],
  ];
  const grid = (seq, x, y) => ({
    type: 'Feature',
    properties: { code: `${v}${seq}`, name: `测试网格${seq}`, kind: 'territorial', households: 10, population: 30 },
    geometry: { type: 'Polygon', coordinates: square(x, y) },
  });
  return {
    type: 'FeatureCollection',
    features: [grid('901', lon - d, lat - d), grid('902', lon, lat)],
  };
}

describe('uploading a grid file', () => {
  test('an administrator sees the report of a file with an overlap, and nothing is applied', async () => {
    const file = overlappingFile();
    await withPage(async (page) => {
      await signIn(page, USERS.admin);
      await mapReady(page);
      const before = await count(page, 'path.cg-grid');
      assert.ok(before >= DEMO.grids);

      await page.getByTestId('map-upload-input').setInputFiles({
        name: 'overlap.geojson',
        mimeType: 'application/geo+json',
        buffer: Buffer.from(JSON.stringify(file)),
      });
      const report = page.locator('[data-testid="upload-report"][data-phase="validated"]');
      await report.waitFor({ timeout: LOAD_TIMEOUT });
      assert.equal(await report.getAttribute('data-ok'), 'false');
      assert.equal(await page.getByTestId('upload-file').innerText(), 'overlap.geojson');
      assert.equal(await page.getByTestId('upload-features').innerText(), '2');

      const overlap = page.locator('[data-testid="upload-problem"][data-kind="overlap"]');
      assert.ok((await overlap.count()) >= 1, 'an overlap is reported');
      const row = await overlap.first().innerText();
      assert.match(row, /网格重叠/);
      assert.match(row, /第 [12] 个/);
      assert.match(row, /平方米|平方公里/);
      assert.match(await page.getByTestId('upload-status').innerText(), /发现 \d+ 个错误/);
      assert.equal(await overlap.first().getAttribute('data-severity'), 'error');
      assert.ok(Number(await page.getByTestId('upload-errors').innerText()) >= 1);

      // The file is drawn over the map, with the place of the overlap.
      await page.locator('path.cg-preview').nth(1).waitFor({ state: 'attached' });
      assert.equal(await count(page, 'path.cg-preview'), 2);
      await page.locator('path.cg-problem').first().waitFor({ state: 'attached' });

      // It cannot be applied as it is; discarding it leaves the map as it was.
      assert.equal(await page.getByTestId('upload-apply').isDisabled(), true);
      await page.getByTestId('upload-cancel').click();
      await page.getByTestId('upload-report').waitFor({ state: 'detached' });
      await gone(page, 'path.cg-preview');
      assert.equal(await count(page, 'path.cg-grid'), before);
    });

    // Nothing was written.
    const token = await tokenOf(USERS.town.login);
    const res = await callApi(server.url, 'GET', 'api/v1/grids/export?level=grid', { token });
    assert.equal(res.data.features.length, DEMO.grids);
  });
});

describe('applying a grid file', () => {
  /** The demo grid as the export gives it, renamed: a file that redraws that one grid. */
  function renamed(name) {
    const f = demo.grids.find((g) => g.properties.code === demo.grid);
    return { type: 'Feature', properties: { ...f.properties, name }, geometry: f.geometry };
  }

  async function upload(page, name, fc) {
    await page.getByTestId('map-upload-input').setInputFiles({
      name,
      mimeType: 'application/geo+json',
      buffer: Buffer.from(JSON.stringify(fc)),
    });
    const report = page.locator('[data-testid="upload-report"][data-phase="validated"]');
    await report.waitFor({ timeout: LOAD_TIMEOUT });
    return report;
  }

  async function gridNow(code) {
    const token = await tokenOf(USERS.town.login);
    const res = await callApi(server.url, 'GET', `api/v1/grids/${code}`, { token });
    assert.equal(res.status, 200);
    return res.data;
  }

  /** Waits for the map to draw a grid named `name` (its label, shown or not). */
  const labelled = (page, name) =>
    page.locator('.cg-map .cg-label-grid', { hasText: name }).waitFor({ state: 'attached', timeout: LOAD_TIMEOUT });

  test('a clean file is applied only when asked, and the map shows the change', async () => {
    const before = await gridNow(demo.grid);
    const name = `${before.name}（重绘）`;
    await withPage(async (page) => {
      await signIn(page, USERS.admin);
      await mapReady(page);
      const report = await upload(page, 'renamed.geojson', { type: 'FeatureCollection', features: [renamed(name)] });
      assert.equal(await report.getAttribute('data-ok'), 'true');
      assert.equal(await page.getByTestId('upload-status').innerText(), '校验通过，未发现问题。');
      assert.equal(await page.getByTestId('upload-changes-changed').innerText(), '1');
      assert.equal(await page.getByTestId('upload-changes-new').innerText(), '0');
      assert.equal(await count(page, '[data-testid="upload-problem"]'), 0);
      assert.equal(await page.getByTestId('upload-apply-partial').count(), 0);
      // Checked, not applied.
      assert.equal((await gridNow(demo.grid)).name, before.name);

      await page.getByTestId('upload-apply').click();
      await page.locator('[data-testid="upload-report"][data-phase="applied"]').waitFor({ timeout: LOAD_TIMEOUT });
      assert.match(await page.getByTestId('upload-applied').innerText(), /网格数据已导入/);
      assert.equal(await page.getByTestId('upload-applied-counts-changed').innerText(), '1');
      await labelled(page, name);
      await page.getByTestId('upload-done').click();
      await page.getByTestId('upload-report').waitFor({ state: 'detached' });

      // The grid was redrawn: a new version with the new name.
      await page.getByTestId(`map-item-${demo.village}`).click();
      await page.getByTestId(`map-item-${demo.grid}`).click();
      const card = page.locator(`[data-testid="grid-card"][data-code="${demo.grid}"][data-loaded="true"]`);
      await card.waitFor();
      assert.equal(await card.getByTestId('grid-card-name').innerText(), name);
      assert.match(await card.innerText(), new RegExp(`第 ${before.version + 1} 版`));
      assert.equal(await card.getByTestId('grid-card-versions').locator('li').count(), before.versions.length + 1);
    });
    const after = await gridNow(demo.grid);
    assert.equal(after.name, name);
    assert.equal(after.version, before.version + 1);
  });

  test('with errors, the features without errors can be imported alone', async () => {
    const before = await gridNow(demo.grid);
    const name = `${before.name}二`;
    // The squares go on the grid farthest from the one renamed, so that only they have errors.
    const centre = (f) => bboxOf(f.geometry).reduce((a, x, i) => (a[i % 2] += x / 2, a), [0, 0]);
    const [x0, y0] = centre(demo.grids.find((f) => f.properties.code === demo.grid));
    const far = demo.grids.reduce((best, f) => {
      const [x, y] = centre(f);
      const d = (x - x0) ** 2 + (y - y0) ** 2;
      return d > best.d ? { d, code: f.properties.code } : best;
    }, { d: -1, code: null }).code;
    const bad = overlappingFile(far).features;
    const file = { type: 'FeatureCollection', features: [...bad, renamed(name)] };
    await withPage(async (page) => {
      await signIn(page, USERS.admin);
      await mapReady(page);
      const grids = await count(page, 'path.cg-grid');
      const report = await upload(page, 'mixed.geojson', file);
      assert.equal(await report.getAttribute('data-ok'), 'false');
      assert.equal(await page.getByTestId('upload-apply').isDisabled(), true);
      assert.match(await report.innerText(), /将跳过 2 个有错误的要素/);

      await page.getByTestId('upload-apply-partial').click();
      await page.locator('[data-testid="upload-report"][data-phase="applied"]').waitFor({ timeout: LOAD_TIMEOUT });
      assert.match(await page.getByTestId('upload-skipped').innerText(), /跳过了 2 个有错误的要素：第 1、2 个/);
      await labelled(page, name);
      assert.equal(await count(page, 'path.cg-grid'), grids);
    });
    assert.equal((await gridNow(demo.grid)).name, name);
    const token = await tokenOf(USERS.town.login);
    const res = await callApi(server.url, 'GET', 'api/v1/grids/export?level=grid', { token });
    assert.equal(res.data.features.length, DEMO.grids, 'the grids with errors were not added');
  });
});

describe('the base map', () => {
  // Two servers with map.tile_url set: one whose tiles come from civgridd itself (its
  // favicon stands in for a tile), one whose tiles come from a tile server of this test
  // on another port, as in production.
  let same;
  let other;
  let tileServer;
  const tileRequests = [];

  before(async () => {
    tileServer = http.createServer((req, res) => {
      tileRequests.push(req.url);
      res.writeHead(200, { 'Content-Type': 'image/png', 'Cache-Control': 'no-store' });
      res.end(PNG);
    });
    await new Promise((resolve) => tileServer.listen(0, '127.0.0.1', resolve));
    const tileUrl = `http://127.0.0.1:${tileServer.address().port}/tiles/{z}/{x}/{y}.png`;
    [same, other] = await Promise.all([
      startServer({
        prepare: loadDemo,
        settings: ({ url }) => ({
          'map.tile_url': `${url}favicon.svg?tile={z}/{x}/{y}`,
          'map.tile_attribution': '测试底图',
          'map.tile_crs': 'gcj02',
        }),
      }),
      startServer({ prepare: loadDemo, settings: { 'map.tile_url': tileUrl, 'map.tile_attribution': '测试底图' } }),
    ]);
    await Promise.all([same, other].map((srv) => srv.addUser({ ...USERS.town, password: PASSWORD })));
  });

  after(async () => {
    await Promise.all([same?.stop(), other?.stop()]);
    await new Promise((resolve) => (tileServer ? tileServer.close(resolve) : resolve()));
  });

  /** Opens the map on `srv` and checks that the tiles of `pattern` are drawn under the grids. */
  async function tilesDrawn(srv, pattern, requested) {
    await withPage(
      async (page, rec) => {
        await signIn(page, USERS.town);
        await mapReady(page);
        assert.equal(await page.getByTestId('map-wrap').getAttribute('data-tiles'), 'on');
        assert.equal(await count(page, '.leaflet-tile-pane .cg-tiles'), 1);
        await page.locator('img.leaflet-tile.leaflet-tile-loaded').first().waitFor();
        assert.ok(requested(rec).some((u) => pattern.test(u)), requested(rec).join(' '));
        assert.equal(await count(page, 'path.cg-grid'), DEMO.grids);
        assert.match(await page.locator('.leaflet-control-attribution').innerText(), /测试底图/);
        assert.equal(await page.getByTestId('map-tile-error').count(), 0);
      },
      { srv },
    );
  }

  test('with map.tile_url set the map draws its tiles under the grids, in the CRS of the tiles', async () => {
    const pattern = new RegExp(`^${same.url.replace(/[.]/g, '\\.')}favicon\\.svg\\?tile=\\d+/\\d+/\\d+$`);
    const seen = [];
    await tilesDrawn(same, pattern, (rec) => {
      seen.push(...rec.requests);
      return rec.requests;
    });
    // A GCJ-02 base map (map.tile_crs): the grids are asked for in GCJ-02 too.
    const exports = seen.filter((u) => u.includes('/api/v1/grids/export'));
    assert.ok(exports.length > 0 && exports.every((u) => new URL(u).searchParams.get('crs') === 'gcj02'), exports.join(' '));
  });

  test('tiles from a tile server on another host are drawn (the CSP allows its origin)', async () => {
    await tilesDrawn(other, /^\/tiles\/\d+\/\d+\/\d+\.png$/, () => tileRequests);
  });
});

/** [minLon, minLat, maxLon, maxLat] of a GeoJSON geometry. */
function bboxOf(geometry) {
  const bb = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      bb[0] = Math.min(bb[0], c[0]);
      bb[1] = Math.min(bb[1], c[1]);
      bb[2] = Math.max(bb[2], c[0]);
      bb[3] = Math.max(bb[3], c[1]);
    } else c.forEach(walk);
  };
  walk(geometry.coordinates);
  return bb;
}
