// live.js: the live map of the command center (#/command, docs/LIVE.md).
//
// The page starts from GET api/v1/live/snapshot (the open events and worker
// positions of the account's scope, and a cursor), then follows the
// Server-Sent Events of GET api/v1/live?after=<cursor>: "event" (an event
// changed: its state, tier, warning...), "position" (a worker moved or went
// on or off duty), "reset" (the stream missed too much: load the snapshot
// again). EventSource reconnects by itself with Last-Event-ID, so a dropped
// connection loses nothing; the indicator says "live" or "reconnecting".
//
// Markers are coloured by the step of the workflow and ringed by their
// warning (yellow: near due, red: overdue); closed events leave the map.
// events.js loads this module only for accounts holding live.read: Leaflet
// is 400 KB.

import * as L from './vendor/leaflet.js';
import { useEffect, useMemo, useRef, useState } from './vendor/preact-hooks.js';
import { api } from './api.js';
import { t, formatNumber, formatTime } from './i18n.js';
import { html, ErrorAlert } from './ui.js';
import { bboxBounds, geometryBbox, isPolygonal, toMapLatLng, unionBbox } from './geo.js';

const FEED_MAX = 8; // latest changes listed beside the map
const RETRY_MS = 10000; // after the stream was refused (signed out, server away)

// The steps of the workflow, each with its colour; the states in each.
export const GROUPS = [
  { key: 'new', color: '#2563eb', states: ['reported', 'accepted', 'verifying'] },
  { key: 'filed', color: '#7c3aed', states: ['filed', 'dispatched', 'return_requested'] },
  { key: 'handling', color: '#ea580c', states: ['handling', 'extension_requested', 'suspension_requested'] },
  { key: 'checking', color: '#0d9488', states: ['handled', 'checked'] },
  { key: 'suspended', color: '#6b7280', states: ['suspended'] },
];
const GROUP_OF = Object.fromEntries(GROUPS.flatMap((g) => g.states.map((s) => [s, g])));
const WARNING_RING = { red: '#dc2626', yellow: '#facc15' };

/** Leaflet path options of an event's marker. */
export function eventStyle(ev) {
  const g = GROUP_OF[ev.state] ?? GROUPS[0];
  const ring = WARNING_RING[ev.warning];
  return {
    radius: ev.warning === 'red' ? 9 : 7,
    color: ring ?? '#ffffff',
    weight: ring ? 3 : 1.5,
    fillColor: g.color,
    fillOpacity: 0.9,
    className: `cg-live-event cg-live-event-${ev.id} cg-live-${g.key}${ev.warning !== 'none' ? ` cg-live-${ev.warning}` : ''}`,
  };
}

function eventTip(ev) {
  const warn = ev.warning && ev.warning !== 'none' ? ` · ${t(`event.warning.${ev.warning}`)}` : '';
  return `#${ev.id} ${ev.title} · ${t(`event.state.${ev.state}`)}${warn} · ${ev.category}`;
}

function createLiveMap(el, cfg) {
  const map = L.map(el, { zoomControl: true, attributionControl: false, minZoom: 3, maxZoom: 19 });
  if (typeof cfg.tile_url === 'string' && cfg.tile_url) {
    L.tileLayer(cfg.tile_url, { maxZoom: 19, maxNativeZoom: 18, className: 'cg-tiles' }).addTo(map);
  }
  const bb = Array.isArray(cfg.bbox) && cfg.bbox.length === 4 && cfg.bbox.every(Number.isFinite) ? cfg.bbox : null;
  if (bb) map.fitBounds(bboxBounds(bb), { animate: false });
  else map.setView([22.52, 113.39], 10, { animate: false });
  return map;
}

