// photos.test.mjs: photos of events over HTTP (docs/MEDIA.md) on the Zhongshan
// demo: raw image bodies (PUT and POST), the type sniffed from the bytes, the
// size cap before the body is read, one file per content, the list, the bytes
// and the thumbnail with ETag and immutable caching, EXIF (GPS, device) and
// comments removed before storing, the orientation kept and applied to the
// thumbnail, scope (a reader outside the event's grid gets 404), before/after
// photos of a self-resolved event,
// and bad input: not an image, a PNG sent as image/jpeg, too big, zero bytes,
// a wrong stage, an unknown event, JSON and multipart bodies.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';

import { addUser, makeTemplate, signIn, signInAs, startDemoServer, P_001001 } from './grid/lib.mjs';
import { openRaw, rawRequest } from './lib/server.mjs';

// ---- images built here ---------------------------------------------------------------------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (buf) => {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
const chunk = (type, data) => {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
};
/** A real RGB PNG of w x h; seed varies the pixels (and so the hash). */
function png(w, h, seed = 0) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      raw[o] = (x * 7 + seed) & 0xff;
      raw[o + 1] = (y * 5) & 0xff;
      raw[o + 2] = 128;
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
/** The header of a PNG that claims w x h (a decompression bomb's shape), with valid CRCs. */
function pngClaiming(w, h) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(Buffer.alloc(1024))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
// A 24 x 16 baseline JPEG made with libgd.
const JPEG = Buffer.from('/9j/4AAQSkZJRgABAQEAYABgAAD//gA7Q1JFQVRPUjogZ2QtanBlZyB2MS4wICh1c2luZyBJSkcgSlBFRyB2NjIpLCBxdWFsaXR5ID0gNzUK/9sAQwAIBgYHBgUIBwcHCQkICgwUDQwLCwwZEhMPFB0aHx4dGhwcICQuJyAiLCMcHCg3KSwwMTQ0NB8nOT04MjwuMzQy/9sAQwEJCQkMCwwYDQ0YMiEcITIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIy/8AAEQgAEAAYAwEiAAIRAQMRAf/EAB8AAAEFAQEBAQEBAAAAAAAAAAABAgMEBQYHCAkKC//EALUQAAIBAwMCBAMFBQQEAAABfQECAwAEEQUSITFBBhNRYQcicRQygZGhCCNCscEVUtHwJDNicoIJChYXGBkaJSYnKCkqNDU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6g4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2drh4uPk5ebn6Onq8fLz9PX29/j5+v/EAB8BAAMBAQEBAQEBAQEAAAAAAAABAgMEBQYHCAkKC//EALURAAIBAgQEAwQHBQQEAAECdwABAgMRBAUhMQYSQVEHYXETIjKBCBRCkaGxwQkjM1LwFWJy0QoWJDThJfEXGBkaJicoKSo1Njc4OTpDREVGR0hJSlNUVVZXWFlaY2RlZmdoaWpzdHV2d3h5eoKDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uLj5OXm5+jp6vLz9PX29/j5+v/aAAwDAQACEQMRAD8A8/ttE6fLWxbaJ0+WuvttE6fJWxbaJ0+Svra+aeZ5GV5ztqchbaJ0+WivRrbROnyUV5U8013PvcNnP7tan//Z', 'base64');
const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');
/**
 * JPEG with what a phone writes spliced in after its SOI: an APP1 Exif segment (big-endian
 * TIFF: Make, Model, Orientation, the GPS IFD with N 22 deg 43' 38.5") and a comment.
 */
