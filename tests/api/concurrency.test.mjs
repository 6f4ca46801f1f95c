// concurrency.test.mjs: many writes at once, and group commit.
//
// How the server runs writes (src/http/server.c, src/db/db.c): an I/O thread
// suspends the connection and queues the request for one of http.workers
// worker threads; the worker calls cg_db_write(), which queues a job for the
// single writer thread and waits. The writer takes every job queued while it
// was committing the previous batch (up to db.max_batch) and commits them in
// one transaction (one fsync). With 200 requests in flight at once, jobs pile
// up behind each fsync, so commits must be fewer than writes.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { parseMetrics, postClientError, sqlite, startServer } from './lib/server.mjs';

const N = 200;
let server;

before(async () => {
  // The default of 64 connections per address would refuse most of 200
  // simultaneous connections from 127.0.0.1: allow them all.
  server = await startServer({ set: { 'http.max_per_ip': 1000 } });
});
after(async () => {
  await server?.stop();
});

async function metrics() {
  const res = await fetch(`${server.base}/metrics`);
  return parseMetrics(await res.text());
}

test(`${N} concurrent POSTs all get 201 with distinct ids, and commits are grouped`, async () => {
  const before = await metrics();
  const commits0 = before.sum('civgrid_db_commits_total');
  const jobs0 = before.sum('civgrid_db_write_jobs_total');

  const results = await Promise.all(
    Array.from({ length: N }, (_, i) => postClientError(server.base, { message: `concurrent report ${i}`, line: i })),
  );
  const statuses = results.map((r) => r.status);
  assert.deepEqual([...new Set(statuses)], [201], `statuses: ${JSON.stringify(statuses.filter((s) => s !== 201).slice(0, 5))}`);
  const ids = results.map((r) => r.json.id);
  assert.ok(ids.every((id) => Number.isInteger(id) && id > 0), 'ids are positive integers');
  assert.equal(new Set(ids).size, N, 'ids are distinct');

  // Every acknowledged id is in the database, with its own message.
  const rows = sqlite(server.dbPath, 'SELECT id, message FROM client_error');
  const stored = new Map(rows.map((r) => {
    const i = r.indexOf('|');
    return [Number(r.slice(0, i)), r.slice(i + 1)];
  }));
  results.forEach((r, i) => assert.equal(stored.get(r.json.id), `concurrent report ${i}`));

  const m = await metrics();
  const writes = m.sum('civgrid_db_write_jobs_total') - jobs0;
  const commits = m.sum('civgrid_db_commits_total') - commits0;
  assert.ok(writes >= N, `civgrid_db_write_jobs_total grew by ${writes}, expected >= ${N}`);
  assert.equal(m.sum('civgrid_db_write_failures_total'), 0);
  assert.ok(commits >= 1, 'at least one commit');
  assert.ok(commits < writes, `group commit: ${commits} commits for ${writes} writes`);
  assert.equal(
    m.samples.get('civgrid_http_requests_total{method="POST",route="/api/v1/client-errors",status="201"}'),
    N,
    'the request counter saw every 201',
  );
});

test('reads keep being answered while writes are in flight', async () => {
  // Writes wait for their commit on worker threads; the I/O threads must stay free for reads.
  const writes = Array.from({ length: 100 }, (_, i) => postClientError(server.base, { message: `bg ${i}` }));
  const reads = Array.from({ length: 50 }, () => fetch(`${server.base}/api/v1/status`).then(async (r) => {
    await r.arrayBuffer();
    return r.status;
  }));
  const [w, r] = await Promise.all([Promise.all(writes), Promise.all(reads)]);
  assert.ok(w.every((x) => x.status === 201));
  assert.ok(r.every((s) => s === 200));
});
