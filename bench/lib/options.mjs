// Command-line options of the benchmark, with the defaults the issue asks for and the `--quick` smoke sizes.
import { parseArgs } from 'node:util';

export const ALL_PHASES = ['push', 'chunked', 'pull', 'manifest', 'head', 'tags', 'skopeo', 'big'];
/** Phases run when `--only` is not given (`big` needs `--big`: it moves 4 GiB each way). */
const DEFAULT_PHASES = ALL_PHASES.filter((p) => p !== 'big');

export const USAGE = `Usage: node bench/run.mjs [options]

Benchmarks zot-ts against CNCF distribution (Debian's docker-registry) on loopback.

Options:
  --quick               tiny sizes, 1 repetition, 1 s load runs (CI smoke run)
  --size <bytes>        blob size for push/pull phases (default 512MiB; suffixes K, M, G, KiB, MiB, GiB)
  --chunk <bytes>       PATCH chunk size for the chunked push (default 16MiB)
  --reps <n>            repetitions; figures are medians (default 3)
  --duration <s>        seconds per request-rate measurement (default 5)
  --connections <n>     concurrent connections for request-rate phases (default 64)
  --tags <n>            tags in the tags-list repository (default 1000)
  --pushes <n>          concurrent skopeo pushes (default 16)
  --only <phases>       comma-separated subset of: ${ALL_PHASES.join(', ')}
  --tls                 also run every phase over TLS (both servers share one generated certificate)
  --auth                also run with htpasswd (bcrypt) auth on (over TLS too when --tls is given)
  --big                 add the big-blob RSS phase (default 4GiB pushed and pulled)
  --big-size <bytes>    size for --big (default 4GiB)
  --loadgen <tool>      GET load tool: wrk (default; ~4x less CPU per request than autocannon, which
                        matters when it shares 2 cores with the server) or autocannon. HEAD always uses
                        ab -i -k (wrk 4.1 and autocannon 8 stall on HEAD answers).
  --client <tool>       what moves monolithic pushes and pulls: curl (default; -T FILE, -o /dev/null) or
                        node (a node:http client). Chunked pushes always use node:http (reused buffers).
  --servers <list>      zot,distribution (default both)
  --workers <n>         zot-ts serving processes (its http.workers; default 1). With more than one,
                        memory is summed over the primary and its workers, and their PSS is shown too
  --cpu-prof            run zot-ts under node --cpu-prof and print its top functions by self time
  --json <file>         also write the results as JSON to this file
  --workdir <dir>       where the run's temporary folder is made (default: the OS temp dir)
  --keep                keep the work directory
  -h, --help            show this help
`;

const UNITS = { '': 1, k: 1e3, m: 1e6, g: 1e9, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** Parses "512MiB", "16M" (binary, as the sizes are), "1e6", "1048576". */
export function parseSize(text) {
  const m = /^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*([a-z]*)\s*$/i.exec(String(text));
  if (!m) throw new Error(`not a size: ${text}`);
  let unit = m[2].toLowerCase();
  // Bare K/M/G mean binary units here: "16M" chunks are 16 MiB.
  if (unit === 'k' || unit === 'm' || unit === 'g') unit = `${unit}ib`;
  if (!(unit in UNITS)) throw new Error(`unknown size unit in ${text}`);
  return Math.round(Number(m[1]) * UNITS[unit]);
}

function positiveInt(name, text) {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer (got ${text})`);
  return n;
}

export function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      quick: { type: 'boolean' },
      size: { type: 'string' },
      chunk: { type: 'string' },
      reps: { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      tags: { type: 'string' },
      pushes: { type: 'string' },
      only: { type: 'string' },
      tls: { type: 'boolean' },
      auth: { type: 'boolean' },
      big: { type: 'boolean' },
      'big-size': { type: 'string' },
      loadgen: { type: 'string' },
      servers: { type: 'string' },
      workers: { type: 'string' },
      client: { type: 'string' },
      'cpu-prof': { type: 'boolean' },
      json: { type: 'string' },
      workdir: { type: 'string' },
      keep: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const quick = values.quick === true;
  const options = {
    help: values.help === true,
    quick,
    size: values.size ? parseSize(values.size) : quick ? 8 * 1024 ** 2 : 512 * 1024 ** 2,
    chunk: values.chunk ? parseSize(values.chunk) : quick ? 2 * 1024 ** 2 : 16 * 1024 ** 2,
    reps: values.reps ? positiveInt('reps', values.reps) : quick ? 1 : 3,
    duration: values.duration ? positiveInt('duration', values.duration) : quick ? 1 : 5,
    connections: values.connections ? positiveInt('connections', values.connections) : 64,
    tags: values.tags ? positiveInt('tags', values.tags) : quick ? 50 : 1000,
    pushes: values.pushes ? positiveInt('pushes', values.pushes) : 16,
    smallLayerSize: quick ? 4096 : 256 * 1024,
    tls: values.tls === true,
    auth: values.auth === true,
    bigSize: values['big-size'] ? parseSize(values['big-size']) : quick ? 64 * 1024 ** 2 : 4 * 1024 ** 3,
    loadgen: values.loadgen ?? 'wrk',
    client: values.client ?? 'curl',
    workers: values.workers ? positiveInt('workers', values.workers) : 1,
    servers: (values.servers ?? 'zot,distribution')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    cpuProf: values['cpu-prof'] === true,
    json: values.json,
    workdir: values.workdir,
    keep: values.keep === true,
  };
  const phases = values.only
    ? values.only
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [...DEFAULT_PHASES];
  for (const p of phases) if (!ALL_PHASES.includes(p)) throw new Error(`unknown phase "${p}" (phases: ${ALL_PHASES.join(', ')})`);
  if (values.big && !phases.includes('big')) phases.push('big');
  options.phases = ALL_PHASES.filter((p) => phases.includes(p));
  if (!['curl', 'node'].includes(options.client)) throw new Error('--client must be curl or node');
  if (!['autocannon', 'wrk'].includes(options.loadgen)) throw new Error('--loadgen must be autocannon or wrk');
  for (const s of options.servers) {
    if (!['zot', 'distribution'].includes(s)) throw new Error(`unknown server "${s}" (zot, distribution)`);
  }
  if (options.chunk > options.size) options.chunk = options.size;
  return options;
}
