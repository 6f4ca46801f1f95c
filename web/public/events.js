// events.js: the event pages of the web UI (docs/WEB_EVENTS.md).
//
//   #/events       the queue: the command center's, a village station's, a
//                  department handler's inbox, a grid worker's own list. One
//                  page: GET api/v1/events answers what the caller's scope
//                  holds. Filters, newest first, paging with `before`, and a
//                  strip of today's and this month's KPIs for stats.read.
//   #/command      the same queue with the dashboard strip and the latest
//                  deadline notices on top (指挥中心), and for live.read the
//                  live map of open events and workers (live.js, pushed by
//                  Server-Sent Events).
//   #/my           a citizen's own reports (the API returns only those).
//   #/events/ID    one event: its fields, risk score and reasons, the log as
//                  a timeline, photos (when the server has the photo routes),
//                  and one button per action the API lists for the caller.
//
// Every action is sent with the version of the event as the page read it
// (expected_version): a 409 conflict means someone acted first, and the page
// offers to reload.

import { useEffect, useMemo, useState } from './vendor/preact-hooks.js';
import { api } from './api.js';
import { t, has, formatDateTime, formatNumber } from './i18n.js';
import { can, navigate, useSession } from './session.js';
import { html, Icon, ErrorAlert, Notice, Dialog, SelectField, TextField, newId, useLoad, errorText } from './ui.js';

export const STATES = [
  'reported',
  'accepted',
  'verifying',
  'filed',
  'dispatched',
  'handling',
  'handled',
  'checked',
  'closed',
  'cancelled',
  'recorded',
  'merged',
  'return_requested',
  'extension_requested',
  'suspension_requested',
  'suspended',
];
const FINAL = new Set(['closed', 'cancelled', 'recorded', 'merged']);
export const SOURCES = ['patrol', 'citizen', 'hotline', 'video', 'assignment'];
const PAGE_SIZE = 20;
const dash = '—';

const label = (prefix, v) => (v && has(`${prefix}.${v}`) ? t(`${prefix}.${v}`) : v ?? dash);
export const stateText = (s) => label('event.state', s);
export const actionText = (a) => label('event.action', a);
const sourceText = (s) => label('event.source', s);

function when(iso) {
  if (!iso) return dash;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : formatDateTime(d);
}

/** The citizen's view: a reporter, not staff. */
export const isCitizen = (me) => Boolean(me?.roles?.includes('citizen'));

// ---------------------------------------------------------------------------
// Small pieces

export function StateBadge({ state }) {
  const tone = state === 'closed' ? 'ok' : FINAL.has(state) ? 'final' : state === 'reported' ? 'new' : 'open';
  return html`<span class=${`badge badge-sm ev-state ev-state-${tone}`} data-testid="event-state" data-state=${state}>
    ${stateText(state)}
  </span>`;
}

export function WarningBadge({ warning }) {
  if (warning !== 'red' && warning !== 'yellow') return null;
  return html`<span class=${`badge badge-sm ev-warn ev-warn-${warning}`} data-testid="event-warning" data-warning=${warning}>
    ${t(`event.warning.${warning}`)}
  </span>`;
}

function RiskScore({ risk }) {
  const score = Number(risk?.score);
  if (!Number.isFinite(score)) return dash;
  const tone = score >= 60 ? 'high' : score >= 30 ? 'mid' : 'low';
  return html`<span class=${`ev-risk ev-risk-${tone}`} data-testid="event-risk" title=${t('event.risk')}>${score}</span>`;
}

function Pager({ page, hasPrev, hasNext, onPrev, onNext, testid }) {
  return html`<div class="pager" data-testid=${testid}>
    <button type="button" class="btn btn-small" disabled=${!hasPrev} onClick=${onPrev} data-testid=${`${testid}-prev`}>
      ${t('events.newer')}
    </button>
    <span class="pager-page">${t('common.page', { n: page })}</span>
    <button type="button" class="btn btn-small" disabled=${!hasNext} onClick=${onNext} data-testid=${`${testid}-next`}>
      ${t('events.older')}
    </button>
  </div>`;
}

// ---------------------------------------------------------------------------
// The catalogue (GET api/v1/event-categories), kept in localStorage so that
// the report form works offline once it has been opened online.

const CATALOGUE_KEY = 'civgrid.catalogue';

