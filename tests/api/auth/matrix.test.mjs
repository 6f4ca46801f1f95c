// matrix.test.mjs: the role matrix. Every route that GET /api/v1/routes lists
// (so a new route is covered without touching this file) is called anonymously
// and as one account of every role in GET /api/v1/roles, with harmless bodies
// and ids. Expected, from the route's permission and the role's permissions:
//   anonymous on a non-public route          401 unauthenticated
//   a role without the route's permission    403 forbidden (and an auth.refused record)
//   a role with it                           neither 401 nor 403 (nor a 5xx)
// The matrix of statuses is printed as test diagnostics.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  addUser, auditAll, auditHead, cookieValue, demoAccounts, request, signIn, signInAdmin, startAuthServer, strongPassword, trailStatus,
} from './lib.mjs';

let server;
let routes;
let roles; // [{ name, admin_kind, permissions }]
const callers = new Map(); // role name -> { acc, client }
/** The client of the role that holds audit.read. */
const auditor = () => callers.get(roles.find((r) => r.permissions.includes('audit.read')).name).client;

/** The demo account of each role (the first one when a role has two). */
function accountsByRole(demo) {
  const byRole = new Map();
  for (const acc of Object.values(demo)) if (!byRole.has(acc.role)) byRole.set(acc.role, acc);
  return byRole;
}

const isAdmin = (role) => roles.find((r) => r.name === role)?.admin_kind != null;

async function signInRole(role) {
  const entry = callers.get(role);
  entry.client = isAdmin(role) ? await signInAdmin(server.base, entry.acc) : await signIn(server.base, entry.acc.login, entry.acc.password);
  return entry.client;
}

/** A harmless concrete request for a route: ids that exist nowhere, an empty JSON object as body. */
function concrete(route) {
  const path = route.path.replace(/:[A-Za-z_]+/g, '999999');
  return { method: route.method, path, body: route.json_body ? {} : undefined };
}

function allowed(roleName, permission) {
  if (permission === 'public') return true;
  if (roleName === null) return false;
  if (permission === 'session') return true;
  return roles.find((r) => r.name === roleName).permissions.includes(permission);
}

before(async () => {
  server = await startAuthServer();
  const demo = demoAccounts(server);
  for (const [role, acc] of accountsByRole(demo)) callers.set(role, { acc, client: null });

  const rr = await request(server.base, 'GET', '/api/v1/routes');
  assert.equal(rr.status, 200);
  routes = rr.json.routes;
  const anyone = await signIn(server.base, demo['demo.worker'].login, demo['demo.worker'].password);
  const rl = await anyone.get('/api/v1/roles');
  assert.equal(rl.status, 200, rl.text);
  roles = rl.json.roles;
  for (const r of roles) {
    if (!callers.has(r.name)) {
      // A role the demo does not know yet: give it an account of its own.
      const acc = addUser(server, `matrix.${r.name}`.slice(0, 64).replace(/_/g, '-'), {
        roles: r.name, scope: r.admin_kind ? 'all' : r.name === 'citizen' ? 'own' : 'grid:442000105', password: strongPassword(),
      });
      callers.set(r.name, { acc: { ...acc, role: r.name }, client: null });
    }
  }
  for (const role of callers.keys()) await signInRole(role);
});
after(async () => {
  await server?.stop();
});

