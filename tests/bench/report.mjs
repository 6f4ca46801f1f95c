// report.mjs: turns the JSON lines of a bench run into the table of `make bench` and
// build/bench/results.json (docs/BENCHMARKS.md).
//
//   node tests/bench/report.mjs --lines FILE.jsonl --out results.json [--markdown FILE.md]
//                               [--reference tests/bench/reference.json]
//
// Records, one JSON object a line (what every benchmark program prints):
//   {"type":"result","id":"locate.fast","what":"...","size":"...","unit":"lookups/s",
//    "better":"higher"|"lower","samples":[...],
//    "ref":"postgis.join",                                 optional: a result of the same run
//    "static_ref":{"value":53000,"unit":"points/s","source":"perf-notes: ..."}}  optional
//   {"type":"info","id":"locate.mismatch","value":0}
// A row's reference is the result named by "ref" when the run has it, else "static_ref"
// (marked as such). Results whose id starts with "postgis." or "sqlite." are references themselves.
// Machine facts are read here; BENCH_CC, BENCH_CFLAGS, BENCH_LDFLAGS name the compiler.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
if (!args.lines || !args.out) {
  console.error('usage: report.mjs --lines FILE.jsonl --out results.json [--markdown FILE.md] [--reference FILE]');
  process.exit(2);
}

// ---- read the run ---------------------------------------------------------------------------

const results = [];
const info = {};
for (const line of readFileSync(args.lines, 'utf8').split('\n')) {
  if (!line.trim()) continue;
  let rec;
  try {
    rec = JSON.parse(line);
  } catch {
    console.error(`report.mjs: not JSON, skipped: ${line.slice(0, 120)}`);
    continue;
  }
  if (rec.type === 'info') {
    info[rec.id] = rec.value;
    if (rec.reason) info[`${rec.id.split('.')[0]}.reason`] = rec.reason;
  }
  else if (rec.type === 'result' && Array.isArray(rec.samples) && rec.samples.length) results.push(rec);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
for (const r of results) {
  r.samples = r.samples.map(Number);
  r.median = median(r.samples);
  r.min = Math.min(...r.samples);
  r.max = Math.max(...r.samples);
  r.spread_pct = r.median ? ((r.max - r.min) / r.median) * 100 : 0;
}
const byId = Object.fromEntries(results.map((r) => [r.id, r]));
const isRef = (id) => /^(postgis|sqlite)\./.test(id);

// Units: "X/s" rates, or times "ns", "us", "ms", "s" (optionally "/what"). Returns the value
// in per-second or in seconds, and the kind, so that 137 us/query compares with 250 ns/lookup.
const TIME = { ns: 1e-9, us: 1e-6, ms: 1e-3, s: 1 };
function normal(value, unit) {
  if (/\/s$/.test(unit)) return { kind: 'rate', v: value };
  const t = TIME[unit.split('/')[0]];
  return t ? { kind: 'time', v: value * t } : null;
}
// How many times better civgrid's figure is than the reference's (above 1: better).
function ratio(r, refValue, refUnit) {
  const a = normal(r.median, r.unit);
  const b = normal(refValue, refUnit);
  if (!a || !b || a.kind !== b.kind || !a.v || !b.v) return null;
  const higher = a.kind === 'rate' ? r.better !== 'lower' : r.better === 'higher';
  return higher ? a.v / b.v : b.v / a.v;
}

const notes = []; // footnotes naming each reference
function note(text) {
  let i = notes.indexOf(text);
  if (i < 0) i = notes.push(text) - 1;
  return i + 1;
}
for (const r of results) {
  if (isRef(r.id)) continue;
  const live = r.ref && byId[r.ref];
  if (live) {
    r.reference = { kind: 'same run', id: live.id, what: live.what, value: live.median, unit: live.unit };
  } else if (r.static_ref) {
    r.reference = { kind: 'static', what: r.static_ref.source, value: r.static_ref.value, unit: r.static_ref.unit };
  }
  if (r.reference) {
    r.ratio = ratio(r, r.reference.value, r.reference.unit);
    r.reference.note = note(r.reference.kind === 'static' ? `${r.reference.what} (not measured in this run)` : r.reference.what);
  }
}

// ---- the committed reference run ------------------------------------------------------------

let committed = null;
if (args.reference && existsSync(args.reference)) {
  try {
    committed = JSON.parse(readFileSync(args.reference, 'utf8'));
  } catch (e) {
    console.error(`report.mjs: ${args.reference} is not JSON (${e.message}): no comparison`);
  }
}
const committedById = Object.fromEntries((committed?.results ?? []).map((r) => [r.id, r]));
for (const r of results) {
  const c = committedById[r.id];
  if (c && c.unit === r.unit && c.median) {
    r.committed = c.median;
    r.change_pct = ((r.median - c.median) / c.median) * 100;
  }
}

// ---- machine facts --------------------------------------------------------------------------

function run(cmd, argv) {
  try {
    return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}
function osName() {
  try {
    return /^PRETTY_NAME="?([^"\n]*)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '';
  } catch {
    return '';
  }
}
const cpus = os.cpus();
const cc = process.env.BENCH_CC || 'cc';
const commit = run('git', ['rev-parse', 'HEAD']);
const machine = {
  cpu: cpus[0]?.model?.trim() ?? 'unknown',
  cores: cpus.length,
  memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
  os: osName(),
  kernel: `${os.type()} ${os.release()} ${os.arch()}`,
  compiler: run(cc, ['--version']).split('\n')[0] || cc,
  cflags: process.env.BENCH_CFLAGS ?? '',
  ldflags: process.env.BENCH_LDFLAGS ?? '',
  libraries: run(process.env.CIVGRID || 'build/civgrid', ['version']).split('\n').join(', '),
  postgis: info['postgis.version'] ?? null,
  load_start: info['bench.load_start'] ?? null,
  load_end: info['bench.load_end'] ?? null,
};
const out = {
  format: 1,
  date: new Date().toISOString(),
  git: { commit, dirty: run('git', ['status', '--porcelain', '--untracked-files=no']) !== '' },
  machine,
  settings: {
    runs: Number(process.env.BENCH_RUNS) || null,
    seed: Number(process.env.BENCH_SEED) || null,
    points: Number(process.env.BENCH_POINTS) || null,
  },
  results: results.map(({ type, ...r }) => r),
  info,
};
writeFileSync(args.out, JSON.stringify(out, null, 2) + '\n');

