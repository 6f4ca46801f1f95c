// map.js: 一张网, the grid map (#/map). The towns, villages and grids of the
// caller's scope drawn with Leaflet, with their names; a side panel that goes
// from the whole area down to one village and one grid; the card of a grid
// (code, kind, households, staff, duties); and, with grid.manage, the upload
// of a GeoJSON grid file, which is validated first and applied only when the
// administrator has seen the report (map-import.js).
//
// app.js loads this module only when the page is opened: Leaflet is 400 KB.
// The base map is optional: with no map.tile_url the polygons are drawn on a
// blank background. Routes: GET api/v1/map/config, GET api/v1/grids/export,
// GET api/v1/grids/:code (docs/WEB_MAP.md).

import * as L from './vendor/leaflet.js';
import { useCallback, useEffect, useMemo, useRef, useState } from './vendor/preact-hooks.js';
import { api } from './api.js';
import { t, getLang, formatNumber, formatArea, formatDate } from './i18n.js';
import { can, navigate, useSession } from './session.js';
import { html, Icon, ErrorAlert, Notice, useLoad } from './ui.js';
import { ImportButton, ImportReport, useImport } from './map-import.js';
import { bboxBounds, geometryBbox, isPolygonal, unionBbox } from './geo.js';

const LEVELS = ['city', 'town', 'village', 'grid'];
const EXPORT_LEVELS = 'town,village,grid';
const SEARCH_MAX = 30;
const STAFF_ROLES = ['leader', 'worker', 'guide'];

// Styles of the levels (Leaflet path options). Grids are filled lightly and
// take the clicks; towns and villages are outlines above them.
const STYLE = {
  town: { color: '#172554', weight: 3.5, opacity: 0.9, fill: false },
  village: { color: '#1d4ed8', weight: 2, opacity: 0.85, fill: false, dashArray: '6 4' },
  grid: { color: '#3b82f6', weight: 1, opacity: 0.9, fillColor: '#93c5fd', fillOpacity: 0.18 },
  sector: { color: '#c2410c', weight: 1.5, opacity: 0.9, fillColor: '#fdba74', fillOpacity: 0.22, dashArray: '4 3' },
};
const SELECTED = { color: '#dc2626', weight: 3, opacity: 1, fillColor: '#fca5a5', fillOpacity: 0.35 };
const FOCUSED = { town: { color: '#1e40af', weight: 5 }, village: { color: '#1e40af', weight: 3.5, dashArray: null } };
// Label font sizes (px), matching style.css, to judge whether a name fits inside its polygon.
const LABEL_PX = { town: 16, village: 14, grid: 12 };

const PANES = [
  ['cg-grids', 410],
  ['cg-divisions', 420],
  ['cg-selection', 425],
  ['cg-preview', 430],
  ['cg-labels', 435],
  ['cg-problems', 440],
];

// ---------------------------------------------------------------------------
// The divisions and grids of the export, as a tree

const LEVEL_RANK = Object.fromEntries(LEVELS.map((l, i) => [l, i]));
const byCode = (a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0);

/**
 * The export (a FeatureCollection) as a tree: items by code, each with its
 * level, name, properties, feature, children, the bbox of itself and its
 * descendants, and totals (villages, grids, households, population) of the
 * grids below it. A parent that is not in the export (outside the caller's
 * scope) is skipped: the item hangs from its nearest ancestor that is there,
 * or becomes a root.
 */
