// report-map.js: the map of the report form (#/report), loaded with Leaflet
// the first time the form is opened by an account that may read the map
// (grid.read: grid workers and staff; citizens have the GPS button and the
// coordinate fields only).
//
// The point is a draggable marker; a tap on the map moves it there. The
// account's grids are drawn as outlines, and the grid the point falls in is
// asked from GET api/v1/locate, which also says when it lies outside the
// account's grids. Offline the map still works: the base map settings and
// the outlines of the last online visit are kept in localStorage (grid
// outlines only, no personal data), the grid is then found in the browser
// from those outlines and labelled as such, and there are no tiles.
//
// The form's coordinates are WGS-84 (the API's). On a GCJ-02 base map
// (map.tile_crs) the marker is drawn shifted and moved back when dragged.

import * as L from './vendor/leaflet.js';
import { useEffect, useRef, useState } from './vendor/preact-hooks.js';
import { api } from './api.js';
import { t } from './i18n.js';
import { html } from './ui.js';
import { bboxBounds, geometryBbox, isPolygonal, unionBbox, wgs84ToGcj02 } from './geo.js';

const CACHE_KEY = 'civgrid.report.map';
const CACHE_MAX = 512 * 1024; // characters of outlines kept for offline use
const LOCATE_DELAY_MS = 300;

/** GCJ-02 to WGS-84 by fixed-point iteration of the forward formula (error well under 1 m). */
function gcj02ToWgs84(lon, lat) {
  let x = lon;
  let y = lat;
  for (let i = 0; i < 6; i += 1) {
    const [gx, gy] = wgs84ToGcj02(x, y);
    x -= gx - lon;
    y -= gy - lat;
  }
  return [x, y];
}