// ---- the table ------------------------------------------------------------------------------

function num(v) {
  if (v == null || !Number.isFinite(v)) return '';
  const a = Math.abs(v);
  if (a >= 100) return Math.round(v).toLocaleString('en-US');
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(2);
}
const pct = (v, signed) => (v == null ? '' : `${signed && v >= 0 ? '+' : ''}${v.toFixed(1)}%`);
const times = (v) =>
  v == null ? '' : v >= 10 ? `${Math.round(v).toLocaleString('en-US')}x` : v >= 0.01 ? `${v.toFixed(2)}x` : `${v.toPrecision(2)}x`;

const ownHeader = ['what', 'size', 'median', 'spread', 'unit', 'reference', 'ratio'];
const refHeader = ['what', 'size', 'median', 'spread', 'unit'];
if (committed) {
  ownHeader.push('committed', 'change');
  refHeader.push('committed', 'change');
}
const RIGHT = new Set(['median', 'spread', 'ratio', 'committed', 'change']);
const cell = {
  what: (r) => r.what,
  size: (r) => r.size,
  median: (r) => num(r.median),
  spread: (r) => pct(r.spread_pct),
  unit: (r) => r.unit,
  reference: (r) => (r.reference ? `${num(r.reference.value)} ${r.reference.unit} [${r.reference.note}]` : ''),
  ratio: (r) => times(r.ratio),
  committed: (r) => num(r.committed),
  change: (r) => pct(r.change_pct, true),
};
const ownRows = results.filter((r) => !isRef(r.id));
const refRows = results.filter((r) => isRef(r.id));

