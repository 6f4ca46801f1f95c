// i18n.js: UI dictionaries and locale-aware formatting for the civgrid web UI.
//
// Every user-visible string lives here. zh-CN is the default language; the
// user's choice is persisted in localStorage under STORAGE_KEY.

export const STORAGE_KEY = 'civgrid.lang';
export const DEFAULT_LANG = 'zh-CN';

// Languages offered by the switch in the header, each named in itself.
export const LANGS = [
  { code: 'zh-CN', label: '中文' },
  { code: 'en', label: 'English' },
];

const dict = {
  'zh-CN': {
    'app.name': '网格化社会治理平台',
    'app.tagline': 'civgrid',
    'app.skip': '跳到主要内容',
    'header.lang': '界面语言',
    'header.menu': '菜单',
    'header.menu.open': '打开导航菜单',
    'header.menu.close': '关闭导航菜单',

    'nav.label': '主导航',
    'nav.available': '已上线',
    'nav.planned': '规划中',
    'nav.soon': '即将推出',
    'nav.status': '系统状态',
    'nav.grid': '一张网',
    'nav.events': '事件处置',
    'nav.command': '指挥中心',
    'nav.registries': '基础信息',
    'nav.mediation': '矛盾调解',
    'nav.hotline': '12345 热线',
    'nav.consultation': '社区协商',
    'nav.analytics': '研判考核',
    'nav.admin': '系统管理',

    'page.soon.title': '{name}：即将推出',
    'page.soon.body': '该功能正在建设中，将在后续版本中提供。',
    'desc.grid': '市、镇街、村居、网格四级网格划分，边界、编码与网格员配置。',
    'desc.events': '网格员上报、受理、派遣、处置、核查、结案的事件全流程。',
    'desc.command': '三级指挥中心的值班、受理与派遣，实时掌握辖区动态。',
    'desc.registries': '二标四实：标准地址、标准建筑物，实有人口、房屋、单位、设施。',
    'desc.mediation': '矛盾纠纷的登记、调解、回访与调解工作室管理。',
    'desc.hotline': '12345 热线与信箱诉求的接听、转办、督办与回复。',
    'desc.consultation': '社区议题的征集、协商、表决与落实跟踪。',
    'desc.analytics': '多维统计研判与网格工作考核指标。',
    'desc.admin': '账号、角色与数据权限，安全与审计三员分立。',
    'page.notfound.title': '页面不存在',
    'page.notfound.body': '找不到您要访问的页面。',
    'page.back': '返回系统状态',

    'status.title': '系统状态',
    'status.subtitle': '服务器与数据库的运行情况',
    'status.refresh': '刷新',
    'status.refreshing': '正在刷新…',
    'status.auto': '每 {n} 秒自动刷新',
    'status.updated': '更新于 {time}',
    'status.loading': '正在加载状态…',
    'status.health.healthy': '运行正常',
    'status.health.unhealthy': '运行异常',
    'status.health.unknown': '状态未知',
    'status.server': '服务',
    'status.name': '名称',
    'status.version': '版本',
    'status.uptime': '运行时长',
    'status.started': '启动时间',
    'status.db': '数据库',
    'status.db.backend': '数据库类型',
    'status.db.path': '文件路径',
    'status.db.schema': '结构版本',
    'status.db.schema.latest': '待升级到版本',
    'status.db.journal': '日志模式',
    'status.db.size': '文件大小',
    'status.db.ok': '健康检查',
    'status.db.ok.yes': '正常',
    'status.db.ok.no': '异常',
    'status.error.title': '无法获取服务器状态',
    'status.error.network': '无法连接到服务器，请检查网络或服务器是否在运行。',
    'status.error.timeout': '服务器在规定时间内没有响应。',
    'status.error.http': '服务器返回错误（HTTP {status}）。',
    'status.error.api': '服务器返回错误：{message}（{code}）',
    'status.error.format': '服务器返回的数据格式无法识别。',
    'status.error.stale': '以下为 {time} 获取的数据，可能已过期。',
    'status.error.request': '请求编号：{id}',
    'status.retry': '重试',

    'unit.d': '{n} 天',
    'unit.h': '{n} 小时',
    'unit.min': '{n} 分钟',
    'unit.s': '{n} 秒',
    'unit.bytes': '{n} 字节',
  },

  en: {
    'app.name': 'civgrid',
    'app.tagline': 'Grid-based community governance',
    'app.skip': 'Skip to main content',
    'header.lang': 'Interface language',
    'header.menu': 'Menu',
    'header.menu.open': 'Open navigation menu',
    'header.menu.close': 'Close navigation menu',

    'nav.label': 'Main navigation',
    'nav.available': 'Available',
    'nav.planned': 'Coming soon',
    'nav.soon': 'Soon',
    'nav.status': 'Status',
    'nav.grid': 'Grid map',
    'nav.events': 'Events',
    'nav.command': 'Command center',
    'nav.registries': 'Registries',
    'nav.mediation': 'Mediation',
    'nav.hotline': '12345 hotline',
    'nav.consultation': 'Consultation',
    'nav.analytics': 'Analytics',
    'nav.admin': 'Administration',

    'page.soon.title': '{name}: coming soon',
    'page.soon.body': 'This capability is being built and will arrive in a later release.',
    'desc.grid': 'City, town, community and grid levels, with boundaries, codes and grid staffing.',
    'desc.events': 'The whole life of an event: report, accept, dispatch, handle, verify and close.',
    'desc.command': 'Duty, intake and dispatch for the three levels of command centers.',
    'desc.registries': 'Standard addresses and buildings; actual population, housing, organisations and facilities.',
    'desc.mediation': 'Registration, mediation and follow-up of disputes, and mediation studios.',
    'desc.hotline': 'Intake, referral, supervision and reply for 12345 hotline and mailbox requests.',
    'desc.consultation': 'Community topics: collection, deliberation, votes and follow-through.',
    'desc.analytics': 'Statistics, analysis and performance indicators of grid work.',
    'desc.admin': 'Accounts, roles and data scopes, with separate system, security and audit administrators.',
    'page.notfound.title': 'Page not found',
    'page.notfound.body': 'The page you are looking for does not exist.',
    'page.back': 'Back to status',

    'status.title': 'System status',
    'status.subtitle': 'Health of the server and its database',
    'status.refresh': 'Refresh',
    'status.refreshing': 'Refreshing…',
    'status.auto': 'Refreshes every {n} s',
    'status.updated': 'Updated {time}',
    'status.loading': 'Loading status…',
    'status.health.healthy': 'Healthy',
    'status.health.unhealthy': 'Unhealthy',
    'status.health.unknown': 'Unknown',
    'status.server': 'Server',
    'status.name': 'Name',
    'status.version': 'Version',
    'status.uptime': 'Uptime',
    'status.started': 'Started',
    'status.db': 'Database',
    'status.db.backend': 'Backend',
    'status.db.path': 'Path',
    'status.db.schema': 'Schema version',
    'status.db.schema.latest': 'Pending upgrade to',
    'status.db.journal': 'Journal mode',
    'status.db.size': 'Size',
    'status.db.ok': 'Health check',
    'status.db.ok.yes': 'OK',
    'status.db.ok.no': 'Failing',
    'status.error.title': 'Could not get the server status',
    'status.error.network': 'The server could not be reached. Check the network and that the server is running.',
    'status.error.timeout': 'The server did not answer in time.',
    'status.error.http': 'The server answered with an error (HTTP {status}).',
    'status.error.api': 'The server answered with an error: {message} ({code})',
    'status.error.format': 'The server answered with data in an unexpected format.',
    'status.error.stale': 'Showing data fetched at {time}; it may be out of date.',
    'status.error.request': 'Request ID: {id}',
    'status.retry': 'Retry',

    'unit.d': '{n} d',
    'unit.h': '{n} h',
    'unit.min': '{n} min',
    'unit.s': '{n} s',
    'unit.bytes': '{n} bytes',
  },
};

