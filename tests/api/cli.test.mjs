// cli.test.mjs: the civgrid administration tool (build/civgrid, or $CIVGRID).
// Exit codes: 0 success, 1 failure, 2 usage error.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { makeTempDir, postClientError, runCli, runCliAsync, sqlite, startServer } from './lib/server.mjs';

const COMMANDS = ['init', 'migrate', 'backup', 'restore', 'check', 'kpi', 'version'];

let tmp;
before(() => {
  tmp = makeTempDir('civgrid-cli-');
});
after(() => {
  fs.rmSync(tmp.dir, { recursive: true, force: true });
});

const count = (db) => Number(sqlite(db, 'SELECT COUNT(*) FROM client_error')[0]);

/** Fills a database with n rows directly (the CLI is under test, not the server). */
function fill(db, n) {
  sqlite(db, `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${n})
              INSERT INTO client_error(received_at, message) SELECT '2026-01-01T00:00:00Z', 'row ' || x || ' ' || hex(randomblob(100)) FROM c`);
}

describe('usage', () => {
  test('--help exits 0 and lists every command', () => {
    const r = runCli(['--help']);
    assert.equal(r.status, 0);
    for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c} `, 'm'));
  });

  for (const c of COMMANDS) {
    test(`${c} --help exits 0 with its usage`, () => {
      const r = runCli([c, '--help']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^usage: civgrid ${c}`));
    });
  }

  test('an unknown command exits 2', () => {
    const r = runCli(['--db', path.join(tmp.dir, 'x.db'), 'frobnicate']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown command 'frobnicate'/);
  });

  test('no command exits 2', () => {
    assert.equal(runCli([]).status, 2);
  });

  test('an unknown option of a command exits 2', () => {
    const r = runCli(['--db', path.join(tmp.dir, 'x.db'), 'check', '--frob']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown option '--frob'/);
  });

  test('--version and version print the version', () => {
    const v = runCli(['--version']);
    assert.equal(v.status, 0);
    assert.match(v.stdout, /^civgrid \d+\.\d+\.\d+/);
    const full = runCli(['version']);
    assert.equal(full.status, 0);
    assert.match(full.stdout, /^civgrid \d+\.\d+\.\d+\nsqlite /);
  });
});

describe('database life cycle', () => {
  test('init creates a new database, check says ok, init again only brings it up to date', () => {
    const db = path.join(tmp.dir, 'sub', 'new.db');
    fs.mkdirSync(path.dirname(db), { recursive: true });
    const r = runCli(['--db', db, 'init']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /created database .*new\.db \(schema version \d+\)/);
    assert.ok(fs.statSync(db).isFile());

    const check = runCli(['--db', db, 'check']);
    assert.equal(check.status, 0, check.stderr);
    assert.equal(check.stdout, 'ok\n');

    const again = runCli(['--db', db, 'init']);
    assert.equal(again.status, 0);
    assert.match(again.stdout, /database ready/);
    const migrate = runCli(['--db', db, 'migrate']);
    assert.equal(migrate.status, 0, migrate.stderr);
    assert.match(migrate.stdout, /applied 0 migrations/);
  });

  test('migrate on a missing database exits 1 with a message and creates nothing', () => {
    const db = path.join(tmp.dir, 'missing.db');
    const r = runCli(['--db', db, 'migrate']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^civgrid migrate: .*missing\.db/m);
    assert.ok(!fs.existsSync(db), 'migrate must not create the file');
  });

  test('check on a missing database exits 1', () => {
    const r = runCli(['--db', path.join(tmp.dir, 'missing2.db'), 'check']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /missing2\.db/);
  });

  test('check on a corrupted copy exits 1 and names a problem', () => {
    const db = path.join(tmp.dir, 'good.db');
    assert.equal(runCli(['--db', db, 'init']).status, 0);
    fill(db, 3000); // a few hundred pages, so the middle of the file is a b-tree page
    assert.equal(runCli(['--db', db, 'check']).status, 0);

    const bad = path.join(tmp.dir, 'corrupt.db');
    fs.copyFileSync(db, bad);
    const size = fs.statSync(bad).size;
    const pageSize = Number(sqlite(db, 'PRAGMA page_size')[0]);
    const page = Math.floor(size / pageSize / 2);
    const fd = fs.openSync(bad, 'r+');
    fs.writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, page * pageSize); // one whole page of garbage
    fs.closeSync(fd);

    const r = runCli(['--db', bad, 'check']);
    assert.equal(r.status, 1, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    // Either integrity_check lists the damage, or it cannot even walk the b-tree and
    // SQLite's "database disk image is malformed" is reported.
    assert.match(`${r.stdout}${r.stderr}`, /integrity|malformed/i);
    assert.match(r.stderr, /^civgrid check: /m);
  });
});

