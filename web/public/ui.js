// ui.js: building blocks shared by the pages: icons, form fields, alerts,
// dialogs and the localized text of API errors.

import { h } from './vendor/preact.js';
import { useCallback, useEffect, useRef, useState } from './vendor/preact-hooks.js';
import htm from './vendor/htm.js';
import { t, has, localizeServerMessage } from './i18n.js';

export const html = htm.bind(h);

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
  users: [
    'M16 21v-2a4 4 0 0 0-4-4H6a4 4 0 0 0-4 4v2',
    'M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8z',
    'M22 21v-2a4 4 0 0 0-3-3.9',
    'M16 3.1a4 4 0 0 1 0 7.8',
  ],
  audit: ['M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z', 'M14 2v6h6', 'M8 13h8M8 17h8M8 9h2'],
  user: ['M20 21v-2a4 4 0 0 0-4-4H8a4 4 0 0 0-4 4v2', 'M12 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8z'],
  key: ['M21 2l-2 2m-7.6 7.6a5.5 5.5 0 1 1-7.8 7.8 5.5 5.5 0 0 1 7.8-7.8zm0 0L15.5 7.5m0 0 3 3L22 7l-3-3m-3.5 3.5L19 4'],
  shield: ['M12 22s8-4 8-10V5l-8-3-8 3v7c0 6 8 10 8 10z', 'M9 12l2 2 4-4'],
  logout: ['M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4', 'M16 17l5-5-5-5', 'M21 12H9'],
  devices: ['M4 5h12v9H4z', 'M2 18h16', 'M18 9h4v10h-4z'],
  login: ['M15 3h4a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2h-4', 'M10 17l5-5-5-5', 'M15 12H3'],
  chevron: ['M6 9l6 6 6-6'],
  plus: ['M12 5v14M5 12h14'],
  search: ['M11 19a8 8 0 1 0 0-16 8 8 0 0 0 0 16z', 'M21 21l-4.3-4.3'],
  eye: ['M1 12s4-8 11-8 11 8 11 8-4 8-11 8-11-8-11-8z', 'M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6z'],
  copy: ['M9 9h11v11H9z', 'M5 15H4a1 1 0 0 1-1-1V4a1 1 0 0 1 1-1h10a1 1 0 0 1 1 1v1'],
  print: ['M6 9V2h12v7', 'M6 18H4a2 2 0 0 1-2-2v-5a2 2 0 0 1 2-2h16a2 2 0 0 1 2 2v5a2 2 0 0 1-2 2h-2', 'M6 14h12v8H6z'],
  check: ['M20 6 9 17l-5-5'],
  dot: ['M12 12h.01'],
  server: ['M3 4h18v6H3z', 'M3 14h18v6H3z', 'M7 7h.01M7 17h.01'],
  database: ['M4 6c0-1.7 3.6-3 8-3s8 1.3 8 3-3.6 3-8 3-8-1.3-8-3z', 'M4 6v12c0 1.7 3.6 3 8 3s8-1.3 8-3V6', 'M4 12c0 1.7 3.6 3 8 3s8-1.3 8-3'],
  refresh: ['M21 12a9 9 0 1 1-2.6-6.4', 'M21 3v6h-6'],
  menu: ['M4 6h16M4 12h16M4 18h16'],
  close: ['M6 6l12 12M18 6 6 18'],
  alert: ['M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20z', 'M12 8v4', 'M12 16h.01'],
  info: ['M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20z', 'M12 16v-4', 'M12 8h.01'],
};

export function Icon({ name, class: cls = 'icon' }) {
  return html`<svg class=${cls} viewBox="0 0 24 24" aria-hidden="true" focusable="false">
    ${ICONS[name].map((d) => html`<path d=${d} />`)}
  </svg>`;
}

/** Current time in ms, re-rendering every `periodMs` while `active`. */
export function useNow(periodMs, active) {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    if (!active) return undefined;
    setNow(Date.now());
    const id = setInterval(() => setNow(Date.now()), periodMs);
    return () => clearInterval(id);
  }, [periodMs, active]);
  return now;
}

