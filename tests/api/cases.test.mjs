// cases.test.mjs: runs every tests/api/cases/NNNN-name.json against one civgridd.
//
// A case file is { "name", "request", "expect" } (see tests/api/README.md):
//
//   request: method (default GET), path (sent as is, so it may hold any
//            percent-encoding), headers (lowercase names; null = do not send),
//            and at most one body form:
//              body         a JSON value, serialised with JSON.stringify
//              body_raw     a string sent verbatim (UTF-8)
//              body_base64  bytes, for invalid UTF-8
//              body_repeat  { prefix?, char, count, suffix? } for big bodies
//            A body gets "content-type: application/json" and a Content-Length
//            unless the headers say otherwise ("transfer-encoding" suppresses
//            Content-Length; the body is then sent as written).
//   expect:  status; headers (exact value, null = absent, or {"$regex": ...});
//            json (deep partial match, see lib/match.mjs); body (exact text);
//            body_contains (substrings).
//
// Requests go over a raw socket, not fetch(), so that nothing is added or
// normalised behind the case's back. After every case GET /healthz must still
// answer 200: no input may take the server down.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { mismatches } from './lib/match.mjs';
import { openRaw, startServer } from './lib/server.mjs';

const CASES_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cases');
// Big enough for 2000 Chinese characters (6 KB of UTF-8), small enough to test 413 cheaply.
const MAX_BODY = 8192;

const files = fs.readdirSync(CASES_DIR).filter((f) => /^\d{4}-[a-z0-9-]+\.json$/.test(f)).sort();

let server;
before(async () => {
  server = await startServer({ set: { 'http.max_body': MAX_BODY } });
});
after(async () => {
  await server?.stop();
});

test('case files are well-formed and numbered uniquely', () => {
  const all = fs.readdirSync(CASES_DIR).filter((f) => f.endsWith('.json'));
  assert.deepEqual(all.sort(), files, 'every .json file in cases/ is named NNNN-short-name.json');
  const numbers = files.map((f) => f.slice(0, 4));
  assert.equal(new Set(numbers).size, numbers.length, 'case numbers are unique');
  for (const f of files) {
    const c = JSON.parse(fs.readFileSync(path.join(CASES_DIR, f), 'utf8'));
    assert.equal(typeof c.name, 'string', `${f}: name`);
    assert.equal(typeof c.request?.path, 'string', `${f}: request.path`);
    assert.equal(typeof c.expect?.status, 'number', `${f}: expect.status`);
    const bodies = ['body', 'body_raw', 'body_base64', 'body_repeat'].filter((k) => k in c.request);
    assert.ok(bodies.length <= 1, `${f}: at most one body form, got ${bodies}`);
  }
});

function requestBody(req) {
  if ('body' in req) return Buffer.from(JSON.stringify(req.body), 'utf8');
  if ('body_raw' in req) return Buffer.from(req.body_raw, 'utf8');
  if ('body_base64' in req) return Buffer.from(req.body_base64, 'base64');
  if ('body_repeat' in req) {
    const { prefix = '', char, count, suffix = '' } = req.body_repeat;
    return Buffer.from(prefix + char.repeat(count) + suffix, 'utf8');
  }
  return null;
}

/** Sends a case's request and returns the parsed response plus any bytes after it. */
async function send(port, req) {
  const method = req.method || 'GET';
  const headers = Object.fromEntries(Object.entries(req.headers || {}).map(([k, v]) => [k.toLowerCase(), v]));
  const body = requestBody(req);
  if (body) {
    if (!('content-type' in headers)) headers['content-type'] = 'application/json';
    if (!('content-length' in headers) && !('transfer-encoding' in headers)) headers['content-length'] = String(body.length);
  }
  const lines = [`${method} ${req.path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [k, v] of Object.entries(headers)) if (v !== null) lines.push(`${k}: ${v}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8');

  const conn = openRaw(port, { headRequest: method === 'HEAD' });
  try {
    await conn.connected;
    const declared = Number(headers['content-length']);
    if (body && declared > MAX_BODY) {
      // The server must refuse an announced oversized body from the headers
      // alone. Wait for that answer before sending the body: a write into a
      // connection the server already closed would make node drop the
      // response we are waiting for (EPIPE destroys the socket).
      await conn.write(head);
      const res = await conn.response();
      await conn.write(body);
      return { res, trailing: 0 };
    }
    await conn.write(body ? Buffer.concat([head, body]) : head);
    const res = await conn.response();
    // "Connection: close" was sent: whatever follows the response is garbage.
    await conn.closed;
    return { res, trailing: conn.data().length - res.consumed };
  } finally {
    conn.destroy();
  }
}

function checkHeaders(res, expected, problems) {
  for (const [name, want] of Object.entries(expected || {})) {
    const got = res.headers[name.toLowerCase()];
    if (want === null) {
      if (got !== undefined) problems.push(`header ${name}: expected absent, got ${JSON.stringify(got)}`);
    } else if (typeof want === 'object' && want.$regex) {
      if (got === undefined || !new RegExp(want.$regex).test(got)) problems.push(`header ${name}: expected /${want.$regex}/, got ${JSON.stringify(got)}`);
    } else if (got !== want) {
      problems.push(`header ${name}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
    }
  }
}

for (const file of files) {
  const c = JSON.parse(fs.readFileSync(path.join(CASES_DIR, file), 'utf8'));
  test(`${file.replace(/\.json$/, '')}: ${c.name}`, async () => {
    let caseError = null;
    try {
      const { res, trailing } = await send(server.port, c.request);
      const problems = [];
      const e = c.expect;
      if (res.status !== e.status) problems.push(`status: expected ${e.status}, got ${res.status}`);
      checkHeaders(res, e.headers, problems);
      if ('json' in e) {
        let json;
        try {
          json = res.json();
        } catch {
          problems.push(`body is not JSON: ${JSON.stringify(res.text.slice(0, 300))}`);
        }
        if (json !== undefined) problems.push(...mismatches(json, e.json));
      }
      if ('body' in e && res.text !== e.body) problems.push(`body: expected ${JSON.stringify(e.body)}, got ${JSON.stringify(res.text.slice(0, 300))}`);
      for (const s of e.body_contains || []) {
        if (!res.text.includes(s)) problems.push(`body does not contain ${JSON.stringify(s)}`);
      }
      if (trailing > 0) problems.push(`${trailing} unexpected bytes after the response`);
      if (problems.length) {
        assert.fail(`${problems.join('\n')}\n--- response: ${res.statusLine}\n${JSON.stringify(res.headers)}\n${res.text.slice(0, 500)}`);
      }
    } catch (err) {
      caseError = err;
    }
    // Whatever the case did, the server must keep serving.
    const health = await fetch(`${server.base}/healthz`).catch((err) => err);
    if (!(health instanceof Response) || health.status !== 200) {
      const why = health instanceof Response ? `status ${health.status}` : health.message;
      assert.fail(`GET /healthz failed after this case (${why})${caseError ? `\ncase error: ${caseError.message}` : ''}\n${server.stderr().slice(-4000)}`);
    }
    await health.arrayBuffer();
    if (caseError) throw caseError;
  });
}
