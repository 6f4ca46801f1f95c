// crash.test.mjs: crash consistency of event intake and the workflow. On a
// copy of the Zhongshan demo, concurrent clients report events (category 0102
// inside grid 442000105001001) and a duty officer accepts, files and
// dispatches them, while the server is killed with SIGKILL at random moments
// and restarted on the same files, round after round. Every write answered
// 2xx is recorded with the state it acknowledged; after every crash:
//
// - `civgrid check` passes on the files as the crash left them (integrity,
//   foreign keys, schema, audit chain);
// - every acknowledged event exists, in at least the acknowledged state;
// - nothing is half-applied: each event's state is the to_state of its last
//   event_log row, its log is a chain (each from_state is the previous
//   to_state), and its version counts its log rows;
// - the server starts again on those files and serves (and the API's log of a
//   sample of events matches the database).
//
// RESILIENCE_ROUNDS (default 20) and RESILIENCE_SEED (default: random, printed)
// replay or lengthen a run.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';

import { P_001001, cli, copyTemplate, makeTemplate, request, rng, sleep, sqlite, startOn, tryRequest } from './lib.mjs';

const ROUNDS = Number(process.env.RESILIENCE_ROUNDS || 20);
const SEED = Number(process.env.RESILIENCE_SEED || Math.floor(Math.random() * 2 ** 31));
const CLIENTS = 6;
const SET = { 'http.max_per_ip': 1000 };
/** The workflow this test drives, in order: an event never goes back. */
const STATES = ['reported', 'accepted', 'filed', 'dispatched'];
const NEXT = { reported: 'accept', accepted: 'file', filed: 'dispatch' };

let template;
let tmp;
let server;

before(() => {
  template = makeTemplate();
  tmp = copyTemplate(template);
});
after(async () => {
  await server?.kill9();
  if (tmp && !process.env.RESILIENCE_KEEP) fs.rmSync(tmp.dir, { recursive: true, force: true });
  else if (tmp) note(`files kept in ${tmp.dir}`);
  template?.remove();
});

/** One log line per round, so a slow or failing run shows where it was. */
const note = (msg) => process.stdout.write(`${msg}\n`);

