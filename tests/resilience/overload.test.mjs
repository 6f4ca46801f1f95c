// overload.test.mjs: the server under more than it accepts, all at once. With
// small limits (64 connections, 32 per address, 64 KiB bodies):
//
// 1. a flood of 320 connections from eight loopback addresses: the server
//    admits 64 (32 per address) and holds a little headroom above (72 in all,
//    36 per address: the server's sockets in /proc) whose requests are
//    answered 503 overloaded or 429 too_many_connections; the rest wait in the
//    kernel's queue or are closed; when the flood ends, the server answers
//    straight away;
// 2. 64 slow clients on one address trickling a header line every 300 ms: at
//    most 36 are held, and a normal client on another address gets every
//    answer meanwhile;
// 3. five waves of 60 concurrent oversized bodies (Content-Length far over the
//    limit, and chunked bodies that never end) from two addresses: every one is
//    refused or cut, never accepted, while the normal client is answered;
// 4. the three again: the server's resident memory (VmRSS) after the second
//    pass stays within a bound of the first, and the server stops cleanly.
//
// Each behaviour alone (one oversized body, one hang-up...) is tested in
// tests/api/limits.test.mjs and disconnect.test.mjs; this file tests them
// together and at volume. What it does not claim: when every slot is taken by
// slow clients from many addresses, new clients wait (libmicrohttpd has no
// header deadline; nginx in front closes them, docs/HTTP.md).

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';

import { acceptedConnections, parseResponse, rssKiB, sleep, startServer, tryRequest } from './lib.mjs';

const MAX_CONNECTIONS = 64;
const MAX_PER_IP = 32;
/* What the server holds at most: the limits plus the headroom of src/http/server.c headroom(). */
const HELD_TOTAL = MAX_CONNECTIONS + 8;
const HELD_PER_IP = MAX_PER_IP + 4;
const MAX_BODY = 64 * 1024;
/** Growth of VmRSS allowed between the first and the second pass (KiB). */
const RSS_SLACK_KIB = 16 * 1024;
/** Growth allowed over the idle server at any sample (KiB): what 64 connections could hold, with room. */
const RSS_PEAK_KIB = 96 * 1024;

const IDLE_TIMEOUT_S = 3;

let server;
const note = (msg) => process.stdout.write(`${msg}\n`);

before(async () => {
  server = await startServer({
    set: {
      'http.max_connections': MAX_CONNECTIONS,
      'http.max_per_ip': MAX_PER_IP,
      'http.max_body': MAX_BODY,
      'http.shutdown_timeout': 2,
      // Short, so that connections whose hang-up libmicrohttpd missed come back in
      // seconds rather than 30 s (see "hang-ups in a flood" below).
      'http.idle_timeout': IDLE_TIMEOUT_S,
    },
  });
});
after(async () => {
  await server?.stop();
});

/** A raw connection from a chosen loopback address; tracks whether the server closed it. */
function connectFrom(localAddress) {
  const socket = net.connect({ port: server.port, host: '127.0.0.1', localAddress });
  const c = { socket, closed: false, data: Buffer.alloc(0), error: null };
  socket.on('data', (d) => {
    c.data = Buffer.concat([c.data, d]);
  });
  socket.on('error', (e) => {
    c.error = e;
  });
  c.connected = new Promise((resolve) => {
    socket.once('connect', () => resolve(true));
    socket.once('close', () => resolve(false));
  });
  c.done = new Promise((resolve) => socket.once('close', resolve));
  c.done.then(() => {
    c.closed = true;
  });
  c.write = (bytes) => new Promise((resolve) => {
    if (socket.destroyed || !socket.writable) return resolve(false);
    socket.write(bytes, (err) => resolve(!err));
  });
  return c;
}

/**
 * Waits until the server holds no connection (from these tests) any more;
 * returns how many it still held 1 s after the clients had gone, and how long the last took.
 */
async function drain() {
  const t0 = Date.now();
  let afterOne = null;
  for (;;) {
    const { total } = acceptedConnections(server.pid, server.port);
    if (afterOne === null && Date.now() - t0 >= 1000) afterOne = total;
    if (total === 0) return { afterOne: afterOne ?? 0, ms: Date.now() - t0 };
    assert.ok(Date.now() - t0 < (IDLE_TIMEOUT_S + 10) * 1000, `the server still holds ${total} connections of clients gone ${Date.now() - t0} ms ago`);
    await sleep(50);
  }
}

/** Connections the server held 1 s after their clients hung up, per phase (a known libmicrohttpd limitation). */
const missed = [];

