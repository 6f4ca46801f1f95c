// outbox.js: reports made while the network is down (a grid worker on patrol
// out of coverage), kept in localStorage and sent when it is back.
//
// A report whose POST api/v1/events fails to reach the server (fetch throws:
// ApiError code "network") is queued with the login of the account that made
// it; only that account's session sends it. The queue is sent when the
// browser says it is online again (the `online` event), when the app starts
// with a session, and on demand (the "send now" button). A report the server
// refuses (a 4xx: outside every grid, an inactive class) stays in the queue
// with the server's error until the user discards it: it is never sent twice
// and never lost silently. Listeners learn every change (the queue count).

import { api } from './api.js';

const KEY = 'civgrid.outbox';
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

/** Queues the report `body` of account `login`; returns the entry. */
export function enqueue(login, body) {
  const entry = {
    id: `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
    login,
    body,
    queued_at: new Date().toISOString(),
    error: null,
  };
  write([...read(), entry]);
  return entry;
}

/** Drops the entry `id` (a refused report the user gave up). */
export function discard(id) {
  write(read().filter((e) => e.id !== id));
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
      try {
        const ev = await api('api/v1/events', { method: 'POST', body: entry.body });
        sent.push(ev);
        write(read().filter((e) => e.id !== entry.id));
      } catch (err) {
        if (err.code === 'network' || err.status >= 500 || err.code === 'unauthenticated') break;
        failed += 1;
        const error = { code: err.code, message: err.serverMessage ?? '', field: err.field ?? '', status: err.status };
        write(read().map((e) => (e.id === entry.id ? { ...e, error } : e)));
      }
    }
    if (sent.length) window.dispatchEvent(new CustomEvent(SENT_EVENT, { detail: { sent } }));
    return { sent, failed };
  })();
  return flushing.finally(() => {
    flushing = null;
  });
}