/** Is [x, y] inside the ring (ray casting)? */
function inRing(x, y, ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Is [x, y] inside a GeoJSON Polygon or MultiPolygon (holes excluded)? */
function inGeometry(x, y, g) {
  const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  return polys.some((rings) => Array.isArray(rings) && rings.length > 0 && inRing(x, y, rings[0]) && !rings.slice(1).some((h) => inRing(x, y, h)));
}

function readCache(login) {
  try {
    const c = JSON.parse(localStorage.getItem(CACHE_KEY) ?? 'null');
    return c && c.login === login ? c : null;
  } catch {
    return null;
  }
}

function writeCache(login, cfg, grids) {
  try {
    const s = JSON.stringify({ login, cfg, grids });
    if (s.length <= CACHE_MAX) localStorage.setItem(CACHE_KEY, s);
    else localStorage.removeItem(CACHE_KEY);
  } catch {
    /* not kept: offline, the map has no outlines */
  }
}

/** The base map settings and the account's grid outlines: from the server, else the last ones kept. */
async function loadMapData(login, signal) {
  try {
    const cfg = await api('api/v1/map/config', { signal });
    const crs = cfg.tile_crs === 'gcj02' ? 'gcj02' : undefined;
    const fc = await api('api/v1/grids/export', { signal, query: { level: 'grid', crs } });
    const grids = (Array.isArray(fc?.features) ? fc.features : [])
      .filter((f) => isPolygonal(f?.geometry) && typeof f.properties?.code === 'string')
      .map((f) => ({ code: f.properties.code, name: f.properties.name || f.properties.code, geometry: f.geometry }));
    const data = { cfg: { tile_url: cfg.tile_url ?? '', tile_attribution: cfg.tile_attribution ?? '', tile_crs: cfg.tile_crs ?? '', bbox: cfg.bbox ?? null }, grids };
    writeCache(login, data.cfg, grids);
    return { ...data, offline: false };
  } catch (e) {
    if (signal.aborted) throw e;
    const c = readCache(login);
    if (e.code !== 'network') throw e;
    return { cfg: c?.cfg ?? { tile_url: '', tile_crs: '', bbox: null }, grids: c?.grids ?? [], offline: true };
  }
}

/**
 * The map picker. `lon`, `lat`: the form's values (strings, WGS-84, may be
 * empty or invalid); onPick(lon, lat) with numbers when the user moves the
 * point. `login` keys the offline copy of the outlines.
 */
export function MapPicker({ lon, lat, onPick, login }) {
  const el = useRef(null);
  const view = useRef(null); // {map, marker, crs, grids}
  const pickRef = useRef(onPick);
  pickRef.current = onPick;
  const [data, setData] = useState(null);
  const [loadError, setLoadError] = useState(null);
  const [place, setPlace] = useState({ state: 'none' });

  useEffect(() => {
    const ctl = new AbortController();
    loadMapData(login, ctl.signal).then(
      (d) => !ctl.signal.aborted && setData(d),
      (e) => !ctl.signal.aborted && setLoadError(e),
    );
    return () => ctl.abort();
  }, [login]);

  // The map, once its settings are known.
  useEffect(() => {
    if (!data || !el.current) return undefined;
    const { cfg, grids } = data;
    const crs = cfg.tile_crs === 'gcj02' ? 'gcj02' : 'wgs84';
    const map = L.map(el.current, { zoomControl: true, attributionControl: false, minZoom: 3, maxZoom: 19 });
    if (cfg.tile_url && !data.offline) {
      L.tileLayer(cfg.tile_url, { className: 'cg-tiles', maxZoom: 19, maxNativeZoom: 18 }).addTo(map);
    }
    let bbox = Array.isArray(cfg.bbox) && cfg.bbox.length === 4 ? cfg.bbox : null;
    for (const g of grids) {
      L.geoJSON(g.geometry, { interactive: false, style: { className: 'cg-pick-grid', weight: 1.5, fillOpacity: 0.08 } }).addTo(map);
      bbox = unionBbox(bbox, geometryBbox(g.geometry));
    }
    if (bbox) map.fitBounds(bboxBounds(bbox), { animate: false });
    else map.setView([23.13, 113.26], 9, { animate: false });
    const icon = L.divIcon({ className: 'cg-pick-marker', iconSize: [22, 22], iconAnchor: [11, 11] });
    const marker = L.marker(map.getCenter(), { icon, draggable: true, keyboard: false, opacity: 0 });
    marker.addTo(map);
    const picked = (ll) => {
      const [x, y] = crs === 'gcj02' ? gcj02ToWgs84(ll.lng, ll.lat) : [ll.lng, ll.lat];
      pickRef.current(Number(x.toFixed(6)), Number(y.toFixed(6)));
    };
    map.on('click', (e) => {
      marker.setLatLng(e.latlng).setOpacity(1);
      picked(e.latlng);
    });
    marker.on('dragend', () => picked(marker.getLatLng()));
    view.current = { map, marker, crs, grids, placed: false };
    return () => {
      view.current = null;
      map.remove();
    };
  }, [data]);

  // The form's point (GPS, typed, picked) on the map, and its grid.
  const x = Number(lon);
  const y = Number(lat);
  const valid = lon !== '' && lat !== '' && Number.isFinite(x) && Number.isFinite(y) && Math.abs(x) <= 180 && Math.abs(y) <= 90;
  useEffect(() => {
    const v = view.current;
    if (!v) return undefined;
    if (!valid) {
      v.marker.setOpacity(0);
      setPlace({ state: 'none' });
      return undefined;
    }
    const [mx, my] = v.crs === 'gcj02' ? wgs84ToGcj02(x, y) : [x, y];
    const ll = L.latLng(my, mx);
    const cur = v.marker.getLatLng();
    if (Math.abs(cur.lat - ll.lat) > 1e-7 || Math.abs(cur.lng - ll.lng) > 1e-7 || v.marker.options.opacity === 0) {
      v.marker.setLatLng(ll).setOpacity(1);
      if (!v.map.getBounds().contains(ll) || !v.placed) v.map.setView(ll, Math.max(v.map.getZoom(), 16), { animate: false });
    }
    v.placed = true;
    const offlinePlace = () => {
      const g = v.grids.find((it) => inGeometry(mx, my, it.geometry));
      return g ? { state: 'offline-in', code: g.code, name: g.name } : { state: v.grids.length ? 'offline-out' : 'offline-unknown' };
    };
    const ctl = new AbortController();
    const timer = setTimeout(async () => {
      setPlace({ state: 'busy' });
      try {
        const r = await api('api/v1/locate', { signal: ctl.signal, query: { lon: x, lat: y } });
        if (ctl.signal.aborted) return;
        if (!r.found) setPlace({ state: 'outside' });
        else if (!r.in_scope) setPlace({ state: 'foreign' });
        else setPlace({ state: 'in', code: r.grid.code, name: r.grid.name });
      } catch (e) {
        if (ctl.signal.aborted) return;
        setPlace(e.code === 'network' ? offlinePlace() : { state: 'error-locate' });
      }
    }, LOCATE_DELAY_MS);
    return () => {
      clearTimeout(timer);
      ctl.abort();
    };
  }, [data, valid, x, y]);

  const warn = ['outside', 'foreign', 'offline-out'].includes(place.state);
  return html`<div class="report-map" data-testid="report-map">
    <div class="report-map-canvas" ref=${el} data-testid="report-map-canvas" data-ready=${data ? 'true' : 'false'}></div>
    <p class="muted report-map-hint">${t(data?.offline ? 'report.map.hint_offline' : 'report.map.hint')}</p>
    ${loadError && html`<p class="form-error" data-testid="report-map-error">${t('report.map.error')}</p>`}
    ${place.state !== 'none' &&
    html`<p
      class=${warn ? 'form-error report-map-place' : 'report-map-place'}
      data-testid="report-map-place"
      data-state=${place.state}
      data-grid=${place.code ?? ''}
      role="status"
    >
      ${t(`report.map.${place.state}`, { name: place.name ?? '', code: place.code ?? '' })}
    </p>`}
  </div>`;
}
