// map-import.js: uploading a GeoJSON grid file on the map page (grid.manage).
//
// The chosen file is read in the browser and sent as it is to
// POST api/v1/grids/validate; its features are drawn over the map (dashed),
// the places of its problems as red circles, and the report (counts, what
// would change, the problems) replaces the side panel. Nothing is written
// until the administrator applies it: POST api/v1/grids/import, whole, or
// with ?partial=true without the features that have problems. A refused
// import (422 invalid_grids) carries its report and applies nothing.

import * as L from './vendor/leaflet.js';
import { useCallback, useEffect, useRef, useState } from './vendor/preact-hooks.js';
import { api } from './api.js';
import { t, has, formatNumber, formatArea, formatBytes, localizeServerMessage } from './i18n.js';
import { html, Icon, ErrorAlert, Notice } from './ui.js';
import { bboxBounds, geometryBbox, isPolygonal, toMapLatLng } from './geo.js';

/** Largest file the server takes (src/domain/grid/geojson.h, CG_GRID_GEOJSON_MAX). */
export const MAX_FILE = 64 * 1024 * 1024;
const MAX_ROWS = 500;
const ACCEPT = '.geojson,.json,application/geo+json,application/json';

const PREVIEW = { color: '#7c3aed', weight: 2, opacity: 0.9, fillColor: '#c4b5fd', fillOpacity: 0.12, dashArray: '5 4' };
const PREVIEW_BAD = { color: '#c026d3', weight: 2.5, fillColor: '#f0abfc', fillOpacity: 0.25 };
const MARKER = { radius: 7, color: '#b42318', weight: 2, fillColor: '#f04438', fillOpacity: 0.85 };
const MARKER_ACTIVE = { radius: 11, weight: 3, color: '#7f1d1d', fillColor: '#dc2626' };

// Positions a map of China can show; anything else (swapped lon/lat, garbage) is not drawn.
const plausible = (bb) => bb && bb[0] >= 60 && bb[2] <= 150 && bb[1] >= -5 && bb[3] <= 60;

const BUSY = new Set(['reading', 'validating', 'applying']);

/** A local error shown like an API one (see errorText in ui.js). */
const localError = (code, message = '') => ({ code, serverMessage: message, requestId: '' });

/**
 * The state of an upload and its actions:
 * {phase, file, report, error, result, active, busy, choose(file), apply(partial), cancel(), focus(i)}.
 * phase: idle, reading, validating, validated, applying, applied or failed.
 */
