// admin.js: system administration pages: accounts (#/admin/users) and the
// audit log (#/admin/audit). Every action is offered only with the permission
// its API route requires (src/app/routes.def); the server checks again.

import { useCallback, useEffect, useMemo, useRef, useState } from './vendor/preact-hooks.js';
import { api } from './api.js';
import { t, getLang, has, formatDateTime } from './i18n.js';
import { can, useSession } from './session.js';
import {
  html,
  Icon,
  Dialog,
  ErrorAlert,
  Notice,
  TextField,
  SelectField,
  PasswordRules,
  fieldError,
  formLevelError,
  randomPassword,
  copyText,
  newId,
  useNow,
  useFocusInvalid,
  useLoad,
} from './ui.js';

const USERS_PAGE = 20;
const AUDIT_PAGE = 50;
const REVEAL_SHOW_S = 30;
const ADMIN_ROLES = new Set(['sys_admin', 'sec_admin', 'audit_admin']);

const dash = '—';

// ---------------------------------------------------------------------------
// Roles and scopes

function useRoles() {
  const { data } = useLoad((signal) => api('api/v1/roles', { signal }), []);
  return data?.roles ?? null;
}

function roleLabel(roles, name) {
  const r = roles?.find((x) => x.name === name);
  if (!r) return name;
  return getLang() === 'en' ? r.label_en : r.label_zh;
}

function parseScope(scope) {
  const s = String(scope ?? '');
  const i = s.indexOf(':');
  return i < 0 ? { kind: s || 'own', ref: '' } : { kind: s.slice(0, i), ref: s.slice(i + 1) };
}

const buildScope = ({ kind, ref }) => (kind === 'grid' || kind === 'department' ? `${kind}:${ref.trim()}` : kind);

export function scopeText(scope) {
  const { kind, ref } = parseScope(scope);
  return has(`scope.${kind}.show`) ? t(`scope.${kind}.show`, { ref }) : String(scope);
}

/** Role check boxes: business roles, then the three administrators (each alone). */
function RolePicker({ roles, value, onChange, error, testid = 'roles' }) {
  const errId = useRef(newId('roles-err')).current;
  if (!roles) return html`<p class="form-hint">${t('common.loading')}</p>`;
  const toggle = (name, on) => {
    let next;
    if (!on) next = value.filter((r) => r !== name);
    else if (ADMIN_ROLES.has(name)) next = [name];
    else next = [...value.filter((r) => !ADMIN_ROLES.has(r)), name];
    onChange(next);
  };
  const groups = [
    { key: 'business', list: roles.filter((r) => !r.admin_kind) },
    { key: 'admin', list: roles.filter((r) => r.admin_kind) },
  ];
  return html`<fieldset
    class="form-field roles-field"
    data-testid=${testid}
    data-invalid=${error ? 'true' : undefined}
    aria-describedby=${error ? errId : undefined}
  >
    <legend>${t('users.field.roles')}</legend>
    ${groups.map(
      (g) => html`<div class="role-group">
        <p class="role-group-title">${t(`users.roles.${g.key}`)}</p>
        <div class="role-list">
          ${g.list.map(
            (r) => html`<label class="check role-check">
              <input
                type="checkbox"
                value=${r.name}
                checked=${value.includes(r.name)}
                data-testid=${`role-${r.name}`}
                onChange=${(e) => toggle(r.name, e.currentTarget.checked)}
              />
              <span>${getLang() === 'en' ? r.label_en : r.label_zh}</span>
            </label>`,
          )}
        </div>
      </div>`,
    )}
    <p class="form-hint">${t('users.roles.hint')}</p>
    ${error && html`<p class="form-error" id=${errId}>${error}</p>`}
  </fieldset>`;
}

