// kpi.js: the KPI page of the web UI, #/kpi (stats.read; docs/WEB_EVENTS.md, "KPIs").
//
// The first KPIs of GET api/v1/kpi for the leaders who read the numbers: one row per grid,
// village, town, department or worker over a period (this month, last month, this year, the
// last twelve months or any dates), ranked by any figure (click a column head; again for the
// other way) and paged, with the total of all groups. The state lives in the address
// (#/kpi?by=worker&period=year&order=-closure_rate&page=2), so a ranking can be shared.

import { useEffect, useMemo, useState } from './vendor/preact-hooks.js';
import { api } from './api.js';
import { t, formatNumber } from './i18n.js';
import { navigate } from './session.js';
import { html, Icon, ErrorAlert, Notice, SelectField, TextField, newId, useLoad } from './ui.js';

const PAGE_SIZE = 50;
const GROUPS = ['grid', 'village', 'town', 'department', 'worker'];
const PERIODS = ['month', 'last_month', 'year', 'twelve_months', 'custom'];
// The columns after the group: the row's field, how it is shown.
const COLUMNS = [
  ['reported', 'n'],
  ['filed', 'n'],
  ['due', 'n'],
  ['closed', 'n'],
  ['closed_on_time', 'n'],
  ['closure_rate', 'rate'],
  ['on_time_rate', 'rate'],
  ['rework', 'n'],
  ['self_resolution_rate', 'rate'],
  ['satisfaction', 'grade'],
];
const FIELDS = new Set(['key', ...COLUMNS.map(([f]) => f)]);

const dash = '—';
const DATE = /^\d{4}-\d{2}-\d{2}$/;

// China calendar days (UTC+8, no daylight saving), whatever the browser's time zone.
function chinaToday(now = Date.now()) {
  const d = new Date(now + 8 * 3600e3);
  return { y: d.getUTCFullYear(), m: d.getUTCMonth(), d: d.getUTCDate() };
}
const ymd = (y, m, d) => new Date(Date.UTC(y, m, d)).toISOString().slice(0, 10);
const shift = (date, days) => new Date(Date.parse(`${date}T00:00:00Z`) + days * 86400e3).toISOString().slice(0, 10);

/** The dates [from, to) of a period name (to exclusive), or of the custom days from..to (both included). */
export function periodDates(period, from, to, now = Date.now()) {
  const c = chinaToday(now);
  switch (period) {
    case 'last_month':
      return { from: ymd(c.y, c.m - 1, 1), to: ymd(c.y, c.m, 1) };
    case 'year':
      return { from: ymd(c.y, 0, 1), to: ymd(c.y + 1, 0, 1) };
    case 'twelve_months':
      return { from: ymd(c.y - 1, c.m, c.d + 1), to: ymd(c.y, c.m, c.d + 1) };
    case 'custom':
      return DATE.test(from ?? '') && DATE.test(to ?? '') ? { from, to: shift(to, 1) } : { from, to };
    default:
      return { from: ymd(c.y, c.m, 1), to: ymd(c.y, c.m + 1, 1) };
  }
}

/** The page's state from the address, each value checked (unknown ones fall back). */
function stateOf(query) {
  const get = (k) => query?.get(k) ?? '';
  const by = GROUPS.includes(get('by')) ? get('by') : 'town';
  const period = PERIODS.includes(get('period')) ? get('period') : 'month';
  const order = FIELDS.has(get('order').replace(/^-/, '')) ? get('order') : '-reported';
  const page = Math.max(1, Math.min(10_000, Number.parseInt(get('page'), 10) || 1));
  return { by, period, order, page, from: get('from'), to: get('to') };
}

const rate = (v) => (v === null || v === undefined ? dash : `${formatNumber(v * 100, { maximumFractionDigits: 1 })}%`);
const cell = (v, kind) =>
  kind === 'rate' ? rate(v) : kind === 'grade' ? (v === null || v === undefined ? dash : formatNumber(v, { maximumFractionDigits: 2 })) : formatNumber(v ?? 0);