describe('KPI roll-ups: kpi check, kpi rebuild and check', () => {
  let db;
  before(() => {
    db = makeTempDir('civgrid-kpi-');
    assert.equal(runCli(['--db', db.dbPath, 'init']).status, 0);
    const demo = runCli(['--db', db.dbPath, 'demo', '--city', 'zhongshan', '--events', '150']);
    assert.equal(demo.status, 0, demo.stderr);
    // enough events for both kinds of rows: changes folded into event_rollup, and some pending
    const [folded, pending] = sqlite(db.dbPath, 'SELECT count(*) FROM event_rollup; SELECT count(*) FROM event_rollup_pending').map(Number);
    assert.ok(folded > 0 && pending > 0, `${folded} folded, ${pending} pending`);
  });
  after(() => {
    fs.rmSync(db.dir, { recursive: true, force: true });
  });
  const rows = (r) => Number(/(\d+) rows/.exec(r.stdout)[1]);

  test('on a fresh demo with events the roll-ups agree: exit 0, read only', () => {
    const stored = sqlite(db.dbPath, 'SELECT count(*) FROM event_rollup; SELECT count(*) FROM event_rollup_pending');
    const r = runCli(['--db', db.dbPath, 'kpi', 'check']);
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /^roll-ups ok: \d+ rows\n$/);
    assert.ok(rows(r) > 0);
    assert.deepEqual(sqlite(db.dbPath, 'SELECT count(*) FROM event_rollup; SELECT count(*) FROM event_rollup_pending'), stored);
    // --db after the subcommand as well
    assert.equal(runCli(['kpi', 'check', '--db', db.dbPath]).status, 0);
    assert.equal(runCli(['--db', db.dbPath, 'check']).status, 0);
  });

  test('after an UPDATE by hand: kpi check and check exit 1 naming the rows; rebuild puts them right', () => {
    const good = rows(runCli(['--db', db.dbPath, 'kpi', 'check']));
    sqlite(db.dbPath, 'UPDATE event_rollup SET reported = reported + 1');

    const bad = runCli(['--db', db.dbPath, 'kpi', 'check']);
    assert.equal(bad.status, 1, `${bad.stdout}${bad.stderr}`);
    const listed = bad.stdout.split('\n').filter((l) => l.startsWith('roll-up dim '));
    assert.equal(listed.length, 20);
    assert.match(listed[0], /^roll-up dim \d lvl \d bucket \d{4}(-\d\d(-\d\d)?)? area \d+ key '[^']*': expected reported (\d+) .*; stored reported (\d+) /);
    const [, want, got] = /expected reported (\d+) .*; stored reported (\d+) /.exec(listed[0]);
    assert.equal(Number(got), Number(want) + 1);
    assert.match(bad.stdout, /^\.\.\. and \d+ more differing roll-up rows$/m);
    assert.match(bad.stderr, /^civgrid kpi: \d+ of the KPI roll-up rows differ from the events/m);

    const check = runCli(['--db', db.dbPath, 'check']);
    assert.equal(check.status, 1, `${check.stdout}${check.stderr}`);
    assert.match(check.stdout, /^kpi: roll-up dim /m);
    assert.match(check.stderr, /^civgrid check: database .* has problems/m);

    const rebuild = runCli(['--db', db.dbPath, 'kpi', 'rebuild']);
    assert.equal(rebuild.status, 0, rebuild.stderr);
    assert.match(rebuild.stdout, /^roll-ups rebuilt: \d+ rows\n$/);
    assert.equal(rows(rebuild), good);
    assert.deepEqual(sqlite(db.dbPath, 'SELECT count(*) FROM event_rollup_pending'), ['0']);
    const audit = sqlite(db.dbPath, "SELECT remote || ' ' || object_type || ' ' || result FROM audit_log WHERE action = 'kpi.rebuild'");
    assert.deepEqual(audit, ['cli event_rollup ok']);

    const ok = runCli(['--db', db.dbPath, 'kpi', 'check']);
    assert.equal(ok.status, 0, `${ok.stdout}${ok.stderr}`);
    assert.equal(rows(ok), good);
    const all = runCli(['--db', db.dbPath, 'check']);
    assert.equal(all.status, 0, `${all.stdout}${all.stderr}`);
    assert.equal(all.stdout, 'ok\n');
  });

  test('a pending row changed by hand is found too', () => {
    sqlite(db.dbPath, 'INSERT INTO event_rollup_pending(day, g, d, r, closed) VALUES (\'2026-01-02\', \'442000105001001\', \'水务部门\', \'\', 1)');
    const bad = runCli(['--db', db.dbPath, 'kpi', 'check']);
    assert.equal(bad.status, 1);
    assert.match(bad.stdout, /bucket 2026-01-02 area 442000105001001 key '': expected reported 0 .* closed 0 .*; stored .* closed 1 /);
    assert.equal(runCli(['--db', db.dbPath, 'kpi', 'rebuild']).status, 0);
    assert.equal(runCli(['--db', db.dbPath, 'kpi', 'check']).status, 0);
  });

  test('rebuild while civgridd runs on the database', async () => {
    const s = await startServer({ dir: db.dir });
    try {
      const r = await runCliAsync(['--db', db.dbPath, 'kpi', 'rebuild']);
      assert.equal(r.status, 0, r.stderr);
      const res = await fetch(`${s.base}/api/v1/status`);
      assert.equal((await res.json()).db.ok, true);
    } finally {
      await s.stop();
    }
    assert.equal(runCli(['--db', db.dbPath, 'kpi', 'check']).status, 0);
  });

  test('usage: no subcommand or an unknown one exits 2', () => {
    assert.equal(runCli(['--db', db.dbPath, 'kpi']).status, 2);
    const r = runCli(['--db', db.dbPath, 'kpi', 'frob']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown subcommand 'frob'/);
  });
});

