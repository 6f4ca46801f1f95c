// outbox.js: reports made while the network is down (a grid worker on patrol
// out of coverage), kept on the device and sent when it is back.
//
// A report whose POST api/v1/events fails to reach the server (fetch throws:
// ApiError code "network") is queued with the login of the account that made
// it; only that account's session sends it. The queue is sent when the
// browser says it is online again (the `online` event), when the app starts
// with a session, and on demand (the "send now" button). A report the server
// refuses (a 4xx: outside every grid, an inactive class) stays in the queue
// with the server's error until the user discards it: it is never sent twice
// and never lost silently. Listeners learn every change (the queue count).
//
// Photos: the entries live in localStorage (readable by every tab, and the
// entries of older versions stay valid), but localStorage holds only strings,
// so a queued report's photos are Blobs in IndexedDB (database
// civgrid-outbox, store photos), keyed "ENTRY/N", written before the entry
// that names them. Photos are attached to an event that exists, so a queued
// report is sent first (the entry then remembers its event, so that it is
// never created twice) and its photos one by one after it; an entry leaves
// the queue once its last photo is on the server, and its Blobs with it.

import { ApiError, api, csrfToken } from './api.js';

const KEY = 'civgrid.outbox';
const DB_NAME = 'civgrid-outbox';
const STORE = 'photos';
/** Dispatched on window with detail {sent: [event]} when queued reports have been sent. */
export const SENT_EVENT = 'civgrid-outbox-sent';
const listeners = new Set();
let flushing = null;

function read() {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) ?? '[]');
    return Array.isArray(v) ? v.filter((e) => e && typeof e === 'object' && e.body) : [];
  } catch {
    return [];
  }
}

function write(list) {
  try {
    localStorage.setItem(KEY, JSON.stringify(list));
  } catch {
    /* storage full or disabled: the queue lives for this page load only */
  }
  for (const fn of listeners) fn(list);
}

const update = (id, fn) => write(read().map((e) => (e.id === id ? fn(e) : e)));

/** The queued reports of `login` (all of them without one). */
export const queued = (login) => read().filter((e) => !login || e.login === login);

/** Calls fn(list) on every change of the queue; returns the unsubscribe function. */
export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

// Another tab changed the queue.
window.addEventListener('storage', (e) => {
  if (e.key === KEY) for (const fn of listeners) fn(read());
});

// ---------------------------------------------------------------------------
// IndexedDB: the photos' Blobs

let dbPromise = null;

function openDb() {
  dbPromise ??= new Promise((resolve, reject) => {
    if (!globalThis.indexedDB) {
      reject(new Error('IndexedDB is not available'));
      return;
    }
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'key' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  }).catch((e) => {
    dbPromise = null;
    throw e;
  });
  return dbPromise;
}

/** Runs fn(store) in one transaction; resolves to the result of the last request fn made. */
async function tx(mode, fn) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const t = db.transaction(STORE, mode);
    let last = null;
    const r = fn(t.objectStore(STORE));
    if (r) last = r;
    t.oncomplete = () => resolve(last ? last.result : undefined);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error ?? new Error('transaction aborted'));
  });
}

const getBlob = (key) => tx('readonly', (s) => s.get(key)).then((r) => r?.blob ?? null);
const deleteBlobs = (keys) => (keys.length ? tx('readwrite', (s) => keys.forEach((k) => s.delete(k))) : Promise.resolve());

/**
 * Blobs whose entry is no longer queued (a write cut short, a tab closed
 * mid-way) are dropped; those of the last minute may belong to an entry that
 * another tab is about to write.
 */
async function sweep() {
  try {
    const live = new Set(read().flatMap((e) => (e.photos ?? []).map((p) => p.key)));
    const rows = await tx('readonly', (s) => s.getAll());
    const old = Date.now() - 60_000;
    await deleteBlobs((rows ?? []).filter((r) => !live.has(r.key) && !(r.at > old)).map((r) => r.key));
  } catch {
    /* no IndexedDB: nothing was kept there */
  }
}

// ---------------------------------------------------------------------------
// Queueing