/** Scope: the whole city, a grid subtree (code prefix), a department, or own items. */
function ScopeBuilder({ value, onChange, roles, error }) {
  const name = useRef(newId('scope')).current;
  const refId = `${name}-ref`;
  const admin = roles.some((r) => ADMIN_ROLES.has(r));
  const citizen = roles.includes('citizen');
  const fixed = admin ? 'all' : citizen ? 'own' : null;
  useEffect(() => {
    if (fixed && value.kind !== fixed) onChange({ kind: fixed, ref: '' });
  }, [fixed]);
  // Shown as fixed at once; the state follows in the effect above.
  if (fixed && value.kind !== fixed) value = { kind: fixed, ref: '' };
  const kinds = ['all', 'grid', 'department', 'own'];
  return html`<fieldset class="form-field scope-field" data-testid="scope" data-invalid=${error ? 'true' : undefined}>
    <legend>${t('users.field.scope')}</legend>
    <div class="scope-kinds" role="radiogroup">
      ${kinds.map(
        (k) => html`<label class="check">
          <input
            type="radio"
            name=${name}
            value=${k}
            checked=${value.kind === k}
            disabled=${fixed && fixed !== k}
            data-testid=${`scope-${k}`}
            onChange=${() => onChange({ kind: k, ref: k === value.kind ? value.ref : '' })}
          />
          ${t(`scope.${k}`)}
        </label>`,
      )}
    </div>
    ${(value.kind === 'grid' || value.kind === 'department') &&
    html`<div class="scope-ref">
      <label for=${refId}>${t(`scope.${value.kind}.ref`)}</label>
      <input
        id=${refId}
        value=${value.ref}
        inputmode=${value.kind === 'grid' ? 'numeric' : undefined}
        placeholder=${t(`scope.${value.kind}.placeholder`)}
        aria-invalid=${error ? 'true' : undefined}
        data-testid="scope-ref"
        onInput=${(e) => onChange({ kind: value.kind, ref: e.currentTarget.value })}
      />
    </div>`}
    <p class="form-hint">${fixed ? t(`scope.fixed.${fixed}`) : t('scope.hint')}</p>
    ${error && html`<p class="form-error">${error}</p>`}
  </fieldset>`;
}

/** Client-side checks of roles and scope, in the words of the form. */
function checkRolesScope(roles, scope) {
  const problems = {};
  if (!roles.length) problems.roles = t('users.error.roles');
  if ((scope.kind === 'grid' || scope.kind === 'department') && !scope.ref.trim()) {
    problems.scope = t(`scope.error.${scope.kind}`);
  } else if (scope.kind === 'grid' && !/^\d+$/.test(scope.ref.trim())) {
    problems.scope = t('scope.error.grid_digits');
  }
  return problems;
}

// ---------------------------------------------------------------------------
// Dialogs of the accounts page

function CreateUserDialog({ roles, onClose, onCreated }) {
  const ids = useRef({ login: newId('u'), name: newId('u'), pw: newId('u'), phone: newId('u') }).current;
  const [form, setForm] = useState({ login: '', display_name: '', password: '', phone: '' });
  const [picked, setPicked] = useState([]);
  const [scope, setScope] = useState({ kind: 'grid', ref: '' });
  const [showPw, setShowPw] = useState(false);
  const [local, setLocal] = useState({});
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const formRef = useRef(null);
  const [failures, setFailures] = useState(0); // failed submits: each moves the focus once
  useFocusInvalid(formRef, failures);
  const set = (k) => (v) => setForm((f) => ({ ...f, [k]: v }));

  const submit = async (e) => {
    e.preventDefault();
    const problems = checkRolesScope(picked, scope);
    if (!form.login.trim()) problems.login = t('users.error.login');
    if (!form.display_name.trim()) problems.display_name = t('users.error.name');
    if (!form.password) problems.password = t('users.error.password');
    setLocal(problems);
    setError(null);
    if (Object.keys(problems).length) {
      setFailures((n) => n + 1);
      return;
    }
    setBusy(true);
    try {
      const body = {
        login: form.login.trim(),
        display_name: form.display_name.trim(),
        password: form.password,
        roles: picked,
        scope: buildScope(scope),
      };
      if (form.phone.trim()) body.phone = form.phone.trim();
      const account = await api('api/v1/users', { method: 'POST', body });
      onCreated(account);
    } catch (err) {
      // The phone number check names no field (pii.c): place it by its message.
      if (!err.field && /^phone number /.test(err.serverMessage)) err.field = 'phone';
      setError(err);
      setFailures((n) => n + 1);
    } finally {
      setBusy(false);
    }
  };

  const err = (f) => local[f] || fieldError(error, f);
  const fields = ['login', 'display_name', 'password', 'phone', 'roles', 'scope'];
  return html`<${Dialog} title=${t('users.create.title')} onClose=${onClose} testid="create-dialog" wide>
    <form class="form" onSubmit=${submit} novalidate ref=${formRef}>
      <div class="form-grid">
        <${TextField}
          id=${ids.login}
          label=${t('users.field.login')}
          value=${form.login}
          onInput=${set('login')}
          hint=${t('users.login.hint')}
          autocapitalize="off"
          spellcheck="false"
          required
          error=${err('login')}
          testid="create-login"
        />
        <${TextField}
          id=${ids.name}
          label=${t('users.field.name')}
          value=${form.display_name}
          onInput=${set('display_name')}
          required
          error=${err('display_name')}
          testid="create-name"
        />
        <div class="form-field-group">
          <${TextField}
            id=${ids.pw}
            label=${t('users.field.password')}
            type=${showPw ? 'text' : 'password'}
            value=${form.password}
            onInput=${set('password')}
            autocomplete="new-password"
            required
            error=${err('password')}
            testid="create-password"
          />
          <div class="inline-actions">
            <button
              type="button"
              class="link-btn"
              data-testid="create-generate"
              onClick=${() => {
                set('password')(randomPassword());
                setShowPw(true);
              }}
            >
              ${t('users.password.generate')}
            </button>
            <button type="button" class="link-btn" onClick=${() => setShowPw(!showPw)}>
              ${showPw ? t('users.password.hide') : t('users.password.show')}
            </button>
          </div>
          <${PasswordRules} password=${form.password} login=${form.login.trim()} />
        </div>
        <${TextField}
          id=${ids.phone}
          label=${t('users.field.phone')}
          type="tel"
          value=${form.phone}
          onInput=${set('phone')}
          hint=${t('users.phone.hint')}
          error=${err('phone')}
          testid="create-phone"
        />
      </div>
      <${RolePicker} roles=${roles} value=${picked} onChange=${setPicked} error=${err('roles')} />
      <${ScopeBuilder} value=${scope} onChange=${setScope} roles=${picked} error=${err('scope')} />
      <${ErrorAlert} error=${formLevelError(error, fields)} />
      <div class="form-actions">
        <button type="submit" class="btn btn-primary" disabled=${busy} data-testid="create-submit">
          ${busy ? t('common.saving') : t('users.create.submit')}
        </button>
        <button type="button" class="btn" onClick=${onClose}>${t('common.cancel')}</button>
      </div>
    </form>
  <//>`;
}

