// shell.test.mjs: browser tests of the web UI shell served by a real civgridd.
//
// Run with `make test-web` (or: CIVGRIDD=build/civgridd node --test tests/web/).
// Needs Debian's chromium at /usr/bin/chromium; playwright-core downloads no browser.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LAUNCH, TIMEOUT, chromium, startServer } from './server.mjs';


let server;
let browser;
let cspProblem = null; // why the served CSP would block the app, if it would

/**
 * The page must run under civgridd's strict Content-Security-Policy: scripts
 * only from the server itself, no inline scripts (so no import map either:
 * `make web-vendor` rewrites the vendored modules' bare imports instead).
 * Returns why the served page would break, or null.
 */
async function checkCsp() {
  const res = await fetch(server.url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  const html = await res.text();
  const inline = [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>/g)];
  if (inline.length) return `index.html has inline scripts, which the CSP forbids: ${inline[0][0]}`;
  const csp = res.headers.get('content-security-policy');
  if (!csp) return 'the server sends no Content-Security-Policy for index.html';
  const directives = Object.fromEntries(
    csp
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([k, ...v]) => [k.toLowerCase(), v]),
  );
  const scriptSrc = directives['script-src'] ?? directives['default-src'];
  if (!scriptSrc || !scriptSrc.includes("'self'")) return `script-src does not allow 'self': ${csp}`;
  if (scriptSrc.includes("'unsafe-inline'") || scriptSrc.includes('*')) {
    return `the CSP is too loose for scripts: ${csp}`;
  }
  return null;
}