/** Runs `load(signal)` whenever `deps` change; returns {data, error, loading, reload}. */
export function useLoad(load, deps) {
  const [state, setState] = useState({ data: null, error: null, key: null });
  const [tick, setTick] = useState(0);
  // Loading from the very render whose inputs changed, not one render later.
  const key = JSON.stringify([...deps, tick]);
  useEffect(() => {
    const ctl = new AbortController();
    load(ctl.signal).then(
      (data) => !ctl.signal.aborted && setState({ data, error: null, key }),
      (error) => !ctl.signal.aborted && setState((s) => ({ ...s, error, key })),
    );
    return () => ctl.abort();
  }, [key]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data: state.data, error: state.error, loading: state.key !== key, reload };
}

// ---------------------------------------------------------------------------
// Text of API errors

/** Localized sentence for an ApiError (or any error). */
export function errorText(err) {
  const code = err?.code ?? 'network';
  if (code === 'rate_limited') {
    const n = err.retryAfter || Number(/(\d+) seconds?/.exec(err.serverMessage ?? '')?.[1]) || 0;
    if (n) return t('error.rate_limited.wait', { n });
  }
  const detail = localizeServerMessage(err?.serverMessage ?? '');
  if (has(`error.${code}`)) {
    const base = t(`error.${code}`);
    // Codes whose default sentence says it all; for the rest the server's detail helps.
    const generic = ['invalid_input', 'forbidden', 'not_found', 'conflict', 'missing_field', 'wrong_type'];
    return generic.includes(code) && detail ? t('error.with_detail', { base, detail }) : base;
  }
  if (code === 'http') return t('error.http', { status: err.status });
  return detail ? t('error.api', { message: detail, code }) : t('error.api', { message: t('error.unknown'), code });
}

/** The localized message for `field` when err names it, else ''. */
export function fieldError(err, field) {
  if (!err || err.field !== field) return '';
  return localizeServerMessage(err.serverMessage) || errorText(err);
}

/** Errors that belong to no field of the form (or to a field it does not show). */
export function formLevelError(err, fields) {
  return err && !fields.includes(err.field) ? err : null;
}

export function ErrorAlert({ error, testid = 'form-error', title }) {
  if (!error) return null;
  return html`<div class="alert" role="alert" data-testid=${testid} data-code=${error.code}>
    <${Icon} name="alert" class="icon alert-icon" />
    <div class="alert-body">
      ${title && html`<strong>${title}</strong>`}
      <p>${errorText(error)}</p>
      ${error.requestId && html`<p class="alert-meta">${t('status.error.request', { id: error.requestId })}</p>`}
    </div>
  </div>`;
}

export function Notice({ kind = 'info', testid, children }) {
  return html`<div class=${`notice notice-${kind}`} role="status" data-testid=${testid}>
    <${Icon} name=${kind === 'ok' ? 'check' : 'info'} class="icon notice-icon" />
    <div class="notice-body">${children}</div>
  </div>`;
}

// ---------------------------------------------------------------------------
// Form fields

let uid = 0;
export const newId = (prefix) => `${prefix}-${(uid += 1)}`;

/**
 * A labelled input with its hint and error. `error` is the text to show
 * (already localized); the input is then marked invalid and described by it.
 */
export function TextField({
  id,
  label,
  name,
  value,
  onInput,
  error,
  hint,
  type = 'text',
  autocomplete = 'off',
  required = false,
  inputRef,
  testid,
  class: cls = '',
  ...rest
}) {
  const hintId = hint ? `${id}-hint` : undefined;
  const errId = error ? `${id}-error` : undefined;
  return html`<div class=${`form-field ${cls}`}>
    <label for=${id}>${label}${required && html`<span class="req" aria-hidden="true"> *</span>`}</label>
    <input
      id=${id}
      name=${name}
      type=${type}
      value=${value}
      ref=${inputRef}
      autocomplete=${autocomplete}
      required=${required}
      aria-invalid=${error ? 'true' : undefined}
      aria-describedby=${[errId, hintId].filter(Boolean).join(' ') || undefined}
      data-testid=${testid}
      onInput=${(e) => onInput(e.currentTarget.value)}
      ...${rest}
    />
    ${hint && html`<p class="form-hint" id=${hintId}>${hint}</p>`}
    ${error && html`<p class="form-error" id=${errId} data-testid=${testid && `${testid}-error`}>${error}</p>`}
  </div>`;
}