function jpegWithExif(orientation = 1) {
  const make = Buffer.from('CivgridPhone\0');
  const model = Buffer.from('Model-X9 SN4471\0');
  const data = 8 + 54 + 30;
  const t = Buffer.alloc(data + make.length + model.length + 24);
  t.write('MM\0\x2a', 0, 'latin1');
  t.writeUInt32BE(8, 4);
  let o = 8;
  const entry = (tag, type, count, value, short = false) => {
    t.writeUInt16BE(tag, o);
    t.writeUInt16BE(type, o + 2);
    t.writeUInt32BE(count, o + 4);
    if (short) t.writeUInt16BE(value, o + 8);
    else t.writeUInt32BE(value, o + 8);
    o += 12;
  };
  t.writeUInt16BE(4, o);
  o += 2;
  entry(0x010f, 2, make.length, data);
  entry(0x0110, 2, model.length, data + make.length);
  entry(0x0112, 3, 1, orientation, true);
  entry(0x8825, 4, 1, 62);
  o += 4;
  t.writeUInt16BE(2, o);
  o += 2;
  entry(0x0001, 2, 2, 0x4e000000);
  entry(0x0002, 5, 3, data + make.length + model.length);
  make.copy(t, data);
  model.copy(t, data + make.length);
  [22, 1, 43, 1, 385, 10].forEach((v, i) => t.writeUInt32BE(v, data + make.length + model.length + 4 * i));
  const seg = (marker, body) => {
    const h = Buffer.alloc(4);
    h.writeUInt16BE(marker, 0);
    h.writeUInt16BE(body.length + 2, 2);
    return Buffer.concat([h, body]);
  };
  return Buffer.concat([
    JPEG.subarray(0, 2),
    seg(0xffe1, Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), t])),
    seg(0xfffe, Buffer.from('taken by Zhang San')),
    JPEG.subarray(2),
  ]);
}

// ---- the server ----------------------------------------------------------------------------

const MAX_PHOTO = 1_500_000;
let template, server, worker, duty, otherWorker;

before(async () => {
  template = makeTemplate();
  server = await startDemoServer(template, { 'media.max_photo': MAX_PHOTO });
  worker = await signInAs(server, 'demo.worker');
  duty = await signInAs(server, 'demo.duty');
  const o = addUser(server, 'test.photo207', { roles: 'grid_worker', scope: 'grid:442000105207002' });
  otherWorker = await signIn(server.base, o.login, o.password);
});

after(async () => {
  await server?.stop();
  template?.remove();
});

const report = async (c, extra = {}) => {
  const r = await c.post('/api/v1/events', {
    source: 'patrol',
    category: '0102',
    title: '路边暴露垃圾',
    lon: P_001001[0],
    lat: P_001001[1],
    ...extra,
  });
  assert.equal(r.status, 201, r.text);
  return r.json.id;
};
const upload = (c, id, body, type, { stage, method = 'put', headers = {} } = {}) =>
  c[method](`/api/v1/events/${id}/photos${stage ? `?stage=${stage}` : ''}`, body, {
    headers: type === undefined ? headers : { 'content-type': type, ...headers },
  });
const mediaFiles = () => {
  const dir = path.join(path.dirname(server.dbPath), 'media');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).flatMap((d) => fs.readdirSync(path.join(dir, d)).map((f) => path.join(d, f)));
};

