// limits.test.mjs: request size limits and hostile or unusual clients at the
// socket level (chunked bodies over the limit, endless bodies, huge header
// blocks, clients that vanish, pipelining, Expect: 100-continue). After each,
// the server must keep serving.

import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';

import { openRaw, parseResponse, rawRequest, sleep, startServer } from './lib/server.mjs';

const MAX_BODY = 4096;
let server;

before(async () => {
  server = await startServer({ set: { 'http.max_body': MAX_BODY } });
});
after(async () => {
  await server?.stop();
});
afterEach(async () => {
  // Whatever the test did to its connection, new clients are still served.
  const res = await fetch(`${server.base}/healthz`);
  assert.equal(res.status, 200, 'GET /healthz after the test');
  await res.arrayBuffer();
});

const postHead = (extra) =>
  `POST /api/v1/client-errors HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${extra}\r\n`;
const chunk = (s) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;

test('a chunked body within the limit is accepted', async () => {
  const json = JSON.stringify({ message: 'chunked within the limit' });
  const req = postHead('Transfer-Encoding: chunked\r\nConnection: close\r\n') + chunk(json.slice(0, 10)) + chunk(json.slice(10)) + '0\r\n\r\n';
  const res = await rawRequest(server.port, req);
  assert.equal(res.status, 201, res.text);
  assert.ok(Number.isInteger(res.json().id));
});

test('a chunked body over the limit gets 413 body_too_large', async () => {
  // No Content-Length to refuse early: the server finds out while reading.
  let body = '';
  for (let i = 0; i < 10; i++) body += chunk('a'.repeat(1024));
  const res = await rawRequest(server.port, `${postHead('Transfer-Encoding: chunked\r\nConnection: close\r\n')}${body}0\r\n\r\n`);
  assert.equal(res.status, 413);
  assert.equal(res.json().error.code, 'body_too_large');
  assert.equal(res.headers.connection, 'close');
});

test('an endless chunked body is cut off', async () => {
  const conn = openRaw(server.port, { timeoutMs: 30_000 });
  await conn.connected;
  await conn.write(postHead('Transfer-Encoding: chunked\r\n'));
  const piece = chunk('b'.repeat(8192));
  const cap = 64 * 1024 * 1024; // far beyond any sane limit: the server must hang up first
  let sent = 0;
  while (!conn.isClosed && sent < cap) {
    if (!(await conn.write(piece))) break;
    sent += 8192;
  }
  await conn.closed;
  assert.ok(sent < cap, `the server accepted ${sent} bytes without closing the connection`);
  // It may say 413 before hanging up, but it must never accept the body.
  const res = parseResponse(conn.data(), { eof: true });
  if (res) assert.equal(res.status, 413, res.text);
});

test('a body announced over the limit by Content-Length is refused before it is sent', async () => {
  const conn = openRaw(server.port);
  await conn.connected;
  await conn.write(postHead(`Content-Length: ${MAX_BODY + 1}\r\n`));
  const res = await conn.response(); // no body byte was sent
  conn.destroy();
  assert.equal(res.status, 413);
  assert.equal(res.json().error.code, 'body_too_large');
});

test('Expect: 100-continue gets 413 instead of 100 for an oversized body, 100 then 201 otherwise', async () => {
  const big = await rawRequest(server.port, postHead('Content-Length: 100000\r\nExpect: 100-continue\r\nConnection: close\r\n'));
  assert.equal(big.status, 413);

  const json = JSON.stringify({ message: 'after 100-continue' });
  const conn = openRaw(server.port);
  await conn.connected;
  await conn.write(postHead(`Content-Length: ${json.length}\r\nExpect: 100-continue\r\nConnection: close\r\n`));
  const interim = await conn.response();
  assert.equal(interim.status, 100);
  await conn.write(json);
  await conn.closed;
  const final = parseResponse(conn.data().subarray(interim.consumed), { eof: true });
  assert.equal(final?.status, 201, final?.text);
});

test('a huge header block (64 KiB) gets a 4xx or a closed connection', async () => {
  const conn = openRaw(server.port);
  await conn.connected;
  await conn.write(`GET /api/v1/status HTTP/1.1\r\nHost: x\r\nX-Big: ${'h'.repeat(64 * 1024)}\r\nConnection: close\r\n\r\n`);
  await conn.closed;
  const res = parseResponse(conn.data(), { eof: true });
  if (res) assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}`);
});

test('thousands of small headers get a 4xx or a closed connection', async () => {
  let headers = '';
  for (let i = 0; i < 4000; i++) headers += `X-H${i}: v\r\n`;
  const conn = openRaw(server.port);
  await conn.connected;
  await conn.write(`GET /api/v1/status HTTP/1.1\r\nHost: x\r\n${headers}Connection: close\r\n\r\n`);
  await conn.closed;
  const res = parseResponse(conn.data(), { eof: true });
  if (res) assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}`);
});

test('an invalid Content-Length is a 400', async () => {
  for (const cl of ['abc', '-1', '1x']) {
    const res = await rawRequest(server.port, postHead(`Content-Length: ${cl}\r\nConnection: close\r\n`));
    assert.equal(res.status, 400, `Content-Length: ${cl}`);
  }
});

test('clients that hang up before the answer do not hurt the server', async () => {
  // (Clients that hang up in the middle of a request: disconnect.test.mjs.)
  const json = JSON.stringify({ message: 'vanishing client' });
  const full = postHead(`Content-Length: ${json.length}\r\n`) + json;
  const conns = [];
  for (let i = 0; i < 40; i++) {
    const conn = openRaw(server.port);
    conns.push(conn);
    await conn.connected;
    await conn.write(full);
  }
  // Gone before the writes are committed and answered.
  for (const conn of conns) conn.destroy();
  await Promise.all(conns.map((c) => c.closed));
  const res = await fetch(`${server.base}/api/v1/client-errors`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: json,
  });
  assert.equal(res.status, 201);
  await res.arrayBuffer();
});

test('pipelined requests on one connection are answered in order', async () => {
  const post = (m) => {
    const json = JSON.stringify({ message: m });
    return postHead(`Content-Length: ${json.length}\r\n`) + json;
  };
  const conn = openRaw(server.port);
  await conn.connected;
  await conn.write(
    post('pipelined 1') +
      'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' +
      post('pipelined 2') +
      'GET /api/v1/nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  );
  await conn.closed;
  const statuses = [];
  let rest = conn.data();
  for (;;) {
    const res = parseResponse(rest, { eof: true });
    if (!res) break;
    statuses.push(res.status);
    rest = rest.subarray(res.consumed);
  }
  assert.deepEqual(statuses, [201, 200, 201, 404]);
});

test('keep-alive: many requests on one connection, including writes', async () => {
  const conn = openRaw(server.port);
  await conn.connected;
  const json = JSON.stringify({ message: 'keep-alive' });
  let offset = 0;
  for (let i = 0; i < 20; i++) {
    const last = i === 19;
    const req = i % 2
      ? `GET /api/v1/status HTTP/1.1\r\nHost: x\r\n${last ? 'Connection: close\r\n' : ''}\r\n`
      : postHead(`Content-Length: ${json.length}\r\n${last ? 'Connection: close\r\n' : ''}`) + json;
    await conn.write(req);
    // Wait for this response before sending the next request.
    let res;
    for (;;) {
      res = parseResponse(conn.data().subarray(offset));
      if (res) break;
      assert.ok(!conn.isClosed, `connection closed after ${i} responses`);
      await sleep(5);
    }
    offset += res.consumed;
    assert.equal(res.status, i % 2 ? 200 : 201, `request ${i}`);
  }
  conn.destroy();
});