/** Active sub-classes as [{kind, kindLabel, majors: [{code, name, minors: [{code, name, department, urgency}]}]}]. */
export async function loadCatalogue(signal) {
  let data;
  try {
    data = await api('api/v1/event-categories', { signal });
    try {
      localStorage.setItem(CATALOGUE_KEY, JSON.stringify(data));
    } catch {
      /* not cached */
    }
  } catch (e) {
    const cached = (() => {
      try {
        return JSON.parse(localStorage.getItem(CATALOGUE_KEY) ?? 'null');
      } catch {
        return null;
      }
    })();
    if (e.code !== 'network' || !cached) throw e;
    data = cached;
  }
  const en = document.documentElement.lang === 'en';
  return (Array.isArray(data?.kinds) ? data.kinds : []).map((k) => ({
    kind: k.kind,
    label: (en ? k.label_en : k.label_zh) || k.kind,
    majors: (k.majors ?? [])
      .map((m) => ({
        code: m.code,
        name: m.name,
        minors: (m.minors ?? []).filter((n) => n.active !== false),
      }))
      .filter((m) => m.minors.length > 0),
  }));
}

/** <select> of the active sub-classes, grouped by class; values "kind:code". */
export function CategorySelect({ id, catalogue, value, onChange, allowAll = false, testid, error, required = false }) {
  const errId = error ? `${id}-error` : undefined;
  return html`<div class="form-field">
    <label for=${id}>${t('event.category')}${required && html`<span class="req" aria-hidden="true"> *</span>`}</label>
    <select
      id=${id}
      value=${value}
      data-testid=${testid}
      aria-invalid=${error ? 'true' : undefined}
      aria-describedby=${errId}
      onChange=${(e) => onChange(e.currentTarget.value)}
    >
      <option value="">${allowAll ? t('common.all') : t('report.category.choose')}</option>
      ${(catalogue ?? []).flatMap((k) =>
        k.majors.map(
          (m) => html`<optgroup label=${`${k.label} · ${m.code} ${m.name}`}>
            ${m.minors.map((n) => html`<option value=${`${k.kind}:${n.code}`}>${n.code} ${n.name}</option>`)}
          </optgroup>`,
        ),
      )}
    </select>
    ${error && html`<p class="form-error" id=${errId}>${error}</p>`}
  </div>`;
}

// ---------------------------------------------------------------------------
// Dashboard strip (stats.read): 上报, 立案, 结案率, 按期结案率 today and this
// month from GET api/v1/kpi?by=town, and the notices from GET api/v1/notices.

// Days and months of the working calendar: China time (UTC+8, no daylight
// saving), whatever the browser's time zone.
const CN_OFFSET = 8 * 3600e3;
const DAY = 86400e3;

function periods(now = Date.now()) {
  const day = Math.floor((now + CN_OFFSET) / DAY) * DAY - CN_OFFSET;
  const cn = new Date(now + CN_OFFSET); // China time in the UTC fields
  const month = Date.UTC(cn.getUTCFullYear(), cn.getUTCMonth(), 1) - CN_OFFSET;
  const nextMonth = Date.UTC(cn.getUTCFullYear(), cn.getUTCMonth() + 1, 1) - CN_OFFSET;
  const iso = (ms) => new Date(ms).toISOString();
  return {
    today: { from: iso(day), to: iso(day + DAY) },
    month: { from: iso(month), to: iso(nextMonth) },
  };
}

const rate = (v) => (v === null || v === undefined || !Number.isFinite(Number(v)) ? dash : `${formatNumber(Number(v) * 100, { maximumFractionDigits: 1 })}%`);