function RolesDialog({ user, roles, onClose, onSaved }) {
  const [picked, setPicked] = useState(user.roles ?? []);
  const [scope, setScope] = useState(parseScope(user.scope));
  const [local, setLocal] = useState({});
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const formRef = useRef(null);
  const [failures, setFailures] = useState(0); // failed submits: each moves the focus once
  useFocusInvalid(formRef, failures);

  const submit = async (e) => {
    e.preventDefault();
    const problems = checkRolesScope(picked, scope);
    setLocal(problems);
    setError(null);
    if (Object.keys(problems).length) {
      setFailures((n) => n + 1);
      return;
    }
    setBusy(true);
    try {
      const account = await api(`api/v1/users/${user.id}/roles`, {
        method: 'PUT',
        body: { roles: picked, scope: buildScope(scope) },
      });
      onSaved(account, t('users.roles.done', { login: user.login }));
    } catch (err) {
      setError(err);
      setFailures((n) => n + 1);
    } finally {
      setBusy(false);
    }
  };
  const err = (f) => local[f] || fieldError(error, f);
  return html`<${Dialog} title=${t('users.roles.title', { login: user.login })} onClose=${onClose} testid="roles-dialog" wide>
    <form class="form" onSubmit=${submit} novalidate ref=${formRef}>
      <p class="form-hint">${t('users.roles.sessions')}</p>
      <${RolePicker} roles=${roles} value=${picked} onChange=${setPicked} error=${err('roles')} />
      <${ScopeBuilder} value=${scope} onChange=${setScope} roles=${picked} error=${err('scope')} />
      <${ErrorAlert} error=${formLevelError(error, ['roles', 'scope'])} />
      <div class="form-actions">
        <button type="submit" class="btn btn-primary" disabled=${busy} data-testid="roles-submit">
          ${busy ? t('common.saving') : t('common.save')}
        </button>
        <button type="button" class="btn" onClick=${onClose}>${t('common.cancel')}</button>
      </div>
    </form>
  <//>`;
}