const isLang = (code) => Object.hasOwn(dict, code);

function storedLang() {
  try {
    const v = localStorage.getItem(STORAGE_KEY);
    return v && isLang(v) ? v : null;
  } catch {
    return null; // storage disabled (privacy mode, sandboxed frame)
  }
}

let current = storedLang() ?? DEFAULT_LANG;
document.documentElement.lang = current;

export const getLang = () => current;

/** Switch language, persist the choice and update <html lang>. */
export function setLang(code) {
  if (!isLang(code)) return;
  current = code;
  document.documentElement.lang = code;
  try {
    localStorage.setItem(STORAGE_KEY, code);
  } catch {
    /* not persisted; the switch still works for this page load */
  }
}

/** Translate `key`, replacing {name} placeholders with values from `vars`. */
export function t(key, vars = {}) {
  const s = dict[current][key] ?? dict[DEFAULT_LANG][key] ?? key;
  return s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
}

const num = (n, opts) => new Intl.NumberFormat(current, opts).format(n);

/** Human-readable duration: at most three units, e.g. "3 分钟 12 秒" / "3 min 12 s". */
export function formatDuration(totalSeconds) {
  let s = Math.max(0, Math.floor(Number(totalSeconds) || 0));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts = [
    ['unit.d', d],
    ['unit.h', h],
    ['unit.min', m],
    ['unit.s', s],
  ];
  const first = parts.findIndex(([, v]) => v > 0);
  if (first < 0) return t('unit.s', { n: 0 });
  return parts
    .slice(first, first + 3)
    .filter(([, v]) => v > 0)
    .map(([key, v]) => t(key, { n: num(v) }))
    .join(' ');
}

/** Date and time in the user's time zone, e.g. "2026/11/23 17:00:00". */
export function formatDateTime(date) {
  return new Intl.DateTimeFormat(current, { dateStyle: 'medium', timeStyle: 'medium' }).format(date);
}

/** Time of day only, e.g. "17:00:05". */
export function formatTime(date) {
  return new Intl.DateTimeFormat(current, { timeStyle: 'medium' }).format(date);
}

/** Binary byte size, e.g. "44.0 KB". */
export function formatBytes(bytes) {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = Math.max(0, Number(bytes) || 0);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  const digits = i === 0 ? 0 : v < 10 ? 2 : v < 100 ? 1 : 0;
  return `${num(v, { minimumFractionDigits: digits, maximumFractionDigits: digits })} ${units[i]}`;
}

/** Exact byte count, e.g. "45,056 字节". */
export const formatByteCount = (bytes) => t('unit.bytes', { n: num(bytes) });
