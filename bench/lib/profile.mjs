// Summarises a V8 .cpuprofile (node --cpu-prof): functions ranked by self time.
import { readFileSync } from 'node:fs';

/** Returns { totalMs, rows: [{ name, location, selfMs, percent }] } for the top `limit` functions. */
export function topSelfTime(file, limit = 20) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  const { samples = [], timeDeltas = [] } = profile;
  // timeDeltas[i] is the time before sample i; the time a sample stands for is the gap after it.
  for (let i = 0; i < samples.length; i++) {
    const dt = timeDeltas[i + 1] ?? 0;
    selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + dt);
  }
  const byFunction = new Map();
  let total = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    const name = frame.functionName || '(anonymous)';
    const location = frame.url ? `${shorten(frame.url)}:${frame.lineNumber + 1}` : '';
    const key = `${name} ${location}`;
    const entry = byFunction.get(key) ?? { name, location, selfUs: 0 };
    entry.selfUs += us;
    byFunction.set(key, entry);
    total += us;
  }
  const rows = [...byFunction.values()]
    .sort((a, b) => b.selfUs - a.selfUs)
    .slice(0, limit)
    .map((e) => ({ name: e.name, location: e.location, selfMs: e.selfUs / 1000, percent: (100 * e.selfUs) / total }));
  const idleUs = [...byFunction.values()].filter((e) => e.name === '(idle)').reduce((a, e) => a + e.selfUs, 0);
  const busy = total - idleUs;
  for (const r of rows) r.percentOfBusy = r.name === '(idle)' ? undefined : (100 * r.selfMs * 1000) / busy;
  return { totalMs: total / 1000, busyMs: busy / 1000, rows };
}

function shorten(url) {
  return url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\/\.pnpm\/[^/]+\/node_modules\//, '')
    .replace(/^.*\/packages\//, 'packages/');
}

export function formatProfile(summary) {
  const lines = [
    `  sampled ${(summary.totalMs / 1000).toFixed(1)} s, of which busy (not idle) ${(summary.busyMs / 1000).toFixed(1)} s`,
    '  % busy  self ms  function  location',
  ];
  for (const r of summary.rows) {
    const pct = r.percentOfBusy === undefined ? '    -' : r.percentOfBusy.toFixed(1).padStart(5);
    lines.push(`  ${pct}%  ${r.selfMs.toFixed(0).padStart(7)}  ${r.name}  ${r.location}`);
  }
  return lines.join('\n');
}