export function useImport({ mapRef, crs, ready, onApplied }) {
  const [state, setState] = useState({ phase: 'idle' });
  const seq = useRef(0);
  const text = useRef('');
  const features = useRef(null);
  const preview = useRef(null); // {markers: Map(i -> circleMarker), locate(i)}
  const focusRef = useRef(null);

  const choose = useCallback(async (file) => {
    const n = (seq.current += 1);
    const info = { name: file.name, size: file.size };
    text.current = '';
    features.current = null;
    if (file.size > MAX_FILE) {
      setState({ phase: 'failed', file: info, error: localError('file_too_large') });
      return;
    }
    setState({ phase: 'reading', file: info });
    let body;
    try {
      body = await file.text();
    } catch {
      if (n === seq.current) setState({ phase: 'failed', file: info, error: localError('file_unreadable') });
      return;
    }
    if (n !== seq.current) return;
    text.current = body;
    try {
      const json = JSON.parse(body);
      if (Array.isArray(json?.features)) features.current = json.features;
    } catch {
      /* not JSON: the server's report says so */
    }
    setState({ phase: 'validating', file: info });
    try {
      const report = await api('api/v1/grids/validate', { method: 'POST', raw: body });
      if (n === seq.current) setState({ phase: 'validated', file: info, report });
    } catch (error) {
      if (n === seq.current) setState({ phase: 'failed', file: info, error, report: error.body?.report ?? null });
    }
  }, []);

  const apply = useCallback(
    async (partial) => {
      const n = seq.current;
      setState((s) => ({ ...s, phase: 'applying', error: null, partial }));
      try {
        const result = await api('api/v1/grids/import', {
          method: 'POST',
          raw: text.current,
          query: partial ? { partial: 'true' } : undefined,
        });
        if (n !== seq.current) return;
        setState((s) => ({ ...s, phase: 'applied', result, report: result.report ?? s.report }));
        onApplied();
      } catch (error) {
        if (n !== seq.current) return;
        // 422 invalid_grids: nothing was applied; its report replaces the one shown.
        setState((s) => ({ ...s, phase: 'validated', error, report: error.body?.report ?? s.report }));
      }
    },
    [onApplied],
  );

  const cancel = useCallback(() => {
    seq.current += 1;
    text.current = '';
    features.current = null;
    setState({ phase: 'idle' });
  }, []);

  const focus = useCallback((i) => {
    setState((s) => ({ ...s, active: i }));
    preview.current?.locate(i);
  }, []);
  focusRef.current = focus;

  // The file over the map, with its problems, while its report is shown.
  const report = state.report;
  const showing = ready && report && ['validated', 'applying', 'failed'].includes(state.phase);
  useEffect(() => {
    const map = mapRef.current;
    if (!showing || !map) return undefined;
    const problems = Array.isArray(report.problems) ? report.problems : [];
    const feats = features.current ?? [];
    const bad = badFeatures(problems);
    const group = L.layerGroup();
    const boxes = new Map(); // feature index -> bbox in map coordinates
    let all = null;
    feats.forEach((f, i) => {
      const g = f?.geometry;
      if (!isPolygonal(g)) return;
      const bb = geometryBbox(g);
      if (!plausible(bb)) return;
      try {
        const layer = L.GeoJSON.geometryToLayer(f, {
          ...PREVIEW,
          ...(bad.has(i) ? PREVIEW_BAD : {}),
          pane: 'cg-preview',
          interactive: false,
          className: bad.has(i) ? 'cg-preview is-bad' : 'cg-preview',
          coordsToLatLng: (c) => toMapLatLng(Number(c[0]), Number(c[1]), crs),
        });
        group.addLayer(layer);
        const b = layer.getBounds();
        const box = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];
        boxes.set(i, box);
        all = all ? [Math.min(all[0], box[0]), Math.min(all[1], box[1]), Math.max(all[2], box[2]), Math.max(all[3], box[3])] : box;
      } catch {
        /* a geometry Leaflet cannot read: its problem is in the report */
      }
    });
    const markers = new Map();
    const places = new Map();
    problems.forEach((p, i) => {
      let at = null;
      if (Number.isFinite(p.lon) && Number.isFinite(p.lat) && plausible([p.lon, p.lat, p.lon, p.lat])) {
        at = toMapLatLng(p.lon, p.lat, crs);
      } else if (Number.isInteger(p.feature) && boxes.has(p.feature)) {
        places.set(i, bboxBounds(boxes.get(p.feature)));
        return;
      }
      if (!at) return;
      places.set(i, at);
      const m = L.circleMarker(at, { ...MARKER, pane: 'cg-problems', className: 'cg-problem' });
      const tip = document.createElement('span');
      tip.textContent = p.message
        ? t('map.import.tip', { kind: kindLabel(p.kind), message: localizeServerMessage(p.message) })
        : kindLabel(p.kind);
      m.bindTooltip(tip, { direction: 'top', offset: [0, -8] });
      m.on('click', () => focusRef.current(i));
      markers.set(i, m);
      group.addLayer(m);
    });
    group.addTo(map);
    for (const [i, m] of markers) m.getElement()?.setAttribute('data-problem', String(i));
    const allBounds = bboxBounds(all);
    if (allBounds?.isValid()) map.fitBounds(allBounds, { padding: [28, 28], maxZoom: 17, animate: false });
    preview.current = {
      markers,
      locate(i) {
        for (const [j, m] of markers) m.setStyle(j === i ? { ...MARKER, ...MARKER_ACTIVE } : MARKER);
        const place = places.get(i);
        if (!place) return;
        if (place instanceof L.LatLngBounds) map.fitBounds(place, { padding: [40, 40], maxZoom: 18 });
        else map.setView(place, Math.max(map.getZoom(), 16));
        markers.get(i)?.bringToFront();
      },
    };
    return () => {
      preview.current = null;
      group.remove();
    };
  }, [showing, report, crs]);

  return {
    ...state,
    busy: BUSY.has(state.phase),
    active: state.active ?? null,
    choose,
    apply,
    cancel,
    focus,
  };
}

/** Problems are errors (they block the import) unless the server says warning (a gap). */
export const isError = (p) => p?.severity !== 'warning';

/**
 * Indexes of the features a partial import skips: those with an error, and the
 * other feature of an overlapping pair (the server refuses both).
 */
export function badFeatures(problems) {
  const bad = new Set();
  for (const p of problems) {
    if (!isError(p)) continue;
    if (Number.isInteger(p.feature)) bad.add(p.feature);
    if (Number.isInteger(p.other_feature)) bad.add(p.other_feature);
  }
  return bad;
}

export const kindLabel = (kind) => (kind && has(`map.problem.${kind}`) ? t(`map.problem.${kind}`) : String(kind ?? ''));