describe('the role matrix', () => {
  test('every role has an account whose session carries exactly the role\'s permissions', async () => {
    assert.ok(roles.length >= 13, `roles: ${roles.map((r) => r.name)}`);
    for (const r of roles) {
      const me = await callers.get(r.name).client.get('/api/v1/auth/me');
      assert.equal(me.status, 200, me.text);
      assert.deepEqual(me.json.roles, [r.name]);
      assert.deepEqual([...me.json.permissions].sort(), [...r.permissions].sort(), r.name);
      assert.equal(me.json.must_enrol_totp, false, r.name);
    }
  });

  let bearerMatrix;

  test('every route, anonymously and as every role', async (t) => {
    assert.ok(routes.length >= 22, `routes: ${routes.length}`);
    const { cols, matrix, problems, refusals } = await runMatrix('bearer');
    bearerMatrix = matrix;

    // Print the matrix: one line per route, one column per caller.
    const ABBR = {
      grid_worker: 'worker', grid_leader: 'gleader', village_station: 'station', duty_officer: 'duty', dispatcher: 'dispatch',
      dept_handler: 'handler', hotline_operator: 'hotline', sys_admin: 'sysadm', sec_admin: 'secadm', audit_admin: 'auditadm',
    };
    const short = (name) => (name === null ? 'anon' : ABBR[name] || name.slice(0, 8));
    const w = Math.max(...routes.map((r) => `${r.method} ${r.path}`.length));
    t.diagnostic('role matrix: HTTP status of each route (rows) called by each role (columns) with a harmless request');
    t.diagnostic(`${'route'.padEnd(w)} ${'permission'.padEnd(20)} ${cols.map((c) => short(c).padStart(9)).join('')}`);
    for (const { route, cells } of matrix) {
      t.diagnostic(`${`${route.method} ${route.path}`.padEnd(w)} ${route.permission.padEnd(20)} ${cells.map((x) => String(x).padStart(9)).join('')}`);
    }
    t.diagnostic(`columns: ${cols.map((c) => `${short(c)}=${c ?? 'anonymous'}`).join(', ')}`);

    assert.deepEqual(problems, []);
    await assertRefusalsAudited(refusals);
  });

  test('the same matrix with cookie sessions and the X-CSRF-Token header: the same statuses', async () => {
    assert.ok(bearerMatrix, 'the Bearer matrix ran');
    const { matrix, problems, refusals } = await runMatrix('cookie');
    assert.deepEqual(problems, []);
    const diff = [];
    // A request the Bearer run made may have changed state (an empty body starts a patrol):
    // the same request again then conflicts. Either way it passed the gate, which is the point.
    const same = (a, b) => a === b || (b >= 200 && b < 300 && a === 409);
    matrix.forEach(({ route, cells }, i) => {
      cells.forEach((st, j) => {
        if (!same(st, bearerMatrix[i].cells[j])) diff.push(`${route.method} ${route.path} column ${j}: cookie ${st}, bearer ${bearerMatrix[i].cells[j]}`);
      });
    });
    assert.deepEqual(diff, []);
    await assertRefusalsAudited(refusals);
  });
});

/** Signs a role in with a cookie session: { cookie, csrf }. */
async function cookieSession(role) {
  const { acc } = callers.get(role);
  const extra = isAdmin(role) ? { recovery_code: acc.totp.recovery.shift() } : {};
  const r = await request(server.base, 'POST', '/api/v1/auth/login', { body: { login: acc.login, password: acc.password, cookie: true, ...extra } });
  assert.equal(r.status, 200, `${role}: ${r.text}`);
  return { cookie: `cg_session=${cookieValue(r.cookies, 'cg_session')}`, csrf: cookieValue(r.cookies, 'cg_csrf') };
}

/**
 * Calls every route anonymously and as every role (mode 'bearer' or 'cookie')
 * and checks each status against the permissions. Returns { cols, matrix,
 * problems, refusals: { head, byLogin } }.
 */