export function buildIndex(fc) {
  const items = new Map();
  for (const feature of Array.isArray(fc?.features) ? fc.features : []) {
    const p = feature?.properties;
    if (!p || typeof p.code !== 'string' || !p.code || !Object.hasOwn(LEVEL_RANK, p.level)) continue;
    if (items.has(p.code)) continue;
    items.set(p.code, {
      code: p.code,
      level: p.level,
      name: typeof p.name === 'string' && p.name ? p.name : p.code,
      parentCode: typeof p.parent === 'string' ? p.parent : null,
      props: p,
      feature,
      parent: null,
      children: [],
      ownBbox: geometryBbox(feature.geometry),
      bbox: null,
      totals: { villages: 0, grids: 0, households: 0, population: 0 },
    });
  }
  const roots = [];
  for (const it of items.values()) {
    // The declared parent, else the nearest division whose code prefixes this one.
    let parent = it.parentCode && it.parentCode !== it.code ? items.get(it.parentCode) : null;
    for (const len of [12, 9, 6]) {
      if (parent) break;
      if (it.code.length > len) parent = items.get(it.code.slice(0, len));
    }
    if (parent && LEVEL_RANK[parent.level] < LEVEL_RANK[it.level]) {
      it.parent = parent;
      parent.children.push(it);
    } else {
      roots.push(it);
    }
  }
  const finish = (it) => {
    it.children.sort(byCode);
    let bbox = it.ownBbox;
    const totals = it.totals;
    if (it.level === 'grid') {
      totals.grids = 1;
      totals.households = Number(it.props.households) || 0;
      totals.population = Number(it.props.population) || 0;
    }
    for (const c of it.children) {
      finish(c);
      bbox = unionBbox(bbox, c.bbox);
      if (c.level === 'village') totals.villages += 1;
      totals.villages += c.totals.villages;
      totals.grids += c.totals.grids;
      totals.households += c.totals.households;
      totals.population += c.totals.population;
    }
    it.bbox = bbox;
  };
  roots.sort((a, b) => LEVEL_RANK[a.level] - LEVEL_RANK[b.level] || byCode(a, b));
  const root = { code: '', level: 'root', name: '', children: roots, parent: null, bbox: null };
  root.totals = { towns: 0, villages: 0, grids: 0, households: 0, population: 0 };
  for (const r of roots) {
    finish(r);
    root.bbox = unionBbox(root.bbox, r.bbox);
    for (const k of ['villages', 'grids', 'households', 'population']) root.totals[k] += r.totals[k];
    if (r.level === 'village') root.totals.villages += 1;
  }
  const list = [...items.values()];
  const count = (level) => list.filter((it) => it.level === level).length;
  root.totals.towns = count('town');
  return { items, root, list, counts: { town: count('town'), village: count('village'), grid: count('grid') } };
}

/** The chain from the top of the tree down to `it` (without the root). */
function pathOf(it) {
  const chain = [];
  for (let x = it; x && x.level !== 'root'; x = x.parent) chain.unshift(x);
  return chain;
}

const gridStyle = (it) => (it.props.kind === 'sector' ? STYLE.sector : STYLE.grid);
const baseStyle = (it) => (it.level === 'grid' ? gridStyle(it) : STYLE[it.level] ?? STYLE.village);

// ---------------------------------------------------------------------------
// Leaflet

/** Creates the Leaflet map in `el` for config `cfg`; returns {map, tiles}. */
function createMap(el, cfg, onTileError) {
  const tiled = typeof cfg.tile_url === 'string' && cfg.tile_url !== '';
  const map = L.map(el, {
    zoomControl: false,
    attributionControl: false,
    minZoom: 3,
    maxZoom: 19,
    zoomSnap: tiled ? 1 : 0.25,
    zoomDelta: tiled ? 1 : 0.5,
    wheelPxPerZoomLevel: 90,
    boxZoom: true,
  });
  for (const [name, z] of PANES) {
    const pane = map.createPane(name);
    pane.style.zIndex = String(z);
  }
  // Names are hidden while a zoom is animated, and placed again when it ends.
  map.getPane('cg-labels').classList.add('leaflet-zoom-hide');
  L.control.zoom({ position: 'topright', zoomInTitle: t('map.zoom_in'), zoomOutTitle: t('map.zoom_out') }).addTo(map);
  L.control.scale({ position: 'bottomright', imperial: false }).addTo(map);
  const attribution = L.control.attribution({ position: 'bottomright', prefix: '<a href="https://leafletjs.com" target="_blank" rel="noopener">Leaflet</a>' });
  attribution.addTo(map);
  let tiles = null;
  if (tiled) {
    tiles = L.tileLayer(cfg.tile_url, {
      className: 'cg-tiles',
      maxZoom: 19,
      maxNativeZoom: 18,
      attribution: typeof cfg.tile_attribution === 'string' ? cfg.tile_attribution : '',
    });
    tiles.on('tileerror', onTileError);
    tiles.addTo(map);
  }
  const bb = Array.isArray(cfg.bbox) && cfg.bbox.length === 4 && cfg.bbox.every(Number.isFinite) ? cfg.bbox : null;
  if (bb) map.fitBounds(bboxBounds(bb), { animate: false });
  else map.setView([23.13, 113.26], 9, { animate: false }); // until the data says where
  return { map, tiles };
}

/**
 * Draws the items of `index` on `map`: returns {layers (code -> path), labels
 * (code -> element), updateLabels(), remove()}. `handlers.current` holds the
 * latest click and hover callbacks of the page.
 *
 * The names are plain elements in pane cg-labels, not Leaflet tooltips: a
 * tooltip measures itself each time it is placed, which for a city's 3,500
 * names made every zoom take most of a second; these are centred by CSS and
 * placed with writes only.
 */
