// events.test.mjs: browser tests of the event pages (#/events, #/command,
// #/events/:id, #/report, #/my) against a real civgridd with the Zhongshan
// demo (古镇镇, 442000105), accounts made by the civgrid CLI:
//
//   (a) a grid worker reports 0102 暴露垃圾 through the form; the duty officer
//       accepts, files and dispatches it from the event page; the department
//       handler signs and reports back; the worker's check fails once (rework)
//       and then passes; the duty officer closes it; the timeline shows every step;
//   (b) a citizen reports (its position from the browser), the event goes to
//       checked, the duty officer's return visit with satisfaction 5 closes it,
//       and the citizen sees it closed under "my reports";
//   (c) a report made offline is queued and sent when the network is back;
//   (d) two tabs on one event: the second to act sees "someone acted first";
//   and the queue: filters, paging, the dashboard strip, the English page.
//
// Run with `make test-web` (or: CIVGRIDD=build/civgridd node --test tests/web/events.test.mjs).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LAUNCH, callApi, chromium, loadDemo, signedInContext, startServer } from './server.mjs';

const PASSWORD = 'Grid-Worker-2026';
const GRID = '442000105001001';
const POINT = { lon: 113.160803, lat: 22.637102 }; // inside GRID
const DEPT = '环境卫生管理部门'; // the catalogue's department of event 0102 暴露垃圾

const USERS = {
  worker: { login: 'worker.guzhen', name: '网格员李明', roles: 'grid_worker', scope: `grid:${GRID}` },
  duty: { login: 'duty.guzhen', name: '古镇值班长', roles: 'duty_officer', scope: 'grid:442000105' },
  handler: { login: 'handler.sanitation', name: '环卫处置员', roles: 'dept_handler', scope: `department:${DEPT}` },
  citizen: { login: 'citizen.wang', name: '市民王女士', roles: 'citizen', scope: 'own' },
};

let server;
let browser;
const tokens = {};

async function tokenOf(who) {
  if (tokens[who]) return tokens[who];
  const res = await callApi(server.url, 'POST', 'api/v1/auth/login', { body: { login: USERS[who].login, password: PASSWORD } });
  assert.equal(res.status, 200, JSON.stringify(res.data));
  tokens[who] = res.data.token;
  return tokens[who];
}

/** The event as the API shows it to `who`. */
async function eventOf(who, id) {
  const res = await callApi(server.url, 'GET', `api/v1/events/${id}`, { token: await tokenOf(who) });
  assert.equal(res.status, 200, JSON.stringify(res.data));
  return res.data;
}

/** Reports through the API (set-up of the queue tests). */
async function reportApi(who, extra = {}) {
  const res = await callApi(server.url, 'POST', 'api/v1/events', {
    token: await tokenOf(who),
    body: { source: 'patrol', category: '0102', title: '路边暴露垃圾', ...POINT, ...extra },
  });
  assert.equal(res.status, 201, JSON.stringify(res.data));
  return res.data;
}