export function SelectField({ id, label, value, onChange, options, testid, error, class: cls = '' }) {
  const errId = error ? `${id}-error` : undefined;
  return html`<div class=${`form-field ${cls}`}>
    <label for=${id}>${label}</label>
    <select
      id=${id}
      value=${value}
      data-testid=${testid}
      aria-invalid=${error ? 'true' : undefined}
      aria-describedby=${errId}
      onChange=${(e) => onChange(e.currentTarget.value)}
    >
      ${options.map((o) => html`<option value=${o.value}>${o.label}</option>`)}
    </select>
    ${error && html`<p class="form-error" id=${errId}>${error}</p>`}
  </div>`;
}

/**
 * After a failed submit (`trigger`, a count of them, goes up), moves the
 * focus to the first field marked invalid inside the element `ref` points at.
 */
export function useFocusInvalid(ref, trigger) {
  useEffect(() => {
    if (!trigger || !ref.current) return;
    const bad = ref.current.querySelector('[aria-invalid="true"], [data-invalid="true"]');
    const target = bad?.matches('fieldset') ? bad.querySelector('input[aria-invalid="true"], input:not(:disabled)') : bad;
    target?.focus();
  }, [trigger]);
}

// ---------------------------------------------------------------------------
// Dialog: the native <dialog> in modal mode (focus trap, Escape, backdrop).

export function Dialog({ title, onClose, children, testid, wide = false }) {
  const ref = useRef(null);
  const titleId = useRef(newId('dlg')).current;
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    const onCancel = (e) => {
      e.preventDefault();
      onClose();
    };
    d?.addEventListener('cancel', onCancel);
    return () => d?.removeEventListener('cancel', onCancel);
  }, [onClose]);
  return html`<dialog
    ref=${ref}
    class=${wide ? 'dialog dialog-wide' : 'dialog'}
    aria-labelledby=${titleId}
    data-testid=${testid}
  >
    <div class="dialog-head">
      <h2 id=${titleId}>${title}</h2>
      <button type="button" class="icon-btn" aria-label=${t('common.close')} onClick=${onClose}>
        <${Icon} name="close" />
      </button>
    </div>
    <div class="dialog-body">${children}</div>
  </dialog>`;
}

// ---------------------------------------------------------------------------
// Passwords

/** Which of the server's password rules `pw` keeps (see auth.c cg_auth_check_password). */
export function passwordRules(pw, login) {
  const chars = [...pw].length;
  const classes =
    Number(/[a-z]/.test(pw)) + Number(/[A-Z]/.test(pw)) + Number(/[0-9]/.test(pw)) + Number(/[^A-Za-z0-9]/.test(pw));
  return {
    length: chars >= 10 && chars <= 128,
    classes: classes >= 3,
    login: !login || !pw.toLowerCase().includes(login.toLowerCase()),
  };
}

export function PasswordRules({ password, login, testid = 'password-rules' }) {
  const r = passwordRules(password, login);
  const item = (ok, key) => html`<li class=${ok ? 'rule ok' : 'rule'} data-ok=${String(ok)}>
    <${Icon} name=${ok ? 'check' : 'dot'} class="icon rule-icon" />${t(key)}
  </li>`;
  return html`<ul class="rules" data-testid=${testid} aria-label=${t('password.rules')}>
    ${item(r.length, 'password.rule.length')} ${item(r.classes, 'password.rule.classes')}
    ${item(r.login, 'password.rule.login')}
  </ul>`;
}

/** A random password that keeps every rule: 16 characters from four classes. */
export function randomPassword() {
  const sets = ['abcdefghijkmnpqrstuvwxyz', 'ABCDEFGHJKLMNPQRSTUVWXYZ', '23456789', '!#%+-=?@_'];
  const all = sets.join('');
  const pick = (s) => s[crypto.getRandomValues(new Uint32Array(1))[0] % s.length];
  const chars = sets.map(pick);
  while (chars.length < 16) chars.push(pick(all));
  for (let i = chars.length - 1; i > 0; i -= 1) {
    const j = crypto.getRandomValues(new Uint32Array(1))[0] % (i + 1);
    [chars[i], chars[j]] = [chars[j], chars[i]];
  }
  return chars.join('');
}

/** Copies text to the clipboard; resolves to whether it worked. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}