function drawIndex(map, index, handlers) {
  const group = L.layerGroup();
  const layers = new Map();
  const order = ['grid', 'village', 'town', 'city'];
  for (const level of order) {
    for (const it of index.list) {
      if (it.level !== level || !isPolygonal(it.feature.geometry)) continue;
      const interactive = level === 'grid';
      let layer;
      try {
        layer = L.GeoJSON.geometryToLayer(it.feature, {
          ...baseStyle(it),
          pane: interactive ? 'cg-grids' : 'cg-divisions',
          interactive,
          className: `cg-${level}${it.props.kind === 'sector' ? ' cg-sector' : ''}`,
        });
      } catch {
        continue; // a geometry Leaflet cannot read: skipped, the rest is drawn
      }
      if (!(layer instanceof L.Polygon)) continue;
      if (interactive) {
        layer.on('click', (e) => {
          L.DomEvent.stopPropagation(e);
          handlers.current.onGridClick(it.code);
        });
        layer.on('mouseover', () => handlers.current.onHover(it.code, true));
        layer.on('mouseout', () => handlers.current.onHover(it.code, false));
      }
      layers.set(it.code, layer);
      group.addLayer(layer);
    }
  }
  group.addTo(map);

  const pane = map.getPane('cg-labels');
  const frag = document.createDocumentFragment();
  const labels = new Map(); // code -> {el, at}
  for (const [code, layer] of layers) {
    const it = index.items.get(code);
    layer.getElement()?.setAttribute('data-code', code);
    const el = document.createElement('div');
    el.className = `cg-label cg-label-${it.level} is-hidden`;
    el.dataset.code = code;
    el.textContent = it.name;
    frag.appendChild(el);
    let at;
    try {
      at = layer.getCenter();
    } catch {
      at = layer.getBounds().getCenter(); // a degenerate ring
    }
    labels.set(code, { el, at, epoch: -1 });
  }
  pane.appendChild(frag);

  // Only names on show are placed; a hidden one is placed when it shows (placeLabel).
  let epoch = 0; // of the layer-point origin, which changes with each zoom
  const placeLabel = (code) => {
    const entry = labels.get(code);
    if (!entry || entry.epoch === epoch) return;
    const p = map.latLngToLayerPoint(entry.at);
    entry.el.style.transform = `translate(${Math.round(p.x)}px, ${Math.round(p.y)}px) translate(-50%, -50%)`;
    entry.epoch = epoch;
  };
  const place = () => {
    epoch += 1;
    for (const [code, { el }] of labels) {
      const c = el.classList;
      if (!c.contains('is-hidden') || c.contains('is-hover') || c.contains('is-selected')) placeLabel(code);
    }
  };

  // A name shows when it fits inside its polygon at this zoom, and a parent's
  // name gives way once most of its children's names show.
  const covered = new Map(); // code -> its name, or most of its children's names, can show
  const shown = new Map(); // code -> its own name can show
  const updateLabels = () => {
    const z = map.getZoom();
    covered.clear();
    shown.clear();
    for (const level of ['grid', 'village', 'town', 'city']) {
      for (const it of index.list) {
        if (it.level !== level) continue;
        if (!layers.has(it.code) || !it.bbox) continue;
        const nw = map.project([it.bbox[3], it.bbox[0]], z);
        const se = map.project([it.bbox[1], it.bbox[2]], z);
        const w = Math.abs(se.x - nw.x);
        const h = Math.abs(se.y - nw.y);
        const px = LABEL_PX[level] ?? 14;
        const kids = it.children.filter((c) => covered.has(c.code));
        const named = kids.filter((c) => covered.get(c.code)).length;
        const kidsNamed = kids.length > 0 && named * 2 > kids.length;
        // A polygon's box is larger than the polygon: ask for some room to spare.
        const show = !kidsNamed && w * 0.75 >= [...it.name].length * px + 8 && h * 0.75 >= px * 1.6;
        covered.set(it.code, show || kidsNamed);
        shown.set(it.code, show);
      }
    }
    // Where a division's own name shows, the names inside it do not.
    const hide = (it, above) => {
      const own = !above && shown.get(it.code) === true;
      labels.get(it.code)?.el.classList.toggle('is-hidden', !own);
      for (const c of it.children) hide(c, above || own);
    };
    for (const r of index.root.children) hide(r, false);
    place();
  };
  map.on('zoomend viewreset', updateLabels);
  return {
    layers,
    labels,
    updateLabels,
    placeLabel,
    remove() {
      map.off('zoomend viewreset', updateLabels);
      for (const { el } of labels.values()) el.remove();
      group.remove();
    },
  };
}

/** Sets or clears class `cls` on the path of `code` and on its name. */
function setState(drawn, code, cls, on) {
  drawn?.layers.get(code)?.getElement()?.classList.toggle(cls, on);
  drawn?.labels.get(code)?.el.classList.toggle(cls, on);
  if (on) drawn?.placeLabel(code);
}

// ---------------------------------------------------------------------------
// Side panel: breadcrumb, search, lists, the grid card

