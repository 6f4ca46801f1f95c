// request-id.test.mjs: every response carries X-Request-Id; a well-formed id
// sent by the client (letters, digits, '-', '_', '.', 1 to 64 characters) is
// used as is, anything else is replaced by a generated one; error bodies and
// the access log carry the same id, so a user's report can be found in the log.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { rawGet, rawRequest, startServer } from './lib/server.mjs';

const GENERATED = /^[0-9a-f]{8}-[0-9a-f]{12}$/;

let server;
before(async () => {
  server = await startServer({ set: { 'http.max_body': 4096 } });
});
after(async () => {
  await server?.stop();
});

test('a generated X-Request-Id is on every kind of response, and ids differ', async () => {
  const requests = [
    rawGet('/healthz'),
    rawGet('/api/v1/status'),
    'HEAD /api/v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    rawGet('/'),
    rawGet('/missing.js'),
    rawGet('/../etc/passwd'),
    rawGet('/api/v1/nothing'),
    'DELETE /api/v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    'OPTIONS /api/v1/client-errors HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    'POST /api/v1/client-errors HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 17\r\nConnection: close\r\n\r\n{"message":"id"}\n',
    'POST /api/v1/client-errors HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}',
    'POST /api/v1/client-errors HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 999999\r\nConnection: close\r\n\r\n',
    'POST /api/v1/client-errors HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi',
  ];
  const seen = new Set();
  for (const req of requests) {
    const res = await rawRequest(server.port, req);
    const id = res.headers['x-request-id'];
    const what = `${req.split('\r\n')[0]} -> ${res.status}`;
    assert.match(id || '', GENERATED, what);
    assert.ok(!seen.has(id), `${what}: id ${id} was already used`);
    seen.add(id);
  }
});

test('a valid client-sent X-Request-Id is echoed', async () => {
  for (const id of ['abc-123_X.y', 'f47ac10b-58cc-4372-a567-0e02b2c3d479', '7', 'a.b.c']) {
    const res = await fetch(`${server.base}/api/v1/status`, { headers: { 'x-request-id': id } });
    await res.arrayBuffer();
    assert.equal(res.headers.get('x-request-id'), id);
  }
});

test('a valid client-sent id of the maximum length (64 characters) is echoed whole', async () => {
  // 64 characters pass the server's validation, so they must come back unchanged.
  const id = `trace-${'0123456789abcdef'.repeat(4)}`.slice(0, 64);
  assert.equal(id.length, 64);
  const res = await fetch(`${server.base}/healthz`, { headers: { 'x-request-id': id } });
  await res.arrayBuffer();
  assert.equal(res.headers.get('x-request-id'), id);
});

test('an invalid client-sent X-Request-Id is replaced by a generated one', async () => {
  const invalid = ['has space', 'x'.repeat(65), 'x'.repeat(200), 'a/b', 'a;b', '<script>', 'tab\there', ''];
  for (const id of invalid) {
    const res = await rawRequest(server.port, rawGet('/healthz', `X-Request-Id: ${id}\r\n`));
    assert.equal(res.status, 200);
    assert.match(res.headers['x-request-id'], GENERATED, JSON.stringify(id));
  }
  // Non-ASCII bytes (UTF-8 and a raw 0xff) are replaced too.
  for (const bytes of [Buffer.from('ид-1', 'utf8'), Buffer.from([0x61, 0xff, 0x62])]) {
    const req = Buffer.concat([Buffer.from('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Request-Id: '), bytes, Buffer.from('\r\n\r\n')]);
    const res = await rawRequest(server.port, req);
    assert.equal(res.status, 200);
    assert.match(res.headers['x-request-id'], GENERATED);
  }
});

test('error bodies carry the same request_id as the header, generated or client-sent', async () => {
  const errors = [
    ['/api/v1/nothing', {}],
    ['/api/v1/client-errors', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' }],
    ['/api/v1/client-errors', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' }],
    ['/api/v1/client-errors', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: 'x'.repeat(5000) }) }],
    ['/missing.png', {}],
  ];
  for (const [p, init] of errors) {
    for (const sent of [undefined, 'client-chosen-id.42']) {
      const headers = { ...(init.headers || {}), ...(sent ? { 'x-request-id': sent } : {}) };
      const res = await fetch(server.base + p, { ...init, headers });
      const body = await res.json();
      assert.ok(res.status >= 400, `${p}: status ${res.status}`);
      const id = res.headers.get('x-request-id');
      if (sent) assert.equal(id, sent);
      else assert.match(id, GENERATED);
      assert.equal(body.error.request_id, id, `${p} ${res.status}`);
    }
  }
});

test('the access log line of a request carries its id', async () => {
  const id = 'log-trace-1';
  const res = await fetch(`${server.base}/api/v1/nothing`, { headers: { 'x-request-id': id } });
  await res.arrayBuffer();
  const line = await server.waitForLog((l) => l.msg === 'request' && l.rid === id);
  assert.equal(line.status, 404);
  assert.equal(line.method, 'GET');
  assert.equal(line.uri, '/api/v1/nothing');
});
