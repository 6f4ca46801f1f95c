// config.test.mjs: civgridd's settings: command line, environment, config
// file, their precedence, validation (exit 2 naming the setting), and start-up
// failures (exit 1).

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { freePort, makeTempDir, postClientError, serverBinary, startServer } from './lib/server.mjs';

let tmp;
before(() => {
  tmp = makeTempDir('civgrid-config-');
});
after(() => {
  fs.rmSync(tmp.dir, { recursive: true, force: true });
});

/** Runs civgridd to completion (for options that exit at once). */
function civgridd(args, env = {}) {
  // Drop any CIVGRID_* from the caller's environment so results do not depend on it.
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CIVGRID_')));
  const r = spawnSync(serverBinary(), args, { encoding: 'utf8', env: { ...clean, ...env }, cwd: tmp.dir, timeout: 20_000 });
  if (r.error) throw r.error;
  return r;
}

/** Parses --print-config output into { key: value }. */
function printed(stdout) {
  return Object.fromEntries(stdout.trim().split('\n').map((l) => {
    const i = l.indexOf(' = ');
    return [l.slice(0, i), l.slice(i + 3)];
  }));
}

test('--version prints the version and matches /api/v1/status', async () => {
  const r = civgridd(['--version']);
  assert.equal(r.status, 0);
  const m = /^civgridd (\d+\.\d+\.\d+\S*)\n$/.exec(r.stdout);
  assert.ok(m, r.stdout);
  const server = await startServer();
  try {
    const status = await (await fetch(`${server.base}/api/v1/status`)).json();
    assert.equal(status.version, m[1]);
  } finally {
    await server.stop();
  }
});

test('--help exits 0 and documents every setting with its environment variable', () => {
  const r = civgridd(['--help']);
  assert.equal(r.status, 0);
  const settings = printed(civgridd(['--print-config']).stdout);
  for (const key of Object.keys(settings)) {
    const env = `CIVGRID_${key.replace(/\./g, '_').toUpperCase()}`;
    assert.match(r.stdout, new RegExp(`${key.replace('.', '\\.')}\\s+${env}\\s`), key);
  }
});

test('--print-config prints every setting as key = value', () => {
  const r = civgridd(['--print-config', '--db', '/tmp/x.db', '--set', 'log.level=warn']);
  assert.equal(r.status, 0, r.stderr);
  const s = printed(r.stdout);
  for (const key of ['http.address', 'http.port', 'http.max_body', 'http.max_header', 'http.workers', 'db.path', 'db.synchronous', 'log.level']) {
    assert.ok(key in s, `${key} is printed`);
  }
  assert.equal(s['db.path'], '/tmp/x.db');
  assert.equal(s['log.level'], 'warn');
  assert.equal(s['http.port'], '8080');
});