const kindText = (p) => {
  if (p.kind === 'sector') {
    const st = p.sector_type ? t(`map.sector.${p.sector_type}`) : '';
    return st && !st.startsWith('map.sector.') ? t('map.kind.sector_of', { type: st }) : t('map.kind.sector');
  }
  return t('map.kind.territorial');
};

const levelText = (level) => t(`map.level.${level}`);

function Crumbs({ index, current, onGo }) {
  const chain = current ? pathOf(current) : [];
  return html`<nav class="map-crumbs" aria-label=${t('map.crumbs')} data-testid="map-crumbs">
    <ol>
      <li>
        <button
          type="button"
          class="crumb"
          aria-current=${chain.length === 0 ? 'location' : undefined}
          data-testid="crumb-root"
          onClick=${() => onGo('')}
        >
          ${t('map.root')}
        </button>
      </li>
      ${chain.map(
        (it, i) => html`<li>
          <button
            type="button"
            class="crumb"
            aria-current=${i === chain.length - 1 ? 'location' : undefined}
            data-testid=${`crumb-${it.code}`}
            onClick=${() => onGo(it.code)}
          >
            ${it.name}
          </button>
        </li>`,
      )}
    </ol>
  </nav>`;
}

function ItemMeta({ it }) {
  if (it.level === 'grid') {
    return html`<span class="map-item-meta">
      ${kindText(it.props)} · ${t('map.households_n', { n: formatNumber(it.totals.households) })}
    </span>`;
  }
  const parts = [];
  if (it.totals.villages) parts.push(t('map.villages_n', { n: formatNumber(it.totals.villages) }));
  parts.push(t('map.grids_n', { n: formatNumber(it.totals.grids) }));
  return html`<span class="map-item-meta">${parts.join(' · ')}</span>`;
}

function ItemList({ items, onGo, onHover, testid = 'map-list', label }) {
  if (items.length === 0) return html`<p class="map-none" data-testid=${`${testid}-empty`}>${t('map.list.empty')}</p>`;
  return html`<ul class="map-list" data-testid=${testid} aria-label=${label}>
    ${items.map(
      (it) => html`<li>
        <button
          type="button"
          class=${`map-item map-item-${it.level}`}
          data-testid=${`map-item-${it.code}`}
          data-level=${it.level}
          onClick=${() => onGo(it.code)}
          onMouseEnter=${() => onHover(it.code, true)}
          onMouseLeave=${() => onHover(it.code, false)}
          onFocus=${() => onHover(it.code, true)}
          onBlur=${() => onHover(it.code, false)}
        >
          <span class="map-item-name">
            <span class=${`level-dot level-${it.level}`} aria-hidden="true"></span>${it.name}
          </span>
          <span class="map-item-code mono">${it.code}</span>
          <${ItemMeta} it=${it} />
        </button>
      </li>`,
    )}
  </ul>`;
}

function Totals({ totals, testid = 'map-totals' }) {
  const cell = (key, n) => html`<div class="map-total">
    <span class="map-total-n" data-testid=${`${testid}-${key}`}>${formatNumber(n)}</span>
    <span class="map-total-label">${t(`map.total.${key}`)}</span>
  </div>`;
  return html`<div class="map-totals" data-testid=${testid}>
    ${totals.towns !== undefined && totals.towns > 0 && cell('towns', totals.towns)}
    ${totals.villages > 0 && cell('villages', totals.villages)} ${cell('grids', totals.grids)}
    ${cell('households', totals.households)} ${cell('population', totals.population)}
  </div>`;
}

function DivisionPanel({ index, current, onGo, onHover }) {
  // At the top, an area of one division (a town's staff) lists what is in it.
  const only = !current && index.root.children.length === 1 && index.root.children[0].children.length > 0;
  const node = current ?? (only ? index.root.children[0] : index.root);
  const title = node === index.root ? t('map.root.title') : node.name;
  const childLevel = node.children[0]?.level;
  return html`<div class="map-division" data-testid="map-division" data-code=${current?.code ?? ''}>
    <div class="map-division-head">
      <h2 class="map-panel-title">${title}</h2>
      ${node !== index.root && html`<span class="chip">${levelText(node.level)}</span>`}
      ${node !== index.root && html`<span class="mono map-division-code">${node.code}</span>`}
    </div>
    <${Totals} totals=${node.totals} />
    ${node.children.length > 0 &&
    html`<h3 class="map-list-title">${t(`map.list.${childLevel}`)} (${node.children.length})</h3>`}
    <${ItemList} items=${node.children} onGo=${onGo} onHover=${onHover} label=${title} />
  </div>`;
}

