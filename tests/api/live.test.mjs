// live.test.mjs: the live command-center map over Server-Sent Events
// (docs/LIVE.md), against a real civgridd on the Zhongshan demo: events
// reported and dispatched by others reach a subscriber without asking, in
// scope only; worker positions; the snapshot and resuming from a cursor
// (Last-Event-ID); refusals (401, 403, 400, 503 when full); streams that
// outlive the idle timeout and end cleanly when the server stops.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';

import { addUser, makeTemplate, signIn, signInAs, startDemoServer, P_001001, P_207002 } from './grid/lib.mjs';

const report = (c, [lon, lat], title = '路边暴露垃圾') =>
  c.post('/api/v1/events', { source: 'patrol', category: '0102', title, lon, lat });
const act = async (c, id, action) => {
  const r = await c.post(`/api/v1/events/${id}/actions`, { action });
  assert.equal(r.status, 200, `${action}: ${r.text}`);
  return r.json;
};

/**
 * Opens GET /api/v1/live as the bearer token's account and parses the stream.
 * Returns { status, headers, json (refusals), events: [{type, data, id}], comments,
 * lastId, ended, waitFor(pred), close() }.
 */
function subscribe(base, token, { query = '', lastEventId } = {}) {
  return new Promise((resolve, reject) => {
    const headers = { Accept: 'text/event-stream' };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (lastEventId) headers['Last-Event-ID'] = lastEventId;
    const req = http.get(new URL(`/api/v1/live${query}`, base), { headers, agent: false }, (res) => {
      const s = { status: res.statusCode, headers: res.headers, events: [], comments: 0, lastId: null, ended: false };
      const waiters = new Set();
      const wake = () => {
        for (const w of waiters) {
          const hit = s.events.find(w.pred);
          if (hit || s.ended) {
            waiters.delete(w);
            if (hit) w.resolve(hit);
            else w.reject(new Error(`the stream ended first; got ${JSON.stringify(s.events.map((e) => e.type))}`));
          }
        }
      };
      s.waitFor = (pred, ms = 20000) => new Promise((res2, rej2) => {
        const w = { pred, resolve: res2, reject: rej2 };
        waiters.add(w);
        const t = setTimeout(() => {
          waiters.delete(w);
          rej2(new Error(`no such message in ${ms} ms; got ${JSON.stringify(s.events)}`));
        }, ms);
        w.resolve = (v) => { clearTimeout(t); res2(v); };
        w.reject = (e) => { clearTimeout(t); rej2(e); };
        wake();
      });
      s.close = () => req.destroy();
      s.endedPromise = new Promise((r) => res.on('close', () => { s.ended = true; wake(); r(); }));
      res.setEncoding('utf8');
      if (res.statusCode !== 200) {
        let body = '';
        res.on('data', (c) => { body += c; });
        res.on('end', () => { s.json = JSON.parse(body); resolve(s); });
        return;
      }
      let buf = '';
      res.on('data', (chunk) => {
        buf += chunk;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let type = 'message';
          let data = null;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) s.comments++;
            else if (line.startsWith('event: ')) type = line.slice(7);
            else if (line.startsWith('data: ')) data = line.slice(6);
            else if (line.startsWith('id: ')) s.lastId = line.slice(4);
          }
          if (data !== null) s.events.push({ type, data: JSON.parse(data), id: s.lastId });
        }
        wake();
      });
      resolve(s);
    });
    req.on('error', reject);
  });
}

const eventMsg = (id, state) => (m) => m.type === 'event' && m.data.id === id && (!state || m.data.state === state);

let template, server, worker, worker207, duty, leader, station207;

before(async () => {
  template = makeTemplate();
  server = await startDemoServer(template, { 'http.idle_timeout': 1 });
  worker = await signInAs(server, 'demo.worker');
  duty = await signInAs(server, 'demo.duty');
  leader = await signInAs(server, 'demo.leader');
  const w = addUser(server, 'test.worker207', { roles: 'grid_worker', scope: 'grid:442000105207002' });
  worker207 = await signIn(server.base, w.login, w.password);
  const st = addUser(server, 'test.station207', { roles: 'village_station', scope: 'grid:442000105207' });
  station207 = await signIn(server.base, st.login, st.password);
});

after(async () => {
  await server?.stop();
  template?.remove();
});

