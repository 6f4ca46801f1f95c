// app.js: the civgrid web UI shell (Preact + htm, no build step): header,
// navigation, the session, routing, and the status page.
//
// Hash routing (#/status, #/admin/users, ...) because civgridd serves only
// real files and the API: any other path is a 404.

import { render } from './vendor/preact.js';
import { useCallback, useEffect, useMemo, useRef, useState } from './vendor/preact-hooks.js';
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
import { api, hasSession, forgetSession, onSessionError } from './api.js';
import { SessionContext, can, parseHash, navigate, nextTarget, loginPath } from './session.js';
import { html, Icon, ErrorAlert, useNow } from './ui.js';
import { LoginPage, PasswordPage, TotpPage, UserMenu } from './account.js';
import { UsersPage, AuditPage } from './admin.js';
import { EventsPage, EventPage, eventIdOf, isCitizen } from './events.js';
import { ReportPage } from './event-report.js';
import { KpiPage } from './kpi.js';
import { flush as flushOutbox } from './outbox.js';

const STATUS_URL = 'api/v1/status';
const REFRESH_MS = 10_000;
const FETCH_TIMEOUT_MS = 8_000;
const DEFAULT_ROUTE = 'status';

// ---------------------------------------------------------------------------
// Routes and navigation
//
// auth: 'public' (anyone), 'session' (any signed-in account) or a permission.

const ADMIN_PAGES = [
  { path: 'admin/users', id: 'users', icon: 'users', auth: 'user.read' },
  { path: 'admin/audit', id: 'audit', icon: 'audit', auth: 'audit.read' },
];

// Capabilities of the product specification that are not built yet, in its order.
const SOON = ['registries', 'mediation', 'hotline', 'consultation', 'analytics'];

const ROUTES = {
  status: { auth: 'public', title: 'nav.status' },
  map: { auth: 'grid.read', title: 'nav.grid' },
  events: { auth: 'event.read', title: 'nav.events' },
  'events/:id': { auth: 'event.read', title: 'event.page' },
  event: { auth: 'event.read', title: 'event.page' },
  command: { auth: 'stats.read', title: 'nav.command' },
  kpi: { auth: 'stats.read', title: 'nav.kpi' },
  report: { auth: 'event.report', title: 'report.title' },
  my: { auth: 'event.read', title: 'nav.my' },
  login: { auth: 'public', title: 'login.title' },
  'account/password': { auth: 'session', title: 'password.title' },
  'account/totp': { auth: 'session', title: 'totp.title' },
  admin: { auth: 'session', title: 'nav.admin' },
  ...Object.fromEntries(ADMIN_PAGES.map((p) => [p.path, { auth: p.auth, title: `nav.admin.${p.id}` }])),
  ...Object.fromEntries(SOON.map((id) => [id, { auth: 'session', title: `nav.${id}`, soon: id }])),
};

/** The key in ROUTES of a path: events/12 is events/:id. */
const routeKey = (path) => (/^events\/\d+$/.test(path) ? 'events/:id' : path);

const adminPagesOf = (me) => ADMIN_PAGES.filter((p) => can(me, p.auth));

function useHashRoute() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const onChange = () => setHash(location.hash);
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return useMemo(() => {
    const r = parseHash(hash);
    return { ...r, path: r.path || DEFAULT_ROUTE };
  }, [hash]);
}

/**
 * Where the route must send the user instead, or null. Signed-out users go
 * to sign-in (and come back afterwards); an account that must change its
 * password or set up a second factor is held on that page until it has.
 */
function redirectFor(route, def, session) {
  const { state, me } = session;
  if (state === 'loading' || !def) return null;
  if (state !== 'signed-in') {
    return def.auth === 'public' ? null : loginPath(route.full);
  }
  if (route.path === 'login') return nextTarget(route.query);
  const back = route.query.get('next') || route.full;
  const withNext = (p) => `${p}?next=${encodeURIComponent(back)}`;
  if (me.must_change_password && route.path !== 'account/password') return withNext('/account/password');
  if (!me.must_change_password && me.must_enrol_totp && !route.path.startsWith('account/')) {
    return withNext('/account/totp');
  }
  if (route.path === 'admin') {
    const first = adminPagesOf(me)[0];
    return first ? `/${first.path}` : null;
  }
  return null;
}

