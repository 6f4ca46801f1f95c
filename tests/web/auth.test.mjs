// auth.test.mjs: browser tests of sign-in, the user menu, password change,
// second-factor enrolment, user administration and the audit log, against a
// real civgridd with accounts made by the civgrid CLI.
//
// Run with `make test-web` (or: CIVGRIDD=build/civgridd node --test tests/web/).
// Needs Debian's chromium at /usr/bin/chromium; playwright-core downloads no browser.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LAUNCH, TIMEOUT, callApi, chromium, startServer, totp } from './server.mjs';


// Accounts of the main server. Each test that changes an account has its own.
const PASSWORD = 'Grid-Worker-2026';
const USERS = {
  alice: { login: 'alice', name: '网格员李小花', roles: 'grid_worker', scope: 'grid:442000105', phone: '13800138000' },
  bob: { login: 'bob', name: '网格员王大锤', roles: 'grid_worker', scope: 'grid:442000105' },
  dave: { login: 'dave', name: '网格员赵四', roles: 'grid_worker', scope: 'grid:442000106' },
  frank: { login: 'frank', name: '网格员冯五', roles: 'grid_worker', scope: 'grid:442000106' },
  root: { login: 'sysadm', name: '系统管理员陈工', roles: 'sys_admin', scope: 'all' },
  security: { login: 'secadm', name: '安全管理员刘洋', roles: 'sec_admin', scope: 'all' },
  auditor: { login: 'auditor', name: '审计员周敏', roles: 'audit_admin', scope: 'all' },
};

let server;
let browser;

before(async () => {
  [server, browser] = await Promise.all([startServer(), chromium.launch(LAUNCH)]);
  for (const u of Object.values(USERS)) await server.addUser({ ...u, password: PASSWORD });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A fresh browser context (no cookies, empty localStorage) and page on `srv`. Closed after `fn`. */
async function withPage(fn, { viewport = { width: 1280, height: 800 }, srv = server } = {}) {
  const context = await browser.newContext({ viewport, baseURL: srv.url });
  context.setDefaultTimeout(TIMEOUT);
  const page = await context.newPage();
  const rec = { errors: [] };
  page.on('pageerror', (e) => rec.errors.push(String(e)));
  try {
    await fn(page, context, rec);
    assert.deepEqual(rec.errors, [], 'no uncaught script errors');
  } finally {
    await context.close();
  }
}

const text = (page, testid) => page.getByTestId(testid).innerText();
const hash = (page) => decodeURIComponent(new URL(page.url()).hash);

/**
 * Fills and submits the sign-in form (opening it first unless `open` is
 * false); resolves once the server has answered.
 */
async function signIn(page, login, password, { open = true } = {}) {
  if (open) await page.goto('/#/login');
  await page.getByTestId('login-name').fill(login);
  await page.getByTestId('login-password').fill(password);
  await submitLogin(page);
}

async function submitLogin(page) {
  await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/login')),
    page.getByTestId('login-submit').click(),
  ]);
}

async function signedInAs(page, name) {
  await page.getByTestId('user-menu').waitFor();
  assert.equal(await text(page, 'user-menu-name'), name);
}

async function cookieNames(context) {
  return (await context.cookies()).map((c) => c.name).sort();
}

/** The API called directly (bearer tokens, no browser): for set-up steps. */
const apiCall = (method, path, opts) => callApi(server.url, method, path, opts);

/** Sets up the second factor of `login` through the API; resolves to its recovery codes. */
const enrolByApi = (login) => server.enrolTotp(login, PASSWORD);

/** Signs in with the password, then one of the recovery codes. */
async function signInWithRecovery(page, login, code) {
  await signIn(page, login, PASSWORD);
  await page.getByTestId('login-totp').waitFor();
  await page.getByTestId('login-switch-factor').click();
  await page.getByTestId('login-recovery').fill(code);
  await submitLogin(page);
}

