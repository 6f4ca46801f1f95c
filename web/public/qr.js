// qr.js: a QR code drawn locally as SVG (the otpauth:// URI of a TOTP secret
// must never be sent to a third-party QR service).

import { useMemo } from './vendor/preact-hooks.js';
import qrcode from './vendor/qrcode-generator.js';
import { html } from './ui.js';

const QUIET = 4; // modules of white border the standard asks for

/** Path data of the dark modules, one "h" run per horizontal stretch. */
function modulesPath(qr) {
  const n = qr.getModuleCount();
  let d = '';
  for (let r = 0; r < n; r += 1) {
    let c = 0;
    while (c < n) {
      if (!qr.isDark(r, c)) {
        c += 1;
        continue;
      }
      const start = c;
      while (c < n && qr.isDark(r, c)) c += 1;
      d += `M${start + QUIET} ${r + QUIET}h${c - start}v1h-${c - start}z`;
    }
  }
  return { d, size: n + 2 * QUIET };
}

/** `text` as a QR code (error correction M), `px` pixels wide. */
export function QrCode({ text, px = 208, label, testid }) {
  const { d, size } = useMemo(() => {
    const qr = qrcode(0, 'M');
    qr.addData(text);
    qr.make();
    return modulesPath(qr);
  }, [text]);
  return html`<svg
    class="qr"
    viewBox=${`0 0 ${size} ${size}`}
    width=${px}
    height=${px}
    role="img"
    aria-label=${label}
    shape-rendering="crispEdges"
    data-testid=${testid}
  >
    <rect width=${size} height=${size} fill="#fff" />
    <path d=${d} fill="#000" />
  </svg>`;
}
