// api.js: the one way the web UI talks to the civgrid API.
//
// Cookie sessions: civgridd sets cg_session (HttpOnly, never seen here) and
// cg_csrf (readable) at sign-in. Every write (POST, PUT, DELETE) sends the
// value of cg_csrf back in the X-CSRF-Token header; without it the server
// refuses the request. Errors are normalised into ApiError
// {status, code, message, field, requestId, retryAfter, body}.

const CSRF_COOKIE = 'cg_csrf';
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * A failed API call. `code` is the server's stable code, or network, http,
 * format; `body` is the whole JSON body of the answer (some errors carry more
 * than `error`, such as the validation report of a refused grid import), or null.
 */
export class ApiError extends Error {
  constructor({ status = 0, code = 'http', message = '', field = '', requestId = '', retryAfter = 0, body = null } = {}) {
    super(message || code);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.serverMessage = message;
    this.field = field;
    this.requestId = requestId;
    this.retryAfter = retryAfter;
    this.body = body;
  }
}

/** Value of the CSRF cookie of the current session, or ''. */
export function csrfToken() {
  for (const part of document.cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === CSRF_COOKIE) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return '';
}

/**
 * True when the browser holds a session, as far as a script can tell: the
 * CSRF cookie lives exactly as long as the (unreadable) session cookie.
 */
export const hasSession = () => csrfToken() !== '';

/** Forgets the CSRF cookie of a session the server no longer knows. */
export function forgetSession() {
  document.cookie = `${CSRF_COOKIE}=; Path=/; Max-Age=0; SameSite=Strict`;
}

// Codes that concern the whole session, not one page: the app listens for them.
const SESSION_CODES = new Set(['unauthenticated', 'password_change_required', 'second_factor_enrolment_required']);
let sessionListener = null;

/** fn(error) is called for every error whose code concerns the session (see SESSION_CODES). */
export function onSessionError(fn) {
  sessionListener = fn;
}

function withQuery(path, query) {
  if (!query) return path;
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
  }
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}

/**
 * Calls the API: `path` is relative to the page ("api/v1/users"). `body` is
 * sent as JSON; `raw`, a string of JSON (a file as the user chose it), is sent
 * as it is. Resolves to the parsed JSON body (null for 204); rejects with
 * ApiError. A 401 unauthenticated anywhere tells the session listener, which
 * sends the user to the sign-in page, unless `quiet` is set. `headers` adds
 * request headers (an Idempotency-Key).
 */
export async function api(path, { method = 'GET', body, raw, query, signal, quiet = false, headers: extra = {} } = {}) {
  const headers = { Accept: 'application/json', ...extra };
  if (body !== undefined || raw !== undefined) headers['Content-Type'] = 'application/json';
  if (WRITE_METHODS.has(method)) {
    const csrf = csrfToken();
    if (csrf) headers['X-CSRF-Token'] = csrf;
  }
  let res;
  try {
    res = await fetch(withQuery(path, query), {
      method,
      headers,
      body: raw !== undefined ? raw : body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal,
    });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new ApiError({ code: 'network' });
  }
  if (res.status === 204) return null;
  let data = null;
  if ((res.headers.get('Content-Type') ?? '').includes('json')) {
    try {
      data = await res.json();
    } catch {
      /* handled below */
    }
  }
  if (res.ok) {
    if (data === null || typeof data !== 'object') throw new ApiError({ status: res.status, code: 'format' });
    return data;
  }
  const e = data?.error;
  const err = new ApiError({
    status: res.status,
    code: e && typeof e.code === 'string' ? e.code : 'http',
    message: e && typeof e.message === 'string' ? e.message : '',
    field: e && typeof e.field === 'string' ? e.field : '',
    requestId: e && typeof e.request_id === 'string' ? e.request_id : res.headers.get('X-Request-Id') ?? '',
    retryAfter: Number.parseInt(res.headers.get('Retry-After') ?? '', 10) || 0,
    body: data,
  });
  if (!quiet && SESSION_CODES.has(err.code) && sessionListener) sessionListener(err);
  throw err;
}