describe('backup and restore', () => {
  let server;
  let backup;
  let ackedBeforeBackup;

  before(async () => {
    server = await startServer({ set: { 'http.max_per_ip': 1000 } });
  });
  after(async () => {
    await server?.stop();
  });

  test('backup while the server runs and writes gives a consistent copy', async () => {
    const first = await Promise.all(Array.from({ length: 30 }, (_, i) => postClientError(server.base, { message: `before backup ${i}` })));
    assert.ok(first.every((r) => r.status === 201));
    ackedBeforeBackup = first.map((r) => r.json.id);

    // Keep writing during the backup.
    let writing = true;
    let duringBackup = 0;
    const writer = (async () => {
      while (writing) {
        const batch = await Promise.all(Array.from({ length: 4 }, () => postClientError(server.base, { message: 'during backup' })));
        duringBackup += batch.filter((r) => r.status === 201).length;
      }
    })();

    backup = path.join(server.dir, 'backup.db');
    const r = await runCliAsync(['--db', server.dbPath, 'backup', backup]);
    writing = false;
    await writer;
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /backed up/);
    assert.ok(!fs.existsSync(`${backup}.partial`), 'no partial file left behind');
    assert.ok(duringBackup > 0, 'writes went on during the backup');

    const check = runCli(['--db', backup, 'check']);
    assert.equal(check.status, 0, check.stderr);
    assert.equal(check.stdout, 'ok\n');
    // Everything acknowledged before the backup started is in it.
    const ids = new Set(sqlite(backup, 'SELECT id FROM client_error').map(Number));
    assert.ok(ids.size >= ackedBeforeBackup.length);
    for (const id of ackedBeforeBackup) assert.ok(ids.has(id), `id ${id} is in the backup`);
  });

  test('backup without a destination exits 2', () => {
    const r = runCli(['--db', server.dbPath, 'backup']);
    assert.equal(r.status, 2);
  });

  test('restore refuses to replace a database without --yes, and does it with --yes', async () => {
    assert.ok(backup, 'the backup test ran');
    const target = path.join(tmp.dir, 'restore-target.db');
    assert.equal(runCli(['--db', target, 'init']).status, 0);
    fill(target, 5);
    const before = fs.readFileSync(target);

    const refused = runCli(['--db', target, 'restore', backup]);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /--yes/);
    assert.ok(fs.readFileSync(target).equals(before), 'the database is untouched');

    const done = runCli(['--db', target, 'restore', '--yes', backup]);
    assert.equal(done.status, 0, done.stderr);
    assert.equal(count(target), count(backup));
    const check = runCli(['--db', target, 'check']);
    assert.equal(check.status, 0, check.stderr);
  });

  test('restore into a new path needs no --yes', () => {
    const target = path.join(tmp.dir, 'restored-new.db');
    const r = runCli(['--db', target, 'restore', backup]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(count(target), count(backup));
  });

  test('photos: backup copies them into DEST.media (new ones only, each checked), restore puts them back, a damaged one fails', () => {
    const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
    const media = path.join(path.dirname(server.dbPath), 'media');
    const put = (dir, name, bytes) => {
      fs.mkdirSync(path.join(dir, name.slice(0, 2)), { recursive: true });
      fs.writeFileSync(path.join(dir, name.slice(0, 2), name), bytes);
    };
    const photos = [crypto.randomBytes(3000), crypto.randomBytes(500)];
    for (const p of photos) put(media, sha(p), p);
    put(media, `${sha(photos[0])}.thumb.jpg`, Buffer.from('thumbnail bytes'));
    put(media, `${sha(photos[1])}.tmp.123.0`, Buffer.from('a write in progress'));
    const dest = path.join(path.dirname(server.dbPath), 'with-photos.db');
    const r = runCli(['--db', server.dbPath, 'backup', dest]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /photos: 3 files copied \(3515 bytes\), 0 already there/);
    for (const p of photos) {
      assert.ok(fs.readFileSync(path.join(`${dest}.media`, sha(p).slice(0, 2), sha(p))).equals(p));
    }
    assert.ok(!fs.existsSync(path.join(`${dest}.media`, sha(photos[1]).slice(0, 2), `${sha(photos[1])}.tmp.123.0`)));
    const again = runCli(['--db', server.dbPath, 'backup', dest]);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /photos: 0 files copied \(0 bytes\), 3 already there/);

    const bad = crypto.randomBytes(100);
    put(media, sha(bad), Buffer.concat([bad, Buffer.from('x')]));
    const damaged = runCli(['--db', server.dbPath, 'backup', path.join(path.dirname(server.dbPath), 'damaged.db')]);
    assert.equal(damaged.status, 1, damaged.stdout);
    assert.match(damaged.stderr, /1 files .* do not match their hash/);
    fs.rmSync(path.join(media, sha(bad).slice(0, 2), sha(bad)));

    const target = path.join(tmp.dir, 'photos', 'restored.db');
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const back = runCli(['--db', target, 'restore', dest]);
    assert.equal(back.status, 0, back.stderr);
    assert.match(back.stdout, /photos: 3 files copied/);
    for (const p of photos) {
      assert.ok(fs.readFileSync(path.join(tmp.dir, 'photos', 'media', sha(p).slice(0, 2), sha(p))).equals(p));
    }
  });

  test('restore from a file that is not a database exits 1 and leaves the target alone', () => {
    const target = path.join(tmp.dir, 'restore-keep.db');
    assert.equal(runCli(['--db', target, 'init']).status, 0);
    fill(target, 7);
    const junk = path.join(tmp.dir, 'junk.db');
    fs.writeFileSync(junk, 'this is not an SQLite database'.repeat(200));
    const r = runCli(['--db', target, 'restore', '--yes', junk]);
    assert.equal(r.status, 1, `${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /junk\.db/);
    assert.equal(count(target), 7);
  });

  test('a restored backup serves: the server starts on it and finds the old reports', async () => {
    const dir = makeTempDir('civgrid-restored-');
    try {
      assert.equal(runCli(['--db', dir.dbPath, 'restore', backup]).status, 0);
      const s2 = await startServer({ dir: dir.dir });
      try {
        const res = await fetch(`${s2.base}/api/v1/status`);
        const status = await res.json();
        assert.equal(status.db.ok, true);
        const ids = new Set(sqlite(dir.dbPath, 'SELECT id FROM client_error').map(Number));
        for (const id of ackedBeforeBackup) assert.ok(ids.has(id));
      } finally {
        await s2.stop();
      }
    } finally {
      fs.rmSync(dir.dir, { recursive: true, force: true });
    }
  });
});
