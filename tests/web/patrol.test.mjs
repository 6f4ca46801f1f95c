// patrol.test.mjs: browser tests of the patrol track on the phone (web/public/patrol.js)
// against a real civgridd with the Zhongshan demo (古镇镇, 442000105), a grid worker made
// by the civgrid CLI. Points are recorded from the browser's geolocation (Playwright's):
//
//   (a) points recorded while offline are kept in localStorage and sent when the network is
//       back, the patrol still running (no stop needed), and the server's track has them;
//   (b) points kept when the app was closed offline are sent when it is opened again;
//   (c) a batch answered 429 (server overloaded) or 503 is kept and sent later, not dropped.
//
// Run with `make test-web` (or: CIVGRIDD=build/civgridd node --test tests/web/patrol.test.mjs).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LAUNCH, callApi, chromium, loadDemo, signedInContext, startServer } from './server.mjs';

const PASSWORD = 'Grid-Worker-2026';
const GRID = '442000105001001';
const POINT = { lon: 113.160803, lat: 22.637102 }; // inside GRID
const WORKER = { login: 'worker.patrol', name: '网格员赵强', roles: 'grid_worker', scope: `grid:${GRID}` };

let server;
let browser;
let token;

before(async () => {
  [server, browser] = await Promise.all([startServer({ prepare: loadDemo }), chromium.launch(LAUNCH)]);
  await server.addUser({ ...WORKER, password: PASSWORD });
  const res = await callApi(server.url, 'POST', 'api/v1/auth/login', { body: { login: WORKER.login, password: PASSWORD } });
  assert.equal(res.status, 200, JSON.stringify(res.data));
  token = res.data.token;
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A signed-in phone-sized context of the worker at POINT; fails on uncaught script errors. */
function session() {
  return signedInContext(browser, server.url, WORKER.login, PASSWORD, {
    viewport: { width: 390, height: 844 },
    geolocation: { longitude: POINT.lon, latitude: POINT.lat },
    name: 'the worker',
    before: (context) => context.setOffline(false),
  });
}

/** The points kept on the device (localStorage civgrid.track). */
const kept = (page) => page.evaluate(() => JSON.parse(localStorage.getItem('civgrid.track') ?? '{"points":[]}').points.length);

/** Moves the phone `n` times (east, about 20 m a step) and waits until `n` more points are kept. */
async function walk(s, n, from) {
  const before = await kept(s.page);
  for (let i = 1; i <= n; i += 1) {
    await s.context.setGeolocation({ longitude: POINT.lon + (from + i) * 0.0002, latitude: POINT.lat });
    await s.page.waitForFunction(
      (want) => JSON.parse(localStorage.getItem('civgrid.track')).points.length >= want,
      before + i,
    );
  }
}

/** The server's track of patrol `id`: its points' longitudes. */
async function track(id) {
  const res = await callApi(server.url, 'GET', `api/v1/patrols/${id}/track`, { token });
  assert.equal(res.status, 200, JSON.stringify(res.data));
  return res.data.points.map((p) => p.lon);
}

async function startPatrol(page) {
  await page.goto('/#/report');
  await page.getByTestId('patrol-start').click();
  await page.locator('[data-testid="patrol"][data-running="true"]').waitFor();
  return Number(/#(\d+)/.exec(await page.getByTestId('patrol-status').innerText())[1]);
}

/** Stops patrol `id` through the API when a failed test left it running (the next one starts its own). */
async function stopLeft(id) {
  if (id) await callApi(server.url, 'POST', `api/v1/patrols/${id}/stop`, { token, body: {} });
}

async function stopPatrol(page) {
  await page.getByTestId('patrol-stop').click();
  await page.locator('[data-testid="patrol"][data-running="false"]').waitFor();
}

describe('patrol track offline', () => {
  test('points recorded offline are sent when the network is back, the patrol still running', async () => {
    const s = await session();
    let id = 0;
    try {
      id = await startPatrol(s.page);
      await s.context.setOffline(true);
      const online = (await track(id)).length; // the first fix may have gone already
      await walk(s, 3, 0);
      await s.page.locator('[data-testid="patrol"]:not([data-waiting="0"])').waitFor();
      assert.ok((await kept(s.page)) >= 3);
      assert.ok(await s.page.getByTestId('patrol-waiting').isVisible(), 'the waiting count is shown');
      assert.equal((await track(id)).length, online, 'nothing reached the server while offline');

      // Back online: the 'online' event sends what was kept; no stop, no 15 s timer needed.
      await s.context.setOffline(false);
      await s.page.locator('[data-testid="patrol"][data-waiting="0"]').waitFor();
      assert.equal(await kept(s.page), 0);
      const lons = await track(id);
      assert.ok(lons.length >= online + 3, `track ${JSON.stringify(lons)}`);
      for (let i = 1; i <= 3; i += 1) {
        const want = POINT.lon + i * 0.0002;
        assert.ok(lons.some((l) => Math.abs(l - want) < 1e-9), `the offline point ${want} is in the track`);
      }
      await stopPatrol(s.page);
    } finally {
      await s.close();
      await stopLeft(id);
    }
  });

  test('points kept when the app was closed offline are sent when it is opened again', async () => {
    const s = await session();
    let id = 0;
    try {
      id = await startPatrol(s.page);
      await s.context.setOffline(true);
      await walk(s, 2, 10);
      const waiting = await kept(s.page);
      assert.ok(waiting >= 2);
      await s.page.close(); // the app closed, points still on the device

      await s.context.setOffline(false);
      const page = await s.context.newPage();
      page.on('pageerror', (e) => s.errors.push(String(e)));
      await page.goto('/#/report');
      await page.locator('[data-testid="patrol"][data-running="true"][data-waiting="0"]').waitFor();
      const lons = await track(id);
      for (let i = 11; i <= 12; i += 1) {
        const want = POINT.lon + i * 0.0002;
        assert.ok(lons.some((l) => Math.abs(l - want) < 1e-9), `the kept point ${want} is in the track`);
      }
      s.page = page;
      await stopPatrol(page);
    } finally {
      await s.close();
      await stopLeft(id);
    }
  });

  test('a batch answered 429 or 503 is kept and sent later', async () => {
    const s = await session();
    let id = 0;
    try {
      id = await startPatrol(s.page);
      let refused = 0;
      const statuses = [429, 503];
      await s.page.route('**/api/v1/patrols/*/points', (route) => {
        const status = statuses[refused % 2];
        refused += 1;
        return route.fulfill({
          status,
          contentType: 'application/json',
          headers: { 'Retry-After': '1' },
          body: JSON.stringify({ error: { code: status === 429 ? 'too_many_connections' : 'overloaded', message: 'busy' } }),
        });
      });
      await walk(s, 2, 20);
      // Asked to send (as when the network comes back): refused, the points stay.
      await s.page.evaluate(() => window.dispatchEvent(new Event('online')));
      for (let i = 0; i < 100 && refused < 1; i += 1) await new Promise((r) => setTimeout(r, 50));
      assert.ok(refused >= 1, 'the server was asked');
      await s.page.evaluate(() => window.dispatchEvent(new Event('online')));
      for (let i = 0; i < 100 && refused < 2; i += 1) await new Promise((r) => setTimeout(r, 50));
      assert.ok(refused >= 2, 'asked again');
      assert.ok((await kept(s.page)) >= 2, 'refused points are kept');

      await s.page.unroute('**/api/v1/patrols/*/points');
      await s.page.evaluate(() => window.dispatchEvent(new Event('online')));
      await s.page.locator('[data-testid="patrol"][data-waiting="0"]').waitFor();
      const lons = await track(id);
      for (let i = 21; i <= 22; i += 1) {
        const want = POINT.lon + i * 0.0002;
        assert.ok(lons.some((l) => Math.abs(l - want) < 1e-9), `the refused point ${want} came later`);
      }
      await stopPatrol(s.page);
    } finally {
      await s.close();
      await stopLeft(id);
    }
  });
});