/** The state of the stream and of what it drew: {events, workers} by id, and the feed. */
function useLiveData() {
  const [snap, setSnap] = useState(null);
  const [error, setError] = useState(null);
  const [status, setStatus] = useState('connecting'); // connecting, live, reconnecting, offline
  const [version, setVersion] = useState(0); // bumped at every change, to re-render
  const store = useRef({ events: new Map(), workers: new Map(), feed: [] });
  const [epoch, setEpoch] = useState(0); // a new snapshot and stream

  useEffect(() => {
    let es = null;
    let retry = 0;
    let closed = false;
    const ctl = new AbortController();
    const bump = () => setVersion((v) => v + 1);
    const note = (kind, data) => {
      const s = store.current;
      s.feed = [{ kind, data, at: Date.now() }, ...s.feed].slice(0, FEED_MAX);
    };
    api('api/v1/live/snapshot', { signal: ctl.signal }).then(
      (sn) => {
        if (closed) return;
        const s = store.current;
        s.events = new Map(sn.events.map((e) => [e.id, e]));
        s.workers = new Map(sn.workers.map((w) => [w.account_id, w]));
        setSnap(sn);
        setError(null);
        bump();
        es = new EventSource(`api/v1/live?after=${encodeURIComponent(sn.cursor)}`);
        es.onopen = () => setStatus('live');
        es.onerror = () => {
          if (closed) return;
          if (es.readyState === EventSource.CLOSED) {
            // Refused (signed out, full, server gone): start again from a snapshot later.
            setStatus('offline');
            retry = setTimeout(() => setEpoch((n) => n + 1), RETRY_MS);
          } else {
            setStatus('reconnecting');
          }
        };
        es.addEventListener('hello', () => setStatus('live'));
        es.addEventListener('event', (m) => {
          const ev = JSON.parse(m.data);
          const s2 = store.current;
          const old = s2.events.get(ev.id);
          if (old && old.version > ev.version) return; // an older message after a reconnect
          if (ev.open) s2.events.set(ev.id, ev);
          else s2.events.delete(ev.id);
          note('event', ev);
          bump();
        });
        es.addEventListener('position', (m) => {
          const w = JSON.parse(m.data);
          store.current.workers.set(w.account_id, w);
          bump();
        });
        es.addEventListener('reset', () => setEpoch((n) => n + 1));
      },
      (e) => {
        if (closed) return;
        setError(e);
        setStatus('offline');
        retry = setTimeout(() => setEpoch((n) => n + 1), RETRY_MS);
      },
    );
    return () => {
      closed = true;
      ctl.abort();
      clearTimeout(retry);
      es?.close();
    };
  }, [epoch]);
  return { snap, error, status, version, store: store.current };
}

