import type { MainIo } from './io.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, configJsonSchema, loadConfigFile, renderConfigReference, type LoadedConfig } from '@zotjs/config';
import { EMBEDDED_DEFAULT_CONFIG } from './config/defaults.js';
import { resolveSettings } from './config/settings.js';
import { createLogger } from './logger.js';
import { isClusterWorker, processStopSignal, superviseWorkers } from '@zotjs/server/workers';

const USAGE = `Usage: zot-cli <command> [arguments]

Commands:
  serve [config]     Run the registry. Without a config file, the embedded default is used:
                     storage in ./zot-data, listening on 127.0.0.1:5000.
  verify <config>    Check a config file (JSON or YAML, zot's format) and exit.
  schema             Print the JSON Schema of the config file: every key, its type, default and
                     meaning, as verify checks them (--markdown: the same as a reference table).
  gc <config>        Run one garbage-collection pass over the config's storage and list what it
                     removed (--dry-run: only list; --json: the report as JSON). Safe beside a
                     running server.
  scrub <config>     Re-hash every blob and check every manifest; report per repository (a progress
                     bar on a terminal; --json: the report as JSON). Exit code 1 if anything is bad.

Options:
  -h, --help         Show this help.
  -v, --version      Show the version.

Environment:
  ZOT_SHUTDOWN_DEADLINE_MS   How long in-flight requests get to finish on SIGINT/SIGTERM (default 10000).
`;

export type { MainIo } from './io.js';

const processIo: MainIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** The CLI: returns the exit code. `serve` resolves only once the server has stopped. */
export async function main(argv: readonly string[], io: MainIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      (command === undefined ? io.stderr : io.stdout)(USAGE);
      return command === undefined ? 2 : 0;
    case '-v':
    case '--version':
    case 'version':
      io.stdout(`zot-cli ${version()}\n`);
      return 0;
    case 'verify':
      return verifyCommand(rest, io);
    case 'schema':
      return schemaCommand(rest, io);
    case 'serve':
      return serveCommand(rest, io);
    // Loaded on use: the primary of a multi-process server stays small (it never serves).
    case 'gc':
      return (await import('./maintenance-commands.js')).gcCommand(rest, io);
    case 'scrub':
      return (await import('./maintenance-commands.js')).scrubCommand(rest, io);
    default:
      io.stderr(`zot-cli: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

async function verifyCommand(args: readonly string[], io: MainIo): Promise<number> {
  if (args.length !== 1 || args[0]!.startsWith('-')) {
    io.stderr('zot-cli verify: expected exactly one argument, the config file\n');
    return 2;
  }
  try {
    const loaded = await loadConfigFile(args[0]!);
    io.stdout(`config OK: ${loaded.path}\n`);
    return 0;
  } catch (err) {
    return reportConfigError(err, io);
  }
}

function schemaCommand(args: readonly string[], io: MainIo): number {
  if (args.length > 1 || (args.length === 1 && args[0] !== '--markdown')) {
    io.stderr('zot-cli schema: the only option is --markdown\n');
    return 2;
  }
  io.stdout(args[0] === '--markdown' ? renderConfigReference() : `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  return 0;
}

async function serveCommand(args: readonly string[], io: MainIo): Promise<number> {
  if (args.length > 1 || args[0]?.startsWith('-')) {
    io.stderr('zot-cli serve: expected at most one argument, the config file\n');
    return 2;
  }
  let loaded: LoadedConfig;
  try {
    loaded = args[0] === undefined ? { config: EMBEDDED_DEFAULT_CONFIG } : await loadConfigFile(args[0]);
  } catch (err) {
    return reportConfigError(err, io);
  }
  const settings = resolveSettings(loaded.config);
  const { logger, flush } = createLogger(settings.log.level, settings.log.output);
  const configSource = loaded.path ?? 'embedded default (storage ./zot-data, 127.0.0.1:5000)';
  const deadline = Number(process.env.ZOT_SHUTDOWN_DEADLINE_MS ?? '10000');

  // SIGINT/SIGTERM; in a worker of a multi-process server only its primary's SIGTERM.
  const worker = isClusterWorker();
  const stop = processStopSignal({
    onRepeat: (signal) => {
      // A second signal: the operator does not want to wait for in-flight requests.
      logger.warn({ signal }, 'second signal: exiting now');
      flush();
      process.exit(1);
    },
  });
  const stopSignal = stop.stopped;
  const shutdownDeadlineMs = Number.isFinite(deadline) && deadline >= 0 ? deadline : 10_000;
  try {
    if (!worker && settings.http.workers > 1) {
      // Loaded here only: a single-process server has no use for prom-client's cluster aggregator.
      const { relayBetweenWorkers } = await import('@zotjs/extensions/cluster');
      return await superviseWorkers({
        workers: settings.http.workers,
        logger,
        exec: fileURLToPath(new URL('../../bin/zot-cli.js', import.meta.url)),
        args: loaded.path === undefined ? ['serve'] : ['serve', loaded.path],
        stopSignal,
        shutdownDeadlineMs,
        // Metrics aggregated over the workers, storage gauges told of the others' changes.
        relays: [relayBetweenWorkers],
      });
    }
    const { serve } = await import('./serve.js');
    return await serve({
      settings,
      logger,
      configSource,
      stopSignal,
      shutdownDeadlineMs,
    });
  } catch (err) {
    logger.fatal({ err }, 'cannot start');
    io.stderr(`zot-cli serve: ${describeStartError(err, settings.http.address, settings.http.port)}\n`);
    return 1;
  } finally {
    flush();
    // Also closes a worker's channel to the primary, which would keep the stopped worker alive.
    stop.release();
  }
}

function reportConfigError(err: unknown, io: MainIo): number {
  if (err instanceof ConfigError) {
    io.stderr(`zot-cli: ${err.message}\n`);
    return 1;
  }
  throw err;
}

function describeStartError(err: unknown, address: string, port: number): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE') return `${address}:${port} is already in use`;
  if (code === 'EACCES') return `permission denied (listening on ${address}:${port}, or the storage directory)`;
  if (code === 'EADDRNOTAVAIL') return `address ${address} is not available on this machine`;
  return err instanceof Error ? err.message : String(err);
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}