describe('uploading, listing and serving photos', () => {
  let id;
  const photo = png(640, 480, 1);
  const hash = sha256(photo);

  before(async () => {
    id = await report(worker);
  });

  test('a raw PNG body is stored by its SHA-256 and listed with its size', async () => {
    const r = await upload(worker, id, photo, 'image/png');
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.hash, hash);
    assert.equal(r.json.type, 'image/png');
    assert.equal(r.json.stage, 'report');
    assert.equal(r.json.size, photo.length);
    assert.equal(r.json.width, 640);
    assert.equal(r.json.height, 480);
    assert.equal(r.json.by, 'demo.worker');
    assert.match(r.json.uploaded_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const l = await duty.get(`/api/v1/events/${id}/photos`);
    assert.equal(l.status, 200, l.text);
    assert.equal(l.json.photos.length, 1);
    assert.deepEqual(l.json.photos[0], r.json);
    const ev = await duty.get(`/api/v1/events/${id}`);
    const entry = ev.json.log.find((e) => e.action === 'photo');
    assert.ok(entry, 'the upload is in the event log');
    assert.equal(ev.json.state, 'reported', 'a photo does not change the state');
  });

  test('the same photo again is not stored again (200); POST and a JPEG work too', async () => {
    const again = await upload(worker, id, photo, 'image/png');
    assert.equal(again.status, 200, again.text);
    const j = await upload(worker, id, JPEG, 'image/jpeg', { method: 'post', stage: 'handling' });
    assert.equal(j.status, 201, j.text);
    assert.equal(j.json.type, 'image/jpeg');
    assert.equal(j.json.width, 24);
    assert.equal(j.json.height, 16);
    const l = await worker.get(`/api/v1/events/${id}/photos`);
    assert.deepEqual(l.json.photos.map((p) => p.stage), ['report', 'handling']);
  });

  test('the same photo on two events is one file', async () => {
    const before = mediaFiles().length;
    const other = await report(worker);
    const r = await upload(worker, other, photo, 'image/png');
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.hash, hash);
    assert.equal(mediaFiles().length, before);
    assert.equal(mediaFiles().filter((f) => f.endsWith(hash)).length, 1);
  });

  test('the bytes come back with their type, the hash as ETag, and immutable caching', async () => {
    const r = await fetch(new URL(`/api/v1/photos/${hash}`, server.base), {
      headers: { authorization: `Bearer ${duty.token}` },
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'image/png');
    assert.equal(r.headers.get('etag'), `"${hash}"`);
    assert.match(r.headers.get('cache-control'), /immutable/);
    assert.match(r.headers.get('cache-control'), /private/);
    assert.deepEqual(Buffer.from(await r.arrayBuffer()), photo);
    const again = await fetch(new URL(`/api/v1/photos/${hash}`, server.base), {
      headers: { authorization: `Bearer ${duty.token}`, 'if-none-match': `"${hash}"` },
    });
    assert.equal(again.status, 304);
  });

  test('the thumbnail is a JPEG of 320 px on the long side', async () => {
    const r = await fetch(new URL(`/api/v1/photos/${hash}/thumb`, server.base), {
      headers: { authorization: `Bearer ${worker.token}` },
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'image/jpeg');
    const b = Buffer.from(await r.arrayBuffer());
    assert.equal(b[0], 0xff);
    assert.equal(b[1], 0xd8);
    // The frame header (SOF0) holds height then width.
    const sof = b.indexOf(Buffer.from([0xff, 0xc0]));
    assert.ok(sof > 0);
    assert.equal(b.readUInt16BE(sof + 7), 320);
    assert.equal(b.readUInt16BE(sof + 5), 240);
  });

  test('a reader outside the event\'s scope gets 404 for the list, the bytes and the upload', async () => {
    assert.equal((await otherWorker.get(`/api/v1/events/${id}/photos`)).status, 404);
    assert.equal((await otherWorker.get(`/api/v1/photos/${hash}`)).status, 404);
    assert.equal((await otherWorker.get(`/api/v1/photos/${hash}/thumb`)).status, 404);
    const u = await upload(otherWorker, id, png(8, 8, 99), 'image/png');
    assert.equal(u.status, 404, u.text);
  });

  test('unknown photos and events are 404', async () => {
    assert.equal((await duty.get(`/api/v1/photos/${'0'.repeat(64)}`)).status, 404);
    assert.equal((await duty.get('/api/v1/photos/nothex')).status, 404);
    assert.equal((await duty.get('/api/v1/events/999999/photos')).status, 404);
    const u = await upload(worker, 999999, png(8, 8, 3), 'image/png');
    assert.equal(u.status, 404, u.text);
  });
});

describe('metadata is not kept (EXIF GPS, device, comments)', () => {
  const fetchPhoto = async (hash, thumb = false) => {
    const r = await fetch(new URL(`/api/v1/photos/${hash}${thumb ? '/thumb' : ''}`, server.base), {
      headers: { authorization: `Bearer ${worker.token}` },
    });
    assert.equal(r.status, 200);
    return Buffer.from(await r.arrayBuffer());
  };

  test('the original comes back without GPS, Make or Model, still a JPEG of the same size', async () => {
    const id = await report(worker);
    const body = jpegWithExif(1);
    assert.ok(body.includes('CivgridPhone'));
    const r = await upload(worker, id, body, 'image/jpeg');
    assert.equal(r.status, 201, r.text);
    assert.notEqual(r.json.hash, sha256(body), 'the hash is of the stripped bytes');
    assert.equal(r.json.width, 24);
    assert.equal(r.json.height, 16);
    const b = await fetchPhoto(r.json.hash);
    assert.equal(r.json.size, b.length);
    assert.equal(sha256(b), r.json.hash);
    for (const s of ['CivgridPhone', 'Model-X9', 'Zhang San', 'Exif', 'CREATOR']) {
      assert.ok(!b.includes(s), `${s} is gone`);
    }
    assert.ok(!b.includes(Buffer.from([0x88, 0x25])), 'no GPS IFD pointer');
    assert.deepEqual([...b.subarray(0, 3)], [0xff, 0xd8, 0xff]);
    assert.deepEqual([...b.subarray(-2)], [0xff, 0xd9]);
    // The same photo without metadata is the same file.
    const plain = await upload(worker, id, JPEG, 'image/jpeg', { stage: 'handling' });
    assert.equal(plain.status, 201, plain.text);
    assert.equal(plain.json.hash, r.json.hash);
  });

  test('orientation 6 keeps an Exif segment with that tag alone, and the thumbnail is upright', async () => {
    const id = await report(worker);
    const r = await upload(worker, id, jpegWithExif(6), 'image/jpeg');
    assert.equal(r.status, 201, r.text);
    const b = await fetchPhoto(r.json.hash);
    assert.ok(!b.includes('CivgridPhone') && !b.includes('Model-X9'));
    const exif = b.indexOf('Exif\0\0');
    assert.ok(exif > 0, 'an Exif segment for the orientation');
    assert.equal(b.readUInt16BE(exif - 2), 34);
    assert.equal(b.readUInt16BE(exif + 6 + 8), 1, 'one IFD0 entry');
    assert.equal(b.readUInt16BE(exif + 6 + 10), 0x0112);
    assert.equal(b.readUInt16BE(exif + 6 + 18), 6);
    const t = await fetchPhoto(r.json.hash, true);
    const sof = t.indexOf(Buffer.from([0xff, 0xc0]));
    assert.equal(t.readUInt16BE(sof + 5), 24, 'the thumbnail is 16 wide, 24 high');
    assert.equal(t.readUInt16BE(sof + 7), 16);
  });
});

describe('before and after photos of a self-resolved event', () => {
  test('are accepted there and refused on a normal event', async () => {
    const self = await report(worker, { kind: 'self_resolved', note: '已清理' });
    const b = await upload(worker, self, png(100, 80, 5), 'image/png', { stage: 'before' });
    assert.equal(b.status, 201, b.text);
    const a = await upload(worker, self, JPEG, 'image/jpeg', { stage: 'after' });
    assert.equal(a.status, 201, a.text);
    const l = await worker.get(`/api/v1/events/${self}/photos`);
    assert.deepEqual(l.json.photos.map((p) => p.stage), ['before', 'after']);

    const normal = await report(worker);
    const r = await upload(worker, normal, png(10, 10, 6), 'image/png', { stage: 'before' });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.field, 'stage');
    assert.match(r.json.error.message, /self-resolved/);
  });
});

