// app.js: the civgrid web UI shell (Preact + htm, no build step).
//
// Hash routing (#/status, ...) because civgridd serves only real files and the
// API: any other path is a 404.

import { h, render } from './vendor/preact.js';
import { useCallback, useEffect, useRef, useState } from './vendor/preact-hooks.js';
import htm from './vendor/htm.js';
import {
  LANGS,
  t,
  getLang,
  setLang,
  formatBytes,
  formatByteCount,
  formatDateTime,
  formatDuration,
  formatTime,
} from './i18n.js';

const html = htm.bind(h);

const STATUS_URL = 'api/v1/status';
const REFRESH_MS = 10_000;
const FETCH_TIMEOUT_MS = 8_000;
const DEFAULT_ROUTE = 'status';

// ---------------------------------------------------------------------------
// Navigation model: capabilities in the order of the product specification.

const NAV = [
  { id: 'status', enabled: true },
  { id: 'grid' },
  { id: 'events' },
  { id: 'command' },
  { id: 'registries' },
  { id: 'mediation' },
  { id: 'hotline' },
  { id: 'consultation' },
  { id: 'analytics' },
  { id: 'admin' },
];

// Line icons, 24x24 viewBox, drawn with currentColor strokes.
const ICONS = {
  status: ['M3 12h4l3-8 4 16 3-8h4'],
  grid: ['M4 4h16v16H4z', 'M4 9.33h16M4 14.67h16M9.33 4v16M14.67 4v16'],
  events: ['M12 3 2 20h20L12 3z', 'M12 10v4', 'M12 17h.01'],
  command: ['M3 4h18v12H3z', 'M8 20h8', 'M12 16v4', 'M7 12l3-3 2 2 4-4'],
  registries: ['M4 21V5l8-3 8 3v16', 'M9 21v-5h6v5', 'M8 8h.01M12 8h.01M16 8h.01M8 12h.01M12 12h.01M16 12h.01'],
  mediation: ['M12 3v18', 'M5 21h14', 'M4 7h16', 'M7 7l-3 7a3 3 0 0 0 6 0L7 7', 'M17 7l-3 7a3 3 0 0 0 6 0l-3-7'],
  hotline: [
    'M22 16.9v3a2 2 0 0 1-2.2 2 19.8 19.8 0 0 1-8.6-3.1 19.5 19.5 0 0 1-6-6A19.8 19.8 0 0 1 2.1 4.2 2 2 0 0 1 4.1 2h3a2 2 0 0 1 2 1.7c.1.9.4 1.8.7 2.7a2 2 0 0 1-.5 2.1L8 9.8a16 16 0 0 0 6 6l1.3-1.3a2 2 0 0 1 2.1-.4c.9.3 1.8.6 2.7.7a2 2 0 0 1 1.7 2z',
  ],
  consultation: ['M21 12a8 8 0 0 1-11.8 7L3 21l2-6A8 8 0 1 1 21 12z', 'M8 12h.01M12 12h.01M16 12h.01'],
  analytics: ['M4 20V10', 'M10 20V4', 'M16 20v-7', 'M22 20H2'],
  admin: [
    'M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6z',
    'M19.4 15a1.7 1.7 0 0 0 .3 1.8l.1.1a2 2 0 1 1-2.8 2.8l-.1-.1a1.7 1.7 0 0 0-1.8-.3 1.7 1.7 0 0 0-1 1.5V21a2 2 0 1 1-4 0v-.1a1.7 1.7 0 0 0-1.1-1.5 1.7 1.7 0 0 0-1.8.3l-.1.1a2 2 0 1 1-2.8-2.8l.1-.1a1.7 1.7 0 0 0 .3-1.8 1.7 1.7 0 0 0-1.5-1H3a2 2 0 1 1 0-4h.1a1.7 1.7 0 0 0 1.5-1.1 1.7 1.7 0 0 0-.3-1.8l-.1-.1a2 2 0 1 1 2.8-2.8l.1.1a1.7 1.7 0 0 0 1.8.3H9a1.7 1.7 0 0 0 1-1.5V3a2 2 0 1 1 4 0v.1a1.7 1.7 0 0 0 1 1.5 1.7 1.7 0 0 0 1.8-.3l.1-.1a2 2 0 1 1 2.8 2.8l-.1.1a1.7 1.7 0 0 0-.3 1.8V9a1.7 1.7 0 0 0 1.5 1H21a2 2 0 1 1 0 4h-.1a1.7 1.7 0 0 0-1.5 1z',
  ],
  server: ['M3 4h18v6H3z', 'M3 14h18v6H3z', 'M7 7h.01M7 17h.01'],
  database: ['M4 6c0-1.7 3.6-3 8-3s8 1.3 8 3-3.6 3-8 3-8-1.3-8-3z', 'M4 6v12c0 1.7 3.6 3 8 3s8-1.3 8-3V6', 'M4 12c0 1.7 3.6 3 8 3s8-1.3 8-3'],
  refresh: ['M21 12a9 9 0 1 1-2.6-6.4', 'M21 3v6h-6'],
  menu: ['M4 6h16M4 12h16M4 18h16'],
  close: ['M6 6l12 12M18 6 6 18'],
  alert: ['M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20z', 'M12 8v4', 'M12 16h.01'],
};

