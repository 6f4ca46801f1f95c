// patrol.js: the grid worker's patrol (巡查) on the phone: start, the GPS track
// from navigator.geolocation.watchPosition, stop. Points are kept in
// localStorage (key civgrid.track) and sent in batches to
// POST api/v1/patrols/:id/points every SEND_MS, when the browser is back
// online and at stop, so that a patrol out of coverage loses nothing. Shown
// on the report page for patrol.record when the server has the patrol routes.

import { useEffect, useRef, useState } from './vendor/preact-hooks.js';
import { api } from './api.js';
import { t, formatNumber } from './i18n.js';
import { html, Icon, ErrorAlert, useLoad } from './ui.js';

const KEY = 'civgrid.track';
const SEND_MS = 15_000;
const BATCH = 500;

function readTrack() {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) ?? 'null');
    return v && typeof v === 'object' && Array.isArray(v.points) ? v : null;
  } catch {
    return null;
  }
}

function writeTrack(v) {
  try {
    if (v) localStorage.setItem(KEY, JSON.stringify(v));
    else localStorage.removeItem(KEY);
  } catch {
    /* kept in memory only */
  }
}

// Answers after which a batch is kept and sent again later: no network, the server busy or
// overloaded (5xx, 429 too_many_connections, 408), or the session over (401: the worker signs
// in again and the points go then). Any other refusal (a point outside the patrol's time, too
// old, the patrol gone) cannot get better by resending: that batch is dropped.
const retryLater = (e) =>
  e.code === 'network' || e.status === 401 || e.status === 408 || e.status === 429 || e.status >= 500;

async function sendNow() {
  let tr = readTrack();
  while (tr && tr.points.length > 0) {
    const batch = tr.points.slice(0, BATCH);
    try {
      await api(`api/v1/patrols/${tr.patrol}/points`, { method: 'POST', body: { points: batch } });
    } catch (e) {
      if (retryLater(e)) return tr.points.length;
    }
    const now = readTrack();
    if (!now || now.patrol !== tr.patrol) return 0;
    now.points = now.points.slice(batch.length);
    writeTrack(now);
    tr = now;
  }
  return 0;
}

// One send at a time: the timer, the 'online' event and the stop button may all ask at once,
// and two sends of the same kept points would each cut a batch off the list, the second
// cutting points that came in meanwhile and were never sent.
let sending = Promise.resolve(0);

/** Sends the kept points of the patrol; resolves to how many are still waiting. */
function sendPoints() {
  sending = sending.then(sendNow, sendNow);
  return sending;
}

let patrolRoutes = null;
const hasPatrolRoutes = () =>
  (patrolRoutes ??= api('api/v1/routes', { quiet: true }).then(
    (r) => (r.routes ?? []).some((x) => x.method === 'POST' && x.path === '/api/v1/patrols/:id/points'),
    () => {
      patrolRoutes = null;
      return false;
    },
  ));

export function PatrolPanel({ login }) {
  const routes = useLoad(() => hasPatrolRoutes(), []);
  const [track, setTrack] = useState(() => {
    const tr = readTrack();
    return tr && tr.login === login ? tr : null;
  });
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [waiting, setWaiting] = useState(track?.points.length ?? 0);
  const [count, setCount] = useState(0);
  const watch = useRef(null);

  const running = Boolean(track);
  useEffect(() => {
    if (!running || !navigator.geolocation) return undefined;
    watch.current = navigator.geolocation.watchPosition(
      (pos) => {
        const tr = readTrack();
        if (!tr) return;
        const c = pos.coords;
        const p = { t: Math.round(pos.timestamp || Date.now()), lon: c.longitude, lat: c.latitude };
        if (Number.isFinite(c.accuracy)) p.accuracy_m = c.accuracy;
        if (Number.isFinite(c.speed) && c.speed !== null) p.speed = c.speed;
        tr.points.push(p);
        writeTrack(tr);
        setWaiting(tr.points.length);
        setCount((n) => n + 1);
      },
      () => setError({ code: 'geolocation' }),
      { enableHighAccuracy: true, maximumAge: 5_000 },
    );
    const send = () => sendPoints().then(setWaiting);
    const id = setInterval(send, SEND_MS);
    window.addEventListener('online', send);
    send();
    return () => {
      navigator.geolocation.clearWatch(watch.current);
      clearInterval(id);
      window.removeEventListener('online', send);
    };
  }, [running]);

  if (!routes.data) return null;

  const start = async () => {
    setBusy(true);
    setError(null);
    try {
      const p = await api('api/v1/patrols', { method: 'POST', body: {} });
      const tr = { patrol: p.id, login, started_at: p.started_at, points: [] };
      writeTrack(tr);
      setTrack(tr);
      setCount(0);
      setWaiting(0);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const stop = async () => {
    setBusy(true);
    setError(null);
    try {
      const left = await sendPoints();
      if (left > 0) throw Object.assign(new Error('network'), { code: 'network' });
      await api(`api/v1/patrols/${track.patrol}/stop`, { method: 'POST', body: {} });
      writeTrack(null);
      setTrack(null);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return html`<article class="card outbox" data-testid="patrol" data-running=${String(running)} data-waiting=${waiting}>
    <h2 class="card-title"><${Icon} name="grid" />${t('patrol.title')}</h2>
    ${running
      ? html`<p data-testid="patrol-status">
          ${t('patrol.running', { id: track.patrol, n: formatNumber(count) })}
          ${waiting > 0 && html` · <span data-testid="patrol-waiting">${t('patrol.waiting', { n: formatNumber(waiting) })}</span>`}
        </p>`
      : html`<p>${t('patrol.idle')}</p>`}
    ${error &&
    (error.code === 'geolocation'
      ? html`<p class="form-error">${t('report.geo.failed')}</p>`
      : html`<${ErrorAlert} error=${error} testid="patrol-error" />`)}
    <button
      type="button"
      class=${running ? 'btn btn-small' : 'btn btn-small btn-primary'}
      disabled=${busy}
      onClick=${running ? stop : start}
      data-testid=${running ? 'patrol-stop' : 'patrol-start'}
    >
      ${running ? t('patrol.stop') : t('patrol.start')}
    </button>
  </article>`;
}