describe('bad uploads', () => {
  let id;
  before(async () => {
    id = await report(worker);
  });

  const cases = [
    ['not an image', () => Buffer.from('hello, this is text'), 'image/png', {}, 400, 'invalid_input', /not a JPEG, PNG or WebP/],
    ['a PNG sent as image/jpeg', () => png(16, 16, 7), 'image/jpeg', {}, 415, 'unsupported_media_type', /image\/png but was sent as image\/jpeg/],
    ['a JPEG sent as image/webp', () => JPEG, 'image/webp', {}, 415, 'unsupported_media_type', /image\/jpeg/],
    ['an unsupported image type', () => png(16, 16, 8), 'image/gif', {}, 415, 'unsupported_media_type', /image\/jpeg, image\/png or image\/webp/],
    ['zero bytes', () => Buffer.alloc(0), 'image/png', {}, 400, 'invalid_input', /empty/],
    ['a wrong stage', () => png(16, 16, 9), 'image/png', { stage: 'selfie' }, 400, 'invalid_input', /stage/],
    ['a truncated PNG', () => png(200, 200, 10).subarray(0, 300), 'image/png', {}, 400, 'invalid_input', /truncated/],
    ['a truncated JPEG', () => JPEG.subarray(0, JPEG.length - 40), 'image/jpeg', {}, 400, 'invalid_input', /truncated/],
    ['a JPEG whose Exif segment runs past its end', () => {
      const b = jpegWithExif(6);
      b.writeUInt16BE(0xfff0, 4);
      return b;
    }, 'image/jpeg', {}, 400, 'invalid_input', /jpeg image is broken or truncated/],
    ['a side over 16,000 px', () => pngClaiming(16001, 1), 'image/png', {}, 400, 'invalid_input', /16001x1/],
    ['a decompression bomb (8,000 x 8,000)', () => pngClaiming(8000, 8000), 'image/png', {}, 400, 'invalid_input', /megapixels/],
  ];
  for (const [name, body, type, opts, status, code, msg] of cases) {
    test(`${name}: ${status} ${code}`, async () => {
      const r = await upload(worker, id, body(), type, opts);
      assert.equal(r.status, status, r.text);
      assert.equal(r.json.error.code, code);
      assert.match(r.json.error.message, msg);
    });
  }

  test('a body over media.max_photo is 413: announced, before it is read; chunked, at its end', async () => {
    const big = Buffer.alloc(MAX_PHOTO + 1, 0x41);
    const head = (framing) => `PUT /api/v1/events/${id}/photos HTTP/1.1\r\nHost: x\r\n` +
      `Authorization: Bearer ${worker.token}\r\nContent-Type: image/png\r\n${framing}Connection: close\r\n\r\n`;
    const conn = openRaw(server.port);
    await conn.connected;
    await conn.write(head(`Content-Length: ${big.length}\r\n`));
    const r = await conn.response();
    conn.destroy();
    assert.equal(r.status, 413, r.text);
    assert.equal(r.json().error.code, 'body_too_large');
    assert.match(r.json().error.message, new RegExp(`limit is ${MAX_PHOTO}`));
    const chunked = `${big.length.toString(16)}\r\n${big.toString('latin1')}\r\n0\r\n\r\n`;
    const c = await rawRequest(server.port, head('Transfer-Encoding: chunked\r\n') + chunked);
    assert.equal(c.status, 413, c.text.slice(0, 300));
    assert.equal(c.json().error.code, 'body_too_large');
  });

  test('JSON, form and multipart bodies are refused with 415 before they are read', async () => {
    for (const type of ['application/json', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded']) {
      const r = await upload(worker, id, png(16, 16, 11), type);
      assert.equal(r.status, 415, `${type}: ${r.text}`);
      assert.equal(r.json.error.code, 'unsupported_media_type');
    }
  });

  test('nothing of the refusals was attached', async () => {
    const l = await worker.get(`/api/v1/events/${id}/photos`);
    assert.deepEqual(l.json.photos, []);
  });
});