before(async () => {
  [server, browser] = await Promise.all([startServer({ prepare: loadDemo }), chromium.launch(LAUNCH)]);
  for (const u of Object.values(USERS)) await server.addUser({ ...u, password: PASSWORD });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/**
 * A signed-in browser context of `who` (phone-sized for the worker and the
 * citizen) with one page; fails on uncaught script errors. Returns
 * {context, page, errors, close()}.
 */
function session(who, { viewport, geolocation } = {}) {
  const phone = who === 'worker' || who === 'citizen';
  return signedInContext(browser, server.url, USERS[who].login, PASSWORD, {
    viewport: viewport ?? (phone ? { width: 390, height: 844 } : { width: 1280, height: 900 }),
    geolocation,
    name: who,
  });
}

/** Opens event `id` and waits until it is shown (and no reload is under way). */
async function openEvent(page, id) {
  if (page.url().endsWith(`#/events/${id}`)) await page.getByTestId('event-refresh').click();
  else await page.goto(`/#/events/${id}`);
  await page.locator(`[data-testid="event-page"][data-id="${id}"][data-loading="false"]`).waitFor();
}

/** On the open event page: does `action` with `note` (and the dialog's extras); waits for `state`. */
async function act(page, action, state, { note, satisfaction } = {}) {
  await page.getByTestId(`action-${action}`).click();
  const dialog = page.getByTestId('action-dialog');
  await dialog.waitFor();
  if (satisfaction) await dialog.getByTestId(`satisfaction-${satisfaction}`).check();
  if (note) await dialog.getByTestId('action-note').fill(note);
  await dialog.getByTestId('action-submit').click();
  await dialog.waitFor({ state: 'detached' });
  await page.locator(`[data-testid="event-page"][data-state="${state}"][data-loading="false"]`).waitFor();
  await page.getByTestId('event-done').waitFor();
}

/** The buttons of the actions the page offers, in order. */
const actionButtons = (page) =>
  page.locator('[data-testid="event-actions"] button').evaluateAll((bs) => bs.map((b) => b.dataset.testid.slice(7)));

/** Fills and sends the report form (already open). */
async function fillReport(page, { title, lon = POINT.lon, lat = POINT.lat, people, description } = {}) {
  await page.locator('[data-testid="report-category"] option[value="event:0102"]').waitFor({ state: 'attached' });
  await page.getByTestId('report-category').selectOption('event:0102');
  await page.getByTestId('report-title').fill(title);
  if (description) await page.getByTestId('report-description').fill(description);
  if (people !== undefined) await page.getByTestId('report-people').fill(String(people));
  if (lon !== null) await page.getByTestId('report-lon').fill(String(lon));
  if (lat !== null) await page.getByTestId('report-lat').fill(String(lat));
}

describe('a worker\'s report from the form to closure', () => {
  test('report, accept, file, dispatch, sign, feedback, check fails, feedback, check passes, close', async () => {
    const worker = await session('worker');
    const duty = await session('duty');
    const handler = await session('handler');
    try {
      // The worker reports on the phone-sized form.
      const w = worker.page;
      await w.goto('/#/report');
      await w.getByTestId('report-page').waitFor();
      assert.equal(await w.locator('[data-testid="report-kind-self_resolved"]').count(), 1, 'a worker may resolve on the spot');
      await fillReport(w, { title: '路边暴露垃圾（表单）', people: 2, description: '桥头东侧一堆生活垃圾' });
      await w.getByTestId('report-submit').click();
      const done = w.getByTestId('report-done');
      await done.waitFor();
      const id = Number(await done.getAttribute('data-id'));
      assert.ok(id > 0);
      assert.match(await done.innerText(), new RegExp(GRID));
      const ev = await eventOf('duty', id);
      assert.equal(ev.source, 'patrol');
      assert.equal(ev.grid, GRID);
      assert.equal(ev.state, 'reported');
      assert.equal(ev.people, 2);
      assert.equal(ev.department, DEPT);

      // The worker's own list has it, in Chinese.
      await w.goto('/#/events');
      const row = w.locator(`[data-testid="event-row"][data-id="${id}"]`);
      await row.waitFor();
      assert.equal(await row.getByTestId('event-state').innerText(), '上报');
      assert.match(await row.innerText(), /暴露垃圾/);
      assert.match(await row.innerText(), new RegExp(GRID));

      // The duty officer sees it in the town's queue and acts from the event page.
      const d = duty.page;
      await d.goto('/#/events');
      await d.locator(`[data-testid="event-row"][data-id="${id}"]`).getByTestId('event-link').click();
      await d.locator(`[data-testid="event-page"][data-id="${id}"]`).waitFor();
      assert.equal(await d.getByTestId('event-title').innerText(), '路边暴露垃圾（表单）');
      assert.equal(await d.getByTestId('event-department').innerText(), DEPT);
      assert.deepEqual(await actionButtons(d), ev.actions, 'exactly the actions the API lists');
      assert.equal(await d.getByTestId('action-accept').innerText(), '受理');
      assert.ok((await d.getByTestId('risk-reason').count()) >= 2, 'urgency and people');
      await act(d, 'accept', 'accepted', { note: '属实，受理' });
      assert.equal(await d.getByTestId('action-file').innerText(), '立案');
      await act(d, 'file', 'filed', { note: '符合立案条件' });
      assert.equal(await d.getByTestId('action-dispatch').innerText(), '派遣');
      await act(d, 'dispatch', 'dispatched', { note: '请环卫部门处理' });
      assert.deepEqual(await actionButtons(d), (await eventOf('duty', id)).actions, 'exactly the actions the API lists');

      // The handler's inbox has it; signs and reports back.
      const h = handler.page;
      await h.goto('/#/events');
      await h.locator(`[data-testid="event-row"][data-id="${id}"][data-state="dispatched"]`).waitFor();
      await openEvent(h, id);
      assert.deepEqual(await actionButtons(h), (await eventOf('handler', id)).actions);
      assert.equal(await h.getByTestId('action-sign').innerText(), '签收');
      await act(h, 'sign', 'handling', { note: '已签收' });
      assert.equal(await h.getByTestId('action-feedback').innerText(), '处置反馈');
      await act(h, 'feedback', 'handled', { note: '已清理' });

      // The worker checks on site: fails once, then passes.
      await openEvent(w, id);
      assert.equal(await w.getByTestId('action-check_fail').innerText(), '核查不通过(返工)');
      await act(w, 'check_fail', 'handling', { note: '仍有残留' });
      assert.equal(await w.getByTestId('event-rework').innerText(), '1');
      await openEvent(h, id);
      await act(h, 'feedback', 'handled', { note: '已彻底清理' });
      await openEvent(w, id);
      assert.equal(await w.getByTestId('action-check_pass').innerText(), '核查通过');
      await act(w, 'check_pass', 'checked', { note: '已清理干净' });

      // The duty officer closes it.
      await openEvent(d, id);
      assert.equal(await d.getByTestId('action-close').innerText(), '结案');
      await act(d, 'close', 'closed', { note: '结案' });
      assert.equal(await d.locator('[data-testid="event-actions"]').count(), 0, 'no action is left');
      assert.equal(await d.getByTestId('event-state').first().innerText(), '结案');

      // The timeline shows every step, in order, with who, the states and the notes.
      const items = d.getByTestId('timeline-item');
      const actions = await items.evaluateAll((li) => li.map((x) => x.dataset.action));
      assert.deepEqual(actions, [
        'report', 'accept', 'file', 'dispatch', 'sign', 'feedback', 'check_fail', 'feedback', 'check_pass', 'close',
      ]);
      const api = await eventOf('duty', id);
      assert.deepEqual(actions, api.log.map((l) => l.action));
      const text = await items.allInnerTexts();
      assert.match(text[1], /受理/);
      assert.match(text[1], /上报 → 受理/);
      assert.match(text[1], /duty\.guzhen/);
      assert.match(text[1], /属实，受理/);
      assert.match(text[3], /立案 → 已派遣/);
      assert.match(text[4], /handler\.sanitation/);
      assert.match(text[6], /核查不通过\(返工\)/);
      assert.match(text[6], /已反馈 → 处置中/);
      assert.match(text[6], /仍有残留/);
      assert.match(text[6], /worker\.guzhen/);
      assert.match(text[9], /已核查 → 结案/);
      assert.equal(api.state, 'closed');
      assert.equal(api.rework_count, 1);
      assert.equal(api.closure_type, 'normal');
    } finally {
      await worker.close();
      await duty.close();
      await handler.close();
    }
  });
});

describe('a citizen\'s report through the return visit', () => {
  test('citizen reports, handled and checked, a visit with 5 closes it, the citizen sees it closed', async () => {
    const citizen = await session('citizen', { geolocation: { longitude: POINT.lon, latitude: POINT.lat } });
    try {
      const c = citizen.page;
      // A citizen has "my reports" and the form, not the staff queue.
      assert.equal(await c.getByTestId('nav-my').count(), 1);
      assert.equal(await c.getByTestId('nav-report').count(), 1);
      assert.equal(await c.getByTestId('nav-events').count(), 0);
      await c.goto('/#/report');
      await c.getByTestId('report-page').waitFor();
      assert.equal(await c.locator('[data-testid="report-kind-self_resolved"]').count(), 0, 'no self-resolution for citizens');
      await fillReport(c, { title: '小区门口垃圾没人清', lon: null, lat: null });
      await c.getByTestId('report-locate').click();
      await c.waitForFunction(() => document.querySelector('[data-testid="report-lat"]').value !== '');
      assert.equal(Number(await c.getByTestId('report-lon').inputValue()), POINT.lon);
      assert.equal(Number(await c.getByTestId('report-lat').inputValue()), POINT.lat);
      await c.getByTestId('report-submit').click();
      const done = c.getByTestId('report-done');
      await done.waitFor();
      const id = Number(await done.getAttribute('data-id'));
      assert.equal((await eventOf('duty', id)).source, 'citizen');

      // My reports: reported; no action for the citizen.
      await c.goto('/#/my');
      const row = c.locator(`[data-testid="event-row"][data-id="${id}"]`);
      await row.waitFor();
      assert.equal(await row.getByTestId('event-state').innerText(), '上报');
      await openEvent(c, id);
      assert.equal(await c.locator('[data-testid="event-actions"]').count(), 0);

      // Through to checked by the API (the pages are walked in the other test).
      const step = async (who, action, extra = {}) => {
        const res = await callApi(server.url, 'POST', `api/v1/events/${id}/actions`, {
          token: await tokenOf(who),
          body: { action, ...extra },
        });
        assert.equal(res.status, 200, `${action}: ${JSON.stringify(res.data)}`);
      };
      for (const [who, action] of [
        ['duty', 'accept'], ['duty', 'file'], ['duty', 'dispatch'], ['handler', 'sign'], ['handler', 'feedback'], ['worker', 'check_pass'],
      ]) {
        await step(who, action);
      }

      // The duty officer's return visit: close is not offered, the visit asks a satisfaction.
      const duty = await session('duty');
      try {
        const d = duty.page;
        await openEvent(d, id);
        const offered = await actionButtons(d);
        assert.ok(offered.includes('revisit'), offered.join());
        assert.ok(!offered.includes('close'), 'a citizen\'s event closes by its return visit');
        assert.equal(await d.getByTestId('action-revisit').innerText(), '回访');
        await d.getByTestId('action-revisit').click();
        const dialog = d.getByTestId('action-dialog');
        await dialog.getByTestId('action-submit').click();
        await dialog.locator('.form-error').waitFor();
        assert.equal(await dialog.count(), 1, 'a visit needs a satisfaction');
        await dialog.getByTestId('satisfaction-5').check();
        await dialog.getByTestId('action-note').fill('群众表示满意');
        await dialog.getByTestId('action-submit').click();
        await d.locator('[data-testid="event-page"][data-state="closed"][data-loading="false"]').waitFor();
        assert.equal(await d.getByTestId('event-satisfaction').innerText(), '5');
        const last = d.getByTestId('timeline-item').last();
        assert.equal(await last.getAttribute('data-action'), 'revisit');
        assert.match(await last.innerText(), /群众表示满意/);
        assert.match(await last.innerText(), /满意度/);
      } finally {
        await duty.close();
      }

      // The citizen sees it closed.
      await c.goto('/#/my');
      await c.getByTestId('events-page').waitFor();
      await c.getByTestId('events-refresh').click();
      await c.locator(`[data-testid="event-row"][data-id="${id}"][data-state="closed"]`).waitFor();
      assert.equal(await c.locator(`[data-testid="event-row"][data-id="${id}"]`).getByTestId('event-state').innerText(), '结案');
      const mine = await c.getByTestId('event-row').evaluateAll((rows) => rows.map((r) => Number(r.dataset.id)));
      const all = (await callApi(server.url, 'GET', 'api/v1/events', { token: await tokenOf('citizen') })).data.events;
      assert.deepEqual(mine, all.map((e) => e.id), 'only the citizen\'s own reports');
      await openEvent(c, id);
      assert.equal(await c.getByTestId('event-state').first().innerText(), '结案');
      assert.equal(await c.getByTestId('event-satisfaction').innerText(), '5');
    } finally {
      await citizen.close();
    }
  });
});

describe('offline reports', () => {
  test('a report made offline is queued and sent when the network is back', async () => {
    const worker = await session('worker');
    try {
      const w = worker.page;
      await w.goto('/#/report');
      await w.getByTestId('report-page').waitFor();
      await fillReport(w, { title: '离线上报的暴露垃圾' });
      await worker.context.setOffline(true);
      await w.getByTestId('report-submit').click();
      await w.getByTestId('report-queued').waitFor();
      assert.equal(await w.getByTestId('outbox').getAttribute('data-count'), '1');
      assert.match(await w.getByTestId('outbox-count').innerText(), /1 条/);
      // A second one while still offline.
      await fillReport(w, { title: '离线上报的第二件' });
      await w.getByTestId('report-submit').click();
      await w.locator('[data-testid="outbox"][data-count="2"]').waitFor();
      const titles = async () =>
        (await callApi(server.url, 'GET', 'api/v1/events?limit=50', { token: await tokenOf('worker') })).data.events.map((e) => e.title);
      assert.ok(!(await titles()).includes('离线上报的暴露垃圾'), 'nothing reached the server');

      // Kept across a reload: the page comes back (online) and sends them.
      await worker.context.setOffline(false);
      await w.getByTestId('outbox-sent').waitFor();
      await w.getByTestId('outbox').waitFor({ state: 'detached' });
      const now = await titles();
      assert.ok(now.includes('离线上报的暴露垃圾'), now.join());
      assert.ok(now.includes('离线上报的第二件'), now.join());
      assert.equal(now.filter((x) => x === '离线上报的暴露垃圾').length, 1, 'sent once');

      // Queued offline, sent when the app is opened again with a network.
      await worker.context.setOffline(true);
      await fillReport(w, { title: '离线上报后重新打开' });
      await w.getByTestId('report-submit').click();
      await w.locator('[data-testid="outbox"][data-count="1"]').waitFor();
      const w2 = await worker.context.newPage();
      await worker.context.setOffline(false);
      await w.close();
      await w2.goto('/#/events');
      await w2.getByTestId('events-page').waitFor();
      await w2.waitForFunction(() => JSON.parse(localStorage.getItem('civgrid.outbox') ?? '[]').length === 0);
      assert.ok((await titles()).includes('离线上报后重新打开'));
    } finally {
      await worker.context.setOffline(false);
      await worker.close();
    }
  });
});

describe('refused actions', () => {
  test('two tabs: the second to act is told someone acted first, and reloads', async () => {
    const ev = await reportApi('worker', { title: '两个标签页' });
    const duty = await session('duty');
    try {
      const one = duty.page;
      const two = await duty.context.newPage();
      two.on('pageerror', (e) => duty.errors.push(String(e)));
      await openEvent(one, ev.id);
      await openEvent(two, ev.id);
      await act(one, 'accept', 'accepted');
      await two.getByTestId('action-accept').click();
      await two.getByTestId('action-submit').click();
      const conflict = two.getByTestId('event-conflict');
      await conflict.waitFor();
      assert.match(await conflict.innerText(), /已有其他人先处理了此事件/);
      assert.equal(await two.locator('[data-testid="event-page"]').getAttribute('data-state'), 'reported', 'the old view until reloaded');
      await two.getByTestId('event-conflict-reload').click();
      await two.locator('[data-testid="event-page"][data-state="accepted"][data-loading="false"]').waitFor();
      assert.equal(await two.getByTestId('event-conflict').count(), 0);
      assert.equal(await two.getByTestId('action-accept').count(), 0);
      const log = (await eventOf('duty', ev.id)).log.map((l) => l.action);
      assert.deepEqual(log, ['report', 'accept'], 'accepted once');
    } finally {
      await duty.close();
    }
  });
});

describe('the queue', () => {
  test('filters by state, pages with before, a dashboard strip for stats.read, English', async () => {
    const first = await reportApi('worker', { title: '分页测试 0' });
    for (let i = 1; i < 23; i += 1) await reportApi('worker', { title: `分页测试 ${i}` });
    const duty = await session('duty');
    try {
      const d = duty.page;
      await d.goto('/#/command');
      await d.locator('[data-testid="dashboard"][data-ready="true"]').waitFor();
      const today = (await callApi(server.url, 'GET', `api/v1/kpi?by=town&from=${new Date(Date.now() - 86400e3).toISOString()}&to=${new Date(Date.now() + 86400e3).toISOString()}`, { token: await tokenOf('duty') })).data.total;
      assert.ok(Number(await d.getByTestId('dash-month-reported').locator('.dash-n').innerText()) >= 23);
      assert.ok(today.reported >= 23);
      assert.match(await d.getByTestId('dash-today').innerText(), /上报/);
      assert.match(await d.getByTestId('dash-today').innerText(), /按期结案率/);

      await d.goto('/#/events');
      await d.locator('[data-testid="events-table"][data-loading="false"]').waitFor();
      assert.equal(await d.getByTestId('event-row').count(), 20, 'a page of 20');
      const ids = await d.getByTestId('event-row').evaluateAll((rows) => rows.map((r) => Number(r.dataset.id)));
      assert.deepEqual(ids, [...ids].sort((a, b) => b - a), 'newest first');
      await d.getByTestId('events-pager-next').click();
      await d.locator('[data-testid="events-table"][data-loading="false"]').waitFor();
      const ids2 = await d.getByTestId('event-row').evaluateAll((rows) => rows.map((r) => Number(r.dataset.id)));
      assert.ok(ids2.length > 0 && ids2[0] < ids[ids.length - 1], 'older ones on page 2');
      assert.ok(ids2.includes(first.id) || ids.includes(first.id) || ids2.length === 20);

      // Filter: closed events only.
      await d.getByTestId('filter-state').selectOption('closed');
      await d.getByTestId('filter-apply').click();
      await d.waitForURL(/state=closed/);
      await d.locator('[data-testid="events-table"][data-loading="false"]').waitFor();
      const states = await d.getByTestId('event-row').evaluateAll((rows) => rows.map((r) => r.dataset.state));
      assert.ok(states.every((s) => s === 'closed'), states.join());
      await d.getByTestId('filter-reset').click();
      await d.waitForURL(/#\/events$/);

      // The handler has no stats.read: no dashboard, an inbox by department.
      const handler = await session('handler');
      try {
        await handler.page.goto('/#/events');
        await handler.page.locator('[data-testid="events-table"][data-loading="false"]').waitFor();
        assert.equal(await handler.page.getByTestId('dashboard').count(), 0);
        assert.equal(await handler.page.getByTestId('nav-command').count(), 0);
      } finally {
        await handler.close();
      }

      // English.
      await d.getByTestId('lang-en').click();
      await d.locator('[data-testid="events-table"][data-loading="false"]').waitFor();
      assert.equal(await d.locator('h1').innerText(), 'Events');
      assert.equal(await d.getByTestId('nav-events').innerText(), 'Events');
      assert.equal(await d.getByTestId('event-state').first().innerText(), 'Reported');
      await d.getByTestId('lang-zh-CN').click();
    } finally {
      await duty.close();
    }
  });
});

describe('patrol track', () => {
  test('a worker starts a patrol, positions are recorded (kept offline) and sent, and stops', async () => {
    const worker = await session('worker', { geolocation: { longitude: POINT.lon, latitude: POINT.lat } });
    try {
      const w = worker.page;
      await w.goto('/#/report');
      await w.getByTestId('patrol-start').click();
      await w.locator('[data-testid="patrol"][data-running="true"]').waitFor();
      const id = Number(/#(\d+)/.exec(await w.getByTestId('patrol-status').innerText())[1]);
      await worker.context.setOffline(true);
      for (let i = 1; i <= 3; i += 1) {
        await worker.context.setGeolocation({ longitude: POINT.lon + i * 0.0002, latitude: POINT.lat });
        await w.waitForFunction((n) => JSON.parse(localStorage.getItem('civgrid.track')).points.length >= n, i);
      }
      await worker.context.setOffline(false);
      await w.getByTestId('patrol-stop').click();
      await w.locator('[data-testid="patrol"][data-running="false"]').waitFor();
      const p = await callApi(server.url, 'GET', `api/v1/patrols/${id}`, { token: await tokenOf('worker') });
      assert.equal(p.status, 200, JSON.stringify(p.data));
      assert.equal(p.data.running, false);
      assert.ok(p.data.points >= 3, JSON.stringify(p.data));
    } finally {
      await worker.context.setOffline(false);
      await worker.close();
    }
  });
});