function Icon({ name, class: cls = 'icon' }) {
  return html`<svg class=${cls} viewBox="0 0 24 24" aria-hidden="true" focusable="false">
    ${ICONS[name].map((d) => html`<path d=${d} />`)}
  </svg>`;
}

// ---------------------------------------------------------------------------
// Hooks

function routeFromHash() {
  const id = location.hash.replace(/^#\/?/, '').split(/[/?]/)[0];
  return id || DEFAULT_ROUTE;
}

function useHashRoute() {
  const [route, setRoute] = useState(routeFromHash);
  useEffect(() => {
    const onChange = () => setRoute(routeFromHash());
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

/** Current time in ms, re-rendering every `periodMs` while `active`. */
function useNow(periodMs, active) {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    if (!active) return undefined;
    setNow(Date.now());
    const id = setInterval(() => setNow(Date.now()), periodMs);
    return () => clearInterval(id);
  }, [periodMs, active]);
  return now;
}

class StatusError extends Error {
  constructor(kind, details = {}) {
    super(kind);
    this.kind = kind;
    this.details = details;
  }
}

const looksLikeStatus = (b) =>
  b !== null && typeof b === 'object' && typeof b.version === 'string' && b.db !== null && typeof b.db === 'object';

async function fetchStatus(signal) {
  let res;
  try {
    res = await fetch(STATUS_URL, { headers: { Accept: 'application/json' }, cache: 'no-store', signal });
  } catch (e) {
    if (signal.aborted) throw e;
    throw new StatusError('network');
  }
  let body = null;
  try {
    body = await res.json();
  } catch {
    /* handled below */
  }
  if (!res.ok) {
    const err = body?.error;
    if (err && typeof err.code === 'string') {
      throw new StatusError('api', {
        code: err.code,
        message: String(err.message ?? ''),
        status: res.status,
        requestId: typeof err.request_id === 'string' ? err.request_id : '',
      });
    }
    throw new StatusError('http', { status: res.status });
  }
  if (!looksLikeStatus(body)) throw new StatusError('format');
  return body;
}

/**
 * Server status, fetched on mount, every REFRESH_MS while the page is visible,
 * and on demand through `refresh`.
 */
function useStatus() {
  const [state, setState] = useState({ data: null, fetchedAt: 0, error: null, loading: true });
  const current = useRef(null);

  const refresh = useCallback(async () => {
    current.current?.abort();
    const ctl = new AbortController();
    current.current = ctl;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ctl.abort();
    }, FETCH_TIMEOUT_MS);
    setState((s) => ({ ...s, loading: true }));
    try {
      const data = await fetchStatus(ctl.signal);
      if (current.current === ctl) setState({ data, fetchedAt: Date.now(), error: null, loading: false });
    } catch (e) {
      if (current.current !== ctl) return; // superseded by a newer request
      const error = e instanceof StatusError ? e : new StatusError(timedOut ? 'timeout' : 'network');
      setState((s) => ({ ...s, error, loading: false }));
    } finally {
      clearTimeout(timer);
    }
  }, []);

  useEffect(() => {
    refresh();
    const id = setInterval(() => {
      if (document.visibilityState === 'visible') refresh();
    }, REFRESH_MS);
    const onVisible = () => {
      if (document.visibilityState === 'visible') refresh();
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      clearInterval(id);
      document.removeEventListener('visibilitychange', onVisible);
      current.current?.abort();
    };
  }, [refresh]);

  return { ...state, refresh };
}

// ---------------------------------------------------------------------------
// Status page

function errorText(error) {
  const d = error.details;
  switch (error.kind) {
    case 'api':
      return t('status.error.api', { message: d.message, code: d.code });
    case 'http':
      return t('status.error.http', { status: d.status });
    case 'timeout':
      return t('status.error.timeout');
    case 'format':
      return t('status.error.format');
    default:
      return t('status.error.network');
  }
}

function HealthBadge({ health }) {
  return html`<span class="badge badge-${health}" data-testid="status-health" data-health=${health}>
    <span class="badge-dot" aria-hidden="true"></span>${t(`status.health.${health}`)}
  </span>`;
}

const dash = '—';
const show = (v) => (v === undefined || v === null || v === '' ? dash : String(v));

function Field({ label, testid, mono, title, children }) {
  return html`<div class="field">
    <dt>${label}</dt>
    <dd class=${mono ? 'mono' : ''} data-testid=${testid} title=${title}>${children}</dd>
  </div>`;
}