/** The file chooser in the page head. */
export function ImportButton({ imp }) {
  return html`<label class=${`btn btn-primary upload-btn${imp.busy ? ' is-busy' : ''}`} data-testid="map-upload">
    <${Icon} name=${imp.busy ? 'refresh' : 'plus'} class=${imp.busy ? 'icon spin' : 'icon'} />
    <span>${t('map.import.choose')}</span>
    <input
      type="file"
      class="sr-only"
      accept=${ACCEPT}
      disabled=${imp.busy}
      data-testid="map-upload-input"
      onChange=${(e) => {
        const file = e.currentTarget.files?.[0];
        e.currentTarget.value = '';
        if (file) imp.choose(file);
      }}
    />
  </label>`;
}

function Count({ label, n, testid, tone }) {
  return html`<div class=${`map-total${tone ? ` tone-${tone}` : ''}`}>
    <span class="map-total-n" data-testid=${testid}>${formatNumber(Number(n) || 0)}</span>
    <span class="map-total-label">${label}</span>
  </div>`;
}

function ProblemTable({ problems, active, onFocus }) {
  const rows = problems.slice(0, MAX_ROWS);
  // One body per problem: what and where on the first row, the server's words below.
  return html`<div class="table-wrap problems-wrap">
    <table class="table problems-table" data-testid="upload-problems">
      <thead>
        <tr>
          <th scope="col">${t('map.import.col.kind')}</th>
          <th scope="col">${t('map.import.col.feature')}</th>
          <th scope="col">${t('map.import.col.code')}</th>
          <th scope="col">${t('map.import.col.area')}</th>
        </tr>
      </thead>
      ${rows.map(
        (p, i) => html`<tbody
          class=${active === i ? 'problem is-active' : 'problem'}
          data-testid="upload-problem"
          data-kind=${p.kind}
          data-severity=${isError(p) ? 'error' : 'warning'}
          data-feature=${Number.isInteger(p.feature) ? p.feature : ''}
        >
          <tr>
            <td>
              <button type="button" class="link-btn problem-kind" title=${t('map.import.locate')} onClick=${() => onFocus(i)}>
                ${kindLabel(p.kind)}
              </button>
              <span class="cell-sub">
                <span class=${isError(p) ? 'severity is-error' : 'severity is-warning'}>
                  ${t(isError(p) ? 'map.import.error' : 'map.import.warning')}
                </span>
                <span class="mono">${p.kind}</span>
              </span>
            </td>
            <td class="nowrap">
              ${Number.isInteger(p.feature) ? t('map.import.feature_n', { n: p.feature + 1 }) : t('map.import.whole_file')}
              ${Number.isInteger(p.other_feature) &&
              html`<span class="cell-sub">${t('map.import.with_feature', { n: p.other_feature + 1 })}</span>`}
            </td>
            <td class="mono">
              ${p.code ?? '—'} ${p.other_code && html`<span class="cell-sub mono">${t('map.import.with_code', { code: p.other_code })}</span>`}
            </td>
            <td class="nowrap">${Number.isFinite(p.area_m2) && p.area_m2 >= 0 ? formatArea(p.area_m2) : '—'}</td>
          </tr>
          ${p.message && html`<tr class="problem-message"><td colspan="4">${localizeServerMessage(p.message)}</td></tr>`}
        </tbody>`,
      )}
    </table>
    ${problems.length > MAX_ROWS &&
    html`<p class="table-empty">${t('map.import.more_rows', { n: MAX_ROWS, total: problems.length })}</p>`}
  </div>`;
}

function Changes({ changes, testid, applied = false }) {
  if (!changes || typeof changes !== 'object') return null;
  return html`<div class="map-totals map-changes" data-testid=${testid}>
    <${Count} label=${t('map.import.grids_new')} n=${changes.grids_new} testid=${`${testid}-new`} tone="ok" />
    <${Count} label=${t('map.import.grids_changed')} n=${changes.grids_changed} testid=${`${testid}-changed`} tone="warn" />
    ${Number.isFinite(changes.grids_redrawn) &&
    html`<${Count} label=${t('map.import.grids_redrawn')} n=${changes.grids_redrawn} testid=${`${testid}-redrawn`} />`}
    ${Number.isFinite(changes.grids_updated) &&
    html`<${Count} label=${t('map.import.grids_updated')} n=${changes.grids_updated} testid=${`${testid}-updated`} />`}
    <${Count} label=${t('map.import.grids_unchanged')} n=${changes.grids_unchanged} testid=${`${testid}-unchanged`} />
    <${Count}
      label=${t(applied ? 'map.import.divisions_applied' : 'map.import.divisions')}
      n=${changes.divisions}
      testid=${`${testid}-divisions`}
    />
  </div>`;
}

