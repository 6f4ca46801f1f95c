// sw.js: the service worker of the civgrid web UI. It keeps the app shell
// (the page, its modules, styles, vendored libraries, strings) so that a grid
// worker's phone opens the app, the report form and its outbox without a
// network once it has been opened with one (docs/WEB_EVENTS.md, "Offline").
//
// * The shell: network first (civgridd answers an unchanged file with 304, so
//   this costs little), the cached copy when the network fails or takes longer
//   than NETWORK_WAIT_MS. Every same-origin file it fetches is kept, so the
//   modules loaded later (the map, Leaflet) work offline too once used.
// * /api/*: never answered from a cache and never stored (sessions, events,
//   photos are personal or scoped data), except GET api/v1/routes, which is
//   public and the same for everyone (the pages ask it which features the
//   server has): network first, the last copy offline.
// * Cache names carry VERSION; activate deletes every other civgrid cache.
//   Change VERSION when the list below changes.
//
// Registered by app.js. Served like any static file (Cache-Control: no-cache),
// and browsers check it for updates at each navigation anyway. Under the CSP
// `script-src 'self'` (worker-src falls back to it) a same-origin worker is allowed.

const VERSION = 'v3';
const SHELL_CACHE = `civgrid-shell-${VERSION}`;
const API_CACHE = `civgrid-api-${VERSION}`;
const NETWORK_WAIT_MS = 4000;

// Kept at install, so that even the pages not yet opened work offline.
const SHELL = [
  './',
  'index.html',
  'style.css',
  'favicon.svg',
  'report.js',
  'app.js',
  'api.js',
  'session.js',
  'ui.js',
  'i18n.js',
  'account.js',
  'admin.js',
  'events.js',
  'kpi.js',
  'event-report.js',
  'outbox.js',
  'patrol.js',
  'report-map.js',
  'geo.js',
  'map.js',
  'map-import.js',
  'live.js',
  'qr.js',
  'vendor/preact.js',
  'vendor/preact-hooks.js',
  'vendor/htm.js',
  'vendor/leaflet.js',
  'vendor/leaflet.css',
  'vendor/qrcode-generator.js',
];

// What the app is made of, kept whenever fetched: modules, styles, pages, icons, fonts.
const SHELL_FILE = /\.(?:m?js|css|html|svg|woff2)$/;

// Public API answers that the pages need offline (no personal data).
const API_KEPT = new Set(['api/v1/routes']);

const scopeUrl = new URL(self.registration.scope);
const rel = (url) => (url.pathname.startsWith(scopeUrl.pathname) ? url.pathname.slice(scopeUrl.pathname.length) : null);
/** The cache key of a file: relative to this worker, the index as './' ('' would name sw.js). */
const keyOf = (path, search) => (path === '' ? './' : path + search);

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(SHELL_CACHE);
      // One by one: a file missing on the server must not cost the others.
      await Promise.allSettled(
        SHELL.map(async (path) => {
          const res = await fetch(path, { cache: 'no-cache' });
          if (res.ok) await cache.put(path, res);
        }),
      );
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const keep = new Set([SHELL_CACHE, API_CACHE]);
      for (const name of await caches.keys()) {
        if (name.startsWith('civgrid-') && !keep.has(name)) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

// The page tells which files it has loaded (app.js, once this worker is active): the first
// visit loads them before the worker controls it, and a module not in SHELL (one added since)
// must not be missing offline.
self.addEventListener('message', (event) => {
  const urls = event.data?.type === 'keep' && Array.isArray(event.data.urls) ? event.data.urls : [];
  event.waitUntil(
    (async () => {
      const cache = await caches.open(SHELL_CACHE);
      await Promise.allSettled(
        urls.slice(0, 200).map(async (u) => {
          const url = new URL(u, self.location.href);
          const path = url.origin === self.location.origin ? rel(url) : null;
          if (path === null || (path !== '' && !SHELL_FILE.test(path)) || path.startsWith('api/')) return;
          if (await cache.match(keyOf(path, url.search))) return;
          const res = await fetch(url, { cache: 'no-cache' });
          if (res.ok && res.type === 'basic') await cache.put(keyOf(path, url.search), res);
        }),
      );
    })(),
  );
});

/** The network's answer within NETWORK_WAIT_MS, else the cached copy; keeps good answers. */
async function networkFirst(request, cacheName, key) {
  const cache = await caches.open(cacheName);
  const network = fetch(request).then(async (res) => {
    if (res.ok && res.type === 'basic') await cache.put(key, res.clone());
    return res;
  });
  network.catch(() => {}); // answered from the cache meanwhile: the failure is not an error
  let timer;
  const slow = new Promise((resolve) => {
    timer = setTimeout(resolve, NETWORK_WAIT_MS, null);
  });
  try {
    const res = await Promise.race([network, slow]);
    if (res) return res;
    const cached = await cache.match(key);
    return cached ?? (await network);
  } catch (e) {
    const cached = await cache.match(key);
    if (cached) return cached;
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return; // base map tiles: the browser's own cache
  const path = rel(url);
  if (path === null) return;
  if (path.startsWith('api/') || path === 'healthz' || path === 'metrics') {
    if (API_KEPT.has(path) && !url.search) event.respondWith(networkFirst(request, API_CACHE, path));
    return; // network only: nothing personal is ever stored here
  }
  // Pages are one page (hash routes): any navigation is the app's index. Other files are
  // kept when they are the app's own kind (a same-origin tile server's images are not: the
  // cache would grow without bound).
  if (request.mode !== 'navigate' && path !== '' && !SHELL_FILE.test(path)) return;
  const key = request.mode === 'navigate' ? './' : keyOf(path, url.search);
  event.respondWith(networkFirst(request, SHELL_CACHE, key));
});