function StatusPage() {
  const { data, fetchedAt, error, loading, refresh } = useStatus();
  // Tick the uptime locally between refreshes while the server answers.
  const now = useNow(1000, Boolean(data) && !error);

  const health = error ? 'unhealthy' : !data ? 'unknown' : data.db.ok === true ? 'healthy' : 'unhealthy';
  const uptime = data ? Number(data.uptime_s) + (error ? 0 : Math.max(0, (now - fetchedAt) / 1000)) : 0;
  const started = data ? new Date(data.started_at) : null;
  const startedOk = started && !Number.isNaN(started.getTime());
  const db = data?.db ?? {};

  return html`<section class="page" aria-labelledby="page-title">
    <div class="page-head">
      <div>
        <h1 id="page-title">${t('status.title')}</h1>
        <p class="page-sub">${t('status.subtitle')}</p>
      </div>
      <div class="page-actions">
        <${HealthBadge} health=${health} />
        <button type="button" class="btn" data-testid="status-refresh" onClick=${refresh} disabled=${loading}>
          <${Icon} name="refresh" class=${loading ? 'icon spin' : 'icon'} />
          ${loading && data ? t('status.refreshing') : t('status.refresh')}
        </button>
      </div>
    </div>

    <p class="page-meta" aria-live="polite">
      ${fetchedAt ? html`<span data-testid="status-updated">${t('status.updated', { time: formatTime(fetchedAt) })}</span>` : null}
      <span>${t('status.auto', { n: REFRESH_MS / 1000 })}</span>
    </p>

    ${error &&
    html`<div class="alert" role="alert" data-testid="status-error" data-kind=${error.kind}>
      <${Icon} name="alert" class="icon alert-icon" />
      <div class="alert-body">
        <strong>${t('status.error.title')}</strong>
        <p>${errorText(error)}</p>
        ${error.details.requestId &&
        html`<p class="alert-meta">${t('status.error.request', { id: error.details.requestId })}</p>`}
        ${data && html`<p class="alert-stale">${t('status.error.stale', { time: formatTime(fetchedAt) })}</p>`}
      </div>
      <button type="button" class="btn btn-small" onClick=${refresh} disabled=${loading}>${t('status.retry')}</button>
    </div>`}

    ${!data && !error && html`<div class="loading" data-testid="status-loading">${t('status.loading')}</div>`}

    ${data &&
    html`<div class=${error ? 'cards is-stale' : 'cards'}>
      <article class="card">
        <h2 class="card-title"><${Icon} name="server" />${t('status.server')}</h2>
        <dl class="fields">
          <${Field} label=${t('status.name')} testid="status-name">${show(data.name)}<//>
          <${Field} label=${t('status.version')} testid="status-version" mono>${show(data.version)}<//>
          <${Field} label=${t('status.uptime')} testid="status-uptime">${formatDuration(uptime)}<//>
          <${Field} label=${t('status.started')} testid="status-started" title=${show(data.started_at)}>
            ${startedOk ? formatDateTime(started) : show(data.started_at)}
          <//>
        </dl>
      </article>
      <article class="card">
        <h2 class="card-title"><${Icon} name="database" />${t('status.db')}</h2>
        <dl class="fields">
          <${Field} label=${t('status.db.backend')} testid="status-db-backend">${show(db.backend)}<//>
          <${Field} label=${t('status.db.path')} testid="status-db-path" mono>${show(db.path)}<//>
          <${Field} label=${t('status.db.schema')} testid="status-db-schema">${show(db.schema_version)}<//>
          ${Number.isInteger(db.schema_latest) &&
          db.schema_latest !== db.schema_version &&
          html`<${Field} label=${t('status.db.schema.latest')} testid="status-db-schema-latest">
            <span class="bad">${db.schema_latest}</span>
          <//>`}
          <${Field} label=${t('status.db.journal')} testid="status-db-journal">${show(db.journal_mode)}<//>
          <${Field}
            label=${t('status.db.size')}
            testid="status-db-size"
            title=${Number.isFinite(db.size_bytes) ? formatByteCount(db.size_bytes) : undefined}
          >
            ${Number.isFinite(db.size_bytes) ? formatBytes(db.size_bytes) : dash}
          <//>
          <${Field} label=${t('status.db.ok')} testid="status-db-ok">
            <span class=${db.ok === true ? 'ok' : 'bad'}>${t(db.ok === true ? 'status.db.ok.yes' : 'status.db.ok.no')}</span>
          <//>
        </dl>
      </article>
    </div>`}
  </section>`;
}

// ---------------------------------------------------------------------------
// Placeholder pages