test(`acknowledged events and transitions survive ${ROUNDS} kill -9 rounds`, { timeout: 240_000 }, async () => {
  note(`seed ${SEED} (RESILIENCE_SEED=${SEED} replays the kill times)`);
  const random = rng(SEED);
  server = await startOn(tmp.dir, SET);
  const accounts = template.accounts;
  const tokenOf = async (loginName) => {
    const r = await request(server.base, 'POST', '/api/v1/auth/login', {
      body: { login: loginName, password: accounts[loginName].password },
    });
    assert.equal(r.status, 200, `sign-in of ${loginName}: ${r.text}`);
    return r.json.token;
  };
  // Sessions are stored: the same tokens must keep working across crashes.
  const worker = await tokenOf('demo.worker');
  const duty = await tokenOf('demo.duty');

  /** id -> { state: the furthest acknowledged state, version: its acknowledged version } */
  const acked = new Map();
  const stats = { reports: 0, actions: 0, cut: 0, rounds: 0, kills: 0 };

  const ack = (ev) => {
    const prev = acked.get(ev.id);
    if (!prev || STATES.indexOf(ev.state) > STATES.indexOf(prev.state)) acked.set(ev.id, { state: ev.state, version: ev.version });
  };

  /** One client: reports, and acts on its own events or on older ones, until the server dies. */
  async function clientLoop(base, alive) {
    const mine = [];
    while (alive.on) {
      const older = [...acked.entries()].filter(([, a]) => a.state !== 'dispatched');
      if (older.length && random() < 0.3) {
        // An event from an earlier round (its last action's fate may be unknown): read it, act on what it is now.
        const [id] = older[Math.floor(random() * older.length)];
        const g = await tryRequest(base, 'GET', `/api/v1/events/${id}`, { token: duty });
        if (g.status !== 200) {
          if (g.status) assert.fail(`GET /api/v1/events/${id}: ${g.status} ${g.text}`);
          stats.cut++;
          break;
        }
        mine.push(g.json);
      } else {
        const lon = P_001001[0] + (random() - 0.5) * 6e-5; // a few metres around the point
        const lat = P_001001[1] + (random() - 0.5) * 6e-5;
        const r = await tryRequest(base, 'POST', '/api/v1/events', {
          token: worker,
          body: { source: 'patrol', category: '0102', title: '路边暴露垃圾（崩溃测试）', lon, lat },
        });
        if (r.status === 0) { // the server is gone, maybe after committing it
          stats.cut++;
          break;
        }
        assert.equal(r.status, 201, r.text);
        stats.reports++;
        ack(r.json);
        mine.push(r.json);
      }
      // Move some events on by one step (so all four states stay represented).
      const ev = mine.shift();
      if (!ev || !NEXT[ev.state] || random() < 0.25) continue;
      const r = await tryRequest(base, 'POST', `/api/v1/events/${ev.id}/actions`, {
        token: duty,
        body: { action: NEXT[ev.state], expected_version: ev.version },
      });
      if (r.status === 0) {
        stats.cut++;
        break;
      }
      if (r.status === 409) continue; // another client moved it first: exactly one wins
      assert.equal(r.status, 200, `${NEXT[ev.state]} of ${ev.id}: ${r.text}`);
      assert.equal(r.json.state, STATES[STATES.indexOf(ev.state) + 1]);
      stats.actions++;
      ack(r.json);
      mine.push(r.json);
    }
  }

  /** Checks the database as it is on disk against everything acknowledged so far. */
  function verify(where) {
    const rows = sqlite(tmp.dbPath,
      "SELECT e.id, e.state, e.version, COUNT(l.id), COALESCE(group_concat(COALESCE(l.from_state, '-') || '>' || l.to_state, ' '), '')" +
      ' FROM event e LEFT JOIN (SELECT * FROM event_log ORDER BY id) l ON l.event_id = e.id GROUP BY e.id');
    const stored = new Map();
    for (const line of rows) {
      const [id, state, version, logs, chain] = line.split('|');
      stored.set(Number(id), { state, version: Number(version), logs: Number(logs), chain });
    }
    for (const [id, ev] of stored) {
      const steps = ev.chain.split(' ');
      assert.ok(ev.logs >= 1, `${where}: event ${id} has no log`);
      assert.equal(steps[0], '->reported', `${where}: event ${id} starts with its report: ${ev.chain}`);
      for (let i = 1; i < steps.length; i++) {
        assert.equal(steps[i].split('>')[0], steps[i - 1].split('>')[1], `${where}: event ${id}'s log is a chain: ${ev.chain}`);
      }
      assert.equal(steps.at(-1).split('>')[1], ev.state, `${where}: event ${id}'s state is its last log entry's: ${ev.chain}`);
      assert.equal(ev.version, ev.logs, `${where}: event ${id}'s version counts its log entries: ${ev.chain}`);
    }
    for (const [id, a] of acked) {
      const ev = stored.get(id);
      assert.ok(ev, `${where}: acknowledged event ${id} (${a.state}) exists`);
      assert.ok(STATES.indexOf(ev.state) >= STATES.indexOf(a.state), `${where}: event ${id} is ${ev.state}, acknowledged ${a.state}`);
      assert.ok(ev.version >= a.version, `${where}: event ${id} is at version ${ev.version}, acknowledged ${a.version}`);
    }
    return stored;
  }

  function check(where) {
    const r = cli(tmp.dbPath, ['check']);
    assert.equal(r.status, 0, `${where}: civgrid check: ${r.stdout}${r.stderr}`);
  }

  for (let round = 1; round <= ROUNDS; round++) {
    const alive = { on: true };
    const loops = Array.from({ length: CLIENTS }, () => clientLoop(server.base, alive));
    const wait = 200 + Math.floor(random() * 1300);
    await sleep(wait);
    const killed = await server.kill9();
    alive.on = false;
    stats.kills++;
    assert.equal(killed.signal, 'SIGKILL', 'the server was running until the kill');
    await Promise.all(loops);

    // The files as the crash left them: consistent, and holding everything acknowledged.
    check(`round ${round}, after the crash`);
    const stored = verify(`round ${round}, after the crash`);

    // Restart on the same files; it serves again, and the API tells what the database does.
    server = await startOn(tmp.dir, SET);
    const sample = [...acked.keys()].sort(() => random() - 0.5).slice(0, 3);
    for (const id of sample) {
      const g = await request(server.base, 'GET', `/api/v1/events/${id}`, { token: duty });
      assert.equal(g.status, 200, g.text);
      assert.equal(g.json.state, stored.get(id).state, `GET /api/v1/events/${id} after the restart`);
      assert.equal(g.json.log.at(-1).to, g.json.state);
      assert.equal(g.json.log.length, stored.get(id).logs);
    }
    stats.rounds++;
    const counts = STATES.map((s) => `${s} ${[...stored.values()].filter((e) => e.state === s).length}`).join(', ');
    note(`round ${round}: killed after ${wait} ms; ${acked.size} acknowledged events (${counts})`);
  }

  // A last round without a crash: the server takes writes, stops cleanly, the files check.
  const r = await request(server.base, 'POST', '/api/v1/events', {
    token: worker,
    body: { source: 'patrol', category: '0102', title: '重启后上报', lon: P_001001[0], lat: P_001001[1] },
  });
  assert.equal(r.status, 201, r.text);
  assert.ok(r.json.id > Math.max(...acked.keys()), 'ids are not reused after crashes');
  ack(r.json);
  await server.stop();
  check('after a clean stop');
  verify('after a clean stop');
  server = null;
  const audit = sqlite(tmp.dbPath, 'SELECT COUNT(*) FROM audit_log');
  note(`${stats.rounds} rounds, ${stats.kills} kills; ${stats.reports} reports and ${stats.actions} actions acknowledged, ` +
    `${stats.cut} requests cut by a kill; ` +
    `${acked.size} events verified; ${audit[0]} audit records chained`);
  assert.ok(stats.reports >= ROUNDS, 'the clients got writes through in most rounds');
  assert.ok(stats.actions > 0, 'some transitions were acknowledged');
});
