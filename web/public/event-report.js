// event-report.js: the report form (#/report), phone-sized first. The grid
// worker's mobile app and the citizen's page are the same form: source
// `patrol` for staff, `citizen` for citizens; self-resolved (自行处置) for
// accounts with event.resolve, report-only (报备) for staff.
//
// Offline: when POST api/v1/events cannot reach the server, the report goes
// to the outbox (outbox.js: the report in localStorage, its photos in
// IndexedDB) and is sent when the network is back; the page shows how many
// wait. The catalogue is cached by events.js so that the category picker
// works offline once loaded.
//
// Photos (docs/MEDIA.md) are checked here against the server's limits before
// anything is sent or queued (type read from the bytes, size, pixels), shown
// as thumbnails, and attached after the event has been created: stage
// `report`, or `before` and `after` for a self-resolved event. The point
// starts at the device's GPS fix and can be moved on a map (report-map.js,
// loaded with Leaflet for accounts that may read the map).

import { useEffect, useMemo, useRef, useState } from './vendor/preact-hooks.js';
import { ApiError, api } from './api.js';
import { t, formatBytes, formatDateTime } from './i18n.js';
import { can, useSession } from './session.js';
import { html, Icon, ErrorAlert, Notice, TextField, newId, useLoad, fieldError, errorText, useFocusInvalid } from './ui.js';
import { CategorySelect, StateBadge, isCitizen, loadCatalogue, rememberDuplicates, stateText } from './events.js';
import { SENT_EVENT, discard, flush, queued, submitReport, subscribe } from './outbox.js';
import { PatrolPanel } from './patrol.js';

const FIELDS = ['category', 'title', 'description', 'people', 'address', 'lon', 'lat', 'kind', 'note'];
const empty = { category: '', title: '', description: '', people: '', address: '', lon: '', lat: '', kind: 'normal', note: '' };

// The server's limits (docs/MEDIA.md): media.max_photo's default until the
// server has said its own (GET /api/v1/status "limits"), and the pixel bounds
// checked before decoding. Should the server still refuse (413), its message
// is shown.
export const MAX_PHOTO_BYTES = 10 * 1024 * 1024;
let maxPhotoBytes = MAX_PHOTO_BYTES;
let limitsAsked = null;

/** Resolves to the server's largest photo in bytes (the default when offline). */
function photoLimit() {
  limitsAsked ??= api('api/v1/status', { quiet: true })
    .then((s) => {
      const max = s?.limits?.max_photo;
      if (Number.isInteger(max) && max > 0) maxPhotoBytes = max;
      return maxPhotoBytes;
    })
    .catch(() => {
      limitsAsked = null; // offline: ask again next time
      return maxPhotoBytes;
    });
  return limitsAsked;
}
const MAX_SIDE = 16_000;
const MAX_PIXELS = 50_000_000;
/** Photos per stage: bounds what a phone keeps offline. */
export const MAX_PHOTOS = 9;

