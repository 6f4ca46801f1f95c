// proxy.test.mjs: behind nginx every peer is the proxy. With http.trusted_proxy
// set to the proxy's address, its X-Real-IP header names the client (logs,
// audit, sign-in throttle); from anyone else, or when malformed, it is ignored.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { startServer } from './lib/server.mjs';

let trusting;
let plain;
before(async () => {
  [trusting, plain] = await Promise.all([
    startServer({ set: { 'http.trusted_proxy': '127.0.0.1' } }),
    startServer(),
  ]);
});
after(async () => {
  await trusting?.stop();
  await plain?.stop();
});

async function remoteOf(server, realIp) {
  const rid = `proxy-${Math.random().toString(16).slice(2)}`;
  const res = await fetch(`${server.base}/healthz`, { headers: { 'X-Real-IP': realIp, 'X-Request-Id': rid } });
  assert.equal(res.status, 200);
  const line = await server.waitForLog((l) => l.msg === 'request' && l.rid === rid);
  return line.remote;
}

test('the trusted proxy names the client with X-Real-IP', async () => {
  assert.equal(await remoteOf(trusting, '203.0.113.9'), '203.0.113.9');
  assert.equal(await remoteOf(trusting, '2001:db8::7'), '2001:db8::7');
});

test('a malformed X-Real-IP is ignored', async () => {
  assert.equal(await remoteOf(trusting, 'not an address'), '127.0.0.1');
  assert.equal(await remoteOf(trusting, '1.2.3.4, 5.6.7.8'), '127.0.0.1');
});

test('without a trusted proxy the header is ignored', async () => {
  assert.equal(await remoteOf(plain, '203.0.113.9'), '127.0.0.1');
});