async function runMatrix(mode) {
  const head = auditHead(server);
  const cols = [null, ...roles.map((r) => r.name)];
  const creds = new Map();
  for (const role of cols.slice(1)) creds.set(role, mode === 'bearer' ? { token: callers.get(role).client.token } : await cookieSession(role));
  const matrix = []; // rows of { route, cells: [status] }
  const problems = [];
  const byLogin = new Map(); // login -> refusals expected

  for (const route of routes) {
    const { method, path, body } = concrete(route);
    const cells = [];
    for (const role of cols) {
      const cred = role === null ? {} : creds.get(role);
      const r = await request(server.base, method, path, { ...cred, ...(body !== undefined ? { body } : {}) });
      cells.push(r.status);
      const who = `${role ?? 'anonymous'} (${mode})`;
      const may = allowed(role, route.permission);
      const code = r.json?.error?.code;
      if (!may && role === null) {
        if (r.status !== 401 || code !== 'unauthenticated') problems.push(`${who} ${method} ${path}: expected 401 unauthenticated, got ${r.status} ${r.text}`);
      } else if (!may) {
        if (r.status !== 403 || code !== 'forbidden') problems.push(`${who} ${method} ${path} (${route.permission}): expected 403 forbidden, got ${r.status} ${r.text}`);
        const login = callers.get(role).acc.login;
        byLogin.set(login, (byLogin.get(login) || 0) + 1);
      } else if (r.status === 401 || r.status === 403 || r.status >= 500) {
        problems.push(`${who} ${method} ${path} (${route.permission}): allowed, but got ${r.status} ${r.text}`);
      }
      // Some routes end the caller's session (logout): sign in again for the next route.
      if (role !== null && (await request(server.base, 'GET', '/api/v1/auth/me', cred)).status === 401) {
        if (mode === 'bearer') {
          creds.set(role, { token: (await signInRole(role)).token });
        } else {
          creds.set(role, await cookieSession(role));
        }
      }
    }
    matrix.push({ route, cells });
  }
  // logout-all of the cookie pass ended the Bearer sessions too: renew them.
  for (const role of cols.slice(1)) {
    if ((await callers.get(role).client.get('/api/v1/auth/me')).status === 401) await signInRole(role);
  }
  return { cols, matrix, problems, refusals: { head, byLogin } };
}

/** Every refusal by the gate left an auth.refused record naming the caller. */
async function assertRefusalsAudited({ head, byLogin }) {
  const refused = (await auditAll(auditor(), { action: 'auth.refused' })).filter((x) => x.id > head);
  for (const [login, n] of byLogin) {
    const mine = refused.filter((x) => x.actor_login === login);
    assert.equal(mine.length, n, `${login}: ${n} auth.refused records expected, found ${mine.length}`);
  }
}

describe('gate states before permissions', () => {
  test('an administrator without a second factor gets 403 second_factor_enrolment_required everywhere but "session" routes', async () => {
    const acc = addUser(server, 'matrix.fresh-sec', { roles: 'sec_admin', scope: 'all' });
    const c = await signIn(server.base, acc.login, acc.password);
    const me = await c.get('/api/v1/auth/me');
    assert.equal(me.status, 200);
    assert.equal(me.json.must_enrol_totp, true);
    for (const route of routes.filter((r) => r.permission !== 'public' && r.permission !== 'session')) {
      const { method, path, body } = concrete(route);
      const r = await request(server.base, method, path, { token: c.token, ...(body !== undefined ? { body } : {}) });
      assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
      assert.equal(r.json.error.code, 'second_factor_enrolment_required', `${method} ${path}`);
    }
    assert.equal((await c.get('/api/v1/roles')).status, 200);
  });

  test('after a password reset by the system administrator, only "session" routes work until the password is changed', async () => {
    const acc = addUser(server, 'matrix.reset', { roles: 'grid_leader', scope: 'grid:442000105001001' });
    const sys = callers.get('sys_admin').client;
    const temp = strongPassword();
    const reset = await sys.post(`/api/v1/users/${acc.id}/password`, { password: temp });
    assert.equal(reset.status, 200, reset.text);
    assert.equal((await request(server.base, 'POST', '/api/v1/auth/login', { body: { login: acc.login, password: acc.password } })).status, 401, 'the old password is gone');
    const c = await signIn(server.base, acc.login, temp);
    assert.equal(c.account.must_change_password, true);
    const list = await c.get('/api/v1/users');
    assert.equal(list.status, 403, list.text);
    assert.equal(list.json.error.code, 'password_change_required');
    const next = strongPassword();
    assert.equal((await c.post('/api/v1/auth/password', { current_password: temp, new_password: next })).status, 200);
    assert.equal((await c.get('/api/v1/users')).status, 200, 'after the change the permissions apply');
  });
});

test('the audit trail is intact after the run', () => {
  const { check, verify } = trailStatus(server.dbPath);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.equal(verify.status, 0, verify.stderr);
});