/** The type of an image from its first bytes, as the server sniffs it, or ''. */
export function sniffType(b) {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (b.length >= 8 && png.every((v, i) => b[i] === v)) return 'image/png';
  const ascii = (from, to) => String.fromCharCode(...b.slice(from, to));
  if (b.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'image/webp';
  return '';
}

/**
 * Checks a chosen file against the server's rules; resolves to
 * {ok: photo} ({blob, type, name, url, width, height}) or {error: text}.
 */
async function checkPhoto(file) {
  const name = file.name || t('report.photo.unnamed');
  if (file.size === 0) return { error: t('report.photo.empty', { name }) };
  const max = await photoLimit();
  if (file.size > max) {
    return { error: t('report.photo.too_big', { name, size: formatBytes(file.size), max: formatBytes(max) }) };
  }
  const type = sniffType(new Uint8Array(await file.slice(0, 12).arrayBuffer()));
  if (!type) return { error: t('report.photo.not_image', { name }) };
  const url = URL.createObjectURL(file);
  const img = new Image();
  img.src = url;
  try {
    await img.decode();
  } catch {
    URL.revokeObjectURL(url);
    return { error: t('report.photo.broken', { name }) };
  }
  const { naturalWidth: width, naturalHeight: height } = img;
  if (width > MAX_SIDE || height > MAX_SIDE || width * height > MAX_PIXELS) {
    URL.revokeObjectURL(url);
    return { error: t('report.photo.too_many_px', { name, w: width, h: height }) };
  }
  return { ok: { blob: file, type, name, url, width, height } };
}

let photoSeq = 0;

/** Chooses or takes photos for one stage, with thumbnails; `photos` is the list, onChange(list). */
function PhotoPicker({ stage, label, photos, onChange, busy }) {
  const [errors, setErrors] = useState([]);
  const [checking, setChecking] = useState(false);
  const id = useMemo(() => newId(`rep-photo-${stage}`), [stage]);
  const [maxBytes, setMaxBytes] = useState(maxPhotoBytes);
  useEffect(() => {
    let live = true;
    photoLimit().then((m) => live && setMaxBytes(m));
    return () => {
      live = false;
    };
  }, []);
  const onFiles = async (e) => {
    const input = e.currentTarget;
    const files = [...(input.files ?? [])];
    input.value = ''; // the same file may be chosen again after being removed
    setChecking(true);
    const bad = [];
    const good = [];
    for (const f of files) {
      if (photos.length + good.length >= MAX_PHOTOS) {
        bad.push(t('report.photo.too_many', { n: MAX_PHOTOS }));
        break;
      }
      const r = await checkPhoto(f);
      if (r.ok) good.push({ ...r.ok, stage, key: (photoSeq += 1) });
      else bad.push(r.error);
    }
    setErrors(bad);
    setChecking(false);
    if (good.length) onChange([...photos, ...good]);
  };
  const remove = (p) => {
    URL.revokeObjectURL(p.url);
    onChange(photos.filter((x) => x !== p));
  };
  // Two buttons: on phones `capture` opens the camera and offers no gallery, so choosing
  // photos already taken needs an input without it.
  const input = (capture, testid) => html`<input
    type="file"
    class="sr-only"
    accept="image/jpeg,image/png,image/webp,image/*"
    capture=${capture ? 'environment' : undefined}
    multiple
    disabled=${busy || checking}
    onChange=${onFiles}
    data-testid=${testid}
  />`;
  return html`<div
    class="form-field report-photos"
    role="group"
    aria-labelledby=${id}
    data-testid=${`report-photos-${stage}`}
    data-count=${photos.length}
  >
    <span class="report-photos-label" id=${id}>${label}</span>
    ${photos.length > 0 &&
    html`<ul class="report-thumbs">
      ${photos.map(
        (p) => html`<li key=${p.key} data-testid="report-thumb">
          <img src=${p.url} alt=${p.name} width=${p.width} height=${p.height} />
          <button type="button" class="report-thumb-remove" onClick=${() => remove(p)} disabled=${busy} aria-label=${t('report.photo.remove', { name: p.name })} data-testid="report-thumb-remove">
            <${Icon} name="close" />
          </button>
        </li>`,
      )}
    </ul>`}
    <div class="report-photo-buttons">
      <label class=${`btn btn-small upload-btn${checking ? ' is-busy' : ''}`}>
        <${Icon} name="plus" /><span>${t('report.photo.take')}</span>
        ${input(true, `report-photo-input-${stage}`)}
      </label>
      <label class=${`btn btn-small upload-btn${checking ? ' is-busy' : ''}`}>
        <${Icon} name="copy" /><span>${t('report.photo.choose')}</span>
        ${input(false, `report-photo-pick-${stage}`)}
      </label>
    </div>
    <p class="muted" data-testid="report-photo-hint">${t('report.photo.hint', { n: MAX_PHOTOS, max: formatBytes(maxBytes) })}</p>
    ${errors.map((m) => html`<p class="form-error" data-testid="report-photo-error">${m}</p>`)}
  </div>`;
}

// The map picker (report-map.js), loaded the first time: it brings Leaflet.
let pickerModule = null;

function MapSlot(props) {
  const [mod, setMod] = useState(pickerModule);
  useEffect(() => {
    if (mod) return;
    import('./report-map.js').then(
      (m) => {
        pickerModule = m;
        setMod(m);
      },
      () => {}, // not loaded (offline before any visit): the coordinate fields remain
    );
  }, []);
  return mod ? html`<${mod.MapPicker} ...${props} />` : null;
}

/** The queued reports of the signed-in account, kept current. */
export function useOutbox(login) {
  const [list, setList] = useState(() => queued(login));
  useEffect(() => {
    setList(queued(login));
    return subscribe(() => setList(queued(login)));
  }, [login]);
  return list;
}

function OutboxPanel({ login }) {
  const list = useOutbox(login);
  const [busy, setBusy] = useState(false);
  if (list.length === 0) return null;
  const waiting = list.filter((e) => !e.error).length;
  const sendNow = async () => {
    setBusy(true);
    try {
      await flush(login);
    } finally {
      setBusy(false);
    }
  };
  return html`<article class="card outbox" data-testid="outbox" data-count=${list.length}>
    <h2 class="card-title"><${Icon} name="info" />${t('outbox.title')}</h2>
    <p data-testid="outbox-count">${t('outbox.count', { n: waiting })}</p>
    <ul class="outbox-list">
      ${list.map(
        (e) => html`<li key=${e.id} data-testid="outbox-item" data-error=${e.error ? e.error.code : ''}>
          <span class="cell-main">${e.body.title}</span>
          <span class="cell-sub">${t('outbox.queued_at', { time: formatDateTime(new Date(e.queued_at)) })}</span>
          ${(e.photos?.length ?? 0) > 0 && html`<span class="cell-sub" data-testid="outbox-photos">${t('outbox.photos', { n: e.photos.length })}</span>`}
          ${e.event && html`<span class="cell-sub" data-testid="outbox-event">${t('outbox.event_sent', { id: e.event.id })}</span>`}
          ${e.error &&
          html`<span class="form-error">${e.error.photo ? `${t('outbox.photo_refused', { name: e.error.photo })} ` : ''}${errorText({ code: e.error.code, serverMessage: e.error.message, status: e.error.status })}</span>
            <button type="button" class="link-btn" onClick=${() => discard(e.id)} data-testid="outbox-discard">${t('outbox.discard')}</button>`}
        </li>`,
      )}
    </ul>
    ${waiting > 0 &&
    html`<button type="button" class="btn btn-small" onClick=${sendNow} disabled=${busy} data-testid="outbox-send">
      <${Icon} name="refresh" class=${busy ? 'icon spin' : 'icon'} />${t('outbox.send')}
    </button>`}
  </article>`;
}

function Created({ ev, onAnother }) {
  const dups = Array.isArray(ev.duplicates) ? ev.duplicates : [];
  const photoErrors = ev.photoErrors ?? [];
  const uploaded = (ev.photoCount ?? 0) - photoErrors.length - (ev.queuedPhotos ?? 0);
  return html`<article class="card report-done" data-testid="report-done" data-id=${ev.id}>
    <h2 class="card-title"><${Icon} name="check" />${t('report.done.title')}</h2>
    <p>
      ${t('report.done.body', { id: ev.id, grid: ev.grid })} <${StateBadge} state=${ev.state} />
    </p>
    ${uploaded > 0 && html`<p data-testid="report-photos-sent" data-count=${uploaded}>${t('report.photo.sent', { n: uploaded })}</p>`}
    ${ev.queuedPhotos > 0 && html`<${Notice} kind="warn" testid="report-photos-queued">${t('report.photo.queued', { n: ev.queuedPhotos })}<//>`}
    ${photoErrors.map(
      (p) => html`<p class="form-error" data-testid="report-photo-refused">
        ${t('outbox.photo_refused', { name: p.name })} ${errorText(p.error)}
      </p>`,
    )}
    ${dups.length > 0 &&
    html`<div data-testid="report-duplicates">
      <p>${t('report.duplicates', { n: dups.length })}</p>
      <ul>
        ${dups.map(
          (d) => html`<li key=${d.id}>
            <a href=${`#/events/${d.id}`}>${t('events.id', { id: d.id })}</a> · ${stateText(d.state)} · ${d.distance_m} m
          </li>`,
        )}
      </ul>
    </div>`}
    <div class="form-actions">
      <a class="btn btn-primary" href=${`#/events/${ev.id}`} data-testid="report-open">${t('report.done.open')}</a>
      <button type="button" class="btn" onClick=${onAnother} data-testid="report-another">${t('report.done.another')}</button>
    </div>
  </article>`;
}

export function ReportPage() {
  const { me, offline } = useSession();
  const citizen = isCitizen(me);
  const catalogue = useLoad((signal) => loadCatalogue(signal), []);
  const [form, setForm] = useState(empty);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState(null);
  const [queuedNow, setQueuedNow] = useState(false);
  const [sentNotice, setSentNotice] = useState(0);
  const [geo, setGeo] = useState({ busy: false, error: '' });
  const [tries, setTries] = useState(0);
  const [photos, setPhotos] = useState({ report: [], before: [], after: [] });
  const formRef = useRef(null);
  useFocusInvalid(formRef, tries);
  const ids = useMemo(() => Object.fromEntries(FIELDS.map((k) => [k, newId(`rep-${k}`)])), []);
  const set = (k) => (v) => setForm((f) => ({ ...f, [k]: v }));

  useEffect(() => {
    const onSent = (e) => setSentNotice(e.detail?.sent?.length ?? 0);
    window.addEventListener(SENT_EVENT, onSent);
    return () => window.removeEventListener(SENT_EVENT, onSent);
  }, []);

  const kinds = [
    { value: 'normal', label: t('event.kind.normal') },
    ...(can(me, 'event.resolve') ? [{ value: 'self_resolved', label: t('event.kind.self_resolved') }] : []),
    ...(!citizen ? [{ value: 'report_only', label: t('event.kind.report_only') }] : []),
  ];

  // `auto`: the fix asked for when the form opens, which must not overwrite a point the user
  // has typed or picked meanwhile.
  const locate = (auto = false) => {
    if (!navigator.geolocation) {
      setGeo({ busy: false, error: t('report.geo.unavailable') });
      return;
    }
    setGeo({ busy: true, error: '' });
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        const lon = pos.coords.longitude.toFixed(6);
        const lat = pos.coords.latitude.toFixed(6);
        setForm((f) => (auto && (f.lon !== '' || f.lat !== '') ? f : { ...f, lon, lat }));
        setGeo({ busy: false, error: '' });
      },
      (err) => setGeo({ busy: false, error: err.code === 1 ? t('report.geo.denied') : t('report.geo.failed') }),
      { enableHighAccuracy: true, timeout: 15_000, maximumAge: 30_000 },
    );
  };

  useEffect(() => {
    if (!created) locate(true);
  }, [created]);

  // Thumbnails are object URLs: released with the page.
  const photosRef = useRef(photos);
  photosRef.current = photos;
  useEffect(() => () => Object.values(photosRef.current).flat().forEach((p) => URL.revokeObjectURL(p.url)), []);
  const clearPhotos = () => {
    Object.values(photos).flat().forEach((p) => URL.revokeObjectURL(p.url));
    setPhotos({ report: [], before: [], after: [] });
  };
  const pick = (lon, lat) => setForm((f) => ({ ...f, lon: lon.toFixed(6), lat: lat.toFixed(6) }));

  /** Checks done in the browser, so that an offline report is not queued broken. */
  function check() {
    const need = (field) => ({ code: 'missing_field', field, serverMessage: '' });
    if (!form.category) return need('category');
    if (!form.title.trim()) return need('title');
    const lon = Number(form.lon);
    const lat = Number(form.lat);
    if (form.lon.trim() === '' || !Number.isFinite(lon) || lon < -180 || lon > 180) return { code: 'invalid_input', field: 'lon', serverMessage: '' };
    if (form.lat.trim() === '' || !Number.isFinite(lat) || lat < -90 || lat > 90) return { code: 'invalid_input', field: 'lat', serverMessage: '' };
    if (form.people !== '' && !(Number.isInteger(Number(form.people)) && Number(form.people) >= 0)) {
      return { code: 'invalid_input', field: 'people', serverMessage: '' };
    }
    return null;
  }

  const submit = async (e) => {
    e.preventDefault();
    const bad = check();
    setQueuedNow(false);
    if (bad) {
      setError(bad);
      setTries((n) => n + 1);
      return;
    }
    const [kind, code] = form.category.split(':');
    const body = {
      source: citizen ? 'citizen' : 'patrol',
      category_kind: kind,
      category: code,
      title: form.title.trim(),
      lon: Number(form.lon),
      lat: Number(form.lat),
      kind: form.kind,
    };
    if (form.description.trim()) body.description = form.description.trim();
    if (form.address.trim()) body.address = form.address.trim();
    if (form.people !== '') body.people = Number(form.people);
    if (form.kind === 'self_resolved' && form.note.trim()) body.note = form.note.trim();
    const list = (form.kind === 'self_resolved' ? [...photos.before, ...photos.after] : photos.report).map((p) => ({
      blob: p.blob,
      type: p.type,
      stage: p.stage,
      name: p.name,
    }));
    setBusy(true);
    setError(null);
    try {
      const r = await submitReport(me.login, body, list);
      if (r.queued) {
        setQueuedNow(true);
        setForm({ ...empty, category: form.category, lon: form.lon, lat: form.lat });
      } else {
        rememberDuplicates(r.event.id, r.event.duplicates);
        setCreated({ ...r.event, photoCount: list.length, photoErrors: r.photoErrors, queuedPhotos: r.queuedPhotos });
        setForm(empty);
      }
      clearPhotos();
    } catch (err) {
      // A refused report; or photos that could not be kept offline (no IndexedDB, storage full).
      setError(err instanceof ApiError ? err : { code: 'photo_store', serverMessage: '' });
      setTries((n) => n + 1);
    } finally {
      setBusy(false);
    }
  };

  const fe = (f) => {
    if (!error || error.field !== f) return '';
    if (!error.serverMessage) return t(error.code === 'missing_field' ? 'report.error.required' : 'report.error.invalid');
    return fieldError(error, f);
  };
  const formError = error && !FIELDS.includes(error.field) ? error : null;

  return html`<section class="page page-narrow report-page" aria-labelledby="page-title" data-testid="report-page">
    <div class="page-head">
      <div>
        <h1 id="page-title">${t('report.title')}</h1>
        <p class="page-sub">${t(citizen ? 'report.subtitle.citizen' : 'report.subtitle.staff')}</p>
      </div>
      <div class="page-actions">
        <a class="btn" href=${citizen ? '#/my' : '#/events'}>${t(citizen ? 'nav.my' : 'nav.events')}</a>
      </div>
    </div>

    ${offline && html`<${Notice} kind="warn" testid="session-offline">${t('session.offline')}<//>`}
    ${sentNotice > 0 && html`<${Notice} kind="ok" testid="outbox-sent">${t('outbox.sent', { n: sentNotice })}<//>`}
    ${queuedNow && html`<${Notice} kind="warn" testid="report-queued">${t('report.queued')}<//>`}
    <${OutboxPanel} login=${me.login} />
    ${can(me, 'patrol.record') && html`<${PatrolPanel} login=${me.login} />`}

    ${created
      ? html`<${Created} ev=${created} onAnother=${() => setCreated(null)} />`
      : html`<form class="form card report-form" ref=${formRef} onSubmit=${submit} novalidate data-testid="report-form">
          ${catalogue.error && html`<${ErrorAlert} error=${catalogue.error} testid="report-catalogue-error" />`}
          <${CategorySelect}
            id=${ids.category}
            catalogue=${catalogue.data}
            value=${form.category}
            onChange=${set('category')}
            testid="report-category"
            error=${fe('category')}
            required
          />
          <${TextField}
            id=${ids.title}
            label=${t('event.title')}
            value=${form.title}
            onInput=${set('title')}
            error=${fe('title')}
            maxlength="200"
            required
            testid="report-title"
          />
          <div class="form-field">
            <label for=${ids.description}>${t('event.description')}</label>
            <textarea
              id=${ids.description}
              rows="3"
              value=${form.description}
              data-testid="report-description"
              aria-invalid=${fe('description') ? 'true' : undefined}
              onInput=${(e) => set('description')(e.currentTarget.value)}
            ></textarea>
            ${fe('description') && html`<p class="form-error">${fe('description')}</p>`}
          </div>
          <${TextField}
            id=${ids.people}
            label=${t('event.people')}
            type="number"
            min="0"
            inputmode="numeric"
            value=${form.people}
            onInput=${set('people')}
            error=${fe('people')}
            testid="report-people"
          />
          <${TextField}
            id=${ids.address}
            label=${t('event.address')}
            value=${form.address}
            onInput=${set('address')}
            error=${fe('address')}
            testid="report-address"
          />
          <fieldset class="form-field report-location">
            <legend>${t('event.location')}<span class="req" aria-hidden="true"> *</span></legend>
            <div class="form-grid">
              <${TextField}
                id=${ids.lon}
                label=${t('report.lon')}
                inputmode="decimal"
                value=${form.lon}
                onInput=${set('lon')}
                error=${fe('lon')}
                testid="report-lon"
              />
              <${TextField}
                id=${ids.lat}
                label=${t('report.lat')}
                inputmode="decimal"
                value=${form.lat}
                onInput=${set('lat')}
                error=${fe('lat')}
                testid="report-lat"
              />
            </div>
            ${can(me, 'grid.read') && html`<${MapSlot} lon=${form.lon} lat=${form.lat} onPick=${pick} login=${me.login} />`}
            <button type="button" class="btn btn-small" onClick=${() => locate(false)} disabled=${geo.busy} data-testid="report-locate">
              <${Icon} name="grid" />${geo.busy ? t('report.geo.busy') : t('report.geo.use')}
            </button>
            ${geo.error && html`<p class="form-error" data-testid="report-geo-error">${geo.error}</p>`}
          </fieldset>
          ${kinds.length > 1 &&
          html`<fieldset class="form-field">
            <legend>${t('event.kind')}</legend>
            <div class="report-kinds">
              ${kinds.map(
                (k) => html`<label class="check">
                  <input
                    type="radio"
                    name="kind"
                    value=${k.value}
                    checked=${form.kind === k.value}
                    data-testid=${`report-kind-${k.value}`}
                    onChange=${() => set('kind')(k.value)}
                  />
                  <span>${k.label}</span>
                </label>`,
              )}
            </div>
          </fieldset>`}
          ${form.kind === 'self_resolved' &&
          html`<div class="form-field">
            <label for=${ids.note}>${t('report.resolve_note')}</label>
            <textarea id=${ids.note} rows="2" value=${form.note} data-testid="report-note" onInput=${(e) => set('note')(e.currentTarget.value)}></textarea>
          </div>`}
          ${form.kind === 'self_resolved'
            ? html`<${PhotoPicker} stage="before" label=${t('report.photo.before')} photos=${photos.before} onChange=${(l) => setPhotos((p) => ({ ...p, before: l }))} busy=${busy} />
                <${PhotoPicker} stage="after" label=${t('report.photo.after')} photos=${photos.after} onChange=${(l) => setPhotos((p) => ({ ...p, after: l }))} busy=${busy} />`
            : html`<${PhotoPicker} stage="report" label=${t('report.photo.report')} photos=${photos.report} onChange=${(l) => setPhotos((p) => ({ ...p, report: l }))} busy=${busy} />`}
          ${formError && html`<${ErrorAlert} error=${formError} testid="report-error" />`}
          <div class="form-actions">
            <button type="submit" class="btn btn-primary btn-block" disabled=${busy} data-testid="report-submit">
              ${busy ? t('common.working') : t('report.submit')}
            </button>
          </div>
        </form>`}
  </section>`;
}