test('--set http.port=abc exits 2 with a message naming http.port', () => {
  const r = civgridd(['--set', 'http.port=abc', '--db', path.join(tmp.dir, 'never.db')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /http\.port/);
  assert.match(r.stderr, /abc/);
  assert.ok(!fs.existsSync(path.join(tmp.dir, 'never.db')), 'nothing was created');
});

test('invalid settings exit 2 and name the problem', () => {
  const bad = [
    [['--port', '70000'], /http\.port/],
    [['--set', 'http.max_body=12'], /http\.max_body/],
    [['--set', 'db.synchronous=sometimes'], /db\.synchronous/],
    [['--set', 'no.such.key=1'], /no\.such\.key/],
    [['--set', 'http.port'], /KEY=VALUE/],
    [['--log-level', 'loud'], /log\.level/],
    [['--frobnicate'], /--frobnicate/],
    [['stray-argument'], /stray-argument/],
  ];
  for (const [args, re] of bad) {
    const r = civgridd([...args, '--print-config']);
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}`);
    assert.match(r.stderr, re, args.join(' '));
  }
});

test('the environment (CIVGRID_HTTP_MAX_BODY=4096) is honoured, and the command line wins over it', () => {
  assert.equal(printed(civgridd(['--print-config'], { CIVGRID_HTTP_MAX_BODY: '4096' }).stdout)['http.max_body'], '4096');
  const both = civgridd(['--print-config', '--set', 'http.max_body=5000'], { CIVGRID_HTTP_MAX_BODY: '4096' });
  assert.equal(printed(both.stdout)['http.max_body'], '5000');
  const bad = civgridd(['--print-config'], { CIVGRID_HTTP_MAX_BODY: 'lots' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /CIVGRID_HTTP_MAX_BODY/);
});

test('a running server applies CIVGRID_HTTP_MAX_BODY=4096 to request bodies', async () => {
  const server = await startServer({ env: { CIVGRID_HTTP_MAX_BODY: '4096' } });
  try {
    const fits = await postClientError(server.base, { message: 'x', stack: 's'.repeat(3000) });
    assert.equal(fits.status, 201, fits.text);
    const big = await postClientError(server.base, { message: 'x', stack: 's'.repeat(4100) });
    assert.equal(big.status, 413);
    assert.equal(big.json.error.code, 'body_too_large');
    assert.match(big.json.error.message, /4096/);
  } finally {
    await server.stop();
  }
});

test('a config file is read; the environment and the command line override it; a bad line exits 2', () => {
  const file = path.join(tmp.dir, 'civgrid.conf');
  fs.writeFileSync(file, '# civgrid test settings\nhttp.max_body = 2048   # small\n\nlog.level = error\nhttp.workers = 3\n');
  const s = printed(civgridd(['--config', file, '--print-config']).stdout);
  assert.equal(s['http.max_body'], '2048');
  assert.equal(s['log.level'], 'error');
  assert.equal(s['http.workers'], '3');
  const env = printed(civgridd(['--config', file, '--print-config'], { CIVGRID_HTTP_WORKERS: '5' }).stdout);
  assert.equal(env['http.workers'], '5');
  const cli = printed(civgridd(['--config', file, '--print-config', '--set', 'http.workers=7'], { CIVGRID_HTTP_WORKERS: '5' }).stdout);
  assert.equal(cli['http.workers'], '7');
  // CIVGRID_CONFIG names the file when --config is absent.
  assert.equal(printed(civgridd(['--print-config'], { CIVGRID_CONFIG: file }).stdout)['http.max_body'], '2048');

  const broken = path.join(tmp.dir, 'broken.conf');
  fs.writeFileSync(broken, 'http.port = 1\nthis line has no equals sign\n');
  const r = civgridd(['--config', broken, '--print-config']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /broken\.conf:2/);
});

test('a missing config file is an error', () => {
  const r = civgridd(['--config', path.join(tmp.dir, 'nope.conf'), '--print-config']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /nope\.conf/);
});

/** Starts civgridd and resolves with how it ended up: { exited, code } or { listening }. */
function startAndSee(args) {
  return new Promise((resolve) => {
    const child = spawn(serverBinary(), args, { cwd: tmp.dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let listening = false;
    child.stderr.setEncoding('utf8').on('data', (c) => {
      stderr += c;
      if (!listening && stderr.includes('"msg":"listening"')) {
        listening = true; // it started: that is the answer; stop it again
        child.kill('SIGTERM');
      }
    });
    child.once('exit', (code) => resolve(listening ? { listening, stderr } : { exited: true, code, stderr }));
  });
}

test('a port held by another program: civgridd exits 1 and says why', async () => {
  const holder = net.createServer();
  await new Promise((r) => holder.listen(0, '127.0.0.1', r));
  const { port } = holder.address();
  try {
    const r = await startAndSee(['--port', String(port), '--db', path.join(tmp.dir, 'busy.db'), '--web-root', tmp.webRoot]);
    assert.equal(r.listening, undefined, 'civgridd must not claim to listen on a port in use');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /cannot listen/);
  } finally {
    holder.close();
  }
});

test('a second civgridd on the port of a running one exits 1 instead of sharing the port', async () => {
  // Two servers on one port would split the traffic between two processes
  // (and maybe two databases) without anyone noticing.
  const first = await startServer();
  try {
    const r = await startAndSee(['--port', String(first.port), '--db', path.join(tmp.dir, 'second.db'), '--web-root', tmp.webRoot]);
    assert.ok(!r.listening, `the second civgridd started listening on port ${first.port}, already served by pid ${first.pid}`);
    assert.equal(r.code, 1, r.stderr);
  } finally {
    await first.stop();
  }
});

test('a database path that cannot be opened: civgridd exits 1 with a log line', async () => {
  const port = await freePort();
  const r = await startAndSee(['--port', String(port), '--db', path.join(tmp.dir, 'no', 'such', 'dir', 'x.db')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot open the database/);
});