const newEntryId = () => `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

/**
 * Queues the report `body` of account `login` with its `photos`
 * ([{blob, type, stage, name}]); `event` is the event already created when
 * only its photos are left to send; `id` names the entry and is the report's
 * Idempotency-Key when it is sent. Resolves to the entry; rejects when the
 * photos cannot be kept (no IndexedDB, storage full), queueing nothing.
 */
export async function enqueue(login, body, photos = [], event = null, id = newEntryId()) {
  const meta = photos.map((p, i) => ({ key: `${id}/${i}`, stage: p.stage, type: p.type, name: p.name ?? '', size: p.blob.size }));
  if (photos.length) {
    await tx('readwrite', (s) => photos.forEach((p, i) => s.put({ key: meta[i].key, login, at: Date.now(), blob: p.blob })));
    // Ask the browser not to evict them under storage pressure (a hint; may be refused).
    navigator.storage?.persist?.().catch(() => {});
  }
  const entry = { id, login, body, queued_at: new Date().toISOString(), error: null, photos: meta, event };
  write([...read(), entry]);
  return entry;
}

/** Drops the entry `id` (a refused report the user gave up) and its photos. */
export function discard(id) {
  const entry = read().find((e) => e.id === id);
  write(read().filter((e) => e.id !== id));
  deleteBlobs((entry?.photos ?? []).map((p) => p.key)).catch(() => {});
}

// ---------------------------------------------------------------------------
// Sending

/** Does this failure mean "try again later" (no network, server trouble, signed out)? */
const transient = (err) => err.code === 'network' || err.status >= 500 || err.code === 'unauthenticated';

const errorOf = (err, extra = {}) => ({ code: err.code, message: err.serverMessage ?? '', field: err.field ?? '', status: err.status, ...extra });

/**
 * Attaches one photo to event `id` (PUT api/v1/events/:id/photos, the raw
 * bytes as the body: docs/MEDIA.md). Resolves to the server's photo record;
 * rejects with ApiError like api().
 */
export async function uploadPhoto(id, stage, blob, type) {
  let res;
  try {
    res = await fetch(`api/v1/events/${encodeURIComponent(id)}/photos?stage=${encodeURIComponent(stage)}`, {
      method: 'PUT',
      headers: { Accept: 'application/json', 'Content-Type': type, 'X-CSRF-Token': csrfToken() },
      body: blob,
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError({ code: 'network' });
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    /* handled below */
  }
  if (res.ok && data && typeof data === 'object') return data;
  const e = data?.error;
  throw new ApiError({
    status: res.status,
    code: e && typeof e.code === 'string' ? e.code : res.ok ? 'format' : 'http',
    message: e && typeof e.message === 'string' ? e.message : '',
    field: e && typeof e.field === 'string' ? e.field : '',
    requestId: e && typeof e.request_id === 'string' ? e.request_id : res.headers.get('X-Request-Id') ?? '',
    body: data,
  });
}

/** The few fields of a created event that the pages show. */
const eventSummary = (ev) => ({ id: ev.id, grid: ev.grid, state: ev.state, duplicates: ev.duplicates ?? [] });

/**
 * Sends a report from the form: the event, then its photos
 * ([{blob, type, stage, name}]) in order. Resolves to
 *   {queued: entry}                   nothing reached the server: all of it is queued;
 *   {event, photoErrors, queuedPhotos} the event exists; photos the server refused
 *                                     ([{name, error}]) and the number queued because
 *                                     the network failed part-way.
 * Rejects with the ApiError of a refused report (nothing queued, nothing created).
 */
export async function submitReport(login, body, photos = []) {
  // One key for this report, also when it is queued: if the answer is lost but the report
  // arrived, sending it again answers that event instead of making a second one.
  const key = newEntryId();
  let ev;
  try {
    ev = await api('api/v1/events', { method: 'POST', body, headers: { 'Idempotency-Key': key } });
  } catch (err) {
    if (err.code !== 'network') throw err;
    return { queued: await enqueue(login, body, photos, null, key) };
  }
  const photoErrors = [];
  for (let i = 0; i < photos.length; i += 1) {
    const p = photos[i];
    try {
      await uploadPhoto(ev.id, p.stage, p.blob, p.type);
    } catch (err) {
      if (!transient(err)) {
        photoErrors.push({ name: p.name ?? '', error: err });
        continue;
      }
      const rest = photos.slice(i);
      try {
        await enqueue(login, body, rest, eventSummary(ev));
      } catch (e) {
        photoErrors.push(...rest.map((r) => ({ name: r.name ?? '', error: err })));
        return { event: ev, photoErrors, queuedPhotos: 0 };
      }
      return { event: ev, photoErrors, queuedPhotos: rest.length };
    }
  }
  return { event: ev, photoErrors, queuedPhotos: 0 };
}

/** Sends one queued entry; resolves to 'sent', 'refused' or 'later'. */
async function sendEntry(entry, sent) {
  let ev = entry.event;
  if (!ev) {
    try {
      ev = eventSummary(await api('api/v1/events', { method: 'POST', body: entry.body, headers: { 'Idempotency-Key': entry.id } }));
    } catch (err) {
      if (transient(err)) return 'later';
      update(entry.id, (e) => ({ ...e, error: errorOf(err) }));
      return 'refused';
    }
    update(entry.id, (e) => ({ ...e, event: ev }));
  }
  for (const photo of entry.photos ?? []) {
    let blob = null;
    try {
      blob = await getBlob(photo.key);
    } catch {
      blob = null;
    }
    if (!blob) {
      // Evicted by the browser or the storage was cleared: say so rather than drop it silently.
      update(entry.id, (e) => ({ ...e, error: { code: 'photo_lost', message: '', field: '', status: 0, photo: photo.name } }));
      return 'refused';
    }
    try {
      await uploadPhoto(ev.id, photo.stage, blob, photo.type);
    } catch (err) {
      if (transient(err)) return 'later';
      update(entry.id, (e) => ({ ...e, error: errorOf(err, { photo: photo.name }) }));
      return 'refused';
    }
    update(entry.id, (e) => ({ ...e, photos: (e.photos ?? []).filter((p) => p.key !== photo.key) }));
    deleteBlobs([photo.key]).catch(() => {});
  }
  write(read().filter((e) => e.id !== entry.id));
  sent.push(ev);
  return 'sent';
}

/**
 * Sends the queued reports of `login`, oldest first, until the network fails
 * again. Resolves to {sent: [event], failed: n}; one flush at a time.
 */
export function flush(login) {
  if (!login) return Promise.resolve({ sent: [], failed: 0 });
  if (flushing) return flushing;
  flushing = (async () => {
    const sent = [];
    let failed = 0;
    for (const entry of read()) {
      if (entry.login !== login || entry.error) continue;
      const r = await sendEntry(entry, sent);
      if (r === 'later') break;
      if (r === 'refused') failed += 1;
    }
    await sweep();
    if (sent.length) window.dispatchEvent(new CustomEvent(SENT_EVENT, { detail: { sent } }));
    return { sent, failed };
  })();
  return flushing.finally(() => {
    flushing = null;
  });
}
