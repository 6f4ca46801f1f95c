// report.test.mjs: browser tests of the grid worker's phone app, the report
// form (#/report) with photos and the map picker, and the offline app shell
// (web/public/sw.js), against a real civgridd with the Zhongshan demo:
//
//   * a worker reports with two photos (a PNG made here, a JPEG made by the
//     browser's canvas) at a point picked on the map, which starts at the GPS
//     fix; the event page shows both photos, the API has them at stage report;
//   * the map says which grid the point lies in, and warns outside the
//     worker's grids and outside every grid; a denied GPS says so;
//   * a self-resolved report carries a before and an after photo;
//   * files that are not images, or too big, are refused in the browser;
//   * offline (context.setOffline), a report with a photo is queued (the Blob
//     in IndexedDB); the page reloaded offline opens from the service worker
//     with the queue; online again, the report and its photo arrive, once.
//
// Run with `make test-web` (or: CIVGRIDD=build/civgridd node --test tests/web/report.test.mjs).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { LAUNCH, callApi, chromium, loadDemo, signedInContext, startServer } from './server.mjs';

const PASSWORD = 'Grid-Worker-2026';
const GRID = '442000105001001';
const POINT = { lon: 113.160803, lat: 22.637102 }; // inside GRID
const PHONE = { width: 390, height: 844 };

const USERS = {
  worker: { login: 'worker.phone', name: '网格员陈华', roles: 'grid_worker', scope: `grid:${GRID}` },
  duty: { login: 'duty.phone', name: '古镇值班员', roles: 'duty_officer', scope: 'grid:442000105' },
};

let server;
let browser;
const tokens = {};

async function tokenOf(who) {
  if (tokens[who]) return tokens[who];
  const res = await callApi(server.url, 'POST', 'api/v1/auth/login', { body: { login: USERS[who].login, password: PASSWORD } });
  assert.equal(res.status, 200, JSON.stringify(res.data));
  tokens[who] = res.data.token;
  return tokens[who];
}