/** The normal client: a read and a write from 127.0.0.1, both must be answered. */
async function normalClient(tag) {
  const g = await tryRequest(server.base, 'GET', '/api/v1/status');
  assert.equal(g.status, 200, `${tag}: GET /api/v1/status: ${g.text}`);
  const p = await tryRequest(server.base, 'POST', '/api/v1/client-errors', { body: { message: `normal client ${tag}` } });
  assert.equal(p.status, 201, `${tag}: POST /api/v1/client-errors: ${p.text}`);
}

/** Keeps calling the normal client until stop.on is false; returns how many rounds it made. */
async function normalTraffic(stop, tag) {
  let n = 0;
  while (stop.on) {
    await normalClient(`${tag} ${n}`);
    n++;
    await sleep(20);
  }
  return n;
}

/** The most connections the server held, in all and from one address, over ms of samples. */
async function heldOver(ms) {
  const most = { total: 0, perAddress: 0 };
  const end = Date.now() + ms;
  do {
    const { total, byAddress } = acceptedConnections(server.pid, server.port);
    most.total = Math.max(most.total, total);
    most.perAddress = Math.max(most.perAddress, ...byAddress.values(), 0);
    await sleep(50);
  } while (Date.now() < end);
  return most;
}

const peak = { kib: 0 };
function sampleRss() {
  const kib = rssKiB(server.pid);
  peak.kib = Math.max(peak.kib, kib);
  return kib;
}