/** "113.19, 22.61" or "113.19 22.61" (lon first, as GeoJSON) as {lon, lat}, else null. */
export function parsePoint(text) {
  const m = /^\s*(-?\d{1,3}(?:\.\d+)?)\s*[,，\s]\s*(-?\d{1,3}(?:\.\d+)?)\s*$/.exec(text);
  if (!m) return null;
  const lon = Number(m[1]);
  const lat = Number(m[2]);
  return Math.abs(lon) <= 180 && Math.abs(lat) <= 180 ? { lon, lat } : null;
}

/** The grid of a point (GET api/v1/locate): {code} to go to, or {message} to show. */
async function locatePoint({ lon, lat }, crs) {
  if (Math.abs(lat) > 90) return { message: t(Math.abs(lon) <= 90 ? 'map.locate.order' : 'map.locate.range') };
  const r = await api('api/v1/locate', { query: { lon, lat, crs: crs === 'gcj02' ? 'gcj02' : undefined } });
  if (r.found && r.in_scope !== false && r.grid?.code) return { code: r.grid.code };
  if (r.found) return { message: t('map.locate.out_of_scope') };
  return { message: /swapped/.test(r.message ?? '') ? t('map.locate.swapped') : t('map.locate.none') };
}

function Search({ index, onGo, onHover, crs }) {
  const [q, setQ] = useState('');
  const [located, setLocated] = useState(null); // {busy} | {message} | {error}
  const point = useMemo(() => parsePoint(q), [q]);
  const results = useMemo(() => {
    const s = q.trim().toLowerCase();
    if (!s) return null;
    const hits = index.list.filter((it) => it.code.startsWith(s) || it.name.toLowerCase().includes(s));
    hits.sort((a, b) => LEVEL_RANK[a.level] - LEVEL_RANK[b.level] || byCode(a, b));
    return hits;
  }, [q, index]);
  const go = (code) => {
    setQ('');
    setLocated(null);
    onGo(code);
  };
  const locate = async () => {
    setLocated({ busy: true });
    try {
      const r = await locatePoint(point, crs);
      if (r.code) go(r.code);
      else setLocated({ message: r.message });
    } catch (error) {
      setLocated({ error });
    }
  };
  return html`<div class="map-search">
    <label class="sr-only" for="map-search">${t('map.search')}</label>
    <div class="map-search-box">
      <${Icon} name="search" />
      <input
        id="map-search"
        type="search"
        value=${q}
        placeholder=${t('map.search.placeholder')}
        autocomplete="off"
        data-testid="map-search"
        onInput=${(e) => {
          setQ(e.currentTarget.value);
          setLocated(null);
        }}
        onKeyDown=${(e) => {
          if (e.key === 'Enter' && point && !located?.busy) locate();
          else if (e.key === 'Enter' && results?.length) go(results[0].code);
          if (e.key === 'Escape') setQ('');
        }}
      />
    </div>
    ${point &&
    html`<div class="map-locate">
      <button type="button" class="btn btn-small" data-testid="map-locate" disabled=${Boolean(located?.busy)} onClick=${locate}>
        <${Icon} name="search" />${t('map.locate', { lon: point.lon, lat: point.lat })}
      </button>
      ${located?.message && html`<p class="map-none" role="status" data-testid="map-locate-result">${located.message}</p>`}
      ${located?.error && html`<${ErrorAlert} error=${located.error} testid="map-locate-error" />`}
    </div>`}
    ${results &&
    !point &&
    html`<div class="map-search-results" data-testid="map-search-results">
      ${results.length > SEARCH_MAX &&
      html`<p class="map-none">${t('map.search.more', { n: SEARCH_MAX, total: results.length })}</p>`}
      <${ItemList}
        items=${results.slice(0, SEARCH_MAX)}
        onGo=${go}
        onHover=${onHover}
        testid="map-search-list"
        label=${t('map.search')}
      />
    </div>`}
  </div>`;
}

function Field({ label, testid, children, mono = false }) {
  return html`<div class="field">
    <dt>${label}</dt>
    <dd class=${mono ? 'mono' : ''} data-testid=${testid}>${children}</dd>
  </div>`;
}

const dash = '—';
const named = (x) => (x && (x.name || x.code) ? `${x.name ?? ''}${x.code ? ` (${x.code})` : ''}`.trim() : dash);