export function KpiPage({ query }) {
  const s = useMemo(() => stateOf(query), [query?.toString()]);
  const [draft, setDraft] = useState(s);
  const ids = useMemo(
    () => ({ by: newId('kpi-by'), period: newId('kpi-period'), from: newId('kpi-from'), to: newId('kpi-to'), sort: newId('kpi-sort'), dir: newId('kpi-dir') }),
    [],
  );
  useEffect(() => setDraft(s), [s]);
  const dates = periodDates(s.period, s.from, s.to);
  const datesOk = DATE.test(dates.from ?? '') && DATE.test(dates.to ?? '') && dates.from < dates.to;

  const go = (next) => {
    const q = { ...s, ...next };
    const params = { by: q.by, period: q.period, order: q.order, page: q.page > 1 ? String(q.page) : '' };
    if (q.period === 'custom') Object.assign(params, { from: q.from, to: q.to });
    navigate(`/kpi?${new URLSearchParams(Object.entries(params).filter(([, v]) => v)).toString()}`);
  };
  const apply = (e) => {
    e.preventDefault();
    go({ ...draft, page: 1 });
  };
  const sortBy = (field) => go({ order: s.order === `-${field}` ? field : `-${field}`, page: 1 });

  const data = useLoad(
    (signal) =>
      datesOk
        ? api('api/v1/kpi', {
            signal,
            query: { by: s.by, from: dates.from, to: dates.to, order: s.order, limit: PAGE_SIZE, offset: (s.page - 1) * PAGE_SIZE },
          })
        : Promise.resolve(null),
    [s.by, dates.from, dates.to, s.order, s.page],
  );
  const d = data.data;
  const rows = d?.rows ?? [];
  const first = (s.page - 1) * PAGE_SIZE;
  const set = (k) => (v) => setDraft((x) => ({ ...x, [k]: v }));
  const head = (field, label) => {
    const on = s.order.replace(/^-/, '') === field;
    const desc = s.order.startsWith('-');
    return html`<th scope="col" aria-sort=${on ? (desc ? 'descending' : 'ascending') : 'none'}>
      <button type="button" class="link-btn th-sort" onClick=${() => sortBy(field)} data-testid=${`kpi-sort-${field}`}>
        ${label}${on ? (desc ? ' ↓' : ' ↑') : ''}
      </button>
    </th>`;
  };

  return html`<section class="page page-wide" aria-labelledby="page-title" data-testid="kpi-page">
    <div class="page-head">
      <div>
        <h1 id="page-title">${t('kpi.title')}</h1>
        <p class="page-sub">${t('kpi.subtitle')}</p>
      </div>
      <div class="page-actions">
        <button type="button" class="btn" onClick=${data.reload} disabled=${data.loading} data-testid="kpi-refresh">
          <${Icon} name="refresh" class=${data.loading ? 'icon spin' : 'icon'} />${t('status.refresh')}
        </button>
      </div>
    </div>

    <form class="filters card" onSubmit=${apply} data-testid="kpi-filters" role="search">
      <${SelectField}
        id=${ids.by}
        label=${t('kpi.by')}
        value=${draft.by}
        onChange=${set('by')}
        testid="kpi-by"
        options=${GROUPS.map((g) => ({ value: g, label: t(`kpi.by.${g}`) }))}
      />
      <${SelectField}
        id=${ids.period}
        label=${t('kpi.period')}
        value=${draft.period}
        onChange=${set('period')}
        testid="kpi-period"
        options=${PERIODS.map((p) => ({ value: p, label: t(`kpi.period.${p}`) }))}
      />
      <${SelectField}
        id=${ids.sort}
        label=${t('kpi.order')}
        value=${draft.order.replace(/^-/, '')}
        onChange=${(v) => set('order')(draft.order.startsWith('-') ? `-${v}` : v)}
        testid="kpi-order"
        options=${[['key', t(`kpi.by.${draft.by}`)], ...COLUMNS.map(([f]) => [f, t(`kpi.col.${f}`)])].map(([value, label]) => ({ value, label }))}
      />
      <${SelectField}
        id=${ids.dir}
        label=${t('kpi.direction')}
        value=${draft.order.startsWith('-') ? 'desc' : 'asc'}
        onChange=${(v) => set('order')(v === 'desc' ? `-${draft.order.replace(/^-/, '')}` : draft.order.replace(/^-/, ''))}
        testid="kpi-direction"
        options=${['desc', 'asc'].map((value) => ({ value, label: t(`kpi.direction.${value}`) }))}
      />
      ${draft.period === 'custom' &&
      html`<${TextField} id=${ids.from} type="date" label=${t('kpi.from')} value=${draft.from} onInput=${set('from')} testid="kpi-from" required />
        <${TextField} id=${ids.to} type="date" label=${t('kpi.to')} value=${draft.to} onInput=${set('to')} testid="kpi-to" required />`}
      <div class="filter-actions">
        <button type="submit" class="btn btn-primary" data-testid="kpi-apply"><${Icon} name="search" />${t('common.search')}</button>
      </div>
    </form>

    ${!datesOk && html`<${Notice} kind="warn" testid="kpi-dates-error">${t('kpi.dates_bad')}</${Notice}>`}
    ${data.error && html`<${ErrorAlert} error=${data.error} testid="kpi-error" />`}

    ${datesOk &&
    html`<p class="page-sub" data-testid="kpi-range">
      ${t('kpi.range', { from: dates.from, to: shift(dates.to, -1) })}
      ${d && ` · ${t('kpi.groups', { n: formatNumber(d.groups) })}`}
    </p>`}

    <div class=${data.loading ? 'table-wrap is-loading' : 'table-wrap'} aria-busy=${String(data.loading)}>
      <table class="table table-cards kpi-table" data-testid="kpi-table" data-ready=${String(Boolean(d) && !data.loading)}>
        <thead>
          <tr>
            <th scope="col" class="kpi-rank">#</th>
            ${head('key', t(`kpi.by.${s.by}`))}
            ${COLUMNS.map(([f]) => head(f, t(`kpi.col.${f}`)))}
          </tr>
        </thead>
        <tbody>
          ${rows.map(
            (r, i) => html`<tr key=${r.key} data-testid="kpi-row" data-key=${r.key}>
              <td data-label="#" class="kpi-rank">${formatNumber(first + i + 1)}</td>
              <td data-label=${t(`kpi.by.${s.by}`)}>
                <div>
                  <span class="cell-main" data-testid="kpi-name">${r.name ?? (s.by === 'worker' ? t('kpi.account', { id: r.key }) : r.key)}</span>
                  ${r.name && html`<span class="cell-sub mono">${r.key}</span>`}
                </div>
              </td>
              ${COLUMNS.map(([f, kind]) => html`<td data-label=${t(`kpi.col.${f}`)} class="num" data-field=${f}>${cell(r[f], kind)}</td>`)}
            </tr>`,
          )}
          ${d && rows.length === 0 && html`<tr><td colspan=${COLUMNS.length + 2} class="table-empty" data-testid="kpi-empty">${t('kpi.empty')}</td></tr>`}
        </tbody>
        ${d &&
        html`<tfoot>
          <tr data-testid="kpi-total">
            <td></td>
            <th scope="row">${t('kpi.total')}</th>
            ${COLUMNS.map(([f, kind]) => html`<td data-label=${t(`kpi.col.${f}`)} class="num" data-field=${f}>${cell(d.total?.[f], kind)}</td>`)}
          </tr>
        </tfoot>`}
      </table>
    </div>
    ${d &&
    d.groups > PAGE_SIZE &&
    html`<div class="pager" data-testid="kpi-pager">
      <button type="button" class="btn btn-small" disabled=${s.page <= 1} onClick=${() => go({ page: s.page - 1 })} data-testid="kpi-pager-prev">
        ${t('common.prev')}
      </button>
      <span class="pager-page">${t('kpi.page', { a: formatNumber(first + 1), b: formatNumber(first + rows.length), n: formatNumber(d.groups) })}</span>
      <button
        type="button"
        class="btn btn-small"
        disabled=${first + rows.length >= d.groups}
        onClick=${() => go({ page: s.page + 1 })}
        data-testid="kpi-pager-next"
      >
        ${t('common.next')}
      </button>
    </div>`}
  </section>`;
}
