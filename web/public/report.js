// report.js: send uncaught client-side errors to the server.
//
// Loaded before app.js so that errors raised while the app starts are caught
// too. Reports go to POST api/v1/client-errors as JSON; at most MAX_REPORTS
// per page load, and any failure to send is ignored (reporting must never
// cause more errors).

const ENDPOINT = 'api/v1/client-errors';
const MAX_REPORTS = 10;
const MAX_MESSAGE = 2000;
const MAX_STACK = 8000;

let sent = 0;

const clip = (value, max) => {
  const s = value == null ? '' : String(value);
  return s.length > max ? s.slice(0, max) : s;
};

const toInt = (value) => (Number.isFinite(Number(value)) ? Math.trunc(Number(value)) : 0);

// First "url:line:column" found in a stack trace, for rejections which carry
// no location of their own.
function locate(stack) {
  const m = /((?:https?|file):\/\/[^\s()]+?):(\d+):(\d+)/.exec(stack || '');
  return m ? { source: m[1], line: Number(m[2]), column: Number(m[3]) } : { source: '', line: 0, column: 0 };
}

function currentLang() {
  return document.documentElement.lang === 'en' ? 'en' : 'zh-CN';
}

function send({ message, source, line, column, stack }) {
  if (sent >= MAX_REPORTS) return;
  sent += 1;
  const body = {
    message: clip(message, MAX_MESSAGE),
    source: clip(source, MAX_MESSAGE),
    line: toInt(line),
    column: toInt(column),
    stack: clip(stack, MAX_STACK),
    page: location.hash || location.pathname,
    lang: currentLang(),
  };
  try {
    fetch(ENDPOINT, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      keepalive: true,
      credentials: 'same-origin',
    }).catch(() => {});
  } catch {
    /* ignored */
  }
}

window.onerror = (message, source, line, column, error) => {
  send({ message: typeof message === 'string' ? message : error?.message, source, line, column, stack: error?.stack });
  return false; // keep the default console output
};

window.addEventListener('unhandledrejection', (event) => {
  const reason = event.reason;
  const stack = reason?.stack ? String(reason.stack) : '';
  let message;
  if (reason instanceof Error) message = `${reason.name}: ${reason.message}`;
  else {
    try {
      message = typeof reason === 'string' ? reason : JSON.stringify(reason);
    } catch {
      message = String(reason);
    }
  }
  send({ message: `Unhandled rejection: ${message}`, ...locate(stack), stack });
});
