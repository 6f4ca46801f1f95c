// shedding.test.mjs: past its connection limits the server answers instead of
// going silent (docs/HTTP.md, "Limits"): a connection over http.max_per_ip
// gets 429 too_many_connections, one over http.max_connections gets 503
// overloaded, both with Retry-After and Connection: close; the slots come back
// as soon as the clients leave. tests/resilience/overload.test.mjs does the
// same at volume.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';

import { acceptedConnections } from '../resilience/lib.mjs';
import { parseResponse, sleep, startServer } from './lib/server.mjs';

const MAX_CONNECTIONS = 6;
const MAX_PER_IP = 3;

let server;
const open = [];

before(async () => {
  server = await startServer({ set: { 'http.max_connections': MAX_CONNECTIONS, 'http.max_per_ip': MAX_PER_IP } });
});
after(async () => {
  for (const c of open) c.socket.destroy();
  await server?.stop();
});

/** A keep-alive connection from localAddress; request() sends one GET and waits for its answer. */
function connectFrom(localAddress) {
  const socket = net.connect({ port: server.port, host: '127.0.0.1', localAddress });
  const c = { socket, data: Buffer.alloc(0), closed: false };
  let waiter = null;
  const check = (eof) => {
    if (!waiter) return;
    const res = parseResponse(c.data, { eof });
    if (res) {
      c.data = Buffer.alloc(0);
      const w = waiter;
      waiter = null;
      w(res);
    } else if (eof) {
      const w = waiter;
      waiter = null;
      w(null);
    }
  };
  socket.on('data', (d) => {
    c.data = Buffer.concat([c.data, d]);
    check(false);
  });
  socket.on('error', () => {});
  c.gone = new Promise((resolve) => socket.once('close', resolve)).then(() => {
    c.closed = true;
    check(true);
  });
  c.connected = new Promise((resolve) => socket.once('connect', resolve));
  c.request = async (target = '/api/v1/status') => {
    await c.connected;
    const res = new Promise((resolve) => {
      waiter = resolve;
    });
    socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
    return res;
  };
  open.push(c);
  return c;
}

/** Waits until the server holds no connection (the start-up probes' included). */
async function idle() {
  for (let i = 0; acceptedConnections(server.pid, server.port).total > 0; i++) {
    assert.ok(i < 200, 'the server let go of earlier connections');
    await sleep(25);
  }
}

/** Opens n connections from address, each served once (so the server surely holds them). */
async function hold(address, n) {
  const held = [];
  for (let i = 0; i < n; i++) {
    const c = connectFrom(address);
    const res = await c.request('/healthz');
    assert.equal(res?.status, 200, `connection ${i + 1} from ${address} was served`);
    held.push(c);
  }
  return held;
}

async function release(conns) {
  for (const c of conns) c.socket.destroy();
  await Promise.all(conns.map((c) => c.gone));
}

/** Asks from address until a 200 comes (the server sees hang-ups a moment later). */
async function servedAgain(address) {
  for (let i = 0; i < 100; i++) {
    const c = connectFrom(address);
    const res = await c.request();
    c.socket.destroy();
    if (res?.status === 200) return res;
    await sleep(50);
  }
  assert.fail(`no 200 from ${address} after the clients left`);
}

function assertShed(res, status, code, c) {
  assert.ok(res, 'an answer, not a silent close');
  assert.equal(res.status, status, res.text);
  assert.equal(res.json().error.code, code);
  assert.match(res.json().error.message, /connection/);
  assert.equal(res.headers['retry-after'], '1');
  assert.equal(res.headers.connection, 'close');
  return c.gone; // the server closes it after the answer
}

test('a connection over http.max_per_ip gets 429 too_many_connections; other addresses are served', async () => {
  await idle();
  const held = await hold('127.0.0.2', MAX_PER_IP);
  const extra = connectFrom('127.0.0.2');
  await assertShed(await extra.request(), 429, 'too_many_connections', extra);
  const other = connectFrom('127.0.0.3');
  assert.equal((await other.request())?.status, 200, 'another address is served meanwhile');
  // The held connections still work.
  assert.equal((await held[0].request())?.status, 200);
  await release([...held, other]);
  await servedAgain('127.0.0.2');
});

test('a connection over http.max_connections gets 503 overloaded; the slots come back', async () => {
  await idle();
  const held = [
    ...(await hold('127.0.0.4', MAX_PER_IP)),
    ...(await hold('127.0.0.5', MAX_CONNECTIONS - MAX_PER_IP)),
  ];
  const extra = connectFrom('127.0.0.6');
  await assertShed(await extra.request(), 503, 'overloaded', extra);
  // A write with a body on a shed connection is refused without reading the body.
  const post = connectFrom('127.0.0.6');
  await post.connected;
  const answer = new Promise((resolve) => {
    post.socket.on('data', () => resolve(parseResponse(post.data, {})));
  });
  post.socket.write('POST /api/v1/client-errors HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
    'Content-Length: 1000000\r\n\r\n');
  const res = await answer;
  assert.equal(res?.status, 503, res?.text);
  assert.equal(res.json().error.code, 'overloaded');
  await release(held);
  await servedAgain('127.0.0.6');
});