async function apiAs(who, path) {
  const res = await callApi(server.url, 'GET', path, { token: await tokenOf(who) });
  assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.data)}`);
  return res.data;
}

/** The worker's events with `title`, as the API lists them. */
const eventsTitled = async (title) => (await apiAs('worker', 'api/v1/events?limit=100')).events.filter((e) => e.title === title);

// ---------------------------------------------------------------------------
// Images made here: a PNG written byte by byte (signature, IHDR, IDAT, IEND with CRCs)

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A w x h RGB PNG with a colour gradient (so that two of them differ by `seed`). */
function makePng(w, h, seed = 0) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y += 1) {
    raw[y * (w * 3 + 1)] = 0; // filter: none
    for (let x = 0; x < w; x += 1) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      raw[o] = (x * 255) / w;
      raw[o + 1] = (y * 255) / h;
      raw[o + 2] = (seed * 70) % 256;
    }
  }
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([sig, chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** A JPEG drawn and encoded by the browser's canvas. */
async function makeJpeg(page, w, h, colour) {
  const b64 = await page.evaluate(
    async ({ w, h, colour }) => {
      const c = new OffscreenCanvas(w, h);
      const g = c.getContext('2d');
      g.fillStyle = colour;
      g.fillRect(0, 0, w, h);
      g.fillStyle = '#fff';
      g.fillRect(w / 4, h / 4, w / 2, h / 2);
      const bytes = new Uint8Array(await (await c.convertToBlob({ type: 'image/jpeg', quality: 0.9 })).arrayBuffer());
      let s = '';
      for (const b of bytes) s += String.fromCharCode(b);
      return btoa(s);
    },
    { w, h, colour },
  );
  const buf = Buffer.from(b64, 'base64');
  assert.deepEqual([...buf.subarray(0, 3)], [0xff, 0xd8, 0xff], 'a JPEG');
  return buf;
}

const MAX_PHOTO = 2 * 1024 * 1024; // media.max_photo of this file's server

// ---------------------------------------------------------------------------

before(async () => {
  // A photo limit below the default: the form must take the server's own (GET /api/v1/status).
  [server, browser] = await Promise.all([
    startServer({ prepare: loadDemo, settings: { 'media.max_photo': MAX_PHOTO } }),
    chromium.launch(LAUNCH),
  ]);
  for (const u of Object.values(USERS)) await server.addUser({ ...u, password: PASSWORD });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A signed-in phone-sized context of `who`; fails on uncaught script errors. */
function session(who, { geolocation } = {}) {
  return signedInContext(browser, server.url, USERS[who].login, PASSWORD, { viewport: PHONE, geolocation, name: who });
}

/** Waits until the form holds the GPS fix (the context's geolocation, POINT). */
const gpsFix = (page) =>
  page.waitForFunction((lon) => document.querySelector('[data-testid="report-lon"]')?.value === lon, POINT.lon.toFixed(6));

async function openForm(page) {
  await page.goto('/#/report');
  await page.getByTestId('report-page').waitFor();
  await page.locator('[data-testid="report-category"] option[value="event:0102"]').waitFor({ state: 'attached' });
  await page.getByTestId('report-category').selectOption('event:0102');
}

/** The map's message about the point: {state, grid}. */
async function placeOf(page, state) {
  const el = page.locator(`[data-testid="report-map-place"][data-state="${state}"]`);
  await el.waitFor();
  return { state, grid: await el.getAttribute('data-grid'), text: await el.innerText() };
}

/**
 * Screen coordinates of a point inside the drawn outline of the worker's grid,
 * inside the map and at least 40 px from the marker.
 */
function pointInGrid(page) {
  return page.evaluate(() => {
    const path = document.querySelector('path.cg-pick-grid');
    const canvas = document.querySelector('[data-testid="report-map-canvas"]').getBoundingClientRect();
    const marker = document.querySelector('.cg-pick-marker').getBoundingClientRect();
    const mx = marker.x + marker.width / 2;
    const my = marker.y + marker.height / 2;
    const box = path.getBBox();
    const ctm = path.getScreenCTM();
    const steps = 16;
    for (let i = 1; i < steps; i += 1) {
      for (let j = 1; j < steps; j += 1) {
        const p = new DOMPoint(box.x + (box.width * i) / steps, box.y + (box.height * j) / steps);
        if (!path.isPointInFill(p)) continue;
        const s = p.matrixTransform(ctm);
        const inside = s.x > canvas.left + 50 && s.x < canvas.right - 50 && s.y > canvas.top + 20 && s.y < canvas.bottom - 30;
        if (inside && Math.hypot(s.x - mx, s.y - my) > 40) return { x: s.x, y: s.y };
      }
    }
    return null;
  });
}

/** A point inside a grid of the town other than GRID, found with the duty officer's API. */
async function pointInOtherGrid() {
  const fc = await apiAs('duty', 'api/v1/grids/export?level=grid');
  for (const f of fc.features) {
    if (f.properties.code === GRID) continue;
    const ring = f.geometry.type === 'Polygon' ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
    const xs = ring.map((c) => c[0]);
    const ys = ring.map((c) => c[1]);
    const lon = (Math.min(...xs) + Math.max(...xs)) / 2;
    const lat = (Math.min(...ys) + Math.max(...ys)) / 2;
    const r = await apiAs('duty', `api/v1/locate?lon=${lon}&lat=${lat}`);
    if (r.found && r.grid.code !== GRID) return { lon: Number(lon.toFixed(6)), lat: Number(lat.toFixed(6)), grid: r.grid.code };
  }
  throw new Error('no other grid found');
}

describe('the report form on the phone', () => {
  test('a worker reports with two photos at a point picked on the map; the event shows them', async () => {
    const worker = await session('worker', { geolocation: { longitude: POINT.lon, latitude: POINT.lat } });
    try {
      const w = worker.page;
      await openForm(w);
      // The point starts at the GPS fix, and the map says it is in the worker's grid.
      await gpsFix(w);
      assert.equal(await w.getByTestId('report-lat').inputValue(), POINT.lat.toFixed(6));
      await w.locator('[data-testid="report-map-canvas"][data-ready="true"]').waitFor();
      assert.equal((await placeOf(w, 'in')).grid, GRID);
      assert.equal(await w.locator('path.cg-pick-grid').count(), 1, "the worker's one grid is drawn");

      // A tap inside the grid, away from the marker, moves the point there.
      await w.getByTestId('report-map-canvas').scrollIntoViewIfNeeded();
      const spot = await pointInGrid(w);
      assert.ok(spot, 'a point of the grid is on screen');
      await w.mouse.click(spot.x, spot.y);
      await w.waitForFunction((lon) => document.querySelector('[data-testid="report-lon"]').value !== lon, POINT.lon.toFixed(6));
      const picked = { lon: Number(await w.getByTestId('report-lon').inputValue()), lat: Number(await w.getByTestId('report-lat').inputValue()) };
      assert.ok(Math.hypot(picked.lon - POINT.lon, picked.lat - POINT.lat) > 1e-5, 'the point moved');
      assert.equal((await placeOf(w, 'in')).grid, GRID);

      // Two photos: a PNG and a JPEG, with thumbnails.
      const png = makePng(64, 48, 1);
      const jpeg = await makeJpeg(w, 80, 60, '#c0392b');
      // From the gallery (the other button opens the camera: `capture`).
      assert.equal(await w.getByTestId('report-photo-input-report').getAttribute('capture'), 'environment');
      assert.equal(await w.getByTestId('report-photo-pick-report').getAttribute('capture'), null);
      await w.getByTestId('report-photo-pick-report').setInputFiles([
        { name: '垃圾1.png', mimeType: 'image/png', buffer: png },
        { name: '垃圾2.jpg', mimeType: 'image/jpeg', buffer: jpeg },
      ]);
      await w.locator('[data-testid="report-photos-report"][data-count="2"]').waitFor();
      assert.equal(await w.getByTestId('report-thumb').count(), 2);
      await w.getByTestId('report-title').fill('带照片的暴露垃圾');
      await w.getByTestId('report-submit').click();
      const done = w.getByTestId('report-done');
      await done.waitFor();
      assert.equal(await w.getByTestId('report-photos-sent').getAttribute('data-count'), '2');
      const id = Number(await done.getAttribute('data-id'));

      // The event is where the map put it, with both photos.
      const ev = await apiAs('worker', `api/v1/events/${id}`);
      assert.equal(ev.grid, GRID);
      assert.ok(Math.abs(ev.lon - picked.lon) < 1e-6 && Math.abs(ev.lat - picked.lat) < 1e-6, JSON.stringify([ev.lon, ev.lat, picked]));
      const photos = (await apiAs('worker', `api/v1/events/${id}/photos`)).photos;
      assert.deepEqual(photos.map((p) => [p.stage, p.type, p.width, p.height]).sort(), [
        ['report', 'image/jpeg', 80, 60],
        ['report', 'image/png', 64, 48],
      ]);
      assert.deepEqual(photos.map((p) => p.size).sort(), [jpeg.length, png.length].sort((a, b) => a - b));

      await w.getByTestId('report-open').click();
      const shown = w.getByTestId('event-photos');
      await shown.waitFor();
      await w.waitForFunction(() => {
        const imgs = [...document.querySelectorAll('[data-testid="event-photos"] img')];
        return imgs.length === 2 && imgs.every((i) => i.complete && i.naturalWidth > 0);
      });
    } finally {
      await worker.close();
    }
  });

  test('the map warns outside the worker\'s grids and outside every grid; a denied GPS says so', async () => {
    const worker = await session('worker'); // no geolocation permission
    try {
      const w = worker.page;
      await openForm(w);
      await w.getByTestId('report-geo-error').waitFor();
      assert.match(await w.getByTestId('report-geo-error').innerText(), /定位权限/);
      await w.locator('[data-testid="report-map-canvas"][data-ready="true"]').waitFor();
      const other = await pointInOtherGrid();
      await w.getByTestId('report-lon').fill(String(other.lon));
      await w.getByTestId('report-lat').fill(String(other.lat));
      assert.match((await placeOf(w, 'foreign')).text, /不在您负责的网格内/);
      await w.getByTestId('report-lon').fill('113.9');
      await w.getByTestId('report-lat').fill('23.9');
      assert.match((await placeOf(w, 'outside')).text, /不在任何网格内/);
      await w.getByTestId('report-lon').fill(String(POINT.lon));
      await w.getByTestId('report-lat').fill(String(POINT.lat));
      assert.equal((await placeOf(w, 'in')).grid, GRID);
    } finally {
      await worker.close();
    }
  });

  test('a self-resolved report carries a photo before and one after', async () => {
    const worker = await session('worker', { geolocation: { longitude: POINT.lon, latitude: POINT.lat } });
    try {
      const w = worker.page;
      await openForm(w);
      await gpsFix(w);
      await w.getByTestId('report-title').fill('自行处置的暴露垃圾');
      await w.getByTestId('report-kind-self_resolved').check();
      await w.getByTestId('report-note').fill('已清理');
      await w.getByTestId('report-photo-input-before').setInputFiles({ name: 'before.png', mimeType: 'image/png', buffer: makePng(40, 30, 2) });
      await w.getByTestId('report-photo-input-after').setInputFiles({ name: 'after.png', mimeType: 'image/png', buffer: makePng(40, 30, 3) });
      await w.locator('[data-testid="report-photos-before"][data-count="1"]').waitFor();
      await w.locator('[data-testid="report-photos-after"][data-count="1"]').waitFor();
      await w.getByTestId('report-submit').click();
      const done = w.getByTestId('report-done');
      await done.waitFor();
      const id = Number(await done.getAttribute('data-id'));
      const photos = (await apiAs('worker', `api/v1/events/${id}/photos`)).photos;
      assert.deepEqual(photos.map((p) => p.stage).sort(), ['after', 'before']);
    } finally {
      await worker.close();
    }
  });

  test('files that are not images, or are too big, are refused before sending', async () => {
    const worker = await session('worker');
    try {
      const w = worker.page;
      await openForm(w);
      const input = w.getByTestId('report-photo-input-report');
      await input.setInputFiles({ name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('not an image at all') });
      await w.getByTestId('report-photo-error').waitFor();
      assert.match(await w.getByTestId('report-photo-error').innerText(), /notes\.png.*不是 JPEG、PNG 或 WebP/);
      // One byte over the server's limit (a file on disk: the browser reads it itself).
      assert.match(await w.getByTestId('report-photo-hint').first().innerText(), /2\.00 MB/, 'the hint says the server\'s limit');
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'civgrid-report-'));
      const big = path.join(dir, 'huge.jpg');
      const bytes = Buffer.alloc(MAX_PHOTO + 1);
      bytes.set([0xff, 0xd8, 0xff, 0xe0]);
      fs.writeFileSync(big, bytes);
      try {
        await input.setInputFiles(big);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
      await w.locator('[data-testid="report-photo-error"]', { hasText: 'huge.jpg' }).waitFor();
      assert.match(await w.getByTestId('report-photo-error').innerText(), /2\.00 MB/);
      // A truncated PNG (signature only) cannot be decoded.
      await input.setInputFiles({ name: 'cut.png', mimeType: 'image/png', buffer: makePng(20, 20).subarray(0, 40) });
      await w.locator('[data-testid="report-photo-error"]', { hasText: 'cut.png' }).waitFor();
      assert.equal(await w.getByTestId('report-photos-report').getAttribute('data-count'), '0');
    } finally {
      await worker.close();
    }
  });
});

describe('offline', () => {
  test('a report with a photo is queued offline, the app reopens offline, and both arrive once online', async () => {
    const worker = await session('worker', { geolocation: { longitude: POINT.lon, latitude: POINT.lat } });
    try {
      const w = worker.page;
      await openForm(w);
      // The service worker is in control and holds the shell, and no API answer but the routes.
      // Installing fetches the whole shell: longer than one page step on a loaded machine.
      await w.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000 });
      const cached = await w.evaluate(async () => {
        const out = {};
        for (const name of await caches.keys()) {
          out[name] = (await (await caches.open(name)).keys()).map((r) => new URL(r.url).pathname);
        }
        return out;
      });
      const names = Object.keys(cached);
      assert.equal(names.filter((n) => n.startsWith('civgrid-shell-')).length, 1, names.join());
      const shell = cached[names.find((n) => n.startsWith('civgrid-shell-'))];
      for (const p of ['/', '/app.js', '/event-report.js', '/outbox.js', '/report-map.js', '/vendor/leaflet.js', '/style.css', '/i18n.js', '/live.js']) {
        assert.ok(shell.includes(p), `${p} is cached: ${shell.join(' ')}`);
      }
      const api = Object.values(cached).flat().filter((p) => p.startsWith('/api/'));
      assert.deepEqual([...new Set(api)].filter((p) => p !== '/api/v1/routes'), [], 'no API answer is cached');

      // A file the page names to the worker is kept too (how the files of the first visit,
      // loaded before the worker was there, and modules not in its list are kept).
      await w.evaluate(async () => {
        const reg = await navigator.serviceWorker.ready;
        reg.active.postMessage({ type: 'keep', urls: ['vendor/LICENSE-htm.txt', 'vendor/htm.js?v=2', 'api/v1/auth/me'] });
      });
      await w.waitForFunction(async () => Boolean(await caches.match('vendor/htm.js?v=2')), null, { timeout: 15_000 });
      assert.equal(await w.evaluate(async () => Boolean(await caches.match('vendor/LICENSE-htm.txt'))), false, 'only app files');
      assert.equal(await w.evaluate(async () => Boolean(await caches.match('api/v1/auth/me'))), false, 'but never an API answer');

      await gpsFix(w);
      await worker.context.setOffline(true);
      await w.getByTestId('report-title').fill('离线带照片的上报');
      const png = makePng(50, 50, 4);
      await w.getByTestId('report-photo-input-report').setInputFiles({ name: '离线.png', mimeType: 'image/png', buffer: png });
      await w.locator('[data-testid="report-photos-report"][data-count="1"]').waitFor();
      await w.getByTestId('report-submit').click();
      await w.getByTestId('report-queued').waitFor();
      await w.locator('[data-testid="outbox"][data-count="1"]').waitFor();
      assert.match(await w.getByTestId('outbox-photos').innerText(), /1 张照片/);
      // The photo waits in IndexedDB as a Blob of its bytes.
      const kept = await w.evaluate(
        () =>
          new Promise((resolve, reject) => {
            const req = indexedDB.open('civgrid-outbox');
            req.onerror = () => reject(req.error);
            req.onsuccess = () => {
              const all = req.result.transaction('photos').objectStore('photos').getAll();
              all.onsuccess = () => resolve(all.result.map((r) => ({ blob: r.blob instanceof Blob, size: r.blob.size })));
              all.onerror = () => reject(all.error);
            };
          }),
      );
      assert.deepEqual(kept, [{ blob: true, size: png.length }]);
      assert.equal((await eventsTitled('离线带照片的上报')).length, 0, 'nothing reached the server');

      // Reloaded without a network: the shell comes from the service worker's cache (its own
      // fetches fail too: a file it has not kept cannot be had), the queue is there.
      assert.equal(await w.evaluate(() => fetch('style.css?not-kept').then(() => 'fetched', () => 'failed')), 'failed');
      const res = await w.reload();
      assert.ok(res.fromServiceWorker(), 'the page came from the service worker');
      await w.getByTestId('report-page').waitFor();
      await w.getByTestId('session-offline').waitFor();
      await w.locator('[data-testid="outbox"][data-count="1"]').waitFor();
      await w.locator('[data-testid="report-category"] option[value="event:0102"]').waitFor({ state: 'attached' });

      // Back online: the report, then its photo.
      await worker.context.setOffline(false);
      await w.getByTestId('outbox-sent').waitFor();
      await w.getByTestId('outbox').waitFor({ state: 'detached' });
      const evs = await eventsTitled('离线带照片的上报');
      assert.equal(evs.length, 1, `sent once: ${JSON.stringify(evs.map((e) => [e.id, e.created_at]))}`);
      const photos = (await apiAs('worker', `api/v1/events/${evs[0].id}/photos`)).photos;
      assert.deepEqual(photos.map((p) => [p.stage, p.type, p.size, p.width]), [['report', 'image/png', png.length, 50]]);
      await w.waitForFunction(
        () =>
          new Promise((resolve) => {
            const req = indexedDB.open('civgrid-outbox');
            req.onsuccess = () => {
              const n = req.result.transaction('photos').objectStore('photos').count();
              n.onsuccess = () => resolve(n.result === 0);
            };
          }),
      );
    } finally {
      await worker.context.setOffline(false);
      await worker.close();
    }
  });
});