/** The report of the file being uploaded, in the side panel. */
export function ImportReport({ imp }) {
  if (imp.phase === 'idle') return null;
  const { file, report, error, result } = imp;
  const problems = Array.isArray(report?.problems) ? report.problems : [];
  const errors = problems.filter(isError);
  const warnings = problems.length - errors.length;
  const bad = badFeatures(problems);
  const wholeFile = errors.some((p) => !Number.isInteger(p.feature));
  const canPartial = report && !report.ok && !wholeFile && (Number(report.features) || 0) > bad.size;
  const status =
    imp.busy || imp.phase === 'applied' ? imp.phase : report ? (report.ok ? (warnings ? 'warnings' : 'ok') : 'problems') : imp.phase;

  return html`<section class="upload-report" data-testid="upload-report" data-phase=${imp.phase} data-ok=${report ? String(Boolean(report.ok)) : ''} aria-live="polite">
    <div class="map-division-head">
      <h2 class="map-panel-title">${t('map.import.title')}</h2>
      <button type="button" class="icon-btn" aria-label=${t('map.import.close')} data-testid="upload-close" disabled=${imp.phase === 'applying'} onClick=${imp.cancel}>
        <${Icon} name="close" />
      </button>
    </div>
    ${file &&
    html`<p class="upload-file">
      <span class="mono" data-testid="upload-file">${file.name}</span>
      <span class="cell-sub">${formatBytes(file.size)}</span>
    </p>`}
    <p class=${`upload-status status-${status}`} data-testid="upload-status">
      ${status === 'problems'
        ? t(warnings ? 'map.import.status.problems_warnings' : 'map.import.status.problems', {
            n: formatNumber(errors.length),
            w: formatNumber(warnings),
          })
        : t(`map.import.status.${status}`, { w: formatNumber(warnings) })}
    </p>

    ${imp.phase === 'applied' &&
    html`<${Notice} kind="ok" testid="upload-applied">
      <p>${t('map.import.applied')}</p>
      <${Changes} changes=${result?.applied} testid="upload-applied-counts" applied />
      ${Array.isArray(result?.skipped) &&
      result.skipped.length > 0 &&
      html`<p data-testid="upload-skipped">
        ${t('map.import.skipped', {
          n: result.skipped.length,
          list: result.skipped.slice(0, 20).map((i) => i + 1).join(t('map.sep.list')) + (result.skipped.length > 20 ? '…' : ''),
        })}
      </p>`}
    <//>`}

    ${error && html`<${ErrorAlert} error=${error} testid="upload-error" title=${t(imp.phase === 'failed' ? 'map.import.failed' : 'map.import.refused')} />`}

    ${report &&
    imp.phase !== 'applied' &&
    html`<div class="map-totals" data-testid="upload-counts">
        <${Count} label=${t('map.import.features')} n=${report.features} testid="upload-features" />
        <${Count} label=${t('map.import.polygons')} n=${report.polygons} testid="upload-polygons" />
        <div class="map-total">
          <span class="map-total-n" data-testid="upload-area">${formatArea(Number(report.total_area_m2) || 0)}</span>
          <span class="map-total-label">${t('map.import.area')}</span>
        </div>
        <${Count} label=${t('map.import.errors')} n=${errors.length} testid="upload-errors" tone=${errors.length ? 'bad' : 'ok'} />
        ${warnings > 0 && html`<${Count} label=${t('map.import.warnings')} n=${warnings} testid="upload-warnings" tone="warn" />`}
      </div>
      ${report.changes && html`<h3 class="map-list-title">${t('map.import.changes')}</h3>`}
      <${Changes} changes=${report.changes} testid="upload-changes" />
      ${problems.length > 0 && html`<h3 class="map-list-title">${t('map.import.problem_list')}</h3>`}
      ${problems.length > 0 && html`<${ProblemTable} problems=${problems} active=${imp.active} onFocus=${imp.focus} />`}
      <div class="form-actions upload-actions">
        <button
          type="button"
          class="btn btn-primary"
          disabled=${!report.ok || imp.busy}
          data-testid="upload-apply"
          onClick=${() => imp.apply(false)}
        >
          ${imp.phase === 'applying' && !imp.partial ? t('map.import.applying') : t('map.import.apply')}
        </button>
        ${canPartial &&
        html`<button type="button" class="btn" disabled=${imp.busy} data-testid="upload-apply-partial" onClick=${() => imp.apply(true)}>
          ${imp.phase === 'applying' && imp.partial ? t('map.import.applying') : t('map.import.apply_partial')}
        </button>`}
        <button type="button" class="btn" disabled=${imp.phase === 'applying'} data-testid="upload-cancel" onClick=${imp.cancel}>
          ${t('map.import.cancel')}
        </button>
      </div>
      <p class="form-hint">
        ${report.ok ? t('map.import.hint.ok') : canPartial ? t('map.import.hint.partial', { n: bad.size }) : t('map.import.hint.fix')}
      </p>`}
    ${imp.phase === 'applied' &&
    html`<div class="form-actions">
      <button type="button" class="btn" data-testid="upload-done" onClick=${imp.cancel}>${t('map.import.done')}</button>
    </div>`}
  </section>`;
}
