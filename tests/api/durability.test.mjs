// durability.test.mjs: a 201 means the report is on disk. Acknowledge writes,
// kill -9 the server (also while more writes are in flight), restart it on the
// same database, and find every acknowledged id; `civgrid check` must pass.
// There is no GET endpoint for client errors, so the sqlite3 shell reads them.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { makeTempDir, postClientError, runCli, sleep, sqlite, startServer } from './lib/server.mjs';

test('every acknowledged write survives kill -9 and a restart', async () => {
  const tmp = makeTempDir();
  const acked = new Map(); // id -> message
  let server = await startServer({ dir: tmp.dir, set: { 'http.max_per_ip': 1000 } });
  try {
    // 50 acknowledged reports, in waves of 10 so that some share a commit.
    for (let wave = 0; wave < 5; wave++) {
      const res = await Promise.all(
        Array.from({ length: 10 }, (_, i) => {
          const message = `durable ${wave * 10 + i}`;
          return postClientError(server.base, { message }).then((r) => ({ r, message }));
        }),
      );
      for (const { r, message } of res) {
        assert.equal(r.status, 201, r.text);
        acked.set(r.json.id, message);
      }
    }
    assert.equal(acked.size, 50);

    // More writes in flight when the process dies: those answered 201 before the kill count too.
    const inflight = Array.from({ length: 40 }, (_, i) => {
      const message = `in flight ${i}`;
      return postClientError(server.base, { message })
        .then((r) => {
          if (r.status === 201) acked.set(r.json.id, message);
        })
        .catch(() => {}); // the connection dies with the server
    });
    await sleep(10);
    const killed = await server.kill9();
    assert.equal(killed.signal, 'SIGKILL');
    await Promise.all(inflight);

    // Restart on the same database: the server recovers the WAL and serves.
    server = await startServer({ dir: tmp.dir });
    const rows = sqlite(tmp.dbPath, 'SELECT id, message FROM client_error');
    const stored = new Map(rows.map((line) => {
      const i = line.indexOf('|');
      return [Number(line.slice(0, i)), line.slice(i + 1)];
    }));
    for (const [id, message] of acked) {
      assert.equal(stored.get(id), message, `acknowledged report ${id} (${message}) survived`);
    }

    // The database is intact and the server keeps numbering after the last stored id.
    const check = runCli(['--db', tmp.dbPath, 'check']);
    assert.equal(check.status, 0, check.stderr);
    assert.equal(check.stdout.trim(), 'ok');
    const next = await postClientError(server.base, { message: 'after restart' });
    assert.equal(next.status, 201);
    assert.ok(next.json.id > Math.max(...stored.keys()), 'ids are not reused');

    await server.stop();
    const after = runCli(['--db', tmp.dbPath, 'check']);
    assert.equal(after.status, 0, after.stderr);
  } finally {
    await server.kill9();
    server.removeDir();
  }
});
