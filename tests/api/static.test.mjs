// static.test.mjs: the web UI files served from http.web_root: content types,
// caching headers, conditional requests, security headers, and path
// traversal attempts that must never reach a file outside the web root.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { WEB_FILES, rawGet, rawRequest, startServer } from './lib/server.mjs';

let server;
before(async () => {
  server = await startServer();
  // A secret outside the web root, and a symlink to it inside: the link must not be followed.
  fs.writeFileSync(path.join(server.dir, 'secret.txt'), 'OUTSIDE-WEB-ROOT-SECRET\n');
  fs.symlinkSync(path.join(server.dir, 'secret.txt'), path.join(server.webRoot, 'link.txt'));
});
after(async () => {
  await server?.stop();
});

const get = (p, headers = {}) => fetch(server.base + p, { headers });

describe('files', () => {
  const types = [
    ['/', 'index.html', /^text\/html; charset=utf-8$/],
    ['/index.html', 'index.html', /^text\/html; charset=utf-8$/],
    ['/app.js', 'app.js', /^text\/javascript(; charset=utf-8)?$/],
    ['/style.css', 'style.css', /^text\/css(; charset=utf-8)?$/],
    ['/a.svg', 'a.svg', /^image\/svg\+xml$/],
    ['/sub/', 'sub/index.html', /^text\/html; charset=utf-8$/],
  ];
  for (const [url, file, type] of types) {
    test(`GET ${url} serves ${file} as ${type.source}`, async () => {
      const res = await get(url);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type'), type);
      assert.equal(await res.text(), WEB_FILES[file]);
      // Pages and scripts revalidate, so a deployment is picked up at once.
      assert.equal(res.headers.get('cache-control'), 'no-cache');
      assert.match(res.headers.get('etag') || '', /^"[^"]+"$/);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    });
  }

  test('HTML pages carry a Content-Security-Policy and X-Frame-Options', async () => {
    for (const url of ['/', '/index.html', '/sub/']) {
      const res = await get(url);
      await res.arrayBuffer();
      const csp = res.headers.get('content-security-policy') || '';
      assert.match(csp, /default-src 'self'/, `${url} CSP`);
      assert.match(csp, /object-src 'none'/, `${url} CSP`);
      assert.match(csp, /frame-ancestors 'none'/, `${url} CSP`);
      assert.equal(res.headers.get('x-frame-options'), 'DENY');
    }
  });

  test('HEAD sends the headers of GET without the body', async () => {
    const res = await rawRequest(server.port, `HEAD /app.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-length'], String(Buffer.byteLength(WEB_FILES['app.js'])));
    assert.match(res.headers['content-type'], /^text\/javascript/);
  });

  test('a matching If-None-Match gets 304 with no body; a stale one gets the file', async () => {
    const first = await get('/app.js');
    await first.arrayBuffer();
    const etag = first.headers.get('etag');
    assert.ok(etag, 'an ETag is sent');

    const again = await rawRequest(server.port, rawGet('/app.js', `If-None-Match: ${etag}\r\n`));
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    assert.equal(again.headers.etag, etag);
    assert.equal(again.headers['x-content-type-options'], 'nosniff');

    const stale = await get('/app.js', { 'if-none-match': '"not-the-etag"' });
    assert.equal(stale.status, 200);
    assert.equal(await stale.text(), WEB_FILES['app.js']);
  });

  test('a missing file is a 404 JSON error', async () => {
    for (const url of ['/missing.js', '/sub/missing.html', '/no/such/dir/', '/sub']) {
      const res = await get(url);
      assert.equal(res.status, 404, url);
      assert.equal(res.headers.get('content-type'), 'application/json', url);
      const body = await res.json();
      assert.equal(body.error.code, 'not_found', url);
      assert.equal(body.error.request_id, res.headers.get('x-request-id'), url);
    }
  });

  test('a symlink in the web root is not followed', async () => {
    const res = await rawRequest(server.port, rawGet('/link.txt'));
    assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}`);
    assert.ok(!res.text.includes('OUTSIDE-WEB-ROOT-SECRET'));
  });

  test('X-Content-Type-Options: nosniff is on every kind of response', async () => {
    const requests = [
      rawGet('/'),
      rawGet('/missing.css'),
      rawGet('/../etc/passwd'),
      rawGet('/api/v1/status'),
      rawGet('/api/v1/nothing'),
      'DELETE /api/v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      'OPTIONS /api/v1/client-errors HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      'POST /api/v1/client-errors HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}',
      rawGet('/metrics'),
    ];
    for (const req of requests) {
      const res = await rawRequest(server.port, req);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', `${req.split('\r\n')[0]} -> ${res.status}`);
    }
  });
});

describe('path traversal and malformed paths', () => {
  // Each must be refused with a 4xx JSON error and never return file content.
  const attempts = [
    '/../etc/passwd',
    '/../../../../../../etc/passwd',
    '/%2e%2e/etc/passwd',
    '/%2E%2E/%2E%2E/etc/passwd',
    '/sub/../../x',
    '/sub/../index.html',
    '/sub/%2e%2e/%2e%2e/etc/passwd',
    '/..%2f..%2fetc/passwd',
    '/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '/..%252f..%252fetc/passwd',
    '/.hidden',
    '/%2ehidden',
    '/sub/.',
    '/./index.html',
    '/%00',
    '/index.html%00.js',
    '/a%ff',
    '/%c0%ae%c0%ae/etc/passwd',
    '/..\\..\\etc\\passwd',
    '/sub\\index.html',
    '/%5c..%5c..%5cetc%5cpasswd',
    `/${'a/'.repeat(600)}x`,
  ];
  const forbidden = ['root:', 'HIDDEN-FILE-SECRET', 'OUTSIDE-WEB-ROOT-SECRET'];

  for (const target of attempts) {
    test(`GET ${target.length > 60 ? `${target.slice(0, 60)}...` : target} is refused`, async () => {
      const res = await rawRequest(server.port, rawGet(target));
      assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}: ${res.text.slice(0, 200)}`);
      assert.equal(res.headers['content-type'], 'application/json');
      const body = res.json();
      assert.equal(typeof body.error?.code, 'string');
      for (const s of forbidden) assert.ok(!res.text.includes(s), `response leaks ${s}`);
      // Not even a file inside the web root may be reached by a dot-segment path.
      assert.ok(!res.text.includes('<!doctype html>'), 'no page content');
    });
  }

  test('the server still serves after the attempts', async () => {
    const res = await get('/healthz');
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  });
});