export function LiveMap() {
  const { snap, error, status, version, store } = useLiveData();
  const cfgLoad = useLoadOnce(() => api('api/v1/map/config'));
  const cfg = cfgLoad.data;
  const crs = cfg?.tile_crs === 'gcj02' ? 'gcj02' : 'wgs84';
  const gridsLoad = useLoadOnce(
    () => (cfg ? api('api/v1/grids/export', { query: { level: 'village,grid', crs: crs === 'gcj02' ? 'gcj02' : undefined } }) : null),
    [Boolean(cfg)],
  );
  const el = useRef(null);
  const view = useRef(null); // {map, outlines, events, workers (layer groups), drawn markers by id}
  const [ready, setReady] = useState(false);

  useEffect(() => {
    if (!cfg || !el.current) return undefined;
    const map = createLiveMap(el.current, cfg);
    const v = {
      map,
      outlines: L.layerGroup().addTo(map),
      workers: L.layerGroup().addTo(map),
      events: L.layerGroup().addTo(map),
      drawnEvents: new Map(),
      drawnWorkers: new Map(),
    };
    view.current = v;
    setReady(true);
    const ro = new ResizeObserver(() => map.invalidateSize({ pan: false }));
    ro.observe(el.current);
    return () => {
      ro.disconnect();
      setReady(false);
      view.current = null;
      map.remove();
    };
  }, [cfg]);

  // The grid outlines of the scope, once.
  useEffect(() => {
    const v = view.current;
    const fc = gridsLoad.data;
    if (!v || !fc) return;
    v.outlines.clearLayers();
    let bb = null;
    for (const f of Array.isArray(fc.features) ? fc.features : []) {
      if (!isPolygonal(f?.geometry)) continue;
      const village = f.properties?.level === 'village';
      L.geoJSON(f, {
        interactive: false,
        style: village
          ? { color: '#1d4ed8', weight: 2, opacity: 0.7, fill: false, dashArray: '6 4' }
          : { color: '#3b82f6', weight: 1, opacity: 0.6, fillColor: '#93c5fd', fillOpacity: 0.08 },
      }).addTo(v.outlines);
      bb = unionBbox(bb, geometryBbox(f.geometry));
    }
    const bounds = bboxBounds(bb);
    if (bounds?.isValid()) v.map.fitBounds(bounds, { padding: [16, 16], animate: false });
  }, [gridsLoad.data, ready]);

  // Markers follow the store: added, restyled, moved or removed.
  useEffect(() => {
    const v = view.current;
    if (!v) return;
    for (const [id, m] of v.drawnEvents) {
      if (!store.events.has(id)) {
        m.remove();
        v.drawnEvents.delete(id);
      }
    }
    for (const ev of store.events.values()) {
      let m = v.drawnEvents.get(ev.id);
      if (m?.cgData === ev && m.cgCrs === crs) continue; // unchanged since drawn
      const at = toMapLatLng(ev.lon, ev.lat, crs);
      if (m && m.options.className !== eventStyle(ev).className) {
        m.remove(); // Leaflet keeps a path's class: draw it again
        v.drawnEvents.delete(ev.id);
        m = null;
      }
      if (!m) {
        m = L.circleMarker(at, eventStyle(ev)).addTo(v.events);
        m.on('click', () => {
          window.location.hash = `#/events/${ev.id}`;
        });
        v.drawnEvents.set(ev.id, m);
      } else {
        m.setLatLng(at);
        m.setStyle(eventStyle(ev));
      }
      m.unbindTooltip().bindTooltip(eventTip(ev));
      m.cgData = ev;
      m.cgCrs = crs;
    }
    for (const [id, m] of v.drawnWorkers) {
      if (!store.workers.has(id)) {
        m.remove(); // not in the new snapshot (after a reset)
        v.drawnWorkers.delete(id);
      }
    }
    for (const w of store.workers.values()) {
      const drawn = v.drawnWorkers.get(w.account_id);
      if (drawn?.cgData === w && drawn.cgCrs === crs) continue;
      const at = toMapLatLng(w.lon, w.lat, crs);
      const style = {
        radius: 5,
        color: '#065f46',
        weight: 1,
        fillColor: w.on_duty ? '#10b981' : '#9ca3af',
        fillOpacity: 0.95,
        className: `cg-live-worker cg-live-worker-${w.account_id}`,
      };
      let m = v.drawnWorkers.get(w.account_id);
      if (!m) {
        m = L.circleMarker(at, style).addTo(v.workers);
        v.drawnWorkers.set(w.account_id, m);
      } else {
        m.setLatLng(at);
        m.setStyle(style);
      }
      m.unbindTooltip().bindTooltip(`${w.name} · ${t(w.on_duty ? 'live.on_duty' : 'live.off_duty')} · ${formatTime(new Date(w.at))}`);
      m.cgData = w;
      m.cgCrs = crs;
    }
  }, [version, ready, crs]);

  const counts = useMemo(() => {
    let red = 0;
    let yellow = 0;
    for (const e of store.events.values()) {
      if (e.warning === 'red') red += 1;
      else if (e.warning === 'yellow') yellow += 1;
    }
    let duty = 0;
    for (const w of store.workers.values()) if (w.on_duty) duty += 1;
    return { open: store.events.size, red, yellow, workers: store.workers.size, duty };
  }, [version]);

  return html`<section class="card live" aria-labelledby="live-title" data-testid="live-map">
    <div class="live-head">
      <h2 id="live-title">${t('live.title')}</h2>
      <span class=${`live-status live-status-${status}`} data-testid="live-status" data-state=${status} role="status">
        <span class="live-dot" aria-hidden="true"></span>${t(`live.status.${status}`)}
      </span>
      <span class="live-counts" data-testid="live-counts">
        ${t('live.counts', {
          open: formatNumber(counts.open),
          red: formatNumber(counts.red),
          yellow: formatNumber(counts.yellow),
          duty: formatNumber(counts.duty),
          workers: formatNumber(counts.workers),
        })}
      </span>
    </div>
    ${error && html`<${ErrorAlert} error=${error} testid="live-error" />`}
    ${snap?.truncated && html`<p class="live-note">${t('live.truncated', { n: formatNumber(snap.events.length) })}</p>`}
    <div class="live-body">
      <div class="live-canvas" ref=${el} data-testid="live-canvas" role="img" aria-label=${t('live.map_label')}></div>
      <aside class="live-side">
        <h3>${t('map.legend')}</h3>
        <ul class="live-legend" data-testid="live-legend">
          ${GROUPS.map(
            (g) => html`<li><span class="live-swatch" style=${`background:${g.color}`}></span>${t(`live.group.${g.key}`)}</li>`,
          )}
          <li><span class="live-swatch live-ring-yellow"></span>${t('event.warning.yellow')}</li>
          <li><span class="live-swatch live-ring-red"></span>${t('event.warning.red')}</li>
          <li><span class="live-swatch live-worker-on"></span>${t('live.on_duty')}</li>
          <li><span class="live-swatch live-worker-off"></span>${t('live.off_duty')}</li>
        </ul>
        <h3>${t('live.feed')}</h3>
        <ol class="live-feed" data-testid="live-feed">
          ${store.feed.length === 0 && html`<li class="live-feed-empty">${t('live.feed_empty')}</li>`}
          ${store.feed.map(
            (f) => html`<li data-testid="live-feed-item" data-event=${f.data.id}>
              <span class="live-feed-time">${formatTime(new Date(f.at))}</span>
              <a href=${`#/events/${f.data.id}`}>#${f.data.id} ${f.data.title}</a>
              <span class="live-feed-state">${t(`event.state.${f.data.state}`)}</span>
            </li>`,
          )}
        </ol>
      </aside>
    </div>
  </section>`;
}

/** load() once per deps (no abort: small GETs whose answer may simply be dropped). */
function useLoadOnce(load, deps = []) {
  const [state, setState] = useState({ data: null, error: null });
  useEffect(() => {
    let live = true;
    Promise.resolve(load()).then(
      (data) => live && setState({ data, error: null }),
      (error) => live && setState({ data: null, error }),
    );
    return () => {
      live = false;
    };
  }, deps);
  return state;
}