async function flood() {
  const addresses = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`);
  const conns = [];
  for (const a of addresses) for (let i = 0; i < 40; i++) conns.push({ a, c: connectFrom(a) });
  await Promise.all(conns.map(({ c }) => c.connected));
  // A quarter start a request and stop in the middle of it, a quarter send a whole
  // request, the other half say nothing.
  await Promise.all(conns.map(({ c }, i) => {
    if (i % 4 === 1) return c.write('GET /api/v1/status HTTP/1.1\r\nHost: x\r\n');
    if (i % 4 === 3) return c.write('GET /api/v1/status HTTP/1.1\r\nHost: x\r\n\r\n');
    return null;
  }));
  // Past the limits the server answers 503/429 within its headroom, then stops accepting
  // (the rest wait in the kernel's queue) and closes what comes over the per-address one.
  const held = await heldOver(1000);
  sampleRss();
  const refused = conns.filter(({ c }) => c.closed).length;
  const answers = new Map();
  for (const [i, { c }] of conns.entries()) {
    if (i % 4 !== 3) continue;
    const res = parseResponse(c.data, { eof: c.closed });
    if (!res) continue;
    const code = res.status === 200 ? 'ok' : res.json().error.code;
    assert.ok(['ok', 'overloaded', 'too_many_connections'].includes(code), `${res.status} ${res.text}`);
    if (code !== 'ok') assert.equal(res.headers['retry-after'], '1');
    answers.set(code, (answers.get(code) || 0) + 1);
  }
  note(`flood: ${conns.length} connections; the server held at most ${held.total} (${held.perAddress} from one address), closed ${refused}; answers ${JSON.stringify(Object.fromEntries(answers))}`);
  assert.ok(held.total <= HELD_TOTAL, `the server held ${held.total} connections, limit ${HELD_TOTAL}`);
  assert.ok(held.perAddress <= HELD_PER_IP, `the server held ${held.perAddress} connections from one address, limit ${HELD_PER_IP}`);
  assert.ok(held.total > 0, 'the server took connections up to its limit');
  assert.ok(answers.get('ok') > 0, 'admitted clients were served');
  assert.ok((answers.get('overloaded') || 0) + (answers.get('too_many_connections') || 0) > 0,
    'clients over the limits were answered 503/429');
  for (const { c } of conns) c.socket.destroy();
  await Promise.all(conns.map(({ c }) => c.done));
  // The slots come back (those whose hang-up was missed, after http.idle_timeout) and the
  // normal client is answered.
  const d = await drain();
  missed.push(['flood', d.afterOne]);
  note(`flood: 1 s after the hang-up the server still held ${d.afterOne}; all were closed after ${d.ms} ms`);
  await normalClient('after the flood');
}

async function slowClients() {
  const conns = Array.from({ length: 64 }, () => connectFrom('127.0.0.2'));
  await Promise.all(conns.map((c) => c.connected));
  await Promise.all(conns.map((c) => c.write('GET /api/v1/status HTTP/1.1\r\nHost: x\r\n')));
  const stop = { on: true };
  const traffic = normalTraffic(stop, 'beside slow clients');
  let most = 0;
  for (let line = 0; line < 12; line++) {
    const held = await heldOver(300);
    most = Math.max(most, held.perAddress);
    await Promise.all(conns.map((c) => c.write(`X-Slow-${line}: ${'s'.repeat(20)}\r\n`)));
    sampleRss();
  }
  stop.on = false;
  const rounds = await traffic;
  const open = conns.filter((c) => !c.closed).length;
  note(`slow clients: 64 trickling from one address, the server held at most ${most}, ${open} still open; ` +
    `the normal client was answered ${rounds} x 2 times meanwhile`);
  assert.ok(most <= HELD_PER_IP, `the server held ${most} slow clients from one address, limit ${HELD_PER_IP}`);
  assert.ok(most > 0, 'the server took slow clients up to the per-address limit');
  assert.ok(rounds > 0);
  for (const c of conns) c.socket.destroy();
  await Promise.all(conns.map((c) => c.done));
  const d = await drain();
  missed.push(['slow clients', d.afterOne]);
  note(`slow clients: 1 s after the hang-up the server still held ${d.afterOne}; all were closed after ${d.ms} ms`);
}

const postHead = (extra) => `POST /api/v1/client-errors HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${extra}\r\n`;
const chunk = (s) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;

const WAVES = 5;

async function oversized() {
  const stop = { on: true };
  const traffic = normalTraffic(stop, 'beside oversized bodies');
  const piece = 'x'.repeat(16 * 1024);
  const sendBig = async (address, chunked) => {
    const c = connectFrom(address);
    if (!(await c.connected)) return { c, sent: 0 };
    await c.write(postHead(chunked ? 'Transfer-Encoding: chunked\r\n' : `Content-Length: ${100 * 1024 * 1024}\r\n`));
    // Keep sending until the server hangs up (or far past any limit: then it failed).
    let sent = 0;
    const cap = 32 * 1024 * 1024;
    while (!c.closed && sent < cap) {
      if (!(await c.write(chunked ? chunk(piece) : piece))) break;
      sent += piece.length;
    }
    await c.done;
    return { c, sent, cap };
  };
  const results = [];
  for (let wave = 0; wave < WAVES; wave++) {
    results.push(...(await Promise.all(Array.from({ length: 60 }, (_, i) => sendBig(i % 2 ? '127.0.0.3' : '127.0.0.4', i % 3 === 0)))));
  }
  stop.on = false;
  const rounds = await traffic;
  sampleRss();
  let refused = 0;
  for (const { c, sent, cap } of results) {
    assert.ok(!cap || sent < cap, `the server took ${sent} bytes of an oversized body`);
    const res = parseResponse(c.data, { eof: true });
    if (res) {
      assert.equal(res.status, 413, res.text);
      refused++;
    }
  }
  const d = await drain();
  missed.push(['oversized bodies', d.afterOne]);
  note(`oversized bodies: ${WAVES} waves of 60, ${results.length} sent, ${refused} answered 413, the others cut; the normal client was answered ${rounds} x 2 times meanwhile`);
  assert.ok(rounds > 0);
}

test('floods, slow clients and oversized bodies: the server stays up, bounded, and serves', { timeout: 120_000 }, async () => {
  // Warm up (threads, reader connections, statement caches) before the baseline.
  for (let i = 0; i < 20; i++) await normalClient(`warm-up ${i}`);
  const idle = sampleRss();
  const passes = [];
  for (let pass = 1; pass <= 2; pass++) {
    await flood();
    await slowClients();
    await oversized();
    await normalClient(`after pass ${pass}`);
    passes.push(sampleRss());
    note(`pass ${pass}: VmRSS ${passes.at(-1)} KiB (idle ${idle} KiB, peak ${peak.kib} KiB)`);
  }
  assert.equal(server.child.exitCode, null, 'the server is still running');
  assert.ok(peak.kib - idle <= RSS_PEAK_KIB, `VmRSS grew by ${peak.kib - idle} KiB under load (bound ${RSS_PEAK_KIB})`);
  assert.ok(passes[1] - passes[0] <= RSS_SLACK_KIB, `VmRSS grew by ${passes[1] - passes[0]} KiB from the first pass to the second (bound ${RSS_SLACK_KIB})`);
});

// Known limitation of libmicrohttpd 0.9.75 (tests/api/disconnect.test.mjs): a client that
// sends part of a request and hangs up is not always noticed, and its connection is held
// until http.idle_timeout. In a flood that means every slot: all clients wait up to
// http.idle_timeout (30 s by default). Reported, not failed, until a fix reaches Debian.
test('hang-ups in a flood are noticed at once', { todo: 'libmicrohttpd 0.9.75 misses hang-ups during a partial request' }, () => {
  assert.ok(missed.length > 0, 'the overload test ran');
  const held = missed.filter(([, n]) => n > 0);
  assert.deepEqual(held, [], `connections still held 1 s after their clients hung up: ${held.map(([p, n]) => `${p} ${n}`).join(', ')}`);
});
