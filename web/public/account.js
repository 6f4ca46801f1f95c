// account.js: sign-in, the header's user menu, the password change and the
// second-factor (TOTP) enrolment pages.

import { useEffect, useRef, useState } from './vendor/preact-hooks.js';
import { api } from './api.js';
import { t, localizeServerMessage } from './i18n.js';
import { QrCode } from './qr.js';
import { navigate, nextTarget, useSession } from './session.js';
import {
  html,
  Icon,
  ErrorAlert,
  Notice,
  TextField,
  PasswordRules,
  passwordRules,
  fieldError,
  formLevelError,
  copyText,
  newId,
  useNow,
} from './ui.js';

// ---------------------------------------------------------------------------
// Sign-in

function loginErrorText(err, step) {
  switch (err.code) {
    case 'invalid_credentials':
      return t('login.error.credentials');
    case 'second_factor_required':
      return step === 'recovery' ? t('login.error.recovery') : t('login.error.totp');
    case 'forbidden': {
      const detail = localizeServerMessage(err.serverMessage);
      return detail ? t('login.error.forbidden.detail', { detail }) : t('login.error.forbidden');
    }
    case 'missing_field':
      return t('login.error.missing');
    case 'network':
      return t('error.network');
    default:
      return null;
  }
}

export function LoginPage() {
  const session = useSession();
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const [step, setStep] = useState('password'); // then 'totp' or 'recovery'
  const [code, setCode] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [lockedUntil, setLockedUntil] = useState(0);
  useNow(1000, lockedUntil > 0); // re-render every second while locked out
  const loginRef = useRef(null);
  const passwordRef = useRef(null);
  const codeRef = useRef(null);
  const ids = useRef({ login: newId('login'), password: newId('password'), code: newId('code') }).current;

  const remaining = lockedUntil ? Math.max(0, Math.ceil((lockedUntil - Date.now()) / 1000)) : 0;
  useEffect(() => {
    if (lockedUntil && remaining === 0) {
      setLockedUntil(0);
      setError(null);
    }
  }, [lockedUntil, remaining]);

  useEffect(() => {
    (step === 'password' ? loginRef : codeRef).current?.focus();
  }, [step]);

  const backToPassword = () => {
    setStep('password');
    setCode('');
    setError(null);
    setPassword('');
  };

  const submit = async (e) => {
    e.preventDefault();
    if (busy || remaining > 0) return;
    if (!login.trim() || !password) {
      setError({ code: 'missing_field' });
      (!login.trim() ? loginRef : passwordRef).current?.focus();
      return;
    }
    const body = { login: login.trim(), password, cookie: true };
    if (step === 'totp') body.totp_code = code.replace(/\s+/g, '');
    if (step === 'recovery') body.recovery_code = code.trim();
    if (step !== 'password' && !code.trim()) {
      setError({ code: 'second_factor_required' });
      codeRef.current?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api('api/v1/auth/login', { method: 'POST', body, quiet: true });
      setPassword('');
      setCode('');
      // The shell sees the session and goes on to where the user wanted to go.
      await session.reload();
    } catch (err) {
      if (err.code === 'second_factor_required' && step === 'password') {
        setStep('totp');
      } else {
        setError(err);
        if (err.code === 'rate_limited') {
          const n = err.retryAfter || Number(/(\d+) seconds?/.exec(err.serverMessage)?.[1]) || 30;
          setLockedUntil(Date.now() + n * 1000);
        } else if (err.code === 'invalid_credentials') {
          setPassword('');
          if (step !== 'password') backToPassword();
          else passwordRef.current?.focus();
        } else if (err.code === 'second_factor_required') {
          setCode('');
          codeRef.current?.focus();
        }
      }
    } finally {
      setBusy(false);
    }
  };

  let errorMessage = null;
  if (error) {
    if (error.code === 'rate_limited') errorMessage = t('login.error.locked', { n: remaining || error.retryAfter || 30 });
    else errorMessage = loginErrorText(error, step);
  }

  return html`<section class="page page-narrow" aria-labelledby="page-title">
    <div class="auth-card" data-testid="login-page">
      <div class="auth-brand">
        <img src="favicon.svg" alt="" width="40" height="40" />
        <div>
          <h1 id="page-title">${t('login.title')}</h1>
          <p class="page-sub">${t('login.subtitle')}</p>
        </div>
      </div>
      ${session.expired && step === 'password' && !error &&
      html`<${Notice} testid="login-expired">${t('login.expired')}<//>`}
      ${errorMessage
        ? html`<div class="alert" role="alert" data-testid="login-error" data-code=${error.code}>
            <${Icon} name="alert" class="icon alert-icon" />
            <div class="alert-body"><p>${errorMessage}</p></div>
          </div>`
        : error && html`<${ErrorAlert} error=${error} testid="login-error" />`}
      <form class="form" onSubmit=${submit} novalidate>
        ${step === 'password'
          ? html`
              <${TextField}
                id=${ids.login}
                label=${t('login.login')}
                value=${login}
                onInput=${setLogin}
                autocomplete="username"
                autocapitalize="off"
                spellcheck="false"
                inputRef=${loginRef}
                testid="login-name"
              />
              <${TextField}
                id=${ids.password}
                label=${t('login.password')}
                type="password"
                value=${password}
                onInput=${setPassword}
                autocomplete="current-password"
                inputRef=${passwordRef}
                testid="login-password"
              />
            `
          : html`
              <p class="auth-who" data-testid="login-who">
                ${t('login.as', { login: login.trim() })}
                <button type="button" class="link-btn" onClick=${backToPassword}>${t('login.back')}</button>
              </p>
              ${step === 'totp'
                ? html`<${TextField}
                    id=${ids.code}
                    label=${t('login.totp')}
                    hint=${t('login.totp.hint')}
                    value=${code}
                    onInput=${setCode}
                    inputmode="numeric"
                    autocomplete="one-time-code"
                    maxlength="8"
                    class="code-field"
                    inputRef=${codeRef}
                    testid="login-totp"
                  />`
                : html`<${TextField}
                    id=${ids.code}
                    label=${t('login.recovery')}
                    hint=${t('login.recovery.hint')}
                    value=${code}
                    onInput=${setCode}
                    autocapitalize="characters"
                    spellcheck="false"
                    maxlength="16"
                    class="code-field"
                    inputRef=${codeRef}
                    testid="login-recovery"
                  />`}
              <button
                type="button"
                class="link-btn"
                data-testid="login-switch-factor"
                onClick=${() => {
                  setStep(step === 'totp' ? 'recovery' : 'totp');
                  setCode('');
                  setError(null);
                }}
              >
                ${step === 'totp' ? t('login.use_recovery') : t('login.use_totp')}
              </button>
            `}
        <button
          type="submit"
          class="btn btn-primary btn-block"
          data-testid="login-submit"
          disabled=${busy || remaining > 0}
        >
          ${busy ? t('login.submitting') : step === 'password' ? t('login.submit') : t('login.verify')}
        </button>
      </form>
      <p class="auth-foot">${t('login.help')}</p>
    </div>
  </section>`;
}

// ---------------------------------------------------------------------------
// Header user menu

const MENU_ITEMS = [
  { id: 'password', icon: 'key', href: '#/account/password' },
  { id: 'totp', icon: 'shield', href: '#/account/totp' },
  { id: 'logout', icon: 'logout' },
  { id: 'logout-all', icon: 'devices' },
];

export function UserMenu({ me, route }) {
  const session = useSession();
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const root = useRef(null);
  const button = useRef(null);

  useEffect(() => setOpen(false), [route]);
  useEffect(() => {
    if (!open) return undefined;
    const onDown = (e) => root.current && !root.current.contains(e.target) && setOpen(false);
    const onKey = (e) => {
      if (e.key === 'Escape') {
        setOpen(false);
        button.current?.focus();
      }
    };
    document.addEventListener('pointerdown', onDown);
    document.addEventListener('keydown', onKey);
    root.current?.querySelector('[role="menuitem"]')?.focus();
    return () => {
      document.removeEventListener('pointerdown', onDown);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);

  const onMenuKey = (e) => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    e.preventDefault();
    const items = [...root.current.querySelectorAll('[role="menuitem"]')];
    const i = items.indexOf(document.activeElement);
    items[(i + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length]?.focus();
  };

  const signOut = async (all) => {
    setBusy(true);
    try {
      await session.signOut(all);
    } finally {
      setBusy(false);
      setOpen(false);
    }
  };

  const name = me.display_name || me.login;
  return html`<div class="user-menu" ref=${root}>
    <button
      type="button"
      class="user-btn"
      ref=${button}
      aria-haspopup="menu"
      aria-expanded=${String(open)}
      aria-controls="user-menu-list"
      aria-label=${t('user.menu.label', { name })}
      data-testid="user-menu"
      onClick=${() => setOpen(!open)}
    >
      <span class="avatar" aria-hidden="true">${[...name][0]}</span>
      <span class="user-name" data-testid="user-menu-name">${name}</span>
      <${Icon} name="chevron" class="icon chevron" />
    </button>
    ${open &&
    html`<div class="menu" id="user-menu-list" role="menu" aria-label=${t('user.menu')} onKeyDown=${onMenuKey}>
      <div class="menu-head" role="presentation">
        <strong>${name}</strong>
        <span class="mono">${me.login}</span>
      </div>
      ${MENU_ITEMS.map((item) =>
        item.href
          ? html`<a
              role="menuitem"
              class="menu-item"
              href=${item.href}
              data-testid=${`user-menu-${item.id}`}
              onClick=${() => setOpen(false)}
            >
              <${Icon} name=${item.icon} />${t(`user.menu.${item.id}`)}
            </a>`
          : html`<button
              type="button"
              role="menuitem"
              class="menu-item"
              disabled=${busy}
              data-testid=${`user-menu-${item.id}`}
              onClick=${() => signOut(item.id === 'logout-all')}
            >
              <${Icon} name=${item.icon} />${t(`user.menu.${item.id}`)}
            </button>`,
      )}
    </div>`}
  </div>`;
}

// ---------------------------------------------------------------------------
// Password change

const PASSWORD_FIELDS = ['current_password', 'new_password', 'password'];

export function PasswordPage({ query }) {
  const session = useSession();
  const me = session.me;
  const forced = Boolean(me?.must_change_password);
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState(null);
  const [local, setLocal] = useState({});
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const ids = useRef({ cur: newId('cur'), next: newId('new'), again: newId('again') }).current;

  const submit = async (e) => {
    e.preventDefault();
    const rules = passwordRules(next, me.login);
    const problems = {};
    if (!current) problems.current = t('password.error.current_missing');
    if (!rules.length || !rules.classes || !rules.login) problems.next = t('password.error.rules');
    else if (next === current) problems.next = t('password.error.same');
    if (next !== again) problems.again = t('password.error.mismatch');
    setLocal(problems);
    setError(null);
    if (Object.keys(problems).length) return;
    setBusy(true);
    try {
      await api('api/v1/auth/password', {
        method: 'POST',
        body: { current_password: current, new_password: next },
      });
      setCurrent('');
      setNext('');
      setAgain('');
      setDone(true);
      await session.reload();
      if (forced) navigate(nextTarget(query), { replace: true });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  // The server names the new password "password" in its errors.
  const nextError = local.next || fieldError(error, 'new_password') || fieldError(error, 'password');
  const currentError =
    local.current ||
    (error?.field === 'current_password' && error.code === 'forbidden'
      ? t('password.error.current_wrong')
      : fieldError(error, 'current_password'));

  return html`<section class="page page-narrow" aria-labelledby="page-title">
    <div class="page-head">
      <div>
        <h1 id="page-title">${t('password.title')}</h1>
        <p class="page-sub">${t('password.subtitle')}</p>
      </div>
    </div>
    ${forced && html`<${Notice} kind="warn" testid="password-forced">${t('password.forced')}<//>`}
    ${done && html`<${Notice} kind="ok" testid="password-done">${t('password.done')}<//>`}
    <${ErrorAlert} error=${formLevelError(error, PASSWORD_FIELDS)} />
    <form class="card form" onSubmit=${submit} novalidate data-testid="password-form">
      <input type="text" name="username" autocomplete="username" value=${me.login} hidden readonly />
      <${TextField}
        id=${ids.cur}
        label=${t('password.current')}
        type="password"
        value=${current}
        onInput=${setCurrent}
        autocomplete="current-password"
        error=${currentError}
        testid="password-current"
      />
      <${TextField}
        id=${ids.next}
        label=${t('password.new')}
        type="password"
        value=${next}
        onInput=${setNext}
        autocomplete="new-password"
        error=${nextError}
        testid="password-new"
      />
      <${PasswordRules} password=${next} login=${me.login} />
      <${TextField}
        id=${ids.again}
        label=${t('password.again')}
        type="password"
        value=${again}
        onInput=${setAgain}
        autocomplete="new-password"
        error=${local.again}
        testid="password-again"
      />
      <p class="form-hint">${t('password.sessions')}</p>
      <div class="form-actions">
        <button type="submit" class="btn btn-primary" disabled=${busy} data-testid="password-submit">
          ${busy ? t('common.saving') : t('password.submit')}
        </button>
      </div>
    </form>
  </section>`;
}

// ---------------------------------------------------------------------------
// Second factor (TOTP) enrolment

const group = (s, n = 4) => s.replace(new RegExp(`(.{${n}})(?=.)`, 'g'), '$1 ');

export function TotpPage({ query }) {
  const session = useSession();
  const me = session.me;
  const forced = Boolean(me?.must_enrol_totp);
  const [setup, setSetup] = useState(null); // {secret, otpauth_uri}
  const [code, setCode] = useState('');
  const [codes, setCodes] = useState(null); // recovery codes, shown once
  const [saved, setSaved] = useState(false);
  const [copied, setCopied] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const codeRef = useRef(null);
  const codeId = useRef(newId('totp')).current;

  const begin = async () => {
    setBusy(true);
    setError(null);
    try {
      setSetup(await api('api/v1/auth/totp', { method: 'POST' }));
      setCode('');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  useEffect(() => {
    if (setup) codeRef.current?.focus();
  }, [setup]);

  const confirm = async (e) => {
    e.preventDefault();
    const c = code.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(c)) {
      setError({ code: 'invalid_input', field: 'code', local: true });
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const res = await api('api/v1/auth/totp/confirm', { method: 'POST', body: { code: c } });
      setCodes(res.recovery_codes ?? []);
      setSetup(null);
    } catch (err) {
      setError(err);
      setCode('');
      codeRef.current?.focus();
    } finally {
      setBusy(false);
    }
  };

  const finish = async () => {
    await session.reload();
    navigate(nextTarget(query), { replace: true });
  };

  const copy = async (what, text) => {
    setCopied((await copyText(text)) ? what : `${what}-failed`);
  };

  let codeError = '';
  if (error?.field === 'code') {
    codeError = error.local ? t('totp.error.format') : localizeServerMessage(error.serverMessage) || t('totp.error.code');
  }

  let body;
  if (codes) {
    body = html`<div class="card recovery" data-testid="recovery">
      <h2 class="card-title"><${Icon} name="shield" />${t('totp.recovery.title')}</h2>
      <p>${t('totp.recovery.body')}</p>
      <ol class="recovery-codes mono" data-testid="recovery-codes">
        ${codes.map((c) => html`<li>${c}</li>`)}
      </ol>
      <p class="form-hint">${t('totp.recovery.hint')}</p>
      <div class="form-actions">
        <button type="button" class="btn" data-testid="recovery-copy" onClick=${() => copy('codes', codes.join('\n'))}>
          <${Icon} name="copy" />${t('totp.recovery.copy')}
        </button>
        <button type="button" class="btn" data-testid="recovery-print" onClick=${() => window.print()}>
          <${Icon} name="print" />${t('totp.recovery.print')}
        </button>
        <span class="copied" role="status">
          ${copied === 'codes' ? t('common.copied') : copied === 'codes-failed' ? t('common.copy_failed') : ''}
        </span>
      </div>
      <label class="check">
        <input
          type="checkbox"
          checked=${saved}
          data-testid="recovery-saved"
          onChange=${(e) => setSaved(e.currentTarget.checked)}
        />
        ${t('totp.recovery.saved')}
      </label>
      <div class="form-actions">
        <button type="button" class="btn btn-primary" disabled=${!saved} data-testid="recovery-done" onClick=${finish}>
          ${t('totp.recovery.done')}
        </button>
      </div>
    </div>`;
  } else if (me.totp_enabled) {
    body = html`<${Notice} kind="ok" testid="totp-enabled">${t('totp.enabled')}<//>`;
  } else if (!setup) {
    body = html`<div class="card" data-testid="totp-intro">
      <p>${t('totp.intro')}</p>
      <p class="form-hint">${t('totp.apps')}</p>
      <${ErrorAlert} error=${error} />
      <div class="form-actions">
        <button type="button" class="btn btn-primary" disabled=${busy} data-testid="totp-begin" onClick=${begin}>
          ${busy ? t('common.working') : t('totp.begin')}
        </button>
      </div>
    </div>`;
  } else {
    body = html`<div class="card totp-setup" data-testid="totp-setup">
      <ol class="steps">
        <li>
          <p>${t('totp.step.scan')}</p>
          <div class="qr-box">
            <${QrCode} text=${setup.otpauth_uri} label=${t('totp.qr.label')} testid="totp-qr" />
          </div>
        </li>
        <li>
          <p>${t('totp.step.manual')}</p>
          <div class="secret">
            <code class="mono" data-testid="totp-secret" data-secret=${setup.secret}>${group(setup.secret)}</code>
            <button type="button" class="btn btn-small" onClick=${() => copy('secret', setup.secret)}>
              <${Icon} name="copy" />${t('common.copy')}
            </button>
            <span class="copied" role="status">
              ${copied === 'secret' ? t('common.copied') : copied === 'secret-failed' ? t('common.copy_failed') : ''}
            </span>
          </div>
          <p class="form-hint">${t('totp.manual.params')}</p>
        </li>
        <li>
          <form class="form" onSubmit=${confirm} novalidate>
            <${TextField}
              id=${codeId}
              label=${t('totp.step.code')}
              value=${code}
              onInput=${setCode}
              inputmode="numeric"
              autocomplete="one-time-code"
              maxlength="7"
              class="code-field"
              inputRef=${codeRef}
              error=${codeError}
              testid="totp-code"
            />
            <${ErrorAlert} error=${codeError ? null : error} />
            <div class="form-actions">
              <button type="submit" class="btn btn-primary" disabled=${busy} data-testid="totp-confirm">
                ${busy ? t('common.working') : t('totp.confirm')}
              </button>
              <button type="button" class="btn" disabled=${busy} onClick=${begin}>${t('totp.restart')}</button>
            </div>
          </form>
        </li>
      </ol>
    </div>`;
  }

  return html`<section class="page page-narrow" aria-labelledby="page-title">
    <div class="page-head">
      <div>
        <h1 id="page-title">${t('totp.title')}</h1>
        <p class="page-sub">${t('totp.subtitle')}</p>
      </div>
    </div>
    ${forced && !codes && html`<${Notice} kind="warn" testid="totp-forced">${t('totp.forced')}<//>`}
    ${body}
  </section>`;
}