function text(header, rows) {
  const all = [header, ...rows.map((r) => header.map((h) => cell[h](r) ?? ''))];
  const w = header.map((_, i) => Math.max(...all.map((r) => [...r[i]].length)));
  const line = (r) => r.map((c, i) => (RIGHT.has(header[i]) ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ').trimEnd();
  return [line(all[0]), w.map((n) => '-'.repeat(n)).join('  '), ...all.slice(1).map(line)].join('\n');
}
function markdown(header, rows) {
  const esc = (c) => c.replace(/\|/g, '\\|');
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map((h) => (RIGHT.has(h) ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${header.map((h) => esc(cell[h](r) ?? '')).join(' | ')} |`),
  ].join('\n');
}

const load = machine.load_start != null ? `; load average ${machine.load_start} at the start, ${machine.load_end} at the end` : '';
const facts = `${machine.cpu}, ${machine.cores} cores, ${machine.memory_gib} GiB, ${machine.os}; ${machine.compiler} ${machine.cflags}${load}`;
const checks = [];
if (info['locate.mismatch'] != null) {
  checks.push(
    `fast path and STRtree agree on every point: ${info['locate.mismatch'] === 0 ? 'yes' : `NO, ${info['locate.mismatch']} mismatches`}`,
  );
}
if (info['locate.cover_cells'] != null) {
  const c = info['locate.cover_cells'];
  const b = info['locate.cover_boundary_cells'];
  checks.push(
    `cell cover: ${c.toLocaleString('en-US')} cells, ${((b / c) * 100).toFixed(1)}% of them on a grid edge` +
      (info['locate.index_rss_mib'] != null ? `; index about ${info['locate.index_rss_mib'].toFixed(0)} MiB` : ''),
  );
}
if (info['locate.cpu_share'] != null && info['locate.cpu_share'] < 0.9) {
  checks.push(
    `warning: a timed lookup thread had only ${(info['locate.cpu_share'] * 100).toFixed(0)}% of a CPU: other work on the machine disturbed the figures`,
  );
}
if (info['locate.found_share'] != null) checks.push(`points inside a grid: ${(info['locate.found_share'] * 100).toFixed(1)}%`);
if (info['postgis.differ'] != null) {
  checks.push(`PostGIS places ${info['postgis.differ']} of ${info['postgis.points']} points in another grid than civgrid`);
}
if (info['nearest.mismatch'] != null) {
  checks.push(
    `nearest: cell grid and full scan agree on every query: ${info['nearest.mismatch'] === 0 ? 'yes' : `NO, ${info['nearest.mismatch']} mismatches`}`,
  );
}
if (info['postgis.knn.differ'] != null) {
  checks.push(
    `PostGIS nearest (KNN candidates re-ranked by metres) gives other distances than civgrid for ${info['postgis.knn.differ']} of ${info['postgis.knn.sample']} queries; ` +
      `by the planar <-> order of the timed query itself, ${info['postgis.knn.differ_planar']} of ${info['postgis.knn.sample']}`,
  );
}
if (info['postgis.knn.available'] === false) checks.push(`PostGIS nearest reference not run: ${info['postgis.reason'] ?? 'not available'}`);
if (info['postgis.available'] === false) checks.push(`PostGIS reference not run: ${info['postgis.reason'] ?? 'not available'}`);
if (info['locate.skipped']) checks.push(`point-to-grid lookup not run: ${info['locate.skipped']}`);
const int = (v) => Number(v).toLocaleString('en-US');
for (const b of ['intake', 'dispatch']) {
  if (info[`${b}.write_jobs`] == null) continue;
  const jobs = info[`${b}.write_jobs`];
  const commits = info[`${b}.commits`];
  checks.push(
    `${b}: ${int(jobs)} write jobs in ${int(commits)} commits (${commits ? (jobs / commits).toFixed(1) : '?'} a commit, ` +
      `civgrid_db_write_jobs_total / civgrid_db_commits_total); answers other than 2xx: ${int(info[`${b}.non2xx`] ?? 0)}` +
      (info[`${b}.socket_errors`] ? `, socket errors: ${int(info[`${b}.socket_errors`])}` : '') +
      (info[`${b}.exhausted`] ? ` (${int(info[`${b}.exhausted`])} requests after the filed events ran out)` : '') +
      (info['intake.events'] != null && b === 'intake' ? `; ${int(info['intake.events'])} events in the table at the end` : ''),
  );
}
for (const b of ['intake', 'dispatch', 'dashboard']) {
  if (info[`${b}.skipped`]) checks.push(`${b} not run: ${info[`${b}.skipped`]}`);
}

const legend = [
  'median and spread over the runs (spread: (max - min) / median); ratio: how many times better',
  "civgrid's figure is than the reference (above 1: civgrid is ahead)" + (committed ? '; committed: tests/bench/reference.json' : ''),
  ...notes.map((n, i) => `[${i + 1}] ${n}`),
];
const blocks = [`civgrid bench, ${out.date.slice(0, 16).replace('T', ' ')} UTC, ${commit.slice(0, 10)}${out.git.dirty ? ' (dirty)' : ''}`, facts];
if (committed) blocks.push(`committed run: ${committed.date?.slice(0, 10) ?? '?'}, ${committed.machine?.cpu ?? '?'}, ${committed.machine?.cores ?? '?'} cores`);
console.log(['', ...blocks, '', text(ownHeader, ownRows)].join('\n'));
if (refRows.length) console.log(['', 'references measured in the same run', '', text(refHeader, refRows)].join('\n'));
console.log(['', ...(checks.length ? [...checks, ''] : []), ...legend, '', `written: ${args.out}`].join('\n'));

if (args.markdown) {
  const md = [
    `Run of ${out.date.slice(0, 10)} at ${commit.slice(0, 10)}: ${facts}.`,
    '',
    markdown(ownHeader, ownRows),
    '',
    ...(refRows.length ? ['References measured in the same run:', '', markdown(refHeader, refRows), ''] : []),
    ...checks.map((c) => `- ${c}`),
    '',
    ...notes.map((n, i) => `[${i + 1}] ${n}  `),
    '',
  ].join('\n');
  writeFileSync(args.markdown, md);
}
process.exit(info['locate.mismatch'] ? 1 : 0);