describe('the stream', () => {
  test('an event reported and dispatched by others reaches the subscriber, in order', async () => {
    const s = await subscribe(server.base, leader.token);
    try {
      assert.equal(s.status, 200);
      assert.match(s.headers['content-type'], /^text\/event-stream/);
      assert.equal(s.headers['cache-control'], 'no-store');
      const hello = await s.waitFor((m) => m.type === 'hello');
      assert.match(hello.data.cursor, /^\d+-\d+-\d+$/);
      assert.equal(hello.id, hello.data.cursor, 'the hello carries its cursor as the id');
      assert.equal(typeof hello.data.open_events, 'number');

      const r = await report(worker, P_001001);
      assert.equal(r.status, 201, r.text);
      const id = r.json.id;
      const first = await s.waitFor(eventMsg(id, 'reported'));
      assert.equal(first.data.grid, '442000105001001');
      assert.equal(first.data.title, '路边暴露垃圾');
      assert.equal(first.data.warning, 'none');
      assert.equal(first.data.open, true);
      assert.equal(typeof first.data.lon, 'number');
      assert.equal(first.data.category, r.json.category.name);

      await act(duty, id, 'accept');
      await act(duty, id, 'file');
      await act(duty, id, 'dispatch');
      const last = await s.waitFor(eventMsg(id, 'dispatched'));
      assert.equal(last.data.version, 4);
      const states = s.events.filter(eventMsg(id)).map((m) => m.data.state);
      assert.equal(states[0], 'reported');
      assert.equal(states.at(-1), 'dispatched');
      assert.match(s.lastId, /^\d+-\d+-\d+$/);
      const metrics = await (await fetch(`${server.base}/metrics`)).text();
      assert.match(metrics, /^civgrid_live_subscribers [1-9]\d*$/m, 'the open stream is counted');
      assert.match(metrics, /^civgrid_live_messages_total [1-9]\d*$/m);
      assert.ok(Number(s.lastId.split('-')[0]) > Number(hello.data.cursor.split('-')[0]), 'the cursor moved on');
    } finally {
      s.close();
    }
  });

  test('out-of-scope events never reach a subscriber of another village', async () => {
    const s = await subscribe(server.base, station207.token);
    try {
      await s.waitFor((m) => m.type === 'hello');
      const outside = await report(worker, P_001001, '别的村的事件');
      assert.equal(outside.status, 201, outside.text);
      const inside = await report(worker207, P_207002, '本村的事件');
      assert.equal(inside.status, 201, inside.text);
      await s.waitFor(eventMsg(inside.json.id));
      // The hub sends changes in log order: the earlier event would have come first.
      assert.equal(s.events.filter(eventMsg(outside.json.id)).length, 0, 'no event of grid 001001');
      assert.ok(s.events.filter((m) => m.type === 'event').every((m) => m.data.grid.startsWith('442000105207')));
    } finally {
      s.close();
    }
  });

  test('worker positions arrive with their duty', async () => {
    const s = await subscribe(server.base, leader.token);
    try {
      await s.waitFor((m) => m.type === 'hello');
      const p = await worker.post('/api/v1/patrols', {});
      assert.equal(p.status, 201, p.text);
      const t = new Date(Date.now() - 1000).toISOString();
      const up = await worker.post(`/api/v1/patrols/${p.json.id}/points`, {
        points: [{ t, lon: P_001001[0], lat: P_001001[1] }],
      });
      assert.equal(up.status, 200, up.text);
      const m = await s.waitFor((x) => x.type === 'position' && x.data.account_id === worker.account.id);
      assert.equal(m.data.on_duty, true);
      assert.equal(m.data.lon, P_001001[0]);
      assert.equal(m.data.grid, '442000105001001');
      assert.equal(m.data.at, t);
      const stop = await worker.post(`/api/v1/patrols/${p.json.id}/stop`, {});
      assert.equal(stop.status, 200, stop.text);
    } finally {
      s.close();
    }
  });

  test('the stream outlives the idle timeout (1 s here) and keeps delivering', async () => {
    const s = await subscribe(server.base, leader.token);
    try {
      await s.waitFor((m) => m.type === 'hello');
      await new Promise((r) => setTimeout(r, 3000)); // three idle timeouts of quiet
      assert.equal(s.ended, false);
      const r = await report(worker, P_001001, '空闲之后的事件');
      await s.waitFor(eventMsg(r.json.id));
    } finally {
      s.close();
    }
  });
});