describe('sign-in and account pages', () => {
  test('the RFC 6238 test vector checks the TOTP helper', () => {
    // RFC 6238 appendix B, SHA1, T = 59 s: 94287082 (8 digits), so 287082 for 6.
    assert.equal(totp('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', 59_000), '287082');
  });

  test('signing in shows the user menu with the display name', async () => {
    await withPage(async (page, context) => {
      await page.goto('/');
      await page.getByTestId('status-version').waitFor();
      assert.equal(await text(page, 'header-login'), '登录');
      assert.equal(await page.getByTestId('user-menu').count(), 0);
      await page.getByTestId('header-login').click();
      await page.getByTestId('login-page').waitFor();
      assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), '登录');

      await signIn(page, 'alice', PASSWORD, { open: false });
      await signedInAs(page, USERS.alice.name);
      await page.waitForURL(/#\/status$/);
      assert.equal(await page.getByTestId('header-login').count(), 0);
      const session = (await context.cookies()).find((c) => c.name === 'cg_session');
      assert.ok(session, 'session cookie set');
      assert.equal(session.httpOnly, true);
      assert.equal(session.sameSite, 'Strict');

      await page.getByTestId('user-menu').click();
      const menu = page.getByRole('menu');
      assert.equal(await page.getByTestId('user-menu').getAttribute('aria-expanded'), 'true');
      for (const item of ['修改密码', '双重认证', '退出登录', '退出所有设备']) {
        assert.equal(await menu.getByRole('menuitem', { name: item }).count(), 1, item);
      }
      await page.keyboard.press('Escape');
      assert.equal(await page.getByRole('menu').count(), 0);

      // The session survives a reload.
      await page.reload();
      await signedInAs(page, USERS.alice.name);
    });
  });

  test('a page that needs an account leads to sign-in and back to it afterwards', async () => {
    await withPage(async (page) => {
      await page.goto('/#/mediation');
      await page.getByTestId('login-page').waitFor();
      assert.equal(hash(page), '#/login?next=/mediation');
      await signIn(page, 'alice', PASSWORD, { open: false });
      await signedInAs(page, USERS.alice.name);
      await page.waitForURL(/#\/mediation$/);
      assert.match(await page.getByRole('heading', { level: 1 }).innerText(), /矛盾调解/);
    });
  });

  test('a wrong password or unknown login shows the same message and sets no cookie', async () => {
    await withPage(async (page, context) => {
      await signIn(page, 'alice', 'Not-The-Password-1');
      const error = page.getByTestId('login-error');
      await error.waitFor();
      assert.equal(await error.getAttribute('role'), 'alert');
      assert.equal(await error.getAttribute('data-code'), 'invalid_credentials');
      assert.equal(await error.innerText(), '登录名或密码错误，请重新输入。');
      assert.equal(await page.getByTestId('login-password').inputValue(), '', 'password cleared');
      assert.deepEqual(await cookieNames(context), []);

      await page.getByTestId('login-name').fill('nobody-here');
      await page.getByTestId('login-password').fill(PASSWORD);
      await submitLogin(page);
      assert.equal(await error.innerText(), '登录名或密码错误，请重新输入。');
      assert.deepEqual(await cookieNames(context), []);
      assert.equal(await page.getByTestId('user-menu').count(), 0);
    });
  });

  test('signing out returns to sign-in and ends the session', async () => {
    await withPage(async (page, context) => {
      await signIn(page, 'alice', PASSWORD);
      await signedInAs(page, USERS.alice.name);
      const token = (await context.cookies()).find((c) => c.name === 'cg_session').value;

      await page.getByTestId('user-menu').click();
      await page.getByTestId('user-menu-logout').click();
      await page.getByTestId('login-page').waitFor();
      assert.equal(hash(page), '#/login');
      assert.deepEqual(await cookieNames(context), []);
      // The server forgot the session too: the old cookie opens nothing.
      assert.equal((await apiCall('GET', 'api/v1/auth/me', { token })).status, 401);

      await page.reload();
      await page.getByTestId('login-page').waitFor();
      await page.goto('/#/status');
      await page.getByTestId('header-login').waitFor();
      assert.equal(await page.getByTestId('user-menu').count(), 0);
    });
  });

  test('signing out everywhere ends the sessions of other browsers too', async () => {
    await withPage(async (other, otherContext) => {
      await signIn(other, 'alice', PASSWORD);
      await signedInAs(other, USERS.alice.name);
      await withPage(async (page) => {
        await signIn(page, 'alice', PASSWORD);
        await signedInAs(page, USERS.alice.name);
        await page.getByTestId('user-menu').click();
        await page.getByTestId('user-menu-logout-all').click();
        await page.getByTestId('login-page').waitFor();
      });
      // The other browser still has its cookies; its next request finds the session gone.
      assert.ok((await cookieNames(otherContext)).includes('cg_session'));
      await other.goto('/#/account/password');
      await other.reload();
      await other.getByTestId('login-page').waitFor();
      assert.equal(hash(other), '#/login?next=/account/password');
      assert.equal(await text(other, 'login-expired'), '登录已过期，请重新登录。');
    });
  });

  test('changing the password: the old one no longer signs in, the new one does', async () => {
    const next = 'Kestrel-New-Secret-77';
    await withPage(async (page) => {
      await signIn(page, 'bob', PASSWORD);
      await signedInAs(page, USERS.bob.name);
      await page.getByTestId('user-menu').click();
      await page.getByTestId('user-menu-password').click();
      await page.getByTestId('password-form').waitFor();
      assert.equal(hash(page), '#/account/password');

      // Rules are checked as one types, and a wrong current password is named at its field.
      await page.getByTestId('password-new').fill('short');
      assert.equal(await page.getByTestId('password-rules').locator('[data-ok="true"]').count(), 1);
      await page.getByTestId('password-current').fill('Wrong-Current-1');
      await page.getByTestId('password-new').fill(next);
      await page.getByTestId('password-again').fill(next);
      assert.equal(await page.getByTestId('password-rules').locator('[data-ok="true"]').count(), 3);
      await page.getByTestId('password-submit').click();
      assert.equal(await text(page, 'password-current-error'), '当前密码不正确。');

      await page.getByTestId('password-current').fill(PASSWORD);
      await page.getByTestId('password-submit').click();
      await page.getByTestId('password-done').waitFor();

      await page.getByTestId('user-menu').click();
      await page.getByTestId('user-menu-logout').click();
      await page.getByTestId('login-page').waitFor();
      await signIn(page, 'bob', PASSWORD, { open: false });
      assert.equal(await text(page, 'login-error'), '登录名或密码错误，请重新输入。');
      await signIn(page, 'bob', next, { open: false });
      await signedInAs(page, USERS.bob.name);
    });
  });

  test('after a password reset the account is held on the password page until it changes it', async () => {
    await server.resetPassword('frank', 'Temporary-Pass-01');
    await withPage(async (page) => {
      await page.goto('/#/mediation');
      await signIn(page, 'frank', 'Temporary-Pass-01', { open: false });
      await page.getByTestId('password-forced').waitFor();
      assert.equal(hash(page), '#/account/password?next=/mediation');
      // Anywhere else it is held there too, and comes back to that page afterwards.
      await page.goto('/#/events');
      await page.waitForURL(/next=%2Fevents$/);
      await page.getByTestId('password-forced').waitFor();
      await page.getByTestId('password-current').fill('Temporary-Pass-01');
      await page.getByTestId('password-new').fill('Chosen-Pass-Word-02');
      await page.getByTestId('password-again').fill('Chosen-Pass-Word-02');
      await page.getByTestId('password-submit').click();
      await page.waitForURL(/#\/events$/);
      assert.match(await page.getByRole('heading', { level: 1 }).innerText(), /事件处置/);
    });
  });

  test('a grid worker sees no 系统管理 in the navigation and may not open it', async () => {
    await withPage(async (page) => {
      await signIn(page, 'dave', PASSWORD);
      await signedInAs(page, USERS.dave.name);
      const nav = page.getByRole('navigation');
      assert.doesNotMatch(await nav.innerText(), /系统管理|用户管理|审计日志/);
      assert.equal(await page.getByTestId('nav-admin').count(), 0);
      // The capabilities to come are still listed.
      assert.equal(await page.getByTestId('nav-registries').getAttribute('aria-disabled'), 'true');
      // The event pages are there for a grid worker.
      assert.equal(await page.getByTestId('nav-events').getAttribute('href'), '#/events');
      assert.equal(await page.getByTestId('nav-report').getAttribute('href'), '#/report');
      await page.goto('/#/admin/users');
      await page.getByTestId('forbidden').waitFor();
      assert.equal(await page.getByTestId('users-table').count(), 0);
    });
  });
});

describe('administration', () => {
  test('an administrator must set up TOTP, then sees recovery codes, then manages users', async () => {
    await withPage(async (page) => {
      await signIn(page, 'sysadm', PASSWORD);
      await signedInAs(page, USERS.root.name);
      // Held on the enrolment page, whatever page is asked for.
      await page.getByTestId('totp-forced').waitFor();
      assert.match(hash(page), /^#\/account\/totp\?next=/);
      await page.goto('/#/admin/users');
      await page.getByTestId('totp-forced').waitFor();
      assert.equal(hash(page), '#/account/totp?next=/admin/users');

      await page.getByTestId('totp-begin').click();
      await page.getByTestId('totp-qr').waitFor();
      const box = await page.getByTestId('totp-qr').boundingBox();
      assert.ok(box.width >= 150 && box.height >= 150, 'the QR code is drawn');
      const shown = await text(page, 'totp-secret');
      const secret = shown.replace(/\s+/g, '');
      assert.match(secret, /^[A-Z2-7]{16,}$/);

      await page.getByTestId('totp-code').fill('000000' === totp(secret) ? '111111' : '000000');
      await page.getByTestId('totp-confirm').click();
      await page.getByTestId('totp-code-error').waitFor();

      await page.getByTestId('totp-code').fill(totp(secret));
      await page.getByTestId('totp-confirm').click();
      const codes = page.getByTestId('recovery-codes').locator('li');
      await page.getByTestId('recovery-codes').waitFor();
      assert.equal(await codes.count(), 10);
      for (const c of await codes.allInnerTexts()) assert.match(c, /^[A-Z2-9]{5}-[A-Z2-9]{5}$/);
      assert.match(await text(page, 'recovery'), /只显示这一次/);
      assert.ok(await page.getByTestId('recovery-done').isDisabled());
      await page.getByTestId('recovery-saved').check();
      await page.getByTestId('recovery-done').click();
      await page.getByTestId('users-table').waitFor();
      assert.equal(hash(page), '#/admin/users');

      // 系统管理 now offers user administration, not the audit log (separation of duties).
      const nav = page.getByRole('navigation');
      assert.match(await nav.innerText(), /系统管理/);
      assert.equal(await page.getByTestId('nav-admin-users').getAttribute('aria-current'), 'page');
      assert.equal(await page.getByTestId('nav-admin-audit').count(), 0);

      const row = (login) => page.locator(`[data-testid="user-row"][data-login="${login}"]`);
      await row('alice').waitFor();
      assert.match(await row('alice').innerText(), /网格员李小花/);
      assert.match(await row('alice').innerText(), /138\*\*\*\*8000/);
      assert.match(await row('alice').innerText(), /网格\/区划 442000105/);

      // Filters: role.
      await page.getByTestId('filter-role').selectOption('audit_admin');
      await page.getByTestId('filter-apply').click();
      await row('alice').waitFor({ state: 'detached' });
      assert.equal(await page.getByTestId('user-row').count(), 1);
      assert.ok(await row('auditor').isVisible());
      await page.getByTestId('users-filters').getByRole('button', { name: '重置' }).click();
      await row('alice').waitFor();

      // Create: a taken login is shown at its field.
      await page.getByTestId('users-create').click();
      const dialog = page.getByTestId('create-dialog');
      await dialog.waitFor();
      await page.getByTestId('create-login').fill('alice');
      await page.getByTestId('create-name').fill('重名测试');
      await page.getByTestId('create-password').fill('Fresh-Worker-2026');
      await page.getByTestId('role-grid_worker').check();
      await page.getByTestId('scope-grid').check();
      await page.getByTestId('scope-ref').fill('442000105106');
      await page.getByTestId('create-submit').click();
      assert.equal(await text(page, 'create-login-error'), '登录名“alice”已被使用');
      const focused = () => page.evaluate(() => document.activeElement?.dataset.testid);
      // The focus moves after the error renders: wait for it rather than race it.
      await page.waitForFunction(() => document.activeElement?.dataset.testid === 'create-login',
        null, { timeout: 3000 }).catch(() => {});
      assert.equal(await focused(), 'create-login', 'the field in error gets the focus');
      await page.getByTestId('create-name').press('End');
      await page.keyboard.type('甲');
      assert.equal(await focused(), 'create-name', 'and then lets go of it');

      await page.getByTestId('create-login').fill('erin');
      await page.getByTestId('create-name').fill('网格员钱七');
      await page.getByTestId('create-phone').fill('139 0013 9000');
      await page.getByTestId('create-submit').click();
      await dialog.waitFor({ state: 'detached' }).catch(async (e) => {
        throw new Error(`${e.message}\n${await dialog.innerText()}`);
      });
      assert.equal(await text(page, 'users-flash'), '已创建账号 erin。');
      await row('erin').waitFor();
      assert.match(await row('erin').innerText(), /网格\/区划 442000105106/);
      assert.match(await row('erin').innerText(), /139\*\*\*\*9000/);
      const login = await apiCall('POST', 'api/v1/auth/login', {
        body: { login: 'erin', password: 'Fresh-Worker-2026' },
      });
      assert.equal(login.status, 200, 'the new account signs in');

      // Reveal the phone number, for a reason.
      await row('erin').getByTestId('user-reveal').click();
      await page.getByTestId('reveal-reason').fill('核实网格员联系方式');
      await page.getByTestId('reveal-submit').click();
      assert.equal(await text(page, 'reveal-value'), '13900139000');
      await page.getByTestId('reveal-dialog').getByRole('button', { name: '关闭' }).first().click();

      // Disable it: the status changes in place.
      await row('erin').getByTestId('user-disable').click();
      await page.getByTestId('status-confirm').click();
      assert.equal(await text(page, 'users-flash'), '已停用账号 erin。');
      assert.equal(await row('erin').locator('[data-status]').getAttribute('data-status'), 'disabled');
      assert.equal(await row('erin').getByTestId('user-enable').count(), 1);
      // Its own row offers nothing the server would refuse.
      assert.equal(await row('sysadm').getByTestId('user-disable').count(), 0);
    });
  });

  test('a security administrator sets roles and scope, and sees no create button', async () => {
    const [code] = await enrolByApi('secadm');
    await withPage(async (page) => {
      await signInWithRecovery(page, 'secadm', code);
      await signedInAs(page, USERS.security.name);
      await page.getByTestId('nav-admin-users').click();
      await page.locator('[data-testid="users-table"][data-loading="false"]').waitFor();
      assert.equal(await page.getByTestId('users-create').count(), 0);
      const row = page.locator('[data-testid="user-row"][data-login="dave"]');
      assert.equal(await row.getByTestId('user-reset').count(), 0, 'password resets belong to the system administrator');
      await row.getByTestId('user-roles').click();
      const dialog = page.getByTestId('roles-dialog');
      assert.ok(await dialog.getByTestId('role-grid_worker').isChecked());
      assert.equal(await dialog.getByTestId('scope-ref').inputValue(), '442000106');
      // An administrator role takes the place of the others and fixes the scope.
      await dialog.getByTestId('role-audit_admin').check();
      assert.ok(!(await dialog.getByTestId('role-grid_worker').isChecked()));
      assert.ok(await dialog.getByTestId('scope-all').isChecked());
      assert.ok(await dialog.getByTestId('scope-grid').isDisabled());
      await dialog.getByTestId('role-audit_admin').uncheck();
      await dialog.getByTestId('role-grid_leader').check();
      await dialog.getByTestId('scope-grid').check();
      await dialog.getByTestId('scope-ref').fill('44200010a');
      await page.getByTestId('roles-submit').click();
      assert.match(await dialog.innerText(), /网格或区划编码只能包含数字/);
      await dialog.getByTestId('scope-ref').fill('442000106');
      await page.getByTestId('roles-submit').click();
      await dialog.waitFor({ state: 'detached' });
      assert.equal(await text(page, 'users-flash'), '已更新 dave 的角色与数据范围。');
      assert.deepEqual(await row.locator('.chip').allInnerTexts(), ['网格长']);
    });
  });

  test('an audit administrator signs in with a recovery code and sees sign-in records', async () => {
    // Enrol the second factor through the API, as an authenticator app would.
    const [recovery] = await enrolByApi('auditor');
    // More than one page of records: refused requests with a bad token are audited too.
    for (let i = 0; i < 55; i += 1) await apiCall('GET', 'api/v1/users', { token: 'x'.repeat(43) });

    await withPage(async (page) => {
      await signIn(page, 'auditor', PASSWORD);
      await page.getByTestId('login-totp').waitFor();
      assert.match(await text(page, 'login-who'), /auditor/);
      await page.getByTestId('login-switch-factor').click();
      await page.getByTestId('login-recovery').fill('WRONG-CODE1');
      await page.getByTestId('login-submit').click();
      assert.equal(await text(page, 'login-error'), '恢复码错误或已使用。');
      await page.getByTestId('login-recovery').fill(recovery.toLowerCase());
      await page.getByTestId('login-submit').click();
      await signedInAs(page, USERS.auditor.name);

      assert.equal(await page.getByTestId('nav-admin-users').count(), 0);
      await page.getByTestId('nav-admin-audit').click();
      const loaded = () => page.locator('[data-testid="audit-table"][data-loading="false"]').waitFor();
      await loaded();
      const rows = page.getByTestId('audit-row');
      assert.equal(await rows.count(), 50);
      // Newest first: this very sign-in, then the refusals made above.
      const newest = await rows.evaluateAll((els) => els.slice(0, 8).map((e) => e.dataset.action));
      assert.equal(newest[0], 'auth.login');
      assert.match(await rows.first().innerText(), /auditor/);
      assert.ok(newest.includes('auth.refused'), newest.join());

      await page.getByTestId('audit-action').fill('auth.login');
      await page.getByTestId('audit-apply').click();
      await page.locator('[data-testid="audit-row"][data-action="auth.refused"]').first().waitFor({ state: 'detached' });
      await loaded();
      const actions = await rows.evaluateAll((els) => els.map((e) => e.dataset.action));
      assert.ok(actions.length > 0 && actions.every((a) => a === 'auth.login'));
      const table = await text(page, 'audit-table');
      assert.match(table, /auditor/);
      assert.match(table, /alice/);
      assert.match(table, /登录/);
      assert.ok(await page.locator('[data-testid="audit-row"][data-result="failed"]').count(), 'failed sign-ins listed');
      assert.ok(await page.locator('[data-testid="audit-row"][data-result="ok"]').count(), 'sign-ins listed');

      // Paging through older records (of sign-ins and refusals: reading the log is logged too).
      await page.getByTestId('audit-action').fill('auth.');
      await page.getByTestId('audit-apply').click();
      await page.locator('[data-testid="audit-row"][data-action="auth.refused"]').first().waitFor();
      await loaded();
      const ids = () => rows.evaluateAll((els) => els.map((e) => Number(e.dataset.id)));
      const first = await ids();
      assert.equal(first.length, 50);
      assert.ok(await page.getByTestId('audit-pager-prev').isDisabled());
      await page.getByTestId('audit-pager-next').click();
      await page.getByText('第 2 页').waitFor();
      await loaded();
      const second = await ids();
      assert.ok(second.length > 0 && second.length <= 50);
      assert.ok(Math.max(...second) < Math.min(...first), 'page 2 holds older records');
      await page.getByTestId('audit-pager-prev').click();
      await page.getByText('第 1 页').waitFor();
      await loaded();
      assert.deepEqual(await ids(), first);
    });
  });
});

describe('lock-out', () => {
  // Its own server: five failures also hold back every sign-in from the same address.
  let locked;
  before(async () => {
    locked = await startServer();
    await locked.addUser({ login: 'carol', name: '网格员孙六', roles: 'grid_worker', scope: 'grid:4420001', password: PASSWORD });
  });
  after(() => locked?.stop());

  test('five failed sign-ins, then the lock-out message with the seconds to wait', async () => {
    await withPage(
      async (page, context) => {
        await page.goto('/#/login');
        const error = page.getByTestId('login-error');
        for (let i = 1; i <= 5; i += 1) {
          await signIn(page, 'carol', `Wrong-Password-${i}`, { open: false });
          assert.equal(await error.getAttribute('data-code'), 'invalid_credentials', `attempt ${i}`);
        }
        // Even the right password now waits.
        await signIn(page, 'carol', PASSWORD, { open: false });
        assert.equal(await error.getAttribute('data-code'), 'rate_limited');
        const message = await error.innerText();
        const m = /^登录失败次数过多，账号已暂时锁定，请在 (\d+) 秒后重试。$/.exec(message);
        assert.ok(m, message);
        assert.ok(Number(m[1]) > 0 && Number(m[1]) <= 30, message);
        assert.ok(await page.getByTestId('login-submit').isDisabled());
        assert.deepEqual(await cookieNames(context), []);

        await page.getByTestId('lang-en').click();
        assert.match(await error.innerText(), /^Too many failed sign-ins: .* Try again in \d+ seconds\.$/);
      },
      { srv: locked },
    );
  });
});