function StaffList({ staff }) {
  if (!staff.length) return html`<p class="map-none" data-testid="grid-card-staff-empty">${t('map.card.staff.none')}</p>`;
  const sorted = [...staff].sort(
    (a, b) => STAFF_ROLES.indexOf(a.role) - STAFF_ROLES.indexOf(b.role) || String(a.name).localeCompare(String(b.name)),
  );
  return html`<ul class="staff-list" data-testid="grid-card-staff">
    ${sorted.map(
      (s) => html`<li class="staff" data-testid="grid-card-staff-item" data-role=${s.role}>
        <span class="staff-name">${s.name}</span>
        <span class=${`chip chip-role-${s.role}`}>${t(`map.role.${s.role}`)}</span>
        ${s.employment && html`<span class="staff-meta">${t(`map.employment.${s.employment}`)}</span>`}
        ${s.phone && html`<span class="staff-meta mono">${s.phone}</span>`}
      </li>`,
    )}
  </ul>`;
}

function GridCard({ item, onClose }) {
  const code = item.code;
  const card = useLoad((signal) => api(`api/v1/grids/${encodeURIComponent(code)}`, { signal }), [code]);
  const g = card.data && card.data.code === code ? card.data : null;
  const p = g ?? item.props;
  const staff = Array.isArray(g?.staff) ? g.staff : null;
  const counts = staff ? STAFF_ROLES.map((r) => [r, staff.filter((s) => s.role === r).length]).filter(([, n]) => n) : [];
  const duties = Array.isArray(g?.duties) ? g.duties : [];
  const admissible = Array.isArray(g?.admissible) ? g.admissible : [];
  const versions = Array.isArray(g?.versions) ? g.versions : [];
  return html`<article class="grid-card" data-testid="grid-card" data-code=${code} data-loaded=${String(Boolean(g))}>
    <div class="grid-card-head">
      <div>
        <h2 class="map-panel-title" data-testid="grid-card-name">${p.name ?? item.name}</h2>
        <p class="grid-card-code mono" data-testid="grid-card-code">${code}</p>
      </div>
      <button type="button" class="icon-btn" aria-label=${t('map.card.close')} data-testid="grid-card-close" onClick=${onClose}>
        <${Icon} name="close" />
      </button>
    </div>
    <div class="chips">
      <span class=${p.kind === 'sector' ? 'chip chip-sector' : 'chip'} data-testid="grid-card-kind">${kindText(p)}</span>
      ${p.version !== undefined && html`<span class="chip chip-plain">${t('map.card.version', { n: p.version })}</span>`}
    </div>
    ${card.error && html`<${ErrorAlert} error=${card.error} testid="grid-card-error" />`}
    <dl class="fields grid-card-fields">
      <${Field} label=${t('map.card.households')} testid="grid-card-households">${formatNumber(Number(p.households) || 0)}<//>
      <${Field} label=${t('map.card.population')} testid="grid-card-population">${formatNumber(Number(p.population) || 0)}<//>
      <${Field} label=${t('map.card.area')} testid="grid-card-area">${Number.isFinite(p.area_m2) ? formatArea(p.area_m2) : dash}<//>
      <${Field} label=${t('map.card.community')} testid="grid-card-community">
        ${g ? named(g.community) : item.parent && item.parent.level === 'village' ? named(item.parent) : dash}
      <//>
      <${Field} label=${t('map.card.town')} testid="grid-card-town">
        ${g ? named(g.town) : named(pathOf(item).find((x) => x.level === 'town'))}
      <//>
      ${g?.valid_from &&
      html`<${Field} label=${t('map.card.valid_from')} testid="grid-card-valid-from">${formatDate(new Date(g.valid_from))}<//>`}
    </dl>

    <section class="grid-card-section">
      <h3>
        ${t('map.card.staff')}
        ${counts.length > 0 &&
        html`<span class="grid-card-sub">${counts.map(([r, n]) => t('map.card.staff.count', { role: t(`map.role.${r}`), n })).join(t('map.sep.clause'))}</span>`}
      </h3>
      ${staff ? html`<${StaffList} staff=${staff} />` : !card.error && html`<p class="map-none">${t('common.loading')}</p>`}
    </section>

    ${duties.length > 0 &&
    html`<section class="grid-card-section">
      <h3>${t('map.card.duties')}</h3>
      <ol class="duty-list" data-testid="grid-card-duties">
        ${duties.map((d) => html`<li>${d.text}</li>`)}
      </ol>
    </section>`}
    ${admissible.length > 0 &&
    html`<details class="grid-card-section">
      <summary>${t('map.card.admissible', { n: admissible.length })}</summary>
      <ol class="duty-list" data-testid="grid-card-admissible">
        ${admissible.map((d) => html`<li>${d.text}</li>`)}
      </ol>
    </details>`}
    ${versions.length > 1 &&
    html`<details class="grid-card-section">
      <summary>${t('map.card.versions', { n: versions.length })}</summary>
      <ul class="version-list" data-testid="grid-card-versions">
        ${versions.map(
          (v) => html`<li>
            ${t('map.card.version_range', {
              n: v.version,
              from: v.valid_from ? formatDate(new Date(v.valid_from)) : dash,
              to: v.valid_to ? formatDate(new Date(v.valid_to)) : t('map.card.current'),
            })}
          </li>`,
        )}
      </ul>
    </details>`}
  </article>`;
}

function Legend({ importing }) {
  const row = (cls, key) => html`<li><span class=${`legend-swatch ${cls}`} aria-hidden="true"></span>${t(key)}</li>`;
  return html`<ul class="map-legend" data-testid="map-legend" aria-label=${t('map.legend')}>
    ${row('swatch-town', 'map.level.town')} ${row('swatch-village', 'map.level.village')}
    ${row('swatch-grid', 'map.kind.territorial')} ${row('swatch-sector', 'map.kind.sector')}
    ${row('swatch-selected', 'map.legend.selected')}
    ${importing &&
    html`${row('swatch-file', 'map.legend.file')} ${row('swatch-file-bad', 'map.legend.file_bad')}
    ${row('swatch-problem', 'map.legend.problem')}`}
  </ul>`;
}

// ---------------------------------------------------------------------------
// The page

function useMapConfig() {
  return useLoad((signal) => api('api/v1/map/config', { signal }), []);
}

export function MapPage({ query }) {
  const { me } = useSession();
  const manage = can(me, 'grid.manage');
  const cfgLoad = useMapConfig();
  const cfg = cfgLoad.data;
  const crs = cfg?.tile_crs === 'gcj02' ? 'gcj02' : 'wgs84';
  const dataLoad = useLoad(
    (signal) =>
      cfg
        ? api('api/v1/grids/export', { signal, query: { level: EXPORT_LEVELS, crs: crs === 'gcj02' ? 'gcj02' : undefined } })
        : Promise.resolve(null),
    [Boolean(cfg), crs],
  );
  const index = useMemo(() => (dataLoad.data ? buildIndex(dataLoad.data) : null), [dataLoad.data]);

  const code = query.get('code') ?? '';
  const current = index && code ? index.items.get(code) ?? null : null;
  const selected = current?.level === 'grid' ? current : null;

  const elRef = useRef(null);
  const mapRef = useRef(null);
  const drawnRef = useRef(null);
  const skipFit = useRef(false);
  const [tileErrors, setTileErrors] = useState(0);
  const [ready, setReady] = useState(false);
  const [drawnIndex, setDrawnIndex] = useState(null); // the index whose layers are on the map
  const [view, setView] = useState(null); // the code the map was last brought to ('' the whole area)
  const imp = useImport({ mapRef, crs, ready, onApplied: () => dataLoad.reload() });

  const go = useCallback((c) => navigate(c ? `/map?code=${encodeURIComponent(c)}` : '/map'), []);

  const handlers = useRef(null);
  handlers.current = {
    onGridClick: (c) => {
      if (c === code) return;
      skipFit.current = true; // clicked where the user is looking: select, do not move
      go(c);
    },
    onHover: (c, on) => setState(drawnRef.current, c, 'is-hover', on),
  };
  const onHover = useCallback((c, on) => handlers.current.onHover(c, on), []);

  // The Leaflet map, once the configuration says whether there is a base map.
  useEffect(() => {
    if (!cfg || !elRef.current) return undefined;
    const { map } = createMap(elRef.current, cfg, () => setTileErrors((n) => n + 1));
    mapRef.current = map;
    let frame = 0;
    const ro = new ResizeObserver(() => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => map.invalidateSize({ pan: false }));
    });
    ro.observe(elRef.current);
    setReady(true);
    return () => {
      ro.disconnect();
      cancelAnimationFrame(frame);
      setReady(false);
      mapRef.current = null;
      map.remove();
    };
  }, [cfg]);

  // Leaflet's own buttons follow the language too.
  const lang = getLang();
  useEffect(() => {
    const el = elRef.current;
    if (!ready || !el) return;
    for (const [cls, key] of [
      ['.leaflet-control-zoom-in', 'map.zoom_in'],
      ['.leaflet-control-zoom-out', 'map.zoom_out'],
    ]) {
      const b = el.querySelector(cls);
      b?.setAttribute('title', t(key));
      b?.setAttribute('aria-label', t(key));
    }
  }, [ready, lang]);

  // The data: drawn again whenever it is reloaded.
  useEffect(() => {
    const map = mapRef.current;
    if (!ready || !map || !index) return undefined;
    const drawn = drawIndex(map, index, handlers);
    drawnRef.current = drawn;
    setDrawnIndex(index);
    return () => {
      drawn.remove();
      if (drawnRef.current === drawn) drawnRef.current = null;
    };
  }, [ready, index]);

  // Go to the chosen division or grid (or the whole area), then name what fits.
  // The same place with data reloaded (after an import) keeps the view.
  const fitted = useRef({ code: null, index: null });
  useEffect(() => {
    const map = mapRef.current;
    if (!ready || !map || !index) return;
    const reloaded = fitted.current.index !== null && fitted.current.index !== index && fitted.current.code === code;
    fitted.current = { code, index };
    if (skipFit.current) {
      skipFit.current = false;
    } else if (!reloaded) {
      const bounds = bboxBounds((current ?? index.root).bbox);
      if (bounds?.isValid()) {
        map.fitBounds(bounds, { padding: [28, 28], maxZoom: current?.level === 'grid' ? 17 : 18, animate: false });
      }
    }
    drawnRef.current?.updateLabels();
    setView(code);
  }, [ready, index, code]);

  // The selected grid, or the focused division, stands out. The outline of a
  // selected grid is drawn again above the division outlines.
  useEffect(() => {
    const map = mapRef.current;
    const drawn = drawnRef.current;
    const layer = current ? drawn?.layers.get(current.code) : null;
    if (!map || !layer) return undefined;
    const grid = current.level === 'grid';
    let outline = null;
    if (grid) {
      layer.setStyle(SELECTED);
      outline = L.GeoJSON.geometryToLayer(current.feature, {
        ...SELECTED,
        fill: false,
        pane: 'cg-selection',
        interactive: false,
        className: 'cg-selection',
      }).addTo(map);
    } else if (FOCUSED[current.level]) {
      layer.setStyle(FOCUSED[current.level]);
    }
    setState(drawn, current.code, grid ? 'is-selected' : 'is-focused', true);
    return () => {
      outline?.remove();
      layer.setStyle({ dashArray: null, ...baseStyle(current) });
      setState(drawn, current.code, 'is-selected', false);
      setState(drawn, current.code, 'is-focused', false);
    };
  }, [ready, index, current]);

  const error = cfgLoad.error ?? dataLoad.error;
  const loading = !error && (!cfg || !index);
  const tiled = Boolean(cfg?.tile_url);
  const empty = index && index.list.length === 0;
  const importing = manage && imp.phase !== 'idle';

  return html`<section class="page page-map" aria-labelledby="page-title" data-testid="map-page">
    <div class="page-head">
      <div>
        <h1 id="page-title">${t('map.title')}</h1>
        <p class="page-sub" data-testid="map-summary" data-towns=${index?.counts.town} data-villages=${index?.counts.village} data-grids=${index?.counts.grid}>
          ${index
            ? t('map.summary', {
                towns: formatNumber(index.counts.town),
                villages: formatNumber(index.counts.village),
                grids: formatNumber(index.counts.grid),
              })
            : t('map.subtitle')}
        </p>
      </div>
      <div class="page-actions">
        ${manage && html`<${ImportButton} imp=${imp} />`}
      </div>
    </div>
    ${error && html`<${ErrorAlert} error=${error} testid="map-error" title=${t('map.error')} />`}
    ${code && index && !current && html`<${Notice} kind="warn" testid="map-notfound">${t('map.notfound', { code })}<//>`}
    <div class=${importing ? 'map-layout is-importing' : 'map-layout'}>
      <aside class="map-side" aria-label=${t('map.panel')} data-testid="map-side">
        ${importing && html`<${ImportReport} imp=${imp} />`}
        ${index &&
        !importing &&
        html`<${Crumbs} index=${index} current=${current} onGo=${go} />
          <${Search} index=${index} onGo=${go} onHover=${onHover} crs=${crs} />
          ${selected
            ? html`<${GridCard} key=${selected.code} item=${selected} onClose=${() => go(selected.parent?.code ?? '')} />`
            : html`<${DivisionPanel} index=${index} current=${current} onGo=${go} onHover=${onHover} />`}`}
        ${loading && html`<p class="map-none" data-testid="map-loading">${t('map.loading')}</p>`}
      </aside>
      <div
        class=${`map-wrap ${tiled ? 'is-tiled' : 'is-blank'}`}
        data-testid="map-wrap"
        data-ready=${String(Boolean(ready && index && drawnIndex === index))}
        data-tiles=${tiled ? 'on' : 'off'}
        data-view=${view ?? undefined}
      >
        <div class="cg-map" ref=${elRef} data-testid="map" role="region" aria-label=${t('map.canvas')}></div>
        <${Legend} importing=${importing} />
        ${empty &&
        html`<div class="map-overlay" data-testid="map-empty">
          <p>${t('map.empty')}</p>
          ${manage && html`<p class="map-overlay-sub">${t('map.empty.manage')}</p>`}
        </div>`}
        ${tileErrors > 0 && html`<div class="map-tile-error" role="status" data-testid="map-tile-error">${t('map.tile_error')}</div>`}
      </div>
    </div>
  </section>`;
}