before(async () => {
  [server, browser] = await Promise.all([startServer(), chromium.launch(LAUNCH)]);
  cspProblem = await checkCsp();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/**
 * A fresh browser context (empty localStorage) and page, with everything the
 * page requests and every console error recorded. Closed after `fn`.
 */
async function withPage(fn, { viewport = { width: 1280, height: 800 }, setup } = {}) {
  if (cspProblem) throw new Error(`not run: ${cspProblem}`);
  const context = await browser.newContext({ viewport, baseURL: server.url });
  context.setDefaultTimeout(TIMEOUT);
  const page = await context.newPage();
  const rec = { requests: [], errors: [], failed: [], bad: [] };
  page.on('request', (r) => rec.requests.push(r.url()));
  page.on('console', (m) => m.type() === 'error' && rec.errors.push(m.text()));
  page.on('pageerror', (e) => rec.errors.push(String(e)));
  page.on('requestfailed', (r) => rec.failed.push(`${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => r.status() >= 400 && rec.bad.push(`${r.status()} ${r.url()}`));
  try {
    if (setup) await setup(page);
    await fn(page, rec);
  } finally {
    await context.close();
  }
}

const text = (page, testid) => page.getByTestId(testid).innerText();

async function apiStatus() {
  const res = await fetch(`${server.url}api/v1/status`);
  assert.equal(res.status, 200);
  return res.json();
}

async function waitLoaded(page) {
  await page.getByTestId('status-version').waitFor();
}

describe('web shell', () => {
  test("the page runs under the server's strict Content-Security-Policy", () => {
    if (cspProblem) assert.fail(cspProblem);
  });

  test('opens in Chinese on the status page with live API values', async () => {
    const api = await apiStatus();
    await withPage(async (page) => {
      await page.goto('/');
      await waitLoaded(page);
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'zh-CN');
      assert.equal(await text(page, 'app-name'), '网格化社会治理平台');
      assert.equal(await text(page, 'nav-status'), '系统状态');
      assert.equal(await text(page, 'nav-events'), '事件处置');
      assert.equal(await page.getByTestId('nav-events').getAttribute('href'), '#/events');
      assert.match(await text(page, 'nav-registries'), /基础信息/);
      assert.match(await text(page, 'nav-registries'), /即将推出/);
      assert.equal(await page.getByTestId('nav-registries').getAttribute('aria-disabled'), 'true');
      assert.equal(await page.getByTestId('nav-status').getAttribute('aria-current'), 'page');

      assert.equal(await text(page, 'status-version'), api.version);
      assert.equal(await text(page, 'status-db-backend'), 'sqlite');
      assert.equal(await text(page, 'status-db-schema'), String(api.db.schema_version));
      assert.equal(await text(page, 'status-db-journal'), api.db.journal_mode);
      assert.equal(await text(page, 'status-db-path'), api.db.path);
      assert.match(await text(page, 'status-uptime'), /^(\d+ (天|小时|分钟|秒) ?)+$/);
      assert.match(await text(page, 'status-db-size'), /^[\d.,]+ (B|KB|MB|GB|TB)$/);
      const health = page.getByTestId('status-health');
      assert.equal(await health.getAttribute('data-health'), 'healthy');
      assert.equal(await health.innerText(), '运行正常');
      assert.equal(await page.getByTestId('status-error').count(), 0);
    });
  });

  test('switching to English changes the navigation and persists across reload', async () => {
    await withPage(async (page) => {
      await page.goto('/#/status');
      await waitLoaded(page);
      await page.getByTestId('lang-en').click();
      assert.equal(await text(page, 'nav-status'), 'Status');
      assert.equal(await text(page, 'nav-map'), 'Grid map');
      assert.equal(await text(page, 'nav-events'), 'Events');
      assert.match(await text(page, 'nav-registries'), /Registries/);
      assert.match(await text(page, 'nav-registries'), /Soon/);
      assert.match(await page.getByRole('navigation').innerText(), /coming soon/i);
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
      assert.equal(await page.evaluate(() => localStorage.getItem('civgrid.lang')), 'en');
      assert.equal(await page.getByTestId('lang-en').getAttribute('aria-pressed'), 'true');

      await page.reload();
      await waitLoaded(page);
      assert.equal(await text(page, 'nav-status'), 'Status');
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
      assert.equal(await page.getByTestId('status-health').innerText(), 'Healthy');
      assert.match(await text(page, 'status-uptime'), /^(\d+ (d|h|min|s) ?)+$/);

      await page.getByTestId('lang-zh-CN').click();
      assert.equal(await text(page, 'nav-status'), '系统状态');
      assert.equal(await page.evaluate(() => localStorage.getItem('civgrid.lang')), 'zh-CN');
    });
  });

  test('loads nothing from any host but the server', async () => {
    await withPage(async (page, rec) => {
      await page.goto('/');
      await waitLoaded(page);
      await page.goto('/#/map');
      await page.getByRole('heading', { level: 1 }).waitFor();
      await page.goto('/#/status');
      await waitLoaded(page);
      assert.ok(rec.requests.length > 0);
      const foreign = rec.requests.filter((u) => {
        const { protocol, hostname } = new URL(u);
        if (protocol === 'data:' || protocol === 'blob:') return false;
        return !['127.0.0.1', 'localhost', '[::1]'].includes(hostname);
      });
      assert.deepEqual(foreign, []);
    });
  });

  test('a normal load has no console errors and no failed requests', async () => {
    await withPage(async (page, rec) => {
      await page.goto('/');
      await waitLoaded(page);
      await page.getByTestId('status-refresh').click();
      await page.waitForLoadState('networkidle');
      assert.deepEqual(rec.errors, []);
      assert.deepEqual(rec.failed, []);
      assert.deepEqual(rec.bad, []);
    });
  });

  test('a failing status request shows the error state, and retry recovers', async () => {
    await withPage(
      async (page) => {
        await page.goto('/');
        const error = page.getByTestId('status-error');
        await error.waitFor();
        assert.equal(await error.getAttribute('role'), 'alert');
        assert.match(await error.innerText(), /无法获取服务器状态/);
        assert.equal(await page.getByTestId('status-health').getAttribute('data-health'), 'unhealthy');
        assert.equal(await page.getByTestId('status-version').count(), 0);

        await page.unroute('**/api/v1/status');
        await error.getByRole('button').click();
        await waitLoaded(page);
        await error.waitFor({ state: 'detached' });
        assert.equal(await page.getByTestId('status-health').getAttribute('data-health'), 'healthy');
      },
      { setup: (page) => page.route('**/api/v1/status', (route) => route.abort('failed')) },
    );
  });

  test('an API error body is shown with its code', async () => {
    await withPage(
      async (page) => {
        await page.goto('/');
        const error = page.getByTestId('status-error');
        await error.waitFor();
        assert.equal(await error.getAttribute('data-kind'), 'api');
        assert.match(await error.innerText(), /database locked.*internal/);
      },
      {
        setup: (page) =>
          page.route('**/api/v1/status', (route) =>
            route.fulfill({
              status: 500,
              contentType: 'application/json',
              body: JSON.stringify({ error: { code: 'internal', message: 'database locked' } }),
            }),
          ),
      },
    );
  });

  test('refreshes by itself every 10 s', async () => {
    await withPage(
      async (page, rec) => {
        await page.goto('/');
        await waitLoaded(page);
        const calls = () => rec.requests.filter((u) => u.endsWith('/api/v1/status')).length;
        assert.equal(calls(), 1);
        await page.clock.runFor(10_500);
        await page.waitForLoadState('networkidle');
        assert.equal(calls(), 2);
      },
      { setup: (page) => page.clock.install() },
    );
  });

  test('uncaught errors are reported to the server, at most 10 per page', async () => {
    const reports = [];
    await withPage(
      async (page) => {
        await page.goto('/');
        await waitLoaded(page);
        await page.evaluate(() => {
          setTimeout(() => {
            throw new Error('x'.repeat(3000));
          });
          setTimeout(() => Promise.reject(new TypeError('rejected on purpose')));
          for (let i = 0; i < 12; i += 1) {
            setTimeout(() => {
              throw new Error(`boom ${i}`);
            }, 20);
          }
        });
        for (let i = 0; i < 50 && reports.length < 10; i += 1) await page.waitForTimeout(50);
        await page.waitForTimeout(300); // an 11th report would arrive by now
      },
      {
        setup: (page) =>
          page.route('**/api/v1/client-errors', async (route) => {
            const req = route.request();
            reports.push({ method: req.method(), type: req.headers()['content-type'], body: req.postDataJSON() });
            await route.fulfill({ status: 204 });
          }),
      },
    );
    assert.equal(reports.length, 10);
    for (const r of reports) {
      assert.equal(r.method, 'POST');
      assert.match(r.type, /^application\/json/);
      assert.equal(typeof r.body.message, 'string');
      assert.equal(typeof r.body.source, 'string');
      assert.ok(Number.isInteger(r.body.line));
      assert.ok(Number.isInteger(r.body.column));
      assert.equal(typeof r.body.stack, 'string');
      assert.ok(r.body.message.length <= 2000);
      assert.ok(r.body.stack.length <= 8000);
      assert.equal(r.body.lang, 'zh-CN');
      assert.equal(r.body.page, '/');
    }
    const long = reports.find((r) => r.body.message.includes('xxxx'));
    assert.ok(long, 'the long error was reported');
    assert.equal(long.body.message.length, 2000);
    const rejection = reports.find((r) => r.body.message.includes('rejected on purpose'));
    assert.ok(rejection, 'the unhandled rejection was reported');
  });

  test('on a phone the navigation is a menu behind a button', async () => {
    await withPage(
      async (page) => {
        await page.goto('/');
        await waitLoaded(page);
        const nav = page.getByRole('navigation');
        const toggle = page.getByTestId('menu-toggle');
        assert.ok(await toggle.isVisible());
        assert.ok(!(await nav.isVisible()));
        await toggle.click();
        assert.ok(await nav.isVisible());
        assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
        await page.keyboard.press('Escape');
        assert.ok(!(await nav.isVisible()));
        await toggle.click();
        await page.getByTestId('menu-backdrop').click({ position: { x: 200, y: 700 } });
        assert.ok(!(await nav.isVisible()));
        // Nothing wider than the screen.
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `page is ${overflow}px wider than the viewport`);
      },
      { viewport: { width: 390, height: 844 } },
    );
  });

  test('unknown routes show a placeholder page; signed out, the others lead to sign-in', async () => {
    await withPage(async (page) => {
      await page.goto('/#/no-such-page');
      await page.getByTestId('not-found').waitFor();
      await page.getByRole('link', { name: '返回系统状态' }).click();
      await waitLoaded(page);
      // Pages other than status and sign-in need an account (auth.test.mjs signs in).
      await page.goto('/#/mediation');
      await page.getByTestId('login-page').waitFor();
      assert.equal(new URL(page.url()).hash, `#/login?next=${encodeURIComponent('/mediation')}`);
      assert.equal(await page.getByTestId('header-login').count(), 0);
      await page.goto('/#/status');
      await waitLoaded(page);
      assert.equal(await page.getByTestId('header-login').innerText(), '登录');
    });
  });
});