function SoonPage({ id }) {
  return html`<section class="page" aria-labelledby="page-title">
    <div class="empty">
      <${Icon} name=${id} class="icon empty-icon" />
      <h1 id="page-title">${t('page.soon.title', { name: t(`nav.${id}`) })}</h1>
      <p class="empty-desc">${t(`desc.${id}`)}</p>
      <p>${t('page.soon.body')}</p>
      <a class="btn" href="#/status">${t('page.back')}</a>
    </div>
  </section>`;
}

function NotFoundPage() {
  return html`<section class="page" aria-labelledby="page-title">
    <div class="empty" data-testid="not-found">
      <h1 id="page-title">${t('page.notfound.title')}</h1>
      <p>${t('page.notfound.body')}</p>
      <a class="btn" href="#/status">${t('page.back')}</a>
    </div>
  </section>`;
}

// ---------------------------------------------------------------------------
// Shell: header, navigation, main area

function LangSwitch({ lang, onChange }) {
  return html`<div class="lang-switch" role="group" aria-label=${t('header.lang')} data-testid="lang-switch">
    ${LANGS.map(
      (l) => html`<button
        type="button"
        lang=${l.code}
        aria-pressed=${String(l.code === lang)}
        data-testid=${`lang-${l.code}`}
        onClick=${() => onChange(l.code)}
      >
        ${l.label}
      </button>`,
    )}
  </div>`;
}

function Nav({ route, open }) {
  const item = (n) => {
    const label = t(`nav.${n.id}`);
    if (n.enabled) {
      return html`<li>
        <a
          class="nav-item"
          href=${`#/${n.id}`}
          aria-current=${route === n.id ? 'page' : undefined}
          data-testid=${`nav-${n.id}`}
        >
          <${Icon} name=${n.id} /><span class="nav-label">${label}</span>
        </a>
      </li>`;
    }
    return html`<li>
      <span class="nav-item is-disabled" aria-disabled="true" data-testid=${`nav-${n.id}`}>
        <${Icon} name=${n.id} /><span class="nav-label">${label}</span>
        <span class="nav-soon">${t('nav.soon')}</span>
      </span>
    </li>`;
  };
  return html`<nav id="nav" class=${open ? 'nav is-open' : 'nav'} aria-label=${t('nav.label')}>
    <p class="nav-heading">${t('nav.available')}</p>
    <ul>
      ${NAV.filter((n) => n.enabled).map(item)}
    </ul>
    <p class="nav-heading">${t('nav.planned')}</p>
    <ul>
      ${NAV.filter((n) => !n.enabled).map(item)}
    </ul>
  </nav>`;
}

function App() {
  const [lang, setLangState] = useState(getLang);
  const [menuOpen, setMenuOpen] = useState(false);
  const route = useHashRoute();
  const entry = NAV.find((n) => n.id === route);

  const changeLang = (code) => {
    setLang(code);
    setLangState(code);
  };

  // Close the phone menu on navigation and on Escape.
  useEffect(() => setMenuOpen(false), [route]);
  useEffect(() => {
    const onKey = (e) => e.key === 'Escape' && setMenuOpen(false);
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  useEffect(() => {
    const page = entry ? t(`nav.${entry.id}`) : t('page.notfound.title');
    document.title = `${page} · ${t('app.name')}`;
  }, [lang, route]);

  let page;
  if (!entry) page = html`<${NotFoundPage} />`;
  else if (entry.id === 'status') page = html`<${StatusPage} />`;
  else page = html`<${SoonPage} id=${entry.id} />`;

  return html`
    <a class="skip" href="#main" onClick=${(e) => {
      e.preventDefault();
      document.getElementById('main')?.focus();
    }}>${t('app.skip')}</a>
    <header class="topbar">
      <button
        type="button"
        class="menu-btn"
        aria-controls="nav"
        aria-expanded=${String(menuOpen)}
        aria-label=${menuOpen ? t('header.menu.close') : t('header.menu.open')}
        data-testid="menu-toggle"
        onClick=${() => setMenuOpen(!menuOpen)}
      >
        <${Icon} name=${menuOpen ? 'close' : 'menu'} />
      </button>
      <a class="brand" href="#/status">
        <img class="brand-logo" src="favicon.svg" alt="" width="32" height="32" />
        <span class="brand-text">
          <span class="brand-name" data-testid="app-name">${t('app.name')}</span>
          <span class="brand-tag">${t('app.tagline')}</span>
        </span>
      </a>
      <${LangSwitch} lang=${lang} onChange=${changeLang} />
    </header>
    <div class="layout">
      <${Nav} route=${route} open=${menuOpen} />
      ${menuOpen && html`<div class="backdrop" data-testid="menu-backdrop" onClick=${() => setMenuOpen(false)}></div>`}
      <main id="main" class="main" tabindex="-1">${page}</main>
    </div>
  `;
}

render(html`<${App} />`, document.getElementById('app'));
