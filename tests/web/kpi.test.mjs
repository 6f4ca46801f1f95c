// kpi.test.mjs: browser tests of the KPI page (#/kpi, web/public/kpi.js) against a real
// civgridd with the Zhongshan demo and 160 events taken through the workflow
// (`civgrid demo --events 160`): the duty officer reads the town's totals, ranks the grids by
// a figure (the column head and the form), pages through them, asks for dates the wrong way
// round, and reads it in English; the figures on the page are the API's; a grid worker has
// no such page.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { LAUNCH, callApi, chromium, runCli, signedInContext, startServer } from './server.mjs';

const PASSWORD = 'Grid-Leader-2026';
const DUTY = { login: 'duty.kpi', name: '古镇值班长', roles: 'duty_officer', scope: 'grid:442000105' };
const WORKER = { login: 'worker.kpi', name: '网格员', roles: 'grid_worker', scope: 'grid:442000105001001' };

let server;
let browser;
let token;

async function prepare(dbPath) {
  await runCli(['--db', dbPath, 'init']);
  await runCli(['--db', dbPath, 'demo', '--city', 'zhongshan', '--events', '160'], '', 120_000);
}

/** GET api/v1/kpi as the duty officer. */
async function kpi(query) {
  const res = await callApi(server.url, 'GET', `api/v1/kpi?${new URLSearchParams(query)}`, { token });
  assert.equal(res.status, 200, JSON.stringify(res.data));
  return res.data;
}

/** The figures of the page's rows: [{key, name, field: text}]. */
const rowsOf = (page) =>
  page.locator('[data-testid="kpi-row"]').evaluateAll((trs) =>
    trs.map((tr) => ({
      key: tr.dataset.key,
      name: tr.querySelector('[data-testid="kpi-name"]').textContent,
      ...Object.fromEntries([...tr.querySelectorAll('td[data-field]')].map((td) => [td.dataset.field, td.textContent])),
    })),
  );

const ready = (page) => page.locator('[data-testid="kpi-table"][data-ready="true"]').waitFor();

before(async () => {
  [server, browser] = await Promise.all([startServer({ prepare }), chromium.launch(LAUNCH)]);
  for (const u of [DUTY, WORKER]) await server.addUser({ ...u, password: PASSWORD });
  const res = await callApi(server.url, 'POST', 'api/v1/auth/login', { body: { login: DUTY.login, password: PASSWORD } });
  token = res.data.token;
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the duty officer ranks the grids of the town and pages through them', async () => {
  const s = await signedInContext(browser, server.url, DUTY.login, PASSWORD, { name: 'duty' });
  try {
    const page = s.page;
    await page.getByTestId('nav-kpi').click();
    await page.getByTestId('kpi-page').waitFor();
    await ready(page);
    // by town this year (the demo's events are recent): one town with its name and the total
    await page.getByTestId('kpi-period').selectOption('year');
    await page.getByTestId('kpi-apply').click();
    await ready(page);
    const year = new Date(Date.now() + 8 * 3600e3).getUTCFullYear();
    const period = { from: `${year}-01-01`, to: `${year + 1}-01-01` };
    const town = await kpi({ by: 'town', ...period });
    const rows = await rowsOf(page);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].key, '442000105');
    assert.equal(rows[0].name, '古镇镇');
    assert.equal(rows[0].reported, String(town.rows[0].reported));
    assert.match(await page.getByTestId('kpi-total').innerText(), new RegExp(String(town.total.reported)));

    // by grid, ranked by the form: most reported first, as the API ranks them
    await page.getByTestId('kpi-by').selectOption('grid');
    await page.getByTestId('kpi-order').selectOption('reported');
    await page.getByTestId('kpi-direction').selectOption('desc');
    await page.getByTestId('kpi-apply').click();
    await page.waitForURL(/by=grid/);
    await ready(page);
    const api = await kpi({ by: 'grid', ...period, order: '-reported', limit: 50 });
    const shown = await rowsOf(page);
    assert.equal(shown.length, Math.min(50, api.groups));
    assert.deepEqual(shown.map((r) => r.key), api.rows.map((r) => r.key), 'the ranking is the API\'s');
    assert.ok(shown.every((r) => r.name && r.name !== r.key), 'grids are shown by name');
    const counts = shown.map((r) => Number(r.reported));
    assert.deepEqual(counts, [...counts].sort((a, b) => b - a));

    // the column head turns the order around: fewest first
    await page.getByTestId('kpi-sort-reported').click();
    await page.waitForURL(/order=reported/);
    await ready(page);
    const up = (await rowsOf(page)).map((r) => Number(r.reported));
    assert.deepEqual(up, [...up].sort((a, b) => a - b));
    assert.equal(await page.locator('th[aria-sort="ascending"]').count(), 1);

    // pages of 50 when there are more groups; the address keeps the page
    if (api.groups > 50) {
      await page.getByTestId('kpi-pager-next').click();
      await page.waitForURL(/page=2/);
      await ready(page);
      assert.equal((await rowsOf(page)).length, api.groups - 50);
      assert.match(await page.getByTestId('kpi-pager').innerText(), new RegExp(`51`));
      await page.getByTestId('kpi-pager-prev').click();
      await page.waitForURL((u) => !/page=/.test(u.hash));
      await ready(page);
    }

    // dates the wrong way round: said so, nothing asked of the server
    await page.getByTestId('kpi-period').selectOption('custom');
    await page.getByTestId('kpi-from').fill(`${year}-03-10`);
    await page.getByTestId('kpi-to').fill(`${year}-03-01`);
    await page.getByTestId('kpi-apply').click();
    await page.getByTestId('kpi-dates-error').waitFor();
    // and the right way: both days included
    await page.getByTestId('kpi-to').fill(`${year}-12-31`);
    await page.getByTestId('kpi-apply').click();
    await ready(page);
    assert.match(await page.getByTestId('kpi-range').innerText(), new RegExp(`${year}-03-10.*${year}-12-31`));

    // in English
    await page.evaluate(() => localStorage.setItem('civgrid.lang', 'en'));
    await page.reload();
    await ready(page);
    assert.equal(await page.locator('#page-title').innerText(), 'KPIs');
  } finally {
    await s.close();
  }
});

test('a grid worker has no KPI page', async () => {
  const s = await signedInContext(browser, server.url, WORKER.login, PASSWORD, { name: 'worker', viewport: { width: 390, height: 844 } });
  try {
    assert.equal(await s.page.getByTestId('nav-kpi').count(), 0);
    await s.page.goto('/#/kpi');
    await s.page.getByTestId('forbidden').waitFor();
  } finally {
    await s.close();
  }
});
