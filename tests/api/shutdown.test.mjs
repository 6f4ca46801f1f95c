// shutdown.test.mjs: graceful stop on SIGTERM/SIGINT. A request that started
// before the signal finishes (its write is committed and acknowledged), the
// listening socket closes at once, requests on connections that were already
// open get 503, and the process exits 0.

import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';

import { openRaw, parseResponse, sleep, sqlite, startServer } from './lib/server.mjs';

/** Resolves 'connected' or the connect error code (ECONNREFUSED...). */
function tryConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e) => resolve(e.code));
  });
}

test('SIGTERM: an in-flight POST with a trickled body completes with 201, then the server exits 0', async () => {
  const server = await startServer();
  const dbPath = server.dbPath;
  let stopped = false;
  try {
    const body = JSON.stringify({ message: 'sent across SIGTERM', page: '#/shutdown' });
    const half = Math.floor(body.length / 2);

    // A keep-alive connection opened before the signal, to see what later requests on it get.
    const keep = openRaw(server.port);
    await keep.connected;
    await keep.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    const first = await keep.response();
    assert.equal(first.status, 200);

    // The slow client: headers and half of the body, then a pause.
    const slow = openRaw(server.port, { timeoutMs: 30_000 });
    await slow.connected;
    await slow.write(
      `POST /api/v1/client-errors HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, half)}`,
    );
    await sleep(300);

    server.signal('SIGTERM');
    await server.waitForLog((l) => l.msg === 'stopping');

    // The listening socket goes away while the process is still finishing the slow request.
    // (A connect can slip in between the log line and the close: retry until refused.)
    let outcome;
    for (let i = 0; i < 200; i++) {
      outcome = await tryConnect(server.port);
      if (outcome !== 'connected') break;
      await sleep(10);
    }
    assert.equal(outcome, 'ECONNREFUSED', 'new connections are refused after SIGTERM');
    assert.equal(server.child.exitCode, null, 'the server is still running: the slow request is in flight');

    // A new request on a connection that was already open is answered 503 shutting_down.
    await keep.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await keep.closed;
    const second = parseResponse(keep.data().subarray(first.consumed), { eof: true });
    if (second) {
      // (The server may also just close an idle connection while stopping.)
      assert.equal(second.status, 503);
      assert.equal(JSON.parse(second.text).error.code, 'shutting_down');
    }

    // The rest of the body arrives: the request completes and is acknowledged.
    await slow.write(body.slice(half));
    const res = await slow.response();
    assert.equal(res.status, 201, res.text);
    const { id } = res.json();
    assert.ok(Number.isInteger(id));

    const info = await server.exited;
    stopped = true;
    assert.equal(info.code, 0, `exit code ${info.code} signal ${info.signal}\n${server.stderr()}`);
    assert.ok(server.logs().some((l) => l.msg === 'stopped'), 'logs "stopped"');

    // The acknowledged write is in the database.
    assert.deepEqual(sqlite(dbPath, `SELECT message FROM client_error WHERE id = ${id}`), ['sent across SIGTERM']);
  } finally {
    if (stopped) server.removeDir();
    else await server.stop();
  }
});

test('SIGINT also stops the server gracefully with exit code 0', async () => {
  const server = await startServer();
  server.signal('SIGINT');
  const info = await server.exited;
  server.removeDir();
  assert.equal(info.code, 0, server.stderr());
  assert.ok(server.logs().some((l) => l.msg === 'stopping' && l.signal === 'SIGINT'));
});

test('SIGTERM while 50 writes are in flight: every write that was answered 201 is stored', async () => {
  const server = await startServer({ set: { 'http.max_per_ip': 1000 } });
  try {
    const posts = Array.from({ length: 50 }, (_, i) =>
      fetch(`${server.base}/api/v1/client-errors`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ message: `racing shutdown ${i}` }),
      })
        .then(async (r) => ({ status: r.status, body: await r.json() }))
        .catch((e) => ({ error: e })),
    );
    await sleep(5);
    server.signal('SIGTERM');
    const results = await Promise.all(posts);
    const info = await server.exited;
    assert.equal(info.code, 0, server.stderr());
    const acked = results.filter((r) => r.status === 201).map((r) => r.body.id);
    // Refusals are allowed (503 or a refused connection), but nothing else.
    for (const r of results) {
      if (r.error) continue;
      assert.ok(r.status === 201 || r.status === 503, `status ${r.status}`);
    }
    const stored = new Set(sqlite(server.dbPath, 'SELECT id FROM client_error').map(Number));
    for (const id of acked) assert.ok(stored.has(id), `acknowledged id ${id} is stored`);
  } finally {
    await server.stop().catch(() => {});
    server.removeDir();
  }
});