// ---------------------------------------------------------------------------
// Session
//
// The account as last seen online is kept (ME_KEY: login, name, roles, scope,
// permissions) so that a phone opened without a network still shows its
// pages, the report form and the outbox above all: only while the browser
// holds a session cookie, marked `offline`, and checked again as soon as the
// network is back. The server decides every request anyway.

const ME_KEY = 'civgrid.me';
const ME_FIELDS = ['id', 'login', 'name', 'display_name', 'roles', 'scope', 'permissions', 'must_change_password', 'must_enrol_totp'];

function keepMe(me) {
  try {
    if (me) localStorage.setItem(ME_KEY, JSON.stringify(Object.fromEntries(ME_FIELDS.filter((k) => k in me).map((k) => [k, me[k]]))));
    else localStorage.removeItem(ME_KEY);
  } catch {
    /* not kept: offline, the app shows the session error */
  }
}

function keptMe() {
  try {
    const me = JSON.parse(localStorage.getItem(ME_KEY) ?? 'null');
    return me && typeof me.login === 'string' && Array.isArray(me.permissions) ? me : null;
  } catch {
    return null;
  }
}

function useSessionState() {
  const [session, setSession] = useState(() => ({
    state: hasSession() ? 'loading' : 'anonymous',
    me: null,
    error: null,
    expired: false,
  }));

  const reload = useCallback(async () => {
    if (!hasSession()) {
      keepMe(null);
      setSession({ state: 'anonymous', me: null, error: null, expired: false });
      return null;
    }
    try {
      const me = await api('api/v1/auth/me', { quiet: true });
      keepMe(me);
      setSession({ state: 'signed-in', me, error: null, expired: false });
      return me;
    } catch (error) {
      if (error.code === 'unauthenticated') {
        forgetSession();
        keepMe(null);
        setSession({ state: 'anonymous', me: null, error: null, expired: true });
      } else {
        // A passing failure (network, server busy) keeps a known account signed in;
        // without a network, the account last seen (see ME_KEY).
        const kept = error.code === 'network' ? keptMe() : null;
        setSession((s) =>
          s.me ? s : kept ? { state: 'signed-in', me: kept, error: null, expired: false, offline: true } : { ...s, state: 'error', error },
        );
      }
      return null;
    }
  }, []);

  const signOut = useCallback(async (all) => {
    try {
      await api(all ? 'api/v1/auth/logout-all' : 'api/v1/auth/logout', { method: 'POST', quiet: true });
    } catch {
      /* the session is gone either way for this browser */
    }
    forgetSession();
    keepMe(null);
    setSession({ state: 'anonymous', me: null, error: null, expired: false });
    navigate('/login');
  }, []);

  useEffect(() => {
    reload();
    // Any API call may learn that the session has ended or is restricted.
    onSessionError((err) => {
      if (err.code === 'unauthenticated') {
        forgetSession();
        keepMe(null);
        setSession({ state: 'anonymous', me: null, error: null, expired: true });
      } else {
        reload();
      }
    });
    // An account taken from ME_KEY while offline is checked once the network is back.
    window.addEventListener('online', reload);
    // Back to a tab left open: the session may have ended (idle timeout, sign-out
    // elsewhere) or its roles changed meanwhile.
    const onVisible = () => document.visibilityState === 'visible' && hasSession() && reload();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      onSessionError(null);
      window.removeEventListener('online', reload);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [reload]);

  return useMemo(() => ({ ...session, reload, signOut }), [session, reload, signOut]);
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

function statusErrorText(error) {
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
        <p>${statusErrorText(error)}</p>
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
// The map page (map.js), loaded the first time it is opened: it brings Leaflet.

let mapModule = null;

function MapRoute({ query }) {
  const [mod, setMod] = useState(mapModule);
  const [error, setError] = useState(null);
  useEffect(() => {
    if (mod) return;
    import('./map.js').then(
      (m) => {
        mapModule = m;
        setMod(m);
      },
      () => setError({ code: 'network' }),
    );
  }, []);
  if (error) return html`<section class="page"><${ErrorAlert} error=${error} testid="page-load-error" /></section>`;
  if (!mod) return html`<${LoadingPage} />`;
  return html`<${mod.MapPage} query=${query} />`;
}

// ---------------------------------------------------------------------------
// Coming-soon pages

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

function ForbiddenPage() {
  return html`<section class="page" aria-labelledby="page-title">
    <div class="empty" data-testid="forbidden">
      <${Icon} name="shield" class="icon empty-icon" />
      <h1 id="page-title">${t('page.forbidden.title')}</h1>
      <p>${t('page.forbidden.body')}</p>
      <a class="btn" href="#/status">${t('page.back')}</a>
    </div>
  </section>`;
}

function LoadingPage() {
  return html`<section class="page"><div class="loading" data-testid="page-loading">${t('common.loading')}</div></section>`;
}

function SessionErrorPage({ error, onRetry }) {
  return html`<section class="page" aria-labelledby="page-title">
    <h1 id="page-title" class="sr-only">${t('session.error.title')}</h1>
    <${ErrorAlert} error=${error} title=${t('session.error.title')} testid="session-error" />
    <button type="button" class="btn" onClick=${onRetry}>${t('status.retry')}</button>
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

function Nav({ route, open, me }) {
  const link = (path, id, icon, label, sub = false) => html`<li>
    <a
      class=${sub ? 'nav-item nav-sub' : 'nav-item'}
      href=${`#/${path}`}
      aria-current=${route.path === path ? 'page' : undefined}
      data-testid=${`nav-${id}`}
    >
      <${Icon} name=${icon} /><span class="nav-label">${label}</span>
    </a>
  </li>`;
  const soon = (id) => html`<li>
    <span class="nav-item is-disabled" aria-disabled="true" data-testid=${`nav-${id}`}>
      <${Icon} name=${id} /><span class="nav-label">${t(`nav.${id}`)}</span>
      <span class="nav-soon">${t('nav.soon')}</span>
    </span>
  </li>`;
  const admin = adminPagesOf(me);
  return html`<nav id="nav" class=${open ? 'nav is-open' : 'nav'} aria-label=${t('nav.label')}>
    <p class="nav-heading">${t('nav.available')}</p>
    <ul>
      ${link('status', 'status', 'status', t('nav.status'))}
      ${(!me || can(me, 'grid.read')) && link('map', 'map', 'grid', t('nav.grid'))}
      ${me && can(me, 'stats.read') && link('command', 'command', 'command', t('nav.command'))}
      ${me && can(me, 'stats.read') && link('kpi', 'kpi', 'analytics', t('nav.kpi'))}
      ${(!me || (can(me, 'event.read') && !isCitizen(me))) && link('events', 'events', 'events', t('nav.events'))}
      ${me && can(me, 'event.report') && link('report', 'report', 'plus', t('report.title'))}
      ${me && isCitizen(me) && link('my', 'my', 'audit', t('nav.my'))}
    </ul>
    ${admin.length > 0 &&
    html`<p class="nav-heading" data-testid="nav-admin">${t('nav.admin')}</p>
      <ul aria-label=${t('nav.admin')}>
        ${admin.map((p) => link(p.path, `admin-${p.id}`, p.icon, t(`nav.admin.${p.id}`)))}
      </ul>`}
    <p class="nav-heading">${t('nav.planned')}</p>
    <ul>
      ${SOON.map(soon)}
    </ul>
  </nav>`;
}

function Page({ route, def, session }) {
  if (!def) return html`<${NotFoundPage} />`;
  if (def.auth === 'public') {
    if (route.path === 'login') {
      return session.state === 'signed-in' ? html`<${LoadingPage} />` : html`<${LoginPage} />`;
    }
    return html`<${StatusPage} />`;
  }
  if (session.state === 'error') return html`<${SessionErrorPage} error=${session.error} onRetry=${session.reload} />`;
  if (session.state !== 'signed-in') return html`<${LoadingPage} />`;
  if (def.auth !== 'session' && !can(session.me, def.auth)) return html`<${ForbiddenPage} />`;
  switch (routeKey(route.path)) {
    case 'account/password':
      return html`<${PasswordPage} query=${route.query} />`;
    case 'account/totp':
      return html`<${TotpPage} query=${route.query} />`;
    case 'admin/users':
      return html`<${UsersPage} />`;
    case 'admin/audit':
      return html`<${AuditPage} />`;
    case 'map':
      return html`<${MapRoute} query=${route.query} />`;
    case 'events':
      return html`<${EventsPage} query=${route.query} mode="queue" />`;
    case 'command':
      return html`<${EventsPage} query=${route.query} mode="command" />`;
    case 'kpi':
      return html`<${KpiPage} query=${route.query} />`;
    case 'my':
      return html`<${EventsPage} query=${route.query} mode="my" />`;
    case 'report':
      return html`<${ReportPage} />`;
    case 'event':
    case 'events/:id':
      return eventIdOf(route) ? html`<${EventPage} id=${eventIdOf(route)} />` : html`<${NotFoundPage} />`;
    case 'admin':
      return html`<${ForbiddenPage} />`;
    default:
      return html`<${SoonPage} id=${def.soon} />`;
  }
}

function App() {
  const [lang, setLangState] = useState(getLang);
  const [menuOpen, setMenuOpen] = useState(false);
  const route = useHashRoute();
  const session = useSessionState();
  const def = Object.hasOwn(ROUTES, routeKey(route.path)) ? ROUTES[routeKey(route.path)] : null;
  const redirect = redirectFor(route, def, session);

  const changeLang = (code) => {
    setLang(code);
    setLangState(code);
  };

  useEffect(() => {
    // Only from the route it was computed for: never undo a newer navigation.
    if (redirect && parseHash().full === route.full) navigate(redirect, { replace: true });
  }, [redirect, route.full]);

  // Close the phone menu on navigation and on Escape.
  useEffect(() => setMenuOpen(false), [route.full]);
  useEffect(() => {
    const onKey = (e) => e.key === 'Escape' && setMenuOpen(false);
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  // Reports queued offline (outbox.js) go out when the session is known and
  // whenever the browser is back online.
  const login = session.state === 'signed-in' ? session.me.login : '';
  useEffect(() => {
    if (!login) return undefined;
    flushOutbox(login);
    const onOnline = () => flushOutbox(login);
    window.addEventListener('online', onOnline);
    return () => window.removeEventListener('online', onOnline);
  }, [login]);

  useEffect(() => {
    const page = def ? t(def.title) : t('page.notfound.title');
    document.title = `${page} · ${t('app.name')}`;
  }, [lang, route.path]);

  const signedIn = session.state === 'signed-in';
  return html`<${SessionContext.Provider} value=${session}>
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
      ${signedIn && html`<${UserMenu} me=${session.me} route=${route.full} />`}
      ${session.state === 'anonymous' &&
      route.path !== 'login' &&
      html`<a class="btn btn-primary btn-small header-login" href=${`#${loginPath(route.full)}`} data-testid="header-login">
        <${Icon} name="login" /><span>${t('header.login')}</span>
      </a>`}
    </header>
    <div class="layout">
      <${Nav} route=${route} open=${menuOpen} me=${signedIn ? session.me : null} />
      ${menuOpen && html`<div class="backdrop" data-testid="menu-backdrop" onClick=${() => setMenuOpen(false)}></div>`}
      <main id="main" class="main" tabindex="-1">
        ${redirect ? html`<${LoadingPage} />` : html`<${Page} route=${route} def=${def} session=${session} />`}
      </main>
    </div>
  <//>`;
}

render(html`<${App} />`, document.getElementById('app'));

// The service worker (sw.js) keeps the app shell so that the app opens without a network
// once it has been opened with one. Browsers allow it on https and on localhost only.
if ('serviceWorker' in navigator && window.isSecureContext) {
  navigator.serviceWorker
    .register('sw.js')
    .then(() => navigator.serviceWorker.ready)
    .then((reg) => {
      // The files this page loaded before the worker was there (see sw.js, "message").
      const urls = performance.getEntriesByType('resource').map((e) => e.name);
      reg.active?.postMessage({ type: 'keep', urls: [location.href.split('#')[0], ...urls] });
    })
    .catch(() => {
      /* no offline shell: the app works as before */
    });
}
