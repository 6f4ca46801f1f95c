// session.js: who is signed in, shared with every page through a context,
// and hash navigation helpers.

import { createContext } from './vendor/preact.js';
import { useContext } from './vendor/preact-hooks.js';

/**
 * { state: 'loading' | 'anonymous' | 'signed-in' | 'error', me, error, expired,
 *   reload(): Promise<me|null>, signOut(all): Promise<void> }
 * `me` is GET /api/v1/auth/me: the account, permissions[], must_enrol_totp,
 * must_change_password.
 */
export const SessionContext = createContext(null);
export const useSession = () => useContext(SessionContext);

/** Does the signed-in account hold `permission`? */
export const can = (me, permission) => Boolean(me?.permissions?.includes(permission));

/** The current route: path without the leading "#/", and the query of the hash. */
export function parseHash(hash = location.hash) {
  const raw = hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const path = (q < 0 ? raw : raw.slice(0, q)).replace(/\/+$/, '');
  const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  return { path, query, full: `/${raw}` };
}

/** Goes to an in-app path such as "/admin/users"; `replace` keeps it out of the history. */
export function navigate(path, { replace = false } = {}) {
  const target = `#${path.startsWith('/') ? path : `/${path}`}`;
  if (location.hash === target) return;
  if (replace) location.replace(target);
  else location.hash = target;
}

/**
 * A safe "next" target from a query: an in-app path, never the sign-in page
 * itself and never anything that could leave the site.
 */
export function nextTarget(query, fallback = '/status') {
  const next = query.get('next') ?? '';
  if (!/^\/[A-Za-z0-9/_\-?=&%.]*$/.test(next) || next.startsWith('//') || /^\/login(\?|$)/.test(next)) {
    return fallback;
  }
  return next;
}

/** Path of the sign-in page that comes back to `full` afterwards. */
export const loginPath = (full) =>
  full && full !== '/' && full !== '/status' && !full.startsWith('/login')
    ? `/login?next=${encodeURIComponent(full)}`
    : '/login';