describe('snapshot and resuming', () => {
  test('the snapshot lists open events in scope with a cursor to stream from', async () => {
    const r = await report(worker, P_001001, '快照里的事件');
    const snap = await leader.get('/api/v1/live/snapshot');
    assert.equal(snap.status, 200, snap.text);
    assert.match(snap.json.cursor, /^\d+-\d+-\d+$/);
    const mine = snap.json.events.find((e) => e.id === r.json.id);
    assert.ok(mine, 'the new event is in the snapshot');
    assert.equal(mine.state, 'reported');
    assert.ok(snap.json.events.every((e) => e.open && e.grid.startsWith('442000105')));
    assert.ok(Array.isArray(snap.json.workers));
    const other = await station207.get('/api/v1/live/snapshot');
    assert.equal(other.status, 200);
    assert.ok(other.json.events.every((e) => e.grid.startsWith('442000105207')), 'scope');

    // A change made after the snapshot comes through a stream started from its cursor.
    await act(duty, r.json.id, 'accept');
    const s = await subscribe(server.base, leader.token, { query: `?after=${snap.json.cursor}` });
    try {
      await s.waitFor(eventMsg(r.json.id, 'accepted'));
    } finally {
      s.close();
    }
  });

  test('a reconnecting client gets what it missed through Last-Event-ID', async () => {
    const s1 = await subscribe(server.base, leader.token);
    const hello = await s1.waitFor((m) => m.type === 'hello');
    s1.close();
    const r = await report(worker, P_001001, '断线期间的事件');
    const s2 = await subscribe(server.base, leader.token, { lastEventId: hello.id });
    try {
      const m = await s2.waitFor(eventMsg(r.json.id));
      assert.equal(m.data.state, 'reported');
    } finally {
      s2.close();
    }
  });
});

describe('refusals', () => {
  test('unauthenticated: 401 JSON; without live.read: 403', async () => {
    const s = await subscribe(server.base, null);
    assert.equal(s.status, 401);
    assert.equal(s.json.error.code, 'unauthenticated');
    const w = await subscribe(server.base, worker.token);
    assert.equal(w.status, 403);
    assert.equal(w.json.error.code, 'forbidden');
    assert.equal((await worker.get('/api/v1/live/snapshot')).status, 403);
  });

  test('a cursor that is not one: 400 naming it', async () => {
    const s = await subscribe(server.base, leader.token, { query: '?after=12-x' });
    assert.equal(s.status, 400);
    assert.equal(s.json.error.field, 'after');
  });
});

describe('limits and shutdown', () => {
  test('past live.max_subscribers: 503 JSON with Retry-After; a slot comes back', async () => {
    const small = await startDemoServer(template, { 'live.max_subscribers': 1, 'live.heartbeat_s': 1 });
    try {
      const who = await signInAs(small, 'demo.leader');
      const a = await subscribe(small.base, who.token);
      assert.equal(a.status, 200);
      await a.waitFor((m) => m.type === 'hello');
      const b = await subscribe(small.base, who.token);
      assert.equal(b.status, 503);
      assert.equal(b.json.error.code, 'busy');
      assert.match(b.json.error.message, /live\.max_subscribers/);
      assert.equal(b.headers['retry-after'], '10');
      a.close();
      // The server notices the closed stream at its next heartbeat; then the slot is free.
      let c;
      for (let i = 0; i < 100; i++) {
        c = await subscribe(small.base, who.token);
        if (c.status === 200) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(c.status, 200);
      c.close();
    } finally {
      await small.stop();
    }
  });

  test('SIGTERM ends open streams and the server exits at once', async () => {
    // A stream holding the shutdown would make it wait http.shutdown_timeout (60 s), past
    // the test harness's SIGKILL (15 s), and stop() would then fail.
    const srv = await startDemoServer(template, { 'http.shutdown_timeout': 60 });
    const who = await signInAs(srv, 'demo.leader');
    const s = await subscribe(srv.base, who.token);
    await s.waitFor((m) => m.type === 'hello');
    const info = await srv.stop();
    assert.equal(info.code, 0);
    await s.endedPromise;
    const line = srv.logs().find((l) => l.msg === 'request' && l.route === '/api/v1/live');
    assert.equal(line?.status, 200);
    assert.equal(line?.terminated, undefined, 'the stream was ended, not cut');
  });
});