function PasswordResetDialog({ user, onClose, onDone }) {
  const id = useRef(newId('reset')).current;
  const [password, setPassword] = useState('');
  const [show, setShow] = useState(false);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const [copied, setCopied] = useState(false);

  const submit = async (e) => {
    e.preventDefault();
    if (!password) {
      setError({ code: 'missing_field', field: 'password', serverMessage: t('users.error.password') });
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api(`api/v1/users/${user.id}/password`, { method: 'POST', body: { password } });
      setDone(true);
      setShow(true);
      onDone(t('users.reset.done', { login: user.login }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<${Dialog} title=${t('users.reset.title', { login: user.login })} onClose=${onClose} testid="reset-dialog">
    <form class="form" onSubmit=${submit} novalidate>
      <p class="form-hint">${t('users.reset.body')}</p>
      <${TextField}
        id=${id}
        label=${t('users.field.new_password')}
        type=${show ? 'text' : 'password'}
        value=${password}
        onInput=${setPassword}
        autocomplete="new-password"
        readonly=${done}
        error=${fieldError(error, 'password')}
        testid="reset-password"
      />
      ${!done &&
      html`<div class="inline-actions">
          <button
            type="button"
            class="link-btn"
            onClick=${() => {
              setPassword(randomPassword());
              setShow(true);
            }}
          >
            ${t('users.password.generate')}
          </button>
          <button type="button" class="link-btn" onClick=${() => setShow(!show)}>
            ${show ? t('users.password.hide') : t('users.password.show')}
          </button>
        </div>
        <${PasswordRules} password=${password} login=${user.login} />`}
      ${done &&
      html`<${Notice} kind="ok" testid="reset-done">
        ${t('users.reset.done.body')}
        <button type="button" class="link-btn" onClick=${async () => setCopied(await copyText(password))}>
          ${copied ? t('common.copied') : t('common.copy')}
        </button>
      <//>`}
      <${ErrorAlert} error=${formLevelError(error, ['password'])} />
      <div class="form-actions">
        ${!done &&
        html`<button type="submit" class="btn btn-primary" disabled=${busy} data-testid="reset-submit">
          ${busy ? t('common.saving') : t('users.reset.submit')}
        </button>`}
        <button type="button" class="btn" onClick=${onClose}>${done ? t('common.close') : t('common.cancel')}</button>
      </div>
    </form>
  <//>`;
}

function RevealDialog({ user, onClose }) {
  const id = useRef(newId('reason')).current;
  const [reason, setReason] = useState('');
  const [value, setValue] = useState(null);
  const [until, setUntil] = useState(0);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  useNow(1000, until > 0); // re-render every second while the number shows
  const left = until ? Math.max(0, Math.ceil((until - Date.now()) / 1000)) : 0;

  useEffect(() => {
    if (until && left === 0) {
      setValue(null);
      setUntil(0);
    }
  }, [until, left]);

  const submit = async (e) => {
    e.preventDefault();
    if ([...reason.trim()].length < 4) {
      setError({ code: 'invalid_input', field: 'reason', serverMessage: t('users.reveal.reason.short') });
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const res = await api(`api/v1/users/${user.id}/reveal`, {
        method: 'POST',
        body: { field: 'phone', reason: reason.trim() },
      });
      setValue(res.value);
      setUntil(Date.now() + REVEAL_SHOW_S * 1000);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<${Dialog} title=${t('users.reveal.title', { login: user.login })} onClose=${onClose} testid="reveal-dialog">
    ${value !== null
      ? html`<div class="reveal">
          <p class="reveal-value mono" data-testid="reveal-value">${value}</p>
          <p class="form-hint">${t('users.reveal.shown', { n: left })}</p>
          <div class="form-actions">
            <button type="button" class="btn" onClick=${onClose}>${t('common.close')}</button>
          </div>
        </div>`
      : html`<form class="form" onSubmit=${submit} novalidate>
          <p class="form-hint">${t('users.reveal.body', { phone: user.phone ?? dash })}</p>
          <div class="form-field">
            <label for=${id}>${t('users.reveal.reason')}</label>
            <textarea
              id=${id}
              rows="3"
              maxlength="200"
              value=${reason}
              data-testid="reveal-reason"
              aria-invalid=${error?.field === 'reason' ? 'true' : undefined}
              onInput=${(e) => setReason(e.currentTarget.value)}
            ></textarea>
            ${error?.field === 'reason' && html`<p class="form-error">${fieldError(error, 'reason')}</p>`}
          </div>
          <${ErrorAlert} error=${formLevelError(error, ['reason'])} />
          <div class="form-actions">
            <button type="submit" class="btn btn-primary" disabled=${busy} data-testid="reveal-submit">
              ${busy ? t('common.working') : t('users.reveal.submit')}
            </button>
            <button type="button" class="btn" onClick=${onClose}>${t('common.cancel')}</button>
          </div>
        </form>`}
  <//>`;
}

function StatusDialog({ user, action, onClose, onSaved }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const go = async () => {
    setBusy(true);
    setError(null);
    try {
      const account = await api(`api/v1/users/${user.id}/${action}`, { method: 'POST' });
      onSaved(account, t(`users.${action}.done`, { login: user.login }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<${Dialog} title=${t(`users.${action}.title`, { login: user.login })} onClose=${onClose} testid="status-dialog">
    <p>${t(`users.${action}.body`, { login: user.login, name: user.display_name })}</p>
    <${ErrorAlert} error=${error} />
    <div class="form-actions">
      <button
        type="button"
        class=${action === 'disable' ? 'btn btn-danger' : 'btn btn-primary'}
        disabled=${busy}
        data-testid="status-confirm"
        onClick=${go}
      >
        ${busy ? t('common.working') : t(`users.action.${action}`)}
      </button>
      <button type="button" class="btn" onClick=${onClose}>${t('common.cancel')}</button>
    </div>
  <//>`;
}

// ---------------------------------------------------------------------------
// Accounts page

function StatusBadge({ status }) {
  const cls = status === 'active' ? 'badge-healthy' : status === 'locked' ? 'badge-warn' : 'badge-unknown';
  return html`<span class=${`badge badge-sm ${cls}`} data-status=${status}>
    ${has(`users.status.${status}`) ? t(`users.status.${status}`) : status}
  </span>`;
}

function Pager({ page, hasPrev, hasNext, onPrev, onNext, prevLabel, nextLabel, testid }) {
  return html`<div class="pager" data-testid=${testid}>
    <button type="button" class="btn btn-small" disabled=${!hasPrev} onClick=${onPrev} data-testid=${`${testid}-prev`}>
      ${prevLabel}
    </button>
    <span class="pager-page">${t('common.page', { n: page })}</span>
    <button type="button" class="btn btn-small" disabled=${!hasNext} onClick=${onNext} data-testid=${`${testid}-next`}>
      ${nextLabel}
    </button>
  </div>`;
}

export function UsersPage() {
  const { me } = useSession();
  const roles = useRoles();
  const [draft, setDraft] = useState({ status: '', role: '', grid: '' });
  const [filters, setFilters] = useState(draft);
  const [cursors, setCursors] = useState([0]); // "after" of each page seen
  const [dialog, setDialog] = useState(null);
  const [flash, setFlash] = useState('');
  const ids = useRef({ status: newId('f'), role: newId('f'), grid: newId('f') }).current;
  const after = cursors[cursors.length - 1];

  const list = useLoad(
    (signal) => api('api/v1/users', { signal, query: { ...filters, after: after || undefined, limit: USERS_PAGE } }),
    [filters, after],
  );
  const [rows, setRows] = useState([]);
  useEffect(() => {
    if (list.data) setRows(list.data.users ?? []);
  }, [list.data]);

  const apply = (e) => {
    e.preventDefault();
    setFlash('');
    setFilters({ ...draft, grid: draft.grid.trim() });
    setCursors([0]);
  };
  const reset = () => {
    const empty = { status: '', role: '', grid: '' };
    setDraft(empty);
    setFilters(empty);
    setCursors([0]);
  };
  const close = useCallback(() => setDialog(null), []);
  const saved = (account, message) => {
    setRows((rs) => rs.map((r) => (r.id === account.id ? account : r)));
    setFlash(message);
    setDialog(null);
  };

  const gridError = list.error?.field === 'grid' ? fieldError(list.error, 'grid') : '';
  const actions = (u) => {
    const self = u.id === me.id;
    const out = [];
    if (!self && can(me, 'user.role')) out.push(['roles', 'roles']);
    if (!self && can(me, 'user.unlock') && u.status === 'locked') out.push(['unlock', 'unlock']);
    if (!self && can(me, 'user.disable')) out.push(u.status === 'disabled' ? ['enable', 'enable'] : ['disable', 'disable']);
    if (!self && can(me, 'user.password_reset')) out.push(['reset', 'reset']);
    if (can(me, 'user.reveal') && u.phone) out.push(['reveal', 'reveal']);
    return out;
  };
  const open = (kind, user) => {
    setFlash('');
    setDialog({ kind, user });
  };

  return html`<section class="page page-wide" aria-labelledby="page-title">
    <div class="page-head">
      <div>
        <h1 id="page-title">${t('users.title')}</h1>
        <p class="page-sub">${t('users.subtitle')}</p>
      </div>
      ${can(me, 'user.create') &&
      html`<div class="page-actions">
        <button type="button" class="btn btn-primary" data-testid="users-create" onClick=${() => open('create')}>
          <${Icon} name="plus" />${t('users.create')}
        </button>
      </div>`}
    </div>

    <form class="filters card" onSubmit=${apply} data-testid="users-filters" role="search">
      <${SelectField}
        id=${ids.status}
        label=${t('users.filter.status')}
        value=${draft.status}
        onChange=${(v) => setDraft({ ...draft, status: v })}
        testid="filter-status"
        options=${[
          { value: '', label: t('common.all') },
          ...['active', 'locked', 'disabled'].map((s) => ({ value: s, label: t(`users.status.${s}`) })),
        ]}
      />
      <${SelectField}
        id=${ids.role}
        label=${t('users.filter.role')}
        value=${draft.role}
        onChange=${(v) => setDraft({ ...draft, role: v })}
        testid="filter-role"
        options=${[
          { value: '', label: t('common.all') },
          ...(roles ?? []).map((r) => ({ value: r.name, label: roleLabel(roles, r.name) })),
        ]}
      />
      <${TextField}
        id=${ids.grid}
        label=${t('users.filter.grid')}
        value=${draft.grid}
        onInput=${(v) => setDraft({ ...draft, grid: v })}
        inputmode="numeric"
        placeholder=${t('users.filter.grid.placeholder')}
        error=${gridError}
        testid="filter-grid"
      />
      <div class="filter-actions">
        <button type="submit" class="btn btn-primary" data-testid="filter-apply">
          <${Icon} name="search" />${t('common.search')}
        </button>
        <button type="button" class="btn" onClick=${reset}>${t('common.reset')}</button>
      </div>
    </form>

    ${flash && html`<${Notice} kind="ok" testid="users-flash">${flash}<//>`}
    ${list.error && !gridError && html`<${ErrorAlert} error=${list.error} testid="users-error" />`}

    <div class=${list.loading ? 'table-wrap is-loading' : 'table-wrap'} aria-busy=${String(list.loading)}>
      <table class="table table-cards" data-testid="users-table" data-loading=${String(list.loading)}>
        <thead>
          <tr>
            <th scope="col">${t('users.col.login')}</th>
            <th scope="col">${t('users.col.name')}</th>
            <th scope="col">${t('users.col.roles')}</th>
            <th scope="col">${t('users.col.scope')}</th>
            <th scope="col">${t('users.col.phone')}</th>
            <th scope="col">${t('users.col.status')}</th>
            <th scope="col">${t('users.col.totp')}</th>
            <th scope="col"><span class="sr-only">${t('users.col.actions')}</span></th>
          </tr>
        </thead>
        <tbody>
          ${rows.map(
            (u) => html`<tr data-testid="user-row" data-login=${u.login} key=${u.id}>
              <td data-label=${t('users.col.login')} class="mono cell-title">${u.login}</td>
              <td data-label=${t('users.col.name')} class="cell-name">${u.display_name}</td>
              <td data-label=${t('users.col.roles')}>
                <span class="chips">${(u.roles ?? []).map((r) => html`<span class="chip">${roleLabel(roles, r)}</span>`)}</span>
              </td>
              <td data-label=${t('users.col.scope')}>${scopeText(u.scope)}</td>
              <td data-label=${t('users.col.phone')} class="mono">${u.phone ?? dash}</td>
              <td data-label=${t('users.col.status')}>
                <div>
                  <${StatusBadge} status=${u.status} />
                  ${u.must_change_password && html`<span class="cell-note">${t('users.must_change')}</span>`}
                </div>
              </td>
              <td data-label=${t('users.col.totp')}>${u.totp_enabled ? t('users.totp.on') : t('users.totp.off')}</td>
              <td class="cell-actions">
                <div class="row-actions">
                ${actions(u).map(
                  ([kind, label]) => html`<button
                    type="button"
                    class="link-btn"
                    data-testid=${`user-${kind}`}
                    onClick=${() => open(kind, u)}
                  >
                    ${t(`users.action.${label}`)}
                  </button>`,
                )}
                </div>
              </td>
            </tr>`,
          )}
        </tbody>
      </table>
      ${!list.loading && !list.error && rows.length === 0 &&
      html`<p class="table-empty" data-testid="users-empty">${t('users.empty')}</p>`}
      ${list.loading && rows.length === 0 && html`<p class="table-empty">${t('common.loading')}</p>`}
    </div>
    <${Pager}
      testid="users-pager"
      page=${cursors.length}
      hasPrev=${cursors.length > 1}
      hasNext=${Boolean(list.data?.next_after) && rows.length > 0}
      onPrev=${() => setCursors(cursors.slice(0, -1))}
      onNext=${() => setCursors([...cursors, list.data.next_after])}
      prevLabel=${t('common.prev')}
      nextLabel=${t('common.next')}
    />

    ${dialog?.kind === 'create' &&
    html`<${CreateUserDialog}
      roles=${roles}
      onClose=${close}
      onCreated=${(account) => {
        setDialog(null);
        setFlash(t('users.create.done', { login: account.login }));
        list.reload();
      }}
    />`}
    ${dialog?.kind === 'roles' && html`<${RolesDialog} user=${dialog.user} roles=${roles} onClose=${close} onSaved=${saved} />`}
    ${dialog?.kind === 'reset' &&
    html`<${PasswordResetDialog}
      user=${dialog.user}
      onClose=${() => {
        close();
        list.reload();
      }}
      onDone=${setFlash}
    />`}
    ${dialog?.kind === 'reveal' && html`<${RevealDialog} user=${dialog.user} onClose=${close} />`}
    ${['disable', 'enable', 'unlock'].includes(dialog?.kind) &&
    html`<${StatusDialog} user=${dialog.user} action=${dialog.kind} onClose=${close} onSaved=${saved} />`}
  </section>`;
}

// ---------------------------------------------------------------------------
// Audit log page

const AUDIT_ACTIONS = [
  'auth.login',
  'auth.logout',
  'auth.logout_all',
  'auth.password_change',
  'auth.totp_enrol',
  'auth.refused',
  'user.create',
  'user.role',
  'user.status',
  'user.password_reset',
  'user.reveal_phone',
  'audit.search',
  'audit.purge',
];

/** A datetime-local value ("2026-11-23T09:30") in the browser's zone as RFC 3339 UTC. */
function toRfc3339(local) {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

const actionText = (a) => (has(`audit.action.${a}`) ? t(`audit.action.${a}`) : a);

export function AuditPage() {
  const empty = { actor: '', action: '', object_type: '', object_id: '', result: '', from: '', to: '' };
  const [draft, setDraft] = useState(empty);
  const [filters, setFilters] = useState(empty);
  const [cursors, setCursors] = useState([0]); // "before" of each page seen
  const [more, setMore] = useState(false); // phones: the less used filters are folded
  const ids = useMemo(() => Object.fromEntries(Object.keys(empty).map((k) => [k, newId(`a-${k}`)])), []);
  const before = cursors[cursors.length - 1];

  const list = useLoad(
    (signal) =>
      api('api/v1/audit', {
        signal,
        query: {
          ...filters,
          from: toRfc3339(filters.from),
          to: toRfc3339(filters.to),
          before: before || undefined,
          limit: AUDIT_PAGE,
        },
      }),
    [filters, before],
  );
  const records = list.data?.records ?? [];
  const set = (k) => (v) => setDraft((d) => ({ ...d, [k]: v }));
  const apply = (e) => {
    e.preventDefault();
    setFilters(Object.fromEntries(Object.entries(draft).map(([k, v]) => [k, v.trim()])));
    setCursors([0]);
  };
  const reset = () => {
    setDraft(empty);
    setFilters(empty);
    setCursors([0]);
  };
  const err = (f) => (list.error?.field === f ? fieldError(list.error, f) : '');
  const fieldNames = Object.keys(empty);

  return html`<section class="page page-wide" aria-labelledby="page-title">
    <div class="page-head">
      <div>
        <h1 id="page-title">${t('audit.title')}</h1>
        <p class="page-sub">${t('audit.subtitle')}</p>
      </div>
      <div class="page-actions">
        <button type="button" class="btn" onClick=${list.reload} disabled=${list.loading} data-testid="audit-refresh">
          <${Icon} name="refresh" class=${list.loading ? 'icon spin' : 'icon'} />${t('status.refresh')}
        </button>
      </div>
    </div>

    <form class=${more ? 'filters card show-more' : 'filters card'} onSubmit=${apply} data-testid="audit-filters" role="search">
      <${TextField}
        id=${ids.actor}
        label=${t('audit.filter.actor')}
        value=${draft.actor}
        onInput=${set('actor')}
        autocapitalize="off"
        spellcheck="false"
        error=${err('actor')}
        testid="audit-actor"
      />
      <${TextField}
        id=${ids.action}
        label=${t('audit.filter.action')}
        value=${draft.action}
        onInput=${set('action')}
        list="audit-actions"
        autocapitalize="off"
        spellcheck="false"
        placeholder="auth."
        error=${err('action')}
        testid="audit-action"
      />
      <datalist id="audit-actions">
        ${['auth.', 'user.', 'audit.', ...AUDIT_ACTIONS].map((a) => html`<option value=${a}>${a.endsWith('.') ? '' : actionText(a)}</option>`)}
      </datalist>
      <${SelectField}
        id=${ids.result}
        class="filter-more"
        label=${t('audit.filter.result')}
        value=${draft.result}
        onChange=${set('result')}
        testid="audit-result"
        options=${[
          { value: '', label: t('common.all') },
          ...['ok', 'failed', 'denied'].map((r) => ({ value: r, label: t(`audit.result.${r}`) })),
        ]}
      />
      <${TextField}
        id=${ids.object_type}
        class="filter-more"
        label=${t('audit.filter.object_type')}
        value=${draft.object_type}
        onInput=${set('object_type')}
        placeholder="account"
        error=${err('object_type')}
      />
      <${TextField}
        id=${ids.object_id}
        class="filter-more"
        label=${t('audit.filter.object_id')}
        value=${draft.object_id}
        onInput=${set('object_id')}
        error=${err('object_id')}
      />
      <${TextField}
        id=${ids.from}
        class="filter-more"
        label=${t('audit.filter.from')}
        type="datetime-local"
        value=${draft.from}
        onInput=${set('from')}
        error=${err('from')}
      />
      <${TextField}
        id=${ids.to}
        class="filter-more"
        label=${t('audit.filter.to')}
        type="datetime-local"
        value=${draft.to}
        onInput=${set('to')}
        error=${err('to')}
      />
      <div class="filter-actions">
        <button type="submit" class="btn btn-primary" data-testid="audit-apply">
          <${Icon} name="search" />${t('common.search')}
        </button>
        <button type="button" class="btn" onClick=${reset}>${t('common.reset')}</button>
        <button type="button" class="link-btn filter-more-toggle" aria-expanded=${String(more)} onClick=${() => setMore(!more)}>
          ${more ? t('common.fewer_filters') : t('common.more_filters')}
        </button>
      </div>
    </form>

    ${list.error && !fieldNames.includes(list.error.field) && html`<${ErrorAlert} error=${list.error} testid="audit-error" />`}

    <div class=${list.loading ? 'table-wrap is-loading' : 'table-wrap'} aria-busy=${String(list.loading)}>
      <table class="table table-cards" data-testid="audit-table" data-loading=${String(list.loading)}>
        <thead>
          <tr>
            <th scope="col">${t('audit.col.at')}</th>
            <th scope="col">${t('audit.col.actor')}</th>
            <th scope="col">${t('audit.col.action')}</th>
            <th scope="col">${t('audit.col.object')}</th>
            <th scope="col">${t('audit.col.result')}</th>
            <th scope="col">${t('audit.col.remote')}</th>
            <th scope="col">${t('audit.col.detail')}</th>
          </tr>
        </thead>
        <tbody>
          ${records.map((r) => {
            const at = new Date(r.at);
            return html`<tr data-testid="audit-row" data-id=${r.id} data-action=${r.action} data-result=${r.result} key=${r.id}>
              <td data-label=${t('audit.col.at')} class="nowrap" title=${r.at}>
                ${Number.isNaN(at.getTime()) ? r.at : formatDateTime(at)}
              </td>
              <td data-label=${t('audit.col.actor')} class="mono cell-title">${r.actor_login ?? dash}</td>
              <td data-label=${t('audit.col.action')}>
                <div>
                  <span class="cell-main">${actionText(r.action)}</span>
                  <span class="cell-sub mono">${r.action}</span>
                </div>
              </td>
              <td data-label=${t('audit.col.object')} class="mono">
                ${r.object_type ? `${r.object_type}${r.object_id ? ` ${r.object_id}` : ''}` : dash}
              </td>
              <td data-label=${t('audit.col.result')}>
                <span class=${`badge badge-sm badge-result-${r.result}`}>
                  ${has(`audit.result.${r.result}`) ? t(`audit.result.${r.result}`) : r.result}
                </span>
              </td>
              <td data-label=${t('audit.col.remote')} class="mono">${r.remote ?? dash}</td>
              <td data-label=${t('audit.col.detail')} class="cell-detail">
                ${r.detail ?? dash}
              </td>
            </tr>`;
          })}
        </tbody>
      </table>
      ${!list.loading && !list.error && records.length === 0 &&
      html`<p class="table-empty" data-testid="audit-empty">${t('audit.empty')}</p>`}
      ${list.loading && records.length === 0 && html`<p class="table-empty">${t('common.loading')}</p>`}
    </div>
    <${Pager}
      testid="audit-pager"
      page=${cursors.length}
      hasPrev=${cursors.length > 1}
      hasNext=${Boolean(list.data?.next_before)}
      onPrev=${() => setCursors(cursors.slice(0, -1))}
      onNext=${() => setCursors([...cursors, list.data.next_before])}
      prevLabel=${t('audit.newer')}
      nextLabel=${t('audit.older')}
    />
  </section>`;
}
