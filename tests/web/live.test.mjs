// live.test.mjs: browser test of the live map on the command center page
// (#/command, web/public/live.js, docs/LIVE.md) against a real civgridd with
// the Zhongshan demo (古镇镇, 442000105): the duty officer opens the page, a
// grid worker reports an event through the API afterwards, and its marker
// and its line in the latest changes appear without a reload; a worker's
// position appears too, and the change of state after acceptance follows;
// when the server ends the stream (live.max_stream_s, 10 s here) the page shows
// "reconnecting", resumes with Last-Event-ID and misses nothing.
//
// Run with `make test-web` (or: CIVGRIDD=build/civgridd node --test tests/web/live.test.mjs).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LAUNCH, TIMEOUT, callApi, chromium, loadDemo, startServer } from './server.mjs';

const PASSWORD = 'Grid-Worker-2026';
const GRID = '442000105001001';
const POINT = { lon: 113.160803, lat: 22.637102 }; // inside GRID

const USERS = {
  worker: { login: 'worker.live', name: '网格员陈静', roles: 'grid_worker', scope: `grid:${GRID}` },
  duty: { login: 'duty.live', name: '古镇值班长', roles: 'duty_officer', scope: 'grid:442000105' },
};

let server;
let browser;

async function tokenOf(who) {
  const res = await callApi(server.url, 'POST', 'api/v1/auth/login', { body: { login: USERS[who].login, password: PASSWORD } });
  assert.equal(res.status, 200, JSON.stringify(res.data));
  return res.data.token;
}

before(async () => {
  [server, browser] = await Promise.all([
    startServer({ prepare: loadDemo, settings: { 'live.max_stream_s': '10' } }),
    chromium.launch(LAUNCH),
  ]);
  for (const u of Object.values(USERS)) await server.addUser({ ...u, password: PASSWORD });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The duty officer's command page, signed in, with the live map connected. */
async function commandPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, baseURL: server.url });
  context.setDefaultTimeout(TIMEOUT);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto('/#/login');
  await page.getByTestId('login-name').fill(USERS.duty.login);
  await page.getByTestId('login-password').fill(PASSWORD);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('user-menu').waitFor();
  await page.goto('/#/command');
  await page.getByTestId('live-map').waitFor();
  await page.locator('[data-testid="live-status"][data-state="live"]').waitFor({ timeout: 15000 });
  return { context, page, errors };
}

async function reportApi(title) {
  const rep = await callApi(server.url, 'POST', 'api/v1/events', {
    token: await tokenOf('worker'),
    body: { source: 'patrol', category: '0102', title, ...POINT },
  });
  assert.equal(rep.status, 201, JSON.stringify(rep.data));
  return rep.data.id;
}

describe('the live map of the command center', () => {
  test('an event reported after the page loaded appears without a reload', async () => {
    const { context, page, errors } = await commandPage();
    try {
      await page.getByTestId('live-legend').waitFor();
      // A mark that a reload would wipe out.
      await page.evaluate(() => {
        window.__liveMark = 'still here';
      });

      const worker = await tokenOf('worker');
      const rep = await callApi(server.url, 'POST', 'api/v1/events', {
        token: worker,
        body: { source: 'patrol', category: '0102', title: '实时地图上的新事件', ...POINT },
      });
      assert.equal(rep.status, 201, JSON.stringify(rep.data));
      const id = rep.data.id;
      await page.locator(`path.cg-live-event-${id}`).waitFor({ state: 'attached', timeout: 15000 });
      const item = page.locator(`[data-testid="live-feed-item"][data-event="${id}"]`).first();
      await item.waitFor();
      assert.match(await item.textContent(), /实时地图上的新事件/);
      assert.match(await item.textContent(), /上报/);
      assert.match(await page.locator(`path.cg-live-event-${id}`).getAttribute('class'), /cg-live-new/);

      // The worker starts a patrol and sends a point: its position shows up.
      const p = await callApi(server.url, 'POST', 'api/v1/patrols', { token: worker, body: {} });
      assert.equal(p.status, 201, JSON.stringify(p.data));
      const pts = await callApi(server.url, 'POST', `api/v1/patrols/${p.data.id}/points`, {
        token: worker,
        body: { points: [{ t: new Date(Date.now() - 1000).toISOString(), ...POINT }] },
      });
      assert.equal(pts.status, 200, JSON.stringify(pts.data));
      await page.locator('path.cg-live-worker').first().waitFor({ state: 'attached', timeout: 15000 });

      // The duty officer's colleague files it: the marker changes colour, still without a reload.
      const duty = await tokenOf('duty');
      for (const action of ['accept', 'file']) {
        const r = await callApi(server.url, 'POST', `api/v1/events/${id}/actions`, { token: duty, body: { action } });
        assert.equal(r.status, 200, JSON.stringify(r.data));
      }
      await page.locator(`path.cg-live-event-${id}.cg-live-filed`).waitFor({ state: 'attached', timeout: 15000 });
      assert.equal(await page.evaluate(() => window.__liveMark), 'still here', 'the page was not reloaded');
      assert.match(await page.getByTestId('live-counts').textContent(), /未结事件 \d+/);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  test('when the stream ends the page reconnects and misses nothing', async () => {
    const { context, page, errors } = await commandPage();
    try {
      // Every state the indicator goes through, in order.
      await page.evaluate(() => {
        const el = document.querySelector('[data-testid="live-status"]');
        window.__liveStates = [el.dataset.state];
        new MutationObserver(() => window.__liveStates.push(el.dataset.state)).observe(el, {
          attributes: true,
          attributeFilter: ['data-state'],
        });
      });
      await page.waitForFunction(() => window.__liveStates.includes('reconnecting'), null, { timeout: 20000 });
      const id = await reportApi('断线重连期间的事件'); // during the gap, or just after it
      await page.locator(`path.cg-live-event-${id}`).waitFor({ state: 'attached', timeout: 15000 });
      await page.waitForFunction(() => window.__liveStates.at(-1) === 'live', null, { timeout: 15000 });
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
});