function Dashboard({ showNotices }) {
  const p = useMemo(() => periods(), []);
  const kpi = useLoad(
    async (signal) => {
      const [today, month, notices] = await Promise.all([
        api('api/v1/kpi', { signal, query: { by: 'town', ...p.today } }),
        api('api/v1/kpi', { signal, query: { by: 'town', ...p.month } }),
        api('api/v1/notices', { signal }),
      ]);
      return { today: today.total ?? {}, month: month.total ?? {}, notices: notices.notices ?? [] };
    },
    [p.today.from],
  );
  if (kpi.error) return html`<${ErrorAlert} error=${kpi.error} testid="dashboard-error" />`;
  const d = kpi.data;
  const cell = (period, key, value) => html`<div class="dash-cell" data-testid=${`dash-${period}-${key}`}>
    <span class="dash-n">${d ? value : dash}</span>
    <span class="dash-label">${t(`dash.${key}`)}</span>
  </div>`;
  const group = (period) => {
    const k = d?.[period] ?? {};
    return html`<div class="dash-group" data-testid=${`dash-${period}`}>
      <h2 class="dash-title">${t(`dash.${period}`)}</h2>
      <div class="dash-cells">
        ${cell(period, 'reported', formatNumber(k.reported ?? 0))} ${cell(period, 'filed', formatNumber(k.filed ?? 0))}
        ${cell(period, 'closure_rate', rate(k.closure_rate))} ${cell(period, 'on_time_rate', rate(k.on_time_rate))}
      </div>
    </div>`;
  };
  const notices = d?.notices ?? [];
  return html`<div class="dash card" data-testid="dashboard" data-ready=${String(Boolean(d))}>
      ${group('today')} ${group('month')}
      <div class="dash-group dash-notices">
        <h2 class="dash-title">${t('dash.notices')}</h2>
        <div class="dash-cells">
          <div class="dash-cell" data-testid="dash-notices">
            <span class=${notices.length ? 'dash-n bad' : 'dash-n'}>${d ? formatNumber(notices.length) : dash}</span>
            <span class="dash-label">${t('dash.notices.open')}</span>
          </div>
        </div>
      </div>
    </div>
    ${showNotices &&
    notices.length > 0 &&
    html`<ul class="notice-list card" data-testid="notice-list">
      ${notices.slice(0, 10).map(
        (n) => html`<li key=${n.id}>
          <${WarningBadge} warning=${n.kind} />
          <a href=${`#/events/${n.event_id}`}>${t('events.id', { id: n.event_id })}</a>
          <span class="cell-sub">${n.message} · ${when(n.created_at)}</span>
        </li>`,
      )}
    </ul>`}`;
}

// ---------------------------------------------------------------------------
// The live map of the command center (live.js), loaded when first shown: it brings Leaflet.

let liveModule = null;

function LiveSlot() {
  const [mod, setMod] = useState(liveModule);
  const [error, setError] = useState(null);
  useEffect(() => {
    if (mod) return;
    import('./live.js').then(
      (m) => {
        liveModule = m;
        setMod(m);
      },
      () => setError({ code: 'network' }),
    );
  }, []);
  if (error) return html`<${ErrorAlert} error=${error} testid="live-load-error" />`;
  if (!mod) return html`<section class="card live" data-testid="live-loading"><p>${t('live.loading')}</p></section>`;
  return html`<${mod.LiveMap} />`;
}

// ---------------------------------------------------------------------------
// The queue

const FILTERS = ['state', 'warning', 'source', 'category'];

function filtersOf(query) {
  return Object.fromEntries(FILTERS.map((k) => [k, query?.get(k) ?? '']));
}

/** mode: 'queue' (#/events), 'command' (#/command), 'my' (#/my). */
export function EventsPage({ query, mode = 'queue' }) {
  const { me } = useSession();
  const base = mode === 'command' ? '/command' : mode === 'my' ? '/my' : '/events';
  const filters = useMemo(() => filtersOf(query), [query?.toString()]);
  const [draft, setDraft] = useState(filters);
  const [cursors, setCursors] = useState([0]);
  const ids = useMemo(() => Object.fromEntries(FILTERS.map((k) => [k, newId(`ev-${k}`)])), []);
  const catalogue = useLoad((signal) => loadCatalogue(signal), []);
  useEffect(() => {
    setDraft(filters);
    setCursors([0]);
  }, [filters]);
  const before = cursors[cursors.length - 1];

  const list = useLoad(
    (signal) => {
      const [kind, code] = filters.category ? filters.category.split(':') : ['', ''];
      void kind;
      return api('api/v1/events', {
        signal,
        query: {
          state: filters.state,
          warning: filters.warning,
          source: filters.source,
          category: code,
          before: before || undefined,
          limit: PAGE_SIZE,
        },
      });
    },
    [filters, before],
  );
  const events = list.data?.events ?? [];
  const set = (k) => (v) => setDraft((d) => ({ ...d, [k]: v }));
  const go = (f) => {
    const qs = new URLSearchParams(Object.entries(f).filter(([, v]) => v)).toString();
    navigate(qs ? `${base}?${qs}` : base);
  };
  const apply = (e) => {
    e.preventDefault();
    go(draft);
  };
  const options = (values, text) => [
    { value: '', label: t('common.all') },
    ...values.map((v) => ({ value: v, label: text(v) })),
  ];
  const titleKey = mode === 'my' ? 'my.title' : mode === 'command' ? 'command.title' : 'events.title';

  return html`<section class="page page-wide" aria-labelledby="page-title" data-testid="events-page" data-mode=${mode}>
    <div class="page-head">
      <div>
        <h1 id="page-title">${t(titleKey)}</h1>
        <p class="page-sub">${t(`${titleKey.split('.')[0]}.subtitle`)}</p>
      </div>
      <div class="page-actions">
        ${can(me, 'event.report') &&
        html`<a class="btn btn-primary" href="#/report" data-testid="events-report">
          <${Icon} name="plus" />${t('report.title')}
        </a>`}
        <button type="button" class="btn" onClick=${list.reload} disabled=${list.loading} data-testid="events-refresh">
          <${Icon} name="refresh" class=${list.loading ? 'icon spin' : 'icon'} />${t('status.refresh')}
        </button>
      </div>
    </div>

    ${mode !== 'my' && can(me, 'stats.read') && html`<${Dashboard} showNotices=${mode === 'command'} />`}
    ${mode === 'command' && can(me, 'live.read') && html`<${LiveSlot} />`}

    <form class="filters card" onSubmit=${apply} data-testid="events-filters" role="search">
      <${SelectField}
        id=${ids.state}
        label=${t('event.state')}
        value=${draft.state}
        onChange=${set('state')}
        testid="filter-state"
        options=${options(STATES, stateText)}
      />
      <${SelectField}
        id=${ids.warning}
        label=${t('event.warning')}
        value=${draft.warning}
        onChange=${set('warning')}
        testid="filter-warning"
        options=${options(['red', 'yellow'], (w) => t(`event.warning.${w}`))}
      />
      ${mode !== 'my' &&
      html`<${SelectField}
        id=${ids.source}
        label=${t('event.source')}
        value=${draft.source}
        onChange=${set('source')}
        testid="filter-source"
        options=${options(SOURCES, sourceText)}
      />`}
      <${CategorySelect}
        id=${ids.category}
        catalogue=${catalogue.data}
        value=${draft.category}
        onChange=${set('category')}
        allowAll
        testid="filter-category"
      />
      <div class="filter-actions">
        <button type="submit" class="btn btn-primary" data-testid="filter-apply">
          <${Icon} name="search" />${t('common.search')}
        </button>
        <button type="button" class="btn" onClick=${() => go({})} data-testid="filter-reset">${t('common.reset')}</button>
      </div>
    </form>

    ${list.error && html`<${ErrorAlert} error=${list.error} testid="events-error" />`}

    <div class=${list.loading ? 'table-wrap is-loading' : 'table-wrap'} aria-busy=${String(list.loading)}>
      <table class="table table-cards ev-table" data-testid="events-table" data-loading=${String(list.loading)}>
        <thead>
          <tr>
            <th scope="col">${t('event.title')}</th>
            <th scope="col">${t('event.category')}</th>
            <th scope="col">${t('event.grid')}</th>
            <th scope="col">${t('event.state')}</th>
            <th scope="col">${t('event.deadline')}</th>
            <th scope="col">${t('event.risk')}</th>
          </tr>
        </thead>
        <tbody>
          ${events.map(
            (ev) => html`<tr
              key=${ev.id}
              data-testid="event-row"
              data-id=${ev.id}
              data-state=${ev.state}
              data-warning=${ev.warning ?? ''}
            >
              <td data-label=${t('event.title')} class="cell-title">
                <a href=${`#/events/${ev.id}`} class="cell-main" data-testid="event-link">${ev.title}</a>
                <span class="cell-sub">${t('events.id', { id: ev.id })} · ${sourceText(ev.source)} · ${when(ev.created_at)}</span>
              </td>
              <td data-label=${t('event.category')}>
                <span class="cell-main">${ev.category?.name ?? dash}</span>
                <span class="cell-sub mono">${ev.category?.code ?? ''}</span>
              </td>
              <td data-label=${t('event.grid')} class="mono">${ev.grid ?? dash}</td>
              <td data-label=${t('event.state')}>
                <${StateBadge} state=${ev.state} />
                ${ev.supervised && html`<span class="badge badge-sm badge-warn">${t('event.supervised')}</span>`}
              </td>
              <td data-label=${t('event.deadline')} class="nowrap">
                ${FINAL.has(ev.state) ? dash : when(ev.deadline_at)} <${WarningBadge} warning=${ev.warning} />
              </td>
              <td data-label=${t('event.risk')}><${RiskScore} risk=${ev.risk} /></td>
            </tr>`,
          )}
        </tbody>
      </table>
      ${!list.loading &&
      !list.error &&
      events.length === 0 &&
      html`<p class="table-empty" data-testid="events-empty">${t(mode === 'my' ? 'my.empty' : 'events.empty')}</p>`}
      ${list.loading && events.length === 0 && html`<p class="table-empty">${t('common.loading')}</p>`}
    </div>
    <${Pager}
      testid="events-pager"
      page=${cursors.length}
      hasPrev=${cursors.length > 1}
      hasNext=${Boolean(list.data?.next_before)}
      onPrev=${() => setCursors(cursors.slice(0, -1))}
      onNext=${() => setCursors([...cursors, list.data.next_before])}
    />
  </section>`;
}

// ---------------------------------------------------------------------------
// One event

let photoRoutes = null; // Promise<boolean>: does the server have GET /api/v1/events/:id/photos?

function hasPhotoRoutes() {
  photoRoutes ??= api('api/v1/routes', { quiet: true }).then(
    (r) => {
      const list = Array.isArray(r?.routes) ? r.routes : Array.isArray(r) ? r : [];
      return list.some((x) => x.method === 'GET' && x.path === '/api/v1/events/:id/photos');
    },
    () => {
      photoRoutes = null;
      return false;
    },
  );
  return photoRoutes;
}

const DUPS_KEY = (id) => `civgrid.duplicates.${id}`;

/** Keeps the near-duplicates a report was answered with, for the merge dialog of that event. */
export function rememberDuplicates(id, duplicates) {
  if (!Array.isArray(duplicates) || duplicates.length === 0) return;
  try {
    sessionStorage.setItem(DUPS_KEY(id), JSON.stringify(duplicates));
  } catch {
    /* not kept */
  }
}

function rememberedDuplicates(id) {
  try {
    const v = JSON.parse(sessionStorage.getItem(DUPS_KEY(id)) ?? '[]');
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

const DETAIL_SKIP = new Set(['at', 'actor', 'action', 'from', 'to', 'note']);

function detailValue(k, v) {
  if (v === null || v === undefined || v === '') return null;
  if (k.endsWith('_at') && typeof v === 'string') return when(v);
  if (k === 'tier') return label('event.tier', v);
  if (k === 'closure' || k === 'closure_type') return label('event.closure', v);
  if (k === 'satisfaction') return `${v} / 5`;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function Timeline({ log }) {
  return html`<ol class="timeline" data-testid="event-timeline">
    ${(log ?? []).map((l, i) => {
      // The entry's own members, then those of its detail object.
      const { from: fromEvent, ...detail } = l.detail && typeof l.detail === 'object' ? l.detail : {};
      const flat = { ...l, ...detail, from_event: fromEvent };
      delete flat.detail;
      const details = Object.entries(flat)
        .filter(([k]) => !DETAIL_SKIP.has(k))
        .map(([k, v]) => [k, detailValue(k, v)])
        .filter(([, v]) => v !== null);
      return html`<li class="tl-item" key=${i} data-testid="timeline-item" data-action=${l.action} data-to=${l.to ?? ''}>
        <div class="tl-head">
          <strong class="tl-action">${actionText(l.action)}</strong>
          <span class="tl-states">
            ${l.from ? html`${stateText(l.from)} → ` : null}${stateText(l.to)}
          </span>
        </div>
        <div class="tl-meta">
          <span data-testid="timeline-actor">${l.actor ?? dash}</span> · <time datetime=${l.at}>${when(l.at)}</time>
        </div>
        ${l.note && html`<p class="tl-note" data-testid="timeline-note">${l.note}</p>`}
        ${details.length > 0 &&
        html`<dl class="tl-detail">
          ${details.map(
            ([k, v]) => html`<div><dt>${has(`event.detail.${k}`) ? t(`event.detail.${k}`) : k}</dt><dd>${v}</dd></div>`,
          )}
        </dl>`}
      </li>`;
    })}
  </ol>`;
}

function Photos({ id }) {
  const photos = useLoad(async (signal) => {
    if (!(await hasPhotoRoutes())) return null;
    return api(`api/v1/events/${id}/photos`, { signal });
  }, [id]);
  if (!photos.data) return null;
  const list = photos.data.photos ?? [];
  return html`<article class="card ev-card" data-testid="event-photos">
    <h2 class="card-title">${t('event.photos')}</h2>
    ${list.length === 0
      ? html`<p class="muted">${t('event.photos.none')}</p>`
      : html`<div class="ev-photos">
          ${list.map(
            (p) => html`<a href=${`api/v1/photos/${p.hash}`} target="_blank" rel="noopener" key=${p.hash}>
              <img src=${`api/v1/photos/${p.hash}/thumb`} alt=${label('event.photo.stage', p.stage)} loading="lazy" />
              <span class="cell-sub">${label('event.photo.stage', p.stage)}</span>
            </a>`,
          )}
        </div>`}
  </article>`;
}

const ACTION_TONE = {
  cancel: 'btn-danger',
  check_fail: 'btn-danger',
  reject_extension: '',
  reject_suspension: '',
  reject_return: '',
};

function ActionDialog({ ev, action, onClose, onDone, onConflict }) {
  const [note, setNote] = useState('');
  const [satisfaction, setSatisfaction] = useState('');
  const [into, setInto] = useState('');
  const [department, setDepartment] = useState('');
  const [closure, setClosure] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const noteId = useMemo(() => newId('act-note'), []);
  const intoId = useMemo(() => newId('act-into'), []);
  const deptId = useMemo(() => newId('act-dept'), []);
  const closureId = useMemo(() => newId('act-closure'), []);

  // Candidates to merge into: the near-duplicates the report was answered
  // with, and open events of the same class in the same grid.
  const candidates = useLoad(async (signal) => {
    if (action !== 'merge') return [];
    const seen = new Map();
    for (const d of rememberedDuplicates(ev.id)) if (d.id !== ev.id) seen.set(d.id, { id: d.id, state: d.state, distance: d.distance_m });
    try {
      const r = await api('api/v1/events', { signal, query: { category: ev.category?.code, grid: ev.grid, limit: 50 } });
      for (const e of r.events ?? []) {
        if (e.id === ev.id || FINAL.has(e.state) || e.category?.kind !== ev.category?.kind) continue;
        if (!seen.has(e.id)) seen.set(e.id, { id: e.id, state: e.state, title: e.title });
      }
    } catch {
      /* the typed id still works */
    }
    return [...seen.values()];
  }, [action, ev.id]);

  const submit = async (e) => {
    e.preventDefault();
    const body = { action, expected_version: ev.version };
    if (note.trim()) body.note = note.trim();
    if (action === 'revisit') {
      if (!satisfaction) {
        setError({ code: 'missing_field', field: 'satisfaction', serverMessage: '' });
        return;
      }
      body.satisfaction = Number(satisfaction);
    }
    if (action === 'merge') {
      const n = Number(into);
      if (!Number.isInteger(n) || n <= 0) {
        setError({ code: 'missing_field', field: 'into', serverMessage: '' });
        return;
      }
      body.into = n;
    }
    if ((action === 'dispatch' || action === 'reassign') && department.trim()) body.department = department.trim();
    if (action === 'close' && closure) body.closure = closure;
    setBusy(true);
    setError(null);
    try {
      const res = await api(`api/v1/events/${ev.id}/actions`, { method: 'POST', body });
      onDone(res);
    } catch (err) {
      setBusy(false);
      if (err.status === 409 && err.code === 'conflict') onConflict(err);
      else setError(err);
    }
  };

  return html`<${Dialog} title=${t('event.act.title', { action: actionText(action) })} onClose=${onClose} testid="action-dialog">
    <form class="form" onSubmit=${submit} data-action=${action}>
      ${action === 'revisit' &&
      html`<fieldset class="form-field" data-invalid=${error?.field === 'satisfaction' ? 'true' : undefined}>
        <legend>${t('event.satisfaction')}<span class="req" aria-hidden="true"> *</span></legend>
        <div class="stars" role="radiogroup">
          ${[1, 2, 3, 4, 5].map(
            (n) => html`<label class="star">
              <input
                type="radio"
                name="satisfaction"
                value=${n}
                checked=${satisfaction === String(n)}
                data-testid=${`satisfaction-${n}`}
                onChange=${() => setSatisfaction(String(n))}
              />
              <span>${n}</span>
            </label>`,
          )}
        </div>
        <p class="form-hint">${t('event.satisfaction.hint')}</p>
        ${error?.field === 'satisfaction' && html`<p class="form-error">${t('event.satisfaction.required')}</p>`}
      </fieldset>`}
      ${action === 'merge' &&
      html`<div class="form-field">
        <label for=${intoId}>${t('event.merge.into')}<span class="req" aria-hidden="true"> *</span></label>
        <input
          id=${intoId}
          type="number"
          min="1"
          inputmode="numeric"
          value=${into}
          data-testid="action-into"
          aria-invalid=${error?.field === 'into' ? 'true' : undefined}
          onInput=${(e) => setInto(e.currentTarget.value)}
        />
        ${(candidates.data ?? []).length > 0 &&
        html`<div class="chips ev-candidates" data-testid="merge-candidates">
          ${candidates.data.map(
            (c) => html`<button type="button" class="chip" data-testid="merge-candidate" data-id=${c.id} onClick=${() => setInto(String(c.id))}>
              ${t('events.id', { id: c.id })} · ${stateText(c.state)}${c.distance !== undefined ? ` · ${c.distance} m` : ''}
            </button>`,
          )}
        </div>`}
        ${error?.field === 'into' && html`<p class="form-error">${t('event.merge.required')}</p>`}
      </div>`}
      ${(action === 'dispatch' || action === 'reassign') &&
      html`<${TextField}
        id=${deptId}
        label=${t('event.department')}
        value=${department}
        onInput=${setDepartment}
        placeholder=${ev.department ?? ''}
        hint=${t('event.dispatch.hint')}
        testid="action-department"
      />`}
      ${action === 'close' &&
      html`<${SelectField}
        id=${closureId}
        label=${t('event.closure')}
        value=${closure}
        onChange=${setClosure}
        testid="action-closure"
        options=${[
          { value: '', label: t('event.closure.auto') },
          { value: 'error', label: t('event.closure.error') },
          { value: 'special', label: t('event.closure.special') },
        ]}
      />`}
      <div class="form-field">
        <label for=${noteId}>${t('event.note')}</label>
        <textarea id=${noteId} rows="3" value=${note} data-testid="action-note" onInput=${(e) => setNote(e.currentTarget.value)}></textarea>
      </div>
      ${error && !['satisfaction', 'into'].includes(error.field) && html`<${ErrorAlert} error=${error} testid="action-error" />`}
      <div class="form-actions">
        <button type="submit" class=${`btn btn-primary ${ACTION_TONE[action] ?? ''}`} disabled=${busy} data-testid="action-submit">
          ${busy ? t('common.working') : actionText(action)}
        </button>
        <button type="button" class="btn" onClick=${onClose}>${t('common.cancel')}</button>
      </div>
    </form>
  <//>`;
}

export function EventPage({ id }) {
  const { me } = useSession();
  const ev = useLoad((signal) => api(`api/v1/events/${id}`, { signal }), [id]);
  const [action, setAction] = useState(null);
  const [conflict, setConflict] = useState(null);
  const [done, setDone] = useState(null);
  useEffect(() => {
    setConflict(null);
    setDone(null);
  }, [id]);

  const reload = () => {
    setConflict(null);
    setDone(null);
    ev.reload();
  };
  const e = ev.data && String(ev.data.id) === String(id) ? ev.data : null;
  if (ev.error && !e) {
    return html`<section class="page"><${ErrorAlert} error=${ev.error} testid="event-error" />
      <a class="btn" href=${isCitizen(me) ? '#/my' : '#/events'}>${t('event.back')}</a></section>`;
  }
  if (!e) return html`<section class="page"><div class="loading" data-testid="page-loading">${t('common.loading')}</div></section>`;
  const actions = Array.isArray(e.actions) ? e.actions : [];
  const field = (key, value, testid) => html`<div class="field">
    <dt>${t(key)}</dt>
    <dd data-testid=${testid}>${value === null || value === undefined || value === '' ? dash : value}</dd>
  </div>`;

  return html`<section
    class="page page-wide"
    aria-labelledby="page-title"
    data-testid="event-page"
    data-id=${e.id}
    data-state=${e.state}
    data-version=${e.version}
    data-loading=${String(ev.loading)}
  >
    <div class="page-head">
      <div>
        <p class="page-sub"><a href=${isCitizen(me) ? '#/my' : '#/events'} data-testid="event-back">← ${t('event.back')}</a></p>
        <h1 id="page-title" data-testid="event-title">${e.title}</h1>
        <p class="page-sub">
          ${t('events.id', { id: e.id })} · ${e.category?.name ?? ''} <span class="mono">${e.category?.code ?? ''}</span>
        </p>
      </div>
      <div class="page-actions">
        <${StateBadge} state=${e.state} /> <${WarningBadge} warning=${e.warning} />
        <button type="button" class="btn" onClick=${reload} disabled=${ev.loading} data-testid="event-refresh">
          <${Icon} name="refresh" class=${ev.loading ? 'icon spin' : 'icon'} />${t('status.refresh')}
        </button>
      </div>
    </div>

    ${conflict &&
    html`<div class="alert" role="alert" data-testid="event-conflict">
      <${Icon} name="alert" class="icon alert-icon" />
      <div class="alert-body">
        <strong>${t('event.conflict.title')}</strong>
        <p>${t('event.conflict.body')}</p>
        ${conflict.serverMessage && html`<p class="alert-meta">${errorText(conflict)}</p>`}
      </div>
      <button type="button" class="btn btn-small" onClick=${reload} data-testid="event-conflict-reload">${t('event.conflict.reload')}</button>
    </div>`}
    ${done && html`<${Notice} kind="ok" testid="event-done">${t('event.act.done', { action: actionText(done) })}<//>`}
    ${ev.error && html`<${ErrorAlert} error=${ev.error} testid="event-error" />`}

    ${actions.length > 0 &&
    html`<div class="ev-actions card" data-testid="event-actions">
      <h2 class="card-title">${t('event.actions')}</h2>
      <div class="ev-action-buttons">
        ${actions.map(
          (a) => html`<button
            type="button"
            class=${`btn ${['check_pass', 'close', 'accept', 'file', 'dispatch', 'sign', 'feedback'].includes(a) ? 'btn-primary' : ''}`}
            data-testid=${`action-${a}`}
            disabled=${ev.loading}
            onClick=${() => {
              setDone(null);
              setAction(a);
            }}
          >
            ${actionText(a)}
          </button>`,
        )}
      </div>
    </div>`}

    <div class="ev-layout">
      <div class="ev-main">
        <article class="card ev-card">
          <h2 class="card-title">${t('event.fields')}</h2>
          <dl class="fields">
            ${field('event.category', `${e.category?.code ?? ''} ${e.category?.name ?? ''}`, 'event-category')}
            ${field('event.kind', label('event.kind', e.kind), 'event-kind')}
            ${field('event.source', sourceText(e.source), 'event-source')}
            ${field('event.grid', html`<span class="mono">${e.grid}</span>`, 'event-grid')}
            ${field('event.tier', label('event.tier', e.tier), 'event-tier')}
            ${field('event.department', e.department, 'event-department')}
            ${field('event.urgency', label('event.urgency', e.urgency), 'event-urgency')}
            ${field('event.people', e.people, 'event-people')}
            ${field('event.address', e.address, 'event-address')}
            ${field('event.location', `${e.lon}, ${e.lat}`, 'event-location')}
            ${field('event.created', when(e.created_at), 'event-created')}
            ${field('event.deadline', FINAL.has(e.state) ? dash : when(e.deadline_at), 'event-deadline')}
            ${field('event.due', when(e.due_at), 'event-due')}
            ${field('event.closed', when(e.closed_at), 'event-closed')}
            ${field('event.closure', e.closure_type ? label('event.closure', e.closure_type) : null, 'event-closure')}
            ${field('event.satisfaction', e.satisfaction, 'event-satisfaction')}
            ${field('event.rework', e.rework_count, 'event-rework')}
            ${field('event.supervised', e.supervised ? t('common.yes') : t('common.no'), 'event-supervised')}
            ${e.merged_into &&
            field('event.merged_into', html`<a href=${`#/events/${e.merged_into}`}>${t('events.id', { id: e.merged_into })}</a>`, 'event-merged-into')}
            ${field('event.version', e.version, 'event-version')}
          </dl>
          ${e.description && html`<p class="ev-description" data-testid="event-description">${e.description}</p>`}
        </article>

        <article class="card ev-card" data-testid="event-risk-card">
          <h2 class="card-title">${t('event.risk')} <${RiskScore} risk=${e.risk} /></h2>
          <ul class="ev-reasons">
            ${(e.risk?.reasons ?? []).map(
              (r) => html`<li data-testid="risk-reason" data-code=${r.code}>
                <span>${label('event.risk.reason', r.code)}${r.detail !== undefined && r.detail !== '' ? `：${r.code === 'urgency' ? label('event.urgency', r.detail) : r.detail}` : ''}</span>
                <strong>+${r.points}</strong>
              </li>`,
            )}
          </ul>
        </article>
        <${Photos} id=${e.id} />
      </div>
      <article class="card ev-card ev-side">
        <h2 class="card-title">${t('event.log')}</h2>
        <${Timeline} log=${e.log} />
      </article>
    </div>

    ${action &&
    html`<${ActionDialog}
      ev=${e}
      action=${action}
      onClose=${() => setAction(null)}
      onDone=${() => {
        setDone(action);
        setAction(null);
        ev.reload();
      }}
      onConflict=${(err) => {
        setAction(null);
        setConflict(err);
      }}
    />`}
  </section>`;
}

/** #/event?id=N, the other form of the address. */
export function eventIdOf(route) {
  const m = /^events\/(\d+)$/.exec(route.path);
  if (m) return m[1];
  return route.path === 'event' ? route.query.get('id') ?? '' : '';
}
