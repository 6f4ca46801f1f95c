// lib.mjs: helpers of the resilience tests (tests/resilience/): a copy of the
// Zhongshan demo template in a directory the test owns (so the server can be
// killed and restarted on the same files), requests that never throw, and the
// server's resident memory.
//
// The server, the demo template and the accounts come from tests/api/.

import fs from 'node:fs';

import { CLI_ENV, FAST_SET, cli, request } from '../api/auth/lib.mjs';
import { makeTempDir, startServer } from '../api/lib/server.mjs';

export { CLI_ENV, FAST_SET, cli, request };
export { makeTemplate, P_001001 } from '../api/grid/lib.mjs';
export { openRaw, parseMetrics, parseResponse, rawRequest, sleep, sqlite, startServer } from '../api/lib/server.mjs';

/** Copies the template database into a fresh directory: { dir, dbPath, webRoot }. */
export function copyTemplate(template, prefix = 'civgrid-resilience-') {
  const tmp = makeTempDir(prefix);
  for (const suffix of ['', '-wal', '-shm']) {
    if (fs.existsSync(template.dbPath + suffix)) fs.copyFileSync(template.dbPath + suffix, tmp.dbPath + suffix);
  }
  return tmp;
}

/** Starts civgridd on dir (kept by the caller across restarts), with fast hashing plus set. */
export function startOn(dir, set = {}) {
  return startServer({ dir, set: { ...FAST_SET, ...set }, env: CLI_ENV });
}

/** request() that answers { status: 0, error } instead of throwing when the connection fails. */
export async function tryRequest(base, method, pathname, opts = {}) {
  try {
    return await request(base, method, pathname, opts);
  } catch (error) {
    return { status: 0, error, text: String(error), json: null };
  }
}

/** VmRSS of a process in KiB, from /proc/PID/status. */
export function rssKiB(pid) {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]);
}

/**
 * The TCP connections the process has accepted on port, by client address
 * ({ total, byAddress: Map }): /proc/net/tcp rows whose socket inode is one of
 * the process's file descriptors. Connections still waiting in the kernel's
 * accept queue are not the server's yet and do not count.
 */
export function acceptedConnections(pid, port) {
  const inodes = new Set();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  const byAddress = new Map();
  let total = 0;
  for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !inodes.has(f[9])) continue;
    const [local, remote, state] = [f[1], f[2], f[3]];
    if (parseInt(local.split(':')[1], 16) !== port || state === '0A') continue; // 0A: the listening socket
    const hex = remote.split(':')[0]; // little-endian IPv4
    const ip = [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join('.');
    byAddress.set(ip, (byAddress.get(ip) || 0) + 1);
    total++;
  }
  return { total, byAddress };
}

/** A pseudo-random generator (mulberry32) so that a failing run can be replayed with its seed. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
