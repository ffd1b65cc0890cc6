/**
 * `zot-cli gc <config>` and `zot-cli scrub <config>`: one pass of garbage collection or scrub
 * over the storage a config describes, safe beside a running server on the same storage.
 */
import { collectGarbage, scrubStorage, type GcReport, type RepositoryScrubReport, type ScrubProgress, type ScrubReport } from '@zotjs/core';
import { ConfigError, loadConfigFile } from '@zotjs/config';
import { pino } from 'pino';
import { resolveSettings, type Settings } from './config/settings.js';
import type { MainIo } from './io.js';
import { openStorage } from './maintenance.js';

interface Parsed {
  config: string;
  flags: Set<string>;
}

function parseArgs(command: string, args: readonly string[], allowed: readonly string[], io: MainIo): Parsed | number {
  const flags = new Set(args.filter((a) => a.startsWith('--')));
  const positional = args.filter((a) => !a.startsWith('--'));
  const unknown = [...flags].find((f) => !allowed.includes(f));
  if (unknown || positional.length !== 1) {
    io.stderr(
      unknown
        ? `zot-cli ${command}: unknown option ${unknown} (options: ${allowed.join(' ')})\n`
        : `zot-cli ${command}: expected exactly one argument, the config file\n`,
    );
    return 2;
  }
  return { config: positional[0]!, flags };
}

async function loadSettings(file: string, io: MainIo): Promise<Settings | number> {
  try {
    return resolveSettings((await loadConfigFile(file)).config);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr(`zot-cli: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

/** Warnings and errors as JSON lines on stderr; stdout carries the report. */
const stderrLogger = (): pino.Logger =>
  pino({ level: 'warn', base: null, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: 2, sync: true }));

export async function gcCommand(args: readonly string[], io: MainIo): Promise<number> {
  const parsed = parseArgs('gc', args, ['--dry-run', '--json'], io);
  if (typeof parsed === 'number') return parsed;
  const settings = await loadSettings(parsed.config, io);
  if (typeof settings === 'number') return settings;
  const logger = stderrLogger();
  const storage = await openStorage(settings, logger);
  const dryRun = parsed.flags.has('--dry-run');
  const report = await collectGarbage(storage, { ...settings.maintenance.gcOptions, dryRun, logger });
  io.stdout(parsed.flags.has('--json') ? `${JSON.stringify(report, null, 2)}\n` : formatGc(report));
  return report.repositories.some((r) => r.problems.length > 0) ? 1 : 0;
}

function formatGc(report: GcReport): string {
  const verb = report.dryRun ? 'would remove' : 'removed';
  const manifestVerb = report.retentionDryRun ? 'would remove' : 'removed';
  const lines: string[] = [];
  for (const repo of report.repositories) {
    for (const m of repo.manifests)
      lines.push(
        `${repo.repository}: ${manifestVerb} ${m.reason === 'tag' ? `tag ${m.tag} (${m.digest})` : `manifest ${m.digest} (${m.reason})`}`,
      );
    for (const b of repo.blobs) lines.push(`${repo.repository}: ${verb} blob ${b.digest} (${formatBytes(b.size)})`);
    for (const u of repo.uploads) lines.push(`${repo.repository}: ${verb} abandoned upload ${u}`);
    for (const p of repo.problems) lines.push(`${repo.repository}: problem: ${p}`);
  }
  const t = report.totals;
  lines.push(
    `gc${report.dryRun ? ' (dry run)' : ''}: ${report.repositories.length} repositories, ${manifestVerb} ${t.manifests} manifests, ${verb} ` +
      `${t.blobs} blobs (${formatBytes(t.bytes)}), ${t.uploads} upload sessions, ${t.leftovers} leftovers in ${(report.durationMs / 1000).toFixed(1)} s`,
  );
  return `${lines.join('\n')}\n`;
}

export async function scrubCommand(args: readonly string[], io: MainIo, terminal = process.stderr.isTTY === true): Promise<number> {
  const parsed = parseArgs('scrub', args, ['--json'], io);
  if (typeof parsed === 'number') return parsed;
  const settings = await loadSettings(parsed.config, io);
  if (typeof settings === 'number') return settings;
  const logger = stderrLogger();
  const bar = terminal ? new ProgressBar(io) : undefined;
  const report = await scrubStorage(await openStorage(settings, logger), {
    ...(bar ? { onProgress: (p: ScrubProgress) => bar.update(p) } : {}),
  });
  bar?.done();
  io.stdout(parsed.flags.has('--json') ? `${JSON.stringify(report, null, 2)}\n` : formatScrub(report));
  return report.ok ? 0 : 1;
}

/** zot's scrub table: one line per repository, one more per bad digest. */
function formatScrub(report: ScrubReport): string {
  const rows: string[][] = [['REPOSITORY', 'STATUS', 'AFFECTED BLOB', 'ERROR']];
  for (const repo of report.repositories) rows.push(...repositoryRows(repo));
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const table = rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
  const affected = report.repositories.filter((r) => r.status !== 'ok').length;
  table.push(
    `scrub: ${report.repositories.length} repositories, ${report.blobsChecked} blobs (${formatBytes(report.bytesChecked)}) checked in ` +
      `${(report.durationMs / 1000).toFixed(1)} s: ${affected === 0 ? 'all ok' : `${affected} affected`}`,
  );
  return `${table.join('\n')}\n`;
}

function repositoryRows(repo: RepositoryScrubReport): string[][] {
  if (repo.problems.length === 0) return [[repo.repository, 'ok', '', '']];
  return repo.problems.map((p) => [
    repo.repository,
    'affected',
    p.digest,
    `${p.kind}: ${p.message}${p.affects.length > 0 ? ` (images: ${p.affects.join(', ')})` : ''}`,
  ]);
}

/** A one-line progress bar redrawn in place on the terminal (stderr), at most ten times a second. */
class ProgressBar {
  private last = 0;
  private drawn = false;

  constructor(private readonly io: MainIo) {}

  update(p: ScrubProgress): void {
    const now = Date.now();
    if (now - this.last < 100 && p.blobsDone < p.blobsTotal) return;
    this.last = now;
    const ratio = p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : p.blobsTotal > 0 ? p.blobsDone / p.blobsTotal : 1;
    const width = 30;
    const filled = Math.round(ratio * width);
    const line =
      `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(ratio * 100)).padStart(3)}% ` +
      `${p.blobsDone}/${p.blobsTotal} blobs ${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)} ${p.repository}`;
    this.io.stderr(`\r${line.slice(0, 120)}\u001b[K`);
    this.drawn = true;
  }

  done(): void {
    if (this.drawn) this.io.stderr('\n');
  }
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}
